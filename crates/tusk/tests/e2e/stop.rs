//! Ending a server: the clean stops leave nothing behind; pg_isready sees
//! the difference; a SIGKILLed postmaster's children follow it at once
//! and the next start reclaims its leftovers; a SIGKILLed backend makes
//! the postmaster reinitialise without losing a connection slot.

use crate::util::{
    backend_pid, describe_error, query_message, simple_rows, simple_value, summaries, wait_for,
    wait_until, Opts, Proc, TestServer, Via, STOP_TIMEOUT,
};
use std::process::Command;
use std::time::{Duration, Instant};

fn pg_isready(srv: &TestServer) -> crate::util::Finished {
    let mut cmd = Command::new(crate::util::require_pg_program("pg_isready"));
    crate::util::clean_pg_env(&mut cmd);
    cmd.args([
        "-h",
        "127.0.0.1",
        "-p",
        &srv.port().to_string(),
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-t",
        "5",
    ]);
    crate::util::run_bounded(&mut cmd, Duration::from_secs(30))
}

/// After a clean stop: exit 0, and no segment, semaphore set, lock file or
/// socket file of this server.
fn assert_clean_exit(srv: &TestServer, status: std::process::ExitStatus, how: &str) {
    assert_eq!(status.code(), Some(0), "{how}: exit status {status}");
    assert!(!srv.lock_file().exists(), "{how}: postmaster.pid remains");
    let leftovers: Vec<String> = std::fs::read_dir(srv.socket_dir())
        .expect("socket dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert!(
        leftovers.is_empty(),
        "{how}: socket directory not empty: {leftovers:?}"
    );
    srv.assert_no_ipc_left();
    assert!(
        srv.log().contains("database system is shut down"),
        "{how}: the log lacks \"database system is shut down\""
    );
}

#[test]
fn clean_stops_leave_nothing() {
    // Smart (SIGTERM) with no session.
    let mut srv = TestServer::start(Opts::new());
    assert!(
        !srv.our_ipc().is_empty(),
        "a running server has its segment and semaphores"
    );
    let st = srv.stop_with(libc::SIGTERM);
    assert_clean_exit(&srv, st, "SIGTERM");

    // Fast (SIGINT) with a session and one in a transaction: both are told 57P01.
    srv.start_postmaster();
    let mut idle = srv.connect();
    let mut in_tx = srv.connect_unix();
    in_tx.simple_query("BEGIN").expect("BEGIN");
    let st = srv.stop_with(libc::SIGINT);
    assert_clean_exit(&srv, st, "SIGINT");
    for (name, c) in [("idle", &mut idle), ("in transaction", &mut in_tx)] {
        match c.simple_query("SELECT 1") {
            Ok(r) => panic!("{name} session still answers after a fast stop: {r:?}"),
            Err(e) => {
                if let Some(db) = e.as_db_error() {
                    assert_eq!(db.code().code(), "57P01", "{name}: {}", describe_error(&e));
                }
            }
        }
    }
}

/// A stop requested the moment the server is ready must still complete:
/// the checkpointer, forked just before, must not lose the shutdown
/// request (PostgreSQL forks children with signals blocked for this).
/// A hundred quick start/stop cycles, smart and fast alternately.
#[test]
fn stop_right_after_ready() {
    let mut srv = TestServer::init(Opts::new());
    for cycle in 0..100 {
        let (sig, name) = if cycle % 2 == 0 {
            (libc::SIGTERM, "smart")
        } else {
            (libc::SIGINT, "fast")
        };
        srv.spawn_postmaster();
        let ready = crate::util::wait_until_every(
            crate::util::READY_TIMEOUT,
            Duration::from_micros(200),
            || srv.lock_line(8).is_some_and(|l| l == "ready   "),
        );
        assert!(ready, "cycle {cycle}: the server did not become ready");
        srv.signal_postmaster(sig);
        let st = srv.wait_exit(Duration::from_secs(10));
        let Some(st) = st else {
            panic!(
                "cycle {cycle}: a {name} stop sent right after \"ready\" did not finish within 10 s (children: {:?})",
                srv.children()
            )
        };
        assert_eq!(st.code(), Some(0), "cycle {cycle}: {name} stop");
        srv.assert_no_ipc_left();
    }
}

#[test]
fn smart_stop_waits_for_sessions() {
    let mut srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    srv.signal_postmaster(libc::SIGTERM);
    // New connections are refused while the old session goes on.
    let refused = wait_for(Duration::from_secs(10), || srv.try_connect().err())
        .expect("new connections are refused during a smart shutdown");
    if let Some(db) = refused.as_db_error() {
        assert_eq!(db.code().code(), "57P03", "{}", describe_error(&refused));
        assert_eq!(db.message(), "the database system is shutting down");
    }
    assert_eq!(srv.lock_line(8).as_deref(), Some("stopping"));
    assert_eq!(
        simple_value(&mut c, "SELECT 1").as_deref(),
        Some("1"),
        "the existing session goes on"
    );
    assert!(srv.is_running());
    drop(c);
    let st = srv
        .wait_exit(STOP_TIMEOUT)
        .expect("the server stops when the last session ends");
    assert_clean_exit(&srv, st, "SIGTERM with a session");
}

/// Not in the list, but the third stop mode: SIGQUIT. Sessions
/// get the immediate-shutdown WARNING, nothing is left behind, and the
/// next start knows the shutdown was not clean.
#[test]
fn immediate_stop_then_recovery() {
    let mut srv = TestServer::start(Opts::new());
    let (mut raw, _) = srv.raw_session();
    srv.signal_postmaster(libc::SIGQUIT);
    let msgs = raw.read_to_eof().unwrap_or_else(|(e, m)| {
        panic!(
            "no EOF after an immediate stop: {e}: {:?}",
            crate::util::summaries(&m)
        )
    });
    assert_eq!(msgs.len(), 1, "{:?}", crate::util::summaries(&msgs));
    assert_eq!(
        msgs[0].tag,
        b'N',
        "a WARNING (NoticeResponse), not an error: {}",
        msgs[0].summary()
    );
    assert_eq!(msgs[0].field(b'S').as_deref(), Some("WARNING"));
    assert_eq!(msgs[0].field(b'C').as_deref(), Some("57P01"));
    assert_eq!(
        msgs[0].field(b'M').as_deref(),
        Some("terminating connection due to immediate shutdown command")
    );
    let st = srv
        .wait_exit(STOP_TIMEOUT)
        .expect("the postmaster exits after SIGQUIT");
    assert!(
        st.code().is_some(),
        "the postmaster exits by itself, not by a signal: {st}"
    );
    assert!(
        !srv.lock_file().exists(),
        "postmaster.pid remains after an immediate stop"
    );
    srv.assert_no_ipc_left();

    srv.start_postmaster();
    let log = srv.log();
    let after_restart = &log[log
        .rfind("=== e2e harness: starting postmaster")
        .unwrap_or(0)..];
    assert!(
        after_restart
            .contains("database system was not properly shut down; automatic recovery in progress"),
        "the start after an immediate stop must run recovery:\n{after_restart}"
    );
    let mut c = srv.connect();
    assert_eq!(simple_value(&mut c, "SELECT 1").as_deref(), Some("1"));
}

#[test]
fn pg_isready_sees_running_and_stopped() {
    let mut srv = TestServer::start(Opts::new());
    let out = pg_isready(&srv);
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert!(
        out.stdout.contains("accepting connections"),
        "{}",
        out.describe()
    );
    let st = srv.stop_with(libc::SIGINT);
    assert_eq!(st.code(), Some(0));
    let out = pg_isready(&srv);
    assert_eq!(out.code(), Some(2), "{}", out.describe());
    assert!(out.stdout.contains("no response"), "{}", out.describe());
}

#[test]
fn kill9_postmaster_then_restart_reclaims() {
    let mut srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let _b = srv.connect_unix();
    let old_pm = srv.pm_pid();
    let (old_key, old_id) = srv.shmem_key_id().expect("line 7");
    let old_sems: Vec<i32> = srv.our_ipc().sem_sets.iter().map(|s| s.id).collect();
    assert!(!old_sems.is_empty());
    // The children, found before the kill: checkpointer and two backends.
    let children = srv.children();
    assert!(
        children.len() >= 3,
        "expected a checkpointer and two backends, found {children:?}"
    );
    assert!(children.iter().any(|c| c.pid == backend_pid(&mut a)));

    let killed = Instant::now();
    srv.kill9_postmaster();
    let all_gone = wait_until(Duration::from_millis(1500), || {
        children.iter().all(|c| !c.is_running())
    });
    let took = killed.elapsed();
    let survivors: Vec<i32> = children
        .iter()
        .filter(|c| c.is_running())
        .map(|c| c.pid)
        .collect();
    assert!(
        all_gone,
        "children of the killed postmaster still run after {took:?}: {survivors:?}"
    );
    assert!(
        took <= Duration::from_millis(1500),
        "the children took {took:?} to follow the postmaster"
    );
    // The session's client is told (or at least cut off).
    match a.simple_query("SELECT 1") {
        Ok(r) => panic!("a session outlived its postmaster: {r:?}"),
        Err(e) => {
            if let Some(db) = e.as_db_error() {
                assert_eq!(db.code().code(), "57P01", "{}", describe_error(&e));
                assert_eq!(
                    db.message(),
                    "terminating connection due to unexpected postmaster exit"
                );
            }
        }
    }

    // The leftovers are still there: a SIGKILLed postmaster cannot clean up.
    assert!(srv.lock_file().exists());
    assert!(
        tusk_ipc::shm::stat(old_id).is_ok(),
        "the old segment should be left behind"
    );

    srv.start_postmaster();
    assert_ne!(srv.pm_pid(), old_pm);
    let log = srv.log();
    let after_restart = &log[log
        .rfind("=== e2e harness: starting postmaster")
        .unwrap_or(0)..];
    assert!(
        after_restart.contains("stale lock file"),
        "the new start does not say it replaced the stale lock file:\n{after_restart}"
    );
    assert!(
        after_restart.contains(&format!(
            "removed leftover shared memory block (key {old_key}, ID {old_id})"
        )),
        "the new start does not say it reclaimed the old segment:\n{after_restart}"
    );
    for id in &old_sems {
        assert!(
            after_restart.contains(&format!("ID {id})"))
                && after_restart.contains("removed leftover semaphore set"),
            "the new start does not say it reclaimed semaphore set {id}:\n{after_restart}"
        );
    }
    assert!(
        tusk_ipc::shm::stat(old_id).is_err(),
        "the old segment {old_id} still exists"
    );
    let mut c = srv.connect();
    assert_eq!(simple_value(&mut c, "SELECT 1").as_deref(), Some("1"));
    drop(c);

    let st = srv.stop_with(libc::SIGINT);
    assert_eq!(st.code(), Some(0));
    srv.assert_no_ipc_left();
}

#[test]
fn kill9_backend_reinitialises_without_losing_slots() {
    let srv = TestServer::start(
        Opts::new()
            .set("max_connections", "5")
            .set("superuser_reserved_connections", "0"),
    );
    let mut a = srv.connect();
    let mut b = srv.connect();
    let mut c = srv.connect_unix();
    let procs: Vec<Proc> = [&mut a, &mut b, &mut c]
        .into_iter()
        .map(|s| Proc::of(backend_pid(s)).expect("backend process"))
        .collect();
    let victim = procs[1];
    let pm = srv.pm_pid();

    assert!(crate::util::signal(victim.pid, libc::SIGKILL));
    assert!(
        wait_until(Duration::from_secs(10), || procs
            .iter()
            .all(|p| !p.is_running())),
        "the other backends were not told to quit after a crash"
    );
    for (name, s) in [("A", &mut a), ("C", &mut c)] {
        assert!(
            s.simple_query("SELECT 1").is_err(),
            "session {name} survived the crash of another backend"
        );
    }
    assert!(
        wait_until(Duration::from_secs(5), || srv.log().contains(&format!(
            "(PID {}) was terminated by signal 9",
            victim.pid
        ))),
        "the log does not say the backend was terminated by signal 9"
    );

    // The postmaster reinitialises and accepts connections again.
    let mut fresh = wait_for(Duration::from_secs(30), || srv.try_connect().ok())
        .expect("connections are accepted again");
    assert_eq!(srv.pm_pid(), pm, "the same postmaster");
    assert_eq!(simple_value(&mut fresh, "SELECT 1").as_deref(), Some("1"));
    drop(fresh);
    let log = srv.log();
    for line in [
        "terminating any other active server processes",
        "all server processes terminated; reinitializing",
    ] {
        assert!(log.contains(line), "the log lacks {line:?}");
    }
    assert_eq!(srv.lock_line(8).as_deref(), Some("ready   "));

    // No lost slot: max_connections sessions at once, then the next is refused.
    let all: Vec<postgres::Client> = (0..5)
        .map(|i| {
            wait_for(Duration::from_secs(10), || srv.try_connect().ok()).unwrap_or_else(|| {
                panic!(
                    "session {} of 5 after the crash: {}",
                    i + 1,
                    srv.try_connect()
                        .err()
                        .map(|e| describe_error(&e))
                        .unwrap_or_default()
                )
            })
        })
        .collect();
    let e = srv.try_connect().map(|_| ()).expect_err("a 6th session");
    assert_eq!(
        crate::util::sqlstate(&e).as_deref(),
        Some("53300"),
        "{}",
        describe_error(&e)
    );
    drop(all);
    let mut unix = srv
        .config(Via::Unix)
        .connect(postgres::NoTls)
        .expect("Unix socket after the crash");
    assert_eq!(simple_value(&mut unix, "SELECT 2").as_deref(), Some("2"));
}

/// A session sleeping on its latch in `pg_sleep` and the checkpointer
/// sleeping on its latch both wake when the postmaster dies, and the
/// session's client is told why. Raw protocol, to see the FATAL itself
/// (the postgres crate reports only "connection closed" when an error
/// arrives together with the end of the connection).
#[test]
fn latch_waits_end_when_the_postmaster_dies() {
    let mut srv = TestServer::start(Opts::new());
    let (mut s, startup) = srv.raw_session();
    let k = startup
        .iter()
        .find(|m| m.tag == b'K')
        .expect("BackendKeyData");
    let pid = i32::from_be_bytes([k.body[0], k.body[1], k.body[2], k.body[3]]);
    s.send(&query_message("SELECT pg_sleep(60)")).expect("send");
    let mut watcher = srv.connect();
    assert!(
        wait_until(Duration::from_secs(10), || simple_rows(
            &mut watcher,
            &format!("SELECT wait_event FROM pg_stat_activity WHERE pid = {pid}"),
        ) == vec![vec![Some(
            "PgSleep".to_string()
        )]]),
        "the session never slept"
    );
    let ckpt_pid: i32 = simple_value(
        &mut watcher,
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'",
    )
    .and_then(|p| p.parse().ok())
    .expect("the checkpointer's pid");
    let checkpointer = Proc::of(ckpt_pid).expect("the checkpointer runs");
    let backend = Proc::of(pid).expect("the backend runs");
    drop(watcher);
    let killed = Instant::now();
    srv.kill9_postmaster();
    let msgs = s.read_to_eof().unwrap_or_else(|(_, m)| m);
    let took = killed.elapsed();
    let e = msgs
        .iter()
        .find(|m| m.tag == b'E')
        .unwrap_or_else(|| panic!("no error before EOF: {:?}", summaries(&msgs)));
    assert_eq!(e.field(b'S').as_deref(), Some("FATAL"), "{}", e.summary());
    assert_eq!(e.field(b'C').as_deref(), Some("57P01"), "{}", e.summary());
    assert_eq!(
        e.field(b'M').as_deref(),
        Some("terminating connection due to unexpected postmaster exit")
    );
    assert!(
        took < Duration::from_millis(1500),
        "the sleeping session took {took:?}"
    );
    assert!(
        wait_until(Duration::from_millis(1500), || !backend.is_running()
            && !checkpointer.is_running()),
        "the backend or the checkpointer outlived its postmaster"
    );
}
