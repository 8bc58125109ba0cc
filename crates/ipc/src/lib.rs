//! tusk-ipc: System V shared memory and semaphores for tusk, shared by the
//! server (postmaster) and the `tusk ipc` / `tusk check` commands.
//!
//! Main types:
//! - [`shm::Segment`]: an attached System V segment (id, key, base, size).
//!   Drop detaches; only [`shm::Segment::remove`] removes.
//! - [`sem::SemSet`]: a semaphore set of `nsems` usable semaphores plus a
//!   marker holding [`sem::TUSK_SEMA_MAGIC`] whose last-semop PID is the
//!   creator. P/V, timed P, reset; never removed on drop.
//! - [`header::ShmemHeader`]: tusk's byte-exact header at offset 0 of the
//!   main segment (magic, layout version, creator, data directory identity,
//!   area offsets), and [`header::read_pg_header`] for PostgreSQL's.
//! - [`keys::create_main_segment`] / [`keys::create_sem_sets`]: the create
//!   loops with PostgreSQL's collision rules: foreign keys are skipped, our
//!   own leftovers are reclaimed only with proof (no process attached /
//!   creator dead), a segment still in use refuses the start naming the
//!   processes ([`keys::ShmemError::InUse`]).
//! - [`keys::judge_segment`] / [`keys::judge_sem_set`]: what an existing
//!   object is (ours, PostgreSQL's, foreign, attached or not).
//! - [`sysv_list`]: the kernel's IPC tables; [`limits`]: the kernel's
//!   limits and current usage; [`mmap::AnonMapping`]: the anonymous shared
//!   mapping for `shared_memory_type = mmap`, with huge pages.
//!
//! Errors carry the failed call's arguments and errno as fields and print
//! PostgreSQL's message, DETAIL (`Failed system call was ...`) and HINT;
//! `to_pg_error()` gives the same as a FATAL [`tusk_common::PgError`].
//!
//! Why no server policy here: this crate does not know settings. Callers
//! pass keys, sizes, data directories and huge page choices; the crate
//! talks to the kernel and tells what it found.
//!
//! Linux only: attached-process names come from /proc/*/maps, tables from
//! /proc/sysvipc, limits from /proc/sys/kernel, timed waits from the
//! semtimedop system call.
//!
//! Every `unsafe` block says why it is sound in a `// SAFETY:` comment
//! (enforced below), as the server and storage crates do.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod header;
pub mod keys;
pub mod limits;
pub mod mmap;
pub mod sem;
pub mod shm;
mod sys;
pub mod sysv_list;

pub use header::{AreaEntry, PgShmemHeader, ShmemHeader, PG_SHMEM_MAGIC, TUSK_SHMEM_MAGIC};
pub use keys::{
    create_main_segment, create_sem_sets, judge_segment, judge_sem_set, pid_alive, SegmentState,
    SemError, SemSetState, ShmemError,
};
pub use limits::{read_limits, read_usage, IpcUsage, KernelLimits};
pub use mmap::{AnonMapping, HugePages, MmapError};
pub use sem::{SemCreateError, SemInfo, SemSet, PG_SEMA_MAGIC, SEMAS_PER_SET, TUSK_SEMA_MAGIC};
pub use shm::{Segment, ShmCreateError, ShmInfo};
pub use sys::{errno_text, IPC_CREATE_FLAGS};
pub use sysv_list::{list_segments, list_sem_sets};
