//! The shared buffer pool's memory: one [`BufferDesc`] and one 8 kB page
//! per `shared_buffers`.
//!
//! Why declared before the buffer manager: `shared_buffers` dominates the
//! size of shared memory, and operators size kernel limits from it
//! (`tusk check`, `-C shared_memory_size`), so both areas exist at their
//! final size. The descriptor is PostgreSQL's BufferDesc: one cache line,
//! so that pinning one buffer never contends with its neighbours.
//!
//! Descriptors are zeroed and then get their id, their free-list link and
//! an initialised content lock (an all-zero LWLock is not valid); pages are
//! left as the kernel gives them (zero).

use crate::layout::{AreaId, AreaSpec, SizeCalc, SizeError, Sizing, BLCKSZ};
use crate::lwlock::LwLock;
use std::sync::atomic::{AtomicI32, AtomicU32};

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

/// One buffer's descriptor: PostgreSQL's BufferDesc, padded to 64 bytes.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct BufferDesc {
    pub tag: BufferTag,
    pub buf_id: i32,
    /// Flags, usage count and pin count in one word, as PostgreSQL's.
    pub state: AtomicU32,
    /// Proc number waiting for the pin count to drop to one (or -1).
    pub wait_backend: AtomicI32,
    /// Next free buffer, -1 at the end of the free list.
    pub free_next: AtomicI32,
    pub content_lock: LwLock,
}

pub const BUFFER_DESC_SIZE: usize = std::mem::size_of::<BufferDesc>();

const _: () = {
    assert!(BUFFER_DESC_SIZE == 64, "one cache line per descriptor");
    assert!(std::mem::align_of::<BufferDesc>() == 64);
};

fn descriptors_size(c: &SizeCalc) -> Result<usize, SizeError> {
    c.mul(c.z.shared_buffers, BUFFER_DESC_SIZE)
}

/// # Safety
/// As [`AreaSpec::init`].
unsafe fn init_descriptors(at: *mut u8, size: usize, z: &Sizing) {
    let descs = at as *mut BufferDesc;
    for i in 0..z.shared_buffers.min(size / BUFFER_DESC_SIZE) {
        let next = if i + 1 < z.shared_buffers {
            i as i32 + 1
        } else {
            -1
        };
        // SAFETY: i < the number of descriptors the area holds; the
        // caller gives exclusive access.
        unsafe {
            descs.add(i).write(BufferDesc {
                tag: BufferTag::default(),
                buf_id: i as i32,
                state: AtomicU32::new(0),
                wait_backend: AtomicI32::new(-1),
                free_next: AtomicI32::new(next),
                content_lock: LwLock::new(),
            })
        };
    }
}

pub const DESCRIPTORS_AREA: AreaSpec = AreaSpec {
    id: AreaId::BufferDescriptors,
    name: "buffer descriptors",
    align: 64,
    size: descriptors_size,
    init: init_descriptors,
};

fn pages_size(c: &SizeCalc) -> Result<usize, SizeError> {
    c.mul(c.z.shared_buffers, BLCKSZ)
}

/// Pages are not touched: a fresh segment is zero-filled by the kernel,
/// and writing shared_buffers × 8 kB at start would fault in every page.
unsafe fn init_pages(_at: *mut u8, _size: usize, _z: &Sizing) {}

pub const PAGES_AREA: AreaSpec = AreaSpec {
    id: AreaId::BufferPages,
    name: "buffer pages",
    align: 4096,
    size: pages_size,
    init: init_pages,
};
