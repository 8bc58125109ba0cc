//! Auxiliary processes: the startup process (recovery), the checkpointer
//! (checkpoints, and the shutdown checkpoint), the WAL writer and the
//! background writer, described by one static table, [`AUX_PROCESSES`].
//!
//! Why a table: the postmaster's start-up, shutdown and crash handling
//! treat every auxiliary process by its entry (when it starts, whether it
//! must report ready before connections are accepted, when and with which
//! signal it is stopped, what its exits mean), so adding the background
//! writer or the autovacuum launcher is one entry and one main function,
//! and no code path runs some process for a kind it does not know.
//!
//! Each takes its fixed proc slot, with its latch and semaphore, so it can
//! sleep and be woken like any other process: the checkpointer sleeps on
//! its latch, which a backend sets to request a checkpoint, and sets the
//! requesters' latches when the checkpoint is done; the WAL writer sleeps
//! `wal_writer_delay` between rounds of flushing what was inserted. A
//! checkpoint first writes back the commit-status cache and records the
//! next xid (`transam`) in pg_control's shared copy, then writes its WAL
//! record, which carries that xid, and points pg_control at it: every
//! status below the recorded next xid is on disk when pg_control says so.
//!
//! WAL (`tusk_storage::xlog`): the startup process finds the checkpoint
//! record pg_control points at; after an unclean stop it replays WAL from
//! that checkpoint's redo pointer to the end of valid WAL and writes an
//! end-of-recovery checkpoint; then it opens the WAL for insertion. The
//! checkpointer's checkpoints write the dirty buffers between choosing the
//! redo pointer and writing the record, flush the record and point
//! pg_control at it, then recycle or remove old segments
//! (`tusk_storage::walrecycle`, PostgreSQL 15's sizing). Checkpoints
//! start on `checkpoint_timeout`, on a WAL-volume request (a process that
//! finishes a segment past the max_wal_size trigger sets our latch), on
//! CHECKPOINT and at shutdown; timed and WAL ones are spread over
//! `checkpoint_completion_target` of the interval, the others run at full
//! speed. The background writer cleans buffers ahead of the clock sweep.
//!
//! The startup process and the checkpointer are the only writers of
//! pg_control: they change the shared copy and the file together through
//! a [`PgControlWriter`], under the area's lock, so their updates never
//! interleave.

use crate::shmem::ChildShared;
use crate::signals::{self, SelfPipe};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tusk_common::elog;
use tusk_config::Settings;
use tusk_storage::bufmgr::{BufMgr, FlushStats};
use tusk_storage::clog::XidStatus;
use tusk_storage::clogbuffers::Clog;
use tusk_storage::control::{DbState, PgControlWriter};
use tusk_storage::exit::{on_shmem_exit, proc_exit};
use tusk_storage::latch::{self, WaitFor};
use tusk_storage::procarray::{PmSignal, ProcArray, ProcKind, WaitEvent};
use tusk_storage::wal::lsn_str;
use tusk_storage::walrecycle::{
    on_schedule, preallocate, remove_old_segments, DistanceEstimate, RecycleStats, WalSizing,
};
use tusk_storage::xact::{Release, ResourceOwner};
use tusk_storage::xactwal::XactRedo;
use tusk_storage::xlog::{self, CheckpointKind, Xlog, XlogError};

/// The auxiliary processes, one per [`AUX_PROCESSES`] entry (in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aux {
    Startup = 0,
    Checkpointer = 1,
    WalWriter = 2,
    BgWriter = 3,
    /// Owns no proc slot (autovacuum.rs).
    AutovacLauncher = 4,
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
    /// It stopped because it was told to (its stop signal in a shutdown);
    /// elsewhere a failure.
    Stopped,
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
pub static AUX_PROCESSES: [AuxSpec; 5] = [
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
    AuxSpec {
        aux: Aux::WalWriter,
        name: "walwriter",
        describe: "walwriter process",
        main: walwriter_main,
        start: StartPhase::AfterRecovery,
        ready: None,
        // As PostgreSQL: stopped with the backends; WAL the shutdown
        // checkpoint writes is flushed by the checkpointer itself.
        stop: StopPhase::WithBackends,
        stop_signal: libc::SIGTERM,
        on_failure: OnFailure::CrashRestart,
        clean_exit: CleanExit::Stopped,
    },
    AuxSpec {
        aux: Aux::BgWriter,
        name: "background writer",
        describe: "background writer process",
        main: bgwriter_main,
        start: StartPhase::AfterRecovery,
        ready: None,
        // Stopped with the backends: the shutdown checkpoint writes
        // whatever it left dirty.
        stop: StopPhase::WithBackends,
        stop_signal: libc::SIGTERM,
        on_failure: OnFailure::CrashRestart,
        clean_exit: CleanExit::Stopped,
    },
    AuxSpec {
        aux: Aux::AutovacLauncher,
        name: "autovacuum launcher",
        describe: "autovacuum launcher process",
        main: crate::autovacuum::launcher_main,
        start: StartPhase::AfterRecovery,
        ready: None,
        // As PostgreSQL: stopped with the backends (its workers are
        // backends and get SIGTERM with them).
        stop: StopPhase::WithBackends,
        stop_signal: libc::SIGTERM,
        on_failure: OnFailure::CrashRestart,
        clean_exit: CleanExit::Stopped,
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
    /// The command line's settings, which a reload keeps above the file.
    pub overrides: Vec<(String, String)>,
    pub shared: ChildShared,
    pub death_fd: i32,
    pub self_pipe: SelfPipe,
}

impl AuxEnv {
    /// Re-reads the configuration after SIGHUP, as every process does for
    /// itself; a broken file keeps the old values (the postmaster already
    /// said why). True when the settings were replaced.
    fn reload(&mut self) -> bool {
        match tusk_config::load(&self.data_dir, &self.overrides) {
            Ok(new) => {
                self.settings = new;
                crate::configure_log(&self.settings);
                true
            }
            Err(_) => false,
        }
    }
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
    // SAFETY: `p` is one live pollfd on our stack and nfds is 1; a zero
    // timeout never blocks.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n <= 0
}

/// What a checkpoint does besides the WAL: write every dirty buffer
/// (with this process's buffer manager), write back and fsync the
/// commit-status cache, and record the next xid.
struct CheckpointXacts {
    shared: ChildShared,
    slot: u32,
    /// `None` when the region has no buffer pool (reported once at start).
    bufmgr: Option<BufMgr>,
    /// `None` when `pg_xact/` cannot be opened (reported once at start).
    /// Backends commit into the shared cache, so a checkpoint that cannot
    /// write it back fails rather than move the redo pointer past commit
    /// records whose statuses are only in memory.
    clog: Option<Clog>,
}

impl CheckpointXacts {
    /// Writes back and fsyncs the commit-status cache, then records the
    /// next xid in pg_control's shared copy (the checkpoint record and
    /// pg_control take it from there), in that order.
    fn write_back(&self, w: &PgControlWriter<ChildShared>) -> Result<(), XlogError> {
        let Some(clog) = &self.clog else {
            return Err(XlogError {
                message:
                    "could not open directory \"pg_xact\"; the commit log cannot be written back"
                        .into(),
                corrupt: false,
            });
        };
        {
            clog.checkpoint(&self.shared, self.slot)
                .map_err(|e| XlogError {
                    message: match e.detail {
                        Some(d) => format!("{}: {d}", e.message),
                        None => e.message,
                    },
                    corrupt: false,
                })?;
        }
        let next = self
            .shared
            .transam()
            .filter(|t| t.is_loaded())
            .map(|t| (t.next_xid(), t.next_oid_for_checkpoint()));
        if let Some((xid, oid)) = next {
            w.update(|c| {
                c.checkpoint_copy.next_xid = xid;
                c.checkpoint_copy.next_oid = oid;
            })?;
        }
        Ok(())
    }
}

/// Redo of commit and abort records (the startup process only): the
/// statuses into the commit-status cache (written back by the
/// end-of-recovery checkpoint), the xid counter past the xids.
struct RedoXacts {
    shared: ChildShared,
    slot: u32,
    /// `None` when `pg_xact/` cannot be opened (reported at start): the
    /// replay then fails rather than lose a commit.
    clog: Option<Clog>,
}

impl XactRedo for RedoXacts {
    fn replay(
        &self,
        xid: u64,
        subxids: &[u64],
        status: XidStatus,
    ) -> Result<(), tusk_common::PgError> {
        let Some(clog) = &self.clog else {
            return Err(tusk_common::PgError::error(
                tusk_common::sqlstate::UNDEFINED_FILE,
                "could not open directory \"pg_xact\"",
            ));
        };
        // A replayed commit's record is on disk: no group LSN.
        clog.set_tree_status(&self.shared, self.slot, xid, subxids, status, 0)?;
        if let Some(t) = self.shared.transam() {
            t.advance_next_xid_past(subxids.iter().copied().fold(xid, u64::max));
        }
        Ok(())
    }
}

/// What the checkpointer keeps from one checkpoint to the next and the
/// settings a checkpoint reads (PostgreSQL keeps them in the
/// checkpointer's memory): where `pg_wal` is, the settings as last
/// (re)loaded, and the WAL distance estimate that sizes recycling.
struct WalKeep {
    wal_dir: PathBuf,
    settings: Settings,
    estimate: DistanceEstimate,
}

impl WalKeep {
    fn new(data_dir: &std::path::Path, settings: &Settings) -> WalKeep {
        WalKeep {
            wal_dir: data_dir.join("pg_wal"),
            settings: settings.clone(),
            estimate: DistanceEstimate::default(),
        }
    }

    fn sizing(&self, seg_size: u64) -> WalSizing {
        WalSizing::from_settings(&self.settings, seg_size)
    }

    /// Arms the writers' max_wal_size trigger with the current
    /// CheckPointSegments (once the startup process has opened the WAL
    /// and its segment size is known). Checkpointer.
    fn arm_wal_trigger(&self, x: &Xlog<ChildShared>) {
        let seg = x.ctl().seg_size.load(Ordering::Acquire);
        if seg > 0 {
            x.ctl()
                .ckpt_segments
                .store(self.sizing(seg).checkpoint_segments(), Ordering::Relaxed);
        }
    }
}

/// A duration as log_checkpoints prints it: seconds with milliseconds,
/// rounded up to the millisecond as PostgreSQL's
/// TimestampDifferenceMilliseconds.
fn secs_ms(d: Duration) -> String {
    let ms = d.as_micros().div_ceil(1000);
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// One checkpoint: the record, its flush, and pg_control pointing at it
/// (`tusk_storage::xlog::create_checkpoint`), then old WAL segments
/// recycled or removed and the next one preallocated
/// (`tusk_storage::walrecycle`), logged as PostgreSQL 15's
/// log_checkpoints lines. `pace(progress)` is called after each buffer
/// written (a spread checkpoint sleeps there; an immediate one passes a
/// no-op). Checkpointer, or the startup process at the end of recovery.
fn checkpoint(
    x: &Xlog<ChildShared>,
    w: &PgControlWriter<ChildShared>,
    xacts: &CheckpointXacts,
    keep: &mut WalKeep,
    kind: CheckpointKind,
    flags: &str,
    pace: &mut dyn FnMut(f64),
) -> Result<(), XlogError> {
    let began = Instant::now();
    let prior_redo = w.load().map(|c| c.checkpoint_copy.redo).unwrap_or(0);
    let log = keep.settings.bool("log_checkpoints");
    if log {
        elog::log(format!("checkpoint starting: {flags}"));
    }
    let mut stats = FlushStats::default();
    let mut buffer_phase = Duration::ZERO;
    xlog::create_checkpoint(x, w, kind, &mut || {
        // The commit log after the redo pointer is chosen, as PostgreSQL's
        // CheckPointGuts: a transaction whose commit record lies before
        // the pointer is not replayed, so its status must be on disk
        // (written back before the pointer, a status set in between was
        // lost: acknowledged commits vanished after a crash, found by the
        // crash ledger), also of a commit still between its record and
        // its status when the pointer was chosen. WAL before the commit log: an asynchronous commit
        // sets its status before its record is flushed, and a status on
        // disk without its commit record would resurrect the transaction.
        if let Some(t) = xacts.shared.transam() {
            t.wait_for_delaying_commits();
        }
        x.flush_all()?;
        xacts.write_back(w)?;
        let Some(b) = &xacts.bufmgr else {
            return Ok(());
        };
        let t = Instant::now();
        // Pins taken while writing are released by flush_all_dirty itself;
        // the owner only catches them if it fails half-way.
        let mut owner = ResourceOwner::default();
        let r = b.flush_all_dirty_paced(&mut owner, &mut |done, total| {
            pace(done as f64 / total.max(1) as f64)
        });
        owner.release_all(Release::Abort);
        buffer_phase = t.elapsed();
        stats = r.map_err(|e| XlogError {
            message: match e.detail {
                Some(d) => format!("{}: {d}", e.message),
                None => e.message,
            },
            corrupt: false,
        })?;
        Ok(())
    })?;
    xacts.shared.control().bgwriter.checkpoint_done(
        stats.written as u64,
        buffer_phase.saturating_sub(stats.sync_total),
        stats.sync_total,
    );
    let c = w.load()?;
    let seg = c.xlog_seg_size as u64;
    let redo = c.checkpoint_copy.redo;
    if prior_redo != 0 {
        keep.estimate.update(redo.saturating_sub(prior_redo));
    }
    // PostgreSQL's order: old segments first (they may become the next
    // ones), then the preallocation. Failures here are warnings: the
    // checkpoint itself is complete and pg_control points at it.
    let sizing = keep.sizing(seg);
    let cfg = tusk_storage::xlog::XlogConfig::from_settings(&keep.settings);
    let tli = c.checkpoint_copy.this_timeline;
    let recycled = remove_old_segments(
        &keep.wal_dir,
        tli,
        seg,
        sizing.keep_from(redo, c.checkpoint),
        c.checkpoint,
        sizing.recycle_limit(redo, keep.estimate.estimate),
        &cfg,
    )
    .unwrap_or_else(|e| {
        elog::warning(format!("could not remove old WAL segments: {e}"));
        RecycleStats::default()
    });
    let added = preallocate(&keep.wal_dir, tli, seg, x.insert_lsn(), &cfg).unwrap_or_else(|e| {
        elog::warning(format!("could not preallocate a WAL segment: {e}"));
        0
    });
    keep.arm_wal_trigger(x);
    if !log {
        return Ok(());
    }
    let nbuffers = xacts
        .bufmgr
        .as_ref()
        .map_or(0, |b| b.pool().nbuffers())
        .max(1);
    let pct = stats.written as f64 * 100.0 / nbuffers as f64;
    let average = if stats.synced > 0 {
        stats.sync_total / stats.synced as u32
    } else {
        Duration::ZERO
    };
    elog::log(format!(
        "checkpoint complete: wrote {} buffers ({pct:.1}%); {added} WAL file(s) added, {} removed, {} recycled; write={} s, sync={} s, total={} s; sync files={}, longest={} s, average={} s; distance={} kB, estimate={} kB",
        stats.written,
        recycled.removed,
        recycled.recycled,
        secs_ms(buffer_phase.saturating_sub(stats.sync_total)),
        secs_ms(stats.sync_total),
        secs_ms(began.elapsed()),
        stats.synced,
        secs_ms(stats.sync_longest),
        secs_ms(average),
        keep.estimate.prev / 1024,
        (keep.estimate.estimate / 1024.0) as u64,
    ));
    Ok(())
}

/// Without WAL opened by the startup process (a shutdown requested
/// during start-up) there is no checkpoint to write: the shutdown only
/// records its time, and leaves the state as start-up left it, so that an
/// unfinished recovery is done again at the next start.
fn checkpoint_without_wal(w: &PgControlWriter<ChildShared>) -> Result<(), XlogError> {
    w.update(|c| c.checkpoint_copy.time = tusk_common::time::now_micros() / 1_000_000)?;
    Ok(())
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
        t.set_next_oid(c.checkpoint_copy.next_oid);
    }
    match env.shared.clog(&env.data_dir) {
        Ok(clog) => clog.startup(next_xid),
        Err(e) => elog::report(&e.with_severity(tusk_common::Severity::Warning)),
    }
    let last_up = tusk_common::time::format_log_time(c.time * 1_000_000, false);
    let x = env.shared.xlog(&env.data_dir, &env.settings, slot);
    let fail = |e: XlogError| -> ! {
        elog::report(&e.to_pg_error(tusk_common::Severity::Fatal));
        proc_exit(3);
    };
    match c.state() {
        DbState::Shutdowned => {
            elog::log(format!("database system was shut down at {last_up}"));
            if let Err(e) = xlog::startup(&x, &c, false) {
                fail(e);
            }
        }
        other => {
            elog::log(format!(
                "database system was interrupted while {}; last known up at {last_up}",
                other.describe(),
            ));
            elog::log("database system was not properly shut down; automatic recovery in progress");
            // What the crashed server wrote may still be only in the page
            // cache: make it durable before redo trusts it.
            let how = if env
                .settings
                .get(tusk_config::keys::RECOVERY_INIT_SYNC_METHOD)
                == "syncfs"
            {
                crate::datadir::InitSync::Syncfs
            } else {
                crate::datadir::InitSync::Fsync
            };
            let (n, took) = crate::datadir::sync_data_directory(&env.data_dir, how);
            elog::debug(format!(
                "synced the data directory before recovery: {n} files in {:.3} s",
                took.as_secs_f64()
            ));
            let c = match w.update(|c| c.set_state(DbState::InCrashRecovery)) {
                Ok(c) => c,
                Err(e) => fail(e.into()),
            };
            // Commit and abort records set the commit log and move the
            // xid counter (an xid running at the crash has neither record
            // and stays "in progress" in pg_xact: nothing runs after
            // recovery, so readers treat it as aborted).
            let redo = RedoXacts {
                shared: env.shared.clone(),
                slot: slot as u32,
                clog: env.shared.clog(&env.data_dir).ok(),
            };
            // Heap and storage records are replayed through this
            // process's buffer manager (PostgreSQL redoes through shared
            // buffers too); the end-of-recovery checkpoint below writes
            // the replayed pages back with the same one. Without a pool,
            // a heap record fails recovery instead of being skipped.
            let bufmgr = match env.shared.bufmgr(&env.data_dir, &env.settings, slot) {
                Ok(b) => Some(b),
                Err(e) => {
                    elog::report(&e.with_severity(tusk_common::Severity::Warning));
                    None
                }
            };
            match xlog::startup_redo(&x, &c, true, Some(&redo), bufmgr.as_ref()) {
                Ok(r) => {
                    if let Some(t) = env.shared.transam() {
                        t.advance_next_xid_past(r.next_xid.saturating_sub(1));
                        // The checkpoint's or the last NEXTOID record's.
                        t.set_next_oid(r.next_oid);
                    }
                    elog::debug(format!(
                        "recovery replayed {} records; WAL ends at {}",
                        r.replayed,
                        lsn_str(r.end)
                    ))
                }
                Err(e) => fail(e),
            }
            // The end-of-recovery checkpoint records the next xid too.
            let xacts = CheckpointXacts {
                shared: env.shared.clone(),
                slot: slot as u32,
                bufmgr,
                clog: env.shared.clog(&env.data_dir).ok(),
            };
            let mut keep = WalKeep::new(&env.data_dir, &env.settings);
            if let Err(e) = checkpoint(
                &x,
                &w,
                &xacts,
                &mut keep,
                CheckpointKind::EndOfRecovery,
                "end-of-recovery immediate wait",
                &mut |_| {},
            ) {
                fail(e);
            }
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
fn serve_requests(
    env: &AuxEnv,
    x: &Xlog<ChildShared>,
    w: &PgControlWriter<ChildShared>,
    xacts: &CheckpointXacts,
    keep: &mut WalKeep,
) {
    let control = env.shared.control();
    let Some(n) = control.start_requested_checkpoint() else {
        return;
    };
    control.bgwriter.checkpoint_started(false);
    wake_checkpoint_waiters(&env.shared.procs);
    // A pending WAL-volume request is served by this checkpoint too, as
    // PostgreSQL merges request flags into the next checkpoint.
    let wal = x.ctl().ckpt_wal_requested.swap(0, Ordering::SeqCst) != 0;
    let ok = match checkpoint(
        x,
        w,
        xacts,
        keep,
        CheckpointKind::Online,
        if wal {
            "immediate force wait wal"
        } else {
            "immediate force wait"
        },
        &mut |_| {},
    ) {
        Ok(()) => true,
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
pub fn checkpointer_main(mut env: AuxEnv) -> ! {
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
    // Shared with the commit log: a page holding asynchronous commits is
    // written only after WAL is flushed past their records.
    let x = std::rc::Rc::new(env.shared.xlog(&env.data_dir, &env.settings, slot));
    let xacts = CheckpointXacts {
        shared: env.shared.clone(),
        slot: slot as u32,
        bufmgr: env
            .shared
            .bufmgr(&env.data_dir, &env.settings, slot)
            .map_err(|e| elog::report(&e.with_severity(tusk_common::Severity::Warning)))
            .ok(),
        clog: env
            .shared
            .clog(&env.data_dir)
            .map_err(|e| elog::report(&e.with_severity(tusk_common::Severity::Warning)))
            .ok()
            .map(|mut c| {
                c.set_wal(x.clone());
                c
            }),
    };
    let mut keep = WalKeep::new(&env.data_dir, &env.settings);
    // The max_wal_size trigger counts from the last checkpoint's redo
    // pointer until this process starts a checkpoint of its own.
    if let Ok(c) = w.load() {
        x.ctl()
            .redo_rec_ptr
            .store(c.checkpoint_copy.redo, Ordering::Relaxed);
    }
    keep.arm_wal_trigger(&x);
    // Its slot is taken and pg_control loaded, so a CHECKPOINT finds it:
    // connections may come.
    signals::signal_postmaster(env.shared.control(), PmSignal::CheckpointerReady);
    let timeout = |s: &Settings| Duration::from_secs(s.int("checkpoint_timeout").max(1) as u64);
    let mut interval = timeout(&env.settings);
    let mut next_timed = Instant::now() + interval;
    // Start of the last checkpoint of any cause (checkpoint_warning).
    let mut last_started = Instant::now();
    // WAL position after the last checkpoint: a timed checkpoint with no
    // WAL since is skipped, as in PostgreSQL.
    let mut idle_at = x.insert_lsn();
    loop {
        latch.reset();
        if signals::take(libc::SIGUSR2) {
            elog::log("shutting down");
            let r = if x.is_ready() {
                checkpoint(
                    &x,
                    &w,
                    &xacts,
                    &mut keep,
                    CheckpointKind::Shutdown,
                    "shutdown immediate",
                    &mut |_| {},
                )
            } else {
                checkpoint_without_wal(&w)
            };
            let code = match r {
                Ok(_) => 0,
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
        if x.is_ready() {
            serve_requests(&env, &x, &w, &xacts, &mut keep);
        }
        signals::take(libc::SIGTERM);
        if signals::take(libc::SIGHUP) && env.reload() {
            x.set_config(tusk_storage::xlog::XlogConfig::from_settings(&env.settings));
            keep.settings = env.settings.clone();
            keep.arm_wal_trigger(&x);
            let t = timeout(&env.settings);
            if t != interval {
                next_timed = next_timed - interval + t;
                interval = t;
            }
        }
        if signals::take(libc::SIGPWR) || !postmaster_alive(env.death_fd) {
            // Orphaned: exit quietly, the next start recovers.
            proc_exit(1);
        }
        // A WAL-volume request (max_wal_size) or the timer: a spread
        // checkpoint, paced by checkpoint_completion_target.
        let wal_requested =
            x.is_ready() && x.ctl().ckpt_wal_requested.swap(0, Ordering::SeqCst) != 0;
        let timed = Instant::now() >= next_timed;
        if wal_requested || timed {
            next_timed = Instant::now() + interval;
            if wal_requested || (x.is_ready() && x.insert_lsn() != idle_at) {
                let since_last = last_started.elapsed().as_secs();
                last_started = Instant::now();
                let warning = env.settings.int("checkpoint_warning").max(0) as u64;
                if wal_requested && since_last < warning {
                    elog::report(
                        &tusk_common::PgError::new(
                            tusk_common::Severity::Log,
                            tusk_common::sqlstate::SUCCESSFUL_COMPLETION,
                            format!(
                                "checkpoints are occurring too frequently ({since_last} second{} apart)",
                                if since_last == 1 { "" } else { "s" }
                            ),
                        )
                        .with_hint("Consider increasing the configuration parameter \"max_wal_size\"."),
                    );
                }
                env.shared
                    .control()
                    .bgwriter
                    .checkpoint_started(!wal_requested);
                let flags = if wal_requested { "wal" } else { "time" };
                let mut pace = spread_pacer(&env, &x, latch, slot, interval);
                if let Err(e) = checkpoint(
                    &x,
                    &w,
                    &xacts,
                    &mut keep,
                    CheckpointKind::Online,
                    flags,
                    &mut pace,
                ) {
                    elog::warning(format!("checkpoint failed: {e}"));
                }
                idle_at = x.insert_lsn();
                // A CHECKPOINT that arrived meanwhile is served at once.
                latch.set();
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

/// PostgreSQL's CheckpointWriteDelay for a spread checkpoint that starts
/// now: after each buffer, while the checkpoint is ahead of schedule
/// against both `checkpoint_timeout` and the WAL written since it
/// started (`tusk_storage::walrecycle::on_schedule`), sleep 100 ms on the
/// latch. A pending CHECKPOINT request or shutdown, or the postmaster's
/// death, makes the rest go at full speed. Checkpointer.
fn spread_pacer<'a>(
    env: &'a AuxEnv,
    x: &'a Xlog<ChildShared>,
    latch: &'a latch::Latch,
    slot: usize,
    interval: Duration,
) -> impl FnMut(f64) + 'a {
    let started = Instant::now();
    let start_lsn = x.insert_lsn();
    let seg = x.ctl().seg_size.load(Ordering::Acquire).max(1);
    let sizing = WalSizing::from_settings(&env.settings, seg);
    let target = env.settings.real("checkpoint_completion_target");
    let procs = env.shared.procs;
    move |progress| {
        if env.shared.control().checkpoint_request_pending()
            || signals::pending(libc::SIGUSR2)
            || !postmaster_alive(env.death_fd)
        {
            return;
        }
        if !on_schedule(
            progress,
            target,
            started.elapsed().as_secs_f64(),
            interval.as_secs_f64(),
            x.insert_lsn().saturating_sub(start_lsn),
            &sizing,
        ) {
            return;
        }
        let me = procs.status(slot);
        me.set_wait_event(WaitEvent::CheckpointWriteDelay);
        latch.reset();
        latch::wait(
            &WaitFor {
                latch: Some(latch),
                socket: None,
                postmaster_death: true,
            },
            Some(Duration::from_millis(100)),
        );
        me.set_wait_event(WaitEvent::None);
    }
}

/// Every `wal_writer_delay` (or when its latch is set) writes and flushes
/// the WAL inserted so far, so that commits with synchronous_commit = off
/// reach disk within a bounded time and committers find most of their WAL
/// already written. SIGTERM (the shutdown, with the backends): a last
/// flush, exit 0. A failed write is a PANIC, as in PostgreSQL: the crash
/// restart that follows recovers from what is on disk.
pub fn walwriter_main(mut env: AuxEnv) -> ! {
    let procs = env.shared.procs;
    let slot = procs.acquire_aux(ProcKind::WalWriter, std::process::id() as i32);
    let _ = on_shmem_exit("release the proc slot", move |_| procs.release(slot));
    if let Some((sem, num)) = env.shared.semaphore(slot) {
        let _ = sem.reset(num);
    }
    let latch = &procs.proc(slot).waits().latch;
    latch.own();
    let x = env.shared.xlog(&env.data_dir, &env.settings, slot);
    let writer_delay =
        |s: &Settings| Duration::from_millis(s.int("wal_writer_delay").max(1) as u64);
    let mut delay = writer_delay(&env.settings);
    let flush = |x: &Xlog<ChildShared>| {
        if x.is_ready() {
            if let Err(e) = x.flush_all() {
                elog::report(&e.to_pg_error(tusk_common::Severity::Panic));
                proc_exit(2);
            }
        }
    };
    loop {
        latch.reset();
        if signals::take(libc::SIGTERM) || signals::take(libc::SIGUSR2) {
            flush(&x);
            proc_exit(0);
        }
        if signals::take(libc::SIGHUP) && env.reload() {
            x.set_config(tusk_storage::xlog::XlogConfig::from_settings(&env.settings));
            delay = writer_delay(&env.settings);
        }
        signals::take(libc::SIGINT);
        if signals::take(libc::SIGPWR) || !postmaster_alive(env.death_fd) {
            proc_exit(1);
        }
        flush(&x);
        procs.status(slot).set_wait_event(WaitEvent::WalWriterMain);
        latch::wait(
            &WaitFor {
                latch: Some(latch),
                socket: None,
                postmaster_death: true,
            },
            Some(delay),
        );
        procs.status(slot).set_wait_event(WaitEvent::None);
    }
}

/// The background writer: every `bgwriter_delay` writes the dirty
/// buffers the clock sweep is about to reach (`BufMgr::bgwriter_sync`,
/// at most `bgwriter_lru_maxpages`, sized by `bgwriter_lru_multiplier`
/// times recent allocations), so that backends find clean victims. Each
/// write flushes WAL up to the page's LSN first, as every buffer write.
/// When a round finds nothing allocated and nothing to clean it sleeps 50
/// delays (PostgreSQL's hibernation); the first buffer allocation by any
/// process meanwhile sets its latch and ends the sleep. SIGTERM (the shutdown,
/// with the backends): exit 0. A failed write is reported and retried in
/// a later round; the data stays in the buffer.
pub fn bgwriter_main(mut env: AuxEnv) -> ! {
    let procs = env.shared.procs;
    let slot = procs.acquire_aux(ProcKind::BgWriter, std::process::id() as i32);
    let _ = on_shmem_exit("release the proc slot", move |_| procs.release(slot));
    if let Some((sem, num)) = env.shared.semaphore(slot) {
        let _ = sem.reset(num);
    }
    let latch = &procs.proc(slot).waits().latch;
    latch.own();
    let bufmgr = match env.shared.bufmgr(&env.data_dir, &env.settings, slot) {
        Ok(b) => Some(b),
        Err(e) => {
            elog::report(&e.with_severity(tusk_common::Severity::Warning));
            None
        }
    };
    let stats = &env.shared.control().bgwriter;
    let mut state = tusk_storage::bufmgr::BgWriterState::default();
    let mut owner = ResourceOwner::default();
    loop {
        latch.reset();
        if signals::take(libc::SIGTERM) || signals::take(libc::SIGUSR2) {
            proc_exit(0);
        }
        if signals::take(libc::SIGHUP) {
            env.reload();
        }
        signals::take(libc::SIGINT);
        if signals::take(libc::SIGPWR) || !postmaster_alive(env.death_fd) {
            proc_exit(1);
        }
        let delay = env.settings.int("bgwriter_delay").max(10) as u64;
        let mut hibernate = false;
        if let Some(b) = &bufmgr {
            let r = b.bgwriter_sync(
                &mut state,
                env.settings.int("bgwriter_lru_maxpages").max(0) as usize,
                env.settings.real("bgwriter_lru_multiplier"),
                delay,
                &mut owner,
            );
            owner.release_all(Release::Abort);
            match r {
                Ok(r) => {
                    stats
                        .buffers_clean
                        .fetch_add(r.written as u64, Ordering::Relaxed);
                    if r.hit_max {
                        stats.maxwritten_clean.fetch_add(1, Ordering::Relaxed);
                    }
                    hibernate = r.hibernate;
                }
                Err(e) => elog::report(&e.with_severity(tusk_common::Severity::Error)),
            }
        }
        let (event, wait) = if hibernate || bufmgr.is_none() {
            (WaitEvent::BgWriterHibernate, delay * 50)
        } else {
            (WaitEvent::BgWriterMain, delay)
        };
        if hibernate {
            if let Some(b) = &bufmgr {
                b.set_bgwriter_hibernating(true);
            }
        }
        procs.status(slot).set_wait_event(event);
        latch::wait(
            &WaitFor {
                latch: Some(latch),
                socket: None,
                postmaster_death: true,
            },
            Some(Duration::from_millis(wait)),
        );
        procs.status(slot).set_wait_event(WaitEvent::None);
        if let Some(b) = &bufmgr {
            b.set_bgwriter_hibernating(false);
        }
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
        // The walwriter stops with the backends, and its exit 0 means
        // "told to stop"; its death is a crash.
        let ww = Aux::WalWriter.spec();
        assert_eq!(ww.name, "walwriter");
        assert_eq!(ww.stop, StopPhase::WithBackends);
        assert_eq!(ww.clean_exit, CleanExit::Stopped);
        assert_eq!(ww.on_failure, OnFailure::CrashRestart);
        assert_eq!(ww.start, StartPhase::AfterRecovery);
        // So does the background writer, shown by PostgreSQL's name.
        let bw = Aux::BgWriter.spec();
        assert_eq!(bw.name, "background writer");
        assert_eq!(bw.stop, StopPhase::WithBackends);
        assert_eq!(bw.clean_exit, CleanExit::Stopped);
        assert_eq!(bw.on_failure, OnFailure::CrashRestart);
        assert_eq!(ProcKind::BgWriter.backend_type(), bw.name);
        // One proc slot each, but the autovacuum launcher, which owns none.
        assert_eq!(
            AUX_PROCESSES.len() - 1,
            tusk_storage::layout::NUM_AUXILIARY_PROCS,
            "one proc slot each"
        );
        let av = Aux::AutovacLauncher.spec();
        assert_eq!(av.stop, StopPhase::WithBackends);
        assert_eq!(av.on_failure, OnFailure::CrashRestart);
        assert_eq!(av.start, StartPhase::AfterRecovery);
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
