//! DROP SCHEMA ... CASCADE: the schema's relations, sequences, routines, types and operators dropped before the schema itself.
//!
//! Why in the sql crate, through the same paths as the single DROPs: each
//! kind of object already has its drop with its dependency rules (views
//! over tables, foreign keys from other tables, owned sequences, indexes
//! and triggers going with their table); the cascade only finds what the
//! schema holds (pg_class, pg_proc, pg_type read with the statement's
//! snapshot) and hands each object to those drops, newest first, after
//! one NOTICE naming them in creation order as PostgreSQL's
//! reportDependentObjects does ("drop cascades to table s.t", or "drop
//! cascades to N other objects" with one DETAIL line each). Test suites
//! and ORMs reset a database with `DROP SCHEMA public CASCADE`.
//!
//! Called by the backend running the statement, inside its transaction:
//! a failure part way leaves nothing dropped once the statement aborts.

use tusk_common::{sqlstate, PgError, Severity};

use crate::catalog::{self, Relation};
use crate::host::Host;
use crate::sysinfo::query;
use crate::types;
use crate::value::{to_text, Value};

/// One object of the schema, as the NOTICE names it.
enum Member {
    Relation(Box<Relation>, &'static str),
    Sequence(String),
    Routine(std::rc::Rc<catalog::FuncDef>),
    Type(String),
    /// A text-search dictionary, configuration, template or parser.
    TextSearch(crate::tsddl::Kind, String),
    /// A user-defined operator (operator.rs).
    Operator(Box<crate::operator::OperDef>),
}

/// DROP SCHEMA `name` [CASCADE]'s work before the schema's row goes:
/// without CASCADE, 2BP01 naming what the schema holds (PostgreSQL's
/// "cannot drop schema s because other objects depend on it"); with it,
/// the NOTICE and the drops. Nothing when the schema does not exist (its
/// own drop reports that).
pub(crate) fn drop_contents(host: &mut dyn Host, name: &str, cascade: bool) -> Result<(), PgError> {
    let Some((nsp, members)) = members(host, name)? else {
        return Ok(());
    };
    if members.is_empty() {
        return Ok(());
    }
    // Objects are named with their schema unless it is on search_path,
    // as PostgreSQL's getObjectDescription does.
    let shown = if crate::sysinfo::search_path(host)?.contains(&nsp) {
        String::new()
    } else {
        format!("{name}.")
    };
    let mut op_args = std::collections::HashMap::new();
    for (_, m) in &members {
        if let Member::Operator(o) = m {
            let d = crate::operator::describe(host, o)?;
            op_args.insert(o.oid, d.trim_start_matches("operator ").to_string());
        }
    }
    let described: Vec<String> = members
        .iter()
        .map(|(_, m)| match m {
            Member::Relation(r, word) => format!("{word} {shown}{}", r.name),
            Member::Sequence(s) => format!("sequence {shown}{s}"),
            Member::Routine(f) => format!(
                "{} {shown}{}",
                if f.kind == b'p' {
                    "procedure"
                } else {
                    "function"
                },
                // getObjectDescription's format_procedure: no space
                // after the commas.
                f.context_signature()
            ),
            Member::Type(t) => format!("type {shown}{t}"),
            Member::TextSearch(k, n) => format!("{} {shown}{n}", k.word()),
            Member::Operator(o) => format!(
                "operator {shown}{}",
                op_args.get(&o.oid).cloned().unwrap_or_default()
            ),
        })
        .collect();
    if !cascade {
        let lines: Vec<String> = described
            .iter()
            .map(|d| format!("{d} depends on schema {name}"))
            .collect();
        return Err(PgError::error(
            catalog::codes::DEPENDENT_OBJECTS_STILL_EXIST,
            format!("cannot drop schema {name} because other objects depend on it"),
        )
        .with_detail(lines.join("\n"))
        .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
    }
    let lines: Vec<String> = described
        .iter()
        .map(|d| format!("drop cascades to {d}"))
        .collect();
    host.notice(cascade_notice(&lines));
    drop_members(host, name, &members)
}

/// What schema `name` holds, in creation order, with the schema's OID;
/// None when there is no such schema.
#[allow(clippy::type_complexity)]
fn members(host: &mut dyn Host, name: &str) -> Result<Option<(u32, Vec<(u32, Member)>)>, PgError> {
    let rows = query(
        host,
        "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1",
        &[types::NAME],
        vec![Value::Name(name.to_string())],
    )?;
    let Some(nsp) = rows.first().and_then(|r| r.first()).cloned() else {
        return Ok(None);
    };
    let nsp_oid = oid(&nsp);
    // (creation order, member); OIDs grow with creation.
    let mut members: Vec<(u32, Member)> = Vec::new();
    // Relations other than indexes and sequences a column owns (those go
    // with their table, and PostgreSQL does not name them either).
    let rels = query(
        host,
        "SELECT c.oid, c.relname, c.relkind FROM pg_catalog.pg_class c \
         WHERE c.relnamespace = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') \
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 1259 \
         AND d.objid = c.oid AND d.refclassid = 1259 AND d.deptype IN ('a', 'i'))",
        &[types::OID],
        vec![nsp.clone()],
    )?;
    for r in rels {
        let oid = oid(&r[0]);
        let rel_name = text(&r[1]);
        let member = match text(&r[2]).as_str() {
            "S" => Member::Sequence(rel_name),
            kind => {
                let rel = catalog::lookup(&*host, Some(name), &rel_name)?;
                let word = match kind {
                    "v" => "view",
                    "m" => "materialized view",
                    "f" => "foreign table",
                    _ => "table",
                };
                Member::Relation(Box::new(rel), word)
            }
        };
        members.push((oid, member));
    }
    let procs = query(
        host,
        "SELECT DISTINCT proname FROM pg_catalog.pg_proc WHERE pronamespace = $1",
        &[types::OID],
        vec![nsp.clone()],
    )?;
    for r in procs {
        for f in host.lookup_routines(Some(name), &text(&r[0]))? {
            if f.schema == name {
                members.push((f.oid, Member::Routine(f)));
            }
        }
    }
    // User-defined types (enums, composites, domains): not array types
    // and not the row types of tables and views, which go with them (a
    // composite type's own relkind 'c' relation goes with the type).
    let typs = query(
        host,
        "SELECT oid, typname FROM pg_catalog.pg_type WHERE typnamespace = $1 \
         AND typcategory <> 'A' AND (typrelid = 0 OR typrelid IN \
         (SELECT oid FROM pg_catalog.pg_class WHERE relkind = 'c'))",
        &[types::OID],
        vec![nsp],
    )?;
    for r in typs {
        members.push((oid(&r[0]), Member::Type(text(&r[1]))));
    }
    for (o, k, n) in crate::tsddl::schema_members(host, nsp_oid)? {
        members.push((o, Member::TextSearch(k, n)));
    }
    for o in host.user_operators()?.ops.iter() {
        if o.namespace == nsp_oid {
            members.push((o.oid, Member::Operator(Box::new(o.clone()))));
        }
    }
    members.sort_by_key(|(o, _)| *o);
    Ok(Some((nsp_oid, members)))
}

/// The cascade's drops: routines first (triggers name them, and the
/// tables' drops take the triggers), then relations newest first, then
/// sequences and types.
fn drop_members(host: &mut dyn Host, name: &str, members: &[(u32, Member)]) -> Result<(), PgError> {
    // Configurations may name dictionaries of other schemas; their rows
    // go first, then the dictionaries, templates and parsers.
    for (o, m) in members {
        if let Member::TextSearch(k, _) = m {
            crate::tsddl::remove(host, *k, *o)?;
        }
    }
    for (_, m) in members {
        if let Member::Operator(o) = m {
            crate::operator::delete_operator(host, o)?;
        }
    }
    for (_, m) in members {
        if let Member::Routine(f) = m {
            host.routines()?.drop_routine(f)?;
        }
    }
    let mut rels: Vec<Relation> = members
        .iter()
        .rev()
        .filter_map(|(_, m)| match m {
            Member::Relation(r, _) => Some((**r).clone()),
            _ => None,
        })
        .collect();
    if !rels.is_empty() {
        let tables: Vec<Relation> = rels
            .iter()
            .filter(|r| r.view_query.is_none())
            .cloned()
            .collect();
        crate::fkey::before_drop(host, &tables, true)?;
        // Each relation looked up again: a drop before it (a foreign
        // key's) may have changed it.
        for r in rels.iter_mut() {
            if let Some(now) = host.lookup_table(Some(name), &r.name)? {
                *r = now;
            }
        }
        crate::view::drop_relations(host, &rels, true)?;
    }
    let seqs: Vec<(Option<String>, String)> = members
        .iter()
        .filter_map(|(_, m)| match m {
            Member::Sequence(s) => Some((Some(name.to_string()), s.clone())),
            _ => None,
        })
        .collect();
    if !seqs.is_empty() {
        host.tables()?
            .sequence_command(&crate::sequence::SeqStmt::Drop {
                names: seqs,
                if_exists: true,
                cascade: true,
            })?;
    }
    for (_, m) in members {
        if let Member::Type(t) = m {
            let sql = format!(
                "DROP TYPE IF EXISTS {}.{} CASCADE",
                crate::utility::quote_identifier(name),
                crate::utility::quote_identifier(t)
            );
            query(host, &sql, &[], Vec::new())?;
        }
    }
    Ok(())
}

fn oid(v: &Value) -> u32 {
    match v {
        Value::Oid(o) => *o,
        Value::Int4(i) => *i as u32,
        Value::Int8(i) => *i as u32,
        _ => 0,
    }
}

fn text(v: &Value) -> String {
    to_text(v).unwrap_or_default()
}

/// PostgreSQL's NOTICE for what a DROP ... CASCADE drops besides the named
/// object: the one line itself, or "drop cascades to N other objects"
/// with every line (`drop cascades to <object>`) in the DETAIL. Any
/// backend; `lines` is not empty.
pub(crate) fn cascade_notice(lines: &[String]) -> PgError {
    if lines.len() == 1 {
        PgError::new(
            Severity::Notice,
            sqlstate::SUCCESSFUL_COMPLETION,
            lines[0].clone(),
        )
    } else {
        PgError::new(
            Severity::Notice,
            sqlstate::SUCCESSFUL_COMPLETION,
            format!("drop cascades to {} other objects", lines.len()),
        )
        .with_detail(lines.join("\n"))
    }
}
