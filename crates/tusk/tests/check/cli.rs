//! `tusk check`: configurations that fit and that do not, text and JSON,
//! exit codes, `--os`.

use crate::support::*;
use serde_json::Value;

fn sysv_sem_tail() -> String {
    std::fs::read_to_string("/proc/sys/kernel/sem").expect("kernel.sem")
}

#[test]
fn a_small_configuration_fits_in_text_and_json() {
    let f = tusk(&[
        "check",
        "-c",
        "max_connections=20",
        "-c",
        "shared_buffers=1MB",
    ]);
    assert_eq!(f.code(), Some(0), "{}", f.describe());
    assert!(
        f.stdout.starts_with(
            "tusk check: built-in defaults with -c max_connections=20 -c shared_buffers=1MB\n"
        ),
        "{}",
        f.stdout
    );
    assert!(
        f.stdout
            .contains("Result: the server can start with this configuration."),
        "{}",
        f.stdout
    );
    for header in ["resource", "parameter", "needed", "limit", "verdict"] {
        assert!(
            f.stdout.lines().nth(3).unwrap_or("").contains(header),
            "{}",
            f.stdout
        );
    }

    let j = tusk(&[
        "check",
        "-c",
        "max_connections=20",
        "-c",
        "shared_buffers=1MB",
        "--json",
    ]);
    assert_eq!(j.code(), Some(0), "{}", j.describe());
    let v = j.json();
    assert_check_shape(&v);
    assert_eq!(v["can_start"], true);
    assert_eq!(v["configuration"]["overrides"]["max_connections"], "20");
    // 20 connections + 4 auxiliary processes wait on semaphores: 2 sets of 17.
    assert_eq!(v["needs"]["semaphores"], 24);
    assert_eq!(v["needs"]["sem_sets"], 2);
    assert_eq!(v["needs"]["kernel_semaphores"], 34);
    assert_eq!(v["needs"]["processes"], 25);
    // The need is what the server asks for: the same number as -C.
    let c = Cluster::new();
    let bytes = c.print(
        "shared_memory_size_bytes",
        &[("max_connections", "20"), ("shared_buffers", "1MB")],
    );
    assert_eq!(v["needs"]["segment_bytes"].to_string(), bytes);
    let shmmax = check_row(&v, "kernel.shmmax");
    assert_eq!(shmmax["needed_value"].to_string(), bytes);
    let limit = std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap();
    assert_eq!(shmmax["limit_value"].to_string(), limit.trim());
    assert_eq!(shmmax["verdict"], "ok");
    // kernel.sem's four values are read, not guessed.
    let sem: Vec<u64> = sysv_sem_tail()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(
        check_row(&v, "SEMMSL (kernel.sem, 1st)")["limit_value"],
        sem[0]
    );
    assert_eq!(
        check_row(&v, "SEMMNS (kernel.sem, 2nd)")["limit_value"],
        sem[1]
    );
    assert_eq!(
        check_row(&v, "SEMOPM (kernel.sem, 3rd)")["limit_value"],
        sem[2]
    );
    assert_eq!(
        check_row(&v, "SEMMNI (kernel.sem, 4th)")["limit_value"],
        sem[3]
    );
    // The overcommit row recommends strict mode with its command and trade-off.
    let oc = check_row(&v, "vm.overcommit_memory");
    let mode: u64 = std::fs::read_to_string("/proc/sys/vm/overcommit_memory")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let oc_rows: Vec<&Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["parameter"] == "vm.overcommit_memory")
        .collect();
    let mode_row = oc_rows
        .iter()
        .find(|r| r["resource"] == "overcommit mode (OOM killer)")
        .expect("overcommit mode row");
    assert_eq!(mode_row["limit_value"], mode);
    if mode != 2 {
        assert_eq!(mode_row["verdict"], "warning");
        let fix = mode_row["fix"].as_str().unwrap();
        assert!(
            fix.contains("sysctl -w vm.overcommit_memory=2") && fix.contains("Trade-off"),
            "{fix}"
        );
    }
    let _ = oc;
}

#[test]
fn a_data_directory_and_c_flags_are_read() {
    let c = Cluster::new();
    std::fs::write(
        c.data.join("postgresql.conf"),
        "max_connections = 33\nshared_buffers = 2MB\n",
    )
    .unwrap();
    let f = tusk(&[
        "check",
        "-D",
        &path_str(&c.data),
        "-c",
        "shared_buffers=3MB",
        "--json",
    ]);
    assert_eq!(f.code(), Some(0), "{}", f.describe());
    let v = f.json();
    assert_check_shape(&v);
    assert_eq!(v["needs"]["processes"], 33 + 4 + 1);
    assert!(v["configuration"]["config_file"]
        .as_str()
        .unwrap()
        .ends_with("postgresql.conf"));
    // -c wins over the file, as for the server.
    let bytes = c.print("shared_memory_size_bytes", &[("shared_buffers", "3MB")]);
    assert_eq!(v["needs"]["segment_bytes"].to_string(), bytes);
    // A broken postgresql.conf is a configuration the server would refuse: 1.
    std::fs::write(c.data.join("postgresql.conf"), "max_connections = lots\n").unwrap();
    let f = tusk(&["check", "-D", &path_str(&c.data)]);
    assert_eq!(f.code(), Some(1), "{}", f.describe());
    assert!(f.stderr.contains("max_connections"), "{}", f.describe());
}

#[test]
fn a_configuration_the_server_refuses_exits_1_saying_why() {
    let f = tusk(&[
        "check",
        "-c",
        "max_connections=5",
        "-c",
        "superuser_reserved_connections=5",
    ]);
    assert_eq!(f.code(), Some(1), "{}", f.describe());
    assert!(
        f.stdout.contains("Result: the server cannot start: ["),
        "{}",
        f.stdout
    );
    assert!(
        f.stdout
            .contains("superuser_reserved_connections (5) must be less than max_connections (5)"),
        "{}",
        f.stdout
    );
    let v = tusk(&[
        "check",
        "-c",
        "max_connections=5",
        "-c",
        "superuser_reserved_connections=5",
        "--json",
    ])
    .json();
    assert_check_shape(&v);
    assert_eq!(v["can_start"], false);
    assert_eq!(
        check_row(&v, "superuser_reserved_connections")["verdict"],
        "fail"
    );
}

#[test]
fn lowered_kernel_limits_do_not_fit() {
    // In a private IPC namespace: a 1 MB SHMMAX and 3 semaphore sets.
    let argv: Vec<String> = ["check", "--json"].iter().map(|s| s.to_string()).collect();
    let mut full = vec![TUSK.to_string()];
    full.extend(argv);
    let r = run_in_namespace(
        &[
            ("/proc/sys/kernel/shmmax", "1048576"),
            ("/proc/sys/kernel/sem", "32000 1024000000 500 3"),
        ],
        &full,
        None,
    );
    assert_eq!(r.exit, Some(1), "{}", r.describe());
    let json_text: String = r
        .finished
        .stdout
        .split("tusk-exit=")
        .next()
        .unwrap()
        .to_string();
    let v: Value =
        serde_json::from_str(&json_text).unwrap_or_else(|e| panic!("{e}: {}", r.describe()));
    assert_check_shape(&v);
    assert_eq!(v["can_start"], false);
    let seg = v["needs"]["segment_bytes"].as_u64().unwrap();
    let shmmax = check_row(&v, "kernel.shmmax");
    assert_eq!(shmmax["verdict"], "fail");
    assert_eq!(shmmax["limit_value"], 1048576);
    let fix = shmmax["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!(
            "sysctl -w kernel.shmmax={}",
            seg.next_multiple_of(4096)
        )),
        "{fix}"
    );
    assert!(fix.contains("/etc/sysctl.d/"), "{fix}");
    let mni = check_row(&v, "SEMMNI (kernel.sem, 4th)");
    assert_eq!(mni["verdict"], "fail");
    let sets = v["needs"]["sem_sets"].as_u64().unwrap();
    let fix = mni["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!("kernel.sem=\"32000 1024000000 500 {sets}\"")),
        "{fix}"
    );

    // The same in text: the failing rows are named in the result.
    let mut full = vec![TUSK.to_string(), "check".to_string()];
    full.push("-c".into());
    full.push("max_connections=10".into());
    let r = run_in_namespace(&[("/proc/sys/kernel/shmmax", "1048576")], &full, None);
    assert_eq!(r.exit, Some(1), "{}", r.describe());
    assert!(
        r.finished
            .stdout
            .contains("Result: the server cannot start: [1] kernel.shmmax."),
        "{}",
        r.describe()
    );
    assert!(
        r.finished
            .stdout
            .contains("fix: As root, run: sysctl -w kernel.shmmax="),
        "{}",
        r.describe()
    );
}

#[test]
fn bad_arguments_exit_2() {
    for args in [
        vec!["check", "--no-such-option"],
        vec!["check", "-c", "no_such_setting=1"],
        vec!["check", "-c", "max_connections=many"],
        vec!["check", "-c", "max_connections"],
        vec!["check", "--os", "plan9"],
        vec!["check", "-D", "/nonexistent/tusk-check-dir"],
    ] {
        let f = tusk(&args);
        assert_eq!(f.code(), Some(2), "{args:?}: {}", f.describe());
        assert!(
            !f.stderr.trim().is_empty(),
            "{args:?} says why: {}",
            f.describe()
        );
    }
    let f = tusk(&["check", "--help"]);
    assert_eq!(f.code(), Some(0), "{}", f.describe());
    for word in [
        "--pgdata",
        "-c <NAME=VALUE>",
        "--os",
        "--memory-table",
        "--json",
        "Exit status",
    ] {
        assert!(f.stdout.contains(word), "help lacks {word}: {}", f.stdout);
    }
}

#[test]
fn os_instructions_carry_this_configurations_values() {
    let v = tusk(&["check", "-c", "max_connections=200", "--json"]).json();
    let sets = v["needs"]["sem_sets"].as_u64().unwrap();
    let sems = v["needs"]["kernel_semaphores"].as_u64().unwrap();
    let seg = v["needs"]["segment_bytes"].as_u64().unwrap();
    for os in [
        "linux", "freebsd", "netbsd", "openbsd", "macos", "solaris", "illumos", "aix", "hpux",
        "bsdos", "sco", "unixware",
    ] {
        let f = tusk(&["check", "-c", "max_connections=200", "--os", os]);
        assert_eq!(f.code(), Some(0), "{os}: {}", f.describe());
        assert!(f.stdout.contains("Reboot needed: "), "{os}: {}", f.stdout);
        if os != "aix" {
            assert!(
                f.stdout.contains(&sets.to_string()),
                "{os} names {sets} sets: {}",
                f.stdout
            );
        }
        let j = tusk(&["check", "-c", "max_connections=200", "--os", os, "--json"]).json();
        assert_keys(
            &j,
            &["format", "os", "title", "parameters", "steps", "reboot"],
        );
        assert_eq!(j["format"], "tusk-os/1");
        assert_eq!(j["os"], os);
        for p in j["parameters"].as_array().unwrap() {
            assert_keys(p, &["name", "value", "note"]);
        }
        assert!(j["steps"].as_array().unwrap().iter().all(Value::is_string));
    }
    let freebsd = tusk(&["check", "-c", "max_connections=200", "--os", "freebsd"]).stdout;
    assert!(
        freebsd.contains(&format!("kern.ipc.semmni={sets}"))
            && freebsd.contains("/boot/loader.conf"),
        "{freebsd}"
    );
    assert!(
        freebsd.contains(&format!("kern.ipc.semmns={sems}")),
        "{freebsd}"
    );
    let solaris = tusk(&["check", "-c", "max_connections=200", "--os", "solaris"]).stdout;
    assert!(
        solaris.contains("/etc/system") && solaris.contains(&format!("shminfo_shmmax={seg}")),
        "{solaris}"
    );
    let macos = tusk(&["check", "--os", "darwin"]).stdout;
    assert!(
        macos.contains("kern.sysv.shmmax") && macos.contains("/etc/sysctl.conf"),
        "{macos}"
    );
    // Linux: this machine's kernel.sem, raised only where needed.
    let linux = tusk(&["check", "-c", "max_connections=200", "--os", "linux"]).stdout;
    let cur: Vec<u64> = sysv_sem_tail()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let want = format!(
        "\"{} {} {} {}\"",
        cur[0].max(17),
        cur[1].max(sems),
        cur[2].max(1),
        cur[3].max(sets)
    );
    assert!(
        linux.contains(&format!("kernel.sem={want}")),
        "{want} in {linux}"
    );
    assert!(
        linux.contains(&format!("kernel.shmmax={}", seg.next_multiple_of(4096))),
        "{linux}"
    );
}
