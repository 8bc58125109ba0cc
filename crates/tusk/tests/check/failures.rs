//! The real server against lowered kernel limits, one refusal at a time,
//! each in its own IPC namespace: the FATAL names the call, the size, the
//! limit with its current value and the command that raises it; the exit
//! code is 1; the namespace holds nothing afterwards. Where the report
//! suggests smaller settings, a server started with them fits.

use crate::support::*;
use std::process::Command;

const SHMMAX: &str = "/proc/sys/kernel/shmmax";
const SHMALL: &str = "/proc/sys/kernel/shmall";
const SHMMNI: &str = "/proc/sys/kernel/shmmni";
const SEM: &str = "/proc/sys/kernel/sem";

fn server_argv(c: &Cluster, settings: &[(&str, &str)]) -> Vec<String> {
    let mut v = vec![TUSK.to_string()];
    v.extend(c.server_args(free_port(), settings));
    v
}

/// Runs the server with `settings` in a namespace under `sysctls` and
/// `pre`, and expects a clean refusal: exit code 1, nothing left in the
/// namespace. Its FATAL report.
fn refused(
    c: &Cluster,
    sysctls: &[(&str, &str)],
    settings: &[(&str, &str)],
    pre: Option<Prep>,
) -> String {
    let r = run_in_namespace(sysctls, &server_argv(c, settings), pre);
    assert_eq!(r.exit, Some(1), "{}", r.describe());
    r.assert_nothing_left();
    fatal(&r)
}

/// The server's FATAL report: its lines from FATAL on.
fn fatal(r: &NsRun) -> String {
    let err = &r.finished.stderr;
    let start = err
        .find("FATAL:  ")
        .unwrap_or_else(|| panic!("no FATAL: {}", r.describe()));
    err[start..].to_string()
}

fn assert_all(text: &str, words: &[&str]) {
    for w in words {
        assert!(text.contains(w), "missing {w:?} in:\n{text}");
    }
}

/// The value the report suggests for a setting ("shared_buffers = 24MB").
fn suggested(text: &str, setting: &str) -> Option<String> {
    let rest = text.split(&format!("{setting} = ")).nth(1)?;
    Some(rest.split([' ', ',', ')']).next()?.to_string())
}

/// Starts the server under the same lowered limits with one changed
/// setting, and checks that it becomes ready; then stops it.
fn fits_with(c: &Cluster, sysctls: &[(&str, &str)], settings: &[(&str, &str)]) {
    starts(c, namespace_command(sysctls, &server_argv(c, settings)));
}

/// Spawns `cmd` (a server), checks that it becomes ready, then stops it.
fn starts(c: &Cluster, cmd: Command) {
    let mut s = Server::spawn(c, cmd, None);
    s.wait_ready();
    s.stop();
}

fn segment_size(c: &Cluster, settings: &[(&str, &str)]) -> u64 {
    c.print("shared_memory_size_bytes", settings)
        .parse()
        .unwrap()
}

#[test]
fn shmmax() {
    let c = Cluster::new();
    let size = segment_size(&c, &[]);
    let f = refused(&c, &[(SHMMAX, "33554432")], &[], None);
    assert_all(
        &f,
        &[
            "FATAL:  could not create shared memory segment: Invalid argument",
            &format!("size={size}, 03600)"),
            "shmget(key=",
            "kernel.shmmax",
            "now 33554432 bytes (32 MB)",
            &format!("sysctl -w kernel.shmmax={}", size.next_multiple_of(4096)),
            &format!(
                "\"kernel.shmmax = {}\" in /etc/sysctl.d/30-tusk.conf",
                size.next_multiple_of(4096)
            ),
            "(now 128MB)",
        ],
    );
    let sb = suggested(&f, "shared_buffers")
        .unwrap_or_else(|| panic!("no shared_buffers suggestion: {f}"));
    let mc = suggested(&f, "max_connections");
    assert!(
        mc.is_none(),
        "no max_connections makes 128MB of buffers fit in 32 MB: {f}"
    );
    // The way out works: the suggested shared_buffers starts under the same limit.
    fits_with(&c, &[(SHMMAX, "33554432")], &[("shared_buffers", &sb)]);
}

#[test]
fn shmall() {
    let c = Cluster::new();
    let size = segment_size(&c, &[]);
    let pages = size.div_ceil(4096);
    let f = refused(&c, &[(SHMALL, "4096")], &[], None);
    assert_all(
        &f,
        &[
            "FATAL:  could not create shared memory segment: No space left on device",
            &format!("size={size}, 03600)"),
            &format!("The segment needs {pages} pages of 4096 bytes"),
            "kernel.shmall",
            "is now 4096 pages",
            &format!("sysctl -w kernel.shmall={pages}"),
            "does not mean that the disk is full",
        ],
    );
    let sb = suggested(&f, "shared_buffers").unwrap_or_else(|| panic!("no suggestion: {f}"));
    fits_with(&c, &[(SHMALL, "4096")], &[("shared_buffers", &sb)]);
}

#[test]
fn shmmni() {
    let c = Cluster::new();
    let f = refused(&c, &[(SHMMNI, "0")], &[], None);
    assert_all(
        &f,
        &[
            "FATAL:  could not create shared memory segment: No space left on device",
            "SHMMNI (kernel.shmmni) is now 0",
            "sysctl -w kernel.shmmni=1",
            "tusk ipc",
        ],
    );
    assert!(
        !f.contains("shared_buffers = "),
        "no setting helps with SHMMNI: {f}"
    );
}

#[test]
fn semmni() {
    let c = Cluster::new();
    // 100 connections + 4 auxiliary: 7 sets; the namespace allows 3.
    let f = refused(
        &c,
        &[(SEM, "32000 1024000000 500 3")],
        &[("max_connections", "100")],
        None,
    );
    assert_all(
        &f,
        &[
            "FATAL:  could not create semaphores: No space left on device",
            ", 17, 03600).",
            "semget(",
            "This configuration needs 7 semaphore sets of 17 (119 semaphores)",
            "SEMMNI (semaphore sets, the fourth value of kernel.sem) is 3",
            "from \"32000 1024000000 500 3\" to \"32000 1024000000 500 7\"",
            "sysctl -w kernel.sem=\"32000 1024000000 500 7\"",
            "\"kernel.sem = 32000 1024000000 500 7\" in /etc/sysctl.d/30-tusk.conf",
            "max_connections = 44 (now 100)",
        ],
    );
    assert!(
        !f.contains("shared_buffers = "),
        "shared_buffers does not change semaphores: {f}"
    );
    fits_with(
        &c,
        &[(SEM, "32000 1024000000 500 3")],
        &[("max_connections", "44")],
    );
}

#[test]
fn semmns() {
    let c = Cluster::new();
    let f = refused(
        &c,
        &[(SEM, "32000 60 500 32000")],
        &[("max_connections", "100")],
        None,
    );
    assert_all(
        &f,
        &[
            "FATAL:  could not create semaphores: No space left on device",
            "SEMMNS (semaphores in all, the second value of kernel.sem) is 60",
            "sysctl -w kernel.sem=\"32000 119 500 32000\"",
            "max_connections = 44 (now 100)",
        ],
    );
    fits_with(
        &c,
        &[(SEM, "32000 60 500 32000")],
        &[("max_connections", "44")],
    );
}

#[test]
fn semmsl() {
    let c = Cluster::new();
    let f = refused(&c, &[(SEM, "10 32000 500 32000")], &[], None);
    assert_all(
        &f,
        &[
            "FATAL:  could not create semaphores: Invalid argument",
            ", 17, 03600).",
            "SEMMSL (semaphores per set, the first value of kernel.sem), now 10",
            "sysctl -w kernel.sem=\"17 32000 500 32000\"",
            "No setting of tusk makes its sets smaller",
        ],
    );
}

#[test]
fn semvmx_by_erange() {
    // Linux's SEMVMX is a constant above tusk's marker value; a filter
    // makes SETVAL of the marker (8874, then one semop to 8875) fail with
    // ERANGE, as a kernel with a smaller SEMVMX would.
    let c = Cluster::new();
    let filter = fail_syscall(
        libc::SYS_semctl,
        libc::ERANGE,
        &[(2, 0xff, libc::SETVAL as u32), (3, 0xffff_ffff, 8874)],
    );
    let f = refused(&c, &[], &[], Some(Prep::Seccomp(filter)));
    assert_all(
        &f,
        &[
            "SETVAL, 8874) failed: Numerical result out of range",
            "SEMVMX",
            "at least 8874",
        ],
    );
}

#[test]
fn enosys() {
    let c = Cluster::new();
    for (nr, call) in [(libc::SYS_shmget, "shmget"), (libc::SYS_semget, "semget")] {
        let filter = fail_syscall(nr, libc::ENOSYS, &[]);
        let r = run_in_namespace(&[], &server_argv(&c, &[]), Some(Prep::Seccomp(filter)));
        assert_eq!(r.exit, Some(1), "{call}: {}", r.describe());
        r.assert_nothing_left();
        let f = fatal(&r);
        assert_all(
            &f,
            &[
                "Function not implemented",
                &format!("The kernel does not provide {call}"),
                "CONFIG_SYSVIPC",
            ],
        );
    }
}

#[test]
fn mmap_beyond_the_address_space_limit() {
    // RLIMIT_AS of 1 GB and 2 GB of buffers in an anonymous mapping.
    let c = Cluster::new();
    let settings = [("shared_memory_type", "mmap"), ("shared_buffers", "2GB")];
    let gb: u64 = 1 << 30;
    let f = refused(
        &c,
        &[],
        &settings,
        Some(Prep::Rlimit(libc::RLIMIT_AS, gb, gb)),
    );
    assert_all(
        &f,
        &[
            "FATAL:  could not map anonymous shared memory: Cannot allocate memory",
            "PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0)",
            "RLIMIT_AS",
            "ulimit -v unlimited",
            "(now 2048MB)",
        ],
    );
    let sb = suggested(&f, "shared_buffers").unwrap_or_else(|| panic!("no suggestion: {f}"));
    let argv = server_argv(
        &c,
        &[("shared_memory_type", "mmap"), ("shared_buffers", &sb)],
    );
    let mut cmd = namespace_command(&[], &argv);
    Prep::Rlimit(libc::RLIMIT_AS, gb, gb).apply(&mut cmd);
    starts(&c, cmd);
}

#[test]
fn mmap_beyond_what_the_kernel_promises() {
    let c = Cluster::new();
    let mode: u64 = std::fs::read_to_string("/proc/sys/vm/overcommit_memory")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let settings = [("shared_memory_type", "mmap"), ("shared_buffers", "2TB")];
    if mode == 1 {
        // Mode 1 promises anything: the mapping succeeds and the server starts.
        starts(&c, namespace_command(&[], &server_argv(&c, &settings)));
        return;
    }
    let f = refused(&c, &[], &settings, None);
    assert_all(
        &f,
        &[
            "FATAL:  could not map anonymous shared memory: Cannot allocate memory",
            &format!("vm.overcommit_memory = {mode}"),
            "shared_buffers = ",
        ],
    );
}

#[test]
fn huge_pages_on_without_enough_huge_pages() {
    let c = Cluster::new();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let field = |name: &str| -> u64 {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|r| r.trim_start_matches(':').split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (free, rsvd, total) = (
        field("HugePages_Free"),
        field("HugePages_Rsvd"),
        field("HugePages_Total"),
    );
    let page_kb = field("Hugepagesize").max(2048);
    // More buffers than the free huge pages hold.
    let avail = free.saturating_sub(rsvd);
    let mb = (avail + 8) * page_kb / 1024;
    let sb = format!("{mb}MB");
    let settings = [
        ("shared_memory_type", "mmap"),
        ("huge_pages", "on"),
        ("shared_buffers", sb.as_str()),
    ];
    let f = refused(&c, &[], &settings, None);
    assert_all(
        &f,
        &[
            "FATAL:  could not map anonymous shared memory: Cannot allocate memory",
            "MAP_HUGETLB",
            &format!("huge pages of {page_kb} kB; the pool has {total} pages, {free} free"),
            "sysctl -w vm.nr_hugepages=",
            "huge_pages = try",
        ],
    );
    if avail == 0 {
        assert!(
            f.contains("No smaller shared_buffers or max_connections fits"),
            "{f}"
        );
    } else {
        assert!(f.contains("shared_buffers = "), "{f}");
    }
}

#[test]
fn huge_pages_on_with_sysv_is_refused() {
    let c = Cluster::new();
    let f = refused(&c, &[], &[("huge_pages", "on")], None);
    assert!(
        f.contains("huge pages not supported with the current shared_memory_type setting"),
        "{f}"
    );
}

#[test]
fn the_check_agrees_with_the_server() {
    // What tusk check calls a failure is what the server then refuses.
    let c = Cluster::new();
    let mut argv = vec![
        TUSK.to_string(),
        "check".into(),
        "-D".into(),
        path_str(&c.data),
        "--json".into(),
    ];
    let r = run_in_namespace(&[(SEM, "32000 1024000000 500 3")], &argv, None);
    assert_eq!(r.exit, Some(1), "{}", r.describe());
    let json: serde_json::Value =
        serde_json::from_str(r.finished.stdout.split("tusk-exit=").next().unwrap()).expect("JSON");
    assert_eq!(
        check_row(&json, "SEMMNI (kernel.sem, 4th)")["verdict"],
        "fail"
    );
    argv.truncate(1);
    argv.extend(c.server_args(free_port(), &[]));
    let r = run_in_namespace(&[(SEM, "32000 1024000000 500 3")], &argv, None);
    assert_eq!(r.exit, Some(1), "{}", r.describe());
    assert!(fatal(&r).contains("SEMMNI"), "{}", r.describe());
}

/// Issue 14 point 5: after a crash (postmaster and children SIGKILLed,
/// segment and semaphore set left), under limits that allow exactly one
/// segment and one semaphore set, `tusk check -D DIR` counts DIR's own
/// proven leftovers as reclaimable (and says so in the row), not as in
/// use, so it agrees with `tusk server`, which removes them and starts.
#[test]
fn check_after_a_crash_counts_the_directorys_leftovers_as_reclaimable() {
    let c = Cluster::new();
    let settings = [("max_connections", "10")];
    // In one namespace: start, crash, check, start again, stop. Every wait
    // polls with a deadline (a server is ready when postmaster.pid names
    // it and says so: the crashed one's file says ready too); the trap
    // kills what is still running if the script stops half-way.
    let script = r#"
T="$1"; D="$2"; shift 2
KIDS=""; PM=""; PM2=""
trap 'kill -9 $PM $KIDS $PM2 2>/dev/null' EXIT
ready() {
  i=0
  while [ $i -lt 300 ]; do
    [ "$(sed -n 1p "$D/postmaster.pid" 2>/dev/null)" = "$1" ] &&
      sed -n 8p "$D/postmaster.pid" 2>/dev/null | grep -q '^ready' && return 0
    sleep 0.1; i=$((i+1))
  done
  echo "not ready" >&2; return 1
}
"$T" "$@" 1>&2 &
PM=$!
ready $PM || exit 3
KIDS=$(cat /proc/$PM/task/*/children)
[ -n "$KIDS" ] || { echo "no children" >&2; exit 3; }
kill -9 $PM $KIDS
wait $PM
for k in $KIDS; do
  i=0
  while kill -0 $k 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
done
echo '--- left by the crash'
cat /proc/sysvipc/shm /proc/sysvipc/sem
echo '--- check'
"$T" check -D "$D" -c max_connections=10 --json
echo "check-exit=$?"
echo '--- restart'
"$T" "$@" 1>&2 &
PM2=$!
ready $PM2 && echo "restart=ready"
kill -INT $PM2
wait $PM2
echo "restart-exit=$?"
"#;
    let mut argv = vec![
        "sh".to_string(),
        "-c".into(),
        script.into(),
        "sh".into(),
        TUSK.to_string(),
        path_str(&c.data),
    ];
    argv.extend(c.server_args(free_port(), &settings));
    let r = run_in_namespace(
        &[(SHMMNI, "1"), (SEM, "32000 1024000000 500 1")],
        &argv,
        None,
    );
    assert_eq!(r.exit, Some(0), "{}", r.describe());
    let out = &r.finished.stdout;
    let left = out
        .split("--- left by the crash")
        .nth(1)
        .and_then(|s| s.split("--- check").next())
        .unwrap_or_else(|| panic!("{}", r.describe()));
    assert!(
        left.lines().filter(|l| !l.trim().is_empty()).count() >= 4,
        "the crash left a segment and a semaphore set:\n{left}"
    );
    let json_text = out
        .split("--- check")
        .nth(1)
        .and_then(|s| s.split("check-exit=").next())
        .unwrap_or_else(|| panic!("{}", r.describe()));
    let json: serde_json::Value =
        serde_json::from_str(json_text).unwrap_or_else(|e| panic!("JSON: {e}\n{}", r.describe()));
    assert!(
        out.contains("check-exit=0"),
        "tusk check says the server cannot start:\n{}",
        serde_json::to_string_pretty(&json).unwrap()
    );
    assert_eq!(json["can_start"], true);
    for (param, text) in [
        ("kernel.shmmni", "1 + 0 in use + 1 reclaimable"),
        (
            "SEMMNI (kernel.sem, 4th)",
            "1 sets + 0 in use + 1 reclaimable",
        ),
    ] {
        let row = check_row(&json, param);
        assert_eq!(row["verdict"], "ok", "{row}");
        let needed = row["needed"].as_str().unwrap();
        assert!(
            needed.starts_with(text) && needed.contains("crashed server of this data directory"),
            "{param}: {needed}"
        );
    }
    // And the server agrees: it removes them and starts.
    assert!(
        out.contains("restart=ready") && out.contains("restart-exit=0"),
        "{}",
        r.describe()
    );
    assert!(
        r.finished
            .stderr
            .contains("removed leftover shared memory block"),
        "{}",
        r.describe()
    );
    r.assert_nothing_left();
}
