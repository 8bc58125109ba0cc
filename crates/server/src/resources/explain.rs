//! A start-up failure of shared memory or semaphores, told with the whole
//! fix: tusk-ipc's report (the failed call, errno, the limit, its current
//! value, the command that raises it) plus the way out that needs the
//! configuration — the largest shared_buffers or max_connections that
//! would fit now.
//!
//! Why here and not in tusk-ipc: the IPC crate knows sizes and counts but
//! not settings; the sizing function that turns settings into sizes lives
//! with the server ([`super::sizing`]).

use super::sizing::{
    largest_max_connections, largest_shared_buffers, needs_for, shared_buffers_rounded,
    shared_buffers_text, Needs, Plan,
};
use tusk_common::PgError;
use tusk_config::Settings;
use tusk_ipc::keys::{SemError, ShmemError};
use tusk_ipc::limits::{pages_for, Budget, Exceeded, KernelView};
use tusk_ipc::mmap::MmapError;

/// One of the IPC errors the server can meet while creating shared
/// memory and semaphores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpcFailure {
    Shmem(ShmemError),
    Sem(SemError),
    Mmap(MmapError),
}

impl From<ShmemError> for IpcFailure {
    fn from(e: ShmemError) -> IpcFailure {
        IpcFailure::Shmem(e)
    }
}

impl From<SemError> for IpcFailure {
    fn from(e: SemError) -> IpcFailure {
        IpcFailure::Sem(e)
    }
}

impl From<MmapError> for IpcFailure {
    fn from(e: MmapError) -> IpcFailure {
        IpcFailure::Mmap(e)
    }
}

/// The FATAL report for `failure` under `settings`: tusk-ipc's report with
/// the kernel read now, and, when a limit was hit that smaller settings can
/// get under, the largest shared_buffers and max_connections that fit.
/// Call it after what was already created has been removed, so that the
/// kernel's usage counts only other programs.
pub fn explain_ipc_failure(settings: &Settings, failure: &IpcFailure) -> PgError {
    explain_with(&Plan::from_settings(settings), failure, &KernelView::read())
}

/// [`explain_ipc_failure`] against a given plan and view of the kernel.
pub fn explain_with(plan: &Plan, failure: &IpcFailure, view: &KernelView) -> PgError {
    let (mut e, ex) = match failure {
        IpcFailure::Shmem(err) => err.report(view),
        IpcFailure::Sem(err) => err.report(view),
        IpcFailure::Mmap(err) => {
            let (e, ex) = err.report(view);
            (e, Some(ex))
        }
    };
    if let Some(way) = ex.as_ref().and_then(|ex| way_out(plan, ex)) {
        e.hint = Some(match e.hint.take() {
            Some(h) => format!("{h}\n{way}"),
            None => way,
        });
    }
    e
}

/// Whether a configuration's needs fit in a budget.
pub fn fits(n: &Needs, budget: Budget) -> bool {
    match budget {
        Budget::SegmentBytes(max) => n.segment_bytes <= max,
        Budget::SegmentPages { pages, page_size } => pages_for(n.segment_bytes, page_size) <= pages,
        Budget::MemoryBytes(max) => n.mapping_bytes.unwrap_or(n.segment_bytes) <= max,
        Budget::HugePages { pages, page_size } => {
            n.shared_memory_bytes.div_ceil(page_size.max(1)) <= pages
        }
        Budget::SemSets(max) => n.sem_sets <= max,
    }
}

/// "Until the limit is raised, ...": the smaller settings that fit the
/// room left under the limit that was hit, other settings unchanged.
pub fn way_out(plan: &Plan, ex: &Exceeded) -> Option<String> {
    let budget = ex.budget()?;
    let fit = |n: &Needs| fits(n, budget);
    let z = plan.sizing;
    let mut options = Vec::new();
    // Semaphores do not depend on shared_buffers.
    if !matches!(budget, Budget::SemSets(_)) {
        if let Some(sb) = largest_shared_buffers(plan, fit) {
            let sb = shared_buffers_rounded(sb);
            if sb < z.shared_buffers {
                options.push(format!(
                    "shared_buffers = {} (now {})",
                    shared_buffers_text(sb),
                    shared_buffers_text(z.shared_buffers)
                ));
            }
        }
    }
    if let Some(mc) = largest_max_connections(plan, fit) {
        if mc < z.max_connections {
            options.push(format!(
                "max_connections = {mc} (now {})",
                z.max_connections
            ));
        }
    }
    if options.is_empty() {
        let smallest = needs_for(
            &plan
                .with_shared_buffers(16)
                .with_max_connections(plan.min_max_connections()),
        )
        .ok()?;
        let what = match budget {
            Budget::SemSets(_) => format!("{} semaphore sets", smallest.sem_sets),
            _ => format!("{} bytes of shared memory", smallest.shared_memory_bytes),
        };
        return Some(format!(
            "No smaller shared_buffers or max_connections fits in what is left now: even shared_buffers = 128kB \
             with max_connections = {} needs {what}.",
            plan.min_max_connections()
        ));
    }
    Some(format!(
        "Until the limit is raised, this configuration fits now with {}, other settings unchanged.",
        options.join(", or with ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::sizing::test_settings;
    use tusk_ipc::limits::{IpcUsage, KernelLimits, MemInfo, Overcommit};

    fn plan(pairs: &[(&str, &str)]) -> Plan {
        Plan::from_settings(&test_settings(pairs))
    }

    fn view(shmmax: u64, sem: [u64; 4]) -> KernelView {
        KernelView {
            limits: KernelLimits {
                shmmax: Some(shmmax),
                shmall: Some(1 << 40),
                shmmni: Some(4096),
                shmmin: 1,
                semmsl: Some(sem[0]),
                semmns: Some(sem[1]),
                semopm: Some(sem[2]),
                semmni: Some(sem[3]),
                semvmx: 32767,
                page_size: 4096,
                huge_page_size: Some(2 << 20),
            },
            usage: Some(IpcUsage::default()),
            mem: MemInfo::default(),
            overcommit: Overcommit::default(),
            address_space: None,
        }
    }

    #[test]
    fn shmmax_failure_names_settings_that_fit() {
        let p = plan(&[]);
        let size = needs_for(&p).unwrap().segment_bytes as usize;
        let err = IpcFailure::Shmem(ShmemError::Create {
            key: 5432001,
            size,
            errno: libc::EINVAL,
        });
        let e = explain_with(&p, &err, &view(32 << 20, [32000, 1 << 30, 500, 32000]));
        let hint = e.hint.unwrap();
        assert!(hint.contains("sysctl -w kernel.shmmax="), "{hint}");
        assert!(hint.contains("shared_buffers = "), "{hint}");
        assert!(hint.contains("(now 128MB)"), "{hint}");
        // The suggested value really fits.
        let line = hint.lines().last().unwrap();
        let mb: usize = line
            .split("shared_buffers = ")
            .nth(1)
            .unwrap()
            .split("MB")
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            needs_for(&p.with_shared_buffers(mb * 128))
                .unwrap()
                .segment_bytes
                <= 32 << 20
        );
        assert!(
            needs_for(&p.with_shared_buffers((mb + 1) * 128))
                .unwrap()
                .segment_bytes
                > 32 << 20
        );
        assert!(e
            .detail
            .unwrap()
            .contains(&format!("shmget(key=5432001, size={size}, 03600)")));
    }

    #[test]
    fn semaphore_failure_names_max_connections_only() {
        let p = plan(&[("max_connections", "100")]);
        let err = IpcFailure::Sem(SemError::Semget {
            key: 5432002,
            nsems: 17,
            errno: libc::ENOSPC,
            sets: 7,
        });
        let e = explain_with(&p, &err, &view(1 << 40, [32000, 1 << 30, 500, 3]));
        let hint = e.hint.unwrap();
        assert!(hint.contains("max_connections = 44 (now 100)"), "{hint}");
        assert!(!hint.contains("shared_buffers ="), "{hint}");
        assert!(
            hint.contains("kernel.sem=\"32000 1073741824 500 7\""),
            "{hint}"
        );
    }

    #[test]
    fn nothing_fits_is_said_plainly() {
        let p = plan(&[]);
        let err = IpcFailure::Sem(SemError::Semget {
            key: 1,
            nsems: 17,
            errno: libc::ENOSPC,
            sets: 7,
        });
        let e = explain_with(&p, &err, &view(1 << 40, [32000, 1 << 30, 500, 0]));
        assert!(e
            .hint
            .unwrap()
            .contains("No smaller shared_buffers or max_connections fits"));
        // A limit no setting can help with gets no way out.
        let err = IpcFailure::Sem(SemError::Semget {
            key: 1,
            nsems: 17,
            errno: libc::EINVAL,
            sets: 7,
        });
        let e = explain_with(&p, &err, &view(1 << 40, [10, 1 << 30, 500, 32000]));
        let hint = e.hint.unwrap();
        assert!(!hint.contains("fits"), "{hint}");
        assert!(hint.contains("kernel.sem=\"17 "), "{hint}");
    }
}
