//! The system's limits as they are now (Linux): what `tusk check` compares
//! a configuration with, and what the start-up line shows.
//!
//! Why every value is optional: /proc may be missing (some containers),
//! a file may be unreadable for this user, a cgroup may have no memory
//! controller. A value that cannot be read is reported as unknown; a
//! guess would send the operator the wrong way.

use std::path::{Path, PathBuf};
use tusk_ipc::limits::KernelView;

/// A limit's value: a number, no limit at all, or not readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    Of(u64),
    Unlimited,
    Unknown,
}

impl Amount {
    /// Whether `need` fits under the limit: `None` when unknown.
    pub fn allows(self, need: u64) -> Option<bool> {
        match self {
            Amount::Of(n) => Some(need <= n),
            Amount::Unlimited => Some(true),
            Amount::Unknown => None,
        }
    }

    pub fn value(self) -> Option<u64> {
        match self {
            Amount::Of(n) => Some(n),
            _ => None,
        }
    }

    pub fn text(self) -> String {
        match self {
            Amount::Of(n) => n.to_string(),
            Amount::Unlimited => "unlimited".to_string(),
            Amount::Unknown => "unknown".to_string(),
        }
    }
}

/// A resource limit's soft (enforced) and hard (ceiling for the soft
/// one) values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub soft: Amount,
    pub hard: Amount,
}

impl Rlimit {
    pub fn text(&self) -> String {
        format!("{} (hard {})", self.soft.text(), self.hard.text())
    }
}

fn amount(v: libc::rlim_t) -> Amount {
    if v == libc::RLIM_INFINITY {
        Amount::Unlimited
    } else {
        Amount::Of(v)
    }
}

/// `getrlimit(resource)`.
pub fn rlimit(resource: libc::__rlimit_resource_t) -> Rlimit {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct.
    if unsafe { libc::getrlimit(resource, &mut l) } != 0 {
        return Rlimit {
            soft: Amount::Unknown,
            hard: Amount::Unknown,
        };
    }
    Rlimit {
        soft: amount(l.rlim_cur),
        hard: amount(l.rlim_max),
    }
}

/// The memory limit of this process's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMemory {
    /// The smallest limit on the way from this cgroup to the root.
    pub limit: Amount,
    /// The file the limit was read from.
    pub file: Option<PathBuf>,
    /// 1 or 2, `None` when no memory controller was found.
    pub version: Option<u8>,
}

/// systemd-logind's RemoveIPC, and whether the server's user is exempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logind {
    /// systemd-logind is installed (its configuration or binary exists).
    pub present: bool,
    /// RemoveIPC after reading logind.conf and its drop-ins; `None` when
    /// no file sets it (systemd's default, yes, then applies).
    pub remove_ipc: Option<bool>,
    /// The file that set it last.
    pub source: Option<PathBuf>,
    /// SYS_UID_MAX from /etc/login.defs.
    pub sys_uid_max: Option<u64>,
}

/// Everything `tusk check` compares a configuration with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemLimits {
    /// System V limits and usage, memory and overcommit state.
    pub kernel: KernelView,
    /// fs.file-max.
    pub file_max: Amount,
    /// First field of fs.file-nr: file handles allocated now.
    pub files_open: Option<u64>,
    /// fs.nr_open: the ceiling of any RLIMIT_NOFILE.
    pub nr_open: Option<u64>,
    /// Size and free bytes of /dev/shm.
    pub dev_shm: Option<(u64, u64)>,
    pub nofile: Rlimit,
    pub nproc: Rlimit,
    pub data: Rlimit,
    pub memlock: Rlimit,
    pub address_space: Rlimit,
    /// The user the server runs as (the data directory's owner, or this
    /// process's user), and its name.
    pub uid: u32,
    pub user: String,
    /// Tasks (threads) that user runs now: what RLIMIT_NPROC counts.
    pub user_tasks: Option<u64>,
    pub cgroup: CgroupMemory,
    pub logind: Logind,
    /// This process's oom_score_adj.
    pub oom_score_adj: Option<i64>,
    /// Part of `kernel.usage` that is proven leftovers of the data
    /// directory being checked (`tusk_ipc::keys::orphans_of`): the server
    /// removes them at start, so they count as reclaimable, not in use.
    /// Zero unless the caller looked ([`with_reclaimable`]).
    pub reclaimable: tusk_ipc::limits::IpcUsage,
}

/// Counts the proven orphans of `datadir` (what the start-up reclaim
/// removes) as reclaimable. Any process may call it; it changes nothing.
/// Err says why they could not be looked for (then nothing counts as
/// reclaimable).
pub fn with_reclaimable(sys: &mut SystemLimits, datadir: &Path) -> Result<(), String> {
    let page = sys.kernel.limits.page_size.max(1);
    let mut r = tusk_ipc::limits::IpcUsage::default();
    for o in tusk_ipc::keys::orphans_of(datadir)? {
        match o.object {
            tusk_ipc::keys::IpcObject::Segment => {
                r.segments += 1;
                r.shm_bytes += o.size;
                r.shm_pages += o.size.div_ceil(page);
            }
            tusk_ipc::keys::IpcObject::SemSet => {
                r.sem_sets += 1;
                r.semaphores += o.size;
            }
        }
    }
    sys.reclaimable = r;
    Ok(())
}

fn read_trim(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn read_u64(path: impl AsRef<Path>) -> Option<u64> {
    read_trim(path)?.parse().ok()
}

/// Reads the limits for a server that runs as `uid`.
pub fn read(uid: u32) -> SystemLimits {
    let file_nr = read_trim("/proc/sys/fs/file-nr");
    let files_open = file_nr
        .as_deref()
        .and_then(|s| s.split_ascii_whitespace().next())
        .and_then(|s| s.parse().ok());
    SystemLimits {
        kernel: KernelView::read(),
        file_max: match read_u64("/proc/sys/fs/file-max") {
            // The kernel prints LONG_MAX-ish values for "no limit".
            Some(n) if n >= 1 << 62 => Amount::Unlimited,
            Some(n) => Amount::Of(n),
            None => Amount::Unknown,
        },
        files_open,
        nr_open: read_u64("/proc/sys/fs/nr_open"),
        dev_shm: statvfs_bytes(Path::new("/dev/shm")),
        nofile: rlimit(libc::RLIMIT_NOFILE),
        nproc: rlimit(libc::RLIMIT_NPROC),
        data: rlimit(libc::RLIMIT_DATA),
        memlock: rlimit(libc::RLIMIT_MEMLOCK),
        address_space: rlimit(libc::RLIMIT_AS),
        uid,
        user: user_name(uid),
        user_tasks: read_user_tasks(uid),
        cgroup: cgroup_memory(),
        logind: logind(),
        oom_score_adj: read_trim("/proc/self/oom_score_adj").and_then(|s| s.parse().ok()),
        reclaimable: tusk_ipc::limits::IpcUsage::default(),
    }
}

fn statvfs_bytes(path: &Path) -> Option<(u64, u64)> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: plain data filled by the call.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid path and out pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let f = st.f_frsize as u64;
    Some((st.f_blocks as u64 * f, st.f_bavail as u64 * f))
}

/// The name of `uid` from the password database, or the number.
pub fn user_name(uid: u32) -> String {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: plain data filled by getpwuid_r.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: buffers are valid for their lengths.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut out) };
    if rc != 0 || out.is_null() || pw.pw_name.is_null() {
        return uid.to_string();
    }
    // SAFETY: getpwuid_r succeeded, pw_name points into buf.
    unsafe { std::ffi::CStr::from_ptr(pw.pw_name) }
        .to_string_lossy()
        .into_owned()
}

/// Threads of every process whose real UID is `uid` (RLIMIT_NPROC counts
/// tasks per real user).
pub fn read_user_tasks(uid: u32) -> Option<u64> {
    let mut n = 0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|r| r.split_ascii_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        };
        if field("Uid:") == Some(uid as u64) {
            n += field("Threads:").unwrap_or(1);
        }
    }
    Some(n)
}

/// One line of /proc/self/mountinfo: (mount root, mount point, fs type,
/// super options).
fn mounts() -> Vec<(String, String, String, String)> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            Some((
                unescape(l.get(3)?),
                unescape(l.get(4)?),
                r.first()?.to_string(),
                r.get(2).unwrap_or(&"").to_string(),
            ))
        })
        .collect()
}

/// mountinfo escapes spaces and the like as \040.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v as char);
                i += 4;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

/// The cgroup path of this process for the memory controller, and the
/// version: v1 when a v1 hierarchy has the memory controller, else v2.
pub fn parse_proc_cgroup(text: &str) -> Option<(u8, String)> {
    let mut v2 = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if ctrls.split(',').any(|c| c == "memory") {
            return Some((1, path.to_string()));
        }
        if id == "0" && ctrls.is_empty() {
            v2 = Some((2, path.to_string()));
        }
    }
    v2
}

/// A memory limit file's value: "max" or a huge number is no limit.
pub fn parse_memory_limit(text: &str) -> Option<Amount> {
    let t = text.trim();
    if t == "max" {
        return Some(Amount::Unlimited);
    }
    let n: u64 = t.parse().ok()?;
    // cgroup v1 reports "no limit" as PAGE_COUNTER_MAX pages, near 2^63.
    Some(if n >= 1 << 62 {
        Amount::Unlimited
    } else {
        Amount::Of(n)
    })
}

fn cgroup_memory() -> CgroupMemory {
    let none = CgroupMemory {
        limit: Amount::Unknown,
        file: None,
        version: None,
    };
    let Some((version, path)) = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|t| parse_proc_cgroup(&t))
    else {
        return none;
    };
    let mount = mounts()
        .into_iter()
        .find(|(_, _, fstype, opts)| match version {
            1 => fstype == "cgroup" && opts.split(',').any(|o| o == "memory"),
            _ => fstype == "cgroup2",
        });
    let Some((root, point, _, _)) = mount else {
        return CgroupMemory {
            version: Some(version),
            ..none
        };
    };
    let rel = path
        .strip_prefix(root.trim_end_matches('/'))
        .unwrap_or(&path);
    let file_name = if version == 1 {
        "memory.limit_in_bytes"
    } else {
        "memory.max"
    };
    // The effective limit is the smallest on the way up to the mount's root.
    let mut dir = PathBuf::from(&point).join(rel.trim_start_matches('/'));
    let mut smallest: Option<(u64, PathBuf)> = None;
    let mut first_read: Option<PathBuf> = None;
    loop {
        let file = dir.join(file_name);
        if let Some(a) = read_trim(&file).and_then(|t| parse_memory_limit(&t)) {
            if let Amount::Of(n) = a {
                if smallest.as_ref().is_none_or(|(old, _)| n < *old) {
                    smallest = Some((n, file.clone()));
                }
            }
            first_read.get_or_insert(file);
        }
        if dir == Path::new(&point) || !dir.pop() || !dir.starts_with(&point) {
            break;
        }
    }
    match (smallest, first_read) {
        (Some((n, file)), _) => CgroupMemory {
            limit: Amount::Of(n),
            file: Some(file),
            version: Some(version),
        },
        (None, Some(file)) => CgroupMemory {
            limit: Amount::Unlimited,
            file: Some(file),
            version: Some(version),
        },
        (None, None) => CgroupMemory {
            version: Some(version),
            ..none
        },
    }
}

/// RemoveIPC= from logind configuration text (the [Login] section).
pub fn parse_remove_ipc(text: &str) -> Option<bool> {
    let mut in_login = true;
    let mut value = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            in_login = line == "[Login]";
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if in_login && k.trim() == "RemoveIPC" {
                value = tusk_config::parse_bool(v.trim());
            }
        }
    }
    value
}

/// SYS_UID_MAX from /etc/login.defs text (commented lines do not count).
pub fn parse_sys_uid_max(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let mut it = l.split_ascii_whitespace();
        (it.next()? == "SYS_UID_MAX").then_some(())?;
        it.next()?.parse().ok()
    })
}

fn logind() -> Logind {
    let present = [
        "/etc/systemd/logind.conf",
        "/usr/lib/systemd/logind.conf",
        "/lib/systemd/systemd-logind",
        "/usr/lib/systemd/systemd-logind",
    ]
    .iter()
    .any(|p| Path::new(p).exists());
    // The main file, then drop-ins ordered by file name (a name in /etc
    // hides the same name elsewhere), later settings winning.
    let mut files = Vec::new();
    if Path::new("/etc/systemd/logind.conf").exists() {
        files.push(PathBuf::from("/etc/systemd/logind.conf"));
    } else if Path::new("/usr/lib/systemd/logind.conf").exists() {
        files.push(PathBuf::from("/usr/lib/systemd/logind.conf"));
    }
    let mut dropins: std::collections::BTreeMap<std::ffi::OsString, PathBuf> = Default::default();
    for dir in [
        "/usr/lib/systemd/logind.conf.d",
        "/run/systemd/logind.conf.d",
        "/etc/systemd/logind.conf.d",
    ] {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if e.path().extension().is_some_and(|x| x == "conf") {
                    dropins.insert(e.file_name(), e.path());
                }
            }
        }
    }
    files.extend(dropins.into_values());
    let mut remove_ipc = None;
    let mut source = None;
    for f in files {
        if let Some(v) = std::fs::read_to_string(&f)
            .ok()
            .and_then(|t| parse_remove_ipc(&t))
        {
            remove_ipc = Some(v);
            source = Some(f);
        }
    }
    Logind {
        present,
        remove_ipc,
        source,
        sys_uid_max: std::fs::read_to_string("/etc/login.defs")
            .ok()
            .and_then(|t| parse_sys_uid_max(&t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_lines() {
        let v1 = "9:name=systemd:/\n4:memory:/process_api/c466\n0::/\n";
        assert_eq!(
            parse_proc_cgroup(v1),
            Some((1, "/process_api/c466".to_string()))
        );
        assert_eq!(
            parse_proc_cgroup("0::/user.slice/x.scope\n"),
            Some((2, "/user.slice/x.scope".to_string()))
        );
        assert_eq!(parse_proc_cgroup(""), None);
        assert_eq!(parse_memory_limit("max\n"), Some(Amount::Unlimited));
        assert_eq!(
            parse_memory_limit("9223372036854771712"),
            Some(Amount::Unlimited)
        );
        assert_eq!(parse_memory_limit("1073741824"), Some(Amount::Of(1 << 30)));
        assert_eq!(parse_memory_limit("x"), None);
    }

    #[test]
    fn logind_and_login_defs() {
        assert_eq!(parse_remove_ipc("[Login]\n#RemoveIPC=no\n"), None);
        assert_eq!(parse_remove_ipc("[Login]\nRemoveIPC=no\n"), Some(false));
        assert_eq!(
            parse_remove_ipc("[Login]\nRemoveIPC=yes\nRemoveIPC=false\n"),
            Some(false)
        );
        assert_eq!(parse_remove_ipc("[Other]\nRemoveIPC=no\n"), None);
        assert_eq!(parse_sys_uid_max("#SYS_UID_MAX 999\n"), None);
        assert_eq!(
            parse_sys_uid_max("UID_MIN 1000\nSYS_UID_MAX\t\t999\n"),
            Some(999)
        );
    }

    #[test]
    fn reading_this_system_does_not_fail() {
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        let s = read(uid);
        assert_eq!(s.uid, uid);
        assert!(matches!(s.nofile.soft, Amount::Of(_) | Amount::Unlimited));
        if let Some(text) = read_trim("/proc/sys/fs/nr_open") {
            assert_eq!(s.nr_open, text.parse().ok());
        }
        assert!(
            s.user_tasks.unwrap_or(1) >= 1,
            "this test's own process counts"
        );
        assert_eq!(unescape("/a\\040b"), "/a b");
    }
}
