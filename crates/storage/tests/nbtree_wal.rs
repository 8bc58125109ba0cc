//! Crash recovery of B-tree indexes through the real WAL: random inserts (page splits, root splits), a bulk build, checkpoints in between, then a power cut that tears or loses every unsynced page write; redo from the last checkpoint must give a consistent tree (levels, links, order, downlinks: `BtreeRel::verify`) holding every key whose WAL was flushed, each once.
//!
//! Why this shape (as tests/heapwal.rs, whose harness this copies): every
//! piece is the real one — the region, a small buffer pool (pages are
//! evicted and written mid-workload, WAL-before-data), WAL buffers and
//! segments, checkpoints, pg_control — except the file layer, a
//! [`FaultSmgr`] that remembers what was not fsynced. An index insert is
//! not transactional, so "committed" here means "its WAL was flushed":
//! after each batch the test flushes the WAL, and after the crash the index
//! must hold every key of the flushed batches and nothing that was never
//! inserted (keys of the lost tail may or may not be there). Each test then
//! restarts once more without recovery, reading every page from disk
//! (checksums on), and checks again.
//!
//! One thread per test, no forks: the default harness is fine. Run one
//! with `cargo test -p tusk-storage --test nbtree_wal -- NAME`.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

use tusk_common::error::PgError;
use tusk_storage::bufmgr::BufMgr;
use tusk_storage::control::{ControlFileData, PgControlView, PgControlWriter};
use tusk_storage::heapam::ExtensionLock;
use tusk_storage::heaptuple::ItemPointer;
use tusk_storage::heapwal::XlogHeapWal;
use tusk_storage::layout::AreaId;
use tusk_storage::lwlock::LwWaiter;
use tusk_storage::nbtree::{BtreeRel, KeyColumn, KeyType};
use tusk_storage::page;
use tusk_storage::smgr::{CrashMode, FaultSmgr, Fork, Md, RelFileLocator, SharedSmgr, Smgr};
use tusk_storage::xact::{Release, ResourceOwner};
use tusk_storage::xlog::{self, CheckpointKind, RecoveryResult, SyncMethod, Xlog, XlogConfig};
use tusk_types::value::Value;

#[allow(dead_code)]
mod support;
use support::{Procs, SharedState, World, MAX_PROCS, REL, SEG_BLOCKS};

#[repr(C)]
struct Sh {
    waiters: [LwWaiter; MAX_PROCS],
}
// SAFETY: all-zero LwWaiters are "not waiting".
unsafe impl SharedState for Sh {
    fn waiters(&self) -> &[LwWaiter; MAX_PROCS] {
        &self.waiters
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

/// The fault layer shared between the buffer manager (which owns a boxed
/// smgr) and the test (which crashes it).
type Faulty = SharedSmgr<FaultSmgr<Md>>;

/// One process: there is no other to race for the extension lock.
struct NoExt;
impl ExtensionLock for NoExt {
    fn lock(&self, _: tusk_storage::smgr::RelFileLocator) {}
    fn unlock(&self, _: tusk_storage::smgr::RelFileLocator) {}
}

const CFG: XlogConfig = XlogConfig {
    // WAL loss is modelled by dropping the WAL buffers, not by fsync.
    fsync: false,
    sync_method: SyncMethod::Fdatasync,
    full_page_writes: true,
    startup_progress_interval_ms: 0,
};

/// A new cluster in `dir`: pg_wal with the bootstrap checkpoint, pg_control.
fn init_cluster(dir: &Path) {
    std::fs::create_dir(dir.join("pg_wal")).unwrap();
    std::fs::create_dir(dir.join("global")).unwrap();
    let mut c = ControlFileData::new_cluster();
    c.system_identifier = 0x4EA9;
    c.xlog_seg_size = 1 << 20;
    xlog::bootstrap_wal(dir, &mut c).unwrap();
    c.write(dir, true).unwrap();
}

/// The server's processes on one region, reduced to one: WAL handle,
/// pg_control writer and buffer manager over the fault layer.
struct Node {
    x: Xlog<Procs>,
    ctl: PgControlWriter<Procs>,
    bm: BufMgr,
}

/// "Starts the server" on `w`'s region over the data directory `dir`:
/// recovery (redo when `crashed`) through a buffer manager, then the
/// end-of-recovery checkpoint.
fn start(
    w: &World<Sh>,
    dir: &Path,
    fault: &Faulty,
    crashed: bool,
) -> Result<(Node, RecoveryResult), String> {
    start_with(w, dir, fault, crashed, CFG)
}

/// [`start`] with WAL settings of its own.
fn start_with(
    w: &World<Sh>,
    dir: &Path,
    fault: &Faulty,
    crashed: bool,

    cfg: XlogConfig,
) -> Result<(Node, RecoveryResult), String> {
    // SAFETY: the region's WAL area, initialised by the registry and
    // mapped for the life of the world, which outlives the node.
    let attach = || unsafe {
        Xlog::attach(
            w.area(AreaId::WalBuffers),
            w.sizing.wal_buffers,
            w.procs(),
            0,
            dir,
            cfg,
        )
    };
    let x = attach();
    // SAFETY: the region's pg_control area, as above.
    let view = unsafe { PgControlView::from_raw(w.area(AreaId::PgControl) as *const _) };
    let ctl = PgControlWriter::new(view, dir.to_path_buf(), w.procs(), 0);
    let c = ctl.load().map_err(|e| e.to_string())?;
    let bm = w.bufmgr(0, Box::new(fault.clone()), Box::new(attach()), true);
    let r = xlog::startup_redo(&x, &c, crashed, None, Some(&bm)).map_err(|e| e.message)?;
    checkpoint(&x, &ctl, &bm, CheckpointKind::EndOfRecovery).map_err(|e| e.message)?;
    Ok((Node { x, ctl, bm }, r))
}

fn checkpoint(
    x: &Xlog<Procs>,
    ctl: &PgControlWriter<Procs>,
    bm: &BufMgr,
    kind: CheckpointKind,
) -> Result<u64, PgError> {
    xlog::create_checkpoint(x, ctl, kind, &mut || {
        let mut owner = ResourceOwner::default();
        let r = bm.flush_all_dirty(&mut owner);
        owner.release_all(Release::Abort);
        r.map(|_| ()).map_err(|e| tusk_storage::xlog::XlogError {
            message: e.message,
            corrupt: false,
        })
    })
    .map_err(|e| e.to_pg_error(tusk_common::Severity::Error))
}

/// The index of these tests: (text, int4), long enough text that pages
/// split often.
fn index<'a>(n: &'a Node, wal: &'a XlogHeapWal<'a, Procs>, rel: RelFileLocator) -> BtreeRel<'a> {
    let cols = vec![
        KeyColumn {
            name: "s".into(),
            ty: KeyType::Text,
        },
        KeyColumn {
            name: "k".into(),
            ty: KeyType::Int4,
        },
    ];
    BtreeRel::new(rel, "t_s_k_idx", cols, false, &n.bm, wal, &NoExt)
}

fn key(k: i32) -> Vec<Value> {
    vec![
        Value::Text(format!("{:08}-{}", k % 5000, "p".repeat(k as usize % 60))),
        Value::Int4(k),
    ]
}

fn tid(k: i32) -> ItemPointer {
    ItemPointer {
        block: k as u32 / 50,
        offset: (k % 50) as u16 + 1,
    }
}

/// What the workload did: every key inserted, and those whose WAL was
/// flushed (durable).
#[derive(Default)]
struct Model {
    inserted: BTreeSet<i32>,
    durable: BTreeSet<i32>,
}

/// `batches` batches of `per` random keys into `rel`, the WAL flushed after
/// each but the last, a checkpoint every `ckpt_every` batches (0: none).
fn workload(
    n: &Node,
    rel: RelFileLocator,
    m: &mut Model,
    rng: &mut Rng,
    batches: usize,
    per: usize,
    ckpt_every: usize,
) {
    let wal = XlogHeapWal(&n.x);
    let idx = index(n, &wal, rel);
    let mut owner = ResourceOwner::default();
    if idx.nblocks().unwrap() == 0 {
        idx.create(&mut owner).unwrap();
    }
    for b in 0..batches {
        for _ in 0..per {
            let k = loop {
                let k = (rng.next() % 1_000_000) as i32;
                if !m.inserted.contains(&k) {
                    break k;
                }
            };
            idx.insert(&mut owner, &key(k), tid(k), None).unwrap();
            m.inserted.insert(k);
        }
        if b + 1 < batches {
            n.x.flush(n.x.insert_lsn()).unwrap();
            m.durable = m.inserted.clone();
        }
        if ckpt_every > 0 && b % ckpt_every == ckpt_every - 1 && b + 1 < batches {
            checkpoint(&n.x, &n.ctl, &n.bm, CheckpointKind::Online).unwrap();
        }
    }
    owner.release_all(Release::Commit);
}

/// Blocks of `rel` on disk that fail verification now.
fn damaged_blocks(fault: &Faulty, rel: RelFileLocator) -> usize {
    let mut f = fault.0.borrow_mut();
    let md = f.inner();
    if !md.exists(rel, Fork::Main).unwrap() {
        return 0;
    }
    let mut p = Box::new([0u8; page::BLCKSZ]);
    (0..md.nblocks(rel, Fork::Main).unwrap())
        .filter(|&b| {
            md.read(rel, Fork::Main, b, &mut p).unwrap();
            page::verify(&p, b, true).is_err()
        })
        .count()
}

/// The index after a (re)start: consistent, every durable key found once
/// (also by an equality lookup for a sample), nothing never inserted.
fn check_index(n: &Node, rel: RelFileLocator, m: &Model) {
    let wal = XlogHeapWal(&n.x);
    let idx = index(n, &wal, rel);
    let mut owner = ResourceOwner::default();
    let st = idx.verify(&mut owner).unwrap();
    let mut s = idx.scan(&mut owner, None, None).unwrap();
    let mut found = Vec::new();
    while let Some((t, v)) = s.next(&mut owner).unwrap() {
        let Value::Int4(k) = v[1] else {
            panic!("key {v:?}")
        };
        assert_eq!(v, key(k));
        assert_eq!(t, tid(k));
        found.push(k);
    }
    assert_eq!(st.leaf_tuples, found.len() as u64);
    let set: BTreeSet<i32> = found.iter().copied().collect();
    assert_eq!(set.len(), found.len(), "a key found twice");
    let lost: Vec<&i32> = m.durable.difference(&set).take(5).collect();
    assert!(lost.is_empty(), "durable keys lost: {lost:?}");
    assert!(set.is_subset(&m.inserted), "keys never inserted");
    for &k in m.durable.iter().step_by(97) {
        let mut s = idx
            .scan(&mut owner, Some((key(k), true)), Some((key(k), true)))
            .unwrap();
        assert_eq!(s.next(&mut owner).unwrap().map(|e| e.0), Some(tid(k)));
        assert!(s.next(&mut owner).unwrap().is_none());
    }
    owner.release_all(Release::Commit);
}

/// Crash, recover, check; then a clean restart reading from disk, check.
fn recover_and_check(
    dir: &Path,
    fault: &Faulty,
    rels: &[(RelFileLocator, &Model)],
) -> RecoveryResult {
    let w2: World<Sh> = World::new(8);
    let (n2, r) = start(&w2, dir, fault, true).unwrap();
    for (rel, m) in rels {
        check_index(&n2, *rel, m);
    }
    drop(n2);
    drop(w2);
    for (rel, _) in rels {
        assert_eq!(damaged_blocks(fault, *rel), 0, "pages left damaged on disk");
    }
    let w3: World<Sh> = World::new(8);
    let (n3, _) = start(&w3, dir, fault, false).unwrap();
    for (rel, m) in rels {
        check_index(&n3, *rel, m);
    }
    r
}

fn setup(w: &World<Sh>) -> (Faulty, Node) {
    init_cluster(w.dir.path());
    let fault = SharedSmgr(Rc::new(RefCell::new(FaultSmgr::new(Md::new(
        w.dir.path(),
        SEG_BLOCKS,
    )))));
    let (n, _) = start(w, w.dir.path(), &fault, false).unwrap();
    (fault, n)
}

/// Checkpoints during the workload, then a power cut that tears every
/// unsynced page write (after 512 or 4096 bytes) or loses it: the split
/// images and full-page images restore the pages, and the tree holds every
/// durable key.
#[test]
fn torn_pages_after_splits_are_restored() {
    for (seed, mode) in [
        (7, CrashMode::TearUnsynced(512)),
        (10, CrashMode::TearUnsynced(4096)),
        (12, CrashMode::LoseUnsynced),
    ] {
        let w: World<Sh> = World::new(8);
        let (fault, n) = setup(&w);
        let mut m = Model::default();
        let mut rng = Rng(seed);
        workload(&n, REL, &mut m, &mut rng, 40, 150, 12);
        assert!(
            fault.0.borrow().unsynced_blocks() > 0,
            "pages written since the last checkpoint"
        );
        drop(n);
        fault.0.borrow_mut().crash(mode).unwrap();
        if matches!(mode, CrashMode::TearUnsynced(_)) {
            assert!(damaged_blocks(&fault, REL) > 0, "{mode:?} tore no page");
        }
        let r = recover_and_check(w.dir.path(), &fault, &[(REL, &m)]);
        assert!(r.replayed > 0 && r.redo_start.is_some());
    }
}

/// No checkpoint after the bootstrap one: the index file is created by
/// redo (the storage record) and every page rebuilt from WAL.
#[test]
fn crash_before_any_checkpoint() {
    let w: World<Sh> = World::new(8);
    let (fault, n) = setup(&w);
    let mut m = Model::default();
    let mut rng = Rng(21);
    workload(&n, REL, &mut m, &mut rng, 20, 200, 0);
    drop(n);
    fault.0.borrow_mut().crash(CrashMode::LoseUnsynced).unwrap();
    fault
        .0
        .borrow_mut()
        .inner()
        .unlink(REL, Fork::Main)
        .unwrap();
    recover_and_check(w.dir.path(), &fault, &[(REL, &m)]);
}

/// A bulk-built index (its pages logged as images), then inserts into it
/// and a checkpoint, then a torn crash: both come back.
#[test]
fn bulk_build_then_inserts_survive_a_crash() {
    let w: World<Sh> = World::new(8);
    let (fault, n) = setup(&w);
    let mut m = Model::default();
    {
        let wal = XlogHeapWal(&n.x);
        let idx = index(&n, &wal, REL);
        let mut owner = ResourceOwner::default();
        let mut entries: Vec<(Vec<Value>, ItemPointer)> = (0..6000)
            .map(|i| {
                let k = i * 7 + 1_000_001;
                m.inserted.insert(k);
                (key(k), tid(k))
            })
            .collect();
        tusk_storage::nbtree::sort_entries(&mut entries);
        idx.build(&mut owner, &entries).unwrap();
        owner.release_all(Release::Commit);
        n.x.flush(n.x.insert_lsn()).unwrap();
        m.durable = m.inserted.clone();
    }
    checkpoint(&n.x, &n.ctl, &n.bm, CheckpointKind::Online).unwrap();
    let mut rng = Rng(33);
    workload(&n, REL, &mut m, &mut rng, 15, 200, 0);
    drop(n);
    fault
        .0
        .borrow_mut()
        .crash(CrashMode::TearUnsynced(512))
        .unwrap();
    recover_and_check(w.dir.path(), &fault, &[(REL, &m)]);
}

/// Inserts per second through the real WAL (records in the WAL buffers,
/// written at segment switches and checkpoints; a 1024-buffer pool),
/// printed; run with --release for the figure. Also checks the result.
#[test]
fn wal_logged_insert_throughput() {
    let w: World<Sh> = World::new(1024);
    let (_fault, n) = setup(&w);
    let per = if cfg!(debug_assertions) { 500 } else { 5000 };
    let mut m = Model::default();
    let mut rng = Rng(41);
    let t = Instant::now();
    let from = n.x.insert_lsn();
    workload(&n, REL, &mut m, &mut rng, 20, per, 0);
    let el = t.elapsed();
    let bytes = n.x.insert_lsn() - from;
    println!(
        "btree with WAL: {} random (text, int4) inserts {:.0}/s, {} WAL bytes",
        m.inserted.len(),
        m.inserted.len() as f64 / el.as_secs_f64(),
        bytes
    );
    m.durable = m.inserted.clone();
    check_index(&n, REL, &m);
}
