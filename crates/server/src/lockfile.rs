//! `postmaster.pid` and the socket lock files: the interlock that keeps two
//! postmasters off one data directory, and the file `pg_ctl` reads.
//!
//! The format is PostgreSQL's, line for line, because PostgreSQL's own
//! `pg_ctl` and monitoring tools parse it; it is documented, and read, in
//! one place: [`tusk_common::pidfile`], which `tusk ctl` and `tusk ipc`
//! use too. This module writes the file and judges an existing one.
//!
//! The file is created with O_EXCL. A file that is already there is stale
//! when its PID is ours, our parent's or grandparent's (PIDs recycled after
//! a reboot), dead, or alive but not a postmaster of this directory (its
//! working directory is not this data directory: every tusk postmaster
//! chdirs there). Otherwise the start is refused, as PostgreSQL does.
//! Updates rewrite the whole file with one `pwrite` at offset 0 and never
//! shorten a line, so a reader never sees a half-written file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use tusk_common::pidfile::{PidFile, PidFileError};
use tusk_common::{elog, sqlstate, PgError};

pub use tusk_common::pidfile::{
    shmem_line, LINE_LISTEN_ADDR, LINE_PID, LINE_PM_STATUS, LINE_SHMEM_KEY, LINE_SOCKET_DIR,
    STATUS_READY, STATUS_STARTING, STATUS_STOPPING,
};

/// Why an existing lock file does not stop us.
/// `is_socket`: a socket lock is held by any live server of any data
/// directory, so for it only the first checks apply.
fn stale_reason(pid: i32, data_dir: &Path, is_socket: bool) -> Option<String> {
    let me = std::process::id() as i32;
    // SAFETY: getppid cannot fail and touches no memory of ours.
    let parent = unsafe { libc::getppid() };
    let grandparent: i32 = std::env::var("PG_GRANDPARENT_PID")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if pid == me || pid == parent || (grandparent != 0 && pid == grandparent) {
        return Some(format!("PID {pid} is this process or one of its parents"));
    }
    // SAFETY: signal 0 only checks that the PID exists; no memory effects.
    if unsafe { libc::kill(pid, 0) } != 0 {
        let err = std::io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ESRCH) => Some(format!("no process with PID {pid} exists")),
            // A process of another user cannot be a postmaster of a data
            // directory we own (PostgreSQL's rule too).
            Some(libc::EPERM) => Some(format!("PID {pid} belongs to another user")),
            _ => None,
        };
    }
    // Alive. Is it a server at all? A recycled PID (after a reboot, or in
    // a container) usually belongs to some unrelated program.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmd = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    let cmd = cmd.trim();
    if !cmd.is_empty()
        && !["tusk", "postgres", "postmaster"]
            .iter()
            .any(|n| cmd.contains(n))
    {
        return Some(format!(
            "PID {pid} is alive but is not a tusk server (it runs \"{cmd}\")"
        ));
    }
    if is_socket {
        // A live server, whatever its data directory, owns this socket.
        return None;
    }
    // A server: it is a postmaster of this directory only if it runs there
    // (every tusk postmaster chdirs to its data directory).
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    let ours = std::fs::canonicalize(data_dir).ok()?;
    if cwd != ours {
        return Some(format!(
            "PID {pid} is alive but is not a postmaster of this data directory (it runs in \"{}\")",
            cwd.display()
        ));
    }
    None
}

fn read_existing(path: &Path) -> std::io::Result<String> {
    let mut s = String::new();
    File::open(path)?.read_to_string(&mut s)?;
    Ok(s)
}

/// How PostgreSQL names a lock file in messages: the data directory's
/// relative to the data directory (the server runs there), a socket's
/// lock by its full path.
fn shown(path: &Path, is_socket: bool) -> String {
    if is_socket {
        path.display().to_string()
    } else {
        path.file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

fn lock_error(path: &Path, is_socket: bool, hint: String) -> PgError {
    PgError::fatal(
        sqlstate::LOCK_FILE_EXISTS,
        format!("lock file \"{}\" already exists", shown(path, is_socket)),
    )
    .with_hint(hint)
}

/// Creates a lock file exclusively, replacing a proven-stale one.
/// `check_shmem` judges line 7 of a stale data-directory lock: it returns
/// an error when the segment it names is still in use.
fn create_lock(
    path: &Path,
    contents: &str,
    data_dir: &Path,
    is_socket: bool,
    check_shmem: &dyn Fn(&str) -> Result<(), PgError>,
) -> Result<(), PgError> {
    for _attempt in 0..100 {
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(mut f) => {
                let res = f.write_all(contents.as_bytes()).and_then(|_| f.sync_all());
                if let Err(e) = res {
                    let _ = std::fs::remove_file(path);
                    return Err(PgError::fatal(
                        sqlstate::IO_ERROR,
                        format!(
                            "could not write lock file \"{}\": {e}",
                            shown(path, is_socket)
                        ),
                    ));
                }
                return Ok(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(PgError::fatal(
                    sqlstate::IO_ERROR,
                    format!(
                        "could not create lock file \"{}\": {e}",
                        shown(path, is_socket)
                    ),
                ))
            }
        }
        let existing = match read_existing(path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue, // raced with its removal
            Err(e) => {
                return Err(PgError::fatal(
                    sqlstate::IO_ERROR,
                    format!(
                        "could not open lock file \"{}\": {e}",
                        shown(path, is_socket)
                    ),
                ))
            }
        };
        let file = match PidFile::parse(&existing) {
            Ok(f) => f,
            Err(PidFileError::Empty) => {
                return Err(PgError::fatal(sqlstate::LOCK_FILE_EXISTS, format!("lock file \"{}\" is empty", shown(path, is_socket))).with_hint(
                    "Either another server is starting, or the lock file is the remnant of a previous server startup crash.",
                ))
            }
            Err(PidFileError::BadPid(first)) => {
                return Err(PgError::fatal(
                    sqlstate::LOCK_FILE_EXISTS,
                    format!(
                        "bogus data in lock file \"{}\": \"{}\"",
                        shown(path, is_socket),
                        first
                    ),
                ))
            }
        };
        let pid = file.postmaster_pid();
        let Some(why) = stale_reason(pid, data_dir, is_socket) else {
            let hint = if is_socket {
                format!(
                    "Is another postmaster (PID {pid}) using socket file \"{}\"?",
                    path.with_extension("").display()
                )
            } else {
                format!(
                    "Is another postmaster (PID {pid}) running in data directory \"{}\"?",
                    data_dir.display()
                )
            };
            return Err(lock_error(path, is_socket, hint));
        };
        if !is_socket {
            if let Some(line7) = file.line(LINE_SHMEM_KEY) {
                check_shmem(line7)?;
            }
        }
        elog::log(format!(
            "removing stale lock file \"{}\": {why}",
            shown(path, is_socket)
        ));
        if let Err(e) = std::fs::remove_file(path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(PgError::fatal(sqlstate::IO_ERROR, format!("could not remove old lock file \"{}\": {e}", shown(path, is_socket)))
                    .with_hint("The file seems accidentally left over, but it could not be removed. Please remove the file by hand and try again."));
            }
        }
    }
    Err(PgError::fatal(
        sqlstate::LOCK_FILE_EXISTS,
        format!(
            "could not create lock file \"{}\": too many attempts",
            shown(path, is_socket)
        ),
    ))
}

/// Lines 1–5 as PostgreSQL writes them at creation.
fn initial_contents(data_dir: &Path, port: u16, socket_dir: &str, start_time: i64) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n",
        std::process::id(),
        data_dir.display(),
        start_time,
        port,
        socket_dir
    )
}

/// Takes the data directory lock (`DATA/postmaster.pid`).
pub fn create_data_dir_lock(
    data_dir: &Path,
    port: u16,
    start_time: i64,
    check_shmem: &dyn Fn(&str) -> Result<(), PgError>,
) -> Result<PathBuf, PgError> {
    let path = data_dir.join("postmaster.pid");
    create_lock(
        &path,
        &initial_contents(data_dir, port, "", start_time),
        data_dir,
        false,
        check_shmem,
    )?;
    Ok(path)
}

/// Takes `<dir>/.s.PGSQL.<port>.lock` before the socket file is (re)made.
pub fn create_socket_lock(
    socket_dir: &Path,
    port: u16,
    data_dir: &Path,
    start_time: i64,
) -> Result<PathBuf, PgError> {
    let path = socket_dir.join(format!(".s.PGSQL.{port}.lock"));
    let contents = initial_contents(
        data_dir,
        port,
        &socket_dir.display().to_string(),
        start_time,
    );
    create_lock(&path, &contents, data_dir, true, &|_| Ok(()))?;
    Ok(path)
}

/// Sets line `n` (1-based) of the lock file, padding missing lines, with
/// one pwrite of the whole file. Errors are logged, not fatal, as in
/// PostgreSQL: the server runs on, pg_ctl just sees less.
pub fn set_line(path: &Path, n: usize, text: &str) {
    let res = (|| -> std::io::Result<()> {
        let old = read_existing(path)?;
        let mut lines: Vec<String> = old.lines().map(str::to_string).collect();
        while lines.len() < n {
            lines.push(String::new());
        }
        lines[n - 1] = text.to_string();
        let mut out = lines.join("\n");
        out.push('\n');
        let f = OpenOptions::new().write(true).open(path)?;
        f.write_all_at(out.as_bytes(), 0)?;
        f.sync_all()
    })();
    if let Err(e) = res {
        elog::log(format!(
            "could not update lock file \"{}\": {e}",
            path.display()
        ));
    }
}

/// The periodic check: is the lock file still ours? If it vanished or
/// names another PID, the postmaster must shut down (someone else may be
/// starting on this directory).
pub fn still_ours(path: &Path) -> Result<(), String> {
    match read_existing(path) {
        Ok(s) => {
            let pid = PidFile::parse(&s).map_or(0, |f| f.pid);
            if pid == std::process::id() as i64 {
                Ok(())
            } else {
                Err(format!(
                    "lock file \"{}\" contains wrong PID: {pid} instead of {}",
                    path.display(),
                    std::process::id()
                ))
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("could not open file \"{}\": {e}", path.display()))
        }
        Err(_) => Ok(()), // other errors: continue, as PostgreSQL does
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_lock_of_dead_pid_is_replaced_and_live_one_refuses() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("postmaster.pid");
        // A PID that cannot exist (above pid_max).
        std::fs::write(&p, "99999999\n/x\n0\n5432\n\n").unwrap();
        create_data_dir_lock(d.path(), 5432, 1, &|_| Ok(())).unwrap();
        let first = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            first.lines().next().unwrap(),
            std::process::id().to_string()
        );
        // Our own PID counts as stale (reboot case): it is replaced again.
        create_data_dir_lock(d.path(), 5432, 1, &|_| Ok(())).unwrap();
        // PID 1 is alive but does not run in this directory: stale.
        std::fs::write(&p, "1\n").unwrap();
        create_data_dir_lock(d.path(), 5432, 1, &|_| Ok(())).unwrap();
    }

    #[test]
    fn live_postmaster_of_this_directory_refuses() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("postmaster.pid");
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg0("postgres")
            .arg("30")
            .current_dir(d.path())
            .spawn()
            .unwrap();
        std::fs::write(&p, format!("{}\n", child.id())).unwrap();
        let err = create_data_dir_lock(d.path(), 5432, 1, &|_| Ok(())).unwrap_err();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(err.code, sqlstate::LOCK_FILE_EXISTS);
        assert!(err.message.contains("already exists"), "{err}");
        assert!(err.hint.unwrap().contains(&format!("PID {}", child.id())));
    }

    #[test]
    fn empty_and_bogus_files_refuse() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("postmaster.pid");
        std::fs::write(&p, "").unwrap();
        assert!(create_data_dir_lock(d.path(), 1, 1, &|_| Ok(()))
            .unwrap_err()
            .message
            .contains("is empty"));
        std::fs::write(&p, "abc\n").unwrap();
        assert!(create_data_dir_lock(d.path(), 1, 1, &|_| Ok(()))
            .unwrap_err()
            .message
            .contains("bogus data"));
        // No positive PID matches i32::MIN: refused as bogus, no overflow.
        std::fs::write(&p, "-2147483648\n").unwrap();
        assert!(create_data_dir_lock(d.path(), 1, 1, &|_| Ok(()))
            .unwrap_err()
            .message
            .contains("bogus data"));
    }

    #[test]
    fn set_line_pads_and_keeps_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = create_data_dir_lock(d.path(), 5432, 7, &|_| Ok(())).unwrap();
        set_line(&p, LINE_PM_STATUS, STATUS_STARTING);
        set_line(&p, LINE_SHMEM_KEY, &shmem_line(5432001, 26));
        set_line(&p, LINE_PM_STATUS, STATUS_READY);
        let s = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 8);
        assert_eq!(lines[2], "7");
        assert_eq!(lines[3], "5432");
        assert_eq!(lines[6], "  5432001        26");
        assert_eq!(lines[7], "ready   ");
        assert!(still_ours(&p).is_ok());
    }

    #[test]
    fn socket_lock_of_a_live_server_elsewhere_refuses() {
        // A server of another data directory on the same port and socket
        // directory: its socket must not be taken over.
        let sockdir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let mine = tempfile::tempdir().unwrap();
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg0("tusk")
            .arg("30")
            .current_dir(elsewhere.path())
            .spawn()
            .unwrap();
        // Until the child has exec'd it still runs as this test binary:
        // wait (with a deadline) for its command line to say "tusk".
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let cmdline = format!("/proc/{}/cmdline", child.id());
        while !std::fs::read(&cmdline).is_ok_and(|c| c.starts_with(b"tusk\0")) {
            if std::time::Instant::now() >= deadline {
                // End the child before failing: no stray process.
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("child never exec'd");
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::fs::write(
            sockdir.path().join(".s.PGSQL.5999.lock"),
            format!("{}\n", child.id()),
        )
        .unwrap();
        let r = create_socket_lock(sockdir.path(), 5999, mine.path(), 1);
        child.kill().unwrap();
        child.wait().unwrap();
        let err = r.unwrap_err();
        assert_eq!(err.code, sqlstate::LOCK_FILE_EXISTS, "{err}");
        assert!(err.hint.unwrap().contains("using socket file"));
    }
}
