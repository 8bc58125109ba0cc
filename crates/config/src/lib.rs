//! tusk-config: every server setting, and everything about reading,
//! validating, showing and changing it, following PostgreSQL 15's "grand
//! unified configuration" (GUC) rules so that operators can reuse their
//! postgresql.conf, their `-c` flags and their SET statements unchanged.
//!
//! # What a setting is
//!
//! A setting is a static [`SettingDef`] in the [`registry`]: a name
//! (looked up case-insensitively, as PostgreSQL does), a [`Kind`] (bool,
//! int or real with a range, string, or enum), the base [`Unit`] its
//! number is counted in (kB, 8 kB blocks, ms, s, min ...), a default
//! written the way an operator would write it (`"128MB"`, `"1min"`), a
//! [`Context`] saying who may change it and when, and whether it is
//! `GUC_REPORT` (sent to clients as ParameterStatus). A value is parsed
//! once, when it is set, into a [`Value`] in the base unit; readers never
//! parse. Code reads a setting through its typed key in [`keys`]
//! (`settings.get(keys::WORK_MEM)` is an `i64`, an array index; the key's
//! index is computed from the registry at compile time); names from input
//! are looked up in a name-sorted index built once per process.
//!
//! Names with a dot (`myext.foo`) are extension placeholders: accepted from
//! any source and stored as strings, as PostgreSQL does for custom options.
//!
//! # Contexts
//!
//! | [`Context`]  | may be changed by                                           |
//! |--------------|-------------------------------------------------------------|
//! | `Internal`   | nobody: fixed at build time or computed at run time (`set_override`) |
//! | `Postmaster` | postgresql.conf or the command line, at server start only   |
//! | `Sighup`     | postgresql.conf or the command line; a reload applies it    |
//! | `Superuser`  | additionally SET by a superuser                             |
//! | `User`       | additionally SET by anyone                                  |
//!
//! # Sources and precedence
//!
//! Each value remembers its [`Source`]. Values are applied in this order,
//! later ones winning: the built-in default, postgresql.conf (and the files
//! it includes, later lines winning), the command line (`-c name=value` and
//! the short flags), the client's startup packet, then SET in the session.
//! `Override` marks values the server computes itself (shared_memory_size,
//! data_directory ...). RESET goes back to what the session started with
//! (file + command line + startup packet), never to the built-in default.
//!
//! # Main types
//!
//! - [`Settings`]: one complete set of values, what the postmaster loads
//!   with [`load`] and every child inherits across fork.
//! - [`session::SessionSettings`]: a backend's view, with PostgreSQL's
//!   transactional SET / SET LOCAL / RESET rules and SQLSTATEs.
//! - [`ConfigError`]: what was wrong with a file, a `-c` flag or a value,
//!   naming file:line, the setting, the value and what is allowed. A file's
//!   errors are all collected, not only the first.
//! - [`parse_file`] / [`sample_conf`]: the postgresql.conf syntax of
//!   PostgreSQL's guc-file.l, and the commented sample `tusk init` writes.
//!
//! Tusk-specific choices (documented where they are defined):
//! `shared_memory_type` defaults to `sysv` (the seeds' model, where the
//! whole region is one System V segment); `max_wal_senders` is 0
//! because tusk has no replication yet; `jit` is off;
//! `client_encoding` accepts only UTF8 (and SQL_ASCII, which PostgreSQL
//! also accepts against a UTF8 server as "no conversion").

mod error;
mod file;
pub mod keys;
mod registry;
mod sample;
pub mod session;
mod settings;
mod units;
mod value;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use error::{ConfigError, ValueError};
pub use file::{load, parse_file, ConfigItem};
pub use registry::{find, registry};
pub use sample::sample_conf;
pub use settings::{Lookup, ReloadReport, Settings};
pub use units::parse_bool;
pub use value::{suggest, valid_custom_name};

/// Who may change a setting, and when (PostgreSQL's `GucContext`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Context {
    /// Cannot be changed at all (build constants, run-time computed values).
    Internal,
    /// Set at server start from the file or the command line.
    Postmaster,
    /// Like Postmaster, but a configuration reload (SIGHUP) applies changes.
    Sighup,
    /// Also settable with SET, by superusers only.
    Superuser,
    /// Also settable with SET by any user.
    User,
}

impl Context {
    /// The name pg_settings.context shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Internal => "internal",
            Context::Postmaster => "postmaster",
            Context::Sighup => "sighup",
            Context::Superuser => "superuser",
            Context::User => "user",
        }
    }
}

/// The type of a setting and its allowed values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Bool,
    /// An integer in the setting's base unit, `min ..= max`.
    Int {
        min: i64,
        max: i64,
    },
    Real {
        min: f64,
        max: f64,
    },
    String,
    /// One of these names (matched case-insensitively, shown as listed).
    Enum(&'static [&'static str]),
}

/// Base unit of an int or real setting: a value written without a unit is
/// counted in it, and a value with a unit is converted to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    None,
    /// Bytes.
    B,
    Kb,
    Mb,
    /// 8 kB data blocks.
    Blocks,
    /// 8 kB WAL blocks.
    WalBlocks,
    Ms,
    S,
    Min,
}

impl Unit {
    /// How PostgreSQL names the unit (pg_settings.unit, range errors).
    pub fn name(self) -> Option<&'static str> {
        match self {
            Unit::None => None,
            Unit::B => Some("B"),
            Unit::Kb => Some("kB"),
            Unit::Mb => Some("MB"),
            Unit::Blocks | Unit::WalBlocks => Some("8kB"),
            Unit::Ms => Some("ms"),
            Unit::S => Some("s"),
            Unit::Min => Some("min"),
        }
    }

    pub fn is_memory(self) -> bool {
        matches!(
            self,
            Unit::B | Unit::Kb | Unit::Mb | Unit::Blocks | Unit::WalBlocks
        )
    }

    pub fn is_time(self) -> bool {
        matches!(self, Unit::Ms | Unit::S | Unit::Min)
    }
}

/// Flag bits of [`SettingDef::flags`], after PostgreSQL's `GUC_*` flags.
pub mod flags {
    /// Left out of SHOW ALL (is_superuser, session_authorization).
    pub const NO_SHOW_ALL: u32 = 1;
    /// Left alone by RESET ALL.
    pub const NO_RESET_ALL: u32 = 2;
    /// Left out of the sample postgresql.conf.
    pub const NOT_IN_SAMPLE: u32 = 4;
    /// Refused in postgresql.conf.
    pub const DISALLOW_IN_FILE: u32 = 8;
    /// Computed by the server at start (`-C` prints it only after sizing).
    pub const RUNTIME_COMPUTED: u32 = 16;
    /// Shown in octal (unix_socket_permissions).
    pub const OCTAL: u32 = 32;
    /// Lasts one transaction whatever the SET says (transaction_isolation,
    /// transaction_read_only): re-initialised from the default_* setting at
    /// every transaction start.
    pub const XACT_SCOPED: u32 = 64;
}

/// One registered setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SettingDef {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Unit,
    /// The default, written as in postgresql.conf (`"128MB"`, `"on"`).
    pub default: &'static str,
    pub context: Context,
    /// One line, as PostgreSQL's short description.
    pub description: &'static str,
    /// PostgreSQL's group name, e.g. `"Resource Usage / Memory"`.
    pub category: &'static str,
    /// GUC_REPORT: the value is sent to clients as ParameterStatus.
    pub report: bool,
    /// Bits of [`flags`].
    pub flags: u32,
}

impl SettingDef {
    pub fn has_flag(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

/// A parsed value, numbers in the setting's base unit. Enums are stored as
/// their canonical name.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Real(f64),
    Str(String),
}

/// Where a value came from (PostgreSQL's `GucSource`), in increasing
/// precedence except `Override`, which the server alone uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File {
        path: PathBuf,
        line: usize,
    },
    CommandLine,
    /// The client's startup packet.
    Client,
    /// SET in the session.
    Session,
    /// Computed by the server at run time (shared_memory_size ...).
    Override,
}

impl Source {
    /// The name pg_settings.source shows.
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::File { .. } => "configuration file",
            Source::CommandLine => "command line",
            Source::Client => "client",
            Source::Session => "session",
            Source::Override => "override",
        }
    }
}
