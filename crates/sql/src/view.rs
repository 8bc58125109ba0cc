//! CREATE TABLE AS / SELECT INTO, views and materialized views: read around sqlparser, bound here, stored through the host's `Tables`.
//!
//! Why this shape:
//! - **Read by tokens, the query by sqlparser.** sqlparser has no grammar
//!   for `WITH [NO] DATA`, REFRESH MATERIALIZED VIEW or PostgreSQL's view
//!   options, so the statement's head (names, column list, options) is
//!   read word by word with sqlparser's token parser and the query after
//!   `AS` is handed to its `parse_query`. The query's own text (as the
//!   user wrote it, from after `AS` to the end) is what a view stores.
//! - **A view is its query text, bound again at each use.** The host keeps
//!   the text in pg_rewrite.ev_action (PostgreSQL keeps a node tree with
//!   resolved OIDs; tusk re-binds by name, so a view's names are resolved
//!   along the search_path of the session using it). In FROM the binder
//!   turns a view into a subquery named like the view
//!   (`bind.rs` `bind_factor`), so views join, filter and nest as
//!   subqueries do.
//! - **CREATE TABLE AS is CREATE TABLE plus inserts.** The query is bound
//!   when the statement is prepared (column names and types come from it,
//!   unknown literals become text as in PostgreSQL), the table is created
//!   with those columns when it runs and each row of the query is stored
//!   through `Tables::insert`; the tag is `SELECT n`. A materialized view
//!   is the same with relkind 'm' and its query kept as a view's is, so
//!   REFRESH truncates it and runs the query again.
//!
//! Everything here runs in the backend running the statement.

use sqlparser::ast;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use tusk_common::sqlstate;
use tusk_common::{PgError, Severity};

use crate::bind::{ident_name, not_supported, object_name_parts, Binder};
use crate::catalog::{self, ColumnDef, Relation, RelationSource};
use crate::exec::Relations;
use crate::host::Host;
use crate::parse::take_word as take;
use crate::parse::{expect_word as expect, near};
use crate::plan::SelectPlan;
use crate::types::{self, Ty};
use crate::{Column, Outcome};

type QualName = (Option<String>, String);

/// The new relation of CREATE TABLE AS, SELECT INTO or CREATE
/// MATERIALIZED VIEW.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `Some("pg_temp")` for a temporary table.
    pub schema: Option<String>,
    pub name: String,
}

/// A statement of this module, as read.
#[derive(Debug, Clone)]
pub(crate) enum ViewStmt {
    /// CREATE TABLE AS / SELECT INTO (`kind` b'r') or CREATE MATERIALIZED
    /// VIEW (b'm').
    CreateAs {
        target: Target,
        kind: u8,
        col_names: Vec<String>,
        query: Box<ast::Query>,
        query_text: String,
        with_data: bool,
        if_not_exists: bool,
        /// SELECT INTO: tag `SELECT n` even WITH NO DATA would not apply.
        select_into: bool,
        /// WITH (...): storage parameters as written (reloptions.rs).
        storage: Vec<crate::reloptions::Def>,
    },
    CreateView {
        target: Target,
        or_replace: bool,
        col_names: Vec<String>,
        query: Box<ast::Query>,
        query_text: String,
        /// WITH (...) and WITH CHECK OPTION, as pg_class.reloptions items.
        options: Vec<String>,
    },
    Refresh {
        name: QualName,
        with_data: bool,
    },
    Drop {
        matview: bool,
        names: Vec<QualName>,
        if_exists: bool,
        cascade: bool,
    },
    /// ALTER VIEW ... SET (...) / RESET (...) / ALTER COLUMN ... SET|DROP
    /// DEFAULT (the forms an updatable view needs).
    Alter {
        name: QualName,
        if_exists: bool,
        op: Box<AlterView>,
    },
}

/// What ALTER VIEW changes.
#[derive(Debug, Clone)]
pub(crate) enum AlterView {
    /// SET (name = value, ...): added to or replacing the reloptions.
    SetOptions(Vec<String>),
    /// RESET (name, ...).
    ResetOptions(Vec<String>),
    /// ALTER COLUMN c SET DEFAULT e (None: DROP DEFAULT).
    Default(String, Option<Box<ast::Expr>>),
    /// RENAME [COLUMN] old TO new: the view's output column (its query
    /// keeps its own names; pg_get_viewdef shows the new one after AS).
    RenameColumn(String, String),
}

/// A bound statement of this module: the statement and, for those with
/// a query, its plan and result columns.
#[derive(Debug, Clone)]
pub(crate) struct ViewPlan {
    stmt: ViewStmt,
    bound: Option<(Box<SelectPlan>, Vec<Column>)>,
    /// The primary keys binding the query relied on (bind/fdep.rs).
    constraint_deps: Vec<u32>,
}

impl ViewPlan {
    pub fn tag(&self) -> &'static str {
        match &self.stmt {
            ViewStmt::CreateAs { kind: b'm', .. } => "CREATE MATERIALIZED VIEW",
            ViewStmt::CreateAs { .. } => "CREATE TABLE AS",
            ViewStmt::CreateView { .. } => "CREATE VIEW",
            ViewStmt::Refresh { .. } => "REFRESH MATERIALIZED VIEW",
            ViewStmt::Drop { matview: true, .. } => "DROP MATERIALIZED VIEW",
            ViewStmt::Drop { .. } => "DROP VIEW",
            ViewStmt::Alter { .. } => "ALTER VIEW",
        }
    }
}

/// What the host stores for CREATE [OR REPLACE] VIEW and CREATE
/// MATERIALIZED VIEW (`Tables::create_view`).
#[derive(Debug, Clone)]
pub struct ViewDef {
    /// `Some("pg_temp")` for a temporary view.
    pub schema: Option<String>,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    /// The query's text, kept in pg_rewrite.ev_action.
    pub query: String,
    /// OIDs of the relations the query names in FROM (pg_depend rows,
    /// deptype 'n', from the view's rule).
    pub deps: Vec<u32>,
    /// OIDs of the primary keys (pg_constraint) the query's ungrouped
    /// columns rely on (bind/fdep.rs): pg_depend rows of the rule too.
    pub constraint_deps: Vec<u32>,
    /// b'v' view, b'm' materialized view (which also gets a heap file).
    pub kind: u8,
    /// OR REPLACE of this existing view (its OID).
    pub replace: Option<u32>,
    /// pg_class.reloptions (`check_option=local`, ...), empty for none.
    pub options: Vec<String>,
}

/// Is this statement one of this module's? `words`: its first words,
/// upper-cased; `tokens`: all of them (CREATE TABLE is ours only with a
/// top-level AS).
pub(crate) fn is_view_statement(words: &[&str], tokens: &[TokenWithSpan]) -> bool {
    let mut w = words;
    if let ["CREATE", rest @ ..] = w {
        w = rest;
        if let ["OR", "REPLACE", rest @ ..] = w {
            w = rest;
        }
        if let ["GLOBAL" | "LOCAL", rest @ ..] = w {
            w = rest;
        }
        if let ["TEMP" | "TEMPORARY" | "UNLOGGED", rest @ ..] = w {
            w = rest;
        }
        return match w {
            ["VIEW" | "MATERIALIZED" | "RECURSIVE", ..] => true,
            ["TABLE", ..] => top_level_as(tokens),
            _ => false,
        };
    }
    if let ["ALTER", "VIEW", ..] = w {
        // RENAME [COLUMN] a TO b renames an output column (RENAME TO, the
        // view itself, stays with the general parser).
        let ws: Vec<String> = tokens
            .iter()
            .filter_map(|t| match &t.token {
                Token::Word(x) => Some(x.value.to_ascii_uppercase()),
                _ => None,
            })
            .collect();
        if let Some(i) = ws.iter().position(|x| x == "RENAME") {
            if ws.get(i + 1).is_some_and(|n| n != "TO") {
                return true;
            }
        }
        // ALTER VIEW's forms for updatable views; the rest stay with the
        // general parser.
        return tokens.iter().any(|t| {
            matches!(&t.token, Token::Word(x) if x.quote_style.is_none()
                && ["RESET", "DEFAULT", "SET"].iter().any(|k| x.value.eq_ignore_ascii_case(k)))
        }) && !tokens.iter().any(|t| {
            matches!(&t.token, Token::Word(x) if x.quote_style.is_none()
                && ["SCHEMA", "OWNER", "RENAME"].iter().any(|k| x.value.eq_ignore_ascii_case(k)))
        });
    }
    matches!(
        w,
        ["REFRESH", "MATERIALIZED", ..] | ["DROP", "VIEW" | "MATERIALIZED", ..]
    )
}

/// Does `AS` appear outside parentheses (CREATE TABLE ... AS query)?
fn top_level_as(tokens: &[TokenWithSpan]) -> bool {
    let mut depth = 0i32;
    for t in tokens {
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Word(w)
                if depth == 0 && w.quote_style.is_none() && w.value.eq_ignore_ascii_case("as") =>
            {
                return true
            }
            _ => {}
        }
    }
    false
}

fn syntax(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

fn qual_name(p: &mut Parser) -> Result<QualName, PgError> {
    let n = p.parse_object_name(false).map_err(|_| near(p))?;
    split_name(&n)
}

fn split_name(n: &ast::ObjectName) -> Result<QualName, PgError> {
    let parts = object_name_parts(n)?;
    match parts.as_slice() {
        [t] => Ok((None, t.clone())),
        [s, t] => Ok((Some(s.clone()), t.clone())),
        _ => Err(syntax(format!(
            "improper relation name (too many dotted names): {n}"
        ))),
    }
}

fn if_exists(p: &mut Parser, not: bool) -> Result<bool, PgError> {
    if take(p, "IF") {
        if not {
            expect(p, "NOT")?;
        }
        expect(p, "EXISTS")?;
        return Ok(true);
    }
    Ok(false)
}

/// Byte offset of a token's start in `sql`.
fn offset(sql: &str, t: &TokenWithSpan) -> usize {
    let loc = t.span.start;
    if loc.line == 0 {
        return sql.len();
    }
    let mut line = 1u64;
    let mut col = 1u64;
    for (b, c) in sql.char_indices() {
        if line == loc.line && col == loc.column {
            return b;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    sql.len()
}

/// Reads a statement routed here by [`is_view_statement`].
pub(crate) fn parse(sql: &str) -> Result<ViewStmt, PgError> {
    let mut p = crate::parse::rewritten_parser(sql).map_err(|e| syntax(e.to_string()))?;
    if take(&mut p, "DROP") {
        let matview = take(&mut p, "MATERIALIZED");
        expect(&mut p, "VIEW")?;
        let if_exists = if_exists(&mut p, false)?;
        let mut names = vec![qual_name(&mut p)?];
        while p.consume_token(&Token::Comma) {
            names.push(qual_name(&mut p)?);
        }
        let cascade = take(&mut p, "CASCADE");
        if !cascade {
            take(&mut p, "RESTRICT");
        }
        end(&mut p)?;
        return Ok(ViewStmt::Drop {
            matview,
            names,
            if_exists,
            cascade,
        });
    }
    if take(&mut p, "ALTER") {
        expect(&mut p, "VIEW")?;
        let if_exists = if_exists(&mut p, false)?;
        let name = qual_name(&mut p)?;
        let op = if take(&mut p, "SET") {
            AlterView::SetOptions(view_options(&mut p)?)
        } else if take(&mut p, "RESET") {
            if !p.consume_token(&Token::LParen) {
                return Err(near(&mut p));
            }
            let mut names = Vec::new();
            loop {
                let id = p.parse_identifier().map_err(|_| near(&mut p))?;
                names.push(ident_name(&id));
                if p.consume_token(&Token::Comma) {
                    continue;
                }
                if p.consume_token(&Token::RParen) {
                    break;
                }
                return Err(near(&mut p));
            }
            AlterView::ResetOptions(names)
        } else if take(&mut p, "RENAME") {
            let _ = take(&mut p, "COLUMN");
            let old = p.parse_identifier().map_err(|_| near(&mut p))?;
            expect(&mut p, "TO")?;
            let new = p.parse_identifier().map_err(|_| near(&mut p))?;
            AlterView::RenameColumn(ident_name(&old), ident_name(&new))
        } else {
            expect(&mut p, "ALTER")?;
            let _ = take(&mut p, "COLUMN");
            let id = p.parse_identifier().map_err(|_| near(&mut p))?;
            if take(&mut p, "SET") {
                expect(&mut p, "DEFAULT")?;
                let e = p.parse_expr().map_err(|_| near(&mut p))?;
                AlterView::Default(ident_name(&id), Some(Box::new(e)))
            } else {
                expect(&mut p, "DROP")?;
                expect(&mut p, "DEFAULT")?;
                AlterView::Default(ident_name(&id), None)
            }
        };
        end(&mut p)?;
        return Ok(ViewStmt::Alter {
            name,
            if_exists,
            op: Box::new(op),
        });
    }
    if take(&mut p, "REFRESH") {
        expect(&mut p, "MATERIALIZED")?;
        expect(&mut p, "VIEW")?;
        if take(&mut p, "CONCURRENTLY") {
            return Err(not_supported("REFRESH MATERIALIZED VIEW CONCURRENTLY"));
        }
        let name = qual_name(&mut p)?;
        let with_data = with_data(&mut p)?;
        end(&mut p)?;
        return Ok(ViewStmt::Refresh { name, with_data });
    }
    expect(&mut p, "CREATE")?;
    let or_replace = if take(&mut p, "OR") {
        expect(&mut p, "REPLACE")?;
        true
    } else {
        false
    };
    let _ = take(&mut p, "GLOBAL") || take(&mut p, "LOCAL");
    let temp = take(&mut p, "TEMP") || take(&mut p, "TEMPORARY");
    let _unlogged = take(&mut p, "UNLOGGED");
    let mut recursive = false;
    let kind = if take(&mut p, "MATERIALIZED") {
        expect(&mut p, "VIEW")?;
        b'm'
    } else if take(&mut p, "RECURSIVE") {
        expect(&mut p, "VIEW")?;
        recursive = true;
        b'v'
    } else if take(&mut p, "VIEW") {
        b'v'
    } else {
        expect(&mut p, "TABLE")?;
        b'r'
    };
    if or_replace && kind != b'v' {
        return Err(near(&mut p));
    }
    let if_not_exists = if kind != b'v' {
        if_exists(&mut p, true)?
    } else {
        false
    };
    let (schema, name) = qual_name(&mut p)?;
    let schema = temp_schema(schema, temp)?;
    let mut col_names = Vec::new();
    // The grammar of CREATE RECURSIVE VIEW requires the column list.
    if recursive && p.peek_token().token != Token::LParen {
        return Err(near(&mut p));
    }
    if p.consume_token(&Token::LParen) {
        loop {
            let id = p.parse_identifier().map_err(|_| near(&mut p))?;
            col_names.push(ident_name(&id));
            if p.consume_token(&Token::Comma) {
                continue;
            }
            if p.consume_token(&Token::RParen) {
                break;
            }
            return Err(near(&mut p));
        }
    }
    if take(&mut p, "USING") {
        let _ = p.parse_identifier().map_err(|_| near(&mut p))?;
    }
    let mut options = Vec::new();
    let mut storage = Vec::new();
    if take(&mut p, "WITH") {
        if kind == b'v' {
            options = view_options(&mut p)?;
        } else {
            storage = crate::reloptions::parse_defs(&mut p)?;
        }
    }
    if kind == b'r' && take(&mut p, "ON") {
        expect(&mut p, "COMMIT")?;
        if !temp {
            return Err(PgError::error(
                sqlstate::SqlState::new("42P16"),
                "ON COMMIT can only be used on temporary tables",
            ));
        }
        if take(&mut p, "PRESERVE") {
            expect(&mut p, "ROWS")?;
        } else if take(&mut p, "DELETE") {
            return Err(not_supported("ON COMMIT DELETE ROWS"));
        } else if take(&mut p, "DROP") {
            return Err(not_supported("ON COMMIT DROP"));
        } else {
            return Err(near(&mut p));
        }
    }
    if take(&mut p, "TABLESPACE") {
        let _ = p.parse_identifier().map_err(|_| near(&mut p))?;
    }
    expect(&mut p, "AS")?;
    let start = offset(sql, &p.peek_token());
    let query = p.parse_query().map_err(|e| syntax(e.to_string()))?;
    let stop = offset(sql, &p.peek_token());
    let query_text = sql[start..stop.max(start)].trim().to_string();
    // PostgreSQL's makeRecursiveViewSelect: the view is
    // WITH RECURSIVE name (cols) AS (query) SELECT cols FROM name.
    let (query, query_text) = if recursive {
        let q = crate::routine::quote_ident(&name);
        let cols = col_names
            .iter()
            .map(|c| crate::routine::quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!("WITH RECURSIVE {q} ({cols}) AS ({query_text}) SELECT {cols} FROM {q}");
        let mut rp = crate::parse::rewritten_parser(&text).map_err(|e| syntax(e.to_string()))?;
        let query = rp.parse_query().map_err(|e| syntax(e.to_string()))?;
        (query, text)
    } else {
        (query, query_text)
    };
    let target = Target { schema, name };
    if kind == b'v' {
        if take(&mut p, "WITH") {
            let mode = if take(&mut p, "LOCAL") {
                "local"
            } else {
                let _ = take(&mut p, "CASCADED");
                "cascaded"
            };
            expect(&mut p, "CHECK")?;
            expect(&mut p, "OPTION")?;
            options.retain(|o| !o.starts_with("check_option="));
            options.push(format!("check_option={mode}"));
        }
        end(&mut p)?;
        return Ok(ViewStmt::CreateView {
            target,
            or_replace,
            col_names,
            query,
            query_text,
            options,
        });
    }
    let with_data = with_data(&mut p)?;
    end(&mut p)?;
    Ok(ViewStmt::CreateAs {
        target,
        kind,
        col_names,
        query,
        query_text,
        with_data,
        if_not_exists,
        select_into: false,
        storage,
    })
}

/// A view's `WITH (name [= value], ...)`: PostgreSQL's view options
/// (check_option, security_barrier, security_invoker), checked and
/// normalised as pg_class.reloptions keeps them (22023 otherwise).
pub(crate) fn view_options(p: &mut Parser) -> Result<Vec<String>, PgError> {
    if !p.consume_token(&Token::LParen) {
        return Err(near(p));
    }
    let mut out: Vec<String> = Vec::new();
    loop {
        let name = match p.next_token().token {
            Token::Word(w) => w.value.to_lowercase(),
            _ => return Err(near(p)),
        };
        let value = if p.consume_token(&Token::Eq) {
            Some(match p.next_token().token {
                Token::Word(w) => w.value,
                Token::SingleQuotedString(s) => s,
                Token::Number(n, _) => n,
                _ => return Err(near(p)),
            })
        } else {
            None
        };
        out.retain(|o| o.split('=').next() != Some(name.as_str()));
        out.push(view_option(&name, value.as_deref())?);
        if p.consume_token(&Token::Comma) {
            continue;
        }
        if p.consume_token(&Token::RParen) {
            return Ok(out);
        }
        return Err(near(p));
    }
}

/// One view option as stored (`name=value`), or PostgreSQL's 22023.
pub(crate) fn view_option(name: &str, value: Option<&str>) -> Result<String, PgError> {
    let bad = |m: String| PgError::error(sqlstate::SqlState::new("22023"), m);
    match name {
        "check_option" => {
            let v = value.unwrap_or("").to_lowercase();
            if v != "local" && v != "cascaded" {
                return Err(bad(format!(
                    "invalid value for enum option \"check_option\": {}",
                    value.unwrap_or("")
                ))
                .with_detail("Valid values are \"local\" and \"cascaded\"."));
            }
            Ok(format!("check_option={v}"))
        }
        "security_barrier" | "security_invoker" => {
            let v = match value.map(str::to_lowercase).as_deref() {
                None | Some("true" | "on" | "yes" | "1" | "t" | "y") => "true",
                Some("false" | "off" | "no" | "0" | "f" | "n") => "false",
                Some(_) => {
                    return Err(bad(format!(
                        "invalid value for boolean option \"{name}\": {}",
                        value.unwrap_or("")
                    )))
                }
            };
            Ok(format!("{name}={v}"))
        }
        _ => Err(bad(format!("unrecognized parameter \"{name}\""))),
    }
}

/// A temporary relation goes to the session's own schema, `pg_temp`
/// (42P16 for another schema, as PostgreSQL).
pub(crate) fn temp_schema(schema: Option<String>, temp: bool) -> Result<Option<String>, PgError> {
    if !temp {
        return Ok(schema);
    }
    match schema.as_deref() {
        None | Some("pg_temp") => Ok(Some("pg_temp".into())),
        Some(s) if s.starts_with("pg_temp_") => Ok(Some("pg_temp".into())),
        Some(_) => Err(PgError::error(
            sqlstate::SqlState::new("42P16"),
            "cannot create temporary relation in non-temporary schema",
        )),
    }
}

/// `[WITH [NO] DATA]`.
fn with_data(p: &mut Parser) -> Result<bool, PgError> {
    if take(p, "WITH") {
        let no = take(p, "NO");
        expect(p, "DATA")?;
        return Ok(!no);
    }
    Ok(true)
}

fn end(p: &mut Parser) -> Result<(), PgError> {
    while p.consume_token(&Token::SemiColon) {}
    match p.peek_token().token {
        Token::EOF => Ok(()),
        _ => Err(near(p)),
    }
}

/// SELECT ... INTO [TEMP] t FROM ...: CREATE TABLE t AS the query without
/// its INTO (None for a SELECT without one).
pub(crate) fn select_into(q: &ast::Query) -> Result<Option<ViewStmt>, PgError> {
    let ast::SetExpr::Select(sel) = q.body.as_ref() else {
        return Ok(None);
    };
    let Some(into) = &sel.into else {
        return Ok(None);
    };
    let (schema, name) = match into.targets.as_slice() {
        [ast::Expr::Identifier(i)] => (None, ident_name(i)),
        [ast::Expr::CompoundIdentifier(p)] if p.len() == 2 => {
            (Some(ident_name(&p[0])), ident_name(&p[1]))
        }
        _ => return Err(syntax("syntax error at or near \"INTO\"")),
    };
    let schema = temp_schema(schema, into.temporary)?;
    let mut query = q.clone();
    if let ast::SetExpr::Select(s) = query.body.as_mut() {
        s.into = None;
    }
    let query_text = query.to_string();
    Ok(Some(ViewStmt::CreateAs {
        target: Target { schema, name },
        kind: b'r',
        col_names: Vec::new(),
        query: Box::new(query),
        query_text,
        with_data: true,
        if_not_exists: false,
        select_into: true,
        storage: Vec::new(),
    }))
}

/// Binds a statement: a query is bound now, so that its errors and its
/// columns are known at Parse, as PostgreSQL's. `src`: the map of the
/// text the query's spans are in and where that text starts in the
/// client's query string, for its errors' positions (lib.rs).
pub(crate) fn bind(
    stmt: ViewStmt,
    host: &dyn Host,
    src: Option<(std::sync::Arc<crate::parse::SourceMap>, usize)>,
) -> Result<ViewPlan, PgError> {
    let mut constraint_deps = Vec::new();
    let bound = match &stmt {
        ViewStmt::CreateAs {
            query, col_names, ..
        }
        | ViewStmt::CreateView {
            query, col_names, ..
        } => {
            let is_view = matches!(stmt, ViewStmt::CreateView { .. });
            let mut binder = Binder::new(host, Vec::new());
            let shift = src.as_ref().map_or(0, |(_, start)| *start);
            binder.src = src.map(|(map, _)| map);
            // CREATE VIEW only stores the query: PostgreSQL checks the
            // privileges on its tables when the view is used, not here.
            let bound = if is_view {
                crate::acl::unchecked(|| binder.bind_query(query))
            } else {
                binder.bind_query(query)
            };
            let (plan, mut cols) = bound.map_err(|e| crate::shift_position(e, shift))?;
            constraint_deps = std::mem::take(&mut binder.constraint_deps);
            if col_names.len() > cols.len() {
                return Err(syntax(if is_view {
                    "CREATE VIEW specifies more column names than columns"
                } else {
                    "too many column names were specified"
                }));
            }
            for (c, n) in cols.iter_mut().zip(col_names) {
                c.name = n.clone();
            }
            for c in cols.iter_mut() {
                // PostgreSQL's rule: an unknown-type column is text.
                if c.type_oid == types::UNKNOWN {
                    c.type_oid = types::TEXT;
                    c.type_len = -1;
                    c.type_mod = -1;
                }
            }
            for (i, c) in cols.iter().enumerate() {
                if cols[..i].iter().any(|d| d.name == c.name) {
                    return Err(PgError::error(
                        catalog::codes::DUPLICATE_COLUMN,
                        format!("column \"{}\" specified more than once", c.name),
                    ));
                }
            }
            Some((Box::new(plan), cols))
        }
        _ => None,
    };
    Ok(ViewPlan {
        stmt,
        bound,
        constraint_deps,
    })
}

fn column_defs(cols: &[Column]) -> Vec<ColumnDef> {
    cols.iter()
        .map(|c| ColumnDef::new(&c.name, Ty::with_mod(c.type_oid, c.type_mod)))
        .collect()
}

/// The relations a query names in FROM (also in nested subqueries of
/// FROM and in WITH), as `[schema.]name`; names in expressions'
/// subqueries are not followed.
fn named_relations(q: &ast::Query, out: &mut Vec<QualName>) {
    if let Some(w) = &q.with {
        for c in &w.cte_tables {
            named_relations(&c.query, out);
        }
    }
    set_relations(&q.body, out);
}

fn set_relations(s: &ast::SetExpr, out: &mut Vec<QualName>) {
    match s {
        ast::SetExpr::Select(sel) => {
            for t in &sel.from {
                factor_relations(&t.relation, out);
                for j in &t.joins {
                    factor_relations(&j.relation, out);
                }
            }
        }
        ast::SetExpr::Query(q) => named_relations(q, out),
        ast::SetExpr::SetOperation { left, right, .. } => {
            set_relations(left, out);
            set_relations(right, out);
        }
        _ => {}
    }
}

fn factor_relations(f: &ast::TableFactor, out: &mut Vec<QualName>) {
    match f {
        ast::TableFactor::Table { name, .. } => {
            if let Ok(n) = split_name(name) {
                out.push(n);
            }
        }
        ast::TableFactor::Derived { subquery, .. } => named_relations(subquery, out),
        ast::TableFactor::NestedJoin {
            table_with_joins, ..
        } => {
            factor_relations(&table_with_joins.relation, out);
            for j in &table_with_joins.joins {
                factor_relations(&j.relation, out);
            }
        }
        _ => {}
    }
}

fn relation_oid(r: &Relation) -> Option<u32> {
    match r.source {
        RelationSource::Table(t) | RelationSource::View(t) => Some(t.oid),
        RelationSource::SystemView(_) => None,
    }
}

fn deps_of(host: &dyn Host, q: &ast::Query) -> Result<Vec<u32>, PgError> {
    let mut names = Vec::new();
    named_relations(q, &mut names);
    let mut out = Vec::new();
    for (s, n) in names {
        if let Some(r) = host.lookup_table(s.as_deref(), &n)? {
            if let Some(o) = relation_oid(&r) {
                if !out.contains(&o) {
                    out.push(o);
                }
            }
        }
    }
    Ok(out)
}

fn notice(host: &mut dyn Host, msg: String) {
    host.notice(PgError::new(
        Severity::Notice,
        sqlstate::SUCCESSFUL_COMPLETION,
        msg,
    ));
}

fn done(tag: impl Into<String>) -> Result<Outcome, PgError> {
    Ok(Outcome {
        rows: Vec::new(),
        tag: tag.into(),
    })
}

/// Runs `plan` and stores every row in `rel`; the number of rows.
fn fill(
    host: &mut dyn Host,
    relations: &dyn Relations,
    rel: &Relation,
    plan: &SelectPlan,
) -> Result<u64, PgError> {
    let mut cx = crate::expr::Ctx {
        host: &mut *host,
        params: &[],
    };
    let root = crate::exec::build(plan, &mut cx, relations)?;
    let mut ex = crate::exec::Execution::tree(root, plan.visible, Vec::new());
    let mut n = 0u64;
    while let Some(row) = ex.next(host)? {
        host.tables()?.insert(rel, &row)?;
        n += 1;
    }
    Ok(n)
}

/// Runs a bound statement.
pub(crate) fn execute(
    v: &ViewPlan,
    host: &mut dyn Host,
    relations: &dyn Relations,
) -> Result<Outcome, PgError> {
    match &v.stmt {
        ViewStmt::CreateAs {
            target,
            kind,
            with_data,
            if_not_exists,
            select_into,
            query,
            query_text,
            storage,
            ..
        } => {
            let (plan, cols) = v.bound.as_ref().expect("bound with its query");
            let defs = column_defs(cols);
            let schema = target.schema.as_deref();
            if *if_not_exists && host.lookup_table(schema, &target.name)?.is_some() {
                notice(
                    host,
                    format!("relation \"{}\" already exists, skipping", target.name),
                );
                return done(v.tag());
            }
            let (main_opts, toast_opts) = crate::reloptions::for_new_table(storage, false)?;
            if *kind == b'm' {
                let def = ViewDef {
                    schema: target.schema.clone(),
                    name: target.name.clone(),
                    columns: defs,
                    query: query_text.clone(),
                    deps: deps_of(&*host, query)?,
                    constraint_deps: v.constraint_deps.clone(),
                    kind: b'm',
                    replace: None,
                    options: Vec::new(),
                };
                host.tables()?.create_view(&def)?;
            } else {
                host.tables()?
                    .create_table(schema, &target.name, &defs, false)?;
            }
            if !main_opts.is_empty() || !toast_opts.is_empty() {
                let oid = catalog::lookup(&*host, schema, &target.name)?.table()?.oid;
                crate::reloptions::store_new(host, oid, &main_opts, &toast_opts)?;
            }
            if !*with_data {
                return done(v.tag());
            }
            let rel = catalog::lookup(&*host, schema, &target.name)?;
            let n = fill(host, relations, &rel, plan)?;
            let _ = select_into;
            done(format!("SELECT {n}"))
        }
        ViewStmt::CreateView {
            target,
            or_replace,
            query,
            query_text,
            options,
            ..
        } => {
            let (_, cols) = v.bound.as_ref().expect("bound with its query");
            let schema = target.schema.as_deref();
            let mut replace = None;
            if let Some(old) = host.lookup_table(schema, &target.name)? {
                let RelationSource::View(t) = old.source else {
                    return Err(PgError::error(
                        catalog::codes::WRONG_OBJECT_TYPE,
                        format!("\"{}\" is not a view", target.name),
                    ));
                };
                if !*or_replace {
                    return Err(PgError::error(
                        catalog::codes::DUPLICATE_TABLE,
                        format!("relation \"{}\" already exists", target.name),
                    ));
                }
                check_replace(&old, cols)?;
                replace = Some(t.oid);
            }
            let def = ViewDef {
                schema: target.schema.clone(),
                name: target.name.clone(),
                columns: column_defs(cols),
                query: query_text.clone(),
                deps: deps_of(&*host, query)?,
                constraint_deps: v.constraint_deps.clone(),
                kind: b'v',
                replace,
                options: options.clone(),
            };
            crate::bind::view_dml::check_option_allowed(&*host, &def)?;
            host.tables()?.create_view(&def)?;
            done("CREATE VIEW")
        }
        ViewStmt::Refresh { name, with_data } => {
            let rel = catalog::lookup(&*host, name.0.as_deref(), &name.1)?;
            let Some(text) = rel.view_query.clone().filter(|_| rel.table().is_ok()) else {
                return Err(PgError::error(
                    catalog::codes::WRONG_OBJECT_TYPE,
                    format!("\"{}\" is not a materialized view", rel.name),
                ));
            };
            host.tables()?.truncate(&rel)?;
            // The new relfilenode is what the re-read below must find.
            host.command_counter_increment();
            if *with_data {
                let plan = bind_text(&*host, &text)?.0;
                let rel = catalog::lookup(&*host, Some(&rel.schema), &rel.name)?;
                fill(host, relations, &rel, &plan)?;
            }
            done("REFRESH MATERIALIZED VIEW")
        }
        ViewStmt::Alter {
            name,
            if_exists,
            op,
        } => alter_view(host, name, *if_exists, op),
        ViewStmt::Drop {
            matview,
            names,
            if_exists,
            cascade,
        } => {
            let what = if *matview {
                "materialized view"
            } else {
                "view"
            };
            let mut found = Vec::new();
            for (schema, name) in names {
                let shown = match schema {
                    Some(s) => format!("{s}.{name}"),
                    None => name.clone(),
                };
                match host.lookup_table(schema.as_deref(), name)? {
                    Some(rel) => {
                        let is = match rel.source {
                            RelationSource::View(_) => !*matview,
                            RelationSource::Table(_) => *matview && rel.view_query.is_some(),
                            RelationSource::SystemView(_) => false,
                        };
                        if !is {
                            return Err(PgError::error(
                                catalog::codes::WRONG_OBJECT_TYPE,
                                format!("\"{name}\" is not a {what}"),
                            )
                            .with_hint(wrong_drop_hint(&rel)));
                        }
                        found.push(rel);
                    }
                    None if *if_exists => {
                        notice(host, format!("{what} \"{shown}\" does not exist, skipping"))
                    }
                    None => {
                        return Err(PgError::error(
                            sqlstate::UNDEFINED_TABLE,
                            format!("{what} \"{shown}\" does not exist"),
                        ))
                    }
                }
            }
            drop_relations(host, &found, *cascade)?;
            done(v.tag())
        }
    }
}

/// ALTER VIEW's SET / RESET of options and column defaults.
fn alter_view(
    host: &mut dyn Host,
    name: &QualName,
    if_exists: bool,
    op: &AlterView,
) -> Result<Outcome, PgError> {
    let Some(rel) = host.lookup_table(name.0.as_deref(), &name.1)? else {
        if if_exists {
            notice(
                host,
                format!("relation \"{}\" does not exist, skipping", name.1),
            );
            return done("ALTER VIEW");
        }
        return Err(PgError::error(
            sqlstate::UNDEFINED_TABLE,
            format!("relation \"{}\" does not exist", name.1),
        ));
    };
    let RelationSource::View(t) = rel.source else {
        return Err(PgError::error(
            catalog::codes::WRONG_OBJECT_TYPE,
            format!("\"{}\" is not a view", rel.name),
        ));
    };
    crate::acl::check_owner(&*host, &rel)?;
    match op {
        AlterView::Default(column, default) => {
            let i = rel
                .columns
                .iter()
                .position(|c| &c.name == column)
                .ok_or_else(|| {
                    PgError::error(
                        sqlstate::UNDEFINED_COLUMN,
                        format!(
                            "column \"{column}\" of relation \"{}\" does not exist",
                            rel.name
                        ),
                    )
                })?;
            let text = default.as_ref().map(|e| e.to_string());
            if let Some(text) = &text {
                let mut probe = rel.columns[i].clone();
                probe.default = Some(text.clone());
                crate::alter::bind_default_checked(&*host, &probe)?;
            }
            // The column's pg_attribute / pg_attrdef rows are a table's.
            let mut as_table = rel.clone();
            as_table.source = RelationSource::Table(t);
            host.tables()?.alter_table(
                &as_table,
                &crate::alter::AlterOp::SetDefault {
                    column: column.clone(),
                    default: text,
                },
            )?;
        }
        AlterView::RenameColumn(old, new) => {
            let no_column = |c: &str| {
                PgError::error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{c}\" does not exist"),
                )
            };
            if !rel.columns.iter().any(|c| &c.name == old) {
                return Err(no_column(old));
            }
            if rel.columns.iter().any(|c| &c.name == new) {
                return Err(PgError::error(
                    catalog::codes::DUPLICATE_COLUMN,
                    format!(
                        "column \"{new}\" of relation \"{}\" already exists",
                        rel.name
                    ),
                ));
            }
            // The column's pg_attribute row is renamed as a table's.
            let mut as_table = rel.clone();
            as_table.source = RelationSource::Table(t);
            host.tables()?.alter_table(
                &as_table,
                &crate::alter::AlterOp::RenameColumn {
                    old: old.clone(),
                    new: new.clone(),
                },
            )?;
        }
        AlterView::SetOptions(_) | AlterView::ResetOptions(_) => {
            let mut options = host.relation_options(t.oid)?;
            match op {
                AlterView::SetOptions(set) => {
                    for o in set {
                        let key = o.split('=').next().unwrap_or("");
                        options.retain(|x| x.split('=').next() != Some(key));
                        options.push(o.clone());
                    }
                }
                AlterView::ResetOptions(names) => {
                    options.retain(|x| !names.iter().any(|n| x.split('=').next() == Some(n)))
                }
                AlterView::Default(..) | AlterView::RenameColumn(..) => {}
            }
            let text = rel.view_query.clone().unwrap_or_default();
            let q = parse_query_text(&text)?;
            let def = ViewDef {
                schema: Some(rel.schema.clone()),
                name: rel.name.clone(),
                columns: rel.columns.clone(),
                query: text,
                deps: deps_of(&*host, &q)?,
                constraint_deps: Vec::new(),
                kind: b'v',
                replace: Some(t.oid),
                options,
            };
            crate::bind::view_dml::check_option_allowed(&*host, &def)?;
            host.tables()?.create_view(&def)?;
        }
    }
    done("ALTER VIEW")
}

/// The HINT for DROP of the wrong kind of relation.
pub(crate) fn wrong_drop_hint(rel: &Relation) -> &'static str {
    match (&rel.source, rel.view_query.is_some()) {
        (RelationSource::View(_), _) => "Use DROP VIEW to remove a view.",
        (RelationSource::Table(_), true) => {
            "Use DROP MATERIALIZED VIEW to remove a materialized view."
        }
        _ => "Use DROP TABLE to remove a table.",
    }
}

/// A view's stored query, bound: its plan and columns.
pub(crate) fn bind_text(host: &dyn Host, text: &str) -> Result<(SelectPlan, Vec<Column>), PgError> {
    let q = parse_query_text(text)?;
    Binder::new(host, Vec::new()).bind_query(&q)
}

/// A view's stored query text as a query.
pub(crate) fn parse_query_text(text: &str) -> Result<ast::Query, PgError> {
    let mut p = crate::parse::rewritten_parser(text).map_err(|e| syntax(e.to_string()))?;
    p.parse_query()
        .map(|q| *q)
        .map_err(|e| syntax(e.to_string()))
}

/// CREATE OR REPLACE VIEW may only add columns at the end (PostgreSQL's
/// checkViewColumns, 42P16).
fn check_replace(old: &Relation, cols: &[Column]) -> Result<(), PgError> {
    let bad = |m: String| PgError::error(sqlstate::SqlState::new("42P16"), m);
    if cols.len() < old.columns.len() {
        return Err(bad("cannot drop columns from view".into()));
    }
    for (o, n) in old.columns.iter().zip(cols) {
        if o.name != n.name {
            return Err(bad(format!(
                "cannot change name of view column \"{}\" to \"{}\"",
                o.name, n.name
            ))
            .with_hint(
                "Use ALTER VIEW ... RENAME COLUMN ... to change name of view column instead.",
            ));
        }
        if o.ty.oid != n.type_oid {
            return Err(bad(format!(
                "cannot change data type of view column \"{}\" from {} to {}",
                o.name,
                types::sql_name(o.ty.oid),
                types::sql_name(n.type_oid)
            )));
        }
    }
    Ok(())
}

/// Drops `rels` (views, materialized views or tables), refusing (2BP01,
/// PostgreSQL's DETAIL and HINT) when views depend on them, unless
/// `cascade`, which drops those views first with PostgreSQL's NOTICE.
pub(crate) fn drop_relations(
    host: &mut dyn Host,
    rels: &[Relation],
    cascade: bool,
) -> Result<(), PgError> {
    for rel in rels {
        crate::acl::check_owner(&*host, rel)?;
    }
    let mut order: Vec<Relation> = Vec::new();
    let mut lines = Vec::new();
    for rel in rels {
        dependents(host, rel, &mut order, &mut lines, rels)?;
    }
    if !lines.is_empty() {
        if !cascade {
            let first = &rels[0];
            return Err(PgError::error(
                sqlstate::SqlState::new("2BP01"),
                format!(
                    "cannot drop {} {} because other objects depend on it",
                    kind_word(first),
                    first.name
                ),
            )
            .with_detail(lines.join("\n"))
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        let gone: Vec<String> = order
            .iter()
            .map(|r| format!("drop cascades to {} {}", kind_word(r), r.name))
            .collect();
        if gone.len() == 1 {
            notice(host, gone[0].clone());
        } else {
            let e = PgError::new(
                Severity::Notice,
                sqlstate::SUCCESSFUL_COMPLETION,
                format!("drop cascades to {} other objects", gone.len()),
            )
            .with_detail(gone.join("\n"));
            host.notice(e);
        }
    }
    // Dependents first (deepest first), then the named relations.
    for r in order.iter().rev() {
        host.tables()?.drop_table(r)?;
    }
    for r in rels {
        let r = match r.table() {
            Ok(_) => catalog::lookup(&*host, Some(&r.schema), &r.name)?,
            Err(_) => r.clone(),
        };
        host.tables()?.drop_table(&r)?;
    }
    Ok(())
}

fn kind_word(r: &Relation) -> &'static str {
    match (&r.source, r.view_query.is_some()) {
        (RelationSource::View(_), _) => "view",
        (RelationSource::Table(_), true) => "materialized view",
        _ => "table",
    }
}

/// The views and materialized views depending on `rel`, directly or
/// through other views, each once (not those being dropped anyway),
/// parents before children; `lines`: PostgreSQL's DETAIL lines.
fn dependents(
    host: &mut dyn Host,
    rel: &Relation,
    order: &mut Vec<Relation>,
    lines: &mut Vec<String>,
    named: &[Relation],
) -> Result<(), PgError> {
    let Some(oid) = relation_oid(rel) else {
        return Ok(());
    };
    for (schema, name) in host.tables()?.dependent_views(oid)? {
        let Some(d) = host.lookup_table(Some(&schema), &name)? else {
            continue;
        };
        let doid = relation_oid(&d);
        if named.iter().any(|n| relation_oid(n) == doid)
            || order.iter().any(|n| relation_oid(n) == doid)
        {
            continue;
        }
        lines.push(format!(
            "{} {} depends on {} {}",
            kind_word(&d),
            d.name,
            kind_word(rel),
            rel.name
        ));
        order.push(d.clone());
        dependents(host, &d, order, lines, named)?;
    }
    Ok(())
}

/// pg_get_viewdef(oid | name [, pretty]): the stored query deparsed as
/// PostgreSQL's ruleutils prints it (viewdef.rs), or, for a form that
/// deparser does not know, the text as written shaped as a definition (a
/// leading space, a closing `;`); NULL for a relation that is not a view.
pub(crate) fn viewdef(
    host: &mut dyn Host,
    arg: &crate::value::Value,
    pretty: bool,
) -> Result<crate::value::Value, PgError> {
    use crate::value::Value;
    let oid = match arg {
        Value::Null => return Ok(Value::Null),
        Value::Text(name) => {
            let parts: Vec<&str> = name.split('.').collect();
            let rel = match parts.as_slice() {
                [t] => catalog::lookup(&*host, None, &t.to_lowercase())?,
                [s, t] => catalog::lookup(&*host, Some(&s.to_lowercase()), &t.to_lowercase())?,
                _ => return Ok(Value::Null),
            };
            match relation_oid(&rel) {
                Some(o) => o,
                None => return Ok(Value::Null),
            }
        }
        Value::Oid(o) => *o,
        Value::Int4(i) => *i as u32,
        Value::Int8(i) => *i as u32,
        _ => return Ok(Value::Null),
    };
    let rows = crate::sysinfo::query(
        host,
        "SELECT ev_action FROM pg_catalog.pg_rewrite WHERE ev_class = $1 AND rulename = '_RETURN'",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    Ok(
        match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
            Some(Value::Text(t)) => {
                let rel = crate::partition::relation_by_oid(host, oid)?;
                let deparsed = rel.and_then(|r| crate::viewdef::deparse_view(host, &r, &t, pretty));
                match deparsed {
                    Some(d) => Value::Text(format!("{d};")),
                    None => Value::Text(format!(" {t};")),
                }
            }
            _ => Value::Null,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_heads_and_keeps_query_text() {
        match parse("CREATE TEMP TABLE t (x, y) AS SELECT 1, 'a' WITH NO DATA").unwrap() {
            ViewStmt::CreateAs {
                target,
                col_names,
                query_text,
                with_data,
                kind,
                ..
            } => {
                assert_eq!(target.schema.as_deref(), Some("pg_temp"));
                assert_eq!(target.name, "t");
                assert_eq!(col_names, vec!["x", "y"]);
                assert_eq!(query_text, "SELECT 1, 'a'");
                assert!(!with_data);
                assert_eq!(kind, b'r');
            }
            other => panic!("{other:?}"),
        }
        match parse("create or replace view v as\n  select a from t where a > 1;").unwrap() {
            ViewStmt::CreateView {
                or_replace,
                query_text,
                ..
            } => {
                assert!(or_replace);
                assert_eq!(query_text, "select a from t where a > 1");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("DROP MATERIALIZED VIEW IF EXISTS m, n CASCADE").unwrap(),
            ViewStmt::Drop {
                matview: true,
                if_exists: true,
                cascade: true,
                ..
            }
        ));
        let e = parse("CREATE TEMP TABLE s.t AS SELECT 1").unwrap_err();
        assert_eq!(e.code.as_str(), "42P16");
    }

    #[test]
    fn view_options_are_checked_and_kept_as_reloptions() {
        match parse("CREATE VIEW v WITH (security_barrier, check_option = LOCAL) AS SELECT 1 WITH CASCADED CHECK OPTION").unwrap() {
            ViewStmt::CreateView { options, .. } => {
                assert_eq!(options, vec!["security_barrier=true", "check_option=cascaded"]);
            }
            other => panic!("{other:?}"),
        }
        match parse("CREATE VIEW v AS SELECT 1 WITH LOCAL CHECK OPTION").unwrap() {
            ViewStmt::CreateView { options, .. } => assert_eq!(options, vec!["check_option=local"]),
            other => panic!("{other:?}"),
        }
        let e = view_option("check_option", Some("here")).unwrap_err();
        assert_eq!(e.code.as_str(), "22023");
        assert_eq!(
            e.message,
            "invalid value for enum option \"check_option\": here"
        );
        assert_eq!(
            view_option("security_invoker", Some("off")).unwrap(),
            "security_invoker=false"
        );
        assert!(view_option("fillfactor", Some("10")).is_err());
        assert!(matches!(
            parse("ALTER VIEW v RESET (check_option)").unwrap(),
            ViewStmt::Alter { .. }
        ));
    }
}
