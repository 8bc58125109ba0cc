//! System V semaphore sets: one semaphore per process that can wait, on
//! which it sleeps for an LWLock or lock-manager hand-off (and nothing
//! else: interruptible sleeps use the latch in its proc slot).
//!
//! Why System V and not POSIX semaphores: the kernel keeps a System V set's
//! key, its creator (`GETPID` on the marker) and the sets themselves listed
//! in `ipcs`, so a restarting server can prove a leftover's creator dead and
//! reclaim it, and an operator can see what tusk holds.
//!
//! Each set holds `nsems` usable semaphores plus one marker, the last one,
//! set to [`TUSK_SEMA_MAGIC`] - 1 with SETVAL and raised by one `semop`, so
//! its value says "tusk" and its `sempid` records the creator. A
//! [`SemSet`] is only an id: nothing happens on drop, because forked
//! children carry copies and only the creator may remove the set.
//!
//! Sleeping ([`SemSet::sleep`]) retries EINTR and returns only when V'd:
//! whoever V's has handed the sleeper something (a lock) and a sleeper
//! that left early would lose it. Signal handlers never touch a
//! semaphore; they set the process's latch. Waking ([`SemSet::unlock`])
//! is one system call without allocation.

use crate::shm::fmt_report;
use crate::sys::{errno, errno_text, flags_octal, os_error, IPC_CREATE_FLAGS};
use std::io;
use tusk_common::{sqlstate, PgError};

/// The marker value of a tusk set. Not PostgreSQL's 537, so `tusk ipc`
/// tells the two apart; below Linux's SEMVMX (32767). ("tusk" on a phone
/// keypad.)
pub const TUSK_SEMA_MAGIC: i32 = 8875;

/// PostgreSQL's marker value (`PGSemaMagic`).
pub const PG_SEMA_MAGIC: i32 = 537;

/// Usable semaphores per set; each set has one more, the marker.
pub const SEMAS_PER_SET: usize = 16;

/// Linux's SEMVMX (largest semaphore value). A compile-time constant of the
/// kernel (`include/uapi/linux/sem.h`), not a sysctl, so it cannot be read.
pub const SEMVMX: i32 = 32767;

const _: () = assert!(TUSK_SEMA_MAGIC < SEMVMX && TUSK_SEMA_MAGIC != PG_SEMA_MAGIC);

/// A semaphore set: `nsems` usable semaphores (0..nsems) and the marker at
/// index `nsems`. Not removed on drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemSet {
    id: i32,
    key: i32,
    nsems: usize,
}

/// Why [`SemSet::create`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SemCreateError {
    /// The key is taken (EEXIST, EACCES, EIDRM; or EINVAL where the retry
    /// with zero semaphores proved an existing, smaller set).
    Collision { key: i32, errno: i32 },
    /// `semget(key, nsems, 03600)` failed; `nsems` includes the marker.
    /// ENOSPC: SEMMNI or SEMMNS reached; EINVAL: more than SEMMSL.
    Semget { key: i32, nsems: usize, errno: i32 },
    /// `semctl(id, semnum, SETVAL, value)` failed (ERANGE: value > SEMVMX).
    /// The set has been removed again.
    Setval {
        id: i32,
        semnum: usize,
        value: i32,
        errno: i32,
    },
    /// The `semop` marking the creator failed. The set has been removed.
    Semop { id: i32, errno: i32 },
}

impl SemCreateError {
    pub fn errno(&self) -> i32 {
        match self {
            SemCreateError::Collision { errno, .. }
            | SemCreateError::Semget { errno, .. }
            | SemCreateError::Setval { errno, .. }
            | SemCreateError::Semop { errno, .. } => *errno,
        }
    }

    /// The report PostgreSQL would give, as a FATAL [`PgError`].
    pub fn to_pg_error(&self) -> PgError {
        match *self {
            SemCreateError::Collision { key, errno } => PgError::fatal(
                sqlstate::INTERNAL_ERROR,
                format!(
                    "semaphore key {key} is already in use: {}",
                    errno_text(errno)
                ),
            ),
            SemCreateError::Semget { key, nsems, errno } => semget_report(key, nsems, errno),
            SemCreateError::Setval {
                id,
                semnum,
                value,
                errno,
            } => setval_report(id, semnum, value, errno),
            SemCreateError::Semop { id, errno } => semop_report(id, errno),
        }
    }
}

impl std::fmt::Display for SemCreateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fmt_report(f, &self.to_pg_error())
    }
}

impl std::error::Error for SemCreateError {}

/// `semget(5432002, 17, 03600)`, as PostgreSQL prints it in DETAIL.
pub fn semget_call(key: i32, nsems: usize) -> String {
    format!(
        "semget({}, {nsems}, {})",
        key as u32,
        flags_octal(IPC_CREATE_FLAGS)
    )
}

/// `semctl(12, 16, SETVAL, 8874)`, as PostgreSQL prints it.
pub fn setval_call(id: i32, semnum: usize, value: i32) -> String {
    format!("semctl({id}, {semnum}, SETVAL, {value})")
}

/// The hint for a failed `semget`, per errno.
pub fn semget_hint(errno: i32, nsems: usize) -> Option<String> {
    match errno {
        libc::ENOSPC => Some(
            "This error does *not* mean that you have run out of disk space.  It occurs when either the system \
             limit for the maximum number of semaphore sets (SEMMNI), or the system wide maximum number of \
             semaphores (SEMMNS), would be exceeded.  You need to raise the respective kernel parameter \
             (kernel.sem).  Alternatively, reduce tusk's consumption of semaphores by reducing its \
             max_connections parameter.\n\
             The tusk documentation contains more information about configuring your system for tusk."
                .to_string(),
        ),
        libc::EINVAL => Some(format!(
            "This error usually means that the kernel's limit of semaphores per set (SEMMSL, the first field of \
             kernel.sem) is less than {nsems}.  You need to raise it."
        )),
        _ => None,
    }
}

pub(crate) fn semget_report(key: i32, nsems: usize, errno: i32) -> PgError {
    let mut e = PgError::fatal(
        sqlstate::INTERNAL_ERROR,
        format!("could not create semaphores: {}", errno_text(errno)),
    )
    .with_detail(format!(
        "Failed system call was {}.",
        semget_call(key, nsems)
    ));
    if let Some(h) = semget_hint(errno, nsems) {
        e = e.with_hint(h);
    }
    e
}

pub(crate) fn setval_report(id: i32, semnum: usize, value: i32, errno: i32) -> PgError {
    let mut e = PgError::fatal(
        sqlstate::INTERNAL_ERROR,
        format!(
            "{} failed: {}",
            setval_call(id, semnum, value),
            errno_text(errno)
        ),
    );
    if errno == libc::ERANGE {
        e = e.with_hint(format!(
            "You possibly need to raise your kernel's SEMVMX value to be at least {value}.  Look into the tusk \
             documentation for details."
        ));
    }
    e
}

pub(crate) fn semop_report(id: i32, errno: i32) -> PgError {
    PgError::fatal(
        sqlstate::INTERNAL_ERROR,
        format!("semop(id={id}) failed: {}", errno_text(errno)),
    )
}

fn is_collision(errno: i32) -> bool {
    errno == libc::EEXIST || errno == libc::EACCES || errno == libc::EIDRM
}

/// `semctl` for the commands without an argument (GETVAL, GETPID, GETNCNT,
/// IPC_RMID). The variadic fourth argument (`union semun`) is unused; a
/// zero of its size is passed as PostgreSQL does.
fn semctl0(id: i32, semnum: usize, cmd: i32) -> io::Result<i32> {
    // SAFETY: these commands ignore the fourth argument.
    let rc = unsafe { libc::semctl(id, semnum as libc::c_int, cmd, 0 as libc::c_ulong) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc)
}

/// `semctl(id, semnum, SETVAL, value)`; returns the errno on failure.
fn setval(id: i32, semnum: usize, value: i32) -> Result<(), i32> {
    // The union semun is pointer-sized; its `val` member is the low int.
    // Passing an unsigned long of the value fills the union on LP64 and
    // ILP32 alike (little-endian; Linux reads the low 32 bits).
    // SAFETY: SETVAL reads the fourth argument as a value, not a pointer.
    let rc = unsafe {
        libc::semctl(
            id,
            semnum as libc::c_int,
            libc::SETVAL,
            value as u32 as libc::c_ulong,
        )
    };
    if rc < 0 {
        return Err(errno());
    }
    Ok(())
}

impl SemSet {
    /// Creates a set with `semget(key, nsems + 1, IPC_CREAT|IPC_EXCL|0600)`,
    /// sets the usable semaphores to 0, and marks it: marker SETVAL
    /// `TUSK_SEMA_MAGIC - 1`, then `semop(+1)` so that the marker's value is
    /// the magic and its `GETPID` is this process. On any failure after
    /// `semget`, the set is removed again (nothing is left behind).
    pub fn create(key: i32, nsems: usize) -> Result<SemSet, SemCreateError> {
        let total = nsems.saturating_add(1);
        let Ok(total_c) = libc::c_int::try_from(total) else {
            return Err(SemCreateError::Semget {
                key,
                nsems: total,
                errno: libc::EINVAL,
            });
        };
        // SAFETY: plain system call.
        let id = unsafe { libc::semget(key, total_c, IPC_CREATE_FLAGS) };
        if id < 0 {
            let e = errno();
            if is_collision(e) {
                return Err(SemCreateError::Collision { key, errno: e });
            }
            if e == libc::EINVAL && key != libc::IPC_PRIVATE {
                // Some kernels report an existing but smaller set as EINVAL.
                // With zero semaphores Linux checks existence first (EEXIST)
                // and cannot create anything (EINVAL again), so this probe
                // has no side effect.
                // SAFETY: plain system call.
                let id0 = unsafe { libc::semget(key, 0, IPC_CREATE_FLAGS) };
                if id0 < 0 {
                    let e0 = errno();
                    if is_collision(e0) {
                        return Err(SemCreateError::Collision { key, errno: e0 });
                    }
                } else {
                    let _ = semctl0(id0, 0, libc::IPC_RMID);
                }
            }
            return Err(SemCreateError::Semget {
                key,
                nsems: total,
                errno: e,
            });
        }
        let set = SemSet { id, key, nsems };
        let undo = |err: SemCreateError| {
            let _ = set.remove();
            Err(err)
        };
        for n in 0..nsems {
            if let Err(e) = setval(id, n, 0) {
                return undo(SemCreateError::Setval {
                    id,
                    semnum: n,
                    value: 0,
                    errno: e,
                });
            }
        }
        let value = TUSK_SEMA_MAGIC - 1;
        if let Err(e) = setval(id, nsems, value) {
            return undo(SemCreateError::Setval {
                id,
                semnum: nsems,
                value,
                errno: e,
            });
        }
        if let Err(e) = set.semop(nsems, 1, 0) {
            return undo(SemCreateError::Semop { id, errno: e });
        }
        Ok(set)
    }

    /// A handle on an existing set (a tool inspecting it, or a process
    /// that only knows the id). `nsems` is the set's size minus the marker.
    pub fn open(id: i32) -> io::Result<SemSet> {
        let info = stat(id)?;
        if info.nsems == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("semaphore set {id} is empty"),
            ));
        }
        Ok(SemSet {
            id,
            key: info.key,
            nsems: info.nsems as usize - 1,
        })
    }

    pub fn id(&self) -> i32 {
        self.id
    }

    /// The key the set was created or found with.
    pub fn key(&self) -> i32 {
        self.key
    }

    /// Usable semaphores (the marker not counted).
    pub fn nsems(&self) -> usize {
        self.nsems
    }

    /// One `semop` on semaphore `n`; returns the errno on failure. No
    /// allocation, so callable from a signal handler.
    fn semop(&self, n: usize, op: i16, flags: i16) -> Result<(), i32> {
        let mut sop = libc::sembuf {
            sem_num: n as u16,
            sem_op: op,
            sem_flg: flags,
        };
        // SAFETY: one valid sembuf.
        if unsafe { libc::semop(self.id, &mut sop, 1) } < 0 {
            return Err(errno());
        }
        Ok(())
    }

    fn check(&self, n: usize) -> io::Result<()> {
        if n >= self.nsems {
            // ErrorKind-only errors do not allocate (signal-handler safe).
            return Err(io::ErrorKind::InvalidInput.into());
        }
        Ok(())
    }

    /// P: decrement semaphore `n`, sleeping while it is 0. A signal does
    /// not end the sleep (EINTR is retried): the semaphore is for LWLock
    /// and lock-manager hand-off, where the waker has already taken the
    /// sleeper off a queue and counts on it to wake only when V'd.
    /// Interruptible sleeps use a latch instead. Fails only if the set is
    /// gone (EIDRM: the postmaster removed it) or `n` is out of range. No
    /// allocation, so a forked child of a threaded test may call it.
    pub fn sleep(&self, n: usize) -> io::Result<()> {
        self.check(n)?;
        loop {
            match self.semop(n, -1, 0) {
                Ok(()) => return Ok(()),
                Err(libc::EINTR) => continue,
                Err(e) => return Err(os_error(e)),
            }
        }
    }

    /// P with a time limit (`semtimedop`). `Ok(true)`: decremented;
    /// `Ok(false)`: timed out; `Err(Interrupted)` on a signal. For tools
    /// and tests that probe a set: the server never sleeps on a semaphore
    /// with a time limit or for an interrupt (those waits use the latch).
    pub fn lock_timeout(&self, n: usize, timeout: std::time::Duration) -> io::Result<bool> {
        self.check(n)?;
        let mut sop = libc::sembuf {
            sem_num: n as u16,
            sem_op: -1,
            sem_flg: 0,
        };
        let ts = libc::timespec {
            tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: libc has no semtimedop wrapper; the system call takes the
        // set id, one sembuf and a relative timespec.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_semtimedop,
                self.id,
                &mut sop as *mut libc::sembuf,
                1usize,
                &ts,
            )
        };
        if rc < 0 {
            let e = errno();
            if e == libc::EAGAIN {
                return Ok(false);
            }
            return Err(os_error(e));
        }
        Ok(true)
    }

    /// P without sleeping: `Ok(false)` if the semaphore is 0.
    pub fn try_lock(&self, n: usize) -> io::Result<bool> {
        self.check(n)?;
        loop {
            match self.semop(n, -1, libc::IPC_NOWAIT as i16) {
                Ok(()) => return Ok(true),
                Err(libc::EAGAIN) => return Ok(false),
                Err(libc::EINTR) => continue,
                Err(e) => return Err(os_error(e)),
            }
        }
    }

    /// V: increment semaphore `n`, waking one sleeper. Async-signal-safe
    /// (one system call, retried on EINTR, no allocation).
    pub fn unlock(&self, n: usize) -> io::Result<()> {
        self.check(n)?;
        loop {
            match self.semop(n, 1, 0) {
                Ok(()) => return Ok(()),
                Err(libc::EINTR) => continue,
                Err(e) => return Err(os_error(e)),
            }
        }
    }

    /// Sets semaphore `n` to 0 (a slot is reset before a process uses it,
    /// so stale wakeups of a previous owner are not absorbed as its own).
    pub fn reset(&self, n: usize) -> io::Result<()> {
        self.check(n)?;
        setval(self.id, n, 0).map_err(os_error)
    }

    /// Current value of semaphore `n` (`GETVAL`).
    pub fn value(&self, n: usize) -> io::Result<i32> {
        self.check(n)?;
        semctl0(self.id, n, libc::GETVAL)
    }

    /// How many processes sleep on semaphore `n` (`GETNCNT`).
    pub fn waiters(&self, n: usize) -> io::Result<i32> {
        self.check(n)?;
        semctl0(self.id, n, libc::GETNCNT)
    }

    /// Removes the set (`IPC_RMID`): sleepers wake with EIDRM.
    pub fn remove(&self) -> io::Result<()> {
        semctl0(self.id, 0, libc::IPC_RMID).map(|_| ())
    }

    /// The marker's value: [`TUSK_SEMA_MAGIC`] for a set tusk created.
    pub fn marker_value(&self) -> io::Result<i32> {
        semctl0(self.id, self.nsems, libc::GETVAL)
    }

    /// The PID of the last `semop` on the marker: the creator.
    pub fn creator_pid(&self) -> io::Result<i32> {
        semctl0(self.id, self.nsems, libc::GETPID)
    }

    /// `IPC_STAT` of this set.
    pub fn stat(&self) -> io::Result<SemInfo> {
        stat(self.id)
    }
}

/// What the kernel knows about a set (`IPC_STAT`, or a line of
/// `/proc/sysvipc/sem`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemInfo {
    pub key: i32,
    pub id: i32,
    pub mode: u32,
    /// Semaphores in the set, the marker included.
    pub nsems: u64,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    /// Time of the last semop, 0 if none.
    pub otime: i64,
    pub ctime: i64,
}

impl SemInfo {
    pub fn permissions(&self) -> u32 {
        self.mode & 0o777
    }

    // time_t and the count are 64-bit here but not on every target.
    #[allow(clippy::unnecessary_cast)]
    pub(crate) fn from_ds(id: i32, ds: &libc::semid_ds) -> SemInfo {
        SemInfo {
            key: ds.sem_perm.__key,
            id,
            mode: u32::from(ds.sem_perm.mode),
            nsems: ds.sem_nsems as u64,
            uid: ds.sem_perm.uid,
            gid: ds.sem_perm.gid,
            cuid: ds.sem_perm.cuid,
            cgid: ds.sem_perm.cgid,
            otime: ds.sem_otime as i64,
            ctime: ds.sem_ctime as i64,
        }
    }
}

/// `semctl(id, 0, IPC_STAT)`.
pub fn stat(id: i32) -> io::Result<SemInfo> {
    // SAFETY: semid_ds is plain data; the kernel fills it.
    let mut ds: libc::semid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT takes a semid_ds pointer as the fourth argument.
    if unsafe { libc::semctl(id, 0, libc::IPC_STAT, &mut ds as *mut libc::semid_ds) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(SemInfo::from_ds(id, &ds))
}

/// The id of the set with this key, `None` if there is none.
pub fn id_for_key(key: i32) -> io::Result<Option<i32>> {
    // SAFETY: plain system call; nsems 0 matches a set of any size.
    let id = unsafe { libc::semget(key, 0, 0) };
    if id < 0 {
        let e = errno();
        if e == libc::ENOENT {
            return Ok(None);
        }
        return Err(os_error(e));
    }
    Ok(Some(id))
}

/// `semctl(id, 0, IPC_RMID)`.
pub fn remove_id(id: i32) -> io::Result<()> {
    semctl0(id, 0, libc::IPC_RMID).map(|_| ())
}

/// Value and last-semop PID of semaphore `semnum` of any set (for judging
/// the marker of a set this process did not create).
pub fn value_and_pid(id: i32, semnum: usize) -> io::Result<(i32, i32)> {
    Ok((
        semctl0(id, semnum, libc::GETVAL)?,
        semctl0(id, semnum, libc::GETPID)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semget_message_matches_postgresql() {
        let e = SemCreateError::Semget {
            key: 5_432_002,
            nsems: 17,
            errno: libc::ENOSPC,
        };
        let text = e.to_string();
        assert!(text.starts_with("could not create semaphores: No space left on device\n"));
        assert!(text.contains("DETAIL:  Failed system call was semget(5432002, 17, 03600)."));
        assert!(
            text.contains("HINT:  This error does *not* mean that you have run out of disk space.")
        );
        assert!(text.contains("SEMMNI"));
        assert_eq!(e.to_pg_error().code, "XX000");
        let e = SemCreateError::Semget {
            key: 1,
            nsems: 17,
            errno: libc::EINVAL,
        };
        assert!(e.to_pg_error().hint.unwrap().contains("less than 17"));
    }

    #[test]
    fn setval_message_matches_postgresql() {
        let e = SemCreateError::Setval {
            id: 12,
            semnum: 16,
            value: 536,
            errno: libc::ERANGE,
        };
        let pg = e.to_pg_error();
        assert_eq!(
            pg.message,
            "semctl(12, 16, SETVAL, 536) failed: Numerical result out of range"
        );
        assert!(pg.hint.unwrap().contains("SEMVMX value to be at least 536"));
        let e = SemCreateError::Semop {
            id: 12,
            errno: libc::EIDRM,
        };
        assert_eq!(
            e.to_pg_error().message,
            "semop(id=12) failed: Identifier removed"
        );
    }
}
