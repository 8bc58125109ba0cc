//! Crate-level tests: every kind of bad configuration is refused with a
//! message naming where, what and what is allowed; includes; load; the
//! sample file.

use std::fs;
use std::path::{Path, PathBuf};

use crate::*;

/// A data directory with this postgresql.conf.
fn data_dir(conf: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("postgresql.conf"), conf).expect("write conf");
    dir
}

fn load_err(dir: &Path, overrides: &[(&str, &str)]) -> ConfigError {
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    match load(dir, &overrides) {
        Ok(_) => panic!(
            "configuration was accepted: {:?}",
            fs::read_to_string(dir.join("postgresql.conf"))
        ),
        Err(e) => e,
    }
}

#[test]
fn every_kind_of_bad_line_is_refused_with_location_value_and_what_is_allowed() {
    // (line placed at line 3 of postgresql.conf, substrings the single error must contain)
    let cases: &[(&str, &[&str])] = &[
        // wrong type
        (
            "max_connections = abc",
            &["invalid value for parameter \"max_connections\": \"abc\" (allowed: an integer from 1 to 262143)"],
        ),
        ("fsync = maybe", &["\"fsync\": \"maybe\"", "allowed: on, off, true, false, yes, no, 1, 0"]),
        ("port = 5432kB", &["\"port\": \"5432kB\"", "allowed: an integer from 1 to 65535"]),
        ("checkpoint_completion_target = high", &["\"checkpoint_completion_target\": \"high\"", "a number from 0 to 1"]),
        // out of range, before and after unit conversion
        ("max_connections = 0", &["\"max_connections\": \"0\"", "0 is outside the valid range 1 .. 262143"]),
        (
            "shared_buffers = 64kB",
            &["\"shared_buffers\": \"64kB\"", "8 blocks of 8kB is outside the valid range 16 .. 1073741823 blocks of 8kB"],
        ),
        (
            "authentication_timeout = 1h",
            &["\"authentication_timeout\": \"1h\"", "3600 s is outside the valid range 1 .. 600 s"],
        ),
        ("max_locks_per_transaction = 99999999999", &["\"99999999999\"", "value exceeds integer range"]),
        ("checkpoint_completion_target = 2", &["\"2\"", "2 is outside the valid range 0 .. 1"]),
        ("extra_float_digits = -16", &["\"-16\"", "-16 is outside the valid range -15 .. 3"]),
        // bad unit
        (
            "shared_buffers = 1XB",
            &["\"shared_buffers\": \"1XB\" (valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\")"],
        ),
        (
            "checkpoint_timeout = 5minutes",
            &["\"5minutes\"", "valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\""],
        ),
        // unknown enum value
        ("huge_pages = maybe", &["\"huge_pages\": \"maybe\" (allowed: off, on, try)"]),
        ("shared_memory_type = windows", &["\"windows\" (allowed: sysv, mmap)"]),
        ("log_min_messages = loud", &["allowed: debug5, debug4, debug3, debug2, debug1, info, notice, warning"]),
        // values refused by a per-setting check
        ("client_encoding = latin1", &["\"client_encoding\": \"latin1\"", "tusk supports only the UTF8 client encoding"]),
        ("TimeZone = 'Mars/Olympus'", &["\"TimeZone\": \"Mars/Olympus\"", "not a time zone name"]),
        ("DateStyle = 'ISO, YDM'", &["\"DateStyle\": \"ISO, YDM\"", "unrecognized key word: \"ydm\""]),
        // names
        (
            "max_conections = 10",
            &["unrecognized configuration parameter \"max_conections\" (did you mean \"max_connections\"?)"],
        ),
        ("frobnicate = 1", &["unrecognized configuration parameter \"frobnicate\""]),
        ("my-ext.foo = 1", &["syntax error near \"my-ext.foo\" (parameter names are"]),
        ("block_size = 4096", &["parameter \"block_size\" cannot be changed"]),
        ("config_file = '/x'", &["parameter \"config_file\" cannot be set in a configuration file"]),
        // malformed lines
        ("= 5", &["syntax error near \"=\" (expected a parameter name at the start of the line)"]),
        ("port =", &["syntax error near end of line"]),
        ("shared_buffers = 128 MB", &["syntax error near \"MB\"", "quote values that contain spaces"]),
        ("listen_addresses = 'localhost", &["syntax error near \"'localhost\" (unterminated quoted string)"]),
        // includes
        ("include 'missing.conf'", &["could not open configuration file", "missing.conf", "No such file"]),
        ("include_dir 'no_such_dir'", &["could not open configuration directory", "no_such_dir"]),
    ];
    for (line, wanted) in cases {
        let dir = data_dir(&format!("# test\nport = 5432\n{line}\nwork_mem = 4MB\n"));
        let err = load_err(dir.path(), &[]);
        let errors = err.errors();
        assert_eq!(errors.len(), 1, "{line}: {err}");
        let text = err.to_string();
        let location = format!("{}:3: ", dir.path().join("postgresql.conf").display());
        assert!(
            text.starts_with(&location),
            "{line}: {text:?} should start with {location:?}"
        );
        for w in *wanted {
            assert!(text.contains(w), "{line}:\n  got  {text}\n  want {w}");
        }
    }
}

#[test]
fn command_line_errors_name_the_flag() {
    let dir = data_dir("");
    let cases: &[((&str, &str), &str)] = &[
        (
            ("shared_buffers", "1XB"),
            "-c shared_buffers=1XB: invalid value for parameter \"shared_buffers\": \"1XB\" (valid units for this \
             parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\")",
        ),
        (
            ("max_connections", "abc"),
            "-c max_connections=abc: invalid value for parameter \"max_connections\": \"abc\" (allowed: an integer \
             from 1 to 262143)",
        ),
        (("port", "0"), "-c port=0: invalid value for parameter \"port\": \"0\" (0 is outside the valid range 1 .. 65535)"),
        (
            ("sharde_buffers", "1"),
            "-c sharde_buffers=1: unrecognized configuration parameter \"sharde_buffers\" (did you mean \
             \"shared_buffers\"?)",
        ),
        (("server_version", "16"), "-c server_version=16: parameter \"server_version\" cannot be changed"),
    ];
    for (flag, want) in cases {
        let err = load_err(dir.path(), &[*flag]);
        assert_eq!(err.to_string(), *want);
    }
}

#[test]
fn all_errors_of_the_configuration_are_reported_together() {
    let dir = data_dir(
        "port = 0\nmax_conections = 5\nfoo bar baz\nhuge_pages = perhaps\nwork_mem = 1MB\n",
    );
    let err = load_err(dir.path(), &[("shared_buffers", "1XB")]);
    let lines: Vec<String> = err.errors().iter().map(|e| e.to_string()).collect();
    assert_eq!(lines.len(), 5, "{err}");
    let conf = dir.path().join("postgresql.conf").display().to_string();
    // Syntax errors come from reading, value errors from applying, in file order.
    assert!(
        lines[0].starts_with(&format!("{conf}:3: syntax error")),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with(&format!("{conf}:1: ")) && lines[1].contains("\"port\""));
    assert!(lines[2].starts_with(&format!("{conf}:2: ")) && lines[2].contains("max_conections"));
    assert!(lines[3].starts_with(&format!("{conf}:4: ")) && lines[3].contains("huge_pages"));
    assert!(lines[4].starts_with("-c shared_buffers=1XB: "));
    assert_eq!(err.to_string().lines().count(), 5);
}

#[test]
fn later_assignments_win_and_only_the_last_is_judged() {
    let dir = data_dir("port = abc\nPORT = 5433\nshared_buffers = 1GB\nshared_buffers = 256MB\n");
    let s = load(dir.path(), &[("shared_buffers".into(), "512MB".into())]).expect("valid");
    assert_eq!(s.int("port"), 5433);
    assert_eq!(
        s.source("port"),
        Some(&Source::File {
            path: dir.path().join("postgresql.conf"),
            line: 2
        })
    );
    assert_eq!(
        s.show("shared_buffers").as_deref(),
        Some("512MB"),
        "command line beats the file"
    );
    assert_eq!(s.source("shared_buffers"), Some(&Source::CommandLine));
}

#[test]
fn load_fills_in_file_locations_and_placeholders() {
    let dir = data_dir("myext.level = 'high'\nlisten_addresses = '*'\n");
    let s = load(dir.path(), &[]).expect("valid");
    let root = std::path::absolute(dir.path()).expect("absolute");
    assert_eq!(s.str("data_directory"), root.display().to_string());
    assert_eq!(
        s.str("config_file"),
        root.join("postgresql.conf").display().to_string()
    );
    assert_eq!(
        s.str("hba_file"),
        root.join("pg_hba.conf").display().to_string()
    );
    assert_eq!(s.str("myext.level"), "high");
    assert_eq!(s.show("listen_addresses").as_deref(), Some("*"));
}

#[test]
fn a_missing_postgresql_conf_says_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = load_err(dir.path(), &[]);
    let text = err.to_string();
    assert!(
        text.contains("could not open configuration file") && text.contains("postgresql.conf"),
        "{text}"
    );
    assert!(text.contains("tusk init"), "{text}");
}

#[test]
fn includes_are_relative_to_the_including_file() {
    let dir = data_dir(
        "include 'conf/extra.conf'\ninclude_if_exists 'absent.conf'\ninclude_dir 'conf.d'\n",
    );
    fs::create_dir(dir.path().join("conf")).expect("mkdir");
    fs::write(
        dir.path().join("conf/extra.conf"),
        "port = 6000\ninclude 'more.conf'\n",
    )
    .expect("write");
    fs::write(dir.path().join("conf/more.conf"), "max_connections = 20\n").expect("write");
    let d = dir.path().join("conf.d");
    fs::create_dir(&d).expect("mkdir");
    fs::write(d.join("20-b.conf"), "work_mem = 8MB\n").expect("write");
    fs::write(d.join("10-a.conf"), "work_mem = 2MB\nport = 6001\n").expect("write");
    fs::write(d.join("30-c.conf.disabled"), "work_mem = 1TB\n").expect("write");
    fs::write(d.join(".hidden.conf"), "work_mem = 1TB\n").expect("write");
    let s = load(dir.path(), &[]).expect("valid");
    assert_eq!(s.int("port"), 6001);
    assert_eq!(s.int("max_connections"), 20);
    assert_eq!(
        s.show("work_mem").as_deref(),
        Some("8MB"),
        "files in name order, later wins"
    );
    assert_eq!(
        s.source("max_connections"),
        Some(&Source::File {
            path: dir.path().join("conf/more.conf"),
            line: 1
        })
    );

    let items = parse_file(&dir.path().join("postgresql.conf")).expect("parses");
    let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        ["port", "max_connections", "work_mem", "port", "work_mem"]
    );
}

#[test]
fn include_cycles_and_depth_are_refused() {
    let dir = data_dir("include 'a.conf'\n");
    fs::write(dir.path().join("a.conf"), "port = 1234\ninclude 'b.conf'\n").expect("write");
    fs::write(dir.path().join("b.conf"), "\n\ninclude 'a.conf'\n").expect("write");
    let err = load_err(dir.path(), &[]);
    let text = err.to_string();
    assert_eq!(err.errors().len(), 1, "{text}");
    let b = dir.path().join("b.conf");
    assert!(
        text.starts_with(&format!("{}:3: include cycle: ", b.display())),
        "{text}"
    );
    assert!(
        text.contains("a.conf -> ") && text.ends_with("a.conf"),
        "{text}"
    );

    // A chain of 12 distinct files: PostgreSQL allows 10 levels of includes.
    let dir = data_dir("include 'f1.conf'\n");
    for i in 1..=12 {
        fs::write(
            dir.path().join(format!("f{i}.conf")),
            format!("include 'f{}.conf'\n", i + 1),
        )
        .expect("write");
    }
    fs::write(dir.path().join("f13.conf"), "").expect("write");
    let text = load_err(dir.path(), &[]).to_string();
    assert!(text.contains("maximum nesting depth exceeded"), "{text}");
    assert!(
        text.contains("f10.conf:1: ") && text.contains("f11.conf"),
        "{text}"
    );
}

#[test]
fn syntax_errors_are_all_collected_per_file() {
    let dir = data_dir("a = 'x\nb = 'y\nport = 5432\n= z\n");
    let err = parse_file(&dir.path().join("postgresql.conf")).expect_err("bad");
    let lines: Vec<usize> = err
        .errors()
        .iter()
        .map(|e| match e {
            ConfigError::Syntax { line, .. } => *line,
            other => panic!("unexpected {other}"),
        })
        .collect();
    assert_eq!(lines, [1, 2, 4]);
}

/// Uncomments the `#name = value` lines of the sample.
fn uncomment(sample: &str) -> String {
    sample
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_alphabetic()) => rest.to_string(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn sample_conf_parses_back_and_mentions_only_registered_settings() {
    let sample = sample_conf();
    let dir = data_dir(&sample);
    let path = dir.path().join("postgresql.conf");
    assert_eq!(
        parse_file(&path).expect("sample parses"),
        Vec::new(),
        "everything is commented out"
    );

    fs::write(&path, uncomment(&sample)).expect("write");
    let items = parse_file(&path).expect("uncommented sample parses");
    let defaults = Settings::defaults();
    let mut mentioned = Vec::new();
    for item in &items {
        let def = find(&item.name)
            .unwrap_or_else(|| panic!("sample mentions unregistered {}", item.name));
        assert_ne!(def.context, Context::Internal, "{}", def.name);
        mentioned.push(def.name);
    }
    // Every settable setting is there, once.
    for def in registry() {
        let expected = def.context != Context::Internal && !def.has_flag(flags::NOT_IN_SAMPLE);
        let count = mentioned.iter().filter(|n| **n == def.name).count();
        assert_eq!(
            count,
            usize::from(expected),
            "{} in sample {count} times",
            def.name
        );
    }
    // And each value written is the default.
    let loaded = load(dir.path(), &[]).expect("uncommented sample loads");
    for name in &mentioned {
        if matches!(*name, "data_directory" | "hba_file" | "ident_file") {
            continue; // filled in from -D by load
        }
        assert_eq!(loaded.get(name), defaults.get(name), "{name}");
    }
    assert!(
        sample.contains("#max_connections = 100\t\t\t# maximum number of concurrent connections; change requires restart\n"),
        "{sample}"
    );
    assert!(
        sample.contains("#shared_buffers = 128MB\t\t\t#"),
        "memory shown with units"
    );
    assert!(sample.contains("#listen_addresses = 'localhost'\t\t#"));
    assert!(sample.contains("#datestyle = 'ISO, MDY'\t\t\t#"));
    assert!(sample.contains("#default_transaction_isolation = 'read committed'\t#"));
    assert!(sample.contains("\n# - Memory -\n"));
    assert!(sample.contains("\n# CONNECTIONS AND AUTHENTICATION\n"));
}

#[test]
fn parse_file_reports_items_with_their_location() {
    let dir = data_dir("# c\n\nport = 5433 # x\nTimeZone 'Europe/Paris'\n");
    let path: PathBuf = dir.path().join("postgresql.conf");
    let items = parse_file(&path).expect("parses");
    assert_eq!(
        items,
        vec![
            ConfigItem {
                name: "port".into(),
                value: "5433".into(),
                path: path.clone(),
                line: 3
            },
            ConfigItem {
                name: "TimeZone".into(),
                value: "Europe/Paris".into(),
                path,
                line: 4
            },
        ]
    );
}

#[test]
fn config_file_on_the_command_line_replaces_postgresql_conf() {
    let dir = data_dir("port = 1111\n");
    let other = dir.path().join("elsewhere.conf");
    fs::write(&other, "port = 2222\n").expect("write");
    let flags = [("config_file".to_string(), other.display().to_string())];
    let s = load(dir.path(), &flags).expect("valid");
    assert_eq!(s.int("port"), 2222);
    assert_eq!(s.str("config_file"), other.display().to_string());
}

/// The planner settings scripts set (`SET enable_seqscan = off` opens
/// many of PostgreSQL's regression scripts): accepted, shown as PostgreSQL
/// 15 shows their defaults (values read from a PostgreSQL 15's SHOW), and
/// range-checked.
#[test]
fn planner_settings_show_postgresql_defaults_and_take_values() {
    let dir = data_dir("enable_seqscan = off\nvacuum_cost_delay = 2ms\n");
    let s = load(dir.path(), &[]).expect("valid");
    for (name, shown) in [
        ("enable_seqscan", "off"),
        ("enable_hashjoin", "on"),
        ("enable_partitionwise_join", "off"),
        ("min_parallel_table_scan_size", "8MB"),
        ("min_parallel_index_scan_size", "512kB"),
        ("jit_above_cost", "100000"),
        ("cpu_operator_cost", "0.0025"),
        ("hash_mem_multiplier", "2"),
        ("constraint_exclusion", "partition"),
        ("plan_cache_mode", "auto"),
        ("default_statistics_target", "100"),
        ("vacuum_cost_delay", "2ms"),
    ] {
        assert_eq!(s.show(name).as_deref(), Some(shown), "{name}");
    }
    let e = load_err(dir.path(), &[("default_statistics_target", "0")]);
    assert!(e.to_string().contains("default_statistics_target"), "{e}");
}
