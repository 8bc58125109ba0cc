//! SQL/MED catalog DDL: CREATE/ALTER/DROP FOREIGN DATA WRAPPER, SERVER and USER MAPPING, kept in pg_foreign_data_wrapper, pg_foreign_server and pg_user_mapping as PostgreSQL keeps them.
//!
//! Why catalog DML through the SQL layer (as comment.rs does) rather than
//! a host call: these objects are rows and nothing else — no files, no
//! locks beyond the statement's, no caches of their own — and psql's
//! `\dew+`, `\des+`, `\deu+` and the pg_user_mappings view read exactly
//! those rows. Inserting and updating them with the statement's
//! transaction makes the DDL transactional for free. The catalog writes
//! run without privilege checks ([`crate::acl::unchecked`]): the
//! statement itself checks PostgreSQL's rules (superuser for wrappers,
//! ownership or USAGE for servers and mappings) first.
//!
//! Options are stored as PostgreSQL stores them, `name=value` text
//! arrays (NULL when empty), changed by ADD/SET/DROP with
//! transformGenericOptions' errors, and checked by the wrapper's
//! validator when it is the built-in postgresql_fdw_validator (the only
//! validator tusk can run: a user-defined one would be a C function).
//!
//! Dependencies are read from the catalogs themselves (servers of a
//! wrapper, mappings and foreign tables of a server) rather than from
//! pg_depend: they are fixed by the rows' own columns, so DROP ...
//! CASCADE and RESTRICT list them from there. Called by the backend
//! running the statement.

use tusk_common::{sqlstate, PgError, Severity};

use crate::catalog::codes::{DEPENDENT_OBJECTS_STILL_EXIST, DUPLICATE_OBJECT};

use crate::acl::{self, RoleSet};
use crate::host::Host;
use crate::role::{syntax_at, tokens, T};
use crate::sysinfo::query;
use crate::types;
use crate::value::Value;

/// pg_proc OID of the built-in postgresql_fdw_validator.
pub(crate) const POSTGRESQL_FDW_VALIDATOR: u32 = 2316;
/// The fdw_handler pseudo-type.
const FDW_HANDLER: u32 = 3115;
const TEXT_ARRAY: u32 = 1009;
/// aclitem[] (held as its stored text form, acl.rs).
const ACLITEM_ARRAY: u32 = 1034;
/// Catalog OIDs (the classoid of pg_description rows, validator contexts).
pub(crate) const PG_FOREIGN_DATA_WRAPPER: u32 = 2328;
pub(crate) const PG_FOREIGN_SERVER: u32 = 1417;
pub(crate) const PG_USER_MAPPING: u32 = 1418;
const PG_FOREIGN_TABLE: u32 = 3118;

/// A stored options array as (name, value) pairs, in order.
type OptionList = Vec<(String, String)>;

/// One item of an OPTIONS (...) list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OptAction {
    /// A bare `name 'value'` or `ADD name 'value'`.
    Add,
    Set,
    Drop,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opt {
    pub action: OptAction,
    pub name: String,
    pub value: String,
}

/// HANDLER / VALIDATOR clauses: None not given, Some(None) NO ...,
/// Some(Some(name)) a function name (its dotted parts).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Funcs {
    pub handler: Option<Option<Vec<String>>>,
    pub validator: Option<Option<Vec<String>>>,
    /// The second HANDLER or VALIDATOR clause, an error once the first
    /// has been looked up (PostgreSQL looks each up as it reads it).
    pub duplicate: bool,
}

/// Whose user mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MapUser {
    Public,
    CurrentUser,
    SessionUser,
    Role(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Wrapper,
    Server,
}

/// A parsed SQL/MED statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FdwStmt {
    CreateWrapper {
        name: String,
        funcs: Funcs,
        options: Vec<Opt>,
    },
    AlterWrapper {
        name: String,
        funcs: Funcs,
        options: Vec<Opt>,
    },
    CreateServer {
        name: String,
        if_not_exists: bool,
        srvtype: Option<String>,
        version: Option<String>,
        wrapper: String,
        options: Vec<Opt>,
    },
    AlterServer {
        name: String,
        /// VERSION 'v' (Some(Some)) or VERSION NULL (Some(None)).
        version: Option<Option<String>>,
        options: Vec<Opt>,
    },
    Drop {
        kind: Kind,
        names: Vec<String>,
        if_exists: bool,
        cascade: bool,
    },
    Owner {
        kind: Kind,
        name: String,
        owner: MapUser,
    },
    Rename {
        kind: Kind,
        name: String,
        to: String,
    },
    CreateMapping {
        if_not_exists: bool,
        user: MapUser,
        server: String,
        options: Vec<Opt>,
    },
    AlterMapping {
        user: MapUser,
        server: String,
        options: Vec<Opt>,
    },
    DropMapping {
        if_exists: bool,
        user: MapUser,
        server: String,
    },
    /// IMPORT FOREIGN SCHEMA remote FROM SERVER s INTO local: checked up
    /// to the wrapper's handler, which tusk never has.
    Import { server: String, into: String },
    /// GRANT/REVOKE ... ON FOREIGN DATA WRAPPER | FOREIGN SERVER names:
    /// acl.rs's statement (read with the object words as TABLE) and the
    /// objects' names.
    Grant {
        stmt: acl::GrantStmt,
        kind: Kind,
        names: Vec<String>,
    },
}

impl FdwStmt {
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            FdwStmt::CreateWrapper { .. } => "CREATE FOREIGN DATA WRAPPER",
            FdwStmt::AlterWrapper { .. } => "ALTER FOREIGN DATA WRAPPER",
            FdwStmt::CreateServer { .. } => "CREATE SERVER",
            FdwStmt::AlterServer { .. } => "ALTER SERVER",
            FdwStmt::Drop {
                kind: Kind::Wrapper,
                ..
            } => "DROP FOREIGN DATA WRAPPER",
            FdwStmt::Drop { .. } => "DROP SERVER",
            FdwStmt::Owner {
                kind: Kind::Wrapper,
                ..
            }
            | FdwStmt::Rename {
                kind: Kind::Wrapper,
                ..
            } => "ALTER FOREIGN DATA WRAPPER",
            FdwStmt::Owner { .. } | FdwStmt::Rename { .. } => "ALTER SERVER",
            FdwStmt::CreateMapping { .. } => "CREATE USER MAPPING",
            FdwStmt::AlterMapping { .. } => "ALTER USER MAPPING",
            FdwStmt::DropMapping { .. } => "DROP USER MAPPING",
            FdwStmt::Import { .. } => "IMPORT FOREIGN SCHEMA",
            FdwStmt::Grant { stmt, .. } if stmt.grant => "GRANT",
            FdwStmt::Grant { .. } => "REVOKE",
        }
    }
}

/// Whether the leading words (upper-cased) start a statement read here.
pub(crate) fn is_fdw_statement(w: &[&str]) -> bool {
    matches!(
        w,
        [
            "CREATE" | "ALTER" | "DROP",
            "FOREIGN",
            "DATA",
            "WRAPPER",
            ..
        ] | ["CREATE" | "ALTER" | "DROP", "SERVER", ..]
            | ["CREATE" | "ALTER" | "DROP", "USER", "MAPPING", ..]
            | ["IMPORT", "FOREIGN", "SCHEMA", ..]
    )
}

/// A token cursor over role.rs's tokens (publication.rs reads with it too).
pub(crate) struct P {
    pub t: Vec<T>,
    pub i: usize,
}

impl P {
    pub(crate) fn peek(&self) -> Option<&T> {
        self.t.get(self.i)
    }
    pub(crate) fn kw(&mut self, k: &str) -> bool {
        if matches!(self.peek(), Some(T::Word(w, _)) if w == k) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    pub(crate) fn err(&self) -> PgError {
        syntax_at(self.peek())
    }
    pub(crate) fn expect(&mut self, k: &str) -> Result<(), PgError> {
        if self.kw(k) {
            Ok(())
        } else {
            Err(self.err())
        }
    }
    pub(crate) fn name(&mut self) -> Result<String, PgError> {
        let n = match self.peek() {
            Some(T::Word(_, n)) => n.clone(),
            Some(T::Ident(n)) => n.clone(),
            _ => return Err(self.err()),
        };
        self.i += 1;
        Ok(n)
    }
    pub(crate) fn dotted(&mut self) -> Result<Vec<String>, PgError> {
        let mut parts = vec![self.name()?];
        while matches!(self.peek(), Some(T::Other(o)) if o == ".") {
            self.i += 1;
            parts.push(self.name()?);
        }
        Ok(parts)
    }
    pub(crate) fn string(&mut self) -> Result<String, PgError> {
        match self.peek() {
            Some(T::Str(s)) => {
                let s = s.clone();
                self.i += 1;
                Ok(s)
            }
            _ => Err(self.err()),
        }
    }
    pub(crate) fn punct(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(T::Other(o)) if o == p) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    pub(crate) fn end(&self) -> Result<(), PgError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.err()),
        }
    }
    /// OPTIONS ( [ADD|SET|DROP] name ['value'], ... ); `alter` allows the
    /// actions.
    pub(crate) fn options_list(&mut self, alter: bool) -> Result<Vec<Opt>, PgError> {
        if !self.kw("OPTIONS") {
            return Ok(Vec::new());
        }
        if !self.punct("(") {
            return Err(self.err());
        }
        let mut out = Vec::new();
        loop {
            let mut action = OptAction::Add;
            if alter {
                // ADD/SET/DROP are actions only when a name follows.
                let next_is_name =
                    matches!(self.t.get(self.i + 1), Some(T::Word(..) | T::Ident(_)));
                if next_is_name {
                    if self.kw("ADD") {
                        action = OptAction::Add;
                    } else if self.kw("SET") {
                        action = OptAction::Set;
                    } else if self.kw("DROP") {
                        action = OptAction::Drop;
                    }
                }
            }
            let name = self.name()?;
            let value = if action == OptAction::Drop {
                String::new()
            } else {
                self.string()?
            };
            out.push(Opt {
                action,
                name,
                value,
            });
            if matches!(self.peek(), Some(T::Comma)) {
                self.i += 1;
                continue;
            }
            if self.punct(")") {
                return Ok(out);
            }
            return Err(self.err());
        }
    }
    fn funcs(&mut self, f: &mut Funcs) -> Result<bool, PgError> {
        let no = self.kw("NO");
        let handler = if self.kw("HANDLER") {
            true
        } else if self.kw("VALIDATOR") {
            false
        } else if no {
            return Err(self.err());
        } else {
            return Ok(false);
        };
        let v = if no { None } else { Some(self.dotted()?) };
        let slot = if handler {
            &mut f.handler
        } else {
            &mut f.validator
        };
        if slot.is_some() {
            f.duplicate = true;
        } else {
            *slot = Some(v);
        }
        Ok(true)
    }
    pub(crate) fn map_user(&mut self) -> Result<MapUser, PgError> {
        Ok(match self.peek() {
            Some(T::Word(k, _)) if k == "PUBLIC" => {
                self.i += 1;
                MapUser::Public
            }
            Some(T::Word(k, _)) if k == "CURRENT_USER" || k == "CURRENT_ROLE" || k == "USER" => {
                self.i += 1;
                MapUser::CurrentUser
            }
            Some(T::Word(k, _)) if k == "SESSION_USER" => {
                self.i += 1;
                MapUser::SessionUser
            }
            _ => MapUser::Role(self.name()?),
        })
    }
}

/// Whether a GRANT/REVOKE (its words, upper-cased) is on wrappers or
/// servers.
pub(crate) fn is_fdw_grant(w: &[&str]) -> bool {
    matches!(w.first(), Some(&"GRANT" | &"REVOKE"))
        && w.windows(3)
            .any(|x| matches!(x, ["ON", "FOREIGN", "DATA" | "SERVER"]))
}

/// GRANT/REVOKE on wrappers or servers: acl.rs reads the statement with
/// the object words replaced by TABLE (the privileges, grantees and
/// options are spelled alike for every kind of object).
fn parse_grant(sql: &str) -> Result<FdwStmt, PgError> {
    let t = tokens(sql)?;
    let words: Vec<String> = t
        .iter()
        .map(|x| match x {
            T::Word(k, _) => k.clone(),
            _ => String::new(),
        })
        .collect();
    let at = words
        .windows(2)
        .position(|x| x[0] == "ON" && x[1] == "FOREIGN")
        .ok_or_else(|| syntax_at(None))?;
    let kind = if words.get(at + 2).map(String::as_str) == Some("SERVER") {
        Kind::Server
    } else if words.get(at + 2).map(String::as_str) == Some("DATA")
        && words.get(at + 3).map(String::as_str) == Some("WRAPPER")
    {
        Kind::Wrapper
    } else {
        return Err(syntax_at(t.get(at + 2)));
    };
    // Rebuild the text with the object words as TABLE (the first
    // FOREIGN SERVER / FOREIGN DATA WRAPPER, after ON).
    let mut rebuilt = String::new();
    let lower = sql;
    let upper = sql.to_ascii_uppercase();
    let mut pos = 0;
    let mut done = false;
    while let Some(off) = upper[pos..].find("FOREIGN") {
        let start = pos + off;
        let rest = upper[start + 7..].trim_start();
        let skip_ws = upper[start + 7..].len() - rest.len();
        let end = if kind == Kind::Server && rest.starts_with("SERVER") {
            Some(start + 7 + skip_ws + 6)
        } else if kind == Kind::Wrapper && rest.starts_with("DATA") {
            let r2 = rest[4..].trim_start();
            let skip2 = rest[4..].len() - r2.len();
            r2.starts_with("WRAPPER")
                .then_some(start + 7 + skip_ws + 4 + skip2 + 7)
        } else {
            None
        };
        if let Some(end) = end {
            rebuilt.push_str(&lower[..start]);
            rebuilt.push_str("TABLE");
            rebuilt.push_str(&lower[end..]);
            done = true;
            break;
        }
        pos = start + 7;
    }
    if !done {
        return Err(syntax_at(None));
    }
    let stmt = acl::parse(&rebuilt)?;
    let names = match &stmt.target {
        acl::Target::Relations(_, names) => {
            if names.iter().any(|(s, _)| s.is_some()) {
                return Err(syntax_at(Some(&T::Other(".".into()))));
            }
            names.iter().map(|(_, n)| n.clone()).collect()
        }
        _ => return Err(syntax_at(None)),
    };
    Ok(FdwStmt::Grant { stmt, kind, names })
}

/// Parse one SQL/MED statement.
pub(crate) fn parse(sql: &str) -> Result<FdwStmt, PgError> {
    if sql
        .trim_start()
        .get(..5)
        .is_some_and(|w| w.eq_ignore_ascii_case("GRANT"))
        || sql
            .trim_start()
            .get(..6)
            .is_some_and(|w| w.eq_ignore_ascii_case("REVOKE"))
    {
        return parse_grant(sql);
    }
    let mut t = tokens(sql)?;
    // role.rs's tokens keep `.`, `(` and `)` as Other; nothing else here.
    t.retain(|x| !matches!(x, T::Other(o) if o == ";"));
    let mut p = P { t, i: 0 };
    let verb = if p.kw("CREATE") {
        "CREATE"
    } else if p.kw("ALTER") {
        "ALTER"
    } else if p.kw("DROP") {
        "DROP"
    } else if p.kw("IMPORT") {
        p.expect("FOREIGN")?;
        p.expect("SCHEMA")?;
        p.name()?;
        if p.kw("LIMIT") || p.kw("EXCEPT") {
            p.expect("TO")?;
            if !p.punct("(") {
                return Err(p.err());
            }
            while !p.punct(")") {
                if p.peek().is_none() {
                    return Err(p.err());
                }
                p.i += 1;
            }
        }
        p.expect("FROM")?;
        p.expect("SERVER")?;
        let server = p.name()?;
        p.expect("INTO")?;
        let into = p.name()?;
        p.options_list(false)?;
        p.end()?;
        return Ok(FdwStmt::Import { server, into });
    } else {
        return Err(p.err());
    };
    let kind = if p.kw("FOREIGN") {
        p.expect("DATA")?;
        p.expect("WRAPPER")?;
        Some(Kind::Wrapper)
    } else if p.kw("SERVER") {
        Some(Kind::Server)
    } else {
        p.expect("USER")?;
        p.expect("MAPPING")?;
        None
    };
    let Some(kind) = kind else {
        // USER MAPPING [IF [NOT] EXISTS] FOR user SERVER s [OPTIONS].
        let if_ok = if p.kw("IF") {
            if verb == "CREATE" {
                p.expect("NOT")?;
            }
            p.expect("EXISTS")?;
            true
        } else {
            false
        };
        p.expect("FOR")?;
        let user = p.map_user()?;
        p.expect("SERVER")?;
        let server = p.name()?;
        let stmt = match verb {
            "CREATE" => FdwStmt::CreateMapping {
                if_not_exists: if_ok,
                user,
                server,
                options: p.options_list(false)?,
            },
            "ALTER" => {
                let options = p.options_list(true)?;
                if options.is_empty() {
                    return Err(p.err());
                }
                FdwStmt::AlterMapping {
                    user,
                    server,
                    options,
                }
            }
            _ => FdwStmt::DropMapping {
                if_exists: if_ok,
                user,
                server,
            },
        };
        p.end()?;
        return Ok(stmt);
    };
    let stmt = match verb {
        "DROP" => {
            let if_exists = if p.kw("IF") {
                p.expect("EXISTS")?;
                true
            } else {
                false
            };
            let mut names = vec![p.name()?];
            while matches!(p.peek(), Some(T::Comma)) {
                p.i += 1;
                names.push(p.name()?);
            }
            let cascade = p.kw("CASCADE");
            if !cascade {
                p.kw("RESTRICT");
            }
            FdwStmt::Drop {
                kind,
                names,
                if_exists,
                cascade,
            }
        }
        "CREATE" if kind == Kind::Wrapper => {
            let name = p.name()?;
            let mut funcs = Funcs::default();
            while p.funcs(&mut funcs)? {}
            FdwStmt::CreateWrapper {
                name,
                funcs,
                options: p.options_list(false)?,
            }
        }
        "CREATE" => {
            let if_not_exists = if p.kw("IF") {
                p.expect("NOT")?;
                p.expect("EXISTS")?;
                true
            } else {
                false
            };
            let name = p.name()?;
            let srvtype = if p.kw("TYPE") {
                Some(p.string()?)
            } else {
                None
            };
            let version = if p.kw("VERSION") {
                Some(p.string()?)
            } else {
                None
            };
            p.expect("FOREIGN")?;
            p.expect("DATA")?;
            p.expect("WRAPPER")?;
            let wrapper = p.name()?;
            FdwStmt::CreateServer {
                name,
                if_not_exists,
                srvtype,
                version,
                wrapper,
                options: p.options_list(false)?,
            }
        }
        _ => {
            let name = p.name()?;
            if p.kw("OWNER") {
                p.expect("TO")?;
                FdwStmt::Owner {
                    kind,
                    name,
                    owner: p.map_user()?,
                }
            } else if p.kw("RENAME") {
                p.expect("TO")?;
                FdwStmt::Rename {
                    kind,
                    name,
                    to: p.name()?,
                }
            } else if kind == Kind::Wrapper {
                let mut funcs = Funcs::default();
                let mut any = false;
                while p.funcs(&mut funcs)? {
                    any = true;
                }
                let options = p.options_list(true)?;
                if !any && options.is_empty() {
                    return Err(p.err());
                }
                FdwStmt::AlterWrapper {
                    name,
                    funcs,
                    options,
                }
            } else {
                let version = if p.kw("VERSION") {
                    if p.kw("NULL") {
                        Some(None)
                    } else {
                        Some(Some(p.string()?))
                    }
                } else {
                    None
                };
                let options = p.options_list(true)?;
                if version.is_none() && options.is_empty() {
                    return Err(p.err());
                }
                FdwStmt::AlterServer {
                    name,
                    version,
                    options,
                }
            }
        }
    };
    p.end()?;
    Ok(stmt)
}

/// `( name [= value], ... )`: PUBLICATION's and SUBSCRIPTION's WITH, and
/// SUBSCRIPTION's SET and SKIP lists. `none`: an unquoted NONE value is
/// kept as "\u{0}NONE" (SUBSCRIPTION's `slot_name = NONE`, which a
/// quoted 'none' is not).
pub(crate) fn option_list(p: &mut P, none: bool) -> Result<Vec<(String, Option<String>)>, PgError> {
    if !p.punct("(") {
        return Err(p.err());
    }
    let mut out = Vec::new();
    loop {
        let name = p.name()?;
        let value = if p.punct("=") {
            let v = match p.peek() {
                Some(T::Str(s)) => s.clone(),
                Some(T::Word(k, _)) if none && k == "NONE" => "\u{0}NONE".to_string(),
                Some(T::Word(_, w)) => w.clone(),
                Some(T::Ident(w)) => w.clone(),
                Some(T::Num(n)) => n.clone(),
                _ => return Err(p.err()),
            };
            p.i += 1;
            Some(v)
        } else {
            None
        };
        out.push((name, value));
        if matches!(p.peek(), Some(T::Comma)) {
            p.i += 1;
            continue;
        }
        if p.punct(")") {
            return Ok(out);
        }
        return Err(p.err());
    }
}

pub(crate) fn err(code: tusk_common::SqlState, msg: String) -> PgError {
    PgError::error(code, msg)
}

pub(crate) fn notice(msg: impl Into<String>) -> PgError {
    PgError::new(Severity::Notice, sqlstate::SUCCESSFUL_COMPLETION, msg)
}

pub(crate) fn warning(msg: impl Into<String>) -> PgError {
    PgError::new(Severity::Warning, sqlstate::WARNING, msg)
}

pub(crate) fn oid_of(v: Option<&Value>) -> u32 {
    match v {
        Some(Value::Oid(o)) => *o,
        Some(Value::Int4(i)) => *i as u32,
        Some(Value::Int8(i)) => *i as u32,
        _ => 0,
    }
}

pub(crate) fn text_of(v: Option<&Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(v) => crate::value::to_text(v),
    }
}

/// The `name=value` items of a stored options array (NULL: none).
fn options_of(v: Option<&Value>) -> Vec<(String, String)> {
    let Some(Value::Array(a)) = v else {
        return Vec::new();
    };
    a.items
        .iter()
        .filter_map(crate::value::to_text)
        .map(|s| match s.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (s, String::new()),
        })
        .collect()
}

fn options_value(opts: &[(String, String)]) -> Value {
    if opts.is_empty() {
        return Value::Null;
    }
    Value::Array(Box::new(tusk_types::array::Array::from_items(
        types::TEXT,
        opts.iter()
            .map(|(n, v)| Value::Text(format!("{n}={v}")))
            .collect(),
    )))
}

/// Runs catalog DML as the system, not as the current role.
/// Each call is its own command: a later one sees the rows an earlier
/// one of the same statement wrote (ALTER SERVER's VERSION, then OPTIONS).
pub(crate) fn q(
    host: &mut dyn Host,
    sql: &str,
    ptypes: &[u32],
    params: Vec<Value>,
) -> Result<Vec<crate::Row>, PgError> {
    let rows = acl::unchecked(|| query(host, sql, ptypes, params))?;
    host.command_counter_increment();
    Ok(rows)
}

/// transformGenericOptions: `old` changed by `items`, then checked by
/// the validator `validator` for catalog `context`.
fn transform_options(
    old: Vec<(String, String)>,
    items: &[Opt],
    validator: u32,
    context: u32,
) -> Result<Vec<(String, String)>, PgError> {
    let mut out = old;
    for it in items {
        let at = out.iter().position(|(n, _)| *n == it.name);
        match (&it.action, at) {
            (OptAction::Add, Some(_)) => {
                return Err(err(
                    DUPLICATE_OBJECT,
                    format!("option \"{}\" provided more than once", it.name),
                ))
            }
            (OptAction::Add, None) => out.push((it.name.clone(), it.value.clone())),
            (OptAction::Set | OptAction::Drop, None) => {
                return Err(err(
                    sqlstate::UNDEFINED_OBJECT,
                    format!("option \"{}\" not found", it.name),
                ))
            }
            (OptAction::Set, Some(i)) => out[i].1 = it.value.clone(),
            (OptAction::Drop, Some(i)) => {
                out.remove(i);
            }
        }
    }
    if validator == POSTGRESQL_FDW_VALIDATOR {
        postgresql_fdw_validator(&out, context)?;
    }
    Ok(out)
}

/// The built-in validator's rules: libpq's connection options, the user
/// ones in user mappings and the others in servers; none elsewhere.
fn postgresql_fdw_validator(opts: &[(String, String)], context: u32) -> Result<(), PgError> {
    const SERVER: &[&str] = &[
        "authtype",
        "service",
        "connect_timeout",
        "dbname",
        "host",
        "hostaddr",
        "port",
        "tty",
        "options",
        "requiressl",
        "sslmode",
        "gsslib",
    ];
    const MAPPING: &[&str] = &["user", "password"];
    let valid: &[&str] = match context {
        PG_FOREIGN_SERVER => SERVER,
        PG_USER_MAPPING => MAPPING,
        _ => &[],
    };
    for (name, _) in opts {
        if !valid.contains(&name.as_str()) {
            let e = err(sqlstate::SYNTAX_ERROR, format!("invalid option \"{name}\""));
            return Err(if valid.is_empty() {
                e.with_hint("There are no valid options in this context.")
            } else {
                e.with_hint(format!(
                    "Valid options in this context are: {}",
                    valid.join(", ")
                ))
            });
        }
    }
    Ok(())
}

/// A wrapper's row: (oid, owner, handler, validator, acl text, options).
struct Wrapper {
    oid: u32,
    owner: u32,
    handler: u32,
    validator: u32,
    acl: Option<String>,
    options: Vec<(String, String)>,
}

fn wrapper_by_name(host: &mut dyn Host, name: &str) -> Result<Option<Wrapper>, PgError> {
    let rows = q(
        host,
        "SELECT oid, fdwowner, fdwhandler, fdwvalidator, fdwacl::text, fdwoptions \
         FROM pg_catalog.pg_foreign_data_wrapper WHERE fdwname = $1",
        &[types::TEXT],
        vec![Value::Text(name.to_string())],
    )?;
    Ok(rows.first().map(|r| Wrapper {
        oid: oid_of(r.first()),
        owner: oid_of(r.get(1)),
        handler: oid_of(r.get(2)),
        validator: oid_of(r.get(3)),
        acl: text_of(r.get(4)),
        options: options_of(r.get(5)),
    }))
}

fn wrapper_by_oid(host: &mut dyn Host, oid: u32) -> Result<(String, Wrapper), PgError> {
    let rows = q(
        host,
        "SELECT fdwname::text FROM pg_catalog.pg_foreign_data_wrapper WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    let name = text_of(rows.first().and_then(|r| r.first())).unwrap_or_default();
    let w = wrapper_by_name(host, &name)?.ok_or_else(|| {
        err(
            sqlstate::INTERNAL_ERROR,
            format!("cache lookup failed for foreign-data wrapper {oid}"),
        )
    })?;
    Ok((name, w))
}

fn no_wrapper(name: &str) -> PgError {
    err(
        sqlstate::UNDEFINED_OBJECT,
        format!("foreign-data wrapper \"{name}\" does not exist"),
    )
}

struct Server {
    oid: u32,
    owner: u32,
    wrapper: u32,
    acl: Option<String>,
    options: Vec<(String, String)>,
}

fn server_by_name(host: &mut dyn Host, name: &str) -> Result<Option<Server>, PgError> {
    let rows = q(
        host,
        "SELECT oid, srvowner, srvfdw, srvacl::text, srvoptions \
         FROM pg_catalog.pg_foreign_server WHERE srvname = $1",
        &[types::TEXT],
        vec![Value::Text(name.to_string())],
    )?;
    Ok(rows.first().map(|r| Server {
        oid: oid_of(r.first()),
        owner: oid_of(r.get(1)),
        wrapper: oid_of(r.get(2)),
        acl: text_of(r.get(3)),
        options: options_of(r.get(4)),
    }))
}

fn no_server(name: &str) -> PgError {
    err(
        sqlstate::UNDEFINED_OBJECT,
        format!("server \"{name}\" does not exist"),
    )
}

fn server_or_err(host: &mut dyn Host, name: &str) -> Result<Server, PgError> {
    server_by_name(host, name)?.ok_or_else(|| no_server(name))
}

fn is_superuser(host: &dyn Host, roles: &RoleSet, oid: u32) -> bool {
    let _ = host;
    roles.by_oid(oid).is_some_and(|r| r.superuser)
}

/// The current role's OID and whether it is a superuser (the session's
/// flag, as SET ROLE leaves it, or the role's own).
fn me(host: &dyn Host, roles: &RoleSet) -> Result<(u32, bool), PgError> {
    let oid = acl::current_user_oid(host)?;
    Ok((oid, is_superuser(host, roles, oid)))
}

/// Whether `role` holds USAGE on an object with this ACL and owner.
fn has_usage(acl_text: Option<&str>, owner: u32, role: u32, roles: &RoleSet) -> bool {
    if is_superuser_oid(roles, role) || roles.has_privs_of(role, owner) {
        return true;
    }
    let Some(items) = acl_text.and_then(acl::parse_stored) else {
        return false;
    };
    acl::mask(&items, acl::ObjType::ForeignServer, role, owner, roles) & acl::USAGE != 0
}

pub(crate) fn is_superuser_oid(roles: &RoleSet, oid: u32) -> bool {
    roles.by_oid(oid).is_some_and(|r| r.superuser)
}

pub(crate) fn not_owner(what: &str, name: &str) -> PgError {
    err(
        sqlstate::INSUFFICIENT_PRIVILEGE,
        format!("must be owner of {what} {name}"),
    )
}

/// The role a MapUser names: 0 for PUBLIC; Err for a missing role.
pub(crate) fn map_user_oid(
    host: &dyn Host,
    roles: &RoleSet,
    u: &MapUser,
) -> Result<Result<u32, String>, PgError> {
    Ok(match u {
        MapUser::Public => Ok(0),
        MapUser::CurrentUser => Ok(acl::current_user_oid(host)?),
        MapUser::SessionUser => roles
            .by_name(&host.identity().session_user)
            .map(|r| r.oid)
            .ok_or_else(|| host.identity().session_user.clone()),
        MapUser::Role(n) => roles.by_name(n).map(|r| r.oid).ok_or_else(|| n.clone()),
    })
}

pub(crate) fn no_role(name: &str) -> PgError {
    err(
        sqlstate::UNDEFINED_OBJECT,
        format!("role \"{name}\" does not exist"),
    )
}

fn mapping_user_name(roles: &RoleSet, oid: u32) -> String {
    if oid == 0 {
        "public".to_string()
    } else {
        roles.name_of(oid)
    }
}

/// Looks up a handler function (no arguments, returning fdw_handler).
fn handler_oid(host: &mut dyn Host, name: &Option<Vec<String>>) -> Result<u32, PgError> {
    let Some(parts) = name else {
        return Ok(0);
    };
    let fname = parts.last().cloned().unwrap_or_default();
    let rows = q(
        host,
        "SELECT oid, prorettype FROM pg_catalog.pg_proc WHERE proname = $1 AND pronargs = 0",
        &[types::TEXT],
        vec![Value::Text(fname.clone())],
    )?;
    let Some(r) = rows.first() else {
        return Err(err(
            sqlstate::UNDEFINED_FUNCTION,
            format!("function {}() does not exist", parts.join(".")),
        ));
    };
    if oid_of(r.get(1)) != FDW_HANDLER {
        return Err(err(
            sqlstate::WRONG_OBJECT_TYPE,
            format!("function {} must return type fdw_handler", parts.join(".")),
        ));
    }
    Ok(oid_of(r.first()))
}

/// Looks up a validator function (text[], oid).
fn validator_oid(host: &mut dyn Host, name: &Option<Vec<String>>) -> Result<u32, PgError> {
    let Some(parts) = name else {
        return Ok(0);
    };
    let fname = parts.last().cloned().unwrap_or_default();
    if fname == "postgresql_fdw_validator" && (parts.len() == 1 || parts[0] == "pg_catalog") {
        return Ok(POSTGRESQL_FDW_VALIDATOR);
    }
    let rows = q(
        host,
        "SELECT oid FROM pg_catalog.pg_proc WHERE proname = $1 AND pronargs = 2",
        &[types::TEXT],
        vec![Value::Text(fname)],
    )?;
    match rows.first() {
        Some(r) => Ok(oid_of(r.first())),
        None => Err(err(
            sqlstate::UNDEFINED_FUNCTION,
            format!("function {}(text[], oid) does not exist", parts.join(".")),
        )),
    }
}

/// Handler and validator as given: each looked up in order, a second
/// clause of either kind an error after the first lookups.
fn resolve_funcs(host: &mut dyn Host, f: &Funcs) -> Result<(Option<u32>, Option<u32>), PgError> {
    let h = match &f.handler {
        Some(n) => Some(handler_oid(host, n)?),
        None => None,
    };
    let v = match &f.validator {
        Some(n) => Some(validator_oid(host, n)?),
        None => None,
    };
    if f.duplicate {
        return Err(err(
            sqlstate::SYNTAX_ERROR,
            "conflicting or redundant options".to_string(),
        ));
    }
    Ok((h, v))
}

/// The OID of the wrapper or server (by its catalog's OID) called
/// `name`, with PostgreSQL's error when there is none (COMMENT ON).
pub(crate) fn object_oid(host: &mut dyn Host, class: u32, name: &str) -> Result<u32, PgError> {
    if class == crate::publication::PG_PUBLICATION {
        return crate::publication::object_oid(host, name);
    }
    if class == crate::subscription::PG_SUBSCRIPTION {
        return crate::subscription::object_oid(host, name);
    }
    if class == PG_FOREIGN_SERVER {
        Ok(server_or_err(host, name)?.oid)
    } else {
        Ok(wrapper_by_name(host, name)?
            .ok_or_else(|| no_wrapper(name))?
            .oid)
    }
}

/// GRANT/REVOKE USAGE on wrappers or servers: acl.rs's rules (grant
/// options, best grantor, its warnings) over the object's fdwacl/srvacl.
fn run_grant(
    host: &mut dyn Host,
    roles: &RoleSet,
    me: u32,
    stmt: &acl::GrantStmt,
    kind: Kind,
    names: &[String],
) -> Result<(), PgError> {
    let mut grantees = Vec::new();
    for g in &stmt.grantees {
        grantees.push(g.oid(me, roles, &*host)?);
    }
    if stmt.grant && stmt.grant_option && grantees.contains(&0) {
        return Err(err(
            tusk_common::SqlState::new("0LP01"),
            "grant options can only be granted to roles".to_string(),
        ));
    }
    let objtype = match kind {
        Kind::Wrapper => acl::ObjType::ForeignDataWrapper,
        Kind::Server => acl::ObjType::ForeignServer,
    };
    for name in names {
        let (oid, owner, stored) = match kind {
            Kind::Wrapper => {
                let w = wrapper_by_name(host, name)?.ok_or_else(|| no_wrapper(name))?;
                (w.oid, w.owner, w.acl)
            }
            Kind::Server => {
                let s = server_or_err(host, name)?;
                (s.oid, s.owner, s.acl)
            }
        };
        let all = objtype.all_rights();
        let privs = if stmt.all { all } else { stmt.privs };
        if privs & !all != 0 {
            return Err(err(
                tusk_common::SqlState::new("0LP01"),
                format!(
                    "invalid privilege type {} for {}",
                    acl::priv_name(privs & !all),
                    acl::kind_word(objtype)
                ),
            ));
        }
        let mut list = acl::acl_of(stored.as_deref(), objtype, owner);
        let (grantor, can) = acl::best_grantor(&list, objtype, me, owner, privs, roles);
        if can == 0 && acl::mask(&list, objtype, me, owner, roles) & all == 0 {
            return Err(err(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied for {} {name}", acl::kind_word(objtype)),
            ));
        }
        if can != privs {
            let msg = match (stmt.grant, can == 0) {
                (true, true) => format!("no privileges were granted for \"{name}\""),
                (true, false) => format!("not all privileges were granted for \"{name}\""),
                (false, true) => format!("no privileges could be revoked for \"{name}\""),
                (false, false) => format!("not all privileges could be revoked for \"{name}\""),
            };
            let code = if stmt.grant { "01007" } else { "01006" };
            host.notice(PgError::new(
                Severity::Warning,
                tusk_common::SqlState::new(code),
                msg,
            ));
        }
        for &g in &grantees {
            if can == 0 {
                // Nothing to grant or revoke: the ACL stays as it is.
                break;
            }
            if stmt.grant {
                acl::add(&mut list, g, grantor, can, stmt.grant_option);
            } else {
                acl::remove(
                    &mut list,
                    g,
                    grantor,
                    can,
                    stmt.grant_option,
                    stmt.cascade,
                    owner,
                )?;
            }
        }
        let (table, col) = match kind {
            Kind::Wrapper => ("pg_foreign_data_wrapper", "fdwacl"),
            Kind::Server => ("pg_foreign_server", "srvacl"),
        };
        q(
            host,
            &format!("UPDATE pg_catalog.{table} SET {col} = $2 WHERE oid = $1"),
            &[types::OID, ACLITEM_ARRAY],
            vec![Value::Oid(oid), Value::Text(acl::to_stored(&list))],
        )?;
    }
    Ok(())
}

/// The server a foreign table names: (its OID, its wrapper's validator),
/// with USAGE on it required as PostgreSQL requires it.
pub(crate) fn server_for_table(host: &mut dyn Host, name: &str) -> Result<(u32, u32), PgError> {
    let s = server_or_err(host, name)?;
    let roles = host.acl_roles()?;
    let me = acl::current_user_oid(host)?;
    if !has_usage(s.acl.as_deref(), s.owner, me, &roles) {
        return Err(err(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("permission denied for foreign server {name}"),
        ));
    }
    let (_, w) = wrapper_by_oid(host, s.wrapper)?;
    Ok((s.oid, w.validator))
}

/// The validator of server `srv`'s wrapper (0 for none).
pub(crate) fn server_validator(host: &mut dyn Host, srv: u32) -> Result<u32, PgError> {
    let rows = q(
        host,
        "SELECT w.fdwvalidator FROM pg_catalog.pg_foreign_server s \
         JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw WHERE s.oid = $1",
        &[types::OID],
        vec![Value::Oid(srv)],
    )?;
    Ok(oid_of(rows.first().and_then(|r| r.first())))
}

/// A stored options array as (name, value) pairs.
pub(crate) fn stored_options(v: Option<&Value>) -> OptionList {
    options_of(v)
}

/// Existing options `old` changed by `items`, checked by `validator`.
pub(crate) fn transform_existing(
    old: OptionList,
    items: &[Opt],
    validator: u32,
    context: u32,
) -> Result<OptionList, PgError> {
    transform_options(old, items, validator, context)
}

/// A new object's options: `items` checked by `validator` in `context`.
pub(crate) fn transform(
    items: &[Opt],
    validator: u32,
    context: u32,
) -> Result<OptionList, PgError> {
    transform_options(Vec::new(), items, validator, context)
}

/// DROP ROLE's shared-dependency check for what this module keeps:
/// a role that owns or holds privileges on a wrapper or server, or has
/// a user mapping, cannot be dropped (2BP01 with PostgreSQL's DETAIL).
pub(crate) fn check_role_drop(host: &mut dyn Host, names: &[String]) -> Result<(), PgError> {
    let roles = host.acl_roles()?;
    for name in names {
        let Some(role) = roles.by_name(name).map(|r| r.oid) else {
            continue;
        };
        let mut deps = Vec::new();
        let mentions = |acl: &Option<String>| {
            acl.as_deref()
                .and_then(acl::parse_stored)
                .is_some_and(|items| {
                    items.iter().any(|i| {
                        (i.grantee == role || i.grantor == role)
                            && i.grantee != i.grantor
                            && i.privs != 0
                    })
                })
        };
        for (sql, noun) in [
            (
                "SELECT fdwname::text, fdwowner, fdwacl::text FROM pg_catalog.pg_foreign_data_wrapper ORDER BY oid",
                "foreign-data wrapper",
            ),
            (
                "SELECT srvname::text, srvowner, srvacl::text FROM pg_catalog.pg_foreign_server ORDER BY oid",
                "server",
            ),
        ] {
            for r in q(host, sql, &[], vec![])? {
                let obj = text_of(r.first()).unwrap_or_default();
                let acl = text_of(r.get(2));
                if oid_of(r.get(1)) == role {
                    deps.push(format!("owner of {noun} {obj}"));
                } else if mentions(&acl) {
                    deps.push(format!("privileges for {noun} {obj}"));
                }
            }
        }
        for r in q(
            host,
            "SELECT s.srvname::text FROM pg_catalog.pg_user_mapping m \
             JOIN pg_catalog.pg_foreign_server s ON s.oid = m.umserver \
             WHERE m.umuser = $1 ORDER BY m.oid",
            &[types::OID],
            vec![Value::Oid(role)],
        )? {
            let srv = text_of(r.first()).unwrap_or_default();
            deps.push(format!("owner of user mapping for {name} on server {srv}"));
        }
        if !deps.is_empty() {
            return Err(err(
                DEPENDENT_OBJECTS_STILL_EXIST,
                format!("role \"{name}\" cannot be dropped because some objects depend on it"),
            )
            .with_detail(deps.join("\n")));
        }
    }
    Ok(())
}

/// Run one statement.
pub(crate) fn run(stmt: &FdwStmt, host: &mut dyn Host) -> Result<(), PgError> {
    let roles = host.acl_roles()?;
    let (my_oid, superuser) = me(host, &roles)?;
    match stmt {
        FdwStmt::Grant { stmt, kind, names } => {
            run_grant(host, &roles, my_oid, stmt, *kind, names)?;
        }
        FdwStmt::CreateWrapper {
            name,
            funcs,
            options,
        } => {
            if !superuser {
                return Err(err(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!("permission denied to create foreign-data wrapper \"{name}\""),
                )
                .with_hint("Must be superuser to create a foreign-data wrapper."));
            }
            if wrapper_by_name(host, name)?.is_some() {
                return Err(err(
                    DUPLICATE_OBJECT,
                    format!("foreign-data wrapper \"{name}\" already exists"),
                ));
            }
            let (h, v) = resolve_funcs(host, funcs)?;
            let (h, v) = (h.unwrap_or(0), v.unwrap_or(0));
            let opts = transform_options(Vec::new(), options, v, PG_FOREIGN_DATA_WRAPPER)?;
            let oid = host.tables()?.new_catalog_oid()?;
            q(
                host,
                "INSERT INTO pg_catalog.pg_foreign_data_wrapper VALUES ($1, $2, $3, $4, $5, NULL, $6)",
                &[types::OID, types::TEXT, types::OID, types::OID, types::OID, TEXT_ARRAY],
                vec![
                    Value::Oid(oid),
                    Value::Text(name.clone()),
                    Value::Oid(my_oid),
                    Value::Oid(h),
                    Value::Oid(v),
                    options_value(&opts),
                ],
            )?;
        }
        FdwStmt::AlterWrapper {
            name,
            funcs,
            options,
        } => {
            if !superuser {
                return Err(err(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!("permission denied to alter foreign-data wrapper \"{name}\""),
                )
                .with_hint("Must be superuser to alter a foreign-data wrapper."));
            }
            let w = wrapper_by_name(host, name)?.ok_or_else(|| no_wrapper(name))?;
            let (h, v) = resolve_funcs(host, funcs)?;
            if h.is_some() {
                host.notice(warning(
                    "changing the foreign-data wrapper handler can change behavior of existing foreign tables",
                ));
            }
            if v.is_some_and(|v| v != 0) {
                host.notice(warning(
                    "changing the foreign-data wrapper validator can cause the options for dependent objects to become invalid",
                ));
            }
            let validator = v.unwrap_or(w.validator);
            let opts = if options.is_empty() {
                w.options.clone()
            } else {
                transform_options(
                    w.options.clone(),
                    options,
                    validator,
                    PG_FOREIGN_DATA_WRAPPER,
                )?
            };
            q(
                host,
                "UPDATE pg_catalog.pg_foreign_data_wrapper SET fdwhandler = $2, fdwvalidator = $3, \
                 fdwoptions = $4 WHERE oid = $1",
                &[types::OID, types::OID, types::OID, TEXT_ARRAY],
                vec![
                    Value::Oid(w.oid),
                    Value::Oid(h.unwrap_or(w.handler)),
                    Value::Oid(validator),
                    options_value(&opts),
                ],
            )?;
        }
        FdwStmt::CreateServer {
            name,
            if_not_exists,
            srvtype,
            version,
            wrapper,
            options,
        } => {
            if server_by_name(host, name)?.is_some() {
                if *if_not_exists {
                    host.notice(notice(format!(
                        "server \"{name}\" already exists, skipping"
                    )));
                    return Ok(());
                }
                return Err(err(
                    DUPLICATE_OBJECT,
                    format!("server \"{name}\" already exists"),
                ));
            }
            let w = wrapper_by_name(host, wrapper)?.ok_or_else(|| no_wrapper(wrapper))?;
            if !has_usage(w.acl.as_deref(), w.owner, my_oid, &roles) {
                return Err(err(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!("permission denied for foreign-data wrapper {wrapper}"),
                ));
            }
            let opts = transform_options(Vec::new(), options, w.validator, PG_FOREIGN_SERVER)?;
            let oid = host.tables()?.new_catalog_oid()?;
            let opt_text = |s: &Option<String>| s.clone().map(Value::Text).unwrap_or(Value::Null);
            q(
                host,
                "INSERT INTO pg_catalog.pg_foreign_server VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
                &[
                    types::OID,
                    types::TEXT,
                    types::OID,
                    types::OID,
                    types::TEXT,
                    types::TEXT,
                    TEXT_ARRAY,
                ],
                vec![
                    Value::Oid(oid),
                    Value::Text(name.clone()),
                    Value::Oid(my_oid),
                    Value::Oid(w.oid),
                    opt_text(srvtype),
                    opt_text(version),
                    options_value(&opts),
                ],
            )?;
        }
        FdwStmt::AlterServer {
            name,
            version,
            options,
        } => {
            let s = server_or_err(host, name)?;
            if !superuser && !roles.has_privs_of(my_oid, s.owner) {
                return Err(not_owner("foreign server", name));
            }
            if let Some(v) = version {
                q(
                    host,
                    "UPDATE pg_catalog.pg_foreign_server SET srvversion = $2 WHERE oid = $1",
                    &[types::OID, types::TEXT],
                    vec![
                        Value::Oid(s.oid),
                        v.clone().map(Value::Text).unwrap_or(Value::Null),
                    ],
                )?;
            }
            if !options.is_empty() {
                let (_, w) = wrapper_by_oid(host, s.wrapper)?;
                let opts = transform_options(s.options, options, w.validator, PG_FOREIGN_SERVER)?;
                q(
                    host,
                    "UPDATE pg_catalog.pg_foreign_server SET srvoptions = $2 WHERE oid = $1",
                    &[types::OID, TEXT_ARRAY],
                    vec![Value::Oid(s.oid), options_value(&opts)],
                )?;
            }
        }
        FdwStmt::Owner { kind, name, owner } => {
            let new = match map_user_oid(host, &roles, owner)? {
                Ok(0) => return Err(no_role("public")),
                Ok(o) => o,
                Err(n) => return Err(no_role(&n)),
            };
            match kind {
                Kind::Wrapper => {
                    let w = wrapper_by_name(host, name)?.ok_or_else(|| no_wrapper(name))?;
                    if !superuser {
                        return Err(err(
                            sqlstate::INSUFFICIENT_PRIVILEGE,
                            format!("permission denied to change owner of foreign-data wrapper \"{name}\""),
                        )
                        .with_hint("Must be superuser to change owner of a foreign-data wrapper."));
                    }
                    if !is_superuser_oid(&roles, new) {
                        return Err(err(
                            sqlstate::INSUFFICIENT_PRIVILEGE,
                            format!("permission denied to change owner of foreign-data wrapper \"{name}\""),
                        )
                        .with_hint("The owner of a foreign-data wrapper must be a superuser."));
                    }
                    let acl = new_owner_acl(w.acl.as_deref(), w.owner, new);
                    q(
                        host,
                        "UPDATE pg_catalog.pg_foreign_data_wrapper SET fdwowner = $2, fdwacl = $3 WHERE oid = $1",
                        &[types::OID, types::OID, ACLITEM_ARRAY],
                        vec![Value::Oid(w.oid), Value::Oid(new), acl],
                    )?;
                }
                Kind::Server => {
                    let s = server_or_err(host, name)?;
                    if s.owner != new {
                        if !superuser {
                            if !roles.has_privs_of(my_oid, s.owner) {
                                return Err(not_owner("foreign server", name));
                            }
                            if !roles.is_member_of(my_oid, new) {
                                return Err(err(
                                    sqlstate::INSUFFICIENT_PRIVILEGE,
                                    format!("must be member of role \"{}\"", roles.name_of(new)),
                                ));
                            }
                            let (wname, w) = wrapper_by_oid(host, s.wrapper)?;
                            if !has_usage(w.acl.as_deref(), w.owner, new, &roles) {
                                return Err(err(
                                    sqlstate::INSUFFICIENT_PRIVILEGE,
                                    format!("permission denied for foreign-data wrapper {wname}"),
                                ));
                            }
                        }
                        let acl = new_owner_acl(s.acl.as_deref(), s.owner, new);
                        q(
                            host,
                            "UPDATE pg_catalog.pg_foreign_server SET srvowner = $2, srvacl = $3 WHERE oid = $1",
                            &[types::OID, types::OID, ACLITEM_ARRAY],
                            vec![Value::Oid(s.oid), Value::Oid(new), acl],
                        )?;
                    }
                }
            }
        }
        FdwStmt::Rename { kind, name, to } => match kind {
            Kind::Wrapper => {
                let w = wrapper_by_name(host, name)?.ok_or_else(|| no_wrapper(name))?;
                if !superuser && !roles.has_privs_of(my_oid, w.owner) {
                    return Err(not_owner("foreign-data wrapper", name));
                }
                if wrapper_by_name(host, to)?.is_some() {
                    return Err(err(
                        DUPLICATE_OBJECT,
                        format!("foreign-data wrapper \"{to}\" already exists"),
                    ));
                }
                q(
                    host,
                    "UPDATE pg_catalog.pg_foreign_data_wrapper SET fdwname = $2 WHERE oid = $1",
                    &[types::OID, types::TEXT],
                    vec![Value::Oid(w.oid), Value::Text(to.clone())],
                )?;
            }
            Kind::Server => {
                let s = server_or_err(host, name)?;
                if !superuser && !roles.has_privs_of(my_oid, s.owner) {
                    return Err(not_owner("foreign server", name));
                }
                if server_by_name(host, to)?.is_some() {
                    return Err(err(
                        DUPLICATE_OBJECT,
                        format!("server \"{to}\" already exists"),
                    ));
                }
                q(
                    host,
                    "UPDATE pg_catalog.pg_foreign_server SET srvname = $2 WHERE oid = $1",
                    &[types::OID, types::TEXT],
                    vec![Value::Oid(s.oid), Value::Text(to.clone())],
                )?;
            }
        },
        FdwStmt::Drop {
            kind,
            names,
            if_exists,
            cascade,
        } => drop_objects(
            host, &roles, my_oid, superuser, *kind, names, *if_exists, *cascade,
        )?,
        FdwStmt::CreateMapping {
            if_not_exists,
            user,
            server,
            options,
        } => {
            let uid = map_user_oid(host, &roles, user)?.map_err(|n| no_role(&n))?;
            let s = server_or_err(host, server)?;
            mapping_acl_check(host, &roles, my_oid, superuser, uid, &s, server)?;
            if mapping_oid(host, uid, s.oid)?.is_some() {
                let uname = mapping_user_name(&roles, uid);
                if *if_not_exists {
                    host.notice(notice(format!(
                        "user mapping for \"{uname}\" already exists for server \"{server}\", skipping"
                    )));
                    return Ok(());
                }
                return Err(err(
                    DUPLICATE_OBJECT,
                    format!("user mapping for \"{uname}\" already exists for server \"{server}\""),
                ));
            }
            let (_, w) = wrapper_by_oid(host, s.wrapper)?;
            let opts = transform_options(Vec::new(), options, w.validator, PG_USER_MAPPING)?;
            let oid = host.tables()?.new_catalog_oid()?;
            q(
                host,
                "INSERT INTO pg_catalog.pg_user_mapping VALUES ($1, $2, $3, $4)",
                &[types::OID, types::OID, types::OID, TEXT_ARRAY],
                vec![
                    Value::Oid(oid),
                    Value::Oid(uid),
                    Value::Oid(s.oid),
                    options_value(&opts),
                ],
            )?;
        }
        FdwStmt::AlterMapping {
            user,
            server,
            options,
        } => {
            let uid = map_user_oid(host, &roles, user)?.map_err(|n| no_role(&n))?;
            let s = server_or_err(host, server)?;
            let Some((um, old)) = mapping_oid(host, uid, s.oid)? else {
                return Err(err(
                    sqlstate::UNDEFINED_OBJECT,
                    format!(
                        "user mapping for \"{}\" does not exist for server \"{server}\"",
                        mapping_user_name(&roles, uid)
                    ),
                ));
            };
            mapping_acl_check(host, &roles, my_oid, superuser, uid, &s, server)?;
            let (_, w) = wrapper_by_oid(host, s.wrapper)?;
            let opts = transform_options(old, options, w.validator, PG_USER_MAPPING)?;
            q(
                host,
                "UPDATE pg_catalog.pg_user_mapping SET umoptions = $2 WHERE oid = $1",
                &[types::OID, TEXT_ARRAY],
                vec![Value::Oid(um), options_value(&opts)],
            )?;
        }
        FdwStmt::DropMapping {
            if_exists,
            user,
            server,
        } => {
            let uid = match map_user_oid(host, &roles, user)? {
                Ok(u) => u,
                Err(n) if *if_exists => {
                    host.notice(notice(format!("role \"{n}\" does not exist, skipping")));
                    return Ok(());
                }
                Err(n) => return Err(no_role(&n)),
            };
            let s = match server_by_name(host, server)? {
                Some(s) => s,
                None if *if_exists => {
                    host.notice(notice(format!(
                        "server \"{server}\" does not exist, skipping"
                    )));
                    return Ok(());
                }
                None => return Err(no_server(server)),
            };
            let uname = mapping_user_name(&roles, uid);
            let Some((um, _)) = mapping_oid(host, uid, s.oid)? else {
                if *if_exists {
                    host.notice(notice(format!(
                        "user mapping for \"{uname}\" does not exist for server \"{server}\", skipping"
                    )));
                    return Ok(());
                }
                return Err(err(
                    sqlstate::UNDEFINED_OBJECT,
                    format!("user mapping for \"{uname}\" does not exist for server \"{server}\""),
                ));
            };
            mapping_acl_check(host, &roles, my_oid, superuser, uid, &s, server)?;
            delete_mapping(host, um)?;
        }
        FdwStmt::Import { server, into } => {
            let s = server_or_err(host, server)?;
            let (wname, w) = wrapper_by_oid(host, s.wrapper)?;
            let nsp = q(
                host,
                "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1",
                &[types::TEXT],
                vec![Value::Text(into.clone())],
            )?;
            if nsp.is_empty() {
                return Err(err(
                    crate::catalog::codes::INVALID_SCHEMA_NAME,
                    format!("schema \"{into}\" does not exist"),
                ));
            }
            let _ = w;
            return Err(err(
                sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("foreign-data wrapper \"{wname}\" has no handler"),
            ));
        }
    }
    Ok(())
}

/// The ACL after an owner change (PostgreSQL's aclnewowner), as the
/// stored text or NULL.
fn new_owner_acl(acl_text: Option<&str>, old: u32, new: u32) -> Value {
    match acl_text.and_then(acl::parse_stored) {
        Some(items) => Value::Text(acl::to_stored(&acl::new_owner(&items, old, new))),
        None => Value::Null,
    }
}

/// user_mapping_ddl_aclcheck: a server's owner may change any mapping of
/// it; a role its own mapping, given USAGE on the server.
fn mapping_acl_check(
    host: &mut dyn Host,
    roles: &RoleSet,
    my_oid: u32,
    superuser: bool,
    uid: u32,
    s: &Server,
    server: &str,
) -> Result<(), PgError> {
    let _ = host;
    if superuser || roles.has_privs_of(my_oid, s.owner) {
        return Ok(());
    }
    if uid == my_oid {
        if !has_usage(s.acl.as_deref(), s.owner, my_oid, roles) {
            return Err(err(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied for foreign server {server}"),
            ));
        }
        return Ok(());
    }
    Err(not_owner("foreign server", server))
}

fn mapping_oid(
    host: &mut dyn Host,
    uid: u32,
    srv: u32,
) -> Result<Option<(u32, OptionList)>, PgError> {
    let rows = q(
        host,
        "SELECT oid, umoptions FROM pg_catalog.pg_user_mapping WHERE umuser = $1 AND umserver = $2",
        &[types::OID, types::OID],
        vec![Value::Oid(uid), Value::Oid(srv)],
    )?;
    Ok(rows
        .first()
        .map(|r| (oid_of(r.first()), options_of(r.get(1)))))
}

fn delete_mapping(host: &mut dyn Host, um: u32) -> Result<(), PgError> {
    q(
        host,
        "DELETE FROM pg_catalog.pg_user_mapping WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(um)],
    )?;
    q(
        host,
        "DELETE FROM pg_catalog.pg_description WHERE objoid = $1 AND classoid = $2",
        &[types::OID, types::OID],
        vec![Value::Oid(um), Value::Oid(PG_USER_MAPPING)],
    )?;
    Ok(())
}

/// One object a DROP removes, with the words PostgreSQL's dependency
/// messages name it by.
struct Doomed {
    /// `server s1`, `user mapping for r on server s1`, `foreign table t`.
    desc: String,
    /// What it depends on (for RESTRICT's DETAIL).
    on: String,
    what: DoomedKind,
}

enum DoomedKind {
    Server(u32),
    Mapping(u32),
    ForeignTable(String),
}

/// The objects depending on server `srv` (its user mappings, then its
/// foreign tables), in OID order as PostgreSQL's dependency scan meets them.
fn server_dependents(
    host: &mut dyn Host,
    roles: &RoleSet,
    srv: u32,
    srvname: &str,
) -> Result<Vec<Doomed>, PgError> {
    let mut out = Vec::new();
    let rows = q(
        host,
        "SELECT oid, umuser FROM pg_catalog.pg_user_mapping WHERE umserver = $1 ORDER BY oid",
        &[types::OID],
        vec![Value::Oid(srv)],
    )?;
    for r in rows {
        out.push(Doomed {
            desc: format!(
                "user mapping for {} on server {srvname}",
                mapping_user_name(roles, oid_of(r.get(1)))
            ),
            on: format!("server {srvname}"),
            what: DoomedKind::Mapping(oid_of(r.first())),
        });
    }
    let rows = q(
        host,
        "SELECT c.oid, n.nspname::text, c.relname::text FROM pg_catalog.pg_foreign_table f \
         JOIN pg_catalog.pg_class c ON c.oid = f.ftrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE f.ftserver = $1 ORDER BY c.oid",
        &[types::OID],
        vec![Value::Oid(srv)],
    )?;
    for r in rows {
        let nsp = text_of(r.get(1)).unwrap_or_default();
        let rel = text_of(r.get(2)).unwrap_or_default();
        out.push(Doomed {
            desc: format!("foreign table {rel}"),
            on: format!("server {srvname}"),
            what: DoomedKind::ForeignTable(format!(
                "{}.{}",
                crate::utility::quote_identifier(&nsp),
                crate::utility::quote_identifier(&rel)
            )),
        });
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn drop_objects(
    host: &mut dyn Host,
    roles: &RoleSet,
    my_oid: u32,
    superuser: bool,
    kind: Kind,
    names: &[String],
    if_exists: bool,
    cascade: bool,
) -> Result<(), PgError> {
    // (oid, name, owner) of each named object that exists.
    let mut targets = Vec::new();
    for name in names {
        let found = match kind {
            Kind::Wrapper => wrapper_by_name(host, name)?.map(|w| (w.oid, w.owner)),
            Kind::Server => server_by_name(host, name)?.map(|s| (s.oid, s.owner)),
        };
        let (noun, word) = match kind {
            Kind::Wrapper => ("foreign-data wrapper", "foreign-data wrapper"),
            Kind::Server => ("server", "foreign server"),
        };
        match found {
            Some((oid, owner)) => {
                if !superuser && !roles.has_privs_of(my_oid, owner) {
                    return Err(not_owner(word, name));
                }
                targets.push((oid, name.clone()));
            }
            None if if_exists => host.notice(notice(format!(
                "{noun} \"{name}\" does not exist, skipping"
            ))),
            None => {
                return Err(err(
                    sqlstate::UNDEFINED_OBJECT,
                    format!("{noun} \"{name}\" does not exist"),
                ))
            }
        }
    }
    let mut doomed = Vec::new();
    for (oid, name) in &targets {
        match kind {
            Kind::Wrapper => {
                let rows = q(
                    host,
                    "SELECT oid, srvname::text FROM pg_catalog.pg_foreign_server WHERE srvfdw = $1 ORDER BY oid",
                    &[types::OID],
                    vec![Value::Oid(*oid)],
                )?;
                for r in rows {
                    let sname = text_of(r.get(1)).unwrap_or_default();
                    let soid = oid_of(r.first());
                    if targets.iter().any(|(_, n)| *n == sname) {
                        continue;
                    }
                    doomed.push(Doomed {
                        desc: format!("server {sname}"),
                        on: format!("foreign-data wrapper {name}"),
                        what: DoomedKind::Server(soid),
                    });
                    doomed.extend(server_dependents(host, roles, soid, &sname)?);
                }
            }
            Kind::Server => doomed.extend(server_dependents(host, roles, *oid, name)?),
        }
    }
    if !doomed.is_empty() {
        if !cascade {
            let detail = doomed
                .iter()
                .map(|d| format!("{} depends on {}", d.desc, d.on))
                .collect::<Vec<_>>()
                .join("\n");
            let msg = if targets.len() == 1 {
                let noun = match kind {
                    Kind::Wrapper => "foreign-data wrapper",
                    Kind::Server => "server",
                };
                format!(
                    "cannot drop {noun} {} because other objects depend on it",
                    targets[0].1
                )
            } else {
                "cannot drop desired object(s) because other objects depend on them".to_string()
            };
            return Err(err(DEPENDENT_OBJECTS_STILL_EXIST, msg)
                .with_detail(detail)
                .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        if doomed.len() == 1 {
            host.notice(notice(format!("drop cascades to {}", doomed[0].desc)));
        } else {
            let detail = doomed
                .iter()
                .map(|d| format!("drop cascades to {}", d.desc))
                .collect::<Vec<_>>()
                .join("\n");
            host.notice(
                notice(format!("drop cascades to {} other objects", doomed.len()))
                    .with_detail(detail),
            );
        }
        for d in doomed.iter().rev() {
            match &d.what {
                DoomedKind::Mapping(um) => delete_mapping(host, *um)?,
                DoomedKind::Server(s) => delete_object(host, PG_FOREIGN_SERVER, *s)?,
                DoomedKind::ForeignTable(name) => {
                    acl::unchecked(|| {
                        query(host, &format!("DROP FOREIGN TABLE {name}"), &[], vec![])
                    })?;
                }
            }
        }
    }
    for (oid, _) in &targets {
        let class = match kind {
            Kind::Wrapper => PG_FOREIGN_DATA_WRAPPER,
            Kind::Server => PG_FOREIGN_SERVER,
        };
        delete_object(host, class, *oid)?;
    }
    Ok(())
}

/// Removes a wrapper's or server's row and its description.
fn delete_object(host: &mut dyn Host, class: u32, oid: u32) -> Result<(), PgError> {
    let table = if class == PG_FOREIGN_DATA_WRAPPER {
        "pg_foreign_data_wrapper"
    } else {
        "pg_foreign_server"
    };
    q(
        host,
        &format!("DELETE FROM pg_catalog.{table} WHERE oid = $1"),
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    q(
        host,
        "DELETE FROM pg_catalog.pg_description WHERE objoid = $1 AND classoid = $2",
        &[types::OID, types::OID],
        vec![Value::Oid(oid), Value::Oid(class)],
    )?;
    let _ = PG_FOREIGN_TABLE;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrapper_server_and_mapping_statements() {
        let s = parse(
            "CREATE FOREIGN DATA WRAPPER foo VALIDATOR postgresql_fdw_validator OPTIONS (a '1')",
        )
        .unwrap();
        assert_eq!(
            s,
            FdwStmt::CreateWrapper {
                name: "foo".into(),
                funcs: Funcs {
                    handler: None,
                    validator: Some(Some(vec!["postgresql_fdw_validator".into()])),
                    duplicate: false
                },
                options: vec![Opt {
                    action: OptAction::Add,
                    name: "a".into(),
                    value: "1".into()
                }],
            }
        );
        assert!(parse("ALTER FOREIGN DATA WRAPPER foo").is_err());
        let s = parse("ALTER SERVER s OPTIONS (SET host 'x', DROP port, ADD dbname 'd')").unwrap();
        let FdwStmt::AlterServer { options, .. } = s else {
            panic!("not ALTER SERVER")
        };
        assert_eq!(
            options.iter().map(|o| &o.action).collect::<Vec<_>>(),
            [&OptAction::Set, &OptAction::Drop, &OptAction::Add]
        );
        let s = parse("DROP USER MAPPING IF EXISTS FOR public SERVER s").unwrap();
        assert_eq!(
            s,
            FdwStmt::DropMapping {
                if_exists: true,
                user: MapUser::Public,
                server: "s".into()
            }
        );
    }

    #[test]
    fn options_change_as_postgres_changes_them() {
        let add = |n: &str, v: &str| Opt {
            action: OptAction::Add,
            name: n.into(),
            value: v.into(),
        };
        let old = vec![("a".to_string(), "1".to_string()), ("b".into(), "2".into())];
        let e = transform_options(old.clone(), &[add("a", "3")], 0, 0).unwrap_err();
        assert_eq!(e.message, "option \"a\" provided more than once");
        let set = Opt {
            action: OptAction::Set,
            name: "c".into(),
            value: "4".into(),
        };
        let e = transform_options(old.clone(), &[set], 0, 0).unwrap_err();
        assert_eq!(e.message, "option \"c\" not found");
        let e = transform_options(
            Vec::new(),
            &[add("foo", "1")],
            POSTGRESQL_FDW_VALIDATOR,
            PG_USER_MAPPING,
        )
        .unwrap_err();
        assert_eq!(e.message, "invalid option \"foo\"");
    }
}
