//! Row locks in the heap (PostgreSQL's heap_lock_tuple): SELECT ... FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE write the locker's xid into the tuple's xmax with lock-only infomask bits.
//!
//! Why PostgreSQL's way and not a lock-manager entry per row: a row lock
//! costs no shared memory however many rows a statement locks (the lock
//! table is sized for relations, not rows), and it ends with its
//! transaction for free: a lock-only xmax whose transaction is no longer
//! running locks nothing (visibility.rs), also after a crash, when nothing
//! is running. The price is one WAL record per locked row
//! (XLOG_HEAP_LOCK, heapwal.rs) so that the bits survive as far as a page
//! image may be written before a crash: redo puts them back, and the
//! locker's xid, which never committed, unlocks the row when read.
//!
//! ```text
//! mode            infomask bits (with HEAP_XMAX_LOCK_ONLY)   infomask2
//! FOR KEY SHARE   HEAP_XMAX_KEYSHR_LOCK                      -
//! FOR SHARE       HEAP_XMAX_KEYSHR_LOCK | HEAP_XMAX_EXCL_LOCK -
//! FOR NO KEY UPD. HEAP_XMAX_EXCL_LOCK                        -
//! FOR UPDATE      HEAP_XMAX_EXCL_LOCK                        HEAP_KEYS_UPDATED
//! ```
//!
//! An updater's xmax (not lock-only) counts as FOR UPDATE when it set
//! HEAP_KEYS_UPDATED (a delete, or an update of a key column) and as FOR
//! NO KEY UPDATE otherwise. Conflicts are PostgreSQL's table of tuple lock
//! modes ([`RowLockMode::conflicts`]).
//!
//! **More lockers than xmax holds** (two FOR SHARE, FOR KEY SHARE beside
//! FOR NO KEY UPDATE), where PostgreSQL makes a MultiXactId: the first
//! locker stays in xmax; each further one whose mode does not conflict
//! with it *joins* by taking a heavyweight tuple lock (the lock manager's
//! LOCKTAG_TUPLE, PostgreSQL's mapping of row modes to table-lock modes:
//! KEY SHARE AccessShare, SHARE RowShare, NO KEY UPDATE Exclusive, UPDATE
//! AccessExclusive, whose conflicts are the row table's) held to the end
//! of its transaction, and marks the tuple HEAP_XMAX_IS_MULTI, which here
//! means "lockers beyond xmax hold tuple locks" (tusk has no MultiXactIds).
//! Anyone else who would change or lock such a tuple first takes the
//! tuple lock in its own mode ([`TmResult::ShareLocked`]: the caller
//! takes it, then calls again with the row probed), so it waits for
//! conflicting joiners with deadlock detection and lock_timeout, and
//! compatible ones stay. The mark goes when a FOR UPDATE-strength change
//! got its tuple lock (no joiner can remain). Joiners live in shared
//! memory only, so a restart forgets them as it must: nothing runs after
//! it. A lock table entry per joining row, not per locked row: the common
//! single locker costs none. Only a conflicting or joining request pays
//! the extra lock-manager round trip.
//!
//! **A non-key UPDATE beside a FOR KEY SHARE holder** (PostgreSQL's
//! foreign-key case) does not wait: the old version gets the updater's
//! xmax and the new version carries the holder's lock-only xmax
//! ([`Carry`]), so a later delete or key update of the new version still
//! waits for the holder. Left to do (PostgreSQL keeps both in a
//! MultiXactId): if that updater aborts, the old version has lost the
//! holder's lock; joiners' tuple locks stay on the old version's TID.
//!
//! The caller decides what to do about a conflict (wait on the holder's
//! xid lock, NOWAIT, SKIP LOCKED, follow the update chain): [`HeapRel::lock_tuple`]
//! never waits, as heap_delete and heap_update do not.
//!
//! Who may call: a backend, on a relation it opened, with its own xid.

use tusk_common::error::PgError;

use crate::heapam::{check_page, internal, tuple_at, HeapRel, TmFailure, TmResult, Visibility};
use crate::heaptuple::{
    self, ItemPointer, HEAP_KEYS_UPDATED, HEAP_XMAX_COMMITTED, HEAP_XMAX_EXCL_LOCK,
    HEAP_XMAX_INVALID, HEAP_XMAX_IS_MULTI, HEAP_XMAX_KEYSHR_LOCK, HEAP_XMAX_LOCK_ONLY,
};
use crate::lwlock::LwMode;
use crate::page;
use crate::smgr::Fork;
use crate::xact::ResourceOwner;

type Xid = u64;
type CommandId = u32;

/// A row lock's strength (PostgreSQL's LockTupleMode), weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowLockMode {
    KeyShare,
    Share,
    NoKeyUpdate,
    Update,
}

impl RowLockMode {
    /// PostgreSQL's tuple lock conflict table: FOR UPDATE conflicts with
    /// everything, FOR NO KEY UPDATE with itself and FOR SHARE, FOR SHARE
    /// with the two update modes, FOR KEY SHARE only with FOR UPDATE.
    pub fn conflicts(self, other: RowLockMode) -> bool {
        use RowLockMode::*;
        matches!(
            (self, other),
            (Update, _)
                | (_, Update)
                | (NoKeyUpdate, NoKeyUpdate)
                | (NoKeyUpdate, Share)
                | (Share, NoKeyUpdate)
        )
    }

    /// The clause as SQL spells it ("FOR NO KEY UPDATE").
    pub fn clause(self) -> &'static str {
        match self {
            RowLockMode::KeyShare => "FOR KEY SHARE",
            RowLockMode::Share => "FOR SHARE",
            RowLockMode::NoKeyUpdate => "FOR NO KEY UPDATE",
            RowLockMode::Update => "FOR UPDATE",
        }
    }

    /// (infomask bits, infomask2 bits) of a lock-only xmax in this mode.
    fn bits(self) -> (u16, u16) {
        match self {
            RowLockMode::KeyShare => (HEAP_XMAX_LOCK_ONLY | HEAP_XMAX_KEYSHR_LOCK, 0),
            RowLockMode::Share => (
                HEAP_XMAX_LOCK_ONLY | HEAP_XMAX_KEYSHR_LOCK | HEAP_XMAX_EXCL_LOCK,
                0,
            ),
            RowLockMode::NoKeyUpdate => (HEAP_XMAX_LOCK_ONLY | HEAP_XMAX_EXCL_LOCK, 0),
            RowLockMode::Update => (HEAP_XMAX_LOCK_ONLY | HEAP_XMAX_EXCL_LOCK, HEAP_KEYS_UPDATED),
        }
    }
}

/// A running holder's lock-only xmax that a non-key update's new version
/// carries over: (xmax, infomask lock bits, infomask2 lock bits).
pub type Carry = (Xid, u16, u16);

/// The lock a new version carries from its predecessor.
pub fn carry_of(t: &[u8]) -> Carry {
    (
        heaptuple::xmax(t),
        heaptuple::infomask(t)
            & (HEAP_XMAX_LOCK_ONLY
                | HEAP_XMAX_EXCL_LOCK
                | HEAP_XMAX_KEYSHR_LOCK
                | HEAP_XMAX_IS_MULTI),
        heaptuple::infomask2(t) & HEAP_KEYS_UPDATED,
    )
}

/// Sets (or clears) the carried lock on a new version not yet stored.
pub fn set_carry(t: &mut [u8], carry: Option<Carry>) {
    let m = heaptuple::infomask(t)
        & !(HEAP_XMAX_INVALID
            | HEAP_XMAX_COMMITTED
            | HEAP_XMAX_IS_MULTI
            | HEAP_XMAX_LOCK_ONLY
            | HEAP_XMAX_EXCL_LOCK
            | HEAP_XMAX_KEYSHR_LOCK);
    let m2 = heaptuple::infomask2(t) & !HEAP_KEYS_UPDATED;
    match carry {
        Some((xmax, bits, bits2)) => {
            heaptuple::set_xmax(t, xmax);
            heaptuple::set_infomask(t, m | bits);
            heaptuple::set_infomask2(t, m2 | bits2);
        }
        None => {
            heaptuple::set_xmax(t, 0);
            heaptuple::set_infomask(t, m | HEAP_XMAX_INVALID);
            heaptuple::set_infomask2(t, m2);
        }
    }
}

/// May lockers beyond xmax hold tuple locks on it (HEAP_XMAX_IS_MULTI on
/// a lock-only xmax, see the file comment)?
pub fn has_joiners(t: &[u8]) -> bool {
    heaptuple::infomask(t) & HEAP_XMAX_IS_MULTI != 0 && lock_only(t)
}

/// Is the tuple's xmax a lock only (no delete or update)?
pub fn lock_only(t: &[u8]) -> bool {
    heaptuple::infomask(t) & HEAP_XMAX_LOCK_ONLY != 0
}

/// The strength the tuple's xmax holds the row with, whether a locker's
/// or an updater's (None: no xmax).
pub fn xmax_mode(t: &[u8]) -> Option<RowLockMode> {
    let m = heaptuple::infomask(t);
    if m & HEAP_XMAX_INVALID != 0 || heaptuple::xmax(t) == 0 {
        return None;
    }
    let keys = heaptuple::infomask2(t) & HEAP_KEYS_UPDATED != 0;
    if m & HEAP_XMAX_LOCK_ONLY == 0 {
        return Some(if keys {
            RowLockMode::Update
        } else {
            RowLockMode::NoKeyUpdate
        });
    }
    let excl = m & HEAP_XMAX_EXCL_LOCK != 0;
    let keyshr = m & HEAP_XMAX_KEYSHR_LOCK != 0;
    Some(match (excl, keyshr, keys) {
        (true, true, _) => RowLockMode::Share,
        (false, true, _) => RowLockMode::KeyShare,
        (_, _, true) => RowLockMode::Update,
        _ => RowLockMode::NoKeyUpdate,
    })
}

/// Puts a lock-only xmax `xid` in `mode` on the tuple. Its t_cid and
/// t_ctid stay: cmin still matters to our own transaction, and a lock is
/// no new version. The joiners' mark stays unless `mode` is FOR UPDATE,
/// whose tuple lock proved that none remain.
fn stamp_lock(t: &mut [u8], xid: Xid, mode: RowLockMode) {
    let (mut bits, bits2) = mode.bits();
    if has_joiners(t) && mode != RowLockMode::Update {
        bits |= HEAP_XMAX_IS_MULTI;
    }
    let m = heaptuple::infomask(t)
        & !(HEAP_XMAX_INVALID
            | HEAP_XMAX_COMMITTED
            | HEAP_XMAX_IS_MULTI
            | HEAP_XMAX_LOCK_ONLY
            | HEAP_XMAX_EXCL_LOCK
            | HEAP_XMAX_KEYSHR_LOCK);
    heaptuple::set_infomask(t, m | bits);
    let m2 = heaptuple::infomask2(t) & !HEAP_KEYS_UPDATED;
    heaptuple::set_infomask2(t, m2 | bits2);
    heaptuple::set_xmax(t, xid);
}

impl HeapRel<'_> {
    /// PostgreSQL's heap_lock_tuple without the waiting: locks the tuple
    /// at `tid` in `mode` for transaction `xid` (command `cid` decides
    /// what it sees), or says why not. `Ok(Ok(joined))`: locked — in
    /// xmax (false; or already held by this transaction at least as
    /// strongly: nothing written), or, when the caller holds the tuple
    /// lock (`set_probed`), beside a running holder of a mode that does
    /// not conflict (true: the tuple lock *is* the row lock, keep it).
    /// `Ok(Err(f))`: `f.result` is ShareLocked (take the tuple lock in
    /// `mode`, then call again probed), BeingModified (another running
    /// transaction holds or changes it in a conflicting mode: wait for
    /// `f.xmax`, then call again), Updated (a committed update: the newer
    /// version is at `f.ctid`), Deleted, or SelfModified (changed by this
    /// transaction's later command). Called by the backend owning `xid`.
    #[allow(clippy::too_many_arguments)]
    pub fn lock_tuple(
        &self,
        owner: &mut ResourceOwner,
        vis: &dyn Visibility,
        tid: ItemPointer,
        xid: Xid,
        cid: CommandId,
        mode: RowLockMode,
    ) -> Result<Result<bool, TmFailure>, PgError> {
        if tid.block >= self.nblocks()? {
            return Err(internal("attempted to lock invisible tuple"));
        }
        let pin = self
            .bm
            .read_buffer(owner, self.rel, Fork::Main, tid.block)?;
        let probed = self.probed();
        let r = (|| {
            let mut l = self.bm.lock(&pin, LwMode::Exclusive);
            check_page(l.page())?;
            let Some(t) = tuple_at(l.page(), tid.block, tid.offset)? else {
                return Err(internal("attempted to lock invisible tuple"));
            };
            let ctid = heaptuple::ctid(t);
            let xmax = heaptuple::xmax(t);
            let fail = |result| Ok(Err(TmFailure { result, ctid, xmax }));
            let ours = lock_only(t) && vis.is_current_xid(xmax);
            let sat = vis.satisfies_update(t, cid);
            let compatible = lock_only(t) && !xmax_mode(t).is_some_and(|held| held.conflicts(mode));
            let mut join = false;
            match sat {
                TmResult::Ok | TmResult::BeingModified if ours => {
                    // Our own lock: enough as it is, or made stronger.
                    if xmax_mode(t).is_some_and(|held| held >= mode) {
                        return Ok(Ok(false));
                    }
                }
                TmResult::Ok => {}
                TmResult::BeingModified if compatible => join = true,
                TmResult::Invisible => return Err(internal("attempted to lock invisible tuple")),
                TmResult::Updated | TmResult::Deleted => {
                    return fail(if ctid == tid {
                        TmResult::Deleted
                    } else {
                        TmResult::Updated
                    })
                }
                r => return fail(r),
            }
            if (join || has_joiners(t)) && !probed {
                return fail(TmResult::ShareLocked);
            }
            let p = l.page_mut();
            let t = page::get_item_mut(p, tid.offset).expect("checked above");
            if join {
                if has_joiners(t) {
                    return Ok(Ok(true));
                }
                heaptuple::set_infomask(t, heaptuple::infomask(t) | HEAP_XMAX_IS_MULTI);
            } else {
                stamp_lock(t, xid, mode);
            }
            l.mark_dirty();
            let lsn = self.wal.log_heap_lock(self.rel, l.page(), tid, xid);
            if lsn != 0 {
                page::set_lsn(l.page_mut(), lsn);
            }
            Ok(Ok(join))
        })();
        self.bm.release(owner, pin);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_table_is_postgresqls() {
        use RowLockMode::*;
        let modes = [KeyShare, Share, NoKeyUpdate, Update];
        // Rows and columns in `modes` order; PostgreSQL's documentation
        // table "Conflicting Row-Level Locks".
        let want = [
            [false, false, false, true],
            [false, false, true, true],
            [false, true, true, true],
            [true, true, true, true],
        ];
        for (i, a) in modes.iter().enumerate() {
            for (j, b) in modes.iter().enumerate() {
                assert_eq!(a.conflicts(*b), want[i][j], "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn stamped_modes_read_back() {
        use RowLockMode::*;
        for m in [KeyShare, Share, NoKeyUpdate, Update] {
            let mut t = vec![0u8; 32];
            heaptuple::set_infomask(&mut t, HEAP_XMAX_INVALID | HEAP_XMAX_COMMITTED);
            heaptuple::set_infomask2(&mut t, 3 | HEAP_KEYS_UPDATED);
            stamp_lock(&mut t, 77, m);
            assert_eq!(heaptuple::xmax(&t), 77);
            assert!(lock_only(&t));
            assert_eq!(xmax_mode(&t), Some(m));
            assert_eq!(heaptuple::infomask2(&t) & 0x7FF, 3, "natts kept");
            assert_eq!(heaptuple::infomask(&t) & HEAP_XMAX_INVALID, 0);
        }
        // Updaters: a delete or key update is FOR UPDATE strength, any
        // other update FOR NO KEY UPDATE.
        let mut t = vec![0u8; 32];
        heaptuple::set_xmax(&mut t, 9);
        assert_eq!(xmax_mode(&t), Some(NoKeyUpdate));
        heaptuple::set_infomask2(&mut t, HEAP_KEYS_UPDATED);
        assert_eq!(xmax_mode(&t), Some(Update));
        heaptuple::set_infomask(&mut t, HEAP_XMAX_INVALID);
        assert_eq!(xmax_mode(&t), None);
    }
}
