//! Polymorphic user functions and user-defined aggregates against the
//! real binary: the same script run by psql 15 against PostgreSQL 15 and
//! against tusk prints the same rows and errors.
//!
//! Why end to end: which overload a call picks, the type a polymorphic
//! result resolves to (pg_typeof shows it), VARIADIC's gathering of
//! trailing arguments, the CREATE-time "cannot determine result data
//! type" checks and what a CREATE AGGREGATE computes per group, with
//! DISTINCT, ORDER BY, FILTER and OVER, are what a client sees;
//! PostgreSQL 15's output is the reference (`psql -X -A -t -f`, script
//! path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("polymorphic.sql");

const PG_STDOUT: &str = r#"CREATE FUNCTION
43|5.5
smallint
DROP FUNCTION
CREATE FUNCTION
{43,44}|{5.5,6.5}
DROP FUNCTION
CREATE FUNCTION
2|4.5
DROP FUNCTION
CREATE FUNCTION
{42,49}|{4.5,7.8}
DROP FUNCTION
CREATE FUNCTION
{2,4}|{2,4.5}|numeric[]
{a,b}
DROP FUNCTION
CREATE FUNCTION
{42,49,11,2}
DROP FUNCTION
CREATE FUNCTION
{[1,10)}
DROP FUNCTION
CREATE FUNCTION
1
DROP FUNCTION
CREATE FUNCTION
CREATE FUNCTION
3|x
DROP FUNCTION
CREATE FUNCTION
1
0.22
z
CREATE FUNCTION
1%2%3%4%5
a|b|c
CREATE FUNCTION
{1,2,3,4,5}
CREATE FUNCTION
1
2
DROP FUNCTION
CREATE FUNCTION
3|12|30
DROP FUNCTION
CREATE FUNCTION
Hello, World
Hello, 0
Hello, City
DROP FUNCTION
CREATE FUNCTION
129|523|124
DROP FUNCTION
CREATE FUNCTION
CREATE FUNCTION
CREATE FUNCTION
CREATE FUNCTION
CREATE AGGREGATE
CREATE AGGREGATE
CREATE AGGREGATE
CREATE FUNCTION
CREATE AGGREGATE
CREATE AGGREGATE
CREATE TABLE
INSERT 0 6
1|{3,1,NULL}|{3,1,NULL}|{c,a,NULL}|10|4
2|{2,2}|{2,2}|{b,b}|10|4
3|{5}|{5}|{e}|11|5
{NULL,5,3,2,1}
{a,b,b,c,NULL}
1|1|1|{1}
1|3|4|{1,3}
1||4|{1,3,NULL}
2|2|8|{2,2}
2|2|8|{2,2}
3|5|13|{5}

{3,1,NULL,2,2,5}|{3,1,NULL,2,2,5}
DROP AGGREGATE
DROP AGGREGATE
DROP AGGREGATE
CREATE FUNCTION
CREATE AGGREGATE
1
CREATE FUNCTION
CREATE FUNCTION
Hiy|HiCity|2
pq
11
CREATE FUNCTION
-1
-5.5

CREATE FUNCTION
1|2|33

CREATE FUNCTION
{1.1,1.2,55.5}
CREATE FUNCTION
1
{1,3}|{1,2}|
CREATE AGGREGATE
{3,4}
{"(5,6)","(7,8)"}
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:12: ERROR:  function polyf(integer) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:14: ERROR:  cannot determine result data type
DETAIL:  A result of type anyrange requires at least one input of type anyrange or anymultirange.
psql:SCRIPT:15: ERROR:  cannot determine result data type
DETAIL:  A result of type anyelement requires at least one input of type anyelement, anyarray, anynonarray, anyenum, anyrange, or anymultirange.
psql:SCRIPT:16: ERROR:  cannot determine result data type
DETAIL:  A result of type anycompatiblerange requires at least one input of type anycompatiblerange or anycompatiblemultirange.
psql:SCRIPT:17: ERROR:  cannot determine result data type
DETAIL:  A result of type anycompatiblearray requires at least one input of type anycompatible, anycompatiblearray, anycompatiblenonarray, anycompatiblerange, or anycompatiblemultirange.
psql:SCRIPT:24: ERROR:  function polyf(integer, text) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:28: ERROR:  function polyf(int4range, integer, numeric) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:38: ERROR:  function sql_if(boolean, numeric, integer) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:39: ERROR:  function sql_if(boolean, integer, text) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:53: ERROR:  function myleast() does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:63: ERROR:  function formarray(numeric, numeric[]) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:64: ERROR:  function formarray(integer, text) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:65: ERROR:  VARIADIC parameter must be an array
psql:SCRIPT:66: ERROR:  VARIADIC parameter must be an array
psql:SCRIPT:69: ERROR:  function dfunc() does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:76: ERROR:  function dfunc(integer, integer, integer) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:87: ERROR:  function dfunc(b => integer) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:96: ERROR:  cannot determine transition data type
DETAIL:  A result of type anyarray requires at least one input of type anyelement, anyarray, anynonarray, anyenum, anyrange, or anymultirange.
psql:SCRIPT:97: ERROR:  function tfnp(integer[], anyelement) does not exist
psql:SCRIPT:98: ERROR:  function nosuchfn(integer[], integer) does not exist
psql:SCRIPT:99: ERROR:  aggregate stype must be specified
psql:SCRIPT:112: ERROR:  function agg_poly(unknown, unknown) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:113: ERROR:  aggregate agg_bad(integer) does not exist
psql:SCRIPT:117: ERROR:  function mysum(integer) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:118: ERROR:  "mysum2" is an aggregate function
HINT:  Use DROP AGGREGATE to drop aggregate functions.
psql:SCRIPT:120: ERROR:  function least_accum(bigint, bigint) requires run-time type coercion
psql:SCRIPT:145: ERROR:  function formarray2(integer, text[]) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:146: ERROR:  function vleast(integer) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:149: ERROR:  only input parameters can have default values
"#;

#[test]
fn polymorphic_functions_resolve_as_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "polymorphic.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
