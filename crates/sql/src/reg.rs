//! The object-identifier alias types regclass, regtype, regproc,
//! regprocedure, regoper, regnamespace and regrole: an oid whose text form
//! is the name of the object it points at.
//!
//! Why here and not in tusk-types: reading and writing the name needs the
//! catalog (search_path, pg_class, pg_type, ...), which only a statement
//! running in a backend can read. So a reg* value is an ordinary
//! [`Value::Oid`] everywhere (comparisons, storage, the casts to and from
//! oid and the integers in tusk-types' cast.rs), and only two places turn
//! names into oids and back: casts from and to the string types
//! ([`cast`], called by the executor's Cast node instead of cast::cast),
//! and the rows a query hands out ([`name_output`], which makes the
//! [`Value::Reg`] the client sees). Unknown oids print as numbers and 0 as
//! `-`, and numeric input is taken without a lookup, as PostgreSQL does.
//! Which process may call: the backend running the statement.

use tusk_common::{sqlstate, PgError};

use crate::exec::Row;
use crate::host::Host;
use crate::routine::quote_ident;
use crate::sysinfo::query;
use crate::types::{self, Oid, Ty};
use crate::value::{to_text, Value};

/// Whether the cast `from` -> `to` has to read the catalog: string to
/// reg* (input) or reg* to string (output).
pub(crate) fn needs_catalog(from: Oid, to: Oid) -> bool {
    (types::is_reg(to) && is_string(from)) || (types::is_reg(from) && is_string(to))
}

fn is_string(oid: Oid) -> bool {
    matches!(
        oid,
        types::TEXT | types::VARCHAR | types::BPCHAR | types::NAME | types::UNKNOWN
    )
}

/// A cast that needs the catalog (see [`needs_catalog`]).
pub(crate) fn cast(v: Value, from: Oid, to: Ty, host: &mut dyn Host) -> Result<Value, PgError> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    if types::is_reg(to.oid) {
        let text = to_text(&v).unwrap_or_default();
        return Ok(Value::Oid(input(host, to.oid, &text)?));
    }
    let oid = match v {
        Value::Oid(o) | Value::Reg(o, _) => o,
        other => return crate::cast::cast(other, from, to, host.now()),
    };
    let name = output(host, from, oid)?;
    crate::cast::cast(Value::Text(name), types::TEXT, to, host.now())
}

/// Gives the reg*-typed columns of `row` their names (`types` are the
/// query's result column types), for the client.
pub(crate) fn name_output(
    row: &mut Row,
    types: &[Oid],
    host: &mut dyn Host,
) -> Result<(), PgError> {
    for (v, &t) in row.iter_mut().zip(types) {
        if let (true, Value::Oid(o)) = (types::is_reg(t), &*v) {
            let o = *o;
            *v = Value::Reg(o, output(host, t, o)?);
        }
    }
    Ok(())
}

fn first_oid(rows: &[Row]) -> Option<u32> {
    match rows.first().and_then(|r| r.first()) {
        Some(Value::Oid(o)) | Some(Value::Reg(o, _)) => Some(*o),
        _ => None,
    }
}

fn first_text(rows: &[Row], col: usize) -> Option<String> {
    rows.first().and_then(|r| r.get(col)).and_then(to_text)
}

fn invalid_name() -> PgError {
    PgError::error(sqlstate::INVALID_NAME, "invalid name syntax")
}

/// A dotted name as PostgreSQL's stringToQualifiedNameList reads it:
/// double-quoted parts kept as written, bare ones lower-cased, white
/// space around parts ignored.
pub(crate) fn split_name(s: &str) -> Result<Vec<String>, PgError> {
    let mut parts = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(invalid_name()),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    Some('"') => break,
                    Some(c) => part.push(c),
                }
            }
            if part.is_empty() {
                return Err(invalid_name());
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' || c.is_whitespace() || c == '"' {
                    break;
                }
                part.extend(c.to_lowercase());
                chars.next();
            }
            if part.is_empty() {
                return Err(invalid_name());
            }
        }
        parts.push(crate::cast::truncate_name(&part).to_string());
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return Ok(parts),
            Some('.') => {}
            Some(_) => return Err(invalid_name()),
        }
    }
}

/// The oid of the schema named `name`: 3F000 when there is none.
fn schema_oid(host: &mut dyn Host, name: &str) -> Result<u32, PgError> {
    let rows = query(
        host,
        "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1",
        &[types::NAME],
        vec![Value::Name(name.into())],
    )?;
    first_oid(&rows).ok_or_else(|| {
        PgError::error(
            crate::catalog::codes::INVALID_SCHEMA_NAME,
            format!("schema \"{name}\" does not exist"),
        )
    })
}

/// Finds `name` in the schemas of a qualified name (`parts` minus the
/// last) or along search_path: `probe` takes ($1 name, $2 schema oid).
fn find_in_schemas(
    host: &mut dyn Host,
    parts: &[String],
    probe: &str,
) -> Result<Option<u32>, PgError> {
    let (name, schemas) = match parts {
        [n] => (n, crate::sysinfo::search_path(host)?),
        [s, n] => (n, vec![schema_oid(host, s)?]),
        [db, s, n] => {
            if *db != host.identity().database {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "cross-database references are not implemented: \"{}\"",
                        parts.join(".")
                    ),
                ));
            }
            (n, vec![schema_oid(host, s)?])
        }
        _ => {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                format!(
                    "improper qualified name (too many dotted names): {}",
                    parts.join(".")
                ),
            ))
        }
    };
    for nsp in schemas {
        let rows = query(
            host,
            probe,
            &[types::NAME, types::OID],
            vec![Value::Name(name.clone()), Value::Oid(nsp)],
        )?;
        if let Some(o) = first_oid(&rows) {
            return Ok(Some(o));
        }
    }
    Ok(None)
}

/// The input function of reg* type `ty`: a number is taken as the oid
/// itself, `-` as 0, anything else looked up by name.
///
/// Names found are remembered per backend under the catalog generation
/// and search_path (`Host::plan_generation`: none while this transaction
/// changed the catalog), so that `WHERE attrelid = 't'::regclass` does
/// not look `t` up again for every row it filters. Role names are not
/// kept: roles live outside the catalog generation.
pub(crate) fn input(host: &mut dyn Host, ty: Oid, text: &str) -> Result<u32, PgError> {
    let s = text.trim();
    if s == "-" {
        return Ok(0);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return match crate::cast::input(s, Ty::new(types::OID), 0)? {
            Value::Oid(o) => Ok(o),
            _ => Err(invalid_name()),
        };
    }
    let key = match host.plan_generation() {
        Some(g) if ty != types::REGROLE => {
            let path = host.show("search_path").unwrap_or_default();
            Some((g, (ty, s.to_string(), path)))
        }
        _ => None,
    };
    if let Some((g, k)) = &key {
        let hit = NAME_CACHE.with(|c| {
            let c = c.borrow();
            if c.0 == *g {
                c.1.get(k).copied()
            } else {
                None
            }
        });
        if let Some(o) = hit {
            return Ok(o);
        }
    }
    let oid = lookup(host, ty, s)?;
    if let Some((g, k)) = key {
        NAME_CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.0 != g {
                c.1.clear();
                c.0 = g;
            }
            c.1.insert(k, oid);
        });
    }
    Ok(oid)
}

type NameKey = (Oid, String, String);

thread_local! {
    /// (catalog generation, (type, name, search_path) -> oid).
    static NAME_CACHE: std::cell::RefCell<(u64, std::collections::HashMap<NameKey, u32>)> =
        std::cell::RefCell::new((u64::MAX, std::collections::HashMap::new()));
}

/// [`input`]'s catalog lookup of a name.
fn lookup(host: &mut dyn Host, ty: Oid, s: &str) -> Result<u32, PgError> {
    match ty {
        types::REGCLASS => {
            let parts = split_name(s)?;
            if parts.len() > 3 {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    format!(
                        "improper relation name (too many dotted names): {}",
                        parts.join(".")
                    ),
                ));
            }
            find_in_schemas(
                host,
                &parts,
                "SELECT oid FROM pg_catalog.pg_class WHERE relname = $1 AND relnamespace = $2",
            )?
            .ok_or_else(|| {
                PgError::error(
                    sqlstate::UNDEFINED_TABLE,
                    format!("relation \"{}\" does not exist", parts.join(".")),
                )
            })
        }
        types::REGTYPE => {
            // Built-in types by their SQL spelling (modifiers dropped, as
            // regtypein does), then the database's own types by name.
            if let Some(t) = builtin_type(s) {
                return Ok(t);
            }
            // Pseudo-types psql's queries name (`\dfn` excludes trigger
            // functions by 'pg_catalog.trigger'::regtype).
            let bare = s.trim().strip_prefix("pg_catalog.").unwrap_or(s.trim());
            match bare.to_ascii_lowercase().as_str() {
                "trigger" => return Ok(crate::trigger::TRIGGER),
                "void" => return Ok(types::VOID),
                "record" => return Ok(types::RECORD),
                _ => {}
            }
            let parts = split_name(s).map_err(|_| undefined_type(s))?;
            find_in_schemas(
                host,
                &parts,
                "SELECT oid FROM pg_catalog.pg_type WHERE typname = $1 AND typnamespace = $2",
            )?
            .ok_or_else(|| undefined_type(s))
        }
        types::REGNAMESPACE => {
            let parts = split_name(s)?;
            if parts.len() != 1 {
                return Err(invalid_name());
            }
            schema_oid(host, &parts[0])
        }
        types::REGROLE => {
            let parts = split_name(s)?;
            if parts.len() != 1 {
                return Err(invalid_name());
            }
            let rows = query(
                host,
                "SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1",
                &[types::NAME],
                vec![Value::Name(parts[0].clone())],
            )?;
            first_oid(&rows).ok_or_else(|| {
                PgError::error(
                    sqlstate::UNDEFINED_OBJECT,
                    format!("role \"{}\" does not exist", parts[0]),
                )
            })
        }
        types::REGPROC | types::REGPROCEDURE => {
            // regproc: a unique function name; regprocedure: the name
            // with argument types, compared with each candidate's output.
            let (name_part, args) = match s.find('(') {
                Some(i) if ty == types::REGPROCEDURE => (&s[..i], Some(&s[i..])),
                _ => (s, None),
            };
            let missing = || {
                PgError::error(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("function \"{s}\" does not exist"),
                )
            };
            let parts = split_name(name_part)?;
            let name = parts.last().cloned().unwrap_or_default();
            let rows = query(
                host,
                "SELECT oid FROM pg_catalog.pg_proc WHERE proname = $1 ORDER BY oid",
                &[types::NAME],
                vec![Value::Name(name)],
            )?;
            let oids: Vec<u32> = rows
                .iter()
                .filter_map(|r| first_oid(std::slice::from_ref(r)))
                .collect();
            match args {
                None => match oids.as_slice() {
                    [] => Err(missing()),
                    [one] => Ok(*one),
                    _ => Err(PgError::error(
                        sqlstate::AMBIGUOUS_FUNCTION,
                        format!("more than one function named \"{s}\""),
                    )),
                },
                Some(_) => {
                    // The argument types as the binder reads them (`int`
                    // is integer), compared without schema qualification.
                    let unqualified = |t: String| -> String {
                        let t: String = t.chars().filter(|c| !c.is_whitespace()).collect();
                        let paren = t.find('(').unwrap_or(t.len());
                        match t[..paren].rfind('.') {
                            Some(d) => t[d + 1..].to_string(),
                            None => t,
                        }
                    };
                    let want = match crate::routine::signature_list(&*host, s) {
                        Ok(v) if v.len() == 1 => {
                            let (_, name, args) = &v[0];
                            let args: Vec<String> =
                                args.iter().flatten().map(|&t| types::sql_name(t)).collect();
                            unqualified(format!("{name}({})", args.join(",")))
                        }
                        _ => unqualified(s.to_string()),
                    };
                    for o in oids {
                        let have = unqualified(output(host, types::REGPROCEDURE, o)?);
                        if have == want {
                            return Ok(o);
                        }
                    }
                    Err(missing())
                }
            }
        }
        // `name(left,right)`, NONE for a prefix operator's left side.
        types::REGOPERATOR => {
            let (Some(open), true) = (s.find('('), s.ends_with(')')) else {
                return Err(PgError::error(
                    sqlstate::INVALID_TEXT_REPRESENTATION,
                    "expected a left parenthesis",
                ));
            };
            let parts = split_name(&s[..open])?;
            let (schema, name) = match parts.as_slice() {
                [n] => (None, n.clone()),
                [sch, n] => (Some(sch.clone()), n.clone()),
                _ => return Err(invalid_name()),
            };
            let args: Vec<&str> = s[open + 1..s.len() - 1].split(',').map(str::trim).collect();
            let [l, r] = args.as_slice() else {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_PARAMETER,
                    "expected two type names",
                )
                .with_hint("Provide two argument types for operator."));
            };
            let ty = |host: &mut dyn Host, t: &str| -> Result<Oid, PgError> {
                if t.eq_ignore_ascii_case("none") {
                    return Ok(0);
                }
                Ok(crate::routine::resolve_type(&*host, t)?.oid)
            };
            let (l, r) = (ty(host, l)?, ty(host, r)?);
            let path = match &schema {
                Some(_) => Vec::new(),
                None => crate::sysinfo::search_path(host)?,
            };
            let cat = host.user_operators()?;
            let found = cat.ops.iter().find(|o| {
                o.name == name
                    && o.left == l
                    && o.right == r
                    && match &schema {
                        Some(sch) => &o.schema == sch,
                        None => path.contains(&o.namespace),
                    }
            });
            match found {
                Some(o) => Ok(o.oid),
                None => Err(PgError::error(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("operator does not exist: {s}"),
                )),
            }
        }
        // Only user-defined operators have pg_operator rows (operator.rs).
        types::REGOPER => {
            let parts = split_name(s)?;
            let (schema, name) = match parts.as_slice() {
                [n] => (None, n.clone()),
                [sch, n] => (Some(sch.clone()), n.clone()),
                _ => return Err(invalid_name()),
            };
            let path = match &schema {
                Some(_) => Vec::new(),
                None => crate::sysinfo::search_path(host)?,
            };
            let cat = host.user_operators()?;
            let found: Vec<u32> = cat
                .ops
                .iter()
                .filter(|o| {
                    o.name == name
                        && match &schema {
                            Some(sch) => &o.schema == sch,
                            None => path.contains(&o.namespace),
                        }
                })
                .map(|o| o.oid)
                .collect();
            match found.as_slice() {
                [o] => Ok(*o),
                [] => Err(PgError::error(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("operator does not exist: {s}"),
                )),
                _ => Err(PgError::error(
                    sqlstate::AMBIGUOUS_FUNCTION,
                    format!("more than one operator named {s}"),
                )),
            }
        }
        _ => Err(PgError::error(
            sqlstate::UNDEFINED_FUNCTION,
            format!("operator does not exist: {s}"),
        )),
    }
}

fn undefined_type(s: &str) -> PgError {
    PgError::error(
        sqlstate::UNDEFINED_OBJECT,
        format!("type \"{s}\" does not exist"),
    )
}

/// A built-in type by its SQL spelling (`character varying(10)`,
/// `int4[]`), as the binder reads a type name.
fn builtin_type(s: &str) -> Option<Oid> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let mut p = sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(s)
        .ok()?;
    let dt = p.parse_data_type().ok()?;
    if p.peek_token().token != sqlparser::tokenizer::Token::EOF {
        return None;
    }
    // A domain is its own type here, not its base type.
    if let Some(d) = crate::domain::domain_of_data_type(&dt) {
        return Some(d.oid);
    }
    crate::bind::data_type_to_ty(&dt).ok().map(|t| t.oid)
}

/// The output function of reg* type `ty` for `oid`: the object's name,
/// schema-qualified when search_path would not find it; the number when
/// no such object exists; `-` for 0.
///
/// Cached as [`input`] is (per catalog generation and search_path), so
/// that `attrelid::regclass::text` over pg_attribute does not query the
/// catalog again for every row.
pub(crate) fn output(host: &mut dyn Host, ty: Oid, oid: u32) -> Result<String, PgError> {
    if oid == 0 {
        return Ok("-".into());
    }
    let key = match host.plan_generation() {
        Some(g) if ty != types::REGROLE => {
            let path = host.show("search_path").unwrap_or_default();
            Some((g, (ty, oid, path)))
        }
        _ => None,
    };
    if let Some((g, k)) = &key {
        let hit = OID_CACHE.with(|c| {
            let c = c.borrow();
            if c.0 == *g {
                c.1.get(k).cloned()
            } else {
                None
            }
        });
        if let Some(s) = hit {
            return Ok(s);
        }
    }
    let out = output_uncached(host, ty, oid)?;
    if let Some((g, k)) = key {
        OID_CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.0 != g {
                c.1.clear();
                c.0 = g;
            }
            c.1.insert(k, out.clone());
        });
    }
    Ok(out)
}

thread_local! {
    /// (catalog generation, (type, oid, search_path) -> name).
    #[allow(clippy::type_complexity)]
    static OID_CACHE: std::cell::RefCell<(u64, std::collections::HashMap<(Oid, u32, String), String>)> =
        std::cell::RefCell::new((u64::MAX, std::collections::HashMap::new()));
}

fn output_uncached(host: &mut dyn Host, ty: Oid, oid: u32) -> Result<String, PgError> {
    let qualified = |host: &mut dyn Host, nsp: u32, name: &str, probe: &str| {
        if crate::sysinfo::visible(host, nsp, name, probe)? {
            return Ok::<_, PgError>(quote_ident(name));
        }
        let ns = query(
            host,
            "SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = $1",
            &[types::OID],
            vec![Value::Oid(nsp)],
        )?;
        let ns = first_text(&ns, 0).unwrap_or_default();
        Ok(format!("{}.{}", quote_ident(&ns), quote_ident(name)))
    };
    let one =
        |host: &mut dyn Host, sql: &str| query(host, sql, &[types::OID], vec![Value::Oid(oid)]);
    let out = match ty {
        types::REGCLASS => {
            let rows = one(
                host,
                "SELECT relname, relnamespace FROM pg_catalog.pg_class WHERE oid = $1",
            )?;
            match rows.first() {
                // The built-in text-search functions of template and parser rows.
                None => crate::tsddl::builtin_proc_name(oid, ty == types::REGPROCEDURE),
                Some(r) => {
                    let name = to_text(&r[0]).unwrap_or_default();
                    let nsp = match r[1] {
                        Value::Oid(o) => o,
                        _ => 0,
                    };
                    Some(qualified(
                        host,
                        nsp,
                        &name,
                        "SELECT 1 FROM pg_catalog.pg_class WHERE relname = $1 AND relnamespace = $2",
                    )?)
                }
            }
        }
        types::REGTYPE => {
            let s = crate::sysinfo::format_type(host, oid, None)?;
            (s != "???").then_some(s)
        }
        types::REGNAMESPACE => first_text(
            &one(
                host,
                "SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = $1",
            )?,
            0,
        )
        .map(|n| quote_ident(&n)),
        types::REGROLE => first_text(
            &one(
                host,
                "SELECT rolname FROM pg_catalog.pg_roles WHERE oid = $1",
            )?,
            0,
        )
        .map(|n| quote_ident(&n)),
        types::REGOPER => host
            .user_operators()?
            .ops
            .iter()
            .find(|o| o.oid == oid)
            .map(|o| o.name.clone()),
        types::REGOPERATOR => {
            let o = host
                .user_operators()?
                .ops
                .iter()
                .find(|o| o.oid == oid)
                .cloned();
            match o {
                Some(o) => {
                    let l = if o.left == 0 {
                        "NONE".to_string()
                    } else {
                        crate::sysinfo::format_type(host, o.left, None)?
                    };
                    let r = crate::sysinfo::format_type(host, o.right, None)?;
                    Some(format!("{}({l},{r})", o.name))
                }
                None => None,
            }
        }
        types::REGPROC | types::REGPROCEDURE => {
            let rows = one(
                host,
                "SELECT proname, pronamespace FROM pg_catalog.pg_proc WHERE oid = $1",
            )?;
            match rows.first() {
                // The built-in functions a user-defined operator may
                // name (operator.rs).
                None if crate::operator::builtin_proc(oid).is_some() => {
                    let p = crate::operator::builtin_proc(oid).expect("checked");
                    Some(if ty == types::REGPROC {
                        p.name.to_string()
                    } else {
                        let args: Vec<String> =
                            p.args.iter().map(|&t| types::sql_name(t)).collect();
                        format!("{}({})", p.name, args.join(","))
                    })
                }
                // The built-in function a catalog row may name (fdw.rs).
                None if oid == crate::fdw::POSTGRESQL_FDW_VALIDATOR => {
                    Some(if ty == types::REGPROC {
                        "postgresql_fdw_validator".to_string()
                    } else {
                        "postgresql_fdw_validator(text[],oid)".to_string()
                    })
                }
                None => None,
                Some(r) => {
                    let name = to_text(&r[0]).unwrap_or_default();
                    let nsp = match r[1] {
                        Value::Oid(o) => o,
                        _ => 0,
                    };
                    let base = qualified(
                        host,
                        nsp,
                        &name,
                        "SELECT 1 FROM pg_catalog.pg_proc WHERE proname = $1 AND pronamespace = $2",
                    )?;
                    if ty == types::REGPROC {
                        Some(base)
                    } else {
                        let args = match host.routine_by_oid(oid)? {
                            Some(d) => {
                                let mut a = Vec::new();
                                for t in &d.arg_types {
                                    a.push(crate::sysinfo::format_type(host, *t, None)?);
                                }
                                a.join(",")
                            }
                            None => String::new(),
                        };
                        Some(format!("{base}({args})"))
                    }
                }
            }
        }
        _ => None,
    };
    Ok(out.unwrap_or_else(|| oid.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_as_postgres_reads_them() {
        assert_eq!(split_name(" T ").unwrap(), vec!["t"]);
        assert_eq!(
            split_name("Public.\"My T\"").unwrap(),
            vec!["public", "My T"]
        );
        assert_eq!(split_name("\"a\"\"b\"").unwrap(), vec!["a\"b"]);
        for bad in ["a b", "", "a.", "\"\"", "\"open"] {
            assert_eq!(split_name(bad).unwrap_err().code, "42602", "{bad}");
        }
    }

    #[test]
    fn only_string_casts_need_the_catalog() {
        assert!(needs_catalog(types::UNKNOWN, types::REGCLASS));
        assert!(needs_catalog(types::REGTYPE, types::TEXT));
        assert!(!needs_catalog(types::OID, types::REGCLASS));
        assert!(!needs_catalog(types::REGCLASS, types::INT8));
    }
}
