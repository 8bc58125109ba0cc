//! The buffer manager across real processes: forked children share one pool laid out by the area registry, each with its own Md smgr over a temporary data directory.
//!
//! Why a test binary of its own with `harness = false`: children here do
//! what a backend does (open files, allocate pages and hash maps, keep a
//! resource owner), and allocating in a child forked from the
//! multi-threaded libtest harness is unsafe (another thread may hold a
//! lock at fork). This `main` runs the tests one after another in a
//! single thread, so a forked child is an ordinary process. Each test
//! builds its own region and semaphore set and removes them (and kills
//! and reaps its children by PID) even when it fails; that harness is
//! shared with tests/heapam.rs in tests/support. Run one test with
//! `cargo test -p tusk-storage --test bufmgr -- NAME`.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tusk_common::error::PgError;
use tusk_storage::bufmgr::*;
use tusk_storage::control::{ControlFileData, PgControlView, PgControlWriter};
use tusk_storage::layout::AreaId;
use tusk_storage::lwlock::{LwMode, LwWaiter};
use tusk_storage::page::{self, PageBuf, BLCKSZ};
use tusk_storage::smgr::{BlockNumber, FaultPlan, FaultSmgr, Fork, RelFileLocator, Smgr};
use tusk_storage::xact::{Release, ResourceOwner};
use tusk_storage::xlog::{self, CheckpointKind, SyncMethod, Xlog, XlogConfig, XlogError};

mod support;
use support::{fork_child, refcounts, wait_for, Children, SharedState, MAX_PROCS, REL};

/// How long children may run before the test fails (and kills them).
const DEADLINE: Duration = Duration::from_secs(120);

/// Counters and flags the processes of a test share.
#[repr(C)]
#[derive(Default)]
struct Shared {
    /// smgr reads, over every process.
    reads: AtomicU64,
    /// smgr writes.
    writes: AtomicU64,
    /// WAL flushes asked for, and the highest LSN flushed.
    flushes: AtomicU64,
    flushed_upto: AtomicU64,
    /// Writes of a page whose LSN was beyond flushed WAL: must stay 0.
    wal_violations: AtomicU64,
    /// Set by the test to make the next flush_upto fail.
    fail_wal: AtomicU32,
    started: AtomicU64,
    ready: AtomicU64,
    done: AtomicU64,
    /// Microseconds each smgr read sleeps, to widen race windows.
    read_delay_us: AtomicU64,
    /// The first this-many smgr reads fail with EIO.
    fail_reads: AtomicU64,
    /// Order of events: 1 = WAL flush, 2 = page write, 4 bits each.
    events: AtomicU64,
    nevents: AtomicU32,
    waiters: [LwWaiter; MAX_PROCS],
}

// SAFETY: atomics and LwWaiters, for which all zero is valid ("not
// waiting"); nothing needs another initial state.
unsafe impl SharedState for Shared {
    fn waiters(&self) -> &[LwWaiter; MAX_PROCS] {
        &self.waiters
    }
}

/// One test's world (see tests/support): the pool, these counters, a
/// semaphore per process, a data directory.
type World = support::World<Shared>;

impl World {
    /// A buffer manager for process `me`, whose smgr is `smgr` wrapped in
    /// the counting/checking layer.
    fn mgr_with(&self, me: u32, smgr: Box<dyn Smgr>, checksums: bool) -> BufMgr {
        let sh = self.shared();
        self.bufmgr(
            me,
            Box::new(Checked { inner: smgr, sh }),
            Box::new(FakeWal { sh }),
            checksums,
        )
    }

    fn mgr(&self, me: u32) -> BufMgr {
        self.mgr_with(me, Box::new(self.md()), true)
    }

    /// Creates REL with `n` blocks: block b holds `content(b, 0)`, written
    /// straight to the files (as if by an earlier server run).
    fn create_table(&self, n: u32) {
        let mut md = self.md();
        md.create(REL, Fork::Main, false).unwrap();
        for b in 0..n {
            md.extend(REL, Fork::Main, b, &on_disk(&content(b, 0), b))
                .unwrap();
        }
    }
}

/// The recording WAL: flush_upto records the event and the LSN.
struct FakeWal {
    sh: &'static Shared,
}

fn record(sh: &Shared, ev: u64) {
    let n = sh.nevents.fetch_add(1, Ordering::SeqCst);
    if n < 16 {
        sh.events.fetch_or(ev << (4 * n), Ordering::SeqCst);
    }
}

impl WalFlusher for FakeWal {
    fn flush_upto(&self, lsn: u64) -> Result<(), XlogError> {
        if self.sh.fail_wal.load(Ordering::SeqCst) != 0 {
            return Err(XlogError {
                message: "could not write to log file: injected".into(),
                corrupt: false,
            });
        }
        self.sh.flushes.fetch_add(1, Ordering::SeqCst);
        self.sh.flushed_upto.fetch_max(lsn, Ordering::SeqCst);
        record(self.sh, 1);
        Ok(())
    }
}

/// Counts reads and writes in shared memory, and checks WAL before data
/// on every write: the page's LSN must have been flushed.
struct Checked {
    inner: Box<dyn Smgr>,
    sh: &'static Shared,
}

impl Smgr for Checked {
    fn exists(&mut self, rel: RelFileLocator, fork: Fork) -> Result<bool, PgError> {
        self.inner.exists(rel, fork)
    }
    fn create(&mut self, rel: RelFileLocator, fork: Fork, r: bool) -> Result<(), PgError> {
        self.inner.create(rel, fork, r)
    }
    fn unlink(&mut self, rel: RelFileLocator, fork: Fork) -> Result<(), PgError> {
        self.inner.unlink(rel, fork)
    }
    fn extend(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        b: BlockNumber,
        p: &PageBuf,
    ) -> Result<(), PgError> {
        self.inner.extend(rel, fork, b, p)
    }
    fn read(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        b: BlockNumber,
        p: &mut PageBuf,
    ) -> Result<(), PgError> {
        let n = self.sh.reads.fetch_add(1, Ordering::SeqCst);
        let us = self.sh.read_delay_us.load(Ordering::SeqCst);
        if us > 0 {
            // Widens the window in which other processes find the block
            // being read; correctness does not depend on it.
            std::thread::sleep(Duration::from_micros(us));
        }
        if n < self.sh.fail_reads.load(Ordering::SeqCst) {
            return Err(PgError::error(
                tusk_common::sqlstate::IO_ERROR,
                format!("could not read block {b}: injected"),
            ));
        }
        self.inner.read(rel, fork, b, p)
    }
    fn write(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        b: BlockNumber,
        p: &PageBuf,
    ) -> Result<(), PgError> {
        if page::lsn(p) > self.sh.flushed_upto.load(Ordering::SeqCst) {
            self.sh.wal_violations.fetch_add(1, Ordering::SeqCst);
        }
        self.sh.writes.fetch_add(1, Ordering::SeqCst);
        record(self.sh, 2);
        self.inner.write(rel, fork, b, p)
    }
    fn nblocks(&mut self, rel: RelFileLocator, fork: Fork) -> Result<BlockNumber, PgError> {
        self.inner.nblocks(rel, fork)
    }
    fn truncate(&mut self, rel: RelFileLocator, fork: Fork, n: BlockNumber) -> Result<(), PgError> {
        self.inner.truncate(rel, fork, n)
    }
    fn sync(&mut self, rel: RelFileLocator, fork: Fork) -> Result<(), PgError> {
        self.inner.sync(rel, fork)
    }
    fn close(&mut self, rel: RelFileLocator) {
        self.inner.close(rel)
    }
}

/// The page block `b` holds after writer `w` (0: initial) wrote it: an
/// initialised page whose special space and first bytes name both, LSN
/// derived from them.
fn content(b: u32, w: u32) -> Box<PageBuf> {
    let mut p: Box<PageBuf> = Box::new([0u8; BLCKSZ]);
    page::init(&mut p, 16);
    let sp = page::special_mut(&mut p);
    sp[..4].copy_from_slice(&b.to_le_bytes());
    sp[4..8].copy_from_slice(&w.to_le_bytes());
    for (i, x) in p[100..8000].iter_mut().enumerate() {
        *x = (b as usize * 31 + w as usize * 7 + i) as u8;
    }
    page::set_lsn(&mut p, ((w as u64) << 32) | (b as u64 + 1));
    p
}

/// `p` as the buffer manager writes it: checksummed for block `b`.
fn on_disk(p: &PageBuf, b: u32) -> Box<PageBuf> {
    let mut c = Box::new(*p);
    page::set_checksum(&mut c, b);
    c
}

/// Same content, ignoring pd_checksum (set only on the written copy).
fn same_content(a: &PageBuf, b: &PageBuf) -> bool {
    a[..8] == b[..8] && a[10..] == b[10..]
}

fn new_owner() -> ResourceOwner {
    ResourceOwner::default()
}

// ---------------------------------------------------------------------------

/// A table ten times larger than the pool, written by four processes at
/// once (each every fourth block), read back exactly by each, then by a
/// fresh process through the pool and from the files after a checkpoint.
/// No pin is lost, no page was written before its WAL.
fn many_writers_on_a_table_larger_than_the_pool() {
    const NBUF: usize = 16;
    const BLOCKS: u32 = 160;
    const N: u32 = 4;
    let w = World::new(NBUF);
    w.create_table(BLOCKS);
    let sh = w.shared();
    let mut kids = Children(Vec::new());
    for me in 0..N {
        let w = &w;
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(me);
            let mut owner = new_owner();
            sh.started.fetch_add(1, Ordering::SeqCst);
            if !wait_for(&sh.started, N as u64, DEADLINE) {
                return 2;
            }
            for round in 0..2 {
                for b in (me..BLOCKS).step_by(N as usize) {
                    let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
                    {
                        let mut l = mgr.lock(&pin, LwMode::Exclusive);
                        let want = content(b, if round == 0 { 0 } else { me + 1 });
                        if !same_content(l.page(), &want) {
                            return 3;
                        }
                        l.page_mut().copy_from_slice(&*content(b, me + 1));
                        l.mark_dirty();
                    }
                    mgr.release(&mut owner, pin);
                }
                // Everyone else's blocks, read (shared lock) while they
                // are being written: either version, never anything else.
                for b in 0..BLOCKS {
                    let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
                    let ok = {
                        let l = mgr.lock(&pin, LwMode::Shared);
                        let wr = b % N + 1;
                        same_content(l.page(), &content(b, 0))
                            || same_content(l.page(), &content(b, wr))
                    };
                    mgr.release(&mut owner, pin);
                    if !ok {
                        return 4;
                    }
                }
            }
            if mgr.pinned_buffers() != 0 || !owner.is_empty() {
                return 5;
            }
            0
        }));
    }
    assert_eq!(kids.wait_all(DEADLINE), vec![0; N as usize]);
    assert_eq!(refcounts(&w.pool), vec![0; NBUF], "no pin lost");
    let mgr = w.mgr(N);
    let mut owner = new_owner();
    for b in 0..BLOCKS {
        let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
        assert!(
            same_content(
                mgr.lock(&pin, LwMode::Shared).page(),
                &content(b, b % N + 1)
            ),
            "block {b}"
        );
        mgr.release(&mut owner, pin);
    }
    let stats = mgr.flush_all_dirty(&mut owner).unwrap();
    assert!(stats.synced >= 1, "{stats:?}");
    for b in 0..NBUF {
        assert_eq!(
            w.pool.state(b) & BM_DIRTY,
            0,
            "buffer {b} clean after checkpoint"
        );
    }
    let mut md = w.md();
    for b in 0..BLOCKS {
        let mut p = [0u8; BLCKSZ];
        md.read(REL, Fork::Main, b, &mut p).unwrap();
        page::verify(&p, b, true).unwrap();
        assert!(
            same_content(&p, &content(b, b % N + 1)),
            "block {b} on disk"
        );
    }
    assert_eq!(sh.wal_violations.load(Ordering::SeqCst), 0);
    assert!(sh.writes.load(Ordering::SeqCst) >= BLOCKS as u64);
    assert!(sh.flushes.load(Ordering::SeqCst) >= sh.writes.load(Ordering::SeqCst));
    assert_eq!(refcounts(&w.pool), vec![0; NBUF]);
}

/// Four processes read the same four uncached blocks at the same moment:
/// each block is read from disk exactly once.
fn concurrent_readers_of_one_block_read_it_once() {
    const N: u32 = 4;
    let w = World::new(16);
    w.create_table(4);
    let sh = w.shared();
    sh.read_delay_us.store(50_000, Ordering::SeqCst);
    let mut kids = Children(Vec::new());
    for me in 0..N {
        let w = &w;
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(me);
            let mut owner = new_owner();
            sh.started.fetch_add(1, Ordering::SeqCst);
            if !wait_for(&sh.started, N as u64, DEADLINE) {
                return 2;
            }
            for b in 0..4 {
                let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
                let ok = same_content(mgr.lock(&pin, LwMode::Shared).page(), &content(b, 0));
                mgr.release(&mut owner, pin);
                if !ok {
                    return 3;
                }
            }
            0
        }));
    }
    assert_eq!(kids.wait_all(DEADLINE), vec![0; N as usize]);
    assert_eq!(
        sh.reads.load(Ordering::SeqCst),
        4,
        "one smgr read per block"
    );
    assert_eq!(refcounts(&w.pool), vec![0; 16]);
}

/// One process holds pins on half the pool while another churns through
/// fifty blocks: the pinned buffers keep their blocks and contents. With
/// every buffer pinned, a miss is "no unpinned buffers available".
fn clock_sweep_never_evicts_a_pinned_buffer() {
    const NBUF: usize = 16;
    let w = World::new(NBUF);
    w.create_table(60);
    let sh = w.shared();
    let mut kids = Children(Vec::new());
    let holder = {
        let w = &w;
        fork_child(move || {
            let mgr = w.mgr(0);
            let mut owner = new_owner();
            let pins: Vec<Pin> = (0..8)
                .map(|b| mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap())
                .collect();
            let bufs: Vec<usize> = pins.iter().map(|p| p.buffer()).collect();
            sh.ready.store(1, Ordering::SeqCst);
            if !wait_for(&sh.done, 1, DEADLINE) {
                return 2;
            }
            for (b, pin) in pins.into_iter().enumerate() {
                let t = mgr.pool().desc(bufs[b]).tag.load();
                let ok = t.block == b as u32
                    && same_content(mgr.lock(&pin, LwMode::Shared).page(), &content(b as u32, 0));
                mgr.release(&mut owner, pin);
                if !ok {
                    return 3;
                }
            }
            0
        })
    };
    kids.0.push(holder);
    {
        let w = &w;
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(1);
            let mut owner = new_owner();
            if !wait_for(&sh.ready, 1, DEADLINE) {
                return 2;
            }
            for _ in 0..3 {
                for b in 8..60 {
                    let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
                    mgr.release(&mut owner, pin);
                }
            }
            sh.done.store(1, Ordering::SeqCst);
            0
        }));
    }
    assert_eq!(kids.wait_all(DEADLINE), vec![0, 0]);
    assert!(sh.reads.load(Ordering::SeqCst) >= 8 + 3 * 52 - 8);
    assert_eq!(refcounts(&w.pool), vec![0; NBUF]);

    // All pinned: the sweep gives up instead of taking a pinned buffer.
    let mgr = w.mgr(2);
    let mut owner = new_owner();
    let pins: Vec<Pin> = (0..NBUF as u32)
        .map(|b| mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap())
        .collect();
    let e = mgr
        .read_buffer(&mut owner, REL, Fork::Main, 40)
        .unwrap_err();
    assert_eq!(e.message, "no unpinned buffers available");
    assert_eq!(e.code, tusk_common::sqlstate::INTERNAL_ERROR);
    for (b, p) in pins.iter().enumerate() {
        assert_eq!(w.pool.desc(p.buffer()).tag.load().block, b as u32);
    }
    for p in pins {
        mgr.release(&mut owner, p);
    }
    assert!(owner.is_empty());
    assert_eq!(refcounts(&w.pool), vec![0; NBUF]);
}

/// The page's WAL is flushed before the page is written, both by
/// flush_buffer and by eviction; a failing WAL flush writes nothing and
/// leaves the buffer dirty.
fn wal_is_flushed_before_the_page_is_written() {
    let w = World::new(16);
    w.create_table(40);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let mut owner = new_owner();
    let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, 3).unwrap();
    {
        let mut l = mgr.lock(&pin, LwMode::Exclusive);
        page::set_lsn(l.page_mut(), 0x1_0000_1234);
        l.mark_dirty();
    }
    sh.fail_wal.store(1, Ordering::SeqCst);
    let e = mgr.flush_buffer(&pin).unwrap_err();
    assert!(e.message.contains("injected"), "{}", e.message);
    assert_eq!(sh.writes.load(Ordering::SeqCst), 0, "no write without WAL");
    let st = w.pool.state(pin.buffer());
    assert_ne!(st & BM_DIRTY, 0);
    assert_eq!(st & BM_IO_IN_PROGRESS, 0);
    sh.fail_wal.store(0, Ordering::SeqCst);
    mgr.flush_buffer(&pin).unwrap();
    assert_eq!(sh.nevents.load(Ordering::SeqCst), 2);
    assert_eq!(sh.events.load(Ordering::SeqCst), 0x21, "flush, then write");
    assert_eq!(sh.flushed_upto.load(Ordering::SeqCst), 0x1_0000_1234);
    assert_eq!(w.pool.state(pin.buffer()) & BM_DIRTY, 0);
    // Dirty it again and let eviction write it.
    {
        let mut l = mgr.lock(&pin, LwMode::Exclusive);
        page::set_lsn(l.page_mut(), 0x2_0000_0000);
        l.mark_dirty();
    }
    mgr.release(&mut owner, pin);
    for b in 4..40 {
        let p = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
        mgr.release(&mut owner, p);
    }
    assert_eq!(sh.flushed_upto.load(Ordering::SeqCst), 0x2_0000_0000);
    assert_eq!(sh.wal_violations.load(Ordering::SeqCst), 0);
    let mut p = [0u8; BLCKSZ];
    w.md().read(REL, Fork::Main, 3, &mut p).unwrap();
    assert_eq!(page::lsn(&p), 0x2_0000_0000, "evicted page on disk");
    page::verify(&p, 3, true).unwrap();
}

/// A block with a bad checksum, and one torn by a crash mid-write (the
/// fault-injecting smgr), are ERROR XX001 naming block and relation; the
/// buffer stays invalid with IO_ERROR and unpinned, and a later read
/// retries (succeeding once the block is good again).
fn damaged_blocks_are_data_corrupted_errors() {
    let w = World::new(16);
    w.create_table(6);
    // A flipped byte in block 3's item area.
    let mut md = w.md();
    let mut p = [0u8; BLCKSZ];
    md.read(REL, Fork::Main, 3, &mut p).unwrap();
    p[5000] ^= 0x40;
    md.write(REL, Fork::Main, 3, &p).unwrap();
    let mgr = w.mgr(0);
    let mut owner = new_owner();
    for _ in 0..2 {
        let e = mgr.read_buffer(&mut owner, REL, Fork::Main, 3).unwrap_err();
        assert_eq!(e.code, tusk_common::sqlstate::DATA_CORRUPTED);
        assert_eq!(
            e.message,
            "invalid page in block 3 of relation base/5/16384"
        );
        assert!(owner.is_empty());
        assert_eq!(mgr.pinned_buffers(), 0);
    }
    let b = (0..16)
        .find(|&b| w.pool.state(b) & BM_TAG_VALID != 0 && w.pool.desc(b).tag.load().block == 3)
        .expect("the failed block keeps its buffer");
    let st = w.pool.state(b);
    assert_eq!(st & (BM_VALID | BM_IO_IN_PROGRESS), 0);
    assert_ne!(st & BM_IO_ERROR, 0);
    assert_eq!(refcount(st), 0);
    // Repaired: the next read reads again and succeeds.
    md.write(REL, Fork::Main, 3, &on_disk(&content(3, 0), 3))
        .unwrap();
    let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, 3).unwrap();
    assert!(same_content(
        mgr.lock(&pin, LwMode::Shared).page(),
        &content(3, 0)
    ));
    assert_eq!(w.pool.state(pin.buffer()) & BM_IO_ERROR, 0);
    mgr.release(&mut owner, pin);

    // A torn write: the process writing block 4 dies after 512 bytes.
    let mut fault = FaultSmgr::new(w.md());
    fault.set_plan(FaultPlan {
        torn_write: Some((1, 512)),
        ..FaultPlan::default()
    });
    let writer = w.mgr_with(1, Box::new(fault), true);
    let pin = writer.read_buffer(&mut owner, REL, Fork::Main, 4).unwrap();
    {
        let mut l = writer.lock(&pin, LwMode::Exclusive);
        l.page_mut().copy_from_slice(&*content(4, 9));
        l.mark_dirty();
    }
    assert!(writer.flush_buffer(&pin).is_err(), "the torn write fails");
    assert_ne!(w.pool.state(pin.buffer()) & BM_DIRTY, 0, "still dirty");
    writer.release(&mut owner, pin);
    writer.drop_relation_buffers(REL, Fork::Main, 0);
    assert!((0..16).all(|b| w.pool.state(b) & BM_TAG_VALID == 0));
    let e = mgr.read_buffer(&mut owner, REL, Fork::Main, 4).unwrap_err();
    assert_eq!(e.code, tusk_common::sqlstate::DATA_CORRUPTED);
    assert_eq!(
        e.message,
        "invalid page in block 4 of relation base/5/16384"
    );
    assert_eq!(refcounts(&w.pool), vec![0; 16]);
}

/// Pins leaked by their user are released by the resource owner: quietly
/// at abort, with PostgreSQL's warning at commit; a pin taken twice by one
/// process touches the shared refcount once.
fn resource_owner_releases_leaked_pins() {
    let w = World::new(16);
    w.create_table(4);
    let mgr = w.mgr(0);
    let mut owner = new_owner();
    let a = mgr.read_buffer(&mut owner, REL, Fork::Main, 1).unwrap();
    let a2 = mgr.read_buffer(&mut owner, REL, Fork::Main, 1).unwrap();
    let buf = a.buffer();
    assert_eq!(a2.buffer(), buf);
    assert_eq!(refcount(w.pool.state(buf)), 1, "one shared reference");
    assert_eq!(mgr.private_pins(buf), 2);
    assert_eq!(owner.len(), 2);
    mgr.release(&mut owner, a2);
    assert_eq!(refcount(w.pool.state(buf)), 1);
    // Leaked: the error path of a statement lost it (a Pin has no Drop;
    // only the owner can give it back now).
    drop(a);
    let _b = mgr.read_buffer(&mut owner, REL, Fork::Main, 2).unwrap();
    assert_eq!(owner.len(), 2);
    let leaks = owner.release_all(Release::Abort);
    assert!(leaks.is_empty(), "abort releases quietly");
    assert_eq!(refcounts(&w.pool), vec![0; 16]);
    assert_eq!(mgr.pinned_buffers(), 0);
    // At commit a leak is reported.
    let mut owner = new_owner();
    let _c = mgr.read_buffer(&mut owner, REL, Fork::Main, 3).unwrap();
    assert_eq!(owner.release_all(Release::Commit), vec!["buffer pin"]);
    assert_eq!(refcounts(&w.pool), vec![0; 16]);
    // Through the transaction: abort of a failed statement.
    let mut x = tusk_storage::xact::Xact::new();
    x.start_command(0);
    let d = mgr.read_buffer(&mut x.owner(), REL, Fork::Main, 0).unwrap();
    drop(d);
    x.abort_current();
    assert_eq!(refcounts(&w.pool), vec![0; 16]);
}

/// Extend adds a zero block on disk and in the pool; dropping the
/// relation's buffers forgets them (dirty or not) and frees them.
fn extend_and_drop_relation_buffers() {
    let w = World::new(16);
    w.create_table(2);
    let mgr = w.mgr(0);
    let mut owner = new_owner();
    let pin = mgr.extend(&mut owner, REL, Fork::Main).unwrap();
    assert_eq!(mgr.pool().desc(pin.buffer()).tag.load().block, 2);
    {
        let mut l = mgr.lock(&pin, LwMode::Exclusive);
        assert!(l.page().iter().all(|&b| b == 0));
        page::init(l.page_mut(), 0);
        l.mark_dirty();
    }
    mgr.release(&mut owner, pin);
    assert_eq!(mgr.smgr().nblocks(REL, Fork::Main).unwrap(), 3);
    assert_eq!(
        w.shared().reads.load(Ordering::SeqCst),
        0,
        "no read for a new block"
    );
    let p1 = mgr.read_buffer(&mut owner, REL, Fork::Main, 1).unwrap();
    mgr.release(&mut owner, p1);
    mgr.drop_relation_buffers(REL, Fork::Main, 2);
    let held = |blk: u32| {
        (0..16)
            .any(|b| w.pool.state(b) & BM_TAG_VALID != 0 && w.pool.desc(b).tag.load().block == blk)
    };
    assert!(held(1) && !held(2));
    mgr.drop_relation_buffers(REL, Fork::Main, 0);
    assert!(!held(1));
    assert_eq!(mgr.flush_all_dirty(&mut owner).unwrap().written, 0);
    // Freed buffers are reused from the free list.
    for b in 0..2 {
        let p = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
        mgr.release(&mut owner, p);
    }
    assert_eq!(refcounts(&w.pool), vec![0; 16]);
}

/// Pages of `len` bytes from `at` that are resident (mincore), counting
/// only whole pages inside the range.
fn resident_pages(at: *mut u8, len: usize) -> usize {
    let first = (at as usize).next_multiple_of(4096);
    let end = (at as usize + len) / 4096 * 4096;
    if end <= first {
        return 0;
    }
    let mut vec = vec![0u8; (end - first) / 4096];
    // SAFETY: the range lies inside the world's mapping and is
    // page-aligned; `vec` has one byte per page.
    let rc = unsafe { libc::mincore(first as *mut libc::c_void, end - first, vec.as_mut_ptr()) };
    assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
    vec.iter().filter(|&&b| b & 1 != 0).count()
}

/// The pool starts all-zero and untouched: buffers are handed out from
/// buffer 0 upward, freed buffers are reused before new ones, and the
/// checkpoint's scan and dropping a relation's buffers stop at the last
/// buffer ever used, so the descriptors and pages of the rest are never
/// faulted in.
fn never_used_buffers_stay_untouched() {
    const NBUF: usize = 1024;
    let w = World::new(NBUF);
    w.create_table(8);
    let mgr = w.mgr(0);
    let mut owner = new_owner();
    assert_eq!(w.pool.used_buffers(), 0);
    for b in 0..5u32 {
        let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
        assert_eq!(pin.buffer(), b as usize, "handed out in order");
        if b == 2 {
            mgr.lock(&pin, LwMode::Exclusive).mark_dirty();
        }
        mgr.release(&mut owner, pin);
    }
    assert_eq!(w.pool.used_buffers(), 5);
    assert_eq!(mgr.flush_all_dirty(&mut owner).unwrap().written, 1);
    // Dropped buffers go to the free list and are taken before new ones.
    mgr.drop_relation_buffers(REL, Fork::Main, 3);
    for b in [6u32, 7] {
        let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
        assert!(pin.buffer() == 3 || pin.buffer() == 4, "{}", pin.buffer());
        mgr.release(&mut owner, pin);
    }
    assert_eq!(w.pool.used_buffers(), 5);
    assert_eq!(mgr.flush_all_dirty(&mut owner).unwrap().written, 0);
    // Descriptors are 64 bytes: the first page holds buffers 0..63; no
    // later page of the area was touched. Pages of buffers 5.. neither.
    let descs = w.area(AreaId::BufferDescriptors);
    let per_page = 4096 / 64;
    // SAFETY: inside the descriptor area (NBUF × 64 bytes).
    let rest = unsafe { descs.add(per_page * 64) };
    assert_eq!(resident_pages(rest, (NBUF - per_page) * 64), 0);
    // SAFETY: inside the pages area (NBUF × 8 kB).
    let unused_pages = unsafe { w.area(AreaId::BufferPages).add(5 * BLCKSZ) };
    assert_eq!(resident_pages(unused_pages, (NBUF - 5) * BLCKSZ), 0);
    assert!(resident_pages(w.area(AreaId::BufferPages), 5 * BLCKSZ) > 0);
}

/// Lost-update hunt: four processes increment counters in random blocks
/// of a table four times the pool (read, exclusive lock, increment, mark
/// dirty), while a fifth runs checkpoints in a loop. Every increment
/// survives eviction, re-reading and concurrent checkpoint writes; the
/// files after a last checkpoint hold the same counts.
fn increments_survive_eviction_and_concurrent_checkpoints() {
    const NBUF: usize = 16;
    const BLOCKS: u32 = 64;
    const N: u32 = 4;
    const M: u32 = 1500;
    let w = World::new(NBUF);
    w.create_table(BLOCKS);
    let sh = w.shared();
    let counter_at = 200;
    let mut kids = Children(Vec::new());
    for me in 0..N {
        let w = &w;
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(me);
            let mut owner = new_owner();
            let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ ((me as u64 + 1) * 0x1234_5678_9ABC);
            for _ in 0..M {
                rng ^= rng >> 12;
                rng ^= rng << 25;
                rng ^= rng >> 27;
                let b = (rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as u32 % BLOCKS;
                let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
                {
                    let mut l = mgr.lock(&pin, LwMode::Exclusive);
                    let p = l.page_mut();
                    let c = u32::from_le_bytes(p[counter_at..counter_at + 4].try_into().unwrap());
                    p[counter_at..counter_at + 4].copy_from_slice(&(c + 1).to_le_bytes());
                    let lsn = page::lsn(p) + 1;
                    page::set_lsn(p, lsn);
                    l.mark_dirty();
                }
                mgr.release(&mut owner, pin);
            }
            sh.done.fetch_add(1, Ordering::SeqCst);
            if mgr.pinned_buffers() == 0 {
                0
            } else {
                5
            }
        }));
    }
    {
        let w = &w;
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(N);
            let mut owner = new_owner();
            let mut checkpoints = 0u64;
            while sh.done.load(Ordering::SeqCst) < N as u64 || checkpoints < 2 {
                mgr.flush_all_dirty(&mut owner).unwrap();
                checkpoints += 1;
            }
            sh.ready.store(checkpoints, Ordering::SeqCst);
            0
        }));
    }
    assert_eq!(kids.wait_all(DEADLINE), vec![0; N as usize + 1]);
    assert!(sh.ready.load(Ordering::SeqCst) >= 2);
    assert_eq!(refcounts(&w.pool), vec![0; NBUF], "no pin lost");
    let initial: u64 = (0..BLOCKS)
        .map(|b| {
            u32::from_le_bytes(
                content(b, 0)[counter_at..counter_at + 4]
                    .try_into()
                    .unwrap(),
            ) as u64
        })
        .sum();
    let mgr = w.mgr(N + 1);
    let mut owner = new_owner();
    let mut sum = 0u64;
    for b in 0..BLOCKS {
        let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
        let p = *mgr.lock(&pin, LwMode::Shared).page();
        sum += u32::from_le_bytes(p[counter_at..counter_at + 4].try_into().unwrap()) as u64;
        mgr.release(&mut owner, pin);
    }
    assert_eq!(sum - initial, (N * M) as u64, "every increment kept");
    mgr.flush_all_dirty(&mut owner).unwrap();
    let mut md = w.md();
    let mut on_disk_sum = 0u64;
    for b in 0..BLOCKS {
        let mut p = [0u8; BLCKSZ];
        md.read(REL, Fork::Main, b, &mut p).unwrap();
        page::verify(&p, b, true).unwrap();
        on_disk_sum += u32::from_le_bytes(p[counter_at..counter_at + 4].try_into().unwrap()) as u64;
    }
    assert_eq!(on_disk_sum, sum);
    assert_eq!(sh.wal_violations.load(Ordering::SeqCst), 0);
}

/// The first read of a block fails while three other processes want the
/// same block: exactly one of them gets the error, the buffer is left
/// invalid with IO_ERROR, and the next reader reads it again (two smgr
/// reads in all) for everyone else.
fn a_failed_read_is_retried_by_the_next_reader() {
    const N: u32 = 4;
    let w = World::new(16);
    w.create_table(2);
    let sh = w.shared();
    sh.read_delay_us.store(30_000, Ordering::SeqCst);
    sh.fail_reads.store(1, Ordering::SeqCst);
    let mut kids = Children(Vec::new());
    for me in 0..N {
        let w = &w;
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(me);
            let mut owner = new_owner();
            sh.started.fetch_add(1, Ordering::SeqCst);
            if !wait_for(&sh.started, N as u64, DEADLINE) {
                return 2;
            }
            match mgr.read_buffer(&mut owner, REL, Fork::Main, 1) {
                Ok(pin) => {
                    let ok = same_content(mgr.lock(&pin, LwMode::Shared).page(), &content(1, 0));
                    mgr.release(&mut owner, pin);
                    if ok {
                        0
                    } else {
                        3
                    }
                }
                Err(e) if e.message.contains("injected") && owner.is_empty() => 10,
                Err(_) => 4,
            }
        }));
    }
    let mut codes = kids.wait_all(DEADLINE);
    codes.sort();
    assert_eq!(codes, vec![0, 0, 0, 10], "one error, three good reads");
    assert_eq!(sh.reads.load(Ordering::SeqCst), 2);
    assert_eq!(refcounts(&w.pool), vec![0; 16]);
}

/// A process ending through proc_exit inside a transaction gives back its
/// pins: the transaction's exit callback releases its resource owner.
fn proc_exit_releases_the_pins_of_an_open_transaction() {
    let w = World::new(16);
    w.create_table(4);
    let mut kids = Children(Vec::new());
    {
        let w = &w;
        kids.0.push(fork_child(move || {
            let mgr = w.mgr(0);
            let mut x = tusk_storage::xact::Xact::new();
            let _reg = x.release_at_exit();
            x.start_command(0);
            for b in 0..3 {
                let pin = mgr.read_buffer(&mut x.owner(), REL, Fork::Main, b).unwrap();
                drop(pin);
            }
            if (0..16).map(|b| refcount(w.pool.state(b))).sum::<u32>() != 3 {
                return 3;
            }
            tusk_storage::exit::proc_exit(7)
        }));
    }
    assert_eq!(kids.wait_all(DEADLINE), vec![7]);
    assert_eq!(refcounts(&w.pool), vec![0; 16]);
}

/// Redo's way in: extend_to adds zero blocks (creating the fork), and
/// ReadMode::Zero gives a zeroed page without reading, which repairs a
/// damaged block once the caller writes it whole.
fn redo_extends_and_zero_mode_skips_the_read() {
    let w = World::new(16);
    w.create_table(3);
    let sh = w.shared();
    // Block 1 is garbage on disk: a normal read refuses it.
    let mut md = w.md();
    md.write(REL, Fork::Main, 1, &[0x5A; BLCKSZ]).unwrap();
    let mgr = w.mgr(0);
    let mut owner = new_owner();
    let e = mgr.read_buffer(&mut owner, REL, Fork::Main, 1).unwrap_err();
    assert_eq!(e.code, tusk_common::sqlstate::DATA_CORRUPTED);
    let reads = sh.reads.load(Ordering::SeqCst);
    let pin = mgr
        .read_buffer_extended(&mut owner, REL, Fork::Main, 1, ReadMode::Zero)
        .unwrap();
    {
        let mut l = mgr.lock(&pin, LwMode::Exclusive);
        assert!(l.page().iter().all(|&b| b == 0));
        l.page_mut().copy_from_slice(&*content(1, 5));
        l.mark_dirty();
    }
    mgr.flush_buffer(&pin).unwrap();
    mgr.release(&mut owner, pin);
    assert_eq!(
        sh.reads.load(Ordering::SeqCst),
        reads,
        "no read in Zero mode"
    );
    let mut p = [0u8; BLCKSZ];
    md.read(REL, Fork::Main, 1, &mut p).unwrap();
    page::verify(&p, 1, true).unwrap();
    assert!(same_content(&p, &content(1, 5)));
    // Beyond the end, and a fork that does not exist yet.
    mgr.extend_to(REL, Fork::Main, 10).unwrap();
    mgr.extend_to(REL, Fork::Fsm, 2).unwrap();
    assert_eq!(md.nblocks(REL, Fork::Main).unwrap(), 10);
    assert_eq!(md.nblocks(REL, Fork::Fsm).unwrap(), 2);
    let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, 9).unwrap();
    assert!(mgr
        .lock(&pin, LwMode::Shared)
        .page()
        .iter()
        .all(|&b| b == 0));
    mgr.release(&mut owner, pin);
    assert_eq!(refcounts(&w.pool), vec![0; 16]);
}

/// Usage counts: each first pin by a process raises it, up to 5; the sweep
/// lowers it as it passes, so a block used often outlives a round of
/// misses that evicts the blocks used once.
fn the_sweep_spares_a_block_in_use_and_lowers_its_usage_count() {
    const NBUF: usize = 16;
    let w = World::new(NBUF);
    w.create_table(40);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let mut owner = new_owner();
    let mut read = |b: u32| {
        let p = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
        let buf = p.buffer();
        mgr.release(&mut owner, p);
        buf
    };
    for b in 0..NBUF as u32 {
        read(b);
    }
    let hot = read(0);
    for _ in 0..10 {
        read(0);
    }
    assert_eq!(
        usage_count(w.pool.state(hot)),
        MAX_USAGE_COUNT,
        "capped at 5"
    );
    for b in 16..32 {
        read(b);
    }
    let reads = sh.reads.load(Ordering::SeqCst);
    assert_eq!(reads, 32);
    assert_eq!(w.pool.desc(hot).tag.load().block, 0, "block 0 stayed");
    let u = usage_count(w.pool.state(hot));
    assert!(u < MAX_USAGE_COUNT && u > 0, "lowered by the sweep: {u}");
    assert_eq!(read(0), hot);
    assert_eq!(sh.reads.load(Ordering::SeqCst), reads, "a hit");
    // Blocks 1..16 were each used once: all gone.
    for b in 1..16 {
        assert!((0..NBUF)
            .all(|i| w.pool.state(i) & BM_TAG_VALID == 0 || w.pool.desc(i).tag.load().block != b));
    }
}

/// The checkpoint joined to the buffer manager over the real WAL (the
/// server's wiring, in one process): pages dirtied by changes whose WAL is
/// not yet durable are written by the checkpoint, each only after the WAL
/// up to its LSN is flushed, before the checkpoint record; the count is
/// the real number written, the fork is fsynced, and pg_control points at
/// the record. A second checkpoint with nothing dirty writes nothing.
fn checkpoint_writes_dirty_buffers_after_their_wal() {
    let w = World::new(16);
    let dir = w.dir.path();
    std::fs::create_dir(dir.join("pg_wal")).unwrap();
    std::fs::create_dir(dir.join("global")).unwrap();
    let mut c = ControlFileData::new_cluster();
    c.system_identifier = 0x5EED;
    c.xlog_seg_size = 1 << 20;
    xlog::bootstrap_wal(dir, &mut c).unwrap();
    c.write(dir, true).unwrap();
    w.create_table(4);
    let procs = || w.procs();
    let cfg = XlogConfig {
        fsync: true,
        sync_method: SyncMethod::Fdatasync,
        full_page_writes: true,
        startup_progress_interval_ms: 0,
    };
    // Two handles for proc 0, as in the server: the checkpointer's own
    // and the one its buffer manager flushes through.
    // SAFETY: the region's WAL area, initialised by the registry and
    // mapped for the life of the world, which outlives both handles.
    let x = unsafe {
        Xlog::attach(
            w.area(AreaId::WalBuffers),
            w.sizing.wal_buffers,
            procs(),
            0,
            dir,
            cfg,
        )
    };
    // SAFETY: as above.
    let xb = unsafe {
        Xlog::attach(
            w.area(AreaId::WalBuffers),
            w.sizing.wal_buffers,
            procs(),
            0,
            dir,
            cfg,
        )
    };
    // SAFETY: the region's pg_control area, initialised and mapped as above.
    let view = unsafe { PgControlView::from_raw(w.area(AreaId::PgControl) as *const _) };
    let ctl = PgControlWriter::new(view, dir.to_path_buf(), procs(), 0);
    let c = ctl.load().unwrap();
    xlog::startup(&x, &c, false).unwrap();
    let mgr = BufMgr::new(
        w.pool,
        Box::new(procs()),
        0,
        Box::new(w.md()),
        Box::new(xb),
        true,
    );

    // Two blocks changed, each "logged" by a record not yet flushed.
    let mut owner = new_owner();
    let mut lsns = Vec::new();
    for b in [1u32, 3] {
        let end = x
            .xlog_insert(
                tusk_storage::wal::RM_XLOG_ID,
                xlog::XLOG_NOOP,
                0,
                &[b as u8; 200],
                vec![],
            )
            .unwrap();
        let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
        {
            let mut l = mgr.lock(&pin, LwMode::Exclusive);
            l.page_mut().copy_from_slice(&content(b, 9)[..]);
            page::set_lsn(l.page_mut(), end);
            l.mark_dirty();
        }
        mgr.release(&mut owner, pin);
        lsns.push(end);
    }
    assert!(
        x.flush_lsn() < lsns[0],
        "the changes' WAL is not durable yet"
    );
    let insert_before = x.insert_lsn();

    let mut stats = None;
    let ck = xlog::create_checkpoint(&x, &ctl, CheckpointKind::Online, &mut || {
        let mut o = new_owner();
        let r = mgr.flush_all_dirty(&mut o).map_err(|e| XlogError {
            message: e.message,
            corrupt: false,
        })?;
        // WAL before data: by now the blocks are on disk, so the WAL up
        // to their LSNs must be too; and no checkpoint record exists yet.
        assert!(x.flush_lsn() >= lsns[1], "page written before its WAL");
        assert_eq!(x.insert_lsn(), insert_before);
        stats = Some(r);
        Ok(())
    })
    .unwrap();
    let stats = stats.unwrap();
    assert_eq!(stats.written, 2, "exactly the two dirty buffers");
    assert_eq!(stats.synced, 1, "the one fork written");
    let after = ctl.load().unwrap();
    assert_eq!(after.checkpoint, ck);
    assert!(after.checkpoint_copy.redo >= lsns[1] && after.checkpoint_copy.redo < ck);
    assert_eq!(
        ControlFileData::read(dir).unwrap().checkpoint,
        ck,
        "the file too"
    );
    let mut md = w.md();
    for b in 0..4u32 {
        let mut p: Box<PageBuf> = Box::new([0u8; BLCKSZ]);
        md.read(REL, Fork::Main, b, &mut p).unwrap();
        if b == 1 || b == 3 {
            let mut want = content(b, 9);
            page::set_lsn(&mut want, lsns[(b / 2) as usize]);
            assert!(same_content(&p, &want), "block {b} as changed");
            assert!(page::lsn(&p) <= x.flush_lsn());
        } else {
            assert!(same_content(&p, &content(b, 0)), "block {b} untouched");
        }
    }

    // Nothing dirty since: the next checkpoint writes nothing.
    let mut o = new_owner();
    let again = xlog::create_checkpoint(&x, &ctl, CheckpointKind::Online, &mut || {
        let r = mgr.flush_all_dirty(&mut o).unwrap();
        assert_eq!(r, FlushStats::default());
        Ok(())
    })
    .unwrap();
    assert!(again > ck);
    assert_eq!(mgr.pinned_buffers(), 0);
    for b in 0..w.pool.nbuffers() {
        assert_eq!(refcount(w.pool.state(b)), 0, "buffer {b}");
    }
}

/// The background writer's round (BgBufferSync): after a backend has
/// allocated buffers, the dirty, unused buffers just ahead of the clock
/// hand are written (WAL first), up to bgwriter_lru_maxpages per round,
/// and recently used ones are left alone; the backend's next victims are
/// then clean, so it writes none itself.
fn bgwriter_cleans_ahead_of_the_clock_sweep() {
    const NBUF: usize = 16;
    let w = World::new(NBUF);
    w.create_table(40);
    let sh = w.shared();
    let mgr = w.mgr(0);
    let mut owner = new_owner();
    // Every buffer holds a dirty block, used once.
    for b in 0..NBUF as u32 {
        let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
        {
            let mut l = mgr.lock(&pin, LwMode::Exclusive);
            l.page_mut().copy_from_slice(&*content(b, 1));
            l.mark_dirty();
        }
        mgr.release(&mut owner, pin);
    }
    // Eight more blocks: the sweep lowers every usage count to 0 and the
    // backend writes its eight dirty victims itself.
    for b in 16..24 {
        let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
        mgr.release(&mut owner, pin);
    }
    let (allocs, backend_writes) = w.pool.alloc_counters();
    assert_eq!(allocs, 24);
    assert_eq!(backend_writes, 8);
    let dirty = || {
        (0..NBUF)
            .filter(|&i| w.pool.state(i) & BM_DIRTY != 0)
            .count()
    };
    assert_eq!(dirty(), 8, "blocks 8..16 are still dirty");
    let writes = sh.writes.load(Ordering::SeqCst);
    let mut st = BgWriterState::default();
    // At most 3 pages per round.
    let r = mgr.bgwriter_sync(&mut st, 3, 2.0, 200, &mut owner).unwrap();
    assert_eq!((r.written, r.hit_max, r.recent_alloc), (3, true, 24));
    assert_eq!(dirty(), 5);
    let r = mgr
        .bgwriter_sync(&mut st, 100, 2.0, 200, &mut owner)
        .unwrap();
    assert_eq!((r.written, r.hit_max), (5, false), "{r:?}");
    assert_eq!(dirty(), 0);
    assert_eq!(sh.writes.load(Ordering::SeqCst), writes + 8);
    assert_eq!(mgr.pinned_buffers(), 0);
    assert!(owner.is_empty());
    // The blocks written are on disk, each after its WAL.
    let mut md = w.md();
    for b in 8..16 {
        let mut p = [0u8; BLCKSZ];
        md.read(REL, Fork::Main, b, &mut p).unwrap();
        assert!(same_content(&p, &content(b, 1)), "block {b} on disk");
    }
    assert_eq!(sh.wal_violations.load(Ordering::SeqCst), 0);
    // The backend's next eight victims are clean.
    for b in 24..32 {
        let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
        mgr.release(&mut owner, pin);
    }
    assert_eq!(w.pool.alloc_counters(), (32, 8));
    // Nothing dirty, nothing new allocated: a round writes nothing.
    mgr.bgwriter_sync(&mut st, 100, 2.0, 200, &mut owner)
        .unwrap();
    let r = mgr
        .bgwriter_sync(&mut st, 100, 2.0, 200, &mut owner)
        .unwrap();
    assert_eq!((r.written, r.recent_alloc), (0, 0), "{r:?}");
    assert!(r.hibernate, "{r:?}");
    // Hibernating: the next allocation by any process wakes the writer,
    // once per sleep.
    let mut mgr = w.mgr(1);
    mgr.set_bgwriter_waker(Box::new(move || {
        sh.done.fetch_add(1, Ordering::SeqCst);
    }));
    let woken = sh.done.load(Ordering::SeqCst);
    mgr.set_bgwriter_hibernating(true);
    let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, 0).unwrap();
    mgr.release(&mut owner, pin);
    assert_eq!(sh.done.load(Ordering::SeqCst), woken + 1);
    let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, 1).unwrap();
    mgr.release(&mut owner, pin);
    assert_eq!(
        sh.done.load(Ordering::SeqCst),
        woken + 1,
        "one wake per sleep"
    );
}

/// A spread checkpoint's pacing hook: flush_all_dirty_paced reports
/// progress after each buffer it wrote of those dirty at its start, with
/// no pin held, so the checkpointer can sleep there.
fn paced_flush_reports_progress_per_buffer() {
    const NBUF: usize = 16;
    let w = World::new(NBUF);
    w.create_table(8);
    let mgr = w.mgr(0);
    let mut owner = new_owner();
    for b in 0..5u32 {
        let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, b).unwrap();
        {
            let mut l = mgr.lock(&pin, LwMode::Exclusive);
            l.page_mut().copy_from_slice(&*content(b, 2));
            l.mark_dirty();
        }
        mgr.release(&mut owner, pin);
    }
    // A clean block in the pool too: not counted.
    let pin = mgr.read_buffer(&mut owner, REL, Fork::Main, 6).unwrap();
    mgr.release(&mut owner, pin);
    let mut calls = Vec::new();
    let mut pinned_during = 0;
    let stats = mgr
        .flush_all_dirty_paced(&mut owner, &mut |done, total| {
            calls.push((done, total));
            pinned_during += mgr.pinned_buffers();
        })
        .unwrap();
    assert_eq!(stats.written, 5);
    assert_eq!(calls, vec![(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]);
    assert_eq!(pinned_during, 0, "no pin held while pacing");
    assert_eq!(stats.synced, 1);
    assert!(stats.sync_longest <= stats.sync_total);
}

fn main() {
    let tests: &[(&str, fn())] = &[
        (
            "never_used_buffers_stay_untouched",
            never_used_buffers_stay_untouched,
        ),
        (
            "paced_flush_reports_progress_per_buffer",
            paced_flush_reports_progress_per_buffer,
        ),
        (
            "bgwriter_cleans_ahead_of_the_clock_sweep",
            bgwriter_cleans_ahead_of_the_clock_sweep,
        ),
        (
            "checkpoint_writes_dirty_buffers_after_their_wal",
            checkpoint_writes_dirty_buffers_after_their_wal,
        ),
        (
            "many_writers_on_a_table_larger_than_the_pool",
            many_writers_on_a_table_larger_than_the_pool,
        ),
        (
            "concurrent_readers_of_one_block_read_it_once",
            concurrent_readers_of_one_block_read_it_once,
        ),
        (
            "clock_sweep_never_evicts_a_pinned_buffer",
            clock_sweep_never_evicts_a_pinned_buffer,
        ),
        (
            "wal_is_flushed_before_the_page_is_written",
            wal_is_flushed_before_the_page_is_written,
        ),
        (
            "damaged_blocks_are_data_corrupted_errors",
            damaged_blocks_are_data_corrupted_errors,
        ),
        (
            "resource_owner_releases_leaked_pins",
            resource_owner_releases_leaked_pins,
        ),
        (
            "increments_survive_eviction_and_concurrent_checkpoints",
            increments_survive_eviction_and_concurrent_checkpoints,
        ),
        (
            "a_failed_read_is_retried_by_the_next_reader",
            a_failed_read_is_retried_by_the_next_reader,
        ),
        (
            "proc_exit_releases_the_pins_of_an_open_transaction",
            proc_exit_releases_the_pins_of_an_open_transaction,
        ),
        (
            "redo_extends_and_zero_mode_skips_the_read",
            redo_extends_and_zero_mode_skips_the_read,
        ),
        (
            "the_sweep_spares_a_block_in_use_and_lowers_its_usage_count",
            the_sweep_spares_a_block_in_use_and_lowers_its_usage_count,
        ),
        (
            "extend_and_drop_relation_buffers",
            extend_and_drop_relation_buffers,
        ),
    ];
    support::run(tests);
}
