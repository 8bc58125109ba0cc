//! Heap tuples as tusk stores them: a header with 64-bit transaction ids, a null bitmap, and attributes laid out as PostgreSQL lays them out.
//!
//! **Decision: 64-bit xmin/xmax in every tuple header.** Issue 9 demands
//! transaction ids that cannot wrap around. Two layouts were considered:
//!
//! 1. PostgreSQL's 23-byte header with 32-bit xmin/xmax, plus a 64-bit
//!    "xid base" per page in the special space (the 64-bit-xid patch set).
//!    Tuples stay small, but a page can only hold xids within 2^32 of its
//!    base: writing a newer xid into an old page first has to move the base,
//!    which means freezing or rewriting every tuple on the page — a
//!    page-wide, WAL-logged rewrite inside an INSERT/UPDATE/DELETE, under the
//!    buffer's exclusive lock, and a freeze-like mechanism kept alive (the
//!    thing operators fear, `reference/operators.md`). Every xid read from
//!    a tuple needs its page at hand to be meaningful, which leaks into
//!    tuple copies, WAL records and TOAST.
//! 2. 64-bit xmin/xmax in the header (this module). A tuple's ids mean the
//!    same thing wherever the tuple is copied; visibility compares plain
//!    u64s; no page ever needs converting and no tuple ever needs freezing
//!    for correctness (VACUUM may still set hint bits). The price is 8 bytes
//!    per tuple: the header is 31 bytes instead of 23 — 32 instead of 24
//!    after MAXALIGN for tables of up to 8 columns with nulls or without —
//!    and at most 226 tuples fit a page instead of 291.
//!
//! We take 2: simpler code on the hottest paths and no wraparound machinery
//! at all, for a space cost operators can predict (+8 bytes per row). The
//! prune hint needs the same width, so heap pages carry an 8-byte special
//! space holding a 64-bit `prune_xid`; the page header's 32-bit
//! `pd_prune_xid` is left zero on heap pages so the generic page header
//! stays byte-identical to PostgreSQL's (page.rs).
//!
//! ```text
//! tuple header (HeapTupleHeaderData), little-endian
//! offset size field
//!      0    8 t_xmin        inserting transaction id
//!      8    8 t_xmax        deleting or locking transaction (or multixact) id, 0 = none
//!     16    4 t_cid         command id: cmin, cmax or a combo command id
//!     20    2 t_ctid.bi_hi  block number of this or the newer version, high 16 bits
//!     22    2 t_ctid.bi_lo  ... low 16 bits
//!     24    2 t_ctid.posid  line pointer number
//!     26    2 t_infomask2   number of attributes (low 11 bits) | HEAP_KEYS_UPDATED
//!                           | HEAP_HOT_UPDATED | HEAP_ONLY_TUPLE
//!     28    2 t_infomask    HEAP_HASNULL | HEAP_HASVARWIDTH | HEAP_HASEXTERNAL
//!                           | lock bits | hint bits (XMIN/XMAX COMMITTED/INVALID) | ...
//!     30    1 t_hoff        offset of the first attribute (a multiple of 8)
//!     31    n t_bits        null bitmap if HEAP_HASNULL: bit i (LSB first) = 1
//!                           when attribute i is not null; n = ceil(natts / 8)
//!  t_hoff     attributes    each aligned to its type's alignment from t_hoff,
//!                           nulls take no space
//!
//! heap page special space (8 bytes at pd_special = 8184)
//!      0    8 prune_xid     oldest xmax that may make a tuple prunable, 0 = none
//!
//! varlena headers (attributes of length -1), PostgreSQL's little-endian ones
//!   first byte xxxxxxx1  1-byte header, total length (header included) = byte >> 1,
//!                        at most 127 bytes, never aligned ("short varlena")
//!   first byte 00000001  1-byte header of an out-of-line (TOAST) pointer;
//!                        second byte is the tag (18 = on-disk, 16 bytes follow)
//!   u32 word  ...xxxx00  4-byte header, uncompressed, total length = word >> 2
//!   u32 word  ...xxxx10  4-byte header, compressed inline, total length = word >> 2
//!   A 4-byte header is aligned to the type's alignment; padding bytes are
//!   zero, which is how a reader tells padding (0) from a 1-byte header (odd).
//! ```
//! The attribute area is byte-for-byte PostgreSQL's, which the tests check
//! against tuples written by PostgreSQL 15.
//!
//! Who may call: any process; these functions work on bytes the caller
//! owns or has locked (a tuple in a shared buffer needs its content lock —
//! share mode to read, exclusive to change anything but hint bits).

use tusk_common::error::PgError;
use tusk_common::sqlstate;

use crate::page::{self, PageBuf, BLCKSZ, ITEM_ID_SIZE, SIZE_OF_PAGE_HEADER};

pub const T_OFF_XMIN: usize = 0;
pub const T_OFF_XMAX: usize = 8;
pub const T_OFF_CID: usize = 16;
pub const T_OFF_CTID: usize = 20;
pub const T_OFF_INFOMASK2: usize = 26;
pub const T_OFF_INFOMASK: usize = 28;
pub const T_OFF_HOFF: usize = 30;
pub const T_OFF_BITS: usize = 31;
/// Header size without the null bitmap (PostgreSQL's SizeofHeapTupleHeader
/// is 23).
pub const SIZEOF_HEAP_TUPLE_HEADER: usize = 31;

pub const HEAP_HASNULL: u16 = 0x0001;
pub const HEAP_HASVARWIDTH: u16 = 0x0002;
pub const HEAP_HASEXTERNAL: u16 = 0x0004;
pub const HEAP_XMAX_KEYSHR_LOCK: u16 = 0x0010;
pub const HEAP_COMBOCID: u16 = 0x0020;
pub const HEAP_XMAX_EXCL_LOCK: u16 = 0x0040;
pub const HEAP_XMAX_LOCK_ONLY: u16 = 0x0080;
pub const HEAP_XMIN_COMMITTED: u16 = 0x0100;
pub const HEAP_XMIN_INVALID: u16 = 0x0200;
pub const HEAP_XMAX_COMMITTED: u16 = 0x0400;
pub const HEAP_XMAX_INVALID: u16 = 0x0800;
pub const HEAP_XMAX_IS_MULTI: u16 = 0x1000;
pub const HEAP_UPDATED: u16 = 0x2000;

pub const HEAP_NATTS_MASK: u16 = 0x07FF;
pub const HEAP_KEYS_UPDATED: u16 = 0x2000;
pub const HEAP_HOT_UPDATED: u16 = 0x4000;
pub const HEAP_ONLY_TUPLE: u16 = 0x8000;

/// Most columns a table may have (PostgreSQL's MaxHeapAttributeNumber).
pub const MAX_HEAP_ATTRIBUTE_NUMBER: usize = 1600;
/// Special space of a heap page: the 64-bit prune hint.
pub const HEAP_PAGE_SPECIAL_SIZE: usize = 8;
/// Most line pointers a heap page can need: every tuple empty.
pub const MAX_HEAP_TUPLES_PER_PAGE: u16 = ((BLCKSZ - SIZE_OF_PAGE_HEADER - HEAP_PAGE_SPECIAL_SIZE)
    / (page::maxalign(SIZEOF_HEAP_TUPLE_HEADER) + ITEM_ID_SIZE))
    as u16;
/// Largest tuple that fits an empty heap page.
pub const MAX_HEAP_TUPLE_SIZE: usize =
    BLCKSZ - page::maxalign(SIZE_OF_PAGE_HEADER + ITEM_ID_SIZE) - HEAP_PAGE_SPECIAL_SIZE;

/// Varlena limits (PostgreSQL's VARATT_SHORT_MAX and 1 GB - 1).
pub const VARATT_SHORT_MAX: usize = 0x7F;
pub const VARLENA_MAX: usize = 0x3FFF_FFFF;
/// Tag of an on-disk TOAST pointer, and its size after the 2-byte header.
pub const VARTAG_ONDISK: u8 = 18;
pub const TOAST_POINTER_SIZE: usize = 16;

const _: () = assert!(T_OFF_HOFF + 1 == SIZEOF_HEAP_TUPLE_HEADER);
const _: () = assert!(T_OFF_BITS == SIZEOF_HEAP_TUPLE_HEADER);
const _: () = assert!(T_OFF_CTID + 6 == T_OFF_INFOMASK2);
const _: () = assert!(page::maxalign(SIZEOF_HEAP_TUPLE_HEADER + 1) == 32);
const _: () = assert!(MAX_HEAP_TUPLES_PER_PAGE == 226);
const _: () = assert!(MAX_HEAP_TUPLE_SIZE == 8152);
const _: () = assert!(MAX_HEAP_ATTRIBUTE_NUMBER <= HEAP_NATTS_MASK as usize);
// A header with the largest bitmap still has t_hoff below 256.
const _: () = assert!(
    page::maxalign(SIZEOF_HEAP_TUPLE_HEADER + MAX_HEAP_ATTRIBUTE_NUMBER.div_ceil(8)) <= 255
);

/// Alignment of an attribute (PostgreSQL's typalign: c, s, i, d).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Char = 1,
    Short = 2,
    Int = 4,
    Double = 8,
}

/// What tuple layout needs to know about a column (a sliver of pg_attribute).
/// Varlenas are taken as packable (a short value gets a 1-byte header),
/// which is PostgreSQL's rule for every storage mode but `plain`; types
/// with plain storage will need a flag here before tusk has any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr {
    /// > 0: fixed length in bytes; -1: varlena; -2: NUL-terminated cstring.
    pub len: i16,
    pub align: Align,
    /// Passed by value (len 1, 2, 4 or 8): given and returned as an integer.
    pub byval: bool,
}

impl Attr {
    pub const fn fixed(len: i16, align: Align, byval: bool) -> Attr {
        Attr { len, align, byval }
    }
    pub const fn varlena(align: Align) -> Attr {
        Attr {
            len: -1,
            align,
            byval: false,
        }
    }
}

/// One attribute's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datum<'a> {
    /// A by-value attribute; its low `len` bytes are stored.
    ByVal(u64),
    /// A fixed-length by-reference value (exactly `len` bytes), the
    /// payload of a plain varlena (without header), or a cstring (without
    /// its NUL).
    Ref(&'a [u8]),
    /// A varlena given or returned with its header, because it is not plain
    /// inline data: a TOAST pointer or a compressed value.
    Varlena(&'a [u8]),
}

/// Block and line-pointer number of a tuple (PostgreSQL's ItemPointerData).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemPointer {
    pub block: u32,
    pub offset: u16,
}

impl ItemPointer {
    pub const INVALID: ItemPointer = ItemPointer {
        block: u32::MAX,
        offset: 0,
    };
}

fn corrupt(msg: String) -> PgError {
    PgError::error(sqlstate::DATA_CORRUPTED, msg)
}

fn internal(msg: String) -> PgError {
    PgError::error(sqlstate::INTERNAL_ERROR, msg)
}

fn align_to(off: usize, a: Align) -> usize {
    let a = a as usize;
    (off + a - 1) & !(a - 1)
}

/// Can this plain varlena payload take a 1-byte header?
fn can_be_short(payload: &[u8]) -> bool {
    payload.len() < VARATT_SHORT_MAX
}

/// Length of a varlena given with its header, checked against `raw`.
fn raw_varlena_len(raw: &[u8]) -> Result<(usize, bool), String> {
    let b = *raw.first().ok_or("empty varlena")?;
    if b == 0x01 {
        let tag = *raw.get(1).ok_or("truncated TOAST pointer")?;
        if tag != VARTAG_ONDISK {
            return Err(format!("unrecognized TOAST pointer tag {tag}"));
        }
        return Ok((2 + TOAST_POINTER_SIZE, true));
    }
    if b & 1 == 1 {
        let len = (b >> 1) as usize;
        if len == 0 {
            return Err("invalid short varlena length 0".into());
        }
        return Ok((len, true));
    }
    let word = u32::from_le_bytes(
        raw.get(..4)
            .ok_or("truncated varlena header")?
            .try_into()
            .unwrap(),
    );
    let len = (word >> 2) as usize;
    if len < 4 {
        return Err(format!("invalid varlena length {len}"));
    }
    Ok((len, false))
}

/// Size of the attribute area for these values (PostgreSQL's
/// heap_compute_data_size).
fn data_size(attrs: &[Attr], values: &[Option<Datum>]) -> Result<usize, PgError> {
    let mut off = 0usize;
    for (i, (a, v)) in attrs.iter().zip(values).enumerate() {
        let Some(v) = v else { continue };
        match (a.len, v) {
            (n, Datum::ByVal(_)) if n > 0 && a.byval && matches!(n, 1 | 2 | 4 | 8) => {
                off = align_to(off, a.align) + n as usize;
            }
            (n, Datum::Ref(b)) if n > 0 && !a.byval && b.len() == n as usize => {
                off = align_to(off, a.align) + n as usize;
            }
            (-1, Datum::Ref(p)) => {
                if p.len() > VARLENA_MAX - 4 {
                    return Err(PgError::error(
                        sqlstate::PROGRAM_LIMIT_EXCEEDED,
                        format!("invalid memory alloc request size {}", p.len() + 4),
                    ));
                }
                off = if can_be_short(p) {
                    off + 1 + p.len()
                } else {
                    align_to(off, a.align) + 4 + p.len()
                };
            }
            (-1, Datum::Varlena(raw)) => {
                let (len, short) = raw_varlena_len(raw)
                    .map_err(|m| internal(format!("attribute {}: {m}", i + 1)))?;
                if len != raw.len() {
                    return Err(internal(format!(
                        "attribute {}: varlena length {len} but {} bytes given",
                        i + 1,
                        raw.len()
                    )));
                }
                off = if short { off } else { align_to(off, a.align) } + len;
            }
            (-2, Datum::Ref(s)) => {
                if s.contains(&0) {
                    return Err(internal(format!(
                        "attribute {}: cstring contains a NUL byte",
                        i + 1
                    )));
                }
                off = align_to(off, a.align) + s.len() + 1;
            }
            _ => {
                return Err(internal(format!(
                    "attribute {}: value {v:?} does not fit attribute {a:?}",
                    i + 1
                )))
            }
        }
    }
    Ok(off)
}

/// Write the attribute area (PostgreSQL's heap_fill_tuple): `data` is
/// zeroed and exactly `data_size` long. Returns the infomask bits it implies.
fn fill_data(
    attrs: &[Attr],
    values: &[Option<Datum>],
    data: &mut [u8],
    bits: Option<&mut [u8]>,
) -> u16 {
    let mut infomask = 0;
    let mut off = 0usize;
    let mut bits = bits;
    for (i, (a, v)) in attrs.iter().zip(values).enumerate() {
        if let Some(bits) = bits.as_deref_mut() {
            if v.is_some() {
                bits[i / 8] |= 1 << (i % 8);
            }
        }
        let Some(v) = v else {
            infomask |= HEAP_HASNULL;
            continue;
        };
        match (a.len, v) {
            (n, Datum::ByVal(x)) if n > 0 => {
                off = align_to(off, a.align);
                data[off..off + n as usize].copy_from_slice(&x.to_le_bytes()[..n as usize]);
                off += n as usize;
            }
            (n, Datum::Ref(b)) if n > 0 => {
                off = align_to(off, a.align);
                data[off..off + b.len()].copy_from_slice(b);
                off += b.len();
            }
            (-1, Datum::Ref(p)) => {
                infomask |= HEAP_HASVARWIDTH;
                if can_be_short(p) {
                    data[off] = (((p.len() + 1) << 1) | 1) as u8;
                    data[off + 1..off + 1 + p.len()].copy_from_slice(p);
                    off += 1 + p.len();
                } else {
                    off = align_to(off, a.align);
                    data[off..off + 4]
                        .copy_from_slice(&(((p.len() + 4) as u32) << 2).to_le_bytes());
                    data[off + 4..off + 4 + p.len()].copy_from_slice(p);
                    off += 4 + p.len();
                }
            }
            (-1, Datum::Varlena(raw)) => {
                infomask |= HEAP_HASVARWIDTH;
                if raw[0] == 0x01 {
                    infomask |= HEAP_HASEXTERNAL;
                }
                if raw[0] & 1 == 0 {
                    off = align_to(off, a.align);
                }
                data[off..off + raw.len()].copy_from_slice(raw);
                off += raw.len();
            }
            (-2, Datum::Ref(s)) => {
                infomask |= HEAP_HASVARWIDTH;
                off = align_to(off, a.align);
                data[off..off + s.len()].copy_from_slice(s);
                off += s.len() + 1;
            }
            _ => unreachable!("data_size() accepted only these combinations"),
        }
    }
    infomask
}

/// Length of the tuple [`form_tuple`] would build from `values`
/// (header, bitmap and data): the TOAST toaster's measure.
pub fn tuple_size(attrs: &[Attr], values: &[Option<Datum>]) -> Result<usize, PgError> {
    let bitmap_len = if values.iter().any(|v| v.is_none()) {
        attrs.len().div_ceil(8)
    } else {
        0
    };
    Ok(page::maxalign(SIZEOF_HEAP_TUPLE_HEADER + bitmap_len) + data_size(attrs, values)?)
}

/// Build a tuple from `values` (one per attribute, None = NULL): header
/// with no transaction ids yet (the inserter sets xmin, cid, ctid and
/// HEAP_XMAX_INVALID), null bitmap if any value is NULL, then the data.
pub fn form_tuple(attrs: &[Attr], values: &[Option<Datum>]) -> Result<Vec<u8>, PgError> {
    if attrs.len() > MAX_HEAP_ATTRIBUTE_NUMBER {
        return Err(PgError::error(
            tusk_common::sqlstate::TOO_MANY_COLUMNS,
            format!(
                "number of columns ({}) exceeds limit ({MAX_HEAP_ATTRIBUTE_NUMBER})",
                attrs.len()
            ),
        ));
    }
    if attrs.len() != values.len() {
        return Err(internal(format!(
            "{} values for {} attributes",
            values.len(),
            attrs.len()
        )));
    }
    let has_nulls = values.iter().any(|v| v.is_none());
    let bitmap_len = if has_nulls {
        attrs.len().div_ceil(8)
    } else {
        0
    };
    let hoff = page::maxalign(SIZEOF_HEAP_TUPLE_HEADER + bitmap_len);
    let dlen = data_size(attrs, values)?;
    if hoff + dlen > VARLENA_MAX {
        return Err(PgError::error(
            sqlstate::PROGRAM_LIMIT_EXCEEDED,
            format!("invalid memory alloc request size {}", hoff + dlen),
        ));
    }
    let mut t = vec![0u8; hoff + dlen];
    let (head, data) = t.split_at_mut(hoff);
    let bits = if has_nulls {
        Some(&mut head[T_OFF_BITS..T_OFF_BITS + bitmap_len])
    } else {
        None
    };
    let infomask = fill_data(attrs, values, data, bits);
    set_infomask(&mut t, infomask);
    set_infomask2(&mut t, attrs.len() as u16);
    t[T_OFF_HOFF] = hoff as u8;
    set_ctid(&mut t, ItemPointer::INVALID);
    Ok(t)
}

/// Check that `t` can be read as a tuple header: long enough, t_hoff
/// consistent with the bitmap and the length.
pub fn check_header(t: &[u8]) -> Result<(), PgError> {
    if t.len() < SIZEOF_HEAP_TUPLE_HEADER {
        return Err(corrupt(format!(
            "tuple of {} bytes is shorter than its header",
            t.len()
        )));
    }
    let hoff = t[T_OFF_HOFF] as usize;
    let bitmap = if infomask(t) & HEAP_HASNULL != 0 {
        natts(t) as usize
    } else {
        0
    };
    if hoff != page::maxalign(hoff)
        || hoff < SIZEOF_HEAP_TUPLE_HEADER + bitmap.div_ceil(8)
        || hoff > t.len()
    {
        return Err(corrupt(format!(
            "invalid t_hoff {hoff} in tuple of {} bytes",
            t.len()
        )));
    }
    Ok(())
}

/// Read the attributes of `t` (PostgreSQL's heap_deform_tuple). Attributes
/// the tuple does not have (it predates an added column) come back NULL;
/// attributes beyond `attrs` are not read. A tuple that does not fit its
/// own lengths is an error naming what is wrong, never a panic.
pub fn deform_tuple<'t>(t: &'t [u8], attrs: &[Attr]) -> Result<Vec<Option<Datum<'t>>>, PgError> {
    check_header(t)?;
    let hoff = t[T_OFF_HOFF] as usize;
    let natts = natts(t) as usize;
    let bits = if infomask(t) & HEAP_HASNULL != 0 {
        Some(&t[T_OFF_BITS..T_OFF_BITS + natts.div_ceil(8)])
    } else {
        None
    };
    deform_data(attrs, natts, bits, &t[hoff..])
}

/// The attribute area decoder, shared with the tests that read
/// PostgreSQL's own tuples (whose header differs but whose data does not).
fn deform_data<'t>(
    attrs: &[Attr],
    natts: usize,
    bits: Option<&[u8]>,
    data: &'t [u8],
) -> Result<Vec<Option<Datum<'t>>>, PgError> {
    let mut out = Vec::with_capacity(attrs.len());
    let mut off = 0usize;
    for (i, a) in attrs.iter().enumerate() {
        if i >= natts {
            out.push(None);
            continue;
        }
        if let Some(bits) = bits {
            if bits[i / 8] & (1 << (i % 8)) == 0 {
                out.push(None);
                continue;
            }
        }
        let past_end = |what: &str| {
            corrupt(format!(
                "attribute {} {what} extends beyond the end of the tuple",
                i + 1
            ))
        };
        let v = match a.len {
            n if n > 0 => {
                off = align_to(off, a.align);
                let b = data
                    .get(off..off + n as usize)
                    .ok_or_else(|| past_end("value"))?;
                off += n as usize;
                if a.byval {
                    let mut w = [0u8; 8];
                    w[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
                    Datum::ByVal(u64::from_le_bytes(w))
                } else {
                    Datum::Ref(b)
                }
            }
            -1 => {
                // A zero byte is alignment padding before a 4-byte header;
                // anything else starts the value here.
                if *data.get(off).ok_or_else(|| past_end("header"))? == 0 {
                    off = align_to(off, a.align);
                }
                let rest = data.get(off..).ok_or_else(|| past_end("header"))?;
                let (len, _) = raw_varlena_len(rest)
                    .map_err(|m| corrupt(format!("attribute {}: {m}", i + 1)))?;
                let raw = rest.get(..len).ok_or_else(|| past_end("varlena"))?;
                off += len;
                match raw[0] {
                    0x01 => Datum::Varlena(raw),
                    b if b & 1 == 1 => Datum::Ref(&raw[1..]),
                    b if b & 3 == 0 => Datum::Ref(&raw[4..]),
                    _ => Datum::Varlena(raw),
                }
            }
            -2 => {
                off = align_to(off, a.align);
                let rest = data.get(off..).ok_or_else(|| past_end("cstring"))?;
                let nul = rest
                    .iter()
                    .position(|&b| b == 0)
                    .ok_or_else(|| past_end("cstring"))?;
                off += nul + 1;
                Datum::Ref(&rest[..nul])
            }
            n => {
                return Err(internal(format!(
                    "attribute {}: invalid attribute length {n}",
                    i + 1
                )))
            }
        };
        out.push(Some(v));
    }
    Ok(out)
}

fn get_u16(t: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([t[o], t[o + 1]])
}
fn put_u16(t: &mut [u8], o: usize, v: u16) {
    t[o..o + 2].copy_from_slice(&v.to_le_bytes());
}
fn get_u64(t: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(t[o..o + 8].try_into().unwrap())
}
fn put_u64(t: &mut [u8], o: usize, v: u64) {
    t[o..o + 8].copy_from_slice(&v.to_le_bytes());
}

// Header accessors. They assume at least SIZEOF_HEAP_TUPLE_HEADER bytes
// (check_header first on anything read from disk).
pub fn xmin(t: &[u8]) -> u64 {
    get_u64(t, T_OFF_XMIN)
}
pub fn set_xmin(t: &mut [u8], xid: u64) {
    put_u64(t, T_OFF_XMIN, xid);
}
pub fn xmax(t: &[u8]) -> u64 {
    get_u64(t, T_OFF_XMAX)
}
pub fn set_xmax(t: &mut [u8], xid: u64) {
    put_u64(t, T_OFF_XMAX, xid);
}
pub fn cid(t: &[u8]) -> u32 {
    u32::from_le_bytes(t[T_OFF_CID..T_OFF_CID + 4].try_into().unwrap())
}
pub fn set_cid(t: &mut [u8], cid: u32) {
    t[T_OFF_CID..T_OFF_CID + 4].copy_from_slice(&cid.to_le_bytes());
}
pub fn ctid(t: &[u8]) -> ItemPointer {
    let hi = get_u16(t, T_OFF_CTID) as u32;
    let lo = get_u16(t, T_OFF_CTID + 2) as u32;
    ItemPointer {
        block: (hi << 16) | lo,
        offset: get_u16(t, T_OFF_CTID + 4),
    }
}
pub fn set_ctid(t: &mut [u8], p: ItemPointer) {
    put_u16(t, T_OFF_CTID, (p.block >> 16) as u16);
    put_u16(t, T_OFF_CTID + 2, p.block as u16);
    put_u16(t, T_OFF_CTID + 4, p.offset);
}
pub fn infomask(t: &[u8]) -> u16 {
    get_u16(t, T_OFF_INFOMASK)
}
pub fn set_infomask(t: &mut [u8], m: u16) {
    put_u16(t, T_OFF_INFOMASK, m);
}
pub fn infomask2(t: &[u8]) -> u16 {
    get_u16(t, T_OFF_INFOMASK2)
}
pub fn set_infomask2(t: &mut [u8], m: u16) {
    put_u16(t, T_OFF_INFOMASK2, m);
}
pub fn natts(t: &[u8]) -> u16 {
    infomask2(t) & HEAP_NATTS_MASK
}
pub fn hoff(t: &[u8]) -> u8 {
    t[T_OFF_HOFF]
}

/// Make `p` an empty heap page (8-byte special space for the prune hint).
pub fn init_heap_page(p: &mut PageBuf) {
    page::init(p, HEAP_PAGE_SPECIAL_SIZE);
}

/// The 64-bit prune hint of a heap page (0 if none or not a heap page).
pub fn page_prune_xid(p: &PageBuf) -> u64 {
    match page::special(p) {
        s if s.len() == HEAP_PAGE_SPECIAL_SIZE => get_u64(s, 0),
        _ => 0,
    }
}

/// Set the prune hint of a heap page; ignored on a page without heap
/// special space.
pub fn set_page_prune_xid(p: &mut PageBuf, xid: u64) {
    let s = page::special_mut(p);
    if s.len() == HEAP_PAGE_SPECIAL_SIZE {
        put_u64(s, 0, xid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INT4: Attr = Attr::fixed(4, Align::Int, true);
    const INT8: Attr = Attr::fixed(8, Align::Double, true);
    const INT2: Attr = Attr::fixed(2, Align::Short, true);
    const BOOL: Attr = Attr::fixed(1, Align::Char, true);
    const TEXT: Attr = Attr::varlena(Align::Int);
    const UUID: Attr = Attr::fixed(16, Align::Char, false);
    const NAME: Attr = Attr::fixed(64, Align::Char, false);
    const CSTRING: Attr = Attr::fixed(-2, Align::Char, false);

    const PG_BLK7: &[u8; BLCKSZ] = include_bytes!("../testdata/pg15_heap_t_blk7.bin");

    #[test]
    fn header_layout() {
        let mut t = form_tuple(&[INT4], &[Some(Datum::ByVal(7))]).unwrap();
        assert_eq!(t.len(), 32 + 4);
        assert_eq!(hoff(&t), 32);
        assert_eq!(natts(&t), 1);
        assert_eq!(infomask(&t), 0);
        assert_eq!(ctid(&t), ItemPointer::INVALID);
        set_xmin(&mut t, 0x1_0000_0002);
        set_xmax(&mut t, 0xFFFF_FFFF_FFFF_FFFE);
        set_cid(&mut t, 3);
        set_ctid(
            &mut t,
            ItemPointer {
                block: 0x0001_0002,
                offset: 9,
            },
        );
        set_infomask(&mut t, HEAP_XMIN_COMMITTED | HEAP_XMAX_INVALID);
        set_infomask2(&mut t, 1 | HEAP_HOT_UPDATED);
        assert_eq!(&t[0..8], &[2, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&t[8..16], &[0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(&t[16..20], &[3, 0, 0, 0]);
        assert_eq!(&t[20..26], &[1, 0, 2, 0, 9, 0]);
        assert_eq!(&t[26..28], &(1 | HEAP_HOT_UPDATED).to_le_bytes());
        assert_eq!(&t[28..30], &0x0900u16.to_le_bytes());
        assert_eq!(t[30], 32);
        assert_eq!(&t[32..], &7u32.to_le_bytes());
        assert_eq!(xmin(&t), 0x1_0000_0002);
        assert_eq!(xmax(&t), 0xFFFF_FFFF_FFFF_FFFE);
        assert_eq!(
            ctid(&t),
            ItemPointer {
                block: 0x0001_0002,
                offset: 9
            }
        );
        assert_eq!(natts(&t), 1);
    }

    #[test]
    fn null_bitmap_and_hoff() {
        // 8 attributes with a null: bitmap of 1 byte still fits in 32.
        let attrs = [INT4; 8];
        let mut vals: Vec<Option<Datum>> = (0..8).map(|i| Some(Datum::ByVal(i))).collect();
        vals[2] = None;
        vals[7] = None;
        let t = form_tuple(&attrs, &vals).unwrap();
        assert_eq!(hoff(&t), 32);
        assert_eq!(t[31], 0b0111_1011);
        assert_eq!(infomask(&t) & HEAP_HASNULL, HEAP_HASNULL);
        assert_eq!(t.len(), 32 + 6 * 4);
        assert_eq!(deform_tuple(&t, &attrs).unwrap(), vals);
        // 9 attributes with a null: 2 bitmap bytes → header 40.
        let attrs = [INT4; 9];
        let mut vals: Vec<Option<Datum>> = (0..9).map(|i| Some(Datum::ByVal(i))).collect();
        vals[8] = None;
        let t = form_tuple(&attrs, &vals).unwrap();
        assert_eq!(hoff(&t), 40);
        assert_eq!(&t[31..33], &[0xFF, 0x00]);
        assert_eq!(deform_tuple(&t, &attrs).unwrap(), vals);
        // The largest bitmap.
        let attrs = vec![BOOL; MAX_HEAP_ATTRIBUTE_NUMBER];
        let vals = vec![None; MAX_HEAP_ATTRIBUTE_NUMBER];
        let t = form_tuple(&attrs, &vals).unwrap();
        assert_eq!(hoff(&t) as usize, page::maxalign(31 + 200));
        let e = form_tuple(&vec![BOOL; 1601], &vec![None; 1601]).unwrap_err();
        assert_eq!(e.message, "number of columns (1601) exceeds limit (1600)");
    }

    #[test]
    fn alignment_padding() {
        let attrs = [BOOL, INT8, INT2, INT4, BOOL, INT8];
        let vals = [
            Some(Datum::ByVal(1)),
            Some(Datum::ByVal(0x0102_0304_0506_0708)),
            Some(Datum::ByVal(0xBEEF)),
            Some(Datum::ByVal(0xDEAD_BEEF)),
            Some(Datum::ByVal(0)),
            Some(Datum::ByVal(u64::MAX)),
        ];
        let t = form_tuple(&attrs, &vals).unwrap();
        let d = &t[32..];
        // bool@0, pad to 8, int8@8, int2@16, pad to 20, int4@20, bool@24, pad to 32, int8@32.
        assert_eq!(d.len(), 40);
        assert_eq!(d[0], 1);
        assert_eq!(&d[1..8], &[0; 7]);
        assert_eq!(&d[8..16], &0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(&d[16..18], &0xBEEFu16.to_le_bytes());
        assert_eq!(&d[18..20], &[0, 0]);
        assert_eq!(&d[20..24], &0xDEAD_BEEFu32.to_le_bytes());
        assert_eq!(d[24], 0);
        assert_eq!(&d[32..40], &[0xFF; 8]);
        assert_eq!(deform_tuple(&t, &attrs).unwrap(), vals);
        // Nulls take no space and shift alignment accordingly.
        let vals2 = [
            None,
            Some(Datum::ByVal(5)),
            None,
            None,
            Some(Datum::ByVal(1)),
            None,
        ];
        let t = form_tuple(&attrs, &vals2).unwrap();
        assert_eq!(t.len() - hoff(&t) as usize, 9);
        assert_eq!(deform_tuple(&t, &attrs).unwrap(), vals2);
    }

    #[test]
    fn varlena_headers() {
        let attrs = [BOOL, TEXT, TEXT, INT4, TEXT];
        let short = vec![b'a'; 126];
        let long = vec![b'b'; 127];
        let vals = [
            Some(Datum::ByVal(1)),
            Some(Datum::Ref(&short)),
            Some(Datum::Ref(&long)),
            Some(Datum::ByVal(9)),
            Some(Datum::Ref(b"")),
        ];
        let t = form_tuple(&attrs, &vals).unwrap();
        let d = &t[hoff(&t) as usize..];
        assert_eq!(infomask(&t) & HEAP_HASVARWIDTH, HEAP_HASVARWIDTH);
        // 126 bytes: 1-byte header (127 << 1 | 1), no alignment.
        assert_eq!(d[1], 0xFF);
        assert_eq!(&d[2..128], &short[..]);
        // 127 bytes: 4-byte header aligned to 4 (offset 128 already is).
        assert_eq!(&d[128..132], &((131u32) << 2).to_le_bytes());
        assert_eq!(&d[132..259], &long[..]);
        // int4 at 260 after one zero pad byte; empty text is the 1-byte 0x03.
        assert_eq!(d[259], 0);
        assert_eq!(&d[260..264], &9u32.to_le_bytes());
        assert_eq!(d[264], 0x03);
        assert_eq!(d.len(), 265);
        assert_eq!(deform_tuple(&t, &attrs).unwrap(), vals);
        // A 4-byte header needing padding after a 1-byte value.
        let attrs = [BOOL, TEXT];
        let big = vec![7u8; 1000];
        let t = form_tuple(&attrs, &[Some(Datum::ByVal(1)), Some(Datum::Ref(&big))]).unwrap();
        let d = &t[hoff(&t) as usize..];
        assert_eq!(&d[1..4], &[0, 0, 0]);
        assert_eq!(&d[4..8], &(1004u32 << 2).to_le_bytes());
        assert_eq!(
            deform_tuple(&t, &attrs).unwrap(),
            vec![Some(Datum::ByVal(1)), Some(Datum::Ref(&big[..]))]
        );
    }

    #[test]
    fn toast_pointers_compressed_and_other_types() {
        let mut toast = vec![0x01, VARTAG_ONDISK];
        toast.extend((1..=16).collect::<Vec<u8>>());
        let mut compressed = ((20u32 << 2) | 2).to_le_bytes().to_vec();
        compressed.extend([9u8; 16]);
        let uuid = [0xABu8; 16];
        let mut name = [0u8; 64];
        name[..5].copy_from_slice(b"hello");
        let attrs = [BOOL, TEXT, BOOL, TEXT, UUID, NAME, CSTRING, INT4];
        let vals = [
            Some(Datum::ByVal(1)),
            Some(Datum::Varlena(&toast)),
            Some(Datum::ByVal(0)),
            Some(Datum::Varlena(&compressed)),
            Some(Datum::Ref(&uuid)),
            Some(Datum::Ref(&name)),
            Some(Datum::Ref(b"cstr")),
            Some(Datum::ByVal(42)),
        ];
        let t = form_tuple(&attrs, &vals).unwrap();
        assert_eq!(infomask(&t) & HEAP_HASEXTERNAL, HEAP_HASEXTERNAL);
        let d = &t[hoff(&t) as usize..];
        // TOAST pointer right after the bool, unaligned.
        assert_eq!(&d[1..19], &toast[..]);
        assert_eq!(deform_tuple(&t, &attrs).unwrap(), vals);
        // Wrong kinds of values are refused, not stored.
        assert!(form_tuple(&[INT4], &[Some(Datum::Ref(b"abcd"))]).is_err());
        assert!(form_tuple(&[UUID], &[Some(Datum::Ref(b"short"))]).is_err());
        assert!(form_tuple(&[CSTRING], &[Some(Datum::Ref(b"a\0b"))]).is_err());
        assert!(form_tuple(&[TEXT], &[Some(Datum::Varlena(&toast[..5]))]).is_err());
        assert!(form_tuple(&[INT4, INT4], &[None]).is_err());
    }

    #[test]
    fn missing_trailing_attributes_read_as_null() {
        let t = form_tuple(&[INT4], &[Some(Datum::ByVal(1))]).unwrap();
        let got = deform_tuple(&t, &[INT4, TEXT]).unwrap();
        assert_eq!(got, vec![Some(Datum::ByVal(1)), None]);
    }

    #[test]
    fn corrupt_tuples_are_errors() {
        let t = form_tuple(
            &[TEXT, INT4],
            &[Some(Datum::Ref(&[1u8; 300])), Some(Datum::ByVal(1))],
        )
        .unwrap();
        // Cut anywhere: an error, never a panic.
        for cut in 0..t.len() {
            assert!(
                deform_tuple(&t[..cut], &[TEXT, INT4]).is_err(),
                "cut at {cut}"
            );
        }
        let mut bad = t.clone();
        bad[T_OFF_HOFF] = 33;
        assert!(check_header(&bad).is_err());
        // Random bytes after a valid header.
        let mut rng = 0x0123_4567_89ab_cdefu64;
        for _ in 0..5000 {
            let mut t = form_tuple(&[INT4], &[Some(Datum::ByVal(0))]).unwrap();
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            t.extend(rng.to_le_bytes());
            t[26] = (rng >> 3) as u8;
            t[28] = (rng >> 11) as u8;
            let _ = deform_tuple(&t, &[TEXT, INT2, CSTRING, TEXT, INT8, TEXT]);
        }
    }

    /// The attribute area is PostgreSQL's: read the tuples of a table
    /// PostgreSQL 15 wrote — `t(a int4, b text, c int8, d bool)` with
    /// `b = repeat('x', a % 200)` or NULL when `a % 3 = 0`, `c = a * 1000`,
    /// `d = a % 2 = 0` — and build the same data area byte for byte.
    #[test]
    fn attribute_area_matches_postgres_15() {
        let attrs = [INT4, TEXT, INT8, BOOL];
        let mut seen = 0;
        for o in 1..=page::max_offset(PG_BLK7) {
            let pg = page::get_item(PG_BLK7, o).unwrap();
            // PostgreSQL's header: infomask2 at 18, infomask at 20, t_hoff at 22, bits at 23.
            let pg_natts = (u16::from_le_bytes([pg[18], pg[19]]) & HEAP_NATTS_MASK) as usize;
            let pg_hasnull = u16::from_le_bytes([pg[20], pg[21]]) & HEAP_HASNULL != 0;
            let pg_hoff = pg[22] as usize;
            let bits = if pg_hasnull { Some(&pg[23..24]) } else { None };
            let vals = deform_data(&attrs, pg_natts, bits, &pg[pg_hoff..]).unwrap();
            let Some(Datum::ByVal(a)) = vals[0] else {
                panic!("a is null")
            };
            let text = vec![b'x'; (a % 200) as usize];
            let expect_b = if a % 3 == 0 {
                None
            } else {
                Some(Datum::Ref(&text[..]))
            };
            assert_eq!(vals[1], expect_b, "a = {a}");
            assert_eq!(vals[2], Some(Datum::ByVal(a * 1000)));
            assert_eq!(vals[3], Some(Datum::ByVal((a % 2 == 0) as u64)));
            // Our tuple carries the same data area and bitmap.
            let ours = form_tuple(&attrs, &vals).unwrap();
            assert_eq!(&ours[hoff(&ours) as usize..], &pg[pg_hoff..], "a = {a}");
            if pg_hasnull {
                assert_eq!(ours[T_OFF_BITS], pg[23]);
            }
            // The header costs 8 bytes more.
            assert_eq!(ours.len(), pg.len() + 8, "a = {a}");
            seen += 1;
        }
        assert_eq!(seen, 57);
    }

    /// Random descriptors and values: whatever the mix of widths,
    /// alignments, varlena sizes and nulls, deform gives back what form got.
    #[test]
    fn property_form_deform_roundtrip() {
        let mut rng = 0x5eed_1234_abcd_ef01u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let kinds = [
            INT2,
            INT4,
            INT8,
            BOOL,
            TEXT,
            UUID,
            NAME,
            CSTRING,
            Attr::varlena(Align::Double),
        ];
        for _ in 0..3000 {
            let n = (next() % 40) as usize;
            let attrs: Vec<Attr> = (0..n)
                .map(|_| kinds[(next() % kinds.len() as u64) as usize])
                .collect();
            let mut store: Vec<Vec<u8>> = Vec::new();
            let mut plan = Vec::new();
            for a in &attrs {
                if next() % 4 == 0 {
                    plan.push(None);
                    continue;
                }
                let r = next();
                let bytes: Vec<u8> = match a.len {
                    n if n > 0 && !a.byval => (0..n).map(|i| (r >> (i % 8)) as u8).collect(),
                    -1 => {
                        let len = [0, 1, 125, 126, 127, 128, 300, 2000][(r % 8) as usize];
                        (0..len)
                            .map(|i| (i as u8).wrapping_mul(31) ^ (r as u8))
                            .collect()
                    }
                    -2 => (0..r % 20).map(|i| b'a' + (i % 26) as u8).collect(),
                    _ => Vec::new(),
                };
                store.push(bytes);
                plan.push(Some((store.len() - 1, r)));
            }
            let vals: Vec<Option<Datum>> = attrs
                .iter()
                .zip(&plan)
                .map(|(a, p)| {
                    p.map(|(i, r)| {
                        if a.byval {
                            let bits = a.len as u32 * 8;
                            Datum::ByVal(if bits == 64 {
                                r
                            } else {
                                r & ((1u64 << bits) - 1)
                            })
                        } else {
                            Datum::Ref(&store[i][..])
                        }
                    })
                })
                .collect();
            let t = form_tuple(&attrs, &vals).unwrap();
            assert_eq!(hoff(&t) as usize % 8, 0);
            assert_eq!(natts(&t) as usize, n);
            assert_eq!(
                infomask(&t) & HEAP_HASNULL != 0,
                vals.iter().any(|v| v.is_none())
            );
            assert_eq!(deform_tuple(&t, &attrs).unwrap(), vals);
        }
    }

    #[test]
    fn heap_page_capacity_and_prune_hint() {
        let mut p = Box::new([0u8; BLCKSZ]);
        init_heap_page(&mut p);
        assert_eq!(page::special_offset(&p) as usize, BLCKSZ - 8);
        assert_eq!(page_prune_xid(&p), 0);
        set_page_prune_xid(&mut p, 0x1_0000_0000);
        assert_eq!(page_prune_xid(&p), 0x1_0000_0000);
        assert_eq!(page::prune_xid(&p), 0);
        // The smallest tuples: exactly MAX_HEAP_TUPLES_PER_PAGE fit.
        let t = form_tuple(&[], &[]).unwrap();
        assert_eq!(t.len(), 32);
        let mut n = 0;
        while page::add_item(&mut p, &t, page::AddAt::FirstFree, MAX_HEAP_TUPLES_PER_PAGE).is_ok() {
            n += 1;
        }
        assert_eq!(n, MAX_HEAP_TUPLES_PER_PAGE);
        // The largest tuple fills an empty page.
        let mut p = Box::new([0u8; BLCKSZ]);
        init_heap_page(&mut p);
        let big = vec![0u8; MAX_HEAP_TUPLE_SIZE];
        page::add_item(
            &mut p,
            &big,
            page::AddAt::FirstFree,
            MAX_HEAP_TUPLES_PER_PAGE,
        )
        .unwrap();
        assert_eq!(page::free_space(&p), 0);
        let mut p = Box::new([0u8; BLCKSZ]);
        init_heap_page(&mut p);
        let too_big = vec![0u8; MAX_HEAP_TUPLE_SIZE + 1];
        assert!(page::add_item(
            &mut p,
            &too_big,
            page::AddAt::FirstFree,
            MAX_HEAP_TUPLES_PER_PAGE
        )
        .is_err());
    }
}
