//! DROP SCHEMA [CASCADE] against the real binary: the same script run by psql 15 against
//! PostgreSQL 15 and against tusk prints the same rows, NOTICEs and errors.
//!
//! Why end to end: test suites and ORMs reset a database with `DROP
//! SCHEMA public CASCADE; CREATE SCHEMA public`, which must take the
//! tables (with their indexes, owned sequences and foreign keys), views,
//! sequences and functions, say so as PostgreSQL does, and be undone by a
//! ROLLBACK. The expected output is PostgreSQL 15's for drop_schema.sql
//! (`psql -X -A -t -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("drop_schema.sql");

const PG_STDOUT: &str = r#"CREATE SCHEMA
CREATE TABLE
CREATE TABLE
CREATE VIEW
CREATE SEQUENCE
CREATE FUNCTION
INSERT 0 1
BEGIN
DROP SCHEMA
ROLLBACK
1
DROP SCHEMA
0
0
0
CREATE SCHEMA
CREATE TABLE
DROP SCHEMA
DROP SCHEMA
CREATE TABLE
CREATE VIEW
DROP SCHEMA
CREATE SCHEMA
0
CREATE TABLE
INSERT 0 1
1
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:8: ERROR:  cannot drop schema s because other objects depend on it
DETAIL:  table s.a depends on schema s
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:10: NOTICE:  drop cascades to 5 other objects
DETAIL:  drop cascades to table s.a
psql:SCRIPT:13: NOTICE:  drop cascades to 5 other objects
DETAIL:  drop cascades to table s.a
psql:SCRIPT:19: NOTICE:  drop cascades to table s.t
psql:SCRIPT:20: NOTICE:  schema "s" does not exist, skipping
psql:SCRIPT:21: ERROR:  schema "s" does not exist
psql:SCRIPT:24: NOTICE:  drop cascades to 2 other objects
DETAIL:  drop cascades to table x
"#;

#[test]
fn drop_schema_and_cascade_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "drop_schema.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
