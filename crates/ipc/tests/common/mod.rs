//! Test helpers: private key ranges, cleanup guards, fork helpers.
//!
//! Tests of one binary are serialised by [`Keys`] (see its `_serial`).
//! Every test takes its own block of 256 keys in 0x7a000000..0x7b000000
//! (consecutive blocks from a random start), so parallel tests (threads of
//! one process) never share keys and other programs' objects are unlikely
//! to be met. The guard removes every segment and
//! semaphore set whose key lies in the block, plus any id registered with
//! it (objects already marked for removal report key 0), when the test
//! ends, also when it fails.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub const BLOCK: i32 = 256;

pub struct Keys {
    pub base: i32,
    /// Tests of one binary run one at a time: a fork by one test would
    /// otherwise give its child an attachment of every segment another
    /// test has mapped at that moment, and attach counts (what the create
    /// loop judges by) would depend on timing.
    _serial: MutexGuard<'static, ()>,
    shm_ids: RefCell<Vec<i32>>,
    sem_ids: RefCell<Vec<i32>>,
}

impl Keys {
    /// A fresh block of keys: consecutive blocks from a random start per
    /// process, so that no two tests of this process share keys.
    pub fn new() -> Keys {
        static START: OnceLock<u64> = OnceLock::new();
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let start = *START.get_or_init(|| {
            let mut h = RandomState::new().build_hasher();
            h.write_u32(std::process::id());
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos(),
            );
            h.finish()
        });
        let slot = ((start + NEXT.fetch_add(1, Ordering::Relaxed)) % 0xfe00) as i32;
        static SERIAL: Mutex<()> = Mutex::new(());
        // A failed test poisons the lock; the next test may still run.
        let serial = SERIAL
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Keys {
            base: 0x7a00_0000 + slot * BLOCK,
            _serial: serial,
            shm_ids: RefCell::default(),
            sem_ids: RefCell::default(),
        }
    }

    pub fn key(&self, n: i32) -> i32 {
        assert!(n < BLOCK);
        self.base + n
    }

    fn mine(&self, key: i32) -> bool {
        key >= self.base && key < self.base + BLOCK
    }

    pub fn track_shm(&self, id: i32) {
        self.shm_ids.borrow_mut().push(id);
    }

    pub fn track_sem(&self, id: i32) {
        self.sem_ids.borrow_mut().push(id);
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        let mut shm: Vec<i32> = self.shm_ids.borrow().clone();
        let mut sem: Vec<i32> = self.sem_ids.borrow().clone();
        if let Ok(list) = tusk_ipc::list_segments() {
            shm.extend(list.iter().filter(|s| self.mine(s.key)).map(|s| s.id));
        }
        if let Ok(list) = tusk_ipc::list_sem_sets() {
            sem.extend(list.iter().filter(|s| self.mine(s.key)).map(|s| s.id));
        }
        for id in shm {
            let _ = tusk_ipc::shm::remove_id(id);
        }
        for id in sem {
            let _ = tusk_ipc::sem::remove_id(id);
        }
    }
}

/// Forks; the child runs `f` and `_exit`s with its return value, never
/// returning into the test harness. Only async-signal-safe work belongs in
/// `f` (the test process has other threads).
pub fn fork_child(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child only runs `f` (system calls) and _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let code = f();
        // SAFETY: leave without running the parent's destructors or atexit.
        unsafe { libc::_exit(code) };
    }
    pid
}

/// Waits for a child and returns its exit code (or 128 + signal).
pub fn wait_child(pid: i32) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: plain system call.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EINTR),
            "waitpid failed"
        );
    }
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

/// A forked child that is killed and reaped if the test ends (or fails)
/// before waiting for it. Once reaped, its PID is never signalled again,
/// since the number may already belong to another process.
pub struct Child {
    pub pid: i32,
    reaped: std::cell::Cell<bool>,
}

impl Child {
    pub fn spawn(f: impl FnOnce() -> i32) -> Child {
        Child {
            pid: fork_child(f),
            reaped: std::cell::Cell::new(false),
        }
    }

    /// Waits for the exit and returns the code.
    pub fn wait(&self) -> i32 {
        let code = wait_child(self.pid);
        self.reaped.set(true);
        code
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped.get() {
            // SAFETY: our own, not yet reaped child.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                libc::waitpid(self.pid, std::ptr::null_mut(), 0);
            }
        }
    }
}

/// A pipe: (read end, write end).
pub fn pipe() -> (i32, i32) {
    let mut fds = [0; 2];
    // SAFETY: fds has room for two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    (fds[0], fds[1])
}

pub fn write_byte(fd: i32, b: u8) {
    // SAFETY: one byte from a live buffer.
    unsafe { libc::write(fd, &b as *const u8 as *const libc::c_void, 1) };
}

/// Reads one byte; None at end of file.
pub fn read_byte(fd: i32) -> Option<u8> {
    let mut b = 0u8;
    loop {
        // SAFETY: one byte into a live buffer.
        let n = unsafe { libc::read(fd, &mut b as *mut u8 as *mut libc::c_void, 1) };
        if n == 1 {
            return Some(b);
        }
        if n == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return None;
        }
    }
}

pub fn close(fd: i32) {
    // SAFETY: a descriptor this test opened.
    unsafe { libc::close(fd) };
}

/// Waits until `cond` holds, failing the test after `limit`. This waits
/// for a state the test can observe (e.g. a process asleep on a
/// semaphore), it does not sleep and hope.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub fn my_pid() -> i32 {
    std::process::id() as i32
}
