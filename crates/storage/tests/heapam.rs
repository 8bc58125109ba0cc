//! The heap access method on the real buffer manager: forked processes inserting into one relation larger than the pool, fetch by TID, delete and update with their TM_Result outcomes, update chains, pruning, and damaged pages.
//!
//! Why a test binary of its own with `harness = false` (as tests/bufmgr.rs):
//! children do what a backend does (allocate, open files, keep a resource
//! owner), which is unsafe in a child forked from libtest's threads. `main`
//! runs the tests one after another in one thread. Each test builds its own
//! region (laid out by the real area registry), semaphore set and data
//! directory, and removes them — and kills and reaps its children by PID —
//! even when it fails (that harness is shared with tests/bufmgr.rs in
//! tests/support). Visibility is the committed-set oracle
//! ([`SetOracle`]); WAL is a counter in shared memory. Run one test with
//! `cargo test -p tusk-storage --test heapam -- NAME`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tusk_common::sqlstate;
use tusk_storage::bufmgr::{BufMgr, WalFlusher};
use tusk_storage::heapam::*;
use tusk_storage::heaptuple::{self, Align, Attr, Datum, ItemPointer};
use tusk_storage::lwlock::{LwLock, LwMode, LwWaiter};
use tusk_storage::page::{self, PageBuf, BLCKSZ, LP_DEAD, LP_REDIRECT, LP_UNUSED};
use tusk_storage::smgr::{BlockNumber, Fork, RelFileLocator, Smgr, DEFAULTTABLESPACE_OID};
use tusk_storage::xact::{Release, ResourceOwner};
use tusk_storage::xlog::XlogError;

// The bufmgr tests use more of the shared harness (the region's areas)
// than these do.
#[allow(dead_code)]
mod support;
use support::{fork_child, refcounts, wait_for, Children, Procs, SharedState, MAX_PROCS, REL};

const REL2: RelFileLocator = RelFileLocator {
    spc: DEFAULTTABLESPACE_OID,
    db: 5,
    rel: 16385,
};
/// How long children may run before the test fails (and kills them).
const DEADLINE: Duration = Duration::from_secs(180);

const INT4: Attr = Attr::fixed(4, Align::Int, true);
const TEXT: Attr = Attr::varlena(Align::Int);
const ATTRS: [Attr; 2] = [INT4, TEXT];

/// What the processes of a test share; lives in a zeroed mapping (all
/// zero is valid for every field but the LWLock, which World::new inits).
#[repr(C)]
struct Shared {
    /// The fake WAL's insert position and what it was asked to log.
    lsn: AtomicU64,
    inserts: AtomicU64,
    updates: AtomicU64,
    deletes: AtomicU64,
    prunes: AtomicU64,
    flushed_upto: AtomicU64,
    started: AtomicU64,
    /// Per row of the concurrent-update test: 1 + the process whose
    /// update won, 0 while none did.
    winner: [AtomicU64; 256],
    /// The relation extension lock of the test.
    ext: LwLock,
    waiters: [LwWaiter; MAX_PROCS],
}

// SAFETY: all zero is valid for the atomics and waiters ("not waiting")
// and, as a value, for the LWLock, whose initial state `init` sets.
unsafe impl SharedState for Shared {
    fn init(&self) {
        self.ext.init();
    }
    fn waiters(&self) -> &[LwWaiter; MAX_PROCS] {
        &self.waiters
    }
}

/// One test's world (see tests/support): the pool, these counters, a
/// semaphore per process, a data directory.
type World = support::World<Shared>;

impl World {
    fn mgr_with(&self, me: u32, checksums: bool) -> BufMgr {
        let sh = self.shared();
        self.bufmgr(me, Box::new(self.md()), Box::new(FakeWal { sh }), checksums)
    }

    fn mgr(&self, me: u32) -> BufMgr {
        self.mgr_with(me, true)
    }

    fn ext(&self, me: u32) -> ExtLock {
        ExtLock {
            sh: self.shared(),
            procs: self.procs(),
            me,
        }
    }
}

/// The extension lock as an LWLock in the shared counters.
struct ExtLock {
    sh: &'static Shared,
    procs: Procs,
    me: u32,
}

impl ExtensionLock for ExtLock {
    fn lock(&self, _rel: RelFileLocator) {
        self.sh.ext.acquire(&self.procs, self.me, LwMode::Exclusive);
    }
    fn unlock(&self, _rel: RelFileLocator) {
        self.sh.ext.release(&self.procs);
    }
}

/// WAL flushing for the buffer manager: everything is "durable".
struct FakeWal {
    sh: &'static Shared,
}

impl WalFlusher for FakeWal {
    fn flush_upto(&self, lsn: u64) -> Result<(), XlogError> {
        self.sh.flushed_upto.fetch_max(lsn, Ordering::SeqCst);
        Ok(())
    }
}

/// The heap's WAL: each record advances a shared LSN; counted by kind.
struct CountingWal {
    sh: &'static Shared,
}

impl CountingWal {
    fn next(&self, counter: &AtomicU64) -> Lsn {
        counter.fetch_add(1, Ordering::SeqCst);
        0x1000 + self.sh.lsn.fetch_add(64, Ordering::SeqCst) + 64
    }
}

impl HeapWal for CountingWal {
    fn log_heap_insert(
        &self,
        _: RelFileLocator,
        _: &PageBuf,
        _: ItemPointer,
        _: bool,
        _: &[u8],
    ) -> Lsn {
        self.next(&self.sh.inserts)
    }
    fn log_heap_delete(
        &self,
        _: RelFileLocator,
        _: &PageBuf,
        _: ItemPointer,
        _: Xid,
        _: u16,
    ) -> Lsn {
        self.next(&self.sh.deletes)
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
        self.next(&self.sh.updates)
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
        self.next(&self.sh.prunes)
    }
}

/// A row (id, payload) as a tuple.
fn row(id: i32, payload: &str) -> Vec<u8> {
    heaptuple::form_tuple(
        &ATTRS,
        &[
            Some(Datum::ByVal(id as u32 as u64)),
            Some(Datum::Ref(payload.as_bytes())),
        ],
    )
    .unwrap()
}

/// The (id, payload) of a tuple.
fn unrow(t: &[u8]) -> (i32, String) {
    let v = heaptuple::deform_tuple(t, &ATTRS).unwrap();
    let id = match v[0] {
        Some(Datum::ByVal(x)) => x as u32 as i32,
        ref o => panic!("id {o:?}"),
    };
    let p = match v[1] {
        Some(Datum::Ref(b)) => String::from_utf8(b.to_vec()).unwrap(),
        ref o => panic!("payload {o:?}"),
    };
    (id, p)
}

fn payload(id: i32, len: usize) -> String {
    let mut s = format!("row {id}:");
    while s.len() < len {
        s.push((b'a' + ((s.len() + id as usize) % 26) as u8) as char);
    }
    s
}

fn oracle(me: Xid, cid: CommandId, committed: &[Xid]) -> SetOracle {
    SetOracle {
        committed: committed.iter().copied().collect(),
        me,
        cid,
        ..SetOracle::default()
    }
}

/// Every visible row of the relation, by a full scan.
fn scan_all(
    h: &HeapRel,
    owner: &mut ResourceOwner,
    vis: &dyn Visibility,
) -> Vec<(ItemPointer, i32, String)> {
    let mut s = h.begin_scan(vis).unwrap();
    let mut out = Vec::new();
    while let Some((tid, t)) = s.next(owner).unwrap() {
        let (id, p) = unrow(&t);
        out.push((tid, id, p));
    }
    s.end(owner);
    out
}

// ---------------------------------------------------------------------------

/// Four processes insert 600 rows each at once into one relation about
/// four times the size of the 16-buffer pool (two one row at a time, two
/// with multi_insert, a page per lock). A scan then returns every
/// row exactly once with its content, every TID fetches its row, pins are
/// all given back, and after a checkpoint the rows are read back from the
/// files.
fn concurrent_inserts_into_a_relation_larger_than_the_pool() {
    const NBUF: usize = 16;
    const N: u32 = 4;
    const M: i32 = 600;
    let w = World::new(NBUF);
    let sh = w.shared();
    let mut kids = Children(Vec::new());
    for me in 0..N {
        let w = &w;
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(me);
            let ext = w.ext(me);
            let wal = CountingWal { sh };
            let h = HeapRel::new(REL, &mgr, &wal, &ext);
            let mut owner = ResourceOwner::default();
            let xid = 100 + me as Xid;
            let vis = oracle(xid, 0, &[]);
            sh.started.fetch_add(1, Ordering::SeqCst);
            if !wait_for(&sh.started, N as u64, DEADLINE) {
                return 2;
            }
            if me % 2 == 1 {
                // Bulk loaders: 50 rows at a time, a page filled per lock.
                for start in (0..M).step_by(50) {
                    let ids: Vec<i32> = (start..(start + 50).min(M))
                        .map(|i| me as i32 * M + i)
                        .collect();
                    let mut tuples: Vec<Vec<u8>> =
                        ids.iter().map(|&id| row(id, &payload(id, 200))).collect();
                    let tids = h
                        .multi_insert(&mut owner, &vis, &mut tuples, xid, 0)
                        .unwrap();
                    if tids.len() != ids.len() || tids.iter().any(|t| t.offset == 0) {
                        return 3;
                    }
                    // Each tuple carries its own TID, as a single insert's.
                    if tuples
                        .iter()
                        .zip(&tids)
                        .any(|(t, tid)| heaptuple::ctid(t) != *tid)
                    {
                        return 5;
                    }
                }
            } else {
                for i in 0..M {
                    let id = me as i32 * M + i;
                    let tid = h
                        .insert(&mut owner, &vis, row(id, &payload(id, 200)), xid, 0)
                        .unwrap();
                    if tid.offset == 0 {
                        return 3;
                    }
                }
            }
            if mgr.pinned_buffers() != 0 || !owner.is_empty() {
                return 4;
            }
            0
        }));
    }
    assert_eq!(kids.wait_all(DEADLINE), vec![0; N as usize]);
    assert_eq!(sh.inserts.load(Ordering::SeqCst), (N as i32 * M) as u64);
    assert_eq!(refcounts(&w.pool), vec![0; NBUF], "no pin lost");
    let mgr = w.mgr(N);
    let ext = w.ext(N);
    let wal = CountingWal { sh };
    let h = HeapRel::new(REL, &mgr, &wal, &ext);
    let nblocks = h.nblocks().unwrap();
    assert!(nblocks as usize >= 3 * NBUF, "{nblocks} blocks");
    let mut owner = ResourceOwner::default();
    let committed: Vec<Xid> = (0..N as Xid).map(|m| 100 + m).collect();
    let vis = oracle(0, 0, &committed);
    let check = |rows: &[(ItemPointer, i32, String)]| {
        assert_eq!(rows.len(), (N as i32 * M) as usize);
        let mut ids = HashSet::new();
        let mut tids = HashSet::new();
        for (tid, id, p) in rows {
            assert!(ids.insert(*id), "row {id} twice");
            assert!(tids.insert((tid.block, tid.offset)), "tid {tid:?} twice");
            assert_eq!(*p, payload(*id, 200));
        }
    };
    let rows = scan_all(&h, &mut owner, &vis);
    check(&rows);
    for (tid, id, _) in rows.iter().step_by(7) {
        let t = h
            .fetch(&mut owner, &vis, *tid)
            .unwrap()
            .expect("fetch by tid");
        assert_eq!(unrow(&t).0, *id);
        assert_eq!(heaptuple::ctid(&t), *tid, "ctid is the tuple's own TID");
    }
    // Rows of an uncommitted inserter are invisible to others.
    let none = oracle(0, 0, &committed[1..]);
    assert_eq!(scan_all(&h, &mut owner, &none).len(), (3 * M) as usize);
    // After a checkpoint and with the pool emptied, from the files.
    mgr.flush_all_dirty(&mut owner).unwrap();
    mgr.drop_relation_buffers(REL, Fork::Main, 0);
    check(&scan_all(&h, &mut owner, &vis));
    assert_eq!(mgr.pinned_buffers(), 0);
    assert!(owner.is_empty());
}

/// Delete and update against the committed-set oracle: who sees which
/// version, PostgreSQL's TM_Result outcomes (SelfModified, BeingModified,
/// Deleted, Updated) instead of waits, HOT and cross-page updates, and the
/// update chain followed through t_ctid.
fn delete_update_and_update_chains() {
    let w = World::new(16);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let wal = CountingWal { sh };
    let h = HeapRel::new(REL, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    let v10 = oracle(10, 0, &[]);
    let a = h.insert(&mut owner, &v10, row(1, "a"), 10, 0).unwrap();
    let b = h.insert(&mut owner, &v10, row(2, "b"), 10, 0).unwrap();
    let c = h.insert(&mut owner, &v10, row(3, "c"), 10, 1).unwrap();
    // The page carries the LSN of its last WAL record.
    let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, 0).unwrap();
    assert_eq!(
        page::lsn(mgr.lock(&pin, LwMode::Shared).page()),
        0x1000 + sh.lsn.load(Ordering::SeqCst)
    );
    mgr.release(&mut owner, pin);
    // TIDs that hold no tuple fetch nothing.
    let all10 = oracle(0, 0, &[10]);
    for tid in [
        ItemPointer {
            block: 0,
            offset: 4,
        },
        ItemPointer {
            block: 7,
            offset: 1,
        },
    ] {
        assert_eq!(h.fetch(&mut owner, &all10, tid).unwrap(), None);
    }
    // A row larger than a page: PostgreSQL's error, nothing stored.
    let e = h
        .insert(&mut owner, &v10, row(9, &payload(9, 9000)), 10, 0)
        .unwrap_err();
    assert_eq!(e.code, sqlstate::PROGRAM_LIMIT_EXCEEDED);
    assert_eq!(e.message, "row is too big: size 9040, maximum size 8152");
    // Own inserts are visible from the next command on.
    assert_eq!(scan_all(&h, &mut owner, &oracle(10, 1, &[])).len(), 2);
    assert_eq!(scan_all(&h, &mut owner, &oracle(10, 2, &[])).len(), 3);
    assert_eq!(scan_all(&h, &mut owner, &oracle(0, 0, &[])).len(), 0);

    // xid 20 deletes a.
    let v20 = oracle(20, 0, &[10]);
    assert_eq!(h.delete(&mut owner, &v20, a, 20, 0).unwrap(), Ok(()));
    let ids = |vis: &dyn Visibility, owner: &mut ResourceOwner| -> Vec<i32> {
        scan_all(&h, owner, vis).into_iter().map(|r| r.1).collect()
    };
    assert_eq!(ids(&oracle(20, 1, &[10]), &mut owner), vec![2, 3]);
    assert_eq!(ids(&oracle(30, 0, &[10]), &mut owner), vec![1, 2, 3]);
    // The same command again: SelfModified.
    let again = h.delete(&mut owner, &v20, a, 20, 0).unwrap().unwrap_err();
    assert_eq!(again.result, TmResult::SelfModified);
    // Another transaction while 20 runs: BeingModified, no wait.
    let v30 = oracle(30, 0, &[10]);
    let busy = h.delete(&mut owner, &v30, a, 30, 0).unwrap().unwrap_err();
    assert_eq!(busy.result, TmResult::BeingModified);
    assert_eq!(busy.xmax, 20);
    // 20 commits: Deleted (ctid is the tuple itself).
    let v30 = oracle(30, 0, &[10, 20]);
    let gone = h.delete(&mut owner, &v30, a, 30, 0).unwrap().unwrap_err();
    assert_eq!(gone.result, TmResult::Deleted);
    assert_eq!(gone.ctid, a);
    // An aborted deleter leaves the row deletable.
    let v40 = SetOracle {
        aborted: [20].into_iter().collect(),
        ..oracle(40, 0, &[10])
    };
    assert_eq!(h.delete(&mut owner, &v40, a, 40, 0).unwrap(), Ok(()));
    // Deleting what one cannot see is an error, not a TM_Result.
    let e = h
        .delete(&mut owner, &oracle(50, 0, &[]), b, 50, 0)
        .unwrap_err();
    assert_eq!(e.code, sqlstate::INTERNAL_ERROR);
    assert_eq!(e.message, "attempted to delete invisible tuple");

    // Updates of b: HOT on the same page, version chain by ctid.
    let v60 = oracle(60, 0, &[10, 20]);
    let b2 = match h.update(&mut owner, &v60, b, row(2, "b2"), 60, 0).unwrap() {
        UpdateOutcome::Updated { new, hot } => {
            assert!(hot);
            assert_eq!(new.block, b.block);
            new
        }
        o => panic!("{o:?}"),
    };
    let old = h
        .fetch(&mut owner, &oracle(70, 0, &[10, 20]), b)
        .unwrap()
        .unwrap();
    assert_eq!(heaptuple::ctid(&old), b2);
    assert_ne!(heaptuple::infomask2(&old) & heaptuple::HEAP_HOT_UPDATED, 0);
    let new = h
        .fetch(&mut owner, &oracle(70, 0, &[10, 20, 60]), b2)
        .unwrap()
        .unwrap();
    assert_ne!(heaptuple::infomask2(&new) & heaptuple::HEAP_ONLY_TUPLE, 0);
    assert_ne!(heaptuple::infomask(&new) & heaptuple::HEAP_UPDATED, 0);
    assert_eq!(unrow(&new), (2, "b2".into()));
    // Before 60 commits others see b, after it b2; never both.
    assert!(h
        .fetch(&mut owner, &oracle(70, 0, &[10, 20]), b2)
        .unwrap()
        .is_none());
    assert!(h
        .fetch(&mut owner, &oracle(70, 0, &[10, 20, 60]), b)
        .unwrap()
        .is_none());
    // A second updater of the old version: Updated, pointing at b2.
    let upd = match h
        .update(
            &mut owner,
            &oracle(70, 0, &[10, 20, 60]),
            b,
            row(2, "x"),
            70,
            0,
        )
        .unwrap()
    {
        UpdateOutcome::Failed(f) => f,
        o => panic!("{o:?}"),
    };
    assert_eq!(upd.result, TmResult::Updated);
    assert_eq!(upd.ctid, b2);
    // Fill the page so that the next update has to move: c's new version
    // is large and lands on another page (not HOT).
    let v80 = oracle(80, 0, &[10, 20, 60]);
    let mut filler = 0;
    while h.nblocks().unwrap() == 1 {
        h.insert(
            &mut owner,
            &v80,
            row(100 + filler, &payload(filler, 1000)),
            80,
            0,
        )
        .unwrap();
        filler += 1;
    }
    let v90 = oracle(90, 0, &[10, 20, 60, 80]);
    let c2 = match h
        .update(&mut owner, &v90, c, row(3, &payload(3, 3000)), 90, 0)
        .unwrap()
    {
        UpdateOutcome::Updated { new, hot } => {
            assert!(!hot);
            assert_ne!(new.block, c.block);
            new
        }
        o => panic!("{o:?}"),
    };
    let oldc = h
        .fetch(&mut owner, &oracle(95, 0, &[10, 80]), c)
        .unwrap()
        .unwrap();
    assert_eq!(heaptuple::ctid(&oldc), c2);
    assert_eq!(heaptuple::infomask2(&oldc) & heaptuple::HEAP_HOT_UPDATED, 0);
    // And once more (HOT on the new page): the chain is c → c2 → c3.
    let v91 = oracle(91, 0, &[10, 20, 60, 80, 90]);
    let c3 = match h.update(&mut owner, &v91, c2, row(3, "c3"), 91, 0).unwrap() {
        UpdateOutcome::Updated { new, .. } => new,
        o => panic!("{o:?}"),
    };
    assert_eq!(h.update_chain(&mut owner, c).unwrap(), vec![c, c2, c3]);
    assert_eq!(h.update_chain(&mut owner, b).unwrap(), vec![b, b2]);
    // What an index entry stands for (hot_search): the in-page HOT chain
    // from the entry's TID, never a link off the page (that version has
    // entries of its own), never a heap-only tuple named directly (a
    // recycled line pointer).
    let now = oracle(0, 0, &[10, 20, 40, 60, 80, 90, 91]);
    let visible = |h: &HeapRel, owner: &mut ResourceOwner, tid| {
        h.hot_search(owner, tid, &mut |_, t| Ok(now.visible(t).then_some(())))
            .unwrap()
            .map(|(at, ())| at)
    };
    assert_eq!(visible(&h, &mut owner, b), Some(b2), "b → b2 (HOT)");
    assert_eq!(visible(&h, &mut owner, b2), None, "b2 is heap-only");
    assert_eq!(visible(&h, &mut owner, c), None, "c → c2 left the page");
    assert_eq!(visible(&h, &mut owner, c2), Some(c3), "c2 → c3 (HOT)");
    let mut members = Vec::new();
    let none: Option<(ItemPointer, ())> = h
        .hot_search(&mut owner, b, &mut |at, _| {
            members.push(at);
            Ok(None)
        })
        .unwrap();
    assert_eq!((none, members), (None, vec![b, b2]));
    // CREATE INDEX's view of the same page: both versions of b under b's
    // TID, c under its own.
    let pin = mgr
        .read_buffer(&mut owner, REL, Fork::Main, b.block)
        .unwrap();
    let roots = hot_roots(mgr.lock(&pin, LwMode::Shared).page());
    mgr.release(&mut owner, pin);
    assert_eq!(roots[b.offset as usize], b.offset);
    assert_eq!(roots[b2.offset as usize], b.offset);
    assert_eq!(roots[c.offset as usize], c.offset);
    let all = [10, 20, 40, 60, 80, 90, 91];
    let rows = scan_all(&h, &mut owner, &oracle(0, 0, &all));
    let mut got: Vec<(i32, String)> = rows
        .into_iter()
        .filter(|r| r.1 < 100)
        .map(|r| (r.1, r.2))
        .collect();
    got.sort();
    assert_eq!(got, vec![(2, "b2".into()), (3, "c3".into())]);
    assert_eq!(sh.deletes.load(Ordering::SeqCst), 2);
    assert_eq!(sh.updates.load(Ordering::SeqCst), 3);
    // Scans keep one page pinned at most and give it back.
    let vis = oracle(0, 0, &all);
    let mut s = h.begin_scan(&vis).unwrap();
    s.next(&mut owner).unwrap().unwrap();
    assert_eq!(mgr.pinned_buffers(), 1);
    drop(s);
    // A scan dropped without end: the resource owner releases its pin.
    assert_eq!(owner.len(), 1);
    owner.release_all(Release::Abort);
    assert_eq!(mgr.pinned_buffers(), 0);
}

/// Four processes update every row of a relation (full pages, so the new
/// versions go to other pages) at once, none committing: for each row
/// exactly one update succeeds and the others get BeingModified, without
/// waiting and without deadlock. When all commit, a scan sees exactly the
/// winners' versions, each reached from the old TID through t_ctid.
fn concurrent_updates_have_one_winner_per_row() {
    const NBUF: usize = 16;
    const N: u32 = 4;
    // 28 full pages of seven rows.
    const R: i32 = 196;
    let w = World::new(NBUF);
    let sh = w.shared();
    let mgr = w.mgr(N);
    let ext = w.ext(N);
    let wal = CountingWal { sh };
    let h = HeapRel::new(REL, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    let v10 = oracle(10, 0, &[]);
    let tids: Vec<ItemPointer> = (0..R)
        .map(|i| {
            h.insert(&mut owner, &v10, row(i, &payload(i, 1000)), 10, 0)
                .unwrap()
        })
        .collect();
    let base_blocks = h.nblocks().unwrap();
    assert!(base_blocks as usize > NBUF, "{base_blocks} blocks");
    let mut kids = Children(Vec::new());
    for me in 0..N {
        let (w, tids) = (&w, &tids);
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(me);
            let ext = w.ext(me);
            let wal = CountingWal { sh };
            let h = HeapRel::new(REL, &mgr, &wal, &ext);
            let mut owner = ResourceOwner::default();
            let xid = 100 + me as Xid;
            let vis = oracle(xid, 0, &[10]);
            sh.started.fetch_add(1, Ordering::SeqCst);
            if !wait_for(&sh.started, N as u64, DEADLINE) {
                return 2;
            }
            for k in 0..R {
                let i = (k + me as i32 * R / N as i32) % R;
                let new = row(i, &payload(i + 1000 * (me as i32 + 1), 1000));
                match h.update(&mut owner, &vis, tids[i as usize], new, xid, 0) {
                    Ok(UpdateOutcome::Updated { hot: false, .. }) => {
                        if sh.winner[i as usize]
                            .compare_exchange(0, me as u64 + 1, Ordering::SeqCst, Ordering::SeqCst)
                            .is_err()
                        {
                            return 3;
                        }
                    }
                    Ok(UpdateOutcome::Failed(f))
                        if f.result == TmResult::BeingModified && f.xmax != xid => {}
                    _ => return 4,
                }
            }
            if mgr.pinned_buffers() != 0 || !owner.is_empty() {
                return 5;
            }
            0
        }));
    }
    assert_eq!(kids.wait_all(DEADLINE), vec![0; N as usize]);
    let winners: Vec<u64> = (0..R as usize)
        .map(|i| sh.winner[i].load(Ordering::SeqCst))
        .collect();
    assert!(winners.iter().all(|&x| x >= 1), "every row updated once");
    assert_eq!(sh.updates.load(Ordering::SeqCst), R as u64);
    let all = oracle(0, 0, &[10, 100, 101, 102, 103]);
    let rows = scan_all(&h, &mut owner, &all);
    assert_eq!(rows.len(), R as usize);
    let mut seen = HashSet::new();
    for (tid, id, p) in &rows {
        assert!(seen.insert(*id));
        let me = winners[*id as usize] as i32;
        assert_eq!(*p, payload(*id + 1000 * me, 1000));
        assert!(tid.block >= base_blocks, "new versions on new pages");
        let chain = h.update_chain(&mut owner, tids[*id as usize]).unwrap();
        assert_eq!(chain, vec![tids[*id as usize], *tid]);
    }
    // Before anyone commits, others still see the original rows only.
    let before = scan_all(&h, &mut owner, &oracle(0, 0, &[10]));
    assert_eq!(before.len(), R as usize);
    assert!(before.iter().all(|(t, id, _)| *t == tids[*id as usize]));
    assert_eq!(mgr.pinned_buffers(), 0);
}

/// Rows of ~1 kB: seven fill a page.
fn fill_one_page(h: &HeapRel, owner: &mut ResourceOwner) -> Vec<ItemPointer> {
    let v = oracle(10, 0, &[]);
    let tids: Vec<ItemPointer> = (0..7)
        .map(|i| {
            h.insert(owner, &v, row(i, &payload(i, 1000)), 10, 0)
                .unwrap()
        })
        .collect();
    assert!(tids.iter().all(|t| t.block == 0));
    assert_eq!(h.nblocks().unwrap(), 1);
    tids
}

/// A full page whose rows were deleted accepts inserts again once the
/// horizon passes the deleter (pruning on insert); while the horizon does
/// not, nothing is removed and an old snapshot still reads every row.
fn pruning_reclaims_space_but_keeps_what_the_horizon_needs() {
    let w = World::new(16);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let wal = CountingWal { sh };
    let mut owner = ResourceOwner::default();
    for (rel, horizon) in [(REL, 21), (REL2, 15)] {
        let h = HeapRel::new(rel, &mgr, &wal, &ext);
        let tids = fill_one_page(&h, &mut owner);
        let v20 = oracle(20, 0, &[10]);
        for &t in &tids[..6] {
            assert_eq!(h.delete(&mut owner, &v20, t, 20, 0).unwrap(), Ok(()));
        }
        let vis = SetOracle {
            horizon,
            ..oracle(30, 0, &[10, 20])
        };
        let tid = h
            .insert(&mut owner, &vis, row(99, &payload(99, 1000)), 30, 0)
            .unwrap();
        let old_snapshot = oracle(0, 0, &[10]);
        if horizon > 20 {
            assert_eq!(tid.block, 0, "the pruned page took the row");
            assert_eq!(h.nblocks().unwrap(), 1);
            assert_eq!(sh.prunes.load(Ordering::SeqCst), 1);
            let pin = mgr.read_buffer(&mut owner, rel, Fork::Main, 0).unwrap();
            {
                let l = mgr.lock(&pin, LwMode::Shared);
                for t in &tids[..6] {
                    let id = page::item_id(l.page(), t.offset).unwrap();
                    assert!(id.flags == LP_DEAD || tid.offset == t.offset, "{id:?}");
                }
                assert_eq!(heaptuple::page_prune_xid(l.page()), 0);
            }
            mgr.release(&mut owner, pin);
            let seen = scan_all(&h, &mut owner, &old_snapshot);
            assert_eq!(seen.len(), 1, "deleted rows are gone");
        } else {
            assert_eq!(tid.block, 1, "nothing could be pruned: extended");
            let seen = scan_all(&h, &mut owner, &old_snapshot);
            assert_eq!(seen.len(), 7, "the old snapshot still sees every row");
            for (t, id, p) in seen {
                assert_eq!(p, payload(id, 1000), "{t:?}");
            }
            let st = h.prune_page(&mut owner, &vis, 0).unwrap();
            assert_eq!(st.removed, 0);
        }
    }
    // Rows of an aborted inserter are dead at once, whatever the horizon.
    let h = HeapRel::new(REL2, &mgr, &wal, &ext);
    let t = h
        .insert(&mut owner, &oracle(40, 0, &[]), row(5, "aborted"), 40, 0)
        .unwrap();
    let vis = SetOracle {
        aborted: [40].into_iter().collect(),
        ..oracle(0, 0, &[10, 20])
    };
    assert_eq!(h.prune_page(&mut owner, &vis, t.block).unwrap().removed, 1);
    let pin = mgr
        .read_buffer(&mut owner, REL2, Fork::Main, t.block)
        .unwrap();
    assert_eq!(
        page::item_id(mgr.lock(&pin, LwMode::Shared).page(), t.offset)
            .unwrap()
            .flags,
        LP_DEAD
    );
    mgr.release(&mut owner, pin);
    assert_eq!(mgr.pinned_buffers(), 0);
}

/// A HOT chain pruned step by step as the horizon advances: the root
/// becomes a redirect to the oldest version still needed, removed members
/// become unused, the chain stays reachable from the root TID, and a
/// deleted chain leaves only a dead root.
fn pruning_shortens_hot_chains() {
    let w = World::new(16);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let wal = CountingWal { sh };
    let h = HeapRel::new(REL, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    let root = h
        .insert(&mut owner, &oracle(10, 0, &[]), row(1, "v1"), 10, 0)
        .unwrap();
    let keep = h
        .insert(&mut owner, &oracle(10, 0, &[]), row(2, "keep"), 10, 0)
        .unwrap();
    let mut versions = vec![root];
    let mut committed = vec![10];
    for (i, xid) in [11, 12, 13].into_iter().enumerate() {
        let v = oracle(xid, 0, &committed);
        let cur = *versions.last().unwrap();
        match h
            .update(&mut owner, &v, cur, row(1, &format!("v{}", i + 2)), xid, 0)
            .unwrap()
        {
            UpdateOutcome::Updated { new, hot: true } => versions.push(new),
            o => panic!("{o:?}"),
        }
        committed.push(xid);
    }
    let lp = |mgr: &BufMgr, owner: &mut ResourceOwner, off: u16| {
        let pin = mgr.read_buffer(owner, REL, Fork::Main, 0).unwrap();
        let id = page::item_id(mgr.lock(&pin, LwMode::Shared).page(), off).unwrap();
        mgr.release(owner, pin);
        id
    };
    // Horizon 13: v1 and v2 (deleted by 11, 12) are dead, v3 (deleted by
    // 13) is recently dead.
    let vis = SetOracle {
        horizon: 13,
        ..oracle(0, 0, &committed)
    };
    let st = h.prune_page(&mut owner, &vis, 0).unwrap();
    assert_eq!(st.removed, 2);
    let r = lp(&mgr, &mut owner, root.offset);
    assert_eq!((r.flags, r.off), (LP_REDIRECT, versions[2].offset));
    assert_eq!(lp(&mgr, &mut owner, versions[1].offset).flags, LP_UNUSED);
    assert_eq!(
        h.update_chain(&mut owner, root).unwrap(),
        vec![versions[2], versions[3]]
    );
    // A snapshot from before 13 committed still reads v3.
    let t = h
        .fetch(&mut owner, &oracle(0, 0, &[10, 11, 12]), versions[2])
        .unwrap()
        .unwrap();
    assert_eq!(unrow(&t).1, "v3");
    // Horizon 14: v3 goes too.
    let vis = SetOracle {
        horizon: 14,
        ..oracle(0, 0, &committed)
    };
    assert_eq!(h.prune_page(&mut owner, &vis, 0).unwrap().removed, 1);
    let r = lp(&mgr, &mut owner, root.offset);
    assert_eq!((r.flags, r.off), (LP_REDIRECT, versions[3].offset));
    assert_eq!(lp(&mgr, &mut owner, versions[2].offset).flags, LP_UNUSED);
    // The newest version deleted and pruned: a dead root, nothing else.
    assert_eq!(
        h.delete(&mut owner, &oracle(14, 0, &committed), versions[3], 14, 0)
            .unwrap(),
        Ok(())
    );
    committed.push(14);
    let vis = SetOracle {
        horizon: 15,
        ..oracle(0, 0, &committed)
    };
    assert_eq!(h.prune_page(&mut owner, &vis, 0).unwrap().removed, 1);
    assert_eq!(lp(&mgr, &mut owner, root.offset).flags, LP_DEAD);
    assert_eq!(lp(&mgr, &mut owner, versions[3].offset).flags, LP_UNUSED);
    let rows = scan_all(&h, &mut owner, &vis);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].0, rows[0].1), (keep, 2));
    // The freed line pointers are reused by the next insert.
    let again = h.insert(&mut owner, &vis, row(3, "new"), 20, 0).unwrap();
    assert!(
        versions[1..].iter().any(|v| v.offset == again.offset),
        "{again:?}"
    );
    assert_eq!(mgr.pinned_buffers(), 0);
}

/// A damaged page is ERROR XX001 from the scan, never rows: a checksum
/// failure (data_checksums on), and with checksums off a line pointer
/// pointing outside the item area.
fn damaged_pages_are_data_corrupted_errors() {
    let w = World::new(16);
    let sh = w.shared();
    let wal = CountingWal { sh };
    let ext = w.ext(0);
    for checksums in [true, false] {
        let mgr = w.mgr_with(0, checksums);
        let h = HeapRel::new(REL, &mgr, &wal, &ext);
        let mut owner = ResourceOwner::default();
        let rel = REL;
        if checksums {
            let v = oracle(10, 0, &[]);
            for i in 0..20 {
                h.insert(&mut owner, &v, row(i, &payload(i, 100)), 10, 0)
                    .unwrap();
            }
        }
        mgr.flush_all_dirty(&mut owner).unwrap();
        mgr.drop_relation_buffers(rel, Fork::Main, 0);
        let mut md = w.md();
        let mut p = [0u8; BLCKSZ];
        md.read(rel, Fork::Main, 0, &mut p).unwrap();
        if checksums {
            p[6000] ^= 0x10;
        } else {
            // Line pointer 2: lp_off 8190, lp_len 100, normal.
            let word: u32 = 8190 | (1 << 15) | (100 << 17);
            p[28..32].copy_from_slice(&word.to_le_bytes());
            page::set_checksum(&mut p, 0);
        }
        md.write(rel, Fork::Main, 0, &p).unwrap();
        let vis = oracle(0, 0, &[10]);
        let mut s = h.begin_scan(&vis).unwrap();
        let e = s.next(&mut owner).unwrap_err();
        assert_eq!(e.code, sqlstate::DATA_CORRUPTED, "{e:?}");
        if checksums {
            assert_eq!(
                e.message,
                "invalid page in block 0 of relation base/5/16384"
            );
        } else {
            assert_eq!(
                e.message,
                "corrupted line pointer: offset = 8190, size = 100"
            );
        }
        s.end(&mut owner);
        assert_eq!(mgr.pinned_buffers(), 0);
        if checksums {
            // Put the good page back for the next round.
            p[6000] ^= 0x10;
            md.write(rel, Fork::Main, 0, &p).unwrap();
        }
    }
}

fn main() {
    let tests: &[(&str, fn())] = &[
        (
            "concurrent_inserts_into_a_relation_larger_than_the_pool",
            concurrent_inserts_into_a_relation_larger_than_the_pool,
        ),
        (
            "delete_update_and_update_chains",
            delete_update_and_update_chains,
        ),
        (
            "concurrent_updates_have_one_winner_per_row",
            concurrent_updates_have_one_winner_per_row,
        ),
        (
            "pruning_reclaims_space_but_keeps_what_the_horizon_needs",
            pruning_reclaims_space_but_keeps_what_the_horizon_needs,
        ),
        ("pruning_shortens_hot_chains", pruning_shortens_hot_chains),
        (
            "damaged_pages_are_data_corrupted_errors",
            damaged_pages_are_data_corrupted_errors,
        ),
    ];
    support::run(tests);
}
