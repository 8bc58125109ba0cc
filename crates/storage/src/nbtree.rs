//! B-tree indexes at the storage level (issue 10): a Lehman & Yao B-link tree in shared buffers on PostgreSQL's nbtree page format — insert with page splits and new roots, the unique check, forward scans returning heap TIDs, bulk build from sorted input, and WAL records with their redo.
//!
//! Why this shape (PostgreSQL's nbtree, simplified where tusk does not
//! need the generality yet):
//!
//! - **B-link tree.** Every page has a right link and, except the
//!   rightmost page of its level, a high key: the upper bound of its keys.
//!   A descent never holds two content locks: it reads a page under a
//!   share lock, lets go, and locks the child; if the child split in the
//!   meantime the key is beyond its high key and the descent moves right.
//!   Pages are never deleted (that is VACUUM's later work), so a right link
//!   or a remembered block always leads to a page of the same level.
//! - **Heap TID as the last key column** (PostgreSQL 12's heapkeyspace):
//!   every leaf tuple's (key, TID) is unique, so each has exactly one place
//!   and a split needs no special case for runs of duplicates. Pivot tuples
//!   (high keys, downlinks) carry the full key and the TID of the first
//!   tuple of their right half (PostgreSQL truncates suffixes; tusk keeps
//!   them whole, which costs a little fan-out but no code).
//! - **Splits in right-link-first order.** The left page is locked, the
//!   new right page is filled (its right link = the left page's old one),
//!   then the left page is rewritten to point at it, all under exclusive
//!   locks and in one WAL record; only then is the downlink inserted into
//!   the parent, as a separate step. Between the two (or after a crash
//!   between their records) the right page is reachable through the
//!   left's right link, which every reader follows: a missing downlink
//!   costs a move-right, never a lost key. PostgreSQL remembers such
//!   splits (INCOMPLETE_SPLIT) and finishes them; tusk leaves the downlink
//!   missing — the next split of the right page still finds its parent by
//!   key — and documents it.
//! - **A root split is one step**: splitting the root page takes the
//!   metapage lock and makes the new root in the same critical section and
//!   WAL record, so there is never a root with a right sibling and no
//!   parent.
//! - **The unique check** (PostgreSQL's _bt_check_unique) runs with the
//!   first leaf page that could hold the key exclusively locked, so two
//!   inserters of one key are serialised; it reads equal keys to the right
//!   under share locks (left to right, the only order in which a process
//!   holds two page locks, besides a split's left → new right → old right,
//!   and a root split's page → metapage). Whether a heap tuple is alive is
//!   the caller's answer ([`UniqueCheck`]); an inserter still in progress
//!   makes [`BtreeRel::insert`] return [`InsertOutcome::WaitFor`]: the
//!   caller waits for that transaction through its lock manager and calls
//!   again.
//! - **Scans copy a page at a time** and follow the right link remembered
//!   with the copy (PostgreSQL's way): a split after the copy only moves
//!   tuples the scan already has. No pin is held between pages, since no
//!   page is ever removed (VACUUM removes entries only; a scan's copy may
//!   name a TID that is then freed, which the heap check handles, below).
//!   A backward scan follows left
//!   links; when the left page split after the copy, it moves right from
//!   it to the page that now links to the current one (_bt_walk_left).
//! - **VACUUM removes leaf entries, never pages** ([`BtreeRel::bulk_delete`],
//!   PostgreSQL's btbulkdelete without page deletion): it walks the leaf
//!   level left to right by right links, each leaf under its exclusive
//!   lock, and removes the entries whose heap TIDs the heap's VACUUM is
//!   about to free. A split behind the walk only moves entries already
//!   examined; one ahead of it is met through the right link. The tree's
//!   structure (pages, high keys, downlinks) never changes, so descents
//!   and scans are unaffected. Until the heap frees those TIDs a scan may
//!   still return them, and afterwards a recycled TID may hold another
//!   tuple: the caller checks each TID in the heap with its snapshot
//!   (and the key), as before.
//! - **WAL**: an insert logs the tuple and its offset; a split logs both
//!   halves as page images (always, whatever the full-page-write rule),
//!   which makes its redo a copy; a root split adds the new root and the
//!   metapage as images. Blocks logged with data (not images) follow the
//!   heap's full-page-image rule (heapwal.rs's logger is shared). Redo is
//!   idempotent by page LSN ([`crate::heapwal::redo_block`]).
//!
//! Who may call: any process with a [`BufMgr`] (a backend) for the
//! operations; everything touches shared memory only through pins and
//! content locks. [`btree_redo`]: the startup process only.
//!
//! # Page layout
//!
//! ```text
//! Block 0, the metapage (BTMetaPageData after the 24-byte page header):
//!   off size field
//!    24    4 btm_magic      0x053162
//!    28    4 btm_version    4
//!    32    4 btm_root       root block (P_NONE = 0: none)
//!    36    4 btm_level      level of the root (leaves are level 0)
//!    40    4 btm_fastroot   = root (no page deletion, so never lower)
//!    44    4 btm_fastlevel  = level
//!    48    4 btm_last_cleanup_num_delpages   0
//!    56    8 btm_last_cleanup_num_heap_tuples  -1.0 (f64)
//!    64    1 btm_allequalimage  0
//!   pd_lower = 72, so a full-page image leaves the rest out.
//! Every page ends with BTPageOpaqueData (16 bytes of special space):
//!   8176   4 btpo_prev    left sibling (P_NONE = 0)
//!   8180   4 btpo_next    right sibling (P_NONE = 0: rightmost)
//!   8184   4 btpo_level   0 = leaf
//!   8188   2 btpo_flags   LEAF 0x01 ROOT 0x02 META 0x08
//!   8190   2 btpo_cycleid 0
//! Items (line pointers in key order):
//!   non-rightmost page: item 1 = high key, data from item 2
//!   rightmost page:     data from item 1
//!   internal page: the first data item is the "minus infinity" downlink
//!   (no key attributes).
//! IndexTupleData:
//!   0  4 t_tid.ip_blkid  (bi_hi, bi_lo): heap block; pivot: child block
//!   4  2 t_tid.ip_posid  heap offset; pivot: natts | 0x1000 (heap TID
//!                        attribute present)
//!   6  2 t_info          size (0x1FFF) | 0x2000 pivot (INDEX_ALT_TID_MASK)
//!                        | 0x4000 has varlenas | 0x8000 has nulls
//!   8  4 null bitmap (bit set = not null), only with 0x8000; data then
//!        starts at 16, else at 8
//!   the key datums in heap-tuple datum format (aligned by type; text a
//!   varlena with a 1-byte header when short, unaligned then); a pivot
//!   ends with the 6-byte heap TID of its tiebreaker.
//! ```
//!
//! # WAL records
//!
//! ```text
//! Btree (rmgr 11). xl_xid = 0 (index changes are not transactional).
//! INSERT_LEAF (info 0x00) / INSERT_UPPER (info 0x10)
//!   block 0: the page; data = the index tuple as stored
//!   main:  off size field
//!            0    2 offnum      where it goes (later items move up one)
//! SPLIT_L (info 0x30): a page split, in one record
//!   block 0: the left page, always a whole-page image
//!   block 1: the new right page, always a whole-page image
//!   block 2: the old right sibling (if any), no data: its btpo_prev
//!            becomes the right page (an image only by the FPW rule)
//!   main:    0    4 level       of the split pages
//!            4    4 right       the new right page's block
//! NEWROOT (info 0xA0): a split of the root page, with the new root
//!   blocks 0..2 and main as SPLIT_L, plus
//!   block 3: the new root, a whole-page image
//!   block 4: the metapage, a whole-page image
//! VACUUM (info 0x80): entries VACUUM removed from one leaf
//!   block 0: the leaf; data = the removed items' offsets (2 bytes each,
//!   ascending, as they were before the removal)
//! NEWPAGE (info 0xF0, tusk's own; PostgreSQL writes XLOG_FPI): one block,
//!   a whole-page image: index creation and bulk build
//! The downlink of a non-root split is a separate INSERT_UPPER record.
//! ```

use std::cmp::Ordering;

use tusk_common::error::PgError;
use tusk_common::sqlstate;
use tusk_types::numeric::Numeric;
use tusk_types::value::{self, Value};

use crate::bufmgr::{BufMgr, ContentLock, Pin};
use crate::heapam::{ExtensionLock, Lsn, Xid};
use crate::heaptuple::ItemPointer;
use crate::heapwal::{Blk, XlogHeapWal};
use crate::lwlock::{LwMode, LwProcs};
use crate::page::{self, maxalign, AddAt, PageBuf, BLCKSZ, MAX_OFFSET_NUMBER};
use crate::smgr::{BlockNumber, Fork, RelFileLocator};
use crate::wal::{lsn_str, DecodedRecord, RM_BTREE_ID};
use crate::xact::ResourceOwner;
use crate::xlog::RedoCtx;

pub const BTREE_MAGIC: u32 = 0x053162;
pub const BTREE_VERSION: u32 = 4;
pub const BTREE_METAPAGE: BlockNumber = 0;
/// "No page" in sibling links and the metapage (block 0 is the metapage).
pub const P_NONE: BlockNumber = 0;
pub const BTP_LEAF: u16 = 0x01;
pub const BTP_ROOT: u16 = 0x02;
pub const BTP_META: u16 = 0x08;
pub const SIZE_OF_BT_OPAQUE: usize = 16;
const META_OFF: usize = page::SIZE_OF_PAGE_HEADER;
const META_END: usize = META_OFF + 48;

pub const INDEX_SIZE_MASK: u16 = 0x1FFF;
/// PostgreSQL's INDEX_ALT_TID_MASK: t_tid holds a downlink, not a heap TID.
pub const INDEX_ALT_TID_MASK: u16 = 0x2000;
pub const INDEX_VAR_MASK: u16 = 0x4000;
pub const INDEX_NULL_MASK: u16 = 0x8000;
/// In a pivot's t_tid offset: the heap TID tiebreaker is present.
pub const BT_PIVOT_HEAP_TID_ATTR: u16 = 0x1000;
pub const INDEX_MAX_KEYS: usize = 32;

/// Fill factors (PostgreSQL's defaults): leaves of a bulk build and the
/// left half of a rightmost leaf split by an insert at its end; internal
/// pages of a bulk build.
pub const BTREE_DEFAULT_FILLFACTOR: usize = 90;
pub const BTREE_NONLEAF_FILLFACTOR: usize = 70;

/// Usable bytes of a B-tree page for items and line pointers.
const PAGE_SPACE: usize = BLCKSZ - page::SIZE_OF_PAGE_HEADER - SIZE_OF_BT_OPAQUE;
/// PostgreSQL's BTMaxItemSize: a third of a page's item space, less a
/// heap TID, so that a high key (with its TID) and two items always fit a
/// page and a split always succeeds.
pub const BT_MAX_ITEM_SIZE: usize = 2704;

/// B-tree record types (PostgreSQL's values, plus tusk's own NEWPAGE).
pub const XLOG_BTREE_INSERT_LEAF: u8 = 0x00;
pub const XLOG_BTREE_INSERT_UPPER: u8 = 0x10;
pub const XLOG_BTREE_SPLIT_L: u8 = 0x30;
pub const XLOG_BTREE_VACUUM: u8 = 0x80;
pub const XLOG_BTREE_NEWROOT: u8 = 0xA0;
/// tusk's own: page images written by index creation and bulk build
/// (PostgreSQL logs them as XLOG_FPI).
pub const XLOG_BTREE_NEWPAGE: u8 = 0xF0;

/// The type of a key column (the comparators tusk has; "C" collation for
/// text: byte order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Date,
    Timestamp,
    TimestampTz,
    Text,
    Numeric,
    /// An enum type (its pg_type OID): stored as the label's pg_enum OID,
    /// ordered by the labels' sort order (tusk_types::usertype).
    Enum(u32),
    /// uuid: its 16 bytes (order = byte order).
    Uuid,
    /// money: int64 cents.
    Money,
    /// bit / varbit: the bit_send form as a varlena payload.
    Bits,
    /// A range or multirange type (its OID): the range_send /
    /// multirange_send form as a varlena payload, ordered by range_cmp.
    Range(u32),
}

impl KeyType {
    /// (typlen, typalign) of the stored datum; -1 = varlena.
    fn layout(self) -> (i32, usize) {
        match self {
            KeyType::Bool => (1, 1),
            KeyType::Int2 => (2, 2),
            KeyType::Int4 | KeyType::Oid | KeyType::Float4 | KeyType::Date | KeyType::Enum(_) => {
                (4, 4)
            }
            KeyType::Int8 | KeyType::Float8 | KeyType::Timestamp | KeyType::TimestampTz => (8, 8),
            KeyType::Text => (-1, 4),
            // Numeric's payload is its binary (wire) form, not PostgreSQL's
            // on-disk digits: the order comes from decoding it.
            KeyType::Numeric => (-1, 4),
            KeyType::Uuid => (16, 1),
            KeyType::Money => (8, 8),
            KeyType::Bits | KeyType::Range(_) => (-1, 4),
        }
    }
}

/// A key column: its name (for error details) and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyColumn {
    pub name: String,
    pub ty: KeyType,
}

fn internal(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::INTERNAL_ERROR, msg.into())
}

fn corrupt(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::INDEX_CORRUPTED, msg.into())
}

fn get16(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(d[at..at + 2].try_into().unwrap())
}
fn get32(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}
fn put16(d: &mut [u8], at: usize, v: u16) {
    d[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(d: &mut [u8], at: usize, v: u32) {
    d[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

// ---------------------------------------------------------------------------
// Index tuples
// ---------------------------------------------------------------------------

fn align_to(off: usize, a: usize) -> usize {
    (off + a - 1) & !(a - 1)
}

fn encode_datum(out: &mut Vec<u8>, ty: KeyType, v: &Value) -> Result<(), PgError> {
    let (len, align) = ty.layout();
    let fixed: Option<Vec<u8>> = match (ty, v) {
        (KeyType::Bool, Value::Bool(b)) => Some(vec![*b as u8]),
        (KeyType::Int2, Value::Int2(i)) => Some(i.to_le_bytes().to_vec()),
        (KeyType::Int4, Value::Int4(i)) => Some(i.to_le_bytes().to_vec()),
        (KeyType::Int8, Value::Int8(i)) => Some(i.to_le_bytes().to_vec()),
        (KeyType::Oid, Value::Oid(i)) => Some(i.to_le_bytes().to_vec()),
        (KeyType::Enum(t), Value::Enum(e)) if e.typ == t => Some(e.oid.to_le_bytes().to_vec()),
        (KeyType::Float4, Value::Float4(f)) => Some(f.to_le_bytes().to_vec()),
        (KeyType::Float8, Value::Float8(f)) => Some(f.to_le_bytes().to_vec()),
        (KeyType::Date, Value::Date(d)) => Some(d.to_le_bytes().to_vec()),
        (KeyType::Timestamp, Value::Timestamp(t)) => Some(t.to_le_bytes().to_vec()),
        (KeyType::TimestampTz, Value::TimestampTz(t)) => Some(t.to_le_bytes().to_vec()),
        (KeyType::Uuid, Value::Uuid(u)) => Some(u.to_vec()),
        (KeyType::Money, Value::Money(m)) => Some(m.to_le_bytes().to_vec()),
        (KeyType::Text, Value::Text(_))
        | (KeyType::Numeric, Value::Numeric(_))
        | (KeyType::Bits, Value::Bits(_)) => None,
        (KeyType::Range(t), Value::Range(r)) if r.ty == t => None,
        (KeyType::Range(t), Value::Multirange(m)) if m.ty == t => None,
        _ => {
            return Err(internal(format!(
                "key value {v:?} does not match type {ty:?}"
            )))
        }
    };
    if let Some(b) = fixed {
        debug_assert_eq!(b.len() as i32, len);
        out.resize(align_to(out.len(), align), 0);
        out.extend_from_slice(&b);
        return Ok(());
    }
    let payload: Vec<u8> = match v {
        Value::Text(s) => s.as_bytes().to_vec(),
        Value::Numeric(n) => n.to_binary(),
        Value::Bits(b) => tusk_types::bits::send(b),
        Value::Range(r) => tusk_types::range::send(r),
        Value::Multirange(m) => tusk_types::range::send_multi(m),
        _ => unreachable!(),
    };
    if payload.len() < 127 {
        // Short varlena: 1-byte header, no alignment (PostgreSQL packs
        // short values this way in index tuples too).
        out.push((((payload.len() + 1) << 1) | 1) as u8);
    } else {
        out.resize(align_to(out.len(), align), 0);
        out.extend_from_slice(&(((payload.len() + 4) as u32) << 2).to_le_bytes());
    }
    out.extend_from_slice(&payload);
    Ok(())
}

/// Forms an index tuple: leaf (`tid` = heap TID) or pivot (`downlink` =
/// child block, `tid` = tiebreaker, `None` for minus infinity).
fn form_tuple(
    cols: &[KeyColumn],
    vals: &[Value],
    tid: Option<ItemPointer>,
    downlink: Option<BlockNumber>,
) -> Result<Vec<u8>, PgError> {
    let has_nulls = vals.iter().any(Value::is_null);
    let hdr = if has_nulls { 16 } else { 8 };
    let mut data = Vec::new();
    let mut bitmap = 0u32;
    let mut var = false;
    for (i, (c, v)) in cols.iter().zip(vals).enumerate() {
        if v.is_null() {
            continue;
        }
        bitmap |= 1 << i;
        var |= c.ty.layout().0 < 0;
        encode_datum(&mut data, c.ty, v)?;
    }
    let mut t = vec![0u8; hdr];
    t.extend_from_slice(&data);
    let pivot = downlink.is_some();
    if let (true, Some(h)) = (pivot, tid) {
        t.extend_from_slice(&tid_bytes(h));
    }
    let size = t.len();
    if size > INDEX_SIZE_MASK as usize {
        return Err(internal(format!("index tuple of {size} bytes")));
    }
    let (blk, off) = match (downlink, tid) {
        (Some(d), Some(_)) => (d, vals.len() as u16 | BT_PIVOT_HEAP_TID_ATTR),
        (Some(d), None) => (d, 0),
        (None, Some(h)) => (h.block, h.offset),
        (None, None) => return Err(internal("leaf index tuple without a heap TID")),
    };
    put16(&mut t, 0, (blk >> 16) as u16);
    put16(&mut t, 2, blk as u16);
    put16(&mut t, 4, off);
    let mut info = size as u16;
    if pivot {
        info |= INDEX_ALT_TID_MASK;
    }
    if var {
        info |= INDEX_VAR_MASK;
    }
    if has_nulls {
        info |= INDEX_NULL_MASK;
        put32(&mut t, 8, bitmap);
    }
    put16(&mut t, 6, info);
    Ok(t)
}

fn tid_bytes(h: ItemPointer) -> [u8; 6] {
    let mut b = [0u8; 6];
    put16(&mut b, 0, (h.block >> 16) as u16);
    put16(&mut b, 2, h.block as u16);
    put16(&mut b, 4, h.offset);
    b
}

fn tid_at(t: &[u8], at: usize) -> ItemPointer {
    ItemPointer {
        block: ((get16(t, at) as u32) << 16) | get16(t, at + 2) as u32,
        offset: get16(t, at + 4),
    }
}

fn t_info(t: &[u8]) -> u16 {
    get16(t, 6)
}

fn is_pivot(t: &[u8]) -> bool {
    t_info(t) & INDEX_ALT_TID_MASK != 0
}

/// The child block of a pivot tuple.
fn downlink(t: &[u8]) -> BlockNumber {
    tid_at(t, 0).block
}

/// The heap TID of a leaf tuple, or the tiebreaker of a pivot (None: a
/// minus-infinity downlink or a pivot without one).
fn heap_tid(t: &[u8]) -> Option<ItemPointer> {
    if !is_pivot(t) {
        return Some(tid_at(t, 0));
    }
    if get16(t, 4) & BT_PIVOT_HEAP_TID_ATTR == 0 || t.len() < 14 {
        return None;
    }
    Some(tid_at(t, t.len() - 6))
}

/// Number of key attributes a tuple holds (0 for minus infinity).
fn natts(t: &[u8], ncols: usize) -> usize {
    if is_pivot(t) {
        (get16(t, 4) & 0x0FFF) as usize
    } else {
        ncols
    }
}

fn bad_tuple() -> PgError {
    corrupt("index tuple is corrupted")
}

/// Walks a tuple's key attributes in order, handing `f` each one's raw
/// bytes (None for NULL; a varlena without its header) until `f` says
/// stop. Bad bytes are XX002, never a panic.
fn for_each_datum<'t>(
    cols: &[KeyColumn],
    t: &'t [u8],
    mut f: impl FnMut(usize, KeyType, Option<&'t [u8]>) -> Result<bool, PgError>,
) -> Result<(), PgError> {
    let bad = bad_tuple;
    if t.len() < 8 || (t_info(t) & INDEX_SIZE_MASK) as usize != t.len() {
        return Err(bad());
    }
    let info = t_info(t);
    let n = natts(t, cols.len());
    if n > cols.len() {
        return Err(bad());
    }
    let (mut off, bitmap) = if info & INDEX_NULL_MASK != 0 {
        if t.len() < 16 {
            return Err(bad());
        }
        (16, get32(t, 8))
    } else {
        (8, u32::MAX)
    };
    let end = if heap_tid(t).is_some() && is_pivot(t) {
        t.len() - 6
    } else {
        t.len()
    };
    for (i, c) in cols.iter().take(n).enumerate() {
        if bitmap & (1 << i) == 0 {
            if !f(i, c.ty, None)? {
                return Ok(());
            }
            continue;
        }
        let (len, align) = c.ty.layout();
        let raw = if len > 0 {
            off = align_to(off, align);
            let b = t
                .get(off..off + len as usize)
                .filter(|_| off + len as usize <= end)
                .ok_or_else(bad)?;
            off += len as usize;
            b
        } else {
            // A varlena: a non-zero byte here is a 1-byte header (padding
            // is zero), else align for the 4-byte header
            // (att_align_pointer).
            if *t.get(off).ok_or_else(bad)? == 0 {
                off = align_to(off, align);
            }
            let h = *t.get(off).ok_or_else(bad)?;
            let (start, stop) = if h & 1 == 1 {
                (off + 1, off + (h >> 1) as usize)
            } else {
                if off + 4 > end {
                    return Err(bad());
                }
                (off + 4, off + (get32(t, off) >> 2) as usize)
            };
            if stop < start || stop > end {
                return Err(bad());
            }
            off = stop;
            &t[start..stop]
        };
        if !f(i, c.ty, Some(raw))? {
            return Ok(());
        }
    }
    Ok(())
}

/// The value of one attribute's raw bytes.
fn value_of(ty: KeyType, raw: Option<&[u8]>) -> Result<Value, PgError> {
    let Some(b) = raw else {
        return Ok(Value::Null);
    };
    fn arr<const N: usize>(b: &[u8]) -> Result<[u8; N], PgError> {
        b.try_into().map_err(|_| bad_tuple())
    }
    Ok(match ty {
        KeyType::Bool => Value::Bool(*b.first().ok_or_else(bad_tuple)? != 0),
        KeyType::Int2 => Value::Int2(i16::from_le_bytes(arr(b)?)),
        KeyType::Int4 => Value::Int4(i32::from_le_bytes(arr(b)?)),
        KeyType::Int8 => Value::Int8(i64::from_le_bytes(arr(b)?)),
        KeyType::Oid => Value::Oid(u32::from_le_bytes(arr(b)?)),
        KeyType::Float4 => Value::Float4(f32::from_le_bytes(arr(b)?)),
        KeyType::Float8 => Value::Float8(f64::from_le_bytes(arr(b)?)),
        KeyType::Date => Value::Date(i32::from_le_bytes(arr(b)?)),
        KeyType::Timestamp => Value::Timestamp(i64::from_le_bytes(arr(b)?)),
        KeyType::TimestampTz => Value::TimestampTz(i64::from_le_bytes(arr(b)?)),
        KeyType::Text => Value::Text(String::from_utf8(b.to_vec()).map_err(|_| bad_tuple())?),
        KeyType::Numeric => Value::Numeric(Numeric::from_binary(b).ok_or_else(bad_tuple)?),
        KeyType::Enum(t) => tusk_types::usertype::from_label_oid(t, u32::from_le_bytes(arr(b)?))?,
        KeyType::Uuid => Value::Uuid(arr(b)?),
        KeyType::Money => Value::Money(i64::from_le_bytes(arr(b)?)),
        KeyType::Bits => Value::Bits(Box::new(tusk_types::bits::recv(b).ok_or_else(bad_tuple)?)),
        KeyType::Range(t) => match tusk_types::range::range_type(t) {
            Some(rt) => Value::Range(Box::new(tusk_types::range::recv(b, rt)?)),
            None => {
                let rt = tusk_types::range::multirange_type(t).ok_or_else(bad_tuple)?;
                Value::Multirange(Box::new(tusk_types::range::recv_multi(b, rt)?))
            }
        },
    })
}

/// Decodes a tuple's key values. Bad bytes are XX002, never a panic.
fn deform(cols: &[KeyColumn], t: &[u8]) -> Result<Vec<Value>, PgError> {
    let mut out = Vec::with_capacity(cols.len());
    for_each_datum(cols, t, |_, ty, raw| {
        out.push(value_of(ty, raw)?);
        Ok(true)
    })?;
    Ok(out)
}

/// Order of a search value and a tuple's raw attribute, without decoding
/// text into a String (the descent's hot path).
fn cmp_raw(v: &Value, ty: KeyType, raw: Option<&[u8]>) -> Result<Ordering, PgError> {
    Ok(match (v, raw) {
        (Value::Null, None) => Ordering::Equal,
        (Value::Null, Some(_)) => Ordering::Greater,
        (_, None) => Ordering::Less,
        (Value::Text(s), Some(b)) if ty == KeyType::Text => s.as_bytes().cmp(b),
        (v, raw) => cmp_value(v, &value_of(ty, raw)?),
    })
}

/// [`cmp_key`] against a tuple as stored.
fn cmp_tuple(cols: &[KeyColumn], sk: &SearchKey, t: &[u8]) -> Result<Ordering, PgError> {
    let mut ord = Ordering::Equal;
    let mut seen = 0;
    for_each_datum(cols, t, |i, ty, raw| {
        if i >= sk.vals.len() {
            return Ok(false);
        }
        seen = i + 1;
        ord = cmp_raw(&sk.vals[i], ty, raw)?;
        Ok(ord == Ordering::Equal)
    })?;
    if ord != Ordering::Equal {
        return Ok(ord);
    }
    let n = natts(t, cols.len());
    debug_assert!(seen == n.min(sk.vals.len()));
    Ok(cmp_tail(sk, n, heap_tid(t)))
}

/// Order of two values of a column; NULL sorts last (PostgreSQL's default
/// for ascending indexes).
fn cmp_value(a: &Value, b: &Value) -> Ordering {
    value::compare(a, b)
}

/// A search key: a prefix of the key columns, an optional heap TID, and
/// what a tuple equal on the given part counts as.
#[derive(Debug, Clone)]
struct SearchKey {
    vals: Vec<Value>,
    tid: Option<ItemPointer>,
    /// false: the key sorts before every tuple equal to it on the given
    /// attributes (find the first such tuple); true: after them.
    after: bool,
}

fn cmp_tid(a: ItemPointer, b: ItemPointer) -> Ordering {
    (a.block, a.offset).cmp(&(b.block, b.offset))
}

/// Order of two keys on the columns both have (the shorter is a prefix).
fn cmp_prefix(a: &[Value], b: &[Value]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| cmp_value(x, y))
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

/// Compares a search key with a tuple's key (decoded) and TID.
fn cmp_key(sk: &SearchKey, vals: &[Value], tid: Option<ItemPointer>) -> Ordering {
    match cmp_prefix(&sk.vals, vals) {
        Ordering::Equal => cmp_tail(sk, vals.len(), tid),
        o => o,
    }
}

/// The order of a search key and a tuple with `natts` key attributes equal
/// on the attributes both have.
fn cmp_tail(sk: &SearchKey, natts: usize, tid: Option<ItemPointer>) -> Ordering {
    if sk.vals.len() > natts {
        // A pivot with fewer attributes is minus infinity in the rest.
        return Ordering::Greater;
    }
    if sk.vals.len() == natts {
        if let (Some(a), Some(b)) = (sk.tid, tid) {
            let o = cmp_tid(a, b);
            if o != Ordering::Equal {
                return o;
            }
            return Ordering::Equal;
        }
        if sk.tid.is_some() && tid.is_none() {
            return Ordering::Greater;
        }
    }
    if sk.after {
        Ordering::Greater
    } else {
        Ordering::Less
    }
}

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

/// BTPageOpaqueData of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Opaque {
    pub prev: BlockNumber,
    pub next: BlockNumber,
    pub level: u32,
    pub flags: u16,
}

pub fn opaque(p: &PageBuf) -> Opaque {
    let s = page::special(p);
    if s.len() < SIZE_OF_BT_OPAQUE {
        return Opaque::default();
    }
    Opaque {
        prev: get32(s, 0),
        next: get32(s, 4),
        level: get32(s, 8),
        flags: get16(s, 12),
    }
}

fn set_opaque(p: &mut PageBuf, o: Opaque) {
    let s = page::special_mut(p);
    put32(s, 0, o.prev);
    put32(s, 4, o.next);
    put32(s, 8, o.level);
    put16(s, 12, o.flags);
    put16(s, 14, 0);
}

fn init_page(p: &mut PageBuf, o: Opaque) {
    page::init(p, SIZE_OF_BT_OPAQUE);
    set_opaque(p, o);
}

/// The metapage's root and level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub root: BlockNumber,
    pub level: u32,
}

fn write_meta(p: &mut PageBuf, m: Meta) {
    init_page(
        p,
        Opaque {
            flags: BTP_META,
            ..Opaque::default()
        },
    );
    put32(p, META_OFF, BTREE_MAGIC);
    put32(p, META_OFF + 4, BTREE_VERSION);
    put32(p, META_OFF + 8, m.root);
    put32(p, META_OFF + 12, m.level);
    put32(p, META_OFF + 16, m.root);
    put32(p, META_OFF + 20, m.level);
    put32(p, META_OFF + 24, 0);
    p[META_OFF + 32..META_OFF + 40].copy_from_slice(&(-1.0f64).to_le_bytes());
    p[META_OFF + 40] = 0;
    put16(p, page::OFF_LOWER, META_END as u16);
}

pub fn read_meta(p: &PageBuf) -> Result<Meta, PgError> {
    if page::is_new(p)
        || opaque(p).flags & BTP_META == 0
        || get32(p, META_OFF) != BTREE_MAGIC
        || get32(p, META_OFF + 4) != BTREE_VERSION
    {
        return Err(corrupt("index is not a btree"));
    }
    Ok(Meta {
        root: get32(p, META_OFF + 8),
        level: get32(p, META_OFF + 12),
    })
}

fn is_rightmost(p: &PageBuf) -> bool {
    opaque(p).next == P_NONE
}

/// Offset of the first data item (after the high key, if any).
fn first_data(p: &PageBuf) -> u16 {
    if is_rightmost(p) {
        1
    } else {
        2
    }
}

fn item(p: &PageBuf, off: u16) -> Result<&[u8], PgError> {
    page::get_item(p, off)
        .ok_or_else(|| corrupt(format!("btree page has a bad line pointer at {off}")))
}

fn check_page(p: &PageBuf, blk: BlockNumber) -> Result<(), PgError> {
    check_page_header(p, blk)?;
    page::check_line_pointers(p).map_err(|e| e.to_pg_error())
}

/// [`check_page`] without the walk over every line pointer: for pages
/// only read, whose items are reached through [`item`], which bounds
/// each one. A search descends through several pages; checking every
/// line pointer of each cost 1.5 % of a pgbench select-only backend.
fn check_page_header(p: &PageBuf, blk: BlockNumber) -> Result<(), PgError> {
    if page::is_new(p) || page::special(p).len() != SIZE_OF_BT_OPAQUE {
        return Err(corrupt(format!("index page {blk} is not a btree page")));
    }
    page::check_header(p).map_err(|e| e.to_pg_error())
}

/// A page rebuilt from its parts: what splits, root creation and bulk
/// build write (always as an image).
fn build_page(o: Opaque, hikey: Option<&[u8]>, items: &[Vec<u8>]) -> Result<Box<PageBuf>, PgError> {
    let mut p: Box<PageBuf> = Box::new([0u8; BLCKSZ]);
    init_page(&mut p, o);
    for t in hikey.into_iter().chain(items.iter().map(|v| v.as_slice())) {
        page::add_item(&mut p, t, AddAt::FirstFree, MAX_OFFSET_NUMBER)
            .map_err(|e| e.to_pg_error())?;
    }
    Ok(p)
}

fn item_space(t: &[u8]) -> usize {
    maxalign(t.len()) + page::ITEM_ID_SIZE
}

/// Removes the items at `offs` (ascending) from a page, keeping the order
/// of the rest and the special space: VACUUM and its redo.
fn delete_items(p: &mut PageBuf, offs: &[u16]) -> Result<(), PgError> {
    let o = opaque(p);
    let n = page::max_offset(p);
    let mut keep = Vec::with_capacity(n as usize);
    for off in 1..=n {
        if offs.binary_search(&off).is_err() {
            keep.push(item(p, off)?.to_vec());
        }
    }
    let lsn = page::lsn(p);
    let img = build_page(o, None, &keep)?;
    p.copy_from_slice(&img[..]);
    page::set_lsn(p, lsn);
    Ok(())
}

// ---------------------------------------------------------------------------
// WAL interface
// ---------------------------------------------------------------------------

/// One block of a B-tree record.
pub struct BtBlock<'p> {
    pub id: u8,
    pub blkno: BlockNumber,
    pub page: &'p PageBuf,
    /// Logged as a whole-page image (splits, new pages).
    pub image: bool,
    pub data: Vec<u8>,
}

/// What the B-tree needs from the WAL; [`XlogHeapWal`] implements it over
/// the real WAL (sharing the heap's full-page-image logic). Called under
/// the exclusive content locks of the logged pages, after the change; the
/// returned end LSN becomes their page LSN. Must not fail (PANIC).
pub trait BtreeWal {
    fn log_btree(
        &self,
        rel: RelFileLocator,
        info: u8,
        main: Vec<u8>,
        blocks: Vec<BtBlock<'_>>,
    ) -> Lsn;
    /// The index's main fork was created.
    fn log_create(&self, rel: RelFileLocator) -> Lsn;
}

impl<P: LwProcs> BtreeWal for XlogHeapWal<'_, P> {
    fn log_btree(
        &self,
        rel: RelFileLocator,
        info: u8,
        main: Vec<u8>,
        blocks: Vec<BtBlock<'_>>,
    ) -> Lsn {
        let blocks = blocks
            .into_iter()
            .map(|b| Blk {
                id: b.id,
                rel,
                blkno: b.blkno,
                page: b.page,
                will_init: false,
                force_image: b.image,
                data: b.data,
            })
            .collect();
        self.log(RM_BTREE_ID, info, 0, main, blocks)
    }
    fn log_create(&self, rel: RelFileLocator) -> Lsn {
        crate::heapam::HeapWal::log_smgr_create(self, rel, Fork::Main)
    }
}

// ---------------------------------------------------------------------------
// The index
// ---------------------------------------------------------------------------

/// Whether a heap tuple an equal index entry points at is still there, as
/// the unique check needs it (PostgreSQL asks the heap with a dirty
/// snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeapCheck {
    /// Dead to everyone (or removed): no conflict.
    Dead,
    /// Live (committed, or this transaction's own): a violation.
    Live,
    /// Inserted or deleted by a transaction still running: wait for it.
    InProgress(Xid),
}

/// The caller's heap lookup for the unique check. Called with an index
/// page share- or exclusive-locked: it may lock heap pages, never index
/// pages.
pub trait UniqueCheck {
    fn check(&self, tid: ItemPointer) -> Result<HeapCheck, PgError>;
}

/// Result of [`BtreeRel::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted,
    /// An equal key's inserter or deleter is still running: wait for this
    /// transaction to end, then insert again.
    WaitFor(Xid),
}

/// One backend's handle on a B-tree index (the part of a relcache entry
/// the B-tree needs). Only its process uses it.
pub struct BtreeRel<'a> {
    pub rel: RelFileLocator,
    /// The index's name (for the unique-violation message).
    pub name: String,
    pub cols: Vec<KeyColumn>,
    pub unique: bool,
    /// UNIQUE NULLS NOT DISTINCT: keys with NULLs are checked too (one
    /// NULL equals another, as the tree orders them). Set by the caller
    /// after `new`.
    pub nulls_not_distinct: bool,
    bm: &'a BufMgr,
    wal: &'a dyn BtreeWal,
    ext: &'a dyn ExtensionLock,
}

/// A page locked by this process, with its block number. The pin is
/// boxed so that the lock's borrow of it stays put when a `Locked` moves;
/// `lock` is declared first so that it is dropped first.
struct Locked<'b> {
    lock: Option<ContentLock<'b>>,
    blk: BlockNumber,
    pin: Box<Pin>,
}

impl<'a> BtreeRel<'a> {
    pub fn new(
        rel: RelFileLocator,
        name: impl Into<String>,
        cols: Vec<KeyColumn>,
        unique: bool,
        bm: &'a BufMgr,
        wal: &'a dyn BtreeWal,
        ext: &'a dyn ExtensionLock,
    ) -> BtreeRel<'a> {
        BtreeRel {
            rel,
            name: name.into(),
            cols,
            unique,
            nulls_not_distinct: false,
            bm,
            wal,
            ext,
        }
    }

    fn check_key(&self, vals: &[Value]) -> Result<(), PgError> {
        if vals.len() != self.cols.len() || vals.len() > INDEX_MAX_KEYS {
            return Err(internal(format!(
                "index \"{}\" has {} key columns, got {} values",
                self.name,
                self.cols.len(),
                vals.len()
            )));
        }
        Ok(())
    }

    fn leaf_tuple(&self, vals: &[Value], tid: ItemPointer) -> Result<Vec<u8>, PgError> {
        self.check_key(vals)?;
        let t = form_tuple(&self.cols, vals, Some(tid), None)?;
        // PostgreSQL's limit (_bt_check_third_page): BT_MAX_ITEM_SIZE
        // already leaves room for the TID a pivot made from it appends.
        if maxalign(t.len()) > BT_MAX_ITEM_SIZE {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "index row size {} exceeds btree version 4 maximum {} for index \"{}\"",
                    maxalign(t.len()),
                    BT_MAX_ITEM_SIZE,
                    self.name
                ),
            )
            .with_hint(
                "Values larger than 1/3 of a buffer page cannot be indexed.\n\
                 Consider a function index of an MD5 hash of the value, or use full text indexing.",
            ));
        }
        Ok(t)
    }

    fn pivot_of(&self, t: &[u8], downlink_to: BlockNumber) -> Result<Vec<u8>, PgError> {
        let vals = deform(&self.cols, t)?;
        form_tuple(&self.cols, &vals, heap_tid(t), Some(downlink_to))
    }

    fn tuple_key(&self, t: &[u8]) -> Result<(Vec<Value>, Option<ItemPointer>), PgError> {
        Ok((deform(&self.cols, t)?, heap_tid(t)))
    }

    fn read<'b>(
        &'b self,
        owner: &mut ResourceOwner,
        blk: BlockNumber,
        mode: LwMode,
    ) -> Result<Locked<'b>, PgError>
    where
        'a: 'b,
    {
        let pin = self.bm.read_buffer(owner, self.rel, Fork::Main, blk)?;
        let mut l = Locked {
            blk,
            pin: Box::new(pin),
            lock: None,
        };
        let lock = self.bm.lock(pinned(&l.pin), mode);
        l.lock = Some(lock);
        Ok(l)
    }

    fn unlock(&self, owner: &mut ResourceOwner, mut l: Locked<'_>) {
        drop(l.lock.take());
        self.bm.release(owner, *l.pin);
    }

    /// Creates the index's main fork with a metapage and an empty root
    /// leaf (PostgreSQL 15 makes the root lazily; an empty leaf is simpler
    /// and costs one page). Any backend creating an index.
    pub fn create(&self, owner: &mut ResourceOwner) -> Result<(), PgError> {
        {
            let mut s = self.bm.smgr();
            if !s.exists(self.rel, Fork::Main)? {
                s.create(self.rel, Fork::Main, true)?;
                drop(s);
                self.wal.log_create(self.rel);
            }
        }
        if self.nblocks()? != 0 {
            return Err(internal(format!(
                "index \"{}\" already has pages",
                self.name
            )));
        }
        let root = build_page(
            Opaque {
                flags: BTP_LEAF | BTP_ROOT,
                ..Opaque::default()
            },
            None,
            &[],
        )?;
        let mut meta: Box<PageBuf> = Box::new([0u8; BLCKSZ]);
        write_meta(&mut meta, Meta { root: 1, level: 0 });
        self.write_new_page(owner, 0, &meta)?;
        self.write_new_page(owner, 1, &root)?;
        Ok(())
    }

    pub fn nblocks(&self) -> Result<BlockNumber, PgError> {
        let mut smgr = self.bm.smgr();
        if !smgr.exists(self.rel, Fork::Main)? {
            return Ok(0);
        }
        smgr.nblocks(self.rel, Fork::Main)
    }

    /// Appends block `blk` (the next one) with content `img`, logged as an
    /// image. Index creation and bulk build, before anyone else sees the
    /// index.
    fn write_new_page(
        &self,
        owner: &mut ResourceOwner,
        blk: BlockNumber,
        img: &PageBuf,
    ) -> Result<(), PgError> {
        let pin = self.bm.extend(owner, self.rel, Fork::Main)?;
        let got = self.bm.pool().desc(pin.buffer()).tag.load().block;
        let r = if got != blk {
            Err(internal(format!(
                "index \"{}\" grew to block {got}, expected {blk}",
                self.name
            )))
        } else {
            let mut l = self.bm.lock(&pin, LwMode::Exclusive);
            l.page_mut().copy_from_slice(img);
            l.mark_dirty();
            let lsn = self.wal.log_btree(
                self.rel,
                XLOG_BTREE_NEWPAGE,
                Vec::new(),
                vec![BtBlock {
                    id: 0,
                    blkno: blk,
                    page: l.page(),
                    image: true,
                    data: Vec::new(),
                }],
            );
            page::set_lsn(l.page_mut(), lsn);
            Ok(())
        };
        self.bm.release(owner, pin);
        r
    }

    /// A new block under the extension lock, pinned and exclusively locked,
    /// initialised as `o`. Called with content locks held: safe, because
    /// the extension lock's holder waits for no page but the brand-new one
    /// (an exception to heapam's rule 1 that PostgreSQL makes too).
    fn new_page<'b>(&'b self, owner: &mut ResourceOwner) -> Result<Locked<'b>, PgError>
    where
        'a: 'b,
    {
        self.ext.lock(self.rel);
        let r = self.bm.extend(owner, self.rel, Fork::Main);
        self.ext.unlock(self.rel);
        let pin = r?;
        let blk = self.bm.pool().desc(pin.buffer()).tag.load().block;
        let mut l = Locked {
            blk,
            pin: Box::new(pin),
            lock: None,
        };
        l.lock = Some(self.bm.lock(pinned(&l.pin), LwMode::Exclusive));
        Ok(l)
    }

    fn meta(&self, owner: &mut ResourceOwner) -> Result<Meta, PgError> {
        let l = self.read(owner, BTREE_METAPAGE, LwMode::Shared)?;
        let m = read_meta(l.lock.as_ref().unwrap().page());
        self.unlock(owner, l);
        m
    }

    /// Moves right from `l` while the key is beyond the page's high key;
    /// returns the page that may hold it, locked in `mode`.
    fn move_right<'b>(
        &'b self,
        owner: &mut ResourceOwner,
        mut l: Locked<'b>,
        sk: &SearchKey,
        mode: LwMode,
    ) -> Result<Locked<'b>, PgError>
    where
        'a: 'b,
    {
        loop {
            let p = l.lock.as_ref().unwrap().page();
            // A page about to be changed gets the full check.
            let checked = match mode {
                LwMode::Shared => check_page_header(p, l.blk),
                LwMode::Exclusive => check_page(p, l.blk),
            };
            if let Err(e) = checked {
                self.unlock(owner, l);
                return Err(e);
            }
            if is_rightmost(p) {
                return Ok(l);
            }
            let o = match item(p, 1).and_then(|t| cmp_tuple(&self.cols, sk, t)) {
                Ok(o) => o,
                Err(e) => {
                    self.unlock(owner, l);
                    return Err(e);
                }
            };
            if o == Ordering::Less {
                return Ok(l);
            }
            let next = opaque(p).next;
            self.unlock(owner, l);
            l = self.read(owner, next, mode)?;
        }
    }

    /// The child an internal page leads to for `sk`: the last downlink
    /// whose key is <= the search key.
    fn choose_child(&self, p: &PageBuf, sk: &SearchKey) -> Result<(BlockNumber, u16), PgError> {
        let first = first_data(p);
        let max = page::max_offset(p);
        if max < first {
            return Err(corrupt("btree internal page without downlinks"));
        }
        // Binary search over (first, max]: the first item (minus infinity)
        // is always <= the key.
        let (mut lo, mut hi) = (first + 1, max + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if cmp_tuple(&self.cols, sk, item(p, mid)?)? == Ordering::Less {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let off = lo - 1;
        Ok((downlink(item(p, off)?), off))
    }

    /// The first data offset on a leaf whose tuple is >= `sk`.
    fn leaf_position(&self, p: &PageBuf, sk: &SearchKey) -> Result<u16, PgError> {
        let (mut lo, mut hi) = (first_data(p), page::max_offset(p) + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if cmp_tuple(&self.cols, sk, item(p, mid)?)? == Ordering::Greater {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// Descends from the root to the page of `level` that may hold `sk`,
    /// locked in `mode` (pages above under share locks, one at a time).
    /// Returns it with the blocks visited above it, by level (the stack
    /// for inserting downlinks after a split).
    fn descend<'b>(
        &'b self,
        owner: &mut ResourceOwner,
        sk: &SearchKey,
        level: u32,
        mode: LwMode,
    ) -> Result<(Locked<'b>, Vec<(u32, BlockNumber)>), PgError>
    where
        'a: 'b,
    {
        let meta = self.meta(owner)?;
        if meta.level < level {
            return Err(internal(format!(
                "index \"{}\" has no level {level} (root level {})",
                self.name, meta.level
            )));
        }
        let mut stack = Vec::new();
        let mut blk = meta.root;
        let mut lvl = meta.level;
        loop {
            let m = if lvl == level { mode } else { LwMode::Shared };
            let l = self.read(owner, blk, m)?;
            let l = self.move_right(owner, l, sk, m)?;
            if lvl == level {
                return Ok((l, stack));
            }
            let p = l.lock.as_ref().unwrap().page();
            let r = self.choose_child(p, sk);
            stack.push((lvl, l.blk));
            self.unlock(owner, l);
            blk = r?.0;
            lvl -= 1;
        }
    }

    /// PostgreSQL's _bt_doinsert: adds (vals, tid). For a unique index,
    /// checks first that no live tuple has the same key (NULLs never
    /// conflict); see [`InsertOutcome`]. Any backend.
    pub fn insert(
        &self,
        owner: &mut ResourceOwner,
        vals: &[Value],
        tid: ItemPointer,
        check: Option<&dyn UniqueCheck>,
    ) -> Result<InsertOutcome, PgError> {
        let tuple = self.leaf_tuple(vals, tid)?;
        let do_check = self.unique && (self.nulls_not_distinct || !vals.iter().any(Value::is_null));
        let first = SearchKey {
            vals: vals.to_vec(),
            tid: if do_check { None } else { Some(tid) },
            after: false,
        };
        let (l, stack) = self.descend(owner, &first, 0, LwMode::Exclusive)?;
        let l = if do_check {
            let Some(check) = check else {
                self.unlock(owner, l);
                return Err(internal("unique index insert without a heap check"));
            };
            match self.check_unique(owner, &l, vals, tid, check) {
                Ok(None) => {}
                Ok(Some(xid)) => {
                    self.unlock(owner, l);
                    return Ok(InsertOutcome::WaitFor(xid));
                }
                Err(e) => {
                    self.unlock(owner, l);
                    return Err(e);
                }
            }
            let exact = SearchKey {
                vals: vals.to_vec(),
                tid: Some(tid),
                after: false,
            };
            // Moves right holding the checked page until the next is
            // locked (coupled): a concurrent inserter of the same key
            // cannot pass us.
            self.move_right_coupled(owner, l, &exact)?
        } else {
            l
        };
        let sk = SearchKey {
            vals: vals.to_vec(),
            tid: Some(tid),
            after: false,
        };
        self.insert_at(owner, l, stack, &sk, tuple, 0)?;
        Ok(InsertOutcome::Inserted)
    }

    fn move_right_coupled<'b>(
        &'b self,
        owner: &mut ResourceOwner,
        mut l: Locked<'b>,
        sk: &SearchKey,
    ) -> Result<Locked<'b>, PgError>
    where
        'a: 'b,
    {
        loop {
            let p = l.lock.as_ref().unwrap().page();
            if is_rightmost(p) {
                return Ok(l);
            }
            if cmp_tuple(&self.cols, sk, item(p, 1)?)? == Ordering::Less {
                return Ok(l);
            }
            let next = opaque(p).next;
            let n = self.read(owner, next, LwMode::Exclusive);
            self.unlock(owner, l);
            l = n?;
        }
    }

    /// Looks at every entry equal to `vals` from the locked page `l` on;
    /// Some(xid) when one's transaction must be waited for.
    fn check_unique(
        &self,
        owner: &mut ResourceOwner,
        l: &Locked<'_>,
        vals: &[Value],
        tid: ItemPointer,
        check: &dyn UniqueCheck,
    ) -> Result<Option<Xid>, PgError> {
        let sk = SearchKey {
            vals: vals.to_vec(),
            tid: None,
            after: false,
        };
        let mut held: Option<Locked<'_>> = None;
        let r = (|| {
            let mut p = l.lock.as_ref().unwrap().page();
            let mut off = self.leaf_position(p, &sk)?;
            loop {
                let max = page::max_offset(p);
                while off <= max {
                    let t = item(p, off)?;
                    let (v, h) = self.tuple_key(t)?;
                    if v.iter()
                        .zip(vals)
                        .any(|(a, b)| cmp_value(a, b) != Ordering::Equal)
                    {
                        return Ok(None);
                    }
                    let h = h.unwrap_or(ItemPointer::INVALID);
                    if h != tid {
                        match check.check(h)? {
                            HeapCheck::Dead => {}
                            HeapCheck::InProgress(x) => return Ok(Some(x)),
                            HeapCheck::Live => return Err(self.unique_violation(vals)),
                        }
                    }
                    off += 1;
                }
                // Equal keys may continue on the right sibling if the high
                // key is still equal.
                if is_rightmost(p) {
                    return Ok(None);
                }
                let (hk, _) = self.tuple_key(item(p, 1)?)?;
                if hk
                    .iter()
                    .zip(vals)
                    .any(|(a, b)| cmp_value(a, b) != Ordering::Equal)
                {
                    return Ok(None);
                }
                let next = opaque(p).next;
                let n = self.read(owner, next, LwMode::Shared)?;
                if let Some(old) = held.take() {
                    self.unlock(owner, old);
                }
                held = Some(n);
                p = held.as_ref().unwrap().lock.as_ref().unwrap().page();
                // SAFETY-free: p borrows `held`, re-taken each round.
                off = first_data(p);
            }
        })();
        if let Some(h) = held {
            self.unlock(owner, h);
        }
        r
    }

    fn unique_violation(&self, vals: &[Value]) -> PgError {
        let names: Vec<&str> = self.cols.iter().map(|c| c.name.as_str()).collect();
        let shown: Vec<String> = vals
            .iter()
            .map(|v| value::to_text(v).unwrap_or_else(|| "null".into()))
            .collect();
        PgError::error(
            sqlstate::UNIQUE_VIOLATION,
            format!(
                "duplicate key value violates unique constraint \"{}\"",
                self.name
            ),
        )
        .with_detail(format!(
            "Key ({})=({}) already exists.",
            names.join(", "),
            shown.join(", ")
        ))
    }

    /// Inserts `tuple` (key `sk`) on the exclusively locked page `l` of
    /// `level`, splitting it if full; then inserts the downlink of the new
    /// page one level up. Consumes the lock.
    fn insert_at<'b>(
        &'b self,
        owner: &mut ResourceOwner,
        mut l: Locked<'b>,
        stack: Vec<(u32, BlockNumber)>,
        sk: &SearchKey,
        tuple: Vec<u8>,
        level: u32,
    ) -> Result<(), PgError>
    where
        'a: 'b,
    {
        let r = (|| {
            let p = l.lock.as_ref().unwrap().page();
            let off = if level == 0 {
                self.leaf_position(p, sk)?
            } else {
                self.choose_child(p, sk)?.1 + 1
            };
            if page::free_space(p) >= maxalign(tuple.len()) {
                // Critical section.
                let lk = l.lock.as_mut().unwrap();
                page::add_item(lk.page_mut(), &tuple, AddAt::Insert(off), MAX_OFFSET_NUMBER)
                    .map_err(|e| e.to_pg_error())?;
                lk.mark_dirty();
                let info = if level == 0 {
                    XLOG_BTREE_INSERT_LEAF
                } else {
                    XLOG_BTREE_INSERT_UPPER
                };
                let lsn = self.wal.log_btree(
                    self.rel,
                    info,
                    off.to_le_bytes().to_vec(),
                    vec![BtBlock {
                        id: 0,
                        blkno: l.blk,
                        page: lk.page(),
                        image: false,
                        data: tuple.clone(),
                    }],
                );
                page::set_lsn(lk.page_mut(), lsn);
                return Ok(None);
            }
            self.split(owner, &mut l, off, &tuple, level).map(Some)
        })();
        self.unlock(owner, l);
        let Some((sep, right)) = r? else {
            return Ok(());
        };
        let Some((sep, right)) = sep.zip(Some(right)) else {
            // The root split: the new root already points at both halves.
            return Ok(());
        };
        // The downlink one level up: from the page the descent passed (or
        // from the root, when it did not pass one: the root was lower).
        let psk = {
            let (v, t) = self.tuple_key(&sep)?;
            SearchKey {
                vals: v,
                tid: t,
                after: false,
            }
        };
        let pivot = self.pivot_of(&sep, right)?;
        let parent = stack.iter().rev().find(|e| e.0 == level + 1).map(|e| e.1);
        let up: Vec<(u32, BlockNumber)> =
            stack.iter().copied().filter(|e| e.0 > level + 1).collect();
        let (pl, up) = match parent {
            Some(b) => {
                let pl = self.read(owner, b, LwMode::Exclusive)?;
                (self.move_right(owner, pl, &psk, LwMode::Exclusive)?, up)
            }
            None => self.descend(owner, &psk, level + 1, LwMode::Exclusive)?,
        };
        self.insert_at(owner, pl, up, &psk, pivot, level + 1)
    }

    /// Splits the locked page `l` to make room for `tuple` at `off`.
    /// Returns the separator (the right half's first tuple, as stored) and
    /// the right page's block, or no separator when the page was the root
    /// (a new root was made in the same step).
    fn split(
        &self,
        owner: &mut ResourceOwner,
        l: &mut Locked<'_>,
        off: u16,
        tuple: &[u8],
        level: u32,
    ) -> Result<(Option<Vec<u8>>, BlockNumber), PgError> {
        let p = l.lock.as_ref().unwrap().page();
        let o = opaque(p);
        let first = first_data(p);
        let hikey = (!is_rightmost(p))
            .then(|| item(p, 1).map(<[u8]>::to_vec))
            .transpose()?;
        let mut items: Vec<Vec<u8>> = Vec::new();
        for i in first..=page::max_offset(p) {
            if i == off {
                items.push(tuple.to_vec());
            }
            items.push(item(p, i)?.to_vec());
        }
        if off > page::max_offset(p) {
            items.push(tuple.to_vec());
        }
        let n = items.len();
        if n < 2 {
            return Err(internal("btree split of a page with fewer than two items"));
        }
        // Split point: an insert at the end of the rightmost leaf leaves
        // the left page at the fill factor (ascending keys fill pages);
        // else the bytes are halved.
        let total: usize = items.iter().map(|t| item_space(t)).sum();
        let target = if is_rightmost(p) && off as usize >= first as usize + n - 1 {
            PAGE_SPACE
                * if level == 0 {
                    BTREE_DEFAULT_FILLFACTOR
                } else {
                    BTREE_NONLEAF_FILLFACTOR
                }
                / 100
        } else {
            total / 2
        };
        let mut k = 0;
        let mut used = 0;
        while k < n - 1 {
            let s = item_space(&items[k]);
            // The left page also holds its new high key (about as big as
            // the first right item, plus a TID).
            if k > 0 && used + s + item_space(&items[k + 1]) + 8 > target.min(PAGE_SPACE) {
                break;
            }
            used += s;
            k += 1;
        }
        let k = k.clamp(1, n - 1);
        let (sep, new_left, new_right);
        let is_root = o.flags & BTP_ROOT != 0;
        let mut r = self.new_page(owner)?;
        let right_blk = r.blk;
        let leaf_flag = o.flags & BTP_LEAF;
        {
            let mut right_items: Vec<Vec<u8>> = items[k..].to_vec();
            let sep_t = right_items[0].clone();
            let left_hikey = if level == 0 {
                self.pivot_of(&sep_t, P_NONE)?
            } else {
                // An internal right page starts with minus infinity: its
                // first downlink keeps the child, the key goes up.
                right_items[0] = form_tuple(&self.cols, &[], None, Some(downlink(&sep_t)))?;
                let v = deform(&self.cols, &sep_t)?;
                form_tuple(&self.cols, &v, heap_tid(&sep_t), Some(P_NONE))?
            };
            new_right = build_page(
                Opaque {
                    prev: l.blk,
                    next: o.next,
                    level,
                    flags: leaf_flag,
                },
                hikey.as_deref(),
                &right_items,
            )?;
            new_left = build_page(
                Opaque {
                    prev: o.prev,
                    next: right_blk,
                    level,
                    flags: leaf_flag,
                },
                Some(&left_hikey),
                &items[..k],
            )?;
            sep = if level == 0 { sep_t } else { left_hikey };
        }
        let mut nxt = if o.next != P_NONE {
            match self.read(owner, o.next, LwMode::Exclusive) {
                Ok(x) => Some(x),
                Err(e) => {
                    self.unlock(owner, r);
                    return Err(e);
                }
            }
        } else {
            None
        };
        let mut meta = if is_root {
            match self.read(owner, BTREE_METAPAGE, LwMode::Exclusive) {
                Ok(x) => Some(x),
                Err(e) => {
                    self.unlock(owner, r);
                    if let Some(x) = nxt {
                        self.unlock(owner, x);
                    }
                    return Err(e);
                }
            }
        } else {
            None
        };
        let mut root = if is_root {
            match self.new_page(owner) {
                Ok(x) => Some(x),
                Err(e) => {
                    for x in [Some(r), nxt, meta].into_iter().flatten() {
                        self.unlock(owner, x);
                    }
                    return Err(e);
                }
            }
        } else {
            None
        };
        let root_img = match &root {
            Some(rt) => {
                let left_dl = form_tuple(&self.cols, &[], None, Some(l.blk))?;
                let right_dl = self.pivot_of(&sep, right_blk)?;
                let right_dl = if level == 0 {
                    right_dl
                } else {
                    let v = deform(&self.cols, &sep)?;
                    form_tuple(&self.cols, &v, heap_tid(&sep), Some(right_blk))?
                };
                let _ = rt;
                Some(build_page(
                    Opaque {
                        prev: P_NONE,
                        next: P_NONE,
                        level: level + 1,
                        flags: BTP_ROOT,
                    },
                    None,
                    &[left_dl, right_dl],
                )?)
            }
            None => None,
        };
        // Critical section: the right page first, then the left, the old
        // right sibling's back link, and for a root split the new root and
        // the metapage; one record.
        let rl = r.lock.as_mut().unwrap();
        rl.page_mut().copy_from_slice(&new_right[..]);
        rl.mark_dirty();
        let ll = l.lock.as_mut().unwrap();
        ll.page_mut().copy_from_slice(&new_left[..]);
        ll.mark_dirty();
        if let Some(x) = nxt.as_mut() {
            let xl = x.lock.as_mut().unwrap();
            let mut xo = opaque(xl.page());
            xo.prev = right_blk;
            set_opaque(xl.page_mut(), xo);
            xl.mark_dirty();
        }
        if let (Some(rt), Some(img)) = (root.as_mut(), root_img.as_ref()) {
            let tl = rt.lock.as_mut().unwrap();
            tl.page_mut().copy_from_slice(&img[..]);
            tl.mark_dirty();
            let ml = meta.as_mut().unwrap().lock.as_mut().unwrap();
            write_meta(
                ml.page_mut(),
                Meta {
                    root: rt.blk,
                    level: level + 1,
                },
            );
            ml.mark_dirty();
        }
        let mut main = Vec::with_capacity(8);
        main.extend_from_slice(&level.to_le_bytes());
        main.extend_from_slice(&right_blk.to_le_bytes());
        let mut blocks = vec![
            BtBlock {
                id: 0,
                blkno: l.blk,
                page: l.lock.as_ref().unwrap().page(),
                image: true,
                data: Vec::new(),
            },
            BtBlock {
                id: 1,
                blkno: right_blk,
                page: r.lock.as_ref().unwrap().page(),
                image: true,
                data: Vec::new(),
            },
        ];
        if let Some(x) = nxt.as_ref() {
            blocks.push(BtBlock {
                id: 2,
                blkno: x.blk,
                page: x.lock.as_ref().unwrap().page(),
                image: false,
                data: Vec::new(),
            });
        }
        if let (Some(rt), Some(m)) = (root.as_ref(), meta.as_ref()) {
            blocks.push(BtBlock {
                id: 3,
                blkno: rt.blk,
                page: rt.lock.as_ref().unwrap().page(),
                image: true,
                data: Vec::new(),
            });
            blocks.push(BtBlock {
                id: 4,
                blkno: BTREE_METAPAGE,
                page: m.lock.as_ref().unwrap().page(),
                image: true,
                data: Vec::new(),
            });
        }
        let info = if is_root {
            XLOG_BTREE_NEWROOT
        } else {
            XLOG_BTREE_SPLIT_L
        };
        let lsn = self.wal.log_btree(self.rel, info, main, blocks);
        page::set_lsn(l.lock.as_mut().unwrap().page_mut(), lsn);
        for x in [Some(&mut r), nxt.as_mut(), root.as_mut(), meta.as_mut()]
            .into_iter()
            .flatten()
        {
            page::set_lsn(x.lock.as_mut().unwrap().page_mut(), lsn);
        }
        for x in [Some(r), nxt, root, meta].into_iter().flatten() {
            self.unlock(owner, x);
        }
        Ok((if is_root { None } else { Some(sep) }, right_blk))
    }

    /// Starts a forward scan over keys in [lower, upper] (bounds are
    /// prefixes of the key columns; `None` = unbounded, the flag says
    /// inclusive). Equality is lower = upper, both inclusive. Any backend.
    pub fn scan(
        &self,
        owner: &mut ResourceOwner,
        lower: Option<(Vec<Value>, bool)>,
        upper: Option<(Vec<Value>, bool)>,
    ) -> Result<BtScan<'_, 'a>, PgError> {
        let sk = match &lower {
            Some((v, incl)) => SearchKey {
                vals: v.clone(),
                tid: None,
                after: !incl,
            },
            None => SearchKey {
                vals: Vec::new(),
                tid: None,
                after: false,
            },
        };
        let (l, _) = self.descend(owner, &sk, 0, LwMode::Shared)?;
        let mut s = BtScan {
            idx: self,
            lower: None,
            upper,
            items: Vec::new(),
            pos: 0,
            next: P_NONE,
            cur: l.blk,
            backward: false,
            done: false,
        };
        let r = s.load(l.lock.as_ref().unwrap().page(), Some(&sk));
        self.unlock(owner, l);
        r?;
        Ok(s)
    }

    /// PostgreSQL's btbulkdelete: removes every leaf entry whose heap TID
    /// `dead` says VACUUM will free, walking the leaf level left to right
    /// (module comment); each changed leaf is logged (VACUUM record).
    /// Returns the number of entries removed. The backend running VACUUM,
    /// before the heap frees those TIDs.
    pub fn bulk_delete(
        &self,
        owner: &mut ResourceOwner,
        dead: &dyn Fn(ItemPointer) -> bool,
    ) -> Result<u64, PgError> {
        if self.nblocks()? == 0 {
            return Ok(0);
        }
        let meta = self.meta(owner)?;
        if meta.root == P_NONE {
            return Ok(0);
        }
        // The leftmost leaf: down the "minus infinity" downlinks.
        let mut blk = meta.root;
        loop {
            let l = self.read(owner, blk, LwMode::Shared)?;
            let r = (|| {
                let p = l.lock.as_ref().unwrap().page();
                check_page(p, blk)?;
                if opaque(p).flags & BTP_LEAF != 0 {
                    return Ok(None);
                }
                Ok(Some(downlink(item(p, first_data(p))?)))
            })();
            self.unlock(owner, l);
            match r? {
                Some(child) => blk = child,
                None => break,
            }
        }
        let mut removed = 0u64;
        while blk != P_NONE {
            let mut l = self.read(owner, blk, LwMode::Exclusive)?;
            let r = (|| {
                let lock = l.lock.as_mut().unwrap();
                let p = lock.page();
                check_page(p, blk)?;
                let next = opaque(p).next;
                let mut offs = Vec::new();
                for off in first_data(p)..=page::max_offset(p) {
                    if heap_tid(item(p, off)?).is_some_and(dead) {
                        offs.push(off);
                    }
                }
                if !offs.is_empty() {
                    delete_items(lock.page_mut(), &offs)?;
                    lock.mark_dirty();
                    let mut data = Vec::with_capacity(2 * offs.len());
                    for &o in &offs {
                        data.extend_from_slice(&o.to_le_bytes());
                    }
                    let lsn = self.wal.log_btree(
                        self.rel,
                        XLOG_BTREE_VACUUM,
                        Vec::new(),
                        vec![BtBlock {
                            id: 0,
                            blkno: blk,
                            page: lock.page(),
                            image: false,
                            data,
                        }],
                    );
                    page::set_lsn(lock.page_mut(), lsn);
                }
                Ok((next, offs.len() as u64))
            })();
            self.unlock(owner, l);
            let (next, n) = r?;
            removed += n;
            blk = next;
        }
        Ok(removed)
    }

    /// [`BtreeRel::scan`] in descending order: from the upper bound down
    /// to the lower one, walking left links (PostgreSQL's _bt_walk_left:
    /// when the left page split since the copy, move right from it to the
    /// page that now links to ours). Any backend.
    pub fn scan_backward(
        &self,
        owner: &mut ResourceOwner,
        lower: Option<(Vec<Value>, bool)>,
        upper: Option<(Vec<Value>, bool)>,
    ) -> Result<BtScan<'_, 'a>, PgError> {
        // Past the last entry <= the upper bound (or the last of all).
        let sk = match &upper {
            Some((v, incl)) => SearchKey {
                vals: v.clone(),
                tid: None,
                after: *incl,
            },
            None => SearchKey {
                vals: Vec::new(),
                tid: None,
                after: true,
            },
        };
        let (l, _) = self.descend(owner, &sk, 0, LwMode::Shared)?;
        let mut s = BtScan {
            idx: self,
            lower,
            upper: None,
            items: Vec::new(),
            pos: 0,
            next: P_NONE,
            cur: l.blk,
            backward: true,
            done: false,
        };
        let r = s.load_backward(l.lock.as_ref().unwrap().page(), Some(&sk));
        self.unlock(owner, l);
        r?;
        Ok(s)
    }

    /// Bulk build (CREATE INDEX): `entries` sorted by [`sort_entries`] are
    /// written left to right into leaves filled to the fill factor, then
    /// each level above, then the metapage. The index must have no pages.
    /// A unique index reports the first live duplicate the caller left in
    /// (the caller removes dead tuples first, as PostgreSQL's spool
    /// does with its snapshot). Any backend building an index no one else
    /// sees yet.
    pub fn build(
        &self,
        owner: &mut ResourceOwner,
        entries: &[(Vec<Value>, ItemPointer)],
    ) -> Result<(), PgError> {
        {
            let mut s = self.bm.smgr();
            if !s.exists(self.rel, Fork::Main)? {
                s.create(self.rel, Fork::Main, true)?;
                drop(s);
                self.wal.log_create(self.rel);
            }
        }
        if self.nblocks()? != 0 {
            return Err(internal(format!(
                "index \"{}\" already has pages",
                self.name
            )));
        }
        if self.unique {
            for w in entries.windows(2) {
                if (self.nulls_not_distinct || !w[0].0.iter().any(Value::is_null))
                    && w[0].0.len() == w[1].0.len()
                    && w[0]
                        .0
                        .iter()
                        .zip(&w[1].0)
                        .all(|(a, b)| cmp_value(a, b) == Ordering::Equal)
                {
                    return Err(PgError::error(
                        sqlstate::UNIQUE_VIOLATION,
                        format!("could not create unique index \"{}\"", self.name),
                    )
                    .with_detail(
                        self.unique_violation(&w[0].0)
                            .detail
                            .unwrap_or_default()
                            .replace("already exists.", "is duplicated."),
                    ));
                }
            }
        }
        let mut tuples = Vec::with_capacity(entries.len());
        for (v, t) in entries {
            tuples.push(self.leaf_tuple(v, *t)?);
        }
        // Block 0 (the metapage, already naming the final root) first,
        // then the others: each is a whole-page image record.
        for (blk, img) in build_images(&self.cols, tuples)?.iter().enumerate() {
            self.write_new_page(owner, blk as BlockNumber, img)?;
        }
        Ok(())
    }
}

/// A leaf tuple of (`vals`, `tid`) as [`BtreeRel::insert`] stores it, for
/// [`build_images`] (the bootstrap's catalog indexes, whose keys are far
/// below the item size limit).
pub fn leaf_tuple_of(
    cols: &[KeyColumn],
    vals: &[Value],
    tid: ItemPointer,
) -> Result<Vec<u8>, PgError> {
    form_tuple(cols, vals, Some(tid), None)
}

/// The pages of a bulk-built tree over the sorted leaf tuples `tuples`,
/// block 0 (the metapage) first: leaves at the default fillfactor, each
/// level above cut the same way, until one page is the root. A pure
/// function, so that `tusk init` can write the catalogs' indexes straight
/// to files (catalog.rs) as [`BtreeRel::build`] writes them through the
/// buffer pool.
pub fn build_images(
    cols: &[KeyColumn],
    tuples: Vec<Vec<u8>>,
) -> Result<Vec<Box<PageBuf>>, PgError> {
    let pivot_of = |t: &[u8], downlink_to: BlockNumber| -> Result<Vec<u8>, PgError> {
        let vals = deform(cols, t)?;
        form_tuple(cols, &vals, heap_tid(t), Some(downlink_to))
    };
    let mut out: Vec<Box<PageBuf>> = vec![Box::new([0u8; BLCKSZ])];
    let mut next_blk: BlockNumber = 1;
    let mut level = 0u32;
    // (first tuple of the page, its block) of the level just written.
    let mut level_items = tuples;
    loop {
        let fill = if level == 0 {
            BTREE_DEFAULT_FILLFACTOR
        } else {
            BTREE_NONLEAF_FILLFACTOR
        };
        let limit = PAGE_SPACE * fill / 100;
        // Cut the level into pages.
        let mut pages: Vec<(usize, usize)> = Vec::new();
        let mut start = 0;
        let mut used = 0;
        for (i, t) in level_items.iter().enumerate() {
            let s = item_space(t);
            // Room for a high key as big as the next page's first item.
            if i > start && used + s + item_space(t) + 8 > limit {
                pages.push((start, i));
                start = i;
                used = 0;
            }
            used += s;
        }
        pages.push((start, level_items.len()));
        let npages = pages.len();
        let first_blk = next_blk;
        let mut ups = Vec::with_capacity(npages);
        for (pi, &(a, b)) in pages.iter().enumerate() {
            let blk = first_blk + pi as u32;
            let mut items: Vec<Vec<u8>> = level_items[a..b].to_vec();
            let hikey = if pi + 1 < npages {
                let nxt = &level_items[pages[pi + 1].0];
                Some(if level == 0 {
                    pivot_of(nxt, P_NONE)?
                } else {
                    let v = deform(cols, nxt)?;
                    form_tuple(cols, &v, heap_tid(nxt), Some(P_NONE))?
                })
            } else {
                None
            };
            // The downlink to this page from the level above.
            let up = if pi == 0 {
                form_tuple(cols, &[], None, Some(blk))?
            } else if level == 0 {
                pivot_of(&items[0], blk)?
            } else {
                let v = deform(cols, &items[0])?;
                form_tuple(cols, &v, heap_tid(&items[0]), Some(blk))?
            };
            ups.push(up);
            if level > 0 && !items.is_empty() {
                // The first downlink of an internal page is minus
                // infinity.
                items[0] = form_tuple(cols, &[], None, Some(downlink(&items[0])))?;
            }
            let mut flags = if level == 0 { BTP_LEAF } else { 0 };
            if npages == 1 {
                flags |= BTP_ROOT;
            }
            out.push(build_page(
                Opaque {
                    prev: if pi == 0 { P_NONE } else { blk - 1 },
                    next: if pi + 1 < npages { blk + 1 } else { P_NONE },
                    level,
                    flags,
                },
                hikey.as_deref(),
                &items,
            )?);
        }
        next_blk += npages as u32;
        if npages == 1 {
            write_meta(
                &mut out[0],
                Meta {
                    root: first_blk,
                    level,
                },
            );
            return Ok(out);
        }
        level_items = ups;
        level += 1;
    }
}

/// What [`BtreeRel::verify`] saw.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeStats {
    /// Level of the root (0: the root is a leaf).
    pub root_level: u32,
    /// Pages per level, leaves first.
    pub pages: Vec<u32>,
    pub leaf_tuples: u64,
}

impl BtreeRel<'_> {
    /// PostgreSQL's bt_index_check (amcheck) for a quiescent index: walks
    /// every level left to right and checks levels, sibling links, the
    /// strict order of (key, TID) within and across pages and against high
    /// keys, and that every downlink of the level above leads to a page of
    /// this level. XX002 on the first inconsistency. Any backend.
    pub fn verify(&self, owner: &mut ResourceOwner) -> Result<TreeStats, PgError> {
        let meta = self.meta(owner)?;
        let mut stats = TreeStats {
            root_level: meta.level,
            pages: vec![0; meta.level as usize + 1],
            leaf_tuples: 0,
        };
        let mut leftmost = meta.root;
        let mut downlinks: Option<std::collections::HashSet<BlockNumber>> = None;
        for level in (0..=meta.level).rev() {
            let mut blk = leftmost;
            let mut prev = P_NONE;
            let mut last: Option<(Vec<Value>, Option<ItemPointer>)> = None;
            let mut after_hikey = false;
            let mut seen = std::collections::HashSet::new();
            let mut below = std::collections::HashSet::new();
            let mut next_leftmost = P_NONE;
            loop {
                let l = self.read(owner, blk, LwMode::Shared)?;
                let r = (|| {
                    let p = l.lock.as_ref().unwrap().page();
                    check_page(p, blk)?;
                    let o = opaque(p);
                    let bad = |what: &str| {
                        Err(corrupt(format!(
                            "index \"{}\": block {blk} (level {level}): {what}",
                            self.name
                        )))
                    };
                    if o.level != level || (o.flags & BTP_LEAF != 0) != (level == 0) {
                        return bad("wrong level");
                    }
                    if o.prev != prev {
                        return bad("left link does not match");
                    }
                    let first = first_data(p);
                    for off in first..=page::max_offset(p) {
                        let t = item(p, off)?;
                        if level > 0 {
                            below.insert(downlink(t));
                            if off == first {
                                if blk == leftmost {
                                    next_leftmost = downlink(t);
                                }
                                // Minus infinity: no key to order.
                                continue;
                            }
                        }
                        let k = self.tuple_key(t)?;
                        if let Some(lk) = &last {
                            let sk = SearchKey {
                                vals: lk.0.clone(),
                                tid: lk.1,
                                after: false,
                            };
                            let o = cmp_key(&sk, &k.0, k.1);
                            // A high key equals the first item to its right.
                            if o != Ordering::Less && !(after_hikey && o == Ordering::Equal) {
                                return bad(&format!("item {off} out of order"));
                            }
                        }
                        last = Some(k);
                        after_hikey = false;
                        if level == 0 {
                            stats.leaf_tuples += 1;
                        }
                    }
                    if !is_rightmost(p) {
                        let hk = self.tuple_key(item(p, 1)?)?;
                        if let Some(lk) = &last {
                            let sk = SearchKey {
                                vals: lk.0.clone(),
                                tid: lk.1,
                                after: false,
                            };
                            if cmp_key(&sk, &hk.0, hk.1) != Ordering::Less {
                                return bad("an item is not below the high key");
                            }
                        }
                        // Everything on the right is >= the high key.
                        last = Some(hk);
                        after_hikey = true;
                    }
                    Ok(o.next)
                })();
                self.unlock(owner, l);
                let next = r?;
                seen.insert(blk);
                stats.pages[level as usize] += 1;
                if next == P_NONE {
                    break;
                }
                prev = blk;
                blk = next;
            }
            if let Some(d) = downlinks.take() {
                if let Some(b) = d.iter().find(|b| !seen.contains(b)) {
                    return Err(corrupt(format!(
                        "index \"{}\": downlink to block {b} leads off level {level}",
                        self.name
                    )));
                }
            }
            downlinks = Some(below);
            leftmost = next_leftmost;
        }
        Ok(stats)
    }
}

/// The boxed pin of a [`Locked`], borrowed for as long as the `Locked`
/// (a self-borrow the compiler cannot see).
fn pinned<'x>(pin: &Pin) -> &'x Pin {
    // SAFETY: the Pin lives on the heap in its Box, which `Locked` owns
    // and never replaces, so the address is stable when `Locked` moves;
    // the lock borrowing it is dropped before the Box (field order, and
    // `unlock` takes the lock out before releasing the pin).
    unsafe { &*(pin as *const Pin) }
}

/// Sorts bulk-build input by key, then heap TID.
pub fn sort_entries(entries: &mut [(Vec<Value>, ItemPointer)]) {
    entries.sort_by(|a, b| {
        for (x, y) in a.0.iter().zip(&b.0) {
            let o = cmp_value(x, y);
            if o != Ordering::Equal {
                return o;
            }
        }
        cmp_tid(a.1, b.1)
    });
}

/// A forward scan: the current leaf's matching entries, copied.
pub struct BtScan<'s, 'a> {
    idx: &'s BtreeRel<'a>,
    /// The bound the scan ends at (lower for a backward scan).
    lower: Option<(Vec<Value>, bool)>,
    upper: Option<(Vec<Value>, bool)>,
    items: Vec<(ItemPointer, Vec<Value>)>,
    pos: usize,
    /// The page to read next: the right link (forward) or the left link
    /// (backward) of `cur` as copied.
    next: BlockNumber,
    cur: BlockNumber,
    backward: bool,
    done: bool,
}

impl BtScan<'_, '_> {
    /// Copies the page's entries from the start key on; stops the scan at
    /// the first entry past the upper bound.
    fn load(&mut self, p: &PageBuf, start: Option<&SearchKey>) -> Result<(), PgError> {
        let idx = self.idx;
        let from = match start {
            Some(sk) => idx.leaf_position(p, sk)?,
            None => first_data(p),
        };
        self.items.clear();
        self.pos = 0;
        for off in from..=page::max_offset(p) {
            let t = item(p, off)?;
            let (v, h) = idx.tuple_key(t)?;
            if let Some((u, incl)) = &self.upper {
                let o = cmp_prefix(&v, u);
                if o == Ordering::Greater || (o == Ordering::Equal && !incl) {
                    self.done = true;
                    break;
                }
            }
            self.items.push((h.unwrap_or(ItemPointer::INVALID), v));
        }
        self.next = opaque(p).next;
        if self.next == P_NONE {
            self.done = true;
        }
        Ok(())
    }

    /// The next entry (heap TID and key), or None at the end. The caller
    /// checks the heap tuple's visibility (it may be dead or gone).
    pub fn next(
        &mut self,
        owner: &mut ResourceOwner,
    ) -> Result<Option<(ItemPointer, Vec<Value>)>, PgError> {
        loop {
            if self.pos < self.items.len() {
                self.pos += 1;
                let e = &mut self.items[self.pos - 1];
                return Ok(Some((e.0, std::mem::take(&mut e.1))));
            }
            if self.done {
                return Ok(None);
            }
            let idx = self.idx;
            if self.backward {
                self.step_left(owner)?;
                continue;
            }
            let l = idx.read(owner, self.next, LwMode::Shared)?;
            self.cur = l.blk;
            let p = l.lock.as_ref().unwrap().page();
            let r = check_page(p, l.blk).and_then(|_| self.load(p, None));
            idx.unlock(owner, l);
            r?;
        }
    }

    /// Copies the page's entries below the start key (all when None),
    /// last first; stops the scan at the first entry below the lower
    /// bound.
    fn load_backward(&mut self, p: &PageBuf, start: Option<&SearchKey>) -> Result<(), PgError> {
        let idx = self.idx;
        let end = match start {
            Some(sk) => idx.leaf_position(p, sk)?,
            None => page::max_offset(p) + 1,
        };
        self.items.clear();
        self.pos = 0;
        let first = first_data(p);
        for off in (first..end).rev() {
            let t = item(p, off)?;
            let (v, h) = idx.tuple_key(t)?;
            if let Some((lo, incl)) = &self.lower {
                let o = cmp_prefix(&v, lo);
                if o == Ordering::Less || (o == Ordering::Equal && !incl) {
                    self.done = true;
                    break;
                }
            }
            self.items.push((h.unwrap_or(ItemPointer::INVALID), v));
        }
        self.next = opaque(p).prev;
        if self.next == P_NONE {
            self.done = true;
        }
        Ok(())
    }

    /// Moves to the page left of `cur` and copies it. That is the page
    /// whose right link is `cur` now: the remembered left page, or a page
    /// split off it since, found by moving right from it.
    fn step_left(&mut self, owner: &mut ResourceOwner) -> Result<(), PgError> {
        let idx = self.idx;
        let mut blk = self.next;
        loop {
            let l = idx.read(owner, blk, LwMode::Shared)?;
            let p = l.lock.as_ref().unwrap().page();
            let r = check_page(p, blk).and_then(|_| {
                let o = opaque(p);
                if o.next == self.cur {
                    self.load_backward(p, None).map(|_| None)
                } else if o.next == P_NONE {
                    Err(corrupt(format!(
                        "index \"{}\": no page left of block {}",
                        idx.name, self.cur
                    )))
                } else {
                    Ok(Some(o.next))
                }
            });
            idx.unlock(owner, l);
            match r? {
                None => {
                    self.cur = blk;
                    return Ok(());
                }
                Some(n) => blk = n,
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Redo (startup process only)
// ---------------------------------------------------------------------------

fn bad(r: &DecodedRecord, what: &str) -> String {
    format!("invalid btree {what} record at {}", lsn_str(r.lsn))
}

/// Redo of the B-tree records (an entry of [`crate::xlog::RMGRS`]).
pub fn btree_redo(r: &DecodedRecord, ctx: &mut RedoCtx<'_>) -> Result<(), String> {
    use crate::heapwal::redo_block;
    let d = &r.record.main_data;
    let image_only = |_: &mut PageBuf, _: &[u8]| -> Result<(), String> {
        Err("a block logged as an image must carry one".into())
    };
    match r.record.info & 0xF0 {
        XLOG_BTREE_INSERT_LEAF | XLOG_BTREE_INSERT_UPPER => {
            if d.len() != 2 {
                return Err(bad(r, "insert"));
            }
            let off = get16(d, 0);
            redo_block(ctx, r, 0, |p, tuple| {
                page::add_item(p, tuple, AddAt::Insert(off), MAX_OFFSET_NUMBER)
                    .map(|_| ())
                    .map_err(|e| e.to_pg_error().message)
            })?;
        }
        op @ (XLOG_BTREE_SPLIT_L | XLOG_BTREE_NEWROOT) => {
            if d.len() != 8 {
                return Err(bad(r, "split"));
            }
            let right = get32(d, 4);
            let has = |id: u8| r.record.blocks.iter().any(|b| b.id == id);
            if !has(0) || !has(1) || (op == XLOG_BTREE_NEWROOT && (!has(3) || !has(4))) {
                return Err(bad(r, "split"));
            }
            redo_block(ctx, r, 0, image_only)?;
            redo_block(ctx, r, 1, image_only)?;
            if has(2) {
                redo_block(ctx, r, 2, |p, _| {
                    if page::special(p).len() != SIZE_OF_BT_OPAQUE {
                        return Err("btree sibling is not a btree page".into());
                    }
                    let mut o = opaque(p);
                    o.prev = right;
                    set_opaque(p, o);
                    Ok(())
                })?;
            }
            if op == XLOG_BTREE_NEWROOT {
                redo_block(ctx, r, 3, image_only)?;
                redo_block(ctx, r, 4, image_only)?;
            }
        }
        XLOG_BTREE_VACUUM => {
            if !d.is_empty() {
                return Err(bad(r, "vacuum"));
            }
            redo_block(ctx, r, 0, |p, data| {
                if data.is_empty() || data.len() % 2 != 0 {
                    return Err("btree vacuum record without offsets".into());
                }
                let offs: Vec<u16> = data.chunks(2).map(|c| get16(c, 0)).collect();
                if offs.windows(2).any(|w| w[0] >= w[1])
                    || page::special(p).len() != SIZE_OF_BT_OPAQUE
                    || offs.last().is_some_and(|&o| o > page::max_offset(p))
                {
                    return Err("btree vacuum record does not fit its page".into());
                }
                delete_items(p, &offs).map_err(|e| e.message)
            })?;
        }
        XLOG_BTREE_NEWPAGE => {
            if r.record.blocks.len() != 1 {
                return Err(bad(r, "new page"));
            }
            let id = r.record.blocks[0].id;
            redo_block(ctx, r, id, image_only)?;
        }
        other => return Err(format!("btree_redo: unknown op code {other}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<KeyColumn> {
        vec![
            KeyColumn {
                name: "a".into(),
                ty: KeyType::Int4,
            },
            KeyColumn {
                name: "b".into(),
                ty: KeyType::Text,
            },
            KeyColumn {
                name: "c".into(),
                ty: KeyType::Int8,
            },
        ]
    }

    /// Tuples round-trip, including NULLs, long text and pivots with TIDs.
    #[test]
    fn tuples_round_trip() {
        let c = cols();
        let tid = ItemPointer {
            block: 70000,
            offset: 9,
        };
        for vals in [
            vec![
                Value::Int4(-5),
                Value::Text("x".into()),
                Value::Int8(1 << 40),
            ],
            vec![Value::Null, Value::Text("y".repeat(300)), Value::Null],
            vec![Value::Int4(1), Value::Null, Value::Int8(-1)],
        ] {
            let t = form_tuple(&c, &vals, Some(tid), None).unwrap();
            assert_eq!((t_info(&t) & INDEX_SIZE_MASK) as usize, t.len());
            assert_eq!(deform(&c, &t).unwrap(), vals);
            assert_eq!(heap_tid(&t), Some(tid));
            let p = form_tuple(&c, &vals, Some(tid), Some(42)).unwrap();
            assert!(is_pivot(&p));
            assert_eq!(downlink(&p), 42);
            assert_eq!(heap_tid(&p), Some(tid));
            assert_eq!(deform(&c, &p).unwrap(), vals);
        }
        let minf = form_tuple(&c, &[], None, Some(7)).unwrap();
        assert_eq!(minf.len(), 8);
        assert_eq!(deform(&c, &minf).unwrap(), vec![]);
        assert_eq!(heap_tid(&minf), None);
        // The int4 key of a leaf tuple sits at offset 8, little endian,
        // after t_tid (bi_hi, bi_lo, posid) and t_info.
        let t = form_tuple(&c[..1], &[Value::Int4(0x01020304)], Some(tid), None).unwrap();
        assert_eq!(t, vec![1, 0, 0x70, 0x11, 9, 0, 12, 0, 4, 3, 2, 1]);
    }

    /// Malformed B-tree records are refused with an error naming them,
    /// never a panic.
    #[test]
    fn malformed_records_are_refused() {
        use crate::wal::{BlockRef, Record};
        let rec = |info: u8, main: Vec<u8>, ids: &[u8]| DecodedRecord {
            lsn: 0x3000,
            end_lsn: 0x3040,
            prev: 0x1000,
            record: Record {
                rmid: RM_BTREE_ID,
                info,
                xid: 0,
                blocks: ids
                    .iter()
                    .map(|&id| BlockRef {
                        id,
                        rel: RelFileLocator {
                            spc: 1663,
                            db: 5,
                            rel: 16390,
                        },
                        fork: Fork::Main,
                        blkno: 1,
                        will_init: false,
                        image: None,
                        data: vec![],
                    })
                    .collect(),
                main_data: main,
            },
        };
        let mut ctx = RedoCtx::default();
        for (r, what) in [
            (rec(XLOG_BTREE_INSERT_LEAF, vec![1], &[0]), "insert"),
            (rec(XLOG_BTREE_SPLIT_L, vec![0; 7], &[0, 1]), "split"),
            (rec(XLOG_BTREE_SPLIT_L, vec![0; 8], &[0]), "split"),
            (rec(XLOG_BTREE_NEWROOT, vec![0; 8], &[0, 1, 2]), "split"),
            (rec(XLOG_BTREE_NEWPAGE, vec![], &[]), "new page"),
        ] {
            let e = btree_redo(&r, &mut ctx).unwrap_err();
            assert_eq!(e, format!("invalid btree {what} record at 0/3000"));
        }
        assert!(btree_redo(&rec(0x50, vec![], &[]), &mut ctx)
            .unwrap_err()
            .contains("unknown op code"));
        // Well-formed, but no buffer pool here: said so.
        let e = btree_redo(&rec(XLOG_BTREE_INSERT_LEAF, vec![1, 0], &[0]), &mut ctx).unwrap_err();
        assert!(e.contains("buffer pool"), "{e}");
    }

    /// Corrupt bytes are an error, never a panic.
    #[test]
    fn corrupt_tuples_are_refused() {
        let c = cols();
        let vals = vec![Value::Int4(3), Value::Text("hello".into()), Value::Int8(9)];
        let t = form_tuple(
            &c,
            &vals,
            Some(ItemPointer {
                block: 1,
                offset: 1,
            }),
            None,
        )
        .unwrap();
        for cut in 0..t.len() {
            let mut b = t[..cut].to_vec();
            if b.len() >= 8 {
                let info = (t_info(&b) & !INDEX_SIZE_MASK) | b.len() as u16;
                put16(&mut b, 6, info);
            }
            assert!(deform(&c, &b).is_err() || cut == t.len());
        }
        let mut b = t.clone();
        b[12] = 0xFF; // a varlena header pointing past the end
        assert!(deform(&c, &b).is_err());
    }

    /// Search keys order against tuples as the descent needs.
    #[test]
    fn search_key_order() {
        let tid = |o| ItemPointer {
            block: 1,
            offset: o,
        };
        let v = vec![Value::Int4(5)];
        let lo = SearchKey {
            vals: v.clone(),
            tid: None,
            after: false,
        };
        let hi = SearchKey {
            vals: v.clone(),
            tid: None,
            after: true,
        };
        assert_eq!(cmp_key(&lo, &v, Some(tid(1))), Ordering::Less);
        assert_eq!(cmp_key(&hi, &v, Some(tid(1))), Ordering::Greater);
        let exact = SearchKey {
            vals: v.clone(),
            tid: Some(tid(2)),
            after: false,
        };
        assert_eq!(cmp_key(&exact, &v, Some(tid(1))), Ordering::Greater);
        assert_eq!(cmp_key(&exact, &v, Some(tid(2))), Ordering::Equal);
        assert_eq!(cmp_key(&exact, &v, Some(tid(3))), Ordering::Less);
        // NULL sorts after every value.
        assert_eq!(cmp_key(&lo, &[Value::Null], None), Ordering::Less);
        // Minus infinity (no attributes) is below every key.
        assert_eq!(cmp_key(&lo, &[], None), Ordering::Greater);
        // The raw comparison agrees with the decoded one.
        let c = cols();
        let keys = [
            vec![Value::Int4(1), Value::Text("b".into()), Value::Int8(0)],
            vec![Value::Int4(1), Value::Text("ab".into()), Value::Null],
            vec![Value::Null, Value::Text("".into()), Value::Int8(-3)],
        ];
        for a in &keys {
            for b in &keys {
                for n in 0..=3 {
                    for after in [false, true] {
                        let sk = SearchKey {
                            vals: a[..n].to_vec(),
                            tid: (n == 3).then(|| tid(4)),
                            after,
                        };
                        let leaf = form_tuple(&c, b, Some(tid(4)), None).unwrap();
                        let piv = form_tuple(&c, b, Some(tid(5)), Some(9)).unwrap();
                        for t in [leaf, piv] {
                            assert_eq!(
                                cmp_tuple(&c, &sk, &t).unwrap(),
                                cmp_key(&sk, &deform(&c, &t).unwrap(), heap_tid(&t))
                            );
                        }
                    }
                }
            }
        }
    }
}
