//! Tuple visibility (PostgreSQL's heapam_visibility.c over tusk's 64-bit tuple header): what an MVCC snapshot sees, what a writer may do to a tuple, and what vacuum may remove; hint bits set as the commit log answers.
//!
//! Why PostgreSQL's rules: clients depend on them exactly (READ COMMITTED
//! and REPEATABLE READ behaviour, "tuple concurrently updated", what
//! VACUUM reclaims). Only the xid width differs (heaptuple.rs: xmin/xmax
//! are u64, so every comparison is a plain `<`, no wraparound-aware
//! arithmetic, no freezing).
//!
//! Order of questions, as in PostgreSQL, and why: (1) a hint bit, if set,
//! answers at once; (2) is the xid our own transaction's; (3) is it still
//! running — by the snapshot for MVCC reads, by the proc array for the
//! writer and vacuum; (4) only then the commit log. The commit log is
//! asked last because a transaction's status is set *before* it leaves
//! the proc array: asking the log first could see "committed" for a
//! transaction our snapshot must still treat as running.
//!
//! **Hint bits.** When the commit log says committed or aborted (and the
//! xid is not running), the answer is cached in the tuple's infomask
//! (`HEAP_XMIN_COMMITTED`/`INVALID`, `HEAP_XMAX_COMMITTED`/`INVALID`) so
//! later readers skip the log. The caller holds the buffer's content lock
//! (share is enough: a hint is a one-way, idempotent bit, as in
//! PostgreSQL) and compares the infomask before and after to mark the
//! buffer dirty (hint-only: no WAL, unless checksums require it —
//! s1's). With `synchronous_commit = off` a committed hint must wait
//! until the commit record is flushed ([`XactState::may_hint_committed`],
//! answered from the commit log's group LSNs): a page with the hint could
//! otherwise reach disk before the record, and the row would outlive a
//! crash that lost its transaction.
//!
//! **Command ids, simplified combo ids.** `t_cid` holds cmin when only
//! the inserting transaction's command matters, cmax when another
//! transaction's tuple is deleted by ours, and — when our own transaction
//! both inserted and deleted it — a combo id (`HEAP_COMBOCID`) that maps
//! to (cmin, cmax) in the backend's private [`ComboCids`] table, as in
//! PostgreSQL. Combo ids mean nothing outside their transaction, which is
//! fine: only the transaction itself ever reads cids of its own tuples.
//! Multixacts (`HEAP_XMAX_IS_MULTI`) do not exist yet; lock-only xmax
//! (`HEAP_XMAX_LOCK_ONLY`, SELECT FOR UPDATE) never hides a tuple.
//!
//! Who may call: any process, on a tuple it has pinned and share-locked.

use crate::clog::{XidStatus, FIRST_NORMAL_TRANSACTION_ID, INVALID_TRANSACTION_ID};
use crate::heaptuple::{
    self, ItemPointer, HEAP_COMBOCID, HEAP_XMAX_COMMITTED, HEAP_XMAX_INVALID, HEAP_XMAX_LOCK_ONLY,
    HEAP_XMIN_COMMITTED, HEAP_XMIN_INVALID,
};
use crate::snapshot::Snapshot;
use std::collections::HashMap;
use tusk_common::PgError;

/// What visibility needs to know about transactions. The server's
/// implementation combines the backend's own transaction, the proc array
/// ([`crate::transam::Transam::is_in_progress`]) and the commit log.
pub trait XactState {
    /// Is `xid` our transaction's: the top-level xid or a subtransaction's
    /// not rolled back (PostgreSQL's TransactionIdIsCurrentTransactionId)?
    fn is_current(&self, xid: u64) -> bool;
    /// Is `xid` running in any process, ours included?
    fn is_in_progress(&self, xid: u64) -> bool;
    /// Its status in the commit log.
    fn status(&self, xid: u64) -> Result<XidStatus, PgError>;
    /// (cmin, cmax) of one of our combo command ids.
    fn combo(&self, combo: u32) -> (u32, u32);
    /// May a committed hint be set for `xid` now (its commit record
    /// flushed)? The default, for states without asynchronous commits.
    fn may_hint_committed(&self, _xid: u64) -> bool {
        true
    }
}

fn did_commit(x: &dyn XactState, xid: u64) -> Result<bool, PgError> {
    if xid < FIRST_NORMAL_TRANSACTION_ID {
        return Ok(xid != INVALID_TRANSACTION_ID);
    }
    Ok(x.status(xid)? == XidStatus::Committed)
}

fn hint(t: &mut [u8], bit: u16) {
    heaptuple::set_infomask(t, heaptuple::infomask(t) | bit);
}

fn hint_committed(t: &mut [u8], bit: u16, x: &dyn XactState, xid: u64) {
    if x.may_hint_committed(xid) {
        hint(t, bit);
    }
}

fn xmax_invalid(t: &[u8]) -> bool {
    heaptuple::infomask(t) & HEAP_XMAX_INVALID != 0 || heaptuple::xmax(t) == INVALID_TRANSACTION_ID
}

fn lock_only(t: &[u8]) -> bool {
    heaptuple::infomask(t) & HEAP_XMAX_LOCK_ONLY != 0
}

/// The inserting command's id (resolving a combo id).
pub fn cmin(t: &[u8], x: &dyn XactState) -> u32 {
    let c = heaptuple::cid(t);
    if heaptuple::infomask(t) & HEAP_COMBOCID != 0 {
        x.combo(c).0
    } else {
        c
    }
}

/// The deleting command's id (resolving a combo id).
pub fn cmax(t: &[u8], x: &dyn XactState) -> u32 {
    let c = heaptuple::cid(t);
    if heaptuple::infomask(t) & HEAP_COMBOCID != 0 {
        x.combo(c).1
    } else {
        c
    }
}

/// Is the tuple visible to `snap` (PostgreSQL's HeapTupleSatisfiesMVCC)?
/// `x.is_in_progress` is not asked: the snapshot decides what was running.
pub fn satisfies_mvcc(t: &mut [u8], snap: &Snapshot, x: &dyn XactState) -> Result<bool, PgError> {
    let xmin = heaptuple::xmin(t);
    let mask = heaptuple::infomask(t);
    if mask & HEAP_XMIN_COMMITTED == 0 {
        if mask & HEAP_XMIN_INVALID != 0 {
            return Ok(false);
        }
        if x.is_current(xmin) {
            if cmin(t, x) >= snap.curcid {
                return Ok(false); // inserted by this command or a later one
            }
            if xmax_invalid(t) || lock_only(t) {
                return Ok(true);
            }
            let xmax = heaptuple::xmax(t);
            if !x.is_current(xmax) {
                // Deleted by a subtransaction of ours that rolled back.
                hint(t, HEAP_XMAX_INVALID);
                return Ok(true);
            }
            return Ok(cmax(t, x) >= snap.curcid); // deleted by a later command?
        }
        if snap.xid_in_snapshot(xmin) {
            return Ok(false);
        }
        if did_commit(x, xmin)? {
            hint_committed(t, HEAP_XMIN_COMMITTED, x, xmin);
        } else {
            // Aborted, or crashed: never committed.
            hint(t, HEAP_XMIN_INVALID);
            return Ok(false);
        }
    } else if !x.is_current(xmin) && snap.xid_in_snapshot(xmin) {
        // Committed, but after our snapshot was taken.
        return Ok(false);
    }
    // The inserter committed (or is us, in an earlier command).
    if xmax_invalid(t) || lock_only(t) {
        return Ok(true);
    }
    let xmax = heaptuple::xmax(t);
    if heaptuple::infomask(t) & HEAP_XMAX_COMMITTED == 0 {
        if x.is_current(xmax) {
            return Ok(cmax(t, x) >= snap.curcid);
        }
        if snap.xid_in_snapshot(xmax) {
            return Ok(true);
        }
        if !did_commit(x, xmax)? {
            hint(t, HEAP_XMAX_INVALID);
            return Ok(true);
        }
        hint_committed(t, HEAP_XMAX_COMMITTED, x, xmax);
    } else if snap.xid_in_snapshot(xmax) {
        return Ok(true);
    }
    Ok(false)
}

/// What a writer (UPDATE, DELETE, SELECT FOR UPDATE) may do with a tuple
/// (PostgreSQL's TM_Result from HeapTupleSatisfiesUpdate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateResult {
    /// Live: the writer may change it.
    Ok,
    /// Not visible to the writer's command at all.
    Invisible,
    /// Already changed by the writer's own transaction, by this command or
    /// a later one (PostgreSQL's TM_SelfModified).
    SelfModified,
    /// Another running transaction deletes, updates or locks it: wait for
    /// it, then look again.
    BeingModified,
    /// A committed transaction updated it; the new version is at `t_ctid`.
    Updated,
    /// A committed transaction deleted it.
    Deleted,
}

/// HeapTupleSatisfiesUpdate: `curcid` is the writer's command id, `tid`
/// the tuple's own position (a deleted tuple's `t_ctid` points to itself,
/// an updated one's to its new version).
pub fn satisfies_update(
    t: &mut [u8],
    curcid: u32,
    tid: ItemPointer,
    x: &dyn XactState,
) -> Result<UpdateResult, PgError> {
    use UpdateResult as U;
    let xmin = heaptuple::xmin(t);
    let mask = heaptuple::infomask(t);
    if mask & HEAP_XMIN_COMMITTED == 0 {
        if mask & HEAP_XMIN_INVALID != 0 {
            return Ok(U::Invisible);
        }
        if x.is_current(xmin) {
            if cmin(t, x) >= curcid {
                return Ok(U::Invisible);
            }
            if xmax_invalid(t) || lock_only(t) {
                return Ok(U::Ok);
            }
            if !x.is_current(heaptuple::xmax(t)) {
                hint(t, HEAP_XMAX_INVALID);
                return Ok(U::Ok);
            }
            return Ok(if cmax(t, x) >= curcid {
                U::SelfModified
            } else {
                U::Invisible
            });
        }
        if x.is_in_progress(xmin) {
            return Ok(U::Invisible);
        }
        if did_commit(x, xmin)? {
            hint_committed(t, HEAP_XMIN_COMMITTED, x, xmin);
        } else {
            hint(t, HEAP_XMIN_INVALID);
            return Ok(U::Invisible);
        }
    }
    if xmax_invalid(t) {
        return Ok(U::Ok);
    }
    let xmax = heaptuple::xmax(t);
    let gone = |t: &[u8]| {
        if heaptuple::ctid(t) == tid {
            U::Deleted
        } else {
            U::Updated
        }
    };
    if heaptuple::infomask(t) & HEAP_XMAX_COMMITTED != 0 {
        return Ok(if lock_only(t) { U::Ok } else { gone(t) });
    }
    if x.is_current(xmax) {
        if lock_only(t) {
            return Ok(U::BeingModified); // locked by ourselves: the caller decides
        }
        return Ok(if cmax(t, x) >= curcid {
            U::SelfModified
        } else {
            U::Invisible
        });
    }
    if x.is_in_progress(xmax) {
        return Ok(U::BeingModified);
    }
    if !did_commit(x, xmax)? {
        hint(t, HEAP_XMAX_INVALID);
        return Ok(U::Ok);
    }
    if lock_only(t) {
        // The locker committed: a lock ends with its transaction.
        hint(t, HEAP_XMAX_INVALID);
        return Ok(U::Ok);
    }
    hint_committed(t, HEAP_XMAX_COMMITTED, x, xmax);
    Ok(gone(t))
}

/// What vacuum may do with a tuple (PostgreSQL's HTSV_Result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VacuumResult {
    /// Dead to everyone: removable.
    Dead,
    /// Visible to someone now or later.
    Live,
    /// Deleted by a committed transaction some snapshot may still not
    /// see as committed (at or after the horizon): keep it for now.
    RecentlyDead,
    /// Its inserter is still running.
    InsertInProgress,
    /// Its deleter is still running.
    DeleteInProgress,
}

/// HeapTupleSatisfiesVacuum against `oldest_xmin`
/// ([`crate::snapshot::oldest_xmin`]): no snapshot sees as running any
/// xid below it.
pub fn satisfies_vacuum(
    t: &mut [u8],
    oldest_xmin: u64,
    x: &dyn XactState,
) -> Result<VacuumResult, PgError> {
    use VacuumResult::*;
    let xmin = heaptuple::xmin(t);
    let mask = heaptuple::infomask(t);
    if mask & HEAP_XMIN_COMMITTED == 0 {
        if mask & HEAP_XMIN_INVALID != 0 {
            return Ok(Dead);
        }
        if x.is_in_progress(xmin) {
            if xmax_invalid(t) || lock_only(t) {
                return Ok(InsertInProgress);
            }
            // Inserted and deleted by the same running transaction.
            return Ok(if x.is_in_progress(heaptuple::xmax(t)) {
                DeleteInProgress
            } else {
                InsertInProgress
            });
        }
        if did_commit(x, xmin)? {
            hint_committed(t, HEAP_XMIN_COMMITTED, x, xmin);
        } else {
            hint(t, HEAP_XMIN_INVALID);
            return Ok(Dead);
        }
    }
    if xmax_invalid(t) {
        return Ok(Live);
    }
    let xmax = heaptuple::xmax(t);
    if lock_only(t) {
        if heaptuple::infomask(t) & HEAP_XMAX_COMMITTED == 0 && !x.is_in_progress(xmax) {
            hint(t, HEAP_XMAX_INVALID);
        }
        return Ok(Live);
    }
    if heaptuple::infomask(t) & HEAP_XMAX_COMMITTED == 0 {
        if x.is_in_progress(xmax) {
            return Ok(DeleteInProgress);
        }
        if !did_commit(x, xmax)? {
            hint(t, HEAP_XMAX_INVALID);
            return Ok(Live);
        }
        hint_committed(t, HEAP_XMAX_COMMITTED, x, xmax);
    }
    Ok(if xmax >= oldest_xmin {
        RecentlyDead
    } else {
        Dead
    })
}

/// A transaction's combo command ids (PostgreSQL's combocid.c): private
/// to the backend, emptied when the transaction ends.
#[derive(Debug, Default)]
pub struct ComboCids {
    pairs: Vec<(u32, u32)>,
    index: HashMap<(u32, u32), u32>,
}

impl ComboCids {
    /// The combo id for (cmin, cmax), created if new. Stored in `t_cid`
    /// with `HEAP_COMBOCID` when our transaction deletes a tuple it
    /// inserted.
    pub fn get(&mut self, cmin: u32, cmax: u32) -> u32 {
        if let Some(&c) = self.index.get(&(cmin, cmax)) {
            return c;
        }
        let c = self.pairs.len() as u32;
        self.pairs.push((cmin, cmax));
        self.index.insert((cmin, cmax), c);
        c
    }

    /// (cmin, cmax) of combo id `c`.
    pub fn lookup(&self, c: u32) -> (u32, u32) {
        self.pairs.get(c as usize).copied().unwrap_or((c, c))
    }

    pub fn reset(&mut self) {
        self.pairs.clear();
        self.index.clear();
    }
}

/// Marks `t` deleted (or locked, `lock_only`) by command `cid` of our
/// transaction `xid` (the heap's delete/update sets this; here so the
/// combo-id rule lives with the code that reads it). The caller holds the
/// buffer's exclusive content lock.
pub fn set_deleter(
    t: &mut [u8],
    xid: u64,
    cid: u32,
    lock_only: bool,
    x: &dyn XactState,
    combos: &mut ComboCids,
) {
    let mut mask =
        heaptuple::infomask(t) & !(HEAP_XMAX_COMMITTED | HEAP_XMAX_INVALID | HEAP_XMAX_LOCK_ONLY);
    if lock_only {
        mask |= HEAP_XMAX_LOCK_ONLY;
    } else if x.is_current(heaptuple::xmin(t)) {
        let c = combos.get(cmin(t, x), cid);
        heaptuple::set_cid(t, c);
        mask |= HEAP_COMBOCID;
    } else {
        heaptuple::set_cid(t, cid);
    }
    heaptuple::set_xmax(t, xid);
    heaptuple::set_infomask(t, mask);
}

/// [`XactState`] of a process in the server: its own transaction's xids
/// (`current`: the top-level xid and its subxids not rolled back), the
/// proc array and the commit-status cache.
pub struct ProcXactState<'a, P: crate::lwlock::LwProcs> {
    pub transam: &'a crate::transam::Transam,
    pub clog: crate::clogbuffers::ClogFor<'a, P>,
    pub current: &'a [u64],
    pub combos: &'a ComboCids,
}

impl<P: crate::lwlock::LwProcs> XactState for ProcXactState<'_, P> {
    fn is_current(&self, xid: u64) -> bool {
        xid != INVALID_TRANSACTION_ID && self.current.contains(&xid)
    }

    fn is_in_progress(&self, xid: u64) -> bool {
        self.transam.is_in_progress(self.clog.lw, self.clog.me, xid)
    }

    fn status(&self, xid: u64) -> Result<XidStatus, PgError> {
        crate::transam::ClogStatus::get_status(&self.clog, xid)
    }

    fn combo(&self, combo: u32) -> (u32, u32) {
        self.combos.lookup(combo)
    }

    fn may_hint_committed(&self, xid: u64) -> bool {
        self.clog
            .clog
            .may_hint_committed(self.clog.lw, self.clog.me, xid)
    }
}

#[cfg(test)]
mod tests;
