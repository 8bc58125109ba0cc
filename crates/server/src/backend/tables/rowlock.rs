//! Row locks in a backend: the host side of SELECT ... FOR UPDATE/SHARE and the one function other code calls to lock a row ([`Session::lock_row_impl`], `Tables::lock_row`).
//!
//! Why it reuses UPDATE's path: a row lock meets the same situations as
//! an UPDATE (tables.rs `after_conflict`): a running holder is waited for
//! on its xid lock (deadlock detection, lock_timeout, pg_locks showing a
//! ShareLock wait on a transactionid, as PostgreSQL), a committed update
//! is followed to the newest version in READ COMMITTED (handed back for
//! the SQL layer to re-check, EvalPlanQual) and is 40001 in REPEATABLE
//! READ. Only NOWAIT (55P03) and SKIP LOCKED are the locker's own. The
//! heap side (the xmax bits, WAL) is storage's rowlock.rs.
//!
//! Runs in the backend that owns the session.

use tusk_common::PgError;
use tusk_sql::catalog::{codes, Relation};
use tusk_sql::rowlock::{RowLockOutcome, RowLockStrength, RowLockWait};
use tusk_storage::heapam::TmResult;
use tusk_storage::lmgr::{LockMode, LOCK_NOT_AVAILABLE};
use tusk_storage::rowlock::RowLockMode;

use super::parse_ctid;
use crate::backend::Session;

fn storage_mode(s: RowLockStrength) -> RowLockMode {
    match s {
        RowLockStrength::KeyShare => RowLockMode::KeyShare,
        RowLockStrength::Share => RowLockMode::Share,
        RowLockStrength::NoKeyUpdate => RowLockMode::NoKeyUpdate,
        RowLockStrength::Update => RowLockMode::Update,
    }
}

impl Session {
    /// Locks the row version at `ctid` of `rel` in `strength` for the
    /// running transaction (PostgreSQL's heap_lock_tuple with its waits,
    /// as ExecLockRows drives it). Takes RowShareLock on the table. A
    /// holder in a conflicting mode is waited for (`Block`), skipped
    /// (`Skip`: [`RowLockOutcome::Skipped`]) or is 55P03 `could not
    /// obtain lock on row in relation "t"` (`NoWait`). A row deleted by a
    /// committed transaction is skipped (READ COMMITTED) or 40001
    /// (REPEATABLE READ); a row updated by one gives its newest version
    /// ([`RowLockOutcome::Updated`]) or 40001.
    pub(in crate::backend) fn lock_row_impl(
        &mut self,
        rel: &Relation,
        ctid: &str,
        strength: RowLockStrength,
        wait: RowLockWait,
    ) -> Result<RowLockOutcome, PgError> {
        let t = rel.table()?;
        self.lock_relation(t, LockMode::RowShare)?;
        let tid = parse_ctid(ctid)?;
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        let mode = storage_mode(strength);
        loop {
            let out = self.with_heap(t, |h, vis, owner| {
                h.lock_tuple(owner, vis, tid, xid, cid, mode)
            })?;
            let f = match out {
                Ok(()) => return Ok(RowLockOutcome::Locked),
                Err(f) => f,
            };
            match f.result {
                TmResult::BeingModified => match wait {
                    RowLockWait::Skip => return Ok(RowLockOutcome::Skipped),
                    RowLockWait::NoWait => {
                        return Err(PgError::error(
                            LOCK_NOT_AVAILABLE,
                            format!("could not obtain lock on row in relation \"{}\"", rel.name),
                        ))
                    }
                    RowLockWait::Block => {
                        self.wait_for_xid(f.xmax)?;
                        continue;
                    }
                },
                TmResult::SelfModified => return Ok(RowLockOutcome::Skipped),
                TmResult::Updated | TmResult::Deleted if self.repeatable_read()? => {
                    return Err(PgError::error(
                        codes::T_R_SERIALIZATION_FAILURE,
                        "could not serialize access due to concurrent update",
                    ))
                }
                _ => match self.after_conflict(rel, t, f, tid)? {
                    None => continue,
                    Some(Some(row)) if !row.is_empty() => return Ok(RowLockOutcome::Updated(row)),
                    Some(_) => return Ok(RowLockOutcome::Skipped),
                },
            }
        }
    }
}
