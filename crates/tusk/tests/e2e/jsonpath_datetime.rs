//! jsonpath's .datetime() and .datetime(template), and the *_tz path
//! functions, against the real binary and PostgreSQL 15's output.
//!
//! Why end to end: the type an item gets (from the ISO form or the
//! template's fields), its JSON text, which comparisons need the
//! session's zone (an error in the plain functions, a conversion in the
//! *_tz ones) and which types do not compare at all are what a query sees.
//! The expected output is PostgreSQL 15's for jsonpath_datetime.sql
//! (`psql -X -A -t -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("jsonpath_datetime.sql");

const PG_STDOUT: &str = r#""2017-03-10"
"date"
"timestamp without time zone"
"timestamp with time zone"
"time without time zone"
"time with time zone"
"2017-03-10T12:34:56"
"2017-03-10T12:34:00-05:20"
"12:34:00-05:00"
"2017-03-10T12:34:56+03:00"
"2017-03-10T12:34:56.789+03:10"
"12:34:56+03:10"
"12:34:56"
"date"
SET
t
"2017-03-10"
"2017-03-10T00:00:00"
"2017-03-10T03:00:00+03:00"
"2017-03-10"
"2017-03-11"
"2017-03-10T00:00:00"
"2017-03-10T12:34:56"
"2017-03-10T03:00:00+03:00"
"12:35:00"
"12:35:00+00:00"
"12:35:00+01:00"
"2017-03-10T12:34:00+01:00"
"2017-03-10T12:35:00+02:00"
"2017-03-10T10:35:00"
"2017-03-10"
true
t
"2017-03-11"
f
f
["2017-03-10"]
"12:00:00"
"2017-03-10T12:34:56"
"12:34:00+05:20"
"2017-03-10T12:35:00+01:00"
"2017-03-10T12:34:00+05:00"
"2017-03-10"
"2017-03-10"
2017-03-10 00:00:00+00
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:1: ERROR:  datetime format is not recognized: "bogus"
HINT:  Use a datetime template argument to specify the input data format.
psql:SCRIPT:13: ERROR:  datetime format is not recognized: "2017-03-10t12:34:56+3:10"
HINT:  Use a datetime template argument to specify the input data format.
psql:SCRIPT:18: ERROR:  jsonpath item method .datetime() can only be applied to a string
psql:SCRIPT:19: ERROR:  jsonpath item method .datetime() can only be applied to a string
psql:SCRIPT:21: ERROR:  datetime format is not recognized: "2017-03-10T12:34:56.789EST"
HINT:  Use a datetime template argument to specify the input data format.
psql:SCRIPT:23: ERROR:  cannot convert value from date to timestamptz without time zone usage
HINT:  Use *_tz() function for time zone support.
psql:SCRIPT:27: ERROR:  cannot convert value from time to timetz without time zone usage
HINT:  Use *_tz() function for time zone support.
psql:SCRIPT:33: ERROR:  cannot convert value from date to timestamptz without time zone usage
HINT:  Use *_tz() function for time zone support.
psql:SCRIPT:38: ERROR:  cannot convert value from time to timetz without time zone usage
HINT:  Use *_tz() function for time zone support.
psql:SCRIPT:39: ERROR:  datetime format is not recognized: "2017-03-10 07:00:00Z"
HINT:  Use a datetime template argument to specify the input data format.
psql:SCRIPT:40: ERROR:  invalid datetime format separator: "a"
psql:SCRIPT:41: ERROR:  invalid value "aa" for "HH24"
DETAIL:  Value must be an integer.
psql:SCRIPT:42: ERROR:  trailing characters remain in input string after datetime format
psql:SCRIPT:43: ERROR:  unmatched format character "T"
psql:SCRIPT:44: ERROR:  unmatched format character "T"
psql:SCRIPT:46: ERROR:  input string is too short for datetime format
psql:SCRIPT:47: ERROR:  input string is too short for datetime format
psql:SCRIPT:51: ERROR:  unmatched format separator "-"
"#;

#[test]
fn jsonpath_datetime_items_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "jsonpath_datetime.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
