//! Advisory locks (pg_advisory_lock and its family) on the heavyweight
//! lock manager: the session's side of tusk_storage::lmgr.
//!
//! Why on the lock manager and not a table of their own: waits, queueing,
//! deadlock detection and pg_locks then work for them exactly as for
//! relation locks, and PostgreSQL's users see the same rows and DETAIL
//! lines. The keys are PostgreSQL's LOCKTAG encoding (a bigint split into
//! two halves with objsubid 1, two integers with objsubid 2). Session
//! holds are counted apart from transaction holds (`LocalLocks`), so a
//! transaction's end gives back only `_xact_` locks; session holds go at
//! pg_advisory_unlock(_all), DISCARD ALL and the process's exit (a crash:
//! the postmaster's reinitialisation of shared memory).

use super::Session;
use tusk_common::{sqlstate, PgError, Severity};
use tusk_sql::{AdvisoryFn, AdvisoryKey, AdvisoryOp};
use tusk_storage::lmgr::{LockFail, LockMode, LockTarget};

/// The lock-table target of `key` in database `db` (PostgreSQL's
/// SET_LOCKTAG_INT64 / SET_LOCKTAG_INT32 layout).
pub(super) fn target(db: u32, key: AdvisoryKey) -> LockTarget {
    match key {
        AdvisoryKey::Int8(k) => LockTarget::Advisory {
            db,
            key1: (k >> 32) as u32,
            key2: k as u32,
            kind: 1,
        },
        AdvisoryKey::Pair(a, b) => LockTarget::Advisory {
            db,
            key1: a as u32,
            key2: b as u32,
            kind: 2,
        },
    }
}

impl Session {
    /// One advisory lock function call. Called by the backend running
    /// the statement.
    pub(super) fn advisory_call(
        &mut self,
        f: AdvisoryFn,
        key: AdvisoryKey,
    ) -> Result<bool, PgError> {
        let Some(locks) = self.locks.clone() else {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "advisory locks need the lock table, which is not attached",
            ));
        };
        let target = target(self.db_oid, key);
        let mode = if f.shared {
            LockMode::Share
        } else {
            LockMode::Exclusive
        };
        if f.op == AdvisoryOp::Unlock {
            let held = locks.unlock_session(target, mode);
            if !held {
                let w = PgError::new(
                    Severity::Warning,
                    sqlstate::WARNING,
                    format!("you don't own a lock of type {}", mode.name()),
                );
                tusk_common::elog::report(&w);
                self.conn.notice(&w);
            }
            return Ok(held);
        }
        let mut policy = self.wait_policy();
        policy.dont_wait = f.op == AdvisoryOp::Try;
        let interrupted = || {
            crate::signals::pending(libc::SIGINT)
                || crate::signals::pending(libc::SIGTERM)
                || super::PM_DEAD.load(std::sync::atomic::Ordering::SeqCst)
        };
        let r = if f.xact {
            let mut owner = self.xact.owner();
            locks.try_lock(&mut owner, target, mode, &policy, &interrupted)
        } else {
            locks.lock_session(target, mode, &policy, &interrupted)
        };
        match r {
            Ok(()) => Ok(true),
            Err(LockFail::NotAvailable) => Ok(false),
            Err(fail) => {
                // A cancel, a termination or statement_timeout is reported
                // as such, not as the lock failure it caused.
                tusk_sql::Host::check_interrupts(self)?;
                Err(locks.fail_error(fail, target))
            }
        }
    }

    /// Session holds outlive every transaction: they go when the process
    /// leaves (PostgreSQL's LockReleaseAll at ShutdownPostgres), before
    /// its proc slot does. Once, at session start.
    pub(super) fn release_session_locks_at_exit(&mut self) {
        if let Some(locks) = &self.locks {
            let weak = std::rc::Rc::downgrade(locks);
            let _ = tusk_storage::exit::before_shmem_exit("release session locks", move |_| {
                if let Some(l) = weak.upgrade() {
                    l.release_all();
                }
            });
        }
    }

    /// pg_advisory_unlock_all() and DISCARD ALL: every session hold goes.
    pub(super) fn advisory_unlock_all(&mut self) {
        if let Some(locks) = &self.locks {
            locks.unlock_all_session();
        }
    }
}
