//! The jsonpath type and the SQL/JSON path functions against the real
//! binary: the same script run by psql 15 against PostgreSQL 15 and
//! against tusk prints the same rows and errors.
//!
//! Why end to end: a path is parsed when its literal is cast (errors
//! point at the literal), stored in tables as its normalised text, and
//! executed by functions bound in both the select list and FROM, with
//! named arguments (`silent => true`) and the `@?` / `@@` operators; only
//! the whole server exercises all of these together. The expected output
//! is PostgreSQL 15's for jsonpath.sql (`psql -X -A -t -f`, script path
//! in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("jsonpath.sql");

const PG_STDOUT: &str = r#"$."a"."b"[*]?(@."c" > 1 && @."d" like_regex "^x" flag "i")
strict $.**{1 to last}."x"
($[1,2 to last] + -$."a" * 3)
(-(+$."a"."b"))."c"."d"|(1.2)."e3"|$"var".type()
$?(@ starts with "ab" || !(exists (@."x")))
jsonpath|$."a"
CREATE TABLE
INSERT 0 3
1|$."a"|[1]
2|strict $."b"[*]|[1, 2]
3|$."c"?(@ > 2)|[3, 5]
3
2
3
6

t|f
t|
1
2
3
"object"
"object"
"array"
"boolean"
"null"
{"id": 0, "key": "a", "value": 1}
{"id": 0, "key": "b", "value": {"c": 2}}
4.5000000000000000
5
jsonpath|4073|U
2|
{"a": 1}
60
DROP TABLE
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:7: ERROR:  LAST is allowed only in array subscripts
psql:SCRIPT:8: ERROR:  trailing junk after numeric literal at or near "1.t" of jsonpath input
psql:SCRIPT:9: ERROR:  syntax error at end of jsonpath input
psql:SCRIPT:10: ERROR:  syntax error at end of jsonpath input
psql:SCRIPT:11: ERROR:  invalid input syntax for type jsonpath: ""
psql:SCRIPT:21: ERROR:  JSON object does not contain key "b"
psql:SCRIPT:30: ERROR:  JSON object does not contain key "b"
psql:SCRIPT:31: ERROR:  jsonpath array subscript is out of bounds
psql:SCRIPT:32: ERROR:  right operand of jsonpath operator + is not a single numeric value
psql:SCRIPT:33: ERROR:  division by zero
psql:SCRIPT:34: ERROR:  could not find jsonpath variable "x"
psql:SCRIPT:35: ERROR:  "vars" argument is not an object
DETAIL:  Jsonpath parameters should be encoded as key-value pairs of "vars" object.
psql:SCRIPT:36: ERROR:  single boolean result is expected
psql:SCRIPT:39: ERROR:  operator does not exist: jsonpath = jsonpath
HINT:  No operator matches the given name and argument types. You might need to add explicit type casts.
"#;

#[test]
fn jsonpath_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "jsonpath.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
