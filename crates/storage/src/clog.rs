//! The commit log (`pg_xact/`) page format: two status bits per transaction id, addressed by 64-bit xid.
//!
//! Why PostgreSQL's format: a transaction's fate is one of four states and
//! must be answerable for any xid still present in a tuple, so two bits per
//! xid in dense pages (32768 xids per 8 kB page) keep the whole working set
//! of recent transactions in a few shared buffers. Pages carry no header
//! (an SLRU page is pure payload; WAL protects it, not a checksum). The
//! bit layout is PostgreSQL's, which the tests check against a page written
//! by PostgreSQL 15.
//!
//! 64-bit xids (issue 9) change only the arithmetic width: page numbers are
//! u64, there is no wraparound, so "older than" is plain `<` and truncation
//! removes segments wholly below the oldest xid still needed. Segment files
//! hold 32 pages (256 kB) as in PostgreSQL, and are named with 15 hex
//! digits (PostgreSQL 17's "long segment names") because 4 digits cover
//! only 2^36 xids.
//!
//! ```text
//! xid → page   = xid / 32768            (CLOG_XACTS_PER_PAGE)
//!       byte   = (xid % 32768) / 4      (CLOG_XACTS_PER_BYTE)
//!       shift  = (xid % 4) * 2          (CLOG_BITS_PER_XACT)
//!       status = (page[byte] >> shift) & 0b11
//!
//! one byte: bits 7..6   5..4   3..2   1..0
//!           xid 4k+3  4k+2   4k+1   4k
//!
//! status:   00 in progress (or never used)  01 committed
//!           10 aborted                       11 sub-committed (a committed
//!              subtransaction whose parent's fate is being written)
//!
//! file:     pg_xact/<segment, 15 hex digits>, segment = page / 32,
//!           page p at byte (p % 32) * 8192 of its segment
//! ```
//!
//! Who may call: any process. Once the shared commit-status cache exists
//! (issue 9 item 3) a reader holds its buffer's lock in share mode and a
//! writer (the committing backend, or the startup process replaying WAL)
//! holds it exclusively; these functions take no lock themselves.

use tusk_common::error::PgError;
use tusk_common::sqlstate;

use crate::page::BLCKSZ;

pub const CLOG_BITS_PER_XACT: u64 = 2;
pub const CLOG_XACTS_PER_BYTE: u64 = 4;
pub const CLOG_XACTS_PER_PAGE: u64 = BLCKSZ as u64 * CLOG_XACTS_PER_BYTE;
pub const CLOG_XACT_BITMASK: u8 = (1 << CLOG_BITS_PER_XACT) - 1;
pub const SLRU_PAGES_PER_SEGMENT: u64 = 32;
pub const CLOG_XACTS_PER_SEGMENT: u64 = CLOG_XACTS_PER_PAGE * SLRU_PAGES_PER_SEGMENT;

/// Transaction ids with a fixed meaning, PostgreSQL's: 0 is no
/// transaction, 1 the bootstrap transaction (always committed), 2 "frozen"
/// (committed and visible to all); normal ids start at 3.
pub const INVALID_TRANSACTION_ID: u64 = 0;
pub const BOOTSTRAP_TRANSACTION_ID: u64 = 1;
pub const FROZEN_TRANSACTION_ID: u64 = 2;
pub const FIRST_NORMAL_TRANSACTION_ID: u64 = 3;

const _: () = assert!(CLOG_XACTS_PER_PAGE == 32768);
const _: () = assert!(CLOG_BITS_PER_XACT * CLOG_XACTS_PER_BYTE == 8);
const _: () = assert!(CLOG_XACTS_PER_SEGMENT == 1 << 20);
// The highest segment number of a 64-bit xid fits 15 hex digits.
const _: () = assert!((u64::MAX / CLOG_XACTS_PER_SEGMENT) < (1 << 60));

/// A transaction's recorded fate (PostgreSQL's XidStatus values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum XidStatus {
    InProgress = 0,
    Committed = 1,
    Aborted = 2,
    SubCommitted = 3,
}

impl XidStatus {
    fn from_bits(b: u8) -> XidStatus {
        match b & CLOG_XACT_BITMASK {
            0 => XidStatus::InProgress,
            1 => XidStatus::Committed,
            2 => XidStatus::Aborted,
            _ => XidStatus::SubCommitted,
        }
    }
}

/// A clog page: 8 kB of status bits, no header.
pub type ClogPage = [u8; BLCKSZ];

/// Page number holding `xid`'s status.
pub fn page_of(xid: u64) -> u64 {
    xid / CLOG_XACTS_PER_PAGE
}

/// Byte within its page.
pub fn byte_of(xid: u64) -> usize {
    ((xid % CLOG_XACTS_PER_PAGE) / CLOG_XACTS_PER_BYTE) as usize
}

/// Bit shift within that byte.
pub fn shift_of(xid: u64) -> u32 {
    ((xid % CLOG_XACTS_PER_BYTE) * CLOG_BITS_PER_XACT) as u32
}

/// Segment file holding page `page`, and the page's byte offset in it.
pub fn segment_of_page(page: u64) -> (u64, u64) {
    (
        page / SLRU_PAGES_PER_SEGMENT,
        (page % SLRU_PAGES_PER_SEGMENT) * BLCKSZ as u64,
    )
}

/// File name of segment `segno` under `pg_xact/`.
pub fn segment_file_name(segno: u64) -> String {
    format!("{segno:015X}")
}

/// First xid whose status lives in page `page`.
pub fn first_xid_of_page(page: u64) -> u64 {
    page * CLOG_XACTS_PER_PAGE
}

/// Can segment `segno` be removed when no xid below `oldest_xid` can be
/// asked about any more? Only when every xid it covers is older.
pub fn segment_removable(segno: u64, oldest_xid: u64) -> bool {
    (segno + 1)
        .checked_mul(CLOG_XACTS_PER_SEGMENT)
        .is_some_and(|end| end <= oldest_xid)
}

/// Status of `xid` in its page (the caller picked the page with [`page_of`]).
pub fn get_status(page: &ClogPage, xid: u64) -> XidStatus {
    XidStatus::from_bits(page[byte_of(xid)] >> shift_of(xid))
}

/// Record `status` for `xid`. Only PostgreSQL's transitions are allowed:
/// from in progress to anything, from sub-committed to committed or
/// aborted, and setting the same status again (WAL replay does). Anything
/// else (say, committed → aborted) would rewrite history and is refused.
pub fn set_status(page: &mut ClogPage, xid: u64, status: XidStatus) -> Result<(), PgError> {
    let cur = get_status(page, xid);
    let allowed = cur == status
        || cur == XidStatus::InProgress
        || (cur == XidStatus::SubCommitted && status != XidStatus::InProgress);
    if !allowed {
        return Err(PgError::error(
            sqlstate::INTERNAL_ERROR,
            format!("cannot change status of transaction {xid} from {cur:?} to {status:?}"),
        ));
    }
    let (b, s) = (byte_of(xid), shift_of(xid));
    page[b] = (page[b] & !(CLOG_XACT_BITMASK << s)) | ((status as u8) << s);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG_XACT: &[u8; BLCKSZ] = include_bytes!("../testdata/pg15_pg_xact_page0.bin");

    /// Page 0 of pg_xact/0000 from a PostgreSQL 15 cluster after: xids
    /// 725, 727, ..., 737 committed; 726, 728, ..., 736 rolled back; 738 a
    /// released savepoint's subtransaction of 737 (committed), 739 a
    /// rolled-back savepoint (aborted), 740 a session that exited inside
    /// its transaction (aborted), 741 committed, 742 never used.
    #[test]
    fn reads_postgres_15_pg_xact() {
        let p = PG_XACT;
        for xid in (725..=737).step_by(2) {
            assert_eq!(get_status(p, xid), XidStatus::Committed, "xid {xid}");
        }
        for xid in (726..=736).step_by(2) {
            assert_eq!(get_status(p, xid), XidStatus::Aborted, "xid {xid}");
        }
        assert_eq!(get_status(p, 738), XidStatus::Committed);
        assert_eq!(get_status(p, 739), XidStatus::Aborted);
        assert_eq!(get_status(p, 740), XidStatus::Aborted);
        assert_eq!(get_status(p, 741), XidStatus::Committed);
        assert_eq!(get_status(p, 742), XidStatus::InProgress);
        // initdb's transactions all committed; ids 0..=2 are never set.
        for xid in 3..725 {
            assert_eq!(get_status(p, xid), XidStatus::Committed, "xid {xid}");
        }
        for xid in 0..3 {
            assert_eq!(get_status(p, xid), XidStatus::InProgress);
        }
        // Writing the same history into an empty page gives the same bytes.
        let mut ours = [0u8; BLCKSZ];
        for xid in 3..=742 {
            set_status(&mut ours, xid, get_status(p, xid)).unwrap();
        }
        assert_eq!(&ours[..], &p[..]);
    }

    #[test]
    fn addressing() {
        assert_eq!((page_of(0), byte_of(0), shift_of(0)), (0, 0, 0));
        assert_eq!((page_of(5), byte_of(5), shift_of(5)), (0, 1, 2));
        assert_eq!(
            (page_of(32767), byte_of(32767), shift_of(32767)),
            (0, 8191, 6)
        );
        assert_eq!((page_of(32768), byte_of(32768), shift_of(32768)), (1, 0, 0));
        // Beyond 2^32: no wraparound, the page number just keeps growing.
        let x = (1u64 << 32) + 6;
        assert_eq!(page_of(x), 1 << 17);
        assert_eq!((byte_of(x), shift_of(x)), (1, 4));
        assert_eq!(page_of(u64::MAX), u64::MAX / 32768);
        assert_eq!((byte_of(u64::MAX), shift_of(u64::MAX)), (8191, 6));
        assert_eq!(segment_of_page(0), (0, 0));
        assert_eq!(segment_of_page(33), (1, 8192));
        assert_eq!(segment_file_name(0), "000000000000000");
        assert_eq!(segment_file_name(page_of(1 << 32) / 32), "000000000001000");
        assert_eq!(
            segment_file_name(u64::MAX / CLOG_XACTS_PER_SEGMENT),
            "0000FFFFFFFFFFF"
        );
        assert_eq!(first_xid_of_page(3), 98304);
    }

    #[test]
    fn set_and_get_every_position() {
        let mut p = [0u8; BLCKSZ];
        let base = (1u64 << 40) + 7 * CLOG_XACTS_PER_PAGE;
        let status = |i: u64| {
            [
                XidStatus::Committed,
                XidStatus::Aborted,
                XidStatus::SubCommitted,
            ][(i % 3) as usize]
        };
        for i in 0..CLOG_XACTS_PER_PAGE {
            set_status(&mut p, base + i, status(i)).unwrap();
        }
        for i in 0..CLOG_XACTS_PER_PAGE {
            assert_eq!(get_status(&p, base + i), status(i), "xid {}", base + i);
        }
        // Setting one xid leaves its three neighbours alone.
        let mut q = [0u8; BLCKSZ];
        set_status(&mut q, 10, XidStatus::Aborted).unwrap();
        assert_eq!(q[2], 0b0010_0000);
        set_status(&mut q, 11, XidStatus::SubCommitted).unwrap();
        set_status(&mut q, 11, XidStatus::Committed).unwrap();
        assert_eq!(q[2], 0b0110_0000);
        assert_eq!(get_status(&q, 8), XidStatus::InProgress);
    }

    #[test]
    fn transitions() {
        let mut p = [0u8; BLCKSZ];
        set_status(&mut p, 100, XidStatus::Committed).unwrap();
        set_status(&mut p, 100, XidStatus::Committed).unwrap();
        let e = set_status(&mut p, 100, XidStatus::Aborted).unwrap_err();
        assert_eq!(
            e.message,
            "cannot change status of transaction 100 from Committed to Aborted"
        );
        assert!(set_status(&mut p, 100, XidStatus::InProgress).is_err());
        set_status(&mut p, 101, XidStatus::SubCommitted).unwrap();
        assert!(set_status(&mut p, 101, XidStatus::InProgress).is_err());
        set_status(&mut p, 101, XidStatus::Aborted).unwrap();
        assert!(set_status(&mut p, 101, XidStatus::Committed).is_err());
        assert_eq!(get_status(&p, 100), XidStatus::Committed);
        assert_eq!(get_status(&p, 101), XidStatus::Aborted);
    }

    #[test]
    fn truncation_boundary() {
        assert!(!segment_removable(0, CLOG_XACTS_PER_SEGMENT - 1));
        assert!(segment_removable(0, CLOG_XACTS_PER_SEGMENT));
        assert!(!segment_removable(1, CLOG_XACTS_PER_SEGMENT));
        assert!(segment_removable(4095, 1 << 32));
        assert!(!segment_removable(4096, 1 << 32));
        assert!(!segment_removable(
            u64::MAX / CLOG_XACTS_PER_SEGMENT,
            u64::MAX
        ));
    }
}
