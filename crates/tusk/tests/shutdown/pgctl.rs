//! PostgreSQL 15's own pg_ctl drives tusk through the `tusk-postgres`
//! entry point (a link to the tusk binary; run under that name, tusk
//! takes PostgreSQL's server arguments), and `tusk ctl` runs without
//! `--allow-root`.
//!
//! pg_ctl refuses to run as root, so as root these tests run pg_ctl — and
//! therefore tusk — as Debian's `postgres` user (runuser), in a directory
//! tree that user can reach: a temporary directory opened to 0755 with a
//! subdirectory owned by `postgres` for the data directory, the socket
//! and the log. Not as root, they run everything as the current user.

use crate::harness::free_port;
use crate::harness::{assert_no_reports, assert_told, session, Resources};
use crate::util::{children_of, dead_pid, run_bounded, signal, wait_until, Finished, Proc, TUSK};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tusk_storage::control::{ControlFileData, DbState};

const PG_CTL: &str = "/usr/lib/postgresql/15/bin/pg_ctl";
const RUN_AS: &str = "postgres";

/// A cluster owned by the unprivileged user, driven by pg_ctl.
struct PgCluster {
    tmp: tempfile::TempDir,
    data: PathBuf,
    sock: PathBuf,
    log: PathBuf,
    link: PathBuf,
    port: u16,
    pm_pids: Vec<i32>,
}

fn user_ids(name: &str) -> Option<(u32, u32)> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: getpwnam returns a pointer into static storage or null; the
    // fields are copied out at once (tests do not call it concurrently
    // with other passwd lookups that matter).
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    if pw.is_null() {
        return None;
    }
    // SAFETY: non-null, so it points to the passwd entry getpwnam filled;
    // two integers are copied out before any other lookup.
    Some(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

impl PgCluster {
    /// None (with a note) when the machine cannot run these tests.
    fn new() -> Option<PgCluster> {
        if !Path::new(PG_CTL).exists() {
            eprintln!("skipped: {PG_CTL} is not installed");
            return None;
        }
        let root = crate::util::running_as_root();
        let tmp = tempfile::Builder::new()
            .prefix("tusk-pgctl-")
            .tempdir()
            .expect("temp dir");
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod 0755 temp dir");
        let home = tmp.path().join("pg");
        std::fs::create_dir(&home).expect("mkdir");
        let bin = tmp.path().join("bin");
        std::fs::create_dir(&bin).expect("mkdir bin");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod bin");
        if root {
            let Some((uid, gid)) = user_ids(RUN_AS) else {
                eprintln!(
                    "skipped: running as root and there is no \"{RUN_AS}\" user to run pg_ctl as"
                );
                return None;
            };
            std::os::unix::fs::chown(&home, Some(uid), Some(gid)).expect("chown to postgres");
        }
        // The link pg_ctl runs as its server. If the unprivileged user
        // cannot reach the built binary, it gets a copy it can.
        let mut target = PathBuf::from(TUSK);
        let c = PgCluster {
            tmp,
            data: home.join("data"),
            sock: home.clone(),
            log: home.join("server.log"),
            link: bin.join("tusk-postgres"),
            port: free_port(),
            pm_pids: Vec::new(),
        };
        if root && c.as_user(&["test", "-x", TUSK]).code() != Some(0) {
            let copy = bin.join("tusk");
            std::fs::copy(TUSK, &copy).expect("copy tusk for the unprivileged user");
            std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))
                .expect("chmod copy");
            target = copy;
        }
        std::os::unix::fs::symlink(&target, &c.link).expect("symlink tusk-postgres");
        let out = c.as_user(&[
            &target.display().to_string(),
            "init",
            "-D",
            &c.data.display().to_string(),
            "-U",
            "postgres",
        ]);
        assert_eq!(
            out.code(),
            Some(0),
            "tusk init as {RUN_AS}: {}",
            out.describe()
        );
        Some(c)
    }

    /// Runs a command as the unprivileged user (as root) or as ourselves.
    fn as_user(&self, argv: &[&str]) -> Finished {
        let mut cmd = if crate::util::running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", RUN_AS, "--"]).args(argv);
            c
        } else {
            let mut c = Command::new(argv[0]);
            c.args(&argv[1..]);
            c
        };
        crate::util::clean_pg_env(&mut cmd);
        cmd.env_remove("PGDATA")
            .env_remove("PGCTLTIMEOUT")
            .current_dir(self.tmp.path());
        run_bounded(&mut cmd, Duration::from_secs(120))
    }

    fn server_options(&self) -> String {
        format!(
            "-p {} -k {} -h 127.0.0.1 -B 1024 -c max_connections=10",
            self.port,
            self.sock.display()
        )
    }

    /// `pg_ctl -D DATA -p tusk-postgres ARGS`.
    fn pg_ctl(&mut self, args: &[&str]) -> Finished {
        let (d, p) = (
            self.data.display().to_string(),
            self.link.display().to_string(),
        );
        let mut argv = vec![PG_CTL, "-D", &d, "-p", &p];
        argv.extend_from_slice(args);
        let out = self.as_user(&argv);
        self.adopt();
        out
    }

    fn start(&mut self) -> Finished {
        let (l, o) = (self.log.display().to_string(), self.server_options());
        self.pg_ctl(&["-l", &l, "-o", &o, "start"])
    }

    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    fn adopt(&mut self) {
        if let Some(p) = self.pid() {
            if !self.pm_pids.contains(&p) {
                self.pm_pids.push(p);
            }
        }
    }

    fn server_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.adopt();
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
                if !wait_until(Duration::from_secs(2), || !k.is_running()) {
                    signal(k.pid, libc::SIGKILL);
                }
            }
        }
        let first = self.port as i64 * 1000 + 1;
        let range = first..first + 100;
        let data_id = std::fs::metadata(&self.data).ok().map(|m| {
            (
                std::os::unix::fs::MetadataExt::dev(&m),
                std::os::unix::fs::MetadataExt::ino(&m),
            )
        });
        for s in tusk_ipc::list_segments().unwrap_or_default() {
            if range.contains(&(s.key as u32 as i64))
                && matches!(
                    tusk_ipc::keys::judge_segment(s.id, data_id),
                    tusk_ipc::SegmentState::TuskUnattached(_)
                        | tusk_ipc::SegmentState::TuskAttached(..)
                )
            {
                eprintln!("pgctl harness: removing segment {} left behind", s.id);
                let _ = tusk_ipc::shm::remove_id(s.id);
            }
        }
        for s in tusk_ipc::list_sem_sets().unwrap_or_default() {
            if range.contains(&(s.key as u32 as i64))
                && matches!(tusk_ipc::keys::judge_sem_set(s.id), tusk_ipc::keys::SemSetState::Tusk { creator_pid, .. } if self.pm_pids.contains(&creator_pid))
            {
                eprintln!("pgctl harness: removing semaphore set {} left behind", s.id);
                let _ = tusk_ipc::sem::remove_id(s.id);
            }
        }
        if std::thread::panicking() {
            eprintln!(
                "===== server log ({}) =====\n{}",
                self.log.display(),
                self.server_log()
            );
        }
    }
}

#[track_caller]
fn ok(out: &Finished, what: &str, log: &str) {
    assert_eq!(
        out.code(),
        Some(0),
        "{what}: {}\n===== server log =====\n{log}",
        out.describe()
    );
}

#[test]
fn postgresql_pg_ctl_starts_reloads_restarts_and_stops_tusk_in_every_mode() {
    let _serial = crate::serial_read();
    let Some(mut c) = PgCluster::new() else {
        return;
    };
    let out = c.start();
    ok(&out, "pg_ctl start", &c.server_log());
    assert!(out.stdout.contains("server started"), "{}", out.describe());
    let pid = c.pid().expect("postmaster.pid");
    // tusk itself, unprivileged, started under the tusk-postgres name.
    let argv0 = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
    let argv0 =
        String::from_utf8_lossy(argv0.split(|&b| b == 0).next().unwrap_or(&[])).into_owned();
    assert!(
        argv0.ends_with("tusk-postgres"),
        "the server runs as {argv0:?}"
    );
    if crate::util::running_as_root() {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        let uid = status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .unwrap_or_default()
            .to_string();
        assert!(
            !uid.split_whitespace().skip(1).any(|u| u == "0"),
            "the server runs as root: {uid}"
        );
    }
    assert_eq!(
        session(c.port, "pg_ctl").ok("SHOW shared_buffers"),
        vec![vec![Some("8MB".to_string())]]
    );

    let out = c.pg_ctl(&["status"]);
    ok(&out, "pg_ctl status", &c.server_log());
    assert!(
        out.stdout
            .contains(&format!("pg_ctl: server is running (PID: {pid})")),
        "{}",
        out.describe()
    );

    let out = c.pg_ctl(&["reload"]);
    ok(&out, "pg_ctl reload", &c.server_log());
    assert!(out.stdout.contains("server signaled"), "{}", out.describe());
    assert!(
        wait_until(Duration::from_secs(10), || c
            .server_log()
            .contains("received SIGHUP, reloading configuration files")),
        "{}",
        c.server_log()
    );

    // restart: stop (fast), then start with the options in postmaster.opts.
    let out = c.pg_ctl(&["-l", &c.log.display().to_string(), "restart"]);
    ok(&out, "pg_ctl restart", &c.server_log());
    assert!(
        out.stdout.contains("server stopped") && out.stdout.contains("server started"),
        "{}",
        out.describe()
    );
    let pid2 = c.pid().expect("postmaster.pid after restart");
    assert_ne!(pid, pid2);
    assert_eq!(
        session(c.port, "after-restart").ok("SHOW shared_buffers"),
        vec![vec![Some("8MB".to_string())]]
    );

    // stop -m smart with no session; fast with a session in a transaction;
    // immediate with an idle session.
    for mode in ["smart", "fast", "immediate"] {
        if c.pid().is_none() {
            let out = c.start();
            ok(&out, "pg_ctl start", &c.server_log());
        }
        let mut s = (mode != "smart").then(|| session(c.port, mode));
        if mode == "fast" {
            s.as_mut().expect("session").ok("BEGIN");
        }
        let inventory = Resources::capture(&c.data, &c.sock, c.port);
        let out = c.pg_ctl(&["-m", mode, "stop"]);
        ok(&out, &format!("pg_ctl stop -m {mode}"), &c.server_log());
        assert!(out.stdout.contains("server stopped"), "{}", out.describe());
        inventory.assert_all_gone(&c.server_log());
        let state = ControlFileData::read(&c.data).expect("pg_control").state();
        match mode {
            "fast" => {
                let msgs = s.take().expect("session").read_to_eof();
                assert_told(
                    &msgs,
                    b'E',
                    "FATAL",
                    "57P01",
                    "terminating connection due to administrator command",
                );
                assert_eq!(state, DbState::Shutdowned);
            }
            "immediate" => {
                let msgs = s.take().expect("session").read_to_eof();
                assert_told(
                    &msgs,
                    b'N',
                    "WARNING",
                    "57P01",
                    "terminating connection due to immediate shutdown command",
                );
                assert_eq!(state, DbState::InProduction);
            }
            _ => assert_eq!(state, DbState::Shutdowned),
        }
    }
    let out = c.pg_ctl(&["status"]);
    assert_eq!(
        out.code(),
        Some(3),
        "pg_ctl status of a stopped server: {}",
        out.describe()
    );
    assert!(
        out.stdout.contains("no server running"),
        "{}",
        out.describe()
    );
    // After the immediate stop, the next start recovers.
    let out = c.start();
    ok(
        &out,
        "pg_ctl start after an immediate stop",
        &c.server_log(),
    );
    assert!(
        c.server_log()
            .contains("not properly shut down; automatic recovery in progress"),
        "{}",
        c.server_log()
    );
    let out = c.pg_ctl(&["stop"]);
    ok(&out, "pg_ctl stop (default mode)", &c.server_log());
}

/// pg_ctl promote reads pg_control itself (CRC and state): on a running
/// tusk it must say the server is not a standby, not that the control file
/// is corrupt; on a stopped one it must say no server is running.
#[test]
fn pg_ctl_promote_says_not_in_standby_mode() {
    let _serial = crate::serial_read();
    let mut c = PgCluster::new().unwrap_or_else(|| {
        panic!("pg_ctl promote needs {PG_CTL} and (as root) a \"{RUN_AS}\" user")
    });
    let out = c.start();
    ok(&out, "pg_ctl start", &c.server_log());
    let out = c.pg_ctl(&["promote"]);
    assert_eq!(out.code(), Some(1), "pg_ctl promote: {}", out.describe());
    assert!(
        out.stderr
            .contains("cannot promote server; server is not in standby mode"),
        "{}",
        out.describe()
    );
    assert!(
        !out.stderr.contains("corrupt"),
        "pg_ctl could not read pg_control: {}",
        out.describe()
    );
    // The server is unaffected.
    assert_eq!(
        session(c.port, "after promote").ok("SELECT 1"),
        vec![vec![Some("1".to_string())]]
    );
    let out = c.pg_ctl(&["stop"]);
    ok(&out, "pg_ctl stop", &c.server_log());
    assert_eq!(
        ControlFileData::read(&c.data).expect("pg_control").state(),
        DbState::Shutdowned
    );
}

#[test]
fn tusk_ctl_runs_unprivileged() {
    let _serial = crate::serial_read();
    let Some(mut c) = PgCluster::new() else {
        return;
    };
    let tusk = std::fs::read_link(&c.link)
        .expect("link target")
        .display()
        .to_string();
    let (d, l, o) = (
        c.data.display().to_string(),
        c.log.display().to_string(),
        c.server_options(),
    );
    let out = c.as_user(&[&tusk, "ctl", "start", "-D", &d, "-l", &l, "-o", &o]);
    c.adopt();
    ok(&out, "tusk ctl start (unprivileged)", &c.server_log());
    let out = c.as_user(&[&tusk, "ctl", "status", "-D", &d]);
    ok(&out, "tusk ctl status", &c.server_log());
    let mut s = session(c.port, "unprivileged");
    assert_no_reports(&s.query("SELECT 1"));
    let inventory = Resources::capture(&c.data, &c.sock, c.port);
    let out = c.as_user(&[
        &tusk,
        "ctl",
        "stop",
        "-D",
        &d,
        "--ladder",
        "smart:1s,fast:20s",
    ]);
    assert_eq!(
        out.code(),
        Some(5),
        "an escalated ladder exits 5: {}",
        out.describe()
    );
    assert_told(
        &s.read_to_eof(),
        b'E',
        "FATAL",
        "57P01",
        "terminating connection due to administrator command",
    );
    inventory.assert_all_gone(&c.server_log());
    let out = c.as_user(&[&tusk, "ctl", "status", "-D", &d]);
    assert_eq!(out.code(), Some(3), "{}", out.describe());
    let _ = dead_pid();
}
