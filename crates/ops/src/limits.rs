//! Comparing what a configuration needs with what the system allows, one
//! row per limit: `tusk check`'s table.
//!
//! Why a pure function of ([`Needs`], [`SystemLimits`]): the verdicts can
//! be tested against any system, and the same rows serve the text and the
//! JSON output. A row whose limit could not be read says "unknown" and
//! never blocks; a row that would stop the server from starting is a
//! failure; a row that lets it start but bites later (more connections
//! than processes allowed, RemoveIPC, overcommit) is a warning.

use tusk_ipc::limits::{fmt_bytes, memory_budget, pages_for, sysctl_fix, MemoryBudget, SemLimits};
use tusk_server::resources::sizing::{
    HugePagesMode, MemoryKind, Needs, FD_MINFREE, NUM_RESERVED_FDS,
};
use tusk_server::resources::system::{Amount, SystemLimits};

/// A row's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Warning,
    /// The server cannot start (or will be refused at once).
    Fail,
    /// The limit could not be read.
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::Fail => "fail",
            Verdict::Unknown => "unknown",
        }
    }
}

/// One limit beside the need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRow {
    /// What is limited, in words.
    pub resource: String,
    /// The kernel parameter or resource limit.
    pub parameter: String,
    pub needed: String,
    pub needed_value: Option<u64>,
    pub limit: String,
    pub limit_value: Option<u64>,
    pub verdict: Verdict,
    /// Why the verdict, in a sentence.
    pub why: String,
    /// What to do, when something should be done.
    pub fix: Option<String>,
}

struct Row {
    r: CheckRow,
}

fn row(resource: &str, parameter: &str) -> Row {
    Row {
        r: CheckRow {
            resource: resource.to_string(),
            parameter: parameter.to_string(),
            needed: String::new(),
            needed_value: None,
            limit: "unknown".to_string(),
            limit_value: None,
            verdict: Verdict::Unknown,
            why: String::new(),
            fix: None,
        },
    }
}

impl Row {
    fn need(mut self, text: impl Into<String>, value: Option<u64>) -> Row {
        self.r.needed = text.into();
        self.r.needed_value = value;
        self
    }

    fn limit(mut self, text: impl Into<String>, value: Option<u64>) -> Row {
        self.r.limit = text.into();
        self.r.limit_value = value;
        self
    }

    fn verdict(mut self, v: Verdict, why: impl Into<String>) -> Row {
        self.r.verdict = v;
        self.r.why = why.into();
        self
    }

    fn fix(mut self, fix: impl Into<String>) -> Row {
        self.r.fix = Some(fix.into());
        self
    }

    /// Ok when `fits`, `bad` otherwise, unknown when it cannot be told.
    fn judge(
        self,
        fits: Option<bool>,
        bad: Verdict,
        ok_why: &str,
        bad_why: impl Into<String>,
    ) -> Row {
        match fits {
            Some(true) => self.verdict(Verdict::Ok, ok_why),
            Some(false) => self.verdict(bad, bad_why),
            None => self.verdict(Verdict::Unknown, "The limit could not be read."),
        }
    }

    fn done(self) -> CheckRow {
        self.r
    }
}

/// What the kernel counts as in use minus the data directory's own proven
/// leftovers, which the server removes at start before it creates its own.
fn in_use(sys: &SystemLimits) -> Option<tusk_ipc::limits::IpcUsage> {
    let r = sys.reclaimable;
    sys.kernel.usage.map(|u| tusk_ipc::limits::IpcUsage {
        segments: u.segments.saturating_sub(r.segments),
        shm_bytes: u.shm_bytes.saturating_sub(r.shm_bytes),
        shm_pages: u.shm_pages.saturating_sub(r.shm_pages),
        sem_sets: u.sem_sets.saturating_sub(r.sem_sets),
        semaphores: u.semaphores.saturating_sub(r.semaphores),
    })
}

/// The "in use" part of a need, and the reclaimable leftovers beside it
/// when there are any: "3 in use + 1 reclaimable (a leftover of this data
/// directory, removed at start)".
fn in_use_text(used: Option<u64>, reclaimable: u64, unit: &str) -> String {
    let mut t = format!("{} in use", opt_text(used));
    if reclaimable > 0 {
        t.push_str(&format!(
            " + {reclaimable}{unit} reclaimable (left by a crashed server of this data directory; the server removes {} at start)",
            if reclaimable == 1 { "it" } else { "them" }
        ));
    }
    t
}

fn opt_text(v: Option<u64>) -> String {
    v.map(|n| n.to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Every row, in the order `tusk check` prints them.
pub fn evaluate(n: &Needs, sys: &SystemLimits) -> Vec<CheckRow> {
    let mut rows = Vec::new();
    shared_memory_rows(n, sys, &mut rows);
    semaphore_rows(n, sys, &mut rows);
    memory_rows(n, sys, &mut rows);
    file_rows(n, sys, &mut rows);
    process_rows(n, sys, &mut rows);
    rows.push(remove_ipc_row(sys));
    rows
}

/// Whether nothing in `rows` stops the server.
pub fn can_start(rows: &[CheckRow]) -> bool {
    rows.iter().all(|r| r.verdict != Verdict::Fail)
}

fn shared_memory_rows(n: &Needs, sys: &SystemLimits, rows: &mut Vec<CheckRow>) {
    let l = &sys.kernel.limits;
    let usage = in_use(sys);
    let rec = sys.reclaimable;
    let seg = n.segment_bytes;
    let what = match n.plan.kind {
        MemoryKind::Sysv => "the whole region (shared_memory_type = sysv)",
        MemoryKind::Mmap => "only the header (shared_memory_type = mmap)",
    };
    let shmmax = [("kernel.shmmax", seg.next_multiple_of(4096).to_string())];
    let mut r = row("System V segment size", "kernel.shmmax")
        .need(fmt_bytes(seg), Some(seg))
        .limit(opt_text(l.shmmax), l.shmmax)
        .judge(
            l.shmmax.map(|m| seg <= m),
            Verdict::Fail,
            &format!("The segment holds {what}."),
            format!("shmget will fail with \"Invalid argument\": the segment holds {what}."),
        );
    if r.r.verdict == Verdict::Fail {
        let alt = if n.plan.kind == MemoryKind::Sysv {
            " Or set shared_memory_type = mmap."
        } else {
            ""
        };
        r = r.fix(format!("{}{alt}", sysctl_fix(&shmmax)));
    }
    rows.push(r.done());

    let page = l.page_size;
    let pages = pages_for(seg, page);
    let used = usage.map(|u| u.shm_pages);
    let total = used.map(|u| u + pages);
    let mut r = row("System V shared memory, all segments", "kernel.shmall")
        .need(
            format!(
                "{pages} pages of {page} bytes + {}",
                in_use_text(used, rec.shm_pages, " pages")
            ),
            total,
        )
        .limit(format!("{} pages", opt_text(l.shmall)), l.shmall)
        .judge(
            total.zip(l.shmall).map(|(t, m)| t <= m),
            Verdict::Fail,
            "",
            "shmget will fail with \"No space left on device\".",
        );
    if r.r.verdict == Verdict::Fail {
        r = r.fix(sysctl_fix(&[("kernel.shmall", opt_text(total))]));
    }
    rows.push(r.done());

    let segs = usage.map(|u| u.segments + 1);
    let mut r = row("System V segments", "kernel.shmmni")
        .need(
            format!(
                "1 + {}",
                in_use_text(usage.map(|u| u.segments), rec.segments, "")
            ),
            segs,
        )
        .limit(opt_text(l.shmmni), l.shmmni)
        .judge(
            segs.zip(l.shmmni).map(|(s, m)| s <= m),
            Verdict::Fail,
            "",
            "shmget will fail with \"No space left on device\": every identifier is taken.",
        );
    if r.r.verdict == Verdict::Fail {
        r = r.fix(format!(
            "Remove leftover segments (\"tusk ipc\", \"ipcs -m\"), or: {}",
            sysctl_fix(&[("kernel.shmmni", opt_text(segs))])
        ));
    }
    rows.push(r.done());
}

fn semaphore_rows(n: &Needs, sys: &SystemLimits, rows: &mut Vec<CheckRow>) {
    let l = &sys.kernel.limits;
    let usage = in_use(sys);
    let rec = sys.reclaimable;
    let cur = SemLimits::from_limits(l);
    let sets = usage.map(|u| u.sem_sets + n.sem_sets);
    let sems = usage.map(|u| u.semaphores + n.kernel_semaphores);
    // One fix for all four values of kernel.sem.
    let fix = cur.map(|c| {
        let new = SemLimits {
            semmsl: c.semmsl.max(n.semaphores_per_set),
            semmns: c.semmns.max(sems.unwrap_or(0)),
            semopm: c.semopm.max(1),
            semmni: c.semmni.max(sets.unwrap_or(0)),
        };
        format!(
            "kernel.sem (SEMMSL SEMMNS SEMOPM SEMMNI) from \"{}\" to \"{}\": {}",
            c.sysctl_value(),
            new.sysctl_value(),
            sysctl_fix(&[("kernel.sem", new.sysctl_value())])
        )
    });
    let with_fix = |r: Row| {
        let failed = r.r.verdict == Verdict::Fail;
        match (&fix, failed) {
            (Some(f), true) => r.fix(f.clone()),
            _ => r,
        }
    };
    let semget_enospc = "semget will fail with \"No space left on device\".";
    rows.push(
        with_fix(
            row("semaphore sets", "SEMMNI (kernel.sem, 4th)")
                .need(
                    format!(
                        "{} sets + {}",
                        n.sem_sets,
                        in_use_text(usage.map(|u| u.sem_sets), rec.sem_sets, "")
                    ),
                    sets,
                )
                .limit(opt_text(l.semmni), l.semmni)
                .judge(
                    sets.zip(l.semmni).map(|(s, m)| s <= m),
                    Verdict::Fail,
                    &format!(
                        "One set per 16 of the {} processes that can wait.",
                        n.semaphores
                    ),
                    semget_enospc,
                ),
        )
        .done(),
    );
    rows.push(
        with_fix(
            row("semaphores, all sets", "SEMMNS (kernel.sem, 2nd)")
                .need(
                    format!(
                        "{} + {}",
                        n.kernel_semaphores,
                        in_use_text(usage.map(|u| u.semaphores), rec.semaphores, "")
                    ),
                    sems,
                )
                .limit(opt_text(l.semmns), l.semmns)
                .judge(
                    sems.zip(l.semmns).map(|(s, m)| s <= m),
                    Verdict::Fail,
                    "Each set is 16 semaphores and a marker.",
                    semget_enospc,
                ),
        )
        .done(),
    );
    rows.push(
        with_fix(
            row("semaphores per set", "SEMMSL (kernel.sem, 1st)")
                .need(n.semaphores_per_set.to_string(), Some(n.semaphores_per_set))
                .limit(opt_text(l.semmsl), l.semmsl)
                .judge(
                    l.semmsl.map(|m| n.semaphores_per_set <= m),
                    Verdict::Fail,
                    "",
                    "semget will fail with \"Invalid argument\".",
                ),
        )
        .done(),
    );
    rows.push(
        with_fix(
            row("operations per semop call", "SEMOPM (kernel.sem, 3rd)")
                .need("1", Some(1))
                .limit(opt_text(l.semopm), l.semopm)
                .judge(
                    l.semopm.map(|m| m >= 1),
                    Verdict::Fail,
                    "tusk changes one semaphore per call.",
                    "semop will fail with \"Argument list too long\".",
                ),
        )
        .done(),
    );
    rows.push(
        row("largest semaphore value", "SEMVMX")
            .need(
                n.largest_semaphore_value.to_string(),
                Some(n.largest_semaphore_value),
            )
            .limit(
                format!("{} (a constant of the Linux kernel)", l.semvmx),
                Some(l.semvmx),
            )
            .judge(
                Some(n.largest_semaphore_value <= l.semvmx),
                Verdict::Fail,
                "tusk's marker semaphore holds its magic number.",
                "semctl(SETVAL) will fail with \"Numerical result out of range\".",
            )
            .done(),
    );
}

fn memory_rows(n: &Needs, sys: &SystemLimits, rows: &mut Vec<CheckRow>) {
    let k = &sys.kernel;
    let request = match n.plan.kind {
        MemoryKind::Sysv => n.segment_bytes,
        MemoryKind::Mmap => n.mapping_bytes.unwrap_or(n.shared_memory_bytes),
    };
    let budget = memory_budget(&k.overcommit, &k.mem);
    let r = row(
        "memory the kernel promises for shared memory",
        "vm.overcommit_memory",
    )
    .need(fmt_bytes(request), Some(request));
    let r = match &budget {
        MemoryBudget::Unlimited => r
            .limit("no limit (mode 1)", None)
            .verdict(Verdict::Ok, "vm.overcommit_memory = 1 never refuses."),
        MemoryBudget::Limited { bytes, rule } => {
            let r = r.limit(fmt_bytes(*bytes), Some(*bytes));
            if request <= *bytes {
                r.verdict(Verdict::Ok, format!("{rule}."))
            } else {
                r.verdict(
                    Verdict::Fail,
                    format!(
                        "The kernel will refuse the request ({}): {rule}.",
                        if n.plan.kind == MemoryKind::Sysv {
                            "shmget"
                        } else {
                            "mmap"
                        }
                    ),
                )
                .fix("Add memory or swap, or lower shared_buffers.")
            }
        }
        MemoryBudget::Unknown => r.verdict(
            Verdict::Unknown,
            "The overcommit mode or /proc/meminfo could not be read.",
        ),
    };
    rows.push(r.done());

    // The OOM killer: strict overcommit is PostgreSQL's advice.
    let mode = k.overcommit.mode;
    let strict_fix = format!(
        "{} Trade-off: with strict accounting the kernel refuses an allocation beyond CommitLimit (swap + \
         vm.overcommit_ratio% of RAM, now {}%) with an error instead of letting the OOM killer end a process \
         later; programs that reserve far more than they use may then fail to start, so size vm.overcommit_ratio \
         (or add swap) so that CommitLimit covers tusk's {} and its backends. The setting is machine-wide: a \
         container cannot choose it.",
        sysctl_fix(&[("vm.overcommit_memory", "2".to_string())]),
        opt_text(k.overcommit.ratio),
        fmt_bytes(n.memory_may_use)
    );
    let r = row("overcommit mode (OOM killer)", "vm.overcommit_memory")
        .need("2 (recommended)", Some(2))
        .limit(opt_text(mode), mode);
    let r = match mode {
        Some(2) => {
            let left = k.mem.commit_limit.zip(k.mem.committed_as).map(|(l, c)| l.saturating_sub(c));
            match left {
                Some(left) if n.memory_may_use > left => r
                    .verdict(
                        Verdict::Warning,
                        format!(
                            "Strict accounting; the configuration may use {}, but only {} can still be promised.",
                            fmt_bytes(n.memory_may_use),
                            fmt_bytes(left)
                        ),
                    )
                    .fix("Raise vm.overcommit_ratio or add swap, or lower shared_buffers, max_connections or work_mem."),
                _ => r.verdict(Verdict::Ok, "Strict accounting: allocations fail cleanly instead of the OOM killer."),
            }
        }
        Some(m) => r
            .verdict(
                Verdict::Warning,
                format!(
                    "Mode {m} lets the kernel promise more memory than it has; when it runs out, the OOM killer ends \
                     a process (tusk shields the postmaster with postmaster_oom_score_adj = {}).",
                    n.plan.postmaster_oom_score_adj
                ),
            )
            .fix(strict_fix),
        None => r.verdict(Verdict::Unknown, "vm.overcommit_memory could not be read."),
    };
    rows.push(r.done());

    // The cgroup (container) limit: shared memory is charged to it as it is
    // touched, the backends' work memory on top.
    let cg = &sys.cgroup;
    let rule = format!(
        "The configuration may use {}: shared memory {} + work_mem × max_connections + maintenance_work_mem.",
        fmt_bytes(n.memory_may_use),
        fmt_bytes(n.shared_memory_bytes)
    );
    let r = row(
        "memory limit of this cgroup",
        match cg.version {
            Some(1) => "memory.limit_in_bytes (cgroup v1)",
            Some(_) => "memory.max (cgroup v2)",
            None => "memory cgroup",
        },
    )
    .need(fmt_bytes(n.memory_may_use), Some(n.memory_may_use));
    let r = match cg.limit {
        Amount::Unlimited => r.limit("no limit", None).verdict(
            Verdict::Ok,
            format!("No memory limit on the way to the root cgroup. {rule}"),
        ),
        Amount::Of(lim) => {
            let r = r.limit(fmt_bytes(lim), Some(lim));
            if n.shared_memory_bytes > lim {
                r.verdict(
                    Verdict::Fail,
                    format!(
                        "Shared memory alone is larger than the limit: the kernel kills the server as the buffers \
                         fill. {rule}"
                    ),
                )
                .fix(format!(
                    "Raise the container's memory limit (memory.max, docker run --memory, Kubernetes \
                     resources.limits.memory) to at least {}, or lower shared_buffers.",
                    fmt_bytes(n.memory_may_use)
                ))
            } else if n.memory_may_use > lim {
                r.verdict(
                    Verdict::Warning,
                    format!("Busy backends can pass the limit; then the kernel's OOM killer ends one. {rule}"),
                )
                .fix(format!(
                    "Raise the memory limit to at least {}, or lower max_connections, work_mem or shared_buffers.",
                    fmt_bytes(n.memory_may_use)
                ))
            } else {
                r.verdict(Verdict::Ok, rule)
            }
        }
        Amount::Unknown => r.verdict(
            Verdict::Unknown,
            "No memory cgroup was found for this process.",
        ),
    };
    let mut r = r.done();
    if let Some(f) = &cg.file {
        r.why = format!("{} (read from {})", r.why, f.display())
            .trim_start()
            .to_string();
    }
    rows.push(r);

    if let Some(hp) = n.huge_pages {
        let pool = tusk_ipc::limits::read_huge_page_pool(hp.page_size, &k.mem);
        let avail = pool.available();
        let r = row("huge pages", &pool.setting(k.mem.huge_page_size))
            .need(
                format!("{} pages of {} kB", hp.pages, hp.page_size / 1024),
                Some(hp.pages),
            )
            .limit(
                format!("{} free of {}", opt_text(avail), opt_text(pool.total)),
                avail,
            );
        let missing = avail.map(|a| hp.pages.saturating_sub(a));
        let fix = match (pool.total, missing) {
            (Some(t), Some(m)) if pool.setting(k.mem.huge_page_size) == "vm.nr_hugepages" => {
                sysctl_fix(&[("vm.nr_hugepages", (t + m).to_string())])
            }
            (Some(t), Some(m)) => format!(
                "As root, run: echo {} > {}.",
                t + m,
                pool.setting(k.mem.huge_page_size)
            ),
            _ => "Reserve the pages (vm.nr_hugepages).".to_string(),
        };
        let r = match (missing, hp.required) {
            (Some(0), _) => r.verdict(Verdict::Ok, ""),
            (Some(_), true) => r
                .verdict(
                    Verdict::Fail,
                    "huge_pages = on: mmap will fail with \"Cannot allocate memory\".",
                )
                .fix(format!("{fix} Or set huge_pages = try.")),
            (Some(_), false) => r
                .verdict(
                    Verdict::Warning,
                    "huge_pages = try: the server falls back to normal pages.",
                )
                .fix(fix),
            (None, _) => r.verdict(Verdict::Unknown, "The huge page pool could not be read."),
        };
        rows.push(r.done());
    } else if n.plan.kind == MemoryKind::Sysv && n.plan.huge_pages == HugePagesMode::On {
        rows.push(
            row("huge pages", "huge_pages")
                .need("on", None)
                .limit("shared_memory_type = sysv", None)
                .verdict(
                    Verdict::Fail,
                    "huge pages not supported with the current shared_memory_type setting.",
                )
                .fix("Set shared_memory_type = mmap, or huge_pages = try.")
                .done(),
        );
    } else {
        // Not used by this configuration; the pool is shown for reference.
        let size = k.mem.huge_page_size.unwrap_or(n.plan.huge_page_size);
        let pool = tusk_ipc::limits::read_huge_page_pool(size, &k.mem);
        let why = match n.plan.kind {
            MemoryKind::Sysv => {
                "Not used: shared_memory_type = sysv (only mmap can use huge pages)."
            }
            MemoryKind::Mmap => "Not used: huge_pages = off.",
        };
        rows.push(
            row("huge pages", &pool.setting(k.mem.huge_page_size))
                .need("0", Some(0))
                .limit(
                    format!(
                        "{} free of {} ({} kB)",
                        opt_text(pool.available()),
                        opt_text(pool.total),
                        size / 1024
                    ),
                    pool.available(),
                )
                .verdict(Verdict::Ok, why)
                .done(),
        );
    }

    rows.push(
        row("size of /dev/shm", "/dev/shm")
            .need("0", Some(0))
            .limit(
                sys.dev_shm.map(|(t, _)| fmt_bytes(t)).unwrap_or_else(|| "unknown".to_string()),
                sys.dev_shm.map(|(t, _)| t),
            )
            .verdict(
                Verdict::Ok,
                "tusk keeps nothing in /dev/shm (PostgreSQL's dynamic shared memory would; container runtimes \
                 often make it 64 MB).",
            )
            .done(),
    );

    let as_limit = sys.address_space.soft;
    let r = row("address space of a process", "RLIMIT_AS")
        .need(
            fmt_bytes(n.shared_memory_bytes),
            Some(n.shared_memory_bytes),
        )
        .limit(as_limit.text(), as_limit.value())
        .judge(
            as_limit.allows(n.shared_memory_bytes),
            Verdict::Fail,
            "Every process maps all of shared memory.",
            "Mapping shared memory will fail with \"Cannot allocate memory\".",
        );
    let r = if r.r.verdict == Verdict::Fail {
        r.fix("Raise it before starting the server: \"ulimit -v unlimited\", LimitAS=infinity in its systemd unit.")
    } else {
        r
    };
    rows.push(r.done());

    let data = sys.data.soft;
    let per = n.plan.work_mem.max(n.plan.maintenance_work_mem);
    let r = row("private memory of a process", "RLIMIT_DATA")
        .need(
            format!("{} (max of work_mem, maintenance_work_mem)", fmt_bytes(per)),
            Some(per),
        )
        .limit(sys.data.text(), data.value())
        .judge(
            data.allows(per),
            Verdict::Warning,
            "Sorts and hashes come out of it; shared memory does not count.",
            "A sort or hash may fail with \"out of memory\".",
        );
    let r = if r.r.verdict == Verdict::Warning {
        r.fix("Raise it: \"ulimit -d unlimited\", LimitDATA=infinity in the systemd unit.")
    } else {
        r
    };
    rows.push(r.done());

    rows.push(
        row("locked memory", "RLIMIT_MEMLOCK")
            .need("0", Some(0))
            .limit(sys.memlock.text(), sys.memlock.soft.value())
            .verdict(
                Verdict::Ok,
                "tusk locks no memory; huge pages through mmap do not count against it.",
            )
            .done(),
    );
}

fn file_rows(n: &Needs, sys: &SystemLimits, rows: &mut Vec<CheckRow>) {
    let mfpp = n.files_per_process;
    let min = n.min_files_per_process;
    let nofile = sys.nofile;
    // The server raises the soft limit to the hard one as far as needed.
    let effective = match (nofile.soft, nofile.hard) {
        (_, Amount::Unlimited) => Amount::Of(mfpp),
        (Amount::Of(s), Amount::Of(h)) => Amount::Of(s.max(h.min(mfpp))),
        (s, _) => s,
    };
    let fix = format!(
        "Before starting the server: \"ulimit -n {mfpp}\" (root raises the hard limit), LimitNOFILE={mfpp} in its \
         systemd unit, or \"<user> soft nofile {mfpp}\" and \"<user> hard nofile {mfpp}\" in \
         /etc/security/limits.conf; or lower max_files_per_process."
    );
    let r = row("open files per process", "RLIMIT_NOFILE")
        .need(
            format!("{mfpp} (max_files_per_process; at least {min} to start)"),
            Some(mfpp),
        )
        .limit(nofile.text(), nofile.soft.value());
    let r = match effective {
        Amount::Of(e) if e < min => r
            .verdict(
                Verdict::Fail,
                format!(
                    "The server refuses to start: it needs {FD_MINFREE} files besides {NUM_RESERVED_FDS} reserved \
                     and those already open."
                ),
            )
            .fix(fix),
        Amount::Of(e) if e < mfpp => r
            .verdict(
                Verdict::Warning,
                format!("Each process can open only about {} files; the server works with fewer.", e.saturating_sub(13)),
            )
            .fix(fix),
        Amount::Of(_) => {
            let why = match nofile.soft {
                Amount::Of(s) if s < mfpp => format!("The server raises the soft limit from {s} to {mfpp} at start."),
                _ => String::new(),
            };
            r.verdict(Verdict::Ok, why)
        }
        Amount::Unlimited => r.verdict(Verdict::Ok, ""),
        Amount::Unknown => r.verdict(Verdict::Unknown, "RLIMIT_NOFILE could not be read."),
    };
    rows.push(r.done());

    let r = row("open files per process, ceiling", "fs.nr_open")
        .need(mfpp.to_string(), Some(mfpp))
        .limit(opt_text(sys.nr_open), sys.nr_open)
        .judge(
            sys.nr_open.map(|m| mfpp <= m),
            Verdict::Warning,
            "No RLIMIT_NOFILE can go above it.",
            "RLIMIT_NOFILE cannot be raised to max_files_per_process.",
        );
    let r = if r.r.verdict == Verdict::Warning {
        r.fix(sysctl_fix(&[("fs.nr_open", mfpp.to_string())]))
    } else {
        r
    };
    rows.push(r.done());

    let total = sys.files_open.map(|o| o + n.files_total);
    let r = row("open files, whole system", "fs.file-max")
        .need(
            format!(
                "{} ({} processes × {mfpp}) + {} open now",
                n.files_total,
                n.processes,
                opt_text(sys.files_open)
            ),
            total,
        )
        .limit(sys.file_max.text(), sys.file_max.value());
    let fits = match (sys.file_max, total) {
        (Amount::Unlimited, _) => Some(true),
        (Amount::Of(m), Some(t)) => Some(t <= m),
        _ => None,
    };
    let r = r.judge(
        fits,
        Verdict::Warning,
        "",
        "At full load the system may run out of file handles (\"Too many open files in system\").",
    );
    let r = if r.r.verdict == Verdict::Warning {
        r.fix(format!(
            "{} Or lower max_files_per_process.",
            sysctl_fix(&[("fs.file-max", opt_text(total))])
        ))
    } else {
        r
    };
    rows.push(r.done());
}

fn process_rows(n: &Needs, sys: &SystemLimits, rows: &mut Vec<CheckRow>) {
    let tasks = sys.user_tasks;
    let total = tasks.map(|t| t + n.processes);
    let r = row(&format!("processes of user {}", sys.user), "RLIMIT_NPROC")
        .need(
            format!(
                "{} ({} connections + {} auxiliary + postmaster) + {} running",
                n.processes,
                n.plan.sizing.max_connections,
                tusk_storage::layout::NUM_AUXILIARY_PROCS,
                opt_text(tasks)
            ),
            total,
        )
        .limit(sys.nproc.text(), sys.nproc.soft.value());
    let r = if sys.uid == 0 {
        r.verdict(Verdict::Ok, "The kernel does not hold root to this limit.")
    } else {
        let start = tasks.map(|t| t + 1 + tusk_storage::layout::NUM_AUXILIARY_PROCS as u64);
        match (sys.nproc.soft, total, start) {
            (Amount::Unlimited, _, _) => r.verdict(Verdict::Ok, ""),
            (Amount::Of(m), Some(t), Some(s)) => {
                let fix = format!(
                    "Before starting the server: \"ulimit -u {t}\", LimitNPROC={t} in its systemd unit, or \"<user> \
                     soft nproc {t}\" in /etc/security/limits.conf; or lower max_connections."
                );
                if s > m {
                    r.verdict(
                        Verdict::Fail,
                        "Not even the postmaster and its auxiliary processes fit.",
                    )
                    .fix(fix)
                } else if t > m {
                    r.verdict(
                        Verdict::Warning,
                        "Connections beyond the limit fail with \"could not fork new process for connection\".",
                    )
                    .fix(fix)
                } else {
                    r.verdict(Verdict::Ok, "")
                }
            }
            _ => r.verdict(
                Verdict::Unknown,
                "The limit or the user's processes could not be read.",
            ),
        }
    };
    rows.push(r.done());
}

fn remove_ipc_row(sys: &SystemLimits) -> CheckRow {
    let lg = &sys.logind;
    let (setting, from) = match (lg.remove_ipc, &lg.source) {
        (Some(v), Some(f)) => (
            format!("RemoveIPC={}", if v { "yes" } else { "no" }),
            format!("set in {}", f.display()),
        ),
        _ => (
            "RemoveIPC=yes".to_string(),
            "not set: systemd's default".to_string(),
        ),
    };
    let who = match lg.sys_uid_max {
        Some(m) => format!("user {} has UID {}, SYS_UID_MAX is {m}", sys.user, sys.uid),
        None => format!(
            "user {} has UID {}, SYS_UID_MAX is not set in /etc/login.defs",
            sys.user, sys.uid
        ),
    };
    let r = row("IPC removal at logout (systemd-logind)", "RemoveIPC")
        .need("no, or a system user", None);
    let fix = format!(
        "Set RemoveIPC=no in /etc/systemd/logind.conf (then \"systemctl restart systemd-logind\"), or run the \
         server as a system user (useradd --system) instead of {}.",
        sys.user
    );
    // Root is a system user whatever SYS_UID_MAX says.
    let system_user = if sys.uid == 0 {
        Some(true)
    } else {
        lg.sys_uid_max.map(|m| u64::from(sys.uid) <= m)
    };
    let r = if !lg.present {
        r.limit("no systemd-logind", None).verdict(Verdict::Ok, "")
    } else if lg.remove_ipc == Some(false) {
        r.limit(setting, Some(0)).verdict(Verdict::Ok, from)
    } else {
        let r = r.limit(format!("{setting}, UID {}", sys.uid), Some(1));
        match system_user {
            Some(true) => r.verdict(Verdict::Ok, format!("{setting} ({from}); {who}: system users are exempt.")),
            Some(false) => r
                .verdict(
                    Verdict::Warning,
                    format!(
                        "{setting} ({from}); {who}. The server starts, but logind removes its shared memory and \
                         semaphores when the user's last session ends, and the server then fails."
                    ),
                )
                .fix(fix),
            None => r
                .verdict(
                    Verdict::Unknown,
                    format!(
                        "{setting} ({from}); {who}: whether this UID counts as a system user depends on systemd's \
                         compiled-in SYS_UID_MAX."
                    ),
                )
                .fix(fix),
        }
    };
    r.done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tusk_server::resources::sizing::needs;
    use tusk_server::resources::system::{CgroupMemory, Logind, Rlimit};

    /// The default settings but for `pairs`, set as on the command line.
    fn settings(pairs: &[(&str, &str)]) -> tusk_config::Settings {
        let mut s = tusk_config::Settings::defaults();
        for (n, v) in pairs {
            s.set(n, v, tusk_config::Source::CommandLine).unwrap();
        }
        s
    }
    use tusk_ipc::limits::{parse_meminfo, IpcUsage, KernelLimits, KernelView, Overcommit};

    fn lim(soft: u64, hard: u64) -> Rlimit {
        Rlimit {
            soft: Amount::Of(soft),
            hard: Amount::Of(hard),
        }
    }

    /// A roomy Linux machine.
    fn system() -> SystemLimits {
        SystemLimits {
            kernel: KernelView {
                limits: KernelLimits {
                    shmmax: Some(1 << 40),
                    shmall: Some(1 << 30),
                    shmmni: Some(4096),
                    shmmin: 1,
                    semmsl: Some(32000),
                    semmns: Some(1 << 30),
                    semopm: Some(500),
                    semmni: Some(32000),
                    semvmx: 32767,
                    page_size: 4096,
                    huge_page_size: Some(2 << 20),
                },
                usage: Some(IpcUsage::default()),
                mem: parse_meminfo("MemTotal: 16777216 kB\nSwapTotal: 0 kB\nCommitLimit: 8388608 kB\nCommitted_AS: 1048576 kB\n"),
                overcommit: Overcommit { mode: Some(2), ratio: Some(50), kbytes: Some(0) },
                address_space: None,
            },
            file_max: Amount::Of(1 << 20),
            files_open: Some(1000),
            nr_open: Some(1 << 20),
            dev_shm: Some((64 << 20, 64 << 20)),
            nofile: lim(1024, 4096),
            nproc: lim(4096, 4096),
            data: Rlimit { soft: Amount::Unlimited, hard: Amount::Unlimited },
            memlock: lim(8 << 20, 8 << 20),
            address_space: Rlimit { soft: Amount::Unlimited, hard: Amount::Unlimited },
            uid: 1000,
            user: "tusk".to_string(),
            user_tasks: Some(10),
            cgroup: CgroupMemory { limit: Amount::Unlimited, file: None, version: Some(2) },
            logind: Logind { present: true, remove_ipc: Some(false), source: None, sys_uid_max: Some(999) },
            oom_score_adj: Some(0),
            reclaimable: IpcUsage::default(),
        }
    }

    fn verdict(rows: &[CheckRow], parameter: &str) -> Verdict {
        rows.iter()
            .find(|r| r.parameter == parameter)
            .unwrap_or_else(|| panic!("{parameter}"))
            .verdict
    }

    #[test]
    fn a_roomy_machine_fits() {
        let n = needs(&settings(&[])).unwrap();
        let rows = evaluate(&n, &system());
        assert!(can_start(&rows), "{rows:#?}");
        assert!(rows.iter().all(|r| r.verdict == Verdict::Ok), "{rows:#?}");
        // The soft NOFILE limit is below max_files_per_process, but the
        // server raises it to the hard one: fine, and said so.
        let nofile = rows
            .iter()
            .find(|r| r.parameter == "RLIMIT_NOFILE")
            .unwrap();
        assert!(
            nofile
                .why
                .contains("raises the soft limit from 1024 to 1000")
                || nofile.why.is_empty(),
            "{nofile:?}"
        );
    }

    #[test]
    fn each_kernel_limit_fails_alone() {
        let n = needs(&settings(&[])).unwrap();
        type Change = Box<dyn Fn(&mut SystemLimits)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "kernel.shmmax",
                Box::new(|s| s.kernel.limits.shmmax = Some(32 << 20)),
            ),
            (
                "kernel.shmall",
                Box::new(|s| s.kernel.limits.shmall = Some(1000)),
            ),
            (
                "kernel.shmmni",
                Box::new(|s| {
                    s.kernel.usage = Some(IpcUsage {
                        segments: 4096,
                        ..Default::default()
                    })
                }),
            ),
            (
                "SEMMNI (kernel.sem, 4th)",
                Box::new(|s| s.kernel.limits.semmni = Some(3)),
            ),
            (
                "SEMMNS (kernel.sem, 2nd)",
                Box::new(|s| s.kernel.limits.semmns = Some(60)),
            ),
            (
                "SEMMSL (kernel.sem, 1st)",
                Box::new(|s| s.kernel.limits.semmsl = Some(10)),
            ),
            ("RLIMIT_NOFILE", Box::new(|s| s.nofile = lim(40, 40))),
            (
                "RLIMIT_AS",
                Box::new(|s| s.address_space = lim(1 << 20, 1 << 20)),
            ),
            (
                "memory.max (cgroup v2)",
                Box::new(|s| s.cgroup.limit = Amount::Of(64 << 20)),
            ),
        ];
        for (param, f) in cases {
            let mut s = system();
            f(&mut s);
            let rows = evaluate(&n, &s);
            assert_eq!(verdict(&rows, param), Verdict::Fail, "{param}: {rows:#?}");
            assert!(!can_start(&rows));
            let row = rows
                .iter()
                .find(|r| r.parameter == param && r.verdict == Verdict::Fail)
                .unwrap();
            assert!(row.fix.is_some(), "{param} has a fix");
            let others = rows.iter().filter(|r| r.verdict == Verdict::Fail).count();
            assert_eq!(others, 1, "{param} fails alone: {rows:#?}");
        }
    }

    #[test]
    fn leftovers_of_the_data_directory_are_reclaimable_not_in_use() {
        let n = needs(&settings(&[("max_connections", "10")])).expect("sizing");
        let mut s = system();
        // A crashed server left one segment and one set; the kernel allows
        // exactly one of each.
        s.kernel.limits.shmmni = Some(1);
        s.kernel.limits.semmni = Some(1);
        let left = IpcUsage {
            segments: 1,
            shm_bytes: 8 << 20,
            shm_pages: 2048,
            sem_sets: 1,
            semaphores: 17,
        };
        s.kernel.usage = Some(left);
        let rows = evaluate(&n, &s);
        assert_eq!(verdict(&rows, "kernel.shmmni"), Verdict::Fail);
        assert_eq!(verdict(&rows, "SEMMNI (kernel.sem, 4th)"), Verdict::Fail);
        s.reclaimable = left;
        let rows = evaluate(&n, &s);
        assert!(can_start(&rows), "{rows:#?}");
        let shmmni = rows
            .iter()
            .find(|r| r.parameter == "kernel.shmmni")
            .unwrap();
        assert_eq!(shmmni.needed_value, Some(1));
        assert!(
            shmmni.needed.starts_with("1 + 0 in use + 1 reclaimable (left by a crashed server of this data directory; the server removes it at start)"),
            "{shmmni:?}"
        );
        let semmni = rows
            .iter()
            .find(|r| r.parameter == "SEMMNI (kernel.sem, 4th)")
            .unwrap();
        assert!(semmni.needed.contains("+ 1 reclaimable"), "{semmni:?}");
        let semmns = rows
            .iter()
            .find(|r| r.parameter == "SEMMNS (kernel.sem, 2nd)")
            .unwrap();
        assert!(semmns.needed.contains("+ 17 reclaimable"), "{semmns:?}");
    }

    #[test]
    fn semaphore_fix_raises_all_four_values_at_once() {
        let n = needs(&settings(&[("max_connections", "100")])).unwrap();
        let mut s = system();
        s.kernel.limits.semmni = Some(3);
        s.kernel.limits.semmns = Some(60);
        s.kernel.usage = Some(IpcUsage {
            sem_sets: 1,
            semaphores: 17,
            ..Default::default()
        });
        let rows = evaluate(&n, &s);
        let fix = rows
            .iter()
            .find(|r| r.parameter.starts_with("SEMMNI"))
            .unwrap()
            .fix
            .clone()
            .unwrap();
        // 7 sets of 17 plus one set of 17 in use.
        assert!(
            fix.contains("sysctl -w kernel.sem=\"32000 136 500 8\""),
            "{fix}"
        );
    }

    #[test]
    fn warnings_and_unknowns_do_not_block() {
        let n = needs(&settings(&[("max_connections", "500")])).unwrap();
        let mut s = system();
        s.kernel.overcommit.mode = Some(0);
        s.nproc = lim(100, 100);
        s.logind.remove_ipc = None;
        s.uid = 1000;
        s.kernel.limits.shmmax = None;
        let rows = evaluate(&n, &s);
        assert_eq!(verdict(&rows, "RLIMIT_NPROC"), Verdict::Warning);
        assert_eq!(verdict(&rows, "RemoveIPC"), Verdict::Warning);
        assert_eq!(verdict(&rows, "kernel.shmmax"), Verdict::Unknown);
        let oc = rows
            .iter()
            .find(|r| r.resource == "overcommit mode (OOM killer)")
            .unwrap();
        assert_eq!(oc.verdict, Verdict::Warning);
        assert!(oc
            .fix
            .as_ref()
            .unwrap()
            .contains("sysctl -w vm.overcommit_memory=2"));
        assert!(can_start(&rows));
        // Root is held to neither NPROC nor RemoveIPC.
        s.uid = 0;
        let rows = evaluate(&n, &s);
        assert_eq!(verdict(&rows, "RLIMIT_NPROC"), Verdict::Ok);
        assert_eq!(verdict(&rows, "RemoveIPC"), Verdict::Ok);
    }

    #[test]
    fn huge_pages_on_needs_free_pages() {
        let n = needs(&settings(&[
            ("shared_memory_type", "mmap"),
            ("huge_pages", "on"),
        ]))
        .unwrap();
        let rows = evaluate(&n, &system());
        // The test machine's pool is read for real; whatever it holds, the
        // verdict follows from the numbers in the row.
        let hp = rows.iter().find(|r| r.resource == "huge pages").unwrap();
        match hp.limit_value {
            Some(avail) if avail >= hp.needed_value.unwrap() => assert_eq!(hp.verdict, Verdict::Ok),
            Some(_) => assert_eq!(hp.verdict, Verdict::Fail),
            None => assert_eq!(hp.verdict, Verdict::Unknown),
        }
        let n = needs(&settings(&[("huge_pages", "on")])).unwrap();
        let rows = evaluate(&n, &system());
        assert_eq!(
            verdict(&rows, "huge_pages"),
            Verdict::Fail,
            "sysv cannot use huge pages"
        );
    }
}
