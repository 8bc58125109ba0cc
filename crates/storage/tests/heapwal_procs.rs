//! Full-page images under concurrency: forked backends change heap pages through `XlogHeapWal` while the parent takes checkpoints back to back; every block's first record after each checkpoint's redo pointer must carry its image, and redo from the last checkpoint must give back every row.
//!
//! Why this test: the image decision is made against the redo pointer
//! read without a lock, and a checkpoint may move it before the record is
//! inserted; `Xlog::insert_record_fpw` must then make the logger build the
//! record again with the image. Only real concurrency (backends and a
//! checkpointer in separate processes on one region) exercises that
//! window. The check reads the WAL itself, so it does not depend on a
//! crash happening to tear the one page that lost its image.
//!
//! `harness = false` (as tests/heapam.rs): children allocate, which is
//! unsafe in a child forked from libtest's threads; `main` runs the test in
//! one thread. The world (region, semaphores, directory) is removed and
//! the children are killed and reaped by PID even when the test fails.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use tusk_storage::bufmgr::BufMgr;
use tusk_storage::clog::XidStatus;
use tusk_storage::control::{ControlFileData, PgControlView, PgControlWriter};
use tusk_storage::heapam::{ExtensionLock, HeapRel, HeapWal, SetOracle, UpdateOutcome, Xid};
use tusk_storage::heaptuple::{self, Align, Attr, Datum, ItemPointer};
use tusk_storage::heapwal::XlogHeapWal;
use tusk_storage::layout::AreaId;
use tusk_storage::lwlock::{LwLock, LwMode, LwWaiter};
use tusk_storage::smgr::{Fork, RelFileLocator};
use tusk_storage::transam::CommitWal;
use tusk_storage::wal::{lsn_str, wal_file_name, WalReader};
use tusk_storage::xact::{Release, ResourceOwner};
use tusk_storage::xactwal::{XactRedo, XlogCommit};
use tusk_storage::xlog::{self, CheckpointKind, SyncMethod, Xlog, XlogConfig, XlogError};

#[allow(dead_code)]
mod support;
use support::{fork_child, Children, Procs, SharedState, World, MAX_PROCS, REL};

const ATTRS: [Attr; 2] = [Attr::fixed(4, Align::Int, true), Attr::varlena(Align::Int)];
const SEG: u64 = 1 << 20;
const SYSID: u64 = 0x4EA9;
const CHILDREN: u32 = 3;
const ROWS: i32 = 150;
const ROUNDS: usize = 6;
const DEADLINE: Duration = Duration::from_secs(300);
const CFG: XlogConfig = XlogConfig {
    fsync: false,
    sync_method: SyncMethod::Fdatasync,
    full_page_writes: true,
    startup_progress_interval_ms: 0,
};

#[repr(C)]
struct Sh {
    waiters: [LwWaiter; MAX_PROCS],
    ext: LwLock,
}
// SAFETY: all-zero waiters are "not waiting"; the lock is initialised in
// init().
unsafe impl SharedState for Sh {
    fn init(&self) {
        self.ext.init();
    }
    fn waiters(&self) -> &[LwWaiter; MAX_PROCS] {
        &self.waiters
    }
}

struct Ext<'a> {
    sh: &'a Sh,
    procs: Procs,
    me: u32,
}
impl ExtensionLock for Ext<'_> {
    fn lock(&self, _: RelFileLocator) {
        self.sh.ext.acquire(&self.procs, self.me, LwMode::Exclusive);
    }
    fn unlock(&self, _: RelFileLocator) {
        self.sh.ext.release(&self.procs);
    }
}

fn xlog_for(w: &World<Sh>, me: u32) -> Xlog<Procs> {
    // SAFETY: the region's WAL area, initialised by the registry and
    // mapped for the life of the world, which outlives the handle.
    unsafe {
        Xlog::attach(
            w.area(AreaId::WalBuffers),
            w.sizing.wal_buffers,
            w.procs(),
            me,
            w.dir.path(),
            CFG,
        )
    }
}

fn control(w: &World<Sh>, me: u32) -> PgControlWriter<Procs> {
    // SAFETY: the region's pg_control area, as above.
    let view = unsafe { PgControlView::from_raw(w.area(AreaId::PgControl) as *const _) };
    PgControlWriter::new(view, w.dir.path().to_path_buf(), w.procs(), me)
}

fn row(key: i32, round: usize) -> Vec<u8> {
    let v = format!(
        "key {key} round {round} {}",
        "x".repeat(40 + key as usize % 200)
    );
    heaptuple::form_tuple(
        &ATTRS,
        &[
            Some(Datum::ByVal(key as u32 as u64)),
            Some(Datum::Ref(v.as_bytes())),
        ],
    )
    .unwrap()
}

fn first_xid(child: u32) -> Xid {
    1_000 + child as u64 * 100_000
}

/// A backend: ROWS inserts, then ROUNDS updates of each of its rows, one
/// committed transaction each (its own xids, so its oracle knows them).
fn backend(w: &World<Sh>, child: u32) -> i32 {
    let me = child + 1;
    let x = xlog_for(w, me);
    let bm = w.bufmgr(me, Box::new(w.md()), Box::new(xlog_for(w, me)), true);
    let wal = XlogHeapWal(&x);
    let ext = Ext {
        sh: w.shared(),
        procs: w.procs(),
        me,
    };
    let rel = HeapRel::new(REL, &bm, &wal, &ext);
    let mut oracle = SetOracle::default();
    let mut owner = ResourceOwner::default();
    let mut xid = first_xid(child);
    let commit = XlogCommit {
        xlog: &x,
        synchronous: false,
        now: 0,
    };
    let mut tids = Vec::new();
    for k in 0..ROWS {
        oracle.me = xid;
        let key = child as i32 * 10_000 + k;
        tids.push(
            rel.insert(&mut owner, &oracle, row(key, 0), xid, 0)
                .unwrap(),
        );
        commit.log_commit(xid, &[]).unwrap();
        oracle.committed.insert(xid);
        xid += 1;
        oracle.horizon = xid;
    }
    for round in 1..=ROUNDS {
        for (k, tid) in tids.iter_mut().enumerate() {
            oracle.me = xid;
            let key = child as i32 * 10_000 + k as i32;
            match rel
                .update(&mut owner, &oracle, *tid, row(key, round), xid, 0)
                .unwrap()
            {
                UpdateOutcome::Updated { new, .. } => *tid = new,
                UpdateOutcome::Failed(f) => panic!("update of {key}: {f:?}"),
            }
            commit.log_commit(xid, &[]).unwrap();
            oracle.committed.insert(xid);
            xid += 1;
            oracle.horizon = xid;
        }
    }
    x.flush_all().unwrap();
    owner.release_all(Release::Commit);
    0
}

fn checkpoint(x: &Xlog<Procs>, ctl: &PgControlWriter<Procs>, bm: &BufMgr) -> u64 {
    xlog::create_checkpoint(x, ctl, CheckpointKind::Online, &mut || {
        let mut owner = ResourceOwner::default();
        let r = bm.flush_all_dirty(&mut owner);
        owner.release_all(Release::Abort);
        r.map(|_| ()).map_err(|e| XlogError {
            message: e.message,
            corrupt: false,
        })
    })
    .unwrap();
    ctl.load().unwrap().checkpoint_copy.redo
}

/// From `redo` on, each block's first record has its image or
/// initialises it. Returns the number of images.
fn check_images(dir: &Path, redo: u64) -> usize {
    let first = redo / SEG;
    let mut buf = Vec::new();
    let mut segno = first;
    while let Ok(b) = std::fs::read(dir.join("pg_wal").join(wal_file_name(1, segno, SEG))) {
        buf.extend_from_slice(&b);
        segno += 1;
    }
    let mut r = WalReader::new(&buf, first * SEG, redo, None, 1, SYSID, SEG);
    let mut seen = HashSet::new();
    let mut images = 0;
    while let Ok(rec) = r.read_record() {
        for b in &rec.record.blocks {
            images += b.image.is_some() as usize;
            if seen.insert(b.blkno) {
                assert!(
                    b.image.is_some() || b.will_init,
                    "block {} first changed after redo pointer {} at {} without an image",
                    b.blkno,
                    lsn_str(redo),
                    lsn_str(rec.lsn)
                );
            }
        }
    }
    images
}

struct NoDecisions;
impl XactRedo for NoDecisions {
    fn replay(&self, _: u64, _: &[u64], _: XidStatus) -> Result<(), tusk_common::PgError> {
        Ok(())
    }
}

fn concurrent_changes_during_checkpoints_keep_the_image_rule() {
    let w: World<Sh> = World::new(16);
    let dir = w.dir.path();
    std::fs::create_dir(dir.join("pg_wal")).unwrap();
    std::fs::create_dir(dir.join("global")).unwrap();
    let mut c = ControlFileData::new_cluster();
    c.system_identifier = SYSID;
    c.xlog_seg_size = SEG as u32;
    xlog::bootstrap_wal(dir, &mut c).unwrap();
    c.write(dir, true).unwrap();
    let x = xlog_for(&w, 0);
    let ctl = control(&w, 0);
    xlog::startup(&x, &ctl.load().unwrap(), false).unwrap();
    let bm = w.bufmgr(0, Box::new(w.md()), Box::new(xlog_for(&w, 0)), true);
    {
        let mut s = bm.smgr();
        s.create(REL, Fork::Main, false).unwrap();
    }
    XlogHeapWal(&x).log_smgr_create(REL, Fork::Main);

    let mut children = Children(Vec::new());
    for child in 0..CHILDREN {
        let wr = &w;
        children.0.push(fork_child(move || backend(wr, child)));
    }
    // Checkpoints back to back until every backend is done.
    let mut redos = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    let mut codes = Vec::new();
    while !children.0.is_empty() {
        assert!(Instant::now() < deadline, "backends still running");
        redos.push(checkpoint(&x, &ctl, &bm));
        children.0.retain(|&pid| {
            let mut status = 0;
            // SAFETY: our child.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if r == pid {
                codes.push(if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else {
                    128 + libc::WTERMSIG(status)
                });
                false
            } else {
                true
            }
        });
    }
    assert_eq!(codes, vec![0; CHILDREN as usize], "backends' exit codes");
    assert!(redos.len() >= 3, "only {} checkpoints ran", redos.len());
    redos.dedup();
    let mut images = 0;
    for &r in &redos {
        images += check_images(dir, r);
    }
    assert!(images > 0);
    println!(
        "{} checkpoints during the workload, {images} images after their redo pointers",
        redos.len()
    );

    // Crash: the region (dirty buffers, WAL buffers) is gone; redo from
    // the last checkpoint gives back every row at its last version.
    drop(bm);
    drop(x);
    let w2: World<Sh> = World::new(16);
    // SAFETY: w2's WAL area, mapped for the life of w2.
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
    let x2 = attach();
    // SAFETY: w2's pg_control area.
    let view = unsafe { PgControlView::from_raw(w2.area(AreaId::PgControl) as *const _) };
    let ctl2 = PgControlWriter::new(view, dir.to_path_buf(), w2.procs(), 0);
    let bm2 = w2.bufmgr(
        0,
        Box::new(tusk_storage::smgr::Md::new(dir, support::SEG_BLOCKS)),
        Box::new(attach()),
        true,
    );
    let r = xlog::startup_redo(
        &x2,
        &ctl2.load().unwrap(),
        true,
        Some(&NoDecisions),
        Some(&bm2),
    )
    .unwrap();
    assert!(r.replayed > 0);
    let mut oracle = SetOracle::default();
    let per_child = ROWS as u64 * (1 + ROUNDS as u64);
    for child in 0..CHILDREN {
        oracle
            .committed
            .extend(first_xid(child)..first_xid(child) + per_child);
    }
    let wal = XlogHeapWal(&x2);
    let ext = Ext {
        sh: w2.shared(),
        procs: w2.procs(),
        me: 0,
    };
    let rel = HeapRel::new(REL, &bm2, &wal, &ext);
    let mut owner = ResourceOwner::default();
    let mut scan = rel.begin_scan(&oracle).unwrap();
    let mut got: BTreeMap<i32, (ItemPointer, Vec<u8>)> = BTreeMap::new();
    while let Some((tid, t)) = scan.next(&mut owner).unwrap() {
        let v = heaptuple::deform_tuple(&t, &ATTRS).unwrap();
        let Some(Datum::ByVal(k)) = v[0] else {
            panic!("key")
        };
        let key = k as u32 as i32;
        assert!(got.insert(key, (tid, t.clone())).is_none(), "{key} twice");
    }
    scan.end(&mut owner);
    owner.release_all(Release::Commit);
    assert_eq!(got.len(), (CHILDREN as i32 * ROWS) as usize);
    for (key, (_, t)) in &got {
        let want = row(*key, ROUNDS);
        assert_eq!(
            &t[heaptuple::SIZEOF_HEAP_TUPLE_HEADER..],
            &want[heaptuple::SIZEOF_HEAP_TUPLE_HEADER..],
            "row {key}"
        );
    }
}

fn main() {
    support::run(&[(
        "concurrent_changes_during_checkpoints_keep_the_image_rule",
        concurrent_changes_during_checkpoints_keep_the_image_rule,
    )]);
}
