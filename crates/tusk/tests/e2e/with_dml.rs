//! Data-modifying WITH queries and WITH before INSERT/UPDATE/DELETE
//! against the real binary: the same script run by psql 15 against
//! PostgreSQL 15 and against tusk prints the same rows and errors.
//!
//! Why end to end: `WITH moved AS (DELETE ... RETURNING *) INSERT INTO
//! archive SELECT * FROM moved` is how applications move rows in one
//! statement; each WITH statement runs once to completion whether read or
//! not, the rest of the statement does not see its changes, and a
//! prepared statement changes rows on every execution. The expected
//! output is PostgreSQL 15's for with_dml.sql (`psql -X -A -t -f`, script
//! path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("with_dml.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE TABLE
INSERT 0 3
10
INSERT 0 1
1
2
2
INSERT 0 2
500
INSERT 0 1
1
7
500
7
PREPARE
9
9
2
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:11: ERROR:  WITH query "t" does not have a RETURNING clause
psql:SCRIPT:12: ERROR:  WITH clause containing a data-modifying statement must be at the top level
"#;

#[test]
fn data_modifying_with_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "with_dml.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
