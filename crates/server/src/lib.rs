//! The tusk server: the postmaster, the backends, the auxiliary processes.
//!
//! Main types and entry points:
//! - [`ServerOptions`] and [`run`]: what `tusk server` (and `postgres`-style
//!   invocations from PostgreSQL's pg_ctl) start.
//! - [`postmaster::Postmaster`]: the supervisor loop and shutdown state
//!   machine.
//! - [`backend`]: one client session, startup packet to Terminate.
//! - [`auxproc`]: the startup process and the checkpointer.
//! - [`shmem`]: creating and destroying shared memory and semaphores.
//! - [`lockfile`], [`sockets`], [`hba`], [`signals`], [`oom`]: the pieces
//!   the postmaster is made of; [`pstitle`]: what `ps` shows for children.
//! - [`datadir`]: `tusk init` and the data directory checks.
//!
//! Everything here runs in forked processes without threads: see
//! `docs/architecture.md`.
//!
//! Every `unsafe` block carries a `// SAFETY:` comment saying which
//! invariant makes it sound, in which process it runs, and for code in a
//! signal handler or right after fork why it is async-signal- or
//! fork-safe. The lint below keeps it so.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod autovacuum;
pub mod auxproc;
pub mod backend;
pub mod datadir;
pub mod hba;
pub mod lockfile;
pub mod oom;
pub mod postmaster;
pub mod pstitle;
pub mod resources;
pub mod roles;
pub mod scram;
pub mod shmem;
pub mod signals;
pub mod sockets;
pub mod tls;

use std::path::PathBuf;
use tusk_common::{elog, PgError};
use tusk_config::Settings;

/// How the server was asked to start.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    pub data_dir: PathBuf,
    /// `-c name=value` and the short flags, in order.
    pub overrides: Vec<(String, String)>,
    /// `-C name`: print the setting and exit.
    pub print_settings: Vec<String>,
    pub allow_root: bool,
    /// The program and arguments to record in postmaster.opts, so that
    /// `pg_ctl restart` / `tusk ctl restart` can run the same command again.
    pub exe: String,
    pub argv: Vec<String>,
}

/// Applies `log_line_prefix` and `log_min_messages`.
pub fn configure_log(s: &Settings) {
    let level =
        elog::parse_level(s.str("log_min_messages")).unwrap_or(tusk_common::Severity::Warning);
    elog::configure(s.str("log_line_prefix"), level);
}

/// Prints a fatal start-up error the way PostgreSQL does and returns the
/// exit code.
fn fail(e: PgError) -> i32 {
    elog::report(&e.with_severity(tusk_common::Severity::Fatal));
    1
}

/// `-C name`: the runtime-computed sizes come from the same layout the
/// server allocates (resources::sizing); the rest is the setting's raw value.
fn print_setting(settings: &Settings, name: &str) -> Result<String, String> {
    let plan = resources::sizing::Plan::from_settings(settings);
    let (sizing, layout) = shmem::layout_for(settings).map_err(|e| e.message.clone())?;
    match name.to_ascii_lowercase().as_str() {
        "shared_memory_size" => Ok(layout.total.div_ceil(1024 * 1024).to_string()),
        "shared_memory_size_bytes" => Ok(layout.total.to_string()),
        // PostgreSQL 15's formula: floor + 1.
        "shared_memory_size_in_huge_pages" => {
            Ok((layout.total as u64 / plan.huge_page_size.max(1) + 1).to_string())
        }
        "num_os_semaphores" => Ok(sizing.semaphores().to_string()),
        _ => settings
            .raw(name)
            .ok_or_else(|| format!("unrecognized configuration parameter \"{name}\"")),
    }
}

/// `tusk server`: runs the postmaster until it stops; returns the exit code.
pub fn run(opts: ServerOptions) -> i32 {
    // SAFETY: umask cannot fail and touches no memory; it runs before any
    // file is created and before any fork, in the only thread.
    unsafe { libc::umask(0o077) };
    let data_dir = match datadir::check(&opts.data_dir) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let mut settings = match tusk_config::load(&data_dir, &opts.overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("FATAL:  {e}");
            return 1;
        }
    };
    if !opts.print_settings.is_empty() {
        for name in &opts.print_settings {
            match print_setting(&settings, name) {
                Ok(v) => println!("{v}"),
                Err(e) => {
                    eprintln!("FATAL:  {e}");
                    return 1;
                }
            }
        }
        return 0;
    }
    if let Err(code) = datadir::check_user(opts.allow_root) {
        return code;
    }
    let (sizing, layout) = match shmem::layout_for(&settings) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    settings.set_override(
        "shared_memory_size",
        tusk_config::Value::Int(layout.total.div_ceil(1024 * 1024) as i64),
    );
    settings.set_override(
        "num_os_semaphores",
        tusk_config::Value::Int(sizing.semaphores() as i64),
    );
    settings.set_override(
        "wal_buffers",
        tusk_config::Value::Int(sizing.wal_buffers as i64),
    );
    settings.set_override(
        "data_directory",
        tusk_config::Value::Str(data_dir.display().to_string()),
    );
    configure_log(&settings);
    let reserved = settings.int("superuser_reserved_connections");
    if reserved >= settings.int("max_connections") {
        return fail(PgError::fatal(
            tusk_common::sqlstate::INVALID_PARAMETER_VALUE,
            format!(
                "superuser_reserved_connections ({reserved}) must be less than max_connections ({})",
                settings.int("max_connections")
            ),
        ));
    }
    if let Err(e) = std::env::set_current_dir(&data_dir) {
        return fail(PgError::fatal(
            tusk_common::sqlstate::IO_ERROR,
            format!(
                "could not change directory to \"{}\": {e}",
                data_dir.display()
            ),
        ));
    }
    // Checked before anything is created, so a torn or foreign pg_control
    // stops the start with the file's name and what is wrong with it.
    if let Err(e) = tusk_storage::control::ControlFileData::read(&data_dir) {
        return fail(e.to_pg_error(tusk_common::Severity::Fatal));
    }
    let hba = match hba::Hba::load(&data_dir.join("pg_hba.conf")) {
        Ok(h) => h,
        Err(e) => {
            return fail(
                PgError::fatal(
                    tusk_common::sqlstate::CONFIG_FILE_ERROR,
                    "could not load pg_hba.conf",
                )
                .with_detail(e),
            )
        }
    };
    // With ssl = on a certificate or key that cannot be loaded stops the
    // start, as in PostgreSQL; on reload it only keeps the old ones.
    let tls = if settings.get(tusk_config::keys::SSL) {
        match tls::load(&settings, &data_dir) {
            Ok(t) => Some(std::sync::Arc::new(t)),
            Err(e) => return fail(e),
        }
    } else {
        None
    };
    postmaster::PM_PID.store(
        std::process::id() as i32,
        std::sync::atomic::Ordering::SeqCst,
    );
    if let Err(e) = resources::startup_limits(&settings) {
        return fail(e);
    }
    oom::postmaster_adjust(&settings);
    install_panic_hook();
    // Before the first fork and before any thread: it moves the
    // environment strings so that children can use the area for titles.
    pstitle::init();
    match postmaster::Postmaster::start(opts, data_dir, settings, hba) {
        Ok(mut pm) => {
            pm.set_tls(tls);
            pm.run()
        }
        Err(e) => fail(e),
    }
}

/// A panic anywhere is a crash: log it and abort, so the postmaster sees
/// a child killed by a signal (or, in the postmaster, the process dies
/// and its children follow) instead of a half-unwound process running on.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = format!("PANIC:  {info}\n");
        elog::write_stderr(msg.as_bytes());
        // SAFETY: abort never returns and needs no invariant of ours; it
        // skips the exit callbacks on purpose (shared memory may be
        // inconsistent, so the postmaster must see a crash).
        unsafe { libc::abort() };
    }));
}
