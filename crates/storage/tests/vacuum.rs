//! VACUUM and the free-space map on the real buffer manager: a table updated over and over by concurrent processes stays bounded when vacuumed, inserts from several processes reuse the space vacuum freed, empty end pages are cut off (WAL first, only with the relation lock free), an old snapshot keeps its rows, truncation survives crashes, and VACUUM FULL's rewrite keeps what snapshots need.
//!
//! Why a test binary with `harness = false`: as tests/heapam.rs, children
//! do what backends do (allocate, open files), which is unsafe in a child
//! forked from libtest's threads; `main` runs the tests one after another
//! in one thread, each with its own region, semaphores and directory,
//! removed — and its children killed and reaped by PID — even when it
//! fails (tests/support). Visibility is the committed-set oracle
//! ([`SetOracle`]); WAL is a counter in shared memory plus, for the
//! truncation records, a log the test can replay. Run one test with
//! `cargo test -p tusk-storage --test vacuum -- NAME`.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tusk_common::error::PgError;
use tusk_common::sqlstate;
use tusk_storage::bufmgr::{BufMgr, WalFlusher};
use tusk_storage::fsm;
use tusk_storage::heapam::*;
use tusk_storage::heaptuple::{self, Align, Attr, Datum, ItemPointer};
use tusk_storage::lwlock::{LwLock, LwMode, LwWaiter};
use tusk_storage::page::{self, PageBuf};
use tusk_storage::smgr::{
    BlockNumber, CrashMode, FaultSmgr, Fork, Md, RelFileLocator, SharedSmgr, Smgr,
    DEFAULTTABLESPACE_OID,
};
use tusk_storage::vacuum::*;
use tusk_storage::xact::ResourceOwner;
use tusk_storage::xlog::XlogError;

#[allow(dead_code)]
mod support;
use support::{fork_child, refcounts, wait_for, Children, Procs, SharedState, MAX_PROCS, REL};

const REL2: RelFileLocator = RelFileLocator {
    spc: DEFAULTTABLESPACE_OID,
    db: 5,
    rel: 16385,
};
const DEADLINE: Duration = Duration::from_secs(180);
const ATTRS: [Attr; 2] = [Attr::fixed(4, Align::Int, true), Attr::varlena(Align::Int)];
/// The "exclusive" bit of the test's relation lock word.
const EXCL: u64 = 1 << 63;

#[repr(C)]
struct Shared {
    lsn: AtomicU64,
    prunes: AtomicU64,
    truncates: AtomicU64,
    new_pages: AtomicU64,
    started: AtomicU64,
    done: AtomicU64,
    /// Per child: rounds finished (its xids of those rounds are committed).
    round: [AtomicU64; 4],
    /// The relation lock: writers count in the low bits, VACUUM's
    /// truncation sets EXCL (the roles of RowExclusive and
    /// AccessExclusive).
    rel_lock: AtomicU64,
    /// Largest relation size seen by the vacuuming process.
    max_pages: AtomicU64,
    vacuums: AtomicU64,
    /// Rounds every child had finished when the last vacuum pass began.
    vacuumed: AtomicU64,
    /// Blocks cut off by all vacuum passes.
    truncated: AtomicU64,
    ext: LwLock,
    waiters: [LwWaiter; MAX_PROCS],
}

// SAFETY: all zero is valid for the atomics and waiters, and as a value
// for the LWLock, which `init` initialises.
unsafe impl SharedState for Shared {
    fn init(&self) {
        self.ext.init();
    }
    fn waiters(&self) -> &[LwWaiter; MAX_PROCS] {
        &self.waiters
    }
}

type World = support::World<Shared>;

impl World {
    fn mgr(&self, me: u32) -> BufMgr {
        self.bufmgr(me, Box::new(self.md()), Box::new(NoWal), true)
    }
    fn ext(&self, me: u32) -> ExtLock {
        ExtLock {
            sh: self.shared(),
            procs: self.procs(),
            me,
        }
    }
}

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

struct NoWal;
impl WalFlusher for NoWal {
    fn flush_upto(&self, _lsn: u64) -> Result<(), XlogError> {
        Ok(())
    }
}

/// Heap and vacuum WAL: a shared LSN counter; truncation records are kept
/// in `log` (this process) for replay, together with the main fork's
/// length at the moment of logging (to check WAL-first order).
struct TestWal {
    sh: &'static Shared,
    log: RefCell<Vec<(RelFileLocator, BlockNumber, BlockNumber)>>,
    /// Where the file's length is read when a truncation is logged.
    mgr: Option<BufMgr>,
    /// Fail after logging: the process "dies" between the WAL flush and
    /// the file's truncation.
    die_after_log: bool,
}

impl TestWal {
    fn new(sh: &'static Shared) -> TestWal {
        TestWal {
            sh,
            log: RefCell::new(Vec::new()),
            mgr: None,
            die_after_log: false,
        }
    }
    fn next(&self, c: &AtomicU64) -> Lsn {
        c.fetch_add(1, Ordering::SeqCst);
        0x1000 + self.sh.lsn.fetch_add(64, Ordering::SeqCst) + 64
    }
}

impl HeapWal for TestWal {
    fn log_heap_insert(
        &self,
        _: RelFileLocator,
        _: &PageBuf,
        _: ItemPointer,
        _: bool,
        _: &[u8],
    ) -> Lsn {
        self.next(&self.sh.lsn)
    }
    fn log_heap_delete(
        &self,
        _: RelFileLocator,
        _: &PageBuf,
        _: ItemPointer,
        _: Xid,
        _: u16,
    ) -> Lsn {
        self.next(&self.sh.lsn)
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
        self.next(&self.sh.lsn)
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

impl VacuumWal for TestWal {
    fn log_truncate(&self, rel: RelFileLocator, nblocks: BlockNumber) -> Result<Lsn, PgError> {
        let len = match &self.mgr {
            Some(m) => m.smgr().nblocks(rel, Fork::Main)?,
            None => BlockNumber::MAX,
        };
        self.log.borrow_mut().push((rel, nblocks, len));
        let lsn = self.next(&self.sh.truncates);
        if self.die_after_log {
            return Err(PgError::error(sqlstate::IO_ERROR, "simulated death"));
        }
        Ok(lsn)
    }
    fn log_new_page(&self, _: RelFileLocator, _: Fork, _: BlockNumber, _: &PageBuf) -> Lsn {
        self.next(&self.sh.new_pages)
    }
}

/// The test's relation lock (see [`Shared::rel_lock`]).
struct TestRelLock {
    sh: &'static Shared,
}

impl TestRelLock {
    /// A writer's lock: waits while truncation holds the relation.
    fn lock_shared(&self) {
        loop {
            let w = self.sh.rel_lock.load(Ordering::SeqCst);
            if w & EXCL == 0
                && self
                    .sh
                    .rel_lock
                    .compare_exchange(w, w + 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                return;
            }
            // SAFETY: plain system call.
            unsafe { libc::sched_yield() };
        }
    }
    fn unlock_shared(&self) {
        self.sh.rel_lock.fetch_sub(1, Ordering::SeqCst);
    }
}

impl TruncateLock for TestRelLock {
    fn try_lock(&self, _: &mut ResourceOwner, _: RelFileLocator) -> Result<bool, PgError> {
        Ok(self
            .sh
            .rel_lock
            .compare_exchange(0, EXCL, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok())
    }
    fn unlock(&self, _: &mut ResourceOwner, _: RelFileLocator) {
        self.sh.rel_lock.fetch_and(!EXCL, Ordering::SeqCst);
    }
}

fn row(id: i32, len: usize) -> Vec<u8> {
    let mut s = format!("row {id}:");
    while s.len() < len {
        s.push((b'a' + ((s.len() + id as usize) % 26) as u8) as char);
    }
    heaptuple::form_tuple(
        &ATTRS,
        &[
            Some(Datum::ByVal(id as u32 as u64)),
            Some(Datum::Ref(s.as_bytes())),
        ],
    )
    .unwrap()
}

fn id_of(t: &[u8]) -> i32 {
    match heaptuple::deform_tuple(t, &ATTRS).unwrap()[0] {
        Some(Datum::ByVal(x)) => x as u32 as i32,
        ref o => panic!("id {o:?}"),
    }
}

fn oracle(me: Xid, committed: &[Xid], horizon: Xid) -> SetOracle {
    SetOracle {
        committed: committed.iter().copied().collect(),
        me,
        horizon,
        ..SetOracle::default()
    }
}

/// (tid, id) of every row `vis` sees.
fn scan(h: &HeapRel, owner: &mut ResourceOwner, vis: &dyn Visibility) -> Vec<(ItemPointer, i32)> {
    let mut s = h.begin_scan(vis).unwrap();
    let mut out = Vec::new();
    while let Some((tid, t)) = s.next(owner).unwrap() {
        out.push((tid, id_of(&t)));
    }
    s.end(owner);
    out
}

fn sorted_ids(rows: &[(ItemPointer, i32)]) -> Vec<i32> {
    let mut v: Vec<i32> = rows.iter().map(|r| r.1).collect();
    v.sort();
    v
}

/// Inserts rows `ids` of `len` bytes as xid 10 (committed by the caller's
/// oracles); returns their TIDs.
fn load(
    h: &HeapRel,
    owner: &mut ResourceOwner,
    ids: std::ops::Range<i32>,
    len: usize,
) -> Vec<ItemPointer> {
    let v = oracle(10, &[], 0);
    ids.map(|i| h.insert(owner, &v, row(i, len), 10, 0).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------

/// The test: two processes update every row of their half of a
/// table round after round (each round a new transaction; no opportunistic
/// pruning, their horizon is 0) while a third vacuums over and over with
/// the horizon the children's progress allows; a round starts only after
/// a vacuum pass that began once the previous round was done (VACUUM in
/// between), though passes also run while the children update. The table stays within a
/// small multiple of its first size; the same workload without VACUUM
/// grows with every round. Afterwards every row has its last version.
fn repeated_updates_stay_bounded_with_vacuum() {
    const K: u64 = 2;
    const R: i32 = 200;
    const ROUNDS: u64 = 30;
    const LEN: usize = 150;
    let xid = |c: u64, r: u64| 1000 + r * K + c;
    let mut figures = Vec::new();
    for with_vacuum in [true, false] {
        let w = World::new(32);
        let sh = w.shared();
        let mgr = w.mgr(3);
        let ext = w.ext(3);
        let wal = TestWal::new(sh);
        let h = HeapRel::new(REL, &mgr, &wal, &ext);
        let mut owner = ResourceOwner::default();
        let tids = load(&h, &mut owner, 0..R, LEN);
        let first = h.nblocks().unwrap();
        let mut kids = Children(Vec::new());
        for c in 0..K {
            let (w, tids) = (&w, &tids);
            kids.0.push(fork_child(move || {
                let mgr = w.mgr(c as u32);
                let ext = w.ext(c as u32);
                let wal = TestWal::new(sh);
                let h = HeapRel::new(REL, &mgr, &wal, &ext);
                let lock = TestRelLock { sh };
                let mut owner = ResourceOwner::default();
                let mine: Vec<usize> = (0..R as usize).filter(|i| *i as u64 % K == c).collect();
                let mut cur: Vec<ItemPointer> = mine.iter().map(|&i| tids[i]).collect();
                let mut committed = vec![10];
                sh.started.fetch_add(1, Ordering::SeqCst);
                if !wait_for(&sh.started, K, DEADLINE) {
                    return 2;
                }
                for r in 0..ROUNDS {
                    // VACUUM in between: wait for a pass that began after
                    // every child finished the previous round.
                    if with_vacuum && r > 0 && !wait_for(&sh.vacuumed, r, DEADLINE) {
                        return 6;
                    }
                    let x = xid(c, r);
                    let vis = oracle(x, &committed, 0);
                    lock.lock_shared();
                    for (k, &i) in mine.iter().enumerate() {
                        match h.update(&mut owner, &vis, cur[k], row(i as i32, LEN), x, 0) {
                            Ok(UpdateOutcome::Updated { new, .. }) => cur[k] = new,
                            _ => {
                                lock.unlock_shared();
                                return 3;
                            }
                        }
                    }
                    lock.unlock_shared();
                    committed.push(x);
                    sh.round[c as usize].store(r + 1, Ordering::SeqCst);
                }
                if mgr.pinned_buffers() != 0 || !owner.is_empty() {
                    return 4;
                }
                sh.done.fetch_add(1, Ordering::SeqCst);
                0
            }));
        }
        // The vacuuming process.
        if with_vacuum {
            let w = &w;
            kids.0.push(fork_child(move || {
                let mgr = w.mgr(2);
                let ext = w.ext(2);
                let wal = TestWal::new(sh);
                let h = HeapRel::new(REL, &mgr, &wal, &ext);
                let lock = TestRelLock { sh };
                let mut owner = ResourceOwner::default();
                loop {
                    let finished = sh.done.load(Ordering::SeqCst) == K;
                    let rounds: Vec<u64> = (0..K)
                        .map(|c| sh.round[c as usize].load(Ordering::SeqCst))
                        .collect();
                    let mut committed = vec![10];
                    for c in 0..K {
                        committed.extend((0..rounds[c as usize]).map(|r| xid(c, r)));
                    }
                    let horizon = (0..K).map(|c| xid(c, rounds[c as usize])).min().unwrap();
                    let vis = oracle(0, &committed, horizon);
                    if vacuum_heap(&mut owner, &h, &vis, &wal, &lock).is_err() {
                        return 5;
                    }
                    sh.vacuums.fetch_add(1, Ordering::SeqCst);
                    sh.vacuumed
                        .fetch_max(*rounds.iter().min().unwrap(), Ordering::SeqCst);
                    sh.max_pages
                        .fetch_max(h.nblocks().unwrap() as u64, Ordering::SeqCst);
                    if finished {
                        break;
                    }
                }
                if mgr.pinned_buffers() != 0 {
                    return 6;
                }
                0
            }));
        }
        assert!(kids.wait_all(DEADLINE).iter().all(|&c| c == 0));
        let all: Vec<Xid> = (0..K)
            .flat_map(|c| (0..ROUNDS).map(move |r| xid(c, r)))
            .chain([10])
            .collect();
        let vis = oracle(0, &all, u64::MAX);
        let rows = scan(&h, &mut owner, &vis);
        assert_eq!(sorted_ids(&rows), (0..R).collect::<Vec<_>>());
        let end = h.nblocks().unwrap();
        figures.push((with_vacuum, first, end, sh.max_pages.load(Ordering::SeqCst)));
        if with_vacuum {
            let max = sh.max_pages.load(Ordering::SeqCst) as u32;
            assert!(sh.vacuums.load(Ordering::SeqCst) >= 2);
            assert!(
                max <= 4 * first,
                "vacuumed table grew from {first} to {max} pages"
            );
            // A last vacuum with no snapshot left: one version per row,
            // in at most the two generations' worth of pages the rounds
            // needed (end pages are cut only when empty).
            let st = vacuum_heap(&mut owner, &h, &vis, &wal, &TestRelLock { sh }).unwrap();
            assert_eq!(st.tuples_recently_dead, 0);
            assert_eq!(st.tuples_remaining, R as u64);
            assert!(st.pages_remaining <= 3 * first, "{st:?}");
        } else {
            assert!(
                end >= 10 * first,
                "without VACUUM the table grows: {first} -> {end} pages"
            );
        }
        assert_eq!(refcounts(&w.pool), vec![0; 32]);
    }
    println!("pages (vacuum, first, end, max seen by vacuum): {figures:?}");
}

/// After VACUUM, inserts by two processes go into the pages it freed (found
/// through the map, not as their target block): the relation does not
/// grow. A wrong hint costs a retry and is corrected.
fn inserts_reuse_space_freed_by_vacuum() {
    let w = World::new(16);
    let sh = w.shared();
    let mgr = w.mgr(3);
    let ext = w.ext(3);
    let wal = TestWal::new(sh);
    let h = HeapRel::new(REL, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    // 12 pages of seven 1 kB rows.
    let tids = load(&h, &mut owner, 0..84, 1000);
    assert_eq!(h.nblocks().unwrap(), 12);
    // Delete the rows of pages 2..=5.
    let v20 = oracle(20, &[10], 0);
    let mut deleted = 0;
    for t in &tids {
        if (2..=5).contains(&t.block) {
            assert_eq!(h.delete(&mut owner, &v20, *t, 20, 0).unwrap(), Ok(()));
            deleted += 1;
        }
    }
    // A snapshot still running when 20 committed: nothing can go yet.
    let vis = oracle(0, &[10, 20], 20);
    let st = vacuum_heap(&mut owner, &h, &vis, &wal, &TestRelLock { sh }).unwrap();
    assert_eq!(st.tuples_removed, 0);
    assert_eq!(st.tuples_recently_dead, deleted);
    let fsm = h.fsm();
    let full = |c: u8| fsm::cat_to_avail(c) < 1040;
    assert!(full(fsm.category(&mut owner, 3).unwrap()));
    // Horizon past 20: the four pages become empty and recorded free.
    let vis = oracle(0, &[10, 20], 21);
    let st = vacuum_heap(&mut owner, &h, &vis, &wal, &TestRelLock { sh }).unwrap();
    assert_eq!(st.pages_scanned, 12);
    assert_eq!(st.tuples_removed, deleted);
    assert_eq!(st.dead_items_freed, deleted);
    assert_eq!(st.tuples_remaining, 84 - deleted);
    assert_eq!(st.pages_truncated, 0, "the empty pages are not at the end");
    for b in 0..12 {
        let c = fsm.category(&mut owner, b).unwrap();
        if (2..=5).contains(&b) {
            // Empty but for its seven unused line pointers.
            assert_eq!(c, fsm::avail_to_cat(8192 - 24 - 8 * 4), "block {b}");
        } else {
            assert!(full(c), "block {b}: {c}");
        }
    }
    // A wrong hint: block 0 (full) claims to be empty. The first insert
    // tries it, records what it saw, and goes on.
    fsm.record(&mut owner, 0, 8000).unwrap();
    // Two processes insert 28 rows at once: all land on blocks 2..=5.
    let mut kids = Children(Vec::new());
    for c in 0..2u32 {
        let w = &w;
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(c);
            let ext = w.ext(c);
            let wal = TestWal::new(sh);
            let h = HeapRel::new(REL, &mgr, &wal, &ext);
            let mut owner = ResourceOwner::default();
            let x = 30 + c as Xid;
            let vis = oracle(x, &[10, 20], 21);
            sh.started.fetch_add(1, Ordering::SeqCst);
            if !wait_for(&sh.started, 2, DEADLINE) {
                return 2;
            }
            for i in 0..14 {
                let id = 1000 + c as i32 * 100 + i;
                match h.insert(&mut owner, &vis, row(id, 1000), x, 0) {
                    Ok(t) if (2..=5).contains(&t.block) => {}
                    _ => return 3,
                }
            }
            0
        }));
    }
    assert_eq!(kids.wait_all(DEADLINE), vec![0, 0]);
    assert_eq!(
        h.nblocks().unwrap(),
        12,
        "no extension: the freed space was used"
    );
    assert!(
        full(fsm.category(&mut owner, 0).unwrap()),
        "the wrong hint was corrected"
    );
    let vis = oracle(0, &[10, 20, 30, 31], 21);
    assert_eq!(scan(&h, &mut owner, &vis).len(), 84);
    assert_eq!(mgr.pinned_buffers(), 0);
}

/// Empty pages at the end are cut off, WAL record first; with the
/// relation lock taken they stay (and are recorded free); the map shrinks
/// with the heap; the rows before the cut are intact.
fn vacuum_truncates_empty_end_pages() {
    let w = World::new(16);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let mut wal = TestWal::new(sh);
    wal.mgr = Some(mgr.clone());
    let h = HeapRel::new(REL, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    let tids = load(&h, &mut owner, 0..70, 1000);
    assert_eq!(h.nblocks().unwrap(), 10);
    let v20 = oracle(20, &[10], 0);
    for t in tids.iter().filter(|t| t.block >= 6) {
        h.delete(&mut owner, &v20, *t, 20, 0).unwrap().unwrap();
    }
    let vis = oracle(0, &[10, 20], 21);
    // Someone holds the relation: no truncation, no waiting.
    sh.rel_lock.store(1, Ordering::SeqCst);
    let st = vacuum_heap(&mut owner, &h, &vis, &wal, &TestRelLock { sh }).unwrap();
    assert!(st.truncate_skipped);
    assert_eq!((st.pages_truncated, st.pages_remaining), (0, 10));
    assert_eq!(h.nblocks().unwrap(), 10);
    assert!(wal.log.borrow().is_empty());
    assert!(h.fsm().category(&mut owner, 9).unwrap() > 200);
    sh.rel_lock.store(0, Ordering::SeqCst);
    let st = vacuum_heap(&mut owner, &h, &vis, &wal, &TestRelLock { sh }).unwrap();
    assert!(!st.truncate_skipped);
    assert_eq!((st.pages_truncated, st.pages_remaining), (4, 6));
    // PostgreSQL 15 prints the same line for the same table and deletes.
    assert_eq!(
        st.verbose_lines()[0],
        "pages: 4 removed, 6 remain, 10 scanned (100.00% of total)"
    );
    assert_eq!(h.nblocks().unwrap(), 6);
    assert_eq!(mgr.smgr().nblocks(REL, Fork::Main).unwrap(), 6);
    // Logged before the file was cut (it still had 10 blocks then).
    assert_eq!(*wal.log.borrow(), vec![(REL, 6, 10)]);
    assert_eq!(sh.rel_lock.load(Ordering::SeqCst), 0, "lock given back");
    // The map forgets the cut blocks.
    assert_eq!(h.fsm().category(&mut owner, 9).unwrap(), 0);
    assert_eq!(
        sorted_ids(&scan(&h, &mut owner, &vis)),
        (0..42).collect::<Vec<_>>()
    );
    // Nothing to cut: no record.
    vacuum_heap(&mut owner, &h, &vis, &wal, &TestRelLock { sh }).unwrap();
    assert_eq!(wal.log.borrow().len(), 1);
    // The relation grows again normally.
    let t = h
        .insert(
            &mut owner,
            &oracle(40, &[10, 20], 21),
            row(500, 1000),
            40,
            0,
        )
        .unwrap();
    assert!(t.block <= 6);
    assert_eq!(mgr.pinned_buffers(), 0);
}

/// A row deleted by a transaction that an older snapshot (in another
/// process) does not see as committed is kept by VACUUM, and that process
/// still reads it afterwards; once the horizon passes the deleter it goes.
fn an_old_snapshot_keeps_its_rows() {
    let w = World::new(16);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let wal = TestWal::new(sh);
    let h = HeapRel::new(REL, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    let tids = load(&h, &mut owner, 0..20, 100);
    let mut kids = Children(Vec::new());
    {
        let w = &w;
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(1);
            let ext = w.ext(1);
            let wal = TestWal::new(sh);
            let h = HeapRel::new(REL, &mgr, &wal, &ext);
            let mut owner = ResourceOwner::default();
            // Its snapshot: 10 committed, 20 not yet.
            let snap = oracle(0, &[10], 0);
            sh.started.store(1, Ordering::SeqCst);
            if !wait_for(&sh.started, 2, DEADLINE) {
                return 2;
            }
            if scan(&h, &mut owner, &snap).len() != 20 {
                return 3;
            }
            0
        }));
    }
    assert!(wait_for(&sh.started, 1, DEADLINE));
    let v20 = oracle(20, &[10], 0);
    for t in &tids[..10] {
        h.delete(&mut owner, &v20, *t, 20, 0).unwrap().unwrap();
    }
    // 20 committed, but the child's snapshot makes the horizon 20.
    let vis = oracle(0, &[10, 20], 20);
    let st = vacuum_heap(&mut owner, &h, &vis, &wal, &TestRelLock { sh }).unwrap();
    assert_eq!(st.tuples_removed, 0);
    assert_eq!(st.tuples_recently_dead, 10);
    sh.started.store(2, Ordering::SeqCst);
    assert_eq!(kids.wait_all(DEADLINE), vec![0]);
    // The snapshot is gone: the horizon passes 20.
    let vis = oracle(0, &[10, 20], 21);
    let st = vacuum_heap(&mut owner, &h, &vis, &wal, &TestRelLock { sh }).unwrap();
    assert_eq!(st.tuples_removed, 10);
    assert_eq!(scan(&h, &mut owner, &oracle(0, &[10], 0)).len(), 10);
}

/// The fault layer shared between the buffer manager (which owns a boxed
/// smgr) and the test (which crashes it).
type Faulty = SharedSmgr<FaultSmgr<Md>>;

/// Truncation across crashes (FaultSmgr): (a) the process dies after the
/// truncate record is flushed but before the file is cut — redo cuts it;
/// (b) after a completed truncation, redo of older records re-extends the
/// file (as heap redo does for a block beyond the end) and the truncate
/// record cuts it again; (c) map pages are not WAL-logged, so nothing
/// repairs a damaged one: it reads as empty, never as an error, and
/// inserts go on. Rows before the cut survive every case. (FaultSmgr takes
/// ftruncate as durable on return, as PostgreSQL does after logging it.)
fn truncation_survives_crashes() {
    for case in ["dies after log", "redo re-extends", "map damaged"] {
        let w = World::new(16);
        let sh = w.shared();
        let fault = SharedSmgr(Rc::new(RefCell::new(FaultSmgr::new(w.md()))));
        let mk = |fault: &Faulty| w.bufmgr(0, Box::new(fault.clone()), Box::new(NoWal), true);
        let mgr = mk(&fault);
        let ext = w.ext(0);
        let mut wal = TestWal::new(sh);
        wal.die_after_log = case == "dies after log";
        let mut owner = ResourceOwner::default();
        let vis = oracle(0, &[10, 20], 21);
        {
            let h = HeapRel::new(REL, &mgr, &wal, &ext);
            let tids = load(&h, &mut owner, 0..70, 1000);
            let v20 = oracle(20, &[10], 0);
            for t in tids.iter().filter(|t| t.block >= 6) {
                h.delete(&mut owner, &v20, *t, 20, 0).unwrap().unwrap();
            }
            // A checkpoint: everything so far is durable.
            mgr.flush_all_dirty(&mut owner).unwrap();
            let r = vacuum_heap(&mut owner, &h, &vis, &wal, &TestRelLock { sh });
            match case {
                "dies after log" => {
                    let e = r.unwrap_err();
                    assert_eq!(e.message, "simulated death");
                    assert_eq!(h.nblocks().unwrap(), 10, "the file was not cut");
                }
                _ => assert_eq!(r.unwrap().pages_remaining, 6),
            }
            assert_eq!(wal.log.borrow().len(), 1);
        }
        // Power cut; the pool is gone with the processes.
        drop(mgr);
        fault.0.borrow_mut().crash(CrashMode::LoseUnsynced).unwrap();
        if case == "map damaged" {
            // A torn write or a bad sector: the slots no longer match the
            // checksum of the map page (written at the checkpoint).
            let mut f = fault.0.borrow_mut();
            let mut raw = [0u8; page::BLCKSZ];
            f.read(REL, Fork::Fsm, 0, &mut raw).unwrap();
            assert!(page::verify(&raw, 0, true).is_ok());
            raw[40] ^= 0x5a;
            f.write(REL, Fork::Fsm, 0, &raw).unwrap();
            assert!(page::verify(&raw, 0, true).is_err());
        }
        let w2 = World::new(16);
        let mgr = w2.bufmgr(0, Box::new(fault.clone()), Box::new(NoWal), true);
        let ext = w2.ext(0);
        // Redo.
        if case == "redo re-extends" {
            mgr.extend_to(REL, Fork::Main, 9).unwrap();
            assert_eq!(mgr.smgr().nblocks(REL, Fork::Main).unwrap(), 9);
        }
        for &(rel, n, _) in wal.log.borrow().iter() {
            redo_truncate(&mut owner, &mgr, &ext, rel, n).unwrap();
            // Replaying twice changes nothing.
            redo_truncate(&mut owner, &mgr, &ext, rel, n).unwrap();
        }
        let wal2 = TestWal::new(w2.shared());
        let h = HeapRel::new(REL, &mgr, &wal2, &ext);
        assert_eq!(h.nblocks().unwrap(), 6, "{case}");
        assert_eq!(
            sorted_ids(&scan(&h, &mut owner, &vis)),
            (0..42).collect::<Vec<_>>(),
            "{case}"
        );
        // The map after the crash is a hint at most: reading it is no
        // error, and an insert still lands somewhere valid.
        for b in 0..6 {
            h.fsm().category(&mut owner, b).unwrap();
        }
        let t = h
            .insert(&mut owner, &oracle(40, &[10, 20], 21), row(99, 1000), 40, 0)
            .unwrap();
        assert!(t.block <= 6, "{case}: {t:?}");
        let st = vacuum_heap(
            &mut owner,
            &h,
            &oracle(0, &[10, 20, 40], 41),
            &wal2,
            &TestRelLock { sh: w2.shared() },
        )
        .unwrap();
        assert_eq!(st.tuples_remaining, 43, "{case}");
        assert_eq!(mgr.pinned_buffers(), 0);
        drop(w);
    }
}

/// VACUUM FULL's rewrite: live rows and rows an old snapshot still needs
/// are copied (headers intact), dead ones are not; every snapshot sees the
/// same rows in the new relation as in the old; an update chain that a
/// snapshot may follow keeps its t_ctid link to the new TID; the new
/// relation is smaller and every page was logged whole.
fn rewrite_copies_what_snapshots_need() {
    let w = World::new(16);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let wal = TestWal::new(sh);
    let src = HeapRel::new(REL, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    let tids = load(&src, &mut owner, 0..70, 1000);
    // 20 deletes rows 0..30 (dead at horizon 25); 30 deletes 30..40 and
    // updates 40..45 (recently dead: horizon 25 < 30).
    let v20 = oracle(20, &[10], 0);
    for t in &tids[..30] {
        src.delete(&mut owner, &v20, *t, 20, 0).unwrap().unwrap();
    }
    let v30 = oracle(30, &[10, 20], 0);
    for t in &tids[30..40] {
        src.delete(&mut owner, &v30, *t, 30, 0).unwrap().unwrap();
    }
    let mut updated = Vec::new();
    for (i, t) in tids[40..45].iter().enumerate() {
        match src
            .update(&mut owner, &v30, *t, row(40 + i as i32, 1000), 30, 0)
            .unwrap()
        {
            UpdateOutcome::Updated { new, .. } => updated.push(new),
            o => panic!("{o:?}"),
        }
    }
    let vis = oracle(0, &[10, 20, 30], 25);
    let dst = HeapRel::new(REL2, &mgr, &wal, &ext);
    let st = rewrite_heap(&mut owner, &src, &dst, &vis, &wal).unwrap();
    assert_eq!(st.tuples_removed, 30);
    assert_eq!(st.tuples_recently_dead, 15);
    assert_eq!(st.tuples_copied, 40 + 5);
    assert_eq!(st.pages_written, dst.nblocks().unwrap());
    assert_eq!(sh.new_pages.load(Ordering::SeqCst), st.pages_written as u64);
    assert!(st.pages_written < src.nblocks().unwrap());
    // Every snapshot sees the same rows in both.
    for snap in [
        oracle(0, &[10], 0),
        oracle(0, &[10, 20], 0),
        oracle(0, &[10, 20, 30], 0),
    ] {
        let a = sorted_ids(&scan(&src, &mut owner, &snap));
        let b = sorted_ids(&scan(&dst, &mut owner, &snap));
        if snap.committed.contains(&20) {
            assert_eq!(a, b);
        } else {
            // Rows 0..30 were dead for every running snapshot; one from
            // before 20 cannot exist at horizon 25.
            assert_eq!(b, (30..70).collect::<Vec<_>>());
        }
    }
    // The old versions of rows 40..45 still link to their new versions.
    let before30 = oracle(0, &[10, 20], 0);
    let mut chains = 0;
    for (tid, id) in scan(&dst, &mut owner, &before30) {
        if (40..45).contains(&id) {
            let chain = dst.update_chain(&mut owner, tid).unwrap();
            assert_eq!(chain.len(), 2, "row {id}: {chain:?}");
            let newest = dst
                .fetch(&mut owner, &oracle(0, &[10, 20, 30], 0), chain[1])
                .unwrap()
                .expect("the new version");
            assert_eq!(id_of(&newest), id);
            chains += 1;
        }
    }
    assert_eq!(chains, 5);
    // Headers are copied: xmin of a surviving row is still 10.
    let (tid, _) = scan(&dst, &mut owner, &vis)[0];
    let t = dst.fetch(&mut owner, &vis, tid).unwrap().unwrap();
    assert_eq!(heaptuple::xmin(&t), 10);
    // A non-empty target is refused.
    let e = rewrite_heap(&mut owner, &src, &dst, &vis, &wal).unwrap_err();
    assert_eq!(e.code, sqlstate::INTERNAL_ERROR);
    // Redo of the logged pages rebuilds the relation elsewhere.
    let rel3 = RelFileLocator { rel: 16386, ..REL2 };
    for b in 0..dst.nblocks().unwrap() {
        let pin = mgr.read_buffer(&mut owner, REL2, Fork::Main, b).unwrap();
        let img: Box<PageBuf> = Box::new(*mgr.lock(&pin, LwMode::Shared).page());
        mgr.release(&mut owner, pin);
        redo_new_page(&mut owner, &mgr, rel3, Fork::Main, b, &img, page::lsn(&img)).unwrap();
    }
    let copy = HeapRel::new(rel3, &mgr, &wal, &ext);
    assert_eq!(
        sorted_ids(&scan(&copy, &mut owner, &vis)),
        sorted_ids(&scan(&dst, &mut owner, &vis))
    );
    let _ = HashSet::<i32>::new();
    assert_eq!(mgr.pinned_buffers(), 0);
}

/// The map over several map pages (heap blocks past 8160 and 16320,
/// recorded without a heap that large): categories round down, a search
/// returns the first block that fits, below the heap length it is given;
/// a map page's upper bound lets a search skip it and is lowered to the
/// exact maximum once a whole-page search finds nothing; truncation clears
/// the slots past the end and drops whole map pages.
fn free_space_map_pages_and_bounds() {
    let w = World::new(16);
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let mut owner = ResourceOwner::default();
    let f = fsm::Fsm::new(REL, &mgr, &ext);
    assert_eq!(f.npages().unwrap(), 0);
    assert_eq!(f.search(&mut owner, 100, 20_000).unwrap(), None);
    // Recording "no room" for a block whose map page is absent adds none.
    f.record(&mut owner, 9000, 10).unwrap();
    assert_eq!(f.npages().unwrap(), 0);
    f.record(&mut owner, 9000, 1000).unwrap();
    f.record(&mut owner, 17_000, 5000).unwrap();
    assert_eq!(f.npages().unwrap(), 3);
    assert_eq!(f.category(&mut owner, 9000).unwrap(), (1000 / 32) as u8);
    assert_eq!(f.search(&mut owner, 992, 20_000).unwrap(), Some(9000));
    assert_eq!(f.search(&mut owner, 993, 20_000).unwrap(), Some(17_000));
    // Not beyond the heap length the caller gives.
    assert_eq!(f.search(&mut owner, 993, 17_000).unwrap(), None);
    assert_eq!(f.search(&mut owner, 6000, 20_000).unwrap(), None);
    let max_of = |mgr: &BufMgr, owner: &mut ResourceOwner, p: BlockNumber| {
        let pin = mgr.read_buffer(owner, REL, Fork::Fsm, p).unwrap();
        let m = mgr.lock(&pin, LwMode::Shared).page()[fsm::MAX_OFFSET];
        mgr.release(owner, pin);
        m
    };
    // Block 9000 fills up: map page 1's bound stays high until a search
    // scans the page in vain, then it is exact (0).
    f.record(&mut owner, 9000, 0).unwrap();
    assert_eq!(max_of(&mgr, &mut owner, 1), (1000 / 32) as u8);
    assert_eq!(f.search(&mut owner, 100, 20_000).unwrap(), Some(17_000));
    assert_eq!(max_of(&mgr, &mut owner, 1), 0);
    assert_eq!(max_of(&mgr, &mut owner, 2), (5000 / 32) as u8);
    // Truncating the heap to 16_500 blocks: slots from there cleared, the
    // third map page kept (it covers 16_320..); to 16_320: dropped.
    f.truncate(&mut owner, 16_500).unwrap();
    assert_eq!(f.npages().unwrap(), 3);
    assert_eq!(f.category(&mut owner, 17_000).unwrap(), 0);
    assert_eq!(max_of(&mgr, &mut owner, 2), 0);
    f.record(&mut owner, 16_400, 3000).unwrap();
    f.truncate(&mut owner, 16_320).unwrap();
    assert_eq!(f.npages().unwrap(), 2);
    assert_eq!(f.search(&mut owner, 100, 20_000).unwrap(), None);
    assert_eq!(mgr.pinned_buffers(), 0);
}

/// No row is lost or resurrected when VACUUM cuts the relation while
/// others write: two processes each insert a batch per round and delete
/// their previous batch, holding the relation lock for the round, while a
/// third vacuums (truncating when it gets the lock between rounds). The
/// map sends new batches into freed pages, so end pages empty out and are
/// cut; at the end exactly the last batches are there.
fn truncation_while_others_write_loses_nothing() {
    const K: u64 = 2;
    const BATCH: i32 = 40;
    const ROUNDS: u64 = 12;
    const LEN: usize = 500;
    let xid = |c: u64, r: u64| 1000 + r * K + c;
    let id = |c: u64, r: u64, i: i32| (c as i32 * 100_000) + r as i32 * 1000 + i;
    let w = World::new(32);
    let sh = w.shared();
    let mut kids = Children(Vec::new());
    for c in 0..K {
        let w = &w;
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(c as u32);
            let ext = w.ext(c as u32);
            let wal = TestWal::new(sh);
            let h = HeapRel::new(REL, &mgr, &wal, &ext);
            let lock = TestRelLock { sh };
            let mut owner = ResourceOwner::default();
            let mut committed = vec![];
            let mut prev: Vec<ItemPointer> = Vec::new();
            for r in 0..ROUNDS {
                if r > 0 && !wait_for(&sh.vacuumed, r, DEADLINE) {
                    return 2;
                }
                let x = xid(c, r);
                let vis = oracle(x, &committed, 0);
                lock.lock_shared();
                let mut ok = true;
                for t in &prev {
                    ok &= matches!(h.delete(&mut owner, &vis, *t, x, 0), Ok(Ok(())));
                }
                let mut now = Vec::new();
                for i in 0..BATCH {
                    match h.insert(&mut owner, &vis, row(id(c, r, i), LEN), x, 0) {
                        Ok(t) => now.push(t),
                        Err(_) => ok = false,
                    }
                }
                lock.unlock_shared();
                if !ok {
                    return 3;
                }
                prev = now;
                committed.push(x);
                sh.round[c as usize].store(r + 1, Ordering::SeqCst);
            }
            sh.done.fetch_add(1, Ordering::SeqCst);
            0
        }));
    }
    {
        let w = &w;
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(2);
            let ext = w.ext(2);
            let wal = TestWal::new(sh);
            let h = HeapRel::new(REL, &mgr, &wal, &ext);
            let lock = TestRelLock { sh };
            let mut owner = ResourceOwner::default();
            loop {
                let finished = sh.done.load(Ordering::SeqCst) == K;
                let rounds: Vec<u64> = (0..K)
                    .map(|c| sh.round[c as usize].load(Ordering::SeqCst))
                    .collect();
                let mut committed = vec![];
                for c in 0..K {
                    committed.extend((0..rounds[c as usize]).map(|r| xid(c, r)));
                }
                let horizon = (0..K).map(|c| xid(c, rounds[c as usize])).min().unwrap();
                let vis = oracle(0, &committed, horizon);
                match vacuum_heap(&mut owner, &h, &vis, &wal, &lock) {
                    Ok(st) => {
                        sh.truncated
                            .fetch_add(st.pages_truncated as u64, Ordering::SeqCst);
                    }
                    Err(_) => return 5,
                }
                sh.vacuumed
                    .fetch_max(*rounds.iter().min().unwrap(), Ordering::SeqCst);
                if finished {
                    break;
                }
            }
            0
        }));
    }
    assert!(kids.wait_all(DEADLINE).iter().all(|&c| c == 0));
    let mgr = w.mgr(3);
    let ext = w.ext(3);
    let wal = TestWal::new(sh);
    let h = HeapRel::new(REL, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    let all: Vec<Xid> = (0..K)
        .flat_map(|c| (0..ROUNDS).map(move |r| xid(c, r)))
        .collect();
    let rows = scan(&h, &mut owner, &oracle(0, &all, u64::MAX));
    let mut want: Vec<i32> = (0..K)
        .flat_map(|c| (0..BATCH).map(move |i| id(c, ROUNDS - 1, i)))
        .collect();
    want.sort();
    assert_eq!(sorted_ids(&rows), want);
    let truncated = sh.truncated.load(Ordering::SeqCst);
    let n = h.nblocks().unwrap();
    println!("blocks at the end: {n}, cut off over the run: {truncated}");
    // The writers wait between rounds for a vacuum pass, whose truncation
    // then finds the lock free: the end pages emptied by the deletes go.
    assert!(truncated > 0);
    // Two batches of 40 rows of ~540 bytes: about 6 pages live; the
    // relation stays near that because freed pages are reused and cut.
    assert!(n <= 16, "{n} blocks");
    assert_eq!(refcounts(&w.pool), vec![0; 32]);
}

/// CLUSTER's rewrite: the tuples land in the order the rank gives their
/// old TIDs (here the reverse of the row ids), dead ones are dropped,
/// and an update chain a snapshot may follow keeps its link whatever
/// the order puts first.
fn ordered_rewrite_places_tuples_by_rank() {
    let w = World::new(16);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let wal = TestWal::new(sh);
    let src = HeapRel::new(REL, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    let tids = load(&src, &mut owner, 0..40, 300);
    let v20 = oracle(20, &[10], 0);
    for t in &tids[..5] {
        src.delete(&mut owner, &v20, *t, 20, 0).unwrap().unwrap();
    }
    // Row 10 updated by 30, which the horizon does not pass: both
    // versions are copied and stay linked.
    let v30 = oracle(30, &[10, 20], 0);
    let new10 = match src
        .update(&mut owner, &v30, tids[10], row(10, 300), 30, 0)
        .unwrap()
    {
        UpdateOutcome::Updated { new, .. } => new,
        o => panic!("{o:?}"),
    };
    let vis = oracle(0, &[10, 20, 30], 25);
    // Rank: descending row id; the new version of row 10 just after the
    // old one in that order.
    let mut rank_of = std::collections::HashMap::new();
    for (i, t) in tids.iter().enumerate() {
        rank_of.insert((t.block, t.offset), (1000 - 10 * i) as u64);
    }
    rank_of.insert((new10.block, new10.offset), (1000 - 10 * 10 + 1) as u64);
    let order = |t: ItemPointer| rank_of[&(t.block, t.offset)];
    let dst = HeapRel::new(REL2, &mgr, &wal, &ext);
    let st = rewrite_heap_ordered(&mut owner, &src, &dst, &vis, &wal, Some(&order)).unwrap();
    assert_eq!(st.tuples_removed, 5);
    assert_eq!(st.tuples_copied, 36);
    let now = oracle(0, &[10, 20, 30], 0);
    let ids: Vec<i32> = scan(&dst, &mut owner, &now)
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(ids, (5..40).rev().collect::<Vec<_>>());
    let before30 = oracle(0, &[10, 20], 0);
    let (old10, _) = scan(&dst, &mut owner, &before30)
        .into_iter()
        .find(|(_, id)| *id == 10)
        .expect("row 10 before the update");
    assert_eq!(dst.update_chain(&mut owner, old10).unwrap().len(), 2);
    assert_eq!(mgr.pinned_buffers(), 0);
}

fn main() {
    let tests: &[(&str, fn())] = &[
        (
            "ordered_rewrite_places_tuples_by_rank",
            ordered_rewrite_places_tuples_by_rank,
        ),
        (
            "repeated_updates_stay_bounded_with_vacuum",
            repeated_updates_stay_bounded_with_vacuum,
        ),
        (
            "free_space_map_pages_and_bounds",
            free_space_map_pages_and_bounds,
        ),
        (
            "inserts_reuse_space_freed_by_vacuum",
            inserts_reuse_space_freed_by_vacuum,
        ),
        (
            "vacuum_truncates_empty_end_pages",
            vacuum_truncates_empty_end_pages,
        ),
        (
            "truncation_while_others_write_loses_nothing",
            truncation_while_others_write_loses_nothing,
        ),
        (
            "an_old_snapshot_keeps_its_rows",
            an_old_snapshot_keeps_its_rows,
        ),
        ("truncation_survives_crashes", truncation_survives_crashes),
        (
            "rewrite_copies_what_snapshots_need",
            rewrite_copies_what_snapshots_need,
        ),
    ];
    support::run(tests);
}
