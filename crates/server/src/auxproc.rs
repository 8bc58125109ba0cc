//! Auxiliary processes: the startup process (recovery) and the
//! checkpointer (checkpoints, and the shutdown checkpoint).
//!
//! Each takes its fixed proc slot and semaphore, so it can sleep and be
//! woken like any other process. Until the storage engine exists, recovery
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
use std::time::Duration;
use tusk_common::elog;
use tusk_config::Settings;
use tusk_storage::control::{ControlError, DbState, PgControlWriter};
use tusk_storage::procarray::{ProcKind, WaitEvent};

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
fn checkpoint(w: &PgControlWriter, shutdown: bool) -> Result<(), ControlError> {
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
        .pg_control_writer(ProcKind::Startup, &env.data_dir);
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

/// Waits for checkpoint requests; on SIGUSR2 writes the shutdown
/// checkpoint and exits 0. SIGTERM is ignored, as in PostgreSQL: the
/// checkpointer must outlive the backends to write the last checkpoint.
pub fn checkpointer_main(env: AuxEnv) -> ! {
    let slot = env
        .shared
        .procs
        .acquire_aux(ProcKind::Checkpointer, std::process::id() as i32);
    let w = env
        .shared
        .pg_control_writer(ProcKind::Checkpointer, &env.data_dir);
    // Normally the startup process has loaded it; after a shutdown
    // requested during start-up it may not have. An unreadable file makes
    // every checkpoint fail (reported), never overwrites it.
    if let Err(e) = w.load() {
        elog::report(&e.to_pg_error(tusk_common::Severity::Error));
    }
    let (sem, num) = env.shared.semaphore(slot);
    signals::set_wake_semaphore(sem.id(), num);
    let interval = Duration::from_secs(env.settings.int("checkpoint_timeout").max(1) as u64);
    let mut since = std::time::Instant::now();
    loop {
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
            env.shared.procs.release(slot);
            std::process::exit(code);
        }
        if signals::take(libc::SIGINT) {
            // CHECKPOINT: serve every request made so far.
            let control = env.shared.control();
            let upto = control
                .checkpoints_requested
                .load(std::sync::atomic::Ordering::SeqCst);
            if upto
                > control
                    .checkpoints_done
                    .load(std::sync::atomic::Ordering::SeqCst)
            {
                elog::log("checkpoint starting: immediate force wait");
                match checkpoint(&w, false) {
                    Ok(()) => elog::log("checkpoint complete"),
                    Err(e) => elog::report(&tusk_common::PgError::error(
                        tusk_common::sqlstate::IO_ERROR,
                        format!("checkpoint failed: {e}"),
                    )),
                }
                control
                    .checkpoints_done
                    .store(upto, std::sync::atomic::Ordering::SeqCst);
            }
        }
        signals::take(libc::SIGTERM);
        signals::take(libc::SIGHUP);
        if signals::take(libc::SIGPWR) || !postmaster_alive(env.death_fd) {
            // Orphaned: exit quietly, the next start recovers.
            std::process::exit(1);
        }
        if since.elapsed() >= interval {
            since = std::time::Instant::now();
            if let Err(e) = checkpoint(&w, false) {
                elog::warning(format!("checkpoint failed: {e}"));
            }
        }
        env.shared
            .procs
            .status(slot)
            .set_wait_event(WaitEvent::CheckpointerMain);
        let _ = sem.lock_timeout(num, Duration::from_secs(1));
        env.shared
            .procs
            .status(slot)
            .set_wait_event(WaitEvent::None);
    }
}
