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
