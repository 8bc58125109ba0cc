//! CREATE / ALTER / DROP TEXT SEARCH DICTIONARY, CONFIGURATION, TEMPLATE and PARSER, kept in pg_ts_dict, pg_ts_config, pg_ts_config_map, pg_ts_template and pg_ts_parser as PostgreSQL keeps them.
//!
//! Why catalog DML through the SQL layer (as fdw.rs does): these objects
//! are rows and nothing else, so inserting and updating them with the
//! statement's transaction makes the DDL transactional for free, and
//! tsearch.rs reads the same rows when a configuration is used. A
//! dictionary's options are checked by building the dictionary
//! (tsdict.rs), as PostgreSQL calls the template's init function, so a
//! missing file or a bad option fails the CREATE or ALTER, not a later
//! query.
//!
//! Dependencies are read from the catalogs themselves (configurations
//! whose mappings name a dictionary or that use a parser, dictionaries of
//! a template) rather than from pg_depend: they are fixed by the rows'
//! own columns, so DROP ... CASCADE and RESTRICT list them from there.
//! Templates and parsers name C functions in PostgreSQL; tusk's are the
//! built-in ones ([`BUILTIN_PROCS`]), so only those can be named.
//!
//! Called by the backend running the statement.

use tusk_common::{sqlstate, PgError};

use crate::catalog::codes::{DEPENDENT_OBJECTS_STILL_EXIST, DUPLICATE_OBJECT};
use crate::fdw::{err, notice, oid_of, q, text_of, P};
use crate::host::Host;
use crate::role::{tokens, T};
use crate::tsdict::DictOpt;
use crate::types;
use crate::value::Value;

const PG_CATALOG: u32 = 11;

// Catalog reads as the system, without a command-counter step: lookups
// also run inside queries (tsearch.rs resolving a configuration), where
// a step would let the statement see its own changes.
use crate::tsearch::read as rq;

/// The built-in functions a template or parser row may name:
/// (pg_proc OID, name, argument count), PostgreSQL 15's.
pub(crate) const BUILTIN_PROCS: &[(u32, &str, usize)] = &[
    (3717, "prsd_start", 2),
    (3718, "prsd_nexttoken", 3),
    (3719, "prsd_end", 1),
    (3720, "prsd_headline", 3),
    (3721, "prsd_lextype", 1),
    (3725, "dsimple_init", 1),
    (3726, "dsimple_lexize", 4),
    (3728, "dsynonym_init", 1),
    (3729, "dsynonym_lexize", 4),
    (3731, "dispell_init", 1),
    (3732, "dispell_lexize", 4),
    (3740, "thesaurus_init", 1),
    (3741, "thesaurus_lexize", 4),
    (13148, "dsnowball_init", 1),
    (13149, "dsnowball_lexize", 4),
];

/// regproc / regprocedure output of a built-in text-search function.
pub(crate) fn builtin_proc_name(oid: u32, with_args: bool) -> Option<String> {
    let (_, name, n) = BUILTIN_PROCS.iter().find(|p| p.0 == oid)?;
    Some(if with_args {
        let args = match *name {
            "prsd_start" => "internal,integer".to_string(),
            "prsd_headline" => "internal,internal,tsquery".to_string(),
            _ => vec!["internal"; *n].join(","),
        };
        format!("{name}({args})")
    } else {
        name.to_string()
    })
}

/// The four kinds of text-search objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Dictionary,
    Configuration,
    Template,
    Parser,
}

impl Kind {
    pub(crate) fn word(self) -> &'static str {
        match self {
            Kind::Dictionary => "text search dictionary",
            Kind::Configuration => "text search configuration",
            Kind::Template => "text search template",
            Kind::Parser => "text search parser",
        }
    }
    /// (catalog, name column, namespace column, owner column).
    fn cols(
        self,
    ) -> (
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    ) {
        match self {
            Kind::Dictionary => ("pg_ts_dict", "dictname", "dictnamespace", Some("dictowner")),
            Kind::Configuration => ("pg_ts_config", "cfgname", "cfgnamespace", Some("cfgowner")),
            Kind::Template => ("pg_ts_template", "tmplname", "tmplnamespace", None),
            Kind::Parser => ("pg_ts_parser", "prsname", "prsnamespace", None),
        }
    }
    fn unique_index(self) -> &'static str {
        match self {
            Kind::Dictionary => "pg_ts_dict_dictname_index",
            Kind::Configuration => "pg_ts_config_cfgname_index",
            Kind::Template => "pg_ts_template_tmplname_index",
            Kind::Parser => "pg_ts_parser_prsname_index",
        }
    }
}

/// One `name = value` of a definition list (`None`: the name alone),
/// and whether the value is a number.
pub(crate) type Def = (String, Option<String>, bool);

/// How ALTER TEXT SEARCH CONFIGURATION changes the mappings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MapChange {
    /// ADD (`false`) or ALTER (`true`) MAPPING FOR tokens WITH dicts.
    Set(bool, Vec<String>, Vec<Vec<String>>),
    /// ALTER MAPPING [FOR tokens] REPLACE old WITH new.
    Replace(Option<Vec<String>>, Vec<String>, Vec<String>),
    /// DROP MAPPING [IF EXISTS] FOR tokens.
    Drop(bool, Vec<String>),
}

/// A parsed text-search statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TsStmt {
    Create(Kind, Vec<String>, Vec<Def>),
    AlterDict(Vec<String>, Vec<Def>),
    AlterMapping(Vec<String>, MapChange),
    Rename(Kind, Vec<String>, String),
    Owner(Kind, Vec<String>, String),
    SetSchema(Kind, Vec<String>, String),
    Drop(Kind, Vec<Vec<String>>, bool, bool),
}

impl TsStmt {
    pub(crate) fn tag(&self) -> &'static str {
        let (verb, k) = match self {
            TsStmt::Create(k, ..) => (0, *k),
            TsStmt::AlterDict(..) => (1, Kind::Dictionary),
            TsStmt::AlterMapping(..) => (1, Kind::Configuration),
            TsStmt::Rename(k, ..) | TsStmt::Owner(k, ..) | TsStmt::SetSchema(k, ..) => (1, *k),
            TsStmt::Drop(k, ..) => (2, *k),
        };
        const TAGS: [[&str; 4]; 3] = [
            [
                "CREATE TEXT SEARCH DICTIONARY",
                "CREATE TEXT SEARCH CONFIGURATION",
                "CREATE TEXT SEARCH TEMPLATE",
                "CREATE TEXT SEARCH PARSER",
            ],
            [
                "ALTER TEXT SEARCH DICTIONARY",
                "ALTER TEXT SEARCH CONFIGURATION",
                "ALTER TEXT SEARCH TEMPLATE",
                "ALTER TEXT SEARCH PARSER",
            ],
            [
                "DROP TEXT SEARCH DICTIONARY",
                "DROP TEXT SEARCH CONFIGURATION",
                "DROP TEXT SEARCH TEMPLATE",
                "DROP TEXT SEARCH PARSER",
            ],
        ];
        TAGS[verb][k as usize]
    }
}

/// Whether the leading words make a text-search statement.
pub(crate) fn is_ts_statement(w: &[&str]) -> bool {
    matches!(w, ["CREATE" | "ALTER" | "DROP", "TEXT", "SEARCH", ..])
}

fn kind(p: &mut P) -> Result<Kind, PgError> {
    Ok(if p.kw("DICTIONARY") {
        Kind::Dictionary
    } else if p.kw("CONFIGURATION") {
        Kind::Configuration
    } else if p.kw("TEMPLATE") {
        Kind::Template
    } else if p.kw("PARSER") {
        Kind::Parser
    } else {
        return Err(p.err());
    })
}

/// `( name [= value], ... )`: values as defGetString gives them.
fn definition(p: &mut P) -> Result<Vec<Def>, PgError> {
    if !p.punct("(") {
        return Err(p.err());
    }
    let mut out = Vec::new();
    loop {
        let name = p.name()?;
        let mut num = false;
        let value = if p.punct("=") {
            Some(match p.peek() {
                Some(T::Str(_)) => p.string()?,
                Some(T::Num(n)) => {
                    let n = n.clone();
                    p.i += 1;
                    num = true;
                    n
                }
                Some(T::Other(o)) if o == "-" => {
                    p.i += 1;
                    match p.peek() {
                        Some(T::Num(n)) => {
                            let n = format!("-{n}");
                            p.i += 1;
                            num = true;
                            n
                        }
                        _ => return Err(p.err()),
                    }
                }
                _ => p.dotted()?.join("."),
            })
        } else {
            None
        };
        out.push((name, value, num));
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

fn name_list(p: &mut P) -> Result<Vec<String>, PgError> {
    let mut out = vec![p.name()?];
    while matches!(p.peek(), Some(T::Comma)) {
        p.i += 1;
        out.push(p.name()?);
    }
    Ok(out)
}

fn dotted_list(p: &mut P) -> Result<Vec<Vec<String>>, PgError> {
    let mut out = vec![p.dotted()?];
    while matches!(p.peek(), Some(T::Comma)) {
        p.i += 1;
        out.push(p.dotted()?);
    }
    Ok(out)
}

pub(crate) fn parse(sql: &str) -> Result<TsStmt, PgError> {
    let mut p = P {
        t: tokens(sql)?,
        i: 0,
    };
    let verb = p.name()?;
    p.expect("TEXT")?;
    p.expect("SEARCH")?;
    let k = kind(&mut p)?;
    let stmt = match verb.as_str() {
        "create" => {
            let name = p.dotted()?;
            let defs = definition(&mut p)?;
            TsStmt::Create(k, name, defs)
        }
        "drop" => {
            let if_exists = if p.kw("IF") {
                p.expect("EXISTS")?;
                true
            } else {
                false
            };
            let names = dotted_list(&mut p)?;
            let cascade = if p.kw("CASCADE") {
                true
            } else {
                p.kw("RESTRICT");
                false
            };
            TsStmt::Drop(k, names, if_exists, cascade)
        }
        _ => {
            let name = p.dotted()?;
            if p.kw("RENAME") {
                p.expect("TO")?;
                TsStmt::Rename(k, name, p.name()?)
            } else if matches!(k, Kind::Dictionary | Kind::Configuration) && p.kw("OWNER") {
                p.expect("TO")?;
                let role = match p.peek() {
                    Some(T::Word(w, _))
                        if w == "CURRENT_USER" || w == "SESSION_USER" || w == "CURRENT_ROLE" =>
                    {
                        let w = w.clone();
                        p.i += 1;
                        w
                    }
                    _ => p.name()?,
                };
                TsStmt::Owner(k, name, role)
            } else if p.kw("SET") {
                p.expect("SCHEMA")?;
                TsStmt::SetSchema(k, name, p.name()?)
            } else if k == Kind::Dictionary && matches!(p.peek(), Some(T::Other(o)) if o == "(") {
                TsStmt::AlterDict(name, definition(&mut p)?)
            } else if k == Kind::Configuration && p.kw("ADD") {
                p.expect("MAPPING")?;
                p.expect("FOR")?;
                let toks = name_list(&mut p)?;
                p.expect("WITH")?;
                TsStmt::AlterMapping(name, MapChange::Set(false, toks, dotted_list(&mut p)?))
            } else if k == Kind::Configuration && p.kw("ALTER") {
                p.expect("MAPPING")?;
                let toks = if p.kw("FOR") {
                    Some(name_list(&mut p)?)
                } else {
                    None
                };
                if p.kw("REPLACE") {
                    let old = p.dotted()?;
                    p.expect("WITH")?;
                    TsStmt::AlterMapping(name, MapChange::Replace(toks, old, p.dotted()?))
                } else {
                    let Some(toks) = toks else {
                        return Err(p.err());
                    };
                    p.expect("WITH")?;
                    TsStmt::AlterMapping(name, MapChange::Set(true, toks, dotted_list(&mut p)?))
                }
            } else if k == Kind::Configuration && p.kw("DROP") {
                p.expect("MAPPING")?;
                let if_exists = if p.kw("IF") {
                    p.expect("EXISTS")?;
                    true
                } else {
                    false
                };
                p.expect("FOR")?;
                TsStmt::AlterMapping(name, MapChange::Drop(if_exists, name_list(&mut p)?))
            } else {
                return Err(p.err());
            }
        }
    };
    p.end()?;
    Ok(stmt)
}

/// A found object: OID, name, namespace, owner (0 for templates and
/// parsers, which have none).
#[derive(Debug, Clone)]
pub(crate) struct Obj {
    pub oid: u32,
    pub name: String,
    pub nsp: u32,
    pub owner: u32,
}

fn nsp_oid(host: &mut dyn Host, name: &str) -> Result<Option<u32>, PgError> {
    let rows = rq(
        host,
        "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1",
        &[types::TEXT],
        vec![Value::Text(name.to_string())],
    )?;
    Ok(rows.first().map(|r| oid_of(r.first())))
}

fn nsp_name(host: &mut dyn Host, oid: u32) -> Result<String, PgError> {
    let rows = rq(
        host,
        "SELECT nspname::text FROM pg_catalog.pg_namespace WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    Ok(text_of(rows.first().and_then(|r| r.first())).unwrap_or_default())
}

fn no_schema(name: &str) -> PgError {
    err(
        crate::catalog::codes::INVALID_SCHEMA_NAME,
        format!("schema \"{name}\" does not exist"),
    )
}

/// The namespaces an unqualified text-search name is looked up in:
/// search_path without the temporary schema (PostgreSQL never looks for
/// these objects there).
fn lookup_path(host: &mut dyn Host) -> Result<Vec<u32>, PgError> {
    let temp = host.tables().ok().and_then(|t| t.my_temp_namespace());
    Ok(crate::sysinfo::search_path(host)?
        .into_iter()
        .filter(|o| Some(*o) != temp)
        .collect())
}

fn obj_in(host: &mut dyn Host, k: Kind, nsp: u32, name: &str) -> Result<Option<Obj>, PgError> {
    let (cat, ncol, nspcol, owner) = k.cols();
    let sql = format!(
        "SELECT oid, {} FROM pg_catalog.{cat} WHERE {ncol} = $1 AND {nspcol} = $2",
        owner.unwrap_or("0::oid")
    );
    let rows = rq(
        host,
        &sql,
        &[types::TEXT, types::OID],
        vec![Value::Text(name.to_string()), Value::Oid(nsp)],
    )?;
    Ok(rows.first().map(|r| Obj {
        oid: oid_of(r.first()),
        name: name.to_string(),
        nsp,
        owner: oid_of(r.get(1)),
    }))
}

/// The object a possibly qualified name denotes, or None.
pub(crate) fn find(host: &mut dyn Host, k: Kind, names: &[String]) -> Result<Option<Obj>, PgError> {
    match names {
        [n] => {
            for nsp in lookup_path(host)? {
                if let Some(o) = obj_in(host, k, nsp, n)? {
                    return Ok(Some(o));
                }
            }
            Ok(None)
        }
        [s, n] => match nsp_oid(host, s)? {
            Some(nsp) => obj_in(host, k, nsp, n),
            None => Err(no_schema(s)),
        },
        _ => Err(err(
            sqlstate::SYNTAX_ERROR,
            format!(
                "improper qualified name (too many dotted names): {}",
                names.join(".")
            ),
        )),
    }
}

pub(crate) fn missing(k: Kind, names: &[String]) -> PgError {
    err(
        sqlstate::UNDEFINED_OBJECT,
        format!("{} \"{}\" does not exist", k.word(), names.join(".")),
    )
}

pub(crate) fn get(host: &mut dyn Host, k: Kind, names: &[String]) -> Result<Obj, PgError> {
    find(host, k, names)?.ok_or_else(|| missing(k, names))
}

/// The namespace CREATE puts a name in: its schema, else the first
/// schema of search_path other than the implicit pg_catalog.
fn creation_nsp(host: &mut dyn Host, names: &[String]) -> Result<(u32, String), PgError> {
    match names {
        [s, n] => match nsp_oid(host, s)? {
            Some(o) => Ok((o, n.clone())),
            None => Err(no_schema(s)),
        },
        [n] => {
            let sp = host.show("search_path").unwrap_or_default();
            let explicit = sp.split(',').any(|i| i.trim() == "pg_catalog");
            let nsp = lookup_path(host)?
                .into_iter()
                .find(|&o| o != PG_CATALOG || explicit)
                .ok_or_else(|| {
                    err(
                        crate::catalog::codes::INVALID_SCHEMA_NAME,
                        "no schema has been selected to create in".into(),
                    )
                })?;
            Ok((nsp, n.clone()))
        }
        _ => Err(err(
            sqlstate::SYNTAX_ERROR,
            format!(
                "improper qualified name (too many dotted names): {}",
                names.join(".")
            ),
        )),
    }
}

fn duplicate_key(host: &mut dyn Host, k: Kind, name: &str, nsp: u32) -> Result<(), PgError> {
    if obj_in(host, k, nsp, name)?.is_some() {
        let col = k.cols().1;
        let nspcol = k.cols().2;
        return Err(err(
            sqlstate::UNIQUE_VIOLATION,
            format!(
                "duplicate key value violates unique constraint \"{}\"",
                k.unique_index()
            ),
        )
        .with_detail(format!(
            "Key ({col}, {nspcol})=({name}, {nsp}) already exists."
        )));
    }
    Ok(())
}

/// The current role and whether it is a superuser.
fn me(host: &dyn Host) -> Result<(u32, bool, crate::acl::RoleSet), PgError> {
    let roles = host.acl_roles()?;
    let oid = crate::acl::current_user_oid(host)?;
    let su = roles.by_oid(oid).is_some_and(|r| r.superuser);
    Ok((oid, su, roles))
}

fn check_owner(host: &dyn Host, k: Kind, o: &Obj) -> Result<(), PgError> {
    let (me, su, roles) = me(host)?;
    if su {
        return Ok(());
    }
    if k.cols().3.is_none() {
        return Err(err(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("must be superuser to alter {}s", k.word()),
        ));
    }
    if roles.has_privs_of(me, o.owner) {
        Ok(())
    } else {
        Err(crate::fdw::not_owner(k.word(), &o.name))
    }
}

/// Resolves a function named in a template or parser definition among
/// the built-in ones, with `nargs` internal arguments.
fn builtin_func(name: &str, nargs: usize, sig: &str) -> Result<u32, PgError> {
    let bare = name.strip_prefix("pg_catalog.").unwrap_or(name);
    BUILTIN_PROCS
        .iter()
        .find(|p| p.1 == bare && p.2 == nargs)
        .map(|p| p.0)
        .ok_or_else(|| {
            err(
                sqlstate::UNDEFINED_FUNCTION,
                format!("function {name}({sig}) does not exist"),
            )
        })
}

/// serialize_deflist: `name = 'value', ...`, quotes doubled and an E
/// prefix when a backslash is present.
pub(crate) fn serialize_options(defs: &[DictOpt]) -> Option<String> {
    if defs.is_empty() {
        return None;
    }
    let items: Vec<String> = defs
        .iter()
        .map(|(n, v, num)| {
            if *num {
                return format!("{n} = {v}");
            }
            let esc = v.replace('\'', "''").replace('\\', "\\\\");
            if v.contains('\\') {
                format!("{n} = E'{esc}'")
            } else {
                format!("{n} = '{esc}'")
            }
        })
        .collect();
    Some(items.join(", "))
}

/// The template's OID for a dictionary's `template` option.
fn template_oid(host: &mut dyn Host, name: &str) -> Result<u32, PgError> {
    let parts: Vec<String> = name.split('.').map(str::to_string).collect();
    Ok(get(host, Kind::Template, &parts)?.oid)
}

/// The implementation behind a template: the one its lexize function
/// names (a user template may reuse a built-in one's functions).
fn template_name(host: &mut dyn Host, oid: u32) -> Result<String, PgError> {
    let rows = rq(
        host,
        "SELECT tmpllexize::oid FROM pg_catalog.pg_ts_template WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    let lexize = oid_of(rows.first().and_then(|r| r.first()));
    Ok(crate::tsdict::template_impl(lexize)
        .unwrap_or_default()
        .to_string())
}

pub(crate) fn run(stmt: &TsStmt, host: &mut dyn Host) -> Result<(), PgError> {
    match stmt {
        TsStmt::Create(k, names, defs) => create(host, *k, names, defs),
        TsStmt::AlterDict(names, defs) => alter_dict(host, names, defs),
        TsStmt::AlterMapping(names, change) => alter_mapping(host, names, change),
        TsStmt::Rename(k, names, to) => {
            let o = get(host, *k, names)?;
            check_owner(host, *k, &o)?;
            if obj_in(host, *k, o.nsp, to)?.is_some() {
                let s = nsp_name(host, o.nsp)?;
                return Err(err(
                    DUPLICATE_OBJECT,
                    format!("{} \"{to}\" already exists in schema \"{s}\"", k.word()),
                ));
            }
            let (cat, ncol, ..) = k.cols();
            q(
                host,
                &format!("UPDATE pg_catalog.{cat} SET {ncol} = $2 WHERE oid = $1"),
                &[types::OID, types::TEXT],
                vec![Value::Oid(o.oid), Value::Text(to.clone())],
            )?;
            Ok(())
        }
        TsStmt::Owner(k, names, role) => {
            let o = get(host, *k, names)?;
            let (me, su, roles) = me(host)?;
            let new = match role.as_str() {
                "CURRENT_USER" | "CURRENT_ROLE" => me,
                "SESSION_USER" => {
                    let n = host.identity().session_user.clone();
                    roles.by_name(&n).map(|r| r.oid).unwrap_or(me)
                }
                r => roles
                    .by_name(r)
                    .map(|r| r.oid)
                    .ok_or_else(|| crate::fdw::no_role(r))?,
            };
            if new == o.owner {
                return Ok(());
            }
            if !su {
                if !roles.has_privs_of(me, o.owner) {
                    return Err(crate::fdw::not_owner(k.word(), &o.name));
                }
                if !roles.is_member_of(me, new) {
                    return Err(err(
                        sqlstate::INSUFFICIENT_PRIVILEGE,
                        format!("must be member of role \"{}\"", roles.name_of(new)),
                    ));
                }
            }
            let (cat, _, _, owner) = k.cols();
            q(
                host,
                &format!(
                    "UPDATE pg_catalog.{cat} SET {} = $2 WHERE oid = $1",
                    owner.unwrap_or("oid")
                ),
                &[types::OID, types::OID],
                vec![Value::Oid(o.oid), Value::Oid(new)],
            )?;
            Ok(())
        }
        TsStmt::SetSchema(k, names, schema) => {
            let o = get(host, *k, names)?;
            check_owner(host, *k, &o)?;
            let nsp = nsp_oid(host, schema)?.ok_or_else(|| no_schema(schema))?;
            if nsp == o.nsp {
                return Ok(());
            }
            if obj_in(host, *k, nsp, &o.name)?.is_some() {
                return Err(err(
                    DUPLICATE_OBJECT,
                    format!(
                        "{} \"{}\" already exists in schema \"{schema}\"",
                        k.word(),
                        o.name
                    ),
                ));
            }
            let (cat, _, nspcol, _) = k.cols();
            q(
                host,
                &format!("UPDATE pg_catalog.{cat} SET {nspcol} = $2 WHERE oid = $1"),
                &[types::OID, types::OID],
                vec![Value::Oid(o.oid), Value::Oid(nsp)],
            )?;
            Ok(())
        }
        TsStmt::Drop(k, names, if_exists, cascade) => drop(host, *k, names, *if_exists, *cascade),
    }
}

fn create(host: &mut dyn Host, k: Kind, names: &[String], defs: &[Def]) -> Result<(), PgError> {
    let (nsp, name) = creation_nsp(host, names)?;
    let (me, su, _) = me(host)?;
    match k {
        Kind::Dictionary => {
            let mut template = None;
            let mut opts: Vec<DictOpt> = Vec::new();
            for (n, v, num) in defs {
                if n == "template" {
                    template = Some(template_oid(host, v.as_deref().unwrap_or(""))?);
                } else {
                    opts.push((n.clone(), v.clone().unwrap_or_default(), *num));
                }
            }
            let template = template.ok_or_else(|| {
                err(
                    sqlstate::INVALID_OBJECT_DEFINITION,
                    "text search template is required".into(),
                )
            })?;
            let tname = template_name(host, template)?;
            crate::tsdict::Dictionary::build(host, &tname, &opts)?;
            duplicate_key(host, k, &name, nsp)?;
            let oid = host.tables()?.new_catalog_oid()?;
            q(
                host,
                "INSERT INTO pg_catalog.pg_ts_dict VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    types::OID,
                    types::TEXT,
                    types::OID,
                    types::OID,
                    types::OID,
                    types::TEXT,
                ],
                vec![
                    Value::Oid(oid),
                    Value::Text(name),
                    Value::Oid(nsp),
                    Value::Oid(me),
                    Value::Oid(template),
                    serialize_options(&opts).map_or(Value::Null, Value::Text),
                ],
            )?;
        }
        Kind::Configuration => {
            let mut parser = None;
            let mut copy = None;
            for (n, v, _) in defs {
                let v = v.clone().unwrap_or_default();
                let parts: Vec<String> = v.split('.').map(str::to_string).collect();
                match n.as_str() {
                    "parser" => parser = Some(get(host, Kind::Parser, &parts)?.oid),
                    "copy" => copy = Some(get(host, Kind::Configuration, &parts)?.oid),
                    _ => {
                        return Err(err(
                            sqlstate::SYNTAX_ERROR,
                            format!("text search configuration parameter \"{n}\" not recognized"),
                        ))
                    }
                }
            }
            if parser.is_some() && copy.is_some() {
                return Err(err(
                    sqlstate::SYNTAX_ERROR,
                    "cannot specify both PARSER and COPY options".into(),
                ));
            }
            let parser = match (parser, copy) {
                (Some(p), _) => p,
                (None, Some(c)) => {
                    let rows = rq(
                        host,
                        "SELECT cfgparser FROM pg_catalog.pg_ts_config WHERE oid = $1",
                        &[types::OID],
                        vec![Value::Oid(c)],
                    )?;
                    oid_of(rows.first().and_then(|r| r.first()))
                }
                (None, None) => {
                    return Err(err(
                        sqlstate::INVALID_OBJECT_DEFINITION,
                        "text search parser is required".into(),
                    ))
                }
            };
            duplicate_key(host, k, &name, nsp)?;
            let oid = host.tables()?.new_catalog_oid()?;
            q(
                host,
                "INSERT INTO pg_catalog.pg_ts_config VALUES ($1, $2, $3, $4, $5)",
                &[types::OID, types::TEXT, types::OID, types::OID, types::OID],
                vec![
                    Value::Oid(oid),
                    Value::Text(name),
                    Value::Oid(nsp),
                    Value::Oid(me),
                    Value::Oid(parser),
                ],
            )?;
            if let Some(c) = copy {
                q(
                    host,
                    "INSERT INTO pg_catalog.pg_ts_config_map \
                     SELECT $1, maptokentype, mapseqno, mapdict FROM pg_catalog.pg_ts_config_map \
                     WHERE mapcfg = $2 ORDER BY maptokentype, mapseqno",
                    &[types::OID, types::OID],
                    vec![Value::Oid(oid), Value::Oid(c)],
                )?;
            }
        }
        Kind::Template | Kind::Parser => {
            if !su {
                return Err(err(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!("must be superuser to create {}s", k.word()),
                ));
            }
            // (option, argument count, signature shown when missing)
            let slots: &[(&str, usize, &str)] = if k == Kind::Template {
                &[
                    ("init", 1, "internal"),
                    ("lexize", 4, "internal, internal, internal, internal"),
                ]
            } else {
                &[
                    ("start", 2, "internal, integer"),
                    ("gettoken", 3, "internal, internal, internal"),
                    ("end", 1, "internal"),
                    ("headline", 3, "internal, internal, tsquery"),
                    ("lextypes", 1, "internal"),
                ]
            };
            let mut funcs = vec![0u32; slots.len()];
            for (n, v, _) in defs {
                let Some(i) = slots.iter().position(|s| s.0 == n) else {
                    return Err(err(
                        sqlstate::SYNTAX_ERROR,
                        format!("{} parameter \"{n}\" not recognized", k.word()),
                    ));
                };
                funcs[i] = builtin_func(v.as_deref().unwrap_or(""), slots[i].1, slots[i].2)?;
            }
            let required: &[&str] = if k == Kind::Template {
                &["lexize"]
            } else {
                &["start", "gettoken", "end", "lextypes"]
            };
            for r in required {
                let i = slots.iter().position(|s| s.0 == *r).unwrap_or(0);
                if funcs[i] == 0 {
                    return Err(err(
                        sqlstate::INVALID_OBJECT_DEFINITION,
                        format!("{} {r} method is required", k.word()),
                    ));
                }
            }
            duplicate_key(host, k, &name, nsp)?;
            let oid = host.tables()?.new_catalog_oid()?;
            let mut vals = vec![Value::Oid(oid), Value::Text(name), Value::Oid(nsp)];
            let mut ptypes = vec![types::OID, types::TEXT, types::OID];
            for f in funcs {
                vals.push(Value::Oid(f));
                ptypes.push(types::OID);
            }
            let cat = k.cols().0;
            let params: Vec<String> = (1..=vals.len()).map(|i| format!("${i}")).collect();
            let sql = if k == Kind::Template {
                format!(
                    "INSERT INTO pg_catalog.{cat} VALUES ({})",
                    params.join(", ")
                )
            } else {
                // Parser columns: start, token, end, headline, lextype.
                format!("INSERT INTO pg_catalog.{cat} VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            };
            q(host, &sql, &ptypes, vals)?;
        }
    }
    Ok(())
}

/// The stored options of a dictionary, parsed back (deserialize_deflist).
pub(crate) fn parse_options(s: &str) -> Vec<DictOpt> {
    let mut out = Vec::new();
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < c.len() {
        while i < c.len() && (c[i].is_whitespace() || c[i] == ',') {
            i += 1;
        }
        let st = i;
        while i < c.len() && !c[i].is_whitespace() && c[i] != '=' {
            i += 1;
        }
        let name: String = c[st..i].iter().collect();
        while i < c.len() && (c[i].is_whitespace() || c[i] == '=') {
            i += 1;
        }
        let mut esc = false;
        if i < c.len() && c[i] == 'E' {
            esc = true;
            i += 1;
        }
        let mut v = String::new();
        let mut num = false;
        if i < c.len() && c[i] == '\'' {
            i += 1;
            while i < c.len() {
                if c[i] == '\'' {
                    if c.get(i + 1) == Some(&'\'') {
                        v.push('\'');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                if esc && c[i] == '\\' && i + 1 < c.len() {
                    v.push(c[i + 1]);
                    i += 2;
                    continue;
                }
                v.push(c[i]);
                i += 1;
            }
        } else {
            while i < c.len() && c[i] != ',' {
                v.push(c[i]);
                i += 1;
            }
            v = v.trim().to_string();
            num = v.parse::<f64>().is_ok();
        }
        if !name.is_empty() {
            out.push((name, v, num));
        }
    }
    out
}

fn alter_dict(host: &mut dyn Host, names: &[String], defs: &[Def]) -> Result<(), PgError> {
    let o = get(host, Kind::Dictionary, names)?;
    check_owner(host, Kind::Dictionary, &o)?;
    let rows = rq(
        host,
        "SELECT dicttemplate, dictinitoption FROM pg_catalog.pg_ts_dict WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(o.oid)],
    )?;
    let template = oid_of(rows.first().and_then(|r| r.first()));
    let mut opts = text_of(rows.first().and_then(|r| r.get(1)))
        .map(|s| parse_options(&s))
        .unwrap_or_default();
    for (n, v, num) in defs {
        opts.retain(|(o, _, _)| o != n);
        if let Some(v) = v {
            opts.push((n.clone(), v.clone(), *num));
        }
    }
    let tname = template_name(host, template)?;
    crate::tsdict::Dictionary::build(host, &tname, &opts)?;
    q(
        host,
        "UPDATE pg_catalog.pg_ts_dict SET dictinitoption = $2 WHERE oid = $1",
        &[types::OID, types::TEXT],
        vec![
            Value::Oid(o.oid),
            serialize_options(&opts).map_or(Value::Null, Value::Text),
        ],
    )?;
    Ok(())
}

/// The default parser's token type id for an alias.
fn token_id(alias: &str) -> Result<i32, PgError> {
    crate::tsearch::TOKEN_TYPES
        .iter()
        .position(|(a, _)| *a == alias)
        .map(|i| i as i32 + 1)
        .ok_or_else(|| {
            err(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("token type \"{alias}\" does not exist"),
            )
        })
}

fn alter_mapping(host: &mut dyn Host, names: &[String], change: &MapChange) -> Result<(), PgError> {
    let cfg = get(host, Kind::Configuration, names)?;
    check_owner(host, Kind::Configuration, &cfg)?;
    let dict_oid = |host: &mut dyn Host, d: &[String]| -> Result<u32, PgError> {
        Ok(get(host, Kind::Dictionary, d)?.oid)
    };
    match change {
        MapChange::Set(replace, toks, dicts) => {
            let mut ids = Vec::new();
            for t in toks {
                let id = token_id(t)?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            let mut doids = Vec::new();
            for d in dicts {
                doids.push(dict_oid(host, d)?);
            }
            for id in ids {
                // ALTER replaces a token's dictionaries; ADD on a mapped
                // token collides with its first entry, as PostgreSQL's
                // unique index on (mapcfg, maptokentype, mapseqno) does.
                q(
                    host,
                    "DELETE FROM pg_catalog.pg_ts_config_map WHERE mapcfg = $1 AND maptokentype = $2 \
                     AND $3",
                    &[types::OID, types::INT4, types::BOOL],
                    vec![Value::Oid(cfg.oid), Value::Int4(id), Value::Bool(*replace)],
                )?;
                if !*replace {
                    let existing = rq(
                        host,
                        "SELECT 1 FROM pg_catalog.pg_ts_config_map WHERE mapcfg = $1 AND maptokentype = $2",
                        &[types::OID, types::INT4],
                        vec![Value::Oid(cfg.oid), Value::Int4(id)],
                    )?;
                    if !existing.is_empty() {
                        return Err(err(
                            sqlstate::UNIQUE_VIOLATION,
                            "duplicate key value violates unique constraint \"pg_ts_config_map_index\"".into(),
                        )
                        .with_detail(format!(
                            "Key (mapcfg, maptokentype, mapseqno)=({}, {id}, 1) already exists.",
                            cfg.oid
                        )));
                    }
                }
                for (seq, d) in doids.iter().enumerate() {
                    q(
                        host,
                        "INSERT INTO pg_catalog.pg_ts_config_map VALUES ($1, $2, $3, $4)",
                        &[types::OID, types::INT4, types::INT4, types::OID],
                        vec![
                            Value::Oid(cfg.oid),
                            Value::Int4(id),
                            Value::Int4(seq as i32 + 1),
                            Value::Oid(*d),
                        ],
                    )?;
                }
            }
        }
        MapChange::Replace(toks, old, new) => {
            let old = dict_oid(host, old)?;
            let new = dict_oid(host, new)?;
            let ids = match toks {
                Some(t) => {
                    let mut ids = Vec::new();
                    for t in t {
                        ids.push(Value::Int4(token_id(t)?));
                    }
                    Some(ids)
                }
                None => None,
            };
            match ids {
                None => {
                    q(
                        host,
                        "UPDATE pg_catalog.pg_ts_config_map SET mapdict = $3 WHERE mapcfg = $1 AND mapdict = $2",
                        &[types::OID, types::OID, types::OID],
                        vec![Value::Oid(cfg.oid), Value::Oid(old), Value::Oid(new)],
                    )?;
                }
                Some(ids) => {
                    for id in ids {
                        q(
                            host,
                            "UPDATE pg_catalog.pg_ts_config_map SET mapdict = $3 \
                             WHERE mapcfg = $1 AND mapdict = $2 AND maptokentype = $4",
                            &[types::OID, types::OID, types::OID, types::INT4],
                            vec![Value::Oid(cfg.oid), Value::Oid(old), Value::Oid(new), id],
                        )?;
                    }
                }
            }
        }
        MapChange::Drop(if_exists, toks) => {
            let mut ids: Vec<(String, i32)> = Vec::new();
            for t in toks {
                let id = token_id(t)?;
                if !ids.iter().any(|(_, i)| *i == id) {
                    ids.push((t.clone(), id));
                }
            }
            for (t, id) in ids {
                let rows = q(
                    host,
                    "DELETE FROM pg_catalog.pg_ts_config_map WHERE mapcfg = $1 AND maptokentype = $2 RETURNING 1",
                    &[types::OID, types::INT4],
                    vec![Value::Oid(cfg.oid), Value::Int4(id)],
                )?;
                if rows.is_empty() {
                    if *if_exists {
                        host.notice(notice(format!(
                            "mapping for token type \"{t}\" does not exist, skipping"
                        )));
                    } else {
                        return Err(err(
                            sqlstate::UNDEFINED_OBJECT,
                            format!("mapping for token type \"{t}\" does not exist"),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// An object's name as getObjectDescription shows it: qualified unless
/// its schema is on search_path.
fn described(host: &mut dyn Host, k: Kind, o: &Obj) -> Result<String, PgError> {
    let visible = lookup_path(host)?.contains(&o.nsp)
        && find(host, k, std::slice::from_ref(&o.name))?.is_some_and(|f| f.oid == o.oid);
    Ok(if visible {
        format!("{} {}", k.word(), o.name)
    } else {
        format!("{} {}.{}", k.word(), nsp_name(host, o.nsp)?, o.name)
    })
}

/// The objects that depend on `o` directly: configurations using a
/// dictionary or parser, dictionaries of a template.
fn dependents(host: &mut dyn Host, k: Kind, o: &Obj) -> Result<Vec<(Kind, Obj)>, PgError> {
    let (sql, dk) = match k {
        Kind::Dictionary => (
            "SELECT DISTINCT c.oid, c.cfgname::text, c.cfgnamespace, c.cfgowner FROM pg_catalog.pg_ts_config c \
             JOIN pg_catalog.pg_ts_config_map m ON m.mapcfg = c.oid WHERE m.mapdict = $1 ORDER BY 1",
            Kind::Configuration,
        ),
        Kind::Parser => (
            "SELECT oid, cfgname::text, cfgnamespace, cfgowner FROM pg_catalog.pg_ts_config \
             WHERE cfgparser = $1 ORDER BY 1",
            Kind::Configuration,
        ),
        Kind::Template => (
            "SELECT oid, dictname::text, dictnamespace, dictowner FROM pg_catalog.pg_ts_dict \
             WHERE dicttemplate = $1 ORDER BY 1",
            Kind::Dictionary,
        ),
        Kind::Configuration => return Ok(Vec::new()),
    };
    let rows = rq(host, sql, &[types::OID], vec![Value::Oid(o.oid)])?;
    let mut out = Vec::new();
    for r in rows {
        let d = Obj {
            oid: oid_of(r.first()),
            name: text_of(r.get(1)).unwrap_or_default(),
            nsp: oid_of(r.get(2)),
            owner: oid_of(r.get(3)),
        };
        let deeper = dependents(host, dk, &d)?;
        out.push((dk, d));
        for x in deeper {
            if !out.iter().any(|(_, y)| y.oid == x.1.oid) {
                out.push(x);
            }
        }
    }
    Ok(out)
}

/// Removes one object's rows (a configuration's mappings with it).
pub(crate) fn remove(host: &mut dyn Host, k: Kind, oid: u32) -> Result<(), PgError> {
    let cat = k.cols().0;
    q(
        host,
        &format!("DELETE FROM pg_catalog.{cat} WHERE oid = $1"),
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    if k == Kind::Configuration {
        q(
            host,
            "DELETE FROM pg_catalog.pg_ts_config_map WHERE mapcfg = $1",
            &[types::OID],
            vec![Value::Oid(oid)],
        )?;
    }
    q(
        host,
        "DELETE FROM pg_catalog.pg_description WHERE objoid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    Ok(())
}

fn drop(
    host: &mut dyn Host,
    k: Kind,
    names: &[Vec<String>],
    if_exists: bool,
    cascade: bool,
) -> Result<(), PgError> {
    let mut found = Vec::new();
    for n in names {
        let o = match find(host, k, n) {
            Ok(Some(o)) => o,
            Ok(None) if if_exists => {
                host.notice(notice(format!(
                    "{} \"{}\" does not exist, skipping",
                    k.word(),
                    n.join(".")
                )));
                continue;
            }
            Err(e) if if_exists && e.code == crate::catalog::codes::INVALID_SCHEMA_NAME => {
                host.notice(notice(format!(
                    "schema \"{}\" does not exist, skipping",
                    n[0]
                )));
                continue;
            }
            Ok(None) => return Err(missing(k, n)),
            Err(e) => return Err(e),
        };
        if o.oid < crate::tsearch::FIRST_USER_OID {
            return Err(err(
                DEPENDENT_OBJECTS_STILL_EXIST,
                format!(
                    "cannot drop {} {} because it is required by the database system",
                    k.word(),
                    o.name
                ),
            ));
        }
        check_owner(host, k, &o)?;
        found.push(o);
    }
    for o in found {
        let deps = dependents(host, k, &o)?;
        if !deps.is_empty() {
            let me = described(host, k, &o)?;
            let mut lines = Vec::new();
            for (dk, d) in &deps {
                lines.push(described(host, *dk, d)?);
            }
            if !cascade {
                let detail: Vec<String> = lines
                    .iter()
                    .map(|l| format!("{l} depends on {me}"))
                    .collect();
                return Err(err(
                    DEPENDENT_OBJECTS_STILL_EXIST,
                    format!("cannot drop {me} because other objects depend on it"),
                )
                .with_detail(detail.join("\n"))
                .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
            }
            let lines: Vec<String> = lines
                .iter()
                .map(|l| format!("drop cascades to {l}"))
                .collect();
            host.notice(crate::dropschema::cascade_notice(&lines));
            for (dk, d) in deps.iter().rev() {
                remove(host, *dk, d.oid)?;
            }
        }
        remove(host, k, o.oid)?;
    }
    Ok(())
}

/// pg_ts_*_is_visible: whether the object's unqualified name finds it
/// along search_path; None for an OID that names nothing.
pub(crate) fn is_visible(host: &mut dyn Host, k: Kind, oid: u32) -> Result<Option<bool>, PgError> {
    let (cat, ncol, nspcol, _) = k.cols();
    let rows = rq(
        host,
        &format!("SELECT {ncol}::text, {nspcol} FROM pg_catalog.{cat} WHERE oid = $1"),
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let name = text_of(r.first()).unwrap_or_default();
    Ok(Some(find(host, k, &[name])?.is_some_and(|o| o.oid == oid)))
}

/// The text-search objects of a schema, for DROP SCHEMA: (OID, kind,
/// name).
pub(crate) fn schema_members(
    host: &mut dyn Host,
    nsp: u32,
) -> Result<Vec<(u32, Kind, String)>, PgError> {
    let mut out = Vec::new();
    for k in [
        Kind::Dictionary,
        Kind::Configuration,
        Kind::Template,
        Kind::Parser,
    ] {
        let (cat, ncol, nspcol, _) = k.cols();
        let rows = rq(
            host,
            &format!(
                "SELECT oid, {ncol}::text FROM pg_catalog.{cat} WHERE {nspcol} = $1 ORDER BY oid"
            ),
            &[types::OID],
            vec![Value::Oid(nsp)],
        )?;
        for r in rows {
            out.push((oid_of(r.first()), k, text_of(r.get(1)).unwrap_or_default()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_round_trip() {
        let o = vec![
            ("dictfile".to_string(), "ispell_sample".to_string(), false),
            ("x".to_string(), "it's\\".to_string(), false),
            ("casesensitive".to_string(), "1".to_string(), true),
        ];
        let s = serialize_options(&o).unwrap();
        assert_eq!(
            s,
            "dictfile = 'ispell_sample', x = E'it''s\\\\', casesensitive = 1"
        );
        assert_eq!(parse_options(&s), o);
    }

    #[test]
    fn parses_mapping_changes() {
        let s = parse("ALTER TEXT SEARCH CONFIGURATION c ALTER MAPPING REPLACE a WITH b").unwrap();
        assert_eq!(
            s,
            TsStmt::AlterMapping(
                vec!["c".into()],
                MapChange::Replace(None, vec!["a".into()], vec!["b".into()])
            )
        );
        let s = parse("DROP TEXT SEARCH DICTIONARY IF EXISTS a, s.b CASCADE").unwrap();
        assert_eq!(
            s,
            TsStmt::Drop(
                Kind::Dictionary,
                vec![vec!["a".into()], vec!["s".into(), "b".into()]],
                true,
                true
            )
        );
    }
}
