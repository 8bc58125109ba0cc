//! Snapshots across forked processes: a running transaction (and its
//! subtransaction) is in another process's snapshot; after it commits a
//! new snapshot sees its tuple and the old one still does not; xmin is
//! advertised and bounds vacuum's horizon; the isolation levels.

use super::*;
use crate::clog::XidStatus;
use crate::clogbuffers::ClogFor;
use crate::heaptuple;
use crate::testutil::{fork_child, wait_until, Children, SharedMem, TestRegion};
use crate::transam::CommitWal;
use crate::visibility::{satisfies_mvcc, satisfies_vacuum, ComboCids, ProcXactState, VacuumResult};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct SilentWal;

impl CommitWal for SilentWal {
    fn log_commit(&self, _: u64, _: &[u64]) -> Result<(), PgError> {
        Ok(())
    }
    fn log_abort(&self, _: u64, _: &[u64]) -> Result<(), PgError> {
        Ok(())
    }
}

// Words of the test's own shared page.
const XID: usize = 0; // the child's top-level xid, once assigned
const SUBXID: usize = 8;
const GO: usize = 16; // parent → child: 1 commit, 2 abort
const DONE: usize = 24; // child → parent: finished

/// Waits in a child for `word` to become non-zero (60 s at most).
fn await_word(m: &SharedMem, word: usize) -> u64 {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let v = m.at::<AtomicU64>(word).load(Ordering::SeqCst);
        if v != 0 || Instant::now() > until {
            return v;
        }
        // SAFETY: plain system call.
        unsafe { libc::sched_yield() };
    }
}

#[test]
fn a_running_transaction_is_in_another_processes_snapshot_until_it_commits() {
    let dir = tempfile::tempdir().unwrap();
    let r = TestRegion::new(3);
    let lw = r.lw();
    let t = r.transam();
    let clog = r.clog(dir.path());
    t.startup(1000);
    clog.startup(1000);
    let words = SharedMem::new(4096);
    let mut kids = Children(Vec::new());
    {
        let (procs, words, clog) = (r.procs, &words, &clog);
        kids.0.push(fork_child(move || {
            // SAFETY: plain system call.
            let pid = unsafe { libc::getpid() };
            let Ok(me) = procs.acquire_backend(pid, false, 0) else {
                return 2;
            };
            let me = me as u32;
            let c = ClogFor { clog, lw: &lw, me };
            let (Ok(x), Ok(s)) = (
                t.assign_xid(&lw, me, false, &c),
                t.assign_xid(&lw, me, true, &c),
            ) else {
                return 3;
            };
            words.at::<AtomicU64>(SUBXID).store(s, Ordering::SeqCst);
            words.at::<AtomicU64>(XID).store(x, Ordering::SeqCst);
            let ok = match await_word(words, GO) {
                1 => t.commit(&lw, me, &[s], &SilentWal, &c).is_ok(),
                2 => t.abort(&lw, me, &[s], &SilentWal, &c).is_ok(),
                _ => return 4,
            };
            words.at::<AtomicU64>(DONE).store(1, Ordering::SeqCst);
            procs.release(me as usize);
            if ok {
                0
            } else {
                5
            }
        }));
    }
    // We are proc 1 (the child took 0).
    let me = 1u32;
    assert!(wait_until(Duration::from_secs(60), || words
        .at::<AtomicU64>(XID)
        .load(Ordering::SeqCst)
        != 0));
    let x = words.at::<AtomicU64>(XID).load(Ordering::SeqCst);
    let s = words.at::<AtomicU64>(SUBXID).load(Ordering::SeqCst);
    assert_eq!((x, s), (1000, 1001));
    // A transaction that starts and ends after x started: x is now below
    // xmax and must be listed.
    let c = ClogFor {
        clog: &clog,
        lw: &lw,
        me,
    };
    let y = t.assign_xid(&lw, me, false, &c).unwrap();
    assert_eq!(y, 1002);
    t.commit(&lw, me, &[], &SilentWal, &c).unwrap();

    let mut old = Snapshot::with_capacity(r.procs.len());
    get_snapshot_data(&t, &lw, me, &mut old, false);
    assert_eq!((old.xmin, old.xmax), (1000, 1003));
    assert_eq!(old.xip, [1000]);
    assert_eq!(old.subxip, [1001]);
    assert!(old.xid_in_snapshot(x) && old.xid_in_snapshot(s));
    assert!(!old.xid_in_snapshot(y));
    assert_eq!(r.procs.proc(me as usize).xmin(), 1000, "xmin advertised");
    assert_eq!(oldest_xmin(&t, &lw, me), 1000);

    // A tuple the child inserted (by its subtransaction) and one it deleted.
    let combos = ComboCids::default();
    let state = ProcXactState {
        transam: &t,
        clog: ClogFor {
            clog: &clog,
            lw: &lw,
            me,
        },
        current: &[],
        combos: &combos,
    };
    let mut ins = vec![0u8; 32];
    heaptuple::set_xmin(&mut ins, s);
    heaptuple::set_infomask(&mut ins, heaptuple::HEAP_XMAX_INVALID);
    let mut del = vec![0u8; 32];
    heaptuple::set_xmin(&mut del, y);
    heaptuple::set_xmax(&mut del, x);
    assert!(!satisfies_mvcc(&mut ins.clone(), &old, &state).unwrap());
    assert!(satisfies_mvcc(&mut del.clone(), &old, &state).unwrap());
    assert_eq!(
        satisfies_vacuum(&mut del.clone(), oldest_xmin(&t, &lw, me), &state).unwrap(),
        VacuumResult::DeleteInProgress
    );

    words.at::<AtomicU64>(GO).store(1, Ordering::SeqCst);
    assert_eq!(
        kids.wait_all(Duration::from_secs(60)).expect("child ends"),
        [0]
    );
    assert_eq!(words.at::<AtomicU64>(DONE).load(Ordering::SeqCst), 1);
    assert_eq!(c.clog.get_status(&lw, me, x).unwrap(), XidStatus::Committed);

    let mut new = Snapshot::with_capacity(r.procs.len());
    get_snapshot_data(&t, &lw, me, &mut new, false);
    assert_eq!((new.xmin, new.xmax), (1003, 1003));
    assert!(new.xip.is_empty() && new.subxip.is_empty());
    // Visible to the new snapshot, still not to the old one.
    assert!(satisfies_mvcc(&mut ins.clone(), &new, &state).unwrap());
    assert!(!satisfies_mvcc(&mut ins.clone(), &old, &state).unwrap());
    assert!(!satisfies_mvcc(&mut del.clone(), &new, &state).unwrap());
    assert!(satisfies_mvcc(&mut del.clone(), &old, &state).unwrap());
    // Our xmin was kept (replace_xmin false): the old snapshot still
    // holds the horizon, so the deleted tuple is only recently dead.
    assert_eq!(r.procs.proc(me as usize).xmin(), 1000);
    assert_eq!(
        satisfies_vacuum(&mut del.clone(), oldest_xmin(&t, &lw, me), &state).unwrap(),
        VacuumResult::RecentlyDead
    );
    // Once we drop it, the horizon moves and the tuple is dead.
    get_snapshot_data(&t, &lw, me, &mut new, true);
    assert_eq!(r.procs.proc(me as usize).xmin(), 1003);
    assert_eq!(
        satisfies_vacuum(&mut del.clone(), oldest_xmin(&t, &lw, me), &state).unwrap(),
        VacuumResult::Dead
    );
}

#[test]
fn read_committed_moves_repeatable_read_stays_serializable_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = TestRegion::new(2);
    let lw = r.lw();
    let t = r.transam();
    let clog = r.clog(dir.path());
    t.startup(500);
    clog.startup(500);
    let other = 1u32;
    let c = ClogFor {
        clog: &clog,
        lw: &lw,
        me: other,
    };
    let run_one = || {
        t.assign_xid(&lw, other, false, &c).unwrap();
        t.commit(&lw, other, &[], &SilentWal, &c).unwrap();
    };
    let mut s = Snapshots::new(r.procs.len());
    let e = s.set_isolation(IsolationLevel::Serializable).unwrap_err();
    assert_eq!(e.code, sqlstate::FEATURE_NOT_SUPPORTED);
    assert_eq!(s.isolation(), IsolationLevel::ReadCommitted);

    let a = s.statement_snapshot(&t, &lw, 0, 0).xmax;
    run_one();
    let b = s.statement_snapshot(&t, &lw, 0, 1).xmax;
    assert_eq!(
        (a, b),
        (500, 501),
        "READ COMMITTED: a new snapshot per statement"
    );
    s.end_transaction();

    s.set_isolation(IsolationLevel::RepeatableRead).unwrap();
    let a = s.statement_snapshot(&t, &lw, 0, 0).clone();
    run_one();
    let b = s.statement_snapshot(&t, &lw, 0, 1).clone();
    assert_eq!(
        (a.xmax, b.xmax, b.curcid),
        (501, 501, 1),
        "REPEATABLE READ: one"
    );
    let e = s.set_isolation(IsolationLevel::ReadCommitted).unwrap_err();
    assert_eq!(e.code, sqlstate::ACTIVE_SQL_TRANSACTION);
    s.end_transaction();
    assert_eq!(s.statement_snapshot(&t, &lw, 0, 0).xmax, 502);
}
