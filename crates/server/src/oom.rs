//! Out-of-memory killer policy (Linux): the postmaster protects itself,
//! its children stay killable.
//!
//! Why: Linux charges shared memory to the process that touches it, so
//! the postmaster looks like the biggest process and is the usual OOM
//! victim; losing it strands every session. A backend killed instead is a
//! crash restart, which the postmaster handles. PostgreSQL asks operators
//! to arrange this with a start script; tusk does it itself.

use tusk_common::elog;
use tusk_config::Settings;

/// Writes the score with a plain `open(O_WRONLY)`: some security modules
/// refuse other flags on /proc files (PostgreSQL's fork_process.c does the
/// same), so no O_CREAT or O_TRUNC.
fn write_score(value: i64) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/oom_score_adj")?;
    f.write_all(value.to_string().as_bytes())
}

/// In the postmaster, at start: `postmaster_oom_score_adj`. Lowering the
/// score needs CAP_SYS_RESOURCE; without it, one log line and carry on.
pub fn postmaster_adjust(settings: &Settings) {
    let v = settings.int("postmaster_oom_score_adj");
    if let Err(e) = write_score(v) {
        let why = e
            .raw_os_error()
            .map(tusk_ipc::errno_text)
            .unwrap_or_else(|| e.to_string());
        let now = std::fs::read_to_string("/proc/self/oom_score_adj")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string());
        elog::log(format!(
            "could not set postmaster_oom_score_adj to {v} in /proc/self/oom_score_adj: {why}; the postmaster keeps \
             its OOM score {now} (lowering it needs CAP_SYS_RESOURCE, or OOMScoreAdjust={v} in the service's systemd \
             unit)"
        ));
    }
}

/// In every child right after fork: back to `backend_oom_score_adj`
/// (default 0), so a runaway backend is chosen before the postmaster.
/// Raising the score is always permitted.
pub fn child_adjust(settings: &Settings) {
    let _ = write_score(settings.int("backend_oom_score_adj"));
}
