//! Regular expressions against the real binary: the same script run by
//! psql 15 against PostgreSQL 15 and against tusk prints the same rows
//! and errors.
//!
//! Why end to end: which text a pattern matches is what users see through
//! `~`, regexp_match(es), regexp_replace, regexp_split_*, the PostgreSQL 15
//! positional functions, SIMILAR TO and substring; PostgreSQL's answers
//! follow Spencer's ARE rules (longest or shortest whole match, then
//! subexpressions by their own greediness, look-around, back-references,
//! embedded options) and its errors are regerror's words. The last
//! statements check that a pathological pattern stays bounded and that
//! statement_timeout cancels a long run of matches.
//! The expected output is PostgreSQL 15's for regex.sql (`psql -X -A -t
//! -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("regex.sql");

const PG_STDOUT: &str = r#"{abc}
{ab,c}
{x}
{foob}
{r,ogr}
{m,m}
{ll,mmmfff,""}
{"",llmmm,fff}
{foo,bar,baz}
{""}|{NULL}|{NULL}
{abc}|{b}
f|t|t
t|f|t
t|f|t
{a+b}|{AB}|{"a b"}
{b}|{"a
b"}|
{"a{x"}|{a]}|{-9}
{bar}|{x}|{a}
fooXarYXazY|a[b\]c
{h,e,l,l,o,w,o,r,l,d}|{a,b,c}
4|6|bc|t
abcaXcabc|aXcaXc
t|t|t
t|f
o|mas|a
f
SET
RESET
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:28: ERROR:  invalid regular expression: quantifier operand invalid
psql:SCRIPT:29: ERROR:  invalid regular expression: braces {} not balanced
psql:SCRIPT:30: ERROR:  invalid regular expression: invalid repetition count(s)
psql:SCRIPT:31: ERROR:  invalid regular expression: invalid repetition count(s)
psql:SCRIPT:32: ERROR:  invalid regular expression: invalid backreference number
psql:SCRIPT:33: ERROR:  invalid regular expression: invalid backreference number
psql:SCRIPT:34: ERROR:  invalid regular expression: invalid character class
psql:SCRIPT:35: ERROR:  invalid regular expression: invalid character range
psql:SCRIPT:36: ERROR:  invalid regular expression: invalid character range
psql:SCRIPT:37: ERROR:  invalid regular expression: invalid escape \ sequence
psql:SCRIPT:38: ERROR:  invalid regular expression: invalid embedded option
psql:SCRIPT:39: ERROR:  invalid regular expression: parentheses () not balanced
psql:SCRIPT:40: ERROR:  invalid regular expression: parentheses () not balanced
psql:SCRIPT:41: ERROR:  invalid regular expression: brackets [] not balanced
psql:SCRIPT:42: ERROR:  invalid regular expression: invalid escape \ sequence
psql:SCRIPT:43: ERROR:  invalid regular expression option: "z"
psql:SCRIPT:44: ERROR:  regexp_match() does not support the "global" option
HINT:  Use the regexp_matches function instead.
psql:SCRIPT:45: ERROR:  invalid regular expression: regular expression is too complex
psql:SCRIPT:48: ERROR:  canceling statement due to statement timeout
"#;

#[test]
fn regular_expressions_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "regex.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
