//! Full-text search against PostgreSQL 15's output: the tsvector and
//! tsquery types (input, output, errors), `@@` with weights, prefixes and
//! phrases, the editing functions, the simple and english configurations
//! (parser, stemmer, stop words, NOTICEs), ranking, and values stored in
//! a table.
//!
//! The psql script (tsearch.sql) is compared with PostgreSQL 15's output
//! for it (tsearch.pg15.out and .err, captured with psql 15 against
//! PostgreSQL 15 with `-X -f`; stderr's script path replaced by SCRIPT).

use crate::util::{Opts, TestServer, Via};

const PG_STDOUT: &str = include_str!("tsearch.pg15.out");
const PG_STDERR: &str = include_str!("tsearch.pg15.err");

#[test]
fn psql_script_gives_postgres_output() {
    let srv = TestServer::start(Opts::new());
    let path = srv.tmp_dir().join("tsearch.sql");
    std::fs::write(&path, include_str!("tsearch.sql")).expect("write the script");
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
