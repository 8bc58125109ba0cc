//! `global/pg_control` as PostgreSQL 15 reads it: its own `pg_controldata`
//! reads a tusk cluster (fresh, running, cleanly stopped), and a torn,
//! truncated or foreign pg_control stops the start with a FATAL that names
//! the file and what is wrong, before anything (lock file, IPC) is created.
//!
//! pg_controldata is the oracle: if it is missing the tests fail, they do
//! not pass silently.

use crate::util::{run_bounded, simple_value, Opts, TestServer, TUSK};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const PG_CONTROLDATA: &str = "/usr/lib/postgresql/15/bin/pg_controldata";

/// `pg_controldata -D data` as (field, value) lines.
fn controldata(data: &Path) -> Vec<(String, String)> {
    assert!(
        Path::new(PG_CONTROLDATA).exists(),
        "{PG_CONTROLDATA} is not installed: these tests need PostgreSQL 15's programs"
    );
    let out = run_bounded(
        Command::new(PG_CONTROLDATA).arg("-D").arg(data),
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
        ("Latest checkpoint location", "0/0"),
        ("Latest checkpoint's REDO location", "0/0"),
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

    let st = srv.stop_with(libc::SIGINT);
    assert!(st.success(), "fast stop: {st}\n{}", srv.log());
    let cd = controldata(srv.data_dir());
    assert_eq!(field(&cd, "Database cluster state"), "shut down");
    assert_eq!(field(&cd, "Database system identifier"), sysid);
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
