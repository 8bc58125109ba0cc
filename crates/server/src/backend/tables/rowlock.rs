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
use tusk_storage::lmgr::{LockMode, LockTarget, LOCK_NOT_AVAILABLE};
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

/// The lock-manager mode of a tuple lock in row mode `m` (PostgreSQL's
/// tupleLockExtraInfo: the table-lock conflicts are the row table's).
pub(super) fn tuple_lock_mode(m: RowLockMode) -> LockMode {
    match m {
        RowLockMode::KeyShare => LockMode::AccessShare,
        RowLockMode::Share => LockMode::RowShare,
        RowLockMode::NoKeyUpdate => LockMode::Exclusive,
        RowLockMode::Update => LockMode::AccessExclusive,
    }
}

impl Session {
    /// Takes the heavyweight tuple lock of row `tid` of `t` in row mode
    /// `m` (storage rowlock.rs: joining lockers hold it, and whoever would
    /// change or lock a row marked with joiners takes it first). `Ok(false)`:
    /// not free and `wait` said not to wait (`Skip`); `NoWait` is 55P03
    /// with the row text. Held until [`Self::tuple_unlock`] or the end of
    /// the transaction.
    pub(super) fn tuple_lock(
        &mut self,
        t: tusk_sql::catalog::TableRef,
        tid: tusk_storage::heaptuple::ItemPointer,
        m: RowLockMode,
        wait: RowLockWait,
        relname: &str,
    ) -> Result<bool, PgError> {
        let (Some(locks), Some(store)) = (self.locks.clone(), self.store.clone()) else {
            return Ok(true);
        };
        let mut policy = self.wait_policy();
        policy.dont_wait = wait != RowLockWait::Block;
        let interrupted = || {
            crate::signals::pending(libc::SIGINT)
                || crate::signals::pending(libc::SIGTERM)
                || crate::backend::PM_DEAD.load(std::sync::atomic::Ordering::SeqCst)
        };
        let target = LockTarget::Tuple {
            db: if t.shared { 0 } else { store.db },
            rel: t.oid,
            block: tid.block,
            offset: tid.offset,
        };
        let r = {
            let mut owner = self.xact.owner();
            locks.lock(
                &mut owner,
                target,
                tuple_lock_mode(m),
                &policy,
                &interrupted,
            )
        };
        match r {
            Ok(()) => Ok(true),
            Err(e) if wait != RowLockWait::Block && e.code == LOCK_NOT_AVAILABLE => {
                if wait == RowLockWait::Skip {
                    Ok(false)
                } else {
                    Err(PgError::error(
                        LOCK_NOT_AVAILABLE,
                        format!("could not obtain lock on row in relation \"{relname}\""),
                    ))
                }
            }
            Err(e) => {
                tusk_sql::Host::check_interrupts(self)?;
                Err(e)
            }
        }
    }

    /// Gives back a tuple lock taken only to look past a row's joiners.
    pub(super) fn tuple_unlock(
        &mut self,
        t: tusk_sql::catalog::TableRef,
        tid: tusk_storage::heaptuple::ItemPointer,
        m: RowLockMode,
    ) {
        let (Some(locks), Some(store)) = (self.locks.clone(), self.store.clone()) else {
            return;
        };
        let target = LockTarget::Tuple {
            db: if t.shared { 0 } else { store.db },
            rel: t.oid,
            block: tid.block,
            offset: tid.offset,
        };
        locks.unlock(&mut self.xact.owner(), target, tuple_lock_mode(m));
    }

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
        let mut probed = false;
        loop {
            let out = self.with_heap(t, |h, vis, owner| {
                h.set_probed(probed);
                h.lock_tuple(owner, vis, tid, xid, cid, mode)
            });
            // A tuple lock taken to look past joiners is kept only when
            // it became the row lock (joined).
            if probed && !matches!(out, Ok(Ok(true))) {
                self.tuple_unlock(t, tid, mode);
            }
            probed = false;
            let f = match out? {
                Ok(_) => return Ok(RowLockOutcome::Locked),
                Err(f) => f,
            };
            match f.result {
                TmResult::ShareLocked => {
                    if !self.tuple_lock(t, tid, mode, wait, &rel.name)? {
                        return Ok(RowLockOutcome::Skipped);
                    }
                    probed = true;
                }
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
