//! Subtransactions end to end in the storage engine: rows inserted and deleted through the heap in savepoints, rolled back or released, seen by the own transaction and by another proc's snapshots, with the commit log and the commit/abort records each step leaves.
//!
//! Why here and in one process: the pieces are the real ones — the
//! region laid out by the area registry ([`TestRegion`]: proc array,
//! transaction ids, commit-status cache, buffer pool), the heap, the
//! snapshot code and [`crate::visibility`] — joined by a small engine
//! ([`ShmemEngine`], the same calls as the server's backend makes). The
//! "other backend" is a second proc slot whose snapshots this process
//! takes: a snapshot reads only shared memory, so one process can act as
//! both without forking (the snapshot tests fork; nothing here needs to).

use crate::bufmgr::{BufMgr, SharedPool};
use crate::clog::XidStatus;
use crate::clogbuffers::{Clog, ClogFor};
use crate::heapam::{
    CommandId, ExtensionLock, HeapRel, HeapWal, HtsvResult, Lsn, TmResult, Visibility, Xid,
};
use crate::heaptuple::{self, Align, Attr, Datum, ItemPointer};
use crate::page::PageBuf;
use crate::smgr::{BlockNumber, Md, RelFileLocator, DEFAULTTABLESPACE_OID};
use crate::snapshot::{get_snapshot_data, Snapshot};
use crate::testutil::{RegionProcs, TestRegion};
use crate::transam::{ClogStatus, CommitWal, Transam};
use crate::visibility::{self as vis, ComboCids, ProcXactState};
use crate::xact::{Xact, XactEngine};
use crate::xlog::{WalFlusher, XlogError};
use std::cell::RefCell;
use std::rc::Rc;
use tusk_common::PgError;

const REL: RelFileLocator = RelFileLocator {
    spc: DEFAULTTABLESPACE_OID,
    db: 5,
    rel: 16384,
};
const INT4: Attr = Attr::fixed(4, Align::Int, true);

/// Proc slots: the writing backend and the one that watches.
const WRITER: u32 = 0;
const READER: u32 = 1;

/// Commit and abort records as the engine wrote them: (kind, xid, subxids).
type Records = Rc<RefCell<Vec<(&'static str, u64, Vec<u64>)>>>;

struct RecordingWal(Records);

impl CommitWal for RecordingWal {
    fn log_commit(&self, xid: u64, subxids: &[u64]) -> Result<u64, PgError> {
        self.0.borrow_mut().push(("commit", xid, subxids.to_vec()));
        Ok(0)
    }
    fn log_abort(&self, xid: u64, subxids: &[u64]) -> Result<(), PgError> {
        self.0.borrow_mut().push(("abort", xid, subxids.to_vec()));
        Ok(())
    }
}

/// The backend's engine (crates/server's `Engine`) over the test region.
struct ShmemEngine {
    t: Transam,
    clog: Rc<Clog>,
    lw: RegionProcs,
    me: u32,
    wal: RecordingWal,
}

impl ShmemEngine {
    fn clog_for(&self) -> ClogFor<'_, RegionProcs> {
        ClogFor {
            clog: &self.clog,
            lw: &self.lw,
            me: self.me,
        }
    }
}

impl XactEngine for ShmemEngine {
    fn assign_xid(&self) -> Result<u64, PgError> {
        self.t
            .assign_xid(&self.lw, self.me, false, &self.clog_for())
    }
    fn commit(&self, subxids: &[u64]) -> Result<(), PgError> {
        self.t
            .commit(&self.lw, self.me, subxids, &self.wal, &self.clog_for())
    }
    fn abort(&self, subxids: &[u64]) -> Result<(), PgError> {
        self.t
            .abort(&self.lw, self.me, subxids, &self.wal, &self.clog_for())
    }
    fn assign_subxid(&self) -> Result<u64, PgError> {
        self.t.assign_xid(&self.lw, self.me, true, &self.clog_for())
    }
    fn abort_subxact(&self, xid: u64, children: &[u64]) -> Result<(), PgError> {
        self.wal.log_abort(xid, children)?;
        self.clog_for()
            .set_tree_status(xid, children, XidStatus::Aborted, 0)?;
        let mut gone = vec![xid];
        gone.extend_from_slice(children);
        self.t.remove_subxids(&self.lw, self.me, &gone);
        Ok(())
    }
}

/// heapam's [`Visibility`] over an MVCC snapshot and
/// [`crate::visibility`] (the seam the executor will use).
struct Mvcc<'a> {
    snap: Snapshot,
    state: ProcXactState<'a, RegionProcs>,
    horizon: u64,
}

impl Visibility for Mvcc<'_> {
    fn visible(&self, tuple: &[u8]) -> bool {
        // Hint bits go to a copy: the caller holds only a share lock and
        // heapam's trait hands out the tuple read-only.
        vis::satisfies_mvcc(&mut tuple.to_vec(), &self.snap, &self.state).unwrap()
    }
    fn satisfies_update(&self, tuple: &[u8], cid: CommandId) -> TmResult {
        let ctid = heaptuple::ctid(tuple);
        match vis::satisfies_update(&mut tuple.to_vec(), cid, ctid, &self.state).unwrap() {
            vis::UpdateResult::Ok => TmResult::Ok,
            vis::UpdateResult::Invisible => TmResult::Invisible,
            vis::UpdateResult::SelfModified => TmResult::SelfModified,
            vis::UpdateResult::BeingModified => TmResult::BeingModified,
            vis::UpdateResult::Updated => TmResult::Updated,
            vis::UpdateResult::Deleted => TmResult::Deleted,
        }
    }
    fn satisfies_vacuum(&self, tuple: &[u8]) -> HtsvResult {
        match vis::satisfies_vacuum(&mut tuple.to_vec(), self.horizon, &self.state).unwrap() {
            vis::VacuumResult::Dead => HtsvResult::Dead,
            vis::VacuumResult::Live => HtsvResult::Live,
            vis::VacuumResult::RecentlyDead => HtsvResult::RecentlyDead,
            vis::VacuumResult::InsertInProgress => HtsvResult::InsertInProgress,
            vis::VacuumResult::DeleteInProgress => HtsvResult::DeleteInProgress,
        }
    }
    fn may_prune(&self, prune_xid: Xid) -> bool {
        prune_xid < self.horizon
    }
}

struct NoWal;

impl HeapWal for NoWal {
    fn log_heap_insert(
        &self,
        _: RelFileLocator,
        _: &PageBuf,
        _: ItemPointer,
        _: bool,
        _: &[u8],
    ) -> Lsn {
        0
    }
    fn log_heap_delete(
        &self,
        _: RelFileLocator,
        _: &PageBuf,
        _: ItemPointer,
        _: Xid,
        _: u16,
    ) -> Lsn {
        0
    }
    fn log_heap_update(
        &self,
        _: RelFileLocator,
        _: &PageBuf,
        _: Option<&PageBuf>,
        _: ItemPointer,
        _: ItemPointer,
        _: bool,
        _: bool,
        _: &[u8],
    ) -> Lsn {
        0
    }
    fn log_heap_prune(
        &self,
        _: RelFileLocator,
        _: &PageBuf,
        _: BlockNumber,
        _: &[(u16, u16)],
        _: &[u16],
        _: &[u16],
    ) -> Lsn {
        0
    }
}

impl WalFlusher for NoWal {
    fn flush_upto(&self, _: u64) -> Result<(), XlogError> {
        Ok(())
    }
}

/// One process inserts alone: the extension lock has nothing to order.
struct NoExtLock;

impl ExtensionLock for NoExtLock {
    fn lock(&self, _: RelFileLocator) {}
    fn unlock(&self, _: RelFileLocator) {}
}

fn row(id: i32) -> Vec<u8> {
    heaptuple::form_tuple(&[INT4], &[Some(Datum::ByVal(id as u32 as u64))]).unwrap()
}

fn id_of(t: &[u8]) -> i32 {
    match heaptuple::deform_tuple(t, &[INT4]).unwrap()[0] {
        Some(Datum::ByVal(v)) => v as u32 as i32,
        ref other => panic!("not an int4: {other:?}"),
    }
}

/// The test world: region, commit log, buffer manager, heap relation.
struct World {
    r: TestRegion,
    lw: RegionProcs,
    _dir: tempfile::TempDir,
    t: Transam,
    clog: Rc<Clog>,
    bm: BufMgr,
    combos: ComboCids,
    records: Records,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let r = TestRegion::new(3);
        let t = r.transam();
        let clog = Rc::new(r.clog(dir.path()));
        t.startup(1000);
        clog.startup(1000);
        // SAFETY: the region was laid out and initialised by TestRegion
        // and stays mapped while the world (which owns it) lives.
        let pool = unsafe { SharedPool::attach(r.mem.base(), &r.layout, &r.sizing) };
        let bm = BufMgr::new(
            pool,
            Box::new(r.lw()),
            WRITER,
            Box::new(Md::new(dir.path(), 64)),
            Box::new(NoWal),
            false,
        );
        World {
            lw: r.lw(),
            r,
            _dir: dir,
            t,
            clog,
            bm,
            combos: ComboCids::default(),
            records: Rc::new(RefCell::new(Vec::new())),
        }
    }

    fn writer(&self) -> Xact {
        let mut x = Xact::new();
        x.set_engine(Rc::new(ShmemEngine {
            t: self.t,
            clog: self.clog.clone(),
            lw: self.r.lw(),
            me: WRITER,
            wal: RecordingWal(self.records.clone()),
        }));
        x
    }

    fn clog_for(&self, me: u32) -> ClogFor<'_, RegionProcs> {
        ClogFor {
            clog: &self.clog,
            lw: &self.lw,
            me,
        }
    }

    fn snapshot(&self, me: u32, cid: u32) -> Snapshot {
        let mut s = Snapshot::with_capacity(self.r.procs.len());
        get_snapshot_data(&self.t, &self.r.lw(), me, &mut s, true);
        s.curcid = cid;
        s
    }

    /// What `snap` (taken by proc `me`, whose own xids are `current`) sees.
    fn scan(&self, snap: &Snapshot, me: u32, current: &[u64]) -> Vec<i32> {
        let v = Mvcc {
            snap: snap.clone(),
            state: ProcXactState {
                transam: &self.t,
                clog: self.clog_for(me),
                current,
                combos: &self.combos,
            },
            horizon: 0,
        };
        let heap = HeapRel::new(REL, &self.bm, &NoWal, &NoExtLock);
        let mut owner = crate::xact::ResourceOwner::default();
        let mut scan = heap.begin_scan(&v).unwrap();
        let mut ids = Vec::new();
        while let Some((_, t)) = scan.next(&mut owner).unwrap() {
            ids.push(id_of(&t));
        }
        scan.end(&mut owner);
        ids.sort();
        ids
    }

    /// The writer's view now: its own snapshot at its current command.
    fn own_view(&self, x: &Xact) -> Vec<i32> {
        let snap = self.snapshot(WRITER, x.command_id());
        self.scan(&snap, WRITER, &x.current_xids())
    }

    /// Inserts `id` as the writer's current (sub)transaction and ends the
    /// command (the next one sees it).
    fn insert(&self, x: &mut Xact, id: i32) -> ItemPointer {
        x.start_command(1);
        let xid = x.current_xid().unwrap();
        let snap = self.snapshot(WRITER, x.command_id());
        let current = x.current_xids();
        let v = Mvcc {
            snap,
            state: ProcXactState {
                transam: &self.t,
                clog: self.clog_for(WRITER),
                current: &current,
                combos: &self.combos,
            },
            horizon: 0,
        };
        let heap = HeapRel::new(REL, &self.bm, &NoWal, &NoExtLock);
        let tid = heap
            .insert(&mut x.owner(), &v, row(id), xid, x.command_id())
            .unwrap();
        x.commit_command();
        tid
    }

    fn status(&self, xid: u64) -> XidStatus {
        self.clog_for(READER).get_status(xid).unwrap()
    }
}

/// Runs a transaction statement of the writer (`f` sets the block state,
/// the end of the statement acts on it).
fn stmt(x: &mut Xact, f: impl FnOnce(&mut Xact) -> Result<(), PgError>) {
    x.start_command(1);
    f(x).unwrap();
    x.commit_command();
}

#[test]
fn rows_of_a_rolled_back_savepoint_are_invisible_to_everyone() {
    let w = World::new();
    let mut x = w.writer();
    stmt(&mut x, |x| x.begin_block().map(|_| ()));
    w.insert(&mut x, 1); // top level: xid 1000
    stmt(&mut x, |x| x.define_savepoint("s1"));
    w.insert(&mut x, 2); // s1: 1001
    stmt(&mut x, |x| x.define_savepoint("s2"));
    w.insert(&mut x, 3); // s2: 1002
    assert_eq!(w.own_view(&x), [1, 2, 3]);
    // A third backend's transaction (1003) commits, so that the writer's
    // xids fall below the next snapshot's xmax and must be listed.
    let other = ShmemEngine {
        t: w.t,
        clog: w.clog.clone(),
        lw: w.r.lw(),
        me: 2,
        wal: RecordingWal(Rc::new(RefCell::new(Vec::new()))),
    };
    assert_eq!(other.assign_xid().unwrap(), 1003);
    other.commit(&[]).unwrap();
    // Another backend sees none of it: the top xid and both subxids are
    // running (the subxids from the writer's cache).
    let running = w.snapshot(READER, 0);
    assert_eq!(running.xip, [1000]);
    assert_eq!(running.subxip, [1001, 1002]);
    assert!(w.scan(&running, READER, &[]).is_empty());

    // ROLLBACK TO s1: s2 and s1 are aborted (s1 opens again).
    stmt(&mut x, |x| x.rollback_to_savepoint("s1"));
    assert_eq!(w.status(1001), XidStatus::Aborted);
    assert_eq!(w.status(1002), XidStatus::Aborted);
    assert_eq!(
        w.own_view(&x),
        [1],
        "the own transaction no longer sees them"
    );
    let after = w.snapshot(READER, 0);
    assert!(after.subxip.is_empty(), "out of the subxid cache");
    assert!(!w.t.is_in_progress(&w.r.lw(), READER, 1001));

    w.insert(&mut x, 4); // s1 again: 1004
    stmt(&mut x, |x| x.release_savepoint("s1"));
    assert_eq!(w.own_view(&x), [1, 4]);
    let released = w.snapshot(READER, 0);
    assert!(
        released.xid_in_snapshot(1000) && released.xid_in_snapshot(1004),
        "released: still running"
    );
    assert!(w.scan(&released, READER, &[]).is_empty());
    assert_eq!(w.status(1004), XidStatus::InProgress);

    stmt(&mut x, |x| x.end_block().map(|_| ()));
    assert_eq!(w.status(1000), XidStatus::Committed);
    assert_eq!(w.status(1004), XidStatus::Committed);
    assert_eq!(w.status(1001), XidStatus::Aborted);
    // A snapshot taken while it ran still does not see it; a new one sees
    // exactly the rows of the committed levels.
    assert!(w.scan(&running, READER, &[]).is_empty());
    assert_eq!(w.scan(&w.snapshot(READER, 0), READER, &[]), [1, 4]);
    // One abort record per ROLLBACK TO level (the xid of the level as
    // its own), one commit record listing the released subxid.
    assert_eq!(
        *w.records.borrow(),
        [
            ("abort", 1002, vec![]),
            ("abort", 1001, vec![]),
            ("commit", 1000, vec![1004]),
        ]
    );
}

/// The ORM pattern at the storage level: a statement fails inside a
/// savepoint after writing; ROLLBACK TO undoes its row and the
/// transaction commits the rest. A row deleted in a rolled-back savepoint
/// is back; an inner savepoint released into an outer one that rolls back
/// is aborted with it.
#[test]
fn a_failed_savepoint_rolls_back_its_writes_and_deletes() {
    let w = World::new();
    let mut x = w.writer();
    stmt(&mut x, |x| x.begin_block().map(|_| ()));
    let kept = w.insert(&mut x, 10); // 1000
    stmt(&mut x, |x| x.define_savepoint("a"));
    // Delete row 10 in the savepoint.
    x.start_command(1);
    let xid = x.current_xid().unwrap(); // 1001
    {
        let current = x.current_xids();
        let v = Mvcc {
            snap: w.snapshot(WRITER, x.command_id()),
            state: ProcXactState {
                transam: &w.t,
                clog: w.clog_for(WRITER),
                current: &current,
                combos: &w.combos,
            },
            horizon: 0,
        };
        let heap = HeapRel::new(REL, &w.bm, &NoWal, &NoExtLock);
        heap.delete(&mut x.owner(), &v, kept, xid, x.command_id())
            .unwrap()
            .unwrap();
    }
    x.commit_command();
    stmt(&mut x, |x| x.define_savepoint("b"));
    w.insert(&mut x, 11); // 1002
    stmt(&mut x, |x| x.release_savepoint("b")); // 1002 is a's child now
    assert_eq!(w.own_view(&x), [11]);
    // A statement that wrote and then failed.
    x.start_command(1);
    let xid = x.current_xid().unwrap();
    assert_eq!(xid, 1001, "the same level, the same xid");
    assert_eq!(x.abort_current(), None);
    assert_eq!(w.status(1001), XidStatus::Aborted);
    assert_eq!(
        w.status(1002),
        XidStatus::Aborted,
        "released into a: aborted with it"
    );
    stmt(&mut x, |x| x.rollback_to_savepoint("a"));
    assert_eq!(w.own_view(&x), [10], "the delete is undone");
    w.insert(&mut x, 12); // a again: 1003
    stmt(&mut x, |x| x.end_block().map(|_| ()));
    assert_eq!(w.scan(&w.snapshot(READER, 0), READER, &[]), [10, 12]);
    assert_eq!(
        *w.records.borrow(),
        [("abort", 1001, vec![1002]), ("commit", 1000, vec![1003])]
    );
}

/// A transaction that rolls back whole takes its released subxids with
/// it (they are in its abort record and aborted in the commit log).
#[test]
fn rollback_aborts_released_subtransactions() {
    let w = World::new();
    let mut x = w.writer();
    stmt(&mut x, |x| x.begin_block().map(|_| ()));
    stmt(&mut x, |x| x.define_savepoint("a"));
    w.insert(&mut x, 1); // 1000, 1001
    stmt(&mut x, |x| x.release_savepoint("a"));
    stmt(&mut x, |x| x.user_abort_block().map(|_| ()));
    assert_eq!(w.status(1000), XidStatus::Aborted);
    assert_eq!(w.status(1001), XidStatus::Aborted);
    assert!(w.scan(&w.snapshot(READER, 0), READER, &[]).is_empty());
    assert_eq!(*w.records.borrow(), [("abort", 1000, vec![1001])]);
}

/// The ORM loop: SAVEPOINT / INSERT / RELEASE two hundred times in one
/// transaction (every 10th rolled back instead). Past 64 running subxids
/// the proc's cache overflows into the subtransaction map; another
/// proc's snapshots must still see every released subxid as running
/// while the transaction runs — also a snapshot taken before the commit
/// and used after it — and the committed rows once it committed.
#[test]
fn hundreds_of_released_savepoints_overflow_the_cache_and_stay_correct() {
    let w = World::new();
    let mut x = w.writer();
    stmt(&mut x, |x| x.begin_block().map(|_| ()));
    w.insert(&mut x, 0);
    let mut kept = vec![0];
    for i in 1..=200 {
        stmt(&mut x, |x| x.define_savepoint("sp"));
        w.insert(&mut x, i);
        if i % 10 == 0 {
            stmt(&mut x, |x| x.rollback_to_savepoint("sp"));
        } else {
            kept.push(i);
        }
        stmt(&mut x, |x| x.release_savepoint("sp"));
    }
    assert!(w.t.is_overflowed(WRITER as usize));
    assert_eq!(w.own_view(&x), kept);
    // Another transaction commits after all of them, so that they are
    // below the reader's xmax and only the map can say they run.
    let other = ShmemEngine {
        t: w.t,
        clog: w.clog.clone(),
        lw: w.r.lw(),
        me: 2,
        wal: RecordingWal(Rc::new(RefCell::new(Vec::new()))),
    };
    let late = other.assign_xid().unwrap();
    other.commit(&[]).unwrap();
    let before = w.snapshot(READER, 0);
    assert!(before.suboverflowed.is_some());
    assert_eq!(before.xmax, late + 1);
    assert_eq!(before.subxip.len(), 64, "the cached ones");
    let released: Vec<u64> = x.current_xids().into_iter().skip(1).collect();
    assert_eq!(released.len(), 180);
    assert!(released.iter().all(|&s| before.xid_in_snapshot(s)));
    assert!(released
        .iter()
        .all(|&s| w.t.is_in_progress(&w.r.lw(), READER, s)));
    assert!(w.scan(&before, READER, &[]).is_empty());

    stmt(&mut x, |x| x.end_block().map(|_| ()));
    assert!(!w.t.is_overflowed(WRITER as usize));
    // The old snapshot still treats them as running (the map keeps them
    // tied to the top xid in its xip); a new one sees the kept rows.
    assert!(released.iter().all(|&s| before.xid_in_snapshot(s)));
    assert!(w.scan(&before, READER, &[]).is_empty());
    let after = w.snapshot(READER, 0);
    assert!(after.suboverflowed.is_none());
    assert_eq!(w.scan(&after, READER, &[]), kept);
    assert!(released
        .iter()
        .all(|&s| w.status(s) == XidStatus::Committed));
    // The commit record lists all 180 released subxids.
    let records = w.records.borrow();
    let (kind, _, subxids) = records.last().unwrap();
    assert_eq!((*kind, subxids.len()), ("commit", 180));
}
