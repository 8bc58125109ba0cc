//! Date/time types as clients see them: interval, time and timetz
//! stored, compared and printed; the date/time operators and functions;
//! IntervalStyle; errors. One script run by psql 15 against PostgreSQL 15
//! and against tusk prints the same rows and errors. The postgres crate
//! sends and reads interval/time/timetz in binary (PostgreSQL's send/recv
//! layouts), and the columns survive a restart (on-disk datums).
//!
//! The expected output is PostgreSQL 15's for datetime.sql (captured with
//! `psql -X -A -t -f`; the script path in stderr replaced by SCRIPT). Of
//! stderr, the `psql:`, DETAIL and HINT lines are compared: tusk does not
//! yet point at error positions (PostgreSQL's `LINE 1:`).

use crate::util::{Opts, TestServer, Via};

const SCRIPT: &str = include_str!("datetime.sql");

const PG_STDOUT: &str = r#"SET
CREATE TABLE
INSERT 0 3
1|1 year 2 days 00:00:03|23:59:59.999|04:05:06-08|{"1 day",02:00:00}
2|-1 mons +2 days -00:00:01.5|24:00:00|12:00:00+05:30|{}
3||||
1
1 day 02:00:00|-00:01:00|1 year 2 mons 3 days 04:05:06|1 year 2 mons|01:02:03|1 year 6 mons|10 days 12:00:00|-1 days +02:03:04|1 year 2 mons 3 days 04:05:06|1 day
2000-02-29 00:00:00|2000-01-31|2000-01-31|2000-02-29|60|60 days 12:00:00|2000-01-01 01:00:00|1999-12-31 23:00:00
1 day 12:00:00|02:00:00|4 days 17:08:34.261029|-1 days|01:30:00|-01:00:00
13:00:00|01:00:00|23:00:00|01:30:00|2000-01-01 10:00:00|13:00:00+02
t|t|t|t
982355920.500000|40.500000|2001|0|7|47|7|1|21
37015506.000000|4|11|5|86400
2001-02-01 00:00:00|2001-02-12 00:00:00|1 day 04:00:00|2001-01-01 00:00:00
43 years 9 mons 27 days|-43 years -9 mons -27 days|1 day 12:00:00|1 mon 5 days|29 days 23:00:00
2013-07-15|08:15:23.5|2013-07-15 08:15:23.5|1 year 2 mons 25 days 05:06:07.5|f|t
t|f
2020-02-11 15:30:00
01:00:00|10:00:00|20:38:40
SET
@ 1 year 2 mons 3 days 4 hours 5 mins 6.5 secs|@ 1 day 2 hours ago
SET
+1-2 +3 +4:05:06.5|-1 2:00:00|1-2
SET
P1Y2M3DT4H5M6.5S|PT0S
RESET
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:26: ERROR:  invalid input syntax for type interval: "garbage"
psql:SCRIPT:27: ERROR:  interval field value out of range: "2147483648 days"
psql:SCRIPT:28: ERROR:  date/time field value out of range: "25:00:00"
psql:SCRIPT:29: ERROR:  cannot subtract infinite dates
psql:SCRIPT:30: ERROR:  division by zero
psql:SCRIPT:31: ERROR:  unit "hour" not supported for type date
psql:SCRIPT:32: ERROR:  unit "fortnight" not recognized for type timestamp without time zone
psql:SCRIPT:33: ERROR:  unit "timezone" not supported for type timestamp with time zone
psql:SCRIPT:34: ERROR:  unit "timezone_hour" not supported for type timestamp without time zone
psql:SCRIPT:35: ERROR:  unit "dow" not recognized for type timestamp without time zone
"#;

#[test]
fn datetime_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "datetime.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// Binary send/recv through the postgres crate (extended protocol, binary
/// results): interval is i64 usec, i32 days, i32 months; time i64 usec;
/// timetz i64 usec and i32 zone seconds west of UTC.
#[test]
fn binary_round_trip_through_the_driver() {
    use postgres::types::{FromSql, IsNull, ToSql, Type};

    #[derive(Debug, PartialEq)]
    struct Raw(Vec<u8>);
    impl<'a> FromSql<'a> for Raw {
        fn from_sql(
            _: &Type,
            raw: &'a [u8],
        ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
            Ok(Raw(raw.to_vec()))
        }
        fn accepts(t: &Type) -> bool {
            [Type::INTERVAL, Type::TIME, Type::TIMETZ].contains(t)
        }
    }
    impl ToSql for Raw {
        fn to_sql(
            &self,
            _: &Type,
            out: &mut postgres::types::private::BytesMut,
        ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
            out.extend_from_slice(&self.0);
            Ok(IsNull::No)
        }
        fn accepts(t: &Type) -> bool {
            [Type::INTERVAL, Type::TIME, Type::TIMETZ].contains(t)
        }
        postgres::types::to_sql_checked!();
    }

    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let mut iv = 3_000_000i64.to_be_bytes().to_vec();
    iv.extend_from_slice(&2i32.to_be_bytes());
    iv.extend_from_slice(&(-14i32).to_be_bytes());
    let time = 3_723_500_000i64.to_be_bytes().to_vec();
    let mut tz = 3_600_000_000i64.to_be_bytes().to_vec();
    tz.extend_from_slice(&(-19_800i32).to_be_bytes());
    let row = c
        .query_one(
            "SELECT $1::interval::text, $2::time::text, $3::timetz::text, $1::interval, $2::time, $3::timetz",
            &[&Raw(iv.clone()), &Raw(time.clone()), &Raw(tz.clone())],
        )
        .expect("binary parameters");
    assert_eq!(row.get::<_, String>(0), "-1 years -2 mons +2 days 00:00:03");
    assert_eq!(row.get::<_, String>(1), "01:02:03.5");
    assert_eq!(row.get::<_, String>(2), "01:00:00+05:30");
    assert_eq!(row.get::<_, Raw>(3), Raw(iv));
    assert_eq!(row.get::<_, Raw>(4), Raw(time));
    assert_eq!(row.get::<_, Raw>(5), Raw(tz));
    // A time past 24:00 is refused as time_recv refuses it.
    let e = c
        .query_one(
            "SELECT $1::time",
            &[&Raw((86_400_000_001i64).to_be_bytes().to_vec())],
        )
        .expect_err("time out of range");
    assert_eq!(e.code().map(|s| s.code()), Some("22003"), "{e}");
}

/// interval, time and timetz columns (and interval[]) are stored in
/// PostgreSQL's layouts and read back after a restart.
#[test]
fn datetime_columns_survive_restart() {
    let mut srv = TestServer::start(Opts::new());
    {
        let mut c = srv.connect();
        c.batch_execute(
            "CREATE TABLE keep (id int, i interval, t time, tz timetz, a interval[]);
             INSERT INTO keep VALUES
               (1, '-1 years +2 days 00:00:00.000001', '00:00:00', '23:59:59.5-03:30', '{1 day,NULL}'),
               (2, NULL, '24:00:00', '00:00+14', ARRAY[interval '1 mon']);",
        )
        .expect("create and fill");
    }
    srv.stop_with(libc::SIGTERM);
    srv.start_postmaster();
    let out = srv.psql_c(
        Via::Unix,
        &["SELECT id, i, t, tz, a, i + interval '1 day' FROM keep ORDER BY id"],
    );
    assert_eq!(
        out,
        "1|-1 years +2 days 00:00:00.000001|00:00:00|23:59:59.5-03:30|{\"1 day\",NULL}|-1 years +3 days 00:00:00.000001\n\
         2||24:00:00|00:00:00+14|{\"1 mon\"}|\n"
    );
}

/// Result column names of the SQL-syntax date/time forms, as PostgreSQL
/// 15 names them (its grammar turns them into function calls):
/// `x AT TIME ZONE z` is "timezone", EXTRACT is "extract".
#[test]
fn sql_syntax_forms_take_postgresql_column_names() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let st = c
        .prepare(
            "SELECT timestamp '1997-02-10 17:32:01' AT TIME ZONE 'UTC', \
             extract(year from date '2001-02-16'), \
             timestamptz '2000-01-01 00:00+00' AT TIME ZONE 'Asia/Tokyo' AS t",
        )
        .expect("prepare");
    let names: Vec<&str> = st.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["timezone", "extract", "t"]);
}
