//! LWLocks: short-term shared/exclusive locks on structures in shared
//! memory (buffer mappings, the proc array, WAL insertion), as
//! PostgreSQL's `lwlock.c`.
//!
//! Why this shape: the uncontended path is one compare-and-swap on a
//! 32-bit state word, and a contended waiter sleeps in the kernel instead
//! of spinning, on its own System V semaphore (the only thing those
//! semaphores are for; interruptible sleeps use latches, see
//! [`crate::latch`]). A sleeping waiter is never woken early for an
//! interrupt: an LWLock is held only for a few instructions, and the
//! holder cannot be cancelled in the middle.
//!
//! The state word:
//!
//! ```text
//! bit 30  HAS_WAITERS   the wait list is not empty
//! bit 29  WAKE_PENDING  woken waiters have not run yet: a releaser must
//!                       not wake more (so that a burst of releases does
//!                       not wake the whole queue); PostgreSQL's
//!                       RELEASE_OK with the opposite sense
//! bit 28  LIST_LOCKED   the wait list is being changed (a spin bit)
//! bit 24  EXCLUSIVE     held exclusively
//! 0..=23  shared holders
//! ```
//!
//! The wait list is a doubly-linked list of proc numbers in shared memory:
//! head and tail in the lock, the links in each waiter's [`LwWaiter`] (in
//! its proc slot). Only a process holding LIST_LOCKED changes it. A link
//! holds the proc number plus one, and 0 means "none".
//!
//! Why all-zero bytes are a free lock (and why the flag's sense is
//! inverted from PostgreSQL's and the links are offset by one): locks live
//! in every buffer descriptor, and shared memory is a fresh, zero-filled
//! segment. If a free lock needed a non-zero word, starting the server
//! would write every descriptor, faulting in megabytes of pages per
//! gigabyte of shared_buffers (see [`crate::layout`]'s rule).
//!
//! Acquire: try the CAS; if the lock is taken, queue yourself, try once
//! more (the holder may have released in between, before it could see
//! you), and sleep on your semaphore until a releaser has taken you off
//! the list; then try again. Release: subtract your hold; if that freed
//! the lock and there are waiters and no WAKE_PENDING, take off the list every
//! shared waiter up to the first exclusive one, or the first waiter alone
//! if it is exclusive, then V their semaphores. Waiters are queued FIFO
//! and a waiter that was woken but lost the race to a newcomer goes back
//! to the head of the queue, not the tail, so a queued waiter is never
//! passed over by waiters queued after it. As in PostgreSQL, a process
//! that has not queued yet may still take a free lock ahead of the queue
//! (that keeps the uncontended path one CAS); a woken waiter competes with
//! it at once and keeps its place at the head if it loses.
//!
//! Stray V's: a semaphore's count could be raised by a hand-off this
//! process no longer waits for (it got the lock on its second try after a
//! releaser had already chosen it). The waiter therefore sleeps until its
//! `waiting` word says it was taken off the list, counts the wakeups it
//! absorbed that were not that one, and V's them back when it has the
//! lock (PostgreSQL's `extraWaits`), so a later sleep on the same
//! semaphore (a lock-manager wait) does not lose them.

use std::sync::atomic::{AtomicU32, Ordering};

const VAL_EXCLUSIVE: u32 = 1 << 24;
const SHARED_MASK: u32 = VAL_EXCLUSIVE - 1;
const LOCK_MASK: u32 = VAL_EXCLUSIVE | SHARED_MASK;
const FLAG_LIST_LOCKED: u32 = 1 << 28;
const FLAG_WAKE_PENDING: u32 = 1 << 29;
const FLAG_HAS_WAITERS: u32 = 1 << 30;

/// "No proc" in a wait-list link; any other link is a proc number plus
/// one ([`link`], [`procno`]).
const NONE: u32 = 0;

/// The link to `procno`.
fn link(procno: u32) -> u32 {
    procno + 1
}

/// The proc number a link (not [`NONE`]) points to.
fn procno(link: u32) -> u32 {
    debug_assert_ne!(link, NONE);
    link - 1
}

/// `LwWaiter::waiting` values.
const NOT_WAITING: u32 = 0;
const ON_LIST: u32 = 1;
/// Taken off the list by a releaser, which will V the semaphore.
const PENDING_WAKEUP: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LwMode {
    Shared,
    Exclusive,
}

impl LwMode {
    fn as_u32(self) -> u32 {
        match self {
            LwMode::Shared => 0,
            LwMode::Exclusive => 1,
        }
    }
}

/// One lock, in shared memory. All-zero bytes are a free lock with an
/// empty wait list, which is what [`LwLock::new`] builds.
#[repr(C)]
#[derive(Debug)]
pub struct LwLock {
    state: AtomicU32,
    head: AtomicU32,
    tail: AtomicU32,
    _pad: u32,
}

/// A process's wait state for LWLocks, in its proc slot. All-zero is "not
/// waiting, on no list".
#[repr(C)]
#[derive(Debug, Default)]
pub struct LwWaiter {
    waiting: AtomicU32,
    mode: AtomicU32,
    next: AtomicU32,
    prev: AtomicU32,
}

impl LwWaiter {
    /// True while the process sleeps (or is about to) for an LWLock.
    pub fn is_waiting(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) != NOT_WAITING
    }
}

/// What an LWLock needs from the processes that use it: their wait states
/// and their semaphores, by proc number.
pub trait LwProcs {
    fn waiter(&self, procno: u32) -> &LwWaiter;
    /// P on `procno`'s semaphore: sleeps until it is V'd, retrying EINTR;
    /// never returns early. Only `procno`'s own process calls it.
    fn sleep(&self, procno: u32);
    /// V on `procno`'s semaphore.
    fn wake(&self, procno: u32);
}

impl Default for LwLock {
    fn default() -> Self {
        LwLock::new()
    }
}

impl LwLock {
    /// A free lock: all-zero bytes, the same as a lock in fresh shared
    /// memory, which therefore needs no initialisation.
    pub const fn new() -> LwLock {
        LwLock {
            state: AtomicU32::new(0),
            head: AtomicU32::new(NONE),
            tail: AtomicU32::new(NONE),
            _pad: 0,
        }
    }

    /// Resets the lock to all-zero, free with an empty wait list: for
    /// memory that may hold something else. Fresh shared memory is zero
    /// already, so area inits need not call it. Only whoever owns the
    /// memory calls it, before any other process uses the lock.
    pub fn init(&self) {
        self.head.store(NONE, Ordering::SeqCst);
        self.tail.store(NONE, Ordering::SeqCst);
        self.state.store(0, Ordering::SeqCst);
    }

    /// Takes the lock if that needs no wait. True when taken.
    fn attempt(&self, mode: LwMode) -> bool {
        let mut old = self.state.load(Ordering::SeqCst);
        loop {
            let free = match mode {
                LwMode::Exclusive => old & LOCK_MASK == 0,
                LwMode::Shared => old & VAL_EXCLUSIVE == 0,
            };
            if !free {
                return false;
            }
            let add = match mode {
                LwMode::Exclusive => VAL_EXCLUSIVE,
                LwMode::Shared => 1,
            };
            match self.state.compare_exchange_weak(
                old,
                old + add,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(o) => old = o,
            }
        }
    }

    /// Takes the lock without waiting. Any process may call it.
    pub fn try_acquire(&self, mode: LwMode) -> bool {
        self.attempt(mode)
    }

    /// Takes the lock, sleeping on `me`'s semaphore while it is held in a
    /// conflicting mode. Called by the process whose proc number is `me`.
    pub fn acquire(&self, procs: &impl LwProcs, me: u32, mode: LwMode) {
        let mut extra_waits = 0u32;
        let mut woken_before = false;
        loop {
            if self.attempt(mode) {
                break;
            }
            self.queue_self(procs, me, mode, woken_before);
            // The holder may have released between the first try and the
            // queueing, before it could see us: try again.
            if self.attempt(mode) {
                self.dequeue_self(procs, me);
                break;
            }
            let w = procs.waiter(me);
            loop {
                procs.sleep(me);
                if w.waiting.load(Ordering::SeqCst) == NOT_WAITING {
                    break;
                }
                extra_waits += 1;
            }
            // We were woken, so a releaser set WAKE_PENDING; allow the
            // next release to wake waiters again.
            self.state.fetch_and(!FLAG_WAKE_PENDING, Ordering::SeqCst);
            woken_before = true;
        }
        for _ in 0..extra_waits {
            procs.wake(me);
        }
    }

    /// Releases a hold taken by [`LwLock::acquire`] or
    /// [`LwLock::try_acquire`] in the calling process. Which mode it was
    /// shows in the state word: while a process holds the lock
    /// exclusively, nobody holds it shared.
    pub fn release(&self, procs: &impl LwProcs) {
        let old = self.state.load(Ordering::SeqCst);
        let sub = if old & VAL_EXCLUSIVE != 0 {
            VAL_EXCLUSIVE
        } else {
            debug_assert!(old & SHARED_MASK != 0, "releasing an LWLock not held");
            1
        };
        let new = self.state.fetch_sub(sub, Ordering::SeqCst) - sub;
        if new & (FLAG_HAS_WAITERS | FLAG_WAKE_PENDING) == FLAG_HAS_WAITERS && new & LOCK_MASK == 0
        {
            self.wake_waiters(procs);
        }
    }

    /// Acquires and returns a guard that releases on drop.
    pub fn lock<'a, P: LwProcs>(&'a self, procs: &'a P, me: u32, mode: LwMode) -> LwGuard<'a, P> {
        self.acquire(procs, me, mode);
        LwGuard { lock: self, procs }
    }

    /// Is the lock held (in any mode) right now? For assertions and views.
    pub fn is_held(&self) -> bool {
        self.state.load(Ordering::SeqCst) & LOCK_MASK != 0
    }

    /// Spins until this process holds LIST_LOCKED; returns the state word
    /// with it set. The bit is held for a few loads and stores, so a short
    /// spin suffices; yield after a while in case the holder was
    /// preempted (two CPUs, many processes).
    fn lock_list(&self) -> u32 {
        let mut spins = 0u32;
        loop {
            let old = self.state.fetch_or(FLAG_LIST_LOCKED, Ordering::SeqCst);
            if old & FLAG_LIST_LOCKED == 0 {
                return old | FLAG_LIST_LOCKED;
            }
            while self.state.load(Ordering::SeqCst) & FLAG_LIST_LOCKED != 0 {
                spins += 1;
                if spins < 100 {
                    std::hint::spin_loop();
                } else {
                    // SAFETY: plain system call.
                    unsafe { libc::sched_yield() };
                }
            }
        }
    }

    /// Clears LIST_LOCKED, and `clear` / sets `set` in the same step.
    fn unlock_list(&self, clear: u32, set: u32) {
        let mut old = self.state.load(Ordering::SeqCst);
        loop {
            let new = (old & !(FLAG_LIST_LOCKED | clear)) | set;
            match self
                .state
                .compare_exchange_weak(old, new, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return,
                Err(o) => old = o,
            }
        }
    }

    /// Links `me` in at the tail (first wait) or the head (woken before
    /// and lost the race), under LIST_LOCKED.
    fn queue_self(&self, procs: &impl LwProcs, me: u32, mode: LwMode, at_head: bool) {
        let w = procs.waiter(me);
        self.lock_list();
        assert_eq!(
            w.waiting.load(Ordering::SeqCst),
            NOT_WAITING,
            "process {me} queued for an LWLock twice"
        );
        w.mode.store(mode.as_u32(), Ordering::SeqCst);
        let head = self.head.load(Ordering::SeqCst);
        let tail = self.tail.load(Ordering::SeqCst);
        let me_link = link(me);
        if at_head {
            w.prev.store(NONE, Ordering::SeqCst);
            w.next.store(head, Ordering::SeqCst);
            if head == NONE {
                self.tail.store(me_link, Ordering::SeqCst);
            } else {
                procs
                    .waiter(procno(head))
                    .prev
                    .store(me_link, Ordering::SeqCst);
            }
            self.head.store(me_link, Ordering::SeqCst);
        } else {
            w.next.store(NONE, Ordering::SeqCst);
            w.prev.store(tail, Ordering::SeqCst);
            if tail == NONE {
                self.head.store(me_link, Ordering::SeqCst);
            } else {
                procs
                    .waiter(procno(tail))
                    .next
                    .store(me_link, Ordering::SeqCst);
            }
            self.tail.store(me_link, Ordering::SeqCst);
        }
        w.waiting.store(ON_LIST, Ordering::SeqCst);
        self.unlock_list(0, FLAG_HAS_WAITERS);
    }

    /// Unlinks `who`; the caller holds LIST_LOCKED.
    fn unlink(&self, procs: &impl LwProcs, who: u32) {
        let w = procs.waiter(who);
        let prev = w.prev.load(Ordering::SeqCst);
        let next = w.next.load(Ordering::SeqCst);
        if prev == NONE {
            self.head.store(next, Ordering::SeqCst);
        } else {
            procs
                .waiter(procno(prev))
                .next
                .store(next, Ordering::SeqCst);
        }
        if next == NONE {
            self.tail.store(prev, Ordering::SeqCst);
        } else {
            procs
                .waiter(procno(next))
                .prev
                .store(prev, Ordering::SeqCst);
        }
    }

    /// Takes `me` off the list after its second try succeeded. If a
    /// releaser took it off first, its V is coming: absorb it, so it does
    /// not end a later sleep early.
    fn dequeue_self(&self, procs: &impl LwProcs, me: u32) {
        let w = procs.waiter(me);
        self.lock_list();
        let on_list = w.waiting.load(Ordering::SeqCst) == ON_LIST;
        if on_list {
            self.unlink(procs, me);
            w.waiting.store(NOT_WAITING, Ordering::SeqCst);
        }
        let empty = self.head.load(Ordering::SeqCst) == NONE;
        self.unlock_list(if empty { FLAG_HAS_WAITERS } else { 0 }, 0);
        if !on_list {
            // The releaser that chose us set WAKE_PENDING expecting us
            // to run; we have the lock anyway, so clear it.
            self.state.fetch_and(!FLAG_WAKE_PENDING, Ordering::SeqCst);
            let mut extra = 0u32;
            loop {
                procs.sleep(me);
                if w.waiting.load(Ordering::SeqCst) == NOT_WAITING {
                    break;
                }
                extra += 1;
            }
            for _ in 0..extra {
                procs.wake(me);
            }
        }
    }

    /// Takes the waiters to wake off the list and wakes them, in queue
    /// order: every shared waiter up to the first exclusive one, or the
    /// first waiter alone when it is exclusive.
    fn wake_waiters(&self, procs: &impl LwProcs) {
        self.lock_list();
        // The chosen waiters, chained through their `next` links (they
        // are off the list and asleep, so only we touch those links).
        // Links, not proc numbers: NONE ends a chain.
        let mut chain_head = NONE;
        let mut chain_tail = NONE;
        let mut cur = self.head.load(Ordering::SeqCst);
        let mut woke_any = false;
        while cur != NONE {
            let w = procs.waiter(procno(cur));
            let next = w.next.load(Ordering::SeqCst);
            let exclusive = w.mode.load(Ordering::SeqCst) == LwMode::Exclusive.as_u32();
            if woke_any && exclusive {
                cur = next;
                continue;
            }
            self.unlink(procs, procno(cur));
            w.waiting.store(PENDING_WAKEUP, Ordering::SeqCst);
            w.next.store(NONE, Ordering::SeqCst);
            if chain_tail == NONE {
                chain_head = cur;
            } else {
                procs
                    .waiter(procno(chain_tail))
                    .next
                    .store(cur, Ordering::SeqCst);
            }
            chain_tail = cur;
            woke_any = true;
            if exclusive {
                break;
            }
            cur = next;
        }
        let empty = self.head.load(Ordering::SeqCst) == NONE;
        let mut clear = if empty { FLAG_HAS_WAITERS } else { 0 };
        let mut set = 0;
        if woke_any {
            set |= FLAG_WAKE_PENDING;
        } else {
            clear |= FLAG_WAKE_PENDING;
        }
        self.unlock_list(clear, set);
        let mut cur = chain_head;
        while cur != NONE {
            let w = procs.waiter(procno(cur));
            // Read the link before the waiter may run and queue again.
            let next = w.next.load(Ordering::SeqCst);
            w.waiting.store(NOT_WAITING, Ordering::SeqCst);
            procs.wake(procno(cur));
            cur = next;
        }
    }
}

/// A held LWLock, released on drop.
pub struct LwGuard<'a, P: LwProcs> {
    lock: &'a LwLock,
    procs: &'a P,
}

impl<P: LwProcs> Drop for LwGuard<'_, P> {
    fn drop(&mut self) {
        self.lock.release(self.procs);
    }
}

#[cfg(test)]
mod tests;
