//! The transaction resource manager: COMMIT and ABORT WAL records, their redo, and the `CommitWal` that a committing backend uses.
//!
//! Why this shape (PostgreSQL's `xactdesc.c` / `RecordTransactionCommit`,
//! with 64-bit xids and without the optional parts tusk does not have yet:
//! invalidations, dropped relations, two-phase, origins):
//!
//! - The top-level xid is the record header's `xl_xid`; the main data holds
//!   the commit (or abort) time and the subtransaction xids decided with
//!   it, so one record settles the whole tree and redo sets all of it.
//! - **Commit order rule**: [`XlogCommit::log_commit`] inserts the record and,
//!   with `synchronous_commit` on, returns only once WAL is flushed past its
//!   end; only then does [`crate::transam::Transam::commit`] set the commit
//!   status. With `synchronous_commit = off` (PostgreSQL's asynchronous
//!   commit) it does not wait: the status is set at once and the record
//!   reaches disk with the next flush (the walwriter, another commit, a
//!   checkpoint). **Risk**: a crash in that window loses the transaction —
//!   after recovery it is aborted although the client saw COMMIT — but
//!   never corrupts anything: its data pages cannot reach disk before its
//!   WAL (the WAL-before-data rule covers the commit record too, since the
//!   record precedes any later page LSN), and a checkpoint flushes all WAL
//!   before it writes pg_xact back. The status is never on disk before
//!   its record: the commit log keeps the record's end as its page's
//!   group LSN and flushes WAL that far before writing the page (evicted
//!   or checkpointed), and no committed hint bit is set before the record
//!   is flushed ([`crate::clogbuffers`]).
//! - An abort record is never waited for: a lost abort is still an abort.
//! - Redo (startup process only) hands each decided tree to an
//!   [`XactRedo`] (the server's: set the commit log, advance the xid
//!   counter) and always moves [`RedoCtx::next_xid`] past the xids.
//!
//! ```text
//! COMMIT (rmgr 1, info 0x00) / ABORT (rmgr 1, info 0x20); xl_xid = top xid
//! main data, little endian:
//!   offset size field
//!        0    8 xact_time   i64, microseconds since 2000-01-01 (TimestampTz)
//!        8    4 nsubxacts   u32
//!       12    4 (zero)
//!       16  8*n subxids     u64 each
//! ```

use crate::clog::{XidStatus, FIRST_NORMAL_TRANSACTION_ID};
use crate::lwlock::LwProcs;
use crate::transam::CommitWal;
use crate::wal::{lsn_str, DecodedRecord, RM_XACT_ID};
use crate::xlog::{RedoCtx, Xlog};
use tusk_common::{PgError, Severity};

/// Record types of the xact resource manager (PostgreSQL's values).
pub const XLOG_XACT_COMMIT: u8 = 0x00;
pub const XLOG_XACT_ABORT: u8 = 0x20;

const OFF_TIME: usize = 0;
const OFF_NSUB: usize = 8;
const OFF_SUBXIDS: usize = 16;

/// A decoded COMMIT or ABORT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XactRecord {
    pub committed: bool,
    pub xid: u64,
    pub time: i64,
    pub subxids: Vec<u64>,
}

/// The main data of a COMMIT or ABORT record.
pub fn encode(time: i64, subxids: &[u64]) -> Vec<u8> {
    let mut d = Vec::with_capacity(OFF_SUBXIDS + 8 * subxids.len());
    d.extend_from_slice(&time.to_le_bytes());
    d.extend_from_slice(&(subxids.len() as u32).to_le_bytes());
    d.extend_from_slice(&[0; 4]);
    for x in subxids {
        d.extend_from_slice(&x.to_le_bytes());
    }
    d
}

/// Decodes a record of the xact rmgr; an error names what is wrong.
pub fn decode(r: &DecodedRecord) -> Result<XactRecord, String> {
    let committed = match r.record.info & 0xF0 {
        XLOG_XACT_COMMIT => true,
        XLOG_XACT_ABORT => false,
        other => return Err(format!("xact_redo: unknown op code {other}")),
    };
    let d = &r.record.main_data;
    let bad = || format!("invalid transaction record at {}", lsn_str(r.lsn));
    if d.len() < OFF_SUBXIDS {
        return Err(bad());
    }
    let time = i64::from_le_bytes(d[OFF_TIME..OFF_TIME + 8].try_into().unwrap());
    let n = u32::from_le_bytes(d[OFF_NSUB..OFF_NSUB + 4].try_into().unwrap()) as usize;
    if d.len() != OFF_SUBXIDS + 8 * n || r.record.xid < FIRST_NORMAL_TRANSACTION_ID {
        return Err(bad());
    }
    let subxids = d[OFF_SUBXIDS..]
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    Ok(XactRecord {
        committed,
        xid: r.record.xid,
        time,
        subxids,
    })
}

/// What redo of a decided transaction does to shared memory: record its
/// fate in the commit log and move the xid counter past it. The server
/// implements it over `Clog` and `Transam`; startup process only.
pub trait XactRedo {
    fn replay(&self, xid: u64, subxids: &[u64], status: XidStatus) -> Result<(), PgError>;
}

/// Redo of COMMIT and ABORT (an entry of [`crate::xlog::RMGRS`]).
pub fn xact_redo(r: &DecodedRecord, ctx: &mut RedoCtx<'_>) -> Result<(), String> {
    let rec = decode(r)?;
    let top = rec.subxids.iter().copied().fold(rec.xid, u64::max);
    ctx.next_xid = ctx.next_xid.max(top + 1);
    if let Some(sink) = ctx.xact {
        let status = if rec.committed {
            XidStatus::Committed
        } else {
            XidStatus::Aborted
        };
        sink.replay(rec.xid, &rec.subxids, status)
            .map_err(|e| e.message)?;
    }
    Ok(())
}

/// [`CommitWal`] over this process's WAL handle: what the committing
/// backend passes to [`crate::transam::Transam::commit`] / `abort`.
/// `synchronous` is the session's `synchronous_commit` (anything but
/// `off`; tusk has no standbys, so local, remote_* and on are the same).
pub struct XlogCommit<'a, P: LwProcs> {
    pub xlog: &'a Xlog<P>,
    pub synchronous: bool,
    /// The commit or abort time to record (microseconds since 2000-01-01).
    pub now: i64,
}

impl<P: LwProcs> CommitWal for XlogCommit<'_, P> {
    fn log_commit(&self, xid: u64, subxids: &[u64]) -> Result<u64, PgError> {
        let end = self
            .xlog
            .xlog_insert(
                RM_XACT_ID,
                XLOG_XACT_COMMIT,
                xid,
                &encode(self.now, subxids),
                vec![],
            )
            .map_err(|e| e.to_pg_error(Severity::Error))?;
        if self.synchronous {
            // A failed WAL flush leaves written-but-unsynced bytes whose
            // fate is unknown: PostgreSQL PANICs here.
            self.xlog
                .flush(end)
                .map_err(|e| e.to_pg_error(Severity::Panic))?;
            return Ok(0);
        }
        Ok(end)
    }

    fn log_abort(&self, xid: u64, subxids: &[u64]) -> Result<(), PgError> {
        self.xlog
            .xlog_insert(
                RM_XACT_ID,
                XLOG_XACT_ABORT,
                xid,
                &encode(self.now, subxids),
                vec![],
            )
            .map(|_| ())
            .map_err(|e| e.to_pg_error(Severity::Error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::Record;
    use std::cell::RefCell;

    fn rec(info: u8, xid: u64, data: Vec<u8>) -> DecodedRecord {
        DecodedRecord {
            lsn: 0x1000,
            end_lsn: 0x1040,
            prev: 0,
            record: Record {
                rmid: RM_XACT_ID,
                info,
                xid,
                blocks: vec![],
                main_data: data,
            },
        }
    }

    #[test]
    fn commit_and_abort_round_trip() {
        let r = rec(XLOG_XACT_COMMIT, 700, encode(12345, &[701, 703]));
        assert_eq!(
            decode(&r).unwrap(),
            XactRecord {
                committed: true,
                xid: 700,
                time: 12345,
                subxids: vec![701, 703]
            }
        );
        let r = rec(XLOG_XACT_ABORT, 1 << 40, encode(-5, &[]));
        let d = decode(&r).unwrap();
        assert!(!d.committed);
        assert_eq!((d.xid, d.time, d.subxids.len()), (1 << 40, -5, 0));
    }

    #[test]
    fn malformed_records_are_refused() {
        // Short, wrong count, unknown op, special xid: all errors, no panic.
        assert!(decode(&rec(XLOG_XACT_COMMIT, 700, vec![0; 8])).is_err());
        let mut d = encode(1, &[701]);
        d.truncate(d.len() - 1);
        assert!(decode(&rec(XLOG_XACT_COMMIT, 700, d)).is_err());
        let mut d = encode(1, &[]);
        d[OFF_NSUB] = 200;
        assert!(decode(&rec(XLOG_XACT_COMMIT, 700, d)).is_err());
        assert!(decode(&rec(0x40, 700, encode(1, &[]))).is_err());
        assert!(decode(&rec(XLOG_XACT_COMMIT, 2, encode(1, &[]))).is_err());
    }

    struct Sink(RefCell<Vec<(u64, Vec<u64>, XidStatus)>>);
    impl XactRedo for Sink {
        fn replay(&self, xid: u64, subxids: &[u64], status: XidStatus) -> Result<(), PgError> {
            self.0.borrow_mut().push((xid, subxids.to_vec(), status));
            Ok(())
        }
    }

    #[test]
    fn redo_sets_statuses_and_advances_next_xid() {
        let sink = Sink(RefCell::new(vec![]));
        let mut ctx = RedoCtx {
            next_xid: 500,
            xact: Some(&sink),
            ..Default::default()
        };
        xact_redo(
            &rec(XLOG_XACT_COMMIT, 600, encode(1, &[650, 620])),
            &mut ctx,
        )
        .unwrap();
        assert_eq!(ctx.next_xid, 651);
        xact_redo(&rec(XLOG_XACT_ABORT, 550, encode(1, &[])), &mut ctx).unwrap();
        assert_eq!(ctx.next_xid, 651);
        assert_eq!(
            *sink.0.borrow(),
            vec![
                (600, vec![650, 620], XidStatus::Committed),
                (550, vec![], XidStatus::Aborted)
            ]
        );
        // Without a sink (a WAL-only test) the counter still moves.
        let mut ctx = RedoCtx::default();
        xact_redo(&rec(XLOG_XACT_ABORT, 900, encode(1, &[])), &mut ctx).unwrap();
        assert_eq!(ctx.next_xid, 901);
    }
}
