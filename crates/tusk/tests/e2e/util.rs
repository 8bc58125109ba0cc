//! The harness: one real `tusk` server per test, real clients, and a
//! teardown that leaves nothing behind even when the test fails.
//!
//! Why it is built this way:
//! - Every test gets its own data directory, socket directory, TCP port
//!   and log file under one temporary directory, so tests can run in
//!   parallel and a failure shows exactly one server's log.
//! - Nothing waits blindly: every wait is [`wait_until`] with a deadline,
//!   polling a condition, so a slow CI machine makes tests slower, not
//!   flaky, and a broken server makes them fail, not hang. A watchdog
//!   thread kills the server processes of a test that runs far too long,
//!   which turns a hang in a client call into a failure.
//! - Teardown runs in `Drop`, so it also runs when an assertion panics: it
//!   stops the postmaster (SIGINT, then SIGQUIT, then SIGKILL), makes sure
//!   every process of this server is gone, and removes the System V
//!   objects this server left. It recognises its own objects only: the
//!   segment by the data directory's device and inode in tusk's header
//!   (and a key in this port's range), semaphore sets by key range, tusk's
//!   marker and a creator that is one of the postmasters this harness
//!   started. Server processes are recognised by their working directory:
//!   a tusk postmaster chdirs into its data directory and children inherit
//!   it, and each test's data directory is unique.
//! - [`RawConn`] speaks the protocol byte by byte, for what a driver hides
//!   (ParameterStatus order) or refuses to send (malformed input).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The binary under test, built by Cargo for this package's tests.
pub const TUSK: &str = env!("CARGO_BIN_EXE_tusk");
/// The superuser `tusk init -U` creates, and the database every test uses.
pub const SUPERUSER: &str = "postgres";
pub const DATABASE: &str = "postgres";

/// How long a server may take to become ready (debug build, 2 busy cores).
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a requested stop may take before the harness escalates.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// A test whose server lives longer than this is hung: kill the server.
const WATCHDOG: Duration = Duration::from_secs(240);
/// Keys tusk may use for this port's objects: port × 1000 + 1 onward.
const KEY_RANGE: i64 = 100;

// ---------------------------------------------------------------------
// Waiting
// ---------------------------------------------------------------------

/// Polls `cond` every 10 ms until it holds or `timeout` passes; true if it held.
pub fn wait_until(timeout: Duration, cond: impl FnMut() -> bool) -> bool {
    wait_until_every(timeout, Duration::from_millis(10), cond)
}

/// [`wait_until`] with a chosen polling interval, for races that need
/// to be caught early.
pub fn wait_until_every(
    timeout: Duration,
    every: Duration,
    mut cond: impl FnMut() -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// Polls `f` until it gives a value or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let mut out = None;
    wait_until(timeout, || {
        out = f();
        out.is_some()
    });
    out
}

// ---------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------

/// A process identity that survives PID reuse: PID plus start time (in
/// clock ticks since boot, field 22 of /proc/PID/stat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    start: u64,
}

struct Stat {
    state: char,
    ppid: i32,
    start: u64,
}

fn read_stat(pid: i32) -> Option<Stat> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain anything.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        start: f.get(19)?.parse().ok()?,
    })
}

impl Proc {
    pub fn of(pid: i32) -> Option<Proc> {
        read_stat(pid).map(|s| Proc {
            pid,
            start: s.start,
        })
    }

    /// Still this process, and not yet exited (a zombie has exited: in a
    /// container whose PID 1 does not reap, orphans stay zombies).
    pub fn is_running(&self) -> bool {
        matches!(read_stat(self.pid), Some(s) if s.start == self.start && s.state != 'Z' && s.state != 'X')
    }

    fn kill(&self, sig: i32) {
        if self.is_running() {
            signal(self.pid, sig);
        }
    }
}

fn all_pids() -> Vec<i32> {
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The running (not zombie) children of `pid`.
pub fn children_of(pid: i32) -> Vec<Proc> {
    all_pids()
        .into_iter()
        .filter_map(|p| {
            let s = read_stat(p)?;
            (s.ppid == pid && s.state != 'Z').then_some(Proc {
                pid: p,
                start: s.start,
            })
        })
        .collect()
}

/// Running processes whose working directory is `dir`.
fn processes_in(dir: &Path) -> Vec<Proc> {
    let me = std::process::id() as i32;
    all_pids()
        .into_iter()
        .filter(|&p| p != me)
        .filter(|p| fs::read_link(format!("/proc/{p}/cwd")).is_ok_and(|c| c == dir))
        .filter_map(Proc::of)
        .filter(Proc::is_running)
        .collect()
}

pub fn signal(pid: i32, sig: i32) -> bool {
    // SAFETY: plain system call; pid > 0 addresses one process only.
    pid > 0 && unsafe { libc::kill(pid, sig) } == 0
}

/// A PID that certainly names no process now: a child that was reaped.
pub fn dead_pid() -> i32 {
    let mut c = Command::new("true").spawn().expect("spawn true");
    let pid = c.id() as i32;
    c.wait().expect("reap true");
    pid
}

pub fn running_as_root() -> bool {
    // SAFETY: plain system call.
    unsafe { libc::geteuid() == 0 }
}

// ---------------------------------------------------------------------
// What a test needs from the machine
// ---------------------------------------------------------------------
//
// A test that cannot check what it is about must fail, not return early
// and count as passed: a skipped check that reports success hides exactly
// the machine where it matters. CI runs as root with scripts/test.sh,
// which installs PostgreSQL 15; on a machine without them these helpers
// fail the test and say what is missing and how to get it.

/// Where Debian's postgresql-15 package puts the server programs.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// How to get what is missing, appended to every `require_*` failure.
const HOW_TO_GET: &str = "scripts/test.sh installs postgresql-15 and postgresql-client-15 \
     when run as root (or: apt-get install postgresql-15 postgresql-client-15)";

/// Fails the test unless it runs as root; `why` says what needs root.
pub fn require_root(why: &str) {
    assert!(
        running_as_root(),
        "this test needs root ({why}); run it as root, as CI does (scripts/test.sh)"
    );
}

/// The path of PostgreSQL 15's program `name` (server programs in
/// [`PG_BIN`], clients such as psql also on PATH); fails the test when it
/// is not installed.
pub fn require_pg_program(name: &str) -> PathBuf {
    let in_bin = Path::new(PG_BIN).join(name);
    if is_executable(&in_bin) {
        return in_bin;
    }
    if let Some(found) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
    {
        return found;
    }
    panic!(
        "this test needs PostgreSQL 15's `{name}`, found neither in {PG_BIN} nor on PATH: {HOW_TO_GET}"
    );
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
}

/// The uid and gid of the OS user `name` (Debian's postgresql-15 package
/// creates `postgres`); fails the test when there is no such user.
pub fn require_os_user(name: &str) -> (u32, u32) {
    let c = std::ffi::CString::new(name).expect("user name without NUL");
    // SAFETY: getpwnam returns a pointer into static storage or null; the
    // two fields are copied out at once, before any other passwd lookup.
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    assert!(
        !pw.is_null(),
        "this test needs the OS user \"{name}\" to run PostgreSQL's programs as (they refuse root): {HOW_TO_GET}"
    );
    // SAFETY: pw is non-null and points at a valid passwd entry.
    unsafe { ((*pw).pw_uid, (*pw).pw_gid) }
}

/// A finished (or timed-out and killed) command.
#[derive(Debug)]
pub struct Finished {
    /// None: it did not exit within the deadline and was killed.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    pub fn describe(&self) -> String {
        format!(
            "status {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
    /// stdout parsed as JSON (`--json` output); panics with the run if not.
    /// Used by the check tests, which share this harness.
    #[allow(dead_code)]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.describe()))
    }
}

/// Runs `cmd` with its output captured, for at most `timeout`; a command
/// still running then is stopped (SIGINT, then SIGKILL) and reported with
/// `status: None`.
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> Finished {
    let mut out = tempfile::tempfile().expect("temp file for stdout");
    let mut err = tempfile::tempfile().expect("temp file for stderr");
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup stdout file"))
        .stderr(err.try_clone().expect("dup stderr file"));
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"));
    let mut status = None;
    wait_until(timeout, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if status.is_none() {
        signal(child.id() as i32, libc::SIGINT);
        if !wait_until(Duration::from_secs(5), || {
            child.try_wait().ok().flatten().is_some()
        }) {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
    let read = |f: &mut File| {
        let mut s = String::new();
        let _ = io::Seek::rewind(f).and_then(|_| f.read_to_string(&mut s));
        s
    };
    Finished {
        status,
        stdout: read(&mut out),
        stderr: read(&mut err),
    }
}

// ---------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------

/// Settings for a test server, passed as `-c name=value`.
#[derive(Debug, Clone)]
pub struct Opts {
    settings: Vec<(String, String)>,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts::new()
    }
}

impl Opts {
    /// Small by default: 16MB of shared buffers, 10 connections.
    pub fn new() -> Opts {
        Opts {
            settings: vec![
                ("shared_buffers".into(), "16MB".into()),
                ("max_connections".into(), "10".into()),
            ],
        }
    }

    /// Sets (or replaces) one setting.
    pub fn set(mut self, name: &str, value: &str) -> Opts {
        self.settings.retain(|(n, _)| n != name);
        self.settings.push((name.to_string(), value.to_string()));
        self
    }

    fn args(&self) -> Vec<String> {
        self.settings
            .iter()
            .flat_map(|(n, v)| ["-c".to_string(), format!("{n}={v}")])
            .collect()
    }
}

/// Where a client connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Tcp,
    Unix,
}

pub struct TestServer {
    data: PathBuf,
    /// The canonical data directory: a server process's working directory.
    data_canon: PathBuf,
    data_id: (u64, u64),
    sock: PathBuf,
    log_path: PathBuf,
    port: u16,
    opts: Opts,
    pm: Option<Child>,
    /// Every postmaster this harness started, for semaphore ownership.
    pm_pids: Vec<i32>,
    watchdog: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    // Last: removed after everything above is torn down.
    tmp: tempfile::TempDir,
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

impl TestServer {
    /// A fresh cluster (`tusk init`), a port and a socket directory; no
    /// server runs yet (see [`TestServer::start_postmaster`]).
    pub fn init(opts: Opts) -> TestServer {
        TestServer::init_with(opts, &[])
    }

    /// [`TestServer::init`] with more `tusk init` arguments (`--next-xid N`).
    pub fn init_with(opts: Opts, init_args: &[&str]) -> TestServer {
        let tmp = tempfile::Builder::new()
            .prefix("tusk-e2e-")
            .tempdir()
            .expect("temp dir");
        let data = tmp.path().join("data");
        let sock = tmp.path().join("sock");
        fs::create_dir(&sock).expect("socket dir");
        fs::set_permissions(&sock, fs::Permissions::from_mode(0o700)).expect("chmod socket dir");
        let init = run_bounded(
            Command::new(TUSK)
                .arg("init")
                .arg("-D")
                .arg(&data)
                .arg("-U")
                .arg(SUPERUSER)
                .args(init_args),
            Duration::from_secs(30),
        );
        assert_eq!(
            init.code(),
            Some(0),
            "tusk init failed: {}",
            init.describe()
        );
        let data_canon = fs::canonicalize(&data).expect("canonical data dir");
        let md = fs::metadata(&data).expect("stat data dir");
        let log_path = tmp.path().join("server.log");
        File::create(&log_path).expect("log file");
        let mut s = TestServer {
            data,
            data_canon,
            data_id: (md.dev(), md.ino()),
            sock,
            log_path,
            port: free_port(),
            opts,
            pm: None,
            pm_pids: Vec::new(),
            watchdog: None,
            tmp,
        };
        s.start_watchdog();
        s
    }

    /// `init` and `start_postmaster`.
    pub fn start(opts: Opts) -> TestServer {
        let mut s = TestServer::init(opts);
        s.start_postmaster();
        s
    }

    fn start_watchdog(&mut self) {
        let (tx, rx) = mpsc::channel::<()>();
        let dir = self.data_canon.clone();
        let h = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(WATCHDOG) {
                eprintln!("e2e watchdog: test still running after {WATCHDOG:?}: killing the server processes in {}", dir.display());
                for p in processes_in(&dir) {
                    p.kill(libc::SIGKILL);
                }
            }
        });
        self.watchdog = Some((tx, h));
    }

    /// The arguments of `tusk server` for this cluster: data directory,
    /// port, socket directory, 127.0.0.1, and the settings.
    pub fn server_args(&self, port: u16, sock: &Path) -> Vec<String> {
        let mut a = vec![
            "server".to_string(),
            "-D".into(),
            self.data.display().to_string(),
            "-p".into(),
            port.to_string(),
            "-k".into(),
            sock.display().to_string(),
            "-h".into(),
            "127.0.0.1".into(),
        ];
        a.extend(self.opts.args());
        a
    }

    fn append_log(&self, line: &str) {
        if let Ok(mut f) = OpenOptions::new().append(true).open(&self.log_path) {
            let _ = writeln!(f, "{line}");
        }
    }

    /// Starts a postmaster on this cluster and waits until it is ready:
    /// line 8 of postmaster.pid says `ready` and a connection works. If
    /// the port was taken in the meantime, retries on another.
    pub fn start_postmaster(&mut self) {
        for attempt in 1..=3 {
            self.spawn_postmaster();
            match self.wait_ready() {
                Ok(()) => return,
                Err(why) => {
                    let log = self.log();
                    let this_attempt = &log[log
                        .rfind("=== e2e harness: starting postmaster")
                        .unwrap_or(0)..];
                    let port_taken = this_attempt.contains("Address already in use")
                        || this_attempt.contains("could not bind");
                    if port_taken && attempt < 3 && !self.is_running() {
                        self.pm = None;
                        self.port = free_port();
                        continue;
                    }
                    // Drop prints the log.
                    panic!("the server did not become ready: {why}");
                }
            }
        }
    }

    /// Spawns a postmaster on this cluster without waiting for anything
    /// (see [`TestServer::start_postmaster`] for the waiting kind).
    pub fn spawn_postmaster(&mut self) {
        assert!(
            self.pm.is_none(),
            "a postmaster of this test is already running"
        );
        self.append_log(&format!(
            "=== e2e harness: starting postmaster on port {} ===",
            self.port
        ));
        let log = OpenOptions::new()
            .append(true)
            .open(&self.log_path)
            .expect("open log");
        let mut args = self.server_args(self.port, &self.sock);
        args.push("--allow-root".into());
        let child = Command::new(TUSK)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("spawn tusk server");
        self.pm_pids.push(child.id() as i32);
        self.pm = Some(child);
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let mut exited = None;
        let ok = wait_until(READY_TIMEOUT, || {
            if let Some(st) = self.pm.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                exited = Some(st);
                return true;
            }
            self.lock_line(8).is_some_and(|l| l.trim_end() == "ready") && self.try_connect().is_ok()
        });
        if let Some(st) = exited {
            self.pm = None;
            return Err(format!("the postmaster exited with {st}"));
        }
        if !ok {
            return Err(format!("not ready within {READY_TIMEOUT:?}"));
        }
        Ok(())
    }

    // -- accessors ------------------------------------------------------

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    pub fn socket_dir(&self) -> &Path {
        &self.sock
    }

    pub fn tmp_dir(&self) -> &Path {
        self.tmp.path()
    }

    /// The PID of the running postmaster this harness started.
    pub fn pm_pid(&self) -> i32 {
        self.pm.as_ref().expect("no postmaster running").id() as i32
    }

    /// Everything the server (and any later postmaster on this cluster)
    /// wrote to stdout and stderr.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn lock_file(&self) -> PathBuf {
        self.data.join("postmaster.pid")
    }

    /// Line `n` (1-based) of postmaster.pid, if the file and line exist.
    pub fn lock_line(&self, n: usize) -> Option<String> {
        fs::read_to_string(self.lock_file())
            .ok()?
            .lines()
            .nth(n - 1)
            .map(str::to_string)
    }

    /// Line 7 of postmaster.pid: the shared memory key and id.
    pub fn shmem_key_id(&self) -> Option<(i64, i32)> {
        let l = self.lock_line(7)?;
        let mut it = l.split_whitespace();
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    }

    /// The running children of the postmaster.
    pub fn children(&self) -> Vec<Proc> {
        children_of(self.pm_pid())
    }

    /// Whether the postmaster still runs (reaps it if it exited).
    pub fn is_running(&mut self) -> bool {
        match self.pm.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    // -- clients --------------------------------------------------------

    pub fn config(&self, via: Via) -> postgres::Config {
        let mut c = postgres::Config::new();
        match via {
            Via::Tcp => c.host("127.0.0.1"),
            Via::Unix => c.host_path(&self.sock),
        };
        c.port(self.port)
            .user(SUPERUSER)
            .dbname(DATABASE)
            .connect_timeout(Duration::from_secs(10));
        c
    }

    pub fn try_connect(&self) -> Result<postgres::Client, postgres::Error> {
        self.config(Via::Tcp).connect(postgres::NoTls)
    }

    pub fn try_connect_as(&self, user: &str) -> Result<postgres::Client, postgres::Error> {
        self.config(Via::Tcp).user(user).connect(postgres::NoTls)
    }

    /// A session over TCP as the superuser; panics (with the log) if refused.
    pub fn connect(&self) -> postgres::Client {
        self.try_connect()
            .unwrap_or_else(|e| panic!("could not connect over TCP: {}", describe_error(&e)))
    }

    /// A session over the Unix socket.
    pub fn connect_unix(&self) -> postgres::Client {
        self.config(Via::Unix)
            .connect(postgres::NoTls)
            .unwrap_or_else(|e| {
                panic!(
                    "could not connect over the Unix socket: {}",
                    describe_error(&e)
                )
            })
    }

    /// Runs psql against this server (TCP or Unix socket) with `args` after
    /// the connection options, for at most 60 s.
    pub fn psql(&self, via: Via, args: &[&str]) -> Finished {
        let host = match via {
            Via::Tcp => "127.0.0.1".to_string(),
            Via::Unix => self.sock.display().to_string(),
        };
        let mut cmd = Command::new(require_pg_program("psql"));
        clean_pg_env(&mut cmd);
        cmd.env("PGCONNECT_TIMEOUT", "10")
            .args([
                "-h",
                &host,
                "-p",
                &self.port.to_string(),
                "-U",
                SUPERUSER,
                "-d",
                DATABASE,
            ])
            .args(args);
        run_bounded(&mut cmd, Duration::from_secs(60))
    }

    /// `psql -X -A -t -q -v ON_ERROR_STOP=1 -c SQL ...` (one `-c` per
    /// element, in one session): asserts success and returns stdout.
    pub fn psql_c(&self, via: Via, sqls: &[&str]) -> String {
        let mut args = vec!["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"];
        for s in sqls {
            args.push("-c");
            args.push(s);
        }
        let out = self.psql(via, &args);
        assert_eq!(
            out.code(),
            Some(0),
            "psql ({via:?}) {sqls:?} failed: {}",
            out.describe()
        );
        out.stdout
    }

    /// A raw protocol connection over TCP (nothing sent yet).
    pub fn raw(&self) -> RawConn {
        RawConn::connect(self.port)
    }

    /// A raw connection past the startup handshake (after ReadyForQuery).
    pub fn raw_session(&self) -> (RawConn, Vec<Msg>) {
        let mut c = self.raw();
        c.send(&startup_packet(
            PROTOCOL_3_0,
            &[("user", SUPERUSER), ("database", DATABASE)],
        ))
        .expect("send startup");
        let msgs = c.read_until_ready();
        (c, msgs)
    }

    /// Runs the tusk binary with `args`, bounded.
    pub fn run_tusk(&self, args: &[String], timeout: Duration) -> Finished {
        let mut cmd = Command::new(TUSK);
        cmd.args(args);
        run_bounded(&mut cmd, timeout)
    }

    // -- stopping -------------------------------------------------------

    /// Sends `sig` to the postmaster.
    pub fn signal_postmaster(&self, sig: i32) {
        assert!(
            signal(self.pm_pid(), sig),
            "kill({}, {sig}) failed: {}",
            self.pm_pid(),
            io::Error::last_os_error()
        );
    }

    /// Waits for the postmaster to exit and reaps it.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let mut st = None;
        let pm = self.pm.as_mut()?;
        wait_until(timeout, || {
            st = pm.try_wait().ok().flatten();
            st.is_some()
        });
        if st.is_some() {
            self.pm = None;
        }
        st
    }

    /// Sends `sig` and waits for the postmaster to exit; panics if it
    /// does not within [`STOP_TIMEOUT`].
    pub fn stop_with(&mut self, sig: i32) -> ExitStatus {
        self.signal_postmaster(sig);
        self.wait_exit(STOP_TIMEOUT).unwrap_or_else(|| {
            panic!("the postmaster did not exit within {STOP_TIMEOUT:?} of signal {sig}")
        })
    }

    /// SIGKILL of the postmaster, reaped (a zombie would still look alive
    /// to the next server's stale-lock check).
    pub fn kill9_postmaster(&mut self) -> ExitStatus {
        self.signal_postmaster(libc::SIGKILL);
        self.wait_exit(Duration::from_secs(10))
            .expect("a SIGKILLed postmaster exits")
    }

    // -- System V IPC ---------------------------------------------------

    fn key_range(&self) -> std::ops::RangeInclusive<i64> {
        let first = self.port as i64 * 1000 + 1;
        first..=first + KEY_RANGE - 1
    }

    /// This server's segments and semaphore sets that exist now.
    pub fn our_ipc(&self) -> Ipc {
        let range = self.key_range();
        // Line 7 names the segment even if it had to go past the range.
        let line7_id = self.shmem_key_id().map(|(_, id)| id);
        let segments = tusk_ipc::sysv_list::list_segments()
            .unwrap_or_default()
            .into_iter()
            .filter(|s| range.contains(&(s.key as u32 as i64)) || Some(s.id) == line7_id)
            .filter(|s| {
                matches!(
                    tusk_ipc::keys::judge_segment(s.id, Some(self.data_id)),
                    tusk_ipc::SegmentState::TuskAttached(..)
                        | tusk_ipc::SegmentState::TuskUnattached(_)
                )
            })
            .collect();
        let sem_sets = tusk_ipc::sysv_list::list_sem_sets()
            .unwrap_or_default()
            .into_iter()
            .filter(|s| range.contains(&(s.key as u32 as i64)))
            .filter(|s| match tusk_ipc::keys::judge_sem_set(s.id) {
                tusk_ipc::SemSetState::Tusk { creator_pid, .. } => {
                    self.pm_pids.contains(&creator_pid)
                }
                _ => false,
            })
            .collect();
        Ipc { segments, sem_sets }
    }

    /// Asserts that no segment or semaphore set of this server remains.
    pub fn assert_no_ipc_left(&self) {
        let ipc = self.our_ipc();
        assert!(
            ipc.is_empty(),
            "System V objects of this server remain: {ipc:?}\n===== server log =====\n{}",
            self.log()
        );
    }

    /// Removes this server's leftovers; returns what was removed.
    fn remove_ipc(&self) -> Ipc {
        let ipc = self.our_ipc();
        for s in &ipc.segments {
            let _ = tusk_ipc::shm::remove_id(s.id);
        }
        for s in &ipc.sem_sets {
            let _ = tusk_ipc::sem::remove_id(s.id);
        }
        ipc
    }

    /// Stops whatever still runs of this server and frees what it left.
    fn teardown(&mut self) {
        let mut procs = processes_in(&self.data_canon);
        if let Some(pid) = self.pm.as_ref().map(|c| c.id() as i32) {
            procs.extend(children_of(pid));
            if self.is_running() {
                for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGKILL] {
                    signal(pid, sig);
                    if self
                        .wait_exit(if sig == libc::SIGKILL {
                            Duration::from_secs(5)
                        } else {
                            STOP_TIMEOUT
                        })
                        .is_some()
                    {
                        break;
                    }
                    eprintln!(
                        "e2e harness: postmaster {pid} did not exit after signal {sig}, escalating"
                    );
                }
            } else {
                let _ = self.wait_exit(Duration::from_secs(1));
            }
        }
        procs.extend(processes_in(&self.data_canon));
        if !wait_until(Duration::from_secs(5), || {
            procs.iter().all(|p| !p.is_running())
        }) {
            for p in &procs {
                if p.is_running() {
                    eprintln!(
                        "e2e harness: server process {} outlived its postmaster; SIGKILL",
                        p.pid
                    );
                    p.kill(libc::SIGKILL);
                }
            }
            wait_until(Duration::from_secs(2), || {
                procs.iter().all(|p| !p.is_running())
            });
        }
        let removed = self.remove_ipc();
        if !removed.is_empty() {
            eprintln!("e2e harness: removed System V objects this server left: {removed:?}");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some((tx, h)) = self.watchdog.take() {
            let _ = tx.send(());
            let _ = h.join();
        }
        self.teardown();
        // E2E_SHOW_LOG=1 (with --nocapture) shows every log, not only a failed test's.
        if std::thread::panicking() || std::env::var_os("E2E_SHOW_LOG").is_some() {
            eprintln!(
                "===== server log ({}) =====\n{}\n===== end of server log =====",
                self.log_path.display(),
                self.log()
            );
        }
    }
}

/// A server's System V objects.
#[derive(Debug, Default)]
pub struct Ipc {
    pub segments: Vec<tusk_ipc::ShmInfo>,
    pub sem_sets: Vec<tusk_ipc::SemInfo>,
}

impl Ipc {
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty() && self.sem_sets.is_empty()
    }
}

/// Keeps the environment from steering libpq programs elsewhere.
pub fn clean_pg_env(cmd: &mut Command) {
    for v in [
        "PGHOST",
        "PGHOSTADDR",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGOPTIONS",
        "PGSERVICE",
        "PGPASSWORD",
        "PGSSLMODE",
        "PGAPPNAME",
    ] {
        cmd.env_remove(v);
    }
}

// ---------------------------------------------------------------------
// Driver errors
// ---------------------------------------------------------------------

/// The SQLSTATE of a server error, if the error came from the server.
pub fn sqlstate(e: &postgres::Error) -> Option<String> {
    e.code().map(|c| c.code().to_string())
}

pub fn describe_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!(
            "{} {}: {} (detail {:?}, hint {:?})",
            d.severity(),
            d.code().code(),
            d.message(),
            d.detail(),
            d.hint()
        ),
        None => format!("{e} (closed: {})", e.is_closed()),
    }
}

/// Asserts that `r` failed with a server ERROR of SQLSTATE `code`.
#[track_caller]
pub fn expect_sqlstate<T: std::fmt::Debug>(
    r: Result<T, postgres::Error>,
    codes: &[&str],
) -> postgres::error::DbError {
    let e = match r {
        Ok(v) => panic!("expected an error with SQLSTATE {codes:?}, got success: {v:?}"),
        Err(e) => e,
    };
    let Some(db) = e.as_db_error() else {
        panic!(
            "expected SQLSTATE {codes:?}, got a non-server error: {}",
            describe_error(&e)
        )
    };
    assert!(
        codes.contains(&db.code().code()),
        "expected SQLSTATE {codes:?}, got {}",
        describe_error(&e)
    );
    db.clone()
}

/// The text values of the rows of a simple query.
pub fn simple_rows(c: &mut postgres::Client, sql: &str) -> Vec<Vec<Option<String>>> {
    let msgs = c
        .simple_query(sql)
        .unwrap_or_else(|e| panic!("{sql}: {}", describe_error(&e)));
    msgs.into_iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

/// The one value of a one-row, one-column simple query.
pub fn simple_value(c: &mut postgres::Client, sql: &str) -> Option<String> {
    let rows = simple_rows(c, sql);
    assert_eq!(rows.len(), 1, "{sql}: expected one row, got {rows:?}");
    assert_eq!(rows[0].len(), 1, "{sql}: expected one column, got {rows:?}");
    rows[0][0].clone()
}

/// pg_backend_pid() of a session.
pub fn backend_pid(c: &mut postgres::Client) -> i32 {
    c.query_one("SELECT pg_backend_pid()", &[])
        .unwrap_or_else(|e| panic!("pg_backend_pid(): {}", describe_error(&e)))
        .get(0)
}

// ---------------------------------------------------------------------
// The raw protocol client
// ---------------------------------------------------------------------

pub const PROTOCOL_3_0: u32 = 3 << 16;

/// One backend message: its type byte and body.
#[derive(Debug, Clone)]
pub struct Msg {
    pub tag: u8,
    pub body: Vec<u8>,
}

impl Msg {
    /// The fields of an ErrorResponse or NoticeResponse.
    pub fn fields(&self) -> Vec<(u8, String)> {
        let mut out = Vec::new();
        let mut rest = &self.body[..];
        while let Some((&code, tail)) = rest.split_first() {
            if code == 0 {
                break;
            }
            let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
            out.push((code, String::from_utf8_lossy(&tail[..end]).into_owned()));
            rest = tail.get(end + 1..).unwrap_or(&[]);
        }
        out
    }

    pub fn field(&self, code: u8) -> Option<String> {
        self.fields()
            .into_iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v)
    }

    /// (name, value) of a ParameterStatus.
    pub fn parameter(&self) -> Option<(String, String)> {
        if self.tag != b'S' {
            return None;
        }
        let mut parts = self.body.split(|&b| b == 0);
        let n = String::from_utf8_lossy(parts.next()?).into_owned();
        let v = String::from_utf8_lossy(parts.next()?).into_owned();
        Some((n, v))
    }

    /// The tag of a CommandComplete.
    pub fn command_tag(&self) -> Option<String> {
        (self.tag == b'C').then(|| {
            String::from_utf8_lossy(self.body.strip_suffix(&[0]).unwrap_or(&self.body)).into_owned()
        })
    }

    /// "E FATAL 08P01 message" style summary for assertion messages.
    pub fn summary(&self) -> String {
        match self.tag {
            b'E' | b'N' => format!(
                "{} {} {} {}",
                self.tag as char,
                self.field(b'S').unwrap_or_default(),
                self.field(b'C').unwrap_or_default(),
                self.field(b'M').unwrap_or_default()
            ),
            _ => format!(
                "{} {:?}",
                self.tag as char,
                String::from_utf8_lossy(&self.body)
            ),
        }
    }
}

pub fn summaries(msgs: &[Msg]) -> Vec<String> {
    msgs.iter().map(Msg::summary).collect()
}

/// A startup packet: length, version, name\0value\0 pairs, final \0.
pub fn startup_packet(version: u32, params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    for (n, v) in params {
        body.extend_from_slice(n.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut p = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    p.extend(body);
    p
}

/// A frontend message: type byte, length, body.
pub fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

pub fn query_message(sql: &str) -> Vec<u8> {
    let mut b = sql.as_bytes().to_vec();
    b.push(0);
    message(b'Q', &b)
}

/// A blocking protocol connection with 10 s read and write timeouts.
pub struct RawConn {
    s: TcpStream,
}

impl RawConn {
    pub fn connect(port: u16) -> RawConn {
        let s = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"));
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        s.set_write_timeout(Some(Duration::from_secs(10)))
            .expect("write timeout");
        RawConn { s }
    }

    /// The client's own TCP port (what the server's process title shows).
    pub fn local_port(&self) -> u16 {
        self.s.local_addr().expect("local_addr").port()
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.s.write_all(bytes)
    }

    /// Closes our sending side: the server reads EOF, we can still read.
    pub fn half_close(&self) {
        let _ = self.s.shutdown(Shutdown::Write);
    }

    fn read_exact_or_eof(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        let mut got = 0;
        while got < buf.len() {
            match self.s.read(&mut buf[got..]) {
                Ok(0) => {
                    if got == 0 {
                        return Ok(false);
                    }
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed inside a message",
                    ));
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset && got == 0 => {
                    return Ok(false)
                }
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// One byte, as the answer to an SSLRequest or GSSENCRequest is;
    /// `Ok(None)` when the server closed the connection.
    pub fn read_byte(&mut self) -> io::Result<Option<u8>> {
        let mut b = [0u8; 1];
        Ok(self.read_exact_or_eof(&mut b)?.then_some(b[0]))
    }

    /// The next message; `Ok(None)` when the server closed the connection.
    pub fn read_msg(&mut self) -> io::Result<Option<Msg>> {
        let mut head = [0u8; 5];
        if !self.read_exact_or_eof(&mut head)? {
            return Ok(None);
        }
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if !(4..=64 * 1024 * 1024).contains(&len) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("backend message {:?} with length {len}", head[0] as char),
            ));
        }
        let mut body = vec![0u8; len - 4];
        if !self.read_exact_or_eof(&mut body)? && !body.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a message",
            ));
        }
        Ok(Some(Msg { tag: head[0], body }))
    }

    /// Messages up to and including ReadyForQuery; panics on EOF or timeout.
    pub fn read_until_ready(&mut self) -> Vec<Msg> {
        let mut out = Vec::new();
        loop {
            match self.read_msg() {
                Ok(Some(m)) => {
                    let done = m.tag == b'Z';
                    out.push(m);
                    if done {
                        return out;
                    }
                }
                Ok(None) => panic!(
                    "connection closed before ReadyForQuery; got {:?}",
                    summaries(&out)
                ),
                Err(e) => panic!(
                    "reading until ReadyForQuery: {e}; got {:?}",
                    summaries(&out)
                ),
            }
        }
    }

    /// Every message until the server closes the connection. `Err` if it
    /// did not close within the read timeout (with what came so far).
    pub fn read_to_eof(&mut self) -> Result<Vec<Msg>, (io::Error, Vec<Msg>)> {
        let mut out = Vec::new();
        loop {
            match self.read_msg() {
                Ok(Some(m)) => out.push(m),
                Ok(None) => return Ok(out),
                Err(e) => return Err((e, out)),
            }
        }
    }
}

// Helpers the test files share.

/// Runs `sql` (one or more statements), panicking with the server's
/// error in full if it fails.
pub fn exec(c: &mut postgres::Client, sql: &str) {
    c.batch_execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {}", crate::util::describe_error(&e)));
}

/// The server's error of a call expected to fail (panics on success or on
/// a client-side error).
pub fn db_error(r: Result<impl std::fmt::Debug, postgres::Error>) -> postgres::error::DbError {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.as_db_error().cloned().unwrap_or_else(|| panic!("{e}")),
    }
}

/// The rows of a query as text, in order: columns joined by `|`, NULL as
/// "NULL" (simple protocol).
pub fn rows(c: &mut postgres::Client, sql: &str) -> Vec<String> {
    c.simple_query(sql)
        .unwrap_or_else(|e| panic!("{sql}: {}", crate::util::describe_error(&e)))
        .into_iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("NULL").to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            _ => None,
        })
        .collect()
}

/// psql's stderr without cursor positions (`LINE n: ...` and its caret
/// line), which differ where tusk does not place a cursor yet.
pub fn without_positions(s: &str) -> String {
    let mut out = Vec::new();
    let mut skip = false;
    for l in s.split('\n') {
        if skip {
            skip = false;
            continue;
        }
        if l.starts_with("LINE ") {
            skip = true;
            continue;
        }
        out.push(l);
    }
    out.join("\n")
}

/// Runs `script` through `psql -X -A -t -f` over the Unix socket, written
/// as `name` in the server's temp dir; returns the run and its stderr with
/// the script's path replaced by `SCRIPT`, as the expected outputs taken
/// from PostgreSQL 15 write it.
pub fn psql_script(srv: &TestServer, name: &str, script: &str) -> (Finished, String) {
    let path = srv.tmp_dir().join(name);
    std::fs::write(&path, script).expect("write the script");
    let path = path.display().to_string();
    let r = srv.psql(Via::Unix, &["-X", "-A", "-t", "-f", &path]);
    let errs = r.stderr.replace(&format!("psql:{path}:"), "psql:SCRIPT:");
    (r, errs)
}

/// The lines of psql's stderr that carry errors: `psql:...` (the ERROR
/// line), `DETAIL:` and `HINT:`, each ending in a newline.
pub fn error_lines(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| l.starts_with("psql:") || l.starts_with("DETAIL:") || l.starts_with("HINT:"))
        .map(|l| format!("{l}\n"))
        .collect()
}
