//! What the SQL layer needs from the server, split by concern.
//!
//! tusk-sql does no I/O and knows nothing of processes, sockets or shared
//! memory. What a statement needs from outside its own computation comes
//! through narrow interfaces, so the crate is testable with fakes and the
//! backend keeps its process concerns in one place:
//!
//! - [`Host`]: the session. Settings, who and where the session is,
//!   transaction and statement timestamps, interrupts, notices, sleeping,
//!   signalling other backends, the session's statement caches. Every
//!   method is called by the backend process running the statement.
//! - [`TransactionControl`]: BEGIN/COMMIT/ROLLBACK and the savepoint
//!   statements (SAVEPOINT, RELEASE, ROLLBACK TO). The session hands out
//!   its transaction state, which is tusk_storage's `xact::Xact` (the
//!   implementation is below), so the block state machine lives in the
//!   xact module and not in the server.
//! - [`Maintenance`]: server-wide operations the server registers for its
//!   sessions (CHECKPOINT, pg_backup_start/stop); a host without them
//!   answers 0A000.
//! - [`Relations`](crate::Relations) / [`RowSource`](crate::RowSource)
//!   (exec.rs): rows of the views the server computes, opened when an
//!   execution starts and pulled one at a time.

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

/// Who and where a session is: fixed when it starts (tusk has no SET
/// ROLE yet, so the session user is the current user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionIdentity {
    /// `pg_backend_pid()`.
    pub backend_pid: i32,
    /// `current_database()`.
    pub database: String,
    /// `current_user`.
    pub user: String,
    /// `session_user`.
    pub session_user: String,
    pub is_superuser: bool,
}

/// The session, as seen by SQL execution.
pub trait Host {
    /// Current value of a setting, as `SHOW` prints it; 42704 when unknown.
    fn show(&self, name: &str) -> Result<String, PgError>;
    /// `SHOW ALL`: (name, setting, description) for every setting.
    fn show_all(&self) -> Vec<(String, String, String)>;
    /// The rows of `pg_settings` (catalog::settings_columns).
    fn pg_settings(&self) -> Vec<crate::Row> {
        Vec::new()
    }
    /// `SET [LOCAL] name = value`; `None` is `DEFAULT`. The host sends
    /// ParameterStatus itself when a reported setting changes.
    fn set(&mut self, name: &str, value: Option<&str>, local: bool) -> Result<(), PgError>;
    /// `RESET name`; `None` is `RESET ALL`.
    fn reset(&mut self, name: Option<&str>) -> Result<(), PgError>;
    /// `current_setting(name, missing_ok)`.
    fn current_setting(&self, name: &str, missing_ok: bool) -> Result<Option<String>, PgError>;
    /// `set_config(name, value, is_local)`, returning the new value.
    fn set_config(&mut self, name: &str, value: &str, is_local: bool) -> Result<String, PgError>;
    /// The session's transaction state, for BEGIN/COMMIT/ROLLBACK.
    fn transactions(&mut self) -> &mut dyn TransactionControl;
    /// Who and where the session is.
    fn identity(&self) -> &SessionIdentity;
    /// Makes role `role` the current user for a SECURITY DEFINER call
    /// (PostgreSQL's SetUserIdAndSecContext: session_user stays, no
    /// membership needed), returning the (user, is_superuser) to give
    /// back to [`Host::restore_user`] when the call ends. A host without
    /// a role store leaves the user as it is.
    fn become_user(&mut self, role: u32) -> Result<(String, bool), PgError> {
        let _ = role;
        let id = self.identity();
        Ok((id.user.clone(), id.is_superuser))
    }
    /// Ends [`Host::become_user`].
    fn restore_user(&mut self, prev: (String, bool)) {
        let _ = prev;
    }
    /// The roles and memberships, for privilege checks and ACL display
    /// (crates/sql/src/acl.rs). A host without a role store has none:
    /// its sessions are superusers.
    fn acl_roles(&self) -> Result<crate::acl::RoleSet, PgError> {
        Ok(crate::acl::RoleSet::default())
    }
    /// `pg_sleep`: sleep interruptibly; 57014 when cancelled.
    fn sleep(&mut self, seconds: f64) -> Result<(), PgError>;
    /// `pg_terminate_backend(pid, timeout)`.
    fn terminate_backend(&mut self, pid: i32, timeout_ms: i64) -> Result<bool, PgError>;
    /// `pg_cancel_backend(pid)`.
    fn cancel_backend(&mut self, pid: i32) -> Result<bool, PgError>;
    /// Called once per row produced or scanned, so a cancel or a
    /// termination request stops long work.
    fn check_interrupts(&mut self) -> Result<(), PgError>;
    /// Send a NOTICE/WARNING to the client now.
    fn notice(&mut self, n: PgError);
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
    /// The server-wide operations the server offers this session;
    /// `None`: CHECKPOINT and the backup functions answer 0A000.
    fn maintenance(&mut self) -> Option<&mut dyn Maintenance> {
        None
    }
    /// The running transaction's xid (`txid_current()`,
    /// `pg_current_xact_id()`), assigned now when it has none and
    /// `assign`; `None` when it has none and not `assign` (the
    /// `_if_assigned` forms).
    fn current_xid(&mut self, assign: bool) -> Result<Option<u64>, PgError> {
        let _ = assign;
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "transaction ids are not available in this host",
        ))
    }
    /// `pg_xact_status()`: 'committed', 'aborted', 'in progress', or
    /// `None` for an id with no status (0); 22023 for a future id.
    fn xid_status(&mut self, xid: u64) -> Result<Option<&'static str>, PgError> {
        let _ = xid;
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "transaction ids are not available in this host",
        ))
    }
    /// `pg_logical_emit_message()`: writes a logical message record
    /// (with this transaction's xid when `transactional`) and returns the
    /// LSN just past it.
    fn emit_wal_message(
        &mut self,
        transactional: bool,
        prefix: &str,
        content: &[u8],
    ) -> Result<u64, PgError> {
        let _ = (transactional, prefix, content);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "WAL is not available in this host",
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
    /// `DEALLOCATE name` / `DEALLOCATE ALL` (`None`): drop prepared
    /// statements. 26000 when the name is unknown.
    /// The whole text of the client's query being run (the Query
    /// message's or Parse's), which PREPARE and DECLARE record as their
    /// statement text as PostgreSQL does; None when not known.
    fn query_text(&self) -> Option<String> {
        None
    }
    /// A statement in the session's prepared-statement store (PREPARE or
    /// the protocol's named Parse), for EXECUTE.
    fn prepared_statement(&self, name: &str) -> Option<std::rc::Rc<crate::Prepared>> {
        let _ = name;
        None
    }
    /// PREPARE: stores `p` under `name` (42P05 when taken); `sql` is the
    /// PREPARE statement's text, for pg_prepared_statements.
    fn add_prepared_statement(
        &mut self,
        name: &str,
        p: std::rc::Rc<crate::Prepared>,
        sql: &str,
    ) -> Result<(), PgError> {
        let _ = (name, p, sql);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "PREPARE is not supported by this host",
        ))
    }
    /// pg_prepared_statements' rows.
    fn prepared_statement_rows(&self) -> Vec<crate::Row> {
        Vec::new()
    }
    /// The session's open cursors (cursor.rs); None: this host keeps none.
    fn cursors(&mut self) -> Option<&mut crate::cursor::Cursors> {
        None
    }
    /// The same store, read-only (binding FETCH needs its columns).
    fn cursor_store(&self) -> Option<&crate::cursor::Cursors> {
        None
    }
    /// Whether statements share a transaction with the ones around them
    /// (PostgreSQL's IsTransactionBlock: DECLARE without HOLD needs one).
    fn in_transaction_block(&self) -> bool {
        false
    }
    /// Whether the block is the implicit one of a multi-statement Query
    /// (COMMIT/ROLLBACK AND CHAIN are refused there).
    fn in_implicit_block(&self) -> bool {
        false
    }
    /// One transaction mode of BEGIN or SET TRANSACTION, as SET LOCAL of
    /// its setting but with PostgreSQL's checks of when it may change
    /// (check_transaction_isolation and its siblings).
    fn set_transaction_mode(&mut self, name: &str, value: &str) -> Result<(), PgError> {
        self.set(name, Some(value), true)
    }
    /// COMMIT/ROLLBACK AND CHAIN, after the block was told to end: the
    /// next transaction block starts as soon as this one ended, with its
    /// characteristics.
    fn chain_transaction(&mut self) -> Result<(), PgError> {
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "COMMIT AND CHAIN is not supported by this host",
        ))
    }
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
    /// A stored table named `name` (in `schema`, else along search_path),
    /// as the catalog describes it to the running command; `None` when
    /// there is none (the caller reports 42P01). A schema that does not
    /// exist is 3F000. The default host has no tables.
    fn lookup_table(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<crate::catalog::Relation>, PgError> {
        let _ = (schema, name);
        Ok(None)
    }
    /// The storage behind stored tables, for DDL and row changes; 0A000
    /// in a host without it.
    /// The user-defined functions and procedures named `name` (in
    /// `schema`, or along search_path), for overload resolution. A host
    /// without a catalog has none.
    fn lookup_routines(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Vec<std::rc::Rc<crate::catalog::FuncDef>>, PgError> {
        let _ = (schema, name);
        Ok(Vec::new())
    }
    /// Every user-defined operator and cast (pg_operator, pg_cast rows),
    /// for binding operators and casts (crates/sql/src/operator.rs). A
    /// host without a catalog has none.
    fn user_operators(&self) -> Result<std::rc::Rc<crate::operator::OperCatalog>, PgError> {
        Ok(std::rc::Rc::default())
    }
    /// The user-defined routine with pg_proc oid `oid`, if any (psql's
    /// `\df` through pg_get_function_arguments and friends).
    fn routine_by_oid(
        &self,
        oid: u32,
    ) -> Result<Option<std::rc::Rc<crate::catalog::FuncDef>>, PgError> {
        let _ = oid;
        Ok(None)
    }
    /// Where CREATE/DROP FUNCTION store their rows.
    fn routines(&mut self) -> Result<&mut dyn crate::catalog::Routines, PgError> {
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "functions are not supported by this host",
        ))
    }
    /// Where CREATE/DROP TRIGGER and ENABLE/DISABLE TRIGGER store their
    /// rows.
    fn triggers(&mut self) -> Result<&mut dyn crate::trigger::Triggers, PgError> {
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "triggers are not supported by this host",
        ))
    }
    /// The triggers of table `relid` (pg_trigger rows), for every
    /// statement that changes its rows. A host without a catalog has none.
    fn lookup_triggers(
        &self,
        relid: u32,
    ) -> Result<std::rc::Rc<Vec<crate::trigger::TriggerDef>>, PgError> {
        let _ = relid;
        Ok(std::rc::Rc::new(Vec::new()))
    }
    /// pg_class.reloptions of relation `oid` as `name=value` items (a
    /// view's check_option; bind/view_dml.rs). None in a host without a
    /// catalog.
    /// The pg_rewrite rows of relation `relid` (its view's `_RETURN` and
    /// its rules, crates/sql/src/rules.rs), whole, in catalog column
    /// order. None in a host without a catalog.
    fn lookup_rules(&self, relid: u32) -> Result<Vec<crate::Row>, PgError> {
        let _ = relid;
        Ok(Vec::new())
    }
    fn relation_options(&self, oid: u32) -> Result<Vec<String>, PgError> {
        let _ = oid;
        Ok(Vec::new())
    }
    /// The trigger with pg_trigger oid `oid` and its table, if any
    /// (pg_get_triggerdef).
    fn trigger_by_oid(
        &self,
        oid: u32,
    ) -> Result<Option<(crate::trigger::TriggerDef, crate::catalog::Relation)>, PgError> {
        let _ = oid;
        Ok(None)
    }
    /// Table scans for a statement run inside a function (a fresh
    /// statement snapshot at the current command id).
    fn nested_relations(&self) -> Box<dyn crate::exec::Relations> {
        Box::new(crate::exec::NoRelations)
    }
    /// Makes the changes of a function's earlier statements visible to
    /// its next ones (CommandCounterIncrement).
    fn command_counter_increment(&mut self) {}
    /// COMMIT or ROLLBACK inside a procedure or DO run by a top-level
    /// CALL/DO: ends the statement's transaction and starts the next one,
    /// in which the procedure goes on. 2D000 inside a transaction block.
    fn end_transaction_in_procedure(&mut self, commit: bool) -> Result<(), PgError> {
        let _ = commit;
        Err(PgError::error(
            tusk_common::sqlstate::SqlState::new("2D000"),
            "invalid transaction termination",
        ))
    }
    /// A number that changes whenever cached plans may have gone stale
    /// (the shared catalog generation); `None`: do not cache (this
    /// transaction changed the catalog itself).
    fn plan_generation(&self) -> Option<u64> {
        Some(0)
    }
    fn tables(&mut self) -> Result<&mut dyn crate::catalog::Tables, PgError> {
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "tables are not available in this host",
        ))
    }
    /// nextval, currval, lastval, setval and pg_get_serial_sequence
    /// (sequence.rs): sequences live in the host's storage.
    fn sequence_call(
        &mut self,
        call: crate::sequence::SeqCall,
    ) -> Result<crate::value::Value, PgError> {
        let _ = call;
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "sequences are not supported by this host",
        ))
    }
    /// Carries out a role statement (role.rs); 0A000 in a host without
    /// roles.
    fn role_command(&mut self, cmd: &crate::role::RoleCommand) -> Result<(), PgError> {
        let _ = cmd;
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "roles are not available in this host",
        ))
    }
    /// An advisory lock function (pg_advisory_lock and its family) on
    /// `key`: the lock functions answer true, the try functions whether
    /// they got the lock, the unlock functions whether it was held.
    /// 0A000 in a host without a lock table.
    fn advisory(&mut self, f: AdvisoryFn, key: AdvisoryKey) -> Result<bool, PgError> {
        let _ = (f, key);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "advisory locks are not available in this host",
        ))
    }
    /// `pg_advisory_unlock_all()`: gives back the session's advisory
    /// locks. A host without a lock table holds none.
    fn advisory_unlock_all(&mut self) {}
    /// `NOTIFY channel [, payload]` / `pg_notify`: queued for the
    /// listeners when the transaction commits (checked by
    /// [`crate::notify::check`] first).
    fn notify(&mut self, channel: &str, payload: &str) -> Result<(), PgError> {
        let _ = (channel, payload);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "NOTIFY is not available in this host",
        ))
    }
    /// `LISTEN channel` (`listen`) or `UNLISTEN channel` / `UNLISTEN *`
    /// (`channel` None), effective when the transaction commits.
    fn listen(&mut self, channel: Option<&str>, listen: bool) -> Result<(), PgError> {
        let _ = (channel, listen);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "LISTEN is not available in this host",
        ))
    }
    /// `pg_listening_channels()`: the channels this session listens on.
    fn listening_channels(&self) -> Vec<String> {
        Vec::new()
    }
    /// `pg_notification_queue_usage()`: the fraction of the notification
    /// queue in use.
    fn notification_queue_usage(&self) -> f64 {
        0.0
    }
    /// The canonical spelling of a setting's name (`DateStyle` for
    /// `datestyle`), used to head SHOW's column. `None`: the name as
    /// written, lower-cased.
    fn setting_name(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }
}

/// Which advisory lock function: its operation, lock mode and lifetime
/// (PostgreSQL's pg_advisory_* family; the key type is [`AdvisoryKey`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdvisoryFn {
    pub op: AdvisoryOp,
    /// The `_shared` forms: ShareLock instead of ExclusiveLock.
    pub shared: bool,
    /// The `_xact_` forms: released at the transaction's end, not held by
    /// the session.
    pub xact: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvisoryOp {
    /// Wait for the lock.
    Lock,
    /// Take it if free, else answer false.
    Try,
    /// Give back one session hold.
    Unlock,
}

/// An advisory lock's key: one bigint, or two integers (distinct keys in
/// pg_locks' objsubid: 1 and 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvisoryKey {
    Int8(i64),
    Pair(i32, i32),
}

/// Transaction-block control, as tusk_storage's xact module implements it.
/// Warnings (BEGIN inside a block, COMMIT outside one) are returned for
/// the caller to send as notices.
pub trait TransactionControl {
    /// `BEGIN` / `START TRANSACTION`.
    fn begin(&mut self) -> Result<Option<PgError>, PgError>;
    /// `COMMIT` / `END`: whether it committed (false: the block had
    /// failed and rolled back, the tag is ROLLBACK).
    fn commit(&mut self) -> Result<(bool, Option<PgError>), PgError>;
    /// `ROLLBACK` / `ABORT`.
    fn rollback(&mut self) -> Result<Option<PgError>, PgError>;
    /// `SAVEPOINT name`. A host without subtransactions answers 0A000.
    fn savepoint(&mut self, name: &str) -> Result<(), PgError> {
        let _ = name;
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "SAVEPOINT is not supported by this host",
        ))
    }
    /// `RELEASE [SAVEPOINT] name`.
    fn release(&mut self, name: &str) -> Result<(), PgError> {
        let _ = name;
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "RELEASE SAVEPOINT is not supported by this host",
        ))
    }
    /// `ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name`.
    fn rollback_to(&mut self, name: &str) -> Result<(), PgError> {
        let _ = name;
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "ROLLBACK TO SAVEPOINT is not supported by this host",
        ))
    }
    /// Opens a subtransaction inside the running statement (PL/pgSQL's
    /// exception block: PostgreSQL's BeginInternalSubTransaction). It
    /// must be closed by [`Self::release_internal`] or
    /// [`Self::rollback_internal`] before the statement ends.
    fn begin_internal(&mut self) -> Result<(), PgError> {
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "subtransactions are not supported by this host",
        ))
    }
    /// Commits the innermost internal subtransaction into its parent.
    fn release_internal(&mut self) -> Result<(), PgError> {
        Ok(())
    }
    /// Undoes the innermost internal subtransaction and closes it.
    fn rollback_internal(&mut self) -> Result<(), PgError> {
        Ok(())
    }
}

/// The backend's transaction state is the xact module's; called by the
/// backend that owns it.
impl TransactionControl for tusk_storage::xact::Xact {
    fn begin(&mut self) -> Result<Option<PgError>, PgError> {
        self.begin_block()
    }
    fn commit(&mut self) -> Result<(bool, Option<PgError>), PgError> {
        self.end_block()
    }
    fn rollback(&mut self) -> Result<Option<PgError>, PgError> {
        self.user_abort_block()
    }
    fn savepoint(&mut self, name: &str) -> Result<(), PgError> {
        self.define_savepoint(name)
    }
    fn release(&mut self, name: &str) -> Result<(), PgError> {
        self.release_savepoint(name)
    }
    fn rollback_to(&mut self, name: &str) -> Result<(), PgError> {
        self.rollback_to_savepoint(name)
    }
    fn begin_internal(&mut self) -> Result<(), PgError> {
        self.begin_internal_sub();
        Ok(())
    }
    fn release_internal(&mut self) -> Result<(), PgError> {
        for w in self.release_internal_sub() {
            tusk_common::elog::report(&w);
        }
        Ok(())
    }
    fn rollback_internal(&mut self) -> Result<(), PgError> {
        self.rollback_internal_sub();
        Ok(())
    }
}

/// Server-wide operations a session may ask for, registered by the server
/// (they touch the checkpointer, pg_control and the backup counter in
/// shared memory). Called by the backend running the statement.
pub trait Maintenance {
    /// `pg_backup_start(label, fast)`: marks an online backup in progress
    /// for this session; returns the backup's start WAL position.
    fn backup_start(&mut self, label: &str, fast: bool) -> Result<u64, PgError>;
    /// `pg_backup_stop(wait_for_archive)`: ends this session's backup;
    /// returns the stop position and the backup_label contents.
    fn backup_stop(&mut self, wait_for_archive: bool) -> Result<(u64, String), PgError>;
    /// `CHECKPOINT`: asks for an immediate checkpoint and waits for it.
    fn checkpoint(&mut self) -> Result<(), PgError>;
}

/// 0A000 for a host that offers no maintenance operations.
pub(crate) fn no_maintenance(message: &str) -> PgError {
    PgError::error(sqlstate::FEATURE_NOT_SUPPORTED, message)
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
