//! Sequences on disk: the one-tuple page of a sequence relation (last_value, log_cnt, is_called), nextval's arithmetic, and the Sequence WAL record (rmgr 15) with its redo.
//!
//! Why this shape (PostgreSQL's sequence.c):
//! - **One heap page, one tuple, changed in place.** A sequence relation
//!   (relkind 'S') holds a single tuple in block 0 whose xmin is the
//!   bootstrap xid with the committed hint, so every snapshot sees it and
//!   no transaction owns it. nextval overwrites its data under the
//!   buffer's exclusive content lock: that lock is what serialises nextval
//!   across backends, and the change is not undone by a rollback
//!   (sequences are nontransactional, as in PostgreSQL).
//! - **WAL ahead of use.** A change is logged as XLOG_SEQ_LOG carrying the
//!   whole tuple as it must be after redo. nextval logs only every
//!   [`SEQ_LOG_VALS`] values, and the logged tuple is already that far
//!   ahead (`last_value` = the last value the log covers, log_cnt 0): after
//!   a crash redo installs it, so the next value is past every value handed
//!   out before. It logs again at the first call after a checkpoint moved
//!   the redo pointer past the page's LSN, since redo starts there. The
//!   caller flushes the record before the value leaves the server.
//! - The record's block is `will_init`: redo rebuilds the page from the
//!   tuple alone (no image is needed, a torn page is simply replaced).
//!
//! Who may call: [`init_page`], [`update`] and [`read`] a backend holding
//! the sequence's relation (the buffer lock does the rest); [`seq_redo`]
//! the startup process only.

use tusk_common::{sqlstate, PgError, Severity};
use tusk_types::types;
use tusk_types::value::Value;

use crate::bufmgr::BufMgr;
use crate::catalog::BOOTSTRAP_XID;
use crate::datum;
use crate::heaptuple::{self, ItemPointer, MAX_HEAP_TUPLES_PER_PAGE};
use crate::heapwal::{redo_block, Blk, XlogHeapWal};
use crate::lwlock::{LwMode, LwProcs};
use crate::page::{self, AddAt};
use crate::smgr::{Fork, RelFileLocator};
use crate::wal::DecodedRecord;
use crate::xact::{Release, ResourceOwner};
use crate::xlog::RedoCtx;

/// PostgreSQL's RM_SEQ_ID.
pub const RM_SEQ_ID: u8 = 15;
/// PostgreSQL's XLOG_SEQ_LOG: the sequence tuple as it is after the record.
pub const XLOG_SEQ_LOG: u8 = 0x00;
/// Values nextval hands out per WAL record (PostgreSQL's SEQ_LOG_VALS).
pub const SEQ_LOG_VALS: i64 = 32;

/// The column types of a sequence relation: last_value, log_cnt, is_called.
pub const SEQ_COLUMN_TYPES: [types::Oid; 3] = [types::INT8, types::INT8, types::BOOL];
/// Their names, as pg_attribute lists them.
pub const SEQ_COLUMN_NAMES: [&str; 3] = ["last_value", "log_cnt", "is_called"];

/// The data of the sequence tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqTuple {
    pub last_value: i64,
    pub log_cnt: i64,
    pub is_called: bool,
}

/// A sequence's parameters (its pg_sequence row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqParams {
    pub start: i64,
    pub increment: i64,
    pub max: i64,
    pub min: i64,
    pub cache: i64,
    pub cycle: bool,
}

/// The outcome of one nextval on the page: the value returned, the last
/// value this backend may hand out from its own cache without coming
/// back (`cached`), the tuple to store, and the tuple to log (when a log
/// is due).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextOutcome {
    pub result: i64,
    pub cached: i64,
    pub store: SeqTuple,
    pub log: Option<SeqTuple>,
}

fn limit_error(name: &str, max: bool, v: i64) -> PgError {
    PgError::error(
        sqlstate::SqlState::new("2200H"),
        format!(
            "nextval: reached {} value of sequence \"{name}\" ({v})",
            if max { "maximum" } else { "minimum" }
        ),
    )
}

/// PostgreSQL's nextval_internal arithmetic over the stored tuple:
/// fetches up to `cache` values, logging [`SEQ_LOG_VALS`] ahead when the
/// log is used up, the tuple was never called, or `force_log` (a
/// checkpoint passed since the page was last logged). Pure: the caller
/// stores and logs. 2200H at a limit without CYCLE.
pub fn next_values(
    p: &SeqParams,
    cur: SeqTuple,
    name: &str,
    force_log: bool,
) -> Result<NextOutcome, PgError> {
    let incby = p.increment;
    let cache = p.cache.max(1);
    let mut fetch = cache;
    let mut log = cur.log_cnt;
    let mut next = cur.last_value;
    let mut result = next;
    let mut last = next;
    let mut rescnt: i64 = 0;
    if !cur.is_called {
        rescnt += 1;
        fetch -= 1;
    }
    let mut logit = false;
    if log < fetch || !cur.is_called || force_log {
        fetch += SEQ_LOG_VALS;
        log = fetch;
        logit = true;
    }
    while fetch > 0 {
        if incby > 0 {
            let over = if p.max >= 0 {
                next > p.max - incby
            } else {
                next + incby > p.max
            };
            if over {
                if rescnt > 0 {
                    break;
                }
                if !p.cycle {
                    return Err(limit_error(name, true, p.max));
                }
                next = p.min;
            } else {
                next += incby;
            }
        } else {
            let under = if p.min < 0 {
                next < p.min - incby
            } else {
                next + incby < p.min
            };
            if under {
                if rescnt > 0 {
                    break;
                }
                if !p.cycle {
                    return Err(limit_error(name, false, p.min));
                }
                next = p.max;
            } else {
                next += incby;
            }
        }
        fetch -= 1;
        if rescnt < cache {
            log -= 1;
            rescnt += 1;
            last = next;
            if rescnt == 1 {
                result = next;
            }
        }
    }
    log -= fetch;
    Ok(NextOutcome {
        result,
        cached: last,
        store: SeqTuple {
            last_value: last,
            log_cnt: log,
            is_called: true,
        },
        log: logit.then_some(SeqTuple {
            last_value: next,
            log_cnt: 0,
            is_called: true,
        }),
    })
}

/// The stored tuple: a heap tuple of the three columns with xmin the
/// bootstrap xid, committed, never deleted, pointing at itself (0,1).
pub fn tuple_bytes(s: SeqTuple) -> Result<Vec<u8>, PgError> {
    let mut t = datum::form_row(
        &SEQ_COLUMN_TYPES,
        &[
            Value::Int8(s.last_value),
            Value::Int8(s.log_cnt),
            Value::Bool(s.is_called),
        ],
    )?;
    heaptuple::set_xmin(&mut t, BOOTSTRAP_XID);
    heaptuple::set_xmax(&mut t, 0);
    heaptuple::set_cid(&mut t, 0);
    let m = heaptuple::infomask(&t) | heaptuple::HEAP_XMIN_COMMITTED | heaptuple::HEAP_XMAX_INVALID;
    heaptuple::set_infomask(&mut t, m);
    heaptuple::set_ctid(
        &mut t,
        ItemPointer {
            block: 0,
            offset: 1,
        },
    );
    Ok(t)
}

fn parse_tuple(t: &[u8]) -> Result<SeqTuple, PgError> {
    let v = datum::deform_row(t, &SEQ_COLUMN_TYPES)?;
    match v.as_slice() {
        [Value::Int8(a), Value::Int8(b), Value::Bool(c)] => Ok(SeqTuple {
            last_value: *a,
            log_cnt: *b,
            is_called: *c,
        }),
        _ => Err(bad_page()),
    }
}

fn bad_page() -> PgError {
    PgError::error(
        sqlstate::DATA_CORRUPTED,
        "bad magic number in sequence: its page holds no sequence tuple",
    )
}

/// Makes `page` a heap page holding only the sequence tuple `s`.
fn fill_page(page: &mut page::PageBuf, tuple: &[u8]) -> Result<(), PgError> {
    heaptuple::init_heap_page(page);
    page::add_item(page, tuple, AddAt::FirstFree, MAX_HEAP_TUPLES_PER_PAGE)
        .map_err(|e| e.to_pg_error())?;
    Ok(())
}

fn log_tuple<P: LwProcs>(
    wal: &XlogHeapWal<'_, P>,
    rel: RelFileLocator,
    page: &page::PageBuf,
    tuple: Vec<u8>,
) -> u64 {
    let mut main = Vec::with_capacity(12);
    main.extend_from_slice(&rel.spc.to_le_bytes());
    main.extend_from_slice(&rel.db.to_le_bytes());
    main.extend_from_slice(&rel.rel.to_le_bytes());
    wal.log(
        RM_SEQ_ID,
        XLOG_SEQ_LOG,
        0,
        main,
        vec![Blk {
            id: 0,
            rel,
            blkno: 0,
            page,
            will_init: true,
            force_image: false,
            data: tuple,
        }],
    )
}

fn flush<P: LwProcs>(wal: &XlogHeapWal<'_, P>, lsn: u64) -> Result<(), PgError> {
    wal.0.flush(lsn).map_err(|e| e.to_pg_error(Severity::Error))
}

/// CREATE SEQUENCE's first page: block 0 added to the (new, empty) main
/// fork holding `s`, logged and flushed. The backend creating the
/// sequence, which holds its new relation alone.
pub fn init_page<P: LwProcs>(
    bm: &BufMgr,
    wal: &XlogHeapWal<'_, P>,
    rel: RelFileLocator,
    s: SeqTuple,
) -> Result<(), PgError> {
    let tuple = tuple_bytes(s)?;
    let mut owner = ResourceOwner::default();
    let r = (|| {
        let pin = bm.extend(&mut owner, rel, Fork::Main)?;
        let mut l = bm.lock(&pin, LwMode::Exclusive);
        fill_page(l.page_mut(), &tuple)?;
        let end = log_tuple(wal, rel, l.page(), tuple.clone());
        page::set_lsn(l.page_mut(), end);
        l.mark_dirty();
        drop(l);
        Ok(end)
    })();
    owner.release_all(Release::Abort);
    flush(wal, r?)
}

/// Reads the sequence tuple under a share lock (SELECT * FROM s, currval
/// checks). Any backend.
pub fn read(bm: &BufMgr, rel: RelFileLocator) -> Result<SeqTuple, PgError> {
    let mut owner = ResourceOwner::default();
    let r = (|| {
        let pin = bm.read_buffer(&mut owner, rel, Fork::Main, 0)?;
        let l = bm.lock(&pin, LwMode::Shared);
        let t = page::get_item(l.page(), 1).ok_or_else(bad_page)?;
        parse_tuple(t)
    })();
    owner.release_all(Release::Abort);
    r
}

/// Changes the sequence tuple in place under the buffer's exclusive
/// content lock: `f` gets the stored tuple and whether a checkpoint
/// passed since the page was last logged, and returns its result, the
/// tuple to store, and the tuple to log (`None`: no record). The record
/// is flushed after the lock is released and before this returns, so a
/// value computed under it never leaves the server unlogged. Any backend
/// holding the sequence; concurrent callers queue on the content lock.
pub fn update<P: LwProcs, R>(
    bm: &BufMgr,
    wal: &XlogHeapWal<'_, P>,
    rel: RelFileLocator,
    f: impl FnOnce(SeqTuple, bool) -> Result<(R, SeqTuple, Option<SeqTuple>), PgError>,
) -> Result<R, PgError> {
    let mut owner = ResourceOwner::default();
    let r = (|| {
        let pin = bm.read_buffer(&mut owner, rel, Fork::Main, 0)?;
        let mut l = bm.lock(&pin, LwMode::Exclusive);
        let cur = parse_tuple(page::get_item(l.page(), 1).ok_or_else(bad_page)?)?;
        let checkpoint_passed = page::lsn(l.page()) <= wal.0.redo_rec_ptr();
        let (out, store, log) = f(cur, checkpoint_passed)?;
        let mut lsn = None;
        if let Some(lt) = log {
            // The page holds the logged tuple while the record is built
            // (redo writes exactly it), then the tuple to keep.
            let logged = tuple_bytes(lt)?;
            fill_page(l.page_mut(), &logged)?;
            let end = log_tuple(wal, rel, l.page(), logged);
            page::set_lsn(l.page_mut(), end);
            lsn = Some(end);
        }
        let keep = tuple_bytes(store)?;
        let item = page::get_item_mut(l.page_mut(), 1).ok_or_else(bad_page)?;
        if item.len() != keep.len() {
            return Err(bad_page());
        }
        item.copy_from_slice(&keep);
        l.mark_dirty();
        drop(l);
        Ok((out, lsn))
    })();
    owner.release_all(Release::Abort);
    let (out, lsn) = r?;
    if let Some(end) = lsn {
        flush(wal, end)?;
    }
    Ok(out)
}

/// Redo of XLOG_SEQ_LOG: block 0 rebuilt from the logged tuple. Startup
/// process.
pub fn seq_redo(r: &DecodedRecord, ctx: &mut RedoCtx<'_>) -> Result<(), String> {
    if r.record.info & 0xF0 != XLOG_SEQ_LOG {
        return Err(format!(
            "seq_redo: unknown op code {}",
            r.record.info & 0xF0
        ));
    }
    redo_block(ctx, r, 0, |p, data| {
        if parse_tuple(data).is_err() {
            return Err("invalid sequence record".to_string());
        }
        fill_page(p, data).map_err(|e| e.message.clone())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> SeqParams {
        SeqParams {
            start: 1,
            increment: 1,
            max: 3,
            min: 1,
            cache: 1,
            cycle: false,
        }
    }

    #[test]
    fn first_call_returns_start_and_logs_ahead() {
        let s = SeqTuple {
            last_value: 1,
            log_cnt: 0,
            is_called: false,
        };
        let mut p = params();
        p.max = i64::MAX;
        let o = next_values(&p, s, "s", false).unwrap();
        assert_eq!(o.result, 1);
        assert_eq!(o.store.last_value, 1);
        assert_eq!(o.store.log_cnt, 32);
        assert_eq!(o.log.unwrap().last_value, 33);
        // The next call needs no record until the log is used up.
        let o2 = next_values(&p, o.store, "s", false).unwrap();
        assert_eq!(o2.result, 2);
        assert!(o2.log.is_none());
        assert_eq!(o2.store.log_cnt, 31);
    }

    #[test]
    fn limit_and_cycle() {
        let mut s = SeqTuple {
            last_value: 1,
            log_cnt: 0,
            is_called: false,
        };
        let p = params();
        for want in 1..=3 {
            let o = next_values(&p, s, "s", false).unwrap();
            assert_eq!(o.result, want);
            s = o.store;
        }
        let e = next_values(&p, s, "s", false).unwrap_err();
        assert_eq!(
            e.message,
            "nextval: reached maximum value of sequence \"s\" (3)"
        );
        let mut c = p;
        c.cycle = true;
        assert_eq!(next_values(&c, s, "s", false).unwrap().result, 1);
        // Descending: minimum.
        let d = SeqParams {
            start: -1,
            increment: -1,
            max: -1,
            min: -2,
            cache: 1,
            cycle: false,
        };
        let t = SeqTuple {
            last_value: -2,
            log_cnt: 5,
            is_called: true,
        };
        let e = next_values(&d, t, "d", false).unwrap_err();
        assert_eq!(
            e.message,
            "nextval: reached minimum value of sequence \"d\" (-2)"
        );
    }

    #[test]
    fn cache_fetches_several() {
        let mut p = params();
        p.max = 100;
        p.cache = 10;
        let s = SeqTuple {
            last_value: 1,
            log_cnt: 0,
            is_called: false,
        };
        let o = next_values(&p, s, "s", false).unwrap();
        assert_eq!((o.result, o.cached), (1, 10));
        assert_eq!(o.store.last_value, 10);
    }

    #[test]
    fn tuple_round_trips() {
        let s = SeqTuple {
            last_value: -7,
            log_cnt: 3,
            is_called: true,
        };
        assert_eq!(parse_tuple(&tuple_bytes(s).unwrap()).unwrap(), s);
    }
}
