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
//!
//! When the kernel refuses a request, [`KernelView::read`] takes the
//! limits, what other programs use and the memory state at that moment;
//! the `diagnose_*` functions name the limit that was hit ([`Exceeded`],
//! with the numbers), [`explain`] turns it into the sentences of the
//! report (the limit's current value, the command that raises it, the
//! /etc/sysctl.d line), and [`Exceeded::budget`] says how much room is left,
//! so that the server can add which smaller settings would fit now.

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
            limits.shmmax = limits.shmmax.or(Some(info.shmmax));
            limits.shmall = limits.shmall.or(Some(info.shmall));
            limits.shmmni = limits.shmmni.or(Some(info.shmmni));
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

// ---------------------------------------------------------------------
// Memory: what the kernel lets a process map, and the huge page pools.
// ---------------------------------------------------------------------

/// The /proc/meminfo fields that decide whether shared memory can be had.
/// Sizes in bytes, page counts as counts; `None` when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemInfo {
    pub mem_total: Option<u64>,
    pub mem_available: Option<u64>,
    pub swap_total: Option<u64>,
    pub swap_free: Option<u64>,
    /// The strict-overcommit ceiling (mode 2).
    pub commit_limit: Option<u64>,
    /// Memory promised to processes now.
    pub committed_as: Option<u64>,
    pub huge_pages_total: Option<u64>,
    pub huge_pages_free: Option<u64>,
    /// Promised to mappings but not yet faulted in: not free for a new one.
    pub huge_pages_rsvd: Option<u64>,
    pub huge_page_size: Option<u64>,
}

/// Parses /proc/meminfo: `Name:   value [kB]` lines.
pub fn parse_meminfo(text: &str) -> MemInfo {
    let field = |name: &str| parse_meminfo_field(text, name);
    MemInfo {
        mem_total: field("MemTotal"),
        mem_available: field("MemAvailable"),
        swap_total: field("SwapTotal"),
        swap_free: field("SwapFree"),
        commit_limit: field("CommitLimit"),
        committed_as: field("Committed_AS"),
        huge_pages_total: field("HugePages_Total"),
        huge_pages_free: field("HugePages_Free"),
        huge_pages_rsvd: field("HugePages_Rsvd"),
        huge_page_size: field("Hugepagesize").filter(|&n| n > 0),
    }
}

/// Reads /proc/meminfo (all `None` without /proc).
pub fn read_meminfo() -> MemInfo {
    std::fs::read_to_string("/proc/meminfo")
        .map(|t| parse_meminfo(&t))
        .unwrap_or_default()
}

/// The overcommit policy (vm.overcommit_memory, _ratio, _kbytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overcommit {
    /// 0 heuristic, 1 always, 2 strict.
    pub mode: Option<u64>,
    pub ratio: Option<u64>,
    pub kbytes: Option<u64>,
}

pub fn read_overcommit() -> Overcommit {
    Overcommit {
        mode: read_number("/proc/sys/vm/overcommit_memory"),
        ratio: read_number("/proc/sys/vm/overcommit_ratio"),
        kbytes: read_number("/proc/sys/vm/overcommit_kbytes"),
    }
}

/// How much one new shared mapping may be, as the kernel's memory
/// accounting (`__vm_enough_memory`) decides for the overcommit mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryBudget {
    /// Mode 1: accounting never refuses.
    Unlimited,
    /// At most `bytes`; `rule` says where the number comes from.
    Limited { bytes: u64, rule: String },
    /// The mode or the meminfo fields could not be read.
    Unknown,
}

/// The budget for one new request. Mode 0 refuses a single request larger
/// than RAM + swap; mode 2 refuses what would push Committed_AS over
/// CommitLimit.
pub fn memory_budget(oc: &Overcommit, mem: &MemInfo) -> MemoryBudget {
    match oc.mode {
        Some(1) => MemoryBudget::Unlimited,
        Some(0) => match (mem.mem_total, mem.swap_total) {
            (Some(ram), Some(swap)) => MemoryBudget::Limited {
                bytes: ram.saturating_add(swap),
                rule: format!(
                    "vm.overcommit_memory = 0 refuses a single request larger than RAM + swap ({} + {})",
                    fmt_bytes(ram),
                    fmt_bytes(swap)
                ),
            },
            _ => MemoryBudget::Unknown,
        },
        Some(2) => match (mem.commit_limit, mem.committed_as) {
            (Some(limit), Some(used)) => MemoryBudget::Limited {
                bytes: limit.saturating_sub(used),
                rule: format!(
                    "vm.overcommit_memory = 2 allows CommitLimit ({}) minus what is committed now, Committed_AS ({})",
                    fmt_bytes(limit),
                    fmt_bytes(used)
                ),
            },
            _ => MemoryBudget::Unknown,
        },
        _ => MemoryBudget::Unknown,
    }
}

/// One huge page pool: the default size from /proc/meminfo, any other
/// size from /sys/kernel/mm/hugepages/hugepages-<kB>kB/.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HugePagePool {
    pub page_size: u64,
    pub total: Option<u64>,
    pub free: Option<u64>,
    pub reserved: Option<u64>,
}

impl HugePagePool {
    /// Pages a new mapping can get: free minus reserved.
    pub fn available(&self) -> Option<u64> {
        Some(self.free?.saturating_sub(self.reserved.unwrap_or(0)))
    }

    /// Where the pool's size is set (the sysctl for the default size).
    pub fn setting(&self, default_size: Option<u64>) -> String {
        if Some(self.page_size) == default_size {
            "vm.nr_hugepages".to_string()
        } else {
            format!(
                "/sys/kernel/mm/hugepages/hugepages-{}kB/nr_hugepages",
                self.page_size / 1024
            )
        }
    }
}

/// The pool of `page_size` huge pages.
pub fn read_huge_page_pool(page_size: u64, mem: &MemInfo) -> HugePagePool {
    let dir = format!("/sys/kernel/mm/hugepages/hugepages-{}kB", page_size / 1024);
    let sys = |f: &str| read_number(&format!("{dir}/{f}"));
    if mem.huge_page_size == Some(page_size) {
        HugePagePool {
            page_size,
            total: mem.huge_pages_total.or_else(|| sys("nr_hugepages")),
            free: mem.huge_pages_free.or_else(|| sys("free_hugepages")),
            reserved: mem.huge_pages_rsvd.or_else(|| sys("resv_hugepages")),
        }
    } else {
        HugePagePool {
            page_size,
            total: sys("nr_hugepages"),
            free: sys("free_hugepages"),
            reserved: sys("resv_hugepages"),
        }
    }
}

/// Address space a server process needs beyond the shared memory it
/// inherits (heap, stacks, reading WAL during recovery, sorting): what a
/// suggested configuration leaves free under RLIMIT_AS, so that a server
/// started with the suggestion does not fail its first allocation.
pub const PROCESS_HEADROOM: u64 = 64 << 20;

/// The soft RLIMIT_AS (address space), `None` when unlimited or unreadable.
pub fn address_space_limit() -> Option<u64> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut l) } != 0 || l.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    Some(l.rlim_cur)
}

// ---------------------------------------------------------------------
// Diagnosis: which limit a refused call ran into, and the fix.
// ---------------------------------------------------------------------

/// Where tusk suggests keeping its sysctl settings across reboots.
pub const SYSCTL_D_FILE: &str = "/etc/sysctl.d/30-tusk.conf";

/// The four values of kernel.sem, in the kernel's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemLimits {
    pub semmsl: u64,
    pub semmns: u64,
    pub semopm: u64,
    pub semmni: u64,
}

impl SemLimits {
    pub fn from_limits(l: &KernelLimits) -> Option<SemLimits> {
        Some(SemLimits {
            semmsl: l.semmsl?,
            semmns: l.semmns?,
            semopm: l.semopm?,
            semmni: l.semmni?,
        })
    }

    /// As kernel.sem is written: "SEMMSL SEMMNS SEMOPM SEMMNI".
    pub fn sysctl_value(&self) -> String {
        format!(
            "{} {} {} {}",
            self.semmsl, self.semmns, self.semopm, self.semmni
        )
    }
}

/// What the kernel looked like when a call failed: the limits, what other
/// programs use, and the memory state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelView {
    pub limits: KernelLimits,
    /// `None` when /proc/sysvipc cannot be read.
    pub usage: Option<IpcUsage>,
    pub mem: MemInfo,
    pub overcommit: Overcommit,
    /// Room left under the soft RLIMIT_AS: the limit minus what this
    /// process maps already (VmSize); `None` when unlimited.
    pub address_space: Option<u64>,
}

/// What this process maps now (VmSize of /proc/self/status), bytes.
pub fn mapped_now() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_meminfo_field(&status, "VmSize")
}

fn parse_meminfo_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(':')?;
        let mut it = rest.split_ascii_whitespace();
        let n: u64 = it.next()?.parse().ok()?;
        match it.next() {
            Some("kB") => n.checked_mul(1024),
            Some(_) => None,
            None => Some(n),
        }
    })
}

impl KernelView {
    pub fn read() -> KernelView {
        KernelView {
            limits: read_limits(),
            usage: read_usage().ok(),
            mem: read_meminfo(),
            overcommit: read_overcommit(),
            address_space: address_space_limit()
                .map(|limit| limit.saturating_sub(mapped_now().unwrap_or(0))),
        }
    }
}

/// The limit a refused request ran into, with the numbers the message and
/// the fix need. Produced by [`diagnose_shmget`], [`diagnose_semget`],
/// [`diagnose_setval`] and [`diagnose_mmap`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exceeded {
    /// The segment is larger than SHMMAX.
    ShmMax { request: u64, limit: u64 },
    /// The segment is smaller than SHMMIN.
    ShmMin {
        request: u64,
        limit: u64,
        shmmax: Option<u64>,
    },
    /// The pages of all segments would pass SHMALL.
    ShmAll {
        request_pages: u64,
        used_pages: u64,
        limit_pages: u64,
        page_size: u64,
    },
    /// Every segment identifier (SHMMNI) is taken.
    ShmMni { used: u64, limit: u64 },
    /// Memory accounting (overcommit) or RLIMIT_AS refused `request` bytes.
    Memory {
        request: u64,
        budget: MemoryBudget,
        overcommit: Overcommit,
        mem: MemInfo,
        address_space: Option<u64>,
    },
    /// Too few free huge pages.
    HugePages {
        request_pages: u64,
        pool: HugePagePool,
        default_size: Option<u64>,
    },
    /// SEMMNI (sets) or SEMMNS (semaphores) would be exceeded: the
    /// configuration needs `wanted_sets` sets of `per_set` semaphores.
    SemSpace {
        per_set: u64,
        wanted_sets: u64,
        used_sets: u64,
        used_sems: u64,
        current: SemLimits,
    },
    /// A set of `nsems` is larger than SEMMSL.
    SemMsl {
        nsems: u64,
        current: Option<SemLimits>,
    },
    /// A semaphore value above SEMVMX.
    SemVmx { value: u64, limit: u64 },
    /// The kernel has no System V IPC (or a filter forbids it).
    NoSysV { call: &'static str },
    /// The errno does not point at a limit, or the limit could not be read.
    Unknown { why: String },
}

/// What a caller may shrink to get under the limit that was hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// The System V segment may be at most this many bytes.
    SegmentBytes(u64),
    /// The System V segment may occupy at most this many pages of `page_size`.
    SegmentPages { pages: u64, page_size: u64 },
    /// Shared memory (segment or mapping) may be at most this many bytes.
    MemoryBytes(u64),
    /// The mapping may use at most this many huge pages of `page_size`.
    HugePages { pages: u64, page_size: u64 },
    /// At most this many semaphore sets.
    SemSets(u64),
}

impl Exceeded {
    /// The room left under the limit, when shrinking the request can help.
    pub fn budget(&self) -> Option<Budget> {
        match self {
            Exceeded::ShmMax { limit, .. } => Some(Budget::SegmentBytes(*limit)),
            Exceeded::ShmAll {
                used_pages,
                limit_pages,
                page_size,
                ..
            } => Some(Budget::SegmentPages {
                pages: limit_pages.saturating_sub(*used_pages),
                page_size: *page_size,
            }),
            Exceeded::Memory {
                budget: MemoryBudget::Limited { bytes, .. },
                address_space,
                ..
            } => Some(Budget::MemoryBytes(match address_space {
                Some(a) => (*bytes).min(a.saturating_sub(PROCESS_HEADROOM)),
                None => *bytes,
            })),
            Exceeded::Memory {
                address_space: Some(a),
                ..
            } => Some(Budget::MemoryBytes(a.saturating_sub(PROCESS_HEADROOM))),
            Exceeded::HugePages { pool, .. } => pool.available().map(|pages| Budget::HugePages {
                pages,
                page_size: pool.page_size,
            }),
            Exceeded::SemSpace {
                per_set,
                used_sets,
                used_sems,
                current,
                ..
            } => Some(Budget::SemSets(
                current
                    .semmni
                    .saturating_sub(*used_sets)
                    .min(current.semmns.saturating_sub(*used_sems) / (*per_set).max(1)),
            )),
            _ => None,
        }
    }
}

/// Why `shmget(key, size, 03600)` failed with `errno` (Linux rules: EINVAL
/// SHMMAX/SHMMIN, ENOSPC SHMMNI or SHMALL, ENOMEM memory accounting;
/// SHMALL too where a BSD kernel says ENOMEM).
pub fn diagnose_shmget(errno: i32, size: u64, v: &KernelView) -> Exceeded {
    let l = &v.limits;
    match errno {
        libc::ENOSYS => Exceeded::NoSysV { call: "shmget" },
        libc::EINVAL => match l.shmmax {
            Some(limit) if size > limit => Exceeded::ShmMax { request: size, limit },
            _ if size < l.shmmin => Exceeded::ShmMin {
                request: size,
                limit: l.shmmin,
                shmmax: l.shmmax,
            },
            Some(limit) => Exceeded::Unknown {
                why: format!(
                    "The request of {} is within SHMMAX (kernel.shmmax = {limit}) and SHMMIN, so the kernel's \
                     reason is not a limit tusk can read.",
                    fmt_bytes(size)
                ),
            },
            None => Exceeded::Unknown {
                why: format!(
                    "The request of {} probably exceeds SHMMAX (kernel.shmmax), which could not be read.",
                    fmt_bytes(size)
                ),
            },
        },
        libc::ENOSPC | libc::ENOMEM => {
            let usage = v.usage.unwrap_or_default();
            if errno == libc::ENOSPC {
                if let Some(limit) = l.shmmni {
                    if v.usage.is_some() && usage.segments >= limit {
                        return Exceeded::ShmMni {
                            used: usage.segments,
                            limit,
                        };
                    }
                }
            }
            let request_pages = pages_for(size, l.page_size);
            if let (Some(limit_pages), Some(_)) = (l.shmall, v.usage) {
                if usage.shm_pages.saturating_add(request_pages) > limit_pages {
                    return Exceeded::ShmAll {
                        request_pages,
                        used_pages: usage.shm_pages,
                        limit_pages,
                        page_size: l.page_size,
                    };
                }
            }
            if errno == libc::ENOMEM {
                return memory_exceeded(size, v);
            }
            Exceeded::Unknown {
                why: format!(
                    "Neither SHMMNI (kernel.shmmni = {}, {} segments in use) nor SHMALL (kernel.shmall = {} pages, \
                     {} in use, {} asked for) is exhausted now; another program may have released what it held.",
                    opt(l.shmmni),
                    opt(v.usage.map(|u| u.segments)),
                    opt(l.shmall),
                    opt(v.usage.map(|u| u.shm_pages)),
                    request_pages
                ),
            }
        }
        _ => Exceeded::Unknown {
            why: String::new(),
        },
    }
}

fn memory_exceeded(size: u64, v: &KernelView) -> Exceeded {
    Exceeded::Memory {
        request: size,
        budget: memory_budget(&v.overcommit, &v.mem),
        overcommit: v.overcommit,
        mem: v.mem.clone(),
        address_space: v.address_space,
    }
}

/// Why `semget(key, nsems, 03600)` failed, for a server that wanted
/// `wanted_sets` such sets in all (ENOSPC: SEMMNI or SEMMNS; EINVAL:
/// SEMMSL). `v.usage` must not count the caller's own sets (the create loop
/// removes them before reporting).
pub fn diagnose_semget(errno: i32, nsems: u64, wanted_sets: u64, v: &KernelView) -> Exceeded {
    let current = SemLimits::from_limits(&v.limits);
    match errno {
        libc::ENOSYS => Exceeded::NoSysV { call: "semget" },
        libc::EINVAL => match current {
            Some(c) if nsems > c.semmsl => Exceeded::SemMsl {
                nsems,
                current: Some(c),
            },
            Some(_) => Exceeded::Unknown {
                why: format!("A set of {nsems} semaphores is within SEMMSL, the first value of kernel.sem."),
            },
            None => Exceeded::SemMsl {
                nsems,
                current: None,
            },
        },
        libc::ENOSPC => match (current, v.usage) {
            (Some(current), Some(u)) => Exceeded::SemSpace {
                per_set: nsems,
                wanted_sets,
                used_sets: u.sem_sets,
                used_sems: u.semaphores,
                current,
            },
            _ => Exceeded::Unknown {
                why: "SEMMNI or SEMMNS (kernel.sem) would be exceeded, but kernel.sem or the semaphores in use \
                      could not be read."
                    .to_string(),
            },
        },
        _ => Exceeded::Unknown {
            why: String::new(),
        },
    }
}

/// Why `semctl(SETVAL, value)` failed: ERANGE is a value above SEMVMX.
pub fn diagnose_setval(errno: i32, value: i32, v: &KernelView) -> Exceeded {
    match errno {
        libc::ERANGE => Exceeded::SemVmx {
            value: u64::try_from(value).unwrap_or(0),
            limit: v.limits.semvmx,
        },
        libc::ENOSYS => Exceeded::NoSysV { call: "semctl" },
        _ => Exceeded::Unknown { why: String::new() },
    }
}

/// Why `mmap(size)` failed; `huge_page_size` when MAP_HUGETLB was used.
pub fn diagnose_mmap(
    errno: i32,
    size: u64,
    huge_page_size: Option<u64>,
    v: &KernelView,
) -> Exceeded {
    match (errno, huge_page_size) {
        (libc::ENOMEM, Some(hp)) => {
            let pool = read_huge_page_pool(hp, &v.mem);
            Exceeded::HugePages {
                request_pages: size.div_ceil(hp.max(1)),
                pool,
                default_size: v.mem.huge_page_size.or(v.limits.huge_page_size),
            }
        }
        (libc::ENOMEM, None) => memory_exceeded(size, v),
        _ => Exceeded::Unknown { why: String::new() },
    }
}

/// "149520384 bytes (143 MB)": exact, then readable (MB rounded up, so a
/// limit set to the readable figure is never too small).
pub fn fmt_bytes(n: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * KB;
    const GB: u64 = 1024 * MB;
    if n < 10 * KB {
        return format!("{n} bytes");
    }
    let (unit, name) = if n >= 10 * GB {
        (GB, "GB")
    } else if n >= 10 * MB {
        (MB, "MB")
    } else {
        (KB, "kB")
    };
    let approx = if n.is_multiple_of(unit) { "" } else { "about " };
    format!("{n} bytes ({approx}{} {name})", (n + unit / 2) / unit)
}

/// The Linux commands that set sysctls now and after a reboot.
/// `pairs` are (name, value); values with spaces are quoted for the shell.
pub fn sysctl_fix(pairs: &[(&str, String)]) -> String {
    let now: Vec<String> = pairs
        .iter()
        .map(|(n, v)| {
            if v.contains(' ') {
                format!("{n}=\"{v}\"")
            } else {
                format!("{n}={v}")
            }
        })
        .collect();
    let lines: Vec<String> = pairs.iter().map(|(n, v)| format!("{n} = {v}")).collect();
    format!(
        "As root, run: sysctl -w {}. To keep it after a reboot, put the line{} \"{}\" in {SYSCTL_D_FILE}.",
        now.join(" "),
        if lines.len() > 1 { "s" } else { "" },
        lines.join("\" and \"")
    )
}

/// The part of the fix that applies to containers: these limits belong to
/// the IPC namespace, which the container runtime sets up.
fn container_note(pairs: &[(&str, String)]) -> String {
    let flags: Vec<String> = pairs
        .iter()
        .map(|(n, v)| {
            if v.contains(' ') {
                format!("--sysctl {n}=\"{v}\"")
            } else {
                format!("--sysctl {n}={v}")
            }
        })
        .collect();
    format!(
        "In a container these limits belong to its IPC namespace: set them when it starts ({}).",
        flags.join(" ")
    )
}

fn opt(v: Option<u64>) -> String {
    v.map(|n| n.to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The DETAIL sentences (after "Failed system call was ...") and the HINT
/// for a diagnosis. `fallback_hint` is used for [`Exceeded::Unknown`].
pub fn explain(ex: &Exceeded, fallback_hint: Option<&str>) -> (String, Option<String>) {
    match ex {
        Exceeded::ShmMax { request, limit } => {
            let pairs = [("kernel.shmmax", request.next_multiple_of(4096).to_string())];
            (
                format!(
                    "The segment needs {}, more than the kernel's SHMMAX (kernel.shmmax), now {}.",
                    fmt_bytes(*request),
                    fmt_bytes(*limit)
                ),
                Some(format!(
                    "Raise kernel.shmmax to at least {}. {} {} Or set shared_memory_type = mmap, which keeps only \
                     a small header in System V shared memory.",
                    pairs[0].1,
                    sysctl_fix(&pairs),
                    container_note(&pairs)
                )),
            )
        }
        Exceeded::ShmMin {
            request,
            limit,
            shmmax,
        } => (
            format!(
                "The segment size {} is less than the kernel's SHMMIN, {} (SHMMAX, kernel.shmmax, is {}).",
                fmt_bytes(*request),
                fmt_bytes(*limit),
                opt(*shmmax)
            ),
            Some("SHMMIN is fixed in the Linux kernel; a segment this small is a bug in the caller.".to_string()),
        ),
        Exceeded::ShmAll {
            request_pages,
            used_pages,
            limit_pages,
            page_size,
        } => {
            let need = used_pages.saturating_add(*request_pages);
            let pairs = [("kernel.shmall", need.to_string())];
            (
                format!(
                    "The segment needs {request_pages} pages of {page_size} bytes; other segments use {used_pages} \
                     pages, and the kernel's SHMALL (kernel.shmall, counted in pages) is now {limit_pages} pages."
                ),
                Some(format!(
                    "This does not mean that the disk is full. Raise kernel.shmall to at least {need} pages. {} {}",
                    sysctl_fix(&pairs),
                    container_note(&pairs)
                )),
            )
        }
        Exceeded::ShmMni { used, limit } => {
            let pairs = [("kernel.shmmni", used.saturating_add(1).max(*limit + 1).to_string())];
            (
                format!(
                    "All shared memory identifiers are taken: {used} segments exist, and the kernel's SHMMNI \
                     (kernel.shmmni) is now {limit}."
                ),
                Some(format!(
                    "This does not mean that the disk is full. Remove leftover segments of programs that are gone \
                     (\"tusk ipc\" and \"ipcs -m\" list them), or raise kernel.shmmni to at least {}. {} {}",
                    pairs[0].1,
                    sysctl_fix(&pairs),
                    container_note(&pairs)
                )),
            )
        }
        Exceeded::Memory {
            request,
            budget,
            overcommit,
            mem,
            address_space,
        } => explain_memory(*request, budget, overcommit, mem, *address_space),
        Exceeded::HugePages {
            request_pages,
            pool,
            default_size,
        } => {
            let kb = pool.page_size / 1024;
            let available = pool.available();
            let mut detail = format!(
                "The request needs {request_pages} huge pages of {kb} kB; the pool has {} pages, {} free, {} of \
                 them reserved for other mappings.",
                opt(pool.total),
                opt(pool.free),
                opt(pool.reserved)
            );
            let setting = pool.setting(*default_size);
            let hint = match (pool.total, available) {
                (Some(total), Some(avail)) => {
                    let new_total = total.saturating_add(request_pages.saturating_sub(avail));
                    let fix = if setting == "vm.nr_hugepages" {
                        sysctl_fix(&[("vm.nr_hugepages", new_total.to_string())])
                    } else {
                        format!("As root, run: echo {new_total} > {setting}.")
                    };
                    format!(
                        "Reserve at least {new_total} huge pages of {kb} kB in all. {fix} When memory is fragmented \
                         the kernel may find fewer; reserve them at boot (kernel parameters hugepagesz={kb}K \
                         hugepages={new_total}). Or set huge_pages = try, which falls back to normal pages."
                    )
                }
                _ => {
                    detail.push_str(" (The pool's counts could not be read.)");
                    format!(
                        "Reserve {request_pages} huge pages of {kb} kB with {setting}, or set huge_pages = try, \
                         which falls back to normal pages."
                    )
                }
            };
            (detail, Some(hint))
        }
        Exceeded::SemSpace {
            per_set,
            wanted_sets,
            used_sets,
            used_sems,
            current,
        } => {
            let need_sets = used_sets.saturating_add(*wanted_sets);
            let need_sems = used_sems.saturating_add(wanted_sets.saturating_mul(*per_set));
            let mut short = Vec::new();
            if need_sets > current.semmni {
                short.push(format!(
                    "SEMMNI (semaphore sets, the fourth value of kernel.sem) is {} and {used_sets} sets are in use",
                    current.semmni
                ));
            }
            if need_sems > current.semmns {
                short.push(format!(
                    "SEMMNS (semaphores in all, the second value of kernel.sem) is {} and {used_sems} semaphores \
                     are in use",
                    current.semmns
                ));
            }
            if short.is_empty() {
                short.push(format!(
                    "kernel.sem is \"{}\" with {used_sets} sets and {used_sems} semaphores in use, which leaves \
                     room now; another program may have released what it held",
                    current.sysctl_value()
                ));
            }
            let new = SemLimits {
                semmsl: current.semmsl.max(*per_set),
                semmns: current.semmns.max(need_sems),
                semopm: current.semopm,
                semmni: current.semmni.max(need_sets),
            };
            let pairs = [("kernel.sem", new.sysctl_value())];
            (
                format!(
                    "This configuration needs {wanted_sets} semaphore sets of {per_set} ({} semaphores); {}.",
                    wanted_sets.saturating_mul(*per_set),
                    short.join("; ")
                ),
                Some(format!(
                    "This does not mean that the disk is full. Raise kernel.sem (SEMMSL SEMMNS SEMOPM SEMMNI) from \
                     \"{}\" to \"{}\". {} {} Or remove leftover semaphore sets of programs that are gone (\"tusk \
                     ipc\" and \"ipcs -s\" list them).",
                    current.sysctl_value(),
                    new.sysctl_value(),
                    sysctl_fix(&pairs),
                    container_note(&pairs)
                )),
            )
        }
        Exceeded::SemMsl { nsems, current } => match current {
            Some(c) => {
                let new = SemLimits {
                    semmsl: *nsems,
                    ..*c
                };
                let pairs = [("kernel.sem", new.sysctl_value())];
                (
                    format!(
                        "A set of {nsems} semaphores is larger than SEMMSL (semaphores per set, the first value of \
                         kernel.sem), now {}.",
                        c.semmsl
                    ),
                    Some(format!(
                        "Raise SEMMSL to at least {nsems}: kernel.sem (SEMMSL SEMMNS SEMOPM SEMMNI) from \"{}\" to \
                         \"{}\". {} {} No setting of tusk makes its sets smaller.",
                        c.sysctl_value(),
                        new.sysctl_value(),
                        sysctl_fix(&pairs),
                        container_note(&pairs)
                    )),
                )
            }
            None => (
                format!(
                    "A set of {nsems} semaphores is probably larger than SEMMSL (the first value of kernel.sem), \
                     which could not be read."
                ),
                Some(format!(
                    "Raise the first value of kernel.sem (SEMMSL SEMMNS SEMOPM SEMMNI) to at least {nsems} with \
                     \"sysctl -w kernel.sem=...\" and in {SYSCTL_D_FILE}."
                )),
            ),
        },
        Exceeded::SemVmx { value, limit } => (
            format!(
                "The kernel refused the value {value} as larger than its SEMVMX, the largest semaphore value \
                 (Linux's is the constant {limit})."
            ),
            Some(format!(
                "SEMVMX must be at least {value}. On Linux it cannot be changed, so there the refusal comes from \
                 a layer between tusk and the kernel (an emulation, a seccomp filter). On Solaris and illumos set \
                 semsys:seminfo_semvmx={value} or more in /etc/system and reboot; on other systems SEMVMX is a \
                 kernel option (rebuild and reboot)."
            )),
        ),
        Exceeded::NoSysV { call } => (
            format!("The kernel does not provide {call}: it has no System V IPC, or a filter forbids the call."),
            Some(
                "tusk cannot run without System V shared memory and semaphores. Use a kernel built with \
                 CONFIG_SYSVIPC=y; in a container, allow the System V IPC calls in its seccomp profile; on FreeBSD \
                 in a jail, allow them (allow.sysvipc)."
                    .to_string(),
            ),
        ),
        Exceeded::Unknown { why } => (why.clone(), fallback_hint.map(str::to_string)),
    }
}

fn explain_memory(
    request: u64,
    budget: &MemoryBudget,
    oc: &Overcommit,
    mem: &MemInfo,
    address_space: Option<u64>,
) -> (String, Option<String>) {
    if let Some(a) = address_space.filter(|&a| request > a) {
        return (
            format!(
                "The request of {} is larger than what this process's address space limit (RLIMIT_AS) leaves \
                 free, {}.",
                fmt_bytes(request),
                fmt_bytes(a)
            ),
            Some(
                "Raise the limit before starting the server: \"ulimit -v unlimited\" in the shell that starts it, \
                 LimitAS=infinity in its systemd unit."
                    .to_string(),
            ),
        );
    }
    let mode = oc
        .mode
        .map(|m| m.to_string())
        .unwrap_or_else(|| "unknown".into());
    match (oc.mode, budget) {
        (Some(2), MemoryBudget::Limited { bytes, rule }) => {
            // CommitLimit = swap + ratio% of RAM: the ratio that makes room.
            let ratio = match (mem.mem_total, mem.swap_total, mem.committed_as) {
                (Some(ram), Some(swap), Some(used)) if ram > 0 => {
                    let want = used.saturating_add(request).saturating_sub(swap);
                    Some(want.saturating_mul(100).div_ceil(ram))
                }
                _ => None,
            };
            let fix = match ratio {
                Some(r) if r <= 100 => format!(
                    " Raise vm.overcommit_ratio (now {}) to at least {r}: {}",
                    opt(oc.ratio),
                    sysctl_fix(&[("vm.overcommit_ratio", r.to_string())])
                ),
                _ => " Even all of RAM would not be enough: add swap or memory.".to_string(),
            };
            (
                format!(
                    "The request of {} is more than the memory the kernel can still promise, {}: {rule}.",
                    fmt_bytes(request),
                    fmt_bytes(*bytes)
                ),
                Some(format!(
                    "Add swap or memory, or let the kernel promise more.{fix} Or reduce tusk's shared memory."
                )),
            )
        }
        (_, MemoryBudget::Limited { bytes, rule }) => (
            format!(
                "The request of {} is more than the kernel grants one request, {}: {rule}.",
                fmt_bytes(request),
                fmt_bytes(*bytes)
            ),
            Some(
                "Add memory or swap, or reduce tusk's shared memory (vm.overcommit_memory = 1 would let the kernel \
                 promise memory it does not have, and the OOM killer would collect later)."
                    .to_string(),
            ),
        ),
        (Some(1), _) => (
            format!(
                "The kernel could not provide {} although vm.overcommit_memory = 1 never refuses for lack of \
                 memory: a memory cgroup limit or kernel memory shortage is more likely.",
                fmt_bytes(request)
            ),
            Some("Check the memory limit of the server's cgroup (\"tusk check\" shows it).".to_string()),
        ),
        _ => (
            format!(
                "The kernel could not provide {} (vm.overcommit_memory = {mode}; /proc/meminfo could not be read).",
                fmt_bytes(request)
            ),
            Some("Add memory or swap, or reduce tusk's shared memory.".to_string()),
        ),
    }
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
            assert_eq!(info.shmmni, mni);
        }
        if let (Some(info), Some(msl)) = (sem_ipc_info(), l.semmsl) {
            assert_eq!(info.semmsl as u64, msl);
        }
    }

    fn view(limits: KernelLimits, usage: IpcUsage) -> KernelView {
        KernelView {
            limits,
            usage: Some(usage),
            mem: parse_meminfo(
                "MemTotal: 1048576 kB\nSwapTotal: 0 kB\nCommitLimit: 524288 kB\nCommitted_AS: 262144 kB\n\
                 HugePages_Total: 10\nHugePages_Free: 8\nHugePages_Rsvd: 2\nHugepagesize: 2048 kB\n",
            ),
            overcommit: Overcommit {
                mode: Some(0),
                ratio: Some(50),
                kbytes: Some(0),
            },
            address_space: None,
        }
    }

    fn linux_defaults() -> KernelLimits {
        KernelLimits {
            shmmax: Some(33_554_432),
            shmall: Some(2_097_152),
            shmmni: Some(4096),
            shmmin: 1,
            semmsl: Some(32000),
            semmns: Some(1_024_000_000),
            semopm: Some(500),
            semmni: Some(32000),
            semvmx: 32767,
            page_size: 4096,
            huge_page_size: Some(2 << 20),
        }
    }

    #[test]
    fn meminfo_fields() {
        let m = parse_meminfo(
            "MemTotal:       16318412 kB\nHugePages_Total:       3\nHugepagesize:       2048 kB\n",
        );
        assert_eq!(m.mem_total, Some(16_318_412 * 1024));
        assert_eq!(m.huge_pages_total, Some(3));
        assert_eq!(m.huge_page_size, Some(2 << 20));
        assert_eq!(m.swap_total, None);
    }

    #[test]
    fn shmmax_is_named_with_its_value_and_the_command() {
        let v = view(linux_defaults(), IpcUsage::default());
        let ex = diagnose_shmget(libc::EINVAL, 149_520_384, &v);
        assert_eq!(
            ex,
            Exceeded::ShmMax {
                request: 149_520_384,
                limit: 33_554_432
            }
        );
        assert_eq!(ex.budget(), Some(Budget::SegmentBytes(33_554_432)));
        let (detail, hint) = explain(&ex, None);
        assert!(
            detail.contains("149520384 bytes")
                && detail.contains("kernel.shmmax")
                && detail.contains("33554432"),
            "{detail}"
        );
        let hint = hint.unwrap();
        assert!(hint.contains("sysctl -w kernel.shmmax=149520384"), "{hint}");
        assert!(
            hint.contains(&format!("\"kernel.shmmax = 149520384\" in {SYSCTL_D_FILE}")),
            "{hint}"
        );
        // Below SHMMIN: both limits are named.
        let ex = diagnose_shmget(libc::EINVAL, 0, &v);
        assert!(matches!(ex, Exceeded::ShmMin { .. }));
        let (detail, _) = explain(&ex, None);
        assert!(
            detail.contains("SHMMIN") && detail.contains("SHMMAX"),
            "{detail}"
        );
    }

    #[test]
    fn enospc_tells_shmmni_from_shmall() {
        let mut l = linux_defaults();
        l.shmmni = Some(3);
        let full = IpcUsage {
            segments: 3,
            shm_bytes: 3 * 4096,
            shm_pages: 3,
            ..Default::default()
        };
        let ex = diagnose_shmget(libc::ENOSPC, 1 << 20, &view(l.clone(), full));
        assert_eq!(ex, Exceeded::ShmMni { used: 3, limit: 3 });
        assert_eq!(ex.budget(), None, "no smaller request helps");
        let hint = explain(&ex, None).1.unwrap();
        assert!(hint.contains("sysctl -w kernel.shmmni=4"), "{hint}");

        l.shmmni = Some(4096);
        l.shmall = Some(1000);
        let used = IpcUsage {
            segments: 1,
            shm_bytes: 400 * 4096,
            shm_pages: 400,
            ..Default::default()
        };
        let ex = diagnose_shmget(libc::ENOSPC, 1000 * 4096, &view(l, used));
        assert_eq!(
            ex,
            Exceeded::ShmAll {
                request_pages: 1000,
                used_pages: 400,
                limit_pages: 1000,
                page_size: 4096
            }
        );
        assert_eq!(
            ex.budget(),
            Some(Budget::SegmentPages {
                pages: 600,
                page_size: 4096
            })
        );
        let (detail, hint) = explain(&ex, None);
        assert!(
            detail.contains("1000 pages of 4096 bytes") && detail.contains("400"),
            "{detail}"
        );
        assert!(hint.unwrap().contains("sysctl -w kernel.shmall=1400"));
    }

    #[test]
    fn enomem_is_memory_accounting_with_the_overcommit_rule() {
        let v = view(linux_defaults(), IpcUsage::default());
        let ex = diagnose_shmget(libc::ENOMEM, 4 << 30, &v);
        assert!(
            matches!(ex, Exceeded::Memory { request, .. } if request == 4 << 30),
            "{ex:?}"
        );
        assert_eq!(
            ex.budget(),
            Some(Budget::MemoryBytes(1 << 30)),
            "mode 0: RAM + swap"
        );
        let (detail, _) = explain(&ex, None);
        assert!(detail.contains("vm.overcommit_memory = 0"), "{detail}");

        let mut v2 = v.clone();
        v2.overcommit.mode = Some(2);
        let ex = diagnose_mmap(libc::ENOMEM, 512 << 20, None, &v2);
        // CommitLimit 512 MB - Committed_AS 256 MB.
        assert_eq!(ex.budget(), Some(Budget::MemoryBytes(256 << 20)));
        let hint = explain(&ex, None).1.unwrap();
        // (256 MB committed + 512 MB asked - 0 swap) / 1 GB RAM = 75%.
        assert!(hint.contains("sysctl -w vm.overcommit_ratio=75"), "{hint}");

        let mut v3 = v;
        v3.address_space = Some(1 << 30);
        let ex = diagnose_mmap(libc::ENOMEM, 2 << 30, None, &v3);
        let (detail, hint) = explain(&ex, None);
        assert!(detail.contains("RLIMIT_AS"), "{detail}");
        assert!(hint.unwrap().contains("ulimit -v"));
        // What fits leaves room for the process's own memory.
        assert_eq!(
            ex.budget(),
            Some(Budget::MemoryBytes((1 << 30) - PROCESS_HEADROOM))
        );
    }

    #[test]
    fn huge_pages_count_what_is_missing() {
        let v = view(linux_defaults(), IpcUsage::default());
        let ex = diagnose_mmap(libc::ENOMEM, 20 << 21, Some(2 << 20), &v);
        let Exceeded::HugePages {
            request_pages,
            pool,
            ..
        } = &ex
        else {
            panic!("{ex:?}")
        };
        assert_eq!(*request_pages, 20);
        assert_eq!(pool.available(), Some(6));
        assert_eq!(
            ex.budget(),
            Some(Budget::HugePages {
                pages: 6,
                page_size: 2 << 20
            })
        );
        let (detail, hint) = explain(&ex, None);
        assert!(
            detail.contains("20 huge pages of 2048 kB") && detail.contains("10 pages, 8 free, 2"),
            "{detail}"
        );
        // 10 in the pool, 6 usable, 20 wanted: 24 in all.
        assert!(hint.unwrap().contains("sysctl -w vm.nr_hugepages=24"));
    }

    #[test]
    fn semaphore_limits_get_all_four_new_values() {
        let mut l = linux_defaults();
        l.semmni = Some(3);
        let others = IpcUsage {
            sem_sets: 1,
            semaphores: 5,
            ..Default::default()
        };
        let ex = diagnose_semget(libc::ENOSPC, 17, 7, &view(l.clone(), others));
        assert_eq!(ex.budget(), Some(Budget::SemSets(2)));
        let (detail, hint) = explain(&ex, None);
        assert!(
            detail.contains("7 semaphore sets of 17 (119 semaphores)") && detail.contains("SEMMNI"),
            "{detail}"
        );
        assert!(!detail.contains("SEMMNS (semaphores in all"), "{detail}");
        assert!(hint
            .unwrap()
            .contains("sysctl -w kernel.sem=\"32000 1024000000 500 8\""));

        let mut l = linux_defaults();
        l.semmns = Some(60);
        let ex = diagnose_semget(libc::ENOSPC, 17, 7, &view(l, IpcUsage::default()));
        assert_eq!(ex.budget(), Some(Budget::SemSets(3)));
        let (detail, hint) = explain(&ex, None);
        assert!(
            detail.contains("SEMMNS") && detail.contains(" is 60 "),
            "{detail}"
        );
        let hint = hint.unwrap();
        assert!(
            hint.contains("from \"32000 60 500 32000\" to \"32000 119 500 32000\""),
            "{hint}"
        );
        assert!(hint.contains("kernel.sem = 32000 119 500 32000"), "{hint}");

        let mut l = linux_defaults();
        l.semmsl = Some(10);
        let ex = diagnose_semget(libc::EINVAL, 17, 7, &view(l, IpcUsage::default()));
        assert!(matches!(ex, Exceeded::SemMsl { nsems: 17, .. }));
        assert!(explain(&ex, None)
            .1
            .unwrap()
            .contains("kernel.sem=\"17 1024000000 500 32000\""));

        let ex = diagnose_setval(
            libc::ERANGE,
            8874,
            &view(linux_defaults(), IpcUsage::default()),
        );
        assert_eq!(
            ex,
            Exceeded::SemVmx {
                value: 8874,
                limit: 32767
            }
        );
        assert!(explain(&ex, None).0.contains("SEMVMX"));
    }

    #[test]
    fn enosys_and_unknown() {
        let v = view(linux_defaults(), IpcUsage::default());
        let ex = diagnose_shmget(libc::ENOSYS, 1 << 20, &v);
        assert_eq!(ex, Exceeded::NoSysV { call: "shmget" });
        assert!(explain(&ex, None).1.unwrap().contains("CONFIG_SYSVIPC"));
        // An errno that is no limit keeps the caller's generic hint.
        let ex = diagnose_shmget(libc::EPERM, 1 << 20, &v);
        assert_eq!(explain(&ex, Some("generic")).1.as_deref(), Some("generic"));
    }

    #[test]
    fn byte_counts_are_exact_then_readable() {
        assert_eq!(fmt_bytes(512), "512 bytes");
        assert_eq!(fmt_bytes(33_554_432), "33554432 bytes (32 MB)");
        assert_eq!(fmt_bytes(149_520_384), "149520384 bytes (about 143 MB)");
    }
}
