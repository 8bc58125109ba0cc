//! PL/pgSQL beyond the basics (issue 13): FOREACH over arrays (with
//! SLICE, and its errors), RETURN QUERY EXECUTE ... USING with GET
//! DIAGNOSTICS ROW_COUNT, the simple-expression fast path (arithmetic in
//! a loop, an error inside it keeping PostgreSQL's CONTEXT line, a cached
//! plan replanned after DDL), against PostgreSQL 15's answers.
//!
//! The expected psql output below is PostgreSQL 15's for the same script
//! (plpgsql_more.sql, captured with psql 15 against PostgreSQL 15 with
//! `-X -A -t -f`; stderr's script path replaced by SCRIPT).

use crate::util::{Opts, TestServer, Via};

const SCRIPT: &str = include_str!("plpgsql_more.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 3
DO
DO
CREATE FUNCTION
1
2
100
CREATE FUNCTION
1000000
CREATE FUNCTION
3
CREATE FUNCTION
6
ALTER TABLE
INSERT 0 1
16
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:19: NOTICE:  sum 11 found t
psql:SCRIPT:19: NOTICE:  empty found f s 11
psql:SCRIPT:19: NOTICE:  elem a
psql:SCRIPT:19: NOTICE:  elem b
psql:SCRIPT:29: NOTICE:  row {1,2,3}
psql:SCRIPT:29: NOTICE:  row {4,5,6}
psql:SCRIPT:29: NOTICE:  whole {{1,2,3},{4,5,6}}
psql:SCRIPT:34: ERROR:  FOREACH expression must not be null
CONTEXT:  PL/pgSQL function inline_code_block line 4 at FOREACH over array
psql:SCRIPT:39: ERROR:  FOREACH expression must yield an array, not type integer
CONTEXT:  PL/pgSQL function inline_code_block line 4 at FOREACH over array
psql:SCRIPT:44: ERROR:  slice dimension (3) is out of the valid range 0..1
CONTEXT:  PL/pgSQL function inline_code_block line 4 at FOREACH over array
psql:SCRIPT:49: ERROR:  FOREACH ... SLICE loop variable must be of an array type
CONTEXT:  PL/pgSQL function inline_code_block line 4 at FOREACH over array
psql:SCRIPT:58: NOTICE:  returned 2 rows
psql:SCRIPT:75: ERROR:  division by zero
CONTEXT:  PL/pgSQL function divide(integer,integer) line 4 at assignment
"#;

#[test]
fn plpgsql_more_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let path = srv.tmp_dir().join("plpgsql_more.sql");
    std::fs::write(&path, SCRIPT).expect("write script");
    let path = path.display().to_string();
    let r = srv.psql(Via::Unix, &["-X", "-A", "-t", "-f", &path]);
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    assert_eq!(
        r.stderr.replace(&format!("psql:{path}:"), "psql:SCRIPT:"),
        PG_STDERR,
        "stderr: {}",
        r.describe()
    );
}
