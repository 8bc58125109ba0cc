//! Where each shared-memory area sits, and how big the region is.
//!
//! Region (offsets from the base; each area starts on a 64-byte boundary,
//! buffer pages and WAL buffers on a 4096-byte one):
//!
//! ```text
//! +--------------+-----------------+-------------+---------------------+
//! | segment hdr  | control flags   | proc array  | lock table          |
//! | (tusk-ipc)   | SharedControl   | ProcSlot ×  | LockSlot × locks ×  |
//! |              |                 |  all procs  |  (conns + prepared) |
//! +--------------+-----------------+-------------+---------------------+
//! | buffer descriptors (64 B × shared_buffers) | buffer pages (8 kB ×  |
//! |                                            |  shared_buffers)      |
//! +--------------------------------------------+-----------------------+
//! | WAL buffers (8 kB × wal_buffers + state) | commit-status cache     |
//! +------------------------------------------+-------------------------+
//! ```
//!
//! Why computed, never written down: `tusk server -C shared_memory_size`,
//! `tusk check` and the postmaster all call [`Layout::compute`], so the size
//! an operator is told is the size the kernel is asked for. Areas that the
//! storage engine does not use yet (lock table, buffers, WAL, commit status)
//! are reserved at their final size now, so that sizing, kernel limits and
//! start-up failures behave as they will once the engine fills them.

use crate::procarray::{ProcSlot, SharedControl};
use tusk_config::Settings;

/// Bytes of a data page and of a WAL page.
pub const BLCKSZ: usize = 8192;
pub const XLOG_BLCKSZ: usize = 8192;

/// Auxiliary processes that own a proc slot and a semaphore: the startup
/// process, the checkpointer and the WAL writer.
pub const NUM_AUXILIARY_PROCS: usize = 3;

/// Bytes of one buffer descriptor (tag, state word, pin count, content
/// lock, free-list link), padded to a cache line as PostgreSQL does.
pub const BUFFER_DESC_SIZE: usize = 64;

/// One entry of the heavyweight lock table: a lock tag, the lock's state
/// and holder/waiter queues. Sized now so the table is reserved at its
/// final size; the lock manager gives it content.
#[repr(C)]
pub struct LockSlot {
    pub tag: [u64; 3],
    pub granted_mask: u64,
    pub waiting_mask: u64,
    pub holders: [u32; 8],
    pub next: u32,
    pub pad: u32,
}

/// The settings that decide the size of shared memory, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizing {
    pub max_connections: usize,
    pub max_prepared_transactions: usize,
    pub max_locks_per_transaction: usize,
    /// In 8 kB pages.
    pub shared_buffers: usize,
    /// In 8 kB pages, after resolving -1 (auto).
    pub wal_buffers: usize,
}

impl Sizing {
    /// Reads the sizing settings. `wal_buffers = -1` becomes 1/32 of
    /// shared_buffers, at least 8 pages and at most one 16 MB segment,
    /// as in PostgreSQL.
    pub fn from_settings(s: &Settings) -> Sizing {
        use tusk_config::keys::*;
        let shared_buffers = s.get(SHARED_BUFFERS).max(16) as usize;
        Sizing {
            max_connections: s.get(MAX_CONNECTIONS).max(1) as usize,
            max_prepared_transactions: s.get(MAX_PREPARED_TRANSACTIONS).max(0) as usize,
            max_locks_per_transaction: s.get(MAX_LOCKS_PER_TRANSACTION).max(10) as usize,
            shared_buffers,
            wal_buffers: resolve_wal_buffers(s.get(WAL_BUFFERS), shared_buffers),
        }
    }

    /// Proc slots: client backends, auxiliary processes, and one dummy slot
    /// per prepared transaction.
    pub fn total_procs(&self) -> usize {
        self.max_connections + NUM_AUXILIARY_PROCS + self.max_prepared_transactions
    }

    /// Processes that can sleep, hence semaphores: connections (reserved
    /// slots included) and auxiliary processes. Prepared transactions never
    /// wait, so they get none.
    pub fn semaphores(&self) -> usize {
        self.max_connections + NUM_AUXILIARY_PROCS
    }
}

/// Resolves `wal_buffers = -1`.
pub fn resolve_wal_buffers(setting: i64, shared_buffers: usize) -> usize {
    if setting > 0 {
        return setting as usize;
    }
    (shared_buffers / 32).clamp(8, 16 * 1024 * 1024 / XLOG_BLCKSZ)
}

/// Identifies an area in the segment header, so that a reader can find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum AreaId {
    Control = 1,
    ProcArray = 2,
    LockTable = 3,
    BufferDescriptors = 4,
    BufferPages = 5,
    WalBuffers = 6,
    CommitStatus = 7,
}

impl AreaId {
    pub fn name(self) -> &'static str {
        match self {
            AreaId::Control => "control flags",
            AreaId::ProcArray => "proc array",
            AreaId::LockTable => "lock table",
            AreaId::BufferDescriptors => "buffer descriptors",
            AreaId::BufferPages => "buffer pages",
            AreaId::WalBuffers => "WAL buffers",
            AreaId::CommitStatus => "commit-status cache",
        }
    }
}

/// One placed area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    pub id: AreaId,
    pub offset: usize,
    pub size: usize,
}

/// The whole region: the header followed by every area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub header_size: usize,
    pub areas: Vec<Area>,
    /// Bytes to ask the kernel for.
    pub total: usize,
}

fn align(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// Commit-status cache pages, PostgreSQL's CLOG rule: shared_buffers/512,
/// between 4 and 128 pages.
fn commit_status_pages(shared_buffers: usize) -> usize {
    (shared_buffers / 512).clamp(4, 128)
}

impl Layout {
    /// The size of every area for these settings, in region order.
    pub fn area_sizes(z: &Sizing) -> Vec<(AreaId, usize, usize)> {
        vec![
            (AreaId::Control, std::mem::size_of::<SharedControl>(), 64),
            (
                AreaId::ProcArray,
                z.total_procs() * std::mem::size_of::<ProcSlot>(),
                64,
            ),
            (
                AreaId::LockTable,
                z.max_locks_per_transaction
                    * (z.max_connections + z.max_prepared_transactions)
                    * std::mem::size_of::<LockSlot>(),
                64,
            ),
            (
                AreaId::BufferDescriptors,
                z.shared_buffers * BUFFER_DESC_SIZE,
                64,
            ),
            (AreaId::BufferPages, z.shared_buffers * BLCKSZ, 4096),
            // WAL pages plus one page-sized block of insert/flush state.
            (AreaId::WalBuffers, (z.wal_buffers + 1) * XLOG_BLCKSZ, 4096),
            (
                AreaId::CommitStatus,
                commit_status_pages(z.shared_buffers) * BLCKSZ,
                4096,
            ),
        ]
    }

    /// Places every area after a header of `header_size` bytes. The total
    /// is rounded up to a whole 8 kB block.
    pub fn compute(z: &Sizing, header_size: usize) -> Layout {
        let mut offset = header_size;
        let mut areas = Vec::new();
        for (id, size, alignment) in Layout::area_sizes(z) {
            offset = align(offset, alignment);
            areas.push(Area { id, offset, size });
            offset += size;
        }
        Layout {
            header_size,
            areas,
            total: align(offset, BLCKSZ),
        }
    }

    pub fn area(&self, id: AreaId) -> Area {
        *self
            .areas
            .iter()
            .find(|a| a.id == id)
            .expect("every AreaId is placed by Layout::compute")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizing() -> Sizing {
        Sizing {
            max_connections: 100,
            max_prepared_transactions: 0,
            max_locks_per_transaction: 64,
            shared_buffers: 16384,
            wal_buffers: resolve_wal_buffers(-1, 16384),
        }
    }

    #[test]
    fn areas_do_not_overlap_and_are_aligned() {
        let l = Layout::compute(&sizing(), 1200);
        let mut end = l.header_size;
        for a in &l.areas {
            assert!(a.offset >= end, "{:?} overlaps the previous area", a.id);
            assert_eq!(a.offset % 64, 0);
            end = a.offset + a.size;
        }
        assert!(l.total >= end);
        assert_eq!(l.total % BLCKSZ, 0);
    }

    #[test]
    fn wal_buffers_auto() {
        assert_eq!(resolve_wal_buffers(-1, 16384), 512);
        assert_eq!(resolve_wal_buffers(-1, 16), 8);
        assert_eq!(resolve_wal_buffers(-1, 10_000_000), 2048);
        assert_eq!(resolve_wal_buffers(100, 16384), 100);
    }

    #[test]
    fn size_grows_with_each_setting() {
        let base = Layout::compute(&sizing(), 1200).total;
        let more = |f: &dyn Fn(&mut Sizing)| {
            let mut z = sizing();
            f(&mut z);
            Layout::compute(&z, 1200).total
        };
        assert!(more(&|z| z.max_connections += 10) > base);
        assert!(more(&|z| z.max_prepared_transactions += 10) > base);
        assert!(more(&|z| z.max_locks_per_transaction += 10) > base);
        assert!(more(&|z| z.shared_buffers += 1000) > base);
        assert!(more(&|z| z.wal_buffers += 10) > base);
    }
}
