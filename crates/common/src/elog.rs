//! The server log: one line per report on stderr, prefixed as
//! `log_line_prefix` says.
//!
//! Why stderr and one `write(2)` per report: the postmaster and every child
//! share the same stderr (a terminal, a file opened with O_APPEND by
//! `tusk ctl start -l`, or a pipe to systemd). A single write of a whole
//! report keeps lines from different processes from interleaving.
//!
//! State is per process (each backend sets its user, database and
//! application after fork); there are no threads, so a `thread_local`
//! holds it.

use crate::error::{PgError, Severity};
use crate::time;
use std::cell::RefCell;
use std::io::Write;

struct LogState {
    prefix: String,
    min_level: Severity,
    backend_type: &'static str,
    user: String,
    database: String,
    application: String,
    remote_host: String,
    remote_port: String,
    session_start_secs: i64,
    line_no: u64,
}

thread_local! {
    static STATE: RefCell<LogState> = RefCell::new(LogState {
        prefix: "%m [%p] ".to_string(),
        min_level: Severity::Warning,
        backend_type: "postmaster",
        user: String::new(),
        database: String::new(),
        application: String::new(),
        remote_host: String::new(),
        remote_port: String::new(),
        session_start_secs: time::now_micros() / 1_000_000,
        line_no: 0,
    });
}

/// Sets `log_line_prefix` and `log_min_messages` (called after the
/// configuration is loaded, and again on reload).
pub fn configure(prefix: &str, min_level: Severity) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.prefix = prefix.to_string();
        s.min_level = min_level;
    });
}

/// Names this process in `%b` (postmaster, client backend, checkpointer, ...).
pub fn set_backend_type(kind: &'static str) {
    STATE.with(|s| s.borrow_mut().backend_type = kind);
}

/// Records the session identity for `%u %d %a %h %r` once it is known.
pub fn set_session(user: &str, database: &str, host: &str, port: &str) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.user = user.to_string();
        s.database = database.to_string();
        s.remote_host = host.to_string();
        s.remote_port = port.to_string();
        s.session_start_secs = time::now_micros() / 1_000_000;
    });
}

/// Updates `%a` when the session's application_name changes.
pub fn set_application(app: &str) {
    STATE.with(|s| s.borrow_mut().application = app.to_string());
}

/// Parses a `log_min_messages` value.
pub fn parse_level(s: &str) -> Option<Severity> {
    Some(match s.to_ascii_lowercase().as_str() {
        "debug5" | "debug4" | "debug3" | "debug2" | "debug1" | "debug" => Severity::Debug,
        "info" => Severity::Info,
        "notice" => Severity::Notice,
        "warning" => Severity::Warning,
        "error" => Severity::Error,
        "log" => Severity::Log,
        "fatal" => Severity::Fatal,
        "panic" => Severity::Panic,
        _ => return None,
    })
}

/// Whether a report of this severity reaches the log. As in PostgreSQL,
/// LOG ranks between ERROR and FATAL for the server log.
fn passes(level: Severity, min: Severity) -> bool {
    level.log_rank() >= min.log_rank()
}

fn render_prefix(s: &mut LogState, sqlstate: &str) -> String {
    let mut out = String::new();
    let mut chars = s.prefix.chars().peekable();
    s.line_no += 1;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('m') => out.push_str(&time::format_log_time(time::now_micros(), true)),
            Some('t') => out.push_str(&time::format_log_time(time::now_micros(), false)),
            Some('n') => {
                let us = time::now_micros();
                out.push_str(&format!("{}.{:03}", us / 1_000_000, (us / 1000) % 1000))
            }
            Some('p') => out.push_str(&std::process::id().to_string()),
            Some('a') => out.push_str(&s.application),
            Some('u') => out.push_str(&s.user),
            Some('d') => out.push_str(&s.database),
            Some('b') => out.push_str(s.backend_type),
            Some('h') => out.push_str(&s.remote_host),
            Some('r') => {
                out.push_str(&s.remote_host);
                if !s.remote_port.is_empty() {
                    out.push('(');
                    out.push_str(&s.remote_port);
                    out.push(')');
                }
            }
            Some('e') => out.push_str(sqlstate),
            Some('l') => out.push_str(&s.line_no.to_string()),
            Some('s') => out.push_str(&time::format_log_time(
                s.session_start_secs * 1_000_000,
                false,
            )),
            Some('c') => out.push_str(&format!(
                "{:x}.{:x}",
                s.session_start_secs,
                std::process::id()
            )),
            Some('q') => {
                if s.user.is_empty() {
                    break;
                }
            }
            Some('%') => out.push('%'),
            Some(other) => {
                // Unknown escapes are dropped, as PostgreSQL does.
                let _ = other;
            }
            None => out.push('%'),
        }
    }
    out
}

/// Writes one report to the log if its severity passes `log_min_messages`.
pub fn report(e: &PgError) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if !passes(e.severity, s.min_level) {
            return;
        }
        let mut line = render_prefix(&mut s, e.code.as_str());
        line.push_str(e.severity.as_str());
        line.push_str(":  ");
        line.push_str(&e.message);
        line.push('\n');
        if let Some(d) = &e.detail {
            let p = render_prefix(&mut s, e.code.as_str());
            line.push_str(&format!("{p}DETAIL:  {d}\n"));
        }
        if let Some(h) = &e.hint {
            let p = render_prefix(&mut s, e.code.as_str());
            line.push_str(&format!("{p}HINT:  {h}\n"));
        }
        if let Some(c) = &e.context {
            let p = render_prefix(&mut s, e.code.as_str());
            line.push_str(&format!("{p}CONTEXT:  {c}\n"));
        }
        write_stderr(line.as_bytes());
    });
}

/// Writes a LOG line.
pub fn log(message: impl Into<String>) {
    report(&PgError::new(
        Severity::Log,
        crate::sqlstate::SUCCESSFUL_COMPLETION,
        message,
    ));
}

/// Writes a WARNING line.
pub fn warning(message: impl Into<String>) {
    report(&PgError::new(
        Severity::Warning,
        crate::sqlstate::WARNING,
        message,
    ));
}

/// Writes a DEBUG line.
pub fn debug(message: impl Into<String>) {
    report(&PgError::new(
        Severity::Debug,
        crate::sqlstate::SUCCESSFUL_COMPLETION,
        message,
    ));
}

/// One `write(2)` of the whole buffer (retrying only on a short write), so
/// lines of concurrent processes do not interleave.
pub fn write_stderr(buf: &[u8]) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(buf);
    let _ = err.flush();
}
