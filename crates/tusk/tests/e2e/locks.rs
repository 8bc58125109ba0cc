//! LOCK TABLE and pg_locks against the real binary (issue 10 item 2):
//! every mode's spelling reaches the lock manager, NOWAIT and
//! lock_timeout fail with PostgreSQL's 55P03 texts, pg_locks shows who
//! holds and who waits, and a full lock table is 53200 with the hint to
//! raise max_locks_per_transaction.
//!
//! Answers compared with PostgreSQL 15: `LOCK t` outside a block,
//! `LOCK t IN ACCESS SHARE MODE NOWAIT` against an ACCESS EXCLUSIVE
//! holder, and pg_locks' mode names.

use crate::util::exec;
use crate::util::{backend_pid, expect_sqlstate, simple_rows, wait_until, Opts, TestServer};
use std::time::Duration;

#[test]
fn lock_table_conflicts_show_in_pg_locks_and_fail_fast_with_nowait() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut b = srv.connect();
    exec(&mut a, "CREATE TABLE lk (id int)");
    let e = expect_sqlstate(a.simple_query("LOCK TABLE lk"), &["25P01"]);
    assert_eq!(
        e.message(),
        "LOCK TABLE can only be used in transaction blocks"
    );
    let e = expect_sqlstate(a.simple_query("BEGIN; LOCK nosuch; COMMIT"), &["42P01"]);
    assert_eq!(e.message(), "relation \"nosuch\" does not exist");
    exec(&mut a, "ROLLBACK");

    let a_pid = backend_pid(&mut a);
    exec(&mut a, "BEGIN; LOCK TABLE lk IN SHARE ROW EXCLUSIVE MODE");
    let held = simple_rows(
        &mut b,
        &format!(
            "SELECT locktype, mode, granted FROM pg_locks WHERE pid = {a_pid} \
             AND relation = (SELECT oid FROM pg_class WHERE relname = 'lk')"
        ),
    );
    assert_eq!(
        held,
        vec![vec![
            Some("relation".to_string()),
            Some("ShareRowExclusiveLock".to_string()),
            Some("t".to_string())
        ]]
    );
    // ROW SHARE does not conflict with SHARE ROW EXCLUSIVE; ROW EXCLUSIVE does.
    exec(&mut b, "BEGIN; LOCK lk IN ROW SHARE MODE NOWAIT; COMMIT");
    let e = expect_sqlstate(
        b.simple_query("BEGIN; LOCK lk IN ROW EXCLUSIVE MODE NOWAIT"),
        &["55P03"],
    );
    assert_eq!(e.message(), "could not obtain lock on relation \"lk\"");
    exec(&mut b, "ROLLBACK");
    // A writer waits; pg_locks shows it waiting; lock_timeout ends it.
    exec(&mut b, "SET lock_timeout = '300ms'");
    let e = expect_sqlstate(b.simple_query("INSERT INTO lk VALUES (1)"), &["55P03"]);
    assert_eq!(e.message(), "canceling statement due to lock timeout");
    exec(&mut b, "SET lock_timeout = 0");
    let b_pid = backend_pid(&mut b);
    let h = std::thread::spawn(move || {
        let r = b.simple_query("INSERT INTO lk VALUES (2)").map(|_| ());
        (b, r)
    });
    let waiting = format!("SELECT mode FROM pg_locks WHERE pid = {b_pid} AND NOT granted");
    assert!(
        wait_until(Duration::from_secs(10), || {
            simple_rows(&mut a, &waiting) == vec![vec![Some("RowExclusiveLock".to_string())]]
        }),
        "the writer never showed as waiting in pg_locks"
    );
    exec(&mut a, "COMMIT");
    let (mut b, r) = h.join().unwrap();
    r.unwrap_or_else(|e| panic!("{}", crate::util::describe_error(&e)));
    assert_eq!(
        simple_rows(&mut b, "SELECT id FROM lk"),
        vec![vec![Some("2".to_string())]]
    );
    // Nothing held after the transactions ended.
    assert!(simple_rows(
        &mut b,
        &format!("SELECT mode FROM pg_locks WHERE pid IN ({a_pid}, {b_pid}) AND relation = (SELECT oid FROM pg_class WHERE relname = 'lk')")
    )
    .is_empty());
}

#[test]
fn a_full_lock_table_is_53200_with_the_hint() {
    // 10 locks × (4 connections + 0 prepared) = 40 entries.
    let srv = TestServer::start(
        Opts::new()
            .set("max_locks_per_transaction", "10")
            .set("max_connections", "4")
            .set("superuser_reserved_connections", "1"),
    );
    let mut c = srv.connect();
    let names: Vec<String> = (0..60).map(|i| format!("f{i}")).collect();
    let ddl: String = names
        .iter()
        .map(|n| format!("CREATE TABLE {n} (a int);"))
        .collect();
    exec(&mut c, &ddl);
    let e = expect_sqlstate(
        c.simple_query(&format!("BEGIN; LOCK {}", names.join(", "))),
        &["53200"],
    );
    assert_eq!(e.message(), "out of shared memory");
    assert_eq!(
        e.hint(),
        Some("You might need to increase max_locks_per_transaction.")
    );
    exec(&mut c, "ROLLBACK");
    // The entries went back: the same transaction with fewer tables works.
    exec(
        &mut c,
        &format!("BEGIN; LOCK {}; COMMIT", names[..20].join(", ")),
    );
}
