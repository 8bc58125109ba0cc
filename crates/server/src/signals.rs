//! Signal handling for the postmaster and its children: handlers only
//! record the signal and wake the process; all work happens in the
//! process's own loop.
//!
//! Why: a handler may interrupt the process anywhere, in the middle of an
//! allocation or of an update to its own tables, so it must not touch
//! them. Each handler sets one atomic flag, writes one byte to the
//! process's self-pipe (waking a `poll`), and V's the process's own
//! semaphore (waking a `semop` sleep such as `pg_sleep`). Both wake-ups
//! are async-signal-safe system calls. The sleeping side re-checks the
//! flags after every wake-up, so a signal that arrives just before it goes
//! to sleep is never lost.
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
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
static SEM_ID: AtomicI32 = AtomicI32::new(-1);
static SEM_NUM: AtomicI32 = AtomicI32::new(-1);

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

fn index(sig: libc::c_int) -> usize {
    SIGNALS
        .iter()
        .position(|&s| s == sig)
        .expect("registered signal")
}

extern "C" fn on_signal(sig: libc::c_int) {
    let saved = unsafe { *libc::__errno_location() };
    if let Some(i) = SIGNALS.iter().position(|&s| s == sig) {
        PENDING[i].store(true, Ordering::SeqCst);
    }
    wake();
    unsafe { *libc::__errno_location() = saved };
}

/// Wakes this process from `poll` and from its semaphore. Async-signal-safe.
pub fn wake() {
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let b = 1u8;
        unsafe { libc::write(fd, &b as *const u8 as *const libc::c_void, 1) };
    }
    let id = SEM_ID.load(Ordering::SeqCst);
    let num = SEM_NUM.load(Ordering::SeqCst);
    if id >= 0 && num >= 0 {
        let mut op = libc::sembuf {
            sem_num: num as u16,
            sem_op: 1,
            sem_flg: 0,
        };
        unsafe { libc::semop(id, &mut op, 1) };
    }
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
    unsafe { libc::_exit(2) };
}

/// Installs one handler. `sigaction` fails only for a signal number it
/// does not accept, i.e. a bug here; the caller still reports it rather
/// than run with the default action (which for most signals kills).
fn install(sig: libc::c_int, handler: libc::sighandler_t, restart: bool) -> std::io::Result<()> {
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
            format!("could not install signal handler: sigaction({sig}, ...) failed: {e} (a bug in tusk: every signal it handles is a valid, catchable one)"),
        ));
    }
    Ok(())
}

/// The postmaster's handlers: every signal it uses only sets its flag.
pub fn install_postmaster(wake_fd: i32) -> std::io::Result<()> {
    WAKE_FD.store(wake_fd, Ordering::SeqCst);
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
    ] {
        install(s, libc::SIG_IGN, true)?;
    }
    Ok(())
}

/// A child's handlers, installed right after fork. No SA_RESTART: a
/// blocked `semop` or `poll` must return EINTR so the loop sees the flag.
/// SIGPWR is the postmaster-death signal (PR_SET_PDEATHSIG), as in
/// PostgreSQL on Linux.
pub fn install_child(wake_fd: i32) -> std::io::Result<()> {
    for f in &PENDING {
        f.store(false, Ordering::SeqCst);
    }
    WAKE_FD.store(wake_fd, Ordering::SeqCst);
    SEM_ID.store(-1, Ordering::SeqCst);
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
    install(libc::SIGCHLD, libc::SIG_DFL, false)?;
    install(libc::SIGPIPE, libc::SIG_IGN, false)?;
    #[cfg(debug_assertions)]
    if std::env::var_os("TUSK_TEST_IGNORE_SIGQUIT").is_some_and(|v| v == "1") {
        IGNORE_QUIT.store(true, Ordering::SeqCst);
    }
    Ok(())
}

/// Makes signal handlers also V this semaphore (the process's own), so a
/// process sleeping in `semop` wakes up.
pub fn set_wake_semaphore(id: i32, num: usize) {
    SEM_NUM.store(num as i32, Ordering::SeqCst);
    SEM_ID.store(id, Ordering::SeqCst);
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

/// Takes (and clears) a pending signal.
pub fn take(sig: libc::c_int) -> bool {
    PENDING[index(sig)].swap(false, Ordering::SeqCst)
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
        while unsafe {
            libc::read(
                self.read_fd,
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
            )
        } > 0
        {}
    }

    pub fn close(&self) {
        unsafe {
            libc::close(self.read_fd);
            libc::close(self.write_fd);
        }
    }
}
