//! Kernel resources: what a configuration asks the system for, whether
//! the system can give it, and what to say when it cannot.
//!
//! PostgreSQL fails at start with one error at a time and never says
//! beforehand whether a configuration will fit. tusk answers both ways
//! from one sizing function:
//!
//! - [`sizing`]: [`needs`] (segment bytes, semaphore sets and semaphores,
//!   processes, files, huge pages) built on the layout the server creates
//!   the segment with, and tusk's Table 16.2 ([`sizing::memory_table`]).
//! - [`system`]: the limits as they are now (System V limits and usage,
//!   overcommit, huge pages, rlimits, file handles, the cgroup memory limit,
//!   systemd-logind's RemoveIPC); unreadable means unknown.
//! - [`explain`]: a refused shmget/semget/semctl/mmap at start, reported
//!   with the whole fix, including the largest shared_buffers and
//!   max_connections that fit now ([`explain_ipc_failure`]).
//! - [`rlimits`]: the postmaster's open-file probe and process-limit
//!   warning at start ([`startup_limits`]).
//!
//! Need beside limit, one row each with a verdict and a fix (`tusk
//! check`), and where each limit is set on each operating system (`tusk
//! check --os`), are operator reports, not run time: they live in tusk-ops
//! (`limits.rs`, `os.rs`) and are built from [`needs`] and [`system`].
//!
//! Linux is the system tusk runs on; the other systems appear only as
//! instructions.

pub mod explain;
pub mod rlimits;
pub mod sizing;
pub mod system;

pub use explain::{explain_ipc_failure, IpcFailure};
pub use rlimits::{startup_limits, ProcessLimits};
pub use sizing::{needs, Needs};

use tusk_config::Settings;
use tusk_ipc::limits::read_limits;

/// The start-up resource line's limits part: each kernel limit and process
/// limit beside what this configuration needs. Uses what
/// [`startup_limits`] found, when it ran in this process.
pub fn describe(settings: &Settings) -> String {
    let n = match needs(settings) {
        Ok(n) => n,
        // The postmaster computed the same layout before it got here.
        Err(e) => return e.message,
    };
    let l = read_limits();
    let opt = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_else(|| "unknown".into());
    let mut parts = vec![
        format!(
            "kernel.shmmax {} for a segment of {} bytes, kernel.shmall {} pages for {}, kernel.shmmni {} for 1",
            opt(l.shmmax),
            n.segment_bytes,
            opt(l.shmall),
            tusk_ipc::limits::pages_for(n.segment_bytes, l.page_size),
            opt(l.shmmni)
        ),
        format!(
            "SEMMNI {} for {} sets, SEMMNS {} for {} semaphores, SEMMSL {} for {} per set",
            opt(l.semmni),
            n.sem_sets,
            opt(l.semmns),
            n.kernel_semaphores,
            opt(l.semmsl),
            n.semaphores_per_set
        ),
    ];
    // startup_limits runs before the postmaster describes its resources.
    if let Some(p) = rlimits::at_start() {
        parts.push(p.describe());
    }
    parts.join("; ")
}
