//! [`Settings`]: one complete set of values, one per registered setting
//! plus any extension placeholders.
//!
//! A plain value type (a vector indexed like the registry, cloned freely):
//! the postmaster builds one with [`crate::load`], every child inherits it
//! across fork, and a backend's session layer keeps a few copies (current,
//! RESET target). No locks, no globals: fork-safe by construction.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::error::ConfigError;
use crate::keys::{BoolKey, IntKey, RealKey, StrKey};
use crate::registry::index_of;
use crate::value::{parse_value, raw_value, show_value, suggest, valid_custom_name};
use crate::{flags, registry, Context, Kind, SettingDef, Source, Value};

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slot {
    pub value: Value,
    pub source: Source,
}

/// An extension placeholder (`myext.foo`), stored as a string.
#[derive(Debug, Clone, PartialEq)]
struct Custom {
    name: String,
    slot: Slot,
}

/// Identifies a setting inside [`Settings`]: a registry index, or the
/// lower-cased name of a placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Reg(usize),
    Custom(String),
}

/// A full set of values, one per registered setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    values: Vec<Slot>,
    custom: BTreeMap<String, Custom>,
}

/// What a configuration reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Settings whose new value was applied.
    pub changed: Vec<&'static str>,
    /// Postmaster settings changed in the file, kept at their old value:
    /// "parameter "x" cannot be changed without restarting the server".
    pub needs_restart: Vec<&'static str>,
}

impl Settings {
    /// Every setting at its built-in default.
    pub fn defaults() -> Settings {
        static DEFAULTS: OnceLock<Settings> = OnceLock::new();
        DEFAULTS
            .get_or_init(|| {
                let values = registry()
                    .iter()
                    .map(|def| {
                        // The registry is static data checked by a unit test;
                        // a default that does not parse is a build mistake.
                        let value = parse_value(def, def.default, None).unwrap_or_else(|e| {
                            panic!(
                                "default of {} ({:?}) does not parse: {e:?}",
                                def.name, def.default
                            )
                        });
                        Slot {
                            value,
                            source: Source::Default,
                        }
                    })
                    .collect();
                Settings {
                    values,
                    custom: BTreeMap::new(),
                }
            })
            .clone()
    }

    /// Parses, validates and stores `value` for `name`. Refuses what the
    /// source may not change: internal settings from anywhere, settings
    /// flagged not-in-file from a file, and postmaster/sighup settings from
    /// a client or session (superuser rules belong to the session layer).
    pub fn set(&mut self, name: &str, value: &str, source: Source) -> Result<(), ConfigError> {
        let Some(idx) = index_of(name) else {
            if valid_custom_name(name) {
                self.put_custom(
                    name,
                    Slot {
                        value: Value::Str(value.to_string()),
                        source,
                    },
                );
                return Ok(());
            }
            let (name, value) = (name.to_string(), value.to_string());
            if name.contains('.') {
                return Err(ConfigError::InvalidName {
                    source,
                    name,
                    value,
                });
            }
            let suggestion = suggest(&name);
            return Err(ConfigError::UnknownParameter {
                source,
                name,
                value,
                suggestion,
            });
        };
        let def = &registry()[idx];
        if let Some(why) = refusal(def, &source) {
            return Err(ConfigError::CannotChange {
                source,
                name: def.name.to_string(),
                value: value.to_string(),
                why,
            });
        }
        match parse_value(def, value, Some(&self.values[idx].value)) {
            Ok(v) => {
                self.values[idx] = Slot { value: v, source };
                Ok(())
            }
            Err(error) => Err(ConfigError::InvalidValue {
                source,
                name: def.name.to_string(),
                value: value.to_string(),
                error: Box::new(error),
            }),
        }
    }

    /// Stores a value the server computed (shared_memory_size,
    /// data_directory ...), bypassing contexts.
    ///
    /// # Panics
    /// On an unregistered name or a value of the wrong type: both are
    /// programming errors, never caused by input.
    pub fn set_override(&mut self, name: &str, value: Value) {
        let idx = index_of(name)
            .unwrap_or_else(|| panic!("set_override of unregistered setting {name:?}"));
        let def = &registry()[idx];
        let fits = matches!(
            (&value, def.kind),
            (Value::Bool(_), Kind::Bool)
                | (Value::Int(_), Kind::Int { .. })
                | (Value::Real(_), Kind::Real { .. })
                | (Value::Str(_), Kind::String | Kind::Enum(_))
        );
        assert!(
            fits,
            "set_override of {name} with {value:?}, which does not fit {:?}",
            def.kind
        );
        self.values[idx] = Slot {
            value,
            source: Source::Override,
        };
    }

    /// Reads a setting. With a typed key from [`crate::keys`]
    /// (`s.get(keys::WORK_MEM)`) the answer is the value itself, read by
    /// array index; with a name (`s.get("work_mem")`, a registered setting
    /// or a placeholder, any case) it is `None` for an unknown name.
    pub fn get<'a, K: Lookup<'a>>(&'a self, key: K) -> K::Out {
        key.lookup(self)
    }

    fn by_name(&self, name: &str) -> Option<&Value> {
        self.slot(&self.key(name)?).map(|s| &s.value)
    }

    /// The value at a registry index (what a typed key holds).
    fn at(&self, index: usize) -> &Value {
        &self.values[index].value
    }

    /// Where the value came from.
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.slot(&self.key(name)?).map(|s| &s.source)
    }

    /// An integer setting, in its base unit, by name: for names written in
    /// code only (a name from input goes through [`Settings::get`], which
    /// answers `None`). Hot paths use a key: `get(keys::WORK_MEM)`.
    ///
    /// # Panics
    /// If `name` is not a registered integer setting (a programming error).
    #[track_caller]
    pub fn int(&self, name: &str) -> i64 {
        match self.registered(name) {
            Value::Int(v) => *v,
            other => panic!("setting {name} is not an integer: {other:?}"),
        }
    }

    /// A Boolean setting.
    ///
    /// # Panics
    /// If `name` is not a registered Boolean setting (a programming error).
    #[track_caller]
    pub fn bool(&self, name: &str) -> bool {
        match self.registered(name) {
            Value::Bool(v) => *v,
            other => panic!("setting {name} is not a Boolean: {other:?}"),
        }
    }

    /// A string or enum setting (enums as their canonical name), or a
    /// placeholder.
    ///
    /// # Panics
    /// If `name` is neither a string/enum setting nor a defined placeholder
    /// (a programming error).
    #[track_caller]
    pub fn str(&self, name: &str) -> &str {
        match self.by_name(name) {
            Some(Value::Str(s)) => s,
            other => panic!("setting {name} is not a string: {other:?}"),
        }
    }

    /// A real setting, in its base unit.
    ///
    /// # Panics
    /// If `name` is not a registered real setting (a programming error).
    #[track_caller]
    pub fn real(&self, name: &str) -> f64 {
        match self.registered(name) {
            Value::Real(v) => *v,
            other => panic!("setting {name} is not a real: {other:?}"),
        }
    }

    #[track_caller]
    fn registered(&self, name: &str) -> &Value {
        let idx = index_of(name).unwrap_or_else(|| panic!("unregistered setting {name:?}"));
        &self.values[idx].value
    }

    /// The value as SHOW prints it: "128MB", "1min", "-1", "on", "0777".
    pub fn show(&self, name: &str) -> Option<String> {
        match self.key(name)? {
            Key::Reg(idx) => Some(show_value(&registry()[idx], &self.values[idx].value)),
            key => self.slot(&key).map(|s| raw_value(&s.value)),
        }
    }

    /// The value as `postgres -C` prints it: numbers in the base unit
    /// without a unit ("16384" for shared_buffers).
    pub fn raw(&self, name: &str) -> Option<String> {
        let key = self.key(name)?;
        self.slot(&key).map(|s| raw_value(&s.value))
    }

    /// Every registered setting with its value and source, in registry
    /// order (for pg_settings-like listings).
    pub fn entries(&self) -> impl Iterator<Item = (&'static SettingDef, &Value, &Source)> + '_ {
        registry()
            .iter()
            .zip(&self.values)
            .map(|(d, s)| (d, &s.value, &s.source))
    }

    /// Defined placeholders (`myext.foo`) with their values.
    pub fn custom_entries(&self) -> impl Iterator<Item = (&str, &str, &Source)> + '_ {
        self.custom.values().map(|c| match &c.slot.value {
            Value::Str(s) => (c.name.as_str(), s.as_str(), &c.slot.source),
            _ => (c.name.as_str(), "", &c.slot.source),
        })
    }

    /// Applies a re-read configuration (SIGHUP): every changed setting that
    /// a reload may change takes its new value; changed postmaster settings
    /// keep the old one and are reported. Server-computed values stay.
    pub fn reload_from(&mut self, new: &Settings) -> ReloadReport {
        let mut report = ReloadReport::default();
        for (idx, def) in registry().iter().enumerate() {
            let (old, fresh) = (&self.values[idx], &new.values[idx]);
            if def.context == Context::Internal || old.source == Source::Override || old == fresh {
                continue;
            }
            if old.value == fresh.value {
                self.values[idx].source = fresh.source.clone();
            } else if def.context == Context::Postmaster {
                report.needs_restart.push(def.name);
            } else {
                self.values[idx] = fresh.clone();
                report.changed.push(def.name);
            }
        }
        self.custom = new.custom.clone();
        report
    }

    // ---- Access by key, for the session layer.

    pub(crate) fn key(&self, name: &str) -> Option<Key> {
        match index_of(name) {
            Some(i) => Some(Key::Reg(i)),
            None => {
                let lower = name.to_ascii_lowercase();
                self.custom
                    .contains_key(&lower)
                    .then_some(Key::Custom(lower))
            }
        }
    }

    pub(crate) fn slot(&self, key: &Key) -> Option<&Slot> {
        match key {
            Key::Reg(i) => self.values.get(*i),
            Key::Custom(n) => self.custom.get(n).map(|c| &c.slot),
        }
    }

    pub(crate) fn put(&mut self, key: &Key, slot: Slot) {
        match key {
            Key::Reg(i) => self.values[*i] = slot,
            Key::Custom(n) => match self.custom.get_mut(n) {
                Some(c) => c.slot = slot,
                None => {
                    self.custom.insert(
                        n.clone(),
                        Custom {
                            name: n.clone(),
                            slot,
                        },
                    );
                }
            },
        }
    }

    /// Defines or updates a placeholder, keeping the first spelling seen.
    pub(crate) fn put_custom(&mut self, name: &str, slot: Slot) -> Key {
        let lower = name.to_ascii_lowercase();
        match self.custom.get_mut(&lower) {
            Some(c) => c.slot = slot,
            None => {
                self.custom.insert(
                    lower.clone(),
                    Custom {
                        name: name.to_string(),
                        slot,
                    },
                );
            }
        }
        Key::Custom(lower)
    }

    /// Names of the defined placeholders (lower-cased keys).
    pub(crate) fn custom_keys(&self) -> Vec<Key> {
        self.custom.keys().cloned().map(Key::Custom).collect()
    }
}

/// What [`Settings::get`] accepts: a typed key (the value itself) or a
/// name (`Option<&Value>`).
pub trait Lookup<'a> {
    type Out;
    fn lookup(self, s: &'a Settings) -> Self::Out;
}

impl<'a> Lookup<'a> for IntKey {
    type Out = i64;
    fn lookup(self, s: &'a Settings) -> i64 {
        match s.at(self.index()) {
            Value::Int(v) => *v,
            // Values are typed by their setting's kind when parsed or
            // overridden, and the key's kind is checked at compile time.
            other => unreachable!("{} holds {other:?}", self.name()),
        }
    }
}

impl<'a> Lookup<'a> for BoolKey {
    type Out = bool;
    fn lookup(self, s: &'a Settings) -> bool {
        match s.at(self.index()) {
            Value::Bool(v) => *v,
            other => unreachable!("{} holds {other:?}", self.name()),
        }
    }
}

impl<'a> Lookup<'a> for RealKey {
    type Out = f64;
    fn lookup(self, s: &'a Settings) -> f64 {
        match s.at(self.index()) {
            Value::Real(v) => *v,
            other => unreachable!("{} holds {other:?}", self.name()),
        }
    }
}

impl<'a> Lookup<'a> for StrKey {
    type Out = &'a str;
    fn lookup(self, s: &'a Settings) -> &'a str {
        match s.at(self.index()) {
            Value::Str(v) => v,
            other => unreachable!("{} holds {other:?}", self.name()),
        }
    }
}

/// Any borrowed name: `&str`, `&String`, `&&str`.
impl<'a, T: AsRef<str> + ?Sized> Lookup<'a> for &T {
    type Out = Option<&'a Value>;
    fn lookup(self, s: &'a Settings) -> Option<&'a Value> {
        s.by_name(self.as_ref())
    }
}

/// Why `source` may not set `def`, completing "parameter "x" ...".
pub(crate) fn refusal(def: &SettingDef, source: &Source) -> Option<&'static str> {
    match source {
        Source::Default | Source::Override => None,
        _ if def.context == Context::Internal => Some("cannot be changed"),
        Source::File { .. } if def.has_flag(flags::DISALLOW_IN_FILE) => {
            Some("cannot be set in a configuration file")
        }
        Source::File { .. } | Source::CommandLine => None,
        Source::Client | Source::Session => match def.context {
            Context::Postmaster => Some("cannot be changed without restarting the server"),
            Context::Sighup => Some("cannot be changed now"),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_parses_within_its_range() {
        let s = Settings::defaults();
        for def in registry() {
            let v = s.get(def.name).expect("registered");
            if let (Value::Int(i), Kind::Int { min, max }) = (v, def.kind) {
                assert!(
                    (min..=max).contains(i),
                    "{} default {i} outside {min}..{max}",
                    def.name
                );
            }
        }
    }

    #[test]
    fn registry_is_sound() {
        let mut names: Vec<String> = registry()
            .iter()
            .map(|d| d.name.to_ascii_lowercase())
            .collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate setting names");
        for def in registry() {
            assert!(
                !def.description.is_empty() && def.description.ends_with('.'),
                "{}",
                def.name
            );
            if let Kind::Enum(options) = def.kind {
                assert!(
                    options.contains(&def.default),
                    "{} default not among its values",
                    def.name
                );
            }
            if def.unit != crate::Unit::None {
                assert!(
                    matches!(def.kind, Kind::Int { .. } | Kind::Real { .. }),
                    "{}",
                    def.name
                );
            }
        }
    }

    #[test]
    fn postgresql_15_defaults_as_show_and_postgres_c_print_them() {
        let s = Settings::defaults();
        let cases = [
            ("shared_buffers", "128MB", "16384"),
            ("wal_buffers", "-1", "-1"),
            ("max_connections", "100", "100"),
            ("port", "5432", "5432"),
            ("unix_socket_permissions", "0777", "511"),
            ("authentication_timeout", "1min", "60"),
            ("checkpoint_timeout", "5min", "300"),
            ("max_wal_size", "1GB", "1024"),
            ("min_wal_size", "80MB", "80"),
            ("work_mem", "4MB", "4096"),
            ("maintenance_work_mem", "64MB", "65536"),
            ("temp_buffers", "8MB", "1024"),
            ("effective_cache_size", "4GB", "524288"),
            ("wal_segment_size", "16MB", "16777216"),
            ("huge_page_size", "0", "0"),
            ("deadlock_timeout", "1s", "1000"),
            ("statement_timeout", "0", "0"),
            ("shared_memory_type", "sysv", "sysv"),
            ("huge_pages", "try", "try"),
            ("log_min_messages", "warning", "warning"),
            ("restart_after_crash", "on", "on"),
            ("fsync", "on", "on"),
            ("jit", "off", "off"),
            ("autovacuum", "on", "on"),
            ("max_wal_senders", "0", "0"),
            ("DateStyle", "ISO, MDY", "ISO, MDY"),
            ("TimeZone", "UTC", "UTC"),
            ("client_encoding", "UTF8", "UTF8"),
            ("server_version_num", "150000", "150000"),
            ("integer_datetimes", "on", "on"),
            ("checkpoint_completion_target", "0.9", "0.9"),
            ("random_page_cost", "4", "4"),
            ("search_path", "\"$user\", public", "\"$user\", public"),
            ("postmaster_oom_score_adj", "-900", "-900"),
            ("log_line_prefix", "%m [%p] ", "%m [%p] "),
            ("segment_size", "1GB", "131072"),
        ];
        for (name, show, raw) in cases {
            assert_eq!(s.show(name).as_deref(), Some(show), "SHOW {name}");
            assert_eq!(s.raw(name).as_deref(), Some(raw), "-C {name}");
        }
        assert!(s.str("server_version").starts_with("15.0 (tusk "));
        assert_eq!(s.int("shared_buffers"), 16384);
        assert!(!s.bool("log_connections"));
        assert_eq!(s.real("checkpoint_completion_target"), 0.9);
        assert_eq!(s.source("port"), Some(&Source::Default));
        assert_eq!(s.show("no_such_setting"), None);
    }

    #[test]
    fn set_converts_checks_and_records_the_source() {
        let mut s = Settings::defaults();
        s.set("SHARED_BUFFERS", "1GB", Source::CommandLine)
            .expect("valid");
        assert_eq!(s.int("shared_buffers"), 131072);
        assert_eq!(s.show("shared_buffers").as_deref(), Some("1GB"));
        assert_eq!(s.source("shared_buffers"), Some(&Source::CommandLine));
        s.set("unix_socket_permissions", "0700", Source::CommandLine)
            .expect("valid");
        assert_eq!(s.show("unix_socket_permissions").as_deref(), Some("0700"));
        s.set("myext.foo", "bar", Source::CommandLine)
            .expect("placeholder");
        assert_eq!(s.get("MyExt.Foo"), Some(&Value::Str("bar".into())));
        assert_eq!(s.str("myext.foo"), "bar");
        assert!(matches!(
            s.set("block_size", "4096", Source::CommandLine),
            Err(ConfigError::CannotChange {
                why: "cannot be changed",
                ..
            })
        ));
        assert!(matches!(
            s.set("port", "5433", Source::Session),
            Err(ConfigError::CannotChange {
                why: "cannot be changed without restarting the server",
                ..
            })
        ));
        s.set_override("shared_memory_size", Value::Int(143));
        assert_eq!(s.show("shared_memory_size").as_deref(), Some("143MB"));
        assert_eq!(s.raw("shared_memory_size").as_deref(), Some("143"));
        assert_eq!(s.source("shared_memory_size"), Some(&Source::Override));
    }

    #[test]
    fn reload_applies_sighup_settings_and_reports_postmaster_ones() {
        let mut running = Settings::defaults();
        running.set_override("shared_memory_size", Value::Int(143));
        let mut reread = Settings::defaults();
        reread
            .set("port", "6543", Source::CommandLine)
            .expect("valid");
        reread
            .set("log_connections", "on", Source::CommandLine)
            .expect("valid");
        let report = running.reload_from(&reread);
        assert_eq!(report.changed, vec!["log_connections"]);
        assert_eq!(report.needs_restart, vec!["port"]);
        assert_eq!(running.int("port"), 5432);
        assert!(running.bool("log_connections"));
        assert_eq!(running.int("shared_memory_size"), 143);
    }
}
