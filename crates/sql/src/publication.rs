//! Logical-replication publications: CREATE/ALTER/DROP PUBLICATION kept in pg_publication, pg_publication_rel and pg_publication_namespace as PostgreSQL keeps them.
//!
//! Why catalog DML through the SQL layer (as fdw.rs and comment.rs do):
//! a publication is rows only until a WAL sender decodes changes, which
//! tusk has not; psql's `\dRp+`, the "Publications:" footer of `\d+`
//! and pg_publication_tables read exactly these rows. The statement is
//! checked with PostgreSQL's rules and errors (options, superuser for
//! FOR ALL TABLES and FOR TABLES IN SCHEMA, which relations may be
//! published, membership on ADD and DROP) before any row is written.
//!
//! Not yet: column lists are checked for syntax but stored as NULL
//! (prattrs), row filters are stored as their SQL text (prqual) without
//! PostgreSQL's expression restrictions, inheritance children are not
//! added with their parent, and UPDATE/DELETE do not check replica
//! identity against published tables. Called by the backend running the
//! statement.

use tusk_common::{sqlstate, PgError, Severity};

use crate::acl;
use crate::catalog::codes::{DUPLICATE_OBJECT, WRONG_OBJECT_TYPE};
use crate::fdw::{err, map_user_oid, no_role, not_owner, oid_of, q, text_of, MapUser, P};
use crate::host::Host;
use crate::role::{tokens, T};
use crate::types;
use crate::value::Value;

/// pg_node_tree (prqual holds the filter's SQL text, as tusk's other
/// stored expressions do).
const PG_NODE_TREE: u32 = 194;
/// pg_publication's OID (the classoid of its descriptions).
pub(crate) const PG_PUBLICATION: u32 = 6104;

/// One table of a publication object list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PubTable {
    /// Dotted name parts.
    pub name: Vec<String>,
    pub columns: Option<Vec<String>>,
    /// The row filter's SQL text (inside its parentheses).
    pub filter: Option<String>,
}

/// TABLE ... and TABLES IN SCHEMA ... items.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Objects {
    pub tables: Vec<PubTable>,
    /// Schema names; None is CURRENT_SCHEMA.
    pub schemas: Vec<Option<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Add,
    Drop,
    Set,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PubStmt {
    Create {
        name: String,
        all_tables: bool,
        objects: Objects,
        options: Vec<(String, Option<String>)>,
    },
    AlterOptions {
        name: String,
        options: Vec<(String, Option<String>)>,
    },
    AlterObjects {
        name: String,
        action: Action,
        objects: Objects,
    },
    Owner {
        name: String,
        owner: MapUser,
    },
    Rename {
        name: String,
        to: String,
    },
    Drop {
        names: Vec<String>,
        if_exists: bool,
    },
}

impl PubStmt {
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            PubStmt::Create { .. } => "CREATE PUBLICATION",
            PubStmt::Drop { .. } => "DROP PUBLICATION",
            _ => "ALTER PUBLICATION",
        }
    }
}

pub(crate) fn is_publication_statement(w: &[&str]) -> bool {
    matches!(w, ["CREATE" | "ALTER" | "DROP", "PUBLICATION", ..])
}

/// The text of the tokens from `from` up to the matching `)` (the
/// opening `(` already taken), and the position after it.
fn paren_text(t: &[T], from: usize) -> Option<(String, usize)> {
    let mut depth = 1;
    let mut out = String::new();
    let mut i = from;
    while let Some(tok) = t.get(i) {
        match tok {
            T::Other(o) if o == "(" => depth += 1,
            T::Other(o) if o == ")" => {
                depth -= 1;
                if depth == 0 {
                    return Some((out.trim().to_string(), i + 1));
                }
            }
            _ => {}
        }
        let piece = match tok {
            T::Word(_, w) => w.clone(),
            T::Ident(s) => format!("\"{}\"", s.replace('"', "\"\"")),
            T::Str(s) => format!("'{}'", s.replace('\'', "''")),
            T::Num(n) => n.clone(),
            T::Comma => ",".to_string(),
            T::Other(o) => o.clone(),
        };
        if !out.is_empty() && !matches!(tok, T::Comma) && !out.ends_with('(') && piece != ")" {
            out.push(' ');
        }
        out.push_str(&piece);
        i += 1;
    }
    None
}

fn invalid_object_list() -> PgError {
    err(
        sqlstate::SYNTAX_ERROR,
        "invalid publication object list".to_string(),
    )
    .with_detail(
        "One of TABLE or TABLES IN SCHEMA must be specified before a standalone table or schema name.",
    )
}

/// publication_object [, ...]: each item after the first without a
/// keyword is of the kind of the one before it.
fn objects(p: &mut P) -> Result<Objects, PgError> {
    let mut out = Objects::default();
    let mut schema_kind: Option<bool> = None;
    loop {
        if p.kw("TABLES") {
            p.expect("IN")?;
            p.expect("SCHEMA")?;
            schema_kind = Some(true);
        } else if p.kw("TABLE") {
            schema_kind = Some(false);
        }
        match schema_kind {
            None => return Err(invalid_object_list()),
            Some(true) => {
                if p.kw("CURRENT_SCHEMA") {
                    out.schemas.push(None);
                } else {
                    let parts = p.dotted()?;
                    if parts.len() > 1 {
                        return Err(err(
                            sqlstate::SYNTAX_ERROR,
                            "invalid schema name".to_string(),
                        ));
                    }
                    out.schemas.push(parts.into_iter().next());
                }
                if matches!(p.peek(), Some(T::Other(o)) if o == "(") || p.kw("WHERE") {
                    return Err(p.err());
                }
            }
            Some(false) => {
                p.kw("ONLY");
                let name = p.dotted()?;
                p.punct("*");
                let mut columns = None;
                if p.punct("(") {
                    let mut cols = Vec::new();
                    loop {
                        cols.push(p.name()?);
                        if matches!(p.peek(), Some(T::Comma)) {
                            p.i += 1;
                            continue;
                        }
                        if p.punct(")") {
                            break;
                        }
                        return Err(p.err());
                    }
                    columns = Some(cols);
                }
                let mut filter = None;
                if p.kw("WHERE") {
                    if !p.punct("(") {
                        return Err(p.err());
                    }
                    let (text, next) = paren_text(&p.t, p.i).ok_or_else(|| p.err())?;
                    p.i = next;
                    // pg_get_expr shows a top-level expression in
                    // parentheses, as PostgreSQL's deparser does.
                    filter = Some(format!("({text})"));
                }
                out.tables.push(PubTable {
                    name,
                    columns,
                    filter,
                });
            }
        }
        if matches!(p.peek(), Some(T::Comma)) {
            p.i += 1;
            continue;
        }
        return Ok(out);
    }
}

pub(crate) fn parse(sql: &str) -> Result<PubStmt, PgError> {
    let mut p = P {
        t: tokens(sql)?,
        i: 0,
    };
    let verb = if p.kw("CREATE") {
        "CREATE"
    } else if p.kw("ALTER") {
        "ALTER"
    } else {
        p.expect("DROP")?;
        "DROP"
    };
    p.expect("PUBLICATION")?;
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
            if !p.kw("CASCADE") {
                p.kw("RESTRICT");
            }
            PubStmt::Drop { names, if_exists }
        }
        "CREATE" => {
            let name = p.name()?;
            let mut all_tables = false;
            let mut objs = Objects::default();
            if p.kw("FOR") {
                if p.kw("ALL") {
                    p.expect("TABLES")?;
                    all_tables = true;
                } else {
                    objs = objects(&mut p)?;
                }
            }
            let options = if p.kw("WITH") {
                crate::fdw::option_list(&mut p, false)?
            } else {
                Vec::new()
            };
            PubStmt::Create {
                name,
                all_tables,
                objects: objs,
                options,
            }
        }
        _ => {
            let name = p.name()?;
            if p.kw("OWNER") {
                p.expect("TO")?;
                PubStmt::Owner {
                    name,
                    owner: p.map_user()?,
                }
            } else if p.kw("RENAME") {
                p.expect("TO")?;
                PubStmt::Rename {
                    name,
                    to: p.name()?,
                }
            } else {
                let action = if p.kw("ADD") {
                    Action::Add
                } else if p.kw("DROP") {
                    Action::Drop
                } else {
                    p.expect("SET")?;
                    Action::Set
                };
                if action == Action::Set && matches!(p.peek(), Some(T::Other(o)) if o == "(") {
                    PubStmt::AlterOptions {
                        name,
                        options: crate::fdw::option_list(&mut p, false)?,
                    }
                } else {
                    PubStmt::AlterObjects {
                        name,
                        action,
                        objects: objects(&mut p)?,
                    }
                }
            }
        }
    };
    p.end()?;
    Ok(stmt)
}

/// The flags the options set: (insert, update, delete, truncate) when
/// publish was given, via_root when publish_via_partition_root was.
type Flags = (Option<[bool; 4]>, Option<bool>);

fn parse_options(options: &[(String, Option<String>)]) -> Result<Flags, PgError> {
    let mut publish = None;
    let mut via_root = None;
    for (name, value) in options {
        match name.as_str() {
            "publish" => {
                if publish.is_some() {
                    return Err(err(
                        sqlstate::SYNTAX_ERROR,
                        "conflicting or redundant options".to_string(),
                    ));
                }
                let mut f = [false; 4];
                let v = value.clone().unwrap_or_default();
                for item in v.split(',') {
                    match item.trim() {
                        "insert" => f[0] = true,
                        "update" => f[1] = true,
                        "delete" => f[2] = true,
                        "truncate" => f[3] = true,
                        "" if v.trim().is_empty() => {}
                        other => {
                            return Err(err(
                                sqlstate::SYNTAX_ERROR,
                                format!(
                                    "unrecognized value for publication option \"publish\": \"{other}\""
                                ),
                            ))
                        }
                    }
                }
                publish = Some(f);
            }
            "publish_via_partition_root" => {
                if via_root.is_some() {
                    return Err(err(
                        sqlstate::SYNTAX_ERROR,
                        "conflicting or redundant options".to_string(),
                    ));
                }
                via_root = Some(
                    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
                        None | Some("true" | "on" | "1" | "t" | "yes" | "y") => true,
                        Some("false" | "off" | "0" | "f" | "no" | "n") => false,
                        _ => {
                            return Err(err(
                                sqlstate::SYNTAX_ERROR,
                                format!("{name} requires a Boolean value"),
                            ))
                        }
                    },
                );
            }
            _ => {
                return Err(err(
                    sqlstate::SYNTAX_ERROR,
                    format!("unrecognized publication parameter: \"{name}\""),
                ))
            }
        }
    }
    Ok((publish, via_root))
}

struct Publication {
    oid: u32,
    owner: u32,
    all_tables: bool,
}

fn publication(host: &mut dyn Host, name: &str) -> Result<Option<Publication>, PgError> {
    let rows = q(
        host,
        "SELECT oid, pubowner, puballtables FROM pg_catalog.pg_publication WHERE pubname = $1",
        &[types::TEXT],
        vec![Value::Text(name.to_string())],
    )?;
    Ok(rows.first().map(|r| Publication {
        oid: oid_of(r.first()),
        owner: oid_of(r.get(1)),
        all_tables: matches!(r.get(2), Some(Value::Bool(true))),
    }))
}

fn no_publication(name: &str) -> PgError {
    err(
        sqlstate::UNDEFINED_OBJECT,
        format!("publication \"{name}\" does not exist"),
    )
}

/// A table of an object list resolved: (oid, name as written last part).
fn resolve_table(host: &mut dyn Host, t: &PubTable) -> Result<(u32, String), PgError> {
    let (schema, rel) = match t.name.as_slice() {
        [n] => (None, n.as_str()),
        [s, n] => (Some(s.as_str()), n.as_str()),
        _ => {
            return Err(err(
                sqlstate::SYNTAX_ERROR,
                format!(
                    "improper relation name (too many dotted names): {}",
                    t.name.join(".")
                ),
            ))
        }
    };
    // The catalog's own lookup: search_path with pg_temp, PostgreSQL's
    // 42P01 for a missing relation.
    let found = crate::catalog::lookup(&*host, schema, rel)?;
    let shown = t.name.last().cloned().unwrap_or_default();
    if !matches!(found.relkind, b'r' | b'p') {
        return Err(cannot_add(&shown, found.relkind));
    }
    let oid = found.table()?.oid;
    let rows = q(
        host,
        "SELECT relkind, relpersistence, relnamespace FROM pg_catalog.pg_class WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    let r = rows.first().cloned().unwrap_or_default();
    let ch = |v: Option<&Value>| match v {
        Some(Value::Char(c)) => *c,
        _ => 0,
    };
    let kind = ch(r.first());
    let persistence = ch(r.get(1));
    let nsp = oid_of(r.get(2));
    let detail = if !matches!(kind, b'r' | b'p') {
        return Err(cannot_add(&shown, kind));
    } else if nsp == 11 || nsp == 99 || oid < 16384 {
        Some("This operation is not supported for system tables.")
    } else if persistence == b't' {
        Some("This operation is not supported for temporary tables.")
    } else if persistence == b'u' {
        Some("This operation is not supported for unlogged tables.")
    } else {
        None
    };
    if let Some(d) = detail {
        return Err(err(
            WRONG_OBJECT_TYPE,
            format!("cannot add relation \"{shown}\" to publication"),
        )
        .with_detail(d));
    }
    Ok((oid, shown))
}

/// "cannot add relation" for a relation of a kind that cannot be
/// published, with PostgreSQL's DETAIL for the kind.
fn cannot_add(shown: &str, kind: u8) -> PgError {
    let d = match kind {
        b'v' => "This operation is not supported for views.",
        b'm' => "This operation is not supported for materialized views.",
        b'S' => "This operation is not supported for sequences.",
        b'f' => "This operation is not supported for foreign tables.",
        b'i' | b'I' => "This operation is not supported for indexes.",
        _ => "This operation is not supported for this relation.",
    };
    err(
        WRONG_OBJECT_TYPE,
        format!("cannot add relation \"{shown}\" to publication"),
    )
    .with_detail(d)
}

fn resolve_schema(host: &mut dyn Host, s: &Option<String>) -> Result<(u32, String), PgError> {
    let name = match s {
        Some(n) => n.clone(),
        None => {
            let rows = q(host, "SELECT current_schema()::text", &[], vec![])?;
            match text_of(rows.first().and_then(|r| r.first())) {
                Some(n) => n,
                None => {
                    return Err(err(
                        crate::catalog::codes::INVALID_SCHEMA_NAME,
                        "no schema has been selected for CURRENT_SCHEMA".to_string(),
                    ))
                }
            }
        }
    };
    let rows = q(
        host,
        "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1",
        &[types::TEXT],
        vec![Value::Text(name.clone())],
    )?;
    match rows.first() {
        Some(r) => Ok((oid_of(r.first()), name)),
        None => Err(err(
            crate::catalog::codes::INVALID_SCHEMA_NAME,
            format!("schema \"{name}\" does not exist"),
        )),
    }
}

fn add_table(
    host: &mut dyn Host,
    pubid: u32,
    relid: u32,
    filter: &Option<String>,
) -> Result<(), PgError> {
    let oid = host.tables()?.new_catalog_oid()?;
    q(
        host,
        "INSERT INTO pg_catalog.pg_publication_rel VALUES ($1, $2, $3, $4, NULL)",
        &[types::OID, types::OID, types::OID, PG_NODE_TREE],
        vec![
            Value::Oid(oid),
            Value::Oid(pubid),
            Value::Oid(relid),
            filter.clone().map(Value::Text).unwrap_or(Value::Null),
        ],
    )?;
    Ok(())
}

fn add_schema(host: &mut dyn Host, pubid: u32, nsp: u32) -> Result<(), PgError> {
    let oid = host.tables()?.new_catalog_oid()?;
    q(
        host,
        "INSERT INTO pg_catalog.pg_publication_namespace VALUES ($1, $2, $3)",
        &[types::OID, types::OID, types::OID],
        vec![Value::Oid(oid), Value::Oid(pubid), Value::Oid(nsp)],
    )?;
    Ok(())
}

/// The tables and schemas of a list, resolved with PostgreSQL's errors;
/// a table named twice counts once.
#[allow(clippy::type_complexity)]
fn resolve_objects(
    host: &mut dyn Host,
    o: &Objects,
) -> Result<(Vec<(u32, String, Option<String>)>, Vec<(u32, String)>), PgError> {
    let mut tables: Vec<(u32, String, Option<String>)> = Vec::new();
    for t in &o.tables {
        let (oid, shown) = resolve_table(host, t)?;
        if let Some(prev) = tables.iter().find(|x| x.0 == oid) {
            if prev.2.is_some() || t.filter.is_some() {
                return Err(err(
                    DUPLICATE_OBJECT,
                    format!("conflicting or redundant WHERE clauses for table \"{shown}\""),
                ));
            }
            if t.columns.is_some() {
                return Err(err(
                    DUPLICATE_OBJECT,
                    format!("conflicting or redundant column lists for table \"{shown}\""),
                ));
            }
            continue;
        }
        tables.push((oid, shown, t.filter.clone()));
    }
    let mut schemas: Vec<(u32, String)> = Vec::new();
    for s in &o.schemas {
        let r = resolve_schema(host, s)?;
        if !schemas.iter().any(|x| x.0 == r.0) {
            schemas.push(r);
        }
    }
    Ok((tables, schemas))
}

fn superuser(host: &dyn Host, roles: &acl::RoleSet, me: u32) -> bool {
    let _ = host;
    roles.by_oid(me).is_some_and(|r| r.superuser)
}

pub(crate) fn run(stmt: &PubStmt, host: &mut dyn Host) -> Result<(), PgError> {
    let roles = host.acl_roles()?;
    let me = acl::current_user_oid(host)?;
    let su = superuser(host, &roles, me);
    match stmt {
        PubStmt::Create {
            name,
            all_tables,
            objects,
            options,
        } => {
            if publication(host, name)?.is_some() {
                return Err(err(
                    DUPLICATE_OBJECT,
                    format!("publication \"{name}\" already exists"),
                ));
            }
            let (publish, via_root) = parse_options(options)?;
            if !su {
                let rows = q(
                    host,
                    "SELECT has_database_privilege(current_database(), 'CREATE'), current_database()::text",
                    &[],
                    vec![],
                )?;
                if !matches!(
                    rows.first().and_then(|r| r.first()),
                    Some(Value::Bool(true))
                ) {
                    let db = text_of(rows.first().and_then(|r| r.get(1))).unwrap_or_default();
                    return Err(err(
                        sqlstate::INSUFFICIENT_PRIVILEGE,
                        format!("permission denied for database {db}"),
                    ));
                }
            }
            if *all_tables && !su {
                return Err(err(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    "must be superuser to create FOR ALL TABLES publication".to_string(),
                ));
            }
            if !objects.schemas.is_empty() && !su {
                return Err(err(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    "must be superuser to create FOR TABLES IN SCHEMA publication".to_string(),
                ));
            }
            let (tables, schemas) = resolve_objects(host, objects)?;
            if !schemas.is_empty() {
                if let Some(t) = objects.tables.iter().find(|t| t.columns.is_some()) {
                    let shown = t.name.join(".");
                    return Err(err(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!("cannot use column list for relation \"{shown}\" in publication \"{name}\""),
                    )
                    .with_detail("Column lists cannot be specified in publications containing FOR TABLES IN SCHEMA elements."));
                }
            }
            let f = publish.unwrap_or([true; 4]);
            let oid = host.tables()?.new_catalog_oid()?;
            q(
                host,
                "INSERT INTO pg_catalog.pg_publication VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    types::OID,
                    types::TEXT,
                    types::OID,
                    types::BOOL,
                    types::BOOL,
                    types::BOOL,
                    types::BOOL,
                    types::BOOL,
                    types::BOOL,
                ],
                vec![
                    Value::Oid(oid),
                    Value::Text(name.clone()),
                    Value::Oid(me),
                    Value::Bool(*all_tables),
                    Value::Bool(f[0]),
                    Value::Bool(f[1]),
                    Value::Bool(f[2]),
                    Value::Bool(f[3]),
                    Value::Bool(via_root.unwrap_or(false)),
                ],
            )?;
            for (rel, _, filter) in &tables {
                add_table(host, oid, *rel, filter)?;
            }
            for (nsp, _) in &schemas {
                add_schema(host, oid, *nsp)?;
            }
            let wal_level = host.show("wal_level").unwrap_or_default();
            if wal_level != "logical" {
                host.notice(
                    PgError::new(
                        Severity::Warning,
                        sqlstate::WARNING,
                        "wal_level is insufficient to publish logical changes",
                    )
                    .with_hint("Set wal_level to \"logical\" before creating subscriptions."),
                );
            }
        }
        PubStmt::AlterOptions { name, options } => {
            let p = publication(host, name)?.ok_or_else(|| no_publication(name))?;
            if !su && !roles.has_privs_of(me, p.owner) {
                return Err(not_owner("publication", name));
            }
            let (publish, via_root) = parse_options(options)?;
            if let Some(f) = publish {
                q(
                    host,
                    "UPDATE pg_catalog.pg_publication SET pubinsert = $2, pubupdate = $3, \
                     pubdelete = $4, pubtruncate = $5 WHERE oid = $1",
                    &[
                        types::OID,
                        types::BOOL,
                        types::BOOL,
                        types::BOOL,
                        types::BOOL,
                    ],
                    vec![
                        Value::Oid(p.oid),
                        Value::Bool(f[0]),
                        Value::Bool(f[1]),
                        Value::Bool(f[2]),
                        Value::Bool(f[3]),
                    ],
                )?;
            }
            if let Some(v) = via_root {
                q(
                    host,
                    "UPDATE pg_catalog.pg_publication SET pubviaroot = $2 WHERE oid = $1",
                    &[types::OID, types::BOOL],
                    vec![Value::Oid(p.oid), Value::Bool(v)],
                )?;
            }
        }
        PubStmt::AlterObjects {
            name,
            action,
            objects,
        } => {
            let p = publication(host, name)?.ok_or_else(|| no_publication(name))?;
            if !su && !roles.has_privs_of(me, p.owner) {
                return Err(not_owner("publication", name));
            }
            if *action != Action::Drop && !objects.schemas.is_empty() && !su {
                return Err(err(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    "must be superuser to add or set schemas".to_string(),
                ));
            }
            if p.all_tables {
                let what = if objects.schemas.is_empty() {
                    "Tables"
                } else {
                    "Schemas"
                };
                return Err(err(
                    sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                    format!("publication \"{name}\" is defined as FOR ALL TABLES"),
                )
                .with_detail(format!(
                    "{what} cannot be added to or dropped from FOR ALL TABLES publications."
                )));
            }
            let (tables, schemas) = resolve_objects(host, objects)?;
            let have_tables: Vec<u32> = q(
                host,
                "SELECT prrelid FROM pg_catalog.pg_publication_rel WHERE prpubid = $1",
                &[types::OID],
                vec![Value::Oid(p.oid)],
            )?
            .iter()
            .map(|r| oid_of(r.first()))
            .collect();
            let have_schemas: Vec<u32> = q(
                host,
                "SELECT pnnspid FROM pg_catalog.pg_publication_namespace WHERE pnpubid = $1",
                &[types::OID],
                vec![Value::Oid(p.oid)],
            )?
            .iter()
            .map(|r| oid_of(r.first()))
            .collect();
            match action {
                Action::Add => {
                    for (rel, shown, filter) in &tables {
                        if have_tables.contains(rel) {
                            return Err(err(
                                DUPLICATE_OBJECT,
                                format!("relation \"{shown}\" is already member of publication \"{name}\""),
                            ));
                        }
                        add_table(host, p.oid, *rel, filter)?;
                    }
                    for (nsp, shown) in &schemas {
                        if have_schemas.contains(nsp) {
                            return Err(err(
                                DUPLICATE_OBJECT,
                                format!("schema \"{shown}\" is already member of publication \"{name}\""),
                            ));
                        }
                        add_schema(host, p.oid, *nsp)?;
                    }
                }
                Action::Drop => {
                    for (rel, shown, _) in &tables {
                        if !have_tables.contains(rel) {
                            return Err(err(
                                sqlstate::UNDEFINED_OBJECT,
                                format!("relation \"{shown}\" is not part of the publication"),
                            ));
                        }
                        q(
                            host,
                            "DELETE FROM pg_catalog.pg_publication_rel WHERE prpubid = $1 AND prrelid = $2",
                            &[types::OID, types::OID],
                            vec![Value::Oid(p.oid), Value::Oid(*rel)],
                        )?;
                    }
                    for (nsp, shown) in &schemas {
                        if !have_schemas.contains(nsp) {
                            return Err(err(
                                sqlstate::UNDEFINED_OBJECT,
                                format!("tables from schema \"{shown}\" are not part of the publication"),
                            ));
                        }
                        q(
                            host,
                            "DELETE FROM pg_catalog.pg_publication_namespace WHERE pnpubid = $1 AND pnnspid = $2",
                            &[types::OID, types::OID],
                            vec![Value::Oid(p.oid), Value::Oid(*nsp)],
                        )?;
                    }
                }
                Action::Set => {
                    q(
                        host,
                        "DELETE FROM pg_catalog.pg_publication_rel WHERE prpubid = $1",
                        &[types::OID],
                        vec![Value::Oid(p.oid)],
                    )?;
                    q(
                        host,
                        "DELETE FROM pg_catalog.pg_publication_namespace WHERE pnpubid = $1",
                        &[types::OID],
                        vec![Value::Oid(p.oid)],
                    )?;
                    for (rel, _, filter) in &tables {
                        add_table(host, p.oid, *rel, filter)?;
                    }
                    for (nsp, _) in &schemas {
                        add_schema(host, p.oid, *nsp)?;
                    }
                }
            }
        }
        PubStmt::Owner { name, owner } => {
            let p = publication(host, name)?.ok_or_else(|| no_publication(name))?;
            let new = match map_user_oid(host, &roles, owner)? {
                Ok(0) => return Err(no_role("public")),
                Ok(o) => o,
                Err(n) => return Err(no_role(&n)),
            };
            if p.owner == new {
                return Ok(());
            }
            if !su {
                if !roles.has_privs_of(me, p.owner) {
                    return Err(not_owner("publication", name));
                }
                if !roles.is_member_of(me, new) {
                    return Err(err(
                        sqlstate::INSUFFICIENT_PRIVILEGE,
                        format!("must be member of role \"{}\"", roles.name_of(new)),
                    ));
                }
            }
            // Only a non-superuser's change is held to the new owner's
            // rights, as in PostgreSQL 15.
            let new_su = su || roles.by_oid(new).is_some_and(|r| r.superuser);
            if p.all_tables && !new_su {
                return Err(err(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!("permission denied to change owner of publication \"{name}\""),
                )
                .with_hint("The owner of a FOR ALL TABLES publication must be a superuser."));
            }
            let has_schemas = !q(
                host,
                "SELECT 1 FROM pg_catalog.pg_publication_namespace WHERE pnpubid = $1",
                &[types::OID],
                vec![Value::Oid(p.oid)],
            )?
            .is_empty();
            if has_schemas && !new_su {
                return Err(err(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!("permission denied to change owner of publication \"{name}\""),
                )
                .with_hint(
                    "The owner of a FOR TABLES IN SCHEMA publication must be a superuser.",
                ));
            }
            q(
                host,
                "UPDATE pg_catalog.pg_publication SET pubowner = $2 WHERE oid = $1",
                &[types::OID, types::OID],
                vec![Value::Oid(p.oid), Value::Oid(new)],
            )?;
        }
        PubStmt::Rename { name, to } => {
            let p = publication(host, name)?.ok_or_else(|| no_publication(name))?;
            if !su && !roles.has_privs_of(me, p.owner) {
                return Err(not_owner("publication", name));
            }
            if publication(host, to)?.is_some() {
                return Err(err(
                    DUPLICATE_OBJECT,
                    format!("publication \"{to}\" already exists"),
                ));
            }
            q(
                host,
                "UPDATE pg_catalog.pg_publication SET pubname = $2 WHERE oid = $1",
                &[types::OID, types::TEXT],
                vec![Value::Oid(p.oid), Value::Text(to.clone())],
            )?;
        }
        PubStmt::Drop { names, if_exists } => {
            let mut found = Vec::new();
            for name in names {
                match publication(host, name)? {
                    Some(p) => {
                        if !su && !roles.has_privs_of(me, p.owner) {
                            return Err(not_owner("publication", name));
                        }
                        found.push(p.oid);
                    }
                    None if *if_exists => host.notice(PgError::new(
                        Severity::Notice,
                        sqlstate::SUCCESSFUL_COMPLETION,
                        format!("publication \"{name}\" does not exist, skipping"),
                    )),
                    None => return Err(no_publication(name)),
                }
            }
            for oid in found {
                for sql in [
                    "DELETE FROM pg_catalog.pg_publication_rel WHERE prpubid = $1",
                    "DELETE FROM pg_catalog.pg_publication_namespace WHERE pnpubid = $1",
                    "DELETE FROM pg_catalog.pg_publication WHERE oid = $1",
                ] {
                    q(host, sql, &[types::OID], vec![Value::Oid(oid)])?;
                }
                q(
                    host,
                    "DELETE FROM pg_catalog.pg_description WHERE objoid = $1 AND classoid = $2",
                    &[types::OID, types::OID],
                    vec![Value::Oid(oid), Value::Oid(PG_PUBLICATION)],
                )?;
            }
        }
    }
    Ok(())
}

thread_local! {
    /// (catalog generation, whether any publication exists then): the
    /// gate that keeps UPDATE and DELETE from querying the publication
    /// catalogs while there are none (the common case).
    static ANY_PUBLICATION: std::cell::Cell<Option<(u64, bool)>> =
        const { std::cell::Cell::new(None) };
}

/// PostgreSQL's CheckCmdReplicaIdentity: an UPDATE (`update`) or DELETE
/// of a table that a publication publishes that action for needs a
/// replica identity (a primary key under the default identity, an index
/// or FULL). Called by the backend before the statement changes a row.
pub(crate) fn check_replica_identity(
    host: &mut dyn Host,
    rel: &crate::catalog::Relation,
    update: bool,
) -> Result<(), PgError> {
    let gen = host.plan_generation();
    let cached = ANY_PUBLICATION.with(|c| c.get());
    let any = match (gen, cached) {
        (Some(g), Some((cg, any))) if g == cg => any,
        _ => {
            let rows = q(
                host,
                "SELECT 1 FROM pg_catalog.pg_publication LIMIT 1",
                &[],
                vec![],
            )?;
            let any = !rows.is_empty();
            if let Some(g) = gen {
                ANY_PUBLICATION.with(|c| c.set(Some((g, any))));
            }
            any
        }
    };
    if !any {
        return Ok(());
    }
    // A partitioned table has no rows of its own: PostgreSQL checks
    // the partitions.
    let Ok(table) = rel.table() else {
        return Ok(());
    };
    if rel.relkind != b'r' {
        return Ok(());
    }
    let rows = q(
        host,
        "SELECT c.relreplident, c.relpersistence, \
           EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), \
           EXISTS (SELECT 1 FROM pg_catalog.pg_publication p WHERE \
             (CASE WHEN $2 THEN p.pubupdate ELSE p.pubdelete END) AND \
             (p.puballtables \
              OR p.oid IN (SELECT r.prpubid FROM pg_catalog.pg_publication_rel r WHERE r.prrelid = c.oid) \
              OR p.oid IN (SELECT n.pnpubid FROM pg_catalog.pg_publication_namespace n \
                           WHERE n.pnnspid = c.relnamespace))) \
         FROM pg_catalog.pg_class c WHERE c.oid = $1",
        &[types::OID, types::BOOL],
        vec![Value::Oid(table.oid), Value::Bool(update)],
    )?;
    let Some(r) = rows.first() else {
        return Ok(());
    };
    let identity = match r.first() {
        Some(Value::Char(c)) => *c,
        _ => b'd',
    };
    let permanent = matches!(r.get(1), Some(Value::Char(b'p')));
    let has_pkey = matches!(r.get(2), Some(Value::Bool(true)));
    let published = matches!(r.get(3), Some(Value::Bool(true)));
    if !published || !permanent || table.oid < 16384 {
        return Ok(());
    }
    let ok = match identity {
        b'f' | b'i' => true,
        b'd' => has_pkey,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let (msg, hint) = if update {
        (
            format!(
                "cannot update table \"{}\" because it does not have a replica identity and publishes updates",
                rel.name
            ),
            "To enable updating the table, set REPLICA IDENTITY using ALTER TABLE.",
        )
    } else {
        (
            format!(
                "cannot delete from table \"{}\" because it does not have a replica identity and publishes deletes",
                rel.name
            ),
            "To enable deleting from the table, set REPLICA IDENTITY using ALTER TABLE.",
        )
    };
    Err(err(sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE, msg).with_hint(hint))
}

/// The publication called `name` (COMMENT ON PUBLICATION).
pub(crate) fn object_oid(host: &mut dyn Host, name: &str) -> Result<u32, PgError> {
    Ok(publication(host, name)?
        .ok_or_else(|| no_publication(name))?
        .oid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_object_lists_and_options() {
        let s = parse(
            "CREATE PUBLICATION p FOR TABLE a, s.b (x, y) WHERE (x > 1), TABLES IN SCHEMA s, CURRENT_SCHEMA WITH (publish = 'insert')",
        )
        .unwrap();
        let PubStmt::Create {
            objects, options, ..
        } = s
        else {
            panic!("not CREATE")
        };
        assert_eq!(objects.tables.len(), 2);
        assert_eq!(objects.tables[1].filter.as_deref(), Some("(x > 1)"));
        assert_eq!(objects.schemas, vec![Some("s".to_string()), None]);
        assert_eq!(
            parse_options(&options).unwrap().0,
            Some([true, false, false, false])
        );
        let e = parse("CREATE PUBLICATION p FOR t").unwrap_err();
        assert_eq!(e.message, "invalid publication object list");
        let e = parse_options(&[("foo".into(), None)]).unwrap_err();
        assert_eq!(e.message, "unrecognized publication parameter: \"foo\"");
    }
}
