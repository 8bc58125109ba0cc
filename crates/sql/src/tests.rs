//! End-to-end tests of parse -> prepare -> execute against a fake host.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use tusk_common::PgError;

use crate::types::*;
use crate::*;

/// A host that records what statements asked of it.
struct FakeHost {
    settings: BTreeMap<String, String>,
    log: Vec<String>,
    activity: Vec<ActivityRow>,
    in_block: bool,
    failed: bool,
    interrupts: usize,
    identity: SessionIdentity,
}

impl FakeHost {
    fn new() -> FakeHost {
        let mut settings = BTreeMap::new();
        settings.insert("search_path".to_string(), "\"$user\", public".to_string());
        settings.insert("datestyle".to_string(), "ISO, MDY".to_string());
        settings.insert("jit".to_string(), "off".to_string());
        let row = |pid: i32, app: &str, state: Option<&str>, query: &str, ty: &str, start: i64| {
            ActivityRow {
                pid,
                datname: if ty == "client backend" {
                    Some("postgres".into())
                } else {
                    None
                },
                usename: if ty == "client backend" {
                    Some("alice".into())
                } else {
                    None
                },
                application_name: app.into(),
                client_addr: if ty == "client backend" {
                    Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
                } else {
                    None
                },
                client_port: if ty == "client backend" {
                    Some(50000 + pid)
                } else {
                    None
                },
                backend_start: Some(start),
                xact_start: None,
                query_start: state.map(|_| start + 1),
                state: state.map(str::to_string),
                query: query.into(),
                wait_event_type: None,
                wait_event: None,
                backend_type: ty.into(),
            }
        };
        FakeHost {
            settings,
            log: Vec::new(),
            activity: vec![
                row(
                    300,
                    "psql",
                    Some("active"),
                    "SELECT 1",
                    "client backend",
                    3_000_000,
                ),
                row(100, "", None, "", "checkpointer", 1_000_000),
                row(
                    200,
                    "pgbench",
                    Some("idle"),
                    "COMMIT",
                    "client backend",
                    2_000_000,
                ),
                row(400, "", None, "", "background writer", 1_000_000),
            ],
            in_block: false,
            identity: SessionIdentity {
                backend_pid: 4242,
                database: "postgres".into(),
                user: "alice".into(),
                session_user: "alice".into(),
                is_superuser: true,
            },
            failed: false,
            interrupts: 0,
        }
    }
}

fn unknown_setting(name: &str) -> PgError {
    PgError::error(
        tusk_common::sqlstate::UNDEFINED_OBJECT,
        format!("unrecognized configuration parameter \"{name}\""),
    )
}

impl Host for FakeHost {
    fn show(&self, name: &str) -> Result<String, PgError> {
        self.settings
            .get(&name.to_lowercase())
            .cloned()
            .ok_or_else(|| unknown_setting(name))
    }
    fn show_all(&self) -> Vec<(String, String, String)> {
        self.settings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone(), format!("about {k}")))
            .collect()
    }
    fn set(&mut self, name: &str, value: Option<&str>, local: bool) -> Result<(), PgError> {
        self.log.push(format!("set {name}={value:?} local={local}"));
        match value {
            Some(v) => self.settings.insert(name.to_lowercase(), v.to_string()),
            None => self.settings.remove(&name.to_lowercase()),
        };
        Ok(())
    }
    fn reset(&mut self, name: Option<&str>) -> Result<(), PgError> {
        self.log.push(format!("reset {name:?}"));
        Ok(())
    }
    fn current_setting(&self, name: &str, missing_ok: bool) -> Result<Option<String>, PgError> {
        match self.settings.get(&name.to_lowercase()) {
            Some(v) => Ok(Some(v.clone())),
            None if missing_ok => Ok(None),
            None => Err(unknown_setting(name)),
        }
    }
    fn set_config(&mut self, name: &str, value: &str, is_local: bool) -> Result<String, PgError> {
        self.log
            .push(format!("set_config {name}={value} local={is_local}"));
        self.settings.insert(name.to_lowercase(), value.to_string());
        Ok(value.to_string())
    }
    fn transactions(&mut self) -> &mut dyn TransactionControl {
        self
    }
    fn identity(&self) -> &SessionIdentity {
        &self.identity
    }
    fn sleep(&mut self, seconds: f64) -> Result<(), PgError> {
        self.log.push(format!("sleep {seconds}"));
        Ok(())
    }
    fn terminate_backend(&mut self, pid: i32, timeout_ms: i64) -> Result<bool, PgError> {
        self.log.push(format!("terminate {pid} {timeout_ms}"));
        Ok(pid == 200)
    }
    fn cancel_backend(&mut self, pid: i32) -> Result<bool, PgError> {
        self.log.push(format!("cancel {pid}"));
        Ok(pid == 200)
    }
    fn check_interrupts(&mut self) -> Result<(), PgError> {
        self.interrupts += 1;
        Ok(())
    }
    fn notice(&mut self, n: PgError) {
        self.log.push(format!("notice {}", n.message));
    }
    fn now(&self) -> i64 {
        // 2026-11-22 01:30:55.123456+00
        848_626_255_123_456
    }
}

/// The fake's transaction block: a flag, and a log line per call.
impl TransactionControl for FakeHost {
    fn begin(&mut self) -> Result<Option<PgError>, PgError> {
        self.log.push("begin".into());
        self.in_block = true;
        Ok(None)
    }
    fn commit(&mut self) -> Result<(bool, Option<PgError>), PgError> {
        self.log.push("commit".into());
        self.in_block = false;
        Ok((!std::mem::take(&mut self.failed), None))
    }
    fn rollback(&mut self) -> Result<Option<PgError>, PgError> {
        self.log.push("rollback".into());
        self.in_block = false;
        Ok(None)
    }
}

/// The server's views as the fake host's proc array shows them.
struct FakeRelations(Vec<ActivityRow>);

impl Relations for FakeRelations {
    fn open_scan(&self, rel: &catalog::Relation) -> Result<Box<dyn RowSource>, PgError> {
        match rel.source {
            catalog::RelationSource::SystemView(catalog::SystemView::StatActivity) => {
                Ok(Box::new(catalog::ActivityScan::new(self.0.clone())))
            }
            catalog::RelationSource::SystemView(
                catalog::SystemView::StatBgWriter
                | catalog::SystemView::Locks
                | catalog::SystemView::Role(_)
                | catalog::SystemView::StatSsl
                | catalog::SystemView::StatUserTables
                | catalog::SystemView::Settings
                | catalog::SystemView::PreparedStatements
                | catalog::SystemView::Cursors,
            ) => Ok(Box::new(catalog::RowsScan::new(vec![]))),
            catalog::RelationSource::Table(_) | catalog::RelationSource::View(_) => {
                Err(PgError::error(
                    tusk_common::sqlstate::FEATURE_NOT_SUPPORTED,
                    "the fake host has no tables",
                ))
            }
        }
    }
}

/// Columns, text rows and tag of one statement.
type Ran = Result<(Vec<Column>, Vec<Vec<Option<String>>>, String), PgError>;

/// Run one statement with parameters; text rows.
fn run_with(host: &mut FakeHost, sql: &str, declared: &[Oid], params: &[Value]) -> Ran {
    let stmts = parse(sql)?;
    assert_eq!(stmts.len(), 1, "{sql}");
    let p = prepare(&stmts[0], declared, host)?;
    let rels = FakeRelations(host.activity.clone());
    let out = execute(&p, params, host, &rels)?;
    let rows = out
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| encode_text(v).map(|b| String::from_utf8(b).unwrap()))
                .collect()
        })
        .collect();
    Ok((p.columns().to_vec(), rows, out.tag))
}

fn run(host: &mut FakeHost, sql: &str) -> Ran {
    run_with(host, sql, &[], &[])
}

fn err(sql: &str) -> PgError {
    let mut h = FakeHost::new();
    match run(&mut h, sql) {
        Ok(r) => panic!("{sql}: expected an error, got {r:?}"),
        Err(e) => e,
    }
}

#[test]
fn expressions_and_casts() {
    // (sql, text value, column name, type)
    let cases: &[(&str, Option<&str>, &str, Oid)] = &[
        ("SELECT 1", Some("1"), "?column?", INT4),
        ("SELECT 1 ISNULL", Some("f"), "?column?", BOOL),
        ("SELECT NULL::int notnull", Some("f"), "?column?", BOOL),
        ("SELECT 1 + 2 * 3", Some("7"), "?column?", INT4),
        ("SELECT 7 / 2", Some("3"), "?column?", INT4),
        ("SELECT -7 / 2", Some("-3"), "?column?", INT4),
        ("SELECT 7 % 3", Some("1"), "?column?", INT4),
        ("SELECT 2 ^ 10", Some("1024"), "?column?", FLOAT8),
        (
            "SELECT 1.5 ^ 2",
            Some("2.2500000000000000"),
            "?column?",
            NUMERIC,
        ),
        ("SELECT 2147483648", Some("2147483648"), "?column?", INT8),
        ("SELECT -2147483648", Some("-2147483648"), "?column?", INT4),
        (
            "SELECT 9223372036854775808",
            Some("9223372036854775808"),
            "?column?",
            NUMERIC,
        ),
        ("SELECT 1 + -1744", Some("-1743"), "?column?", INT4),
        ("SELECT 1.5", Some("1.5"), "?column?", NUMERIC),
        ("SELECT 1.5 + 1", Some("2.5"), "?column?", NUMERIC),
        (
            "SELECT 10 / 4.0",
            Some("2.5000000000000000"),
            "?column?",
            NUMERIC,
        ),
        (
            "SELECT 1 / 3.0",
            Some("0.33333333333333333333"),
            "?column?",
            NUMERIC,
        ),
        (
            "SELECT 1::float8 / 3",
            Some("0.3333333333333333"),
            "?column?",
            FLOAT8,
        ),
        (
            "SELECT 0.1::float8 + 0.2::float8",
            Some("0.30000000000000004"),
            "?column?",
            FLOAT8,
        ),
        (
            "SELECT 1e300::float8 * 10",
            Some("1e+301"),
            "?column?",
            FLOAT8,
        ),
        ("SELECT 2::int2 + 3::int2", Some("5"), "?column?", INT2),
        ("SELECT 2::int2 + 3", Some("5"), "?column?", INT4),
        ("SELECT 2::int8 * 3", Some("6"), "?column?", INT8),
        ("SELECT 1.5::float4 + 1", Some("2.5"), "?column?", FLOAT8),
        ("SELECT 'a' || 'b'", Some("ab"), "?column?", TEXT),
        ("SELECT 'a' || NULL", None, "?column?", TEXT),
        ("SELECT 1 || 'x'", Some("1x"), "?column?", TEXT),
        ("SELECT true || 'x'", Some("tx"), "?column?", TEXT),
        ("SELECT E'a\\tb'", Some("a\tb"), "?column?", TEXT),
        ("SELECT 'x'", Some("x"), "?column?", TEXT),
        ("SELECT NULL", None, "?column?", TEXT),
        ("SELECT TRUE, FALSE", Some("t"), "bool", BOOL),
        ("SELECT 1 = 1", Some("t"), "?column?", BOOL),
        ("SELECT 1 <> 1", Some("f"), "?column?", BOOL),
        ("SELECT 1 != 2", Some("t"), "?column?", BOOL),
        ("SELECT 1 < 1.5", Some("t"), "?column?", BOOL),
        ("SELECT 'abc' < 'abd'", Some("t"), "?column?", BOOL),
        ("SELECT 1 = NULL", None, "?column?", BOOL),
        ("SELECT NOT (1 > 2)", Some("t"), "?column?", BOOL),
        ("SELECT true AND NULL", None, "?column?", BOOL),
        ("SELECT false AND NULL", Some("f"), "?column?", BOOL),
        ("SELECT true OR NULL", Some("t"), "?column?", BOOL),
        ("SELECT NULL IS NULL", Some("t"), "?column?", BOOL),
        ("SELECT 1 IS NOT NULL", Some("t"), "?column?", BOOL),
        ("SELECT NULL IS TRUE", Some("f"), "?column?", BOOL),
        (
            "SELECT NULL::bool IS NOT FALSE",
            Some("t"),
            "?column?",
            BOOL,
        ),
        (
            "SELECT 1 IS DISTINCT FROM NULL",
            Some("t"),
            "?column?",
            BOOL,
        ),
        ("SELECT 2 BETWEEN 1 AND 3", Some("t"), "?column?", BOOL),
        ("SELECT 2 IN (1, 2)", Some("t"), "?column?", BOOL),
        ("SELECT 3 NOT IN (1, NULL)", None, "?column?", BOOL),
        ("SELECT 1::text", Some("1"), "text", TEXT),
        ("SELECT CAST(2 AS int8)", Some("2"), "int8", INT8),
        ("SELECT 1::integer", Some("1"), "int4", INT4),
        ("SELECT '12'::int2", Some("12"), "int2", INT2),
        ("SELECT '1.5'::real", Some("1.5"), "float4", FLOAT4),
        ("SELECT 2::double precision", Some("2"), "float8", FLOAT8),
        (
            "SELECT '3.14159'::numeric(5,2)",
            Some("3.14"),
            "numeric",
            NUMERIC,
        ),
        ("SELECT 2.5::int", Some("3"), "int4", INT4),
        ("SELECT 2.5::float8::int", Some("2"), "int4", INT4),
        ("SELECT 'yes'::bool", Some("t"), "bool", BOOL),
        ("SELECT true::text", Some("true"), "text", TEXT),
        ("SELECT 1::bool", Some("t"), "bool", BOOL),
        (
            "SELECT 'abcdef'::varchar(3)",
            Some("abc"),
            "varchar",
            VARCHAR,
        ),
        ("SELECT 'ab'::char(4)", Some("ab  "), "bpchar", BPCHAR),
        ("SELECT 'pg'::name", Some("pg"), "name", NAME),
        ("SELECT 42::oid", Some("42"), "oid", OID),
        (
            "SELECT '2024-01-01 00:00:00+00'::timestamptz",
            Some("2024-01-01 00:00:00+00"),
            "timestamptz",
            TIMESTAMPTZ,
        ),
        (
            "SELECT '2024-01-01 02:00:00+02'::timestamptz::text",
            Some("2024-01-01 00:00:00+00"),
            "text",
            TEXT,
        ),
        (
            "SELECT '2024-06-30'::date",
            Some("2024-06-30"),
            "date",
            DATE,
        ),
        ("SELECT 1e3::float8", Some("1000"), "float8", FLOAT8),
        ("SELECT 'NaN'::float8", Some("NaN"), "float8", FLOAT8),
        ("SELECT '\\x00ff'::bytea", Some("\\x00ff"), "bytea", BYTEA),
        ("SELECT int4 '5'", Some("5"), "int4", INT4),
        (
            "SELECT CASE WHEN 1 = 1 THEN 'a' ELSE 'b' END",
            Some("a"),
            "case",
            TEXT,
        ),
        (
            "SELECT CASE 2 WHEN 1 THEN 'one' WHEN 2 THEN 'two' END",
            Some("two"),
            "case",
            TEXT,
        ),
        ("SELECT CASE WHEN false THEN 1 END", None, "case", INT4),
        (
            "SELECT CASE WHEN true THEN 1 ELSE 2.5 END",
            Some("1"),
            "case",
            NUMERIC,
        ),
        ("SELECT COALESCE(NULL, 2, 3)", Some("2"), "coalesce", INT4),
        ("SELECT COALESCE(NULL, 'x')", Some("x"), "coalesce", TEXT),
        ("SELECT NULLIF(1, 1)", None, "nullif", INT4),
        ("SELECT NULLIF(1, 2)", Some("1"), "nullif", INT4),
        ("SELECT GREATEST(1, 5, 3)", Some("5"), "greatest", INT4),
        ("SELECT LEAST(2, NULL, 1.5)", Some("1.5"), "least", NUMERIC),
        ("SELECT (1 + 2) * 3 AS x", Some("9"), "x", INT4),
        ("SELECT 1 AS \"Foo\"", Some("1"), "Foo", INT4),
        ("SELECT 1 Foo", Some("1"), "foo", INT4),
        ("SELECT upper('abc')", Some("ABC"), "upper", TEXT),
        ("SELECT lower('ÀB')", Some("àb"), "lower", TEXT),
        ("SELECT length('héllo')", Some("5"), "length", INT4),
        ("SELECT abs(-5)", Some("5"), "abs", INT4),
        ("SELECT abs(-5.5)", Some("5.5"), "abs", NUMERIC),
        ("SELECT round(2.5)", Some("3"), "round", NUMERIC),
        ("SELECT round(2.5::float8)", Some("2"), "round", FLOAT8),
        ("SELECT round(3.14159, 2)", Some("3.14"), "round", NUMERIC),
        (
            "SELECT concat('a', 1, NULL, true)",
            Some("a1t"),
            "concat",
            TEXT,
        ),
        ("SELECT repeat('ab', 3)", Some("ababab"), "repeat", TEXT),
        ("SELECT substr('hello', 2, 3)", Some("ell"), "substr", TEXT),
        (
            "SELECT substring('hello' from 2 for 2)",
            Some("el"),
            "substring",
            TEXT,
        ),
        (
            "SELECT substring('hello', 3)",
            Some("llo"),
            "substring",
            TEXT,
        ),
        (
            "SELECT version() LIKE 'PostgreSQL 15.0 (tusk %'",
            Some("t"),
            "?column?",
            BOOL,
        ),
        ("SELECT 'Hello' NOT LIKE 'h%'", Some("t"), "?column?", BOOL),
        ("SELECT 'Hello' ILIKE 'h%'", Some("t"), "?column?", BOOL),
        (
            "SELECT 'a_c' LIKE 'a!_c' ESCAPE '!'",
            Some("t"),
            "?column?",
            BOOL,
        ),
        ("SELECT NULL LIKE 'a'", None, "?column?", BOOL),
        (
            "SELECT pg_advisory_unlock_all()",
            Some(""),
            "pg_advisory_unlock_all",
            VOID,
        ),
        (
            "SELECT pg_backend_pid()",
            Some("4242"),
            "pg_backend_pid",
            INT4,
        ),
        (
            "SELECT current_database()",
            Some("postgres"),
            "current_database",
            NAME,
        ),
        ("SELECT current_user", Some("alice"), "current_user", NAME),
        ("SELECT session_user", Some("alice"), "session_user", NAME),
        ("SELECT user", Some("alice"), "user", NAME),
        (
            "SELECT current_schema()",
            Some("public"),
            "current_schema",
            NAME,
        ),
        (
            "SELECT current_schema",
            Some("public"),
            "current_schema",
            NAME,
        ),
        (
            "SELECT now()",
            Some("2026-11-22 01:30:55.123456+00"),
            "now",
            TIMESTAMPTZ,
        ),
        (
            "SELECT CURRENT_TIMESTAMP",
            Some("2026-11-22 01:30:55.123456+00"),
            "current_timestamp",
            TIMESTAMPTZ,
        ),
        (
            "SELECT transaction_timestamp()",
            Some("2026-11-22 01:30:55.123456+00"),
            "transaction_timestamp",
            TIMESTAMPTZ,
        ),
        (
            "SELECT current_setting('jit')",
            Some("off"),
            "current_setting",
            TEXT,
        ),
        (
            "SELECT current_setting('nope', true)",
            None,
            "current_setting",
            TEXT,
        ),
        ("SELECT pg_sleep(0.5)", Some(""), "pg_sleep", VOID),
        (
            "SELECT pg_terminate_backend(200)",
            Some("t"),
            "pg_terminate_backend",
            BOOL,
        ),
        (
            "SELECT pg_cancel_backend(999)",
            Some("f"),
            "pg_cancel_backend",
            BOOL,
        ),
        (
            "SELECT pg_catalog.now()::date",
            Some("2026-11-22"),
            "now",
            DATE,
        ),
        ("SELECT 1 WHERE false", None, "", 0),
    ];
    for (sql, want, name, ty) in cases {
        let mut h = FakeHost::new();
        let (cols, rows, tag) = run(&mut h, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        if sql.ends_with("WHERE false") {
            assert_eq!(tag, "SELECT 0");
            assert!(rows.is_empty());
            continue;
        }
        assert_eq!(tag, "SELECT 1", "{sql}");
        assert_eq!(rows[0][0].as_deref(), *want, "{sql}");
        assert_eq!(cols[0].name, *name, "{sql}");
        assert_eq!(cols[0].type_oid, *ty, "{sql}");
        assert_eq!(cols[0].type_len, typlen(*ty), "{sql}");
    }
}

#[test]
fn type_modifiers_in_row_description() {
    let mut h = FakeHost::new();
    let (cols, _, _) = run(
        &mut h,
        "SELECT 'x'::varchar(10), 1::numeric(10,2), 'y'::text",
    )
    .unwrap();
    assert_eq!(cols[0].type_mod, 14);
    assert_eq!(cols[1].type_mod, (10 << 16 | 2) + 4);
    assert_eq!(cols[2].type_mod, -1);
}

#[test]
fn version_string() {
    let mut h = FakeHost::new();
    let (_, rows, _) = run(&mut h, "SELECT version()").unwrap();
    assert_eq!(
        rows[0][0].as_deref(),
        Some(
            format!(
                "PostgreSQL 15.0 (tusk {}) on x86_64-pc-linux-gnu, compiled by rustc, 64-bit",
                env!("CARGO_PKG_VERSION")
            )
            .as_str()
        )
    );
}

#[test]
fn host_side_effects() {
    let mut h = FakeHost::new();
    run(&mut h, "SELECT pg_sleep(1.5)").unwrap();
    run(&mut h, "SELECT set_config('application_name', 'x', false)").unwrap();
    run(&mut h, "SELECT pg_terminate_backend(200, 1000)").unwrap();
    assert_eq!(
        h.log,
        vec![
            "sleep 1.5",
            "set_config application_name=x local=false",
            "terminate 200 1000"
        ]
    );
    assert_eq!(err("SELECT pg_terminate_backend(200, -1)").code, "22003");
}

fn params_of(sql: &str, declared: &[Oid]) -> Vec<Oid> {
    let h = FakeHost::new();
    let s = parse(sql).unwrap();
    prepare(&s[0], declared, &h)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .param_types()
        .to_vec()
}

#[test]
fn parameter_type_inference() {
    assert_eq!(params_of("SELECT $1::int4", &[]), vec![INT4]);
    assert_eq!(params_of("SELECT $1::int", &[0]), vec![INT4]);
    assert_eq!(params_of("SELECT $1 + 1", &[]), vec![INT4]);
    assert_eq!(params_of("SELECT 1 = $1", &[]), vec![INT4]);
    assert_eq!(params_of("SELECT $1", &[]), vec![TEXT]);
    assert_eq!(params_of("SELECT $1, $1 + 1", &[]), vec![INT4]);
    assert_eq!(params_of("SELECT $1 || 'x'", &[]), vec![TEXT]);
    assert_eq!(
        params_of("SELECT $3::numeric, $1, $2 = 1.5", &[]),
        vec![TEXT, NUMERIC, NUMERIC]
    );
    assert_eq!(params_of("SELECT pg_sleep($1)", &[]), vec![FLOAT8]);
    assert_eq!(params_of("SELECT current_setting($1)", &[]), vec![TEXT]);
    assert_eq!(params_of("SELECT 1 LIMIT $1", &[]), vec![INT8]);
    assert_eq!(params_of("SELECT CASE WHEN $1 THEN 1 END", &[]), vec![BOOL]);
    assert_eq!(
        params_of("SELECT pid FROM pg_stat_activity WHERE pid = $1", &[]),
        vec![INT4]
    );
    // Declared types are kept; int2 for an int4 context widens at execution.
    assert_eq!(params_of("SELECT $1 + 1", &[INT2]), vec![INT2]);
    assert_eq!(params_of("SELECT $1", &[VARCHAR]), vec![VARCHAR]);
    assert_eq!(params_of("SELECT 26::oid = $1", &[INT8]), vec![INT8]);
}

#[test]
fn parameters_at_execution() {
    let mut h = FakeHost::new();
    let (_, rows, _) = run_with(
        &mut h,
        "SELECT $1 + 1, $2 || '!'",
        &[INT2],
        &[Value::Int2(41), Value::Text("hi".into())],
    )
    .unwrap();
    assert_eq!(rows[0], vec![Some("42".into()), Some("hi!".into())]);
    let (_, rows, _) =
        run_with(&mut h, "SELECT $1 + 1", &[INT2], &[Value::Int2(i16::MAX)]).unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("32768"));
    let (_, rows, _) = run_with(
        &mut h,
        "SELECT $1::numeric * 2",
        &[],
        &[Value::Numeric(Numeric::parse("1.25").unwrap())],
    )
    .unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("2.50"));
    let (_, rows, _) = run_with(&mut h, "SELECT 1 LIMIT $1", &[], &[Value::Int8(0)]).unwrap();
    assert!(rows.is_empty());
    let e = run_with(&mut h, "SELECT $1 + 1", &[], &[]).unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("42P02", "there is no parameter $1")
    );
}

#[test]
fn error_sqlstates() {
    let cases: &[(&str, &str, &str)] = &[
        ("SELEC 1", "42601", "syntax error at or near \"SELEC\""),
        ("SELECT 1/0", "22012", "division by zero"),
        ("SELECT 1.0/0", "22012", "division by zero"),
        ("SELECT 1::float8/0", "22012", "division by zero"),
        ("SELECT 5 % 0", "22012", "division by zero"),
        ("SELECT 2147483647 + 1", "22003", "integer out of range"),
        ("SELECT 9223372036854775807 + 1", "22003", "bigint out of range"),
        ("SELECT 32767::int2 + 1::int2", "22003", "smallint out of range"),
        ("SELECT -(-2147483648)", "22003", "integer out of range"),
        ("SELECT abs(-2147483648)", "22003", "integer out of range"),
        ("SELECT 3000000000::int4", "22003", "integer out of range"),
        ("SELECT 'abc'::int", "22P02", "invalid input syntax for type integer: \"abc\""),
        ("SELECT 1 + 'a'", "22P02", "invalid input syntax for type integer: \"a\""),
        ("SELECT 'x'::bool", "22P02", "invalid input syntax for type boolean: \"x\""),
        ("SELECT '99999'::int2", "22003", "value \"99999\" is out of range for type smallint"),
        ("SELECT 'soon'::timestamptz", "22007", "invalid input syntax for type timestamp with time zone: \"soon\""),
        ("SELECT 12345.6::numeric(5,2)", "22003", "numeric field overflow"),
        ("SELECT 1e308::float8 * 10", "22003", "value out of range: overflow"),
        ("SELECT * FROM nosuch", "42P01", "relation \"nosuch\" does not exist"),
        ("SELECT * FROM public.pg_stat_activity", "42P01", "relation \"public.pg_stat_activity\" does not exist"),
        ("INSERT INTO t VALUES (1)", "42P01", "relation \"t\" does not exist"),
        ("UPDATE t SET a = 1", "42P01", "relation \"t\" does not exist"),
        ("SELECT foo(1)", "42883", "function foo(integer) does not exist"),
        ("SELECT upper(1)", "42883", "function upper(integer) does not exist"),
        ("SELECT 'a'::text + 1", "42883", "operator does not exist: text + integer"),
        ("SELECT 1 || 2", "42883", "operator does not exist: integer || integer"),
        ("SELECT 1 LIKE 'a'", "42883", "operator does not exist: integer ~~ text"),
        ("SELECT 'a' LIKE 'a\\'", "22025", "LIKE pattern must not end with escape character"),
        ("SELECT 1.5::float8 % 2", "42883", "operator does not exist: double precision % integer"),
        ("SELECT '1' + '2'", "42725", "operator is not unique: unknown + unknown"),
        ("SELECT nosuch", "42703", "column \"nosuch\" does not exist"),
        ("SELECT nosuch FROM pg_stat_activity", "42703", "column \"nosuch\" does not exist"),
        ("SELECT x.pid FROM pg_stat_activity", "42P01", "missing FROM-clause entry for table \"x\""),
        ("SELECT 1 AND true", "42804", "argument of AND must be type boolean, not type integer"),
        ("SELECT 1 FROM pg_stat_activity WHERE 1", "42804", "argument of WHERE must be type boolean, not type integer"),
        ("SELECT CASE WHEN true THEN 1 ELSE 'a'::text END", "42804", "CASE types integer and text cannot be matched"),
        ("SELECT now() + now()", "42883", "operator does not exist: timestamp with time zone + timestamp with time zone"),
        ("SELECT 1::timestamptz", "42846", "cannot cast type integer to timestamp with time zone"),
        ("SELECT 1::nosuchtype", "42704", "type \"nosuchtype\" does not exist"),
        ("SELECT '{'::jsonb", "22P02", "invalid input syntax for type json"),
        ("SELECT '{}'::json ? 'a'", "42883", "operator does not exist: json ? unknown"),
        ("SELECT pid, count(*) FROM pg_stat_activity", "42803", "column \"pg_stat_activity.pid\" must appear in the GROUP BY clause or be used in an aggregate function"),
        ("SELECT 1 FROM pg_stat_activity WHERE count(*) > 1", "42803", "aggregate functions are not allowed in WHERE"),
        ("SELECT *", "42601", "SELECT * with no tables specified is not valid"),
        ("SELECT 1 ORDER BY 2", "42P10", "ORDER BY position 2 is not in select list"),
        ("SELECT 1 LIMIT -1", "2201W", "LIMIT must not be negative"),
        ("SELECT 1 OFFSET -1", "2201X", "OFFSET must not be negative"),
        ("SELECT mode() FROM pg_stat_activity", "42809", "WITHIN GROUP is required for ordered-set aggregate mode"),
        ("CREATE TABLE t (a int)", "0A000", "tables are not available in this host"),
        ("VACUUM ANALYZE t", "42P01", "relation \"t\" does not exist"),
        ("VACUUM", "0A000", "tables are not available in this host"),
        ("VACUUM (BOGUS) t", "42601", "unrecognized VACUUM option \"bogus\""),
        ("COPY (SELECT 1) TO 'x'", "42602", "relative path not allowed for COPY to file"),
        ("COPY pg_stat_activity FROM STDIN", "42809", "cannot copy to view \"pg_stat_activity\""),
        ("COPY pg_stat_activity TO STDOUT (FORMAT xml)", "22023", "COPY format \"xml\" not recognized"),
        ("COPY pg_stat_activity TO STDOUT (QUOTE 'x')", "0A000", "COPY quote available only in CSV mode"),
        ("ROLLBACK TO SAVEPOINT s", "0A000", "ROLLBACK TO SAVEPOINT is not supported by this host"),
        ("SELECT current_setting('nope')", "42704", "unrecognized configuration parameter \"nope\""),
        ("SELECT 0 ^ -1", "2201F", "zero raised to a negative power is undefined"),
        ("SELECT substr('x', 1, -1)", "22011", "negative substring length not allowed"),
        ("SELECT $0", "42P02", "there is no parameter $0"),
    ];
    for (sql, code, msg) in cases {
        let e = err(sql);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (*code, *msg),
            "{sql}"
        );
    }
    let e = err("SELECT foo(1, 'x')");
    assert_eq!(e.message, "function foo(integer, unknown) does not exist");
    assert_eq!(e.hint.as_deref(), Some("No function matches the given name and argument types. You might need to add explicit type casts."));
}

#[test]
fn syntax_error_positions() {
    let (e, pos) = parse_with_position("SELECT 1 +").unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str(), pos),
        ("42601", "syntax error at end of input", Some(11))
    );
    assert!(parse("").unwrap().is_empty());
    assert!(parse(";").unwrap().is_empty());
    assert_eq!(parse("SELECT 1; SELECT 2;").unwrap().len(), 2);
    assert_eq!(parse("SELECT 1; SELECT 2;").unwrap()[1].sql(), "SELECT 2");
}

#[test]
fn stat_activity() {
    let mut h = FakeHost::new();
    let (cols, rows, tag) = run(&mut h, "SELECT * FROM pg_stat_activity").unwrap();
    assert_eq!(tag, "SELECT 4");
    assert_eq!(cols.len(), 22);
    assert_eq!((cols[2].name.as_str(), cols[2].type_oid), ("pid", INT4));
    assert_eq!(
        (cols[7].name.as_str(), cols[7].type_oid),
        ("client_addr", INET)
    );
    assert_eq!(
        (cols[17].name.as_str(), cols[17].type_oid),
        ("backend_xid", XID)
    );
    assert_eq!(rows[0][7].as_deref(), Some("127.0.0.1"));
    assert!(h.interrupts >= 4, "scans check for interrupts");

    let (cols, rows, _) = run(
        &mut h,
        "SELECT pid, state, usename AS who FROM pg_catalog.pg_stat_activity a \
         WHERE a.backend_type = 'client backend' ORDER BY pid",
    )
    .unwrap();
    assert_eq!(
        cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["pid", "state", "who"]
    );
    assert_eq!(cols[2].type_oid, NAME);
    assert_eq!(
        rows,
        vec![
            vec![
                Some("200".into()),
                Some("idle".into()),
                Some("alice".into())
            ],
            vec![
                Some("300".into()),
                Some("active".into()),
                Some("alice".into())
            ],
        ]
    );

    let (_, rows, _) = run(
        &mut h,
        "SELECT pid FROM pg_stat_activity ORDER BY backend_start DESC, pid LIMIT 2 OFFSET 1",
    )
    .unwrap();
    assert_eq!(
        rows,
        vec![vec![Some("200".into())], vec![Some("100".into())]]
    );

    let (_, rows, _) = run(
        &mut h,
        "SELECT pid FROM pg_stat_activity ORDER BY state NULLS FIRST, pid",
    )
    .unwrap();
    let pids: Vec<_> = rows.iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(pids, vec!["100", "400", "300", "200"]);

    let (cols, rows, _) = run(
        &mut h,
        "SELECT count(*), count(state) AS n FROM pg_stat_activity",
    )
    .unwrap();
    assert_eq!((cols[0].name.as_str(), cols[0].type_oid), ("count", INT8));
    assert_eq!(cols[1].name, "n");
    assert_eq!(rows, vec![vec![Some("4".into()), Some("2".into())]]);

    let (_, rows, _) = run(
        &mut h,
        "SELECT count(*) + 1 FROM pg_stat_activity WHERE pid > 250",
    )
    .unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("3"));

    let (_, rows, _) = run(
        &mut h,
        "SELECT count(*) FROM pg_stat_activity HAVING count(*) > 10",
    )
    .unwrap();
    assert!(rows.is_empty());

    let (_, rows, _) = run(&mut h, "SELECT upper(application_name) || '@' || client_addr FROM pg_stat_activity WHERE pid = 300").unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("PSQL@127.0.0.1"));

    let (_, rows, _) = run(
        &mut h,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle'",
    )
    .unwrap();
    assert_eq!(rows, vec![vec![Some("t".into())]]);

    let (_, rows, _) = run_with(
        &mut h,
        "SELECT query FROM pg_stat_activity WHERE pid = $1",
        &[],
        &[Value::Int4(300)],
    )
    .unwrap();
    assert_eq!(rows, vec![vec![Some("SELECT 1".into())]]);

    let (_, rows, _) = run(
        &mut h,
        "SELECT pid FROM pg_stat_activity WHERE backend_type LIKE '%writer'",
    )
    .unwrap();
    assert_eq!(rows, vec![vec![Some("400".into())]]);

    let (_, rows, _) = run(
        &mut h,
        "SELECT pid AS p FROM pg_stat_activity ORDER BY p DESC LIMIT 1",
    )
    .unwrap();
    assert_eq!(rows, vec![vec![Some("400".into())]]);
}

#[test]
fn utility_statements() {
    let mut h = FakeHost::new();
    let tag = |h: &mut FakeHost, sql: &str| run(h, sql).unwrap_or_else(|e| panic!("{sql}: {e}")).2;
    assert_eq!(tag(&mut h, "BEGIN"), "BEGIN");
    assert_eq!(tag(&mut h, "COMMIT"), "COMMIT");
    assert_eq!(tag(&mut h, "START TRANSACTION"), "START TRANSACTION");
    assert_eq!(tag(&mut h, "END"), "COMMIT");
    assert_eq!(tag(&mut h, "begin work"), "BEGIN");
    h.failed = true;
    assert_eq!(tag(&mut h, "COMMIT"), "ROLLBACK");
    assert_eq!(tag(&mut h, "BEGIN ISOLATION LEVEL SERIALIZABLE"), "BEGIN");
    assert_eq!(tag(&mut h, "ROLLBACK"), "ROLLBACK");
    assert_eq!(tag(&mut h, "ABORT"), "ROLLBACK");
    assert_eq!(tag(&mut h, "SET x = 5"), "SET");
    assert_eq!(tag(&mut h, "SET LOCAL x TO 'abc'"), "SET");
    assert_eq!(tag(&mut h, "SET DateStyle = ISO, MDY"), "SET");
    assert_eq!(tag(&mut h, "SET search_path TO a, \"My Schema\""), "SET");
    assert_eq!(tag(&mut h, "SET x TO DEFAULT"), "SET");
    assert_eq!(tag(&mut h, "SET TIME ZONE 'UTC'"), "SET");
    assert_eq!(tag(&mut h, "SET SESSION statement_timeout = -1"), "SET");
    assert_eq!(tag(&mut h, "SET myapp.flag = on"), "SET");
    assert_eq!(tag(&mut h, "RESET x"), "RESET");
    assert_eq!(tag(&mut h, "RESET ALL"), "RESET");
    assert_eq!(tag(&mut h, "RESET TIME ZONE"), "RESET");
    assert_eq!(tag(&mut h, "DISCARD ALL"), "DISCARD ALL");
    assert_eq!(tag(&mut h, "DEALLOCATE ALL"), "DEALLOCATE ALL");
    assert_eq!(tag(&mut h, "DEALLOCATE PREPARE s1"), "DEALLOCATE");
    assert_eq!(
        h.log,
        vec![
            "begin",
            "commit",
            "begin",
            "commit",
            "begin",
            "commit",
            "begin",
            "set transaction_isolation=Some(\"serializable\") local=true",
            "rollback",
            "rollback",
            "set x=Some(\"5\") local=false",
            "set x=Some(\"abc\") local=true",
            "set datestyle=Some(\"iso, mdy\") local=false",
            "set search_path=Some(\"a, \\\"My Schema\\\"\") local=false",
            "set x=None local=false",
            "set timezone=Some(\"UTC\") local=false",
            "set statement_timeout=Some(\"-1\") local=false",
            "set myapp.flag=Some(\"on\") local=false",
            "reset Some(\"x\")",
            "reset None",
            "reset Some(\"timezone\")",
            "reset None",
        ]
    );

    let (cols, rows, tag) = run(&mut h, "SHOW search_path").unwrap();
    assert_eq!(
        (cols[0].name.as_str(), cols[0].type_oid, tag.as_str()),
        ("search_path", TEXT, "SHOW")
    );
    assert_eq!(rows[0][0].as_deref(), Some("a, \"My Schema\""));
    let (cols, _, _) = run(&mut h, "SHOW DateStyle").unwrap();
    assert_eq!(cols[0].name, "datestyle");
    let (cols, rows, _) = run(&mut h, "SHOW ALL").unwrap();
    assert_eq!(
        cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["name", "setting", "description"]
    );
    assert!(rows.len() >= 3);
    assert_eq!(err("SHOW nope").code, "42704");

    let commands: Vec<(&str, Command)> = vec![
        ("SELECT 1", Command::Select),
        ("BEGIN", Command::Begin),
        ("START TRANSACTION", Command::Begin),
        ("END", Command::Commit),
        ("ABORT", Command::Rollback),
        ("SAVEPOINT a", Command::Savepoint),
        ("RELEASE a", Command::Release),
        ("RELEASE SAVEPOINT a", Command::Release),
        ("ROLLBACK TO a", Command::RollbackTo),
        ("ROLLBACK WORK TO SAVEPOINT a", Command::RollbackTo),
        ("ROLLBACK TRANSACTION TO a", Command::RollbackTo),
        ("SET a = 1", Command::Set),
        ("RESET a", Command::Reset),
        ("SHOW a", Command::Show),
        ("DISCARD ALL", Command::Other("DISCARD ALL")),
        ("DEALLOCATE x", Command::Other("DEALLOCATE")),
    ];
    for (sql, c) in commands {
        let s = parse(sql).unwrap();
        assert_eq!(prepare(&s[0], &[], &h).unwrap().command(), c, "{sql}");
    }
    let s = parse("SET a = 1").unwrap();
    assert!(prepare(&s[0], &[], &h).unwrap().columns().is_empty());
}

#[test]
fn binary_results_of_a_query() {
    let mut h = FakeHost::new();
    let s = parse("SELECT 1.5, 1::int8, now(), '127.0.0.1'::inet").unwrap();
    let p = prepare(&s[0], &[], &h).unwrap();
    let out = execute(&p, &[], &mut h, &FakeRelations(Vec::new())).unwrap();
    let row = &out.rows[0];
    assert_eq!(
        encode_binary(&row[0]).unwrap(),
        vec![0, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0x13, 0x88]
    );
    assert_eq!(encode_binary(&row[1]).unwrap(), 1i64.to_be_bytes().to_vec());
    assert_eq!(
        encode_binary(&row[2]).unwrap(),
        848_626_255_123_456i64.to_be_bytes().to_vec()
    );
    assert_eq!(
        encode_binary(&row[3]).unwrap(),
        vec![2, 32, 0, 4, 127, 0, 0, 1]
    );
    assert_eq!(p.columns()[3].type_oid, INET);
}

/// Hostile input must give an error or a result, never a panic.
#[test]
fn no_panics_on_hostile_input() {
    let deep_parens = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
    let long_chain = format!("SELECT 1{}", " + 1".repeat(20_000));
    let long_concat = format!("SELECT 'a'{}", " || 'a'".repeat(3000));
    let long_or = format!("SELECT 1 WHERE {}", vec!["1 = 2"; 20_000].join(" OR "));
    let deep_not = format!("SELECT {} true", "NOT ".repeat(3000));
    let deep_case = format!(
        "SELECT {} 1 {}",
        "CASE WHEN true THEN".repeat(300),
        " END".repeat(300)
    );
    let huge_number = format!("SELECT {}", "9".repeat(100_000));
    let huge_string = format!("SELECT '{}'", "x".repeat(100_000));
    let many_items = format!("SELECT {}", vec!["1"; 5000].join(", "));
    let inputs: Vec<&str> = vec![
        "",
        ";",
        ";;;",
        "-- only a comment",
        "/* unterminated comment",
        "SELECT 'unterminated",
        "SELECT \"unterminated",
        "SELECT $$unterminated",
        "SELECT E'\\",
        "SELECT 1/0",
        "SELECT 9223372036854775807 + 1",
        "SELECT -9223372036854775808 - 1",
        "SELECT -9223372036854775808 / -1",
        "SELECT -9223372036854775808 % -1",
        "SELECT (-2147483648)::int4 * -1",
        "SELECT 1::nosuchtype",
        "SELECT 1::int[]",
        "SELECT 9.9 ^ 99999999",
        "SELECT 10::numeric ^ -99999999",
        "SELECT 0.0000001 ^ 99999",
        "SELECT 1e1000::numeric",
        "SELECT '1e999999999'::numeric",
        "SELECT 1e400::float8",
        "SELECT 'Infinity'::numeric::int",
        "SELECT 'NaN'::float8::int",
        "SELECT 1e400",
        "SELECT repeat('x', 2147483647)",
        "SELECT repeat('x', -5)",
        "SELECT substr('x', -2147483648, 2147483647)",
        "SELECT $99999999",
        "SELECT $1 + $2",
        "SELECT * FROM pg_stat_activity, pg_stat_activity",
        "SELECT * FROM (SELECT 1) s",
        "SELECT count(count(*))",
        "SELECT count(DISTINCT pid) FROM pg_stat_activity",
        "SELECT count() FROM pg_stat_activity",
        "SELECT now(1, 2, 3)",
        "SELECT current_timestamp(99)",
        "SELECT 'x'::varchar(0)",
        "SELECT 1::numeric(0,0)",
        "SELECT 1::numeric(5,9)",
        "SELECT '2024-13-45'::timestamptz",
        "SELECT '99999999-01-01'::date",
        "SELECT 'allballs'::timestamptz",
        "SELECT '\\x0'::bytea",
        "SELECT '\\xzz'::bytea",
        "SELECT '300.1.1.1'::inet",
        "SELECT 1 ORDER BY 0",
        "SELECT 1 ORDER BY 99999999999999999999",
        "SELECT 1 LIMIT 'abc'",
        "SELECT 1 LIMIT 1.5",
        "SELECT 1 OFFSET 99999999999999999999",
        "SET",
        "SET x",
        "SET x = (SELECT 1)",
        "SHOW",
        "RESET",
        "BEGIN; COMMIT; ROLLBACK",
        "\u{0}",
        "SELECT '\u{0}'",
        "SELECT 1 +",
        "((((",
        "SELECT ''::int",
        "SELECT '-'::numeric",
        "SELECT 'e5'::float8",
        "SELECT greatest()",
        "SELECT nullif(1)",
        "SELECT coalesce(1, 'a')",
        "SELECT pg_sleep('x')",
        "SELECT pg_catalog.pg_catalog.now()",
        "SELECT a.b.c.d FROM pg_stat_activity",
        "SELECT * FROM a.b.c.d",
        "SELECT x'zz'",
        "SELECT 1 FROM pg_stat_activity WHERE pid = 'x'",
        "COPY t FROM STDIN",
        "PREPARE p AS SELECT 1",
        "EXPLAIN SELECT 1",
        "LISTEN foo",
        &deep_parens,
        &long_chain,
        &long_concat,
        &deep_not,
        &deep_case,
        &huge_number,
        &huge_string,
        &many_items,
    ];
    for sql in inputs {
        let mut h = FakeHost::new();
        let Ok(stmts) = parse(sql) else { continue };
        for s in &stmts {
            let Ok(p) = prepare(s, &[], &h) else { continue };
            let params: Vec<Value> = p.param_types().iter().map(|_| Value::Null).collect();
            let _ = execute(&p, &params, &mut h, &FakeRelations(Vec::new()));
        }
    }
    // Some of them have exact answers.
    let mut h = FakeHost::new();
    let (_, rows, _) = run(&mut h, &long_or).unwrap();
    assert!(rows.is_empty());
    // PostgreSQL too refuses expressions nested past its stack limit.
    assert_eq!(err(&long_chain).code, "54001");
    let (_, rows, _) = run(&mut h, &format!("SELECT 1{}", " + 1".repeat(500))).unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("501"));
    assert_eq!(err("SELECT 9.9 ^ 99999999").code, "22003");
    assert_eq!(err("SELECT -9223372036854775808 / -1").code, "22003");
    assert_eq!(err("SELECT 'Infinity'::numeric::int").code, "0A000");
    assert_eq!(err("SELECT 'NaN'::float8::int").code, "22003");
}

/// `||` of two long strings used to build any length (1.2 GB here, and
/// more with longer chains) until the OOM killer took the backend and the
/// postmaster restarted every session. It is refused as `repeat` and
/// `concat` are: 54000 "requested length too large".
#[test]
fn concat_operator_refuses_over_1gb() {
    let e = err("SELECT repeat('x', 1073741823) || 'y'");
    assert_eq!(e.code, "54000", "{e:?}");
    assert_eq!(e.message, "requested length too large");
    // At the limit it is fine.
    let mut h = FakeHost::new();
    let (_, rows, _) = run(&mut h, "SELECT length(repeat('x', 1073741822) || 'y')").unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("1073741823"));
}

/// `SELECT 1, 1, ...` with 40000 items used to reach the client encoder,
/// which cannot describe more than 32767 columns, and the session ended
/// with FATAL. PostgreSQL refuses past 1664 with an ERROR.
#[test]
fn select_list_is_limited_to_1664_entries() {
    let list = |n: usize| format!("SELECT {}", vec!["1"; n].join(", "));
    let mut h = FakeHost::new();
    let (cols, _, _) = run(&mut h, &list(1664)).unwrap();
    assert_eq!(cols.len(), 1664);
    for n in [1665, 40000] {
        let e = err(&list(n));
        assert_eq!(e.code, "54000", "{e:?}");
        assert_eq!(e.message, "target lists can have at most 1664 entries");
    }
}

/// `SELECT 1 + 1 + ...` with 300 000 terms, and a WHERE of 300 000 ORs,
/// overflowed a backend's stack (the tree was dropped level by level after
/// the binder refused it), and the postmaster restarted every session.
/// Such statements are refused from their tokens before any tree exists.
#[test]
fn operator_chains_too_deep_to_build_are_refused() {
    let plus = format!("SELECT 1{}", " + 1".repeat(300_000));
    let or = format!(
        "SELECT pid FROM pg_stat_activity WHERE {}",
        vec!["pid = 1"; 300_000].join(" OR ")
    );
    let brackets = format!("SELECT {}1{}", "(1 + ".repeat(60_000), ")".repeat(60_000));
    for sql in [&plus, &or, &brackets] {
        let e = parse(sql).unwrap_err();
        assert_eq!(e.code, "54001", "{e:?}");
        assert_eq!(e.message, "stack depth limit exceeded");
    }
    // Width is not depth: commas and closed brackets give levels back.
    let wide = format!("SELECT {}", vec!["(1 + 1 + 1)"; 60_000].join(", "));
    assert!(parse(&wide).is_ok());
}

/// `SELECT 1;` 300 000 times kept a backend busy for hours, deaf to cancel
/// and shutdown: each statement's text was located by scanning the query
/// from its start. Now cutting is linear; the texts must still be exact,
/// multi-byte characters included.
#[test]
fn many_statements_in_one_query_are_cut_in_linear_time() {
    let sql = "SELECT 'é'; SELECT '日本';\n".repeat(100_000);
    let stmts = parse(&sql).unwrap();
    assert_eq!(stmts.len(), 200_000);
    assert_eq!(stmts[0].sql(), "SELECT 'é'");
    assert_eq!(stmts[1].sql(), "SELECT '日本'");
    assert_eq!(stmts[199_999].sql(), "SELECT '日本'");
}

/// A source that counts what was pulled from it and whether it was
/// closed, to see that nodes pull only what they need and release early.
struct Probe {
    rows: std::ops::Range<i32>,
    pulled: std::rc::Rc<std::cell::Cell<usize>>,
    closed: std::rc::Rc<std::cell::Cell<usize>>,
}

impl RowSource for Probe {
    fn next_row(&mut self) -> Result<Option<Row>, PgError> {
        let r = self.rows.next().map(|i| vec![Value::Int4(i)]);
        if r.is_some() {
            self.pulled.set(self.pulled.get() + 1);
        }
        Ok(r)
    }
    fn close(&mut self) {
        self.closed.set(self.closed.get() + 1);
    }
}

type Counter = std::rc::Rc<std::cell::Cell<usize>>;

fn probe(n: i32) -> (Box<dyn RowSource>, Counter, Counter) {
    let pulled = Counter::default();
    let closed = Counter::default();
    (
        Box::new(Probe {
            rows: 0..n,
            pulled: pulled.clone(),
            closed: closed.clone(),
        }),
        pulled,
        closed,
    )
}

/// Pull every row of a node tree.
fn drain(node: &mut dyn crate::exec::Node, h: &mut FakeHost) -> Result<Vec<Row>, PgError> {
    let mut cx = crate::expr::Ctx {
        host: h,
        params: &[],
    };
    let mut out = Vec::new();
    while let Some(r) = node.next(&mut cx)? {
        out.push(r);
    }
    // Exhausted stays exhausted.
    assert!(node.next(&mut cx)?.is_none());
    Ok(out)
}

fn ints(rows: &[Row]) -> Vec<i64> {
    rows.iter()
        .map(|r| match r[0] {
            Value::Int4(i) => i as i64,
            Value::Int8(i) => i,
            ref v => panic!("not an integer: {v:?}"),
        })
        .collect()
}

#[test]
fn executor_nodes_one_by_one() {
    use crate::exec::*;
    use crate::expr::Expr;
    use crate::plan::{AggCall, SortKey};
    let mut h = FakeHost::new();

    // Scan: every row, checking interrupts per row, closing at the end.
    let (src, pulled, closed) = probe(5);
    let mut scan = ScanNode::new(src);
    let before = h.interrupts;
    assert_eq!(
        ints(&drain(&mut scan, &mut h).unwrap()),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!((pulled.get(), closed.get()), (5, 1));
    assert!(h.interrupts - before >= 5, "a cancel is looked for per row");
    scan.close();
    drop(scan);
    assert_eq!(closed.get(), 1, "close is idempotent, also on drop");

    // Result: one empty row.
    let mut res = ResultNode { done: false };
    assert_eq!(drain(&mut res, &mut h).unwrap(), vec![Vec::<Value>::new()]);

    // Filter: keeps rows where the predicate is true (not NULL, not false).
    let (src, _, _) = probe(6);
    let pred = Expr::Column(0); // not a boolean: never true
    let mut f = FilterNode {
        input: Box::new(ScanNode::new(src)),
        pred,
    };
    assert!(drain(&mut f, &mut h).unwrap().is_empty());
    let (src, _, _) = probe(3);
    let mut f = FilterNode {
        input: Box::new(ScanNode::new(src)),
        pred: Expr::Const(Value::Bool(true)),
    };
    assert_eq!(ints(&drain(&mut f, &mut h).unwrap()), vec![0, 1, 2]);

    // Aggregate: one row of counts, the input consumed and closed; an
    // empty input still gives one row.
    let (src, pulled, closed) = probe(1000);
    let mut a = AggNode {
        input: Box::new(ScanNode::new(src)),
        aggs: vec![AggCall::CountStar, AggCall::Count(Expr::Const(Value::Null))],
        done: false,
    };
    assert_eq!(
        drain(&mut a, &mut h).unwrap(),
        vec![vec![Value::Int8(1000), Value::Int8(0)]]
    );
    assert_eq!((pulled.get(), closed.get()), (1000, 1));
    let (src, _, _) = probe(0);
    let mut a = AggNode {
        input: Box::new(ScanNode::new(src)),
        aggs: vec![AggCall::CountStar],
        done: false,
    };
    assert_eq!(drain(&mut a, &mut h).unwrap(), vec![vec![Value::Int8(0)]]);

    // Project: evaluates the targets per row.
    let (src, _, _) = probe(2);
    let mut p = ProjectNode {
        input: Box::new(ScanNode::new(src)),
        targets: vec![Expr::Const(Value::Int8(7)), Expr::Column(0)],
    };
    assert_eq!(
        drain(&mut p, &mut h).unwrap(),
        vec![
            vec![Value::Int8(7), Value::Int4(0)],
            vec![Value::Int8(7), Value::Int4(1)]
        ]
    );

    // Sort: reads all its input at the first call, releases it, then
    // hands the rows out in order.
    let (src, pulled, closed) = probe(4);
    let mut s = SortNode {
        input: Box::new(ScanNode::new(src)),
        keys: vec![SortKey {
            col: 0,
            desc: true,
            nulls_first: true,
        }],
        bound: None,
        stable: false,
        sorted: None,
    };
    let mut cx = crate::expr::Ctx {
        host: &mut h,
        params: &[],
    };
    assert_eq!(s.next(&mut cx).unwrap(), Some(vec![Value::Int4(3)]));
    assert_eq!((pulled.get(), closed.get()), (4, 1));
    assert_eq!(ints(&drain(&mut s, &mut h).unwrap()), vec![2, 1, 0]);

    // Limit: pulls only offset + limit rows and closes its input as soon
    // as the limit is reached, before anyone asks for another row.
    let (src, pulled, closed) = probe(1_000_000);
    let mut l = LimitNode {
        input: Box::new(ScanNode::new(src)),
        offset: 3,
        limit: Some(2),
        emitted: 0,
        ties: None,
        last: None,
    };
    let mut cx = crate::expr::Ctx {
        host: &mut h,
        params: &[],
    };
    assert_eq!(l.next(&mut cx).unwrap(), Some(vec![Value::Int4(3)]));
    assert_eq!(closed.get(), 0);
    assert_eq!(l.next(&mut cx).unwrap(), Some(vec![Value::Int4(4)]));
    assert_eq!((pulled.get(), closed.get()), (5, 1));
    assert_eq!(l.next(&mut cx).unwrap(), None);
    assert_eq!(pulled.get(), 5);

    // LIMIT 0 pulls nothing at all.
    let (src, pulled, closed) = probe(10);
    let mut l = LimitNode {
        input: Box::new(ScanNode::new(src)),
        offset: 0,
        limit: Some(0),
        emitted: 0,
        ties: None,
        last: None,
    };
    assert!(drain(&mut l, &mut h).unwrap().is_empty());
    assert_eq!((pulled.get(), closed.get()), (0, 1));

    // OFFSET past the end: nothing, the source ran out and was closed.
    let (src, pulled, closed) = probe(3);
    let mut l = LimitNode {
        input: Box::new(ScanNode::new(src)),
        offset: 10,
        limit: None,
        emitted: 0,
        ties: None,
        last: None,
    };
    assert!(drain(&mut l, &mut h).unwrap().is_empty());
    assert_eq!((pulled.get(), closed.get()), (3, 1));
}

/// An execution closed (or dropped) before its end releases its source
/// at once: what a portal's Close or the end of its transaction does.
#[test]
fn early_close_releases_the_source() {
    struct Rels(std::cell::RefCell<Option<Box<dyn RowSource>>>);
    impl Relations for Rels {
        fn open_scan(&self, _: &catalog::Relation) -> Result<Box<dyn RowSource>, PgError> {
            Ok(self.0.borrow_mut().take().expect("opened once"))
        }
    }
    let mut h = FakeHost::new();
    // datid: the view's first column, the probe's only one.
    let s = parse("SELECT datid FROM pg_stat_activity").unwrap();
    let p = prepare(&s[0], &[], &h).unwrap();

    let (src, pulled, closed) = probe(100);
    let rels = Rels(std::cell::RefCell::new(Some(src)));
    let mut ex = start(&p, Vec::new(), &mut h, &rels).unwrap();
    assert_eq!(pulled.get(), 0, "opening pulls nothing");
    for i in 0..10 {
        assert_eq!(ex.next(&mut h).unwrap(), Some(vec![Value::Int4(i)]));
    }
    assert_eq!((pulled.get(), closed.get()), (10, 0));
    assert!(!ex.is_finished());
    ex.close();
    assert_eq!(closed.get(), 1);
    assert!(ex.next(&mut h).unwrap().is_none());
    drop(ex);
    assert_eq!((pulled.get(), closed.get()), (10, 1));

    // Dropped without close: released too.
    let (src, _, closed) = probe(100);
    let rels = Rels(std::cell::RefCell::new(Some(src)));
    let mut ex = start(&p, Vec::new(), &mut h, &rels).unwrap();
    ex.next(&mut h).unwrap();
    drop(ex);
    assert_eq!(closed.get(), 1);

    // LIMIT inside the query: released when the limit is reached, even
    // though the caller has not asked for the end yet.
    let s = parse("SELECT datid FROM pg_stat_activity LIMIT 2").unwrap();
    let p = prepare(&s[0], &[], &h).unwrap();
    let (src, pulled, closed) = probe(100);
    let rels = Rels(std::cell::RefCell::new(Some(src)));
    let mut ex = start(&p, Vec::new(), &mut h, &rels).unwrap();
    ex.next(&mut h).unwrap();
    ex.next(&mut h).unwrap();
    assert_eq!((pulled.get(), closed.get()), (2, 1));
    assert!(ex.next(&mut h).unwrap().is_none());
    assert_eq!(ex.tag(), "SELECT 2");
}

/// generate_series in FROM, with PostgreSQL 15's results and errors, and
/// produced lazily: a series of two billion rows hands out its first
/// rows at once.
#[test]
fn generate_series_in_from() {
    let mut h = FakeHost::new();
    let vals = |h: &mut FakeHost, sql: &str| -> Vec<String> {
        let (_, rows, _) = run(h, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter()
            .map(|r| r[0].clone().unwrap_or_else(|| "NULL".into()))
            .collect()
    };
    let (cols, rows, tag) = run(&mut h, "SELECT * FROM generate_series(1, 3)").unwrap();
    assert_eq!(
        (cols[0].name.as_str(), cols[0].type_oid),
        ("generate_series", INT4)
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(tag, "SELECT 3");
    assert_eq!(
        vals(&mut h, "SELECT * FROM generate_series(1, 10, 4)"),
        ["1", "5", "9"]
    );
    assert_eq!(
        vals(&mut h, "SELECT * FROM generate_series(3, 1, -1)"),
        ["3", "2", "1"]
    );
    assert!(vals(&mut h, "SELECT * FROM generate_series(3, 1)").is_empty());
    assert!(vals(&mut h, "SELECT * FROM generate_series(1, NULL)").is_empty());
    assert!(vals(&mut h, "SELECT * FROM generate_series(1, 3, NULL)").is_empty());
    // Stops at the type's end instead of overflowing.
    assert_eq!(
        vals(
            &mut h,
            "SELECT * FROM generate_series(2147483646, 2147483647)"
        ),
        ["2147483646", "2147483647"]
    );
    assert_eq!(
        vals(
            &mut h,
            "SELECT * FROM generate_series(-2147483647, -2147483648, -1)"
        ),
        ["-2147483647", "-2147483648"]
    );
    let (cols, rows, _) = run(
        &mut h,
        "SELECT * FROM generate_series(9223372036854775806, 9223372036854775807)",
    )
    .unwrap();
    assert_eq!(cols[0].type_oid, INT8);
    assert_eq!(rows.len(), 2);
    let (cols, _, _) = run(&mut h, "SELECT * FROM generate_series(1::int8, 3)").unwrap();
    assert_eq!(cols[0].type_oid, INT8);
    // Names: the column alias, else the table alias, else the function.
    let (cols, _, _) = run(&mut h, "SELECT * FROM generate_series(1, 2) AS g").unwrap();
    assert_eq!(cols[0].name, "g");
    let (cols, rows, _) = run(&mut h, "SELECT g.x * 2 FROM generate_series(1, 2) AS g(x)").unwrap();
    assert_eq!(cols[0].name, "?column?");
    assert_eq!(rows[1][0].as_deref(), Some("4"));
    assert_eq!(
        vals(
            &mut h,
            "SELECT g FROM generate_series(1, 5) g WHERE g % 2 = 0 ORDER BY g DESC"
        ),
        ["4", "2"]
    );
    assert_eq!(
        vals(
            &mut h,
            "SELECT generate_series FROM generate_series(1, 10) LIMIT 3 OFFSET 8"
        ),
        ["9", "10"]
    );
    assert_eq!(
        vals(&mut h, "SELECT count(*) FROM generate_series(1, 1000)"),
        ["1000"]
    );
    // Parameters as bounds: inferred from the other argument; with no
    // typed argument PostgreSQL cannot choose (42725).
    let (cols, rows, _) = run_with(
        &mut h,
        "SELECT * FROM generate_series($1, 7)",
        &[],
        &[Value::Int4(5)],
    )
    .unwrap();
    assert_eq!((cols[0].type_oid, rows.len()), (INT4, 3));
    assert_eq!(
        params_of("SELECT * FROM generate_series($1, 7::int8)", &[]),
        [INT8]
    );
    let e = err("SELECT * FROM generate_series($1, $2)");
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        (
            "42725",
            "function generate_series(unknown, unknown) is not unique"
        )
    );

    let e = err("SELECT * FROM generate_series(1, 3, 0)");
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("22023", "step size cannot equal zero")
    );
    assert_eq!(err("SELECT * FROM generate_series(1)").code, "42883");
    let e = err("SELECT * FROM generate_series(1, 3) AS g(x, y)");
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        (
            "42P10",
            "table \"g\" has 1 columns available but 2 columns specified"
        )
    );
    let e = err("SELECT * FROM generate_series('1', '3')");
    assert_eq!(e.code, "42725");
    assert_eq!(err("SELECT * FROM nosuchfunction(1, 2)").code, "42883");
    assert_eq!(
        err("SELECT * FROM generate_series(1, 3) g WHERE h = 1").code,
        "42703"
    );

    // Lazy: the first rows of a huge series come at once.
    let s = parse("SELECT * FROM generate_series(1, 2000000000)").unwrap();
    let p = prepare(&s[0], &[], &h).unwrap();
    let mut ex = start(&p, Vec::new(), &mut h, &FakeRelations(Vec::new())).unwrap();
    for i in 1..=3 {
        assert_eq!(ex.next(&mut h).unwrap(), Some(vec![Value::Int4(i)]));
    }
    assert_eq!(ex.rows_produced(), 3);
}

/// LIMIT and OFFSET edge cases through the whole path.
#[test]
fn limit_and_offset_edges() {
    let mut h = FakeHost::new();
    let n =
        |h: &mut FakeHost, sql: &str| run(h, sql).unwrap_or_else(|e| panic!("{sql}: {e}")).1.len();
    let q = "SELECT * FROM generate_series(1, 10)";
    assert_eq!(n(&mut h, &format!("{q} LIMIT 0")), 0);
    assert_eq!(n(&mut h, &format!("{q} LIMIT NULL")), 10);
    assert_eq!(n(&mut h, &format!("{q} LIMIT ALL")), 10);
    assert_eq!(n(&mut h, &format!("{q} LIMIT 100")), 10);
    assert_eq!(n(&mut h, &format!("{q} OFFSET 0")), 10);
    assert_eq!(n(&mut h, &format!("{q} OFFSET 10")), 0);
    assert_eq!(n(&mut h, &format!("{q} OFFSET 9")), 1);
    assert_eq!(n(&mut h, &format!("{q} OFFSET NULL")), 10);
    assert_eq!(n(&mut h, &format!("{q} LIMIT 3 OFFSET 9")), 1);
    assert_eq!(
        n(&mut h, &format!("{q} ORDER BY 1 DESC LIMIT 3 OFFSET 1")),
        3
    );
    let (_, rows, tag) = run(&mut h, &format!("{q} ORDER BY 1 DESC LIMIT 2 OFFSET 1")).unwrap();
    assert_eq!(
        (rows[0][0].as_deref(), rows[1][0].as_deref(), tag.as_str()),
        (Some("9"), Some("8"), "SELECT 2")
    );
    assert_eq!(
        n(
            &mut h,
            "SELECT count(*) FROM generate_series(1, 10) LIMIT 0"
        ),
        0
    );
    assert_eq!(
        n(
            &mut h,
            "SELECT count(*) FROM generate_series(1, 10) OFFSET 1"
        ),
        0
    );
    assert_eq!(err(&format!("{q} LIMIT -1")).code, "2201W");
    assert_eq!(err(&format!("{q} OFFSET -1")).code, "2201X");
}

/// Rows as `psql -A -t` prints them: `|` between columns, NULL empty.
fn psql_rows(sql: &str) -> String {
    let mut h = FakeHost::new();
    let (_, rows, _) = run(&mut h, sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|v| v.clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Joins and subqueries over generate_series; every expected output is
/// PostgreSQL 15's (`psql -AtX -c`) for the same query.
#[test]
fn joins_and_subqueries_match_postgres() {
    let cases: &[(&str, &str)] = &[
        (
            "SELECT x, (SELECT count(*) FROM generate_series(1,x) y WHERE y < x) FROM generate_series(1,3) x GROUP BY x ORDER BY 1",
            "1|0\n2|1\n3|2",
        ),
        (
            "SELECT x, x > ALL (SELECT y FROM generate_series(1,3) y), x = ANY (SELECT y FROM generate_series(2,3) y), x < SOME (SELECT NULL::int UNION ALL SELECT 2), x <> ALL (SELECT 1 WHERE false) FROM generate_series(1,4) x ORDER BY 1",
            "1|f|f|t|t\n2|f|t||t\n3|f|t||t\n4|t|f||t",
        ),
        (
            "SELECT * FROM generate_series(1,2) a FULL JOIN generate_series(1,2) b ON a = b AND b > 1 ORDER BY 1, 2",
            "1|\n2|2\n|1",
        ),
        (
            "SELECT * FROM generate_series(1,2) a FULL JOIN generate_series(1,2) b ON true ORDER BY 1, 2",
            "1|1\n1|2\n2|1\n2|2",
        ),
        (
            "SELECT * FROM generate_series(1,3) a, generate_series(1,2) b ORDER BY 1, 2",
            "1|1\n1|2\n2|1\n2|2\n3|1\n3|2",
        ),
        (
            "SELECT a.x, b.y FROM generate_series(1,4) a(x) JOIN generate_series(2,6,2) b(y) ON a.x = b.y ORDER BY 1",
            "2|2\n4|4",
        ),
        (
            "SELECT * FROM generate_series(1,4) a(x) LEFT JOIN generate_series(2,6,2) b(y) ON a.x = b.y ORDER BY 1",
            "1|\n2|2\n3|\n4|4",
        ),
        (
            "SELECT * FROM generate_series(1,4) a(x) RIGHT JOIN generate_series(2,6,2) b(y) ON a.x = b.y ORDER BY 2",
            "2|2\n4|4\n|6",
        ),
        (
            "SELECT * FROM generate_series(1,4) a(x) FULL JOIN generate_series(2,6,2) b(y) ON a.x = b.y ORDER BY 1, 2",
            "1|\n2|2\n3|\n4|4\n|6",
        ),
        (
            "SELECT * FROM generate_series(1,3) a(x) JOIN generate_series(2,4) b(x) USING (x) ORDER BY 1",
            "2\n3",
        ),
        (
            "SELECT x, a.x, b.x FROM generate_series(1,3) a(x) FULL JOIN generate_series(2,4) b(x) USING (x) ORDER BY 1",
            "1|1|\n2|2|2\n3|3|3\n4||4",
        ),
        (
            "SELECT * FROM generate_series(1,3) a(x) NATURAL JOIN generate_series(2,4) b(x)",
            "2\n3",
        ),
        (
            "SELECT * FROM generate_series(1,3) a(x) NATURAL JOIN generate_series(2,4) b(y) ORDER BY 1, 2 LIMIT 4",
            "1|2\n1|3\n1|4\n2|2",
        ),
        (
            "SELECT * FROM generate_series(1,2) a CROSS JOIN generate_series(5,6) b ORDER BY 1, 2",
            "1|5\n1|6\n2|5\n2|6",
        ),
        (
            "SELECT a.*, 0 FROM generate_series(1,2) a, generate_series(5,6) b ORDER BY 1",
            "1|0\n1|0\n2|0\n2|0",
        ),
        (
            "SELECT count(*), sum(a.x * b.y) FROM generate_series(1,100) a(x) JOIN generate_series(1,100) b(y) ON a.x % 10 = b.y % 10",
            "1000|2558500",
        ),
        (
            "SELECT a.x, count(*) FROM generate_series(1,3) a(x) JOIN generate_series(1,5) b(y) ON b.y >= a.x GROUP BY a.x ORDER BY 1",
            "1|5\n2|4\n3|3",
        ),
        (
            "SELECT * FROM (SELECT x * 2 AS d FROM generate_series(1,3) x) s WHERE d > 2 ORDER BY d DESC",
            "6\n4",
        ),
        (
            "SELECT s.* FROM (SELECT 1 AS a, 'x' AS b) AS s(p)",
            "1|x",
        ),
        (
            "SELECT (SELECT max(x) FROM generate_series(1,10) x)",
            "10",
        ),
        (
            "SELECT (SELECT x FROM generate_series(1,10) x WHERE x > 20)",
            "",
        ),
        (
            "SELECT x FROM generate_series(1,5) x WHERE x IN (SELECT y * 2 FROM generate_series(1,3) y) ORDER BY 1",
            "2\n4",
        ),
        (
            "SELECT x FROM generate_series(1,5) x WHERE x NOT IN (SELECT y * 2 FROM generate_series(1,3) y) ORDER BY 1",
            "1\n3\n5",
        ),
        (
            "SELECT 1 NOT IN (SELECT NULL::int), 2 IN (SELECT CASE WHEN y = 1 THEN NULL ELSE y END FROM generate_series(1,2) y), NULL::int IN (SELECT 1 WHERE false), NULL::int NOT IN (SELECT 1)",
            "|t|f|",
        ),
        (
            "SELECT x, EXISTS (SELECT 1 FROM generate_series(1,3) y WHERE y = x) FROM generate_series(0,4) x ORDER BY 1",
            "0|f\n1|t\n2|t\n3|t\n4|f",
        ),
        (
            "SELECT x, (SELECT count(*) FROM generate_series(1,x) y) FROM generate_series(1,4) x ORDER BY 1",
            "1|1\n2|2\n3|3\n4|4",
        ),
        (
            "SELECT x FROM generate_series(1,6) x WHERE NOT EXISTS (SELECT 1 FROM generate_series(2,3) d WHERE x % d = 0 AND x <> d) ORDER BY x",
            "1\n2\n3\n5",
        ),
        (
            "SELECT x, (SELECT sum(y) FROM generate_series(1,3) y WHERE y < x AND y IN (SELECT z FROM generate_series(1,x) z WHERE z <> 2)) FROM generate_series(1,4) x ORDER BY 1",
            "1|\n2|1\n3|1\n4|4",
        ),
        (
            "SELECT a.x, b.y FROM generate_series(1,3) a(x) LEFT JOIN generate_series(1,3) b(y) ON a.x = b.y AND b.y <> 2 WHERE a.x > 1 ORDER BY 1",
            "2|\n3|3",
        ),
        (
            "SELECT t.x, u.x FROM generate_series(1,2) t(x) JOIN (generate_series(1,2) u(x) JOIN generate_series(2,3) v(x) ON u.x = v.x) ON t.x = u.x",
            "2|2",
        ),
        (
            "SELECT 1.0::numeric = 1.00, a, b FROM (SELECT 1.0::numeric AS a) p JOIN (SELECT 1.00::numeric AS b) q ON a = b",
            "t|1.0|1.00",
        ),
    ];
    for (sql, want) in cases {
        assert_eq!(psql_rows(sql), *want, "{sql}");
    }
}

#[test]
fn join_and_subquery_errors_match_postgres() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "SELECT x FROM generate_series(1,2) a(x), generate_series(1,2) b(x)",
            "42702",
            "column reference \"x\" is ambiguous",
        ),
        (
            "SELECT (SELECT x FROM generate_series(1,3) x)",
            "21000",
            "more than one row returned by a subquery used as an expression",
        ),
        (
            "SELECT * FROM generate_series(1,2) a, generate_series(1,2) a",
            "42712",
            "table name \"a\" specified more than once",
        ),
        (
            "SELECT * FROM (SELECT 1)",
            "42601",
            "subquery in FROM must have an alias",
        ),
        (
            "SELECT c.x FROM generate_series(1,2) a(x)",
            "42P01",
            "missing FROM-clause entry for table \"c\"",
        ),
        (
            "SELECT a.z FROM generate_series(1,2) a(x)",
            "42703",
            "column a.z does not exist",
        ),
        (
            "SELECT * FROM generate_series(1,2) a(x) JOIN generate_series(1,2) b(y) USING (x)",
            "42703",
            "column \"x\" specified in USING clause does not exist in right table",
        ),
        ("SELECT 1 IN (SELECT 1, 2)", "42601", "subquery has too many columns"),
        ("SELECT (SELECT 1, 2)", "42601", "subquery must return only one column"),
        (
            "SELECT * FROM generate_series(1,2) a(x) JOIN generate_series(1,2) b(y) ON 1",
            "42804",
            "argument of JOIN/ON must be type boolean, not type integer",
        ),
        (
            "SELECT * FROM generate_series(1,2) a(x) JOIN generate_series(1,2) b(y) ON count(*) > 0",
            "42803",
            "aggregate functions are not allowed in JOIN conditions",
        ),
        (
            "SELECT count(*), (SELECT x) FROM generate_series(1,3) x",
            "42803",
            "subquery uses ungrouped column \"x.x\" from outer query",
        ),
        (
            "SELECT x % 2, (SELECT x % 2 + 1) FROM generate_series(1,3) x GROUP BY x % 2",
            "42803",
            "subquery uses ungrouped column \"x.x\" from outer query",
        ),
        (
            "SELECT y, (SELECT x) FROM generate_series(1,3) x, generate_series(1,2) y GROUP BY y",
            "42803",
            "subquery uses ungrouped column \"x.x\" from outer query",
        ),
        (
            "SELECT * FROM generate_series(1,4) a(x) FULL JOIN generate_series(2,6,2) b(y) ON a.x < b.y",
            "0A000",
            "FULL JOIN is only supported with merge-joinable or hash-joinable join conditions",
        ),
        (
            "SELECT * FROM (SELECT 1 AS a) s(p, q)",
            "42P10",
            "table \"s\" has 1 columns available but 2 columns specified",
        ),
    ];
    for (sql, code, msg) in cases {
        let e = err(sql);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (*code, *msg),
            "{sql}"
        );
    }
}

/// Column names and types of a join's `*`: USING columns once, first.
#[test]
fn join_star_columns() {
    let mut h = FakeHost::new();
    let (cols, _, _) = run(
        &mut h,
        "SELECT * FROM generate_series(1,2) a(x), generate_series(1,2::int8) b(y) \
         JOIN generate_series(1,2) c(y) USING (y)",
    )
    .unwrap();
    let got: Vec<(&str, Oid)> = cols.iter().map(|c| (c.name.as_str(), c.type_oid)).collect();
    assert_eq!(got, vec![("x", INT4), ("y", INT8)]);
}

/// UNION/INTERSECT/EXCEPT [ALL], SELECT DISTINCT and VALUES; every
/// expected output is PostgreSQL 15's (`psql -AtX -c`).
#[test]
fn set_operations_distinct_and_values_match_postgres() {
    let cases: &[(&str, &str)] = &[
        (
            "SELECT 1 UNION SELECT 2 UNION SELECT 1 ORDER BY 1",
            "1\n2",
        ),
        (
            "SELECT x FROM generate_series(1,3) x UNION ALL SELECT x FROM generate_series(2,3) x ORDER BY 1",
            "1\n2\n2\n3\n3",
        ),
        (
            "SELECT x FROM generate_series(1,5) x INTERSECT SELECT y * 2 FROM generate_series(1,5) y ORDER BY 1",
            "2\n4",
        ),
        (
            "SELECT x % 3 FROM generate_series(1,7) x INTERSECT ALL SELECT x % 2 FROM generate_series(1,4) x ORDER BY 1",
            "0\n0\n1\n1",
        ),
        (
            "SELECT x FROM generate_series(1,5) x EXCEPT SELECT 2 ORDER BY x DESC",
            "5\n4\n3\n1",
        ),
        (
            "SELECT x % 3 AS r FROM generate_series(1,7) x EXCEPT ALL SELECT 1 ORDER BY r",
            "0\n0\n1\n1\n2\n2",
        ),
        (
            "SELECT 1 AS a, NULL UNION SELECT 2, 'x' ORDER BY a",
            "1|\n2|x",
        ),
        (
            "SELECT NULL UNION SELECT NULL",
            "",
        ),
        (
            "SELECT 1.5 UNION SELECT 1 ORDER BY 1",
            "1\n1.5",
        ),
        (
            "SELECT DISTINCT x % 3 FROM generate_series(1,10) x ORDER BY 1",
            "0\n1\n2",
        ),
        (
            "SELECT DISTINCT x % 2, x % 3 FROM generate_series(1,10) x ORDER BY 1, 2",
            "0|0\n0|1\n0|2\n1|0\n1|1\n1|2",
        ),
        (
            "SELECT count(*) FROM (SELECT DISTINCT x / 4 FROM generate_series(1,20) x) s",
            "6",
        ),
        (
            "VALUES (1, 'a'), (2, 'b') ORDER BY 1 DESC",
            "2|b\n1|a",
        ),
        (
            "SELECT * FROM (VALUES (1, 'one'), (2, 'two'), (3, NULL)) AS v(n, w) WHERE n > 1",
            "2|two\n3|",
        ),
        (
            "SELECT v.column1 + 1 FROM (VALUES (1), (2.5)) v",
            "2\n3.5",
        ),
        (
            "SELECT n, w FROM (VALUES (1, 'one'), (2, 'two')) AS v(n, w) JOIN generate_series(2,3) g ON g = n",
            "2|two",
        ),
        (
            "SELECT x FROM generate_series(1,4) x WHERE x IN (SELECT 1 UNION SELECT 3) ORDER BY 1",
            "1\n3",
        ),
        (
            "(SELECT 3 ORDER BY 1 LIMIT 1) UNION ALL (SELECT 1) ORDER BY 1 LIMIT 5",
            "1\n3",
        ),
        (
            "SELECT * FROM (SELECT 1 AS a UNION ALL SELECT 2) s ORDER BY a DESC",
            "2\n1",
        ),
        (
            "SELECT 1, 2 UNION SELECT 3, 4 EXCEPT SELECT 1, 2",
            "3|4",
        ),
    ];
    for (sql, want) in cases {
        assert_eq!(psql_rows(sql), *want, "{sql}");
    }
    let errors: &[(&str, &str, &str)] = &[
        (
            "SELECT 1 UNION SELECT 1, 2",
            "42601",
            "each UNION query must have the same number of columns",
        ),
        (
            "SELECT 1 UNION SELECT 'a'",
            "22P02",
            "invalid input syntax for type integer: \"a\"",
        ),
        (
            "SELECT 1 UNION SELECT true",
            "42804",
            "UNION types integer and boolean cannot be matched",
        ),
        (
            "VALUES (1), (1, 2)",
            "42601",
            "VALUES lists must all be the same length",
        ),
        (
            "SELECT DISTINCT x FROM generate_series(1,3) x ORDER BY -x",
            "42P10",
            "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
        ),
    ];
    for (sql, code, msg) in errors {
        let e = err(sql);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (*code, *msg),
            "{sql}"
        );
    }
}

/// WITH and WITH RECURSIVE; every expected output is PostgreSQL 15's
/// (`psql -AtX`) for the same query.
#[test]
fn with_queries_match_postgres() {
    let cases: &[(&str, &str)] = &[
        ("WITH t AS (SELECT 1 AS a, 'x' AS b) SELECT * FROM t", "1|x"),
        (
            "WITH t(x) AS (SELECT g FROM generate_series(1,3) g), u AS (SELECT x * 10 AS y FROM t) \
             SELECT t.x, u.y FROM t JOIN u ON u.y = t.x * 10 ORDER BY 1",
            "1|10\n2|20\n3|30",
        ),
        (
            "WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n+1 FROM t WHERE n < 5) SELECT sum(n) FROM t",
            "15",
        ),
        // An endless recursion read under a LIMIT: rows are produced on demand.
        (
            "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM t) SELECT * FROM t LIMIT 4",
            "1\n2\n3\n4",
        ),
        // UNION (not ALL) stops when a round adds no new row.
        (
            "WITH RECURSIVE t(n) AS (SELECT 1 UNION SELECT (n % 3) + 1 FROM t) SELECT * FROM t ORDER BY 1",
            "1\n2\n3",
        ),
        // A correlated subquery reads the WITH query's rows each time.
        (
            "WITH t AS (SELECT g FROM generate_series(1,4) g) \
             SELECT g, (SELECT count(*) FROM t WHERE t.g < o.g) FROM t o ORDER BY 1",
            "1|0\n2|1\n3|2\n4|3",
        ),
        (
            "WITH RECURSIVE fib(a, b) AS (SELECT 0::bigint, 1::bigint UNION ALL SELECT b, a + b FROM fib WHERE b < 50) SELECT a FROM fib",
            "0\n1\n1\n2\n3\n5\n8\n13\n21\n34",
        ),
        ("WITH RECURSIVE t AS (SELECT 1 AS n) SELECT * FROM t", "1"),
        (
            "SELECT * FROM (WITH t AS (SELECT 5 AS v) SELECT v + 1 AS w FROM t) s",
            "6",
        ),
        ("WITH t AS (SELECT 1 AS a) SELECT * FROM t x(b)", "1"),
        (
            "WITH t AS (SELECT 'a' AS s UNION ALL SELECT 'b') SELECT s || 'z' FROM t",
            "az\nbz",
        ),
        // A WITH name hides a relation of that name; an inner WITH an outer one.
        (
            "WITH t AS (SELECT 1 AS a) SELECT (WITH t AS (SELECT 2 AS a) SELECT a FROM t), a FROM t",
            "2|1",
        ),
    ];
    for (sql, want) in cases {
        assert_eq!(psql_rows(sql), *want, "{sql}");
    }
    let mut h = FakeHost::new();
    let (cols, _, _) = run(
        &mut h,
        "WITH t(x, y) AS (SELECT 1, 2::int8, 'u') SELECT * FROM t",
    )
    .unwrap();
    let got: Vec<(&str, Oid)> = cols.iter().map(|c| (c.name.as_str(), c.type_oid)).collect();
    assert_eq!(got, vec![("x", INT4), ("y", INT8), ("?column?", TEXT)]);

    let errors: &[(&str, &str, &str)] = &[
        (
            "WITH t AS (SELECT 1), t AS (SELECT 2) SELECT * FROM t",
            "42712",
            "WITH query name \"t\" specified more than once",
        ),
        (
            "WITH t(a, b) AS (SELECT 1) SELECT * FROM t",
            "42P10",
            "WITH query \"t\" has 1 columns available but 2 columns specified",
        ),
        (
            "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n::bigint + 1 FROM t WHERE n < 3) SELECT * FROM t",
            "42804",
            "recursive query \"t\" column 1 has type integer in non-recursive term but type bigint overall",
        ),
        (
            "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT t1.n + 1 FROM t t1, t t2 WHERE t1.n < 3) SELECT * FROM t",
            "42P19",
            "recursive reference to query \"t\" must not appear more than once",
        ),
        // Not RECURSIVE: the query does not see itself.
        (
            "WITH t AS (SELECT 1 UNION ALL SELECT 2 FROM t) SELECT * FROM t",
            "42P01",
            "relation \"t\" does not exist",
        ),
    ];
    for (sql, code, msg) in errors {
        let e = err(sql);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (*code, *msg),
            "{sql}"
        );
    }
}

/// SELECT DISTINCT ON; every expected output is PostgreSQL 15's (`psql -AtX`).
#[test]
fn distinct_on_matches_postgres() {
    let cases: &[(&str, &str)] = &[
        (
            "SELECT DISTINCT ON (x % 3) x % 3 AS k, x FROM generate_series(1,10) x ORDER BY x % 3, x DESC",
            "0|9\n1|10\n2|8",
        ),
        (
            "SELECT DISTINCT ON (1) x % 3 AS k, x FROM generate_series(1,10) x ORDER BY 1, 2",
            "0|3\n1|1\n2|2",
        ),
        // ON expressions missing from ORDER BY are sorted on after it.
        (
            "SELECT DISTINCT ON (x / 4, x % 2) x FROM generate_series(1,10) x ORDER BY x % 2, x / 4, x DESC",
            "2\n6\n10\n3\n7\n9",
        ),
        (
            "SELECT DISTINCT ON (x / 4) x FROM generate_series(1,10) x ORDER BY x / 4 DESC, x LIMIT 2",
            "8\n4",
        ),
    ];
    for (sql, want) in cases {
        assert_eq!(psql_rows(sql), *want, "{sql}");
    }
    let e = err("SELECT DISTINCT ON (x / 4) x FROM generate_series(1,10) x ORDER BY x DESC");
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        (
            "42P10",
            "SELECT DISTINCT ON expressions must match initial ORDER BY expressions"
        )
    );
}

/// Window functions; every expected output is PostgreSQL 15's (`psql -AtX`).
#[test]
fn window_functions_match_postgres() {
    let cases: &[(&str, &str)] = &[
        (
            "SELECT x, x % 3 AS p, row_number() OVER (PARTITION BY x % 3 ORDER BY x), rank() OVER (ORDER BY x / 3), dense_rank() OVER (ORDER BY x / 3) FROM generate_series(1,7) x ORDER BY x",
            "1|1|1|1|1\n2|2|1|1|1\n3|0|1|3|2\n4|1|2|3|2\n5|2|2|3|2\n6|0|2|6|3\n7|1|3|6|3",
        ),
        // The default frame ends at the current row's last peer.
        (
            "SELECT x, sum(x) OVER (ORDER BY x / 2), count(*) OVER (), avg(x) OVER (PARTITION BY x % 2) FROM generate_series(1,6) x ORDER BY x",
            "1|1|6|3.0000000000000000\n2|6|6|4.0000000000000000\n3|6|6|3.0000000000000000\n4|15|6|4.0000000000000000\n5|15|6|3.0000000000000000\n6|21|6|4.0000000000000000",
        ),
        (
            "SELECT x, lag(x) OVER (ORDER BY x), lead(x, 2, -1) OVER (ORDER BY x), first_value(x) OVER w, last_value(x) OVER w, nth_value(x, 2) OVER w FROM generate_series(1,5) x WINDOW w AS (ORDER BY x ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) ORDER BY x",
            "1||3|1|2|2\n2|1|4|1|3|2\n3|2|5|2|4|3\n4|3|-1|3|5|4\n5|4|-1|4|5|5",
        ),
        (
            "SELECT x, sum(x) OVER (ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), min(x) OVER (ORDER BY x DESC ROWS 2 PRECEDING), max(x) OVER (ORDER BY x RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM generate_series(1,5) x ORDER BY x",
            "1|15|1|5\n2|15|2|5\n3|15|3|5\n4|15|4|5\n5|15|5|5",
        ),
        (
            "SELECT x, ntile(3) OVER (ORDER BY x), percent_rank() OVER (ORDER BY x / 2), cume_dist() OVER (ORDER BY x / 2) FROM generate_series(1,7) x ORDER BY x",
            "1|1|0|0.14285714285714285\n2|1|0.16666666666666666|0.42857142857142855\n3|1|0.16666666666666666|0.42857142857142855\n4|2|0.5|0.7142857142857143\n5|2|0.5|0.7142857142857143\n6|3|0.8333333333333334|1\n7|3|0.8333333333333334|1",
        ),
        // Over a grouped query: the windows read the groups.
        (
            "SELECT k, sum(x), sum(sum(x)) OVER (), rank() OVER (ORDER BY sum(x) DESC) FROM (SELECT x % 2 AS k, x FROM generate_series(1,5) x) s GROUP BY k ORDER BY 1",
            "0|6|15|2\n1|9|15|1",
        ),
        // Without ORDER BY, rows come out in the window's order.
        (
            "SELECT x, row_number() OVER (ORDER BY x DESC) FROM generate_series(1,3) x",
            "3|1\n2|2\n1|3",
        ),
    ];
    for (sql, want) in cases {
        assert_eq!(psql_rows(sql), *want, "{sql}");
    }
    let errors: &[(&str, &str, &str)] = &[
        (
            "SELECT x FROM generate_series(1,3) x WHERE row_number() OVER () > 1",
            "42P20",
            "window functions are not allowed in WHERE",
        ),
        (
            "SELECT sum(row_number() OVER ()) FROM generate_series(1,3) x",
            "42803",
            "aggregate function calls cannot contain window function calls",
        ),
        (
            "SELECT x, abs(x) OVER () FROM generate_series(1,3) x",
            "42809",
            "OVER specified, but abs is not a window function nor an aggregate function",
        ),
    ];
    for (sql, code, msg) in errors {
        let e = err(sql);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (*code, *msg),
            "{sql}"
        );
    }
}

/// LATERAL subqueries; every expected output is PostgreSQL 15's (`psql -AtX`).
#[test]
fn lateral_subqueries_match_postgres() {
    let cases: &[(&str, &str)] = &[
        (
            "SELECT a, s.b FROM generate_series(1,3) a, LATERAL (SELECT a * 10 AS b) s ORDER BY 1",
            "1|10\n2|20\n3|30",
        ),
        (
            "SELECT a, s.c FROM generate_series(1,3) a, LATERAL (SELECT count(*) AS c FROM generate_series(1, a) g) s ORDER BY 1",
            "1|1\n2|2\n3|3",
        ),
        (
            "SELECT a, s.g FROM generate_series(1,3) a LEFT JOIN LATERAL (SELECT g FROM generate_series(1,3) g WHERE g < a) s ON true ORDER BY 1, 2",
            "1|\n2|1\n3|1\n3|2",
        ),
        (
            "SELECT a, s.g FROM generate_series(1,3) a JOIN LATERAL (SELECT g FROM generate_series(1,3) g WHERE g <= a) s ON s.g = a ORDER BY 1",
            "1|1\n2|2\n3|3",
        ),
        (
            "SELECT a, s.m FROM generate_series(1,4) a CROSS JOIN LATERAL (SELECT max(g) AS m FROM generate_series(1,10) g WHERE g % a = 0) s ORDER BY 1",
            "1|10\n2|10\n3|9\n4|8",
        ),
    ];
    for (sql, want) in cases {
        assert_eq!(psql_rows(sql), *want, "{sql}");
    }
}

mod aggs;
/// Error cursor positions (bind/errpos.rs).
mod errpos;
/// PL/pgSQL's compiled simple expressions (plfast.rs) against the
/// general evaluator.
mod plfast;

/// The plan cache (plancache.rs) is really used: a second text of a shape comes back as
/// the cached plan with its literals as parameter values, runs to the second text's
/// result, and a changed settings generation is a miss.
#[test]
fn a_repeated_shape_runs_the_cached_plan() {
    let mut h = FakeHost::new();
    let parsed =
        |h: &FakeHost, sql: &str, settings: u64| match crate::parse_simple(sql, h, settings) {
            Ok(crate::Simple::Parsed(v)) => Some(v),
            Ok(crate::Simple::Cached { .. }) => None,
            Err((e, _)) => panic!("{sql}: {e:?}"),
        };
    let first = parsed(&h, "SELECT 1 + 2 AS x", 0).expect("first text is parsed");
    let p = prepare(&first[0], &[], &h).unwrap();
    crate::remember_plan(&first[0], &p, &h, 0);
    let Ok(crate::Simple::Cached { prepared, params }) =
        crate::parse_simple("SELECT 5 + 7 AS x", &h, 0)
    else {
        panic!("second text of the shape was not served from the plan cache");
    };
    assert_eq!(params, vec![Value::Int4(5), Value::Int4(7)]);
    let rels = FakeRelations(h.activity.clone());
    let out = execute(&prepared, &params, &mut h, &rels).unwrap();
    assert_eq!(out.rows, vec![vec![Value::Int4(12)]]);
    assert!(
        parsed(&h, "SELECT 5 + 7 AS x", 1).is_some(),
        "another settings generation misses"
    );
}
