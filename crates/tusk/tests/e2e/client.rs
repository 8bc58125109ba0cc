//! The Rust `postgres` crate as a client: the simple protocol, the
//! extended protocol with parameters, prepared statements across
//! transactions, errors that never end the session, the aborted
//! transaction state, and the rules of SET.

use crate::util::{
    backend_pid, describe_error, expect_sqlstate, simple_rows, simple_value, Opts, TestServer,
};
use postgres::SimpleQueryMessage;

#[test]
fn simple_query_protocol() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();

    // Several statements in one Query message: each has its own result.
    let msgs = c
        .simple_query("SELECT 1 AS a, 'x' AS b; SELECT 2; SELECT 'three'")
        .expect("multi-statement query");
    let rows: Vec<Vec<Option<&str>>> = msgs
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i)).collect()),
            _ => None,
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            vec![Some("1"), Some("x")],
            vec![Some("2")],
            vec![Some("three")]
        ]
    );
    let completes = msgs
        .iter()
        .filter(|m| matches!(m, SimpleQueryMessage::CommandComplete(_)))
        .count();
    assert_eq!(completes, 3, "one CommandComplete per statement");
    // Column names come from the aliases.
    let names: Vec<String> = msgs
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some(r.columns().iter().map(|c| c.name().to_string()).collect())
            }
            _ => None,
        })
        .expect("a row");
    assert_eq!(names, ["a", "b"]);

    // batch_execute: statements run in order, effects persist in the session.
    c.batch_execute("SET application_name = 'batch'; SELECT 1; SET statement_timeout = '5s'")
        .expect("batch");
    assert_eq!(
        simple_value(&mut c, "SHOW application_name").as_deref(),
        Some("batch")
    );
    assert_eq!(
        simple_value(&mut c, "SHOW statement_timeout").as_deref(),
        Some("5s")
    );

    // An empty query string is answered (EmptyQueryResponse), not an error.
    assert!(c
        .simple_query("")
        .expect("empty query")
        .iter()
        .all(|m| !matches!(m, SimpleQueryMessage::Row(_))));
}

#[test]
fn extended_query_with_parameters() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();

    let r = c
        .query("SELECT $1::int4 + 1", &[&41i32])
        .expect("int4 parameter");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].get::<_, i32>(0), 42);

    let r = c
        .query_one("SELECT $1::text || '!'", &[&"hi"])
        .expect("text parameter");
    assert_eq!(r.get::<_, String>(0), "hi!");

    let r = c
        .query_one(
            "SELECT $1::int8 * 2, $2::bool, $3::float8",
            &[&21i64, &true, &1.5f64],
        )
        .expect("mixed parameters");
    assert_eq!(r.get::<_, i64>(0), 42);
    assert!(r.get::<_, bool>(1));
    assert_eq!(r.get::<_, f64>(2), 1.5);

    // NULL parameters and NULL results.
    let r = c
        .query_one("SELECT $1::int4 IS NULL, $1::int4", &[&None::<i32>])
        .expect("NULL parameter");
    assert!(r.get::<_, bool>(0));
    assert_eq!(r.get::<_, Option<i32>>(1), None);

    // The same query text many times (the unnamed statement is replaced).
    for i in 0..20i32 {
        let r = c
            .query_one("SELECT $1::int4 * $1::int4", &[&i])
            .expect("repeat");
        assert_eq!(r.get::<_, i32>(0), i * i);
    }
}

#[test]
fn prepared_statement_across_transactions() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let st = c.prepare("SELECT $1::int4 * 2").expect("prepare");

    let mut t1 = c.transaction().expect("BEGIN 1");
    assert_eq!(
        t1.query_one(&st, &[&5i32])
            .expect("execute in txn 1")
            .get::<_, i32>(0),
        10
    );
    t1.commit().expect("COMMIT 1");

    let mut t2 = c.transaction().expect("BEGIN 2");
    assert_eq!(
        t2.query_one(&st, &[&10i32])
            .expect("execute in txn 2")
            .get::<_, i32>(0),
        20
    );
    t2.rollback().expect("ROLLBACK 2");

    // And outside any transaction block.
    assert_eq!(
        c.query_one(&st, &[&21i32])
            .expect("execute outside txn")
            .get::<_, i32>(0),
        42
    );
}

#[test]
fn errors_never_end_the_session() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let pid = backend_pid(&mut c);

    let e = expect_sqlstate(c.simple_query("SELEC 1"), &["42601"]);
    assert_eq!(e.severity(), "ERROR");
    assert_eq!(simple_value(&mut c, "SELECT 1").as_deref(), Some("1"));

    // Statements the server does not support yet: a clean ERROR.
    for sql in [
        "CREATE TABLE t (a int REFERENCES nosuchtable (a))",
        "SELECT * FROM nosuchtable",
    ] {
        let e = expect_sqlstate(c.simple_query(sql), &["0A000", "42P01"]);
        assert_eq!(e.severity(), "ERROR", "{sql}");
        assert_eq!(
            simple_value(&mut c, "SELECT 2").as_deref(),
            Some("2"),
            "after {sql}"
        );
    }

    let e = expect_sqlstate(c.simple_query("SELECT 1/0"), &["22012"]);
    assert_eq!(e.message(), "division by zero");
    // The same errors through the extended protocol.
    expect_sqlstate(c.query("SELECT 1/0", &[]), &["22012"]);
    expect_sqlstate(c.query("SELEC 1", &[]), &["42601"]);
    let e = expect_sqlstate(
        c.query("SELECT $1::text::int4", &[&"not a number"]),
        &["22P02"],
    );
    assert!(e.message().contains("not a number"), "{}", e.message());

    // Still the same backend process: nothing crashed or reconnected.
    assert_eq!(backend_pid(&mut c), pid);
    assert_eq!(
        c.query_one("SELECT 40 + 2", &[])
            .map(|r| r.get::<_, i32>(0))
            .map_err(|e| describe_error(&e)),
        Ok(42)
    );
    assert!(
        !srv.log().contains("terminated by signal"),
        "a backend crashed:\n{}",
        srv.log()
    );
}

#[test]
fn aborted_transaction_state() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();

    c.simple_query("BEGIN").expect("BEGIN");
    expect_sqlstate(c.simple_query("SELECT 1/0"), &["22012"]);
    // Every statement is refused until the block ends, through both protocols.
    for _ in 0..2 {
        let e = expect_sqlstate(c.simple_query("SELECT 1"), &["25P02"]);
        assert_eq!(
            e.message(),
            "current transaction is aborted, commands ignored until end of transaction block"
        );
    }
    expect_sqlstate(c.query("SELECT 1", &[]), &["25P02"]);
    expect_sqlstate(c.simple_query("SET application_name = 'z'"), &["25P02"]);
    c.simple_query("ROLLBACK").expect("ROLLBACK");
    assert_eq!(simple_value(&mut c, "SELECT 1").as_deref(), Some("1"));

    // COMMIT of an aborted block ends it too (as a rollback).
    c.batch_execute("BEGIN").expect("BEGIN");
    expect_sqlstate(c.simple_query("SELEC"), &["42601"]);
    c.simple_query("COMMIT")
        .expect("COMMIT of an aborted block");
    assert_eq!(simple_value(&mut c, "SELECT 2").as_deref(), Some("2"));

    // An error inside a multi-statement query aborts the rest of it.
    expect_sqlstate(c.simple_query("BEGIN; SELECT 1/0; SELECT 3"), &["22012"]);
    expect_sqlstate(c.simple_query("SELECT 4"), &["25P02"]);
    c.simple_query("ROLLBACK").expect("ROLLBACK");
    assert_eq!(
        simple_rows(&mut c, "SELECT 5"),
        vec![vec![Some("5".to_string())]]
    );
}

#[test]
fn set_rules() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();

    let e = expect_sqlstate(c.simple_query("SET max_connections = 5"), &["55P02"]);
    assert!(e.message().contains("max_connections"), "{}", e.message());
    assert_eq!(
        simple_value(&mut c, "SHOW max_connections").as_deref(),
        Some("10")
    );

    // An unknown setting and a bad value.
    expect_sqlstate(c.simple_query("SET no_such_setting = 1"), &["42704"]);
    expect_sqlstate(c.simple_query("SET statement_timeout = 'soon'"), &["22023"]);

    // application_name is visible to other sessions through pg_stat_activity.
    c.simple_query("SET application_name = 'x'")
        .expect("SET application_name");
    let pid = backend_pid(&mut c);
    let mut other = srv.connect();
    let seen = crate::util::wait_for(std::time::Duration::from_secs(5), || {
        let rows = crate::util::simple_rows(
            &mut other,
            &format!("SELECT application_name FROM pg_stat_activity WHERE pid = {pid}"),
        );
        (rows == vec![vec![Some("x".to_string())]]).then_some(())
    });
    assert!(
        seen.is_some(),
        "pg_stat_activity did not show application_name 'x' for {pid}"
    );
    let own: Option<String> = c
        .query_one(
            "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()",
            &[],
        )
        .expect("own row")
        .get(0);
    assert_eq!(own.as_deref(), Some("x"));

    // RESET goes back to the connection's value.
    c.simple_query("RESET application_name").expect("RESET");
    assert_eq!(
        simple_value(&mut c, "SHOW application_name").as_deref(),
        Some("")
    );
}

#[test]
fn checkpoint_is_served_by_the_checkpointer() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let control = srv.data_dir().join("global").join("pg_control");
    let mtime = || {
        std::fs::metadata(&control)
            .and_then(|m| m.modified())
            .expect("pg_control mtime")
    };
    let before = mtime();
    let msgs = c.simple_query("CHECKPOINT").expect("CHECKPOINT");
    assert!(
        msgs.iter()
            .any(|m| matches!(m, SimpleQueryMessage::CommandComplete(_))),
        "CHECKPOINT completes"
    );
    // The checkpointer rewrote pg_control before CHECKPOINT returned.
    assert!(
        mtime() > before,
        "pg_control was not rewritten by the checkpoint"
    );
    let after = tusk_storage::control::ControlFileData::read(srv.data_dir()).expect("pg_control");
    assert_eq!(after.state(), tusk_storage::control::DbState::InProduction);
    assert!(srv.log().contains("checkpoint complete"), "{}", srv.log());
    // The checkpointer has a buffer manager over the pool, and reports
    // what it wrote: nothing in the server dirties a buffer yet, so 0.
    assert!(
        srv.log()
            .contains("checkpoint complete: wrote 0 buffers (0.0%);"),
        "{}",
        srv.log()
    );
    assert!(!srv.log().contains("no buffer pool"), "{}", srv.log());
    // CHECKPOINT takes no arguments.
    let err = c.simple_query("CHECKPOINT now").unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42601"));
}

/// Puts pg_control back when dropped, so that the server can write its
/// shutdown checkpoint even if the test failed half-way.
struct ControlFileAside {
    path: std::path::PathBuf,
    aside: std::path::PathBuf,
}

impl ControlFileAside {
    /// Moves pg_control away and puts a directory in its place: what the
    /// checkpointer really touches (it reads and rewrites that file) now
    /// fails with EISDIR, whoever the server runs as.
    fn new(data_dir: &std::path::Path) -> ControlFileAside {
        let path = data_dir.join("global").join("pg_control");
        let aside = data_dir.join("global").join("pg_control.aside");
        std::fs::rename(&path, &aside).expect("move pg_control aside");
        std::fs::create_dir(&path).expect("a directory named pg_control");
        ControlFileAside { path, aside }
    }
}

impl Drop for ControlFileAside {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
        let _ = std::fs::rename(&self.aside, &self.path);
    }
}

#[test]
fn a_failed_checkpoint_is_reported_to_the_checkpoint_caller() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    {
        let _broken = ControlFileAside::new(srv.data_dir());
        let e = expect_sqlstate(c.simple_query("CHECKPOINT"), &["XX000"]);
        assert_eq!(e.severity(), "ERROR");
        assert_eq!(e.message(), "checkpoint request failed");
        assert_eq!(
            e.hint(),
            Some("Consult recent messages in the server log for details.")
        );
        assert!(
            srv.log().contains("checkpoint failed:"),
            "the checkpointer logs why: {}",
            srv.log()
        );
        // The session goes on.
        assert_eq!(simple_value(&mut c, "SELECT 1").as_deref(), Some("1"));
    }
    // With pg_control back, the next request succeeds, and two sessions
    // waiting at once are both woken.
    let mut c2 = srv.connect();
    let other = std::thread::spawn(move || c2.simple_query("CHECKPOINT").map(|_| ()));
    c.simple_query("CHECKPOINT")
        .expect("CHECKPOINT after repair");
    other
        .join()
        .expect("second session")
        .expect("concurrent CHECKPOINT");
}

#[test]
fn statement_timeout_cancels_a_long_statement() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    c.batch_execute("SET statement_timeout = '200ms'")
        .expect("SET");
    let err = c.simple_query("SELECT pg_sleep(30)").unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err}");
    assert!(
        err.as_db_error()
            .is_some_and(|e| e.message() == "canceling statement due to statement timeout"),
        "{err}"
    );
    // The session goes on, and a quick statement is not affected.
    let rows = c
        .simple_query("SELECT 1")
        .expect("SELECT 1 after the timeout");
    assert!(rows.iter().any(|m| matches!(m, SimpleQueryMessage::Row(_))));
}

/// rust-postgres's portals: `query_portal` with a row limit fetches 1000
/// rows of generate_series 10 at a time, in order, through one portal.
#[test]
fn portal_fetches_rows_in_batches() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let mut t = c.transaction().expect("BEGIN");
    let stmt = t
        .prepare("SELECT * FROM generate_series($1::int4, $2::int4)")
        .expect("prepare");
    let portal = t.bind(&stmt, &[&1i32, &1000i32]).expect("bind");
    let mut got: Vec<i32> = Vec::new();
    let mut batches = 0;
    loop {
        let rows = t.query_portal(&portal, 10).expect("query_portal");
        if rows.is_empty() {
            break;
        }
        assert!(rows.len() <= 10, "a batch of {}", rows.len());
        got.extend(rows.iter().map(|r| r.get::<_, i32>(0)));
        batches += 1;
    }
    assert_eq!(batches, 100);
    assert_eq!(got, (1..=1000).collect::<Vec<i32>>());
    // The portal is finished; the transaction is fine.
    let n: i64 = t
        .query_one("SELECT count(*) FROM generate_series(1, 1000)", &[])
        .expect("count")
        .get(0);
    assert_eq!(n, 1000);
    t.commit().expect("COMMIT");
}
