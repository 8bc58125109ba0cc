//! Auxiliary processes: the startup process (recovery) and the
//! checkpointer (checkpoints, and the shutdown checkpoint).
//!
//! Each takes its fixed proc slot, with its latch and semaphore, so it can
//! sleep and be woken like any other process: the checkpointer sleeps on
//! its latch, which a backend sets to request a checkpoint, and sets the
//! requesters' latches when the checkpoint is done. Until the storage engine exists, recovery
//! and checkpoints act only on `pg_control`: the startup process notices an
//! unclean stop and marks the cluster in production, and the shutdown
//! checkpoint marks it cleanly shut down. That is exactly what the next
//! start reads to decide whether crash recovery is needed.
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
use tusk_storage::control::{ControlError, DbState, PgControlWriter};
use tusk_storage::latch::{self, WaitFor};
use tusk_storage::procarray::{ProcArray, ProcKind, WaitEvent};

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

/// One checkpoint. Until the buffer pool and WAL exist there is nothing
/// dirty to write and no checkpoint record: the checkpoint records its
/// time in pg_control and, for the shutdown checkpoint, the clean state.
/// Checkpointer only.
fn checkpoint(w: &PgControlWriter<ChildShared>, shutdown: bool) -> Result<(), ControlError> {
    w.update(|c| {
        c.checkpoint_copy.time = tusk_common::time::now_micros() / 1_000_000;
        if shutdown {
            c.set_state(DbState::Shutdowned);
        }
    })
    .map(|_| ())
}

/// Runs recovery and exits 0 when the cluster is ready.
pub fn startup_main(env: AuxEnv) -> ! {
    let slot = env
        .shared
        .procs
        .acquire_aux(ProcKind::Startup, std::process::id() as i32);
    let w = env
        .shared
        .pg_control_writer(ProcKind::Startup, &env.data_dir, slot);
    // Read pg_control into shared memory: the cluster's state as the last
    // writer left it. A damaged file ends start-up here.
    let c = match w.load() {
        Ok(c) => c,
        Err(e) => {
            elog::report(&e.to_pg_error(tusk_common::Severity::Fatal));
            env.shared.procs.release(slot);
            std::process::exit(3);
        }
    };
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
        Ok(_) => 0,
        Err(e) => {
            elog::report(&e.to_pg_error(tusk_common::Severity::Fatal));
            3
        }
    };
    env.shared.procs.release(slot);
    std::process::exit(code);
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
fn serve_requests(env: &AuxEnv, w: &PgControlWriter<ChildShared>) {
    let control = env.shared.control();
    let Some(n) = control.start_requested_checkpoint() else {
        return;
    };
    wake_checkpoint_waiters(&env.shared.procs);
    elog::log("checkpoint starting: immediate force wait");
    let ok = match checkpoint(w, false) {
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
    let interval = Duration::from_secs(env.settings.int("checkpoint_timeout").max(1) as u64);
    let mut next_timed = Instant::now() + interval;
    loop {
        latch.reset();
        if signals::take(libc::SIGUSR2) {
            elog::log("shutting down");
            elog::log("checkpoint starting: shutdown immediate");
            let code = match checkpoint(&w, true) {
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
            procs.release(slot);
            std::process::exit(code);
        }
        // SIGINT is PostgreSQL's "checkpoint requested" signal; requests
        // arrive through the shared counters and our latch, so it only
        // wakes us.
        signals::take(libc::SIGINT);
        serve_requests(&env, &w);
        signals::take(libc::SIGTERM);
        signals::take(libc::SIGHUP);
        if signals::take(libc::SIGPWR) || !postmaster_alive(env.death_fd) {
            // Orphaned: exit quietly, the next start recovers.
            std::process::exit(1);
        }
        if Instant::now() >= next_timed {
            next_timed = Instant::now() + interval;
            if let Err(e) = checkpoint(&w, false) {
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
