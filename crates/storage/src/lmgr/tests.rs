//! The lock manager across real processes (fork, as the LWLock tests):
//! the conflict table, FIFO wake-up, deadlock detection, lock_timeout,
//! cancel, release through the resource owner, a full table. Children use
//! only the allocation-free shared part ([`LockMgr`]) and atomics.

use super::*;
use crate::latch::{init_process, sigurg_handler};
use crate::testutil::{fork_child, wait_until, Children, RegionProcs, SharedMem, TestRegion};
use crate::xact::{Release, ResourceOwner};
use std::sync::atomic::AtomicU32;

const LIMIT: Duration = Duration::from_secs(60);

fn rel(n: u32) -> LockTag {
    LockTarget::Relation { db: 5, rel: n }.tag()
}

/// A child's start: its self-pipe and SIGURG handler (so another process
/// setting its latch wakes it), a proc slot, its latch owned.
fn child_start(procs: ProcArray) -> Option<u32> {
    let mut fds = [0; 2];
    // SAFETY: plain system call into a local array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return None;
    }
    init_process(fds[0], fds[1], -1);
    // SAFETY: installing a handler in this single-threaded child.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = sigurg_handler as *const () as libc::sighandler_t;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGURG, &sa, std::ptr::null_mut());
    }
    // SAFETY: plain system call.
    let pid = unsafe { libc::getpid() };
    let me = procs.acquire_backend(pid, false, 0).ok()? as u32;
    procs.proc(me as usize).waits().latch.own();
    Some(me)
}

/// A patient wait for `mode` on `tag` (no deadlock check for 30 s, no
/// timeout), as the children that only queue take their locks; false if
/// it was not granted.
fn acquire_waiting(
    mgr: &LockMgr,
    lw: &RegionProcs,
    me: u32,
    tag: &LockTag,
    mode: LockMode,
    scratch: &mut DeadlockScratch,
) -> bool {
    let p = WaitPolicy {
        deadlock_timeout: Duration::from_secs(30),
        ..WaitPolicy::default()
    };
    mgr.acquire(lw, me, tag, mode, &p, scratch, &|| false)
        .is_ok()
}

struct Fixture {
    r: TestRegion,
    mgr: LockMgr,
    lw: RegionProcs,
    /// The test process's own proc slot.
    me: u32,
}

fn fixture(max_connections: usize) -> Fixture {
    let r = TestRegion::new(max_connections);
    // SAFETY: the region stays mapped while the fixture lives.
    let mgr = unsafe { LockMgr::attach(r.mem.base(), &r.layout, &r.sizing, r.procs) };
    let lw = r.lw();
    // SAFETY: plain system call.
    let me = r
        .procs
        .acquire_backend(unsafe { libc::getpid() }, false, 0)
        .unwrap() as u32;
    Fixture { r, mgr, lw, me }
}

impl Fixture {
    /// Forks a child that waits for `mode` on `tag`, releases it at once and
    /// exits 0 (2: no proc slot, 3: not granted).
    fn fork_locker(&self, tag: LockTag, mode: LockMode) -> i32 {
        let (mgr, lw, procs) = (self.mgr, self.lw, self.r.procs);
        let mut s = self.scratch();
        fork_child(move || {
            let Some(me) = child_start(procs) else {
                return 2;
            };
            if !acquire_waiting(&mgr, &lw, me, &tag, mode, &mut s) {
                return 3;
            }
            mgr.release(&lw, me, &tag, mode);
            procs.release(me as usize);
            0
        })
    }

    fn scratch(&self) -> DeadlockScratch {
        DeadlockScratch::new(self.r.procs.len())
    }

    fn nowait(&self, tag: &LockTag, mode: LockMode) -> Result<(), LockFail> {
        let p = WaitPolicy {
            dont_wait: true,
            ..WaitPolicy::default()
        };
        self.mgr.acquire(
            &self.lw,
            self.me,
            tag,
            mode,
            &p,
            &mut self.scratch(),
            &|| false,
        )
    }

    /// Proc number of the process with `pid`, once it waits for a lock.
    fn waiting(&self, pid: i32) -> bool {
        self.r
            .procs
            .find_pid(pid)
            .is_some_and(|i| self.r.procs.proc(i).wait_lock().is_some())
    }
}

#[test]
fn conflict_table_is_postgresqls() {
    // PostgreSQL's documented table (explicit-locking.html, table 13.2):
    // row = requested mode, X = conflicts with the held column's mode.
    let table = [
        "-------X", "------XX", "----XXXX", "---XXXXX", "--XX-XXX", "--XXXXXX", "-XXXXXXX",
        "XXXXXXXX",
    ];
    for (i, a) in ALL_MODES.iter().enumerate() {
        for (j, b) in ALL_MODES.iter().enumerate() {
            let want = table[i].as_bytes()[j] == b'X';
            assert_eq!(a.conflicts_with(*b), want, "{} vs {}", a.name(), b.name());
            assert_eq!(b.conflicts_with(*a), want, "symmetric");
        }
    }
    assert_eq!(LockMode::from_u32(5), Some(LockMode::Share));
    assert_eq!(LockMode::from_u32(0), None);
    assert_eq!(LockMode::from_u32(9), None);
}

#[test]
fn tags_round_trip_and_describe_as_postgresql() {
    for t in [
        LockTarget::Relation { db: 5, rel: 16384 },
        LockTarget::Extend { db: 5, rel: 16384 },
        LockTarget::Tuple {
            db: 5,
            rel: 16384,
            block: 3,
            offset: 7,
        },
        LockTarget::Transaction((7 << 32) | 12),
        LockTarget::Object {
            db: 5,
            class: 1259,
            obj: 9,
            sub: 0,
        },
        LockTarget::Advisory {
            db: 5,
            key1: 0,
            key2: 42,
            kind: 1,
        },
    ] {
        assert_eq!(LockTarget::from_tag(&t.tag()), Some(t));
        assert_ne!(t.tag(), LockTag::default(), "a used tag is never all zero");
    }
    assert_eq!(
        LockTarget::Relation { db: 5, rel: 16384 }.describe(),
        "relation 16384 of database 5"
    );
    assert_eq!(
        LockTarget::Transaction(1 << 33).describe(),
        "transaction 8589934592"
    );
    assert_eq!(
        LockTarget::Tuple {
            db: 5,
            rel: 1,
            block: 0,
            offset: 2
        }
        .describe(),
        "tuple (0,2) of relation 1 of database 5"
    );
}

/// For each mode a child holds, the test process asks for every mode
/// without waiting: refused exactly when the table says they conflict.
/// Then the same with the test process holding: its own holds never
/// block it.
#[test]
fn every_pair_of_modes_across_processes() {
    let f = fixture(4);
    let ctl = SharedMem::new(64);
    let (hold, release) = (ctl.at::<AtomicU32>(0), ctl.at::<AtomicU32>(4));
    let tag = rel(100);
    for held in ALL_MODES {
        hold.store(0, Ordering::SeqCst);
        release.store(0, Ordering::SeqCst);
        let (mgr, lw, procs) = (f.mgr, f.lw, f.r.procs);
        let mut scratch = f.scratch();
        let mut kids = Children(vec![fork_child(move || {
            let Some(me) = child_start(procs) else {
                return 2;
            };
            let p = WaitPolicy::default();
            if mgr
                .acquire(&lw, me, &tag, held, &p, &mut scratch, &|| false)
                .is_err()
            {
                return 3;
            }
            hold.store(1, Ordering::SeqCst);
            while release.load(Ordering::SeqCst) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            if !mgr.release(&lw, me, &tag, held) {
                return 4;
            }
            procs.release(me as usize);
            0
        })]);
        assert!(wait_until(LIMIT, || hold.load(Ordering::SeqCst) == 1));
        for want in ALL_MODES {
            let r = f.nowait(&tag, want);
            if held.conflicts_with(want) {
                assert_eq!(r, Err(LockFail::NotAvailable), "{held:?} held, {want:?}");
            } else {
                assert_eq!(r, Ok(()), "{held:?} held, {want:?}");
                assert!(f.mgr.release(&f.lw, f.me, &tag, want));
            }
        }
        release.store(1, Ordering::SeqCst);
        assert_eq!(kids.wait_all(LIMIT).unwrap(), vec![0]);
    }
    // One process holding every mode at once: no self-conflict.
    for m in ALL_MODES {
        assert_eq!(f.nowait(&tag, m), Ok(()));
    }
    assert_eq!(f.mgr.lock_status(&f.lw, f.me).len(), 8);
    for m in ALL_MODES {
        assert!(f.mgr.release(&f.lw, f.me, &tag, m));
        assert!(!f.mgr.release(&f.lw, f.me, &tag, m), "released twice");
    }
    assert!(f.mgr.lock_status(&f.lw, f.me).is_empty(), "entries freed");
}

/// Three waiters queue behind an AccessExclusiveLock and get it in the
/// order they came; a compatible newcomer does not pass a queued
/// conflicting request; pg_locks rows show holder and waiters.
#[test]
fn waiters_are_woken_in_fifo_order() {
    let f = fixture(6);
    let tag = rel(7);
    f.nowait(&tag, LockMode::AccessExclusive).unwrap();
    let out = SharedMem::new(64);
    let next = out.at::<AtomicU32>(0);
    let mut kids = Children(Vec::new());
    for k in 0..3u32 {
        let (mgr, lw, procs, out) = (f.mgr, f.lw, f.r.procs, &out);
        let mut scratch = f.scratch();
        let pid = fork_child(move || {
            let Some(me) = child_start(procs) else {
                return 2;
            };
            if !acquire_waiting(&mgr, &lw, me, &tag, LockMode::Exclusive, &mut scratch) {
                return 3;
            }
            let slot = out.at::<AtomicU32>(0).fetch_add(1, Ordering::SeqCst) as usize;
            out.at::<AtomicU32>(4 + 4 * slot)
                .store(k + 1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            mgr.release(&lw, me, &tag, LockMode::Exclusive);
            procs.release(me as usize);
            0
        });
        kids.0.push(pid);
        assert!(wait_until(LIMIT, || f.waiting(pid)), "child {k} queued");
    }
    // A second object, so that pg_locks has a row on something else.
    let other = rel(8);
    assert_eq!(f.nowait(&other, LockMode::AccessShare), Ok(()));
    let rows = f.mgr.lock_status(&f.lw, f.me);
    let on7: Vec<_> = rows
        .iter()
        .filter(|r| r.relation == Some(7))
        .map(|r| (r.mode, r.granted))
        .collect();
    assert_eq!(on7.iter().filter(|r| r.1).count(), 1);
    assert_eq!(on7.iter().filter(|r| !r.1).count(), 3);
    assert!(on7.contains(&("AccessExclusiveLock", true)));
    assert!(on7.contains(&("ExclusiveLock", false)));
    assert!(rows
        .iter()
        .all(|r| r.locktype == "relation" && r.database == Some(5)));
    assert!(f.mgr.release(&f.lw, f.me, &tag, LockMode::AccessExclusive));
    assert_eq!(kids.wait_all(LIMIT).unwrap(), vec![0, 0, 0]);
    assert_eq!(next.load(Ordering::SeqCst), 3);
    let order: Vec<u32> = (0..3)
        .map(|i| out.at::<AtomicU32>(4 + 4 * i).load(Ordering::SeqCst))
        .collect();
    assert_eq!(order, vec![1, 2, 3]);
    assert!(f.mgr.release(&f.lw, f.me, &other, LockMode::AccessShare));
    assert!(f.mgr.lock_status(&f.lw, f.me).is_empty());
}

/// A request compatible with every granted mode still queues behind a
/// conflicting waiter (PostgreSQL's rule against starving it).
#[test]
fn a_compatible_request_does_not_pass_a_conflicting_waiter() {
    let f = fixture(4);
    let tag = rel(9);
    let ctl = SharedMem::new(64);
    let hold = ctl.at::<AtomicU32>(0);
    let (mgr, lw, procs) = (f.mgr, f.lw, f.r.procs);
    let mut s1 = f.scratch();
    let mut kids = Children(Vec::new());
    // Child A holds AccessShare until told.
    kids.0.push(fork_child(move || {
        let Some(me) = child_start(procs) else {
            return 2;
        };
        let p = WaitPolicy::default();
        if mgr
            .acquire(&lw, me, &tag, LockMode::AccessShare, &p, &mut s1, &|| false)
            .is_err()
        {
            return 3;
        }
        hold.store(1, Ordering::SeqCst);
        while hold.load(Ordering::SeqCst) != 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        mgr.release(&lw, me, &tag, LockMode::AccessShare);
        procs.release(me as usize);
        0
    }));
    assert!(wait_until(LIMIT, || hold.load(Ordering::SeqCst) == 1));
    // Child B queues for AccessExclusive behind A.
    let b = f.fork_locker(tag, LockMode::AccessExclusive);
    kids.0.push(b);
    assert!(wait_until(LIMIT, || f.waiting(b)));
    // AccessShare is compatible with A's hold, but B waits ahead.
    assert_eq!(
        f.nowait(&tag, LockMode::AccessShare),
        Err(LockFail::NotAvailable)
    );
    hold.store(2, Ordering::SeqCst);
    assert_eq!(kids.wait_all(LIMIT).unwrap(), vec![0, 0]);
    assert_eq!(f.nowait(&tag, LockMode::AccessShare), Ok(()));
    assert!(f.mgr.release(&f.lw, f.me, &tag, LockMode::AccessShare));
}

/// Two processes each hold one relation and want the other's: after
/// deadlock_timeout exactly one gets 40P01 with PostgreSQL's DETAIL, and
/// the other gets its lock once the victim's locks are gone.
#[test]
fn a_two_process_deadlock_fails_exactly_one() {
    let f = fixture(4);
    let out = SharedMem::new(4096);
    let ready = out.at::<AtomicU32>(0);
    let mut kids = Children(Vec::new());
    for k in 0..2u32 {
        let (mgr, lw, procs, out) = (f.mgr, f.lw, f.r.procs, &out);
        let mut scratch = f.scratch();
        kids.0.push(fork_child(move || {
            let Some(me) = child_start(procs) else {
                return 2;
            };
            let (mine, theirs) = (rel(1 + k), rel(2 - k));
            let p = WaitPolicy {
                deadlock_timeout: Duration::from_millis(200),
                ..WaitPolicy::default()
            };
            if mgr
                .acquire(
                    &lw,
                    me,
                    &mine,
                    LockMode::Exclusive,
                    &p,
                    &mut scratch,
                    &|| false,
                )
                .is_err()
            {
                return 3;
            }
            out.at::<AtomicU32>(0).fetch_add(1, Ordering::SeqCst);
            while out.at::<AtomicU32>(0).load(Ordering::SeqCst) < 2 {
                std::thread::sleep(Duration::from_millis(1));
            }
            let r = mgr.acquire(&lw, me, &theirs, LockMode::Share, &p, &mut scratch, &|| {
                false
            });
            // The abort: give back what is held.
            mgr.release(&lw, me, &mine, LockMode::Exclusive);
            let code = match r {
                Ok(()) => {
                    mgr.release(&lw, me, &theirs, LockMode::Share);
                    0
                }
                Err(LockFail::Deadlock) => {
                    let rep = *scratch.report();
                    // SAFETY: a plain-data report copied into the shared
                    // page, at an aligned offset only this child writes.
                    unsafe {
                        std::ptr::write(
                            out.base().add(64 + 1024 * k as usize) as *mut DeadlockReport,
                            rep,
                        )
                    };
                    40
                }
                Err(_) => 5,
            };
            procs.release(me as usize);
            code
        }));
    }
    let pids = kids.0.clone();
    let mut codes = kids.wait_all(LIMIT).unwrap();
    codes.sort_unstable();
    assert_eq!(codes, vec![0, 40], "exactly one victim");
    assert_eq!(ready.load(Ordering::SeqCst), 2);
    // Which child was it? Its report starts with itself.
    let (victim, rep) = (0..2)
        .find_map(|k| {
            // SAFETY: written by the child (or still zero) before it exited.
            let r =
                unsafe { std::ptr::read(out.base().add(64 + 1024 * k) as *const DeadlockReport) };
            (r.len > 0).then_some((k, r))
        })
        .expect("the victim wrote its report");
    let other = 1 - victim;
    let mut s = f.scratch();
    s.report = rep;
    let e = LockFail::Deadlock.to_error(&rel(0), &s);
    assert_eq!(e.code.as_str(), "40P01");
    assert_eq!(e.message, "deadlock detected");
    assert_eq!(e.hint.as_deref(), Some("See server log for query details."));
    let (vp, op) = (pids[victim], pids[other]);
    let want = format!(
        "Process {vp} waits for ShareLock on relation {} of database 5; blocked by process {op}.\n\
         Process {op} waits for ShareLock on relation {} of database 5; blocked by process {vp}.",
        2 - victim,
        1 + victim
    );
    assert_eq!(e.detail.as_deref(), Some(want.as_str()));
    assert!(f.mgr.lock_status(&f.lw, f.me).is_empty(), "nothing left");
}

/// lock_timeout ends a wait with 55P03 after the timeout, leaving the
/// queue clean; an interrupt (cancel: flag + latch) ends another.
#[test]
fn lock_timeout_and_cancel_end_a_wait() {
    let f = fixture(4);
    let tag = rel(11);
    f.nowait(&tag, LockMode::AccessExclusive).unwrap();
    let ctl = SharedMem::new(64);
    let elapsed_ms = ctl.at::<AtomicU32>(0);
    let cancel = ctl.at::<AtomicU32>(4);
    let (mgr, lw, procs) = (f.mgr, f.lw, f.r.procs);
    let mut s1 = f.scratch();
    let mut kids = Children(vec![fork_child(move || {
        let Some(me) = child_start(procs) else {
            return 2;
        };
        let p = WaitPolicy {
            lock_timeout: Some(Duration::from_millis(300)),
            ..WaitPolicy::default()
        };
        let t = Instant::now();
        let r = mgr.acquire(&lw, me, &tag, LockMode::AccessShare, &p, &mut s1, &|| false);
        elapsed_ms.store(t.elapsed().as_millis() as u32, Ordering::SeqCst);
        procs.release(me as usize);
        if r == Err(LockFail::LockTimeout) {
            0
        } else {
            3
        }
    })]);
    assert_eq!(kids.wait_all(LIMIT).unwrap(), vec![0]);
    assert!(elapsed_ms.load(Ordering::SeqCst) >= 300);
    let e = LockFail::LockTimeout.to_error(&tag, &f.scratch());
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("55P03", "canceling statement due to lock timeout")
    );
    assert_eq!(f.mgr.lock_status(&f.lw, f.me).len(), 1, "the waiter left");

    // Cancel: the waiter's interrupt check sees the flag once its latch
    // is set (what the SIGINT handler does in a backend).
    let mut s2 = f.scratch();
    let pid = fork_child(move || {
        let Some(me) = child_start(procs) else {
            return 2;
        };
        let r = mgr.acquire(
            &lw,
            me,
            &tag,
            LockMode::AccessShare,
            &WaitPolicy::default(),
            &mut s2,
            &|| cancel.load(Ordering::SeqCst) != 0,
        );
        procs.release(me as usize);
        if r == Err(LockFail::Interrupted) {
            0
        } else {
            3
        }
    });
    let mut kids = Children(vec![pid]);
    assert!(wait_until(LIMIT, || f.waiting(pid)));
    cancel.store(1, Ordering::SeqCst);
    let slot = f.r.procs.find_pid(pid).unwrap();
    f.r.procs.proc(slot).waits().latch.set();
    assert_eq!(kids.wait_all(LIMIT).unwrap(), vec![0]);
    assert_eq!(f.mgr.lock_status(&f.lw, f.me).len(), 1);
    assert!(f.mgr.release(&f.lw, f.me, &tag, LockMode::AccessExclusive));
    assert!(f.mgr.lock_status(&f.lw, f.me).is_empty());
}

/// A backend's locks are re-entrant and go at abort through the resource
/// owner: a process waiting for one of them then gets it.
#[test]
fn the_resource_owner_releases_locks_at_abort() {
    let f = fixture(4);
    let local = LocalLocks::new(f.mgr, f.lw, f.me, f.r.procs.len());
    let mut owner = ResourceOwner::default();
    let target = LockTarget::Relation { db: 5, rel: 12 };
    let p = WaitPolicy::default();
    for _ in 0..2 {
        local
            .lock(&mut owner, target, LockMode::AccessExclusive, &p, &|| false)
            .unwrap();
    }
    local
        .lock(&mut owner, target, LockMode::RowExclusive, &p, &|| false)
        .unwrap();
    assert_eq!(local.held_count(target, LockMode::AccessExclusive), 2);
    assert_eq!(owner.len(), 2, "one resource per (object, mode)");
    // One unlock of two keeps the lock.
    assert!(local.unlock(&mut owner, target, LockMode::AccessExclusive));
    assert_eq!(local.held_count(target, LockMode::AccessExclusive), 1);
    assert_eq!(f.mgr.lock_status(&f.lw, f.me).len(), 2);

    let tag = target.tag();
    let pid = f.fork_locker(tag, LockMode::AccessShare);
    let mut kids = Children(vec![pid]);
    assert!(wait_until(LIMIT, || f.waiting(pid)));
    assert!(owner.release_all(Release::Abort).is_empty());
    assert_eq!(kids.wait_all(LIMIT).unwrap(), vec![0]);
    assert_eq!(local.held_count(target, LockMode::AccessExclusive), 0);
    assert!(f.mgr.lock_status(&f.lw, f.me).is_empty());
    // release_all (exit without an owner) also empties the table.
    local
        .lock(&mut owner, target, LockMode::Share, &p, &|| false)
        .unwrap();
    local.release_all();
    assert!(f.mgr.lock_status(&f.lw, f.me).is_empty());
    assert!(owner.release_all(Release::Abort).is_empty(), "a no-op now");
}

/// Session holds (pg_advisory_lock) and transaction holds
/// (pg_advisory_xact_lock) of one lock are counted apart: the
/// transaction's end gives back only its own, session unlocks only the
/// session's, and the shared lock goes when neither holds it.
#[test]
fn session_and_transaction_holds_are_counted_apart() {
    let f = fixture(4);
    let local = LocalLocks::new(f.mgr, f.lw, f.me, f.r.procs.len());
    let mut owner = ResourceOwner::default();
    let target = LockTarget::Advisory {
        db: 5,
        key1: 0,
        key2: 1,
        kind: 1,
    };
    let m = LockMode::Exclusive;
    let p = WaitPolicy::default();
    local.lock_session(target, m, &p, &|| false).unwrap();
    local.lock_session(target, m, &p, &|| false).unwrap();
    local
        .try_lock(&mut owner, target, m, &p, &|| false)
        .unwrap();
    assert_eq!(local.held_count(target, m), 3);
    assert_eq!(f.mgr.lock_status(&f.lw, f.me).len(), 1, "one shared hold");
    assert!(owner.release_all(Release::Commit).is_empty());
    assert_eq!(local.held_count(target, m), 2, "the session's two stay");
    assert!(local.unlock_session(target, m));
    assert!(local.unlock_session(target, m));
    assert!(!local.unlock_session(target, m), "nothing left to unlock");
    assert!(f.mgr.lock_status(&f.lw, f.me).is_empty());
    // A transaction hold is not a session one; unlock_all_session leaves
    // it and takes every session hold of advisory locks.
    local
        .try_lock(&mut owner, target, m, &p, &|| false)
        .unwrap();
    assert!(!local.unlock_session(target, m));
    local
        .lock_session(target, LockMode::Share, &p, &|| false)
        .unwrap();
    local.unlock_all_session();
    assert_eq!(local.held_count(target, LockMode::Share), 0);
    assert_eq!(local.held_count(target, m), 1);
    assert!(owner.release_all(Release::Abort).is_empty());
    assert!(f.mgr.lock_status(&f.lw, f.me).is_empty());
}

/// Filling the lock table fails with 53200 and PostgreSQL's hint; a freed
/// entry is usable again.
#[test]
fn a_full_table_is_53200() {
    let f = fixture(2);
    let nlocks = f.mgr.nlocks;
    let mut got = 0u32;
    let fail = loop {
        match f.nowait(&rel(1000 + got), LockMode::AccessShare) {
            Ok(()) => got += 1,
            Err(e) => break e,
        }
        assert!((got as usize) < nlocks, "the table never filled");
    };
    assert_eq!(fail, LockFail::OutOfSharedMemory);
    assert_eq!(got as usize, nlocks - 1, "every entry but the reserved 0");
    let e = fail.to_error(&rel(0), &f.scratch());
    assert_eq!(e.code.as_str(), "53200");
    assert_eq!(e.message, "out of shared memory");
    assert_eq!(
        e.hint.as_deref(),
        Some("You might need to increase max_locks_per_transaction.")
    );
    // Another mode on a held object needs no new LOCK entry.
    assert_eq!(f.nowait(&rel(1000), LockMode::RowShare), Ok(()));
    assert!(f.mgr.release(&f.lw, f.me, &rel(1000), LockMode::RowShare));
    assert!(f
        .mgr
        .release(&f.lw, f.me, &rel(1000), LockMode::AccessShare));
    assert_eq!(f.nowait(&rel(5000), LockMode::AccessShare), Ok(()));
    assert_eq!(f.mgr.lock_status(&f.lw, f.me).len(), nlocks - 1);
}

/// A three-process cycle (1 waits for 2 waits for 3 waits for 1) has
/// exactly one victim, whose DETAIL names all three; and a wait behind a
/// holder that waits for nothing outlives deadlock_timeout without 40P01.
#[test]
fn a_three_process_cycle_fails_one_and_a_plain_wait_is_no_deadlock() {
    let f = fixture(6);
    let out = SharedMem::new(8192);
    let mut kids = Children(Vec::new());
    for k in 0..3u32 {
        let (mgr, lw, procs, out) = (f.mgr, f.lw, f.r.procs, &out);
        let mut scratch = f.scratch();
        kids.0.push(fork_child(move || {
            let Some(me) = child_start(procs) else {
                return 2;
            };
            let (mine, theirs) = (rel(20 + k), rel(20 + (k + 1) % 3));
            let p = WaitPolicy {
                deadlock_timeout: Duration::from_millis(100 + 50 * k as u64),
                ..WaitPolicy::default()
            };
            if mgr
                .acquire(
                    &lw,
                    me,
                    &mine,
                    LockMode::AccessExclusive,
                    &p,
                    &mut scratch,
                    &|| false,
                )
                .is_err()
            {
                return 3;
            }
            out.at::<AtomicU32>(0).fetch_add(1, Ordering::SeqCst);
            while out.at::<AtomicU32>(0).load(Ordering::SeqCst) < 3 {
                std::thread::sleep(Duration::from_millis(1));
            }
            let r = mgr.acquire(
                &lw,
                me,
                &theirs,
                LockMode::AccessShare,
                &p,
                &mut scratch,
                &|| false,
            );
            mgr.release(&lw, me, &mine, LockMode::AccessExclusive);
            let code = match r {
                Ok(()) => {
                    mgr.release(&lw, me, &theirs, LockMode::AccessShare);
                    0
                }
                Err(LockFail::Deadlock) => {
                    out.at::<AtomicU32>(64)
                        .store(scratch.report().len as u32, Ordering::SeqCst);
                    40
                }
                Err(_) => 5,
            };
            procs.release(me as usize);
            code
        }));
    }
    let mut codes = kids.wait_all(LIMIT).unwrap();
    codes.sort_unstable();
    assert_eq!(codes, vec![0, 0, 40], "exactly one victim");
    assert_eq!(
        out.at::<AtomicU32>(64).load(Ordering::SeqCst),
        3,
        "three edges"
    );
    assert!(f.mgr.lock_status(&f.lw, f.me).is_empty());

    // No cycle: the test process holds, a child waits well past its
    // deadlock_timeout, then gets the lock.
    let tag = rel(30);
    f.nowait(&tag, LockMode::AccessExclusive).unwrap();
    let (mgr, lw, procs) = (f.mgr, f.lw, f.r.procs);
    let mut s = f.scratch();
    let pid = fork_child(move || {
        let Some(me) = child_start(procs) else {
            return 2;
        };
        let p = WaitPolicy {
            deadlock_timeout: Duration::from_millis(20),
            ..WaitPolicy::default()
        };
        let r = mgr.acquire(&lw, me, &tag, LockMode::AccessShare, &p, &mut s, &|| false);
        if r.is_ok() {
            mgr.release(&lw, me, &tag, LockMode::AccessShare);
        }
        procs.release(me as usize);
        if r.is_ok() {
            0
        } else {
            3
        }
    });
    let mut kids = Children(vec![pid]);
    assert!(wait_until(LIMIT, || f.waiting(pid)));
    std::thread::sleep(Duration::from_millis(200)); // ten deadlock_timeouts
    assert!(f.waiting(pid), "still waiting, no false deadlock");
    assert!(f.mgr.release(&f.lw, f.me, &tag, LockMode::AccessExclusive));
    assert_eq!(kids.wait_all(LIMIT).unwrap(), vec![0]);
}

/// Four processes take and drop share and exclusive locks on three
/// relations (one at a time, so no deadlock) in a pseudo-random order:
/// nobody is ever inside with a conflicting holder, every request is
/// granted, and the table is empty at the end (entries recycled through
/// the free lists under churn).
#[test]
fn churn_keeps_mutual_exclusion() {
    const KIDS: u32 = 4;
    const ROUNDS: u32 = 300;
    let f = fixture(6);
    // Per relation: sharers inside (offset 64·r), exclusive inside (+4);
    // violations at 1024.
    let out = SharedMem::new(4096);
    let mut kids = Children(Vec::new());
    for k in 0..KIDS {
        let (mgr, lw, procs, out) = (f.mgr, f.lw, f.r.procs, &out);
        let mut scratch = f.scratch();
        kids.0.push(fork_child(move || {
            let Some(me) = child_start(procs) else {
                return 2;
            };
            let p = WaitPolicy {
                deadlock_timeout: Duration::from_secs(30),
                ..WaitPolicy::default()
            };
            let mut x: u32 = 0x9e37_79b9 ^ (k + 1).wrapping_mul(0x85eb_ca6b);
            for _ in 0..ROUNDS {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let r = (x % 3) as usize;
                let excl = (x >> 8).is_multiple_of(4);
                let mode = if excl {
                    LockMode::AccessExclusive
                } else {
                    LockMode::AccessShare
                };
                let tag = rel(40 + r as u32);
                if mgr
                    .acquire(&lw, me, &tag, mode, &p, &mut scratch, &|| false)
                    .is_err()
                {
                    return 3;
                }
                let (sh, ex) = (out.at::<AtomicU32>(64 * r), out.at::<AtomicU32>(64 * r + 4));
                let bad = out.at::<AtomicU32>(1024);
                if excl {
                    if ex.fetch_add(1, Ordering::SeqCst) != 0 || sh.load(Ordering::SeqCst) != 0 {
                        bad.fetch_add(1, Ordering::SeqCst);
                    }
                    std::thread::yield_now();
                    ex.fetch_sub(1, Ordering::SeqCst);
                } else {
                    sh.fetch_add(1, Ordering::SeqCst);
                    if ex.load(Ordering::SeqCst) != 0 {
                        bad.fetch_add(1, Ordering::SeqCst);
                    }
                    std::thread::yield_now();
                    sh.fetch_sub(1, Ordering::SeqCst);
                }
                if !mgr.release(&lw, me, &tag, mode) {
                    return 4;
                }
            }
            procs.release(me as usize);
            0
        }));
    }
    assert_eq!(kids.wait_all(LIMIT).unwrap(), vec![0; KIDS as usize]);
    assert_eq!(
        out.at::<AtomicU32>(1024).load(Ordering::SeqCst),
        0,
        "violations"
    );
    assert!(f.mgr.lock_status(&f.lw, f.me).is_empty());
    // Every entry is back on the free lists: the table fills to N - 1.
    let mut got = 0u32;
    while f.nowait(&rel(9000 + got), LockMode::AccessShare).is_ok() {
        got += 1;
    }
    assert_eq!(got as usize, f.mgr.nlocks - 1);
}

/// A holder asking for more goes ahead of a waiter that waits for it
/// (PostgreSQL's ProcSleep rule): holding AccessShare with an
/// AccessExclusive request queued, RowExclusive is granted at once, not
/// queued into a deadlock; the waiter then gets its lock.
#[test]
fn a_holder_upgrading_goes_ahead_of_a_waiter_blocked_by_it() {
    let f = fixture(4);
    let tag = rel(50);
    f.nowait(&tag, LockMode::AccessShare).unwrap();
    let pid = f.fork_locker(tag, LockMode::AccessExclusive);
    let mut kids = Children(vec![pid]);
    assert!(wait_until(LIMIT, || f.waiting(pid)));
    // Another process without a hold on it would have to queue.
    assert_eq!(f.nowait(&tag, LockMode::RowExclusive), Ok(()));
    assert!(f.waiting(pid), "the waiter still waits");
    assert!(f.mgr.release(&f.lw, f.me, &tag, LockMode::AccessShare));
    assert!(f.waiting(pid), "RowExclusive still blocks it");
    assert!(f.mgr.release(&f.lw, f.me, &tag, LockMode::RowExclusive));
    assert_eq!(kids.wait_all(LIMIT).unwrap(), vec![0]);
    assert!(f.mgr.lock_status(&f.lw, f.me).is_empty());
}
