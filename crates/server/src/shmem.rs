//! Creating, handing to children, and destroying the shared-memory region
//! and the semaphores.
//!
//! `shared_memory_type = sysv` (tusk's default, the seeds' model): the
//! whole region is one System V segment at key port × 1000 + 1 (or the
//! next free key). `mmap`: the System V segment holds only the header,
//! kept because its attach count is the one portable way to ask the
//! kernel whether processes of an old server still exist; the region
//! itself is an anonymous shared mapping that children inherit across
//! fork, and the only kind that can use huge pages.
//!
//! Semaphores: one per proc slot that can wait, in sets of 16 plus a
//! marker, at the keys after the segment's key. A process sleeps on its
//! semaphore only for an LWLock (or, later, lock-manager) hand-off; every
//! other wait is on the latch in its proc slot.
//!
//! Only the postmaster creates and destroys; children get a
//! [`ChildShared`], a view that can never remove anything.

use std::path::Path;
use tusk_common::{elog, sqlstate, PgError};
use tusk_config::Settings;
use tusk_ipc::header::{AreaEntry, ShmemHeader, HEADER_SIZE};
use tusk_ipc::sem::{SemSet, SEMAS_PER_SET};
use tusk_ipc::shm::Segment;
use tusk_storage::bufmgr::{BufMgr, SharedPool};
use tusk_storage::clogbuffers::Clog;
use tusk_storage::control::{PgControlShared, PgControlView, PgControlWriter};
use tusk_storage::layout::{AreaId, Layout, SizeError, Sizing};
use tusk_storage::lwlock::{LwProcs, LwWaiter};
use tusk_storage::procarray::ProcKind;
use tusk_storage::procarray::{ProcArray, SharedControl};
use tusk_storage::smgr::{Md, DEFAULT_SEGMENT_BLOCKS};
use tusk_storage::transam::Transam;
use tusk_storage::xlog::{Xlog, XlogConfig};

/// The layout for a configuration, from the area registry
/// (`tusk_storage::layout::AREAS`): what `-C shared_memory_size`, `tusk
/// check`, the start-up line and [`Shared::create`] all use. An overflow
/// is a FATAL (22023) naming the area and the settings, never a wrap.
pub fn layout_for(settings: &Settings) -> Result<(Sizing, Layout), PgError> {
    let z = Sizing::from_settings(settings);
    let l = Layout::compute(&z, HEADER_SIZE).map_err(size_error)?;
    Ok((z, l))
}

/// A sizing overflow as the server reports it.
pub fn size_error(e: SizeError) -> PgError {
    PgError::fatal(sqlstate::INVALID_PARAMETER_VALUE, e.to_string()).with_hint(
        "Lower max_connections, max_prepared_transactions, max_locks_per_transaction, shared_buffers or wal_buffers.",
    )
}

pub fn first_key(port: u16) -> i32 {
    port as i32 * 1000 + 1
}

fn is_mmap(settings: &Settings) -> bool {
    settings.str("shared_memory_type") == "mmap"
}

pub struct Shared {
    segment: Segment,
    mapping: Option<tusk_ipc::mmap::AnonMapping>,
    layout: Layout,
    sizing: Sizing,
    sems: Vec<SemSet>,
}

/// What a child needs: views into the region and the semaphore handles.
/// Made only by [`Shared::child_handle`], whose contract (a child that
/// keeps the region mapped until it exits) is what makes the `'static`
/// views true.
#[derive(Clone)]
pub struct ChildShared {
    pub procs: ProcArray,
    control: &'static SharedControl,
    pg_control: PgControlView,
    sems: Vec<SemSet>,
    /// The WAL buffers area and its number of pages.
    wal_area: *mut u8,
    wal_buffers: usize,
    /// Slots `0..semaphores` have one (connections and auxiliary
    /// processes); the last set may hold more than are assigned.
    semaphores: usize,
    /// The xid counter and ProcArrayLock; `None` in tests that build a
    /// partial region.
    transam: Option<Transam>,
    /// The commit-status cache area; null as `transam`.
    clog_area: *mut u8,
    /// The shared buffer pool; `None` as `transam`.
    pool: Option<SharedPool>,
    /// The heavyweight lock table; `None` as `transam`.
    lockmgr: Option<tusk_storage::lmgr::LockMgr>,
    /// Per-table activity counters; `None` as `transam`.
    table_stats: Option<tusk_storage::pgstat::TableStats>,
    /// LISTEN/NOTIFY's queue; `None` as `transam`.
    notify: Option<tusk_storage::notify::NotifyQueue>,
}

impl ChildShared {
    /// The xid counter, ProcArrayLock and subxid caches. Any child.
    pub fn transam(&self) -> Option<Transam> {
        self.transam
    }

    /// The heavyweight lock manager's shared table. Any child with a proc
    /// slot.
    pub fn lockmgr(&self) -> Option<tusk_storage::lmgr::LockMgr> {
        self.lockmgr
    }

    /// The notification queue (LISTEN/NOTIFY). Any child with a proc
    /// slot.
    pub fn notify_queue(&self) -> Option<tusk_storage::notify::NotifyQueue> {
        self.notify
    }

    /// The per-table activity counters (pg_stat_user_tables,
    /// autovacuum). Any child.
    pub fn table_stats(&self) -> Option<tusk_storage::pgstat::TableStats> {
        self.table_stats
    }

    /// This process's view of the commit-status cache, with its own
    /// descriptor of `<data_dir>/pg_xact`. Any child, once.
    pub fn clog(&self, data_dir: &Path) -> Result<Clog, PgError> {
        if self.clog_area.is_null() {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "no commit-status cache in this region",
            ));
        }
        let dir = Clog::open_dir(data_dir)?;
        // SAFETY: the area of this region, initialised by the postmaster
        // and mapped for the life of every child.
        Ok(unsafe { Clog::from_raw(self.clog_area, dir) })
    }

    /// The control area. Any child may call it; the reference is valid
    /// for the rest of the process (see [`Shared::child_handle`]).
    pub fn control(&self) -> &'static SharedControl {
        self.control
    }

    /// The shared copy of pg_control, read-only. Any child may call it.
    pub fn pg_control(&self) -> PgControlView {
        self.pg_control
    }

    /// The pg_control writer. Only the startup process and the
    /// checkpointer get one: they are the processes whose job is to
    /// change the cluster state, and a single writer order is what keeps
    /// the file and the shared copy equal.
    pub fn pg_control_writer(
        &self,
        who: ProcKind,
        data_dir: &Path,
        my_slot: usize,
    ) -> PgControlWriter<ChildShared> {
        assert!(
            matches!(who, ProcKind::Startup | ProcKind::Checkpointer),
            "only the startup process and the checkpointer write pg_control"
        );
        PgControlWriter::new(
            self.pg_control,
            data_dir.to_path_buf(),
            self.clone(),
            my_slot as u32,
        )
    }

    /// This process's handle on the WAL (see `tusk_storage::xlog`). Any
    /// child with a proc slot may take one; inserting waits until the
    /// startup process has marked the WAL ready. A process that finishes
    /// a segment past the max_wal_size trigger sets the checkpointer's
    /// latch (its fixed aux slot), as PostgreSQL's RequestCheckpoint.
    pub fn xlog(&self, data_dir: &Path, settings: &Settings, my_slot: usize) -> Xlog<ChildShared> {
        // SAFETY: the area was initialised by the postmaster before any
        // child existed and stays mapped for the life of every child.
        let mut x = unsafe {
            Xlog::attach(
                self.wal_area,
                self.wal_buffers,
                self.clone(),
                my_slot as u32,
                data_dir,
                XlogConfig::from_settings(settings),
            )
        };
        let procs = self.procs;
        x.set_checkpoint_waker(Box::new(move || {
            if let Some(i) = ProcKind::Checkpointer.aux_index() {
                let p = procs.proc(procs.max_connections() + i);
                if p.pid() != 0 && p.kind() == ProcKind::Checkpointer {
                    p.waits().latch.set();
                }
            }
        }));
        x
    }

    /// This process's buffer manager over the shared pool: its own `Md`
    /// (at most [`segment_fds`] relation files open)
    /// smgr over `data_dir` (descriptors are per process), and its own
    /// WAL handle as the WAL-before-data flusher, so a page is written
    /// only once WAL up to its LSN is durable. `data_checksums` comes from
    /// pg_control's shared copy (loaded by the startup process before any
    /// backend exists). Any child with a proc slot (backends, the
    /// checkpointer, the startup process), once.
    pub fn bufmgr(
        &self,
        data_dir: &Path,
        settings: &Settings,
        my_slot: usize,
    ) -> Result<BufMgr, PgError> {
        let pool = self.pool.ok_or_else(|| {
            PgError::error(sqlstate::INTERNAL_ERROR, "no buffer pool in this region")
        })?;
        let checksums = self
            .pg_control
            .snapshot(self, my_slot as u32)
            .is_some_and(|c| c.data_checksum_version != 0);
        let mut b = BufMgr::new(
            pool,
            Box::new(self.clone()),
            my_slot as u32,
            Box::new(Md::new(data_dir, DEFAULT_SEGMENT_BLOCKS).with_max_open(segment_fds())),
            Box::new(self.xlog(data_dir, settings, my_slot)),
            checksums,
        );
        // An allocation while the background writer hibernates sets its
        // latch (its fixed aux slot), as PostgreSQL's StrategyGetBuffer.
        let procs = self.procs;
        b.set_bgwriter_waker(Box::new(move || {
            if let Some(i) = ProcKind::BgWriter.aux_index() {
                let p = procs.proc(procs.max_connections() + i);
                if p.pid() != 0 && p.kind() == ProcKind::BgWriter {
                    p.waits().latch.set();
                }
            }
        }));
        Ok(b)
    }

    /// Buffers allocated and dirty victims written by backends since the
    /// server started (pg_stat_bgwriter); zeros without a pool. Any child.
    pub fn buffer_counters(&self) -> (u64, u64) {
        self.pool.map_or((0, 0), |p| p.alloc_counters())
    }

    /// The WAL positions, to read (any child; the WAL code writes them).
    pub fn wal_ctl(&self) -> &tusk_storage::walbuffers::WalCtl {
        // SAFETY: WalCtl is at the start of the initialised WAL area,
        // mapped for the life of every child.
        unsafe { &*(self.wal_area as *const tusk_storage::walbuffers::WalCtl) }
    }

    /// The semaphore of proc slot `slot`; `None` for the slots that never
    /// sleep and have none (the dummy slots of prepared transactions,
    /// after the connection and auxiliary slots).
    pub fn semaphore(&self, slot: usize) -> Option<(SemSet, usize)> {
        slot_semaphore(&self.sems, self.semaphores, slot)
    }

    /// The semaphore of a process about to sleep or be woken for an
    /// LWLock. A slot without one cannot be queued on a lock, so asking
    /// for it is a bug, not a condition to handle.
    fn lwlock_semaphore(&self, procno: u32) -> (SemSet, usize) {
        self.semaphore(procno as usize).unwrap_or_else(|| {
            panic!("proc slot {procno} has no semaphore and cannot wait for an LWLock")
        })
    }
}

/// Semaphore `slot % 16` of set `slot / 16`, for the first `assigned`
/// slots only (the last set may hold more semaphores than are assigned).
fn slot_semaphore(sems: &[SemSet], assigned: usize, slot: usize) -> Option<(SemSet, usize)> {
    if slot >= assigned {
        return None;
    }
    let set = sems.get(slot / SEMAS_PER_SET)?;
    let num = slot % SEMAS_PER_SET;
    (num < set.nsems()).then_some((*set, num))
}

/// LWLocks in the server: waiters are proc slots, and each sleeps on its
/// slot's semaphore. `sleep` is called only by the slot's owner, `wake` by
/// any process releasing a lock.
impl LwProcs for ChildShared {
    fn waiter(&self, procno: u32) -> &LwWaiter {
        &self.procs.proc(procno as usize).waits().lwlock
    }

    fn sleep(&self, procno: u32) {
        let (set, num) = self.lwlock_semaphore(procno);
        if let Err(e) = set.sleep(num) {
            // EIDRM: the postmaster removed the set, so it is gone or
            // restarting after a crash; nothing this process holds can be
            // trusted any more.
            elog::report(&PgError::fatal(
                sqlstate::INTERNAL_ERROR,
                format!("semop(id={}, num={num}, op=-1) failed: {e}", set.id()),
            ));
            tusk_storage::exit::proc_exit(1);
        }
    }

    fn wake(&self, procno: u32) {
        let (set, num) = self.lwlock_semaphore(procno);
        if let Err(e) = set.unlock(num) {
            elog::report(&PgError::fatal(
                sqlstate::INTERNAL_ERROR,
                format!("semop(id={}, num={num}, op=1) failed: {e}", set.id()),
            ));
            tusk_storage::exit::proc_exit(1);
        }
    }
}

impl Shared {
    /// Creates shared memory and the semaphores. Only the postmaster calls
    /// this (first start and crash restart).
    pub fn create(settings: &Settings, data_dir: &Path, port: u16) -> Result<Shared, PgError> {
        let (sizing, layout) = layout_for(settings)?;
        let mmap = is_mmap(settings);
        let huge = settings.str("huge_pages");
        if !mmap && huge == "on" {
            return Err(PgError::fatal(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "huge pages not supported with the current shared_memory_type setting",
            )
            .with_hint("Set shared_memory_type = mmap to use huge pages, or huge_pages = try."));
        }
        let seg_size = if mmap { HEADER_SIZE } else { layout.total };
        let areas = layout.areas.clone();
        let total = layout.total;
        let mut area_error = None;
        let segment = tusk_ipc::keys::create_main_segment(
            first_key(port),
            seg_size,
            data_dir,
            |h: &mut ShmemHeader| {
                h.port = port as u32;
                h.mode = if mmap {
                    tusk_ipc::header::MODE_MMAP
                } else {
                    tusk_ipc::header::MODE_SYSV
                };
                h.total_size = total as u64;
                for a in &areas {
                    if let Err(e) =
                        h.add_area(AreaEntry::new(a.id as u32, a.offset as u64, a.size as u64))
                    {
                        area_error = Some(e.to_string());
                    }
                }
            },
        )
        .map_err(|e| crate::resources::explain_ipc_failure(settings, &e.into()))?;
        if let Some(e) = area_error {
            let _ = segment.remove();
            return Err(PgError::fatal(sqlstate::INTERNAL_ERROR, e));
        }
        let mapping = if mmap {
            let mode = match huge {
                "on" => tusk_ipc::mmap::HugePages::On,
                "off" => tusk_ipc::mmap::HugePages::Off,
                _ => tusk_ipc::mmap::HugePages::Try,
            };
            match tusk_ipc::mmap::AnonMapping::create(layout.total, mode) {
                Ok(m) => Some(m),
                Err(e) => {
                    let _ = segment.remove();
                    return Err(crate::resources::explain_ipc_failure(settings, &e.into()));
                }
            }
        } else {
            None
        };
        let nsets = sizing.semaphores().div_ceil(SEMAS_PER_SET);
        let sems = match tusk_ipc::keys::create_sem_sets(segment.key() + 1, nsets) {
            Ok(s) => s,
            Err(e) => {
                let _ = segment.remove();
                return Err(crate::resources::explain_ipc_failure(settings, &e.into()));
            }
        };
        let sh = Shared {
            segment,
            mapping,
            layout,
            sizing,
            sems,
        };
        // Every registered area's init, before any child exists. The
        // region is new (IPC_EXCL segment or new anonymous mapping), so the
        // kernel zero-filled it, as init_areas requires.
        // SAFETY: freshly created, zero-filled and page-aligned; nobody
        // else attached.
        unsafe { sh.layout.init_areas(sh.base(), &sh.sizing) };
        Ok(sh)
    }

    fn base(&self) -> *mut u8 {
        match &self.mapping {
            Some(m) => m.base(),
            None => self.segment.base(),
        }
    }

    fn procs(&self) -> ProcArray {
        // SAFETY: the layout is this region's, and the mapping outlives
        // every use (children inherit it for their whole life).
        unsafe { ProcArray::attach(self.base(), &self.layout, &self.sizing) }
    }

    pub fn control(&self) -> &SharedControl {
        let a = self.layout.area(AreaId::Control);
        // SAFETY: as above.
        unsafe { &*(self.base().add(a.offset) as *const SharedControl) }
    }

    fn pg_control_area(&self) -> *mut PgControlShared {
        let a = self.layout.area(AreaId::PgControl);
        // SAFETY: the area lies inside the mapping and is 64-byte aligned.
        unsafe { self.base().add(a.offset) as *mut PgControlShared }
    }

    /// The views a forked child works with.
    ///
    /// # Safety
    /// Call only in a child process right after fork, which keeps the
    /// region mapped until it exits: it never detaches it, never calls
    /// [`Shared::destroy`] and never returns to the postmaster's loop. The
    /// handle's views (`&'static SharedControl`, the proc array, the
    /// pg_control view) are valid only that long. In the postmaster, which
    /// destroys the region at a crash restart, they would dangle.
    pub unsafe fn child_handle(&self) -> ChildShared {
        ChildShared {
            procs: self.procs(),
            // SAFETY: the area is initialised (create) and, by the
            // caller's promise, mapped for the rest of this process.
            control: unsafe { &*(self.control() as *const SharedControl) },
            // SAFETY: initialised in create(); mapped for the rest of this
            // process (the caller's promise).
            pg_control: unsafe { PgControlView::from_raw(self.pg_control_area()) },
            sems: self.sems.clone(),
            // SAFETY: the area lies inside the mapping.
            wal_area: unsafe { self.base().add(self.layout.area(AreaId::WalBuffers).offset) },
            wal_buffers: self.sizing.wal_buffers,
            semaphores: self.sizing.semaphores(),
            // SAFETY: as above; the area was initialised in create().
            transam: Some(unsafe { Transam::attach(self.base(), &self.layout, self.procs()) }),
            // SAFETY: inside the mapping.
            clog_area: unsafe {
                self.base()
                    .add(self.layout.area(AreaId::CommitStatus).offset)
            },
            // SAFETY: the region is laid out by self.layout for
            // self.sizing, its buffer areas initialised in create(), and
            // mapped for the rest of this process (the caller's promise).
            pool: Some(unsafe { SharedPool::attach(self.base(), &self.layout, &self.sizing) }),
            // SAFETY: as for the pool: laid out for self.sizing, the lock
            // table initialised in create(), mapped for the process's life.
            lockmgr: Some(unsafe {
                tusk_storage::lmgr::LockMgr::attach(
                    self.base(),
                    &self.layout,
                    &self.sizing,
                    self.procs(),
                )
            }),
            // SAFETY: as for the pool: zero-filled at creation, mapped for
            // the process's life.
            table_stats: Some(unsafe {
                tusk_storage::pgstat::TableStats::attach(self.base(), &self.layout)
            }),
            // SAFETY: as for the pool: zero-filled at creation, mapped for
            // the process's life.
            notify: Some(unsafe {
                tusk_storage::notify::NotifyQueue::attach(self.base(), &self.layout, self.procs())
            }),
        }
    }

    /// The table-statistics area, for the postmaster (which takes the
    /// launcher's worker requests from it).
    pub fn child_table_stats(&self) -> Option<tusk_storage::pgstat::TableStats> {
        // SAFETY: the area lies inside the mapping, which the postmaster
        // keeps for as long as this `Shared` exists; the view is used only
        // within one call.
        Some(unsafe { tusk_storage::pgstat::TableStats::attach(self.base(), &self.layout) })
    }

    pub fn key(&self) -> i32 {
        self.segment.key()
    }

    pub fn id(&self) -> i32 {
        self.segment.id()
    }

    pub fn sizing(&self) -> &Sizing {
        &self.sizing
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn describe_segment(&self) -> String {
        let k = self.segment.key();
        match &self.mapping {
            None => format!("shared memory segment key {k} (0x{:08x}) id {} of {} bytes (sysv)", k as u32, self.segment.id(), self.layout.total),
            Some(m) => format!(
                "shared memory: {} bytes in an anonymous shared mapping{}, interlock segment key {k} (0x{:08x}) id {} of {} bytes (mmap)",
                self.layout.total,
                if m.huge_pages() { " on huge pages" } else { "" },
                k as u32,
                self.segment.id(),
                self.segment.size()
            ),
        }
    }

    /// "9 areas: control flags 48 B, pg_control 304 B, ...": the registry's
    /// areas as placed, for the start-up line.
    pub fn describe_areas(&self) -> String {
        let list: Vec<String> = self
            .layout
            .areas
            .iter()
            .map(|a| format!("{} {} B", a.name(), a.size))
            .collect();
        format!("{} areas: {}", list.len(), list.join(", "))
    }

    pub fn describe_semaphores(&self) -> String {
        let ids: Vec<String> = self.sems.iter().map(|s| s.id().to_string()).collect();
        let first = self.sems.first().map(|s| s.key()).unwrap_or(0);
        let last = self.sems.last().map(|s| s.key()).unwrap_or(0);
        format!(
            "{} semaphore sets (keys {first}..{last}, ids {}) of {}+1 semaphores for {} waiting processes",
            self.sems.len(),
            ids.join(","),
            SEMAS_PER_SET,
            self.sizing.semaphores()
        )
    }

    /// Removes the semaphores and the segment. Only the postmaster calls
    /// this, when no child is left (clean exit or crash restart).
    pub fn destroy(self) {
        for s in &self.sems {
            if let Err(e) = s.remove() {
                tusk_common::elog::log(format!("could not remove semaphore set {}: {e}", s.id()));
            }
        }
        if let Err(e) = self.segment.remove() {
            tusk_common::elog::log(format!(
                "could not remove shared memory segment {}: {e}",
                self.segment.id()
            ));
        }
        drop(self.mapping);
        drop(self.segment);
    }
}

/// Judges line 7 of a stale postmaster.pid: the segment it names must not
/// still be attached by processes of the old server.
pub fn check_leftover(line7: &str, data_dir: &Path) -> Result<(), PgError> {
    let Some((key, id)) = tusk_common::pidfile::parse_shmem_line(line7) else {
        return Ok(());
    };
    let dd = tusk_ipc::keys::datadir_identity(data_dir).ok();
    match tusk_ipc::keys::judge_segment(id, dd) {
        tusk_ipc::keys::SegmentState::TuskAttached(_, nattch) => {
            let pids = tusk_ipc::shm::attached_pids(key, id);
            let who = if pids.is_empty() {
                format!("{nattch} process(es)")
            } else {
                format!(
                    "PID {}",
                    pids.iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            Err(PgError::fatal(
                sqlstate::LOCK_FILE_EXISTS,
                format!(
                    "pre-existing shared memory block (key {}, ID {id}) is still in use",
                    key as u32
                ),
            )
            .with_detail(format!("It is attached by {who}."))
            .with_hint(format!(
                "Terminate any old server processes associated with data directory \"{}\".",
                data_dir.display()
            )))
        }
        _ => Ok(()),
    }
}

/// How many relation segment files one process keeps open: the
/// descriptors the postmaster found it may use (PostgreSQL's max_safe_fds:
/// max_files_per_process and RLIMIT_NOFILE less those already open and
/// NUM_RESERVED_FDS) less [`OTHER_FILES`] for WAL segments, commit-log
/// files, temporary sort and hash files and COPY's files, which are not
/// in the smgr's cache. Any process, after the postmaster's startup probe
/// (children inherit it); the smgr default outside a server.
pub fn segment_fds() -> usize {
    match crate::resources::rlimits::at_start() {
        Some(l) => l
            .files
            .max_safe_fds
            .saturating_sub(OTHER_FILES)
            .max(MIN_SEGMENT_FDS),
        None => tusk_storage::smgr::DEFAULT_MAX_OPEN_SEGMENTS,
    }
}

/// Descriptors left for files outside the smgr's cache (see [`segment_fds`]).
const OTHER_FILES: usize = 40;
/// The fewest segment files a process keeps open however tight the limit:
/// a statement touches a few relations at a time, each a few forks.
const MIN_SEGMENT_FDS: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_without_a_semaphore_get_none_not_a_panic() {
        // 10 connections + 3 auxiliary processes have one; 5 prepared-
        // transaction dummies after them do not, although the set has
        // room for 3 of them.
        let set = SemSet::create(libc::IPC_PRIVATE, SEMAS_PER_SET).expect("semget");
        struct Remove(SemSet);
        impl Drop for Remove {
            fn drop(&mut self) {
                let _ = self.0.remove();
            }
        }
        let _guard = Remove(set);
        let sems = [set];
        assert_eq!(slot_semaphore(&sems, 13, 0), Some((set, 0)));
        assert_eq!(slot_semaphore(&sems, 13, 12), Some((set, 12)));
        for dummy in 13..18 {
            assert_eq!(slot_semaphore(&sems, 13, dummy), None, "slot {dummy}");
        }
        // A count that claims more than the sets hold is still no panic.
        assert_eq!(slot_semaphore(&sems, 40, 20), None);
    }

    /// The server's LwProcs glue (waiter = the slot's ProcWaits, sleep and
    /// wake = the slot's semaphore) under contention across processes.
    /// Children only use atomics and system calls and `_exit` (the test
    /// harness is multi-threaded).
    #[test]
    fn lwlocks_hand_off_through_the_proc_slots_semaphores() {
        use std::sync::atomic::{AtomicU64, Ordering};
        use tusk_storage::lwlock::{LwLock, LwMode};
        use tusk_storage::procarray::{BackendStatus, Proc};
        const N: usize = 3;
        const M: u64 = 5000;
        let slots = N + 2;
        let procs_bytes = slots * std::mem::size_of::<Proc>();
        let len = 4096 + procs_bytes + slots * std::mem::size_of::<BackendStatus>();
        // SAFETY: a fresh anonymous shared mapping, zeroed by the kernel.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        let base = base as *mut u8;
        struct Unmap(*mut u8, usize);
        impl Drop for Unmap {
            fn drop(&mut self) {
                // SAFETY: our own mapping.
                unsafe { libc::munmap(self.0 as *mut libc::c_void, self.1) };
            }
        }
        let _unmap = Unmap(base, len);
        let set = SemSet::create(libc::IPC_PRIVATE, SEMAS_PER_SET).expect("semget");
        struct Remove(SemSet);
        impl Drop for Remove {
            fn drop(&mut self) {
                let _ = self.0.remove();
            }
        }
        let _remove = Remove(set);
        // SAFETY: the first 4 KiB hold the lock, the counter (aligned,
        // zeroed atomics) and a pg_control area; the procs and their
        // statuses follow; all mapped until the end of the test.
        let (lock, counter, procs, pg_control) = unsafe {
            let pgc = base.add(1024) as *mut PgControlShared;
            PgControlShared::init(pgc);
            (
                &*(base as *const LwLock),
                &*(base.add(64) as *const AtomicU64),
                ProcArray::from_raw(base.add(4096), base.add(4096 + procs_bytes), slots, N),
                PgControlView::from_raw(pgc),
            )
        };
        lock.init();
        // SAFETY: no child exists yet and nothing else uses the entries.
        unsafe { procs.init() };
        // SAFETY: SharedControl is only atomics and a u32, for which all
        // zeroes is a valid value (its area's init zeroes it too). Leaked:
        // the handle's view is `'static`; the lock test never reads it.
        let control: &'static SharedControl =
            Box::leak(Box::new(unsafe { std::mem::zeroed::<SharedControl>() }));
        let shared = ChildShared {
            procs,
            control,
            pg_control,
            sems: vec![set],
            // This test takes no WAL handle.
            wal_area: std::ptr::null_mut(),
            wal_buffers: 0,
            semaphores: slots,
            transam: None,
            clog_area: std::ptr::null_mut(),
            pool: None,
            lockmgr: None,
            table_stats: None,
            notify: None,
        };
        let mut pids = Vec::new();
        for me in 0..N as u32 {
            // SAFETY: fork; the child runs only atomics and semop, then
            // _exit.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0);
            if pid == 0 {
                for _ in 0..M {
                    lock.acquire(&shared, me, LwMode::Exclusive);
                    let v = counter.load(Ordering::Relaxed);
                    // SAFETY: plain system call (invites a preemption
                    // inside the section).
                    unsafe { libc::sched_yield() };
                    counter.store(v + 1, Ordering::Relaxed);
                    lock.release(&shared);
                }
                // SAFETY: ends the child.
                unsafe { libc::_exit(0) };
            }
            pids.push(pid);
        }
        struct Reap(Vec<i32>);
        impl Drop for Reap {
            fn drop(&mut self) {
                for &pid in &self.0 {
                    // SAFETY: our own children, killed only if still
                    // there (a failed test), then reaped.
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                        libc::waitpid(pid, std::ptr::null_mut(), 0);
                    }
                }
            }
        }
        let mut reap = Reap(pids);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while let Some(&pid) = reap.0.first() {
            let mut status = 0;
            // SAFETY: plain system call on our own child.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if r == pid {
                assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
                reap.0.remove(0);
                continue;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no progress: {:?} still running",
                reap.0
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(counter.load(Ordering::SeqCst), N as u64 * M);
        assert!(!lock.is_held());
        for n in 0..N {
            assert_eq!(set.value(n).unwrap(), 0, "semaphore {n}");
            assert!(!procs.proc(n).waits().lwlock.is_waiting());
        }
    }
}
