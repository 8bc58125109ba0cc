//! Supervision beyond a single shutdown: smart waiting and escalation, the
//! five-second SIGKILL deadline, crash restart after `kill -9` of a
//! backend (and `restart_after_crash = off`), reload, and signals to one
//! backend only.

use crate::harness::{
    assert_no_reports, assert_told, holds_for, refused_connection, session, small, wait_sleeping,
    Cluster, Resources,
};
use crate::util::{
    signal, summaries, wait_for, wait_until, Proc, RawConn, TestServer, DATABASE, PROTOCOL_3_0,
    STOP_TIMEOUT, SUPERUSER,
};
use std::time::{Duration, Instant};

const CRASH_TEXT: &str = "terminating connection because of crash of another server process";

#[test]
fn smart_waits_for_the_last_session_then_exits_promptly() {
    let _serial = crate::serial_write();
    let mut srv = TestServer::start(small());
    let (port, data, sock) = (
        srv.port(),
        srv.data_dir().to_path_buf(),
        srv.socket_dir().to_path_buf(),
    );
    let a = session(port, "first");
    let b = session(port, "second");
    let inventory = Resources::capture(&data, &sock, port);
    srv.signal_postmaster(libc::SIGTERM);
    assert!(wait_until(Duration::from_secs(10), || srv
        .lock_line(8)
        .is_some_and(|l| l.trim() == "stopping")));
    holds_for(
        Duration::from_millis(1200),
        "the server running with two sessions",
        || srv.is_running(),
    );
    assert_no_reports(&a.terminate());
    // One session left: still waiting.
    holds_for(
        Duration::from_millis(1000),
        "the server running with one session",
        || srv.is_running(),
    );
    assert_no_reports(&b.terminate());
    let closed = Instant::now();
    let st = srv
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no exit after the last session closed\n{}", srv.log()));
    assert!(
        closed.elapsed() < Duration::from_secs(2),
        "the server took {:?} to exit after the last session closed",
        closed.elapsed()
    );
    assert_eq!(st.code(), Some(0), "exit status {st}\n{}", srv.log());
    inventory.assert_all_gone(&srv.log());
}

#[test]
fn smart_escalates_to_fast_while_a_session_is_open() {
    let _serial = crate::serial_read();
    let mut srv = TestServer::start(small());
    let (port, data, sock) = (
        srv.port(),
        srv.data_dir().to_path_buf(),
        srv.socket_dir().to_path_buf(),
    );
    let mut s = session(port, "lingering");
    s.ok("BEGIN");
    let inventory = Resources::capture(&data, &sock, port);
    srv.signal_postmaster(libc::SIGTERM);
    assert!(wait_until(Duration::from_secs(10), || srv
        .lock_line(8)
        .is_some_and(|l| l.trim() == "stopping")));
    holds_for(
        Duration::from_millis(500),
        "the server in smart shutdown",
        || srv.is_running(),
    );
    srv.signal_postmaster(libc::SIGINT);
    assert_told(
        &s.read_to_eof(),
        b'E',
        "FATAL",
        "57P01",
        "terminating connection due to administrator command",
    );
    let st = srv
        .wait_exit(STOP_TIMEOUT)
        .unwrap_or_else(|| panic!("no exit after SIGINT\n{}", srv.log()));
    assert_eq!(st.code(), Some(0), "exit status {st}\n{}", srv.log());
    let log = srv.log();
    assert!(
        log.contains("received smart shutdown request")
            && log.contains("received fast shutdown request"),
        "{log}"
    );
    inventory.assert_all_gone(&log);
}

#[test]
fn immediate_sigkills_children_that_ignore_sigquit_after_five_seconds() {
    let _serial = crate::serial_write();
    let mut c = Cluster::init(small());
    c.spawn(&[("TUSK_TEST_IGNORE_SIGQUIT", "1")], &[]);
    let (port, data, sock) = (c.ts.port(), c.data(), c.ts.socket_dir().to_path_buf());
    let mut s = session(port, "stubborn");
    let backend = Proc::of(s.pid).expect("the backend runs");
    let inventory = Resources::capture(&data, &sock, port);
    let pm = c.pm_pid();
    let sent = Instant::now();
    assert!(signal(pm, libc::SIGQUIT));
    // Weaker requests during an immediate shutdown change nothing.
    std::thread::sleep(Duration::from_millis(300));
    assert!(signal(pm, libc::SIGINT) && signal(pm, libc::SIGTERM));
    let died = wait_until(Duration::from_secs(10), || !backend.is_running());
    let after = sent.elapsed();
    assert!(
        died,
        "the backend ignoring SIGQUIT was never killed\n{}",
        c.ts.log()
    );
    assert!(
        after >= Duration::from_secs(5) && after < Duration::from_secs(6),
        "the backend that ignores SIGQUIT died {after:?} after the immediate shutdown request (want 5 to 6 s)\n{}",
        c.ts.log()
    );
    let st = c
        .wait_exit(STOP_TIMEOUT)
        .unwrap_or_else(|| panic!("no exit after the SIGKILL\n{}", c.ts.log()));
    assert_eq!(st.code(), Some(0), "exit status {st}\n{}", c.ts.log());
    // The client was told nothing (its backend ignored SIGQUIT, then was killed).
    let msgs = s.read_to_eof();
    assert_no_reports(&msgs);
    let log = c.ts.log();
    assert!(
        log.contains("issuing SIGKILL to recalcitrant children"),
        "{log}"
    );
    assert!(
        !log.contains("received fast shutdown request")
            && !log.contains("received smart shutdown request"),
        "a weaker request was acted on:\n{log}"
    );
    inventory.assert_all_gone(&log);
}

/// Opens a session, retrying while the server answers 57P03 (starting up,
/// in recovery mode) or is not accepting yet; returns the refusals seen.
fn session_after_recovery(port: u16) -> (crate::harness::Session, Vec<String>) {
    let mut refusals = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut conn = RawConn::connect(port);
        conn.send(&crate::util::startup_packet(
            PROTOCOL_3_0,
            &[("user", SUPERUSER), ("database", DATABASE)],
        ))
        .expect("send startup");
        let mut msgs = Vec::new();
        let mut ready = false;
        while let Ok(Some(m)) = conn.read_msg() {
            let z = m.tag == b'Z';
            msgs.push(m);
            if z {
                ready = true;
                break;
            }
        }
        if ready {
            let key = msgs.iter().find(|m| m.tag == b'K').expect("BackendKeyData");
            let pid = i32::from_be_bytes([key.body[0], key.body[1], key.body[2], key.body[3]]);
            return (crate::harness::Session { conn, pid }, refusals);
        }
        let e = msgs
            .iter()
            .find(|m| m.tag == b'E')
            .unwrap_or_else(|| panic!("neither a session nor an error: {:?}", summaries(&msgs)));
        assert_eq!(
            e.field(b'C').as_deref(),
            Some("57P03"),
            "refused for another reason: {}",
            e.summary()
        );
        refusals.push(e.field(b'M').unwrap_or_default());
        assert!(
            Instant::now() < deadline,
            "no session within 30 s after the crash; refusals: {refusals:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn kill9_of_a_backend_restarts_the_server_and_frees_every_slot() {
    let _serial = crate::serial_read();
    let mut srv = TestServer::start(small().set("max_connections", "5"));
    let port = srv.port();
    let pm = srv.pm_pid();
    let (_, old_shm) = srv.shmem_key_id().expect("line 7");
    let victim = session(port, "victim");
    let mut bystander = session(port, "bystander");
    assert!(signal(victim.pid, libc::SIGKILL));
    let msgs = bystander.read_to_eof();
    assert_told(&msgs, b'N', "WARNING", "57P02", CRASH_TEXT);
    let (first, refusals) = session_after_recovery(port);
    for r in &refusals {
        assert!(
            r == "the database system is in recovery mode"
                || r == "the database system is starting up",
            "unexpected refusal {r:?}"
        );
    }
    assert_eq!(srv.pm_pid(), pm);
    assert!(srv.is_running());
    // Shared memory was made anew: another segment, the old one removed.
    let (_, new_shm) = srv.shmem_key_id().expect("line 7 after the restart");
    assert_ne!(new_shm, old_shm, "the crash restart kept the old segment");
    assert!(
        !tusk_ipc::list_segments()
            .unwrap_or_default()
            .iter()
            .any(|s| s.id == old_shm),
        "the old segment {old_shm} remains"
    );
    // Every slot is free again: max_connections sessions fit.
    let mut all = vec![first];
    for i in 1..5 {
        all.push(session(port, &format!("after-{i}")));
    }
    let refused = refused_connection(port);
    assert_told(
        &refused,
        b'E',
        "FATAL",
        "53300",
        "sorry, too many clients already",
    );
    for s in all {
        s.terminate();
    }
    let log = srv.log();
    assert!(
        log.contains(&format!(
            "server process (PID {}) was terminated by signal 9: Killed",
            victim.pid
        )),
        "{log}"
    );
    assert!(
        log.contains("terminating any other active server processes"),
        "{log}"
    );
    assert!(
        log.contains("all server processes terminated; reinitializing"),
        "{log}"
    );
    drop(victim);
}

#[test]
fn restart_after_crash_off_makes_the_server_exit() {
    let _serial = crate::serial_read();
    let mut srv = TestServer::start(small().set("restart_after_crash", "off"));
    let (port, data, sock) = (
        srv.port(),
        srv.data_dir().to_path_buf(),
        srv.socket_dir().to_path_buf(),
    );
    let victim = session(port, "victim");
    let mut bystander = session(port, "bystander");
    let inventory = Resources::capture(&data, &sock, port);
    assert!(signal(victim.pid, libc::SIGKILL));
    assert_told(
        &bystander.read_to_eof(),
        b'N',
        "WARNING",
        "57P02",
        CRASH_TEXT,
    );
    let st = srv
        .wait_exit(STOP_TIMEOUT)
        .unwrap_or_else(|| panic!("the server did not exit\n{}", srv.log()));
    assert_eq!(st.code(), Some(1), "exit status {st}\n{}", srv.log());
    let log = srv.log();
    assert!(
        log.contains("shutting down because \"restart_after_crash\" is off"),
        "{log}"
    );
    inventory.assert_all_gone(&log);
}

fn show(port: u16, name: &str) -> String {
    let mut s = session(port, "show");
    let v = s.ok(&format!("SHOW {name}"));
    s.terminate();
    v[0][0].clone().unwrap_or_default()
}

#[test]
fn reload_changes_a_setting_and_a_broken_file_keeps_the_old_value() {
    let _serial = crate::serial_read();
    let srv = TestServer::start(small());
    let port = srv.port();
    let conf = srv.data_dir().join("postgresql.conf");
    let ctl = |args: &[&str]| {
        let mut cmd = std::process::Command::new(crate::util::TUSK);
        cmd.arg("ctl")
            .args(args)
            .arg("-D")
            .arg(srv.data_dir())
            .args(crate::harness::root_flag());
        crate::util::run_bounded(&mut cmd, Duration::from_secs(30))
    };
    assert_eq!(show(port, "statement_timeout"), "0");
    let mut old = session(port, "old");
    let mut text = std::fs::read_to_string(&conf).expect("postgresql.conf");
    text.push_str("\nstatement_timeout = '7s'\n");
    std::fs::write(&conf, &text).expect("write postgresql.conf");
    let out = ctl(&["reload"]);
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert_eq!(out.stdout.trim(), "server signaled");
    let seen = wait_for(Duration::from_secs(10), || {
        Some(show(port, "statement_timeout")).filter(|v| v == "7s")
    });
    assert_eq!(
        seen.as_deref(),
        Some("7s"),
        "a new session never saw the reloaded value\n{}",
        srv.log()
    );
    // A session that was already open sees it too.
    let in_old = wait_for(Duration::from_secs(10), || {
        old.ok("SHOW statement_timeout")[0][0]
            .clone()
            .filter(|v| v == "7s")
    });
    assert_eq!(
        in_old.as_deref(),
        Some("7s"),
        "an existing session kept the old value\n{}",
        srv.log()
    );

    // A broken file: nothing of it applies, not even its valid lines.
    text.push_str("statement_timeout = '9s'\nthis line is not a setting\n");
    std::fs::write(&conf, &text).expect("write postgresql.conf");
    let out = ctl(&["reload"]);
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert!(
        wait_until(Duration::from_secs(10), || srv
            .log()
            .contains("contains errors")),
        "the log does not say the file is broken\n{}",
        srv.log()
    );
    assert_eq!(
        show(port, "statement_timeout"),
        "7s",
        "a broken postgresql.conf was applied\n{}",
        srv.log()
    );
    old.terminate();
}

#[test]
fn sigterm_and_sigint_to_one_backend_touch_no_other_session() {
    let _serial = crate::serial_read();
    let mut srv = TestServer::start(small());
    let port = srv.port();
    let data = srv.data_dir().to_path_buf();
    let mut ended = session(port, "ended");
    let mut cancelled = session(port, "cancelled");
    let mut other = session(port, "other");
    other.ok("BEGIN");
    // SIGINT cancels the running statement only.
    cancelled.send("SELECT pg_sleep(600)");
    wait_sleeping(&data, cancelled.pid);
    assert!(signal(cancelled.pid, libc::SIGINT));
    let msgs = cancelled.conn.read_until_ready();
    assert_told(
        &msgs,
        b'E',
        "ERROR",
        "57014",
        "canceling statement due to user request",
    );
    assert_eq!(cancelled.ok("SELECT 1"), vec![vec![Some("1".to_string())]]);
    // SIGTERM ends that session only.
    assert!(signal(ended.pid, libc::SIGTERM));
    assert_told(
        &ended.read_to_eof(),
        b'E',
        "FATAL",
        "57P01",
        "terminating connection due to administrator command",
    );
    assert_eq!(other.ok("SELECT 2"), vec![vec![Some("2".to_string())]]);
    other.ok("COMMIT");
    assert!(srv.is_running());
    let _ = ended.conn.read_msg();
}

#[test]
fn failed_recovery_in_a_crash_restart_stops_the_server() {
    let _serial = crate::serial_read();
    let mut srv = TestServer::start(small());
    let victim = session(srv.port(), "victim");
    // Recovery will find pg_control unreadable.
    let control = srv.data_dir().join("global").join("pg_control");
    std::fs::write(&control, b"not a control file").expect("overwrite pg_control");
    signal(victim.pid, libc::SIGKILL);
    let st = srv
        .wait_exit(STOP_TIMEOUT)
        .unwrap_or_else(|| panic!("the server neither recovered nor exited\n{}", srv.log()));
    assert_eq!(st.code(), Some(1), "{}", srv.log());
    let log = srv.log();
    assert!(
        log.contains("aborting startup due to startup process failure"),
        "{log}"
    );
    assert!(log.contains("abnormal database system shutdown"), "{log}");
}

#[test]
fn fast_shutdown_ends_a_session_whose_client_does_not_read() {
    let _serial = crate::serial_read();
    let mut srv = TestServer::start(small());
    let mut hog = session(srv.port(), "reads nothing");
    // 64 MB of result that the client never reads: the backend blocks
    // once the socket buffers are full.
    hog.send("SELECT repeat('x', 64 * 1024 * 1024)");
    let pid = hog.pid;
    // Blocked in the write: its statement is running (state active) and it
    // sleeps in poll(2) — the write path's wait for room in the socket.
    let mut observer = session(srv.port(), "observer");
    assert!(
        wait_until(Duration::from_secs(20), || {
            let state = observer.ok(&format!(
                "SELECT state FROM pg_stat_activity WHERE pid = {pid}"
            ));
            state == vec![vec![Some("active".to_string())]]
                && std::fs::read_to_string(format!("/proc/{pid}/wchan"))
                    .is_ok_and(|w| w.contains("poll"))
        }),
        "the backend never blocked on the client"
    );
    srv.signal_postmaster(libc::SIGINT);
    let st = srv.wait_exit(STOP_TIMEOUT).unwrap_or_else(|| {
        panic!(
            "fast shutdown waited for a client that does not read\n{}",
            srv.log()
        )
    });
    assert_eq!(st.code(), Some(0), "{}", srv.log());
    drop(hog);
}

/// Issue 14 point 4: connections that never send a startup packet, five
/// times max_connections of them (so most are dead-end children that
/// only refuse "too many clients"), do not hold up a fast or immediate
/// shutdown: every child is ended at once and nothing remains.
fn silent_connections_do_not_hold_up(sig: i32, mode: &str) {
    let _serial = crate::serial_write();
    let mut srv = TestServer::start(small().set("max_connections", "10"));
    let (port, data, sock) = (
        srv.port(),
        srv.data_dir().to_path_buf(),
        srv.socket_dir().to_path_buf(),
    );
    let pm = srv.pm_pid();
    // Children that exist already (the checkpointer, maybe the harness's
    // readiness probe on its way out) are not the silent connections'.
    let before: Vec<i32> = crate::util::children_of(pm).iter().map(|p| p.pid).collect();
    let new_children = || {
        crate::util::children_of(pm)
            .iter()
            .filter(|p| !before.contains(&p.pid))
            .count()
    };
    let silent: Vec<std::net::TcpStream> = (0..50)
        .map(|i| {
            std::net::TcpStream::connect(("127.0.0.1", port))
                .unwrap_or_else(|e| panic!("silent connection {i}: {e}"))
        })
        .collect();
    // Every one of them has its own forked child before the stop.
    assert!(
        wait_until(Duration::from_secs(20), || new_children() >= 50),
        "the postmaster forked {} children for 50 connections\n{}",
        new_children(),
        srv.log()
    );
    let inventory = Resources::capture(&data, &sock, port);
    let signalled = Instant::now();
    srv.signal_postmaster(sig);
    let st = srv
        .wait_exit(STOP_TIMEOUT)
        .unwrap_or_else(|| panic!("{mode}: no exit within {STOP_TIMEOUT:?}\n{}", srv.log()));
    let took = signalled.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "{mode} shutdown with 50 silent connections took {took:?}\n{}",
        srv.log()
    );
    assert_eq!(st.code(), Some(0), "exit status {st}\n{}", srv.log());
    inventory.assert_all_gone(&srv.log());
    // The clients see their connections closed.
    for (i, mut s) in silent.into_iter().enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("set_read_timeout");
        let mut buf = [0u8; 1];
        match std::io::Read::read(&mut s, &mut buf) {
            Ok(0) => {}
            Ok(_) => panic!("silent connection {i} was sent data"),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("silent connection {i} not closed: {e}"),
        }
    }
}

#[test]
fn fast_shutdown_ends_fifty_silent_connections_at_once() {
    silent_connections_do_not_hold_up(libc::SIGINT, "fast");
}

#[test]
fn immediate_shutdown_ends_fifty_silent_connections_at_once() {
    silent_connections_do_not_hold_up(libc::SIGQUIT, "immediate");
}
