//! Stored generated columns (GENERATED ALWAYS AS (expr) STORED) as clients
//! see them: one script run by psql 15 against PostgreSQL 15 and against
//! tusk prints the same rows, errors, DETAILs and HINTs (catalog rows and
//! information_schema, the definition checks, values computed on INSERT,
//! UPDATE, ON CONFLICT, MERGE and COPY FROM, 428C9 for explicit values,
//! typmods, CHECK and NOT NULL on computed values, inheritance, ADD COLUMN,
//! DROP COLUMN CASCADE, ALTER TYPE rules, BEFORE triggers seeing the value
//! not yet computed); stored values survive a crash and recovery.
//!
//! The expected output is PostgreSQL 15's for generated.sql (captured with
//! `psql -X -A -t -f`; the script path in stderr replaced by SCRIPT). Of
//! stderr, the `psql:`, DETAIL and HINT lines are compared.

use std::time::Duration;

use crate::util::{wait_until, Opts, TestServer, Via};

const SCRIPT: &str = include_str!("generated.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE TABLE
g0|a||NEVER|
g0|b||ALWAYS|55
g1|a||NEVER|
g1|b||ALWAYS|(a * 2)
a||f
b|s|t
(a * 2)|a * 2
INSERT 0 1
INSERT 0 1
INSERT 0 2
1|2
2|4
3|6
4|8
UPDATE 1
10|20
UPDATE 1
20|40
INSERT 0 1
MERGE 2
4|8
7|14
10|20
20|40
30|60
4
10
20
30
7
COPY 2
8|16
9|18
CREATE TABLE
INSERT 0 2
x|x+x|x
||
CREATE TABLE
INSERT 0 1
CREATE TABLE
INSERT 0 1
1|t
CREATE TABLE
a|integer||not null|
b|integer|||generated always as (a * 2) stored
INSERT 0 1
100|200
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
INSERT 0 1
UPDATE 1
420|421
CREATE TABLE
ALTER TABLE
a|integer||not null|
CREATE TABLE
INSERT 0 2
ALTER TABLE
ALTER TABLE
3|9|42|168
4|12|42|168
a|integer||not null|
b|integer|||generated always as (a * 3) stored
c|integer|||42
y|integer|||generated always as (c * 4) stored
CREATE TABLE
INSERT 0 2
ALTER TABLE
3|7|20
4|11|30
CREATE TABLE
CREATE FUNCTION
CREATE FUNCTION
CREATE TRIGGER
CREATE TRIGGER
INSERT 0 1
UPDATE 1
2|4
CREATE TABLE
CREATE TABLE
INSERT 0 1
INSERT 0 1
5|10|5|7
a|integer||not null|
b|integer|||generated always as (a * 2) stored
a|integer||not null|
b|integer|||
CREATE TABLE
INSERT 0 2
ALTER TABLE
ALTER TABLE
INSERT 0 1
INSERT 0 1
3|6
4|8
5|
6|66
a|integer|||
b|integer|||
CREATE TABLE
CREATE TABLE
ALTER TABLE
INSERT 0 1
1|5
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
UPDATE 0
f1|date||not null|
f2|bigint|||
f3|bigint|||generated always as (f2 * 2) stored
CREATE TABLE
CREATE TABLE
INSERT 0 1
INSERT 0 1
1
CREATE TABLE
ALTER TABLE
INSERT 0 1
4|8
aa * 2
CREATE TABLE
CREATE TABLE
INSERT 0 1
INSERT 0 1
ALTER TABLE
UPDATE 1
gi|1|5
gi_c|12|60
CREATE TRIGGER
UPDATE 1
CREATE TYPE
CREATE TABLE
INSERT 0 2
1|(2,3)
6|(12,18)
CREATE TABLE
CREATE TABLE
INSERT 0 1
INSERT 0 1
CREATE DOMAIN
CREATE TABLE
INSERT 0 1
CREATE DOMAIN
CREATE TABLE
INSERT 0 1
CREATE FUNCTION
CREATE FUNCTION
CREATE TABLE
INSERT 0 2
1|10|30
2|20|60
DROP TABLE
DROP FUNCTION
CREATE TABLE
INSERT 0 1
MERGE 1
1|2
2|4
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:6: ERROR:  multiple generation clauses specified for column "b" of table "e1"
psql:SCRIPT:7: ERROR:  cannot use generated column "b" in column generation expression
DETAIL:  A generated column cannot reference another generated column.
psql:SCRIPT:8: ERROR:  cannot use generated column "b" in column generation expression
DETAIL:  A generated column cannot reference another generated column.
psql:SCRIPT:9: ERROR:  cannot use whole-row variable in column generation expression
DETAIL:  This would cause the generated column to depend on its own value.
psql:SCRIPT:10: ERROR:  column "c" does not exist
psql:SCRIPT:11: ERROR:  generation expression is not immutable
psql:SCRIPT:12: ERROR:  both default and generation expression specified for column "b" of table "e7"
psql:SCRIPT:13: ERROR:  both identity and generation expression specified for column "b" of table "e8"
psql:SCRIPT:14: ERROR:  cannot use system column "xmin" in column generation expression
psql:SCRIPT:15: ERROR:  aggregate functions are not allowed in column generation expressions
psql:SCRIPT:16: ERROR:  window functions are not allowed in column generation expressions
psql:SCRIPT:17: ERROR:  cannot use subquery in column generation expression
psql:SCRIPT:18: ERROR:  set-returning functions are not allowed in column generation expressions
psql:SCRIPT:19: ERROR:  cannot use generated column in partition key
DETAIL:  Column "b" is a generated column.
psql:SCRIPT:22: ERROR:  cannot insert a non-DEFAULT value into column "b"
DETAIL:  Column "b" is a generated column.
psql:SCRIPT:23: ERROR:  cannot insert a non-DEFAULT value into column "b"
DETAIL:  Column "b" is a generated column.
psql:SCRIPT:24: ERROR:  cannot insert a non-DEFAULT value into column "b"
DETAIL:  Column "b" is a generated column.
psql:SCRIPT:26: ERROR:  integer out of range
psql:SCRIPT:29: ERROR:  column "b" can only be updated to DEFAULT
DETAIL:  Column "b" is a generated column.
psql:SCRIPT:32: ERROR:  column "b" can only be updated to DEFAULT
DETAIL:  Column "b" is a generated column.
psql:SCRIPT:38: ERROR:  column "b" is a generated column
DETAIL:  Generated columns cannot be used in COPY.
psql:SCRIPT:46: ERROR:  value too long for type character varying(3)
psql:SCRIPT:50: ERROR:  new row for relation "g4" violates check constraint "g4_b_check"
DETAIL:  Failing row contains (9, 10, 9).
psql:SCRIPT:51: ERROR:  null value in column "c" of relation "g4" violates not-null constraint
DETAIL:  Failing row contains (null, null, null).
psql:SCRIPT:59: NOTICE:  merging column "b" with inherited definition
psql:SCRIPT:59: ERROR:  column "b" inherits from generated column but specifies default
psql:SCRIPT:60: NOTICE:  merging column "b" with inherited definition
psql:SCRIPT:60: ERROR:  child column "b" specifies generation expression
HINT:  Omit the generation expression in the definition of the child table column to inherit the generation expression from the parent table.
psql:SCRIPT:62: NOTICE:  merging multiple inherited definitions of column "b"
psql:SCRIPT:62: ERROR:  inherited column "b" has a generation conflict
psql:SCRIPT:64: NOTICE:  merging multiple inherited definitions of column "b"
psql:SCRIPT:64: ERROR:  column "b" inherits conflicting generation expressions
psql:SCRIPT:71: ERROR:  cannot drop column b of table g10 because other objects depend on it
DETAIL:  column c of table g10 depends on column b of table g10
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:72: NOTICE:  drop cascades to column c of table g10
psql:SCRIPT:77: ERROR:  cannot use generated column "b" in column generation expression
DETAIL:  A generated column cannot reference another generated column.
psql:SCRIPT:83: ERROR:  cannot alter type of a column used by a generated column
DETAIL:  Column "a" is used by generated column "x".
psql:SCRIPT:86: ERROR:  cannot specify USING when altering type of generated column
DETAIL:  Column "x" is a generated column.
psql:SCRIPT:87: ERROR:  column "x" of relation "g27" is a generated column
HINT:  Use ALTER TABLE ... ALTER COLUMN ... DROP EXPRESSION instead.
psql:SCRIPT:88: ERROR:  column "x" of relation "g27" is a generated column
psql:SCRIPT:103: NOTICE:  before: new = (1,)
psql:SCRIPT:103: NOTICE:  after: new = (1,2)
psql:SCRIPT:104: NOTICE:  before: new = (2,)
psql:SCRIPT:104: NOTICE:  after: new = (2,4)
psql:SCRIPT:115: ERROR:  column "a" of relation "g29" is not a stored generated column
psql:SCRIPT:116: NOTICE:  column "a" of relation "g29" is not a stored generated column, skipping
psql:SCRIPT:124: ERROR:  ALTER TABLE / DROP EXPRESSION must be applied to child tables too
psql:SCRIPT:129: ERROR:  column "b" in child table must be a generated column
psql:SCRIPT:130: ERROR:  for a generated column, GENERATED ALWAYS must be specified
psql:SCRIPT:134: ERROR:  column "f3" in child table must be a generated column
psql:SCRIPT:136: ERROR:  column "f3" in child table has a conflicting generation expression
psql:SCRIPT:137: ERROR:  no partition of relation "gpp" found for row
DETAIL:  Partition key of the failing row contains (f1) = (2016-09-15).
psql:SCRIPT:141: ERROR:  cannot use generated column in partition key
DETAIL:  Column "f3" is a generated column.
psql:SCRIPT:159: ERROR:  BEFORE trigger's WHEN condition cannot reference NEW generated columns
DETAIL:  Column "b" is a generated column.
psql:SCRIPT:161: NOTICE:  before: new = (-5,)
psql:SCRIPT:161: NOTICE:  after: new = (-5,-10)
psql:SCRIPT:161: NOTICE:  after: new = (-5,-10)
psql:SCRIPT:167: ERROR:  invalid ON UPDATE action for foreign key constraint containing generated column
psql:SCRIPT:168: ERROR:  invalid ON DELETE action for foreign key constraint containing generated column
psql:SCRIPT:172: ERROR:  insert or update on table "gtest23b" violates foreign key constraint "gtest23b_b_fkey"
DETAIL:  Key (b)=(10) is not present in table "gtest23a".
psql:SCRIPT:176: ERROR:  value for domain gtestdomain1 violates check constraint "gtestdomain1_check"
psql:SCRIPT:180: ERROR:  value for domain gtestdomainnn violates check constraint "gtestdomainnn_check"
psql:SCRIPT:184: ERROR:  generation expression is not immutable
psql:SCRIPT:187: ERROR:  cannot drop function gf1(integer) because other objects depend on it
DETAIL:  column c of table gtest12 depends on function gf1(integer)
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:192: ERROR:  column "b" can only be updated to DEFAULT
DETAIL:  Column "b" is a generated column.
psql:SCRIPT:193: ERROR:  cannot insert a non-DEFAULT value into column "b"
DETAIL:  Column "b" is a generated column.
"#;

#[test]
fn generated_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "generated.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    assert_eq!(
        crate::util::error_lines(&errs),
        PG_STDERR,
        "stderr: {}",
        r.describe()
    );
}

/// Generated values are stored in the heap: after the postmaster is
/// killed (no shutdown checkpoint) recovery replays them, and rows
/// changed after the restart are computed again.
#[test]
fn generated_values_survive_crash_recovery() {
    let mut srv = TestServer::start(Opts::new());
    srv.psql_c(
        Via::Unix,
        &[
            "CREATE TABLE gr (a int PRIMARY KEY, b int GENERATED ALWAYS AS (a * 10) STORED, t text GENERATED ALWAYS AS ('#' || a) STORED)",
            "INSERT INTO gr (a) SELECT g FROM generate_series(1, 3) g",
            "UPDATE gr SET a = 30 WHERE a = 3",
        ],
    );
    let kids = srv.children();
    srv.kill9_postmaster();
    assert!(wait_until(Duration::from_secs(20), || kids
        .iter()
        .all(|p| !p.is_running())));
    srv.start_postmaster();
    let out = srv.psql_c(Via::Unix, &["SELECT a, b, t FROM gr ORDER BY a"]);
    assert_eq!(out, "1|10|#1\n2|20|#2\n30|300|#30\n");
    let out = srv.psql_c(
        Via::Unix,
        &[
            "UPDATE gr SET a = a + 1 WHERE a = 30",
            "SELECT a, b, t FROM gr ORDER BY a",
        ],
    );
    assert_eq!(out, "1|10|#1\n2|20|#2\n31|310|#31\n");
}
