//! The heavyweight lock table's shared memory: PostgreSQL's LOCK and
//! PROCLOCK entries, sized as PostgreSQL sizes them.
//!
//! Why the two structs now, before the lock manager: a lock can have any
//! number of holders, so the table is PostgreSQL's split of one [`Lock`]
//! per locked object and one [`ProcLock`] per (lock, holder) pair, linked
//! by indexes (never pointers: the region maps at different addresses).
//! Sizing, kernel limits and `tusk check` count the real entries; the
//! code that uses them is [`crate::lmgr`].
//!
//! Size: N = max_locks_per_transaction × (max_connections +
//! max_prepared_transactions) locks and 2N proc-locks, as PostgreSQL's
//! `NLOCKENTS()` and its PROCLOCK table, after a header and the hash:
//!
//! ```text
//! 0                 LockTableHeader (320 bytes): 16 partition LWLocks,
//!                   the free-list LWLock, free-list heads, counts of
//!                   entries used
//! 320               buckets: u32 × N, first lock of each hash chain + 1
//!                   (0: empty)
//! 320 + 4N          lock_next: u32 × N, the next lock in a bucket chain
//!                   or on the free list
//! 320 + 8N          Lock × N (128 bytes each, 4-byte aligned)
//! 320 + 136N        ProcLock × 2N (24 bytes each)
//! ```
//!
//! The size is exactly linear in N (no padding inside), as the memory
//! table of `tusk check` models every area. Bucket b (hash mod N) belongs
//! to partition b mod 16, so one partition LWLock covers a chain and every
//! lock and proc-lock on it.
//! Lock entry 0 is never used: a zero `wait_lock` in a proc slot means
//! "not waiting" ([`crate::procarray::Proc::wait_lock`]).
//!
//! All-zero is the empty table, so the area's init writes nothing (the
//! rule of [`crate::layout`]): the words whose zero must mean "none" hold
//! index + 1 ([`to_link`]), and entries never used sit above a counter
//! instead of on a free list that start-up would have to link.

use crate::layout::{AreaId, AreaSpec, SizeCalc, SizeError};
use crate::lwlock::LwLock;
use std::sync::atomic::AtomicU32;

/// Partitions of the lock hash, as PostgreSQL's `NUM_LOCK_PARTITIONS`.
pub const NUM_PARTITIONS: usize = 16;

/// Lock methods' modes (AccessShareLock .. AccessExclusiveLock) + 1, as
/// PostgreSQL's `MAX_LOCKMODES`.
pub const MAX_LOCKMODES: usize = 10;

/// "No entry" in an index link.
pub const NO_ENTRY: u32 = u32::MAX;

/// An index as stored in the words whose zero must mean "none" (bucket
/// heads, free-list heads): index + 1, and 0 for NO_ENTRY.
pub fn to_link(i: u32) -> u32 {
    if i == NO_ENTRY {
        0
    } else {
        i + 1
    }
}

/// The index a [`to_link`] word holds, NO_ENTRY for 0.
pub fn from_link(v: u32) -> u32 {
    if v == 0 {
        NO_ENTRY
    } else {
        v - 1
    }
}

/// What is locked: PostgreSQL's LOCKTAG (16 bytes): field1..field4, the
/// tag type and the lock method.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LockTag {
    pub field1: u32,
    pub field2: u32,
    pub field3: u32,
    pub field4: u16,
    pub tag_type: u8,
    pub lockmethod: u8,
}

/// One locked object: PostgreSQL's LOCK. Holder and waiter lists are
/// index-linked: `proclocks` heads the list of [`ProcLock`]s on this
/// lock, `wait_head`/`wait_tail` the queue of waiting processes (proc
/// numbers; their `Proc` carries the next link).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Lock {
    pub tag: LockTag,
    /// Bit per mode granted to someone / waited for by someone.
    pub grant_mask: u32,
    pub wait_mask: u32,
    pub proclocks: u32,
    pub wait_head: u32,
    pub wait_tail: u32,
    pub wait_len: u32,
    pub requested: [u32; MAX_LOCKMODES],
    pub n_requested: u32,
    pub granted: [u32; MAX_LOCKMODES],
    pub n_granted: u32,
}

/// One holder of one lock: PostgreSQL's PROCLOCK.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcLock {
    /// Index of the [`Lock`].
    pub lock: u32,
    /// Proc number of the holder.
    pub proc_number: u32,
    /// Modes held / to release at the end of the transaction.
    pub hold_mask: u32,
    pub release_mask: u32,
    /// Next proc-lock on the same lock, and on the same process.
    pub next_on_lock: u32,
    pub next_on_proc: u32,
}

const _: () = {
    assert!(std::mem::size_of::<LockTag>() == 16);
    assert!(std::mem::size_of::<Lock>() == 128);
    assert!(std::mem::size_of::<ProcLock>() == 24);
};

/// The table's head: partition locks and free lists. Freed locks chain
/// through `lock_next`, freed proc-locks through `ProcLock::next_on_lock`;
/// entries never used are not on a list but above a counter (so that
/// nothing has to be linked at start). Heads and counters change only
/// under `freelist_lock`, taken (if at all) while holding one partition
/// lock, never the other way round. All-zero is the empty table.
#[repr(C, align(64))]
pub struct LockTableHeader {
    pub partitions: [LwLock; NUM_PARTITIONS],
    pub freelist_lock: LwLock,
    /// First freed lock ([`to_link`] encoding: 0 = none).
    pub free_locks: AtomicU32,
    /// First freed proc-lock ([`to_link`] encoding: 0 = none).
    pub free_proclocks: AtomicU32,
    /// Locks handed out from the never-used range: locks 1..=used_locks
    /// have been used (lock 0 never is).
    pub used_locks: AtomicU32,
    /// Proc-locks 0..used_proclocks have been used.
    pub used_proclocks: AtomicU32,
}

pub const HEADER_SIZE: usize = 320;
const _: () = assert!(std::mem::size_of::<LockTableHeader>() == HEADER_SIZE);

/// Where each part of the area lies, from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableShape {
    pub locks: usize,
    pub proclocks: usize,
    pub buckets: usize,
    pub buckets_at: usize,
    pub lock_next_at: usize,
    pub locks_at: usize,
    pub proclocks_at: usize,
    pub size: usize,
}

/// The area's parts for these settings, with checked arithmetic.
pub fn shape(c: &SizeCalc) -> Result<TableShape, SizeError> {
    let z = c.z;
    let backends = c.add(z.max_connections, z.max_prepared_transactions)?;
    let locks = c.mul(z.max_locks_per_transaction, backends)?;
    let proclocks = c.mul(locks, 2)?;
    let buckets = locks;
    let buckets_at = HEADER_SIZE;
    let lock_next_at = c.add(buckets_at, c.mul(buckets, 4)?)?;
    let locks_at = c.add(lock_next_at, c.mul(locks, 4)?)?;
    let proclocks_at = c.add(locks_at, c.mul(locks, std::mem::size_of::<Lock>())?)?;
    let size = c.add(
        proclocks_at,
        c.mul(proclocks, std::mem::size_of::<ProcLock>())?,
    )?;
    Ok(TableShape {
        locks,
        proclocks,
        buckets,
        buckets_at,
        lock_next_at,
        locks_at,
        proclocks_at,
        size,
    })
}

fn size(c: &SizeCalc) -> Result<usize, SizeError> {
    Ok(shape(c)?.size)
}

pub const AREA: AreaSpec = AreaSpec {
    id: AreaId::LockTable,
    name: "lock table",
    align: 64,
    size,
    // All-zero is an empty table: free partition locks, empty buckets
    // (heads are index + 1), no freed entry, no entry used. At the
    // default settings the area is 1.2 MB, none of it written at start.
    init: crate::layout::init_zeroed,
};
