//! Range and multirange types against the real binary: the same script
//! run by psql 15 against PostgreSQL 15 and against tusk prints the same
//! rows and errors; binary send/recv through the postgres crate gives
//! PostgreSQL 15's bytes (captured with range_send / multirange_send);
//! range columns are read back after a restart; CREATE TYPE ... AS
//! RANGE makes types that work as the built-in ones.
//!
//! Why end to end: ranges meet every layer (type names and casts in the
//! binder, operators, aggregates, the tuple codec, the wire's binary
//! form), and exclusion constraints and temporal tables in applications
//! are built on them. The expected output is PostgreSQL 15's for
//! ranges.sql (`psql -X -A -t -f`, script path in stderr replaced by
//! SCRIPT).

use crate::util::{Opts, TestServer, Via};

const SCRIPT: &str = include_str!("ranges.sql");

const PG_STDOUT: &str = r##"[1,5)|[2,6)|empty|(,5)|[1.5,2.5]
[1,5)|[1,6)|(,3)|(1.5,)|[11,21)
[2000-01-02,2000-01-11)|(-infinity,2000-01-01)|["2000-01-01 00:00:00","2000-01-02 00:00:00")
t|t|t|t
t|f|t|f|t
f|t
[1,8)|[3,5)|[1,3)|empty
1|5|t|t|t|[1,6)
t|t|t
t|t|[1,4)
{[1,4),[5,7)}|{}|{}|{[1,3)}|{[1,5)}
t|{[1,2),[6,7)}|{[2,3),[5,6)}|{[1,6)}
f|t|t
1|7|[1,7)|t
[1,3)
[5,7)
empty
(,2)
[1,2)
[1,3)
[5,6)
empty|1
[5,6)|3
t|t|t|t
CREATE TABLE
INSERT 0 4
2|empty|{}
1|[1,4)|{[1,2.5]}
4|[2,10)|{(,0),[1,2)}
3||
1
4
{[1,10)}|[2,4)
{(,0),[1,2.5]}
int4range|datemultirange|[1,2)|[1,2)
int4range|r|R|3905
int8range|r|R|3927
int4multirange|m|R|6150
DROP TABLE
CREATE TYPE
[a,z)|[a,c]|{[a,c)}|t
CREATE TABLE
INSERT 0 3
empty
(,)
[a,c)
CREATE TYPE
[1.5,3]|{[1,3)}|f8mr
_f8mr|b|A|d|t
_textrange|b|A|i|t
f8mr|m|R|d|f
textmultirange|m|R|i|f
textrange|r|R|i|f
text|textmultirange
DROP TABLE
DROP TYPE
0
"##;

const PG_STDERR: &str = r##"psql:SCRIPT:4: ERROR:  invalid input syntax for type timestamp: "a b"
psql:SCRIPT:5: ERROR:  range lower bound must be less than or equal to range upper bound
psql:SCRIPT:6: ERROR:  malformed range literal: "1,5"
DETAIL:  Missing left parenthesis or bracket.
psql:SCRIPT:7: ERROR:  malformed range literal: "[1,5"
DETAIL:  Unexpected end of input.
psql:SCRIPT:8: ERROR:  malformed range literal: "[1,2,3)"
DETAIL:  Too many commas.
psql:SCRIPT:9: ERROR:  malformed range literal: "[1,2) x"
DETAIL:  Junk after right parenthesis or bracket.
psql:SCRIPT:10: ERROR:  invalid range bound flags
HINT:  Valid values are "[]", "[)", "(]", and "()".
psql:SCRIPT:11: ERROR:  integer out of range
psql:SCRIPT:16: ERROR:  result of range union would not be contiguous
psql:SCRIPT:17: ERROR:  result of range difference would not be contiguous
psql:SCRIPT:22: ERROR:  malformed multirange literal: "{[1,3) [5,7)}"
DETAIL:  Expected comma or end of multirange.
psql:SCRIPT:23: ERROR:  malformed multirange literal: "[1,3)"
DETAIL:  Missing left brace.
psql:SCRIPT:39: ERROR:  malformed range literal: "3"
DETAIL:  Missing left parenthesis or bracket.
psql:SCRIPT:40: ERROR:  operator does not exist: int4range @> numeric
HINT:  No operator matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:41: ERROR:  operator does not exist: int4range && int8range
HINT:  No operator matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:45: ERROR:  range lower bound must be less than or equal to range upper bound
psql:SCRIPT:51: ERROR:  type "textrange" already exists
psql:SCRIPT:52: ERROR:  type attribute "subtype" is required
psql:SCRIPT:55: ERROR:  cannot drop type textrange because other objects depend on it
DETAIL:  column t of table tr depends on type textrange
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
"##;

#[test]
fn ranges_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "ranges.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// Bytes of a value in binary format, whatever its type.
#[derive(Debug, PartialEq)]
struct Raw(Vec<u8>);

impl<'a> postgres::types::FromSql<'a> for Raw {
    fn from_sql(
        _: &postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }
    fn accepts(t: &postgres::types::Type) -> bool {
        t.name().ends_with("range")
    }
}

impl postgres::types::ToSql for Raw {
    fn to_sql(
        &self,
        _: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0);
        Ok(postgres::types::IsNull::No)
    }
    fn accepts(t: &postgres::types::Type) -> bool {
        t.name().ends_with("range")
    }
    postgres::types::to_sql_checked!();
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// range_send / multirange_send bytes (PostgreSQL 15's, from `SELECT
/// range_send('[1,5)'::int4range), ...`) read as parameters and written
/// back as results.
#[test]
fn binary_round_trip_matches_postgresql_bytes() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let i4 = hex("0200000004000000010000000400000005");
    let num = hex("120000000c000200000000000100011388");
    let empty = hex("01");
    let multi = hex("00000002000000110200000004000000010000000400000003000000110200000004000000050000000400000007");
    let row = c
        .query_one(
            "SELECT $1::int4range::text, $2::numrange::text, $3::daterange::text, \
                    $4::int4multirange::text, $1::int4range, $2::numrange, $3::daterange, \
                    $4::int4multirange",
            &[
                &Raw(i4.clone()),
                &Raw(num.clone()),
                &Raw(empty.clone()),
                &Raw(multi.clone()),
            ],
        )
        .expect("binary parameters");
    assert_eq!(row.get::<_, String>(0), "[1,5)");
    assert_eq!(row.get::<_, String>(1), "[1.5,)");
    assert_eq!(row.get::<_, String>(2), "empty");
    assert_eq!(row.get::<_, String>(3), "{[1,3),[5,7)}");
    assert_eq!(row.get::<_, Raw>(4), Raw(i4));
    assert_eq!(row.get::<_, Raw>(5), Raw(num));
    assert_eq!(row.get::<_, Raw>(6), Raw(empty));
    assert_eq!(row.get::<_, Raw>(7), Raw(multi));
    // A bound cut short fails as range_recv's pq_getmsgbytes does.
    let e = c
        .query_one("SELECT $1::int4range", &[&Raw(vec![2, 0, 0, 0, 4, 0])])
        .expect_err("short range");
    assert_eq!(e.code().map(|s| s.code()), Some("08P01"), "{e}");
}

/// Range and multirange columns, and B-tree indexes on them, are stored
/// and read back after a restart.
#[test]
fn range_columns_survive_restart() {
    let mut srv = TestServer::start(Opts::new());
    {
        let mut c = srv.connect();
        c.batch_execute(
            "CREATE TABLE keep (id int, r tstzrange PRIMARY KEY, d daterange[], m nummultirange);
             CREATE INDEX keep_m ON keep (m);
             INSERT INTO keep VALUES
               (1, '[2000-01-01 00:00+00, infinity)', '{\"[2000-01-01,2000-01-03]\", empty}', '{[1.5,2), (3,)}'),
               (2, 'empty', NULL, '{}');",
        )
        .expect("create and fill");
    }
    srv.stop_with(libc::SIGTERM);
    srv.start_postmaster();
    let out = srv.psql_c(
        Via::Unix,
        &[
            "SET timezone = 'UTC'; SELECT id, r, d, m FROM keep ORDER BY r",
            "SELECT id FROM keep WHERE m = '{}'",
            "SELECT id FROM keep WHERE r = '[2000-01-01 00:00+00, infinity)'",
        ],
    );
    assert_eq!(
        out,
        "2|empty||{}\n\
         1|[\"2000-01-01 00:00:00+00\",infinity)|{\"[2000-01-01,2000-01-04)\",empty}|{[1.5,2),(3,)}\n\
         2\n\
         1\n"
    );
}
