//! VACUUM at the storage level: lazy vacuum of one heap (prune, free dead line pointers, fill the free-space map, cut empty pages off the end) and the storage side of VACUUM FULL (copy the surviving tuples into a new relfilenode) (issue 9 item 8).
//!
//! Why this shape (PostgreSQL's `vacuumlazy.c`, `rewriteheap.c`):
//!
//! - **One pass without indexes, two with.** A line pointer left LP_DEAD
//!   by pruning is referenced by nothing but index entries. Without
//!   indexes [`vacuum_heap`] frees it (LP_UNUSED) on the same visit:
//!   PostgreSQL's single-pass case. With indexes
//!   ([`vacuum_heap_with_indexes`]) the dead TIDs are collected, the
//!   indexes drop their entries ([`IndexCleanup`], nbtree's
//!   `bulk_delete`), and a second pass frees exactly those line pointers:
//!   a line pointer freed while an entry still named it could be reused
//!   by another row that the stale entry would then lead to.
//! - **WAL through traits.** Pruning is logged by heapam's
//!   `HeapWal::log_heap_prune` (the freeing of dead items is one more prune
//!   record with only `unused` entries: its redo repeats it and
//!   defragments, which gives the same page). Truncation and the new
//!   relation's pages are logged through [`VacuumWal`], a separate trait so
//!   that the heap's WAL trait stays as the WAL work defines it; the server
//!   implements both with heapwal.rs's `XlogHeapWal` (XLOG_SMGR_TRUNCATE
//!   and XLOG_FPI), replayed by the resource-manager redo (`smgr_redo`,
//!   `fpi_redo`). [`redo_truncate`] and [`redo_new_page`] do the same for
//!   this module's storage tests, which log to memory.
//! - **Truncation is crash-safe by WAL-first order**, as PostgreSQL's
//!   `RelationTruncate`: (1) log XLOG_SMGR_TRUNCATE and flush WAL up to it,
//!   (2) drop the buffers of the cut blocks, (3) ftruncate the main fork,
//!   (4) cut the free-space map. A crash before (1) reaches disk leaves the
//!   file long (only space is lost: the cut pages were empty); a crash
//!   after it replays the record, which truncates again (idempotent: a
//!   file already short enough is left alone). And redo of older records
//!   for the cut blocks (which re-extends the file) is followed by the
//!   truncate record, so recovery never resurrects those pages. Buffers
//!   are dropped before the ftruncate, and the drop waits out a
//!   checkpoint's pin, so no write can re-extend the file afterwards. A
//!   checkpoint that completes between (1) and (3), followed by a crash
//!   before (3), starts redo after the record: the empty pages stay, which
//!   costs space only (the next VACUUM cuts them); PostgreSQL closes that
//!   window with DELAY_CHKPT_COMPLETE, later work here.
//! - **Truncation needs the relation to itself, without waiting**
//!   ([`TruncateLock`], PostgreSQL's ConditionalLockRelation with
//!   AccessExclusiveLock): VACUUM must not queue behind, or block, normal
//!   work for a space optimisation. If the lock is taken, the pages stay
//!   (recorded as free in the map) and [`VacuumStats::truncate_skipped`]
//!   says so. Under the lock the end of the relation is scanned again
//!   backwards (an insert may have used an empty page since the first
//!   pass). [`LmgrTruncateLock`] implements it with the lock manager.
//! - **Removal horizon from the caller.** Everything here asks the given
//!   [`Visibility`] (`satisfies_vacuum`, whose horizon is
//!   `snapshot::oldest_xmin`): a row deleted by a transaction that some
//!   running snapshot may not see as committed is RecentlyDead and kept.
//!
//! Who may call: a backend (any process with a [`BufMgr`]) running VACUUM
//! on a relation it has open, holding no buffer content lock; the redo
//! functions: the startup process.

use tusk_common::error::PgError;

use crate::bufmgr::{BufMgr, ReadMode};
use crate::fsm::Fsm;
use crate::heapam::{ExtensionLock, HeapRel, HtsvResult, Lsn, Visibility, Xid};
use crate::heaptuple::{
    self, ItemPointer, HEAP_HOT_UPDATED, HEAP_ONLY_TUPLE, HEAP_UPDATED, HEAP_XMAX_INVALID,
    HEAP_XMAX_LOCK_ONLY, MAX_HEAP_TUPLES_PER_PAGE,
};
use crate::lmgr::{LocalLocks, LockMode, LockTarget, WaitPolicy, LOCK_NOT_AVAILABLE};
use crate::lwlock::{LwMode, LwProcs};
use crate::page::{self, AddAt, PageBuf, BLCKSZ, ITEM_ID_SIZE, LP_DEAD, LP_NORMAL};
use crate::smgr::{BlockNumber, Fork, RelFileLocator};
use crate::xact::ResourceOwner;

/// PostgreSQL's REL_TRUNCATE_MINIMUM and REL_TRUNCATE_FRACTION: truncate
/// when at least this many end pages, or this fraction of the relation,
/// can go.
pub const REL_TRUNCATE_MINIMUM: BlockNumber = 1000;
pub const REL_TRUNCATE_FRACTION: BlockNumber = 16;

/// The WAL records of vacuum beyond heapam's prune record. The server
/// implements them with `xlog_insert`.
pub trait VacuumWal {
    /// XLOG_SMGR_TRUNCATE: `rel`'s main fork (and its free-space map) is
    /// cut to `nblocks` blocks. Returns once WAL is flushed up to the
    /// record (the file is cut only after): an error means it may not be
    /// durable, and the caller then cuts nothing.
    fn log_truncate(&self, rel: RelFileLocator, nblocks: BlockNumber) -> Result<Lsn, PgError>;
    /// XLOG_FPI (PostgreSQL's log_newpage): the whole of block `block` of
    /// a relation being written from scratch (VACUUM FULL's new
    /// relfilenode). Called with the page's exclusive content lock held,
    /// after the page is final; the LSN becomes the page's. Must not fail
    /// (as `HeapWal`'s methods).
    fn log_new_page(
        &self,
        rel: RelFileLocator,
        fork: Fork,
        block: BlockNumber,
        page: &PageBuf,
    ) -> Lsn;
}

/// The relation lock truncation needs: AccessExclusiveLock, taken only if
/// it is free now (module comment). Writers of the relation must hold a
/// lock that conflicts with it (RowExclusiveLock, as PostgreSQL's).
pub trait TruncateLock {
    /// Takes the lock if no one holds a conflicting one; false otherwise.
    fn try_lock(&self, owner: &mut ResourceOwner, rel: RelFileLocator) -> Result<bool, PgError>;
    fn unlock(&self, owner: &mut ResourceOwner, rel: RelFileLocator);
}

/// [`TruncateLock`] on the heavyweight lock manager: AccessExclusiveLock on
/// the relation's OID (which the catalog knows; the relfilenode may differ
/// after a rewrite) with NOWAIT.
pub struct LmgrTruncateLock<'a, P: LwProcs + Clone + 'static> {
    pub locks: &'a LocalLocks<P>,
    pub db: u32,
    pub rel_oid: u32,
}

impl<P: LwProcs + Clone + 'static> TruncateLock for LmgrTruncateLock<'_, P> {
    fn try_lock(&self, owner: &mut ResourceOwner, _rel: RelFileLocator) -> Result<bool, PgError> {
        let policy = WaitPolicy {
            dont_wait: true,
            ..WaitPolicy::default()
        };
        let target = LockTarget::Relation {
            db: self.db,
            rel: self.rel_oid,
        };
        match self
            .locks
            .lock(owner, target, LockMode::AccessExclusive, &policy, &|| false)
        {
            Ok(()) => Ok(true),
            Err(e) if e.code == LOCK_NOT_AVAILABLE => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn unlock(&self, owner: &mut ResourceOwner, _rel: RelFileLocator) {
        let target = LockTarget::Relation {
            db: self.db,
            rel: self.rel_oid,
        };
        self.locks.unlock(owner, target, LockMode::AccessExclusive);
    }
}

/// What one [`vacuum_heap`] did: the figures of VACUUM VERBOSE's INFO
/// lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VacuumStats {
    /// Blocks the relation had when the scan started, all scanned.
    pub pages_scanned: BlockNumber,
    /// Tuples whose storage pruning removed.
    pub tuples_removed: u64,
    /// Tuples left: live (a delete in progress included) or recently dead,
    /// as PostgreSQL counts them (an insert in progress is not counted).
    pub tuples_remaining: u64,
    /// Of those, deleted but still visible to some snapshot.
    pub tuples_recently_dead: u64,
    /// LP_DEAD line pointers made reusable, and on how many pages.
    pub dead_items_freed: u64,
    pub pages_with_dead_items: BlockNumber,
    /// Blocks cut off the end, and the relation's length afterwards.
    pub pages_truncated: BlockNumber,
    pub pages_remaining: BlockNumber,
    /// Empty end pages existed but the relation lock was not free.
    pub truncate_skipped: bool,
    /// Free bytes recorded in the free-space map over all pages.
    pub free_space: u64,
    /// Passes over the indexes, and the entries they removed.
    pub index_scans: u32,
    pub index_entries_removed: u64,
}

/// `part` of `whole` as PostgreSQL's VACUUM VERBOSE prints it (100.00
/// for an empty relation).
fn percent(part: BlockNumber, whole: BlockNumber) -> String {
    if whole == 0 {
        "100.00".into()
    } else {
        format!("{:.2}", 100.0 * part as f64 / whole as f64)
    }
}

impl VacuumStats {
    /// The INFO line of a truncation (before "finished vacuuming"), if
    /// there was one: PostgreSQL 15's text, `relname` unqualified.
    pub fn truncate_message(&self, relname: &str) -> Option<String> {
        (self.pages_truncated > 0).then(|| {
            format!(
                "table \"{relname}\": truncated {} to {} pages",
                self.pages_scanned, self.pages_remaining
            )
        })
    }

    /// The storage lines of PostgreSQL 15's "finished vacuuming" INFO
    /// message (the SQL layer adds the header, the cutoff, relfrozenxid,
    /// I/O, WAL and CPU lines).
    pub fn verbose_lines(&self) -> Vec<String> {
        vec![
            format!(
                "pages: {} removed, {} remain, {} scanned ({}% of total)",
                self.pages_truncated,
                self.pages_remaining,
                self.pages_scanned,
                percent(self.pages_scanned, self.pages_scanned)
            ),
            format!(
                "tuples: {} removed, {} remain, {} are dead but not yet removable",
                self.tuples_removed, self.tuples_remaining, self.tuples_recently_dead
            ),
            format!(
                "index scan {}needed: {} pages from table ({}% of total) had {} dead item identifiers removed",
                if self.index_scans > 0 { "" } else { "not " },
                self.pages_with_dead_items,
                percent(self.pages_with_dead_items, self.pages_scanned),
                self.dead_items_freed
            ),
        ]
    }
}

/// Free space an all-zero (never initialised) heap page offers.
const NEW_PAGE_FREE: usize = BLCKSZ - page::SIZE_OF_PAGE_HEADER - ITEM_ID_SIZE;

/// What the second step of one block found.
struct BlockResult {
    empty: bool,
    free: usize,
    /// LP_DEAD line pointers left for the index pass (two-pass VACUUM).
    dead: Vec<u16>,
}

/// The indexes of the heap being vacuumed (PostgreSQL's ambulkdelete):
/// removes every entry naming a TID for which `dead` is true, returning
/// how many went. The server implements it over the relation's B-trees.
pub trait IndexCleanup {
    fn bulk_delete(
        &mut self,
        owner: &mut ResourceOwner,
        dead: &dyn Fn(ItemPointer) -> bool,
    ) -> Result<u64, PgError>;
}

/// Dead line pointers collected before the indexes are cleaned (PostgreSQL
/// bounds them by maintenance_work_mem): 1M TIDs, 8 MB.
const MAX_DEAD_TIDS: usize = 1 << 20;

/// Lazy VACUUM of one heap without indexes (PostgreSQL's one-pass
/// heap_vacuum_rel): every block is pruned, its dead line pointers freed
/// and its free space recorded; then empty end pages are cut off if the
/// relation lock is free (module comment).
pub fn vacuum_heap(
    owner: &mut ResourceOwner,
    h: &HeapRel,
    vis: &dyn Visibility,
    wal: &dyn VacuumWal,
    lock: &dyn TruncateLock,
) -> Result<VacuumStats, PgError> {
    vacuum_heap_with_indexes(owner, h, vis, wal, lock, None)
}

/// Lazy VACUUM of one heap and, when `indexes` is given, its indexes
/// (PostgreSQL's two-pass heap_vacuum_rel): the first pass prunes every
/// block and collects the TIDs pruning left LP_DEAD; the indexes then
/// drop their entries for those TIDs; only then does a second pass make
/// exactly those line pointers LP_UNUSED (a line pointer freed while an
/// entry still named it could be reused by another row). More than
/// [`MAX_DEAD_TIDS`] dead TIDs are handled in rounds.
pub fn vacuum_heap_with_indexes(
    owner: &mut ResourceOwner,
    h: &HeapRel,
    vis: &dyn Visibility,
    wal: &dyn VacuumWal,
    lock: &dyn TruncateLock,
    mut indexes: Option<&mut dyn IndexCleanup>,
) -> Result<VacuumStats, PgError> {
    let mut st = VacuumStats::default();
    let nblocks = h.nblocks()?;
    st.pages_scanned = nblocks;
    let fsm = h.fsm();
    // Blocks 0..nonempty hold at least one used line pointer.
    let mut nonempty: BlockNumber = 0;
    // TIDs left LP_DEAD, in (block, offset) order, waiting for the indexes.
    let mut dead: Vec<ItemPointer> = Vec::new();
    for block in 0..nblocks {
        st.tuples_removed += h.prune_page(owner, vis, block)?.removed as u64;
        let free_now = indexes.is_none();
        let r = free_dead_items(owner, h, vis, block, &mut st, free_now)?;
        if !r.empty {
            nonempty = block + 1;
        }
        if r.dead.is_empty() {
            st.free_space += r.free as u64;
            fsm.record(owner, block, r.free)?;
        } else {
            dead.extend(r.dead.iter().map(|&offset| ItemPointer { block, offset }));
        }
        if let Some(ix) = indexes.as_deref_mut() {
            if dead.len() >= MAX_DEAD_TIDS || (block + 1 == nblocks && !dead.is_empty()) {
                clean_indexes_then_heap(owner, h, ix, &mut dead, &mut st)?;
            }
        }
    }
    st.pages_remaining = nblocks;
    let freeable = nblocks - nonempty;
    if freeable > 0
        && (freeable >= REL_TRUNCATE_MINIMUM || freeable >= nblocks / REL_TRUNCATE_FRACTION)
    {
        if lock.try_lock(owner, h.rel)? {
            let r = truncate_empty_end(owner, h, wal, nonempty);
            lock.unlock(owner, h.rel);
            let (before, after) = r?;
            st.pages_truncated = before - after;
            st.pages_remaining = after;
        } else {
            st.truncate_skipped = true;
        }
    }
    Ok(st)
}

/// The index pass and the heap's second pass over what `dead` collected:
/// every index drops its entries for those TIDs, then the heap frees
/// exactly those line pointers and records the blocks' free space.
fn clean_indexes_then_heap(
    owner: &mut ResourceOwner,
    h: &HeapRel,
    ix: &mut dyn IndexCleanup,
    dead: &mut Vec<ItemPointer>,
    st: &mut VacuumStats,
) -> Result<(), PgError> {
    let set: &[ItemPointer] = dead;
    st.index_entries_removed += ix.bulk_delete(owner, &|t| {
        set.binary_search_by(|d| (d.block, d.offset).cmp(&(t.block, t.offset)))
            .is_ok()
    })?;
    st.index_scans += 1;
    let fsm = h.fsm();
    let mut i = 0;
    while i < dead.len() {
        let block = dead[i].block;
        let j = i + dead[i..].iter().take_while(|t| t.block == block).count();
        let offs: Vec<u16> = dead[i..j].iter().map(|t| t.offset).collect();
        let free = free_listed(owner, h, block, &offs, st)?;
        st.free_space += free as u64;
        fsm.record(owner, block, free)?;
        i = j;
    }
    dead.clear();
    Ok(())
}

/// The heap's second pass on one block: the collected LP_DEAD line
/// pointers `offs` become LP_UNUSED (a prune record with only `unused`).
/// Returns the block's free space.
fn free_listed(
    owner: &mut ResourceOwner,
    h: &HeapRel,
    block: BlockNumber,
    offs: &[u16],
    st: &mut VacuumStats,
) -> Result<usize, PgError> {
    let pin = h.bm.read_buffer(owner, h.rel, Fork::Main, block)?;
    let r = (|| {
        let mut l = h.bm.lock(&pin, LwMode::Exclusive);
        page::check_line_pointers(l.page()).map_err(|e| e.to_pg_error())?;
        // Only VACUUM (one at a time per table) turns LP_DEAD into
        // anything else: they are all still dead.
        let offs: Vec<u16> = offs
            .iter()
            .copied()
            .filter(|&o| page::item_id(l.page(), o).is_some_and(|id| id.flags == LP_DEAD))
            .collect();
        if !offs.is_empty() {
            let bad = |e: page::PageError| e.to_pg_error();
            let p = l.page_mut();
            for &o in &offs {
                page::mark_unused(p, o).map_err(bad)?;
            }
            page::repair_fragmentation(p).map_err(bad)?;
            l.mark_dirty();
            let lsn = h
                .wal
                .log_heap_prune(h.rel, l.page(), block, &[], &[], &offs);
            page::set_lsn(l.page_mut(), lsn);
            st.dead_items_freed += offs.len() as u64;
            st.pages_with_dead_items += 1;
        }
        Ok(page::heap_free_space(l.page(), MAX_HEAP_TUPLES_PER_PAGE))
    })();
    h.bm.release(owner, pin);
    r
}

/// Second step on one pruned block, under its exclusive content lock:
/// tuples left are counted and the free space measured; LP_DEAD items
/// become LP_UNUSED when `free_now` (no indexes: logged as a prune record
/// with only `unused`), else they are returned for the index pass.
fn free_dead_items(
    owner: &mut ResourceOwner,
    h: &HeapRel,
    vis: &dyn Visibility,
    block: BlockNumber,
    st: &mut VacuumStats,
    free_now: bool,
) -> Result<BlockResult, PgError> {
    let pin = h.bm.read_buffer(owner, h.rel, Fork::Main, block)?;
    let r = (|| {
        let mut l = h.bm.lock(&pin, LwMode::Exclusive);
        if page::is_new(l.page()) {
            return Ok(BlockResult {
                empty: true,
                free: NEW_PAGE_FREE,
                dead: Vec::new(),
            });
        }
        page::check_line_pointers(l.page()).map_err(|e| e.to_pg_error())?;
        let n = page::max_offset(l.page());
        let mut dead = Vec::new();
        let mut used = false;
        for off in 1..=n {
            let id = page::item_id(l.page(), off).expect("in range");
            if id.flags == LP_DEAD {
                dead.push(off);
                continue;
            }
            if id.is_used() {
                used = true;
            }
            if id.flags == LP_NORMAL {
                let t = page::get_item(l.page(), off).expect("checked above");
                heaptuple::check_header(t)?;
                match vis.satisfies_vacuum(t) {
                    HtsvResult::InsertInProgress => {}
                    HtsvResult::RecentlyDead => {
                        st.tuples_remaining += 1;
                        st.tuples_recently_dead += 1;
                    }
                    _ => st.tuples_remaining += 1,
                }
            }
        }
        if !free_now {
            // Dead line pointers keep the page non-empty until the second
            // pass frees them.
            return Ok(BlockResult {
                empty: !used && dead.is_empty(),
                free: page::heap_free_space(l.page(), MAX_HEAP_TUPLES_PER_PAGE),
                dead,
            });
        }
        if !dead.is_empty() {
            // Critical section (heapam's rule 3).
            let bad = |e: page::PageError| e.to_pg_error();
            let p = l.page_mut();
            for &o in &dead {
                page::mark_unused(p, o).map_err(bad)?;
            }
            page::repair_fragmentation(p).map_err(bad)?;
            l.mark_dirty();
            let lsn = h
                .wal
                .log_heap_prune(h.rel, l.page(), block, &[], &[], &dead);
            page::set_lsn(l.page_mut(), lsn);
            st.dead_items_freed += dead.len() as u64;
            st.pages_with_dead_items += 1;
        }
        Ok(BlockResult {
            empty: !used,
            free: page::heap_free_space(l.page(), MAX_HEAP_TUPLES_PER_PAGE),
            dead: Vec::new(),
        })
    })();
    h.bm.release(owner, pin);
    r
}

/// Is the block empty now (no used line pointer)? Pinned and released
/// here, so that dropping its buffer afterwards finds no pin of ours.
fn block_is_empty(
    owner: &mut ResourceOwner,
    h: &HeapRel,
    block: BlockNumber,
) -> Result<bool, PgError> {
    let pin = h.bm.read_buffer(owner, h.rel, Fork::Main, block)?;
    let empty = {
        let l = h.bm.lock(&pin, LwMode::Shared);
        let p = l.page();
        page::is_new(p)
            || (1..=page::max_offset(p)).all(|o| !page::item_id(p, o).unwrap().is_used())
    };
    h.bm.release(owner, pin);
    Ok(empty)
}

/// Under the truncation lock: finds the real end again (PostgreSQL's
/// count_nondeletable_pages, backwards from the current end down to
/// `nonempty`) and cuts the relation there in WAL-first order (module
/// comment). Returns (blocks before, blocks after).
fn truncate_empty_end(
    owner: &mut ResourceOwner,
    h: &HeapRel,
    wal: &dyn VacuumWal,
    nonempty: BlockNumber,
) -> Result<(BlockNumber, BlockNumber), PgError> {
    let before = h.nblocks()?;
    let mut end = before;
    while end > nonempty && block_is_empty(owner, h, end - 1)? {
        end -= 1;
    }
    if end < before {
        wal.log_truncate(h.rel, end)?;
        cut(owner, h.bm, h.ext, h.rel, end)?;
    }
    Ok((before, end))
}

/// Steps (2) to (4) of a truncation: buffers, main fork, map.
fn cut(
    owner: &mut ResourceOwner,
    bm: &BufMgr,
    ext: &dyn ExtensionLock,
    rel: RelFileLocator,
    nblocks: BlockNumber,
) -> Result<(), PgError> {
    bm.drop_relation_buffers(rel, Fork::Main, nblocks);
    {
        let mut smgr = bm.smgr();
        if smgr.exists(rel, Fork::Main)? && smgr.nblocks(rel, Fork::Main)? > nblocks {
            smgr.truncate(rel, Fork::Main, nblocks)?;
        }
    }
    Fsm::new(rel, bm, ext).truncate(owner, nblocks)
}

/// Redo of XLOG_SMGR_TRUNCATE: the same cut, skipped where the files are
/// already short enough (idempotent). `ext` may be a no-op lock: nothing
/// else writes during recovery.
pub fn redo_truncate(
    owner: &mut ResourceOwner,
    bm: &BufMgr,
    ext: &dyn ExtensionLock,
    rel: RelFileLocator,
    nblocks: BlockNumber,
) -> Result<(), PgError> {
    cut(owner, bm, ext, rel, nblocks)
}

/// Redo of XLOG_FPI: block `block` becomes `image` with page LSN `lsn`
/// (the end of the record), the fork extended as needed.
pub fn redo_new_page(
    owner: &mut ResourceOwner,
    bm: &BufMgr,
    rel: RelFileLocator,
    fork: Fork,
    block: BlockNumber,
    image: &PageBuf,
    lsn: Lsn,
) -> Result<(), PgError> {
    bm.extend_to(rel, fork, block + 1)?;
    let pin = bm.read_buffer_extended(owner, rel, fork, block, ReadMode::Zero)?;
    {
        let mut l = bm.lock(&pin, LwMode::Exclusive);
        if page::is_new(l.page()) || page::lsn(l.page()) < lsn {
            l.page_mut().copy_from_slice(image);
            page::set_lsn(l.page_mut(), lsn);
            l.mark_dirty();
        }
    }
    bm.release(owner, pin);
    Ok(())
}

/// What one [`rewrite_heap`] did (VACUUM FULL VERBOSE's figures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RewriteStats {
    pub pages_read: BlockNumber,
    pub pages_written: BlockNumber,
    /// Tuples copied, of which still visible to some snapshot only.
    pub tuples_copied: u64,
    pub tuples_recently_dead: u64,
    /// Dead tuples left behind.
    pub tuples_removed: u64,
}

impl RewriteStats {
    /// PostgreSQL 15's INFO message of VACUUM FULL VERBOSE (after
    /// "vacuuming ..."), `qualified` as "schema.table", and its DETAIL
    /// without the CPU line.
    pub fn verbose_message(&self, qualified: &str) -> (String, String) {
        (
            format!(
                "\"{qualified}\": found {} removable, {} nonremovable row versions in {} pages",
                self.tuples_removed, self.tuples_copied, self.pages_read
            ),
            format!(
                "{} dead row versions cannot be removed yet.",
                self.tuples_recently_dead
            ),
        )
    }
}

/// The new relation's page being filled in process memory, written
/// through the pool and logged whole when full.
struct NewPages<'r, 'a> {
    dst: &'r HeapRel<'a>,
    wal: &'r dyn VacuumWal,
    page: Box<PageBuf>,
    block: BlockNumber,
    written: BlockNumber,
}

impl NewPages<'_, '_> {
    /// Adds `t` (its ctid set by `ctid`, None for its own new TID) and
    /// returns its TID, writing out the current page first if full.
    fn add(
        &mut self,
        owner: &mut ResourceOwner,
        t: &mut [u8],
        ctid: Option<ItemPointer>,
    ) -> Result<ItemPointer, PgError> {
        if page::heap_free_space(&self.page, MAX_HEAP_TUPLES_PER_PAGE) < page::maxalign(t.len()) {
            self.write(owner)?;
        }
        let off = page::add_item(
            &mut self.page,
            t,
            AddAt::FirstFree,
            MAX_HEAP_TUPLES_PER_PAGE,
        )
        .map_err(|e| e.to_pg_error())?;
        let tid = ItemPointer {
            block: self.block,
            offset: off,
        };
        let c = ctid.unwrap_or(tid);
        heaptuple::set_ctid(page::get_item_mut(&mut self.page, off).expect("added"), c);
        heaptuple::set_ctid(t, c);
        Ok(tid)
    }

    /// Appends the page to the relation (under its extension lock),
    /// logs it whole, and starts the next one.
    fn write(&mut self, owner: &mut ResourceOwner) -> Result<(), PgError> {
        if page::max_offset(&self.page) == 0 {
            return Ok(());
        }
        let (bm, rel) = (self.dst.bm, self.dst.rel);
        self.dst.ext.lock(rel);
        let pin = (|| {
            {
                let mut smgr = bm.smgr();
                if !smgr.exists(rel, Fork::Main)? {
                    smgr.create(rel, Fork::Main, false)?;
                }
            }
            bm.extend(owner, rel, Fork::Main)
        })();
        self.dst.ext.unlock(rel);
        let pin = pin?;
        let got = bm.pool().desc(pin.buffer()).tag.load().block;
        let r = if got != self.block {
            Err(PgError::error(
                tusk_common::sqlstate::INTERNAL_ERROR,
                format!(
                    "relation {} was extended by someone else during its rewrite",
                    rel.rel
                ),
            ))
        } else {
            let mut l = bm.lock(&pin, LwMode::Exclusive);
            l.page_mut().copy_from_slice(&self.page[..]);
            l.mark_dirty();
            let lsn = self.wal.log_new_page(rel, Fork::Main, got, l.page());
            page::set_lsn(l.page_mut(), lsn);
            Ok(())
        };
        bm.release(owner, pin);
        r?;
        self.written += 1;
        self.block += 1;
        heaptuple::init_heap_page(&mut self.page);
        Ok(())
    }
}

/// The storage side of VACUUM FULL (PostgreSQL's rewriteheap.c): every
/// tuple of `src` that `vis` does not call Dead is copied, header and all
/// (xmin, xmax, hint bits), into `dst`, a new empty relfilenode that only
/// this process knows; the caller holds AccessExclusiveLock on the
/// relation, fsyncs `dst` (or relies on the logged full pages) and swaps
/// the relfilenode in the catalog at commit.
///
/// Update chains that a snapshot may still follow (a RecentlyDead version
/// whose updater is not older than the horizon) keep their t_ctid links,
/// pointing at the successor's new TID: a predecessor met before its
/// successor waits in memory until the successor is placed, one met after
/// finds it in a map; both hold only such recently dead chain members, as
/// PostgreSQL's. HOT flags are cleared: every version gets its own line
/// pointer on the new pages.
pub fn rewrite_heap(
    owner: &mut ResourceOwner,
    src: &HeapRel,
    dst: &HeapRel,
    vis: &dyn Visibility,
    wal: &dyn VacuumWal,
) -> Result<RewriteStats, PgError> {
    rewrite_heap_ordered(owner, src, dst, vis, wal, None)
}

/// [`rewrite_heap`] placing the tuples in the order `order` gives them
/// (CLUSTER: the rank of a tuple's old TID in the index's key order;
/// equal ranks keep heap order). With an order every surviving tuple is
/// held in memory until all are read, as PostgreSQL's tuplesort before
/// it spills; without one the copy streams page by page.
pub fn rewrite_heap_ordered(
    owner: &mut ResourceOwner,
    src: &HeapRel,
    dst: &HeapRel,
    vis: &dyn Visibility,
    wal: &dyn VacuumWal,
    order: Option<&dyn Fn(ItemPointer) -> u64>,
) -> Result<RewriteStats, PgError> {
    use std::collections::HashMap;
    let start = dst.nblocks()?;
    if start != 0 {
        return Err(PgError::error(
            tusk_common::sqlstate::INTERNAL_ERROR,
            format!("rewrite target relation {} is not empty", dst.rel.rel),
        ));
    }
    let mut st = RewriteStats::default();
    let mut out = NewPages {
        dst,
        wal,
        page: Box::new([0u8; BLCKSZ]),
        block: 0,
        written: 0,
    };
    heaptuple::init_heap_page(&mut out.page);
    // (old TID of a successor, its xmin) → the predecessor waiting for it.
    let mut unresolved: HashMap<(BlockNumber, u16, Xid), (ItemPointer, Vec<u8>)> = HashMap::new();
    // (old TID, xmin) of a placed successor → its new TID.
    let mut placed: HashMap<(BlockNumber, u16, Xid), ItemPointer> = HashMap::new();
    let key = |t: ItemPointer, x: Xid| (t.block, t.offset, x);
    let nblocks = src.nblocks()?;
    st.pages_read = nblocks;
    // CLUSTER's tuples, gathered from every page before any is placed.
    let mut sorted: Vec<(ItemPointer, HtsvResult, Vec<u8>)> = Vec::new();
    for block in 0..nblocks {
        let pin = src.bm.read_buffer(owner, src.rel, Fork::Main, block)?;
        let copied = (|| {
            let l = src.bm.lock(&pin, LwMode::Shared);
            let p = l.page();
            if page::is_new(p) {
                return Ok(Vec::new());
            }
            page::check_line_pointers(p).map_err(|e| e.to_pg_error())?;
            let mut v = Vec::new();
            for off in 1..=page::max_offset(p) {
                let id = page::item_id(p, off).expect("in range");
                if id.flags != LP_NORMAL {
                    continue;
                }
                let t = page::get_item(p, off).expect("checked above");
                heaptuple::check_header(t)?;
                v.push((
                    ItemPointer { block, offset: off },
                    vis.satisfies_vacuum(t),
                    t.to_vec(),
                ));
            }
            Ok::<_, PgError>(v)
        })();
        src.bm.release(owner, pin);
        let copied = copied?;
        let batch = match order {
            None => copied,
            Some(_) => {
                sorted.extend(copied);
                if block + 1 < nblocks {
                    continue;
                }
                let mut all = std::mem::take(&mut sorted);
                all.sort_by_key(|(old, _, _)| order.map_or(0, |f| f(*old)));
                all
            }
        };
        for (old, status, mut t) in batch {
            if status == HtsvResult::Dead {
                st.tuples_removed += 1;
                continue;
            }
            st.tuples_copied += 1;
            let m2 = heaptuple::infomask2(&t) & !(HEAP_HOT_UPDATED | HEAP_ONLY_TUPLE);
            heaptuple::set_infomask2(&mut t, m2);
            let m = heaptuple::infomask(&t);
            let links = matches!(
                status,
                HtsvResult::RecentlyDead | HtsvResult::DeleteInProgress
            ) && m & (HEAP_XMAX_INVALID | HEAP_XMAX_LOCK_ONLY) == 0
                && heaptuple::ctid(&t) != old;
            if status == HtsvResult::RecentlyDead {
                st.tuples_recently_dead += 1;
            }
            let mut ctid = None;
            if links {
                let k = key(heaptuple::ctid(&t), heaptuple::xmax(&t));
                match placed.remove(&k) {
                    Some(new) => ctid = Some(new),
                    None => {
                        unresolved.insert(k, (old, t));
                        continue;
                    }
                }
            }
            // Place it, then every waiting predecessor it resolves.
            let mut next = Some((old, t, ctid));
            while let Some((o, mut t, ctid)) = next.take() {
                let new = out.add(owner, &mut t, ctid)?;
                let xmin = heaptuple::xmin(&t);
                if heaptuple::infomask(&t) & HEAP_UPDATED != 0 && !vis.may_prune(xmin) {
                    match unresolved.remove(&key(o, xmin)) {
                        Some((po, pt)) => next = Some((po, pt, Some(new))),
                        None => {
                            placed.insert(key(o, xmin), new);
                        }
                    }
                }
            }
        }
    }
    // Predecessors whose successor never came (it was not copied): their
    // chain ends here.
    let mut rest: Vec<_> = unresolved.into_values().collect();
    rest.sort_by_key(|(o, _)| (o.block, o.offset));
    for (_, mut t) in rest {
        out.add(owner, &mut t, None)?;
    }
    out.write(owner)?;
    st.pages_written = out.written;
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lmgr::{DeadlockScratch, LockMgr};
    use crate::testutil::TestRegion;

    /// The figures of tests/vacuum.rs's truncation case (70 rows of 1 kB,
    /// rows 43..70 deleted), printed as PostgreSQL 15 printed them for the
    /// same table and statements (run against a real server).
    #[test]
    fn verbose_text_is_postgresqls() {
        let st = VacuumStats {
            pages_scanned: 10,
            tuples_removed: 28,
            tuples_remaining: 42,
            tuples_recently_dead: 0,
            dead_items_freed: 28,
            pages_with_dead_items: 4,
            pages_truncated: 4,
            pages_remaining: 6,
            truncate_skipped: false,
            free_space: 0,
            index_scans: 0,
            index_entries_removed: 0,
        };
        assert_eq!(
            st.truncate_message("t").unwrap(),
            "table \"t\": truncated 10 to 6 pages"
        );
        assert_eq!(
            st.verbose_lines(),
            vec![
                "pages: 4 removed, 6 remain, 10 scanned (100.00% of total)",
                "tuples: 28 removed, 42 remain, 0 are dead but not yet removable",
                "index scan not needed: 4 pages from table (40.00% of total) had 28 dead item identifiers removed",
            ]
        );
        let empty = VacuumStats::default();
        assert_eq!(empty.truncate_message("t"), None);
        assert_eq!(
            empty.verbose_lines()[2],
            "index scan not needed: 0 pages from table (100.00% of total) had 0 dead item identifiers removed"
        );
        let one = VacuumStats {
            pages_scanned: 6,
            pages_remaining: 6,
            pages_with_dead_items: 1,
            dead_items_freed: 4,
            ..VacuumStats::default()
        };
        assert_eq!(
            one.verbose_lines()[2],
            "index scan not needed: 1 pages from table (16.67% of total) had 4 dead item identifiers removed"
        );
        let full = RewriteStats {
            pages_read: 6,
            pages_written: 5,
            tuples_copied: 38,
            tuples_recently_dead: 0,
            tuples_removed: 0,
        };
        assert_eq!(
            full.verbose_message("public.t"),
            (
                "\"public.t\": found 0 removable, 38 nonremovable row versions in 6 pages".into(),
                "0 dead row versions cannot be removed yet.".into()
            )
        );
    }

    /// The lock manager's truncation lock is NOWAIT: refused at once while
    /// another backend holds RowExclusiveLock (an inserter), granted once
    /// it is gone, and given back by `unlock`.
    #[test]
    fn lmgr_truncate_lock_never_waits() {
        let r = TestRegion::new(4);
        // SAFETY: the region stays mapped for the whole test.
        let mgr = unsafe { LockMgr::attach(r.mem.base(), &r.layout, &r.sizing, r.procs) };
        let lw = r.lw();
        // SAFETY: plain system call.
        let pid = unsafe { libc::getpid() };
        let writer = r.procs.acquire_backend(pid, false, 0).unwrap() as u32;
        let vacuum = r.procs.acquire_backend(pid, false, 0).unwrap() as u32;
        let target = LockTarget::Relation { db: 5, rel: 16384 };
        let mut scratch = DeadlockScratch::new(r.procs.len());
        mgr.acquire(
            &lw,
            writer,
            &target.tag(),
            LockMode::RowExclusive,
            &WaitPolicy::default(),
            &mut scratch,
            &|| false,
        )
        .unwrap();
        let locks = LocalLocks::new(mgr, lw, vacuum, r.procs.len());
        let tl = LmgrTruncateLock {
            locks: &locks,
            db: 5,
            rel_oid: 16384,
        };
        let rel = RelFileLocator {
            spc: crate::smgr::DEFAULTTABLESPACE_OID,
            db: 5,
            rel: 16384,
        };
        let mut owner = ResourceOwner::default();
        let t = std::time::Instant::now();
        assert!(!tl.try_lock(&mut owner, rel).unwrap());
        assert!(t.elapsed() < std::time::Duration::from_secs(1), "no wait");
        assert!(owner.is_empty());
        assert!(mgr.release(&lw, writer, &target.tag(), LockMode::RowExclusive));
        assert!(tl.try_lock(&mut owner, rel).unwrap());
        assert_eq!(locks.held_count(target, LockMode::AccessExclusive), 1);
        // Now an inserter could not get in.
        let nowait = WaitPolicy {
            dont_wait: true,
            ..WaitPolicy::default()
        };
        assert!(mgr
            .acquire(
                &lw,
                writer,
                &target.tag(),
                LockMode::RowExclusive,
                &nowait,
                &mut scratch,
                &|| false,
            )
            .is_err());
        tl.unlock(&mut owner, rel);
        assert_eq!(locks.held_count(target, LockMode::AccessExclusive), 0);
        assert!(owner.is_empty());
        r.procs.release(vacuum as usize);
        r.procs.release(writer as usize);
    }
}
