//! The notification queue of LISTEN/NOTIFY in shared memory: a byte ring
//! of committed notifications and one listener entry per proc slot.
//!
//! Why a fixed ring and not PostgreSQL's SLRU pages on disk: the queue
//! only has to hold what listeners have not read yet, so a bounded ring
//! (`QUEUE_BYTES`) in the registered region keeps it crash-safe for free
//! (a crash restart makes a new region, as PostgreSQL's queue is reset at
//! restart) and needs no files. When it is full, a committing NOTIFY fails
//! with PostgreSQL's 54000 "too many notifications in the NOTIFY queue",
//! and pg_notification_queue_usage() is the fraction in use.
//!
//! - Positions are byte counts since start (u64, never wrap); the ring
//!   index is `pos % QUEUE_BYTES`, so an entry may straddle the end and is
//!   copied in two pieces. `head` is where the next entry goes, `tail`
//!   the oldest byte some listener still needs (the minimum of listeners'
//!   positions, `head` when nobody listens).
//! - A committing transaction reserves the bytes of its notifications
//!   *before* its commit (so a full queue fails the transaction, as
//!   PostgreSQL's PreCommit_Notify), and appends them once committed (so a
//!   rolled-back transaction sends nothing and readers never see
//!   uncommitted entries: no xid check as PostgreSQL's is needed).
//! - A listener is registered at the commit of its first LISTEN with the
//!   position `head`: it gets what commits after, as PostgreSQL's. Each
//!   entry carries its database; a reader skips other databases' entries
//!   and filters channels itself (the channel list is per session).
//! - Wake-up: after appending, the writer sets the `signal` flag of every
//!   listener behind `head` and sets its latch. A backend idle on its
//!   client socket wakes on the latch, sees the flag and reads.
//!
//! One LWLock guards it all (PostgreSQL's NotifyQueueLock); entries are
//! small and read in one pass, so contention is low. All-zero is the
//! initial state (layout.rs's rule): empty queue, nobody listening.

use crate::layout::{AreaId, AreaSpec, Layout};
use crate::lwlock::{LwLock, LwMode, LwProcs};
use crate::procarray::ProcArray;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

/// The ring's size: 1 MiB, over a hundred maximal (8000-byte) payloads.
pub const QUEUE_BYTES: usize = 1 << 20;

/// Bytes before an entry's channel and payload: length, sender pid,
/// database, channel length, payload length.
pub const ENTRY_HEADER: usize = 16;

#[repr(C, align(64))]
struct Header {
    lock: LwLock,
    head: AtomicU64,
    tail: AtomicU64,
    /// Bytes reserved by transactions about to commit.
    reserved: AtomicU64,
    /// When the last "queue is n% full" warning was given (ms since the
    /// epoch; 0: never).
    last_warning_ms: AtomicU64,
}

/// One proc slot's listener state.
#[repr(C)]
struct Listener {
    /// The database it listens in; 0: not listening.
    db: AtomicU32,
    /// Set by a writer when there is something to read; taken by the
    /// listener before it reads.
    signal: AtomicU32,
    /// The next byte it reads.
    pos: AtomicU64,
}

const HEADER: usize = std::mem::size_of::<Header>();

/// The area: header, one listener per proc slot, the ring.
pub const AREA: AreaSpec = AreaSpec {
    id: AreaId::NotifyQueue,
    name: "notification queue",
    align: 64,
    size: |c| {
        let listeners = c.mul(c.z.total_procs(), std::mem::size_of::<Listener>())?;
        c.add(c.add(HEADER, listeners)?, QUEUE_BYTES)
    },
    init: crate::layout::init_zeroed,
};

/// One notification as read from the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub pid: i32,
    pub channel: String,
    pub payload: String,
}

/// The queue full: the caller reports 54000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// PostgreSQL's asyncQueueFillWarning: the queue is at least half full
/// (`fill`, 0..1), and the slowest listener, if any, is `oldest_pid`.
/// Given at most every [`WARNING_INTERVAL_MS`], server-wide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FillWarning {
    pub fill: f64,
    pub oldest_pid: Option<i32>,
}

/// PostgreSQL's QUEUE_FULL_WARN_INTERVAL.
pub const WARNING_INTERVAL_MS: u64 = 5000;

/// A view of the area. Any process attached to the region; every method
/// is called by the process owning proc slot `me`.
#[derive(Clone, Copy)]
pub struct NotifyQueue {
    base: *mut u8,
    nprocs: usize,
    procs: ProcArray,
}

/// Bytes an entry for `channel` and `payload` takes.
pub fn entry_size(channel: &str, payload: &str) -> u64 {
    (ENTRY_HEADER + channel.len() + payload.len()) as u64
}

impl NotifyQueue {
    /// # Safety
    /// `base` is the region `layout` was computed for, mapped for good;
    /// `procs` is its proc array.
    pub unsafe fn attach(base: *mut u8, layout: &Layout, procs: ProcArray) -> NotifyQueue {
        NotifyQueue {
            // SAFETY: the area lies inside the region.
            base: unsafe { base.add(layout.area(AreaId::NotifyQueue).offset) },
            nprocs: procs.len(),
            procs,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: attach's promise; all-zero is a valid header.
        unsafe { &*(self.base as *const Header) }
    }

    fn listener(&self, i: usize) -> &Listener {
        assert!(i < self.nprocs, "proc number out of range");
        // SAFETY: i < nprocs, inside the area; all-zero is valid.
        unsafe { &*(self.base.add(HEADER) as *const Listener).add(i) }
    }

    fn ring(&self) -> *mut u8 {
        // SAFETY: the ring follows the listeners inside the area.
        unsafe {
            self.base
                .add(HEADER + self.nprocs * std::mem::size_of::<Listener>())
        }
    }

    /// The ring's bytes, viewed as atomics: readers and the writer touch
    /// disjoint ranges under the lock, but the lock is another process's
    /// ordering, so atomics keep every access defined.
    fn byte(&self, pos: u64) -> &AtomicU8 {
        // SAFETY: the index is below QUEUE_BYTES, inside the ring.
        unsafe { &*(self.ring().add((pos % QUEUE_BYTES as u64) as usize) as *const AtomicU8) }
    }

    fn write_bytes(&self, pos: u64, bytes: &[u8]) {
        for (k, b) in bytes.iter().enumerate() {
            self.byte(pos + k as u64).store(*b, Ordering::Relaxed);
        }
    }

    fn read_bytes(&self, pos: u64, out: &mut [u8]) {
        for (k, b) in out.iter_mut().enumerate() {
            *b = self.byte(pos + k as u64).load(Ordering::Relaxed);
        }
    }

    /// Moves `tail` up to the slowest listener (or `head`). Under the
    /// lock, exclusive.
    fn advance_tail(&self) {
        let h = self.header();
        let head = h.head.load(Ordering::SeqCst);
        let mut tail = head;
        for i in 0..self.nprocs {
            let l = self.listener(i);
            if l.db.load(Ordering::SeqCst) != 0 {
                tail = tail.min(l.pos.load(Ordering::SeqCst));
            }
        }
        h.tail.store(tail, Ordering::SeqCst);
    }

    /// Registers slot `me` as a listener in database `db`, reading from
    /// what commits next (the commit of its first LISTEN).
    pub fn listen<P: LwProcs>(&self, lw: &P, me: u32, db: u32) {
        let h = self.header();
        let _g = h.lock.lock(lw, me, LwMode::Exclusive);
        let l = self.listener(me as usize);
        l.pos.store(h.head.load(Ordering::SeqCst), Ordering::SeqCst);
        l.signal.store(0, Ordering::SeqCst);
        l.db.store(db.max(1), Ordering::SeqCst);
    }

    /// Removes slot `me` from the listeners (its last UNLISTEN, or its
    /// exit), letting the tail move past what it had not read.
    pub fn unlisten<P: LwProcs>(&self, lw: &P, me: u32) {
        let h = self.header();
        let _g = h.lock.lock(lw, me, LwMode::Exclusive);
        let l = self.listener(me as usize);
        l.db.store(0, Ordering::SeqCst);
        l.signal.store(0, Ordering::SeqCst);
        self.advance_tail();
    }

    /// Reserves `bytes` for a transaction about to commit. The warning,
    /// when the queue is half full and none was given for a while, comes
    /// first (as PostgreSQL checks the fill before it refuses); then
    /// `QueueFull` when the queue cannot take the bytes.
    pub fn reserve<P: LwProcs>(
        &self,
        lw: &P,
        me: u32,
        bytes: u64,
    ) -> (Option<FillWarning>, Result<(), QueueFull>) {
        let h = self.header();
        let _g = h.lock.lock(lw, me, LwMode::Exclusive);
        self.advance_tail();
        let warning = self.fill_warning();
        let used = h.head.load(Ordering::SeqCst) - h.tail.load(Ordering::SeqCst)
            + h.reserved.load(Ordering::SeqCst);
        if used + bytes > QUEUE_BYTES as u64 {
            return (warning, Err(QueueFull));
        }
        h.reserved.fetch_add(bytes, Ordering::SeqCst);
        (warning, Ok(()))
    }

    /// PostgreSQL's asyncQueueFillWarning, under the lock.
    fn fill_warning(&self) -> Option<FillWarning> {
        let h = self.header();
        let fill = (h.head.load(Ordering::SeqCst) - h.tail.load(Ordering::SeqCst)) as f64
            / QUEUE_BYTES as f64;
        if fill < 0.5 {
            return None;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_millis() as u64)
            .max(1);
        let last = h.last_warning_ms.load(Ordering::SeqCst);
        if last != 0 && now.saturating_sub(last) < WARNING_INTERVAL_MS {
            return None;
        }
        h.last_warning_ms.store(now, Ordering::SeqCst);
        let tail = h.tail.load(Ordering::SeqCst);
        let oldest_pid = (0..self.nprocs)
            .find(|&i| {
                let l = self.listener(i);
                l.db.load(Ordering::SeqCst) != 0 && l.pos.load(Ordering::SeqCst) == tail
            })
            .map(|i| self.procs.proc(i).pid())
            .filter(|&pid| pid != 0);
        Some(FillWarning { fill, oldest_pid })
    }

    /// Gives back a reservation (the transaction aborted after all).
    pub fn unreserve<P: LwProcs>(&self, lw: &P, me: u32, bytes: u64) {
        let h = self.header();
        let _g = h.lock.lock(lw, me, LwMode::Exclusive);
        h.reserved.fetch_sub(bytes, Ordering::SeqCst);
    }

    /// Appends a committed transaction's notifications, whose bytes
    /// `reserve` set aside (`reserved`: their total), then flags and wakes
    /// every listener with something new to read.
    pub fn append<P: LwProcs>(
        &self,
        lw: &P,
        me: u32,
        pid: i32,
        db: u32,
        reserved: u64,
        entries: &[(String, String)],
    ) {
        let h = self.header();
        {
            let _g = h.lock.lock(lw, me, LwMode::Exclusive);
            let mut head = h.head.load(Ordering::SeqCst);
            for (channel, payload) in entries {
                let len = entry_size(channel, payload);
                let mut hdr = [0u8; ENTRY_HEADER];
                hdr[0..4].copy_from_slice(&(len as u32).to_le_bytes());
                hdr[4..8].copy_from_slice(&pid.to_le_bytes());
                hdr[8..12].copy_from_slice(&db.max(1).to_le_bytes());
                hdr[12..14].copy_from_slice(&(channel.len() as u16).to_le_bytes());
                hdr[14..16].copy_from_slice(&(payload.len() as u16).to_le_bytes());
                self.write_bytes(head, &hdr);
                self.write_bytes(head + ENTRY_HEADER as u64, channel.as_bytes());
                self.write_bytes(
                    head + (ENTRY_HEADER + channel.len()) as u64,
                    payload.as_bytes(),
                );
                head += len;
            }
            h.reserved.fetch_sub(reserved, Ordering::SeqCst);
            h.head.store(head, Ordering::SeqCst);
            // With nobody behind, the entries are consumed at once.
            self.advance_tail();
            for i in 0..self.nprocs {
                let l = self.listener(i);
                if l.db.load(Ordering::SeqCst) != 0 && l.pos.load(Ordering::SeqCst) < head {
                    l.signal.store(1, Ordering::SeqCst);
                }
            }
        }
        // Latches are set outside the lock: a woken listener takes it.
        for i in 0..self.nprocs {
            if self.listener(i).signal.load(Ordering::SeqCst) != 0 {
                self.procs.proc(i).waits().latch.set();
            }
        }
    }

    /// Slot `me`'s signal flag, for a check without the lock (the
    /// socket read's after a wake-up).
    pub fn signal_flag(&self, me: u32) -> &AtomicU32 {
        &self.listener(me as usize).signal
    }

    /// Whether slot `me` was told there is something to read. A
    /// listener, or its own signal handler path (no lock).
    pub fn signalled(&self, me: u32) -> bool {
        (me as usize) < self.nprocs && self.listener(me as usize).signal.load(Ordering::SeqCst) != 0
    }

    /// Reads everything of database `db` slot `me` has not read yet into
    /// `out`, in commit order, and moves its position to the head.
    pub fn read<P: LwProcs>(&self, lw: &P, me: u32, db: u32, out: &mut Vec<Notification>) {
        let h = self.header();
        let l = self.listener(me as usize);
        l.signal.store(0, Ordering::SeqCst);
        let _g = h.lock.lock(lw, me, LwMode::Exclusive);
        if l.db.load(Ordering::SeqCst) == 0 {
            return;
        }
        let head = h.head.load(Ordering::SeqCst);
        let mut pos = l.pos.load(Ordering::SeqCst);
        while pos < head {
            let mut hdr = [0u8; ENTRY_HEADER];
            self.read_bytes(pos, &mut hdr);
            let word = |k: usize| u32::from_le_bytes([hdr[k], hdr[k + 1], hdr[k + 2], hdr[k + 3]]);
            let half = |k: usize| u16::from_le_bytes([hdr[k], hdr[k + 1]]) as usize;
            let len = word(0) as u64;
            if len < ENTRY_HEADER as u64 {
                // Never written so: stop rather than loop.
                pos = head;
                break;
            }
            if word(8) == db.max(1) {
                let (cl, pl) = (half(12), half(14));
                let mut text = vec![0u8; cl + pl];
                self.read_bytes(pos + ENTRY_HEADER as u64, &mut text);
                let payload = String::from_utf8_lossy(&text[cl..]).into_owned();
                text.truncate(cl);
                out.push(Notification {
                    pid: word(4) as i32,
                    channel: String::from_utf8_lossy(&text).into_owned(),
                    payload,
                });
            }
            pos += len;
        }
        l.pos.store(pos, Ordering::SeqCst);
        self.advance_tail();
    }

    /// pg_notification_queue_usage(): the fraction of the ring holding
    /// entries some listener has not read.
    pub fn usage<P: LwProcs>(&self, lw: &P, me: u32) -> f64 {
        let h = self.header();
        let _g = h.lock.lock(lw, me, LwMode::Shared);
        let used = h.head.load(Ordering::SeqCst) - h.tail.load(Ordering::SeqCst);
        used as f64 / QUEUE_BYTES as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestRegion;

    fn entries(n: usize, payload_len: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| {
                (
                    format!("ch{}", i % 3),
                    format!("{i}:{}", "p".repeat(payload_len)),
                )
            })
            .collect()
    }

    fn send(
        q: &NotifyQueue,
        lw: &crate::testutil::RegionProcs,
        me: u32,
        db: u32,
        e: &[(String, String)],
    ) {
        let bytes = e.iter().map(|(c, p)| entry_size(c, p)).sum();
        q.reserve(lw, me, bytes).1.expect("room");
        q.append(lw, me, 4242, db, bytes, e);
    }

    /// Entries come back in order with their database filtered, also
    /// when they straddle the ring's end; a listener that does not read
    /// holds the queue until it leaves; usage follows it.
    #[test]
    fn entries_round_trip_across_the_wrap_and_a_slow_listener_fills_the_ring() {
        let r = TestRegion::new(4);
        let lw = r.lw();
        // SAFETY: the region stays mapped while `r` lives.
        let q = unsafe { NotifyQueue::attach(r.mem.base(), &r.layout, r.procs) };
        // SAFETY: plain system call.
        let me = r
            .procs
            .acquire_backend(unsafe { libc::getpid() }, false, 0)
            .unwrap() as u32;
        let slow = r.procs.acquire_backend(i32::MAX - 1, false, 0).unwrap() as u32;
        assert_eq!(q.usage(&lw, me), 0.0);
        q.listen(&lw, me, 5);
        let mut got = Vec::new();
        // Over three times the ring, read as it goes: positions wrap.
        for round in 0..40 {
            let e = entries(13, 900 + round);
            send(&q, &lw, me, 5, &e);
            send(&q, &lw, me, 6, &entries(2, 10));
            assert!(q.signalled(me));
            got.clear();
            q.read(&lw, me, 5, &mut got);
            assert!(!q.signalled(me));
            let want: Vec<_> = e
                .iter()
                .map(|(c, p)| Notification {
                    pid: 4242,
                    channel: c.clone(),
                    payload: p.clone(),
                })
                .collect();
            assert_eq!(got, want, "round {round}");
            assert_eq!(q.usage(&lw, me), 0.0);
        }
        // A listener that never reads: the ring fills and refuses.
        q.listen(&lw, slow, 5);
        let e = entries(1, 7900);
        let one = entry_size(&e[0].0, &e[0].1);
        let mut sent = 0u64;
        let mut warnings = 0;
        loop {
            let (w, r) = q.reserve(&lw, me, one);
            if let Some(w) = w {
                assert!(w.fill >= 0.5);
                // Both listeners are at the tail (neither read yet).
                // SAFETY: plain system call.
                let mine = unsafe { libc::getpid() };
                assert!(
                    [Some(mine), Some(i32::MAX - 1)].contains(&w.oldest_pid),
                    "{w:?}"
                );
                warnings += 1;
            }
            if r.is_err() {
                break;
            }
            q.append(&lw, me, 4242, 5, one, &e);
            sent += one;
        }
        assert_eq!(warnings, 1, "one warning per interval");
        assert!(sent + one > QUEUE_BYTES as u64 && sent <= QUEUE_BYTES as u64);
        got.clear();
        q.read(&lw, me, 5, &mut got);
        assert_eq!(got.len() as u64, sent / one);
        assert!(q.usage(&lw, me) > 0.9, "the slow listener holds the ring");
        assert_eq!(q.reserve(&lw, me, one), (None, Err(QueueFull)));
        q.unlisten(&lw, slow);
        assert_eq!(q.usage(&lw, me), 0.0);
        assert_eq!(q.reserve(&lw, me, one), (None, Ok(())));
        q.unreserve(&lw, me, one);
    }
}
