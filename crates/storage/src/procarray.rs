//! The proc array: one entry per process that can wait, in two
//! shared-memory areas, a hot [`Proc`] and a cold [`BackendStatus`].
//!
//! Why split (PostgreSQL's PGPROC and PgBackendStatus): `Proc` holds what
//! other processes touch on the hot paths (the xid and xmin that snapshots
//! scan, the latch that wakes the process, the LWLock and lock wait links
//! as proc numbers) and is one 64-byte cache line, so a snapshot scan
//! reads one line per process and never shares one with the 1.3 kB of
//! text that pg_stat_activity shows. `BackendStatus` holds that text and
//! the rest of what pg_stat_activity shows; outside readers (`tusk ctl`)
//! read only it.
//!
//! Entry order: `[0, max_connections)` client backends (the last
//! `superuser_reserved_connections` of them usable only by superusers),
//! then the auxiliary processes at fixed indexes, then one dummy entry per
//! prepared transaction. Entry `i` (its "proc number") owns semaphore
//! `i % 16` of set `i / 16`; the dummy entries own none (they never
//! wait). Each `Proc` holds its [`ProcWaits`]: the latch other processes
//! set to wake its owner, and the owner's LWLock wait links.
//!
//! Who writes what: a backend claims a free entry with a compare-and-swap
//! on `Proc::pid` (0 = free), copies its pid and kind into its
//! `BackendStatus`, and from then on is the only writer of both until it
//! clears them on exit (status first, so a reader never sees a status of
//! a free entry). Anyone may read. The variable-length text (database,
//! user, application, query) is published under a change counter, as
//! PostgreSQL's `st_changecount`: the writer makes it odd before writing
//! and even after, and a reader retries until it copies a stable even
//! version. The text is stored as 64-bit atomic words that both sides
//! copy with relaxed loads and stores (where PostgreSQL's C copies plain
//! bytes): a torn copy is then only a stale value the counter rejects,
//! never a data race in Rust's memory model. No lock is ever held, so a backend killed in the middle of an
//! update cannot block anyone; a crash restart re-creates both areas.
//!
//! The postmaster never reads these areas to make decisions (it keeps its
//! own table of children); it only zeroes them when it creates shared
//! memory (their [`PROCS_AREA`] and [`STATUS_AREA`] `init`). Of
//! [`SharedControl`] it reads the postmaster-signal bits ([`PmSignal`])
//! and the backup count, each checked against its own state.

use crate::latch::Latch;
use crate::layout::{init_zeroed, AreaId, AreaSpec, Layout, SizeCalc, SizeError, Sizing};
use crate::lwlock::LwWaiter;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicU64, Ordering};

pub const NAMEDATALEN: usize = 64;
/// PostgreSQL's default `track_activity_query_size`.
pub const QUERY_TEXT_SIZE: usize = 1024;

/// What kind of process holds a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ProcKind {
    Free = 0,
    ClientBackend = 1,
    Startup = 2,
    Checkpointer = 3,
    WalWriter = 4,
    BgWriter = 5,
}

impl ProcKind {
    fn from_u32(v: u32) -> ProcKind {
        match v {
            1 => ProcKind::ClientBackend,
            2 => ProcKind::Startup,
            3 => ProcKind::Checkpointer,
            4 => ProcKind::WalWriter,
            5 => ProcKind::BgWriter,
            _ => ProcKind::Free,
        }
    }

    /// `pg_stat_activity.backend_type`.
    pub fn backend_type(self) -> &'static str {
        match self {
            ProcKind::Free => "",
            ProcKind::ClientBackend => "client backend",
            ProcKind::Startup => "startup",
            ProcKind::Checkpointer => "checkpointer",
            ProcKind::WalWriter => "walwriter",
            ProcKind::BgWriter => "background writer",
        }
    }

    /// Fixed slot of an auxiliary process, counted after the client slots.
    pub fn aux_index(self) -> Option<usize> {
        match self {
            ProcKind::Startup => Some(0),
            ProcKind::Checkpointer => Some(1),
            ProcKind::WalWriter => Some(2),
            ProcKind::BgWriter => Some(3),
            _ => None,
        }
    }
}

/// `pg_stat_activity.state` of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum BackendState {
    Starting = 0,
    Idle = 1,
    Active = 2,
    IdleInTransaction = 3,
    IdleInTransactionAborted = 4,
}

impl BackendState {
    fn from_u32(v: u32) -> BackendState {
        match v {
            1 => BackendState::Idle,
            2 => BackendState::Active,
            3 => BackendState::IdleInTransaction,
            4 => BackendState::IdleInTransactionAborted,
            _ => BackendState::Starting,
        }
    }

    pub fn as_str(self) -> Option<&'static str> {
        match self {
            BackendState::Starting => None,
            BackendState::Idle => Some("idle"),
            BackendState::Active => Some("active"),
            BackendState::IdleInTransaction => Some("idle in transaction"),
            BackendState::IdleInTransactionAborted => Some("idle in transaction (aborted)"),
        }
    }
}

/// What a process is waiting for (`wait_event_type`, `wait_event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum WaitEvent {
    None = 0,
    ClientRead = 1,
    PgSleep = 2,
    CheckpointerMain = 3,
    Lock = 4,
    CheckpointDone = 5,
    WalWriterMain = 6,
    CheckpointWriteDelay = 7,
    BgWriterMain = 8,
    BgWriterHibernate = 9,
}

impl WaitEvent {
    fn from_u32(v: u32) -> WaitEvent {
        match v {
            1 => WaitEvent::ClientRead,
            2 => WaitEvent::PgSleep,
            3 => WaitEvent::CheckpointerMain,
            4 => WaitEvent::Lock,
            5 => WaitEvent::CheckpointDone,
            6 => WaitEvent::WalWriterMain,
            7 => WaitEvent::CheckpointWriteDelay,
            8 => WaitEvent::BgWriterMain,
            9 => WaitEvent::BgWriterHibernate,
            _ => WaitEvent::None,
        }
    }

    /// (wait_event_type, wait_event) as PostgreSQL names them.
    pub fn names(self) -> Option<(&'static str, &'static str)> {
        match self {
            WaitEvent::None => None,
            WaitEvent::ClientRead => Some(("Client", "ClientRead")),
            WaitEvent::PgSleep => Some(("Timeout", "PgSleep")),
            WaitEvent::CheckpointerMain => Some(("Activity", "CheckpointerMain")),
            WaitEvent::Lock => Some(("Lock", "transactionid")),
            WaitEvent::CheckpointDone => Some(("IPC", "CheckpointDone")),
            WaitEvent::WalWriterMain => Some(("Activity", "WalWriterMain")),
            WaitEvent::CheckpointWriteDelay => Some(("Timeout", "CheckpointWriteDelay")),
            WaitEvent::BgWriterMain => Some(("Activity", "BgWriterMain")),
            WaitEvent::BgWriterHibernate => Some(("Activity", "BgWriterHibernate")),
        }
    }
}

/// Text published under the change counter. Only `u8` fields, so it has
/// no padding and every byte pattern is a valid value: that is what lets
/// it travel through [`TextWords`].
#[repr(C)]
struct SlotText {
    datname: [u8; NAMEDATALEN],
    usename: [u8; NAMEDATALEN],
    application_name: [u8; NAMEDATALEN],
    /// 0 = none (Unix socket), 4 or 6; then the address bytes.
    client_family: u8,
    client_addr: [u8; 16],
    query: [u8; QUERY_TEXT_SIZE],
    /// pg_stat_ssl; an empty version: not a TLS connection. Strings are
    /// cut at NAMEDATALEN - 1 bytes, as PostgreSQL's PgBackendSSLStatus.
    ssl_version: [u8; 16],
    ssl_cipher: [u8; NAMEDATALEN],
    /// i32, native byte order (bytes keep SlotText free of padding).
    ssl_bits: [u8; 4],
    ssl_client_dn: [u8; NAMEDATALEN],
    ssl_client_serial: [u8; NAMEDATALEN],
    ssl_issuer_dn: [u8; NAMEDATALEN],
}

/// One session's TLS state as pg_stat_ssl shows it; the client fields are
/// None without a client certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslStatus {
    pub version: String,
    pub cipher: String,
    pub bits: i32,
    pub client_dn: Option<String>,
    pub client_serial: Option<String>,
    pub issuer_dn: Option<String>,
}

const TEXT_WORDS: usize = std::mem::size_of::<SlotText>().div_ceil(8);

/// The shared home of a [`SlotText`]: whole 64-bit atomic words, which
/// readers may copy while the owner stores.
type TextWords = [AtomicU64; TEXT_WORDS];

impl SlotText {
    fn from_words(words: &TextWords) -> SlotText {
        let mut bytes = [0u8; TEXT_WORDS * 8];
        for (chunk, w) in bytes.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&w.load(Ordering::Relaxed).to_ne_bytes());
        }
        // SAFETY: `bytes` holds at least size_of::<SlotText>() initialised
        // bytes; SlotText has alignment 1 (only u8 fields; the unaligned
        // read needs none anyway) and every byte pattern is valid for it.
        unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const SlotText) }
    }

    fn store_words(&self, words: &TextWords) {
        let mut bytes = [0u8; TEXT_WORDS * 8];
        // SAFETY: SlotText has no padding (only u8 fields, alignment 1), so
        // all size_of::<SlotText>() bytes of `self` are initialised, and
        // the destination is a distinct local buffer at least that long.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self as *const SlotText as *const u8,
                bytes.as_mut_ptr(),
                std::mem::size_of::<SlotText>(),
            )
        };
        for (chunk, w) in bytes.chunks_exact(8).zip(words) {
            let v = u64::from_ne_bytes(chunk.try_into().expect("8-byte chunk"));
            w.store(v, Ordering::Relaxed);
        }
    }
}

/// The wait-related part of a proc slot: what other processes touch to
/// wake this one or to queue it behind a lock. Kept in one struct, apart
/// from the status fields `pg_stat_activity` shows, because it is hot
/// (written on every lock wait and wakeup) and will move as a whole into
/// the slot's hot half.
///
/// Who writes what: the slot's owner owns the latch ([`Latch::own`],
/// [`Latch::disown`]) and resets it; anyone sets it. The LWLock wait
/// links belong to whoever holds the lock's wait-list bit
/// ([`crate::lwlock`]). `checkpoint_wait` is non-zero while the owner
/// waits for a checkpoint it requested; the checkpointer sets the latch of
/// every such slot when a checkpoint starts and when it ends.
#[repr(C)]
#[derive(Debug, Default)]
pub struct ProcWaits {
    pub latch: Latch,
    pub lwlock: LwWaiter,
    /// A flag (0/1); 32 bits so that `Proc` keeps 64-bit xids in one
    /// cache line.
    pub checkpoint_wait: AtomicU32,
}

/// The hot half of a proc entry (PostgreSQL's PGPROC): one cache line,
/// atomics only. `pid` is the claim (0 = free).
#[repr(C, align(64))]
pub struct Proc {
    pid: AtomicI32,
    kind: AtomicU32,
    /// Top-level transaction id, 0 = none (`PGPROC.xid`), 64 bits (issue
    /// 9: xids never wrap). Set under XidGenLock when assigned, cleared
    /// under ProcArrayLock at commit/abort ([`crate::transam`]).
    xid: AtomicU64,
    /// Oldest xid this process's snapshot may still see, 0 = none
    /// (`PGPROC.xmin`): the horizon vacuum must respect
    /// ([`crate::snapshot`]).
    xmin: AtomicU64,
    waits: ProcWaits,
    /// Heavyweight lock waited for: index in the lock table, or
    /// [`crate::lock::NO_ENTRY`]; the mode; and the next waiter on the
    /// same lock (a proc number). Written by the lock manager under the
    /// lock's partition lock.
    wait_lock: AtomicU32,
    wait_lock_mode: AtomicU32,
    lock_wait_next: AtomicU32,
}

const _: () = assert!(std::mem::size_of::<Proc>() == 64, "one cache line");

impl Proc {
    pub fn pid(&self) -> i32 {
        self.pid.load(Ordering::Acquire)
    }

    pub fn kind(&self) -> ProcKind {
        ProcKind::from_u32(self.kind.load(Ordering::Acquire))
    }

    /// The latch, LWLock wait state and checkpoint wait.
    pub fn waits(&self) -> &ProcWaits {
        &self.waits
    }

    pub fn xid(&self) -> u64 {
        self.xid.load(Ordering::Acquire)
    }

    /// Owner only.
    pub fn set_xid(&self, xid: u64) {
        self.xid.store(xid, Ordering::Release);
    }

    pub fn xmin(&self) -> u64 {
        self.xmin.load(Ordering::Acquire)
    }

    /// Owner only.
    pub fn set_xmin(&self, xmin: u64) {
        self.xmin.store(xmin, Ordering::Release);
    }

    /// The heavyweight lock this process waits for, if any.
    pub fn wait_lock(&self) -> Option<u32> {
        let l = self.wait_lock.load(Ordering::Acquire);
        (l != crate::lock::NO_ENTRY && l != 0).then_some(l)
    }

    /// The raw wait-lock word: the lock's index while waiting, 0 or
    /// [`crate::lock::NO_ENTRY`] when not. Read by the owner (was I
    /// granted?) and by the deadlock check under every partition lock.
    pub(crate) fn wait_lock_raw(&self) -> u32 {
        self.wait_lock.load(Ordering::SeqCst)
    }

    pub(crate) fn wait_lock_mode(&self) -> u32 {
        self.wait_lock_mode.load(Ordering::SeqCst)
    }

    /// Sets what this proc waits for. The lock manager only, under the
    /// lock's partition lock (the waiter queueing, or a granter setting
    /// [`crate::lock::NO_ENTRY`]).
    pub(crate) fn set_wait_lock(&self, lock: u32, mode: u32) {
        self.wait_lock_mode.store(mode, Ordering::SeqCst);
        self.wait_lock.store(lock, Ordering::SeqCst);
    }

    pub(crate) fn lock_wait_next(&self) -> u32 {
        self.lock_wait_next.load(Ordering::SeqCst)
    }

    /// Under the partition lock of the lock this proc waits for.
    pub(crate) fn set_lock_wait_next(&self, next: u32) {
        self.lock_wait_next.store(next, Ordering::SeqCst);
    }

    fn clear(&self) {
        self.waits.checkpoint_wait.store(0, Ordering::SeqCst);
        self.kind.store(0, Ordering::Release);
        self.xid.store(0, Ordering::Release);
        self.xmin.store(0, Ordering::Release);
        self.wait_lock.store(0, Ordering::Release);
        self.wait_lock_mode.store(0, Ordering::Release);
        self.lock_wait_next.store(0, Ordering::Release);
    }
}

/// The cold half (PostgreSQL's PgBackendStatus): what pg_stat_activity
/// shows. `#[repr(C)]` and only atomics and plain bytes, because other
/// processes read it. `pid` and `kind` are copies of the `Proc`'s, so an
/// outside reader needs only this area. `wait_event` lives here (not in
/// `Proc` as in PostgreSQL) for the same reason; it is one atomic store.
#[repr(C)]
pub struct BackendStatus {
    pid: AtomicI32,
    kind: AtomicU32,
    is_superuser: AtomicU32,
    state: AtomicU32,
    wait_event: AtomicU32,
    cancel_key: AtomicI32,
    client_port: AtomicI32,
    changecount: AtomicU32,
    /// µs since 2000-01-01; 0 = NULL.
    backend_start: AtomicI64,
    xact_start: AtomicI64,
    query_start: AtomicI64,
    state_change: AtomicI64,
    /// A [`SlotText`], consistent only under `changecount`.
    text: TextWords,
}

fn put(dst: &mut [u8], src: &str) {
    // Truncate at a character boundary so readers always see valid UTF-8.
    let mut n = src.len().min(dst.len() - 1);
    while !src.is_char_boundary(n) {
        n -= 1;
    }
    dst[..n].copy_from_slice(&src.as_bytes()[..n]);
    dst[n..].fill(0);
}

fn get(src: &[u8]) -> String {
    let end = src.iter().position(|&b| b == 0).unwrap_or(src.len());
    String::from_utf8_lossy(&src[..end]).into_owned()
}

/// A consistent copy of one slot, for `pg_stat_activity`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcInfo {
    pub index: usize,
    pub pid: i32,
    pub kind: ProcKind,
    pub is_superuser: bool,
    pub state: BackendState,
    pub wait_event: WaitEvent,
    pub datname: String,
    pub usename: String,
    pub application_name: String,
    pub client_addr: Option<std::net::IpAddr>,
    pub client_port: Option<i32>,
    pub backend_start: Option<i64>,
    pub xact_start: Option<i64>,
    pub query_start: Option<i64>,
    pub state_change: Option<i64>,
    pub query: String,
    /// None: not a TLS connection.
    pub ssl: Option<SslStatus>,
}

impl BackendStatus {
    pub fn pid(&self) -> i32 {
        self.pid.load(Ordering::Acquire)
    }

    pub fn kind(&self) -> ProcKind {
        ProcKind::from_u32(self.kind.load(Ordering::Acquire))
    }

    /// Owner only: the slot's owner is the one writer, so the copy it
    /// starts from is the current text.
    fn write_text(&self, f: impl FnOnce(&mut SlotText)) {
        let mut t = SlotText::from_words(&self.text);
        f(&mut t);
        self.changecount.fetch_add(1, Ordering::AcqRel);
        std::sync::atomic::fence(Ordering::Release);
        t.store_words(&self.text);
        std::sync::atomic::fence(Ordering::Release);
        self.changecount.fetch_add(1, Ordering::AcqRel);
    }

    /// Publishes the session identity. Called once by the owning backend
    /// after authentication.
    pub fn set_identity(
        &self,
        datname: &str,
        usename: &str,
        application_name: &str,
        client: Option<std::net::SocketAddr>,
        is_superuser: bool,
        backend_start: i64,
    ) {
        self.is_superuser
            .store(is_superuser as u32, Ordering::Release);
        self.backend_start.store(backend_start, Ordering::Release);
        self.client_port.store(
            client.map(|c| c.port() as i32).unwrap_or(-1),
            Ordering::Release,
        );
        self.write_text(|t| {
            put(&mut t.datname, datname);
            put(&mut t.usename, usename);
            put(&mut t.application_name, application_name);
            match client.map(|c| c.ip()) {
                Some(std::net::IpAddr::V4(a)) => {
                    t.client_family = 4;
                    t.client_addr[..4].copy_from_slice(&a.octets());
                }
                Some(std::net::IpAddr::V6(a)) => {
                    t.client_family = 6;
                    t.client_addr.copy_from_slice(&a.octets());
                }
                None => t.client_family = 0,
            }
        });
    }

    /// Publishes the connection's TLS state for pg_stat_ssl. Called once
    /// by the owning backend after authentication.
    pub fn set_ssl(&self, ssl: Option<&SslStatus>) {
        self.write_text(|t| {
            let s = ssl.cloned().unwrap_or_default();
            put(&mut t.ssl_version, &s.version);
            put(&mut t.ssl_cipher, &s.cipher);
            t.ssl_bits = s.bits.to_ne_bytes();
            put(&mut t.ssl_client_dn, s.client_dn.as_deref().unwrap_or(""));
            put(
                &mut t.ssl_client_serial,
                s.client_serial.as_deref().unwrap_or(""),
            );
            put(&mut t.ssl_issuer_dn, s.issuer_dn.as_deref().unwrap_or(""));
        });
    }

    pub fn set_application_name(&self, name: &str) {
        self.write_text(|t| put(&mut t.application_name, name));
    }

    /// Publishes the state, and the query text when one starts.
    pub fn set_state(&self, state: BackendState, query: Option<&str>, now: i64) {
        if let Some(q) = query {
            self.query_start.store(now, Ordering::Release);
            self.write_text(|t| put(&mut t.query, q));
        }
        self.state.store(state as u32, Ordering::Release);
        self.state_change.store(now, Ordering::Release);
    }

    /// Transaction start time (0 = not in a transaction).
    pub fn set_xact_start(&self, t: i64) {
        self.xact_start.store(t, Ordering::Release);
    }

    pub fn set_wait_event(&self, w: WaitEvent) {
        self.wait_event.store(w as u32, Ordering::Release);
    }

    pub fn set_cancel_key(&self, key: i32) {
        self.cancel_key.store(key, Ordering::Release);
    }

    pub fn cancel_key(&self) -> i32 {
        self.cancel_key.load(Ordering::Acquire)
    }

    fn read(&self, index: usize) -> Option<ProcInfo> {
        for _ in 0..1000 {
            let before = self.changecount.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let pid = self.pid.load(Ordering::Acquire);
            if pid == 0 {
                return None;
            }
            // Word-wise atomic loads: a copy torn by a concurrent write is
            // rejected by the change counter below.
            let text = SlotText::from_words(&self.text);
            std::sync::atomic::fence(Ordering::Acquire);
            if self.changecount.load(Ordering::Acquire) != before {
                continue;
            }
            let opt = |v: i64| if v == 0 { None } else { Some(v) };
            let client_addr = match text.client_family {
                4 => Some(std::net::IpAddr::from(
                    <[u8; 4]>::try_from(&text.client_addr[..4]).ok()?,
                )),
                6 => Some(std::net::IpAddr::from(text.client_addr)),
                _ => None,
            };
            let port = self.client_port.load(Ordering::Acquire);
            return Some(ProcInfo {
                index,
                pid,
                kind: self.kind(),
                is_superuser: self.is_superuser.load(Ordering::Acquire) != 0,
                state: BackendState::from_u32(self.state.load(Ordering::Acquire)),
                wait_event: WaitEvent::from_u32(self.wait_event.load(Ordering::Acquire)),
                datname: get(&text.datname),
                usename: get(&text.usename),
                application_name: get(&text.application_name),
                client_port: if client_addr.is_some() {
                    Some(port)
                } else {
                    None
                },
                client_addr,
                backend_start: opt(self.backend_start.load(Ordering::Acquire)),
                xact_start: opt(self.xact_start.load(Ordering::Acquire)),
                query_start: opt(self.query_start.load(Ordering::Acquire)),
                state_change: opt(self.state_change.load(Ordering::Acquire)),
                query: get(&text.query),
                ssl: if text.ssl_version[0] == 0 {
                    None
                } else {
                    let opt = |b: &[u8]| Some(get(b)).filter(|s| !s.is_empty());
                    Some(SslStatus {
                        version: get(&text.ssl_version),
                        cipher: get(&text.ssl_cipher),
                        bits: i32::from_ne_bytes(text.ssl_bits),
                        client_dn: opt(&text.ssl_client_dn),
                        client_serial: opt(&text.ssl_client_serial),
                        issuer_dn: opt(&text.ssl_issuer_dn),
                    })
                },
            });
        }
        None
    }

    /// Publishes the claim (owner, right after claiming the `Proc`).
    fn claim(&self, pid: i32, kind: ProcKind) {
        self.kind.store(kind as u32, Ordering::Release);
        self.pid.store(pid, Ordering::Release);
    }

    fn clear(&self) {
        self.pid.store(0, Ordering::Release);
        self.kind.store(0, Ordering::Release);
        self.state.store(0, Ordering::Release);
        self.wait_event.store(0, Ordering::Release);
        self.xact_start.store(0, Ordering::Release);
        self.query_start.store(0, Ordering::Release);
        self.backend_start.store(0, Ordering::Release);
        self.write_text(|t| {
            t.datname.fill(0);
            t.usename.fill(0);
            t.application_name.fill(0);
            t.query.fill(0);
            t.client_family = 0;
            t.ssl_version.fill(0);
            t.ssl_cipher.fill(0);
            t.ssl_bits = [0; 4];
            t.ssl_client_dn.fill(0);
            t.ssl_client_serial.fill(0);
            t.ssl_issuer_dn.fill(0);
        });
    }
}

/// Why a backend could not get a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotError {
    /// Every client slot is taken: `53300 sorry, too many clients already`.
    TooMany,
    /// Only reserved slots are left and the user is not a superuser.
    Reserved,
}

/// Flags the postmaster and its children share, outside the proc array
/// ([`crate::layout::CONTROL_AREA`]).
#[repr(C)]
pub struct SharedControl {
    /// Why the postmaster sent SIGQUIT, so backends tell their clients the
    /// right thing: 0 = unknown, 1 = immediate shutdown, 2 = crash of
    /// another process.
    pub quit_reason: AtomicU32,
    /// Set while an online backup is in progress (`pg_backup_start`).
    pub backup_in_progress: AtomicU32,
    /// Postmaster signals (PostgreSQL's PMSignal): one bit per
    /// [`PmSignal`], set by a child before it sends the postmaster
    /// SIGUSR1, taken (cleared) by the postmaster when it handles SIGUSR1.
    pub pm_signals: AtomicU32,
    pub pad: u32,
    /// Checkpoint requests and starts, packed in one word so that a
    /// request and a start are ordered against each other by one atomic
    /// operation (PostgreSQL uses a spinlock): low 32 bits, requests made
    /// (`CHECKPOINT`); high 32 bits, checkpoints started by the
    /// checkpointer. A start takes every request made before it.
    checkpoints_requested: std::sync::atomic::AtomicU64,
    /// Number (in start order) of the last checkpoint finished.
    checkpoints_done: std::sync::atomic::AtomicU64,
    /// Checkpoints that failed, ever.
    checkpoints_failed: std::sync::atomic::AtomicU64,
    /// The request count the last start took (checkpointer only).
    served_requests: std::sync::atomic::AtomicU64,
    /// pg_stat_bgwriter's counters.
    pub bgwriter: BgWriterStats,
    /// The catalog's generation: bumped by every transaction that
    /// committed catalog changes (DDL), after its commit. A backend whose
    /// catalog cache was filled at an older generation drops it (the
    /// shared invalidation signal; zero is a valid start).
    pub catalog_generation: std::sync::atomic::AtomicU64,
}

/// pg_stat_bgwriter's counters (PostgreSQL 15's columns), kept in shared
/// memory since the server started: the checkpointer counts checkpoints
/// and their buffers and times, the background writer its cleaning
/// rounds, backends the buffers they allocate and write themselves.
/// Relaxed atomics: each is a monotonic counter read for display only.
/// All-zero is "nothing counted yet".
#[repr(C)]
#[derive(Default)]
pub struct BgWriterStats {
    pub checkpoints_timed: AtomicU64,
    pub checkpoints_req: AtomicU64,
    /// Microseconds spent writing and syncing, over all checkpoints.
    pub checkpoint_write_time_us: AtomicU64,
    pub checkpoint_sync_time_us: AtomicU64,
    pub buffers_checkpoint: AtomicU64,
    pub buffers_clean: AtomicU64,
    pub maxwritten_clean: AtomicU64,
    pub buffers_backend: AtomicU64,
    pub buffers_alloc: AtomicU64,
}

impl BgWriterStats {
    /// A checkpoint of either cause starts. Checkpointer.
    pub fn checkpoint_started(&self, timed: bool) {
        let c = if timed {
            &self.checkpoints_timed
        } else {
            &self.checkpoints_req
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// A checkpoint wrote `buffers` in `write` and synced in `sync`.
    /// Checkpointer (or the startup process at the end of recovery).
    pub fn checkpoint_done(
        &self,
        buffers: u64,
        write: std::time::Duration,
        sync: std::time::Duration,
    ) {
        self.buffers_checkpoint
            .fetch_add(buffers, Ordering::Relaxed);
        self.checkpoint_write_time_us
            .fetch_add(write.as_micros() as u64, Ordering::Relaxed);
        self.checkpoint_sync_time_us
            .fetch_add(sync.as_micros() as u64, Ordering::Relaxed);
    }
}

/// What a `CHECKPOINT` waits for: the first checkpoint that starts after
/// its request, and whether any failed meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointTicket {
    target: u64,
    failed_before: u64,
}

const CKPT_REQUEST: u64 = 1;
const CKPT_START: u64 = 1 << 32;

impl SharedControl {
    /// Records a checkpoint request. Called by a backend (`CHECKPOINT`),
    /// which then wakes the checkpointer and waits on its own latch until
    /// [`SharedControl::checkpoint_outcome`] says the checkpoint is over.
    pub fn request_checkpoint(&self) -> CheckpointTicket {
        let failed_before = self.checkpoints_failed.load(Ordering::SeqCst);
        let word = self
            .checkpoints_requested
            .fetch_add(CKPT_REQUEST, Ordering::SeqCst);
        CheckpointTicket {
            // Whatever started before our request may not include it.
            target: (word >> 32) + 1,
            failed_before,
        }
    }

    /// `None` while the checkpoint a ticket waits for has not finished;
    /// then `Some(true)` if no checkpoint failed since the request (as
    /// PostgreSQL, a failure of a concurrent checkpoint counts).
    pub fn checkpoint_outcome(&self, t: &CheckpointTicket) -> Option<bool> {
        if self.checkpoints_done.load(Ordering::SeqCst) < t.target {
            return None;
        }
        Some(self.checkpoints_failed.load(Ordering::SeqCst) == t.failed_before)
    }

    /// Whether a request waits that the last start did not take: a
    /// spread checkpoint then finishes at full speed (PostgreSQL's
    /// ImmediateCheckpointRequested). Checkpointer.
    pub fn checkpoint_request_pending(&self) -> bool {
        let requests = self.checkpoints_requested.load(Ordering::SeqCst) & (CKPT_START - 1);
        requests != self.served_requests.load(Ordering::SeqCst)
    }

    /// Starts a checkpoint if one was requested since the last start, and
    /// returns its number. Called only by the checkpointer.
    pub fn start_requested_checkpoint(&self) -> Option<u64> {
        let mut word = self.checkpoints_requested.load(Ordering::SeqCst);
        loop {
            let requests = word & (CKPT_START - 1);
            let started = word >> 32;
            if requests == self.served_requests.load(Ordering::SeqCst) {
                return None;
            }
            match self.checkpoints_requested.compare_exchange(
                word,
                word + CKPT_START,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    self.served_requests.store(requests, Ordering::SeqCst);
                    return Some(started + 1);
                }
                Err(w) => word = w,
            }
        }
    }

    /// Records the end of checkpoint `n`. Called only by the checkpointer,
    /// which then sets the latch of every slot waiting for a checkpoint.
    pub fn finish_checkpoint(&self, n: u64, ok: bool) {
        if !ok {
            self.checkpoints_failed.fetch_add(1, Ordering::SeqCst);
        }
        self.checkpoints_done.store(n, Ordering::SeqCst);
    }
}

pub const QUIT_REASON_IMMEDIATE: u32 = 1;
pub const QUIT_REASON_CRASH: u32 = 2;

/// Why a child signals the postmaster (SIGUSR1 + a bit in
/// [`SharedControl::pm_signals`]), as PostgreSQL's PMSignalReason. The
/// postmaster acts on a reason only in the state where it makes sense and
/// while the child that sends it exists, so a corrupted bit can at worst
/// advance a start-up step that was about to happen anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum PmSignal {
    /// The startup process finished recovery: the cluster is consistent
    /// and in production.
    RecoveryFinished = 0,
    /// The checkpointer holds its proc slot and handles requests
    /// (CHECKPOINT, the shutdown checkpoint).
    CheckpointerReady = 1,
    /// The autovacuum launcher wants a worker for the database it wrote
    /// into the table-statistics area (`pgstat::StatsHeader`).
    StartAutovacWorker = 2,
}

impl PmSignal {
    pub const ALL: [PmSignal; 3] = [
        PmSignal::RecoveryFinished,
        PmSignal::CheckpointerReady,
        PmSignal::StartAutovacWorker,
    ];

    pub fn bit(self) -> u32 {
        1 << self as u32
    }
}

impl SharedControl {
    /// Records `why` for the postmaster. A child calls this, then sends
    /// SIGUSR1 to the postmaster; setting the bit first means the
    /// postmaster, woken by the signal, always finds it.
    pub fn raise_pm_signal(&self, why: PmSignal) {
        self.pm_signals.fetch_or(why.bit(), Ordering::SeqCst);
    }

    /// Takes every reason raised since the last call, in [`PmSignal::ALL`]
    /// order; unknown bits are dropped. The postmaster only, on SIGUSR1.
    pub fn take_pm_signals(&self) -> Vec<PmSignal> {
        let bits = self.pm_signals.swap(0, Ordering::SeqCst);
        PmSignal::ALL
            .into_iter()
            .filter(|s| bits & s.bit() != 0)
            .collect()
    }
}

/// A view of the proc array (both areas) in a mapped region.
#[derive(Clone, Copy)]
pub struct ProcArray {
    procs: *const Proc,
    statuses: *const BackendStatus,
    len: usize,
    max_connections: usize,
}

fn procs_size(c: &SizeCalc) -> Result<usize, SizeError> {
    c.mul(c.z.total_procs(), std::mem::size_of::<Proc>())
}

fn status_size(c: &SizeCalc) -> Result<usize, SizeError> {
    c.mul(c.z.total_procs(), std::mem::size_of::<BackendStatus>())
}

/// The hot `Proc` entries. All-zero is "free, no xid, not waiting".
pub const PROCS_AREA: AreaSpec = AreaSpec {
    id: AreaId::Procs,
    name: "procs",
    align: 64,
    size: procs_size,
    init: init_zeroed,
};

/// The `BackendStatus` entries. All-zero is "free".
pub const STATUS_AREA: AreaSpec = AreaSpec {
    id: AreaId::BackendStatus,
    name: "backend status",
    align: 64,
    size: status_size,
    init: init_zeroed,
};

impl ProcArray {
    /// # Safety
    /// `procs` and `statuses` must point to `len` entries each inside a
    /// mapping that outlives every use of the returned view (shared memory
    /// stays mapped for the life of the process).
    pub unsafe fn from_raw(
        procs: *mut u8,
        statuses: *mut u8,
        len: usize,
        max_connections: usize,
    ) -> ProcArray {
        ProcArray {
            procs: procs as *const Proc,
            statuses: statuses as *const BackendStatus,
            len,
            max_connections,
        }
    }

    /// The view of a region laid out by `layout` for `z`, mapped at `base`.
    ///
    /// # Safety
    /// `base` must be the region `layout` was computed for, mapped for the
    /// life of every use of the view.
    pub unsafe fn attach(base: *mut u8, layout: &Layout, z: &Sizing) -> ProcArray {
        // SAFETY: both areas lie inside the region (the caller's promise).
        unsafe {
            ProcArray::from_raw(
                base.add(layout.area(AreaId::Procs).offset),
                base.add(layout.area(AreaId::BackendStatus).offset),
                z.total_procs(),
                z.max_connections,
            )
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Entry `i`'s hot half.
    pub fn proc(&self, i: usize) -> &Proc {
        assert!(i < self.len, "proc number {i} out of range ({})", self.len);
        // SAFETY: in range, and the mapping outlives self (from_raw).
        unsafe { &*self.procs.add(i) }
    }

    /// Entry `i`'s status (what pg_stat_activity shows).
    pub fn status(&self, i: usize) -> &BackendStatus {
        assert!(i < self.len, "proc number {i} out of range ({})", self.len);
        // SAFETY: in range, and the mapping outlives self (from_raw).
        unsafe { &*self.statuses.add(i) }
    }

    fn claim(&self, i: usize, pid: i32, kind: ProcKind) {
        self.proc(i).kind.store(kind as u32, Ordering::Release);
        self.status(i).claim(pid, kind);
    }

    /// Claims a client entry for `pid`. The reserved-slot rule is checked
    /// after claiming, as PostgreSQL does, so two racing backends cannot
    /// both slip into the last unreserved slot.
    pub fn acquire_backend(
        &self,
        pid: i32,
        is_superuser: bool,
        reserved: usize,
    ) -> Result<usize, SlotError> {
        let mut claimed = None;
        for i in 0..self.max_connections {
            if self
                .proc(i)
                .pid
                .compare_exchange(0, pid, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                self.claim(i, pid, ProcKind::ClientBackend);
                claimed = Some(i);
                break;
            }
        }
        let i = claimed.ok_or(SlotError::TooMany)?;
        if !is_superuser && reserved > 0 {
            let free = (0..self.max_connections)
                .filter(|&j| self.proc(j).pid() == 0)
                .count();
            if free < reserved {
                self.release(i);
                return Err(SlotError::Reserved);
            }
        }
        Ok(i)
    }

    /// Claims the fixed entry of an auxiliary process.
    pub fn acquire_aux(&self, kind: ProcKind, pid: i32) -> usize {
        let i = self.max_connections + kind.aux_index().expect("auxiliary kind");
        self.proc(i).pid.store(pid, Ordering::Release);
        self.claim(i, pid, kind);
        i
    }

    /// Frees an entry. Called by its owner on every exit path. The latch
    /// is given up first, so that from then on neither this process's
    /// signal handlers nor another process's `set` can reach the entry's
    /// next owner through it. (The semaphore needs no such step: only an
    /// LWLock release V's it, and only for a process queued on that lock,
    /// which an exiting process is not.) Then the status, then the `Proc`,
    /// whose pid is the claim.
    pub fn release(&self, i: usize) {
        let p = self.proc(i);
        debug_assert!(!p.waits.lwlock.is_waiting());
        p.waits.latch.disown();
        self.status(i).clear();
        p.clear();
        p.pid.store(0, Ordering::Release);
    }

    /// The entry of a live process, if it has one.
    pub fn find_pid(&self, pid: i32) -> Option<usize> {
        (0..self.len).find(|&i| self.proc(i).pid() == pid)
    }

    /// Consistent copies of every occupied status entry.
    pub fn snapshot(&self) -> Vec<ProcInfo> {
        (0..self.len)
            .filter_map(|i| self.status(i).read(i))
            .collect()
    }

    /// Zeroes every entry, as the areas' `init` does; for tests that build
    /// an array outside a segment.
    ///
    /// # Safety
    /// No other process or thread may use the entries meanwhile: the
    /// zeroing is plain stores, which would race with their atomics.
    pub unsafe fn init(&self) {
        for i in 0..self.len {
            // SAFETY: in range (i < len entries of the mapping, from_raw's
            // contract), all-zero is a valid Proc and BackendStatus, and
            // the caller promises exclusive use.
            unsafe {
                std::ptr::write_bytes(self.procs.add(i) as *mut Proc, 0, 1);
                std::ptr::write_bytes(self.statuses.add(i) as *mut BackendStatus, 0, 1);
            }
        }
    }
}

/// Why a backend-status area described by a segment header cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionError {
    /// The area does not lie inside the mapped region.
    OutOfBounds {
        offset: u64,
        size: u64,
        region_size: usize,
    },
    /// The area's offset is not aligned for [`BackendStatus`].
    Misaligned { offset: u64, align: usize },
}

impl std::fmt::Display for RegionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegionError::OutOfBounds { offset, size, region_size } => write!(
                f,
                "the backend status area (offset {offset}, {size} bytes) does not fit in the {region_size}-byte shared memory region; the segment header is corrupt or from another tusk version"
            ),
            RegionError::Misaligned { offset, align } => write!(
                f,
                "the backend status area offset {offset} is not a multiple of {align}; the segment header is corrupt or from another tusk version"
            ),
        }
    }
}

impl std::error::Error for RegionError {}

/// How many entries a backend-status area of `area_size` bytes holds:
/// what a reader outside the server (which does not know the settings)
/// uses as the entry count.
pub const fn slots_in_area(area_size: usize) -> usize {
    area_size / std::mem::size_of::<BackendStatus>()
}

/// Consistent copies of the occupied slots of a proc array that another
/// process placed at `offset..offset + size` of a region mapped at `base`
/// (`tusk ctl stop` reads the server's segment this way, attached
/// read-only, while new connections are refused). Offset and size come
/// from the segment header, which this process did not write, so they are
/// checked against the region before anything is read. Reading only loads,
/// so a read-only mapping is enough.
///
/// # Safety
/// `base` must point to `region_size` readable bytes of a mapping that
/// stays mapped during the call.
pub unsafe fn snapshot_in_region(
    base: *const u8,
    region_size: usize,
    offset: u64,
    size: u64,
) -> Result<Vec<ProcInfo>, RegionError> {
    // SAFETY: the caller's promise, passed on.
    Ok(unsafe { StatusReader::in_region(base, region_size, offset, size) }?.snapshot())
}

/// A read-only view of a backend-status area, for readers outside the
/// server (`tusk ctl`, test harnesses) that attach the segment read-only:
/// it has no method that stores, so it cannot claim, publish or release.
pub struct StatusReader {
    statuses: *const BackendStatus,
    len: usize,
}

impl StatusReader {
    /// Checks that `offset..offset + size` (from a segment header this
    /// process did not write) lies inside the region mapped at `base` and
    /// is aligned, and views it.
    ///
    /// # Safety
    /// `base` must point to `region_size` readable bytes of a mapping that
    /// stays mapped while the reader is used.
    pub unsafe fn in_region(
        base: *const u8,
        region_size: usize,
        offset: u64,
        size: u64,
    ) -> Result<StatusReader, RegionError> {
        let end = offset.checked_add(size);
        if end.is_none_or(|e| e > region_size as u64) {
            return Err(RegionError::OutOfBounds {
                offset,
                size,
                region_size,
            });
        }
        let align = std::mem::align_of::<BackendStatus>();
        if !(base as usize + offset as usize).is_multiple_of(align) {
            return Err(RegionError::Misaligned { offset, align });
        }
        // The count does not need max_connections: reading never claims an
        // entry, and each entry says which kind of process holds it.
        Ok(StatusReader {
            // SAFETY: inside the region (checked above).
            statuses: unsafe { base.add(offset as usize) } as *const BackendStatus,
            len: slots_in_area(size as usize),
        })
    }

    /// Consistent copies of the occupied entries. Only loads.
    pub fn snapshot(&self) -> Vec<ProcInfo> {
        (0..self.len)
            .filter_map(|i| {
                // SAFETY: i < len entries inside the mapped region
                // (in_region's checks and contract).
                unsafe { &*self.statuses.add(i) }.read(i)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array(total: usize, conns: usize) -> (Vec<u8>, ProcArray) {
        let procs = total * std::mem::size_of::<Proc>();
        let mut mem = vec![0u8; procs + total * std::mem::size_of::<BackendStatus>() + 64];
        let base = mem.as_mut_ptr();
        // SAFETY: the buffer has 64 spare bytes for the alignment.
        let aligned = unsafe { base.add(base.align_offset(64)) };
        // SAFETY: `total` entries of each kind fit after `aligned`; the
        // caller keeps `mem` (returned with the view) alive while using it.
        let pa = unsafe { ProcArray::from_raw(aligned, aligned.add(procs), total, conns) };
        // SAFETY: a fresh test buffer no one else sees.
        unsafe { pa.init() };
        (mem, pa)
    }

    #[test]
    fn proc_is_hot_and_status_cold_and_release_clears_both() {
        assert_eq!(std::mem::size_of::<Proc>(), 64);
        assert!(std::mem::size_of::<BackendStatus>() > 1024);
        let (_m, pa) = array(4, 2);
        let i = pa.acquire_backend(42, false, 0).unwrap();
        assert_eq!(
            (pa.proc(i).pid(), pa.proc(i).kind()),
            (42, ProcKind::ClientBackend)
        );
        assert_eq!(
            (pa.status(i).pid(), pa.status(i).kind()),
            (42, ProcKind::ClientBackend)
        );
        pa.proc(i).set_xid(1000);
        pa.proc(i).set_xmin(990);
        assert_eq!((pa.proc(i).xid(), pa.proc(i).xmin()), (1000, 990));
        assert_eq!(pa.proc(i).wait_lock(), None);
        pa.release(i);
        assert_eq!(
            (pa.proc(i).pid(), pa.proc(i).xid(), pa.proc(i).xmin()),
            (0, 0, 0)
        );
        assert_eq!(pa.status(i).pid(), 0);
        assert!(pa.snapshot().is_empty());
    }

    /// The seqlock: while the owner keeps rewriting the query text, a
    /// reader only ever gets one of the texts written, never a mix.
    #[test]
    fn a_reader_never_gets_a_torn_text_while_the_owner_writes() {
        use std::sync::atomic::AtomicBool;
        use std::time::{Duration, Instant};
        let (_m, pa) = array(2, 2);
        let i = pa.acquire_backend(7, false, 0).unwrap();
        let st = pa.status(i);
        let a = "a".repeat(QUERY_TEXT_SIZE - 1);
        let b = "b".repeat(QUERY_TEXT_SIZE - 1);
        let stop = AtomicBool::new(false);
        let (seen, torn) = std::thread::scope(|s| {
            s.spawn(|| {
                let mut n = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    let q = if n % 2 == 0 { &a } else { &b };
                    st.set_state(BackendState::Active, Some(q), n);
                    n += 1;
                }
            });
            let mut seen = [0u32; 2];
            let mut torn = None;
            let deadline = Instant::now() + Duration::from_secs(20);
            while seen.iter().any(|&n| n < 200) && Instant::now() < deadline {
                let Some(info) = st.read(i) else { continue };
                if info.query.is_empty() {
                    continue; // before the first write
                }
                if info.query == a {
                    seen[0] += 1;
                } else if info.query == b {
                    seen[1] += 1;
                } else {
                    torn = Some(info.query);
                    break;
                }
            }
            // Stop the writer before asserting, so a failure cannot leave
            // the scope waiting for it.
            stop.store(true, Ordering::Relaxed);
            (seen, torn)
        });
        assert_eq!(torn, None, "a torn copy was returned");
        assert!(seen.iter().all(|&n| n >= 200), "reads per text: {seen:?}");
    }

    #[test]
    fn a_checkpoint_request_waits_for_a_start_after_it_and_sees_failures() {
        // SAFETY: all-zero is the state the postmaster creates.
        let c: SharedControl = unsafe { std::mem::zeroed() };
        assert_eq!(c.start_requested_checkpoint(), None, "nothing requested");
        let a = c.request_checkpoint();
        let b = c.request_checkpoint();
        assert_eq!(c.checkpoint_outcome(&a), None);
        // One start serves both requests made before it.
        assert!(c.checkpoint_request_pending());
        let n1 = c.start_requested_checkpoint().unwrap();
        assert!(!c.checkpoint_request_pending());
        assert_eq!(c.start_requested_checkpoint(), None);
        // A request during checkpoint 1 needs checkpoint 2.
        let late = c.request_checkpoint();
        c.finish_checkpoint(n1, true);
        assert_eq!(c.checkpoint_outcome(&a), Some(true));
        assert_eq!(c.checkpoint_outcome(&b), Some(true));
        assert_eq!(c.checkpoint_outcome(&late), None);
        let n2 = c.start_requested_checkpoint().unwrap();
        assert_eq!(n2, n1 + 1);
        c.finish_checkpoint(n2, false);
        assert_eq!(c.checkpoint_outcome(&late), Some(false));
        // A failure before a request does not fail it.
        let next = c.request_checkpoint();
        let n3 = c.start_requested_checkpoint().unwrap();
        c.finish_checkpoint(n3, true);
        assert_eq!(c.checkpoint_outcome(&next), Some(true));
    }

    #[test]
    fn slots_run_out_and_reserved_ones_are_kept() {
        let (_m, pa) = array(5 + 3, 5);
        // 5 slots, 2 reserved: three ordinary users fit, the fourth is refused.
        for pid in 1..=3 {
            pa.acquire_backend(pid, false, 2).unwrap();
        }
        assert_eq!(pa.acquire_backend(4, false, 2), Err(SlotError::Reserved));
        pa.acquire_backend(5, true, 2).unwrap();
        pa.acquire_backend(6, true, 2).unwrap();
        assert_eq!(pa.acquire_backend(7, true, 2), Err(SlotError::TooMany));
        let i = pa.find_pid(2).unwrap();
        pa.release(i);
        assert_eq!(pa.find_pid(2), None);
        assert!(pa.acquire_backend(8, true, 2).is_ok());
    }

    #[test]
    fn pm_signals_are_taken_once_and_unknown_bits_are_dropped() {
        // SAFETY: SharedControl is atomics and plain integers: all zeroes
        // is a valid value.
        let c: SharedControl = unsafe { std::mem::zeroed() };
        assert!(c.take_pm_signals().is_empty());
        c.raise_pm_signal(PmSignal::CheckpointerReady);
        c.raise_pm_signal(PmSignal::RecoveryFinished);
        c.raise_pm_signal(PmSignal::CheckpointerReady);
        c.pm_signals.fetch_or(1 << 31, Ordering::SeqCst);
        assert_eq!(
            c.take_pm_signals(),
            vec![PmSignal::RecoveryFinished, PmSignal::CheckpointerReady]
        );
        assert!(c.take_pm_signals().is_empty());
    }

    #[test]
    fn identity_round_trips_and_truncates_on_char_boundary() {
        let (_m, pa) = array(4, 1);
        let i = pa.acquire_backend(42, true, 0).unwrap();
        let s = pa.status(i);
        let addr: std::net::SocketAddr = "127.0.0.1:5555".parse().unwrap();
        s.set_identity("postgres", "alice", &"é".repeat(40), Some(addr), true, 7);
        s.set_state(BackendState::Active, Some("select 1"), 9);
        let snap = pa.snapshot();
        assert_eq!(snap.len(), 1);
        let p = &snap[0];
        assert_eq!(
            (p.pid, p.datname.as_str(), p.usename.as_str()),
            (42, "postgres", "alice")
        );
        assert_eq!(p.application_name, "é".repeat(31));
        assert_eq!(p.client_addr, Some(addr.ip()));
        assert_eq!(p.client_port, Some(5555));
        assert_eq!(p.state.as_str(), Some("active"));
        assert_eq!(p.query, "select 1");
        assert_eq!(p.backend_start, Some(7));
    }
    #[test]
    fn snapshot_in_region_reads_what_a_backend_published_and_checks_bounds() {
        let total = 4;
        let slot = std::mem::size_of::<BackendStatus>();
        // A region with some bytes before the status area, as in a real
        // segment, and the procs after it.
        let offset = 128usize;
        let procs_at = (offset + total * slot).next_multiple_of(64);
        let mut mem = vec![0u8; procs_at + total * 64 + 64];
        // SAFETY: the buffer has 64 spare bytes for the alignment.
        let base = unsafe { mem.as_mut_ptr().add(mem.as_ptr().align_offset(64)) };
        // SAFETY: both areas lie inside `mem`, which outlives the view.
        let pa = unsafe { ProcArray::from_raw(base.add(procs_at), base.add(offset), total, 1) };
        // SAFETY: a fresh test buffer no one else sees.
        unsafe { pa.init() };
        let i = pa.acquire_backend(4242, false, 0).unwrap();
        pa.status(i)
            .set_identity("postgres", "bob", "blocker", None, false, 5);
        pa.status(i)
            .set_state(BackendState::IdleInTransaction, Some("BEGIN"), 6);
        pa.status(i).set_xact_start(6);
        pa.acquire_aux(ProcKind::Checkpointer, 77);
        let region = procs_at + total * 64;
        let size = (total * slot) as u64;
        assert_eq!(slots_in_area(total * slot), total);
        // SAFETY: `region` readable bytes of `mem` at `base`, alive for the
        // whole test (the same holds for the calls below).
        let snap = unsafe { snapshot_in_region(base, region, offset as u64, size) }.unwrap();
        assert_eq!(snap.len(), 2);
        assert_eq!(
            (snap[0].pid, snap[0].kind, snap[0].application_name.as_str()),
            (4242, ProcKind::ClientBackend, "blocker")
        );
        assert_eq!(snap[0].state, BackendState::IdleInTransaction);
        assert_eq!(snap[0].xact_start, Some(6));
        assert_eq!((snap[1].pid, snap[1].kind), (77, ProcKind::Checkpointer));
        // A header that claims more than the region holds is refused.
        // SAFETY: as above.
        let e =
            unsafe { snapshot_in_region(base, region, offset as u64, region as u64) }.unwrap_err();
        assert!(matches!(e, RegionError::OutOfBounds { .. }), "{e}");
        assert!(e.to_string().contains("does not fit"));
        // SAFETY: as above.
        let e = unsafe { snapshot_in_region(base, region, u64::MAX - 1, 8) }.unwrap_err();
        assert!(matches!(e, RegionError::OutOfBounds { .. }));
        // SAFETY: as above.
        let e = unsafe { snapshot_in_region(base, region, offset as u64 + 1, 8) }.unwrap_err();
        assert!(matches!(e, RegionError::Misaligned { .. }), "{e}");
    }
}
