//! System V shared memory segments: create, attach, inspect, remove.
//!
//! Why RAII only for the attachment: a [`Segment`] detaches (`shmdt`) when
//! dropped but never removes the segment. Removal is a decision of the
//! creator (the postmaster at clean exit or crash restart), and forked
//! children carry copies of the postmaster's values; if dropping removed
//! the segment, the first child to exit would pull shared memory from
//! under everyone else.
//!
//! Why collisions are a separate error: `shmget(IPC_CREAT|IPC_EXCL)` on a
//! taken key is the normal way of discovering that a key is in use. The
//! create loop in [`crate::keys`] decides what to do with the existing
//! segment; every other failure is the kernel refusing the request, which
//! the operator must fix (limits), so it carries the exact call for the
//! message.

use crate::header::{HeaderError, ShmemHeader};
use crate::sys::{errno, errno_text, flags_octal, os_error, IPC_CREATE_FLAGS};
use std::io;
use tusk_common::{sqlstate, PgError};

/// Linux's `SHM_DEST` bit in `shm_perm.mode`: the segment was removed and
/// goes away with its last detach.
pub const SHM_DEST: u32 = 0o1000;
/// Linux's `SHM_LOCKED` bit in `shm_perm.mode`.
pub const SHM_LOCKED: u32 = 0o2000;

/// An attached System V segment. Dropping it detaches; it never removes.
#[derive(Debug)]
pub struct Segment {
    id: i32,
    key: i32,
    base: *mut u8,
    size: usize,
    read_only: bool,
}

/// Why [`Segment::create`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShmCreateError {
    /// The key is taken (EEXIST, EACCES, EIDRM; or EINVAL where the retry
    /// with size 0 proved an existing, smaller segment).
    Collision { key: i32, errno: i32 },
    /// The kernel refused to create the segment: `shmget(key, size, 03600)`
    /// failed with `errno` (EINVAL: above SHMMAX or below SHMMIN; ENOSPC:
    /// SHMMNI or SHMALL on Linux; ENOMEM: SHMALL elsewhere or no memory).
    Kernel { errno: i32, key: i32, size: usize },
    /// The segment was created but could not be attached; it has been
    /// removed again.
    Attach { id: i32, errno: i32 },
}

impl ShmCreateError {
    pub fn errno(&self) -> i32 {
        match self {
            ShmCreateError::Collision { errno, .. }
            | ShmCreateError::Kernel { errno, .. }
            | ShmCreateError::Attach { errno, .. } => *errno,
        }
    }

    /// The report PostgreSQL would give, as a FATAL [`PgError`].
    pub fn to_pg_error(&self) -> PgError {
        match *self {
            ShmCreateError::Collision { key, errno } => PgError::fatal(
                sqlstate::INTERNAL_ERROR,
                format!(
                    "shared memory key {key} is already in use: {}",
                    errno_text(errno)
                ),
            ),
            ShmCreateError::Kernel { errno, key, size } => shmget_report(errno, key, size),
            ShmCreateError::Attach { id, errno } => shmat_report(id, errno),
        }
    }
}

impl std::fmt::Display for ShmCreateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fmt_report(f, &self.to_pg_error())
    }
}

impl std::error::Error for ShmCreateError {}

/// Message, DETAIL and HINT lines without the severity, the way the
/// errors of this crate print themselves.
pub(crate) fn fmt_report(f: &mut std::fmt::Formatter<'_>, e: &PgError) -> std::fmt::Result {
    f.write_str(&e.message)?;
    if let Some(d) = &e.detail {
        write!(f, "\nDETAIL:  {d}")?;
    }
    if let Some(h) = &e.hint {
        write!(f, "\nHINT:  {h}")?;
    }
    Ok(())
}

/// The text of the call as PostgreSQL prints it in DETAIL:
/// `shmget(key=5432001, size=149520384, 03600)`. The key is printed as
/// the unsigned number PostgreSQL's `%lu` of a key_t gives for positive keys.
pub fn shmget_call(key: i32, size: usize) -> String {
    format!(
        "shmget(key={}, size={size}, {})",
        key as u32,
        flags_octal(IPC_CREATE_FLAGS)
    )
}

/// The hint for a failed `shmget`, per errno (PostgreSQL's three cases).
pub fn shmget_hint(errno: i32) -> Option<&'static str> {
    match errno {
        libc::EINVAL => Some(
            "This error usually means that tusk's request for a shared memory segment exceeded your kernel's \
             SHMMAX parameter (kernel.shmmax), or possibly that it is less than your kernel's SHMMIN parameter.\n\
             The tusk documentation contains more information about shared memory configuration.",
        ),
        libc::ENOMEM => Some(
            "This error usually means that tusk's request for a shared memory segment exceeded your kernel's \
             SHMALL parameter (kernel.shmall).  You might need to reconfigure the kernel with larger SHMALL.\n\
             The tusk documentation contains more information about shared memory configuration.",
        ),
        libc::ENOSPC => Some(
            "This error does *not* mean that you have run out of disk space.  It occurs either if all available \
             shared memory IDs have been taken, in which case you need to raise the SHMMNI parameter in your kernel \
             (kernel.shmmni), or because the system's overall limit for shared memory (SHMALL, kernel.shmall) has \
             been reached.\n\
             The tusk documentation contains more information about shared memory configuration.",
        ),
        _ => None,
    }
}

pub(crate) fn shmget_report(errno: i32, key: i32, size: usize) -> PgError {
    let mut e = PgError::fatal(
        sqlstate::INTERNAL_ERROR,
        format!(
            "could not create shared memory segment: {}",
            errno_text(errno)
        ),
    )
    .with_detail(format!(
        "Failed system call was {}.",
        shmget_call(key, size)
    ));
    if let Some(h) = shmget_hint(errno) {
        e = e.with_hint(h);
    }
    e
}

pub(crate) fn shmat_report(id: i32, errno: i32) -> PgError {
    PgError::fatal(
        sqlstate::INTERNAL_ERROR,
        format!(
            "shmat(id={id}, addr=(nil), flags=0x0) failed: {}",
            errno_text(errno)
        ),
    )
}

fn is_collision(errno: i32) -> bool {
    errno == libc::EEXIST || errno == libc::EACCES || errno == libc::EIDRM
}

impl Segment {
    /// Creates a segment with `shmget(key, size, IPC_CREAT|IPC_EXCL|0600)`
    /// and attaches it. `key` 0 is IPC_PRIVATE (a new segment no key finds).
    pub fn create(key: i32, size: usize) -> Result<Segment, ShmCreateError> {
        // SAFETY: plain system call.
        let id = unsafe { libc::shmget(key, size, IPC_CREATE_FLAGS) };
        if id < 0 {
            let e = errno();
            if is_collision(e) {
                return Err(ShmCreateError::Collision { key, errno: e });
            }
            if e == libc::EINVAL {
                // Some kernels (BSD) say EINVAL, not EEXIST, when the key's
                // segment is smaller than asked. Size 0 skips the size test
                // on those, so a collision shows itself.
                // SAFETY: plain system call.
                let id0 = unsafe { libc::shmget(key, 0, IPC_CREATE_FLAGS) };
                if id0 < 0 {
                    let e0 = errno();
                    if is_collision(e0) {
                        return Err(ShmCreateError::Collision { key, errno: e0 });
                    }
                } else {
                    // We made a zero-size segment: undo it, report the
                    // original error.
                    let _ = remove_id(id0);
                }
            }
            return Err(ShmCreateError::Kernel {
                errno: e,
                key,
                size,
            });
        }
        // SAFETY: id is a segment we just created.
        let base = unsafe { libc::shmat(id, std::ptr::null(), 0) };
        if base as isize == -1 {
            let e = errno();
            // Nobody else knows this segment yet: take it away again.
            let _ = remove_id(id);
            return Err(ShmCreateError::Attach { id, errno: e });
        }
        Ok(Segment {
            id,
            key,
            base: base as *mut u8,
            size,
            read_only: false,
        })
    }

    /// Attaches an existing segment read-write (re-attach after a restart,
    /// tools). Key and size come from `IPC_STAT`.
    pub fn attach(id: i32) -> io::Result<Segment> {
        Self::attach_with(id, false)
    }

    /// Attaches read-only: for inspection (`tusk ipc`, judging a leftover),
    /// so that looking can never damage a segment another server uses.
    pub fn attach_read_only(id: i32) -> io::Result<Segment> {
        Self::attach_with(id, true)
    }

    fn attach_with(id: i32, read_only: bool) -> io::Result<Segment> {
        let info = stat(id)?;
        let flags = if read_only { libc::SHM_RDONLY } else { 0 };
        // SAFETY: plain system call; a bad id fails with EINVAL.
        let base = unsafe { libc::shmat(id, std::ptr::null(), flags) };
        if base as isize == -1 {
            return Err(io::Error::last_os_error());
        }
        let size = usize::try_from(info.size).unwrap_or(usize::MAX);
        Ok(Segment {
            id,
            key: info.key,
            base: base as *mut u8,
            size,
            read_only,
        })
    }

    pub fn id(&self) -> i32 {
        self.id
    }

    /// The key the segment was created or found with (IPC_STAT reports 0
    /// for a segment already marked for removal).
    pub fn key(&self) -> i32 {
        self.key
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Where the segment is mapped in this process.
    pub fn base(&self) -> *mut u8 {
        self.base
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Marks the segment for removal (`IPC_RMID`); it disappears when the
    /// last process detaches. This attachment stays valid until dropped.
    pub fn remove(&self) -> io::Result<()> {
        remove_id(self.id)
    }

    /// `IPC_STAT` of this segment (attach count, times, mode...).
    pub fn stat(&self) -> io::Result<ShmInfo> {
        stat(self.id)
    }

    /// tusk's header at offset 0, if there is one.
    pub fn read_header(&self) -> Option<ShmemHeader> {
        // SAFETY: the segment is mapped readable for `size` bytes while self lives.
        unsafe { ShmemHeader::read(self.base, self.size) }
    }

    /// PostgreSQL's header at offset 0, if there is one.
    pub fn read_pg_header(&self) -> Option<crate::header::PgShmemHeader> {
        // SAFETY: as above.
        unsafe { crate::header::read_pg_header(self.base, self.size) }
    }

    /// Writes `header` at offset 0 (see [`ShmemHeader::write_new`] for the
    /// write order). Refused on a read-only attachment.
    pub fn write_header(&self, header: &ShmemHeader) -> io::Result<()> {
        if self.read_only {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("shared memory segment {} is attached read-only", self.id),
            ));
        }
        // SAFETY: mapped writable for `size` bytes while self lives; only
        // the creator writes the header, before publishing the segment.
        unsafe { header.write_new(self.base, self.size) }
            .map_err(|e: HeaderError| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
    }

    /// Detaches now, reporting a failure that Drop would have to ignore.
    pub fn detach(self) -> io::Result<()> {
        let base = self.base;
        std::mem::forget(self);
        // SAFETY: base is the address shmat returned for this attachment.
        if unsafe { libc::shmdt(base as *const libc::c_void) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // SAFETY: base is the address shmat returned; after drop nobody can
        // reach it through this value. A failure cannot be reported here.
        unsafe {
            libc::shmdt(self.base as *const libc::c_void);
        }
    }
}

/// What the kernel knows about a segment (`IPC_STAT`, or a line of
/// `/proc/sysvipc/shm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShmInfo {
    pub key: i32,
    pub id: i32,
    /// Permission bits plus Linux's SHM_DEST (0o1000) and SHM_LOCKED (0o2000).
    pub mode: u32,
    pub size: u64,
    pub cpid: i32,
    pub lpid: i32,
    pub nattch: u64,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
    /// Resident and swapped bytes; only /proc/sysvipc/shm reports them.
    pub rss: Option<u64>,
    pub swap: Option<u64>,
}

impl ShmInfo {
    pub fn permissions(&self) -> u32 {
        self.mode & 0o777
    }

    /// Removed (IPC_RMID) but still attached somewhere.
    pub fn marked_for_removal(&self) -> bool {
        self.mode & SHM_DEST != 0
    }

    pub fn locked(&self) -> bool {
        self.mode & SHM_LOCKED != 0
    }

    // size_t, time_t and shmatt_t are 64-bit here but not on every target.
    #[allow(clippy::unnecessary_cast)]
    pub(crate) fn from_ds(id: i32, ds: &libc::shmid_ds) -> ShmInfo {
        ShmInfo {
            key: ds.shm_perm.__key,
            id,
            mode: u32::from(ds.shm_perm.mode),
            size: ds.shm_segsz as u64,
            cpid: ds.shm_cpid,
            lpid: ds.shm_lpid,
            nattch: ds.shm_nattch as u64,
            uid: ds.shm_perm.uid,
            gid: ds.shm_perm.gid,
            cuid: ds.shm_perm.cuid,
            cgid: ds.shm_perm.cgid,
            atime: ds.shm_atime as i64,
            dtime: ds.shm_dtime as i64,
            ctime: ds.shm_ctime as i64,
            rss: None,
            swap: None,
        }
    }
}

/// `shmctl(id, IPC_STAT)`. EINVAL (or EIDRM) means no such segment.
pub fn stat(id: i32) -> io::Result<ShmInfo> {
    // SAFETY: shmid_ds is plain data; the kernel fills it.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: ds is a valid out pointer.
    if unsafe { libc::shmctl(id, libc::IPC_STAT, &mut ds) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ShmInfo::from_ds(id, &ds))
}

/// The id of the segment with this key, `None` if there is none.
pub fn id_for_key(key: i32) -> io::Result<Option<i32>> {
    // SAFETY: plain system call; size 0 matches a segment of any size.
    let id = unsafe { libc::shmget(key, 0, 0) };
    if id < 0 {
        let e = errno();
        if e == libc::ENOENT {
            return Ok(None);
        }
        return Err(os_error(e));
    }
    Ok(Some(id))
}

/// `shmctl(id, IPC_RMID)`.
pub fn remove_id(id: i32) -> io::Result<()> {
    // SAFETY: plain system call.
    if unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The processes that have the segment mapped, found in `/proc/*/maps`
/// (Linux maps a SysV segment as `/SYSV<key in 8 hex digits>` with the shm
/// id as the inode number). Best effort: processes of other users are
/// invisible without privilege, so an empty list does not prove the
/// segment unused; use `nattch` for that. This exists to NAME the
/// processes that block a start.
pub fn attached_pids(key: i32, id: i32) -> Vec<i32> {
    let mut pids = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return pids;
    };
    // After IPC_RMID the kernel reports key 0, but the mapping keeps the
    // original name, so then only the id can be matched.
    let name = format!("/SYSV{:08x}", key as u32);
    let inode = id.to_string();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(maps) = std::fs::read_to_string(entry.path().join("maps")) else {
            continue;
        };
        if maps_mention(&maps, &name, key, &inode) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids
}

/// Whether a maps file has a line for the segment: fields are
/// `range perms offset dev inode path...`.
fn maps_mention(maps: &str, name: &str, key: i32, inode: &str) -> bool {
    maps.lines().any(|line| {
        let mut fields = line.split_ascii_whitespace();
        let (Some(ino), Some(path)) = (fields.nth(4), fields.next()) else {
            return false;
        };
        ino == inode && path.starts_with("/SYSV") && (key == 0 || path == name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shmget_message_matches_postgresql() {
        let e = ShmCreateError::Kernel {
            errno: libc::EINVAL,
            key: 5_432_001,
            size: 149_520_384,
        };
        let text = e.to_string();
        assert!(text.starts_with("could not create shared memory segment: Invalid argument\n"));
        assert!(text.contains(
            "DETAIL:  Failed system call was shmget(key=5432001, size=149520384, 03600)."
        ));
        assert!(text.contains("HINT:  This error usually means that tusk's request for a shared memory segment exceeded"));
        let pg = e.to_pg_error();
        assert_eq!(pg.code, "XX000");
        assert_eq!(pg.severity, tusk_common::Severity::Fatal);

        let e = ShmCreateError::Kernel {
            errno: libc::ENOSPC,
            key: 1,
            size: 2,
        };
        assert!(e
            .to_string()
            .starts_with("could not create shared memory segment: No space left on device"));
        assert!(e.to_pg_error().hint.unwrap().contains("SHMMNI"));
        let e = ShmCreateError::Kernel {
            errno: libc::ENOMEM,
            key: 1,
            size: 2,
        };
        assert!(e.to_pg_error().hint.unwrap().contains("SHMALL"));
        let e = ShmCreateError::Kernel {
            errno: libc::EPERM,
            key: 1,
            size: 2,
        };
        assert!(e.to_pg_error().hint.is_none());
    }

    #[test]
    fn maps_lines_are_matched_on_id_and_key() {
        let maps = "55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          [heap]\n\
                    7fae08306000-7fae08308000 rw-s 00000000 00:01 32769                      /SYSV0052e2c1 (deleted)\n";
        assert!(maps_mention(maps, "/SYSV0052e2c1", 5_432_001, "32769"));
        assert!(!maps_mention(maps, "/SYSV0052e2c2", 5_432_002, "32769"));
        assert!(!maps_mention(maps, "/SYSV0052e2c1", 5_432_001, "32770"));
        // Removed segment: the kernel says key 0, the id still matches.
        assert!(maps_mention(maps, "/SYSV00000000", 0, "32769"));
        // A file whose inode happens to equal the id is not a segment.
        let file = "7f0000000000-7f0000001000 r--p 00000000 08:01 32769   /usr/lib/libc.so.6\n";
        assert!(!maps_mention(file, "/SYSV00000000", 0, "32769"));
    }
}
