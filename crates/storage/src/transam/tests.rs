//! Xid assignment across forked processes, subtransaction ids, the
//! commit order against the WAL hook, start-up and the redo hook.

use super::*;
use crate::clogbuffers::ClogFor;
use crate::testutil::{fork_child, Children, SharedMem, TestRegion};
use std::cell::RefCell;
use std::time::Duration;

/// Stands in for s2's WAL until it is joined: records what was logged.
#[derive(Default)]
struct NoWal {
    log: RefCell<Vec<(bool, u64, Vec<u64>)>>,
}

impl CommitWal for NoWal {
    fn log_commit(&self, xid: u64, subxids: &[u64]) -> Result<u64, PgError> {
        self.log.borrow_mut().push((true, xid, subxids.to_vec()));
        Ok(0)
    }
    fn log_abort(&self, xid: u64, subxids: &[u64]) -> Result<(), PgError> {
        self.log.borrow_mut().push((false, xid, subxids.to_vec()));
        Ok(())
    }
}

/// A WAL that allocates nothing, for forked children.
struct SilentWal;

impl CommitWal for SilentWal {
    fn log_commit(&self, _: u64, _: &[u64]) -> Result<u64, PgError> {
        Ok(0)
    }
    fn log_abort(&self, _: u64, _: &[u64]) -> Result<(), PgError> {
        Ok(())
    }
}

#[test]
fn ids_are_handed_out_only_after_startup_and_redo_moves_the_counter() {
    let r = TestRegion::new(2);
    let dir = tempfile::tempdir().unwrap();
    let clog = r.clog(dir.path());
    let lw = r.lw();
    let t = r.transam();
    let c = ClogFor {
        clog: &clog,
        lw: &lw,
        me: 0,
    };
    let e = t.assign_xid(&lw, 0, false, &c).unwrap_err();
    assert_eq!(e.code, sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE);
    // A new cluster's pg_control says 3; 0 would be invalid and is raised.
    t.startup(0);
    assert_eq!((t.next_xid(), t.latest_completed_xid()), (3, 2));
    t.startup(1000);
    t.advance_next_xid_past(1500);
    t.advance_next_xid_past(1200);
    assert_eq!(t.next_xid(), 1501);
    assert_eq!(t.assign_xid(&lw, 0, false, &c).unwrap(), 1501);
    assert_eq!(r.procs.proc(0).xid(), 1501);
    let e = t.assign_xid(&lw, 0, false, &c).unwrap_err();
    assert_eq!(e.message, "transaction already has ID 1501");
    let e = t.assign_xid(&lw, 1, true, &c).unwrap_err();
    assert!(e.message.contains("before the top-level"), "{}", e.message);
}

#[test]
fn subtransaction_ids_run_with_their_parent_and_leave_with_it() {
    let r = TestRegion::new(2);
    let dir = tempfile::tempdir().unwrap();
    let clog = r.clog(dir.path());
    let lw = r.lw();
    let t = r.transam();
    t.startup(100);
    clog.startup(100);
    let c = ClogFor {
        clog: &clog,
        lw: &lw,
        me: 0,
    };
    let top = t.assign_xid(&lw, 0, false, &c).unwrap();
    let s1 = t.assign_xid(&lw, 0, true, &c).unwrap();
    let s2 = t.assign_xid(&lw, 0, true, &c).unwrap();
    assert_eq!((top, s1, s2), (100, 101, 102));
    assert_eq!(r.procs.proc(0).xid(), top, "subxids never replace Proc.xid");
    let mut v = Vec::new();
    t.running_subxids(0, &mut v);
    assert_eq!(v, [101, 102]);
    // Proc 1 asks.
    for x in [top, s1, s2] {
        assert!(t.is_in_progress(&lw, 1, x), "{x}");
    }
    assert!(!t.is_in_progress(&lw, 1, 103));
    // ROLLBACK TO the savepoint of s2: aborted status first, then out.
    clog.set_tree_status(&lw, 0, s2, &[], XidStatus::Aborted, 0)
        .unwrap();
    t.remove_subxids(&lw, 0, &[s2]);
    assert!(!t.is_in_progress(&lw, 1, s2));
    assert!(t.is_in_progress(&lw, 1, s1));
    assert_eq!(t.latest_completed_xid(), s2);
    let wal = NoWal::default();
    t.commit(&lw, 0, &[s1], &wal, &c).unwrap();
    assert_eq!(*wal.log.borrow(), [(true, top, vec![s1])]);
    for x in [top, s1, s2] {
        assert!(!t.is_in_progress(&lw, 1, x), "{x}");
    }
    assert_eq!(c.get_status(top).unwrap(), XidStatus::Committed);
    assert_eq!(c.get_status(s1).unwrap(), XidStatus::Committed);
    assert_eq!(c.get_status(s2).unwrap(), XidStatus::Aborted);
    assert!(did_commit(&c, s1).unwrap() && !did_commit(&c, s2).unwrap());
    assert!(did_commit(&c, crate::clog::FROZEN_TRANSACTION_ID).unwrap());
    assert!(!did_commit(&c, INVALID_TRANSACTION_ID).unwrap());
    assert_eq!(r.procs.proc(0).xid(), 0);
    t.running_subxids(0, &mut v);
    assert!(v.is_empty());
    assert_eq!(t.latest_completed_xid(), s2);

    // The transaction goes on past the cache: the rest are in the map.
    let top = t.assign_xid(&lw, 0, false, &c).unwrap();
    let mut subs = Vec::new();
    for _ in 0..MAX_CACHED_SUBXIDS + 10 {
        subs.push(t.assign_xid(&lw, 0, true, &c).unwrap());
    }
    assert!(t.is_overflowed(0));
    t.running_subxids(0, &mut v);
    assert_eq!(v, subs[..MAX_CACHED_SUBXIDS]);
    let past = subs[MAX_CACHED_SUBXIDS + 3];
    assert_eq!(t.subtrans().top_of(past), Some(top));
    assert_eq!(t.subtrans().top_of(subs[0]), None, "cached: not in the map");
    assert!(subs.iter().all(|&x| t.is_in_progress(&lw, 1, x)));
    // A rolled-back overflowed subxid leaves the map.
    clog.set_tree_status(&lw, 0, past, &[], XidStatus::Aborted, 0)
        .unwrap();
    t.remove_subxids(&lw, 0, &[past]);
    assert!(!t.is_in_progress(&lw, 1, past));
    assert_eq!(t.subtrans().top_of(past), None);
    t.abort(&lw, 0, &subs, &wal, &c).unwrap();
    assert!(!t.is_overflowed(0), "cleared when the transaction ends");
    assert_eq!(c.get_status(top).unwrap(), XidStatus::Aborted);
    assert!(subs
        .iter()
        .all(|&x| c.get_status(x).unwrap() == XidStatus::Aborted));
    assert!(!t.is_in_progress(&lw, 1, subs[70]));
}

/// The subtransaction map is a ring: an overflowed subxid whose slot
/// still holds an entry someone may need (at or above the oldest xmin)
/// is refused with 54000, consuming no id; once that entry is below the
/// horizon it is overwritten. Started just below 2^32.
#[test]
fn the_subtransaction_map_never_overwrites_a_needed_entry() {
    let r = TestRegion::new(3);
    let dir = tempfile::tempdir().unwrap();
    let clog = r.clog(dir.path());
    let lw = r.lw();
    let t = r.transam();
    // Across 2^32: nothing in the map depends on 32-bit xids.
    let start = (1u64 << 32) - 40;
    t.startup(start);
    clog.startup(start);
    let c = ClogFor {
        clog: &clog,
        lw: &lw,
        me: 0,
    };
    let wal = NoWal::default();
    let top = t.assign_xid(&lw, 0, false, &c).unwrap();
    for _ in 0..MAX_CACHED_SUBXIDS {
        t.assign_xid(&lw, 0, true, &c).unwrap();
    }
    let first = t.assign_xid(&lw, 0, true, &c).unwrap();
    assert_eq!(t.subtrans().top_of(first), Some(top));
    // The counter moves a whole ring further (other transactions).
    t.advance_next_xid_past(first + SUBTRANS_SLOTS as u64 - 1);
    let e = t.assign_xid(&lw, 0, true, &c).unwrap_err();
    assert_eq!(e.code, sqlstate::PROGRAM_LIMIT_EXCEEDED);
    assert_eq!(
        e.message,
        "cannot assign a subtransaction ID: the subtransaction map is full"
    );
    assert_eq!(
        t.next_xid(),
        first + SUBTRANS_SLOTS as u64,
        "no id consumed"
    );
    assert_eq!(t.subtrans().top_of(first), Some(top), "still there");
    t.commit(&lw, 0, &[], &wal, &c).unwrap();
    // Nothing runs now: the old entry is below the horizon. The next
    // overflowed subxid on its slot replaces it.
    let n = SUBTRANS_SLOTS as u64;
    t.advance_next_xid_past(first + 2 * n - 66);
    let top2 = t.assign_xid(&lw, 0, false, &c).unwrap();
    assert_eq!(top2, first + 2 * n - 65);
    for _ in 0..MAX_CACHED_SUBXIDS {
        t.assign_xid(&lw, 0, true, &c).unwrap();
    }
    let again = t.assign_xid(&lw, 0, true, &c).unwrap();
    assert_eq!(again, first + 2 * n, "the same slot as `first`");
    assert_eq!(t.subtrans().top_of(again), Some(top2));
    assert_eq!(t.subtrans().top_of(first), None, "replaced");
    t.commit(&lw, 0, &[], &wal, &c).unwrap();
}

/// The commit record is written before the commit log says committed,
/// and a failure to write it leaves nothing committed.
#[test]
fn commit_record_comes_before_the_commit_status() {
    struct CheckingWal<'a> {
        c: &'a dyn ClogStatus,
        fail: bool,
    }
    impl CommitWal for CheckingWal<'_> {
        fn log_commit(&self, xid: u64, subxids: &[u64]) -> Result<u64, PgError> {
            for x in std::iter::once(&xid).chain(subxids) {
                assert_eq!(self.c.get_status(*x).unwrap(), XidStatus::InProgress);
            }
            if self.fail {
                return Err(PgError::error(sqlstate::IO_ERROR, "disk full"));
            }
            Ok(0)
        }
        fn log_abort(&self, _: u64, _: &[u64]) -> Result<(), PgError> {
            Ok(())
        }
    }
    let r = TestRegion::new(1);
    let dir = tempfile::tempdir().unwrap();
    let clog = r.clog(dir.path());
    let lw = r.lw();
    let t = r.transam();
    t.startup(10);
    clog.startup(10);
    let c = ClogFor {
        clog: &clog,
        lw: &lw,
        me: 0,
    };
    let x = t.assign_xid(&lw, 0, false, &c).unwrap();
    let s = t.assign_xid(&lw, 0, true, &c).unwrap();
    let e = t
        .commit(&lw, 0, &[s], &CheckingWal { c: &c, fail: true }, &c)
        .unwrap_err();
    assert_eq!(e.message, "disk full");
    assert_eq!(c.get_status(x).unwrap(), XidStatus::InProgress);
    assert_eq!(r.procs.proc(0).xid(), x, "still running: the caller aborts");
    t.abort(&lw, 0, &[s], &SilentWal, &c).unwrap();
    assert_eq!(c.get_status(x).unwrap(), XidStatus::Aborted);
    let y = t.assign_xid(&lw, 0, false, &c).unwrap();
    t.commit(&lw, 0, &[], &CheckingWal { c: &c, fail: false }, &c)
        .unwrap();
    assert_eq!(c.get_status(y).unwrap(), XidStatus::Committed);
}

const CHILDREN: usize = 4;
const PER_CHILD: usize = 3000;

/// Four processes take ids concurrently across 2^32 (and so across a
/// commit-log page boundary): every id is handed out once, each process
/// sees its own strictly increasing, together they are contiguous, and
/// every one is committed in the commit log.
#[test]
fn xid_assignment_is_strictly_increasing_across_processes() {
    let r = TestRegion::new(CHILDREN);
    let dir = tempfile::tempdir().unwrap();
    let clog = r.clog(dir.path());
    let lw = r.lw();
    let t = r.transam();
    let start = (1u64 << 32) - 5000;
    t.startup(start);
    clog.startup(start);
    let out = SharedMem::new(CHILDREN * PER_CHILD * 8 + 64);
    let mut kids = Children(Vec::new());
    for k in 0..CHILDREN {
        let (procs, out, clog) = (r.procs, &out, &clog);
        kids.0.push(fork_child(move || {
            // SAFETY: plain system call.
            let pid = unsafe { libc::getpid() };
            let Ok(me) = procs.acquire_backend(pid, false, 0) else {
                return 2;
            };
            let c = ClogFor {
                clog,
                lw: &lw,
                me: me as u32,
            };
            for i in 0..PER_CHILD {
                let Ok(x) = t.assign_xid(&lw, me as u32, false, &c) else {
                    return 3;
                };
                out.at::<std::sync::atomic::AtomicU64>((k * PER_CHILD + i) * 8)
                    .store(x, Ordering::SeqCst);
                if t.commit(&lw, me as u32, &[], &SilentWal, &c).is_err() {
                    return 4;
                }
            }
            procs.release(me);
            0
        }));
    }
    let codes = kids
        .wait_all(Duration::from_secs(120))
        .expect("children end");
    assert_eq!(codes, vec![0; CHILDREN]);
    let mut all = Vec::new();
    for k in 0..CHILDREN {
        let mine: Vec<u64> = (0..PER_CHILD)
            .map(|i| {
                out.at::<std::sync::atomic::AtomicU64>((k * PER_CHILD + i) * 8)
                    .load(Ordering::SeqCst)
            })
            .collect();
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "child {k}");
        all.extend(mine);
    }
    all.sort_unstable();
    let expect: Vec<u64> = (start..start + (CHILDREN * PER_CHILD) as u64).collect();
    assert_eq!(all, expect);
    assert_eq!(t.next_xid(), start + (CHILDREN * PER_CHILD) as u64);
    assert_eq!(t.latest_completed_xid(), t.next_xid() - 1);
    let c = ClogFor {
        clog: &clog,
        lw: &lw,
        me: 0,
    };
    for x in [start, (1 << 32) - 1, 1 << 32, t.next_xid() - 1] {
        assert_eq!(c.get_status(x).unwrap(), XidStatus::Committed, "{x}");
    }
    assert_eq!(c.get_status(t.next_xid()).unwrap(), XidStatus::InProgress);
}

/// OIDs: one NEXTOID record per 8,192 handed out, written before the
/// first OID of its range; a checkpoint records beyond the range; the
/// counter restarts from what redo found and wraps to 16384.
#[test]
fn oids_come_from_one_counter_with_logged_ranges() {
    let r = TestRegion::new(1);
    let lw = r.lw();
    let t = r.transam();
    let logged = std::cell::RefCell::new(Vec::new());
    let log = |n: u32| {
        logged.borrow_mut().push(n);
        Ok(())
    };
    assert!(t.new_oid(&lw, 0, &log).is_err(), "not before startup");
    t.startup(FIRST_NORMAL_TRANSACTION_ID);
    t.set_next_oid(0);
    let first = t.new_oid(&lw, 0, &log).unwrap();
    assert_eq!(first, 16384, "never below FirstNormalObjectId");
    assert_eq!(*logged.borrow(), vec![16384 + VAR_OID_PREFETCH]);
    for i in 1..VAR_OID_PREFETCH {
        assert_eq!(t.new_oid(&lw, 0, &log).unwrap(), 16384 + i);
    }
    assert_eq!(logged.borrow().len(), 1, "one record per range");
    assert_eq!(t.next_oid_for_checkpoint(), 16384 + VAR_OID_PREFETCH);
    assert_eq!(t.new_oid(&lw, 0, &log).unwrap(), 16384 + VAR_OID_PREFETCH);
    assert_eq!(logged.borrow()[1], 16384 + 2 * VAR_OID_PREFETCH);
    // A failed NEXTOID record hands out nothing.
    t.set_next_oid(50_000);
    let fail = |_: u32| Err(PgError::error(sqlstate::IO_ERROR, "disk full"));
    assert!(t.new_oid(&lw, 0, &fail).is_err());
    assert_eq!(t.new_oid(&lw, 0, &log).unwrap(), 50_000);
    // Wraparound: past u32::MAX the counter starts again at 16384.
    t.set_next_oid(u32::MAX);
    assert_eq!(t.new_oid(&lw, 0, &log).unwrap(), u32::MAX);
    assert_eq!(t.new_oid(&lw, 0, &log).unwrap(), 16384);
}
