//! Shared-memory areas and on-disk control files of a tusk cluster.
//!
//! Main types:
//! - [`layout::Sizing`] and [`layout::Layout`]: the settings that size
//!   shared memory, and where each area sits in the region. Every area has
//!   a `size()`; the region is their sum, so `-C shared_memory_size`,
//!   `tusk check` and the segment the postmaster asks the kernel for can
//!   never disagree.
//! - [`layout::AREAS`]: the area registry, one [`layout::AreaSpec`] per
//!   subsystem (size with checked arithmetic, alignment, init).
//! - [`procarray::ProcArray`]: one entry per process that can wait (client
//!   backends, reserved superuser slots, auxiliary processes). Backends
//!   publish who they are and what they do there; `pg_stat_activity`, the
//!   connection limits and `pg_terminate_backend` read it.
//! - [`latch::Latch`] and [`lwlock::LwLock`]: the two ways a process
//!   waits. A latch (in each proc slot) for "wake me when something
//!   changed, a signal came, the client spoke, or the postmaster died";
//!   the process's semaphore, through an LWLock, for lock hand-off only.
//! - [`control::ControlFileData`]: `global/pg_control` in PostgreSQL 15's
//!   layout and its shared copy, the cluster state that
//!   survives restarts (shut down cleanly or not, last checkpoint).
//! - [`bootstrap`]: the roles and databases of a cluster until the catalog
//!   lives in real tables.
//! - The storage engine's lowest layers (issue 9; unit-tested, not yet
//!   wired into the server): [`page`] (8 kB slotted pages and their
//!   checksum), [`smgr`] (relation files behind a trait, with a
//!   fault-injecting layer for crash tests), [`heaptuple`] (tuples with
//!   64-bit xids), [`wal`] (WAL record and page format, end-of-WAL
//!   detection) and [`clog`] (commit-status bits). Their on-disk formats
//!   are drawn in each module's header.
//! - Shared-memory areas declared at their final size before their
//!   subsystem runs: [`buffer`] (buffer descriptors), [`lock`] (the lock
//!   table), [`walbuffers`] (WAL buffers and positions) and [`clogbuffers`]
//!   (the commit-status cache).
//! - [`bufmgr`]: the buffer manager over those areas: the partitioned
//!   mapping table, pins (shared state word and private counts, registered
//!   with the resource owner), clock sweep, one reader per block, content
//!   locks, WAL-before-data writes, the checkpoint's flush of every dirty
//!   buffer and the fsync-request queue.
//! - [`xlog`]: the WAL at run time — records inserted into the shared WAL
//!   buffers ([`walbuffers`]), written and synced to `pg_wal/` with group
//!   commit, checkpoint records, and crash recovery through a resource
//!   manager table; [`walrecycle`]: how much WAL is kept (max_wal_size
//!   checkpoints, recycling and removal of old segments, spread-checkpoint
//!   pacing).
//! - Transactions and MVCC (issue 9 item 3): [`transam`] (64-bit xid
//!   assignment, subxids, commit/abort order, ProcArrayLock),
//!   [`clogbuffers`] (the commit-status cache over `pg_xact/`),
//!   [`snapshot`] (snapshots from the proc array, isolation levels) and
//!   [`visibility`] (MVCC, writer and vacuum rules, hint bits).
//! - [`heapam`]: the heap access method over the buffer manager: insert,
//!   fetch, sequential scan, delete and update with TM_Result outcomes,
//!   HOT updates and pruning; WAL, visibility and the extension lock are
//!   traits the WAL, MVCC and lock-manager work plugs into.
//! - [`fsm`]: the free-space map (one byte per heap block in the `_fsm`
//!   fork, a hint in shared buffers, not WAL-logged) and [`vacuum`]: lazy
//!   VACUUM (prune, free dead items, fill the map, cut empty end pages
//!   WAL-first) and VACUUM FULL's rewrite into a new relfilenode.
//! - [`heapwal`]: the heap and storage resource managers: WAL records of
//!   heap changes (with full-page images after a checkpoint) and of fork
//!   creation and truncation, and their redo through shared buffers.
//! - [`nbtree`]: B-tree indexes (issue 10): a B-link tree in shared
//!   buffers on PostgreSQL's page format — insert with splits, the unique
//!   check, forward scans returning heap TIDs, bulk build, WAL and redo.
//! - [`lmgr`]: the heavyweight lock manager over [`lock`]: eight modes,
//!   a partitioned shared hash, FIFO wait queues on latches, lock_timeout,
//!   deadlock detection, a per-backend table released by the resource
//!   owner, and pg_locks rows.
//! - The catalog in tables: [`datum`] (the tuple codec between SQL values
//!   and PostgreSQL's on-disk datum formats), [`catalog`] (the catalogs'
//!   OIDs and column layouts, built-in rows, the bootstrap that writes
//!   them at `tusk init`) and [`heapwal`] (the heap's WAL logger; a
//!   placeholder until the heap WAL records land).
//! - [`toast`] and [`pglz`]: TOAST's formats (compressed inline values,
//!   out-of-line pointers, chunk size) and the toaster's choice of what to
//!   compress or move out of a too-wide row; the pglz stream format.
//! - [`xact`]: a backend's transaction-block state machine and the
//!   resource owner that releases pins and locks at commit, abort and exit.
//! - [`exit`]: `proc_exit` and the before/on-shmem-exit callback lists that
//!   every server process ends through.
//!
//! Everything in shared memory is addressed by offset from the region's
//! base, never by pointer, because `tusk ipc` and a restarting server may
//! attach the same segment at another address.

// Every unsafe block says why it is sound (`// SAFETY:`): the invariant,
// which process may run it, and for shared memory who else may touch it.
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod bootstrap;
pub mod buffer;
pub mod bufmgr;
pub mod catalog;
pub mod clog;
pub mod clogbuffers;
pub mod control;
pub mod datum;
pub mod exit;
pub mod fsm;
pub mod heapam;
pub mod heaptuple;
pub mod heapwal;
pub mod latch;
pub mod layout;
pub mod lmgr;
pub mod lock;
pub mod lwlock;
pub mod nbtree;
pub mod notify;
pub mod page;
pub mod pglz;
pub mod pgstat;
pub mod procarray;
pub mod rowlock;
pub mod sequence;
pub mod smgr;
pub mod snapshot;
#[cfg(test)]
mod subxact_tests;
#[cfg(test)]
mod testutil;
pub mod toast;
pub mod transam;
pub mod vacuum;
pub mod visibility;
pub mod wal;
pub mod walbuffers;
pub mod walrecycle;
pub mod xact;
pub mod xactwal;
pub mod xlog;
