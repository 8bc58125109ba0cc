//! The 8 kB slotted page every relation file is made of: header, line pointers, items, special space, checksum.
//!
//! Why PostgreSQL's layout, byte for byte: it is proven (line pointers give
//! tuples a stable address `(block, offset)` while the bytes behind them move
//! during compaction), every later layer (heap, B-tree, free-space map, WAL
//! full-page images) is specified in its terms, and keeping the header
//! identical lets the tests check our checksum against pages written by a real
//! PostgreSQL 15 (`testdata/pg15_*.bin`). Integers are little-endian — what
//! PostgreSQL writes on the x86-64 and arm64 hosts we run on — so a page means
//! the same thing whatever the host.
//!
//! The functions work on a plain `[u8; BLCKSZ]` rather than on a struct
//! because a page lives in a shared-buffer slot (shared memory, addressed by
//! offset), in a WAL full-page image and in a file; all three are just bytes.
//! Every read of an offset found *in* the page is bounds-checked, so a damaged
//! page gives an error, never a panic or a read outside the page.
//!
//! Who may call: any process (backend, startup, checkpointer). Once the
//! buffer pool exists, a caller reading a page in a shared buffer holds its
//! content lock in share mode at least, and one modifying it holds it
//! exclusively (issue 9 item 2); the functions themselves take no lock.
//!
//! ```text
//! page header (PageHeaderData), 24 bytes
//! offset size field
//!      0    4 pd_lsn.xlogid        high 32 bits of the LSN of the last WAL
//!      4    4 pd_lsn.xrecoff       record that changed the page (low bits)
//!      8    2 pd_checksum          pg_checksum_page(), 0 if checksums are off
//!     10    2 pd_flags             PD_HAS_FREE_LINES | PD_PAGE_FULL | PD_ALL_VISIBLE
//!     12    2 pd_lower             end of the line-pointer array
//!     14    2 pd_upper             start of the item area
//!     16    2 pd_special           start of the special space (BLCKSZ if none)
//!     18    2 pd_pagesize_version  BLCKSZ | PG_PAGE_LAYOUT_VERSION (0x2004)
//!     20    4 pd_prune_xid         prune hint (see heaptuple.rs for heap pages)
//!     24   4n line pointers 1..n   (ItemIdData, below)
//!
//! line pointer (ItemIdData), one 32-bit little-endian word
//!   bits  0..15 lp_off    byte offset of the item from the page start
//!   bits 15..17 lp_flags  LP_UNUSED 0, LP_NORMAL 1, LP_REDIRECT 2, LP_DEAD 3
//!   bits 17..32 lp_len    byte length of the item (0 = no storage)
//!
//! whole page
//!   0 ......... 24 ......... pd_lower ...... pd_upper ......... pd_special ...... 8192
//!   | header    | line ptrs  | free space    | items (grow down) | special space   |
//! ```
//! Items start at MAXALIGN (8-byte) offsets; line pointer numbers
//! (`OffsetNumber`) start at 1.

use tusk_common::error::PgError;
use tusk_common::sqlstate;

/// Page size; also the unit of every relation file.
pub const BLCKSZ: usize = 8192;
/// A page as it sits in a buffer, a file or a full-page image.
pub type PageBuf = [u8; BLCKSZ];

/// Alignment of items and of the special space (PostgreSQL's MAXALIGN on
/// 64-bit hosts).
pub const MAXIMUM_ALIGNOF: usize = 8;
pub const PG_PAGE_LAYOUT_VERSION: u16 = 4;

pub const OFF_LSN_HI: usize = 0;
pub const OFF_LSN_LO: usize = 4;
pub const OFF_CHECKSUM: usize = 8;
pub const OFF_FLAGS: usize = 10;
pub const OFF_LOWER: usize = 12;
pub const OFF_UPPER: usize = 14;
pub const OFF_SPECIAL: usize = 16;
pub const OFF_PAGESIZE_VERSION: usize = 18;
pub const OFF_PRUNE_XID: usize = 20;
pub const SIZE_OF_PAGE_HEADER: usize = 24;
pub const ITEM_ID_SIZE: usize = 4;

/// Some line pointer is LP_UNUSED: worth scanning before appending one.
pub const PD_HAS_FREE_LINES: u16 = 0x0001;
/// An UPDATE found no room on the page (a hint for pruning).
pub const PD_PAGE_FULL: u16 = 0x0002;
/// Every tuple on the page is visible to every transaction.
pub const PD_ALL_VISIBLE: u16 = 0x0004;
pub const PD_VALID_FLAG_BITS: u16 = 0x0007;

pub const LP_UNUSED: u8 = 0;
pub const LP_NORMAL: u8 = 1;
pub const LP_REDIRECT: u8 = 2;
pub const LP_DEAD: u8 = 3;

/// Largest line-pointer number a page can hold (all line pointers, no items).
pub const MAX_OFFSET_NUMBER: u16 = (BLCKSZ / ITEM_ID_SIZE) as u16;

const _: () = assert!(OFF_PRUNE_XID + 4 == SIZE_OF_PAGE_HEADER);
const _: () = assert!(OFF_LSN_LO + 4 == OFF_CHECKSUM);
const _: () = assert!(OFF_CHECKSUM + 2 == OFF_FLAGS);
const _: () = assert!(OFF_PAGESIZE_VERSION + 2 == OFF_PRUNE_XID);
const _: () = assert!(SIZE_OF_PAGE_HEADER.is_multiple_of(MAXIMUM_ALIGNOF));
// lp_off and lp_len are 15-bit fields: every offset and length in a page fits.
const _: () = assert!(BLCKSZ <= 1 << 15);
const _: () = assert!(BLCKSZ.is_multiple_of(4 * N_SUMS));

/// Round `len` up to MAXALIGN.
pub const fn maxalign(len: usize) -> usize {
    (len + MAXIMUM_ALIGNOF - 1) & !(MAXIMUM_ALIGNOF - 1)
}

fn get_u16(p: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([p[off], p[off + 1]])
}
fn put_u16(p: &mut [u8], off: usize, v: u16) {
    p[off..off + 2].copy_from_slice(&v.to_le_bytes());
}
fn get_u32(p: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(p[off..off + 4].try_into().unwrap())
}
fn put_u32(p: &mut [u8], off: usize, v: u32) {
    p[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// One line pointer, unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemId {
    /// Byte offset of the item (for LP_REDIRECT: the offset number redirected to).
    pub off: u16,
    pub flags: u8,
    pub len: u16,
}

impl ItemId {
    pub const UNUSED: ItemId = ItemId {
        off: 0,
        flags: LP_UNUSED,
        len: 0,
    };

    pub fn unpack(word: u32) -> ItemId {
        ItemId {
            off: (word & 0x7fff) as u16,
            flags: ((word >> 15) & 0x3) as u8,
            len: (word >> 17) as u16,
        }
    }

    pub fn pack(self) -> u32 {
        debug_assert!(self.off < 1 << 15 && self.len < 1 << 15 && self.flags < 4);
        (self.off as u32 & 0x7fff) | ((self.flags as u32 & 0x3) << 15) | ((self.len as u32) << 17)
    }

    /// PostgreSQL's ItemIdIsUsed: anything but LP_UNUSED.
    pub fn is_used(self) -> bool {
        self.flags != LP_UNUSED
    }

    /// PostgreSQL's ItemIdHasStorage: bytes in the item area belong to it.
    pub fn has_storage(self) -> bool {
        self.len != 0
    }
}

/// Why an operation on a page was refused. None of these is a panic: a page
/// read from disk may hold anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    /// Not enough free space between pd_lower and pd_upper.
    NoSpace,
    /// The requested offset is beyond max_offset + 1, or 0.
    OffsetTooLarge(u16),
    /// Overwrite mode found a line pointer still in use.
    ItemIdInUse(u16),
    /// A heap page may not hold more line pointers than this.
    TooManyItems(u16),
    /// The item is empty or larger than a page can hold.
    BadItemSize(usize),
    /// There is no line pointer with this number.
    NoSuchItem(u16),
    /// A line pointer value whose fields do not fit their bits.
    BadItemId(ItemId),
    /// A line pointer points outside the item area (PostgreSQL's "corrupted
    /// line pointer").
    CorruptLinePointer { offnum: u16, off: u16, len: u16 },
    /// pd_lower/pd_upper/pd_special are inconsistent.
    CorruptHeader {
        lower: u16,
        upper: u16,
        special: u16,
    },
}

impl PageError {
    /// The report PostgreSQL gives for the same condition.
    pub fn to_pg_error(&self) -> PgError {
        match self {
            PageError::CorruptLinePointer { off, len, .. } => PgError::error(
                sqlstate::DATA_CORRUPTED,
                format!("corrupted line pointer: offset = {off}, size = {len}"),
            ),
            PageError::CorruptHeader {
                lower,
                upper,
                special,
            } => PgError::error(
                sqlstate::DATA_CORRUPTED,
                format!("corrupted page pointers: lower = {lower}, upper = {upper}, special = {special}"),
            ),
            PageError::ItemIdInUse(_) => {
                PgError::error(sqlstate::INTERNAL_ERROR, "will not overwrite a used ItemId")
            }
            PageError::OffsetTooLarge(_) => {
                PgError::error(sqlstate::INTERNAL_ERROR, "specified item offset is too large")
            }
            PageError::TooManyItems(_) => PgError::error(
                sqlstate::INTERNAL_ERROR,
                "can't put more than MaxHeapTuplesPerPage items in a heap page",
            ),
            PageError::BadItemSize(n) => {
                PgError::error(sqlstate::PROGRAM_LIMIT_EXCEEDED, format!("row is too big: size {n}, maximum size {}", BLCKSZ - SIZE_OF_PAGE_HEADER - ITEM_ID_SIZE))
            }
            PageError::NoSuchItem(o) => {
                PgError::error(sqlstate::INTERNAL_ERROR, format!("invalid offnum: {o}"))
            }
            PageError::BadItemId(id) => PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!("invalid line pointer: offset = {}, flags = {}, size = {}", id.off, id.flags, id.len),
            ),
            PageError::NoSpace => PgError::error(sqlstate::INTERNAL_ERROR, "failed to add item to the page"),
        }
    }
}

/// Make `page` an empty page with `special_size` bytes of special space
/// (rounded up to MAXALIGN). PostgreSQL's PageInit.
pub fn init(page: &mut PageBuf, special_size: usize) {
    let special = BLCKSZ - maxalign(special_size);
    assert!(
        special >= SIZE_OF_PAGE_HEADER,
        "special space of {special_size} bytes does not fit a page"
    );
    page.fill(0);
    put_u16(page, OFF_LOWER, SIZE_OF_PAGE_HEADER as u16);
    put_u16(page, OFF_UPPER, special as u16);
    put_u16(page, OFF_SPECIAL, special as u16);
    put_u16(
        page,
        OFF_PAGESIZE_VERSION,
        BLCKSZ as u16 | PG_PAGE_LAYOUT_VERSION,
    );
}

/// A page never initialised (all of a freshly extended block is zero):
/// PostgreSQL's PageIsNew, pd_upper == 0.
pub fn is_new(page: &PageBuf) -> bool {
    get_u16(page, OFF_UPPER) == 0
}

pub fn lsn(page: &PageBuf) -> u64 {
    ((get_u32(page, OFF_LSN_HI) as u64) << 32) | get_u32(page, OFF_LSN_LO) as u64
}
pub fn set_lsn(page: &mut PageBuf, lsn: u64) {
    put_u32(page, OFF_LSN_HI, (lsn >> 32) as u32);
    put_u32(page, OFF_LSN_LO, lsn as u32);
}
pub fn checksum(page: &PageBuf) -> u16 {
    get_u16(page, OFF_CHECKSUM)
}
pub fn flags(page: &PageBuf) -> u16 {
    get_u16(page, OFF_FLAGS)
}
pub fn set_flags(page: &mut PageBuf, flags: u16) {
    put_u16(page, OFF_FLAGS, flags);
}
pub fn lower(page: &PageBuf) -> u16 {
    get_u16(page, OFF_LOWER)
}
pub fn upper(page: &PageBuf) -> u16 {
    get_u16(page, OFF_UPPER)
}
pub fn special_offset(page: &PageBuf) -> u16 {
    get_u16(page, OFF_SPECIAL)
}
pub fn pagesize_version(page: &PageBuf) -> u16 {
    get_u16(page, OFF_PAGESIZE_VERSION)
}
pub fn prune_xid(page: &PageBuf) -> u32 {
    get_u32(page, OFF_PRUNE_XID)
}
pub fn set_prune_xid(page: &mut PageBuf, xid: u32) {
    put_u32(page, OFF_PRUNE_XID, xid);
}

/// The special space (empty slice when there is none or the header is bad).
pub fn special(page: &PageBuf) -> &[u8] {
    let s = special_offset(page) as usize;
    if s > BLCKSZ {
        return &[];
    }
    &page[s..]
}
pub fn special_mut(page: &mut PageBuf) -> &mut [u8] {
    let s = special_offset(page) as usize;
    if s > BLCKSZ {
        return &mut [];
    }
    &mut page[s..]
}

/// Number of line pointers (PostgreSQL's PageGetMaxOffsetNumber): 0 for an
/// empty or uninitialised page.
pub fn max_offset(page: &PageBuf) -> u16 {
    let lower = lower(page) as usize;
    if lower <= SIZE_OF_PAGE_HEADER {
        0
    } else {
        ((lower.min(BLCKSZ) - SIZE_OF_PAGE_HEADER) / ITEM_ID_SIZE) as u16
    }
}

fn lp_pos(offnum: u16) -> usize {
    SIZE_OF_PAGE_HEADER + (offnum as usize - 1) * ITEM_ID_SIZE
}

/// Line pointer `offnum` (1-based), or None if the page has no such one.
pub fn item_id(page: &PageBuf, offnum: u16) -> Option<ItemId> {
    if offnum == 0 || offnum > max_offset(page) {
        return None;
    }
    Some(ItemId::unpack(get_u32(page, lp_pos(offnum))))
}

/// Overwrite line pointer `offnum`, which must exist.
pub fn set_item_id(page: &mut PageBuf, offnum: u16, id: ItemId) -> Result<(), PageError> {
    if offnum == 0 || offnum > max_offset(page) {
        return Err(PageError::NoSuchItem(offnum));
    }
    if id.off >= 1 << 15 || id.len >= 1 << 15 || id.flags > LP_DEAD {
        return Err(PageError::BadItemId(id));
    }
    put_item_id(page, offnum, id);
    Ok(())
}

/// set_item_id for offsets the caller has just checked or created.
fn put_item_id(page: &mut PageBuf, offnum: u16, id: ItemId) {
    put_u32(page, lp_pos(offnum), id.pack());
}

/// The bytes of item `offnum` if it is LP_NORMAL with storage inside the
/// item area; None otherwise (unused, dead, redirect, or pointing outside
/// the page — which [`check_line_pointers`] reports as corruption).
pub fn get_item(page: &PageBuf, offnum: u16) -> Option<&[u8]> {
    let id = item_id(page, offnum)?;
    let (start, end) = item_range(page, id)?;
    Some(&page[start..end])
}

/// Mutable access to item `offnum` (same rules as [`get_item`]); used to set
/// hint bits and xmax in place.
pub fn get_item_mut(page: &mut PageBuf, offnum: u16) -> Option<&mut [u8]> {
    let id = item_id(page, offnum)?;
    let (start, end) = item_range(page, id)?;
    Some(&mut page[start..end])
}

fn item_range(page: &PageBuf, id: ItemId) -> Option<(usize, usize)> {
    if id.flags != LP_NORMAL || !id.has_storage() {
        return None;
    }
    let start = id.off as usize;
    let end = start + id.len as usize;
    if start < upper(page) as usize || end > special_offset(page) as usize || end > BLCKSZ {
        return None;
    }
    Some((start, end))
}

/// Where [`add_item`] puts the new item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddAt {
    /// Reuse the first LP_UNUSED line pointer, else append one.
    FirstFree,
    /// Exactly at this offset: append if it is max_offset + 1, else move
    /// the line pointers from it on up by one (B-tree pages keep items
    /// ordered this way).
    Insert(u16),
    /// Exactly at this offset, reusing an LP_UNUSED line pointer there (or
    /// appending if it is max_offset + 1). WAL redo uses this to put a tuple
    /// back where it was.
    Overwrite(u16),
}

/// Add `item` to the page, returning its offset number. PostgreSQL's
/// PageAddItemExtended. `max_items` caps the line-pointer count (heap pages
/// pass MaxHeapTuplesPerPage, others [`MAX_OFFSET_NUMBER`]).
pub fn add_item(
    page: &mut PageBuf,
    item: &[u8],
    at: AddAt,
    max_items: u16,
) -> Result<u16, PageError> {
    check_header(page)?;
    if item.is_empty() || item.len() > BLCKSZ - SIZE_OF_PAGE_HEADER - ITEM_ID_SIZE {
        return Err(PageError::BadItemSize(item.len()));
    }
    let limit = max_offset(page) + 1;
    let mut shuffle = false;
    let offnum = match at {
        AddAt::FirstFree => {
            let mut found = None;
            if flags(page) & PD_HAS_FREE_LINES != 0 {
                for o in 1..limit {
                    let id = item_id(page, o).unwrap();
                    if !id.is_used() && !id.has_storage() {
                        found = Some(o);
                        break;
                    }
                }
                if found.is_none() {
                    // The hint was stale: clear it so that the next insert
                    // does not scan again.
                    set_flags(page, flags(page) & !PD_HAS_FREE_LINES);
                }
            }
            found.unwrap_or(limit)
        }
        AddAt::Insert(o) | AddAt::Overwrite(o) => {
            if o == 0 || o > limit {
                return Err(PageError::OffsetTooLarge(o));
            }
            if o < limit {
                if matches!(at, AddAt::Overwrite(_)) {
                    let id = item_id(page, o).unwrap();
                    if id.is_used() || id.has_storage() {
                        return Err(PageError::ItemIdInUse(o));
                    }
                } else {
                    shuffle = true;
                }
            }
            o
        }
    };
    if offnum > max_items {
        return Err(PageError::TooManyItems(max_items));
    }
    let new_lp = offnum == limit || shuffle;
    let lower = lower(page) as usize + if new_lp { ITEM_ID_SIZE } else { 0 };
    let aligned = maxalign(item.len());
    let upper = upper(page) as usize;
    if aligned > upper || lower > upper - aligned {
        return Err(PageError::NoSpace);
    }
    let upper = upper - aligned;
    if shuffle {
        let from = lp_pos(offnum);
        let to = lp_pos(limit);
        page.copy_within(from..to, from + ITEM_ID_SIZE);
    }
    put_u16(page, OFF_LOWER, lower as u16);
    put_u16(page, OFF_UPPER, upper as u16);
    put_item_id(
        page,
        offnum,
        ItemId {
            off: upper as u16,
            flags: LP_NORMAL,
            len: item.len() as u16,
        },
    );
    page[upper..upper + item.len()].copy_from_slice(item);
    // Padding up to the next item is zero, so the page (and its checksum)
    // does not depend on what the area held before.
    page[upper + item.len()..upper + aligned].fill(0);
    Ok(offnum)
}

/// Mark item `offnum` dead and drop its storage (PostgreSQL's ItemIdSetDead
/// as pruning uses it): the line pointer stays, so index entries pointing
/// here are not left dangling, and the bytes are reclaimed by the next
/// [`repair_fragmentation`].
pub fn mark_dead(page: &mut PageBuf, offnum: u16) -> Result<(), PageError> {
    set_item_id(
        page,
        offnum,
        ItemId {
            off: 0,
            flags: LP_DEAD,
            len: 0,
        },
    )
}

/// Free line pointer `offnum` for reuse (VACUUM, once no index points at it).
pub fn mark_unused(page: &mut PageBuf, offnum: u16) -> Result<(), PageError> {
    set_item_id(page, offnum, ItemId::UNUSED)?;
    set_flags(page, flags(page) | PD_HAS_FREE_LINES);
    Ok(())
}

/// Turn `offnum` into a redirect to `target` (the head of a pruned in-page
/// update chain).
pub fn set_redirect(page: &mut PageBuf, offnum: u16, target: u16) -> Result<(), PageError> {
    if target == 0 || target > max_offset(page) || target == offnum {
        return Err(PageError::NoSuchItem(target));
    }
    set_item_id(
        page,
        offnum,
        ItemId {
            off: target,
            flags: LP_REDIRECT,
            len: 0,
        },
    )
}

/// Check that the page header's free-space pointers are ordered and inside
/// the page (PostgreSQL's PageIsVerified header checks).
pub fn check_header(page: &PageBuf) -> Result<(), PageError> {
    let (lo, up, sp) = (lower(page), upper(page), special_offset(page));
    if (lo as usize) < SIZE_OF_PAGE_HEADER
        || lo > up
        || up > sp
        || sp as usize > BLCKSZ
        || sp as usize != maxalign(sp as usize)
    {
        return Err(PageError::CorruptHeader {
            lower: lo,
            upper: up,
            special: sp,
        });
    }
    Ok(())
}

/// Check that every line pointer with storage lies inside the item area.
pub fn check_line_pointers(page: &PageBuf) -> Result<(), PageError> {
    check_header(page)?;
    let (up, sp) = (upper(page) as usize, special_offset(page) as usize);
    for o in 1..=max_offset(page) {
        let id = item_id(page, o).unwrap();
        if id.is_used() && id.has_storage() {
            let (start, end) = (id.off as usize, id.off as usize + id.len as usize);
            if start < up || end > sp {
                return Err(PageError::CorruptLinePointer {
                    offnum: o,
                    off: id.off,
                    len: id.len,
                });
            }
        }
    }
    Ok(())
}

/// Squeeze out the space of dead and unused items: every item with storage
/// moves to the end of the item area, keeping its line-pointer number, and
/// the free space becomes one run again. PostgreSQL's
/// PageRepairFragmentation; sets PD_HAS_FREE_LINES exactly when some line
/// pointer is unused. Refuses (changing nothing) if a line pointer is
/// corrupt, as PostgreSQL does, rather than copy bytes from outside the area.
pub fn repair_fragmentation(page: &mut PageBuf) -> Result<(), PageError> {
    check_line_pointers(page)?;
    let nline = max_offset(page);
    let mut items: Vec<(u16, ItemId)> = Vec::with_capacity(nline as usize);
    let mut unused = 0;
    for o in 1..=nline {
        let id = item_id(page, o).unwrap();
        if id.is_used() {
            if id.has_storage() {
                items.push((o, id));
            }
        } else {
            put_item_id(page, o, ItemId::UNUSED);
            unused += 1;
        }
    }
    let total: usize = items.iter().map(|(_, id)| maxalign(id.len as usize)).sum();
    let special = special_offset(page) as usize;
    if total > special - lower(page) as usize {
        // Items overlap each other: only a damaged page can say so.
        return Err(PageError::CorruptHeader {
            lower: lower(page),
            upper: upper(page),
            special: special as u16,
        });
    }
    // Copy the items out first: they may overlap their new positions.
    let mut scratch = [0u8; BLCKSZ];
    let mut pos = special;
    // Highest offset first keeps items in the same physical order as
    // PostgreSQL's compactify_tuples for an unsorted page.
    items.sort_by_key(|(_, id)| std::cmp::Reverse(id.off));
    let mut moved = Vec::with_capacity(items.len());
    for (o, id) in &items {
        pos -= maxalign(id.len as usize);
        let len = id.len as usize;
        scratch[pos..pos + len].copy_from_slice(&page[id.off as usize..id.off as usize + len]);
        moved.push((*o, pos as u16, *id));
    }
    let lower_now = lower(page) as usize;
    page[lower_now..special].copy_from_slice(&scratch[lower_now..special]);
    for (o, newoff, id) in moved {
        put_item_id(page, o, ItemId { off: newoff, ..id });
    }
    put_u16(page, OFF_UPPER, pos as u16);
    let f = flags(page);
    set_flags(
        page,
        if unused > 0 {
            f | PD_HAS_FREE_LINES
        } else {
            f & !PD_HAS_FREE_LINES
        },
    );
    Ok(())
}

/// Bytes between pd_lower and pd_upper (PostgreSQL's PageGetExactFreeSpace).
pub fn exact_free_space(page: &PageBuf) -> usize {
    (upper(page) as usize).saturating_sub(lower(page) as usize)
}

/// Room for one more item including its new line pointer (PostgreSQL's
/// PageGetFreeSpace): the figure the free-space map records.
pub fn free_space(page: &PageBuf) -> usize {
    exact_free_space(page).saturating_sub(ITEM_ID_SIZE)
}

/// [`free_space`] for heap pages: 0 when the page already has `max_items`
/// line pointers and none is free, since no tuple can then be added
/// (PostgreSQL's PageGetHeapFreeSpace).
pub fn heap_free_space(page: &PageBuf, max_items: u16) -> usize {
    let space = free_space(page);
    if space == 0 {
        return 0;
    }
    let nline = max_offset(page);
    if nline >= max_items {
        if flags(page) & PD_HAS_FREE_LINES == 0 {
            return 0;
        }
        let any_free = (1..=nline).any(|o| {
            let id = item_id(page, o).unwrap();
            !id.is_used() && !id.has_storage()
        });
        if !any_free {
            return 0;
        }
    }
    space
}

// ---------------------------------------------------------------------------
// Checksums
// ---------------------------------------------------------------------------

/// PostgreSQL's page checksum: FNV-1a, 4 bytes at a time, with an extra
/// `>> 17` mix of the high bits, over 32 independent lanes (so compilers can
/// vectorise it); word `i` of the page goes to lane `i % 32`. The lane
/// count and seeds are part of the on-disk format.
const N_SUMS: usize = 32;
const FNV_PRIME: u32 = 16_777_619;
const CHECKSUM_SEEDS: [u32; N_SUMS] = [
    0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
    0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
    0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
    0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756,
];

#[inline]
fn mix(sum: u32, value: u32) -> u32 {
    let t = sum ^ value;
    t.wrapping_mul(FNV_PRIME) ^ (t >> 17)
}

/// The checksum `page` must carry as block `blkno` of its fork. The stored
/// pd_checksum is treated as zero, so this works on a page that has one.
/// Mixing in the block number catches a page written to the wrong place.
pub fn checksum_page(page: &PageBuf, blkno: u32) -> u16 {
    let mut sums = CHECKSUM_SEEDS;
    // Row by row of 32 words, one word per lane: the inner loop has no
    // dependency between lanes, so the compiler can keep the lanes in
    // vector registers. The first row is copied to blank pd_checksum (the
    // low half of word 2 on a little-endian page) without touching the page.
    let mut first = [0u8; 4 * N_SUMS];
    first.copy_from_slice(&page[..4 * N_SUMS]);
    first[OFF_CHECKSUM..OFF_CHECKSUM + 2].fill(0);
    let rows = std::iter::once(&first[..]).chain(page[4 * N_SUMS..].chunks_exact(4 * N_SUMS));
    for row in rows {
        for (lane, word) in sums.iter_mut().zip(row.chunks_exact(4)) {
            *lane = mix(*lane, u32::from_le_bytes(word.try_into().unwrap()));
        }
    }
    for _ in 0..2 {
        for s in sums.iter_mut() {
            *s = mix(*s, 0);
        }
    }
    let folded = sums.iter().fold(0u32, |acc, s| acc ^ s) ^ blkno;
    // Never 0, so a zero pd_checksum always means "not set".
    ((folded % 65535) + 1) as u16
}

/// Store the checksum for block `blkno` in pd_checksum; done just before
/// the page is written out (the buffer manager, on a copy of the buffer).
pub fn set_checksum(page: &mut PageBuf, blkno: u32) {
    let c = checksum_page(page, blkno);
    put_u16(page, OFF_CHECKSUM, c);
}

/// Why a page read from disk was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    Checksum {
        calculated: u16,
        expected: u16,
    },
    Header {
        lower: u16,
        upper: u16,
        special: u16,
        flags: u16,
        pagesize_version: u16,
    },
    /// pd_upper is 0 (a never-initialised page) but the page is not all zero.
    NonZeroNewPage,
}

impl VerifyError {
    /// PostgreSQL's WARNING text for a checksum mismatch, logged before
    /// the ERROR of [`VerifyError::to_pg_error`].
    pub fn warning(&self) -> Option<String> {
        match self {
            VerifyError::Checksum {
                calculated,
                expected,
            } => Some(format!(
                "page verification failed, calculated checksum {calculated} but expected {expected}"
            )),
            _ => None,
        }
    }

    /// The ERROR a reader gets: "invalid page in block %u of relation %s",
    /// SQLSTATE XX001, never the page's contents.
    pub fn to_pg_error(&self, blkno: u32, relpath: &str) -> PgError {
        PgError::error(
            sqlstate::DATA_CORRUPTED,
            format!("invalid page in block {blkno} of relation {relpath}"),
        )
    }
}

/// Decide whether a page just read from disk may be used: PostgreSQL's
/// PageIsVerified. An all-zero page is valid (a block extended but never
/// written before a crash); otherwise the header must be sane and, when
/// `checksums` is on, pd_checksum must match.
pub fn verify(page: &PageBuf, blkno: u32, checksums: bool) -> Result<(), VerifyError> {
    if is_new(page) {
        if page.iter().all(|&b| b == 0) {
            return Ok(());
        }
        return Err(VerifyError::NonZeroNewPage);
    }
    if checksums {
        let calculated = checksum_page(page, blkno);
        let expected = checksum(page);
        if calculated != expected {
            return Err(VerifyError::Checksum {
                calculated,
                expected,
            });
        }
    }
    let (lo, up, sp, fl, pv) = (
        lower(page),
        upper(page),
        special_offset(page),
        flags(page),
        pagesize_version(page),
    );
    if fl & !PD_VALID_FLAG_BITS != 0
        || (lo as usize) < SIZE_OF_PAGE_HEADER
        || lo > up
        || up > sp
        || sp as usize > BLCKSZ
        || sp as usize != maxalign(sp as usize)
        || pv != BLCKSZ as u16 | PG_PAGE_LAYOUT_VERSION
    {
        return Err(VerifyError::Header {
            lower: lo,
            upper: up,
            special: sp,
            flags: fl,
            pagesize_version: pv,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG_BLK0: &[u8; BLCKSZ] = include_bytes!("../testdata/pg15_heap_t_blk0.bin");
    const PG_BLK7: &[u8; BLCKSZ] = include_bytes!("../testdata/pg15_heap_t_blk7.bin");

    fn new_page(special: usize) -> Box<PageBuf> {
        let mut p = Box::new([0xAAu8; BLCKSZ]);
        init(&mut p, special);
        p
    }

    #[test]
    fn init_writes_postgres_header() {
        let p = new_page(16);
        assert_eq!(lower(&p), 24);
        assert_eq!(upper(&p), 8176);
        assert_eq!(special_offset(&p), 8176);
        assert_eq!(pagesize_version(&p), 0x2004);
        assert_eq!(&p[18..20], &[0x04, 0x20]);
        assert_eq!(special(&p).len(), 16);
        assert!(special(&p).iter().all(|&b| b == 0));
        assert_eq!(max_offset(&p), 0);
        assert!(!is_new(&p));
        // Special size is rounded up to MAXALIGN.
        let p = new_page(5);
        assert_eq!(special_offset(&p), 8184);
        assert_eq!(
            verify(&p, 0, true).unwrap_err(),
            VerifyError::Checksum {
                calculated: checksum_page(&p, 0),
                expected: 0
            }
        );
    }

    #[test]
    fn lsn_is_stored_high_word_first() {
        let mut p = new_page(0);
        set_lsn(&mut p, 0x0000_0001_0203_0405);
        assert_eq!(&p[0..8], &[1, 0, 0, 0, 5, 4, 3, 2]);
        assert_eq!(lsn(&p), 0x0000_0001_0203_0405);
    }

    #[test]
    fn item_id_bit_layout_matches_postgres() {
        // First line pointer of a real PostgreSQL 15 heap page: bytes
        // d0 9f 52 00 → offset 8144, LP_NORMAL, 41 bytes.
        let id = item_id(PG_BLK0, 1).unwrap();
        assert_eq!(
            id,
            ItemId {
                off: 8144,
                flags: LP_NORMAL,
                len: 41
            }
        );
        assert_eq!(id.pack(), u32::from_le_bytes([0xd0, 0x9f, 0x52, 0x00]));
        for (off, flags, len) in [(0, 0, 0), (0x7fff, 3, 0x7fff), (8000, 2, 1), (24, 1, 8168)] {
            let id = ItemId { off, flags, len };
            assert_eq!(ItemId::unpack(id.pack()), id);
        }
        assert_eq!(max_offset(PG_BLK0), 97);
        assert_eq!(max_offset(PG_BLK7), 57);
    }

    #[test]
    fn checksum_matches_postgres_15_pages() {
        // Blocks 0 and 7 of a table written by PostgreSQL 15 in a cluster
        // made with `initdb -k`; their pd_checksum was computed by
        // pg_checksum_page.
        for (page, blkno) in [(PG_BLK0, 0u32), (PG_BLK7, 7)] {
            assert_ne!(checksum(page), 0);
            assert_eq!(checksum_page(page, blkno), checksum(page), "block {blkno}");
            verify(page, blkno, true).unwrap();
            // The same page at another block number does not verify.
            let other = blkno + 1;
            assert!(matches!(
                verify(page, other, true),
                Err(VerifyError::Checksum { .. })
            ));
        }
        assert_eq!(checksum(PG_BLK0), 0xcb12);
    }

    #[test]
    fn checksum_and_special_space_of_postgres_15_btree_pages() {
        // The metapage and a leaf page of a primary-key index on 3000 rows,
        // written by PostgreSQL 15 with checksums: 16 bytes of special
        // space (BTPageOpaqueData) each.
        let meta: &PageBuf = include_bytes!("../testdata/pg15_btree_blk0_meta.bin");
        let leaf: &PageBuf = include_bytes!("../testdata/pg15_btree_blk2_leaf.bin");
        for (p, blkno) in [(meta, 0u32), (leaf, 2)] {
            assert_eq!(checksum_page(p, blkno), checksum(p), "block {blkno}");
            verify(p, blkno, true).unwrap();
            assert_eq!(special_offset(p), 8176);
            assert_eq!(special(p).len(), 16);
        }
        // The metapage keeps its metadata right after the header and sets
        // pd_lower past it (72), so a full-page image's hole leaves it in;
        // what looks like 12 line pointers is that metadata.
        assert_eq!(lower(meta), 72);
        assert_eq!(max_offset(meta), 12);
        assert_eq!(max_offset(leaf), 367);
        check_line_pointers(leaf).unwrap();
        // Every index tuple is readable and compaction keeps them all.
        let mut p = Box::new(*leaf);
        let before: Vec<Vec<u8>> = (1..=367)
            .map(|o| get_item(&p, o).unwrap().to_vec())
            .collect();
        repair_fragmentation(&mut p).unwrap();
        let after: Vec<Vec<u8>> = (1..=367)
            .map(|o| get_item(&p, o).unwrap().to_vec())
            .collect();
        assert_eq!(before, after);
        assert_eq!(exact_free_space(&p), exact_free_space(leaf));
    }

    #[test]
    fn checksum_detects_every_single_bit_flip_in_sampled_bytes() {
        let mut p = Box::new(*PG_BLK7);
        let good = checksum(&p);
        for pos in (0..BLCKSZ).step_by(61).chain([8usize, 9, BLCKSZ - 1]) {
            for bit in 0..8 {
                p[pos] ^= 1 << bit;
                if pos != 8 && pos != 9 {
                    assert_ne!(
                        checksum_page(&p, 7),
                        good,
                        "flip at byte {pos} bit {bit} undetected"
                    );
                }
                let err = verify(&p, 7, true).unwrap_err();
                assert!(matches!(
                    err,
                    VerifyError::Checksum { .. } | VerifyError::Header { .. }
                ));
                p[pos] ^= 1 << bit;
            }
        }
        verify(&p, 7, true).unwrap();
    }

    #[test]
    fn set_checksum_roundtrip_and_never_zero() {
        let mut p = new_page(0);
        for blk in [0u32, 1, 2, 0xffff_fffe] {
            set_checksum(&mut p, blk);
            assert_ne!(checksum(&p), 0);
            verify(&p, blk, true).unwrap();
        }
        // With checksums off, only the header is checked.
        p[8] ^= 0xff;
        verify(&p, 3, false).unwrap();
    }

    #[test]
    fn verify_accepts_zero_page_rejects_garbage() {
        let z = Box::new([0u8; BLCKSZ]);
        verify(&z, 5, true).unwrap();
        let mut g = Box::new([0u8; BLCKSZ]);
        g[4000] = 1;
        assert_eq!(verify(&g, 5, true), Err(VerifyError::NonZeroNewPage));
        // A sane-looking header with impossible pointers.
        let mut p = new_page(0);
        put_u16(&mut p[..], OFF_LOWER, 9000);
        set_checksum(&mut p, 1);
        assert!(matches!(
            verify(&p, 1, true),
            Err(VerifyError::Header { .. })
        ));
        let mut p = new_page(0);
        set_flags(&mut p, 0x80);
        set_checksum(&mut p, 1);
        assert!(matches!(
            verify(&p, 1, true),
            Err(VerifyError::Header { .. })
        ));
        let e = VerifyError::Checksum {
            calculated: 1,
            expected: 2,
        };
        assert_eq!(
            e.warning().unwrap(),
            "page verification failed, calculated checksum 1 but expected 2"
        );
        let pe = e.to_pg_error(3, "base/5/16384");
        assert_eq!(pe.code, "XX001");
        assert_eq!(
            pe.message,
            "invalid page in block 3 of relation base/5/16384"
        );
    }

    #[test]
    fn add_and_get_items() {
        let mut p = new_page(0);
        let a = add_item(&mut p, b"hello", AddAt::FirstFree, MAX_OFFSET_NUMBER).unwrap();
        let b = add_item(&mut p, &[7u8; 20], AddAt::FirstFree, MAX_OFFSET_NUMBER).unwrap();
        assert_eq!((a, b), (1, 2));
        assert_eq!(get_item(&p, 1).unwrap(), b"hello");
        assert_eq!(get_item(&p, 2).unwrap(), &[7u8; 20]);
        assert_eq!(item_id(&p, 1).unwrap().off as usize, BLCKSZ - 8);
        assert_eq!(item_id(&p, 2).unwrap().off as usize, BLCKSZ - 8 - 24);
        assert_eq!(lower(&p), 32);
        assert_eq!(upper(&p) as usize, BLCKSZ - 32);
        // Padding after an item is zeroed even though the page was 0xAA.
        assert_eq!(&p[BLCKSZ - 3..], &[0, 0, 0]);
        assert_eq!(exact_free_space(&p), BLCKSZ - 32 - 32);
        assert_eq!(free_space(&p), BLCKSZ - 32 - 32 - 4);
        assert_eq!(get_item(&p, 0), None);
        assert_eq!(get_item(&p, 3), None);
        get_item_mut(&mut p, 1).unwrap()[0] = b'j';
        assert_eq!(get_item(&p, 1).unwrap(), b"jello");
    }

    #[test]
    fn add_item_at_chosen_offset() {
        let mut p = new_page(0);
        for i in 0..3u8 {
            add_item(&mut p, &[i], AddAt::FirstFree, MAX_OFFSET_NUMBER).unwrap();
        }
        // Insert shifts 2..3 up to 3..4.
        assert_eq!(
            add_item(&mut p, b"x", AddAt::Insert(2), MAX_OFFSET_NUMBER),
            Ok(2)
        );
        let got: Vec<u8> = (1..=4).map(|o| get_item(&p, o).unwrap()[0]).collect();
        assert_eq!(got, vec![0, b'x', 1, 2]);
        assert_eq!(
            add_item(&mut p, b"y", AddAt::Insert(5), MAX_OFFSET_NUMBER),
            Ok(5)
        );
        assert_eq!(
            add_item(&mut p, b"z", AddAt::Insert(7), MAX_OFFSET_NUMBER),
            Err(PageError::OffsetTooLarge(7))
        );
        assert_eq!(
            add_item(&mut p, b"z", AddAt::Insert(0), MAX_OFFSET_NUMBER),
            Err(PageError::OffsetTooLarge(0))
        );
        // Overwrite refuses a used slot and takes an unused one.
        assert_eq!(
            add_item(&mut p, b"z", AddAt::Overwrite(3), MAX_OFFSET_NUMBER),
            Err(PageError::ItemIdInUse(3))
        );
        mark_unused(&mut p, 3).unwrap();
        let lower_before = lower(&p);
        assert_eq!(
            add_item(&mut p, b"z", AddAt::Overwrite(3), MAX_OFFSET_NUMBER),
            Ok(3)
        );
        assert_eq!(lower(&p), lower_before, "reusing a line pointer adds none");
        assert_eq!(get_item(&p, 3).unwrap(), b"z");
        assert_eq!(
            add_item(&mut p, b"w", AddAt::Overwrite(6), MAX_OFFSET_NUMBER),
            Ok(6)
        );
        assert_eq!(
            add_item(&mut p, b"", AddAt::FirstFree, MAX_OFFSET_NUMBER),
            Err(PageError::BadItemSize(0))
        );
        assert_eq!(
            add_item(&mut p, b"v", AddAt::FirstFree, 6),
            Err(PageError::TooManyItems(6))
        );
    }

    #[test]
    fn first_free_reuses_unused_line_pointers_and_clears_stale_hint() {
        let mut p = new_page(0);
        for _ in 0..5 {
            add_item(&mut p, &[1u8; 10], AddAt::FirstFree, MAX_OFFSET_NUMBER).unwrap();
        }
        mark_unused(&mut p, 2).unwrap();
        mark_unused(&mut p, 4).unwrap();
        assert_ne!(flags(&p) & PD_HAS_FREE_LINES, 0);
        assert_eq!(
            add_item(&mut p, b"a", AddAt::FirstFree, MAX_OFFSET_NUMBER),
            Ok(2)
        );
        assert_eq!(
            add_item(&mut p, b"b", AddAt::FirstFree, MAX_OFFSET_NUMBER),
            Ok(4)
        );
        assert_ne!(
            flags(&p) & PD_HAS_FREE_LINES,
            0,
            "hint stays until a scan finds nothing"
        );
        assert_eq!(
            add_item(&mut p, b"c", AddAt::FirstFree, MAX_OFFSET_NUMBER),
            Ok(6)
        );
        assert_eq!(flags(&p) & PD_HAS_FREE_LINES, 0);
    }

    #[test]
    fn fills_up_exactly() {
        let mut p = new_page(0);
        // 24-byte items: 28 bytes each with the line pointer.
        let mut n = 0;
        while add_item(&mut p, &[9u8; 24], AddAt::FirstFree, MAX_OFFSET_NUMBER).is_ok() {
            n += 1;
        }
        assert_eq!(n, (BLCKSZ - SIZE_OF_PAGE_HEADER) / 28);
        assert_eq!(exact_free_space(&p), (BLCKSZ - SIZE_OF_PAGE_HEADER) % 28);
        assert_eq!(free_space(&p), (BLCKSZ - SIZE_OF_PAGE_HEADER) % 28 - 4);
        assert_eq!(
            add_item(&mut p, &[1u8; 24], AddAt::FirstFree, MAX_OFFSET_NUMBER),
            Err(PageError::NoSpace)
        );
        // A smaller item still fits in the last 20 bytes.
        assert!(add_item(&mut p, &[1u8; 16], AddAt::FirstFree, MAX_OFFSET_NUMBER).is_ok());
        assert_eq!(free_space(&p), 0);
        // Heap free space is 0 once max_items line pointers exist and none is free.
        let mut h = new_page(0);
        for _ in 0..3 {
            add_item(&mut h, &[1; 8], AddAt::FirstFree, 3).unwrap();
        }
        assert_eq!(heap_free_space(&h, 3), 0);
        mark_unused(&mut h, 2).unwrap();
        assert_eq!(heap_free_space(&h, 3), free_space(&h));
        assert!(heap_free_space(&h, 3) > 0);
    }

    #[test]
    fn repair_fragmentation_compacts_and_keeps_offsets() {
        let mut p = new_page(8);
        let sizes = [10usize, 100, 33, 8, 250, 1, 64];
        for (i, s) in sizes.iter().enumerate() {
            add_item(
                &mut p,
                &vec![i as u8 + 1; *s],
                AddAt::FirstFree,
                MAX_OFFSET_NUMBER,
            )
            .unwrap();
        }
        let free_before = exact_free_space(&p);
        mark_dead(&mut p, 2).unwrap(); // 100 → 104 bytes
        mark_unused(&mut p, 5).unwrap(); // 250 → 256 bytes
        set_redirect(&mut p, 6, 7).unwrap(); // 1 → 8 bytes
        repair_fragmentation(&mut p).unwrap();
        assert_eq!(exact_free_space(&p), free_before + 104 + 256 + 8);
        for (i, s) in sizes.iter().enumerate() {
            let o = i as u16 + 1;
            match o {
                2 => assert_eq!(item_id(&p, o).unwrap().flags, LP_DEAD),
                5 => assert_eq!(item_id(&p, o).unwrap(), ItemId::UNUSED),
                6 => assert_eq!(
                    item_id(&p, o).unwrap(),
                    ItemId {
                        off: 7,
                        flags: LP_REDIRECT,
                        len: 0
                    }
                ),
                _ => assert_eq!(get_item(&p, o).unwrap(), &vec![i as u8 + 1; *s][..]),
            }
        }
        assert_ne!(flags(&p) & PD_HAS_FREE_LINES, 0);
        assert_eq!(special_offset(&p) as usize, BLCKSZ - 8);
        check_line_pointers(&p).unwrap();
        // Compacting again changes nothing.
        let snapshot = p.clone();
        repair_fragmentation(&mut p).unwrap();
        assert_eq!(&p[..], &snapshot[..]);
        // No unused pointer left → hint cleared.
        add_item(&mut p, b"q", AddAt::FirstFree, MAX_OFFSET_NUMBER).unwrap();
        repair_fragmentation(&mut p).unwrap();
        assert_eq!(flags(&p) & PD_HAS_FREE_LINES, 0);
    }

    #[test]
    fn repair_fragmentation_on_postgres_page_keeps_every_tuple() {
        let mut p = Box::new(*PG_BLK7);
        let before: Vec<Vec<u8>> = (1..=max_offset(&p))
            .map(|o| get_item(&p, o).unwrap().to_vec())
            .collect();
        for o in (1..=max_offset(&p)).step_by(3) {
            mark_dead(&mut p, o).unwrap();
        }
        let free = exact_free_space(&p);
        repair_fragmentation(&mut p).unwrap();
        assert!(exact_free_space(&p) > free);
        for o in 1..=max_offset(&p) {
            if (o - 1) % 3 == 0 {
                assert_eq!(get_item(&p, o), None);
            } else {
                assert_eq!(get_item(&p, o).unwrap(), &before[o as usize - 1][..]);
            }
        }
    }

    /// Random adds, deletions and compactions against a model of what the
    /// page must hold: items never change, free space is always accounted
    /// exactly (header + line pointers + aligned items + free = page).
    #[test]
    fn property_page_operations_match_a_model() {
        let mut rng = 0xfeed_5eed_0000_0001u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for round in 0..60 {
            let special = [0usize, 8, 16][round % 3];
            let mut p = new_page(special);
            // offnum → Some(bytes) for a normal item, None for dead/unused.
            let mut model: Vec<Option<Vec<u8>>> = Vec::new();
            for step in 0..300 {
                match next() % 10 {
                    0..=5 => {
                        let len = 1 + (next() % 300) as usize;
                        let item: Vec<u8> = (0..len).map(|i| (i as u8) ^ (step as u8)).collect();
                        match add_item(&mut p, &item, AddAt::FirstFree, MAX_OFFSET_NUMBER) {
                            Ok(o) => {
                                let o = o as usize;
                                if o > model.len() {
                                    model.push(Some(item));
                                } else {
                                    assert!(model[o - 1].is_none(), "reused a live slot");
                                    model[o - 1] = Some(item);
                                }
                            }
                            Err(PageError::NoSpace) => assert!(free_space(&p) < maxalign(len)),
                            Err(e) => panic!("unexpected {e:?}"),
                        }
                    }
                    6 | 7 if !model.is_empty() => {
                        let o = 1 + (next() % model.len() as u64) as u16;
                        if next() % 2 == 0 {
                            mark_dead(&mut p, o).unwrap();
                        } else {
                            mark_unused(&mut p, o).unwrap();
                        }
                        model[o as usize - 1] = None;
                    }
                    8 => repair_fragmentation(&mut p).unwrap(),
                    _ => {}
                }
                // Items are intact.
                for (i, m) in model.iter().enumerate() {
                    assert_eq!(
                        get_item(&p, i as u16 + 1),
                        m.as_deref(),
                        "round {round} step {step}"
                    );
                }
                // After compaction the accounting is exact.
                let mut q = p.clone();
                repair_fragmentation(&mut q).unwrap();
                let used: usize = model.iter().flatten().map(|it| maxalign(it.len())).sum();
                assert_eq!(
                    SIZE_OF_PAGE_HEADER
                        + model.len() * ITEM_ID_SIZE
                        + exact_free_space(&q)
                        + used
                        + maxalign(special),
                    BLCKSZ,
                    "round {round} step {step}"
                );
                check_line_pointers(&p).unwrap();
            }
        }
    }

    #[test]
    fn corrupt_pages_give_errors_not_panics() {
        let mut p = new_page(0);
        add_item(&mut p, b"abc", AddAt::FirstFree, MAX_OFFSET_NUMBER).unwrap();
        // Line pointer into the free space / beyond the page.
        set_item_id(
            &mut p,
            1,
            ItemId {
                off: 100,
                flags: LP_NORMAL,
                len: 3,
            },
        )
        .unwrap();
        assert_eq!(get_item(&p, 1), None);
        assert_eq!(
            repair_fragmentation(&mut p),
            Err(PageError::CorruptLinePointer {
                offnum: 1,
                off: 100,
                len: 3
            })
        );
        set_item_id(
            &mut p,
            1,
            ItemId {
                off: 8190,
                flags: LP_NORMAL,
                len: 100,
            },
        )
        .unwrap();
        assert_eq!(get_item(&p, 1), None);
        assert!(repair_fragmentation(&mut p).is_err());
        // Bad line-pointer numbers are errors too.
        assert_eq!(mark_dead(&mut p, 0), Err(PageError::NoSuchItem(0)));
        assert_eq!(mark_unused(&mut p, 2), Err(PageError::NoSuchItem(2)));
        assert_eq!(set_redirect(&mut p, 1, 5), Err(PageError::NoSuchItem(5)));
        assert_eq!(set_redirect(&mut p, 1, 1), Err(PageError::NoSuchItem(1)));
        let huge = ItemId {
            off: 1 << 15,
            flags: LP_NORMAL,
            len: 1,
        };
        assert_eq!(
            set_item_id(&mut p, 1, huge),
            Err(PageError::BadItemId(huge))
        );
        assert_eq!(
            PageError::NoSuchItem(9).to_pg_error().message,
            "invalid offnum: 9"
        );
        let e = PageError::CorruptLinePointer {
            offnum: 1,
            off: 8190,
            len: 100,
        }
        .to_pg_error();
        assert_eq!(
            e.message,
            "corrupted line pointer: offset = 8190, size = 100"
        );
        assert_eq!(e.code, "XX001");
        // Garbage headers: every accessor stays in bounds.
        let mut rng = 0x1234_5678_9abc_def0u64;
        for _ in 0..2000 {
            let mut g = Box::new([0u8; BLCKSZ]);
            for chunk in g.chunks_exact_mut(8).take(64) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                chunk.copy_from_slice(&rng.to_le_bytes());
            }
            let _ = verify(&g, 0, true);
            let _ = special(&g);
            for o in 0..=max_offset(&g).min(70) {
                let _ = get_item(&g, o);
            }
            let _ = add_item(&mut g, b"x", AddAt::FirstFree, MAX_OFFSET_NUMBER);
            let _ = repair_fragmentation(&mut g);
            let _ = heap_free_space(&g, 291);
        }
    }
}
