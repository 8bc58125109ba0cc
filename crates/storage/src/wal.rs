//! The write-ahead log's on-disk format: record and page headers, block references, segment names, and an encoder/decoder that finds the end of WAL.
//!
//! Why PostgreSQL's format with one change: LSN = byte position in an
//! endless stream cut into 8 kB pages and 16 MB segment files, records that
//! start on 8-byte boundaries and may cross pages (each continuation page
//! says how many bytes of the record are still to come), a CRC-32C per
//! record and a back-pointer to the previous record. Together these let
//! recovery find the end of the log without any "last written" marker: it
//! reads records until one is zero, torn (a page header or CRC that does
//! not match) or does not link back to its predecessor, and everything
//! before that point is exactly what was written completely. The change is
//! the 64-bit transaction id (issue 9: no wraparound), which moves fields in
//! the record header; the page magic is therefore tusk's own, so no
//! PostgreSQL tool mistakes our segments for its own.
//!
//! ```text
//! WAL page header (every 8 kB page of a segment), little-endian
//! offset size field
//!      0    2 xlp_magic        XLOG_PAGE_MAGIC
//!      2    2 xlp_info         XLP_FIRST_IS_CONTRECORD | XLP_LONG_HEADER | ...
//!      4    4 xlp_tli          timeline of the page
//!      8    8 xlp_pageaddr     LSN of the page's first byte
//!     16    4 xlp_rem_len      bytes of a record continued from the previous page
//!     20    4 (zero)           padding to MAXALIGN
//!     24                       SIZE_OF_SHORT_PAGE_HEADER
//! long header (first page of each segment) adds
//!     24    8 xlp_sysid        system identifier (pg_control's)
//!     32    4 xlp_seg_size     segment size in bytes
//!     36    4 xlp_xlog_blcksz  WAL page size (8192)
//!     40                       SIZE_OF_LONG_PAGE_HEADER
//!
//! record header (XLogRecord), starts at an 8-byte-aligned LSN
//! offset size field
//!      0    4 xl_tot_len       whole record including this header
//!      4    1 xl_info          flags; the high 4 bits belong to the rmgr
//!      5    1 xl_rmid          resource manager that replays it
//!      6    2 (zero)           padding, covered by the CRC
//!      8    8 xl_xid           64-bit transaction id (0 = none)
//!     16    8 xl_prev          LSN of the previous record
//!     24    4 xl_crc           CRC-32C of bytes 28..tot_len, then of bytes 0..24
//!     28                       SIZE_OF_XLOG_RECORD
//!
//! then, for each block reference (XLogRecordBlockHeader):
//!      0    1 id               0..=XLR_MAX_BLOCK_ID, increasing
//!      1    1 fork_flags       fork number (low 4 bits) | BKPBLOCK_* flags
//!      2    2 data_length      bytes of per-block data in the payload
//!   if BKPBLOCK_HAS_IMAGE (XLogRecordBlockImageHeader):
//!      4    2 bimg_len         bytes of the image in the payload
//!      6    2 hole_offset      where the omitted free space (zeros) starts
//!      8    1 bimg_info        BKPIMAGE_HAS_HOLE | BKPIMAGE_APPLY
//!   unless BKPBLOCK_SAME_REL: 12 bytes spcOid, dbOid, relNumber (u32 each)
//!   always: 4 bytes block number
//! then the main data header: 0xFF + u8 length (< 256), or 0xFE + u32 length
//! then the payloads in the same order: for each block its image, then its
//! data; last the main data.
//! ```
//! The hole of a full-page image is the page's free space (pd_lower ..
//! pd_upper), so an image costs only the bytes in use.
//!
//! Who may call: the encoding functions are pure and any process may use
//! them. Once WAL buffers exist (issue 9 item 4) backends encode into their
//! reserved range of shared WAL buffers, the walwriter/checkpointer write
//! whole pages out, and the startup process decodes with [`WalReader`].

use crc32c::{crc32c, crc32c_append};

use crate::page::{self, PageBuf, BLCKSZ};
use crate::smgr::{BlockNumber, Fork, RelFileLocator};

/// WAL page size.
pub const XLOG_BLCKSZ: usize = 8192;
/// Default WAL segment size: 16 MB, PostgreSQL's.
pub const DEFAULT_WAL_SEGMENT_SIZE: u64 = 16 * 1024 * 1024;
/// tusk's page magic (PostgreSQL 15's is 0xD110; ours differs on purpose,
/// the record header being different).
pub const XLOG_PAGE_MAGIC: u16 = 0xD17A;

pub const XLP_FIRST_IS_CONTRECORD: u16 = 0x0001;
pub const XLP_LONG_HEADER: u16 = 0x0002;
pub const XLP_BKP_REMOVABLE: u16 = 0x0004;
pub const XLP_FIRST_IS_OVERWRITE_CONTRECORD: u16 = 0x0008;
pub const XLP_ALL_FLAGS: u16 = 0x000F;
/// The flags tusk writes today. A reader rejects any other bit, so that a
/// flipped bit in a page header is caught like one in a record.
pub const XLP_KNOWN_FLAGS: u16 = XLP_FIRST_IS_CONTRECORD | XLP_LONG_HEADER;

pub const PH_OFF_MAGIC: usize = 0;
pub const PH_OFF_INFO: usize = 2;
pub const PH_OFF_TLI: usize = 4;
pub const PH_OFF_PAGEADDR: usize = 8;
pub const PH_OFF_REM_LEN: usize = 16;
pub const PH_OFF_SYSID: usize = 24;
pub const PH_OFF_SEG_SIZE: usize = 32;
pub const PH_OFF_XLOG_BLCKSZ: usize = 36;
pub const SIZE_OF_SHORT_PAGE_HEADER: usize = 24;
pub const SIZE_OF_LONG_PAGE_HEADER: usize = 40;

pub const XL_OFF_TOT_LEN: usize = 0;
pub const XL_OFF_INFO: usize = 4;
pub const XL_OFF_RMID: usize = 5;
pub const XL_OFF_XID: usize = 8;
pub const XL_OFF_PREV: usize = 16;
pub const XL_OFF_CRC: usize = 24;
pub const SIZE_OF_XLOG_RECORD: usize = 28;

/// Largest record accepted (PostgreSQL's XLogRecordMaxSize): a garbage
/// length beyond it ends the WAL instead of making recovery allocate it.
pub const XLOG_RECORD_MAX_SIZE: u32 = 1020 * 1024 * 1024;

pub const XLR_MAX_BLOCK_ID: u8 = 32;
pub const XLR_BLOCK_ID_DATA_SHORT: u8 = 255;
pub const XLR_BLOCK_ID_DATA_LONG: u8 = 254;

pub const BKPBLOCK_FORK_MASK: u8 = 0x0F;
pub const BKPBLOCK_HAS_IMAGE: u8 = 0x10;
pub const BKPBLOCK_HAS_DATA: u8 = 0x20;
pub const BKPBLOCK_WILL_INIT: u8 = 0x40;
pub const BKPBLOCK_SAME_REL: u8 = 0x80;

pub const BKPIMAGE_HAS_HOLE: u8 = 0x01;
pub const BKPIMAGE_APPLY: u8 = 0x02;
/// Compression bits PostgreSQL defines (pglz, lz4, zstd); tusk writes none
/// yet and rejects a record that claims one.
pub const BKPIMAGE_COMPRESS_MASK: u8 = 0x1C;

pub const SIZE_OF_BLOCK_HEADER: usize = 4;
pub const SIZE_OF_BLOCK_IMAGE_HEADER: usize = 5;
pub const SIZE_OF_REL_FILE_LOCATOR: usize = 12;

/// Resource manager ids, PostgreSQL's numbering for the ones tusk will have.
pub const RM_XLOG_ID: u8 = 0;
pub const RM_XACT_ID: u8 = 1;
pub const RM_SMGR_ID: u8 = 2;
pub const RM_CLOG_ID: u8 = 3;
pub const RM_DBASE_ID: u8 = 4;
pub const RM_HEAP2_ID: u8 = 9;
pub const RM_HEAP_ID: u8 = 10;
pub const RM_BTREE_ID: u8 = 11;
/// Highest id a record may carry (PostgreSQL 15's last built-in rmgr).
pub const RM_MAX_ID: u8 = 21;

const MAXALIGN: u64 = 8;

const _: () = assert!(PH_OFF_REM_LEN + 4 + 4 == SIZE_OF_SHORT_PAGE_HEADER);
const _: () = assert!(PH_OFF_XLOG_BLCKSZ + 4 == SIZE_OF_LONG_PAGE_HEADER);
const _: () = assert!((SIZE_OF_LONG_PAGE_HEADER as u64).is_multiple_of(MAXALIGN));
const _: () = assert!(XL_OFF_CRC + 4 == SIZE_OF_XLOG_RECORD);
const _: () = assert!(XL_OFF_PREV + 8 == XL_OFF_CRC);
// The length field of a record at an aligned position is always on the
// page where the record starts.
const _: () = assert!(XL_OFF_TOT_LEN + 4 <= MAXALIGN as usize);
const _: () = assert!(BLCKSZ <= u16::MAX as usize);

pub(crate) fn maxalign(x: u64) -> u64 {
    (x + MAXALIGN - 1) & !(MAXALIGN - 1)
}

/// An LSN as PostgreSQL prints it: `%X/%X`.
pub fn lsn_str(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn as u32)
}

/// Is `size` usable as a WAL segment size? A power of two holding at least
/// one page (PostgreSQL allows 1 MB .. 1 GB; tests use a few pages).
pub fn valid_segment_size(size: u64) -> bool {
    size.is_power_of_two() && size >= XLOG_BLCKSZ as u64 && size <= 1 << 30
}

/// File name in `pg_wal/` of segment `segno` (PostgreSQL's XLogFileName):
/// timeline, then the segment number split into "log" and "seg" halves.
pub fn wal_file_name(tli: u32, segno: u64, seg_size: u64) -> String {
    let per_id = 0x1_0000_0000u64 / seg_size;
    format!("{:08X}{:08X}{:08X}", tli, segno / per_id, segno % per_id)
}

/// Parse a segment file name back into (timeline, segno); None if it is not one.
pub fn parse_wal_file_name(name: &str, seg_size: u64) -> Option<(u32, u64)> {
    if name.len() != 24
        || !name
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
    {
        return None;
    }
    let tli = u32::from_str_radix(&name[0..8], 16).ok()?;
    let log = u64::from_str_radix(&name[8..16], 16).ok()?;
    let seg = u64::from_str_radix(&name[16..24], 16).ok()?;
    let per_id = 0x1_0000_0000u64 / seg_size;
    if seg >= per_id {
        return None;
    }
    Some((tli, log * per_id + seg))
}

/// Segment holding byte `lsn`.
pub fn segno_of(lsn: u64, seg_size: u64) -> u64 {
    lsn / seg_size
}

/// A full-page image carried by a block reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockImage {
    /// The page; bytes in the hole are zero.
    pub page: Box<PageBuf>,
    pub hole_offset: u16,
    pub hole_length: u16,
    /// Replay restores the page from the image (not only a consistency
    /// check image).
    pub apply: bool,
}

impl BlockImage {
    /// Image of `page`. For a standard page (header + line pointers + items)
    /// the free space between pd_lower and pd_upper is left out.
    pub fn of_page(p: &PageBuf, standard: bool) -> BlockImage {
        let mut img = Box::new(*p);
        let (lower, upper) = (page::lower(p) as usize, page::upper(p) as usize);
        let (off, len) =
            if standard && lower >= page::SIZE_OF_PAGE_HEADER && lower < upper && upper <= BLCKSZ {
                (lower, upper - lower)
            } else {
                (0, 0)
            };
        img[off..off + len].fill(0);
        BlockImage {
            page: img,
            hole_offset: off as u16,
            hole_length: len as u16,
            apply: true,
        }
    }
}

/// A reference from a record to a block it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRef {
    pub id: u8,
    pub rel: RelFileLocator,
    pub fork: Fork,
    pub blkno: BlockNumber,
    /// Replay starts from an empty page (no need to read the old one).
    pub will_init: bool,
    pub image: Option<BlockImage>,
    /// Per-block data for the rmgr's redo routine.
    pub data: Vec<u8>,
}

/// A record to insert: everything but the position-dependent fields
/// (xl_prev, CRC), which the writer fills in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub rmid: u8,
    pub info: u8,
    pub xid: u64,
    pub blocks: Vec<BlockRef>,
    pub main_data: Vec<u8>,
}

/// A record read back, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedRecord {
    /// LSN of its first byte (its header).
    pub lsn: u64,
    /// LSN just past its last byte.
    pub end_lsn: u64,
    pub prev: u64,
    pub record: Record,
}

/// Why a record cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    TooManyBlocks,
    BlockIdsNotIncreasing(u8),
    BlockDataTooLong(usize),
    BadImageHole { offset: u16, length: u16 },
    TooLong(usize),
}

/// Serialise `rec` with back-pointer `prev` into a contiguous record (as it
/// would be if no page boundary intervened): header, CRC and all.
pub fn encode_record(rec: &Record, prev: u64) -> Result<Vec<u8>, EncodeError> {
    let mut out = encode_unfinished(rec)?;
    out[XL_OFF_PREV..XL_OFF_PREV + 8].copy_from_slice(&prev.to_le_bytes());
    let crc = record_crc(&out);
    out[XL_OFF_CRC..XL_OFF_CRC + 4].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// The record without its position-dependent fields (xl_prev and xl_crc
/// zero), for a writer that fills them in under its insert lock. One
/// allocation of the exact size: the block headers are written in a first
/// pass over the blocks and their payloads in a second, since every header
/// precedes every payload — this runs once per row changed.
pub fn encode_unfinished(rec: &Record) -> Result<Vec<u8>, EncodeError> {
    if rec.blocks.len() > XLR_MAX_BLOCK_ID as usize + 1 {
        return Err(EncodeError::TooManyBlocks);
    }
    // Validate and size.
    let mut headers = 0usize;
    let mut payload = 0usize;
    let mut last: Option<(u8, RelFileLocator)> = None;
    for b in &rec.blocks {
        if b.id > XLR_MAX_BLOCK_ID || last.is_some_and(|(id, _)| b.id <= id) {
            return Err(EncodeError::BlockIdsNotIncreasing(b.id));
        }
        if b.data.len() > u16::MAX as usize {
            return Err(EncodeError::BlockDataTooLong(b.data.len()));
        }
        headers += 4 + 4;
        if let Some(img) = &b.image {
            let (off, len) = (img.hole_offset as usize, img.hole_length as usize);
            if off + len > BLCKSZ || (len == 0) != (off == 0) || len == BLCKSZ {
                return Err(EncodeError::BadImageHole {
                    offset: img.hole_offset,
                    length: img.hole_length,
                });
            }
            headers += 5;
            payload += BLCKSZ - len;
        }
        if last.is_none_or(|(_, r)| r != b.rel) {
            headers += 12;
        }
        payload += b.data.len();
        last = Some((b.id, b.rel));
    }
    if !rec.main_data.is_empty() {
        headers += if rec.main_data.len() < 256 { 2 } else { 5 };
        payload += rec.main_data.len();
    }
    let tot = SIZE_OF_XLOG_RECORD + headers + payload;
    if tot > XLOG_RECORD_MAX_SIZE as usize {
        return Err(EncodeError::TooLong(tot));
    }
    let mut out = Vec::with_capacity(tot);
    out.resize(SIZE_OF_XLOG_RECORD, 0);
    out[XL_OFF_TOT_LEN..XL_OFF_TOT_LEN + 4].copy_from_slice(&(tot as u32).to_le_bytes());
    out[XL_OFF_INFO] = rec.info;
    out[XL_OFF_RMID] = rec.rmid;
    out[XL_OFF_XID..XL_OFF_XID + 8].copy_from_slice(&rec.xid.to_le_bytes());
    // Headers.
    let mut last: Option<RelFileLocator> = None;
    for b in &rec.blocks {
        let same_rel = last == Some(b.rel);
        let mut fork_flags = b.fork as u8;
        if b.image.is_some() {
            fork_flags |= BKPBLOCK_HAS_IMAGE;
        }
        if !b.data.is_empty() {
            fork_flags |= BKPBLOCK_HAS_DATA;
        }
        if b.will_init {
            fork_flags |= BKPBLOCK_WILL_INIT;
        }
        if same_rel {
            fork_flags |= BKPBLOCK_SAME_REL;
        }
        out.push(b.id);
        out.push(fork_flags);
        out.extend_from_slice(&(b.data.len() as u16).to_le_bytes());
        if let Some(img) = &b.image {
            let len = img.hole_length as usize;
            out.extend_from_slice(&((BLCKSZ - len) as u16).to_le_bytes());
            out.extend_from_slice(&img.hole_offset.to_le_bytes());
            let mut info = if len > 0 { BKPIMAGE_HAS_HOLE } else { 0 };
            if img.apply {
                info |= BKPIMAGE_APPLY;
            }
            out.push(info);
        }
        if !same_rel {
            out.extend_from_slice(&b.rel.spc.to_le_bytes());
            out.extend_from_slice(&b.rel.db.to_le_bytes());
            out.extend_from_slice(&b.rel.rel.to_le_bytes());
        }
        out.extend_from_slice(&b.blkno.to_le_bytes());
        last = Some(b.rel);
    }
    if !rec.main_data.is_empty() {
        if rec.main_data.len() < 256 {
            out.push(XLR_BLOCK_ID_DATA_SHORT);
            out.push(rec.main_data.len() as u8);
        } else {
            out.push(XLR_BLOCK_ID_DATA_LONG);
            out.extend_from_slice(&(rec.main_data.len() as u32).to_le_bytes());
        }
    }
    // Payloads, in the same order.
    for b in &rec.blocks {
        if let Some(img) = &b.image {
            let (off, len) = (img.hole_offset as usize, img.hole_length as usize);
            out.extend_from_slice(&img.page[..off]);
            out.extend_from_slice(&img.page[off + len..]);
        }
        out.extend_from_slice(&b.data);
    }
    out.extend_from_slice(&rec.main_data);
    debug_assert_eq!(out.len(), tot);
    Ok(out)
}

/// CRC-32C of a whole record: the body first, then the header up to the
/// CRC field (so the header can be finished last when inserting).
fn record_crc(rec: &[u8]) -> u32 {
    crc32c_append(crc32c(&rec[SIZE_OF_XLOG_RECORD..]), &rec[..XL_OFF_CRC])
}

/// Serialise a page header for the page starting at `pageaddr`.
pub fn encode_page_header(
    pageaddr: u64,
    tli: u32,
    rem_len: u32,
    sysid: u64,
    seg_size: u64,
) -> Vec<u8> {
    let long = pageaddr.is_multiple_of(seg_size);
    let mut info = if long { XLP_LONG_HEADER } else { 0 };
    if rem_len > 0 {
        info |= XLP_FIRST_IS_CONTRECORD;
    }
    let mut h = vec![
        0u8;
        if long {
            SIZE_OF_LONG_PAGE_HEADER
        } else {
            SIZE_OF_SHORT_PAGE_HEADER
        }
    ];
    h[PH_OFF_MAGIC..PH_OFF_MAGIC + 2].copy_from_slice(&XLOG_PAGE_MAGIC.to_le_bytes());
    h[PH_OFF_INFO..PH_OFF_INFO + 2].copy_from_slice(&info.to_le_bytes());
    h[PH_OFF_TLI..PH_OFF_TLI + 4].copy_from_slice(&tli.to_le_bytes());
    h[PH_OFF_PAGEADDR..PH_OFF_PAGEADDR + 8].copy_from_slice(&pageaddr.to_le_bytes());
    h[PH_OFF_REM_LEN..PH_OFF_REM_LEN + 4].copy_from_slice(&rem_len.to_le_bytes());
    if long {
        h[PH_OFF_SYSID..PH_OFF_SYSID + 8].copy_from_slice(&sysid.to_le_bytes());
        h[PH_OFF_SEG_SIZE..PH_OFF_SEG_SIZE + 4].copy_from_slice(&(seg_size as u32).to_le_bytes());
        h[PH_OFF_XLOG_BLCKSZ..PH_OFF_XLOG_BLCKSZ + 4]
            .copy_from_slice(&(XLOG_BLCKSZ as u32).to_le_bytes());
    }
    h
}

/// Appends records to an in-memory WAL stream that starts at a page
/// boundary, laying them out exactly as they will be in segment files:
/// page headers every 8 kB (long ones at segment starts), records split
/// across pages, 8-byte alignment between records.
pub struct WalWriter {
    buf: Vec<u8>,
    start: u64,
    /// Next insert position (always 8-byte aligned).
    pos: u64,
    prev: u64,
    tli: u32,
    sysid: u64,
    seg_size: u64,
}

impl WalWriter {
    /// A stream whose first byte is LSN `start` (a page boundary); the first
    /// record's xl_prev is `prev`.
    pub fn new(start: u64, prev: u64, tli: u32, sysid: u64, seg_size: u64) -> WalWriter {
        assert!(
            valid_segment_size(seg_size),
            "invalid WAL segment size {seg_size}"
        );
        assert!(
            start.is_multiple_of(XLOG_BLCKSZ as u64),
            "WAL stream must start at a page boundary"
        );
        WalWriter {
            buf: Vec::new(),
            start,
            pos: start,
            prev,
            tli,
            sysid,
            seg_size,
        }
    }

    /// The stream so far; byte i is LSN `start + i`.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn start(&self) -> u64 {
        self.start
    }

    /// Where the next record would go.
    pub fn insert_pos(&self) -> u64 {
        self.pos
    }

    fn put(&mut self, bytes: &[u8]) {
        let at = (self.pos - self.start) as usize;
        if self.buf.len() < at + bytes.len() {
            self.buf.resize(at + bytes.len(), 0);
        }
        self.buf[at..at + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len() as u64;
    }

    /// Append `rec`; returns (LSN of the record, LSN just past it).
    pub fn insert(&mut self, rec: &Record) -> Result<(u64, u64), EncodeError> {
        let bytes = encode_record(rec, self.prev)?;
        if self.pos.is_multiple_of(XLOG_BLCKSZ as u64) {
            let h = encode_page_header(self.pos, self.tli, 0, self.sysid, self.seg_size);
            self.put(&h);
        }
        let lsn = self.pos;
        let mut rest = &bytes[..];
        loop {
            let page_end = (self.pos / XLOG_BLCKSZ as u64 + 1) * XLOG_BLCKSZ as u64;
            let n = rest.len().min((page_end - self.pos) as usize);
            self.put(&rest[..n]);
            rest = &rest[n..];
            if rest.is_empty() {
                break;
            }
            let h = encode_page_header(
                self.pos,
                self.tli,
                rest.len() as u32,
                self.sysid,
                self.seg_size,
            );
            self.put(&h);
        }
        let end = self.pos;
        // Alignment padding is zero: a reader stopping there sees length 0.
        let aligned = maxalign(end);
        self.put(&vec![0u8; (aligned - end) as usize]);
        self.prev = lsn;
        Ok((lsn, end))
    }
}

/// Where and why reading stopped: the end of WAL. Recovery logs `message`
/// (PostgreSQL's wording) and redo ends at `lsn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalEnd {
    /// LSN of the record that could not be read.
    pub lsn: u64,
    pub kind: WalEndKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalEndKind {
    /// A zero length where a record should start: the normal end.
    Zero,
    /// The stream ends before the record does.
    EndOfData,
    /// A length, page header, back-pointer or CRC is wrong: a torn or
    /// damaged record.
    Invalid,
}

/// Reads records back from a stream produced by [`WalWriter`] (or read
/// from segment files), checking every page header, length, back-pointer
/// and CRC, and stops at the first record that is not entirely valid.
pub struct WalReader<'a> {
    buf: &'a [u8],
    start: u64,
    next: u64,
    prev: Option<u64>,
    tli: u32,
    sysid: u64,
    seg_size: u64,
    ended: Option<WalEnd>,
    /// Start of the last page whose header was validated.
    checked_page: Option<u64>,
}

struct PageHeader {
    info: u16,
    rem_len: u32,
    size: usize,
}

impl<'a> WalReader<'a> {
    /// Read `buf`, whose first byte is LSN `start` (a page boundary),
    /// beginning with the record at `first` (a record start, e.g. a
    /// checkpoint's redo point). If `prev` is known, the first record must
    /// link back to it.
    pub fn new(
        buf: &'a [u8],
        start: u64,
        first: u64,
        prev: Option<u64>,
        tli: u32,
        sysid: u64,
        seg_size: u64,
    ) -> WalReader<'a> {
        assert!(
            valid_segment_size(seg_size),
            "invalid WAL segment size {seg_size}"
        );
        assert!(
            start.is_multiple_of(XLOG_BLCKSZ as u64),
            "WAL stream must start at a page boundary"
        );
        WalReader {
            buf,
            start,
            next: first,
            prev,
            tli,
            sysid,
            seg_size,
            ended: None,
            checked_page: None,
        }
    }

    /// Where the next record would be read.
    pub fn next_lsn(&self) -> u64 {
        self.next
    }

    fn bytes(&self, lsn: u64, len: usize) -> Option<&'a [u8]> {
        let at = lsn.checked_sub(self.start)? as usize;
        self.buf.get(at..at.checked_add(len)?)
    }

    fn seg_pos(&self, lsn: u64) -> (String, u64) {
        (
            wal_file_name(self.tli, segno_of(lsn, self.seg_size), self.seg_size),
            lsn % self.seg_size,
        )
    }

    /// Validate the header of the page starting at `lsn`.
    fn page_header(&self, lsn: u64, rec_lsn: u64) -> Result<PageHeader, WalEnd> {
        let invalid = |message: String| WalEnd {
            lsn: rec_lsn,
            kind: WalEndKind::Invalid,
            message,
        };
        let long_expected = lsn.is_multiple_of(self.seg_size);
        let size = if long_expected {
            SIZE_OF_LONG_PAGE_HEADER
        } else {
            SIZE_OF_SHORT_PAGE_HEADER
        };
        let Some(h) = self.bytes(lsn, size) else {
            return Err(WalEnd {
                lsn: rec_lsn,
                kind: WalEndKind::EndOfData,
                message: format!("unexpected end of WAL at {}", lsn_str(lsn)),
            });
        };
        let u16_at = |o: usize| u16::from_le_bytes([h[o], h[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap());
        let (seg, off) = self.seg_pos(lsn);
        let magic = u16_at(PH_OFF_MAGIC);
        if magic != XLOG_PAGE_MAGIC {
            return Err(invalid(format!(
                "invalid magic number {magic:04X} in WAL segment {seg}, offset {off}"
            )));
        }
        let info = u16_at(PH_OFF_INFO);
        if info & !XLP_KNOWN_FLAGS != 0 || (info & XLP_LONG_HEADER != 0) != long_expected {
            return Err(invalid(format!(
                "invalid info bits {info:04X} in WAL segment {seg}, offset {off}"
            )));
        }
        let pageaddr = u64_at(PH_OFF_PAGEADDR);
        if pageaddr != lsn {
            return Err(invalid(format!(
                "unexpected pageaddr {} in WAL segment {seg}, offset {off}",
                lsn_str(pageaddr)
            )));
        }
        let tli = u32_at(PH_OFF_TLI);
        if tli != self.tli {
            return Err(invalid(format!(
                "unexpected timeline ID {tli} in WAL segment {seg}, offset {off}"
            )));
        }
        if h[PH_OFF_REM_LEN + 4..SIZE_OF_SHORT_PAGE_HEADER]
            .iter()
            .any(|&b| b != 0)
        {
            return Err(invalid(format!(
                "invalid page header padding in WAL segment {seg}, offset {off}"
            )));
        }
        if long_expected {
            let sysid = u64_at(PH_OFF_SYSID);
            if sysid != self.sysid {
                return Err(invalid(format!(
                    "WAL file is from different database system: WAL file database system identifier is {sysid}, pg_control database system identifier is {}",
                    self.sysid
                )));
            }
            if u32_at(PH_OFF_SEG_SIZE) as u64 != self.seg_size {
                return Err(invalid(
                    "WAL file is from different database system: incorrect segment size in page header".into(),
                ));
            }
            if u32_at(PH_OFF_XLOG_BLCKSZ) as usize != XLOG_BLCKSZ {
                return Err(invalid(
                    "WAL file is from different database system: incorrect XLOG_BLCKSZ in page header".into(),
                ));
            }
        }
        Ok(PageHeader {
            info,
            rem_len: u32_at(PH_OFF_REM_LEN),
            size,
        })
    }

    /// The next complete, valid record, or the end of WAL (returned again
    /// on every later call).
    pub fn read_record(&mut self) -> Result<DecodedRecord, WalEnd> {
        if let Some(end) = &self.ended {
            return Err(end.clone());
        }
        match self.read_inner() {
            Ok(r) => {
                self.prev = Some(r.lsn);
                self.next = maxalign(r.end_lsn);
                Ok(r)
            }
            Err(e) => {
                self.ended = Some(e.clone());
                Err(e)
            }
        }
    }

    fn read_inner(&mut self) -> Result<DecodedRecord, WalEnd> {
        let mut p = self.next;
        let page = XLOG_BLCKSZ as u64;
        if p.is_multiple_of(page) {
            let h = self.page_header(p, p)?;
            if h.info & XLP_FIRST_IS_CONTRECORD != 0 {
                return Err(WalEnd {
                    lsn: p,
                    kind: WalEndKind::Invalid,
                    message: format!("contrecord is requested by {}", lsn_str(p)),
                });
            }
            self.checked_page = Some(p);
            p += h.size as u64;
        } else if self.checked_page != Some(p - p % page) {
            // Starting in the middle of a page: its header must be valid
            // too, and the start must not fall inside it.
            let h = self.page_header(p - p % page, p)?;
            if p % page < h.size as u64 {
                return Err(WalEnd {
                    lsn: p,
                    kind: WalEndKind::Invalid,
                    message: format!("invalid record offset at {}", lsn_str(p)),
                });
            }
            self.checked_page = Some(p - p % page);
        }
        let lsn = p;
        let invalid = |message: String| WalEnd {
            lsn,
            kind: WalEndKind::Invalid,
            message,
        };
        let Some(len_bytes) = self.bytes(p, 4) else {
            return Err(WalEnd {
                lsn,
                kind: WalEndKind::EndOfData,
                message: format!("unexpected end of WAL at {}", lsn_str(lsn)),
            });
        };
        let tot_len = u32::from_le_bytes(len_bytes.try_into().unwrap());
        if (tot_len as usize) < SIZE_OF_XLOG_RECORD {
            return Err(WalEnd {
                lsn,
                kind: if tot_len == 0 {
                    WalEndKind::Zero
                } else {
                    WalEndKind::Invalid
                },
                message: format!(
                    "invalid record length at {}: wanted {SIZE_OF_XLOG_RECORD}, got {tot_len}",
                    lsn_str(lsn)
                ),
            });
        }
        if tot_len > XLOG_RECORD_MAX_SIZE {
            return Err(invalid(format!(
                "record length {tot_len} at {} too long",
                lsn_str(lsn)
            )));
        }
        // Gather the record across pages. Nothing is allocated for more
        // than the stream actually holds, so a garbage length cannot make
        // recovery run out of memory.
        let mut rec: Vec<u8> = Vec::new();
        let mut remaining = tot_len as usize;
        loop {
            let page_end = (p / page + 1) * page;
            let n = remaining.min((page_end - p) as usize);
            let Some(chunk) = self.bytes(p, n) else {
                return Err(WalEnd {
                    lsn,
                    kind: WalEndKind::EndOfData,
                    message: format!("unexpected end of WAL in record at {}", lsn_str(lsn)),
                });
            };
            rec.extend_from_slice(chunk);
            p += n as u64;
            remaining -= n;
            if remaining == 0 {
                break;
            }
            let h = self.page_header(p, lsn)?;
            if h.info & XLP_FIRST_IS_CONTRECORD == 0 {
                return Err(invalid(format!(
                    "there is no contrecord flag at {}",
                    lsn_str(p)
                )));
            }
            if h.rem_len as usize != remaining {
                return Err(invalid(format!(
                    "invalid contrecord length {} (expected {remaining}) at {}",
                    h.rem_len,
                    lsn_str(p)
                )));
            }
            self.checked_page = Some(p);
            p += h.size as u64;
        }
        let rmid = rec[XL_OFF_RMID];
        if rmid > RM_MAX_ID {
            return Err(invalid(format!(
                "invalid resource manager ID {rmid} at {}",
                lsn_str(lsn)
            )));
        }
        let prev = u64::from_le_bytes(rec[XL_OFF_PREV..XL_OFF_PREV + 8].try_into().unwrap());
        if let Some(expected) = self.prev {
            if prev != expected {
                return Err(invalid(format!(
                    "record with incorrect prev-link {} at {}",
                    lsn_str(prev),
                    lsn_str(lsn)
                )));
            }
        }
        let crc = u32::from_le_bytes(rec[XL_OFF_CRC..XL_OFF_CRC + 4].try_into().unwrap());
        if record_crc(&rec) != crc {
            return Err(invalid(format!(
                "incorrect resource manager data checksum in record at {}",
                lsn_str(lsn)
            )));
        }
        let record = decode_body(&rec).map_err(|m| invalid(format!("{m} at {}", lsn_str(lsn))))?;
        Ok(DecodedRecord {
            lsn,
            end_lsn: p,
            prev,
            record,
        })
    }
}

impl Iterator for WalReader<'_> {
    type Item = DecodedRecord;

    /// Records until the end of WAL; [`WalReader::read_record`] tells why
    /// it ended.
    fn next(&mut self) -> Option<DecodedRecord> {
        self.read_record().ok()
    }
}

/// Parse the block references and main data of a record whose CRC matched.
/// Errors are PostgreSQL's texts without the trailing "at %X/%X".
fn decode_body(rec: &[u8]) -> Result<Record, String> {
    struct Cursor<'b> {
        b: &'b [u8],
        at: usize,
    }
    impl<'b> Cursor<'b> {
        fn take(&mut self, n: usize) -> Result<&'b [u8], String> {
            let s = self
                .b
                .get(self.at..self.at + n)
                .ok_or_else(|| "record with invalid length".to_string())?;
            self.at += n;
            Ok(s)
        }
        fn u8(&mut self) -> Result<u8, String> {
            Ok(self.take(1)?[0])
        }
        fn u16(&mut self) -> Result<u16, String> {
            Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
        }
        fn u32(&mut self) -> Result<u32, String> {
            Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
        }
    }
    struct Pending {
        block: BlockRef,
        bimg_len: usize,
        bimg_info: u8,
        hole_offset: u16,
        data_len: usize,
    }
    let mut c = Cursor {
        b: rec,
        at: SIZE_OF_XLOG_RECORD,
    };
    let mut pending: Vec<Pending> = Vec::new();
    let mut main_len = 0usize;
    let mut datatotal = 0usize;
    let mut last_id: Option<u8> = None;
    let mut last_rel: Option<RelFileLocator> = None;
    while rec.len() - c.at > datatotal {
        let id = c.u8()?;
        if id == XLR_BLOCK_ID_DATA_SHORT {
            main_len = c.u8()? as usize;
            datatotal += main_len;
            break;
        }
        if id == XLR_BLOCK_ID_DATA_LONG {
            main_len = c.u32()? as usize;
            datatotal += main_len;
            break;
        }
        if id > XLR_MAX_BLOCK_ID {
            return Err(format!("invalid block_id {id}"));
        }
        if last_id.is_some_and(|l| id <= l) {
            return Err(format!("out-of-order block_id {id}"));
        }
        last_id = Some(id);
        let fork_flags = c.u8()?;
        let fork = Fork::from_u8(fork_flags & BKPBLOCK_FORK_MASK)
            .ok_or_else(|| format!("invalid fork number {}", fork_flags & BKPBLOCK_FORK_MASK))?;
        let data_len = c.u16()? as usize;
        let has_data = fork_flags & BKPBLOCK_HAS_DATA != 0;
        if has_data && data_len == 0 {
            return Err("BKPBLOCK_HAS_DATA set, but no data included".into());
        }
        if !has_data && data_len != 0 {
            return Err(format!(
                "BKPBLOCK_HAS_DATA not set, but data length is {data_len}"
            ));
        }
        datatotal += data_len;
        let (mut bimg_len, mut bimg_info, mut hole_offset) = (0usize, 0u8, 0u16);
        let has_image = fork_flags & BKPBLOCK_HAS_IMAGE != 0;
        if has_image {
            bimg_len = c.u16()? as usize;
            hole_offset = c.u16()?;
            bimg_info = c.u8()?;
            if bimg_info & BKPIMAGE_COMPRESS_MASK != 0 {
                return Err("compressed full-page image not supported".into());
            }
            let hole_length = BLCKSZ.saturating_sub(bimg_len);
            let has_hole = bimg_info & BKPIMAGE_HAS_HOLE != 0;
            if bimg_len == 0 || bimg_len > BLCKSZ {
                return Err(format!("invalid block image length {bimg_len}"));
            }
            if has_hole
                && (hole_offset == 0
                    || hole_length == 0
                    || hole_offset as usize + hole_length > BLCKSZ)
            {
                return Err(format!(
                    "BKPIMAGE_HAS_HOLE set, but hole offset {hole_offset} length {hole_length} block image length {bimg_len}"
                ));
            }
            if !has_hole && (hole_offset != 0 || hole_length != 0) {
                return Err(format!(
                    "BKPIMAGE_HAS_HOLE not set, but hole offset {hole_offset} length {hole_length}"
                ));
            }
            datatotal += bimg_len;
        }
        let rel = if fork_flags & BKPBLOCK_SAME_REL != 0 {
            last_rel.ok_or_else(|| "BKPBLOCK_SAME_REL set but no previous rel".to_string())?
        } else {
            RelFileLocator {
                spc: c.u32()?,
                db: c.u32()?,
                rel: c.u32()?,
            }
        };
        last_rel = Some(rel);
        let blkno = c.u32()?;
        pending.push(Pending {
            block: BlockRef {
                id,
                rel,
                fork,
                blkno,
                will_init: fork_flags & BKPBLOCK_WILL_INIT != 0,
                image: None,
                data: Vec::new(),
            },
            bimg_len: if has_image { bimg_len } else { usize::MAX },
            bimg_info,
            hole_offset,
            data_len,
        });
    }
    if rec.len() - c.at != datatotal {
        return Err("record with invalid length".into());
    }
    let mut blocks = Vec::with_capacity(pending.len());
    for mut pb in pending {
        if pb.bimg_len != usize::MAX {
            let bytes = c.take(pb.bimg_len)?;
            let hole_length = BLCKSZ - pb.bimg_len;
            let off = pb.hole_offset as usize;
            let mut pagebuf = Box::new([0u8; BLCKSZ]);
            pagebuf[..off].copy_from_slice(&bytes[..off]);
            pagebuf[off + hole_length..].copy_from_slice(&bytes[off..]);
            pb.block.image = Some(BlockImage {
                page: pagebuf,
                hole_offset: pb.hole_offset,
                hole_length: hole_length as u16,
                apply: pb.bimg_info & BKPIMAGE_APPLY != 0,
            });
        }
        pb.block.data = c.take(pb.data_len)?.to_vec();
        blocks.push(pb.block);
    }
    let main_data = c.take(main_len)?.to_vec();
    Ok(Record {
        rmid: rec[XL_OFF_RMID],
        info: rec[XL_OFF_INFO],
        xid: u64::from_le_bytes(rec[XL_OFF_XID..XL_OFF_XID + 8].try_into().unwrap()),
        blocks,
        main_data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smgr::DEFAULTTABLESPACE_OID;

    const SEG: u64 = DEFAULT_WAL_SEGMENT_SIZE;
    const SYSID: u64 = 7_000_000_000_000_000_001;

    /// xorshift64*: deterministic, so a failing case can be replayed from
    /// its seed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    fn rel(n: u32) -> RelFileLocator {
        RelFileLocator {
            spc: DEFAULTTABLESPACE_OID,
            db: 5,
            rel: 16384 + n,
        }
    }

    fn simple(main: &[u8]) -> Record {
        Record {
            rmid: RM_HEAP_ID,
            info: 0x10,
            xid: 0x1_0000_0005,
            blocks: vec![],
            main_data: main.to_vec(),
        }
    }

    fn heap_page(fill: usize, tag: u8) -> Box<PageBuf> {
        let mut p = Box::new([0u8; BLCKSZ]);
        page::init(&mut p, 0);
        for i in 0..fill {
            page::add_item(
                &mut p,
                &[tag.wrapping_add(i as u8); 40],
                page::AddAt::FirstFree,
                291,
            )
            .unwrap();
        }
        p
    }

    fn random_record(rng: &mut Rng) -> Record {
        let nblocks = rng.below(4) as u8;
        let mut blocks = Vec::new();
        let mut id = 0u8;
        for _ in 0..nblocks {
            id += 1 + rng.below(3) as u8;
            let image = match rng.below(4) {
                0 => Some(BlockImage::of_page(
                    &heap_page(rng.below(150) as usize, rng.next() as u8),
                    true,
                )),
                1 => {
                    let p: Box<PageBuf> = rng.bytes(BLCKSZ).try_into().unwrap();
                    Some(BlockImage::of_page(&p, false))
                }
                _ => None,
            };
            let dlen = [0, 1, 7, 300, 5000][rng.below(5) as usize];
            blocks.push(BlockRef {
                id,
                rel: rel(rng.below(2) as u32),
                fork: Fork::from_u8(rng.below(3) as u8).unwrap(),
                blkno: rng.next() as u32,
                will_init: rng.below(2) == 0,
                image,
                data: rng.bytes(dlen),
            });
        }
        let mlen = match rng.below(6) {
            0 => 0,
            1 => 255,
            2 => 256,
            3 => rng.below(40_000) as usize,
            _ => rng.below(200) as usize,
        };
        Record {
            rmid: rng.below(RM_MAX_ID as u64 + 1) as u8,
            info: rng.next() as u8,
            xid: rng.next(),
            blocks,
            main_data: rng.bytes(mlen),
        }
    }

    #[test]
    fn record_header_layout_and_crc() {
        let rec = simple(b"abc");
        let b = encode_record(&rec, 0x0000_0001_0000_0028).unwrap();
        assert_eq!(b.len(), SIZE_OF_XLOG_RECORD + 2 + 3);
        assert_eq!(
            u32::from_le_bytes(b[0..4].try_into().unwrap()),
            b.len() as u32
        );
        assert_eq!(b[4], 0x10);
        assert_eq!(b[5], RM_HEAP_ID);
        assert_eq!(&b[6..8], &[0, 0]);
        assert_eq!(&b[8..16], &0x1_0000_0005u64.to_le_bytes());
        assert_eq!(&b[16..24], &0x0000_0001_0000_0028u64.to_le_bytes());
        assert_eq!(&b[28..], &[XLR_BLOCK_ID_DATA_SHORT, 3, b'a', b'b', b'c']);
        let crc = crc32c_append(crc32c(&b[28..]), &b[..24]);
        assert_eq!(&b[24..28], &crc.to_le_bytes());
        // Long main data switches to the 4-byte length.
        let b = encode_record(&simple(&[1u8; 256]), 0).unwrap();
        assert_eq!(b[28], XLR_BLOCK_ID_DATA_LONG);
        assert_eq!(&b[29..33], &256u32.to_le_bytes());
        // An empty record is just the header.
        let b = encode_record(&simple(b""), 0).unwrap();
        assert_eq!(b.len(), SIZE_OF_XLOG_RECORD);
    }

    #[test]
    fn block_reference_layout() {
        let img = BlockImage::of_page(&heap_page(3, 1), true);
        assert_eq!(img.hole_offset, 24 + 3 * 4);
        assert_eq!(img.hole_length as usize, BLCKSZ - 3 * 40 - 36);
        let rec = Record {
            rmid: RM_HEAP_ID,
            info: 0,
            xid: 9,
            blocks: vec![
                BlockRef {
                    id: 0,
                    rel: rel(0),
                    fork: Fork::Main,
                    blkno: 7,
                    will_init: false,
                    image: Some(img.clone()),
                    data: vec![0xAB; 2],
                },
                BlockRef {
                    id: 1,
                    rel: rel(0),
                    fork: Fork::Vm,
                    blkno: 8,
                    will_init: true,
                    image: None,
                    data: vec![],
                },
            ],
            main_data: vec![],
        };
        let b = encode_record(&rec, 0).unwrap();
        let h = &b[SIZE_OF_XLOG_RECORD..];
        assert_eq!(h[0], 0);
        assert_eq!(h[1], BKPBLOCK_HAS_IMAGE | BKPBLOCK_HAS_DATA);
        assert_eq!(&h[2..4], &2u16.to_le_bytes());
        let bimg_len = (BLCKSZ - img.hole_length as usize) as u16;
        assert_eq!(&h[4..6], &bimg_len.to_le_bytes());
        assert_eq!(&h[6..8], &img.hole_offset.to_le_bytes());
        assert_eq!(h[8], BKPIMAGE_HAS_HOLE | BKPIMAGE_APPLY);
        assert_eq!(&h[9..13], &1663u32.to_le_bytes());
        assert_eq!(&h[13..17], &5u32.to_le_bytes());
        assert_eq!(&h[17..21], &16384u32.to_le_bytes());
        assert_eq!(&h[21..25], &7u32.to_le_bytes());
        // Second block: same relation, so no locator.
        assert_eq!(h[25], 1);
        assert_eq!(
            h[26],
            Fork::Vm as u8 | BKPBLOCK_WILL_INIT | BKPBLOCK_SAME_REL
        );
        assert_eq!(&h[27..29], &0u16.to_le_bytes());
        assert_eq!(&h[29..33], &8u32.to_le_bytes());
        assert_eq!(b.len(), SIZE_OF_XLOG_RECORD + 33 + bimg_len as usize + 2);
        let back = decode_body(&b).unwrap();
        assert_eq!(back, rec);
        // Encoding refuses ids out of order.
        let mut bad = rec.clone();
        bad.blocks[1].id = 0;
        assert_eq!(
            encode_record(&bad, 0),
            Err(EncodeError::BlockIdsNotIncreasing(0))
        );
    }

    #[test]
    fn segment_file_names() {
        assert_eq!(wal_file_name(1, 0, SEG), "000000010000000000000000");
        assert_eq!(wal_file_name(1, 1, SEG), "000000010000000000000001");
        assert_eq!(wal_file_name(1, 0x1FF, SEG), "0000000100000001000000FF");
        assert_eq!(wal_file_name(0xA, 0x100, SEG), "0000000A0000000100000000");
        // 1 GB segments: four per "log" id.
        assert_eq!(wal_file_name(1, 5, 1 << 30), "000000010000000100000001");
        assert_eq!(segno_of(0x0000_0001_0100_0000, SEG), 0x101);
        for segno in [0u64, 1, 255, 256, 0x1234_5678] {
            let n = wal_file_name(3, segno, SEG);
            assert_eq!(parse_wal_file_name(&n, SEG), Some((3, segno)));
        }
        assert_eq!(parse_wal_file_name("000000010000000000000100", SEG), None);
        assert_eq!(parse_wal_file_name("00000001000000000000000g", SEG), None);
        assert_eq!(parse_wal_file_name("00000001000000000000000a", SEG), None);
        assert_eq!(
            parse_wal_file_name("000000010000000000000001.partial", SEG),
            None
        );
        assert_eq!(lsn_str(0x0000_0001_0000_0028), "1/28");
        assert_eq!(lsn_str(0x16B3D80), "0/16B3D80");
    }

    #[test]
    fn page_headers_and_continuation() {
        let seg = 4 * XLOG_BLCKSZ as u64;
        let start = 3 * seg;
        let mut w = WalWriter::new(start, 0, 1, SYSID, seg);
        let (l1, e1) = w.insert(&simple(&[7u8; 100])).unwrap();
        assert_eq!(l1, start + SIZE_OF_LONG_PAGE_HEADER as u64);
        assert_eq!(e1, l1 + (SIZE_OF_XLOG_RECORD + 2 + 100) as u64);
        // A record longer than a segment: crosses a short and a long header.
        let big = simple(&vec![9u8; 5 * XLOG_BLCKSZ]);
        let (l2, e2) = w.insert(&big).unwrap();
        assert_eq!(l2, maxalign(e1));
        let b = w.bytes();
        let h = |page: u64| &b[(page * XLOG_BLCKSZ as u64) as usize..];
        // First page: long header, no continuation.
        assert_eq!(&h(0)[0..2], &XLOG_PAGE_MAGIC.to_le_bytes());
        assert_eq!(u16::from_le_bytes([h(0)[2], h(0)[3]]), XLP_LONG_HEADER);
        assert_eq!(u64::from_le_bytes(h(0)[8..16].try_into().unwrap()), start);
        assert_eq!(u64::from_le_bytes(h(0)[24..32].try_into().unwrap()), SYSID);
        assert_eq!(
            u32::from_le_bytes(h(0)[32..36].try_into().unwrap()) as u64,
            seg
        );
        assert_eq!(u32::from_le_bytes(h(0)[36..40].try_into().unwrap()), 8192);
        // Second page: short header continuing record 2.
        let tot2 = (SIZE_OF_XLOG_RECORD + 5 + 5 * XLOG_BLCKSZ) as u64;
        let first_part = start + XLOG_BLCKSZ as u64 - l2;
        assert_eq!(
            u16::from_le_bytes([h(1)[2], h(1)[3]]),
            XLP_FIRST_IS_CONTRECORD
        );
        assert_eq!(
            u32::from_le_bytes(h(1)[16..20].try_into().unwrap()) as u64,
            tot2 - first_part
        );
        assert_eq!(
            u64::from_le_bytes(h(1)[8..16].try_into().unwrap()),
            start + XLOG_BLCKSZ as u64
        );
        // Page 4 starts the next segment: a long header with the flag.
        assert_eq!(
            u16::from_le_bytes([h(4)[2], h(4)[3]]),
            XLP_FIRST_IS_CONTRECORD | XLP_LONG_HEADER
        );
        let (l3, _) = w.insert(&simple(b"after")).unwrap();
        assert_eq!(l3, maxalign(e2));
        let got: Vec<_> = WalReader::new(w.bytes(), start, l1, Some(0), 1, SYSID, seg).collect();
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].lsn, got[0].end_lsn, got[0].prev), (l1, e1, 0));
        assert_eq!((got[1].lsn, got[1].end_lsn, got[1].prev), (l2, e2, l1));
        assert_eq!(got[1].record, big);
        assert_eq!(got[2].prev, l2);
        // Stops at the zero padding after the last record.
        let mut r = WalReader::new(w.bytes(), start, l1, None, 1, SYSID, seg);
        for _ in 0..3 {
            r.read_record().unwrap();
        }
        let end = r.read_record().unwrap_err();
        assert!(matches!(end.kind, WalEndKind::EndOfData | WalEndKind::Zero));
        // Asking again gives the same answer.
        assert_eq!(r.read_record().unwrap_err(), end);
    }

    #[test]
    fn record_ending_exactly_at_page_end() {
        let seg = 4 * XLOG_BLCKSZ as u64;
        let mut w = WalWriter::new(0, 0, 1, SYSID, seg);
        let first_len = XLOG_BLCKSZ - SIZE_OF_LONG_PAGE_HEADER - SIZE_OF_XLOG_RECORD - 5;
        let (_, e1) = w.insert(&simple(&vec![1u8; first_len])).unwrap();
        assert_eq!(e1, XLOG_BLCKSZ as u64);
        let (l2, _) = w.insert(&simple(b"x")).unwrap();
        assert_eq!(l2, (XLOG_BLCKSZ + SIZE_OF_SHORT_PAGE_HEADER) as u64);
        let b = w.bytes();
        assert_eq!(
            u16::from_le_bytes([b[XLOG_BLCKSZ + 2], b[XLOG_BLCKSZ + 3]]),
            0
        );
        let n = WalReader::new(b, 0, SIZE_OF_LONG_PAGE_HEADER as u64, None, 1, SYSID, seg).count();
        assert_eq!(n, 2);
    }

    #[test]
    fn end_of_wal_messages() {
        let seg = 4 * XLOG_BLCKSZ as u64;
        let mut w = WalWriter::new(0, 0, 1, SYSID, seg);
        let first = SIZE_OF_LONG_PAGE_HEADER as u64;
        let (_, e1) = w.insert(&simple(b"one")).unwrap();
        let (l2, _) = w.insert(&simple(&[5u8; 9000])).unwrap();
        let mut buf = w.bytes().to_vec();
        buf.resize(3 * XLOG_BLCKSZ, 0);
        let read_end = |buf: &[u8], prev: Option<u64>| {
            let mut r = WalReader::new(buf, 0, first, prev, 1, SYSID, seg);
            while r.read_record().is_ok() {}
            r.read_record().unwrap_err()
        };
        let end = read_end(&buf, None);
        assert_eq!(end.kind, WalEndKind::Zero);
        assert_eq!(
            end.message,
            format!(
                "invalid record length at {}: wanted 28, got 0",
                lsn_str(end.lsn)
            )
        );

        // A flipped byte in record 2's data.
        let mut bad = buf.clone();
        bad[l2 as usize + 100] ^= 0x40;
        let end = read_end(&bad, None);
        assert_eq!(end.lsn, l2);
        assert_eq!(
            end.message,
            "incorrect resource manager data checksum in record at 0/50"
        );
        assert_eq!(l2, 0x50);

        // Record 2's continuation page never written.
        let mut torn = buf.clone();
        torn[XLOG_BLCKSZ..].fill(0);
        let end = read_end(&torn, None);
        assert_eq!(end.lsn, l2);
        assert_eq!(
            end.message,
            "invalid magic number 0000 in WAL segment 000000010000000000000000, offset 8192"
        );

        // A continuation page left over from an older segment.
        let mut stale = buf.clone();
        stale[XLOG_BLCKSZ + 8..XLOG_BLCKSZ + 16].copy_from_slice(&(seg * 7 + 8192).to_le_bytes());
        let end = read_end(&stale, None);
        assert_eq!(
            end.message,
            "unexpected pageaddr 0/3A000 in WAL segment 000000010000000000000000, offset 8192"
        );

        let mut norem = buf.clone();
        norem[XLOG_BLCKSZ + 16] ^= 1;
        assert!(read_end(&norem, None)
            .message
            .starts_with("invalid contrecord length"));

        // Wrong back-pointer on the first record.
        let end = read_end(&buf, Some(0x10));
        assert_eq!(end.message, "record with incorrect prev-link 0/0 at 0/28");

        // Wrong system identifier in the long header.
        let mut other = buf.clone();
        other[PH_OFF_SYSID] ^= 1;
        let end = read_end(&other, None);
        assert!(
            end.message
                .starts_with("WAL file is from different database system"),
            "{}",
            end.message
        );

        // A garbage huge length.
        let mut huge = buf.clone();
        let at = maxalign(e1) as usize;
        huge[at..at + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        let end = read_end(&huge, None);
        assert_eq!(end.message, "record length 2147483647 at 0/50 too long");
        let mut small = buf.clone();
        small[at..at + 4].copy_from_slice(&27u32.to_le_bytes());
        assert_eq!(
            read_end(&small, None).message,
            "invalid record length at 0/50: wanted 28, got 27"
        );
        assert_eq!(read_end(&small, None).kind, WalEndKind::Invalid);
    }

    #[test]
    fn bad_block_headers_end_wal_without_panicking() {
        // A record whose CRC is right but whose body lies: decoding must
        // fail cleanly (a bug elsewhere, or a deliberately forged record).
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let len = rng.below(200) as usize;
            let mut rec = vec![0u8; SIZE_OF_XLOG_RECORD];
            rec.extend(rng.bytes(len));
            // Bias towards plausible block ids and flags.
            if len > 0 && rng.below(2) == 0 {
                rec[SIZE_OF_XLOG_RECORD] = rng.below(34) as u8;
            }
            let _ = decode_body(&rec);
        }
        let mut rec = encode_record(&simple(b"xyz"), 0).unwrap();
        rec[SIZE_OF_XLOG_RECORD] = 33;
        assert_eq!(decode_body(&rec), Err("invalid block_id 33".to_string()));
    }

    /// The heart of end-of-WAL detection: for random records and a random
    /// cut, the reader returns exactly the records that were complete
    /// before the cut, whatever follows it (nothing, zeros, or an older
    /// stream's bytes as in a recycled segment).
    #[test]
    fn property_reader_returns_exactly_the_complete_records() {
        let seg = 8 * XLOG_BLCKSZ as u64;
        for seed in 1..=120u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let start = rng.below(4) * seg + rng.below(8) * XLOG_BLCKSZ as u64;
            let prev0 = start.saturating_sub(64);
            let mut w = WalWriter::new(start, prev0, 1, SYSID, seg);
            let n = 1 + rng.below(25) as usize;
            let mut recs = Vec::new();
            for _ in 0..n {
                let r = random_record(&mut rng);
                let (lsn, end) = w.insert(&r).unwrap();
                recs.push((lsn, end, r));
            }
            let first = recs[0].0;
            let full = w.bytes().to_vec();

            // Everything reads back.
            let got: Vec<_> =
                WalReader::new(&full, start, first, Some(prev0), 1, SYSID, seg).collect();
            assert_eq!(got.len(), n, "seed {seed}");
            for (g, (lsn, end, r)) in got.iter().zip(&recs) {
                assert_eq!((g.lsn, g.end_lsn), (*lsn, *end), "seed {seed}");
                assert_eq!(&g.record, r, "seed {seed}");
            }

            // An older stream, as a recycled segment would hold.
            let mut old = WalWriter::new(start + 40 * seg, 0, 1, SYSID, seg);
            while old.bytes().len() < full.len() + 2 * XLOG_BLCKSZ {
                old.insert(&random_record(&mut rng)).unwrap();
            }

            for _ in 0..15 {
                let cut = rng.below(full.len() as u64 + 1) as usize;
                let complete = recs
                    .iter()
                    .filter(|(_, end, _)| *end <= start + cut as u64)
                    .count();
                let mut zeros = full[..cut].to_vec();
                zeros.resize(full.len() + XLOG_BLCKSZ, 0);
                let mut recycled = full[..cut].to_vec();
                recycled.extend_from_slice(&old.bytes()[cut..]);
                for (what, buf) in [
                    ("cut", &full[..cut]),
                    ("zeros", &zeros[..]),
                    ("recycled", &recycled[..]),
                ] {
                    let mut r = WalReader::new(buf, start, first, Some(prev0), 1, SYSID, seg);
                    let mut count = 0;
                    let end = loop {
                        match r.read_record() {
                            Ok(g) => {
                                assert!(
                                    count < n,
                                    "seed {seed} {what}: read more records than written"
                                );
                                assert_eq!(g.record, recs[count].2, "seed {seed} {what} cut {cut}");
                                count += 1;
                            }
                            Err(e) => break e,
                        }
                    };
                    assert_eq!(
                        count, complete,
                        "seed {seed} {what} cut {cut}: {}",
                        end.message
                    );
                    if count < n {
                        assert_eq!(end.lsn, recs[count].0, "seed {seed} {what} cut {cut}");
                    }
                }
            }

            // One flipped bit anywhere inside a record (its header, data or
            // a page header in its middle) ends the WAL just before it.
            for _ in 0..10 {
                let k = rng.below(n as u64) as usize;
                let (lsn, end, _) = &recs[k];
                let pos = lsn + rng.below(end - lsn);
                let mut bad = full.clone();
                bad[(pos - start) as usize] ^= 1 << rng.below(8);
                let count = WalReader::new(&bad, start, first, Some(prev0), 1, SYSID, seg).count();
                assert_eq!(
                    count,
                    k,
                    "seed {seed}: flip at {} in record {k}",
                    lsn_str(pos)
                );
            }
        }
    }
}
