//! MVCC snapshots taken from the proc array (PostgreSQL's GetSnapshotData), the xmin each process advertises, and when READ COMMITTED and REPEATABLE READ take one.
//!
//! Why from the proc array: a snapshot is "which transactions had not
//! finished when I looked". Every running transaction has its xid in its
//! `Proc` (and its subxids in the proc's cache, [`crate::transam`]), and
//! a transaction leaves the array only after its fate is in the commit
//! log, so one scan under ProcArrayLock (shared) gives:
//!
//! - `xmax` = latest completed xid + 1: every xid at or above it is
//!   treated as running (it had not finished when we looked);
//! - `xip` / `subxip`: the xids below `xmax` still running, other than our
//!   own (our own transaction is recognised first, by the visibility code);
//!   when a listed transaction overflowed its subxid cache, the snapshot
//!   is marked `suboverflowed` and its other subxids are found through
//!   the subtransaction map ([`crate::transam`], "Overflow");
//! - `xmin` = the lowest of them (or `xmax`): every xid below it had
//!   finished, so only the commit log (or a hint bit) decides.
//!
//! The scan also publishes `Proc.xmin` (when the process has none, or
//! when the caller says its older snapshots are gone): the oldest xid any
//! of its snapshots may still need running, which vacuum's horizon
//! ([`oldest_xmin`]) must not pass. Publishing under the same shared lock
//! keeps a concurrent horizon computation from passing it: every xid our
//! xmin derives from is still running, and ending needs the lock
//! exclusively.
//!
//! Isolation ([`Snapshots`]): READ COMMITTED takes a new snapshot for
//! every statement; REPEATABLE READ takes one at the transaction's first
//! statement and keeps it (only its command id advances); SERIALIZABLE is
//! refused with an error rather than silently run as REPEATABLE READ.
//! The executor (not yet written) calls [`Snapshots::statement_snapshot`].
//!
//! Who may call: any process with a proc slot, for itself (`me`).

use crate::clog::FIRST_NORMAL_TRANSACTION_ID;
use crate::lwlock::{LwMode, LwProcs};
use crate::transam::{SubtransMap, Transam, MAX_CACHED_SUBXIDS};
use tusk_common::{sqlstate, PgError};

/// One MVCC snapshot (PostgreSQL's SnapshotData for MVCC scans).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every xid below this had finished when the snapshot was taken.
    pub xmin: u64,
    /// Every xid at or above this had not.
    pub xmax: u64,
    /// Top-level xids in `[xmin, xmax)` that were running (unsorted).
    pub xip: Vec<u64>,
    /// Their running subtransaction ids (those in the procs' caches).
    pub subxip: Vec<u64>,
    /// Set when a listed transaction had overflowed its subxid cache
    /// (PostgreSQL's `suboverflowed`): an xid in neither list may be one
    /// of its subxids, which the map resolves to its top-level xid.
    pub suboverflowed: Option<SubtransMap>,
    /// Our command id: our own changes made by commands before it are
    /// visible, those by it and later are not.
    pub curcid: u32,
}

impl Snapshot {
    /// An empty snapshot with room for `nprocs` processes, so that taking
    /// one allocates nothing (a forked test child may not allocate).
    pub fn with_capacity(nprocs: usize) -> Snapshot {
        Snapshot {
            xip: Vec::with_capacity(nprocs),
            subxip: Vec::with_capacity(nprocs * MAX_CACHED_SUBXIDS),
            ..Snapshot::default()
        }
    }

    /// Was `xid` running as far as this snapshot is concerned
    /// (PostgreSQL's XidInMVCCSnapshot)? Our own transaction is not in
    /// it: callers check "is it mine" first.
    pub fn xid_in_snapshot(&self, xid: u64) -> bool {
        if xid < self.xmin {
            return false;
        }
        if xid >= self.xmax {
            return true;
        }
        if self.xip.contains(&xid) || self.subxip.contains(&xid) {
            return true;
        }
        // An overflowed subxid counts as its top-level transaction. (Only
        // subxids of transactions listed here are in the map at or above
        // our xmin, which our advertised xmin keeps from being reused.)
        match self.suboverflowed.and_then(|m| m.top_of(xid)) {
            Some(top) => self.xip.contains(&top),
            None => false,
        }
    }
}

/// Takes a snapshot for proc `me` into `snap` (its vectors reused).
/// Publishes `Proc.xmin` when the proc has none, or always when
/// `replace_xmin` (the caller holds no older snapshot). Takes
/// ProcArrayLock shared. The process owning `me` only.
pub fn get_snapshot_data(
    t: &Transam,
    lw: &impl LwProcs,
    me: u32,
    snap: &mut Snapshot,
    replace_xmin: bool,
) {
    let procs = t.procs();
    let lock = &t.shared().proc_array_lock;
    snap.xip.clear();
    snap.subxip.clear();
    snap.suboverflowed = None;
    lock.acquire(lw, me, LwMode::Shared);
    let xmax = t.latest_completed_xid() + 1;
    let mut xmin = xmax;
    let mut scratch = [0u64; MAX_CACHED_SUBXIDS];
    for i in 0..procs.len() {
        if i == me as usize {
            continue;
        }
        let xid = procs.proc(i).xid();
        if xid < FIRST_NORMAL_TRANSACTION_ID || xid >= xmax {
            // No xid, or one assigned after latest_completed: >= xmax is
            // "running" for this snapshot without being listed.
            continue;
        }
        xmin = xmin.min(xid);
        snap.xip.push(xid);
        if t.is_overflowed(i) {
            snap.suboverflowed = Some(t.subtrans());
        }
        let n = t.running_subxids_into(i, &mut scratch);
        snap.subxip
            .extend(scratch[..n].iter().filter(|&&x| x < xmax));
    }
    let proc = procs.proc(me as usize);
    if replace_xmin || proc.xmin() == 0 {
        proc.set_xmin(xmin);
    }
    lock.release(lw);
    snap.xmin = xmin;
    snap.xmax = xmax;
}

/// The oldest xid any running transaction or live snapshot may still
/// need to see as running: vacuum's horizon (PostgreSQL's
/// GetOldestNonRemovableTransactionId, one horizon for all relations).
/// A tuple deleted by a transaction that committed below it is dead to
/// everyone. Any process; takes ProcArrayLock shared.
pub fn oldest_xmin(t: &Transam, lw: &impl LwProcs, me: u32) -> u64 {
    let procs = t.procs();
    let lock = &t.shared().proc_array_lock;
    lock.acquire(lw, me, LwMode::Shared);
    let mut h = t.latest_completed_xid() + 1;
    for i in 0..procs.len() {
        let p = procs.proc(i);
        for x in [p.xid(), p.xmin()] {
            if x >= FIRST_NORMAL_TRANSACTION_ID {
                h = h.min(x);
            }
        }
    }
    lock.release(lw);
    h
}

/// Transaction isolation levels (`SET TRANSACTION ISOLATION LEVEL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

/// A backend's snapshots within its transaction: which one a statement
/// uses. Per backend, process-local.
pub struct Snapshots {
    isolation: IsolationLevel,
    current: Snapshot,
    /// REPEATABLE READ: the transaction's snapshot is taken.
    taken: bool,
}

impl Snapshots {
    pub fn new(nprocs: usize) -> Snapshots {
        Snapshots {
            isolation: IsolationLevel::ReadCommitted,
            current: Snapshot::with_capacity(nprocs),
            taken: false,
        }
    }

    /// Sets the level of the transaction that starts next (or of this
    /// one, before its first statement took a snapshot). SERIALIZABLE is
    /// refused: running it as REPEATABLE READ would silently allow
    /// anomalies PostgreSQL prevents.
    pub fn set_isolation(&mut self, level: IsolationLevel) -> Result<(), PgError> {
        if level == IsolationLevel::Serializable {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "SERIALIZABLE isolation level is not supported",
            )
            .with_hint("Use REPEATABLE READ, which tusk runs as PostgreSQL does."));
        }
        if self.taken {
            return Err(PgError::error(
                sqlstate::ACTIVE_SQL_TRANSACTION,
                "SET TRANSACTION ISOLATION LEVEL must be called before any query",
            ));
        }
        self.isolation = level;
        Ok(())
    }

    pub fn isolation(&self) -> IsolationLevel {
        self.isolation
    }

    /// The snapshot for a statement running as command `cid`: a new one
    /// under READ COMMITTED (the previous statement's is released: the
    /// caller keeps none, so `Proc.xmin` moves up), the transaction's
    /// under REPEATABLE READ.
    pub fn statement_snapshot(
        &mut self,
        t: &Transam,
        lw: &impl LwProcs,
        me: u32,
        cid: u32,
    ) -> &Snapshot {
        match self.isolation {
            IsolationLevel::RepeatableRead | IsolationLevel::Serializable if self.taken => {}
            IsolationLevel::RepeatableRead | IsolationLevel::Serializable => {
                get_snapshot_data(t, lw, me, &mut self.current, true);
                self.taken = true;
            }
            IsolationLevel::ReadCommitted => {
                get_snapshot_data(t, lw, me, &mut self.current, true);
                self.taken = true;
            }
        }
        self.current.curcid = cid;
        &self.current
    }

    /// At commit or abort: the next transaction takes fresh snapshots at
    /// READ COMMITTED (`Proc.xmin` is cleared by
    /// [`Transam::end_transaction`]).
    pub fn end_transaction(&mut self) {
        self.taken = false;
        self.isolation = IsolationLevel::ReadCommitted;
    }
}

#[cfg(test)]
mod tests;
