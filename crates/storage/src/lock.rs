//! The heavyweight lock table's shared memory: PostgreSQL's LOCK and
//! PROCLOCK entries, sized as PostgreSQL sizes them.
//!
//! Why the two structs now, before the lock manager: a lock can have any
//! number of holders, so the table is PostgreSQL's split of one [`Lock`]
//! per locked object and one [`ProcLock`] per (lock, holder) pair, linked
//! by indexes (never pointers: the region maps at different addresses).
//! Sizing, kernel limits and `tusk check` already count the real entries;
//! the lock manager's issue adds the hash partitions and the code.
//!
//! Size: N = max_locks_per_transaction × (max_connections +
//! max_prepared_transactions) locks and 2N proc-locks, as PostgreSQL's
//! `NLOCKENTS()` and its PROCLOCK table. All-zero entries are free
//! (`Lock::tag` all zero names no object), so the area is zeroed at start.

use crate::layout::{init_zeroed, AreaId, AreaSpec, SizeCalc, SizeError};

/// Lock methods' modes (AccessShareLock .. AccessExclusiveLock) + 1, as
/// PostgreSQL's `MAX_LOCKMODES`.
pub const MAX_LOCKMODES: usize = 10;

/// "No entry" in an index link.
pub const NO_ENTRY: u32 = u32::MAX;

/// What is locked: PostgreSQL's LOCKTAG (16 bytes): field1..field4, the
/// tag type and the lock method.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

fn size(c: &SizeCalc) -> Result<usize, SizeError> {
    let z = c.z;
    let backends = c.add(z.max_connections, z.max_prepared_transactions)?;
    let locks = c.mul(z.max_locks_per_transaction, backends)?;
    let proclocks = c.mul(locks, 2)?;
    c.add(
        c.mul(locks, std::mem::size_of::<Lock>())?,
        c.mul(proclocks, std::mem::size_of::<ProcLock>())?,
    )
}

pub const AREA: AreaSpec = AreaSpec {
    id: AreaId::LockTable,
    name: "lock table",
    align: 64,
    size,
    init: init_zeroed,
};
