//! CREATE/DROP FOREIGN TABLE: a table whose pg_class row has relkind 'f', its pg_foreign_table row (server, options) and its columns' attfdwoptions.
//!
//! Why built on CREATE TABLE: a foreign table has columns, defaults,
//! NOT NULL and CHECK constraints, inheritance and partitioning exactly
//! as a table has, and psql's `\d+` reads them from the same catalogs.
//! So the statement is rewritten on its tokens into the CREATE TABLE it
//! contains (the column OPTIONS clauses and the trailing SERVER ...
//! OPTIONS taken out), run as such, and the relation then becomes
//! foreign: relkind 'f', a pg_foreign_table row, the columns' options.
//! The heap file CREATE TABLE made stays empty and unused. Reading a
//! foreign table fails as in PostgreSQL for a wrapper without a handler
//! ([`no_handler`]), since tusk runs no wrappers. Called by the backend
//! running the statement.
//!
//! Not yet: ALTER FOREIGN TABLE, the positions of the constraint errors,
//! DROP TABLE's refusal of a foreign table.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};
use tusk_common::{sqlstate, PgError, Severity};

use crate::catalog::codes::WRONG_OBJECT_TYPE;
use crate::fdw::{err, oid_of, q, text_of, Opt, P};
use crate::host::Host;
use crate::role::{syntax_at, tokens, T};
use crate::types;
use crate::value::Value;

const TEXT_ARRAY: u32 = 1009;
/// pg_foreign_table and pg_attribute, the validator's contexts.
const PG_FOREIGN_TABLE: u32 = 3118;
const PG_ATTRIBUTE: u32 = 1249;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ForeignTableStmt {
    Create {
        /// The CREATE TABLE the statement contains.
        create_table: String,
        if_not_exists: bool,
        /// The table's name parts.
        name: Vec<String>,
        server: String,
        options: Vec<Opt>,
        /// (column, its OPTIONS).
        column_options: Vec<(String, Vec<Opt>)>,
    },
    Drop {
        names: Vec<Vec<String>>,
        if_exists: bool,
        cascade: bool,
    },
    /// ALTER FOREIGN TABLE: the ALTER TABLE of its subcommands other than
    /// OPTIONS (None when there are none), then the options changes.
    Alter {
        if_exists: bool,
        name: Vec<String>,
        alter_table: Option<String>,
        /// Table OPTIONS (ADD/SET/DROP ...).
        options: Vec<Opt>,
        /// (column, its OPTIONS changes).
        column_options: Vec<(String, Vec<Opt>)>,
    },
}

impl ForeignTableStmt {
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            ForeignTableStmt::Create { .. } => "CREATE FOREIGN TABLE",
            ForeignTableStmt::Drop { .. } => "DROP FOREIGN TABLE",
            ForeignTableStmt::Alter { .. } => "ALTER FOREIGN TABLE",
        }
    }
}

pub(crate) fn is_foreign_table_statement(w: &[&str]) -> bool {
    matches!(w, ["CREATE" | "DROP" | "ALTER", "FOREIGN", "TABLE", ..])
}

fn word(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

fn not_supported(what: &str) -> PgError {
    err(
        WRONG_OBJECT_TYPE,
        format!("{what} constraints are not supported on foreign tables"),
    )
}

/// OPTIONS ( ... ) read from its text.
fn options_of(text: &str) -> Result<Vec<Opt>, PgError> {
    let mut p = P {
        t: tokens(text)?,
        i: 0,
    };
    let o = p.options_list(false)?;
    p.end()?;
    Ok(o)
}

/// The text of tokens `a..b`.
fn text(toks: &[Token], a: usize, b: usize) -> String {
    toks[a..b.min(toks.len())]
        .iter()
        .map(|t| t.to_string())
        .collect()
}

/// ALTER FOREIGN TABLE [IF EXISTS] name subcommand [, ...]: OPTIONS
/// subcommands (table or column) kept apart, the rest an ALTER TABLE.
fn parse_alter(sql: &str) -> Result<ForeignTableStmt, PgError> {
    let mut rt = tokens(sql)?;
    rt.retain(|x| !matches!(x, T::Other(o) if o == ";"));
    let mut p = P { t: rt, i: 0 };
    p.expect("ALTER")?;
    p.expect("FOREIGN")?;
    p.expect("TABLE")?;
    let if_exists = if p.kw("IF") {
        p.expect("EXISTS")?;
        true
    } else {
        false
    };
    p.kw("ONLY");
    let name = p.dotted()?;
    let toks: Vec<Token> = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .map_err(|e| PgError::error(sqlstate::SYNTAX_ERROR, e.message))?
        .into_iter()
        .filter(|t| *t != Token::SemiColon)
        .collect();
    // Skip to just after the name: count the significant tokens the
    // role tokenizer read (the two agree on words, dots and strings).
    let mut seen = 0;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        if matches!(t, Token::Whitespace(_)) {
            continue;
        }
        if seen == p.i {
            start = i;
            break;
        }
        seen += 1;
        start = toks.len();
    }
    // Subcommands: split at depth-0 commas.
    let mut subs: Vec<(usize, usize)> = Vec::new();
    let mut depth = 0i32;
    let mut from = start;
    for (i, t) in toks.iter().enumerate().skip(start) {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                subs.push((from, i));
                from = i + 1;
            }
            _ => {}
        }
    }
    subs.push((from, toks.len()));
    let mut kept = Vec::new();
    let mut options = Vec::new();
    let mut column_options = Vec::new();
    for (a, b) in subs {
        let sub = text(&toks, a, b);
        let mut sp = P {
            t: tokens(&sub)?,
            i: 0,
        };
        if matches!(sp.peek(), Some(T::Word(k, _)) if k == "OPTIONS") {
            options.extend(sp.options_list(true)?);
            sp.end()?;
            continue;
        }
        if sp.kw("ADD") {
            if sp.kw("PRIMARY") {
                return Err(not_supported("primary key"));
            }
            if sp.kw("UNIQUE") {
                return Err(not_supported("unique"));
            }
            if sp.kw("FOREIGN") {
                return Err(not_supported("foreign key"));
            }
        }
        sp.i = 0;
        if sp.kw("ALTER") {
            sp.kw("COLUMN");
            if let Ok(col) = sp.name() {
                if matches!(sp.peek(), Some(T::Word(k, _)) if k == "OPTIONS") {
                    let o = sp.options_list(true)?;
                    sp.end()?;
                    column_options.push((col, o));
                    continue;
                }
            }
        }
        // ADD [COLUMN] c type ... OPTIONS (...): the options go apart.
        let sub_toks = &toks[a..b];
        let at = sub_toks
            .iter()
            .position(|t| word(t).as_deref() == Some("OPTIONS"));
        if let (Some(at), true) = (at, sub.trim_start().to_ascii_uppercase().starts_with("ADD")) {
            let mut j = at + 1;
            let mut d = 0;
            while j < sub_toks.len() {
                match sub_toks[j] {
                    Token::LParen => d += 1,
                    Token::RParen => {
                        d -= 1;
                        if d == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            let opts = options_of(&text(sub_toks, at, j + 1))?;
            let mut cp = P {
                t: tokens(&sub)?,
                i: 0,
            };
            cp.expect("ADD")?;
            cp.kw("COLUMN");
            let col = cp.name()?;
            column_options.push((col, opts));
            kept.push(format!(
                "{}{}",
                text(sub_toks, 0, at),
                text(sub_toks, j + 1, sub_toks.len())
            ));
            continue;
        }
        kept.push(sub);
    }
    let quoted = name
        .iter()
        .map(|n| crate::utility::quote_identifier(n))
        .collect::<Vec<_>>()
        .join(".");
    let alter_table = (!kept.is_empty()).then(|| {
        format!(
            "ALTER TABLE {}{quoted} {}",
            if if_exists { "IF EXISTS " } else { "" },
            kept.join(",")
        )
    });
    Ok(ForeignTableStmt::Alter {
        if_exists,
        name,
        alter_table,
        options,
        column_options,
    })
}

pub(crate) fn parse(sql: &str) -> Result<ForeignTableStmt, PgError> {
    if sql
        .trim_start()
        .get(..5)
        .is_some_and(|w| w.eq_ignore_ascii_case("ALTER"))
    {
        return parse_alter(sql);
    }
    let mut rt = tokens(sql)?;
    rt.retain(|x| !matches!(x, T::Other(o) if o == ";"));
    if matches!(rt.first(), Some(T::Word(k, _)) if k == "DROP") {
        let mut p = P { t: rt, i: 0 };
        p.expect("DROP")?;
        p.expect("FOREIGN")?;
        p.expect("TABLE")?;
        let if_exists = if p.kw("IF") {
            p.expect("EXISTS")?;
            true
        } else {
            false
        };
        let mut names = vec![p.dotted()?];
        while matches!(p.peek(), Some(T::Comma)) {
            p.i += 1;
            names.push(p.dotted()?);
        }
        let cascade = p.kw("CASCADE");
        if !cascade {
            p.kw("RESTRICT");
        }
        p.end()?;
        return Ok(ForeignTableStmt::Drop {
            names,
            if_exists,
            cascade,
        });
    }
    // The name: CREATE FOREIGN TABLE [IF NOT EXISTS] name.
    let mut p = P { t: rt, i: 0 };
    p.expect("CREATE")?;
    p.expect("FOREIGN")?;
    p.expect("TABLE")?;
    let if_not_exists = if p.kw("IF") {
        p.expect("NOT")?;
        p.expect("EXISTS")?;
        true
    } else {
        false
    };
    let name = p.dotted()?;

    let toks = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .map_err(|e| PgError::error(sqlstate::SYNTAX_ERROR, e.message))?;
    let mut out = String::new();
    let mut depth = 0usize;
    let mut saw_foreign = false;
    let mut column: Option<String> = None;
    let mut at_item_start = false;
    let mut column_options = Vec::new();
    let mut tail = None;
    let mut i = 0;
    let next_sig =
        |from: usize| (from..toks.len()).find(|&j| !matches!(toks[j], Token::Whitespace(_)));
    // 1-based character position of token i in the statement (the
    // tokens' texts are the statement's, for what precedes the OPTIONS
    // and constraints this looks at).
    let pos_of = |i: usize| -> u32 {
        toks[..i]
            .iter()
            .map(|t| t.to_string().chars().count() as u32)
            .sum::<u32>()
            + 1
    };
    while i < toks.len() {
        let t = &toks[i];
        let w = word(t);
        if !saw_foreign && w.as_deref() == Some("FOREIGN") {
            // CREATE FOREIGN TABLE -> CREATE TABLE.
            saw_foreign = true;
            i += 1;
            while matches!(toks.get(i), Some(Token::Whitespace(_))) {
                i += 1;
            }
            continue;
        }
        match t {
            Token::LParen => {
                depth += 1;
                if depth == 1 {
                    at_item_start = true;
                }
            }
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Comma if depth == 1 => {
                at_item_start = true;
                column = None;
            }
            Token::Whitespace(_) => {}
            _ if depth == 1 && at_item_start => {
                at_item_start = false;
                let table_constraint = matches!(
                    w.as_deref(),
                    Some(
                        "CONSTRAINT"
                            | "CHECK"
                            | "UNIQUE"
                            | "PRIMARY"
                            | "FOREIGN"
                            | "LIKE"
                            | "EXCLUDE"
                    )
                );
                if !table_constraint {
                    column = Some(match t {
                        Token::Word(x) if x.quote_style.is_some() => x.value.clone(),
                        Token::Word(x) => x.value.to_lowercase(),
                        other => other.to_string(),
                    });
                }
                let at = Some(pos_of(i));
                if w.as_deref() == Some("UNIQUE") {
                    return Err(not_supported("unique").with_position(at));
                }
                if w.as_deref() == Some("PRIMARY") {
                    return Err(not_supported("primary key").with_position(at));
                }
                if w.as_deref() == Some("FOREIGN") {
                    return Err(not_supported("foreign key").with_position(at));
                }
            }
            _ if depth == 1 => match w.as_deref() {
                Some("PRIMARY") => {
                    return Err(not_supported("primary key").with_position(Some(pos_of(i))))
                }
                Some("UNIQUE") => {
                    return Err(not_supported("unique").with_position(Some(pos_of(i))))
                }
                Some("REFERENCES") => {
                    return Err(not_supported("foreign key").with_position(Some(pos_of(i))))
                }
                Some("OPTIONS") if next_sig(i + 1).is_some_and(|j| toks[j] == Token::LParen) => {
                    // Take OPTIONS ( ... ) out, for the column.
                    let start = i;
                    let mut j = next_sig(i + 1).unwrap_or(i);
                    let mut d = 0;
                    while j < toks.len() {
                        match toks[j] {
                            Token::LParen => d += 1,
                            Token::RParen => {
                                d -= 1;
                                if d == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                    let text: String = toks[start..=j.min(toks.len() - 1)]
                        .iter()
                        .map(|t| t.to_string())
                        .collect();
                    let opts = options_of(&text)?;
                    if let Some(c) = &column {
                        column_options.push((c.clone(), opts));
                    }
                    i = j + 1;
                    continue;
                }
                _ => {}
            },
            _ if depth == 0 && w.as_deref() == Some("SERVER") => {
                let rest: String = toks[i..].iter().map(|t| t.to_string()).collect();
                tail = Some(rest);
                break;
            }
            _ => {}
        }
        out.push_str(&t.to_string());
        i += 1;
    }
    let Some(tail) = tail else {
        return Err(syntax_at(None));
    };
    let mut p = P {
        t: tokens(&tail)?,
        i: 0,
    };
    p.t.retain(|x| !matches!(x, T::Other(o) if o == ";"));
    p.expect("SERVER")?;
    let server = p.name()?;
    let options = p.options_list(false)?;
    p.end()?;
    Ok(ForeignTableStmt::Create {
        create_table: out,
        if_not_exists,
        name,
        server,
        options,
        column_options,
    })
}

fn split(name: &[String]) -> (Option<&str>, &str) {
    match name {
        [s, n] => (Some(s.as_str()), n.as_str()),
        [.., n] => (None, n.as_str()),
        [] => (None, ""),
    }
}

fn opts_value(opts: &[(String, String)]) -> Value {
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

pub(crate) fn run(stmt: &ForeignTableStmt, host: &mut dyn Host) -> Result<(), PgError> {
    match stmt {
        ForeignTableStmt::Create {
            create_table,
            if_not_exists,
            name,
            server,
            options,
            column_options,
        } => {
            let (schema, rel) = split(name);
            if *if_not_exists && crate::catalog::lookup(&*host, schema, rel).is_ok() {
                host.notice(PgError::new(
                    Severity::Notice,
                    sqlstate::SqlState::new("42P07"),
                    format!("relation \"{rel}\" already exists, skipping"),
                ));
                return Ok(());
            }
            let srv = crate::fdw::server_for_table(host, server)?;
            let validator = srv.1;
            let table_opts = crate::fdw::transform(options, validator, PG_FOREIGN_TABLE)?;
            let mut col_opts = Vec::new();
            for (c, o) in column_options {
                col_opts.push((
                    c.clone(),
                    crate::fdw::transform(o, validator, PG_ATTRIBUTE)?,
                ));
            }
            crate::sysinfo::query(host, create_table, &[], vec![])?;
            host.command_counter_increment();
            let oid = crate::catalog::lookup(&*host, schema, rel)?.table()?.oid;
            q(
                host,
                "UPDATE pg_catalog.pg_class SET relkind = $2, relam = 0 WHERE oid = $1",
                &[types::OID, types::CHAR],
                vec![Value::Oid(oid), Value::Char(b'f')],
            )?;
            q(
                host,
                "INSERT INTO pg_catalog.pg_foreign_table VALUES ($1, $2, $3)",
                &[types::OID, types::OID, TEXT_ARRAY],
                vec![Value::Oid(oid), Value::Oid(srv.0), opts_value(&table_opts)],
            )?;
            for (c, o) in col_opts {
                q(
                    host,
                    "UPDATE pg_catalog.pg_attribute SET attfdwoptions = $3 \
                     WHERE attrelid = $1 AND attname = $2",
                    &[types::OID, types::TEXT, TEXT_ARRAY],
                    vec![Value::Oid(oid), Value::Text(c), opts_value(&o)],
                )?;
            }
        }
        ForeignTableStmt::Alter {
            if_exists,
            name,
            alter_table,
            options,
            column_options,
        } => {
            let (schema, rel) = split(name);
            let found = match crate::catalog::lookup(&*host, schema, rel) {
                Ok(r) => r,
                Err(_) if *if_exists => {
                    host.notice(PgError::new(
                        Severity::Notice,
                        sqlstate::SUCCESSFUL_COMPLETION,
                        format!("relation \"{rel}\" does not exist, skipping"),
                    ));
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            if found.relkind != b'f' {
                return Err(err(
                    WRONG_OBJECT_TYPE,
                    format!("\"{rel}\" is not a foreign table"),
                ));
            }
            let oid = found.table()?.oid;
            // Column options are checked against the columns first.
            for (c, _) in column_options {
                if matches!(
                    c.as_str(),
                    "ctid" | "xmin" | "xmax" | "cmin" | "cmax" | "tableoid"
                ) {
                    return Err(err(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!("cannot alter system column \"{c}\""),
                    ));
                }
            }
            if let Some(sql) = alter_table {
                crate::sysinfo::query(host, sql, &[], vec![])?;
                host.command_counter_increment();
            }
            let rows = q(
                host,
                "SELECT f.ftoptions, f.ftserver FROM pg_catalog.pg_foreign_table f WHERE f.ftrelid = $1",
                &[types::OID],
                vec![Value::Oid(oid)],
            )?;
            let validator =
                crate::fdw::server_validator(host, oid_of(rows.first().and_then(|r| r.get(1))))?;
            if !options.is_empty() {
                let old = crate::fdw::stored_options(rows.first().and_then(|r| r.first()));
                let new =
                    crate::fdw::transform_existing(old, options, validator, PG_FOREIGN_TABLE)?;
                q(
                    host,
                    "UPDATE pg_catalog.pg_foreign_table SET ftoptions = $2 WHERE ftrelid = $1",
                    &[types::OID, TEXT_ARRAY],
                    vec![Value::Oid(oid), opts_value(&new)],
                )?;
            }
            for (c, items) in column_options {
                let rows = q(
                    host,
                    "SELECT attfdwoptions FROM pg_catalog.pg_attribute \
                     WHERE attrelid = $1 AND attname = $2 AND attnum > 0 AND NOT attisdropped",
                    &[types::OID, types::TEXT],
                    vec![Value::Oid(oid), Value::Text(c.clone())],
                )?;
                let Some(r) = rows.first() else {
                    return Err(err(
                        sqlstate::UNDEFINED_COLUMN,
                        format!("column \"{c}\" of relation \"{rel}\" does not exist"),
                    ));
                };
                let old = crate::fdw::stored_options(r.first());
                let new = crate::fdw::transform_existing(old, items, validator, PG_ATTRIBUTE)?;
                q(
                    host,
                    "UPDATE pg_catalog.pg_attribute SET attfdwoptions = $3 \
                     WHERE attrelid = $1 AND attname = $2",
                    &[types::OID, types::TEXT, TEXT_ARRAY],
                    vec![Value::Oid(oid), Value::Text(c.clone()), opts_value(&new)],
                )?;
            }
        }
        ForeignTableStmt::Drop {
            names,
            if_exists,
            cascade,
        } => {
            let mut drop = Vec::new();
            for name in names {
                let (schema, rel) = split(name);
                let found = match crate::catalog::lookup(&*host, schema, rel) {
                    Ok(r) => r,
                    Err(_) if *if_exists => {
                        host.notice(PgError::new(
                            Severity::Notice,
                            sqlstate::SUCCESSFUL_COMPLETION,
                            format!("foreign table \"{rel}\" does not exist, skipping"),
                        ));
                        continue;
                    }
                    Err(_) => {
                        return Err(err(
                            sqlstate::UNDEFINED_TABLE,
                            format!("foreign table \"{rel}\" does not exist"),
                        ))
                    }
                };
                if found.relkind != b'f' {
                    return Err(err(
                        WRONG_OBJECT_TYPE,
                        format!("\"{rel}\" is not a foreign table"),
                    )
                    .with_hint("Use DROP TABLE to remove a table."));
                }
                drop.push((found.table()?.oid, name.clone()));
            }
            if drop.is_empty() {
                return Ok(());
            }
            for (oid, _) in &drop {
                q(
                    host,
                    "DELETE FROM pg_catalog.pg_foreign_table WHERE ftrelid = $1",
                    &[types::OID],
                    vec![Value::Oid(*oid)],
                )?;
            }
            let list = drop
                .iter()
                .map(|(_, n)| {
                    n.iter()
                        .map(|p| crate::utility::quote_identifier(p))
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "DROP TABLE {list}{}",
                if *cascade { " CASCADE" } else { "" }
            );
            crate::sysinfo::query(host, &sql, &[], vec![])?;
        }
    }
    Ok(())
}

/// 55000 "foreign-data wrapper "w" has no handler": what reading
/// foreign table `relid` gives (tusk runs no wrapper's handler).
pub(crate) fn no_handler(host: &mut dyn Host, relid: u32) -> PgError {
    let rows = q(
        host,
        "SELECT w.fdwname::text FROM pg_catalog.pg_foreign_table f \
         JOIN pg_catalog.pg_foreign_server s ON s.oid = f.ftserver \
         JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw \
         WHERE f.ftrelid = $1",
        &[types::OID],
        vec![Value::Oid(relid)],
    );
    let name = rows
        .ok()
        .and_then(|r| r.first().and_then(|r| text_of(r.first())))
        .unwrap_or_default();
    let _ = oid_of;
    err(
        sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
        format!("foreign-data wrapper \"{name}\" has no handler"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_foreign_table_becomes_create_table() {
        let s = parse(
            "CREATE FOREIGN TABLE ft1 (c1 integer OPTIONS (\"param 1\" 'val1') NOT NULL, c2 text) SERVER s0 OPTIONS (delimiter ',')",
        )
        .unwrap();
        let ForeignTableStmt::Create {
            create_table,
            server,
            options,
            column_options,
            ..
        } = s
        else {
            panic!("not CREATE")
        };
        assert_eq!(
            create_table.trim(),
            "CREATE TABLE ft1 (c1 integer  NOT NULL, c2 text)"
        );
        assert_eq!(server, "s0");
        assert_eq!(options.len(), 1);
        assert_eq!(column_options[0].0, "c1");
        assert_eq!(column_options[0].1[0].name, "param 1");
        let e = parse("CREATE FOREIGN TABLE t (a int PRIMARY KEY) SERVER s").unwrap_err();
        assert_eq!(
            e.message,
            "primary key constraints are not supported on foreign tables"
        );
    }
}
