//! What the SQL layer needs from the server: the [`Host`] trait.
//!
//! tusk-sql does no I/O and knows nothing of processes, sockets or shared
//! memory. Everything a statement does outside its own computation
//! (settings, transaction state, sleeping on the backend's semaphore,
//! signalling other backends, reading the proc array) is a call on the
//! session through this trait, so the crate is testable with a fake host
//! and the backend keeps all process concerns in one place. Methods added
//! after the first version have default bodies so that existing hosts keep
//! compiling.

use std::net::IpAddr;

use tusk_common::{sqlstate, PgError};

use crate::datetime;

/// One row of `pg_stat_activity`, as the host reads it from its proc array.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    pub pid: i32,
    pub datname: Option<String>,
    pub usename: Option<String>,
    pub application_name: String,
    pub client_addr: Option<IpAddr>,
    pub client_port: Option<i32>,
    /// Microseconds since 2000-01-01 UTC.
    pub backend_start: Option<i64>,
    pub xact_start: Option<i64>,
    pub query_start: Option<i64>,
    pub state: Option<String>,
    pub query: String,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    pub backend_type: String,
}

/// The session, as seen by SQL execution.
pub trait Host {
    /// Current value of a setting, as `SHOW` prints it; 42704 when unknown.
    fn show(&self, name: &str) -> Result<String, PgError>;
    /// `SHOW ALL`: (name, setting, description) for every setting.
    fn show_all(&self) -> Vec<(String, String, String)>;
    /// `SET [LOCAL] name = value`; `None` is `DEFAULT`. The host sends
    /// ParameterStatus itself when a reported setting changes.
    fn set(&mut self, name: &str, value: Option<&str>, local: bool) -> Result<(), PgError>;
    /// `RESET name`; `None` is `RESET ALL`.
    fn reset(&mut self, name: Option<&str>) -> Result<(), PgError>;
    /// `current_setting(name, missing_ok)`.
    fn current_setting(&self, name: &str, missing_ok: bool) -> Result<Option<String>, PgError>;
    /// `set_config(name, value, is_local)`, returning the new value.
    fn set_config(&mut self, name: &str, value: &str, is_local: bool) -> Result<String, PgError>;
    /// `BEGIN` / `START TRANSACTION` (the tag tells which).
    fn begin(&mut self, stmt_tag: &str) -> Result<(), PgError>;
    /// `COMMIT` / `END`: returns the tag, "COMMIT", or "ROLLBACK" when the
    /// block had failed.
    fn commit(&mut self) -> Result<&'static str, PgError>;
    /// `ROLLBACK` / `ABORT`.
    fn rollback(&mut self) -> Result<(), PgError>;
    fn backend_pid(&self) -> i32;
    /// `pg_sleep`: sleep interruptibly; 57014 when cancelled.
    fn sleep(&mut self, seconds: f64) -> Result<(), PgError>;
    /// `pg_terminate_backend(pid, timeout)`.
    fn terminate_backend(&mut self, pid: i32, timeout_ms: i64) -> Result<bool, PgError>;
    /// `pg_cancel_backend(pid)`.
    fn cancel_backend(&mut self, pid: i32) -> Result<bool, PgError>;
    /// A snapshot of every server process, for `pg_stat_activity`.
    fn activity(&self) -> Vec<ActivityRow>;
    /// Called once per row produced or scanned, so a cancel or a
    /// termination request stops long work.
    fn check_interrupts(&mut self) -> Result<(), PgError>;
    /// Send a NOTICE/WARNING to the client now.
    fn notice(&mut self, n: PgError);
    fn current_database(&self) -> String;
    fn current_user(&self) -> String;
    fn session_user(&self) -> String;
    fn is_superuser(&self) -> bool;
    /// Transaction start time (`now()`), microseconds since 2000-01-01.
    fn now(&self) -> i64;

    /// Statement start time (`statement_timestamp()`). Defaults to the
    /// clock, which is what it is for a statement starting now.
    fn statement_timestamp(&self) -> i64 {
        datetime::clock_now()
    }
    /// `clock_timestamp()`.
    fn clock_timestamp(&self) -> i64 {
        datetime::clock_now()
    }
    /// `pg_backup_start(label, fast)`: marks an online backup in progress
    /// for this session; returns the backup's start WAL position.
    fn backup_start(&mut self, label: &str, fast: bool) -> Result<u64, PgError> {
        let _ = (label, fast);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "online backups are not supported by this host",
        ))
    }
    /// `pg_backup_stop(wait_for_archive)`: ends this session's backup;
    /// returns the stop position and the backup_label contents.
    fn backup_stop(&mut self, wait_for_archive: bool) -> Result<(u64, String), PgError> {
        let _ = wait_for_archive;
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "online backups are not supported by this host",
        ))
    }
    /// The WAL's positions for `pg_current_wal_*lsn()` and
    /// `pg_walfile_name()`.
    fn wal_positions(&mut self) -> Result<WalPositions, PgError> {
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "WAL is not available in this host",
        ))
    }
    /// `CHECKPOINT`: asks for an immediate checkpoint and waits for it.
    fn checkpoint(&mut self) -> Result<(), PgError> {
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "CHECKPOINT is not supported by this host",
        ))
    }
    /// `DEALLOCATE name` / `DEALLOCATE ALL` (`None`): drop prepared
    /// statements. 26000 when the name is unknown.
    fn deallocate(&mut self, name: Option<&str>) -> Result<(), PgError> {
        let _ = name;
        Ok(())
    }
    /// `DISCARD ALL|PLANS|SEQUENCES|TEMP` (the word, upper case). The
    /// default resets settings for ALL; a host with statement caches and
    /// portals drops those too (and refuses ALL inside a transaction).
    fn discard(&mut self, what: &str) -> Result<(), PgError> {
        if what == "ALL" {
            self.reset(None)
        } else {
            Ok(())
        }
    }
    /// The canonical spelling of a setting's name (`DateStyle` for
    /// `datestyle`), used to head SHOW's column. `None`: the name as
    /// written, lower-cased.
    fn setting_name(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }
}

/// Where the WAL stands (LSNs), and what names its segment files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalPositions {
    /// Where the next record goes (pg_current_wal_insert_lsn).
    pub insert: u64,
    /// Written to the kernel (pg_current_wal_lsn).
    pub write: u64,
    /// On disk (pg_current_wal_flush_lsn).
    pub flush: u64,
    pub timeline: u32,
    pub segment_size: u64,
}
