//! The shared-memory area registry: every area of the region, declared
//! once, and where each one sits.
//!
//! Each subsystem declares one [`AreaSpec`] next to the structs it keeps
//! in shared memory: a name, `size(&Sizing)` computed with checked
//! arithmetic, an alignment, and `init`, which makes the freshly created
//! area valid before any child exists (PostgreSQL's `*ShmemSize` and
//! `*ShmemInit` pairs). Typed views to attach live with the area too
//! ([`crate::procarray::ProcArray::attach`],
//! [`crate::control::PgControlView`], ...), plus read-only ones for
//! readers outside the server such as `tusk ctl`, which only load.
//! [`AREAS`] lists them in region order:
//!
//! ```text
//! +------------+----------------+------------+------------+----------------+
//! | segment    | control flags  | pg_control | procs      | backend status |
//! | header     | SharedControl  | PgControl- | Proc ×     | BackendStatus  |
//! | (tusk-ipc) |                | Shared     |  all procs |  × all procs   |
//! +------------+----------------+------------+------------+----------------+
//! | lock table: header (16 partition LWLocks), buckets, links, Lock × N +  |
//! |  ProcLock × 2N, N = max_locks_per_transaction × (max_connections +    |
//! |  max_prepared_transactions)                                            |
//! +----------------------------------------+-------------------------------+
//! | buffer descriptors (BufferDesc, 64 B × | buffer pages (8 kB ×          |
//! |  shared_buffers)                       |  shared_buffers)              |
//! +----------------------------------------+-------------------------------+
//! | buffer mapping: strategy control, 128 partition LWLocks, buckets,      |
//! |  chain links and fsync requests (24 B × shared_buffers)                |
//! +------------------------------------------------------------------------+
//! | WAL: WalCtl + 8 kB × wal_buffers | commit status: SlruCtl + 8 kB pages |
//! +----------------------------------+-------------------------------------+
//! ```
//!
//! Why computed, never written down: `tusk server -C shared_memory_size`,
//! `tusk check`, the start-up line, the segment header's area table and the
//! segment the postmaster asks the kernel for all come from
//! [`Layout::compute`] over [`AREAS`], so the size an operator is told is
//! the size the kernel is asked for. The areas the storage engine does not
//! fill yet (locks, buffers, WAL, commit status) are its real structs at
//! their final size, so sizing, kernel limits and start-up failures behave
//! as they will once the engine uses them.
//!
//! # The rule: all-zero bytes are every area's initial state
//!
//! `init` receives zero-filled memory, and for every area whose size grows
//! with a setting, all-zero must already be valid, so that `init` writes
//! nothing per element. Why: the region is always a new segment
//! (`shmget` with `IPC_CREAT | IPC_EXCL`, or a new anonymous `MAP_SHARED`
//! mapping; a crash restart removes the old one and creates another, and
//! no code path reuses one), which the kernel zero-fills lazily: a page
//! costs memory and a fault only when first touched. An init loop over
//! the buffer descriptors, the buffer mapping and the WAL buffers touched
//! ~60 MB at shared_buffers=4GB and tripled the time to ready (bench/
//! README.md). So a free LWLock is all-zero, links whose zero must mean
//! "none" hold index + 1, and never-used entries sit above a counter
//! instead of on a free list that start-up would have to link. Small
//! fixed blocks (pg_control's copy, the commit-status cache's control
//! block) may still be written. A code path that ever reuses memory must
//! zero it explicitly first. Tests allocate areas with `alloc_zeroed` or a
//! fresh mapping, and one checks with `mincore` that init faults nothing
//! in at 4 GB.
//!
//! Why checked arithmetic: the product of the sizing settings' maxima fits
//! in 64 bits today, but not on a 32-bit target, and not once more areas
//! multiply; a wrapped size would ask the kernel for a small segment and
//! overrun it. Every size is `checked_mul`/`checked_add`, and an overflow
//! is a [`SizeError`] naming the area and the settings.

use crate::procarray::SharedControl;
use tusk_config::Settings;

/// Bytes of a data page and of a WAL page: the formats' own constants.
pub use crate::page::BLCKSZ;
pub use crate::wal::XLOG_BLCKSZ;

/// Auxiliary processes that own a proc slot and a semaphore: the startup
/// process, the checkpointer, the WAL writer and the background writer.
pub const NUM_AUXILIARY_PROCS: usize = 4;

/// The settings that decide the size of shared memory, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizing {
    pub max_connections: usize,
    pub max_prepared_transactions: usize,
    pub max_locks_per_transaction: usize,
    /// In 8 kB pages.
    pub shared_buffers: usize,
    /// In 8 kB pages, after resolving -1 (auto).
    pub wal_buffers: usize,
}

impl Sizing {
    /// Reads the sizing settings. `wal_buffers = -1` becomes 1/32 of
    /// shared_buffers, at least 8 pages and at most one 16 MB segment,
    /// as in PostgreSQL.
    pub fn from_settings(s: &Settings) -> Sizing {
        use tusk_config::keys::*;
        let shared_buffers = s.get(SHARED_BUFFERS).max(16) as usize;
        Sizing {
            max_connections: s.get(MAX_CONNECTIONS).max(1) as usize,
            max_prepared_transactions: s.get(MAX_PREPARED_TRANSACTIONS).max(0) as usize,
            max_locks_per_transaction: s.get(MAX_LOCKS_PER_TRANSACTION).max(10) as usize,
            shared_buffers,
            wal_buffers: resolve_wal_buffers(s.get(WAL_BUFFERS), shared_buffers),
        }
    }

    /// Proc slots: client backends, auxiliary processes, and one dummy slot
    /// per prepared transaction. Saturating: the area sizes that use it
    /// are checked, and a saturated count overflows there.
    pub fn total_procs(&self) -> usize {
        self.max_connections
            .saturating_add(NUM_AUXILIARY_PROCS)
            .saturating_add(self.max_prepared_transactions)
    }

    /// Processes that can sleep, hence semaphores: connections (reserved
    /// slots included) and auxiliary processes. Prepared transactions never
    /// wait, so they get none.
    pub fn semaphores(&self) -> usize {
        self.max_connections.saturating_add(NUM_AUXILIARY_PROCS)
    }

    /// "max_connections=…, …": the settings, for an overflow message.
    fn describe(&self) -> String {
        format!(
            "max_connections={}, max_prepared_transactions={}, max_locks_per_transaction={}, shared_buffers={} pages, wal_buffers={} pages",
            self.max_connections,
            self.max_prepared_transactions,
            self.max_locks_per_transaction,
            self.shared_buffers,
            self.wal_buffers
        )
    }
}

/// Resolves `wal_buffers = -1`.
pub fn resolve_wal_buffers(setting: i64, shared_buffers: usize) -> usize {
    if setting > 0 {
        return setting as usize;
    }
    (shared_buffers / 32).clamp(8, 16 * 1024 * 1024 / XLOG_BLCKSZ)
}

/// A size that does not fit in `usize`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeError {
    /// The area whose size overflowed, or "total".
    pub area: &'static str,
    pub settings: String,
}

impl std::fmt::Display for SizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "shared memory size overflows: the {} area for {} does not fit in {} bits",
            self.area,
            self.settings,
            usize::BITS
        )
    }
}

impl std::error::Error for SizeError {}

/// Checked size arithmetic for [`AreaSpec::size`]: PostgreSQL's
/// `add_size`/`mul_size`, with the area's name and the settings in the
/// error.
#[derive(Clone, Copy)]
pub struct SizeCalc<'a> {
    pub area: &'static str,
    pub z: &'a Sizing,
}

impl SizeCalc<'_> {
    fn err(&self) -> SizeError {
        SizeError {
            area: self.area,
            settings: self.z.describe(),
        }
    }

    pub fn mul(&self, a: usize, b: usize) -> Result<usize, SizeError> {
        a.checked_mul(b).ok_or_else(|| self.err())
    }

    pub fn add(&self, a: usize, b: usize) -> Result<usize, SizeError> {
        a.checked_add(b).ok_or_else(|| self.err())
    }
}

/// Identifies an area in the segment header, so that a reader can find it.
/// Numbers are never reused: a reader of another build looks areas up by
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum AreaId {
    Control = 1,
    /// Hot per-process state (`Proc`).
    Procs = 2,
    LockTable = 3,
    BufferDescriptors = 4,
    BufferPages = 5,
    WalBuffers = 6,
    CommitStatus = 7,
    PgControl = 8,
    /// What pg_stat_activity shows (`BackendStatus`).
    BackendStatus = 9,
    /// The buffer mapping table, clock sweep and fsync queue.
    BufferMapping = 10,
    /// The xid counter, ProcArrayLock, per-proc subtransaction ids.
    Transam = 11,
    /// Per-table activity counters (pg_stat_user_tables, autovacuum).
    TableStats = 12,
    /// LISTEN/NOTIFY's queue and listeners.
    NotifyQueue = 13,
}

/// One area, declared by the subsystem that owns it.
pub struct AreaSpec {
    pub id: AreaId,
    /// For the start-up line, `tusk check` and overflow messages.
    pub name: &'static str,
    /// Where the area may start: a multiple of this (a power of two).
    pub align: usize,
    /// Bytes for these settings.
    pub size: fn(&SizeCalc) -> Result<usize, SizeError>,
    /// Makes a freshly created area valid. Only the postmaster calls it,
    /// right after creating shared memory and before any child exists.
    /// It receives zero-filled bytes, and all-zero should be the area's
    /// initial state so that this writes nothing per element (the rule
    /// in the file comment); [`init_zeroed`] is that init.
    ///
    /// # Safety
    /// `at` points to `size` writable, zero-filled bytes aligned to
    /// `align` that no other process uses yet.
    pub init: unsafe fn(at: *mut u8, size: usize, z: &Sizing),
}

impl AreaSpec {
    pub fn size_for(&self, z: &Sizing) -> Result<usize, SizeError> {
        (self.size)(&SizeCalc { area: self.name, z })
    }
}

/// The `init` of areas whose all-zero bytes are their initial state,
/// which should be every area: it writes nothing, because the region is
/// zero-filled already (see [`AreaSpec::init`]), and writing zeros would
/// fault in every page of the area for nothing.
///
/// # Safety
/// As [`AreaSpec::init`].
pub unsafe fn init_zeroed(_at: *mut u8, _size: usize, _z: &Sizing) {}

/// The control flags' area.
pub const CONTROL_AREA: AreaSpec = AreaSpec {
    id: AreaId::Control,
    name: "control flags",
    align: 64,
    size: |_| Ok(std::mem::size_of::<SharedControl>()),
    init: init_zeroed,
};

/// Every area, in region order.
pub const AREAS: &[AreaSpec] = &[
    CONTROL_AREA,
    crate::control::AREA,
    crate::procarray::PROCS_AREA,
    crate::procarray::STATUS_AREA,
    crate::lock::AREA,
    crate::buffer::DESCRIPTORS_AREA,
    crate::buffer::PAGES_AREA,
    crate::bufmgr::MAPPING_AREA,
    crate::walbuffers::AREA,
    crate::clogbuffers::AREA,
    crate::transam::AREA,
    crate::pgstat::AREA,
    crate::notify::AREA,
];

/// The spec of an area.
pub fn spec(id: AreaId) -> &'static AreaSpec {
    AREAS
        .iter()
        .find(|a| a.id == id)
        .expect("every AreaId is registered in AREAS")
}

/// One placed area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    pub id: AreaId,
    pub offset: usize,
    pub size: usize,
    pub align: usize,
}

impl Area {
    pub fn name(&self) -> &'static str {
        spec(self.id).name
    }
}

/// The whole region: the header followed by every area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub header_size: usize,
    pub areas: Vec<Area>,
    /// Bytes to ask the kernel for.
    pub total: usize,
}

fn align_up(n: usize, to: usize, c: &SizeCalc) -> Result<usize, SizeError> {
    Ok(c.add(n, to - 1)? / to * to)
}

impl Layout {
    /// Places every registered area after a header of `header_size`
    /// bytes. The total is rounded up to a whole 8 kB block.
    pub fn compute(z: &Sizing, header_size: usize) -> Result<Layout, SizeError> {
        let mut offset = header_size;
        let mut areas = Vec::with_capacity(AREAS.len());
        for spec in AREAS {
            let c = SizeCalc { area: spec.name, z };
            let size = (spec.size)(&c)?;
            offset = align_up(offset, spec.align, &c)?;
            areas.push(Area {
                id: spec.id,
                offset,
                size,
                align: spec.align,
            });
            offset = c.add(offset, size)?;
        }
        let c = SizeCalc { area: "total", z };
        Ok(Layout {
            header_size,
            areas,
            total: align_up(offset, BLCKSZ, &c)?,
        })
    }

    pub fn area(&self, id: AreaId) -> Area {
        *self
            .areas
            .iter()
            .find(|a| a.id == id)
            .expect("every AreaId is placed by Layout::compute")
    }

    /// Runs every area's `init` on a freshly created region at `base`.
    /// Only the postmaster calls this, before any child exists.
    ///
    /// # Safety
    /// `base` must point to `self.total` writable, zero-filled bytes,
    /// aligned to a page, that no other process uses yet.
    pub unsafe fn init_areas(&self, base: *mut u8, z: &Sizing) {
        for a in &self.areas {
            // SAFETY: the area lies inside the region at its alignment
            // (compute placed it so; base is page-aligned).
            unsafe { (spec(a.id).init)(base.add(a.offset), a.size, z) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizing() -> Sizing {
        Sizing {
            max_connections: 100,
            max_prepared_transactions: 0,
            max_locks_per_transaction: 64,
            shared_buffers: 16384,
            wal_buffers: resolve_wal_buffers(-1, 16384),
        }
    }

    #[test]
    fn areas_do_not_overlap_and_are_aligned() {
        let l = Layout::compute(&sizing(), 1200).unwrap();
        assert_eq!(l.areas.len(), AREAS.len());
        let mut end = l.header_size;
        for a in &l.areas {
            assert!(a.offset >= end, "{:?} overlaps the previous area", a.id);
            assert_eq!(a.offset % a.align, 0, "{:?}", a.id);
            assert_eq!(a.offset % 64, 0);
            end = a.offset + a.size;
        }
        assert!(l.total >= end);
        assert_eq!(l.total % BLCKSZ, 0);
        // Ids are unique: readers look areas up by them.
        for (i, a) in AREAS.iter().enumerate() {
            assert!(AREAS[i + 1..].iter().all(|b| b.id != a.id), "{:?}", a.id);
        }
    }

    #[test]
    fn wal_buffers_auto() {
        assert_eq!(resolve_wal_buffers(-1, 16384), 512);
        assert_eq!(resolve_wal_buffers(-1, 16), 8);
        assert_eq!(resolve_wal_buffers(-1, 10_000_000), 2048);
        assert_eq!(resolve_wal_buffers(100, 16384), 100);
    }

    #[test]
    fn size_grows_with_each_setting() {
        let base = Layout::compute(&sizing(), 1200).unwrap().total;
        let more = |f: &dyn Fn(&mut Sizing)| {
            let mut z = sizing();
            f(&mut z);
            Layout::compute(&z, 1200).unwrap().total
        };
        assert!(more(&|z| z.max_connections += 10) > base);
        assert!(more(&|z| z.max_prepared_transactions += 10) > base);
        assert!(more(&|z| z.max_locks_per_transaction += 10) > base);
        assert!(more(&|z| z.shared_buffers += 1000) > base);
        assert!(more(&|z| z.wal_buffers += 10) > base);
    }

    /// Resident pages of each area of a mapping at `base`, by mincore.
    fn resident_kb(base: *mut u8, l: &Layout) -> Vec<(AreaId, usize)> {
        let page = 4096;
        let npages = l.total.div_ceil(page);
        let mut vec = vec![0u8; npages];
        // SAFETY: `base` is a page-aligned mapping of l.total bytes;
        // `vec` has one byte per page.
        let rc = unsafe { libc::mincore(base as *mut libc::c_void, l.total, vec.as_mut_ptr()) };
        assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
        l.areas
            .iter()
            .map(|a| {
                // A page shared by two areas counts for the one its first
                // byte belongs to.
                let (first, end) = (a.offset.div_ceil(page), (a.offset + a.size).div_ceil(page));
                let n = vec[first..end].iter().filter(|&&b| b & 1 != 0).count();
                (a.id, n * page / 1024)
            })
            .collect()
    }

    /// The rule "all-zero is the initial state", measured: on a fresh
    /// shared mapping (zero-filled, nothing resident) init_areas at
    /// shared_buffers=4GB and the default max_connections faults in no
    /// page of any area that grows with shared_buffers, and only a few
    /// fixed pages elsewhere, where PostgreSQL-style init loops touched
    /// tens of megabytes (buffer descriptors 32 MB, mapping 12 MB, WAL
    /// buffers 16 MB).
    #[test]
    fn init_areas_touches_no_page_that_grows_with_shared_buffers() {
        let z = Sizing {
            max_connections: 100,
            max_prepared_transactions: 0,
            max_locks_per_transaction: 64,
            shared_buffers: 4 * 1024 * 1024 / 8,
            wal_buffers: resolve_wal_buffers(-1, 4 * 1024 * 1024 / 8),
        };
        let l = Layout::compute(&z, 4096).unwrap();
        // Untouched pages of a shared anonymous mapping cost nothing:
        // 4.3 GB of address space, not of memory.
        let mem = crate::testutil::SharedMem::new(l.total);
        let before = resident_kb(mem.base(), &l);
        assert!(before.iter().all(|&(_, kb)| kb == 0), "{before:?}");
        // SAFETY: a fresh zero-filled mapping of l.total bytes, laid out
        // by `l` for `z`, used by nobody else.
        unsafe { l.init_areas(mem.base(), &z) };
        let after = resident_kb(mem.base(), &l);
        let total: usize = after.iter().map(|&(_, kb)| kb).sum();
        for &(id, kb) in &after {
            if matches!(
                id,
                AreaId::BufferDescriptors
                    | AreaId::BufferPages
                    | AreaId::BufferMapping
                    | AreaId::WalBuffers
            ) {
                assert_eq!(kb, 0, "{id:?} touched at init: {after:?}");
            }
        }
        assert!(total <= 64, "init touched {total} kB: {after:?}");
    }

    /// Every area's init makes its area valid: the proc array empty,
    /// pg_control not loaded, the buffer pool unused, WAL empty.
    #[test]
    fn init_areas_makes_every_area_valid() {
        let z = Sizing {
            max_connections: 5,
            max_prepared_transactions: 1,
            max_locks_per_transaction: 10,
            shared_buffers: 16,
            wal_buffers: 8,
        };
        let l = Layout::compute(&z, 4096).unwrap();
        let layout = std::alloc::Layout::from_size_align(l.total, 4096).unwrap();
        // SAFETY: non-zero size; freed below. Zero-filled, as init_areas
        // requires (a fresh segment is).
        let base = unsafe { std::alloc::alloc_zeroed(layout) };
        assert!(!base.is_null());
        // SAFETY: a zero-filled region of `l.total` bytes, 4096-aligned,
        // laid out by `l` for `z`, seen by no one else.
        unsafe { l.init_areas(base, &z) };
        // SAFETY: the same region, allocated until the end of the test.
        let pa = unsafe { crate::procarray::ProcArray::attach(base, &l, &z) };
        assert_eq!(pa.len(), 5 + NUM_AUXILIARY_PROCS + 1);
        assert!(pa.snapshot().is_empty());
        assert!((0..pa.len()).all(|i| pa.proc(i).pid() == 0 && pa.proc(i).xid() == 0));
        // SAFETY: the pg_control area of that region, initialised by
        // init_areas.
        let pgc = unsafe {
            crate::control::PgControlView::from_raw(base.add(l.area(AreaId::PgControl).offset)
                as *const crate::control::PgControlShared)
        };
        assert!(
            pgc.snapshot(&crate::control::UncontendedProcs::default(), 0)
                .is_none(),
            "not loaded until the startup process reads it"
        );
        // SAFETY: the buffer descriptor area holds `shared_buffers`
        // initialised, aligned descriptors (init_areas).
        let descs = unsafe {
            std::slice::from_raw_parts(
                base.add(l.area(AreaId::BufferDescriptors).offset)
                    as *const crate::buffer::BufferDesc,
                z.shared_buffers,
            )
        };
        use std::sync::atomic::Ordering::Relaxed;
        // Unused: no flag (TAG_VALID clear), no pin, on no free list, no
        // pin-count waiter, content lock free.
        for d in descs {
            assert_eq!(d.state.load(Relaxed), 0);
            assert_eq!(d.free_next.load(Relaxed), 0);
            assert_eq!(d.wait_backend.load(Relaxed), 0);
            assert!(!d.content_lock.is_held());
        }
        // SAFETY: the region is laid out by `l` for `z` and outlives `pool`.
        let pool = unsafe { crate::bufmgr::SharedPool::attach(base, &l, &z) };
        assert_eq!(pool.used_buffers(), 0);
        // WAL: positions zero, not ready, both locks free; pages and
        // their end LSNs zero.
        let wal = l.area(AreaId::WalBuffers);
        // SAFETY: the WAL-buffer area starts with an initialised WalCtl
        // inside the region.
        let ctl = unsafe { &*(base.add(wal.offset) as *const crate::walbuffers::WalCtl) };
        assert_eq!(ctl.insert_pos.load(Relaxed), 0);
        assert_eq!(ctl.flush_lsn.load(Relaxed), 0);
        assert_eq!(ctl.ready.load(Relaxed), 0);
        assert!(!ctl.insert_lock.is_held() && !ctl.write_lock.is_held());
        // SAFETY: the pages follow the control block inside the area,
        // initialised by init_areas.
        let rest = unsafe {
            std::slice::from_raw_parts(
                base.add(wal.offset + crate::walbuffers::PAGES_OFFSET),
                wal.size - crate::walbuffers::PAGES_OFFSET,
            )
        };
        assert!(rest.iter().all(|&b| b == 0));
        // No xid before the startup process loads the counter; both locks free.
        // SAFETY: the transam area of this initialised region.
        let t = unsafe { crate::transam::Transam::attach(base, &l, pa) };
        assert!(!t.is_loaded() && t.next_xid() == 0);
        assert!(!t.shared().xid_gen_lock.is_held() && !t.shared().proc_array_lock.is_held());
        let mut subs = vec![1];
        t.running_subxids(0, &mut subs);
        assert!(subs.is_empty());
        // SAFETY: the commit-status area starts with its initialised SlruCtl.
        let slru = unsafe {
            &*(base.add(l.area(AreaId::CommitStatus).offset) as *const crate::clogbuffers::SlruCtl)
        };
        assert!(!slru.lock.is_held());
        assert!(slru
            .status
            .iter()
            .all(|s| s.load(Relaxed) == crate::clogbuffers::SLOT_EMPTY));
        // SAFETY: allocated above with this layout; no view is used after.
        unsafe { std::alloc::dealloc(base, layout) };
    }

    /// The registry's maxima (tusk_config): max_connections 262143,
    /// max_prepared_transactions 262143, max_locks_per_transaction
    /// INT_MAX, shared_buffers INT_MAX / 2 pages, wal_buffers
    /// INT_MAX / XLOG_BLCKSZ. On 64 bits they fit, and the sum is exact;
    /// beyond them the error names the area and every setting.
    #[test]
    fn sizes_at_the_settings_maxima_fit_and_beyond_them_overflow_is_reported() {
        let max = Sizing {
            max_connections: 262_143,
            max_prepared_transactions: 262_143,
            max_locks_per_transaction: i32::MAX as usize,
            shared_buffers: i32::MAX as usize / 2,
            wal_buffers: i32::MAX as usize / XLOG_BLCKSZ,
        };
        #[cfg(target_pointer_width = "64")]
        {
            let l = Layout::compute(&max, 4096).expect("the maxima fit in 64 bits");
            let sum: u128 = l.areas.iter().map(|a| a.size as u128).sum();
            assert!(l.total as u128 >= sum, "no wrap");
            let locks = spec(AreaId::LockTable).size_for(&max).unwrap() as u128;
            // Header, then per lock a bucket and a chain link (4 + 4
            // bytes), the lock and two proc-locks: exactly linear.
            let n = i32::MAX as u128 * 524_286;
            assert_eq!(
                locks,
                320 + n
                    * (8 + std::mem::size_of::<crate::lock::Lock>() as u128
                        + 2 * std::mem::size_of::<crate::lock::ProcLock>() as u128)
            );
        }
        let over = Sizing {
            max_locks_per_transaction: usize::MAX / 2,
            ..max
        };
        let e = Layout::compute(&over, 4096).unwrap_err();
        assert_eq!(e.area, "lock table");
        let msg = e.to_string();
        for s in [
            "shared memory size overflows",
            "lock table",
            "max_connections=262143",
            &format!("max_locks_per_transaction={}", usize::MAX / 2),
            "shared_buffers=",
        ] {
            assert!(msg.contains(s), "{msg} lacks {s}");
        }
        let e = Layout::compute(
            &Sizing {
                shared_buffers: usize::MAX / 4,
                ..sizing()
            },
            4096,
        )
        .unwrap_err();
        assert_eq!(e.area, "buffer descriptors");
        let e = Layout::compute(
            &Sizing {
                max_connections: usize::MAX,
                ..sizing()
            },
            4096,
        )
        .unwrap_err();
        assert_eq!(e.area, "procs");
        // Just below the top of the address space: the placement itself
        // (offset + size, alignment, total) overflows, not one area.
        let e = Layout::compute(&sizing(), usize::MAX - 10).unwrap_err();
        assert!(e.to_string().contains("overflows"));
    }
}
