//! Signal handling for the postmaster and its children: handlers only
//! record the signal and wake the process; all work happens in the
//! process's own loop.
//!
//! Why: a handler may interrupt the process anywhere, in the middle of an
//! allocation or of an update to its own tables, so it must not touch
//! them. Each handler sets one atomic flag and then sets the process's
//! latch (`tusk_storage::latch`): the latch's flag in its proc slot, and
//! one byte written to the process's self-pipe, which wakes a `poll` and
//! every latch wait (`pg_sleep`, CHECKPOINT's wait, the checkpointer's
//! idle wait). Both are async-signal-safe. The sleeping side resets its
//! latch and re-checks the flags before every wait, so a signal that
//! arrives just before it goes to sleep is never lost.
//!
//! Handlers never touch the process's semaphore: it is for LWLock and
//! lock-manager hand-off only, where a stray V would end a sleep that
//! must not end (see `tusk_storage::lwlock`). SIGURG is the latch's own
//! wakeup, sent by another process that set our latch; its handler only
//! writes the self-pipe.
//!
//! Children signal the postmaster the same way PostgreSQL's PMSignal does:
//! a reason bit in shared memory, then SIGUSR1 ([`signal_postmaster`]).
//!
//! SIGQUIT in a child is the exception, as in PostgreSQL: the process must
//! die at once without touching shared memory, so its handler sends a
//! prepared WARNING to the client and calls `_exit(2)` itself.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicUsize, Ordering};

/// The signals tusk processes react to, as indexes into the flag table.
pub const SIGNALS: [libc::c_int; 8] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGQUIT,
    libc::SIGCHLD,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPWR,
];

static PENDING: [AtomicBool; 8] = [const { AtomicBool::new(false) }; 8];

/// For a child's SIGQUIT: the client socket and the two prepared
/// messages (immediate shutdown / crash of another process), and where
/// the postmaster recorded which one applies.
static QUIT_SOCKET: AtomicI32 = AtomicI32::new(-1);
static QUIT_REASON: AtomicPtr<std::sync::atomic::AtomicU32> = AtomicPtr::new(std::ptr::null_mut());
static QUIT_MSG_IMMEDIATE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static QUIT_MSG_IMMEDIATE_LEN: AtomicUsize = AtomicUsize::new(0);
static QUIT_MSG_CRASH: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static QUIT_MSG_CRASH_LEN: AtomicUsize = AtomicUsize::new(0);
/// Test-only hook: a child that ignores SIGQUIT, to prove the
/// postmaster's SIGKILL escalation (TUSK_TEST_IGNORE_SIGQUIT=1). Only debug
/// builds (which the tests use) read the variable: a release server
/// cannot be told to ignore SIGQUIT through its environment.
static IGNORE_QUIT: AtomicBool = AtomicBool::new(false);

/// A `match`, not a search of [`SIGNALS`]: backends look signals up on
/// every interrupt check (each PL/pgSQL loop iteration), so this must
/// cost a compare, not a scan.
fn index(sig: libc::c_int) -> usize {
    let i = match sig {
        libc::SIGHUP => 0,
        libc::SIGINT => 1,
        libc::SIGTERM => 2,
        libc::SIGQUIT => 3,
        libc::SIGCHLD => 4,
        libc::SIGUSR1 => 5,
        libc::SIGUSR2 => 6,
        libc::SIGPWR => 7,
        _ => panic!("signal {sig} is not one tusk registers"),
    };
    debug_assert_eq!(SIGNALS[i], sig);
    i
}

/// Runs in whichever process installed it, interrupting its one thread
/// anywhere: only atomics, the latch (async-signal-safe) and errno.
extern "C" fn on_signal(sig: libc::c_int) {
    // SAFETY: __errno_location returns this thread's errno slot, valid for
    // the thread's life; reading and writing an int there is
    // async-signal-safe. Saving and restoring it keeps the interrupted
    // code's errno intact.
    let saved = unsafe { *libc::__errno_location() };
    if let Some(i) = SIGNALS.iter().position(|&s| s == sig) {
        PENDING[i].store(true, Ordering::SeqCst);
    }
    wake();
    // SAFETY: as above, the same thread's errno slot.
    unsafe { *libc::__errno_location() = saved };
}

/// Wakes this process: sets its latch if it owns one and writes its
/// self-pipe. Async-signal-safe.
pub fn wake() {
    tusk_storage::latch::set_my_latch();
}

extern "C" fn on_quit_child(_sig: libc::c_int) {
    if IGNORE_QUIT.load(Ordering::SeqCst) {
        return;
    }
    let fd = QUIT_SOCKET.load(Ordering::SeqCst);
    if fd >= 0 {
        let reason = QUIT_REASON.load(Ordering::SeqCst);
        let r = if reason.is_null() {
            0
        } else {
            // SAFETY: QUIT_REASON is only ever set by `set_quit_messages`
            // from a `&'static AtomicU32` in the shared segment, which stays
            // mapped until this process exits (the handler ends it). An
            // atomic load is async-signal-safe.
            unsafe { (*reason).load(Ordering::SeqCst) }
        };
        let (p, n) = if r == tusk_storage::procarray::QUIT_REASON_CRASH {
            (
                QUIT_MSG_CRASH.load(Ordering::SeqCst),
                QUIT_MSG_CRASH_LEN.load(Ordering::SeqCst),
            )
        } else {
            (
                QUIT_MSG_IMMEDIATE.load(Ordering::SeqCst),
                QUIT_MSG_IMMEDIATE_LEN.load(Ordering::SeqCst),
            )
        };
        if !p.is_null() {
            // SAFETY: `p` and `n` come from a boxed slice leaked by
            // `set_quit_messages` (length stored before pointer, so a
            // non-null pointer has its length), never freed. send(2) is
            // async-signal-safe; MSG_DONTWAIT and MSG_NOSIGNAL keep a full
            // or closed socket from blocking or raising SIGPIPE.
            unsafe {
                libc::send(
                    fd,
                    p as *const libc::c_void,
                    n,
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            };
        }
    }
    // Exit code 2 tells the postmaster this was not a clean exit, so a
    // SIGQUIT sent to one backend by hand still triggers a crash cycle.
    // SAFETY: _exit(2) is async-signal-safe and runs no user-space exit
    // code: no exit callback touches shared memory, as SIGQUIT requires.
    unsafe { libc::_exit(2) };
}

/// The C name of a signal this module installs, for error messages.
fn signal_name(sig: libc::c_int) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPWR => "SIGPWR",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        libc::SIGALRM => "SIGALRM",
        libc::SIGURG => "SIGURG",
        _ => return sig.to_string(),
    };
    name.to_string()
}

/// Sets the disposition of `sig`. A refusal is returned, not ignored: a
/// process that believes it handles SIGTERM but does not would be killed
/// by its first shutdown request (or, for SIG_IGN on SIGPIPE, by a client
/// that hangs up).
fn install(sig: libc::c_int, handler: libc::sighandler_t, restart: bool) -> std::io::Result<()> {
    // SAFETY: an all-zero `sigaction` is a valid value of that plain C
    // struct (empty mask, no flags); sigemptyset and sigaddset write only
    // into its mask, and sigaction reads it and writes no old action
    // (null). `handler` is SIG_IGN, SIG_DFL or one of the
    // async-signal-safe `extern "C"` handlers of this process.
    let rc = unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        libc::sigemptyset(&mut sa.sa_mask);
        // Block the other handled signals while one runs.
        for &s in &SIGNALS {
            libc::sigaddset(&mut sa.sa_mask, s);
        }
        sa.sa_flags = if restart { libc::SA_RESTART } else { 0 };
        libc::sigaction(sig, &sa, std::ptr::null_mut())
    };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        return Err(std::io::Error::new(
            e.kind(),
            format!(
                "sigaction({}, {{handler, mask, flags {}}}, NULL) failed: {e}",
                signal_name(sig),
                if restart { "SA_RESTART" } else { "0" }
            ),
        ));
    }
    Ok(())
}

/// The postmaster's handlers: every signal it uses only sets its flag.
/// Postmaster only, once, before its first fork.
pub fn install_postmaster(wake_fd: i32) -> std::io::Result<()> {
    // The postmaster owns no latch and has no postmaster: its self-pipe
    // is all a wakeup writes.
    tusk_storage::latch::init_process(-1, wake_fd, -1);
    for &s in &[
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGQUIT,
        libc::SIGCHLD,
        libc::SIGUSR1,
    ] {
        install(s, on_signal as *const () as libc::sighandler_t, true)?;
    }
    for &s in &[
        libc::SIGPIPE,
        libc::SIGUSR2,
        libc::SIGXFSZ,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGALRM,
        libc::SIGURG,
    ] {
        install(s, libc::SIG_IGN, true)?;
    }
    Ok(())
}

/// A child's handlers, installed right after fork. No SA_RESTART: a
/// blocked `semop` or `poll` must return EINTR so the loop sees the flag.
/// SIGPWR is the postmaster-death signal (PR_SET_PDEATHSIG), as in
/// PostgreSQL on Linux. `pipe` is the child's own self-pipe, which its
/// latch waits poll, and `death_fd` the read end of the postmaster-death
/// pipe. Every child, once, right after fork with all signals blocked.
pub fn install_child(pipe: &SelfPipe, death_fd: i32) -> std::io::Result<()> {
    for f in &PENDING {
        f.store(false, Ordering::SeqCst);
    }
    tusk_storage::latch::init_process(pipe.read_fd, pipe.write_fd, death_fd);
    for &s in &[
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGPWR,
    ] {
        install(s, on_signal as *const () as libc::sighandler_t, false)?;
    }
    install(
        libc::SIGQUIT,
        on_quit_child as *const () as libc::sighandler_t,
        false,
    )?;
    // SA_RESTART: the latch wakeup only needs the self-pipe written, and
    // poll, the one call it must end, is never restarted.
    install(
        libc::SIGURG,
        tusk_storage::latch::sigurg_handler as *const () as libc::sighandler_t,
        true,
    )?;
    install(libc::SIGCHLD, libc::SIG_DFL, false)?;
    install(libc::SIGPIPE, libc::SIG_IGN, false)?;
    #[cfg(debug_assertions)]
    if std::env::var_os("TUSK_TEST_IGNORE_SIGQUIT").is_some_and(|v| v == "1") {
        IGNORE_QUIT.store(true, Ordering::SeqCst);
    }
    Ok(())
}

/// Prepares what a child's SIGQUIT handler sends to its client. The
/// buffers are leaked on purpose: the handler may run at any moment until
/// the process exits.
pub fn set_quit_messages(
    socket_fd: i32,
    reason: &'static std::sync::atomic::AtomicU32,
    immediate: Vec<u8>,
    crash: Vec<u8>,
) {
    let imm = Box::leak(immediate.into_boxed_slice());
    let cr = Box::leak(crash.into_boxed_slice());
    QUIT_MSG_IMMEDIATE_LEN.store(imm.len(), Ordering::SeqCst);
    QUIT_MSG_IMMEDIATE.store(imm.as_mut_ptr(), Ordering::SeqCst);
    QUIT_MSG_CRASH_LEN.store(cr.len(), Ordering::SeqCst);
    QUIT_MSG_CRASH.store(cr.as_mut_ptr(), Ordering::SeqCst);
    QUIT_REASON.store(reason as *const _ as *mut _, Ordering::SeqCst);
    QUIT_SOCKET.store(socket_fd, Ordering::SeqCst);
}

/// Tells the postmaster `why` (PostgreSQL's SendPostmasterSignal): the
/// reason's bit in shared memory first, then SIGUSR1, which the
/// postmaster's loop answers by taking every bit. Any child may call it;
/// the postmaster's PID is the one recorded before the first fork.
pub fn signal_postmaster(
    control: &tusk_storage::procarray::SharedControl,
    why: tusk_storage::procarray::PmSignal,
) {
    control.raise_pm_signal(why);
    let pm = crate::postmaster::PM_PID.load(Ordering::SeqCst);
    if pm > 0 {
        // SAFETY: kill has no memory effects; a dead postmaster is noticed
        // through the death pipe, not here.
        unsafe { libc::kill(pm, libc::SIGUSR1) };
    }
}

/// Takes (and clears) a pending signal. A plain load first: the usual
/// answer is "none", and a swap is a locked bus operation on every
/// interrupt check; a signal landing between the load and the swap is
/// taken by the swap, one landing after it by the next check, as before.
pub fn take(sig: libc::c_int) -> bool {
    let flag = &PENDING[index(sig)];
    flag.load(Ordering::SeqCst) && flag.swap(false, Ordering::SeqCst)
}

/// Looks at a pending signal without clearing it.
pub fn pending(sig: libc::c_int) -> bool {
    PENDING[index(sig)].load(Ordering::SeqCst)
}

/// Marks a signal as pending from inside the process (e.g. the postmaster
/// requesting its own immediate shutdown when its lock file vanished).
pub fn raise_flag(sig: libc::c_int) {
    PENDING[index(sig)].store(true, Ordering::SeqCst);
    wake();
}

/// A non-blocking, close-on-exec pipe whose read end a loop polls and
/// whose write end the signal handlers write to.
pub struct SelfPipe {
    pub read_fd: i32,
    pub write_fd: i32,
}

impl SelfPipe {
    pub fn new() -> std::io::Result<SelfPipe> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes exactly two ints into `fds`, a local array
        // of two.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(SelfPipe {
            read_fd: fds[0],
            write_fd: fds[1],
        })
    }

    /// Empties the pipe. Done before looking at the flags, so a signal
    /// arriving meanwhile leaves a byte for the next poll.
    pub fn drain(&self) {
        let mut buf = [0u8; 64];
        // SAFETY: read writes at most `buf.len()` bytes into the local
        // buffer; the fd is non-blocking, so the loop ends at EAGAIN.
        while unsafe {
            libc::read(
                self.read_fd,
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
            )
        } > 0
        {}
    }

    /// Closes both ends. Called once, in a child right after fork (the
    /// postmaster's pipe is not the child's) or on a failed start; the
    /// handlers of this process write the pipe installed after it.
    pub fn close(&self) {
        // SAFETY: close touches no memory; both fds belong to this pipe
        // and nothing uses them after this call.
        unsafe {
            libc::close(self.read_fd);
            libc::close(self.write_fd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused sigaction is reported with the call, not ignored. SIGKILL's
    /// disposition cannot be changed (EINVAL), so this changes nothing in
    /// the test process.
    #[test]
    fn a_refused_sigaction_is_an_error_naming_the_call() {
        let e = install(libc::SIGKILL, libc::SIG_IGN, true).unwrap_err();
        assert_eq!(e.raw_os_error(), None, "wrapped with the call: {e}");
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("sigaction({}, ", libc::SIGKILL)),
            "{msg}"
        );
        assert!(msg.contains("SA_RESTART"), "{msg}");
        assert!(msg.contains("Invalid argument"), "{msg}");
    }
}
