//! The harness: the binary, throw-away clusters, commands with a deadline,
//! servers stopped by PID, runs in a private IPC namespace, and seccomp
//! filters that make one system call fail.
//!
//! Every wait polls with a deadline (a broken server makes a test fail,
//! not hang); every server is stopped by its own PID in `Drop`, so a
//! failing assertion still cleans up; System V objects of a server in the
//! machine's own namespace are removed by key in `Drop` when the server
//! could not remove them itself.

#![allow(dead_code)]

use serde_json::Value;
use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use crate::util::{wait_until, Finished, TUSK};
pub const READY: Duration = Duration::from_secs(40);
pub const STOP: Duration = Duration::from_secs(20);

/// Runs `cmd` for at most `timeout` with its output captured (the e2e
/// harness's bounded run), without the caller's PGDATA: every command
/// here names its data directory.
pub fn run(cmd: &mut Command, timeout: Duration) -> Finished {
    cmd.env_remove("PGDATA");
    crate::util::run_bounded(cmd, timeout)
}

/// `tusk ARGS`, bounded.
pub fn tusk(args: &[&str]) -> Finished {
    run(Command::new(TUSK).args(args), Duration::from_secs(60))
}

/// A port that was free a moment ago (also the base of the server's keys).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A cluster made by `tusk init`, in a temporary directory.
pub struct Cluster {
    pub tmp: tempfile::TempDir,
    pub data: PathBuf,
    pub sock: PathBuf,
}

impl Cluster {
    pub fn new() -> Cluster {
        let tmp = tempfile::Builder::new()
            .prefix("tusk-check-")
            .tempdir()
            .expect("temp dir");
        let data = tmp.path().join("data");
        let sock = tmp.path().join("sock");
        fs::create_dir(&sock).expect("socket dir");
        let init = run(
            Command::new(TUSK)
                .arg("init")
                .arg("-D")
                .arg(&data)
                .arg("-U")
                .arg("postgres"),
            Duration::from_secs(60),
        );
        assert_eq!(init.code(), Some(0), "tusk init: {}", init.describe());
        Cluster { tmp, data, sock }
    }

    /// `tusk server` arguments for this cluster: no TCP, the socket in the
    /// cluster's directory, `port` (which also chooses the IPC keys).
    pub fn server_args(&self, port: u16, settings: &[(&str, &str)]) -> Vec<String> {
        let mut a = vec![
            "server".to_string(),
            "-D".into(),
            self.data.display().to_string(),
            "--allow-root".into(),
            "-c".into(),
            format!("port={port}"),
            "-c".into(),
            "listen_addresses=".into(),
            "-c".into(),
            format!("unix_socket_directories={}", self.sock.display()),
        ];
        for (n, v) in settings {
            a.push("-c".into());
            a.push(format!("{n}={v}"));
        }
        a
    }

    /// `tusk server -D ... -C name` with `settings`.
    pub fn print(&self, name: &str, settings: &[(&str, &str)]) -> String {
        let mut cmd = Command::new(TUSK);
        cmd.arg("server")
            .arg("-D")
            .arg(&self.data)
            .arg("-C")
            .arg(name);
        for (n, v) in settings {
            cmd.arg("-c").arg(format!("{n}={v}"));
        }
        let f = run(&mut cmd, Duration::from_secs(60));
        assert_eq!(f.code(), Some(0), "-C {name}: {}", f.describe());
        f.stdout.trim().to_string()
    }

    pub fn postmaster_pid_file(&self) -> Option<Vec<String>> {
        let text = fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        Some(text.lines().map(str::to_string).collect())
    }
}

/// A running (or starting) server, stopped in `Drop`.
pub struct Server {
    child: Child,
    log: PathBuf,
    data: PathBuf,
    /// The postmaster's PID (the child itself, or the process an
    /// `unshare --fork` wrapper started, read from postmaster.pid).
    pub pid: Option<i32>,
    /// The port, when the server runs in this machine's IPC namespace
    /// (its keys are cleaned up if the server could not).
    port: Option<u16>,
}

impl Server {
    /// Starts `cmd` (a `tusk server` or a wrapper that execs one), its
    /// output in a log file in the cluster's directory.
    pub fn spawn(
        cluster: &Cluster,
        mut cmd: Command,
        port_in_this_namespace: Option<u16>,
    ) -> Server {
        let log = cluster
            .tmp
            .path()
            .join(format!("server-{}.log", free_port()));
        let f = File::create(&log).expect("log");
        cmd.stdin(Stdio::null())
            .stdout(f.try_clone().expect("dup"))
            .stderr(f)
            .env_remove("PGDATA");
        let child = cmd.spawn().expect("spawn server");
        Server {
            child,
            log,
            data: cluster.data.clone(),
            pid: None,
            port: port_in_this_namespace,
        }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until postmaster.pid says ready; panics with the log if the
    /// server exits or the deadline passes.
    pub fn wait_ready(&mut self) {
        let pidfile = self.data.join("postmaster.pid");
        let ok = wait_until(READY, || {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            fs::read_to_string(&pidfile)
                .is_ok_and(|t| t.lines().nth(7).is_some_and(|l| l.trim() == "ready"))
        });
        let exited = self.child.try_wait().ok().flatten();
        assert!(
            ok && exited.is_none(),
            "server did not become ready ({exited:?}):\n{}",
            self.log()
        );
        let text = fs::read_to_string(&pidfile).expect("postmaster.pid");
        self.pid = text.lines().next().and_then(|l| l.trim().parse().ok());
        assert!(self.pid.is_some(), "no PID in postmaster.pid: {text}");
    }

    /// Waits for the process to exit by itself; its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let mut status = None;
        wait_until(timeout, || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        });
        status.and_then(|s| s.code())
    }

    /// Fast shutdown (SIGINT to the postmaster), waiting for the exit.
    pub fn stop(&mut self) {
        if let Some(pid) = self.pid {
            // SAFETY: a process this test started.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
        let code = self.wait_exit(STOP);
        assert!(code.is_some(), "server did not stop:\n{}", self.log());
        self.pid = None;
    }

    /// The postmaster's child processes (backends, auxiliary processes).
    pub fn children(&self) -> Vec<i32> {
        let Some(pm) = self.pid else {
            return Vec::new();
        };
        let Ok(rd) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|p| {
                fs::read_to_string(format!("/proc/{p}/stat"))
                    .ok()
                    .is_some_and(|s| {
                        let rest = &s[s.rfind(')').map_or(0, |i| i + 2)..];
                        let f: Vec<&str> = rest.split_whitespace().collect();
                        f.first() != Some(&"Z")
                            && f.get(1).and_then(|x| x.parse::<i32>().ok()) == Some(pm)
                    })
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            if let Some(pid) = self.pid {
                // SAFETY: a process this test started.
                unsafe { libc::kill(pid, libc::SIGQUIT) };
            }
            if !wait_until(STOP, || self.child.try_wait().ok().flatten().is_some()) {
                if let Some(pid) = self.pid {
                    // SAFETY: as above.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        if let Some(port) = self.port {
            remove_keys_of_port(port);
        }
    }
}

/// Removes segments and semaphore sets in this port's key range
/// (port × 1000 + 1 and the next 99): what a killed server may leave.
pub fn remove_keys_of_port(port: u16) {
    let lo = port as i64 * 1000 + 1;
    let mine = |k: i64| k >= lo && k < lo + 99;
    for (key, id) in sysvipc("/proc/sysvipc/shm") {
        if mine(key) {
            // SAFETY: plain system call on a segment of this test's server.
            unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
        }
    }
    for (key, id) in sysvipc("/proc/sysvipc/sem") {
        if mine(key) {
            // SAFETY: as above, a semaphore set.
            unsafe { libc::semctl(id, 0, libc::IPC_RMID, 0) };
        }
    }
}

/// (key, id) of every object listed in a /proc/sysvipc table.
pub fn sysvipc(path: &str) -> Vec<(i64, i32)> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
        })
        .collect()
}

// ---------------------------------------------------------------------
// IPC namespaces
// ---------------------------------------------------------------------

/// What a run in a private IPC namespace printed: the server's output,
/// its exit code, and the namespace's segments and semaphore sets after
/// it exited.
#[derive(Debug)]
pub struct NsRun {
    pub finished: Finished,
    pub exit: Option<i32>,
    pub shm_left: Vec<String>,
    pub sem_left: Vec<String>,
}

impl NsRun {
    /// The server's log (stderr) and the script's report.
    pub fn describe(&self) -> String {
        self.finished.describe()
    }

    pub fn assert_nothing_left(&self) {
        assert!(
            self.shm_left.is_empty() && self.sem_left.is_empty(),
            "left behind in the namespace: shm {:?} sem {:?}\n{}",
            self.shm_left,
            self.sem_left,
            self.describe()
        );
    }
}

/// Writes `sysctls` ("/proc/sys path", value) inside a new IPC namespace,
/// runs `argv` there, then lists what the namespace still holds.
pub fn run_in_namespace(sysctls: &[(&str, &str)], argv: &[String], pre: Option<Prep>) -> NsRun {
    let mut cmd = unshare_ipc(
        sysctls,
        "\"$@\"\necho \"tusk-exit=$?\"\necho '--- shm'\ncat /proc/sysvipc/shm\necho '--- sem'\ncat /proc/sysvipc/sem\n",
        argv,
    );
    if let Some(p) = pre {
        p.apply(&mut cmd);
    }
    let finished = run(&mut cmd, Duration::from_secs(90));
    assert_eq!(
        finished.code(),
        Some(0),
        "the namespace script failed: {}",
        finished.describe()
    );
    let exit = finished
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("tusk-exit="))
        .and_then(|v| v.trim().parse().ok());
    let section = |start: &str, end: Option<&str>| -> Vec<String> {
        let mut lines = finished.stdout.lines().skip_while(|l| *l != start).skip(2);
        let mut out = Vec::new();
        for l in lines.by_ref() {
            if Some(l) == end {
                break;
            }
            if !l.trim().is_empty() {
                out.push(l.to_string());
            }
        }
        out
    };
    let shm_left = section("--- shm", Some("--- sem"));
    let sem_left = section("--- sem", None);
    NsRun {
        finished,
        exit,
        shm_left,
        sem_left,
    }
}

/// A `unshare --ipc` wrapper that sets `sysctls` and execs `argv`: for a
/// server that should start under lowered limits.
pub fn namespace_command(sysctls: &[(&str, &str)], argv: &[String]) -> Command {
    unshare_ipc(sysctls, "exec \"$@\"\n", argv)
}

/// `unshare --ipc` running a shell script that first writes `sysctls`
/// ("/proc/sys path", value; exit 97 if one cannot be written), then
/// `then`, which sees `argv` as "$@".
fn unshare_ipc(sysctls: &[(&str, &str)], then: &str, argv: &[String]) -> Command {
    crate::util::require_root(
        "unshare --ipc and writing the namespace's kernel.shm*/kernel.sem limits need it",
    );
    let mut script = String::new();
    for (path, value) in sysctls {
        script.push_str(&format!("echo '{value}' > {path} || exit 97\n"));
    }
    script.push_str(then);
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--ipc",
        "--fork",
        "--kill-child",
        "--",
        "sh",
        "-c",
        &script,
        "sh",
    ])
    .args(argv);
    cmd
}

// ---------------------------------------------------------------------
// Things done in the child before exec
// ---------------------------------------------------------------------

/// What to arrange in the spawned process before it execs.
pub enum Prep {
    /// A seccomp filter making one system call fail with an errno.
    Seccomp(Vec<libc::sock_filter>),
    /// setrlimit(resource, soft, hard).
    Rlimit(libc::__rlimit_resource_t, u64, u64),
    /// Drop a capability from the bounding set (root keeps its UID but
    /// loses the capability across exec).
    DropCap(i32),
}

impl Prep {
    pub fn apply(self, cmd: &mut Command) {
        match self {
            Prep::Seccomp(filter) => {
                // SAFETY: only async-signal-safe calls (prctl) between fork
                // and exec; the program lives in `filter`, moved into the
                // closure, which outlives the fork.
                unsafe {
                    cmd.pre_exec(move || {
                        let prog = libc::sock_fprog {
                            len: filter.len() as u16,
                            filter: filter.as_ptr() as *mut _,
                        };
                        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                            || libc::prctl(
                                libc::PR_SET_SECCOMP,
                                libc::SECCOMP_MODE_FILTER,
                                &prog as *const _,
                            ) != 0
                        {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    })
                };
            }
            Prep::Rlimit(res, soft, hard) => {
                // SAFETY: setrlimit is async-signal-safe.
                unsafe {
                    cmd.pre_exec(move || {
                        let l = libc::rlimit {
                            rlim_cur: soft,
                            rlim_max: hard,
                        };
                        if libc::setrlimit(res, &l) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    })
                };
            }
            Prep::DropCap(cap) => {
                // SAFETY: prctl is async-signal-safe.
                unsafe {
                    cmd.pre_exec(move || {
                        if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    })
                };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

const LD_ABS_W: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;

/// A filter: system call `nr` fails with `errno`; with `args` given as
/// (index, mask, value), only calls whose argument's low 32 bits, masked,
/// equal the value. Everything else, and other architectures, is allowed.
pub fn fail_syscall(
    nr: libc::c_long,
    errno: i32,
    args: &[(u32, u32, u32)],
) -> Vec<libc::sock_filter> {
    // struct seccomp_data: int nr (0); u32 arch (4); u64 ip (8); u64 args[6] (16).
    let mut f = vec![
        stmt(LD_ABS_W, 4),
        jump(JEQ_K, AUDIT_ARCH, 0, 0),
        stmt(LD_ABS_W, 0),
        jump(JEQ_K, nr as u32, 0, 0),
    ];
    for (idx, mask, value) in args {
        f.push(stmt(LD_ABS_W, 16 + 8 * idx));
        f.push(stmt(AND_K, *mask));
        f.push(jump(JEQ_K, *value, 0, 0));
    }
    f.push(stmt(RET_K, RET_ERRNO | (errno as u32 & 0xffff)));
    f.push(stmt(RET_K, RET_ALLOW));
    // Every comparison that does not match jumps to the final allow.
    let allow = f.len() - 1;
    for (i, ins) in f.iter_mut().enumerate() {
        if ins.code == JEQ_K {
            ins.jf = (allow - i - 1) as u8;
        }
    }
    f
}

// ---------------------------------------------------------------------
// JSON shapes
// ---------------------------------------------------------------------

pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

pub fn assert_keys(v: &Value, expected: &[&str]) {
    let mut e: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    e.sort();
    assert_eq!(keys(v), e, "keys of {v}");
}

pub fn is_uint(v: &Value) -> bool {
    v.as_u64().is_some()
}

pub fn is_uint_or_null(v: &Value) -> bool {
    v.is_null() || v.as_u64().is_some()
}

pub fn is_str_or_null(v: &Value) -> bool {
    v.is_null() || v.is_string()
}

/// Holds `tusk check --json` output to the documented shape.
pub fn assert_check_shape(v: &Value) {
    assert_keys(
        v,
        &[
            "format",
            "configuration",
            "user",
            "needs",
            "checks",
            "can_start",
            "exit_code",
        ],
    );
    assert_eq!(v["format"], "tusk-check/1");
    let c = &v["configuration"];
    assert_keys(c, &["data_directory", "config_file", "overrides"]);
    assert!(is_str_or_null(&c["data_directory"]) && is_str_or_null(&c["config_file"]));
    assert!(c["overrides"]
        .as_object()
        .is_some_and(|o| o.values().all(Value::is_string)));
    assert_keys(&v["user"], &["name", "uid"]);
    assert!(v["user"]["name"].is_string() && is_uint(&v["user"]["uid"]));
    let n = &v["needs"];
    assert_keys(
        n,
        &[
            "shared_memory_type",
            "shared_memory_bytes",
            "segment_bytes",
            "mapping_bytes",
            "sem_sets",
            "semaphores",
            "kernel_semaphores",
            "semaphores_per_set",
            "largest_semaphore_value",
            "processes",
            "files_per_process",
            "min_files_per_process",
            "files_total",
            "huge_pages",
            "memory_may_use",
        ],
    );
    assert!(n["shared_memory_type"] == "sysv" || n["shared_memory_type"] == "mmap");
    for k in [
        "shared_memory_bytes",
        "segment_bytes",
        "sem_sets",
        "semaphores",
        "kernel_semaphores",
        "semaphores_per_set",
        "largest_semaphore_value",
        "processes",
        "files_per_process",
        "min_files_per_process",
        "files_total",
        "memory_may_use",
    ] {
        assert!(is_uint(&n[k]), "needs.{k}: {}", n[k]);
    }
    assert!(is_uint_or_null(&n["mapping_bytes"]));
    if !n["huge_pages"].is_null() {
        assert_keys(&n["huge_pages"], &["page_size", "pages", "required"]);
        assert!(n["huge_pages"]["required"].is_boolean());
    }
    let checks = v["checks"].as_array().expect("checks is an array");
    assert!(!checks.is_empty());
    for r in checks {
        assert_keys(
            r,
            &[
                "resource",
                "parameter",
                "needed",
                "needed_value",
                "limit",
                "limit_value",
                "verdict",
                "why",
                "fix",
            ],
        );
        for k in ["resource", "parameter", "needed", "limit", "why"] {
            assert!(r[k].is_string(), "{k} of {r}");
        }
        assert!(
            is_uint_or_null(&r["needed_value"]) && is_uint_or_null(&r["limit_value"]),
            "{r}"
        );
        assert!(
            ["ok", "warning", "fail", "unknown"].contains(&r["verdict"].as_str().unwrap_or("")),
            "{r}"
        );
        assert!(is_str_or_null(&r["fix"]), "{r}");
    }
    assert!(v["can_start"].is_boolean());
    let fails = checks.iter().any(|r| r["verdict"] == "fail");
    assert_eq!(v["can_start"], !fails);
    assert_eq!(v["exit_code"], if fails { 1 } else { 0 });
}

/// The row of `checks` for `parameter`.
pub fn check_row<'a>(v: &'a Value, parameter: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["parameter"] == parameter))
        .unwrap_or_else(|| panic!("no row for {parameter} in {v}"))
}

/// A data directory's owner check needs the files to exist; paths in
/// messages are compared as given.
pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}
