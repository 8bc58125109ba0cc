//! The buffer manager: relation pages cached in shared buffers, found
//! through a partitioned mapping table, pinned, locked, replaced by clock
//! sweep and written back with the WAL-before-data rule (issue 9 item 2).
//!
//! Why this shape (PostgreSQL's `bufmgr.c`, `buf_table.c`, `freelist.c`):
//! every process sees the same pages, so a block is in at most one buffer
//! and is read from disk by one process at a time; everything a process
//! does on the hot path is a compare-and-swap on the descriptor's state
//! word or a shared LWLock on one of 128 mapping partitions, so readers of
//! different blocks never contend.
//!
//! # The state word ([`BufferDesc::state`])
//!
//! ```text
//! bit 31 PERMANENT          (reserved: unlogged relations are not built)
//! bit 30 CHECKPOINT_NEEDED  dirty when the running checkpoint started
//! bit 29 PIN_COUNT_WAITER   (reserved: cleanup locks are not built)
//! bit 28 JUST_DIRTIED       dirtied while being written out
//! bit 27 IO_ERROR           the last I/O failed
//! bit 26 IO_IN_PROGRESS     a process reads or writes the page
//! bit 25 TAG_VALID          the tag names a block (the mapping has it)
//! bit 24 VALID              the page holds the block's content
//! bit 23 DIRTY              the page differs from the disk
//! bit 22 LOCKED             the header spinlock
//! 18..=21 usage count       0..=5, clock sweep's measure of recency
//! 0..=17  reference count   pins, summed over every process
//! ```
//!
//! Pin and unpin are CASes that wait while LOCKED is set; the tag, and
//! flag changes that need a consistent view, are made under LOCKED (held
//! for a few instructions, never across a call that can sleep).
//!
//! # The mapping area ([`MAPPING_AREA`])
//!
//! ```text
//! offset 0      StrategyControl (64 B): free-list head and its spinlock,
//!               next never-used buffer, clock hand (u64), fsync-request
//!               queue length, generation and spinlock
//! 64            partition LWLocks: 128 × 64 B (one cache line each)
//! 64 + 8192     bucket heads: u32 × shared_buffers (buffer id + 1; 0:
//!               empty)
//!  + 4N         chain links: u32 × shared_buffers, by buffer id (next
//!               buffer id + 1; 0: end of chain)
//!  + 8N         fsync requests: FsyncRequest (16 B: spc, db, rel, fork)
//!               × shared_buffers
//! ```
//!
//! # All-zero is the initial state
//!
//! Neither this area nor the descriptors are written at start (the
//! segment is fresh and zero-filled, see [`crate::layout`]): at
//! shared_buffers=4GB they are 32 MB + 12 MB, and writing them would fault
//! all of it in before the first connection. So every encoding has its
//! empty value at zero: bucket heads and chain links are buffer id + 1,
//! an all-zero LWLock is free, and instead of a free list threaded through
//! every descriptor (which would have to be built) there is a counter,
//! `next_unused`: buffers below it have been handed out at least once,
//! buffers at or above it have all-zero descriptors and are on no chain.
//! A victim is taken from the short free list of invalidated buffers
//! first, then from the counter while it is below shared_buffers, and
//! only then by the clock sweep. Scans over every buffer (the
//! checkpoint's, dropping a relation's buffers) stop at the counter: the
//! buffers above it have never held a page, and reading their
//! descriptors would fault them in too.
//!
//! A tag hashes to a bucket; bucket `b` belongs to partition `b % 128`,
//! whose LWLock guards the bucket chain and the tags of the buffers on
//! it. Because a buffer's old mapping is removed before its new one is
//! inserted (both partition locks held, in partition order, as
//! PostgreSQL 15 does), a buffer is on at most one chain, so chains are
//! linked through a per-buffer array and the table needs no allocator.
//! The area is linear in shared_buffers: one more buffer costs 24 bytes
//! here (plus its 64-byte descriptor and 8 kB page), which keeps the
//! memory table of `tusk check` exact.
//!
//! # Rules
//!
//! - The tag changes only while holding the partition locks of the old
//!   and the new tag, the header spinlock, and the only pin.
//! - IO_IN_PROGRESS is set only by a process holding the content lock:
//!   exclusively for a read, shared for a write. So waiting for another
//!   process's I/O ([`BufMgr`]'s `wait_io`) is sleeping on the content
//!   lock in exclusive mode, then looking again: the PostgreSQL ≤ 13 way
//!   (an LWLock per I/O), without a condition variable, and the sleeper
//!   wakes exactly when the I/O ended. A failed read clears the flag,
//!   sets IO_ERROR and leaves the buffer invalid; the next reader retries.
//! - WAL before data: a page is written only after
//!   [`WalFlusher::flush_upto`] returned for its LSN.
//! - Every pin is counted privately ([`BufMgr`]'s private map,
//!   PostgreSQL's PrivateRefCount): a process's second pin of a buffer
//!   does not touch the shared word, and its last unpin gives back its one
//!   shared reference. Every pin is registered with the caller's
//!   [`ResourceOwner`], so commit (with PostgreSQL's leak warning), abort
//!   and exit unpin whatever was not released.
//! - Files are reached through the process's own [`Smgr`] (an [`Md`] over
//!   the data directory caches descriptors per relation); shared memory
//!   holds only pages. A write done outside the checkpointer is followed
//!   by an fsync request in the shared queue, which the checkpoint drains
//!   ([`BufMgr::flush_all_dirty`]); when the queue is full the writer
//!   fsyncs the file itself, as PostgreSQL's backends do.
//!
//! [`Md`]: crate::smgr::Md

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use tusk_common::error::PgError;
use tusk_common::{elog, sqlstate};

use crate::buffer::{BufferDesc, BufferTag, FREE_END};
use crate::layout::{AreaId, AreaSpec, Layout, SizeCalc, SizeError, Sizing, BLCKSZ};
use crate::lwlock::{LwLock, LwMode, LwProcs, LwWaiter};
use crate::page::{self, PageBuf};

/// This process's buffer accesses since it started: pages found in the
/// pool, pages read from disk (EXPLAIN (ANALYZE, BUFFERS) prints their
/// growth per node). Process-local: a backend is one process, so a static
/// counts exactly that backend, with no shared-memory traffic.
static SHARED_HIT: AtomicU64 = AtomicU64::new(0);
static SHARED_READ: AtomicU64 = AtomicU64::new(0);

/// (shared hits, shared reads) of this process so far; any process may
/// call it, each sees its own.
pub fn backend_usage() -> (u64, u64) {
    (
        SHARED_HIT.load(Ordering::Relaxed),
        SHARED_READ.load(Ordering::Relaxed),
    )
}
use crate::smgr::{relpath, BlockNumber, Fork, RelFileLocator, Smgr};
use crate::xact::{Release, ReleasePhase, Resource, ResourceId, ResourceOwner};

pub const REFCOUNT_ONE: u32 = 1;
pub const REFCOUNT_MASK: u32 = (1 << 18) - 1;
pub const USAGECOUNT_ONE: u32 = 1 << 18;
pub const USAGECOUNT_MASK: u32 = 0xF << 18;
pub const USAGECOUNT_SHIFT: u32 = 18;
pub const MAX_USAGE_COUNT: u32 = 5;
pub const BM_LOCKED: u32 = 1 << 22;
pub const BM_DIRTY: u32 = 1 << 23;
pub const BM_VALID: u32 = 1 << 24;
pub const BM_TAG_VALID: u32 = 1 << 25;
pub const BM_IO_IN_PROGRESS: u32 = 1 << 26;
pub const BM_IO_ERROR: u32 = 1 << 27;
pub const BM_JUST_DIRTIED: u32 = 1 << 28;
pub const BM_PIN_COUNT_WAITER: u32 = 1 << 29;
pub const BM_CHECKPOINT_NEEDED: u32 = 1 << 30;
pub const BM_PERMANENT: u32 = 1 << 31;

/// Mapping partitions, as PostgreSQL's NUM_BUFFER_PARTITIONS.
pub const NUM_PARTITIONS: usize = 128;

/// `free_next` of a buffer not on the free list; `first_free` of an empty
/// list.
const NOT_IN_LIST: u32 = 0;

pub fn refcount(state: u32) -> u32 {
    state & REFCOUNT_MASK
}

pub fn usage_count(state: u32) -> u32 {
    (state & USAGECOUNT_MASK) >> USAGECOUNT_SHIFT
}

/// The start of the mapping area: replacement and fsync-queue state.
/// All-zero is its initial state: empty free list, no buffer used yet,
/// clock hand at buffer 0, empty fsync queue.
#[repr(C, align(64))]
struct StrategyControl {
    /// Spinlock over `first_free` and every `free_next`.
    free_lock: AtomicU32,
    /// Head of the free list of invalidated buffers: its id + 1, 0 when
    /// empty.
    first_free: AtomicU32,
    /// Buffers below this have been handed out at least once; those at or
    /// above it are all-zero and unused. Grows up to shared_buffers (a
    /// racing fetch_add may pass it by at most one per process).
    next_unused: AtomicU64,
    /// The clock hand; `% shared_buffers` is the next buffer to look at.
    /// 64 bits, so that it never wraps in a server's life.
    next_victim: AtomicU64,
    /// Spinlock over the fsync queue.
    fsync_lock: AtomicU32,
    fsync_len: AtomicU32,
    /// Incremented by every drain, so a process knows its remembered
    /// requests were taken.
    fsync_generation: AtomicU32,
    /// Buffers handed out by the replacement strategy, ever (PostgreSQL's
    /// numBufferAllocs, but never reset: the background writer keeps the
    /// value it last saw), and dirty victims written by the process that
    /// needed the buffer (pg_stat_bgwriter's buffers_backend).
    allocs: AtomicU64,
    victim_writes: AtomicU64,
    /// 1 while the background writer hibernates: the next allocation
    /// clears it and wakes the writer (PostgreSQL's bgwprocno).
    bgwriter_asleep: AtomicU32,
}

const CTL_SIZE: usize = 64;
const _: () = assert!(std::mem::size_of::<StrategyControl>() == CTL_SIZE);

/// A partition lock on its own cache line.
#[repr(C, align(64))]
struct PaddedLwLock(LwLock);

const LOCK_SIZE: usize = 64;
const _: () = assert!(std::mem::size_of::<PaddedLwLock>() == LOCK_SIZE);

/// One fsync request: a relation fork written since the last checkpoint.
#[repr(C)]
#[derive(Default)]
struct FsyncRequest {
    spc: AtomicU32,
    db: AtomicU32,
    rel: AtomicU32,
    fork: AtomicU32,
}

const FSYNC_REQ_SIZE: usize = 16;
const _: () = assert!(std::mem::size_of::<FsyncRequest>() == FSYNC_REQ_SIZE);

// Offsets in the mapping area: see the diagram in the file comment.
const LOCKS_OFF: usize = CTL_SIZE;
const BUCKETS_OFF: usize = LOCKS_OFF + NUM_PARTITIONS * LOCK_SIZE;

fn mapping_size(c: &SizeCalc) -> Result<usize, SizeError> {
    let per_buffer = c.mul(c.z.shared_buffers, 4 + 4 + FSYNC_REQ_SIZE)?;
    c.add(BUCKETS_OFF, per_buffer)
}

/// The buffer mapping table, replacement state and fsync queue.
pub const MAPPING_AREA: AreaSpec = AreaSpec {
    id: AreaId::BufferMapping,
    name: "buffer mapping",
    align: 64,
    size: mapping_size,
    init: crate::layout::init_zeroed,
};

/// The WAL-before-data hook is xlog's [`WalFlusher`] (one trait for both
/// modules; [`crate::xlog::Xlog`] implements it). The buffer manager calls
/// it with no buffer header spinlock held but with the page's content lock
/// held shared, and reports its failure as an ERROR: the page stays dirty
/// and is written by a later attempt.
pub use crate::xlog::WalFlusher;

/// The shared pool as one process sees it: where the three buffer areas
/// are mapped. Cheap to copy; holds no process state. Any process attached
/// to the region may use it; the locking rules are in the file comment.
#[derive(Clone, Copy)]
pub struct SharedPool {
    descs: *const BufferDesc,
    pages: *mut u8,
    mapping: *mut u8,
    nbuffers: usize,
}

impl SharedPool {
    /// The buffer areas of a region laid out by `layout`, initialised by
    /// [`Layout::init_areas`].
    ///
    /// # Safety
    /// `base` is the region's base, mapped for the life of the returned
    /// value, laid out by `layout` for `z`.
    pub unsafe fn attach(base: *mut u8, layout: &Layout, z: &Sizing) -> SharedPool {
        // SAFETY: promised by the caller.
        unsafe {
            SharedPool {
                descs: base.add(layout.area(AreaId::BufferDescriptors).offset) as *const BufferDesc,
                pages: base.add(layout.area(AreaId::BufferPages).offset),
                mapping: base.add(layout.area(AreaId::BufferMapping).offset),
                nbuffers: z.shared_buffers,
            }
        }
    }

    pub fn nbuffers(&self) -> usize {
        self.nbuffers
    }

    pub fn desc(&self, buf: usize) -> &BufferDesc {
        assert!(buf < self.nbuffers);
        // SAFETY: in bounds; the area lives as long as self (attach).
        unsafe { &*self.descs.add(buf) }
    }

    fn page_ptr(&self, buf: usize) -> *mut PageBuf {
        assert!(buf < self.nbuffers);
        // SAFETY: in bounds of the pages area.
        unsafe { self.pages.add(buf * BLCKSZ) as *mut PageBuf }
    }

    fn ctl(&self) -> &StrategyControl {
        // SAFETY: the area starts with it; all-zero is a valid value.
        unsafe { &*(self.mapping as *const StrategyControl) }
    }

    fn partition_lock(&self, p: usize) -> &LwLock {
        assert!(p < NUM_PARTITIONS);
        // SAFETY: in bounds of the locks array.
        unsafe { &(*(self.mapping.add(LOCKS_OFF + p * LOCK_SIZE) as *const PaddedLwLock)).0 }
    }

    /// Bucket `b`'s head: the first buffer's id + 1, 0 when empty.
    fn bucket(&self, b: usize) -> &AtomicU32 {
        assert!(b < self.nbuffers);
        // SAFETY: in bounds of the bucket array.
        unsafe { &*(self.mapping.add(BUCKETS_OFF + 4 * b) as *const AtomicU32) }
    }

    /// The chain link of `buf`: the next buffer's id + 1, 0 at the end.
    fn link(&self, buf: usize) -> &AtomicU32 {
        assert!(buf < self.nbuffers);
        // SAFETY: in bounds of the link array.
        unsafe {
            &*(self.mapping.add(BUCKETS_OFF + 4 * self.nbuffers + 4 * buf) as *const AtomicU32)
        }
    }

    /// How many buffers, from buffer 0, have ever been handed out: scans
    /// over the pool need go no further (the rest are all-zero and
    /// untouched). A buffer handed out after this load was unused when
    /// it was made, so it was neither dirty nor tagged then.
    pub fn used_buffers(&self) -> usize {
        (self.ctl().next_unused.load(Ordering::SeqCst) as usize).min(self.nbuffers)
    }

    fn fsync_req(&self, i: usize) -> &FsyncRequest {
        assert!(i < self.nbuffers);
        // SAFETY: in bounds of the request array.
        unsafe {
            &*(self
                .mapping
                .add(BUCKETS_OFF + 8 * self.nbuffers + FSYNC_REQ_SIZE * i)
                as *const FsyncRequest)
        }
    }

    /// Buffers allocated by the replacement strategy and dirty victims
    /// written by the processes that needed them, since the server
    /// started (pg_stat_bgwriter's buffers_alloc and buffers_backend).
    /// Any process; no lock.
    pub fn alloc_counters(&self) -> (u64, u64) {
        let c = self.ctl();
        (
            c.allocs.load(Ordering::Relaxed),
            c.victim_writes.load(Ordering::Relaxed),
        )
    }

    /// The buffer's state word, for views and tests (no lock).
    pub fn state(&self, buf: usize) -> u32 {
        self.desc(buf).state.load(Ordering::SeqCst)
    }

    /// The bucket a tag hashes to.
    fn bucket_of(&self, t: &BufferTag) -> usize {
        let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
        for x in [t.spc_oid, t.db_oid, t.rel_number, t.fork, t.block] {
            h ^= x as u64;
            h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
            h ^= h >> 33;
        }
        (h % self.nbuffers as u64) as usize
    }

    /// The buffer holding `t` on bucket `b`'s chain; the caller holds the
    /// bucket's partition lock (either mode).
    fn lookup(&self, b: usize, t: &BufferTag) -> Option<usize> {
        let mut cur = self.bucket(b).load(Ordering::Relaxed);
        while cur != 0 {
            let buf = cur as usize - 1;
            if self.desc(buf).tag.load() == *t {
                return Some(buf);
            }
            cur = self.link(buf).load(Ordering::Relaxed);
        }
        None
    }

    /// The caller holds the bucket's partition lock exclusively.
    fn insert(&self, b: usize, buf: usize) {
        let head = self.bucket(b).load(Ordering::Relaxed);
        self.link(buf).store(head, Ordering::Relaxed);
        self.bucket(b).store(buf as u32 + 1, Ordering::Relaxed);
    }

    /// The caller holds the bucket's partition lock exclusively.
    fn remove(&self, b: usize, buf: usize) {
        let me = buf as u32 + 1;
        let next = self.link(buf).load(Ordering::Relaxed);
        let head = self.bucket(b).load(Ordering::Relaxed);
        if head == me {
            self.bucket(b).store(next, Ordering::Relaxed);
        } else {
            let mut cur = head;
            while cur != 0 {
                let l = self.link(cur as usize - 1);
                if l.load(Ordering::Relaxed) == me {
                    l.store(next, Ordering::Relaxed);
                    break;
                }
                cur = l.load(Ordering::Relaxed);
            }
        }
        self.link(buf).store(0, Ordering::Relaxed);
    }
}

/// Spins on a one-word spinlock (test-and-set), yielding after a while:
/// two CPUs are shared with many processes, and the holder may have been
/// preempted.
fn spin_acquire(word: &AtomicU32) {
    let mut spins = 0u32;
    while word.swap(1, Ordering::Acquire) != 0 {
        while word.load(Ordering::Relaxed) != 0 {
            spins += 1;
            if spins < 100 {
                std::hint::spin_loop();
            } else {
                // SAFETY: plain system call.
                unsafe { libc::sched_yield() };
            }
        }
    }
}

fn spin_release(word: &AtomicU32) {
    word.store(0, Ordering::Release);
}

/// Takes the header spinlock: returns the state word with LOCKED set.
/// Any process may call it; it must release with [`unlock_hdr`] after a
/// few instructions.
fn lock_hdr(d: &BufferDesc) -> u32 {
    let mut spins = 0u32;
    loop {
        let old = d.state.fetch_or(BM_LOCKED, Ordering::Acquire);
        if old & BM_LOCKED == 0 {
            return old | BM_LOCKED;
        }
        spins += 1;
        if spins < 100 {
            std::hint::spin_loop();
        } else {
            // SAFETY: plain system call.
            unsafe { libc::sched_yield() };
        }
    }
}

/// Stores `state` without LOCKED: the release of [`lock_hdr`].
fn unlock_hdr(d: &BufferDesc, state: u32) {
    d.state.store(state & !BM_LOCKED, Ordering::Release);
}

/// Waits until LOCKED is clear; returns the state then.
fn wait_hdr_unlocked(d: &BufferDesc) -> u32 {
    let mut spins = 0u32;
    loop {
        let s = d.state.load(Ordering::Acquire);
        if s & BM_LOCKED == 0 {
            return s;
        }
        spins += 1;
        if spins < 100 {
            std::hint::spin_loop();
        } else {
            // SAFETY: plain system call.
            unsafe { libc::sched_yield() };
        }
    }
}

/// `&dyn LwProcs` as an `LwProcs` (LwLock's methods take a sized one).
struct Procs<'a>(&'a dyn LwProcs);

impl LwProcs for Procs<'_> {
    fn waiter(&self, procno: u32) -> &LwWaiter {
        self.0.waiter(procno)
    }
    fn sleep(&self, procno: u32) {
        self.0.sleep(procno)
    }
    fn wake(&self, procno: u32) {
        self.0.wake(procno)
    }
}

/// What one process needs to use the pool. Everything here is
/// process-local; only the owning process calls it.
struct Inner {
    pool: SharedPool,
    procs: Box<dyn LwProcs>,
    me: u32,
    smgr: RefCell<Box<dyn Smgr>>,
    wal: Box<dyn WalFlusher>,
    /// data_checksums: verify pd_checksum on read, set it on write.
    checksums: bool,
    /// PostgreSQL's PrivateRefCount: this process's pins per buffer.
    private: RefCell<tusk_common::fasthash::FastMap<usize, u32>>,
    /// Fsync requests this process queued in the queue's current
    /// generation, so that it does not queue one per write.
    queued: RefCell<(u32, HashSet<(RelFileLocator, Fork)>)>,
    /// Wakes the hibernating background writer (set by the server).
    wake_bgwriter: Option<Box<dyn Fn()>>,
}

/// A pin on a buffer, registered with a [`ResourceOwner`]. Give it back
/// with [`BufMgr::release`]; one that is dropped instead is a leak that
/// the owner releases at commit (with a warning), abort or exit.
#[must_use = "a pin is released with BufMgr::release"]
#[derive(Debug)]
pub struct Pin {
    buf: usize,
    id: ResourceId,
}

impl Pin {
    /// The buffer's index (PostgreSQL's Buffer is this plus one).
    pub fn buffer(&self) -> usize {
        self.buf
    }
}

/// The owner's record of one pin.
struct PinResource {
    inner: Rc<Inner>,
    buf: usize,
}

impl Resource for PinResource {
    fn kind(&self) -> &'static str {
        "buffer pin"
    }

    fn phase(&self) -> ReleasePhase {
        ReleasePhase::BeforeLocks
    }

    fn release(self: Box<Self>, why: Release) {
        if why == Release::Commit {
            let d = self.inner.pool.desc(self.buf);
            let t = d.tag.load();
            let st = d.state.load(Ordering::SeqCst);
            let private = self.inner.private.borrow().get(&self.buf).copied();
            // PostgreSQL's PrintBufferLeakWarning.
            elog::warning(format!(
                "buffer refcount leak: [{:03}] (rel={}, blockNum={}, flags=0x{:x}, refcount={} {})",
                self.buf + 1,
                relpath(t.rel(), t.fork()),
                t.block,
                st & !(REFCOUNT_MASK | USAGECOUNT_MASK),
                refcount(st),
                private.unwrap_or(0)
            ));
        }
        self.inner.unpin(self.buf);
    }
}

/// A content lock on a pinned buffer, released on drop. Rust's unwinding
/// and `?` drop it on every error path, so unlike PostgreSQL's LWLocks it
/// needs no resource owner.
pub struct ContentLock<'a> {
    inner: &'a Inner,
    buf: usize,
    mode: LwMode,
}

impl ContentLock<'_> {
    pub fn page(&self) -> &PageBuf {
        // SAFETY: the buffer is pinned (its tag cannot change) and its
        // content lock is held, so no one writes the page but under hint
        // rules; the page lives as long as the pool.
        unsafe { &*self.inner.pool.page_ptr(self.buf) }
    }

    /// The page, to modify; only under an exclusive lock.
    pub fn page_mut(&mut self) -> &mut PageBuf {
        assert_eq!(
            self.mode,
            LwMode::Exclusive,
            "page_mut needs an exclusive content lock"
        );
        // SAFETY: as page(), and the exclusive lock excludes every reader.
        unsafe { &mut *self.inner.pool.page_ptr(self.buf) }
    }

    /// PostgreSQL's MarkBufferDirty: the page must be written before the
    /// buffer is reused. Needs the exclusive lock.
    pub fn mark_dirty(&self) {
        assert_eq!(
            self.mode,
            LwMode::Exclusive,
            "mark_dirty needs an exclusive content lock"
        );
        let d = self.inner.pool.desc(self.buf);
        let mut old = d.state.load(Ordering::SeqCst);
        loop {
            if old & BM_LOCKED != 0 {
                old = wait_hdr_unlocked(d);
            }
            let new = old | BM_DIRTY | BM_JUST_DIRTIED;
            match d
                .state
                .compare_exchange_weak(old, new, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return,
                Err(o) => old = o,
            }
        }
    }
}

impl Drop for ContentLock<'_> {
    fn drop(&mut self) {
        self.inner
            .pool
            .desc(self.buf)
            .content_lock
            .release(&Procs(&*self.inner.procs));
    }
}

/// What a checkpoint's [`BufMgr::flush_all_dirty`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushStats {
    /// Buffers this call wrote.
    pub written: usize,
    /// Relation forks fsynced.
    pub synced: usize,
    /// Time spent in those fsyncs, in all and the longest one
    /// (log_checkpoints' sync, longest and average).
    pub sync_total: std::time::Duration,
    pub sync_longest: std::time::Duration,
}

/// What the background writer remembers between rounds of
/// [`BufMgr::bgwriter_sync`] (PostgreSQL's static variables of
/// BgBufferSync). Zero it (Default) at the writer's start.
#[derive(Debug, Clone, Copy)]
pub struct BgWriterState {
    valid: bool,
    prev_strategy_pos: u64,
    prev_allocs: u64,
    /// Absolute clock position of the next buffer to look at.
    next_to_clean: u64,
    smoothed_alloc: f64,
    /// Buffers the sweep scans per allocation.
    smoothed_density: f64,
}

impl Default for BgWriterState {
    fn default() -> BgWriterState {
        BgWriterState {
            valid: false,
            prev_strategy_pos: 0,
            prev_allocs: 0,
            next_to_clean: 0,
            smoothed_alloc: 0.0,
            smoothed_density: 10.0,
        }
    }
}

/// One round of the background writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BgSyncResult {
    pub written: usize,
    /// Stopped at bgwriter_lru_maxpages (pg_stat_bgwriter's
    /// maxwritten_clean).
    pub hit_max: bool,
    /// Buffers allocated since the last round (buffers_alloc).
    pub recent_alloc: u64,
    /// Nothing allocated and nothing left to clean: the writer may sleep
    /// longer (PostgreSQL's hibernation).
    pub hibernate: bool,
}

/// One process's buffer manager. Create one per process after attaching
/// shared memory; only that process uses it.
#[derive(Clone)]
pub struct BufMgr(Rc<Inner>);

/// How [`BufMgr::read_buffer_extended`] treats a block not in the pool
/// (PostgreSQL's ReadBufferMode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// Read it from disk and verify it.
    Normal,
    /// The caller overwrites the whole page (WAL redo restoring a
    /// full-page image, a page being re-initialised): a miss gives a
    /// zeroed page without reading the disk, so a torn or damaged block
    /// can be repaired. A hit keeps the cached content.
    Zero,
}

/// How a miss fills the buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// Read the block through the smgr and verify it.
    Read,
    /// A block just added by extend: zeroes, no read.
    Zero,
}

/// Outcome of trying to write one buffer.
enum Wrote {
    Yes,
    /// Not dirty (or not valid): nothing to write.
    Clean,
    /// Another process is doing I/O on it.
    Busy,
}

impl BufMgr {
    /// `procs`/`me`: the LWLock waiters and this process's proc number.
    /// `smgr`: this process's storage manager. `checksums`: the cluster's
    /// data_checksums.
    pub fn new(
        pool: SharedPool,
        procs: Box<dyn LwProcs>,
        me: u32,
        smgr: Box<dyn Smgr>,
        wal: Box<dyn WalFlusher>,
        checksums: bool,
    ) -> BufMgr {
        BufMgr(Rc::new(Inner {
            pool,
            procs,
            me,
            smgr: RefCell::new(smgr),
            wal,
            checksums,
            private: RefCell::new(Default::default()),
            queued: RefCell::new((u32::MAX, HashSet::new())),
            wake_bgwriter: None,
        }))
    }

    /// How this process wakes the background writer when it allocates a
    /// buffer while the writer hibernates. Right after [`BufMgr::new`],
    /// before the handle is cloned.
    pub fn set_bgwriter_waker(&mut self, wake: Box<dyn Fn()>) {
        Rc::get_mut(&mut self.0)
            .expect("the waker is set before the buffer manager is shared")
            .wake_bgwriter = Some(wake);
    }

    /// The background writer says it is about to hibernate (true) or has
    /// woken (false); while it sleeps, the first buffer allocation by any
    /// process wakes it. Background writer only.
    pub fn set_bgwriter_hibernating(&self, asleep: bool) {
        self.0
            .pool
            .ctl()
            .bgwriter_asleep
            .store(asleep as u32, Ordering::SeqCst);
    }

    pub fn pool(&self) -> &SharedPool {
        &self.0.pool
    }

    /// This process's smgr (for creating and sizing forks; block I/O goes
    /// through the pool).
    pub fn smgr(&self) -> std::cell::RefMut<'_, Box<dyn Smgr>> {
        self.0.smgr.borrow_mut()
    }

    /// Pins this process holds on `buf` (its private count).
    pub fn private_pins(&self, buf: usize) -> u32 {
        self.0.private.borrow().get(&buf).copied().unwrap_or(0)
    }

    /// Buffers this process has pinned.
    pub fn pinned_buffers(&self) -> usize {
        self.0.private.borrow().len()
    }

    /// PostgreSQL's ReadBuffer: pins the buffer holding block `block` of
    /// the fork, reading it if no buffer does. A page that fails
    /// verification is ERROR XX001 naming the block and the relation.
    /// Called by the owning process, with no header spinlock and no
    /// partition lock held (content locks on other buffers may be held).
    pub fn read_buffer(
        &self,
        owner: &mut ResourceOwner,
        rel: RelFileLocator,
        fork: Fork,
        block: BlockNumber,
    ) -> Result<Pin, PgError> {
        self.0
            .read_common(&self.0, owner, BufferTag::new(rel, fork, block), Fill::Read)
    }

    /// The block pinned if its buffer is in the pool, else `None` without
    /// any I/O. A cached buffer proves the block exists: buffers of a
    /// truncated range are dropped before the file is cut. So the heap's
    /// insert tries its remembered target block without asking the file
    /// system for the relation's size (two statx calls per row). Same
    /// callers and rules as [`BufMgr::read_buffer`].
    pub fn read_buffer_if_cached(
        &self,
        owner: &mut ResourceOwner,
        rel: RelFileLocator,
        fork: Fork,
        block: BlockNumber,
    ) -> Result<Option<Pin>, PgError> {
        self.0
            .read_if_cached(&self.0, owner, BufferTag::new(rel, fork, block))
    }

    /// [`BufMgr::read_buffer`] with a [`ReadMode`]. The block must exist
    /// in the fork (see [`BufMgr::extend_to`] for redo).
    pub fn read_buffer_extended(
        &self,
        owner: &mut ResourceOwner,
        rel: RelFileLocator,
        fork: Fork,
        block: BlockNumber,
        mode: ReadMode,
    ) -> Result<Pin, PgError> {
        let fill = match mode {
            ReadMode::Normal => Fill::Read,
            ReadMode::Zero => Fill::Zero,
        };
        self.0
            .read_common(&self.0, owner, BufferTag::new(rel, fork, block), fill)
    }

    /// Makes the fork at least `nblocks` long, creating it if missing and
    /// adding zero blocks on disk: WAL redo of a record for a block beyond
    /// the end of its file (PostgreSQL's XLogReadBufferExtended, which
    /// does the same). Called by the startup process, the only one writing
    /// relations during recovery.
    pub fn extend_to(
        &self,
        rel: RelFileLocator,
        fork: Fork,
        nblocks: BlockNumber,
    ) -> Result<(), PgError> {
        let mut smgr = self.0.smgr.borrow_mut();
        if !smgr.exists(rel, fork)? {
            smgr.create(rel, fork, true)?;
        }
        let zero = [0u8; BLCKSZ];
        for b in smgr.nblocks(rel, fork)?..nblocks {
            smgr.extend(rel, fork, b, &zero)?;
        }
        Ok(())
    }

    /// PostgreSQL's ReadBuffer(P_NEW): adds a zero block at the end of the
    /// fork (on disk too, so that space is claimed now) and pins its
    /// buffer. The caller holds the relation's extension lock, so no one
    /// else extends the fork meanwhile.
    pub fn extend(
        &self,
        owner: &mut ResourceOwner,
        rel: RelFileLocator,
        fork: Fork,
    ) -> Result<Pin, PgError> {
        let block = {
            let mut smgr = self.0.smgr.borrow_mut();
            let n = smgr.nblocks(rel, fork)?;
            smgr.extend(rel, fork, n, &[0u8; BLCKSZ])?;
            n
        };
        self.0
            .read_common(&self.0, owner, BufferTag::new(rel, fork, block), Fill::Zero)
    }

    /// Gives a pin back (PostgreSQL's ReleaseBuffer). A pin its owner
    /// already released (at abort) is not released twice; a `Pin` must not
    /// outlive its owner's release, which reuses ids.
    pub fn release(&self, owner: &mut ResourceOwner, pin: Pin) {
        // Taken back without running its release: we unpin here.
        if owner.forget(pin.id).is_some() {
            self.0.unpin(pin.buf);
        }
    }

    /// Locks the buffer's content (PostgreSQL's LockBuffer). Sleeps on the
    /// LWLock while another process holds it in a conflicting mode.
    pub fn lock<'a>(&'a self, pin: &'a Pin, mode: LwMode) -> ContentLock<'a> {
        self.0
            .pool
            .desc(pin.buf)
            .content_lock
            .acquire(&Procs(&*self.0.procs), self.0.me, mode);
        ContentLock {
            inner: &self.0,
            buf: pin.buf,
            mode,
        }
    }

    /// Writes the pinned buffer if it is dirty (PostgreSQL's FlushBuffer
    /// plus waiting for another writer). The caller holds no content lock
    /// on it.
    pub fn flush_buffer(&self, pin: &Pin) -> Result<(), PgError> {
        self.0.flush_pinned(pin.buf).map(|_| ())
    }

    /// The checkpoint's BufferSync: writes every buffer that is dirty when
    /// it starts (WAL before data for each), then fsyncs every relation
    /// fork written since the last checkpoint by any process. Called by
    /// the checkpointer (or a single-process test), holding no buffer lock.
    pub fn flush_all_dirty(&self, owner: &mut ResourceOwner) -> Result<FlushStats, PgError> {
        self.flush_all_dirty_paced(owner, &mut |_, _| {})
    }

    /// [`BufMgr::flush_all_dirty`], calling `pace(done, to_write)` after
    /// each buffer it looked at of the `to_write` marked at the start: a
    /// spread checkpoint sleeps there while it is ahead of schedule
    /// (PostgreSQL's CheckpointWriteDelay). `pace` runs with no buffer
    /// pinned or locked by this call. Checkpointer.
    pub fn flush_all_dirty_paced(
        &self,
        owner: &mut ResourceOwner,
        pace: &mut dyn FnMut(usize, usize),
    ) -> Result<FlushStats, PgError> {
        let pool = &self.0.pool;
        // Buffers never handed out are clean (see the file comment).
        let used = pool.used_buffers();
        let mut to_write = 0;
        for b in 0..used {
            let d = pool.desc(b);
            let st = lock_hdr(d);
            if st & (BM_DIRTY | BM_VALID) == BM_DIRTY | BM_VALID {
                unlock_hdr(d, st | BM_CHECKPOINT_NEEDED);
                to_write += 1;
            } else {
                unlock_hdr(d, st);
            }
        }
        let mut stats = FlushStats::default();
        let mut done = 0;
        for b in 0..used {
            let d = pool.desc(b);
            if d.state.load(Ordering::SeqCst) & BM_CHECKPOINT_NEEDED == 0 {
                continue;
            }
            let st = lock_hdr(d);
            if st & BM_CHECKPOINT_NEEDED == 0 {
                unlock_hdr(d, st);
                continue;
            }
            let pin = self.0.pin_locked(&self.0, owner, b, st);
            let r = self.0.flush_pinned(b);
            self.release(owner, pin);
            if r? {
                stats.written += 1;
            }
            done += 1;
            pace(done.min(to_write), to_write);
        }
        // Every write of a buffer dirty at the start has ended (flush_pinned
        // waited for writers), and a writer queues its request before it
        // clears IO_IN_PROGRESS: draining now misses none.
        let ctl = pool.ctl();
        let mut reqs = Vec::with_capacity(pool.nbuffers());
        spin_acquire(&ctl.fsync_lock);
        let n = ctl.fsync_len.load(Ordering::Relaxed) as usize;
        for i in 0..n {
            let r = pool.fsync_req(i);
            reqs.push((
                RelFileLocator {
                    spc: r.spc.load(Ordering::Relaxed),
                    db: r.db.load(Ordering::Relaxed),
                    rel: r.rel.load(Ordering::Relaxed),
                },
                r.fork.load(Ordering::Relaxed),
            ));
        }
        ctl.fsync_len.store(0, Ordering::Relaxed);
        ctl.fsync_generation.fetch_add(1, Ordering::Relaxed);
        spin_release(&ctl.fsync_lock);
        reqs.sort();
        reqs.dedup();
        let mut smgr = self.0.smgr.borrow_mut();
        for (rel, fork) in reqs {
            let fork = Fork::from_u8(fork as u8).unwrap_or(Fork::Main);
            // A fork dropped since its write needs no fsync.
            if smgr.exists(rel, fork)? {
                let t = std::time::Instant::now();
                smgr.sync(rel, fork)?;
                let took = t.elapsed();
                stats.synced += 1;
                stats.sync_total += took;
                stats.sync_longest = stats.sync_longest.max(took);
            }
        }
        Ok(stats)
    }

    /// PostgreSQL's BgBufferSync: one round of the background writer.
    /// Estimates from the allocations since the last round how many
    /// buffers the clock sweep will need before the next one (times
    /// `multiplier`), and writes dirty, unpinned, usage-count-0 buffers
    /// just ahead of the clock hand until that many are reusable, at most
    /// `max_pages` writes (WAL before data for each, as every write).
    /// Backends then find clean victims and do not write them themselves.
    /// Background writer only (its state is its own).
    pub fn bgwriter_sync(
        &self,
        st: &mut BgWriterState,
        max_pages: usize,
        multiplier: f64,
        delay_ms: u64,
        owner: &mut ResourceOwner,
    ) -> Result<BgSyncResult, PgError> {
        let pool = &self.0.pool;
        let ctl = pool.ctl();
        let n = pool.nbuffers() as u64;
        let strategy_pos = ctl.next_victim.load(Ordering::Relaxed);
        let allocs = ctl.allocs.load(Ordering::Relaxed);
        let recent_alloc = allocs.saturating_sub(st.prev_allocs);
        st.prev_allocs = allocs;
        let (bufs_to_lap, strategy_delta) = if st.valid {
            let delta = strategy_pos.saturating_sub(st.prev_strategy_pos);
            if st.next_to_clean < strategy_pos {
                // The clock sweep lapped us: start again at its hand.
                st.next_to_clean = strategy_pos;
                (n, delta)
            } else {
                (n.saturating_sub(st.next_to_clean - strategy_pos), delta)
            }
        } else {
            st.next_to_clean = strategy_pos;
            (n, 0)
        };
        st.prev_strategy_pos = strategy_pos;
        st.valid = true;
        if strategy_delta > 0 && recent_alloc > 0 {
            let scans_per_alloc = strategy_delta as f64 / recent_alloc as f64;
            st.smoothed_density += (scans_per_alloc - st.smoothed_density) / 16.0;
        }
        let bufs_ahead = n - bufs_to_lap;
        let reusable_est = (bufs_ahead as f64 / st.smoothed_density) as u64;
        let recent = recent_alloc as f64;
        if st.smoothed_alloc <= recent {
            st.smoothed_alloc = recent;
        } else {
            st.smoothed_alloc += (recent - st.smoothed_alloc) / 16.0;
        }
        let mut upcoming = (st.smoothed_alloc * multiplier) as u64;
        // Even when idle, look at the whole pool every two minutes, so
        // that dirty buffers get written before they are needed.
        let min_scan = n / (120_000 / delay_ms.max(1)).max(1);
        if upcoming < min_scan + reusable_est {
            upcoming = min_scan + reusable_est;
        }
        let mut r = BgSyncResult {
            recent_alloc,
            hibernate: bufs_to_lap == 0 && recent_alloc == 0,
            ..BgSyncResult::default()
        };
        let mut to_scan = bufs_to_lap;
        let mut reusable = reusable_est;
        while to_scan > 0 && reusable < upcoming {
            let b = (st.next_to_clean % n) as usize;
            st.next_to_clean += 1;
            to_scan -= 1;
            if b >= pool.used_buffers() {
                // Never handed out: clean, and its descriptor stays
                // untouched (all-zero) memory.
                reusable += 1;
                continue;
            }
            let d = pool.desc(b);
            let hdr = lock_hdr(d);
            if refcount(hdr) != 0 || usage_count(hdr) != 0 {
                // Recently used: the sweep will pass it by anyway.
                unlock_hdr(d, hdr);
                continue;
            }
            if hdr & (BM_DIRTY | BM_VALID) != BM_DIRTY | BM_VALID {
                unlock_hdr(d, hdr);
                reusable += 1;
                continue;
            }
            let pin = self.0.pin_locked(&self.0, owner, b, hdr);
            let w = self.0.flush_pinned(b);
            self.release(owner, pin);
            reusable += 1;
            if w? {
                r.written += 1;
                if r.written >= max_pages {
                    r.hit_max = true;
                    break;
                }
            }
        }
        Ok(r)
    }

    /// PostgreSQL's DropRelationBuffers: forgets every buffer of the fork
    /// from `first_block` on, dirty or not (the relation is being dropped
    /// or truncated). The caller holds the relation's AccessExclusiveLock,
    /// so only transient pins (a checkpoint's) remain; those are waited
    /// out. It must not pin any of these buffers itself.
    pub fn drop_relation_buffers(&self, rel: RelFileLocator, fork: Fork, first_block: BlockNumber) {
        let pool = &self.0.pool;
        // A buffer handed out later cannot get this relation's tag (the
        // lock), and those never handed out hold no tag.
        for b in 0..pool.used_buffers() {
            let d = pool.desc(b);
            // Unlocked pre-check, as PostgreSQL: a buffer that gets this
            // relation's tag after the check cannot exist (the lock).
            let t = d.tag.load();
            if t.rel() != rel || t.fork != fork as u32 || t.block < first_block {
                continue;
            }
            self.0.invalidate(b, t);
        }
    }
}

impl Inner {
    fn procs(&self) -> Procs<'_> {
        Procs(&*self.procs)
    }

    fn partition_of(&self, bucket: usize) -> usize {
        bucket % NUM_PARTITIONS
    }

    fn register(&self, me: &Rc<Inner>, owner: &mut ResourceOwner, buf: usize) -> Pin {
        let id = owner.remember(Box::new(PinResource {
            inner: me.clone(),
            buf,
        }));
        Pin { buf, id }
    }

    /// PostgreSQL's PinBuffer: a pin found through the mapping (the caller
    /// holds the tag's partition lock, so the tag cannot change).
    fn pin(&self, me: &Rc<Inner>, owner: &mut ResourceOwner, buf: usize) -> Pin {
        let mut private = self.private.borrow_mut();
        let count = private.entry(buf).or_insert(0);
        if *count == 0 {
            let d = self.pool.desc(buf);
            let mut old = d.state.load(Ordering::SeqCst);
            loop {
                if old & BM_LOCKED != 0 {
                    old = wait_hdr_unlocked(d);
                }
                let mut new = old + REFCOUNT_ONE;
                if usage_count(old) < MAX_USAGE_COUNT {
                    new += USAGECOUNT_ONE;
                }
                match d
                    .state
                    .compare_exchange_weak(old, new, Ordering::SeqCst, Ordering::SeqCst)
                {
                    Ok(_) => break,
                    Err(o) => old = o,
                }
            }
        }
        *count += 1;
        drop(private);
        self.register(me, owner, buf)
    }

    /// PostgreSQL's PinBuffer_Locked: pins with the header spinlock held
    /// (`st` is the locked state) and releases it. The usage count is not
    /// raised: such pins (victim, checkpoint) are not uses.
    fn pin_locked(&self, me: &Rc<Inner>, owner: &mut ResourceOwner, buf: usize, st: u32) -> Pin {
        let d = self.pool.desc(buf);
        let mut private = self.private.borrow_mut();
        let count = private.entry(buf).or_insert(0);
        if *count == 0 {
            unlock_hdr(d, st + REFCOUNT_ONE);
        } else {
            unlock_hdr(d, st);
        }
        *count += 1;
        drop(private);
        self.register(me, owner, buf)
    }

    /// Drops one of this process's pins; its last gives back the shared
    /// reference.
    fn unpin(&self, buf: usize) {
        let mut private = self.private.borrow_mut();
        let count = private
            .get_mut(&buf)
            .unwrap_or_else(|| panic!("buffer {buf} is not pinned by this process"));
        *count -= 1;
        if *count > 0 {
            return;
        }
        private.remove(&buf);
        drop(private);
        let d = self.pool.desc(buf);
        let mut old = d.state.load(Ordering::SeqCst);
        loop {
            if old & BM_LOCKED != 0 {
                old = wait_hdr_unlocked(d);
            }
            assert!(refcount(old) > 0, "buffer {buf}: shared refcount is 0");
            match d.state.compare_exchange_weak(
                old,
                old - REFCOUNT_ONE,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return,
                Err(o) => old = o,
            }
        }
    }

    /// Sleeps until no process does I/O on `buf`: on its content lock in
    /// exclusive mode, which the I/O's process holds until it ended. The
    /// caller holds no content lock on `buf`.
    fn wait_io(&self, buf: usize) {
        let d = self.pool.desc(buf);
        while d.state.load(Ordering::SeqCst) & BM_IO_IN_PROGRESS != 0 {
            d.content_lock
                .acquire(&self.procs(), self.me, LwMode::Exclusive);
            d.content_lock.release(&self.procs());
        }
    }

    fn read_if_cached(
        &self,
        me: &Rc<Inner>,
        owner: &mut ResourceOwner,
        tag: BufferTag,
    ) -> Result<Option<Pin>, PgError> {
        let pool = &self.pool;
        let bucket = pool.bucket_of(&tag);
        let part = pool.partition_lock(self.partition_of(bucket));
        part.acquire(&self.procs(), self.me, LwMode::Shared);
        let Some(b) = pool.lookup(bucket, &tag) else {
            part.release(&self.procs());
            return Ok(None);
        };
        let pin = self.pin(me, owner, b);
        part.release(&self.procs());
        self.finish_hit(owner, pin, &tag, Fill::Read).map(Some)
    }

    fn read_common(
        &self,
        me: &Rc<Inner>,
        owner: &mut ResourceOwner,
        tag: BufferTag,
        fill: Fill,
    ) -> Result<Pin, PgError> {
        let pool = &self.pool;
        let bucket = pool.bucket_of(&tag);
        let part = pool.partition_lock(self.partition_of(bucket));
        loop {
            part.acquire(&self.procs(), self.me, LwMode::Shared);
            if let Some(b) = pool.lookup(bucket, &tag) {
                let pin = self.pin(me, owner, b);
                part.release(&self.procs());
                return self.finish_hit(owner, pin, &tag, fill);
            }
            part.release(&self.procs());

            let victim = self.get_victim(me, owner)?;
            let v = victim.buf;
            let d = pool.desc(v);
            let old_state = d.state.load(Ordering::SeqCst);
            let old_tag = d.tag.load();
            // The old tag is stable: retagging needs the only pin, and we
            // hold one.
            let old_bucket = (old_state & BM_TAG_VALID != 0).then(|| pool.bucket_of(&old_tag));
            let mut parts = vec![self.partition_of(bucket)];
            if let Some(ob) = old_bucket {
                parts.push(self.partition_of(ob));
            }
            parts.sort_unstable();
            parts.dedup();
            for &p in &parts {
                pool.partition_lock(p)
                    .acquire(&self.procs(), self.me, LwMode::Exclusive);
            }
            let release_parts = |this: &Inner| {
                for &p in parts.iter().rev() {
                    pool.partition_lock(p).release(&this.procs());
                }
            };
            if let Some(b) = pool.lookup(bucket, &tag) {
                // Another process read it in meanwhile: use its buffer.
                let pin = self.pin(me, owner, b);
                release_parts(self);
                drop(owner.forget(victim.id));
                self.unpin(v);
                return self.finish_hit(owner, pin, &tag, fill);
            }
            let st = lock_hdr(d);
            // Pinned by someone else since, or dirtied again: try anew.
            if refcount(st) != 1
                || st & BM_DIRTY != 0
                || !d.content_lock.try_acquire(LwMode::Exclusive)
            {
                unlock_hdr(d, st);
                release_parts(self);
                drop(owner.forget(victim.id));
                self.unpin(v);
                continue;
            }
            if let Some(ob) = old_bucket {
                pool.remove(ob, v);
            }
            d.tag.store(tag);
            pool.insert(bucket, v);
            let st = (st & (BM_LOCKED | REFCOUNT_MASK))
                | BM_TAG_VALID
                | BM_IO_IN_PROGRESS
                | USAGECOUNT_ONE;
            unlock_hdr(d, st);
            release_parts(self);
            // We hold the content lock exclusively and IO_IN_PROGRESS:
            // others wait in wait_io until the read ends.
            return match self.fill_locked(v, &tag, fill) {
                Ok(()) => Ok(victim),
                Err(e) => {
                    drop(owner.forget(victim.id));
                    self.unpin(v);
                    Err(e)
                }
            };
        }
    }

    /// A pin on a buffer found in the mapping: wait until it is valid,
    /// reading it ourselves if its last read failed.
    fn finish_hit(
        &self,
        owner: &mut ResourceOwner,
        pin: Pin,
        tag: &BufferTag,
        fill: Fill,
    ) -> Result<Pin, PgError> {
        SHARED_HIT.fetch_add(1, Ordering::Relaxed);
        let d = self.pool.desc(pin.buf);
        loop {
            let st = d.state.load(Ordering::SeqCst);
            if st & BM_VALID != 0 {
                return Ok(pin);
            }
            if st & BM_IO_IN_PROGRESS != 0 {
                self.wait_io(pin.buf);
                continue;
            }
            // Invalid and nobody reading: a read failed. Become the reader.
            d.content_lock
                .acquire(&self.procs(), self.me, LwMode::Exclusive);
            let st = lock_hdr(d);
            if st & BM_VALID != 0 {
                unlock_hdr(d, st);
                d.content_lock.release(&self.procs());
                return Ok(pin);
            }
            // IO_IN_PROGRESS needs the content lock, which we hold.
            debug_assert_eq!(st & BM_IO_IN_PROGRESS, 0);
            unlock_hdr(d, (st | BM_IO_IN_PROGRESS) & !BM_IO_ERROR);
            return match self.fill_locked(pin.buf, tag, fill) {
                Ok(()) => Ok(pin),
                Err(e) => {
                    drop(owner.forget(pin.id));
                    self.unpin(pin.buf);
                    Err(e)
                }
            };
        }
    }

    /// Fills buffer `buf` (we hold its content lock exclusively and its
    /// IO_IN_PROGRESS), ends the I/O, releases the content lock. On
    /// failure the buffer stays invalid with IO_ERROR set.
    fn fill_locked(&self, buf: usize, tag: &BufferTag, fill: Fill) -> Result<(), PgError> {
        // SAFETY: we hold the exclusive content lock and the I/O.
        let page = unsafe { &mut *self.pool.page_ptr(buf) };
        let r = match fill {
            Fill::Zero => {
                page.fill(0);
                Ok(())
            }
            Fill::Read => {
                SHARED_READ.fetch_add(1, Ordering::Relaxed);
                self.smgr
                    .borrow_mut()
                    .read(tag.rel(), tag.fork(), tag.block, page)
                    .and_then(|()| {
                        page::verify(page, tag.block, self.checksums).map_err(|e| {
                            if let Some(w) = e.warning() {
                                elog::warning(w);
                            }
                            // Never leave a damaged page where a reader could
                            // take it for data.
                            page.fill(0);
                            e.to_pg_error(tag.block, &relpath(tag.rel(), tag.fork()))
                        })
                    })
            }
        };
        let d = self.pool.desc(buf);
        let st = lock_hdr(d);
        let st = match r {
            Ok(()) => (st | BM_VALID) & !(BM_IO_IN_PROGRESS | BM_IO_ERROR),
            Err(_) => (st | BM_IO_ERROR) & !BM_IO_IN_PROGRESS,
        };
        unlock_hdr(d, st);
        d.content_lock.release(&self.procs());
        r
    }

    /// PostgreSQL's StrategyGetBuffer and the victim part of BufferAlloc:
    /// a pinned buffer that was unpinned and clean when taken (it may be
    /// tagged). The free list first, then a never-used buffer, then the
    /// clock sweep, which lowers
    /// usage counts as it passes and never takes a pinned buffer. A dirty
    /// victim is written first (WAL before data); one whose content lock
    /// or I/O is busy is skipped.
    fn get_victim(&self, me: &Rc<Inner>, owner: &mut ResourceOwner) -> Result<Pin, PgError> {
        let ctl = self.pool.ctl();
        ctl.allocs.fetch_add(1, Ordering::Relaxed);
        // PostgreSQL's StrategyGetBuffer: the first allocation after the
        // background writer went to sleep wakes it (one wake per sleep).
        if ctl.bgwriter_asleep.load(Ordering::Relaxed) != 0
            && ctl.bgwriter_asleep.swap(0, Ordering::SeqCst) != 0
        {
            if let Some(w) = &self.wake_bgwriter {
                w();
            }
        }
        loop {
            let (b, st) = self.strategy_get_buffer()?;
            let pin = self.pin_locked(me, owner, b, st);
            if st & BM_DIRTY == 0 {
                return Ok(pin);
            }
            let d = self.pool.desc(b);
            if !d.content_lock.try_acquire(LwMode::Shared) {
                drop(owner.forget(pin.id));
                self.unpin(b);
                continue;
            }
            let r = self.write_shared_locked(b);
            d.content_lock.release(&self.procs());
            match r {
                Ok(Wrote::Yes) => {
                    self.pool
                        .ctl()
                        .victim_writes
                        .fetch_add(1, Ordering::Relaxed);
                    return Ok(pin);
                }
                Ok(Wrote::Clean) => return Ok(pin),
                Ok(Wrote::Busy) => {
                    drop(owner.forget(pin.id));
                    self.unpin(b);
                }
                Err(e) => {
                    drop(owner.forget(pin.id));
                    self.unpin(b);
                    return Err(e);
                }
            }
        }
    }

    /// Returns an unpinned buffer with usage count 0, header spinlock held
    /// (the returned state has LOCKED).
    fn strategy_get_buffer(&self) -> Result<(usize, u32), PgError> {
        let pool = &self.pool;
        let ctl = pool.ctl();
        // Unlocked peek, as PostgreSQL: the list is usually empty.
        while ctl.first_free.load(Ordering::Relaxed) != NOT_IN_LIST {
            spin_acquire(&ctl.free_lock);
            let head = ctl.first_free.load(Ordering::Relaxed);
            if head == NOT_IN_LIST {
                spin_release(&ctl.free_lock);
                break;
            }
            let buf = head as usize - 1;
            let d = pool.desc(buf);
            let next = d.free_next.load(Ordering::Relaxed);
            ctl.first_free.store(
                if next == FREE_END { NOT_IN_LIST } else { next },
                Ordering::Relaxed,
            );
            d.free_next.store(NOT_IN_LIST, Ordering::Relaxed);
            spin_release(&ctl.free_lock);
            let st = lock_hdr(d);
            if refcount(st) == 0 && usage_count(st) == 0 {
                return Ok((buf, st));
            }
            unlock_hdr(d, st);
        }
        let n = pool.nbuffers() as u64;
        // A buffer nobody has used: all-zero, on no chain, unpinned. The
        // load first, so that the counter stops growing once the pool is
        // full.
        if ctl.next_unused.load(Ordering::Relaxed) < n {
            let v = ctl.next_unused.fetch_add(1, Ordering::SeqCst);
            if v < n {
                let d = pool.desc(v as usize);
                let st = lock_hdr(d);
                if st & !BM_LOCKED == 0 {
                    return Ok((v as usize, st));
                }
                // Preempted between the counter and the header lock while
                // the rest of the pool was handed out: the clock sweep of
                // another process took this still-clean buffer first.
                // It is theirs; sweep for another.
                unlock_hdr(d, st);
            }
        }
        let mut tries = pool.nbuffers();
        loop {
            let v = (ctl.next_victim.fetch_add(1, Ordering::Relaxed) % n) as usize;
            let d = pool.desc(v);
            let st = lock_hdr(d);
            if refcount(st) == 0 {
                if usage_count(st) > 0 {
                    unlock_hdr(d, st - USAGECOUNT_ONE);
                    tries = pool.nbuffers();
                } else {
                    return Ok((v, st));
                }
            } else {
                unlock_hdr(d, st);
                tries -= 1;
                if tries == 0 {
                    return Err(PgError::error(
                        sqlstate::INTERNAL_ERROR,
                        "no unpinned buffers available",
                    ));
                }
            }
        }
    }

    /// Writes a pinned buffer if dirty, waiting for another writer first;
    /// true if this call wrote it. Takes and releases the content lock.
    fn flush_pinned(&self, buf: usize) -> Result<bool, PgError> {
        let d = self.pool.desc(buf);
        loop {
            d.content_lock
                .acquire(&self.procs(), self.me, LwMode::Shared);
            let r = self.write_shared_locked(buf);
            d.content_lock.release(&self.procs());
            match r? {
                Wrote::Yes => return Ok(true),
                Wrote::Clean => return Ok(false),
                Wrote::Busy => self.wait_io(buf),
            }
        }
    }

    /// PostgreSQL's FlushBuffer: the caller pins `buf` and holds its
    /// content lock shared. Flushes WAL up to the page's LSN, then writes
    /// a checksummed copy, then queues the fsync request, then ends the
    /// I/O (clearing DIRTY unless the page was dirtied meanwhile).
    fn write_shared_locked(&self, buf: usize) -> Result<Wrote, PgError> {
        let d = self.pool.desc(buf);
        let st = lock_hdr(d);
        if st & BM_IO_IN_PROGRESS != 0 {
            unlock_hdr(d, st);
            return Ok(Wrote::Busy);
        }
        if st & (BM_DIRTY | BM_VALID) != BM_DIRTY | BM_VALID {
            unlock_hdr(d, st);
            return Ok(Wrote::Clean);
        }
        unlock_hdr(d, (st | BM_IO_IN_PROGRESS) & !BM_JUST_DIRTIED);
        let tag = d.tag.load();
        // A copy: hint-bit setters may change the page under a shared
        // lock, and the checksum must match the bytes written.
        let mut copy: Box<PageBuf> = Box::new([0u8; BLCKSZ]);
        // SAFETY: pinned and share-locked; see ContentLock::page.
        copy.copy_from_slice(unsafe { &*self.pool.page_ptr(buf) });
        let r = self
            .wal
            .flush_upto(page::lsn(&copy))
            .map_err(|e| e.to_pg_error(tusk_common::Severity::Error))
            .and_then(|()| {
                if self.checksums && !page::is_new(&copy) {
                    page::set_checksum(&mut copy, tag.block);
                }
                self.smgr
                    .borrow_mut()
                    .write(tag.rel(), tag.fork(), tag.block, &copy)
            })
            .and_then(|()| self.request_fsync(tag.rel(), tag.fork()));
        let st = lock_hdr(d);
        let st = match r {
            Ok(()) => {
                let mut s = st & !(BM_IO_IN_PROGRESS | BM_IO_ERROR);
                if s & BM_JUST_DIRTIED == 0 {
                    s &= !(BM_DIRTY | BM_CHECKPOINT_NEEDED);
                }
                s
            }
            Err(_) => (st | BM_IO_ERROR) & !BM_IO_IN_PROGRESS,
        };
        unlock_hdr(d, st);
        r.map(|()| Wrote::Yes)
    }

    /// Queues an fsync of the fork for the next checkpoint, or fsyncs it
    /// now if the queue is full.
    fn request_fsync(&self, rel: RelFileLocator, fork: Fork) -> Result<(), PgError> {
        let pool = &self.pool;
        let ctl = pool.ctl();
        let mut queued = self.queued.borrow_mut();
        spin_acquire(&ctl.fsync_lock);
        let generation = ctl.fsync_generation.load(Ordering::Relaxed);
        if queued.0 != generation {
            queued.0 = generation;
            queued.1.clear();
        }
        if queued.1.contains(&(rel, fork)) {
            spin_release(&ctl.fsync_lock);
            return Ok(());
        }
        let n = ctl.fsync_len.load(Ordering::Relaxed) as usize;
        if n < pool.nbuffers() {
            let r = pool.fsync_req(n);
            r.spc.store(rel.spc, Ordering::Relaxed);
            r.db.store(rel.db, Ordering::Relaxed);
            r.rel.store(rel.rel, Ordering::Relaxed);
            r.fork.store(fork as u32, Ordering::Relaxed);
            ctl.fsync_len.store(n as u32 + 1, Ordering::Relaxed);
            spin_release(&ctl.fsync_lock);
            // After the lock: the set may allocate.
            queued.1.insert((rel, fork));
            return Ok(());
        }
        spin_release(&ctl.fsync_lock);
        self.smgr.borrow_mut().sync(rel, fork)
    }

    /// PostgreSQL's InvalidateBuffer for a buffer last seen with `t`.
    fn invalidate(&self, buf: usize, t: BufferTag) {
        let pool = &self.pool;
        let d = pool.desc(buf);
        let bucket = pool.bucket_of(&t);
        let part = pool.partition_lock(self.partition_of(bucket));
        loop {
            part.acquire(&self.procs(), self.me, LwMode::Exclusive);
            let st = lock_hdr(d);
            if st & BM_TAG_VALID == 0 || d.tag.load() != t {
                unlock_hdr(d, st);
                part.release(&self.procs());
                return;
            }
            if refcount(st) != 0 {
                unlock_hdr(d, st);
                part.release(&self.procs());
                assert_eq!(
                    self.private.borrow().get(&buf).copied().unwrap_or(0),
                    0,
                    "buffer is pinned in InvalidateBuffer"
                );
                if st & BM_IO_IN_PROGRESS != 0 {
                    self.wait_io(buf);
                } else {
                    // A transient pin (checkpoint): held for one write.
                    // SAFETY: plain system call.
                    unsafe { libc::sched_yield() };
                }
                continue;
            }
            pool.remove(bucket, buf);
            d.tag.store(BufferTag::default());
            unlock_hdr(d, 0);
            part.release(&self.procs());
            break;
        }
        let ctl = pool.ctl();
        spin_acquire(&ctl.free_lock);
        if d.free_next.load(Ordering::Relaxed) == NOT_IN_LIST {
            let head = ctl.first_free.load(Ordering::Relaxed);
            d.free_next.store(
                if head == NOT_IN_LIST { FREE_END } else { head },
                Ordering::Relaxed,
            );
            ctl.first_free.store(buf as u32 + 1, Ordering::Relaxed);
        }
        spin_release(&ctl.free_lock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizing(n: usize) -> Sizing {
        Sizing {
            max_connections: 4,
            max_prepared_transactions: 0,
            max_locks_per_transaction: 10,
            shared_buffers: n,
            wal_buffers: 8,
        }
    }

    /// Linear in shared_buffers, so that `tusk check`'s memory table (one
    /// cost per buffer) stays exact.
    #[test]
    fn mapping_area_is_linear_in_shared_buffers() {
        let size = |n| MAPPING_AREA.size_for(&sizing(n)).unwrap();
        assert_eq!(size(16), BUCKETS_OFF + 16 * 24);
        assert_eq!(size(16385) - size(16384), 24);
        assert_eq!(size(1000) - size(999), size(2) - size(1));
    }

    /// Consecutive blocks of one relation spread over the partitions
    /// (a sequential scan must not hammer one LWLock), and the chains hold
    /// what was inserted.
    #[test]
    fn tags_spread_over_partitions_and_chains_find_them() {
        let z = sizing(1024);
        let l = Layout::compute(&z, 4096).unwrap();
        let layout = std::alloc::Layout::from_size_align(l.total, 4096).unwrap();
        // SAFETY: non-zero size; freed below. Zeroed, as a fresh segment.
        let base = unsafe { std::alloc::alloc_zeroed(layout) };
        assert!(!base.is_null());
        // SAFETY: zero-filled memory of l.total bytes, page-aligned.
        unsafe { l.init_areas(base, &z) };
        // SAFETY: the areas were just initialised for this layout and
        // sizing, and `base` outlives `pool` (freed at the end).
        let pool = unsafe { SharedPool::attach(base, &l, &z) };
        let rel = RelFileLocator {
            spc: 1663,
            db: 5,
            rel: 16384,
        };
        let mut used = HashSet::new();
        for b in 0..1024 {
            let t = BufferTag::new(rel, Fork::Main, b);
            let bucket = pool.bucket_of(&t);
            used.insert(bucket % NUM_PARTITIONS);
            pool.desc(b as usize).tag.store(t);
            pool.insert(bucket, b as usize);
        }
        assert!(
            used.len() > NUM_PARTITIONS * 9 / 10,
            "{} partitions",
            used.len()
        );
        for b in (0..1024).rev() {
            let t = BufferTag::new(rel, Fork::Main, b);
            assert_eq!(pool.lookup(pool.bucket_of(&t), &t), Some(b as usize));
            if b % 2 == 0 {
                pool.remove(pool.bucket_of(&t), b as usize);
            }
        }
        for b in 0..1024u32 {
            let t = BufferTag::new(rel, Fork::Main, b);
            let found = pool.lookup(pool.bucket_of(&t), &t);
            assert_eq!(found, (b % 2 == 1).then_some(b as usize));
        }
        // SAFETY: allocated above with this layout.
        unsafe { std::alloc::dealloc(base, layout) };
    }
}
