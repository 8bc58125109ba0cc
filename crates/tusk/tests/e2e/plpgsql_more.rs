//! PL/pgSQL beyond the basics (issue 13): FOREACH over arrays (with
//! SLICE, and its errors), RETURN QUERY EXECUTE ... USING with GET
//! DIAGNOSTICS ROW_COUNT, the simple-expression fast path (arithmetic in
//! a loop, an error inside it keeping PostgreSQL's CONTEXT line, a cached
//! plan replanned after DDL); COMMIT and ROLLBACK inside procedures and
//! DO blocks (loops going on in the next transaction, 2D000 inside a
//! transaction block, a function or an exception block, a nested CALL),
//! against PostgreSQL 15's answers.
//!
//! The expected psql output below is PostgreSQL 15's for the same scripts
//! (plpgsql_more.sql, plpgsql_commit.sql, captured with psql 15 against PostgreSQL 15 with
//! `-X -A -t -f`; stderr's script path replaced by SCRIPT).

use crate::util::{Opts, TestServer};

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
CREATE FUNCTION
5
CREATE FUNCTION
x6
CREATE FUNCTION
10
CREATE FUNCTION
10|-1
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

const COMMIT_SCRIPT: &str = include_str!("plpgsql_commit.sql");

const PG_COMMIT_STDOUT: &str = r#"CREATE TABLE
CREATE PROCEDURE
CALL
2
4
6
BEGIN
ROLLBACK
CREATE FUNCTION
CREATE PROCEDURE
DO
100
102
CREATE PROCEDURE
CALL
6
CREATE PROCEDURE
200
"#;

const PG_COMMIT_STDERR: &str = r#"psql:SCRIPT:16: ERROR:  invalid transaction termination
CONTEXT:  PL/pgSQL function fill(integer) line 8 at ROLLBACK
psql:SCRIPT:23: ERROR:  invalid transaction termination
CONTEXT:  PL/pgSQL function f_commit() line 3 at COMMIT
psql:SCRIPT:32: ERROR:  cannot commit while a subtransaction is active
CONTEXT:  PL/pgSQL function p_sub() line 4 at COMMIT
psql:SCRIPT:55: ERROR:  boom
CONTEXT:  PL/pgSQL function fail_after() line 6 at RAISE
"#;

/// Runs `script` with psql and compares its output with PostgreSQL's.
fn script_matches(name: &str, script: &str, stdout: &str, stderr: &str) {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, name, script);
    assert_eq!(r.stdout, stdout, "stdout: {}", r.describe());
    assert_eq!(errs.clone(), stderr, "stderr: {}", r.describe());
}

#[test]
fn plpgsql_more_script_matches_postgresql() {
    script_matches("plpgsql_more.sql", SCRIPT, PG_STDOUT, PG_STDERR);
}

#[test]
fn plpgsql_commit_in_procedures_matches_postgresql() {
    script_matches(
        "plpgsql_commit.sql",
        COMMIT_SCRIPT,
        PG_COMMIT_STDOUT,
        PG_COMMIT_STDERR,
    );
}
