//! The data directory: creating one (`tusk init`) and checking one before
//! a server starts on it.
//!
//! The checks are PostgreSQL's, because they are what keeps two servers,
//! or a server and an unrelated user, off the same files: the directory
//! must exist, belong to the user running the server, and be closed to
//! others (0700, or 0750 for group read access); it must be a cluster of
//! the version this server reads (PG_VERSION).

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tusk_common::{sqlstate, PgError};

/// The major version written to PG_VERSION; clients see server_version 15.x.
pub const PG_MAJOR: &str = "15";

/// Checks a data directory before start; returns its absolute path.
pub fn check(dir: &Path) -> Result<PathBuf, PgError> {
    let meta = std::fs::metadata(dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            PgError::fatal(
                sqlstate::IO_ERROR,
                format!("data directory \"{}\" does not exist", dir.display()),
            )
            .with_hint(format!("Create it with: tusk init -D {}", dir.display()))
        } else {
            PgError::fatal(
                sqlstate::IO_ERROR,
                format!(
                    "could not read permissions of directory \"{}\": {e}",
                    dir.display()
                ),
            )
        }
    })?;
    if !meta.is_dir() {
        return Err(PgError::fatal(
            sqlstate::IO_ERROR,
            format!(
                "specified data directory \"{}\" is not a directory",
                dir.display()
            ),
        ));
    }
    // SAFETY: geteuid cannot fail and touches no memory of ours.
    let euid = unsafe { libc::geteuid() };
    if meta.uid() != euid {
        return Err(PgError::fatal(
            sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("data directory \"{}\" has wrong ownership", dir.display()),
        )
        .with_hint("The server must be started by the user that owns the data directory."));
    }
    if meta.mode() & 0o027 != 0 {
        return Err(PgError::fatal(
            sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "data directory \"{}\" has invalid permissions",
                dir.display()
            ),
        )
        .with_detail("Permissions should be u=rwx (0700) or u=rwx,g=rx (0750).")
        .with_hint(format!("Fix them with: chmod 0700 {}", dir.display())));
    }
    let version = std::fs::read_to_string(dir.join("PG_VERSION")).map_err(|_| {
        PgError::fatal(
            sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("\"{}\" is not a valid data directory", dir.display()),
        )
        .with_detail(format!(
            "File \"{}\" is missing.",
            dir.join("PG_VERSION").display()
        ))
        .with_hint(format!(
            "Create a cluster there with: tusk init -D {}",
            dir.display()
        ))
    })?;
    if version.trim() != PG_MAJOR {
        return Err(PgError::fatal(sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE, "database files are incompatible with server")
            .with_detail(format!("The data directory was initialized by version {}, which is not compatible with this version {PG_MAJOR}.", version.trim())));
    }
    std::fs::canonicalize(dir).map_err(|e| {
        PgError::fatal(
            sqlstate::IO_ERROR,
            format!("could not resolve \"{}\": {e}", dir.display()),
        )
    })
}

/// Refuses root unless `--allow-root`, and mismatched real/effective
/// users, as PostgreSQL does. Returns the exit code on refusal.
pub fn check_user(allow_root: bool) -> Result<(), i32> {
    // SAFETY: getuid and geteuid cannot fail and touch no memory of ours.
    let (uid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
    if euid == 0 && !allow_root {
        eprintln!(
            "\"root\" execution of the tusk server is not permitted.\n\
             The server must be started under an unprivileged user ID to prevent\n\
             possible system security compromises: a server running as root that is\n\
             subverted through SQL owns the whole machine. Start it as the user that\n\
             owns the data directory (e.g. \"su postgres -c 'tusk server -D DIR'\").\n\
             For throw-away containers and test machines only, --allow-root overrides this."
        );
        return Err(1);
    }
    if uid != euid {
        eprintln!("tusk: real and effective user IDs must match");
        return Err(1);
    }
    Ok(())
}

/// The OS user's name, the default superuser (as initdb). Without a
/// passwd entry (user_name answers with the number): $USER, else "uidN".
pub fn os_user_name() -> String {
    // SAFETY: geteuid cannot fail and touches no memory of ours.
    let uid = unsafe { libc::geteuid() };
    let name = crate::resources::system::user_name(uid);
    if name != uid.to_string() {
        return name;
    }
    std::env::var("USER").unwrap_or_else(|_| format!("uid{uid}"))
}

/// `tusk init -D DIR [-U NAME] [--next-xid XID]`: creates a new cluster.
/// `next_xid` (a test option) makes its first transaction id XID instead
/// of 3, so that tests can run on both sides of 2^32.
pub fn init(dir: &Path, superuser: Option<&str>, next_xid: Option<u64>) -> Result<String, String> {
    init_with(dir, superuser, next_xid, false)
}

/// [`init`] with `data_checksums` (`tusk init -k`, initdb's
/// --data-checksums): every relation page carries a checksum that is
/// verified on read, so that a damaged page is an ERROR naming it
/// instead of wrong data. Off by default, as in PostgreSQL 15.
pub fn init_with(
    dir: &Path,
    superuser: Option<&str>,
    next_xid: Option<u64>,
    data_checksums: bool,
) -> Result<String, String> {
    if let Some(x) = next_xid {
        if x < tusk_storage::clog::FIRST_NORMAL_TRANSACTION_ID || x == u64::MAX {
            return Err(format!(
                "--next-xid must be at least {} (got {x})",
                tusk_storage::clog::FIRST_NORMAL_TRANSACTION_ID
            ));
        }
    }
    let user = superuser.map(str::to_string).unwrap_or_else(os_user_name);
    if user.is_empty() || user.len() > 63 || user.starts_with("pg_") {
        return Err(format!(
            "superuser name \"{user}\" is not allowed (1 to 63 bytes, not starting with \"pg_\")"
        ));
    }
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(format!(
                    "directory \"{0}\" exists but is not empty\nIf you want to create a new database system, either remove or empty the directory \"{0}\" or run tusk init with an argument other than \"{0}\".",
                    dir.display()
                ));
            }
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| {
                format!(
                    "could not change permissions of directory \"{}\": {e}",
                    dir.display()
                )
            })?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("could not create directory \"{}\": {e}", dir.display()))?;
        }
        Err(e) => {
            return Err(format!(
                "could not access directory \"{}\": {e}",
                dir.display()
            ))
        }
    }
    let io = |what: &str, e: std::io::Error| {
        format!("could not create {what} in \"{}\": {e}", dir.display())
    };
    for sub in ["global", "base", "pg_wal", "pg_xact"] {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir.join(sub))
            .map_err(|e| io(sub, e))?;
    }
    std::fs::write(dir.join("PG_VERSION"), format!("{PG_MAJOR}\n"))
        .map_err(|e| io("PG_VERSION", e))?;
    std::fs::write(dir.join("postgresql.conf"), tusk_config::sample_conf())
        .map_err(|e| io("postgresql.conf", e))?;
    std::fs::write(dir.join("pg_hba.conf"), crate::hba::DEFAULT_HBA)
        .map_err(|e| io("pg_hba.conf", e))?;
    tusk_storage::bootstrap::write_initial(dir, &user)
        .map_err(|e| io("the bootstrap catalog", e))?;
    let mut control = tusk_storage::control::ControlFileData::new_cluster();
    if let Some(x) = next_xid {
        control.checkpoint_copy.next_xid = x;
    }
    if data_checksums {
        // PG_DATA_CHECKSUM_VERSION.
        control.data_checksum_version = 1;
    }
    // The catalog tables, written and fsynced before the initial
    // checkpoint exists (PostgreSQL's bootstrap mode: no WAL for them).
    tusk_storage::catalog::write_bootstrap(dir, &user, control.data_checksum_version != 0)
        .map_err(|e| e.message)?;
    // The first WAL segment with the initial shutdown checkpoint, which
    // pg_control then points at (as initdb leaves a cluster).
    tusk_storage::xlog::bootstrap_wal(dir, &mut control).map_err(|e| e.to_string())?;
    control.write(dir, true).map_err(|e| e.to_string())?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both methods reach every file of a freshly initialised cluster
    /// (fsync: each regular file and directory once, pg_wal through its
    /// symlink too) and report failures instead of stopping.
    #[test]
    fn sync_data_directory_reaches_every_file() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("data");
        init(&d, Some("alice"), None).unwrap();
        // pg_wal as a symlink elsewhere, as `initdb -X` makes it.
        let wal = t.path().join("wal");
        std::fs::rename(d.join("pg_wal"), &wal).unwrap();
        std::os::unix::fs::symlink(&wal, d.join("pg_wal")).unwrap();
        fn count(p: &Path) -> u64 {
            let mut n = 1; // the directory itself
            for e in std::fs::read_dir(p).unwrap().flatten() {
                let m = std::fs::metadata(e.path()).unwrap();
                n += if m.is_dir() { count(&e.path()) } else { 1 };
            }
            n
        }
        let expected = count(&d);
        assert!(expected > 10, "a cluster has files: {expected}");
        let (n, _) = sync_data_directory(&d, InitSync::Fsync);
        assert_eq!(n, expected);
        let (n, _) = sync_data_directory(&d, InitSync::Syncfs);
        assert_eq!(n, 2);
    }

    #[test]
    fn init_then_check() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("data");
        init(&d, Some("alice"), None).unwrap();
        assert_eq!(std::fs::metadata(&d).unwrap().mode() & 0o777, 0o700);
        check(&d).unwrap();
        let e = init(&d, None, None).unwrap_err();
        assert!(e.contains("exists but is not empty"), "{e}");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = check(&d).unwrap_err();
        assert_eq!(e.code, sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE);
        assert!(e.detail.unwrap().contains("0750"));
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o750)).unwrap();
        check(&d).unwrap();
    }

    #[test]
    fn check_refuses_missing_and_foreign_dirs() {
        let t = tempfile::tempdir().unwrap();
        assert!(check(&t.path().join("nope"))
            .unwrap_err()
            .message
            .contains("does not exist"));
        std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(check(t.path())
            .unwrap_err()
            .message
            .contains("not a valid data directory"));
    }
}

/// How a crash restart makes the data directory durable before redo
/// (`recovery_init_sync_method`, PostgreSQL 15's SyncDataDirectory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitSync {
    /// fsync every file and directory, one by one.
    Fsync,
    /// One `syncfs` per file system (the data directory's and pg_wal's).
    Syncfs,
}

/// Makes everything the crashed server wrote durable before recovery
/// reads it. Why: a page the old server wrote (into the kernel's page
/// cache) but never fsynced is read back by redo, which then skips the
/// WAL records the page already has; if the machine crashes after this
/// recovery, the page could be lost while the WAL that rebuilds it has
/// been recycled. PostgreSQL does the same before crash recovery.
/// Errors are logged, not fatal (PostgreSQL's data_sync_retry off would
/// PANIC on a failed fsync of a data file; a file that cannot be opened
/// is skipped with a LOG line). Called by the startup process only.
pub fn sync_data_directory(dir: &Path, how: InitSync) -> (u64, std::time::Duration) {
    let start = std::time::Instant::now();
    let mut synced = 0u64;
    match how {
        InitSync::Syncfs => {
            for d in [dir.to_path_buf(), dir.join("pg_wal")] {
                match std::fs::File::open(&d) {
                    Ok(f) => {
                        let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
                        // SAFETY: syncfs takes a valid open descriptor,
                        // which `f` keeps open for the call.
                        if unsafe { libc::syncfs(fd) } != 0 {
                            tusk_common::elog::log(format!(
                                "could not synchronize file system for file \"{}\": {}",
                                d.display(),
                                std::io::Error::last_os_error()
                            ));
                        }
                        synced += 1;
                    }
                    Err(e) => tusk_common::elog::log(format!(
                        "could not open file \"{}\": {e}",
                        d.display()
                    )),
                }
            }
        }
        InitSync::Fsync => sync_tree(dir, &mut synced),
    }
    (synced, start.elapsed())
}

/// fsyncs every regular file under `dir` (following pg_wal if it is a
/// symlink, as PostgreSQL does), then the directory itself.
fn sync_tree(dir: &Path, synced: &mut u64) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            tusk_common::elog::log(format!(
                "could not open directory \"{}\": {e}",
                dir.display()
            ));
            return;
        }
    };
    for ent in entries.flatten() {
        let path = ent.path();
        let Ok(ft) = ent.file_type() else { continue };
        let is_dir = ft.is_dir()
            || (ft.is_symlink()
                && ent.file_name() == "pg_wal"
                && std::fs::metadata(&path).is_ok_and(|m| m.is_dir()));
        if is_dir {
            sync_tree(&path, synced);
        } else if ft.is_file() {
            fsync_path(&path, synced);
        }
    }
    fsync_path(dir, synced);
}

fn fsync_path(p: &Path, synced: &mut u64) {
    match std::fs::File::open(p) {
        Ok(f) => match f.sync_all() {
            Ok(()) => *synced += 1,
            Err(e) => {
                tusk_common::elog::log(format!("could not fsync file \"{}\": {e}", p.display()))
            }
        },
        Err(e) => tusk_common::elog::log(format!("could not open file \"{}\": {e}", p.display())),
    }
}
