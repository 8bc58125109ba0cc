//! json to rows against the real binary: json(b)_populate_record(set) and
//! json(b)_to_record(set) (nested rows, arrays with PostgreSQL's
//! multidimensional rules and hints, domains over rows, base rows, column
//! definition lists) and the VARIADIC json builders, run by psql 15
//! against PostgreSQL 15 and against tusk, print the same rows and errors.
//!
//! Why end to end: the rows come back through the FROM clause, the
//! select list's set-returning functions and record output, each a
//! separate path in the server. The expected output is PostgreSQL 15's
//! for json_records.sql (`psql -X -A -t -f`, script path in stderr
//! replaced by SCRIPT; of stderr the psql:, DETAIL and HINT lines).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("json_records.sql");

const PG_STDOUT: &str = r#"CREATE TYPE
CREATE TYPE
CREATE TYPE
CREATE DOMAIN
blurfl||
blurfl|3|2012-12-31 15:30:56
[100, 200, false]|3|2012-12-31 15:30:56
x|3|2012-12-31 15:30:56
{1,2,NULL,4}
{{1,2},{3,4}}
{1,2,3}
{}
{"ab   ",NULL,"3    "}
[1,  "a\"b", {}]|[1, "a\"b", {}]
"x\"y"|"x\"y"
(abc,,"2003-01-02 00:00:00")|{"(abc,456,)",NULL,"(,,\"2003-01-02 00:00:00\")"}
(abc,42,"2003-01-02 00:00:00")
(0,1)
(0,1)
776|
(0,2)
blurfl||
|3|2012-01-20 10:42:53
[100, 200, 300]|99|
{"z": true}|3|
1|(42,50)
1|(1,43)
2|(42,50)
2|(2,43)
1|foo|
1|{"d": "foo"}|t
2||f
1|{"c":16, "d":2}||{"1 2  ","3    "}|{{1,2},{3,4}}|(aaa,123,)|t
"{\"key\": 1}"
[{"key": 1}]

["a", "b", "c"]
[1, 4, 2, 5]
{"a" : "1", "b" : "2"}
[[1,5],
 [99,100]]
{"f1":1,
 "f2":"foo"}
'aaa':1 'bbb':3 'ccc':5 'ddd':6
'aaa':1 'bbb':3 'ccc':5 'ddd':4 'eee':8 'fff':9 'ggg':10 'hhh':12 'iii':13
'123':8 '456':12 'aaa':2 'b':6 'bbb':4 'c':10 'ccc':14 'd':17 'ddd':15 'true':19
'123':4 'b':2 'd':6
{"a":"aaa <b>bbb</b>","b":{"c":"ccc <b>ddd</b> fff"},"d":["ggg <b>hhh</b>","iii jjj"]}
{"a": "aaa <bbb>", "b": {"c": "ccc <ddd> fff"}}
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:13: ERROR:  expected JSON array
HINT:  See the array element [1] of key "ia".
psql:SCRIPT:14: ERROR:  malformed JSON array
DETAIL:  Multidimensional arrays must have sub-arrays with matching dimensions.
psql:SCRIPT:15: ERROR:  expected JSON array
HINT:  See the value of key "ia".
psql:SCRIPT:18: ERROR:  expected JSON array
HINT:  See the array element [1] of key "ta".
psql:SCRIPT:19: ERROR:  value too long for type character(5)
psql:SCRIPT:24: ERROR:  cannot call populate_composite on an array
psql:SCRIPT:28: ERROR:  could not determine row type for result of json_populate_record
HINT:  Provide a non-null record argument, or call the function in the FROM clause using a column definition list.
psql:SCRIPT:31: ERROR:  value for domain ordered_pair violates check constraint "ordered_pair_check"
psql:SCRIPT:32: ERROR:  cannot call populate_composite on an array
psql:SCRIPT:33: ERROR:  cannot call populate_composite on a scalar
psql:SCRIPT:34: ERROR:  first argument of json_populate_record must be a row type
psql:SCRIPT:39: ERROR:  function return row and query-specified return row do not match
DETAIL:  Returned row contains 1 attribute, but query expects 2.
psql:SCRIPT:40: ERROR:  function return row and query-specified return row do not match
DETAIL:  Returned type integer at ordinal position 1, but query expects text.
psql:SCRIPT:41: ERROR:  cannot call json_populate_recordset on an object
psql:SCRIPT:42: ERROR:  cannot call jsonb_populate_recordset on a non-array
psql:SCRIPT:43: ERROR:  argument of json_populate_recordset must be an array of objects
psql:SCRIPT:49: ERROR:  a column definition list is required for functions returning "record"
psql:SCRIPT:50: ERROR:  could not determine row type for result of json_to_record
HINT:  Provide a non-null record argument, or call the function in the FROM clause using a column definition list.
psql:SCRIPT:51: ERROR:  a column definition list is redundant for a function returning a named composite type
psql:SCRIPT:56: ERROR:  argument list must have even number of elements
HINT:  The arguments of jsonb_build_object() must consist of alternating keys and values.
psql:SCRIPT:57: ERROR:  VARIADIC argument must be an array
psql:SCRIPT:64: ERROR:  wrong flag type, only arrays and scalars are allowed
psql:SCRIPT:65: ERROR:  flag array element is not a string
HINT:  Possible values are: "string", "numeric", "boolean", "key", and "all".
psql:SCRIPT:66: ERROR:  wrong flag in flag array: "foo"
HINT:  Possible values are: "string", "numeric", "boolean", "key", and "all".
"#;

#[test]
fn json_to_rows_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "json_records.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
