//! Process titles: what `ps` shows for each child of the postmaster,
//! PostgreSQL's `update_process_title` (`tusk: checkpointer`,
//! `tusk: user db 127.0.0.1(5555) idle`, with `cluster_name` after
//! `tusk: ` when set). The postmaster keeps its own command line.
//!
//! Why by overwriting argv in place: on Linux, `/proc/PID/cmdline` (what
//! `ps` prints) is read from the process's own memory between the
//! kernel's `arg_start` and `arg_end`, and past `arg_end` into the
//! environment strings when the last byte of argv is not NUL. So, as
//! PostgreSQL does, the postmaster moves the environment strings to the
//! heap once at start ([`init`]) and every child then writes its title
//! over the argv + environment area. `prctl(PR_SET_NAME)` alone would give
//! 15 bytes, too few for the session part. The area's bounds come from
//! `/proc/self/stat` (fields 48 to 51), so nothing depends on how the
//! runtime kept argv.
//!
//! A title only ever touches this process's own memory: no shared state.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The argv (+ environment) area, set by [`init`] in the postmaster and
/// inherited by every child through fork.
static AREA: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static AREA_LEN: AtomicUsize = AtomicUsize::new(0);

struct Title {
    /// "tusk: [cluster: ]fixed part"
    prefix: String,
    /// Bytes written by the last title, so the next one only clears what
    /// is left of it.
    written: usize,
    /// update_process_title: when off, activity changes are not shown.
    update: bool,
}

static TITLE: Mutex<Option<Title>> = Mutex::new(None);

extern "C" {
    static mut environ: *mut *mut libc::c_char;
}

/// The fields of /proc/self/stat after the command name: field N is
/// `f[N - 3]`.
fn stat_fields() -> Option<Vec<u64>> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(
        rest.split_ascii_whitespace()
            .map(|f| f.parse::<u64>().unwrap_or(0))
            .collect(),
    )
}

/// Finds the argv area and frees the environment strings behind it for
/// titles. Postmaster only, once, before it forks and while it has no
/// other thread (it rewrites `environ`'s entries). Without /proc (or on
/// kernels before 3.5) titles are simply not shown.
pub fn init() {
    let Some(f) = stat_fields() else { return };
    let field = |n: usize| f.get(n - 3).copied().unwrap_or(0);
    let (arg_start, arg_end, env_start, env_end) = (field(48), field(49), field(50), field(51));
    if arg_start == 0 || arg_end <= arg_start {
        return;
    }
    let mut end = arg_end;
    if env_start == arg_end && env_end > env_start {
        // Copy every environment string that lies in the area to the heap
        // (leaked: the environment lives as long as the process) and point
        // environ at the copies; then the area is free to overwrite.
        // SAFETY: single-threaded postmaster start; environ is the C
        // library's NULL-terminated array of C strings.
        unsafe {
            let mut p = environ;
            while !p.is_null() && !(*p).is_null() {
                let s = *p as u64;
                if (env_start..env_end).contains(&s) {
                    let copy = std::ffi::CStr::from_ptr(*p).to_owned();
                    *p = copy.into_raw();
                }
                p = p.add(1);
            }
        }
        end = env_end;
    }
    AREA_LEN.store((end - arg_start) as usize, Ordering::SeqCst);
    AREA.store(arg_start as *mut u8, Ordering::SeqCst);
}

/// "tusk: " and "NAME: " when cluster_name is set.
fn head(cluster_name: &str) -> String {
    if cluster_name.is_empty() {
        "tusk: ".to_string()
    } else {
        format!("tusk: {cluster_name}: ")
    }
}

/// Writes `text` over the area, NUL-padded over what the last title
/// used. Only this process's memory is touched.
fn write(title: &mut Title, text: &str) {
    let base = AREA.load(Ordering::SeqCst);
    let len = AREA_LEN.load(Ordering::SeqCst);
    if base.is_null() || len < 2 {
        return;
    }
    let bytes = text.as_bytes();
    let n = bytes.len().min(len - 1);
    // SAFETY: [base, base + len) is this process's argv and environment
    // string area (from /proc/self/stat), which nothing reads any more
    // since init moved the environment away.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), base, n);
        let clear = title.written.max(n + 1).min(len);
        std::ptr::write_bytes(base.add(n), 0, clear - n);
    }
    title.written = n;
}

/// Sets the fixed part of this child's title ("checkpointer",
/// "user db host(port)") and shows it, with `activity` after it when not
/// empty. Any child, after fork; the first call clears the whole area (the
/// postmaster's command line the child inherited).
pub fn set_fixed(cluster_name: &str, update: bool, fixed: &str, activity: &str) {
    let mut guard = TITLE.lock().unwrap_or_else(|e| e.into_inner());
    let first = guard.is_none();
    let t = guard.get_or_insert_with(|| Title {
        prefix: String::new(),
        written: 0,
        update,
    });
    if first {
        t.written = AREA_LEN.load(Ordering::SeqCst);
    }
    t.prefix = format!("{}{fixed}", head(cluster_name));
    t.update = update;
    let text = if activity.is_empty() {
        t.prefix.clone()
    } else {
        format!("{} {activity}", t.prefix)
    };
    write(t, &text);
}

/// Shows what the process does now after the fixed part ("idle",
/// "SELECT"), unless update_process_title is off. Any child that called
/// [`set_fixed`].
pub fn set_activity(activity: &str) {
    let mut guard = TITLE.lock().unwrap_or_else(|e| e.into_inner());
    let Some(t) = guard.as_mut() else { return };
    if !t.update {
        return;
    }
    let text = format!("{} {activity}", t.prefix);
    write(t, &text);
}

/// update_process_title changed in this session (SET, reload).
pub fn set_update(update: bool) {
    let mut guard = TITLE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = guard.as_mut() {
        t.update = update;
    }
}
