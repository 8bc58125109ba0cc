//! Composite types end to end: CREATE TYPE ... AS (...), tables' row types, composite literals' input and output, field selection, row comparisons, whole-row references, DROP TYPE and psql's \d of a composite type, as PostgreSQL 15 prints them.
//!
//! The psql script (rowtypes.sql) is compared with PostgreSQL 15's output
//! for it (rowtypes.pg15.out and .err, captured with psql 15 against
//! PostgreSQL 15 with `-X -f`; stderr's script path replaced by SCRIPT).
//! Why a psql script: composites show in psql's text output (quoting of
//! fields, NULL fields, nested records) and in its \d, which reads
//! pg_type, pg_class and pg_attribute as PostgreSQL lays them out.

use crate::util::{Opts, TestServer, Via};

const PG_STDOUT: &str = include_str!("rowtypes.pg15.out");
const PG_STDERR: &str = include_str!("rowtypes.pg15.err");

#[test]
fn psql_script_gives_postgres_output() {
    let srv = TestServer::start(Opts::new());
    let path = srv.tmp_dir().join("rowtypes.sql");
    std::fs::write(&path, include_str!("rowtypes.sql")).expect("write the script");
    let path = path.display().to_string();
    let r = srv.psql(Via::Unix, &["-X", "-f", &path]);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    let got_err = r.stderr.replace(&format!("psql:{path}:"), "psql:SCRIPT:");
    for (i, (g, w)) in r.stdout.lines().zip(PG_STDOUT.lines()).enumerate() {
        assert_eq!(g, w, "stdout line {}:\n{}", i + 1, r.stdout);
    }
    assert_eq!(r.stdout, PG_STDOUT);
    assert_eq!(got_err, PG_STDERR);
}
