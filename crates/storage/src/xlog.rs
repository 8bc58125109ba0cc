//! The write-ahead log at run time: inserting records into the shared WAL
//! buffers, writing and syncing them to the segment files in `pg_wal/`
//! (group commit), checkpoint records, and crash recovery (redo).
//!
//! Why built this way (PostgreSQL's xlog.c, simplified where it is safe):
//! - **One insertion lock** (`WalCtl::insert_lock`) instead of PostgreSQL's
//!   eight. An inserter reserves its bytes *and* copies the record into the
//!   buffers while holding it, so once the lock is released every byte
//!   before `insert_pos` is complete, and a flusher never has to wait for
//!   insertions in progress (PostgreSQL's WaitXLogInsertionsToFinish). The
//!   copy is a memcpy of usually far less than a page; parallel copies only
//!   pay off with many cores writing large records, and the lock can be
//!   split later without changing any caller.
//! - **Writes under one write lock** (`WalCtl::write_lock`, PostgreSQL's
//!   WALWriteLock). A committer calls [`Xlog::flush`]: if the flush
//!   position already covers its record it returns at once; otherwise it
//!   takes the lock if it is free, or waits for its holder to release it
//!   (in shared mode, so that all waiters wake together, as PostgreSQL's
//!   LWLockAcquireOrWait) and looks again, because whoever held it
//!   flushed everything inserted at that time. The holder
//!   writes and syncs *everything* inserted so far, not only its own
//!   record: that is group commit, concurrent commits sharing one fsync.
//! - **Whole 8 kB pages** are written (a partly filled last page is written
//!   again later when it fills), so the page where valid WAL ends always
//!   holds zeroes after the end and a reader stops there.
//! - **Segments are created zero-filled** at their full size under a
//!   temporary name and linked into place, so a segment file is either
//!   absent or complete, and WAL past the end reads as zeroes.
//! - Lock order: `insert_lock` before `write_lock` (an inserter that must
//!   reuse a buffer whose page was never written writes it first, as
//!   PostgreSQL's AdvanceXLInsertBuffer does); a flusher holding
//!   `write_lock` never takes `insert_lock`, so the two cannot deadlock.
//! - **Recovery** ([`startup`]) reads WAL from the last checkpoint's redo
//!   pointer with [`WalReader`] until the end of valid WAL, hands each
//!   record to its resource manager ([`RMGRS`]), zeroes what follows the
//!   end (so a record of a dead tail is never replayed by a later
//!   recovery), and positions the insert pointer there.
//!
//! Who may call what: [`Xlog`] is one process's handle on the shared
//! area. Any process with a proc slot (its number is `me`, for the LWLocks)
//! may insert and flush once the startup process has marked the WAL ready;
//! [`startup`] is for the startup process only (no other process inserts
//! then); [`create_checkpoint`] for the checkpointer and, at the end of
//! recovery, the startup process; [`bootstrap_wal`] for `tusk init`.
//!
//! Records written by the XLOG resource manager itself (main data, little
//! endian):
//! ```text
//! CHECKPOINT_SHUTDOWN (info 0x00) / CHECKPOINT_ONLINE (info 0x10):
//!   the 88-byte CheckPoint of pg_control (control.rs draws it): redo,
//!   timelines, next xid, next oid, ..., time
//! Standby RUNNING_XACTS (rmgr 8, info 0x10), written by an online
//! checkpoint right after choosing its redo pointer, as PostgreSQL does
//! with wal_level = replica:
//!   offset size field
//!        0    8 next_xid           (64-bit)
//!        8    8 oldest_running_xid (64-bit; = next_xid with none running)
//! ```

use crate::control::{CheckPoint, ControlError, ControlFileData, PgControlWriter};
use crate::layout::XLOG_BLCKSZ;
use crate::lwlock::{LwMode, LwProcs};
use crate::wal::{
    encode_page_header, lsn_str, maxalign, segno_of, wal_file_name, BlockRef, DecodedRecord,
    Record, WalReader, WalWriter, RM_XLOG_ID, SIZE_OF_LONG_PAGE_HEADER, SIZE_OF_SHORT_PAGE_HEADER,
    SIZE_OF_XLOG_RECORD, XL_OFF_CRC, XL_OFF_PREV,
};
use crate::walbuffers::{xlblocks_offset, WalCtl, PAGES_OFFSET};
use std::cell::{Cell, RefCell};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tusk_common::{elog, sqlstate, PgError, Severity};

/// XLOG resource manager record types (PostgreSQL's values).
pub const XLOG_CHECKPOINT_SHUTDOWN: u8 = 0x00;
pub const XLOG_CHECKPOINT_ONLINE: u8 = 0x10;
pub const XLOG_NOOP: u8 = 0x20;
/// The OID counter's WAL range (main data: the next OID, u32 LE); PostgreSQL's XLOG_NEXTOID.
pub const XLOG_NEXTOID: u8 = 0x30;
/// The standby resource manager and its running-transactions record.
pub const RM_STANDBY_ID: u8 = 8;
pub const XLOG_RUNNING_XACTS: u8 = 0x10;
/// The logical-message resource manager (`pg_logical_emit_message`).
pub const RM_LOGICALMSG_ID: u8 = 21;
pub const XLOG_LOGICAL_MESSAGE: u8 = 0x00;

const PAGE: u64 = XLOG_BLCKSZ as u64;
/// Size of CheckPoint in a checkpoint record (its in-memory layout).
pub const SIZE_OF_CHECKPOINT: usize = std::mem::size_of::<CheckPoint>();
const _: () = assert!(SIZE_OF_CHECKPOINT == 88);

/// How WAL is made durable: `fsync` and `wal_sync_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMethod {
    Fsync,
    Fdatasync,
    /// Every write is synchronous (O_SYNC / O_DSYNC); no separate sync.
    OpenSync,
    OpenDatasync,
}

/// The settings the WAL writer honours. `synchronous_commit` is the
/// committer's business (whether it calls [`Xlog::flush`] at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XlogConfig {
    pub fsync: bool,
    pub sync_method: SyncMethod,
    /// `full_page_writes`: the first change of a page after a
    /// checkpoint's redo pointer logs the whole page (see
    /// [`crate::heapwal`]).
    pub full_page_writes: bool,
    /// `log_startup_progress_interval` in milliseconds (0: off): how often
    /// a long redo logs how far it got.
    pub startup_progress_interval_ms: u64,
}

impl XlogConfig {
    pub fn from_settings(s: &tusk_config::Settings) -> XlogConfig {
        XlogConfig {
            fsync: s.bool("fsync"),
            full_page_writes: s.bool("full_page_writes"),
            startup_progress_interval_ms: s.int("log_startup_progress_interval").max(0) as u64,
            sync_method: match s.str("wal_sync_method") {
                "fsync" => SyncMethod::Fsync,
                "open_sync" => SyncMethod::OpenSync,
                "open_datasync" => SyncMethod::OpenDatasync,
                _ => SyncMethod::Fdatasync,
            },
        }
    }
}

/// A WAL failure: the system call with its arguments, or what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XlogError {
    pub message: String,
    pub corrupt: bool,
}

impl XlogError {
    fn io(what: String, e: std::io::Error) -> XlogError {
        XlogError {
            message: format!("{what}: {e}"),
            corrupt: false,
        }
    }

    fn corrupt(message: String) -> XlogError {
        XlogError {
            message,
            corrupt: true,
        }
    }

    /// As the server reports it. A failed WAL write or sync is a PANIC in
    /// PostgreSQL (the data may be half on disk); the caller picks the
    /// severity, the code says what kind of failure it was.
    pub fn to_pg_error(&self, severity: Severity) -> PgError {
        let code = if self.corrupt {
            sqlstate::DATA_CORRUPTED
        } else {
            sqlstate::IO_ERROR
        };
        let e = PgError::new(severity, code, self.message.clone());
        if self.corrupt {
            e
        } else {
            e.with_hint("Check free disk space and the permissions of pg_wal/.")
        }
    }
}

impl std::fmt::Display for XlogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ControlError> for XlogError {
    fn from(e: ControlError) -> XlogError {
        XlogError {
            message: e.to_string(),
            corrupt: false,
        }
    }
}

/// What the buffer manager calls before it writes a data page: WAL up to
/// the page's LSN must be on disk first (the WAL-before-data rule). Any
/// process with a proc slot may call it; it may sleep on `write_lock`.
pub trait WalFlusher {
    fn flush_upto(&self, lsn: u64) -> Result<(), XlogError>;
}

/// One process's handle on the WAL buffers area.
pub struct Xlog<P: LwProcs> {
    area: *mut u8,
    nbuf: usize,
    procs: P,
    me: u32,
    wal_dir: PathBuf,
    /// A Cell: a reload replaces it while the handle is shared (the
    /// backend's transaction engine holds it behind an Rc).
    cfg: Cell<XlogConfig>,
    /// The segment this process last wrote (opened lazily, kept open).
    open: RefCell<Option<(u64, File)>>,
    /// Wakes the checkpointer when this process finishes a segment that
    /// puts WAL past the max_wal_size trigger (set by the server).
    wake_checkpointer: Option<Box<dyn Fn()>>,
}

/// The commit log flushes WAL through the process's handle before it
/// writes a page holding asynchronous commits.
impl<P: LwProcs> crate::clogbuffers::WalFlush for Xlog<P> {
    fn flushed(&self) -> u64 {
        self.flush_lsn()
    }

    fn flush_wal(&self, lsn: u64) -> Result<(), PgError> {
        // PostgreSQL PANICs when a WAL flush fails (its outcome unknown).
        self.flush(lsn).map_err(|e| e.to_pg_error(Severity::Panic))
    }
}

impl<P: LwProcs> Xlog<P> {
    /// Takes new `fsync` / `wal_sync_method` values after a configuration
    /// reload (both are SIGHUP settings). The process owning the handle.
    pub fn set_config(&self, cfg: XlogConfig) {
        self.cfg.set(cfg);
    }

    /// # Safety
    /// `area` must point to an initialised WAL buffers area (see
    /// [`crate::walbuffers`]) of `nbuf` pages, mapped for as long as the
    /// handle is used.
    pub unsafe fn attach(
        area: *mut u8,
        nbuf: usize,
        procs: P,
        me: u32,
        data_dir: &Path,
        cfg: XlogConfig,
    ) -> Xlog<P> {
        assert!(nbuf > 0);
        Xlog {
            area,
            nbuf,
            procs,
            me,
            wal_dir: data_dir.join("pg_wal"),
            cfg: Cell::new(cfg),
            open: RefCell::new(None),
            wake_checkpointer: None,
        }
    }

    /// How this process wakes the checkpointer for a WAL-volume
    /// checkpoint (see [`WalCtl::ckpt_wal_requested`]).
    pub fn set_checkpoint_waker(&mut self, wake: Box<dyn Fn()>) {
        self.wake_checkpointer = Some(wake);
    }

    /// PostgreSQL's XLogCheckpointNeeded and RequestCheckpoint(XLOG): a
    /// writer that has just finished segment `segno` asks for a
    /// checkpoint once WAL since the redo pointer reaches the trigger
    /// distance; one pending request at a time. Any process writing WAL.
    fn segment_finished(&self, segno: u64) {
        let c = self.ctl();
        let segments = c.ckpt_segments.load(Ordering::Relaxed);
        if segments == 0 {
            return;
        }
        let redo_seg = c.redo_rec_ptr.load(Ordering::Relaxed) / self.seg_size();
        if segno + 1 >= redo_seg + segments && c.ckpt_wal_requested.swap(1, Ordering::SeqCst) == 0 {
            if let Some(w) = &self.wake_checkpointer {
                w();
            }
        }
    }

    pub fn ctl(&self) -> &WalCtl {
        // SAFETY: attach's contract; WalCtl is at the area's start.
        unsafe { &*(self.area as *const WalCtl) }
    }

    fn xlblock(&self, i: usize) -> &AtomicU64 {
        // SAFETY: attach's contract: the array follows the pages.
        unsafe { &*(self.area.add(xlblocks_offset(self.nbuf)) as *const AtomicU64).add(i) }
    }

    fn page_ptr(&self, i: usize) -> *mut u8 {
        // SAFETY: i < nbuf (callers take it modulo nbuf).
        unsafe { self.area.add(PAGES_OFFSET + i * XLOG_BLCKSZ) }
    }

    fn buf_of(&self, lsn: u64) -> usize {
        ((lsn / PAGE) % self.nbuf as u64) as usize
    }

    fn seg_size(&self) -> u64 {
        self.ctl().seg_size.load(Ordering::Acquire)
    }

    pub fn is_ready(&self) -> bool {
        self.ctl().ready.load(Ordering::Acquire) != 0
    }

    /// Where the next record will be inserted (pg_current_wal_insert_lsn).
    pub fn insert_lsn(&self) -> u64 {
        self.ctl().copied_lsn.load(Ordering::Acquire)
    }

    pub fn write_lsn(&self) -> u64 {
        self.ctl().write_lsn.load(Ordering::Acquire)
    }

    pub fn flush_lsn(&self) -> u64 {
        self.ctl().flush_lsn.load(Ordering::Acquire)
    }

    /// Sets the positions after recovery (or in a test): the next record
    /// goes at `end` (8-byte aligned), linking back to `prev`; `tail` is the
    /// valid beginning of the page holding `end` (as on disk), which the
    /// next write of that page must keep. Startup process only, before
    /// anyone inserts.
    pub fn begin(&self, sysid: u64, tli: u32, seg_size: u64, end: u64, prev: u64, tail: &[u8]) {
        let c = self.ctl();
        let _i = c.insert_lock.lock(&self.procs, self.me, LwMode::Exclusive);
        let _w = c.write_lock.lock(&self.procs, self.me, LwMode::Exclusive);
        for i in 0..self.nbuf {
            self.xlblock(i).store(0, Ordering::Release);
        }
        if !end.is_multiple_of(PAGE) {
            let start = end - end % PAGE;
            let i = self.buf_of(start);
            // SAFETY: a page of the area; nobody else touches the WAL yet.
            let page = unsafe { std::slice::from_raw_parts_mut(self.page_ptr(i), XLOG_BLCKSZ) };
            page.fill(0);
            let n = tail.len().min((end - start) as usize);
            page[..n].copy_from_slice(&tail[..n]);
            self.xlblock(i).store(start + PAGE, Ordering::Release);
        }
        c.seg_size.store(seg_size, Ordering::Release);
        c.sysid.store(sysid, Ordering::Release);
        c.tli.store(tli, Ordering::Release);
        c.insert_pos.store(end, Ordering::Release);
        c.prev_lsn.store(prev, Ordering::Release);
        c.copied_lsn.store(end, Ordering::Release);
        c.write_lsn.store(end, Ordering::Release);
        c.flush_lsn.store(end, Ordering::Release);
        c.request_lsn.store(end, Ordering::Release);
        c.ready.store(1, Ordering::Release);
    }

    /// PostgreSQL's XLogInsert: appends a record of resource manager
    /// `rmid` and returns the LSN just past it (where the next record may
    /// start), which is what a committer passes to [`Xlog::flush`].
    pub fn xlog_insert(
        &self,
        rmid: u8,
        info: u8,
        xid: u64,
        data: &[u8],
        blocks: Vec<BlockRef>,
    ) -> Result<u64, XlogError> {
        let rec = Record {
            rmid,
            info,
            xid,
            blocks,
            main_data: data.to_vec(),
        };
        self.insert_record(&rec).map(|(_, end)| end)
    }

    /// Appends `rec`; returns (its LSN, the LSN just past it, 8-aligned).
    pub fn insert_record(&self, rec: &Record) -> Result<(u64, u64), XlogError> {
        self.insert_record_fpw(rec, None)
            .map(|r| r.expect("no full-page-write check asked"))
    }

    /// The redo pointer that decides full-page images (PostgreSQL's
    /// RedoRecPtr): a page whose LSN is at or below it gets one. Read
    /// without the lock; [`Xlog::insert_record_fpw`] checks it again.
    pub fn redo_rec_ptr(&self) -> u64 {
        self.ctl().redo_rec_ptr.load(Ordering::Acquire)
    }

    /// This process's `full_page_writes`.
    pub fn full_page_writes(&self) -> bool {
        self.cfg.get().full_page_writes
    }

    /// [`Xlog::insert_record`] for a record built against a redo pointer
    /// read earlier: `fpw_lsn` is the lowest page LSN among the blocks it
    /// logs *without* an image. If, under the insertion lock, a checkpoint
    /// has meanwhile moved the redo pointer to or past that LSN (so one of
    /// those pages now needs an image), nothing is inserted and `None`
    /// comes back: the caller builds the record again (PostgreSQL's
    /// XLogInsertRecord returning InvalidXLogRecPtr). Any process with a
    /// proc slot, after recovery.
    pub fn insert_record_fpw(
        &self,
        rec: &Record,
        fpw_lsn: Option<u64>,
    ) -> Result<Option<(u64, u64)>, XlogError> {
        if !self.is_ready() {
            return Err(XlogError::corrupt(
                "cannot make new WAL entries during recovery".into(),
            ));
        }
        // Encode and checksum the body outside the lock; only xl_prev and
        // the header's part of the CRC depend on the position.
        let mut bytes = crate::wal::encode_unfinished(rec)
            .map_err(|e| XlogError::corrupt(format!("could not encode WAL record: {e:?}")))?;
        let body_crc = crc32c::crc32c(&bytes[SIZE_OF_XLOG_RECORD..]);
        let c = self.ctl();
        let _g = c.insert_lock.lock(&self.procs, self.me, LwMode::Exclusive);
        if self.cfg.get().full_page_writes
            && fpw_lsn.is_some_and(|l| l <= c.redo_rec_ptr.load(Ordering::Relaxed))
        {
            return Ok(None);
        }
        let prev = c.prev_lsn.load(Ordering::Relaxed);
        bytes[XL_OFF_PREV..XL_OFF_PREV + 8].copy_from_slice(&prev.to_le_bytes());
        let crc = crc32c::crc32c_append(body_crc, &bytes[..XL_OFF_CRC]);
        bytes[XL_OFF_CRC..XL_OFF_CRC + 4].copy_from_slice(&crc.to_le_bytes());

        let mut pos = c.insert_pos.load(Ordering::Relaxed);
        if pos.is_multiple_of(PAGE) {
            pos += self.init_page(pos, 0)? as u64;
        }
        let lsn = pos;
        let mut rest = &bytes[..];
        loop {
            let page_end = (pos / PAGE + 1) * PAGE;
            let n = rest.len().min((page_end - pos) as usize);
            // SAFETY: [pos, pos+n) lies in the page this buffer holds
            // (initialised above or by an earlier insert); only the holder
            // of insert_lock writes into buffers.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    rest.as_ptr(),
                    self.page_ptr(self.buf_of(pos)).add((pos % PAGE) as usize),
                    n,
                );
            }
            pos += n as u64;
            rest = &rest[n..];
            if rest.is_empty() {
                break;
            }
            pos += self.init_page(pos, rest.len() as u32)? as u64;
        }
        let end = maxalign(pos);
        c.prev_lsn.store(lsn, Ordering::Relaxed);
        c.insert_pos.store(end, Ordering::Release);
        // Published last: a flusher may now write these bytes.
        c.copied_lsn.store(end, Ordering::Release);
        Ok(Some((lsn, end)))
    }

    /// Makes the buffer for the page starting at `start` hold that page:
    /// writes out the older page it held if that was never written, zeroes
    /// it and puts the page header. Returns the header's size. Called with
    /// `insert_lock` held.
    fn init_page(&self, start: u64, rem_len: u32) -> Result<usize, XlogError> {
        let i = self.buf_of(start);
        let old_end = self.xlblock(i).load(Ordering::Acquire);
        let c = self.ctl();
        if old_end > c.write_lsn.load(Ordering::Acquire) {
            let _w = c.write_lock.lock(&self.procs, self.me, LwMode::Exclusive);
            if old_end > c.write_lsn.load(Ordering::Acquire) {
                // Every byte before `start` is copied: by earlier inserts,
                // or by this one before it crossed into this page.
                self.write_locked(old_end)?;
            }
        }
        let h = encode_page_header(
            start,
            c.tli.load(Ordering::Relaxed),
            rem_len,
            c.sysid.load(Ordering::Relaxed),
            self.seg_size(),
        );
        // SAFETY: the buffer's old page is written (or was never used), so
        // no flusher reads it any more; only insert_lock's holder writes it.
        unsafe {
            let p = self.page_ptr(i);
            std::ptr::write_bytes(p, 0, XLOG_BLCKSZ);
            std::ptr::copy_nonoverlapping(h.as_ptr(), p, h.len());
        }
        self.xlblock(i).store(start + PAGE, Ordering::Release);
        Ok(h.len())
    }

    /// Opens (creating it zero-filled if needed) segment `segno`.
    fn segment(&self, segno: u64) -> Result<std::cell::RefMut<'_, File>, XlogError> {
        let mut open = self.open.borrow_mut();
        if open.as_ref().map(|(s, _)| *s) != Some(segno) {
            *open = None;
            let f = open_segment(
                &self.wal_dir,
                self.tli(),
                segno,
                self.seg_size(),
                &self.cfg.get(),
            )?;
            *open = Some((segno, f));
        }
        Ok(std::cell::RefMut::map(open, |o| &mut o.as_mut().unwrap().1))
    }

    fn tli(&self) -> u32 {
        self.ctl().tli.load(Ordering::Relaxed)
    }

    /// Writes the buffered pages from `write_lsn` up to `target` to the
    /// segment files (whole pages; the last may be partly filled) and
    /// advances `write_lsn`. Called with `write_lock` held, for bytes that
    /// are completely copied.
    fn write_locked(&self, target: u64) -> Result<(), XlogError> {
        let c = self.ctl();
        let seg_size = self.seg_size();
        let mut w = c.write_lsn.load(Ordering::Acquire);
        while w < target {
            // A run of pages in one segment and contiguous in the buffers.
            let first = w - w % PAGE;
            let seg_end = (first / seg_size + 1) * seg_size;
            let i = self.buf_of(first);
            let run_end = (first + (self.nbuf - i) as u64 * PAGE)
                .min(seg_end)
                .min((target.div_ceil(PAGE)) * PAGE);
            let npages = ((run_end - first) / PAGE) as usize;
            for k in 0..npages {
                let held = self.xlblock(i + k).load(Ordering::Acquire);
                if held != first + (k as u64 + 1) * PAGE {
                    return Err(XlogError::corrupt(format!(
                        "WAL buffer {} holds the page ending at {}, expected {}",
                        i + k,
                        lsn_str(held),
                        lsn_str(first + (k as u64 + 1) * PAGE)
                    )));
                }
            }
            let segno = first / seg_size;
            let off = first % seg_size;
            // SAFETY: pages i..i+npages of the area; the kernel copies them.
            let bytes =
                unsafe { std::slice::from_raw_parts(self.page_ptr(i), npages * XLOG_BLCKSZ) };
            let f = self.segment(segno)?;
            f.write_all_at(bytes, off).map_err(|e| {
                XlogError::io(
                    format!(
                        "could not write to log file {} at offset {off}, length {}",
                        wal_file_name(self.tli(), segno, seg_size),
                        bytes.len()
                    ),
                    e,
                )
            })?;
            c.writes.fetch_add(1, Ordering::Relaxed);
            w = run_end.min(target);
            c.write_lsn.store(w, Ordering::Release);
            if w == seg_end {
                self.segment_finished(segno);
            }
        }
        Ok(())
    }

    /// Syncs the segments holding [flush_lsn, write_lsn) and advances
    /// `flush_lsn`. Called with `write_lock` held.
    fn sync_locked(&self) -> Result<(), XlogError> {
        let c = self.ctl();
        let (from, to) = (
            c.flush_lsn.load(Ordering::Acquire),
            c.write_lsn.load(Ordering::Acquire),
        );
        if to <= from {
            return Ok(());
        }
        let seg_size = self.seg_size();
        let needs_sync = self.cfg.get().fsync
            && matches!(
                self.cfg.get().sync_method,
                SyncMethod::Fsync | SyncMethod::Fdatasync
            );
        if needs_sync {
            for segno in from / seg_size..=(to - 1) / seg_size {
                let f = self.segment(segno)?;
                let r = if self.cfg.get().sync_method == SyncMethod::Fsync {
                    f.sync_all()
                } else {
                    f.sync_data()
                };
                c.syncs.fetch_add(1, Ordering::Relaxed);
                r.map_err(|e| {
                    XlogError::io(
                        format!(
                            "could not {} file \"{}\"",
                            if self.cfg.get().sync_method == SyncMethod::Fsync {
                                "fsync"
                            } else {
                                "fdatasync"
                            },
                            wal_file_name(self.tli(), segno, seg_size)
                        ),
                        e,
                    )
                })?;
            }
        }
        c.flush_lsn.store(to, Ordering::Release);
        Ok(())
    }

    /// PostgreSQL's XLogFlush: returns once WAL up to `lsn` is on disk.
    /// Concurrent callers share the work (see the file comment). Any
    /// process with a proc slot may call it; it may sleep on `write_lock`.
    pub fn flush(&self, lsn: u64) -> Result<(), XlogError> {
        let c = self.ctl();
        if !self.is_ready() {
            // Recovery: the buffer manager writing a page replayed from
            // WAL (evicting it, or the end-of-recovery checkpoint before
            // `begin`) asks for WAL up to the page's LSN, which is WAL
            // read from pg_wal itself — already on disk. PostgreSQL's
            // XLogFlush likewise only moves minRecoveryPoint then.
            return Ok(());
        }
        loop {
            if c.flush_lsn.load(Ordering::Acquire) >= lsn {
                return Ok(());
            }
            if c.write_lock.try_acquire(LwMode::Exclusive) {
                break;
            }
            // PostgreSQL's LWLockAcquireOrWait: wait until the flusher
            // releases the lock, without queueing for it exclusively.
            // Shared waiters are all woken at once when it is released,
            // and most then find their record flushed and return, instead
            // of taking the lock one after another.
            c.write_lock.acquire(&self.procs, self.me, LwMode::Shared);
            c.write_lock.release(&self.procs);
        }
        let _w = Held(&c.write_lock, &self.procs);
        // Whoever held the lock before us may have flushed our record.
        if c.flush_lsn.load(Ordering::Acquire) >= lsn {
            return Ok(());
        }
        let copied = c.copied_lsn.load(Ordering::Acquire);
        if lsn > copied {
            return Err(XlogError::corrupt(format!(
                "xlog flush request {} is not satisfied --- flushed only to {}",
                lsn_str(lsn),
                lsn_str(copied)
            )));
        }
        // Everything inserted so far, for whoever is queued behind us.
        self.write_locked(copied)?;
        self.sync_locked()
    }

    /// Flushes everything inserted so far (the walwriter's round). Returns
    /// whether there was anything to do.
    pub fn flush_all(&self) -> Result<bool, XlogError> {
        let target = self.ctl().copied_lsn.load(Ordering::Acquire);
        if self.flush_lsn() >= target {
            return Ok(false);
        }
        self.flush(target)?;
        Ok(true)
    }

    /// The redo pointer a checkpoint starting now records: where the next
    /// record will start (past a page header if the insert position is at
    /// a page boundary). It becomes [`Xlog::redo_rec_ptr`] under the same
    /// lock, so every record inserted after it sees it (and takes
    /// full-page images against it). Checkpointer or startup process.
    pub fn redo_point(&self) -> u64 {
        let c = self.ctl();
        let _g = c.insert_lock.lock(&self.procs, self.me, LwMode::Exclusive);
        let pos = c.insert_pos.load(Ordering::Relaxed);
        let redo = if !pos.is_multiple_of(PAGE) {
            pos
        } else if pos.is_multiple_of(self.seg_size()) {
            pos + SIZE_OF_LONG_PAGE_HEADER as u64
        } else {
            pos + SIZE_OF_SHORT_PAGE_HEADER as u64
        };
        // The max_wal_size trigger counts from here on too, as
        // PostgreSQL's RedoRecPtr moves when a checkpoint starts.
        c.redo_rec_ptr.store(redo, Ordering::Release);
        redo
    }
}

/// A lock taken with `try_acquire`, released on drop (also on an error
/// return).
struct Held<'a, P: LwProcs>(&'a crate::lwlock::LwLock, &'a P);

impl<P: LwProcs> Drop for Held<'_, P> {
    fn drop(&mut self) {
        self.0.release(self.1);
    }
}

impl<P: LwProcs> WalFlusher for Xlog<P> {
    fn flush_upto(&self, lsn: u64) -> Result<(), XlogError> {
        self.flush(lsn)
    }
}

/// Opens segment `segno` for writing, creating it first if it does not
/// exist: zero-filled at full size under a temporary name, synced, then
/// linked into place (link, not rename: a segment that appeared meanwhile
/// is never replaced). Also the checkpointer's preallocation
/// ([`crate::walrecycle::preallocate`]).
pub(crate) fn open_segment(
    wal_dir: &Path,
    tli: u32,
    segno: u64,
    seg_size: u64,
    cfg: &XlogConfig,
) -> Result<File, XlogError> {
    let name = wal_file_name(tli, segno, seg_size);
    let path = wal_dir.join(&name);
    let mut opts = OpenOptions::new();
    opts.read(true).write(true);
    if cfg.fsync {
        match cfg.sync_method {
            SyncMethod::OpenSync => {
                opts.custom_flags(libc::O_SYNC);
            }
            SyncMethod::OpenDatasync => {
                opts.custom_flags(libc::O_DSYNC);
            }
            _ => {}
        }
    }
    match opts.open(&path) {
        Ok(f) => return Ok(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(XlogError::io(
                format!("could not open file \"{}\"", path.display()),
                e,
            ))
        }
    }
    let tmp = wal_dir.join(format!("xlogtemp.{}", std::process::id()));
    let io = |what: &str, p: &Path, e| XlogError::io(format!("{what} \"{}\"", p.display()), e);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io("could not create file", &tmp, e))?;
        let zeros = vec![0u8; 64 * 1024];
        let mut left = seg_size;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            f.write_all(&zeros[..n])
                .map_err(|e| io("could not write to file", &tmp, e))?;
            left -= n as u64;
        }
        if cfg.fsync {
            f.sync_all()
                .map_err(|e| io("could not fsync file", &tmp, e))?;
        }
    }
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io("could not link file", &path, e)),
    }
    // The new name must survive a crash as surely as the records that
    // will be acknowledged from this segment: a failed directory fsync is
    // an error, as in PostgreSQL.
    if cfg.fsync {
        File::open(wal_dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("could not fsync directory", wal_dir, e))?;
    }
    opts.open(&path)
        .map_err(|e| io("could not open file", &path, e))
}

/// The bytes of a CheckPoint as a checkpoint record carries them.
pub fn checkpoint_bytes(ck: &CheckPoint) -> [u8; SIZE_OF_CHECKPOINT] {
    // SAFETY: CheckPoint is repr(C) with every padding byte an explicit
    // field (control.rs pins its layout), so all its bytes are initialised.
    unsafe { std::mem::transmute_copy(ck) }
}

/// A CheckPoint back from a record's main data.
pub fn checkpoint_from_bytes(b: &[u8]) -> Option<CheckPoint> {
    if b.len() != SIZE_OF_CHECKPOINT {
        return None;
    }
    // SAFETY: length checked; every bit pattern is a valid CheckPoint
    // (integers and padding only); read_unaligned for the Vec's alignment.
    Some(unsafe { std::ptr::read_unaligned(b.as_ptr() as *const CheckPoint) })
}

/// `tusk init`'s WAL: the first segment (number 1, as initdb's; LSN 0 is
/// "invalid") holding one shutdown checkpoint record whose redo pointer is
/// itself, and pg_control pointing at it. The caller writes pg_control.
pub fn bootstrap_wal(data_dir: &Path, c: &mut ControlFileData) -> Result<(), XlogError> {
    let seg_size = c.xlog_seg_size as u64;
    let tli = c.checkpoint_copy.this_timeline;
    let start = seg_size;
    let mut w = WalWriter::new(start, 0, tli, c.system_identifier, seg_size);
    let mut ck = c.checkpoint_copy;
    ck.redo = start + SIZE_OF_LONG_PAGE_HEADER as u64;
    let (lsn, _) = w
        .insert(&Record {
            rmid: RM_XLOG_ID,
            info: XLOG_CHECKPOINT_SHUTDOWN,
            xid: 0,
            blocks: vec![],
            main_data: checkpoint_bytes(&ck).to_vec(),
        })
        .map_err(|e| XlogError::corrupt(format!("could not encode WAL record: {e:?}")))?;
    debug_assert_eq!(lsn, ck.redo);
    let wal_dir = data_dir.join("pg_wal");
    let cfg = XlogConfig {
        fsync: true,
        sync_method: SyncMethod::Fdatasync,
        full_page_writes: true,
        startup_progress_interval_ms: 0,
    };
    let f = open_segment(&wal_dir, tli, 1, seg_size, &cfg)?;
    let path = wal_dir.join(wal_file_name(tli, 1, seg_size));
    f.write_all_at(w.bytes(), 0)
        .and_then(|_| f.sync_all())
        .map_err(|e| XlogError::io(format!("could not write file \"{}\"", path.display()), e))?;
    c.checkpoint = lsn;
    c.checkpoint_copy = ck;
    Ok(())
}

/// What redo routines see and change.
#[derive(Default)]
pub struct RedoCtx<'a> {
    /// From the checkpoint records replayed (the latest wins), moved past
    /// every xid a transaction record names.
    pub next_xid: u64,
    pub next_oid: u32,
    pub records: u64,
    /// Where commit and abort records set the commit log (the server's;
    /// `None` in WAL-only tests, then only `next_xid` moves).
    pub xact: Option<&'a dyn crate::xactwal::XactRedo>,
    /// The startup process's buffer manager: heap and storage records are
    /// replayed through shared buffers, as PostgreSQL does (`None` in
    /// WAL-only tests; such a record is then an error).
    pub bufmgr: Option<&'a crate::bufmgr::BufMgr>,
    /// Block counts of the forks redo has touched (heapwal's cache: only
    /// the startup process changes relation files during recovery, so a
    /// count stays true until a storage record changes it; saves a stat
    /// per record).
    pub fork_sizes: std::collections::HashMap<
        (crate::smgr::RelFileLocator, crate::smgr::Fork),
        crate::smgr::BlockNumber,
    >,
    /// Blocks a record needed that do not exist (or are all zero),
    /// skipped for now: a later truncation or unlink of their relation
    /// excuses them, and any left at the end fail recovery (PostgreSQL's
    /// invalid-page table; the bool: the block exists but is zero).
    pub invalid_pages: std::collections::BTreeMap<
        (
            crate::smgr::RelFileLocator,
            crate::smgr::Fork,
            crate::smgr::BlockNumber,
        ),
        bool,
    >,
}

/// A resource manager: the replay routine for records carrying its id.
/// Redo runs in the startup process only. Heap, btree and xact entries
/// join this table with their record types.
pub struct Rmgr {
    pub id: u8,
    pub name: &'static str,
    pub redo: fn(&DecodedRecord, &mut RedoCtx<'_>) -> Result<(), String>,
}

/// The resource managers tusk has, by id.
pub static RMGRS: &[Rmgr] = &[
    Rmgr {
        id: RM_XLOG_ID,
        name: "XLOG",
        redo: xlog_redo,
    },
    Rmgr {
        id: crate::wal::RM_XACT_ID,
        name: "Transaction",
        redo: crate::xactwal::xact_redo,
    },
    Rmgr {
        id: crate::wal::RM_SMGR_ID,
        name: "Storage",
        redo: crate::heapwal::smgr_redo,
    },
    Rmgr {
        id: RM_STANDBY_ID,
        name: "Standby",
        redo: standby_redo,
    },
    Rmgr {
        id: crate::wal::RM_HEAP2_ID,
        name: "Heap2",
        redo: crate::heapwal::heap2_redo,
    },
    Rmgr {
        id: crate::wal::RM_HEAP_ID,
        name: "Heap",
        redo: crate::heapwal::heap_redo,
    },
    Rmgr {
        id: crate::wal::RM_BTREE_ID,
        name: "Btree",
        redo: crate::nbtree::btree_redo,
    },
    Rmgr {
        id: crate::sequence::RM_SEQ_ID,
        name: "Sequence",
        redo: crate::sequence::seq_redo,
    },
    Rmgr {
        id: RM_LOGICALMSG_ID,
        name: "LogicalMessage",
        redo: logicalmsg_redo,
    },
];

pub fn rmgr(id: u8) -> Option<&'static Rmgr> {
    RMGRS.iter().find(|r| r.id == id)
}

/// XLOG's own records: a checkpoint carries the counters as they were, so
/// replay takes them over (later records of the heap and xact rmgrs move
/// them further).
fn xlog_redo(r: &DecodedRecord, ctx: &mut RedoCtx<'_>) -> Result<(), String> {
    match r.record.info & 0xF0 {
        XLOG_CHECKPOINT_SHUTDOWN | XLOG_CHECKPOINT_ONLINE => {
            let ck = checkpoint_from_bytes(&r.record.main_data)
                .ok_or_else(|| format!("invalid checkpoint record at {}", lsn_str(r.lsn)))?;
            ctx.next_xid = ctx.next_xid.max(ck.next_xid);
            ctx.next_oid = ctx.next_oid.max(ck.next_oid);
            Ok(())
        }
        XLOG_NOOP => Ok(()),
        XLOG_NEXTOID => {
            let b: [u8; 4] = r
                .record
                .main_data
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("invalid NEXTOID record at {}", lsn_str(r.lsn)))?;
            // The latest record wins, as in PostgreSQL (the counter may
            // have wrapped, so no max).
            ctx.next_oid = u32::from_le_bytes(b);
            Ok(())
        }
        crate::heapwal::XLOG_FPI_FOR_HINT | crate::heapwal::XLOG_FPI => {
            crate::heapwal::fpi_redo(r, ctx)
        }
        other => Err(format!("xlog_redo: unknown op code {other}")),
    }
}

/// Running transactions: what a hot standby would use; crash recovery only
/// checks the record and takes the next xid.
fn standby_redo(r: &DecodedRecord, ctx: &mut RedoCtx<'_>) -> Result<(), String> {
    if r.record.info & 0xF0 != XLOG_RUNNING_XACTS || r.record.main_data.len() != 16 {
        return Err(format!("invalid standby record at {}", lsn_str(r.lsn)));
    }
    let next = u64::from_le_bytes(r.record.main_data[0..8].try_into().unwrap());
    ctx.next_xid = ctx.next_xid.max(next);
    Ok(())
}

/// The main data of a logical message record (PostgreSQL's
/// xl_logical_message): database oid (4), transactional (1), padding
/// (3), prefix size with its terminating NUL (8), message size (8), then
/// the prefix, a NUL, and the message.
pub fn logical_message_bytes(
    db: u32,
    transactional: bool,
    prefix: &str,
    message: &[u8],
) -> Vec<u8> {
    let mut d = Vec::with_capacity(24 + prefix.len() + 1 + message.len());
    d.extend_from_slice(&db.to_le_bytes());
    d.push(transactional as u8);
    d.extend_from_slice(&[0; 3]);
    d.extend_from_slice(&(prefix.len() as u64 + 1).to_le_bytes());
    d.extend_from_slice(&(message.len() as u64).to_le_bytes());
    d.extend_from_slice(prefix.as_bytes());
    d.push(0);
    d.extend_from_slice(message);
    d
}

/// A logical message is for logical decoding, which tusk does not have:
/// crash recovery only checks that the record is whole.
fn logicalmsg_redo(r: &DecodedRecord, _ctx: &mut RedoCtx<'_>) -> Result<(), String> {
    let d = &r.record.main_data;
    let size = |at: usize| {
        d.get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
    };
    match (size(8), size(16)) {
        (Some(p), Some(m))
            if r.record.info & 0xF0 == XLOG_LOGICAL_MESSAGE
                && 24u64.checked_add(p).and_then(|n| n.checked_add(m)) == Some(d.len() as u64) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "invalid logical message record at {}",
            lsn_str(r.lsn)
        )),
    }
}

/// Reads the segments from the one holding `from` on, for as long as they
/// exist in sequence. Returns the stream and the LSN of its first byte.
/// Tests only: recovery streams with [`scan`].
#[cfg(test)]
fn read_segments(
    wal_dir: &Path,
    tli: u32,
    from: u64,
    seg_size: u64,
) -> Result<(Vec<u8>, u64), XlogError> {
    use std::io::Read;
    let first = segno_of(from, seg_size);
    let mut buf = Vec::new();
    let mut segno = first;
    while let Ok(mut f) = File::open(wal_dir.join(wal_file_name(tli, segno, seg_size))) {
        let at = buf.len();
        (&mut f)
            .take(seg_size)
            .read_to_end(&mut buf)
            .map_err(|e| XlogError::io("read".into(), e))?;
        buf.resize(at + seg_size as usize, 0);
        segno += 1;
    }
    Ok((buf, first * seg_size))
}

/// Bytes read from the segment files at a time while scanning.
const SCAN_CHUNK: u64 = 256 * 1024;

/// Where [`scan`] stopped.
struct ScanEnd {
    /// Where the next record would be read: just past the last record
    /// consumed.
    next: u64,
    /// The last record consumed (its LSN), if any.
    last: Option<u64>,
    /// Why reading stopped, unless the visitor stopped it.
    why: Option<crate::wal::WalEnd>,
    /// The bytes of the page holding `next`, before `next`.
    tail: Vec<u8>,
}

/// Reads records from `first` on (the first must link back to `prev`
/// when given), handing each to `visit` until it returns false (that
/// record is then not consumed) or the WAL ends. Memory is a sliding
/// window: the page of the next record on, plus what one record needs,
/// read from the segment files `SCAN_CHUNK` bytes at a time — never the
/// whole WAL since the redo pointer. Startup process only.
fn scan(
    wal_dir: &Path,
    tli: u32,
    sysid: u64,
    seg_size: u64,
    first: u64,
    prev: Option<u64>,
    mut visit: impl FnMut(DecodedRecord) -> Result<bool, XlogError>,
) -> Result<ScanEnd, XlogError> {
    let mut next = first;
    let mut prev = prev;
    let mut last = None;
    let mut buf_start = first - first % PAGE;
    let mut buf: Vec<u8> = Vec::new();
    // The file position that follows the buffer's last byte.
    let mut file_pos = buf_start;
    let mut more = true;
    loop {
        let mut r = WalReader::new(&buf, buf_start, next, prev, tli, sysid, seg_size);
        let why = loop {
            match r.read_record() {
                Ok(rec) => {
                    let (lsn, after) = (rec.lsn, r.next_lsn());
                    if !visit(rec)? {
                        break None;
                    }
                    prev = Some(lsn);
                    last = Some(lsn);
                    next = after;
                }
                Err(e) => break Some(e),
            }
        };
        let need_more = matches!(&why, Some(e) if e.kind == crate::wal::WalEndKind::EndOfData);
        if !need_more || !more {
            let page = next - next % PAGE;
            let tail = buf
                .get((page - buf_start) as usize..(next - buf_start) as usize)
                .unwrap_or(&[])
                .to_vec();
            return Ok(ScanEnd {
                next,
                last,
                why,
                tail,
            });
        }
        // Drop what lies before the next record's page, read on.
        let keep_from = next - next % PAGE;
        buf.drain(..(keep_from - buf_start) as usize);
        buf_start = keep_from;
        let segno = file_pos / seg_size;
        let off = file_pos % seg_size;
        let path = wal_dir.join(wal_file_name(tli, segno, seg_size));
        let f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                more = false;
                continue;
            }
            Err(e) => {
                return Err(XlogError::io(
                    format!("could not open file \"{}\"", path.display()),
                    e,
                ))
            }
        };
        let n = SCAN_CHUNK.min(seg_size - off) as usize;
        let at = buf.len();
        buf.resize(at + n, 0);
        let mut got = 0;
        while got < n {
            match f.read_at(&mut buf[at + got..], off + got as u64) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(XlogError::io(
                        format!(
                            "could not read from WAL segment {}, offset {}",
                            wal_file_name(tli, segno, seg_size),
                            off + got as u64
                        ),
                        e,
                    ))
                }
            }
        }
        buf.truncate(at + got);
        file_pos += got as u64;
        // A short segment file ends the stream where its data ends.
        if got < n {
            more = false;
        }
    }
}

/// What [`startup`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryResult {
    /// Records replayed (0 after a clean shutdown).
    pub replayed: u64,
    /// Where redo started and the last record replayed (LSNs), if any.
    pub redo_start: Option<u64>,
    pub last_record: Option<u64>,
    /// End of valid WAL: where the next record goes.
    pub end: u64,
    /// Why reading stopped there (after a crash: usually a zero record
    /// length; a damaged record names its LSN).
    pub end_reason: Option<String>,
    /// "redo in progress" lines logged (log_startup_progress_interval).
    pub progress_reports: u64,
    pub next_xid: u64,
    pub next_oid: u32,
}

/// The startup process's WAL work. Finds the checkpoint record pg_control
/// points at; after an unclean stop (`crashed`) replays every record from
/// the checkpoint's redo pointer to the end of valid WAL, logging
/// PostgreSQL's "redo starts at" / "redo done at" lines; zeroes whatever
/// follows the end; and opens the WAL for insertion there. Startup
/// process only. Commit and abort records only move the next xid; the
/// server replays them into the commit log with [`startup_with`].
pub fn startup<P: LwProcs>(
    xlog: &Xlog<P>,
    c: &ControlFileData,
    crashed: bool,
) -> Result<RecoveryResult, XlogError> {
    startup_with(xlog, c, crashed, None)
}

/// [`startup`], handing every replayed commit and abort to `xact` (which
/// sets the commit log and the xid counter). Startup process only.
pub fn startup_with<P: LwProcs>(
    xlog: &Xlog<P>,
    c: &ControlFileData,
    crashed: bool,
    xact: Option<&dyn crate::xactwal::XactRedo>,
) -> Result<RecoveryResult, XlogError> {
    startup_redo(xlog, c, crashed, xact, None)
}

/// [`startup_with`], replaying heap and storage records through `bufmgr`
/// (the startup process's buffer manager; the end-of-recovery checkpoint
/// writes the pages back). Startup process only.
pub fn startup_redo<P: LwProcs>(
    xlog: &Xlog<P>,
    c: &ControlFileData,
    crashed: bool,
    xact: Option<&dyn crate::xactwal::XactRedo>,
    bufmgr: Option<&crate::bufmgr::BufMgr>,
) -> Result<RecoveryResult, XlogError> {
    let seg_size = c.xlog_seg_size as u64;
    let tli = c.checkpoint_copy.this_timeline;
    let sysid = c.system_identifier;
    let ck_lsn = c.checkpoint;
    let redo = c.checkpoint_copy.redo;
    let no_checkpoint = || {
        XlogError::corrupt(format!(
            "could not locate a valid checkpoint record at {}",
            lsn_str(ck_lsn)
        ))
    };
    if ck_lsn == 0 {
        return Err(no_checkpoint());
    }
    let dir = &xlog.wal_dir;
    // The checkpoint record itself must be there and valid.
    let mut ck_rec = None;
    let first = scan(dir, tli, sysid, seg_size, ck_lsn, None, |r| {
        ck_rec = Some(r);
        Ok(false)
    })?;
    let Some(ck_rec) = ck_rec else {
        let why = first.why.map(|e| e.message).unwrap_or_default();
        return Err(XlogError::corrupt(format!(
            "{}: {why}",
            no_checkpoint().message
        )));
    };
    if ck_rec.record.rmid != RM_XLOG_ID
        || !matches!(
            ck_rec.record.info & 0xF0,
            XLOG_CHECKPOINT_SHUTDOWN | XLOG_CHECKPOINT_ONLINE
        )
    {
        return Err(XlogError::corrupt(format!(
            "invalid xl_info in checkpoint record at {}",
            lsn_str(ck_lsn)
        )));
    }
    let mut ctx = RedoCtx {
        next_xid: c.checkpoint_copy.next_xid,
        next_oid: c.checkpoint_copy.next_oid,
        records: 0,
        xact,
        bufmgr,
        fork_sizes: Default::default(),
        invalid_pages: Default::default(),
    };
    // From where to read on: the redo pointer if it lies before the
    // checkpoint record, else the record after the checkpoint.
    let (from, prev) = if crashed && redo < ck_lsn {
        (redo, None)
    } else {
        (maxalign(ck_rec.end_lsn), Some(ck_lsn))
    };
    let mut redo_start = None;
    let began = std::time::Instant::now();
    // PostgreSQL 15's ereport_startup_progress: a line every interval
    // while redo runs, with the LSN reached.
    let interval = std::time::Duration::from_millis(xlog.cfg.get().startup_progress_interval_ms);
    let mut next_report = began + interval;
    let mut progress_reports = 0;
    let end = scan(dir, tli, sysid, seg_size, from, prev, |rec| {
        if !crashed {
            // Clean shutdown: the checkpoint is the last record. Anything
            // after it is not ours to replay.
            return Ok(false);
        }
        if redo_start.is_none() {
            elog::log(format!("redo starts at {}", lsn_str(rec.lsn)));
            redo_start = Some(rec.lsn);
        }
        if !interval.is_zero() {
            let now = std::time::Instant::now();
            if now >= next_report {
                let e = now.duration_since(began);
                elog::log(format!(
                    "redo in progress, elapsed time: {}.{:02} s, current LSN: {}",
                    e.as_secs(),
                    e.subsec_millis() / 10,
                    lsn_str(rec.lsn)
                ));
                progress_reports += 1;
                next_report = now + interval;
            }
        }
        let rm = rmgr(rec.record.rmid).ok_or_else(|| {
            XlogError::corrupt(format!(
                "resource manager {} does not exist at {}",
                rec.record.rmid,
                lsn_str(rec.lsn)
            ))
        })?;
        // Every record's xid is assigned (PostgreSQL advances nextXid past
        // each xl_xid during replay).
        if rec.record.xid != 0 {
            ctx.next_xid = ctx.next_xid.max(rec.record.xid + 1);
        }
        (rm.redo)(&rec, &mut ctx).map_err(|m| {
            XlogError::corrupt(format!(
                "{m} (redo of {} record at {})",
                rm.name,
                lsn_str(rec.lsn)
            ))
        })?;
        ctx.records += 1;
        Ok(true)
    })?;
    // Pages that were needed and never excused by a later truncation or
    // unlink: the WAL and the files disagree (PostgreSQL PANICs here).
    if let Some(((rel, fork, blk), zero)) = ctx.invalid_pages.iter().next() {
        for ((rel, fork, blk), zero) in ctx.invalid_pages.iter().take(10) {
            elog::warning(format!(
                "page {blk} of relation {} {}",
                crate::smgr::relpath(*rel, *fork),
                if *zero {
                    "is uninitialized"
                } else {
                    "does not exist"
                }
            ));
        }
        return Err(XlogError::corrupt(format!(
            "WAL contains references to invalid pages (the first: page {blk} of relation {} {})",
            crate::smgr::relpath(*rel, *fork),
            if *zero {
                "is uninitialized"
            } else {
                "does not exist"
            }
        )));
    }
    let last_replayed = if crashed { end.last } else { None };
    if crashed {
        if let Some(e) = &end.why {
            // PostgreSQL logs why it stopped (usually a zero length).
            elog::log(e.message.clone());
        }
        match last_replayed {
            Some(l) => {
                let u = began.elapsed().as_secs_f64();
                elog::log(format!(
                    "redo done at {} system usage: CPU: user: {u:.2} s, system: 0.00 s, elapsed: {u:.2} s",
                    lsn_str(l)
                ));
            }
            None => elog::log("redo is not required"),
        }
    }
    // Replay from the redo pointer must get past the checkpoint record;
    // stopping before it would zero the checkpoint itself (PostgreSQL
    // PANICs here too).
    if end.next <= ck_lsn {
        return Err(XlogError::corrupt(format!(
            "could not find redo location {} referenced by checkpoint record at {}: {}",
            lsn_str(redo),
            lsn_str(ck_lsn),
            end.why.map(|e| e.message).unwrap_or_default()
        )));
    }
    // The next record's back-pointer: the last record read, or the
    // checkpoint if nothing followed it.
    let last = end.last.unwrap_or(ck_lsn);
    // Zeroes after the end: a dead tail's records must never be read
    // again.
    zero_after(dir, tli, end.next, seg_size, xlog.cfg.get().fsync)?;
    xlog.begin(sysid, tli, seg_size, end.next, last, &end.tail);
    // Images are taken against the last checkpoint's redo pointer until
    // the next checkpoint (the end-of-recovery one) chooses a new one.
    xlog.ctl().redo_rec_ptr.store(redo, Ordering::Release);
    Ok(RecoveryResult {
        replayed: ctx.records,
        redo_start,
        last_record: last_replayed,
        end: end.next,
        end_reason: end.why.map(|e| e.message),
        progress_reports,
        next_xid: ctx.next_xid,
        next_oid: ctx.next_oid,
    })
}

/// Zeroes the segment holding `end` from `end` on and removes every later
/// segment file: WAL after the end of valid data is never read again.
fn zero_after(
    wal_dir: &Path,
    tli: u32,
    end: u64,
    seg_size: u64,
    fsync: bool,
) -> Result<(), XlogError> {
    let segno = segno_of(end, seg_size);
    let path = wal_dir.join(wal_file_name(tli, segno, seg_size));
    let off = end % seg_size;
    if let Ok(f) = OpenOptions::new().write(true).open(&path) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len > off {
            let zeros = vec![0u8; 64 * 1024];
            let mut at = off;
            while at < len {
                let n = (len - at).min(zeros.len() as u64) as usize;
                f.write_all_at(&zeros[..n], at).map_err(|e| {
                    XlogError::io(format!("could not write file \"{}\"", path.display()), e)
                })?;
                at += n as u64;
            }
            if fsync {
                f.sync_all().map_err(|e| {
                    XlogError::io(format!("could not fsync file \"{}\"", path.display()), e)
                })?;
            }
        }
    }
    if let Ok(dir) = std::fs::read_dir(wal_dir) {
        for ent in dir.flatten() {
            let name = ent.file_name();
            if let Some((t, s)) = name
                .to_str()
                .and_then(|n| crate::wal::parse_wal_file_name(n, seg_size))
            {
                if t == tli && s > segno {
                    let _ = std::fs::remove_file(ent.path());
                }
            }
        }
    }
    Ok(())
}

/// Kinds of checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointKind {
    /// While the server runs (CHECKPOINT, timed).
    Online,
    /// At shutdown: nothing else writes WAL; the cluster is marked shut
    /// down.
    Shutdown,
    /// At the end of crash recovery (a shutdown-type record, as
    /// PostgreSQL writes; the state is left to the caller).
    EndOfRecovery,
}

/// Writes a checkpoint record (its redo pointer, timeline, next xid and
/// next oid from pg_control's shared copy), flushes it, and points
/// pg_control at it. Returns the record's LSN. Checkpointer, or the
/// startup process for the end-of-recovery checkpoint.
///
/// `write_buffers` is the buffer manager's part (the server passes
/// `BufMgr::flush_all_dirty`, which writes every dirty buffer and fsyncs
/// the files written since the last checkpoint): it runs after the redo
/// pointer is chosen and before the record is inserted, so that every
/// change older than the redo pointer is on disk once the record is, and
/// recovery from that pointer misses none. A closure rather than the
/// buffer manager itself keeps this module free of resource owners; a
/// failure aborts the checkpoint before pg_control changes.
pub fn create_checkpoint<P: LwProcs, Q: LwProcs>(
    xlog: &Xlog<P>,
    w: &PgControlWriter<Q>,
    kind: CheckpointKind,
    write_buffers: &mut dyn FnMut() -> Result<(), XlogError>,
) -> Result<u64, XlogError> {
    let c = w.load()?;
    let now = tusk_common::time::now_micros() / 1_000_000;
    let mut ck = c.checkpoint_copy;
    ck.time = now;
    ck.redo = xlog.redo_point();
    write_buffers()?;
    // The next xid as of the redo pointer or later (the server's
    // `write_buffers` stores it in pg_control's copy after choosing the
    // pointer): an xid assigned before the pointer whose records all lie
    // before it is not seen by replay, so the record must count it.
    // The OID counter likewise (the copy holds next_oid plus the range
    // WAL covers; a wrapped counter is smaller, so no max).
    let after = w.load()?.checkpoint_copy;
    ck.next_xid = ck.next_xid.max(after.next_xid);
    ck.next_oid = after.next_oid;
    if kind == CheckpointKind::Online {
        let mut d = Vec::with_capacity(16);
        d.extend_from_slice(&ck.next_xid.to_le_bytes());
        d.extend_from_slice(&ck.next_xid.to_le_bytes());
        xlog.xlog_insert(RM_STANDBY_ID, XLOG_RUNNING_XACTS, 0, &d, vec![])?;
    }
    let info = if kind == CheckpointKind::Online {
        XLOG_CHECKPOINT_ONLINE
    } else {
        XLOG_CHECKPOINT_SHUTDOWN
    };
    let (lsn, end) = xlog.insert_record(&Record {
        rmid: RM_XLOG_ID,
        info,
        xid: 0,
        blocks: vec![],
        main_data: checkpoint_bytes(&ck).to_vec(),
    })?;
    xlog.flush(end)?;
    w.update(|c| {
        c.checkpoint = lsn;
        c.checkpoint_copy = ck;
        c.time = now;
        if kind == CheckpointKind::Shutdown {
            c.set_state(crate::control::DbState::Shutdowned);
        }
    })?;
    Ok(lsn)
}

#[cfg(test)]
mod tests;
