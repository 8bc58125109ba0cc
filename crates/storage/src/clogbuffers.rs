//! The commit-status cache's memory (PostgreSQL's CLOG SLRU buffers): a
//! control block with each buffer's page number and state, and the pages.
//!
//! Why declared before transactions exist: its size follows
//! shared_buffers as PostgreSQL's (shared_buffers / 512, between 4 and 128
//! pages), which `tusk check`'s memory table shows. All-zero is "every
//! buffer empty" ([`SLOT_EMPTY`]).

use crate::layout::{init_zeroed, AreaId, AreaSpec, SizeCalc, SizeError, BLCKSZ};
use std::sync::atomic::{AtomicI64, AtomicU32};

/// The most commit-status pages the cache can have.
pub const MAX_PAGES: usize = 128;

/// `SlruCtl::status` of a buffer holding nothing.
pub const SLOT_EMPTY: u32 = 0;

/// Commit-status cache pages for `shared_buffers`: PostgreSQL's CLOG rule.
pub fn pages(shared_buffers: usize) -> usize {
    (shared_buffers / 512).clamp(4, MAX_PAGES)
}

/// Per-buffer state of the SLRU (PostgreSQL's SlruSharedData arrays),
/// padded to 4 kB so the pages after it stay page-aligned.
#[repr(C, align(4096))]
#[derive(Debug)]
pub struct SlruCtl {
    pub page_number: [AtomicI64; MAX_PAGES],
    pub status: [AtomicU32; MAX_PAGES],
    pub lru_count: [AtomicU32; MAX_PAGES],
}

const _: () = assert!(std::mem::size_of::<SlruCtl>() == 4096);

fn size(c: &SizeCalc) -> Result<usize, SizeError> {
    c.add(
        std::mem::size_of::<SlruCtl>(),
        c.mul(pages(c.z.shared_buffers), BLCKSZ)?,
    )
}

pub const AREA: AreaSpec = AreaSpec {
    id: AreaId::CommitStatus,
    name: "commit-status cache",
    align: 4096,
    size,
    init: init_zeroed,
};
