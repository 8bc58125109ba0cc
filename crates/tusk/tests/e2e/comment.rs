//! COMMENT ON against the real binary: the same script run by psql 15 against PostgreSQL 15
//! and against tusk prints the same descriptions, errors and `\d` output.
//!
//! Why end to end: descriptions are rows in pg_description that psql,
//! obj_description() and pg_dump read back; the objects are resolved by
//! name along search_path with PostgreSQL's errors for a missing object
//! or one of another kind, and a rolled-back COMMENT leaves the old text.
//! The expected output is PostgreSQL 15's for comment.sql (`psql -X -A -t
//! -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("comment.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE VIEW
CREATE SEQUENCE
CREATE SCHEMA
CREATE FUNCTION
CREATE FUNCTION
CREATE TRIGGER
COMMENT
COMMENT
COMMENT
COMMENT
COMMENT
COMMENT
COMMENT
COMMENT
COMMENT
COMMENT
COMMENT
the table|column b|a view|func
check
schema
trig
BEGIN
COMMENT
ROLLBACK
the table
COMMENT
COMMENT
|
a|integer||not null|
b|text|||
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:28: ERROR:  "cv" is not a table
psql:SCRIPT:29: ERROR:  "ct" is not a view
psql:SCRIPT:30: ERROR:  relation "nope" does not exist
psql:SCRIPT:31: ERROR:  column "nope" of relation "ct" does not exist
psql:SCRIPT:32: ERROR:  schema "nope" does not exist
psql:SCRIPT:33: ERROR:  function nope(integer) does not exist
psql:SCRIPT:34: ERROR:  constraint "nope" for table "ct" does not exist
psql:SCRIPT:35: ERROR:  trigger "nope" for table "ct" does not exist
psql:SCRIPT:36: ERROR:  column name must be qualified
"#;

#[test]
fn comments_are_kept_and_read_as_postgresql_does() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "comment.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
