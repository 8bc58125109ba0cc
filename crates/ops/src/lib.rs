//! tusk-ops: the operator commands that are not the running server —
//! `tusk ctl`, `tusk ipc` and `tusk check` — as library code.
//!
//! Why a library and not the binary: these commands are most of tusk's
//! operator-facing logic (pid-file and shared-memory inspection, IPC
//! classification and cleaning, kernel-limit reports). As modules of the
//! `tusk` binary they could neither be unit-tested nor reused; here each
//! has its tests next to it and `crates/tusk/src/main.rs` is only the
//! command line that dispatches to [`ctl::run`], [`ipc::run`] and
//! [`check::run`].
//!
//! Who calls this: only the `tusk` command-line process, never the
//! postmaster or its children. It attaches shared memory read-only to
//! look (`tusk ctl status`, `tusk ipc`), signals a postmaster by the pid
//! its lock file names, and removes System V objects only after proving
//! them orphaned.
//!
//! Modules:
//! - [`ctl`]: `tusk ctl` — start, stop (with an escalation ladder),
//!   restart, reload, status (with the server's sessions, read from its
//!   proc array) and kill, as pg_ctl does.
//! - [`ipc`]: `tusk ipc` — list tusk's and PostgreSQL's System V objects,
//!   classify each (in use, orphaned, foreign, unknown) with the evidence,
//!   and remove the orphaned ones.
//! - [`check`]: `tusk check` — need beside kernel limit for a
//!   configuration, before start, in text or JSON.
//! - [`limits`]: the rows of that report: each need from
//!   `tusk_server::resources::needs` beside the limit read from the system,
//!   with a verdict and the fix.
//! - [`os`]: where each limit is set on each operating system, with the
//!   configuration's values (`tusk check --os`).
//!
//! Main types: [`ctl::Mode`] (shutdown modes) and [`ctl::Step`] (a stop
//! ladder's rung). The lock file is read with
//! [`tusk_common::pidfile::PidFile`], the one parser the server uses too.

// Every unsafe block says why it is sound (`// SAFETY:`), as in the server.
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod check;
pub mod ctl;
pub mod ipc;
pub mod limits;
pub mod os;
