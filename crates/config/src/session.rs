//! SET, SHOW and RESET for one backend, with PostgreSQL 15's rules.
//!
//! A session keeps three things per setting: the current value, the RESET
//! value (what the session started with: file, command line and startup
//! packet), and a stack of values to restore at transaction or
//! subtransaction end. The stack follows PostgreSQL's guc.c design
//! (src/backend/utils/misc/README, "Saving/Restoring GUC Variable
//! Values") because its corner cases are what clients observe:
//!
//! - SET inside a transaction lasts past COMMIT and is undone by ROLLBACK.
//! - SET LOCAL lasts until the end of the transaction, whichever way it ends.
//! - SET after SET LOCAL in one transaction wins at commit; SET LOCAL after
//!   SET is undone at commit back to the SET's value (the "masked" value).
//! - A subtransaction's changes merge into its parent at RELEASE and are
//!   undone at ROLLBACK TO.
//!
//! Outside a transaction block a SET applies at once. A SET LOCAL there
//! could only last until the end of its own statement, so it is checked and
//! then has no lasting effect; PostgreSQL also sends WARNING 25P01 "SET
//! LOCAL can only be used in transaction blocks", which the caller, knowing
//! the statement, sends. Callers that run each statement in an implicit
//! transaction may bracket it with begin/commit_transaction instead; both
//! work.
//!
//! Methods that change values return the GUC_REPORT settings whose value
//! changed, so the caller can send ParameterStatus before ReadyForQuery.

use std::collections::HashMap;

use tusk_common::{sqlstate, PgError, Severity};

use crate::registry::index_of;
use crate::settings::{Key, Slot};
use crate::value::{parse_value, show_value, suggest, valid_custom_name};
use crate::{flags, registry, Context, Kind, SettingDef, Settings, Source, Value};

use tusk_common::sqlstate::INVALID_NAME;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Set,
    Local,
    SetLocal,
}

#[derive(Debug, Clone)]
struct StackEntry {
    level: usize,
    state: State,
    /// The value before this level first changed the setting.
    prior: Slot,
    /// With SetLocal: the SET's value, restored at commit.
    masked: Option<Slot>,
}

/// One backend's settings.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    current: Settings,
    reset: Settings,
    stacks: HashMap<Key, Vec<StackEntry>>,
    /// 0 outside a transaction, 1 in one, +1 per open subtransaction.
    level: usize,
    /// Changes whenever a value may have changed (SET, RESET, a
    /// transaction's end undoing SETs, a reload): what the session's plan
    /// cache (tusk_sql's plancache.rs) checks, since binding reads
    /// settings (search_path, row_security, ...).
    generation: u64,
}

fn unrecognized(name: &str, severity: Severity) -> PgError {
    let e = PgError::error(
        sqlstate::UNDEFINED_OBJECT,
        format!("unrecognized configuration parameter \"{name}\""),
    )
    .with_severity(severity);
    match suggest(name) {
        Some(s) => e.with_hint(format!("Did you mean \"{s}\"?")),
        None => e,
    }
}

/// Whether a session may change `def` (PostgreSQL's set_config_option
/// context checks, for a SET or a startup packet option).
fn check_context(def: &SettingDef, is_superuser: bool) -> Result<(), PgError> {
    let name = def.name;
    let cant = |why: &str| {
        Err(PgError::error(
            sqlstate::CANT_CHANGE_RUNTIME_PARAM,
            format!("parameter \"{name}\" {why}"),
        ))
    };
    match def.context {
        Context::Internal => cant("cannot be changed"),
        Context::Postmaster => cant("cannot be changed without restarting the server"),
        Context::Sighup => cant("cannot be changed now"),
        Context::Superuser if !is_superuser => Err(PgError::error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("permission denied to set parameter \"{name}\""),
        )),
        Context::Superuser | Context::User => Ok(()),
    }
}

fn is_base_source(source: &Source) -> bool {
    matches!(
        source,
        Source::Default | Source::File { .. } | Source::CommandLine
    )
}

impl SessionSettings {
    /// A session starting from the server's settings (file + command line).
    pub fn new(base: Settings) -> SessionSettings {
        let mut s = SessionSettings {
            current: base.clone(),
            reset: base,
            stacks: HashMap::new(),
            level: 0,
            generation: 0,
        };
        s.sync_xact_scoped();
        s
    }

    /// Applies an option of the client's startup packet (Source::Client):
    /// it becomes both the current and the RESET value. Errors are FATAL, as
    /// the connection cannot go on with an option it asked for refused. A
    /// startup option may not set superuser-only settings; use
    /// [`Self::apply_startup_as`] once the role is known.
    pub fn apply_startup(&mut self, name: &str, value: &str) -> Result<(), PgError> {
        self.apply_startup_as(name, value, false)
    }

    /// [`Self::apply_startup`] for a role that may or may not be superuser.
    pub fn apply_startup_as(
        &mut self,
        name: &str,
        value: &str,
        is_superuser: bool,
    ) -> Result<(), PgError> {
        self.generation += 1;
        let fatal = |e: PgError| e.with_severity(Severity::Fatal);
        let (key, def) = self.resolve(name, Severity::Fatal)?;
        let value = match def {
            Some(def) => {
                check_context(def, is_superuser).map_err(fatal)?;
                let current = self.current.slot(&key).map(|s| &s.value);
                parse_value(def, value, current).map_err(|e| fatal(e.to_pg(def, value)))?
            }
            None => Value::Str(value.to_string()),
        };
        let slot = Slot {
            value,
            source: Source::Client,
        };
        self.current.put(&key, slot.clone());
        self.reset.put(&key, slot);
        self.sync_xact_scoped();
        Ok(())
    }

    /// Records who the session is: session_authorization and is_superuser,
    /// both reported to the client. Called by the server after
    /// authentication (these settings are not the client's to choose).
    pub fn set_session_user(&mut self, user: &str, is_superuser: bool) {
        self.generation += 1;
        for settings in [&mut self.current, &mut self.reset] {
            settings.set_override("session_authorization", Value::Str(user.to_string()));
            settings.set_override("is_superuser", Value::Bool(is_superuser));
        }
    }

    /// SET [LOCAL] name TO value, or TO DEFAULT when `value` is None.
    /// Returns whether the setting is GUC_REPORT (the caller then sends
    /// ParameterStatus with [`Self::show`]'s value).
    pub fn set(
        &mut self,
        name: &str,
        value: Option<&str>,
        local: bool,
        is_superuser: bool,
    ) -> Result<bool, PgError> {
        let before = self.current.show(name);
        let (_, def) = self.set_inner(name, value, local, is_superuser)?;
        // A SET LOCAL outside a transaction changes nothing to report.
        let applied = !local || self.level > 0 || self.current.show(name) != before;
        Ok(applied && def.is_some_and(|d| d.report))
    }

    /// set_config(name, value, is_local): SET, returning the new value as
    /// SHOW prints it.
    pub fn set_config(
        &mut self,
        name: &str,
        value: &str,
        is_local: bool,
        is_superuser: bool,
    ) -> Result<String, PgError> {
        let (slot, def) = self.set_inner(name, Some(value), is_local, is_superuser)?;
        Ok(match (def, &slot.value) {
            (Some(def), v) => show_value(def, v),
            (None, Value::Str(s)) => s.clone(),
            (None, _) => String::new(),
        })
    }

    fn set_inner(
        &mut self,
        name: &str,
        value: Option<&str>,
        local: bool,
        is_superuser: bool,
    ) -> Result<(Slot, Option<&'static SettingDef>), PgError> {
        self.generation += 1;
        let (key, def) = self.resolve(name, Severity::Error)?;
        let slot = match (value, def) {
            (None, _) => self.reset.slot(&key).cloned().unwrap_or(Slot {
                value: Value::Str(String::new()),
                source: Source::Default,
            }),
            (Some(text), Some(def)) => {
                check_context(def, is_superuser)?;
                self.check_session_authorization(def, text, is_superuser)?;
                let current = self.current.slot(&key).map(|s| &s.value);
                Slot {
                    value: parse_value(def, text, current).map_err(|e| e.to_pg(def, text))?,
                    source: Source::Session,
                }
            }
            (Some(text), None) => Slot {
                value: Value::Str(text.to_string()),
                source: Source::Session,
            },
        };
        if let (None, Some(def)) = (value, def) {
            check_context(def, is_superuser)?;
        }
        let local = local || def.is_some_and(|d| d.has_flag(flags::XACT_SCOPED));
        self.assign(&key, slot.clone(), local);
        Ok((slot, def))
    }

    /// session_authorization names the role the session acts as, so only a
    /// superuser may point it elsewhere than the authenticated user, as
    /// PostgreSQL's SET SESSION AUTHORIZATION. Whether the role exists, and
    /// is_superuser for it, is the SQL layer's business: it knows the roles
    /// and calls [`Self::set_session_user`].
    fn check_session_authorization(
        &self,
        def: &SettingDef,
        text: &str,
        is_superuser: bool,
    ) -> Result<(), PgError> {
        if def.name != "session_authorization" || is_superuser {
            return Ok(());
        }
        let own = self
            .reset
            .get("session_authorization")
            .is_some_and(|v| *v == Value::Str(text.to_string()));
        if own {
            Ok(())
        } else {
            Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                "permission denied to set session authorization",
            ))
        }
    }

    /// RESET name, or RESET ALL when `name` is None. Returns the reported
    /// settings whose value changed.
    pub fn reset(
        &mut self,
        name: Option<&str>,
        is_superuser: bool,
    ) -> Result<Vec<&'static str>, PgError> {
        self.generation += 1;
        let before = self.reported();
        match name {
            Some(name) => {
                self.set_inner(name, None, false, is_superuser)?;
            }
            None => {
                // As PostgreSQL's ResetAllOptions: only what SET could have
                // changed, and not the per-transaction or identity settings.
                for (idx, def) in registry().iter().enumerate() {
                    if def.has_flag(flags::NO_RESET_ALL)
                        || !matches!(def.context, Context::User | Context::Superuser)
                    {
                        continue;
                    }
                    self.reset_key(&Key::Reg(idx));
                }
                for key in self.current.custom_keys() {
                    self.reset_key(&key);
                }
            }
        }
        Ok(self.changed_since(&before))
    }

    fn reset_key(&mut self, key: &Key) {
        if let Some(target) = self.reset.slot(key).cloned() {
            if self.current.slot(key) != Some(&target) {
                self.assign(key, target, false);
            }
        }
    }

    /// SHOW name.
    pub fn show(&self, name: &str) -> Result<String, PgError> {
        self.current
            .show(name)
            .ok_or_else(|| unrecognized(name, Severity::Error))
    }

    /// SHOW ALL: (name, setting, description) sorted by name.
    pub fn show_all(&self) -> Vec<(String, String, String)> {
        let mut rows: Vec<(String, String, String)> = self
            .current
            .entries()
            .filter(|(def, _, _)| !def.has_flag(flags::NO_SHOW_ALL))
            .map(|(def, value, _)| {
                (
                    def.name.to_string(),
                    show_value(def, value),
                    def.description.to_string(),
                )
            })
            .collect();
        rows.sort_by_key(|r| r.0.to_ascii_lowercase());
        rows
    }

    /// current_setting(name [, missing_ok]).
    pub fn current_setting(&self, name: &str, missing_ok: bool) -> Result<Option<String>, PgError> {
        match self.current.show(name) {
            Some(v) => Ok(Some(v)),
            None if missing_ok => Ok(None),
            None => Err(unrecognized(name, Severity::Error)),
        }
    }

    /// Start of a transaction block (or of an implicit transaction).
    /// Ignored if one is already open.
    pub fn begin_transaction(&mut self) {
        if self.level == 0 {
            self.sync_xact_scoped();
            self.level = 1;
        }
    }

    /// COMMIT: keeps SETs, undoes SET LOCALs. Returns the reported
    /// settings whose value changed.
    pub fn commit_transaction(&mut self) -> Vec<&'static str> {
        self.end_transaction(true)
    }

    /// ROLLBACK (or a failed transaction's end): undoes every change made
    /// in the transaction. Returns the reported settings whose value changed.
    pub fn abort_transaction(&mut self) -> Vec<&'static str> {
        self.end_transaction(false)
    }

    fn end_transaction(&mut self, commit: bool) -> Vec<&'static str> {
        if self.level == 0 {
            return Vec::new();
        }
        if self.stacks.is_empty() {
            // Nothing was SET in the transaction, so nothing changes: the
            // common case, since every statement runs in a transaction.
            self.level = 0;
            return Vec::new();
        }
        self.generation += 1;
        let before = self.reported();
        self.at_end(commit, 1);
        self.level = 0;
        self.sync_xact_scoped();
        self.changed_since(&before)
    }

    /// SAVEPOINT: opens a nested level (and a transaction if none is open).
    pub fn begin_subtransaction(&mut self) {
        self.begin_transaction();
        self.level += 1;
    }

    /// RELEASE SAVEPOINT: the subtransaction's changes join its parent's.
    pub fn commit_subtransaction(&mut self) -> Vec<&'static str> {
        self.end_subtransaction(true)
    }

    /// ROLLBACK TO SAVEPOINT: undoes the subtransaction's changes.
    pub fn abort_subtransaction(&mut self) -> Vec<&'static str> {
        self.end_subtransaction(false)
    }

    fn end_subtransaction(&mut self, commit: bool) -> Vec<&'static str> {
        if self.level <= 1 {
            return Vec::new();
        }
        self.generation += 1;
        let before = self.reported();
        self.at_end(commit, self.level);
        self.level -= 1;
        self.changed_since(&before)
    }

    /// A number that changes whenever a setting may have changed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether a transaction is open, and how deeply nested (0 = none).
    pub fn nest_level(&self) -> usize {
        self.level
    }

    /// The current values.
    pub fn settings(&self) -> &Settings {
        &self.current
    }

    /// GUC_REPORT settings and their SHOW values, sorted by name, for the
    /// ParameterStatus messages at connection start.
    pub fn reported(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = self
            .current
            .entries()
            .filter(|(def, _, _)| def.report)
            .map(|(def, value, _)| (def.name, show_value(def, value)))
            .collect();
        out.sort_by_key(|(n, _)| n.to_ascii_lowercase());
        out
    }

    /// Applies a reloaded configuration (SIGHUP), as PostgreSQL does: the
    /// new file and command-line values replace the current value, the RESET
    /// value and saved values wherever those came from the file, the command
    /// line or the defaults; what the client or a SET chose stays. Postmaster
    /// settings are not changed. Returns the reported settings whose value
    /// changed.
    pub fn reload(&mut self, new_base: &Settings) -> Vec<&'static str> {
        self.generation += 1;
        let before = self.reported();
        for (idx, def) in registry().iter().enumerate() {
            if matches!(def.context, Context::Internal | Context::Postmaster) {
                continue;
            }
            let key = Key::Reg(idx);
            let Some(fresh) = new_base.slot(&key).cloned() else {
                continue;
            };
            for settings in [&mut self.reset, &mut self.current] {
                if settings
                    .slot(&key)
                    .is_some_and(|s| is_base_source(&s.source))
                {
                    settings.put(&key, fresh.clone());
                }
            }
            if let Some(stack) = self.stacks.get_mut(&key) {
                for entry in stack {
                    for saved in std::iter::once(&mut entry.prior).chain(entry.masked.as_mut()) {
                        if is_base_source(&saved.source) {
                            *saved = fresh.clone();
                        }
                    }
                }
            }
        }
        for (name, value, source) in new_base.custom_entries() {
            if self.current.key(name).is_none() {
                let slot = Slot {
                    value: Value::Str(value.to_string()),
                    source: source.clone(),
                };
                self.current.put_custom(name, slot.clone());
                self.reset.put_custom(name, slot);
            }
        }
        if self.level == 0 {
            self.sync_xact_scoped();
        }
        self.changed_since(&before)
    }

    // ---- Internals.

    /// Finds a setting for SET or a startup option. An unknown dotted name
    /// becomes an empty placeholder first, as in PostgreSQL, so that a
    /// rolled-back SET leaves it defined but empty.
    fn resolve(
        &mut self,
        name: &str,
        severity: Severity,
    ) -> Result<(Key, Option<&'static SettingDef>), PgError> {
        if let Some(idx) = index_of(name) {
            return Ok((Key::Reg(idx), Some(&registry()[idx])));
        }
        if valid_custom_name(name) {
            let key = match self.current.key(name) {
                Some(key) => key,
                None => {
                    let empty = Slot {
                        value: Value::Str(String::new()),
                        source: Source::Default,
                    };
                    self.reset.put_custom(name, empty.clone());
                    self.current.put_custom(name, empty)
                }
            };
            return Ok((key, None));
        }
        if name.contains('.') {
            return Err(PgError::error(
                INVALID_NAME,
                format!("invalid configuration parameter name \"{name}\""),
            )
            .with_detail(
                "Custom parameter names must be two or more simple identifiers separated by dots.",
            )
            .with_severity(severity));
        }
        Err(unrecognized(name, severity))
    }

    /// Stores a new value, saving the old one for transaction end.
    fn assign(&mut self, key: &Key, slot: Slot, local: bool) {
        if self.level == 0 {
            if !local {
                self.current.put(key, slot);
                self.sync_xact_scoped();
            }
            return;
        }
        let Some(prior) = self.current.slot(key).cloned() else {
            return;
        };
        let stack = self.stacks.entry(key.clone()).or_default();
        match stack.last_mut() {
            Some(top) if top.level == self.level => {
                if !local {
                    // SET forgets earlier actions at this level.
                    top.state = State::Set;
                    top.masked = None;
                } else if top.state == State::Set {
                    // SET then SET LOCAL: the SET's value comes back at commit.
                    top.masked = Some(prior);
                    top.state = State::SetLocal;
                }
            }
            _ => stack.push(StackEntry {
                level: self.level,
                state: if local { State::Local } else { State::Set },
                prior,
                masked: None,
            }),
        }
        self.current.put(key, slot);
    }

    /// Ends nesting level `level` (1 = the transaction), committing or not.
    fn at_end(&mut self, commit: bool, level: usize) {
        let SessionSettings {
            current, stacks, ..
        } = self;
        for (key, stack) in stacks.iter_mut() {
            while stack.last().is_some_and(|top| top.level >= level) {
                let Some(entry) = stack.pop() else { break };
                let restore = if !commit {
                    Some(entry.prior)
                } else if entry.level == 1 {
                    match entry.state {
                        State::Set => None,
                        State::Local => Some(entry.prior),
                        State::SetLocal => entry.masked,
                    }
                } else {
                    match stack.last_mut() {
                        Some(prev) if prev.level + 1 == entry.level => {
                            match entry.state {
                                State::Set => {
                                    prev.state = State::Set;
                                    prev.masked = None;
                                }
                                State::Local => {
                                    if prev.state == State::Set {
                                        prev.masked = Some(entry.prior);
                                        prev.state = State::SetLocal;
                                    }
                                }
                                State::SetLocal => {
                                    prev.masked = entry.masked;
                                    prev.state = State::SetLocal;
                                }
                            }
                            None
                        }
                        _ => {
                            // Nothing saved at the parent level: the entry
                            // simply moves down to it.
                            stack.push(StackEntry {
                                level: entry.level - 1,
                                ..entry
                            });
                            break;
                        }
                    }
                };
                if let Some(slot) = restore {
                    current.put(key, slot);
                }
            }
        }
        stacks.retain(|_, s| !s.is_empty());
    }

    /// transaction_isolation and transaction_read_only start every
    /// transaction as their default_* counterparts say.
    fn sync_xact_scoped(&mut self) {
        for &(idx, default_idx) in xact_scoped_pairs() {
            if let Some(slot) = self.current.slot(&Key::Reg(default_idx)).cloned() {
                self.current.put(&Key::Reg(idx), slot);
            }
        }
    }

    fn changed_since(&self, before: &[(&'static str, String)]) -> Vec<&'static str> {
        let after = self.reported();
        after
            .iter()
            .zip(before)
            .filter(|(a, b)| a.1 != b.1)
            .map(|(a, _)| a.0)
            .collect()
    }
}

/// (registry index of each transaction-scoped setting, index of its
/// `default_` counterpart), found once: every transaction start reads it,
/// and every statement runs in a transaction.
fn xact_scoped_pairs() -> &'static [(usize, usize)] {
    static PAIRS: std::sync::OnceLock<Vec<(usize, usize)>> = std::sync::OnceLock::new();
    PAIRS.get_or_init(|| {
        registry()
            .iter()
            .enumerate()
            .filter(|(_, def)| def.has_flag(flags::XACT_SCOPED))
            .filter_map(|(idx, def)| index_of(&format!("default_{}", def.name)).map(|d| (idx, d)))
            .collect()
    })
}

#[cfg(test)]
mod tests;

/// One row of `pg_settings`: PostgreSQL 15's columns as text (NULL as
/// None), `sourceline` and `pending_restart` typed.
#[derive(Debug, Clone, PartialEq)]
pub struct PgSettingsRow {
    /// name, setting, unit, category, short_desc, extra_desc, context,
    /// vartype, source, min_val, max_val.
    pub text: [Option<String>; 11],
    pub enumvals: Option<Vec<String>>,
    /// boot_val, reset_val, sourcefile.
    pub tail: [Option<String>; 3],
    pub sourceline: Option<i32>,
    pub pending_restart: bool,
}

/// pg_settings.setting / boot_val / reset_val: the raw value in the
/// setting's base unit (`1024` with unit `8kB`), as PostgreSQL shows it.
fn raw_value(v: &Value) -> String {
    match v {
        Value::Bool(b) => if *b { "on" } else { "off" }.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Real(r) => crate::units::format_g(*r),
        Value::Str(s) => s.clone(),
    }
}

impl SessionSettings {
    /// The rows of `pg_settings`, sorted by name as PostgreSQL lists
    /// them. `superuser` decides whether file locations are shown
    /// (PostgreSQL hides sourcefile/sourceline from others).
    pub fn pg_settings_rows(&self, superuser: bool) -> Vec<PgSettingsRow> {
        let mut rows: Vec<PgSettingsRow> = self
            .current
            .entries()
            .zip(self.reset.entries())
            .filter(|((def, _, _), _)| !def.has_flag(flags::NO_SHOW_ALL))
            .map(|((def, value, source), (_, reset, _))| {
                let (vartype, min, max, enumvals) = match def.kind {
                    Kind::Bool => ("bool", None, None, None),
                    Kind::Int { min, max } => (
                        "integer",
                        Some(min.to_string()),
                        Some(max.to_string()),
                        None,
                    ),
                    Kind::Real { min, max } => (
                        "real",
                        Some(crate::units::format_g(min)),
                        Some(crate::units::format_g(max)),
                        None,
                    ),
                    Kind::String => ("string", None, None, None),
                    Kind::Enum(opts) => (
                        "enum",
                        None,
                        None,
                        Some(opts.iter().map(|s| s.to_string()).collect()),
                    ),
                };
                let boot = parse_value(def, def.default, None)
                    .map(|v| raw_value(&v))
                    .ok();
                let (file, line) = match source {
                    Source::File { path, line } if superuser => {
                        (Some(path.display().to_string()), Some(*line as i32))
                    }
                    _ => (None, None),
                };
                PgSettingsRow {
                    text: [
                        Some(def.name.to_string()),
                        Some(raw_value(value)),
                        def.unit.name().map(str::to_string),
                        Some(def.category.to_string()),
                        Some(def.description.to_string()),
                        None,
                        Some(def.context.as_str().to_string()),
                        Some(vartype.to_string()),
                        Some(source.as_str().to_string()),
                        min,
                        max,
                    ],
                    enumvals,
                    tail: [boot, Some(raw_value(reset)), file],
                    sourceline: line,
                    pending_restart: false,
                }
            })
            .collect();
        rows.sort_by(|a, b| a.text[0].cmp(&b.text[0]));
        rows
    }
}
