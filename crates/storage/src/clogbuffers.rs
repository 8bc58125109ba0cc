//! The commit-status cache (PostgreSQL's CLOG SLRU): a few `pg_xact/` pages in shared memory, read on a miss, written back when evicted and at checkpoints.
//!
//! Why this shape: every visibility check that finds no hint bit asks the
//! commit log, so the recent pages must be in shared memory; the log is
//! far larger than memory over a cluster's life, so the cache is a small
//! set of slots with LRU replacement over the `pg_xact/` segment files
//! (format in [`crate::clog`]). Its size follows shared_buffers as
//! PostgreSQL's (shared_buffers / 512, between 4 and 128 pages), which
//! `tusk check`'s memory table shows.
//!
//! Locking: one LWLock for the whole cache (PostgreSQL's XactSLRULock). A
//! reader whose page is cached holds it shared for the lookup and the
//! two-bit read; everything else holds it exclusively: a miss (choosing a
//! victim, writing it if dirty, reading the page), setting a status,
//! zeroing a new page, the checkpoint's write-back. Unlike PostgreSQL the
//! page reads and writes happen under the exclusive lock instead of
//! per-slot I/O locks: simpler, and cheap while the hot pages (the few
//! newest) stay cached; it is the first thing to split if misses show up
//! in profiles. A reader never sees half of a multi-page commit because
//! [`Clog::set_tree_status`] holds the lock exclusively throughout.
//!
//! **Commit ordering.** The commit log on disk may lag WAL (a dirty page
//! lost in a crash: redo sets every status whose record survived) but must
//! never run ahead of it. A synchronous commit flushes its record before
//! the status is set here ([`crate::transam::CommitWal`]). An asynchronous
//! one (`synchronous_commit = off`) sets the status at once, so each page
//! keeps, per group of 1,024 xids, the highest commit-record LSN set in it
//! (PostgreSQL's group LSNs, `CLOG_LSNS_PER_PAGE` = 32), and a page is
//! written — evicted or checkpointed — only after WAL is flushed up to its
//! highest group LSN ([`WalFlush`]). Otherwise a page written between the
//! status and the record's flush, then a crash (even SIGKILL: the page
//! write sits in the kernel), brings back a transaction "committed" whose
//! later changes are not in WAL: half of it. The same LSNs tell visibility
//! when a committed hint bit may be set ([`Clog::may_hint_committed`]): a
//! page carrying the hint may reach disk before the record otherwise. A commit whose
//! subtransactions sit on other pages marks them sub-committed first, then
//! the top-level xid committed, then the subxids committed (PostgreSQL's
//! TransactionIdSetTreeStatus), so a page written in between never shows
//! a subxid committed under a top-level xid that is not.
//!
//! **Missing pages.** Pages of xids below `next_xid` at start were written
//! and fsynced by the checkpoint that recorded that `next_xid`; one
//! missing is an error (data loss, never silently "aborted"). Pages at or
//! above it may never have reached disk before a crash: they read as
//! zeros (every xid "in progress", i.e. not committed — PostgreSQL does
//! the same for a missing segment during recovery).
//!
//! ```text
//! area (CommitStatus = 7): SlruCtl (4096 bytes) then nslots × 8 kB pages
//! SlruCtl offset size field
//!            0   16 lock                 LwLock
//!           16    4 nslots               slots in use (4..=128)
//!           20    4 cur_lru_count        bumped on every access
//!           24    8 must_exist_below     first page allowed to be missing
//!           32    8 min_written_page     lowest page written since the last
//!                                        checkpoint's fsync (u64::MAX: none)
//!           40    8 max_written_page     highest such page
//!           48    8 max_group_lsn        highest group LSN ever set (0: none)
//!           56    8 (padding)
//!           64 1024 page_number[128]     u64 page held by each slot
//!         1088  512 status[128]          SLOT_EMPTY / SLOT_VALID
//!         1600  512 dirty[128]           1 = changed since read/written
//!         2112  512 lru_count[128]       cur_lru_count at last access
//!         2624 1472 (padding to 4096, so the pages stay page-aligned)
//! then nslots × 8192   pages
//! then nslots × 32 × 8 group_lsn        u64 commit-record end LSN, per slot
//!                                       and group of 1,024 xids (0: none)
//! ```

use crate::clog::{self, ClogPage, XidStatus, CLOG_XACTS_PER_PAGE};
use crate::layout::{AreaId, AreaSpec, Layout, SizeCalc, SizeError, Sizing, BLCKSZ};
use crate::lwlock::{LwLock, LwMode, LwProcs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use tusk_common::{sqlstate, PgError};

/// The most commit-status pages the cache can have.
pub const MAX_PAGES: usize = 128;

/// `SlruCtl::status` of a slot holding nothing.
pub const SLOT_EMPTY: u32 = 0;
/// `SlruCtl::status` of a slot holding `page_number`'s page.
pub const SLOT_VALID: u32 = 1;

/// Groups of xids per commit-log page that keep their own LSN
/// (PostgreSQL's CLOG_LSNS_PER_PAGE).
pub const CLOG_LSNS_PER_PAGE: u64 = 32;
/// Xids per group.
const CLOG_XACTS_PER_LSN_GROUP: u64 = CLOG_XACTS_PER_PAGE / CLOG_LSNS_PER_PAGE;

/// The WAL a commit-log page must wait for before it is written: the
/// process's WAL handle ([`crate::xlog::Xlog`] implements it).
pub trait WalFlush {
    /// WAL is on disk up to here.
    fn flushed(&self) -> u64;
    /// Returns once WAL is on disk up to `lsn`.
    fn flush_wal(&self, lsn: u64) -> Result<(), PgError>;
}

/// The directory of the commit log, under the data directory.
pub const PG_XACT_DIR: &str = "pg_xact";

/// Commit-status cache pages for `shared_buffers`: PostgreSQL's CLOG rule.
pub fn pages(shared_buffers: usize) -> usize {
    (shared_buffers / 512).clamp(4, MAX_PAGES)
}

/// Per-slot state of the SLRU (PostgreSQL's SlruSharedData arrays),
/// padded to 4 kB so the pages after it stay page-aligned.
#[repr(C, align(4096))]
pub struct SlruCtl {
    pub lock: LwLock,
    nslots: AtomicU32,
    cur_lru_count: AtomicU32,
    must_exist_below: AtomicU64,
    min_written_page: AtomicU64,
    max_written_page: AtomicU64,
    /// Highest group LSN ever set: while WAL is flushed past it, no page
    /// waits for WAL and every committed hint is allowed without the lock.
    max_group_lsn: AtomicU64,
    _pad: [u64; 1],
    pub page_number: [AtomicU64; MAX_PAGES],
    pub status: [AtomicU32; MAX_PAGES],
    pub dirty: [AtomicU32; MAX_PAGES],
    pub lru_count: [AtomicU32; MAX_PAGES],
}

const _: () = assert!(std::mem::size_of::<SlruCtl>() == 4096);
const _: () = assert!(std::mem::offset_of!(SlruCtl, page_number) == 64);
const _: () = assert!(std::mem::offset_of!(SlruCtl, lru_count) == 2112);

impl SlruCtl {
    /// Makes a zeroed control block valid for `nslots` slots. Whoever
    /// creates the memory calls it, before any other process uses it.
    pub fn init(&self, nslots: usize) {
        self.lock.init();
        self.nslots
            .store(nslots.clamp(1, MAX_PAGES) as u32, Ordering::SeqCst);
        self.min_written_page.store(u64::MAX, Ordering::SeqCst);
    }
}

fn size(c: &SizeCalc) -> Result<usize, SizeError> {
    let n = pages(c.z.shared_buffers);
    c.add(
        c.add(std::mem::size_of::<SlruCtl>(), c.mul(n, BLCKSZ)?)?,
        c.mul(n, CLOG_LSNS_PER_PAGE as usize * 8)?,
    )
}

/// # Safety
/// As [`AreaSpec::init`].
unsafe fn init(at: *mut u8, _size: usize, z: &Sizing) {
    // SAFETY: promised by the caller. The area is zero-filled: only the
    // control block's one page is written (slot count, lowest written
    // page); the pages, up to 1 MB, stay untouched until used.
    unsafe { (*(at as *const SlruCtl)).init(pages(z.shared_buffers)) };
}

pub const AREA: AreaSpec = AreaSpec {
    id: AreaId::CommitStatus,
    name: "commit-status cache",
    align: 4096,
    size,
    init,
};

/// This process's view of the cache, with its own descriptor of
/// `pg_xact/` (files are opened relative to it, so a lookup allocates
/// nothing and works the same in a forked child).
pub struct Clog {
    ctl: *const SlruCtl,
    pages: *mut u8,
    /// `nslots × CLOG_LSNS_PER_PAGE` group LSNs, after the pages.
    group_lsn: *const AtomicU64,
    dir: OwnedFd,
    /// The WAL to flush before writing a page with group LSNs. `None` in
    /// a process that sets no asynchronous commit (the startup process:
    /// replayed statuses carry no LSN) and in tests without WAL.
    wal: Option<std::rc::Rc<dyn WalFlush>>,
}

fn io_error(what: String, xid: u64, e: std::io::Error) -> PgError {
    PgError::error(
        sqlstate::IO_ERROR,
        format!("could not access status of transaction {xid}"),
    )
    .with_detail(format!("{what}: {e}."))
}

/// File name of a segment, into a stack buffer: NUL-terminated for openat.
fn segment_cname(segno: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    for (i, slot) in b[..15].iter_mut().enumerate() {
        let nibble = (segno >> (4 * (14 - i))) & 0xF;
        *slot = b"0123456789ABCDEF"[nibble as usize];
    }
    b
}

fn last_err() -> std::io::Error {
    std::io::Error::last_os_error()
}

impl Clog {
    /// # Safety
    /// `area` is an initialised [`AREA`], mapped for the life of the view.
    pub unsafe fn from_raw(area: *mut u8, dir: OwnedFd) -> Clog {
        let ctl = area as *const SlruCtl;
        // SAFETY: the caller's promise: an initialised area.
        let nslots = unsafe { (*ctl).nslots.load(Ordering::Relaxed) } as usize;
        // SAFETY: the pages follow the control block inside the area.
        let pages = unsafe { area.add(std::mem::size_of::<SlruCtl>()) };
        // SAFETY: the group LSNs follow the pages inside the area (`size`).
        let group_lsn = unsafe { pages.add(nslots * BLCKSZ) } as *const AtomicU64;
        Clog {
            ctl,
            pages,
            group_lsn,
            dir,
            wal: None,
        }
    }

    /// Gives this process's view the WAL to flush before it writes a page
    /// holding asynchronous commits. Every process that commits or
    /// checkpoints sets it at its start.
    pub fn set_wal(&mut self, wal: std::rc::Rc<dyn WalFlush>) {
        self.wal = Some(wal);
    }

    /// # Safety
    /// `base` is the region `layout` was computed for, mapped for good.
    pub unsafe fn attach(base: *mut u8, layout: &Layout, dir: OwnedFd) -> Clog {
        // SAFETY: the area lies inside the region.
        unsafe { Clog::from_raw(base.add(layout.area(AreaId::CommitStatus).offset), dir) }
    }

    /// Opens `<data_dir>/pg_xact` for [`Self::from_raw`]. Any process, at
    /// its start.
    pub fn open_dir(data_dir: &Path) -> Result<OwnedFd, PgError> {
        let p = data_dir.join(PG_XACT_DIR);
        let f = std::fs::File::open(&p).map_err(|e| {
            PgError::error(
                sqlstate::IO_ERROR,
                format!("could not open directory \"{}\": {e}", p.display()),
            )
            .with_hint("The data directory lacks pg_xact/; was it created by tusk init?")
        })?;
        Ok(OwnedFd::from(f))
    }

    /// Creates `<data_dir>/pg_xact` (`tusk init`).
    pub fn create_dir(data_dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(data_dir.join(PG_XACT_DIR))
    }

    fn ctl(&self) -> &SlruCtl {
        // SAFETY: from_raw's promise.
        unsafe { &*self.ctl }
    }

    fn nslots(&self) -> usize {
        self.ctl().nslots.load(Ordering::Relaxed) as usize
    }

    fn page(&self, slot: usize) -> &ClogPage {
        // SAFETY: slot < nslots; read under the lock (any mode), and
        // writers hold it exclusively.
        unsafe { &*(self.pages.add(slot * BLCKSZ) as *const ClogPage) }
    }

    #[allow(clippy::mut_from_ref)]
    fn page_mut(&self, slot: usize) -> &mut ClogPage {
        // SAFETY: only called with the lock held exclusively.
        unsafe { &mut *(self.pages.add(slot * BLCKSZ) as *mut ClogPage) }
    }

    /// Sets where missing pages stop being errors: pages of xids at or
    /// above `next_xid` may be missing after a crash. The startup process,
    /// before any backend runs.
    pub fn startup(&self, next_xid: u64) {
        self.ctl()
            .must_exist_below
            .store(clog::page_of(next_xid), Ordering::SeqCst);
    }

    fn group_lsn(&self, slot: usize, group: usize) -> &AtomicU64 {
        // SAFETY: slot < nslots, group < CLOG_LSNS_PER_PAGE: inside the
        // array `from_raw` located.
        unsafe {
            &*self
                .group_lsn
                .add(slot * CLOG_LSNS_PER_PAGE as usize + group)
        }
    }

    fn group_of(xid: u64) -> usize {
        ((xid % CLOG_XACTS_PER_PAGE) / CLOG_XACTS_PER_LSN_GROUP) as usize
    }

    /// Forgets slot `s`'s group LSNs (it now holds another page, read from
    /// disk or new: nothing in it waits for WAL). Exclusive lock.
    fn clear_group_lsns(&self, s: usize) {
        for g in 0..CLOG_LSNS_PER_PAGE as usize {
            self.group_lsn(s, g).store(0, Ordering::Relaxed);
        }
    }

    /// May a committed hint bit be set for `xid` now: is its commit record
    /// (as far as its group's LSN tells) on disk? PostgreSQL's
    /// SetHintBits test. Any process; takes the lock shared.
    pub fn may_hint_committed(&self, lw: &impl LwProcs, me: u32, xid: u64) -> bool {
        let Some(wal) = &self.wal else {
            return true;
        };
        let c = self.ctl();
        let flushed = wal.flushed();
        // Every synchronous commit, and every asynchronous one whose
        // record is flushed: no lookup, no lock.
        if c.max_group_lsn.load(Ordering::Acquire) <= flushed {
            return true;
        }
        c.lock.acquire(lw, me, LwMode::Shared);
        let lsn = self.find(clog::page_of(xid)).map_or(0, |s| {
            self.group_lsn(s, Self::group_of(xid))
                .load(Ordering::Acquire)
        });
        c.lock.release(lw);
        lsn <= flushed
    }

    fn find(&self, page: u64) -> Option<usize> {
        let c = self.ctl();
        (0..self.nslots()).find(|&s| {
            c.status[s].load(Ordering::Acquire) == SLOT_VALID
                && c.page_number[s].load(Ordering::Acquire) == page
        })
    }

    fn touch(&self, slot: usize) {
        let c = self.ctl();
        let n = c.cur_lru_count.fetch_add(1, Ordering::Relaxed);
        c.lru_count[slot].store(n, Ordering::Relaxed);
    }

    /// A slot to reuse: an empty one, else the least recently used (its
    /// dirty page written first). Exclusive lock held.
    fn victim(&self, xid: u64) -> Result<usize, PgError> {
        let c = self.ctl();
        let n = self.nslots();
        if let Some(s) = (0..n).find(|&s| c.status[s].load(Ordering::Acquire) == SLOT_EMPTY) {
            return Ok(s);
        }
        let now = c.cur_lru_count.load(Ordering::Relaxed);
        let s = (0..n)
            .max_by_key(|&s| now.wrapping_sub(c.lru_count[s].load(Ordering::Relaxed)))
            .expect("at least one slot");
        if c.dirty[s].load(Ordering::Acquire) != 0 {
            self.write_slot(s, xid)?;
        }
        c.status[s].store(SLOT_EMPTY, Ordering::Release);
        Ok(s)
    }

    /// Opens segment `segno` relative to `pg_xact/`; allocates nothing.
    fn open_raw(&self, segno: u64, flags: i32) -> std::io::Result<OwnedFd> {
        let name = segment_cname(segno);
        // SAFETY: NUL-terminated name, our directory descriptor.
        let fd = unsafe {
            libc::openat(
                self.dir.as_raw_fd(),
                name.as_ptr() as *const libc::c_char,
                flags | libc::O_CLOEXEC,
                0o600 as libc::c_uint,
            )
        };
        if fd < 0 {
            return Err(last_err());
        }
        // SAFETY: a descriptor we just opened.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    fn open_segment(&self, segno: u64, flags: i32, xid: u64) -> Result<OwnedFd, PgError> {
        self.open_raw(segno, flags).map_err(|e| {
            io_error(
                format!(
                    "Could not open file \"{PG_XACT_DIR}/{}\"",
                    clog::segment_file_name(segno)
                ),
                xid,
                e,
            )
        })
    }

    /// Writes slot `s`'s page to its segment (no fsync: the checkpoint
    /// fsyncs every segment written since the last one). Exclusive lock.
    fn write_slot(&self, s: usize, xid: u64) -> Result<(), PgError> {
        let c = self.ctl();
        let lsn = (0..CLOG_LSNS_PER_PAGE as usize)
            .map(|g| self.group_lsn(s, g).load(Ordering::Acquire))
            .max()
            .unwrap_or(0);
        if lsn != 0 {
            // WAL before the commit log (file comment). Flushing under the
            // lock is safe: the WAL flush never takes it.
            match &self.wal {
                Some(w) if w.flushed() < lsn => w.flush_wal(lsn)?,
                Some(_) => {}
                None => {
                    return Err(PgError::error(
                        sqlstate::INTERNAL_ERROR,
                        format!("commit-log page of xid {xid} waits for WAL at {lsn:X} but this process has no WAL handle"),
                    ))
                }
            }
        }
        let page = c.page_number[s].load(Ordering::Acquire);
        let (segno, off) = clog::segment_of_page(page);
        let fd = self.open_segment(segno, libc::O_RDWR | libc::O_CREAT, xid)?;
        let buf = self.page(s);
        // SAFETY: a full page from our buffer into our descriptor.
        let n = unsafe {
            libc::pwrite(
                fd.as_raw_fd(),
                buf.as_ptr() as *const libc::c_void,
                BLCKSZ,
                off as libc::off_t,
            )
        };
        if n != BLCKSZ as isize {
            let e = if n < 0 {
                last_err()
            } else {
                std::io::Error::new(std::io::ErrorKind::WriteZero, "short write")
            };
            return Err(io_error(
                format!(
                    "Could not write to file \"{PG_XACT_DIR}/{}\" at offset {off}",
                    clog::segment_file_name(segno)
                ),
                xid,
                e,
            ));
        }
        c.dirty[s].store(0, Ordering::Release);
        c.min_written_page.fetch_min(page, Ordering::SeqCst);
        c.max_written_page.fetch_max(page, Ordering::SeqCst);
        Ok(())
    }

    /// Reads `page` into slot `s` (zeros where a missing page is allowed).
    /// Exclusive lock.
    fn read_slot(&self, s: usize, page: u64, xid: u64) -> Result<(), PgError> {
        let c = self.ctl();
        let (segno, off) = clog::segment_of_page(page);
        let may_miss = page >= c.must_exist_below.load(Ordering::SeqCst);
        let buf = self.page_mut(s);
        let name = || format!("{PG_XACT_DIR}/{}", clog::segment_file_name(segno));
        match self.open_raw(segno, libc::O_RDONLY) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && may_miss => buf.fill(0),
            Err(e) => {
                return Err(io_error(
                    format!("Could not open file \"{}\"", name()),
                    xid,
                    e,
                ))
            }
            Ok(fd) => match read_full(fd.as_raw_fd(), buf, off) {
                Ok(n) if n == BLCKSZ => {}
                Ok(n) if may_miss => buf[n..].fill(0),
                Ok(n) => {
                    return Err(io_error(
                        format!("Could not read from file \"{}\" at offset {off}", name()),
                        xid,
                        std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            format!("read only {n} of {BLCKSZ} bytes"),
                        ),
                    ))
                }
                Err(e) => {
                    return Err(io_error(
                        format!("Could not read from file \"{}\" at offset {off}", name()),
                        xid,
                        e,
                    ))
                }
            },
        }
        self.clear_group_lsns(s);
        c.page_number[s].store(page, Ordering::Release);
        c.dirty[s].store(0, Ordering::Release);
        c.status[s].store(SLOT_VALID, Ordering::Release);
        Ok(())
    }

    /// The slot holding `page`, read in if needed. Exclusive lock.
    fn load(&self, page: u64, xid: u64) -> Result<usize, PgError> {
        if let Some(s) = self.find(page) {
            self.touch(s);
            return Ok(s);
        }
        let s = self.victim(xid)?;
        self.read_slot(s, page, xid)?;
        self.touch(s);
        Ok(s)
    }

    /// The recorded status of `xid`. Any process (`me` its proc number).
    pub fn get_status(&self, lw: &impl LwProcs, me: u32, xid: u64) -> Result<XidStatus, PgError> {
        let c = self.ctl();
        let page = clog::page_of(xid);
        c.lock.acquire(lw, me, LwMode::Shared);
        if let Some(s) = self.find(page) {
            let st = clog::get_status(self.page(s), xid);
            self.touch(s);
            c.lock.release(lw);
            return Ok(st);
        }
        c.lock.release(lw);
        c.lock.acquire(lw, me, LwMode::Exclusive);
        let r = self
            .load(page, xid)
            .map(|s| clog::get_status(self.page(s), xid));
        c.lock.release(lw);
        r
    }

    fn set_one(&self, xid: u64, status: XidStatus, lsn: u64) -> Result<(), PgError> {
        let s = self.load(clog::page_of(xid), xid)?;
        clog::set_status(self.page_mut(s), xid, status)?;
        if lsn != 0 {
            self.group_lsn(s, Self::group_of(xid))
                .fetch_max(lsn, Ordering::AcqRel);
            self.ctl().max_group_lsn.fetch_max(lsn, Ordering::AcqRel);
        }
        self.ctl().dirty[s].store(1, Ordering::Release);
        Ok(())
    }

    /// Records the fate of `xid` and its `subxids` (PostgreSQL's
    /// TransactionIdSetTreeStatus): Committed or Aborted. For a commit,
    /// `commit_lsn` is the end of the commit record when it may not be
    /// flushed yet (an asynchronous commit), else 0: the page is then not
    /// written before WAL is flushed that far. The committing or aborting
    /// backend (or the startup process replaying WAL, with 0).
    pub fn set_tree_status(
        &self,
        lw: &impl LwProcs,
        me: u32,
        xid: u64,
        subxids: &[u64],
        status: XidStatus,
        commit_lsn: u64,
    ) -> Result<(), PgError> {
        let c = self.ctl();
        let top_page = clog::page_of(xid);
        c.lock.acquire(lw, me, LwMode::Exclusive);
        let r = (|| {
            let elsewhere = subxids.iter().filter(|&&x| clog::page_of(x) != top_page);
            if status == XidStatus::Committed {
                for &x in elsewhere.clone() {
                    self.set_one(x, XidStatus::SubCommitted, commit_lsn)?;
                }
            }
            for &x in subxids.iter().filter(|&&x| clog::page_of(x) == top_page) {
                self.set_one(x, status, commit_lsn)?;
            }
            self.set_one(xid, status, commit_lsn)?;
            for &x in elsewhere {
                self.set_one(x, status, commit_lsn)?;
            }
            Ok(())
        })();
        c.lock.release(lw);
        r
    }

    /// Zeroes the page of a newly assigned `xid` when it is the first of
    /// its page (PostgreSQL's ExtendCLOG). Called under XidGenLock by the
    /// assigning process.
    pub fn extend(&self, lw: &impl LwProcs, me: u32, xid: u64) -> Result<(), PgError> {
        if !xid.is_multiple_of(CLOG_XACTS_PER_PAGE) {
            // Not the first of its page: the page exists in the cache or
            // on disk, or may be missing and then reads as zeros.
            return Ok(());
        }
        let c = self.ctl();
        let page = clog::page_of(xid);
        c.lock.acquire(lw, me, LwMode::Exclusive);
        let r = self
            .find(page)
            .map_or_else(|| self.victim(xid), Ok)
            .map(|s| {
                self.page_mut(s).fill(0);
                self.clear_group_lsns(s);
                c.page_number[s].store(page, Ordering::Release);
                c.status[s].store(SLOT_VALID, Ordering::Release);
                c.dirty[s].store(1, Ordering::Release);
                self.touch(s);
            });
        c.lock.release(lw);
        r
    }

    /// Writes every dirty page and fsyncs every segment written since the
    /// last checkpoint, then `pg_xact/` itself (PostgreSQL's
    /// CheckPointCLOG). The checkpointer, before it writes the checkpoint
    /// record: afterwards every status below the recorded `next_xid` is on
    /// disk. The fsyncs run without the lock.
    pub fn checkpoint(&self, lw: &impl LwProcs, me: u32) -> Result<(), PgError> {
        let c = self.ctl();
        c.lock.acquire(lw, me, LwMode::Exclusive);
        let mut r = Ok(());
        for s in 0..self.nslots() {
            if c.status[s].load(Ordering::Acquire) == SLOT_VALID
                && c.dirty[s].load(Ordering::Acquire) != 0
            {
                let page = c.page_number[s].load(Ordering::Acquire);
                r = self.write_slot(s, clog::first_xid_of_page(page));
                if r.is_err() {
                    break;
                }
            }
        }
        if r.is_err() {
            // The range stays for the next checkpoint to sync.
            c.lock.release(lw);
            return r;
        }
        let lo = c.min_written_page.swap(u64::MAX, Ordering::SeqCst);
        let hi = c.max_written_page.swap(0, Ordering::SeqCst);
        c.lock.release(lw);
        if lo == u64::MAX {
            return Ok(());
        }
        let synced = (|| {
            for segno in clog::segment_of_page(lo).0..=clog::segment_of_page(hi).0 {
                let xid = clog::first_xid_of_page(segno * clog::SLRU_PAGES_PER_SEGMENT);
                let fd = match self.open_raw(segno, libc::O_RDWR) {
                    Ok(fd) => fd,
                    // A segment between two written ones that was never
                    // written itself: nothing to sync.
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                    Err(e) => {
                        return Err(io_error(
                            format!(
                                "Could not open file \"{PG_XACT_DIR}/{}\"",
                                clog::segment_file_name(segno)
                            ),
                            xid,
                            e,
                        ))
                    }
                };
                fsync(fd.as_raw_fd(), segno, xid)?;
            }
            fsync(self.dir.as_raw_fd(), u64::MAX, 0)
        })();
        if synced.is_err() {
            // Not synced: the next checkpoint must try these again.
            c.min_written_page.fetch_min(lo, Ordering::SeqCst);
            c.max_written_page.fetch_max(hi, Ordering::SeqCst);
        }
        synced
    }
}

fn fsync(fd: RawFd, segno: u64, xid: u64) -> Result<(), PgError> {
    // SAFETY: plain system call on our descriptor.
    if unsafe { libc::fsync(fd) } != 0 {
        let what = if segno == u64::MAX {
            format!("Could not fsync directory \"{PG_XACT_DIR}\"")
        } else {
            format!(
                "Could not fsync file \"{PG_XACT_DIR}/{}\"",
                clog::segment_file_name(segno)
            )
        };
        return Err(io_error(what, xid, last_err()));
    }
    Ok(())
}

/// Reads up to a page at `off`, retrying short reads and EINTR; returns
/// the bytes read (fewer at end of file).
fn read_full(fd: RawFd, buf: &mut [u8], off: u64) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: into the rest of our buffer.
        let n = unsafe {
            libc::pread(
                fd,
                buf[done..].as_mut_ptr() as *mut libc::c_void,
                buf.len() - done,
                (off + done as u64) as libc::off_t,
            )
        };
        if n < 0 {
            let e = last_err();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            break;
        }
        done += n as usize;
    }
    Ok(done)
}

/// [`Clog`] bound to a process's LWLock procs: what
/// [`crate::transam`] and [`crate::visibility`] take.
pub struct ClogFor<'a, P: LwProcs> {
    pub clog: &'a Clog,
    pub lw: &'a P,
    pub me: u32,
}

impl<P: LwProcs> crate::transam::ClogStatus for ClogFor<'_, P> {
    fn get_status(&self, xid: u64) -> Result<XidStatus, PgError> {
        self.clog.get_status(self.lw, self.me, xid)
    }

    fn set_tree_status(
        &self,
        xid: u64,
        subxids: &[u64],
        status: XidStatus,
        commit_lsn: u64,
    ) -> Result<(), PgError> {
        self.clog
            .set_tree_status(self.lw, self.me, xid, subxids, status, commit_lsn)
    }
}

impl<P: LwProcs> crate::transam::ExtendClog for ClogFor<'_, P> {
    fn extend(&self, xid: u64) -> Result<(), PgError> {
        self.clog.extend(self.lw, self.me, xid)
    }
}

#[cfg(test)]
mod tests;
