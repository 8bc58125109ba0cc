//! End-to-end tests of `tusk ipc list|clean` against real servers: tusk
//! killed with SIGKILL, tusk live, PostgreSQL 15 live and killed, foreign
//! objects, and a segment still attached by a surviving process.
//!
//! Why each scenario runs in its own namespaces: `tusk ipc` sees (and
//! `clean --all-orphans` may remove) every object of its IPC namespace, so
//! on a shared machine a test could take another program's leftovers, and
//! another program's objects would make the expected listing wrong. Each
//! `#[test]` therefore re-executes this test binary, for that one test,
//! under `unshare --ipc --pid --mount --mount-proc --kill-child`:
//! - a private IPC namespace: only the scenario's own objects exist, and
//!   they vanish with the namespace whatever happens;
//! - a private PID namespace whose PID 1 is the scenario: when it ends (or
//!   the outer test kills it on a timeout), the kernel kills every process
//!   it started, servers included;
//! - a private tmpfs on /dev/shm, where PostgreSQL keeps its dynamic
//!   shared memory, so its leftovers never reach the machine's.
//!
//! Orphaned server children are re-parented to the scenario (PID 1) and
//! stay zombies; `tusk ipc` counts a zombie as exited, which is what it is.
//! Servers are started with the e2e harness (`../e2e/util.rs`); PostgreSQL
//! 15 (Debian's postgresql-15) runs as the `postgres` user, since it
//! refuses root. These tests need root (unshare, runuser), as the e2e
//! suite does for `--allow-root`.

#![deny(clippy::undocumented_unsafe_blocks)]

#[path = "../e2e/util.rs"]
#[allow(dead_code)]
mod util;

use serde_json::Value;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use util::*;

/// Set in the re-executed test process: the scenario runs here.
const INSIDE: &str = "TUSK_IPC_TEST_IN_NAMESPACE";
/// How long one scenario may take, PostgreSQL's initdb included.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(420);

/// Runs `body` in fresh IPC, PID and mount namespaces (see the module
/// documentation): outside, re-executes this test there and checks that
/// it passed; inside, runs it.
fn in_own_namespace(name: &str, body: impl FnOnce()) {
    if std::env::var_os(INSIDE).is_some() {
        body();
        return;
    }
    require_root(
        "the tusk ipc tests run each scenario under unshare(1) in its own IPC and PID namespaces, \
         and start PostgreSQL with runuser(1)",
    );
    let exe = std::env::current_exe().expect("path of this test binary");
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--ipc",
        "--pid",
        "--mount",
        "--mount-proc",
        "--fork",
        "--kill-child",
        "--",
    ])
    .args([
        "sh",
        "-c",
        "mount -t tmpfs -o mode=1777 tusk-ipc-test /dev/shm && exec \"$0\" \"$@\"",
    ])
    .arg(&exe)
    .args([name, "--exact", "--nocapture", "--test-threads=1"])
    .env(INSIDE, "1");
    let out = run_bounded(&mut cmd, SCENARIO_TIMEOUT);
    assert_eq!(
        out.code(),
        Some(0),
        "scenario {name} failed in its namespace:\n{}",
        out.describe()
    );
    assert!(
        out.stdout.contains("test result: ok. 1 passed"),
        "scenario {name} did not run in its namespace:\n{}",
        out.describe()
    );
}

/// A test whose body runs in its own namespaces.
macro_rules! scenario {
    ($(#[$m:meta])* fn $name:ident() $body:block) => {
        $(#[$m])*
        #[test]
        fn $name() {
            in_own_namespace(stringify!($name), || $body);
        }
    };
}

// ---------------------------------------------------------------------
// Running tusk ipc
// ---------------------------------------------------------------------

fn tusk_ipc(args: &[&str]) -> Finished {
    let mut cmd = Command::new(TUSK);
    cmd.arg("ipc").args(args);
    run_bounded(&mut cmd, Duration::from_secs(60))
}

/// `tusk ipc` with the data directory as an argument.
fn clean_dir(dir: &Path, extra: &[&str]) -> Finished {
    let d = dir.display().to_string();
    let mut args = vec!["clean", "-D", d.as_str()];
    args.extend_from_slice(extra);
    tusk_ipc(&args)
}

/// `tusk ipc list --json`, parsed and held to the documented shape.
fn list_json() -> Value {
    let out = tusk_ipc(&["list", "--json"]);
    assert_eq!(
        out.code(),
        Some(0),
        "tusk ipc list --json: {}",
        out.describe()
    );
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("tusk ipc list --json is not JSON ({e}):\n{}", out.stdout));
    check_shape(&v);
    v
}

fn list_text() -> String {
    let out = tusk_ipc(&["list"]);
    assert_eq!(out.code(), Some(0), "tusk ipc list: {}", out.describe());
    out.stdout
}

fn segments(v: &Value) -> &Vec<Value> {
    v["segments"].as_array().expect("segments")
}

fn sem_sets(v: &Value) -> &Vec<Value> {
    v["semaphore_sets"].as_array().expect("semaphore_sets")
}

fn segment(v: &Value, id: i32) -> Value {
    segments(v)
        .iter()
        .find(|s| s["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("segment {id} not listed: {v:#}"))
}

fn has_segment(v: &Value, id: i32) -> bool {
    segments(v).iter().any(|s| s["id"] == id)
}

fn has_set(v: &Value, id: i32) -> bool {
    sem_sets(v).iter().any(|s| s["id"] == id)
}

/// The sets made by `pid`.
fn sets_of(v: &Value, pid: i32) -> Vec<Value> {
    sem_sets(v)
        .iter()
        .filter(|s| s["creator_pid"] == pid)
        .cloned()
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn assert_evidence(obj: &Value, needle: &str) {
    let ev = strings(&obj["evidence"]);
    assert!(
        ev.iter().any(|e| e.contains(needle)),
        "no evidence containing \"{needle}\" in {obj:#}"
    );
}

// ---------------------------------------------------------------------
// The documented JSON shape (module doc of crates/ops/src/ipc.rs and
// docs/operations.md)
// ---------------------------------------------------------------------

const COMMON_KEYS: &[&str] = &[
    "key",
    "key_decimal",
    "id",
    "owner",
    "uid",
    "gid",
    "cuid",
    "cgid",
    "perms",
    "change_time",
    "kind",
    "state",
    "label",
    "creator_pid",
    "creator",
    "data_directory",
    "port",
    "postmaster_pid",
    "evidence",
    "notes",
];
const SEGMENT_KEYS: &[&str] = &[
    "bytes",
    "nattch",
    "cpid",
    "lpid",
    "attach_time",
    "detach_time",
    "removed",
    "attached_pids",
    "dsm_control",
];
const SET_KEYS: &[&str] = &["nsems", "op_time", "marker", "segment_id"];

fn is_uint(v: &Value) -> bool {
    v.as_u64().is_some()
}

fn is_int(v: &Value) -> bool {
    v.as_i64().is_some()
}

fn uint_or_null(v: &Value) -> bool {
    v.is_null() || is_uint(v)
}

fn check_keys(obj: &Value, extra: &[&str], what: &str) {
    let map = obj
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object: {obj}"));
    let mut want: Vec<&str> = COMMON_KEYS.iter().chain(extra).copied().collect();
    want.sort_unstable();
    let mut got: Vec<&str> = map.keys().map(String::as_str).collect();
    got.sort_unstable();
    assert_eq!(got, want, "{what} has other keys than documented: {obj:#}");
}

fn check_common(o: &Value) {
    let key = o["key"].as_str().expect("key is a string");
    assert!(
        key.len() == 10
            && key.starts_with("0x")
            && key[2..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "key {key} is not 0x + 8 lower-case hex digits"
    );
    assert_eq!(
        u64::from_str_radix(&key[2..], 16).ok(),
        o["key_decimal"].as_u64(),
        "key and key_decimal differ: {o}"
    );
    for k in ["id", "uid", "gid", "cuid", "cgid"] {
        assert!(is_uint(&o[k]), "{k} is not a number: {o}");
    }
    assert!(o["owner"].is_string());
    let perms = o["perms"].as_str().expect("perms is a string");
    assert!(
        u32::from_str_radix(perms, 8).is_ok(),
        "perms {perms} is not octal"
    );
    assert!(uint_or_null(&o["change_time"]));
    let kind = o["kind"].as_str().expect("kind is a string");
    assert!(
        ["tusk", "postgresql", "foreign"].contains(&kind),
        "kind {kind}"
    );
    match o["state"].as_str() {
        None => assert!(
            o["state"].is_null() && kind == "foreign",
            "only foreign objects have no state: {o}"
        ),
        Some(s) => {
            assert!(["live", "in-use", "orphan"].contains(&s), "state {s}");
            assert_ne!(kind, "foreign", "a foreign object has no state: {o}");
        }
    }
    assert!(o["label"].is_string());
    assert!(o["creator_pid"].is_null() || is_int(&o["creator_pid"]));
    assert!(
        o["creator"].is_null()
            || ["running", "gone", "zombie", "reused"]
                .contains(&o["creator"].as_str().unwrap_or("?"))
    );
    let dd = &o["data_directory"];
    if !dd.is_null() {
        let m = dd.as_object().expect("data_directory is an object or null");
        let mut keys: Vec<&str> = m.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["device", "exists", "inode", "path"]);
        assert!(dd["path"].is_null() || dd["path"].is_string());
        assert!(is_uint(&dd["device"]) && is_uint(&dd["inode"]));
        assert!(dd["exists"].is_null() || dd["exists"].is_boolean());
    }
    assert!(uint_or_null(&o["port"]));
    assert!(o["postmaster_pid"].is_null() || is_int(&o["postmaster_pid"]));
    assert!(
        o["postmaster_pid"].is_null() || o["state"] == "live",
        "only a live object names a postmaster: {o}"
    );
    for k in ["evidence", "notes"] {
        let a = o[k]
            .as_array()
            .unwrap_or_else(|| panic!("{k} is not an array: {o}"));
        assert!(a.iter().all(Value::is_string), "{k} holds non-strings: {o}");
    }
    if o["state"] == "orphan" {
        assert!(
            !strings(&o["evidence"]).is_empty(),
            "an orphan comes with its evidence: {o}"
        );
    }
}

fn check_shape(v: &Value) {
    let top = v.as_object().expect("top level is an object");
    let mut keys: Vec<&str> = top.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["format", "segments", "semaphore_sets", "version"]);
    assert_eq!(v["format"], "tusk-ipc-list");
    assert_eq!(v["version"], 1);
    for s in segments(v) {
        check_keys(s, SEGMENT_KEYS, "a segment");
        check_common(s);
        for k in ["bytes", "nattch"] {
            assert!(is_uint(&s[k]), "{k}: {s}");
        }
        assert!(is_int(&s["cpid"]) && is_int(&s["lpid"]));
        assert!(uint_or_null(&s["attach_time"]) && uint_or_null(&s["detach_time"]));
        assert!(s["removed"].is_boolean());
        assert!(s["attached_pids"]
            .as_array()
            .is_some_and(|a| a.iter().all(is_int)));
        assert!(uint_or_null(&s["dsm_control"]));
        assert!(s["dsm_control"].is_null() || s["kind"] == "postgresql");
    }
    for s in sem_sets(v) {
        check_keys(s, SET_KEYS, "a semaphore set");
        check_common(s);
        assert!(is_uint(&s["nsems"]));
        assert!(uint_or_null(&s["op_time"]));
        assert!(s["marker"].is_null() || is_int(&s["marker"]));
        assert!(uint_or_null(&s["segment_id"]));
    }
}

// ---------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------

/// Waits until every process in `procs` has exited (zombies count).
fn wait_gone(procs: &[Proc]) {
    assert!(
        wait_until(Duration::from_secs(15), || procs
            .iter()
            .all(|p| !p.is_running())),
        "processes still running: {:?}",
        procs.iter().filter(|p| p.is_running()).collect::<Vec<_>>()
    );
}

/// A forked child that attaches segment `id` read-only and sleeps until
/// killed: a backend that outlived its postmaster. Killed on drop.
struct Attacher {
    pid: i32,
}

impl Attacher {
    fn attach(id: i32) -> Attacher {
        // SAFETY: the child only makes system calls (shmat, pause, _exit):
        // nothing that could wait on a lock another thread of this
        // process held at the fork.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: in the child: shmat picks the address itself (null),
            // read-only; pause and _exit take no pointers; it never returns
            // to the test harness.
            unsafe {
                if libc::shmat(id, std::ptr::null(), libc::SHM_RDONLY) as isize == -1 {
                    libc::_exit(1);
                }
                loop {
                    libc::pause();
                }
            }
        }
        let a = Attacher { pid };
        assert!(
            wait_until(Duration::from_secs(10), || tusk_ipc::shm::stat(id)
                .is_ok_and(|_| {
                    fs::read_to_string(format!("/proc/{pid}/maps"))
                        .is_ok_and(|m| m.contains("/SYSV"))
                })),
            "the child never attached segment {id}"
        );
        a
    }

    fn kill(&mut self) {
        if self.pid > 0 {
            signal(self.pid, libc::SIGKILL);
            let mut st = 0;
            // SAFETY: reaping our own child.
            unsafe { libc::waitpid(self.pid, &mut st, 0) };
            self.pid = 0;
        }
    }
}

impl Drop for Attacher {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The harness's log of the last postmaster start only.
fn last_start_log(srv: &TestServer) -> String {
    let log = srv.log();
    let marker = "=== e2e harness: starting postmaster";
    match log.rfind(marker) {
        Some(i) => log[i..].to_string(),
        None => log,
    }
}

fn small() -> Opts {
    Opts::new()
        .set("shared_buffers", "8MB")
        .set("max_connections", "10")
}

// ---------------------------------------------------------------------
// tusk
// ---------------------------------------------------------------------

scenario! {
    /// Issue 5, deliverable 3: a start reclaims the proven orphans of its own
    /// data directory at any key, not only at its own. The server is killed
    /// on one port and started again on another, so its old segment and
    /// semaphore sets sit at keys the new start never tries.
    fn start_on_another_port_reclaims_the_old_keys() {
        let mut srv = TestServer::start(small());
        let old_port = srv.port();
        let (old_key, old_id) = srv.shmem_key_id().expect("postmaster.pid line 7");
        let old_pm = srv.pm_pid();
        let old_sets: Vec<i32> = sets_of(&list_json(), old_pm)
            .iter()
            .map(|s| s["id"].as_i64().expect("set id") as i32)
            .collect();
        assert!(!old_sets.is_empty(), "the server made no semaphore sets");
        let children = srv.children();
        srv.kill9_postmaster();
        wait_gone(&children);
        assert!(has_segment(&list_json(), old_id), "the killed server's segment is gone already");

        // Another port: other keys.
        let new_port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("addr").port()
        };
        assert_ne!(new_port, old_port);
        let sock = srv.tmp_dir().join("sock-new");
        fs::create_dir(&sock).expect("socket dir");
        let log_path = srv.tmp_dir().join("second-start.log");
        let log = fs::File::create(&log_path).expect("log file");
        let mut args = srv.server_args(new_port, &sock);
        args.push("--allow-root".into());
        let mut child = Command::new(TUSK)
            .args(&args)
            .stderr(log)
            .stdout(Stdio::null())
            .spawn()
            .expect("start tusk on the new port");
        // The killed server's postmaster.pid also says "ready": wait for
        // the new postmaster's own.
        let new_pm = child.id().to_string();
        let ready = wait_until(Duration::from_secs(30), || {
            fs::read_to_string(srv.data_dir().join("postmaster.pid")).is_ok_and(|t| {
                t.lines().next() == Some(new_pm.as_str())
                    && t.lines().nth(7).is_some_and(|l| l.trim() == "ready")
            })
        });
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        assert!(ready, "the second start never became ready:\n{text}");
        assert!(
            tusk_ipc::shm::stat(old_id).is_err(),
            "segment {old_id} (key {old_key}) of the killed server survived the start:\n{text}"
        );
        for id in &old_sets {
            assert!(tusk_ipc::sem::stat(*id).is_err(), "semaphore set {id} survived the start:\n{text}");
        }
        assert!(
            text.contains(&format!("removed leftover shared memory block (key {old_key}")),
            "the start did not say what it reclaimed:\n{text}"
        );
        signal(child.id() as i32, libc::SIGINT);
        let st = child.wait().expect("wait for the second server");
        assert_eq!(st.code(), Some(0), "{}", fs::read_to_string(&log_path).unwrap_or_default());
        let v = list_json();
        assert!(segments(&v).is_empty() && sem_sets(&v).is_empty(), "objects left: {v}");
    }
}

scenario! {
    /// SIGKILL of the postmaster (its children follow): the segment and sets
    /// are tusk orphans with evidence; `clean -D` removes them and the stale
    /// postmaster.pid and socket files; the next start needs nothing more.
    fn killed_tusk_server_is_orphaned_and_clean_d_removes_everything() {
        let mut srv = TestServer::start(small());
        let pm = srv.pm_pid();
        let port = srv.port();
        let (key, id) = srv.shmem_key_id().expect("postmaster.pid line 7");
        let data = fs::canonicalize(srv.data_dir()).unwrap();
        let sock = srv.socket_dir().join(format!(".s.PGSQL.{port}"));
        let sock_lock = srv.socket_dir().join(format!(".s.PGSQL.{port}.lock"));
        assert!(sock.exists() && sock_lock.exists());
        let children = srv.children();
        srv.kill9_postmaster();
        wait_gone(&children);

        let v = list_json();
        let seg = segment(&v, id);
        assert_eq!(seg["key_decimal"], key);
        assert_eq!((seg["kind"].as_str(), seg["state"].as_str()), (Some("tusk"), Some("orphan")), "{seg:#}");
        assert_eq!(seg["label"], "tusk orphan");
        assert_eq!(seg["creator_pid"], pm);
        assert_eq!(seg["creator"], "gone");
        assert_eq!(seg["nattch"], 0);
        assert_eq!(seg["port"], port);
        assert_eq!(seg["postmaster_pid"], Value::Null);
        assert_eq!(seg["data_directory"]["path"], data.display().to_string());
        assert_eq!(seg["data_directory"]["exists"], true);
        assert_evidence(&seg, "attach count 0");
        assert_evidence(&seg, &format!("creator PID {pm} does not exist"));
        assert_evidence(&seg, "postmaster.pid is stale");
        let sets = sets_of(&v, pm);
        assert!(!sets.is_empty(), "the server's semaphore sets are listed: {v:#}");
        for s in &sets {
            assert_eq!((s["kind"].as_str(), s["state"].as_str()), (Some("tusk"), Some("orphan")), "{s:#}");
            assert_eq!(s["marker"], tusk_ipc::TUSK_SEMA_MAGIC);
            assert_eq!(s["segment_id"], id);
            assert_evidence(s, &format!("creator PID {pm} does not exist"));
            assert_evidence(s, "has no process attached");
        }
        let text = list_text();
        assert!(text.contains("tusk orphan, data directory"), "{text}");
        assert!(text.contains("evidence: attach count 0"), "{text}");
        assert!(text.contains(&format!("0x{:08x}", key as u32)), "{text}");

        // The plan, then no removal without --yes off a terminal.
        let dry = clean_dir(&data, &["--dry-run"]);
        assert_eq!(dry.code(), Some(0), "{}", dry.describe());
        assert!(dry.stdout.contains(&format!("would remove shared memory segment key 0x{:08x} ID {id}", key as u32)), "{}", dry.describe());
        assert!(dry.stdout.contains("postmaster.pid\": stale"), "{}", dry.describe());
        let no = clean_dir(&data, &[]);
        assert_eq!(no.code(), Some(2), "{}", no.describe());
        assert!(no.stderr.contains("--yes"), "{}", no.describe());
        assert!(has_segment(&list_json(), id), "nothing was removed");

        let out = clean_dir(&data, &["--yes"]);
        assert_eq!(out.code(), Some(0), "{}", out.describe());
        assert!(out.stdout.contains(&format!("removed shared memory segment key 0x{:08x} ID {id}", key as u32)), "{}", out.describe());
        assert!(out.stdout.contains("attach count 0"), "the reasons are printed: {}", out.describe());
        let v = list_json();
        assert!(!has_segment(&v, id));
        for s in &sets {
            assert!(!has_set(&v, s["id"].as_i64().unwrap() as i32), "set {s} removed");
        }
        assert!(!srv.lock_file().exists(), "stale postmaster.pid removed");
        assert!(!sock.exists() && !sock_lock.exists(), "stale socket and lock removed");

        // Nothing left to do; a start needs nothing more.
        let again = clean_dir(&data, &["--yes"]);
        assert_eq!(again.code(), Some(0), "{}", again.describe());
        assert!(again.stdout.contains("nothing to remove"), "{}", again.describe());
        srv.start_postmaster();
        let log = last_start_log(&srv);
        for leftover in ["stale lock file", "leftover", "still in use"] {
            assert!(!log.contains(leftover), "the restart met \"{leftover}\":\n{log}");
        }
        srv.stop_with(libc::SIGINT);
        srv.assert_no_ipc_left();
    }
}

scenario! {
    /// A running server: listed live with its data directory, postmaster
    /// PID and port; every kind of clean refuses or leaves it alone.
    fn live_tusk_server_is_listed_live_and_clean_refuses() {
        let mut srv = TestServer::start(small());
        let pm = srv.pm_pid();
        let (_, id) = srv.shmem_key_id().expect("line 7");
        let data = fs::canonicalize(srv.data_dir()).unwrap();

        let v = list_json();
        let seg = segment(&v, id);
        assert_eq!((seg["kind"].as_str(), seg["state"].as_str()), (Some("tusk"), Some("live")), "{seg:#}");
        assert_eq!(seg["postmaster_pid"], pm);
        assert_eq!(seg["creator"], "running");
        assert_eq!(seg["port"], srv.port());
        assert_eq!(seg["data_directory"]["path"], data.display().to_string());
        assert!(seg["attached_pids"].as_array().unwrap().iter().any(|p| p == pm), "{seg:#}");
        let sets = sets_of(&v, pm);
        assert!(!sets.is_empty());
        assert!(sets.iter().all(|s| s["state"] == "live" && s["postmaster_pid"] == pm), "{sets:#?}");
        let text = list_text();
        assert!(text.contains(&format!("tusk live, data directory \"{}\"", data.display())), "{text}");
        assert!(text.contains(&format!("postmaster PID {pm}, port {}", srv.port())), "{text}");

        let out = clean_dir(&data, &["--yes"]);
        assert_eq!(out.code(), Some(1), "{}", out.describe());
        assert!(out.stderr.contains("refused") && out.stderr.contains(&format!("runs (PID {pm}")), "{}", out.describe());
        let out = tusk_ipc(&["clean", "--all-orphans", "--yes"]);
        assert_eq!(out.code(), Some(0), "{}", out.describe());
        assert!(out.stdout.contains("nothing to remove"), "{}", out.describe());
        let out = tusk_ipc(&["clean", "--force-id", &format!("shm:{id}"), "--yes"]);
        assert_eq!(out.code(), Some(1), "{}", out.describe());
        assert!(out.stderr.contains("still attached") && out.stderr.contains(&format!("PID {pm}")), "{}", out.describe());
        let set_id = sets[0]["id"].to_string();
        let out = tusk_ipc(&["clean", "--force-id", &format!("sem:{set_id}"), "--yes"]);
        assert_eq!(out.code(), Some(1), "{}", out.describe());

        let v = list_json();
        assert!(has_segment(&v, id) && sets.iter().all(|s| has_set(&v, s["id"].as_i64().unwrap() as i32)));
        assert!(srv.is_running());
        let _ = srv.connect();
        srv.stop_with(libc::SIGINT);
        srv.assert_no_ipc_left();
    }
}

scenario! {
    /// Backends outliving a killed postmaster keep the segment attached:
    /// in use, refused by every clean, naming the process; removable once
    /// it is gone.
    fn attached_segment_is_refused_naming_the_process() {
        let mut srv = TestServer::start(small());
        let pm = srv.pm_pid();
        let (_, id) = srv.shmem_key_id().expect("line 7");
        let data = fs::canonicalize(srv.data_dir()).unwrap();
        let mut survivor = Attacher::attach(id);
        let children = srv.children();
        srv.kill9_postmaster();
        wait_gone(&children);

        let v = list_json();
        let seg = segment(&v, id);
        assert_eq!((seg["kind"].as_str(), seg["state"].as_str()), (Some("tusk"), Some("in-use")), "{seg:#}");
        assert_eq!(seg["creator"], "gone");
        assert_eq!(seg["nattch"], 1);
        assert_eq!(seg["attached_pids"], serde_json::json!([survivor.pid]));
        for s in sets_of(&v, pm) {
            assert_eq!(s["state"], "in-use", "its server's segment is attached: {s:#}");
        }

        let who = format!("PID {}", survivor.pid);
        for args in [vec!["--yes"], vec!["--dry-run"]] {
            let out = clean_dir(&data, &args);
            assert_eq!(out.code(), Some(1), "{}", out.describe());
            assert!(out.stderr.contains("still attached") && out.stderr.contains(&who), "{}", out.describe());
        }
        let out = tusk_ipc(&["clean", "--all-orphans", "--yes"]);
        assert_eq!(out.code(), Some(1), "{}", out.describe());
        assert!(out.stderr.contains(&who), "{}", out.describe());
        let out = tusk_ipc(&["clean", "--force-id", &format!("shm:{id}"), "--yes"]);
        assert_eq!(out.code(), Some(1), "{}", out.describe());
        assert!(out.stderr.contains(&who), "{}", out.describe());
        assert!(has_segment(&list_json(), id), "nothing was removed");
        assert!(srv.lock_file().exists(), "postmaster.pid stays while its segment is in use");

        survivor.kill();
        let out = clean_dir(&data, &["--yes"]);
        assert_eq!(out.code(), Some(0), "{}", out.describe());
        let v = list_json();
        assert!(!has_segment(&v, id) && sets_of(&v, pm).is_empty(), "{v:#}");
        assert!(!srv.lock_file().exists());
    }
}

// ---------------------------------------------------------------------
// Foreign objects
// ---------------------------------------------------------------------

/// A System V semaphore set of `n` semaphores holding `value`, made the
/// way any program would.
fn foreign_set(key: i32, n: i32, value: i32) -> i32 {
    // SAFETY: plain system calls.
    let id = unsafe { libc::semget(key, n, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
    assert!(id >= 0, "semget: {}", std::io::Error::last_os_error());
    for i in 0..n {
        // SAFETY: SETVAL takes the value as the fourth argument.
        let rc = unsafe { libc::semctl(id, i, libc::SETVAL, value as libc::c_ulong) };
        assert_eq!(rc, 0);
    }
    id
}

scenario! {
    /// Segments and sets with arbitrary content are foreign: listed, never
    /// removed by -D or --all-orphans, removed only by --force-id, and
    /// then never while attached or waited on.
    fn foreign_objects_are_removed_only_by_force_id() {
        // A segment full of noise, kept attached by this process.
        let noisy = tusk_ipc::shm::Segment::create(0x1234_5678, 8192).expect("segment");
        for i in 0..8192 {
            // SAFETY: i < 8192, the segment's size; attached read-write.
            unsafe { *noisy.base().add(i) = (i * 131 + 7) as u8 };
        }
        // One with a few bytes and nobody attached.
        let small_id = {
            let s = tusk_ipc::shm::Segment::create(0x1234_5679, 16).expect("segment");
            // SAFETY: 12 bytes into a 16-byte segment attached read-write.
            unsafe { std::ptr::copy_nonoverlapping(b"not a server".as_ptr(), s.base(), 12) };
            s.id()
        };
        // Semaphore sets: ipcmk's, and one whose last semaphore holds 42.
        let ipcmk = Command::new("ipcmk").args(["-S", "3"]).output().expect("ipcmk");
        assert!(ipcmk.status.success(), "{ipcmk:?}");
        let ipcmk_id: i32 = String::from_utf8_lossy(&ipcmk.stdout)
            .rsplit(':')
            .next()
            .and_then(|s| s.trim().parse().ok())
            .expect("ipcmk prints the id");
        let set42 = foreign_set(0x1234_5680, 4, 42);

        let v = list_json();
        for s in segments(&v).iter().chain(sem_sets(&v)) {
            assert_eq!((s["kind"].as_str(), &s["state"]), (Some("foreign"), &Value::Null), "{s:#}");
            assert_eq!(s["label"], "foreign");
            assert!(!strings(&s["notes"]).is_empty(), "a foreign object says why: {s:#}");
        }
        assert_eq!(segments(&v).len(), 2);
        assert_eq!(sem_sets(&v).len(), 2);
        let with_42 = sem_sets(&v).iter().find(|s| s["id"] == set42).expect("listed");
        assert_eq!(with_42["marker"], 42);
        assert!(list_text().contains("2 segment(s), 2 semaphore set(s): 4 foreign"));

        let out = tusk_ipc(&["clean", "--all-orphans", "--yes"]);
        assert_eq!(out.code(), Some(0), "{}", out.describe());
        assert!(out.stdout.contains("nothing to remove"), "{}", out.describe());
        let empty = tempfile::tempdir().unwrap();
        let out = clean_dir(empty.path(), &["--yes"]);
        assert_eq!(out.code(), Some(0), "{}", out.describe());
        assert!(out.stdout.contains("nothing to remove"), "{}", out.describe());
        assert_eq!(segments(&list_json()).len() + sem_sets(&list_json()).len(), 4, "nothing was removed");

        // Bad and ambiguous ids are usage errors; unknown ones are refused.
        assert_eq!(tusk_ipc(&["clean", "--force-id", "twelve", "--yes"]).code(), Some(2));
        if has_set(&v, small_id) {
            let out = tusk_ipc(&["clean", "--force-id", &small_id.to_string(), "--yes"]);
            assert_eq!(out.code(), Some(2), "{}", out.describe());
            assert!(out.stderr.contains(&format!("shm:{small_id}")), "{}", out.describe());
        }
        let out = tusk_ipc(&["clean", "--force-id", "shm:999999", "--yes"]);
        assert_eq!(out.code(), Some(1), "{}", out.describe());

        // Named: removed, unless attached.
        let out = tusk_ipc(&["clean", "--force-id", &format!("shm:{small_id}"), "--yes"]);
        assert_eq!(out.code(), Some(0), "{}", out.describe());
        assert!(!has_segment(&list_json(), small_id));
        let me = format!("PID {}", std::process::id());
        let out = tusk_ipc(&["clean", "--force-id", &format!("shm:{}", noisy.id()), "--yes"]);
        assert_eq!(out.code(), Some(1), "{}", out.describe());
        assert!(out.stderr.contains("still attached") && out.stderr.contains(&me), "{}", out.describe());
        assert!(has_segment(&list_json(), noisy.id()));

        // A set someone sleeps on is refused; once nobody waits, removed.
        // SAFETY: the child makes one blocking semop and _exits.
        let waiter = unsafe { libc::fork() };
        assert!(waiter >= 0);
        if waiter == 0 {
            let mut op = libc::sembuf { sem_num: 0, sem_op: -1, sem_flg: 0 };
            // SAFETY: one local sembuf; the child then _exits, never
            // returning to the harness.
            unsafe {
                libc::semop(ipcmk_id, &mut op, 1);
                libc::_exit(0);
            }
        }
        assert!(wait_until(Duration::from_secs(10), || {
            // SAFETY: GETNCNT reads a count; the fourth argument is unused.
            let waiting = unsafe { libc::semctl(ipcmk_id, 0, libc::GETNCNT, 0 as libc::c_ulong) };
            waiting == 1
        }));
        let out = tusk_ipc(&["clean", "--force-id", &format!("sem:{ipcmk_id}"), "--yes"]);
        signal(waiter, libc::SIGKILL);
        // SAFETY: reaps our own child; no status pointer.
        unsafe { libc::waitpid(waiter, std::ptr::null_mut(), 0) };
        assert_eq!(out.code(), Some(1), "{}", out.describe());
        assert!(out.stderr.contains("waiting on it"), "{}", out.describe());
        let out = tusk_ipc(&["clean", "--force-id", &format!("sem:{ipcmk_id}"), "--force-id", &format!("sem:{set42}"), "--yes"]);
        assert_eq!(out.code(), Some(0), "{}", out.describe());
        let v = list_json();
        assert!(sem_sets(&v).is_empty(), "{v:#}");
        assert_eq!(segments(&v).len(), 1, "only the attached segment is left");
        let _ = noisy.remove();
    }
}

// ---------------------------------------------------------------------
// PostgreSQL 15
// ---------------------------------------------------------------------

/// A PostgreSQL 15 cluster owned by `postgres` in a temporary directory,
/// and the server processes started on it; every one is killed on drop.
struct PgCluster {
    dir: tempfile::TempDir,
    servers: Vec<Child>,
    pids: Vec<i32>,
}

impl PgCluster {
    fn init() -> PgCluster {
        let dir = tempfile::Builder::new()
            .prefix("tusk-ipc-pg-")
            .tempdir()
            .expect("temp dir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        require_os_user("postgres");
        let initdb = require_pg_program("initdb").display().to_string();
        let chown = Command::new("chown")
            .arg("postgres:")
            .arg(dir.path())
            .status()
            .expect("chown");
        assert!(chown.success());
        let c = PgCluster {
            dir,
            servers: Vec::new(),
            pids: Vec::new(),
        };
        let out = run_bounded(
            Command::new("runuser")
                .args(["-u", "postgres", "--", &initdb])
                .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
                .arg(c.data()),
            Duration::from_secs(180),
        );
        assert_eq!(out.code(), Some(0), "initdb: {}", out.describe());
        c
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn pidfile_line(&self, n: usize) -> Option<String> {
        fs::read_to_string(self.data().join("postmaster.pid"))
            .ok()?
            .lines()
            .nth(n - 1)
            .map(str::to_string)
    }

    /// Starts `postgres` with System V shared memory, Unix socket only,
    /// and waits until postmaster.pid says ready; returns the postmaster PID.
    fn start(&mut self) -> i32 {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let postgres = require_pg_program("postgres").display().to_string();
        let child = Command::new("runuser")
            .args(["-u", "postgres", "--", &postgres, "-D"])
            .arg(self.data())
            .args(["-p", "5432", "-k"])
            .arg(self.dir.path())
            .args([
                "-c",
                "listen_addresses=",
                "-c",
                "shared_memory_type=sysv",
                "-c",
                "dynamic_shared_memory_type=posix",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("runuser postgres");
        self.servers.push(child);
        // A killed server's postmaster.pid says "ready" too: wait for a new PID.
        let old = self.pids.clone();
        let pid = wait_for(Duration::from_secs(60), || {
            let pid = self.pidfile_line(1)?.trim().parse::<i32>().ok()?;
            (self.pidfile_line(8)?.trim() == "ready" && !old.contains(&pid)).then_some(pid)
        })
        .unwrap_or_else(|| panic!("PostgreSQL did not become ready:\n{}", self.log()));
        self.pids.push(pid);
        pid
    }

    /// kill -9 of the postmaster and all its children at once.
    fn kill9_all(&mut self, pm: i32) {
        let mut procs = children_of(pm);
        procs.extend(Proc::of(pm));
        for p in &procs {
            signal(p.pid, libc::SIGKILL);
        }
        wait_gone(&procs);
        for c in &mut self.servers {
            let _ = c.wait();
        }
        self.servers.clear();
    }

    /// A fast shutdown (SIGINT), waited for.
    fn stop(&mut self, pm: i32) {
        signal(pm, libc::SIGINT);
        let procs: Vec<Proc> = Proc::of(pm).into_iter().collect();
        wait_gone(&procs);
        for c in &mut self.servers {
            let _ = c.wait();
        }
        self.servers.clear();
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        for &pm in &self.pids {
            let mut procs = children_of(pm);
            procs.extend(Proc::of(pm));
            for p in procs {
                signal(p.pid, libc::SIGKILL);
            }
        }
        for c in &mut self.servers {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("===== PostgreSQL log =====\n{}", self.log());
        }
    }
}

fn pg_segments(v: &Value) -> Vec<Value> {
    segments(v)
        .iter()
        .filter(|s| s["kind"] == "postgresql")
        .cloned()
        .collect()
}

fn dev_shm_postgres_files() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    names.retain(|n| n.starts_with("PostgreSQL."));
    names.sort();
    names
}

scenario! {
    /// PostgreSQL 15 with shared_memory_type = sysv: live while it runs;
    /// after kill -9 of all its processes an orphan; `clean --all-orphans`
    /// removes it (and its dynamic shared memory), and PostgreSQL starts
    /// again on that data directory.
    fn postgresql_segment_live_then_orphan_then_cleaned() {
        let mut pg = PgCluster::init();
        let data = fs::canonicalize(pg.data()).unwrap();
        let pm = pg.start();

        let v = list_json();
        let segs = pg_segments(&v);
        assert_eq!(segs.len(), 1, "{v:#}");
        let seg = &segs[0];
        let id = seg["id"].as_i64().unwrap() as i32;
        assert_eq!(seg["state"], "live", "{seg:#}");
        assert_eq!(seg["label"], "PostgreSQL live");
        assert_eq!(seg["creator_pid"], pm);
        assert_eq!(seg["postmaster_pid"], pm);
        assert_eq!(seg["data_directory"]["path"], data.display().to_string());
        assert_eq!(seg["port"], 5432);
        assert!(seg["nattch"].as_u64().unwrap() >= 1);
        assert!(seg["bytes"].as_u64().unwrap() > 1 << 20, "the whole region is the SysV segment");
        let dsm = seg["dsm_control"].as_u64().expect("PostgreSQL 15 records its DSM control segment");
        assert!(dev_shm_postgres_files().contains(&format!("PostgreSQL.{dsm}")));
        assert!(sem_sets(&v).is_empty(), "PostgreSQL on Linux uses POSIX semaphores: {v:#}");
        let text = list_text();
        assert!(text.contains(&format!("PostgreSQL live, data directory \"{}\"", data.display())), "{text}");
        assert!(text.contains("PostgreSQL on Linux uses POSIX semaphores"), "{text}");
        let out = clean_dir(&data, &["--yes"]);
        assert_eq!(out.code(), Some(1), "a live PostgreSQL refuses -D: {}", out.describe());

        pg.kill9_all(pm);
        let v = list_json();
        let seg = segment(&v, id);
        assert_eq!((seg["kind"].as_str(), seg["state"].as_str()), (Some("postgresql"), Some("orphan")), "{seg:#}");
        assert_eq!(seg["label"], "PostgreSQL orphan");
        assert_eq!(seg["nattch"], 0);
        assert!(seg["creator"] == "gone" || seg["creator"] == "zombie", "{seg:#}");
        assert_evidence(&seg, "attach count 0");
        assert_evidence(&seg, &format!("creator PID {pm}"));
        assert!(list_text().contains("PostgreSQL orphan"));

        let out = tusk_ipc(&["clean", "--all-orphans", "--yes"]);
        assert_eq!(out.code(), Some(0), "{}", out.describe());
        assert!(out.stdout.contains(&format!("removed shared memory segment key {} ID {id} (PostgreSQL orphan", seg["key"].as_str().unwrap())), "{}", out.describe());
        assert!(!has_segment(&list_json(), id));
        assert!(dev_shm_postgres_files().is_empty(), "its dynamic shared memory went with it: {:?}", dev_shm_postgres_files());

        let pm2 = pg.start();
        let v = list_json();
        let segs = pg_segments(&v);
        assert_eq!(segs.len(), 1, "{v:#}");
        assert_eq!((segs[0]["state"].as_str(), &segs[0]["postmaster_pid"]), (Some("live"), &Value::from(pm2)));
        pg.stop(pm2);
        assert!(pg_segments(&list_json()).is_empty(), "a clean stop removes PostgreSQL's segment");
        let _ = std::io::stdout().flush();
    }
}

/// The help is complete and bad arguments exit 2 (no namespace needed:
/// nothing is looked at or removed).
#[test]
fn help_and_usage_errors() {
    let help = tusk_ipc(&["help"]);
    assert_eq!(help.code(), Some(0), "{}", help.describe());
    for word in [
        "list",
        "clean",
        "orphan",
        "in-use",
        "foreign",
        "Exit status",
    ] {
        assert!(
            help.stdout.contains(word),
            "tusk ipc help lacks \"{word}\":\n{}",
            help.stdout
        );
    }
    let list = tusk_ipc(&["list", "--help"]);
    assert_eq!(list.code(), Some(0));
    assert!(
        list.stdout.contains("--json") && list.stdout.contains("POSIX semaphores"),
        "{}",
        list.stdout
    );
    let clean = tusk_ipc(&["clean", "--help"]);
    assert_eq!(clean.code(), Some(0));
    for word in [
        "--pgdata",
        "--all-orphans",
        "--force-id",
        "--dry-run",
        "--yes",
        "postmaster.pid",
        "Exit status",
    ] {
        assert!(
            clean.stdout.contains(word),
            "tusk ipc clean --help lacks \"{word}\":\n{}",
            clean.stdout
        );
    }
    for bad in [
        vec!["clean"],
        vec!["clean", "-D", "/tmp", "--all-orphans"],
        vec!["clean", "--force-id", "shm:x"],
        vec!["clean", "-D", "/nonexistent/tusk/data"],
        vec!["list", "--bogus"],
        vec!["frobnicate"],
    ] {
        let out = tusk_ipc(&bad);
        assert_eq!(out.code(), Some(2), "tusk ipc {bad:?}: {}", out.describe());
        assert!(!out.stderr.is_empty(), "tusk ipc {bad:?} says why");
    }
}
