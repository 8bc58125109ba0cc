//! `tusk ipc list|clean`: see every System V shared memory segment and
//! semaphore set, say which are tusk's or PostgreSQL's and whether their
//! server still runs, and remove only the leftovers that are proven dead.
//!
//! Why this exists: after a crash the seed's remedy is `ipcs`, then `ipcrm`
//! by hand "after making sure no postgres process runs", and `ipcrm -a`
//! takes everyone's objects. The kernel does not know which segment belongs
//! to which data directory or whether its owner is dead; tusk's and
//! PostgreSQL's segment headers (magic, data directory device and inode,
//! creator PID) and semaphore markers do, so this command reads them and
//! applies PostgreSQL's own start-up rule (an object of ours with no process
//! attached is a leftover) plus a proof that the creator is gone.
//!
//! # What an object is
//!
//! | kind         | recognised by                                                   |
//! |--------------|-----------------------------------------------------------------|
//! | `tusk`       | segment: tusk's header ("tuskSHM1"); set: marker = 8875          |
//! | `postgresql` | segment: PGShmemHeader magic 679834894; set: marker = 537        |
//! | `foreign`    | anything else, or an object this user may not read               |
//!
//! and, for tusk's and PostgreSQL's objects, its state:
//!
//! - `live`: its server runs (segment: attached, creator running; set: its
//!   creator is the running postmaster of a live segment).
//! - `in-use`: its server is gone but processes still use it (a segment
//!   still attached, e.g. by backends that outlived a killed postmaster; a
//!   set whose server's segment is still attached), or its creator still
//!   runs without the rest of a server. Never removed.
//! - `orphan`: proven dead, with the evidence listed: attach count 0
//!   (segments), the creator PID gone, a zombie, or reused by a process
//!   that started after the object was made, and for a set no attached
//!   segment of its server; plus what the data directory's postmaster.pid
//!   says (absent, stale, naming another segment).
//!
//! A semaphore set carries no data directory; it is tied to a segment by
//! its creator PID (both are made by the postmaster). PostgreSQL on Linux
//! uses POSIX semaphores inside its shared memory (since 10), so a
//! PostgreSQL server on Linux has no semaphore sets at all; sets with
//! marker 537 come from other platforms or builds and are recognised all
//! the same. PostgreSQL's data directory path is not in its header: it is
//! named when its postmaster runs (its working directory) or when given
//! with `clean -D`.
//!
//! # `list --json`
//!
//! One object, stable within `"version": 1` (fields are only added):
//!
//! ```text
//! {
//!   "format": "tusk-ipc-list", "version": 1,
//!   "segments": [ {
//!       "key": "0x0052e2c1", "key_decimal": 5432001, "id": 19,
//!       "owner": "postgres", "uid": 113, "gid": 120, "cuid": 113, "cgid": 120,
//!       "perms": "600", "bytes": 149520384, "nattch": 0, "cpid": 4242, "lpid": 4250,
//!       "attach_time": 1700000000, "detach_time": 1700000100, "change_time": 1699999999,
//!       "removed": false,                      // marked for removal (IPC_RMID), waits for its last detach
//!       "kind": "tusk" | "postgresql" | "foreign",
//!       "state": "live" | "in-use" | "orphan" | null,      // null for foreign
//!       "label": "tusk orphan",
//!       "creator_pid": 4242 | null,
//!       "creator": "running" | "gone" | "zombie" | "reused" | null,
//!       "data_directory": { "path": "/srv/tusk" | null, "device": 2049, "inode": 1234,
//!                           "exists": true | false | null } | null,
//!       "port": 5432 | null, "postmaster_pid": 4242 | null,   // postmaster_pid only when live
//!       "attached_pids": [4250],
//!       "dsm_control": 3868710266 | null,      // PostgreSQL's dynamic shared memory control handle
//!       "evidence": ["attach count 0", "creator PID 4242 does not exist", ...],
//!       "notes": ["..."] } ],
//!   "semaphore_sets": [ {
//!       "key", "key_decimal", "id", "owner", "uid", "gid", "cuid", "cgid", "perms",   // as above
//!       "nsems": 17, "op_time": 1700000000, "change_time": 1699999999,
//!       "kind", "state", "label", "creator_pid", "creator", "data_directory", "port",
//!       "postmaster_pid", "evidence", "notes",                                        // as above
//!       "marker": 8875 | 537 | null,           // the last semaphore's value, null if unreadable
//!       "segment_id": 19 | null } ]            // the segment of the same server (same creator)
//! }
//! ```
//!
//! Times are Unix seconds, null when the kernel says "not set" (0).
//!
//! # `clean`
//!
//! `-D DIR` takes the objects of that data directory (tusk's or
//! PostgreSQL's: header device and inode; sets by creator PID), refuses
//! everything while DIR's postmaster runs, removes the orphans, refuses
//! (naming the processes) what is still in use, and, when nothing of DIR
//! remains, removes the stale postmaster.pid and the socket and socket
//! lock it names (once the lock file is proven stale too).
//! `--all-orphans` removes every orphan, whatever its data directory,
//! except where that directory's postmaster runs. `--force-id [shm:|sem:]ID`
//! removes that one object even if foreign or its creator runs, but never
//! while attached (segment), waited on (set) or part of a running server.
//! Every object is judged again right before its removal. Exit status: 0
//! done (or nothing to do), 1 something was refused or failed (the reasons
//! are printed), 2 bad arguments.

use clap::{ArgGroup, Args, Parser, Subcommand};
use serde_json::{json, Value};
use std::io::{BufRead, IsTerminal, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tusk_common::pidfile::{PidFile, PidFileError};
use tusk_ipc::keys::{datadir_identity, process_fate, ProcessFate};
use tusk_ipc::sem::{self, SemInfo, PG_SEMA_MAGIC, TUSK_SEMA_MAGIC};
use tusk_ipc::shm::{self, Segment, ShmInfo};
use tusk_ipc::{errno_text, sysv_list};
use tusk_server::resources::system::user_name;

const EXIT_REFUSED: u8 = 1;
const EXIT_USAGE: u8 = 2;

/// Where PostgreSQL's POSIX dynamic shared memory lives (`/PostgreSQL.N`).
const DEV_SHM: &str = "/dev/shm";
/// PostgreSQL's dynamic shared memory control segment magic.
const PG_DSM_CONTROL_MAGIC: u32 = 0x9a50_3d32;

#[derive(Parser)]
#[command(
    name = "tusk ipc",
    bin_name = "tusk ipc",
    about = "List System V shared memory and semaphore sets, and safely remove the leftovers of crashed tusk and PostgreSQL servers",
    long_about = "List System V shared memory segments and semaphore sets, and safely remove the leftovers of \
crashed tusk and PostgreSQL servers.\n\n\
Each object is named by what it is: tusk's or PostgreSQL's (read from its header or semaphore \
marker) or foreign, and for a server's object its state: live (the server runs), in-use (the server \
is gone but processes still use it: never removed) or orphan (proven dead, with the evidence).\n\n\
Instead of ipcs and ipcrm: \"tusk ipc list\", then \"tusk ipc clean -D DIR\" for one data directory \
or \"tusk ipc clean --all-orphans\". Nothing attached, nothing whose server runs and nothing foreign \
is ever removed, unless named with --force-id (and never while attached).\n\n\
Exit status: 0 done, 1 refused or failed (the reasons are printed), 2 bad arguments."
)]
struct IpcCli {
    #[command(subcommand)]
    command: IpcCommand,
}

#[derive(Subcommand)]
enum IpcCommand {
    /// List every segment and semaphore set with ipcs' columns, what it is, and why an orphan is one.
    #[command(
        long_about = "List every System V shared memory segment and semaphore set visible to this \
user, with ipcs' columns (key, id, owner, perms, bytes or nsems, nattch, creator and last PIDs, times), \
what each is (tusk live / in-use / orphan, PostgreSQL live / in-use / orphan, foreign), the data \
directory, postmaster PID and port where known, and for an orphan the evidence that its server is dead.\n\n\
PostgreSQL on Linux uses POSIX semaphores, so its servers show a segment but no semaphore sets."
    )]
    List(ListArgs),
    /// Remove proven orphans: of one data directory (-D), or all (--all-orphans).
    #[command(long_about = "Remove proven orphans, printing each and why.\n\n\
-D DIR: the objects of that data directory (tusk's or PostgreSQL's). Refused while DIR's postmaster \
runs. Objects still in use are refused, naming the processes. When nothing of DIR remains, its stale \
postmaster.pid and the socket and socket lock file it names are removed too.\n\n\
--all-orphans: every orphan, whatever its data directory, except where that directory's postmaster runs.\n\n\
--force-id ID: that object even if foreign or its creator runs, but never while attached (segment), \
waited on (set) or part of a running server.\n\n\
Asks for confirmation on a terminal; elsewhere give --yes (or --dry-run to see the plan).\n\n\
Exit status: 0 done or nothing to do, 1 something refused or failed, 2 bad arguments.")]
    #[command(group(ArgGroup::new("what").required(true).multiple(true).args(["data_dir", "all_orphans", "force_ids"])))]
    Clean(CleanArgs),
}

#[derive(Args)]
struct ListArgs {
    /// Print one JSON object (shape in docs/operations.md) instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct CleanArgs {
    /// Data directory whose leftovers to remove (with its stale postmaster.pid and socket files).
    #[arg(
        short = 'D',
        long = "pgdata",
        value_name = "DIR",
        conflicts_with = "all_orphans"
    )]
    data_dir: Option<PathBuf>,
    /// Remove every proven orphan of tusk and PostgreSQL, whatever its data directory.
    #[arg(long = "all-orphans")]
    all_orphans: bool,
    /// Also remove this object, even foreign: shm:ID, sem:ID, or ID when only one kind has it. Repeatable.
    #[arg(long = "force-id", value_name = "ID")]
    force_ids: Vec<String>,
    /// Print what would be removed and why; remove nothing.
    #[arg(short = 'n', long = "dry-run")]
    dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long = "yes")]
    yes: bool,
}

/// Entry point: `args` are the arguments after `ipc`.
pub fn run(args: Vec<String>) -> ExitCode {
    let cli = match IpcCli::try_parse_from(std::iter::once("tusk ipc".to_string()).chain(args)) {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(code.clamp(0, 255) as u8);
        }
    };
    match cli.command {
        IpcCommand::List(a) => list(&a),
        IpcCommand::Clean(a) => clean(&a),
    }
}

// ---------------------------------------------------------------------
// What each object is
// ---------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tusk,
    Pg,
    Foreign,
}

impl Kind {
    fn json(self) -> &'static str {
        match self {
            Kind::Tusk => "tusk",
            Kind::Pg => "postgresql",
            Kind::Foreign => "foreign",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Tusk => "tusk",
            Kind::Pg => "PostgreSQL",
            Kind::Foreign => "foreign",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Live,
    InUse,
    Orphan,
}

impl State {
    fn json(self) -> &'static str {
        match self {
            State::Live => "live",
            State::InUse => "in-use",
            State::Orphan => "orphan",
        }
    }
}

/// A segment's state from its attach count (read before anyone of ours
/// attached) and whether its creator is proven gone. PostgreSQL's start
/// rule is "no process attached"; tusk adds "and the creator is gone", so
/// that a server between creating and attaching is never taken.
fn segment_state(nattch: u64, creator_gone: bool) -> State {
    match (nattch, creator_gone) {
        (0, true) => State::Orphan,
        (0, false) => State::InUse,
        (_, false) => State::Live,
        (_, true) => State::InUse,
    }
}

/// A set's state from its creator's fate and the segment of the same
/// server (same creator PID), if there is one: (its state, its nattch).
/// Backends of a killed postmaster keep using the sets while they keep the
/// segment attached, so such a set is in use, not an orphan.
fn set_state(creator_gone: bool, segment: Option<(State, u64)>) -> State {
    if !creator_gone {
        return match segment {
            Some((State::Live, _)) => State::Live,
            _ => State::InUse,
        };
    }
    match segment {
        Some((_, n)) if n > 0 => State::InUse,
        _ => State::Orphan,
    }
}

fn fate_json(f: ProcessFate) -> &'static str {
    match f {
        ProcessFate::Alive => "running",
        ProcessFate::Gone => "gone",
        ProcessFate::Zombie => "zombie",
        ProcessFate::Reused { .. } => "reused",
    }
}

/// A data directory as far as an object tells.
#[derive(Debug, Clone)]
struct DataDir {
    path: Option<PathBuf>,
    dev: u64,
    ino: u64,
    /// Whether `path` still names a directory with this device and inode
    /// (None: no path known).
    exists: Option<bool>,
    /// Its postmaster.pid, judged (only when `exists`).
    pidfile: Option<PidVerdict>,
}

impl DataDir {
    fn new(path: Option<PathBuf>, dev: u64, ino: u64) -> DataDir {
        let exists = path
            .as_ref()
            .map(|p| datadir_identity(p).ok() == Some((dev, ino)));
        let pidfile = match (&path, exists) {
            (Some(p), Some(true)) => Some(judge_pidfile(p, (dev, ino))),
            _ => None,
        };
        DataDir {
            path,
            dev,
            ino,
            exists,
            pidfile,
        }
    }

    fn describe(&self) -> String {
        let id = format!("device {} inode {}", fmt_dev(self.dev), self.ino);
        match (&self.path, self.exists) {
            (Some(p), Some(true)) => format!("data directory \"{}\" ({id})", p.display()),
            (Some(p), _) => format!("data directory \"{}\" ({id}, no longer there)", p.display()),
            (None, _) => format!("data directory with {id} (path unknown)"),
        }
    }

    fn json(&self) -> Value {
        json!({
            "path": self.path.as_ref().map(|p| p.display().to_string()),
            "device": self.dev,
            "inode": self.ino,
            "exists": self.exists,
        })
    }

    /// The running postmaster of this directory, if its postmaster.pid says so.
    fn live_postmaster(&self) -> Option<i32> {
        match &self.pidfile {
            Some(PidVerdict::Live { pid, .. }) => Some(*pid),
            _ => None,
        }
    }
}

/// Major:minor of a device number (glibc's encoding).
fn fmt_dev(dev: u64) -> String {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    format!("{major}:{minor}")
}

/// A shared memory segment and what it is.
#[derive(Debug, Clone)]
struct Seg {
    info: ShmInfo,
    kind: Kind,
    state: Option<State>,
    creator_pid: Option<i32>,
    fate: Option<ProcessFate>,
    datadir: Option<DataDir>,
    port: Option<u32>,
    attached: Vec<i32>,
    dsm_control: Option<u32>,
    evidence: Vec<String>,
    notes: Vec<String>,
}

/// A semaphore set and what it is.
#[derive(Debug, Clone)]
struct Set {
    info: SemInfo,
    kind: Kind,
    state: Option<State>,
    marker: Option<i32>,
    creator_pid: Option<i32>,
    fate: Option<ProcessFate>,
    segment_id: Option<i32>,
    datadir: Option<DataDir>,
    port: Option<u32>,
    evidence: Vec<String>,
    notes: Vec<String>,
}

fn label(kind: Kind, state: Option<State>) -> String {
    match (kind, state) {
        (Kind::Foreign, _) | (_, None) => "foreign".to_string(),
        (k, Some(State::Live)) => format!("{} live", k.name()),
        (k, Some(State::InUse)) => format!("{} in use", k.name()),
        (k, Some(State::Orphan)) => format!("{} orphan", k.name()),
    }
}

impl Seg {
    fn label(&self) -> String {
        label(self.kind, self.state)
    }

    fn postmaster_pid(&self) -> Option<i32> {
        (self.state == Some(State::Live))
            .then_some(self.creator_pid)
            .flatten()
    }
}

impl Set {
    fn label(&self) -> String {
        label(self.kind, self.state)
    }

    fn postmaster_pid(&self) -> Option<i32> {
        (self.state == Some(State::Live))
            .then_some(self.creator_pid)
            .flatten()
    }
}

#[derive(Debug, Default)]
struct Survey {
    segs: Vec<Seg>,
    sets: Vec<Set>,
}

/// Looks at every object. `known_dirs` are data directories named on the
/// command line, so that PostgreSQL's segments of them get a path.
fn survey(known_dirs: &[(PathBuf, (u64, u64))]) -> Result<Survey, String> {
    let shm_rows = sysv_list::list_segments()
        .map_err(|e| format!("could not read the kernel's shared memory table: {e}"))?;
    let sem_rows = sysv_list::list_sem_sets()
        .map_err(|e| format!("could not read the kernel's semaphore table: {e}"))?;
    let mut out = Survey::default();
    for row in shm_rows {
        if let Some(seg) = look_at_segment(row, known_dirs) {
            out.segs.push(seg);
        }
    }
    for row in sem_rows {
        if let Some(set) = look_at_set(row, &out.segs) {
            out.sets.push(set);
        }
    }
    Ok(out)
}

/// What the bytes at the start of a segment say.
enum Header {
    Tusk(Box<tusk_ipc::ShmemHeader>),
    Pg(tusk_ipc::PgShmemHeader),
    None,
}

/// Attaches read-only for a moment to read the header. Err: the errno of
/// the failed attach (EINVAL/EIDRM: gone; EACCES: not ours to read).
fn read_segment_header(id: i32) -> Result<Header, i32> {
    let seg = Segment::attach_read_only(id).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
    if let Some(h) = seg.read_header() {
        return Ok(Header::Tusk(Box::new(h)));
    }
    if let Some(h) = seg.read_pg_header() {
        return Ok(Header::Pg(h));
    }
    Ok(Header::None)
}

fn look_at_segment(row: ShmInfo, known_dirs: &[(PathBuf, (u64, u64))]) -> Option<Seg> {
    // A fresh IPC_STAT: the attach count before we attach to look.
    let info = match shm::stat(row.id) {
        Ok(i) => ShmInfo {
            rss: row.rss,
            swap: row.swap,
            ..i
        },
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::EIDRM)) => {
            return None
        }
        Err(_) => row,
    };
    let mut seg = Seg {
        info,
        kind: Kind::Foreign,
        state: None,
        creator_pid: None,
        fate: None,
        datadir: None,
        port: None,
        attached: Vec::new(),
        dsm_control: None,
        evidence: Vec::new(),
        notes: Vec::new(),
    };
    if seg.info.nattch > 0 {
        seg.attached = shm::attached_pids(seg.info.key, seg.info.id);
    }
    if seg.info.marked_for_removal() {
        seg.notes.push(
            "already removed (IPC_RMID): the kernel frees it when the last process detaches"
                .to_string(),
        );
    }
    let header = match read_segment_header(seg.info.id) {
        Ok(h) => h,
        Err(libc::EINVAL) | Err(libc::EIDRM) => return None,
        Err(errno) => {
            seg.notes.push(format!(
                "cannot be inspected by this user: shmat(id={}, SHM_RDONLY) failed: {}",
                seg.info.id,
                errno_text(errno)
            ));
            return Some(seg);
        }
    };
    let (creator, dev, ino, path) = match header {
        Header::None => {
            seg.notes
                .push("neither tusk's nor PostgreSQL's header at its start".to_string());
            return Some(seg);
        }
        Header::Tusk(h) => {
            seg.kind = Kind::Tusk;
            seg.port = (h.port != 0).then_some(h.port);
            let p = h.datadir_lossy();
            let path = (!p.is_empty()).then(|| PathBuf::from(p));
            if !h.is_current_layout() {
                seg.notes.push(format!(
                    "written by another tusk version (layout {}); only its identity is read",
                    h.layout_version
                ));
                seg.port = None;
            }
            (h.creator_pid, h.datadir_dev, h.datadir_ino, path)
        }
        Header::Pg(h) => {
            seg.kind = Kind::Pg;
            seg.dsm_control = (h.dsm_control != 0).then_some(h.dsm_control);
            (h.creator_pid, h.device, h.inode, None)
        }
    };
    let fate = process_fate(creator, seg.info.ctime);
    seg.creator_pid = Some(creator);
    seg.fate = Some(fate);
    // PostgreSQL's header has no path: a running postmaster's working
    // directory is its data directory; or the caller named it.
    let path = path
        .or_else(|| {
            (fate == ProcessFate::Alive)
                .then(|| std::fs::read_link(format!("/proc/{creator}/cwd")).ok())
                .flatten()
                .filter(|p| datadir_identity(p).ok() == Some((dev, ino)))
        })
        .or_else(|| {
            known_dirs
                .iter()
                .find(|(_, id)| *id == (dev, ino))
                .map(|(p, _)| p.clone())
        });
    let dd = DataDir::new(path, dev, ino);
    if seg.kind == Kind::Pg && seg.port.is_none() {
        seg.port = match &dd.pidfile {
            Some(PidVerdict::Live { file, .. }) | Some(PidVerdict::Stale { file, .. }) => {
                file.port()
            }
            _ => None,
        };
    }
    let state = segment_state(seg.info.nattch, fate.is_gone());
    seg.state = Some(state);
    // The evidence, for and against.
    if seg.info.nattch == 0 {
        seg.evidence.push("attach count 0".to_string());
    } else {
        seg.evidence.push(format!(
            "attached by {} process(es){}",
            seg.info.nattch,
            name_processes(&seg.attached)
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        ));
    }
    seg.evidence.push(fate.describe("creator", creator));
    pidfile_evidence(
        &dd,
        Some((seg.info.key, seg.info.id)),
        &mut seg.evidence,
        &mut seg.notes,
    );
    if let Some(h) = seg.dsm_control {
        let control = format!("{DEV_SHM}/PostgreSQL.{h}");
        seg.notes.push(match dsm_files(h) {
            Ok(files) if files.is_empty() => format!("its dynamic shared memory control segment {control} is gone"),
            Ok(files) if state == State::Orphan => format!(
                "its dynamic shared memory ({} file(s) in {DEV_SHM}, named by {control}) is removed with it",
                files.len()
            ),
            Ok(files) => format!(
                "its dynamic shared memory: {} file(s) in {DEV_SHM}, named by {control}",
                files.len()
            ),
            Err(why) => why,
        });
    }
    seg.datadir = Some(dd);
    Some(seg)
}

fn look_at_set(row: SemInfo, segs: &[Seg]) -> Option<Set> {
    let info = match sem::stat(row.id) {
        Ok(i) => i,
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::EIDRM)) => {
            return None
        }
        Err(_) => row,
    };
    let mut set = Set {
        info,
        kind: Kind::Foreign,
        state: None,
        marker: None,
        creator_pid: None,
        fate: None,
        segment_id: None,
        datadir: None,
        port: None,
        evidence: Vec::new(),
        notes: Vec::new(),
    };
    if set.info.nsems == 0 {
        set.notes.push("an empty set".to_string());
        return Some(set);
    }
    let last = set.info.nsems as usize - 1;
    let (value, pid) = match sem::value_and_pid(set.info.id, last) {
        Ok(v) => v,
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::EIDRM)) => {
            return None
        }
        Err(e) => {
            set.notes.push(format!(
                "cannot be inspected by this user: semctl({}, {last}, GETVAL) failed: {}",
                set.info.id,
                e.raw_os_error()
                    .map(errno_text)
                    .unwrap_or_else(|| e.to_string())
            ));
            return Some(set);
        }
    };
    set.marker = Some(value);
    set.kind = match value {
        TUSK_SEMA_MAGIC => Kind::Tusk,
        PG_SEMA_MAGIC => Kind::Pg,
        _ => {
            set.notes.push(format!(
                "its last semaphore holds {value}: neither tusk's marker ({TUSK_SEMA_MAGIC}) nor PostgreSQL's \
                 ({PG_SEMA_MAGIC})"
            ));
            return Some(set);
        }
    };
    let fate = process_fate(pid, set.info.ctime);
    set.creator_pid = Some(pid);
    set.fate = Some(fate);
    set.evidence.push(format!(
        "marker semaphore holds {value} ({}), last set by PID {pid}, its creator",
        set.kind.name()
    ));
    set.evidence.push(fate.describe("creator", pid));
    // The segment of the same server: same kind, same creator. An attached
    // one first (it is the one that protects the set).
    let mut same: Vec<&Seg> = segs
        .iter()
        .filter(|s| s.kind == set.kind && s.creator_pid == Some(pid))
        .collect();
    same.sort_by_key(|s| std::cmp::Reverse(s.info.nattch));
    let linked = same.first().copied();
    match linked {
        Some(s) => {
            set.segment_id = Some(s.info.id);
            set.datadir = s.datadir.clone();
            set.port = s.port;
            set.evidence.push(if s.info.nattch == 0 {
                format!(
                    "its server's segment (ID {}) has no process attached",
                    s.info.id
                )
            } else {
                format!(
                    "its server's segment (ID {}) is still attached by {} process(es){}",
                    s.info.id,
                    s.info.nattch,
                    name_processes(&s.attached)
                        .map(|p| format!(": {p}"))
                        .unwrap_or_default()
                )
            });
        }
        None => set
            .evidence
            .push("no segment of its server exists".to_string()),
    }
    set.state = Some(set_state(
        fate.is_gone(),
        linked.and_then(|s| s.state.map(|st| (st, s.info.nattch))),
    ));
    if let Some(dd) = &set.datadir {
        pidfile_evidence(dd, None, &mut set.evidence, &mut set.notes);
    }
    Some(set)
}

/// "PID 12 (postgres: checkpointer), PID 13 (...)" for display.
fn name_processes(pids: &[i32]) -> Option<String> {
    if pids.is_empty() {
        return None;
    }
    Some(
        pids.iter()
            .map(|&p| match command_of(p) {
                Some(c) => format!("PID {p} ({c})"),
                None => format!("PID {p}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// A process's command line (its title, for servers that set one), on
/// one line: NULs, newlines and other control characters become spaces.
fn command_of(pid: i32) -> Option<String> {
    let one_line = |raw: &[u8]| -> String {
        String::from_utf8_lossy(raw)
            .split(|c: char| c.is_whitespace() || c.is_control())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut text = one_line(&std::fs::read(format!("/proc/{pid}/cmdline")).ok()?);
    if text.is_empty() {
        text = one_line(&std::fs::read(format!("/proc/{pid}/comm")).ok()?);
    }
    Some(if text.chars().count() > 60 {
        text.chars().take(57).collect::<String>() + "..."
    } else {
        text
    })
}

// ---------------------------------------------------------------------
// postmaster.pid
// ---------------------------------------------------------------------

/// Reads a postmaster.pid (or socket lock file) with the one parser
/// (`tusk_common::pidfile`), in this command's words for a bad file.
fn parse_pidfile(text: &str) -> Result<PidFile, String> {
    PidFile::parse(text).map_err(|e| match e {
        PidFileError::BadPid(first) if !first.is_empty() => {
            format!("its first line \"{first}\" is not a PID")
        }
        _ => "it is empty".to_string(),
    })
}

/// What a data directory's postmaster.pid says.
#[derive(Debug, Clone)]
enum PidVerdict {
    Absent,
    Unreadable(String),
    /// Its PID runs in this data directory (or cannot be told apart).
    Live {
        pid: i32,
        file: PidFile,
    },
    Stale {
        why: String,
        file: PidFile,
    },
}

/// Judges `DIR/postmaster.pid` the way a starting server does
/// (crates/server/src/lockfile.rs): stale when its PID is this process or
/// its parent, gone, a zombie, started after the file was written, or
/// runs somewhere else than this data directory.
fn judge_pidfile(dir: &Path, ident: (u64, u64)) -> PidVerdict {
    judge_lock_file(&dir.join("postmaster.pid"), ident)
}

fn judge_lock_file(path: &Path, ident: (u64, u64)) -> PidVerdict {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return PidVerdict::Absent,
        Err(e) => {
            return PidVerdict::Unreadable(format!("could not read \"{}\": {e}", path.display()))
        }
    };
    let file = match parse_pidfile(&text) {
        Ok(f) => f,
        Err(why) => {
            return PidVerdict::Unreadable(format!(
                "\"{}\" is not a lock file: {why}",
                path.display()
            ))
        }
    };
    let pid = file.postmaster_pid();
    let me = std::process::id() as i32;
    // SAFETY: plain system call.
    let parent = unsafe { libc::getppid() };
    if pid == me || pid == parent {
        return PidVerdict::Stale {
            why: format!("its PID {pid} is this tusk ipc process or its parent"),
            file,
        };
    }
    let fate = process_fate(pid, file.start_time().unwrap_or(i64::MAX));
    if fate.is_gone() {
        return PidVerdict::Stale {
            why: fate.describe("its", pid),
            file,
        };
    }
    // Alive: a postmaster of this directory runs in it (tusk and
    // PostgreSQL both chdir there, and so do their children).
    if let Ok(cwd) = datadir_identity(Path::new(&format!("/proc/{pid}/cwd"))) {
        if cwd != ident {
            let where_ = std::fs::read_link(format!("/proc/{pid}/cwd"))
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "elsewhere".to_string());
            return PidVerdict::Stale {
                why: format!(
                    "its PID {pid} is running but is not a postmaster of this data directory (it runs in \"{where_}\")"
                ),
                file,
            };
        }
    }
    PidVerdict::Live { pid, file }
}

/// Adds what a data directory's postmaster.pid says about an object.
/// `segment` = (key, id) to compare with line 7.
fn pidfile_evidence(
    dd: &DataDir,
    segment: Option<(i32, i32)>,
    evidence: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    let Some(path) = &dd.path else { return };
    if dd.exists != Some(true) {
        evidence.push(format!(
            "its data directory \"{}\" no longer exists (or is another directory now)",
            path.display()
        ));
        return;
    }
    let pf = path.join("postmaster.pid");
    match &dd.pidfile {
        None | Some(PidVerdict::Absent) => evidence.push(format!("{} is absent", pf.display())),
        Some(PidVerdict::Unreadable(why)) => notes.push(why.clone()),
        Some(PidVerdict::Stale { why, file }) => {
            evidence.push(format!("{} is stale: {why}", pf.display()));
            if let (Some(seg), Some(named)) = (segment, file.shmem()) {
                if named != seg {
                    evidence.push(format!(
                        "{} names another segment (key {}, ID {})",
                        pf.display(),
                        named.0 as u32,
                        named.1
                    ));
                }
            }
        }
        Some(PidVerdict::Live { pid, file }) => {
            let names_this = segment.is_some_and(|s| file.shmem() == Some(s));
            if segment.is_some() && !names_this {
                notes.push(format!(
                    "a postmaster (PID {pid}) runs on this data directory now, with another segment{}",
                    file.shmem()
                        .map(|(k, i)| format!(" (key {}, ID {i})", k as u32))
                        .unwrap_or_default()
                ));
            } else {
                notes.push(format!(
                    "{} names the running postmaster PID {pid}",
                    pf.display()
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------
// PostgreSQL's dynamic shared memory
// ---------------------------------------------------------------------

/// The files of PostgreSQL's POSIX dynamic shared memory that a dead
/// server's control segment `handle` names, the control segment last.
/// PostgreSQL removes them at its next start only through the SysV
/// segment's header, so removing the segment must take them along. Empty
/// if the control segment is gone; Err (with the reason, nothing to
/// remove) if it is not a control segment of a known layout.
fn dsm_files(handle: u32) -> Result<Vec<PathBuf>, String> {
    let control = Path::new(DEV_SHM).join(format!("PostgreSQL.{handle}"));
    let bytes = match std::fs::read(&control) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("could not read {}: {e}", control.display())),
    };
    let handles = parse_dsm_control(&bytes).ok_or_else(|| {
        format!(
            "{} is left alone: not a PostgreSQL dynamic shared memory control segment of a known layout",
            control.display()
        )
    })?;
    let mut out: Vec<PathBuf> = handles
        .into_iter()
        .map(|h| Path::new(DEV_SHM).join(format!("PostgreSQL.{h}")))
        .filter(|p| p.exists())
        .collect();
    out.push(control);
    Ok(out)
}

/// The handles a control segment lists as in use (refcount > 0), except
/// those of the main region (odd handles, PostgreSQL 14+), which are not
/// files. Layouts: 9.4–13 items of 8 bytes {handle, refcnt} after a
/// 12-byte header; 14–18 items of 40 bytes {handle, refcnt, first_page,
/// npages, impl_private, pinned} after 16 bytes. The file size tells which.
fn parse_dsm_control(b: &[u8]) -> Option<Vec<u32>> {
    let u32_at =
        |o: usize| -> Option<u32> { Some(u32::from_ne_bytes(b.get(o..o + 4)?.try_into().ok()?)) };
    if u32_at(0)? != PG_DSM_CONTROL_MAGIC {
        return None;
    }
    let nitems = u32_at(4)? as usize;
    let maxitems = u32_at(8)? as usize;
    if nitems > maxitems {
        return None;
    }
    let (start, size) = if b.len() == 16 + 40 * maxitems {
        (16, 40)
    } else if b.len() == 12 + 8 * maxitems {
        (12, 8)
    } else {
        return None;
    };
    let mut out = Vec::new();
    for i in 0..nitems {
        let at = start + i * size;
        let (handle, refcnt) = (u32_at(at)?, u32_at(at + 4)?);
        if refcnt != 0 && (size == 8 || handle & 1 == 0) {
            out.push(handle);
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------
// list
// ---------------------------------------------------------------------

fn list(a: &ListArgs) -> ExitCode {
    let s = match survey(&[]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tusk ipc list: {e}");
            return ExitCode::from(EXIT_REFUSED);
        }
    };
    let mut out = std::io::stdout().lock();
    let res = if a.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&survey_json(&s)).unwrap_or_default()
        )
    } else {
        out.write_all(render_text(&s).as_bytes())
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tusk ipc list: could not write: {e}");
            ExitCode::from(EXIT_REFUSED)
        }
    }
}

fn hex_key(key: i32) -> String {
    format!("0x{:08x}", key as u32)
}

fn opt_time(t: i64) -> Value {
    if t == 0 {
        Value::Null
    } else {
        json!(t)
    }
}

fn survey_json(s: &Survey) -> Value {
    json!({
        "format": "tusk-ipc-list",
        "version": 1,
        "segments": s.segs.iter().map(segment_json).collect::<Vec<_>>(),
        "semaphore_sets": s.sets.iter().map(set_json).collect::<Vec<_>>(),
    })
}

fn segment_json(g: &Seg) -> Value {
    let i = &g.info;
    json!({
        "key": hex_key(i.key),
        "key_decimal": i.key as u32,
        "id": i.id,
        "owner": user_name(i.uid),
        "uid": i.uid, "gid": i.gid, "cuid": i.cuid, "cgid": i.cgid,
        "perms": format!("{:o}", i.permissions()),
        "bytes": i.size,
        "nattch": i.nattch,
        "cpid": i.cpid,
        "lpid": i.lpid,
        "attach_time": opt_time(i.atime),
        "detach_time": opt_time(i.dtime),
        "change_time": opt_time(i.ctime),
        "removed": i.marked_for_removal(),
        "kind": g.kind.json(),
        "state": g.state.map(State::json),
        "label": g.label(),
        "creator_pid": g.creator_pid,
        "creator": g.fate.map(fate_json),
        "data_directory": g.datadir.as_ref().map(DataDir::json),
        "port": g.port,
        "postmaster_pid": g.postmaster_pid(),
        "attached_pids": g.attached,
        "dsm_control": g.dsm_control,
        "evidence": g.evidence,
        "notes": g.notes,
    })
}

fn set_json(t: &Set) -> Value {
    let i = &t.info;
    json!({
        "key": hex_key(i.key),
        "key_decimal": i.key as u32,
        "id": i.id,
        "owner": user_name(i.uid),
        "uid": i.uid, "gid": i.gid, "cuid": i.cuid, "cgid": i.cgid,
        "perms": format!("{:o}", i.permissions()),
        "nsems": i.nsems,
        "op_time": opt_time(i.otime),
        "change_time": opt_time(i.ctime),
        "kind": t.kind.json(),
        "state": t.state.map(State::json),
        "label": t.label(),
        "creator_pid": t.creator_pid,
        "creator": t.fate.map(fate_json),
        "data_directory": t.datadir.as_ref().map(DataDir::json),
        "port": t.port,
        "postmaster_pid": t.postmaster_pid(),
        "marker": t.marker,
        "segment_id": t.segment_id,
        "evidence": t.evidence,
        "notes": t.notes,
    })
}

/// Local time "YYYY-MM-DD HH:MM:SS", or "not set" for 0 (as ipcs -t).
fn fmt_time(t: i64) -> String {
    if t == 0 {
        return "not set".to_string();
    }
    // SAFETY: tm is plain data; localtime_r fills it from a valid time_t.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let tt = t as libc::time_t;
    // SAFETY: both pointers are valid.
    if unsafe { libc::localtime_r(&tt, &mut tm) }.is_null() {
        return t.to_string();
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// The second line of an object: what it is, its data directory, PIDs, port.
fn describe_owner(
    label: &str,
    datadir: Option<&DataDir>,
    creator: Option<i32>,
    postmaster: Option<i32>,
    port: Option<u32>,
) -> String {
    let mut parts = vec![label.to_string()];
    if let Some(dd) = datadir {
        parts.push(dd.describe());
    }
    match (postmaster, creator) {
        (Some(p), _) => parts.push(format!("postmaster PID {p}")),
        (None, Some(c)) => parts.push(format!("created by PID {c}")),
        _ => {}
    }
    if let Some(p) = port {
        parts.push(format!("port {p}"));
    }
    parts.join(", ")
}

/// A table row without the padding after its last column.
fn row(s: String) -> String {
    let mut s = s.trim_end().to_string();
    s.push('\n');
    s
}

fn render_text(s: &Survey) -> String {
    let mut o = String::new();
    o.push_str("------ Shared Memory Segments --------\n");
    o.push_str(&row(format!(
        "{:<10} {:<10} {:<10} {:<6} {:<12} {:<6} {:<8} {:<8} {:<19} {:<19} {:<19}",
        "key",
        "shmid",
        "owner",
        "perms",
        "bytes",
        "nattch",
        "cpid",
        "lpid",
        "attached",
        "detached",
        "changed"
    )));
    for g in &s.segs {
        let i = &g.info;
        o.push_str(&row(format!(
            "{:<10} {:<10} {:<10} {:<6} {:<12} {:<6} {:<8} {:<8} {:<19} {:<19} {:<19}",
            hex_key(i.key),
            i.id,
            user_name(i.uid),
            format!("{:o}", i.permissions()),
            i.size,
            i.nattch,
            i.cpid,
            i.lpid,
            fmt_time(i.atime),
            fmt_time(i.dtime),
            fmt_time(i.ctime)
        )));
        o.push_str(&format!(
            "    {}\n",
            describe_owner(
                &g.label(),
                g.datadir.as_ref(),
                g.creator_pid,
                g.postmaster_pid(),
                g.port
            )
        ));
        push_reasons(&mut o, g.state, &g.evidence, &g.notes);
    }
    o.push_str("\n------ Semaphore Arrays --------\n");
    o.push_str(&row(format!(
        "{:<10} {:<10} {:<10} {:<6} {:<6} {:<19} {:<19}",
        "key", "semid", "owner", "perms", "nsems", "last-op", "changed"
    )));
    for t in &s.sets {
        let i = &t.info;
        o.push_str(&row(format!(
            "{:<10} {:<10} {:<10} {:<6} {:<6} {:<19} {:<19}",
            hex_key(i.key),
            i.id,
            user_name(i.uid),
            format!("{:o}", i.permissions()),
            i.nsems,
            fmt_time(i.otime),
            fmt_time(i.ctime)
        )));
        let mut what = describe_owner(
            &t.label(),
            t.datadir.as_ref(),
            t.creator_pid,
            t.postmaster_pid(),
            t.port,
        );
        if let Some(id) = t.segment_id {
            what.push_str(&format!(", segment ID {id}"));
        }
        o.push_str(&format!("    {what}\n"));
        push_reasons(&mut o, t.state, &t.evidence, &t.notes);
    }
    o.push('\n');
    o.push_str(&summary(s));
    o
}

/// Evidence is printed for orphans and in-use objects (why they are or are
/// not removable); notes for everything.
fn push_reasons(o: &mut String, state: Option<State>, evidence: &[String], notes: &[String]) {
    if matches!(state, Some(State::Orphan) | Some(State::InUse)) {
        for e in evidence {
            o.push_str(&format!("      evidence: {e}\n"));
        }
    }
    for n in notes {
        o.push_str(&format!("      note: {n}\n"));
    }
}

fn summary(s: &Survey) -> String {
    let count = |k: Kind, st: Option<State>| {
        s.segs
            .iter()
            .filter(|g| g.kind == k && (k == Kind::Foreign || g.state == st))
            .count()
            + s.sets
                .iter()
                .filter(|t| t.kind == k && (k == Kind::Foreign || t.state == st))
                .count()
    };
    let mut parts = Vec::new();
    for (k, st) in [
        (Kind::Tusk, Some(State::Live)),
        (Kind::Tusk, Some(State::InUse)),
        (Kind::Tusk, Some(State::Orphan)),
        (Kind::Pg, Some(State::Live)),
        (Kind::Pg, Some(State::InUse)),
        (Kind::Pg, Some(State::Orphan)),
        (Kind::Foreign, None),
    ] {
        let n = count(k, st);
        if n > 0 {
            parts.push(format!("{n} {}", label(k, st)));
        }
    }
    let mut o = format!(
        "{} segment(s), {} semaphore set(s){}{}\n",
        s.segs.len(),
        s.sets.len(),
        if parts.is_empty() { "" } else { ": " },
        parts.join(", ")
    );
    let orphans = count(Kind::Tusk, Some(State::Orphan)) + count(Kind::Pg, Some(State::Orphan));
    if orphans > 0 {
        o.push_str("Remove the orphans with \"tusk ipc clean -D DIR\" or \"tusk ipc clean --all-orphans\".\n");
    }
    if s.segs.iter().any(|g| g.kind == Kind::Pg) {
        o.push_str(
            "PostgreSQL on Linux uses POSIX semaphores: its servers have no semaphore sets here.\n",
        );
    }
    o
}

// ---------------------------------------------------------------------
// clean
// ---------------------------------------------------------------------

/// One thing to remove, with what must still hold right before.
#[derive(Debug, Clone)]
enum Action {
    Segment {
        id: i32,
        key: i32,
        ctime: i64,
        /// Re-check the creator (not for --force-id of a foreign object).
        creator: Option<i32>,
        what: String,
        why: String,
        dsm: Vec<PathBuf>,
    },
    SemSet {
        id: i32,
        key: i32,
        ctime: i64,
        creator: Option<i32>,
        what: String,
        why: String,
    },
    File {
        path: PathBuf,
        why: String,
    },
}

impl Action {
    fn object_id(&self) -> Option<(bool, i32)> {
        match self {
            Action::Segment { id, .. } => Some((true, *id)),
            Action::SemSet { id, .. } => Some((false, *id)),
            Action::File { .. } => None,
        }
    }

    /// What it is, without the reasons (printed with the plan).
    fn title(&self) -> String {
        match self {
            Action::Segment { what, .. } | Action::SemSet { what, .. } => what.clone(),
            Action::File { path, .. } => format!("file \"{}\"", path.display()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Action::Segment { what, why, dsm, .. } => {
                let mut s = format!("{what}: {why}");
                if !dsm.is_empty() {
                    let names: Vec<String> = dsm.iter().map(|p| p.display().to_string()).collect();
                    s.push_str(&format!(
                        "; with PostgreSQL's dynamic shared memory {}",
                        names.join(", ")
                    ));
                }
                s
            }
            Action::SemSet { what, why, .. } => format!("{what}: {why}"),
            Action::File { path, why } => format!("file \"{}\": {why}", path.display()),
        }
    }
}

#[derive(Debug, Default)]
struct Plan {
    actions: Vec<Action>,
    refusals: Vec<String>,
    notes: Vec<String>,
}

impl Plan {
    fn add(&mut self, a: Action) {
        if let Some(oid) = a.object_id() {
            if self.actions.iter().any(|b| b.object_id() == Some(oid)) {
                return;
            }
        }
        self.actions.push(a);
    }
}

fn seg_title(g: &Seg) -> String {
    object_title(
        "shared memory segment",
        g.info.key,
        g.info.id,
        &g.label(),
        g.datadir.as_ref(),
    )
}

fn set_title(t: &Set) -> String {
    object_title(
        "semaphore set",
        t.info.key,
        t.info.id,
        &t.label(),
        t.datadir.as_ref(),
    )
}

fn object_title(what: &str, key: i32, id: i32, label: &str, datadir: Option<&DataDir>) -> String {
    let mut s = format!("{what} key {} ID {id} ({label}", hex_key(key));
    if let Some(p) = datadir.and_then(|d| d.path.as_ref()) {
        s.push_str(&format!(", data directory \"{}\"", p.display()));
    }
    s.push(')');
    s
}

fn seg_action(g: &Seg) -> Action {
    let dsm = match (g.kind, g.dsm_control) {
        (Kind::Pg, Some(h)) => dsm_files(h).unwrap_or_default(),
        _ => Vec::new(),
    };
    Action::Segment {
        id: g.info.id,
        key: g.info.key,
        ctime: g.info.ctime,
        creator: if g.state == Some(State::Orphan) {
            g.creator_pid
        } else {
            None
        },
        what: seg_title(g),
        why: g.evidence.join("; "),
        dsm,
    }
}

fn set_action(t: &Set) -> Action {
    Action::SemSet {
        id: t.info.id,
        key: t.info.key,
        ctime: t.info.ctime,
        creator: if t.state == Some(State::Orphan) {
            t.creator_pid
        } else {
            None
        },
        what: set_title(t),
        why: t.evidence.join("; "),
    }
}

/// Why an object of a server may not be removed, or None if it may.
fn seg_refusal(g: &Seg) -> Option<String> {
    match g.state {
        Some(State::Orphan) => None,
        Some(State::Live) => Some(format!(
            "{}: its server runs (postmaster PID {}); stop it first",
            seg_title(g),
            g.creator_pid.unwrap_or(0)
        )),
        Some(State::InUse) if g.info.nattch > 0 => Some(format!(
            "{}: still attached by {} process(es){}; {}; terminate them first",
            seg_title(g),
            g.info.nattch,
            name_processes(&g.attached)
                .map(|p| format!(": {p}"))
                .unwrap_or_else(|| " (not visible to this user)".to_string()),
            g.fate
                .zip(g.creator_pid)
                .map(|(f, p)| f.describe("its creator", p))
                .unwrap_or_default()
        )),
        Some(State::InUse) => Some(format!(
            "{}: no process is attached, but its creator PID {} is running{}",
            seg_title(g),
            g.creator_pid.unwrap_or(0),
            g.creator_pid
                .and_then(command_of)
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        )),
        None => Some(format!(
            "{}: foreign; only --force-id removes it",
            seg_title(g)
        )),
    }
}

fn set_refusal(t: &Set) -> Option<String> {
    match t.state {
        Some(State::Orphan) => None,
        Some(State::Live) => Some(format!(
            "{}: its server runs (postmaster PID {}); stop it first",
            set_title(t),
            t.creator_pid.unwrap_or(0)
        )),
        Some(State::InUse) => Some(format!(
            "{}: in use: {}",
            set_title(t),
            t.evidence
                .iter()
                .skip(1)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        )),
        None => Some(format!(
            "{}: foreign; only --force-id removes it",
            set_title(t)
        )),
    }
}

/// A `--force-id` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ForceId {
    Shm(i32),
    Sem(i32),
    Either(i32),
}

fn parse_force_id(s: &str) -> Result<ForceId, String> {
    let (kind, num) = match s.split_once(':') {
        Some((k, n)) => (Some(k.trim().to_ascii_lowercase()), n.trim()),
        None => (None, s.trim()),
    };
    let id: i32 = num
        .parse()
        .ok()
        .filter(|&i: &i32| i >= 0)
        .ok_or_else(|| format!("--force-id \"{s}\": the ID must be a number (a shmid or semid as ipcs shows it), optionally prefixed with shm: or sem:"))?;
    match kind.as_deref() {
        None => Ok(ForceId::Either(id)),
        Some("shm") | Some("m") => Ok(ForceId::Shm(id)),
        Some("sem") | Some("s") => Ok(ForceId::Sem(id)),
        Some(other) => Err(format!(
            "--force-id \"{s}\": unknown object type \"{other}\"; use shm:ID for a segment or sem:ID for a semaphore set"
        )),
    }
}

/// Processes sleeping on any semaphore of a set (GETNCNT + GETZCNT).
fn set_waiters(id: i32, nsems: u64) -> u64 {
    let mut n = 0u64;
    for i in 0..nsems as libc::c_int {
        for cmd in [libc::GETNCNT, libc::GETZCNT] {
            // SAFETY: these commands take no fourth argument.
            let rc = unsafe { libc::semctl(id, i, cmd, 0 as libc::c_ulong) };
            if rc > 0 {
                n += rc as u64;
            }
        }
    }
    n
}

/// Refusal for a data directory whose postmaster runs, if that is so.
fn live_dir_refusal(title: &str, dd: Option<&DataDir>) -> Option<String> {
    let dd = dd?;
    let pid = dd.live_postmaster()?;
    Some(format!(
        "{title}: the postmaster of its data directory \"{}\" runs (PID {pid}); stop it first",
        dd.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    ))
}

fn plan_force(s: &Survey, f: ForceId, raw: &str, plan: &mut Plan) -> Result<(), String> {
    let seg = match f {
        ForceId::Shm(id) | ForceId::Either(id) => s.segs.iter().find(|g| g.info.id == id),
        ForceId::Sem(_) => None,
    };
    let set = match f {
        ForceId::Sem(id) | ForceId::Either(id) => s.sets.iter().find(|t| t.info.id == id),
        ForceId::Shm(_) => None,
    };
    match (seg, set) {
        (Some(_), Some(_)) => Err(format!(
            "--force-id {raw}: both a segment and a semaphore set have this ID; say shm:{raw} or sem:{raw}"
        )),
        (None, None) => {
            plan.refusals.push(format!(
                "--force-id {raw}: no {} with this ID",
                match f {
                    ForceId::Shm(_) => "shared memory segment",
                    ForceId::Sem(_) => "semaphore set",
                    ForceId::Either(_) => "shared memory segment or semaphore set",
                }
            ));
            Ok(())
        }
        (Some(g), None) => {
            let title = seg_title(g);
            if g.info.nattch > 0 {
                plan.refusals.push(format!(
                    "{title}: still attached by {} process(es){}; --force-id never removes an attached segment",
                    g.info.nattch,
                    name_processes(&g.attached)
                        .map(|p| format!(": {p}"))
                        .unwrap_or_else(|| " (not visible to this user)".to_string())
                ));
            } else if let Some(r) = live_dir_refusal(&title, g.datadir.as_ref()) {
                plan.refusals.push(r);
            } else {
                let mut a = seg_action(g);
                if let Action::Segment { why, .. } = &mut a {
                    *why = format!("named with --force-id; attach count 0; {}", g.label());
                }
                plan.add(a);
            }
            Ok(())
        }
        (None, Some(t)) => {
            let title = set_title(t);
            let waiters = set_waiters(t.info.id, t.info.nsems);
            if matches!(t.state, Some(State::Live) | Some(State::InUse)) && t.kind != Kind::Foreign && t.segment_id.is_some() {
                plan.refusals.push(format!(
                    "{title}: part of a server that is still running or attached ({}); --force-id does not take it",
                    t.evidence.iter().skip(1).cloned().collect::<Vec<_>>().join("; ")
                ));
            } else if waiters > 0 {
                plan.refusals.push(format!(
                    "{title}: {waiters} process(es) are waiting on it; --force-id never removes a set in use"
                ));
            } else if let Some(r) = live_dir_refusal(&title, t.datadir.as_ref()) {
                plan.refusals.push(r);
            } else {
                let mut a = set_action(t);
                if let Action::SemSet { why, .. } = &mut a {
                    *why = format!("named with --force-id; no process waits on it; {}", t.label());
                }
                plan.add(a);
            }
            Ok(())
        }
    }
}

fn plan_all_orphans(s: &Survey, plan: &mut Plan) {
    let mut kept = 0;
    for g in &s.segs {
        match g.state {
            Some(State::Orphan) => match live_dir_refusal(&seg_title(g), g.datadir.as_ref()) {
                Some(r) => plan.refusals.push(r),
                None => plan.add(seg_action(g)),
            },
            // Left by a dead server but still in use (survivors attached):
            // the operator asked for leftovers, so say why it stays.
            // Objects whose creator runs are kept like live ones.
            Some(State::InUse)
                if !g.info.marked_for_removal() && g.fate.is_some_and(|f| f.is_gone()) =>
            {
                if let Some(r) = seg_refusal(g) {
                    plan.refusals.push(r);
                }
            }
            _ => kept += 1,
        }
    }
    for t in &s.sets {
        match t.state {
            Some(State::Orphan) => match live_dir_refusal(&set_title(t), t.datadir.as_ref()) {
                Some(r) => plan.refusals.push(r),
                None => plan.add(set_action(t)),
            },
            Some(State::InUse) if t.fate.is_some_and(|f| f.is_gone()) => {
                if let Some(r) = set_refusal(t) {
                    plan.refusals.push(r);
                }
            }
            _ => kept += 1,
        }
    }
    if kept > 0 {
        plan.notes.push(format!(
            "kept {kept} object(s) of running servers or of other programs (see \"tusk ipc list\")"
        ));
    }
}

/// The plan for `-D DIR`. Err: refused as a whole (its postmaster runs).
fn plan_data_dir(s: &Survey, dir: &Path, ident: (u64, u64), plan: &mut Plan) -> Result<(), String> {
    let pidfile = judge_pidfile(dir, ident);
    let pf_path = dir.join("postmaster.pid");
    let stale_file = match &pidfile {
        PidVerdict::Live { pid, .. } => {
            return Err(format!(
                "the postmaster of data directory \"{d}\" runs (PID {pid}, named in {}): nothing of it is removed \
                 while it runs; stop it first (tusk ctl stop -D {d}, or pg_ctl stop -D {d})",
                pf_path.display(),
                d = dir.display(),
            ))
        }
        PidVerdict::Unreadable(why) => {
            return Err(format!(
                "{why}; cannot tell whether a server runs on \"{}\", so nothing is removed",
                dir.display()
            ))
        }
        PidVerdict::Stale { why, file } => Some((why.clone(), file.clone())),
        PidVerdict::Absent => None,
    };
    let segs: Vec<&Seg> = s
        .segs
        .iter()
        .filter(|g| g.kind != Kind::Foreign)
        .filter(|g| g.datadir.as_ref().is_some_and(|d| (d.dev, d.ino) == ident))
        .collect();
    let mut creators: Vec<(Kind, i32)> = segs
        .iter()
        .filter_map(|g| Some((g.kind, g.creator_pid?)))
        .collect();
    if let Some((_, f)) = &stale_file {
        // Sets whose segment is already gone are tied by the PID in
        // postmaster.pid: the postmaster made them.
        creators.push((Kind::Tusk, f.postmaster_pid()));
        creators.push((Kind::Pg, f.postmaster_pid()));
    }
    let sets: Vec<&Set> = s
        .sets
        .iter()
        .filter(|t| t.kind != Kind::Foreign)
        .filter(|t| {
            t.creator_pid
                .is_some_and(|p| creators.contains(&(t.kind, p)))
        })
        .collect();
    let mut blocked = false;
    for g in &segs {
        if g.info.marked_for_removal() {
            blocked |= g.info.nattch > 0;
            plan.notes.push(format!(
                "{}: already removed, waiting for its last detach",
                seg_title(g)
            ));
            continue;
        }
        match seg_refusal(g) {
            None => plan.add(seg_action(g)),
            Some(r) => {
                blocked = true;
                plan.refusals.push(r);
            }
        }
    }
    for t in &sets {
        match set_refusal(t) {
            None => plan.add(set_action(t)),
            Some(r) => {
                blocked = true;
                plan.refusals.push(r);
            }
        }
    }
    if segs.is_empty() && sets.is_empty() {
        plan.notes.push(format!(
            "no shared memory segment or semaphore set of data directory \"{}\" exists",
            dir.display()
        ));
    }
    let Some((why, file)) = stale_file else {
        return Ok(());
    };
    if blocked {
        plan.notes.push(format!(
            "{} is kept: it is the interlock for the objects still in use",
            pf_path.display()
        ));
        return Ok(());
    }
    plan.add(Action::File {
        path: pf_path,
        why: format!("stale: {why}"),
    });
    // The socket and its lock file, named by lines 5 (directory) and 4 (port).
    if let (Some(sock_dir), Some(port)) = (file.socket_dir(), file.port()) {
        let sock = Path::new(sock_dir).join(format!(".s.PGSQL.{port}"));
        let lock = Path::new(sock_dir).join(format!(".s.PGSQL.{port}.lock"));
        match judge_lock_file(&lock, ident) {
            PidVerdict::Absent => {
                if sock.exists() {
                    plan.notes.push(format!(
                        "kept \"{}\": no lock file proves that no server listens on it",
                        sock.display()
                    ));
                }
            }
            PidVerdict::Stale { why, file: lf } => {
                let lf_dir = lf.data_dir().unwrap_or("");
                let same_dir =
                    datadir_identity(Path::new(lf_dir)).ok() == Some(ident) || lf_dir.is_empty();
                if !same_dir {
                    plan.notes.push(format!(
                        "kept \"{}\": it belongs to data directory \"{}\"",
                        lock.display(),
                        lf_dir
                    ));
                } else {
                    if sock.exists() {
                        plan.add(Action::File {
                            path: sock,
                            why: format!(
                                "the socket of the dead server; its lock file is stale: {why}"
                            ),
                        });
                    }
                    plan.add(Action::File {
                        path: lock,
                        why: format!("stale: {why}"),
                    });
                }
            }
            PidVerdict::Live { pid, .. } => plan.notes.push(format!(
                "kept \"{}\": its PID {pid} is running",
                lock.display()
            )),
            PidVerdict::Unreadable(why) => plan.notes.push(format!("kept the socket files: {why}")),
        }
    }
    Ok(())
}

fn clean(a: &CleanArgs) -> ExitCode {
    let mut forced = Vec::new();
    for raw in &a.force_ids {
        match parse_force_id(raw) {
            Ok(f) => forced.push((f, raw.as_str())),
            Err(e) => return usage(&e),
        }
    }
    let dir = match &a.data_dir {
        Some(d) => {
            let md = match std::fs::metadata(d) {
                Ok(m) => m,
                Err(e) => {
                    return usage(&format!(
                        "data directory \"{}\": {}",
                        d.display(),
                        e.raw_os_error()
                            .map(errno_text)
                            .unwrap_or_else(|| e.to_string())
                    ))
                }
            };
            if !md.is_dir() {
                return usage(&format!("\"{}\" is not a directory", d.display()));
            }
            let path = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
            Some((path, (md.dev(), md.ino())))
        }
        None => None,
    };
    let known: Vec<(PathBuf, (u64, u64))> = dir.iter().cloned().collect();
    let s = match survey(&known) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tusk ipc clean: {e}");
            return ExitCode::from(EXIT_REFUSED);
        }
    };
    let mut plan = Plan::default();
    if let Some((path, ident)) = &dir {
        if let Err(why) = plan_data_dir(&s, path, *ident, &mut plan) {
            eprintln!("tusk ipc clean: refused: {why}");
            return ExitCode::from(EXIT_REFUSED);
        }
    }
    if a.all_orphans {
        plan_all_orphans(&s, &mut plan);
    }
    for (f, raw) in forced {
        if let Err(e) = plan_force(&s, f, raw, &mut plan) {
            return usage(&e);
        }
    }
    let verb = if a.dry_run {
        "would remove"
    } else {
        "will remove"
    };
    for act in &plan.actions {
        println!("{verb} {}", act.describe());
    }
    for n in &plan.notes {
        println!("note: {n}");
    }
    for r in &plan.refusals {
        eprintln!("tusk ipc clean: refused: {r}");
    }
    let refused = !plan.refusals.is_empty();
    if plan.actions.is_empty() {
        println!("nothing to remove");
        return exit(refused);
    }
    if a.dry_run {
        println!("dry run: nothing was removed");
        return exit(refused);
    }
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "tusk ipc clean: not removing anything without confirmation: standard input is not a terminal; \
                 add --yes (or --dry-run to only see the plan)"
            );
            return ExitCode::from(EXIT_USAGE);
        }
        print!("Remove the {} object(s) above? [y/N] ", plan.actions.len());
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            println!("nothing was removed");
            return ExitCode::from(EXIT_REFUSED);
        }
    }
    let mut failed = false;
    let mut removed = 0;
    for act in &plan.actions {
        match execute(act) {
            Ok(()) => {
                removed += 1;
                println!("removed {}", act.title());
            }
            Err(why) => {
                failed = true;
                eprintln!("tusk ipc clean: not removed: {why}");
            }
        }
    }
    println!("removed {removed} of {} planned", plan.actions.len());
    exit(refused || failed)
}

fn exit(refused: bool) -> ExitCode {
    if refused {
        ExitCode::from(EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("tusk ipc clean: {msg}\nTry \"tusk ipc clean --help\" for more information.");
    ExitCode::from(EXIT_USAGE)
}

fn os_text(e: &std::io::Error) -> String {
    e.raw_os_error()
        .map(errno_text)
        .unwrap_or_else(|| e.to_string())
}

/// Removes one planned object after judging it again: same object (key
/// and change time), nothing attached, creator still gone.
fn execute(act: &Action) -> Result<(), String> {
    match act {
        Action::Segment {
            id,
            key,
            ctime,
            creator,
            what,
            dsm,
            ..
        } => {
            let now = shm::stat(*id)
                .map_err(|e| format!("{what}: shmctl({id}, IPC_STAT) failed: {}", os_text(&e)))?;
            if now.ctime != *ctime || (now.key != *key && now.key != 0) {
                return Err(format!(
                    "{what}: it changed since it was judged; run the command again"
                ));
            }
            if now.nattch > 0 {
                return Err(format!(
                    "{what}: a process attached it meanwhile ({})",
                    name_processes(&shm::attached_pids(now.key, *id))
                        .unwrap_or_else(|| "not visible".into())
                ));
            }
            if let Some(pid) = creator {
                if !process_fate(*pid, now.ctime).is_gone() {
                    return Err(format!("{what}: its creator PID {pid} runs again"));
                }
            }
            shm::remove_id(*id)
                .map_err(|e| format!("{what}: shmctl({id}, IPC_RMID) failed: {}", os_text(&e)))?;
            for f in dsm {
                if let Err(e) = std::fs::remove_file(f) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        return Err(format!(
                            "{what} was removed, but not \"{}\": {}",
                            f.display(),
                            os_text(&e)
                        ));
                    }
                }
            }
            Ok(())
        }
        Action::SemSet {
            id,
            key,
            ctime,
            creator,
            what,
            ..
        } => {
            let now = sem::stat(*id).map_err(|e| {
                format!("{what}: semctl({id}, 0, IPC_STAT) failed: {}", os_text(&e))
            })?;
            if now.ctime != *ctime || now.key != *key {
                return Err(format!(
                    "{what}: it changed since it was judged; run the command again"
                ));
            }
            if let Some(pid) = creator {
                let last = now.nsems.saturating_sub(1) as usize;
                match sem::value_and_pid(*id, last) {
                    Ok((_, p)) if p == *pid && process_fate(p, now.ctime).is_gone() => {}
                    _ => {
                        return Err(format!(
                            "{what}: its marker changed or its creator PID {pid} runs again"
                        ))
                    }
                }
            }
            sem::remove_id(*id)
                .map_err(|e| format!("{what}: semctl({id}, 0, IPC_RMID) failed: {}", os_text(&e)))
        }
        Action::File { path, .. } => match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!(
                "could not remove \"{}\": {}",
                path.display(),
                os_text(&e)
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_states() {
        assert_eq!(segment_state(0, true), State::Orphan);
        assert_eq!(
            segment_state(3, true),
            State::InUse,
            "backends outlived the postmaster"
        );
        assert_eq!(segment_state(3, false), State::Live);
        assert_eq!(
            segment_state(0, false),
            State::InUse,
            "a creator that runs protects its segment"
        );
    }

    #[test]
    fn set_states() {
        assert_eq!(set_state(true, None), State::Orphan);
        assert_eq!(set_state(true, Some((State::Orphan, 0))), State::Orphan);
        assert_eq!(set_state(true, Some((State::InUse, 2))), State::InUse);
        assert_eq!(set_state(false, Some((State::Live, 6))), State::Live);
        assert_eq!(set_state(false, None), State::InUse);
    }

    #[test]
    fn labels() {
        assert_eq!(label(Kind::Tusk, Some(State::Orphan)), "tusk orphan");
        assert_eq!(label(Kind::Pg, Some(State::Live)), "PostgreSQL live");
        assert_eq!(label(Kind::Pg, Some(State::InUse)), "PostgreSQL in use");
        assert_eq!(label(Kind::Foreign, None), "foreign");
        assert_eq!(hex_key(5_432_001), "0x0052e2c1");
        assert_eq!(hex_key(-1), "0xffffffff");
        assert_eq!(fmt_dev(0xfe00), "254:0");
        assert_eq!(fmt_dev(0x801), "8:1");
        assert_eq!(fmt_time(0), "not set");
    }

    #[test]
    fn pidfile_lines() {
        let f = parse_pidfile(
            "4242\n/srv/data\n1700000000\n5432\n/tmp\n*\n  5432001        26\nready   \n",
        )
        .unwrap();
        assert_eq!(
            (
                f.postmaster_pid(),
                f.data_dir(),
                f.start_time(),
                f.port(),
                f.socket_dir(),
                f.shmem()
            ),
            (
                4242,
                Some("/srv/data"),
                Some(1_700_000_000),
                Some(5432),
                Some("/tmp"),
                Some((5_432_001, 26))
            )
        );
        // A standalone backend writes a negative PID; an early crash leaves few lines.
        let f = parse_pidfile("-77\n/d\n").unwrap();
        assert_eq!((f.postmaster_pid(), f.port(), f.shmem()), (77, None, None));
        assert_eq!(parse_pidfile("").unwrap_err(), "it is empty");
        assert_eq!(parse_pidfile("\n").unwrap_err(), "it is empty");
        assert!(parse_pidfile("abc\n")
            .unwrap_err()
            .contains("\"abc\" is not a PID"));
        assert!(parse_pidfile("0\n").is_err());
        assert!(parse_pidfile("99999999999\n").is_err());
    }

    #[test]
    fn pidfile_judgement() {
        let dir = tempfile::tempdir().unwrap();
        let ident = datadir_identity(dir.path()).unwrap();
        assert!(matches!(
            judge_pidfile(dir.path(), ident),
            PidVerdict::Absent
        ));
        let pf = dir.path().join("postmaster.pid");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        std::fs::write(&pf, format!("{dead}\n{}\n1\n5432\n", dir.path().display())).unwrap();
        match judge_pidfile(dir.path(), ident) {
            PidVerdict::Stale { why, .. } => assert!(why.contains("does not exist"), "{why}"),
            other => panic!("expected stale, got {other:?}"),
        }
        // A running process, but not in this directory; then one in it.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        for (cwd, live) in [(Path::new("/"), false), (dir.path(), true)] {
            let mut sleeper = std::process::Command::new("sleep")
                .arg("60")
                .current_dir(cwd)
                .spawn()
                .unwrap();
            std::fs::write(
                &pf,
                format!("{}\n{}\n{now}\n5432\n", sleeper.id(), dir.path().display()),
            )
            .unwrap();
            let verdict = judge_pidfile(dir.path(), ident);
            let _ = sleeper.kill();
            let _ = sleeper.wait();
            match verdict {
                PidVerdict::Live { pid, .. } if live => assert_eq!(pid, sleeper.id() as i32),
                PidVerdict::Stale { why, .. } if !live => {
                    assert!(
                        why.contains("not a postmaster of this data directory"),
                        "{why}"
                    )
                }
                other => panic!("cwd {cwd:?}: unexpected {other:?}"),
            }
        }
        std::fs::write(&pf, "garbage\n").unwrap();
        assert!(matches!(
            judge_pidfile(dir.path(), ident),
            PidVerdict::Unreadable(_)
        ));
    }

    #[test]
    fn force_ids() {
        assert_eq!(parse_force_id("12"), Ok(ForceId::Either(12)));
        assert_eq!(parse_force_id("shm:3"), Ok(ForceId::Shm(3)));
        assert_eq!(parse_force_id("SEM:0"), Ok(ForceId::Sem(0)));
        assert!(parse_force_id("shm:x")
            .unwrap_err()
            .contains("must be a number"));
        assert!(parse_force_id("-1").is_err());
        assert!(parse_force_id("msg:1")
            .unwrap_err()
            .contains("unknown object type"));
    }

    fn control(layout_new: bool, items: &[(u32, u32)], maxitems: u32) -> Vec<u8> {
        let (start, size) = if layout_new { (16, 40) } else { (12, 8) };
        let mut b = vec![0u8; start + size * maxitems as usize];
        b[0..4].copy_from_slice(&PG_DSM_CONTROL_MAGIC.to_ne_bytes());
        b[4..8].copy_from_slice(&(items.len() as u32).to_ne_bytes());
        b[8..12].copy_from_slice(&maxitems.to_ne_bytes());
        for (i, (h, r)) in items.iter().enumerate() {
            let at = start + i * size;
            b[at..at + 4].copy_from_slice(&h.to_ne_bytes());
            b[at + 4..at + 8].copy_from_slice(&r.to_ne_bytes());
        }
        b
    }

    #[test]
    fn dsm_control_layouts() {
        // PostgreSQL 15: 674 slots of 40 bytes = 26976 bytes, as observed.
        let b = control(true, &[(3_798_058_842, 2), (10, 0), (7, 2)], 674);
        assert_eq!(b.len(), 26_976);
        assert_eq!(
            parse_dsm_control(&b),
            Some(vec![3_798_058_842]),
            "unused and main-region items skipped"
        );
        let b = control(false, &[(8, 1), (9, 1)], 10);
        assert_eq!(parse_dsm_control(&b), Some(vec![8, 9]));
        let mut bad = control(true, &[], 4);
        bad.push(0);
        assert_eq!(parse_dsm_control(&bad), None, "unknown size");
        let mut wrong = control(true, &[], 4);
        wrong[0] = 0;
        assert_eq!(parse_dsm_control(&wrong), None);
        assert_eq!(parse_dsm_control(&[1, 2]), None);
        let mut over = control(true, &[(2, 1)], 1);
        over[4..8].copy_from_slice(&5u32.to_ne_bytes());
        assert_eq!(parse_dsm_control(&over), None, "nitems > maxitems");
    }

    fn sample_survey() -> Survey {
        let info = ShmInfo {
            key: 5_432_001,
            id: 7,
            mode: 0o600,
            size: 1 << 20,
            cpid: 10,
            lpid: 11,
            nattch: 0,
            uid: 0,
            gid: 0,
            cuid: 0,
            cgid: 0,
            atime: 0,
            dtime: 1_700_000_100,
            ctime: 1_700_000_000,
            rss: None,
            swap: None,
        };
        let seg = Seg {
            info,
            kind: Kind::Tusk,
            state: Some(State::Orphan),
            creator_pid: Some(10),
            fate: Some(ProcessFate::Gone),
            datadir: Some(DataDir {
                path: Some("/srv/tusk".into()),
                dev: 2049,
                ino: 99,
                exists: Some(true),
                pidfile: Some(PidVerdict::Absent),
            }),
            port: Some(5432),
            attached: vec![],
            dsm_control: None,
            evidence: vec![
                "attach count 0".into(),
                "creator PID 10 does not exist".into(),
            ],
            notes: vec![],
        };
        let set = Set {
            info: SemInfo {
                key: 5_432_002,
                id: 3,
                mode: 0o600,
                nsems: 17,
                uid: 0,
                gid: 0,
                cuid: 0,
                cgid: 0,
                otime: 0,
                ctime: 1_700_000_000,
            },
            kind: Kind::Foreign,
            state: None,
            marker: Some(1),
            creator_pid: None,
            fate: None,
            segment_id: None,
            datadir: None,
            port: None,
            evidence: vec![],
            notes: vec!["x".into()],
        };
        Survey {
            segs: vec![seg],
            sets: vec![set],
        }
    }

    #[test]
    fn json_shape() {
        let v = survey_json(&sample_survey());
        assert_eq!(v["format"], "tusk-ipc-list");
        assert_eq!(v["version"], 1);
        let g = &v["segments"][0];
        assert_eq!(g["key"], "0x0052e2c1");
        assert_eq!(g["key_decimal"], 5_432_001);
        assert_eq!(g["perms"], "600");
        assert_eq!(g["kind"], "tusk");
        assert_eq!(g["state"], "orphan");
        assert_eq!(g["label"], "tusk orphan");
        assert_eq!(g["creator"], "gone");
        assert_eq!(g["attach_time"], Value::Null);
        assert_eq!(g["detach_time"], 1_700_000_100);
        assert_eq!(g["data_directory"]["path"], "/srv/tusk");
        assert_eq!(g["data_directory"]["device"], 2049);
        assert_eq!(
            g["postmaster_pid"],
            Value::Null,
            "only live objects name a postmaster"
        );
        assert_eq!(g["evidence"][1], "creator PID 10 does not exist");
        let t = &v["semaphore_sets"][0];
        assert_eq!(t["kind"], "foreign");
        assert_eq!(t["state"], Value::Null);
        assert_eq!(t["marker"], 1);
        assert_eq!(t["nsems"], 17);
        assert_eq!(t["op_time"], Value::Null);
        let text = render_text(&sample_survey());
        assert!(text.contains("0x0052e2c1 7"));
        assert!(text.contains("tusk orphan, data directory \"/srv/tusk\" (device 8:1 inode 99), created by PID 10, port 5432"));
        assert!(text.contains("      evidence: creator PID 10 does not exist"));
        assert!(text.contains("1 tusk orphan, 1 foreign"));
    }

    #[test]
    fn cli_shapes() {
        assert!(IpcCli::try_parse_from(["tusk ipc", "list", "--json"]).is_ok());
        assert!(
            IpcCli::try_parse_from(["tusk ipc", "clean", "-D", "/x", "--dry-run", "--yes"]).is_ok()
        );
        assert!(IpcCli::try_parse_from([
            "tusk ipc",
            "clean",
            "--force-id",
            "1",
            "--force-id",
            "sem:2"
        ])
        .is_ok());
        // Nothing to clean named, or both scopes at once: usage errors (exit 2).
        for bad in [
            vec!["tusk ipc", "clean"],
            vec!["tusk ipc", "clean", "-D", "/x", "--all-orphans"],
            vec!["tusk ipc", "frobnicate"],
        ] {
            let e = IpcCli::try_parse_from(&bad).err().expect("refused");
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
    }
}
