//! Process limits at start and the OOM killer: a lowered soft
//! RLIMIT_NOFILE is raised or refused clearly; the postmaster's and the
//! children's oom_score_adj are what the settings say.

use crate::support::*;
use std::process::Command;

fn server(c: &Cluster, settings: &[(&str, &str)], prep: Option<Prep>) -> Server {
    let port = free_port();
    let mut cmd = Command::new(TUSK);
    cmd.args(c.server_args(port, settings));
    if let Some(p) = prep {
        p.apply(&mut cmd);
    }
    Server::spawn(c, cmd, Some(port))
}

fn limits_line(pid: i32, name: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    text.lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("{name} in {text}"))
        .to_string()
}

fn oom_score_adj(pid: i32) -> i64 {
    std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn too_few_files_refuses_to_start_clearly() {
    let c = Cluster::new();
    let mut s = server(&c, &[], Some(Prep::Rlimit(libc::RLIMIT_NOFILE, 40, 40)));
    let code = s.wait_exit(STOP);
    let log = s.log();
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("FATAL:  insufficient file descriptors available to start server process"),
        "{log}"
    );
    let detail = log
        .lines()
        .find(|l| l.contains("DETAIL:  System allows "))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        detail.contains(", server needs at least 58, ")
            && detail.ends_with("files are already open."),
        "{detail}"
    );
    let allows: usize = detail
        .split("System allows ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(allows < 58, "{detail}");
    assert!(
        log.contains("ulimit -n 1000") && log.contains("LimitNOFILE=1000"),
        "{log}"
    );
    assert!(c.postmaster_pid_file().is_none(), "no lock file is left");
}

#[test]
fn a_low_soft_limit_is_raised_toward_the_hard_one() {
    let c = Cluster::new();
    let mut s = server(
        &c,
        &[("max_files_per_process", "500")],
        Some(Prep::Rlimit(libc::RLIMIT_NOFILE, 40, 4096)),
    );
    s.wait_ready();
    let pid = s.pid.unwrap();
    let line = limits_line(pid, "Max open files");
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!((f[3], f[4]), ("500", "4096"), "{line}");
    let log = s.log();
    assert!(
        log.contains(
            "raised the soft limit of open files (RLIMIT_NOFILE) from 40 to 500 (hard limit 4096)"
        ),
        "{log}"
    );
    // The start-up line shows each limit beside its need.
    let res = log
        .lines()
        .find(|l| l.contains("resources: "))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        res.contains("open files (RLIMIT_NOFILE) 500, raised from 40, hard 4096"),
        "{res}"
    );
    assert!(
        res.contains("kernel.shmmax") && res.contains("SEMMNI"),
        "{res}"
    );
    // Children inherit the raised limit.
    for child in s.children() {
        let l = limits_line(child, "Max open files");
        assert!(
            l.split_whitespace().nth(3) == Some("500"),
            "child {child}: {l}"
        );
    }
    s.stop();
}

#[test]
fn a_limit_below_max_files_per_process_is_used_as_it_is() {
    let c = Cluster::new();
    let mut s = server(
        &c,
        &[("max_files_per_process", "1000")],
        Some(Prep::Rlimit(libc::RLIMIT_NOFILE, 200, 200)),
    );
    s.wait_ready();
    let log = s.log();
    let res = log
        .lines()
        .find(|l| l.contains("resources: "))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        res.contains("open files (RLIMIT_NOFILE) 200, hard 200"),
        "{res}"
    );
    assert!(!log.contains("raised the soft limit"), "{log}");
    s.stop();
}

/// Whether this process may lower OOM scores (CAP_SYS_RESOURCE, bit 24 of
/// CapEff): the server started from here inherits it or not.
fn may_lower_oom_scores() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .unwrap()
        .trim();
    u64::from_str_radix(eff, 16).unwrap() & (1 << 24) != 0
}

fn connect(c: &Cluster) -> postgres::Client {
    let pidfile = std::fs::read_to_string(c.data.join("postmaster.pid")).unwrap();
    let port = pidfile.lines().nth(3).unwrap().trim().to_string();
    let mut client = postgres::Client::connect(
        &format!(
            "host={} port={port} user=postgres dbname=postgres",
            c.sock.display()
        ),
        postgres::NoTls,
    )
    .expect("connect");
    client.simple_query("SELECT 1").expect("query");
    client
}

#[test]
fn oom_scores_follow_the_settings() {
    // Raising a score is always permitted: the postmaster to 300, and
    // every child (a backend among them) back down to 100, which is not
    // below what the postmaster started with.
    let c = Cluster::new();
    let mut s = server(
        &c,
        &[
            ("postmaster_oom_score_adj", "300"),
            ("backend_oom_score_adj", "100"),
        ],
        None,
    );
    s.wait_ready();
    assert_eq!(oom_score_adj(s.pid.unwrap()), 300);
    let client = connect(&c);
    let children = s.children();
    assert!(
        children.len() >= 2,
        "a backend and the checkpointer at least: {children:?}"
    );
    for child in &children {
        assert_eq!(oom_score_adj(*child), 100, "child {child}");
    }
    drop(client);
    s.stop();
}

#[test]
fn the_default_protects_the_postmaster_where_permitted() {
    let c = Cluster::new();
    let mut s = server(&c, &[], None);
    s.wait_ready();
    let pm = s.pid.unwrap();
    let inherited = oom_score_adj(std::process::id() as i32);
    let log = s.log();
    let complaints = log
        .lines()
        .filter(|l| l.contains("could not set postmaster_oom_score_adj to -900"))
        .count();
    if may_lower_oom_scores() {
        assert_eq!(
            oom_score_adj(pm),
            -900,
            "postmaster_oom_score_adj's default"
        );
        assert_eq!(complaints, 0, "{log}");
    } else {
        // Not permitted here: one log line, the inherited score, and on.
        assert_eq!(oom_score_adj(pm), inherited);
        assert_eq!(complaints, 1, "{log}");
    }
    let client = connect(&c);
    for child in s.children() {
        assert_eq!(
            oom_score_adj(child),
            0,
            "child {child} is back to backend_oom_score_adj's default"
        );
    }
    drop(client);
    s.stop();
}

#[test]
fn without_permission_the_postmaster_logs_and_carries_on() {
    const CAP_SYS_RESOURCE: i32 = 24;
    let c = Cluster::new();
    let mut s = server(&c, &[], Some(Prep::DropCap(CAP_SYS_RESOURCE)));
    s.wait_ready();
    let pm = s.pid.unwrap();
    let inherited = oom_score_adj(std::process::id() as i32);
    assert_eq!(oom_score_adj(pm), inherited, "the score stays where it was");
    let log = s.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("could not set postmaster_oom_score_adj to -900"))
        .collect();
    assert_eq!(lines.len(), 1, "one log line: {log}");
    s.stop();
}
