//! `global/pg_control`: the cluster state that must survive any stop, in
//! PostgreSQL 15's `ControlFileData` layout, and its copy in shared memory.
//!
//! Why PostgreSQL's layout: operators and their tools (`pg_controldata`,
//! `pg_ctl promote`, backup tools) read this file directly. Written byte
//! for byte as PostgreSQL 15 on x86-64 writes it (`pg_control_version`
//! 1300, `catalog_version_no` 202209061, CRC-32C over every byte before
//! the `crc` field, the file padded with zeroes to 8192 bytes), those tools
//! read a tusk data directory as they read a PostgreSQL one.
//!
//! Why one 8 kB `pwrite` and an fsync: as in PostgreSQL, only the first
//! 296 bytes matter and they sit in one 512-byte sector, whose write is
//! atomic on every disk we care about; the padding keeps a later read of
//! the whole file from hitting EOF. The CRC rejects a torn or foreign file
//! at start instead of trusting it (see [`ControlFileData::decode`]).
//!
//! Why a copy in shared memory ([`PgControlShared`], under an LWLock as
//! PostgreSQL's ControlFileLock): the startup process
//! reads the file into it when the server starts (and again after a crash
//! restart, which re-creates shared memory); afterwards the startup process
//! and the checkpointer are the only writers, and they change the shared
//! copy and the file together under the area's lock, so no two processes
//! ever read-modify-write the file concurrently. Everyone else (backup
//! functions, later the WAL and xact code) reads the shared copy. The
//! postmaster only checks the file before its first start, to refuse a
//! damaged one before it creates anything.
//!
//! `ControlFileData` (offsets in bytes; `CheckPoint` is embedded at 40):
//!
//! ```text
//! offset size field                              tusk's value today
//!      0    8 system_identifier                  unique per `tusk init`
//!      8    4 pg_control_version                 1300
//!     12    4 catalog_version_no                 202209061
//!     16    4 state (DBState)                    see DbState
//!     20    4 (padding)
//!     24    8 time (pg_time_t, Unix seconds)     last update
//!     32    8 checkPoint (LSN of last checkpoint record)
//!     40   88 checkPointCopy (CheckPoint):
//!        40    8 redo                            LSN
//!        48    4 ThisTimeLineID                  1
//!        52    4 PrevTimeLineID                  1
//!        56    1 fullPageWrites                  1
//!        57    7 (padding)
//!        64    8 nextXid (FullTransactionId)     epoch << 32 | xid
//!        72    4 nextOid
//!        76    4 nextMulti
//!        80    4 nextMultiOffset
//!        84    4 oldestXid
//!        88    4 oldestXidDB
//!        92    4 oldestMulti
//!        96    4 oldestMultiDB
//!       100    4 (padding)
//!       104    8 time (of the checkpoint)
//!       112    4 oldestCommitTsXid
//!       116    4 newestCommitTsXid
//!       120    4 oldestActiveXid
//!       124    4 (padding)
//!    128    8 unloggedLSN
//!    136    8 minRecoveryPoint
//!    144    4 minRecoveryPointTLI
//!    148    4 (padding)
//!    152    8 backupStartPoint
//!    160    8 backupEndPoint
//!    168    1 backupEndRequired
//!    169    3 (padding)
//!    172    4 wal_level                          1 = replica
//!    176    1 wal_log_hints
//!    177    3 (padding)
//!    180    4 MaxConnections
//!    184    4 max_worker_processes
//!    188    4 max_wal_senders
//!    192    4 max_prepared_xacts
//!    196    4 max_locks_per_xact
//!    200    1 track_commit_timestamp
//!    201    3 (padding)
//!    204    4 maxAlign                           8
//!    208    8 floatFormat (f64)                  1234567.0
//!    216    4 blcksz                             8192
//!    220    4 relseg_size                        131072
//!    224    4 xlog_blcksz                        8192
//!    228    4 xlog_seg_size                      16 MB
//!    232    4 nameDataLen                        64
//!    236    4 indexMaxKeys                       32
//!    240    4 toast_max_chunk_size               1996
//!    244    4 loblksize                          2048
//!    248    1 float8ByVal                        1
//!    249    3 (padding)
//!    252    4 data_checksum_version              0
//!    256   32 mock_authentication_nonce          random per `tusk init`
//!    288    4 crc (CRC-32C of bytes 0..288)
//!    292    4 (padding)
//!    296      end of ControlFileData; zeroes up to 8192
//! ```
//! All integers are little-endian (x86-64 native order; the const
//! assertions below pin every offset, so the struct *is* the diagram).

use crate::lwlock::{LwLock, LwMode, LwProcs};
use std::cell::UnsafeCell;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::mem::{offset_of, size_of};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// `PG_CONTROL_VERSION` of PostgreSQL 15.
pub const PG_CONTROL_VERSION: u32 = 1300;
/// `CATALOG_VERSION_NO` of PostgreSQL 15.
pub const CATALOG_VERSION_NO: u32 = 202_209_061;
/// `PG_CONTROL_FILE_SIZE`: the file is padded with zeroes to this size.
pub const PG_CONTROL_FILE_SIZE: usize = 8192;
/// Bytes of `ControlFileData`, padding after the CRC included.
pub const CONTROL_DATA_SIZE: usize = 296;
/// Offset of the CRC: everything before it is checksummed.
pub const OFF_CRC: usize = 288;
/// `FLOATFORMAT_VALUE`: a double whose bytes prove the float format.
pub const FLOAT_FORMAT: f64 = 1_234_567.0;
/// `MOCK_AUTH_NONCE_LEN`.
pub const MOCK_AUTH_NONCE_LEN: usize = 32;
/// `DEFAULT_XLOG_SEG_SIZE`: 16 MB WAL segments.
pub const WAL_SEGMENT_SIZE: u32 = 16 * 1024 * 1024;
/// `RELSEG_SIZE`: blocks per 1 GB segment of a relation.
pub const RELSEG_SIZE: u32 = 131_072;
/// `FirstNormalTransactionId`: the first xid a transaction can get.
pub const FIRST_NORMAL_XID: u64 = 3;
/// `FirstNormalObjectId`: the first OID handed to user objects.
pub const FIRST_NORMAL_OID: u32 = 16_384;
/// `WAL_LEVEL_REPLICA`, PostgreSQL's default.
pub const WAL_LEVEL_REPLICA: i32 = 1;

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

/// PostgreSQL's `CheckPoint`: the last checkpoint's record, copied into
/// pg_control. Only integer fields and explicit padding, so every bit
/// pattern read from disk is a valid value.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckPoint {
    /// Where replay must start (LSN).
    pub redo: u64,
    pub this_timeline: u32,
    pub prev_timeline: u32,
    pub full_page_writes: u8,
    pub _pad0: [u8; 7],
    /// 64-bit transaction id: epoch in the high half, xid in the low.
    pub next_xid: u64,
    pub next_oid: u32,
    pub next_multi: u32,
    pub next_multi_offset: u32,
    pub oldest_xid: u32,
    pub oldest_xid_db: u32,
    pub oldest_multi: u32,
    pub oldest_multi_db: u32,
    pub _pad1: u32,
    /// Unix seconds of the checkpoint.
    pub time: i64,
    pub oldest_commit_ts_xid: u32,
    pub newest_commit_ts_xid: u32,
    pub oldest_active_xid: u32,
    pub _pad2: u32,
}

/// PostgreSQL 15's `ControlFileData`; see the module documentation for
/// the byte diagram. `#[repr(C)]` with every padding byte spelled out, so
/// the struct's bytes are exactly the file's first 296 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControlFileData {
    pub system_identifier: u64,
    pub pg_control_version: u32,
    pub catalog_version_no: u32,
    /// A [`DbState`]; kept as the raw number because it comes from disk
    /// (decode checks it, [`ControlFileData::state`] converts it).
    pub state: u32,
    pub _pad0: u32,
    /// Unix seconds of the last update.
    pub time: i64,
    /// LSN of the last checkpoint record.
    pub checkpoint: u64,
    pub checkpoint_copy: CheckPoint,
    pub unlogged_lsn: u64,
    pub min_recovery_point: u64,
    pub min_recovery_point_tli: u32,
    pub _pad1: u32,
    pub backup_start_point: u64,
    pub backup_end_point: u64,
    pub backup_end_required: u8,
    pub _pad2: [u8; 3],
    pub wal_level: i32,
    pub wal_log_hints: u8,
    pub _pad3: [u8; 3],
    pub max_connections: i32,
    pub max_worker_processes: i32,
    pub max_wal_senders: i32,
    pub max_prepared_xacts: i32,
    pub max_locks_per_xact: i32,
    pub track_commit_timestamp: u8,
    pub _pad4: [u8; 3],
    pub max_align: u32,
    pub float_format: f64,
    pub blcksz: u32,
    pub relseg_size: u32,
    pub xlog_blcksz: u32,
    pub xlog_seg_size: u32,
    pub name_data_len: u32,
    pub index_max_keys: u32,
    pub toast_max_chunk_size: u32,
    pub loblksize: u32,
    pub float8_by_val: u8,
    pub _pad5: [u8; 3],
    pub data_checksum_version: u32,
    pub mock_authentication_nonce: [u8; MOCK_AUTH_NONCE_LEN],
    pub crc: u32,
    pub _pad6: u32,
}

const _: () = {
    assert!(size_of::<CheckPoint>() == 88);
    assert!(offset_of!(CheckPoint, redo) == 0);
    assert!(offset_of!(CheckPoint, this_timeline) == 8);
    assert!(offset_of!(CheckPoint, prev_timeline) == 12);
    assert!(offset_of!(CheckPoint, full_page_writes) == 16);
    assert!(offset_of!(CheckPoint, next_xid) == 24);
    assert!(offset_of!(CheckPoint, next_oid) == 32);
    assert!(offset_of!(CheckPoint, next_multi) == 36);
    assert!(offset_of!(CheckPoint, next_multi_offset) == 40);
    assert!(offset_of!(CheckPoint, oldest_xid) == 44);
    assert!(offset_of!(CheckPoint, oldest_xid_db) == 48);
    assert!(offset_of!(CheckPoint, oldest_multi) == 52);
    assert!(offset_of!(CheckPoint, oldest_multi_db) == 56);
    assert!(offset_of!(CheckPoint, time) == 64);
    assert!(offset_of!(CheckPoint, oldest_commit_ts_xid) == 72);
    assert!(offset_of!(CheckPoint, newest_commit_ts_xid) == 76);
    assert!(offset_of!(CheckPoint, oldest_active_xid) == 80);

    assert!(size_of::<ControlFileData>() == CONTROL_DATA_SIZE);
    assert!(offset_of!(ControlFileData, system_identifier) == 0);
    assert!(offset_of!(ControlFileData, pg_control_version) == 8);
    assert!(offset_of!(ControlFileData, catalog_version_no) == 12);
    assert!(offset_of!(ControlFileData, state) == 16);
    assert!(offset_of!(ControlFileData, time) == 24);
    assert!(offset_of!(ControlFileData, checkpoint) == 32);
    assert!(offset_of!(ControlFileData, checkpoint_copy) == 40);
    assert!(offset_of!(ControlFileData, unlogged_lsn) == 128);
    assert!(offset_of!(ControlFileData, min_recovery_point) == 136);
    assert!(offset_of!(ControlFileData, min_recovery_point_tli) == 144);
    assert!(offset_of!(ControlFileData, backup_start_point) == 152);
    assert!(offset_of!(ControlFileData, backup_end_point) == 160);
    assert!(offset_of!(ControlFileData, backup_end_required) == 168);
    assert!(offset_of!(ControlFileData, wal_level) == 172);
    assert!(offset_of!(ControlFileData, wal_log_hints) == 176);
    assert!(offset_of!(ControlFileData, max_connections) == 180);
    assert!(offset_of!(ControlFileData, max_worker_processes) == 184);
    assert!(offset_of!(ControlFileData, max_wal_senders) == 188);
    assert!(offset_of!(ControlFileData, max_prepared_xacts) == 192);
    assert!(offset_of!(ControlFileData, max_locks_per_xact) == 196);
    assert!(offset_of!(ControlFileData, track_commit_timestamp) == 200);
    assert!(offset_of!(ControlFileData, max_align) == 204);
    assert!(offset_of!(ControlFileData, float_format) == 208);
    assert!(offset_of!(ControlFileData, blcksz) == 216);
    assert!(offset_of!(ControlFileData, relseg_size) == 220);
    assert!(offset_of!(ControlFileData, xlog_blcksz) == 224);
    assert!(offset_of!(ControlFileData, xlog_seg_size) == 228);
    assert!(offset_of!(ControlFileData, name_data_len) == 232);
    assert!(offset_of!(ControlFileData, index_max_keys) == 236);
    assert!(offset_of!(ControlFileData, toast_max_chunk_size) == 240);
    assert!(offset_of!(ControlFileData, loblksize) == 244);
    assert!(offset_of!(ControlFileData, float8_by_val) == 248);
    assert!(offset_of!(ControlFileData, data_checksum_version) == 252);
    assert!(offset_of!(ControlFileData, mock_authentication_nonce) == 256);
    assert!(offset_of!(ControlFileData, crc) == OFF_CRC);
    // Every byte is a named field or explicit padding: reading the struct
    // as bytes never reads uninitialised padding.
    assert!(OFF_CRC + 4 + 4 == CONTROL_DATA_SIZE);
    assert!(CONTROL_DATA_SIZE <= 512, "must fit one sector");
    assert!(
        cfg!(target_endian = "little"),
        "the diagram is little-endian"
    );
};

/// Why the control file could not be used. `Invalid` carries PostgreSQL's
/// message and a detail that names the file and what is wrong with it.
#[derive(Debug)]
pub enum ControlError {
    Io {
        path: PathBuf,
        op: &'static str,
        err: io::Error,
    },
    Invalid {
        path: PathBuf,
        message: String,
        detail: String,
        hint: Option<String>,
    },
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlError::Io { path, op, err } => {
                write!(
                    f,
                    "could not {op} control file \"{}\": {err}",
                    path.display()
                )
            }
            ControlError::Invalid {
                message, detail, ..
            } => write!(f, "{message}: {detail}"),
        }
    }
}

impl std::error::Error for ControlError {}

impl ControlError {
    /// The error as the server reports it: data corrupted (XX001) for a
    /// bad file, I/O error (58030) for a failed system call.
    pub fn to_pg_error(&self, severity: tusk_common::Severity) -> tusk_common::PgError {
        use tusk_common::{sqlstate, PgError};
        match self {
            ControlError::Io { .. } => PgError::new(severity, sqlstate::IO_ERROR, self.to_string())
                .with_hint("Check the file's permissions and the disk holding the data directory."),
            ControlError::Invalid {
                message,
                detail,
                hint,
                ..
            } => {
                let e = PgError::new(severity, sqlstate::DATA_CORRUPTED, message.clone())
                    .with_detail(detail.clone());
                match hint {
                    Some(h) => e.with_hint(h.clone()),
                    None => e,
                }
            }
        }
    }
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("global").join("pg_control")
}

/// 32 random bytes for the mock authentication nonce.
fn random_nonce() -> [u8; MOCK_AUTH_NONCE_LEN] {
    let mut b = [0u8; MOCK_AUTH_NONCE_LEN];
    // SAFETY: b is a writable buffer of b.len() bytes.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != b.len() as isize {
        // No entropy source: the nonce only has to differ between
        // clusters, which time and pid give.
        let seed = tusk_common::time::now_micros() as u64 ^ ((std::process::id() as u64) << 40);
        for (i, x) in b.iter_mut().enumerate() {
            *x = (seed.rotate_left(i as u32 * 7) >> (i % 8)) as u8;
        }
    }
    b
}

impl ControlFileData {
    /// A fresh control file for `tusk init`: shut down, no checkpoint
    /// record yet (tusk has no WAL; LSNs are 0/0), timeline 1, the first
    /// normal xid and OID, and this build's compile-time constants.
    pub fn new_cluster() -> ControlFileData {
        let now = tusk_common::time::now_micros();
        // PostgreSQL's recipe: seconds in the high bits, microseconds and
        // the pid below, so two clusters made at once still differ.
        let sysid = ((now as u64 / 1_000_000) << 32)
            | (((now as u64 % 1_000_000) << 12) & 0xFFFF_F000)
            | (std::process::id() as u64 & 0xFFF);
        let secs = now / 1_000_000;
        ControlFileData {
            system_identifier: sysid,
            pg_control_version: PG_CONTROL_VERSION,
            catalog_version_no: CATALOG_VERSION_NO,
            state: DbState::Shutdowned as u32,
            _pad0: 0,
            time: secs,
            checkpoint: 0,
            checkpoint_copy: CheckPoint {
                redo: 0,
                this_timeline: 1,
                prev_timeline: 1,
                full_page_writes: 1,
                _pad0: [0; 7],
                next_xid: FIRST_NORMAL_XID,
                next_oid: FIRST_NORMAL_OID,
                next_multi: 1,
                next_multi_offset: 0,
                oldest_xid: FIRST_NORMAL_XID as u32,
                oldest_xid_db: 1,
                oldest_multi: 1,
                oldest_multi_db: 1,
                _pad1: 0,
                time: secs,
                oldest_commit_ts_xid: 0,
                newest_commit_ts_xid: 0,
                oldest_active_xid: 0,
                _pad2: 0,
            },
            unlogged_lsn: 1000,
            min_recovery_point: 0,
            min_recovery_point_tli: 0,
            _pad1: 0,
            backup_start_point: 0,
            backup_end_point: 0,
            backup_end_required: 0,
            _pad2: [0; 3],
            wal_level: WAL_LEVEL_REPLICA,
            wal_log_hints: 0,
            _pad3: [0; 3],
            max_connections: 100,
            max_worker_processes: 8,
            max_wal_senders: 10,
            max_prepared_xacts: 0,
            max_locks_per_xact: 64,
            track_commit_timestamp: 0,
            _pad4: [0; 3],
            max_align: 8,
            float_format: FLOAT_FORMAT,
            blcksz: crate::layout::BLCKSZ as u32,
            relseg_size: RELSEG_SIZE,
            xlog_blcksz: crate::layout::XLOG_BLCKSZ as u32,
            xlog_seg_size: WAL_SEGMENT_SIZE,
            name_data_len: crate::procarray::NAMEDATALEN as u32,
            index_max_keys: 32,
            toast_max_chunk_size: 1996,
            loblksize: 2048,
            float8_by_val: 1,
            _pad5: [0; 3],
            data_checksum_version: 0,
            mock_authentication_nonce: random_nonce(),
            crc: 0,
            _pad6: 0,
        }
    }

    /// The cluster state (decode has checked that it is one).
    pub fn state(&self) -> DbState {
        DbState::from_u32(self.state).unwrap_or(DbState::Startup)
    }

    pub fn set_state(&mut self, s: DbState) {
        self.state = s as u32;
    }

    /// Where replay would start.
    pub fn redo_lsn(&self) -> u64 {
        self.checkpoint_copy.redo
    }

    /// The struct's bytes, which are the file's first 296 bytes.
    fn as_bytes(&self) -> &[u8; CONTROL_DATA_SIZE] {
        // SAFETY: repr(C), size CONTROL_DATA_SIZE, and no implicit padding
        // (const-asserted above), so every byte is initialised.
        unsafe { &*(self as *const ControlFileData as *const [u8; CONTROL_DATA_SIZE]) }
    }

    /// The 8192 bytes of the file, with the CRC computed. On the stack:
    /// the write path allocates nothing (see [`ControlFileData::write_file`]).
    pub fn encode(&self) -> [u8; PG_CONTROL_FILE_SIZE] {
        let mut me = *self;
        me.crc = crc32c::crc32c(&me.as_bytes()[..OFF_CRC]);
        let mut b = [0u8; PG_CONTROL_FILE_SIZE];
        b[..CONTROL_DATA_SIZE].copy_from_slice(me.as_bytes());
        b
    }

    /// Checks and decodes the file's bytes, in PostgreSQL's order (size,
    /// version, CRC, catalog version, then the compile-time constants this
    /// server relies on). `path` is only used in the messages.
    pub fn decode(b: &[u8], path: &Path) -> Result<ControlFileData, ControlError> {
        let invalid = |message: String, detail: String, hint: Option<&str>| ControlError::Invalid {
            path: path.to_path_buf(),
            message,
            detail: format!("Control file \"{}\": {detail}", path.display()),
            hint: hint.map(str::to_string),
        };
        let initdb = Some("It looks like you need to run tusk init.");
        if b.len() < PG_CONTROL_FILE_SIZE {
            return Err(invalid(
                format!(
                    "could not read file \"{}\": read {} of {PG_CONTROL_FILE_SIZE}",
                    path.display(),
                    b.len()
                ),
                format!(
                    "the file is {} bytes, shorter than {PG_CONTROL_FILE_SIZE}: it was truncated or only partly written.",
                    b.len()
                ),
                None,
            ));
        }
        if b.len() > PG_CONTROL_FILE_SIZE {
            return Err(invalid(
                "database files are incompatible with server".into(),
                format!(
                    "the file is {} bytes, longer than {PG_CONTROL_FILE_SIZE}.",
                    b.len()
                ),
                None,
            ));
        }
        // SAFETY: at least CONTROL_DATA_SIZE bytes (checked above); every
        // field is an integer, a float or a byte array, so any bits are a
        // valid value; read_unaligned copes with the Vec's alignment.
        let c: ControlFileData =
            unsafe { std::ptr::read_unaligned(b.as_ptr() as *const ControlFileData) };
        if c.pg_control_version != PG_CONTROL_VERSION {
            let swapped = c.pg_control_version.swap_bytes() == PG_CONTROL_VERSION;
            return Err(invalid(
                "database files are incompatible with server".into(),
                format!(
                    "The database cluster was initialized with PG_CONTROL_VERSION {} (0x{:08x}), but the server was compiled with PG_CONTROL_VERSION {PG_CONTROL_VERSION} (0x{PG_CONTROL_VERSION:08x}).",
                    c.pg_control_version, c.pg_control_version
                ),
                if swapped {
                    Some("This could be a problem of mismatched byte ordering.  It looks like you need to run tusk init.")
                } else {
                    initdb
                },
            ));
        }
        let computed = crc32c::crc32c(&b[..OFF_CRC]);
        if computed != c.crc {
            return Err(invalid(
                "incorrect checksum in control file".into(),
                format!(
                    "stored CRC-32C {:08x}, computed {computed:08x}: the file is torn by an interrupted write or damaged.",
                    c.crc
                ),
                Some("Restore global/pg_control from a backup; do not edit it."),
            ));
        }
        let mismatch = |what: &str, found: u64, want: u64| {
            Err(invalid(
                "database files are incompatible with server".into(),
                format!("The database cluster was initialized with {what} {found}, but the server was compiled with {what} {want}."),
                initdb,
            ))
        };
        if c.catalog_version_no != CATALOG_VERSION_NO {
            return mismatch(
                "CATALOG_VERSION_NO",
                c.catalog_version_no as u64,
                CATALOG_VERSION_NO as u64,
            );
        }
        if c.blcksz as usize != crate::layout::BLCKSZ {
            return mismatch("BLCKSZ", c.blcksz as u64, crate::layout::BLCKSZ as u64);
        }
        if c.xlog_blcksz as usize != crate::layout::XLOG_BLCKSZ {
            return mismatch(
                "XLOG_BLCKSZ",
                c.xlog_blcksz as u64,
                crate::layout::XLOG_BLCKSZ as u64,
            );
        }
        if c.name_data_len as usize != crate::procarray::NAMEDATALEN {
            return mismatch(
                "NAMEDATALEN",
                c.name_data_len as u64,
                crate::procarray::NAMEDATALEN as u64,
            );
        }
        if !c.xlog_seg_size.is_power_of_two() || !(1 << 20..=1 << 30).contains(&c.xlog_seg_size) {
            return Err(invalid(
                "invalid WAL segment size in control file".into(),
                format!(
                    "the WAL segment size is {} bytes; it must be a power of two between 1 MB and 1 GB.",
                    c.xlog_seg_size
                ),
                None,
            ));
        }
        if DbState::from_u32(c.state).is_none() {
            return Err(invalid(
                "invalid cluster state in control file".into(),
                format!("state code {} is not one PostgreSQL 15 defines.", c.state),
                None,
            ));
        }
        Ok(c)
    }

    /// Reads and checks the file. Any process may call it; the server
    /// calls it only in the postmaster, before shared memory exists.
    pub fn read(data_dir: &Path) -> Result<ControlFileData, ControlError> {
        let p = path(data_dir);
        let mut buf = Vec::with_capacity(PG_CONTROL_FILE_SIZE);
        File::open(&p)
            .and_then(|f| {
                f.take(PG_CONTROL_FILE_SIZE as u64 + 1)
                    .read_to_end(&mut buf)
            })
            .map_err(|err| ControlError::Io {
                path: p.clone(),
                op: "read",
                err,
            })?;
        ControlFileData::decode(&buf, &p)
    }

    /// Writes `DATA/global/pg_control`; see [`ControlFileData::write_file`].
    pub fn write(&mut self, data_dir: &Path, create: bool) -> Result<(), ControlError> {
        self.write_file(&path(data_dir), create)
    }

    /// Writes the control file at `file` with one 8 kB `pwrite` at offset
    /// 0 and an fsync, stamping `time`. `create` makes it and refuses to
    /// overwrite (only `tusk init` does). In a running server only the
    /// holder of [`PgControlShared`]'s lock calls this. Nothing is
    /// allocated unless it fails (the buffer is on the stack, a short path
    /// is converted on the stack), so a checkpoint can still record itself
    /// when memory is short.
    pub fn write_file(&mut self, file: &Path, create: bool) -> Result<(), ControlError> {
        let io = |op: &'static str, err: io::Error| ControlError::Io {
            path: file.to_path_buf(),
            op,
            err,
        };
        let f = OpenOptions::new()
            .write(true)
            .create_new(create)
            .open(file)
            .map_err(|e| io("open", e))?;
        self.time = tusk_common::time::now_micros() / 1_000_000;
        let bytes = self.encode();
        let n = f.write_at(&bytes, 0).map_err(|e| io("write", e))?;
        if n != bytes.len() {
            // A short write leaves a file the CRC will reject at the next
            // start; say so now instead of pretending it was written.
            return Err(io(
                "write",
                io::Error::other(format!("wrote {n} of {} bytes (disk full?)", bytes.len())),
            ));
        }
        f.sync_all().map_err(|e| io("fsync", e))
    }
}

/// The shared-memory copy of pg_control and the LWLock that serialises
/// its writers (PostgreSQL's ControlFileLock).
///
/// Loaded by the first writer, not by the postmaster: the startup process
/// reads the file into the area as its first act (a crash restart thus
/// re-reads it, and an unreadable file is a startup-process failure that
/// stops the server), and the checkpointer does the same if it ever runs
/// before the startup process loaded it (a shutdown requested during
/// start-up), so it never writes an unloaded copy over the file.
///
/// Writers hold the lock exclusively across the file write, so that the
/// file and the shared copy always change together, in writer order;
/// readers hold it shared while they copy. A process that dies holding it
/// is a crash: the postmaster re-creates shared memory.
#[repr(C)]
pub struct PgControlShared {
    lock: LwLock,
    /// 1 once a writer has loaded the file; read and written under `lock`.
    loaded: AtomicU32,
    _pad: u32,
    data: UnsafeCell<ControlFileData>,
}

// SAFETY: `data` is only read with `lock` held (any mode) and written with
// it held exclusively.
unsafe impl Sync for PgControlShared {}

impl PgControlShared {
    /// Makes a freshly created area valid: lock free, not loaded. Only
    /// the postmaster calls this, before any child exists.
    ///
    /// # Safety
    /// `at` must point to a writable, suitably aligned area of at least
    /// `size_of::<PgControlShared>()` bytes that no other process uses yet.
    pub unsafe fn init(at: *mut PgControlShared) {
        // SAFETY: promised by the caller; all-zero bytes are valid for
        // every field but the lock, which is then initialised.
        unsafe {
            std::ptr::write_bytes(at, 0, 1);
            (*at).lock.init();
        }
    }

    /// A consistent copy, or None before a writer loaded the file. Any
    /// process with a proc number (`me`) may call it.
    pub fn snapshot(&self, procs: &impl LwProcs, me: u32) -> Option<ControlFileData> {
        let _g = self.lock.lock(procs, me, LwMode::Shared);
        if self.loaded.load(Ordering::Relaxed) == 0 {
            return None;
        }
        // SAFETY: the lock is held; writers hold it exclusively.
        Some(unsafe { *self.data.get() })
    }

    /// Reads the file into the area unless it is loaded already, and
    /// returns the shared copy. Writers only (see [`PgControlWriter`]).
    fn load(
        &self,
        procs: &impl LwProcs,
        me: u32,
        data_dir: &Path,
    ) -> Result<ControlFileData, ControlError> {
        let _g = self.lock.lock(procs, me, LwMode::Exclusive);
        if self.loaded.load(Ordering::Relaxed) == 0 {
            let c = ControlFileData::read(data_dir)?;
            // SAFETY: the lock is held exclusively.
            unsafe { *self.data.get() = c };
            self.loaded.store(1, Ordering::Relaxed);
        }
        // SAFETY: the lock is held.
        Ok(unsafe { *self.data.get() })
    }

    /// Changes the shared copy and the file together: `f` edits a copy,
    /// the copy is written to disk, and only a successful write becomes
    /// the shared copy. Writers only (see [`PgControlWriter`]).
    fn update(
        &self,
        procs: &impl LwProcs,
        me: u32,
        file: &Path,
        f: impl FnOnce(&mut ControlFileData),
    ) -> Result<ControlFileData, ControlError> {
        let _g = self.lock.lock(procs, me, LwMode::Exclusive);
        if self.loaded.load(Ordering::Relaxed) == 0 {
            // Never write an unloaded (zeroed) copy over the file.
            return Err(ControlError::Invalid {
                path: file.to_path_buf(),
                message: "pg_control is not loaded into shared memory".into(),
                detail: format!(
                    "Control file \"{}\": no writer has read it since shared memory was created.",
                    file.display()
                ),
                hint: None,
            });
        }
        // SAFETY: the lock is held exclusively.
        let mut copy = unsafe { *self.data.get() };
        f(&mut copy);
        copy.write_file(file, false)?;
        // SAFETY: the lock is held exclusively.
        unsafe { *self.data.get() = copy };
        Ok(copy)
    }
}

fn area_size(_c: &crate::layout::SizeCalc) -> Result<usize, crate::layout::SizeError> {
    Ok(std::mem::size_of::<PgControlShared>())
}

/// # Safety
/// As [`crate::layout::AreaSpec::init`].
unsafe fn area_init(at: *mut u8, _size: usize, _z: &crate::layout::Sizing) {
    // SAFETY: promised by the caller; the area is 64-byte aligned.
    unsafe { PgControlShared::init(at as *mut PgControlShared) };
}

/// pg_control's shared-memory area (see [`PgControlShared`]).
pub const AREA: crate::layout::AreaSpec = crate::layout::AreaSpec {
    id: crate::layout::AreaId::PgControl,
    name: "pg_control",
    align: 64,
    size: area_size,
    init: area_init,
};

/// What every process gets: read the shared copy, never write it.
#[derive(Clone, Copy)]
pub struct PgControlView {
    area: *const PgControlShared,
}

// SAFETY: the area is process-shared memory synchronised by its lock.
unsafe impl Send for PgControlView {}

impl PgControlView {
    /// # Safety
    /// `area` must point to an initialised [`PgControlShared`] in a
    /// mapping that outlives every use of the view.
    pub unsafe fn from_raw(area: *const PgControlShared) -> PgControlView {
        PgControlView { area }
    }

    fn shared(&self) -> &PgControlShared {
        // SAFETY: from_raw's contract.
        unsafe { &*self.area }
    }

    /// See [`PgControlShared::snapshot`].
    pub fn snapshot(&self, procs: &impl LwProcs, me: u32) -> Option<ControlFileData> {
        self.shared().snapshot(procs, me)
    }
}

/// The writer's handle: only the startup process and the checkpointer
/// build one (the server's shared-memory module hands it out by process
/// kind), with their proc number for the lock.
pub struct PgControlWriter<P: LwProcs> {
    view: PgControlView,
    data_dir: PathBuf,
    /// `data_dir/global/pg_control`, built once so updates allocate nothing.
    file: PathBuf,
    procs: P,
    me: u32,
}

impl<P: LwProcs> PgControlWriter<P> {
    pub fn new(view: PgControlView, data_dir: PathBuf, procs: P, me: u32) -> PgControlWriter<P> {
        PgControlWriter {
            view,
            file: path(&data_dir),
            data_dir,
            procs,
            me,
        }
    }

    /// See [`PgControlShared::load`].
    pub fn load(&self) -> Result<ControlFileData, ControlError> {
        self.view
            .shared()
            .load(&self.procs, self.me, &self.data_dir)
    }

    /// See [`PgControlShared::update`].
    pub fn update(
        &self,
        f: impl FnOnce(&mut ControlFileData),
    ) -> Result<ControlFileData, ControlError> {
        self.view
            .shared()
            .update(&self.procs, self.me, &self.file, f)
    }
}

/// One process that never contends for a lock, for unit tests of code
/// that takes an LWLock: the sleep and wake paths are the LWLock's own
/// tests' business (lwlock/tests.rs, across fork).
#[cfg(test)]
#[derive(Default)]
pub(crate) struct UncontendedProcs(crate::lwlock::LwWaiter);

#[cfg(test)]
impl LwProcs for UncontendedProcs {
    fn waiter(&self, _procno: u32) -> &crate::lwlock::LwWaiter {
        &self.0
    }
    fn sleep(&self, _procno: u32) {
        unreachable!("an uncontended lock never sleeps")
    }
    fn wake(&self, _procno: u32) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area_lock_held(area: &std::mem::MaybeUninit<PgControlShared>) -> bool {
        // SAFETY: every caller passes an area PgControlShared::init ran on.
        unsafe { area.assume_init_ref() }.lock.is_held()
    }

    fn decode_err(b: &[u8]) -> String {
        match ControlFileData::decode(b, Path::new("/d/global/pg_control")) {
            Ok(_) => panic!("decoded"),
            Err(e) => {
                let s = e.to_string();
                assert!(s.contains("/d/global/pg_control"), "names the file: {s}");
                s
            }
        }
    }

    #[test]
    fn round_trip_and_file_size() {
        let c = ControlFileData::new_cluster();
        let b = c.encode();
        assert_eq!(b.len(), PG_CONTROL_FILE_SIZE);
        assert!(b[CONTROL_DATA_SIZE..].iter().all(|&x| x == 0));
        let back = ControlFileData::decode(&b, Path::new("x")).unwrap();
        assert_eq!(back.state(), DbState::Shutdowned);
        assert_eq!(
            back.system_identifier, c.system_identifier,
            "{back:?} vs {c:?}"
        );
        assert_eq!(back.checkpoint_copy, c.checkpoint_copy);
    }

    #[test]
    fn bytes_are_postgresql_15s() {
        let c = ControlFileData::new_cluster();
        let b = c.encode();
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        assert_eq!(u32_at(8), 1300);
        assert_eq!(u32_at(12), 202_209_061);
        assert_eq!(u32_at(16), 1, "shut down");
        assert_eq!(u32_at(48), 1, "timeline");
        assert_eq!(b[56], 1, "full_page_writes");
        assert_eq!(u32_at(64), 3, "next xid");
        assert_eq!(u32_at(72), 16384, "next oid");
        assert_eq!(u32_at(216), 8192, "blcksz");
        assert_eq!(u32_at(228), 16 << 20, "segment size");
        assert_eq!(&b[208..216], &1_234_567.0f64.to_le_bytes());
        assert_eq!(u32_at(288), crc32c::crc32c(&b[..288]));
    }

    #[test]
    fn short_file_is_rejected() {
        let b = ControlFileData::new_cluster().encode();
        let e = decode_err(&b[..4096]);
        assert!(e.contains("read 4096 of 8192"), "{e}");
        let e = decode_err(&[]);
        assert!(e.contains("read 0 of 8192"), "{e}");
    }

    #[test]
    fn torn_or_flipped_bytes_fail_the_crc() {
        let mut b = ControlFileData::new_cluster().encode();
        b[40] ^= 0x10; // the redo LSN
        let e = decode_err(&b);
        assert!(e.contains("incorrect checksum in control file"), "{e}");
        // A torn write: the second half of the first sector is stale.
        let mut t = ControlFileData::new_cluster().encode();
        t[140..288].fill(0xAA);
        assert!(decode_err(&t).contains("incorrect checksum"));
    }

    #[test]
    fn wrong_versions_are_reported() {
        let mut c = ControlFileData::new_cluster();
        c.pg_control_version = 1201;
        let e = decode_err(&c.encode());
        assert!(
            e.contains("database files are incompatible with server"),
            "{e}"
        );
        assert!(e.contains("PG_CONTROL_VERSION 1201"), "{e}");
        let mut c = ControlFileData::new_cluster();
        c.catalog_version_no = 1;
        let e = decode_err(&c.encode());
        assert!(e.contains("CATALOG_VERSION_NO 1,"), "{e}");
        let mut c = ControlFileData::new_cluster();
        c.blcksz = 4096;
        assert!(decode_err(&c.encode()).contains("BLCKSZ 4096"));
    }

    #[test]
    fn write_read_and_create_refuses_to_overwrite() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("global")).unwrap();
        ControlFileData::new_cluster()
            .write(d.path(), true)
            .unwrap();
        assert_eq!(
            std::fs::metadata(path(d.path())).unwrap().len(),
            PG_CONTROL_FILE_SIZE as u64
        );
        assert!(
            ControlFileData::new_cluster()
                .write(d.path(), true)
                .is_err(),
            "create must not overwrite"
        );
        let c = ControlFileData::read(d.path()).unwrap();
        assert_eq!(c.state(), DbState::Shutdowned);
    }

    #[test]
    fn shared_copy_and_file_change_together() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("global")).unwrap();
        ControlFileData::new_cluster()
            .write(d.path(), true)
            .unwrap();
        let mut area = std::mem::MaybeUninit::<PgControlShared>::uninit();
        // SAFETY: a local area, aligned for its type, that no one else sees.
        unsafe { PgControlShared::init(area.as_mut_ptr()) };
        // SAFETY: initialised just above; `area` outlives the view's uses.
        let view = unsafe { PgControlView::from_raw(area.as_ptr()) };
        let w = PgControlWriter::new(view, d.path().to_path_buf(), UncontendedProcs::default(), 0);
        let me = UncontendedProcs::default();
        // Nothing to read and nothing written before a writer loads it.
        assert!(view.snapshot(&me, 0).is_none());
        let e = w.update(|c| c.set_state(DbState::InProduction));
        assert!(e.unwrap_err().to_string().contains("not loaded"));
        assert_eq!(
            ControlFileData::read(d.path()).unwrap().state(),
            DbState::Shutdowned
        );
        assert_eq!(w.load().unwrap().state(), DbState::Shutdowned);
        w.update(|c| {
            c.set_state(DbState::InProduction);
            c.checkpoint_copy.next_oid = 20000;
        })
        .unwrap();
        assert_eq!(
            view.snapshot(&me, 0).unwrap().state(),
            DbState::InProduction
        );
        let f = ControlFileData::read(d.path()).unwrap();
        assert_eq!(
            (f.state(), f.checkpoint_copy.next_oid),
            (DbState::InProduction, 20000)
        );
        // A second load keeps the shared copy (the file is not re-read).
        assert_eq!(w.load().unwrap().checkpoint_copy.next_oid, 20000);
        // A failed write leaves the shared copy as it was.
        std::fs::remove_file(path(d.path())).unwrap();
        assert!(w.update(|c| c.set_state(DbState::Shutdowned)).is_err());
        assert_eq!(
            view.snapshot(&me, 0).unwrap().state(),
            DbState::InProduction
        );
        assert!(!area_lock_held(&area), "every path releases the lock");
    }

    #[test]
    fn a_damaged_file_fails_the_load() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("global")).unwrap();
        std::fs::write(path(d.path()), b"not a control file").unwrap();
        let mut area = std::mem::MaybeUninit::<PgControlShared>::uninit();
        // SAFETY: a local area, aligned for its type, that no one else sees.
        unsafe { PgControlShared::init(area.as_mut_ptr()) };
        // SAFETY: initialised just above; `area` outlives the view's uses.
        let view = unsafe { PgControlView::from_raw(area.as_ptr()) };
        let w = PgControlWriter::new(view, d.path().to_path_buf(), UncontendedProcs::default(), 0);
        let e = w.load().unwrap_err().to_string();
        assert!(e.contains("read 18 of 8192"), "{e}");
        assert!(view.snapshot(&UncontendedProcs::default(), 0).is_none());
        assert!(!area_lock_held(&area), "an error path releases the lock");
    }

    /// Two writer processes and a reader, forked, on one shared copy: the
    /// LWLock keeps every update (no lost increment in the shared copy or
    /// the file) and every read whole (two fields always written together
    /// are always read together).
    #[test]
    fn writers_in_two_processes_never_lose_or_tear_an_update() {
        use crate::lwlock::LwWaiter;
        use crate::testutil::{fork_child, Children, PrivateSems, SharedMem};
        use std::sync::atomic::AtomicU64;

        const AREA_AT: usize = 0;
        const DONE: usize = 512;
        const TORN: usize = 576;
        const READS: usize = 640;
        const WAITERS: usize = 1024;
        const NPROCS: usize = 4;
        const M: u32 = 100;

        struct ForkProcs<'a> {
            mem: &'a SharedMem,
            sems: tusk_ipc::sem::SemSet,
        }
        impl LwProcs for ForkProcs<'_> {
            fn waiter(&self, procno: u32) -> &LwWaiter {
                self.mem
                    .at(WAITERS + procno as usize * std::mem::size_of::<LwWaiter>())
            }
            fn sleep(&self, procno: u32) {
                if self.sems.sleep(procno as usize).is_err() {
                    // SAFETY: ends this forked child; the set is gone.
                    unsafe { libc::_exit(70) };
                }
            }
            fn wake(&self, procno: u32) {
                if self.sems.unlock(procno as usize).is_err() {
                    // SAFETY: as above.
                    unsafe { libc::_exit(71) };
                }
            }
        }

        assert!(std::mem::size_of::<PgControlShared>() <= DONE);
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("global")).unwrap();
        ControlFileData::new_cluster()
            .write(d.path(), true)
            .unwrap();
        let mem = SharedMem::new(WAITERS + NPROCS * std::mem::size_of::<LwWaiter>() + 4096);
        let sems = PrivateSems::new(NPROCS);
        let area = mem.at::<PgControlShared>(AREA_AT) as *const PgControlShared;
        // SAFETY: `mem` maps the area at an aligned offset; no child is
        // forked yet.
        unsafe { PgControlShared::init(area as *mut PgControlShared) };
        // SAFETY: initialised just above; `mem` outlives the view's uses.
        let view = unsafe { PgControlView::from_raw(area) };
        let procs = |_: ()| ForkProcs {
            mem: &mem,
            sems: sems.0,
        };
        let parent = PgControlWriter::new(view, d.path().to_path_buf(), procs(()), 3);
        let start = parent.load().unwrap().checkpoint_copy.next_oid;

        let mut kids = Children(Vec::new());
        for me in 0..2u32 {
            let w = PgControlWriter::new(view, d.path().to_path_buf(), procs(()), me);
            let mem = &mem;
            kids.0.push(fork_child(move || {
                for _ in 0..M {
                    let r = w.update(|c| {
                        c.checkpoint_copy.next_oid += 1;
                        c.unlogged_lsn = c.checkpoint_copy.next_oid as u64 * 3;
                    });
                    if r.is_err() {
                        return 1;
                    }
                }
                mem.at::<AtomicU32>(DONE).fetch_add(1, Ordering::SeqCst);
                0
            }));
        }
        let reader = procs(());
        let m = &mem;
        kids.0.push(fork_child(move || {
            while m.at::<AtomicU32>(DONE).load(Ordering::SeqCst) < 2 {
                let Some(c) = view.snapshot(&reader, 2) else {
                    return 1;
                };
                if c.unlogged_lsn != c.checkpoint_copy.next_oid as u64 * 3 && c.unlogged_lsn != 1000
                {
                    m.at::<AtomicU64>(TORN).fetch_add(1, Ordering::SeqCst);
                }
                m.at::<AtomicU64>(READS).fetch_add(1, Ordering::SeqCst);
            }
            0
        }));
        let codes = kids
            .wait_all(std::time::Duration::from_secs(120))
            .unwrap_or_else(|pids| panic!("processes {pids:?} made no progress"));
        assert_eq!(codes, vec![0, 0, 0], "1: an update or a read failed");
        assert_eq!(mem.at::<AtomicU64>(TORN).load(Ordering::SeqCst), 0);
        assert!(mem.at::<AtomicU64>(READS).load(Ordering::SeqCst) > 0);
        let shared = view.snapshot(&procs(()), 3).unwrap();
        assert_eq!(shared.checkpoint_copy.next_oid, start + 2 * M);
        let file = ControlFileData::read(d.path()).unwrap();
        assert_eq!(file.checkpoint_copy.next_oid, start + 2 * M);
        assert_eq!(file.unlogged_lsn, (start + 2 * M) as u64 * 3);
        // SAFETY: initialised above, still mapped; the children are reaped.
        let area = unsafe { &*area };
        assert!(!area.lock.is_held());
        for n in 0..NPROCS {
            assert_eq!(sems.0.value(n).unwrap(), 0, "semaphore {n} kept a wakeup");
        }
    }
}
