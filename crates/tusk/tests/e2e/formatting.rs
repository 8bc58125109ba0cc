//! Template formatting as clients see it: to_char over timestamps,
//! timestamptz, dates, intervals and numbers, to_number, to_date and
//! to_timestamp(text, text), with PostgreSQL's errors for bad input. One
//! script run by psql 15 against PostgreSQL 15 and against tusk prints the
//! same rows and errors; the SQLSTATEs are checked through the driver.
//!
//! The expected output is PostgreSQL 15's for formatting.sql (captured
//! with `psql -X -A -t -f`, TimeZone UTC; the script path in stderr
//! replaced by SCRIPT). Of stderr, the `psql:`, DETAIL and HINT lines are
//! compared.

use crate::util::{expect_sqlstate, Opts, TestServer};

const SCRIPT: &str = include_str!("formatting.sql");

const PG_STDOUT: &str = r#"SET
1997-02-10 17:32:01.123456 123 PM Mon 041 07 2450490 1 II  
Saturday, 22nd September 2,001 week 38 of 21th century 6:19 p.m.
SATURDAY |FEBRUARY |UTC|utc|+00|+00:00|2020-09-6|83100
0044 BC B.C. -01 March
0001 02 03 04 04 05 06 789 14706
   -34,338,492.215|  .50|4.31|<83028485>
 485|-485|+ 485|+485|485 | ###| 1,485|  1,485
        CDLXXXV|mmxxiv|11th| 12000| 1.23e+04| 10.00e+01| 0.10000
-34338492|-564646.654564|-5.01|1234.56
2000-12-05 23:38:00+00|2011-12-18 06:08:00+00|1997-02-16 00:00:00+00|2020-01-01 10:00:00.123+00
2020-04-09|2020-03-04|2001-04-15|0001-01-01 BC
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:13: ERROR:  date/time field value out of range: "2016-13-10"
psql:SCRIPT:14: ERROR:  source string too short for "MM" formatting field
DETAIL:  Field requires 2 characters, but only 1 remain.
HINT:  If your source string is not fixed-width, try using the "FM" modifier.
psql:SCRIPT:15: ERROR:  hour "13" is invalid for the 12-hour clock
HINT:  Use the 24-hour clock, or give an hour between 1 and 12.
psql:SCRIPT:16: ERROR:  invalid combination of date conventions
HINT:  Do not mix Gregorian and ISO week date conventions in a formatting template.
psql:SCRIPT:17: ERROR:  invalid value "x" for "Mon"
DETAIL:  The given value did not match any of the allowed values for this field.
psql:SCRIPT:18: ERROR:  formatting field "TZ" is only supported in to_char
psql:SCRIPT:19: ERROR:  invalid format specification for an interval value
HINT:  Intervals are not tied to specific calendar dates.
psql:SCRIPT:20: ERROR:  cannot use "V" and decimal point together
psql:SCRIPT:21: ERROR:  "EEEE" not supported for input
"#;

#[test]
fn formatting_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "formatting.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// The error classes: bad datetime input is 22007 (or 22008 when a field
/// is out of range), bad number templates 42601, input-only limits 0A000.
#[test]
fn formatting_errors_carry_postgresql_sqlstates() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let cases: &[(&str, &str)] = &[
        ("SELECT to_timestamp('19971', 'YYYYMMDD')", "22007"),
        ("SELECT to_date('2016-13-10', 'YYYY-MM-DD')", "22008"),
        ("SELECT to_date('2020 x 01', 'YYYY Mon DD')", "22007"),
        ("SELECT to_char(1, '9.9V9')", "42601"),
        ("SELECT to_char(1, 'S9S')", "42601"),
        ("SELECT to_number('1', 'RN')", "0A000"),
        ("SELECT to_char(interval '1 day', 'TZ')", "22007"),
        ("SELECT to_char(5000000000::int8, 'RN')", "22003"),
    ];
    for (sql, code) in cases {
        let e = expect_sqlstate(c.simple_query(sql), &[code]);
        assert!(!e.message().is_empty(), "{sql}");
    }
    // The session survives every one of them.
    let v = crate::util::simple_value(&mut c, "SELECT to_char(7, 'FM9th')");
    assert_eq!(v.as_deref(), Some("7th"));
}
