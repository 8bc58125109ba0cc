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
    fn log_commit(&self, _: u64, _: &[u64]) -> Result<u64, PgError> {
        Ok(0)
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

const WRITERS: usize = 3;
const READERS: usize = 2;
const TXNS: usize = 300;
/// Every 5th transaction of a writer rolls back.
fn rolls_back(k: u64) -> bool {
    k % 5 == 4
}

/// A shared "heap" of tuple slots: count, then per slot (xmin, writer,
/// transaction number, published).
const SLOTS_AT: usize = 64;
const SLOT: usize = 32;

fn word(m: &SharedMem, off: usize) -> &AtomicU64 {
    m.at::<AtomicU64>(off)
}

/// Three processes commit (or roll back) transactions that each insert
/// two tuples, while two others scan with fresh snapshots: a scan sees
/// both tuples of a transaction or neither, never a rolled-back one, and
/// never fewer of a writer's tuples than its previous scan; and the same
/// snapshot scanned again later gives the same answer.
#[test]
fn concurrent_scans_see_whole_transactions_only_and_never_go_back() {
    let dir = tempfile::tempdir().unwrap();
    let r = TestRegion::new(WRITERS + READERS);
    let lw = r.lw();
    let t = r.transam();
    let clog = r.clog(dir.path());
    t.startup((1 << 32) - 100);
    clog.startup((1 << 32) - 100);
    let heap = SharedMem::new(SLOTS_AT + WRITERS * TXNS * 2 * SLOT + 64);
    let done = SharedMem::new(4096);
    let mut kids = Children(Vec::new());
    for w in 0..WRITERS {
        let (heap, done, clog) = (&heap, &done, &clog);
        kids.0.push(fork_child(move || {
            let me = w as u32;
            let c = ClogFor { clog, lw: &lw, me };
            for k in 0..TXNS as u64 {
                let Ok(x) = t.assign_xid(&lw, me, false, &c) else {
                    return 2;
                };
                for _ in 0..2 {
                    let i = word(heap, 0).fetch_add(1, Ordering::SeqCst) as usize;
                    let s = SLOTS_AT + i * SLOT;
                    word(heap, s).store(x, Ordering::SeqCst);
                    word(heap, s + 8).store(w as u64, Ordering::SeqCst);
                    word(heap, s + 16).store(k, Ordering::SeqCst);
                    word(heap, s + 24).store(1, Ordering::SeqCst);
                    // SAFETY: plain system call (lets readers in between).
                    unsafe { libc::sched_yield() };
                }
                // Keep it running a while: scans must overlap it.
                for _ in 0..5 {
                    // SAFETY: plain system call.
                    unsafe { libc::sched_yield() };
                }
                let ok = if rolls_back(k) {
                    t.abort(&lw, me, &[], &SilentWal, &c)
                } else {
                    t.commit(&lw, me, &[], &SilentWal, &c)
                };
                if ok.is_err() {
                    return 3;
                }
            }
            word(done, 0).fetch_add(1, Ordering::SeqCst);
            0
        }));
    }
    for rd in 0..READERS {
        let (heap, done, clog) = (&heap, &done, &clog);
        let mut snap = Snapshot::with_capacity(r.procs.len());
        kids.0.push(fork_child(move || {
            let me = (WRITERS + rd) as u32;
            let combos = ComboCids::default();
            let state = ProcXactState {
                transam: &t,
                clog: ClogFor { clog, lw: &lw, me },
                current: &[],
                combos: &combos,
            };
            let mut last = [0u64; WRITERS];
            let mut scans = 0u64;
            loop {
                let finished = word(done, 0).load(Ordering::SeqCst) == WRITERS as u64;
                get_snapshot_data(&t, &lw, me, &mut snap, true);
                let scan = |snap: &Snapshot| -> Result<[u64; WRITERS], i32> {
                    let n = word(heap, 0).load(Ordering::SeqCst) as usize;
                    let mut seen = [0u64; WRITERS];
                    for i in 0..n {
                        let s = SLOTS_AT + i * SLOT;
                        if word(heap, s + 24).load(Ordering::SeqCst) == 0 {
                            continue; // reserved, not yet written
                        }
                        let mut tup = [0u8; 32];
                        heaptuple::set_xmin(&mut tup, word(heap, s).load(Ordering::SeqCst));
                        heaptuple::set_infomask(&mut tup, heaptuple::HEAP_XMAX_INVALID);
                        match satisfies_mvcc(&mut tup, snap, &state) {
                            Ok(true) => {
                                if rolls_back(word(heap, s + 16).load(Ordering::SeqCst)) {
                                    return Err(10); // a rolled-back insert is visible
                                }
                                seen[word(heap, s + 8).load(Ordering::SeqCst) as usize] += 1;
                            }
                            Ok(false) => {}
                            Err(_) => return Err(11),
                        }
                    }
                    Ok(seen)
                };
                let seen = match scan(&snap) {
                    Ok(s) => s,
                    Err(code) => return code,
                };
                // The same snapshot a moment later (writers go on): the
                // same answer, as REPEATABLE READ relies on.
                for _ in 0..3 {
                    for _ in 0..20 {
                        // SAFETY: plain system call.
                        unsafe { libc::sched_yield() };
                    }
                    match scan(&snap) {
                        Ok(again) if again == seen => {}
                        Ok(_) => return 15,
                        Err(code) => return code,
                    }
                }
                for w in 0..WRITERS {
                    if seen[w] % 2 != 0 {
                        return 12; // half a transaction
                    }
                    if seen[w] < last[w] {
                        return 13; // a later snapshot saw less
                    }
                }
                last = seen;
                scans += 1;
                if finished {
                    break;
                }
            }
            // The last scan, after every writer ended, sees everything
            // committed: 2 tuples × 4 of every 5 transactions.
            let want = 2 * (0..TXNS as u64).filter(|&k| !rolls_back(k)).count() as u64;
            if last.iter().any(|&s| s != want) || scans < 2 {
                return 14;
            }
            0
        }));
    }
    let codes = kids
        .wait_all(Duration::from_secs(120))
        .expect("children end");
    assert_eq!(codes, vec![0; WRITERS + READERS]);
    assert_eq!(t.next_xid(), (1 << 32) - 100 + (WRITERS * TXNS) as u64);
}
