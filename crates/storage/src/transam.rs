//! Transaction ids: the 64-bit counter in shared memory, their assignment (top-level and subtransaction), and a transaction's entry into and exit from the proc array.
//!
//! Why this shape (PostgreSQL's `varsup.c` and `procarray.c`, with 64-bit
//! ids): `next_xid` is one 64-bit counter (PostgreSQL's
//! `nextXid`, a FullTransactionId), so "older than" is plain `<` and
//! wraparound cannot happen. It lives in a small registered area
//! ([`AREA`]) next to the two LWLocks that order everything about it:
//!
//! - **XidGenLock** (exclusive) to take the next id. The id is stored in
//!   the process's `Proc.xid` (or its subxid cache) *before* the lock is
//!   released, and the commit-status page of a new id is zeroed first
//!   ([`ExtendClog`]), so no process can see an id above `next_xid - 1`
//!   that is neither running nor recorded.
//! - **ProcArrayLock**: shared to take a snapshot ([`crate::snapshot`]) or
//!   to ask whether an xid is running; exclusive to leave the proc array
//!   at commit/abort ([`Transam::end_transaction`]), which also advances
//!   `latest_completed_xid` (the snapshot's `xmax - 1`). A transaction
//!   leaves the array only after its fate is in the commit log, so a
//!   snapshot never sees an xid that is neither running nor decided.
//!
//! Lock order: XidGenLock, then the commit-status cache's lock (zeroing a
//! new page inside the assignment); ProcArrayLock is never held with
//! either.
//!
//! **Start and checkpoints.** `next_xid` is loaded once by the startup
//! process from pg_control's shared copy (`checkPointCopy.nextXid`,
//! [`Transam::startup`]); the checkpointer reads it back into the
//! checkpoint it writes ([`Transam::next_xid`]). Between a checkpoint and
//! a crash more ids are handed out; WAL redo (s2's) must move the counter
//! past every xid it replays: [`Transam::advance_next_xid_past`] is that
//! hook, PostgreSQL's `AdvanceNextFullTransactionIdPastXid`.
//!
//! **OIDs** (PostgreSQL's GetNewObjectId): one 32-bit counter next to
//! `next_xid`, taken under XidGenLock (PostgreSQL has a separate
//! OidGenLock; OIDs are handed out by DDL only, so sharing the lock costs
//! nothing measurable). WAL covers a range ahead of the counter: when the
//! range is used up, a NEXTOID record naming `next_oid + 8192`
//! (VAR_OID_PREFETCH) is inserted before the next OID is handed out, so
//! redo after a crash restarts the counter beyond any OID given out
//! (not flushed: anything using the OID is WAL-logged after the record).
//! A checkpoint records `next_oid + oid_count`. The counter wraps to
//! FirstNormalObjectId (16384), never below; callers check uniqueness
//! where it matters (a relation's file, a catalog's rows), as
//! PostgreSQL's GetNewOidWithIndex does.
//!
//! **Subtransactions.** A subtransaction that writes gets its own xid
//! (lazily, as a top-level transaction). Other processes must see it as
//! running exactly while its top-level transaction runs, so each proc has
//! a cache of its running subxids in this area (PostgreSQL's
//! `PGPROC.subxids`, [`MAX_CACHED_SUBXIDS`] of them). The parent of every
//! cached subxid is the proc's own `xid`: that *is* the parent map other
//! processes need (pg_subtrans answers "which top-level transaction owns
//! this xid" and nothing else outside the owner). Nesting inside the
//! transaction (which savepoint is whose parent, for ROLLBACK TO) is the
//! owner's private state. Nothing of it survives a crash, and nothing
//! needs to: after a crash no transaction is running, every xid is either
//! committed in pg_xact (its commit record was flushed, redo sets it) or
//! is treated as aborted, and PostgreSQL itself truncates pg_subtrans at
//! start for the same reason.
//!
//! **Overflow.** A transaction with more than [`MAX_CACHED_SUBXIDS`]
//! running subxids (a loop of SAVEPOINT / INSERT / RELEASE keeps every
//! released subxid running) marks its cache `overflowed`, as PostgreSQL
//! does, and records each further subxid's top-level xid in the
//! **subtransaction map** ([`SubtransMap`], PostgreSQL's pg_subtrans): a
//! ring of [`SUBTRANS_SLOTS`] (xid, top xid) entries indexed by
//! `xid % SUBTRANS_SLOTS`, in this area, never on disk (nothing of it is
//! needed after a crash). A snapshot that meets an overflowed proc is
//! marked and maps an unlisted xid to its top-level xid before deciding
//! ([`crate::snapshot::Snapshot::xid_in_snapshot`]); so does
//! [`Transam::is_in_progress`]. An entry is needed while its xid may be
//! looked up as running: while it is at or above the oldest xmin of any
//! process ([`crate::snapshot::oldest_xmin`]); below that it may be
//! overwritten. The assignment of an overflowed subxid whose slot still
//! holds a needed entry is refused with ERROR 54000 — that takes more
//! than [`SUBTRANS_SLOTS`] xids handed out since the oldest running
//! transaction or snapshot began, while some transaction is overflowed
//! (PostgreSQL's pg_subtrans would grow on disk instead). A rolled-back
//! overflowed subxid's entry is cleared ([`Transam::remove_subxids`]),
//! after its aborted status is set.
//!
//! ```text
//! area (Transam = 10), one 64-byte line, one SubxidCache per proc, the map
//! offset size field
//!      0   16 xid_gen_lock          LwLock (XidGenLock)
//!     16   16 proc_array_lock       LwLock (ProcArrayLock)
//!     32    8 next_xid              next id to hand out (u64)
//!     40    8 latest_completed_xid  highest id that committed or aborted
//!     48    4 loaded                1 once the startup process set next_xid
//!     52    4 next_oid              next OID to hand out (u32)
//!     56    4 oid_count             OIDs left in the range WAL covers
//!     60    4 (padding)
//!     64      SubxidCache × total procs, 536 bytes each:
//!               0   4 count  (u32)   4 4 overflowed (u32, 0 or 1)
//!               8 512 xids [u64; 64], the first `count` valid
//!             520   4 delay_chkpt (u32, odd while committing)  524 4 pad
//!             528   8 known_done (u64): last xid the owner found finished
//!      …      SubtransEntry × SUBTRANS_SLOTS (65536), 16 bytes each:
//!               0   8 xid (u64, 0: empty)   8 8 top-level xid (u64)
//! ```
//!
//! All zeroes is a valid area apart from the two LWLocks: no subxids, no
//! overflow, an empty map.

use crate::clog::{XidStatus, FIRST_NORMAL_TRANSACTION_ID, INVALID_TRANSACTION_ID};
use crate::layout::{AreaId, AreaSpec, Layout, SizeCalc, SizeError, Sizing};
use crate::lwlock::{LwLock, LwMode, LwProcs};
use crate::procarray::ProcArray;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use tusk_common::{sqlstate, PgError};

/// OIDs one NEXTOID record covers (PostgreSQL's VAR_OID_PREFETCH).
pub const VAR_OID_PREFETCH: u32 = 8192;

/// The first OID handed out to user objects (PostgreSQL's
/// FirstNormalObjectId).
const FIRST_NORMAL_OBJECT_ID: u32 = crate::catalog::FIRST_NORMAL_OBJECT_ID;

/// Running subxids a proc can publish (PostgreSQL's
/// PGPROC_MAX_CACHED_SUBXIDS).
pub const MAX_CACHED_SUBXIDS: usize = 64;

/// Entries of the subtransaction map (module comment, "Overflow").
pub const SUBTRANS_SLOTS: usize = 1 << 16;

/// The counter and its locks, at the start of the area.
#[repr(C, align(64))]
pub struct TransamShared {
    pub xid_gen_lock: LwLock,
    pub proc_array_lock: LwLock,
    next_xid: AtomicU64,
    latest_completed_xid: AtomicU64,
    loaded: AtomicU32,
    /// The next OID to hand out (PostgreSQL's ShmemVariableCache->nextOid).
    next_oid: AtomicU32,
    /// OIDs left before the next NEXTOID record must be written.
    oid_count: AtomicU32,
}

/// One proc's running subtransaction ids.
#[repr(C, align(8))]
pub struct SubxidCache {
    count: AtomicU32,
    /// 1 once the transaction had more running subxids than the cache
    /// holds: the rest are only in the subtransaction map. Cleared when
    /// the transaction ends.
    overflowed: AtomicU32,
    xids: [AtomicU64; MAX_CACHED_SUBXIDS],
    /// Odd while the proc is between writing its commit record and
    /// setting its commit status (PostgreSQL's DELAY_CHKPT_START): a
    /// checkpoint whose redo pointer follows the record waits for the
    /// status before writing the commit log back. Bumped by the owner.
    delay_chkpt: AtomicU32,
    _pad: AtomicU32,
    /// The last xid this proc's owner found no longer running
    /// ([`Transam::is_in_progress`]'s one-entry cache, PostgreSQL's
    /// cachedFetchXid idea): a finished xid never runs again while this
    /// shared memory lives, and a crash restart makes new, zeroed memory.
    /// Scanning the proc array for every tuple of a freshly loaded table
    /// was a tenth of `pgbench -i`'s time. Written by the owner only.
    known_done: AtomicU64,
}

/// One entry of the subtransaction map: an overflowed subxid and its
/// top-level xid.
#[repr(C)]
pub struct SubtransEntry {
    xid: AtomicU64,
    top: AtomicU64,
}

const _: () = assert!(std::mem::size_of::<TransamShared>() == 64);
const _: () = assert!(std::mem::size_of::<SubxidCache>() == 536);
const _: () = assert!(std::mem::size_of::<SubtransEntry>() == 16);

fn size(c: &SizeCalc) -> Result<usize, SizeError> {
    c.add(
        c.add(
            std::mem::size_of::<TransamShared>(),
            c.mul(c.z.total_procs(), std::mem::size_of::<SubxidCache>())?,
        )?,
        SUBTRANS_SLOTS * std::mem::size_of::<SubtransEntry>(),
    )
}

/// A view of the subtransaction map (module comment, "Overflow"): what a
/// snapshot that met an overflowed proc keeps to map an xid to its
/// top-level xid. Copyable; valid while the region is mapped (for good,
/// in every process).
#[derive(Clone, Copy)]
pub struct SubtransMap {
    ring: *const SubtransEntry,
}

impl std::fmt::Debug for SubtransMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubtransMap")
    }
}

impl PartialEq for SubtransMap {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.ring, other.ring)
    }
}

impl Eq for SubtransMap {}

impl SubtransMap {
    fn slot(&self, xid: u64) -> &SubtransEntry {
        // SAFETY: SUBTRANS_SLOTS entries at `ring` (Transam::from_raw),
        // mapped while the view is used.
        unsafe { &*self.ring.add((xid % SUBTRANS_SLOTS as u64) as usize) }
    }

    /// The top-level xid of overflowed subxid `xid`, if the map has it
    /// (PostgreSQL's SubTransGetTopmostTransaction). Lock-free: the
    /// entry is read between two reads of its tag, so an entry being
    /// overwritten (only ever one no longer needed) is never taken for
    /// another xid's. Any process.
    pub fn top_of(&self, xid: u64) -> Option<u64> {
        if xid < FIRST_NORMAL_TRANSACTION_ID {
            return None;
        }
        let e = self.slot(xid);
        if e.xid.load(Ordering::Acquire) != xid {
            return None;
        }
        let top = e.top.load(Ordering::Acquire);
        (e.xid.load(Ordering::Acquire) == xid).then_some(top)
    }

    /// Publishes `xid` → `top`; the writer checked that the slot's entry
    /// is no longer needed. The tag is cleared first, so a reader never
    /// pairs the old tag with the new top.
    fn set(&self, xid: u64, top: u64) {
        let e = self.slot(xid);
        e.xid.store(0, Ordering::Release);
        e.top.store(top, Ordering::Release);
        e.xid.store(xid, Ordering::Release);
    }

    /// Clears the entry of `xid` if it has one (a rolled-back subxid).
    fn clear(&self, xid: u64) {
        let e = self.slot(xid);
        let _ = e
            .xid
            .compare_exchange(xid, 0, Ordering::AcqRel, Ordering::Acquire);
    }
}

/// # Safety
/// As [`AreaSpec::init`].
unsafe fn init(at: *mut u8, size: usize, z: &Sizing) {
    // SAFETY: promised by the caller; the area is zero-filled, and zero is
    // a valid SubxidCache, counter and (free) LWLock.
    unsafe { crate::layout::init_zeroed(at, size, z) }
}

pub const AREA: AreaSpec = AreaSpec {
    id: AreaId::Transam,
    name: "transaction ids",
    align: 64,
    size,
    init,
};

/// Zeroes the commit-status page of a new xid before anyone can use it
/// (PostgreSQL's ExtendCLOG). Implemented by [`crate::clogbuffers::Clog`];
/// called under XidGenLock by the assigning process.
pub trait ExtendClog {
    fn extend(&self, xid: u64) -> Result<(), PgError>;
}

/// The WAL side of commit and abort (xlog.c's `RecordTransactionCommit`
/// / `RecordTransactionAbort`), implemented over WAL by
/// [`crate::xactwal::XlogCommit`]. Called by the committing backend
/// before any commit status is set.
pub trait CommitWal {
    /// Writes the commit record of `xid` and its committed `subxids` and
    /// returns only when WAL is flushed past its end (`xlog_flush`, or
    /// group commit; not waited for with `synchronous_commit = off`, whose
    /// risk `xactwal` documents): **the commit record is durable before
    /// pg_xact says committed**, so a crash can never leave a committed status whose
    /// WAL is lost (the data pages of the transaction, written later under
    /// the WAL-before-data rule, would then be unrecoverable).
    ///
    /// Returns 0 when the record is flushed, else (asynchronous commit)
    /// the record's end, which the commit log keeps as the page's group
    /// LSN so that the page is not written before the record.
    fn log_commit(&self, xid: u64, subxids: &[u64]) -> Result<u64, PgError>;
    /// Writes the abort record; no flush wait (an abort that is lost in a
    /// crash is still an abort: no commit record, no committed status).
    fn log_abort(&self, xid: u64, subxids: &[u64]) -> Result<(), PgError>;
}

/// Commit statuses, as [`crate::clogbuffers::Clog`] keeps them.
pub trait ClogStatus {
    fn get_status(&self, xid: u64) -> Result<XidStatus, PgError>;
    /// Sets `xid` and `subxids` to `status` (Committed or Aborted) so that
    /// no reader sees the subxids committed before `xid` is.
    /// `commit_lsn`: what [`CommitWal::log_commit`] returned (0 for an
    /// abort or a replayed record).
    fn set_tree_status(
        &self,
        xid: u64,
        subxids: &[u64],
        status: XidStatus,
        commit_lsn: u64,
    ) -> Result<(), PgError>;
}

/// This process's view of the area. Copyable; any process may hold one.
#[derive(Clone, Copy)]
pub struct Transam {
    shared: *const TransamShared,
    subxids: *const SubxidCache,
    map: SubtransMap,
    procs: ProcArray,
}

impl Transam {
    /// # Safety
    /// `at` is an area of [`AREA`]'s size for `procs.len()` procs, already
    /// initialised, mapped for the life of every use of the view.
    pub unsafe fn from_raw(at: *mut u8, procs: ProcArray) -> Transam {
        let caches = std::mem::size_of::<TransamShared>();
        let ring = caches + procs.len() * std::mem::size_of::<SubxidCache>();
        Transam {
            shared: at as *const TransamShared,
            // SAFETY: the caches follow the 64-byte head inside the area,
            // the map follows the caches (the layout in the file comment).
            subxids: unsafe { at.add(caches) } as *const SubxidCache,
            map: SubtransMap {
                // SAFETY: as above.
                ring: unsafe { at.add(ring) } as *const SubtransEntry,
            },
            procs,
        }
    }

    /// # Safety
    /// `base` is the region `layout` was computed for, mapped for good.
    pub unsafe fn attach(base: *mut u8, layout: &Layout, procs: ProcArray) -> Transam {
        // SAFETY: the area lies inside the region.
        unsafe { Transam::from_raw(base.add(layout.area(AreaId::Transam).offset), procs) }
    }

    pub fn shared(&self) -> &TransamShared {
        // SAFETY: from_raw's promise.
        unsafe { &*self.shared }
    }

    pub fn procs(&self) -> &ProcArray {
        &self.procs
    }

    /// The subtransaction map.
    pub fn subtrans(&self) -> SubtransMap {
        self.map
    }

    /// Whether proc `procno`'s transaction has subxids only in the map.
    /// ProcArrayLock held (either mode) for a consistent answer.
    pub fn is_overflowed(&self, procno: usize) -> bool {
        self.cache(procno).overflowed.load(Ordering::Acquire) != 0
    }

    fn cache(&self, procno: usize) -> &SubxidCache {
        assert!(procno < self.procs.len());
        // SAFETY: one cache per proc inside the area (from_raw).
        unsafe { &*self.subxids.add(procno) }
    }

    /// The running subxids of proc `procno`, into `out` (cleared first).
    /// Call with ProcArrayLock held (either mode) for a consistent copy.
    pub fn running_subxids(&self, procno: usize, out: &mut Vec<u64>) {
        out.clear();
        let c = self.cache(procno);
        let n = (c.count.load(Ordering::Acquire) as usize).min(MAX_CACHED_SUBXIDS);
        out.extend(c.xids[..n].iter().map(|x| x.load(Ordering::Acquire)));
    }

    /// The running subxids of proc `procno` into `out`, allocating
    /// nothing; returns how many. ProcArrayLock held (either mode).
    pub fn running_subxids_into(
        &self,
        procno: usize,
        out: &mut [u64; MAX_CACHED_SUBXIDS],
    ) -> usize {
        let c = self.cache(procno);
        let n = (c.count.load(Ordering::Acquire) as usize).min(MAX_CACHED_SUBXIDS);
        for (o, x) in out.iter_mut().zip(&c.xids[..n]) {
            *o = x.load(Ordering::Acquire);
        }
        n
    }

    /// Sets the counter at start (only the startup process, before any
    /// backend runs), from pg_control's checkpoint: every id below
    /// `next_xid` was handed out before the crash or shutdown.
    pub fn startup(&self, next_xid: u64) {
        let next = next_xid.max(FIRST_NORMAL_TRANSACTION_ID);
        let s = self.shared();
        s.next_xid.store(next, Ordering::SeqCst);
        s.latest_completed_xid.store(next - 1, Ordering::SeqCst);
        s.loaded.store(1, Ordering::SeqCst);
    }

    /// Sets the OID counter (startup process: from the checkpoint, then
    /// from redo). No range is covered by WAL yet: the first OID handed
    /// out writes a NEXTOID record.
    pub fn set_next_oid(&self, next_oid: u32) {
        let s = self.shared();
        s.next_oid
            .store(next_oid.max(FIRST_NORMAL_OBJECT_ID), Ordering::SeqCst);
        s.oid_count.store(0, Ordering::SeqCst);
    }

    /// The OID a checkpoint records: beyond every OID handed out and
    /// every one the WAL range covers. Any process; no lock (as
    /// [`Self::next_xid`]).
    pub fn next_oid_for_checkpoint(&self) -> u32 {
        let s = self.shared();
        let n = s.next_oid.load(Ordering::SeqCst);
        let c = s.oid_count.load(Ordering::SeqCst);
        match n.checked_add(c) {
            Some(v) if v >= FIRST_NORMAL_OBJECT_ID => v,
            _ => FIRST_NORMAL_OBJECT_ID,
        }
    }

    /// Hands out a new OID (PostgreSQL's GetNewObjectId), writing a
    /// NEXTOID record through `log_next_oid` first when the range WAL
    /// covers is used up (module comment). Any process with a proc slot
    /// (`me`); the caller checks the OID is unused where it must be.
    pub fn new_oid(
        &self,
        lw: &impl LwProcs,
        me: u32,
        log_next_oid: &dyn Fn(u32) -> Result<(), PgError>,
    ) -> Result<u32, PgError> {
        if !self.is_loaded() {
            return Err(PgError::error(
                sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                "cannot assign OIDs before the startup process set the next one",
            ));
        }
        let s = self.shared();
        s.xid_gen_lock.acquire(lw, me, LwMode::Exclusive);
        let r = (|| {
            let mut next = s.next_oid.load(Ordering::SeqCst);
            if next < FIRST_NORMAL_OBJECT_ID {
                // Wrapped around (or never set): start again above the
                // bootstrap objects, with a new WAL range.
                next = FIRST_NORMAL_OBJECT_ID;
                s.oid_count.store(0, Ordering::SeqCst);
            }
            let mut count = s.oid_count.load(Ordering::SeqCst);
            if count == 0 {
                log_next_oid(next.wrapping_add(VAR_OID_PREFETCH))?;
                count = VAR_OID_PREFETCH;
            }
            s.next_oid.store(next.wrapping_add(1), Ordering::SeqCst);
            s.oid_count.store(count - 1, Ordering::SeqCst);
            Ok(next)
        })();
        s.xid_gen_lock.release(lw);
        r
    }

    /// Whether [`Self::startup`] ran (no xid can be handed out before).
    pub fn is_loaded(&self) -> bool {
        self.shared().loaded.load(Ordering::SeqCst) != 0
    }

    /// The next id to be handed out; the checkpointer stores it in the
    /// checkpoint record and pg_control. Any process; no lock (a
    /// checkpoint's redo point precedes this read, and redo advances past
    /// any later xid, [`Self::advance_next_xid_past`]).
    pub fn next_xid(&self) -> u64 {
        self.shared().next_xid.load(Ordering::SeqCst)
    }

    /// Highest xid that committed or aborted; a snapshot's xmax is one more.
    pub fn latest_completed_xid(&self) -> u64 {
        self.shared().latest_completed_xid.load(Ordering::SeqCst)
    }

    /// WAL redo hook (the startup process, s2's redo loop): a record of
    /// `xid` was replayed, so ids up to it were handed out before the
    /// crash. Moves `next_xid` past it.
    pub fn advance_next_xid_past(&self, xid: u64) {
        let s = self.shared();
        s.next_xid
            .fetch_max(xid.saturating_add(1), Ordering::SeqCst);
        s.latest_completed_xid.fetch_max(xid, Ordering::SeqCst);
    }

    /// Hands out the next xid under XidGenLock (PostgreSQL's
    /// GetNewTransactionId) to proc `me`: as its top-level xid when
    /// `sub` is false (`Proc.xid` must be 0), else as a running subxid in
    /// its cache. Called only by the process owning proc `me`, at its
    /// transaction's (or subtransaction's) first write.
    pub fn assign_xid(
        &self,
        lw: &impl LwProcs,
        me: u32,
        sub: bool,
        clog: &dyn ExtendClog,
    ) -> Result<u64, PgError> {
        if !self.is_loaded() {
            return Err(PgError::error(
                sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                "cannot assign transaction IDs before the startup process set the next one",
            ));
        }
        let proc = self.procs.proc(me as usize);
        let cache = self.cache(me as usize);
        if sub && proc.xid() == INVALID_TRANSACTION_ID {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "cannot assign a subtransaction ID before the top-level transaction has one",
            ));
        }
        if !sub && proc.xid() != INVALID_TRANSACTION_ID {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!("transaction already has ID {}", proc.xid()),
            ));
        }
        let n = cache.count.load(Ordering::Acquire) as usize;
        // An overflowing subxid goes to the map. Which entries are still
        // needed is decided by the horizon, computed before XidGenLock
        // (ProcArrayLock is never taken under it); the horizon only moves
        // up, so an earlier value is a safe lower bound.
        let overflow = sub && n >= MAX_CACHED_SUBXIDS;
        let horizon = if overflow {
            crate::snapshot::oldest_xmin(self, lw, me)
        } else {
            0
        };
        let s = self.shared();
        s.xid_gen_lock.acquire(lw, me, LwMode::Exclusive);
        let xid = s.next_xid.load(Ordering::SeqCst);
        if overflow {
            let old = self.map.slot(xid).xid.load(Ordering::Acquire);
            if old != 0 && old >= horizon {
                s.xid_gen_lock.release(lw);
                return Err(PgError::error(
                    sqlstate::PROGRAM_LIMIT_EXCEEDED,
                    "cannot assign a subtransaction ID: the subtransaction map is full",
                )
                .with_hint(format!(
                    "More than {SUBTRANS_SLOTS} transaction IDs were assigned since the oldest running transaction or snapshot began, while a transaction had more than {MAX_CACHED_SUBXIDS} subtransactions. End long-running transactions."
                )));
            }
        }
        // The page first: if zeroing it fails, the id is not handed out.
        if let Err(e) = clog.extend(xid) {
            s.xid_gen_lock.release(lw);
            return Err(e);
        }
        s.next_xid.store(xid + 1, Ordering::SeqCst);
        // Published before XidGenLock is released: a snapshot taken after
        // the counter moved finds it (or has xmax <= xid anyway).
        if overflow {
            self.map.set(xid, proc.xid());
            cache.overflowed.store(1, Ordering::Release);
        } else if sub {
            cache.xids[n].store(xid, Ordering::Release);
            cache.count.store(n as u32 + 1, Ordering::Release);
        } else {
            proc.set_xid(xid);
        }
        s.xid_gen_lock.release(lw);
        Ok(xid)
    }

    /// Takes `gone` (an aborted subtransaction's xid and its children's)
    /// out of proc `me`'s cache, after their aborted status is in the
    /// commit log (PostgreSQL's XidCacheRemoveRunningXids). Owner only.
    pub fn remove_subxids(&self, lw: &impl LwProcs, me: u32, gone: &[u64]) {
        let s = self.shared();
        let cache = self.cache(me as usize);
        s.proc_array_lock.acquire(lw, me, LwMode::Exclusive);
        let n = cache.count.load(Ordering::Acquire) as usize;
        let mut kept = 0;
        let mut latest = 0;
        for i in 0..n.min(MAX_CACHED_SUBXIDS) {
            let x = cache.xids[i].load(Ordering::Acquire);
            if gone.contains(&x) {
                latest = latest.max(x);
            } else {
                cache.xids[kept].store(x, Ordering::Release);
                kept += 1;
            }
        }
        cache.count.store(kept as u32, Ordering::Release);
        if cache.overflowed.load(Ordering::Acquire) != 0 {
            // Overflowed ones are only in the map: out of it too. (The
            // cache stays marked overflowed until the transaction ends;
            // later subxids may fill the slots freed here.)
            for &x in gone {
                self.map.clear(x);
                latest = latest.max(x);
            }
        }
        s.latest_completed_xid.fetch_max(latest, Ordering::SeqCst);
        s.proc_array_lock.release(lw);
    }

    /// Leaves the proc array at commit or abort (PostgreSQL's
    /// ProcArrayEndTransaction): clears `Proc.xid`, `Proc.xmin` and the
    /// subxid cache and advances `latest_completed_xid`, under
    /// ProcArrayLock exclusive. Call only after the transaction's status
    /// is in the commit log. Owner only.
    pub fn end_transaction(&self, lw: &impl LwProcs, me: u32) {
        let s = self.shared();
        let proc = self.procs.proc(me as usize);
        let cache = self.cache(me as usize);
        s.proc_array_lock.acquire(lw, me, LwMode::Exclusive);
        let mut latest = proc.xid();
        let n = (cache.count.load(Ordering::Acquire) as usize).min(MAX_CACHED_SUBXIDS);
        for x in &cache.xids[..n] {
            latest = latest.max(x.load(Ordering::Acquire));
        }
        proc.set_xid(INVALID_TRANSACTION_ID);
        proc.set_xmin(INVALID_TRANSACTION_ID);
        cache.count.store(0, Ordering::Release);
        // Its map entries stay: an older snapshot may still map one of its
        // subxids to its xid (and find it in its xip).
        cache.overflowed.store(0, Ordering::Release);
        s.latest_completed_xid.fetch_max(latest, Ordering::SeqCst);
        s.proc_array_lock.release(lw);
    }

    /// Is `xid` (top-level or sub) running in any process, this one
    /// included? (PostgreSQL's TransactionIdIsInProgress, without its
    /// caches.) Any process; takes ProcArrayLock shared.
    pub fn is_in_progress(&self, lw: &impl LwProcs, me: u32, xid: u64) -> bool {
        if xid < FIRST_NORMAL_TRANSACTION_ID {
            return false;
        }
        let known = (me as usize) < self.procs.len();
        if known && self.cache(me as usize).known_done.load(Ordering::Relaxed) == xid {
            return false;
        }
        let s = self.shared();
        s.proc_array_lock.acquire(lw, me, LwMode::Shared);
        let mut found = false;
        let mut any_overflowed = false;
        for i in 0..self.procs.len() {
            if self.procs.proc(i).xid() == xid {
                found = true;
                break;
            }
            let c = self.cache(i);
            let n = (c.count.load(Ordering::Acquire) as usize).min(MAX_CACHED_SUBXIDS);
            if c.xids[..n].iter().any(|x| x.load(Ordering::Acquire) == xid) {
                found = true;
                break;
            }
            any_overflowed |= c.overflowed.load(Ordering::Acquire) != 0;
        }
        if !found && any_overflowed {
            // An overflowed subxid runs while its top-level xid does. (A
            // rolled-back one was cleared from the map.)
            if let Some(top) = self.map.top_of(xid) {
                found = (0..self.procs.len())
                    .any(|i| self.procs.proc(i).xid() == top && self.is_overflowed(i));
            }
        }
        s.proc_array_lock.release(lw);
        if !found && known {
            self.cache(me as usize)
                .known_done
                .store(xid, Ordering::Relaxed);
        }
        found
    }

    /// Commits proc `me`'s transaction in PostgreSQL's order: the commit
    /// record flushed ([`CommitWal::log_commit`]), then the statuses in
    /// the commit log, then out of the proc array. `subxids` are the
    /// committed (not rolled back) subtransactions' xids. Owner only.
    /// An error before the status is set leaves the transaction to be
    /// aborted by the caller; once the status is set it cannot fail.
    pub fn commit(
        &self,
        lw: &impl LwProcs,
        me: u32,
        subxids: &[u64],
        wal: &dyn CommitWal,
        clog: &dyn ClogStatus,
    ) -> Result<(), PgError> {
        let xid = self.procs.proc(me as usize).xid();
        if xid != INVALID_TRANSACTION_ID {
            // Odd from before the record is inserted until the status is
            // set, also when either fails (see wait_for_delaying_commits).
            let delay = &self.cache(me as usize).delay_chkpt;
            delay.fetch_add(1, Ordering::SeqCst);
            let r = wal
                .log_commit(xid, subxids)
                .and_then(|lsn| clog.set_tree_status(xid, subxids, XidStatus::Committed, lsn));
            delay.fetch_add(1, Ordering::SeqCst);
            r?;
        }
        self.end_transaction(lw, me);
        Ok(())
    }

    /// Waits until every commit that was between its commit record and
    /// its commit status when called has set the status (PostgreSQL's
    /// GetVirtualXIDsDelayingChkpt loop). The checkpointer calls it after
    /// choosing the redo pointer and before writing the commit log back:
    /// a commit record before the pointer is not replayed after a crash,
    /// so its status must be in what the checkpoint writes. Commits that
    /// start later are not waited for (no starvation). Any process.
    pub fn wait_for_delaying_commits(&self) {
        let mut waiting: Vec<(usize, u32)> = (0..self.procs.len())
            .filter_map(|i| {
                let v = self.cache(i).delay_chkpt.load(Ordering::SeqCst);
                (v % 2 == 1).then_some((i, v))
            })
            .collect();
        while !waiting.is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(1));
            waiting.retain(|&(i, v)| self.cache(i).delay_chkpt.load(Ordering::SeqCst) == v);
        }
    }

    /// Aborts proc `me`'s transaction: abort record, aborted statuses
    /// (`subxids`: every subxid it assigned, rolled back or not), out of
    /// the proc array. Owner only. Even when the record or status cannot
    /// be written the proc leaves the array: an xid that is neither
    /// running nor committed is aborted by definition.
    pub fn abort(
        &self,
        lw: &impl LwProcs,
        me: u32,
        subxids: &[u64],
        wal: &dyn CommitWal,
        clog: &dyn ClogStatus,
    ) -> Result<(), PgError> {
        let xid = self.procs.proc(me as usize).xid();
        let mut r = Ok(());
        if xid != INVALID_TRANSACTION_ID {
            r = wal
                .log_abort(xid, subxids)
                .and_then(|_| clog.set_tree_status(xid, subxids, XidStatus::Aborted, 0));
        }
        self.end_transaction(lw, me);
        r
    }
}

/// Did `xid` commit, by its commit status alone? The special ids: the
/// bootstrap and frozen ids are committed, the invalid id is not. A
/// sub-committed status means the top-level commit was interrupted (a
/// running transaction is found in the proc array or snapshot before the
/// commit log is asked), so it is not committed.
pub fn did_commit(clog: &dyn ClogStatus, xid: u64) -> Result<bool, PgError> {
    if xid < FIRST_NORMAL_TRANSACTION_ID {
        return Ok(xid != INVALID_TRANSACTION_ID);
    }
    Ok(clog.get_status(xid)? == XidStatus::Committed)
}

#[cfg(test)]
mod tests;
