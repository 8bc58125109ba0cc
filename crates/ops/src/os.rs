//! How to give a configuration what it needs on each operating system:
//! the parameters by their names there, with the values computed for the
//! configuration, where they are set, and whether a reboot is needed.
//!
//! Why per system: the limits are the same few (SHMMAX, SHMALL, SEMMNI,
//! SEMMNS, SEMMSL, SEMVMX, open files, processes) but every system spells
//! and sets them differently — sysctl, /etc/sysctl.conf, /boot/loader.conf,
//! kernel build options, /etc/system, resource controls — and an operator
//! asks "where and how do I change it?". The values come from
//! [`Needs`], never from a table of examples.

use tusk_ipc::limits::{pages_for, SemLimits, SYSCTL_D_FILE};
use tusk_server::resources::sizing::Needs;

/// The systems `--os` knows, with their accepted spellings.
pub const SYSTEMS: &[(&str, &[&str])] = &[
    ("linux", &[]),
    ("freebsd", &[]),
    ("netbsd", &[]),
    ("openbsd", &[]),
    ("macos", &["darwin", "osx", "macosx"]),
    ("solaris", &["sunos"]),
    ("illumos", &["openindiana", "smartos", "omnios"]),
    ("aix", &[]),
    ("hpux", &["hp-ux"]),
    ("bsdos", &["bsd/os"]),
    ("sco", &["openserver", "sco-openserver"]),
    ("unixware", &[]),
];

/// The canonical name for `name`, if it is a system `--os` knows.
pub fn canonical(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    SYSTEMS
        .iter()
        .find(|(c, aliases)| *c == n || aliases.contains(&n.as_str()))
        .map(|(c, _)| *c)
}

/// One parameter to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    /// The value to set (the need, or the need merged with the current value).
    pub value: String,
    /// What it is and in which unit.
    pub note: String,
}

/// What to do on one system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsAdvice {
    pub os: &'static str,
    pub title: &'static str,
    pub parameters: Vec<Parameter>,
    /// Commands and files, in order.
    pub steps: Vec<String>,
    /// Whether the change needs a reboot (or a kernel rebuild).
    pub reboot: String,
}

fn p(name: &str, value: impl ToString, note: &str) -> Parameter {
    Parameter {
        name: name.to_string(),
        value: value.to_string(),
        note: note.to_string(),
    }
}

/// The values the configuration needs, in the units systems count in.
struct Values {
    seg: u64,
    pages4k: u64,
    sets: u64,
    sems: u64,
    per_set: u64,
    semvmx: u64,
    procs: u64,
    files: u64,
}

fn values(n: &Needs) -> Values {
    Values {
        seg: n.segment_bytes,
        pages4k: pages_for(n.segment_bytes, 4096),
        sets: n.sem_sets,
        sems: n.kernel_semaphores,
        per_set: n.semaphores_per_set,
        semvmx: n.largest_semaphore_value,
        procs: n.processes,
        files: n.files_per_process,
    }
}

/// The advice for `os` (a canonical name from [`SYSTEMS`]). `current`,
/// when given, is this machine's kernel.sem (for Linux), which the new
/// value must not lower.
pub fn advice(os: &str, n: &Needs, current_sem: Option<SemLimits>) -> Option<OsAdvice> {
    let v = values(n);
    let a = match os {
        "linux" => {
            let sem = match current_sem {
                Some(c) => SemLimits {
                    semmsl: c.semmsl.max(v.per_set),
                    semmns: c.semmns.max(v.sems),
                    semopm: c.semopm.max(1),
                    semmni: c.semmni.max(v.sets),
                },
                None => SemLimits { semmsl: v.per_set, semmns: v.sems, semopm: 1, semmni: v.sets },
            };
            let sem_note = if current_sem.is_some() {
                "SEMMSL SEMMNS SEMOPM SEMMNI: this machine's values, raised where this configuration needs more"
            } else {
                "SEMMSL SEMMNS SEMOPM SEMMNI: the least this configuration needs, plus what other programs use"
            };
            OsAdvice {
                os: "linux",
                title: "Linux",
                parameters: vec![
                    p("kernel.shmmax", v.seg.next_multiple_of(4096), "bytes: the largest segment"),
                    p("kernel.shmall", format!("{} + others", pages_for(v.seg, 4096)), "pages (getconf PAGE_SIZE, usually 4096) of all segments"),
                    p("kernel.shmmni", "1 + others", "segments in the system"),
                    p("kernel.sem", format!("\"{}\"", sem.sysctl_value()), sem_note),
                    p("SEMVMX", format!("{} (fixed at 32767)", v.semvmx), "largest semaphore value: a kernel constant"),
                    p("fs.file-max", format!("{} + others", v.procs * v.files), "open files in the system"),
                    p("RLIMIT_NOFILE", v.files, "open files per process (ulimit -n)"),
                    p("RLIMIT_NPROC", format!("{} + others of the user", v.procs), "processes of the server's user (ulimit -u)"),
                    p("vm.overcommit_memory", 2, "strict accounting: allocations fail instead of the OOM killer"),
                ],
                steps: vec![
                    format!(
                        "Now, as root: sysctl -w kernel.shmmax={} kernel.sem=\"{}\" (and kernel.shmall, kernel.shmmni \
                         if other programs need room).",
                        v.seg.next_multiple_of(4096),
                        sem.sysctl_value()
                    ),
                    format!(
                        "After a reboot: put \"kernel.shmmax = {}\" and \"kernel.sem = {}\" in {SYSCTL_D_FILE}, then \
                         \"sysctl --system\" applies it at once.",
                        v.seg.next_multiple_of(4096),
                        sem.sysctl_value()
                    ),
                    "These limits belong to the IPC namespace: a container has its own, set when it starts (docker \
                     run --sysctl kernel.shmmax=..., Kubernetes securityContext.sysctls)."
                        .to_string(),
                    format!(
                        "Resource limits: \"ulimit -n {} -u {}\" in the shell that starts the server; LimitNOFILE={} \
                         and LimitNPROC={} in its systemd unit; or \"<user> soft nofile {}\" lines in \
                         /etc/security/limits.conf.",
                        v.files, v.procs, v.files, v.procs, v.files
                    ),
                    "Huge pages (shared_memory_type = mmap): sysctl -w vm.nr_hugepages=N, N from \"tusk server -C \
                     shared_memory_size_in_huge_pages\"."
                        .to_string(),
                ],
                reboot: "no: sysctl changes apply at once".to_string(),
            }
        }
        "freebsd" => OsAdvice {
            os: "freebsd",
            title: "FreeBSD",
            parameters: vec![
                p("kern.ipc.shmmax", v.seg.next_multiple_of(4096), "bytes: the largest segment (sysctl)"),
                p("kern.ipc.shmall", format!("{} + others", v.pages4k), "4 kB pages of all segments (sysctl)"),
                p("kern.ipc.semmni", format!("{} + others", v.sets), "semaphore sets (loader tunable)"),
                p("kern.ipc.semmns", format!("{} + others", v.sems), "semaphores in the system (loader tunable)"),
                p("kern.ipc.semmsl", v.per_set, "semaphores per set (loader tunable)"),
                p("kern.ipc.semvmx", v.semvmx, "largest semaphore value (loader tunable; default 32767)"),
                p("maxproc (login.conf)", v.procs, "processes of the server's user"),
                p("openfiles (login.conf)", v.files, "open files per process"),
            ],
            steps: vec![
                format!(
                    "Now, as root: sysctl kern.ipc.shmmax={} kern.ipc.shmall={}; to keep them, the same lines in \
                     /etc/sysctl.conf.",
                    v.seg.next_multiple_of(4096),
                    v.pages4k
                ),
                format!(
                    "The semaphore limits are read-only at run time: put kern.ipc.semmni={} and kern.ipc.semmns={} \
                     (each plus what other programs use) in /boot/loader.conf, or type them at the loader prompt \
                     (\"set kern.ipc.semmni={}\").",
                    v.sets, v.sems, v.sets
                ),
                "Optional: sysctl kern.ipc.shm_use_phys=1 keeps System V shared memory in RAM.".to_string(),
                "In a jail, give it its own System V namespaces (sysvshm=new, sysvsem=new in jail.conf).".to_string(),
                format!(
                    "Resource limits in /etc/login.conf for the server's login class: :maxproc-cur={}: \
                     :openfiles-cur={}: (and -max for the hard limits), then \"cap_mkdb /etc/login.conf\".",
                    v.procs, v.files
                ),
            ],
            reboot: "for the semaphore limits (loader tunables); sysctl changes apply at once".to_string(),
        },
        "netbsd" => OsAdvice {
            os: "netbsd",
            title: "NetBSD",
            parameters: vec![
                p("kern.ipc.shmmax", v.seg.next_multiple_of(4096), "bytes: the largest segment"),
                p("kern.ipc.shmmaxpgs", format!("{} + others", v.pages4k), "4 kB pages of all segments"),
                p("kern.ipc.semmni", format!("{} + others", v.sets), "semaphore sets (the default is too small)"),
                p("kern.ipc.semmns", format!("{} + others", v.sems), "semaphores in the system (the default is too small)"),
                p("SEMMSL", v.per_set, "semaphores per set"),
                p("SEMVMX", v.semvmx, "largest semaphore value"),
                p("maxproc (login.conf)", v.procs, "processes of the server's user"),
                p("openfiles (login.conf)", v.files, "open files per process"),
            ],
            steps: vec![
                format!(
                    "Now, as root: sysctl -w kern.ipc.semmni={} kern.ipc.semmns={} (and kern.ipc.shmmax={} with \
                     shared_memory_type = sysv); to keep them, the same lines in /etc/sysctl.conf.",
                    v.sets,
                    v.sems,
                    v.seg.next_multiple_of(4096)
                ),
                format!(
                    "Kernels without these sysctls take build options: options SYSVSHM, options SHMMAXPGS={}, options \
                     SYSVSEM, options SEMMNI={}, options SEMMNS={}; rebuild the kernel and reboot.",
                    v.pages4k, v.sets, v.sems
                ),
                format!(
                    "Resource limits in /etc/login.conf: :maxproc-cur={}: :openfiles-cur={}:.",
                    v.procs, v.files
                ),
            ],
            reboot: "no with sysctl; yes when the limits are kernel build options".to_string(),
        },
        "openbsd" => OsAdvice {
            os: "openbsd",
            title: "OpenBSD",
            parameters: vec![
                p("kern.shminfo.shmmax", v.seg.next_multiple_of(4096), "bytes: the largest segment"),
                p("kern.shminfo.shmall", format!("{} + others", v.pages4k), "4 kB pages of all segments"),
                p("kern.seminfo.semmni", format!("{} + others", v.sets), "semaphore sets (the default is too small)"),
                p("kern.seminfo.semmns", format!("{} + others", v.sems), "semaphores in the system (the default is too small)"),
                p("kern.seminfo.semmsl", v.per_set, "semaphores per set"),
                p("kern.seminfo.semvmx", v.semvmx, "largest semaphore value"),
                p("maxproc (login.conf)", v.procs, "processes of the server's user"),
                p("openfiles (login.conf)", v.files, "open files per process"),
            ],
            steps: vec![
                format!(
                    "Now, as root: sysctl kern.seminfo.semmni={} kern.seminfo.semmns={} (and kern.shminfo.shmmax={} \
                     with shared_memory_type = sysv); to keep them, the same lines in /etc/sysctl.conf.",
                    v.sets,
                    v.sems,
                    v.seg.next_multiple_of(4096)
                ),
                format!(
                    "Resource limits in /etc/login.conf for the server's class: :maxproc-cur={}: :openfiles-cur={}: \
                     (the daemon class for services started from rc.d).",
                    v.procs, v.files
                ),
            ],
            reboot: "no: sysctl changes apply at once".to_string(),
        },
        "macos" => OsAdvice {
            os: "macos",
            title: "macOS",
            parameters: vec![
                p("kern.sysv.shmmax", v.seg.next_multiple_of(4096), "bytes: the largest segment (a multiple of 4096, or it is ignored)"),
                p("kern.sysv.shmmin", 1, "bytes: the smallest segment"),
                p("kern.sysv.shmmni", "32 or more", "segments in the system"),
                p("kern.sysv.shmseg", "8 or more", "segments per process (tusk uses one)"),
                p("kern.sysv.shmall", format!("{} + others", v.pages4k), "4 kB pages of all segments"),
                p("kern.sysv.semmni", format!("{} + others", v.sets), "semaphore sets"),
                p("kern.sysv.semmns", format!("{} + others", v.sems), "semaphores in the system"),
                p("kern.sysv.semmsl", v.per_set, "semaphores per set"),
                p("maxfiles", v.files, "open files per process (launchctl limit maxfiles)"),
                p("maxproc", v.procs, "processes (launchctl limit maxproc)"),
            ],
            steps: vec![
                "Put all five kern.sysv.shm* lines in /etc/sysctl.conf (name=value): unless all five are set, the \
                 values are ignored."
                    .to_string(),
                "Put the kern.sysv.sem* lines there too.".to_string(),
                format!(
                    "Open files and processes: \"launchctl limit maxfiles {} unlimited\" and \"launchctl limit maxproc \
                     {}\", or a LaunchDaemon plist that runs them at boot.",
                    v.files, v.procs
                ),
            ],
            reboot: "yes: the System V limits are read at boot".to_string(),
        },
        "solaris" | "illumos" => OsAdvice {
            os: if os == "solaris" { "solaris" } else { "illumos" },
            title: if os == "solaris" { "Solaris" } else { "illumos (OpenIndiana, SmartOS, OmniOS)" },
            parameters: vec![
                p("project.max-shm-memory", v.seg, "bytes of shared memory for the server's project (resource control)"),
                p("project.max-shm-ids", "1 + others", "segments"),
                p("project.max-sem-ids", format!("{} + others", v.sets), "semaphore sets"),
                p("process.max-sem-nsems", v.per_set, "semaphores per set"),
                p("process.max-file-descriptor", v.files, "open files per process"),
                p("shmsys:shminfo_shmmax / semsys:seminfo_semmni, seminfo_semmns, seminfo_semmsl, seminfo_semvmx", format!("{} / {}, {}, {}, {}", v.seg, v.sets, v.sems, v.per_set, v.semvmx), "the same in /etc/system, for releases before Solaris 10"),
            ],
            steps: vec![
                format!(
                    "Solaris 10 and later, illumos: projmod -s -K \"project.max-shm-memory=(privileged,{},deny)\" -K \
                     \"project.max-sem-ids=(privileged,{},deny)\" user.<server user> (projadd first if the project \
                     does not exist); it applies to processes started after the change, no reboot.",
                    v.seg, v.sets
                ),
                format!(
                    "Older releases: in /etc/system, \"set shmsys:shminfo_shmmax={}\", \"set \
                     semsys:seminfo_semmni={}\", \"set semsys:seminfo_semmns={}\", \"set semsys:seminfo_semmsl={}\", \
                     \"set semsys:seminfo_semvmx={}\"; reboot.",
                    v.seg, v.sets, v.sems, v.per_set, v.semvmx
                ),
            ],
            reboot: "no with resource controls (prctl/projmod); yes with /etc/system".to_string(),
        },
        "aix" => OsAdvice {
            os: "aix",
            title: "AIX",
            parameters: vec![
                p("SHMMAX, SEMMNI, SEMMNS", "dynamic", "AIX 5.1 and later size System V IPC themselves"),
                p("nofiles (/etc/security/limits)", v.files, "open files per process"),
                p("fsize (/etc/security/limits)", "-1", "largest file: unlimited"),
                p("maxuproc", v.procs, "processes per user (chdev -l sys0)"),
            ],
            steps: vec![
                format!(
                    "As root: chuser nofiles={} fsize=-1 <server user> (the default hard limits can be too low); \
                     chdev -l sys0 -a maxuproc={}.",
                    v.files, v.procs
                ),
            ],
            reboot: "no: the user's next login gets the new limits".to_string(),
        },
        "hpux" => OsAdvice {
            os: "hpux",
            title: "HP-UX",
            parameters: vec![
                p("shmmax", v.seg, "bytes: the largest segment"),
                p("semmni", format!("{} + others", v.sets), "semaphore sets"),
                p("semmns", format!("{} + others", v.sems), "semaphores in the system (HP-UX 10 defaults to 128)"),
                p("semmap", format!("{} + others", v.sems), "entries of the semaphore map (older releases)"),
                p("semvmx", v.semvmx, "largest semaphore value"),
                p("maxfiles", v.files, "open files per process"),
                p("maxuprc", v.procs, "processes per user"),
            ],
            steps: vec![
                format!(
                    "HP-UX 11i v2 and later: kctune semmni={} semmns={} shmmax={} maxfiles={} maxuprc={}; kctune says \
                     whether a change waits for a reboot.",
                    v.sets, v.sems, v.seg, v.files, v.procs
                ),
                "Older releases: SAM, Kernel Configuration, Configurable Parameters; then \"Create a New Kernel\" and \
                 reboot."
                    .to_string(),
            ],
            reboot: "for some parameters (kctune tells); always with SAM's new kernel".to_string(),
        },
        "bsdos" => OsAdvice {
            os: "bsdos",
            title: "BSD/OS",
            parameters: vec![
                p("SHMALL", v.pages4k, "4 kB pages of shared memory"),
                p("SHMMAX", "(SHMALL*PAGE_SIZE)", "bytes: the largest segment"),
                p("SEMMNI", format!("{} + others", v.sets), "semaphore sets"),
                p("SEMMNS", format!("{} + others", v.sems), "semaphores in the system (the default, 60, is too small)"),
                p("maxproc, openfiles (login.conf)", format!("{}, {}", v.procs, v.files), "per user / per process"),
            ],
            steps: vec![
                format!(
                    "In the kernel configuration: options \"SHMALL={}\", options \"SHMMAX=\\(SHMALL*PAGE_SIZE\\)\", \
                     options \"SEMMNI={}\", options \"SEMMNS={}\"; rebuild the kernel and reboot (4.3 and later may \
                     also need kernel_virtual_mb above 248; 4.0 and earlier need SYSPTSIZE raised by one per extra 4 \
                     MB).",
                    v.pages4k, v.sets, v.sems
                ),
                format!("/etc/login.conf: :maxproc-cur={}: :openfiles-cur={}:.", v.procs, v.files),
            ],
            reboot: "yes: the limits are kernel build options".to_string(),
        },
        "sco" => OsAdvice {
            os: "sco",
            title: "SCO OpenServer",
            parameters: vec![
                p("SHMMAX", v.seg, "bytes: the largest segment (default 512 kB)"),
                p("SEMMNI", format!("{} + others", v.sets), "semaphore sets"),
                p("SEMMNS", format!("{} + others", v.sems), "semaphores in the system"),
                p("SEMMSL", v.per_set, "semaphores per set"),
            ],
            steps: vec![
                format!(
                    "cd /etc/conf/cf.d; ./configure -y SHMMAX shows the value; ./configure SHMMAX={} SEMMNI={} \
                     SEMMNS={}; ./link_unix; reboot.",
                    v.seg, v.sets, v.sems
                ),
            ],
            reboot: "yes: the kernel is relinked".to_string(),
        },
        "unixware" => OsAdvice {
            os: "unixware",
            title: "UnixWare",
            parameters: vec![
                p("SHMMAX", v.seg, "bytes: the largest segment (default 512 kB)"),
                p("SEMMNI", format!("{} + others", v.sets), "semaphore sets"),
                p("SEMMNS", format!("{} + others", v.sems), "semaphores in the system"),
                p("SEMMSL", v.per_set, "semaphores per set"),
            ],
            steps: vec![
                format!(
                    "/etc/conf/bin/idtune -g SHMMAX shows the value; /etc/conf/bin/idtune SHMMAX {}; idtune SEMMNI {}; \
                     idtune SEMMNS {}; /etc/conf/bin/idbuild -B; reboot.",
                    v.seg, v.sets, v.sems
                ),
            ],
            reboot: "yes: the kernel is rebuilt".to_string(),
        },
        _ => return None,
    };
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tusk_config::Settings;

    #[test]
    fn every_system_has_advice_with_this_configurations_numbers() {
        let n = tusk_server::resources::needs(&Settings::defaults()).unwrap();
        for (name, aliases) in SYSTEMS {
            assert_eq!(canonical(name), Some(*name));
            for a in *aliases {
                assert_eq!(canonical(a), Some(*name));
            }
            let a = advice(name, &n, None).unwrap();
            let text = format!("{a:?}");
            if *name != "aix" {
                assert!(text.contains(&n.sem_sets.to_string()), "{name}: {text}");
            }
            assert!(!a.reboot.is_empty() && !a.steps.is_empty());
        }
        assert_eq!(canonical("windows"), None);
        let cur = SemLimits {
            semmsl: 250,
            semmns: 100,
            semopm: 32,
            semmni: 128,
        };
        let linux = advice("linux", &n, Some(cur)).unwrap();
        let sem = linux
            .parameters
            .iter()
            .find(|p| p.name == "kernel.sem")
            .unwrap();
        assert_eq!(
            sem.value,
            format!("\"250 {} 32 128\"", n.kernel_semaphores.max(100))
        );
    }
}
