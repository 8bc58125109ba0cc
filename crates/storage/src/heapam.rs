//! The heap access method: tuples inserted, fetched, scanned, deleted, updated and pruned in heap pages held in shared buffers (issue 9 items 1 and 3, part).
//!
//! Why this shape (PostgreSQL's `heapam.c`, `hio.c`, `pruneheap.c`):
//!
//! - **Tuples are copied out.** A scan or fetch share-locks the page, copies
//!   the tuples it returns into process memory and unlocks. No caller ever
//!   holds a reference into a shared page once the content lock is gone, so
//!   pruning (which moves tuples inside the page with
//!   [`page::repair_fragmentation`]) needs only the exclusive content lock,
//!   not PostgreSQL's cleanup lock (pin count 1), which the buffer manager
//!   does not have (`BM_PIN_COUNT_WAITER` is reserved). The price is one
//!   memcpy per returned tuple; the scan still keeps its page pinned while
//!   it hands that page's tuples out, as PostgreSQL's page-at-a-time scan
//!   does, and drops the pin when it moves on or closes.
//! - **Page choice through the free-space map** ([`crate::fsm`]). An insert
//!   tries the block this backend last inserted into ([`HeapRel`]'s target
//!   block, PostgreSQL's `rd_targblock`), then blocks the map says have
//!   room (recording the space it saw on every page it had to leave, so a
//!   stale hint costs one retry), then the relation's last block, then
//!   extends the relation under the relation extension lock. VACUUM fills
//!   the map ([`crate::vacuum`]); an update moving its row to another page
//!   asks the map once too.
//! - **Neighbours through traits.** The WAL ([`HeapWal`], implemented
//!   over the real WAL by [`crate::heapwal::XlogHeapWal`]), visibility
//!   ([`Visibility`], s3's snapshots and commit
//!   log) and the extension lock ([`ExtensionLock`], the lock manager of
//!   issue 10) are traits with small test implementations, so the heap is
//!   tested now and the real pieces plug in after merging.
//! - **Never block on a row.** `heap_delete` and `heap_update` report
//!   PostgreSQL's `TM_Result` ([`TmResult`]) instead of waiting for the
//!   transaction that holds the row: tuple lock waits come with the lock
//!   manager (issue 10).
//!
//! # Locking rules (deadlock freedom)
//!
//! 1. A process never waits for the extension lock while holding a content
//!    lock; under the extension lock it locks only the brand-new block.
//! 2. Holding two content locks (an update moving its row to another page)
//!    they are taken in ascending block order.
//! 3. Every change to a page happens under its exclusive content lock, in
//!    PostgreSQL's critical-section order: change the page, mark the
//!    buffer dirty, WAL-log, set the page LSN, unlock. The WAL logger may
//!    not fail after the page changed (a failure there is PANIC in
//!    PostgreSQL); [`HeapWal`]'s methods therefore return an LSN, not a
//!    `Result`.
//!
//! # What a heap change does to the tuple header (heaptuple.rs layout)
//!
//! ```text
//!              t_xmin  t_xmax  t_cid  t_ctid        infomask               infomask2
//! insert       xid     0       cmin   own TID       XMAX_INVALID           (natts)
//! delete       -       xid     cmax   own TID       -XMAX_INVALID,-hints   +KEYS_UPDATED
//! update old   -       xid     cmax   new TID       -XMAX_INVALID,-hints   +HOT_UPDATED if same page
//! update new   xid     0       cmin   own TID       XMAX_INVALID|UPDATED   +ONLY_TUPLE  if same page
//! ```
//!
//! A transaction that deletes a row it inserted overwrites cmin with cmax
//! (combo command ids are later work); the visibility oracle treats such a
//! tuple as inserted before it was deleted.
//!
//! Who may call: a backend (any process with a [`BufMgr`]) on relations it
//! has opened; everything here runs in the calling process and touches
//! shared memory only through the buffer manager's pins and content locks.

use std::cell::Cell;

use tusk_common::error::PgError;
use tusk_common::sqlstate;

use crate::bufmgr::{BufMgr, Pin};
use crate::fsm::Fsm;
use crate::heaptuple::{
    self, ItemPointer, HEAP_HOT_UPDATED, HEAP_KEYS_UPDATED, HEAP_ONLY_TUPLE, HEAP_UPDATED,
    HEAP_XMAX_COMMITTED, HEAP_XMAX_EXCL_LOCK, HEAP_XMAX_INVALID, HEAP_XMAX_IS_MULTI,
    HEAP_XMAX_KEYSHR_LOCK, HEAP_XMAX_LOCK_ONLY, HEAP_XMIN_COMMITTED, HEAP_XMIN_INVALID,
    MAX_HEAP_TUPLES_PER_PAGE, MAX_HEAP_TUPLE_SIZE,
};
use crate::lwlock::LwMode;
use crate::page::{self, AddAt, PageBuf, LP_NORMAL, LP_REDIRECT, PD_PAGE_FULL};
use crate::smgr::{BlockNumber, Fork, RelFileLocator};
use crate::xact::ResourceOwner;

/// A 64-bit transaction id (0 = invalid).
pub type Xid = u64;
/// A command id within a transaction.
pub type CommandId = u32;
/// A WAL position.
pub type Lsn = u64;

/// How many free-space-map hints an insert follows before it extends.
const FSM_TRIES: usize = 8;

/// What the heap needs from the WAL ([`crate::heapwal::XlogHeapWal`]
/// implements it with the real WAL). Called by the process changing the
/// page, with the page's exclusive content lock held, after the change and
/// before the unlock; the returned LSN (end of the record) becomes the
/// page's LSN. Each call gets the changed page(s) as they are now (page
/// LSN not yet set): the logger reads the changed tuple's header from
/// there, and takes a full-page image when the page's old LSN is at or
/// below the checkpoint's redo pointer. Must not fail: a failure after
/// the page changed is PANIC.
pub trait HeapWal {
    /// A tuple was added at `tid` (`init_page`: the page was initialised
    /// first, so redo can start from a fresh page).
    fn log_heap_insert(
        &self,
        rel: RelFileLocator,
        page: &PageBuf,
        tid: ItemPointer,
        init_page: bool,
        tuple: &[u8],
    ) -> Lsn;
    /// Tuples were added to one page at `offsets` (in that order) by
    /// one [`HeapRel::multi_insert`] step (`init_page`: the page was
    /// initialised first). The real logger writes one record for them
    /// all (PostgreSQL's XLOG_HEAP2_MULTI_INSERT); the default logs each
    /// as an insert, which test loggers count as such.
    fn log_heap_multi_insert(
        &self,
        rel: RelFileLocator,
        page: &PageBuf,
        block: BlockNumber,
        offsets: &[u16],
        init_page: bool,
    ) -> Lsn {
        let mut lsn = 0;
        for (i, &offset) in offsets.iter().enumerate() {
            let tid = ItemPointer { block, offset };
            let t = page::get_item(page, offset).expect("heapam logs the tuples it added");
            lsn = self.log_heap_insert(rel, page, tid, init_page && i == 0, t);
        }
        lsn
    }
    /// The tuple at `tid` got xmax `xid`, cid and infomask bits.
    fn log_heap_delete(
        &self,
        rel: RelFileLocator,
        page: &PageBuf,
        tid: ItemPointer,
        xid: Xid,
        infomask: u16,
    ) -> Lsn;
    /// `old` got xmax and ctid = `new`; `tuple` was added at `new` (same
    /// page when `hot`: `new_page` is then `None`). Logged once for both
    /// pages; the LSN goes to both.
    #[allow(clippy::too_many_arguments)]
    fn log_heap_update(
        &self,
        rel: RelFileLocator,
        old_page: &PageBuf,
        new_page: Option<&PageBuf>,
        old: ItemPointer,
        new: ItemPointer,
        hot: bool,
        init_page: bool,
        tuple: &[u8],
    ) -> Lsn;
    /// Pruning of `block`: line pointers made redirects (from, to), dead,
    /// or unused; redo repeats them and defragments the page.
    fn log_heap_prune(
        &self,
        rel: RelFileLocator,
        page: &PageBuf,
        block: BlockNumber,
        redirected: &[(u16, u16)],
        dead: &[u16],
        unused: &[u16],
    ) -> Lsn;
    /// The tuple at `tid` got a lock-only xmax `xid` with its lock-mode
    /// bits (XLOG_HEAP_LOCK, rowlock.rs). The default logs nothing
    /// (WAL-less test loggers) and returns 0: the page LSN is then kept.
    fn log_heap_lock(
        &self,
        _rel: RelFileLocator,
        _page: &PageBuf,
        _tid: ItemPointer,
        _xid: Xid,
    ) -> Lsn {
        0
    }
    /// Only hint fields of `block` changed (prune hint, PD_PAGE_FULL):
    /// returns the LSN of a full-page image record if the page needed one
    /// (its first change since the checkpoint), else 0 and nothing is
    /// logged. The default logs nothing (WAL-less test loggers).
    fn log_hint(&self, _rel: RelFileLocator, _page: &PageBuf, _block: BlockNumber) -> Lsn {
        0
    }
    /// The fork was just created (PostgreSQL's XLOG_SMGR_CREATE), so that
    /// redo creates it again even if no page of it was logged. The
    /// default logs nothing (WAL-less test loggers).
    fn log_smgr_create(&self, _rel: RelFileLocator, _fork: Fork) -> Lsn {
        0
    }
}

/// Result of checking a tuple for update or delete (PostgreSQL's TM_Result
/// plus `Invisible`, which PostgreSQL reports as an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TmResult {
    /// The tuple may be changed.
    Ok,
    /// Not visible to the command at all (an error for delete/update).
    Invisible,
    /// Changed by a later command of this transaction.
    SelfModified,
    /// Changed by a committed transaction that wrote a newer version.
    Updated,
    /// Deleted by a committed transaction.
    Deleted,
    /// Changed by a transaction still in progress.
    BeingModified,
    /// Locked by a running transaction in a mode that does not conflict,
    /// or carrying HEAP_XMAX_IS_MULTI (more lockers than xmax, holding
    /// tuple locks in the lock manager; rowlock.rs): take the tuple lock
    /// in the request's mode, then call again with the row "probed".
    ShareLocked,
}

/// A tuple's status for pruning (PostgreSQL's HTSV_Result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HtsvResult {
    /// No snapshot can see it any more: removable.
    Dead,
    /// Deleted, but some snapshot may still see it.
    RecentlyDead,
    Live,
    InsertInProgress,
    DeleteInProgress,
}

/// What the heap needs from transactions and snapshots (s3's
/// visibility.rs implements it). Each method reads only the tuple header
/// bytes it is given, which the caller holds under the page's content lock
/// (or has copied); implementations may consult the commit log but take no
/// buffer lock. Called by the backend owning the snapshot.
pub trait Visibility {
    /// HeapTupleSatisfiesMVCC: visible to the snapshot (and, for the
    /// snapshot's own transaction, to the current command).
    fn visible(&self, tuple: &[u8]) -> bool;
    /// HeapTupleSatisfiesUpdate for command `cid` of the current
    /// transaction. `Updated` and `Deleted` both mean "xmax committed";
    /// the heap tells them apart by t_ctid.
    fn satisfies_update(&self, tuple: &[u8], cid: CommandId) -> TmResult;
    /// HeapTupleSatisfiesVacuum against the implementation's removal
    /// horizon (GlobalVisState): only `Dead` tuples are pruned.
    fn satisfies_vacuum(&self, tuple: &[u8]) -> HtsvResult;
    /// PageIsPrunable: may a page whose oldest prunable xmax is
    /// `prune_xid` (never 0 here) have something to prune, i.e. is that
    /// xid older than the removal horizon? Saves a pass over a full page
    /// whose deleters are still needed.
    fn may_prune(&self, prune_xid: Xid) -> bool;
    /// Is `xid` one of the current transaction's (top level or a live
    /// subtransaction)? Lets a writer go ahead on a row it locked itself
    /// (rowlock.rs). The default, for oracles without lockers: no.
    fn is_current_xid(&self, _xid: Xid) -> bool {
        false
    }
}

/// The relation extension lock (the lock manager's, issue 10). Held for
/// the few instructions that add a block; see the locking rules.
pub trait ExtensionLock {
    fn lock(&self, rel: RelFileLocator);
    fn unlock(&self, rel: RelFileLocator);
}

/// Why a delete or update did not happen, as PostgreSQL's TM_FailureData.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TmFailure {
    pub result: TmResult,
    /// The tuple's t_ctid: where a newer version is (Updated).
    pub ctid: ItemPointer,
    pub xmax: Xid,
}

/// What [`HeapRel::update`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The new version is at `new`; `hot` when on the old page.
    Updated {
        new: ItemPointer,
        hot: bool,
    },
    Failed(TmFailure),
}

/// Statistics of one [`HeapRel::prune_page`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PruneStats {
    /// Tuples whose storage was removed.
    pub removed: usize,
    /// Free bytes between pd_lower and pd_upper afterwards.
    pub free_after: usize,
}

/// One backend's handle on a heap relation (the bit of a relcache entry
/// the heap needs): the relation, the neighbours, and the target block.
/// Only its process uses it.
pub struct HeapRel<'a> {
    pub rel: RelFileLocator,
    pub(crate) bm: &'a BufMgr,
    pub(crate) wal: &'a dyn HeapWal,
    pub(crate) ext: &'a dyn ExtensionLock,
    /// The block this backend last inserted into (rd_targblock).
    target: Cell<Option<BlockNumber>>,
    /// Bytes of each page new tuples leave free: BLCKSZ * (100 -
    /// fillfactor) / 100 ([`HeapRel::set_fillfactor`]; 0 by default).
    save_free: Cell<usize>,
    /// May a same-page update be HOT? False for a table with indexes
    /// (tusk does not yet compare indexed columns, so every new version
    /// gets its own index entries and must be reachable by its own TID).
    hot_ok: Cell<bool>,
    /// Does the next update change a key column (one of a unique index)?
    /// Then the old version gets HEAP_KEYS_UPDATED: the update conflicts
    /// with FOR KEY SHARE (rowlock.rs); else it is a FOR NO KEY UPDATE.
    key_update: Cell<bool>,
    /// The caller holds the tuple lock of the next row it changes or
    /// locks (after a [`TmResult::ShareLocked`]; rowlock.rs).
    probed: Cell<bool>,
}

fn corrupt(msg: String) -> PgError {
    PgError::error(sqlstate::DATA_CORRUPTED, msg)
}

pub(crate) fn internal(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::INTERNAL_ERROR, msg.into())
}

/// The tuple at `off` on a locked page, its header checked; `None` when the
/// line pointer is not a normal one. A bad line pointer or header is
/// XX001.
pub(crate) fn tuple_at(
    p: &PageBuf,
    block: BlockNumber,
    off: u16,
) -> Result<Option<&[u8]>, PgError> {
    let Some(id) = page::item_id(p, off) else {
        return Ok(None);
    };
    if id.flags != LP_NORMAL {
        return Ok(None);
    }
    let Some(t) = page::get_item(p, off) else {
        return Err(corrupt(format!(
            "corrupted line pointer: offset = {}, size = {} in block {block}",
            id.off, id.len
        )));
    };
    heaptuple::check_header(t)?;
    Ok(Some(t))
}

/// PostgreSQL's heap_get_root_tuples: for every line pointer of a heap
/// page, the offset of the root of the HOT chain its tuple belongs to (a
/// tuple that is not heap-only is its own root; a redirect's chain starts
/// at the redirect), 0 for none (unused, dead, or a heap-only tuple no
/// chain reaches). Index entries name roots: CREATE INDEX uses this so
/// that a heap-only version is indexed under the TID its chain is
/// reached by. The caller holds the page's content lock (share is
/// enough).
pub fn hot_roots(p: &PageBuf) -> Vec<u16> {
    let n = page::max_offset(p) as usize;
    let mut root_of = vec![0u16; n + 1];
    for root in 1..=n as u16 {
        let Some(id) = page::item_id(p, root) else {
            continue;
        };
        let mut off = match id.flags {
            LP_REDIRECT => id.off,
            LP_NORMAL => {
                let Some(t) = page::get_item(p, root) else {
                    continue;
                };
                if t.len() < heaptuple::SIZEOF_HEAP_TUPLE_HEADER
                    || heaptuple::infomask2(t) & HEAP_ONLY_TUPLE != 0
                {
                    continue;
                }
                root
            }
            _ => continue,
        };
        let mut prior_xmax: Option<Xid> = None;
        for _ in 0..=n {
            let Some(id) = page::item_id(p, off) else {
                break;
            };
            if id.flags != LP_NORMAL {
                break;
            }
            let Some(t) = page::get_item(p, off) else {
                break;
            };
            if t.len() < heaptuple::SIZEOF_HEAP_TUPLE_HEADER
                || (off != root && heaptuple::infomask2(t) & HEAP_ONLY_TUPLE == 0)
                || prior_xmax.is_some_and(|x| x != heaptuple::xmin(t))
                || root_of[off as usize] != 0
            {
                break;
            }
            root_of[off as usize] = root;
            let next = heaptuple::ctid(t);
            if heaptuple::infomask2(t) & HEAP_HOT_UPDATED == 0
                || next.offset == off
                || next.offset as usize > n
            {
                break;
            }
            prior_xmax = Some(heaptuple::xmax(t));
            off = next.offset;
        }
    }
    root_of
}

/// What [`HeapRel::hot_search`] asks of each member of a HOT chain: its
/// TID and bytes in, Some to stop there.
pub type HotPick<'a, R> = dyn FnMut(ItemPointer, &[u8]) -> Result<Option<R>, PgError> + 'a;

/// A page just read, checked as a heap page: pointers consistent, line
/// pointers inside the item area (PostgreSQL checks these in
/// heapgetpage/heap_page_prune). XX001 otherwise, never wrong data.
pub(crate) fn check_page(p: &PageBuf) -> Result<(), PgError> {
    if page::is_new(p) {
        return Ok(());
    }
    page::check_line_pointers(p).map_err(|e| e.to_pg_error())
}

/// Space a tuple of `len` bytes needs on a page (with its line pointer,
/// which heap_free_space already subtracts).
fn fits(p: &PageBuf, len: usize) -> bool {
    !page::is_new(p) && page::heap_free_space(p, MAX_HEAP_TUPLES_PER_PAGE) >= page::maxalign(len)
}

/// Lowers the page's prune hint to `xid` (0 = none).
fn note_prunable(p: &mut PageBuf, xid: Xid) {
    let cur = heaptuple::page_prune_xid(p);
    if cur == 0 || xid < cur {
        heaptuple::set_page_prune_xid(p, xid);
    }
}

/// Prepares a tuple header for insertion by `xid`/`cid`.
fn stamp_new(t: &mut [u8], xid: Xid, cid: CommandId, updated: bool) {
    heaptuple::set_xmin(t, xid);
    heaptuple::set_xmax(t, 0);
    heaptuple::set_cid(t, cid);
    let mut m = heaptuple::infomask(t)
        & !(HEAP_XMIN_COMMITTED
            | HEAP_XMIN_INVALID
            | HEAP_XMAX_COMMITTED
            | HEAP_XMAX_IS_MULTI
            | HEAP_XMAX_LOCK_ONLY
            | HEAP_XMAX_EXCL_LOCK
            | HEAP_XMAX_KEYSHR_LOCK
            | HEAP_UPDATED);
    m |= HEAP_XMAX_INVALID;
    if updated {
        m |= HEAP_UPDATED;
    }
    heaptuple::set_infomask(t, m);
    let m2 = heaptuple::infomask2(t) & !(HEAP_HOT_UPDATED | HEAP_ONLY_TUPLE | HEAP_KEYS_UPDATED);
    heaptuple::set_infomask2(t, m2);
}

/// Sets xmax/cmax on a tuple being deleted or replaced; returns its new
/// infomask.
fn stamp_xmax(t: &mut [u8], xid: Xid, cid: CommandId) -> u16 {
    heaptuple::set_xmax(t, xid);
    heaptuple::set_cid(t, cid);
    let m = heaptuple::infomask(t)
        & !(HEAP_XMAX_INVALID
            | HEAP_XMAX_COMMITTED
            | HEAP_XMAX_IS_MULTI
            | HEAP_XMAX_LOCK_ONLY
            | HEAP_XMAX_EXCL_LOCK
            | HEAP_XMAX_KEYSHR_LOCK);
    heaptuple::set_infomask(t, m);
    m
}

fn check_size(len: usize) -> Result<(), PgError> {
    if len > MAX_HEAP_TUPLE_SIZE {
        return Err(PgError::error(
            sqlstate::PROGRAM_LIMIT_EXCEEDED,
            format!("row is too big: size {len}, maximum size {MAX_HEAP_TUPLE_SIZE}"),
        ));
    }
    Ok(())
}

impl<'a> HeapRel<'a> {
    pub fn new(
        rel: RelFileLocator,
        bm: &'a BufMgr,
        wal: &'a dyn HeapWal,
        ext: &'a dyn ExtensionLock,
    ) -> HeapRel<'a> {
        HeapRel {
            rel,
            bm,
            wal,
            ext,
            target: Cell::new(None),
            save_free: Cell::new(0),
            hot_ok: Cell::new(true),
            key_update: Cell::new(false),
            probed: Cell::new(false),
        }
    }

    /// The table's fillfactor (10..=100): inserts, and updates that move
    /// a row to another page, leave `(100 - fillfactor)` % of each page
    /// free for later updates of its rows (PostgreSQL's
    /// RelationGetTargetPageFreeSpace); same-page updates may use it.
    pub fn set_fillfactor(&self, fillfactor: u8) {
        let ff = fillfactor.clamp(10, 100) as usize;
        self.save_free.set(page::BLCKSZ * (100 - ff) / 100);
    }

    /// Free space a page needs for a new tuple of `len` bytes here
    /// (RelationGetBufferForTuple's targetFreeSpace): the tuple plus the
    /// space fillfactor keeps, but never more than a nearly empty page
    /// has, so that an empty page always takes it.
    fn target_free(&self, len: usize) -> usize {
        let len = page::maxalign(len);
        let save = self.save_free.get();
        if save == 0 {
            return len;
        }
        let nearly_empty = MAX_HEAP_TUPLE_SIZE - (MAX_HEAP_TUPLES_PER_PAGE as usize / 8 * 4);
        if len + save > nearly_empty {
            len.max(nearly_empty)
        } else {
            len + save
        }
    }

    /// Whether a page has room for a new tuple of `len` bytes, fillfactor
    /// counted (see [`Self::target_free`]).
    fn fits_new(&self, p: &PageBuf, len: usize) -> bool {
        !page::is_new(p)
            && page::heap_free_space(p, MAX_HEAP_TUPLES_PER_PAGE) >= self.target_free(len)
    }

    /// Whether the caller holds the tuple lock of the row (see `probed`).
    pub fn set_probed(&self, yes: bool) {
        self.probed.set(yes);
    }

    pub(crate) fn probed(&self) -> bool {
        self.probed.get()
    }

    /// Whether the next update changes a key column (see `key_update`).
    pub fn set_key_update(&self, yes: bool) {
        self.key_update.set(yes);
    }

    /// Whether same-page updates may be HOT (see `hot_ok`); the backend
    /// turns it off for a table that has indexes.
    pub fn set_hot_allowed(&self, ok: bool) {
        self.hot_ok.set(ok);
    }

    /// HEAP_KEYS_UPDATED if the update being made changes a key column.
    fn keys_bit(&self) -> u16 {
        if self.key_update.get() {
            HEAP_KEYS_UPDATED
        } else {
            0
        }
    }

    /// Blocks in the relation's main fork (0 if it has no file yet).
    pub fn nblocks(&self) -> Result<BlockNumber, PgError> {
        let mut smgr = self.bm.smgr();
        if !smgr.exists(self.rel, Fork::Main)? {
            return Ok(0);
        }
        smgr.nblocks(self.rel, Fork::Main)
    }

    /// The relation's free-space map.
    pub fn fsm(&self) -> Fsm<'a> {
        Fsm::new(self.rel, self.bm, self.ext)
    }

    /// The block this backend will try first for its next insert.
    pub fn target_block(&self) -> Option<BlockNumber> {
        self.target.get()
    }

    /// Sets the target block remembered from an earlier use of the
    /// relation (the caller keeps it across `HeapRel`s, as PostgreSQL's
    /// relcache keeps rd_targblock). A block past the end is ignored.
    pub fn set_target_block(&self, b: Option<BlockNumber>) {
        self.target.set(b);
    }

    /// Adds a block under the extension lock and returns it pinned (not
    /// locked). Rule 1: the caller holds no content lock. Until CREATE
    /// TABLE creates relation files, the first extension creates the fork
    /// (under the same lock, so two first inserters cannot race).
    fn extend(&self, owner: &mut ResourceOwner) -> Result<Pin, PgError> {
        self.ext.lock(self.rel);
        let r = (|| {
            let mut smgr = self.bm.smgr();
            if !smgr.exists(self.rel, Fork::Main)? {
                smgr.create(self.rel, Fork::Main, true)?;
                self.wal.log_smgr_create(self.rel, Fork::Main);
            }
            drop(smgr);
            self.bm.extend(owner, self.rel, Fork::Main)
        })();
        self.ext.unlock(self.rel);
        r
    }

    /// PostgreSQL's heap_insert: stores `tuple` (formed by
    /// [`heaptuple::form_tuple`]) as inserted by `xid`/`cid` and returns
    /// its TID. `vis` supplies the pruning horizon used when the target
    /// page is full.
    pub fn insert(
        &self,
        owner: &mut ResourceOwner,
        vis: &dyn Visibility,
        mut tuple: Vec<u8>,
        xid: Xid,
        cid: CommandId,
    ) -> Result<ItemPointer, PgError> {
        heaptuple::check_header(&tuple)?;
        check_size(tuple.len())?;
        stamp_new(&mut tuple, xid, cid, false);
        let len = tuple.len();
        self.place(owner, len, |pin, block| {
            self.insert_on(pin, block, vis, &mut tuple)
        })
    }

    /// PostgreSQL's heap_multi_insert: stores `tuples` (each formed by
    /// [`heaptuple::form_tuple`]) as inserted by `xid`/`cid` and returns
    /// their TIDs in order. Each page taken is filled with as many of the
    /// next tuples as fit, under one exclusive lock and with one WAL
    /// record, instead of a lock, a page search and a record per tuple:
    /// what makes COPY and INSERT ... SELECT of many rows cheap.
    pub fn multi_insert(
        &self,
        owner: &mut ResourceOwner,
        vis: &dyn Visibility,
        tuples: &mut [Vec<u8>],
        xid: Xid,
        cid: CommandId,
    ) -> Result<Vec<ItemPointer>, PgError> {
        for t in tuples.iter_mut() {
            heaptuple::check_header(t)?;
            check_size(t.len())?;
            stamp_new(t, xid, cid, false);
        }
        let mut tids = Vec::with_capacity(tuples.len());
        while tids.len() < tuples.len() {
            let rest = &mut tuples[tids.len()..];
            let len = rest[0].len();
            let placed = self.place(owner, len, |pin, block| {
                self.insert_many_on(pin, block, vis, rest)
            })?;
            tids.extend(placed);
        }
        Ok(tids)
    }

    /// Finds a page with room for a tuple of `len` bytes and runs `on` on
    /// it pinned: `on` gives back its result, or the free space it saw,
    /// which goes into the free-space map before the next page is tried.
    fn place<R>(
        &self,
        owner: &mut ResourceOwner,
        len: usize,
        mut on: impl FnMut(&Pin, BlockNumber) -> Result<Result<R, usize>, PgError>,
    ) -> Result<R, PgError> {
        let fsm = self.fsm();
        // PostgreSQL's order (RelationGetBufferForTuple): the target
        // block, the map's hints (a bounded number: each wrong one is
        // corrected before the next search), the last block, a new one.
        // The target is tried first while its buffer is cached (then it
        // exists: no size lookup, the common case of a bulk insert).
        let mut tried = None;
        if let Some(t) = self.target.get() {
            if let Some(pin) = self
                .bm
                .read_buffer_if_cached(owner, self.rel, Fork::Main, t)?
            {
                let r = on(&pin, t);
                self.bm.release(owner, pin);
                match r? {
                    Ok(tid) => return Ok(tid),
                    Err(free) => fsm.record(owner, t, free)?,
                }
                tried = Some(t);
            }
        }
        let nblocks = self.nblocks()?;
        let target = self
            .target
            .get()
            .filter(|&t| t < nblocks && Some(t) != tried);
        let mut last = nblocks
            .checked_sub(1)
            .filter(|&l| Some(l) != target && Some(l) != tried);
        let mut first = target;
        let needed = self.target_free(len);
        let mut from_fsm = 0;
        loop {
            let hint = match first.take() {
                Some(b) => Some(b),
                None if from_fsm < FSM_TRIES => {
                    from_fsm += 1;
                    fsm.search(owner, needed, nblocks)?
                }
                None => None,
            };
            let Some(block) = hint.or_else(|| last.take()) else {
                break;
            };
            let pin = self.bm.read_buffer(owner, self.rel, Fork::Main, block)?;
            let r = on(&pin, block);
            self.bm.release(owner, pin);
            match r? {
                Ok(tid) => {
                    self.target.set(Some(block));
                    return Ok(tid);
                }
                Err(free) => fsm.record(owner, block, free)?,
            }
        }
        loop {
            let pin = self.extend(owner)?;
            let block = self.bm.pool().desc(pin.buffer()).tag.load().block;
            let r = on(&pin, block);
            self.bm.release(owner, pin);
            if let Ok(tid) = r? {
                self.target.set(Some(block));
                return Ok(tid);
            }
            // Another backend filled our new block first (it found it as
            // the last block): extend again.
        }
    }

    /// The page of `pin` exclusively locked (initialised when new, with
    /// whether it was) with room for a tuple of `len` bytes, pruned first
    /// if that is worth it; else the free space it has (the page marked
    /// full). The common start of [`Self::insert_on`] and
    /// [`Self::insert_many_on`].
    fn lock_for_insert<'p>(
        &'p self,
        pin: &'p Pin,
        block: BlockNumber,
        vis: &dyn Visibility,
        len: usize,
    ) -> Result<Result<(crate::bufmgr::ContentLock<'p>, bool), usize>, PgError> {
        let mut l = self.bm.lock(pin, LwMode::Exclusive);
        // Only the header: placing a tuple reads the free-space pointers
        // and (for a free line pointer) the line-pointer array, never an
        // item's bytes, and add_item keeps every pointer it writes inside
        // the area. Checking every line pointer here made each insert
        // O(tuples on the page), 11 % of a bulk INSERT's CPU; pruning and
        // every reader still check them.
        if !page::is_new(l.page()) {
            page::check_header(l.page()).map_err(|e| e.to_pg_error())?;
        }
        let mut init = false;
        if page::is_new(l.page()) {
            heaptuple::init_heap_page(l.page_mut());
            init = true;
        }
        if !self.fits_new(l.page(), len) {
            if self.prune_worthwhile(l.page(), vis) {
                self.prune_locked(&mut l, block, vis)?;
            }
            if !self.fits_new(l.page(), len) {
                let f = page::flags(l.page());
                page::set_flags(l.page_mut(), f | PD_PAGE_FULL);
                if init {
                    l.mark_dirty();
                }
                return Ok(Err(page::heap_free_space(
                    l.page(),
                    MAX_HEAP_TUPLES_PER_PAGE,
                )));
            }
        }
        Ok(Ok((l, init)))
    }

    /// Inserts on a pinned block if the tuple fits (after pruning if the
    /// page is full and has prunable tuples); else the free space it saw,
    /// for the free-space map.
    fn insert_on(
        &self,
        pin: &Pin,
        block: BlockNumber,
        vis: &dyn Visibility,
        tuple: &mut [u8],
    ) -> Result<Result<ItemPointer, usize>, PgError> {
        let (mut l, init) = match self.lock_for_insert(pin, block, vis, tuple.len())? {
            Ok(x) => x,
            Err(free) => return Ok(Err(free)),
        };
        // Critical section (rule 3).
        let p = l.page_mut();
        let off = page::add_item(p, tuple, AddAt::FirstFree, MAX_HEAP_TUPLES_PER_PAGE)
            .map_err(|e| e.to_pg_error())?;
        let tid = ItemPointer { block, offset: off };
        let item = page::get_item_mut(p, off).expect("item just added");
        heaptuple::set_ctid(item, tid);
        heaptuple::set_ctid(tuple, tid);
        l.mark_dirty();
        let lsn = self
            .wal
            .log_heap_insert(self.rel, l.page(), tid, init, tuple);
        page::set_lsn(l.page_mut(), lsn);
        Ok(Ok(tid))
    }

    /// [`Self::insert_on`] for the first of `tuples`, then as many of the
    /// next ones as fit on the same page (fillfactor counted) while the
    /// lock is held; one WAL record logs them all. The TIDs placed, or
    /// (none fit) the free space seen.
    fn insert_many_on(
        &self,
        pin: &Pin,
        block: BlockNumber,
        vis: &dyn Visibility,
        tuples: &mut [Vec<u8>],
    ) -> Result<Result<Vec<ItemPointer>, usize>, PgError> {
        let (mut l, init) = match self.lock_for_insert(pin, block, vis, tuples[0].len())? {
            Ok(x) => x,
            Err(free) => return Ok(Err(free)),
        };
        // Critical section (rule 3): every check that can fail is made
        // before the page changes.
        let save = self.save_free.get();
        let mut offsets = Vec::new();
        let p = l.page_mut();
        for (i, t) in tuples.iter_mut().enumerate() {
            if i > 0
                && page::heap_free_space(p, MAX_HEAP_TUPLES_PER_PAGE)
                    < page::maxalign(t.len()) + save
            {
                break;
            }
            let off = page::add_item(p, t, AddAt::FirstFree, MAX_HEAP_TUPLES_PER_PAGE)
                .map_err(|e| e.to_pg_error())?;
            let tid = ItemPointer { block, offset: off };
            let item = page::get_item_mut(p, off).expect("item just added");
            heaptuple::set_ctid(item, tid);
            heaptuple::set_ctid(t, tid);
            offsets.push(off);
        }
        l.mark_dirty();
        let lsn = self
            .wal
            .log_heap_multi_insert(self.rel, l.page(), block, &offsets, init);
        page::set_lsn(l.page_mut(), lsn);
        Ok(Ok(offsets
            .into_iter()
            .map(|offset| ItemPointer { block, offset })
            .collect()))
    }

    /// Block `block` pinned, or None when the relation is shorter (an
    /// index entry may name a block that VACUUM has since cut off). The
    /// file system is asked for the size only when the block could not be
    /// read: asking on every fetch was 4 % of a pgbench select-only
    /// backend's CPU and 2 % of a TPC-B one's, and asking on every uncached
    /// read still 3 % when the table outgrows shared_buffers.
    fn pin_existing(
        &self,
        owner: &mut ResourceOwner,
        block: BlockNumber,
    ) -> Result<Option<Pin>, PgError> {
        match self.bm.read_buffer(owner, self.rel, Fork::Main, block) {
            Ok(pin) => Ok(Some(pin)),
            Err(_) if block >= self.nblocks()? => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// PostgreSQL's heap_fetch: the tuple exactly at `tid` if it is visible
    /// (a copy), else None (also for a TID beyond the relation or a line
    /// pointer that holds no tuple).
    pub fn fetch(
        &self,
        owner: &mut ResourceOwner,
        vis: &dyn Visibility,
        tid: ItemPointer,
    ) -> Result<Option<Vec<u8>>, PgError> {
        let Some(pin) = self.pin_existing(owner, tid.block)? else {
            return Ok(None);
        };
        let r = (|| {
            let l = self.bm.lock(&pin, LwMode::Shared);
            // Only the header: tuple_at bounds the one item read.
            page::check_header(l.page()).map_err(|e| e.to_pg_error())?;
            Ok(tuple_at(l.page(), tid.block, tid.offset)?
                .filter(|t| vis.visible(t))
                .map(|t| t.to_vec()))
        })();
        self.bm.release(owner, pin);
        r
    }

    /// PostgreSQL's heap_hot_search_buffer: the in-page HOT chain that an
    /// index entry naming `tid` stands for, walked under ONE share lock of
    /// the page; `pick` is called on each member (oldest first, the
    /// tuple's bytes as they are on the page) until it returns Some, which
    /// is returned with the member's TID.
    ///
    /// Why one lock and only in-page links: pruning (under the exclusive
    /// lock) removes a chain's dead prefix, points the root's redirect
    /// past it and frees those line pointers for reuse. A walk that let go
    /// of the lock between members could hold the TID of a member pruned
    /// meanwhile, find nothing (or another row's tuple) there, and end
    /// before the version it was looking for: an UPDATE through the
    /// primary key then skipped its row, silently (found by
    /// scripts/torture.sh as a TPC-B balance that missed one transaction's
    /// delta). Under one lock the chain cannot change. A version on
    /// another page was put there by a non-HOT update, which gave it its
    /// own index entries: an index user never needs to leave the page.
    ///
    /// An entry naming a heap-only tuple directly (not through the root's
    /// redirect) names a recycled line pointer: nothing (index entries are
    /// not removed by VACUUM yet, so a stale one may name a slot that a
    /// newer heap-only tuple took). Any process with a pin-capable owner.
    pub fn hot_search<R>(
        &self,
        owner: &mut ResourceOwner,
        tid: ItemPointer,
        pick: &mut HotPick<'_, R>,
    ) -> Result<Option<(ItemPointer, R)>, PgError> {
        let Some(pin) = self.pin_existing(owner, tid.block)? else {
            return Ok(None);
        };
        let r = (|| {
            let l = self.bm.lock(&pin, LwMode::Shared);
            let p = l.page();
            // Only the header: every item below is reached through
            // tuple_at, which bounds it.
            page::check_header(p).map_err(|e| e.to_pg_error())?;
            let mut off = tid.offset;
            let mut at_start = true;
            let mut prior_xmax: Option<Xid> = None;
            let mut steps = 0usize;
            loop {
                steps += 1;
                if steps > MAX_HEAP_TUPLES_PER_PAGE as usize + 1 {
                    return Ok(None); // a cycle: only a corrupt page has one
                }
                let Some(id) = page::item_id(p, off) else {
                    return Ok(None);
                };
                if id.flags == LP_REDIRECT {
                    if !at_start {
                        return Ok(None);
                    }
                    off = id.off;
                    at_start = false;
                    continue;
                }
                let Some(t) = tuple_at(p, tid.block, off)? else {
                    return Ok(None);
                };
                if at_start && heaptuple::infomask2(t) & HEAP_ONLY_TUPLE != 0 {
                    return Ok(None);
                }
                at_start = false;
                if prior_xmax.is_some_and(|x| x != heaptuple::xmin(t)) {
                    return Ok(None);
                }
                let at = ItemPointer {
                    block: tid.block,
                    offset: off,
                };
                if let Some(v) = pick(at, t)? {
                    return Ok(Some((at, v)));
                }
                let next = heaptuple::ctid(t);
                if heaptuple::infomask2(t) & HEAP_HOT_UPDATED == 0
                    || next.block != tid.block
                    || next == at
                {
                    return Ok(None);
                }
                prior_xmax = Some(heaptuple::xmax(t));
                off = next.offset;
            }
        })();
        self.bm.release(owner, pin);
        r
    }

    /// Follows an update chain from `tid` through line-pointer redirects
    /// and t_ctid links (PostgreSQL's heap_get_latest_tid without the
    /// snapshot filter): every TID of the chain, oldest first. A link is
    /// followed only while the next tuple's xmin is the previous xmax, so
    /// a recycled line pointer is never mistaken for a newer version.
    pub fn update_chain(
        &self,
        owner: &mut ResourceOwner,
        mut tid: ItemPointer,
    ) -> Result<Vec<ItemPointer>, PgError> {
        let nblocks = self.nblocks()?;
        let mut chain = Vec::new();
        let mut prior_xmax: Option<Xid> = None;
        loop {
            if tid.block >= nblocks
                || chain.len() > nblocks as usize * MAX_HEAP_TUPLES_PER_PAGE as usize
            {
                return Ok(chain);
            }
            let pin = self
                .bm
                .read_buffer(owner, self.rel, Fork::Main, tid.block)?;
            let step = (|| -> Result<Option<(ItemPointer, Xid, ItemPointer)>, PgError> {
                let l = self.bm.lock(&pin, LwMode::Shared);
                let p = l.page();
                check_page(p)?;
                let mut off = tid.offset;
                if let Some(id) = page::item_id(p, off) {
                    if id.flags == LP_REDIRECT {
                        off = id.off;
                    }
                }
                let Some(t) = tuple_at(p, tid.block, off)? else {
                    return Ok(None);
                };
                if prior_xmax.is_some_and(|x| x != heaptuple::xmin(t)) {
                    return Ok(None);
                }
                let at = ItemPointer {
                    block: tid.block,
                    offset: off,
                };
                Ok(Some((at, heaptuple::xmax(t), heaptuple::ctid(t))))
            })();
            self.bm.release(owner, pin);
            let Some((at, xmax, next)) = step? else {
                return Ok(chain);
            };
            chain.push(at);
            if next == at || xmax == 0 {
                return Ok(chain);
            }
            prior_xmax = Some(xmax);
            tid = next;
        }
    }

    /// Checks the tuple at `tid` on its page (which the caller holds
    /// exclusively locked) for change by command `cid`: Ok(Ok) to go
    /// ahead, Ok(Err) with the TM_Result to report, Err if the tuple is not
    /// there or not visible at all.
    fn check_modifiable(
        &self,
        p: &PageBuf,
        tid: ItemPointer,
        vis: &dyn Visibility,
        cid: CommandId,
        what: &str,
    ) -> Result<Result<Option<crate::rowlock::Carry>, TmFailure>, PgError> {
        use crate::rowlock::{self as rl, RowLockMode};
        check_page(p)?;
        let Some(t) = tuple_at(p, tid.block, tid.offset)? else {
            return Err(internal(format!("attempted to {what} invisible tuple")));
        };
        let ctid = heaptuple::ctid(t);
        let xmax = heaptuple::xmax(t);
        // The strength of this change (rowlock.rs): a delete or key
        // update is FOR UPDATE, any other update FOR NO KEY UPDATE.
        let mode = if what == "delete" || self.key_update.get() {
            RowLockMode::Update
        } else {
            RowLockMode::NoKeyUpdate
        };
        let lock_only = rl::lock_only(t);
        let ours = lock_only && vis.is_current_xid(xmax);
        // Lockers beyond xmax hold tuple locks: take ours first.
        let probe = lock_only && rl::has_joiners(t) && !self.probed.get();
        let sat = vis.satisfies_update(t, cid);
        let compatible = lock_only && !rl::xmax_mode(t).is_some_and(|m| m.conflicts(mode));
        if probe
            && (sat == TmResult::Ok || (sat == TmResult::BeingModified && (ours || compatible)))
        {
            return Ok(Err(TmFailure {
                result: TmResult::ShareLocked,
                ctid,
                xmax,
            }));
        }
        let result = match sat {
            TmResult::Ok => return Ok(Ok(None)),
            // A row this transaction locked itself (SELECT FOR UPDATE,
            // rowlock.rs): the lock is ours, go ahead.
            TmResult::BeingModified if ours => return Ok(Ok(None)),
            // Locked by another running transaction in a mode this change
            // does not conflict with (FOR KEY SHARE and a non-key update):
            // go ahead; the new version carries the lock.
            TmResult::BeingModified if compatible => return Ok(Ok(Some(rl::carry_of(t)))),
            TmResult::Invisible => {
                return Err(internal(format!("attempted to {what} invisible tuple")))
            }
            TmResult::Updated | TmResult::Deleted => {
                if ctid == tid {
                    TmResult::Deleted
                } else {
                    TmResult::Updated
                }
            }
            r => r,
        };
        Ok(Err(TmFailure { result, ctid, xmax }))
    }

    /// PostgreSQL's heap_delete: sets xmax on the tuple at `tid` for
    /// `xid`/`cid`, or reports why not without waiting.
    pub fn delete(
        &self,
        owner: &mut ResourceOwner,
        vis: &dyn Visibility,
        tid: ItemPointer,
        xid: Xid,
        cid: CommandId,
    ) -> Result<Result<(), TmFailure>, PgError> {
        let Some(pin) = self.pin_existing(owner, tid.block)? else {
            return Err(internal("attempted to delete invisible tuple"));
        };
        let r = (|| {
            let mut l = self.bm.lock(&pin, LwMode::Exclusive);
            // A delete conflicts with every lock: never a lock to carry.
            if let Err(f) = self.check_modifiable(l.page(), tid, vis, cid, "delete")? {
                return Ok(Err(f));
            }
            let p = l.page_mut();
            let t = page::get_item_mut(p, tid.offset).expect("checked above");
            let m = stamp_xmax(t, xid, cid);
            let m2 = heaptuple::infomask2(t) & !HEAP_HOT_UPDATED;
            heaptuple::set_infomask2(t, m2 | HEAP_KEYS_UPDATED);
            note_prunable(p, xid);
            l.mark_dirty();
            let lsn = self.wal.log_heap_delete(self.rel, l.page(), tid, xid, m);
            page::set_lsn(l.page_mut(), lsn);
            Ok(Ok(()))
        })();
        self.bm.release(owner, pin);
        r
    }

    /// PostgreSQL's heap_update: replaces the tuple at `tid` by `tuple`
    /// for `xid`/`cid`. The new version goes on the same page when it fits
    /// (a HOT update: old HEAP_HOT_UPDATED, new HEAP_ONLY_TUPLE; with no
    /// indexes yet every same-page update qualifies — once indexes exist
    /// the caller will say whether an indexed column changed), else on
    /// another page; the old version's t_ctid points at the new one.
    pub fn update(
        &self,
        owner: &mut ResourceOwner,
        vis: &dyn Visibility,
        tid: ItemPointer,
        tuple: Vec<u8>,
        xid: Xid,
        cid: CommandId,
    ) -> Result<UpdateOutcome, PgError> {
        self.update_inner(owner, vis, tid, tuple, xid, cid, true)
    }

    #[allow(clippy::too_many_arguments)]
    fn update_inner(
        &self,
        owner: &mut ResourceOwner,
        vis: &dyn Visibility,
        tid: ItemPointer,
        mut tuple: Vec<u8>,
        xid: Xid,
        cid: CommandId,
        retry: bool,
    ) -> Result<UpdateOutcome, PgError> {
        heaptuple::check_header(&tuple)?;
        check_size(tuple.len())?;
        stamp_new(&mut tuple, xid, cid, true);
        let Some(old_pin) = self.pin_existing(owner, tid.block)? else {
            return Err(internal("attempted to update invisible tuple"));
        };
        // Same page first.
        let same = (|| -> Result<Option<UpdateOutcome>, PgError> {
            let mut l = self.bm.lock(&old_pin, LwMode::Exclusive);
            match self.check_modifiable(l.page(), tid, vis, cid, "update")? {
                Err(f) => return Ok(Some(UpdateOutcome::Failed(f))),
                Ok(carry) => crate::rowlock::set_carry(&mut tuple, carry),
            }
            if !fits(l.page(), tuple.len()) && self.prune_worthwhile(l.page(), vis) {
                // Pruning keeps the old tuple (visible to us, so not dead)
                // and its line pointer number.
                self.prune_locked(&mut l, tid.block, vis)?;
            }
            if !fits(l.page(), tuple.len()) {
                return Ok(None);
            }
            let p = l.page_mut();
            let off = page::add_item(p, &tuple, AddAt::FirstFree, MAX_HEAP_TUPLES_PER_PAGE)
                .map_err(|e| e.to_pg_error())?;
            let new = ItemPointer {
                block: tid.block,
                offset: off,
            };
            // Without HOT (a table with indexes) the new version is an
            // ordinary tuple on the same page: no flags, a plain UPDATE record.
            let hot = self.hot_ok.get();
            let (only, updated) = if hot {
                (HEAP_ONLY_TUPLE, HEAP_HOT_UPDATED)
            } else {
                (0, 0)
            };
            {
                let nt = page::get_item_mut(p, off).expect("item just added");
                heaptuple::set_ctid(nt, new);
                let m2 = heaptuple::infomask2(nt);
                heaptuple::set_infomask2(nt, m2 | only);
            }
            {
                let ot = page::get_item_mut(p, tid.offset).expect("checked above");
                stamp_xmax(ot, xid, cid);
                heaptuple::set_ctid(ot, new);
                let m2 = heaptuple::infomask2(ot) & !HEAP_KEYS_UPDATED;
                heaptuple::set_infomask2(ot, m2 | updated | self.keys_bit());
            }
            note_prunable(p, xid);
            heaptuple::set_ctid(&mut tuple, new);
            let m2 = heaptuple::infomask2(&tuple);
            heaptuple::set_infomask2(&mut tuple, m2 | only);
            l.mark_dirty();
            let lsn =
                self.wal
                    .log_heap_update(self.rel, l.page(), None, tid, new, hot, false, &tuple);
            page::set_lsn(l.page_mut(), lsn);
            Ok(Some(UpdateOutcome::Updated { new, hot }))
        })();
        match same {
            Ok(Some(out)) => {
                self.bm.release(owner, old_pin);
                return Ok(out);
            }
            Ok(None) => {}
            Err(e) => {
                self.bm.release(owner, old_pin);
                return Err(e);
            }
        }
        // Another page. The old page is unlocked while we find one (rules 1
        // and 2); the old tuple is checked again once both pages are locked,
        // and if someone changed it meanwhile we report that instead.
        let r = self.update_other_page(owner, vis, tid, &old_pin, &mut tuple, xid, cid, retry);
        self.bm.release(owner, old_pin);
        match r? {
            Some(out) => Ok(out),
            // While we looked elsewhere the old page got room (VACUUM
            // pruned it: the map says so): once more from the top.
            None => self.update_inner(owner, vis, tid, tuple, xid, cid, false),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn update_other_page(
        &self,
        owner: &mut ResourceOwner,
        vis: &dyn Visibility,
        tid: ItemPointer,
        old_pin: &Pin,
        tuple: &mut [u8],
        xid: Xid,
        cid: CommandId,
        retry: bool,
    ) -> Result<Option<UpdateOutcome>, PgError> {
        let nblocks = self.nblocks()?;
        // As insert: the target, the map's hints, the last block, a new one.
        let target = self.target.get().filter(|&t| t < nblocks && t != tid.block);
        let mut last = nblocks
            .checked_sub(1)
            .filter(|&l| l != tid.block && Some(l) != target);
        let mut first = target;
        let fsm = self.fsm();
        let needed = page::maxalign(tuple.len());
        let mut from_fsm = 0;
        loop {
            let next = if let Some(t) = first.take() {
                Some(t)
            } else if from_fsm < FSM_TRIES {
                from_fsm += 1;
                match fsm.search(owner, self.target_free(tuple.len()), nblocks)? {
                    Some(b) if b == tid.block => {
                        // The old page: it had no room when we looked.
                        let free = page::heap_free_space(
                            self.bm.lock(old_pin, LwMode::Shared).page(),
                            MAX_HEAP_TUPLES_PER_PAGE,
                        );
                        if retry && free >= needed {
                            return Ok(None);
                        }
                        fsm.record(owner, b, free)?;
                        continue;
                    }
                    None => {
                        // Nothing known: no more searches.
                        from_fsm = FSM_TRIES;
                        last.take()
                    }
                    found => found,
                }
            } else {
                last.take()
            };
            let pin = match next {
                Some(b) => self.bm.read_buffer(owner, self.rel, Fork::Main, b)?,
                None => self.extend(owner)?,
            };
            let block = self.bm.pool().desc(pin.buffer()).tag.load().block;
            let r = self.update_across(vis, tid, old_pin, &pin, block, tuple, xid, cid);
            self.bm.release(owner, pin);
            match r? {
                Ok(out) => {
                    if let UpdateOutcome::Updated { .. } = out {
                        self.target.set(Some(block));
                    }
                    return Ok(Some(out));
                }
                Err(free) if next.is_some() => fsm.record(owner, block, free)?,
                Err(_) => {}
            }
        }
    }

    /// Both pages locked in block order; the update if the new page has
    /// room and the old tuple is still ours to change; else the new page's
    /// free space, to try another page.
    #[allow(clippy::too_many_arguments)]
    fn update_across(
        &self,
        vis: &dyn Visibility,
        tid: ItemPointer,
        old_pin: &Pin,
        new_pin: &Pin,
        block: BlockNumber,
        tuple: &mut [u8],
        xid: Xid,
        cid: CommandId,
    ) -> Result<Result<UpdateOutcome, usize>, PgError> {
        let (mut ol, mut nl) = if block > tid.block {
            let o = self.bm.lock(old_pin, LwMode::Exclusive);
            (o, self.bm.lock(new_pin, LwMode::Exclusive))
        } else {
            let n = self.bm.lock(new_pin, LwMode::Exclusive);
            (self.bm.lock(old_pin, LwMode::Exclusive), n)
        };
        match self.check_modifiable(ol.page(), tid, vis, cid, "update")? {
            Err(f) => return Ok(Ok(UpdateOutcome::Failed(f))),
            Ok(carry) => crate::rowlock::set_carry(tuple, carry),
        }
        check_page(nl.page())?;
        let mut init = false;
        if page::is_new(nl.page()) {
            heaptuple::init_heap_page(nl.page_mut());
            init = true;
            nl.mark_dirty();
        }
        if !self.fits_new(nl.page(), tuple.len()) {
            return Ok(Err(page::heap_free_space(
                nl.page(),
                MAX_HEAP_TUPLES_PER_PAGE,
            )));
        }
        let np = nl.page_mut();
        let off = page::add_item(np, tuple, AddAt::FirstFree, MAX_HEAP_TUPLES_PER_PAGE)
            .map_err(|e| e.to_pg_error())?;
        let new = ItemPointer { block, offset: off };
        heaptuple::set_ctid(page::get_item_mut(np, off).expect("just added"), new);
        heaptuple::set_ctid(tuple, new);
        let op = ol.page_mut();
        {
            let ot = page::get_item_mut(op, tid.offset).expect("checked above");
            stamp_xmax(ot, xid, cid);
            heaptuple::set_ctid(ot, new);
            let m2 = heaptuple::infomask2(ot) & !(HEAP_HOT_UPDATED | HEAP_KEYS_UPDATED);
            heaptuple::set_infomask2(ot, m2 | self.keys_bit());
        }
        note_prunable(op, xid);
        ol.mark_dirty();
        nl.mark_dirty();
        let lsn = self.wal.log_heap_update(
            self.rel,
            ol.page(),
            Some(nl.page()),
            tid,
            new,
            false,
            init,
            tuple,
        );
        page::set_lsn(ol.page_mut(), lsn);
        page::set_lsn(nl.page_mut(), lsn);
        Ok(Ok(UpdateOutcome::Updated { new, hot: false }))
    }

    /// PostgreSQL's heap_page_prune on one block: locks it exclusively,
    /// removes the tuples `vis` calls dead, shortens in-page update chains
    /// and defragments the page.
    pub fn prune_page(
        &self,
        owner: &mut ResourceOwner,
        vis: &dyn Visibility,
        block: BlockNumber,
    ) -> Result<PruneStats, PgError> {
        let pin = self.bm.read_buffer(owner, self.rel, Fork::Main, block)?;
        let r = (|| {
            let mut l = self.bm.lock(&pin, LwMode::Exclusive);
            if page::is_new(l.page()) {
                return Ok(PruneStats::default());
            }
            self.prune_locked(&mut l, block, vis)
        })();
        self.bm.release(owner, pin);
        r
    }

    /// A full page is pruned before giving up on it when its prune hint
    /// says a deleter may now be below the horizon.
    fn prune_worthwhile(&self, p: &PageBuf, vis: &dyn Visibility) -> bool {
        let x = heaptuple::page_prune_xid(p);
        x != 0 && vis.may_prune(x)
    }

    /// Pruning under the caller's exclusive lock. Copy-out readers make the
    /// exclusive lock enough (file comment).
    ///
    /// For every chain root (a tuple that is not heap-only, or a redirect)
    /// the in-page HOT chain is walked; all members up to the newest Dead
    /// one are removable, because an older version is dead if a newer one
    /// is. A wholly dead chain leaves its root line pointer LP_DEAD (an
    /// index may point at it; VACUUM frees it later); otherwise the root
    /// becomes a redirect to the first surviving member. Removed heap-only
    /// members, and dead heap-only tuples no chain reaches (their updater
    /// aborted), become LP_UNUSED.
    fn prune_locked(
        &self,
        l: &mut crate::bufmgr::ContentLock<'_>,
        block: BlockNumber,
        vis: &dyn Visibility,
    ) -> Result<PruneStats, PgError> {
        check_page(l.page())?;
        let p = l.page();
        let n = page::max_offset(p) as usize;
        // Status of every normal tuple, and whether it is heap-only.
        let mut status: Vec<Option<HtsvResult>> = vec![None; n + 1];
        let mut heap_only = vec![false; n + 1];
        let mut min_keep_xmax: Xid = 0;
        for off in 1..=n as u16 {
            if let Some(t) = tuple_at(p, block, off)? {
                let s = vis.satisfies_vacuum(t);
                status[off as usize] = Some(s);
                heap_only[off as usize] = heaptuple::infomask2(t) & HEAP_ONLY_TUPLE != 0;
                if matches!(s, HtsvResult::RecentlyDead | HtsvResult::DeleteInProgress) {
                    let x = heaptuple::xmax(t);
                    if min_keep_xmax == 0 || x < min_keep_xmax {
                        min_keep_xmax = x;
                    }
                }
            }
        }
        let mut redirected: Vec<(u16, u16)> = Vec::new();
        let mut dead: Vec<u16> = Vec::new();
        let mut unused: Vec<u16> = Vec::new();
        let mut reached = vec![false; n + 1];
        for root in 1..=n as u16 {
            let id = page::item_id(p, root).expect("in range");
            let is_redirect = id.flags == LP_REDIRECT;
            if !(is_redirect || (status[root as usize].is_some() && !heap_only[root as usize])) {
                continue;
            }
            // Walk the chain: members in order, starting with the root's
            // tuple (or the redirect's target).
            let mut members: Vec<u16> = Vec::new();
            let mut next = if is_redirect { id.off } else { root };
            let mut prior_xmax: Option<Xid> = None;
            while (next as usize) <= n && next != 0 && !members.contains(&next) {
                let Some(t) = tuple_at(p, block, next)? else {
                    break;
                };
                if next != root && !heap_only[next as usize] {
                    break;
                }
                if prior_xmax.is_some_and(|x| x != heaptuple::xmin(t)) {
                    break;
                }
                members.push(next);
                reached[next as usize] = true;
                // PostgreSQL's heap_prune_chain stops at the first member
                // that is neither dead nor recently dead: a live tuple
                // whose HOT successor died because its updater aborted
                // must not be removed with it.
                if !matches!(
                    status[next as usize],
                    Some(HtsvResult::Dead | HtsvResult::RecentlyDead)
                ) {
                    break;
                }
                if heaptuple::infomask2(t) & HEAP_HOT_UPDATED == 0 {
                    break;
                }
                let c = heaptuple::ctid(t);
                if c.block != block {
                    break;
                }
                prior_xmax = Some(heaptuple::xmax(t));
                next = c.offset;
            }
            let last_dead = members
                .iter()
                .rposition(|&m| status[m as usize] == Some(HtsvResult::Dead));
            let Some(d) = last_dead else {
                if is_redirect && members.is_empty() {
                    // A redirect to nothing: the chain died earlier.
                    dead.push(root);
                }
                continue;
            };
            for &m in &members[..=d] {
                if m != root {
                    unused.push(m);
                }
            }
            if d + 1 == members.len() {
                dead.push(root);
            } else {
                redirected.push((root, members[d + 1]));
            }
        }
        for off in 1..=n as u16 {
            if heap_only[off as usize]
                && !reached[off as usize]
                && status[off as usize] == Some(HtsvResult::Dead)
            {
                unused.push(off);
            }
        }
        let removed = dead
            .iter()
            .filter(|&&o| status[o as usize].is_some())
            .count()
            + unused.len()
            + redirected
                .iter()
                .filter(|(r, _)| status[*r as usize].is_some())
                .count();
        let changed = !(redirected.is_empty() && dead.is_empty() && unused.is_empty());
        let p = l.page_mut();
        if changed {
            let bad = |e: page::PageError| e.to_pg_error();
            for &(from, to) in &redirected {
                page::set_redirect(p, from, to).map_err(bad)?;
            }
            for &o in &dead {
                page::mark_dead(p, o).map_err(bad)?;
            }
            for &o in &unused {
                page::mark_unused(p, o).map_err(bad)?;
            }
            page::repair_fragmentation(p).map_err(bad)?;
        }
        let hint_changed =
            heaptuple::page_prune_xid(p) != min_keep_xmax || page::flags(p) & PD_PAGE_FULL != 0;
        heaptuple::set_page_prune_xid(p, min_keep_xmax);
        let f = page::flags(p) & !PD_PAGE_FULL;
        page::set_flags(p, f);
        if changed {
            l.mark_dirty();
            let lsn =
                self.wal
                    .log_heap_prune(self.rel, l.page(), block, &redirected, &dead, &unused);
            page::set_lsn(l.page_mut(), lsn);
        } else if hint_changed {
            // Only hints changed: no prune record, but a write of the page
            // torn by a crash would fail its checksum, so the first such
            // change after a checkpoint logs the page (PostgreSQL's
            // MarkBufferDirtyHint / XLogSaveBufferForHint).
            l.mark_dirty();
            let lsn = self.wal.log_hint(self.rel, l.page(), block);
            if lsn != 0 {
                page::set_lsn(l.page_mut(), lsn);
            }
        }
        Ok(PruneStats {
            removed,
            free_after: page::exact_free_space(l.page()),
        })
    }

    /// Starts a sequential scan (PostgreSQL's heap_beginscan) over the
    /// blocks the relation has now; tuples visible to `vis`.
    pub fn begin_scan<'s>(&'s self, vis: &'s dyn Visibility) -> Result<HeapScan<'s, 'a>, PgError> {
        Ok(HeapScan {
            rel: self,
            vis,
            nblocks: self.nblocks()?,
            next_block: 0,
            pin: None,
            tuples: Vec::new(),
            pos: 0,
        })
    }
}

/// A sequential scan: one page pinned at a time, its visible tuples copied
/// out under a share lock (file comment). Close it with [`HeapScan::end`];
/// one dropped instead leaves its pin to the resource owner.
pub struct HeapScan<'s, 'a> {
    rel: &'s HeapRel<'a>,
    vis: &'s dyn Visibility,
    nblocks: BlockNumber,
    next_block: BlockNumber,
    pin: Option<Pin>,
    tuples: Vec<(ItemPointer, Vec<u8>)>,
    pos: usize,
}

impl HeapScan<'_, '_> {
    /// The next visible tuple and its TID, or None at the end. A damaged
    /// page is XX001 (from the buffer manager's verification or the line
    /// pointer and header checks), never wrong data.
    pub fn next(
        &mut self,
        owner: &mut ResourceOwner,
    ) -> Result<Option<(ItemPointer, Vec<u8>)>, PgError> {
        loop {
            if self.pos < self.tuples.len() {
                let (tid, t) = &mut self.tuples[self.pos];
                let out = (*tid, std::mem::take(t));
                self.pos += 1;
                return Ok(Some(out));
            }
            if let Some(pin) = self.pin.take() {
                self.rel.bm.release(owner, pin);
            }
            if self.next_block >= self.nblocks {
                return Ok(None);
            }
            let block = self.next_block;
            self.next_block += 1;
            self.tuples.clear();
            self.pos = 0;
            let pin = self
                .rel
                .bm
                .read_buffer(owner, self.rel.rel, Fork::Main, block)?;
            let r = (|| {
                let l = self.rel.bm.lock(&pin, LwMode::Shared);
                let p = l.page();
                check_page(p)?;
                for off in 1..=page::max_offset(p) {
                    if let Some(t) = tuple_at(p, block, off)? {
                        if self.vis.visible(t) {
                            self.tuples
                                .push((ItemPointer { block, offset: off }, t.to_vec()));
                        }
                    }
                }
                Ok::<(), PgError>(())
            })();
            self.pin = Some(pin);
            if let Err(e) = r {
                self.tuples.clear();
                return Err(e);
            }
        }
    }

    /// Ends the scan, releasing its pin (PostgreSQL's heap_endscan).
    pub fn end(mut self, owner: &mut ResourceOwner) {
        if let Some(pin) = self.pin.take() {
            self.rel.bm.release(owner, pin);
        }
    }
}

/// The simple visibility oracle of the tests and of the heap's first
/// users: a set of committed and a set of aborted xids (anything else is
/// in progress), the current transaction and command, and a removal
/// horizon. s3's snapshots replace it.
#[derive(Debug, Clone, Default)]
pub struct SetOracle {
    pub committed: std::collections::HashSet<Xid>,
    pub aborted: std::collections::HashSet<Xid>,
    /// The current transaction (0: none) and command.
    pub me: Xid,
    pub cid: CommandId,
    /// Xids below this are finished for every snapshot: a tuple deleted by
    /// a committed xid below it is dead.
    pub horizon: Xid,
}

impl SetOracle {
    fn committed(&self, x: Xid) -> bool {
        self.committed.contains(&x)
    }
    fn aborted(&self, x: Xid) -> bool {
        self.aborted.contains(&x)
    }
    fn xmax_valid(t: &[u8]) -> bool {
        heaptuple::infomask(t) & HEAP_XMAX_INVALID == 0 && heaptuple::xmax(t) != 0
    }
}

impl Visibility for SetOracle {
    fn visible(&self, t: &[u8]) -> bool {
        let xmin = heaptuple::xmin(t);
        let inserted = if xmin == self.me {
            // Combo cids are later work: a tuple both inserted and deleted
            // by us counts as inserted before the current command.
            heaptuple::xmax(t) == self.me || heaptuple::cid(t) < self.cid
        } else {
            self.committed(xmin)
        };
        if !inserted {
            return false;
        }
        if !Self::xmax_valid(t) {
            return true;
        }
        let xmax = heaptuple::xmax(t);
        if xmax == self.me {
            return heaptuple::cid(t) >= self.cid;
        }
        !self.committed(xmax)
    }

    fn satisfies_update(&self, t: &[u8], cid: CommandId) -> TmResult {
        let xmin = heaptuple::xmin(t);
        if xmin == self.me {
            if heaptuple::xmax(t) != self.me && heaptuple::cid(t) >= cid {
                return TmResult::Invisible;
            }
        } else if !self.committed(xmin) {
            return TmResult::Invisible;
        }
        if !Self::xmax_valid(t) {
            return TmResult::Ok;
        }
        let xmax = heaptuple::xmax(t);
        if xmax == self.me {
            return if heaptuple::cid(t) >= cid {
                TmResult::SelfModified
            } else {
                TmResult::Invisible
            };
        }
        if self.committed(xmax) {
            TmResult::Updated
        } else if self.aborted(xmax) {
            TmResult::Ok
        } else {
            TmResult::BeingModified
        }
    }

    fn may_prune(&self, prune_xid: Xid) -> bool {
        prune_xid < self.horizon
    }

    fn satisfies_vacuum(&self, t: &[u8]) -> HtsvResult {
        let xmin = heaptuple::xmin(t);
        if self.aborted(xmin) {
            return HtsvResult::Dead;
        }
        if !self.committed(xmin) {
            return HtsvResult::InsertInProgress;
        }
        if !Self::xmax_valid(t) {
            return HtsvResult::Live;
        }
        let xmax = heaptuple::xmax(t);
        if self.aborted(xmax) {
            HtsvResult::Live
        } else if !self.committed(xmax) {
            HtsvResult::DeleteInProgress
        } else if xmax < self.horizon {
            HtsvResult::Dead
        } else {
            HtsvResult::RecentlyDead
        }
    }
}
