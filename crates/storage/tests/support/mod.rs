//! The harness the multi-process storage tests share (tests/bufmgr.rs, tests/heapam.rs): a region laid out by the real area registry, a zeroed shared mapping for each test's counters, a private semaphore set, a data directory, forked children killed and reaped by PID, and a `main` that runs the tests in one thread.
//!
//! Why these binaries have `harness = false`: their children do what a
//! backend does (allocate, open files, keep a resource owner), and
//! allocating in a child forked from the multi-threaded libtest harness is
//! unsafe (another thread may hold a lock at fork). [`run`] runs the tests
//! one after another in a single thread, so a forked child is an ordinary
//! process. Each test builds its own [`World`] and drops it (removing the
//! semaphore set, unmapping the memory, deleting the directory) and its
//! [`Children`] (killing and reaping them) even when it fails.
//!
//! Why not the lib's `testutil`: it is `#[cfg(test)]`, which integration
//! tests cannot see, and it is made for children of the threaded harness
//! (no allocation, no unwinding in the child).

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tusk_ipc::sem::SemSet;
use tusk_storage::bufmgr::{refcount, BufMgr, SharedPool, WalFlusher};
use tusk_storage::layout::{AreaId, Layout, Sizing};
use tusk_storage::lwlock::{LwProcs, LwWaiter};
use tusk_storage::smgr::{Md, RelFileLocator, Smgr, DEFAULTTABLESPACE_OID};

/// The relation the tests work on.
pub const REL: RelFileLocator = RelFileLocator {
    spc: DEFAULTTABLESPACE_OID,
    db: 5,
    rel: 16384,
};
/// Blocks per segment file of the Md smgr.
pub const SEG_BLOCKS: u32 = 64;
/// Processes (and semaphores) a world has room for.
pub const MAX_PROCS: usize = 8;

/// A `MAP_SHARED | MAP_ANONYMOUS` mapping, unmapped on drop.
struct Mapping {
    base: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(len: usize) -> Mapping {
        // SAFETY: a fresh anonymous mapping.
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
        assert_ne!(p, libc::MAP_FAILED, "mmap({len})");
        Mapping {
            base: p as *mut u8,
            len,
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: our mapping.
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
    }
}

/// The counters and flags the processes of a test share, placed in a
/// zeroed shared mapping by [`World::new`].
///
/// # Safety
///
/// All-zero bytes must be a valid `Self` (atomics, `LwWaiter`s: all zero
/// is "not waiting"); what needs another initial state is set by `init`.
pub unsafe trait SharedState: 'static {
    /// Called once on the zeroed value, before any child is forked.
    fn init(&self) {}
    /// The processes' LWLock wait states.
    fn waiters(&self) -> &[LwWaiter; MAX_PROCS];
}

/// One test's world: the region (laid out by the real registry), the
/// shared counters `S`, a semaphore per process, a data directory.
pub struct World<S: SharedState> {
    /// Kept mapped until the world is dropped; used through `pool` and
    /// [`World::area`].
    region: Mapping,
    /// Where the registry put the areas, and for which sizes (the tests
    /// that attach the real WAL and pg_control areas use them).
    pub layout: Layout,
    pub sizing: Sizing,
    shared_map: Mapping,
    pub pool: SharedPool,
    pub sems: SemSet,
    pub dir: tempfile::TempDir,
    _shared: PhantomData<S>,
}

impl<S: SharedState> Drop for World<S> {
    fn drop(&mut self) {
        let _ = self.sems.remove();
    }
}

impl<S: SharedState> World<S> {
    pub fn new(nbuffers: usize) -> World<S> {
        let z = Sizing {
            max_connections: 4,
            max_prepared_transactions: 0,
            max_locks_per_transaction: 10,
            shared_buffers: nbuffers,
            wal_buffers: 8,
        };
        let layout = Layout::compute(&z, 4096).unwrap();
        let region = Mapping::new(layout.total);
        // SAFETY: a fresh region of layout.total bytes, page-aligned, ours.
        unsafe { layout.init_areas(region.base, &z) };
        // SAFETY: laid out and initialised just above; lives in World.
        let pool = unsafe { SharedPool::attach(region.base, &layout, &z) };
        assert!(std::mem::align_of::<S>() <= 4096);
        let shared_map = Mapping::new(std::mem::size_of::<S>().next_multiple_of(4096));
        let sems = SemSet::create(libc::IPC_PRIVATE, MAX_PROCS).expect("semget(IPC_PRIVATE)");
        let w: World<S> = World {
            region,
            layout,
            sizing: z,
            shared_map,
            pool,
            sems,
            dir: tempfile::tempdir().unwrap(),
            _shared: PhantomData,
        };
        w.shared().init();
        w
    }

    pub fn shared(&self) -> &'static S {
        // SAFETY: page-aligned, large enough, zeroed memory, which is a
        // valid S (SharedState); mapped for the life of the world, which
        // outlives every use in the test (children exit before it is
        // dropped).
        unsafe { &*(self.shared_map.base as *const S) }
    }

    pub fn md(&self) -> Md {
        Md::new(self.dir.path(), SEG_BLOCKS)
    }

    /// Where area `id` starts in the region (initialised by the registry,
    /// mapped for the life of the world).
    pub fn area(&self, id: AreaId) -> *mut u8 {
        // SAFETY: the offset is inside the region (the layout made it).
        unsafe { self.region.base.add(self.layout.area(id).offset) }
    }

    /// The processes of this world, for LWLocks.
    pub fn procs(&self) -> Procs {
        Procs {
            waiters: self.shared().waiters(),
            sems: self.sems,
        }
    }

    /// A buffer manager on this world's pool for process `me`.
    pub fn bufmgr(
        &self,
        me: u32,
        smgr: Box<dyn Smgr>,
        wal: Box<dyn WalFlusher>,
        checksums: bool,
    ) -> BufMgr {
        BufMgr::new(self.pool, Box::new(self.procs()), me, smgr, wal, checksums)
    }
}

/// The processes of a world for LWLocks: waiters in the shared counters,
/// a semaphore each.
pub struct Procs {
    waiters: &'static [LwWaiter; MAX_PROCS],
    sems: SemSet,
}

impl LwProcs for Procs {
    fn waiter(&self, procno: u32) -> &LwWaiter {
        &self.waiters[procno as usize]
    }
    fn sleep(&self, procno: u32) {
        if self.sems.sleep(procno as usize).is_err() {
            // The set is gone: the test gave up.
            // SAFETY: ends this process.
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

/// Forks a child running `f`; its exit code is `f`'s (99 if it panics).
pub fn fork_child(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: fork from this single-threaded test process.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(99);
        // SAFETY: ends the child without the parent's destructors (the
        // world's semaphore set and directory belong to the parent).
        unsafe { libc::_exit(code) };
    }
    pid
}

/// Children killed (by PID) and reaped on drop.
pub struct Children(pub Vec<i32>);

impl Children {
    /// Reaps every child and returns the exit codes (128 + signal for a
    /// child killed by one) in the order they ended; fails if any is
    /// still running after `limit`.
    pub fn wait_all(&mut self, limit: Duration) -> Vec<i32> {
        let deadline = Instant::now() + limit;
        let mut codes = Vec::new();
        while !self.0.is_empty() {
            let mut i = 0;
            while i < self.0.len() {
                let mut status = 0;
                // SAFETY: our child.
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
            assert!(
                Instant::now() < deadline,
                "children {:?} still running after {limit:?}",
                self.0
            );
            if !self.0.is_empty() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        codes
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for &pid in &self.0 {
            // SAFETY: our children, not yet reaped.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
    }
}

/// Waits (in a child) until `counter` reaches `n`; false after `limit`.
pub fn wait_for(counter: &AtomicU64, n: u64, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while counter.load(Ordering::SeqCst) < n {
        if Instant::now() > until {
            return false;
        }
        // SAFETY: plain system call.
        unsafe { libc::sched_yield() };
    }
    true
}

/// Every buffer's shared refcount.
pub fn refcounts(pool: &SharedPool) -> Vec<u32> {
    (0..pool.nbuffers())
        .map(|b| refcount(pool.state(b)))
        .collect()
}

/// The test binary's `main`: runs the named tests one after another in
/// this thread (those whose name contains a filter argument, or all),
/// prints libtest-like lines, and panics if any failed.
pub fn run(tests: &[(&str, fn())]) {
    // libtest's options are accepted and ignored (scripts/test.sh passes
    // `--test-threads N` to every test binary); the value of an option
    // that takes one is not a filter.
    let mut filters: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if matches!(
            a.as_str(),
            "--test-threads" | "--skip" | "--format" | "--color" | "--logfile" | "-Z"
        ) {
            args.next();
        } else if !a.starts_with('-') {
            filters.push(a);
        }
    }
    let list = std::env::args().any(|a| a == "--list");
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, f) in tests {
        if !filters.is_empty() && !filters.iter().any(|x| name.contains(x.as_str())) {
            continue;
        }
        if list {
            println!("{name}: test");
            continue;
        }
        ran += 1;
        let t = Instant::now();
        let ok = std::panic::catch_unwind(f).is_ok();
        println!(
            "test {name} ... {} ({:.2}s)",
            if ok { "ok" } else { "FAILED" },
            t.elapsed().as_secs_f64()
        );
        if !ok {
            failed.push(*name);
        }
    }
    if list {
        return;
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        ran - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        panic!("failed: {failed:?}");
    }
}
