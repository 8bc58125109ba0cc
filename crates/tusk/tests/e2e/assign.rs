//! Assignment targets with indirection and multi-column SET against the
//! real binary: the same script run by psql 15 against PostgreSQL 15 and
//! against tusk prints the same rows and errors.
//!
//! Why end to end: a target like `a[1:2]` or `c.arr[1].f` goes through
//! the token pass that carries subscripts past sqlparser, the binder that
//! builds the store chain, the merging of several assignments to one
//! column and the array store at run time (NULL fill, bounds, errors);
//! only the whole path shows that UPDATE, INSERT, ON CONFLICT and MERGE
//! all get PostgreSQL's results.
//! The expected output is PostgreSQL 15's for assign.sql (`psql -X -A -t
//! -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("assign.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 1
INSERT 0 1
INSERT 0 1
1|{1,2,3}|[2:2]={5}|
2|[2:4]={20,NULL,40}||
3||{7,8}|
UPDATE 1
UPDATE 1
UPDATE 1
1|{1,99,3,NULL,7}|{8,9}|
2|[2:4]={20,NULL,40}||[-1:3]={m,NULL,NULL,NULL,x}
3||{7,8}|
UPDATE 1
UPDATE 1
UPDATE 1
1|{0,0,3,4,4}|{8,9}
2|[2:4]={20,NULL,40}|
3|[6:6]={6}|{7,8}
CREATE TABLE
INSERT 0 1
UPDATE 1
{{1,2},{30,4}}
CREATE TABLE
INSERT 0 2
UPDATE 1
UPDATE 1
UPDATE 1
UPDATE 2
UPDATE 1
2|via v|3
10|ten!|11
CREATE INDEX
INSERT 0 1
2|via v|3
10|dup|22
CREATE TYPE
CREATE TABLE
INSERT 0 1
INSERT 0 1
UPDATE 1
UPDATE 1
(11,"{a,b,c}")|
|{"(6,)","(,{five})"}
CREATE DOMAIN
CREATE TABLE
INSERT 0 1
UPDATE 1
UPDATE 1
{3,-5}
CREATE TABLE
INSERT 0 1
MERGE 2
1|{1,1,9}
2|[2:2]={8}
CREATE TABLE
INSERT 0 4
UPDATE 1
UPDATE 1
UPDATE 1
UPDATE 1
1|{"a": 1}
2|[null, null, "x"]
3|[2, null, null, 1]
4|{"a": 1, "b": [null, {"c": null}]}
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:15: ERROR:  array slice subscript must provide both boundaries
DETAIL:  When assigning to a slice of an empty array value, slice boundaries must be fully specified.
psql:SCRIPT:16: ERROR:  source array too small
psql:SCRIPT:17: ERROR:  array subscript in assignment must not be null
psql:SCRIPT:18: ERROR:  invalid input syntax for type integer: "x"
psql:SCRIPT:19: ERROR:  subscripted assignment to "a" requires type integer but expression is of type timestamp with time zone
HINT:  You will need to rewrite or cast the expression.
psql:SCRIPT:20: ERROR:  cannot set an array element to DEFAULT
psql:SCRIPT:21: ERROR:  multiple assignments to same column "a"
psql:SCRIPT:25: ERROR:  source array too small
psql:SCRIPT:27: ERROR:  array subscript out of range
psql:SCRIPT:28: ERROR:  wrong number of array subscripts
psql:SCRIPT:38: ERROR:  source for a multiple-column UPDATE item must be a sub-SELECT or ROW() expression
psql:SCRIPT:39: ERROR:  source for a multiple-column UPDATE item must be a sub-SELECT or ROW() expression
psql:SCRIPT:40: ERROR:  number of columns does not match number of values
psql:SCRIPT:41: ERROR:  number of columns does not match number of values
psql:SCRIPT:42: ERROR:  multiple assignments to same column "a"
psql:SCRIPT:54: ERROR:  cannot assign to field "z" of column "c" because there is no such column in data type pt
psql:SCRIPT:55: ERROR:  invalid input syntax for type integer: "x"
psql:SCRIPT:56: ERROR:  cannot set a subfield to DEFAULT
psql:SCRIPT:57: ERROR:  column "ct" of relation "ct" does not exist
psql:SCRIPT:58: ERROR:  column "c" specified more than once
psql:SCRIPT:64: ERROR:  value for domain posarr violates check constraint "posarr_check"
psql:SCRIPT:82: ERROR:  cannot replace existing key
DETAIL:  The path assumes key is a composite object, but it is a scalar value.
psql:SCRIPT:83: ERROR:  path element at position 1 is out of range: -9
psql:SCRIPT:84: ERROR:  jsonb subscript in assignment must not be null
psql:SCRIPT:85: ERROR:  invalid input syntax for type json
DETAIL:  Token "nope" is invalid.
"#;

#[test]
fn assignment_targets_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "assign.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
