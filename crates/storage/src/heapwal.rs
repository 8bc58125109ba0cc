//! The heap and storage resource managers: WAL records for heap inserts, deletes, updates and pruning, for creating and truncating relation forks, their redo through shared buffers, and full-page images.
//!
//! Why this shape (PostgreSQL's heapam_xlog.c / storage.c, with record
//! bodies of tusk's own):
//!
//! - **The logger reads the page.** [`XlogHeapWal`] is called by heapam
//!   under the page's exclusive content lock, after the change and before
//!   the page LSN is set. It copies the changed tuple's header fields
//!   (xmax, cid, infomask, infomask2) and the new tuple from the page, so
//!   redo reproduces exactly what heapam wrote, hint-free.
//! - **Full-page images** (PostgreSQL's rule): a page whose LSN is at or
//!   below the redo pointer of the last checkpoint ([`Xlog::redo_rec_ptr`])
//!   is logged whole with its first change after that checkpoint, when
//!   `full_page_writes` is on. A write of that page torn by a crash is then
//!   harmless: redo from the checkpoint restores the image before any
//!   record applies to it. The free space between pd_lower and pd_upper is
//!   left out of the image (the hole, [`BlockImage::of_page`]); a block
//!   with an image carries no other data. The decision is made against the
//!   redo pointer read without a lock; [`Xlog::insert_record_fpw`] checks
//!   it again under the insertion lock and the record is built again if a
//!   checkpoint moved it meanwhile (PostgreSQL's retry in XLogInsert).
//!   Pages that a record initialises (`will_init`) need no image.
//! - **Redo through shared buffers** (PostgreSQL's way): the startup
//!   process replays into its buffer pool ([`RedoCtx::bufmgr`]), so a
//!   change already applied stays in memory for the next record on that
//!   page, and the end-of-recovery checkpoint writes everything back with
//!   the same WAL-before-data rule as normal running. A block restored
//!   from an image or initialised by its record is read in "zero" mode
//!   (a torn or damaged block on disk is never read then); any other
//!   block is read and verified (checksum) normally.
//! - **Idempotent by page LSN.** A page's LSN is the end of the last
//!   record applied to it. Redo applies a record to a page only when the
//!   page's LSN is below the record's end, so replaying the same WAL again
//!   (a crash during recovery) changes nothing twice. Images and
//!   page-initialising records are applied regardless: they do not depend
//!   on the old content.
//! - **Missing files and blocks.** A block beyond the end of its fork (a
//!   relation created after the checkpoint, or blocks added and lost in
//!   the crash) is added as zeroes first ([`BufMgr::extend_to`]), which
//!   only an image or an initialising record can fill. A record that needs
//!   the old content of a block that does not exist (or is all zero) is
//!   skipped and the block remembered ([`RedoCtx::invalid_pages`],
//!   PostgreSQL's invalid-page table): a later TRUNCATE or UNLINK of the
//!   relation excuses it (the relation was dropped or cut after that
//!   change), and any left at the end of redo fail recovery with
//!   "WAL contains references to invalid pages".
//!
//! Who may call what: [`XlogHeapWal`]'s methods, any process changing heap
//! pages (a backend), under the page's exclusive content lock; the redo
//! functions, the startup process only (entries of [`crate::xlog::RMGRS`]).
//!
//! ```text
//! Heap (rmgr 10). xl_xid = the changing transaction. Little endian.
//! INSERT (info 0x00, | 0x80 INIT_PAGE when block 0 is initialised first:
//!   the page was new, or the tuple is its only line pointer)
//!   block 0: the page; data = the whole tuple as stored (header + body)
//!   main:  off size field
//!            0    2 offnum      line pointer of the new tuple
//!            2    2 (zero)
//! DELETE (info 0x10)
//!   block 0: the page, no data
//!   main:    0    2 offnum      the deleted tuple
//!            2    2 (zero)
//!            4   28 old-tuple fields (below): the tuple after the delete
//! UPDATE (info 0x20) / HOT_UPDATE (info 0x40), | 0x80 INIT_PAGE
//!   block 0: the new tuple's page; data = the new tuple as stored
//!   block 1: the old tuple's page (absent when it is block 0: HOT)
//!   main:    0    2 old_offnum
//!            2    2 new_offnum
//!            4   28 old-tuple fields (below): the old tuple after the
//!                   update; its t_ctid becomes (block 0, new_offnum)
//! LOCK (info 0x60, PostgreSQL's XLOG_HEAP_LOCK; rowlock.rs)
//!   block 0: the page, no data
//!   main:    0    2 offnum      the locked tuple
//!            2    2 (zero)
//!            4   28 old-tuple fields (below): the tuple after the lock
//!                   (lock-only xmax = the locker, its mode bits)
//! old-tuple fields (at offset 4 of DELETE, UPDATE and LOCK):
//!            4    2 infomask         t_infomask
//!            6    2 infomask2        t_infomask2 (HOT_UPDATED or not)
//!            8    8 xmax             64-bit
//!           16    4 cid              t_cid (cmax)
//!           20    4 (zero)
//!           24    8 prune_xid        the page's prune hint after
//!           32                       (size of either record's main data)
//! Heap2 (rmgr 9)
//! PRUNE (info 0x10)
//!   block 0: the page; data = nredirected × (from u16, to u16),
//!            ndead × u16, nunused × u16
//!   main:    0    2 nredirected
//!            2    2 ndead
//!            4    2 nunused
//!            6    2 (zero)
//!            8    8 prune_xid        the page's prune hint after pruning
//!   redo: the same line-pointer changes, then defragmentation;
//!   PD_PAGE_FULL cleared
//! MULTI_INSERT (info 0x50, | 0x80 INIT_PAGE when block 0 is initialised
//!   first: the page was new, or it holds only these tuples at 1..=n;
//!   PostgreSQL's XLOG_HEAP2_MULTI_INSERT, written by heap_multi_insert)
//!   block 0: the page; data = ntuples × (len u16, the tuple as stored)
//!   main:    0    2 ntuples
//!            2    2 (zero)
//!            4  2×n offnum of each tuple, in the order of the data
//! XLOG (rmgr 0) FPI_FOR_HINT (info 0xA0): block 0 with an image, no data,
//!   no main data: a page whose first change since the checkpoint was a
//!   hint (pruning that only reset the prune hint or PD_PAGE_FULL)
//! XLOG (rmgr 0) FPI (info 0xB0): the same shape: a page written from
//!   scratch (VACUUM FULL's new relation), the block extended on redo
//! Storage (rmgr 2)
//! CREATE (info 0x10)
//!   main:    0    4 spcOid   4 4 dbOid   8 4 relNumber   12 4 fork
//! TRUNCATE (info 0x20)
//!   main:    0    4 nblocks (new length)   4 4 spcOid   8 4 dbOid
//!           12    4 relNumber   16 4 fork
//! UNLINK (info 0x30, tusk's own): every fork of the relation removed
//!   main:    0    4 spcOid   4 4 dbOid   8 4 relNumber
//! A block with a full-page image (BKPBLOCK_HAS_IMAGE) carries no data;
//! redo restores the image and sets the page LSN to the record's end.
//! ```

use tusk_common::{elog, PgError, Severity};

use crate::bufmgr::{BufMgr, ReadMode};
use crate::heapam::{HeapWal, Lsn, Xid};
use crate::heaptuple::{self, ItemPointer, MAX_HEAP_TUPLES_PER_PAGE};
use crate::lwlock::{LwMode, LwProcs};
use crate::page::{self, AddAt, PageBuf, PD_PAGE_FULL};
use crate::smgr::{BlockNumber, Fork, RelFileLocator};
use crate::wal::{
    lsn_str, maxalign, BlockImage, BlockRef, DecodedRecord, Record, RM_HEAP2_ID, RM_HEAP_ID,
    RM_SMGR_ID, RM_XLOG_ID,
};
use crate::xact::{Release, ResourceOwner};
use crate::xlog::{RedoCtx, Xlog, XlogError};

/// Heap record types (PostgreSQL's values).
pub const XLOG_HEAP_INSERT: u8 = 0x00;
pub const XLOG_HEAP_DELETE: u8 = 0x10;
pub const XLOG_HEAP_UPDATE: u8 = 0x20;
pub const XLOG_HEAP_HOT_UPDATE: u8 = 0x40;
/// A row lock (SELECT FOR UPDATE/SHARE; PostgreSQL's XLOG_HEAP_LOCK).
pub const XLOG_HEAP_LOCK: u8 = 0x60;
/// The record's block 0 starts from a freshly initialised page.
pub const XLOG_HEAP_INIT_PAGE: u8 = 0x80;
pub const XLOG_HEAP_OPMASK: u8 = 0x70;
/// Heap2 record type of pruning (PostgreSQL's XLOG_HEAP2_PRUNE).
pub const XLOG_HEAP2_PRUNE: u8 = 0x10;
/// Heap2 record type of many tuples added to one page (PostgreSQL's
/// XLOG_HEAP2_MULTI_INSERT); may carry [`XLOG_HEAP_INIT_PAGE`].
pub const XLOG_HEAP2_MULTI_INSERT: u8 = 0x50;
/// XLOG record type of a page image logged because only hints changed
/// (PostgreSQL's value); replayed by [`fpi_redo`].
pub const XLOG_FPI_FOR_HINT: u8 = 0xA0;
/// XLOG record type of the image of a page written from scratch
/// (PostgreSQL's XLOG_FPI, its log_newpage): VACUUM FULL's new pages.
/// Replayed by [`fpi_redo`] like XLOG_FPI_FOR_HINT: one mechanism.
pub const XLOG_FPI: u8 = 0xB0;
/// Storage record types (PostgreSQL's).
pub const XLOG_SMGR_CREATE: u8 = 0x10;
pub const XLOG_SMGR_TRUNCATE: u8 = 0x20;
/// tusk's own: every fork of a dropped relation is removed (PostgreSQL
/// lists dropped relations in the commit record instead).
pub const XLOG_SMGR_UNLINK: u8 = 0x30;

const SIZE_OF_DELETE: usize = 32;
const SIZE_OF_UPDATE: usize = 32;
const SIZE_OF_PRUNE: usize = 16;

/// [`HeapWal`] over this process's WAL handle: what a backend passes to
/// [`crate::heapam::HeapRel::new`]. Inserting WAL cannot fail once the
/// page changed: a failure is a PANIC (the process aborts and the
/// postmaster reinitialises; recovery replays what reached the WAL).
pub struct XlogHeapWal<'a, P: LwProcs>(pub &'a Xlog<P>);

/// One block a record is about to log (also used by nbtree's records).
pub(crate) struct Blk<'p> {
    pub id: u8,
    pub rel: RelFileLocator,
    pub blkno: BlockNumber,
    pub page: &'p PageBuf,
    pub will_init: bool,
    /// Log the whole page whatever the full-page-write rule says (B-tree
    /// splits and new pages are logged as images).
    pub force_image: bool,
    pub data: Vec<u8>,
}

fn put16(d: &mut Vec<u8>, v: u16) {
    d.extend_from_slice(&v.to_le_bytes());
}
fn put32(d: &mut Vec<u8>, v: u32) {
    d.extend_from_slice(&v.to_le_bytes());
}
fn put64(d: &mut Vec<u8>, v: u64) {
    d.extend_from_slice(&v.to_le_bytes());
}
fn get16(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(d[at..at + 2].try_into().unwrap())
}
fn get32(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}
fn get64(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}

/// The header fields a delete or update leaves on the old tuple, as the
/// records carry them (28 bytes): infomask, infomask2, xmax, cid, 0,
/// prune_xid.
fn old_tuple_fields(d: &mut Vec<u8>, page: &PageBuf, off: u16) {
    let t = page::get_item(page, off).expect("heapam logs a tuple it just changed");
    put16(d, heaptuple::infomask(t));
    put16(d, heaptuple::infomask2(t));
    put64(d, heaptuple::xmax(t));
    put32(d, heaptuple::cid(t));
    put32(d, 0);
    put64(d, heaptuple::page_prune_xid(page));
}

/// Is the tuple at `off` the page's only line pointer? Then redo may
/// start from an empty page (PostgreSQL sets XLOG_HEAP_INIT_PAGE in this
/// case too): no image is needed, and a page that another backend
/// initialised but never logged is rebuilt from the record alone.
fn only_tuple(page: &PageBuf, off: u16) -> bool {
    off == 1 && page::max_offset(page) == 1
}

fn panic_on(e: XlogError) -> ! {
    elog::report(&e.to_pg_error(Severity::Panic));
    std::process::abort();
}

impl<P: LwProcs> XlogHeapWal<'_, P> {
    /// Inserts a record logging `blocks`, with full-page images where the
    /// rule asks for them, and returns its end LSN. Retries when a
    /// checkpoint moved the redo pointer between the decision and the
    /// insertion. Caller: the process holding the pages' content locks.
    pub(crate) fn log(
        &self,
        rmid: u8,
        info: u8,
        xid: Xid,
        main: Vec<u8>,
        blocks: Vec<Blk<'_>>,
    ) -> Lsn {
        let x = self.0;
        let mut blocks = blocks;
        let mut rec = Record {
            rmid,
            info,
            xid,
            blocks: Vec::with_capacity(blocks.len()),
            main_data: main,
        };
        loop {
            let redo = x.redo_rec_ptr();
            let fpw = x.full_page_writes();
            let mut fpw_lsn: Option<u64> = None;
            // A retry (the redo pointer moved) gets back the data moved
            // into the record: the data is moved, not copied, once per row.
            for (b, r) in blocks.iter_mut().zip(rec.blocks.drain(..)) {
                if !r.data.is_empty() {
                    b.data = r.data;
                }
            }
            for b in &mut blocks {
                let lsn = page::lsn(b.page);
                let image = b.force_image || (fpw && !b.will_init && lsn <= redo);
                if !image && !b.will_init {
                    fpw_lsn = Some(fpw_lsn.map_or(lsn, |m: u64| m.min(lsn)));
                }
                rec.blocks.push(BlockRef {
                    id: b.id,
                    rel: b.rel,
                    fork: Fork::Main,
                    blkno: b.blkno,
                    will_init: b.will_init,
                    image: image.then(|| BlockImage::of_page(b.page, true)),
                    data: if image {
                        Vec::new()
                    } else {
                        std::mem::take(&mut b.data)
                    },
                });
            }
            match x.insert_record_fpw(&rec, fpw_lsn) {
                Ok(Some((_, end))) => return end,
                Ok(None) => continue,
                Err(e) => panic_on(e),
            }
        }
    }

    /// Logs that `nblocks` is the fork's new length (PostgreSQL's
    /// XLOG_SMGR_TRUNCATE) and flushes it: the caller truncates the file
    /// only afterwards, since a truncation that reached disk before its
    /// record could not be replayed over (later WAL for the cut blocks
    /// would rebuild them). Any process about to truncate a relation.
    pub fn log_smgr_truncate(
        &self,
        rel: RelFileLocator,
        fork: Fork,
        nblocks: BlockNumber,
    ) -> Result<Lsn, PgError> {
        let mut d = Vec::with_capacity(20);
        put32(&mut d, nblocks);
        put32(&mut d, rel.spc);
        put32(&mut d, rel.db);
        put32(&mut d, rel.rel);
        put32(&mut d, fork as u32);
        let end = self
            .0
            .xlog_insert(RM_SMGR_ID, XLOG_SMGR_TRUNCATE, 0, &d, vec![])
            .map_err(|e| e.to_pg_error(Severity::Error))?;
        self.0
            .flush(end)
            .map_err(|e| e.to_pg_error(Severity::Error))?;
        Ok(end)
    }
}

impl<P: LwProcs> XlogHeapWal<'_, P> {
    /// Logs that every fork of `rel` is being removed (DROP TABLE at
    /// commit, after the commit record) and flushes it; the caller then
    /// drops the relation's buffers and unlinks its files. Redo removes
    /// the files again — pages that replay recreated from images before
    /// the record included — and excuses records of the relation that
    /// found its blocks missing. A crash between the commit record and
    /// this one leaves the files behind (orphans, never wrong data).
    /// Any process about to remove a relation's files.
    pub fn log_smgr_unlink(&self, rel: RelFileLocator) -> Result<Lsn, PgError> {
        let mut d = Vec::with_capacity(12);
        put32(&mut d, rel.spc);
        put32(&mut d, rel.db);
        put32(&mut d, rel.rel);
        let end = self
            .0
            .xlog_insert(RM_SMGR_ID, XLOG_SMGR_UNLINK, 0, &d, vec![])
            .map_err(|e| e.to_pg_error(Severity::Error))?;
        self.0
            .flush(end)
            .map_err(|e| e.to_pg_error(Severity::Error))?;
        Ok(end)
    }
}

/// Vacuum's records over the same WAL handle: truncation is the storage
/// rmgr's XLOG_SMGR_TRUNCATE ([`XlogHeapWal::log_smgr_truncate`]), a new
/// page is an XLOG_FPI image; both are replayed by the rmgr redo
/// (`smgr_redo`, `fpi_redo`). Called by the backend running VACUUM.
impl<P: LwProcs> crate::vacuum::VacuumWal for XlogHeapWal<'_, P> {
    fn log_truncate(&self, rel: RelFileLocator, nblocks: BlockNumber) -> Result<Lsn, PgError> {
        self.log_smgr_truncate(rel, Fork::Main, nblocks)
    }

    fn log_new_page(
        &self,
        rel: RelFileLocator,
        fork: Fork,
        block: BlockNumber,
        page: &PageBuf,
    ) -> Lsn {
        // Always an image, whatever full_page_writes says: the page exists
        // nowhere else (PostgreSQL's log_newpage).
        let rec = Record {
            rmid: RM_XLOG_ID,
            info: XLOG_FPI,
            xid: 0,
            blocks: vec![BlockRef {
                id: 0,
                rel,
                fork,
                blkno: block,
                will_init: false,
                image: Some(BlockImage::of_page(page, true)),
                data: Vec::new(),
            }],
            main_data: Vec::new(),
        };
        match self.0.insert_record(&rec) {
            Ok((_, end)) => end,
            Err(e) => panic_on(e),
        }
    }
}

impl<P: LwProcs> HeapWal for XlogHeapWal<'_, P> {
    fn log_heap_insert(
        &self,
        rel: RelFileLocator,
        page: &PageBuf,
        tid: ItemPointer,
        init_page: bool,
        _tuple: &[u8],
    ) -> Lsn {
        let t = page::get_item(page, tid.offset).expect("heapam logs the tuple it added");
        let init_page = init_page || only_tuple(page, tid.offset);
        let mut main = Vec::with_capacity(4);
        put16(&mut main, tid.offset);
        put16(&mut main, 0);
        let info = XLOG_HEAP_INSERT | if init_page { XLOG_HEAP_INIT_PAGE } else { 0 };
        let blk = Blk {
            id: 0,
            rel,
            blkno: tid.block,
            page,
            will_init: init_page,
            force_image: false,
            data: t.to_vec(),
        };
        self.log(RM_HEAP_ID, info, heaptuple::xmin(t), main, vec![blk])
    }

    fn log_heap_multi_insert(
        &self,
        rel: RelFileLocator,
        page: &PageBuf,
        block: BlockNumber,
        offsets: &[u16],
        init_page: bool,
    ) -> Lsn {
        // Redo may start from an empty page when the page holds exactly
        // these tuples at 1..=n (as only_tuple for one insert).
        let init_page = init_page
            || (page::max_offset(page) as usize == offsets.len()
                && offsets
                    .iter()
                    .enumerate()
                    .all(|(i, &o)| o as usize == i + 1));
        let mut main = Vec::with_capacity(4 + 2 * offsets.len());
        put16(&mut main, offsets.len() as u16);
        put16(&mut main, 0);
        let mut data = Vec::new();
        let mut xid = 0;
        for &o in offsets {
            put16(&mut main, o);
            let t = page::get_item(page, o).expect("heapam logs the tuples it added");
            xid = heaptuple::xmin(t);
            put16(&mut data, t.len() as u16);
            data.extend_from_slice(t);
        }
        let info = XLOG_HEAP2_MULTI_INSERT | if init_page { XLOG_HEAP_INIT_PAGE } else { 0 };
        let blk = Blk {
            id: 0,
            rel,
            blkno: block,
            page,
            will_init: init_page,
            force_image: false,
            data,
        };
        self.log(RM_HEAP2_ID, info, xid, main, vec![blk])
    }

    fn log_heap_delete(
        &self,
        rel: RelFileLocator,
        page: &PageBuf,
        tid: ItemPointer,
        xid: Xid,
        _infomask: u16,
    ) -> Lsn {
        let mut main = Vec::with_capacity(SIZE_OF_DELETE);
        put16(&mut main, tid.offset);
        put16(&mut main, 0);
        old_tuple_fields(&mut main, page, tid.offset);
        let blk = Blk {
            id: 0,
            rel,
            blkno: tid.block,
            page,
            will_init: false,
            force_image: false,
            data: Vec::new(),
        };
        self.log(RM_HEAP_ID, XLOG_HEAP_DELETE, xid, main, vec![blk])
    }

    fn log_heap_lock(
        &self,
        rel: RelFileLocator,
        page: &PageBuf,
        tid: ItemPointer,
        xid: Xid,
    ) -> Lsn {
        let mut main = Vec::with_capacity(SIZE_OF_DELETE);
        put16(&mut main, tid.offset);
        put16(&mut main, 0);
        old_tuple_fields(&mut main, page, tid.offset);
        let blk = Blk {
            id: 0,
            rel,
            blkno: tid.block,
            page,
            will_init: false,
            force_image: false,
            data: Vec::new(),
        };
        self.log(RM_HEAP_ID, XLOG_HEAP_LOCK, xid, main, vec![blk])
    }

    fn log_heap_update(
        &self,
        rel: RelFileLocator,
        old_page: &PageBuf,
        new_page: Option<&PageBuf>,
        old: ItemPointer,
        new: ItemPointer,
        hot: bool,
        init_page: bool,
        _tuple: &[u8],
    ) -> Lsn {
        let np = new_page.unwrap_or(old_page);
        let t = page::get_item(np, new.offset).expect("heapam logs the tuple it added");
        let init_page = init_page || (new_page.is_some() && only_tuple(np, new.offset));
        let xid = heaptuple::xmin(t);
        let mut main = Vec::with_capacity(SIZE_OF_UPDATE);
        put16(&mut main, old.offset);
        put16(&mut main, new.offset);
        old_tuple_fields(&mut main, old_page, old.offset);
        let mut blocks = vec![Blk {
            id: 0,
            rel,
            blkno: new.block,
            page: np,
            will_init: init_page,
            force_image: false,
            data: t.to_vec(),
        }];
        if new.block != old.block {
            blocks.push(Blk {
                id: 1,
                rel,
                blkno: old.block,
                page: old_page,
                will_init: false,
                force_image: false,
                data: Vec::new(),
            });
        }
        let op = if hot {
            XLOG_HEAP_HOT_UPDATE
        } else {
            XLOG_HEAP_UPDATE
        };
        let info = op | if init_page { XLOG_HEAP_INIT_PAGE } else { 0 };
        self.log(RM_HEAP_ID, info, xid, main, blocks)
    }

    fn log_heap_prune(
        &self,
        rel: RelFileLocator,
        page: &PageBuf,
        block: BlockNumber,
        redirected: &[(u16, u16)],
        dead: &[u16],
        unused: &[u16],
    ) -> Lsn {
        let mut main = Vec::with_capacity(SIZE_OF_PRUNE);
        put16(&mut main, redirected.len() as u16);
        put16(&mut main, dead.len() as u16);
        put16(&mut main, unused.len() as u16);
        put16(&mut main, 0);
        put64(&mut main, heaptuple::page_prune_xid(page));
        let mut data = Vec::with_capacity(4 * redirected.len() + 2 * (dead.len() + unused.len()));
        for &(from, to) in redirected {
            put16(&mut data, from);
            put16(&mut data, to);
        }
        for &o in dead.iter().chain(unused) {
            put16(&mut data, o);
        }
        let blk = Blk {
            id: 0,
            rel,
            blkno: block,
            page,
            will_init: false,
            force_image: false,
            data,
        };
        self.log(RM_HEAP2_ID, XLOG_HEAP2_PRUNE, 0, main, vec![blk])
    }

    fn log_hint(&self, rel: RelFileLocator, page: &PageBuf, block: BlockNumber) -> Lsn {
        let x = self.0;
        if !x.full_page_writes() || page::lsn(page) > x.redo_rec_ptr() {
            return 0;
        }
        // Always an image, so a checkpoint moving the redo pointer
        // meanwhile cannot make it insufficient: no retry.
        let rec = Record {
            rmid: RM_XLOG_ID,
            info: XLOG_FPI_FOR_HINT,
            xid: 0,
            blocks: vec![BlockRef {
                id: 0,
                rel,
                fork: Fork::Main,
                blkno: block,
                will_init: false,
                image: Some(BlockImage::of_page(page, true)),
                data: Vec::new(),
            }],
            main_data: Vec::new(),
        };
        match x.insert_record(&rec) {
            Ok((_, end)) => end,
            Err(e) => panic_on(e),
        }
    }

    fn log_smgr_create(&self, rel: RelFileLocator, fork: Fork) -> Lsn {
        let mut d = Vec::with_capacity(16);
        put32(&mut d, rel.spc);
        put32(&mut d, rel.db);
        put32(&mut d, rel.rel);
        put32(&mut d, fork as u32);
        match self
            .0
            .xlog_insert(RM_SMGR_ID, XLOG_SMGR_CREATE, 0, &d, vec![])
        {
            Ok(end) => end,
            Err(e) => panic_on(e),
        }
    }
}

// ---------------------------------------------------------------------------
// Redo (startup process only)
// ---------------------------------------------------------------------------

fn bufmgr<'a>(ctx: &RedoCtx<'a>) -> Result<&'a BufMgr, String> {
    ctx.bufmgr
        .ok_or_else(|| "heap and storage redo need the buffer pool".to_string())
}

fn pg(e: PgError) -> String {
    match e.detail {
        Some(d) => format!("{}: {d}", e.message),
        None => e.message,
    }
}

/// What happened to a block in redo (PostgreSQL's XLogRedoAction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockAction {
    /// Restored from the record's full-page image.
    Restored,
    /// The page already had this change (its LSN is not older).
    Done,
    /// The change was applied.
    Applied,
    /// The block does not exist or is all zero and the record needs its
    /// old content: skipped and remembered in [`RedoCtx::invalid_pages`].
    Invalid,
}

/// Replays the record's change to block `id`: restores its image, or
/// (when the page does not have the change yet) runs `apply` on the page
/// — after initialising it for a `will_init` block — then sets the page
/// LSN to the record's end and marks the buffer dirty. Startup process.
pub fn redo_block(
    ctx: &mut RedoCtx<'_>,
    r: &DecodedRecord,
    id: u8,
    apply: impl FnOnce(&mut PageBuf, &[u8]) -> Result<(), String>,
) -> Result<BlockAction, String> {
    let bm = bufmgr(ctx)?;
    let b = r
        .record
        .blocks
        .iter()
        .find(|b| b.id == id)
        .ok_or_else(|| format!("block reference {id} missing"))?;
    let end = maxalign(r.end_lsn);
    let fresh = b.will_init || b.image.as_ref().is_some_and(|i| i.apply);
    let key = (b.rel, b.fork);
    let nblocks = match ctx.fork_sizes.get(&key) {
        Some(&n) => n,
        None => {
            let mut s = bm.smgr();
            let n = if s.exists(b.rel, b.fork).map_err(pg)? {
                s.nblocks(b.rel, b.fork).map_err(pg)?
            } else {
                0
            };
            ctx.fork_sizes.insert(key, n);
            n
        }
    };
    if b.blkno >= nblocks {
        if !fresh {
            // Remembered and skipped: a later truncation or unlink of the
            // relation excuses it; otherwise recovery fails at the end.
            ctx.invalid_pages
                .entry((b.rel, b.fork, b.blkno))
                .or_insert(false);
            return Ok(BlockAction::Invalid);
        }
        bm.extend_to(b.rel, b.fork, b.blkno + 1).map_err(pg)?;
        ctx.fork_sizes.insert(key, b.blkno + 1);
    }
    let mode = if fresh {
        ReadMode::Zero
    } else {
        ReadMode::Normal
    };
    let mut owner = ResourceOwner::default();
    let r = (|| {
        let pin = bm
            .read_buffer_extended(&mut owner, b.rel, b.fork, b.blkno, mode)
            .map_err(pg)?;
        let action = {
            let mut l = bm.lock(&pin, LwMode::Exclusive);
            let action = match &b.image {
                Some(img) if img.apply => {
                    l.page_mut().copy_from_slice(&img.page[..]);
                    BlockAction::Restored
                }
                _ => {
                    if b.will_init {
                        heaptuple::init_heap_page(l.page_mut());
                    } else if page::lsn(l.page()) >= end {
                        return Ok(BlockAction::Done);
                    } else if page::is_new(l.page()) {
                        return Ok(BlockAction::Invalid);
                    }
                    apply(l.page_mut(), &b.data)?;
                    BlockAction::Applied
                }
            };
            page::set_lsn(l.page_mut(), end);
            l.mark_dirty();
            action
        };
        bm.release(&mut owner, pin);
        Ok(action)
    })();
    owner.release_all(Release::Abort);
    if let Ok(BlockAction::Invalid) = r {
        // The first reason stays: a block missing first, then added as
        // zeroes by a later extension, is reported as missing.
        ctx.invalid_pages
            .entry((b.rel, b.fork, b.blkno))
            .or_insert(true);
    }
    r
}

fn bad(r: &DecodedRecord, what: &str) -> String {
    format!("invalid {what} record at {}", lsn_str(r.lsn))
}

fn page_err(e: page::PageError) -> String {
    e.to_pg_error().message
}

/// Puts `tuple` back at `off`, as heapam placed it.
fn put_tuple(p: &mut PageBuf, off: u16, tuple: &[u8]) -> Result<(), String> {
    let at = page::add_item(p, tuple, AddAt::Overwrite(off), MAX_HEAP_TUPLES_PER_PAGE)
        .map_err(page_err)?;
    if at != off {
        return Err(format!("tuple replayed at offset {at}, logged at {off}"));
    }
    Ok(())
}

/// Sets the old tuple's header fields from a DELETE or UPDATE body (`f`:
/// the old-tuple fields, from offset 4 of the main data).
fn set_old_tuple(
    p: &mut PageBuf,
    off: u16,
    f: &[u8],
    ctid: Option<ItemPointer>,
) -> Result<(), String> {
    let t =
        page::get_item_mut(p, off).ok_or_else(|| format!("no tuple at offset {off} to mark"))?;
    if t.len() < heaptuple::SIZEOF_HEAP_TUPLE_HEADER {
        return Err(format!("tuple at offset {off} is too short"));
    }
    heaptuple::set_infomask(t, get16(f, 0));
    heaptuple::set_infomask2(t, get16(f, 2));
    heaptuple::set_xmax(t, get64(f, 4));
    heaptuple::set_cid(t, get32(f, 12));
    if let Some(c) = ctid {
        heaptuple::set_ctid(t, c);
    }
    heaptuple::set_page_prune_xid(p, get64(f, 20));
    Ok(())
}

/// Redo of the heap's records (an entry of [`crate::xlog::RMGRS`]).
pub fn heap_redo(r: &DecodedRecord, ctx: &mut RedoCtx<'_>) -> Result<(), String> {
    let info = r.record.info & 0xF0;
    let d = &r.record.main_data;
    match info & XLOG_HEAP_OPMASK {
        XLOG_HEAP_INSERT => {
            if d.len() != 4 {
                return Err(bad(r, "heap insert"));
            }
            let off = get16(d, 0);
            redo_block(ctx, r, 0, |p, tuple| put_tuple(p, off, tuple))?;
        }
        op @ (XLOG_HEAP_DELETE | XLOG_HEAP_LOCK) => {
            if d.len() != SIZE_OF_DELETE {
                return Err(bad(
                    r,
                    if op == XLOG_HEAP_LOCK {
                        "heap lock"
                    } else {
                        "heap delete"
                    },
                ));
            }
            let off = get16(d, 0);
            redo_block(ctx, r, 0, |p, _| set_old_tuple(p, off, &d[4..], None))?;
        }
        op @ (XLOG_HEAP_UPDATE | XLOG_HEAP_HOT_UPDATE) => {
            if d.len() != SIZE_OF_UPDATE {
                return Err(bad(r, "heap update"));
            }
            let (old_off, new_off) = (get16(d, 0), get16(d, 2));
            let f = &d[4..];
            let new_blk = r
                .record
                .blocks
                .iter()
                .find(|b| b.id == 0)
                .ok_or_else(|| bad(r, "heap update"))?
                .blkno;
            let new = ItemPointer {
                block: new_blk,
                offset: new_off,
            };
            let two = r.record.blocks.iter().any(|b| b.id == 1);
            if op == XLOG_HEAP_HOT_UPDATE && two {
                return Err(bad(r, "heap hot update"));
            }
            if two {
                // Old page first, as heapam's lock order does not matter
                // here: each page is checked by its own LSN.
                redo_block(ctx, r, 1, |p, _| set_old_tuple(p, old_off, f, Some(new)))?;
                redo_block(ctx, r, 0, |p, tuple| put_tuple(p, new_off, tuple))?;
            } else {
                redo_block(ctx, r, 0, |p, tuple| {
                    put_tuple(p, new_off, tuple)?;
                    set_old_tuple(p, old_off, f, Some(new))
                })?;
            }
        }
        other => return Err(format!("heap_redo: unknown op code {other}")),
    }
    Ok(())
}

/// Redo of XLOG_FPI_FOR_HINT and XLOG_FPI (called by xlog_redo):
/// restores the image, extending the fork if the block is new.
pub fn fpi_redo(r: &DecodedRecord, ctx: &mut RedoCtx<'_>) -> Result<(), String> {
    let b = r
        .record
        .blocks
        .first()
        .ok_or_else(|| bad(r, "full-page image"))?;
    if !b.image.as_ref().is_some_and(|i| i.apply) {
        return Err(bad(r, "full-page image"));
    }
    redo_block(ctx, r, b.id, |_, _| Ok(()))?;
    Ok(())
}

/// Redo of the heap2 records: pruning.
pub fn heap2_redo(r: &DecodedRecord, ctx: &mut RedoCtx<'_>) -> Result<(), String> {
    if r.record.info & XLOG_HEAP_OPMASK == XLOG_HEAP2_MULTI_INSERT {
        return multi_insert_redo(r, ctx);
    }
    if r.record.info & 0xF0 != XLOG_HEAP2_PRUNE {
        return Err(format!(
            "heap2_redo: unknown op code {}",
            r.record.info & 0xF0
        ));
    }
    let d = &r.record.main_data;
    if d.len() != SIZE_OF_PRUNE {
        return Err(bad(r, "heap prune"));
    }
    let (nred, ndead, nunused) = (
        get16(d, 0) as usize,
        get16(d, 2) as usize,
        get16(d, 4) as usize,
    );
    let prune_xid = get64(d, 8);
    redo_block(ctx, r, 0, |p, data| {
        if data.len() != 4 * nred + 2 * (ndead + nunused) {
            return Err(bad(r, "heap prune"));
        }
        for i in 0..nred {
            page::set_redirect(p, get16(data, 4 * i), get16(data, 4 * i + 2)).map_err(page_err)?;
        }
        let rest = &data[4 * nred..];
        for i in 0..ndead {
            page::mark_dead(p, get16(rest, 2 * i)).map_err(page_err)?;
        }
        for i in ndead..ndead + nunused {
            page::mark_unused(p, get16(rest, 2 * i)).map_err(page_err)?;
        }
        page::repair_fragmentation(p).map_err(page_err)?;
        heaptuple::set_page_prune_xid(p, prune_xid);
        let f = page::flags(p) & !PD_PAGE_FULL;
        page::set_flags(p, f);
        Ok(())
    })?;
    Ok(())
}

/// Redo of MULTI_INSERT: each tuple back at its offset, in order.
fn multi_insert_redo(r: &DecodedRecord, ctx: &mut RedoCtx<'_>) -> Result<(), String> {
    let d = &r.record.main_data;
    if d.len() < 4 {
        return Err(bad(r, "heap multi-insert"));
    }
    let n = get16(d, 0) as usize;
    if n == 0 || d.len() != 4 + 2 * n {
        return Err(bad(r, "heap multi-insert"));
    }
    redo_block(ctx, r, 0, |p, data| {
        let mut at = 0;
        for i in 0..n {
            if at + 2 > data.len() {
                return Err(bad(r, "heap multi-insert"));
            }
            let len = get16(data, at) as usize;
            at += 2;
            let Some(t) = data.get(at..at + len) else {
                return Err(bad(r, "heap multi-insert"));
            };
            put_tuple(p, get16(d, 4 + 2 * i), t)?;
            at += len;
        }
        if at != data.len() {
            return Err(bad(r, "heap multi-insert"));
        }
        Ok(())
    })?;
    Ok(())
}

fn fork_of(r: &DecodedRecord, n: u32) -> Result<Fork, String> {
    u8::try_from(n)
        .ok()
        .and_then(Fork::from_u8)
        .ok_or_else(|| bad(r, "storage"))
}

/// Redo of the storage records: creating and truncating forks.
pub fn smgr_redo(r: &DecodedRecord, ctx: &mut RedoCtx<'_>) -> Result<(), String> {
    let d = &r.record.main_data;
    let bm = bufmgr(ctx)?;
    match r.record.info & 0xF0 {
        XLOG_SMGR_CREATE => {
            if d.len() != 16 {
                return Err(bad(r, "storage create"));
            }
            let rel = RelFileLocator {
                spc: get32(d, 0),
                db: get32(d, 4),
                rel: get32(d, 8),
            };
            let fork = fork_of(r, get32(d, 12))?;
            ctx.fork_sizes.remove(&(rel, fork));
            bm.smgr().create(rel, fork, true).map_err(pg)
        }
        XLOG_SMGR_TRUNCATE => {
            if d.len() != 20 {
                return Err(bad(r, "storage truncate"));
            }
            let nblocks = get32(d, 0);
            let rel = RelFileLocator {
                spc: get32(d, 4),
                db: get32(d, 8),
                rel: get32(d, 12),
            };
            let fork = fork_of(r, get32(d, 16))?;
            ctx.fork_sizes.remove(&(rel, fork));
            ctx.invalid_pages
                .retain(|&(r, f, b), _| !(r == rel && f == fork && b >= nblocks));
            // Buffers of the cut blocks are dropped unwritten; the file is
            // cut only if it is longer (replayed twice, or never extended).
            bm.drop_relation_buffers(rel, fork, nblocks);
            let mut s = bm.smgr();
            if s.exists(rel, fork).map_err(pg)? && s.nblocks(rel, fork).map_err(pg)? > nblocks {
                s.truncate(rel, fork, nblocks).map_err(pg)?;
            }
            Ok(())
        }
        XLOG_SMGR_UNLINK => {
            if d.len() != 12 {
                return Err(bad(r, "storage unlink"));
            }
            let rel = RelFileLocator {
                spc: get32(d, 0),
                db: get32(d, 4),
                rel: get32(d, 8),
            };
            ctx.invalid_pages.retain(|&(r, _, _), _| r != rel);
            for fork in Fork::ALL {
                ctx.fork_sizes.remove(&(rel, fork));
                bm.drop_relation_buffers(rel, fork, 0);
                bm.smgr().unlink(rel, fork).map_err(pg)?;
            }
            bm.smgr().close(rel);
            Ok(())
        }
        other => Err(format!("smgr_redo: unknown op code {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(rmid: u8, info: u8, main: Vec<u8>, blocks: Vec<BlockRef>) -> DecodedRecord {
        DecodedRecord {
            lsn: 0x2000,
            end_lsn: 0x2040,
            prev: 0x1000,
            record: Record {
                rmid,
                info,
                xid: 700,
                blocks,
                main_data: main,
            },
        }
    }

    fn block(id: u8, data: Vec<u8>) -> BlockRef {
        BlockRef {
            id,
            rel: RelFileLocator {
                spc: 1663,
                db: 5,
                rel: 16384,
            },
            fork: Fork::Main,
            blkno: 3,
            will_init: false,
            image: None,
            data,
        }
    }

    /// Bad input is an error naming the record, never a panic; and a
    /// well-formed record without a buffer pool says what is missing.
    #[test]
    fn malformed_records_are_refused() {
        let mut ctx = RedoCtx::default();
        let cases = [
            rec(
                RM_HEAP_ID,
                XLOG_HEAP_INSERT,
                vec![1],
                vec![block(0, vec![])],
            ),
            rec(
                RM_HEAP_ID,
                XLOG_HEAP_DELETE,
                vec![0; 31],
                vec![block(0, vec![])],
            ),
            rec(
                RM_HEAP_ID,
                XLOG_HEAP_UPDATE,
                vec![0; 33],
                vec![block(0, vec![])],
            ),
            rec(RM_HEAP_ID, XLOG_HEAP_HOT_UPDATE, vec![0; 32], vec![]),
            rec(RM_HEAP_ID, 0x30, vec![0; 4], vec![]),
        ];
        for r in &cases {
            let e = heap_redo(r, &mut ctx).unwrap_err();
            assert!(e.contains("0/2000") || e.contains("unknown op code"), "{e}");
        }
        // A HOT update naming two blocks contradicts itself.
        let two = rec(
            RM_HEAP_ID,
            XLOG_HEAP_HOT_UPDATE,
            vec![0; 32],
            vec![block(0, vec![]), block(1, vec![])],
        );
        assert!(heap_redo(&two, &mut ctx).unwrap_err().contains("0/2000"));
        let e = heap2_redo(
            &rec(RM_HEAP2_ID, XLOG_HEAP2_PRUNE, vec![0; 15], vec![]),
            &mut ctx,
        )
        .unwrap_err();
        assert!(e.contains("invalid heap prune record at 0/2000"), "{e}");
        assert!(heap2_redo(&rec(RM_HEAP2_ID, 0x20, vec![], vec![]), &mut ctx).is_err());
        assert!(smgr_redo(
            &rec(RM_SMGR_ID, XLOG_SMGR_CREATE, vec![0; 16], vec![]),
            &mut ctx
        )
        .unwrap_err()
        .contains("buffer pool"));
        let e = heap_redo(
            &rec(
                RM_HEAP_ID,
                XLOG_HEAP_INSERT,
                vec![1, 0, 0, 0],
                vec![block(0, vec![])],
            ),
            &mut ctx,
        )
        .unwrap_err();
        assert!(e.contains("buffer pool"), "{e}");
        // An image record without an image.
        assert!(fpi_redo(
            &rec(
                RM_XLOG_ID,
                XLOG_FPI_FOR_HINT,
                vec![],
                vec![block(0, vec![])]
            ),
            &mut ctx
        )
        .is_err());
    }
}
