//! Everything a configuration will ask the system for, and tusk's own
//! Table 16.2 (shared memory per setting).
//!
//! Why one function: [`needs`] is built on [`crate::shmem::layout_for`],
//! the very call [`crate::shmem::Shared::create`] sizes the segment with,
//! so `tusk check`, `tusk server -C`, the start-up line and the kernel
//! request cannot disagree. Variants of a configuration (the largest
//! shared_buffers that would fit, the memory table's second points) go
//! through [`needs_for`], which is the same `Layout::compute` with the
//! same header size.
//!
//! Why the memory table is evaluated, never written: the per-setting costs
//! are the differences between two layouts that differ in one setting, so
//! they follow the layout whenever an area changes size. The layout is
//! exactly linear in its driving quantities (connections, prepared
//! transactions, their products with max_locks_per_transaction, buffers,
//! WAL buffers, commit-status pages), so the sum of the table's rows is
//! exact; only alignment padding (areas start on 64- or 4096-byte
//! boundaries, the total is whole 8 kB blocks) comes on top, and its bound
//! is computed from the same alignments.

use tusk_common::PgError;
use tusk_config::keys::{
    IntKey, HUGE_PAGES, HUGE_PAGE_SIZE, MAINTENANCE_WORK_MEM, MAX_FILES_PER_PROCESS,
    POSTMASTER_OOM_SCORE_ADJ, SHARED_MEMORY_TYPE, SUPERUSER_RESERVED_CONNECTIONS, WAL_BUFFERS,
    WORK_MEM,
};
use tusk_config::Settings;
use tusk_ipc::header::HEADER_SIZE;
use tusk_ipc::sem::{SEMAS_PER_SET, TUSK_SEMA_MAGIC};
use tusk_storage::layout::{
    resolve_wal_buffers, AreaId, Layout, Sizing, BLCKSZ, NUM_AUXILIARY_PROCS,
};

/// Files PostgreSQL keeps free for system(), dlopen and the like
/// (fd.c NUM_RESERVED_FDS).
pub const NUM_RESERVED_FDS: usize = 10;

/// Fewest files a server process must be able to open besides the
/// reserve (fd.c FD_MINFREE, PostgreSQL 13+).
pub const FD_MINFREE: usize = 48;

/// stdin, stdout, stderr: open in every process before anything else.
pub const STDIO_FDS: usize = 3;

/// The huge page size PostgreSQL assumes when /proc/meminfo says none.
pub const DEFAULT_HUGE_PAGE_SIZE: u64 = 2 * 1024 * 1024;

/// How shared memory is made (`shared_memory_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryKind {
    /// All of it one System V segment.
    Sysv,
    /// A System V header segment plus an anonymous shared mapping.
    Mmap,
}

/// `huge_pages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HugePagesMode {
    Off,
    Try,
    On,
}

impl HugePagesMode {
    pub fn as_str(self) -> &'static str {
        match self {
            HugePagesMode::Off => "off",
            HugePagesMode::Try => "try",
            HugePagesMode::On => "on",
        }
    }
}

/// The settings that decide what the server asks for, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub sizing: Sizing,
    /// `wal_buffers = -1`: follows shared_buffers when a variant changes it.
    pub wal_auto: bool,
    pub kind: MemoryKind,
    pub huge_pages: HugePagesMode,
    /// Bytes: `huge_page_size`, or the system's default huge page size.
    pub huge_page_size: u64,
    pub max_files_per_process: usize,
    pub superuser_reserved_connections: usize,
    /// Bytes, for the memory a configuration may use besides shared memory.
    pub work_mem: u64,
    pub maintenance_work_mem: u64,
    pub postmaster_oom_score_adj: i64,
}

fn setting_usize(s: &Settings, key: IntKey) -> usize {
    usize::try_from(s.get(key)).unwrap_or(0)
}

impl Plan {
    pub fn from_settings(s: &Settings) -> Plan {
        let kind = if s.get(SHARED_MEMORY_TYPE) == "mmap" {
            MemoryKind::Mmap
        } else {
            MemoryKind::Sysv
        };
        let huge_pages = match s.get(HUGE_PAGES) {
            "on" => HugePagesMode::On,
            "off" => HugePagesMode::Off,
            _ => HugePagesMode::Try,
        };
        let kb = |key: IntKey| u64::try_from(s.get(key)).unwrap_or(0).saturating_mul(1024);
        let huge_page_size = match kb(HUGE_PAGE_SIZE) {
            0 => tusk_ipc::limits::huge_page_size().unwrap_or(DEFAULT_HUGE_PAGE_SIZE),
            n => n,
        };
        Plan {
            sizing: Sizing::from_settings(s),
            wal_auto: s.get(WAL_BUFFERS) <= 0,
            kind,
            huge_pages,
            huge_page_size,
            max_files_per_process: setting_usize(s, MAX_FILES_PER_PROCESS),
            superuser_reserved_connections: setting_usize(s, SUPERUSER_RESERVED_CONNECTIONS),
            work_mem: kb(WORK_MEM),
            maintenance_work_mem: kb(MAINTENANCE_WORK_MEM),
            postmaster_oom_score_adj: s.get(POSTMASTER_OOM_SCORE_ADJ),
        }
    }

    /// The same plan with another shared_buffers (WAL buffers follow when
    /// they are automatic).
    pub fn with_shared_buffers(mut self, n: usize) -> Plan {
        self.sizing.shared_buffers = n;
        if self.wal_auto {
            self.sizing.wal_buffers = resolve_wal_buffers(-1, n);
        }
        self
    }

    pub fn with_max_connections(mut self, n: usize) -> Plan {
        self.sizing.max_connections = n;
        self
    }

    /// The smallest max_connections the server accepts: one more than the
    /// superuser-reserved slots.
    pub fn min_max_connections(&self) -> usize {
        self.superuser_reserved_connections + 1
    }
}

/// Huge pages a configuration asks for (shared_memory_type = mmap with
/// huge_pages = on or try).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HugePageNeed {
    pub page_size: u64,
    pub pages: u64,
    /// `huge_pages = on`: the server refuses to start without them.
    pub required: bool,
}

/// What a configuration will ask the system for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needs {
    pub plan: Plan,
    /// The region, as the server places it.
    pub layout: Layout,
    /// Bytes of shared memory in all: the layout's total.
    pub shared_memory_bytes: u64,
    /// Bytes of the System V segment: the whole region (sysv) or its header
    /// (mmap).
    pub segment_bytes: u64,
    /// Bytes of the anonymous mapping (mmap): the region, rounded up to
    /// whole huge pages when they are used.
    pub mapping_bytes: Option<u64>,
    /// Semaphore sets, each of `semaphores_per_set` kernel semaphores.
    pub sem_sets: u64,
    /// Semaphores the server uses (one per process that can wait).
    pub semaphores: u64,
    /// Kernel semaphores, markers included: `sem_sets × semaphores_per_set`.
    pub kernel_semaphores: u64,
    /// Usable semaphores per set plus the marker (SEMMSL must allow it).
    pub semaphores_per_set: u64,
    /// The largest value tusk sets a semaphore to (SEMVMX must allow it).
    pub largest_semaphore_value: u64,
    /// Processes at the most: connections, auxiliary processes, postmaster.
    pub processes: u64,
    /// Files each process may open (max_files_per_process).
    pub files_per_process: u64,
    /// The fewest files a process must be able to open to start.
    pub min_files_per_process: u64,
    /// All processes at max_files_per_process each.
    pub files_total: u64,
    pub huge_pages: Option<HugePageNeed>,
    /// Shared memory plus work_mem for every connection plus one
    /// maintenance_work_mem: PostgreSQL operators' rule for the memory a
    /// configuration may use.
    pub memory_may_use: u64,
}

/// What this configuration asks for: the one sizing function. An error
/// when the sizes overflow (see [`crate::shmem::layout_for`]).
pub fn needs(settings: &Settings) -> Result<Needs, PgError> {
    let plan = Plan::from_settings(settings);
    let (_, layout) = crate::shmem::layout_for(settings)?;
    Ok(needs_with_layout(plan, layout))
}

/// The same for a variant of a configuration.
pub fn needs_for(plan: &Plan) -> Result<Needs, PgError> {
    let layout = Layout::compute(&plan.sizing, HEADER_SIZE).map_err(crate::shmem::size_error)?;
    Ok(needs_with_layout(*plan, layout))
}

fn needs_with_layout(plan: Plan, layout: Layout) -> Needs {
    let z = &plan.sizing;
    let total = layout.total as u64;
    let huge_pages =
        (plan.kind == MemoryKind::Mmap && plan.huge_pages != HugePagesMode::Off).then(|| {
            HugePageNeed {
                page_size: plan.huge_page_size,
                pages: total.div_ceil(plan.huge_page_size.max(1)),
                required: plan.huge_pages == HugePagesMode::On,
            }
        });
    let mapping_bytes = match plan.kind {
        MemoryKind::Sysv => None,
        MemoryKind::Mmap => Some(match huge_pages {
            Some(h) if h.required => h.pages * h.page_size,
            _ => total,
        }),
    };
    let semaphores = z.semaphores() as u64;
    let sem_sets = tusk_ipc::limits::sem_sets_needed(z.semaphores()) as u64;
    let per_set = (SEMAS_PER_SET + 1) as u64;
    let processes = (z.max_connections + NUM_AUXILIARY_PROCS + 1) as u64;
    let files_per_process = plan.max_files_per_process as u64;
    let memory_may_use = total
        .saturating_add((z.max_connections as u64).saturating_mul(plan.work_mem))
        .saturating_add(plan.maintenance_work_mem);
    Needs {
        plan,
        segment_bytes: match plan.kind {
            MemoryKind::Sysv => total,
            MemoryKind::Mmap => HEADER_SIZE as u64,
        },
        shared_memory_bytes: total,
        layout,
        mapping_bytes,
        sem_sets,
        semaphores,
        kernel_semaphores: sem_sets * per_set,
        semaphores_per_set: per_set,
        largest_semaphore_value: TUSK_SEMA_MAGIC as u64,
        processes,
        files_per_process,
        min_files_per_process: (FD_MINFREE + NUM_RESERVED_FDS + STDIO_FDS) as u64,
        files_total: processes.saturating_mul(files_per_process),
        huge_pages,
        memory_may_use,
    }
}

/// The largest value in `lo..=hi` for which `fits` holds, assuming it
/// holds for all smaller values once it holds for one (sizes only grow
/// with settings). `None` when not even `lo` fits.
fn largest(lo: usize, hi: usize, fits: impl Fn(usize) -> bool) -> Option<usize> {
    if hi < lo || !fits(lo) {
        return None;
    }
    if fits(hi) {
        return Some(hi);
    }
    // fits(good) holds, fits(bad) does not.
    let (mut good, mut bad) = (lo, hi);
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if fits(mid) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Some(good)
}

/// The largest shared_buffers (8 kB pages, at least 16) up to the
/// configured one with which `fits` holds, other settings unchanged.
pub fn largest_shared_buffers(plan: &Plan, fits: impl Fn(&Needs) -> bool) -> Option<usize> {
    largest(16, plan.sizing.shared_buffers, |n| {
        needs_for(&plan.with_shared_buffers(n)).is_ok_and(|n| fits(&n))
    })
}

/// The largest max_connections up to the configured one with which `fits`
/// holds, other settings unchanged.
pub fn largest_max_connections(plan: &Plan, fits: impl Fn(&Needs) -> bool) -> Option<usize> {
    largest(
        plan.min_max_connections(),
        plan.sizing.max_connections,
        |n| needs_for(&plan.with_max_connections(n)).is_ok_and(|n| fits(&n)),
    )
}

/// shared_buffers as an operator writes it: whole MB when it is at least
/// 1 MB (rounded down, so a suggested value stays within what fits), else kB.
pub fn shared_buffers_text(pages: usize) -> String {
    let kb = pages as u64 * (BLCKSZ as u64 / 1024);
    if kb >= 1024 {
        format!("{}MB", kb / 1024)
    } else {
        format!("{kb}kB")
    }
}

/// shared_buffers in pages from [`shared_buffers_text`]'s rounding: the
/// value a server given that text would use.
pub fn shared_buffers_rounded(pages: usize) -> usize {
    let per_mb = 1024 * 1024 / BLCKSZ;
    if pages >= per_mb {
        pages / per_mb * per_mb
    } else {
        pages
    }
}

// ---------------------------------------------------------------------
// Table 16.2
// ---------------------------------------------------------------------

/// A quantity that follows shared_buffers in steps: `clamp(shared_buffers
/// / per, min, max)`, found by evaluating the function that sizes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepRule {
    pub per: usize,
    pub min: usize,
    pub max: usize,
}

impl StepRule {
    pub fn apply(&self, shared_buffers: usize) -> usize {
        (shared_buffers / self.per.max(1)).clamp(self.min, self.max)
    }

    /// Finds the rule of `f` over shared_buffers in `lo..=hi`, checking it
    /// at the points that decide it. `None` if `f` has another shape.
    fn derive(f: impl Fn(usize) -> usize, lo: usize, hi: usize) -> Option<StepRule> {
        let (min, max) = (f(lo), f(hi));
        if max <= min {
            return None;
        }
        // The first shared_buffers at which f leaves its minimum.
        let last_min = largest(lo, hi, |n| f(n) <= min)?;
        let first = last_min + 1;
        if first % (min + 1) != 0 {
            return None;
        }
        let rule = StepRule {
            per: first / (min + 1),
            min,
            max,
        };
        let checks = [
            lo,
            first,
            first + rule.per - 1,
            rule.per * max,
            rule.per * max + rule.per,
            hi,
        ];
        checks
            .iter()
            .filter(|&&n| n >= lo && n <= hi)
            .all(|&n| f(n) == rule.apply(n))
            .then_some(rule)
    }
}

/// One row: the bytes one more unit of a setting costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    pub setting: &'static str,
    /// The setting's value (resolved: automatic WAL buffers, commit-status
    /// pages).
    pub value: u64,
    /// Bytes per increment at this configuration.
    pub per_increment: u64,
    /// For the connection and prepared-transaction rows: `per_increment =
    /// base + per_lock × max_locks_per_transaction`.
    pub base: Option<u64>,
    pub per_lock: Option<u64>,
    /// `per_increment × value`; `None` for max_locks_per_transaction, whose
    /// bytes are inside the two rows above it.
    pub bytes: Option<u64>,
    /// How the value follows shared_buffers, when it does.
    pub rule: Option<StepRule>,
}

/// tusk's Table 16.2 for one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryTable {
    pub rows: Vec<TableRow>,
    /// Header, control area, auxiliary proc slots, WAL state: what no
    /// setting changes.
    pub fixed: u64,
    /// `fixed` plus every row's bytes: the areas without padding.
    pub sum: u64,
    /// The most alignment padding a layout can add to `sum`.
    pub max_padding: u64,
    /// The segment size for this configuration (`shared_memory_size_bytes`).
    pub total: u64,
}

impl MemoryTable {
    pub fn row(&self, setting: &str) -> Option<&TableRow> {
        self.rows.iter().find(|r| r.setting == setting)
    }
}

/// The region's bytes without alignment padding: the header and every
/// area's size. A neighbouring configuration whose size overflows counts
/// as unbounded (u64::MAX), so its cost shows as absurd, never wrapped.
fn unpadded(z: &Sizing) -> u64 {
    match Layout::compute(z, HEADER_SIZE) {
        Ok(l) => (l.header_size + l.areas.iter().map(|a| a.size).sum::<usize>()) as u64,
        Err(_) => u64::MAX,
    }
}

fn area_size(z: &Sizing, id: AreaId) -> usize {
    tusk_storage::layout::spec(id)
        .size_for(z)
        .unwrap_or(usize::MAX)
}

/// The cost of one more of something: `f(z)` changes one setting by one.
fn cost(z: &Sizing, f: impl Fn(&mut Sizing)) -> u64 {
    let mut more = *z;
    f(&mut more);
    unpadded(&more).saturating_sub(unpadded(z))
}

/// Evaluates the layout around `plan` and builds the table.
pub fn memory_table(plan: &Plan) -> MemoryTable {
    let z = plan.sizing;
    let locks = z.max_locks_per_transaction;
    let with_locks = |n: usize| Sizing {
        max_locks_per_transaction: n,
        ..z
    };
    // A connection and a prepared transaction cost a base plus a lock-table
    // share per max_locks_per_transaction: two lock counts give both parts.
    let split = |f: &dyn Fn(&mut Sizing)| {
        let at = cost(&with_locks(locks), f);
        let next = cost(&with_locks(locks + 1), f);
        let per_lock = next.saturating_sub(at);
        (at, at.saturating_sub(per_lock * locks as u64), per_lock)
    };
    let (conn, conn_base, conn_lock) = split(&|s: &mut Sizing| s.max_connections += 1);
    let (prep, prep_base, prep_lock) = split(&|s: &mut Sizing| s.max_prepared_transactions += 1);
    let lock = cost(&z, |s| s.max_locks_per_transaction += 1);

    // Buffers without the commit-status cache, which grows in steps and has
    // its own row: descriptors, pages and the mapping table (linear in
    // shared_buffers; its fixed part cancels out in the difference).
    let buffer_areas = |s: &Sizing| {
        (area_size(s, AreaId::BufferDescriptors)
            + area_size(s, AreaId::BufferPages)
            + area_size(s, AreaId::BufferMapping)) as u64
    };
    let buf = buffer_areas(&Sizing {
        shared_buffers: z.shared_buffers + 1,
        ..z
    }) - buffer_areas(&z);
    let wal = cost(&z, |s| s.wal_buffers += 1);
    let max_buffers = i32::MAX as usize / 2;
    // Each commit-status page costs its 8 kB and its group LSNs.
    let commit_pages = tusk_storage::clogbuffers::pages;
    let commit_rule = StepRule::derive(commit_pages, 16, max_buffers);
    let wal_rule = if plan.wal_auto {
        StepRule::derive(|sb| resolve_wal_buffers(-1, sb), 16, max_buffers)
    } else {
        None
    };
    let commit_now = commit_pages(z.shared_buffers) as u64;
    let commit_per_page = BLCKSZ as u64 + tusk_storage::clogbuffers::CLOG_LSNS_PER_PAGE * 8;

    let row = |setting, value: usize, per: u64, bytes: bool| TableRow {
        setting,
        value: value as u64,
        per_increment: per,
        base: None,
        per_lock: None,
        bytes: bytes.then(|| per * value as u64),
        rule: None,
    };
    let mut rows = vec![
        TableRow {
            base: Some(conn_base),
            per_lock: Some(conn_lock),
            ..row("max_connections", z.max_connections, conn, true)
        },
        TableRow {
            base: Some(prep_base),
            per_lock: Some(prep_lock),
            ..row(
                "max_prepared_transactions",
                z.max_prepared_transactions,
                prep,
                true,
            )
        },
        row("max_locks_per_transaction", locks, lock, false),
        row("shared_buffers", z.shared_buffers, buf, true),
        TableRow {
            rule: wal_rule,
            ..row("wal_buffers", z.wal_buffers, wal, true)
        },
    ];
    rows.push(TableRow {
        setting: "commit-status cache pages",
        value: commit_now,
        per_increment: commit_per_page,
        base: None,
        per_lock: None,
        bytes: Some(commit_now * commit_per_page),
        rule: commit_rule,
    });
    let variable: u64 = rows.iter().filter_map(|r| r.bytes).sum();
    let sum = unpadded(&z);
    let total = Layout::compute(&z, HEADER_SIZE).map_or(u64::MAX, |l| l.total as u64);
    let max_padding = tusk_storage::layout::AREAS
        .iter()
        .map(|a| (a.align as u64) - 1)
        .sum::<u64>()
        + (BLCKSZ as u64 - 1);
    MemoryTable {
        rows,
        fixed: sum.saturating_sub(variable),
        sum,
        max_padding,
        total,
    }
}

/// "1,234,567": digits grouped for tables.
pub fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The default settings but for `pairs`, set as on the command line: for
/// the tests here and in the neighbouring modules.
#[cfg(test)]
pub(crate) fn test_settings(pairs: &[(&str, &str)]) -> Settings {
    let mut s = Settings::defaults();
    for (n, v) in pairs {
        s.set(n, v, tusk_config::Source::CommandLine).unwrap();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_settings as settings;

    #[test]
    fn needs_uses_the_servers_layout() {
        let s = settings(&[("max_connections", "40"), ("shared_buffers", "1MB")]);
        let n = needs(&s).unwrap();
        assert_eq!(n.layout, crate::shmem::layout_for(&s).unwrap().1);
        assert_eq!(n.segment_bytes, n.layout.total as u64);
        assert_eq!(n.semaphores, 44);
        assert_eq!(n.sem_sets, 3);
        assert_eq!(n.kernel_semaphores, 51);
        assert_eq!(n.processes, 45);
        assert_eq!(n.files_total, 45 * 1000);
        assert_eq!(
            needs_for(&n.plan).unwrap(),
            n,
            "the variant path gives the same answer"
        );
        let m = needs(&settings(&[
            ("shared_memory_type", "mmap"),
            ("huge_pages", "on"),
        ]))
        .unwrap();
        assert_eq!(m.segment_bytes, HEADER_SIZE as u64);
        let hp = m.huge_pages.unwrap();
        assert!(hp.required && hp.pages * hp.page_size >= m.shared_memory_bytes);
        assert_eq!(m.mapping_bytes, Some(hp.pages * hp.page_size));
    }

    #[test]
    fn largest_is_the_boundary() {
        assert_eq!(largest(1, 100, |n| n <= 37), Some(37));
        assert_eq!(largest(1, 100, |n| n <= 100), Some(100));
        assert_eq!(largest(5, 100, |n| n < 5), None);
        assert_eq!(largest(5, 4, |_| true), None);
        let plan = Plan::from_settings(&settings(&[("shared_buffers", "128MB")]));
        let limit = 32 * 1024 * 1024;
        let sb = largest_shared_buffers(&plan, |n| n.segment_bytes <= limit).unwrap();
        assert!(
            needs_for(&plan.with_shared_buffers(sb))
                .unwrap()
                .segment_bytes
                <= limit
        );
        assert!(
            needs_for(&plan.with_shared_buffers(sb + 1))
                .unwrap()
                .segment_bytes
                > limit
        );
        let mc = largest_max_connections(&plan, |n| n.sem_sets <= 3).unwrap();
        assert_eq!(mc, 3 * 16 - NUM_AUXILIARY_PROCS);
    }

    #[test]
    fn step_rules_are_found_by_evaluation() {
        let wal = StepRule::derive(|sb| resolve_wal_buffers(-1, sb), 16, 1 << 29).unwrap();
        for sb in [16, 255, 256, 257, 4096, 65535, 65536, 1 << 20] {
            assert_eq!(wal.apply(sb), resolve_wal_buffers(-1, sb), "{sb}");
        }
        assert_eq!(StepRule::derive(|_| 7, 16, 1000), None);
    }

    #[test]
    fn table_rows_add_up_to_the_unpadded_region() {
        for pairs in [
            vec![],
            vec![
                ("max_connections", "7"),
                ("shared_buffers", "16"),
                ("max_locks_per_transaction", "10"),
            ],
            vec![
                ("max_prepared_transactions", "20"),
                ("wal_buffers", "100"),
                ("shared_buffers", "1GB"),
            ],
        ] {
            let plan = Plan::from_settings(&settings(&pairs));
            let t = memory_table(&plan);
            let rows: u64 = t.rows.iter().filter_map(|r| r.bytes).sum();
            assert_eq!(t.fixed + rows, t.sum);
            assert!(
                t.total >= t.sum && t.total <= t.sum + t.max_padding,
                "{t:?}"
            );
            let conn = t.row("max_connections").unwrap();
            assert_eq!(
                conn.base.unwrap()
                    + conn.per_lock.unwrap() * plan.sizing.max_locks_per_transaction as u64,
                conn.per_increment
            );
            // One more lock slot per transaction costs a lock-table entry per
            // connection and per prepared transaction.
            let lock = t.row("max_locks_per_transaction").unwrap();
            let prep = t.row("max_prepared_transactions").unwrap();
            assert_eq!(
                lock.per_increment,
                conn.per_lock.unwrap() * plan.sizing.max_connections as u64
                    + prep.per_lock.unwrap() * plan.sizing.max_prepared_transactions as u64
            );
        }
    }

    #[test]
    fn shared_buffers_text_rounds_down_to_what_fits() {
        assert_eq!(shared_buffers_text(16384), "128MB");
        assert_eq!(shared_buffers_text(16385), "128MB");
        assert_eq!(shared_buffers_rounded(16385), 16384);
        assert_eq!(shared_buffers_text(100), "800kB");
        assert_eq!(shared_buffers_rounded(100), 100);
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(grouped(12), "12");
    }
}
