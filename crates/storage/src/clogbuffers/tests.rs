//! The commit-status cache over real files with its minimum of 4 slots:
//! eviction and re-reading, checkpoint write-back, a restart over the
//! files, missing pages, multi-page commits, and forked processes setting
//! and reading statuses at once.

use super::*;
use crate::clog::{CLOG_XACTS_PER_PAGE as PER_PAGE, SLRU_PAGES_PER_SEGMENT};
use crate::testutil::{fork_child, Children, TestRegion};
use std::time::Duration;

/// What the tests record for `xid`: a fixed mix of the three outcomes.
fn fate(xid: u64) -> XidStatus {
    match xid % 3 {
        0 => XidStatus::Committed,
        1 => XidStatus::Aborted,
        _ => XidStatus::InProgress,
    }
}

/// Xids spread over `pages` pages starting at `first_page`: a handful per
/// page, including each page's first and last.
fn sample(first_page: u64, pages: u64) -> Vec<u64> {
    let mut v = Vec::new();
    for p in first_page..first_page + pages {
        for off in [0, 1, 2, 777, 4096, 20_001, PER_PAGE - 2, PER_PAGE - 1] {
            v.push(p * PER_PAGE + off);
        }
    }
    v
}

#[test]
fn twenty_pages_through_four_slots_survive_eviction_checkpoint_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    // Past 2^32 and straddling segments 0x1000 and 0x1001 of pg_xact.
    let first_page = (1u64 << 32) / PER_PAGE - 10;
    let xids = sample(first_page, 20);
    {
        let r = TestRegion::new(1);
        let lw = r.lw();
        let clog = r.clog(dir.path());
        assert_eq!(clog.nslots(), 4);
        clog.startup(first_page * PER_PAGE);
        for &x in &xids {
            clog.extend(&lw, 0, x).unwrap();
            if fate(x) != XidStatus::InProgress {
                clog.set_tree_status(&lw, 0, x, &[], fate(x), 0).unwrap();
            }
        }
        // Everything but the last 4 pages was evicted and written.
        for &x in &xids {
            assert_eq!(clog.get_status(&lw, 0, x).unwrap(), fate(x), "xid {x}");
        }
        clog.checkpoint(&lw, 0).unwrap();
        let c = clog.ctl();
        assert!((0..4).all(|s| c.dirty[s].load(Ordering::SeqCst) == 0));
        assert_eq!(c.min_written_page.load(Ordering::SeqCst), u64::MAX);
        // A second checkpoint has nothing to do.
        clog.checkpoint(&lw, 0).unwrap();
    }
    // The files: pg_xact's format, byte for byte.
    let seg = |segno: u64| {
        std::fs::read(
            dir.path()
                .join(PG_XACT_DIR)
                .join(clog::segment_file_name(segno)),
        )
        .unwrap()
    };
    let lo = first_page / SLRU_PAGES_PER_SEGMENT;
    assert_eq!(clog::segment_file_name(lo + 1), "000000000001000");
    for &x in &xids {
        let (segno, off) = clog::segment_of_page(clog::page_of(x));
        let bytes = seg(segno);
        let page: &ClogPage = bytes[off as usize..off as usize + BLCKSZ]
            .try_into()
            .unwrap();
        assert_eq!(clog::get_status(page, x), fate(x), "file, xid {x}");
    }
    // A restart: fresh shared memory over the same files.
    let r = TestRegion::new(1);
    let lw = r.lw();
    let clog = r.clog(dir.path());
    clog.startup((first_page + 20) * PER_PAGE);
    for &x in xids.iter().rev() {
        assert_eq!(
            clog.get_status(&lw, 0, x).unwrap(),
            fate(x),
            "after restart, xid {x}"
        );
    }
}

#[test]
fn a_missing_page_is_an_error_below_the_start_point_and_zeros_above() {
    let dir = tempfile::tempdir().unwrap();
    let r = TestRegion::new(1);
    let lw = r.lw();
    let clog = r.clog(dir.path());
    clog.startup(100 * PER_PAGE);
    let e = clog.get_status(&lw, 0, 5 * PER_PAGE + 7).unwrap_err();
    assert_eq!(e.code, sqlstate::IO_ERROR);
    assert_eq!(
        e.message,
        format!(
            "could not access status of transaction {}",
            5 * PER_PAGE + 7
        )
    );
    let d = e.detail.unwrap();
    assert!(
        d.starts_with("Could not open file \"pg_xact/000000000000000\": "),
        "{d}"
    );
    // After the crash point nothing is known: in progress, i.e. not committed.
    assert_eq!(
        clog.get_status(&lw, 0, 100 * PER_PAGE + 3).unwrap(),
        XidStatus::InProgress
    );
    // A short segment below the start point is an error too.
    std::fs::write(
        dir.path().join(PG_XACT_DIR).join("000000000000000"),
        vec![0u8; 100],
    )
    .unwrap();
    let e = clog.get_status(&lw, 0, 7).unwrap_err();
    assert!(
        e.detail.unwrap().contains("read only 100 of 8192 bytes"),
        "short read reported"
    );
    // Rewriting history is refused and changes nothing.
    let x = 100 * PER_PAGE + 9;
    clog.set_tree_status(&lw, 0, x, &[], XidStatus::Committed, 0)
        .unwrap();
    assert!(clog
        .set_tree_status(&lw, 0, x, &[], XidStatus::Aborted, 0)
        .is_err());
    assert_eq!(clog.get_status(&lw, 0, x).unwrap(), XidStatus::Committed);
}

/// A commit whose subtransactions sit on five other pages (more than the
/// cache holds): all end committed, and an abort marks all aborted.
#[test]
fn a_commit_spanning_more_pages_than_slots_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let r = TestRegion::new(1);
    let lw = r.lw();
    let clog = r.clog(dir.path());
    clog.startup(0);
    let top = 10 * PER_PAGE + 5;
    let subs: Vec<u64> = (0..6)
        .map(|p| (4 + p) * PER_PAGE + 11)
        .chain([top + 1])
        .collect();
    clog.set_tree_status(&lw, 0, top, &subs, XidStatus::Committed, 0)
        .unwrap();
    for &x in subs.iter().chain([&top]) {
        assert_eq!(clog.get_status(&lw, 0, x).unwrap(), XidStatus::Committed);
    }
    let top2 = top + 2;
    let subs2: Vec<u64> = subs.iter().map(|x| x + 2).collect();
    clog.set_tree_status(&lw, 0, top2, &subs2, XidStatus::Aborted, 0)
        .unwrap();
    for &x in subs2.iter().chain([&top2]) {
        assert_eq!(clog.get_status(&lw, 0, x).unwrap(), XidStatus::Aborted);
    }
}

const KIDS: usize = 4;
const PAGES: u64 = 10;

/// Four processes each own every fourth xid of ten pages; they record
/// their fates while reading everyone's, through four slots (constant
/// eviction). A reader sees either "in progress" or the recorded fate,
/// never another; at the end every fate is there, in memory and on disk.
#[test]
fn forked_processes_set_and_read_statuses_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let r = TestRegion::new(KIDS);
    let lw = r.lw();
    let clog = r.clog(dir.path());
    clog.startup(0);
    let xids = sample(0, PAGES);
    let (xids_ptr, n) = (xids.as_ptr(), xids.len());
    let mut kids = Children(Vec::new());
    for k in 0..KIDS {
        let clog = &clog;
        kids.0.push(fork_child(move || {
            // SAFETY: the parent's vector, inherited by fork, not freed
            // before the children are reaped.
            let xids = unsafe { std::slice::from_raw_parts(xids_ptr, n) };
            let me = k as u32;
            for round in 0..3 {
                for (i, &x) in xids.iter().enumerate() {
                    if i % KIDS == k
                        && round == 0
                        && fate(x) != XidStatus::InProgress
                        && clog.set_tree_status(&lw, me, x, &[], fate(x), 0).is_err()
                    {
                        return 2;
                    }
                    let y = xids[(i * 7 + k) % n];
                    match clog.get_status(&lw, me, y) {
                        Ok(s) if s == XidStatus::InProgress || s == fate(y) => {}
                        _ => return 3,
                    }
                }
            }
            0
        }));
    }
    let codes = kids
        .wait_all(Duration::from_secs(120))
        .expect("children end");
    assert_eq!(codes, vec![0; KIDS]);
    for &x in &xids {
        assert_eq!(clog.get_status(&lw, 0, x).unwrap(), fate(x), "xid {x}");
    }
    clog.checkpoint(&lw, 0).unwrap();
    let r2 = TestRegion::new(1);
    let clog2 = r2.clog(dir.path());
    clog2.startup(PAGES * PER_PAGE);
    for &x in &xids {
        assert_eq!(
            clog2.get_status(&r2.lw(), 0, x).unwrap(),
            fate(x),
            "reread {x}"
        );
    }
}

/// A crash (shared memory gone, no checkpoint) after a checkpoint:
/// every status set before the checkpoint is read back from the files;
/// one set after it is either there (its page was evicted and written) or
/// reads "in progress" — never a different fate. (WAL redo, s2's, sets
/// those again from the commit records.)
#[test]
fn a_crash_after_a_checkpoint_loses_no_checkpointed_status_and_invents_none() {
    let dir = tempfile::tempdir().unwrap();
    let before = sample(0, 6);
    let after: Vec<u64> = sample(6, 6);
    {
        let r = TestRegion::new(1);
        let lw = r.lw();
        let clog = r.clog(dir.path());
        clog.startup(0);
        for &x in &before {
            if fate(x) != XidStatus::InProgress {
                clog.set_tree_status(&lw, 0, x, &[], fate(x), 0).unwrap();
            }
        }
        clog.checkpoint(&lw, 0).unwrap();
        for &x in &after {
            if fate(x) != XidStatus::InProgress {
                clog.set_tree_status(&lw, 0, x, &[], fate(x), 0).unwrap();
            }
        }
        // Crash: the region is dropped with dirty pages in it.
        let c = clog.ctl();
        assert!((0..4).any(|s| c.dirty[s].load(Ordering::SeqCst) != 0));
    }
    let r = TestRegion::new(1);
    let lw = r.lw();
    let clog = r.clog(dir.path());
    // The checkpoint recorded next_xid = the first xid of page 6.
    clog.startup(6 * PER_PAGE);
    for &x in &before {
        assert_eq!(clog.get_status(&lw, 0, x).unwrap(), fate(x), "xid {x}");
    }
    let mut kept = 0;
    for &x in &after {
        let s = clog.get_status(&lw, 0, x).unwrap();
        assert!(s == fate(x) || s == XidStatus::InProgress, "xid {x}: {s:?}");
        kept += (s == fate(x) && s != XidStatus::InProgress) as u32;
    }
    // Two of the six later pages were evicted (and so written) before the
    // crash; the last four were lost with the memory.
    assert!(kept > 0, "evicted pages reached the files");
}

/// A WAL that is flushed only when asked, and checks at each flush what
/// the commit log has on disk at that moment.
struct FakeWal {
    flushed: std::cell::Cell<u64>,
    dir: std::path::PathBuf,
    /// (lsn asked for, status of `watch` on disk then).
    calls: std::cell::RefCell<Vec<(u64, XidStatus)>>,
    watch: u64,
}

impl FakeWal {
    fn on_disk(&self, xid: u64) -> XidStatus {
        let page = clog::page_of(xid);
        let (segno, off) = clog::segment_of_page(page);
        let path = self
            .dir
            .join(PG_XACT_DIR)
            .join(clog::segment_file_name(segno));
        let Ok(bytes) = std::fs::read(path) else {
            return XidStatus::InProgress;
        };
        let mut p = [0u8; BLCKSZ];
        let off = off as usize;
        if bytes.len() >= off + BLCKSZ {
            p.copy_from_slice(&bytes[off..off + BLCKSZ]);
        }
        clog::get_status(as_clog_page(&p), xid)
    }
}

fn as_clog_page(p: &[u8; BLCKSZ]) -> &ClogPage {
    // SAFETY: ClogPage is a plain BLCKSZ byte page.
    unsafe { &*(p.as_ptr() as *const ClogPage) }
}

impl WalFlush for FakeWal {
    fn flushed(&self) -> u64 {
        self.flushed.get()
    }
    fn flush_wal(&self, lsn: u64) -> Result<(), PgError> {
        self.calls
            .borrow_mut()
            .push((lsn, self.on_disk(self.watch)));
        self.flushed.set(self.flushed.get().max(lsn));
        Ok(())
    }
}

/// An asynchronous commit (status set before its record is flushed):
/// neither a checkpoint nor an eviction writes its page before WAL is
/// flushed past the record, and no committed hint is allowed until then.
/// Without the group LSN a crash right after such a write brought back a
/// transaction as committed whose later WAL was lost (the crash ledger's
/// half transaction).
#[test]
fn an_asynchronous_commit_reaches_disk_only_after_its_wal() {
    let dir = tempfile::tempdir().unwrap();
    let r = TestRegion::new(1);
    let lw = r.lw();
    let mut clog = r.clog(dir.path());
    let x = 3 * PER_PAGE + 1500;
    let wal = std::rc::Rc::new(FakeWal {
        flushed: std::cell::Cell::new(100),
        dir: dir.path().to_path_buf(),
        calls: Default::default(),
        watch: x,
    });
    clog.set_wal(wal.clone());
    clog.startup(0);
    // A synchronous commit (lsn 0) next to it never waits.
    clog.set_tree_status(&lw, 0, x - 1, &[], XidStatus::Committed, 0)
        .unwrap();
    assert!(clog.may_hint_committed(&lw, 0, x - 1));
    clog.set_tree_status(&lw, 0, x, &[], XidStatus::Committed, 5000)
        .unwrap();
    assert_eq!(clog.get_status(&lw, 0, x).unwrap(), XidStatus::Committed);
    assert!(!clog.may_hint_committed(&lw, 0, x), "record not flushed");
    // Another group of the same page is not held back.
    assert!(clog.may_hint_committed(&lw, 0, x + 2 * CLOG_XACTS_PER_LSN_GROUP));
    clog.checkpoint(&lw, 0).unwrap();
    assert_eq!(
        *wal.calls.borrow(),
        vec![(5000, XidStatus::InProgress)],
        "WAL flushed to the record before the page was written"
    );
    assert_eq!(wal.on_disk(x), XidStatus::Committed);
    assert!(clog.may_hint_committed(&lw, 0, x));

    // Eviction: a second asynchronous commit, then four other pages push
    // its page out of the 4 slots.
    let y = x + 7;
    wal.calls.borrow_mut().clear();
    let wal2 = std::rc::Rc::new(FakeWal {
        flushed: std::cell::Cell::new(wal.flushed()),
        dir: dir.path().to_path_buf(),
        calls: Default::default(),
        watch: y,
    });
    clog.set_wal(wal2.clone());
    clog.set_tree_status(&lw, 0, y, &[], XidStatus::Committed, 9000)
        .unwrap();
    for p in 10..14 {
        clog.set_tree_status(&lw, 0, p * PER_PAGE, &[], XidStatus::Aborted, 0)
            .unwrap();
    }
    assert_eq!(*wal2.calls.borrow(), vec![(9000, XidStatus::InProgress)]);
    assert_eq!(wal2.on_disk(y), XidStatus::Committed);
    // Read back in: its group LSNs start empty (the page came from disk).
    assert_eq!(clog.get_status(&lw, 0, y).unwrap(), XidStatus::Committed);
    assert!(clog.may_hint_committed(&lw, 0, y));
}
