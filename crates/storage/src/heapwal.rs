//! The heap's WAL logger over the server's [`Xlog`]: PLACEHOLDER, replaced by w-heapwal.
//!
//! Why a placeholder: the heap access method takes a `&dyn HeapWal`, and
//! the tables of the SQL layer need one now; the real implementation
//! (heap insert/delete/update/prune records, their redo, full-page
//! images) is the w-heapwal branch's `heapwal.rs`, with this same type
//! and signature, and replaces this file at merge. Until then heap
//! changes are not WAL-logged: a page's LSN is the current insert
//! position (so the WAL-before-data rule still holds for it), and table
//! data survives a clean shutdown (the shutdown checkpoint writes every
//! dirty buffer) but not a crash.
//!
//! Who may call: the backend changing a heap page, under its content lock.

use crate::heapam::{HeapWal, Lsn, Xid};
use crate::heaptuple::ItemPointer;
use crate::lwlock::LwProcs;
use crate::smgr::{BlockNumber, RelFileLocator};
use crate::xlog::Xlog;

/// Replaced by w-heapwal: logs nothing, returns the insert position.
pub struct XlogHeapWal<'a, P: LwProcs>(pub &'a Xlog<P>);

impl<P: LwProcs> HeapWal for XlogHeapWal<'_, P> {
    fn log_heap_insert(&self, _: RelFileLocator, _: ItemPointer, _: bool, _: &[u8]) -> Lsn {
        self.0.insert_lsn()
    }
    fn log_heap_delete(&self, _: RelFileLocator, _: ItemPointer, _: Xid, _: u16) -> Lsn {
        self.0.insert_lsn()
    }
    fn log_heap_update(
        &self,
        _: RelFileLocator,
        _: ItemPointer,
        _: ItemPointer,
        _: bool,
        _: bool,
        _: &[u8],
    ) -> Lsn {
        self.0.insert_lsn()
    }
    fn log_heap_prune(
        &self,
        _: RelFileLocator,
        _: BlockNumber,
        _: &[(u16, u16)],
        _: &[u16],
        _: &[u16],
    ) -> Lsn {
        self.0.insert_lsn()
    }
}
