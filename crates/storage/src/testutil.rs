//! Test support for code that runs across real processes: a shared
//! anonymous mapping that forked children inherit, private semaphore sets
//! removed even when a test fails, and forking with a deadline.
//!
//! Why fork and not threads: latches and LWLocks are for processes
//! (signals, PIDs, per-process self-pipes, System V semaphores), and only
//! separate processes prove that nothing relies on shared address-space
//! state. A forked child of the multi-threaded test harness must not
//! allocate (another thread may have held the allocator's lock at fork),
//! so child bodies use only atomics and system calls and end in `_exit`.

use std::time::{Duration, Instant};
use tusk_ipc::sem::SemSet;

/// A zeroed `MAP_SHARED | MAP_ANONYMOUS` mapping, unmapped on drop.
pub struct SharedMem {
    base: *mut u8,
    len: usize,
}

impl SharedMem {
    pub fn base(&self) -> *mut u8 {
        self.base
    }

    pub fn new(len: usize) -> SharedMem {
        // SAFETY: a fresh anonymous mapping; the kernel zeroes it.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED, "mmap({len}) failed");
        SharedMem {
            base: p as *mut u8,
            len,
        }
    }

    /// A `T` placed at `offset`. The caller keeps offsets aligned and
    /// non-overlapping; all-zero must be a valid `T` (atomics).
    pub fn at<T>(&self, offset: usize) -> &T {
        assert!(offset + std::mem::size_of::<T>() <= self.len);
        assert_eq!((self.base as usize + offset) % std::mem::align_of::<T>(), 0);
        // SAFETY: in bounds and aligned (checked), zero-initialised memory
        // of a type made of atomics, mapped until self is dropped.
        unsafe { &*(self.base.add(offset) as *const T) }
    }
}

impl Drop for SharedMem {
    fn drop(&mut self) {
        // SAFETY: our own mapping.
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
    }
}

/// A private semaphore set (`IPC_PRIVATE`), removed on drop: a failing
/// test leaves nothing in `ipcs -s`.
pub struct PrivateSems(pub SemSet);

impl PrivateSems {
    pub fn new(n: usize) -> PrivateSems {
        PrivateSems(SemSet::create(libc::IPC_PRIVATE, n).expect("semget(IPC_PRIVATE)"))
    }
}

impl Drop for PrivateSems {
    fn drop(&mut self) {
        let _ = self.0.remove();
    }
}

/// Forks a child that runs `f` and `_exit`s with its return value.
pub fn fork_child(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: fork; the child runs only `f` (no allocation, see the file
    // comment) and never returns into the harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // A panic must not unwind into the parent's copy of the test (its
        // drops would remove the parent's semaphores and directories, kill
        // siblings, and return into the harness): it is exit code 99.
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(99);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    pid
}

/// Children still running; killed (by PID, only ours) and reaped on drop,
/// so a failed assertion never leaves a process behind.
pub struct Children(pub Vec<i32>);

impl Children {
    /// Waits for every child until `deadline`. Returns each exit status
    /// (`Err` with the PIDs still running when the deadline passed).
    pub fn wait_all(&mut self, timeout: Duration) -> Result<Vec<i32>, Vec<i32>> {
        let deadline = Instant::now() + timeout;
        let mut codes = Vec::new();
        while !self.0.is_empty() {
            let mut i = 0;
            while i < self.0.len() {
                let mut status = 0;
                // SAFETY: plain system call on our own child.
                let r = unsafe { libc::waitpid(self.0[i], &mut status, libc::WNOHANG) };
                if r == self.0[i] {
                    codes.push(if libc::WIFEXITED(status) {
                        libc::WEXITSTATUS(status)
                    } else {
                        128 + libc::WTERMSIG(status)
                    });
                    self.0.remove(i);
                } else {
                    i += 1;
                }
            }
            if self.0.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(self.0.clone());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(codes)
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for &pid in &self.0 {
            // SAFETY: our own children, not yet reaped.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
    }
}

/// Waits until `cond` holds or `timeout` passes; true if it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    cond()
}

/// A whole shared-memory region as the postmaster lays it out, for small
/// settings, with one private semaphore per proc: what the transaction
/// and snapshot tests fork children over. Areas are addressed through
/// their real views (`ProcArray`, `Transam`, `Clog`).
pub struct TestRegion {
    pub mem: SharedMem,
    pub layout: crate::layout::Layout,
    #[allow(dead_code)]
    pub sizing: crate::layout::Sizing,
    pub procs: crate::procarray::ProcArray,
    pub sems: PrivateSems,
}

impl TestRegion {
    /// `max_connections` client slots, shared_buffers 16 (so the
    /// commit-status cache has its minimum of 4 pages).
    pub fn new(max_connections: usize) -> TestRegion {
        let sizing = crate::layout::Sizing {
            max_connections,
            max_prepared_transactions: 0,
            max_locks_per_transaction: 4,
            shared_buffers: 16,
            wal_buffers: 4,
        };
        let layout = crate::layout::Layout::compute(&sizing, 4096).unwrap();
        let mem = SharedMem::new(layout.total);
        // SAFETY: a fresh mapping of layout.total bytes nobody else uses.
        unsafe { layout.init_areas(mem.base(), &sizing) };
        // SAFETY: the region layout was computed for, mapped while mem lives.
        let procs = unsafe { crate::procarray::ProcArray::attach(mem.base(), &layout, &sizing) };
        let sems = PrivateSems::new(sizing.total_procs());
        TestRegion {
            mem,
            layout,
            sizing,
            procs,
            sems,
        }
    }

    pub fn lw(&self) -> RegionProcs {
        RegionProcs {
            procs: self.procs,
            sems: self.sems.0,
        }
    }

    pub fn transam(&self) -> crate::transam::Transam {
        // SAFETY: the region stays mapped while self lives.
        unsafe { crate::transam::Transam::attach(self.mem.base(), &self.layout, self.procs) }
    }

    /// A commit-status cache view over `dir` (its pg_xact/ is created).
    pub fn clog(&self, dir: &std::path::Path) -> crate::clogbuffers::Clog {
        crate::clogbuffers::Clog::create_dir(dir).unwrap();
        let fd = crate::clogbuffers::Clog::open_dir(dir).unwrap();
        // SAFETY: as above.
        unsafe { crate::clogbuffers::Clog::attach(self.mem.base(), &self.layout, fd) }
    }
}

/// LWLock waiters of a [`TestRegion`]: each proc's slot, its semaphore.
#[derive(Clone, Copy)]
pub struct RegionProcs {
    procs: crate::procarray::ProcArray,
    sems: SemSet,
}

impl crate::lwlock::LwProcs for RegionProcs {
    fn waiter(&self, procno: u32) -> &crate::lwlock::LwWaiter {
        &self.procs.proc(procno as usize).waits().lwlock
    }

    fn sleep(&self, procno: u32) {
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
