//! Kernel resources, end to end (issue 4): `tusk check`, the memory table's
//! prediction of the real segment, instructive start-up failures of the
//! real server, the open-file probe, and the OOM scores.
//!
//! Why the failures run in their own IPC namespace: kernel.shmmax, shmall,
//! shmmni and kernel.sem are per IPC namespace, so a test can lower them
//! for one server (`unshare --ipc`, as root) without touching this
//! machine's limits, and the namespace's tables show what the failed
//! server left behind (nothing, or the test fails). Failures the kernel
//! cannot be made to produce that way (SEMVMX, ENOSYS) are produced by a
//! seccomp filter that makes the one call fail with that errno.
//!
//! Modules:
//! - `util`: the e2e harness's waiting, bounded runs and `Finished`.
//! - `support`: clusters, bounded runs, servers, namespaces,
//!   seccomp, JSON shape checks.
//! - `cli`: `tusk check` text, JSON, exit codes, `--os`.
//! - `memtable`: the table's prediction against `-C` and real segments.
//! - `failures`: one kernel refusal at a time, message and cleanup.
//! - `limits`: a lowered RLIMIT_NOFILE, and the OOM scores.

#![deny(clippy::undocumented_unsafe_blocks)]

#[path = "../e2e/util.rs"]
#[allow(dead_code)]
mod util;

mod cli;
mod failures;
mod limits;
mod memtable;
mod support;
