//! TOAST formats and the toaster's decisions: compressed inline varlenas, on-disk TOAST pointers, and which attributes of a too-wide row get compressed or moved out of line.
//!
//! Why here, pure: the byte formats are PostgreSQL 15's (a page written by
//! tusk reads in PostgreSQL's tools), and the choice of what to compress
//! or move out follows heap_toast_insert_or_update's four passes so that a
//! row is stored as PostgreSQL would store it. Storing and fetching chunks
//! needs the toast relation, which is the caller's (the server's table
//! layer): the toaster is given a `save` callback and the reader a
//! `fetch` callback, so this module never touches a buffer.
//!
//! ```text
//! compressed inline varlena (4-byte header with bits 10)
//!   0  4 va_header   total length << 2 | 0b10
//!   4  4 va_tcinfo   raw (uncompressed payload) size, low 30 bits;
//!                    compression method in the top 2 (0 pglz, 1 lz4)
//!   8  n             the compressed stream (pglz.rs)
//! on-disk TOAST pointer (1-byte header 0x01, tag 18, unaligned, 18 bytes)
//!   0  1 0x01
//!   1  1 vartag      18 (VARTAG_ONDISK)
//!   2  4 va_rawsize  original size, header included (payload + 4)
//!   6  4 va_extinfo  stored size (bytes in the chunks), low 30 bits;
//!                    compression method in the top 2 when compressed
//!  10  4 va_valueid  chunk_id of the value's rows in the toast table
//!  14  4 va_toastrelid OID of the toast table
//! the chunks: rows (chunk_id oid, chunk_seq int4, chunk_data bytea) of
//! TOAST_MAX_CHUNK_SIZE bytes (the last shorter), seq from 0; a compressed
//! value is stored as its va_tcinfo and stream (the varlena minus its
//! header), and is known compressed by extsize < rawsize - 4.
//! ```
//! TOAST_MAX_CHUNK_SIZE is PostgreSQL's formula (four chunk rows fill a
//! page): 2032 minus the maxaligned tuple header, the chunk id, the
//! sequence number and the 4-byte bytea header. tusk's tuple header holds
//! 64-bit xids (32 bytes maxaligned, PostgreSQL's is 24), so the formula
//! gives 1988 here where PostgreSQL 15 has 1996.
//!
//! Pure functions; any process may call them.

use tusk_common::{sqlstate, PgError};

use crate::heaptuple::{self, SIZEOF_HEAP_TUPLE_HEADER, TOAST_POINTER_SIZE, VARTAG_ONDISK};
use crate::page::{self, BLCKSZ, ITEM_ID_SIZE, SIZE_OF_PAGE_HEADER};

/// PostgreSQL's MaximumBytesPerTuple(4): four tuples and their line
/// pointers fill a page (heap special space included here).
const fn maximum_bytes_per_tuple(n: usize) -> usize {
    let avail = BLCKSZ
        - page::maxalign(SIZE_OF_PAGE_HEADER + n * ITEM_ID_SIZE)
        - heaptuple::HEAP_PAGE_SPECIAL_SIZE;
    (avail / n) & !7
}
/// A row longer than this is given to the toaster.
pub const TOAST_TUPLE_THRESHOLD: usize = maximum_bytes_per_tuple(4);
/// The toaster shrinks a row until it is no longer than this.
pub const TOAST_TUPLE_TARGET: usize = TOAST_TUPLE_THRESHOLD;
/// Bytes of value data in one chunk row.
pub const TOAST_MAX_CHUNK_SIZE: usize =
    TOAST_TUPLE_THRESHOLD - page::maxalign(SIZEOF_HEAP_TUPLE_HEADER) - 4 - 4 - 4;
/// Size of an on-disk TOAST pointer datum with its two header bytes.
pub const TOAST_POINTER_DATUM_SIZE: usize = 2 + TOAST_POINTER_SIZE;
/// Compression method ids in va_tcinfo / va_extinfo.
pub const TOAST_PGLZ_COMPRESSION_ID: u32 = 0;
pub const TOAST_LZ4_COMPRESSION_ID: u32 = 1;
const VARHDRSZ: usize = 4;
const VARHDRSZ_COMPRESSED: usize = 8;
const EXTSIZE_MASK: u32 = 0x3FFF_FFFF;

const _: () = assert!(TOAST_TUPLE_THRESHOLD == 2032);
const _: () = assert!(TOAST_MAX_CHUNK_SIZE == 1988);

/// Column storage strategies (pg_attribute.attstorage).
pub const STORAGE_PLAIN: u8 = b'p';
pub const STORAGE_EXTERNAL: u8 = b'e';
pub const STORAGE_MAIN: u8 = b'm';
pub const STORAGE_EXTENDED: u8 = b'x';

/// An on-disk TOAST pointer (varatt_external).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExternalPointer {
    pub rawsize: i32,
    pub extinfo: u32,
    pub valueid: u32,
    pub toastrelid: u32,
}

impl ExternalPointer {
    /// Bytes stored in the chunks.
    pub fn extsize(&self) -> usize {
        (self.extinfo & EXTSIZE_MASK) as usize
    }
    /// Is the stored value compressed (PostgreSQL's
    /// VARATT_EXTERNAL_IS_COMPRESSED)?
    pub fn is_compressed(&self) -> bool {
        self.extsize() < (self.rawsize as usize).saturating_sub(VARHDRSZ)
    }
    /// The pointer datum, headers included.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(TOAST_POINTER_DATUM_SIZE);
        b.push(0x01);
        b.push(VARTAG_ONDISK);
        b.extend_from_slice(&self.rawsize.to_le_bytes());
        b.extend_from_slice(&self.extinfo.to_le_bytes());
        b.extend_from_slice(&self.valueid.to_le_bytes());
        b.extend_from_slice(&self.toastrelid.to_le_bytes());
        b
    }
    /// Reads a pointer datum (with its headers); `None` if `raw` is not one.
    pub fn decode(raw: &[u8]) -> Option<ExternalPointer> {
        if raw.len() != TOAST_POINTER_DATUM_SIZE || raw[0] != 0x01 || raw[1] != VARTAG_ONDISK {
            return None;
        }
        let u = |o: usize| u32::from_le_bytes(raw[o..o + 4].try_into().unwrap());
        Some(ExternalPointer {
            rawsize: u(2) as i32,
            extinfo: u(6),
            valueid: u(10),
            toastrelid: u(14),
        })
    }
    /// Number of chunk rows holding the value.
    pub fn nchunks(&self) -> usize {
        self.extsize().div_ceil(TOAST_MAX_CHUNK_SIZE)
    }
}

fn corrupt(msg: String) -> PgError {
    PgError::error(sqlstate::DATA_CORRUPTED, msg)
}

/// Is `raw` (a varlena with its header) compressed inline?
pub fn is_compressed_inline(raw: &[u8]) -> bool {
    raw.len() >= VARHDRSZ_COMPRESSED && raw[0] & 0x03 == 0x02
}

/// Is `raw` an out-of-line pointer?
pub fn is_external(raw: &[u8]) -> bool {
    raw.first() == Some(&0x01)
}

/// `payload` (a plain varlena's data) compressed inline with pglz, or
/// `None` when that does not save at least 2 bytes after the larger
/// header (PostgreSQL's toast_compress_datum rule) or pglz declines.
pub fn compress_datum(payload: &[u8]) -> Option<Vec<u8>> {
    let c = crate::pglz::compress(payload)?;
    let valsize = payload.len() + VARHDRSZ;
    if c.len() + VARHDRSZ_COMPRESSED >= valsize - 2 {
        return None;
    }
    let total = c.len() + VARHDRSZ_COMPRESSED;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&((total as u32) << 2 | 0x02).to_le_bytes());
    out.extend_from_slice(
        &((payload.len() as u32) | (TOAST_PGLZ_COMPRESSION_ID << 30)).to_le_bytes(),
    );
    out.extend_from_slice(&c);
    Some(out)
}

/// Decompresses the compressed body `b` = va_tcinfo + stream (inline:
/// the varlena after its header; out of line: the chunks' bytes).
fn decompress_body(b: &[u8]) -> Result<Vec<u8>, PgError> {
    if b.len() < 4 {
        return Err(corrupt("compressed value is too short".into()));
    }
    let tcinfo = u32::from_le_bytes(b[..4].try_into().unwrap());
    let raw = (tcinfo & EXTSIZE_MASK) as usize;
    match tcinfo >> 30 {
        TOAST_PGLZ_COMPRESSION_ID => crate::pglz::decompress(&b[4..], raw),
        TOAST_LZ4_COMPRESSION_ID => Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "compression method lz4 not supported",
        )
        .with_detail("This functionality requires the server to be built with lz4 support.")),
        m => Err(corrupt(format!("invalid compression method id {m}"))),
    }
}

/// The plain payload of a varlena given with its header (compressed
/// inline or an out-of-line pointer; PostgreSQL's detoast_attr).
/// `fetch` returns the `extsize` stored bytes of an out-of-line value.
pub fn detoast(
    raw: &[u8],
    fetch: &mut dyn FnMut(&ExternalPointer) -> Result<Vec<u8>, PgError>,
) -> Result<Vec<u8>, PgError> {
    if is_external(raw) {
        let p =
            ExternalPointer::decode(raw).ok_or_else(|| corrupt("invalid TOAST pointer".into()))?;
        let stored = fetch(&p)?;
        if stored.len() != p.extsize() {
            return Err(corrupt(format!(
                "unexpected size of toast value {}: {} bytes instead of {}",
                p.valueid,
                stored.len(),
                p.extsize()
            )));
        }
        if p.is_compressed() {
            return decompress_body(&stored);
        }
        return Ok(stored);
    }
    if is_compressed_inline(raw) {
        let total = (u32::from_le_bytes(raw[..4].try_into().unwrap()) >> 2) as usize;
        if total != raw.len() {
            return Err(corrupt("invalid compressed varlena length".into()));
        }
        return decompress_body(&raw[VARHDRSZ..]);
    }
    Err(corrupt("unrecognized varlena format".into()))
}

/// A value as the toaster sees it: plain payload, or a varlena with header
/// (compressed inline, or an out-of-line pointer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToastValue {
    /// Not a varlena, or NULL: never touched.
    Other,
    Plain(Vec<u8>),
    Raw(Vec<u8>),
}

impl ToastValue {
    /// PostgreSQL's VARSIZE_ANY as the toaster measures it.
    fn size(&self) -> usize {
        match self {
            ToastValue::Other => 0,
            ToastValue::Plain(p) => p.len() + VARHDRSZ,
            ToastValue::Raw(r) => r.len(),
        }
    }
}

/// Shrinks a row whose tuple exceeds TOAST_TUPLE_THRESHOLD, as PostgreSQL
/// 15's heap_toast_insert_or_update: (1) compress the largest EXTENDED
/// attributes (EXTERNAL ones are only marked), moving one out at once if
/// it alone is over the target; (2) move the largest EXTENDED/EXTERNAL
/// ones out of line; (3) compress MAIN ones; (4) move MAIN ones out only
/// if the row still does not fit a page. Values already out of line (kept
/// by an UPDATE) are left as they are. `tuple_size(values)` measures the
/// row; `save(stored bytes, rawsize, extinfo)` writes one value's chunks
/// and returns its pointer; without a toast table (`save` = None) only
/// compression happens.
/// Stores one value's bytes out of line (data, raw size, extinfo) and
/// returns its pointer: the server's toast-table writer.
pub type SaveValue<'a> = dyn FnMut(&[u8], i32, u32) -> Result<ExternalPointer, PgError> + 'a;

pub fn toast_row(
    storage: &[u8],
    values: &mut [ToastValue],
    tuple_size: &dyn Fn(&[ToastValue]) -> Result<usize, PgError>,
    hoff: usize,
    mut save: Option<&mut SaveValue<'_>>,
) -> Result<(), PgError> {
    let n = values.len();
    let has_toast = save.is_some();
    // Columns no pass may touch again (external, failed to compress).
    let mut done: Vec<bool> = values
        .iter()
        .map(|v| match v {
            ToastValue::Raw(r) => is_external(r),
            _ => false,
        })
        .collect();
    let mut incompressible = done.clone();
    let biggest = |values: &[ToastValue],
                   done: &[bool],
                   incompressible: &[bool],
                   for_compression: bool,
                   main: bool| {
        let mut best: Option<usize> = None;
        let mut best_size = page::maxalign(TOAST_POINTER_SIZE);
        for i in 0..n {
            if done[i] || (for_compression && incompressible[i]) {
                continue;
            }
            let ok_kind = match &values[i] {
                ToastValue::Other => false,
                ToastValue::Plain(_) => true,
                ToastValue::Raw(r) => !for_compression && !is_external(r),
            };
            let ok_storage = if main {
                storage[i] == STORAGE_MAIN
            } else {
                storage[i] == STORAGE_EXTENDED || storage[i] == STORAGE_EXTERNAL
            };
            if ok_kind && ok_storage && values[i].size() > best_size {
                best = Some(i);
                best_size = values[i].size();
            }
        }
        best
    };
    let mut externalize = |i: usize, values: &mut [ToastValue], done: &mut [bool]| {
        let s = save.as_mut().expect("only called with a toast table");
        let p = match &values[i] {
            ToastValue::Plain(p) => s(p, (p.len() + VARHDRSZ) as i32, p.len() as u32)?,
            ToastValue::Raw(r) => {
                let tcinfo = u32::from_le_bytes(r[4..8].try_into().unwrap());
                let body = &r[VARHDRSZ..];
                s(
                    body,
                    ((tcinfo & EXTSIZE_MASK) as usize + VARHDRSZ) as i32,
                    body.len() as u32 | (tcinfo >> 30) << 30,
                )?
            }
            ToastValue::Other => unreachable!("only varlenas are chosen"),
        };
        values[i] = ToastValue::Raw(p.encode());
        done[i] = true;
        Ok::<(), PgError>(())
    };
    let try_compress = |i: usize, values: &mut [ToastValue], incompressible: &mut [bool]| {
        if let ToastValue::Plain(p) = &values[i] {
            match compress_datum(p) {
                Some(c) => values[i] = ToastValue::Raw(c),
                None => incompressible[i] = true,
            }
        }
    };
    let max_data = TOAST_TUPLE_TARGET.saturating_sub(hoff);
    let data = |values: &[ToastValue]| tuple_size(values).map(|s| s - hoff);
    // Pass 1.
    while data(values)? > max_data {
        let Some(i) = biggest(values, &done, &incompressible, true, false) else {
            break;
        };
        if storage[i] == STORAGE_EXTENDED {
            try_compress(i, values, &mut incompressible);
        } else {
            incompressible[i] = true;
        }
        if values[i].size() > max_data && has_toast {
            externalize(i, values, &mut done)?;
        }
    }
    // Pass 2.
    while has_toast && data(values)? > max_data {
        let Some(i) = biggest(values, &done, &incompressible, false, false) else {
            break;
        };
        externalize(i, values, &mut done)?;
    }
    // Pass 3.
    while data(values)? > max_data {
        let Some(i) = biggest(values, &done, &incompressible, true, true) else {
            break;
        };
        try_compress(i, values, &mut incompressible);
    }
    // Pass 4: MAIN values leave only if the row would not fit a page.
    let max_data = heaptuple::MAX_HEAP_TUPLE_SIZE.saturating_sub(hoff);
    while has_toast && data(values)? > max_data {
        let Some(i) = biggest(values, &done, &incompressible, false, true) else {
            break;
        };
        externalize(i, values, &mut done)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_layout_is_postgresqls() {
        let p = ExternalPointer {
            rawsize: 10_004,
            extinfo: 10_000,
            valueid: 0x0102_0304,
            toastrelid: 16_390,
        };
        let b = p.encode();
        assert_eq!(b.len(), 18);
        assert_eq!(&b[..2], &[0x01, 18]);
        assert_eq!(&b[2..6], &10_004i32.to_le_bytes());
        assert_eq!(&b[10..14], &[4, 3, 2, 1]);
        assert_eq!(ExternalPointer::decode(&b), Some(p));
        assert!(!p.is_compressed());
        assert_eq!(p.nchunks(), 6);
        let c = ExternalPointer { extinfo: 500, ..p };
        assert!(c.is_compressed());
    }

    #[test]
    fn compressed_inline_round_trips() {
        let payload = "abcdefgh".repeat(500).into_bytes();
        let c = compress_datum(&payload).unwrap();
        assert!(is_compressed_inline(&c));
        assert_eq!(
            u32::from_le_bytes(c[..4].try_into().unwrap()) >> 2,
            c.len() as u32
        );
        assert_eq!(u32::from_le_bytes(c[4..8].try_into().unwrap()), 4000);
        let back = detoast(&c, &mut |_| unreachable!()).unwrap();
        assert_eq!(back, payload);
    }

    fn unhex(h: &str) -> Vec<u8> {
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Datums written by PostgreSQL 15 (pageinspect's heap_page_item_attrs
    /// on a real cluster) read back here.
    #[test]
    fn reads_postgresqls_own_datums() {
        // INSERT INTO c VALUES (repeat('the quick brown fox jumps over the
        // lazy dog ', 60) || 'end'): compressed inline with pglz.
        let c = unhex(concat!(
            "6e010000530a0000007468652071756963006b2062726f776e2000666f78206a",
            "756d708073206f76657220011f006c617a7920646f67ff020d0f2cff0f2cff0f",
            "2cff0f2cff0f2cff0f2cff0f2cff070f2cff0f2cff0f2c75656e64"
        ));
        assert!(is_compressed_inline(&c));
        let want = format!(
            "{}end",
            "the quick brown fox jumps over the lazy dog ".repeat(60)
        );
        assert_eq!(
            detoast(&c, &mut |_| unreachable!()).unwrap(),
            want.as_bytes()
        );
        // repeat('x', 5000) with SET STORAGE EXTERNAL: its pointer (toast
        // table 16435, value 16437, chunks of 1996, 1996, 1008 there).
        let p = ExternalPointer::decode(&unhex("01128c130000881300003540000033400000")).unwrap();
        assert_eq!(
            p,
            ExternalPointer {
                rawsize: 5004,
                extinfo: 5000,
                valueid: 16437,
                toastrelid: 16435
            }
        );
        assert!(!p.is_compressed());
    }

    fn size_of(v: &[ToastValue]) -> Result<usize, PgError> {
        Ok(32 + v.iter().map(|x| x.size()).sum::<usize>())
    }

    #[test]
    fn toaster_compresses_first_then_moves_out_largest_first() {
        let mut saved: Vec<Vec<u8>> = Vec::new();
        let mut save = |b: &[u8], raw: i32, ext: u32| {
            saved.push(b.to_vec());
            Ok(ExternalPointer {
                rawsize: raw,
                extinfo: ext,
                valueid: saved.len() as u32,
                toastrelid: 99_999,
            })
        };
        // A compressible 3000-byte value fits once compressed: stays inline.
        let mut v = vec![
            ToastValue::Other,
            ToastValue::Plain("xyz".repeat(1000).into_bytes()),
        ];
        toast_row(
            b"px",
            &mut v,
            &size_of,
            32,
            Some(&mut save as &mut dyn FnMut(&[u8], i32, u32) -> _),
        )
        .unwrap();
        assert!(matches!(&v[1], ToastValue::Raw(r) if is_compressed_inline(r)));
        // Incompressible: out of line; the small column stays.
        let mut seed = 1u64;
        let noise: Vec<u8> = (0..5000)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                (seed >> 33) as u8
            })
            .collect();
        let mut v = vec![
            ToastValue::Plain(b"small".to_vec()),
            ToastValue::Plain(noise.clone()),
        ];
        toast_row(
            b"xx",
            &mut v,
            &size_of,
            32,
            Some(&mut save as &mut dyn FnMut(&[u8], i32, u32) -> _),
        )
        .unwrap();
        assert_eq!(v[0], ToastValue::Plain(b"small".to_vec()));
        let ToastValue::Raw(r) = &v[1] else { panic!() };
        let p = ExternalPointer::decode(r).unwrap();
        assert!(!p.is_compressed());
        assert_eq!(p.rawsize as usize, 5004);
        let back = detoast(r, &mut |q| Ok(saved[q.valueid as usize - 1].clone())).unwrap();
        assert_eq!(back, noise);
        // PLAIN columns are never touched; MAIN ones are compressed but
        // not moved while the row fits a page.
        let mut v = vec![ToastValue::Plain(noise.clone())];
        toast_row(b"m", &mut v, &size_of, 32, None).unwrap();
        assert_eq!(v[0], ToastValue::Plain(noise.clone()));
        let mut v = vec![ToastValue::Plain(noise.clone())];
        toast_row(b"p", &mut v, &size_of, 32, None).unwrap();
        assert_eq!(v[0], ToastValue::Plain(noise));
    }
}
