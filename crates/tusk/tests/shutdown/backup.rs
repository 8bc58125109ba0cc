//! Online backups and the stop modes (R14, R15): during a smart shutdown
//! a running backup keeps the server up and superusers may still connect;
//! a fast shutdown cancels it.

use crate::harness::{assert_told, holds_for, session, small};
use crate::util::{
    startup_packet, wait_until, RawConn, TestServer, DATABASE, PROTOCOL_3_0, STOP_TIMEOUT,
};
use std::time::Duration;

/// Adds an ordinary (non-superuser) role to the bootstrap catalog.
fn add_ordinary_role(srv: &TestServer, name: &str) {
    let path = srv.data_dir().join("global").join("pg_authid");
    let mut text = std::fs::read_to_string(&path).expect("global/pg_authid");
    text.push_str(&format!("20 {name} f\n"));
    std::fs::write(&path, text).expect("write global/pg_authid");
}

#[test]
fn smart_shutdown_waits_for_a_backup_and_admits_only_superusers() {
    let _serial = crate::serial_read();
    let mut srv = TestServer::start(small());
    let port = srv.port();
    add_ordinary_role(&srv, "alice");
    let mut backup = session(port, "backup");
    let lsn = backup.ok("SELECT pg_backup_start('nightly')");
    // The redo pointer of the last checkpoint: on a new cluster, tusk
    // init's shutdown checkpoint, the first record of segment 1.
    assert_eq!(
        lsn,
        vec![vec![Some("0/1000028".to_string())]],
        "pg_backup_start returns the start position"
    );
    srv.signal_postmaster(libc::SIGTERM);
    assert!(wait_until(Duration::from_secs(10), || srv
        .lock_line(8)
        .is_some_and(|l| l.trim() == "stopping")));

    // A superuser still gets in and can work.
    let mut late = session(port, "late superuser");
    assert_eq!(late.ok("SELECT 1"), vec![vec![Some("1".to_string())]]);

    // An ordinary role does not.
    let mut conn = RawConn::connect(port);
    conn.send(&startup_packet(
        PROTOCOL_3_0,
        &[("user", "alice"), ("database", DATABASE)],
    ))
    .expect("startup");
    let msgs = conn
        .read_to_eof()
        .unwrap_or_else(|(e, _)| panic!("not refused: {e}\n{}", srv.log()));
    assert_told(
        &msgs,
        b'E',
        "FATAL",
        "42501",
        "must be superuser to connect during database shutdown",
    );

    holds_for(
        Duration::from_millis(500),
        "the server while the backup runs",
        || srv.is_running(),
    );
    let stop = backup.ok("SELECT pg_backup_stop()");
    let record = stop[0][0].clone().expect("pg_backup_stop returns a record");
    assert!(
        record.starts_with(
            "(0/1000028,\"START WAL LOCATION: 0/1000028 (file 000000010000000000000001)"
        ),
        "{record}"
    );
    assert!(record.contains("LABEL: nightly"), "{record}");
    backup.terminate();
    // The superuser who came in during the shutdown has a full session:
    // smart shutdown waits for it too, and a fast one ends it.
    holds_for(
        Duration::from_millis(500),
        "the server while a late session lives",
        || srv.is_running(),
    );
    srv.signal_postmaster(libc::SIGINT);
    assert_told(
        &late.read_to_eof(),
        b'E',
        "FATAL",
        "57P01",
        "terminating connection due to administrator command",
    );
    let st = srv
        .wait_exit(STOP_TIMEOUT)
        .unwrap_or_else(|| panic!("no exit after SIGINT\n{}", srv.log()));
    assert_eq!(st.code(), Some(0), "{}", srv.log());
    assert!(
        srv.log().contains("online backup mode is active"),
        "{}",
        srv.log()
    );
}

#[test]
fn fast_shutdown_cancels_a_backup() {
    let _serial = crate::serial_read();
    let mut srv = TestServer::start(small());
    let mut backup = session(srv.port(), "backup");
    backup.ok("SELECT pg_backup_start('cancelled')");
    srv.signal_postmaster(libc::SIGINT);
    assert_told(
        &backup.read_to_eof(),
        b'E',
        "FATAL",
        "57P01",
        "terminating connection due to administrator command",
    );
    let st = srv
        .wait_exit(STOP_TIMEOUT)
        .unwrap_or_else(|| panic!("no exit after SIGINT\n{}", srv.log()));
    assert_eq!(st.code(), Some(0), "{}", srv.log());
    assert!(
        srv.log()
            .contains("aborting backup due to backend exiting before pg_backup_stop was called"),
        "{}",
        srv.log()
    );
}

#[test]
fn backup_functions_refuse_misuse() {
    let _serial = crate::serial_read();
    let srv = TestServer::start(small());
    let mut s = session(srv.port(), "misuse");
    let msgs = s.query("SELECT pg_backup_stop()");
    assert_told(&msgs, b'E', "ERROR", "55000", "backup is not in progress");
    s.ok("SELECT pg_backup_start('one')");
    let msgs = s.query("SELECT pg_backup_start('two')");
    assert_told(
        &msgs,
        b'E',
        "ERROR",
        "55000",
        "a backup is already in progress in this session",
    );
    s.ok("SELECT pg_backup_stop()");
}
