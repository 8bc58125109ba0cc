//! Checkpoints and the WAL they keep, against the real binary: old
//! segments recycled or removed after a checkpoint so that `pg_wal` stays
//! bounded by min_wal_size / max_wal_size, checkpoints started by WAL
//! volume ("checkpoint starting: wal"), PostgreSQL 15's log_checkpoints
//! lines, recovery after a crash that follows recycling, and the
//! background writer's process.
//!
//! WAL is written with `pg_logical_emit_message(false, prefix, content)`
//! (PostgreSQL's function; in tusk it writes a logical message record and
//! nothing else), 1 MB per call. Expected log texts are PostgreSQL 15's
//! (checked against PostgreSQL 15 with the same settings: it keeps two
//! segments with min_wal_size = max_wal_size = 32MB).

use crate::util::{signal, simple_rows, simple_value, wait_until, Opts, TestServer};
use std::time::Duration;

const MB_MESSAGE: &str =
    "SELECT pg_logical_emit_message(false, 'walkeep', repeat('x', 1048576)) FROM generate_series(1, ";

/// Writes `mb` MB of WAL through one session.
fn write_wal(c: &mut postgres::Client, mb: u32) {
    c.simple_query(&format!("{MB_MESSAGE}{mb})"))
        .unwrap_or_else(|e| panic!("pg_logical_emit_message: {e}"));
}

/// The segment files in pg_wal (24 hex digits).
fn segments(srv: &TestServer) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(srv.data_dir().join("pg_wal"))
        .expect("read pg_wal")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.len() == 24 && n.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    v.sort();
    v
}

/// A 16 MB segment file's number.
fn segno(name: &str) -> u64 {
    let log = u64::from_str_radix(&name[8..16], 16).expect(name);
    let seg = u64::from_str_radix(&name[16..24], 16).expect(name);
    (log << 8) + seg
}

/// Checks one "checkpoint complete" line against PostgreSQL 15's format
/// and returns its (buffers, added, removed, recycled).
fn parse_complete(line: &str) -> (u64, u64, u64, u64) {
    let rest = line
        .split_once("LOG:  checkpoint complete: wrote ")
        .unwrap_or_else(|| panic!("not a checkpoint complete line: {line}"))
        .1;
    let num = |s: &str| -> u64 { s.parse().unwrap_or_else(|_| panic!("{s:?} in {line}")) };
    let secs = |s: &str| {
        let (a, b) = s
            .strip_suffix(" s")
            .and_then(|s| s.split_once('.'))
            .unwrap_or_else(|| panic!("{s:?} is not N.NNN s in {line}"));
        assert!(
            a.bytes().all(|c| c.is_ascii_digit()) && !a.is_empty(),
            "{line}"
        );
        assert!(
            b.len() == 3 && b.bytes().all(|c| c.is_ascii_digit()),
            "{line}"
        );
    };
    let parts: Vec<&str> = rest.split("; ").collect();
    assert_eq!(parts.len(), 5, "five parts: {line}");
    // "N buffers (X.X%)"
    let (n, pct) = parts[0].split_once(" buffers (").expect(line);
    let pct = pct.strip_suffix("%)").expect(line);
    let (i, f) = pct.split_once('.').expect(line);
    assert!(i.parse::<u32>().is_ok() && f.len() == 1, "{line}");
    // "A WAL file(s) added, R removed, C recycled"
    let files: Vec<&str> = parts[1].split(", ").collect();
    assert_eq!(files.len(), 3, "{line}");
    let added = num(files[0].strip_suffix(" WAL file(s) added").expect(line));
    let removed = num(files[1].strip_suffix(" removed").expect(line));
    let recycled = num(files[2].strip_suffix(" recycled").expect(line));
    // "write=N.NNN s, sync=N.NNN s, total=N.NNN s"
    let times: Vec<&str> = parts[2].split(", ").collect();
    for (t, name) in times.iter().zip(["write=", "sync=", "total="]) {
        secs(t.strip_prefix(name).expect(line));
    }
    assert_eq!(times.len(), 3, "{line}");
    // "sync files=N, longest=N.NNN s, average=N.NNN s"
    let sync: Vec<&str> = parts[3].split(", ").collect();
    assert_eq!(sync.len(), 3, "{line}");
    num(sync[0].strip_prefix("sync files=").expect(line));
    secs(sync[1].strip_prefix("longest=").expect(line));
    secs(sync[2].strip_prefix("average=").expect(line));
    // "distance=N kB, estimate=N kB"
    let dist: Vec<&str> = parts[4].trim_end().split(", ").collect();
    assert_eq!(dist.len(), 2, "{line}");
    num(dist[0]
        .strip_prefix("distance=")
        .and_then(|s| s.strip_suffix(" kB"))
        .expect(line));
    num(dist[1]
        .strip_prefix("estimate=")
        .and_then(|s| s.strip_suffix(" kB"))
        .expect(line));
    (num(n), added, removed, recycled)
}

fn complete_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("LOG:  checkpoint complete: "))
        .map(str::to_string)
        .collect()
}

fn small_wal() -> Opts {
    Opts::new()
        .set("max_wal_size", "32MB")
        .set("min_wal_size", "32MB")
        // Only WAL volume and CHECKPOINT start checkpoints here.
        .set("checkpoint_timeout", "1h")
}

#[test]
fn checkpoints_recycle_old_segments_and_keep_pg_wal_bounded() {
    let srv = TestServer::start(small_wal());
    let mut c = srv.connect();
    let seg_of = |c: &mut postgres::Client| {
        simple_value(c, "SELECT pg_walfile_name(pg_current_wal_lsn())").expect("walfile")
    };
    let first = seg_of(&mut c);
    let mut most = 0;
    for round in 0..8 {
        write_wal(&mut c, 8);
        c.simple_query("CHECKPOINT").expect("CHECKPOINT");
        let segs = segments(&srv);
        most = most.max(segs.len());
        // PostgreSQL 15 keeps 2 here; the redo segment, one recycled
        // ahead, and one preallocated or not yet reused are the most.
        assert!(
            segs.len() <= 4,
            "round {round}: {} segments in pg_wal: {segs:?}",
            segs.len()
        );
        // Nothing before the last checkpoint's redo segment is left.
        let redo = tusk_storage::control::ControlFileData::read(srv.data_dir())
            .expect("pg_control")
            .checkpoint_copy
            .redo;
        let redo_seg = redo / (16 << 20);
        for s in &segs {
            assert!(
                segno(s) >= redo_seg,
                "{s} is before the redo segment {redo_seg}"
            );
        }
    }
    let log = srv.log();
    let lines = complete_lines(&log);
    assert!(lines.len() >= 8, "{log}");
    let (mut removed, mut recycled) = (0, 0);
    for l in &lines {
        let (_, _, r, y) = parse_complete(l);
        removed += r;
        recycled += y;
    }
    assert!(recycled > 0, "some segments were recycled: {log}");
    // Every segment from the first one up to the last redo segment went
    // away, recycled or removed.
    let redo_seg = tusk_storage::control::ControlFileData::read(srv.data_dir())
        .expect("pg_control")
        .checkpoint_copy
        .redo
        / (16 << 20);
    let first_seg = segno(&first);
    assert!(redo_seg >= first_seg + 3, "{first} .. {redo_seg}");
    assert_eq!(
        removed + recycled,
        redo_seg - first_seg,
        "old segments went away: {log}"
    );
    assert!(most >= 2, "{most}");
    assert!(!log.contains("could not remove old WAL segments"), "{log}");
}

#[test]
fn wal_volume_starts_a_checkpoint_past_max_wal_size() {
    let srv = TestServer::start(small_wal());
    let mut c = srv.connect();
    // max_wal_size 32MB and target 0.9: one segment per checkpoint, so
    // finishing a segment asks for one. No CHECKPOINT is issued.
    write_wal(&mut c, 40);
    assert!(
        wait_until(Duration::from_secs(60), || {
            srv.log().contains("LOG:  checkpoint starting: wal")
                && complete_lines(&srv.log()).len() >= 2
        }),
        "no WAL-triggered checkpoint: {}",
        srv.log()
    );
    let log = srv.log();
    for l in complete_lines(&log) {
        parse_complete(&l);
    }
    // PostgreSQL's warning for checkpoints closer than
    // checkpoint_warning (30s), with its hint.
    assert!(
        log.contains("LOG:  checkpoints are occurring too frequently ("),
        "{log}"
    );
    assert!(
        log.contains("HINT:  Consider increasing the configuration parameter \"max_wal_size\"."),
        "{log}"
    );
    // The checkpointer keeps up: once it is idle, pg_wal is bounded
    // without any CHECKPOINT.
    assert!(
        wait_until(Duration::from_secs(60), || segments(&srv).len() <= 5),
        "pg_wal: {:?}\n{}",
        segments(&srv),
        srv.log()
    );
}

#[test]
fn a_crash_after_recycling_recovers_and_writes_on() {
    let mut srv = TestServer::start(small_wal());
    let mut c = srv.connect();
    for _ in 0..4 {
        write_wal(&mut c, 6);
        c.simple_query("CHECKPOINT").expect("CHECKPOINT");
    }
    assert!(
        complete_lines(&srv.log())
            .iter()
            .any(|l| parse_complete(l).3 > 0),
        "a segment was recycled: {}",
        srv.log()
    );
    // WAL into the recycled segments (their old pages follow), and
    // transactions whose commits must survive.
    write_wal(&mut c, 3);
    let xid: u64 = simple_value(&mut c, "SELECT txid_current()")
        .unwrap()
        .parse()
        .unwrap();
    // Every process killed at once (the postmaster stopped first, so
    // that nothing exits cleanly or restarts): no shutdown checkpoint.
    let children = srv.children();
    assert!(signal(srv.pm_pid(), libc::SIGSTOP));
    for p in &children {
        signal(p.pid, libc::SIGKILL);
    }
    let died = wait_until(Duration::from_secs(10), || {
        children.iter().all(|p| !p.is_running())
    });
    srv.kill9_postmaster();
    assert!(died, "the children die");
    drop(c);
    srv.start_postmaster();
    let mut c = srv.connect();
    let log = srv.log();
    let log = log[log
        .rfind("=== e2e harness: starting postmaster")
        .unwrap_or(0)..]
        .to_string();
    assert!(
        log.contains("database system was not properly shut down; automatic recovery in progress"),
        "{log}"
    );
    assert!(log.contains("LOG:  redo done at "), "{log}");
    assert_eq!(
        simple_value(&mut c, &format!("SELECT pg_xact_status('{xid}'::xid8)")).as_deref(),
        Some("committed")
    );
    // New WAL goes on after the recovered end, and checkpoints still
    // recycle.
    write_wal(&mut c, 6);
    c.simple_query("CHECKPOINT")
        .expect("CHECKPOINT after recovery");
    assert!(segments(&srv).len() <= 4, "{:?}", segments(&srv));
}

/// The background writer runs from start to shutdown as its own
/// auxiliary process: listed in pg_stat_activity by PostgreSQL's name
/// ("background writer", asleep in BgWriterHibernate or BgWriterMain), with
/// its process title, and gone after a fast stop that ends cleanly; its
/// and the checkpointer's counters in pg_stat_bgwriter.
#[test]
fn the_background_writer_runs_and_stops_with_the_server() {
    let mut srv = TestServer::start(Opts::new().set("bgwriter_delay", "10ms"));
    let mut c = srv.connect();
    let q = "SELECT usename, state, wait_event_type, wait_event FROM pg_stat_activity WHERE backend_type = 'background writer'";
    let asleep = |rows: &Vec<Vec<Option<String>>>| {
        rows.len() == 1
            && rows[0][..3] == [None, None, Some("Activity".to_string())]
            && matches!(
                rows[0][3].as_deref(),
                Some("BgWriterHibernate") | Some("BgWriterMain")
            )
    };
    assert!(
        wait_until(Duration::from_secs(10), || asleep(&simple_rows(&mut c, q))),
        "the background writer row: {:?}",
        simple_rows(&mut c, q)
    );
    let title = |pid: i32| {
        String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default())
            .trim_end_matches('\0')
            .to_string()
    };
    let bw = srv
        .children()
        .into_iter()
        .find(|p| title(p.pid) == "tusk: background writer")
        .unwrap_or_else(|| {
            panic!(
                "no background writer among {:?}",
                srv.children()
                    .iter()
                    .map(|p| title(p.pid))
                    .collect::<Vec<_>>()
            )
        });
    let pid: i32 = simple_value(
        &mut c,
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'background writer'",
    )
    .unwrap()
    .parse()
    .unwrap();
    assert_eq!(pid, bw.pid);
    // pg_stat_bgwriter: PostgreSQL 15's columns and types; a CHECKPOINT
    // counts as requested.
    let rows = c
        .query("SELECT * FROM pg_stat_bgwriter", &[])
        .expect("pg_stat_bgwriter");
    assert_eq!(rows.len(), 1);
    let cols: Vec<(String, String)> = rows[0]
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.type_().name().to_string()))
        .collect();
    let want: Vec<(String, String)> = [
        ("checkpoints_timed", "int8"),
        ("checkpoints_req", "int8"),
        ("checkpoint_write_time", "float8"),
        ("checkpoint_sync_time", "float8"),
        ("buffers_checkpoint", "int8"),
        ("buffers_clean", "int8"),
        ("maxwritten_clean", "int8"),
        ("buffers_backend", "int8"),
        ("buffers_backend_fsync", "int8"),
        ("buffers_alloc", "int8"),
        ("stats_reset", "timestamptz"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(cols, want);
    let req = |c: &mut postgres::Client| -> i64 {
        simple_value(c, "SELECT checkpoints_req FROM pg_stat_bgwriter")
            .unwrap()
            .parse()
            .unwrap()
    };
    let before = req(&mut c);
    c.simple_query("CHECKPOINT").expect("CHECKPOINT");
    assert_eq!(req(&mut c), before + 1);
    assert_eq!(
        simple_value(&mut c, "SELECT checkpoints_timed FROM pg_stat_bgwriter").as_deref(),
        Some("0")
    );
    drop(c);
    let st = srv.stop_with(libc::SIGINT);
    assert!(st.success(), "fast stop: {st}\n{}", srv.log());
    assert!(!bw.is_running(), "the background writer is gone");
    let log = srv.log();
    assert!(log.contains("database system is shut down"), "{log}");
    assert!(!log.contains("background writer process"), "{log}");
}

/// wal_keep_size keeps that much WAL behind the checkpoint record even
/// when the redo pointer has moved past it (PostgreSQL's KeepLogSeg);
/// log_checkpoints = off silences the checkpoint lines.
#[test]
fn wal_keep_size_keeps_segments_and_log_checkpoints_off_is_quiet() {
    // 48 MB: three 16 MB segments behind the checkpoint's.
    let srv = TestServer::start(
        small_wal()
            .set("wal_keep_size", "48MB")
            .set("log_checkpoints", "off"),
    );
    let mut c = srv.connect();
    for _ in 0..6 {
        write_wal(&mut c, 8);
        c.simple_query("CHECKPOINT").expect("CHECKPOINT");
    }
    let ck = tusk_storage::control::ControlFileData::read(srv.data_dir())
        .expect("pg_control")
        .checkpoint;
    let ck_seg = ck / (16 << 20);
    assert!(ck_seg >= 4, "{ck_seg}");
    let segs: Vec<u64> = segments(&srv).iter().map(|s| segno(s)).collect();
    for keep in ck_seg - 3..=ck_seg {
        assert!(segs.contains(&keep), "segment {keep} kept: {segs:?}");
    }
    assert!(
        segs.iter().all(|&s| s >= ck_seg - 3),
        "nothing older than wal_keep_size: {segs:?}"
    );
    let log = srv.log();
    assert!(!log.contains("checkpoint starting"), "{log}");
    assert!(!log.contains("checkpoint complete"), "{log}");
}
