//! User-defined operators and casts against the real binary (issue 11
//! item 4): CREATE OPERATOR with PostgreSQL 15's checks and messages
//! (shell commutators and negators, prefix operators, no postfix ones,
//! estimators), operators bound in expressions (exact match, an unknown
//! literal, implicit coercions, OPERATOR(schema.op)) calling SQL,
//! PL/pgSQL and built-in functions, ALTER OPERATOR SET / OWNER TO / SET
//! SCHEMA, DROP OPERATOR [IF EXISTS], DROP FUNCTION RESTRICT/CASCADE over
//! dependent operators and casts, CREATE CAST WITH FUNCTION / WITH INOUT
//! used by `::` and CAST(), DROP CAST [IF EXISTS], and the pg_operator
//! and pg_cast rows psql reads.
//!
//! The expected output is PostgreSQL 15's for operators.sql (`psql -X -A
//! -t -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("operators.sql");

const PG_STDOUT: &str = r#"CREATE FUNCTION
CREATE FUNCTION
CREATE FUNCTION
CREATE FUNCTION
CREATE OPERATOR
!~~~|b|integer|integer|-|-|-|-|f|f|f|t
~~~|b|integer|integer|boolean|box_like|eqsel|eqjoinsel|t|f|t|t
!~~~|-|0
CREATE OPERATOR
~~~|!~~~
t|f|t|t
2
3
4
t
t
CREATE OPERATOR
a/1|b/2
CREATE OPERATOR
42|10|9|4|10
5
4
CREATE OPERATOR
42
CREATE OPERATOR
t|f
CREATE OPERATOR
ALTER OPERATOR
-|-
ALTER OPERATOR
contsel|-
CREATE SCHEMA
ALTER OPERATOR
3
CREATE ROLE
ALTER OPERATOR
<+>|opschema|op_owner
DROP OPERATOR
DROP OPERATOR
DROP OPERATOR
DROP OPERATOR
DROP FUNCTION
!~~~|0
##|0
#%#|0
===|0
DROP OPERATOR
CREATE TYPE
CREATE FUNCTION
CREATE CAST
20|30
CREATE CAST
3
integer|digit|-|a|i
digit|integer|digit_num|e|f
DROP CAST
DROP CAST
DROP CAST
DROP FUNCTION
DROP CAST
0
DROP OPERATOR
1
DROP ROLE
BEGIN
CREATE FUNCTION
CREATE OPERATOR
6
SAVEPOINT
DROP OPERATOR
ROLLBACK
15
ROLLBACK
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:30: ERROR:  operator does not exist: @@@ numeric
HINT:  No operator matches the given name and argument type. You might need to add an explicit type cast.
psql:SCRIPT:31: ERROR:  operator does not exist: integer !=- integer
HINT:  No operator matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:37: ERROR:  operator ~~~ already exists
psql:SCRIPT:38: ERROR:  operator right argument type must be specified
DETAIL:  Postfix operators are not supported.
psql:SCRIPT:39: ERROR:  operator argument types must be specified
psql:SCRIPT:40: ERROR:  operator function must be specified
psql:SCRIPT:41: WARNING:  operator attribute "bogus" not recognized
psql:SCRIPT:42: ERROR:  SETOF type not allowed for operator argument
psql:SCRIPT:43: ERROR:  function twice(bigint, bigint) does not exist
psql:SCRIPT:44: ERROR:  only binary operators can have commutators
psql:SCRIPT:45: ERROR:  only boolean operators can have negators
psql:SCRIPT:46: ERROR:  operator cannot be its own negator or sort operator
psql:SCRIPT:47: ERROR:  syntax error at or near "=>"
psql:SCRIPT:48: ERROR:  function nosuch(internal, oid, internal, integer) does not exist
psql:SCRIPT:49: ERROR:  function nosuch(internal, oid, internal, smallint, internal) does not exist
psql:SCRIPT:55: ERROR:  operator attribute "commutator" cannot be changed
psql:SCRIPT:56: ERROR:  operator attribute "bogus" not recognized
psql:SCRIPT:57: ERROR:  operator does not exist: integer ~~~ bigint
psql:SCRIPT:60: ERROR:  operator does not exist: integer <+> integer
HINT:  No operator matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:67: ERROR:  operator does not exist: integer ~~~ bigint
psql:SCRIPT:68: NOTICE:  operator ~~~ does not exist, skipping
psql:SCRIPT:69: ERROR:  postfix operators are not supported
psql:SCRIPT:70: NOTICE:  type "nosuchtype" does not exist, skipping
psql:SCRIPT:71: NOTICE:  schema "nosuchschema" does not exist, skipping
psql:SCRIPT:73: ERROR:  cannot drop function box_like(integer,integer) because other objects depend on it
DETAIL:  operator ~~~(integer,integer) depends on function box_like(integer,integer)
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:74: NOTICE:  drop cascades to operator ~~~(integer,integer)
psql:SCRIPT:77: ERROR:  cannot drop function cat3(text,integer) because other objects depend on it
DETAIL:  operator ##(text,integer) depends on function cat3(text,integer)
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:82: ERROR:  cannot cast type digit to integer
psql:SCRIPT:89: ERROR:  cast from type digit to type integer already exists
psql:SCRIPT:90: ERROR:  argument of cast function must match or be binary-coercible from source data type
psql:SCRIPT:91: ERROR:  cannot drop function digit_num(digit) because other objects depend on it
DETAIL:  cast from digit to integer depends on function digit_num(digit)
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:93: ERROR:  cast from type digit to type integer does not exist
psql:SCRIPT:94: NOTICE:  cast from type digit to type int4 does not exist, skipping
psql:SCRIPT:95: NOTICE:  type "nosuchtype" does not exist, skipping
psql:SCRIPT:110: ERROR:  operator does not exist: integer <^^> integer
HINT:  No operator matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:114: ERROR:  operator does not exist: integer <^^> integer
HINT:  No operator matches the given name and argument types. You might need to add explicit type casts.
"#;

#[test]
fn user_defined_operators_and_casts_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "operators.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
