//! Math and string functions as clients see them: numeric sqrt, ln,
//! log, exp and power digit for digit with PostgreSQL 15's result scales;
//! float8 math, degree and hyperbolic functions; mod, div, gcd, lcm,
//! factorial, scale, width_bucket; split_part, pads, trims, translate,
//! the positional regexp functions; md5, sha2, concat_ws; pg_size_bytes /
//! pg_size_pretty; encode/decode (hex, base64, escape), convert_to/
//! convert_from; and
//! their errors with PostgreSQL's messages. One script run by psql 15
//! against PostgreSQL 15 and against tusk prints the same rows and errors.
//!
//! The expected output is PostgreSQL 15's for functions.sql (captured with
//! `psql -X -A -t -f`; the script path in stderr replaced by SCRIPT). Of
//! stderr, the `psql:`, DETAIL and HINT lines are compared.

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("functions.sql");

const PG_STDOUT: &str = r#"1.414213562373095|0.000010000000000000000|11111.11106609056|4|-2|5
0.6931471805599453|0.00000000009999999999500000|230.25850929940457|-0.6931471805599453|2.7182818284590452|0.00002753644934974716|34516107331259239871361985995265746750923963.19
0.3010299956639812|3.0000000000000000|10.0000000000000000|3.6819752154446344|-3.0000000000000000
1.4142135623730950|29.674132536420854|0.0010000000000000|2.7182818270999043|-8.0000000000000000|0.0000000000000000
1|1|Infinity|0|0|-1.0000000000000000
1024|0|0.5|1.4142135623730951|-2|2.718281828459045|2.302585092994046|2
1|-1|1.5|3|-3|6|12|12|1.2|0.75|2432902008176640000
4|2|1.23|0|100|
-1|0|1|-1|2|-2|2|2|-2
3|0|6|3|11
180|3.141592653589793|0.5|0.5|1|1|30|120|45|45
0|1|0|0.7853981633974483|1.5707963267948966|0|0|1|0|0|0|0
b|c||abc
xyxhi|hi   |he|a2x5|cba|2|2
ab|cde|t|A|120|Hi Thomas O'Neil|aXXcaXXc
hi|hi |hi|hi|hi|ff|ffffffffffffffff
3|4|5|6|a|A PostgrXSQL function
1024|1610612736|-2251799813685248|10 kB|909 TB|-10 MB
900150983cd24fb0d6963f7d28e17f72|d07d34efac6328007ad67c7e0a985e00|\xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad|\xd14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f|1,b,2.5|
Thomas
Thomxas
abcxyz
ab
axabc
\x12020390
0111011
hÜllo wörld

ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
\000\377\\A
eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4

AQ==|AQI=|
q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6ur
q6ur
\x616263|\x6162|\x61|\x61
\x6161
\x615c6201ff
41
é|é|\xe9
"int"|"like"|"between"|name|"select"|"values".x
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:20: ERROR:  cannot take logarithm of zero
psql:SCRIPT:21: ERROR:  cannot take logarithm of a negative number
psql:SCRIPT:22: ERROR:  cannot take logarithm of zero
psql:SCRIPT:23: ERROR:  cannot take square root of a negative number
psql:SCRIPT:24: ERROR:  cannot take square root of a negative number
psql:SCRIPT:25: ERROR:  zero raised to a negative power is undefined
psql:SCRIPT:26: ERROR:  a negative number raised to a non-integer power yields a complex result
psql:SCRIPT:27: ERROR:  division by zero
psql:SCRIPT:28: ERROR:  value overflows numeric format
psql:SCRIPT:29: ERROR:  factorial of a negative number is undefined
psql:SCRIPT:30: ERROR:  integer out of range
psql:SCRIPT:31: ERROR:  lower bound cannot equal upper bound
psql:SCRIPT:32: ERROR:  count must be greater than zero
psql:SCRIPT:33: ERROR:  input is out of range
psql:SCRIPT:34: ERROR:  field position must not be zero
psql:SCRIPT:35: ERROR:  null character not permitted
psql:SCRIPT:36: ERROR:  invalid value for parameter "start": 0
psql:SCRIPT:37: ERROR:  regexp_count() does not support the "global" option
psql:SCRIPT:38: ERROR:  invalid size: "1 AB"
DETAIL:  Invalid size unit: "AB".
HINT:  Valid units are "bytes", "kB", "MB", "GB", "TB", and "PB".
psql:SCRIPT:39: ERROR:  invalid size: "kb"
psql:SCRIPT:40: ERROR:  bigint out of range
psql:SCRIPT:45: ERROR:  negative substring length not allowed
psql:SCRIPT:47: ERROR:  integer out of range
psql:SCRIPT:58: ERROR:  invalid base64 end sequence
HINT:  Input data is missing padding, is truncated, or is otherwise corrupted.
psql:SCRIPT:59: ERROR:  invalid base64 end sequence
HINT:  Input data is missing padding, is truncated, or is otherwise corrupted.
psql:SCRIPT:60: ERROR:  invalid symbol "*" found while decoding base64 sequence
psql:SCRIPT:62: ERROR:  invalid hexadecimal digit: " "
psql:SCRIPT:63: ERROR:  invalid hexadecimal data: odd number of digits
psql:SCRIPT:64: ERROR:  invalid hexadecimal digit: "z"
psql:SCRIPT:66: ERROR:  invalid input syntax for type bytea
psql:SCRIPT:67: ERROR:  unrecognized encoding: "foo"
psql:SCRIPT:68: ERROR:  invalid hexadecimal digit: "x"
psql:SCRIPT:71: ERROR:  invalid byte sequence for encoding "UTF8": 0xe9
psql:SCRIPT:72: ERROR:  character with byte sequence 0xe2 0x82 0xac in encoding "UTF8" has no equivalent in encoding "LATIN1"
psql:SCRIPT:73: ERROR:  invalid destination encoding name "nope"
psql:SCRIPT:74: ERROR:  invalid source encoding name "nope"
"#;

#[test]
fn functions_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "functions.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
