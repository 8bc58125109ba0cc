//! COMMENT ON ... IS '...': object descriptions kept in pg_description as PostgreSQL keeps them.
//!
//! Why catalog DML through the SQL layer rather than a host call: a
//! description is one row (objoid, classoid, objsubid, description) in a
//! heap catalog that psql's `\d+`, `\dt+`, obj_description() and pg_dump
//! already read; deleting the old row and inserting the new one with the
//! statement's transaction makes COMMENT transactional for free, exactly
//! as PostgreSQL's CreateComments is. The object is resolved the way the
//! reg* types resolve names (search_path, PostgreSQL's errors), so the
//! messages for a missing or wrong-kind object are PostgreSQL's.
//!
//! The statement is read from its tokens (sqlparser's COMMENT grammar has
//! no CONSTRAINT/TRIGGER forms nor function argument lists). Called by the
//! backend running the statement.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};
use tusk_common::{sqlstate, PgError};

use crate::host::Host;
use crate::sysinfo::query;
use crate::types;
use crate::value::Value;

/// pg_class, pg_proc, pg_type, pg_namespace, pg_constraint, pg_trigger.
const PG_CLASS: u32 = 1259;
const PG_PROC: u32 = 1255;
const PG_TYPE: u32 = 1247;
const PG_NAMESPACE: u32 = 2615;
const PG_CONSTRAINT: u32 = 2606;
const PG_TRIGGER: u32 = 2620;
const PG_REWRITE: u32 = 2618;

/// What the comment is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// TABLE, VIEW, MATERIALIZED VIEW, SEQUENCE, INDEX: the name and the
    /// relkinds that kind of object may have, with its noun.
    Relation {
        name: String,
        relkinds: &'static str,
        noun: &'static str,
    },
    /// COLUMN rel.col.
    Column {
        rel: String,
        column: String,
    },
    Schema(String),
    /// FUNCTION/PROCEDURE/ROUTINE name[(argument types)]: the name's
    /// parts, the argument list's text.
    Routine {
        name: Vec<String>,
        args: Option<String>,
    },
    /// TYPE or DOMAIN.
    Type(String),
    /// CONSTRAINT name ON [DOMAIN] rel.
    Constraint {
        name: String,
        on: String,
        domain: bool,
    },
    /// FOREIGN DATA WRAPPER, SERVER, PUBLICATION or SUBSCRIPTION name:
    /// (catalog, name).
    Fdw(u32, String),
    /// TRIGGER name ON rel.
    Trigger {
        name: String,
        on: String,
    },
    /// RULE name ON rel (crates/sql/src/rules.rs).
    Rule {
        name: String,
        on: String,
    },
    /// OPERATOR name (left, right) (crates/sql/src/operator.rs).
    Operator(crate::operator::OperSig),
}

/// A parsed COMMENT statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comment {
    pub target: Target,
    /// None (IS NULL) or empty removes the comment.
    pub text: Option<String>,
}

fn syntax_at(what: &str) -> PgError {
    PgError::error(
        sqlstate::SYNTAX_ERROR,
        format!("syntax error at or near \"{what}\""),
    )
}

/// Parse `COMMENT ON <object> IS <string | NULL>`.
pub(crate) fn parse(sql: &str) -> Result<Comment, PgError> {
    let toks: Vec<Token> = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .map_err(|e| PgError::error(sqlstate::SYNTAX_ERROR, e.to_string()))?
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_) | Token::SemiColon))
        .collect();
    let kw = |t: &Token| match t {
        Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
        _ => String::new(),
    };
    // The text: the token after the last IS.
    let Some(is_at) = toks.iter().rposition(|t| kw(t) == "IS") else {
        return Err(syntax_at(
            &toks.last().map(|t| t.to_string()).unwrap_or_default(),
        ));
    };
    let text = match toks.get(is_at + 1) {
        Some(Token::SingleQuotedString(s))
        | Some(Token::EscapedStringLiteral(s))
        | Some(Token::NationalStringLiteral(s)) => Some(s.clone()),
        Some(Token::DollarQuotedString(d)) => Some(d.value.clone()),
        Some(t) if kw(t) == "NULL" => None,
        Some(t) => return Err(syntax_at(&t.to_string())),
        None => return Err(syntax_at("end of input")),
    };
    if let Some(t) = toks.get(is_at + 2) {
        return Err(syntax_at(&t.to_string()));
    }
    let head = &toks[..is_at];
    if head.len() < 3 || kw(&head[0]) != "COMMENT" || kw(&head[1]) != "ON" {
        return Err(syntax_at(
            &head.first().map(|t| t.to_string()).unwrap_or_default(),
        ));
    }
    if kw(&head[2]) == "OPERATOR"
        && !matches!(head.get(3).map(kw).as_deref(), Some("CLASS" | "FAMILY"))
    {
        return Ok(Comment {
            target: Target::Operator(crate::operator::comment_target(sql)?),
            text,
        });
    }
    let (kind, rest) = match (kw(&head[2]).as_str(), head.get(3).map(kw).as_deref()) {
        ("MATERIALIZED", Some("VIEW")) => ("MATERIALIZED VIEW", &head[4..]),
        ("FOREIGN", Some("DATA")) if head.get(4).map(kw).as_deref() == Some("WRAPPER") => {
            ("FOREIGN DATA WRAPPER", &head[5..])
        }
        ("FOREIGN", Some("TABLE")) => ("FOREIGN TABLE", &head[4..]),
        (k, _) => (
            match k {
                "TABLE" => "TABLE",
                "VIEW" => "VIEW",
                "SEQUENCE" => "SEQUENCE",
                "INDEX" => "INDEX",
                "COLUMN" => "COLUMN",
                "SCHEMA" => "SCHEMA",
                "FUNCTION" => "FUNCTION",
                "PROCEDURE" => "PROCEDURE",
                "ROUTINE" => "ROUTINE",
                "TYPE" => "TYPE",
                "DOMAIN" => "DOMAIN",
                "CONSTRAINT" => "CONSTRAINT",
                "TRIGGER" => "TRIGGER",
                "RULE" => "RULE",
                "SERVER" => "SERVER",
                "PUBLICATION" => "PUBLICATION",
                "SUBSCRIPTION" => "SUBSCRIPTION",
                "" => return Err(syntax_at(&head[2].to_string())),
                _ => {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!("COMMENT ON {k} is not supported yet"),
                    ))
                }
            },
            &head[3..],
        ),
    };
    if rest.is_empty() {
        return Err(syntax_at("IS"));
    }
    let relation = |relkinds, noun| -> Result<Target, PgError> {
        Ok(Target::Relation {
            name: name_text(rest)?,
            relkinds,
            noun,
        })
    };
    let target = match kind {
        "TABLE" => relation("rpf", "a table")?,
        "FOREIGN TABLE" => relation("f", "a foreign table")?,
        "PUBLICATION" | "SUBSCRIPTION" => {
            let parts = name_parts(rest)?;
            if parts.len() != 1 {
                return Err(syntax_at("."));
            }
            let class = if kind == "PUBLICATION" {
                crate::publication::PG_PUBLICATION
            } else {
                crate::subscription::PG_SUBSCRIPTION
            };
            Target::Fdw(class, parts[0].clone())
        }
        "FOREIGN DATA WRAPPER" | "SERVER" => {
            let parts = name_parts(rest)?;
            if parts.len() != 1 {
                return Err(syntax_at("."));
            }
            let class = if kind == "SERVER" {
                crate::fdw::PG_FOREIGN_SERVER
            } else {
                crate::fdw::PG_FOREIGN_DATA_WRAPPER
            };
            Target::Fdw(class, parts[0].clone())
        }
        "VIEW" => relation("v", "a view")?,
        "MATERIALIZED VIEW" => relation("m", "a materialized view")?,
        "SEQUENCE" => relation("S", "a sequence")?,
        "INDEX" => relation("iI", "an index")?,
        "COLUMN" => {
            let parts = name_parts(rest)?;
            if parts.len() < 2 {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    "column name must be qualified",
                ));
            }
            let (column, rel) = parts.split_last().expect("two parts");
            Target::Column {
                rel: join_quoted(rel),
                column: column.clone(),
            }
        }
        "SCHEMA" => {
            let parts = name_parts(rest)?;
            if parts.len() != 1 {
                return Err(syntax_at("."));
            }
            Target::Schema(parts[0].clone())
        }
        "FUNCTION" | "PROCEDURE" | "ROUTINE" => match rest.iter().position(|t| *t == Token::LParen)
        {
            Some(p) => Target::Routine {
                name: name_parts(&rest[..p])?,
                args: Some(tokens_text(&rest[p..])),
            },
            None => Target::Routine {
                name: name_parts(rest)?,
                args: None,
            },
        },
        "TYPE" | "DOMAIN" => Target::Type(tokens_text(rest)),
        _ => {
            // CONSTRAINT/TRIGGER name ON [DOMAIN] rel.
            let (name, on) = match rest {
                [n, on, tail @ ..] if kw(on) == "ON" && !tail.is_empty() => (n, tail),
                _ => return Err(syntax_at("IS")),
            };
            let name = name_parts(std::slice::from_ref(name))?.remove(0);
            let domain = kind == "CONSTRAINT" && kw(&on[0]) == "DOMAIN";
            let on = if domain { &on[1..] } else { on };
            let on = name_text(on)?;
            if kind == "TRIGGER" {
                Target::Trigger { name, on }
            } else if kind == "RULE" {
                Target::Rule { name, on }
            } else {
                Target::Constraint { name, on, domain }
            }
        }
    };
    Ok(Comment { target, text })
}

/// The parts of a dotted name: unquoted words folded to lower case.
fn name_parts(toks: &[Token]) -> Result<Vec<String>, PgError> {
    let mut parts = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        match (i % 2, t) {
            (0, Token::Word(w)) => parts.push(if w.quote_style.is_some() {
                w.value.clone()
            } else {
                w.value.to_lowercase()
            }),
            (1, Token::Period) => {}
            _ => return Err(syntax_at(&t.to_string())),
        }
    }
    if toks.len().is_multiple_of(2) {
        return Err(syntax_at(
            &toks.last().map(|t| t.to_string()).unwrap_or_default(),
        ));
    }
    Ok(parts)
}

fn join_quoted(parts: &[String]) -> String {
    parts
        .iter()
        .map(|p| crate::utility::quote_identifier(p))
        .collect::<Vec<_>>()
        .join(".")
}

/// A dotted name as reg* input text (each part quoted as needed).
fn name_text(toks: &[Token]) -> Result<String, PgError> {
    Ok(join_quoted(&name_parts(toks)?))
}

/// Tokens as text: a space only between two words (`double precision`).
fn tokens_text(toks: &[Token]) -> String {
    let mut out = String::new();
    let mut prev_word = false;
    for t in toks {
        let word = matches!(t, Token::Word(_));
        if word && prev_word {
            out.push(' ');
        }
        out.push_str(&t.to_string());
        prev_word = word;
    }
    out
}

fn one_oid(rows: Vec<crate::Row>) -> Option<u32> {
    match rows.first().and_then(|r| r.first()) {
        Some(Value::Oid(o)) => Some(*o),
        Some(Value::Int4(i)) => Some(*i as u32),
        _ => None,
    }
}

/// Resolve the object and write (or remove) its description.
pub(crate) fn run(c: &Comment, host: &mut dyn Host) -> Result<(), PgError> {
    let (objoid, classoid, objsubid) = resolve(&c.target, host)?;
    query(
        host,
        "DELETE FROM pg_catalog.pg_description WHERE objoid = $1 AND classoid = $2 AND objsubid = $3",
        &[types::OID, types::OID, types::INT4],
        vec![Value::Oid(objoid), Value::Oid(classoid), Value::Int4(objsubid)],
    )?;
    if let Some(text) = c.text.as_ref().filter(|t| !t.is_empty()) {
        query(
            host,
            "INSERT INTO pg_catalog.pg_description VALUES ($1, $2, $3, $4)",
            &[types::OID, types::OID, types::INT4, types::TEXT],
            vec![
                Value::Oid(objoid),
                Value::Oid(classoid),
                Value::Int4(objsubid),
                Value::Text(text.clone()),
            ],
        )?;
    }
    Ok(())
}

/// (objoid, classoid, objsubid) of the target, with PostgreSQL's errors.
fn resolve(t: &Target, host: &mut dyn Host) -> Result<(u32, u32, i32), PgError> {
    Ok(match t {
        Target::Operator(sig) => {
            let o = crate::operator::lookup_with_args(host, &sig.0, &sig.1)?;
            if !crate::operator::owns_operator(host, &o)? {
                return Err(PgError::error(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!("must be owner of operator {}", o.name),
                ));
            }
            (o.oid, crate::operator::PG_OPERATOR, 0)
        }
        Target::Relation {
            name,
            relkinds,
            noun,
        } => {
            let oid = crate::reg::input(host, types::REGCLASS, name)?;
            let kind = relkind(host, oid)?;
            if !relkinds.contains(kind) {
                let shown = name.rsplit('.').next().unwrap_or(name).trim_matches('"');
                return Err(PgError::error(
                    crate::catalog::codes::WRONG_OBJECT_TYPE,
                    format!("\"{shown}\" is not {noun}"),
                ));
            }
            (oid, PG_CLASS, 0)
        }
        Target::Column { rel, column } => {
            let oid = crate::reg::input(host, types::REGCLASS, rel)?;
            let rows = query(
                host,
                "SELECT attnum::int4 FROM pg_catalog.pg_attribute \
                 WHERE attrelid = $1 AND attname = $2 AND attnum > 0 AND NOT attisdropped",
                &[types::OID, types::TEXT],
                vec![Value::Oid(oid), Value::Text(column.clone())],
            )?;
            let Some(attnum) = one_oid(rows) else {
                let shown = rel.rsplit('.').next().unwrap_or(rel).trim_matches('"');
                return Err(PgError::error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{column}\" of relation \"{shown}\" does not exist"),
                ));
            };
            (oid, PG_CLASS, attnum as i32)
        }
        Target::Schema(name) => {
            let rows = query(
                host,
                "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1",
                &[types::TEXT],
                vec![Value::Text(name.clone())],
            )?;
            let Some(oid) = one_oid(rows) else {
                return Err(PgError::error(
                    crate::catalog::codes::INVALID_SCHEMA_NAME,
                    format!("schema \"{name}\" does not exist"),
                ));
            };
            (oid, PG_NAMESPACE, 0)
        }
        Target::Routine { name, args } => {
            let oid = match args {
                Some(a) => routine_by_args(host, name, a)?,
                None => crate::reg::input(host, types::REGPROC, &join_quoted(name))?,
            };
            (oid, PG_PROC, 0)
        }
        Target::Type(name) => (crate::reg::input(host, types::REGTYPE, name)?, PG_TYPE, 0),
        Target::Fdw(class, name) => (crate::fdw::object_oid(host, *class, name)?, *class, 0),
        Target::Constraint { name, on, domain } => {
            let (oid, col, what) = if *domain {
                (
                    crate::reg::input(host, types::REGTYPE, on)?,
                    "contypid",
                    format!("domain {}", on.trim_matches('"')),
                )
            } else {
                let shown = on.rsplit('.').next().unwrap_or(on).trim_matches('"');
                (
                    crate::reg::input(host, types::REGCLASS, on)?,
                    "conrelid",
                    format!("table \"{shown}\""),
                )
            };
            let rows = query(
                host,
                &format!(
                    "SELECT oid FROM pg_catalog.pg_constraint WHERE {col} = $1 AND conname = $2"
                ),
                &[types::OID, types::TEXT],
                vec![Value::Oid(oid), Value::Text(name.clone())],
            )?;
            let Some(c) = one_oid(rows) else {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_OBJECT,
                    format!("constraint \"{name}\" for {what} does not exist"),
                ));
            };
            (c, PG_CONSTRAINT, 0)
        }
        Target::Trigger { name, on } => (
            object_on(
                host,
                on,
                name,
                "SELECT oid FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND tgname = $2",
                "trigger",
                "table",
            )?,
            PG_TRIGGER,
            0,
        ),
        Target::Rule { name, on } => (
            object_on(
                host,
                on,
                name,
                "SELECT oid FROM pg_catalog.pg_rewrite WHERE ev_class = $1 AND rulename = $2",
                "rule",
                "relation",
            )?,
            PG_REWRITE,
            0,
        ),
    })
}

/// The OID of trigger or rule `name` on relation `on` (`sql` looks it up
/// by relation OID and name), or PostgreSQL's "... for table/relation ...
/// does not exist".
fn object_on(
    host: &mut dyn Host,
    on: &str,
    name: &str,
    sql: &str,
    what: &str,
    rel_word: &str,
) -> Result<u32, PgError> {
    let rel = crate::reg::input(host, types::REGCLASS, on)?;
    let rows = query(
        host,
        sql,
        &[types::OID, types::TEXT],
        vec![Value::Oid(rel), Value::Text(name.to_string())],
    )?;
    one_oid(rows).ok_or_else(|| {
        let shown = on.rsplit('.').next().unwrap_or(on).trim_matches('"');
        PgError::error(
            sqlstate::UNDEFINED_OBJECT,
            format!("{what} \"{name}\" for {rel_word} \"{shown}\" does not exist"),
        )
    })
}

/// The routine `name` taking exactly the types of `args` (`(int, text)`),
/// each type name read as regtype reads it.
fn routine_by_args(host: &mut dyn Host, name: &[String], args: &str) -> Result<u32, PgError> {
    let inner = args
        .trim()
        .strip_prefix('(')
        .and_then(|a| a.strip_suffix(')'))
        .ok_or_else(|| syntax_at(args))?;
    let mut want = Vec::new();
    let (mut depth, mut from) = (0i32, 0usize);
    for (i, ch) in inner
        .char_indices()
        .chain(std::iter::once((inner.len(), ',')))
    {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                let t = inner[from..i].trim();
                if !t.is_empty() {
                    want.push(crate::reg::input(host, types::REGTYPE, t)?);
                }
                from = i + 1;
            }
            _ => {}
        }
    }
    let (schema, fname) = match name {
        [s, f] => (Some(s.as_str()), f.as_str()),
        [f] => (None, f.as_str()),
        _ => return Err(syntax_at(&name.join("."))),
    };
    let found = host
        .lookup_routines(schema, fname)?
        .iter()
        .find(|d| d.arg_types == want)
        .map(|d| d.oid);
    found.ok_or_else(|| {
        let shown: Vec<String> = want.iter().map(|&t| types::sql_name(t)).collect();
        PgError::error(
            sqlstate::UNDEFINED_FUNCTION,
            format!(
                "function {}({}) does not exist",
                join_quoted(name),
                shown.join(", ")
            ),
        )
    })
}

fn relkind(host: &mut dyn Host, oid: u32) -> Result<char, PgError> {
    let rows = query(
        host,
        "SELECT relkind::text FROM pg_catalog.pg_class WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    Ok(match rows.first().and_then(|r| r.first()) {
        Some(Value::Text(k)) => k.chars().next().unwrap_or('r'),
        _ => 'r',
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_form() {
        let c = parse("COMMENT ON TABLE s.\"T\" IS 'x'").unwrap();
        assert_eq!(
            c.target,
            Target::Relation {
                name: "s.\"T\"".into(),
                relkinds: "rpf",
                noun: "a table"
            }
        );
        assert_eq!(c.text.as_deref(), Some("x"));
        let c = parse("comment on column t.a is null").unwrap();
        assert_eq!(
            c.target,
            Target::Column {
                rel: "t".into(),
                column: "a".into()
            }
        );
        assert_eq!(c.text, None);
        let c = parse("COMMENT ON FUNCTION f(int, double precision) IS $$d$$").unwrap();
        assert_eq!(
            c.target,
            Target::Routine {
                name: vec!["f".into()],
                args: Some("(int,double precision)".into())
            }
        );
        let c = parse("COMMENT ON CONSTRAINT c ON DOMAIN d IS 'x'").unwrap();
        assert_eq!(
            c.target,
            Target::Constraint {
                name: "c".into(),
                on: "d".into(),
                domain: true
            }
        );
        let c = parse("COMMENT ON MATERIALIZED VIEW m IS ''").unwrap();
        assert!(matches!(
            c.target,
            Target::Relation {
                noun: "a materialized view",
                ..
            }
        ));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert_eq!(
            parse("COMMENT ON COLUMN a IS 'x'").unwrap_err().message,
            "column name must be qualified"
        );
        assert_eq!(
            parse("COMMENT ON TABLE t IS 'x' 'y'").unwrap_err().code,
            sqlstate::SYNTAX_ERROR
        );
        assert_eq!(
            parse("COMMENT ON COLLATION c IS 'x'").unwrap_err().code,
            sqlstate::FEATURE_NOT_SUPPORTED
        );
        assert!(matches!(
            parse("COMMENT ON OPERATOR + (int, NONE) IS 'x'")
                .unwrap()
                .target,
            Target::Operator(_)
        ));
        assert_eq!(
            parse("COMMENT ON TABLE t").unwrap_err().code,
            sqlstate::SYNTAX_ERROR
        );
    }
}
