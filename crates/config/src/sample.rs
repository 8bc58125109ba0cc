//! The postgresql.conf that `tusk init` writes: every setting an operator
//! may change, commented out at its default, grouped and described like
//! PostgreSQL's postgresql.conf.sample.
//!
//! Generated from the registry rather than kept as a file, so the sample
//! can never mention a setting tusk does not know or show a stale default.

use crate::value::show_value;
use crate::{flags, registry, Context, Kind, SettingDef, Settings};

const HEADER: &str = "\
# -----------------------------
# tusk configuration file
# -----------------------------
#
# This file consists of lines of the form:
#
#   name = value
#
# (The \"=\" is optional.)  Whitespace may be used.  Comments are introduced with
# \"#\" anywhere on a line.  The complete list of parameter names and allowed
# values can be found with SHOW ALL.  Parameter names are case-insensitive.
# Values containing spaces or special characters must be single-quoted.
#
# This file is read on server startup and when the server receives a SIGHUP
# signal.  Parameters marked \"change requires restart\" take effect only at
# the next start.  Values given on the command line (-c name=value) override
# this file.
#
# Memory units:  B  = bytes            Time units:  us  = microseconds
#                kB = kilobytes                     ms  = milliseconds
#                MB = megabytes                     s   = seconds
#                GB = gigabytes                     min = minutes
#                TB = terabytes                     h   = hours
#                                                   d   = days
#
# Other files can be read from here with
#   include 'filename'            (relative to this file's directory)
#   include_if_exists 'filename'  (no error if it is missing)
#   include_dir 'directory'       (its *.conf files, in name order)
# The last assignment of a setting wins.
";

/// The commented sample configuration.
pub fn sample_conf() -> String {
    let defaults = Settings::defaults();
    let mut out = String::from(HEADER);
    let mut categories: Vec<&str> = Vec::new();
    for def in registry() {
        if in_sample(def) && !categories.contains(&def.category) {
            categories.push(def.category);
        }
    }
    let mut last_major = "";
    for category in categories {
        let (major, minor) = category.split_once(" / ").unwrap_or((category, ""));
        if major != last_major {
            out.push_str("\n\n#------------------------------------------------------------------------------\n");
            out.push_str(&format!("# {}\n", major.to_uppercase()));
            out.push_str(
                "#------------------------------------------------------------------------------\n",
            );
            last_major = major;
        }
        if !minor.is_empty() {
            out.push_str(&format!("\n# - {minor} -\n"));
        }
        out.push('\n');
        for def in registry()
            .iter()
            .filter(|d| d.category == category && in_sample(d))
        {
            let value = defaults
                .get(def.name)
                .map(|v| show_value(def, v))
                .unwrap_or_default();
            let assignment = format!(
                "#{} = {}",
                def.name.to_ascii_lowercase(),
                render(def, &value)
            );
            out.push_str(&assignment);
            out.push_str(&tabs_to_column(assignment.len(), 40));
            out.push_str("# ");
            out.push_str(&comment(def));
            out.push('\n');
        }
    }
    out
}

fn in_sample(def: &SettingDef) -> bool {
    def.context != Context::Internal && !def.has_flag(flags::NOT_IN_SAMPLE)
}

/// A value as it must be written in the file: strings quoted (with ''
/// for a quote), other values bare when they are one bare token.
fn render(def: &SettingDef, shown: &str) -> String {
    let bare = !shown.is_empty()
        && shown
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:/+".contains(c))
        && !matches!(def.kind, Kind::String);
    if bare {
        shown.to_string()
    } else {
        format!("'{}'", shown.replace('\\', "\\\\").replace('\'', "''"))
    }
}

/// Tabs from `len` to `column` (tab stops every 8), at least one.
fn tabs_to_column(len: usize, column: usize) -> String {
    let n = if len >= column {
        1
    } else {
        column / 8 - len / 8
    };
    "\t".repeat(n.max(1))
}

/// The description as a trailing comment: "maximum number of concurrent
/// connections; change requires restart".
fn comment(def: &SettingDef) -> String {
    let d = def.description.trim_end_matches('.');
    let d = d.strip_prefix("Sets the ").unwrap_or(d);
    let mut c = d.chars();
    let mut text = match c.next() {
        Some(f) if !c.clone().next().is_some_and(|n| n.is_ascii_uppercase()) => {
            f.to_lowercase().collect::<String>() + c.as_str()
        }
        _ => d.to_string(),
    };
    if def.context == Context::Postmaster {
        text.push_str("; change requires restart");
    }
    text
}
