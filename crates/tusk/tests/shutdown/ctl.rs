//! `tusk ctl`: pg_ctl's commands, messages and exit codes, and what it
//! adds — the ladder (exit 0 clean, 5 escalated, 1 timed out) and the
//! report of the sessions that hold a shutdown up, read from shared
//! memory (or, with shared_memory_type = mmap, the children from /proc).

use crate::harness::{assert_told, session, small, wait_sleeping, Cluster, Resources};
use crate::util::{run_bounded, signal, Opts, TUSK};
use std::process::Command;
use std::time::{Duration, Instant};
use tusk_storage::control::{ControlFileData, DbState};

const FAST_TEXT: &str = "terminating connection due to administrator command";

/// JSON lines of a `--json` run.
fn events(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

fn ctl_plain(args: &[&str]) -> crate::util::Finished {
    let mut cmd = Command::new(TUSK);
    cmd.arg("ctl")
        .args(args)
        .args(crate::harness::root_flag())
        .env_remove("PGDATA");
    run_bounded(&mut cmd, Duration::from_secs(30))
}

#[test]
fn status_exit_codes_0_3_4() {
    let _serial = crate::serial_read();
    let mut c = Cluster::init(small());
    let tmp = c.ts.tmp_dir().to_path_buf();
    // 4: no such directory, and a directory that is not a cluster.
    let out = ctl_plain(&["status", "-D", &tmp.join("nope").display().to_string()]);
    assert_eq!(out.code(), Some(4), "{}", out.describe());
    assert!(out.stderr.contains("does not exist"), "{}", out.describe());
    let out = ctl_plain(&["status", "-D", &tmp.display().to_string()]);
    assert_eq!(out.code(), Some(4), "{}", out.describe());
    assert!(
        out.stderr.contains("is not a database cluster directory"),
        "{}",
        out.describe()
    );
    // 3: a cluster with no server, also with a stale pid file.
    let out = c.ctl(&["status"]);
    assert_eq!(out.code(), Some(3), "{}", out.describe());
    assert_eq!(out.stdout.trim(), "tusk ctl: no server running");
    std::fs::write(
        c.data().join("postmaster.pid"),
        format!("{}\n", crate::util::dead_pid()),
    )
    .expect("stale pid file");
    let out = c.ctl(&["status"]);
    assert_eq!(out.code(), Some(3), "{}", out.describe());
    std::fs::remove_file(c.data().join("postmaster.pid")).expect("remove stale pid file");
    // 0: running, with the options line from postmaster.opts.
    c.spawn(&[], &[]);
    let out = c.ctl(&["status"]);
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    let mut lines = out.stdout.lines();
    assert_eq!(
        lines.next(),
        Some(format!("tusk ctl: server is running (PID: {})", c.pm_pid()).as_str())
    );
    let opts = lines.next().unwrap_or_default();
    assert!(
        opts.contains(&format!("\"{}\"", c.ts.port())),
        "options line {opts:?}"
    );
    let out = c.ctl(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("status --json");
    assert_eq!(v["running"], true);
    assert_eq!(v["pid"], c.pm_pid());
    assert_eq!(v["status"], "ready");
}

#[test]
fn start_status_reload_restart_stop() {
    let _serial = crate::serial_read();
    let mut c = Cluster::init(small());
    let port = c.ts.port();
    let out = c.ctl_start();
    assert_eq!(out.code(), Some(0), "{}\n{}", out.describe(), c.ts.log());
    assert!(out.stdout.contains("server started"), "{}", out.describe());
    let pid = c.pid_from_file().expect("postmaster.pid");
    // Detached: a session of its own, not our child, stdin not ours.
    let sid = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = sid[sid.rfind(')').expect(")") + 2..]
        .split_whitespace()
        .collect();
    assert_eq!(
        fields[3],
        pid.to_string(),
        "the server does not lead its own session (setsid)"
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/fd/0"))
            .expect("fd 0")
            .display()
            .to_string(),
        "/dev/null"
    );
    assert_eq!(
        session(port, "x").ok("SHOW shared_buffers"),
        vec![vec![Some("8MB".to_string())]]
    );

    let out = c.ctl(&["reload"]);
    assert_eq!(
        (out.code(), out.stdout.trim()),
        (Some(0), "server signaled"),
        "{}",
        out.describe()
    );
    assert!(crate::util::wait_until(Duration::from_secs(10), || c
        .ts
        .log()
        .contains("received SIGHUP, reloading configuration files")));

    // restart reuses the options of the last start (postmaster.opts).
    let out = c.ctl(&["restart"]);
    assert_eq!(out.code(), Some(0), "{}\n{}", out.describe(), c.ts.log());
    assert!(
        out.stdout.contains("server stopped") && out.stdout.contains("server started"),
        "{}",
        out.describe()
    );
    let pid2 = c.pid_from_file().expect("postmaster.pid after restart");
    c.adopt(pid2);
    assert_ne!(pid, pid2);
    assert_eq!(
        session(port, "y").ok("SHOW shared_buffers"),
        vec![vec![Some("8MB".to_string())]]
    );

    // restart -o replaces them.
    let out = c.ctl(&[
        "restart",
        "-o",
        &format!("{} -c statement_timeout=3s", c.server_options()),
    ]);
    assert_eq!(out.code(), Some(0), "{}\n{}", out.describe(), c.ts.log());
    c.adopt(c.pid_from_file().expect("postmaster.pid"));
    assert_eq!(
        session(port, "z").ok("SHOW statement_timeout"),
        vec![vec![Some("3s".to_string())]]
    );

    let inventory = Resources::capture(&c.data(), c.ts.socket_dir(), port);
    let out = c.ctl(&["stop"]);
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert_eq!(
        out.stdout.lines().last(),
        Some("server stopped"),
        "{}",
        out.describe()
    );
    inventory.assert_all_gone(&c.ts.log());
    assert_eq!(
        ControlFileData::read(&c.data())
            .expect("pg_control")
            .state(),
        DbState::Shutdowned
    );

    // Nothing to stop or reload now.
    for cmd in ["stop", "reload"] {
        let out = c.ctl(&[cmd]);
        assert_eq!(out.code(), Some(1), "{cmd}: {}", out.describe());
        assert!(
            out.stderr.contains("postmaster.pid\" does not exist")
                && out.stderr.contains("Is server running?"),
            "{}",
            out.describe()
        );
    }
    let out = c.ctl(&["status"]);
    assert_eq!(out.code(), Some(3), "{}", out.describe());
}

#[test]
fn start_failure_says_to_examine_the_log() {
    let _serial = crate::serial_read();
    let mut c = Cluster::init(small());
    let log = c.ts.tmp_dir().join("server.log");
    let started = Instant::now();
    let out = c.ctl(&[
        "start",
        "-l",
        &log.display().to_string(),
        "-o",
        &format!("{} -c no_such_setting=1", c.server_options()),
    ]);
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("tusk ctl: could not start server")
            && out.stderr.contains("Examine the log output."),
        "{}",
        out.describe()
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "start took {:?} to notice the server died",
        started.elapsed()
    );
    assert!(
        c.ts.log().contains("no_such_setting"),
        "the log does not name the bad setting:\n{}",
        c.ts.log()
    );
    assert!(c.pid_from_file().is_none());
    // -W does not wait.
    let out = c.ctl(&[
        "start",
        "-W",
        "-l",
        &log.display().to_string(),
        "-o",
        &c.server_options(),
    ]);
    assert_eq!(
        (out.code(), out.stdout.trim()),
        (Some(0), "server starting"),
        "{}",
        out.describe()
    );
    c.wait_ready();
    let out = c.ctl(&["stop", "-m", "immediate"]);
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert_eq!(
        ControlFileData::read(&c.data())
            .expect("pg_control")
            .state(),
        DbState::InProduction,
        "immediate: no shutdown checkpoint"
    );
}

#[test]
fn refuses_root_without_allow_root() {
    let _serial = crate::serial_read();
    crate::util::require_root("the refusal of root can only be observed as root");
    let c = Cluster::init(small());
    let mut cmd = Command::new(TUSK);
    cmd.args(["ctl", "status", "-D"]).arg(c.data());
    let out = run_bounded(&mut cmd, Duration::from_secs(30));
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("tusk ctl: cannot be run as root")
            && out.stderr.contains("--allow-root"),
        "{}",
        out.describe()
    );
}

#[test]
fn smart_stop_times_out_and_pgctltimeout_is_honoured() {
    let _serial = crate::serial_read();
    let mut c = Cluster::init(small());
    c.spawn(&[], &[]);
    let s = session(c.ts.port(), "idle-forever");
    let started = Instant::now();
    let out = c.ctl_env(&["stop", "-m", "smart"], &[("PGCTLTIMEOUT", "2")]);
    let took = started.elapsed();
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "PGCTLTIMEOUT=2 waited {took:?}"
    );
    assert!(
        out.stderr.contains("server does not shut down")
            && out.stderr.contains("HINT: The \"-m fast\" option"),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout.contains("application idle-forever"),
        "the report does not name the session:\n{}",
        out.describe()
    );
    // -t beats PGCTLTIMEOUT; the server is still in smart shutdown.
    let started = Instant::now();
    let out = c.ctl_env(
        &["stop", "-m", "smart", "-t", "1"],
        &[("PGCTLTIMEOUT", "30")],
    );
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(
        c.ts.lock_line(8).map(|l| l.trim().to_string()).as_deref(),
        Some("stopping")
    );
    let inventory = Resources::capture(&c.data(), c.ts.socket_dir(), c.ts.port());
    let out = c.ctl(&["stop", "-m", "fast"]);
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    inventory.assert_all_gone(&c.ts.log());
    drop(s);
}

#[test]
fn ladder_escalates_on_a_session_in_pg_sleep_and_reports_it() {
    let _serial = crate::serial_read();
    let mut c = Cluster::init(small());
    c.spawn(&[], &[]);
    let port = c.ts.port();
    let mut s = session(port, "blocker");
    // Inside an explicit transaction, so its age is defined whatever the
    // server does for the implicit transaction of a single statement.
    s.ok("BEGIN");
    s.send("SELECT pg_sleep(600)");
    wait_sleeping(&c.data(), s.pid);
    let inventory = Resources::capture(&c.data(), c.ts.socket_dir(), port);
    let out = c.ctl(&["stop", "--ladder", "smart:2s,fast:20s", "--json"]);
    assert_eq!(
        out.code(),
        Some(5),
        "escalated stop exits 5: {}",
        out.describe()
    );
    let ev = events(&out.stdout);
    let kinds: Vec<&str> = ev
        .iter()
        .map(|e| e["event"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds.first(), Some(&"signal"), "{kinds:?}");
    assert_eq!(ev[0]["signal"], "SIGTERM");
    let waiting: Vec<&serde_json::Value> = ev
        .iter()
        .filter(|e| e["event"] == "waiting" && e["mode"] == "smart")
        .collect();
    assert!(
        !waiting.is_empty(),
        "no report while the smart step waited: {kinds:?}"
    );
    let w = waiting.last().expect("a waiting event");
    assert_eq!(w["holders"]["source"], "shared_memory", "{w}");
    let sessions = w["holders"]["sessions"].as_array().expect("sessions");
    let b = sessions
        .iter()
        .find(|x| x["pid"] == s.pid)
        .unwrap_or_else(|| panic!("the blocker {} is not reported: {w}", s.pid));
    assert_eq!(b["application_name"], "blocker");
    assert_eq!(b["user"], crate::util::SUPERUSER);
    assert_eq!(b["database"], crate::util::DATABASE);
    assert_eq!(b["state"], "active");
    assert_eq!(b["wait_event"], "PgSleep");
    assert_eq!(b["query"], "SELECT pg_sleep(600)");
    assert!(b["xact_age_s"].as_f64().is_some_and(|a| a >= 1.0), "{b}");
    let esc = ev
        .iter()
        .find(|e| e["event"] == "escalate")
        .unwrap_or_else(|| panic!("no escalate event: {kinds:?}"));
    assert_eq!(
        (
            esc["from"].as_str(),
            esc["to"].as_str(),
            esc["signal"].as_str()
        ),
        (Some("smart"), Some("fast"), Some("SIGINT"))
    );
    let last = ev.last().expect("events");
    assert_eq!(
        (
            last["event"].as_str(),
            last["result"].as_str(),
            last["exit_code"].as_u64()
        ),
        (Some("result"), Some("escalated"), Some(5))
    );
    assert_told(&s.read_to_eof(), b'E', "FATAL", "57P01", FAST_TEXT);
    inventory.assert_all_gone(&c.ts.log());
}

#[test]
fn ladder_reports_an_idle_session_as_lines_and_can_time_out() {
    let _serial = crate::serial_read();
    let mut c = Cluster::init(small());
    c.spawn(&[], &[]);
    let port = c.ts.port();
    let mut s = session(port, "idler");
    s.ok("BEGIN");
    // Only a smart step: it runs out, exit 1 (timed out), the server stays in smart shutdown.
    let out = c.ctl(&["stop", "--ladder", "smart:1500ms"]);
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("server does not shut down"),
        "{}",
        out.describe()
    );
    assert!(c.ts.lock_line(8).is_some_and(|l| l.trim() == "stopping"));
    // Smart then fast: escalated, and the report names the session.
    let out = c.ctl(&["stop", "--ladder", "smart:1500ms,fast:20s"]);
    assert_eq!(out.code(), Some(5), "{}", out.describe());
    let text = &out.stdout;
    assert!(text.contains(&format!("PID {}", s.pid)), "{text}");
    assert!(
        text.contains("application idler")
            && text.contains("state idle in transaction")
            && text.contains("xact "),
        "{text}"
    );
    assert!(
        text.contains("escalating to fast shutdown (SIGINT)"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("server stopped"), "{text}");
    assert_told(&s.read_to_eof(), b'E', "FATAL", "57P01", FAST_TEXT);
}

#[test]
fn ladder_without_blockers_is_clean_and_bad_ladders_are_refused() {
    let _serial = crate::serial_read();
    let mut c = Cluster::init(small());
    for (ladder, why) in [
        ("fast:1s,smart:1s", "only escalates"),
        ("smart,fast", "needs a time limit"),
        ("smart:1x", "unknown unit"),
        ("soft:1s", "unknown mode"),
    ] {
        let out = c.ctl(&["stop", "--ladder", ladder]);
        assert_eq!(out.code(), Some(1), "{ladder}: {}", out.describe());
        assert!(out.stderr.contains(why), "{ladder}: {}", out.describe());
    }
    c.spawn(&[], &[]);
    let out = c.ctl(&["stop", "--ladder", "smart:10s,fast:10s,immediate"]);
    assert_eq!(
        out.code(),
        Some(0),
        "nothing held the smart step: {}",
        out.describe()
    );
    assert_eq!(
        ControlFileData::read(&c.data())
            .expect("pg_control")
            .state(),
        DbState::Shutdowned
    );
}

#[test]
fn with_mmap_shared_memory_the_report_lists_children_from_proc() {
    let _serial = crate::serial_read();
    let mut c = Cluster::init(small().set("shared_memory_type", "mmap"));
    c.spawn(&[], &[]);
    let s = session(c.ts.port(), "hidden");
    let out = c.ctl(&["stop", "--ladder", "smart:1500ms,fast:20s", "--json"]);
    assert_eq!(out.code(), Some(5), "{}", out.describe());
    let ev = events(&out.stdout);
    let w = ev
        .iter()
        .rfind(|e| e["event"] == "waiting" && e["mode"] == "smart")
        .unwrap_or_else(|| panic!("no report: {}", out.stdout));
    assert_eq!(w["holders"]["source"], "proc", "{w}");
    assert!(
        w["holders"]["details_unavailable"]
            .as_str()
            .is_some_and(|t| t.contains("mmap")),
        "{w}"
    );
    let kids = w["holders"]["children"].as_array().expect("children");
    assert!(
        kids.iter().any(|k| k["pid"] == s.pid),
        "the session's backend {} is not among {kids:?}",
        s.pid
    );
    // Each child is named as `ps` shows it (its process title).
    let command = |pid: i32| {
        kids.iter()
            .find(|k| k["pid"] == pid)
            .and_then(|k| k["command"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let backend = command(s.pid);
    assert!(
        backend.starts_with("tusk: postgres postgres 127.0.0.1(") && backend.ends_with(") idle"),
        "{backend:?} in {kids:?}"
    );
    assert!(
        kids.iter().any(|k| k["command"] == "tusk: checkpointer"),
        "no checkpointer among {kids:?}"
    );
    drop(s);
}

#[test]
fn kill_sends_a_named_signal() {
    let _serial = crate::serial_read();
    let mut c = Cluster::init(small());
    c.spawn(&[], &[]);
    let mut s = session(c.ts.port(), "target");
    let out = ctl_plain(&["kill", "TERM", &s.pid.to_string()]);
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert_told(&s.read_to_eof(), b'E', "FATAL", "57P01", FAST_TEXT);
    let out = ctl_plain(&["kill", "STOP", "1"]);
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("unrecognized signal name"),
        "{}",
        out.describe()
    );
    let out = ctl_plain(&["kill", "HUP", &crate::util::dead_pid().to_string()]);
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("could not send signal"),
        "{}",
        out.describe()
    );
    assert!(signal(c.pm_pid(), 0));
}

#[test]
fn help_lists_commands_and_exit_codes() {
    let mut cmd = Command::new(TUSK);
    cmd.args(["ctl", "--help"]);
    let out = run_bounded(&mut cmd, Duration::from_secs(30));
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    for word in [
        "start",
        "stop",
        "restart",
        "reload",
        "status",
        "kill",
        "--ladder",
        "--json",
        "PGCTLTIMEOUT",
        "Exit codes",
        "5  stop/restart --ladder",
    ] {
        assert!(
            out.stdout.contains(word),
            "--help lacks {word:?}:\n{}",
            out.stdout
        );
    }
    let _ = Opts::new();
}
