//! B-tree indexes on the real buffer manager: 100k random inserts then every key found and range scans in order, forked inserters splitting pages concurrently, the unique check, bulk build against incremental inserts, and damaged pages; with throughput figures in release mode.
//!
//! Why a test binary of its own with `harness = false` (as tests/heapam.rs):
//! children do what a backend does (allocate, open files, keep a resource
//! owner), which is unsafe in a child forked from libtest's threads. `main`
//! runs the tests one after another in one thread; each builds its own
//! region, semaphore set and data directory and removes them — and kills
//! and reaps its children by PID — even when it fails (tests/support).
//! WAL is a counter in shared memory (crash recovery through the real WAL
//! is tests/nbtree_wal.rs). The pools are small, so pages are evicted and
//! read back during the tests. Every test ends with
//! [`BtreeRel::verify`] (levels, links, order, downlinks).
//!
//! Run one test with `cargo test -p tusk-storage --test nbtree -- NAME`;
//! the figures with `cargo test --release -p tusk-storage --test nbtree --
//! throughput`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tusk_common::error::PgError;
use tusk_common::sqlstate;
use tusk_storage::bufmgr::{BufMgr, WalFlusher};
use tusk_storage::heapam::{ExtensionLock, Lsn};
use tusk_storage::heaptuple::ItemPointer;
use tusk_storage::lwlock::{LwLock, LwMode, LwWaiter};
use tusk_storage::nbtree::*;
use tusk_storage::page::PageBuf;
use tusk_storage::smgr::{Fork, RelFileLocator, Smgr};
use tusk_storage::xact::{Release, ResourceOwner};
use tusk_storage::xlog::XlogError;
use tusk_types::value::Value;

#[allow(dead_code)]
mod support;
use support::{fork_child, refcounts, wait_for, Children, Procs, SharedState, MAX_PROCS, REL};

const DEADLINE: Duration = Duration::from_secs(300);

#[repr(C)]
struct Shared {
    lsn: AtomicU64,
    records: AtomicU64,
    splits: AtomicU64,
    started: AtomicU64,
    /// Successful inserts of the concurrent unique test.
    wins: AtomicU64,
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

type World = support::World<Shared>;

struct FakeFlush;
impl WalFlusher for FakeFlush {
    fn flush_upto(&self, _: u64) -> Result<(), XlogError> {
        Ok(())
    }
}

/// The B-tree's WAL: each record advances a shared LSN; splits counted.
struct CountingWal {
    sh: &'static Shared,
}
impl BtreeWal for CountingWal {
    fn log_btree(&self, _: RelFileLocator, info: u8, _: Vec<u8>, _: Vec<BtBlock<'_>>) -> Lsn {
        self.sh.records.fetch_add(1, Ordering::SeqCst);
        if info == XLOG_BTREE_SPLIT_L || info == XLOG_BTREE_NEWROOT {
            self.sh.splits.fetch_add(1, Ordering::SeqCst);
        }
        0x1000 + self.sh.lsn.fetch_add(64, Ordering::SeqCst) + 64
    }
    fn log_create(&self, _: RelFileLocator) -> Lsn {
        0x1000 + self.sh.lsn.fetch_add(64, Ordering::SeqCst) + 64
    }
}

struct ExtLock {
    sh: &'static Shared,
    procs: Procs,
    me: u32,
}
impl ExtensionLock for ExtLock {
    fn lock(&self, _: RelFileLocator) {
        self.sh.ext.acquire(&self.procs, self.me, LwMode::Exclusive);
    }
    fn unlock(&self, _: RelFileLocator) {
        self.sh.ext.release(&self.procs);
    }
}

impl World {
    fn mgr(&self, me: u32) -> BufMgr {
        self.bufmgr(me, Box::new(self.md()), Box::new(FakeFlush), true)
    }
    fn ext(&self, me: u32) -> ExtLock {
        ExtLock {
            sh: self.shared(),
            procs: self.procs(),
            me,
        }
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn int_cols() -> Vec<KeyColumn> {
    vec![KeyColumn {
        name: "a".into(),
        ty: KeyType::Int4,
    }]
}

/// A distinct heap TID for key `k`.
fn tid_of(k: i64) -> ItemPointer {
    ItemPointer {
        block: (k as u64 / 100) as u32,
        offset: (k as u64 % 100) as u16 + 1,
    }
}

/// A random permutation of 0..n.
fn shuffled(n: i32, seed: u64) -> Vec<i32> {
    let mut v: Vec<i32> = (0..n).collect();
    let mut r = Rng(seed | 1);
    for i in (1..v.len()).rev() {
        let j = (r.next() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

fn scan_all(
    idx: &BtreeRel<'_>,
    owner: &mut ResourceOwner,
    lower: Option<(Vec<Value>, bool)>,
    upper: Option<(Vec<Value>, bool)>,
) -> Vec<(ItemPointer, Vec<Value>)> {
    let mut s = idx.scan(owner, lower, upper).unwrap();
    let mut out = Vec::new();
    while let Some(e) = s.next(owner).unwrap() {
        out.push(e);
    }
    out
}

fn scan_back(
    idx: &BtreeRel<'_>,
    owner: &mut ResourceOwner,
    lower: Option<(Vec<Value>, bool)>,
    upper: Option<(Vec<Value>, bool)>,
) -> Vec<(ItemPointer, Vec<Value>)> {
    let mut s = idx.scan_backward(owner, lower, upper).unwrap();
    let mut out = Vec::new();
    while let Some(e) = s.next(owner).unwrap() {
        out.push(e);
    }
    out
}

fn int_keys(v: &[(ItemPointer, Vec<Value>)]) -> Vec<i32> {
    v.iter()
        .map(|(_, k)| match k[0] {
            Value::Int4(i) => i,
            ref o => panic!("key {o:?}"),
        })
        .collect()
}

/// 100k keys in random order through a 64-buffer pool, then: every key
/// found by an equality scan at its TID, a full scan in order, range scans
/// with inclusive and exclusive bounds, and a consistent tree.
fn random_inserts_then_every_key_found() {
    const N: i32 = 100_000;
    let w = World::new(64);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let wal = CountingWal { sh };
    let idx = BtreeRel::new(REL, "t_a_idx", int_cols(), false, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    idx.create(&mut owner).unwrap();
    for k in shuffled(N, 7) {
        assert_eq!(
            idx.insert(&mut owner, &[Value::Int4(k)], tid_of(k as i64), None)
                .unwrap(),
            InsertOutcome::Inserted
        );
    }
    let st = idx.verify(&mut owner).unwrap();
    assert_eq!(st.leaf_tuples, N as u64);
    assert!(st.root_level >= 2, "{st:?}");
    assert!(sh.splits.load(Ordering::SeqCst) > 300);
    for k in 0..N {
        let e = scan_all(
            &idx,
            &mut owner,
            Some((vec![Value::Int4(k)], true)),
            Some((vec![Value::Int4(k)], true)),
        );
        assert_eq!(e.len(), 1, "key {k}");
        assert_eq!(e[0].0, tid_of(k as i64));
    }
    let all = scan_all(&idx, &mut owner, None, None);
    assert_eq!(int_keys(&all), (0..N).collect::<Vec<_>>());
    let r = scan_all(
        &idx,
        &mut owner,
        Some((vec![Value::Int4(500)], false)),
        Some((vec![Value::Int4(40_000)], true)),
    );
    assert_eq!(int_keys(&r), (501..=40_000).collect::<Vec<_>>());
    let r = scan_all(&idx, &mut owner, None, Some((vec![Value::Int4(10)], false)));
    assert_eq!(int_keys(&r), (0..10).collect::<Vec<_>>());
    // Backward: the same entries, last first.
    let mut back = scan_back(&idx, &mut owner, None, None);
    back.reverse();
    assert_eq!(back, all);
    let r = scan_back(
        &idx,
        &mut owner,
        Some((vec![Value::Int4(500)], false)),
        Some((vec![Value::Int4(40_000)], true)),
    );
    assert_eq!(int_keys(&r), (501..=40_000).rev().collect::<Vec<_>>());
    let r = scan_back(
        &idx,
        &mut owner,
        Some((vec![Value::Int4(7)], true)),
        Some((vec![Value::Int4(9)], false)),
    );
    assert_eq!(int_keys(&r), vec![8, 7]);
    let r = scan_all(
        &idx,
        &mut owner,
        Some((vec![Value::Int4(N - 3)], true)),
        None,
    );
    assert_eq!(int_keys(&r), (N - 3..N).collect::<Vec<_>>());
    // Missing keys find nothing.
    for k in [-1, N, N + 100] {
        let e = scan_all(
            &idx,
            &mut owner,
            Some((vec![Value::Int4(k)], true)),
            Some((vec![Value::Int4(k)], true)),
        );
        assert!(e.is_empty());
    }
    assert_eq!(mgr.pinned_buffers(), 0);
    assert!(owner.is_empty());
    owner.release_all(Release::Commit);
}

/// VACUUM's bulk delete: entries whose heap TIDs are dead go from every
/// leaf of a multi-level tree (duplicates of one key across pages
/// included), the rest stay findable in order, the tree stays
/// consistent, and inserting after it still works.
fn bulk_delete_removes_exactly_the_dead_tids() {
    const N: i32 = 20_000;
    let w = World::new(64);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let wal = CountingWal { sh };
    let idx = BtreeRel::new(REL, "t_a_idx", int_cols(), false, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    idx.create(&mut owner).unwrap();
    for k in shuffled(N, 11) {
        idx.insert(&mut owner, &[Value::Int4(k)], tid_of(k as i64), None)
            .unwrap();
    }
    // 2,000 duplicates of key -1 spread over several leaves.
    for d in 0..2_000i64 {
        idx.insert(&mut owner, &[Value::Int4(-1)], tid_of(N as i64 + d), None)
            .unwrap();
    }
    // Every third key's TID and every other duplicate are dead (tid_of's
    // inverse gives the number a TID was made from).
    let is_dead = |t: ItemPointer| {
        let k = t.block as i64 * 100 + t.offset as i64 - 1;
        (k < N as i64 && k % 3 == 0) || (k >= N as i64 && k % 2 == 0)
    };
    let removed = idx.bulk_delete(&mut owner, &is_dead).unwrap();
    let want_removed = (0..N as i64).filter(|k| k % 3 == 0).count()
        + (N as i64..N as i64 + 2_000).filter(|k| k % 2 == 0).count();
    assert_eq!(removed, want_removed as u64);
    let st = idx.verify(&mut owner).unwrap();
    assert_eq!(st.leaf_tuples, (N as u64 + 2_000) - removed);
    let all = scan_all(&idx, &mut owner, None, None);
    assert!(all.iter().all(|(t, _)| !is_dead(*t)));
    let live: Vec<i32> = (0..N).filter(|k| k % 3 != 0).collect();
    let dups = all.iter().filter(|(_, v)| v[0] == Value::Int4(-1)).count();
    assert_eq!(dups, 1_000);
    assert_eq!(
        int_keys(&all)
            .into_iter()
            .filter(|&k| k >= 0)
            .collect::<Vec<_>>(),
        live
    );
    // A second pass finds nothing more; new entries go in as before.
    assert_eq!(idx.bulk_delete(&mut owner, &is_dead).unwrap(), 0);
    idx.insert(&mut owner, &[Value::Int4(3)], tid_of(3), None)
        .unwrap();
    let e = scan_all(
        &idx,
        &mut owner,
        Some((vec![Value::Int4(3)], true)),
        Some((vec![Value::Int4(3)], true)),
    );
    assert_eq!(e.len(), 1);
    assert_eq!(mgr.pinned_buffers(), 0);
    owner.release_all(Release::Commit);
}

/// Duplicates of one key and multi-column text keys: equal keys kept in
/// TID order across pages, prefix scans on the first column.
fn duplicates_and_multicolumn_keys() {
    let w = World::new(32);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let wal = CountingWal { sh };
    let cols = vec![
        KeyColumn {
            name: "g".into(),
            ty: KeyType::Text,
        },
        KeyColumn {
            name: "n".into(),
            ty: KeyType::Int8,
        },
    ];
    let idx = BtreeRel::new(REL, "t_g_n_idx", cols, false, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    idx.create(&mut owner).unwrap();
    let groups = ["alpha", "beta", "gamma", "Zeta"];
    let order = shuffled(8000, 3);
    for &i in &order {
        let g = groups[i as usize % 4];
        // Many rows share (g, n / 40): long runs of equal keys.
        let v = vec![
            Value::Text(g.repeat(1 + i as usize % 3)),
            Value::Int8(i as i64 / 40),
        ];
        idx.insert(&mut owner, &v, tid_of(i as i64), None).unwrap();
    }
    // NULLs sort last.
    idx.insert(&mut owner, &[Value::Null, Value::Null], tid_of(9000), None)
        .unwrap();
    idx.insert(
        &mut owner,
        &[Value::Text("beta".into()), Value::Null],
        tid_of(9001),
        None,
    )
    .unwrap();
    let st = idx.verify(&mut owner).unwrap();
    assert_eq!(st.leaf_tuples, 8002);
    let all = scan_all(&idx, &mut owner, None, None);
    for w2 in all.windows(2) {
        let (a, b) = (&w2[0], &w2[1]);
        let o = tusk_types::value::compare(&a.1[0], &b.1[0])
            .then(tusk_types::value::compare(&a.1[1], &b.1[1]))
            .then((a.0.block, a.0.offset).cmp(&(b.0.block, b.0.offset)));
        assert_eq!(o, std::cmp::Ordering::Less, "{a:?} {b:?}");
    }
    // "C" order: "Zeta" < "alpha".
    assert_eq!(all[0].1[0], Value::Text("Zeta".into()));
    assert_eq!(all.last().unwrap().1[0], Value::Null);
    // A prefix scan: every row of group "beta" (exactly that text).
    let b = scan_all(
        &idx,
        &mut owner,
        Some((vec![Value::Text("beta".into())], true)),
        Some((vec![Value::Text("beta".into())], true)),
    );
    assert_eq!(b.len(), 8000 / 4 / 3 + 1, "{}", b.len());
    assert!(b.iter().all(|e| e.1[0] == Value::Text("beta".into())));
    assert_eq!(b.last().unwrap().1[1], Value::Null);
    // Equal (g, n) runs come back in TID order.
    let run = scan_all(
        &idx,
        &mut owner,
        Some((vec![Value::Text("alpha".into()), Value::Int8(4)], true)),
        Some((vec![Value::Text("alpha".into()), Value::Int8(4)], true)),
    );
    assert!(!run.is_empty());
    let mut bb = scan_back(
        &idx,
        &mut owner,
        Some((vec![Value::Text("beta".into())], true)),
        Some((vec![Value::Text("beta".into())], true)),
    );
    bb.reverse();
    assert_eq!(bb, b);
    let mut ab = scan_back(&idx, &mut owner, None, None);
    ab.reverse();
    assert_eq!(ab, all);
    // Keys of the largest size allowed (2704 bytes): pages of two or
    // three items still split, at every level.
    let big = BtreeRel::new(
        RelFileLocator {
            rel: REL.rel + 1,
            ..REL
        },
        "big",
        vec![KeyColumn {
            name: "t".into(),
            ty: KeyType::Text,
        }],
        false,
        &mgr,
        &wal,
        &ext,
    );
    big.create(&mut owner).unwrap();
    let text = |i: i32| format!("{:06}{}", i, "z".repeat(2692 - 6));
    for i in shuffled(300, 9) {
        big.insert(&mut owner, &[Value::Text(text(i))], tid_of(i as i64), None)
            .unwrap();
    }
    let e = big
        .insert(&mut owner, &[Value::Text(text(1) + "!")], tid_of(1), None)
        .unwrap_err();
    assert_eq!(e.code, sqlstate::PROGRAM_LIMIT_EXCEEDED);
    let st = big.verify(&mut owner).unwrap();
    assert_eq!(st.leaf_tuples, 300);
    assert!(st.root_level >= 2, "{st:?}");
    let got: Vec<Value> = scan_all(&big, &mut owner, None, None)
        .into_iter()
        .map(|e| e.1[0].clone())
        .collect();
    assert_eq!(
        got,
        (0..300).map(|i| Value::Text(text(i))).collect::<Vec<_>>()
    );
    assert!(run
        .windows(2)
        .all(|w| (w[0].0.block, w[0].0.offset) < (w[1].0.block, w[1].0.offset)));
    owner.release_all(Release::Commit);
}

/// Four forked processes insert interleaved keys into one index (a pool
/// of 32 buffers, so splits, root splits and evictions race); then every
/// key is found exactly once, in order, and the tree is consistent.
fn concurrent_inserters_split_pages() {
    const P: u32 = 4;
    const M: i32 = 6000;
    let w = World::new(32);
    let sh = w.shared();
    {
        let mgr = w.mgr(P);
        let ext = w.ext(P);
        let wal = CountingWal { sh };
        let idx = BtreeRel::new(REL, "t_a_idx", int_cols(), false, &mgr, &wal, &ext);
        let mut owner = ResourceOwner::default();
        idx.create(&mut owner).unwrap();
        owner.release_all(Release::Commit);
    }
    let mut kids = Children(Vec::new());
    for me in 0..P {
        let w = &w;
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(me);
            let ext = w.ext(me);
            let wal = CountingWal { sh };
            let idx = BtreeRel::new(REL, "t_a_idx", int_cols(), false, &mgr, &wal, &ext);
            let mut owner = ResourceOwner::default();
            sh.started.fetch_add(1, Ordering::SeqCst);
            if !wait_for(&sh.started, P as u64, DEADLINE) {
                return 2;
            }
            // Half ascending (all processes at the right edge), half random.
            let keys: Vec<i32> = (0..M / 2)
                .map(|i| i * P as i32 + me as i32)
                .chain(
                    shuffled(M / 2, me as u64 + 11)
                        .into_iter()
                        .map(|i| (M / 2 + i) * P as i32 + me as i32),
                )
                .collect();
            for k in keys {
                if idx
                    .insert(&mut owner, &[Value::Int4(k)], tid_of(k as i64), None)
                    .is_err()
                {
                    return 3;
                }
            }
            if mgr.pinned_buffers() != 0 || !owner.is_empty() {
                return 4;
            }
            0
        }));
    }
    assert_eq!(kids.wait_all(DEADLINE), vec![0; P as usize]);
    assert_eq!(refcounts(&w.pool), vec![0; 32], "no pin lost");
    let mgr = w.mgr(P);
    let ext = w.ext(P);
    let wal = CountingWal { sh };
    let idx = BtreeRel::new(REL, "t_a_idx", int_cols(), false, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    let st = idx.verify(&mut owner).unwrap();
    assert_eq!(st.leaf_tuples, (P as i32 * M) as u64);
    let all = scan_all(&idx, &mut owner, None, None);
    assert_eq!(int_keys(&all), (0..P as i32 * M).collect::<Vec<_>>());
    let mut back = scan_back(&idx, &mut owner, None, None);
    back.reverse();
    assert_eq!(back, all);
    assert!(all.iter().all(|(t, k)| *t
        == tid_of(match k[0] {
            Value::Int4(i) => i as i64,
            _ => -1,
        })));
    owner.release_all(Release::Commit);
}

/// Every existing entry counts as live.
struct AllLive;
impl UniqueCheck for AllLive {
    fn check(&self, _: ItemPointer) -> Result<HeapCheck, PgError> {
        Ok(HeapCheck::Live)
    }
}

/// Four forked processes insert the same keys into a unique index at
/// once: the unique check is serialised on the leaf, so each key is
/// inserted exactly once and every other attempt is a 23505.
fn concurrent_unique_inserts_one_winner_per_key() {
    const P: u32 = 4;
    const K: i32 = 2500;
    let w = World::new(32);
    let sh = w.shared();
    {
        let mgr = w.mgr(P);
        let ext = w.ext(P);
        let wal = CountingWal { sh };
        let idx = BtreeRel::new(REL, "u", int_cols(), true, &mgr, &wal, &ext);
        let mut owner = ResourceOwner::default();
        idx.create(&mut owner).unwrap();
        owner.release_all(Release::Commit);
    }
    let mut kids = Children(Vec::new());
    for me in 0..P {
        let w = &w;
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(me);
            let ext = w.ext(me);
            let wal = CountingWal { sh };
            let idx = BtreeRel::new(REL, "u", int_cols(), true, &mgr, &wal, &ext);
            let mut owner = ResourceOwner::default();
            sh.started.fetch_add(1, Ordering::SeqCst);
            if !wait_for(&sh.started, P as u64, DEADLINE) {
                return 2;
            }
            let keys: Vec<i32> = if me % 2 == 0 {
                (0..K).collect()
            } else {
                shuffled(K, me as u64 + 1)
            };
            for k in keys {
                let t = ItemPointer {
                    block: 10 + me,
                    offset: 1 + k as u16 % 200,
                };
                match idx.insert(&mut owner, &[Value::Int4(k)], t, Some(&AllLive)) {
                    Ok(InsertOutcome::Inserted) => {
                        sh.wins.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) if e.code == sqlstate::UNIQUE_VIOLATION => {}
                    _ => return 3,
                }
            }
            if mgr.pinned_buffers() != 0 || !owner.is_empty() {
                return 4;
            }
            0
        }));
    }
    assert_eq!(kids.wait_all(DEADLINE), vec![0; P as usize]);
    assert_eq!(sh.wins.load(Ordering::SeqCst), K as u64, "winners");
    let mgr = w.mgr(P);
    let ext = w.ext(P);
    let wal = CountingWal { sh };
    let idx = BtreeRel::new(REL, "u", int_cols(), true, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    assert_eq!(idx.verify(&mut owner).unwrap().leaf_tuples, K as u64);
    let all = scan_all(&idx, &mut owner, None, None);
    assert_eq!(int_keys(&all), (0..K).collect::<Vec<_>>());
    owner.release_all(Release::Commit);
}

/// The heap as the unique check sees it in these tests: TID block 0 is
/// dead, block 1 in progress (xid 777), anything else live.
struct FakeHeap;
impl UniqueCheck for FakeHeap {
    fn check(&self, tid: ItemPointer) -> Result<HeapCheck, PgError> {
        Ok(match tid.block {
            0 => HeapCheck::Dead,
            1 => HeapCheck::InProgress(777),
            _ => HeapCheck::Live,
        })
    }
}

fn t(block: u32, offset: u16) -> ItemPointer {
    ItemPointer { block, offset }
}

/// PostgreSQL's unique rules: a live equal key is 23505 with its message
/// and detail; a dead one is no conflict; one whose transaction runs
/// makes the caller wait for that xid; NULLs never conflict; equal keys
/// spread over several pages are all checked.
fn unique_violations() {
    let w = World::new(32);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let wal = CountingWal { sh };
    let cols = vec![
        KeyColumn {
            name: "a".into(),
            ty: KeyType::Int4,
        },
        KeyColumn {
            name: "b".into(),
            ty: KeyType::Text,
        },
    ];
    let idx = BtreeRel::new(REL, "t_pkey", cols, true, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    idx.create(&mut owner).unwrap();
    let heap = FakeHeap;
    let key = |a: i32| vec![Value::Int4(a), Value::Text("x".into())];
    for a in 0..3000 {
        idx.insert(&mut owner, &key(a), t(5 + a as u32, 1), Some(&heap))
            .unwrap();
    }
    let e = idx
        .insert(&mut owner, &key(1), t(9999, 1), Some(&heap))
        .unwrap_err();
    assert_eq!(e.code, sqlstate::UNIQUE_VIOLATION);
    assert_eq!(
        e.message,
        "duplicate key value violates unique constraint \"t_pkey\""
    );
    assert_eq!(
        e.detail.as_deref(),
        Some("Key (a, b)=(1, x) already exists.")
    );
    // Dead versions of key 5000, many (they span pages), then an
    // in-progress one: the newcomer must wait for 777.
    for o in 0..600u16 {
        idx.insert(&mut owner, &key(5000), t(0, o + 1), Some(&heap))
            .unwrap();
    }
    assert_eq!(
        idx.insert(&mut owner, &key(5000), t(8000, 1), Some(&heap))
            .unwrap(),
        InsertOutcome::Inserted
    );
    assert_eq!(
        idx.insert(&mut owner, &key(5000), t(8000, 2), Some(&heap))
            .unwrap_err()
            .code,
        sqlstate::UNIQUE_VIOLATION
    );
    idx.insert(&mut owner, &key(6000), t(1, 1), Some(&heap))
        .unwrap();
    assert_eq!(
        idx.insert(&mut owner, &key(6000), t(8001, 1), Some(&heap))
            .unwrap(),
        InsertOutcome::WaitFor(777)
    );
    // NULLs never conflict.
    let nk = vec![Value::Int4(7), Value::Null];
    idx.insert(&mut owner, &nk, t(8100, 1), Some(&heap))
        .unwrap();
    idx.insert(&mut owner, &nk, t(8100, 2), Some(&heap))
        .unwrap();
    let st = idx.verify(&mut owner).unwrap();
    assert_eq!(st.leaf_tuples, 3000 + 600 + 1 + 1 + 2);
    // The bulk build refuses duplicates too.
    let mut entries: Vec<(Vec<Value>, ItemPointer)> = (0..100)
        .map(|a| (key(a % 99), t(10 + a as u32, 1)))
        .collect();
    sort_entries(&mut entries);
    let idx2 = BtreeRel::new(
        tusk_storage::smgr::RelFileLocator {
            rel: REL.rel + 1,
            ..REL
        },
        "t2_pkey",
        idx.cols.clone(),
        true,
        &mgr,
        &wal,
        &ext,
    );
    let e = idx2.build(&mut owner, &entries).unwrap_err();
    assert_eq!(e.code, sqlstate::UNIQUE_VIOLATION);
    assert_eq!(e.message, "could not create unique index \"t2_pkey\"");
    assert_eq!(
        e.detail.as_deref(),
        Some("Key (a, b)=(0, x) is duplicated.")
    );
    // Too big a key: PostgreSQL's error.
    let big = vec![Value::Int4(1), Value::Text("y".repeat(3000))];
    let e = idx
        .insert(&mut owner, &big, t(9000, 1), Some(&heap))
        .unwrap_err();
    assert_eq!(e.code, sqlstate::PROGRAM_LIMIT_EXCEEDED);
    assert!(
        e.message.starts_with(
            "index row size 3016 exceeds btree version 4 maximum 2704 for index \"t_pkey\""
        ),
        "{}",
        e.message
    );
    owner.release_all(Release::Commit);
}

/// Bulk build from sorted input gives the same entries as incremental
/// inserts, with leaves at the fill factor (fewer pages); and the built
/// index takes further inserts.
fn bulk_build_equals_incremental() {
    const N: i32 = 50_000;
    let w = World::new(64);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let wal = CountingWal { sh };
    let mut owner = ResourceOwner::default();
    let inc = BtreeRel::new(REL, "inc", int_cols(), false, &mgr, &wal, &ext);
    inc.create(&mut owner).unwrap();
    let keys = shuffled(N, 5);
    for &k in &keys {
        inc.insert(&mut owner, &[Value::Int4(k / 2)], tid_of(k as i64), None)
            .unwrap();
    }
    let mut entries: Vec<(Vec<Value>, ItemPointer)> = keys
        .iter()
        .map(|&k| (vec![Value::Int4(k / 2)], tid_of(k as i64)))
        .collect();
    sort_entries(&mut entries);
    let rel2 = RelFileLocator {
        rel: REL.rel + 1,
        ..REL
    };
    let built = BtreeRel::new(rel2, "built", int_cols(), false, &mgr, &wal, &ext);
    built.build(&mut owner, &entries).unwrap();
    let si = inc.verify(&mut owner).unwrap();
    let sb = built.verify(&mut owner).unwrap();
    assert_eq!(si.leaf_tuples, sb.leaf_tuples);
    assert!(
        sb.pages[0] < si.pages[0],
        "built {:?} vs incremental {:?}",
        sb,
        si
    );
    let a = scan_all(&inc, &mut owner, None, None);
    let b = scan_all(&built, &mut owner, None, None);
    assert_eq!(a, b);
    for lo in [0, 77, 12_345, N / 2 - 1] {
        let r = |i: &BtreeRel<'_>, o: &mut ResourceOwner| {
            scan_all(
                i,
                o,
                Some((vec![Value::Int4(lo)], true)),
                Some((vec![Value::Int4(lo + 100)], false)),
            )
        };
        assert_eq!(r(&inc, &mut owner), r(&built, &mut owner));
    }
    // More inserts into the built index (splits of full leaves).
    for k in 0..5000 {
        built
            .insert(
                &mut owner,
                &[Value::Int4(k)],
                tid_of(100_000 + k as i64),
                None,
            )
            .unwrap();
    }
    let sb = built.verify(&mut owner).unwrap();
    assert_eq!(sb.leaf_tuples, N as u64 + 5000);
    // An empty build is a valid empty index.
    let rel3 = RelFileLocator {
        rel: REL.rel + 2,
        ..REL
    };
    let empty = BtreeRel::new(rel3, "empty", int_cols(), false, &mgr, &wal, &ext);
    empty.build(&mut owner, &[]).unwrap();
    assert_eq!(empty.verify(&mut owner).unwrap().leaf_tuples, 0);
    assert!(scan_all(&empty, &mut owner, None, None).is_empty());
    owner.release_all(Release::Commit);
}

/// A damaged index page is an error (XX002 or XX001), never a panic or a
/// wrong answer.
fn damaged_pages_are_errors() {
    let w = World::new(16);
    let sh = w.shared();
    let mut owner = ResourceOwner::default();
    {
        let mgr = w.mgr(0);
        let ext = w.ext(0);
        let wal = CountingWal { sh };
        let idx = BtreeRel::new(REL, "i", int_cols(), false, &mgr, &wal, &ext);
        idx.create(&mut owner).unwrap();
        for k in 0..2000 {
            idx.insert(&mut owner, &[Value::Int4(k)], tid_of(k as i64), None)
                .unwrap();
        }
        let mut o2 = ResourceOwner::default();
        mgr.flush_all_dirty(&mut o2).unwrap();
        o2.release_all(Release::Commit);
    }
    // Garble a leaf's items (checksums off, so the damage reaches the tree).
    let mut md = w.md();
    let mut p: PageBuf = [0; tusk_storage::page::BLCKSZ];
    md.read(REL, Fork::Main, 1, &mut p).unwrap();
    let lower = tusk_storage::page::lower(&p) as usize;
    for b in &mut p[24..lower] {
        *b = 0xEE;
    }
    md.write(REL, Fork::Main, 1, &p).unwrap();
    let mgr = w.bufmgr(1, Box::new(w.md()), Box::new(FakeFlush), false);
    // A fresh pool view: drop the cached copy first.
    mgr.drop_relation_buffers(REL, Fork::Main, 0);
    let ext = w.ext(1);
    let wal = CountingWal { sh };
    let idx = BtreeRel::new(REL, "i", int_cols(), false, &mgr, &wal, &ext);
    let e = idx.verify(&mut owner).unwrap_err();
    assert!(
        e.code == sqlstate::INDEX_CORRUPTED || e.code == sqlstate::DATA_CORRUPTED,
        "{e:?}"
    );
    let mut failed = false;
    for k in (0..2000).step_by(7) {
        match idx.scan(
            &mut owner,
            Some((vec![Value::Int4(k)], true)),
            Some((vec![Value::Int4(k)], true)),
        ) {
            Ok(mut s) => loop {
                match s.next(&mut owner) {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            },
            Err(_) => failed = true,
        }
    }
    assert!(failed, "the damaged leaf was read somewhere");
    assert_eq!(mgr.pinned_buffers(), 0);
    owner.release_all(Release::Abort);
}

/// Inserts and lookups per second (single process, 4096-buffer pool, no
/// WAL): printed; run with --release for the figures.
fn throughput() {
    // A smaller run in debug builds keeps the suite's time down; the
    // figures are meant for --release.
    const N: i32 = if cfg!(debug_assertions) {
        20_000
    } else {
        200_000
    };
    let w = World::new(4096);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let wal = CountingWal { sh };
    let idx = BtreeRel::new(REL, "t_a_idx", int_cols(), false, &mgr, &wal, &ext);
    let mut owner = ResourceOwner::default();
    idx.create(&mut owner).unwrap();
    let keys = shuffled(N, 99);
    let t0 = Instant::now();
    for &k in &keys {
        idx.insert(&mut owner, &[Value::Int4(k)], tid_of(k as i64), None)
            .unwrap();
    }
    let ins = t0.elapsed();
    let t1 = Instant::now();
    for &k in &keys {
        let mut s = idx
            .scan(
                &mut owner,
                Some((vec![Value::Int4(k)], true)),
                Some((vec![Value::Int4(k)], true)),
            )
            .unwrap();
        assert!(s.next(&mut owner).unwrap().is_some());
    }
    let look = t1.elapsed();
    let mut entries: Vec<(Vec<Value>, ItemPointer)> = keys
        .iter()
        .map(|&k| (vec![Value::Int4(k)], tid_of(k as i64)))
        .collect();
    let t2 = Instant::now();
    sort_entries(&mut entries);
    let b = BtreeRel::new(
        RelFileLocator {
            rel: REL.rel + 1,
            ..REL
        },
        "b",
        int_cols(),
        false,
        &mgr,
        &wal,
        &ext,
    );
    b.build(&mut owner, &entries).unwrap();
    let build = t2.elapsed();
    println!(
        "btree: {N} random inserts {:.0}/s, {N} equality lookups {:.0}/s, bulk build (sort + write) {:.0} entries/s",
        N as f64 / ins.as_secs_f64(),
        N as f64 / look.as_secs_f64(),
        N as f64 / build.as_secs_f64()
    );
    owner.release_all(Release::Commit);
}

/// `tusk init`'s catalog indexes (catalog.rs writes them straight to
/// files from [`build_images`]) read back through the buffer pool: each is
/// a consistent tree holding exactly one entry per catalog row, at the
/// row's TID with the row's key; then the entries a backend's catalog
/// writes add (pg_class names, pg_attribute (relid, attnum)) go in one at
/// a time, splitting pages, and every one is found by its full key and
/// by its leading column, as the backend's lookups search.
fn bootstrap_catalog_indexes_match_their_catalogs() {
    use tusk_storage::catalog::{self as cat, CATALOG_INDEXES};
    use tusk_storage::page::{self, BLCKSZ};
    let w = World::new(64);
    let sh = w.shared();
    std::fs::create_dir_all(w.dir.path().join("global")).unwrap();
    std::fs::create_dir_all(w.dir.path().join("base")).unwrap();
    cat::write_bootstrap(w.dir.path(), "alice", true).unwrap();
    let mgr = w.mgr(0);
    let ext = w.ext(0);
    let wal = CountingWal { sh };
    let mut owner = ResourceOwner::default();
    let mut md = w.md();
    for idx in CATALOG_INDEXES {
        let c = cat::catalog(idx.heap);
        let loc = c.locator(5);
        let mut expect = Vec::new();
        for b in 0..md.nblocks(loc, Fork::Main).unwrap() {
            let mut p = [0u8; BLCKSZ];
            md.read(loc, Fork::Main, b, &mut p).unwrap();
            for off in 1..=page::max_offset(&p) {
                let r =
                    tusk_storage::datum::deform_row(page::get_item(&p, off).unwrap(), &c.types())
                        .unwrap();
                expect.push((
                    ItemPointer {
                        block: b,
                        offset: off,
                    },
                    idx.key_of(&r),
                ));
            }
        }
        // (pg_proc, pg_depend... start empty: an empty root leaf.)
        let bt = BtreeRel::new(
            idx.locator(5),
            idx.name,
            idx.key_columns(),
            false,
            &mgr,
            &wal,
            &ext,
        );
        let st = bt.verify(&mut owner).unwrap();
        assert_eq!(st.leaf_tuples, expect.len() as u64, "{}", idx.name);
        let mut got = scan_all(&bt, &mut owner, None, None);
        let by_tid = |v: &mut Vec<(ItemPointer, Vec<Value>)>| {
            v.sort_by_key(|e| (e.0.block, e.0.offset));
        };
        by_tid(&mut got);
        by_tid(&mut expect);
        assert_eq!(got, expect, "{}", idx.name);
        // Every row is found by an equality scan on its whole key.
        for (tid, key) in &expect {
            let e = scan_all(
                &bt,
                &mut owner,
                Some((key.clone(), true)),
                Some((key.clone(), true)),
            );
            assert!(e.iter().any(|(t, _)| t == tid), "{} {key:?}", idx.name);
        }
    }
    // What the backend adds for new relations.
    const N: u32 = 3000;
    let names = cat::catalog_index(cat::PG_CLASS_RELNAME_NSP_INDEX);
    let nbt = BtreeRel::new(
        names.locator(5),
        names.name,
        names.key_columns(),
        false,
        &mgr,
        &wal,
        &ext,
    );
    let atts = cat::catalog_index(cat::PG_ATTRIBUTE_RELID_ATTNUM_INDEX);
    let abt = BtreeRel::new(
        atts.locator(5),
        atts.name,
        atts.key_columns(),
        false,
        &mgr,
        &wal,
        &ext,
    );
    let tid = |i: u32| ItemPointer {
        block: 100 + i / 50,
        offset: (i % 50 + 1) as u16,
    };
    for i in 0..N {
        let name = Value::Text(format!("table_{}", (i * 7919) % N));
        nbt.insert(&mut owner, &[name, Value::Oid(2200)], tid(i), None)
            .unwrap();
        for a in 1..=3i16 {
            abt.insert(
                &mut owner,
                &[Value::Oid(16384 + i), Value::Int2(a)],
                tid(i),
                None,
            )
            .unwrap();
        }
    }
    nbt.verify(&mut owner).unwrap();
    abt.verify(&mut owner).unwrap();
    for i in 0..N {
        let name = Value::Text(format!("table_{}", (i * 7919) % N));
        let full = vec![name.clone(), Value::Oid(2200)];
        let e = scan_all(
            &nbt,
            &mut owner,
            Some((full.clone(), true)),
            Some((full, true)),
        );
        assert_eq!(e.iter().map(|e| e.0).collect::<Vec<_>>(), vec![tid(i)]);
        let e = scan_all(
            &nbt,
            &mut owner,
            Some((vec![name.clone()], true)),
            Some((vec![name], true)),
        );
        assert_eq!(e.len(), 1);
        let rel = vec![Value::Oid(16384 + i)];
        let e = scan_all(
            &abt,
            &mut owner,
            Some((rel.clone(), true)),
            Some((rel, true)),
        );
        assert_eq!(
            e.iter().map(|e| e.1[1].clone()).collect::<Vec<_>>(),
            vec![Value::Int2(1), Value::Int2(2), Value::Int2(3)]
        );
    }
    // A bootstrap row is still found among the new ones.
    let key = vec![Value::Text("pg_class".into()), Value::Oid(11)];
    assert_eq!(
        scan_all(
            &nbt,
            &mut owner,
            Some((key.clone(), true)),
            Some((key, true))
        )
        .len(),
        1
    );
    assert_eq!(mgr.pinned_buffers(), 0);
    owner.release_all(Release::Commit);
}

fn main() {
    support::run(&[
        (
            "random_inserts_then_every_key_found",
            random_inserts_then_every_key_found,
        ),
        (
            "duplicates_and_multicolumn_keys",
            duplicates_and_multicolumn_keys,
        ),
        (
            "concurrent_inserters_split_pages",
            concurrent_inserters_split_pages,
        ),
        ("unique_violations", unique_violations),
        (
            "concurrent_unique_inserts_one_winner_per_key",
            concurrent_unique_inserts_one_winner_per_key,
        ),
        (
            "bulk_build_equals_incremental",
            bulk_build_equals_incremental,
        ),
        ("damaged_pages_are_errors", damaged_pages_are_errors),
        (
            "bulk_delete_removes_exactly_the_dead_tids",
            bulk_delete_removes_exactly_the_dead_tids,
        ),
        (
            "bootstrap_catalog_indexes_match_their_catalogs",
            bootstrap_catalog_indexes_match_their_catalogs,
        ),
        ("throughput", throughput),
    ]);
}
