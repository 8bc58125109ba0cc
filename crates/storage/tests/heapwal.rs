//! Crash recovery of heap tables through the real WAL: a workload of inserts, updates, deletes and prunes through heapam and `XlogHeapWal`, a simulated power cut (the fault-injecting smgr drops or tears unsynced page writes), then redo from the last checkpoint must give back exactly the committed rows, at their TIDs.
//!
//! Why this shape (redb's fault-injection way, issue 9): every piece is the
//! real one — the area registry's region, the buffer manager with a small
//! pool (so pages are evicted and written mid-workload, WAL-before-data),
//! the WAL buffers and segment files, checkpoints and pg_control — except
//! the file layer under the buffer pool, a [`FaultSmgr`] that remembers
//! what was not fsynced. A "crash" throws the region away (the WAL buffers'
//! unflushed tail and every dirty buffer are lost) and makes the files what
//! a power cut would leave; a "restart" lays out a fresh region on the same
//! data directory and runs `xlog::startup_redo` with a buffer manager, as
//! the startup process does. The committed state is known exactly because
//! every commit is synchronous; the rows visible after recovery (with the
//! commit log rebuilt from the last checkpoint plus replayed commit
//! records) are compared with it, TID by TID. Each test then restarts once
//! more without recovery, reading every page from disk, so the pages the
//! end-of-recovery checkpoint wrote are checked too (checksums included).
//!
//! One thread per test, no forks: the default harness is fine.
//! Run one with `cargo test -p tusk-storage --test heapwal -- NAME`;
//! the throughput figure with `--release -- redo_throughput --nocapture`.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::rc::Rc;

use tusk_common::error::PgError;
use tusk_storage::bufmgr::BufMgr;
use tusk_storage::clog::XidStatus;
use tusk_storage::control::{ControlFileData, PgControlView, PgControlWriter};
use tusk_storage::heapam::{ExtensionLock, HeapRel, SetOracle, UpdateOutcome, Xid};
use tusk_storage::heaptuple::{self, Align, Attr, Datum, ItemPointer};
use tusk_storage::heapwal::XlogHeapWal;
use tusk_storage::layout::AreaId;
use tusk_storage::lwlock::LwWaiter;
use tusk_storage::page;
use tusk_storage::smgr::{CrashMode, FaultPlan, FaultSmgr, Fork, Md, SharedSmgr, Smgr};
use tusk_storage::wal::lsn_str;
use tusk_storage::xact::{Release, ResourceOwner};
use tusk_storage::xactwal::{XactRedo, XlogCommit};
use tusk_storage::xlog::{self, CheckpointKind, RecoveryResult, SyncMethod, Xlog, XlogConfig};

#[allow(dead_code)]
mod support;
use support::{Procs, SharedState, World, MAX_PROCS, REL, SEG_BLOCKS};

const ATTRS: [Attr; 2] = [Attr::fixed(4, Align::Int, true), Attr::varlena(Align::Int)];

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
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
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

/// Commit and abort records replayed.
#[derive(Default)]
struct Decided(RefCell<(HashSet<Xid>, HashSet<Xid>)>);
impl XactRedo for Decided {
    fn replay(&self, xid: u64, subxids: &[u64], status: XidStatus) -> Result<(), PgError> {
        let mut d = self.0.borrow_mut();
        let set = if status == XidStatus::Committed {
            &mut d.0
        } else {
            &mut d.1
        };
        set.insert(xid);
        set.extend(subxids);
        Ok(())
    }
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
/// end-of-recovery checkpoint. The replayed decisions go to `decided`.
fn start(
    w: &World<Sh>,
    dir: &Path,
    fault: &Faulty,
    crashed: bool,
    decided: &Decided,
) -> Result<(Node, RecoveryResult), String> {
    start_with(w, dir, fault, crashed, decided, CFG)
}

/// [`start`] with WAL settings of its own.
fn start_with(
    w: &World<Sh>,
    dir: &Path,
    fault: &Faulty,
    crashed: bool,
    decided: &Decided,
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
    let r = xlog::startup_redo(&x, &c, crashed, Some(decided), Some(&bm)).map_err(|e| e.message)?;
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

fn row(key: i32, val: &str) -> Vec<u8> {
    heaptuple::form_tuple(
        &ATTRS,
        &[
            Some(Datum::ByVal(key as u32 as u64)),
            Some(Datum::Ref(val.as_bytes())),
        ],
    )
    .unwrap()
}

fn unrow(t: &[u8]) -> (i32, String) {
    let v = heaptuple::deform_tuple(t, &ATTRS).unwrap();
    let Some(Datum::ByVal(k)) = v[0] else {
        panic!("key {:?}", v[0])
    };
    let Some(Datum::Ref(b)) = v[1] else {
        panic!("value {:?}", v[1])
    };
    (k as u32 as i32, String::from_utf8(b.to_vec()).unwrap())
}

/// Committed rows: key → (TID, value).
type Table = BTreeMap<i32, (ItemPointer, String)>;

/// The workload's view of what happened.
struct Model {
    rng: Rng,
    next_xid: Xid,
    next_key: i32,
    oracle: SetOracle,
    table: Table,
    /// The committed xids as of the last checkpoint: what the commit log
    /// on disk holds then (the server writes it back at each checkpoint).
    clog_at_checkpoint: HashSet<Xid>,
    /// For each commit after the last checkpoint: where its commit record
    /// starts and the table just before it.
    commits: Vec<(u64, Table)>,
    /// Keep `commits` (the flipped-byte test needs it).
    history: bool,
    prunes: u64,
    hot: u64,
    cold: u64,
    multi: u64,
}

impl Model {
    fn new(seed: u64, first_xid: Xid) -> Model {
        Model {
            rng: Rng(seed | 1),
            next_xid: first_xid,
            next_key: 1,
            oracle: SetOracle::default(),
            table: Table::new(),
            clog_at_checkpoint: HashSet::new(),
            commits: Vec::new(),
            history: true,
            prunes: 0,
            hot: 0,
            cold: 0,
            multi: 0,
        }
    }

    fn value(&mut self, key: i32) -> String {
        let len = 10 + self.rng.below(400) as usize;
        let mut s = format!("k{key}x{}:", self.rng.next() % 1000);
        while s.len() < len {
            s.push((b'a' + (self.rng.next() % 26) as u8) as char);
        }
        s
    }

    /// One transaction of 1..=6 changes; committed (synchronously),
    /// aborted, or left running when `finish` is false.
    fn transaction(&mut self, n: &Node, finish: bool) {
        let wal = XlogHeapWal(&n.x);
        let ext = NoExt;
        let rel = HeapRel::new(REL, &n.bm, &wal, &ext);
        let mut owner = ResourceOwner::default();
        let xid = self.next_xid;
        self.next_xid += 1;
        self.oracle.me = xid;
        let mut pending: Vec<(i32, Option<(ItemPointer, String)>)> = Vec::new();
        let mut touched = HashSet::new();
        for cid in 0..1 + self.rng.below(6) as u32 {
            self.oracle.cid = cid;
            let keys: Vec<i32> = self.table.keys().copied().collect();
            let pick = (!keys.is_empty())
                .then(|| keys[self.rng.below(keys.len() as u64) as usize])
                .filter(|k| !touched.contains(k));
            match (self.rng.below(10), pick) {
                (0..=3, Some(k)) => {
                    let v = self.value(k);
                    let tid = self.table[&k].0;
                    match rel
                        .update(&mut owner, &self.oracle, tid, row(k, &v), xid, cid)
                        .unwrap()
                    {
                        UpdateOutcome::Updated { new, hot } => {
                            if hot {
                                self.hot += 1;
                            } else {
                                self.cold += 1;
                            }
                            pending.push((k, Some((new, v))));
                        }
                        UpdateOutcome::Failed(f) => panic!("update of {k}: {f:?}"),
                    }
                    touched.insert(k);
                }
                (4, Some(k)) => {
                    let tid = self.table[&k].0;
                    rel.delete(&mut owner, &self.oracle, tid, xid, cid)
                        .unwrap()
                        .unwrap();
                    pending.push((k, None));
                    touched.insert(k);
                }
                (5, _) => {
                    let nb = rel.nblocks().unwrap();
                    if nb > 0 {
                        let b = self.rng.below(nb as u64) as u32;
                        rel.prune_page(&mut owner, &self.oracle, b).unwrap();
                        self.prunes += 1;
                    }
                }
                (6, _) => {
                    // A bulk load's step (COPY): many rows, whole pages
                    // at a time, one MULTI_INSERT record per page.
                    let n = 2 + self.rng.below(60) as usize;
                    let mut kv = Vec::with_capacity(n);
                    for _ in 0..n {
                        let k = self.next_key;
                        self.next_key += 1;
                        kv.push((k, self.value(k)));
                    }
                    let mut tuples: Vec<Vec<u8>> = kv.iter().map(|(k, v)| row(*k, v)).collect();
                    let tids = rel
                        .multi_insert(&mut owner, &self.oracle, &mut tuples, xid, cid)
                        .unwrap();
                    assert_eq!(tids.len(), n);
                    for ((k, v), tid) in kv.into_iter().zip(tids) {
                        pending.push((k, Some((tid, v))));
                        touched.insert(k);
                    }
                    self.multi += 1;
                }
                _ => {
                    let k = self.next_key;
                    self.next_key += 1;
                    let v = self.value(k);
                    let tid = rel
                        .insert(&mut owner, &self.oracle, row(k, &v), xid, cid)
                        .unwrap();
                    pending.push((k, Some((tid, v))));
                    touched.insert(k);
                }
            }
        }
        if !finish && pending.is_empty() {
            // The transaction left running writes a record with its xid
            // (recovery must move the next xid past it), even when its
            // only change was a prune.
            let k = self.next_key;
            self.next_key += 1;
            let v = self.value(k);
            rel.insert(&mut owner, &self.oracle, row(k, &v), xid, 0)
                .unwrap();
        }
        owner.release_all(Release::Commit);
        self.oracle.me = 0;
        if !finish {
            // Its records reach the WAL on disk (as a page write-back or
            // another commit would flush them): redo sees its xid.
            n.x.flush(n.x.insert_lsn()).unwrap();
            return;
        }
        let log = XlogCommit {
            xlog: &n.x,
            synchronous: true,
            now: 0,
        };
        use tusk_storage::transam::CommitWal;
        if self.rng.below(5) == 0 {
            log.log_abort(xid, &[]).unwrap();
            self.oracle.aborted.insert(xid);
        } else {
            if self.history {
                let at = n.x.insert_lsn();
                self.commits.push((at, self.table.clone()));
            }
            log.log_commit(xid, &[]).unwrap();
            self.oracle.committed.insert(xid);
            for (k, v) in pending {
                match v {
                    Some(v) => self.table.insert(k, v),
                    None => self.table.remove(&k),
                };
            }
        }
        // Every finished xid is below the horizon: dead rows may go.
        self.oracle.horizon = self.next_xid;
    }

    /// `txns` transactions with a checkpoint every `ckpt_every` (0: none),
    /// then one left running.
    fn run(&mut self, n: &Node, txns: usize, ckpt_every: usize) {
        for i in 0..txns {
            self.transaction(n, true);
            if ckpt_every > 0 && i % ckpt_every == ckpt_every - 1 {
                checkpoint(&n.x, &n.ctl, &n.bm, CheckpointKind::Online).unwrap();
                self.clog_at_checkpoint = self.oracle.committed.clone();
                self.commits.clear();
            }
        }
        self.transaction(n, false);
    }
}

/// Every visible row after recovery, with the commit log as the server
/// would have it: written back at the last checkpoint, plus the replayed
/// decisions.
fn visible_rows(n: &Node, committed: &HashSet<Xid>) -> Table {
    let wal = XlogHeapWal(&n.x);
    let ext = NoExt;
    let rel = HeapRel::new(REL, &n.bm, &wal, &ext);
    let oracle = SetOracle {
        committed: committed.clone(),
        ..Default::default()
    };
    let mut owner = ResourceOwner::default();
    let mut scan = rel.begin_scan(&oracle).unwrap();
    let mut out = Table::new();
    while let Some((tid, t)) = scan.next(&mut owner).unwrap() {
        let (k, v) = unrow(&t);
        assert!(out.insert(k, (tid, v)).is_none(), "key {k} visible twice");
    }
    scan.end(&mut owner);
    owner.release_all(Release::Commit);
    out
}

/// Blocks of the relation on disk that fail verification now.
fn damaged_blocks(fault: &Faulty) -> usize {
    let mut f = fault.0.borrow_mut();
    let md = f.inner();
    if !md.exists(REL, Fork::Main).unwrap() {
        return 0;
    }
    let mut p = Box::new([0u8; page::BLCKSZ]);
    (0..md.nblocks(REL, Fork::Main).unwrap())
        .filter(|&b| {
            md.read(REL, Fork::Main, b, &mut p).unwrap();
            page::verify(&p, b, true).is_err()
        })
        .count()
}

/// Recovery after `model`'s workload: `expect` is the table to find and
/// `committed` the commit log to read it with (checked against what redo
/// replayed); redo must move the next xid to `min_next_xid` at least. Then a clean restart reads it all from disk again.
fn recover_and_check(
    dir: &Path,
    fault: &Faulty,
    model: &Model,
    expect: &Table,
    committed: &HashSet<Xid>,
    min_next_xid: Xid,
) -> RecoveryResult {
    let w2: World<Sh> = World::new(8);
    let decided = Decided::default();
    let (n2, r) = start(&w2, dir, fault, true, &decided).unwrap();
    assert_eq!(r.progress_reports, 0, "log_startup_progress_interval = 0");
    let mut replayed = model.clog_at_checkpoint.clone();
    replayed.extend(decided.0.borrow().0.iter().copied());
    assert_eq!(&replayed, committed, "commit log after recovery");
    assert!(
        r.next_xid >= min_next_xid,
        "next xid {} < {min_next_xid}",
        r.next_xid
    );
    let got = visible_rows(&n2, committed);
    assert_eq!(&got, expect, "rows after recovery");
    drop(n2);
    drop(w2);
    // A clean restart: every page comes from disk.
    assert_eq!(damaged_blocks(fault), 0, "pages left damaged on disk");
    let w3: World<Sh> = World::new(8);
    let (n3, _) = start(&w3, dir, fault, false, &Decided::default()).unwrap();
    assert_eq!(&visible_rows(&n3, committed), expect, "rows after restart");
    r
}

/// The full-page-image rule, checked on the WAL itself: from the last
/// checkpoint's redo pointer on, the first record that touches a block
/// carries its image or initialises it (so any torn write of it is
/// repaired). Returns (images, records read).
fn check_first_touch_has_image(dir: &Path, redo: u64) -> (usize, usize) {
    const SEG: u64 = 1 << 20;
    let first = redo / SEG;
    let mut buf = Vec::new();
    let mut segno = first;
    while let Ok(b) = std::fs::read(
        dir.join("pg_wal")
            .join(tusk_storage::wal::wal_file_name(1, segno, SEG)),
    ) {
        buf.extend_from_slice(&b);
        segno += 1;
    }
    let mut r = tusk_storage::wal::WalReader::new(&buf, first * SEG, redo, None, 1, 0x4EA9, SEG);
    let mut seen = HashSet::new();
    let (mut images, mut records) = (0, 0);
    while let Ok(rec) = r.read_record() {
        records += 1;
        for b in &rec.record.blocks {
            images += b.image.is_some() as usize;
            if seen.insert((b.rel, b.fork, b.blkno)) {
                assert!(
                    b.image.is_some() || b.will_init,
                    "block {} first changed at {} without an image",
                    b.blkno,
                    lsn_str(rec.lsn)
                );
            }
        }
    }
    (images, records)
}

/// A fresh cluster and its first start.
fn setup(w: &World<Sh>) -> (Faulty, Node) {
    init_cluster(w.dir.path());
    let fault = SharedSmgr(Rc::new(RefCell::new(FaultSmgr::new(Md::new(
        w.dir.path(),
        SEG_BLOCKS,
    )))));
    let (n, _) = start(w, w.dir.path(), &fault, false, &Decided::default()).unwrap();
    (fault, n)
}

fn first_xid(n: &Node) -> Xid {
    n.ctl.load().unwrap().checkpoint_copy.next_xid
}

/// Checkpoints during the workload, then a power cut that tears every
/// unsynced page write after 512 bytes (and, in a second run, loses
/// them): redo from the last checkpoint restores the torn pages from
/// their full-page images and gives back exactly the committed rows.
#[test]
fn torn_pages_are_restored_from_full_page_images() {
    for (seed, mode) in [
        (7, CrashMode::TearUnsynced(512)),
        (10, CrashMode::TearUnsynced(4096)),
        (12, CrashMode::LoseUnsynced),
    ] {
        let w: World<Sh> = World::new(8);
        let (fault, n) = setup(&w);
        let mut m = Model::new(seed, first_xid(&n));
        m.run(&n, 300, 70);
        assert!(
            m.prunes > 0 && m.hot > 0 && m.cold > 0 && m.multi > 0,
            "workload mix"
        );
        let redo = n.ctl.load().unwrap().checkpoint_copy.redo;
        let (images, records) = check_first_touch_has_image(w.dir.path(), redo);
        assert!(
            images > 0 && records > images,
            "{images} images in {records}"
        );
        assert!(
            fault.0.borrow().unsynced_blocks() > 0,
            "pages written since the last checkpoint"
        );
        drop(n);
        fault.0.borrow_mut().crash(mode).unwrap();
        if matches!(mode, CrashMode::TearUnsynced(_)) {
            assert!(damaged_blocks(&fault) > 0, "{mode:?} tore no page");
        }
        let r = recover_and_check(
            w.dir.path(),
            &fault,
            &m,
            &m.table.clone(),
            &m.oracle.committed,
            m.next_xid - 1,
        );
        assert!(r.replayed > 0 && r.redo_start.is_some());
    }
}

/// No checkpoint after the bootstrap one: the relation's file was created
/// after the redo pointer, so redo recreates it (the storage record) and
/// extends it block by block; lost writes and blocks are rebuilt from WAL.
#[test]
fn crash_before_any_checkpoint() {
    let w: World<Sh> = World::new(8);
    let (fault, n) = setup(&w);
    let mut m = Model::new(11, first_xid(&n));
    m.run(&n, 120, 0);
    drop(n);
    fault.0.borrow_mut().crash(CrashMode::LoseUnsynced).unwrap();
    // The file exists (a create is durable) but its blocks are gone.
    assert_eq!(
        fault
            .0
            .borrow_mut()
            .inner()
            .nblocks(REL, Fork::Main)
            .unwrap(),
        0
    );
    // Even the file: redo creates it from the storage record.
    fault
        .0
        .borrow_mut()
        .inner()
        .unlink(REL, Fork::Main)
        .unwrap();
    recover_and_check(
        w.dir.path(),
        &fault,
        &m,
        &m.table.clone(),
        &m.oracle.committed,
        // Past every finished xid (the running one's records may all
        // have been in the lost WAL buffers).
        m.next_xid - 1,
    );
}

/// The startup process itself dies while redo is writing pages back (an
/// eviction write torn half-way), leaving more torn pages; recovery from
/// the same checkpoint again restores everything.
#[test]
fn crash_during_redo_then_redo_again() {
    let w: World<Sh> = World::new(8);
    let (fault, n) = setup(&w);
    let mut m = Model::new(13, first_xid(&n));
    m.run(&n, 250, 90);
    drop(n);
    fault
        .0
        .borrow_mut()
        .crash(CrashMode::TearUnsynced(512))
        .unwrap();
    // First recovery attempt: the 3rd page write of redo is torn and the
    // process "dies" there.
    fault.0.borrow_mut().set_plan(FaultPlan {
        torn_write: Some((3, 512)),
        ..Default::default()
    });
    {
        let w2: World<Sh> = World::new(8);
        let err = start(&w2, w.dir.path(), &fault, true, &Decided::default())
            .err()
            .expect("the torn write stops recovery");
        assert!(err.contains("simulated crash"), "{err}");
        assert!(fault.0.borrow().is_crashed());
    }
    fault
        .0
        .borrow_mut()
        .crash(CrashMode::TearUnsynced(4096))
        .unwrap();
    recover_and_check(
        w.dir.path(),
        &fault,
        &m,
        &m.table.clone(),
        &m.oracle.committed,
        // Past every finished xid (the running one's records may all
        // have been in the lost WAL buffers).
        m.next_xid - 1,
    );
}

/// A flipped byte in a commit record after the checkpoint: redo stops at
/// that record (the end of valid WAL), says so naming its LSN, and the
/// table is exactly as it was before that commit.
#[test]
fn flipped_byte_in_wal_stops_redo_at_that_record() {
    let w: World<Sh> = World::new(8);
    let (fault, n) = setup(&w);
    let mut m = Model::new(17, first_xid(&n));
    m.run(&n, 200, 60);
    drop(n);
    fault.0.borrow_mut().crash(CrashMode::LoseUnsynced).unwrap();
    // A commit half-way through the ones after the last checkpoint,
    // not too close to a WAL page end.
    let k = (m.commits.len() / 2..m.commits.len())
        .find(|&i| m.commits[i].0 % 8192 < 8000 && m.commits[i].0 % 8192 >= 40)
        .expect("a commit after the checkpoint");
    let (at, before) = m.commits[k].clone();
    let seg = 1 << 20;
    let path = w
        .dir
        .path()
        .join("pg_wal")
        .join(tusk_storage::wal::wal_file_name(1, at / seg, seg));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[(at % seg) as usize + 10] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    // Commit xids in order: the k commits after the checkpoint are the k
    // smallest committed xids not yet in the checkpoint's commit log.
    let mut after: Vec<Xid> = m
        .oracle
        .committed
        .difference(&m.clog_at_checkpoint)
        .copied()
        .collect();
    after.sort();
    assert_eq!(after.len(), m.commits.len());
    let mut committed = m.clog_at_checkpoint.clone();
    committed.extend(&after[..k]);
    // The damaged commit's own heap records come before it: replayed.
    let r = recover_and_check(w.dir.path(), &fault, &m, &before, &committed, after[k] + 1);
    assert_eq!(r.end, at, "redo ends at the damaged record");
    let why = r.end_reason.unwrap_or_default();
    assert!(why.contains(&lsn_str(at)), "{why}");
}

/// A truncation is logged (Storage TRUNCATE, flushed before the file is
/// cut): redo of inserts made before it, then of the truncation, then of
/// new inserts leaves only the new rows. Without the record, the old rows
/// past block 0 would come back from their replayed inserts.
#[test]
fn truncation_is_replayed_in_order() {
    let w: World<Sh> = World::new(8);
    let (fault, n) = setup(&w);
    let rel2 = tusk_storage::smgr::RelFileLocator {
        rel: REL.rel + 1,
        ..REL
    };
    let xid0 = first_xid(&n);
    let mut oracle = SetOracle {
        horizon: xid0,
        ..Default::default()
    };
    let insert = |oracle: &mut SetOracle, xid: Xid, rows: std::ops::Range<i32>| {
        let wal = XlogHeapWal(&n.x);
        let rel = HeapRel::new(rel2, &n.bm, &wal, &NoExt);
        let mut owner = ResourceOwner::default();
        oracle.me = xid;
        for k in rows {
            rel.insert(&mut owner, oracle, row(k, &"t".repeat(300)), xid, 0)
                .unwrap();
        }
        owner.release_all(Release::Commit);
        use tusk_storage::transam::CommitWal;
        XlogCommit {
            xlog: &n.x,
            synchronous: true,
            now: 0,
        }
        .log_commit(xid, &[])
        .unwrap();
        oracle.committed.insert(xid);
        oracle.me = 0;
    };
    insert(&mut oracle, xid0, 0..100);
    assert!(n.bm.smgr().nblocks(rel2, Fork::Main).unwrap() > 2);
    // TRUNCATE: WAL first (flushed), then the buffers, then the file.
    XlogHeapWal(&n.x)
        .log_smgr_truncate(rel2, Fork::Main, 0)
        .unwrap();
    n.bm.drop_relation_buffers(rel2, Fork::Main, 0);
    n.bm.smgr().truncate(rel2, Fork::Main, 0).unwrap();
    insert(&mut oracle, xid0 + 1, 1000..1010);
    drop(n);
    fault.0.borrow_mut().crash(CrashMode::LoseUnsynced).unwrap();
    let w2: World<Sh> = World::new(8);
    let (n2, _) = start(&w2, w.dir.path(), &fault, true, &Decided::default()).unwrap();
    let wal = XlogHeapWal(&n2.x);
    let rel = HeapRel::new(rel2, &n2.bm, &wal, &NoExt);
    let mut owner = ResourceOwner::default();
    let seen = SetOracle {
        committed: oracle.committed.clone(),
        ..Default::default()
    };
    let mut scan = rel.begin_scan(&seen).unwrap();
    let mut keys = Vec::new();
    while let Some((_, t)) = scan.next(&mut owner).unwrap() {
        keys.push(unrow(&t).0);
    }
    scan.end(&mut owner);
    owner.release_all(Release::Commit);
    keys.sort();
    assert_eq!(keys, (1000..1010).collect::<Vec<_>>());
    assert_eq!(rel.nblocks().unwrap(), 1);
}

/// A dropped relation (Storage UNLINK after its changes): redo removes
/// the files again, even those its images recreated, and with
/// `full_page_writes` off the changes that found its blocks missing are
/// excused by the unlink; without an unlink, such a missing block fails
/// recovery naming the page.
#[test]
fn dropped_relation_stays_dropped_and_missing_pages_are_named() {
    for (fpw, drop_it) in [(true, true), (false, true), (false, false)] {
        let w: World<Sh> = World::new(8);
        init_cluster(w.dir.path());
        let fault = SharedSmgr(Rc::new(RefCell::new(FaultSmgr::new(Md::new(
            w.dir.path(),
            SEG_BLOCKS,
        )))));
        let cfg = XlogConfig {
            full_page_writes: fpw,
            ..CFG
        };
        let (n, _) = start_with(&w, w.dir.path(), &fault, false, &Decided::default(), cfg).unwrap();
        let mut m = Model::new(41, first_xid(&n));
        m.run(&n, 60, 0);
        checkpoint(&n.x, &n.ctl, &n.bm, CheckpointKind::Online).unwrap();
        // Changes after the checkpoint: updates and deletes need the old
        // page content (no image when full_page_writes is off).
        m.run(&n, 40, 0);
        if drop_it {
            XlogHeapWal(&n.x).log_smgr_unlink(REL).unwrap();
            for f in Fork::ALL {
                n.bm.drop_relation_buffers(REL, f, 0);
                n.bm.smgr().unlink(REL, f).unwrap();
            }
        }
        drop(n);
        fault.0.borrow_mut().crash(CrashMode::KeepUnsynced).unwrap();
        if !drop_it {
            // The file is lost without WAL saying so.
            fault
                .0
                .borrow_mut()
                .inner()
                .unlink(REL, Fork::Main)
                .unwrap();
        }
        let w2: World<Sh> = World::new(8);
        let r = start_with(&w2, w.dir.path(), &fault, true, &Decided::default(), cfg);
        if drop_it {
            let (n2, _) = r.unwrap();
            assert!(
                !n2.bm.smgr().exists(REL, Fork::Main).unwrap(),
                "fpw {fpw}: the dropped relation came back"
            );
        } else {
            let err = r.err().expect("missing pages must fail recovery");
            // The first block redo met missing names the relation: as
            // missing, or as uninitialised when a page-initialising
            // record (a new page's insert) added later blocks first.
            assert!(
                err.contains("WAL contains references to invalid pages")
                    && (err.contains("of relation base/5/16384 does not exist")
                        || err.contains("of relation base/5/16384 is uninitialized")),
                "{err}"
            );
        }
    }
}

/// With `full_page_writes = off` nothing repairs a torn page: recovery
/// stops with the checksum failure naming the block (PostgreSQL's
/// "invalid page in block"), which is what the images are for. Also the
/// insertion-time recheck: a record built against an old redo pointer is
/// refused once a checkpoint moved it to or past a logged page's LSN.
#[test]
fn without_full_page_writes_a_torn_page_stops_recovery() {
    let w: World<Sh> = World::new(8);
    init_cluster(w.dir.path());
    let fault = SharedSmgr(Rc::new(RefCell::new(FaultSmgr::new(Md::new(
        w.dir.path(),
        SEG_BLOCKS,
    )))));
    let off = XlogConfig {
        full_page_writes: false,
        ..CFG
    };
    let (n, _) = start_with(&w, w.dir.path(), &fault, false, &Decided::default(), off).unwrap();
    let mut m = Model::new(31, first_xid(&n));
    m.run(&n, 300, 70);
    // The recheck, on this handle with full_page_writes on.
    let on = XlogConfig {
        full_page_writes: true,
        ..CFG
    };
    n.x.set_config(on);
    let redo = n.x.redo_rec_ptr();
    assert!(redo > 0);
    let rec = tusk_storage::wal::Record {
        rmid: tusk_storage::wal::RM_XLOG_ID,
        info: xlog::XLOG_NOOP,
        xid: 0,
        blocks: vec![],
        main_data: vec![1, 2, 3],
    };
    assert_eq!(n.x.insert_record_fpw(&rec, Some(redo)).unwrap(), None);
    assert!(n
        .x
        .insert_record_fpw(&rec, Some(redo + 1))
        .unwrap()
        .is_some());
    n.x.set_config(off);
    drop(n);
    fault
        .0
        .borrow_mut()
        .crash(CrashMode::TearUnsynced(512))
        .unwrap();
    assert!(damaged_blocks(&fault) > 0);
    let w2: World<Sh> = World::new(8);
    let err = start_with(&w2, w.dir.path(), &fault, true, &Decided::default(), off)
        .err()
        .expect("a torn page without an image");
    assert!(
        err.contains("invalid page in block") && err.contains("base/5/16384"),
        "{err}"
    );
}

/// log_startup_progress_interval: a redo longer than the interval logs
/// "redo in progress" lines (PostgreSQL 15's); with 0 (every other test
/// here) there are none.
#[test]
fn long_redo_logs_its_progress() {
    let w: World<Sh> = World::new(64);
    let (fault, n) = setup(&w);
    let mut m = Model::new(43, first_xid(&n));
    m.history = false;
    m.run(&n, 1500, 0);
    drop(n);
    fault.0.borrow_mut().crash(CrashMode::KeepUnsynced).unwrap();
    let cfg = XlogConfig {
        startup_progress_interval_ms: 1,
        ..CFG
    };
    let w2: World<Sh> = World::new(64);
    let t = std::time::Instant::now();
    let (_, r) = start_with(&w2, w.dir.path(), &fault, true, &Decided::default(), cfg).unwrap();
    // Thousands of records take far longer than 1 ms, even in release.
    assert!(r.replayed > 5000, "{} records", r.replayed);
    assert!(t.elapsed().as_millis() >= 2);
    assert!(r.progress_reports > 0);
}

/// Redo throughput: a workload's WAL replayed from the checkpoint
/// through a 32 MB pool over the plain `Md` smgr (as the server's startup
/// process); prints MB of WAL per second of redo (meaningful in a release
/// build; `TUSK_REDO_BENCH_TXNS` sets the workload size).
#[test]
fn redo_throughput() {
    let txns = std::env::var("TUSK_REDO_BENCH_TXNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    let w: World<Sh> = World::new(1024);
    let (fault, n) = setup(&w);
    let mut m = Model::new(23, first_xid(&n));
    m.history = false;
    m.run(&n, txns, 0);
    drop(n);
    fault.0.borrow_mut().crash(CrashMode::KeepUnsynced).unwrap();
    let w2: World<Sh> = World::new(4096);
    let dir = w.dir.path();
    // SAFETY: the region's WAL area, initialised and mapped for the life
    // of w2, which outlives both handles.
    let attach = || unsafe {
        Xlog::attach(
            w2.area(AreaId::WalBuffers),
            w2.sizing.wal_buffers,
            w2.procs(),
            0,
            dir,
            CFG,
        )
    };
    let x = attach();
    // SAFETY: the region's pg_control area, as above.
    let view = unsafe { PgControlView::from_raw(w2.area(AreaId::PgControl) as *const _) };
    let ctl = PgControlWriter::new(view, dir.to_path_buf(), w2.procs(), 0);
    let c = ctl.load().unwrap();
    let md = Md::new(dir, SEG_BLOCKS);
    let bm = w2.bufmgr(0, Box::new(md), Box::new(attach()), true);
    let decided = Decided::default();
    let t = std::time::Instant::now();
    let r = xlog::startup_redo(&x, &c, true, Some(&decided), Some(&bm)).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let mb = (r.end - c.checkpoint_copy.redo) as f64 / (1024.0 * 1024.0);
    println!(
        "redo_throughput: {} records, {mb:.1} MB of WAL replayed in {secs:.3} s: {:.1} MB/s",
        r.replayed,
        mb / secs
    );
    checkpoint(&x, &ctl, &bm, CheckpointKind::EndOfRecovery).unwrap();
    let mut committed = decided.0.borrow().0.clone();
    committed.extend(m.clog_at_checkpoint.iter().copied());
    assert_eq!(visible_rows(&Node { x, ctl, bm }, &committed), m.table);
}
