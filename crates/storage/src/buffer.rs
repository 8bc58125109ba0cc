//! The shared buffer pool's memory: one [`BufferDesc`] and one 8 kB page
//! per `shared_buffers`.
//!
//! Why declared before the buffer manager: `shared_buffers` dominates the
//! size of shared memory, and operators size kernel limits from it
//! (`tusk check`, `-C shared_memory_size`), so both areas exist at their
//! final size. The descriptor is PostgreSQL's BufferDesc: one cache line,
//! so that pinning one buffer never contends with its neighbours.
//!
//! Neither area is written at start: all-zero bytes are an unused
//! descriptor (no tag: TAG_VALID clear in the state word, no pin, not on
//! the free list, a free content lock) and an empty page, and a fresh
//! segment is zero-filled by the kernel. At shared_buffers=4GB the
//! descriptors alone are 32 MB, which an init loop would fault in before
//! the server could accept a connection (see [`crate::layout`]'s rule).
//! A descriptor's index is its buffer id; it is not stored.

use crate::layout::{AreaId, AreaSpec, SizeCalc, SizeError, BLCKSZ};
use crate::lwlock::LwLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Which page a buffer holds: PostgreSQL's BufferTag (tablespace,
/// database, relation, fork, block).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BufferTag {
    pub spc_oid: u32,
    pub db_oid: u32,
    pub rel_number: u32,
    pub fork: u32,
    pub block: u32,
}

impl BufferTag {
    pub fn new(
        rel: crate::smgr::RelFileLocator,
        fork: crate::smgr::Fork,
        block: crate::smgr::BlockNumber,
    ) -> BufferTag {
        BufferTag {
            spc_oid: rel.spc,
            db_oid: rel.db,
            rel_number: rel.rel,
            fork: fork as u32,
            block,
        }
    }

    pub fn rel(&self) -> crate::smgr::RelFileLocator {
        crate::smgr::RelFileLocator {
            spc: self.spc_oid,
            db: self.db_oid,
            rel: self.rel_number,
        }
    }

    /// The fork; a tag only ever holds a valid fork number (it is built
    /// by [`BufferTag::new`]), so an unknown one is the main fork.
    pub fn fork(&self) -> crate::smgr::Fork {
        crate::smgr::Fork::from_u8(self.fork as u8).unwrap_or(crate::smgr::Fork::Main)
    }
}

/// A [`BufferTag`] in shared memory: atomics, because the buffer manager
/// reads it while holding only a mapping-partition lock or the header
/// spinlock, and changes it only while holding both (see
/// [`crate::bufmgr`]); relaxed loads and stores suffice under those locks.
#[repr(C)]
#[derive(Debug, Default)]
pub struct SharedTag {
    spc_oid: AtomicU32,
    db_oid: AtomicU32,
    rel_number: AtomicU32,
    fork: AtomicU32,
    block: AtomicU32,
}

impl SharedTag {
    pub fn new(t: BufferTag) -> SharedTag {
        let s = SharedTag::default();
        s.store(t);
        s
    }

    pub fn load(&self) -> BufferTag {
        BufferTag {
            spc_oid: self.spc_oid.load(Ordering::Relaxed),
            db_oid: self.db_oid.load(Ordering::Relaxed),
            rel_number: self.rel_number.load(Ordering::Relaxed),
            fork: self.fork.load(Ordering::Relaxed),
            block: self.block.load(Ordering::Relaxed),
        }
    }

    pub fn store(&self, t: BufferTag) {
        self.spc_oid.store(t.spc_oid, Ordering::Relaxed);
        self.db_oid.store(t.db_oid, Ordering::Relaxed);
        self.rel_number.store(t.rel_number, Ordering::Relaxed);
        self.fork.store(t.fork, Ordering::Relaxed);
        self.block.store(t.block, Ordering::Relaxed);
    }
}

/// One buffer's descriptor: PostgreSQL's BufferDesc, padded to 64 bytes.
/// The state word's bits and the rules for each field are in
/// [`crate::bufmgr`]. All-zero bytes are a valid unused descriptor.
///
/// The tag means something only while TAG_VALID is set in the state: an
/// all-zero tag is also the tag of block 0 of the main fork of relation
/// 0/0/0, so nothing may look a buffer up by its tag alone (the mapping
/// table holds only tagged buffers, and every other reader checks
/// TAG_VALID under the header spinlock).
#[repr(C, align(64))]
#[derive(Debug)]
pub struct BufferDesc {
    pub tag: SharedTag,
    /// Flags, usage count and pin count in one word, as PostgreSQL's.
    pub state: AtomicU32,
    /// Proc number + 1 of the process waiting for the pin count to drop
    /// to one; 0 = none (reserved: cleanup locks are not built).
    pub wait_backend: AtomicU32,
    /// The free list of buffers given back by invalidation: 0 = not on
    /// it, [`FREE_END`] = last on it, otherwise the next buffer's id + 1.
    pub free_next: AtomicU32,
    pub content_lock: LwLock,
}

/// `free_next` of the last buffer on the free list.
pub const FREE_END: u32 = u32::MAX;

pub const BUFFER_DESC_SIZE: usize = std::mem::size_of::<BufferDesc>();

const _: () = {
    assert!(BUFFER_DESC_SIZE == 64, "one cache line per descriptor");
    assert!(std::mem::align_of::<BufferDesc>() == 64);
};

fn descriptors_size(c: &SizeCalc) -> Result<usize, SizeError> {
    c.mul(c.z.shared_buffers, BUFFER_DESC_SIZE)
}

pub const DESCRIPTORS_AREA: AreaSpec = AreaSpec {
    id: AreaId::BufferDescriptors,
    name: "buffer descriptors",
    align: 64,
    size: descriptors_size,
    init: crate::layout::init_zeroed,
};

fn pages_size(c: &SizeCalc) -> Result<usize, SizeError> {
    c.mul(c.z.shared_buffers, BLCKSZ)
}

pub const PAGES_AREA: AreaSpec = AreaSpec {
    id: AreaId::BufferPages,
    name: "buffer pages",
    align: 4096,
    size: pages_size,
    init: crate::layout::init_zeroed,
};
