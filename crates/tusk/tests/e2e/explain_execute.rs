//! EXPLAIN [ANALYZE] EXECUTE against the real binary: the prepared
//! statement's plan with the arguments' values, as PostgreSQL 15 shows it.
//!
//! Why end to end: the arguments are bound as EXECUTE binds them (their
//! errors are EXECUTE's), a custom plan prints their values where the
//! statement has `$n` while a forced generic plan keeps `$n`, and ANALYZE
//! really runs the statement with them (the UPDATE's row changes).
//! The expected output is PostgreSQL 15's for explain_execute.sql (`psql
//! -X -A -t -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("explain_execute.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 10
PREPARE
Seq Scan on ee
  Filter: (a = 3)
Seq Scan on ee
  Filter: (a = 3)
Seq Scan on ee (actual rows=1 loops=1)
  Filter: (a = 3)
  Rows Removed by Filter: 9
SET
Seq Scan on ee
  Filter: (a = $1)
RESET
PREPARE
Update on ee
  ->  Seq Scan on ee
        Filter: (a = 2)
UPDATE 1
2|x2
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:7: ERROR:  wrong number of parameters for prepared statement "q1"
DETAIL:  Expected 1 parameters but got 0.
psql:SCRIPT:8: ERROR:  wrong number of parameters for prepared statement "q1"
DETAIL:  Expected 1 parameters but got 2.
psql:SCRIPT:9: ERROR:  invalid input syntax for type integer: "x"
psql:SCRIPT:10: ERROR:  prepared statement "nope" does not exist
"#;

#[test]
fn explain_execute_shows_the_prepared_plan_as_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "explain_execute.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
