//! Issue 3's tests: how tusk stops and is supervised — the three shutdown
//! modes against every kind of client, escalation, the SIGKILL deadline,
//! crash restart, reload, `tusk ctl`, and PostgreSQL's own pg_ctl driving
//! tusk.
//!
//! Run with `cargo test -p tusk --test shutdown`. The tests that measure
//! time (the 5 s SIGKILL deadline, the smart wait) take the suite's lock
//! exclusively, so a busy machine running the other tests in parallel
//! cannot stretch what they measure; the others share it.
//!
//! Modules:
//! - `util`: the e2e harness (servers, teardown, raw protocol client),
//!   shared with `tests/e2e`.
//! - `harness`: sessions with a PID, the proc array read from outside,
//!   the inventory of what a server owns, postmasters started by this
//!   suite (test-only environment, `tusk ctl`), late connections.
//! - `matrix`: smart / fast / immediate × idle, in a transaction, in
//!   pg_sleep, connecting during the shutdown.
//! - `supervise`: smart waits, escalation, SIGKILL after 5 s, crash
//!   restart, restart_after_crash = off, reload, one session alone.
//! - `ctl`: `tusk ctl` commands, exit codes, the ladder and its report.
//! - `pgctl`: PostgreSQL 15's pg_ctl as an unprivileged user.

#![deny(clippy::undocumented_unsafe_blocks)]

#[path = "../e2e/util.rs"]
#[allow(dead_code)]
mod util;

mod backup;
mod ctl;
mod harness;
mod matrix;
mod pgctl;
mod supervise;

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static SERIAL: RwLock<()> = RwLock::new(());

/// Held by ordinary tests: they may run together.
pub fn serial_read() -> RwLockReadGuard<'static, ()> {
    SERIAL.read().unwrap_or_else(|e| e.into_inner())
}

/// Held by tests that measure time: they run alone.
pub fn serial_write() -> RwLockWriteGuard<'static, ()> {
    SERIAL.write().unwrap_or_else(|e| e.into_inner())
}
