//! Domains (CREATE/ALTER/DROP DOMAIN) as clients see them: one script run
//! by psql 15 against PostgreSQL 15 and against tusk prints the same rows,
//! errors, DETAILs and HINTs (casts to a domain and their column names,
//! typmods of the base type, NOT NULL and CHECK on INSERT, UPDATE and
//! defaults, domains over domains, ALTER DOMAIN's actions and their
//! validation of stored values, pg_type/pg_constraint rows, format_type,
//! DROP DOMAIN refused, IF EXISTS and CASCADE, a rolled-back CREATE DOMAIN
//! forgotten, arrays of a domain, ALTER TABLE ADD COLUMN of a domain,
//! pg_typeof of a cast, ALTER TYPE ... RENAME and DROP TYPE of a domain);
//! domain columns and their checks survive a restart; values of a domain
//! travel in binary as their base type's (RowDescription carries the base
//! type's OID); COPY FROM checks domains; a domain another session
//! created is seen by a running session.
//!
//! The expected output is PostgreSQL 15's for domains.sql (captured with
//! `psql -X -A -t -f`; the script path in stderr replaced by SCRIPT). Of
//! stderr, the `psql:`, DETAIL and HINT lines are compared.

use crate::util::{Opts, TestServer, Via};

const SCRIPT: &str = include_str!("domains.sql");

const PG_STDOUT: &str = r#"CREATE DOMAIN
CREATE DOMAIN
CREATE DOMAIN
CREATE DOMAIN
5|12|abcde
t
CREATE TABLE
INSERT 0 1
INSERT 0 1
1|bolt|10|a
2|anon|1|
UPDATE 2
3|bolt!|20
5|anon!|2
INSERT 0 1
ALTER DOMAIN
ALTER DOMAIN
ALTER DOMAIN
ALTER DOMAIN
CREATE TABLE
ALTER DOMAIN
DELETE 0
ALTER DOMAIN
ALTER DOMAIN
ALTER DOMAIN
INSERT 0 1
ALTER DOMAIN
INSERT 0 1
42

nodef|d|integer|-1|f||4|t|i|N
posint|d|integer|-1|f||4|t|i|N
shortname|d|character varying|9|t|'anon'::character varying|-1|f|i|S
small|d|posint|-1|f||4|t|i|N
_posint|posint
posint_check|c|posint|0|t|CHECK ((VALUE > 0))
id|posint
name|shortname
qty|small
note|text
shortname
DROP DOMAIN
ALTER DOMAIN
1
DROP TABLE
DROP DOMAIN
BEGIN
CREATE DOMAIN
x
ROLLBACK
DROP DOMAIN
anon|
anon|
bolt|a
DROP TABLE
DROP DOMAIN
CREATE DOMAIN
CREATE TABLE
INSERT 0 1
{42}
{1,2}|{3}
pd[]
CREATE DOMAIN
CREATE DOMAIN
CREATE DOMAIN
ALTER TABLE
{42}|bar
DROP TABLE
DROP DOMAIN
CREATE DOMAIN
ALTER DOMAIN
ALTER TYPE
testdomain3|testdomain3[]|integer
DROP TYPE
DROP TYPE
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:6: ERROR:  value for domain posint violates check constraint "posint_check"
psql:SCRIPT:7: ERROR:  value for domain small violates check constraint "posint_check"
psql:SCRIPT:8: ERROR:  value for domain small violates check constraint "small_max"
psql:SCRIPT:9: ERROR:  domain shortname does not allow null values
psql:SCRIPT:14: ERROR:  value too long for type character varying(5)
psql:SCRIPT:15: ERROR:  value for domain posint violates check constraint "posint_check"
psql:SCRIPT:16: ERROR:  domain shortname does not allow null values
psql:SCRIPT:17: ERROR:  value for domain small violates check constraint "small_max"
psql:SCRIPT:19: ERROR:  value for domain small violates check constraint "small_max"
psql:SCRIPT:22: ERROR:  column "qty" of table "item" contains values that violate the new constraint
psql:SCRIPT:23: ERROR:  column "qty" of table "item" contains values that violate the new constraint
psql:SCRIPT:26: ERROR:  value for domain posint violates check constraint "later"
psql:SCRIPT:28: ERROR:  constraint "later" of domain "posint" does not exist
psql:SCRIPT:29: NOTICE:  constraint "later" of domain "posint" does not exist, skipping
psql:SCRIPT:30: ERROR:  constraint "under_ten" for domain posint does not exist
psql:SCRIPT:33: ERROR:  domain nodef does not allow null values
psql:SCRIPT:37: ERROR:  domain nodef does not allow null values
psql:SCRIPT:52: ERROR:  type "posint" already exists
psql:SCRIPT:53: ERROR:  type "nosuchtype" does not exist
psql:SCRIPT:54: ERROR:  argument of CHECK must be type boolean, not type integer
psql:SCRIPT:55: ERROR:  conflicting NULL/NOT NULL constraints
psql:SCRIPT:56: ERROR:  multiple default expressions
psql:SCRIPT:57: ERROR:  unique constraints not possible for domains
psql:SCRIPT:58: ERROR:  invalid input syntax for type integer: "x"
psql:SCRIPT:59: ERROR:  type "nosuch" does not exist
psql:SCRIPT:60: ERROR:  item is not a domain
psql:SCRIPT:61: ERROR:  cannot drop type posint because other objects depend on it
DETAIL:  type small depends on type posint
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:62: ERROR:  type "nosuch" does not exist
psql:SCRIPT:63: NOTICE:  type "nosuch" does not exist, skipping
psql:SCRIPT:72: ERROR:  type "tmpd" does not exist
psql:SCRIPT:73: NOTICE:  drop cascades to 3 other objects
DETAIL:  drop cascades to type small
psql:SCRIPT:80: ERROR:  value for domain pd violates check constraint "pd_check"
psql:SCRIPT:81: ERROR:  value for domain pd violates check constraint "pd_check"
psql:SCRIPT:84: ERROR:  value for domain pd violates check constraint "pd_check"
psql:SCRIPT:86: ERROR:  cannot alter type "pd" because column "pit.f" uses it
psql:SCRIPT:88: ERROR:  domain str_domain does not allow null values
psql:SCRIPT:90: ERROR:  value for domain str_domain2 violates check constraint "str_domain2_check"
psql:SCRIPT:101: NOTICE:  type "testdomain3" does not exist, skipping
"#;

#[test]
fn domain_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "domains.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    assert_eq!(
        crate::util::error_lines(&errs),
        PG_STDERR,
        "stderr: {}",
        r.describe()
    );
}

/// Domain columns, their defaults and checks are read back from the
/// catalog by a fresh server: the values, and the constraints still
/// enforced (PostgreSQL's messages and SQLSTATEs).
#[test]
fn domains_survive_restart() {
    let mut srv = TestServer::start(Opts::new());
    srv.psql_c(
        Via::Unix,
        &[
            "CREATE DOMAIN pct AS numeric(5,2) DEFAULT 0 CHECK (VALUE BETWEEN 0 AND 100)",
            "CREATE DOMAIN tag AS text NOT NULL CONSTRAINT lower_only CHECK (VALUE = lower(VALUE))",
            "CREATE TABLE score (t tag, p pct)",
            "INSERT INTO score VALUES ('a', 12.345), ('b', DEFAULT)",
        ],
    );
    srv.stop_with(libc::SIGTERM);
    srv.start_postmaster();
    let out = srv.psql_c(Via::Unix, &["SELECT t, p FROM score ORDER BY t"]);
    assert_eq!(out, "a|12.35\nb|0.00\n");
    let mut c = srv.connect();
    let e = c
        .execute("INSERT INTO score VALUES ('C', 1)", &[])
        .expect_err("upper case refused");
    let db = e.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "23514");
    assert_eq!(
        db.message(),
        "value for domain tag violates check constraint \"lower_only\""
    );
    let e = c
        .execute("UPDATE score SET p = 101", &[])
        .expect_err("over 100 refused");
    assert_eq!(
        e.as_db_error().expect("a server error").message(),
        "value for domain pct violates check constraint \"pct_check\""
    );
    let e = c
        .execute("INSERT INTO score (p) VALUES (1)", &[])
        .expect_err("NULL tag refused");
    let db = e.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "23502");
    assert_eq!(db.message(), "domain tag does not allow null values");
}

/// Through the postgres crate (extended protocol, binary format): a
/// domain column is described with its base type's OID, as PostgreSQL
/// describes it, so drivers read and bind it as that type; parameters
/// cast to the domain are checked; COPY FROM checks the domain too.
#[test]
fn domain_values_travel_as_their_base_type() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    c.batch_execute(
        "CREATE DOMAIN posint AS int4 CHECK (VALUE > 0); \
         CREATE DOMAIN code AS varchar(3); \
         CREATE TABLE t (id posint, c code)",
    )
    .expect("setup");
    let stmt = c.prepare("SELECT id, c FROM t").expect("prepare");
    assert_eq!(stmt.columns()[0].type_(), &postgres::types::Type::INT4);
    assert_eq!(stmt.columns()[1].type_(), &postgres::types::Type::VARCHAR);
    c.execute("INSERT INTO t VALUES ($1, $2)", &[&7i32, &"abc"])
        .expect("binary insert");
    let e = c
        .execute("INSERT INTO t VALUES ($1, $2)", &[&-7i32, &"abc"])
        .expect_err("negative refused");
    assert_eq!(e.code().map(|s| s.code()), Some("23514"));
    let row = c
        .query_one("SELECT $1::posint + 1, id FROM t", &[&41i32])
        .expect("binary parameter cast to the domain");
    assert_eq!((row.get::<_, i32>(0), row.get::<_, i32>(1)), (42, 7));
    let e = c
        .query_one("SELECT $1::posint", &[&0i32])
        .expect_err("zero refused");
    assert_eq!(e.code().map(|s| s.code()), Some("23514"));
    let mut w = c.copy_in("COPY t (id, c) FROM STDIN").expect("copy in");
    std::io::Write::write_all(&mut w, b"8\txy\n0\tz\n").expect("copy data");
    let e = w.finish().expect_err("zero refused by COPY");
    let db = e.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "23514");
    assert_eq!(
        db.message(),
        "value for domain posint violates check constraint \"posint_check\""
    );
    let n: i64 = c
        .query_one("SELECT count(*) FROM t", &[])
        .expect("count")
        .get(0);
    assert_eq!(n, 1);
}

/// A session that started before another one created a domain (or
/// added a constraint to it) enforces it at its next statement.
#[test]
fn domain_changes_of_other_sessions_are_seen() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    a.batch_execute("SELECT 1").expect("first statement");
    srv.psql_c(
        Via::Unix,
        &["CREATE DOMAIN even AS int8 CHECK (VALUE % 2 = 0)"],
    );
    let n: i64 = a
        .query_one("SELECT 4::even", &[])
        .expect("domain seen")
        .get(0);
    assert_eq!(n, 4);
    srv.psql_c(
        Via::Unix,
        &["ALTER DOMAIN even ADD CONSTRAINT small CHECK (VALUE < 10)"],
    );
    let e = a
        .query_one("SELECT 12::even", &[])
        .expect_err("new constraint seen");
    assert_eq!(
        e.as_db_error().expect("a server error").message(),
        "value for domain even violates check constraint \"small\""
    );
}
