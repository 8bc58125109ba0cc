//! Errors of configuration: what was wrong, where, and what is allowed.
//!
//! Two renderings of the same facts. [`ConfigError`]'s Display is for the
//! operator reading the server's output at start or reload: one line per
//! problem, starting with `file:line` or `-c name=value`, naming the
//! setting, the value given and what would be accepted. [`ValueError::to_pg`]
//! is for a client: PostgreSQL's exact message, SQLSTATE and HINT, because
//! drivers and tests match on them.

use std::fmt;
use std::path::PathBuf;

use tusk_common::{sqlstate, PgError};

use crate::units::{format_g, format_int, units_hint};
use crate::{find, Kind, SettingDef, Source, Unit, Value};

/// Why a value was refused for a setting.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueError {
    /// A Boolean setting given something parse_bool does not know.
    NotBoolean,
    /// Not a number (or a unit on a unitless setting).
    NotNumber,
    /// A number followed by a unit this setting does not take.
    BadUnit,
    /// Beyond the 32-bit integer range.
    Overflow,
    /// A number, after unit conversion, outside the setting's range.
    OutOfRange { got: Value },
    /// Not one of the enum's names.
    NotInEnum,
    /// Refused by a per-setting check (encoding, DateStyle, time zone ...).
    Rejected {
        detail: String,
        hint: Option<String>,
    },
}

impl ValueError {
    /// The error a client receives, worded as PostgreSQL 15 words it.
    pub fn to_pg(&self, def: &SettingDef, value: &str) -> PgError {
        let name = def.name;
        let invalid = || {
            PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("invalid value for parameter \"{name}\": \"{value}\""),
            )
        };
        match self {
            ValueError::NotBoolean => PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("parameter \"{name}\" requires a Boolean value"),
            )
            .with_hint("Allowed: on, off, true, false, yes, no, 1, 0."),
            ValueError::NotNumber => invalid().with_hint(format!("Allowed: {}.", allowed(def))),
            ValueError::BadUnit => invalid().with_hint(units_hint(def.unit)),
            ValueError::Overflow => invalid().with_hint("Value exceeds integer range."),
            ValueError::OutOfRange { got } => {
                let unit = def.unit.name().map(|u| format!(" {u}")).unwrap_or_default();
                let msg = match (got, def.kind) {
                    (Value::Int(v), Kind::Int { min, max }) => {
                        format!("{v}{unit} is outside the valid range for parameter \"{name}\" ({min} .. {max})")
                    }
                    (Value::Real(v), Kind::Real { min, max }) => format!(
                        "{}{unit} is outside the valid range for parameter \"{name}\" ({} .. {})",
                        format_g(*v),
                        format_g(min),
                        format_g(max)
                    ),
                    _ => format!("value is outside the valid range for parameter \"{name}\""),
                };
                PgError::error(sqlstate::INVALID_PARAMETER_VALUE, msg)
            }
            ValueError::NotInEnum => {
                let options = match def.kind {
                    Kind::Enum(o) => o.join(", "),
                    _ => String::new(),
                };
                invalid().with_hint(format!("Available values: {options}."))
            }
            ValueError::Rejected { detail, hint } => {
                let e = invalid().with_detail(detail.clone());
                match hint {
                    Some(h) => e.with_hint(h.clone()),
                    None => e,
                }
            }
        }
    }

    /// The parenthesised explanation in a [`ConfigError`] line.
    fn explain(&self, def: Option<&SettingDef>) -> String {
        let Some(def) = def else {
            return "not a valid value".to_string();
        };
        match self {
            ValueError::NotBoolean | ValueError::NotNumber | ValueError::NotInEnum => {
                format!("allowed: {}", allowed(def))
            }
            ValueError::BadUnit => lower_first(units_hint(def.unit).trim_end_matches('.')),
            ValueError::Overflow => {
                format!("value exceeds integer range; allowed: {}", allowed(def))
            }
            ValueError::OutOfRange { got } => {
                let unit = unit_words(def.unit);
                match (got, def.kind) {
                    (Value::Int(v), Kind::Int { min, max }) => {
                        format!("{v}{unit} is outside the valid range {min} .. {max}{unit}")
                    }
                    (Value::Real(v), Kind::Real { min, max }) => format!(
                        "{}{unit} is outside the valid range {} .. {}{unit}",
                        format_g(*v),
                        format_g(min),
                        format_g(max)
                    ),
                    _ => format!("allowed: {}", allowed(def)),
                }
            }
            ValueError::Rejected { detail, hint } => {
                let mut s = lower_first(detail.trim_end_matches('.'));
                if let Some(h) = hint {
                    s.push_str("; ");
                    s.push_str(&lower_first(h.trim_end_matches('.')));
                }
                s
            }
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        // Keep acronyms and quoted names ("UTF8", "\"x\"") as they are.
        Some(f)
            if f.is_ascii_uppercase()
                && !c.clone().next().is_some_and(|n| n.is_ascii_uppercase()) =>
        {
            f.to_ascii_lowercase().to_string() + c.as_str()
        }
        _ => s.to_string(),
    }
}

fn unit_words(unit: Unit) -> &'static str {
    match unit {
        Unit::None => "",
        Unit::B => " bytes",
        Unit::Kb => " kB",
        Unit::Mb => " MB",
        Unit::Blocks | Unit::WalBlocks => " blocks of 8kB",
        Unit::Ms => " ms",
        Unit::S => " s",
        Unit::Min => " min",
    }
}

/// What a setting accepts, in words: "an integer from 1 to 262143".
pub(crate) fn allowed(def: &SettingDef) -> String {
    match def.kind {
        Kind::Bool => "on, off, true, false, yes, no, 1, 0".to_string(),
        Kind::Int { min, max } => match def.unit {
            Unit::None => format!("an integer from {min} to {max}"),
            unit => format!(
                "an integer from {min} to {max}{} ({} .. {}), or a number with a unit: {}",
                unit_words(unit),
                format_int(min, unit),
                format_int(max, unit),
                if unit.is_memory() {
                    "B, kB, MB, GB, TB"
                } else {
                    "us, ms, s, min, h, d"
                }
            ),
        },
        Kind::Real { min, max } => format!("a number from {} to {}", format_g(min), format_g(max)),
        Kind::Enum(options) => options.join(", "),
        Kind::String => "a string".to_string(),
    }
}

/// A configuration problem, located and explained.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// A value that does not fit its setting.
    InvalidValue {
        source: Source,
        name: String,
        value: String,
        error: Box<ValueError>,
    },
    /// A name that is not registered and not an extension placeholder.
    UnknownParameter {
        source: Source,
        name: String,
        value: String,
        suggestion: Option<&'static str>,
    },
    /// A dotted name that is not a valid placeholder name.
    InvalidName {
        source: Source,
        name: String,
        value: String,
    },
    /// A setting this source may not change; `why` completes "parameter "x" ...".
    CannotChange {
        source: Source,
        name: String,
        value: String,
        why: &'static str,
    },
    /// postgresql.conf syntax; `near` is the offending token, None at end of line.
    Syntax {
        path: PathBuf,
        line: usize,
        near: Option<String>,
        expected: &'static str,
    },
    /// A file or directory that could not be read. `from` is the include
    /// directive that named it, if any.
    Open {
        path: PathBuf,
        from: Option<(PathBuf, usize)>,
        directory: bool,
        reason: String,
    },
    /// Includes nested deeper than PostgreSQL's limit of 10.
    IncludeDepth {
        path: PathBuf,
        from: (PathBuf, usize),
    },
    /// A file that includes itself, directly or not.
    IncludeCycle {
        chain: Vec<PathBuf>,
        from: (PathBuf, usize),
    },
    /// Several problems, in file order.
    Many(Vec<ConfigError>),
}

impl ConfigError {
    /// Flattens into a list of single problems.
    pub fn errors(&self) -> Vec<&ConfigError> {
        match self {
            ConfigError::Many(list) => list.iter().flat_map(|e| e.errors()).collect(),
            e => vec![e],
        }
    }

    /// One error for a list of problems (None if there are none).
    pub(crate) fn from_list(mut list: Vec<ConfigError>) -> Option<ConfigError> {
        match list.len() {
            0 => None,
            1 => list.pop(),
            _ => Some(ConfigError::Many(list)),
        }
    }
}

/// Where a value came from, as the start of an error line.
struct Origin<'a>(&'a Source, &'a str, &'a str);

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Origin(source, name, value) = self;
        match source {
            Source::File { path, line } => write!(f, "{}:{line}", path.display()),
            Source::CommandLine => write!(f, "-c {name}={value}"),
            Source::Client => write!(f, "connection option {name}={value}"),
            Source::Session => write!(f, "SET {name} = {value}"),
            Source::Default => write!(f, "default {name}={value}"),
            Source::Override => write!(f, "server-computed {name}={value}"),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidValue { source, name, value, error } => write!(
                f,
                "{}: invalid value for parameter \"{name}\": \"{value}\" ({})",
                Origin(source, name, value),
                error.explain(find(name))
            ),
            ConfigError::UnknownParameter { source, name, value, suggestion } => {
                write!(f, "{}: unrecognized configuration parameter \"{name}\"", Origin(source, name, value))?;
                match suggestion {
                    Some(s) => write!(f, " (did you mean \"{s}\"?)"),
                    None => Ok(()),
                }
            }
            ConfigError::InvalidName { source, name, value } => write!(
                f,
                "{}: invalid configuration parameter name \"{name}\" (custom parameter names must be two or more \
                 simple identifiers separated by dots)",
                Origin(source, name, value)
            ),
            ConfigError::CannotChange { source, name, value, why } => {
                write!(f, "{}: parameter \"{name}\" {why}", Origin(source, name, value))
            }
            ConfigError::Syntax { path, line, near, expected } => {
                write!(f, "{}:{line}: syntax error ", path.display())?;
                match near {
                    Some(tok) => write!(f, "near \"{tok}\"")?,
                    None => write!(f, "near end of line")?,
                }
                write!(f, " ({expected})")
            }
            ConfigError::Open { path, from, directory, reason } => {
                if let Some((file, line)) = from {
                    write!(f, "{}:{line}: ", file.display())?;
                }
                let what = if *directory { "directory" } else { "file" };
                write!(f, "could not open configuration {what} \"{}\": {reason}", path.display())
            }
            ConfigError::IncludeDepth { path, from } => write!(
                f,
                "{}:{}: could not open configuration file \"{}\": maximum nesting depth exceeded (includes may nest \
                 10 deep)",
                from.0.display(),
                from.1,
                path.display()
            ),
            ConfigError::IncludeCycle { chain, from } => {
                write!(f, "{}:{}: include cycle: ", from.0.display(), from.1)?;
                for (i, p) in chain.iter().enumerate() {
                    if i > 0 {
                        write!(f, " -> ")?;
                    }
                    write!(f, "{}", p.display())?;
                }
                Ok(())
            }
            ConfigError::Many(list) => {
                for (i, e) in list.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {}
