//! What the shutdown tests need beyond the e2e harness (`util`): sessions
//! with an application name and their backend PID, a look into the
//! server's proc array, the inventory of everything a server owns (to
//! prove none of it outlives the server), postmasters started outside the
//! harness (with a test-only environment, or by `tusk ctl`), and a way to
//! make a connection arrive exactly during a shutdown.
//!
//! Why the inventory is taken while the server runs: "nothing remains"
//! must mean *these* processes, *this* segment and *these* semaphore sets
//! are gone, not "nothing matching a pattern exists now", which a server
//! that never created anything would also pass.

use crate::util::{
    children_of, query_message, run_bounded, signal, startup_packet, summaries, wait_until,
    Finished, Msg, Opts, Proc, RawConn, TestServer, DATABASE, PROTOCOL_3_0, SUPERUSER, TUSK,
};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

/// Small settings for every server of this suite: 8 MB of buffers.
pub fn small() -> Opts {
    Opts::new().set("shared_buffers", "1024")
}

// ---------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------

/// A raw protocol session past ReadyForQuery.
pub struct Session {
    pub conn: RawConn,
    /// The backend's PID, from BackendKeyData.
    pub pid: i32,
}

/// Opens a session as the superuser with `application_name = app`.
pub fn session(port: u16, app: &str) -> Session {
    let mut conn = RawConn::connect(port);
    conn.send(&startup_packet(
        PROTOCOL_3_0,
        &[
            ("user", SUPERUSER),
            ("database", DATABASE),
            ("application_name", app),
        ],
    ))
    .expect("send startup packet");
    let msgs = conn.read_until_ready();
    let key = msgs
        .iter()
        .find(|m| m.tag == b'K')
        .unwrap_or_else(|| panic!("no BackendKeyData in {:?}", summaries(&msgs)));
    let pid = i32::from_be_bytes([key.body[0], key.body[1], key.body[2], key.body[3]]);
    Session { conn, pid }
}

/// Sends a startup packet and reads everything until the server closes
/// the connection: what a client that is refused sees.
pub fn refused_connection(port: u16) -> Vec<Msg> {
    let mut conn = RawConn::connect(port);
    conn.send(&startup_packet(
        PROTOCOL_3_0,
        &[("user", SUPERUSER), ("database", DATABASE)],
    ))
    .expect("send startup packet");
    conn.read_to_eof().unwrap_or_else(|(e, got)| {
        panic!(
            "the refused connection was not closed: {e}; got {:?}",
            summaries(&got)
        )
    })
}

impl Session {
    /// Runs one simple query; returns every message up to ReadyForQuery.
    pub fn query(&mut self, sql: &str) -> Vec<Msg> {
        self.conn
            .send(&query_message(sql))
            .unwrap_or_else(|e| panic!("send {sql:?}: {e}"));
        self.conn.read_until_ready()
    }

    /// Runs a query that must succeed; returns its text values.
    pub fn ok(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        let msgs = self.query(sql);
        if let Some(e) = msgs.iter().find(|m| m.tag == b'E') {
            panic!("{sql}: {}", e.summary());
        }
        msgs.iter()
            .filter(|m| m.tag == b'D')
            .map(data_row)
            .collect()
    }

    /// Sends a query without waiting for its answer.
    pub fn send(&mut self, sql: &str) {
        self.conn
            .send(&query_message(sql))
            .unwrap_or_else(|e| panic!("send {sql:?}: {e}"));
    }

    /// Everything the server sends until it closes the connection.
    pub fn read_to_eof(&mut self) -> Vec<Msg> {
        self.conn.read_to_eof().unwrap_or_else(|(e, got)| {
            panic!(
                "the server did not close the session: {e}; got {:?}",
                summaries(&got)
            )
        })
    }

    /// Ends the session politely (Terminate) and waits for the server to close it.
    pub fn terminate(mut self) -> Vec<Msg> {
        self.conn
            .send(&crate::util::message(b'X', &[]))
            .expect("send Terminate");
        self.read_to_eof()
    }
}

fn data_row(m: &Msg) -> Vec<Option<String>> {
    let b = &m.body;
    let n = u16::from_be_bytes([b[0], b[1]]) as usize;
    let mut at = 2;
    let mut out = Vec::new();
    for _ in 0..n {
        let len = i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        at += 4;
        if len < 0 {
            out.push(None);
        } else {
            out.push(Some(
                String::from_utf8_lossy(&b[at..at + len as usize]).into_owned(),
            ));
            at += len as usize;
        }
    }
    out
}

/// Asserts that `msgs` are exactly one ErrorResponse or NoticeResponse
/// (`tag`) with this severity, SQLSTATE and message, ignoring other kinds.
#[track_caller]
pub fn assert_told(msgs: &[Msg], tag: u8, severity: &str, code: &str, message: &str) {
    let reports: Vec<&Msg> = msgs
        .iter()
        .filter(|m| m.tag == b'E' || m.tag == b'N')
        .collect();
    assert_eq!(
        reports.len(),
        1,
        "expected exactly one {} {severity} {code} {message:?}, got {:?}",
        tag as char,
        summaries(msgs)
    );
    let m = reports[0];
    assert_eq!(m.tag, tag, "wrong message type: {}", m.summary());
    assert_eq!(m.field(b'S').as_deref(), Some(severity), "{}", m.summary());
    // V is the non-localised severity (protocol 3.0 servers since 9.6).
    assert_eq!(m.field(b'V').as_deref(), Some(severity), "{}", m.summary());
    assert_eq!(m.field(b'C').as_deref(), Some(code), "{}", m.summary());
    assert_eq!(m.field(b'M').as_deref(), Some(message), "{}", m.summary());
}

/// Asserts that no ErrorResponse or NoticeResponse is among `msgs`.
#[track_caller]
pub fn assert_no_reports(msgs: &[Msg]) {
    let reports: Vec<String> = msgs
        .iter()
        .filter(|m| m.tag == b'E' || m.tag == b'N')
        .map(Msg::summary)
        .collect();
    assert!(
        reports.is_empty(),
        "unexpected error or notice: {reports:?}"
    );
}

// ---------------------------------------------------------------------
// The proc array, read from outside
// ---------------------------------------------------------------------

/// Every occupied proc slot of the server whose postmaster.pid is in
/// `data`, read from its segment attached read-only (detached on return).
pub fn proc_array(data: &Path) -> Vec<tusk_storage::procarray::ProcInfo> {
    let Some(line) = std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().nth(6).map(str::to_string))
    else {
        return Vec::new();
    };
    let Some(id) = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<i32>().ok())
    else {
        return Vec::new();
    };
    let Ok(seg) = tusk_ipc::shm::Segment::attach_read_only(id) else {
        return Vec::new();
    };
    let Some(h) = seg.read_header() else {
        return Vec::new();
    };
    let Some(area) = h
        .area(tusk_storage::layout::AreaId::BackendStatus as u32)
        .copied()
    else {
        return Vec::new();
    };
    // SAFETY: `seg` stays attached for the call.
    unsafe {
        tusk_storage::procarray::snapshot_in_region(seg.base(), seg.size(), area.offset, area.size)
    }
    .unwrap_or_default()
}

/// Waits until backend `pid` sleeps in pg_sleep (wait event PgSleep).
pub fn wait_sleeping(data: &Path, pid: i32) {
    let ok = wait_until(Duration::from_secs(20), || {
        proc_array(data)
            .iter()
            .any(|p| p.pid == pid && p.wait_event == tusk_storage::procarray::WaitEvent::PgSleep)
    });
    assert!(
        ok,
        "backend {pid} never showed wait event PgSleep; proc array: {:?}",
        proc_array(data)
    );
}

// ---------------------------------------------------------------------
// What a server owns
// ---------------------------------------------------------------------

/// The processes, System V objects and files of one running server.
#[derive(Debug)]
pub struct Resources {
    pub postmaster: Proc,
    pub children: Vec<Proc>,
    pub shm_id: i32,
    pub sem_ids: Vec<i32>,
    pub lock_file: PathBuf,
    pub socket_files: Vec<PathBuf>,
}

/// Semaphore sets created by `creator` with keys after the segment's.
fn sem_sets_of(first_key: i64, creator: i32) -> Vec<i32> {
    tusk_ipc::list_sem_sets()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| (first_key..first_key + 100).contains(&(s.key as u32 as i64)))
        .filter(|s| matches!(tusk_ipc::keys::judge_sem_set(s.id), tusk_ipc::keys::SemSetState::Tusk { creator_pid, .. } if creator_pid == creator))
        .map(|s| s.id)
        .collect()
}

impl Resources {
    /// Takes the inventory of the server running on `data` with `port`
    /// and Unix sockets in `sock`.
    pub fn capture(data: &Path, sock: &Path, port: u16) -> Resources {
        let text = std::fs::read_to_string(data.join("postmaster.pid"))
            .expect("postmaster.pid of a running server");
        let lines: Vec<&str> = text.lines().collect();
        let pm: i32 = lines[0].trim().parse().expect("PID on line 1");
        let mut seven = lines
            .get(6)
            .expect("line 7 of postmaster.pid")
            .split_whitespace();
        let key: i64 = seven
            .next()
            .and_then(|s| s.parse().ok())
            .expect("shared memory key on line 7");
        let shm_id: i32 = seven
            .next()
            .and_then(|s| s.parse().ok())
            .expect("shared memory id on line 7");
        let sem_ids = sem_sets_of(key + 1, pm);
        assert!(
            !sem_ids.is_empty(),
            "found no semaphore set created by postmaster {pm} (keys after {key})"
        );
        let socket_files = vec![
            sock.join(format!(".s.PGSQL.{port}")),
            sock.join(format!(".s.PGSQL.{port}.lock")),
        ];
        for f in &socket_files {
            assert!(f.exists(), "{} missing while the server runs", f.display());
        }
        Resources {
            postmaster: Proc::of(pm).expect("the postmaster runs"),
            children: children_of(pm),
            shm_id,
            sem_ids,
            lock_file: data.join("postmaster.pid"),
            socket_files,
        }
    }

    /// Asserts that every process, IPC object and file of the inventory is
    /// gone. Processes get a moment to finish exiting (the postmaster has
    /// already been reaped by the caller); the rest must be gone at once.
    #[track_caller]
    pub fn assert_all_gone(&self, log: &str) {
        let procs: Vec<Proc> = std::iter::once(self.postmaster)
            .chain(self.children.iter().copied())
            .collect();
        let alive = || {
            procs
                .iter()
                .filter(|p| p.is_running())
                .map(|p| p.pid)
                .collect::<Vec<_>>()
        };
        assert!(
            wait_until(Duration::from_secs(5), || alive().is_empty()),
            "server processes remain: {:?}\n{log}",
            alive()
        );
        let segs = tusk_ipc::list_segments().unwrap_or_default();
        assert!(
            !segs.iter().any(|s| s.id == self.shm_id),
            "shared memory segment {} remains\n{log}",
            self.shm_id
        );
        let sems = tusk_ipc::list_sem_sets().unwrap_or_default();
        let left: Vec<i32> = sems
            .iter()
            .filter(|s| self.sem_ids.contains(&s.id))
            .map(|s| s.id)
            .collect();
        assert!(left.is_empty(), "semaphore sets remain: {left:?}\n{log}");
        assert!(
            !self.lock_file.exists(),
            "{} remains\n{log}",
            self.lock_file.display()
        );
        for f in &self.socket_files {
            assert!(!f.exists(), "{} remains\n{log}", f.display());
        }
        // A process that aborted on its way out (a Rust runtime abort, a
        // panic) is a bug even when the stop otherwise looked clean.
        assert!(
            !log.contains("fatal runtime error") && !log.contains("PANIC:"),
            "a server process aborted:\n{log}"
        );
    }
}

// ---------------------------------------------------------------------
// Postmasters started outside the e2e harness
// ---------------------------------------------------------------------

/// A cluster whose postmaster this suite starts itself: with a test-only
/// environment, or through `tusk ctl`. The inner [`TestServer`] provides
/// the directories, port and log, and its teardown (which finds server
/// processes by working directory); this wrapper adds the postmasters it
/// started and, on drop, stops them and removes their semaphore sets
/// (which the inner teardown only recognises for its own postmasters).
pub struct Cluster {
    pub ts: TestServer,
    child: Option<Child>,
    pm_pids: Vec<i32>,
}

/// Arguments to run the tusk binary as root in tests: --allow-root.
pub fn root_flag() -> Vec<String> {
    if crate::util::running_as_root() {
        vec!["--allow-root".to_string()]
    } else {
        Vec::new()
    }
}

impl Cluster {
    pub fn init(opts: Opts) -> Cluster {
        Cluster {
            ts: TestServer::init(opts),
            child: None,
            pm_pids: Vec::new(),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.ts.data_dir().to_path_buf()
    }

    /// The server options after `-D DIR`, as one string for `-o`.
    pub fn server_options(&self) -> String {
        let args = self.ts.server_args(self.ts.port(), self.ts.socket_dir());
        // "server", "-D", DIR, then the rest.
        args[3..]
            .iter()
            .map(|a| shell_word(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Starts `tusk server` as a child of the test with extra environment
    /// and arguments, and waits until it is ready.
    pub fn spawn(&mut self, env: &[(&str, &str)], extra: &[&str]) {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(self.ts.tmp_dir().join("server.log"))
            .expect("open log");
        let mut args = self.ts.server_args(self.ts.port(), self.ts.socket_dir());
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push("--allow-root".into());
        let mut cmd = Command::new(TUSK);
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn tusk server");
        self.pm_pids.push(child.id() as i32);
        self.child = Some(child);
        self.wait_ready();
    }

    /// Waits until postmaster.pid says ready and a session can be opened.
    pub fn wait_ready(&mut self) {
        let port = self.ts.port();
        let data = self.data();
        let ok = wait_until(Duration::from_secs(30), || {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    panic!(
                        "the server exited with {st} before it was ready\n{}",
                        self.ts.log()
                    );
                }
            }
            let ready = std::fs::read_to_string(data.join("postmaster.pid"))
                .ok()
                .and_then(|s| s.lines().nth(7).map(|l| l.trim() == "ready"))
                .unwrap_or(false);
            ready && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(ok, "the server did not become ready\n{}", self.ts.log());
        if let Some(pid) = self.pid_from_file() {
            if !self.pm_pids.contains(&pid) {
                self.pm_pids.push(pid);
            }
        }
    }

    pub fn pid_from_file(&self) -> Option<i32> {
        std::fs::read_to_string(self.data().join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// The postmaster: our child if we spawned it, else the pid file's.
    pub fn pm_pid(&self) -> i32 {
        match &self.child {
            Some(c) => c.id() as i32,
            None => self
                .pid_from_file()
                .expect("a running server has postmaster.pid"),
        }
    }

    /// Remembers a postmaster started by someone else (tusk ctl, pg_ctl),
    /// for cleanup.
    pub fn adopt(&mut self, pid: i32) {
        if !self.pm_pids.contains(&pid) {
            self.pm_pids.push(pid);
        }
    }

    /// Waits for our child postmaster to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let c = self.child.as_mut().expect("the postmaster is our child");
        let mut st = None;
        wait_until(timeout, || {
            st = c.try_wait().ok().flatten();
            st.is_some()
        });
        if st.is_some() {
            self.child = None;
        }
        st
    }

    /// Runs `tusk ctl ARGS -D DATA` (and --allow-root as root), bounded.
    pub fn ctl(&self, args: &[&str]) -> Finished {
        self.ctl_env(args, &[])
    }

    pub fn ctl_env(&self, args: &[&str], env: &[(&str, &str)]) -> Finished {
        let mut cmd = Command::new(TUSK);
        cmd.arg("ctl")
            .args(args)
            .arg("-D")
            .arg(self.data())
            .args(root_flag())
            .env_remove("PGDATA")
            .env_remove("PGCTLTIMEOUT");
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_bounded(&mut cmd, Duration::from_secs(120))
    }

    /// `tusk ctl start -l LOG -o OPTIONS`; adopts the new postmaster.
    pub fn ctl_start(&mut self) -> Finished {
        let log = self.ts.tmp_dir().join("server.log");
        let opts = self.server_options();
        let out = self.ctl(&["start", "-l", &log.display().to_string(), "-o", &opts]);
        if let Some(pid) = self.pid_from_file() {
            self.adopt(pid);
        }
        out
    }

    fn stop_all(&mut self) {
        if let Some(c) = self.child.as_mut() {
            if matches!(c.try_wait(), Ok(None)) {
                signal(c.id() as i32, libc::SIGQUIT);
                if !wait_until(Duration::from_secs(8), || {
                    matches!(c.try_wait(), Ok(Some(_)))
                }) {
                    let _ = c.kill();
                }
            }
            let _ = c.wait();
        }
        for &pid in &self.pm_pids {
            let Some(p) = Proc::of(pid) else { continue };
            if !p.is_running() {
                continue;
            }
            let kids = children_of(pid);
            signal(pid, libc::SIGQUIT);
            if !wait_until(Duration::from_secs(8), || !p.is_running()) {
                signal(pid, libc::SIGKILL);
            }
            for k in kids {
                if wait_until(Duration::from_secs(2), || !k.is_running()) {
                    continue;
                }
                signal(k.pid, libc::SIGKILL);
            }
        }
        // Semaphore sets of our postmasters (the segment is recognised by
        // the inner teardown through the data directory's identity).
        let first = self.ts.port() as i64 * 1000 + 1;
        for &pid in &self.pm_pids {
            for id in sem_sets_of(first, pid) {
                eprintln!("shutdown harness: removing semaphore set {id} left by postmaster {pid}");
                let _ = tusk_ipc::sem::remove_id(id);
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Quotes a word for /bin/sh when it needs it.
pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

// ---------------------------------------------------------------------
// Timing helpers
// ---------------------------------------------------------------------

/// Asserts that `cond` holds at every check for at least `span`.
#[track_caller]
pub fn holds_for(span: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < span {
        assert!(cond(), "{what} stopped holding after {:?}", start.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(cond(), "{what} stopped holding after {:?}", start.elapsed());
}

/// The state letter of /proc/PID/stat ('T' = stopped).
pub fn proc_state(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s[s.rfind(')')? + 2..].chars().next()
}

/// Makes a connection arrive while the postmaster handles `sig`:
/// the postmaster is stopped (SIGSTOP), the connection is made (the kernel
/// completes it in the listen backlog) and its startup packet sent, then
/// `sig` and SIGCONT are sent. The postmaster handles shutdown requests
/// before it accepts connections, so this connection is accepted after
/// the shutdown began — deterministically, with no race to win.
pub fn connect_during(pm_pid: i32, port: u16, sig: i32) -> RawConn {
    assert!(signal(pm_pid, libc::SIGSTOP), "SIGSTOP to the postmaster");
    let stopped = wait_until(Duration::from_secs(5), || proc_state(pm_pid) == Some('T'));
    if !stopped {
        signal(pm_pid, libc::SIGCONT);
        panic!("the postmaster did not stop on SIGSTOP");
    }
    let mut conn = RawConn::connect(port);
    let sent = conn.send(&startup_packet(
        PROTOCOL_3_0,
        &[("user", SUPERUSER), ("database", DATABASE)],
    ));
    signal(pm_pid, sig);
    signal(pm_pid, libc::SIGCONT);
    sent.expect("send startup packet to the stopped postmaster's backlog");
    conn
}
