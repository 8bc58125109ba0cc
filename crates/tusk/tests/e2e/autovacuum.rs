//! Table counters (pg_stat_user_tables) and autovacuum: counts follow
//! commits and aborts, a table updated over and over is vacuumed by the
//! launcher's workers and stays small (against the same run with
//! autovacuum off), and a killed worker is a crash restart.

use crate::util::{simple_rows, simple_value, wait_for, wait_until, Opts, TestServer};
use std::time::Duration;
use std::time::Instant;

fn stat(c: &mut postgres::Client, table: &str) -> Vec<Option<String>> {
    let q = format!(
        "SELECT n_tup_ins, n_tup_upd, n_tup_del, n_live_tup, n_dead_tup, vacuum_count, \
         autovacuum_count, last_vacuum IS NOT NULL, last_autovacuum IS NOT NULL \
         FROM pg_stat_user_tables WHERE relname = '{table}'"
    );
    simple_rows(c, &q)
        .into_iter()
        .next()
        .expect("a row for the table")
}

fn strs(v: &[Option<String>]) -> Vec<&str> {
    v.iter().map(|s| s.as_deref().unwrap_or("NULL")).collect()
}

/// Only committed changes count; an aborted insert's rows are dead; a
/// VACUUM sets the live and dead counts and is counted as a manual one.
#[test]
fn counters_follow_commits_and_aborts_and_vacuum() {
    let srv = TestServer::start(Opts::new().set("autovacuum", "off"));
    let mut c = srv.connect();
    c.batch_execute(
        "CREATE TABLE t (a int, b text); \
         INSERT INTO t SELECT g, 'x' FROM generate_series(1, 10) g; \
         UPDATE t SET b = 'y' WHERE a <= 3; \
         DELETE FROM t WHERE a > 8;",
    )
    .unwrap();
    c.batch_execute("BEGIN; INSERT INTO t SELECT g, 'z' FROM generate_series(1, 5) g; ROLLBACK")
        .unwrap();
    assert_eq!(
        strs(&stat(&mut c, "t")),
        ["10", "3", "2", "8", "10", "0", "0", "f", "f"]
    );
    c.batch_execute("VACUUM t").unwrap();
    assert_eq!(
        strs(&stat(&mut c, "t")),
        ["10", "3", "2", "8", "0", "1", "0", "t", "f"]
    );
    let cols = simple_rows(
        &mut c,
        "SELECT relid > 16383, schemaname, relname FROM pg_stat_user_tables",
    );
    assert_eq!(
        cols,
        [vec![
            Some("t".into()),
            Some("public".into()),
            Some("t".into())
        ]]
    );
}

/// Bytes of `table`'s main fork on disk.
fn table_bytes(srv: &TestServer, c: &mut postgres::Client, table: &str) -> u64 {
    let db = simple_value(
        c,
        "SELECT oid FROM pg_database WHERE datname = current_database()",
    )
    .unwrap();
    let node = simple_value(
        c,
        &format!("SELECT relfilenode FROM pg_class WHERE relname = '{table}'"),
    )
    .unwrap();
    std::fs::metadata(srv.data_dir().join("base").join(db).join(node))
        .map(|m| m.len())
        .unwrap_or(0)
}

/// A 1000-row table updated in full 10 times: with autovacuum_naptime=1s
/// a worker vacuums it after each round (waited for with a deadline) and
/// the file stays a fraction of the one autovacuum=off leaves.
#[test]
fn autovacuum_keeps_an_updated_table_small() {
    let run = |on: bool| -> (u64, String) {
        let srv = TestServer::start(
            Opts::new()
                .set("autovacuum", if on { "on" } else { "off" })
                .set("autovacuum_naptime", "1s")
                .set("log_autovacuum_min_duration", "0"),
        );
        let mut c = srv.connect();
        c.batch_execute(
            "CREATE TABLE av (a int, b text); \
             INSERT INTO av SELECT g, 'some text to fill a row' FROM generate_series(1, 1000) g;",
        )
        .unwrap();
        for round in 0..10 {
            c.batch_execute("UPDATE av SET a = a + 1").unwrap();
            if on {
                let done = wait_until(Duration::from_secs(60), || {
                    stat(&mut c, "av")[6]
                        .as_deref()
                        .unwrap()
                        .parse::<u32>()
                        .unwrap()
                        > round
                });
                assert!(done, "round {round}: no autovacuum: {}", srv.log());
            }
        }
        let s = stat(&mut c, "av");
        if !on {
            assert_eq!(strs(&s)[6], "0", "autovacuum=off vacuumed");
            assert_eq!(strs(&s)[4], "10000");
        } else {
            assert_eq!(strs(&s)[8], "t");
        }
        (table_bytes(&srv, &mut c, "av"), srv.log())
    };
    let (on, log) = run(true);
    let (off, _) = run(false);
    assert!(
        on * 3 < off,
        "with autovacuum {on} bytes, without {off} bytes"
    );
    assert!(
        log.contains("automatic vacuum of table \"postgres.public.av\""),
        "{log}"
    );
}

/// The process title of `pid` ("tusk: autovacuum worker postgres ...").
fn title(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('\0', " ")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

/// Makes enough dead tuples that a worker's VACUUM takes a while, and
/// returns a running worker's PID once one is seen (deadline 60 s).
fn busy_worker(srv: &TestServer, c: &mut postgres::Client, round: usize) -> i32 {
    if round == 0 {
        c.batch_execute(
            "CREATE TABLE big (a int, b text); \
             INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 80000) g;",
        )
        .unwrap();
    }
    c.batch_execute("UPDATE big SET a = a + 1").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    wait_for(deadline - Instant::now(), || {
        srv.children()
            .into_iter()
            .find(|p| title(p.pid).starts_with("tusk: autovacuum worker postgres"))
            .map(|p| p.pid)
    })
    .unwrap_or_else(|| panic!("round {round}: no autovacuum worker: {}", srv.log()))
}

/// SIGKILL of a worker is a crash restart (as PostgreSQL: it had shared
/// memory attached), after which the data is intact; then a fast stop
/// while another worker runs ends the worker and the server cleanly.
#[test]
fn killed_worker_is_a_crash_restart_and_stop_ends_a_running_worker() {
    let mut srv = TestServer::start(
        Opts::new()
            .set("autovacuum_naptime", "1s")
            .set("max_connections", "10"),
    );
    let mut c = srv.connect();
    let pid = busy_worker(&srv, &mut c, 0);
    assert!(crate::util::signal(pid, libc::SIGKILL));
    assert!(
        wait_until(Duration::from_secs(10), || srv.log().contains(&format!(
            "autovacuum worker (PID {pid}) was terminated by signal 9"
        ))),
        "{}",
        srv.log()
    );
    drop(c);
    let mut c = wait_for(Duration::from_secs(60), || srv.try_connect().ok())
        .expect("connections are accepted again");
    assert!(srv
        .log()
        .contains("all server processes terminated; reinitializing"));
    assert_eq!(
        simple_rows(&mut c, "SELECT count(*), sum(a) FROM big"),
        [vec![
            Some("80000".into()),
            Some((80000u64 * 80001 / 2 + 80000).to_string())
        ]]
    );
    // Counters start again from zero after the restart (new shared
    // memory): the next update is what the launcher sees.
    let worker = busy_worker(&srv, &mut c, 1);
    let w = crate::util::Proc::of(worker).expect("the worker");
    drop(c);
    let st = srv.stop_with(libc::SIGINT);
    assert!(st.success(), "fast stop: {st}\n{}", srv.log());
    assert!(!w.is_running(), "the worker outlived the stop");
    srv.assert_no_ipc_left();
}
