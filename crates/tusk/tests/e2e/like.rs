//! CREATE TABLE's LIKE items against the real binary: the same script run
//! by psql 15 against PostgreSQL 15 and against tusk prints the same rows,
//! \d output and errors.
//!
//! Why end to end: LIKE is how migration tools and test fixtures clone a
//! table's shape (columns in place among others, NOT NULL always, and
//! defaults, CHECKs, identity and indexes only when included); what the
//! new table holds is visible only through the catalog and the rows it
//! accepts. The expected output is PostgreSQL 15's for like.sql (`psql -X
//! -A -t -f`, script path in stderr replaced by SCRIPT).

use crate::util::{error_lines, psql_script, Opts, TestServer};

const SCRIPT: &str = include_str!("like.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
INSERT 0 1
ee-col1|ee-col2||ee-col4
CREATE TABLE
INSERT 0 1
text
ALTER TABLE
ALTER TABLE
CREATE TABLE
INSERT 0 1
DROP TABLE
CREATE TABLE
INSERT 0 1
INSERT 0 1
x|text|y
x|text|y
foo
DROP TABLE
CREATE TABLE
INSERT 0 1
CREATE TABLE
a|bigint||not null|
b|text|||
CREATE TABLE
a|bigint||not null|generated always as identity
b|text|||
INSERT 0 1
1|b3
CREATE TABLE
INSERT 0 1
x|text|||
xx|text||not null|
y|text|||
DROP TABLE
CREATE TABLE
CREATE INDEX
CREATE TABLE
x|text|||
xx|text|||
yy|integer|||
zz|integer|||
CREATE TABLE
a|integer|||
xx|text||not null|'text'::text
b|integer|||
CREATE TABLE
CREATE TABLE
INSERT 0 1
7
CREATE TABLE
CREATE TABLE
t9_b_check
t9_like_check
INSERT 0 1
SELECT 1
CREATE TABLE
xy|z
like|integer|||
a|text|||
xx|text||not null|
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:9: ERROR:  column "xx" specified more than once
psql:SCRIPT:21: ERROR:  new row for relation "inhg" violates check constraint "foo"
DETAIL:  Failing row contains (x, foo, y).
psql:SCRIPT:30: ERROR:  null value in column "a" of relation "test_like_id_2" violates not-null constraint
DETAIL:  Failing row contains (null, b2).
psql:SCRIPT:38: ERROR:  duplicate key value violates unique constraint "inhg_pkey"
DETAIL:  Key (xx)=(10) already exists.
psql:SCRIPT:41: ERROR:  multiple primary keys for table "inhg" are not allowed
psql:SCRIPT:53: ERROR:  syntax error at or near "NONSENSE"
psql:SCRIPT:59: ERROR:  new row for relation "t6" violates check constraint "t6_a_check"
DETAIL:  Failing row contains (yy, z).
"#;

#[test]
fn like_items_copy_what_postgresql_copies() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = psql_script(&srv, "like.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    for (i, (g, w)) in r.stdout.lines().zip(PG_STDOUT.lines()).enumerate() {
        assert_eq!(g, w, "stdout line {}:\n{}", i + 1, r.stdout);
    }
    assert_eq!(r.stdout, PG_STDOUT);
    assert_eq!(error_lines(&errs), PG_STDERR);
}
