//! The heavyweight lock manager: PostgreSQL's `lock.c`/`proc.c`/`deadlock.c`
//! core over the lock-table area ([`crate::lock`]).
//!
//! Why this shape:
//! - **Shared part, allocation-free** ([`LockMgr`]): LOCK and PROCLOCK
//!   entries in a hash split over 16 partition LWLocks, so backends
//!   locking different objects rarely meet; grant/wait masks and per-mode
//!   counts as PostgreSQL's, so a conflict check is a few mask operations.
//!   Nothing in it allocates, so it runs in forked test children, and its
//!   failures ([`LockFail`]) are plain data turned into a [`PgError`] by
//!   the caller.
//! - **Local part** ([`LocalLocks`]): per backend, re-entrant counts per
//!   (object, mode), so taking a lock the transaction already holds costs
//!   no shared-memory access; each first hold is remembered by the
//!   transaction's [`ResourceOwner`], which gives it back at commit, abort
//!   or exit.
//! - **Waiting**: a FIFO queue per lock (proc numbers chained through each
//!   `Proc`'s `lock_wait_next`). A request that conflicts with what is
//!   granted to others, or with a request queued ahead of it, queues, as
//!   PostgreSQL's (so a stream of share lockers cannot starve an exclusive
//!   one). The waiter sleeps on its latch, so a cancel or terminate (its
//!   signal handler sets the latch) ends the wait; the releaser grants
//!   queued requests in order and sets their latches: the waiter never
//!   re-tries, it finds itself granted (`wait_lock` = NO_ENTRY).
//! - **Deadlocks**: checked once per wait, after `deadlock_timeout`, by the
//!   waiter itself: it takes all 16 partition locks (in order: no LWLock
//!   deadlock) and walks the wait-for graph from itself (edges: holders of
//!   conflicting modes, and conflicting waiters queued ahead). Finding a
//!   cycle back to itself, it leaves the queue and fails with 40P01; the
//!   others keep waiting and proceed when its locks go at abort. Unlike
//!   PostgreSQL, a cycle through a queued-ahead waiter ("soft" edge) is
//!   not resolved by reordering the queue: the detecting process aborts.
//!
//! Lock ordering: a partition lock, then (maybe) the free-list lock; the
//! deadlock check takes partitions 0..16 in order and nothing else.
//!
//! A process already holding a mode that a queued request conflicts with
//! goes ahead of that request (PostgreSQL's ProcSleep rule), so upgrading
//! a lock while someone queues for it is not a deadlock.
//!
//! Not here yet: the fast path for weak relation locks, two-phase locks.

use crate::latch::{self, WaitFor};
use crate::layout::{AreaId, Layout, SizeCalc, Sizing};
use crate::lock::{
    from_link, shape, to_link, Lock, LockTableHeader, LockTag, ProcLock, MAX_LOCKMODES, NO_ENTRY,
    NUM_PARTITIONS,
};
use crate::lwlock::{LwMode, LwProcs};
use crate::procarray::ProcArray;
use crate::xact::{Release, ReleasePhase, Resource, ResourceId, ResourceOwner};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tusk_common::{sqlstate::SqlState, PgError};

pub const OUT_OF_SHARED_MEMORY: SqlState = SqlState::new("53200");
pub const LOCK_NOT_AVAILABLE: SqlState = SqlState::new("55P03");
pub const DEADLOCK_DETECTED: SqlState = SqlState::new("40P01");

/// PostgreSQL's lock methods: table/row/transaction locks, and advisory
/// (user) locks.
pub const DEFAULT_LOCKMETHOD: u8 = 1;
pub const USER_LOCKMETHOD: u8 = 2;

/// PostgreSQL's `LockTagType` numbers (used in `LockTag::tag_type`).
pub const LOCKTAG_RELATION: u8 = 0;
pub const LOCKTAG_RELATION_EXTEND: u8 = 1;
pub const LOCKTAG_TUPLE: u8 = 4;
pub const LOCKTAG_TRANSACTION: u8 = 5;
pub const LOCKTAG_OBJECT: u8 = 8;
pub const LOCKTAG_ADVISORY: u8 = 10;

/// The eight table lock modes, numbered as PostgreSQL's (1..=8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum LockMode {
    AccessShare = 1,
    RowShare = 2,
    RowExclusive = 3,
    ShareUpdateExclusive = 4,
    Share = 5,
    ShareRowExclusive = 6,
    Exclusive = 7,
    AccessExclusive = 8,
}

pub const ALL_MODES: [LockMode; 8] = [
    LockMode::AccessShare,
    LockMode::RowShare,
    LockMode::RowExclusive,
    LockMode::ShareUpdateExclusive,
    LockMode::Share,
    LockMode::ShareRowExclusive,
    LockMode::Exclusive,
    LockMode::AccessExclusive,
];

const fn bit(m: u32) -> u32 {
    1 << m
}

/// PostgreSQL's `LockConflicts[]`: the modes each mode conflicts with.
const CONFLICTS: [u32; MAX_LOCKMODES] = {
    const AS: u32 = bit(1);
    const RS: u32 = bit(2);
    const RE: u32 = bit(3);
    const SUE: u32 = bit(4);
    const S: u32 = bit(5);
    const SRE: u32 = bit(6);
    const E: u32 = bit(7);
    const AE: u32 = bit(8);
    [
        0,
        AE,
        E | AE,
        S | SRE | E | AE,
        SUE | S | SRE | E | AE,
        RE | SUE | SRE | E | AE,
        RE | SUE | S | SRE | E | AE,
        RS | RE | SUE | S | SRE | E | AE,
        AS | RS | RE | SUE | S | SRE | E | AE,
        0,
    ]
};

impl LockMode {
    pub fn from_u32(n: u32) -> Option<LockMode> {
        ALL_MODES.get((n as usize).checked_sub(1)?).copied()
    }

    /// The name pg_locks and error messages use.
    pub fn name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    fn bit(self) -> u32 {
        bit(self as u32)
    }

    fn conflict_mask(self) -> u32 {
        CONFLICTS[self as usize]
    }

    /// Does holding `self` block a request for `other` (symmetric)?
    pub fn conflicts_with(self, other: LockMode) -> bool {
        self.conflict_mask() & other.bit() != 0
    }
}

/// What a lock is on (PostgreSQL's LOCKTAG kinds that tusk uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockTarget {
    Relation {
        db: u32,
        rel: u32,
    },
    /// The relation-extension lock (heapam's [`crate::heapam::ExtensionLock`]).
    Extend {
        db: u32,
        rel: u32,
    },
    Tuple {
        db: u32,
        rel: u32,
        block: u32,
        offset: u16,
    },
    /// A transaction id: 64 bits (issue 9), in field1 (low) and field2.
    Transaction(u64),
    Object {
        db: u32,
        class: u32,
        obj: u32,
        sub: u16,
    },
    /// pg_advisory_lock's keys: a bigint is `key1` high, `key2` low,
    /// `kind` 1; two int4 keys are `kind` 2.
    Advisory {
        db: u32,
        key1: u32,
        key2: u32,
        kind: u16,
    },
}

impl LockTarget {
    pub fn tag(&self) -> LockTag {
        let (f1, f2, f3, f4, t, m) = match *self {
            LockTarget::Relation { db, rel } => {
                (db, rel, 0, 0, LOCKTAG_RELATION, DEFAULT_LOCKMETHOD)
            }
            LockTarget::Extend { db, rel } => {
                (db, rel, 0, 0, LOCKTAG_RELATION_EXTEND, DEFAULT_LOCKMETHOD)
            }
            LockTarget::Tuple {
                db,
                rel,
                block,
                offset,
            } => (db, rel, block, offset, LOCKTAG_TUPLE, DEFAULT_LOCKMETHOD),
            LockTarget::Transaction(x) => (
                x as u32,
                (x >> 32) as u32,
                0,
                0,
                LOCKTAG_TRANSACTION,
                DEFAULT_LOCKMETHOD,
            ),
            LockTarget::Object {
                db,
                class,
                obj,
                sub,
            } => (db, class, obj, sub, LOCKTAG_OBJECT, DEFAULT_LOCKMETHOD),
            LockTarget::Advisory {
                db,
                key1,
                key2,
                kind,
            } => (db, key1, key2, kind, LOCKTAG_ADVISORY, USER_LOCKMETHOD),
        };
        LockTag {
            field1: f1,
            field2: f2,
            field3: f3,
            field4: f4,
            tag_type: t,
            lockmethod: m,
        }
    }

    pub fn from_tag(t: &LockTag) -> Option<LockTarget> {
        let (f1, f2, f3, f4) = (t.field1, t.field2, t.field3, t.field4);
        Some(match t.tag_type {
            LOCKTAG_RELATION => LockTarget::Relation { db: f1, rel: f2 },
            LOCKTAG_RELATION_EXTEND => LockTarget::Extend { db: f1, rel: f2 },
            LOCKTAG_TUPLE => LockTarget::Tuple {
                db: f1,
                rel: f2,
                block: f3,
                offset: f4,
            },
            LOCKTAG_TRANSACTION => LockTarget::Transaction(f1 as u64 | (f2 as u64) << 32),
            LOCKTAG_OBJECT => LockTarget::Object {
                db: f1,
                class: f2,
                obj: f3,
                sub: f4,
            },
            LOCKTAG_ADVISORY => LockTarget::Advisory {
                db: f1,
                key1: f2,
                key2: f3,
                kind: f4,
            },
            _ => return None,
        })
    }

    /// pg_locks' `locktype`.
    pub fn locktype(&self) -> &'static str {
        match self {
            LockTarget::Relation { .. } => "relation",
            LockTarget::Extend { .. } => "extend",
            LockTarget::Tuple { .. } => "tuple",
            LockTarget::Transaction(_) => "transactionid",
            LockTarget::Object { .. } => "object",
            LockTarget::Advisory { .. } => "advisory",
        }
    }

    /// PostgreSQL's `DescribeLockTag` text, for the deadlock DETAIL.
    pub fn describe(&self) -> String {
        match *self {
            LockTarget::Relation { db, rel } => format!("relation {rel} of database {db}"),
            LockTarget::Extend { db, rel } => {
                format!("extension of relation {rel} of database {db}")
            }
            LockTarget::Tuple {
                db,
                rel,
                block,
                offset,
            } => {
                format!("tuple ({block},{offset}) of relation {rel} of database {db}")
            }
            LockTarget::Transaction(x) => format!("transaction {x}"),
            LockTarget::Object { db, class, obj, .. } => {
                format!("object {obj} of class {class} of database {db}")
            }
            LockTarget::Advisory {
                db,
                key1,
                key2,
                kind,
            } => {
                format!("advisory lock [{db},{key1},{key2},{kind}]")
            }
        }
    }
}

fn describe_tag(t: &LockTag) -> String {
    match LockTarget::from_tag(t) {
        Some(x) => x.describe(),
        None => format!("unrecognized locktag type {}", t.tag_type),
    }
}

/// How long a request may wait (the session's settings).
#[derive(Debug, Clone, Copy)]
pub struct WaitPolicy {
    /// NOWAIT: fail at once instead of queueing.
    pub dont_wait: bool,
    /// `lock_timeout`; `None` = 0 = wait forever.
    pub lock_timeout: Option<Duration>,
    /// `deadlock_timeout` (PostgreSQL's default 1 s).
    pub deadlock_timeout: Duration,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy {
            dont_wait: false,
            lock_timeout: None,
            deadlock_timeout: Duration::from_secs(1),
        }
    }
}

/// One edge of a deadlock cycle: `pid` waits for `mode` on `tag`, blocked
/// by `blocker_pid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlockEdge {
    pub pid: i32,
    pub tag: LockTag,
    pub mode: u32,
    pub blocker_pid: i32,
}

/// Cycle members reported (PostgreSQL reports every member; longer cycles
/// are cut here, since the report must be built without allocating).
pub const MAX_REPORTED_EDGES: usize = 16;

/// The cycle found, starting at the detecting process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlockReport {
    pub edges: [DeadlockEdge; MAX_REPORTED_EDGES],
    pub len: usize,
}

/// Why a lock request failed. Plain data (no allocation): the backend
/// turns it into an error with [`LockFail::to_error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockFail {
    /// NOWAIT and the lock is taken.
    NotAvailable,
    /// No free LOCK or PROCLOCK entry.
    OutOfSharedMemory,
    LockTimeout,
    /// This process was the one to find a deadlock cycle; the cycle is in
    /// the scratch passed to the request ([`DeadlockScratch::report`]).
    Deadlock,
    /// The interrupt check said stop (cancel or terminate): the caller
    /// reports its own error for it.
    Interrupted,
    PostmasterDied,
}

impl LockFail {
    /// PostgreSQL's error for the failure of a request for `tag` made with
    /// `scratch`; `Interrupted` and `PostmasterDied` are the caller's to
    /// report and give a generic one.
    pub fn to_error(&self, tag: &LockTag, scratch: &DeadlockScratch) -> PgError {
        match self {
            LockFail::NotAvailable => PgError::error(
                LOCK_NOT_AVAILABLE,
                format!("could not obtain lock on {}", describe_tag(tag)),
            ),
            LockFail::OutOfSharedMemory => {
                PgError::error(OUT_OF_SHARED_MEMORY, "out of shared memory")
                    .with_hint("You might need to increase max_locks_per_transaction.")
            }
            LockFail::LockTimeout => PgError::error(
                LOCK_NOT_AVAILABLE,
                "canceling statement due to lock timeout",
            ),
            LockFail::Deadlock => {
                let r = &scratch.report;
                let lines: Vec<String> = r.edges[..r.len]
                    .iter()
                    .map(|e| {
                        format!(
                            "Process {} waits for {} on {}; blocked by process {}.",
                            e.pid,
                            LockMode::from_u32(e.mode).map_or("???", |m| m.name()),
                            describe_tag(&e.tag),
                            e.blocker_pid
                        )
                    })
                    .collect();
                PgError::error(DEADLOCK_DETECTED, "deadlock detected")
                    .with_detail(lines.join("\n"))
                    .with_hint("See server log for query details.")
            }
            LockFail::Interrupted => PgError::error(
                tusk_common::sqlstate::QUERY_CANCELED,
                "canceling statement due to user request",
            ),
            LockFail::PostmasterDied => PgError::fatal(
                tusk_common::sqlstate::ADMIN_SHUTDOWN,
                "terminating connection due to unexpected postmaster exit",
            ),
        }
    }
}

/// Per-process scratch for the deadlock walk, allocated before any wait
/// (one slot per proc), so the wait itself never allocates.
pub struct DeadlockScratch {
    visited: Vec<u8>,
    path: Vec<DeadlockEdge>,
    report: DeadlockReport,
}

impl DeadlockScratch {
    pub fn new(nprocs: usize) -> DeadlockScratch {
        let e = DeadlockEdge {
            pid: 0,
            tag: LockTag::default(),
            mode: 0,
            blocker_pid: 0,
        };
        DeadlockScratch {
            visited: vec![0; nprocs],
            path: vec![e; nprocs + 1],
            report: DeadlockReport {
                edges: [e; MAX_REPORTED_EDGES],
                len: 0,
            },
        }
    }

    /// The cycle the last [`LockFail::Deadlock`] found.
    pub fn report(&self) -> &DeadlockReport {
        &self.report
    }
}

/// One row for pg_locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockStatusRow {
    pub locktype: &'static str,
    pub target: Option<LockTarget>,
    pub database: Option<u32>,
    pub relation: Option<u32>,
    pub transactionid: Option<u64>,
    pub pid: i32,
    pub mode: &'static str,
    pub granted: bool,
}

/// A view of the lock table. Any process attached to the region may use
/// it; every method says who calls it.
#[derive(Clone, Copy)]
pub struct LockMgr {
    header: *const LockTableHeader,
    buckets: *const AtomicU32,
    lock_next: *const AtomicU32,
    locks: *mut Lock,
    proclocks: *mut ProcLock,
    nlocks: usize,
    nproclocks: usize,
    nbuckets: usize,
    procs: ProcArray,
}

/// An exclusively held partition LWLock, released on drop (so an early
/// return never leaves it held).
struct Part<'a, P: LwProcs> {
    mgr: &'a LockMgr,
    lw: &'a P,
    p: usize,
}

impl<P: LwProcs> Drop for Part<'_, P> {
    fn drop(&mut self) {
        self.mgr.header().partitions[self.p].release(self.lw);
    }
}

fn hash_tag(t: &LockTag) -> u32 {
    // FNV-1a over the tag's fields, then a final mix so that the low bits
    // (bucket and partition) depend on every field.
    let mut h: u32 = 0x811c_9dc5;
    for w in [
        t.field1,
        t.field2,
        t.field3,
        t.field4 as u32 | (t.tag_type as u32) << 16 | (t.lockmethod as u32) << 24,
    ] {
        for b in w.to_le_bytes() {
            h = (h ^ b as u32).wrapping_mul(0x0100_0193);
        }
    }
    h ^= h >> 16;
    h = h.wrapping_mul(0x7feb_352d);
    h ^ (h >> 15)
}

impl LockMgr {
    /// A view of the lock table in the region at `base`.
    ///
    /// # Safety
    /// `base` maps a region laid out by `layout` for `z`, whose areas were
    /// initialised, and stays mapped while the view is used.
    pub unsafe fn attach(base: *mut u8, layout: &Layout, z: &Sizing, procs: ProcArray) -> LockMgr {
        let s = shape(&SizeCalc {
            area: "lock table",
            z,
        })
        .expect("the region was sized for these settings");
        let at = base.wrapping_add(layout.area(AreaId::LockTable).offset);
        LockMgr {
            header: at as *const LockTableHeader,
            buckets: at.wrapping_add(s.buckets_at) as *const AtomicU32,
            lock_next: at.wrapping_add(s.lock_next_at) as *const AtomicU32,
            locks: at.wrapping_add(s.locks_at) as *mut Lock,
            proclocks: at.wrapping_add(s.proclocks_at) as *mut ProcLock,
            nlocks: s.locks,
            nproclocks: s.proclocks,
            nbuckets: s.buckets,
            procs,
        }
    }

    /// The bucket and partition of `tag`; `None` for a table without
    /// entries.
    fn slot(&self, tag: &LockTag) -> Option<(usize, usize)> {
        if self.nbuckets == 0 {
            return None;
        }
        let bucket = hash_tag(tag) as usize % self.nbuckets;
        Some((bucket, bucket % NUM_PARTITIONS))
    }

    fn header(&self) -> &LockTableHeader {
        // SAFETY: the header lies at the area's start (attach's promise);
        // it is made of atomics.
        unsafe { &*self.header }
    }

    /// Bucket `b`'s head word: the first lock's index + 1, 0 when empty
    /// (so that the zero-filled area is an empty table). Read it with
    /// [`LockMgr::bucket_head`].
    fn bucket(&self, b: usize) -> &AtomicU32 {
        assert!(b < self.nbuckets);
        // SAFETY: in bounds (checked); atomics.
        unsafe { &*self.buckets.add(b) }
    }

    /// The first lock on bucket `b`'s chain, or NO_ENTRY.
    fn bucket_head(&self, b: usize) -> u32 {
        from_link(self.bucket(b).load(Ordering::SeqCst))
    }

    fn set_bucket_head(&self, b: usize, i: u32) {
        self.bucket(b).store(to_link(i), Ordering::SeqCst);
    }

    fn next(&self, i: u32) -> &AtomicU32 {
        assert!((i as usize) < self.nlocks);
        // SAFETY: in bounds (checked); atomics.
        unsafe { &*self.lock_next.add(i as usize) }
    }

    /// Lock entry `i`. The caller holds the partition lock covering it
    /// (its tag's), exclusively to change it.
    #[allow(clippy::mut_from_ref)]
    fn lock(&self, i: u32) -> &mut Lock {
        assert!((i as usize) < self.nlocks);
        // SAFETY: in bounds (checked). Entries in use are touched only
        // under their partition's LWLock and free ones only under the
        // free-list lock by the process that pops them, so no two
        // processes hold a reference at once; within this process callers
        // do not keep two references to one entry across a call.
        unsafe { &mut *self.locks.add(i as usize) }
    }

    #[allow(clippy::mut_from_ref)]
    fn proclock(&self, i: u32) -> &mut ProcLock {
        assert!((i as usize) < self.nproclocks);
        // SAFETY: as for `lock`: a proc-lock belongs to its lock's
        // partition.
        unsafe { &mut *self.proclocks.add(i as usize) }
    }

    fn partition<'a, P: LwProcs>(&'a self, lw: &'a P, me: u32, p: usize) -> Part<'a, P> {
        self.header().partitions[p].acquire(lw, me, LwMode::Exclusive);
        Part { mgr: self, lw, p }
    }

    fn find_lock(&self, bucket: usize, tag: &LockTag) -> Option<u32> {
        let mut i = self.bucket_head(bucket);
        while i != NO_ENTRY {
            if self.lock(i).tag == *tag {
                return Some(i);
            }
            i = self.next(i).load(Ordering::SeqCst);
        }
        None
    }

    fn find_proclock(&self, lock: u32, procno: u32) -> Option<u32> {
        let mut i = self.lock(lock).proclocks;
        while i != NO_ENTRY {
            let pl = self.proclock(i);
            if pl.proc_number == procno {
                return Some(i);
            }
            i = pl.next_on_lock;
        }
        None
    }

    /// A free lock entry: one freed before, else one never used (lock 0
    /// is never used, see crate::lock). The caller writes all of it.
    fn pop_free_lock<P: LwProcs>(&self, lw: &P, me: u32) -> Option<u32> {
        let h = self.header();
        h.freelist_lock.acquire(lw, me, LwMode::Exclusive);
        let mut i = from_link(h.free_locks.load(Ordering::SeqCst));
        if i != NO_ENTRY {
            h.free_locks.store(
                to_link(self.next(i).load(Ordering::SeqCst)),
                Ordering::SeqCst,
            );
        } else {
            let used = h.used_locks.load(Ordering::SeqCst);
            if (used as usize) + 1 < self.nlocks {
                h.used_locks.store(used + 1, Ordering::SeqCst);
                i = used + 1;
            }
        }
        h.freelist_lock.release(lw);
        (i != NO_ENTRY).then_some(i)
    }

    /// A free proc-lock entry: one freed before, else one never used.
    /// The caller writes all of it.
    fn pop_free_proclock<P: LwProcs>(&self, lw: &P, me: u32) -> Option<u32> {
        let h = self.header();
        h.freelist_lock.acquire(lw, me, LwMode::Exclusive);
        let mut i = from_link(h.free_proclocks.load(Ordering::SeqCst));
        if i != NO_ENTRY {
            h.free_proclocks
                .store(to_link(self.proclock(i).next_on_lock), Ordering::SeqCst);
        } else {
            let used = h.used_proclocks.load(Ordering::SeqCst);
            if (used as usize) < self.nproclocks {
                h.used_proclocks.store(used + 1, Ordering::SeqCst);
                i = used;
            }
        }
        h.freelist_lock.release(lw);
        (i != NO_ENTRY).then_some(i)
    }

    /// Unhashes lock `i` (no requests left) and frees it. Under its
    /// partition lock.
    fn free_lock<P: LwProcs>(&self, lw: &P, me: u32, bucket: usize, i: u32) {
        let next = self.next(i).load(Ordering::SeqCst);
        if self.bucket_head(bucket) == i {
            self.set_bucket_head(bucket, next);
        } else {
            let mut cur = self.bucket_head(bucket);
            while cur != NO_ENTRY {
                let n = self.next(cur).load(Ordering::SeqCst);
                if n == i {
                    self.next(cur).store(next, Ordering::SeqCst);
                    break;
                }
                cur = n;
            }
        }
        *self.lock(i) = Lock::default();
        let h = self.header();
        h.freelist_lock.acquire(lw, me, LwMode::Exclusive);
        self.next(i).store(
            from_link(h.free_locks.load(Ordering::SeqCst)),
            Ordering::SeqCst,
        );
        h.free_locks.store(to_link(i), Ordering::SeqCst);
        h.freelist_lock.release(lw);
    }

    /// Unlinks proc-lock `pl` from lock `lock` and frees it. Under the
    /// lock's partition lock.
    fn free_proclock<P: LwProcs>(&self, lw: &P, me: u32, lock: u32, pl: u32) {
        let next = self.proclock(pl).next_on_lock;
        let l = self.lock(lock);
        if l.proclocks == pl {
            l.proclocks = next;
        } else {
            let mut cur = l.proclocks;
            while cur != NO_ENTRY {
                let c = self.proclock(cur);
                if c.next_on_lock == pl {
                    c.next_on_lock = next;
                    break;
                }
                cur = c.next_on_lock;
            }
        }
        let h = self.header();
        h.freelist_lock.acquire(lw, me, LwMode::Exclusive);
        *self.proclock(pl) = ProcLock {
            lock: NO_ENTRY,
            proc_number: NO_ENTRY,
            next_on_lock: from_link(h.free_proclocks.load(Ordering::SeqCst)),
            ..ProcLock::default()
        };
        h.free_proclocks.store(to_link(pl), Ordering::SeqCst);
        h.freelist_lock.release(lw);
    }

    /// PostgreSQL's LockCheckConflicts: does `mode` conflict with what
    /// others (not `pl`'s owner) were granted?
    fn conflicts_with_others(&self, lock: u32, pl: u32, mode: LockMode) -> bool {
        let l = self.lock(lock);
        let cm = mode.conflict_mask();
        if cm & l.grant_mask == 0 {
            return false;
        }
        let mine = self.proclock(pl).hold_mask;
        ALL_MODES.iter().any(|m| {
            cm & m.bit() != 0 && {
                let n = l.granted[*m as usize] - u32::from(mine & m.bit() != 0);
                n > 0
            }
        })
    }

    fn grant(&self, lock: u32, pl: u32, mode: LockMode) {
        let l = self.lock(lock);
        l.granted[mode as usize] += 1;
        l.n_granted += 1;
        l.grant_mask |= mode.bit();
        self.proclock(pl).hold_mask |= mode.bit();
    }

    /// Takes back one request (granted or not) for `mode`.
    fn drop_request(&self, lock: u32, mode: LockMode) {
        let l = self.lock(lock);
        l.requested[mode as usize] -= 1;
        l.n_requested -= 1;
    }

    /// Grants queued requests that no longer conflict, in queue order, and
    /// wakes their owners (PostgreSQL's ProcLockWakeup). Under the
    /// partition lock.
    fn wake_queue(&self, lock: u32) {
        let mut ahead = 0u32;
        let mut prev = NO_ENTRY;
        let mut cur = self.lock(lock).wait_head;
        let mut wait_mask = 0u32;
        while cur != NO_ENTRY {
            let p = self.procs.proc(cur as usize);
            let next = p.lock_wait_next();
            let mode = LockMode::from_u32(p.wait_lock_mode()).expect("queued with a mode");
            let pl = self
                .find_proclock(lock, cur)
                .expect("a waiter has its proc-lock");
            if mode.conflict_mask() & ahead == 0 && !self.conflicts_with_others(lock, pl, mode) {
                self.grant(lock, pl, mode);
                let l = self.lock(lock);
                if prev == NO_ENTRY {
                    l.wait_head = next;
                } else {
                    self.procs.proc(prev as usize).set_lock_wait_next(next);
                }
                if l.wait_tail == cur {
                    l.wait_tail = prev;
                }
                l.wait_len -= 1;
                p.set_lock_wait_next(NO_ENTRY);
                p.set_wait_lock(NO_ENTRY, 0);
                p.waits().latch.set();
            } else {
                ahead |= mode.bit();
                wait_mask |= mode.bit();
                prev = cur;
            }
            cur = next;
        }
        self.lock(lock).wait_mask = wait_mask;
    }

    /// Takes `tag` in `mode` for proc `me`, waiting as `policy` allows.
    /// `interrupted` is polled whenever the latch wakes the waiter (a
    /// cancel or terminate sets it); true ends the wait. Called by the
    /// process owning proc slot `me`, holding no partition lock. Does not
    /// allocate. A mode `me` already holds on `tag` is granted at once
    /// (counting re-entrance is [`LocalLocks`]' job).
    #[allow(clippy::too_many_arguments)]
    pub fn acquire<P: LwProcs>(
        &self,
        lw: &P,
        me: u32,
        tag: &LockTag,
        mode: LockMode,
        policy: &WaitPolicy,
        scratch: &mut DeadlockScratch,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<(), LockFail> {
        let Some((bucket, part)) = self.slot(tag) else {
            return Err(LockFail::OutOfSharedMemory);
        };
        let guard = self.partition(lw, me, part);
        let (lock, new_lock) = match self.find_lock(bucket, tag) {
            Some(i) => (i, false),
            None => {
                let Some(i) = self.pop_free_lock(lw, me) else {
                    return Err(LockFail::OutOfSharedMemory);
                };
                *self.lock(i) = Lock {
                    tag: *tag,
                    proclocks: NO_ENTRY,
                    wait_head: NO_ENTRY,
                    wait_tail: NO_ENTRY,
                    ..Lock::default()
                };
                self.next(i)
                    .store(self.bucket_head(bucket), Ordering::SeqCst);
                self.set_bucket_head(bucket, i);
                (i, true)
            }
        };
        let pl = match self.find_proclock(lock, me) {
            Some(pl) => pl,
            None => {
                let Some(pl) = self.pop_free_proclock(lw, me) else {
                    if new_lock {
                        self.free_lock(lw, me, bucket, lock);
                    }
                    return Err(LockFail::OutOfSharedMemory);
                };
                let l = self.lock(lock);
                *self.proclock(pl) = ProcLock {
                    lock,
                    proc_number: me,
                    hold_mask: 0,
                    release_mask: 0,
                    next_on_lock: l.proclocks,
                    next_on_proc: NO_ENTRY,
                };
                l.proclocks = pl;
                pl
            }
        };
        if self.proclock(pl).hold_mask & mode.bit() != 0 {
            return Ok(());
        }
        {
            let l = self.lock(lock);
            l.requested[mode as usize] += 1;
            l.n_requested += 1;
        }
        let conflicts_granted = self.conflicts_with_others(lock, pl, mode);
        let must_wait = conflicts_granted || mode.conflict_mask() & self.lock(lock).wait_mask != 0;
        if !must_wait {
            self.grant(lock, pl, mode);
            return Ok(());
        }
        // PostgreSQL's ProcSleep rule: a process that already holds a mode
        // some waiter waits for goes ahead of that waiter (queueing behind
        // it would be a sure deadlock), and is granted at once if nothing
        // granted to others or queued ahead of that point conflicts.
        let held = self.proclock(pl).hold_mask;
        let mut before = NO_ENTRY;
        let mut before_prev = NO_ENTRY;
        if held != 0 {
            let mut ahead = 0u32;
            let mut prev = NO_ENTRY;
            let mut cur = self.lock(lock).wait_head;
            while cur != NO_ENTRY {
                let wmode = self.procs.proc(cur as usize).wait_lock_mode();
                if held & CONFLICTS[wmode as usize] != 0 {
                    if mode.conflict_mask() & ahead == 0 && !conflicts_granted {
                        self.grant(lock, pl, mode);
                        return Ok(());
                    }
                    before = cur;
                    before_prev = prev;
                    break;
                }
                ahead |= bit(wmode);
                prev = cur;
                cur = self.procs.proc(cur as usize).lock_wait_next();
            }
        }
        if policy.dont_wait {
            self.drop_request(lock, mode);
            self.cleanup_after_drop(lw, me, bucket, lock, pl);
            return Err(LockFail::NotAvailable);
        }
        // Queue before `before`, or at the tail.
        let p = self.procs.proc(me as usize);
        p.set_wait_lock(lock, mode as u32);
        let l = self.lock(lock);
        if before != NO_ENTRY {
            p.set_lock_wait_next(before);
            if before_prev == NO_ENTRY {
                l.wait_head = me;
            } else {
                self.procs.proc(before_prev as usize).set_lock_wait_next(me);
            }
        } else {
            p.set_lock_wait_next(NO_ENTRY);
            if l.wait_tail == NO_ENTRY {
                l.wait_head = me;
            } else {
                self.procs.proc(l.wait_tail as usize).set_lock_wait_next(me);
            }
            l.wait_tail = me;
        }
        l.wait_len += 1;
        l.wait_mask |= mode.bit();
        drop(guard);
        self.sleep(
            lw,
            me,
            tag,
            mode,
            bucket,
            lock,
            policy,
            scratch,
            interrupted,
        )
    }

    /// After a request was taken back: frees the proc-lock if it holds
    /// nothing and the lock if nobody requests it, else lets waiters that
    /// the request held up proceed. Under the partition lock.
    fn cleanup_after_drop<P: LwProcs>(&self, lw: &P, me: u32, bucket: usize, lock: u32, pl: u32) {
        if self.proclock(pl).hold_mask == 0 {
            self.free_proclock(lw, me, lock, pl);
        }
        if self.lock(lock).n_requested == 0 {
            self.free_lock(lw, me, bucket, lock);
        } else {
            self.wake_queue(lock);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn sleep<P: LwProcs>(
        &self,
        lw: &P,
        me: u32,
        tag: &LockTag,
        mode: LockMode,
        bucket: usize,
        lock: u32,
        policy: &WaitPolicy,
        scratch: &mut DeadlockScratch,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<(), LockFail> {
        let p = self.procs.proc(me as usize);
        let latch = &p.waits().latch;
        let start = Instant::now();
        let mut deadlock_checked = false;
        loop {
            latch.reset();
            if p.wait_lock_raw() != lock {
                return Ok(());
            }
            let fail = if interrupted() {
                Some(LockFail::Interrupted)
            } else if policy.lock_timeout.is_some_and(|t| start.elapsed() >= t) {
                Some(LockFail::LockTimeout)
            } else if !deadlock_checked && start.elapsed() >= policy.deadlock_timeout {
                deadlock_checked = true;
                if let Some(r) = self.check_deadlock(lw, me, mode, bucket, scratch) {
                    scratch.report = r;
                    return Err(LockFail::Deadlock);
                }
                None
            } else {
                None
            };
            if let Some(f) = fail {
                return self.give_up(lw, me, tag, mode, bucket, lock, f);
            }
            let mut until: Option<Duration> = policy
                .lock_timeout
                .map(|t| t.saturating_sub(start.elapsed()));
            if !deadlock_checked {
                let d = policy.deadlock_timeout.saturating_sub(start.elapsed());
                until = Some(until.map_or(d, |u| u.min(d)));
            }
            let w = latch::wait(
                &WaitFor {
                    latch: Some(latch),
                    socket: None,
                    postmaster_death: true,
                },
                until,
            );
            if w.postmaster_death {
                return self.give_up(lw, me, tag, mode, bucket, lock, LockFail::PostmasterDied);
            }
        }
    }

    /// Leaves the queue after a timeout or interrupt, unless the lock was
    /// granted meanwhile (then the wait succeeded: the caller holds it and
    /// the transaction's end releases it).
    #[allow(clippy::too_many_arguments)]
    fn give_up<P: LwProcs>(
        &self,
        lw: &P,
        me: u32,
        _tag: &LockTag,
        mode: LockMode,
        bucket: usize,
        lock: u32,
        why: LockFail,
    ) -> Result<(), LockFail> {
        let _g = self.partition(lw, me, bucket % NUM_PARTITIONS);
        if self.procs.proc(me as usize).wait_lock_raw() != lock {
            return Ok(());
        }
        self.leave_queue(lw, me, mode, bucket, lock);
        Err(why)
    }

    /// Takes waiter `me` off `lock`'s queue and back its request. Under
    /// the lock's partition lock (or all of them).
    fn leave_queue<P: LwProcs>(&self, lw: &P, me: u32, mode: LockMode, bucket: usize, lock: u32) {
        let p = self.procs.proc(me as usize);
        let l = self.lock(lock);
        let mut prev = NO_ENTRY;
        let mut cur = l.wait_head;
        while cur != NO_ENTRY && cur != me {
            prev = cur;
            cur = self.procs.proc(cur as usize).lock_wait_next();
        }
        let next = p.lock_wait_next();
        if prev == NO_ENTRY {
            l.wait_head = next;
        } else {
            self.procs.proc(prev as usize).set_lock_wait_next(next);
        }
        if l.wait_tail == me {
            l.wait_tail = prev;
        }
        l.wait_len -= 1;
        p.set_lock_wait_next(NO_ENTRY);
        p.set_wait_lock(NO_ENTRY, 0);
        self.drop_request(lock, mode);
        let pl = self
            .find_proclock(lock, me)
            .expect("a waiter has its proc-lock");
        self.cleanup_after_drop(lw, me, bucket, lock, pl);
    }

    /// The deadlock check: under every partition lock, is there a path in
    /// the wait-for graph from `me` back to `me`? If so `me` leaves the
    /// queue before the partition locks go, so a second waiter checking
    /// right after sees the cycle broken: exactly one process of a cycle
    /// fails. Called by the waiter `me` itself, holding no partition lock.
    fn check_deadlock<P: LwProcs>(
        &self,
        lw: &P,
        me: u32,
        mode: LockMode,
        bucket: usize,
        s: &mut DeadlockScratch,
    ) -> Option<DeadlockReport> {
        for i in 0..NUM_PARTITIONS {
            self.header().partitions[i].acquire(lw, me, LwMode::Exclusive);
        }
        let p = self.procs.proc(me as usize);
        let raw = p.wait_lock_raw();
        let found = if raw == NO_ENTRY || raw == 0 {
            None
        } else {
            s.visited.iter_mut().for_each(|v| *v = 0);
            self.walk(me, me, 0, s)
        };
        let report = found.map(|n| {
            let mut r = DeadlockReport {
                edges: [s.path[0]; MAX_REPORTED_EDGES],
                len: n.min(MAX_REPORTED_EDGES),
            };
            r.edges[..r.len].copy_from_slice(&s.path[..r.len]);
            r
        });
        if report.is_some() {
            self.leave_queue(lw, me, mode, bucket, raw);
        }
        for i in (0..NUM_PARTITIONS).rev() {
            self.header().partitions[i].release(lw);
        }
        report
    }

    /// Depth-first search from waiter `p` for `start`; fills `s.path`
    /// from `depth` on. Returns the cycle's length.
    fn walk(&self, start: u32, p: u32, depth: usize, s: &mut DeadlockScratch) -> Option<usize> {
        if depth >= s.path.len() {
            return None;
        }
        let proc = self.procs.proc(p as usize);
        let lock = proc.wait_lock_raw();
        if lock == NO_ENTRY || lock == 0 {
            return None;
        }
        let mode = LockMode::from_u32(proc.wait_lock_mode())?;
        let cm = mode.conflict_mask();
        let tag = self.lock(lock).tag;
        // Blockers: holders of conflicting modes, then conflicting
        // waiters ahead in the queue.
        let mut pl = self.lock(lock).proclocks;
        let mut queue = self.lock(lock).wait_head;
        loop {
            let b = if pl != NO_ENTRY {
                let e = *self.proclock(pl);
                pl = e.next_on_lock;
                if e.proc_number == p || e.hold_mask & cm == 0 {
                    continue;
                }
                e.proc_number
            } else if queue != NO_ENTRY && queue != p {
                let w = queue;
                queue = self.procs.proc(w as usize).lock_wait_next();
                if cm & bit(self.procs.proc(w as usize).wait_lock_mode()) == 0 {
                    continue;
                }
                w
            } else {
                return None;
            };
            s.path[depth] = DeadlockEdge {
                pid: proc.pid(),
                tag,
                mode: mode as u32,
                blocker_pid: self.procs.proc(b as usize).pid(),
            };
            if b == start {
                return Some(depth + 1);
            }
            if s.visited[b as usize] != 0 {
                continue;
            }
            s.visited[b as usize] = 1;
            if let Some(n) = self.walk(start, b, depth + 1, s) {
                return Some(n);
            }
        }
    }

    /// Gives back `me`'s hold of `mode` on `tag` and grants what that
    /// unblocks. False if it was not held. Called by `me`'s process.
    pub fn release<P: LwProcs>(&self, lw: &P, me: u32, tag: &LockTag, mode: LockMode) -> bool {
        let Some((bucket, part)) = self.slot(tag) else {
            return false;
        };
        let _g = self.partition(lw, me, part);
        let Some(lock) = self.find_lock(bucket, tag) else {
            return false;
        };
        let Some(pl) = self.find_proclock(lock, me) else {
            return false;
        };
        if self.proclock(pl).hold_mask & mode.bit() == 0 {
            return false;
        }
        self.proclock(pl).hold_mask &= !mode.bit();
        let l = self.lock(lock);
        l.granted[mode as usize] -= 1;
        l.n_granted -= 1;
        if l.granted[mode as usize] == 0 {
            l.grant_mask &= !mode.bit();
        }
        self.drop_request(lock, mode);
        self.cleanup_after_drop(lw, me, bucket, lock, pl);
        true
    }

    /// Every lock and request, for pg_locks: one row per (holder, mode
    /// held) and one per waiter. Takes every partition lock in order (as
    /// the deadlock check) for a consistent picture. Any attached process.
    pub fn lock_status<P: LwProcs>(&self, lw: &P, me: u32) -> Vec<LockStatusRow> {
        for i in 0..NUM_PARTITIONS {
            self.header().partitions[i].acquire(lw, me, LwMode::Exclusive);
        }
        let mut raw = Vec::new();
        for b in 0..self.nbuckets {
            let mut i = self.bucket_head(b);
            while i != NO_ENTRY {
                let l = *self.lock(i);
                let mut pl = l.proclocks;
                while pl != NO_ENTRY {
                    let e = *self.proclock(pl);
                    let p = self.procs.proc(e.proc_number as usize);
                    for m in ALL_MODES {
                        if e.hold_mask & m.bit() != 0 {
                            raw.push((l.tag, p.pid(), m, true));
                        }
                    }
                    if p.wait_lock_raw() == i {
                        if let Some(m) = LockMode::from_u32(p.wait_lock_mode()) {
                            raw.push((l.tag, p.pid(), m, false));
                        }
                    }
                    pl = e.next_on_lock;
                }
                i = self.next(i).load(Ordering::SeqCst);
            }
        }
        for i in (0..NUM_PARTITIONS).rev() {
            self.header().partitions[i].release(lw);
        }
        raw.into_iter()
            .map(|(tag, pid, m, granted)| {
                let target = LockTarget::from_tag(&tag);
                let (database, relation, transactionid) = match target {
                    Some(LockTarget::Relation { db, rel })
                    | Some(LockTarget::Extend { db, rel })
                    | Some(LockTarget::Tuple { db, rel, .. }) => (Some(db), Some(rel), None),
                    Some(LockTarget::Transaction(x)) => (None, None, Some(x)),
                    Some(LockTarget::Object { db, .. }) | Some(LockTarget::Advisory { db, .. }) => {
                        (Some(db), None, None)
                    }
                    None => (None, None, None),
                };
                LockStatusRow {
                    locktype: target.map_or("unknown", |t| t.locktype()),
                    target,
                    database,
                    relation,
                    transactionid,
                    pid,
                    mode: m.name(),
                    granted,
                }
            })
            .collect()
    }
}

/// A backend's locks: re-entrant counts per (object, mode) over the shared
/// table, each first hold remembered by the transaction's resource owner.
/// Session holds (advisory locks taken by `pg_advisory_lock`) are counted
/// apart, as PostgreSQL's LOCALLOCK counts per owner: the shared lock is
/// held while either count is above zero, so a transaction's end gives
/// back only its own holds. Only the owning backend uses it.
pub struct LocalLocks<P: LwProcs + Clone + 'static> {
    inner: Rc<RefCell<LocalInner<P>>>,
}

/// The holds of one (object, mode): by the transaction (remembered by its
/// resource owner as `id`) and by the session.
struct Held {
    xact: u32,
    session: u32,
    id: Option<ResourceId>,
}

struct LocalInner<P> {
    mgr: LockMgr,
    lw: P,
    me: u32,
    held: tusk_common::fasthash::FastMap<(LockTag, LockMode), Held>,
    scratch: DeadlockScratch,
}

impl<P: LwProcs> LocalInner<P> {
    /// Drops the entry of `key` and the shared lock once nothing holds it.
    fn release_if_unheld(&mut self, key: (LockTag, LockMode)) {
        if self
            .held
            .get(&key)
            .is_some_and(|h| h.xact == 0 && h.session == 0)
        {
            self.held.remove(&key);
            self.mgr.release(&self.lw, self.me, &key.0, key.1);
        }
    }

    /// Takes the shared lock for a first hold of `key`.
    fn acquire(
        &mut self,
        key: (LockTag, LockMode),
        policy: &WaitPolicy,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<(), LockFail> {
        self.mgr.acquire(
            &self.lw,
            self.me,
            &key.0,
            key.1,
            policy,
            &mut self.scratch,
            interrupted,
        )
    }
}

/// One held (object, mode) in a resource owner: the transaction's holds,
/// released whole at the transaction's end.
struct HeldLock<P: LwProcs + Clone + 'static> {
    inner: Weak<RefCell<LocalInner<P>>>,
    tag: LockTag,
    mode: LockMode,
}

impl<P: LwProcs + Clone + 'static> Resource for HeldLock<P> {
    fn kind(&self) -> &'static str {
        "lock"
    }

    fn phase(&self) -> ReleasePhase {
        ReleasePhase::Locks
    }

    fn release(self: Box<Self>, _why: Release) {
        if let Some(inner) = self.inner.upgrade() {
            let mut i = inner.borrow_mut();
            let key = (self.tag, self.mode);
            if let Some(h) = i.held.get_mut(&key) {
                h.xact = 0;
                h.id = None;
                i.release_if_unheld(key);
            }
        }
    }
}

impl<P: LwProcs + Clone + 'static> LocalLocks<P> {
    pub fn new(mgr: LockMgr, lw: P, me: u32, nprocs: usize) -> LocalLocks<P> {
        LocalLocks {
            inner: Rc::new(RefCell::new(LocalInner {
                mgr,
                lw,
                me,
                held: Default::default(),
                scratch: DeadlockScratch::new(nprocs),
            })),
        }
    }

    /// Takes `target` in `mode` for the transaction owning `owner`.
    pub fn lock(
        &self,
        owner: &mut ResourceOwner,
        target: LockTarget,
        mode: LockMode,
        policy: &WaitPolicy,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<(), PgError> {
        self.try_lock(owner, target, mode, policy, interrupted)
            .map_err(|f| f.to_error(&target.tag(), &self.inner.borrow().scratch))
    }

    /// [`Self::lock`], the failure left as a [`LockFail`] (so NOWAIT's
    /// `NotAvailable` can answer false, as pg_try_advisory_xact_lock).
    pub fn try_lock(
        &self,
        owner: &mut ResourceOwner,
        target: LockTarget,
        mode: LockMode,
        policy: &WaitPolicy,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<(), LockFail> {
        let key = (target.tag(), mode);
        let mut guard = self.inner.borrow_mut();
        let i = &mut *guard;
        if !i.held.contains_key(&key) {
            i.acquire(key, policy, interrupted)?;
            i.held.insert(
                key,
                Held {
                    xact: 0,
                    session: 0,
                    id: None,
                },
            );
        }
        let h = i.held.get_mut(&key).expect("just inserted");
        h.xact += 1;
        if h.id.is_none() {
            h.id = Some(owner.remember(Box::new(HeldLock {
                inner: Rc::downgrade(&self.inner),
                tag: key.0,
                mode,
            })));
        }
        Ok(())
    }

    /// Takes `target` in `mode` for the session: held across transaction
    /// ends until [`Self::unlock_session`] or the process's exit
    /// (pg_advisory_lock).
    pub fn lock_session(
        &self,
        target: LockTarget,
        mode: LockMode,
        policy: &WaitPolicy,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<(), LockFail> {
        let key = (target.tag(), mode);
        let mut guard = self.inner.borrow_mut();
        let i = &mut *guard;
        match i.held.get_mut(&key) {
            Some(h) => h.session += 1,
            None => {
                i.acquire(key, policy, interrupted)?;
                i.held.insert(
                    key,
                    Held {
                        xact: 0,
                        session: 1,
                        id: None,
                    },
                );
            }
        }
        Ok(())
    }

    /// The failure of the last request as PostgreSQL reports it.
    pub fn fail_error(&self, f: LockFail, target: LockTarget) -> PgError {
        f.to_error(&target.tag(), &self.inner.borrow().scratch)
    }

    /// Gives back one transaction hold; the shared lock goes when nothing
    /// holds it any more. False if the transaction does not hold it.
    pub fn unlock(&self, owner: &mut ResourceOwner, target: LockTarget, mode: LockMode) -> bool {
        let key = (target.tag(), mode);
        let mut i = self.inner.borrow_mut();
        let Some(h) = i.held.get_mut(&key).filter(|h| h.xact > 0) else {
            return false;
        };
        h.xact -= 1;
        if h.xact == 0 {
            if let Some(id) = h.id.take() {
                owner.forget(id);
            }
            i.release_if_unheld(key);
        }
        true
    }

    /// Gives back one session hold (pg_advisory_unlock). False if the
    /// session does not hold it.
    pub fn unlock_session(&self, target: LockTarget, mode: LockMode) -> bool {
        let key = (target.tag(), mode);
        let mut i = self.inner.borrow_mut();
        let Some(h) = i.held.get_mut(&key).filter(|h| h.session > 0) else {
            return false;
        };
        h.session -= 1;
        i.release_if_unheld(key);
        true
    }

    /// Gives back every session hold of the user lock method's locks
    /// (pg_advisory_unlock_all, DISCARD ALL); transaction holds stay.
    pub fn unlock_all_session(&self) {
        let mut i = self.inner.borrow_mut();
        let keys: Vec<_> = i
            .held
            .iter()
            .filter(|(k, h)| k.0.lockmethod == USER_LOCKMETHOD && h.session > 0)
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            if let Some(h) = i.held.get_mut(&key) {
                h.session = 0;
            }
            i.release_if_unheld(key);
        }
    }

    /// How many times `target` is held in `mode`, by the transaction and
    /// the session together.
    pub fn held_count(&self, target: LockTarget, mode: LockMode) -> u32 {
        self.inner
            .borrow()
            .held
            .get(&(target.tag(), mode))
            .map_or(0, |h| h.xact + h.session)
    }

    /// Releases every lock (PostgreSQL's LockReleaseAll), for a process
    /// leaving without a resource owner. The owner's entries become no-ops.
    pub fn release_all(&self) {
        let mut i = self.inner.borrow_mut();
        let held: Vec<_> = i.held.drain().map(|(k, _)| k).collect();
        for (tag, mode) in held {
            i.mgr.release(&i.lw, i.me, &tag, mode);
        }
    }
}

#[cfg(test)]
mod tests;
