//! LWLocks hammered by real processes (fork): mutual exclusion, shared
//! holders together, progress, and absorbed stray wakeups.

use super::*;
use crate::testutil::{fork_child, wait_until, Children, PrivateSems, SharedMem};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tusk_ipc::sem::SemSet;

/// Shared-memory layout of a test: the lock, counters, then the waiters.
const LOCK: usize = 0;
const COUNTER: usize = 64;
const IN_EXCLUSIVE: usize = 128;
const IN_SHARED: usize = 192;
const ARRIVED: usize = 256;
/// Semaphore sleeps taken, to prove the contended path ran.
const SLEEPS: usize = 384;
/// Children started, so that they run together.
const STARTED: usize = 448;
const WAITERS: usize = 512;

/// The proc array of a test: waiters in the mapping, one private
/// semaphore per proc.
struct TestProcs<'a> {
    mem: &'a SharedMem,
    sems: SemSet,
}

impl LwProcs for TestProcs<'_> {
    fn waiter(&self, procno: u32) -> &LwWaiter {
        self.mem
            .at(WAITERS + procno as usize * std::mem::size_of::<LwWaiter>())
    }

    fn sleep(&self, procno: u32) {
        self.mem
            .at::<AtomicU64>(SLEEPS)
            .fetch_add(1, Ordering::SeqCst);
        if self.sems.sleep(procno as usize).is_err() {
            // The set is gone (the test gave up): leave without allocating.
            // SAFETY: ends this forked child.
            unsafe { libc::_exit(70) };
        }
    }

    fn wake(&self, procno: u32) {
        if self.sems.unlock(procno as usize).is_err() {
            // SAFETY: as above.
            unsafe { libc::_exit(71) };
        }
    }
}

/// Zero-filled shared memory, as a fresh segment: the lock and the
/// waiters are used without any initialisation (all-zero is a free lock
/// and "not waiting").
fn setup(nprocs: usize) -> (SharedMem, PrivateSems) {
    let mem = SharedMem::new(WAITERS + nprocs * std::mem::size_of::<LwWaiter>() + 4096);
    (mem, PrivateSems::new(nprocs))
}

/// The bytes of a lock, to check that a free lock with no waiters is
/// all-zero again after use (what a fresh segment holds).
fn bytes_of<T>(v: &T) -> Vec<u8> {
    // SAFETY: reads size_of::<T>() bytes of a live value; the types here
    // (LwLock, LwWaiter) are plain atomics without padding holes.
    unsafe { std::slice::from_raw_parts(v as *const T as *const u8, std::mem::size_of::<T>()) }
        .to_vec()
}

fn counter(mem: &SharedMem, off: usize) -> &AtomicU64 {
    mem.at(off)
}

/// Waits (in a child) until all `n` children started, so that they
/// contend instead of running one after another. False after 60 s.
fn start_together(mem: &SharedMem, n: usize) -> bool {
    let started = counter(mem, STARTED);
    started.fetch_add(1, Ordering::SeqCst);
    let until = Instant::now() + Duration::from_secs(60);
    while started.load(Ordering::SeqCst) < n as u64 {
        if Instant::now() > until {
            return false;
        }
        // SAFETY: plain system call.
        unsafe { libc::sched_yield() };
    }
    true
}

const DEADLINE: Duration = Duration::from_secs(120);

#[test]
fn exclusive_holders_exclude_each_other_across_processes() {
    const N: usize = 4;
    const M: u64 = 20000;
    let (mem, sems) = setup(N);
    let mut kids = Children(Vec::new());
    for me in 0..N as u32 {
        let procs = TestProcs {
            mem: &mem,
            sems: sems.0,
        };
        let mem = &mem;
        kids.0.push(fork_child(move || {
            let lock: &LwLock = mem.at(LOCK);
            let c = counter(mem, COUNTER);
            let inside = counter(mem, IN_EXCLUSIVE);
            if !start_together(mem, N) {
                return 2;
            }
            for i in 0..M {
                lock.acquire(&procs, me, LwMode::Exclusive);
                if inside.fetch_add(1, Ordering::SeqCst) != 0 {
                    return 1;
                }
                // A read-modify-write that loses updates unless the lock
                // excludes every other holder; the yield invites a
                // preemption inside the section.
                let v = c.load(Ordering::Relaxed);
                if i % 64 == 0 {
                    // SAFETY: plain system call.
                    unsafe { libc::sched_yield() };
                }
                c.store(v + 1, Ordering::Relaxed);
                inside.fetch_sub(1, Ordering::SeqCst);
                lock.release(&procs);
            }
            0
        }));
    }
    let codes = kids
        .wait_all(DEADLINE)
        .unwrap_or_else(|pids| panic!("processes {pids:?} made no progress in {DEADLINE:?}"));
    assert_eq!(codes, vec![0; N], "1: two exclusive holders; 2: no start");
    assert_eq!(counter(&mem, COUNTER).load(Ordering::SeqCst), N as u64 * M);
    // The processes did contend: some waited on their semaphores.
    assert!(counter(&mem, SLEEPS).load(Ordering::SeqCst) > 0);
    let lock: &LwLock = mem.at(LOCK);
    assert!(!lock.is_held());
    // Every hand-off was consumed: no semaphore kept a stray count.
    for n in 0..N {
        assert_eq!(sems.0.value(n).unwrap(), 0, "semaphore {n}");
    }
    // Back to the fresh state: no flag left set (HAS_WAITERS,
    // WAKE_PENDING), no list end left behind.
    assert_eq!(bytes_of(lock), vec![0; std::mem::size_of::<LwLock>()]);
    for n in 0..N {
        let w: &LwWaiter = mem.at(WAITERS + n * std::mem::size_of::<LwWaiter>());
        assert!(!w.is_waiting(), "waiter {n}");
    }
}

/// A lock in zero-filled memory is free with an empty wait list, and
/// LwLock::new builds exactly those bytes: the areas of a fresh segment
/// need no init for their locks.
#[test]
fn all_zero_bytes_are_a_free_lock() {
    assert_eq!(
        bytes_of(&LwLock::new()),
        vec![0; std::mem::size_of::<LwLock>()]
    );
    assert_eq!(
        bytes_of(&LwWaiter::default()),
        vec![0; std::mem::size_of::<LwWaiter>()]
    );
    let (mem, sems) = setup(2);
    let procs = TestProcs {
        mem: &mem,
        sems: sems.0,
    };
    let lock: &LwLock = mem.at(LOCK);
    assert!(!lock.is_held());
    assert!(!procs.waiter(0).is_waiting() && !procs.waiter(1).is_waiting());
    lock.acquire(&procs, 0, LwMode::Exclusive);
    assert!(!lock.try_acquire(LwMode::Shared));
    lock.release(&procs);
    // A release with no waiters wakes nobody: no V reached a semaphore.
    assert_eq!(sems.0.value(0).unwrap(), 0);
    assert_eq!(sems.0.value(1).unwrap(), 0);
    lock.acquire(&procs, 1, LwMode::Shared);
    lock.acquire(&procs, 0, LwMode::Shared);
    lock.release(&procs);
    lock.release(&procs);
    assert_eq!(bytes_of(lock), vec![0; std::mem::size_of::<LwLock>()]);
}

#[test]
fn shared_holders_overlap_but_never_with_an_exclusive_holder() {
    const N: usize = 4;
    const M: u64 = 3000;
    let (mem, sems) = setup(N);
    let mut kids = Children(Vec::new());
    for me in 0..N as u32 {
        let procs = TestProcs {
            mem: &mem,
            sems: sems.0,
        };
        let mem = &mem;
        kids.0.push(fork_child(move || {
            let lock: &LwLock = mem.at(LOCK);
            let c = counter(mem, COUNTER);
            let in_x = counter(mem, IN_EXCLUSIVE);
            let in_s = counter(mem, IN_SHARED);
            let arrived = counter(mem, ARRIVED);
            if !start_together(mem, N) {
                return 2;
            }
            // Phase 1: every process holds the lock shared at the same
            // time. If shared holders excluded each other this would
            // never complete.
            lock.acquire(&procs, me, LwMode::Shared);
            arrived.fetch_add(1, Ordering::SeqCst);
            let until = Instant::now() + Duration::from_secs(60);
            while arrived.load(Ordering::SeqCst) < N as u64 {
                if Instant::now() > until {
                    return 2;
                }
                // SAFETY: plain system call.
                unsafe { libc::sched_yield() };
            }
            lock.release(&procs);
            // Phase 2: a mix, one exclusive turn in four.
            for i in 0..M {
                if (i + me as u64).is_multiple_of(4) {
                    lock.acquire(&procs, me, LwMode::Exclusive);
                    if in_x.fetch_add(1, Ordering::SeqCst) != 0 || in_s.load(Ordering::SeqCst) != 0
                    {
                        return 3;
                    }
                    let v = c.load(Ordering::Relaxed);
                    c.store(v + 1, Ordering::Relaxed);
                    in_x.fetch_sub(1, Ordering::SeqCst);
                } else {
                    lock.acquire(&procs, me, LwMode::Shared);
                    in_s.fetch_add(1, Ordering::SeqCst);
                    if in_x.load(Ordering::SeqCst) != 0 {
                        return 4;
                    }
                    if i % 32 == 0 {
                        // SAFETY: plain system call.
                        unsafe { libc::sched_yield() };
                    }
                    if in_x.load(Ordering::SeqCst) != 0 {
                        return 4;
                    }
                    in_s.fetch_sub(1, Ordering::SeqCst);
                }
                lock.release(&procs);
            }
            0
        }));
    }
    let codes = kids
        .wait_all(DEADLINE)
        .unwrap_or_else(|pids| panic!("processes {pids:?} made no progress in {DEADLINE:?}"));
    assert_eq!(
        codes,
        vec![0; N],
        "2: shared holders did not overlap; 3: exclusive with another holder; 4: shared with an exclusive holder"
    );
    let exclusive_turns: u64 = (0..N as u64)
        .map(|me| (0..M).filter(|i| (i + me).is_multiple_of(4)).count() as u64)
        .sum();
    assert_eq!(
        counter(&mem, COUNTER).load(Ordering::SeqCst),
        exclusive_turns
    );
    assert!(counter(&mem, SLEEPS).load(Ordering::SeqCst) > 0);
    assert!(!mem.at::<LwLock>(LOCK).is_held());
    for n in 0..N {
        assert_eq!(sems.0.value(n).unwrap(), 0, "semaphore {n}");
    }
}

#[test]
fn a_stray_wakeup_is_absorbed_and_posted_back() {
    let (mem, sems) = setup(2);
    let parent = TestProcs {
        mem: &mem,
        sems: sems.0,
    };
    let lock: &LwLock = mem.at(LOCK);
    // The parent (proc 0) holds the lock; proc 1's semaphore already
    // carries a V that is not a hand-off (as a lock-manager wakeup that
    // came late would).
    lock.acquire(&parent, 0, LwMode::Exclusive);
    sems.0.unlock(1).unwrap();
    let mut kids = Children(Vec::new());
    let child_procs = TestProcs {
        mem: &mem,
        sems: sems.0,
    };
    let m = &mem;
    kids.0.push(fork_child(move || {
        let lock: &LwLock = m.at(LOCK);
        lock.acquire(&child_procs, 1, LwMode::Exclusive);
        let c = counter(m, COUNTER);
        c.store(1, Ordering::SeqCst);
        lock.release(&child_procs);
        0
    }));
    // The child took the stray V, saw it was still queued, and went back
    // to sleep: it is on the list and the semaphore has a sleeper.
    assert!(
        wait_until(Duration::from_secs(30), || {
            parent.waiter(1).is_waiting() && sems.0.waiters(1).unwrap_or(0) == 1
        }),
        "the child did not go back to sleep after the stray wakeup"
    );
    assert_eq!(counter(&mem, COUNTER).load(Ordering::SeqCst), 0);
    lock.release(&parent);
    let codes = kids.wait_all(DEADLINE).expect("child finished");
    assert_eq!(codes, vec![0]);
    assert_eq!(counter(&mem, COUNTER).load(Ordering::SeqCst), 1);
    // The absorbed stray V was posted back for whoever sleeps next.
    assert_eq!(sems.0.value(1).unwrap(), 1);
    assert!(!lock.is_held());
}

#[test]
fn try_acquire_respects_modes_in_one_process() {
    let lock = LwLock::new();
    assert!(lock.try_acquire(LwMode::Shared));
    assert!(lock.try_acquire(LwMode::Shared));
    assert!(!lock.try_acquire(LwMode::Exclusive));
    let (mem, sems) = setup(1);
    let procs = TestProcs {
        mem: &mem,
        sems: sems.0,
    };
    lock.release(&procs);
    lock.release(&procs);
    assert!(!lock.is_held());
    {
        let _g = lock.lock(&procs, 0, LwMode::Exclusive);
        assert!(!lock.try_acquire(LwMode::Shared));
        assert!(lock.is_held());
    }
    assert!(!lock.is_held());
    assert!(lock.try_acquire(LwMode::Exclusive));
}

#[test]
fn an_exclusive_waiter_gets_in_while_shared_holders_keep_coming() {
    // Three processes take the lock shared in a tight loop until the
    // fourth has taken it exclusively K times. The exclusive waiter is
    // queued; whenever the shared count drops to zero the releaser wakes
    // it, and a woken waiter that loses the race keeps the head of the
    // queue. It must finish well before the deadline (observed: 5 ms to
    // 0.64 s on two loaded cores, against 120 s).
    const SHARED: usize = 3;
    const K: u64 = 200;
    let (mem, sems) = setup(SHARED + 1);
    let mut kids = Children(Vec::new());
    for me in 0..=SHARED as u32 {
        let procs = TestProcs {
            mem: &mem,
            sems: sems.0,
        };
        let mem = &mem;
        kids.0.push(fork_child(move || {
            let lock: &LwLock = mem.at(LOCK);
            let done = counter(mem, ARRIVED);
            if !start_together(mem, SHARED + 1) {
                return 2;
            }
            if me as usize == SHARED {
                let c = counter(mem, COUNTER);
                for _ in 0..K {
                    lock.acquire(&procs, me, LwMode::Exclusive);
                    c.fetch_add(1, Ordering::SeqCst);
                    lock.release(&procs);
                }
                done.store(1, Ordering::SeqCst);
            } else {
                while done.load(Ordering::SeqCst) == 0 {
                    lock.acquire(&procs, me, LwMode::Shared);
                    std::hint::spin_loop();
                    lock.release(&procs);
                }
            }
            0
        }));
    }
    let codes = kids
        .wait_all(DEADLINE)
        .unwrap_or_else(|pids| panic!("processes {pids:?} made no progress in {DEADLINE:?}"));
    assert_eq!(codes, vec![0; SHARED + 1]);
    assert_eq!(counter(&mem, COUNTER).load(Ordering::SeqCst), K);
}
