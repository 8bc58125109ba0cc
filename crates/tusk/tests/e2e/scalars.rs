//! uuid, money, bit/varbit and pg_lsn as clients see them: stored (uuid
//! as a primary key), compared, ordered and printed; their operators,
//! functions, casts and errors, and the integers' bitwise operators. One script run by psql 15 against
//! PostgreSQL 15 and against tusk prints the same rows and errors. The
//! postgres crate sends and reads the four types in binary (PostgreSQL's
//! send/recv layouts: uuid's 16 bytes, money's int8, bit's count and
//! bytes, pg_lsn's int8), and the columns survive a restart.
//!
//! The expected output is PostgreSQL 15's for scalars.sql (captured with
//! `psql -X -A -t -f`; the script path in stderr replaced by SCRIPT). Of
//! stderr, the `psql:`, DETAIL and HINT lines are compared: tusk does not
//! yet point at error positions (PostgreSQL's `LINE 1:`).

use crate::util::{Opts, TestServer, Via};

const SCRIPT: &str = include_str!("scalars.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 3
00000000-0000-0000-0000-0000000000ff|-$12.35|0101|11110000|0/0
3f3e3c3b-3a30-3938-3736-353433a2313e|-$7.00|1111||FFFFFFFF/FFFFFFFF
a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|$1,234.56|1010|1|16/B374D848
00000000-0000-0000-0000-0000000000ff
1
$1,234.56
-$7.00
-$12.35
1111|
1010|1
0101|11110000
36|t|4
$11.50|$9.99|$30.00|$25.00|$3.33|$2.50|2.5
One million two hundred thirty four thousand five hundred sixty seven dollars and eighty nine cents|$2.00|$1.00|12.34|$5.00|$1.01
1000|1110|0110|0011|1010|0011|10011|00011111
5|5|2|101|6|1|0101|4|0001011100
0101|111111|10|10100|10|10|t
1|0/16AE807|0/16AE7E7|t
8|14|6|-13|8|-4|-32768|1|2|-6|3|integer
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:16: ERROR:  invalid input syntax for type uuid: "not-a-uuid"
psql:SCRIPT:17: ERROR:  duplicate key value violates unique constraint "acct_pkey"
DETAIL:  Key (id)=(a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11) already exists.
psql:SCRIPT:18: ERROR:  invalid input syntax for type money: "1.2.3"
psql:SCRIPT:19: ERROR:  value "92233720368547758.08" is out of range for type money
psql:SCRIPT:20: ERROR:  division by zero
psql:SCRIPT:21: ERROR:  money out of range
psql:SCRIPT:22: ERROR:  bit string length 3 does not match type bit(4)
psql:SCRIPT:23: ERROR:  bit string too long for type bit varying(8)
psql:SCRIPT:24: ERROR:  cannot AND bit strings of different sizes
psql:SCRIPT:25: ERROR:  "2" is not a valid binary digit
psql:SCRIPT:26: ERROR:  bit index 4 out of valid range (0..3)
psql:SCRIPT:27: ERROR:  invalid input syntax for type pg_lsn: "G/0"
psql:SCRIPT:28: ERROR:  pg_lsn out of range
"#;

#[test]
fn scalars_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "scalars.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// Binary send/recv through the postgres crate (extended protocol, binary
/// parameters and results).
#[test]
fn binary_round_trip_through_the_driver() {
    use postgres::types::{FromSql, IsNull, ToSql, Type};

    #[derive(Debug, PartialEq)]
    struct Raw(Vec<u8>);
    fn ours(t: &Type) -> bool {
        ["uuid", "money", "bit", "varbit", "pg_lsn"].contains(&t.name())
    }
    impl<'a> FromSql<'a> for Raw {
        fn from_sql(
            _: &Type,
            raw: &'a [u8],
        ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
            Ok(Raw(raw.to_vec()))
        }
        fn accepts(t: &Type) -> bool {
            ours(t)
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
            ours(t)
        }
        postgres::types::to_sql_checked!();
    }

    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let uuid: Vec<u8> = (0u8..16).map(|i| i * 17).collect();
    let money = (-123_456i64).to_be_bytes().to_vec();
    let bits = vec![0, 0, 0, 5, 0b1011_1000];
    let lsn = 0x16_B374_D848u64.to_be_bytes().to_vec();
    let row = c
        .query_one(
            "SELECT $1::uuid::text, $2::money::text, $3::varbit::text, $4::pg_lsn::text, \
                    $1::uuid, $2::money, $3::varbit, $4::pg_lsn",
            &[
                &Raw(uuid.clone()),
                &Raw(money.clone()),
                &Raw(bits.clone()),
                &Raw(lsn.clone()),
            ],
        )
        .expect("binary parameters");
    assert_eq!(
        row.get::<_, String>(0),
        "00112233-4455-6677-8899-aabbccddeeff"
    );
    assert_eq!(row.get::<_, String>(1), "-$1,234.56");
    assert_eq!(row.get::<_, String>(2), "10111");
    assert_eq!(row.get::<_, String>(3), "16/B374D848");
    assert_eq!(row.get::<_, Raw>(4), Raw(uuid.clone()));
    assert_eq!(row.get::<_, Raw>(5), Raw(money));
    assert_eq!(row.get::<_, Raw>(6), Raw(bits));
    assert_eq!(row.get::<_, Raw>(7), Raw(lsn));
    // A uuid column as the primary key, filled and looked up by binary
    // parameters, as ORMs do.
    c.batch_execute("CREATE TABLE items (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), n int)")
        .expect("create");
    c.execute("INSERT INTO items VALUES ($1, 1)", &[&Raw(uuid.clone())])
        .expect("insert");
    for i in 2..=50 {
        c.execute("INSERT INTO items (n) VALUES ($1)", &[&i])
            .expect("insert default");
    }
    let e = c
        .execute("INSERT INTO items VALUES ($1, 0)", &[&Raw(uuid.clone())])
        .expect_err("duplicate key");
    assert_eq!(e.code().map(|s| s.code()), Some("23505"), "{e}");
    let n: i32 = c
        .query_one("SELECT n FROM items WHERE id = $1", &[&Raw(uuid.clone())])
        .expect("lookup")
        .get(0);
    assert_eq!(n, 1);
    let distinct: i64 = c
        .query_one(
            "SELECT count(*) FROM (SELECT DISTINCT id FROM items) s",
            &[],
        )
        .expect("distinct")
        .get(0);
    assert_eq!(distinct, 50);
    // A short uuid is refused as uuid_recv refuses it.
    let e = c
        .query_one("SELECT $1::uuid", &[&Raw(vec![1, 2, 3])])
        .expect_err("short uuid");
    assert!(
        matches!(e.code().map(|s| s.code()), Some("08P01" | "22P03")),
        "{e}"
    );
}

/// The columns are stored in PostgreSQL's layouts (uuid 16 bytes, money
/// by value, VarBit) and read back, through their indexes too, after a
/// restart.
#[test]
fn scalar_columns_survive_restart() {
    let mut srv = TestServer::start(Opts::new());
    {
        let mut c = srv.connect();
        c.batch_execute(
            "CREATE TABLE keep (id uuid PRIMARY KEY, m money, b bit(3), v varbit(20), l pg_lsn);
             CREATE INDEX keep_v ON keep (v);
             CREATE INDEX keep_m ON keep (m);
             INSERT INTO keep VALUES
               ('00000000-0000-0000-0000-000000000002', '-92233720368547758.08', B'101', B'10101010101', '0/1'),
               ('00000000-0000-0000-0000-000000000001', '0.01', B'000', NULL, NULL);",
        )
        .expect("create and fill");
    }
    srv.stop_with(libc::SIGTERM);
    srv.start_postmaster();
    let out = srv.psql_c(
        Via::Unix,
        &[
            "SELECT id, m, b, v, l FROM keep ORDER BY id",
            "SELECT m FROM keep WHERE m = '0.01'",
            "SELECT id FROM keep WHERE v = B'10101010101'",
        ],
    );
    assert_eq!(
        out,
        "00000000-0000-0000-0000-000000000001|$0.01|000||\n\
         00000000-0000-0000-0000-000000000002|-$92,233,720,368,547,758.08|101|10101010101|0/1\n\
         $0.01\n\
         00000000-0000-0000-0000-000000000002\n"
    );
}
