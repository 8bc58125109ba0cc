//! Before the server runs: refusing root, refusing bad settings with a
//! message that says what was wrong and what is allowed, and `-C`, which
//! must print the size the server really asks the kernel for.

use crate::util::{require_root, simple_value, Opts, TestServer};
use std::time::Duration;

#[test]
fn root_is_refused_without_allow_root() {
    require_root("the refusal of root can only be observed as root");
    let srv = TestServer::init(Opts::new());
    let args = srv.server_args(srv.port(), srv.socket_dir());
    let out = srv.run_tusk(&args, Duration::from_secs(20));
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("\"root\" execution"),
        "{}",
        out.describe()
    );
    assert!(out.stderr.contains("not permitted"), "{}", out.describe());
    assert!(
        out.stderr.contains("--allow-root"),
        "the message tells how to override: {}",
        out.describe()
    );
    assert!(
        !srv.lock_file().exists(),
        "a refused start must not leave postmaster.pid"
    );
    srv.assert_no_ipc_left();
}

/// Each bad setting stops the start: exit code non-zero, no lock file, no
/// IPC, and stderr names the setting, the value and what is allowed.
#[test]
fn bad_settings_are_refused() {
    let srv = TestServer::init(Opts::new());
    struct Case {
        setting: &'static str,
        /// Fragments stderr must contain.
        expect: &'static [&'static str],
    }
    let cases = [
        Case {
            setting: "max_connections=abc",
            expect: &["max_connections", "\"abc\"", "integer", "262143"],
        },
        Case {
            setting: "shared_buffers=1XB",
            expect: &["shared_buffers", "\"1XB\"", "kB", "MB", "GB"],
        },
        Case {
            setting: "port=70000",
            expect: &["port", "70000", "65535"],
        },
        Case {
            setting: "no_such_setting=1",
            expect: &[
                "unrecognized configuration parameter \"no_such_setting\"",
                "no_such_setting=1",
            ],
        },
        Case {
            setting: "huge_pages=maybe",
            expect: &["huge_pages", "\"maybe\"", "off", "on", "try"],
        },
    ];
    for case in &cases {
        let mut args = srv.server_args(srv.port(), srv.socket_dir());
        args.push("--allow-root".into());
        args.push("-c".into());
        args.push(case.setting.into());
        let out = srv.run_tusk(&args, Duration::from_secs(20));
        assert!(
            out.status.is_some(),
            "-c {}: the server started instead of refusing: {}",
            case.setting,
            out.describe()
        );
        assert_ne!(
            out.code(),
            Some(0),
            "-c {}: {}",
            case.setting,
            out.describe()
        );
        for f in case.expect {
            assert!(
                out.stderr.contains(f),
                "-c {}: stderr lacks {f:?}: {}",
                case.setting,
                out.describe()
            );
        }
        assert!(
            !srv.lock_file().exists(),
            "-c {}: postmaster.pid left behind",
            case.setting
        );
        srv.assert_no_ipc_left();
    }

    // postgresql.conf: a syntax error and a bad value, each named by file and line.
    let conf = srv.data_dir().join("postgresql.conf");
    let original = std::fs::read_to_string(&conf).expect("postgresql.conf");
    let line_no = original.lines().count() + 1;
    for (line, expect) in [
        (
            "max_connections = 10 20",
            vec!["postgresql.conf:", "syntax error", "\"20\""],
        ),
        (
            "max_connections = lots",
            vec!["postgresql.conf:", "max_connections", "\"lots\"", "integer"],
        ),
        (
            "shared_buffers = '16 parsecs'",
            vec!["postgresql.conf:", "shared_buffers", "16 parsecs", "kB"],
        ),
    ] {
        std::fs::write(&conf, format!("{original}{line}\n")).expect("write postgresql.conf");
        let mut args = srv.server_args(srv.port(), srv.socket_dir());
        args.push("--allow-root".into());
        let out = srv.run_tusk(&args, Duration::from_secs(20));
        assert!(
            out.status.is_some(),
            "{line}: the server started: {}",
            out.describe()
        );
        assert_ne!(out.code(), Some(0), "{line}: {}", out.describe());
        for f in expect
            .iter()
            .chain(std::iter::once(&format!(":{line_no}").as_str()))
        {
            assert!(
                out.stderr.contains(f),
                "postgresql.conf line {line:?}: stderr lacks {f:?}: {}",
                out.describe()
            );
        }
        assert!(
            !srv.lock_file().exists(),
            "{line}: postmaster.pid left behind"
        );
        srv.assert_no_ipc_left();
    }
    std::fs::write(&conf, original).expect("restore postgresql.conf");
}

/// `-C shared_memory_size[_bytes]` prints what the server will allocate:
/// the same settings give a segment of exactly that size.
#[test]
fn print_shared_memory_size() {
    let mut srv = TestServer::init(
        Opts::new()
            .set("shared_buffers", "24MB")
            .set("max_connections", "7"),
    );
    let print = |name: &str| -> u64 {
        let mut args = srv.server_args(srv.port(), srv.socket_dir());
        args.push("--allow-root".into());
        args.push("-C".into());
        args.push(name.into());
        let out = srv.run_tusk(&args, Duration::from_secs(20));
        assert_eq!(out.code(), Some(0), "-C {name}: {}", out.describe());
        out.stdout
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("-C {name} must print an integer: {}", out.describe()))
    };
    let mb = print("shared_memory_size");
    let bytes = print("shared_memory_size_bytes");
    assert!(
        bytes > 24 * 1024 * 1024,
        "24MB of buffers alone exceed that: {bytes}"
    );
    assert_eq!(
        mb,
        bytes.div_ceil(1024 * 1024),
        "shared_memory_size is shared_memory_size_bytes in MB, rounded up"
    );
    assert!(!srv.lock_file().exists(), "-C must not start a server");

    srv.start_postmaster();
    let (_, id) = srv.shmem_key_id().expect("line 7 of postmaster.pid");
    let info = tusk_ipc::shm::stat(id).unwrap_or_else(|e| panic!("shmctl({id}, IPC_STAT): {e}"));
    assert_eq!(info.size, bytes, "the running server's segment size");
    let mut c = srv.connect();
    assert_eq!(
        simple_value(&mut c, "SHOW shared_memory_size"),
        Some(format!("{mb}MB"))
    );
}

/// The size and resident bytes of System V segment `id`, from
/// /proc/sysvipc/shm (columns `size` and `rss`, both in bytes): what the
/// segment holds in memory, whichever process touched it.
fn sysv_size_and_rss(id: i32) -> (u64, u64) {
    let table = std::fs::read_to_string("/proc/sysvipc/shm").expect("read /proc/sysvipc/shm");
    let mut lines = table.lines();
    let header: Vec<&str> = lines
        .next()
        .expect("header line")
        .split_whitespace()
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name} in /proc/sysvipc/shm: {header:?}"))
    };
    let (c_id, c_size, c_rss) = (col("shmid"), col("size"), col("rss"));
    for l in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.get(c_id).and_then(|v| v.parse::<i32>().ok()) == Some(id) {
            return (f[c_size].parse().unwrap(), f[c_rss].parse().unwrap());
        }
    }
    panic!("segment {id} is not in /proc/sysvipc/shm:\n{table}");
}

/// All-zero is every shared-memory area's initial state (layout.rs): a
/// server with 1GB of shared buffers that started, ran a transaction and a
/// CHECKPOINT holds only the pages it used in memory, not the buffer
/// descriptors, mapping table and WAL buffers its area inits used to write
/// (about 28 MB at this size).
#[test]
fn a_large_segment_is_in_memory_only_where_used() {
    let mut srv = TestServer::init(Opts::new().set("shared_buffers", "1GB"));
    srv.start_postmaster();
    let (_, id) = srv.shmem_key_id().expect("line 7 of postmaster.pid");
    let mut c = srv.connect();
    assert!(simple_value(&mut c, "SELECT txid_current()").is_some());
    c.simple_query("CHECKPOINT").expect("CHECKPOINT");
    let (size, rss) = sysv_size_and_rss(id);
    assert!(size > 1 << 30, "1GB of buffers alone exceed that: {size}");
    assert!(
        rss < 4 << 20,
        "{rss} bytes of the {size}-byte segment are in memory after start, one \
         transaction and a checkpoint"
    );
}

/// Issue 14 point 6: a superuser-only setting in the startup packet's
/// options (`PGOPTIONS='-c lc_messages=C'`, as pg_regress and poolers
/// send) is applied for a superuser, as PostgreSQL 15 does, and still
/// refused for any other role with PostgreSQL's FATAL 42501.
#[test]
fn superuser_settings_in_startup_options_follow_the_role() {
    let srv = TestServer::start(Opts::new());
    // psql with PGOPTIONS, as pg_regress runs it.
    let mut cmd = std::process::Command::new(crate::util::require_pg_program("psql"));
    crate::util::clean_pg_env(&mut cmd);
    cmd.env("PGOPTIONS", "-c lc_messages=C -c log_min_messages=debug1")
        .env("PGCONNECT_TIMEOUT", "10")
        .args(["-X", "-A", "-t", "-h", "127.0.0.1", "-p"])
        .arg(srv.port().to_string())
        .args(["-U", crate::util::SUPERUSER, "-d", crate::util::DATABASE])
        .args(["-c", "SHOW lc_messages", "-c", "SHOW log_min_messages"]);
    let out = crate::util::run_bounded(&mut cmd, Duration::from_secs(60));
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert_eq!(out.stdout, "C\ndebug1\n", "{}", out.describe());

    // The same options for a role that is not a superuser. There is no
    // CREATE ROLE yet: the role is added to the bootstrap catalog file the
    // backend reads at each connection.
    let authid = srv.data_dir().join("global").join("pg_authid");
    let mut text = std::fs::read_to_string(&authid).expect("read pg_authid");
    text.push_str("16384 alice f\n");
    std::fs::write(&authid, text).expect("write pg_authid");
    let mut ok = srv
        .config(crate::util::Via::Tcp)
        .user("alice")
        .connect(postgres::NoTls)
        .unwrap_or_else(|e| panic!("alice without options: {e}"));
    assert_eq!(
        simple_value(&mut ok, "SHOW is_superuser").as_deref(),
        Some("off")
    );
    let e = srv
        .config(crate::util::Via::Tcp)
        .user("alice")
        .options("-c lc_messages=C")
        .connect(postgres::NoTls)
        .err()
        .expect("a non-superuser may not set lc_messages at startup");
    let db = e.as_db_error().unwrap_or_else(|| panic!("{e}"));
    assert_eq!(db.severity(), "FATAL");
    assert_eq!(db.code().code(), "42501");
    assert_eq!(
        db.message(),
        "permission denied to set parameter \"lc_messages\""
    );
    // A user-level setting in the options is fine for anyone.
    let mut c = srv
        .config(crate::util::Via::Tcp)
        .user("alice")
        .options("-c work_mem=7MB")
        .connect(postgres::NoTls)
        .unwrap_or_else(|e| panic!("alice with work_mem: {e}"));
    assert_eq!(
        simple_value(&mut c, "SHOW work_mem").as_deref(),
        Some("7MB")
    );
}

/// Issue 8 point 5: the postmaster opens for connections only once the
/// startup process said recovery finished and the checkpointer said it is
/// ready (postmaster signals): the moment postmaster.pid says "ready", the
/// checkpointer holds its proc slot, so CHECKPOINT works at once.
#[test]
fn ready_means_recovery_finished_and_the_checkpointer_is_up() {
    for round in 0..3 {
        let mut srv = TestServer::start(Opts::new());
        let mut c = srv.connect();
        let types: Vec<String> = c
            .simple_query("SELECT backend_type FROM pg_stat_activity")
            .expect("pg_stat_activity")
            .into_iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                _ => None,
            })
            .collect();
        assert!(
            types.iter().any(|t| t == "checkpointer"),
            "round {round}: no checkpointer in pg_stat_activity when ready: {types:?}\n{}",
            srv.log()
        );
        c.simple_query("CHECKPOINT")
            .unwrap_or_else(|e| panic!("round {round}: CHECKPOINT: {e}\n{}", srv.log()));
        let log = srv.log();
        let recovered = log
            .find("database system was shut down at")
            .expect("the startup process's line");
        let ready = log
            .find("database system is ready to accept connections")
            .expect("the ready line");
        assert!(recovered < ready, "{log}");
        drop(c);
        srv.stop_with(libc::SIGINT);
    }
}

/// The segment is built from the area registry: its header lists every
/// registered area, in order, at the offsets and sizes the layout gives
/// (what `-C` and `tusk check` compute), inside the segment, without
/// overlap; and the start-up line names each area with its size.
#[test]
fn segment_header_lists_every_registered_area() {
    let srv = TestServer::start(Opts::new().set("max_connections", "9"));
    let (_, id) = srv.shmem_key_id().expect("line 7 of postmaster.pid");
    let seg = tusk_ipc::shm::Segment::attach_read_only(id)
        .unwrap_or_else(|e| panic!("attach segment {id} read-only: {e}"));
    let h = seg.read_header().expect("tusk header");
    assert!(h.is_current_layout(), "{h:?}");
    assert_eq!(h.layout_version, tusk_ipc::header::LAYOUT_VERSION);
    let registry = tusk_storage::layout::AREAS;
    let listed = h.areas();
    assert_eq!(listed.len(), registry.len(), "{h:?}");
    let mut end = tusk_ipc::header::HEADER_SIZE as u64;
    for (entry, spec) in listed.iter().zip(registry) {
        assert_eq!(entry.id, spec.id as u32, "area order: {h:?}");
        assert!(entry.offset >= end, "{} overlaps: {h:?}", spec.name);
        assert_eq!(
            entry.offset % spec.align as u64,
            0,
            "{} alignment",
            spec.name
        );
        end = entry.offset + entry.size;
    }
    assert!(
        end <= seg.size() as u64,
        "areas end at {end}, segment {}",
        seg.size()
    );
    assert_eq!(h.total_size, seg.size() as u64);
    let procs = h.area(tusk_storage::layout::AreaId::Procs as u32).unwrap();
    assert_eq!(
        procs.size as usize,
        (9 + tusk_storage::layout::NUM_AUXILIARY_PROCS) * 64,
        "one 64-byte Proc per connection and auxiliary process"
    );
    let log = srv.log();
    let line = log
        .lines()
        .find(|l| l.contains("resources: "))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        line.contains(&format!("{} areas: ", registry.len())),
        "{line}"
    );
    for (entry, spec) in listed.iter().zip(registry) {
        assert!(
            line.contains(&format!("{} {} B", spec.name, entry.size)),
            "{line} lacks {}",
            spec.name
        );
    }
}

/// The harness's `require_*` helpers fail the test, naming what is
/// missing and how to get it, instead of letting it pass unchecked.
#[test]
fn missing_requirements_fail_loudly() {
    let err = std::panic::catch_unwind(|| {
        crate::util::require_pg_program("tusk-test-no-such-program");
    })
    .expect_err("a missing program fails the test");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("`tusk-test-no-such-program`")
            && msg.contains("/usr/lib/postgresql/15/bin")
            && msg.contains("postgresql-15"),
        "{msg}"
    );
    let err = std::panic::catch_unwind(|| {
        crate::util::require_os_user("tusk-test-no-such-user");
    })
    .expect_err("a missing user fails the test");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("\"tusk-test-no-such-user\"") && msg.contains("scripts/test.sh"),
        "{msg}"
    );
    // What every suite runs is found where test.sh installs it.
    for p in ["psql", "pg_isready", "pg_ctl", "initdb", "postgres"] {
        assert!(crate::util::require_pg_program(p).is_file(), "{p}");
    }
}
