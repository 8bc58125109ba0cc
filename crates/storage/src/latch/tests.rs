//! Latch wake-ups across real processes (fork): from another process
//! (SIGURG), from a signal handler, on postmaster death, on socket
//! readiness, and no lost wakeup in a long ping-pong.

use super::*;
use crate::testutil::{fork_child, wait_until, Children, SharedMem};
use std::sync::atomic::AtomicU64;

const LATCH_A: usize = 0;
const LATCH_B: usize = 64;
const TURN: usize = 128;
const READY: usize = 192;
const PID: usize = 256;

const LIMIT: Duration = Duration::from_secs(60);

/// What a forked child does first: its own self-pipe, no postmaster
/// unless `death_fd` is given, and the SIGURG handler.
fn child_init(death_fd: i32) -> bool {
    let mut fds = [0; 2];
    // SAFETY: plain system call into a local array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return false;
    }
    init_process(fds[0], fds[1], death_fd);
    install(
        libc::SIGURG,
        sigurg_handler as *const () as libc::sighandler_t,
    );
    true
}

fn install(sig: libc::c_int, handler: libc::sighandler_t) {
    // SAFETY: installing a handler in this (single-threaded) child.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

/// The state letter of /proc/PID/stat ('S' = sleeping).
fn proc_state(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(')')?.1.trim_start().chars().next()
}

fn only_latch(l: &Latch) -> WaitFor<'_> {
    WaitFor {
        latch: Some(l),
        socket: None,
        postmaster_death: false,
    }
}

#[test]
fn another_process_sets_the_latch_and_wakes_the_owner() {
    let mem = SharedMem::new(4096);
    let m = &mem;
    let mut kids = Children(vec![fork_child(move || {
        if !child_init(-1) {
            return 10;
        }
        let latch: &Latch = m.at(LATCH_A);
        latch.own();
        m.at::<AtomicU32>(READY).store(1, Ordering::SeqCst);
        loop {
            latch.reset();
            if m.at::<AtomicU32>(TURN).load(Ordering::SeqCst) == 1 {
                return 0;
            }
            let w = wait(&only_latch(latch), Some(LIMIT));
            if w.timeout {
                return 1;
            }
        }
    })]);
    let pid = kids.0[0];
    let latch: &Latch = mem.at(LATCH_A);
    assert!(wait_until(LIMIT, || mem
        .at::<AtomicU32>(READY)
        .load(Ordering::SeqCst)
        == 1));
    assert_eq!(latch.owner_pid(), pid);
    // Set it only once the owner sleeps, so the SIGURG path is tested.
    assert!(
        wait_until(LIMIT, || proc_state(pid) == Some('S')),
        "the child never slept"
    );
    mem.at::<AtomicU32>(TURN).store(1, Ordering::SeqCst);
    latch.set();
    assert_eq!(kids.wait_all(LIMIT).expect("child woke"), vec![0]);
}

/// What a tusk signal handler does: record, then set the own latch.
extern "C" fn on_usr1(_: libc::c_int) {
    set_my_latch();
}

#[test]
fn a_signal_handler_sets_the_latch() {
    let mem = SharedMem::new(4096);
    let m = &mem;
    let mut kids = Children(vec![fork_child(move || {
        if !child_init(-1) {
            return 10;
        }
        install(libc::SIGUSR1, on_usr1 as *const () as libc::sighandler_t);
        let latch: &Latch = m.at(LATCH_A);
        latch.own();
        // A new owner starts with the latch set (no wakeup lost across
        // the switch from the local latch); reset it before waiting.
        if !latch.is_set() {
            return 5;
        }
        latch.reset();
        m.at::<AtomicU32>(READY).store(1, Ordering::SeqCst);
        let w = wait(&only_latch(latch), Some(LIMIT));
        if w.latch && latch.is_set() && !w.timeout {
            0
        } else {
            1
        }
    })]);
    let pid = kids.0[0];
    assert!(wait_until(LIMIT, || mem
        .at::<AtomicU32>(READY)
        .load(Ordering::SeqCst)
        == 1));
    assert!(wait_until(LIMIT, || proc_state(pid) == Some('S')));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGUSR1) };
    assert_eq!(kids.wait_all(LIMIT).expect("child woke"), vec![0]);
}

#[test]
fn wait_returns_on_postmaster_death() {
    // A "postmaster" process creates the death pipe and the waiting
    // child, then dies. It is a process of its own so that no other
    // test's fork (threads of this harness) inherits the pipe's write end
    // and keeps it open.
    let mem = SharedMem::new(4096);
    let m = &mem;
    let mut pm = Children(vec![fork_child(move || {
        let mut death = [0; 2];
        // SAFETY: plain system call into a local array.
        if unsafe { libc::pipe(death.as_mut_ptr()) } != 0 {
            return 10;
        }
        let child = fork_child(move || {
            // SAFETY: the child keeps only the read end.
            unsafe { libc::close(death[1]) };
            if !child_init(death[0]) {
                return 10;
            }
            let latch: &Latch = m.at(LATCH_A);
            latch.own();
            latch.reset();
            m.at::<AtomicU32>(READY).store(1, Ordering::SeqCst);
            let w = wait(
                &WaitFor {
                    latch: Some(latch),
                    socket: None,
                    postmaster_death: true,
                },
                Some(LIMIT),
            );
            let code = if w.postmaster_death && !w.latch && !w.timeout {
                1
            } else {
                2
            };
            m.at::<AtomicU32>(TURN).store(code, Ordering::SeqCst);
            0
        });
        m.at::<AtomicI32>(PID).store(child, Ordering::SeqCst);
        // Die once the child sleeps.
        let until = Instant::now() + LIMIT;
        while m.at::<AtomicU32>(READY).load(Ordering::SeqCst) == 0 && Instant::now() < until {
            // SAFETY: plain system call.
            unsafe { libc::sched_yield() };
        }
        0
    })]);
    assert_eq!(pm.wait_all(LIMIT).expect("the postmaster exits"), vec![0]);
    let child = mem.at::<AtomicI32>(PID).load(Ordering::SeqCst);
    // The orphan is not our child any more: kill it on the way out.
    struct Orphan(i32);
    impl Drop for Orphan {
        fn drop(&mut self) {
            // SAFETY: the PID of the process this test created; it has
            // reported (or is killed before the test ends).
            unsafe { libc::kill(self.0, libc::SIGKILL) };
        }
    }
    let _orphan = Orphan(child);
    assert!(
        wait_until(LIMIT, || mem.at::<AtomicU32>(TURN).load(Ordering::SeqCst)
            != 0),
        "the child did not notice the postmaster's death"
    );
    assert_eq!(
        mem.at::<AtomicU32>(TURN).load(Ordering::SeqCst),
        1,
        "woken for postmaster death alone"
    );
}

#[test]
fn wait_returns_on_socket_readiness_and_on_timeout() {
    let mut sv = [0; 2];
    // SAFETY: plain system call into a local array.
    let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()) };
    assert_eq!(rc, 0);
    let mem = SharedMem::new(4096);
    let m = &mem;
    let mut kids = Children(vec![fork_child(move || {
        if !child_init(-1) {
            return 10;
        }
        let latch: &Latch = m.at(LATCH_A);
        latch.own();
        latch.reset();
        // Nothing happens: a timeout, after at least the time asked for.
        let t0 = Instant::now();
        let w = wait(&only_latch(latch), Some(Duration::from_millis(50)));
        if !w.timeout || w.latch || t0.elapsed() < Duration::from_millis(50) {
            return 1;
        }
        // Writable at once.
        let w = wait(
            &WaitFor {
                latch: Some(latch),
                socket: Some((sv[1], SocketInterest::Writable)),
                postmaster_death: false,
            },
            Some(LIMIT),
        );
        if !w.socket {
            return 2;
        }
        m.at::<AtomicU32>(READY).store(1, Ordering::SeqCst);
        let w = wait(
            &WaitFor {
                latch: Some(latch),
                socket: Some((sv[1], SocketInterest::Readable)),
                postmaster_death: false,
            },
            Some(LIMIT),
        );
        if w.socket && !w.latch && !w.timeout {
            0
        } else {
            3
        }
    })]);
    let pid = kids.0[0];
    assert!(wait_until(LIMIT, || mem
        .at::<AtomicU32>(READY)
        .load(Ordering::SeqCst)
        == 1));
    assert!(wait_until(LIMIT, || proc_state(pid) == Some('S')));
    // SAFETY: one byte to our end of the pair.
    let n = unsafe { libc::write(sv[0], b"x".as_ptr() as *const libc::c_void, 1) };
    assert_eq!(n, 1);
    let codes = kids.wait_all(LIMIT).expect("child woke");
    // SAFETY: our own descriptors.
    unsafe {
        libc::close(sv[0]);
        libc::close(sv[1]);
    }
    assert_eq!(codes, vec![0], "1: timeout, 2: writable, 3: readable");
}

#[test]
fn no_wakeup_is_lost_in_a_long_ping_pong() {
    // Two processes hand a turn back and forth, each sleeping on its own
    // latch with reset / check / wait. A lost wakeup would leave both
    // asleep until the 30 s wait gives up.
    const ROUNDS: u64 = 5000;
    let mem = SharedMem::new(4096);
    let mut kids = Children(Vec::new());
    for me in 0..2u64 {
        let m = &mem;
        kids.0.push(fork_child(move || {
            if !child_init(-1) {
                return 10;
            }
            let (mine, other) = if me == 0 {
                (LATCH_A, LATCH_B)
            } else {
                (LATCH_B, LATCH_A)
            };
            let latch: &Latch = m.at(mine);
            let other: &Latch = m.at(other);
            latch.own();
            let turn = m.at::<AtomicU64>(TURN);
            m.at::<AtomicU32>(READY).fetch_add(1, Ordering::SeqCst);
            // Both must own their latch before the first set.
            while m.at::<AtomicU32>(READY).load(Ordering::SeqCst) < 2 {
                // SAFETY: plain system call.
                unsafe { libc::sched_yield() };
            }
            loop {
                latch.reset();
                let t = turn.load(Ordering::SeqCst);
                if t >= 2 * ROUNDS {
                    other.set();
                    return 0;
                }
                if t % 2 == me {
                    turn.store(t + 1, Ordering::SeqCst);
                    other.set();
                    continue;
                }
                if wait(&only_latch(latch), Some(Duration::from_secs(30))).timeout {
                    return 1;
                }
            }
        }));
    }
    let codes = kids
        .wait_all(Duration::from_secs(120))
        .expect("the ping-pong finished");
    assert_eq!(codes, vec![0, 0], "1: a wakeup was lost");
    assert_eq!(mem.at::<AtomicU64>(TURN).load(Ordering::SeqCst), 2 * ROUNDS);
}

#[test]
fn the_local_latch_serves_before_and_after_a_slot_latch() {
    let mem = SharedMem::new(4096);
    let m = &mem;
    let mut kids = Children(vec![fork_child(move || {
        if !child_init(-1) {
            return 10;
        }
        install(libc::SIGUSR1, on_usr1 as *const () as libc::sighandler_t);
        // No slot yet: signals set the process-local latch.
        let local = my_latch();
        // SAFETY: getpid cannot fail.
        if local.owner_pid() != unsafe { libc::getpid() } {
            return 1;
        }
        local.reset();
        m.at::<AtomicU32>(READY).store(1, Ordering::SeqCst);
        let w = wait(&only_latch(local), Some(LIMIT));
        if !w.latch || w.timeout {
            return 2;
        }
        // Owning a slot latch switches to it; giving it up switches back,
        // with the local latch set so that a wait right after re-checks.
        let slot: &Latch = m.at(LATCH_A);
        slot.own();
        if !std::ptr::eq(my_latch(), slot) {
            return 3;
        }
        local.reset();
        slot.disown();
        if !std::ptr::eq(my_latch(), local) || !local.is_set() || slot.owner_pid() != 0 {
            return 4;
        }
        0
    })]);
    let pid = kids.0[0];
    assert!(wait_until(LIMIT, || mem
        .at::<AtomicU32>(READY)
        .load(Ordering::SeqCst)
        == 1));
    assert!(wait_until(LIMIT, || proc_state(pid) == Some('S')));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGUSR1) };
    assert_eq!(kids.wait_all(LIMIT).expect("child finished"), vec![0]);
}
