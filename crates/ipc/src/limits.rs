//! The kernel's System V IPC limits and current usage (Linux), for
//! `tusk check` and for hints that quote the limit a request ran into.
//!
//! Why read and never guess: limits differ per machine and per IPC
//! namespace (containers), and a hint that quotes a made-up value sends the
//! operator the wrong way. A limit that cannot be read is `None`. The
//! sysctls under /proc/sys/kernel are read first; without /proc the same
//! values come from `shmctl(IPC_INFO)` and `semctl(IPC_INFO)`.
//!
//! SEMVMX (largest semaphore value) is not a sysctl on Linux: it is the
//! compile-time constant 32767 of `include/uapi/linux/sem.h`, so it is
//! reported as such, not read.

use crate::sem::{SEMAS_PER_SET, SEMVMX};
use crate::sysv_list::{list_segments, list_sem_sets};
use std::io;

/// Linux's SHMMIN: the smallest segment, 1 byte (a kernel constant).
pub const SHMMIN: u64 = 1;

/// The kernel's limits. Each `Option` is `None` when it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelLimits {
    /// Largest segment, bytes (kernel.shmmax).
    pub shmmax: Option<u64>,
    /// All segments together, in pages (kernel.shmall).
    pub shmall: Option<u64>,
    /// Number of segments (kernel.shmmni).
    pub shmmni: Option<u64>,
    /// Smallest segment, bytes (constant 1 on Linux).
    pub shmmin: u64,
    /// Semaphores per set (first field of kernel.sem).
    pub semmsl: Option<u64>,
    /// Semaphores system-wide (second field of kernel.sem).
    pub semmns: Option<u64>,
    /// Operations per semop call (third field of kernel.sem).
    pub semopm: Option<u64>,
    /// Semaphore sets (fourth field of kernel.sem).
    pub semmni: Option<u64>,
    /// Largest semaphore value: 32767, a compile-time constant on Linux.
    pub semvmx: u64,
    /// The system page size, bytes (the unit of shmall).
    pub page_size: u64,
    /// The default huge page size from /proc/meminfo, bytes.
    pub huge_page_size: Option<u64>,
}

/// What this IPC namespace uses now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpcUsage {
    pub segments: u64,
    pub shm_bytes: u64,
    /// Pages, rounded up per segment, as SHMALL counts them.
    pub shm_pages: u64,
    pub sem_sets: u64,
    pub semaphores: u64,
}

/// Reads the limits.
pub fn read_limits() -> KernelLimits {
    let page_size = page_size();
    let mut limits = KernelLimits {
        shmmax: read_number("/proc/sys/kernel/shmmax"),
        shmall: read_number("/proc/sys/kernel/shmall"),
        shmmni: read_number("/proc/sys/kernel/shmmni"),
        shmmin: SHMMIN,
        semmsl: None,
        semmns: None,
        semopm: None,
        semmni: None,
        semvmx: SEMVMX as u64,
        page_size,
        huge_page_size: huge_page_size(),
    };
    if let Some([msl, mns, opm, mni]) = std::fs::read_to_string("/proc/sys/kernel/sem")
        .ok()
        .and_then(|s| parse_sem_limits(&s))
    {
        (limits.semmsl, limits.semmns, limits.semopm, limits.semmni) =
            (Some(msl), Some(mns), Some(opm), Some(mni));
    }
    if limits.shmmax.is_none() || limits.shmall.is_none() || limits.shmmni.is_none() {
        if let Some(info) = shm_ipc_info() {
            limits.shmmax = limits.shmmax.or(Some(info.shmmax as u64));
            limits.shmall = limits.shmall.or(Some(info.shmall as u64));
            limits.shmmni = limits.shmmni.or(Some(info.shmmni as u64));
        }
    }
    if limits.semmsl.is_none() {
        if let Some(info) = sem_ipc_info() {
            let v = |x: libc::c_int| u64::try_from(x).ok();
            (limits.semmsl, limits.semmns, limits.semopm, limits.semmni) = (
                v(info.semmsl),
                v(info.semmns),
                v(info.semopm),
                v(info.semmni),
            );
        }
    }
    limits
}

/// Counts what is in use now, from the kernel's tables.
pub fn read_usage() -> io::Result<IpcUsage> {
    let page = page_size().max(1);
    let mut u = IpcUsage::default();
    for s in list_segments()? {
        u.segments += 1;
        u.shm_bytes += s.size;
        u.shm_pages += s.size.div_ceil(page);
    }
    for s in list_sem_sets()? {
        u.sem_sets += 1;
        u.semaphores += s.nsems;
    }
    Ok(u)
}

/// Sets needed for `semaphores` usable semaphores in sets of
/// [`SEMAS_PER_SET`] (SEMMNI must allow this many more).
pub fn sem_sets_needed(semaphores: usize) -> usize {
    semaphores.div_ceil(SEMAS_PER_SET)
}

/// Kernel semaphores needed, markers included (SEMMNS must allow this
/// many more); each set needs SEMMSL >= SEMAS_PER_SET + 1.
pub fn kernel_semaphores_needed(semaphores: usize) -> usize {
    sem_sets_needed(semaphores) * (SEMAS_PER_SET + 1)
}

/// Pages of `page_size` a segment of `bytes` occupies (the SHMALL unit).
pub fn pages_for(bytes: u64, page_size: u64) -> u64 {
    bytes.div_ceil(page_size.max(1))
}

/// The four fields of /proc/sys/kernel/sem: SEMMSL SEMMNS SEMOPM SEMMNI.
pub fn parse_sem_limits(text: &str) -> Option<[u64; 4]> {
    let v: Vec<u64> = text
        .split_ascii_whitespace()
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    v.try_into().ok()
}

/// The `Hugepagesize:` line of /proc/meminfo, in bytes (only kB is a unit
/// the kernel uses there).
pub fn parse_hugepagesize(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| {
        let rest = line.strip_prefix("Hugepagesize:")?;
        let mut it = rest.split_ascii_whitespace();
        let n: u64 = it.next()?.parse().ok()?;
        (it.next()? == "kB").then_some(n * 1024)
    })
}

/// The default huge page size, `None` without /proc or huge page support.
pub fn huge_page_size() -> Option<u64> {
    parse_hugepagesize(&std::fs::read_to_string("/proc/meminfo").ok()?).filter(|&n| n > 0)
}

/// The system page size.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n).unwrap_or(4096)
}

fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Linux's `struct shminfo` (the result of shmctl IPC_INFO).
#[repr(C)]
#[derive(Default)]
struct KernelShmLimits {
    shmmax: libc::c_ulong,
    shmmin: libc::c_ulong,
    shmmni: libc::c_ulong,
    shmseg: libc::c_ulong,
    shmall: libc::c_ulong,
    unused: [libc::c_ulong; 4],
}

fn shm_ipc_info() -> Option<KernelShmLimits> {
    let mut info = KernelShmLimits::default();
    // SAFETY: IPC_INFO writes a struct shminfo through the pointer.
    let rc = unsafe {
        libc::shmctl(
            0,
            libc::IPC_INFO,
            &mut info as *mut KernelShmLimits as *mut libc::shmid_ds,
        )
    };
    (rc >= 0).then_some(info)
}

fn sem_ipc_info() -> Option<libc::seminfo> {
    // SAFETY: plain data.
    let mut info: libc::seminfo = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_INFO writes a struct seminfo through the pointer.
    let rc = unsafe { libc::semctl(0, 0, libc::IPC_INFO, &mut info as *mut libc::seminfo) };
    (rc >= 0).then_some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sem_line() {
        assert_eq!(
            parse_sem_limits("32000\t1024000000\t500\t32000\n"),
            Some([32000, 1_024_000_000, 500, 32000])
        );
        assert_eq!(
            parse_sem_limits("250 32000 32 128"),
            Some([250, 32000, 32, 128])
        );
        assert_eq!(parse_sem_limits("250 32000 32"), None);
        assert_eq!(parse_sem_limits("a b c d"), None);
    }

    #[test]
    fn hugepagesize_line() {
        let meminfo =
            "MemTotal:       16318412 kB\nHugePages_Total:       0\nHugepagesize:       2048 kB\n";
        assert_eq!(parse_hugepagesize(meminfo), Some(2 * 1024 * 1024));
        assert_eq!(parse_hugepagesize("Hugepagesize: 1 GB\n"), None);
        assert_eq!(parse_hugepagesize("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn set_arithmetic() {
        // PostgreSQL 15's default of 127 semaphores: 8 sets, 136 kernel semaphores.
        assert_eq!(sem_sets_needed(127), 8);
        assert_eq!(kernel_semaphores_needed(127), 136);
        assert_eq!(sem_sets_needed(0), 0);
        assert_eq!(pages_for(149_520_384, 4096), 36_504);
        assert_eq!(pages_for(1, 4096), 1);
    }

    #[test]
    fn limits_read_from_this_kernel_agree_with_proc() {
        let l = read_limits();
        assert_eq!(l.semvmx, 32767);
        assert!(l.page_size >= 4096 && l.page_size.is_power_of_two());
        if let Ok(text) = std::fs::read_to_string("/proc/sys/kernel/shmmni") {
            assert_eq!(l.shmmni, text.trim().parse().ok());
        }
        if let Some(v) = std::fs::read_to_string("/proc/sys/kernel/sem")
            .ok()
            .and_then(|s| parse_sem_limits(&s))
        {
            assert_eq!(l.semmsl, Some(v[0]));
            assert_eq!(l.semmni, Some(v[3]));
        }
        // The IPC_INFO fallback reports the same values the sysctls do.
        if let (Some(info), Some(mni)) = (shm_ipc_info(), l.shmmni) {
            assert_eq!(info.shmmni as u64, mni);
        }
        if let (Some(info), Some(msl)) = (sem_ipc_info(), l.semmsl) {
            assert_eq!(info.semmsl as u64, msl);
        }
    }
}
