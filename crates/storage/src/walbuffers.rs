//! The WAL buffers' memory: the insert/write/flush positions and the two
//! WAL locks ([`WalCtl`]), `wal_buffers` 8 kB pages, and one "end of this
//! page" LSN per page (PostgreSQL's `xlblocks`).
//!
//! Why one area with three parts: wal_buffers is one of the settings that
//! size shared memory, so the pages are counted with the rest of the
//! region; `WalCtl` is padded to 4 kB so the pages after it stay
//! page-aligned, and the end-LSN array follows the pages. The WAL code
//! that uses them is [`crate::xlog`]; this file only says where things are.
//!
//! ```text
//! offset                      size              part
//!      0                      4096              WalCtl (positions, locks)
//!   4096                      8192 × n          WAL pages (buffer i holds the
//!                                               page with LSN ≡ i mod n pages)
//!   4096 + 8192 n             8 × n             end LSN of the page each
//!                                               buffer holds (0 = none)
//! ```
//! All-zero is "nothing written", with both locks free, so [`init`]
//! writes nothing (the area is zero-filled when created). The positions
//! are meaningful only once the startup process has set `ready` (after
//! recovery).

use crate::layout::{AreaId, AreaSpec, SizeCalc, SizeError, Sizing, XLOG_BLCKSZ};
use crate::lwlock::LwLock;
use std::sync::atomic::{AtomicU32, AtomicU64};

/// WAL positions shared by every writer (PostgreSQL's XLogCtl).
#[repr(C, align(4096))]
#[derive(Debug, Default)]
pub struct WalCtl {
    /// Where the next record is inserted (a byte position, 8-byte
    /// aligned; a page boundary means "a page header goes here first").
    /// Written under `insert_lock`.
    pub insert_pos: AtomicU64,
    /// Written to the kernel / flushed to disk up to here (LSNs). Written
    /// under `write_lock`; read by anyone without it.
    pub write_lsn: AtomicU64,
    pub flush_lsn: AtomicU64,
    /// Flush requested up to here (by commits leaving it to the walwriter).
    pub request_lsn: AtomicU64,
    /// PostgreSQL's WALInsertLock: reserving space and copying a record.
    pub insert_lock: LwLock,
    /// PostgreSQL's WALWriteLock: writing and syncing segment files.
    pub write_lock: LwLock,
    /// Start of the last inserted record (the next one's xl_prev). Under
    /// `insert_lock`.
    pub prev_lsn: AtomicU64,
    /// Every byte before this LSN is completely copied into the buffers:
    /// what a flusher may write. Stored (release) by the inserter before it
    /// releases `insert_lock`.
    pub copied_lsn: AtomicU64,
    /// Segment size, system identifier and timeline of the WAL being
    /// written, set with `ready` by the startup process.
    pub seg_size: AtomicU64,
    pub sysid: AtomicU64,
    pub tli: AtomicU32,
    /// 1 once recovery has set the positions: WAL may be inserted.
    pub ready: AtomicU32,
    /// Write and sync calls so far (pg_stat_wal's wal_write, wal_sync).
    pub writes: AtomicU64,
    pub syncs: AtomicU64,
    /// PostgreSQL's RedoRecPtr: the redo pointer of the checkpoint in
    /// progress or last completed. A change to a page whose LSN is at or
    /// below it logs a full-page image. Written under `insert_lock` (by
    /// the checkpoint choosing its redo pointer, and by the startup
    /// process); zero means "none yet" (only never-logged pages get
    /// images).
    pub redo_rec_ptr: AtomicU64,
    /// CheckPointSegments: a writer that finishes a segment this many
    /// segments past `redo_rec_ptr`'s asks for a checkpoint
    /// (max_wal_size). Set by the checkpointer; 0 (zero-filled) means
    /// "not yet known", and no request is made.
    pub ckpt_segments: AtomicU64,
    /// 1 while a WAL-volume checkpoint request is pending: set by the
    /// writer that finds one needed, taken by the checkpointer.
    pub ckpt_wal_requested: AtomicU32,
}

const _: () = assert!(std::mem::size_of::<WalCtl>() == 4096);

/// Offset of the first page inside the area.
pub const PAGES_OFFSET: usize = std::mem::size_of::<WalCtl>();

/// Offset of the end-LSN array for `n` buffers.
pub fn xlblocks_offset(n: usize) -> usize {
    PAGES_OFFSET + n * XLOG_BLCKSZ
}

fn size(c: &SizeCalc) -> Result<usize, SizeError> {
    let n = c.z.wal_buffers;
    // The control block, one end-LSN per page, and the pages.
    let per_page = c.add(XLOG_BLCKSZ, std::mem::size_of::<u64>())?;
    c.add(std::mem::size_of::<WalCtl>(), c.mul(n, per_page)?)
}

/// Writes nothing: all-zero is the area's initial state (positions 0,
/// not ready, both locks free, pages and end LSNs zero), and the area is
/// zero-filled when it is created. At shared_buffers=4GB it is 16 MB,
/// which zeroing would fault in at every start. Only the postmaster calls
/// it, before any child exists (or a test, before it forks).
///
/// # Safety
/// As [`AreaSpec::init`].
pub unsafe fn init(at: *mut u8, size: usize, z: &Sizing) {
    // SAFETY: promised by the caller.
    unsafe { crate::layout::init_zeroed(at, size, z) }
}

pub const AREA: AreaSpec = AreaSpec {
    id: AreaId::WalBuffers,
    name: "WAL buffers",
    align: 4096,
    size,
    init,
};
