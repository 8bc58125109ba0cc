//! The kernel's tables of System V segments and semaphore sets, for
//! `tusk ipc`, `tusk check` and usage counts.
//!
//! Why /proc first: `/proc/sysvipc/{shm,sem}` lists every object of the IPC
//! namespace whatever its permissions, with all columns (including rss and
//! swap) in one read. Where /proc is not mounted (some containers), the
//! same facts come from iterating the kernel's slots with
//! `shmctl(SHM_INFO)` + `shmctl(SHM_STAT)` and `semctl(SEM_INFO)` +
//! `semctl(SEM_STAT)`; objects we may not read are then found with the
//! `_ANY` variants (Linux 4.17+) or skipped.
//!
//! Columns are located by the header line, not by position, because the
//! kernel has added columns over time (rss and swap).

use crate::sem::SemInfo;
use crate::shm::ShmInfo;
use std::collections::HashMap;
use std::io;

const PROC_SHM: &str = "/proc/sysvipc/shm";
const PROC_SEM: &str = "/proc/sysvipc/sem";

// Linux command numbers the libc crate does not export (linux/shm.h).
const SHM_STAT: libc::c_int = 13;
const SHM_INFO: libc::c_int = 14;
const SHM_STAT_ANY: libc::c_int = 15;

/// Linux's `struct shm_info` (the result of SHM_INFO).
#[repr(C)]
#[derive(Default)]
struct KernelShmInfo {
    used_ids: libc::c_int,
    shm_tot: libc::c_ulong,
    shm_rss: libc::c_ulong,
    shm_swp: libc::c_ulong,
    swap_attempts: libc::c_ulong,
    swap_successes: libc::c_ulong,
}

/// Every System V shared memory segment of this IPC namespace.
pub fn list_segments() -> io::Result<Vec<ShmInfo>> {
    match std::fs::read_to_string(PROC_SHM) {
        Ok(text) => parse_shm_table(&text),
        Err(_) => list_segments_syscall(),
    }
}

/// Every System V semaphore set of this IPC namespace.
pub fn list_sem_sets() -> io::Result<Vec<SemInfo>> {
    match std::fs::read_to_string(PROC_SEM) {
        Ok(text) => parse_sem_table(&text),
        Err(_) => list_sem_sets_syscall(),
    }
}

/// Column lookup by header name.
struct Columns<'a> {
    index: HashMap<&'a str, usize>,
}

impl<'a> Columns<'a> {
    fn new(header: &'a str) -> Columns<'a> {
        Columns {
            index: header
                .split_ascii_whitespace()
                .enumerate()
                .map(|(i, name)| (name, i))
                .collect(),
        }
    }

    fn get<T: std::str::FromStr>(&self, fields: &[&str], name: &str) -> io::Result<T> {
        self.opt(fields, name)?
            .ok_or_else(|| bad(format!("column \"{name}\" is missing")))
    }

    fn opt<T: std::str::FromStr>(&self, fields: &[&str], name: &str) -> io::Result<Option<T>> {
        let Some(&i) = self.index.get(name) else {
            return Ok(None);
        };
        let Some(text) = fields.get(i) else {
            return Err(bad(format!("a line has no \"{name}\" value")));
        };
        text.parse().map(Some).map_err(|_| {
            bad(format!(
                "column \"{name}\" has the unexpected value \"{text}\""
            ))
        })
    }

    /// The permissions column is octal.
    fn mode(&self, fields: &[&str]) -> io::Result<u32> {
        let text: String = self.get(fields, "perms")?;
        u32::from_str_radix(&text, 8)
            .map_err(|_| bad(format!("column \"perms\" is not octal: \"{text}\"")))
    }
}

fn bad(msg: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected format of the kernel's IPC table: {msg}"),
    )
}

/// Parses a /proc/sysvipc table: `row` makes one entry of a line's fields,
/// found by the header's column names. Blank lines are skipped.
fn parse_table<T>(
    text: &str,
    row: impl Fn(&Columns, &[&str]) -> io::Result<T>,
) -> io::Result<Vec<T>> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Ok(Vec::new());
    };
    let cols = Columns::new(header);
    let mut out = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        out.push(row(&cols, &f)?);
    }
    Ok(out)
}

/// Parses the text of /proc/sysvipc/shm.
pub fn parse_shm_table(text: &str) -> io::Result<Vec<ShmInfo>> {
    parse_table(text, |cols, f| {
        Ok(ShmInfo {
            key: cols.get(f, "key")?,
            id: cols.get(f, "shmid")?,
            mode: cols.mode(f)?,
            size: cols.get(f, "size")?,
            cpid: cols.get(f, "cpid")?,
            lpid: cols.get(f, "lpid")?,
            nattch: cols.get(f, "nattch")?,
            uid: cols.get(f, "uid")?,
            gid: cols.get(f, "gid")?,
            cuid: cols.get(f, "cuid")?,
            cgid: cols.get(f, "cgid")?,
            atime: cols.get(f, "atime")?,
            dtime: cols.get(f, "dtime")?,
            ctime: cols.get(f, "ctime")?,
            rss: cols.opt(f, "rss")?,
            swap: cols.opt(f, "swap")?,
        })
    })
}

/// Parses the text of /proc/sysvipc/sem.
pub fn parse_sem_table(text: &str) -> io::Result<Vec<SemInfo>> {
    parse_table(text, |cols, f| {
        Ok(SemInfo {
            key: cols.get(f, "key")?,
            id: cols.get(f, "semid")?,
            mode: cols.mode(f)?,
            nsems: cols.get(f, "nsems")?,
            uid: cols.get(f, "uid")?,
            gid: cols.get(f, "gid")?,
            cuid: cols.get(f, "cuid")?,
            cgid: cols.get(f, "cgid")?,
            otime: cols.get(f, "otime")?,
            ctime: cols.get(f, "ctime")?,
        })
    })
}

/// The segments found by iterating the kernel's slots (no /proc needed).
pub fn list_segments_syscall() -> io::Result<Vec<ShmInfo>> {
    let mut info = KernelShmInfo::default();
    // SAFETY: SHM_INFO writes a struct shm_info through the pointer.
    let max = unsafe {
        libc::shmctl(
            0,
            SHM_INFO,
            &mut info as *mut KernelShmInfo as *mut libc::shmid_ds,
        )
    };
    if max < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    for slot in 0..=max {
        // SAFETY: shmid_ds is plain data.
        let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
        // SAFETY: SHM_STAT fills a shmid_ds and returns the id in the slot.
        let mut id = unsafe { libc::shmctl(slot, SHM_STAT, &mut ds) };
        if id < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EACCES) {
            // SAFETY: as above; _ANY skips the read-permission check.
            id = unsafe { libc::shmctl(slot, SHM_STAT_ANY, &mut ds) };
        }
        if id >= 0 {
            out.push(ShmInfo::from_ds(id, &ds));
        }
    }
    Ok(out)
}

/// The semaphore sets found by iterating the kernel's slots.
pub fn list_sem_sets_syscall() -> io::Result<Vec<SemInfo>> {
    // SAFETY: seminfo is plain data.
    let mut info: libc::seminfo = unsafe { std::mem::zeroed() };
    // SAFETY: SEM_INFO writes a struct seminfo through the pointer.
    let max = unsafe { libc::semctl(0, 0, libc::SEM_INFO, &mut info as *mut libc::seminfo) };
    if max < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    for slot in 0..=max {
        // SAFETY: semid_ds is plain data.
        let mut ds: libc::semid_ds = unsafe { std::mem::zeroed() };
        // SAFETY: SEM_STAT fills a semid_ds and returns the id in the slot.
        let mut id =
            unsafe { libc::semctl(slot, 0, libc::SEM_STAT, &mut ds as *mut libc::semid_ds) };
        if id < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EACCES) {
            // SAFETY: as above.
            id = unsafe {
                libc::semctl(slot, 0, libc::SEM_STAT_ANY, &mut ds as *mut libc::semid_ds)
            };
        }
        if id >= 0 {
            out.push(SemInfo::from_ds(id, &ds));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHM: &str = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n\
        5432001         19   600              149520384  4242  4250      6   113   120   113   120 1700000000 1700000100 1699999999               1048576                     0\n\
                  0         21  1600                  8192  6101  6101      1     0     0     0     0 1795311443          0 1795311443                     0                     0\n";

    #[test]
    fn parses_shm_table() {
        let rows = parse_shm_table(SHM).unwrap();
        assert_eq!(rows.len(), 2);
        let a = &rows[0];
        assert_eq!(
            (a.key, a.id, a.mode, a.size),
            (5_432_001, 19, 0o600, 149_520_384)
        );
        assert_eq!((a.cpid, a.lpid, a.nattch), (4242, 4250, 6));
        assert_eq!((a.uid, a.gid, a.cuid, a.cgid), (113, 120, 113, 120));
        assert_eq!(
            (a.atime, a.dtime, a.ctime),
            (1_700_000_000, 1_700_000_100, 1_699_999_999)
        );
        assert_eq!((a.rss, a.swap), (Some(1_048_576), Some(0)));
        assert!(!a.marked_for_removal());
        let b = &rows[1];
        assert!(b.marked_for_removal());
        assert_eq!(b.permissions(), 0o600);
    }

    #[test]
    fn older_kernels_without_rss_columns() {
        let text = "key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime\n\
                    -1 3 666 4096 1 2 0 0 0 0 0 0 0 0\n";
        let rows = parse_shm_table(text).unwrap();
        assert_eq!(rows[0].key, -1);
        assert_eq!(rows[0].rss, None);
    }

    #[test]
    fn parses_sem_table() {
        let text = "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n\
                    2046820607          0   600         17     0     0     0     0          0 1795311443\n";
        let rows = parse_sem_table(text).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].key, rows[0].id, rows[0].mode, rows[0].nsems),
            (2_046_820_607, 0, 0o600, 17)
        );
        assert_eq!((rows[0].otime, rows[0].ctime), (0, 1_795_311_443));
    }

    #[test]
    fn malformed_tables_are_errors_not_panics() {
        assert!(parse_shm_table("key shmid perms size\n1 2 999 x\n").is_err());
        assert!(
            parse_sem_table("key semid perms nsems uid gid cuid cgid otime ctime\n1 2\n").is_err()
        );
        assert!(parse_shm_table("").unwrap().is_empty());
    }
}
