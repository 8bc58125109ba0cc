//! System information functions psql's backslash commands call: name
//! visibility (pg_table_is_visible, pg_type_is_visible), owners
//! (pg_get_userbyid), format_type, comments (obj_description & co),
//! encodings, tablespaces and sizes.
//!
//! Why catalog queries: every answer is a row of pg_class, pg_type,
//! pg_roles or pg_description, which tusk keeps in heap tables, so each
//! function reads them with a nested SQL query ([`query`]) through the
//! session's host, as PostgreSQL's own versions read the syscache. That
//! keeps this module free of storage knowledge and sees the statement's
//! snapshot, so a table created earlier in the same transaction is found.
//! Which process may call: the backend running the statement.

use tusk_common::PgError;

use crate::exec::Row;
use crate::host::Host;
use crate::types::{self, Oid};
use crate::value::{to_text, Value};

/// The functions of this module (one `Func::Sys` variant in func.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sys {
    TableIsVisible,
    TypeIsVisible,
    /// pg_ts_{dict,config,template,parser}_is_visible(oid) (tsddl.rs).
    TsIsVisible(crate::tsddl::Kind),
    UserById,
    /// array_to_string(aclitem[], sep): the items' display forms (psql's
    /// "Access privileges" columns; aclitem[] values are held in their
    /// stored text form, acl.rs).
    AclToString,
    /// pg_has_role(role oid, privilege): whether the current user has
    /// the privileges of (USAGE) or is a member of (MEMBER) the role.
    HasRole,
    EncodingToChar,
    FormatType,
    ObjDescription,
    ObjDescriptionOid,
    ColDescription,
    ShobjDescription,
    TablespaceLocation,
    SizePretty,
    /// pg_relation_size(regclass [, fork]): one fork's files.
    RelationSize,
    /// pg_table_size: every fork, plus the TOAST table and its index.
    TableSize,
    /// pg_indexes_size: the relation's indexes.
    IndexesSize,
    /// pg_total_relation_size: table and indexes.
    TotalRelationSize,
    /// pg_get_expr(pg_node_tree, relation [, pretty]).
    GetExpr,
    /// pg_get_indexdef(index [, column, pretty]).
    IndexDef,
    /// pg_get_statisticsobjdef_columns: tusk has no extended statistics.
    StatisticsColumns,
    /// pg_stat_reset_subscription_stats(oid): nothing to reset (no
    /// apply workers count anything in tusk).
    ResetSubscriptionStats,
    /// pg_relation_is_publishable(regclass).
    RelationIsPublishable,
    /// pg_my_temp_schema(): this session's pg_temp_N, 0 before it has one.
    MyTempSchema,
    /// pg_partition_root(regclass): NULL, as for any relation outside a
    /// partition tree (tusk has no partitioned tables).
    PartitionRoot,
    /// pg_get_partkeydef(oid): a partitioned table's key (partition.rs).
    PartKeyDef,
    /// pg_get_partition_constraintdef(oid): a partition's implicit
    /// constraint (partition.rs).
    PartConstraintDef,
    /// pg_is_other_temp_schema(oid): another session's temporary schema.
    IsOtherTempSchema,
    /// pg_sequence_last_value(regclass): NULL until nextval was called.
    SequenceLastValue,
    /// has_<kind>_privilege([user,] object, privileges).
    Privilege(PrivilegeOn),
    /// pg_get_function_sqlbody(oid): NULL, tusk's routines having no
    /// SQL-standard bodies (prosqlbody), as PostgreSQL for such routines.
    FunctionSqlBody,
    /// has_column_privilege([user,] table, column, privileges).
    ColumnPrivilege,
    /// pg_describe_object(classid, objid, objsubid) (operator.rs).
    DescribeObject,
    /// pg_operator_is_visible(oid) (operator.rs).
    OperatorIsVisible,
}

/// The objects has_*_privilege asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrivilegeOn {
    Table,
    Sequence,
    Schema,
    Function,
    Database,
    Type,
    /// has_foreign_data_wrapper_privilege / has_server_privilege: fdwacl
    /// and srvacl (fdw.rs).
    ForeignDataWrapper,
    ForeignServer,
}

/// Whether NULL arguments make the result NULL without a call: all but
/// format_type, whose NULL typmod means "no modifier given".
pub(crate) fn is_strict(f: Sys) -> bool {
    f != Sys::FormatType
}

/// All rows of a nested catalog query, run with a fresh snapshot (the
/// system information functions, reg*'s name lookups, pg_get_viewdef).
pub(crate) fn query(
    host: &mut dyn Host,
    sql: &str,
    param_types: &[Oid],
    params: Vec<Value>,
) -> Result<Vec<Row>, PgError> {
    let stmts = crate::parse(sql)?;
    let Some(stmt) = stmts.first() else {
        return Ok(Vec::new());
    };
    let p = crate::prepare(stmt, param_types, &*host)?;
    let rels = host.nested_relations();
    let mut ex = crate::start(&p, params, host, &*rels)?;
    let mut out = Vec::new();
    while let Some(r) = ex.next(host)? {
        out.push(r);
    }
    Ok(out)
}

fn oid_arg(v: &Value) -> Option<u32> {
    match v {
        Value::Oid(o) => Some(*o),
        Value::Int4(i) => Some(*i as u32),
        Value::Int8(i) => Some(*i as u32),
        _ => None,
    }
}

fn int_arg(v: &Value) -> Option<i64> {
    match v {
        Value::Int2(i) => Some(*i as i64),
        Value::Int4(i) => Some(*i as i64),
        Value::Int8(i) => Some(*i),
        Value::Oid(o) => Some(*o as i64),
        _ => None,
    }
}

fn text(v: &Value) -> String {
    to_text(v).unwrap_or_default()
}

/// The schemas of search_path in lookup order, as PostgreSQL's
/// recomputeNamespacePath: pg_catalog first unless listed, `$user` as the
/// current user's name, schemas that do not exist left out.
pub(crate) fn search_path(host: &mut dyn Host) -> Result<Vec<u32>, PgError> {
    let path = host
        .show("search_path")
        .unwrap_or_else(|_| "\"$user\", public".into());
    let user = host.identity().user.clone();
    let mut names = Vec::new();
    for part in split_path(&path) {
        names.push(if part == "$user" { user.clone() } else { part });
    }
    let mut oids = Vec::new();
    for n in names {
        let rows = query(
            host,
            "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1",
            &[types::NAME],
            vec![Value::Name(n)],
        )?;
        if let Some(o) = rows.first().and_then(|r| r.first()).and_then(oid_arg) {
            if !oids.contains(&o) {
                oids.push(o);
            }
        }
    }
    const PG_CATALOG: u32 = 11;
    if !oids.contains(&PG_CATALOG) {
        oids.insert(0, PG_CATALOG);
    }
    // The session's temporary schema is searched first, as PostgreSQL's
    // implicit pg_temp.
    if let Some(t) = host.tables().ok().and_then(|t| t.my_temp_namespace()) {
        if !oids.contains(&t) {
            oids.insert(0, t);
        }
    }
    Ok(oids)
}

/// search_path's elements: comma-separated identifiers, double-quoted
/// ones kept as written, bare ones folded to lower case.
fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = path.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut item = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        item.push('"');
                    } else {
                        break;
                    }
                } else {
                    item.push(c);
                }
            }
            while chars.peek().is_some_and(|c| *c != ',') {
                chars.next();
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                item.push(c);
                chars.next();
            }
            item = item.trim().to_lowercase();
        }
        if !item.is_empty() {
            out.push(item);
        }
        if chars.next().is_none() {
            return out;
        }
    }
}

/// Whether the object named `name` in schema `nsp` is the one an
/// unqualified `name` finds: its schema is on the path and no schema
/// before it has an object of that name (`probe` counts them).
pub(crate) fn visible(
    host: &mut dyn Host,
    nsp: u32,
    name: &str,
    probe: &str,
) -> Result<bool, PgError> {
    for s in search_path(host)? {
        if s == nsp {
            return Ok(true);
        }
        let hit = query(
            host,
            probe,
            &[types::NAME, types::OID],
            vec![Value::Name(name.into()), Value::Oid(s)],
        )?;
        if !hit.is_empty() {
            return Ok(false);
        }
    }
    Ok(false)
}

/// One call. `args` are already evaluated (NULLs filtered for strict ones).
pub(crate) fn call(f: Sys, args: &[Value], host: &mut dyn Host) -> Result<Value, PgError> {
    let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    Ok(match f {
        Sys::TableIsVisible | Sys::TypeIsVisible => {
            let Some(oid) = oid_arg(&a(0)) else {
                return Ok(Value::Null);
            };
            let (get, probe) = if f == Sys::TableIsVisible {
                (
                    "SELECT relnamespace, relname FROM pg_catalog.pg_class WHERE oid = $1",
                    "SELECT 1 FROM pg_catalog.pg_class WHERE relname = $1 AND relnamespace = $2",
                )
            } else {
                (
                    "SELECT typnamespace, typname FROM pg_catalog.pg_type WHERE oid = $1",
                    "SELECT 1 FROM pg_catalog.pg_type WHERE typname = $1 AND typnamespace = $2",
                )
            };
            let rows = query(host, get, &[types::OID], vec![Value::Oid(oid)])?;
            // PostgreSQL answers NULL for an OID that names nothing.
            let Some(r) = rows.first() else {
                return Ok(Value::Null);
            };
            let nsp = oid_arg(&r[0]).unwrap_or(0);
            Value::Bool(visible(host, nsp, &text(&r[1]), probe)?)
        }
        Sys::TsIsVisible(k) => {
            let Some(oid) = oid_arg(&a(0)) else {
                return Ok(Value::Null);
            };
            crate::tsddl::is_visible(host, k, oid)?.map_or(Value::Null, Value::Bool)
        }
        Sys::UserById => {
            let Some(oid) = oid_arg(&a(0)) else {
                return Ok(Value::Null);
            };
            Value::Name(role_name(host, oid)?.unwrap_or_else(|| format!("unknown (OID={oid})")))
        }
        Sys::AclToString => {
            let (Some(stored), Some(sep)) = (to_text(&a(0)), to_text(&a(1))) else {
                return Ok(Value::Null);
            };
            let Some(items) = crate::acl::parse_stored(&stored) else {
                return Ok(Value::Text(stored));
            };
            let roles = host.acl_roles()?;
            Value::Text(
                items
                    .iter()
                    .map(|i| crate::acl::item_display(i, &roles))
                    .collect::<Vec<_>>()
                    .join(&sep),
            )
        }
        Sys::HasRole => {
            let (Some(role), Some(what)) = (oid_arg(&a(0)), to_text(&a(1))) else {
                return Ok(Value::Null);
            };
            let roles = host.acl_roles()?;
            let me = crate::acl::current_user_oid(host)?;
            if roles.by_oid(me).is_some_and(|r| r.superuser) {
                return Ok(Value::Bool(true));
            }
            let what = what.to_ascii_uppercase();
            let what = what.split(" WITH ").next().unwrap_or("").trim().to_string();
            Value::Bool(match what.as_str() {
                "USAGE" => roles.has_privs_of(me, role),
                "MEMBER" => roles.is_member_of(me, role),
                _ => {
                    return Err(PgError::error(
                        tusk_common::sqlstate::INVALID_PARAMETER_VALUE,
                        format!("unrecognized privilege type: \"{what}\""),
                    ))
                }
            })
        }
        Sys::EncodingToChar => Value::Name(
            encoding_name(int_arg(&a(0)).unwrap_or(-1))
                .unwrap_or("")
                .into(),
        ),
        Sys::FormatType => {
            let Some(oid) = oid_arg(&a(0)) else {
                return Ok(Value::Null);
            };
            let typmod = int_arg(&a(1)).map(|m| m as i32);
            Value::Text(format_type(host, oid, typmod)?)
        }
        Sys::OperatorIsVisible => {
            let Some(oid) = oid_arg(&a(0)) else {
                return Ok(Value::Null);
            };
            match crate::operator::is_visible(host, oid)? {
                Some(v) => Value::Bool(v),
                None => Value::Null,
            }
        }
        Sys::DescribeObject => {
            let (Some(class), Some(oid)) = (oid_arg(&a(0)), oid_arg(&a(1))) else {
                return Ok(Value::Null);
            };
            let sub = int_arg(&a(2)).unwrap_or(0) as i32;
            match crate::operator::describe_object(host, class, oid, sub)? {
                Some(d) => Value::Text(d),
                None => Value::Null,
            }
        }
        Sys::ObjDescription | Sys::ObjDescriptionOid | Sys::ColDescription => {
            let Some(oid) = oid_arg(&a(0)) else {
                return Ok(Value::Null);
            };
            let (sql, ptypes, params): (&str, &[Oid], Vec<Value>) = match f {
                Sys::ObjDescription => (
                    "SELECT d.description FROM pg_catalog.pg_description d, pg_catalog.pg_class c \
                     WHERE d.objoid = $1 AND d.classoid = c.oid AND c.relname = $2 \
                     AND c.relnamespace = 11 AND d.objsubid = 0",
                    &[types::OID, types::NAME],
                    vec![Value::Oid(oid), Value::Name(text(&a(1)))],
                ),
                Sys::ObjDescriptionOid => (
                    "SELECT description FROM pg_catalog.pg_description \
                     WHERE objoid = $1 AND objsubid = 0",
                    &[types::OID],
                    vec![Value::Oid(oid)],
                ),
                _ => (
                    "SELECT description FROM pg_catalog.pg_description \
                     WHERE objoid = $1 AND classoid = 1259 AND objsubid = $2",
                    &[types::OID, types::INT4],
                    vec![
                        Value::Oid(oid),
                        Value::Int4(int_arg(&a(1)).unwrap_or(0) as i32),
                    ],
                ),
            };
            let rows = query(host, sql, ptypes, params)?;
            rows.into_iter()
                .next()
                .and_then(|r| r.into_iter().next())
                .unwrap_or(Value::Null)
        }
        // tusk keeps no descriptions of shared objects yet.
        Sys::ShobjDescription => Value::Null,
        // Only the built-in tablespaces exist; PostgreSQL shows both of
        // them with an empty location.
        Sys::TablespaceLocation => Value::Text(String::new()),
        Sys::RelationSize | Sys::TableSize | Sys::IndexesSize | Sys::TotalRelationSize => {
            let Some(oid) = oid_arg(&a(0)) else {
                return Ok(Value::Null);
            };
            let fork = if args.len() > 1 {
                text(&a(1))
            } else {
                "main".into()
            };
            let size = match f {
                Sys::RelationSize => fork_size(host, oid, &fork)?,
                Sys::TableSize => table_size(host, oid)?,
                Sys::IndexesSize => indexes_size(host, oid)?,
                _ => match (table_size(host, oid)?, indexes_size(host, oid)?) {
                    (Some(t), Some(i)) => Some(t + i),
                    _ => None,
                },
            };
            size.map_or(Value::Null, Value::Int8)
        }
        Sys::SizePretty => match int_arg(&a(0)) {
            Some(n) => Value::Text(size_pretty(n)),
            None => Value::Null,
        },
        Sys::GetExpr => match (to_text(&a(0)), oid_arg(&a(1))) {
            (Some(e), Some(rel)) => {
                let text = get_expr(host, &e, rel)?;
                // Not pretty: every operator in parentheses, as
                // PostgreSQL's deparser prints it (`(a * 2)`).
                if a(2) == Value::Bool(true) {
                    Value::Text(text)
                } else {
                    Value::Text(parenthesized(&text))
                }
            }
            _ => Value::Null,
        },
        Sys::IndexDef => {
            let Some(oid) = oid_arg(&a(0)) else {
                return Ok(Value::Null);
            };
            let column = int_arg(&a(1)).unwrap_or(0);
            let pretty = a(2) == Value::Bool(true);
            index_def(host, oid, column, pretty)?
        }
        Sys::StatisticsColumns => Value::Null,
        Sys::ResetSubscriptionStats => Value::Null,
        // PostgreSQL's is_publishable_class: a permanent user table or
        // partitioned table outside the system schemas.
        Sys::RelationIsPublishable => {
            let Some(oid) = oid_arg(&a(0)) else {
                return Ok(Value::Null);
            };
            let rows = query(
                host,
                "SELECT relkind, relpersistence, relnamespace FROM pg_catalog.pg_class WHERE oid = $1",
                &[types::OID],
                vec![Value::Oid(oid)],
            )?;
            let Some(r) = rows.first() else {
                return Ok(Value::Null);
            };
            let kind = matches!(r[0], Value::Char(b'r' | b'p'));
            let permanent = matches!(r[1], Value::Char(b'p'));
            let nsp = oid_arg(&r[2]).unwrap_or(0);
            Value::Bool(kind && permanent && oid >= 16384 && nsp != 11 && nsp != 99)
        }
        Sys::PartitionRoot => Value::Null,
        Sys::PartConstraintDef => match oid_arg(&a(0)) {
            Some(oid) => crate::partition::constraintdef_of(host, oid)?,
            None => Value::Null,
        },
        Sys::PartKeyDef => match oid_arg(&a(0)) {
            Some(oid) => crate::partition::keydef_of(host, oid)?,
            None => Value::Null,
        },
        Sys::MyTempSchema => Value::Oid(host.tables()?.my_temp_namespace().unwrap_or(0)),
        Sys::IsOtherTempSchema => {
            let Some(oid) = oid_arg(&a(0)) else {
                return Ok(Value::Null);
            };
            let rows = query(
                host,
                "SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = $1",
                &[types::OID],
                vec![Value::Oid(oid)],
            )?;
            let temp = rows.first().is_some_and(|r| {
                let n = text(&r[0]);
                n.starts_with("pg_temp_") || n.starts_with("pg_toast_temp_")
            });
            Value::Bool(temp && host.tables()?.my_temp_namespace() != Some(oid))
        }
        Sys::SequenceLastValue => {
            let Some(oid) = oid_arg(&a(0)) else {
                return Ok(Value::Null);
            };
            sequence_last_value(host, oid)?
        }
        Sys::Privilege(on) => privilege(host, on, args)?,
        Sys::ColumnPrivilege => column_privilege(host, args)?,
        Sys::FunctionSqlBody => Value::Null,
    })
}

/// has_column_privilege: the table's privilege, else the column's
/// (attacl); NULL for a table or column number that does not exist or a
/// dropped column, 42703 for a column name that does not.
fn column_privilege(host: &mut dyn Host, args: &[Value]) -> Result<Value, PgError> {
    let (user, table, column, list) = match args {
        [u, t, c, l] => (Some(u), t, c, text(l)),
        [t, c, l] => (None, t, c, text(l)),
        _ => return Ok(Value::Null),
    };
    let roles = host.acl_roles()?;
    let role = match user {
        Some(Value::Oid(o)) => *o,
        Some(other) => {
            let n = text(other);
            crate::reg::input(host, types::REGROLE, &n)?
        }
        None => match roles.by_name(&host.identity().user) {
            Some(r) => r.oid,
            None => return Ok(Value::Bool(true)),
        },
    };
    let toid = match table {
        Value::Oid(o) => *o,
        Value::Int4(i) => *i as u32,
        other => crate::reg::input(host, types::REGCLASS, &text(other))?,
    };
    let rows = query(
        host,
        "SELECT relowner, relacl, relname FROM pg_catalog.pg_class WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(toid)],
    )?;
    let Some(rel) = rows.first().cloned() else {
        return Ok(Value::Null);
    };
    let attr = match column {
        Value::Int2(n) => query(
            host,
            "SELECT attacl, attisdropped FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attnum = $2",
            &[types::OID, types::INT2],
            vec![Value::Oid(toid), Value::Int2(*n)],
        )?,
        other => {
            let name = text(other);
            let r = query(
                host,
                "SELECT attacl, attisdropped FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attname = $2",
                &[types::OID, types::NAME],
                vec![Value::Oid(toid), Value::Name(name.clone())],
            )?;
            if r.is_empty() {
                return Err(PgError::error(
                    tusk_common::sqlstate::UNDEFINED_COLUMN,
                    format!(
                        "column \"{name}\" of relation \"{}\" does not exist",
                        text(&rel[2])
                    ),
                ));
            }
            r
        }
    };
    let Some(att) = attr.first() else {
        return Ok(Value::Null);
    };
    if att[1] == Value::Bool(true) {
        return Ok(Value::Null);
    }
    check_privilege_names(PrivilegeOn::Table, &list)?;
    let owner = oid_arg(&rel[0]).unwrap_or(crate::acl::BOOTSTRAP_SUPERUSER);
    let stored = |v: &Value| match v {
        Value::Text(t) => Some(t.clone()),
        _ => None,
    };
    let kind = crate::acl::ObjType::Table;
    if crate::acl::has_privilege(stored(&rel[1]).as_deref(), kind, owner, role, &list, &roles) {
        return Ok(Value::Bool(true));
    }
    // A NULL attacl grants nothing beyond the table's.
    let col = stored(&att[0]).unwrap_or_else(|| "{}".into());
    Ok(Value::Bool(crate::acl::has_privilege(
        Some(&col),
        kind,
        0,
        role,
        &list,
        &roles,
    )))
}

/// pg_sequence_last_value: the sequence's last_value once a nextval (or
/// setval) has set is_called, else NULL, read from the sequence's row.
fn sequence_last_value(host: &mut dyn Host, oid: u32) -> Result<Value, PgError> {
    let rows = query(
        host,
        "SELECT n.nspname, c.relname, c.relkind FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    let Some(r) = rows.first() else {
        return Err(PgError::error(
            tusk_common::sqlstate::UNDEFINED_TABLE,
            format!("could not open relation with OID {oid}"),
        ));
    };
    let (nsp, rel) = (text(&r[0]), text(&r[1]));
    if text(&r[2]) != "S" {
        return Err(PgError::error(
            crate::catalog::codes::WRONG_OBJECT_TYPE,
            format!("\"{rel}\" is not a sequence"),
        ));
    }
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let rows = query(
        host,
        &format!("SELECT last_value, is_called FROM {}.{}", q(&nsp), q(&rel)),
        &[],
        Vec::new(),
    )?;
    Ok(match rows.first() {
        Some(r) if r.get(1) == Some(&Value::Bool(true)) => r[0].clone(),
        _ => Value::Null,
    })
}

/// has_table_privilege and its siblings. Tables and sequences answer from
/// their ACL; schemas, functions and databases have no GRANT yet and
/// answer true whenever the question is well formed. The checks are
/// PostgreSQL's: the role and a named object must exist (an OID that names
/// nothing is NULL) and each privilege must be one the object has.
fn privilege(host: &mut dyn Host, on: PrivilegeOn, args: &[Value]) -> Result<Value, PgError> {
    let (user, object) = match args {
        [u, o, _] => (Some(u), o),
        [o, _] => (None, o),
        _ => return Ok(Value::Null),
    };
    if let Some(u) = user {
        match u {
            Value::Oid(oid) => {
                if role_name(host, *oid)?.is_none() {
                    return Err(PgError::error(
                        tusk_common::sqlstate::UNDEFINED_OBJECT,
                        format!("role with OID {oid} does not exist"),
                    ));
                }
            }
            other => {
                crate::reg::input(host, types::REGROLE, &text(other))?;
            }
        }
    }
    let oid = match object {
        Value::Oid(o) => {
            let (catalog, column) = match on {
                PrivilegeOn::Table | PrivilegeOn::Sequence => ("pg_class", "oid"),
                PrivilegeOn::Schema => ("pg_namespace", "oid"),
                PrivilegeOn::Function => ("pg_proc", "oid"),
                PrivilegeOn::Database => ("pg_database", "oid"),
                PrivilegeOn::Type => ("pg_type", "oid"),
                PrivilegeOn::ForeignDataWrapper => ("pg_foreign_data_wrapper", "oid"),
                PrivilegeOn::ForeignServer => ("pg_foreign_server", "oid"),
            };
            let rows = query(
                host,
                &format!("SELECT 1 FROM pg_catalog.{catalog} WHERE {column} = $1"),
                &[types::OID],
                vec![Value::Oid(*o)],
            )?;
            if rows.is_empty() {
                return Ok(Value::Null);
            }
            *o
        }
        other => {
            let name = text(other);
            match on {
                PrivilegeOn::Table | PrivilegeOn::Sequence => {
                    crate::reg::input(host, types::REGCLASS, &name)?
                }
                PrivilegeOn::Schema => crate::reg::input(host, types::REGNAMESPACE, &name)?,
                PrivilegeOn::Type => crate::reg::input(host, types::REGTYPE, &name)?,
                PrivilegeOn::Function => {
                    match crate::reg::input(host, types::REGPROCEDURE, &name) {
                        Ok(o) => o,
                        // Built-in functions have no pg_proc rows in tusk;
                        // one of that name exists, so the question stands.
                        Err(e) => {
                            let base = name.split('(').next().unwrap_or("").trim();
                            let base = base.rsplit('.').next().unwrap_or(base).to_lowercase();
                            if !crate::func::all_signatures().any(|s| s.name == base) {
                                return Err(e);
                            }
                            0
                        }
                    }
                }
                PrivilegeOn::ForeignDataWrapper => {
                    crate::fdw::object_oid(host, crate::fdw::PG_FOREIGN_DATA_WRAPPER, &name)?
                }
                PrivilegeOn::ForeignServer => {
                    crate::fdw::object_oid(host, crate::fdw::PG_FOREIGN_SERVER, &name)?
                }
                PrivilegeOn::Database => {
                    let rows = query(
                        host,
                        "SELECT oid FROM pg_catalog.pg_database WHERE datname = $1",
                        &[types::NAME],
                        vec![Value::Name(name.clone())],
                    )?;
                    match rows.first().and_then(|r| r.first()).and_then(oid_arg) {
                        Some(o) => o,
                        None => {
                            return Err(PgError::error(
                                tusk_common::sqlstate::INVALID_CATALOG_NAME,
                                format!("database \"{name}\" does not exist"),
                            ))
                        }
                    }
                }
            }
        }
    };
    if on == PrivilegeOn::Sequence {
        let rows = query(
            host,
            "SELECT relname, relkind FROM pg_catalog.pg_class WHERE oid = $1",
            &[types::OID],
            vec![Value::Oid(oid)],
        )?;
        if let Some(r) = rows.first() {
            if text(&r[1]) != "S" {
                return Err(PgError::error(
                    crate::catalog::codes::WRONG_OBJECT_TYPE,
                    format!("\"{}\" is not a sequence", text(&r[0])),
                ));
            }
        }
    }
    let list = text(args.last().unwrap_or(&Value::Null));
    check_privilege_names(on, &list)?;
    let roles = host.acl_roles()?;
    let role = match user {
        Some(Value::Oid(o)) => *o,
        Some(other) => {
            let n = text(other);
            match roles.by_name(&n) {
                Some(r) => r.oid,
                None => return Ok(Value::Bool(true)),
            }
        }
        None => match roles.by_name(&host.identity().user) {
            Some(r) => r.oid,
            None => return Ok(Value::Bool(true)),
        },
    };
    let (sql, kind) = match on {
        PrivilegeOn::Table | PrivilegeOn::Sequence => (
            "SELECT relowner, relacl, relkind FROM pg_catalog.pg_class WHERE oid = $1",
            crate::acl::ObjType::Table,
        ),
        PrivilegeOn::Schema => (
            "SELECT nspowner, nspacl, 'n' FROM pg_catalog.pg_namespace WHERE oid = $1",
            crate::acl::ObjType::Schema,
        ),
        PrivilegeOn::Function => (
            "SELECT proowner, proacl, 'f' FROM pg_catalog.pg_proc WHERE oid = $1",
            crate::acl::ObjType::Function,
        ),
        PrivilegeOn::Database => (
            "SELECT datdba, datacl, 'd' FROM pg_catalog.pg_database WHERE oid = $1",
            crate::acl::ObjType::Database,
        ),
        PrivilegeOn::Type => (
            "SELECT typowner, typacl, 't' FROM pg_catalog.pg_type WHERE oid = $1",
            crate::acl::ObjType::Type,
        ),
        PrivilegeOn::ForeignDataWrapper => (
            "SELECT fdwowner, fdwacl, 'W' FROM pg_catalog.pg_foreign_data_wrapper WHERE oid = $1",
            crate::acl::ObjType::ForeignDataWrapper,
        ),
        PrivilegeOn::ForeignServer => (
            "SELECT srvowner, srvacl, 'S' FROM pg_catalog.pg_foreign_server WHERE oid = $1",
            crate::acl::ObjType::ForeignServer,
        ),
    };
    let rows = query(host, sql, &[types::OID], vec![Value::Oid(oid)])?;
    let Some(r) = rows.first() else {
        // Built-in functions and types have no catalog rows: PUBLIC
        // executes and uses them.
        return Ok(if matches!(on, PrivilegeOn::Function | PrivilegeOn::Type) {
            Value::Bool(true)
        } else {
            Value::Null
        });
    };
    let owner = oid_arg(&r[0]).unwrap_or(crate::acl::BOOTSTRAP_SUPERUSER);
    let stored = match &r[1] {
        Value::Text(t) => Some(t.clone()),
        _ => None,
    };
    let stored = if on == PrivilegeOn::Schema {
        crate::acl::schema_default(oid, owner, stored)
    } else {
        stored
    };
    let stored = stored.as_deref();
    let kind = if text(&r[2]) == "S" {
        crate::acl::ObjType::Sequence
    } else {
        kind
    };
    Ok(Value::Bool(crate::acl::has_privilege(
        stored, kind, owner, role, &list, &roles,
    )))
}

/// A has_*_privilege privilege list: comma-separated names, any case,
/// each optionally `WITH GRANT OPTION`; 22023 for a name `on` lacks.
pub(crate) fn check_privilege_names(on: PrivilegeOn, list: &str) -> Result<(), PgError> {
    let allowed: &[&str] = match on {
        PrivilegeOn::Table => &[
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
            "TRUNCATE",
            "REFERENCES",
            "TRIGGER",
        ],
        PrivilegeOn::Sequence => &["USAGE", "SELECT", "UPDATE"],
        PrivilegeOn::Schema => &["CREATE", "USAGE"],
        PrivilegeOn::Function => &["EXECUTE"],
        PrivilegeOn::Database => &["CREATE", "CONNECT", "TEMPORARY", "TEMP"],
        PrivilegeOn::Type => &["USAGE"],
        PrivilegeOn::ForeignDataWrapper | PrivilegeOn::ForeignServer => &["USAGE"],
    };
    for item in list.split(',') {
        let words: Vec<String> = item
            .split_whitespace()
            .map(|w| w.to_ascii_uppercase())
            .collect();
        let name = match words.as_slice() {
            [p] => p,
            [p, w, g, o] if w == "WITH" && g == "GRANT" && o == "OPTION" => p,
            _ => "",
        };
        if !allowed.contains(&name) {
            return Err(PgError::error(
                tusk_common::sqlstate::INVALID_PARAMETER_VALUE,
                format!("unrecognized privilege type: \"{}\"", item.trim()),
            ));
        }
    }
    Ok(())
}

/// An expression's text with each binary operator (outside function
/// arguments) in parentheses and the parentheses written dropped:
/// pg_get_expr without `pretty`. Text that is no expression stays.
fn parenthesized(text: &str) -> String {
    use sqlparser::ast::Expr as A;
    fn walk(e: &A) -> String {
        match e {
            A::BinaryOp { left, op, right } => format!("({} {op} {})", walk(left), walk(right)),
            A::Nested(inner) => walk(inner),
            other => other.to_string(),
        }
    }
    match crate::bind::rowexpr::parse_stored(text, "expression") {
        Ok(e) if matches!(e, A::BinaryOp { .. } | A::Nested(_)) => walk(&e),
        _ => text.to_string(),
    }
}

/// pg_get_expr over tusk's pg_node_tree columns, which hold the
/// expression's SQL text: a bare string literal is shown with the cast to
/// its column's type that PostgreSQL's deparser prints (`'x'::text`),
/// anything else as stored.
fn get_expr(host: &mut dyn Host, expr: &str, rel: u32) -> Result<String, PgError> {
    let e = expr.trim();
    let bare_string = e.len() >= 2
        && e.starts_with('\'')
        && e.ends_with('\'')
        && !e[1..e.len() - 1].replace("''", "").contains('\'');
    if !bare_string {
        return Ok(expr.to_string());
    }
    let rows = query(
        host,
        "SELECT d.adbin, a.atttypid, a.atttypmod \
         FROM pg_catalog.pg_attrdef d, pg_catalog.pg_attribute a \
         WHERE d.adrelid = $1 AND a.attrelid = d.adrelid AND a.attnum = d.adnum",
        &[types::OID],
        vec![Value::Oid(rel)],
    )?;
    let Some(r) = rows
        .iter()
        .find(|r| to_text(&r[0]).as_deref() == Some(expr))
    else {
        return Ok(expr.to_string());
    };
    let r = &r[1..];
    let ty = oid_arg(&r[0]).unwrap_or(types::TEXT);
    // The constant is of the column's type without its modifier (the
    // length check is a separate coercion PostgreSQL does not print).
    Ok(format!("{e}::{}", format_type(host, ty, None)?))
}

/// pg_get_indexdef: `CREATE [UNIQUE] INDEX name ON schema.table USING
/// btree (cols)` for column 0, else that key column's name. Columns with
/// DESC / NULLS FIRST (pg_index.indoption bits 1 and 2) say so.
fn index_def(host: &mut dyn Host, oid: u32, column: i64, pretty: bool) -> Result<Value, PgError> {
    let rows = query(
        host,
        "SELECT i.indrelid, i.indisunique, i.indkey::text, i.indoption::text, c.relname, \
         t.relname, n.nspname, am.amname, i.indexprs::text, i.indpred::text, \
         i.indnullsnotdistinct, i.indnkeyatts::int4 \
         FROM pg_catalog.pg_index i \
         JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid \
         JOIN pg_catalog.pg_class t ON t.oid = i.indrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
         LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam \
         WHERE i.indexrelid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    let Some(r) = rows.first() else {
        return Ok(Value::Null);
    };
    let rel = oid_arg(&r[0]).unwrap_or(0);
    let nums = |v: &Value| -> Vec<i64> {
        text(v)
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect()
    };
    let keys = nums(&r[2]);
    let options = nums(&r[3]);
    let mut exprs = to_text(&r[8])
        .map(|e| crate::index::stored_exprs(&e))
        .unwrap_or_default()
        .into_iter();
    let nkey = match r[11] {
        Value::Int4(n) => n as usize,
        _ => keys.len(),
    };
    let mut cols = Vec::new();
    let mut include = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        if *k == 0 {
            let e = exprs.next().unwrap_or_default();
            let e = if pretty {
                crate::index::pretty_expr(&e)
            } else {
                e
            };
            let c = if crate::index::looks_like_function(&e) {
                e
            } else {
                format!("({e})")
            };
            if column > 0 {
                if column as usize == i + 1 {
                    return Ok(Value::Text(c));
                }
                continue;
            }
            cols.push(index_col_options(c, options.get(i).copied().unwrap_or(0)));
            continue;
        }
        let name = query(
            host,
            "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attnum = $2",
            &[types::OID, types::INT2],
            vec![Value::Oid(rel), Value::Int2(*k as i16)],
        )?;
        let c = crate::routine::quote_ident(
            &name
                .first()
                .and_then(|r| r.first())
                .map(text)
                .unwrap_or_default(),
        );
        if column > 0 {
            if column as usize == i + 1 {
                return Ok(Value::Text(c));
            }
            continue;
        }
        if i >= nkey {
            include.push(c);
            continue;
        }
        cols.push(index_col_options(c, options.get(i).copied().unwrap_or(0)));
    }
    if column > 0 {
        return Ok(Value::Text(String::new()));
    }
    let q = crate::routine::quote_ident;
    let am = to_text(&r[7]).unwrap_or_else(|| "btree".into());
    let pred = match to_text(&r[9]) {
        Some(p) if pretty => format!(" WHERE {}", crate::index::pretty_expr(&p)),
        Some(p) => format!(" WHERE {p}"),
        None => String::new(),
    };
    // Pretty mode names the table unqualified when the search path
    // finds it (ruleutils' generate_relation_name).
    let visible = pretty
        && query(
            host,
            "SELECT pg_catalog.pg_table_is_visible($1)",
            &[types::OID],
            vec![Value::Oid(rel)],
        )?
        .first()
        .is_some_and(|r| r.first() == Some(&Value::Bool(true)));
    let table = if visible {
        q(&text(&r[5]))
    } else {
        format!("{}.{}", q(&text(&r[6])), q(&text(&r[5])))
    };
    let include = if include.is_empty() {
        String::new()
    } else {
        format!(" INCLUDE ({})", include.join(", "))
    };
    Ok(Value::Text(format!(
        "CREATE {}INDEX {} ON {table} USING {am} ({}){include}{}{pred}",
        if r[1] == Value::Bool(true) {
            "UNIQUE "
        } else {
            ""
        },
        q(&text(&r[4])),
        cols.join(", "),
        if r[10] == Value::Bool(true) {
            " NULLS NOT DISTINCT"
        } else {
            ""
        },
    )))
}

/// An index column with its DESC / NULLS FIRST (pg_index.indoption
/// bits 1 and 2) as pg_get_indexdef prints them.
fn index_col_options(mut c: String, opt: i64) -> String {
    let desc = opt & 1 != 0;
    let nulls_first = opt & 2 != 0;
    if desc {
        c.push_str(" DESC");
    }
    if nulls_first != desc {
        c.push_str(if nulls_first {
            " NULLS FIRST"
        } else {
            " NULLS LAST"
        });
    }
    c
}

/// The name of role `oid`, if it exists.
fn role_name(host: &mut dyn Host, oid: u32) -> Result<Option<String>, PgError> {
    let rows = query(
        host,
        "SELECT rolname FROM pg_catalog.pg_roles WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    Ok(rows.first().and_then(|r| r.first()).map(text))
}

/// PostgreSQL's encoding names by number (pg_wchar.h's order).
pub(crate) fn encoding_name(n: i64) -> Option<&'static str> {
    const NAMES: &[&str] = &[
        "SQL_ASCII",
        "EUC_JP",
        "EUC_CN",
        "EUC_KR",
        "EUC_TW",
        "EUC_JIS_2004",
        "UTF8",
        "MULE_INTERNAL",
        "LATIN1",
        "LATIN2",
        "LATIN3",
        "LATIN4",
        "LATIN5",
        "LATIN6",
        "LATIN7",
        "LATIN8",
        "LATIN9",
        "LATIN10",
        "WIN1256",
        "WIN1258",
        "WIN866",
        "WIN874",
        "KOI8R",
        "WIN1251",
        "WIN1252",
        "ISO_8859_5",
        "ISO_8859_6",
        "ISO_8859_7",
        "ISO_8859_8",
        "WIN1250",
        "WIN1253",
        "WIN1254",
        "WIN1255",
        "WIN1257",
        "KOI8U",
        "SJIS",
        "BIG5",
        "GBK",
        "UHC",
        "GB18030",
        "JOHAB",
        "SHIFT_JIS_2004",
    ];
    usize::try_from(n).ok().and_then(|i| NAMES.get(i).copied())
}

/// pg_size_pretty(bigint): bytes, then kB, MB, GB, TB, PB, each unit
/// taken once the value reaches 10240 of the previous one, halves
/// rounded away from zero as PostgreSQL's half_rounded.
/// The bytes of one fork of relation `oid` on disk: its file and 1 GB
/// segments (`base/<db>/<relfilenode>[_fsm|_vm|_init][.N]`, `global/` for
/// shared catalogs; the backend runs in the data directory). None for
/// an OID that is no relation, as PostgreSQL answers NULL; 0 for a
/// relation without storage.
fn fork_size(host: &mut dyn Host, oid: u32, fork: &str) -> Result<Option<i64>, PgError> {
    let suffix = match fork {
        "main" => "",
        "fsm" => "_fsm",
        "vm" => "_vm",
        "init" => "_init",
        _ => {
            return Err(PgError::error(
                tusk_common::sqlstate::INVALID_PARAMETER_VALUE,
                "invalid fork name",
            )
            .with_hint("Valid fork names are \"main\", \"fsm\", \"vm\", and \"init\"."))
        }
    };
    let rows = query(
        host,
        "SELECT relfilenode, relisshared, \
         (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) \
         FROM pg_catalog.pg_class WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let (Some(node), Some(db)) = (oid_arg(&r[0]), oid_arg(&r[2])) else {
        return Ok(Some(0));
    };
    if node == 0 {
        return Ok(Some(0));
    }
    let base = if r[1] == Value::Bool(true) {
        format!("global/{node}{suffix}")
    } else {
        format!("base/{db}/{node}{suffix}")
    };
    let mut total = 0i64;
    for seg in 0.. {
        let path = if seg == 0 {
            base.clone()
        } else {
            format!("{base}.{seg}")
        };
        match std::fs::metadata(&path) {
            Ok(m) => total += m.len() as i64,
            Err(_) => break,
        }
    }
    Ok(Some(total))
}

/// Every fork of `oid`.
fn all_forks(host: &mut dyn Host, oid: u32) -> Result<Option<i64>, PgError> {
    let mut total = None;
    for fork in ["main", "fsm", "vm", "init"] {
        if let Some(n) = fork_size(host, oid, fork)? {
            total = Some(total.unwrap_or(0) + n);
        }
    }
    Ok(total)
}

/// pg_table_size: the relation's forks, its TOAST table's and that
/// table's index's.
fn table_size(host: &mut dyn Host, oid: u32) -> Result<Option<i64>, PgError> {
    let Some(mut total) = all_forks(host, oid)? else {
        return Ok(None);
    };
    let toast = query(
        host,
        "SELECT reltoastrelid FROM pg_catalog.pg_class WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    if let Some(t) = toast
        .first()
        .and_then(|r| oid_arg(&r[0]))
        .filter(|&t| t != 0)
    {
        total += all_forks(host, t)?.unwrap_or(0);
        total += indexes_size(host, t)?.unwrap_or(0);
    }
    Ok(Some(total))
}

/// pg_indexes_size: the forks of every index on `oid`.
fn indexes_size(host: &mut dyn Host, oid: u32) -> Result<Option<i64>, PgError> {
    let exists = query(
        host,
        "SELECT 1 FROM pg_catalog.pg_class WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    if exists.is_empty() {
        return Ok(None);
    }
    let idx = query(
        host,
        "SELECT indexrelid FROM pg_catalog.pg_index WHERE indrelid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    let mut total = 0;
    for r in idx {
        if let Some(i) = oid_arg(&r[0]) {
            total += all_forks(host, i)?.unwrap_or(0);
        }
    }
    Ok(Some(total))
}

pub(crate) fn size_pretty(n: i64) -> String {
    const UNITS: &[&str] = &["kB", "MB", "GB", "TB", "PB"];
    let mut size = n as i128;
    if size.abs() < 10 * 1024 {
        return format!("{size} bytes");
    }
    // Each step keeps one extra bit so the last division can round.
    size >>= 9;
    for (i, unit) in UNITS.iter().enumerate() {
        let last = i == UNITS.len() - 1;
        if last || size.abs() < 20 * 1024 - 1 {
            let half = if size >= 0 {
                (size + 1) / 2
            } else {
                (size - 1) / 2
            };
            return format!("{half} {unit}");
        }
        size >>= 10;
    }
    unreachable!()
}

/// format_type(type, typmod): the SQL spelling of a type, its modifier
/// when one is given (`None` is SQL NULL: "no modifier"), `[]` for
/// arrays, `???` for an unknown OID.
pub(crate) fn format_type(
    host: &mut dyn Host,
    oid: u32,
    typmod: Option<i32>,
) -> Result<String, PgError> {
    let m = typmod.unwrap_or(-1);
    if let Some(elem) = types::array::elem_type(oid).filter(|_| types::type_info(oid).is_some()) {
        return Ok(format!("{}[]", format_type(host, elem, typmod)?));
    }
    let base = match oid {
        // bpchar with an explicit -1 is not character(1): PostgreSQL
        // prints the internal name so that it reads back the same.
        types::BPCHAR if typmod.is_some_and(|m| m < 0) => return Ok("bpchar".into()),
        types::BPCHAR => "character".to_string(),
        types::VARCHAR => "character varying".to_string(),
        types::NUMERIC => "numeric".to_string(),
        types::TIMESTAMP | types::TIMESTAMPTZ => {
            let zone = if oid == types::TIMESTAMP {
                "without"
            } else {
                "with"
            };
            return Ok(if m >= 0 {
                format!("timestamp({m}) {zone} time zone")
            } else {
                format!("timestamp {zone} time zone")
            });
        }
        o if types::type_info(o).is_some() => types::sql_name(o),
        o => {
            // A type of the database (not built in): its name, qualified
            // when search_path does not find it.
            let rows = query(
                host,
                "SELECT typname, typnamespace FROM pg_catalog.pg_type WHERE oid = $1",
                &[types::OID],
                vec![Value::Oid(o)],
            )?;
            let Some(r) = rows.first() else {
                return Ok("???".into());
            };
            let name = text(&r[0]);
            let nsp = oid_arg(&r[1]).unwrap_or(0);
            let probe = "SELECT 1 FROM pg_catalog.pg_type WHERE typname = $1 AND typnamespace = $2";
            if visible(host, nsp, &name, probe)? {
                crate::routine::quote_ident(&name)
            } else {
                let ns = query(
                    host,
                    "SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = $1",
                    &[types::OID],
                    vec![Value::Oid(nsp)],
                )?;
                let ns = ns
                    .first()
                    .and_then(|r| r.first())
                    .map(text)
                    .unwrap_or_default();
                format!(
                    "{}.{}",
                    crate::routine::quote_ident(&ns),
                    crate::routine::quote_ident(&name)
                )
            }
        }
    };
    Ok(match oid {
        types::BPCHAR | types::VARCHAR if m >= 4 => format!("{base}({})", m - 4),
        types::NUMERIC if m >= 4 => {
            let v = m - 4;
            format!(
                "{base}({},{})",
                (v >> 16) & 0xffff,
                ((v & 0x7ff) ^ 1024) - 1024
            )
        }
        _ => base,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_pretty_matches_postgres() {
        // Values checked against PostgreSQL 15's pg_size_pretty.
        assert_eq!(size_pretty(0), "0 bytes");
        assert_eq!(size_pretty(10239), "10239 bytes");
        assert_eq!(size_pretty(10240), "10 kB");
        assert_eq!(size_pretty(8192 * 1024), "8192 kB");
        assert_eq!(size_pretty(20 * 1024 * 1024), "20 MB");
        assert_eq!(size_pretty(-10240), "-10 kB");
        assert_eq!(size_pretty(1_000_000_000_000_000_000), "888 PB");
    }

    #[test]
    fn search_path_is_split_as_identifiers() {
        assert_eq!(split_path("\"$user\", public"), vec!["$user", "public"]);
        assert_eq!(split_path("A, \"My \"\"S\"\"\""), vec!["a", "My \"S\""]);
        assert_eq!(split_path(""), Vec::<String>::new());
    }

    #[test]
    fn encodings_by_number() {
        assert_eq!(encoding_name(6), Some("UTF8"));
        assert_eq!(encoding_name(0), Some("SQL_ASCII"));
        assert_eq!(encoding_name(-1), None);
    }
}
