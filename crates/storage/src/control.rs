//! `global/pg_control`: the cluster state that must survive any stop.
//!
//! It is read at every start to decide whether the last stop was clean,
//! and rewritten at every state change. Like PostgreSQL's, it is one
//! 512-byte block written with a single `pwrite` and fsynced: a sector
//! write is atomic on every disk we care about, and the CRC rejects a torn
//! or foreign file instead of trusting it.
//!
//! ```text
//! offset size field
//!      0    8 magic              b"TUSKCTL\0"
//!      8    4 format version     (CONTROL_VERSION)
//!     12    4 state              (DbState as u32)
//!     16    8 system identifier  (unique per `tusk init`)
//!     24    8 last update        (Unix seconds)
//!     32    8 checkpoint LSN
//!     40    8 redo LSN
//!     48    8 next transaction id
//!     56    4 PostgreSQL major version emulated (15)
//!     60    4 block size         (8192)
//!     64  444 zero
//!    508    4 CRC-32C of bytes 0..508 (little-endian)
//! ```
//! All integers are little-endian.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

pub const CONTROL_FILE_SIZE: usize = 512;
pub const CONTROL_MAGIC: &[u8; 8] = b"TUSKCTL\0";
pub const CONTROL_VERSION: u32 = 1;

const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 8;
const OFF_STATE: usize = 12;
const OFF_SYSID: usize = 16;
const OFF_TIME: usize = 24;
const OFF_CHECKPOINT: usize = 32;
const OFF_REDO: usize = 40;
const OFF_NEXT_XID: usize = 48;
const OFF_PG_MAJOR: usize = 56;
const OFF_BLCKSZ: usize = 60;
const OFF_CRC: usize = 508;

/// Cluster state, with PostgreSQL's names and numbering (`pg_controldata`
/// prints these strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum DbState {
    Startup = 0,
    Shutdowned = 1,
    ShutdownedInRecovery = 2,
    Shutdowning = 3,
    InCrashRecovery = 4,
    InArchiveRecovery = 5,
    InProduction = 6,
}

impl DbState {
    pub fn from_u32(v: u32) -> Option<DbState> {
        Some(match v {
            0 => DbState::Startup,
            1 => DbState::Shutdowned,
            2 => DbState::ShutdownedInRecovery,
            3 => DbState::Shutdowning,
            4 => DbState::InCrashRecovery,
            5 => DbState::InArchiveRecovery,
            6 => DbState::InProduction,
            _ => return None,
        })
    }

    pub fn describe(self) -> &'static str {
        match self {
            DbState::Startup => "starting up",
            DbState::Shutdowned => "shut down",
            DbState::ShutdownedInRecovery => "shut down in recovery",
            DbState::Shutdowning => "shutting down",
            DbState::InCrashRecovery => "in crash recovery",
            DbState::InArchiveRecovery => "in archive recovery",
            DbState::InProduction => "in production",
        }
    }
}

/// The decoded control file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlFile {
    pub state: DbState,
    pub system_identifier: u64,
    pub time: i64,
    pub checkpoint_lsn: u64,
    pub redo_lsn: u64,
    pub next_xid: u64,
}

/// Why the control file could not be used.
#[derive(Debug)]
pub enum ControlError {
    Io {
        path: PathBuf,
        op: &'static str,
        err: io::Error,
    },
    Corrupt {
        path: PathBuf,
        reason: String,
    },
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlError::Io { path, op, err } => {
                write!(f, "could not {op} control file \"{}\": {err}", path.display())
            }
            ControlError::Corrupt { path, reason } => write!(
                f,
                "control file \"{}\" is invalid: {reason}; the data directory may be damaged or not a tusk cluster",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ControlError {}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("global").join("pg_control")
}

impl ControlFile {
    /// A fresh control file for `tusk init`.
    pub fn new_cluster() -> ControlFile {
        let now = tusk_common::time::now_micros();
        // PostgreSQL's recipe: seconds in the high bits, microseconds and
        // the pid below, so two clusters made at once still differ.
        let sysid = ((now as u64 / 1_000_000) << 32)
            | (((now as u64 % 1_000_000) << 12) & 0xFFFF_F000)
            | (std::process::id() as u64 & 0xFFF);
        ControlFile {
            state: DbState::Shutdowned,
            system_identifier: sysid,
            time: now / 1_000_000,
            checkpoint_lsn: 0,
            redo_lsn: 0,
            next_xid: 3,
        }
    }

    pub fn encode(&self) -> [u8; CONTROL_FILE_SIZE] {
        let mut b = [0u8; CONTROL_FILE_SIZE];
        b[OFF_MAGIC..OFF_MAGIC + 8].copy_from_slice(CONTROL_MAGIC);
        b[OFF_VERSION..OFF_VERSION + 4].copy_from_slice(&CONTROL_VERSION.to_le_bytes());
        b[OFF_STATE..OFF_STATE + 4].copy_from_slice(&(self.state as u32).to_le_bytes());
        b[OFF_SYSID..OFF_SYSID + 8].copy_from_slice(&self.system_identifier.to_le_bytes());
        b[OFF_TIME..OFF_TIME + 8].copy_from_slice(&self.time.to_le_bytes());
        b[OFF_CHECKPOINT..OFF_CHECKPOINT + 8].copy_from_slice(&self.checkpoint_lsn.to_le_bytes());
        b[OFF_REDO..OFF_REDO + 8].copy_from_slice(&self.redo_lsn.to_le_bytes());
        b[OFF_NEXT_XID..OFF_NEXT_XID + 8].copy_from_slice(&self.next_xid.to_le_bytes());
        b[OFF_PG_MAJOR..OFF_PG_MAJOR + 4].copy_from_slice(&15u32.to_le_bytes());
        b[OFF_BLCKSZ..OFF_BLCKSZ + 4]
            .copy_from_slice(&(crate::layout::BLCKSZ as u32).to_le_bytes());
        let crc = crc32c::crc32c(&b[..OFF_CRC]);
        b[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8], path: &Path) -> Result<ControlFile, ControlError> {
        let corrupt = |reason: String| ControlError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        if b.len() != CONTROL_FILE_SIZE {
            return Err(corrupt(format!(
                "size is {} bytes, expected {CONTROL_FILE_SIZE}",
                b.len()
            )));
        }
        if &b[OFF_MAGIC..OFF_MAGIC + 8] != CONTROL_MAGIC {
            return Err(corrupt("wrong magic number".into()));
        }
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        let stored = u32_at(OFF_CRC);
        let computed = crc32c::crc32c(&b[..OFF_CRC]);
        if stored != computed {
            return Err(corrupt(format!(
                "incorrect checksum (stored {stored:08x}, computed {computed:08x})"
            )));
        }
        let version = u32_at(OFF_VERSION);
        if version != CONTROL_VERSION {
            return Err(corrupt(format!(
                "format version {version}, this server reads {CONTROL_VERSION}"
            )));
        }
        let state = DbState::from_u32(u32_at(OFF_STATE))
            .ok_or_else(|| corrupt("unknown cluster state".into()))?;
        Ok(ControlFile {
            state,
            system_identifier: u64_at(OFF_SYSID),
            time: u64_at(OFF_TIME) as i64,
            checkpoint_lsn: u64_at(OFF_CHECKPOINT),
            redo_lsn: u64_at(OFF_REDO),
            next_xid: u64_at(OFF_NEXT_XID),
        })
    }

    pub fn read(data_dir: &Path) -> Result<ControlFile, ControlError> {
        let p = path(data_dir);
        let mut buf = Vec::with_capacity(CONTROL_FILE_SIZE);
        File::open(&p)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map_err(|err| ControlError::Io {
                path: p.clone(),
                op: "read",
                err,
            })?;
        ControlFile::decode(&buf, &p)
    }

    /// Writes the file in place with one write and an fsync; `create`
    /// makes it (only `tusk init` does).
    pub fn write(&self, data_dir: &Path, create: bool) -> Result<(), ControlError> {
        let p = path(data_dir);
        let io = |op: &'static str| {
            let p = p.clone();
            move |err| ControlError::Io { path: p, op, err }
        };
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(create)
            .open(&p)
            .map_err(io("open"))?;
        let mut me = self.clone();
        me.time = tusk_common::time::now_micros() / 1_000_000;
        f.write_all(&me.encode()).map_err(io("write"))?;
        f.sync_all().map_err(io("fsync"))
    }

    /// Reads, changes the state, writes back.
    pub fn update_state(data_dir: &Path, state: DbState) -> Result<ControlFile, ControlError> {
        let mut c = ControlFile::read(data_dir)?;
        c.state = state;
        c.write(data_dir, false)?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_crc() {
        let c = ControlFile::new_cluster();
        let mut b = c.encode();
        assert_eq!(ControlFile::decode(&b, Path::new("x")).unwrap(), c);
        b[OFF_STATE] ^= 1;
        let e = ControlFile::decode(&b, Path::new("x"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("incorrect checksum"), "{e}");
        assert!(ControlFile::decode(&b[..100], Path::new("x")).is_err());
    }

    #[test]
    fn write_read_update() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("global")).unwrap();
        ControlFile::new_cluster().write(d.path(), true).unwrap();
        assert!(
            ControlFile::new_cluster().write(d.path(), true).is_err(),
            "create must not overwrite"
        );
        ControlFile::update_state(d.path(), DbState::InProduction).unwrap();
        assert_eq!(
            ControlFile::read(d.path()).unwrap().state,
            DbState::InProduction
        );
    }
}
