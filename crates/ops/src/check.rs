//! `tusk check`: before starting, whether the kernel and the process
//! limits can hold a configuration, and what to change when they cannot.
//!
//! ```text
//! tusk check [-D DIR] [-c name=value ...] [--json]      one table: need, limit, verdict, fix
//! tusk check ... --memory-table [--json]                shared memory per setting (Table 16.2)
//! tusk check ... --os NAME [--json]                     that system's parameters, values and how to set them
//! ```
//!
//! Why a separate command: PostgreSQL fails at start with one error at a
//! time and says nothing beforehand; operators ask "will it fit?" before a
//! restart window. Every need comes from `tusk_server::resources::needs`,
//! the function the server sizes its requests with, and every limit is
//! read from this machine now (unknown when it cannot be read, never
//! guessed).
//!
//! Exit status: 0 when nothing stops the server from starting (warnings
//! and unknowns may remain), 1 when something does (each such row says
//! why), 2 on bad arguments (unknown option, bad `-c`, missing `-D`
//! directory, unknown `--os`).
//!
//! # JSON shapes
//!
//! `tusk check --json` prints one object:
//!
//! ```text
//! {
//!   "format": "tusk-check/1",
//!   "configuration": { "data_directory": string|null, "config_file": string|null,
//!                      "overrides": { name: value, ... } },
//!   "user": { "name": string, "uid": number },
//!   "needs": { "shared_memory_type": "sysv"|"mmap", "shared_memory_bytes": n, "segment_bytes": n,
//!              "mapping_bytes": n|null, "sem_sets": n, "semaphores": n, "kernel_semaphores": n,
//!              "semaphores_per_set": n, "largest_semaphore_value": n, "processes": n,
//!              "files_per_process": n, "min_files_per_process": n, "files_total": n,
//!              "huge_pages": { "page_size": n, "pages": n, "required": bool }|null,
//!              "memory_may_use": n },
//!   "checks": [ { "resource": string, "parameter": string, "needed": string, "needed_value": n|null,
//!                 "limit": string, "limit_value": n|null,
//!                 "verdict": "ok"|"warning"|"fail"|"unknown", "why": string, "fix": string|null }, ... ],
//!   "can_start": bool,
//!   "exit_code": 0|1
//! }
//! ```
//!
//! `--memory-table --json`:
//!
//! ```text
//! { "format": "tusk-memory-table/1",
//!   "rows": [ { "setting": string, "value": n, "per_increment": n, "base": n|null, "per_lock": n|null,
//!               "bytes": n|null, "rule": { "per": n, "min": n, "max": n }|null }, ... ],
//!   "fixed": n, "sum": n, "max_padding": n, "total": n }
//! ```
//!
//! The segment is `sum` plus 0 to `max_padding` bytes of alignment, and
//! `sum` = `fixed` + every row's `bytes`. A row with `base` and `per_lock`
//! costs `base + per_lock × max_locks_per_transaction` per increment; a
//! `rule` says the value follows shared_buffers as
//! `clamp(shared_buffers / per, min, max)`.
//!
//! `--os NAME --json`:
//!
//! ```text
//! { "format": "tusk-os/1", "os": string, "title": string,
//!   "parameters": [ { "name": string, "value": string, "note": string }, ... ],
//!   "steps": [ string, ... ], "reboot": string }
//! ```

use crate::limits::{can_start, evaluate, CheckRow, Verdict};
use crate::os;
use clap::{ArgAction, Parser};
use serde_json::{json, Value};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::ExitCode;
use tusk_config::{Settings, Source};
use tusk_ipc::limits::{fmt_bytes, SemLimits};
use tusk_server::resources::sizing::{
    grouped, memory_table, shared_buffers_text, MemoryKind, MemoryTable, Needs,
};
use tusk_server::resources::{needs, system};

#[derive(Parser, Debug)]
#[command(
    name = "tusk check",
    about = "Check before start whether this machine can hold a configuration",
    long_about = "Check before start whether this machine can hold a configuration.\n\n\
        Compares what the configuration needs (System V shared memory and semaphores, memory, open files, \
        processes, huge pages) with the limits read from this machine now, and prints one row per limit: \
        resource, needed, limit, verdict, and the fix. A limit that cannot be read is shown as unknown.\n\n\
        Exit status: 0 the server can start, 1 it cannot (the failing rows say why), 2 bad arguments.",
    after_help = "The JSON shapes are documented in crates/ops/src/check.rs (format tusk-check/1, \
        tusk-memory-table/1, tusk-os/1)."
)]
struct CheckArgs {
    /// Data directory whose postgresql.conf to read (default: $PGDATA; without either, the built-in defaults).
    #[arg(short = 'D', long = "pgdata", value_name = "DIR", env = "PGDATA")]
    data_dir: Option<PathBuf>,
    /// Set a setting, as for tusk server, e.g. -c max_connections=200 (applied after postgresql.conf).
    #[arg(short = 'c', value_name = "NAME=VALUE", action = ArgAction::Append)]
    set: Vec<String>,
    /// Print the named system's parameters with this configuration's values and how to set them
    /// (linux, freebsd, netbsd, openbsd, macos, solaris, illumos, aix, hpux, bsdos, sco, unixware).
    #[arg(long = "os", value_name = "NAME", value_parser = parse_os)]
    os: Option<&'static str>,
    /// Print the shared memory this configuration needs, setting by setting (tusk's Table 16.2).
    #[arg(long = "memory-table")]
    memory_table: bool,
    /// Print JSON instead of text (shapes in the module documentation).
    #[arg(long = "json")]
    json: bool,
}

fn parse_os(name: &str) -> Result<&'static str, String> {
    os::canonical(name).ok_or_else(|| {
        let names: Vec<&str> = os::SYSTEMS.iter().map(|(n, _)| *n).collect();
        format!("unknown system \"{name}\"; known: {}", names.join(", "))
    })
}

/// Entry point: `args` are the arguments after the subcommand name.
pub fn run(args: Vec<String>) -> ExitCode {
    let a = match CheckArgs::try_parse_from(std::iter::once("tusk check".to_string()).chain(args)) {
        Ok(a) => a,
        Err(e) => {
            // --help and --version print and succeed; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let loaded = match load(&a) {
        Ok(l) => l,
        Err((code, msg)) => {
            eprintln!("tusk check: {msg}");
            return ExitCode::from(code);
        }
    };
    let n = match needs(&loaded.settings) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("tusk check: {}", e.message);
            return ExitCode::from(2);
        }
    };
    if let Some(name) = a.os {
        let current = if name == "linux" && cfg!(target_os = "linux") {
            SemLimits::from_limits(&tusk_ipc::limits::read_limits())
        } else {
            None
        };
        let Some(adv) = os::advice(name, &n, current) else {
            eprintln!("tusk check: no advice for \"{name}\"");
            return ExitCode::from(2);
        };
        if a.json {
            println!("{}", pretty(&os_json(&adv)));
        } else {
            print!("{}", os_text(&adv, &n));
        }
        return ExitCode::SUCCESS;
    }
    if a.memory_table {
        let t = memory_table(&n.plan);
        if a.json {
            println!("{}", pretty(&table_json(&t)));
        } else {
            print!("{}", table_text(&t, &n));
        }
        return ExitCode::SUCCESS;
    }
    let mut sys = system::read(loaded.uid);
    if let Some(dir) = &loaded.data_dir {
        // What a crashed server of this directory left is removed by the
        // next start before it creates its own: not in use, reclaimable.
        if let Err(why) = system::with_reclaimable(&mut sys, dir) {
            eprintln!("tusk check: {why}; leftovers of this data directory count as in use");
        }
    }
    let mut rows = evaluate(&n, &sys);
    rows.extend(config_rows(&n));
    let ok = can_start(&rows);
    let code = if ok { 0 } else { 1 };
    if a.json {
        println!(
            "{}",
            pretty(&check_json(&loaded, &sys, &n, &rows, ok, code))
        );
    } else {
        print!("{}", check_text(&loaded, &n, &rows, ok));
    }
    ExitCode::from(code)
}

struct Loaded {
    settings: Settings,
    data_dir: Option<PathBuf>,
    config_file: Option<String>,
    overrides: Vec<(String, String)>,
    /// The user the server would run as: the data directory's owner, or
    /// this process's user.
    uid: u32,
}

fn load(a: &CheckArgs) -> Result<Loaded, (u8, String)> {
    let mut overrides = Vec::new();
    for s in &a.set {
        let Some((k, v)) = s.split_once('=') else {
            return Err((2, format!("-c {s}: expected -c name=value")));
        };
        overrides.push((k.trim().to_string(), v.to_string()));
    }
    // Bad -c values are bad arguments (2); a bad postgresql.conf is a
    // configuration the server would refuse (1).
    let mut probe = Settings::defaults();
    for (k, v) in &overrides {
        if let Err(e) = probe.set(k, v, Source::CommandLine) {
            return Err((2, e.to_string()));
        }
    }
    // SAFETY: getuid has no preconditions.
    let mut uid = unsafe { libc::getuid() };
    let (settings, config_file) = match &a.data_dir {
        None => (probe, None),
        Some(dir) => {
            let md = std::fs::metadata(dir)
                .map_err(|e| (2, format!("data directory \"{}\": {e}", dir.display())))?;
            if !md.is_dir() {
                return Err((2, format!("\"{}\" is not a directory", dir.display())));
            }
            uid = md.uid();
            let s = tusk_config::load(dir, &overrides).map_err(|e| {
                (
                    1,
                    format!("the server would not start: its configuration is invalid:\n{e}"),
                )
            })?;
            let file = s.str("config_file").to_string();
            (s, Some(file))
        }
    };
    Ok(Loaded {
        settings,
        data_dir: a.data_dir.clone(),
        config_file,
        overrides,
        uid,
    })
}

/// Checks of the configuration itself that the server makes at start.
fn config_rows(n: &Needs) -> Vec<CheckRow> {
    let (reserved, max) = (
        n.plan.superuser_reserved_connections,
        n.plan.sizing.max_connections,
    );
    if reserved < max {
        return Vec::new();
    }
    vec![CheckRow {
        resource: "connections for non-superusers".to_string(),
        parameter: "superuser_reserved_connections".to_string(),
        needed: format!("less than max_connections ({max})"),
        needed_value: Some(max as u64),
        limit: reserved.to_string(),
        limit_value: Some(reserved as u64),
        verdict: Verdict::Fail,
        why: format!("superuser_reserved_connections ({reserved}) must be less than max_connections ({max})."),
        fix: Some("Lower superuser_reserved_connections or raise max_connections.".to_string()),
    }]
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

fn needs_json(n: &Needs) -> Value {
    json!({
        "shared_memory_type": match n.plan.kind { MemoryKind::Sysv => "sysv", MemoryKind::Mmap => "mmap" },
        "shared_memory_bytes": n.shared_memory_bytes,
        "segment_bytes": n.segment_bytes,
        "mapping_bytes": n.mapping_bytes,
        "sem_sets": n.sem_sets,
        "semaphores": n.semaphores,
        "kernel_semaphores": n.kernel_semaphores,
        "semaphores_per_set": n.semaphores_per_set,
        "largest_semaphore_value": n.largest_semaphore_value,
        "processes": n.processes,
        "files_per_process": n.files_per_process,
        "min_files_per_process": n.min_files_per_process,
        "files_total": n.files_total,
        "huge_pages": n.huge_pages.map(|h| json!({"page_size": h.page_size, "pages": h.pages, "required": h.required})),
        "memory_may_use": n.memory_may_use,
    })
}

fn check_json(
    l: &Loaded,
    sys: &system::SystemLimits,
    n: &Needs,
    rows: &[CheckRow],
    ok: bool,
    code: u8,
) -> Value {
    let overrides: serde_json::Map<String, Value> = l
        .overrides
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "format": "tusk-check/1",
        "configuration": {
            "data_directory": l.data_dir.as_ref().map(|d| d.display().to_string()),
            "config_file": l.config_file,
            "overrides": overrides,
        },
        "user": {"name": sys.user, "uid": sys.uid},
        "needs": needs_json(n),
        "checks": rows.iter().map(|r| json!({
            "resource": r.resource,
            "parameter": r.parameter,
            "needed": r.needed,
            "needed_value": r.needed_value,
            "limit": r.limit,
            "limit_value": r.limit_value,
            "verdict": r.verdict.as_str(),
            "why": r.why,
            "fix": r.fix,
        })).collect::<Vec<_>>(),
        "can_start": ok,
        "exit_code": code,
    })
}

/// Columns padded to their widest cell.
fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn check_text(l: &Loaded, n: &Needs, rows: &[CheckRow], ok: bool) -> String {
    let mut out = String::new();
    let source = match &l.config_file {
        Some(f) => format!("configuration from {f}"),
        None => "built-in defaults".to_string(),
    };
    let sets: Vec<String> = l
        .overrides
        .iter()
        .map(|(k, v)| format!("-c {k}={v}"))
        .collect();
    out.push_str(&format!(
        "tusk check: {source}{}\n",
        if sets.is_empty() {
            String::new()
        } else {
            format!(" with {}", sets.join(" "))
        }
    ));
    let memory = match n.plan.kind {
        MemoryKind::Sysv => format!(
            "{} of shared memory in one System V segment",
            fmt_bytes(n.shared_memory_bytes)
        ),
        MemoryKind::Mmap => format!(
            "{} of shared memory in an anonymous mapping (System V header segment {} bytes)",
            fmt_bytes(n.shared_memory_bytes),
            n.segment_bytes
        ),
    };
    out.push_str(&format!(
        "Needs: {memory}; {} semaphore sets ({} semaphores); up to {} processes; {} open files per process.\n\n",
        n.sem_sets, n.kernel_semaphores, n.processes, n.files_per_process
    ));
    let mut table = vec![vec![
        "#".to_string(),
        "resource".to_string(),
        "parameter".to_string(),
        "needed".to_string(),
        "limit".to_string(),
        "verdict".to_string(),
    ]];
    for (i, r) in rows.iter().enumerate() {
        table.push(vec![
            (i + 1).to_string(),
            r.resource.clone(),
            r.parameter.clone(),
            r.needed.clone(),
            r.limit.clone(),
            r.verdict.as_str().to_string(),
        ]);
    }
    out.push_str(&columns(&table));
    let notes: Vec<(usize, &CheckRow)> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.verdict != Verdict::Ok || r.fix.is_some())
        .collect();
    if !notes.is_empty() {
        out.push_str("\nWhy and fix:\n");
        for (i, r) in &notes {
            out.push_str(&format!(
                "  [{}] {} ({}): {}\n",
                i + 1,
                r.parameter,
                r.verdict.as_str(),
                r.why
            ));
            if let Some(f) = &r.fix {
                out.push_str(&format!("      fix: {f}\n"));
            }
        }
    }
    let list = |v: Verdict| -> Vec<String> {
        rows.iter()
            .enumerate()
            .filter(|(_, r)| r.verdict == v)
            .map(|(i, r)| format!("[{}] {}", i + 1, r.parameter))
            .collect()
    };
    out.push('\n');
    if ok {
        out.push_str("Result: the server can start with this configuration.");
    } else {
        out.push_str(&format!(
            "Result: the server cannot start: {}.",
            list(Verdict::Fail).join(", ")
        ));
    }
    for (v, what) in [
        (Verdict::Warning, "warnings"),
        (Verdict::Unknown, "could not be read"),
    ] {
        let l = list(v);
        if !l.is_empty() {
            out.push_str(&format!(" {what}: {}.", l.join(", ")));
        }
    }
    out.push('\n');
    out
}

fn table_json(t: &MemoryTable) -> Value {
    json!({
        "format": "tusk-memory-table/1",
        "rows": t.rows.iter().map(|r| json!({
            "setting": r.setting,
            "value": r.value,
            "per_increment": r.per_increment,
            "base": r.base,
            "per_lock": r.per_lock,
            "bytes": r.bytes,
            "rule": r.rule.map(|s| json!({"per": s.per, "min": s.min, "max": s.max})),
        })).collect::<Vec<_>>(),
        "fixed": t.fixed,
        "sum": t.sum,
        "max_padding": t.max_padding,
        "total": t.total,
    })
}

fn table_text(t: &MemoryTable, n: &Needs) -> String {
    let mut out = String::from(
        "Shared memory per setting (tusk's Table 16.2), computed from the layout the server uses:\n\
         each cost is the change in size when the setting goes up by one, at this configuration.\n\n",
    );
    let mut rows = vec![vec![
        "setting".to_string(),
        "value".to_string(),
        "bytes per increment".to_string(),
        "bytes".to_string(),
    ]];
    for r in &t.rows {
        let value = match (r.setting, r.rule) {
            ("wal_buffers", Some(_)) => format!("{} (auto)", r.value),
            ("shared_buffers", _) => {
                format!("{} ({})", r.value, shared_buffers_text(r.value as usize))
            }
            _ => r.value.to_string(),
        };
        let mut per = grouped(r.per_increment);
        if let (Some(b), Some(l)) = (r.base, r.per_lock) {
            per = format!(
                "{per} = {} + {} × max_locks_per_transaction",
                grouped(b),
                grouped(l)
            );
        }
        if r.setting == "max_locks_per_transaction" {
            let lock = |s: &str| t.row(s).and_then(|c| c.per_lock).unwrap_or(0);
            let (c, p) = (lock("max_connections"), lock("max_prepared_transactions"));
            per = if c == p {
                format!(
                    "{per} = {} × (max_connections + max_prepared_transactions)",
                    grouped(c)
                )
            } else {
                format!(
                    "{per} = {} × max_connections + {} × max_prepared_transactions",
                    grouped(c),
                    grouped(p)
                )
            };
        }
        if let Some(rule) = r.rule {
            let what = if r.setting == "wal_buffers" {
                "wal_buffers = -1"
            } else {
                "pages"
            };
            per = format!(
                "{per} ({what}: shared_buffers / {}, at least {}, at most {})",
                rule.per, rule.min, rule.max
            );
        }
        let bytes = match r.bytes {
            Some(b) => grouped(b),
            None => "(in the rows above)".to_string(),
        };
        rows.push(vec![r.setting.to_string(), value, per, bytes]);
    }
    rows.push(vec![
        "fixed part".to_string(),
        String::new(),
        "(header, control flags, auxiliary proc slots, WAL state)".to_string(),
        grouped(t.fixed),
    ]);
    rows.push(vec![
        "sum".to_string(),
        String::new(),
        String::new(),
        grouped(t.sum),
    ]);
    rows.push(vec![
        "segment (shared_memory_size_bytes)".to_string(),
        String::new(),
        format!(
            "the sum plus 0 to {} bytes of alignment",
            grouped(t.max_padding)
        ),
        grouped(t.total),
    ]);
    out.push_str(&columns(&rows));
    let kind = match n.plan.kind {
        MemoryKind::Sysv => "one System V segment (shared_memory_type = sysv)",
        MemoryKind::Mmap => "an anonymous mapping (shared_memory_type = mmap)",
    };
    out.push_str(&format!(
        "\nThe region is {} in {kind}.\n",
        fmt_bytes(t.total)
    ));
    out
}

fn os_json(a: &os::OsAdvice) -> Value {
    json!({
        "format": "tusk-os/1",
        "os": a.os,
        "title": a.title,
        "parameters": a.parameters.iter().map(|p| json!({"name": p.name, "value": p.value, "note": p.note})).collect::<Vec<_>>(),
        "steps": a.steps,
        "reboot": a.reboot,
    })
}

fn os_text(a: &os::OsAdvice, n: &Needs) -> String {
    let mut out = format!(
        "{}: what this configuration needs ({} of System V shared memory, {} semaphore sets of {}, {} processes, {} \
         files per process)\n\n",
        a.title,
        fmt_bytes(n.segment_bytes),
        n.sem_sets,
        n.semaphores_per_set,
        n.processes,
        n.files_per_process
    );
    let mut rows = vec![vec![
        "parameter".to_string(),
        "value".to_string(),
        "what".to_string(),
    ]];
    for p in &a.parameters {
        rows.push(vec![p.name.clone(), p.value.clone(), p.note.clone()]);
    }
    out.push_str(&columns(&rows));
    out.push_str("\nHow:\n");
    for s in &a.steps {
        out.push_str(&format!("  - {s}\n"));
    }
    out.push_str(&format!("\nReboot needed: {}.\n", a.reboot));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_pad_to_the_widest_cell() {
        let t = columns(&[
            vec!["a".into(), "bb".into(), "c".into()],
            vec!["ccc".into(), "d".into(), "e".into()],
        ]);
        assert_eq!(t, "a    bb  c\nccc  d   e\n");
    }

    #[test]
    fn os_names_are_checked() {
        assert_eq!(parse_os("Darwin"), Ok("macos"));
        assert!(parse_os("plan9").unwrap_err().contains("known: linux"));
    }

    fn args(data_dir: Option<&std::path::Path>, set: &[&str]) -> CheckArgs {
        CheckArgs {
            data_dir: data_dir.map(|d| d.to_path_buf()),
            set: set.iter().map(|s| s.to_string()).collect(),
            os: None,
            memory_table: false,
            json: false,
        }
    }

    /// Exit status 2 is a bad command line, 1 a configuration the server
    /// would refuse, as the help text promises.
    #[test]
    fn bad_arguments_exit_2_and_a_bad_configuration_file_exits_1() {
        let code = |a: CheckArgs| load(&a).err().map(|(c, _)| c);
        assert_eq!(code(args(None, &["max_connections"])), Some(2));
        assert_eq!(code(args(None, &["max_connections=lots"])), Some(2));
        assert_eq!(code(args(None, &["no_such_setting=1"])), Some(2));
        let missing = std::path::Path::new("/nonexistent/tusk-check-dir");
        assert_eq!(code(args(Some(missing), &[])), Some(2));

        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("postgresql.conf");
        std::fs::write(&conf, "max_connections = lots\n").unwrap();
        assert_eq!(code(args(Some(dir.path()), &[])), Some(1));

        // A valid file, then -c on top of it, as the server applies them.
        std::fs::write(&conf, "max_connections = 7\nshared_buffers = 1MB\n").unwrap();
        let l = load(&args(Some(dir.path()), &["shared_buffers=2MB"])).unwrap();
        assert_eq!(l.settings.int("max_connections"), 7);
        // 2MB in 8 kB pages: the command line won over the file's 1MB.
        assert_eq!(l.settings.int("shared_buffers"), 256);
        assert_eq!(
            l.overrides,
            vec![("shared_buffers".to_string(), "2MB".to_string())]
        );
        assert!(l.config_file.unwrap().ends_with("postgresql.conf"));
        // The server would run as the directory's owner.
        assert_eq!(l.uid, std::fs::metadata(dir.path()).unwrap().uid());
    }

    #[test]
    fn reserved_connections_must_leave_one_for_everyone_else() {
        let mut settings = Settings::defaults();
        assert!(config_rows(&needs(&settings).unwrap()).is_empty());
        settings
            .set("max_connections", "5", Source::CommandLine)
            .unwrap();
        settings
            .set("superuser_reserved_connections", "5", Source::CommandLine)
            .unwrap();
        let rows = config_rows(&needs(&settings).unwrap());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].verdict, Verdict::Fail);
        assert_eq!(rows[0].parameter, "superuser_reserved_connections");
        assert!(!can_start(&rows));
    }

    /// The JSON report (format tusk-check/1) carries the same numbers as
    /// the sizing it was made from, and its verdict and exit code agree.
    #[test]
    fn the_json_report_carries_the_needs_and_the_verdicts() {
        let mut settings = Settings::defaults();
        settings
            .set("max_connections", "3", Source::CommandLine)
            .unwrap();
        settings
            .set("superuser_reserved_connections", "3", Source::CommandLine)
            .unwrap();
        let n = needs(&settings).unwrap();
        let rows = config_rows(&n);
        let l = Loaded {
            settings,
            data_dir: None,
            config_file: None,
            overrides: vec![("max_connections".into(), "3".into())],
            uid: 0,
        };
        let sys = system::read(0);
        let v = check_json(&l, &sys, &n, &rows, can_start(&rows), 1);
        assert_eq!(v["format"], "tusk-check/1");
        assert_eq!(v["needs"]["segment_bytes"], n.segment_bytes);
        assert_eq!(v["needs"]["semaphores"], n.semaphores);
        assert_eq!(v["needs"]["processes"], n.processes);
        assert_eq!(v["configuration"]["overrides"]["max_connections"], "3");
        assert_eq!(v["checks"][0]["verdict"], "fail");
        assert_eq!(v["checks"][0]["needed_value"], 3);
        assert_eq!(
            (v["can_start"].clone(), v["exit_code"].clone()),
            (json!(false), json!(1))
        );
        // The text form names the failing row and its fix.
        let text = check_text(&l, &n, &rows, false);
        assert!(text.contains("superuser_reserved_connections"), "{text}");
        assert!(
            text.contains("Lower superuser_reserved_connections"),
            "{text}"
        );
    }
}
