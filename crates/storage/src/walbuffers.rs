//! The WAL buffers' memory: the insert/write/flush positions
//! ([`WalCtl`]) and `wal_buffers` 8 kB pages.
//!
//! Why declared before WAL exists: wal_buffers is one of the settings that
//! size shared memory, so its pages are counted now. `WalCtl` holds
//! PostgreSQL's XLogCtl positions as atomics, and one "end of this page"
//! LSN per buffer (PostgreSQL's `xlblocks`), so that a reader can tell
//! which WAL page a buffer holds without a lock. It is padded to 4 kB so
//! the pages after it stay page-aligned. All-zero is "nothing written".

use crate::layout::{init_zeroed, AreaId, AreaSpec, SizeCalc, SizeError, XLOG_BLCKSZ};
use std::sync::atomic::AtomicU64;

/// WAL positions shared by every writer.
#[repr(C, align(4096))]
#[derive(Debug, Default)]
pub struct WalCtl {
    /// Where the next record is inserted (a byte position).
    pub insert_pos: AtomicU64,
    /// Written to the kernel / flushed to disk up to here (LSNs).
    pub write_lsn: AtomicU64,
    pub flush_lsn: AtomicU64,
    /// Flush requested up to here (by commits waiting for the walwriter).
    pub request_lsn: AtomicU64,
}

const _: () = assert!(std::mem::size_of::<WalCtl>() == 4096);

fn size(c: &SizeCalc) -> Result<usize, SizeError> {
    let n = c.z.wal_buffers;
    // The control block, one end-LSN per page, and the pages.
    let per_page = c.add(XLOG_BLCKSZ, std::mem::size_of::<u64>())?;
    c.add(std::mem::size_of::<WalCtl>(), c.mul(n, per_page)?)
}

pub const AREA: AreaSpec = AreaSpec {
    id: AreaId::WalBuffers,
    name: "WAL buffers",
    align: 4096,
    size,
    init: init_zeroed,
};
