//! Latches: the one way a tusk process sleeps until "something changed"
//! (PostgreSQL's `Latch`, since 9.5), with `wait` also returning on socket
//! readiness, a timeout and the postmaster's death.
//!
//! Why a latch and not the process's semaphore: a semaphore counts, so
//! every signal that V'd it left a wakeup behind for whatever slept on it
//! next, and a sleep that must not return early (an LWLock hand-off)
//! cannot share it with one that must (pg_sleep and a cancel). A latch is
//! a flag: setting it twice is setting it once, and the owner decides when
//! to clear it. Semaphores stay for LWLock and lock-manager hand-off only
//! (see [`crate::lwlock`]).
//!
//! The latch lives in the owner's proc slot (shared memory): a flag and
//! the owner's PID. The rest is per process: the self-pipe that `wait`
//! polls and that a wakeup writes to, and the postmaster-death pipe.
//!
//! How a wakeup reaches the owner:
//! - our own latch (a signal handler, or code setting its own latch): one
//!   byte written to the self-pipe;
//! - another process's latch: `kill(owner, SIGURG)`, whose handler
//!   ([`sigurg_handler`]) writes the owner's self-pipe. SIGURG and not
//!   SIGUSR1, as PostgreSQL since 14: its default action is to ignore it,
//!   so a latch whose owner PID went stale (the process exited and the PID
//!   was reused by something else) harms nobody, and SIGUSR1 stays free
//!   for its own meaning (requests from the postmaster).
//!
//! No wakeup is ever lost if the waiter follows the pattern
//! `reset(); check the condition; wait()`: `set` stores the flag before it
//! wakes anybody, `reset` clears it before the condition is checked, and
//! `wait` looks at the flag before it polls; a set that lands between the
//! check and the poll has written the self-pipe, so the poll returns at
//! once. Every flag access is SeqCst, which orders the condition's store
//! (setter) and load (waiter) around the flag.
//!
//! Everything here that a signal handler calls (`set_my_latch`,
//! `wake_self`, `sigurg_handler`, `Latch::set`) is async-signal-safe: only
//! atomics, `getpid`, `write` and `kill`, no allocation, errno preserved.

use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A latch in shared memory (or, for [`LOCAL_LATCH`], in the process).
/// `#[repr(C)]`, atomics only; all-zero is an unset latch without owner.
#[repr(C)]
#[derive(Debug, Default)]
pub struct Latch {
    is_set: AtomicU32,
    /// PID of the process that waits on it; 0 = none (nobody to wake, the
    /// flag is still stored).
    owner_pid: AtomicI32,
}

/// This process's self-pipe (read end polled, write end written by
/// wakeups) and the postmaster-death pipe's read end; -1 = none.
static PIPE_READ: AtomicI32 = AtomicI32::new(-1);
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);
static DEATH_FD: AtomicI32 = AtomicI32::new(-1);
/// The latch this process's signal handlers set: the one in its proc slot
/// while it owns one, else [`LOCAL_LATCH`].
static MY_LATCH: AtomicPtr<Latch> = AtomicPtr::new(std::ptr::null_mut());
/// A process-local latch for the time a process has no proc slot (a
/// backend reading its startup packet and authenticating, or one that
/// already gave its slot up), as PostgreSQL's `LocalLatchData`: signal
/// handlers and waits work the same before and after.
static LOCAL_LATCH: Latch = Latch::new();

/// Records this process's self-pipe (non-blocking, both ends) and the read
/// end of the postmaster-death pipe (-1 for a process with no postmaster:
/// the postmaster itself, or a test). Called once per process, right
/// after fork and before signals are unblocked.
pub fn init_process(pipe_read: i32, pipe_write: i32, death_fd: i32) {
    LOCAL_LATCH.is_set.store(0, Ordering::SeqCst);
    // SAFETY: getpid cannot fail.
    LOCAL_LATCH
        .owner_pid
        .store(unsafe { libc::getpid() }, Ordering::SeqCst);
    MY_LATCH.store(&LOCAL_LATCH as *const Latch as *mut Latch, Ordering::SeqCst);
    PIPE_READ.store(pipe_read, Ordering::SeqCst);
    PIPE_WRITE.store(pipe_write, Ordering::SeqCst);
    DEATH_FD.store(death_fd, Ordering::SeqCst);
}

/// Wakes this process's `wait` (or any poll on its self-pipe). A full
/// pipe already holds a wakeup, so a failed write needs no retry.
/// Async-signal-safe.
pub fn wake_self() {
    let fd = PIPE_WRITE.load(Ordering::SeqCst);
    if fd >= 0 {
        let b = 1u8;
        // SAFETY: one byte from a local to a descriptor this process owns.
        unsafe { libc::write(fd, &b as *const u8 as *const libc::c_void, 1) };
    }
}

/// The latch this process's waits and signal handlers use: its proc
/// slot's while it owns one, else its process-local one.
pub fn my_latch() -> &'static Latch {
    let p = MY_LATCH.load(Ordering::SeqCst);
    if p.is_null() {
        &LOCAL_LATCH
    } else {
        // SAFETY: MY_LATCH points at LOCAL_LATCH or into shared memory
        // that stays mapped for the life of the process; `disown` points
        // it back at LOCAL_LATCH before the slot is released.
        unsafe { &*p }
    }
}

/// Sets this process's own latch and wakes it. What every signal handler
/// does after recording its flag. Async-signal-safe.
pub fn set_my_latch() {
    my_latch().is_set.store(1, Ordering::SeqCst);
    wake_self();
}

/// The SIGURG handler: another process set our latch and wants us awake.
/// Install it in every process that owns a latch (with SA_RESTART: it
/// only needs to make the self-pipe readable, and poll is never
/// restarted anyway).
pub extern "C" fn sigurg_handler(_sig: libc::c_int) {
    // SAFETY: reading and restoring this thread's errno.
    let saved = unsafe { *libc::__errno_location() };
    wake_self();
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

impl Latch {
    pub const fn new() -> Latch {
        Latch {
            is_set: AtomicU32::new(0),
            owner_pid: AtomicI32::new(0),
        }
    }

    /// Makes this process the latch's owner: signal handlers set it from
    /// now on and other processes' `set` wake this process. Called by the
    /// process that just claimed the proc slot holding the latch; the
    /// latch must stay mapped until [`Latch::disown`] (shared memory stays
    /// mapped for the life of the process).
    pub fn own(&self) {
        // SAFETY: getpid cannot fail.
        self.owner_pid
            .store(unsafe { libc::getpid() }, Ordering::SeqCst);
        MY_LATCH.store(self as *const Latch as *mut Latch, Ordering::SeqCst);
        // Start set, as PostgreSQL's SwitchToSharedLatch: a wakeup that
        // went to the local latch just before the switch is not lost, and
        // a spurious one only costs the owner one check.
        self.is_set.store(1, Ordering::SeqCst);
    }

    /// Gives the latch up: first this process's handlers forget it, then
    /// its owner PID is cleared, so neither a late signal here nor a
    /// setter elsewhere reaches the slot's next owner through us. Called
    /// by the owner before it releases the proc slot.
    pub fn disown(&self) {
        if MY_LATCH
            .compare_exchange(
                self as *const Latch as *mut Latch,
                &LOCAL_LATCH as *const Latch as *mut Latch,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
        {
            // Whatever was pending on the slot's latch now wakes the
            // local one, so a wait after this returns and re-checks.
            LOCAL_LATCH.is_set.store(1, Ordering::SeqCst);
        }
        self.owner_pid.store(0, Ordering::SeqCst);
    }

    /// The owner's PID, 0 if none.
    pub fn owner_pid(&self) -> i32 {
        self.owner_pid.load(Ordering::SeqCst)
    }

    /// Sets the latch and wakes its owner. Any process may call it, and a
    /// signal handler may (async-signal-safe). Setting a set latch does
    /// nothing: the owner has not reset it yet, so it will look at its
    /// condition before it sleeps again.
    pub fn set(&self) {
        if self.is_set.load(Ordering::SeqCst) != 0 {
            return;
        }
        self.is_set.store(1, Ordering::SeqCst);
        let owner = self.owner_pid.load(Ordering::SeqCst);
        if owner == 0 {
            return;
        }
        // SAFETY: getpid and kill are plain system calls.
        if owner == unsafe { libc::getpid() } {
            wake_self();
        } else {
            // ESRCH (the owner just exited) needs nothing: nobody waits.
            // SAFETY: as above.
            unsafe { libc::kill(owner, libc::SIGURG) };
        }
    }

    /// Clears the flag. Only the owner calls it, before it checks the
    /// condition it waits for (never after).
    pub fn reset(&self) {
        self.is_set.store(0, Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.is_set.load(Ordering::SeqCst) != 0
    }
}

/// Which readiness of a socket a wait watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketInterest {
    Readable,
    Writable,
}

/// What a [`wait`] returns for (PostgreSQL's WL_* flags).
#[derive(Debug, Clone, Copy, Default)]
pub struct WaitFor<'a> {
    /// Return when this latch (the caller's own) is set.
    pub latch: Option<&'a Latch>,
    pub socket: Option<(i32, SocketInterest)>,
    /// Return when the postmaster has died (EOF on the death pipe).
    pub postmaster_death: bool,
}

/// What happened; more than one may be true.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Woken {
    pub latch: bool,
    pub socket: bool,
    pub postmaster_death: bool,
    pub timeout: bool,
}

/// Sleeps until one of `what` happened or `timeout` passed (`None`: no
/// time limit). Only the owner of `what.latch` calls it. A signal alone
/// does not end the wait: the handler sets the latch, and that does.
pub fn wait(what: &WaitFor, timeout: Option<Duration>) -> Woken {
    let deadline = timeout.map(|t| Instant::now() + t);
    let pipe = PIPE_READ.load(Ordering::SeqCst);
    let death = if what.postmaster_death {
        DEATH_FD.load(Ordering::SeqCst)
    } else {
        -1
    };
    loop {
        let mut woken = Woken::default();
        if let Some(l) = what.latch {
            woken.latch = l.is_set();
        }
        // A latch already set returns at once, without a system call.
        if woken.latch {
            return woken;
        }
        let ms: i32 = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    woken.timeout = true;
                    return woken;
                }
                // Round up, so a wait does not spin through its last
                // fraction of a millisecond.
                left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
            }
        };
        let mut fds = [
            libc::pollfd {
                fd: pipe,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: death,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: what.socket.map(|s| s.0).unwrap_or(-1),
                events: match what.socket {
                    Some((_, SocketInterest::Writable)) => libc::POLLOUT,
                    _ => libc::POLLIN,
                },
                revents: 0,
            },
        ];
        // poll ignores entries whose fd is negative.
        // SAFETY: three valid pollfd entries.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n < 0 {
            // EINTR: the handler wrote the pipe and maybe set the latch;
            // look again.
            continue;
        }
        if fds[0].revents != 0 {
            drain(pipe);
        }
        if fds[1].revents != 0 {
            woken.postmaster_death = true;
        }
        if fds[2].revents != 0 {
            // Errors and hang-ups count as ready: the caller's read or
            // write reports them.
            woken.socket = true;
        }
        if let Some(l) = what.latch {
            woken.latch = l.is_set();
        }
        if woken.latch || woken.socket || woken.postmaster_death {
            return woken;
        }
    }
}

/// Empties the self-pipe. Done after poll and before the latch is looked
/// at again, so a set arriving meanwhile leaves a byte for the next poll.
fn drain(fd: i32) {
    let mut buf = [0u8; 64];
    // SAFETY: reads into a local buffer from a non-blocking descriptor.
    while unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) } > 0 {}
}

#[cfg(test)]
mod tests;
