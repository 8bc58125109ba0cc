//! Transaction modes against the real binary: BEGIN / START TRANSACTION
//! and SET TRANSACTION with ISOLATION LEVEL, READ ONLY/WRITE and [NOT]
//! DEFERRABLE, SET SESSION CHARACTERISTICS, the checks of when a mode may
//! change (before the first query, not in a subtransaction), COMMIT and
//! ROLLBACK AND CHAIN carrying the modes into the next transaction, SET
//! LOCAL ROLE / SESSION AUTHORIZATION undone at the transaction's end,
//! nextval in a read-only transaction (allowed on a temporary sequence)
//! and CREATE RECURSIVE VIEW.
//!
//! Why end to end: these are session and transaction state the client
//! sees through SHOW, notices and errors across statements. The expected
//! output is PostgreSQL 15's for xact_modes.sql (`psql -X -A -t -f`).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("xact_modes.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE TABLE
CREATE SEQUENCE
CREATE SEQUENCE
BEGIN
on
0
ROLLBACK
BEGIN
SET
repeatable read
on
on
ROLLBACK
BEGIN
SET
SET
SET
SAVEPOINT
ROLLBACK
BEGIN
SAVEPOINT
ROLLBACK
SET
off
SET
repeatable read
BEGIN
repeatable read
COMMIT
SET
START TRANSACTION
1
ROLLBACK
SET
START TRANSACTION
INSERT 0 1
COMMIT
repeatable read
off
on
ROLLBACK
repeatable read
off
INSERT 0 1
SAVEPOINT
ROLLBACK
repeatable read
on
INSERT 0 1
COMMIT
1
RESET
1
3
BEGIN
ROLLBACK
CREATE ROLE
BEGIN
SET
xm_user|xm_user
COMMIT
postgres|postgres
BEGIN
SET
xm_user
ROLLBACK
postgres
DROP ROLE
CREATE VIEW
1
2
3
4
DROP VIEW
DROP TABLE
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:8: ERROR:  SET TRANSACTION [NOT] DEFERRABLE must be called before any query
psql:SCRIPT:9: ERROR:  current transaction is aborted, commands ignored until end of transaction block
psql:SCRIPT:17: ERROR:  transaction read-write mode must be set before any query
psql:SCRIPT:24: ERROR:  cannot set transaction read-write mode inside a read-only transaction
psql:SCRIPT:28: ERROR:  SET TRANSACTION ISOLATION LEVEL must not be called in a subtransaction
psql:SCRIPT:30: WARNING:  SET TRANSACTION can only be used in transaction blocks
psql:SCRIPT:40: ERROR:  cannot execute nextval() in a read-only transaction
psql:SCRIPT:49: ERROR:  invalid input syntax for type integer: "x"
psql:SCRIPT:60: ERROR:  COMMIT AND CHAIN can only be used in transaction blocks
psql:SCRIPT:61: ERROR:  ROLLBACK AND CHAIN can only be used in transaction blocks
psql:SCRIPT:62: ERROR:  COMMIT AND CHAIN can only be used in transaction blocks
psql:SCRIPT:66: ERROR:  invalid snapshot identifier: "Bad Id"
"#;

#[test]
fn transaction_modes_and_chain_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "xact_modes.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
