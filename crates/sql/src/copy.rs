//! COPY: the statement's own grammar, and the text and CSV data formats in both directions.
//!
//! Why a grammar of its own: sqlparser's COPY knows only some of
//! PostgreSQL's option spellings (`WITH (FREEZE ON)`, which pgbench sends,
//! is a syntax error to it) and would try to read inline data after
//! `FROM STDIN`. So `COPY` is routed around it by the leading keyword
//! (parse.rs) and read here with sqlparser's token-level parser, which
//! still parses the table name, the column list and a `(query)`.
//!
//! Why rows go through the same checks as INSERT: COPY FROM is PostgreSQL's
//! bulk INSERT; each line's fields are read with the column types' input
//! functions, omitted columns take their DEFAULT, and the row is checked
//! (typmods, NOT NULL) by `modify::check_row` and stored by the host's
//! [`Tables::insert`](crate::catalog::Tables::insert) in the running
//! transaction. COPY TO is a SELECT (of the table's columns, or the given
//! query) whose rows are formatted here instead of sent as DataRows.
//!
//! The wire side (CopyInResponse, CopyData, CopyDone/CopyFail) is the
//! backend's: it hands each CopyData to [`CopyIn::feed`], which cuts the
//! bytes into lines whatever the message boundaries, and calls
//! [`CopyIn::finish`] at CopyDone. Errors name their place as PostgreSQL's
//! do (CONTEXT `COPY t, line 3, column a: "x"`).
//!
//! COPY to or from a server file or program (`FROM '/path'`, `TO PROGRAM
//! 'cmd'`) moves the same lines through the same [`CopyIn`] and
//! [`CopyToPlan::format_row`]; only the other end differs, so the plan
//! carries a [`CopyEndpoint`] and the backend opens the file or starts the
//! program (`sh -c`) in place of the COPY sub-protocol. As in PostgreSQL,
//! that needs superuser or the privileges of pg_read_server_files,
//! pg_write_server_files or pg_execute_server_program, checked at bind.
//!
//! Called only by the backend running the statement.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{IsOptional, Parser};
use sqlparser::tokenizer::Token;

use tusk_common::{sqlstate, PgError};

use crate::bind::{ident_name, object_name_parts, Binder};
use crate::catalog::{self, codes, Relation};
use crate::expr::{Ctx, Expr};
use crate::host::Host;
use crate::plan::SelectPlan;
use crate::value::{decode_param, encode_text, Value};
use crate::Column;

/// ERRCODE_BAD_COPY_FILE_FORMAT.
const BAD_COPY_FILE_FORMAT: tusk_common::sqlstate::SqlState =
    tusk_common::sqlstate::SqlState::new("22P04");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Csv,
}

/// The options of one COPY, validated as PostgreSQL's ProcessCopyOptions.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    format: Format,
    delimiter: u8,
    null: String,
    header: bool,
    quote: u8,
    escape: u8,
    /// FORCE_QUOTE *.
    force_quote_all: bool,
    force_quote: Vec<String>,
    force_not_null: Vec<String>,
    force_null: Vec<String>,
}

/// Where a COPY's data comes from or goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyEndpoint {
    /// STDIN / STDOUT: the client, over the COPY sub-protocol.
    Client,
    /// A file the server process reads or writes: an absolute path, or
    /// for COPY FROM one relative to the data directory.
    File(String),
    /// A shell command whose standard output (COPY FROM) or input (COPY
    /// TO) carries the data.
    Program(String),
}

/// COPY t [(cols)] FROM STDIN | 'file' | PROGRAM 'cmd'.
#[derive(Debug, Clone)]
pub(crate) struct CopyFromPlan {
    pub(crate) endpoint: CopyEndpoint,
    rel: Relation,
    /// Table column of each field of a line, in order.
    targets: Vec<usize>,
    /// Per table column: its DEFAULT, bound.
    defaults: Vec<Option<Expr>>,
    opts: Options,
    /// Per field: never NULL (FORCE_NOT_NULL), quoted null string is NULL
    /// (FORCE_NULL).
    not_null: Vec<bool>,
    force_null: Vec<bool>,
}

/// COPY t|(query) TO STDOUT | 'file' | PROGRAM 'cmd'.
#[derive(Debug, Clone)]
pub(crate) struct CopyToPlan {
    pub(crate) endpoint: CopyEndpoint,
    pub plan: SelectPlan,
    names: Vec<String>,
    opts: Options,
    /// Per column: always quoted (CSV FORCE_QUOTE).
    force_quote: Vec<bool>,
}

#[derive(Debug, Clone)]
pub(crate) enum CopyPlan {
    From(Box<CopyFromPlan>),
    To(Box<CopyToPlan>),
}

/// Which way a COPY moves data, for the backend's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyDirection {
    /// CopyInResponse with this many columns, then CopyData from the client.
    In { columns: usize },
    /// CopyOutResponse with this many columns, then CopyData per row.
    Out { columns: usize },
}

impl CopyPlan {
    pub(crate) fn endpoint(&self) -> &CopyEndpoint {
        match self {
            CopyPlan::From(f) => &f.endpoint,
            CopyPlan::To(t) => &t.endpoint,
        }
    }

    pub(crate) fn direction(&self) -> CopyDirection {
        match self {
            CopyPlan::From(f) => CopyDirection::In {
                columns: f.targets.len(),
            },
            CopyPlan::To(t) => CopyDirection::Out {
                columns: t.names.len(),
            },
        }
    }
}

fn syntax(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

fn perr(e: sqlparser::parser::ParserError) -> PgError {
    let s = e.to_string();
    let s = s.strip_prefix("sql parser error: ").unwrap_or(&s);
    let s = match s.find(" at Line: ") {
        Some(i) => &s[..i],
        None => s,
    };
    syntax(format!("syntax error in COPY: {s}"))
}

/// A raw option: its lower-cased name and its argument as written.
enum Arg {
    None,
    Str(String),
    List(Vec<String>),
    Star,
}

/// Binds a COPY statement's text.
pub(crate) fn bind(sql: &str, host: &dyn Host) -> Result<CopyPlan, PgError> {
    let dialect = PostgreSqlDialect {};
    let mut p = Parser::new(&dialect).try_with_sql(sql).map_err(perr)?;
    p.expect_keyword(Keyword::COPY).map_err(perr)?;
    enum Source {
        Table(sqlparser::ast::ObjectName, Vec<String>),
        Query(Box<sqlparser::ast::Query>),
    }
    let source = if p.consume_token(&Token::LParen) {
        let q = p.parse_query().map_err(perr)?;
        p.expect_token(&Token::RParen).map_err(perr)?;
        Source::Query(q)
    } else {
        let name = p.parse_object_name(false).map_err(perr)?;
        let cols = p
            .parse_parenthesized_column_list(IsOptional::Optional, false)
            .map_err(perr)?;
        Source::Table(name, cols.iter().map(ident_name).collect())
    };
    let to = match p.parse_one_of_keywords(&[Keyword::FROM, Keyword::TO]) {
        Some(Keyword::TO) => true,
        Some(_) => false,
        None => return Err(syntax(near(&mut p))),
    };
    // PostgreSQL's grammar takes STDIN and STDOUT alike in either
    // direction (copy_file_name).
    let endpoint = match p.next_token().token {
        Token::Word(w) if w.keyword == Keyword::STDIN || w.keyword == Keyword::STDOUT => {
            CopyEndpoint::Client
        }
        Token::SingleQuotedString(f) | Token::EscapedStringLiteral(f) => CopyEndpoint::File(f),
        Token::Word(w) if w.value.eq_ignore_ascii_case("program") => match p.next_token().token {
            Token::SingleQuotedString(c) | Token::EscapedStringLiteral(c) => {
                CopyEndpoint::Program(c)
            }
            t => return Err(syntax(format!("syntax error at or near \"{t}\""))),
        },
        t => return Err(syntax(format!("syntax error at or near \"{t}\""))),
    };
    check_server_side(host, &endpoint, to)?;
    let raw = parse_options(&mut p)?;
    if p.peek_token().token != Token::EOF {
        return Err(syntax(near(&mut p)));
    }
    let opts = validate(raw, to)?;
    match (source, to) {
        (Source::Query(_), false) => Err(syntax("syntax error at or near \"(\"")),
        (Source::Query(q), true) => {
            if matches!(q.body.as_ref(), sqlparser::ast::SetExpr::Merge(_)) {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "MERGE not supported in COPY",
                ));
            }
            let mut b = Binder::new(host, Vec::new());
            let (plan, cols) = b.bind_query(&q)?;
            to_plan(plan, cols, opts, endpoint)
        }
        (Source::Table(name, cols), to) => {
            let parts = object_name_parts(&name)?;
            let rel = match parts.as_slice() {
                [t] => catalog::lookup(host, None, t)?,
                [s, t] => catalog::lookup(host, Some(s), t)?,
                _ => {
                    return Err(syntax(format!(
                        "improper relation name (too many dotted names): {name}"
                    )))
                }
            };
            if rel.table().is_err() {
                return Err(if to {
                    PgError::error(
                        codes::WRONG_OBJECT_TYPE,
                        format!("cannot copy from view \"{}\"", rel.name),
                    )
                    .with_hint("Try the COPY (SELECT ...) TO variant.")
                } else {
                    PgError::error(
                        codes::WRONG_OBJECT_TYPE,
                        format!("cannot copy to view \"{}\"", rel.name),
                    )
                });
            }
            // COPY TO reads through a bound SELECT (checked there); COPY
            // FROM inserts.
            let targets = target_columns(&rel, &cols)?;
            if !to {
                crate::acl::check_dml(host, &rel, crate::acl::INSERT, &targets)?;
                crate::policy::refuse_copy_from(host, &rel)?;
            }
            if to {
                let list: Vec<String> = targets
                    .iter()
                    .map(|&i| quote_ident(&rel.columns[i].name))
                    .collect();
                let q = format!(
                    "SELECT {} FROM ONLY {}.{}",
                    list.join(", "),
                    quote_ident(&rel.schema),
                    quote_ident(&rel.name)
                );
                // ONLY: COPY TO reads the table's own rows, not its
                // inheritance children's.
                let q = crate::parse::rewritten_parser(&q)
                    .and_then(|mut p| p.parse_query())
                    .map_err(perr)?;
                let mut b = Binder::new(host, Vec::new());
                let (plan, cols) = b.bind_query(&q)?;
                to_plan(plan, cols, opts, endpoint)
            } else {
                let mut b = Binder::new(host, Vec::new());
                let mut defaults = Vec::with_capacity(rel.columns.len());
                for c in &rel.columns {
                    defaults.push(b.bind_default(c)?);
                }
                let field_flags = |names: &[String]| -> Result<Vec<bool>, PgError> {
                    let mut v = vec![false; targets.len()];
                    for n in names {
                        match targets.iter().position(|&t| &rel.columns[t].name == n) {
                            Some(i) => v[i] = true,
                            None => {
                                return Err(PgError::error(
                                    sqlstate::INVALID_COLUMN_REFERENCE,
                                    format!("column \"{n}\" is not referenced by COPY"),
                                ))
                            }
                        }
                    }
                    Ok(v)
                };
                let not_null = field_flags(&opts.force_not_null)?;
                let force_null = field_flags(&opts.force_null)?;
                Ok(CopyPlan::From(Box::new(CopyFromPlan {
                    endpoint,
                    rel,
                    targets,
                    defaults,
                    opts,
                    not_null,
                    force_null,
                })))
            }
        }
    }
}

/// DoCopy's check: a server file or program needs superuser or the
/// privileges of the predefined role for that kind of access.
fn check_server_side(host: &dyn Host, endpoint: &CopyEndpoint, to: bool) -> Result<(), PgError> {
    let (role, what) = match (endpoint, to) {
        (CopyEndpoint::Client, _) => return Ok(()),
        (CopyEndpoint::Program(_), _) => (
            "pg_execute_server_program",
            "COPY to or from an external program",
        ),
        (CopyEndpoint::File(_), false) => ("pg_read_server_files", "COPY from a file"),
        (CopyEndpoint::File(_), true) => ("pg_write_server_files", "COPY to a file"),
    };
    if crate::acl::has_privs_of_named_role(host, role)? {
        return Ok(());
    }
    Err(PgError::error(
        sqlstate::INSUFFICIENT_PRIVILEGE,
        format!("must be superuser or have privileges of the {role} role to {what}"),
    )
    .with_hint(
        "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone.",
    ))
}

fn near(p: &mut Parser) -> String {
    match p.peek_token().token {
        Token::EOF => "syntax error at end of input".to_string(),
        t => format!("syntax error at or near \"{t}\""),
    }
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn to_plan(
    plan: SelectPlan,
    cols: Vec<Column>,
    opts: Options,
    endpoint: CopyEndpoint,
) -> Result<CopyPlan, PgError> {
    if let CopyEndpoint::File(f) = &endpoint {
        if !f.starts_with('/') {
            return Err(PgError::error(
                sqlstate::INVALID_NAME,
                "relative path not allowed for COPY to file",
            ));
        }
    }
    let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
    let mut force_quote = vec![opts.force_quote_all; names.len()];
    for n in &opts.force_quote {
        match names.iter().position(|c| c == n) {
            Some(i) => force_quote[i] = true,
            None => {
                return Err(PgError::error(
                    sqlstate::INVALID_COLUMN_REFERENCE,
                    format!("column \"{n}\" is not referenced by COPY"),
                ))
            }
        }
    }
    Ok(CopyPlan::To(Box::new(CopyToPlan {
        endpoint,
        plan,
        names,
        opts,
        force_quote,
    })))
}

/// The table columns a COPY names (all, when none are listed).
fn target_columns(rel: &Relation, cols: &[String]) -> Result<Vec<usize>, PgError> {
    // Generated columns take no part in COPY (PostgreSQL's
    // CopyGetAttnums): left out of the default list, refused by name.
    if cols.is_empty() {
        return Ok((0..rel.columns.len())
            .filter(|&i| rel.columns[i].generated.is_none())
            .collect());
    }
    let mut out = Vec::with_capacity(cols.len());
    for c in cols {
        let Some(i) = rel.columns.iter().position(|d| &d.name == c) else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_COLUMN,
                format!("column \"{c}\" of relation \"{}\" does not exist", rel.name),
            ));
        };
        if rel.columns[i].generated.is_some() {
            return Err(PgError::error(
                sqlstate::SqlState::new("42P10"),
                format!("column \"{c}\" is a generated column"),
            )
            .with_detail("Generated columns cannot be used in COPY."));
        }
        if out.contains(&i) {
            return Err(PgError::error(
                codes::DUPLICATE_COLUMN,
                format!("column \"{c}\" specified more than once"),
            ));
        }
        out.push(i);
    }
    Ok(out)
}

/// `[WITH] (name [arg], ...)` or the pre-9.0 spellings (`CSV HEADER`,
/// `DELIMITER AS ','`, `BINARY`, `FORCE NOT NULL a`).
fn parse_options(p: &mut Parser) -> Result<Vec<(String, Arg)>, PgError> {
    let mut out = Vec::new();
    let _ = p.parse_keyword(Keyword::WITH);
    if p.consume_token(&Token::LParen) {
        loop {
            let name = match p.next_token().token {
                Token::Word(w) => w.value.to_lowercase(),
                t => return Err(syntax(format!("syntax error at or near \"{t}\""))),
            };
            let arg = match p.peek_token().token {
                Token::Comma | Token::RParen => Arg::None,
                Token::LParen => {
                    p.next_token();
                    let mut names = Vec::new();
                    loop {
                        names.push(ident_name(&p.parse_identifier().map_err(perr)?));
                        if !p.consume_token(&Token::Comma) {
                            break;
                        }
                    }
                    p.expect_token(&Token::RParen).map_err(perr)?;
                    Arg::List(names)
                }
                Token::Mul => {
                    p.next_token();
                    Arg::Star
                }
                _ => Arg::Str(match p.next_token().token {
                    Token::SingleQuotedString(s) | Token::EscapedStringLiteral(s) => s,
                    Token::Word(w) => w.value.to_lowercase(),
                    Token::Number(n, _) => n,
                    t => return Err(syntax(format!("syntax error at or near \"{t}\""))),
                }),
            };
            out.push((name, arg));
            if p.consume_token(&Token::RParen) {
                break;
            }
            p.expect_token(&Token::Comma).map_err(perr)?;
        }
        return Ok(out);
    }
    // The old grammar: keywords, some with an `[AS] 'x'` argument.
    while let Token::Word(w) = p.peek_token().token {
        let word = w.value.to_lowercase();
        p.next_token();
        let string_arg = |p: &mut Parser| -> Result<Arg, PgError> {
            let _ = p.parse_keyword(Keyword::AS);
            Ok(Arg::Str(p.parse_literal_string().map_err(perr)?))
        };
        let cols = |p: &mut Parser| -> Result<Arg, PgError> {
            if p.consume_token(&Token::Mul) {
                return Ok(Arg::Star);
            }
            let mut names = Vec::new();
            loop {
                names.push(ident_name(&p.parse_identifier().map_err(perr)?));
                if !p.consume_token(&Token::Comma) {
                    break;
                }
            }
            Ok(Arg::List(names))
        };
        match word.as_str() {
            "binary" => out.push(("format".into(), Arg::Str("binary".into()))),
            "csv" => out.push(("format".into(), Arg::Str("csv".into()))),
            "header" => out.push(("header".into(), Arg::None)),
            "freeze" => out.push(("freeze".into(), Arg::None)),
            "delimiter" | "null" | "quote" | "escape" => {
                let a = string_arg(p)?;
                out.push((word, a));
            }
            "force" => {
                if p.parse_keyword(Keyword::QUOTE) {
                    let a = cols(p)?;
                    out.push(("force_quote".into(), a));
                } else if p.parse_keywords(&[Keyword::NOT, Keyword::NULL]) {
                    let a = cols(p)?;
                    out.push(("force_not_null".into(), a));
                } else {
                    return Err(syntax(near(p)));
                }
            }
            other => return Err(syntax(format!("syntax error at or near \"{other}\""))),
        }
    }
    Ok(out)
}

fn bool_arg(name: &str, a: &Arg) -> Result<bool, PgError> {
    match a {
        Arg::None => Ok(true),
        Arg::Str(s) => match s.to_lowercase().as_str() {
            "true" | "on" | "1" | "t" | "yes" => Ok(true),
            "false" | "off" | "0" | "f" | "no" => Ok(false),
            _ => Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                format!("{name} requires a Boolean value"),
            )),
        },
        _ => Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("{name} requires a Boolean value"),
        )),
    }
}

fn str_arg(name: &str, a: Arg) -> Result<String, PgError> {
    match a {
        Arg::Str(s) => Ok(s),
        _ => Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("{name} requires a parameter"),
        )),
    }
}

fn list_arg(name: &str, a: Arg) -> Result<Vec<String>, PgError> {
    match a {
        Arg::List(l) => Ok(l),
        _ => Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("argument to option \"{name}\" must be a list of column names"),
        )),
    }
}

/// PostgreSQL's ProcessCopyOptions, for text and CSV.
fn validate(raw: Vec<(String, Arg)>, to: bool) -> Result<Options, PgError> {
    let mut seen: Vec<String> = Vec::new();
    let mut format = Format::Text;
    let (mut delimiter, mut null, mut quote, mut escape) = (None, None, None, None);
    let mut header = false;
    let mut o = Options {
        format,
        delimiter: b'\t',
        null: String::new(),
        header: false,
        quote: b'"',
        escape: b'"',
        force_quote_all: false,
        force_quote: Vec::new(),
        force_not_null: Vec::new(),
        force_null: Vec::new(),
    };
    for (name, arg) in raw {
        if seen.contains(&name) {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                "conflicting or redundant options",
            ));
        }
        seen.push(name.clone());
        match name.as_str() {
            "format" => {
                let f = str_arg(&name, arg)?;
                format = match f.as_str() {
                    "text" => Format::Text,
                    "csv" => Format::Csv,
                    "binary" => {
                        return Err(PgError::error(
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            "COPY format \"binary\" is not supported yet",
                        ))
                    }
                    _ => {
                        return Err(PgError::error(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            format!("COPY format \"{f}\" not recognized"),
                        ))
                    }
                };
            }
            // Accepted and not acted on: rows are stored as ordinary
            // inserts (visible only once the transaction commits).
            "freeze" => {
                bool_arg(&name, &arg)?;
            }
            "delimiter" => delimiter = Some(str_arg(&name, arg)?),
            "null" => null = Some(str_arg(&name, arg)?),
            "header" => {
                header = match &arg {
                    Arg::Str(s) if s == "match" => {
                        return Err(PgError::error(
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            "COPY HEADER MATCH is not supported yet",
                        ))
                    }
                    a => bool_arg(&name, a)?,
                }
            }
            "quote" => quote = Some(str_arg(&name, arg)?),
            "escape" => escape = Some(str_arg(&name, arg)?),
            "force_quote" => match arg {
                Arg::Star => o.force_quote_all = true,
                a => o.force_quote = list_arg(&name, a)?,
            },
            "force_not_null" => o.force_not_null = list_arg(&name, arg)?,
            "force_null" => o.force_null = list_arg(&name, arg)?,
            "encoding" => {
                let e = str_arg(&name, arg)?;
                let norm = e.to_lowercase().replace(['-', '_'], "");
                if norm != "utf8" && norm != "unicode" {
                    return Err(PgError::error(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        "argument to option \"encoding\" must be a valid encoding name",
                    ));
                }
            }
            _ => {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    format!("option \"{name}\" not recognized"),
                ))
            }
        }
    }
    let csv = format == Format::Csv;
    o.format = format;
    o.header = header;
    let one_byte = |s: &str, what: &str| -> Result<u8, PgError> {
        if s.len() != 1 {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("COPY {what} must be a single one-byte character"),
            ));
        }
        Ok(s.as_bytes()[0])
    };
    o.delimiter = match &delimiter {
        Some(d) => one_byte(d, "delimiter")?,
        None if csv => b',',
        None => b'\t',
    };
    if o.delimiter == b'\n' || o.delimiter == b'\r' {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "COPY delimiter cannot be newline or carriage return",
        ));
    }
    o.null = match null {
        Some(n) => n,
        None if csv => String::new(),
        None => "\\N".to_string(),
    };
    if o.null.contains(['\n', '\r']) {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "COPY null representation cannot use newline or carriage return",
        ));
    }
    if !csv
        && (b"\\.abcdefghijklmnopqrstuvwxyz0123456789").contains(&o.delimiter.to_ascii_lowercase())
    {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!(
                "COPY delimiter cannot be \"{}\"",
                char::from(o.delimiter).escape_default()
            ),
        ));
    }
    let only_csv = |set: bool, what: &str| -> Result<(), PgError> {
        if set && !csv {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("COPY {what} available only in CSV mode"),
            ));
        }
        Ok(())
    };
    only_csv(quote.is_some(), "quote")?;
    only_csv(escape.is_some(), "escape")?;
    only_csv(
        o.force_quote_all || !o.force_quote.is_empty(),
        "force quote",
    )?;
    only_csv(!o.force_not_null.is_empty(), "force not null")?;
    only_csv(!o.force_null.is_empty(), "force null")?;
    if to && !o.force_not_null.is_empty() {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "COPY force not null only available using COPY FROM",
        ));
    }
    if to && !o.force_null.is_empty() {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "COPY force null only available using COPY FROM",
        ));
    }
    if !to && (o.force_quote_all || !o.force_quote.is_empty()) {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "COPY force quote only available using COPY TO",
        ));
    }
    if let Some(q) = &quote {
        o.quote = one_byte(q, "quote")?;
    }
    o.escape = match &escape {
        Some(e) => one_byte(e, "escape")?,
        None => o.quote,
    };
    if csv && o.delimiter == o.quote {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "COPY delimiter and quote must be different",
        ));
    }
    if o.null.as_bytes().contains(&o.delimiter) {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "COPY delimiter must not appear in the NULL specification",
        ));
    }
    if csv && o.null.as_bytes().contains(&o.quote) {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "CSV quote character must not appear in the NULL specification",
        ));
    }
    Ok(o)
}

/// A line as an error's CONTEXT shows it: at most 100 bytes (cut on a
/// character boundary) and "...", as PostgreSQL's limit_printout_length.
fn printout(s: &str) -> String {
    const MAX: usize = 100;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut cut = MAX;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &s[..cut])
}

/// One field of a line: its text, or NULL.
type Field = Option<String>;

/// A COPY FROM STDIN in progress: the data so far and the rows stored.
/// Owned by the backend running the COPY.
pub struct CopyIn<'p> {
    plan: &'p CopyFromPlan,
    buf: Vec<u8>,
    /// How far `buf` has been scanned for the end of the current line,
    /// and (CSV) whether that point is inside quotes: a long line spread
    /// over many CopyData messages is scanned once.
    scanned: usize,
    in_quote: bool,
    line_no: u64,
    count: u64,
    /// The end-of-data marker `\.` was seen: the rest is ignored.
    ended: bool,
    /// The table's CHECK constraints, bound at the first row.
    checks: Option<crate::generated::RowChecks>,
    /// FOREIGN KEY checks of the rows stored, run at the end (fkey.rs).
    pending: crate::fkey::Pending,
    /// The table's INSERT triggers (trigger.rs), loaded and their BEFORE
    /// STATEMENT ones fired at the first row (or at the end).
    fire: Option<Option<crate::trigger::Fire>>,
    /// Rows waiting to be stored together (crate::bulk), and whether this
    /// table's rows may wait (decided at the first row).
    batch: crate::bulk::Batch,
    batching: Option<bool>,
}

impl<'p> CopyIn<'p> {
    pub(crate) fn new(plan: &'p CopyFromPlan) -> CopyIn<'p> {
        CopyIn {
            plan,
            buf: Vec::new(),
            scanned: 0,
            in_quote: false,
            line_no: 0,
            count: 0,
            ended: false,
            checks: None,
            pending: crate::fkey::Pending::default(),
            fire: None,
            batch: crate::bulk::Batch::default(),
            batching: None,
        }
    }

    /// The table's INSERT triggers, loaded at first use (BEFORE
    /// STATEMENT triggers fire then).
    fn triggers(
        &mut self,
        host: &mut dyn Host,
    ) -> Result<Option<&mut crate::trigger::Fire>, PgError> {
        if self.fire.is_none() {
            let mut f = crate::trigger::Fire::load(
                &*host,
                &self.plan.rel,
                crate::trigger::Event::Insert,
                &[],
            )?;
            if let Some(f) = f.as_mut() {
                f.before_statement(host)?;
            }
            self.fire = Some(f);
        }
        Ok(self.fire.as_mut().and_then(Option::as_mut))
    }

    /// The data of one CopyData message: every complete line in it (and
    /// before it) is stored now.
    pub fn feed(&mut self, data: &[u8], host: &mut dyn Host) -> Result<(), PgError> {
        if self.ended {
            return Ok(());
        }
        self.buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(end) = self.line_end(start) {
            // `end` is the index of the '\n'.
            let mut line_end = end;
            if line_end > start && self.buf[line_end - 1] == b'\r' {
                line_end -= 1;
            }
            let line = self.buf[start..line_end].to_vec();
            start = end + 1;
            self.scanned = start;
            self.in_quote = false;
            self.line(&line, host)?;
            if self.ended {
                self.buf.clear();
                self.scanned = 0;
                return Ok(());
            }
        }
        self.buf.drain(..start);
        self.scanned -= start;
        Ok(())
    }

    /// CopyDone: a last line without its newline is stored too; the tag
    /// is "COPY n".
    pub fn finish(&mut self, host: &mut dyn Host) -> Result<String, PgError> {
        if !self.ended && !self.buf.is_empty() {
            let mut line = std::mem::take(&mut self.buf);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if self.in_quote_at_end(&line) {
                self.line_no += 1;
                return Err(
                    PgError::error(BAD_COPY_FILE_FORMAT, "unterminated CSV quoted field")
                        .with_context(self.line_context(&String::from_utf8_lossy(&line))),
                );
            }
            self.line(&line, host)?;
        }
        self.flush(host)?;
        crate::fkey::run_pending(host, std::mem::take(&mut self.pending))?;
        if let Some(f) = self.triggers(host)? {
            f.after_statement(host)?;
        }
        Ok(format!("COPY {}", self.count))
    }

    /// Stores the waiting rows. An error names the line of the row that
    /// failed, without its text (the line is no longer at hand), as
    /// PostgreSQL's COPY does for errors of its buffered rows.
    fn flush(&mut self, host: &mut dyn Host) -> Result<(), PgError> {
        let rel = &self.plan.rel;
        self.batch
            .flush(host, rel, &mut self.pending)
            .map_err(|(line, e)| e.with_context(format!("COPY {}, line {line}", rel.name)))?;
        Ok(())
    }

    fn in_quote_at_end(&self, line: &[u8]) -> bool {
        if self.plan.opts.format != Format::Csv {
            return false;
        }
        let (mut q, mut i) = (false, 0);
        let o = &self.plan.opts;
        while i < line.len() {
            let c = line[i];
            if q && c == o.escape && o.escape != o.quote && i + 1 < line.len() {
                let n = line[i + 1];
                if n == o.quote || n == o.escape {
                    i += 2;
                    continue;
                }
            }
            if c == o.quote {
                q = !q;
            }
            i += 1;
        }
        q
    }

    /// The index of the newline ending the line that starts at `start`,
    /// if it has arrived. Text: a backslash protects the next byte. CSV:
    /// newlines inside quotes are data.
    fn line_end(&mut self, start: usize) -> Option<usize> {
        let o = &self.plan.opts;
        let mut i = self.scanned.max(start);
        let buf = &self.buf;
        while i < buf.len() {
            let c = buf[i];
            match o.format {
                Format::Text => {
                    if c == b'\\' {
                        if i + 1 >= buf.len() {
                            break;
                        }
                        i += 2;
                        continue;
                    }
                    if c == b'\n' {
                        return Some(i);
                    }
                }
                Format::Csv => {
                    if self.in_quote {
                        if c == o.escape && o.escape != o.quote {
                            if i + 1 >= buf.len() {
                                break;
                            }
                            let n = buf[i + 1];
                            if n == o.quote || n == o.escape {
                                i += 2;
                                continue;
                            }
                        }
                        if c == o.quote {
                            self.in_quote = false;
                        }
                    } else if c == o.quote {
                        self.in_quote = true;
                    } else if c == b'\n' {
                        return Some(i);
                    }
                }
            }
            i += 1;
        }
        self.scanned = i;
        None
    }

    fn line_context(&self, line: &str) -> String {
        format!(
            "COPY {}, line {}: \"{}\"",
            self.plan.rel.name,
            self.line_no,
            printout(line)
        )
    }

    /// One line of data: the header is skipped, `\.` ends the data, any
    /// other line is a row.
    fn line(&mut self, raw: &[u8], host: &mut dyn Host) -> Result<(), PgError> {
        self.line_no += 1;
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t,
            Err(e) => {
                let bad = &raw[e.valid_up_to()..];
                let n = e.error_len().unwrap_or(bad.len()).min(bad.len());
                let hex: Vec<String> = bad[..n].iter().map(|b| format!("0x{b:02x}")).collect();
                return Err(PgError::error(
                    sqlstate::CHARACTER_NOT_IN_REPERTOIRE,
                    format!(
                        "invalid byte sequence for encoding \"UTF8\": {}",
                        hex.join(" ")
                    ),
                )
                .with_context(format!(
                    "COPY {}, line {}",
                    self.plan.rel.name, self.line_no
                )));
            }
        };
        if text == "\\." {
            self.ended = true;
            return Ok(());
        }
        if self.line_no == 1 && self.plan.opts.header {
            return Ok(());
        }
        host.check_interrupts()?;
        let fields = match self.plan.opts.format {
            Format::Text => split_text(raw, &self.plan.opts),
            Format::Csv => split_csv(raw, &self.plan.opts),
        }
        .map_err(|e| e.with_context(self.line_context(text)))?;
        let n = self.plan.targets.len();
        if fields.len() > n {
            return Err(PgError::error(
                BAD_COPY_FILE_FORMAT,
                "extra data after last expected column",
            )
            .with_context(self.line_context(text)));
        }
        // An empty line is one empty field (or NULL), as in PostgreSQL.
        // Fields convert in order, so a bad first field is reported before
        // a missing last one, as PostgreSQL's NextCopyFrom does.
        let have = fields.len();
        let mut fields = fields.into_iter();
        let mut supplied: Vec<Option<Value>> = vec![None; self.plan.rel.columns.len()];
        for (k, &t) in self.plan.targets.iter().enumerate() {
            let col = &self.plan.rel.columns[t];
            let Some((f, quoted)) = fields.next() else {
                debug_assert!(k >= have);
                return Err(PgError::error(
                    BAD_COPY_FILE_FORMAT,
                    format!("missing data for column \"{}\"", col.name),
                )
                .with_context(self.line_context(text)));
            };
            let is_null = match &f {
                None => !self.plan.not_null[k],
                Some(s) => self.plan.force_null[k] && quoted && *s == self.plan.opts.null,
            };
            let v = if is_null {
                Value::Null
            } else {
                let s = f.unwrap_or_else(|| self.plan.opts.null.clone());
                decode_param(col.ty.oid, 0, s.as_bytes()).map_err(|e| {
                    e.with_context(format!(
                        "COPY {}, line {}, column {}: \"{}\"",
                        self.plan.rel.name,
                        self.line_no,
                        col.name,
                        printout(&s)
                    ))
                })?
            };
            supplied[t] = Some(v);
        }
        let mut row = Vec::with_capacity(supplied.len());
        for (i, s) in supplied.into_iter().enumerate() {
            row.push(match s {
                Some(v) => v,
                None => match &self.plan.defaults[i] {
                    Some(e) => {
                        let mut cx = Ctx { host, params: &[] };
                        e.eval(&[], &mut cx)?
                    }
                    None => Value::Null,
                },
            });
        }
        let row = match self.triggers(host)? {
            Some(f) => match f
                .before_row(host, None, Some(row))
                .map_err(|e| crate::routine::add_context(e, &self.line_context(text)))?
            {
                Some(r) => r,
                None => return Ok(()),
            },
            None => row,
        };
        if self.plan.rel.relkind == b'p' {
            // A partitioned table: the row goes to its partition.
            let mut router = crate::partition::Router::default();
            crate::partition::insert_routed(
                host,
                &self.plan.rel,
                &mut router,
                &mut self.pending,
                row,
            )
            .map_err(|e| e.with_context(self.line_context(text)))?;
            self.count += 1;
            return Ok(());
        }
        if self.checks.is_none() {
            self.checks = Some(crate::generated::RowChecks::bind(&*host, &self.plan.rel)?);
        }
        let checks = self.checks.take().unwrap_or_default();
        let row = crate::modify::finish_row(&self.plan.rel, &checks, row, host);
        self.checks = Some(checks);
        let row = row.map_err(|e| e.with_context(self.line_context(text)))?;
        let batching = match self.batching {
            Some(b) => b,
            None => {
                let has_triggers = self.triggers(host)?.is_some();
                let b =
                    crate::bulk::defaults_allow(&self.plan.rel, has_triggers, &self.plan.defaults);
                self.batching = Some(b);
                b
            }
        };
        if batching {
            self.count += 1;
            if self.batch.push(row, self.line_no) {
                self.flush(host)?;
            }
            return Ok(());
        }
        host.tables()?
            .insert(&self.plan.rel, &row)
            .map_err(|e| e.with_context(self.line_context(text)))?;
        self.pending
            .row_stored(&self.plan.rel, None, &row)
            .map_err(|e| e.with_context(self.line_context(text)))?;
        if let Some(f) = self.triggers(host)? {
            f.after_row(host, None, Some(&row))?;
        }
        self.count += 1;
        Ok(())
    }
}

/// A text-format line cut into fields with PostgreSQL's backslash escapes
/// (`\b \f \n \r \t \v`, octal `\123`, hex `\x4f`, any other character
/// itself); a field whose raw text is the NULL string is NULL.
fn split_text(raw: &[u8], o: &Options) -> Result<Vec<(Field, bool)>, PgError> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        let mut val: Vec<u8> = Vec::new();
        let mut end_of_line = true;
        while i < raw.len() {
            let c = raw[i];
            i += 1;
            if c == o.delimiter {
                end_of_line = false;
                break;
            }
            if c != b'\\' {
                val.push(c);
                continue;
            }
            let Some(&n) = raw.get(i) else {
                // A backslash ending the line stands for itself.
                val.push(b'\\');
                break;
            };
            i += 1;
            match n {
                b'0'..=b'7' => {
                    let mut v = (n - b'0') as u32;
                    for _ in 0..2 {
                        match raw.get(i) {
                            Some(&d @ b'0'..=b'7') => {
                                v = v * 8 + (d - b'0') as u32;
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    val.push((v & 0xff) as u8);
                }
                b'x' if raw.get(i).is_some_and(|d| d.is_ascii_hexdigit()) => {
                    let mut v = 0u32;
                    for _ in 0..2 {
                        match raw.get(i) {
                            Some(d) if d.is_ascii_hexdigit() => {
                                v = v * 16 + (*d as char).to_digit(16).unwrap_or(0);
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    val.push(v as u8);
                }
                b'b' => val.push(8),
                b'f' => val.push(12),
                b'n' => val.push(b'\n'),
                b'r' => val.push(b'\r'),
                b't' => val.push(b'\t'),
                b'v' => val.push(11),
                other => val.push(other),
            }
        }
        let field_raw_end = if end_of_line { i } else { i - 1 };
        let raw_field = &raw[start..field_raw_end];
        if raw_field == o.null.as_bytes() {
            out.push((None, false));
        } else {
            out.push((Some(utf8_field(val)?), false));
        }
        if end_of_line {
            return Ok(out);
        }
    }
}

fn utf8_field(v: Vec<u8>) -> Result<String, PgError> {
    String::from_utf8(v).map_err(|e| {
        let b = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        PgError::error(
            sqlstate::CHARACTER_NOT_IN_REPERTOIRE,
            format!(
                "invalid byte sequence for encoding \"UTF8\": 0x{:02x}",
                b[at]
            ),
        )
    })
}

/// A CSV record cut into fields: quoted parts may hold the delimiter,
/// newlines and doubled (or escaped) quotes; an unquoted field equal to
/// the NULL string is NULL. The bool says whether the field was quoted.
fn split_csv(raw: &[u8], o: &Options) -> Result<Vec<(Field, bool)>, PgError> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        let mut val: Vec<u8> = Vec::new();
        let mut quoted = false;
        let mut end_of_line = true;
        let mut in_quote = false;
        while i < raw.len() {
            let c = raw[i];
            i += 1;
            if in_quote {
                if c == o.escape && i < raw.len() && (raw[i] == o.quote || raw[i] == o.escape) {
                    // `""` inside quotes when escape = quote, or the escape
                    // character before a quote or itself.
                    if o.escape != o.quote || raw[i] == o.quote {
                        val.push(raw[i]);
                        i += 1;
                        continue;
                    }
                }
                if c == o.quote {
                    in_quote = false;
                    continue;
                }
                val.push(c);
            } else if c == o.delimiter {
                end_of_line = false;
                break;
            } else if c == o.quote {
                in_quote = true;
                quoted = true;
            } else {
                val.push(c);
            }
        }
        if in_quote {
            return Err(PgError::error(
                BAD_COPY_FILE_FORMAT,
                "unterminated CSV quoted field",
            ));
        }
        let field_raw_end = if end_of_line { i } else { i - 1 };
        if !quoted && &raw[start..field_raw_end] == o.null.as_bytes() {
            out.push((None, false));
        } else {
            out.push((Some(utf8_field(val)?), quoted));
        }
        if end_of_line {
            return Ok(out);
        }
    }
}

impl CopyToPlan {
    /// The CSV or text header line, when HEADER was asked for.
    pub(crate) fn header(&self) -> Option<Vec<u8>> {
        if !self.opts.header {
            return None;
        }
        let vals: Vec<Value> = self.names.iter().map(|n| Value::Text(n.clone())).collect();
        let no_force = vec![false; vals.len()];
        Some(self.format_values(&vals, &no_force))
    }

    /// One row as a line of COPY TO output.
    pub(crate) fn format_row(&self, row: &[Value]) -> Vec<u8> {
        self.format_values(row, &self.force_quote)
    }

    fn format_values(&self, row: &[Value], force: &[bool]) -> Vec<u8> {
        let o = &self.opts;
        let mut out = Vec::new();
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                out.push(o.delimiter);
            }
            let Some(b) = encode_text(v) else {
                out.extend_from_slice(o.null.as_bytes());
                continue;
            };
            match o.format {
                Format::Text => {
                    for &c in &b {
                        match c {
                            b'\\' => out.extend_from_slice(b"\\\\"),
                            8 => out.extend_from_slice(b"\\b"),
                            12 => out.extend_from_slice(b"\\f"),
                            b'\n' => out.extend_from_slice(b"\\n"),
                            b'\r' => out.extend_from_slice(b"\\r"),
                            b'\t' => out.extend_from_slice(b"\\t"),
                            11 => out.extend_from_slice(b"\\v"),
                            c if c == o.delimiter => {
                                out.push(b'\\');
                                out.push(c);
                            }
                            c => out.push(c),
                        }
                    }
                }
                Format::Csv => {
                    let must_quote = force.get(i).copied().unwrap_or(false)
                        || b == o.null.as_bytes()
                        || b == b"\\."
                        || b.iter()
                            .any(|&c| c == o.delimiter || c == o.quote || c == b'\n' || c == b'\r');
                    if must_quote {
                        out.push(o.quote);
                        for &c in &b {
                            if c == o.quote || c == o.escape {
                                out.push(o.escape);
                            }
                            out.push(c);
                        }
                        out.push(o.quote);
                    } else {
                        out.extend_from_slice(&b);
                    }
                }
            }
        }
        out.push(b'\n');
        out
    }
}
