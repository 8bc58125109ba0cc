//! format() with field widths and argument positions, VARIADIC arrays given
//! to the built-in variadic functions, and sequences in the temporary
//! schema (a temporary table's serial column, CREATE TEMP SEQUENCE): one
//! script run by psql 15 against PostgreSQL 15 and against tusk prints
//! the same rows and errors; also the types' send functions (float4send...).
//!
//! Why end to end: format() builds dynamic SQL in PL/pgSQL and migration
//! scripts, where a width or position specifier PostgreSQL accepts must
//! not be an error; temporary tables with serial keys are common in
//! reports and tests.
//! The expected output is PostgreSQL 15's for textfmt.sql (`psql -X -A -t
//! -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("textfmt.sql");

const PG_STDOUT: &str = r#">>     Hello<<
>>          <<
>>Hello     <<
>>     Hello<<
>>"Hello"   <<
>>   'Hello'<<
>>NULL      <<
>>     Hello<<
>>     Hello<<
>>Hello<<
>>      NULL<<
>>'Hello'<<
a b a
"Mixed Case" and 'it''s'
100%
123
1,2,3
t
t
t
Hello, World
t, f
second, first
Hello
1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,123,124,125,126,127,128,129,130,131,132,133,134,135,136,137,138,139,140,141,142,143,144,145,146,147,148,149,150,151,152,153,154,155,156,157,158,159,160,161,162,163,164,165,166,167,168,169,170,171,172,173,174,175,176,177,178,179,180,181,182,183,184,185,186,187,188,189,190,191,192,193,194,195,196,197,198,199,200
CREATE TABLE
1|a|42
2|b|42
INSERT 0 2
CREATE SEQUENCE
5|6
t
t
t
\x1f6c1e4a|\x3ff8000000000000|\x00000102|\xffffffffffffffff
\x616263|\x01|\x0001|\x40200000|
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:15: ERROR:  too few arguments for format()
psql:SCRIPT:19: ERROR:  format specifies argument 0, but arguments are numbered from 1
psql:SCRIPT:20: ERROR:  unterminated format() type specifier
HINT:  For a single "%" use "%%".
psql:SCRIPT:21: ERROR:  unterminated format() type specifier
HINT:  For a single "%" use "%%".
psql:SCRIPT:22: ERROR:  unterminated format() type specifier
HINT:  For a single "%" use "%%".
psql:SCRIPT:23: ERROR:  too few arguments for format()
psql:SCRIPT:24: ERROR:  width argument position must be ended by "$"
psql:SCRIPT:25: ERROR:  unrecognized format() type specifier "x"
HINT:  For a single "%" use "%%".
psql:SCRIPT:26: ERROR:  null values cannot be formatted as an SQL identifier
psql:SCRIPT:38: ERROR:  VARIADIC argument must be an array
psql:SCRIPT:45: ERROR:  cannot create temporary relation in non-temporary schema
psql:SCRIPT:49: ERROR:  function nosuchtypesend(integer) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
"#;

#[test]
fn format_variadic_and_temporary_sequences_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "textfmt.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
