//! The storage manager: blocks of relation forks in files, behind a trait, plus a fault-injecting layer for crash tests.
//!
//! Why a trait: the buffer pool (issue 9 item 2) reads and writes whole
//! blocks and never sees a path or a file descriptor, so a test can put
//! [`FaultSmgr`] between the two and drop unsynced writes or tear a page
//! exactly where a power cut would, then run recovery against what is left
//! (issue 9 "Fault-injecting file layer"). The real implementation, [`Md`],
//! keeps PostgreSQL's file layout so operators find what they know:
//!
//! ```text
//! <data directory>/
//!   global/<relfilenode>[_fork][.segno]          shared catalogs (tablespace 1664)
//!   base/<db oid>/<relfilenode>[_fork][.segno]   everything else (tablespace 1663)
//!
//! fork suffix: main "", free-space map "_fsm", visibility map "_vm", init "_init"
//! segment:     block b lives in segment b / S at byte (b % S) * 8192, where
//!              S = segment_blocks (131072 = 1 GB in production; tests pass
//!              a few blocks). Segment 0 has no suffix, then ".1", ".2", ...
//!              Every segment before the last holds exactly S blocks.
//! ```
//!
//! Files are read and written with `pread`/`pwrite` of whole blocks at
//! computed offsets (no shared file position, so one descriptor serves any
//! order of calls). Errors carry PostgreSQL's messages, name the segment
//! file relative to the data directory, the block, and the failing call's
//! `%m` text, with the system call and its arguments in the detail. Files
//! are created mode 0600. A failed `fsync` is reported with severity PANIC:
//! after it the kernel may have dropped the dirty pages, so retrying could
//! "succeed" without the data — only crash recovery from WAL is safe
//! (PostgreSQL's `data_sync_retry = off`).
//!
//! Who may call: any process, each with its own [`Md`] (file descriptors are
//! per process). Which process may do I/O on a block at a given moment is
//! the buffer pool's business (one I/O per buffer at a time); creating,
//! truncating and unlinking a fork need the relation's heavyweight lock.
//! Nothing here touches shared memory.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::PathBuf;

use tusk_common::error::{PgError, Severity};
use tusk_common::sqlstate;

use crate::page::{PageBuf, BLCKSZ};

pub type BlockNumber = u32;
/// No block (PostgreSQL's InvalidBlockNumber); also the limit on a fork's size.
pub const INVALID_BLOCK: BlockNumber = u32::MAX;
/// Blocks per segment file in production: 1 GB of 8 kB pages.
pub const DEFAULT_SEGMENT_BLOCKS: u32 = (1 << 30) / BLCKSZ as u32;

/// Tablespace of the shared catalogs (`global/`).
pub const GLOBALTABLESPACE_OID: u32 = 1664;
/// Tablespace of everything else (`base/`).
pub const DEFAULTTABLESPACE_OID: u32 = 1663;

use tusk_common::sqlstate::{DISK_FULL, DUPLICATE_FILE, UNDEFINED_FILE};

const _: () = assert!(DEFAULT_SEGMENT_BLOCKS == 131072);

/// The physical identity of a relation: its files, not its catalog oid
/// (TRUNCATE and VACUUM FULL give a table a new relfilenode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelFileLocator {
    pub spc: u32,
    pub db: u32,
    pub rel: u32,
}

/// A relation fork, numbered as PostgreSQL's ForkNumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Fork {
    Main = 0,
    Fsm = 1,
    Vm = 2,
    Init = 3,
}

impl Fork {
    pub const ALL: [Fork; 4] = [Fork::Main, Fork::Fsm, Fork::Vm, Fork::Init];

    pub fn suffix(self) -> &'static str {
        match self {
            Fork::Main => "",
            Fork::Fsm => "_fsm",
            Fork::Vm => "_vm",
            Fork::Init => "_init",
        }
    }

    pub fn from_u8(n: u8) -> Option<Fork> {
        Fork::ALL.get(n as usize).copied()
    }
}

/// Path of segment 0 of a fork, relative to the data directory
/// (PostgreSQL's relpath()). Tablespaces other than the two built-in ones
/// are not supported yet; their files would go under `pg_tblspc/<oid>/`.
pub fn relpath(rel: RelFileLocator, fork: Fork) -> String {
    let s = fork.suffix();
    match rel.spc {
        GLOBALTABLESPACE_OID => format!("global/{}{s}", rel.rel),
        DEFAULTTABLESPACE_OID => format!("base/{}/{}{s}", rel.db, rel.rel),
        spc => format!("pg_tblspc/{spc}/{}/{}{s}", rel.db, rel.rel),
    }
}

/// Path of segment `segno` of a fork, relative to the data directory.
pub fn segment_path(rel: RelFileLocator, fork: Fork, segno: u32) -> String {
    if segno == 0 {
        relpath(rel, fork)
    } else {
        format!("{}.{segno}", relpath(rel, fork))
    }
}

/// Block-level access to relation forks. Every method may fail with the
/// error a client or the log should see.
pub trait Smgr {
    /// Does segment 0 of the fork exist?
    fn exists(&mut self, rel: RelFileLocator, fork: Fork) -> Result<bool, PgError>;
    /// Create an empty fork. `is_redo`: WAL replay may create a fork that
    /// already exists, which is then not an error.
    fn create(&mut self, rel: RelFileLocator, fork: Fork, is_redo: bool) -> Result<(), PgError>;
    /// Remove every segment of the fork; a fork that does not exist is fine
    /// (a DROP replayed twice).
    fn unlink(&mut self, rel: RelFileLocator, fork: Fork) -> Result<(), PgError>;
    /// Add block `blkno` (normally the current nblocks) with `page`'s content.
    fn extend(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
        page: &PageBuf,
    ) -> Result<(), PgError>;
    /// Read block `blkno`, which must exist.
    fn read(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
        page: &mut PageBuf,
    ) -> Result<(), PgError>;
    /// Overwrite existing block `blkno`. Not durable until [`Smgr::sync`].
    fn write(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
        page: &PageBuf,
    ) -> Result<(), PgError>;
    /// Number of blocks in the fork.
    fn nblocks(&mut self, rel: RelFileLocator, fork: Fork) -> Result<BlockNumber, PgError>;
    /// Cut the fork to `nblocks` blocks.
    fn truncate(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        nblocks: BlockNumber,
    ) -> Result<(), PgError>;
    /// Make every write to the fork so far durable (fsync each segment).
    fn sync(&mut self, rel: RelFileLocator, fork: Fork) -> Result<(), PgError>;
    /// Forget cached file descriptors of the relation (after another
    /// process dropped or truncated it).
    fn close(&mut self, rel: RelFileLocator);
}

/// One storage manager reached from two places in one process: the buffer
/// manager owns a boxed [`Smgr`], and a crash test keeps a clone of this
/// handle to the same [`FaultSmgr`] to crash it. Clones share the inner
/// manager; every call borrows it for that call only.
pub struct SharedSmgr<S>(pub std::rc::Rc<std::cell::RefCell<S>>);

impl<S> SharedSmgr<S> {
    pub fn new(s: S) -> SharedSmgr<S> {
        SharedSmgr(std::rc::Rc::new(std::cell::RefCell::new(s)))
    }
}

impl<S> Clone for SharedSmgr<S> {
    fn clone(&self) -> Self {
        SharedSmgr(self.0.clone())
    }
}

impl<S: Smgr> Smgr for SharedSmgr<S> {
    fn exists(&mut self, rel: RelFileLocator, fork: Fork) -> Result<bool, PgError> {
        self.0.borrow_mut().exists(rel, fork)
    }
    fn create(&mut self, rel: RelFileLocator, fork: Fork, is_redo: bool) -> Result<(), PgError> {
        self.0.borrow_mut().create(rel, fork, is_redo)
    }
    fn unlink(&mut self, rel: RelFileLocator, fork: Fork) -> Result<(), PgError> {
        self.0.borrow_mut().unlink(rel, fork)
    }
    fn extend(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
        page: &PageBuf,
    ) -> Result<(), PgError> {
        self.0.borrow_mut().extend(rel, fork, blkno, page)
    }
    fn read(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
        page: &mut PageBuf,
    ) -> Result<(), PgError> {
        self.0.borrow_mut().read(rel, fork, blkno, page)
    }
    fn write(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
        page: &PageBuf,
    ) -> Result<(), PgError> {
        self.0.borrow_mut().write(rel, fork, blkno, page)
    }
    fn nblocks(&mut self, rel: RelFileLocator, fork: Fork) -> Result<BlockNumber, PgError> {
        self.0.borrow_mut().nblocks(rel, fork)
    }
    fn truncate(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        nblocks: BlockNumber,
    ) -> Result<(), PgError> {
        self.0.borrow_mut().truncate(rel, fork, nblocks)
    }
    fn sync(&mut self, rel: RelFileLocator, fork: Fork) -> Result<(), PgError> {
        self.0.borrow_mut().sync(rel, fork)
    }
    fn close(&mut self, rel: RelFileLocator) {
        self.0.borrow_mut().close(rel)
    }
}

/// `%m`: the C library's text for the error, without Rust's
/// " (os error N)" suffix, since that is what PostgreSQL prints and what
/// operators grep for.
pub fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// PostgreSQL's errcode_for_file_access.
pub fn file_access_code(e: &io::Error) -> tusk_common::SqlState {
    match e.raw_os_error() {
        Some(libc::ENOENT) => UNDEFINED_FILE,
        Some(libc::EEXIST) => DUPLICATE_FILE,
        Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => {
            sqlstate::INSUFFICIENT_PRIVILEGE
        }
        Some(libc::ENOSPC) => DISK_FULL,
        Some(libc::ENFILE) | Some(libc::EMFILE) => sqlstate::INSUFFICIENT_RESOURCES,
        _ => sqlstate::IO_ERROR,
    }
}

/// An error from system call `call` (written with its arguments, the file
/// named by its path relative to the data directory), PostgreSQL's
/// message in front, the call in the detail.
fn io_err(e: &io::Error, message: String, call: String) -> PgError {
    let mut err = PgError::error(file_access_code(e), message)
        .with_detail(format!("Failed system call was {call}."));
    if e.raw_os_error() == Some(libc::ENOSPC) {
        err = err.with_hint("Check free disk space.");
    }
    err
}

/// Mode of every file the storage manager creates: the server's user only,
/// as PostgreSQL's pg_file_create_mode.
const FILE_MODE: u32 = 0o600;

/// The md ("magnetic disk") storage manager: forks as segment files under
/// a data directory.
///
/// Open segments are a cache, not a registry: at most `max_open` stay
/// open, and opening one more closes the least recently used (PostgreSQL's
/// virtual file descriptors in fd.c). Without the cap a session that
/// touches more relations than RLIMIT_NOFILE allows — a schema migration
/// creating a few hundred tables, pg_dump of a large database — fails
/// with EMFILE. Closing never loses a write: `pwrite` has handed the data
/// to the kernel, and [`Smgr::sync`] opens the file again to fsync it,
/// as PostgreSQL's checkpointer does.
pub struct Md {
    root: PathBuf,
    segment_blocks: u32,
    files: HashMap<(RelFileLocator, Fork, u32), OpenSegment>,
    /// Most segments kept open at once (at least 1).
    max_open: usize,
    /// Advances on every use; an open segment's `used` is the tick of its
    /// last use, so the smallest is the least recently used.
    tick: u64,
}

struct OpenSegment {
    file: File,
    used: u64,
}

/// Segments an [`Md`] keeps open unless told otherwise: PostgreSQL's
/// default max_files_per_process (1000) less the descriptors a backend
/// keeps for its socket, WAL, commit log and temporary files.
pub const DEFAULT_MAX_OPEN_SEGMENTS: usize = 900;

impl Md {
    /// Storage under data directory `root`, `segment_blocks` blocks per
    /// segment file ([`DEFAULT_SEGMENT_BLOCKS`] outside tests).
    pub fn new(root: impl Into<PathBuf>, segment_blocks: u32) -> Md {
        assert!(segment_blocks > 0);
        Md {
            root: root.into(),
            segment_blocks,
            files: HashMap::new(),
            max_open: DEFAULT_MAX_OPEN_SEGMENTS,
            tick: 0,
        }
    }

    /// Keep at most `n` segment files open (the process's share of
    /// max_files_per_process; see [`Md`]).
    pub fn with_max_open(mut self, n: usize) -> Md {
        self.max_open = n.max(1);
        self
    }

    /// Segment files open now.
    pub fn open_segments(&self) -> usize {
        self.files.len()
    }

    /// Make room for one more open segment: close the least recently used
    /// while `max_open` are open.
    fn make_room(&mut self) {
        while self.files.len() >= self.max_open {
            let Some(victim) = self
                .files
                .iter()
                .min_by_key(|(_, o)| o.used)
                .map(|(k, _)| *k)
            else {
                return;
            };
            self.files.remove(&victim);
        }
    }

    /// Remember `f` as open segment `key`, closing another if the cap is
    /// reached.
    fn keep_open(&mut self, key: (RelFileLocator, Fork, u32), f: File) {
        self.make_room();
        self.tick += 1;
        self.files.insert(
            key,
            OpenSegment {
                file: f,
                used: self.tick,
            },
        );
    }

    pub fn segment_blocks(&self) -> u32 {
        self.segment_blocks
    }

    /// Open (and cache) segment `segno`; with `create`, make it if missing.
    fn segment(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        segno: u32,
        create: bool,
    ) -> Result<&File, PgError> {
        let key = (rel, fork, segno);
        self.tick += 1;
        if let Some(o) = self.files.get_mut(&key) {
            o.used = self.tick;
        } else {
            let rp = segment_path(rel, fork, segno);
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(create)
                .mode(FILE_MODE)
                .open(self.root.join(&rp))
                .map_err(|e| {
                    let flags = if create {
                        "O_RDWR | O_CREAT, 0600"
                    } else {
                        "O_RDWR"
                    };
                    io_err(
                        &e,
                        format!("could not open file \"{rp}\": {}", strerror(&e)),
                        format!("open(\"{rp}\", {flags})"),
                    )
                })?;
            self.keep_open(key, f);
        }
        Ok(&self.files[&key].file)
    }

    /// Open segment `segno` if it exists; None if it does not.
    fn try_segment(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        segno: u32,
    ) -> Result<Option<&File>, PgError> {
        match self.segment(rel, fork, segno, false) {
            Ok(_) => Ok(Some(&self.files[&(rel, fork, segno)].file)),
            Err(e) if e.code == UNDEFINED_FILE => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn locate(&self, blkno: BlockNumber) -> (u32, u64) {
        (
            blkno / self.segment_blocks,
            (blkno % self.segment_blocks) as u64 * BLCKSZ as u64,
        )
    }

    fn segment_len(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        segno: u32,
    ) -> Result<Option<u64>, PgError> {
        let Some(f) = self.try_segment(rel, fork, segno)? else {
            return Ok(None);
        };
        match f.metadata() {
            Ok(md) => Ok(Some(md.len())),
            Err(e) => {
                let rp = segment_path(rel, fork, segno);
                Err(io_err(
                    &e,
                    format!("could not seek to end of file \"{rp}\": {}", strerror(&e)),
                    format!("fstat(\"{rp}\")"),
                ))
            }
        }
    }
}

impl Smgr for Md {
    fn exists(&mut self, rel: RelFileLocator, fork: Fork) -> Result<bool, PgError> {
        Ok(self.try_segment(rel, fork, 0)?.is_some())
    }

    fn create(&mut self, rel: RelFileLocator, fork: Fork, is_redo: bool) -> Result<(), PgError> {
        let rp = relpath(rel, fork);
        let path = self.root.join(&rp);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                io_err(
                    &e,
                    format!(
                        "could not create directory \"{}\": {}",
                        dir.strip_prefix(&self.root).unwrap_or(dir).display(),
                        strerror(&e)
                    ),
                    format!(
                        "mkdir(\"{}\", 0700)",
                        dir.strip_prefix(&self.root).unwrap_or(dir).display()
                    ),
                )
            })?;
        }
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&path);
        let f = match f {
            Ok(f) => f,
            Err(e) if is_redo && e.kind() == io::ErrorKind::AlreadyExists => OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| {
                    io_err(
                        &e,
                        format!("could not open file \"{rp}\": {}", strerror(&e)),
                        format!("open(\"{rp}\", O_RDWR)"),
                    )
                })?,
            Err(e) => {
                return Err(io_err(
                    &e,
                    format!("could not create file \"{rp}\": {}", strerror(&e)),
                    format!("open(\"{rp}\", O_RDWR | O_CREAT | O_EXCL, 0600)"),
                ))
            }
        };
        self.keep_open((rel, fork, 0), f);
        Ok(())
    }

    fn unlink(&mut self, rel: RelFileLocator, fork: Fork) -> Result<(), PgError> {
        self.files.retain(|(r, f, _), _| !(*r == rel && *f == fork));
        // Segments are contiguous, but a crash in the middle of a previous
        // unlink may have removed segment 0 first: remove from the end so
        // that never happens, and stop at the first missing one.
        let mut last = 0;
        while self.root.join(segment_path(rel, fork, last + 1)).exists() {
            last += 1;
        }
        for segno in (0..=last).rev() {
            let rp = segment_path(rel, fork, segno);
            match std::fs::remove_file(self.root.join(&rp)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(io_err(
                        &e,
                        format!("could not remove file \"{rp}\": {}", strerror(&e)),
                        format!("unlink(\"{rp}\")"),
                    ))
                }
            }
        }
        Ok(())
    }

    fn extend(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
        page: &PageBuf,
    ) -> Result<(), PgError> {
        if blkno == INVALID_BLOCK {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "cannot extend file \"{}\" beyond {} blocks",
                    relpath(rel, fork),
                    INVALID_BLOCK
                ),
            ));
        }
        let (segno, off) = self.locate(blkno);
        let rp = segment_path(rel, fork, segno);
        let f = self.segment(rel, fork, segno, true)?;
        match write_full(f, page, off) {
            Ok(n) if n == BLCKSZ => Ok(()),
            Ok(n) => Err(PgError::error(
                DISK_FULL,
                format!("could not extend file \"{rp}\": wrote only {n} of {BLCKSZ} bytes at block {blkno}"),
            )
            .with_hint("Check free disk space.")),
            Err(e) => Err(io_err(
                &e,
                format!("could not extend file \"{rp}\": {}", strerror(&e)),
                format!("pwrite(\"{rp}\", {BLCKSZ}, {off})"),
            )
            .with_hint("Check free disk space.")),
        }
    }

    fn read(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
        page: &mut PageBuf,
    ) -> Result<(), PgError> {
        let (segno, off) = self.locate(blkno);
        let rp = segment_path(rel, fork, segno);
        let f = self.segment(rel, fork, segno, false)?;
        let mut done = 0;
        while done < BLCKSZ {
            match f.read_at(&mut page[done..], off + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(io_err(
                        &e,
                        format!(
                            "could not read block {blkno} in file \"{rp}\": {}",
                            strerror(&e)
                        ),
                        format!("pread(\"{rp}\", {}, {})", BLCKSZ - done, off + done as u64),
                    ));
                }
            }
        }
        if done != BLCKSZ {
            return Err(PgError::error(
                sqlstate::DATA_CORRUPTED,
                format!("could not read block {blkno} in file \"{rp}\": read only {done} of {BLCKSZ} bytes"),
            ));
        }
        Ok(())
    }

    fn write(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
        page: &PageBuf,
    ) -> Result<(), PgError> {
        let (segno, off) = self.locate(blkno);
        let rp = segment_path(rel, fork, segno);
        let f = self.segment(rel, fork, segno, false)?;
        match write_full(f, page, off) {
            Ok(n) if n == BLCKSZ => Ok(()),
            Ok(n) => Err(PgError::error(
                DISK_FULL,
                format!("could not write block {blkno} in file \"{rp}\": wrote only {n} of {BLCKSZ} bytes"),
            )
            .with_hint("Check free disk space.")),
            Err(e) => Err(io_err(
                &e,
                format!("could not write block {blkno} in file \"{rp}\": {}", strerror(&e)),
                format!("pwrite(\"{rp}\", {BLCKSZ}, {off})"),
            )),
        }
    }

    fn nblocks(&mut self, rel: RelFileLocator, fork: Fork) -> Result<BlockNumber, PgError> {
        // Open segment 0 first so that a missing fork is reported as
        // "could not open file", and later segments may simply be absent.
        self.segment(rel, fork, 0, false)?;
        let mut total: u64 = 0;
        let mut segno = 0;
        while let Some(len) = self.segment_len(rel, fork, segno)? {
            let blocks = len / BLCKSZ as u64;
            if blocks > self.segment_blocks as u64 {
                return Err(PgError::error(
                    sqlstate::DATA_CORRUPTED,
                    format!(
                        "segment too big: \"{}\" has {blocks} blocks",
                        segment_path(rel, fork, segno)
                    ),
                ));
            }
            total += blocks;
            if blocks < self.segment_blocks as u64 {
                break;
            }
            segno += 1;
        }
        Ok(total.min(INVALID_BLOCK as u64) as BlockNumber)
    }

    fn truncate(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        nblocks: BlockNumber,
    ) -> Result<(), PgError> {
        let cur = self.nblocks(rel, fork)?;
        if nblocks > cur {
            return Err(PgError::error(
                sqlstate::IO_ERROR,
                format!(
                    "could not truncate file \"{}\" to {nblocks} blocks: it's only {cur} blocks now",
                    relpath(rel, fork)
                ),
            ));
        }
        let seg_blocks = self.segment_blocks;
        let last = if cur == 0 { 0 } else { (cur - 1) / seg_blocks };
        for segno in 0..=last {
            let start = segno as u64 * seg_blocks as u64;
            let keep = (nblocks as u64)
                .saturating_sub(start)
                .min(seg_blocks as u64);
            if keep == seg_blocks as u64 {
                continue;
            }
            // Segments wholly past the new end become empty but stay, as in
            // PostgreSQL: nblocks stops at the first short segment, and a
            // later extend reuses them.
            let rp = segment_path(rel, fork, segno);
            let f = self.segment(rel, fork, segno, false)?;
            f.set_len(keep * BLCKSZ as u64).map_err(|e| {
                io_err(
                    &e,
                    format!(
                        "could not truncate file \"{rp}\" to {nblocks} blocks: {}",
                        strerror(&e)
                    ),
                    format!("ftruncate(\"{rp}\", {})", keep * BLCKSZ as u64),
                )
            })?;
        }
        Ok(())
    }

    fn sync(&mut self, rel: RelFileLocator, fork: Fork) -> Result<(), PgError> {
        let mut segno = 0;
        while let Some(f) = self.try_segment(rel, fork, segno)? {
            if let Err(e) = f.sync_all() {
                let rp = segment_path(rel, fork, segno);
                return Err(io_err(
                    &e,
                    format!("could not fsync file \"{rp}\": {}", strerror(&e)),
                    format!("fsync(\"{rp}\")"),
                )
                .with_severity(Severity::Panic));
            }
            segno += 1;
        }
        Ok(())
    }

    fn close(&mut self, rel: RelFileLocator) {
        self.files.retain(|(r, _, _), _| *r != rel);
    }
}

/// pwrite until the whole block is written, the disk is full (a short
/// count) or an error other than EINTR occurs.
fn write_full(f: &File, page: &PageBuf, off: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < BLCKSZ {
        match f.write_at(&page[done..], off + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if done > 0 && e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

// ---------------------------------------------------------------------------
// Fault injection
// ---------------------------------------------------------------------------

/// What a [`FaultSmgr`] does to upcoming writes. Writes are counted from 1
/// over `write` and `extend` calls since the plan was set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// The Nth write fails with ENOSPC ("could not write block ...: No space
    /// left on device") and changes nothing.
    pub fail_write: Option<u64>,
    /// The Nth write is torn: only its first `bytes` bytes reach the file
    /// (512 = one sector, 4096 = one file-system page), the rest of the
    /// block keeps its old content. The process is taken to have died in
    /// the middle of that write: the call and every later one fail until
    /// [`FaultSmgr::crash`], and the torn block survives the crash.
    pub torn_write: Option<(u64, usize)>,
    /// The Nth `sync` fails with EIO (a PANIC, as every fsync failure).
    pub fail_sync: Option<u64>,
}

/// What happens at [`FaultSmgr::crash`] to blocks written but not synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashMode {
    /// Every unsynced write is lost: the block has its last synced content
    /// again, and blocks added since the last sync disappear.
    LoseUnsynced,
    /// Every unsynced write is torn: the first `n` bytes of the new content
    /// over the last synced content (zeros for a block added since).
    TearUnsynced(usize),
    /// The kernel happened to write everything back before the crash.
    KeepUnsynced,
}

/// Per-fork record of what a crash would undo.
#[derive(Debug, Default)]
struct Unsynced {
    /// Blocks the fork had at its last sync (or when first written since).
    durable_nblocks: BlockNumber,
    /// Last synced content of each block below `durable_nblocks` written
    /// since; blocks at or above `durable_nblocks` are simply cut off.
    preimages: BTreeMap<BlockNumber, Box<PageBuf>>,
    /// Blocks at or above `durable_nblocks` written since the last sync.
    added: BTreeMap<BlockNumber, ()>,
}

/// A storage manager that passes everything to `inner` (normally an [`Md`]
/// on a temporary directory) but remembers what is not yet durable, so that
/// a test can fail a write, tear one, or simulate a crash that loses or
/// tears every write not followed by a sync.
///
/// Model: writes go to the inner files at once (as to the OS page cache:
/// later reads see them); [`Smgr::sync`] makes a fork's writes durable;
/// [`FaultSmgr::crash`] rewrites the inner files to what a power cut would
/// have left. Create, unlink and truncate are taken as durable when they
/// return (PostgreSQL fsyncs the directory or logs them in WAL first).
pub struct FaultSmgr<S: Smgr> {
    inner: S,
    plan: FaultPlan,
    writes: u64,
    syncs: u64,
    crashed: bool,
    unsynced: HashMap<(RelFileLocator, Fork), Unsynced>,
}

impl<S: Smgr> FaultSmgr<S> {
    pub fn new(inner: S) -> FaultSmgr<S> {
        FaultSmgr {
            inner,
            plan: FaultPlan::default(),
            writes: 0,
            syncs: 0,
            crashed: false,
            unsynced: HashMap::new(),
        }
    }

    /// Arm `plan`, counting writes and syncs from zero again.
    pub fn set_plan(&mut self, plan: FaultPlan) {
        self.plan = plan;
        self.writes = 0;
        self.syncs = 0;
    }

    /// Writes (write + extend calls) since the plan was set.
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// Has a torn write "killed" the process?
    pub fn is_crashed(&self) -> bool {
        self.crashed
    }

    /// The wrapped storage manager (to inspect files after a crash).
    pub fn inner(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Number of blocks whose writes a crash would lose or tear now.
    pub fn unsynced_blocks(&self) -> usize {
        self.unsynced
            .values()
            .map(|u| u.preimages.len() + u.added.len())
            .sum()
    }

    /// Simulate a power cut now: apply `mode` to every write since the last
    /// sync of its fork, then forget them and disarm the plan, as a restarted
    /// system would find the disk.
    pub fn crash(&mut self, mode: CrashMode) -> Result<(), PgError> {
        let unsynced = std::mem::take(&mut self.unsynced);
        for ((rel, fork), u) in unsynced {
            match mode {
                CrashMode::KeepUnsynced => {}
                CrashMode::LoseUnsynced => {
                    for (blk, pre) in &u.preimages {
                        self.inner.write(rel, fork, *blk, pre)?;
                    }
                    if self.inner.nblocks(rel, fork)? > u.durable_nblocks {
                        self.inner.truncate(rel, fork, u.durable_nblocks)?;
                    }
                }
                CrashMode::TearUnsynced(n) => {
                    let n = n.min(BLCKSZ);
                    let mut page = Box::new([0u8; BLCKSZ]);
                    for (blk, pre) in &u.preimages {
                        self.inner.read(rel, fork, *blk, &mut page)?;
                        page[n..].copy_from_slice(&pre[n..]);
                        self.inner.write(rel, fork, *blk, &page)?;
                    }
                    for blk in u.added.keys() {
                        self.inner.read(rel, fork, *blk, &mut page)?;
                        page[n..].fill(0);
                        self.inner.write(rel, fork, *blk, &page)?;
                    }
                }
            }
            self.inner.sync(rel, fork)?;
        }
        self.crashed = false;
        self.plan = FaultPlan::default();
        Ok(())
    }

    fn check_alive(&self, what: &str) -> Result<(), PgError> {
        if self.crashed {
            return Err(PgError::error(
                sqlstate::IO_ERROR,
                format!("could not {what}: simulated crash in progress"),
            ));
        }
        Ok(())
    }

    /// Record the durable state of a block before its first unsynced change.
    fn remember(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
    ) -> Result<(), PgError> {
        if !self.unsynced.contains_key(&(rel, fork)) {
            let n = self.inner.nblocks(rel, fork)?;
            self.unsynced.insert(
                (rel, fork),
                Unsynced {
                    durable_nblocks: n,
                    ..Default::default()
                },
            );
        }
        let u = self.unsynced.get_mut(&(rel, fork)).unwrap();
        if blkno >= u.durable_nblocks {
            u.added.insert(blkno, ());
        } else if !u.preimages.contains_key(&blkno) {
            let mut pre = Box::new([0u8; BLCKSZ]);
            self.inner.read(rel, fork, blkno, &mut pre)?;
            self.unsynced
                .get_mut(&(rel, fork))
                .unwrap()
                .preimages
                .insert(blkno, pre);
        }
        Ok(())
    }

    /// Apply the plan to the write about to happen. Ok(None): go ahead.
    /// Ok(Some(n)): tear it at n bytes.
    fn next_write(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
    ) -> Result<Option<usize>, PgError> {
        self.writes += 1;
        if self.plan.fail_write == Some(self.writes) {
            let e = io::Error::from_raw_os_error(libc::ENOSPC);
            return Err(io_err(
                &e,
                format!(
                    "could not write block {blkno} in file \"{}\": {}",
                    relpath(rel, fork),
                    strerror(&e)
                ),
                format!(
                    "pwrite (block {blkno} of \"{}\"), failed on purpose by FaultSmgr",
                    relpath(rel, fork)
                ),
            ));
        }
        match self.plan.torn_write {
            Some((n, bytes)) if n == self.writes => Ok(Some(bytes.min(BLCKSZ))),
            _ => Ok(None),
        }
    }

    fn tear(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
        page: &PageBuf,
        bytes: usize,
        extend: bool,
    ) -> Result<(), PgError> {
        let mut torn = Box::new([0u8; BLCKSZ]);
        if !extend {
            self.inner.read(rel, fork, blkno, &mut torn)?;
        }
        torn[..bytes].copy_from_slice(&page[..bytes]);
        if extend {
            self.inner.extend(rel, fork, blkno, &torn)?;
        } else {
            self.inner.write(rel, fork, blkno, &torn)?;
        }
        // What reached the disk stays there whatever the crash mode: it is
        // no longer "unsynced".
        if let Some(u) = self.unsynced.get_mut(&(rel, fork)) {
            u.preimages.remove(&blkno);
            u.added.remove(&blkno);
            if extend && u.durable_nblocks == blkno {
                u.durable_nblocks = blkno + 1;
            }
        }
        self.crashed = true;
        Err(PgError::error(
            sqlstate::IO_ERROR,
            format!(
                "could not write block {blkno} in file \"{}\": simulated crash after {bytes} of {BLCKSZ} bytes",
                relpath(rel, fork)
            ),
        ))
    }
}

impl<S: Smgr> Smgr for FaultSmgr<S> {
    fn exists(&mut self, rel: RelFileLocator, fork: Fork) -> Result<bool, PgError> {
        self.check_alive("open file")?;
        self.inner.exists(rel, fork)
    }

    fn create(&mut self, rel: RelFileLocator, fork: Fork, is_redo: bool) -> Result<(), PgError> {
        self.check_alive("create file")?;
        self.inner.create(rel, fork, is_redo)?;
        self.unsynced.remove(&(rel, fork));
        Ok(())
    }

    fn unlink(&mut self, rel: RelFileLocator, fork: Fork) -> Result<(), PgError> {
        self.check_alive("remove file")?;
        self.unsynced.remove(&(rel, fork));
        self.inner.unlink(rel, fork)
    }

    fn extend(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
        page: &PageBuf,
    ) -> Result<(), PgError> {
        self.check_alive("extend file")?;
        // A write the plan fails changes nothing, so it is not remembered.
        let torn = self.next_write(rel, fork, blkno)?;
        self.remember(rel, fork, blkno)?;
        match torn {
            Some(bytes) => self.tear(rel, fork, blkno, page, bytes, true),
            None => self.inner.extend(rel, fork, blkno, page),
        }
    }

    fn read(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
        page: &mut PageBuf,
    ) -> Result<(), PgError> {
        self.check_alive("read block")?;
        self.inner.read(rel, fork, blkno, page)
    }

    fn write(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        blkno: BlockNumber,
        page: &PageBuf,
    ) -> Result<(), PgError> {
        self.check_alive("write block")?;
        // A write the plan fails changes nothing, so it is not remembered.
        let torn = self.next_write(rel, fork, blkno)?;
        self.remember(rel, fork, blkno)?;
        match torn {
            Some(bytes) => self.tear(rel, fork, blkno, page, bytes, false),
            None => self.inner.write(rel, fork, blkno, page),
        }
    }

    fn nblocks(&mut self, rel: RelFileLocator, fork: Fork) -> Result<BlockNumber, PgError> {
        self.check_alive("open file")?;
        self.inner.nblocks(rel, fork)
    }

    fn truncate(
        &mut self,
        rel: RelFileLocator,
        fork: Fork,
        nblocks: BlockNumber,
    ) -> Result<(), PgError> {
        self.check_alive("truncate file")?;
        self.inner.truncate(rel, fork, nblocks)?;
        if let Some(u) = self.unsynced.get_mut(&(rel, fork)) {
            u.preimages.retain(|b, _| *b < nblocks);
            u.added.retain(|b, _| *b < nblocks);
            u.durable_nblocks = u.durable_nblocks.min(nblocks);
        }
        Ok(())
    }

    fn sync(&mut self, rel: RelFileLocator, fork: Fork) -> Result<(), PgError> {
        self.check_alive("fsync file")?;
        self.syncs += 1;
        if self.plan.fail_sync == Some(self.syncs) {
            let e = io::Error::from_raw_os_error(libc::EIO);
            return Err(io_err(
                &e,
                format!(
                    "could not fsync file \"{}\": {}",
                    relpath(rel, fork),
                    strerror(&e)
                ),
                format!(
                    "fsync(\"{}\"), failed on purpose by FaultSmgr",
                    relpath(rel, fork)
                ),
            )
            .with_severity(Severity::Panic));
        }
        self.inner.sync(rel, fork)?;
        self.unsynced.remove(&(rel, fork));
        Ok(())
    }

    fn close(&mut self, rel: RelFileLocator) {
        self.inner.close(rel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page;

    const REL: RelFileLocator = RelFileLocator {
        spc: DEFAULTTABLESPACE_OID,
        db: 5,
        rel: 16384,
    };

    fn page_of(tag: u8) -> Box<PageBuf> {
        let mut p = Box::new([0u8; BLCKSZ]);
        page::init(&mut p, 0);
        page::add_item(
            &mut p,
            &[tag; 100],
            page::AddAt::FirstFree,
            page::MAX_OFFSET_NUMBER,
        )
        .unwrap();
        p
    }

    fn tag_of(p: &PageBuf) -> u8 {
        page::get_item(p, 1).unwrap()[0]
    }

    fn file_len(dir: &tempfile::TempDir, rp: &str) -> u64 {
        std::fs::metadata(dir.path().join(rp)).unwrap().len()
    }

    #[test]
    fn paths_follow_postgres_layout() {
        assert_eq!(relpath(REL, Fork::Main), "base/5/16384");
        assert_eq!(relpath(REL, Fork::Fsm), "base/5/16384_fsm");
        assert_eq!(relpath(REL, Fork::Vm), "base/5/16384_vm");
        assert_eq!(relpath(REL, Fork::Init), "base/5/16384_init");
        let shared = RelFileLocator {
            spc: GLOBALTABLESPACE_OID,
            db: 0,
            rel: 1262,
        };
        assert_eq!(relpath(shared, Fork::Main), "global/1262");
        assert_eq!(segment_path(REL, Fork::Main, 0), "base/5/16384");
        assert_eq!(segment_path(REL, Fork::Vm, 3), "base/5/16384_vm.3");
        for f in Fork::ALL {
            assert_eq!(Fork::from_u8(f as u8), Some(f));
        }
        assert_eq!(Fork::from_u8(4), None);
    }

    #[test]
    fn extend_read_write_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut md = Md::new(dir.path(), 4);
        assert!(!md.exists(REL, Fork::Main).unwrap());
        md.create(REL, Fork::Main, false).unwrap();
        assert!(md.exists(REL, Fork::Main).unwrap());
        assert_eq!(md.nblocks(REL, Fork::Main).unwrap(), 0);
        for b in 0..10u32 {
            md.extend(REL, Fork::Main, b, &page_of(b as u8)).unwrap();
            assert_eq!(md.nblocks(REL, Fork::Main).unwrap(), b + 1);
        }
        assert_eq!(file_len(&dir, "base/5/16384"), 4 * 8192);
        assert_eq!(file_len(&dir, "base/5/16384.1"), 4 * 8192);
        assert_eq!(file_len(&dir, "base/5/16384.2"), 2 * 8192);
        let mut p = Box::new([0u8; BLCKSZ]);
        for b in 0..10u32 {
            md.read(REL, Fork::Main, b, &mut p).unwrap();
            assert_eq!(tag_of(&p), b as u8);
        }
        md.write(REL, Fork::Main, 5, &page_of(55)).unwrap();
        md.sync(REL, Fork::Main).unwrap();
        // A fresh Md (another process) sees the same data.
        let mut other = Md::new(dir.path(), 4);
        other.read(REL, Fork::Main, 5, &mut p).unwrap();
        assert_eq!(tag_of(&p), 55);
        assert_eq!(other.nblocks(REL, Fork::Main).unwrap(), 10);
        // Block 4 starts segment 1 at byte 0.
        let raw = std::fs::read(dir.path().join("base/5/16384.1")).unwrap();
        assert_eq!(&raw[..BLCKSZ], &page_of(4)[..]);
    }

    #[test]
    fn open_segments_are_capped_and_reopened_on_use() {
        let dir = tempfile::tempdir().unwrap();
        let mut md = Md::new(dir.path(), 4).with_max_open(3);
        let rel = |n: u32| RelFileLocator {
            rel: 20000 + n,
            ..REL
        };
        // Twelve relations of two segments each: 24 files, never more than
        // three open, every block readable afterwards and after a sync.
        for n in 0..12u32 {
            md.create(rel(n), Fork::Main, false).unwrap();
            for b in 0..6u32 {
                md.extend(rel(n), Fork::Main, b, &page_of((n * 10 + b) as u8))
                    .unwrap();
                assert!(md.open_segments() <= 3, "{} open", md.open_segments());
            }
        }
        let mut p = Box::new([0u8; BLCKSZ]);
        for n in (0..12u32).rev() {
            assert_eq!(md.nblocks(rel(n), Fork::Main).unwrap(), 6);
            md.sync(rel(n), Fork::Main).unwrap();
            for b in 0..6u32 {
                md.read(rel(n), Fork::Main, b, &mut p).unwrap();
                assert_eq!(tag_of(&p), (n * 10 + b) as u8);
            }
            assert!(md.open_segments() <= 3);
        }
        // The most recently used segment stays open while others come and go.
        md.read(rel(0), Fork::Main, 0, &mut p).unwrap();
        md.read(rel(1), Fork::Main, 0, &mut p).unwrap();
        md.read(rel(0), Fork::Main, 1, &mut p).unwrap();
        md.read(rel(2), Fork::Main, 0, &mut p).unwrap();
        md.read(rel(3), Fork::Main, 0, &mut p).unwrap();
        assert!(md.files.contains_key(&(rel(0), Fork::Main, 0)));
        assert!(!md.files.contains_key(&(rel(1), Fork::Main, 0)));
    }

    #[test]
    fn forks_are_separate_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut md = Md::new(dir.path(), DEFAULT_SEGMENT_BLOCKS);
        md.create(REL, Fork::Main, false).unwrap();
        md.create(REL, Fork::Fsm, false).unwrap();
        md.extend(REL, Fork::Fsm, 0, &page_of(1)).unwrap();
        assert_eq!(md.nblocks(REL, Fork::Main).unwrap(), 0);
        assert_eq!(md.nblocks(REL, Fork::Fsm).unwrap(), 1);
        assert!(!md.exists(REL, Fork::Vm).unwrap());
        assert!(dir.path().join("base/5/16384_fsm").exists());
        // Creating twice is an error, except during WAL replay.
        let e = md.create(REL, Fork::Main, false).unwrap_err();
        assert_eq!(
            e.message,
            "could not create file \"base/5/16384\": File exists"
        );
        assert_eq!(e.code, "58P02");
        md.create(REL, Fork::Main, true).unwrap();
    }

    #[test]
    fn errors_name_file_block_and_cause() {
        let dir = tempfile::tempdir().unwrap();
        let mut md = Md::new(dir.path(), 4);
        let mut p = Box::new([0u8; BLCKSZ]);
        let e = md.read(REL, Fork::Main, 0, &mut p).unwrap_err();
        assert_eq!(
            e.message,
            "could not open file \"base/5/16384\": No such file or directory"
        );
        assert_eq!(e.code, "58P01");
        assert_eq!(
            e.detail.as_deref(),
            Some("Failed system call was open(\"base/5/16384\", O_RDWR).")
        );
        let e = md.nblocks(REL, Fork::Main).unwrap_err();
        assert_eq!(e.code, "58P01");
        md.create(REL, Fork::Main, false).unwrap();
        for b in 0..6 {
            md.extend(REL, Fork::Main, b, &page_of(b as u8)).unwrap();
        }
        let e = md.read(REL, Fork::Main, 7, &mut p).unwrap_err();
        assert_eq!(
            e.message,
            "could not read block 7 in file \"base/5/16384.1\": read only 0 of 8192 bytes"
        );
        assert_eq!(e.code, "XX001");
        let e = md.read(REL, Fork::Main, 9, &mut p).unwrap_err();
        assert_eq!(
            e.message,
            "could not open file \"base/5/16384.2\": No such file or directory"
        );
        // A torn extension (half a block at the end) is not a block.
        let f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("base/5/16384.1"))
            .unwrap();
        f.write_at(&[1u8; 100], 2 * 8192).unwrap();
        assert_eq!(md.nblocks(REL, Fork::Main).unwrap(), 6);
        let e = md.read(REL, Fork::Main, 6, &mut p).unwrap_err();
        assert_eq!(
            e.message,
            "could not read block 6 in file \"base/5/16384.1\": read only 100 of 8192 bytes"
        );
        let e = md.extend(REL, Fork::Main, INVALID_BLOCK, &p).unwrap_err();
        assert_eq!(
            e.message,
            "cannot extend file \"base/5/16384\" beyond 4294967295 blocks"
        );
        assert_eq!(e.code, "54000");
        let e = md.truncate(REL, Fork::Main, 7).unwrap_err();
        assert_eq!(
            e.message,
            "could not truncate file \"base/5/16384\" to 7 blocks: it's only 6 blocks now"
        );
        // A segment longer than the segment size is corruption, not data.
        let mut md2 = Md::new(dir.path(), 2);
        let e = md2.nblocks(REL, Fork::Main).unwrap_err();
        assert_eq!(e.code, "XX001");
        assert!(e.message.contains("segment too big"), "{}", e.message);
    }

    #[test]
    fn write_to_read_only_file_reports_the_call() {
        // As root, permissions do not stop writes; a file opened read-only
        // by another path would. Use a directory in place of segment 1 so
        // that opening it for writing fails everywhere.
        let dir = tempfile::tempdir().unwrap();
        let mut md = Md::new(dir.path(), 2);
        md.create(REL, Fork::Main, false).unwrap();
        md.extend(REL, Fork::Main, 0, &page_of(0)).unwrap();
        md.extend(REL, Fork::Main, 1, &page_of(1)).unwrap();
        std::fs::create_dir(dir.path().join("base/5/16384.1")).unwrap();
        let e = md.extend(REL, Fork::Main, 2, &page_of(2)).unwrap_err();
        assert_eq!(
            e.message,
            "could not open file \"base/5/16384.1\": Is a directory"
        );
        assert_eq!(e.code, "58030");
        assert_eq!(
            e.detail.as_deref(),
            Some("Failed system call was open(\"base/5/16384.1\", O_RDWR | O_CREAT, 0600).")
        );
        // Files are created for the server's user only.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("base/5/16384"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }

    #[test]
    fn truncate_and_unlink() {
        let dir = tempfile::tempdir().unwrap();
        let mut md = Md::new(dir.path(), 4);
        md.create(REL, Fork::Main, false).unwrap();
        for b in 0..10 {
            md.extend(REL, Fork::Main, b, &page_of(b as u8)).unwrap();
        }
        md.truncate(REL, Fork::Main, 5).unwrap();
        assert_eq!(md.nblocks(REL, Fork::Main).unwrap(), 5);
        assert_eq!(file_len(&dir, "base/5/16384"), 4 * 8192);
        assert_eq!(file_len(&dir, "base/5/16384.1"), 8192);
        assert_eq!(file_len(&dir, "base/5/16384.2"), 0);
        // Extending again reuses the emptied segment.
        for b in 5..9 {
            md.extend(REL, Fork::Main, b, &page_of(100 + b as u8))
                .unwrap();
        }
        assert_eq!(md.nblocks(REL, Fork::Main).unwrap(), 9);
        let mut p = Box::new([0u8; BLCKSZ]);
        md.read(REL, Fork::Main, 8, &mut p).unwrap();
        assert_eq!(tag_of(&p), 108);
        md.truncate(REL, Fork::Main, 4).unwrap();
        assert_eq!(md.nblocks(REL, Fork::Main).unwrap(), 4);
        md.truncate(REL, Fork::Main, 0).unwrap();
        assert_eq!(md.nblocks(REL, Fork::Main).unwrap(), 0);
        for b in 0..9 {
            md.extend(REL, Fork::Main, b, &page_of(b as u8)).unwrap();
        }
        md.unlink(REL, Fork::Main).unwrap();
        for seg in ["base/5/16384", "base/5/16384.1", "base/5/16384.2"] {
            assert!(!dir.path().join(seg).exists(), "{seg} left behind");
        }
        assert!(!md.exists(REL, Fork::Main).unwrap());
        // Unlinking what is not there (replayed DROP) is fine.
        md.unlink(REL, Fork::Main).unwrap();
    }

    fn fault_setup(segment_blocks: u32, blocks: u32) -> (tempfile::TempDir, FaultSmgr<Md>) {
        let dir = tempfile::tempdir().unwrap();
        let mut f = FaultSmgr::new(Md::new(dir.path(), segment_blocks));
        f.create(REL, Fork::Main, false).unwrap();
        for b in 0..blocks {
            f.extend(REL, Fork::Main, b, &page_of(b as u8)).unwrap();
        }
        f.sync(REL, Fork::Main).unwrap();
        assert_eq!(f.unsynced_blocks(), 0);
        (dir, f)
    }

    fn tags(dir: &tempfile::TempDir, segment_blocks: u32) -> Vec<u8> {
        // Read back through a fresh Md, as the restarted server would.
        let mut md = Md::new(dir.path(), segment_blocks);
        let n = md.nblocks(REL, Fork::Main).unwrap();
        let mut p = Box::new([0u8; BLCKSZ]);
        (0..n)
            .map(|b| {
                md.read(REL, Fork::Main, b, &mut p).unwrap();
                tag_of(&p)
            })
            .collect()
    }

    #[test]
    fn fault_fail_nth_write_changes_nothing() {
        let (dir, mut f) = fault_setup(4, 3);
        f.set_plan(FaultPlan {
            fail_write: Some(2),
            ..Default::default()
        });
        f.write(REL, Fork::Main, 0, &page_of(10)).unwrap();
        let e = f.write(REL, Fork::Main, 1, &page_of(11)).unwrap_err();
        assert_eq!(
            e.message,
            "could not write block 1 in file \"base/5/16384\": No space left on device"
        );
        assert_eq!(e.code, "53100");
        assert_eq!(e.hint.as_deref(), Some("Check free disk space."));
        f.write(REL, Fork::Main, 2, &page_of(12)).unwrap();
        assert_eq!(f.writes(), 3);
        assert_eq!(tags(&dir, 4), vec![10, 1, 12]);
    }

    #[test]
    fn fault_crash_loses_exactly_the_unsynced_writes() {
        let (dir, mut f) = fault_setup(2, 3);
        f.write(REL, Fork::Main, 0, &page_of(20)).unwrap();
        f.sync(REL, Fork::Main).unwrap();
        f.write(REL, Fork::Main, 1, &page_of(21)).unwrap();
        f.write(REL, Fork::Main, 1, &page_of(31)).unwrap();
        f.extend(REL, Fork::Main, 3, &page_of(23)).unwrap();
        f.extend(REL, Fork::Main, 4, &page_of(24)).unwrap();
        assert_eq!(f.unsynced_blocks(), 3);
        // Before the crash, reads see the unsynced data (page cache).
        assert_eq!(tags(&dir, 2), vec![20, 31, 2, 23, 24]);
        f.crash(CrashMode::LoseUnsynced).unwrap();
        assert_eq!(tags(&dir, 2), vec![20, 1, 2]);
        assert_eq!(f.nblocks(REL, Fork::Main).unwrap(), 3);
        assert_eq!(f.unsynced_blocks(), 0);
    }

    #[test]
    fn fault_crash_keep_and_tear_modes() {
        let (dir, mut f) = fault_setup(4, 2);
        f.write(REL, Fork::Main, 1, &page_of(41)).unwrap();
        f.extend(REL, Fork::Main, 2, &page_of(42)).unwrap();
        f.crash(CrashMode::KeepUnsynced).unwrap();
        assert_eq!(tags(&dir, 4), vec![0, 41, 42]);

        // Tear: 4096 new bytes over the old content. The item (at the end
        // of the page) keeps its old bytes, the header is the new one.
        let mut newp = page_of(50);
        page::set_lsn(&mut newp, 0x1234);
        page::set_checksum(&mut newp, 1);
        f.write(REL, Fork::Main, 1, &newp).unwrap();
        f.crash(CrashMode::TearUnsynced(4096)).unwrap();
        let mut p = Box::new([0u8; BLCKSZ]);
        f.read(REL, Fork::Main, 1, &mut p).unwrap();
        assert_eq!(&p[..4096], &newp[..4096]);
        assert_eq!(page::lsn(&p), 0x1234);
        assert_eq!(tag_of(&p), 41);
        // The page checksum catches the torn page.
        assert!(matches!(
            page::verify(&p, 1, true),
            Err(page::VerifyError::Checksum { .. })
        ));
    }

    #[test]
    fn fault_torn_write_kills_the_process_and_survives_the_crash() {
        for bytes in [512usize, 4096] {
            let (dir, mut f) = fault_setup(4, 3);
            f.set_plan(FaultPlan {
                torn_write: Some((2, bytes)),
                ..Default::default()
            });
            f.write(REL, Fork::Main, 2, &page_of(72)).unwrap();
            let mut newp = page_of(71);
            page::set_checksum(&mut newp, 1);
            let e = f.write(REL, Fork::Main, 1, &newp).unwrap_err();
            assert!(e.message.contains("simulated crash"), "{}", e.message);
            assert!(f.is_crashed());
            let mut p = Box::new([0u8; BLCKSZ]);
            assert!(f.read(REL, Fork::Main, 0, &mut p).is_err());
            assert!(f.sync(REL, Fork::Main).is_err());
            f.crash(CrashMode::LoseUnsynced).unwrap();
            assert!(!f.is_crashed());
            // Block 2's unsynced write is lost; block 1 is torn on disk.
            f.read(REL, Fork::Main, 2, &mut p).unwrap();
            assert_eq!(tag_of(&p), 2);
            f.read(REL, Fork::Main, 1, &mut p).unwrap();
            assert_eq!(&p[..bytes], &newp[..bytes]);
            assert_eq!(&p[bytes..], &page_of(1)[bytes..]);
            assert!(page::verify(&p, 1, true).is_err());
            drop(dir);
        }
    }

    #[test]
    fn fault_torn_extend_leaves_a_partial_block() {
        let (dir, mut f) = fault_setup(4, 1);
        f.set_plan(FaultPlan {
            torn_write: Some((1, 512)),
            ..Default::default()
        });
        assert!(f.extend(REL, Fork::Main, 1, &page_of(9)).is_err());
        f.crash(CrashMode::LoseUnsynced).unwrap();
        assert_eq!(f.nblocks(REL, Fork::Main).unwrap(), 2);
        let mut p = Box::new([0u8; BLCKSZ]);
        f.read(REL, Fork::Main, 1, &mut p).unwrap();
        assert_eq!(&p[..512], &page_of(9)[..512]);
        assert!(p[512..].iter().all(|&b| b == 0));
        drop(dir);
    }

    #[test]
    fn fault_fail_sync_is_a_panic_and_keeps_writes_unsynced() {
        let (dir, mut f) = fault_setup(4, 2);
        f.set_plan(FaultPlan {
            fail_sync: Some(1),
            ..Default::default()
        });
        f.write(REL, Fork::Main, 0, &page_of(80)).unwrap();
        let e = f.sync(REL, Fork::Main).unwrap_err();
        assert_eq!(e.severity, Severity::Panic);
        assert_eq!(
            e.message,
            "could not fsync file \"base/5/16384\": Input/output error"
        );
        assert_eq!(f.unsynced_blocks(), 1);
        f.crash(CrashMode::LoseUnsynced).unwrap();
        assert_eq!(tags(&dir, 4), vec![0, 1]);
    }

    #[test]
    fn fault_failed_extend_then_torn_crash() {
        let (dir, mut f) = fault_setup(4, 1);
        f.set_plan(FaultPlan {
            fail_write: Some(1),
            ..Default::default()
        });
        assert!(f.extend(REL, Fork::Main, 1, &page_of(5)).is_err());
        assert_eq!(f.unsynced_blocks(), 0);
        f.extend(REL, Fork::Main, 1, &page_of(6)).unwrap();
        f.crash(CrashMode::TearUnsynced(512)).unwrap();
        // The added block survives torn: 512 bytes of it, zeros after.
        let mut p = Box::new([0u8; BLCKSZ]);
        f.read(REL, Fork::Main, 1, &mut p).unwrap();
        assert_eq!(&p[..512], &page_of(6)[..512]);
        assert!(p[512..].iter().all(|&b| b == 0));
        assert_eq!(tags(&dir, 4)[0], 0);
    }

    #[test]
    fn fault_truncate_after_writes() {
        let (dir, mut f) = fault_setup(4, 4);
        f.write(REL, Fork::Main, 3, &page_of(93)).unwrap();
        f.write(REL, Fork::Main, 0, &page_of(90)).unwrap();
        f.truncate(REL, Fork::Main, 2).unwrap();
        f.extend(REL, Fork::Main, 2, &page_of(92)).unwrap();
        f.crash(CrashMode::LoseUnsynced).unwrap();
        assert_eq!(tags(&dir, 4), vec![0, 1]);
    }
}
