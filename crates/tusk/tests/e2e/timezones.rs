//! Time zones and DateStyle as clients see them: a session's TimeZone
//! (named zones from the system tzdata, POSIX strings, SET TIME ZONE
//! INTERVAL and hours) and DateStyle (ISO, Postgres, SQL, German; MDY/DMY)
//! shape timestamptz, timestamp and date text output and input; DST and
//! LMT offsets, AT TIME ZONE, casts and arithmetic in the session zone.
//! One script run by psql 15 against PostgreSQL 15 and against tusk
//! prints the same rows and errors; the driver test checks the startup
//! packet's options, ParameterStatus-backed SHOW and that binary
//! timestamptz stays UTC microseconds whatever the session zone.
//!
//! The expected output is PostgreSQL 15's for timezones.sql (captured with
//! `psql -X -A -t -f`, PGTZ and PGDATESTYLE unset; the script path in
//! stderr replaced by SCRIPT). Of stderr, the `psql:`, DETAIL and HINT
//! lines are compared (error cursor positions are another branch's work).

use crate::util::{Opts, TestServer, Via};

const SCRIPT: &str = include_str!("timezones.sql");

const PG_STDOUT: &str = r#"SET
SET
America/Los_Angeles
Mon Feb 10 17:32:01 1997 PST|Thu Jul 10 14:32:01 1997 PDT|Wed Jan 01 00:00:00 1800 LMT
Mon Feb 10 17:32:01.25 1997 PST|Mon Feb 10 14:32:01 1997 PST|Mon Feb 10 17:32:00 1997 PST
Wed Mar 15 08:14:01 2000 PST|Mon Feb 10 09:32:01 1997 PST|t
Sun Mar 08 12:00:00 2026 PDT|Sun Mar 08 13:00:00 2026 PDT|Sun Mar 08 03:30:00 2026 PDT|Sun Nov 01 01:30:00 2026 PST
Mon Feb 10 20:32:01 1997|Mon Feb 10 09:32:01 1997 PST|Sat Jan 01 05:30:00 2000
-25200|5|Thu Jul 10 00:00:00 1997 PDT|Fri Dec 31 07:00:00 1999 PST
Mon Feb 10 17:32:01 1997|02-10-1997|Mon Feb 10 17:32:01 1997 PST|Thu Jul 10 00:00:00 1997 PDT
Thu Jul 10 12:00:00 1997 PDT|Thu Jul 10 03:00:00 1997 PDT
SET
1997-02-10 17:32:01-08|1800-01-01 00:00:00-07:52:58|1997-02-10
SET
10/02/1997 17:32:01 PST|10/02/1997 17:32:01|10/02/1997
SET
10.02.1997 17:32:01 PST|10.02.1997
SET
Mon 10 Feb 17:32:01 1997 PST|10-02-1997
SET
UTC+3
Fri 31 Dec 21:00:00 1999 UTC
SET
<+05:30>-05:30
Sat 01 Jan 05:30:00 2000 +05:30
SET
<-07>+07
Fri 31 Dec 17:00:00 1999 -07
SET
Europe/Paris
Sat 01 Jul 02:00:00 2000 CEST
RESET
RESET
2000-01-01 00:00:00+00
SET
+02:00
-02 -02:00|1999-12-31 22:00:00-02
SET
+04:30 +04:30|2000-01-01 04:30:00+04:30
RESET
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:32: ERROR:  time zone "nehwon/lankhmar" not recognized
psql:SCRIPT:33: ERROR:  time zone displacement out of range: "Feb 16 17:32:01 -0097"
psql:SCRIPT:34: ERROR:  time zone "Mars/Base" not recognized
"#;

#[test]
fn timezone_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "timezones.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// TimeZone and DateStyle from the startup packet (PGOPTIONS-style `-c`),
/// text output in that zone, and binary timestamptz unchanged (UTC
/// microseconds since 2000) through the postgres crate.
#[test]
fn startup_options_and_binary_timestamptz() {
    use postgres::types::{FromSql, Type};

    struct Raw(Vec<u8>);
    impl<'a> FromSql<'a> for Raw {
        fn from_sql(
            _: &Type,
            raw: &'a [u8],
        ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
            Ok(Raw(raw.to_vec()))
        }
        fn accepts(_: &Type) -> bool {
            true
        }
    }

    let srv = TestServer::start(Opts::new());
    let mut c = srv
        .config(Via::Tcp)
        .options("-c TimeZone=Asia/Tokyo -c DateStyle=SQL,DMY")
        .connect(postgres::NoTls)
        .expect("connect with options");
    let show = |c: &mut postgres::Client, what: &str| -> String {
        c.query_one(&format!("SHOW {what}"), &[]).unwrap().get(0)
    };
    assert_eq!(show(&mut c, "TimeZone"), "Asia/Tokyo");
    assert_eq!(show(&mut c, "DateStyle"), "SQL, DMY");
    let text: String = c
        .query_one("SELECT (timestamptz '2000-01-01 00:00:00+00')::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(text, "01/01/2000 09:00:00 JST");
    // Binary: the instant, not the local time.
    let raw: Raw = c
        .query_one("SELECT timestamptz '2000-01-01 09:00:00'", &[])
        .unwrap()
        .get(0);
    assert_eq!(raw.0, 0i64.to_be_bytes().to_vec());
    // A binary parameter is an instant too; shown in the session zone.
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(946_684_800);
    let back: String = c
        .query_one("SELECT $1::timestamptz::text", &[&t])
        .unwrap()
        .get(0);
    assert_eq!(back, "01/01/2000 09:00:00 JST");
    c.batch_execute("SET TIME ZONE 'America/New_York'").unwrap();
    let text: String = c
        .query_one("SELECT (timestamptz '2000-01-01 00:00:00+00')::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(text, "31/12/1999 19:00:00 EST");
}
