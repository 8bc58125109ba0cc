//! The postmaster: the single-threaded supervisor that owns shared memory,
//! forks one process per connection, and decides what happens when a
//! child dies or a shutdown is requested.
//!
//! Why it is built this way (PostgreSQL's design, kept on purpose):
//! - It never takes a lock in shared memory and never trusts what is
//!   there. It keeps its own table of children (pid, kind, cancel key), so
//!   a backend that corrupts shared memory and dies cannot take the
//!   supervisor with it. The postmaster-signal bits children raise there
//!   (with SIGUSR1) are acted on only in the state they belong to and
//!   while their sender exists.
//! - Auxiliary processes are driven by their `auxproc::AUX_PROCESSES`
//!   entries: when they start and stop, with which signal, what their
//!   exits mean; nothing here names one kind for another.
//! - A child that dies in any way other than exit code 0 or 1 may have left
//!   shared memory inconsistent. Then every other child is told to quit
//!   (SIGQUIT, SIGKILL 5 s later), shared memory and semaphores are thrown
//!   away and created anew, and the startup process runs recovery before
//!   connections are accepted again.
//! - Signal handlers only set flags (see `signals`); this loop does the
//!   work: shutdown requests first (the strongest wins and a shutdown only
//!   escalates), then reload, then reaping children, then postmaster
//!   signals, then new connections.
//! - It is single-threaded because it forks: a forked child of a
//!   multi-threaded process inherits locks held by threads that no longer
//!   exist.

use crate::auxproc::{Aux, CleanExit, OnFailure, StartPhase, StopPhase, AUX_PROCESSES};
use crate::backend::{self, BackendEnv, Cac};
use crate::shmem::Shared;
use crate::signals::{self, SelfPipe};
use crate::sockets::{self, Listener, Opened};
use crate::{auxproc, lockfile, ServerOptions};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tusk_common::{elog, sqlstate, PgError, Severity};
use tusk_config::{keys, Settings};
use tusk_storage::procarray::{PmSignal, QUIT_REASON_CRASH, QUIT_REASON_IMMEDIATE};

/// Seconds between SIGQUIT and SIGKILL for children that do not exit.
pub const SIGKILL_CHILDREN_AFTER: Duration = Duration::from_secs(5);
/// How often the postmaster checks that postmaster.pid is still its own.
const LOCK_RECHECK_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    Backend,
    /// A process forked only to tell a client it cannot connect now.
    DeadEnd,
    /// An auxiliary process, described by its `auxproc::AUX_PROCESSES` entry.
    Aux(Aux),
    /// A backend without a client that runs VACUUM for the autovacuum
    /// launcher (autovacuum.rs): stopped and crash-supervised as a
    /// backend, but not counted as a connection, and a smart shutdown
    /// does not wait for it.
    AutovacWorker,
}

impl ChildKind {
    fn describe(self) -> &'static str {
        match self {
            ChildKind::Backend | ChildKind::DeadEnd => "server process",
            ChildKind::Aux(a) => a.spec().describe,
            ChildKind::AutovacWorker => "autovacuum worker",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Child {
    pub pid: i32,
    pub kind: ChildKind,
    pub cancel_key: i32,
    /// An auxiliary process with a ready signal has sent it.
    pub ready: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shutdown {
    None = 0,
    Smart = 1,
    Fast = 2,
    Immediate = 3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PmState {
    /// The startup process is running (first start or after a crash).
    Startup,
    Run,
    /// Shutdown: tell backends to go.
    StopBackends,
    /// Waiting for backends (or, after a crash or immediate stop, for all).
    WaitBackends,
    /// The checkpointer is writing the shutdown checkpoint.
    ShutdownCheckpoint,
    /// Waiting for the last children (dead-end ones).
    WaitDeadEnd,
    NoChildren,
}

pub struct Postmaster {
    pub data_dir: PathBuf,
    pub settings: Settings,
    opts: ServerOptions,
    hba: crate::hba::Hba,
    /// The loaded certificate and key (None: ssl = off, or it was turned
    /// on by a reload that could not load them).
    tls: Option<std::sync::Arc<crate::tls::TlsConfig>>,
    lock_path: PathBuf,
    shared: Option<Shared>,
    listeners: Vec<Listener>,
    socket_files: Vec<PathBuf>,
    self_pipe: SelfPipe,
    /// Children hold the read end; EOF on it means the postmaster is gone.
    death_pipe: (i32, i32),
    children: Vec<Child>,
    state: PmState,
    shutdown: Shutdown,
    /// Recovery of this start (or crash cycle) has finished: the startup
    /// process said so or exited 0.
    recovery_finished: bool,
    fatal_error: bool,
    abort_start: Option<Instant>,
    sigkill_sent: bool,
    accept_backoff: Option<Instant>,
    last_lock_check: Instant,
    port: u16,
}

fn random_i32() -> i32 {
    let mut b = [0u8; 4];
    // getrandom(2) never fails for 4 bytes once the pool is initialised;
    // fall back to time and pid mixing only if it somehow does.
    // SAFETY: getrandom writes at most 4 bytes into the local 4-byte array.
    let n = unsafe { libc::getrandom(b.as_mut_ptr() as *mut libc::c_void, 4, 0) };
    if n != 4 {
        let t = tusk_common::time::now_micros() as u64 ^ ((std::process::id() as u64) << 20);
        return (t.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as i32;
    }
    i32::from_ne_bytes(b)
}

fn signal_name(sig: i32) -> String {
    // SAFETY: strsignal returns a NUL-terminated string (for an unknown
    // number "Unknown signal N"), never null; it is copied out before the
    // next call can overwrite it, and the postmaster has one thread.
    let s = unsafe { std::ffi::CStr::from_ptr(libc::strsignal(sig)) };
    s.to_string_lossy().into_owned()
}

impl Postmaster {
    /// Everything from the lock file to the listen sockets; on any failure
    /// what was already made is removed again.
    pub fn start(
        opts: ServerOptions,
        data_dir: PathBuf,
        settings: Settings,
        hba: crate::hba::Hba,
    ) -> Result<Postmaster, PgError> {
        let port = settings.int("port") as u16;
        let start_time = tusk_common::time::now_micros() / 1_000_000;
        let dd = data_dir.clone();
        let lock_path = lockfile::create_data_dir_lock(&data_dir, port, start_time, &|line7| {
            crate::shmem::check_leftover(line7, &dd)
        })?;
        let cleanup_lock = |e: PgError| {
            let _ = std::fs::remove_file(&lock_path);
            e
        };
        // The pipes first: nothing to undo if they cannot be made.
        let self_pipe = SelfPipe::new().map_err(|e| {
            cleanup_lock(PgError::fatal(
                sqlstate::SYSTEM_ERROR,
                format!("could not create self-pipe: {e}"),
            ))
        })?;
        let mut fds = [0; 2];
        // SAFETY: pipe writes exactly two ints into `fds`, a local array of
        // two.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            let e = std::io::Error::last_os_error();
            self_pipe.close();
            return Err(cleanup_lock(PgError::fatal(
                sqlstate::SYSTEM_ERROR,
                format!("could not create pipe to monitor postmaster death: {e}"),
            )));
        }
        // With the lock held, no other postmaster of this directory can be
        // running: every proven orphan of this data directory, at any key
        // (a port change moves the key), can go before we create ours.
        tusk_ipc::keys::reclaim_orphans_of(&data_dir);
        let shared = Shared::create(&settings, &data_dir, port).map_err(cleanup_lock)?;
        lockfile::set_line(
            &lock_path,
            lockfile::LINE_SHMEM_KEY,
            &lockfile::shmem_line(shared.key(), shared.id()),
        );
        // At least twice max_connections, as the issue asks; the kernel
        // silently caps it at net.core.somaxconn.
        let backlog = (2 * settings.int("max_connections")).clamp(128, i32::MAX as i64) as i32;
        let opened: Opened = match sockets::open_all(
            settings.str("listen_addresses"),
            settings.str("unix_socket_directories"),
            port,
            backlog,
            settings.int("unix_socket_permissions") as u32,
            &data_dir,
            start_time,
        ) {
            Ok(o) => o,
            Err(e) => {
                shared.destroy();
                return Err(cleanup_lock(e));
            }
        };
        lockfile::set_line(
            &lock_path,
            lockfile::LINE_SOCKET_DIR,
            &opened.first_socket_dir,
        );
        lockfile::set_line(
            &lock_path,
            lockfile::LINE_LISTEN_ADDR,
            &opened.first_listen_addr,
        );
        write_opts_file(&data_dir, &opts);
        let wake_fd = self_pipe.write_fd;
        let pm = Postmaster {
            data_dir,
            settings,
            opts,
            hba,
            tls: None,
            lock_path,
            shared: Some(shared),
            listeners: opened.listeners,
            socket_files: opened.socket_files,
            self_pipe,
            death_pipe: (fds[0], fds[1]),
            children: Vec::new(),
            state: PmState::Startup,
            shutdown: Shutdown::None,
            recovery_finished: false,
            fatal_error: false,
            abort_start: None,
            sigkill_sent: false,
            accept_backoff: None,
            last_lock_check: Instant::now(),
            port,
        };
        if let Err(e) = signals::install_postmaster(wake_fd) {
            // Undo the segment, sockets and lock file as a shutdown would.
            pm.exit(1);
            return Err(PgError::fatal(sqlstate::SYSTEM_ERROR, e.to_string()));
        }
        pm.log_resources();
        Ok(pm)
    }

    fn shared(&self) -> &Shared {
        self.shared
            .as_ref()
            .expect("shared memory exists while the postmaster runs")
    }

    /// The one flag the postmaster reads from shared memory; a wrong value
    /// can only let a superuser in during a smart shutdown.
    fn backup_in_progress(&self) -> bool {
        self.shared()
            .control()
            .backup_in_progress
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0
    }

    fn log_resources(&self) {
        let sh = self.shared();
        elog::log(format!(
            "resources: {} ({}); {}; {} proc slots ({} connections of which {} reserved for superusers, {} auxiliary, {} prepared-transaction); max_files_per_process {}; limits: {}",
            sh.describe_segment(),
            sh.describe_areas(),
            sh.describe_semaphores(),
            sh.sizing().total_procs(),
            sh.sizing().max_connections,
            self.settings.int("superuser_reserved_connections"),
            tusk_storage::layout::NUM_AUXILIARY_PROCS,
            sh.sizing().max_prepared_transactions,
            self.settings.int("max_files_per_process"),
            crate::resources::describe(&self.settings),
        ));
    }

    /// Runs until the server stops; returns the process exit code.
    pub fn run(mut self) -> i32 {
        lockfile::set_line(
            &self.lock_path,
            lockfile::LINE_PM_STATUS,
            lockfile::STATUS_STARTING,
        );
        self.start_phase(StartPhase::Boot);
        loop {
            let timeout = self.sleep_time();
            self.wait(timeout);
            self.self_pipe.drain();
            self.process_shutdown_requests();
            if signals::take(libc::SIGHUP) {
                self.reload();
            }
            if signals::take(libc::SIGCHLD) {
                self.reap();
            }
            if signals::take(libc::SIGUSR1) {
                self.handle_pm_signals();
            }
            self.accept_connections();
            self.timers();
            if let Some(code) = self.advance() {
                return self.exit(code);
            }
        }
    }

    fn sleep_time(&self) -> Duration {
        if let Some(t) = self.abort_start {
            if !self.sigkill_sent {
                return SIGKILL_CHILDREN_AFTER
                    .saturating_sub(t.elapsed())
                    .max(Duration::from_millis(10));
            }
        }
        Duration::from_secs(1)
    }

    /// Whether new connections are taken at all (refused ones included,
    /// so that clients hear why). Not once the postmaster only waits for
    /// its last children, nor after the SIGKILL deadline of an immediate
    /// shutdown or a crash: a stream of clients must not keep it from
    /// finishing. Not either for a moment after accept() failed (out of
    /// descriptors), so the loop does not spin.
    fn accepting(&self) -> bool {
        !matches!(self.state, PmState::WaitDeadEnd | PmState::NoChildren)
            && !self.sigkill_sent
            && self.accept_backoff.is_none_or(|t| Instant::now() >= t)
    }

    fn wait(&mut self, timeout: Duration) {
        let mut fds: Vec<libc::pollfd> = vec![libc::pollfd {
            fd: self.self_pipe.read_fd,
            events: libc::POLLIN,
            revents: 0,
        }];
        let listeners: &[Listener] = if self.accepting() {
            &self.listeners
        } else {
            &[]
        };
        for l in listeners {
            fds.push(libc::pollfd {
                fd: l.fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // SAFETY: `fds` is a live Vec of `fds.len()` pollfds that poll may
        // write `revents` into; the listeners' fds stay open for the call.
        unsafe {
            libc::poll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                timeout.as_millis() as i32,
            )
        };
    }

    fn process_shutdown_requests(&mut self) {
        // The strongest pending request wins; a weaker one never downgrades.
        let quit = signals::take(libc::SIGQUIT);
        let int = signals::take(libc::SIGINT);
        let term = signals::take(libc::SIGTERM);
        let wanted = if quit {
            Shutdown::Immediate
        } else if int {
            Shutdown::Fast
        } else if term {
            Shutdown::Smart
        } else {
            return;
        };
        if wanted <= self.shutdown {
            return;
        }
        self.shutdown = wanted;
        lockfile::set_line(
            &self.lock_path,
            lockfile::LINE_PM_STATUS,
            lockfile::STATUS_STOPPING,
        );
        match wanted {
            Shutdown::Smart => {
                elog::log("received smart shutdown request");
                if self.backup_in_progress() {
                    elog::log("online backup mode is active; shutdown will wait until pg_backup_stop() is called and its session ends, superusers may still connect");
                }
                if self.state == PmState::Startup {
                    self.state = PmState::StopBackends;
                }
            }
            Shutdown::Fast => {
                elog::log("received fast shutdown request");
                if matches!(self.state, PmState::Run | PmState::Startup) {
                    if self.state == PmState::Run {
                        elog::log("aborting any active transactions");
                    }
                    self.state = PmState::StopBackends;
                }
                // Dead-end children forked before this request only refuse
                // a client that may never speak (too many clients, still
                // starting): end them now, not at authentication_timeout.
                // Those forked from here on say "shutting down" and have a
                // short deadline (see fork_backend); they are not signalled,
                // so a client that sent its startup packet hears why.
                self.signal_children(libc::SIGTERM, |c| c.kind == ChildKind::DeadEnd);
            }
            Shutdown::Immediate => {
                elog::log("received immediate shutdown request");
                self.shared()
                    .control()
                    .quit_reason
                    .store(QUIT_REASON_IMMEDIATE, std::sync::atomic::Ordering::SeqCst);
                self.signal_children(libc::SIGQUIT, |_| true);
                self.state = PmState::WaitBackends;
                self.start_abort_timer();
            }
            Shutdown::None => {}
        }
    }

    fn start_abort_timer(&mut self) {
        if self.abort_start.is_none() {
            self.abort_start = Some(Instant::now());
            self.sigkill_sent = false;
        }
    }

    /// Sends `sig` to matching children and their process groups (every
    /// child leads its own group, so a shell it started gets it too).
    fn signal_children(&self, sig: i32, filter: impl Fn(&Child) -> bool) {
        for c in self.children.iter().filter(|c| filter(c)) {
            // SAFETY: kill has no memory effects. A child not yet reaped
            // cannot have its PID reused, so the signal reaches ours.
            unsafe {
                libc::kill(c.pid, sig);
                libc::kill(-c.pid, sig);
            }
        }
    }

    /// The TLS configuration loaded at start (postmaster only, before
    /// `run`).
    pub fn set_tls(&mut self, tls: Option<std::sync::Arc<crate::tls::TlsConfig>>) {
        self.tls = tls;
    }

    /// Reloads certificate and key as PostgreSQL does: a file that cannot
    /// be loaded keeps the old configuration (and says why); ssl = off
    /// drops it. Postmaster only.
    fn reload_tls(&mut self) {
        if !self.settings.get(keys::SSL) {
            self.tls = None;
            return;
        }
        match crate::tls::load(&self.settings, &self.data_dir) {
            Ok(t) => self.tls = Some(std::sync::Arc::new(t)),
            Err(e) => {
                elog::report(&e.with_severity(Severity::Log));
                elog::log("SSL configuration was not reloaded");
            }
        }
    }

    fn reload(&mut self) {
        if self.shutdown > Shutdown::Smart {
            return;
        }
        elog::log("received SIGHUP, reloading configuration files");
        match tusk_config::load(&self.data_dir, &self.opts.overrides) {
            Ok(new) => {
                let report = self.settings.reload_from(&new);
                for name in report.needs_restart {
                    elog::log(format!(
                        "parameter \"{name}\" cannot be changed without restarting the server"
                    ));
                }
                for name in report.changed {
                    elog::log(format!(
                        "parameter \"{name}\" changed to \"{}\"",
                        self.settings.show(name).unwrap_or_default()
                    ));
                }
                crate::configure_log(&self.settings);
            }
            Err(e) => {
                elog::report(
                    &PgError::new(
                        Severity::Log,
                        sqlstate::CONFIG_FILE_ERROR,
                        format!(
                            "configuration file \"{}\" contains errors; no changes were applied",
                            self.data_dir.join("postgresql.conf").display()
                        ),
                    )
                    .with_detail(e.to_string()),
                );
            }
        }
        match crate::hba::Hba::load(&self.data_dir.join("pg_hba.conf")) {
            Ok(h) => self.hba = h,
            Err(e) => elog::log(format!("pg_hba.conf was not reloaded: {e}")),
        }
        self.reload_tls();
        self.signal_children(libc::SIGHUP, |c| c.kind != ChildKind::DeadEnd);
    }

    fn reap(&mut self) {
        loop {
            let mut status = 0;
            // SAFETY: waitpid writes one int into the local `status`;
            // WNOHANG never blocks the postmaster's loop.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            let Some(pos) = self.children.iter().position(|c| c.pid == pid) else {
                continue;
            };
            let child = self.children.remove(pos);
            let clean = libc::WIFEXITED(status) && matches!(libc::WEXITSTATUS(status), 0 | 1);
            match child.kind {
                ChildKind::DeadEnd => {}
                ChildKind::Aux(a) => self.reap_aux(&child, a, status),
                ChildKind::Backend | ChildKind::AutovacWorker => {
                    if !clean {
                        self.handle_crash(&child, status);
                    }
                }
            }
        }
    }

    /// An auxiliary process exited: what its table entry says that means.
    fn reap_aux(&mut self, child: &Child, aux: Aux, status: i32) {
        let spec = aux.spec();
        let exited = |code| libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == code;
        if exited(0) {
            match spec.clean_exit {
                CleanExit::RecoveryFinished => {
                    self.on_recovery_finished();
                    return;
                }
                CleanExit::ShutdownDone if self.state == PmState::ShutdownCheckpoint => {
                    self.state = PmState::WaitDeadEnd;
                    return;
                }
                CleanExit::ShutdownDone => {}
                CleanExit::Stopped if self.shutdown > Shutdown::None => return,
                CleanExit::Stopped => {}
            }
        }
        // Told to stop: SIGQUIT (immediate), or its stop signal in a
        // shutdown (exit 1).
        if self.shutdown == Shutdown::Immediate
            || (self.shutdown > Shutdown::None && spec.stop == StopPhase::WithBackends && exited(1))
        {
            return;
        }
        match spec.on_failure {
            OnFailure::AbortServer => {
                // Recovery failed, on a first start or in a crash restart
                // alike: starting again would fail again.
                self.log_child_exit(child, status);
                elog::report(&PgError::new(
                    Severity::Log,
                    sqlstate::SUCCESSFUL_COMPLETION,
                    "aborting startup due to startup process failure",
                ));
                self.shutdown = Shutdown::Immediate;
                self.fatal_error = true;
                self.signal_children(libc::SIGQUIT, |_| true);
                self.state = PmState::WaitBackends;
                self.start_abort_timer();
            }
            // Any other exit is a crash (ignored when already tearing down).
            OnFailure::CrashRestart => self.handle_crash(child, status),
        }
    }

    /// SIGUSR1: the reasons children raised in shared memory. Each is
    /// acted on only in the state where it makes sense and while the
    /// child that sends it exists (see `PmSignal`).
    fn handle_pm_signals(&mut self) {
        for why in self.shared().control().take_pm_signals() {
            match why {
                PmSignal::RecoveryFinished => {
                    let recovering = self.children.iter().any(|c| {
                        matches!(c.kind, ChildKind::Aux(a)
                            if a.spec().clean_exit == CleanExit::RecoveryFinished)
                    });
                    if self.state == PmState::Startup && recovering {
                        self.on_recovery_finished();
                    }
                }
                PmSignal::CheckpointerReady => {
                    for c in self.children.iter_mut() {
                        if matches!(c.kind, ChildKind::Aux(a) if a.spec().ready == Some(why)) {
                            c.ready = true;
                        }
                    }
                    self.enter_run_if_ready();
                }
                PmSignal::StartAutovacWorker => self.start_autovac_worker(),
            }
        }
    }

    /// The launcher asked for a worker: forked while the server runs
    /// normally and fewer than autovacuum_max_workers exist. The request
    /// is taken either way, so the launcher may ask again next round.
    fn start_autovac_worker(&mut self) {
        let Some(stats) = self.shared().child_table_stats() else {
            return;
        };
        let db = stats
            .header()
            .av_target_db
            .swap(0, std::sync::atomic::Ordering::AcqRel);
        let max = self.settings.int("autovacuum_max_workers").max(1) as usize;
        if db == 0
            || self.state != PmState::Run
            || self.shutdown > Shutdown::None
            || self.fatal_error
            || self.count(|c| c.kind == ChildKind::AutovacWorker) >= max
        {
            return;
        }
        self.fork_autovac_worker(db);
    }

    fn log_child_exit(&self, c: &Child, status: i32) {
        let what = format!("{} (PID {})", c.kind.describe(), c.pid);
        let msg = if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            format!(
                "{what} was terminated by signal {sig}: {}",
                signal_name(sig)
            )
        } else {
            format!("{what} exited with exit code {}", libc::WEXITSTATUS(status))
        };
        elog::log(msg);
    }

    /// A child died in a way that may have left shared memory corrupt.
    fn handle_crash(&mut self, c: &Child, status: i32) {
        if self.fatal_error || self.shutdown == Shutdown::Immediate {
            // Already tearing everything down; one more death changes nothing.
            return;
        }
        self.log_child_exit(c, status);
        elog::log("terminating any other active server processes");
        self.fatal_error = true;
        self.shared()
            .control()
            .quit_reason
            .store(QUIT_REASON_CRASH, std::sync::atomic::Ordering::SeqCst);
        self.signal_children(libc::SIGQUIT, |_| true);
        self.state = PmState::WaitBackends;
        self.start_abort_timer();
    }

    /// Recovery is done: the crash cycle is over, and the processes that
    /// run once the cluster is consistent start. Connections are accepted
    /// once they are ready (`enter_run_if_ready`).
    fn on_recovery_finished(&mut self) {
        if self.shutdown > Shutdown::None || self.recovery_finished {
            return;
        }
        self.recovery_finished = true;
        self.fatal_error = false;
        self.abort_start = None;
        self.start_phase(StartPhase::AfterRecovery);
        self.enter_run_if_ready();
    }

    /// Starts every auxiliary process of `phase` that is not running.
    fn start_phase(&mut self, phase: StartPhase) {
        for spec in AUX_PROCESSES.iter().filter(|s| s.start == phase) {
            if !self.aux_running(spec.aux) && self.shutdown != Shutdown::Immediate {
                self.fork_aux(spec.aux);
            }
        }
    }

    fn aux_running(&self, aux: Aux) -> bool {
        self.children.iter().any(|c| c.kind == ChildKind::Aux(aux))
    }

    /// Run: recovery has finished and every running auxiliary process
    /// that reports readiness has done so.
    fn enter_run_if_ready(&mut self) {
        if self.state != PmState::Startup
            || !self.recovery_finished
            || self.shutdown > Shutdown::None
        {
            return;
        }
        let waiting = self.children.iter().any(|c| {
            matches!(c.kind, ChildKind::Aux(a) if a.spec().ready.is_some() && a.spec().start == StartPhase::AfterRecovery)
                && !c.ready
        });
        if waiting {
            return;
        }
        self.state = PmState::Run;
        lockfile::set_line(
            &self.lock_path,
            lockfile::LINE_PM_STATUS,
            lockfile::STATUS_READY,
        );
        elog::log("database system is ready to accept connections");
    }

    fn timers(&mut self) {
        if let Some(t) = self.abort_start {
            if !self.sigkill_sent
                && t.elapsed() >= SIGKILL_CHILDREN_AFTER
                && !self.children.is_empty()
            {
                elog::log("issuing SIGKILL to recalcitrant children");
                self.signal_children(libc::SIGKILL, |_| true);
                self.sigkill_sent = true;
            }
        }
        if self.last_lock_check.elapsed() >= LOCK_RECHECK_INTERVAL {
            self.last_lock_check = Instant::now();
            if let Err(why) = lockfile::still_ours(&self.lock_path) {
                elog::log(why);
                elog::log(
                    "performing immediate shutdown because data directory lock file is invalid",
                );
                signals::raise_flag(libc::SIGQUIT);
            }
        }
    }

    fn count(&self, f: impl Fn(&Child) -> bool) -> usize {
        self.children.iter().filter(|c| f(c)).count()
    }

    /// Moves the state machine; returns an exit code when the postmaster
    /// should exit.
    fn advance(&mut self) -> Option<i32> {
        if self.shutdown == Shutdown::Smart
            && self.state == PmState::Run
            && self.count(|c| c.kind == ChildKind::Backend) == 0
        {
            self.state = PmState::StopBackends;
        }
        if self.state == PmState::StopBackends {
            for c in &self.children {
                let sig = match c.kind {
                    ChildKind::Backend | ChildKind::AutovacWorker => libc::SIGTERM,
                    ChildKind::Aux(a) if a.spec().stop == StopPhase::WithBackends => {
                        a.spec().stop_signal
                    }
                    _ => continue,
                };
                // SAFETY: kill has no memory effects; each child leads its
                // own process group.
                unsafe {
                    libc::kill(c.pid, sig);
                    libc::kill(-c.pid, sig);
                }
            }
            self.state = PmState::WaitBackends;
        }
        if self.state == PmState::WaitBackends {
            if self.shutdown == Shutdown::Immediate
                || (self.fatal_error && self.shutdown > Shutdown::None)
            {
                if self.children.is_empty() {
                    self.state = PmState::NoChildren;
                }
            } else if self.fatal_error {
                // Crash restart: every child that may touch shared memory
                // must be gone. Dead-end children never do; they finish
                // telling their clients "in recovery mode" on their own.
                if self.children.iter().all(|c| c.kind == ChildKind::DeadEnd) {
                    self.state = PmState::NoChildren;
                }
            } else if self.count(|c| match c.kind {
                ChildKind::Backend | ChildKind::AutovacWorker => true,
                ChildKind::Aux(a) => a.spec().stop == StopPhase::WithBackends,
                ChildKind::DeadEnd => false,
            }) == 0
            {
                // Backends are gone: the last auxiliary processes (the
                // checkpointer: the shutdown checkpoint) are told to finish,
                // started first if they are not running.
                for spec in AUX_PROCESSES.iter().filter(|s| s.stop == StopPhase::Last) {
                    if !self.aux_running(spec.aux) && self.shutdown != Shutdown::Immediate {
                        self.fork_aux(spec.aux);
                    }
                }
                // A failed fork has turned this into an immediate stop.
                if self.shutdown != Shutdown::Immediate {
                    for spec in AUX_PROCESSES.iter().filter(|s| s.stop == StopPhase::Last) {
                        self.signal_children(spec.stop_signal, |c| {
                            c.kind == ChildKind::Aux(spec.aux)
                        });
                    }
                    self.state = PmState::ShutdownCheckpoint;
                }
            }
        }
        if self.state == PmState::WaitDeadEnd && self.children.is_empty() {
            self.state = PmState::NoChildren;
        }
        if self.state == PmState::NoChildren {
            if self.shutdown > Shutdown::None {
                if self.fatal_error {
                    elog::log("abnormal database system shutdown");
                    return Some(1);
                }
                return Some(0);
            }
            if self.fatal_error {
                if !self.settings.bool("restart_after_crash") {
                    elog::log("shutting down because \"restart_after_crash\" is off");
                    return Some(1);
                }
                return self.crash_restart();
            }
        }
        None
    }

    fn crash_restart(&mut self) -> Option<i32> {
        elog::log("all server processes terminated; reinitializing");
        if let Some(old) = self.shared.take() {
            old.destroy();
        }
        match Shared::create(&self.settings, &self.data_dir, self.port) {
            Ok(sh) => {
                lockfile::set_line(
                    &self.lock_path,
                    lockfile::LINE_SHMEM_KEY,
                    &lockfile::shmem_line(sh.key(), sh.id()),
                );
                self.shared = Some(sh);
            }
            Err(e) => {
                elog::report(&e);
                return Some(1);
            }
        }
        self.abort_start = None;
        self.sigkill_sent = false;
        self.state = PmState::Startup;
        self.recovery_finished = false;
        self.start_phase(StartPhase::Boot);
        None
    }

    fn connection_state(&self) -> Cac {
        if self.shutdown == Shutdown::Smart
            && self.state == PmState::Run
            && self.backup_in_progress()
        {
            // R14: during a smart shutdown with an online backup running,
            // superusers may still connect (the backend checks the role).
            return Cac::SuperuserOnly;
        }
        if self.shutdown > Shutdown::None {
            return Cac::Shutdown;
        }
        if self.fatal_error {
            return Cac::Recovery;
        }
        if self.state == PmState::Startup {
            return Cac::Startup;
        }
        let max_children = 2 * self.settings.get(keys::MAX_CONNECTIONS) as usize;
        if self.count(|c| c.kind == ChildKind::Backend) >= max_children {
            return Cac::TooMany;
        }
        Cac::Ok
    }

    fn accept_connections(&mut self) {
        if !self.accepting() {
            return;
        }
        for i in 0..self.listeners.len() {
            // Bounded per wake-up so signals are not starved by a flood.
            for _ in 0..64 {
                match sockets::accept(&self.listeners[i]) {
                    Ok(Some((sock, peer))) => self.fork_backend(sock, peer),
                    Ok(None) => break,
                    Err(e) => {
                        elog::log(format!("could not accept new connection: {e}"));
                        self.accept_backoff = Some(Instant::now() + Duration::from_millis(100));
                        return;
                    }
                }
            }
        }
    }

    /// Code that runs in every child right after fork: drop what belongs
    /// to the postmaster, watch for its death, take own signal handlers.
    /// Runs in the child with every signal blocked (see `block_all_signals`)
    /// and unblocks them once its own handlers are in place.
    fn become_child(&self, kind_name: &'static str) -> SelfPipe {
        for l in &self.listeners {
            // SAFETY: closes the child's copy of a listen socket. The
            // `Listener` values stay in this copy of `Postmaster` but are
            // never used or dropped: every child main is `-> !` and ends
            // through proc_exit or _exit, so the fd is not closed twice.
            unsafe { libc::close(l.fd()) };
        }
        self.self_pipe.close();
        // SAFETY: close of the child's copy of the death pipe's write end
        // (only the postmaster may hold it, or EOF never comes); setsid
        // and prctl take no pointers. Fork safety: the postmaster has a
        // single thread, so the child's heap and libc state are
        // consistent, and all signals are still blocked here.
        unsafe {
            libc::close(self.death_pipe.1);
            libc::setsid();
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGPWR);
        }
        // The postmaster's exit callbacks are not the child's to run.
        tusk_storage::exit::on_exit_reset();
        // SAFETY: _exit never returns and runs no user-space code. A child
        // that cannot set itself up has registered no exit callback and
        // attached nothing it must release, so ending it at once is
        // complete (the same holds for the _exit calls below).
        let pipe = SelfPipe::new().unwrap_or_else(|_| unsafe { libc::_exit(1) });
        if let Err(e) = signals::install_child(&pipe, self.death_pipe.0) {
            elog::log(e.to_string());
            // SAFETY: _exit ends this just-forked child without running
            // the parent's exit callbacks or flushing its stdio buffers,
            // which belong to the postmaster.
            unsafe { libc::_exit(1) };
        }
        // The postmaster may have died before PR_SET_PDEATHSIG took effect.
        // SAFETY: getppid cannot fail and touches no memory of ours.
        if unsafe { libc::getppid() } != self.postmaster_pid() {
            // SAFETY: see above.
            unsafe { libc::_exit(1) };
        }
        elog::set_backend_type(kind_name);
        crate::oom::child_adjust(&self.settings);
        // SAFETY: a zeroed sigset_t is a valid value that sigemptyset then
        // initialises; sigprocmask only reads it. The handlers are
        // installed, so unblocking delivers any signal held since fork.
        unsafe {
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        }
        pipe
    }

    fn postmaster_pid(&self) -> i32 {
        // The postmaster's own pid, captured before fork by the caller.
        PM_PID.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn fork_backend(&mut self, sock: OwnedFd, peer: Option<std::net::SocketAddr>) {
        let cac = self.connection_state();
        let cancel_key = random_i32();
        let old_mask = block_all_signals();
        // SAFETY: the postmaster has one thread (no thread is ever spawned
        // in the server), so the child's copy of the heap and of libc's
        // locks is consistent and it may allocate. All signals are blocked
        // until the child has installed its own handlers.
        let pid = unsafe { libc::fork() };
        if pid != 0 {
            restore_signals(&old_mask);
        }
        if pid < 0 {
            let err = std::io::Error::last_os_error();
            elog::log(format!("could not fork new process for connection: {err}"));
            // The old protocol's error format, as PostgreSQL: one try, non-blocking.
            let msg = format!("Ecould not fork new process for connection: {err}\n\0");
            // SAFETY: send reads `msg.len()` bytes of the live String; the
            // socket is owned by `sock`; it never blocks or raises SIGPIPE.
            unsafe {
                libc::send(
                    sock.as_raw_fd(),
                    msg.as_ptr() as *const libc::c_void,
                    msg.len(),
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            };
            return;
        }
        if pid == 0 {
            let pipe = self.become_child(if matches!(cac, Cac::Ok | Cac::SuperuserOnly) {
                "client backend"
            } else {
                "dead-end client backend"
            });
            let env = BackendEnv {
                socket: Some(sock),
                peer,
                cac,
                cancel_key,
                // A client refused while everything is being torn down gets
                // a short deadline, so a silent one cannot hold it up.
                auth_timeout: if cac != Cac::Ok
                    && (self.abort_start.is_some() || self.shutdown > Shutdown::None)
                {
                    Duration::from_secs(2)
                } else {
                    Duration::from_secs(
                        self.settings.get(keys::AUTHENTICATION_TIMEOUT).max(1) as u64
                    )
                },
                settings: self.settings.clone(),
                data_dir: self.data_dir.clone(),
                // SAFETY: in the forked child, which keeps the segment
                // mapped until it exits (backend::run never returns).
                shared: unsafe { self.shared().child_handle() },
                children: self.children.clone(),
                hba: self.hba.clone(),
                tls: self.tls.clone(),
                overrides: self.opts.overrides.clone(),
                death_fd: self.death_pipe.0,
                self_pipe: pipe,
                superuser_reserved: self.settings.get(keys::SUPERUSER_RESERVED_CONNECTIONS)
                    as usize,
            };
            backend::run(env);
        }
        drop(sock);
        // A session admitted only for superusers is a full backend: it is
        // cancelled, reloaded, terminated and crash-supervised like any.
        let kind = if matches!(cac, Cac::Ok | Cac::SuperuserOnly) {
            ChildKind::Backend
        } else {
            ChildKind::DeadEnd
        };
        self.children.push(Child {
            pid,
            kind,
            cancel_key,
            ready: false,
        });
    }

    /// Forks an autovacuum worker for database `db` (a backend fed by a
    /// socket pair: autovacuum.rs). A failed fork is logged; the launcher
    /// asks again next round.
    fn fork_autovac_worker(&mut self, db: u32) {
        let cancel_key = random_i32();
        let old_mask = block_all_signals();
        // SAFETY: as in `fork_backend`: a single-threaded parent and every
        // signal blocked until the child's handlers are in place.
        let pid = unsafe { libc::fork() };
        if pid != 0 {
            restore_signals(&old_mask);
        }
        if pid < 0 {
            elog::log(format!(
                "could not fork autovacuum worker process: {}",
                std::io::Error::last_os_error()
            ));
            return;
        }
        if pid == 0 {
            let pipe = self.become_child("autovacuum worker");
            let env = BackendEnv {
                socket: None,
                peer: None,
                cac: Cac::Ok,
                cancel_key,
                auth_timeout: Duration::from_secs(
                    self.settings.get(keys::AUTHENTICATION_TIMEOUT).max(1) as u64,
                ),
                settings: self.settings.clone(),
                data_dir: self.data_dir.clone(),
                // SAFETY: in the forked child, which keeps the segment
                // mapped until it exits (the worker never returns).
                shared: unsafe { self.shared().child_handle() },
                children: self.children.clone(),
                hba: self.hba.clone(),
                tls: None,
                overrides: self.opts.overrides.clone(),
                death_fd: self.death_pipe.0,
                self_pipe: pipe,
                superuser_reserved: 0,
            };
            crate::autovacuum::worker_main(env, db);
        }
        self.children.push(Child {
            pid,
            kind: ChildKind::AutovacWorker,
            cancel_key,
            ready: false,
        });
    }

    /// Forks the auxiliary process `aux` and runs its table entry's main.
    fn fork_aux(&mut self, aux: Aux) {
        let spec = aux.spec();
        let old_mask = block_all_signals();
        // SAFETY: as in `fork_backend`: a single-threaded parent and every
        // signal blocked until the child's handlers are in place.
        let pid = unsafe { libc::fork() };
        if pid != 0 {
            restore_signals(&old_mask);
        }
        if pid < 0 {
            elog::log(format!(
                "could not fork {}: {}",
                spec.describe,
                std::io::Error::last_os_error()
            ));
            // Without its startup process or checkpointer the server can
            // neither open nor shut down cleanly: stop, as PostgreSQL does.
            elog::log("shutting down because a required auxiliary process could not be started");
            self.fatal_error = true;
            self.shutdown = Shutdown::Immediate;
            self.signal_children(libc::SIGQUIT, |_| true);
            self.state = PmState::WaitBackends;
            self.start_abort_timer();
            return;
        }
        if pid == 0 {
            let pipe = self.become_child(spec.name);
            crate::pstitle::set_fixed(
                self.settings.get(keys::CLUSTER_NAME),
                self.settings.get(keys::UPDATE_PROCESS_TITLE),
                spec.name,
                "",
            );
            let env = auxproc::AuxEnv {
                data_dir: self.data_dir.clone(),
                settings: self.settings.clone(),
                overrides: self.opts.overrides.clone(),
                // SAFETY: in the forked child, which keeps the segment
                // mapped until it exits (an aux main never returns).
                shared: unsafe { self.shared().child_handle() },
                death_fd: self.death_pipe.0,
                self_pipe: pipe,
            };
            (spec.main)(env);
        }
        self.children.push(Child {
            pid,
            kind: ChildKind::Aux(aux),
            cancel_key: 0,
            ready: false,
        });
    }

    /// Removes what the postmaster made, newest first, and exits.
    fn exit(mut self, code: i32) -> i32 {
        if let Some(sh) = self.shared.take() {
            sh.destroy();
        }
        // Dropping the sockets closes them (closing by hand as well would
        // close a descriptor twice).
        self.listeners.clear();
        for f in self.socket_files.iter().rev() {
            let _ = std::fs::remove_file(f);
        }
        let _ = std::fs::remove_file(&self.lock_path);
        if code == 0 {
            elog::log("database system is shut down");
        }
        code
    }
}

/// Blocks every signal and returns the previous mask. Children are forked
/// with signals blocked and unblock them only after installing their own
/// handlers: a signal sent right after fork (a shutdown request to a
/// just-started checkpointer) is then held, not lost to the postmaster's
/// inherited dispositions.
fn block_all_signals() -> libc::sigset_t {
    // SAFETY: zeroed sigset_t values are valid and are initialised by
    // sigfillset / written by sigprocmask; both are locals.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, &mut old);
        old
    }
}

fn restore_signals(old: &libc::sigset_t) {
    // SAFETY: `old` is a mask sigprocmask filled in `block_all_signals`.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, old, std::ptr::null_mut()) };
}

pub static PM_PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// `postmaster.opts`: how this server was started, for `pg_ctl restart`.
fn write_opts_file(data_dir: &Path, opts: &ServerOptions) {
    let mut line = opts.exe.clone();
    for a in &opts.argv {
        line.push_str(&format!(" \"{a}\""));
    }
    line.push('\n');
    if let Err(e) = std::fs::write(data_dir.join("postmaster.opts"), line) {
        elog::warning(format!("could not write file \"postmaster.opts\": {e}"));
    }
}
