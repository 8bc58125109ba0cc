//! The free-space map: one byte per heap block in the relation's `_fsm` fork, saying roughly how much room the block has, so that an insert finds a page with space without reading the heap (issue 9 item 8).
//!
//! Why this shape:
//!
//! - **A flat map, not PostgreSQL's tree.** PostgreSQL keeps a three-level
//!   tree of FSM pages, each page a binary max-heap over its slots, so a
//!   search is O(log n). Here a map page is a plain array of slot bytes
//!   plus one per-page upper bound ([`MAX_OFFSET`]) that lets a search skip
//!   a whole map page (8160 heap blocks, 64 MB of heap) with one byte read.
//!   A search is therefore linear in map pages, not in heap blocks: one
//!   map page per 64 MB, a few hundred for a 10 GB table. The tree is a
//!   later optimisation that changes no caller. So is PostgreSQL's
//!   `fp_next_slot`: every search starts at the first slot, so concurrent
//!   inserters looking for room meet on the same heap page (correct, each
//!   re-checks under the page lock, but they contend).
//! - **Same granularity as PostgreSQL**: a slot holds `free / 32` (a
//!   *category*, 0..=255), so a category-c slot promises at least 32·c
//!   bytes and a request for n bytes looks for category ⌈n / 32⌉.
//! - **A hint, never the truth.** Map pages live in shared buffers
//!   through the buffer manager like heap pages, but are **not WAL-logged**
//!   (as PostgreSQL's): a slot may be stale after a crash, a torn write or
//!   a race. Callers therefore check the heap page under its content lock
//!   (heapam's insert does) and, when the hint was wrong, record what they
//!   saw and ask again: a wrong hint costs one retry. A map page that fails
//!   verification (checksum, torn header) is re-read as zeroes: the map is
//!   rebuilt by the next VACUUM, never an ERROR. Slots beyond the heap's
//!   end (left by a crash before a truncation reached the map) are ignored:
//!   the search is bounded by the caller's heap block count.
//!
//! # A map page
//!
//! ```text
//! offset 0     page header (24 B), PageInit with no special space:
//!              pd_lsn 0 (never logged), pd_checksum set on write,
//!              pd_lower 24, pd_upper = pd_special = 8192
//! 24           max: u8   no slot of this page is above it (an upper
//!                        bound: raised by every store, lowered to the
//!                        exact maximum when a search finds nothing)
//! 25..32       reserved, zero
//! 32..8192     slot[i]: category of heap block  page·8160 + i
//! ```
//!
//! An all-zero block (extended, never written) is an empty map page: every
//! category 0, max 0. Heap block b is on map page b / 8160, slot b % 8160.
//!
//! Who may call: any backend (any process with a [`BufMgr`]) on a relation
//! it has open, holding **no buffer content lock**: storing into a slot of
//! a map page that does not exist yet extends the `_fsm` fork under the
//! relation extension lock (heapam's locking rule 1).

use tusk_common::error::PgError;
use tusk_common::sqlstate;

use crate::bufmgr::{BufMgr, Pin, ReadMode};
use crate::heapam::ExtensionLock;
use crate::lwlock::LwMode;
use crate::page::{self, PageBuf, BLCKSZ, SIZE_OF_PAGE_HEADER};
use crate::smgr::{BlockNumber, Fork, RelFileLocator};
use crate::xact::ResourceOwner;

/// Where a map page keeps its upper bound.
pub const MAX_OFFSET: usize = SIZE_OF_PAGE_HEADER;
/// Where its slots start.
pub const SLOTS_OFFSET: usize = SIZE_OF_PAGE_HEADER + 8;
/// Heap blocks one map page covers.
pub const SLOTS_PER_PAGE: usize = BLCKSZ - SLOTS_OFFSET;
/// Bytes per category step (PostgreSQL's FSM_CAT_STEP).
pub const CAT_STEP: usize = BLCKSZ / 256;

/// The category that `avail` free bytes earn (rounded down: the slot
/// never promises more than there is).
pub fn avail_to_cat(avail: usize) -> u8 {
    (avail / CAT_STEP).min(255) as u8
}

/// The smallest category that guarantees `needed` bytes (rounded up).
pub fn needed_to_cat(needed: usize) -> u8 {
    needed.div_ceil(CAT_STEP).min(255) as u8
}

/// The least free space a category promises.
pub fn cat_to_avail(cat: u8) -> usize {
    cat as usize * CAT_STEP
}

fn map_page_of(block: BlockNumber) -> (BlockNumber, usize) {
    (
        block / SLOTS_PER_PAGE as BlockNumber,
        block as usize % SLOTS_PER_PAGE,
    )
}

/// One backend's handle on a relation's free-space map. Only its process
/// uses it; it holds no state of its own.
pub struct Fsm<'a> {
    pub rel: RelFileLocator,
    bm: &'a BufMgr,
    ext: &'a dyn ExtensionLock,
}

impl<'a> Fsm<'a> {
    pub fn new(rel: RelFileLocator, bm: &'a BufMgr, ext: &'a dyn ExtensionLock) -> Fsm<'a> {
        Fsm { rel, bm, ext }
    }

    /// Map pages the fork has (0 when it has no file yet).
    pub fn npages(&self) -> Result<BlockNumber, PgError> {
        let mut smgr = self.bm.smgr();
        if !smgr.exists(self.rel, Fork::Fsm)? {
            return Ok(0);
        }
        smgr.nblocks(self.rel, Fork::Fsm)
    }

    /// Pins map page `page` (which exists). A page that fails verification
    /// is taken as zeroes: the map is a hint (file comment).
    fn read(&self, owner: &mut ResourceOwner, page: BlockNumber) -> Result<Pin, PgError> {
        match self.bm.read_buffer(owner, self.rel, Fork::Fsm, page) {
            Err(e) if e.code == sqlstate::DATA_CORRUPTED => {
                self.bm
                    .read_buffer_extended(owner, self.rel, Fork::Fsm, page, ReadMode::Zero)
            }
            r => r,
        }
    }

    /// Makes the fork at least `npages` long under the extension lock
    /// (rule 1: the caller holds no content lock).
    fn extend_to(&self, owner: &mut ResourceOwner, npages: BlockNumber) -> Result<(), PgError> {
        self.ext.lock(self.rel);
        let r = (|| {
            {
                let mut smgr = self.bm.smgr();
                if !smgr.exists(self.rel, Fork::Fsm)? {
                    smgr.create(self.rel, Fork::Fsm, true)?;
                }
            }
            // Added blocks stay all-zero (an empty map page) until a
            // store initialises them.
            while self.npages()? < npages {
                let pin = self.bm.extend(owner, self.rel, Fork::Fsm)?;
                self.bm.release(owner, pin);
            }
            Ok(())
        })();
        self.ext.unlock(self.rel);
        r
    }

    /// PostgreSQL's RecordPageWithFreeSpace: heap block `block` has
    /// `avail` free bytes (as [`page::heap_free_space`] counts them).
    pub fn record(
        &self,
        owner: &mut ResourceOwner,
        block: BlockNumber,
        avail: usize,
    ) -> Result<(), PgError> {
        let cat = avail_to_cat(avail);
        let (mp, slot) = map_page_of(block);
        if self.npages()? <= mp {
            if cat == 0 {
                // An absent page already says "no room".
                return Ok(());
            }
            self.extend_to(owner, mp + 1)?;
        }
        let pin = self.read(owner, mp)?;
        {
            let mut l = self.bm.lock(&pin, LwMode::Exclusive);
            let p = l.page_mut();
            if page::is_new(p) || !sane(p) {
                page::init(p, 0);
            }
            if p[SLOTS_OFFSET + slot] != cat {
                p[SLOTS_OFFSET + slot] = cat;
                if p[MAX_OFFSET] < cat {
                    p[MAX_OFFSET] = cat;
                }
                // Not WAL-logged: the map is a hint (file comment).
                l.mark_dirty();
            }
        }
        self.bm.release(owner, pin);
        Ok(())
    }

    /// The category recorded for heap block `block` (0 when unknown).
    pub fn category(&self, owner: &mut ResourceOwner, block: BlockNumber) -> Result<u8, PgError> {
        let (mp, slot) = map_page_of(block);
        if self.npages()? <= mp {
            return Ok(0);
        }
        let pin = self.read(owner, mp)?;
        let c = {
            let l = self.bm.lock(&pin, LwMode::Shared);
            let p = l.page();
            if page::is_new(p) || !sane(p) {
                0
            } else {
                p[SLOTS_OFFSET + slot]
            }
        };
        self.bm.release(owner, pin);
        Ok(c)
    }

    /// PostgreSQL's GetPageWithFreeSpace: the first heap block below
    /// `nblocks` whose slot promises `needed` bytes, or None. A map page
    /// whose upper bound is below the request is skipped unread; one whose
    /// bound proved stale gets its exact maximum back.
    pub fn search(
        &self,
        owner: &mut ResourceOwner,
        needed: usize,
        nblocks: BlockNumber,
    ) -> Result<Option<BlockNumber>, PgError> {
        let want = needed_to_cat(needed).max(1);
        let npages = self.npages()?;
        let used_pages = nblocks.div_ceil(SLOTS_PER_PAGE as BlockNumber);
        for mp in 0..npages.min(used_pages) {
            let pin = self.read(owner, mp)?;
            let base = mp as usize * SLOTS_PER_PAGE;
            let nslots = (nblocks as usize - base).min(SLOTS_PER_PAGE);
            let (found, stale) = {
                let l = self.bm.lock(&pin, LwMode::Shared);
                let p = l.page();
                if page::is_new(p) || !sane(p) || p[MAX_OFFSET] < want {
                    (None, false)
                } else {
                    let slots = &p[SLOTS_OFFSET..SLOTS_OFFSET + nslots];
                    match slots.iter().position(|&c| c >= want) {
                        Some(i) => (Some((base + i) as BlockNumber), false),
                        None => (None, nslots == SLOTS_PER_PAGE),
                    }
                }
            };
            if stale {
                // Lower the bound so the next search skips this page. Only
                // when the whole page was searched: slots beyond the heap's
                // end may be live again once the heap grows.
                let mut l = self.bm.lock(&pin, LwMode::Exclusive);
                let p = l.page_mut();
                if !page::is_new(p) && sane(p) {
                    let m = p[SLOTS_OFFSET..].iter().copied().max().unwrap_or(0);
                    if p[MAX_OFFSET] != m {
                        p[MAX_OFFSET] = m;
                        l.mark_dirty();
                    }
                }
            }
            self.bm.release(owner, pin);
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// The map's part of truncating the heap to `nblocks` blocks
    /// (PostgreSQL's FreeSpaceMapPrepareTruncateRel plus the fork's
    /// truncation): slots at and past `nblocks` are cleared and whole map
    /// pages past them removed, their buffers dropped first. The caller
    /// holds the relation exclusively (vacuum's truncation lock) and no
    /// content lock, and has pinned no map page.
    pub fn truncate(&self, owner: &mut ResourceOwner, nblocks: BlockNumber) -> Result<(), PgError> {
        let npages = self.npages()?;
        let (mp, slot) = map_page_of(nblocks);
        if mp < npages && slot > 0 {
            let pin = self.read(owner, mp)?;
            {
                let mut l = self.bm.lock(&pin, LwMode::Exclusive);
                let p = l.page_mut();
                if !page::is_new(p) && sane(p) {
                    p[SLOTS_OFFSET + slot..].fill(0);
                    p[MAX_OFFSET] = p[SLOTS_OFFSET..SLOTS_OFFSET + slot]
                        .iter()
                        .copied()
                        .max()
                        .unwrap_or(0);
                    l.mark_dirty();
                }
            }
            self.bm.release(owner, pin);
        }
        let keep = if slot > 0 { mp + 1 } else { mp };
        if keep < npages {
            self.bm.drop_relation_buffers(self.rel, Fork::Fsm, keep);
            self.bm.smgr().truncate(self.rel, Fork::Fsm, keep)?;
        }
        Ok(())
    }
}

/// A map page whose header we wrote (a torn one read with checksums off
/// is re-initialised by the next store, read as empty until then).
fn sane(p: &PageBuf) -> bool {
    page::lower(p) as usize == SIZE_OF_PAGE_HEADER && page::upper(p) as usize == BLCKSZ
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_round_the_safe_way() {
        assert_eq!(CAT_STEP, 32);
        assert_eq!(SLOTS_PER_PAGE, 8160);
        assert_eq!(avail_to_cat(0), 0);
        assert_eq!(avail_to_cat(31), 0);
        assert_eq!(avail_to_cat(32), 1);
        assert_eq!(avail_to_cat(8160), 255);
        assert_eq!(avail_to_cat(100_000), 255);
        assert_eq!(needed_to_cat(1), 1);
        assert_eq!(needed_to_cat(32), 1);
        assert_eq!(needed_to_cat(33), 2);
        // A slot that satisfies a request really has the room.
        for avail in 0..9000 {
            for needed in [1, 31, 32, 33, 100, 1000, 8000] {
                if avail_to_cat(avail) >= needed_to_cat(needed) {
                    assert!(avail >= needed, "{avail} {needed}");
                }
            }
        }
        assert_eq!(map_page_of(8159), (0, 8159));
        assert_eq!(map_page_of(8160), (1, 0));
    }
}
