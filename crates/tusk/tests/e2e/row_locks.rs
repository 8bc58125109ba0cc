//! SELECT ... FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE against the
//! real binary (issue 10 item 3): two sessions per conflict of
//! PostgreSQL's row-lock table, NOWAIT's 55P03 text, SKIP LOCKED as a job
//! queue uses it, a waiter seeing the newest version, locks ending with
//! commit, rollback and ROLLBACK TO SAVEPOINT, pg_locks showing the wait
//! on the holder's transaction id, the statements the clauses are refused
//! with, and a locked row after kill -9 (the LOCK record replayed, the
//! row visible and free).
//!
//! Texts and SQLSTATEs compared with PostgreSQL 15.

use crate::util::exec;
use crate::util::{backend_pid, expect_sqlstate, simple_rows, wait_until, Opts, TestServer};
use std::time::Duration;

fn one(c: &mut postgres::Client, sql: &str) -> Option<String> {
    simple_rows(c, sql)
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next().flatten())
}

fn col(c: &mut postgres::Client, sql: &str) -> Vec<String> {
    simple_rows(c, sql)
        .into_iter()
        .map(|r| r[0].clone().unwrap_or_default())
        .collect()
}

/// Does `sql` in `b` (with NOWAIT) conflict with what `a` holds? Ok(true):
/// 55P03 with PostgreSQL's text; Ok(false): it went through.
fn conflicts(b: &mut postgres::Client, sql: &str) -> bool {
    exec(b, "BEGIN");
    let r = b.simple_query(sql);
    let out = match r {
        Ok(_) => false,
        Err(e) => {
            let d = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
            assert_eq!(d.code().code(), "55P03", "{sql}: {}", d.message());
            assert_eq!(
                d.message(),
                "could not obtain lock on row in relation \"rl\"",
                "{sql}"
            );
            true
        }
    };
    exec(b, "ROLLBACK");
    out
}

#[test]
fn modes_conflict_as_postgresqls_table_and_nowait_fails_with_55p03() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut b = srv.connect();
    exec(
        &mut a,
        "CREATE TABLE rl (id int PRIMARY KEY, v int); INSERT INTO rl VALUES (1, 10), (2, 20)",
    );
    // PostgreSQL's "Conflicting Row-Level Locks", held by `a`, asked by
    // `b` with NOWAIT.
    let modes = [
        "FOR KEY SHARE",
        "FOR SHARE",
        "FOR NO KEY UPDATE",
        "FOR UPDATE",
    ];
    let table = [
        [false, false, false, true],
        [false, false, true, true],
        [false, true, true, true],
        [true, true, true, true],
    ];
    for (h, held) in modes.iter().enumerate() {
        exec(
            &mut a,
            &format!("BEGIN; SELECT * FROM rl WHERE id = 1 {held}"),
        );
        for (r, req) in modes.iter().enumerate() {
            assert_eq!(
                conflicts(
                    &mut b,
                    &format!("SELECT * FROM rl WHERE id = 1 {req} NOWAIT")
                ),
                table[h][r],
                "{held} held, {req} requested"
            );
        }
        // Another row is free.
        assert!(!conflicts(
            &mut b,
            "SELECT * FROM rl WHERE id = 2 FOR UPDATE NOWAIT"
        ));
        // A delete and a key update are FOR UPDATE strength, any other
        // update FOR NO KEY UPDATE: those that conflict wait
        // (lock_timeout ends them), the others go through.
        exec(&mut b, "SET lock_timeout = '200ms'");
        // (The non-key update last: one that goes through beside a FOR
        // KEY SHARE holder and then rolls back leaves the old version
        // without the holder's lock, the limitation rowlock.rs names.)
        for (w, strength) in [
            ("UPDATE rl SET id = 3 WHERE id = 1", 3),
            ("DELETE FROM rl WHERE id = 1", 3),
            ("UPDATE rl SET v = v + 1 WHERE id = 1", 2),
        ] {
            exec(&mut b, "BEGIN");
            let r = b.simple_query(w);
            if table[h][strength] {
                let e = expect_sqlstate(r, &["55P03"]);
                assert_eq!(
                    e.message(),
                    "canceling statement due to lock timeout",
                    "{held}: {w}"
                );
            } else {
                r.unwrap_or_else(|e| panic!("{held}: {w}: {}", crate::util::describe_error(&e)));
            }
            exec(&mut b, "ROLLBACK");
        }
        exec(&mut b, "SET lock_timeout = 0");
        // The holder itself may change its row.
        exec(&mut a, "UPDATE rl SET v = v + 1 WHERE id = 1; ROLLBACK");
        // Ended with ROLLBACK: free again.
        assert!(!conflicts(
            &mut b,
            "SELECT * FROM rl WHERE id = 1 FOR UPDATE NOWAIT"
        ));
    }
    // Two share lockers at once (PostgreSQL's MultiXactId case): both
    // hold the row; a writer waits for both, not only for the first.
    let mut c = srv.connect();
    exec(&mut a, "BEGIN; SELECT * FROM rl WHERE id = 1 FOR SHARE");
    exec(
        &mut c,
        "BEGIN; SELECT * FROM rl WHERE id = 1 FOR SHARE NOWAIT",
    );
    exec(&mut a, "COMMIT");
    assert!(conflicts(
        &mut b,
        "SELECT * FROM rl WHERE id = 1 FOR UPDATE NOWAIT"
    ));
    exec(&mut b, "SET lock_timeout = '200ms'");
    let e = expect_sqlstate(
        b.simple_query("UPDATE rl SET v = 0 WHERE id = 1"),
        &["55P03"],
    );
    assert_eq!(e.message(), "canceling statement due to lock timeout");
    exec(&mut b, "SET lock_timeout = 0");
    exec(&mut c, "COMMIT");
    assert!(!conflicts(
        &mut b,
        "SELECT * FROM rl WHERE id = 1 FOR UPDATE NOWAIT"
    ));
    // A FOR KEY SHARE holder does not stop a non-key update, and its
    // lock stays on the new version: a delete of it still waits.
    exec(&mut a, "BEGIN; SELECT * FROM rl WHERE id = 1 FOR KEY SHARE");
    exec(&mut b, "UPDATE rl SET v = 15 WHERE id = 1");
    exec(&mut b, "SET lock_timeout = '200ms'");
    let e = expect_sqlstate(b.simple_query("DELETE FROM rl WHERE id = 1"), &["55P03"]);
    assert_eq!(e.message(), "canceling statement due to lock timeout");
    exec(
        &mut b,
        "SET lock_timeout = 0; UPDATE rl SET v = 10 WHERE id = 1",
    );
    exec(&mut a, "COMMIT");
    // Locking does not change what anyone sees.
    assert_eq!(
        col(&mut b, "SELECT v FROM rl ORDER BY id"),
        vec!["10", "20"]
    );
}

#[test]
fn a_waiter_shows_in_pg_locks_and_sees_the_newest_version() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut b = srv.connect();
    exec(
        &mut a,
        "CREATE TABLE rl (id int PRIMARY KEY, v int); INSERT INTO rl VALUES (1, 10), (2, 20)",
    );
    exec(&mut a, "BEGIN; SELECT * FROM rl WHERE id = 1 FOR UPDATE");
    let a_xid = one(&mut a, "SELECT txid_current()").unwrap();
    let b_pid = backend_pid(&mut b);
    let h = std::thread::spawn(move || {
        let r = simple_rows(
            &mut b,
            "SELECT id, v FROM rl WHERE v >= 10 ORDER BY id FOR UPDATE",
        );
        (b, r)
    });
    // As PostgreSQL: the waiter asks for ShareLock on the holder's xid.
    let waiting = format!(
        "SELECT locktype, mode, transactionid::text FROM pg_locks WHERE pid = {b_pid} AND NOT granted"
    );
    assert!(
        wait_until(Duration::from_secs(10), || {
            simple_rows(&mut a, &waiting)
                == vec![vec![
                    Some("transactionid".to_string()),
                    Some("ShareLock".to_string()),
                    Some(a_xid.clone()),
                ]]
        }),
        "the locker never showed as waiting in pg_locks: {:?}",
        simple_rows(&mut a, "SELECT * FROM pg_locks")
    );
    // The holder updates and commits: the waiter locks and returns the
    // new version (re-checked against its WHERE clause).
    exec(&mut a, "UPDATE rl SET v = 11 WHERE id = 1; COMMIT");
    let (mut b, rows) = h.join().unwrap();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(rows, vec![vec![s("1"), s("11")], vec![s("2"), s("20")]]);
    // The re-check: a version that no longer qualifies is left out.
    exec(&mut b, "COMMIT");
    exec(&mut a, "BEGIN; UPDATE rl SET v = 5 WHERE id = 1");
    let h = std::thread::spawn(move || {
        let r = simple_rows(
            &mut b,
            "SELECT id FROM rl WHERE v >= 10 ORDER BY id FOR SHARE",
        );
        (b, r)
    });
    assert!(wait_until(Duration::from_secs(10), || {
        !simple_rows(
            &mut a,
            &format!("SELECT 1 FROM pg_locks WHERE pid = {b_pid} AND NOT granted"),
        )
        .is_empty()
    }));
    exec(&mut a, "COMMIT");
    let (mut b, rows) = h.join().unwrap();
    assert_eq!(rows, vec![vec![s("2")]]);
    // UPDATE after waiting on FOR UPDATE sees the holder's new version.
    exec(&mut a, "BEGIN; SELECT * FROM rl WHERE id = 2 FOR UPDATE");
    let h = std::thread::spawn(move || {
        let r = b
            .simple_query("UPDATE rl SET v = v + 1 WHERE id = 2")
            .map(|_| ());
        (b, r)
    });
    assert!(wait_until(Duration::from_secs(10), || {
        !simple_rows(
            &mut a,
            &format!("SELECT 1 FROM pg_locks WHERE pid = {b_pid} AND NOT granted"),
        )
        .is_empty()
    }));
    exec(&mut a, "UPDATE rl SET v = 100 WHERE id = 2; COMMIT");
    let (mut b, r) = h.join().unwrap();
    r.unwrap_or_else(|e| panic!("{}", crate::util::describe_error(&e)));
    assert_eq!(one(&mut b, "SELECT v FROM rl WHERE id = 2"), s("101"));
    // REPEATABLE READ: a row updated since the snapshot is 40001.
    exec(
        &mut b,
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1 FROM rl",
    );
    exec(&mut a, "UPDATE rl SET v = 0 WHERE id = 2");
    let e = expect_sqlstate(
        b.simple_query("SELECT * FROM rl WHERE id = 2 FOR UPDATE"),
        &["40001"],
    );
    assert_eq!(
        e.message(),
        "could not serialize access due to concurrent update"
    );
    exec(&mut b, "ROLLBACK");
}

#[test]
fn skip_locked_gives_two_workers_disjoint_jobs() {
    let srv = TestServer::start(Opts::new());
    let mut w1 = srv.connect();
    let mut w2 = srv.connect();
    exec(
        &mut w1,
        "CREATE TABLE jobs (id int PRIMARY KEY, done bool NOT NULL DEFAULT false); \
         INSERT INTO jobs (id) SELECT g FROM generate_series(1, 10) g",
    );
    let take = "SELECT id FROM jobs WHERE NOT done ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED";
    exec(&mut w1, "BEGIN");
    exec(&mut w2, "BEGIN");
    let got1 = col(&mut w1, take);
    let got2 = col(&mut w2, take);
    assert_eq!(got1, vec!["1", "2"]);
    // LIMIT stops the locking: the first worker holds only its 2 rows.
    assert_eq!(got2, vec!["3", "4"]);
    exec(
        &mut w1,
        "UPDATE jobs SET done = true WHERE id IN (1, 2); COMMIT",
    );
    // The second worker's rows stay locked until it ends.
    exec(&mut w1, "BEGIN");
    assert_eq!(col(&mut w1, take), vec!["5", "6"]);
    exec(&mut w1, "ROLLBACK");
    exec(&mut w2, "ROLLBACK");
    assert_eq!(col(&mut w1, take), vec!["3", "4"]);
    // Without SKIP LOCKED a NOWAIT worker fails instead.
    exec(&mut w2, "BEGIN; SELECT * FROM jobs WHERE id = 3 FOR UPDATE");
    let e = expect_sqlstate(
        w1.simple_query("SELECT id FROM jobs WHERE NOT done ORDER BY id LIMIT 1 FOR UPDATE NOWAIT"),
        &["55P03"],
    );
    assert_eq!(
        e.message(),
        "could not obtain lock on row in relation \"jobs\""
    );
    exec(&mut w2, "COMMIT");
}

#[test]
fn locks_end_with_commit_rollback_and_rollback_to_savepoint() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut b = srv.connect();
    exec(
        &mut a,
        "CREATE TABLE rl (id int PRIMARY KEY, v int); INSERT INTO rl VALUES (1, 10)",
    );
    let probe = "SELECT * FROM rl WHERE id = 1 FOR UPDATE NOWAIT";
    for end in ["COMMIT", "ROLLBACK"] {
        exec(&mut a, "BEGIN; SELECT * FROM rl FOR UPDATE");
        assert!(conflicts(&mut b, probe));
        exec(&mut a, end);
        assert!(!conflicts(&mut b, probe), "still locked after {end}");
    }
    // A lock taken in a savepoint ends with ROLLBACK TO; one taken before
    // it stays.
    exec(&mut a, "BEGIN; SAVEPOINT s; SELECT * FROM rl FOR UPDATE");
    assert!(conflicts(&mut b, probe));
    exec(&mut a, "ROLLBACK TO SAVEPOINT s");
    assert!(!conflicts(&mut b, probe));
    exec(&mut a, "SELECT * FROM rl FOR NO KEY UPDATE; SAVEPOINT t; SELECT * FROM rl FOR KEY SHARE; RELEASE t");
    assert!(conflicts(&mut b, probe));
    exec(&mut a, "COMMIT");
    assert!(!conflicts(&mut b, probe));
    // A failed transaction's locks end with it.
    exec(&mut a, "BEGIN; SELECT * FROM rl FOR UPDATE");
    assert!(a.simple_query("SELECT 1/0").is_err());
    // The client returns at the ErrorResponse; the abort (which ends the
    // locks) is complete when the server is ready for the next query, as
    // in PostgreSQL: one more round trip (25P02) waits for that.
    let again = a
        .simple_query("SELECT 1")
        .map(|_| ())
        .map_err(|e| e.code().cloned());
    assert_eq!(
        again,
        Err(Some(postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION))
    );
    assert!(!conflicts(&mut b, probe));
    exec(&mut a, "ROLLBACK");
}

#[test]
fn locking_clauses_are_refused_where_postgresql_refuses_them() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE rl (id int PRIMARY KEY, v int); CREATE TABLE o (id int, rid int); \
         INSERT INTO rl VALUES (1, 10); INSERT INTO o VALUES (7, 1)",
    );
    for (sql, state, msg) in [
        (
            "SELECT DISTINCT v FROM rl FOR UPDATE",
            "0A000",
            "FOR UPDATE is not allowed with DISTINCT clause",
        ),
        (
            "SELECT v FROM rl GROUP BY v FOR SHARE",
            "0A000",
            "FOR SHARE is not allowed with GROUP BY clause",
        ),
        (
            "SELECT count(*) FROM rl FOR KEY SHARE",
            "0A000",
            "FOR KEY SHARE is not allowed with aggregate functions",
        ),
        (
            "SELECT 1 FROM rl HAVING true FOR UPDATE",
            "0A000",
            "FOR UPDATE is not allowed with HAVING clause",
        ),
        (
            "SELECT row_number() OVER () FROM rl FOR NO KEY UPDATE",
            "0A000",
            "FOR NO KEY UPDATE is not allowed with window functions",
        ),
        (
            "SELECT id FROM rl UNION SELECT id FROM rl FOR UPDATE",
            "0A000",
            "FOR UPDATE is not allowed with UNION/INTERSECT/EXCEPT",
        ),
        (
            "SELECT * FROM rl FOR UPDATE OF nosuch",
            "42P01",
            "relation \"nosuch\" in FOR UPDATE clause not found in FROM clause",
        ),
        (
            "SELECT * FROM rl LEFT JOIN o ON o.rid = rl.id FOR UPDATE",
            "0A000",
            "FOR UPDATE cannot be applied to the nullable side of an outer join",
        ),
        (
            "SELECT * FROM rl FOR UPDATE OF public.rl",
            "42601",
            "FOR UPDATE must specify unqualified relation names",
        ),
    ] {
        let e = expect_sqlstate(c.simple_query(sql), &[state]);
        assert_eq!(e.message(), msg, "{sql}");
    }
    // OF locks only the named table of a join; the other stays free; an
    // outer join's preserved side may be named.
    let mut b = srv.connect();
    exec(&mut c, "BEGIN");
    assert_eq!(
        simple_rows(
            &mut c,
            "SELECT rl.v, o.id FROM rl JOIN o ON o.rid = rl.id FOR UPDATE OF o"
        )
        .len(),
        1
    );
    exec(&mut b, "BEGIN");
    assert!(b.simple_query("SELECT * FROM rl FOR UPDATE NOWAIT").is_ok());
    assert!(b.simple_query("SELECT * FROM o FOR UPDATE NOWAIT").is_err());
    exec(&mut b, "ROLLBACK");
    exec(&mut c, "ROLLBACK; BEGIN");
    assert_eq!(
        simple_rows(
            &mut c,
            "SELECT rl.v FROM rl LEFT JOIN o ON o.rid = rl.id FOR SHARE OF rl"
        )
        .len(),
        1
    );
    // RowShareLock on the table, held to the end, as PostgreSQL.
    let pid = backend_pid(&mut c);
    assert_eq!(
        col(
            &mut b,
            &format!(
                "SELECT mode FROM pg_locks WHERE pid = {pid} AND relation = (SELECT oid FROM pg_class WHERE relname = 'rl') ORDER BY mode"
            )
        ),
        vec!["AccessShareLock", "RowShareLock"]
    );
    exec(&mut c, "COMMIT");
    // The clauses through the extended protocol, with a parameter.
    let rows = c
        .query(
            "SELECT v FROM rl WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED",
            &[&1i32],
        )
        .unwrap();
    assert_eq!(rows.len(), 1);
}

#[test]
fn a_locked_row_survives_kill9_visible_and_unlocked() {
    let mut srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    exec(
        &mut a,
        "CREATE TABLE rl (id int PRIMARY KEY, v int); INSERT INTO rl VALUES (1, 10), (2, 20); CHECKPOINT",
    );
    // The lock after the checkpoint: only the WAL record carries it.
    exec(&mut a, "BEGIN; SELECT * FROM rl WHERE id = 1 FOR UPDATE");
    let xid = one(&mut a, "SELECT txid_current()").unwrap();
    // Something committed after it, so the WAL is flushed past the lock.
    let mut b = srv.connect();
    exec(&mut b, "INSERT INTO rl VALUES (3, 30)");
    drop(b);
    let kids = srv.children();
    srv.kill9_postmaster();
    assert!(wait_until(Duration::from_secs(20), || kids
        .iter()
        .all(|p| !p.is_running())));
    drop(a);
    srv.start_postmaster();
    let mut c = srv.connect();
    // Redo put the locker back in xmax; it no longer runs, so the row is
    // visible and free.
    assert_eq!(
        one(&mut c, "SELECT xmax::text FROM rl WHERE id = 1"),
        Some(xid)
    );
    assert_eq!(
        col(&mut c, "SELECT v FROM rl ORDER BY id"),
        vec!["10", "20", "30"]
    );
    exec(&mut c, "BEGIN");
    assert!(c
        .simple_query("SELECT * FROM rl WHERE id = 1 FOR UPDATE NOWAIT")
        .is_ok());
    exec(&mut c, "UPDATE rl SET v = 11 WHERE id = 1; COMMIT");
    assert_eq!(
        one(&mut c, "SELECT v FROM rl WHERE id = 1").as_deref(),
        Some("11")
    );
}
