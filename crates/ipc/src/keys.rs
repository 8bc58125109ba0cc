//! Choosing System V keys: the create loops for the main segment and the
//! semaphore sets, and the judgement of whatever already holds a key.
//!
//! Why a loop and not "remove whatever is there": a key can belong to
//! another program, to another data directory's server, to a live server of
//! ours (or its orphaned backends), or to a crashed server's leftovers.
//! Only the last may be removed; the others must be skipped or refused.
//! The rules are PostgreSQL's (13+ for the segment, sysv_sema.c for the
//! semaphores):
//!
//! | what holds the key                     | segment                 | semaphore set          |
//! |----------------------------------------|-------------------------|------------------------|
//! | nothing (vanished meanwhile)           | retry the same key      | retry the same key     |
//! | another program / data directory / PG  | next key                | next key               |
//! | ours, nobody attached / creator dead   | IPC_RMID, same key      | IPC_RMID, same key     |
//! | ours, still attached / creator alive   | refuse: InUse (F0001)   | next key               |
//! | cannot tell                            | refuse (conservative)   | next key               |
//!
//! A segment is "ours" when its header's magic, data directory device and
//! inode match; its attach count (read before we attach to look) says
//! whether processes of an old server still run. A semaphore set is ours
//! when its marker holds TUSK_SEMA_MAGIC; the kernel's record of the
//! marker's last semop (GETPID) names the creator, which must be proven
//! dead (`kill(pid, 0)` = ESRCH) before the set is taken.
//!
//! The loops give up after [`MAX_KEY_ATTEMPTS`] skipped keys instead of
//! walking the key space forever.

use crate::header::{PgShmemHeader, ShmemHeader, HEADER_SIZE};
use crate::limits::{self, Exceeded, KernelView};
use crate::sem::{self, SemCreateError, SemSet, PG_SEMA_MAGIC, SEMAS_PER_SET, TUSK_SEMA_MAGIC};
use crate::shm::{self, fmt_report, shmat_report, shmget_report, Segment, ShmCreateError};
use crate::sys::errno_text;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use tusk_common::{elog, sqlstate, PgError};

/// Keys skipped (taken by others) before a create loop gives up.
pub const MAX_KEY_ATTEMPTS: usize = 1000;

/// Times the same key is retried (its object vanished, or was reclaimed
/// and then taken by someone else) before moving on, so that a process
/// racing us cannot keep the loop spinning.
const MAX_SAME_KEY_RETRIES: usize = 16;

/// SQLSTATE undefined_file, what PostgreSQL's errcode_for_file_access gives
/// for ENOENT.
use tusk_common::sqlstate::UNDEFINED_FILE;

/// What an existing segment is, as far as a server (or `tusk ipc`) is
/// concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentState {
    /// No segment with that id (any more).
    Gone,
    /// Not tusk's or PostgreSQL's, or of another data directory, or not
    /// readable by us.
    Foreign,
    /// tusk's, no process attached: a leftover that may be removed.
    TuskUnattached(Box<ShmemHeader>),
    /// tusk's, with this many processes attached.
    TuskAttached(Box<ShmemHeader>, u64),
    /// PostgreSQL's, nobody attached.
    PgUnattached(PgShmemHeader),
    /// PostgreSQL's, with this many processes attached.
    PgAttached(PgShmemHeader, u64),
    /// The kernel gave an unexpected error while looking.
    AnalysisFailure(String),
}

/// Judges the segment `id`. With `datadir` = Some((device, inode)), only a
/// segment of that data directory counts as tusk's or PostgreSQL's; the
/// others are Foreign. With None, any tusk or PostgreSQL segment is named
/// (for listings). The attach count is read before this function attaches
/// (read-only) to look at the header.
pub fn judge_segment(id: i32, datadir: Option<(u64, u64)>) -> SegmentState {
    let info = match shm::stat(id) {
        Ok(info) => info,
        Err(e) => return judge_error(&e, || format!("shmctl({id}, IPC_STAT) failed")),
    };
    let seg = match Segment::attach_read_only(id) {
        Ok(seg) => seg,
        Err(e) => {
            return judge_error(&e, || {
                format!(
                    "shmat(id={id}, addr=(nil), flags=0x{:x}) failed",
                    libc::SHM_RDONLY
                )
            })
        }
    };
    let matches = |dev: u64, ino: u64| datadir.is_none_or(|d| d == (dev, ino));
    if let Some(h) = seg.read_header() {
        if !matches(h.datadir_dev, h.datadir_ino) {
            return SegmentState::Foreign;
        }
        return if info.nattch == 0 {
            SegmentState::TuskUnattached(Box::new(h))
        } else {
            SegmentState::TuskAttached(Box::new(h), info.nattch)
        };
    }
    if let Some(pg) = seg.read_pg_header() {
        if !matches(pg.device, pg.inode) {
            return SegmentState::Foreign;
        }
        return if info.nattch == 0 {
            SegmentState::PgUnattached(pg)
        } else {
            SegmentState::PgAttached(pg, info.nattch)
        };
    }
    SegmentState::Foreign
}

/// EINVAL/EIDRM: the object is gone; EACCES: not ours to look at;
/// anything else: cannot tell.
fn judge_error(e: &io::Error, call: impl Fn() -> String) -> SegmentState {
    match e.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::EIDRM) => SegmentState::Gone,
        Some(libc::EACCES) => SegmentState::Foreign,
        _ => SegmentState::AnalysisFailure(format!(
            "{}: {}",
            call(),
            e.raw_os_error()
                .map(errno_text)
                .unwrap_or_else(|| e.to_string())
        )),
    }
}

/// Whether a process with this PID exists: `kill(pid, 0)` succeeds, or
/// fails with EPERM (it exists but belongs to another user). Only ESRCH
/// proves it dead; any other error is taken as alive, because reclaiming a
/// live process's object is the worse mistake. PID <= 0 is never alive
/// (kill would address a process group).
///
/// `tusk ctl`'s `process_alive` answers another question on purpose:
/// "is this my server, that I can signal?" — there EPERM counts as not
/// running, as in pg_ctl's `postmaster_is_alive`. Use this function to
/// decide whether something may be destroyed, that one to decide whether
/// a server can be controlled.
pub fn pid_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks existence and permission.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Device and inode of a data directory: the identity stored in the header.
pub fn datadir_identity(datadir: &Path) -> io::Result<(u64, u64)> {
    let md = std::fs::metadata(datadir)?;
    Ok((md.dev(), md.ino()))
}

/// Why the main segment could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShmemError {
    /// `stat` of the data directory failed.
    DataDir { path: PathBuf, errno: i32 },
    /// The requested size cannot even hold the header.
    TooSmall { size: usize, needed: usize },
    /// The kernel refused `shmget(key, size, 03600)`.
    Create { key: i32, size: usize, errno: i32 },
    /// The new segment could not be attached (it was removed again).
    Attach { id: i32, errno: i32 },
    /// The header could not be written (the segment was removed again).
    HeaderWrite { id: i32, reason: String },
    /// A segment of this data directory still has processes attached:
    /// an old server (or its orphaned backends) is running.
    InUse {
        key: i32,
        id: i32,
        nattch: u64,
        creator_pid: i32,
        pids: Vec<i32>,
        datadir: PathBuf,
    },
    /// A segment under our key could not be judged; treated as in use.
    AnalysisFailure {
        key: i32,
        id: i32,
        reason: String,
        datadir: PathBuf,
    },
    /// Every key from `first_key` to `last_key` belongs to someone else.
    KeysExhausted { first_key: i32, last_key: i32 },
}

impl ShmemError {
    /// The errno of the failed system call, where there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            ShmemError::DataDir { errno, .. }
            | ShmemError::Create { errno, .. }
            | ShmemError::Attach { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// The report against a given view of the kernel, and for a refused
    /// `shmget` the limit that was hit. Other errors are reported as by
    /// [`ShmemError::to_pg_error`], with `None`.
    pub fn report(&self, view: &KernelView) -> (PgError, Option<Exceeded>) {
        match *self {
            ShmemError::Create { key, size, errno } => {
                let ex = limits::diagnose_shmget(errno, size as u64, view);
                (
                    with_diagnosis(shmget_report(errno, key, size), &ex),
                    Some(ex),
                )
            }
            _ => (self.to_pg_error(), None),
        }
    }

    /// The FATAL report, with PostgreSQL's message and SQLSTATE. A refused
    /// `shmget` also names the limit that was hit, its current value (the
    /// kernel is read now) and the command that raises it.
    pub fn to_pg_error(&self) -> PgError {
        match self {
            ShmemError::DataDir { path, errno } => {
                let code = match *errno {
                    libc::ENOENT => UNDEFINED_FILE,
                    libc::EACCES | libc::EPERM => sqlstate::INSUFFICIENT_PRIVILEGE,
                    _ => sqlstate::IO_ERROR,
                };
                PgError::fatal(
                    code,
                    format!("could not stat data directory \"{}\": {}", path.display(), errno_text(*errno)),
                )
            }
            ShmemError::TooSmall { size, needed } => PgError::fatal(
                sqlstate::INTERNAL_ERROR,
                format!(
                    "shared memory size {size} is too small: the segment header alone needs {needed} bytes"
                ),
            ),
            ShmemError::Create { .. } => self.report(&KernelView::read()).0,
            ShmemError::Attach { id, errno } => shmat_report(*id, *errno),
            ShmemError::HeaderWrite { id, reason } => PgError::fatal(
                sqlstate::INTERNAL_ERROR,
                format!("could not write the header of shared memory segment {id}: {reason}"),
            ),
            ShmemError::InUse { key, id, nattch, creator_pid, pids, datadir } => {
                let list: Vec<String> = pids.iter().map(|p| p.to_string()).collect();
                let detail = if pids.is_empty() {
                    format!(
                        "{nattch} process(es) still attached, not visible to this user; the segment was created by \
                         PID {creator_pid}."
                    )
                } else {
                    format!("{nattch} process(es) still attached: PID {}.", list.join(", "))
                };
                let pids_text = if pids.is_empty() { String::new() } else { format!(" (PID {})", list.join(", ")) };
                in_use_report(*key, *id).with_detail(detail).with_hint(format!(
                    "Terminate any old server processes associated with data directory \"{}\"{pids_text}.",
                    datadir.display()
                ))
            }
            ShmemError::AnalysisFailure { key, id, reason, datadir } => in_use_report(*key, *id)
                .with_detail(format!("Could not tell whether it is in use: {reason}."))
                .with_hint(format!(
                    "Terminate any old server processes associated with data directory \"{}\".",
                    datadir.display()
                )),
            ShmemError::KeysExhausted { first_key, last_key } => PgError::fatal(
                sqlstate::INSUFFICIENT_RESOURCES,
                format!(
                    "could not find a free shared memory key: keys {} to {} are all taken",
                    *first_key as u32, *last_key as u32
                ),
            )
            .with_detail("Each of these keys belongs to another program, another data directory, or a live server.")
            .with_hint(
                "List the segments with \"tusk ipc\" or \"ipcs -m\"; remove leftovers that belong to no running \
                 program with \"ipcrm -m ID\".",
            ),
        }
    }
}

/// Adds a diagnosis to PostgreSQL's report of a failed call: its sentences
/// after the DETAIL's "Failed system call was ...", and its hint instead of
/// PostgreSQL's generic one (which stays when nothing better is known).
pub(crate) fn with_diagnosis(mut e: PgError, ex: &Exceeded) -> PgError {
    let generic = e.hint.take();
    let (more, hint) = limits::explain(ex, generic.as_deref());
    if !more.is_empty() {
        e.detail = Some(match e.detail.take() {
            Some(d) => format!("{d} {more}"),
            None => more,
        });
    }
    e.hint = hint;
    e
}

fn in_use_report(key: i32, id: i32) -> PgError {
    PgError::fatal(
        sqlstate::LOCK_FILE_EXISTS,
        format!(
            "pre-existing shared memory block (key {}, ID {}) is still in use",
            key as u32, id
        ),
    )
}

impl std::fmt::Display for ShmemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fmt_report(f, &self.to_pg_error())
    }
}

impl std::error::Error for ShmemError {}

/// Creates the main segment: from `first_key` upward, create
/// `size` bytes; on a collision judge the holder (see the module table).
/// On success the header is written before returning: this process as
/// creator, the data directory's device, inode and path, `total_size` =
/// `size`; `make_header` fills in what only the caller knows (port, mode,
/// areas, and total_size for mode mmap). Reclaimed leftovers are logged.
pub fn create_main_segment(
    first_key: i32,
    size: usize,
    datadir: &Path,
    make_header: impl FnOnce(&mut ShmemHeader),
) -> Result<Segment, ShmemError> {
    if size < HEADER_SIZE {
        return Err(ShmemError::TooSmall {
            size,
            needed: HEADER_SIZE,
        });
    }
    let (dev, ino) = datadir_identity(datadir).map_err(|e| ShmemError::DataDir {
        path: datadir.to_path_buf(),
        errno: e.raw_os_error().unwrap_or(libc::EIO),
    })?;
    let mut keys = KeyWalk::new(first_key);
    let exhausted = |k: &KeyWalk| ShmemError::KeysExhausted {
        first_key,
        last_key: k.current(),
    };
    let seg = loop {
        let key = keys.current();
        match Segment::create(key, size) {
            Ok(seg) => break seg,
            Err(ShmCreateError::Collision { .. }) => {}
            Err(ShmCreateError::Kernel { errno, key, size }) => {
                return Err(ShmemError::Create { key, size, errno })
            }
            Err(ShmCreateError::Attach { id, errno }) => {
                return Err(ShmemError::Attach { id, errno })
            }
        }
        let Some(id) = keys
            .holder_id(shm::id_for_key)
            .map_err(|_| exhausted(&keys))?
        else {
            continue;
        };
        match judge_segment(id, Some((dev, ino))) {
            SegmentState::Gone => {
                elog::log(format!(
                    "shared memory block (key {}, ID {id}) deleted during startup",
                    key as u32
                ));
                keys.retry().map_err(|_| exhausted(&keys))?;
            }
            SegmentState::Foreign
            | SegmentState::PgAttached(..)
            | SegmentState::PgUnattached(_) => keys.next().map_err(|_| exhausted(&keys))?,
            SegmentState::TuskUnattached(old) => {
                if shm::remove_id(id).is_err() {
                    // Cannot remove it after all: treat it as someone else's.
                    keys.next().map_err(|_| exhausted(&keys))?;
                } else {
                    elog::log(format!(
                        "removed leftover shared memory block (key {}, ID {id}) of data directory \"{}\": no \
                         process is attached to it any more (it was created by PID {})",
                        key as u32,
                        datadir.display(),
                        old.creator_pid
                    ));
                    keys.retry().map_err(|_| exhausted(&keys))?;
                }
            }
            SegmentState::TuskAttached(old, nattch) => {
                return Err(ShmemError::InUse {
                    key,
                    id,
                    nattch,
                    creator_pid: old.creator_pid,
                    pids: shm::attached_pids(key, id),
                    datadir: datadir.to_path_buf(),
                });
            }
            SegmentState::AnalysisFailure(reason) => {
                return Err(ShmemError::AnalysisFailure {
                    key,
                    id,
                    reason,
                    datadir: datadir.to_path_buf(),
                });
            }
        }
    };
    let mut header = ShmemHeader::new(dev, ino, size as u64, datadir);
    make_header(&mut header);
    if let Err(e) = seg.write_header(&header) {
        let id = seg.id();
        let _ = seg.remove();
        return Err(ShmemError::HeaderWrite {
            id,
            reason: e.to_string(),
        });
    }
    Ok(seg)
}

/// What holds a semaphore key, as far as a server is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SemSetState {
    Gone,
    /// Not tusk's or PostgreSQL's (by the marker), or not readable.
    Foreign,
    /// tusk's: the marker holds TUSK_SEMA_MAGIC; its last semop was by
    /// `creator_pid`.
    Tusk {
        creator_pid: i32,
        alive: bool,
    },
    /// PostgreSQL's (marker 537).
    Pg {
        creator_pid: i32,
        alive: bool,
    },
    AnalysisFailure(String),
}

/// Judges the set `id` by its last semaphore (the marker).
pub fn judge_sem_set(id: i32) -> SemSetState {
    let info = match sem::stat(id) {
        Ok(info) => info,
        Err(e) => return sem_judge_error(&e, id),
    };
    if info.nsems == 0 {
        return SemSetState::Foreign;
    }
    let (value, pid) = match sem::value_and_pid(id, info.nsems as usize - 1) {
        Ok(v) => v,
        Err(e) => return sem_judge_error(&e, id),
    };
    match value {
        TUSK_SEMA_MAGIC => SemSetState::Tusk {
            creator_pid: pid,
            alive: pid_alive(pid),
        },
        PG_SEMA_MAGIC => SemSetState::Pg {
            creator_pid: pid,
            alive: pid_alive(pid),
        },
        _ => SemSetState::Foreign,
    }
}

fn sem_judge_error(e: &io::Error, id: i32) -> SemSetState {
    match judge_error(e, || format!("semctl({id}, ...) failed")) {
        SegmentState::Gone => SemSetState::Gone,
        SegmentState::Foreign => SemSetState::Foreign,
        SegmentState::AnalysisFailure(r) => SemSetState::AnalysisFailure(r),
        _ => SemSetState::AnalysisFailure(format!("semctl({id}, ...) failed: {e}")),
    }
}

/// Why the semaphore sets could not be created. Sets created before the
/// failure have been removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SemError {
    /// `semget(key, nsems, 03600)` failed (nsems includes the marker);
    /// `sets` is how many sets the caller wanted in all, which the fix
    /// for SEMMNI/SEMMNS must make room for.
    Semget {
        key: i32,
        nsems: usize,
        errno: i32,
        sets: usize,
    },
    /// `semctl(id, semnum, SETVAL, value)` failed.
    Setval {
        id: i32,
        semnum: usize,
        value: i32,
        errno: i32,
    },
    /// The marking `semop` failed.
    Semop { id: i32, errno: i32 },
    /// Every key from `first_key` to `last_key` belongs to someone else.
    KeysExhausted { first_key: i32, last_key: i32 },
}

impl SemError {
    pub fn errno(&self) -> Option<i32> {
        match self {
            SemError::Semget { errno, .. }
            | SemError::Setval { errno, .. }
            | SemError::Semop { errno, .. } => Some(*errno),
            SemError::KeysExhausted { .. } => None,
        }
    }

    /// The FATAL report, with PostgreSQL's message; for a kernel refusal
    /// also the limit that was hit, its current value and the command that
    /// raises it (the kernel is read now, see [`SemError::report`]).
    pub fn to_pg_error(&self) -> PgError {
        match self {
            SemError::Semget { .. } | SemError::Setval { .. } => self.report(&KernelView::read()).0,
            _ => self.report_plain(),
        }
    }

    /// The report against a given view of the kernel, and the limit that
    /// was hit (`None` for errors that are not a kernel refusal).
    pub fn report(&self, view: &KernelView) -> (PgError, Option<Exceeded>) {
        match *self {
            SemError::Semget {
                key,
                nsems,
                errno,
                sets,
            } => {
                let ex = limits::diagnose_semget(errno, nsems as u64, sets as u64, view);
                (
                    with_diagnosis(sem::semget_report(key, nsems, errno), &ex),
                    Some(ex),
                )
            }
            SemError::Setval {
                id,
                semnum,
                value,
                errno,
            } => {
                let ex = limits::diagnose_setval(errno, value, view);
                (
                    with_diagnosis(sem::setval_report(id, semnum, value, errno), &ex),
                    Some(ex),
                )
            }
            _ => (self.report_plain(), None),
        }
    }

    fn report_plain(&self) -> PgError {
        match *self {
            SemError::Semget { key, nsems, errno, .. } => sem::semget_report(key, nsems, errno),
            SemError::Setval { id, semnum, value, errno } => sem::setval_report(id, semnum, value, errno),
            SemError::Semop { id, errno } => sem::semop_report(id, errno),
            SemError::KeysExhausted { first_key, last_key } => PgError::fatal(
                sqlstate::INSUFFICIENT_RESOURCES,
                format!(
                    "could not find a free semaphore key: keys {} to {} are all taken",
                    first_key as u32, last_key as u32
                ),
            )
            .with_detail(
                "Each of these keys belongs to another program, or to a live process of tusk or PostgreSQL.",
            )
            .with_hint(
                "List the semaphore sets with \"tusk ipc\" or \"ipcs -s\"; remove leftovers that belong to no \
                 running program with \"ipcrm -s ID\".",
            ),
        }
    }
}

impl std::fmt::Display for SemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fmt_report(f, &self.to_pg_error())
    }
}

impl std::error::Error for SemError {}

impl SemError {
    fn from_create(e: SemCreateError, sets: usize) -> SemError {
        match e {
            // A collision is handled by the loop; should one escape, it is
            // reported as the semget that failed.
            SemCreateError::Collision { key, errno } => SemError::Semget {
                key,
                nsems: SEMAS_PER_SET + 1,
                errno,
                sets,
            },
            SemCreateError::Semget { key, nsems, errno } => SemError::Semget {
                key,
                nsems,
                errno,
                sets,
            },
            SemCreateError::Setval {
                id,
                semnum,
                value,
                errno,
            } => SemError::Setval {
                id,
                semnum,
                value,
                errno,
            },
            SemCreateError::Semop { id, errno } => SemError::Semop { id, errno },
        }
    }
}

/// Creates `nsets` sets of [`SEMAS_PER_SET`] usable semaphores, at
/// `first_key` and the following free keys (see the module table). A
/// leftover set of ours whose creator is dead, or is this very process (a
/// previous life before a crash restart), is removed and its key reused.
/// On failure the sets already created are removed.
pub fn create_sem_sets(first_key: i32, nsets: usize) -> Result<Vec<SemSet>, SemError> {
    let mut sets: Vec<SemSet> = Vec::with_capacity(nsets);
    let result = create_sem_sets_into(first_key, nsets, &mut sets);
    if result.is_err() {
        for s in &sets {
            let _ = s.remove();
        }
    }
    result.map(|()| sets)
}

fn create_sem_sets_into(
    first_key: i32,
    nsets: usize,
    sets: &mut Vec<SemSet>,
) -> Result<(), SemError> {
    let me = std::process::id() as i32;
    let mut keys = KeyWalk::new(first_key);
    let exhausted = |k: &KeyWalk| SemError::KeysExhausted {
        first_key,
        last_key: k.current(),
    };
    while sets.len() < nsets {
        let key = keys.current();
        match SemSet::create(key, SEMAS_PER_SET) {
            Ok(set) => {
                sets.push(set);
                if sets.len() < nsets {
                    keys.advance().map_err(|_| exhausted(&keys))?;
                }
                continue;
            }
            Err(SemCreateError::Collision { .. }) => {}
            Err(e) => return Err(SemError::from_create(e, nsets)),
        }
        let Some(id) = keys
            .holder_id(sem::id_for_key)
            .map_err(|_| exhausted(&keys))?
        else {
            continue;
        };
        match judge_sem_set(id) {
            SemSetState::Gone => keys.retry().map_err(|_| exhausted(&keys))?,
            SemSetState::Tusk { creator_pid, alive }
                if creator_pid > 0 && (!alive || creator_pid == me) =>
            {
                if sem::remove_id(id).is_err() {
                    keys.next().map_err(|_| exhausted(&keys))?;
                } else {
                    elog::log(format!(
                        "removed leftover semaphore set (key {}, ID {id}): its creator (PID {creator_pid}) {}",
                        key as u32,
                        if creator_pid == me { "is this process, in a previous life" } else { "no longer exists" }
                    ));
                    keys.retry().map_err(|_| exhausted(&keys))?;
                }
            }
            _ => keys.next().map_err(|_| exhausted(&keys))?,
        }
    }
    Ok(())
}

/// Walks keys upward from a first key, skipping IPC_PRIVATE (0), counting
/// skips and same-key retries.
struct KeyWalk {
    key: i32,
    skipped: usize,
    retries: usize,
}

/// The walk ran out of keys.
struct Exhausted;

impl KeyWalk {
    fn new(first: i32) -> KeyWalk {
        let key = if first == libc::IPC_PRIVATE { 1 } else { first };
        KeyWalk {
            key,
            skipped: 0,
            retries: 0,
        }
    }

    fn current(&self) -> i32 {
        self.key
    }

    /// Moves to the following key after a successful create (not a skip).
    fn advance(&mut self) -> Result<(), Exhausted> {
        self.retries = 0;
        self.key = match self.key.checked_add(1) {
            Some(libc::IPC_PRIVATE) => 1,
            Some(k) => k,
            None => return Err(Exhausted),
        };
        Ok(())
    }

    /// The key is someone else's: skip it.
    fn next(&mut self) -> Result<(), Exhausted> {
        self.skipped += 1;
        if self.skipped >= MAX_KEY_ATTEMPTS {
            return Err(Exhausted);
        }
        self.advance()
    }

    /// Try the same key again, a bounded number of times.
    fn retry(&mut self) -> Result<(), Exhausted> {
        self.retries += 1;
        if self.retries > MAX_SAME_KEY_RETRIES {
            return self.next();
        }
        Ok(())
    }

    /// The ID of the object that holds the current key (its create
    /// collided), found by `id_for_key`. None when there is none to look
    /// at and the walk has moved: the object was removed between the two
    /// calls (the same key again), or it cannot be looked up, typically
    /// EACCES for another user's object (the next key).
    fn holder_id(
        &mut self,
        id_for_key: fn(i32) -> io::Result<Option<i32>>,
    ) -> Result<Option<i32>, Exhausted> {
        match id_for_key(self.key) {
            Ok(Some(id)) => Ok(Some(id)),
            Ok(None) => self.retry().map(|()| None),
            Err(_) => self.next().map(|()| None),
        }
    }
}

/// Seconds of slack when comparing a process's start time with an
/// object's creation time. /proc gives the start in clock ticks since boot
/// and the boot time in whole seconds, and the kernel's object times are
/// whole seconds too; a PID is called reused only when its process started
/// clearly after the object existed.
pub const REUSE_MARGIN_SECS: i64 = 2;

/// What became of the process that created an object, as far as can be
/// proven. Only [`ProcessFate::Alive`] protects the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessFate {
    /// No process has that PID (`kill(pid, 0)` = ESRCH).
    Gone,
    /// The process exited and waits to be reaped by its parent: it holds
    /// no memory, no attachment, and will never run again.
    Zombie,
    /// A process with that PID runs, but it started (at `started_at`,
    /// Unix seconds) after the object already existed, so it is not the
    /// creator: the PID was reused.
    Reused { started_at: i64 },
    /// It runs and may be the creator (or it cannot be told apart).
    Alive,
}

impl ProcessFate {
    /// Whether the creator is proven to be no longer running.
    pub fn is_gone(&self) -> bool {
        !matches!(self, ProcessFate::Alive)
    }

    /// The fact in words, for logs and `tusk ipc`: "creator PID 42 does
    /// not exist".
    pub fn describe(&self, who: &str, pid: i32) -> String {
        match self {
            ProcessFate::Gone => format!("{who} PID {pid} does not exist"),
            ProcessFate::Zombie => {
                format!("{who} PID {pid} has exited (a zombie not yet reaped by its parent)")
            }
            ProcessFate::Reused { started_at } => format!(
                "{who} PID {pid} was reused: the process now holding it started at {} (Unix time), after the object \
                 was made",
                started_at
            ),
            ProcessFate::Alive => format!("{who} PID {pid} is running"),
        }
    }
}

/// The fate of `pid`, for an object known to exist at `existed_by` (Unix
/// seconds; the kernel's change time of the object is such a bound, since
/// it is never earlier than the creation). A PID <= 0 names no process and
/// is reported Alive, so that nothing is ever taken on such evidence.
/// When /proc cannot tell (hidden processes), a running PID is Alive.
pub fn process_fate(pid: i32, existed_by: i64) -> ProcessFate {
    if pid <= 0 {
        return ProcessFate::Alive;
    }
    if !pid_alive(pid) {
        return ProcessFate::Gone;
    }
    let Some(stat) = read_proc_stat(pid) else {
        // Exited between the two looks, or /proc hides it.
        return if pid_alive(pid) {
            ProcessFate::Alive
        } else {
            ProcessFate::Gone
        };
    };
    if stat.state == 'Z' || stat.state == 'X' {
        return ProcessFate::Zombie;
    }
    match start_time_of(&stat) {
        Some(started_at) if started_at > existed_by.saturating_add(REUSE_MARGIN_SECS) => {
            ProcessFate::Reused { started_at }
        }
        _ => ProcessFate::Alive,
    }
}

/// When a process started, in Unix seconds (None if /proc cannot say).
pub fn process_start_time(pid: i32) -> Option<i64> {
    start_time_of(&read_proc_stat(pid)?)
}

/// The fields of `/proc/PID/stat` that tusk reads (here, and in `tusk
/// ctl`'s list of a postmaster's children).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    /// Field 2 without its parentheses: the command name (at most 15
    /// bytes, may hold spaces and parentheses).
    pub comm: String,
    /// Field 3: `R`, `S`, `D`, `Z` (zombie), `X` (dead), ...
    pub state: char,
    /// Field 4.
    pub ppid: i32,
    /// Clock ticks after boot.
    pub start_ticks: u64,
}

/// `/proc/PID/stat` of a process, or `None` when it is gone or unreadable.
pub fn read_proc_stat(pid: i32) -> Option<ProcStat> {
    parse_proc_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Parses `/proc/PID/stat`. The command name (field 2) is in parentheses
/// and may itself contain spaces and parentheses, so the fields are
/// counted from the last `)`. The one parser of this file in tusk.
pub fn parse_proc_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let rest = &text[close + 1..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // After ')': f[0] is field 3 (state), so field N is f[N - 3].
    Some(ProcStat {
        comm,
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        start_ticks: f.get(19)?.parse().ok()?,
    })
}

fn start_time_of(stat: &ProcStat) -> Option<i64> {
    let btime = boot_time(&std::fs::read_to_string("/proc/stat").ok()?)?;
    // SAFETY: sysconf has no side effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz <= 0 {
        return None;
    }
    Some(btime + (stat.start_ticks / hz as u64) as i64)
}

/// The `btime` line of /proc/stat: boot time in Unix seconds.
pub(crate) fn boot_time(proc_stat: &str) -> Option<i64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Which kind of System V object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpcObject {
    Segment,
    SemSet,
}

/// One leftover removed by [`reclaim_orphans_of`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reclaimed {
    pub object: IpcObject,
    pub key: i32,
    pub id: i32,
    pub creator_pid: i32,
    /// The proof, in words ("no process is attached; creator PID 42 does
    /// not exist").
    pub proof: String,
}

/// A proven orphan of one data directory, found by [`orphans_of`]: what
/// [`reclaim_orphans_of`] removes at start, and what `tusk check` counts
/// as reclaimable instead of in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub object: IpcObject,
    pub key: i32,
    pub id: i32,
    pub creator_pid: i32,
    /// The kernel's change time when judged: a segment whose change time
    /// moved since is judged again before removal.
    pub ctime: i64,
    /// Bytes of a segment; semaphores (marker included) of a set.
    pub size: u64,
    /// The proof, in words.
    pub proof: String,
}

/// Every proven orphan of the data directory `datadir`, wherever its key,
/// without touching anything: tusk segments whose header names this
/// directory (device and inode) with no process attached and a creator
/// that is gone, zombie or whose PID was reused; then tusk semaphore sets
/// created by the creator of such a segment, when that creator is also
/// proven gone for the set. Nothing attached, nothing of another data
/// directory, nothing foreign or PostgreSQL's is ever listed.
///
/// Any process may call it (it attaches segments read-only to read their
/// headers). Err names what could not be looked at.
pub fn orphans_of(datadir: &Path) -> Result<Vec<Orphan>, String> {
    let ident = datadir_identity(datadir).map_err(|e| {
        format!(
            "could not look for leftover shared memory of data directory \"{}\": could not stat it: {}",
            datadir.display(),
            e.raw_os_error()
                .map(errno_text)
                .unwrap_or_else(|| e.to_string())
        )
    })?;
    let segments = crate::sysv_list::list_segments().map_err(|e| {
        format!("could not look for leftover shared memory: could not list the segments: {e}")
    })?;
    let mut out = Vec::new();
    let mut dead_creators: Vec<i32> = Vec::new();
    for info in segments {
        if info.marked_for_removal() || info.nattch != 0 {
            continue;
        }
        let SegmentState::TuskUnattached(h) = judge_segment(info.id, Some(ident)) else {
            continue;
        };
        let fate = process_fate(h.creator_pid, info.ctime);
        if !fate.is_gone() {
            continue;
        }
        dead_creators.push(h.creator_pid);
        out.push(Orphan {
            object: IpcObject::Segment,
            key: info.key,
            id: info.id,
            creator_pid: h.creator_pid,
            ctime: info.ctime,
            size: info.size,
            proof: format!(
                "no process is attached; {}",
                fate.describe("its creator", h.creator_pid)
            ),
        });
    }
    if dead_creators.is_empty() {
        return Ok(out);
    }
    let sets = crate::sysv_list::list_sem_sets().map_err(|e| {
        format!("could not look for leftover semaphore sets: could not list them: {e}")
    })?;
    for info in sets {
        let SemSetState::Tusk { creator_pid, .. } = judge_sem_set(info.id) else {
            continue;
        };
        if !dead_creators.contains(&creator_pid) {
            continue;
        }
        let fate = process_fate(creator_pid, info.ctime);
        if !fate.is_gone() {
            continue;
        }
        out.push(Orphan {
            object: IpcObject::SemSet,
            key: info.key,
            id: info.id,
            creator_pid,
            ctime: info.ctime,
            size: info.nsems,
            proof: format!(
                "it was made by the server whose segment was just removed; {}",
                fate.describe("its creator", creator_pid)
            ),
        });
    }
    Ok(out)
}

/// Removes every proven orphan of the data directory `datadir` (see
/// [`orphans_of`] for the proof), segments first; a semaphore set goes only
/// when the segment of its creator was removed. Each removal is logged.
///
/// Why at start and for every key: the create loop only meets the keys it
/// walks, so a segment left at another key (the server ran on another
/// port, or the next key was taken that time) would stay forever. The
/// caller must hold the data directory's lock file (postmaster.pid), so
/// that no other server of this directory is starting meanwhile: only the
/// postmaster, before it creates its own segment.
///
/// A failure to list or to remove is logged and skipped: the start goes
/// on, and the create loop still judges its own keys.
pub fn reclaim_orphans_of(datadir: &Path) -> Vec<Reclaimed> {
    let mut out = Vec::new();
    let orphans = match orphans_of(datadir) {
        Ok(o) => o,
        Err(why) => {
            elog::log(why);
            return out;
        }
    };
    let mut removed_creators: Vec<i32> = Vec::new();
    for o in orphans.iter().filter(|o| o.object == IpcObject::Segment) {
        // Judge once more right before removing: someone may have
        // attached since (the window that remains is the kernel's).
        match shm::stat(o.id) {
            Ok(now) if now.nattch == 0 && now.ctime == o.ctime => {}
            _ => continue,
        }
        match shm::remove_id(o.id) {
            Ok(()) => {
                elog::log(format!(
                    "removed leftover shared memory block (key {}, ID {}) of data directory \"{}\": {}",
                    o.key as u32,
                    o.id,
                    datadir.display(),
                    o.proof
                ));
                removed_creators.push(o.creator_pid);
                out.push(Reclaimed {
                    object: IpcObject::Segment,
                    key: o.key,
                    id: o.id,
                    creator_pid: o.creator_pid,
                    proof: o.proof.clone(),
                });
            }
            Err(e) => elog::log(format!(
                "could not remove leftover shared memory block (key {}, ID {}): {}",
                o.key as u32,
                o.id,
                e.raw_os_error()
                    .map(errno_text)
                    .unwrap_or_else(|| e.to_string())
            )),
        }
    }
    for o in orphans.iter().filter(|o| o.object == IpcObject::SemSet) {
        if !removed_creators.contains(&o.creator_pid) {
            continue;
        }
        match sem::remove_id(o.id) {
            Ok(()) => {
                elog::log(format!(
                    "removed leftover semaphore set (key {}, ID {}) of data directory \"{}\": {}",
                    o.key as u32,
                    o.id,
                    datadir.display(),
                    o.proof
                ));
                out.push(Reclaimed {
                    object: IpcObject::SemSet,
                    key: o.key,
                    id: o.id,
                    creator_pid: o.creator_pid,
                    proof: o.proof.clone(),
                });
            }
            Err(e) => elog::log(format!(
                "could not remove leftover semaphore set (key {}, ID {}): {}",
                o.key as u32,
                o.id,
                e.raw_os_error()
                    .map(errno_text)
                    .unwrap_or_else(|| e.to_string())
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::ShmemHeader;

    #[test]
    fn proc_stat_fields_are_counted_from_the_last_parenthesis() {
        let line = "4242 (tusk: a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 \
                    1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        let s = parse_proc_stat(line).unwrap();
        assert_eq!(
            s,
            ProcStat {
                comm: "tusk: a (weird) name".into(),
                state: 'S',
                ppid: 1,
                start_ticks: 123_456
            }
        );
        assert_eq!(parse_proc_stat("12 (x) Z 1 2").map(|s| s.state), None);
        assert_eq!(parse_proc_stat("garbage"), None);
        // A ')' before the '(' is no command name.
        assert_eq!(parse_proc_stat(") 12 (x"), None);
        assert_eq!(parse_proc_stat(""), None);
    }

    #[test]
    fn boot_time_line() {
        assert_eq!(
            boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"),
            Some(1_700_000_000)
        );
        assert_eq!(boot_time("cpu 1\n"), None);
    }

    /// A PID that existed and is gone: a reaped child's.
    fn dead_pid() -> i32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        pid
    }

    #[test]
    fn fates_of_processes() {
        let me = std::process::id() as i32;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert_eq!(process_fate(me, now), ProcessFate::Alive);
        assert!(process_start_time(me).is_some_and(|t| t <= now + REUSE_MARGIN_SECS));
        // An object made long before this process started: the PID was reused.
        assert!(matches!(
            process_fate(me, 1_000_000_000),
            ProcessFate::Reused { .. }
        ));
        assert_eq!(process_fate(dead_pid(), now), ProcessFate::Gone);
        // PID 0 and negatives address process groups, never a creator.
        assert_eq!(process_fate(0, now), ProcessFate::Alive);
        assert_eq!(process_fate(-5, now), ProcessFate::Alive);

        // An exited child not yet reaped is a zombie: gone, though kill(pid, 0) succeeds.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while read_proc_stat(pid).is_some_and(|s| s.state != 'Z') {
            assert!(std::time::Instant::now() < deadline, "child never exited");
            std::thread::yield_now();
        }
        assert!(pid_alive(pid));
        assert_eq!(process_fate(pid, now), ProcessFate::Zombie);
        assert!(process_fate(pid, now).is_gone());
        child.wait().unwrap();
        assert!(process_fate(pid, now)
            .describe("creator", pid)
            .contains(&format!("creator PID {pid}")));
    }

    /// Removes the objects of a test however it ends.
    struct Cleanup {
        shm: Vec<i32>,
        sem: Vec<i32>,
    }

    impl Drop for Cleanup {
        fn drop(&mut self) {
            for &id in &self.shm {
                let _ = shm::remove_id(id);
            }
            for &id in &self.sem {
                let _ = sem::remove_id(id);
            }
        }
    }

    /// A detached private segment with tusk's header naming `dir` and
    /// `creator`; if `keep_attached`, the attachment is returned.
    fn tusk_segment(
        dir: &Path,
        creator: i32,
        keep_attached: bool,
        cleanup: &mut Cleanup,
    ) -> (i32, Option<Segment>) {
        let (dev, ino) = datadir_identity(dir).unwrap();
        let seg = Segment::create(libc::IPC_PRIVATE, HEADER_SIZE).unwrap();
        cleanup.shm.push(seg.id());
        let mut h = ShmemHeader::new(dev, ino, HEADER_SIZE as u64, dir);
        h.creator_pid = creator;
        seg.write_header(&h).unwrap();
        let id = seg.id();
        (id, keep_attached.then_some(seg))
    }

    /// A private tusk set whose marker was last touched by a process that
    /// has exited since: a crashed server's set. Returns (id, that PID).
    fn orphan_set(cleanup: &mut Cleanup) -> (i32, i32) {
        let set = SemSet::create(libc::IPC_PRIVATE, 1).unwrap();
        cleanup.sem.push(set.id());
        // SAFETY: the child makes two system calls and _exits; nothing that
        // could deadlock on a lock held by another thread of the parent.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let mut ops = [
                libc::sembuf {
                    sem_num: 1,
                    sem_op: 1,
                    sem_flg: 0,
                },
                libc::sembuf {
                    sem_num: 1,
                    sem_op: -1,
                    sem_flg: 0,
                },
            ];
            // SAFETY: two valid sembufs on a set this process may use.
            let rc = unsafe { libc::semop(set.id(), ops.as_mut_ptr(), 2) };
            // SAFETY: leave without running the parent's atexit handlers.
            unsafe { libc::_exit(if rc == 0 { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: reaping our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        assert_eq!(set.creator_pid().unwrap(), pid);
        assert_eq!(set.marker_value().unwrap(), TUSK_SEMA_MAGIC);
        (set.id(), pid)
    }

    #[test]
    fn reclaim_takes_only_proven_orphans_of_the_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let mut c = Cleanup {
            shm: Vec::new(),
            sem: Vec::new(),
        };
        let (set_id, dead) = orphan_set(&mut c);
        // The crashed server's segment, at whatever key: reclaimed.
        let (orphan, _) = tusk_segment(dir.path(), dead, false, &mut c);
        // Its backends' leftover attachment in another segment: kept.
        let (attached, keep) = tusk_segment(dir.path(), dead_pid(), true, &mut c);
        // A live creator (this process): kept.
        let (live, _) = tusk_segment(dir.path(), std::process::id() as i32, false, &mut c);
        // Another data directory's orphan: kept.
        let (foreign, _) = tusk_segment(other.path(), dead_pid(), false, &mut c);
        // A set of a live creator: kept.
        let live_set = SemSet::create(libc::IPC_PRIVATE, 1).unwrap();
        c.sem.push(live_set.id());

        let got = reclaim_orphans_of(dir.path());
        let mut ids: Vec<(IpcObject, i32)> = got.iter().map(|r| (r.object, r.id)).collect();
        ids.sort_by_key(|&(o, id)| (o == IpcObject::SemSet, id));
        assert_eq!(
            ids,
            vec![(IpcObject::Segment, orphan), (IpcObject::SemSet, set_id)]
        );
        assert!(got.iter().all(|r| r.creator_pid == dead));
        assert!(got[0].proof.contains("does not exist"), "{}", got[0].proof);
        assert!(shm::stat(orphan).is_err());
        assert!(sem::stat(set_id).is_err());
        for id in [attached, live, foreign] {
            assert!(shm::stat(id).is_ok(), "segment {id} must survive");
        }
        assert!(sem::stat(live_set.id()).is_ok());
        drop(keep);
        // Nothing else is an orphan of this directory now except the
        // formerly attached one, whose creator is dead too.
        let again = reclaim_orphans_of(dir.path());
        assert_eq!(
            again.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![attached]
        );
        // A data directory that cannot be looked at reclaims nothing.
        assert!(reclaim_orphans_of(Path::new("/nonexistent/tusk/data")).is_empty());
    }
}
