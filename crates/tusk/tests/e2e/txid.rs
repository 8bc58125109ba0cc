//! Transaction ids as clients see them: `txid_current()` /
//! `pg_current_xact_id()` assign on demand and are stable within a
//! transaction, strictly increasing across sessions, clean restarts and
//! crashes; `pg_xact_status()` says what became of an xid, also after
//! kill -9 and recovery (commit records replayed into pg_xact).
//!
//! Expected texts and SQLSTATEs are PostgreSQL 15's for the same calls
//! (checked against PostgreSQL 15).

use crate::util::{expect_sqlstate, signal, simple_value, wait_until, Opts, TestServer};
use std::time::Duration;

fn xid(c: &mut postgres::Client, sql: &str) -> u64 {
    simple_value(c, sql)
        .unwrap_or_else(|| panic!("{sql}: NULL"))
        .parse()
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn status(c: &mut postgres::Client, x: u64) -> Option<String> {
    simple_value(c, &format!("SELECT pg_xact_status('{x}'::xid8)"))
}

#[test]
fn txid_current_is_stable_in_a_transaction_and_increases_across_sessions() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut b = srv.connect();

    a.simple_query("BEGIN").unwrap();
    // A read-only transaction has no xid until one is asked for.
    assert_eq!(
        simple_value(&mut a, "SELECT txid_current_if_assigned()"),
        None
    );
    assert_eq!(
        simple_value(&mut a, "SELECT pg_current_xact_id_if_assigned()"),
        None
    );
    let x1 = xid(&mut a, "SELECT txid_current()");
    assert!(x1 >= 3, "{x1}");
    assert_eq!(xid(&mut a, "SELECT txid_current()"), x1, "stable");
    assert_eq!(xid(&mut a, "SELECT pg_current_xact_id()"), x1);
    assert_eq!(xid(&mut a, "SELECT txid_current_if_assigned()"), x1);
    assert_eq!(xid(&mut a, "SELECT pg_current_xact_id_if_assigned()"), x1);
    assert_eq!(
        simple_value(&mut a, "SELECT pg_xact_status(pg_current_xact_id())").as_deref(),
        Some("in progress")
    );
    // Another session sees it running, and gets a later id.
    assert_eq!(status(&mut b, x1).as_deref(), Some("in progress"));
    let x2 = xid(&mut b, "SELECT txid_current()");
    assert!(x2 > x1, "{x2} > {x1}");
    a.simple_query("COMMIT").unwrap();
    assert_eq!(status(&mut b, x1).as_deref(), Some("committed"));
    // The single-statement transaction of x2 committed too.
    assert_eq!(status(&mut a, x2).as_deref(), Some("committed"));
    assert_eq!(
        simple_value(&mut b, &format!("SELECT txid_status({x2})")).as_deref(),
        Some("committed")
    );

    // A rolled-back one is aborted.
    a.simple_query("BEGIN").unwrap();
    let x3 = xid(&mut a, "SELECT pg_current_xact_id()");
    assert!(x3 > x2, "{x3} > {x2}");
    a.simple_query("ROLLBACK").unwrap();
    assert_eq!(status(&mut b, x3).as_deref(), Some("aborted"));
    // A failed statement aborts the transaction's xid as well.
    a.simple_query("BEGIN").unwrap();
    let x4 = xid(&mut a, "SELECT txid_current()");
    assert!(a.simple_query("SELECT 1/0").is_err());
    a.simple_query("ROLLBACK").unwrap();
    assert_eq!(status(&mut b, x4).as_deref(), Some("aborted"));

    // Asynchronous commit still commits (the record is not waited for).
    a.simple_query("SET synchronous_commit = off").unwrap();
    let x5 = xid(&mut a, "SELECT txid_current()");
    assert_eq!(status(&mut b, x5).as_deref(), Some("committed"));

    // A session that ends inside a transaction aborts its xid.
    let mut c = srv.connect();
    c.simple_query("BEGIN").unwrap();
    let x6 = xid(&mut c, "SELECT txid_current()");
    drop(c);
    assert!(
        wait_until(Duration::from_secs(10), || status(&mut b, x6).as_deref()
            == Some("aborted")),
        "xid {x6} of a closed session: {:?}",
        status(&mut b, x6)
    );

    // PostgreSQL's answers for the special ids, a future one and NULL.
    assert_eq!(
        simple_value(&mut b, "SELECT pg_xact_status('0'::xid8)"),
        None
    );
    assert_eq!(
        simple_value(&mut b, "SELECT pg_xact_status('1'::xid8)").as_deref(),
        Some("committed")
    );
    assert_eq!(simple_value(&mut b, "SELECT pg_xact_status(NULL)"), None);
    let future = x6 + 1000;
    let e = expect_sqlstate(
        b.simple_query(&format!("SELECT pg_xact_status('{future}'::xid8)")),
        &["22023"],
    );
    assert_eq!(
        e.message(),
        format!("transaction ID {future} is in the future")
    );
    // pg_current_xact_id() is an xid8 (OID 5069); txid_current() a bigint.
    let st = b
        .prepare("SELECT pg_current_xact_id(), txid_current()")
        .unwrap();
    assert_eq!(st.columns()[0].type_().oid(), 5069);
    assert_eq!(st.columns()[1].type_().oid(), 20);
}

#[test]
fn xids_survive_restarts_and_kill9_recovery_decides_their_fate() {
    let mut srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let a = xid(&mut c, "SELECT txid_current()");
    drop(c);

    // Clean stop and start: the counter goes on from the shutdown
    // checkpoint; the commit is in pg_xact.
    let st = srv.stop_with(libc::SIGINT);
    assert!(st.success(), "fast stop: {st}\n{}", srv.log());
    srv.start_postmaster();
    let mut c = srv.connect();
    let b = xid(&mut c, "SELECT txid_current()");
    assert!(b > a, "{b} > {a}");
    assert_eq!(status(&mut c, a).as_deref(), Some("committed"));

    // One transaction in progress, one committed after it; then every
    // process is killed at once (postmaster stopped first, so that no
    // backend exits cleanly or restarts): no abort record, no checkpoint.
    let mut running = srv.connect();
    running.simple_query("BEGIN").unwrap();
    let d = xid(&mut running, "SELECT txid_current()");
    let e = xid(&mut c, "SELECT txid_current()");
    assert!(e > d, "{e} > {d}");
    let children = srv.children();
    assert!(signal(srv.pm_pid(), libc::SIGSTOP));
    for p in &children {
        signal(p.pid, libc::SIGKILL);
    }
    let died = wait_until(Duration::from_secs(10), || {
        children.iter().all(|p| !p.is_running())
    });
    // The stopped postmaster goes first, so that a failure here does not
    // leave teardown signalling a stopped process.
    srv.kill9_postmaster();
    assert!(died, "the children die");
    drop(running);
    drop(c);

    srv.start_postmaster();
    let log = srv.log();
    let restart = &log[log
        .rfind("=== e2e harness: starting postmaster")
        .unwrap_or(0)..];
    assert!(restart.contains("redo starts at"), "{restart}");
    let mut c = srv.connect();
    assert_eq!(status(&mut c, e).as_deref(), Some("committed"));
    assert_eq!(status(&mut c, d).as_deref(), Some("aborted"));
    assert_eq!(status(&mut c, b).as_deref(), Some("committed"));
    let f = xid(&mut c, "SELECT txid_current()");
    assert!(
        f > e,
        "{f} > {e}: redo moved the counter past replayed xids"
    );
    drop(c);

    // The end-of-recovery checkpoint wrote the commit log back: a clean
    // restart (no redo) still knows.
    let st = srv.stop_with(libc::SIGINT);
    assert!(st.success(), "fast stop: {st}\n{}", srv.log());
    srv.start_postmaster();
    let mut c = srv.connect();
    assert_eq!(status(&mut c, e).as_deref(), Some("committed"));
    assert_eq!(status(&mut c, d).as_deref(), Some("aborted"));
    assert_eq!(status(&mut c, f).as_deref(), Some("committed"));
    let g = xid(&mut c, "SELECT txid_current()");
    assert!(g > f, "{g} > {f}");
}
