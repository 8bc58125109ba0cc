//! Process limits at start: how many files a server process can really
//! open, and whether the user's process limit can hold the server.
//!
//! Why probe instead of trusting `RLIMIT_NOFILE`: what counts is the
//! number of descriptors still free, which depends on what is already open
//! (inherited descriptors, log files) as well as on the limit, and on
//! system-wide exhaustion (ENFILE). PostgreSQL has probed with `dup` since
//! 2004 (fd.c `count_usable_fds`); tusk does the same, once, in the
//! postmaster, and children inherit the result with the raised limit.
//!
//! Why raise the soft limit: the hard limit is the administrator's ceiling;
//! the soft limit is often left at 1024 by login shells and container
//! runtimes. Raising it as far as max_files_per_process needs is what the
//! administrator allowed and what the configuration asks for.

use super::sizing::{needs, Needs, FD_MINFREE, NUM_RESERVED_FDS};
use super::system::{rlimit, Amount, Rlimit};
use std::sync::OnceLock;
use tusk_common::{elog, sqlstate, PgError, Severity};
use tusk_config::Settings;

/// What the file-descriptor probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDescriptors {
    /// Descriptors the probe could open (at most max_files_per_process).
    pub usable: usize,
    /// Descriptors open before the probe (the highest found + 1 - usable).
    pub already_open: usize,
    /// Files the server may open itself: PostgreSQL 15's
    /// `min(usable, max_files_per_process - already_open) - NUM_RESERVED_FDS`.
    pub max_safe_fds: usize,
    /// RLIMIT_NOFILE before and after raising.
    pub soft_before: Amount,
    pub limit: Rlimit,
}

/// Counts the descriptors a process can still open: `dup(2)` until EMFILE
/// or ENFILE or until `max_to_probe` are open, never at or past the soft
/// RLIMIT_NOFILE; then closes them. Returns (usable, already_open).
pub fn count_usable_fds(max_to_probe: usize) -> (usize, usize) {
    let soft = match rlimit(libc::RLIMIT_NOFILE).soft {
        Amount::Of(n) => usize::try_from(n).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    let mut fds: Vec<libc::c_int> = Vec::with_capacity(max_to_probe.min(65536));
    let mut highest: libc::c_int = -1;
    while fds.len() < max_to_probe {
        // SAFETY: dup of stderr, or of stdin when stderr is closed; the
        // result is closed below.
        let mut fd = unsafe { libc::dup(2) };
        if fd < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF) {
            // SAFETY: as above, a dup of stdin whose result is closed below.
            fd = unsafe { libc::dup(0) };
        }
        if fd < 0 {
            // EMFILE or ENFILE: the limit; anything else: stop as well.
            break;
        }
        fds.push(fd);
        highest = highest.max(fd);
        if highest as usize + 1 >= soft {
            break;
        }
    }
    for fd in &fds {
        // SAFETY: descriptors this function opened.
        unsafe { libc::close(*fd) };
    }
    let usable = fds.len();
    let already_open = ((highest + 1).max(0) as usize).saturating_sub(usable);
    (usable, already_open)
}

/// Raises the soft RLIMIT_NOFILE toward the hard one, as far as `want`.
/// Returns the limit afterwards.
fn raise_nofile(want: u64) -> Rlimit {
    let now = rlimit(libc::RLIMIT_NOFILE);
    let (Amount::Of(soft), hard) = (now.soft, now.hard) else {
        return now;
    };
    if soft >= want {
        return now;
    }
    let target = match hard {
        Amount::Of(h) => want.min(h),
        _ => want,
    };
    if target <= soft {
        return now;
    }
    let l = libc::rlimit {
        rlim_cur: target,
        rlim_max: match hard {
            Amount::Of(h) => h,
            _ => libc::RLIM_INFINITY,
        },
    };
    // SAFETY: plain system call; raising the soft limit up to the hard one
    // is always permitted.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &l) } != 0 {
        return now;
    }
    rlimit(libc::RLIMIT_NOFILE)
}

/// The process limits the postmaster started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessLimits {
    pub files: FileDescriptors,
    pub nproc: Rlimit,
    /// Processes the server may run: connections, auxiliary, postmaster.
    pub processes_needed: u64,
    /// Tasks the server's user ran at start (RLIMIT_NPROC counts them all).
    pub user_tasks: Option<u64>,
    pub uid: u32,
    pub memlock: Rlimit,
    /// Warnings logged at start.
    pub warnings: Vec<PgError>,
}

static AT_START: OnceLock<ProcessLimits> = OnceLock::new();

/// The limits [`startup_limits`] found, in this postmaster.
pub fn at_start() -> Option<&'static ProcessLimits> {
    AT_START.get()
}

/// In the postmaster at start, before the first fork: raises the soft
/// RLIMIT_NOFILE toward the hard one when max_files_per_process needs it,
/// counts the usable descriptors, and refuses to start (FATAL 53000) when
/// fewer than PostgreSQL's minimum remain; logs a WARNING when RLIMIT_NPROC
/// cannot hold the processes the configuration may run. The result is
/// kept for [`super::describe`].
pub fn startup_limits(settings: &Settings) -> Result<ProcessLimits, PgError> {
    let need = needs(settings)?;
    let limits = probe(&need)?;
    for w in &limits.warnings {
        elog::report(w);
    }
    let _ = AT_START.set(limits.clone());
    Ok(limits)
}

fn probe(need: &Needs) -> Result<ProcessLimits, PgError> {
    let mfpp = need.files_per_process as usize;
    let soft_before = rlimit(libc::RLIMIT_NOFILE).soft;
    let limit = raise_nofile(mfpp as u64);
    if let (Amount::Of(before), Amount::Of(after)) = (soft_before, limit.soft) {
        if after > before {
            elog::log(format!(
                "raised the soft limit of open files (RLIMIT_NOFILE) from {before} to {after} (hard limit {}) for \
                 max_files_per_process = {mfpp}",
                limit.hard.text()
            ));
        }
    }
    let (usable, already_open) = count_usable_fds(mfpp);
    let max_safe_fds = usable
        .min(mfpp.saturating_sub(already_open))
        .saturating_sub(NUM_RESERVED_FDS);
    let files = FileDescriptors {
        usable,
        already_open,
        max_safe_fds,
        soft_before,
        limit,
    };
    if max_safe_fds < FD_MINFREE {
        return Err(too_few_files(&files, mfpp));
    }
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let nproc = rlimit(libc::RLIMIT_NPROC);
    let user_tasks = super::system::read_user_tasks(uid);
    let mut warnings = Vec::new();
    if let Some(w) = nproc_warning(uid, nproc, need, user_tasks) {
        warnings.push(w);
    }
    Ok(ProcessLimits {
        files,
        nproc,
        processes_needed: need.processes,
        user_tasks,
        uid,
        memlock: rlimit(libc::RLIMIT_MEMLOCK),
        warnings,
    })
}

/// PostgreSQL's FATAL, with the numbers and the fix.
fn too_few_files(f: &FileDescriptors, mfpp: usize) -> PgError {
    let allows = f.max_safe_fds + NUM_RESERVED_FDS;
    let needs = FD_MINFREE + NUM_RESERVED_FDS;
    let want_soft = f.already_open + needs;
    let limit_text = format!("soft {}, hard {}", f.limit.soft.text(), f.limit.hard.text());
    let fix = if mfpp < f.already_open + needs {
        format!(
            "Raise max_files_per_process (now {mfpp}) to at least {want_soft}: it counts the {} files already open.",
            f.already_open
        )
    } else {
        format!(
            "Raise the open files limit (RLIMIT_NOFILE, now {limit_text}) to at least {want_soft}, better to \
             max_files_per_process ({mfpp}), before starting the server: \"ulimit -n {mfpp}\" in the shell that \
             starts it (only up to the hard limit; root raises the hard one), LimitNOFILE={mfpp} in its systemd \
             unit, or \"<user> hard nofile {mfpp}\" and \"<user> soft nofile {mfpp}\" in \
             /etc/security/limits.conf. Or close the descriptors the server inherits."
        )
    };
    PgError::fatal(
        sqlstate::INSUFFICIENT_RESOURCES,
        "insufficient file descriptors available to start server process",
    )
    .with_detail(format!(
        "System allows {allows}, server needs at least {needs}, {} files are already open.",
        f.already_open
    ))
    .with_hint(fix)
}

fn nproc_warning(
    uid: u32,
    nproc: Rlimit,
    need: &Needs,
    user_tasks: Option<u64>,
) -> Option<PgError> {
    // The kernel does not hold root (or CAP_SYS_RESOURCE) to RLIMIT_NPROC.
    if uid == 0 {
        return None;
    }
    let Amount::Of(soft) = nproc.soft else {
        return None;
    };
    // The postmaster is already counted among the user's tasks.
    let running = user_tasks.unwrap_or(1);
    let more = need.processes.saturating_sub(1);
    if running.saturating_add(more) <= soft {
        return None;
    }
    let want = running.saturating_add(more);
    Some(
        PgError::new(
            Severity::Warning,
            sqlstate::WARNING,
            format!(
                "the process limit (RLIMIT_NPROC) of {soft} cannot hold all server processes: this user runs {running} \
                 tasks, and the server may start {more} more ({} connections and {} auxiliary processes)",
                need.plan.sizing.max_connections,
                tusk_storage::layout::NUM_AUXILIARY_PROCS
            ),
        )
        .with_detail("Connections beyond the limit fail with \"could not fork new process for connection\".")
        .with_hint(format!(
            "Raise it to at least {want} before starting the server: \"ulimit -u {want}\" (hard limit now {}), \
             LimitNPROC={want} in its systemd unit, or \"<user> soft nproc {want}\" in /etc/security/limits.conf; \
             or lower max_connections.",
            nproc.hard.text()
        )),
    )
}

impl ProcessLimits {
    /// "open files 1000 (raised from 40; hard 4096) for max_files_per_process
    /// 1000: 985 usable ..." — each limit beside its need.
    pub fn describe(&self) -> String {
        let f = &self.files;
        let raised = match (f.soft_before, f.limit.soft) {
            (Amount::Of(b), Amount::Of(a)) if a > b => format!(", raised from {b}"),
            _ => String::new(),
        };
        let nproc_note = if self.uid == 0 {
            ", not enforced for root"
        } else {
            ""
        };
        format!(
            "open files (RLIMIT_NOFILE) {}{raised}, hard {}: {} usable with {} already open, {} for the server after \
             {NUM_RESERVED_FDS} reserved (needs at least {FD_MINFREE}); processes (RLIMIT_NPROC) {}, hard {}: \
             needs {} with {} running{nproc_note}; locked memory (RLIMIT_MEMLOCK) {}: not used",
            f.limit.soft.text(),
            f.limit.hard.text(),
            f.usable,
            f.already_open,
            f.max_safe_fds,
            self.nproc.soft.text(),
            self.nproc.hard.text(),
            self.processes_needed,
            self.user_tasks.map(|n| n.to_string()).unwrap_or_else(|| "unknown".into()),
            self.memlock.soft.text(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_counts_and_closes() {
        let (usable, open) = count_usable_fds(50);
        assert_eq!(usable, 50);
        assert!(open >= 3, "stdin, stdout and stderr at least: {open}");
    }

    #[test]
    fn fatal_names_the_numbers_and_the_fix() {
        let f = FileDescriptors {
            usable: 27,
            already_open: 5,
            max_safe_fds: 17,
            soft_before: Amount::Of(32),
            limit: Rlimit {
                soft: Amount::Of(32),
                hard: Amount::Of(32),
            },
        };
        let e = too_few_files(&f, 1000);
        assert_eq!(e.code, "53000");
        assert_eq!(
            e.message,
            "insufficient file descriptors available to start server process"
        );
        assert_eq!(
            e.detail.as_deref(),
            Some("System allows 27, server needs at least 58, 5 files are already open.")
        );
        let hint = e.hint.unwrap();
        assert!(
            hint.contains("ulimit -n 1000") && hint.contains("LimitNOFILE=1000"),
            "{hint}"
        );
        assert!(too_few_files(&f, 60)
            .hint
            .unwrap()
            .contains("Raise max_files_per_process (now 60) to at least 63"));
    }

    #[test]
    fn nproc_warning_only_when_it_cannot_hold() {
        let s = Settings::defaults();
        let need = needs(&s).unwrap();
        let lim = |n| Rlimit {
            soft: Amount::Of(n),
            hard: Amount::Of(n),
        };
        assert!(nproc_warning(1000, lim(100_000), &need, Some(10)).is_none());
        let w = nproc_warning(1000, lim(50), &need, Some(10)).unwrap();
        assert_eq!(w.severity, Severity::Warning);
        assert!(w.message.contains("RLIMIT_NPROC) of 50"), "{}", w.message);
        assert!(w
            .hint
            .unwrap()
            .contains(&format!("ulimit -u {}", 10 + need.processes - 1)));
        assert!(
            nproc_warning(0, lim(50), &need, Some(10)).is_none(),
            "root is not held to it"
        );
    }
}
