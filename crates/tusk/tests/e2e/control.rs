//! `global/pg_control` as PostgreSQL 15 reads it: its own `pg_controldata`
//! reads a tusk cluster (fresh, running, cleanly stopped), and a torn,
//! truncated or foreign pg_control stops the start with a FATAL that names
//! the file and what is wrong, before anything (lock file, IPC) is created.
//!
//! pg_controldata is the oracle: if it is missing the tests fail, they do
//! not pass silently.

use crate::util::{run_bounded, simple_value, wait_until, Opts, TestServer, TUSK};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// `pg_controldata -D data` as (field, value) lines.
fn controldata(data: &Path) -> Vec<(String, String)> {
    let out = run_bounded(
        Command::new(crate::util::require_pg_program("pg_controldata"))
            .arg("-D")
            .arg(data),
        Duration::from_secs(20),
    );
    assert_eq!(out.code(), Some(0), "pg_controldata: {}", out.describe());
    assert!(
        !out.stderr.contains("WARNING"),
        "pg_controldata warns: {}",
        out.describe()
    );
    out.stdout
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// An LSN as PostgreSQL prints it (`%X/%X`).
fn lsn(s: &str) -> u64 {
    let (hi, lo) = s
        .split_once('/')
        .unwrap_or_else(|| panic!("not an LSN: {s:?}"));
    (u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap()
}

fn lsn_str(l: u64) -> String {
    format!("{:X}/{:X}", l >> 32, l as u32)
}

fn field<'a>(cd: &'a [(String, String)], name: &str) -> &'a str {
    cd.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("pg_controldata printed no \"{name}\": {cd:?}"))
}

#[test]
fn pg_controldata_reads_a_fresh_running_and_stopped_cluster() {
    let mut srv = TestServer::init(Opts::new());
    let cd = controldata(srv.data_dir());
    for (name, want) in [
        ("pg_control version number", "1300"),
        ("Catalog version number", "202209061"),
        ("Database cluster state", "shut down"),
        // tusk init's shutdown checkpoint, first record of segment 1.
        ("Latest checkpoint location", "0/1000028"),
        ("Latest checkpoint's REDO location", "0/1000028"),
        ("Latest checkpoint's TimeLineID", "1"),
        ("Latest checkpoint's NextXID", "0:3"),
        ("Latest checkpoint's NextOID", "16384"),
        ("Latest checkpoint's oldestXID", "3"),
        ("Minimum recovery ending location", "0/0"),
        ("wal_level setting", "replica"),
        ("Database block size", "8192"),
        ("WAL block size", "8192"),
        ("Bytes per WAL segment", "16777216"),
        ("Maximum length of identifiers", "64"),
    ] {
        assert_eq!(field(&cd, name), want, "{name}");
    }
    let sysid = field(&cd, "Database system identifier").to_string();
    assert_ne!(sysid, "0");

    srv.start_postmaster();
    let cd = controldata(srv.data_dir());
    assert_eq!(field(&cd, "Database cluster state"), "in production");
    // A CHECKPOINT goes through the checkpointer's writer and keeps the
    // file one PostgreSQL reads.
    let mut c = srv.connect();
    c.simple_query("CHECKPOINT").expect("CHECKPOINT");
    assert_eq!(simple_value(&mut c, "SELECT 1").as_deref(), Some("1"));
    drop(c);
    let cd = controldata(srv.data_dir());
    assert_eq!(field(&cd, "Database cluster state"), "in production");
    assert_eq!(field(&cd, "Database system identifier"), sysid);
    // A real checkpoint record, after the initial one; an online
    // checkpoint's redo pointer lies before its record.
    let online = lsn(field(&cd, "Latest checkpoint location"));
    let online_redo = lsn(field(&cd, "Latest checkpoint's REDO location"));
    assert!(online > 0x100_0028, "{cd:?}");
    assert!(online_redo < online && online_redo > 0x100_0028, "{cd:?}");

    let st = srv.stop_with(libc::SIGINT);
    assert!(st.success(), "fast stop: {st}\n{}", srv.log());
    let cd = controldata(srv.data_dir());
    assert_eq!(field(&cd, "Database cluster state"), "shut down");
    assert_eq!(field(&cd, "Database system identifier"), sysid);
    // The shutdown checkpoint: later still, and its own redo pointer.
    let shutdown = lsn(field(&cd, "Latest checkpoint location"));
    assert!(shutdown > online, "{cd:?}");
    assert_eq!(
        lsn(field(&cd, "Latest checkpoint's REDO location")),
        shutdown
    );
    assert_eq!(field(&cd, "Database block size"), "8192");
    assert_eq!(field(&cd, "Latest checkpoint's TimeLineID"), "1");
}

/// `tusk init --next-xid` starts a cluster past 2^32 (the test option of
/// issue 9), as PostgreSQL's pg_controldata reads it (epoch:xid), and
/// refuses ids below the first normal one.
#[test]
fn init_can_start_transaction_ids_past_2_pow_32() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = |dir: &Path, xid: &str| {
        run_bounded(
            Command::new(TUSK)
                .arg("init")
                .arg("-D")
                .arg(dir)
                .arg("--next-xid")
                .arg(xid),
            Duration::from_secs(30),
        )
    };
    let out = run(&data, "4294967300");
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    let cd = controldata(&data);
    assert_eq!(field(&cd, "Latest checkpoint's NextXID"), "1:4");
    assert!(data.join("pg_xact").is_dir());
    let out = run(&tmp.path().join("other"), "2");
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.describe()
            .contains("--next-xid must be at least 3 (got 2)"),
        "{}",
        out.describe()
    );
    assert!(!tmp.path().join("other").exists(), "nothing created");
}

/// The startup process loads the next xid from pg_control into shared
/// memory and every checkpoint writes it back, all 64 bits: a cluster
/// whose counter is past 2^32 keeps it through CHECKPOINT and a clean stop.
#[test]
fn checkpoints_keep_a_64_bit_next_xid() {
    let mut srv = TestServer::init(Opts::new());
    let mut c = tusk_storage::control::ControlFileData::read(srv.data_dir()).unwrap();
    c.checkpoint_copy.next_xid = (5u64 << 32) + 77;
    c.write(srv.data_dir(), false).unwrap();
    srv.start_postmaster();
    let mut client = srv.connect();
    client.simple_query("CHECKPOINT").expect("CHECKPOINT");
    drop(client);
    assert_eq!(
        field(&controldata(srv.data_dir()), "Latest checkpoint's NextXID"),
        "5:77"
    );
    let st = srv.stop_with(libc::SIGINT);
    assert!(st.success(), "fast stop: {st}\n{}", srv.log());
    let cd = controldata(srv.data_dir());
    assert_eq!(field(&cd, "Database cluster state"), "shut down");
    assert_eq!(field(&cd, "Latest checkpoint's NextXID"), "5:77");
}

/// Starts the server on a damaged pg_control and returns its stderr; the
/// start must fail without leaving a lock file or IPC behind.
fn refused_start(srv: &TestServer, what: &str) -> String {
    let mut args = srv.server_args(srv.port(), srv.socket_dir());
    args.push("--allow-root".into());
    let out = srv.run_tusk(&args, Duration::from_secs(20));
    assert!(
        out.status.is_some(),
        "{what}: the server started on a damaged pg_control: {}",
        out.describe()
    );
    assert_ne!(out.code(), Some(0), "{what}: {}", out.describe());
    assert!(
        out.stderr.contains("FATAL"),
        "{what}: no FATAL: {}",
        out.describe()
    );
    assert!(
        out.stderr.contains("global/pg_control"),
        "{what}: the message names the file: {}",
        out.describe()
    );
    assert!(
        !srv.lock_file().exists(),
        "{what}: a refused start must not leave postmaster.pid"
    );
    srv.assert_no_ipc_left();
    out.stderr
}

#[test]
fn torn_truncated_or_foreign_pg_control_is_refused_at_start() {
    let srv = TestServer::init(Opts::new());
    let file = srv.data_dir().join("global").join("pg_control");
    let good = std::fs::read(&file).expect("read pg_control");
    assert_eq!(good.len(), 8192);

    // A torn write: the second half of the first sector is stale.
    let mut torn = good.clone();
    torn[150..288].fill(0xAB);
    std::fs::write(&file, &torn).unwrap();
    let e = refused_start(&srv, "torn");
    assert!(e.contains("incorrect checksum in control file"), "{e}");
    assert!(e.contains("torn by an interrupted write"), "{e}");

    // A half-written file.
    std::fs::write(&file, &good[..4096]).unwrap();
    let e = refused_start(&srv, "truncated");
    assert!(e.contains("read 4096 of 8192"), "{e}");

    // Another pg_control version (CRC made valid, as a real one would be).
    let mut other = good.clone();
    other[8..12].copy_from_slice(&1201u32.to_le_bytes());
    let crc = crc32c::crc32c(&other[..288]);
    other[288..292].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&file, &other).unwrap();
    let e = refused_start(&srv, "version 1201");
    assert!(
        e.contains("database files are incompatible with server"),
        "{e}"
    );
    assert!(e.contains("PG_CONTROL_VERSION 1201"), "{e}");

    // Put back, the cluster starts: nothing else was damaged.
    std::fs::write(&file, &good).unwrap();
    let mut srv = srv;
    srv.start_postmaster();
    assert_eq!(
        simple_value(&mut srv.connect(), "SELECT 1").as_deref(),
        Some("1")
    );
}

/// Issue 9 item 4/6: kill -9 of the postmaster after a CHECKPOINT; the
/// next start replays WAL from that checkpoint's redo pointer to the end
/// of valid WAL, writes an end-of-recovery checkpoint and accepts
/// connections; a clean stop after that needs no redo at the next start.
#[test]
fn kill9_then_restart_replays_wal_from_the_last_checkpoints_redo_pointer() {
    let mut srv = TestServer::start(Opts::new());
    let wal = srv.data_dir().join("pg_wal");
    let seg = wal.join("000000010000000000000001");
    assert_eq!(
        std::fs::metadata(&seg).map(|m| m.len()).ok(),
        Some(16 * 1024 * 1024),
        "the first segment, preallocated"
    );
    let mut c = srv.connect();
    c.simple_query("CHECKPOINT").expect("CHECKPOINT");
    drop(c);
    let cd = controldata(srv.data_dir());
    let ckpt = lsn(field(&cd, "Latest checkpoint location"));
    let redo = lsn(field(&cd, "Latest checkpoint's REDO location"));
    assert!(redo < ckpt, "{cd:?}");

    let children = srv.children();
    srv.kill9_postmaster();
    assert!(
        wait_until(Duration::from_secs(10), || children
            .iter()
            .all(|p| !p.is_running())),
        "the children follow their postmaster"
    );
    srv.start_postmaster();
    let log = srv.log();
    let restart = &log[log
        .rfind("=== e2e harness: starting postmaster")
        .unwrap_or(0)..];
    assert!(
        restart
            .contains("database system was not properly shut down; automatic recovery in progress"),
        "{restart}"
    );
    // The redo pointer's record (running transactions), then the
    // checkpoint record, which is the last one.
    assert!(
        restart.contains(&format!("redo starts at {}", lsn_str(redo))),
        "{restart}"
    );
    assert!(
        restart.contains(&format!("redo done at {} system usage:", lsn_str(ckpt))),
        "{restart}"
    );
    assert!(
        restart.contains("checkpoint starting: end-of-recovery immediate wait"),
        "{restart}"
    );
    let mut c = srv.connect();
    assert_eq!(simple_value(&mut c, "SELECT 1").as_deref(), Some("1"));
    drop(c);
    // pg_control points at the end-of-recovery checkpoint, past the old
    // end of WAL.
    let cd = controldata(srv.data_dir());
    assert_eq!(field(&cd, "Database cluster state"), "in production");
    let eor = lsn(field(&cd, "Latest checkpoint location"));
    assert!(eor > ckpt, "{cd:?}");
    assert_eq!(lsn(field(&cd, "Latest checkpoint's REDO location")), eor);

    // Clean stop, clean start: nothing to redo.
    let st = srv.stop_with(libc::SIGINT);
    assert!(st.success(), "fast stop: {st}\n{}", srv.log());
    srv.start_postmaster();
    let log = srv.log();
    let again = &log[log
        .rfind("=== e2e harness: starting postmaster")
        .unwrap_or(0)..];
    assert!(
        again.contains("database system was shut down at"),
        "{again}"
    );
    assert!(!again.contains("redo starts at"), "{again}");
    let st = srv.stop_with(libc::SIGINT);
    assert!(st.success(), "fast stop: {st}\n{}", srv.log());
}

/// SIGKILL of the walwriter, the checkpointer or the background writer is
/// a crash, as in PostgreSQL: every process is restarted with fresh
/// shared memory, the startup process runs crash recovery over the WAL
/// (here nothing to redo after the last checkpoint) and writes an
/// end-of-recovery checkpoint, and a new one of the killed kind runs.
#[test]
fn kill9_of_the_walwriter_or_checkpointer_is_a_crash_restart_with_recovery() {
    let srv = TestServer::start(Opts::new());
    for (round, kind) in ["walwriter", "checkpointer", "background writer"]
        .into_iter()
        .enumerate()
    {
        let mut c = srv.connect();
        let q = format!("SELECT pid FROM pg_stat_activity WHERE backend_type = '{kind}'");
        let pid: i32 = simple_value(&mut c, &q)
            .unwrap_or_else(|| panic!("no {kind} in pg_stat_activity"))
            .parse()
            .unwrap();
        drop(c);
        let before = controldata(srv.data_dir());
        let ckpt = lsn(field(&before, "Latest checkpoint location"));
        assert!(crate::util::signal(pid, libc::SIGKILL));
        assert!(
            wait_until(Duration::from_secs(10), || srv.log().contains(&format!(
                "{kind} process (PID {pid}) was terminated by signal 9"
            ))),
            "round {round}: the log does not name the {kind}: {}",
            srv.log()
        );
        let mut c = crate::util::wait_for(Duration::from_secs(30), || srv.try_connect().ok())
            .expect("connections are accepted again");
        let new_pid = crate::util::wait_for(Duration::from_secs(10), || {
            // No row yet while the restarted process starts: keep waiting.
            crate::util::simple_rows(&mut c, &q)
                .first()
                .and_then(|r| r.first().cloned().flatten())
                .filter(|p| p != &pid.to_string())
        })
        .unwrap_or_else(|| panic!("round {round}: no new {kind}"));
        assert_ne!(new_pid, pid.to_string());
        let log = srv.log();
        let n = |s: &str| log.matches(s).count();
        assert_eq!(
            n("database system was not properly shut down; automatic recovery in progress"),
            round + 1,
            "{log}"
        );
        assert_eq!(
            n("checkpoint starting: end-of-recovery immediate wait"),
            round + 1
        );
        let after = controldata(srv.data_dir());
        assert!(lsn(field(&after, "Latest checkpoint location")) > ckpt);
        assert_eq!(field(&after, "Database cluster state"), "in production");
    }
}

/// pg_current_wal_lsn() (written), pg_current_wal_insert_lsn(),
/// pg_current_wal_flush_lsn() and pg_walfile_name(): a CHECKPOINT's
/// records move all three past pg_control's checkpoint location, and the
/// file name is the segment's in pg_wal/.
#[test]
fn wal_position_functions_follow_a_checkpoint() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let positions = |c: &mut postgres::Client| -> (u64, u64, u64) {
        let r = crate::util::simple_rows(
            c,
            "SELECT pg_current_wal_insert_lsn(), pg_current_wal_lsn(), pg_current_wal_flush_lsn()",
        );
        let v = |i: usize| lsn(r[0][i].as_deref().expect("an LSN"));
        (v(0), v(1), v(2))
    };
    let (i0, w0, f0) = positions(&mut c);
    assert!(
        i0 > 0x100_0028 && w0 == i0 && f0 == i0,
        "{i0:X} {w0:X} {f0:X}"
    );
    c.simple_query("CHECKPOINT").expect("CHECKPOINT");
    let (i1, w1, f1) = positions(&mut c);
    let cd = controldata(srv.data_dir());
    let ckpt = lsn(field(&cd, "Latest checkpoint location"));
    assert!(ckpt >= i0 && i1 > ckpt, "{i1:X} {ckpt:X}");
    // The checkpointer flushed its record before pg_control pointed at it.
    assert!(f1 > ckpt && w1 >= f1 && i1 >= w1, "{i1:X} {w1:X} {f1:X}");
    let name =
        simple_value(&mut c, "SELECT pg_walfile_name(pg_current_wal_lsn())").expect("a file name");
    assert_eq!(name, "000000010000000000000001");
    assert!(srv.data_dir().join("pg_wal").join(&name).exists());
}

/// A reload reaches the auxiliary processes: `checkpoint_timeout` lowered
/// in postgresql.conf and SIGHUP to the postmaster make the checkpointer
/// (started with the default 5 min) write a timed checkpoint once there is WAL to
/// cover. Before, the checkpointer and walwriter dropped SIGHUP and kept
/// the settings they were forked with.
#[test]
fn a_reload_reaches_the_checkpointer() {
    let srv = TestServer::start(Opts::new());
    let conf = srv.data_dir().join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).expect("read postgresql.conf");
    text.push_str("\ncheckpoint_timeout = 30\n");
    std::fs::write(&conf, text).expect("write postgresql.conf");
    srv.signal_postmaster(libc::SIGHUP);
    let mut c = srv.connect();
    // The minimum, 30 s, counted from the checkpointer's start: the
    // default 5 min would not come within the deadline.
    let timed = wait_until(Duration::from_secs(90), || {
        // A committed xid writes WAL, so the timed checkpoint is not
        // skipped as idle.
        simple_value(&mut c, "SELECT txid_current()").is_some()
            && srv.log().contains("checkpoint starting: time")
    });
    assert!(
        timed,
        "no timed checkpoint after the reload:\n{}",
        srv.log()
    );
    // pg_stat_bgwriter counts it as timed, not requested.
    assert_eq!(
        simple_value(
            &mut c,
            "SELECT checkpoints_timed >= 1 AND checkpoints_req = 0 FROM pg_stat_bgwriter"
        )
        .as_deref(),
        Some("t")
    );
}
