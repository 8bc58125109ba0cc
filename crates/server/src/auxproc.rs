//! Auxiliary processes: the startup process (recovery) and the
//! checkpointer (checkpoints, and the shutdown checkpoint), described by
//! one static table, [`AUX_PROCESSES`].
//!
//! Why a table: the postmaster's start-up, shutdown and crash handling
//! treat every auxiliary process by its entry (when it starts, whether it
//! must report ready before connections are accepted, when and with which
//! signal it is stopped, what its exits mean), so adding the walwriter,
//! the background writer or the autovacuum launcher is one entry and one
//! main function, and no code path runs some process for a kind it does
//! not know.
//!
//! Each takes its fixed proc slot, with its latch and semaphore, so it can
//! sleep and be woken like any other process: the checkpointer sleeps on
//! its latch, which a backend sets to request a checkpoint, and sets the
//! requesters' latches when the checkpoint is done. Until the buffer pool
//! and WAL exist, recovery and checkpoints act on `pg_control` and the
//! commit log: the startup process notices an unclean stop, loads the
//! next xid from the last checkpoint into shared memory (`transam`) and
//! marks the cluster in production; a checkpoint writes back the
//! commit-status cache, then records the next xid (and, at shutdown, the
//! clean state) in pg_control. That is exactly what the next start reads.
//!
//! These two are the only writers of pg_control: they change the shared
//! copy and the file together through a [`PgControlWriter`], under the
//! area's lock, so their updates never interleave.

use crate::shmem::ChildShared;
use crate::signals::{self, SelfPipe};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tusk_common::elog;
use tusk_config::Settings;
use tusk_storage::clogbuffers::Clog;
use tusk_storage::control::{ControlError, DbState, PgControlWriter};
use tusk_storage::exit::{on_shmem_exit, proc_exit};
use tusk_storage::latch::{self, WaitFor};
use tusk_storage::procarray::{PmSignal, ProcArray, ProcKind, WaitEvent};

/// The auxiliary processes, one per [`AUX_PROCESSES`] entry (in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aux {
    Startup = 0,
    Checkpointer = 1,
}

/// When the postmaster starts an auxiliary process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPhase {
    /// First thing, at start and after a crash: before anything else runs.
    Boot,
    /// Once recovery has finished, before connections are accepted.
    AfterRecovery,
}

/// When a shutdown stops it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopPhase {
    /// Together with the backends; the shutdown waits for it as for them.
    WithBackends,
    /// After every backend (and every `WithBackends` process) is gone:
    /// the shutdown checkpoint. Started for that if it is not running.
    Last,
}

/// What the postmaster does when it exits in any way its entry does not
/// expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Stop the server: starting it again would fail the same way.
    AbortServer,
    /// It may have corrupted shared memory: crash restart.
    CrashRestart,
}

/// What exit code 0 means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanExit {
    /// Recovery finished (unless it already said so by a postmaster signal).
    RecoveryFinished,
    /// The shutdown checkpoint is written; expected only during a shutdown
    /// (elsewhere it is a failure).
    ShutdownDone,
}

/// One auxiliary process.
pub struct AuxSpec {
    pub aux: Aux,
    /// Its name in the log's backend type and in its process title.
    pub name: &'static str,
    /// Its name in the postmaster's messages ("checkpointer process").
    pub describe: &'static str,
    pub main: fn(AuxEnv) -> !,
    pub start: StartPhase,
    /// The postmaster signal by which it reports that it is ready; the
    /// server accepts connections only once every running process that
    /// has one has sent it.
    pub ready: Option<PmSignal>,
    pub stop: StopPhase,
    /// The signal that stops it in a smart or fast shutdown.
    pub stop_signal: libc::c_int,
    pub on_failure: OnFailure,
    pub clean_exit: CleanExit,
}

/// Every auxiliary process, indexed by [`Aux`].
pub static AUX_PROCESSES: [AuxSpec; 2] = [
    AuxSpec {
        aux: Aux::Startup,
        name: "startup",
        describe: "startup process",
        main: startup_main,
        start: StartPhase::Boot,
        ready: None,
        stop: StopPhase::WithBackends,
        stop_signal: libc::SIGTERM,
        on_failure: OnFailure::AbortServer,
        clean_exit: CleanExit::RecoveryFinished,
    },
    AuxSpec {
        aux: Aux::Checkpointer,
        name: "checkpointer",
        describe: "checkpointer process",
        main: checkpointer_main,
        start: StartPhase::AfterRecovery,
        ready: Some(PmSignal::CheckpointerReady),
        stop: StopPhase::Last,
        // SIGTERM is ignored: it must outlive the backends.
        stop_signal: libc::SIGUSR2,
        on_failure: OnFailure::CrashRestart,
        clean_exit: CleanExit::ShutdownDone,
    },
];

impl Aux {
    pub fn spec(self) -> &'static AuxSpec {
        &AUX_PROCESSES[self as usize]
    }
}

pub struct AuxEnv {
    pub data_dir: PathBuf,
    pub settings: Settings,
    pub shared: ChildShared,
    pub death_fd: i32,
    pub self_pipe: SelfPipe,
}

/// EOF (or hang-up) on the death pipe means the postmaster is gone. A
/// poll interrupted by a signal proves nothing, so it counts as alive; the
/// next loop looks again.
fn postmaster_alive(death_fd: i32) -> bool {
    let mut p = libc::pollfd {
        fd: death_fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n <= 0
}

/// What a checkpoint does about transactions: write back and fsync the
/// commit-status cache, and record the next xid.
struct CheckpointXacts {
    shared: ChildShared,
    slot: u32,
    /// `None` when `pg_xact/` cannot be opened (reported once at start):
    /// nothing in the server assigns xids yet, so nothing is lost.
    clog: Option<Clog>,
}

/// One checkpoint. Until the buffer pool and WAL exist there is nothing
/// dirty to write but the commit-status cache and no checkpoint record:
/// the checkpoint writes the commit log ([`Clog::checkpoint`]), then
/// records its time and the next xid in pg_control and, for the shutdown
/// checkpoint, the clean state — in that order, so every status below
/// the recorded next xid is on disk when pg_control says so.
/// Checkpointer only.
fn checkpoint(
    w: &PgControlWriter<ChildShared>,
    x: &CheckpointXacts,
    shutdown: bool,
) -> Result<(), String> {
    if let Some(clog) = &x.clog {
        clog.checkpoint(&x.shared, x.slot)
            .map_err(|e| match e.detail {
                Some(d) => format!("{}: {d}", e.message),
                None => e.message,
            })?;
    }
    let next_xid = x
        .shared
        .transam()
        .filter(|t| t.is_loaded())
        .map(|t| t.next_xid());
    w.update(|c| {
        c.checkpoint_copy.time = tusk_common::time::now_micros() / 1_000_000;
        if let Some(n) = next_xid {
            c.checkpoint_copy.next_xid = n;
        }
        if shutdown {
            c.set_state(DbState::Shutdowned);
        }
    })
    .map(|_| ())
    .map_err(|e: ControlError| e.to_string())
}

/// Runs recovery and exits 0 when the cluster is ready.
pub fn startup_main(env: AuxEnv) -> ! {
    let slot = env
        .shared
        .procs
        .acquire_aux(ProcKind::Startup, std::process::id() as i32);
    let procs = env.shared.procs;
    let _ = on_shmem_exit("release the proc slot", move |_| procs.release(slot));
    let w = env
        .shared
        .pg_control_writer(ProcKind::Startup, &env.data_dir, slot);
    // Read pg_control into shared memory: the cluster's state as the last
    // writer left it. A damaged file ends start-up here.
    let c = match w.load() {
        Ok(c) => c,
        Err(e) => {
            elog::report(&e.to_pg_error(tusk_common::Severity::Fatal));
            proc_exit(3);
        }
    };
    // The xid counter and the commit log's start point, from the last
    // checkpoint (WAL redo, once it exists, moves the counter further).
    let next_xid = c.checkpoint_copy.next_xid;
    if let Some(t) = env.shared.transam() {
        t.startup(next_xid);
    }
    match env.shared.clog(&env.data_dir) {
        Ok(clog) => clog.startup(next_xid),
        Err(e) => elog::report(&e.with_severity(tusk_common::Severity::Warning)),
    }
    let last_up = tusk_common::time::format_log_time(c.time * 1_000_000, false);
    match c.state() {
        DbState::Shutdowned => elog::log(format!("database system was shut down at {last_up}")),
        other => {
            elog::log(format!(
                "database system was interrupted while {}; last known up at {last_up}",
                other.describe(),
            ));
            elog::log("database system was not properly shut down; automatic recovery in progress");
            let _ = w.update(|c| c.set_state(DbState::InCrashRecovery));
            // WAL replay goes here once WAL exists.
            elog::log("redo is not required");
        }
    }
    let code = match w.update(|c| c.set_state(DbState::InProduction)) {
        Ok(_) => {
            // The postmaster may go on (start the checkpointer) without
            // waiting for this process to be reaped.
            signals::signal_postmaster(env.shared.control(), PmSignal::RecoveryFinished);
            0
        }
        Err(e) => {
            elog::report(&e.to_pg_error(tusk_common::Severity::Fatal));
            3
        }
    };
    proc_exit(code);
}

/// Wakes every backend waiting for a checkpoint (`CHECKPOINT`): each
/// looks at the shared counters itself, so a spurious wakeup costs one
/// check. Called by the checkpointer when a checkpoint starts and ends.
fn wake_checkpoint_waiters(procs: &ProcArray) {
    for i in 0..procs.len() {
        let w = procs.proc(i).waits();
        if w.checkpoint_wait.load(Ordering::SeqCst) != 0 {
            w.latch.set();
        }
    }
}

/// Runs a requested checkpoint if there is one, and tells its requesters
/// how it went.
fn serve_requests(env: &AuxEnv, w: &PgControlWriter<ChildShared>, x: &CheckpointXacts) {
    let control = env.shared.control();
    let Some(n) = control.start_requested_checkpoint() else {
        return;
    };
    wake_checkpoint_waiters(&env.shared.procs);
    elog::log("checkpoint starting: immediate force wait");
    let ok = match checkpoint(w, x, false) {
        Ok(()) => {
            elog::log("checkpoint complete");
            true
        }
        Err(e) => {
            elog::report(&tusk_common::PgError::error(
                tusk_common::sqlstate::IO_ERROR,
                format!("checkpoint failed: {e}"),
            ));
            false
        }
    };
    control.finish_checkpoint(n, ok);
    wake_checkpoint_waiters(&env.shared.procs);
}

/// Waits on its latch for checkpoint requests (a backend sets it), the
/// next timed checkpoint, and signals; on SIGUSR2 writes the shutdown
/// checkpoint and exits 0. SIGTERM is ignored, as in PostgreSQL: the
/// checkpointer must outlive the backends to write the last checkpoint.
pub fn checkpointer_main(env: AuxEnv) -> ! {
    let procs = env.shared.procs;
    let slot = procs.acquire_aux(ProcKind::Checkpointer, std::process::id() as i32);
    let _ = on_shmem_exit("release the proc slot", move |_| procs.release(slot));
    if let Some((sem, num)) = env.shared.semaphore(slot) {
        let _ = sem.reset(num);
    }
    let latch = &procs.proc(slot).waits().latch;
    latch.own();
    let w = env
        .shared
        .pg_control_writer(ProcKind::Checkpointer, &env.data_dir, slot);
    // Normally the startup process has loaded it; after a shutdown
    // requested during start-up it may not have. An unreadable file makes
    // every checkpoint fail (reported), never overwrites it.
    if let Err(e) = w.load() {
        elog::report(&e.to_pg_error(tusk_common::Severity::Error));
    }
    let xacts = CheckpointXacts {
        shared: env.shared.clone(),
        slot: slot as u32,
        clog: env
            .shared
            .clog(&env.data_dir)
            .map_err(|e| elog::report(&e.with_severity(tusk_common::Severity::Warning)))
            .ok(),
    };
    // Its slot is taken and pg_control loaded, so a CHECKPOINT finds it:
    // connections may come.
    signals::signal_postmaster(env.shared.control(), PmSignal::CheckpointerReady);
    let interval = Duration::from_secs(env.settings.int("checkpoint_timeout").max(1) as u64);
    let mut next_timed = Instant::now() + interval;
    loop {
        latch.reset();
        if signals::take(libc::SIGUSR2) {
            elog::log("shutting down");
            elog::log("checkpoint starting: shutdown immediate");
            let code = match checkpoint(&w, &xacts, true) {
                Ok(_) => {
                    elog::log("checkpoint complete");
                    0
                }
                Err(e) => {
                    elog::report(&tusk_common::PgError::new(
                        tusk_common::Severity::Panic,
                        tusk_common::sqlstate::IO_ERROR,
                        format!("could not write shutdown checkpoint: {e}"),
                    ));
                    2
                }
            };
            proc_exit(code);
        }
        // SIGINT is PostgreSQL's "checkpoint requested" signal; requests
        // arrive through the shared counters and our latch, so it only
        // wakes us.
        signals::take(libc::SIGINT);
        serve_requests(&env, &w, &xacts);
        signals::take(libc::SIGTERM);
        signals::take(libc::SIGHUP);
        if signals::take(libc::SIGPWR) || !postmaster_alive(env.death_fd) {
            // Orphaned: exit quietly, the next start recovers.
            proc_exit(1);
        }
        if Instant::now() >= next_timed {
            next_timed = Instant::now() + interval;
            if let Err(e) = checkpoint(&w, &xacts, false) {
                elog::warning(format!("checkpoint failed: {e}"));
            }
        }
        procs
            .status(slot)
            .set_wait_event(WaitEvent::CheckpointerMain);
        latch::wait(
            &WaitFor {
                latch: Some(latch),
                socket: None,
                postmaster_death: true,
            },
            Some(next_timed.saturating_duration_since(Instant::now())),
        );
        procs.status(slot).set_wait_event(WaitEvent::None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_indexed_by_kind_and_consistent() {
        for (i, spec) in AUX_PROCESSES.iter().enumerate() {
            assert_eq!(spec.aux as usize, i, "{} is at index {i}", spec.name);
            assert!(std::ptr::eq(spec.aux.spec(), spec));
            assert!(spec.describe.starts_with(spec.name), "{}", spec.describe);
        }
        // Exactly one process writes the shutdown checkpoint, last.
        let last: Vec<&str> = AUX_PROCESSES
            .iter()
            .filter(|s| s.clean_exit == CleanExit::ShutdownDone)
            .map(|s| s.name)
            .collect();
        assert_eq!(last, ["checkpointer"]);
        assert!(AUX_PROCESSES
            .iter()
            .filter(|s| s.clean_exit == CleanExit::ShutdownDone)
            .all(|s| s.stop == StopPhase::Last));
        // Exactly one boots the cluster and reports recovery finished.
        assert_eq!(
            AUX_PROCESSES
                .iter()
                .filter(
                    |s| s.start == StartPhase::Boot && s.clean_exit == CleanExit::RecoveryFinished
                )
                .count(),
            1
        );
    }
}
