//! REINDEX, CLUSTER and ALTER TABLE ... CLUSTER ON / SET WITHOUT CLUSTER: their PostgreSQL 15 grammar, read from the statement's text into requests for the host.
//!
//! Why here and not through sqlparser: it has no grammar for REINDEX or
//! CLUSTER, nor for ALTER TABLE's CLUSTER ON (parse.rs routes them here by
//! their leading keywords). The work — which indexes, which tables, the
//! locks, the rebuild and the heap rewrite — is the host's
//! ([`Tables::reindex`](crate::catalog::Tables::reindex),
//! [`Tables::cluster`](crate::catalog::Tables::cluster)): it alone knows
//! the catalog's indexes and files. Only what PostgreSQL's grammar and
//! option reader (ExecReindex, cluster's option list) refuse is refused
//! here.
//!
//! Called only by the backend binding the statement.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use tusk_common::{sqlstate, PgError};

use crate::bind::{ident_name, object_name_parts};
use crate::parse::{peek_word, take_word};

/// What a REINDEX names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReindexKind {
    Index,
    Table,
    Schema,
    Database,
    System,
}

impl ReindexKind {
    /// The keyword, as PostgreSQL's messages spell it (`REINDEX SCHEMA
    /// cannot run inside a transaction block`).
    pub fn keyword(self) -> &'static str {
        match self {
            ReindexKind::Index => "INDEX",
            ReindexKind::Table => "TABLE",
            ReindexKind::Schema => "SCHEMA",
            ReindexKind::Database => "DATABASE",
            ReindexKind::System => "SYSTEM",
        }
    }
}

/// `REINDEX [(options)] {INDEX|TABLE|SCHEMA|DATABASE|SYSTEM} [CONCURRENTLY] name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReindexTarget {
    pub kind: ReindexKind,
    /// The schema of an INDEX or TABLE name, when qualified.
    pub schema: Option<String>,
    /// The index, table, schema or database name.
    pub name: String,
    pub concurrently: bool,
    pub verbose: bool,
    /// `TABLESPACE name`: where the rebuilt indexes go.
    pub tablespace: Option<String>,
}

/// `CLUSTER [VERBOSE] [table [USING index]]`, `CLUSTER index ON table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// None: every table with a clustered index the user owns.
    pub table: Option<(Option<String>, String)>,
    /// `USING index` (or the old `index ON table`); None: the table's
    /// clustered index (pg_index.indisclustered).
    pub index: Option<String>,
    pub verbose: bool,
}

/// `ALTER TABLE [IF EXISTS] [ONLY] t CLUSTER ON index` (Some) or
/// `... SET WITHOUT CLUSTER` (None).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOn {
    pub table: (Option<String>, String),
    pub if_exists: bool,
    pub index: Option<String>,
}

fn syntax(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

/// The 1-based character position in `sql` of a token's location.
fn char_pos(sql: &str, loc: sqlparser::tokenizer::Location) -> Option<u32> {
    let (mut line, mut col) = (1, 1);
    for (i, ch) in sql.chars().enumerate() {
        if line == loc.line && col == loc.column {
            return Some(i as u32 + 1);
        }
        if ch == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    None
}

/// 42601 at the next token, with its position in the statement.
fn near(p: &mut Parser, sql: &str) -> PgError {
    let t = p.peek_token();
    let e = crate::parse::near(p);
    match t.token {
        Token::EOF => e,
        _ => e.with_position(char_pos(sql, t.span.start)),
    }
}

fn parser(sql: &str) -> Result<Parser<'static>, PgError> {
    static DIALECT: PostgreSqlDialect = PostgreSqlDialect {};
    Parser::new(&DIALECT)
        .try_with_sql(sql)
        .map_err(|e| syntax(e.to_string()))
}

/// A possibly qualified relation name: (schema, name).
fn qualified_name(p: &mut Parser, sql: &str) -> Result<(Option<String>, String), PgError> {
    if !matches!(p.peek_token().token, Token::Word(_)) {
        return Err(near(p, sql));
    }
    let name = p.parse_object_name(false).map_err(|_| near(p, sql))?;
    let parts = object_name_parts(&name)?;
    match parts.as_slice() {
        [t] => Ok((None, t.clone())),
        [s, t] => Ok((Some(s.clone()), t.clone())),
        [_, s, t] => Ok((Some(s.clone()), t.clone())),
        _ => Err(syntax(format!(
            "improper qualified name (too many dotted names): {name}"
        ))),
    }
}

/// One unqualified name (a schema, database or index).
fn plain_name(p: &mut Parser, sql: &str) -> Result<String, PgError> {
    match p.peek_token().token {
        Token::Word(w) => {
            p.next_token();
            Ok(ident_name(&sqlparser::ast::Ident {
                value: w.value,
                quote_style: w.quote_style,
                span: sqlparser::tokenizer::Span::empty(),
            }))
        }
        _ => Err(near(p, sql)),
    }
}

/// One option of a parenthesized list: its lower-cased name, its value
/// as written (None when absent) and the name's position.
type UtilityOption = (String, Option<String>, Option<u32>);

/// A generic utility option list `(name [value], ...)` after its `(`:
/// each option's lower-cased name and its value as written (a word, a
/// number or a string), None when absent.
fn option_list(p: &mut Parser, sql: &str) -> Result<Vec<UtilityOption>, PgError> {
    let mut out = Vec::new();
    loop {
        let at = char_pos(sql, p.peek_token().span.start);
        let name = match p.peek_token().token {
            Token::Word(w) => w.value.to_lowercase(),
            _ => return Err(near(p, sql)),
        };
        p.next_token();
        let value = match p.peek_token().token {
            Token::Comma | Token::RParen => None,
            Token::Word(w) => {
                p.next_token();
                Some(if w.quote_style.is_some() {
                    w.value
                } else {
                    w.value.to_lowercase()
                })
            }
            Token::Number(n, _) => {
                p.next_token();
                Some(n)
            }
            Token::SingleQuotedString(s) => {
                p.next_token();
                Some(s)
            }
            _ => return Err(near(p, sql)),
        };
        out.push((name, value, at));
        if p.consume_token(&Token::RParen) {
            return Ok(out);
        }
        if !p.consume_token(&Token::Comma) {
            return Err(near(p, sql));
        }
    }
}

/// defGetBoolean: absent is true; true/false/on/off/1/0 as PostgreSQL.
fn boolean(name: &str, v: &Option<String>) -> Result<bool, PgError> {
    match v.as_deref() {
        None => Ok(true),
        Some("true" | "on" | "1") => Ok(true),
        Some("false" | "off" | "0") => Ok(false),
        Some(_) => Err(syntax(format!("{name} requires a Boolean value"))),
    }
}

fn at_end(p: &mut Parser, sql: &str) -> Result<(), PgError> {
    let _ = p.consume_token(&Token::SemiColon);
    if p.peek_token().token == Token::EOF {
        Ok(())
    } else {
        Err(near(p, sql))
    }
}

/// Reads a REINDEX statement.
pub(crate) fn parse_reindex(sql: &str) -> Result<ReindexTarget, PgError> {
    let mut p = parser(sql)?;
    p.next_token(); // REINDEX
    let mut verbose = false;
    let mut concurrently = false;
    let mut tablespace = None;
    if p.consume_token(&Token::LParen) {
        for (name, value, at) in option_list(&mut p, sql)? {
            match name.as_str() {
                "verbose" => verbose = boolean(&name, &value)?,
                "concurrently" => concurrently = boolean(&name, &value)?,
                "tablespace" => {
                    tablespace =
                        Some(value.ok_or_else(|| syntax(format!("{name} requires a parameter")))?)
                }
                other => {
                    return Err(syntax(format!("unrecognized REINDEX option \"{other}\""))
                        .with_position(at))
                }
            }
        }
    }
    let kind = match peek_word(&mut p).as_deref() {
        Some("INDEX") => ReindexKind::Index,
        Some("TABLE") => ReindexKind::Table,
        Some("SCHEMA") => ReindexKind::Schema,
        Some("DATABASE") => ReindexKind::Database,
        Some("SYSTEM") => ReindexKind::System,
        _ => return Err(near(&mut p, sql)),
    };
    p.next_token();
    // CONCURRENTLY is a keyword here; a relation named "concurrently"
    // must be quoted, as in PostgreSQL's grammar.
    if take_word(&mut p, "CONCURRENTLY") {
        concurrently = true;
    }
    let (schema, name) = match kind {
        ReindexKind::Index | ReindexKind::Table => qualified_name(&mut p, sql)?,
        _ => (None, plain_name(&mut p, sql)?),
    };
    at_end(&mut p, sql)?;
    Ok(ReindexTarget {
        kind,
        schema,
        name,
        concurrently,
        verbose,
        tablespace,
    })
}

/// Reads a CLUSTER statement.
pub(crate) fn parse_cluster(sql: &str) -> Result<Cluster, PgError> {
    let mut p = parser(sql)?;
    p.next_token(); // CLUSTER
    let mut verbose = false;
    if p.consume_token(&Token::LParen) {
        for (name, value, at) in option_list(&mut p, sql)? {
            match name.as_str() {
                "verbose" => verbose = boolean(&name, &value)?,
                other => {
                    return Err(syntax(format!("unrecognized CLUSTER option \"{other}\""))
                        .with_position(at))
                }
            }
        }
    } else if take_word(&mut p, "VERBOSE") {
        verbose = true;
    }
    if matches!(p.peek_token().token, Token::EOF | Token::SemiColon) {
        return Ok(Cluster {
            table: None,
            index: None,
            verbose,
        });
    }
    let first = qualified_name(&mut p, sql)?;
    // The old form `CLUSTER index ON table` (the index name unqualified).
    if take_word(&mut p, "ON") {
        if first.0.is_some() {
            return Err(near(&mut p, sql));
        }
        let table = qualified_name(&mut p, sql)?;
        at_end(&mut p, sql)?;
        return Ok(Cluster {
            table: Some(table),
            index: Some(first.1),
            verbose,
        });
    }
    let index = if take_word(&mut p, "USING") {
        Some(plain_name(&mut p, sql)?)
    } else {
        None
    };
    at_end(&mut p, sql)?;
    Ok(Cluster {
        table: Some(first),
        index,
        verbose,
    })
}

/// Is this `ALTER TABLE ... CLUSTER ON x` or `... SET WITHOUT CLUSTER`
/// (as one subcommand; the words as parse.rs's pre-dispatch gives them)?
pub(crate) fn is_cluster_on(words: &[&str]) -> bool {
    let rest: &[&str] = match words {
        ["ALTER", "TABLE", "IF", "EXISTS", "ONLY", _, rest @ ..] => rest,
        ["ALTER", "TABLE", "IF", "EXISTS", _, rest @ ..] => rest,
        ["ALTER", "TABLE", "ONLY", _, rest @ ..] => rest,
        ["ALTER", "TABLE", _, rest @ ..] => rest,
        _ => return false,
    };
    let rest = match rest {
        [".", _, r @ ..] => r,
        r => r,
    };
    matches!(
        rest,
        ["CLUSTER", "ON", _] | ["CLUSTER", "ON", _, ";"] | ["SET", "WITHOUT", "CLUSTER", ..]
    )
}

/// Reads `ALTER TABLE ... CLUSTER ON index` / `SET WITHOUT CLUSTER`.
pub(crate) fn parse_cluster_on(sql: &str) -> Result<ClusterOn, PgError> {
    let mut p = parser(sql)?;
    p.next_token(); // ALTER
    p.next_token(); // TABLE
    let if_exists = if take_word(&mut p, "IF") {
        if !take_word(&mut p, "EXISTS") {
            return Err(near(&mut p, sql));
        }
        true
    } else {
        false
    };
    take_word(&mut p, "ONLY");
    let table = qualified_name(&mut p, sql)?;
    let index = if take_word(&mut p, "CLUSTER") {
        if !take_word(&mut p, "ON") {
            return Err(near(&mut p, sql));
        }
        Some(plain_name(&mut p, sql)?)
    } else {
        for w in ["SET", "WITHOUT", "CLUSTER"] {
            if !take_word(&mut p, w) {
                return Err(near(&mut p, sql));
            }
        }
        None
    };
    at_end(&mut p, sql)?;
    Ok(ClusterOn {
        table,
        if_exists,
        index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reindex_forms() {
        let r = parse_reindex("REINDEX (VERBOSE, TABLESPACE pg_default) TABLE CONCURRENTLY s.t;")
            .unwrap();
        assert_eq!(r.kind, ReindexKind::Table);
        assert_eq!(r.schema.as_deref(), Some("s"));
        assert_eq!(r.name, "t");
        assert!(r.concurrently && r.verbose);
        assert_eq!(r.tablespace.as_deref(), Some("pg_default"));
        let r = parse_reindex("reindex (concurrently false) index \"Ix\"").unwrap();
        assert!(!r.concurrently);
        assert_eq!(r.name, "Ix");
        let r = parse_reindex("REINDEX SYSTEM CONCURRENTLY postgres").unwrap();
        assert_eq!((r.kind, r.concurrently), (ReindexKind::System, true));
        assert_eq!(
            parse_reindex("reindex (foo) table t").unwrap_err().message,
            "unrecognized REINDEX option \"foo\""
        );
        assert_eq!(
            parse_reindex("reindex database;").unwrap_err().message,
            "syntax error at or near \";\""
        );
        assert_eq!(
            parse_reindex("reindex verbose table t")
                .unwrap_err()
                .message,
            "syntax error at or near \"verbose\""
        );
    }

    #[test]
    fn cluster_forms() {
        let c = parse_cluster("CLUSTER").unwrap();
        assert_eq!((c.table, c.index, c.verbose), (None, None, false));
        let c = parse_cluster("cluster verbose s.t using i").unwrap();
        assert_eq!(c.table, Some((Some("s".into()), "t".into())));
        assert_eq!(c.index.as_deref(), Some("i"));
        assert!(c.verbose);
        let c = parse_cluster("CLUSTER i ON t").unwrap();
        assert_eq!(c.index.as_deref(), Some("i"));
        assert_eq!(c.table, Some((None, "t".into())));
        assert!(parse_cluster("cluster (verbose) t").unwrap().verbose);
        assert_eq!(
            parse_cluster("cluster (foo) t").unwrap_err().message,
            "unrecognized CLUSTER option \"foo\""
        );
    }

    #[test]
    fn cluster_on_forms() {
        assert!(is_cluster_on(&[
            "ALTER", "TABLE", "t", "CLUSTER", "ON", "i"
        ]));
        assert!(is_cluster_on(&[
            "ALTER", "TABLE", "s", ".", "t", "SET", "WITHOUT", "CLUSTER"
        ]));
        assert!(!is_cluster_on(&["ALTER", "TABLE", "t", "ADD", "COLUMN"]));
        let c = parse_cluster_on("alter table only t cluster on i").unwrap();
        assert_eq!(c.index.as_deref(), Some("i"));
        let c = parse_cluster_on("ALTER TABLE IF EXISTS s.t SET WITHOUT CLUSTER").unwrap();
        assert!(c.if_exists && c.index.is_none());
    }
}
