//! Autovacuum: the launcher (an auxiliary process) that picks databases
//! whose tables passed PostgreSQL's thresholds, and the workers the
//! postmaster forks for it, each a backend that runs VACUUM in one
//! database without a client.
//!
//! Why a worker is a backend fed by a socket pair: a backend already knows
//! how to attach to a database, take a proc slot, run VACUUM in a
//! transaction with its locks, and how to be terminated, cancelled and
//! crash-supervised. The worker writes a startup packet, one `VACUUM` and a
//! Terminate into one end of a socketpair and runs the ordinary backend
//! loop on the other end; replies go into the pair's buffer, which nobody
//! reads (a few hundred bytes). Its plain `VACUUM` is narrowed to the
//! tables whose counters need it (tables/vacuum.rs, `AUTOVACUUM_WORKER`).
//! Its pg_hba is a fixed "trust" (it never talks to a network), and it
//! connects as the bootstrap superuser, as PostgreSQL's workers run as
//! the superuser.
//!
//! The launcher sleeps `autovacuum_naptime` on a process-local latch (it
//! owns no proc slot: it touches only the atomic counters of the
//! table-statistics area), then asks the postmaster for one worker per
//! round: it writes the database into `StatsHeader::av_target_db` and
//! raises `PmSignal::StartAutovacWorker`; the postmaster forks a worker if
//! fewer than `autovacuum_max_workers` run. A database that a worker is
//! vacuuming (`worker_db`) is skipped.
//!
//! Known gaps against PostgreSQL: workers take client connection slots
//! (PostgreSQL reserves autovacuum_max_workers + 1 extra), a conflicting
//! lock request does not cancel a worker (DROP TABLE waits for it to
//! finish its table), reltuples is the live-tuple counter, and there is
//! no autoanalyze or wraparound vacuum.

use crate::auxproc::AuxEnv;
use crate::backend::BackendEnv;
use crate::signals;
use std::collections::HashMap;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tusk_storage::exit::{on_shmem_exit, proc_exit};
use tusk_storage::latch::{self, Latch, WaitFor};
use tusk_storage::pgstat::AvThresholds;
use tusk_storage::procarray::PmSignal;

/// The thresholds as the settings say now.
pub fn thresholds(s: &tusk_config::Settings) -> AvThresholds {
    AvThresholds {
        vac_threshold: s.int("autovacuum_vacuum_threshold"),
        vac_scale: s.real("autovacuum_vacuum_scale_factor"),
        ins_threshold: s.int("autovacuum_vacuum_insert_threshold"),
        ins_scale: s.real("autovacuum_vacuum_insert_scale_factor"),
    }
}

/// The launcher's main loop. SIGTERM (the shutdown, with the backends):
/// exit 0. Reloads on SIGHUP; `autovacuum = off` makes it idle.
pub fn launcher_main(mut env: AuxEnv) -> ! {
    // A process-local latch that our signal handlers set, so a shutdown
    // or reload ends the nap at once.
    let latch: &'static Latch = Box::leak(Box::default());
    latch.own();
    let mut last_launch: HashMap<u32, Instant> = HashMap::new();
    loop {
        latch.reset();
        if signals::take(libc::SIGTERM) || signals::take(libc::SIGUSR2) {
            proc_exit(0);
        }
        if signals::take(libc::SIGHUP) {
            if let Ok(new) = tusk_config::load(&env.data_dir, &env.overrides) {
                env.settings = new;
                crate::configure_log(&env.settings);
            }
        }
        signals::take(libc::SIGINT);
        if signals::take(libc::SIGPWR) {
            proc_exit(1);
        }
        if env.settings.bool("autovacuum") {
            launch_one(&env, &mut last_launch);
        }
        let nap = Duration::from_secs(env.settings.int("autovacuum_naptime").max(1) as u64);
        let w = latch::wait(
            &WaitFor {
                latch: Some(latch),
                socket: None,
                postmaster_death: true,
            },
            Some(nap),
        );
        if w.postmaster_death {
            proc_exit(1);
        }
    }
}

/// One round: the database that needs a vacuum and was served longest
/// ago gets a worker, if none works there and no request is pending.
fn launch_one(env: &AuxEnv, last_launch: &mut HashMap<u32, Instant>) {
    let Some(stats) = env.shared.table_stats() else {
        return;
    };
    let h = stats.header();
    if h.av_target_db.load(Ordering::Acquire) != 0 {
        return;
    }
    let t = thresholds(&env.settings);
    let dbs = tusk_storage::bootstrap::databases(&env.data_dir).unwrap_or_default();
    let mut wanted: Vec<u32> = stats
        .rows()
        .into_iter()
        .filter(|r| t.needs_vacuum(r) && !h.worker_on(r.db))
        .map(|r| r.db)
        .filter(|db| dbs.iter().any(|d| d.oid == *db && d.name != "template0"))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let Some(db) = wanted
        .into_iter()
        .min_by_key(|db| last_launch.get(db).copied())
    else {
        return;
    };
    if h.av_target_db
        .compare_exchange(0, db, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        last_launch.insert(db, Instant::now());
        signals::signal_postmaster(env.shared.control(), PmSignal::StartAutovacWorker);
    }
}

/// A forked worker for database `db`: feeds a backend its startup packet,
/// `VACUUM` and Terminate, and runs it. Never returns.
pub fn worker_main(mut env: BackendEnv, db: u32) -> ! {
    crate::backend::mark_autovacuum_worker();
    let dbs = tusk_storage::bootstrap::databases(&env.data_dir).unwrap_or_default();
    let roles = tusk_storage::bootstrap::roles(&env.data_dir).unwrap_or_default();
    let (Some(d), Some(r)) = (
        dbs.iter().find(|d| d.oid == db),
        roles.iter().find(|r| r.superuser),
    ) else {
        // Dropped since the launcher looked: nothing to do.
        proc_exit(0);
    };
    if let Some(stats) = env.shared.table_stats() {
        if let Some(i) = stats.header().register_worker(db) {
            let _ = on_shmem_exit("free the autovacuum worker entry", move |_| {
                stats.header().worker_db[i].store(0, Ordering::Release)
            });
        }
    }
    let mut fds = [0i32; 2];
    // SAFETY: socketpair writes two descriptors into the local array.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } != 0
    {
        tusk_common::elog::log(format!(
            "socketpair(AF_UNIX, SOCK_STREAM) failed for an autovacuum worker: {}",
            std::io::Error::last_os_error()
        ));
        proc_exit(1);
    }
    let mut msg = Vec::new();
    let mut body = Vec::new();
    body.extend_from_slice(&196608u32.to_be_bytes());
    for (k, v) in [("user", r.name.as_str()), ("database", d.name.as_str())] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    msg.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    msg.extend_from_slice(&body);
    let q = b"VACUUM\0";
    msg.push(b'Q');
    msg.extend_from_slice(&((q.len() + 4) as u32).to_be_bytes());
    msg.extend_from_slice(q);
    msg.push(b'X');
    msg.extend_from_slice(&4u32.to_be_bytes());
    // SAFETY: writes `msg.len()` bytes of the live Vec to our own socket,
    // whose buffer holds far more than these few bytes.
    let n = unsafe { libc::write(fds[0], msg.as_ptr() as *const libc::c_void, msg.len()) };
    if n != msg.len() as isize {
        proc_exit(1);
    }
    // fds[0] stays open for the process's life: the backend's replies go
    // into its buffer, and no write ever meets a closed peer.
    // SAFETY: fds[1] is a fresh descriptor owned by nobody else.
    env.socket = Some(unsafe { OwnedFd::from_raw_fd(fds[1]) });
    env.hba = crate::hba::Hba::parse("local all all trust\n", "autovacuum")
        .expect("a fixed valid pg_hba line");
    crate::backend::run(env)
}
