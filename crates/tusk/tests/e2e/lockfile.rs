//! `postmaster.pid`: PostgreSQL's 8-line format (pg_ctl and monitoring
//! tools parse it), the interlock against a second server on the same
//! data directory, and the replacement of a stale file.

use crate::util::{dead_pid, simple_value, Opts, TestServer};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[test]
fn lock_file_format_while_running() {
    let srv = TestServer::start(Opts::new());
    let text = std::fs::read_to_string(srv.lock_file()).expect("read postmaster.pid");
    assert!(text.ends_with('\n'), "{text:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "postmaster.pid:\n{text}");

    assert_eq!(lines[0], srv.pm_pid().to_string(), "line 1: postmaster PID");
    let data = std::fs::canonicalize(srv.data_dir()).expect("canonical data dir");
    assert_eq!(
        lines[1],
        data.display().to_string(),
        "line 2: absolute data directory"
    );
    let start: i64 = lines[2]
        .parse()
        .unwrap_or_else(|_| panic!("line 3: start time, got {:?}", lines[2]));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert!(
        (now - 120..=now).contains(&start),
        "line 3: start time {start}, now {now}"
    );
    assert_eq!(lines[3], srv.port().to_string(), "line 4: port");
    assert_eq!(
        lines[4],
        srv.socket_dir().display().to_string(),
        "line 5: socket directory"
    );
    assert_eq!(
        lines[5], "127.0.0.1",
        "line 6: listen address as configured"
    );

    // Line 7: "%9lu %9lu", the key and id of the segment that really exists.
    let mut f = lines[6].split_whitespace();
    let key: u64 = f
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("line 7 key: {:?}", lines[6]));
    let id: i32 = f
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("line 7 id: {:?}", lines[6]));
    assert_eq!(
        lines[6],
        format!("{key:9} {id:9}"),
        "line 7 must be \"%9lu %9lu\""
    );
    assert_eq!(
        key,
        srv.port() as u64 * 1000 + 1,
        "the first key of this port"
    );
    let info = tusk_ipc::shm::stat(id).unwrap_or_else(|e| panic!("shmctl({id}, IPC_STAT): {e}"));
    assert_eq!(
        info.key as u32 as u64, key,
        "line 7's id names the segment with line 7's key"
    );
    assert!(info.nattch >= 1, "the running server is attached: {info:?}");

    assert_eq!(
        lines[7], "ready   ",
        "line 8: status padded to 8 characters"
    );

    // The socket and its lock file are where line 5 says.
    let sock = srv.socket_dir().join(format!(".s.PGSQL.{}", srv.port()));
    assert!(sock.exists(), "{} is missing", sock.display());
    let sock_lock = std::fs::read_to_string(
        srv.socket_dir()
            .join(format!(".s.PGSQL.{}.lock", srv.port())),
    )
    .expect("socket lock file");
    assert_eq!(
        sock_lock.lines().next(),
        Some(lines[0]),
        "the socket lock file names the postmaster"
    );
}

#[test]
fn second_server_on_same_data_dir_is_refused() {
    let mut srv = TestServer::start(Opts::new());
    let before = std::fs::read_to_string(srv.lock_file()).expect("postmaster.pid");
    let other_sock = srv.tmp_dir().join("sock2");
    std::fs::create_dir(&other_sock).expect("second socket dir");
    let other_port = srv.port().wrapping_add(1).max(1024);
    let mut args = srv.server_args(other_port, &other_sock);
    args.push("--allow-root".into());
    let out = srv.run_tusk(&args, Duration::from_secs(20));
    assert_eq!(
        out.code(),
        Some(1),
        "a second server must refuse and exit 1: {}",
        out.describe()
    );
    assert!(
        out.stderr
            .contains("lock file \"postmaster.pid\" already exists"),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains(&format!("PID {}", srv.pm_pid())),
        "the hint names the running postmaster: {}",
        out.describe()
    );

    // The first server is untouched.
    assert!(srv.is_running());
    assert_eq!(
        std::fs::read_to_string(srv.lock_file()).ok().as_deref(),
        Some(before.as_str()),
        "postmaster.pid changed"
    );
    let mut c = srv.connect();
    assert_eq!(simple_value(&mut c, "SELECT 1").as_deref(), Some("1"));
    assert!(srv
        .socket_dir()
        .join(format!(".s.PGSQL.{}", srv.port()))
        .exists());
}

#[test]
fn stale_lock_file_is_replaced() {
    let mut srv = TestServer::init(Opts::new());
    let dead = dead_pid();
    let stale = format!(
        "{dead}\n{}\n1700000000\n{}\n\n",
        srv.data_dir().display(),
        srv.port()
    );
    std::fs::write(srv.lock_file(), stale).expect("write a stale postmaster.pid");
    srv.start_postmaster();
    assert_eq!(
        srv.lock_line(1),
        Some(srv.pm_pid().to_string()),
        "the new postmaster owns the lock file"
    );
    let log = srv.log();
    let line = log
        .lines()
        .find(|l| l.contains("stale lock file"))
        .unwrap_or_else(|| panic!("the log does not mention the stale lock file:\n{log}"));
    assert!(
        line.contains(&dead.to_string()),
        "the log line names the dead PID {dead}: {line}"
    );
    let mut c = srv.connect();
    assert_eq!(simple_value(&mut c, "SELECT 1").as_deref(), Some("1"));
}
