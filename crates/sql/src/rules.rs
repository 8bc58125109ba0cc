//! The rule system: CREATE/DROP/ALTER RULE and ALTER TABLE ... ENABLE/DISABLE RULE kept in pg_rewrite, and PostgreSQL's rewriting of an INSERT, UPDATE or DELETE by its target's rules into the statements that run instead of (or with) it.
//!
//! Why this shape:
//! - **Rules are SQL text, rewriting is SQL text.** pg_rewrite keeps the
//!   rule's qual and actions as written (as views keep their query), and a
//!   statement on a relation with rules becomes a list of SQL statements
//!   that are each parsed and bound the ordinary way. PostgreSQL's
//!   rewriteHandler joins the original query's range table into each
//!   action; here the original's rows are a derived table `"*RULE*"`
//!   (old and new values as columns `o0..`, `n0..`) added to the action's
//!   FROM, which keeps the original's names in their own scope (an action
//!   naming the same table or columns is not ambiguous).
//! - **NEW and OLD are replaced by expressions**: a single-row VALUES
//!   insert's values (cast to the column types, defaults for absent
//!   columns) are substituted directly, as PostgreSQL's targetlist
//!   substitution does; anything else reads them from `"*RULE*"`.
//! - **PostgreSQL's order and tags**: rules fire in name order; an INSERT's
//!   original runs before its rules' actions, an UPDATE's or DELETE's after
//!   them; a conditional INSTEAD rule keeps the original with `(qual) IS
//!   NOT TRUE`; the original sets the command tag, else the last INSTEAD
//!   action of the same command, else the tag reports 0 rows.
//!
//! Called by the binder (lib.rs's prepare_modify) and by the statements
//! themselves when they run.

use std::cell::{Cell, RefCell};

use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};
use tusk_common::{sqlstate, PgError};

use crate::catalog::codes::{DEPENDENT_OBJECTS_STILL_EXIST, DUPLICATE_OBJECT};
use crate::catalog::{self, Relation, RelationSource};
use crate::host::Host;
use crate::types::{self, Oid, Ty};
use crate::value::Value;
use crate::{Command, Prepared};

const PG_NODE_TREE: u32 = 194;

/// A rule statement, read from its text.
#[derive(Debug, Clone)]
pub enum RuleStmt {
    Create {
        replace: bool,
        name: String,
        /// pg_rewrite.ev_type: b'1' SELECT, b'2' UPDATE, b'3' INSERT, b'4' DELETE.
        event: u8,
        table: (Option<String>, String),
        qual: Option<String>,
        instead: bool,
        actions: Vec<String>,
    },
    Drop {
        if_exists: bool,
        name: String,
        table: (Option<String>, String),
        cascade: bool,
    },
    Rename {
        name: String,
        table: (Option<String>, String),
        to: String,
    },
    /// ALTER TABLE ... ENABLE/DISABLE [ALWAYS|REPLICA] RULE: ev_enabled.
    Enable {
        if_exists: bool,
        table: (Option<String>, String),
        name: String,
        mode: u8,
    },
}

impl RuleStmt {
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            RuleStmt::Create { .. } => "CREATE RULE",
            RuleStmt::Drop { .. } => "DROP RULE",
            RuleStmt::Rename { .. } => "ALTER RULE",
            RuleStmt::Enable { .. } => "ALTER TABLE",
        }
    }
}

/// ALTER TABLE ... {ENABLE|DISABLE} [ALWAYS|REPLICA] RULE (leading words).
pub(crate) fn is_enable_disable(words: &[&str]) -> bool {
    matches!(words, ["ALTER", "TABLE", ..])
        && words
            .windows(2)
            .any(|w| matches!(w[0], "ENABLE" | "DISABLE" | "ALWAYS" | "REPLICA") && w[1] == "RULE")
}

fn syntax(msg: String) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

/// Tokens with whitespace kept, so that spans of them read back as written.
fn all_tokens(sql: &str) -> Result<Vec<Token>, PgError> {
    let mut t = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .map_err(|e| syntax(format!("syntax error: {e}")))?;
    t.retain(|t| !matches!(t, Token::EOF));
    Ok(t)
}

fn is_ws(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

struct Cur {
    t: Vec<Token>,
    i: usize,
}

impl Cur {
    fn skip(&mut self) {
        while self.i < self.t.len() && is_ws(&self.t[self.i]) {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<&Token> {
        self.skip();
        self.t.get(self.i)
    }
    fn word_is(&mut self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
    }
    fn eat(&mut self, kw: &str) -> bool {
        if self.word_is(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn unexpected(&mut self) -> PgError {
        match self.peek() {
            Some(t) => syntax(format!("syntax error at or near \"{t}\"")),
            None => syntax("syntax error at end of input".into()),
        }
    }
    fn expect(&mut self, kw: &str) -> Result<(), PgError> {
        if self.eat(kw) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }
    fn ident(&mut self) -> Result<String, PgError> {
        match self.peek().cloned() {
            Some(Token::Word(w)) => {
                self.i += 1;
                Ok(match w.quote_style {
                    Some(_) => w.value,
                    None => w.value.to_lowercase(),
                })
            }
            _ => Err(self.unexpected()),
        }
    }
    fn qualified(&mut self) -> Result<(Option<String>, String), PgError> {
        let first = self.ident()?;
        if matches!(self.peek(), Some(Token::Period)) {
            self.i += 1;
            let second = self.ident()?;
            return Ok((Some(first), second));
        }
        Ok((None, first))
    }
    fn text(&self, from: usize, to: usize) -> String {
        self.t[from..to].iter().map(|t| t.to_string()).collect()
    }
    fn end(&mut self) -> Result<(), PgError> {
        while matches!(self.peek(), Some(Token::SemiColon)) {
            self.i += 1;
        }
        if self.peek().is_some() {
            return Err(self.unexpected());
        }
        Ok(())
    }
}

/// Reads CREATE/DROP/ALTER RULE and ALTER TABLE ... ENABLE/DISABLE RULE.
pub(crate) fn parse(sql: &str) -> Result<RuleStmt, PgError> {
    let mut c = Cur {
        t: all_tokens(sql)?,
        i: 0,
    };
    if c.eat("DROP") {
        c.expect("RULE")?;
        let if_exists = if c.eat("IF") {
            c.expect("EXISTS")?;
            true
        } else {
            false
        };
        let name = c.ident()?;
        c.expect("ON")?;
        let table = c.qualified()?;
        let cascade = c.eat("CASCADE");
        if !cascade {
            c.eat("RESTRICT");
        }
        c.end()?;
        return Ok(RuleStmt::Drop {
            if_exists,
            name,
            table,
            cascade,
        });
    }
    if c.eat("ALTER") {
        if c.eat("RULE") {
            let name = c.ident()?;
            c.expect("ON")?;
            let table = c.qualified()?;
            c.expect("RENAME")?;
            c.expect("TO")?;
            let to = c.ident()?;
            c.end()?;
            return Ok(RuleStmt::Rename { name, table, to });
        }
        c.expect("TABLE")?;
        let if_exists = if c.eat("IF") {
            c.expect("EXISTS")?;
            true
        } else {
            false
        };
        c.eat("ONLY");
        let table = c.qualified()?;
        let mode = if c.eat("ENABLE") {
            if c.eat("ALWAYS") {
                b'A'
            } else if c.eat("REPLICA") {
                b'R'
            } else {
                b'O'
            }
        } else {
            c.expect("DISABLE")?;
            b'D'
        };
        c.expect("RULE")?;
        let name = c.ident()?;
        c.end()?;
        return Ok(RuleStmt::Enable {
            if_exists,
            table,
            name,
            mode,
        });
    }
    c.expect("CREATE")?;
    let replace = if c.eat("OR") {
        c.expect("REPLACE")?;
        true
    } else {
        false
    };
    c.expect("RULE")?;
    let name = c.ident()?;
    c.expect("AS")?;
    c.expect("ON")?;
    let event = if c.eat("SELECT") {
        b'1'
    } else if c.eat("UPDATE") {
        b'2'
    } else if c.eat("INSERT") {
        b'3'
    } else if c.eat("DELETE") {
        b'4'
    } else {
        return Err(c.unexpected());
    };
    c.expect("TO")?;
    let table = c.qualified()?;
    let mut qual = None;
    if c.eat("WHERE") {
        let start = c.i;
        let mut depth = 0usize;
        loop {
            match c.t.get(c.i) {
                None => return Err(syntax("syntax error at end of input".into())),
                Some(Token::LParen) => depth += 1,
                Some(Token::RParen) => depth = depth.saturating_sub(1),
                Some(Token::Word(w))
                    if depth == 0
                        && w.quote_style.is_none()
                        && w.value.eq_ignore_ascii_case("DO") =>
                {
                    break
                }
                _ => {}
            }
            c.i += 1;
        }
        qual = Some(c.text(start, c.i).trim().to_string());
    }
    c.expect("DO")?;
    let instead = if c.eat("INSTEAD") {
        true
    } else {
        c.eat("ALSO");
        false
    };
    let mut actions = Vec::new();
    if c.eat("NOTHING") {
        c.end()?;
    } else if matches!(c.peek(), Some(Token::LParen)) && !starts_query_in_parens(&mut c) {
        c.i += 1;
        let mut depth = 1usize;
        let mut start = c.i;
        loop {
            match c.t.get(c.i) {
                None => return Err(syntax("syntax error at end of input".into())),
                Some(Token::LParen) => depth += 1,
                Some(Token::RParen) => {
                    depth -= 1;
                    if depth == 0 {
                        let a = c.text(start, c.i).trim().to_string();
                        if !a.is_empty() {
                            actions.push(a);
                        }
                        c.i += 1;
                        break;
                    }
                }
                Some(Token::SemiColon) if depth == 1 => {
                    let a = c.text(start, c.i).trim().to_string();
                    if !a.is_empty() {
                        actions.push(a);
                    }
                    start = c.i + 1;
                }
                _ => {}
            }
            c.i += 1;
        }
        c.end()?;
    } else {
        let start = c.i;
        let mut end = c.t.len();
        while end > start && (is_ws(&c.t[end - 1]) || matches!(c.t[end - 1], Token::SemiColon)) {
            end -= 1;
        }
        actions.push(c.text(start, end).trim().to_string());
    }
    for a in &actions {
        let mut ac = Cur {
            t: all_tokens(a)?,
            i: 0,
        };
        if ![
            "SELECT", "INSERT", "UPDATE", "DELETE", "NOTIFY", "WITH", "VALUES",
        ]
        .iter()
        .any(|k| ac.word_is(k))
            && !matches!(ac.peek(), Some(Token::LParen))
        {
            return Err(ac.unexpected());
        }
    }
    Ok(RuleStmt::Create {
        replace,
        name,
        event,
        table,
        qual,
        instead,
        actions,
    })
}

/// `DO INSTEAD (SELECT ...)`: a parenthesised query is one action, not a
/// list (PostgreSQL's grammar reads `(` SELECT as a select_with_parens
/// only inside a list; treating a lone parenthesised SELECT as a list of
/// one action gives the same result).
fn starts_query_in_parens(_c: &mut Cur) -> bool {
    false
}

fn err(code: tusk_common::SqlState, msg: String) -> PgError {
    PgError::error(code, msg)
}

fn q(
    host: &mut dyn Host,
    sql: &str,
    ptypes: &[u32],
    params: Vec<Value>,
) -> Result<Vec<crate::Row>, PgError> {
    crate::fdw::q(host, sql, ptypes, params)
}

/// [`lookup`] for a statement with IF EXISTS: a missing relation is a
/// notice and None, as PostgreSQL's DROP RULE IF EXISTS says it.
fn lookup_or_skip(
    host: &mut dyn Host,
    table: &(Option<String>, String),
    if_exists: bool,
) -> Result<Option<Relation>, PgError> {
    match lookup(&*host, table) {
        Err(e) if if_exists && e.code == sqlstate::UNDEFINED_TABLE => {
            host.notice(crate::fdw::notice(format!(
                "relation \"{}\" does not exist, skipping",
                table.1
            )));
            Ok(None)
        }
        r => r.map(Some),
    }
}

fn lookup(host: &dyn Host, table: &(Option<String>, String)) -> Result<Relation, PgError> {
    catalog::lookup(host, table.0.as_deref(), &table.1)
}

fn rel_oid(rel: &Relation) -> Option<u32> {
    match rel.source {
        RelationSource::Table(t) | RelationSource::View(t) => Some(t.oid),
        RelationSource::SystemView(_) => None,
    }
}

fn oid_of(v: &Value) -> u32 {
    match v {
        Value::Oid(o) => *o,
        Value::Int4(i) => *i as u32,
        Value::Int8(i) => *i as u32,
        _ => 0,
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Text(s) | Value::Name(s) => Some(s.clone()),
        Value::Null => None,
        _ => None,
    }
}

fn find_rule(host: &mut dyn Host, relid: u32, name: &str) -> Result<Option<crate::Row>, PgError> {
    let rows = q(
        host,
        "SELECT oid, ev_type FROM pg_catalog.pg_rewrite WHERE ev_class = $1 AND rulename = $2",
        &[types::OID, types::TEXT],
        vec![Value::Oid(relid), Value::Text(name.to_string())],
    )?;
    Ok(rows.into_iter().next())
}

fn no_such_rule(name: &str, rel: &str) -> PgError {
    err(
        sqlstate::UNDEFINED_OBJECT,
        format!("rule \"{name}\" for relation \"{rel}\" does not exist"),
    )
}

/// Runs a rule statement.
pub(crate) fn run(stmt: &RuleStmt, host: &mut dyn Host) -> Result<(), PgError> {
    match stmt {
        RuleStmt::Create {
            replace,
            name,
            event,
            table,
            qual,
            instead,
            actions,
        } => create(
            host,
            *replace,
            name,
            *event,
            table,
            qual.as_deref(),
            *instead,
            actions,
        ),
        RuleStmt::Drop {
            if_exists,
            name,
            table,
            cascade: _,
        } => {
            let Some(rel) = lookup_or_skip(host, table, *if_exists)? else {
                return Ok(());
            };
            let relid = rel_oid(&rel).unwrap_or(0);
            let Some(row) = find_rule(host, relid, name)? else {
                if *if_exists {
                    host.notice(crate::fdw::notice(format!(
                        "rule \"{name}\" for relation \"{}\" does not exist, skipping",
                        rel.name
                    )));
                    return Ok(());
                }
                return Err(no_such_rule(name, &rel.name));
            };
            if name == "_RETURN" && matches!(rel.source, RelationSource::View(_)) {
                return Err(err(
                    DEPENDENT_OBJECTS_STILL_EXIST,
                    format!(
                        "cannot drop rule _RETURN on view {0} because view {0} requires it",
                        rel.name
                    ),
                )
                .with_hint(format!("You can drop view {} instead.", rel.name)));
            }
            crate::acl::check_owner(&*host, &rel)?;
            q(
                host,
                "DELETE FROM pg_catalog.pg_rewrite WHERE oid = $1",
                &[types::OID],
                vec![row[0].clone()],
            )?;
            q(
                host,
                "DELETE FROM pg_catalog.pg_depend WHERE classid = 2618 AND objid = $1",
                &[types::OID],
                vec![row[0].clone()],
            )?;
            set_hasrules(host, relid)
        }
        RuleStmt::Rename { name, table, to } => {
            let rel = lookup(&*host, table)?;
            let relid = rel_oid(&rel).unwrap_or(0);
            let Some(row) = find_rule(host, relid, name)? else {
                return Err(no_such_rule(name, &rel.name));
            };
            if find_rule(host, relid, to)?.is_some() {
                return Err(err(
                    DUPLICATE_OBJECT,
                    format!("rule \"{to}\" for relation \"{}\" already exists", rel.name),
                ));
            }
            if matches!(row[1], Value::Char(b'1')) || name == "_RETURN" {
                return Err(err(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "renaming an ON SELECT rule is not allowed".into(),
                ));
            }
            crate::acl::check_owner(&*host, &rel)?;
            q(
                host,
                "UPDATE pg_catalog.pg_rewrite SET rulename = $2 WHERE oid = $1",
                &[types::OID, types::NAME],
                vec![row[0].clone(), Value::Name(to.clone())],
            )?;
            Ok(())
        }
        RuleStmt::Enable {
            if_exists,
            table,
            name,
            mode,
        } => {
            let Some(rel) = lookup_or_skip(host, table, *if_exists)? else {
                return Ok(());
            };
            let relid = rel_oid(&rel).unwrap_or(0);
            let Some(row) = find_rule(host, relid, name)? else {
                return Err(no_such_rule(name, &rel.name));
            };
            crate::acl::check_owner(&*host, &rel)?;
            q(
                host,
                "UPDATE pg_catalog.pg_rewrite SET ev_enabled = $2 WHERE oid = $1",
                &[types::OID, types::CHAR],
                vec![row[0].clone(), Value::Char(*mode)],
            )?;
            Ok(())
        }
    }
}

/// pg_class.relhasrules follows whether the relation has rules left.
fn set_hasrules(host: &mut dyn Host, relid: u32) -> Result<(), PgError> {
    q(
        host,
        "UPDATE pg_catalog.pg_class SET relhasrules = EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite \
         WHERE ev_class = $1) WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(relid)],
    )?;
    Ok(())
}

/// The relation's columns: name, type as a cast target (no typmod, so a
/// cast does not truncate), default expression.
fn columns_of(rel: &Relation) -> Vec<Col> {
    rel.columns
        .iter()
        .map(|c| {
            let oid = c.domain.unwrap_or(c.ty.oid);
            let ty = types::type_info(oid)
                .map(|t| quote_ident(t.name))
                .unwrap_or_else(|| "text".into());
            Col {
                name: c.name.clone(),
                ty,
                default: c.default.clone(),
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
struct Col {
    name: String,
    ty: String,
    default: Option<String>,
}

fn quote_ident(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain && crate::parse::keyword_category(s).is_none() {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// `sql` with every `new.col` / `old.col` (and `new.*`) replaced by
/// `f(is_new, col)`, parenthesised.
fn substitute(
    sql: &str,
    f: &mut dyn FnMut(bool, &str) -> Result<String, PgError>,
) -> Result<String, PgError> {
    let t = all_tokens(sql)?;
    let mut out = String::new();
    let mut i = 0;
    let mut prev_sig: Option<&Token> = None;
    let next_sig = |mut j: usize| {
        while j < t.len() && is_ws(&t[j]) {
            j += 1;
        }
        j
    };
    while i < t.len() {
        if let Token::Word(w) = &t[i] {
            let name = match w.quote_style {
                None => w.value.to_lowercase(),
                Some(_) => w.value.clone(),
            };
            if (name == "new" || name == "old") && !matches!(prev_sig, Some(Token::Period)) {
                let p = next_sig(i + 1);
                if matches!(t.get(p), Some(Token::Period)) {
                    let c = next_sig(p + 1);
                    let col = match t.get(c) {
                        Some(Token::Word(cw)) => Some(match cw.quote_style {
                            None => cw.value.to_lowercase(),
                            Some(_) => cw.value.clone(),
                        }),
                        Some(Token::Mul) => Some("*".to_string()),
                        _ => None,
                    };
                    if let Some(col) = col {
                        let r = f(name == "new", &col)?;
                        if col == "*" {
                            out.push_str(&r);
                        } else {
                            out.push('(');
                            out.push_str(&r);
                            out.push(')');
                        }
                        prev_sig = t.get(c);
                        i = c + 1;
                        continue;
                    }
                }
            }
        }
        out.push_str(&t[i].to_string());
        if !is_ws(&t[i]) {
            prev_sig = Some(&t[i]);
        }
        i += 1;
    }
    Ok(out)
}

/// A rule qual's bare column names, which PostgreSQL resolves against NEW
/// in an ON INSERT rule and OLD in an ON DELETE rule, written as such.
fn qualify_bare(sql: &str, cols: &[Col], event: u8) -> Result<String, PgError> {
    let prefix = match event {
        b'3' => "new.",
        b'4' => "old.",
        _ => return Ok(sql.to_string()),
    };
    let t = all_tokens(sql)?;
    let sig = |mut j: usize| {
        while j < t.len() && is_ws(&t[j]) {
            j += 1;
        }
        j
    };
    let mut out = String::new();
    let mut prev: Option<&Token> = None;
    for i in 0..t.len() {
        if let Token::Word(w) = &t[i] {
            let name = match w.quote_style {
                None => w.value.to_lowercase(),
                Some(_) => w.value.clone(),
            };
            let next = t.get(sig(i + 1));
            if !matches!(prev, Some(Token::Period))
                && !matches!(next, Some(Token::Period | Token::LParen))
                && cols.iter().any(|c| c.name == name)
            {
                out.push_str(prefix);
            }
        }
        out.push_str(&t[i].to_string());
        if !is_ws(&t[i]) {
            prev = Some(&t[i]);
        }
    }
    Ok(out)
}

/// Which of NEW and OLD `sql` names.
fn refs(sql: &str) -> Result<(bool, bool), PgError> {
    let (mut n, mut o) = (false, false);
    substitute(sql, &mut |is_new, _| {
        if is_new {
            n = true;
        } else {
            o = true;
        }
        Ok(String::new())
    })?;
    Ok((n, o))
}

#[allow(clippy::too_many_arguments)]
fn create(
    host: &mut dyn Host,
    replace: bool,
    name: &str,
    event: u8,
    table: &(Option<String>, String),
    qual: Option<&str>,
    instead: bool,
    actions: &[String],
) -> Result<(), PgError> {
    let rel = lookup(&*host, table)?;
    let relid = match (&rel.source, rel_oid(&rel)) {
        (RelationSource::SystemView(_), _) | (_, None) => {
            return Err(err(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{}\" is a system catalog", rel.name),
            ))
        }
        (_, Some(o)) => o,
    };
    crate::acl::check_owner(&*host, &rel)?;
    let is_view = matches!(rel.source, RelationSource::View(_));
    if event == b'1' {
        if actions.is_empty() {
            return Err(err(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "INSTEAD NOTHING rules on SELECT are not implemented".into(),
            )
            .with_hint("Use views instead."));
        }
        if actions.len() > 1 {
            return Err(err(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "multiple actions for rules on SELECT are not implemented".into(),
            ));
        }
        let upper = actions[0].trim_start().to_ascii_uppercase();
        if !instead
            || !(upper.starts_with("SELECT") || upper.starts_with("WITH") || upper.starts_with('('))
        {
            return Err(err(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "rules on SELECT must have action INSTEAD SELECT".into(),
            ));
        }
        if qual.is_some() {
            return Err(err(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "event qualifications are not implemented for rules on SELECT".into(),
            ));
        }
        if is_view {
            if !replace {
                return Err(err(
                    sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                    format!("\"{}\" is already a view", rel.name),
                ));
            }
        } else {
            // PostgreSQL 15 converts an empty table to a view here; tusk
            // does not (the conversion exists for dumps older than 7.3).
            if name != "_RETURN" {
                return Err(err(
                    sqlstate::INVALID_OBJECT_DEFINITION,
                    format!("view rule for \"{}\" must be named \"_RETURN\"", rel.name),
                ));
            }
            return Err(err(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "converting table \"{}\" to a view is not supported",
                    rel.name
                ),
            ));
        }
        return Err(err(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "CREATE OR REPLACE RULE of a view's ON SELECT rule is not supported; use CREATE OR REPLACE VIEW".into(),
        ));
    }
    if name == "_RETURN" && is_view && !replace {
        return Err(err(
            DUPLICATE_OBJECT,
            format!(
                "rule \"_RETURN\" for relation \"{}\" already exists",
                rel.name
            ),
        ));
    }
    // The event decides which of NEW and OLD may be named.
    let cols = columns_of(&rel);
    let qual_owned = qual.map(|qv| qualify_bare(qv, &cols, event)).transpose()?;
    let qual = qual_owned.as_deref();
    let mut texts: Vec<&str> = actions.iter().map(String::as_str).collect();
    if let Some(qv) = qual {
        texts.push(qv);
    }
    for (k, t) in texts.iter().enumerate() {
        let (n, o) = refs(t)?;
        let in_qual = qual.is_some() && k == texts.len() - 1;
        let bad = match event {
            b'3' if o => Some(("old", "ON INSERT rule cannot use OLD")),
            b'4' if n => Some(("new", "ON DELETE rule cannot use NEW")),
            _ => None,
        };
        if let Some((which, msg)) = bad {
            if in_qual {
                return Err(err(
                    sqlstate::UNDEFINED_TABLE,
                    format!("invalid reference to FROM-clause entry for table \"{which}\""),
                )
                .with_hint(format!(
                    "There is an entry for table \"{which}\", but it cannot be referenced from this part of the query."
                )));
            }
            return Err(err(sqlstate::INVALID_OBJECT_DEFINITION, msg.into()));
        }
    }
    // Bind each action (and the qual) with NEW and OLD as typed NULLs, for
    // PostgreSQL's errors at definition time.
    let mut typed_null = |is_new: bool, c: &str| -> Result<String, PgError> {
        if c == "*" {
            return Ok(cols
                .iter()
                .map(|c| format!("CAST(NULL AS {})", c.ty))
                .collect::<Vec<_>>()
                .join(", "));
        }
        match cols.iter().find(|x| x.name == c) {
            Some(x) => Ok(format!("CAST(NULL AS {})", x.ty)),
            None => Err(err(
                sqlstate::UNDEFINED_COLUMN,
                format!(
                    "column {}.{c} does not exist",
                    if is_new { "new" } else { "old" }
                ),
            )),
        }
    };
    let mut returning = false;
    for a in actions {
        let sql = substitute(a, &mut typed_null)?;
        let stmts = crate::parse(&sql)?;
        for s in &stmts {
            if let crate::Parsed::Ast(ast_s) = &s.parsed {
                let has_ret = match ast_s.as_ref() {
                    ast::Statement::Insert(i) => i.returning.is_some(),
                    ast::Statement::Update(u) => u.returning.is_some(),
                    ast::Statement::Delete(d) => d.returning.is_some(),
                    _ => false,
                };
                if has_ret {
                    if returning {
                        return Err(err(
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            "cannot have multiple RETURNING lists in a rule".into(),
                        ));
                    }
                    returning = true;
                    if qual.is_some() {
                        return Err(err(
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            "RETURNING lists are not supported in conditional rules".into(),
                        ));
                    }
                    if !instead {
                        return Err(err(
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            "RETURNING lists are not supported in non-INSTEAD rules".into(),
                        ));
                    }
                }
                if matches!(ast_s.as_ref(), ast::Statement::NOTIFY { .. }) {
                    if qual.is_some() {
                        return Err(err(
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            "rules with WHERE conditions can only have SELECT, INSERT, UPDATE, or DELETE actions".into(),
                        ));
                    }
                    continue;
                }
            }
            let declared: [Oid; 0] = [];
            // The rewriter's errors (a view that is not updatable, rules
            // that recurse) come when the rule is used, as PostgreSQL's.
            let p = match guarded(|| crate::prepare_unchecked(s, &declared, &*host)) {
                Err(e)
                    if e.code == sqlstate::FEATURE_NOT_SUPPORTED
                        || e.code == sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE
                        || e.code == sqlstate::INVALID_OBJECT_DEFINITION =>
                {
                    continue
                }
                Err(e) if e.code == sqlstate::UNDEFINED_COLUMN => {
                    // A bare column of the rule's relation: PostgreSQL's hint.
                    let named = e
                        .message
                        .strip_prefix("column \"")
                        .and_then(|m| m.strip_suffix("\" does not exist"))
                        .map(str::to_string);
                    return Err(match named {
                        Some(c) if e.hint.is_none() && cols.iter().any(|x| x.name == c) => e.with_hint(format!(
                            "There is a column named \"{c}\" in table \"old\", but it cannot be referenced from this part of the query."
                        )),
                        _ => e,
                    });
                }
                r => r?,
            };
            if has_returning_mismatch(&p, &cols) {
                return Err(err(
                    sqlstate::INVALID_OBJECT_DEFINITION,
                    "RETURNING list has too many entries".into(),
                ));
            }
        }
    }
    if let Some(qv) = qual {
        let sql = format!("SELECT 1 WHERE {}", substitute(qv, &mut typed_null)?);
        for s in crate::parse(&sql)? {
            let declared: [Oid; 0] = [];
            guarded(|| crate::prepare_unchecked(&s, &declared, &*host))?;
        }
    }
    // Dependencies: the relations the actions name.
    let mut deps = Vec::new();
    for a in actions {
        if let Ok(stmts) = crate::parse(&substitute(a, &mut typed_null)?) {
            for s in stmts {
                if let crate::Parsed::Ast(st) = &s.parsed {
                    named_targets(st, &mut deps);
                }
            }
        }
    }
    let action_text = if actions.is_empty() {
        "<>".to_string()
    } else {
        actions.join(";\n")
    };
    let qual_text = qual.map(str::to_string).unwrap_or_else(|| "<>".into());
    let existing = find_rule(host, relid, name)?;
    let oid =
        match existing {
            Some(row) => {
                if !replace {
                    return Err(err(
                        DUPLICATE_OBJECT,
                        format!(
                            "rule \"{name}\" for relation \"{}\" already exists",
                            rel.name
                        ),
                    ));
                }
                let oid = oid_of(&row[0]);
                q(
                host,
                "UPDATE pg_catalog.pg_rewrite SET ev_type = $2, is_instead = $3, ev_qual = $4, \
                 ev_action = $5 WHERE oid = $1",
                &[types::OID, types::CHAR, types::BOOL, PG_NODE_TREE, PG_NODE_TREE],
                vec![
                    Value::Oid(oid),
                    Value::Char(event),
                    Value::Bool(instead),
                    Value::Text(qual_text),
                    Value::Text(action_text),
                ],
            )?;
                q(
                    host,
                    "DELETE FROM pg_catalog.pg_depend WHERE classid = 2618 AND objid = $1",
                    &[types::OID],
                    vec![Value::Oid(oid)],
                )?;
                oid
            }
            None => {
                let oid = host.tables()?.new_catalog_oid()?;
                q(
                    host,
                    "INSERT INTO pg_catalog.pg_rewrite VALUES ($1, $2, $3, $4, 'O', $5, $6, $7)",
                    &[
                        types::OID,
                        types::NAME,
                        types::OID,
                        types::CHAR,
                        types::BOOL,
                        PG_NODE_TREE,
                        PG_NODE_TREE,
                    ],
                    vec![
                        Value::Oid(oid),
                        Value::Name(name.to_string()),
                        Value::Oid(relid),
                        Value::Char(event),
                        Value::Bool(instead),
                        Value::Text(qual_text),
                        Value::Text(action_text),
                    ],
                )?;
                oid
            }
        };
    let mut dep_rows = vec![(relid, b'a')];
    for (s, n) in deps {
        if let Ok(r) = catalog::lookup(&*host, s.as_deref(), &n) {
            if let Some(o) = rel_oid(&r) {
                if o != relid && !dep_rows.iter().any(|d| d.0 == o) {
                    dep_rows.push((o, b'n'));
                }
            }
        }
    }
    for (o, kind) in dep_rows {
        q(
            host,
            "INSERT INTO pg_catalog.pg_depend VALUES (2618, $1, 0, 1259, $2, 0, $3)",
            &[types::OID, types::OID, types::CHAR],
            vec![Value::Oid(oid), Value::Oid(o), Value::Char(kind)],
        )?;
    }
    set_hasrules(host, relid)
}

fn has_returning_mismatch(p: &Prepared, cols: &[Col]) -> bool {
    p.command != Command::Select && p.columns.len() > cols.len()
}

/// The relations an action writes or reads in its FROM (for pg_depend).
fn named_targets(s: &ast::Statement, out: &mut Vec<(Option<String>, String)>) {
    let mut push = |n: &ast::ObjectName| {
        if let Ok(mut p) = crate::bind::object_name_parts(n) {
            let name = p.pop().unwrap_or_default();
            out.push((p.pop(), name));
        }
    };
    match s {
        ast::Statement::Insert(i) => {
            if let ast::TableObject::TableName(n) = &i.table {
                push(n);
            }
        }
        ast::Statement::Update(u) => {
            if let ast::TableFactor::Table { name, .. } = &u.table.relation {
                push(name);
            }
        }
        ast::Statement::Delete(d) => {
            let tables = match &d.from {
                ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
            };
            for t in tables {
                if let ast::TableFactor::Table { name, .. } = &t.relation {
                    push(name);
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------
// Rewriting
// ---------------------------------------------------------------------

thread_local! {
    /// (relation, event) pairs whose rules are being expanded: meeting one
    /// again is PostgreSQL's infinite recursion.
    static ACTIVE: RefCell<Vec<(u32, u8)>> = const { RefCell::new(Vec::new()) };
    /// The next statement bound is a rewrite's own original: its target's
    /// rules were applied already.
    static ORIGINAL: Cell<bool> = const { Cell::new(false) };
    /// Binding at CREATE RULE: statements are checked, not rewritten.
    static CHECKING: Cell<usize> = const { Cell::new(0) };
}

fn guarded<R>(f: impl FnOnce() -> Result<R, PgError>) -> Result<R, PgError> {
    CHECKING.with(|c| c.set(c.get() + 1));
    let r = f();
    CHECKING.with(|c| c.set(c.get() - 1));
    r
}

/// One stored rule.
#[derive(Debug, Clone)]
struct Rule {
    instead: bool,
    qual: Option<String>,
    actions: Vec<String>,
}

/// The enabled rules of `relid` for `event`, in name order.
fn rules_for(host: &dyn Host, relid: u32, event: u8) -> Result<Vec<Rule>, PgError> {
    let mut rows: Vec<crate::Row> = host
        .lookup_rules(relid)?
        .into_iter()
        .filter(|r| r.len() >= 8 && char_of(&r[3]) == event)
        .collect();
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    rows.sort_by_key(|r| text_of(&r[1]));
    let replica = host
        .show("session_replication_role")
        .is_ok_and(|v| v == "replica");
    let mut out = Vec::new();
    for r in rows {
        let fires = match char_of(&r[4]) {
            b'D' => false,
            b'A' => true,
            b'R' => replica,
            _ => !replica,
        };
        if !fires {
            continue;
        }
        let qual = text_of(&r[6]).filter(|s| s != "<>");
        let action = text_of(&r[7]).unwrap_or_default();
        let actions = if action == "<>" {
            Vec::new()
        } else {
            crate::parse(&action)?
                .into_iter()
                .map(|s| s.sql.trim().to_string())
                .collect()
        };
        out.push(Rule {
            instead: matches!(r[5], Value::Bool(true)),
            qual,
            actions,
        });
    }
    Ok(out)
}

fn char_of(v: &Value) -> u8 {
    match v {
        Value::Char(c) => *c,
        v => text_of(v).and_then(|s| s.bytes().next()).unwrap_or(0),
    }
}

/// Where a rewritten statement came from (PostgreSQL's querySource).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Original,
    Instead,
    QualInstead,
    Also,
}

/// One statement of a rewrite, as SQL.
#[derive(Debug, Clone)]
struct Product {
    sql: String,
    source: Source,
    /// b'2' UPDATE, b'3' INSERT, b'4' DELETE, b'1' other.
    cmd: u8,
    /// Rewritten already: bound without applying rules again.
    original: bool,
}

/// The statements `s` runs, after its target's rules; None when its
/// target has no rules for it.
pub(crate) fn rewrite(
    s: &ast::Statement,
    with: Option<&ast::With>,
    declared: &[Option<Ty>],
    host: &dyn Host,
) -> Result<Option<Prepared>, PgError> {
    if ORIGINAL.with(|o| o.replace(false)) {
        return Ok(None);
    }
    if crate::merge::of(s).is_some() {
        return Ok(None);
    }
    if let ast::Statement::Insert(i) = s {
        if matches!(i.on, Some(ast::OnInsert::OnConflict(_))) {
            if let ast::TableObject::TableName(n) = &i.table {
                let parts = name_parts(n)?;
                if let Some(relid) = catalog::lookup(host, parts.0.as_deref(), &parts.1)
                    .ok()
                    .as_ref()
                    .and_then(rel_oid)
                {
                    if host
                        .lookup_rules(relid)?
                        .iter()
                        .any(|r| r.len() >= 8 && matches!(char_of(&r[3]), b'2' | b'3'))
                    {
                        return Err(err(
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            "INSERT with ON CONFLICT clause cannot be used with table that has INSERT or UPDATE rules".into(),
                        ));
                    }
                }
            }
        }
    }
    let Some(orig) = Orig::read(s, host)? else {
        return Ok(None);
    };
    let rules = rules_for(host, orig.relid, orig.event)?;
    if rules.is_empty() {
        return Ok(None);
    }
    let depth_guard = ACTIVE.with(|a| {
        let mut a = a.borrow_mut();
        if a.contains(&(orig.relid, orig.event)) {
            return Err(err(
                sqlstate::INVALID_OBJECT_DEFINITION,
                format!(
                    "infinite recursion detected in rules for relation \"{}\"",
                    orig.rel.name
                ),
            ));
        }
        a.push((orig.relid, orig.event));
        Ok(())
    });
    depth_guard?;
    let r = expand(&orig, &rules, with, declared, host);
    ACTIVE.with(|a| a.borrow_mut().pop());
    r.map(Some)
}

fn expand(
    orig: &Orig,
    rules: &[Rule],
    with: Option<&ast::With>,
    declared: &[Option<Ty>],
    host: &dyn Host,
) -> Result<Prepared, PgError> {
    let mut products: Vec<Product> = Vec::new();
    let mut instead = false;
    let mut inverted: Vec<String> = Vec::new();
    let mut returning_done = false;
    let with_text = with.map(|w| format!("{w} ")).unwrap_or_default();
    for rule in rules {
        let source = match (rule.instead, rule.qual.is_some()) {
            (true, false) => Source::Instead,
            (true, true) => Source::QualInstead,
            (false, _) => Source::Also,
        };
        let qual = rule
            .qual
            .as_deref()
            .map(|qv| qualify_bare(qv, &orig.cols, orig.event))
            .transpose()?;
        for a in &rule.actions {
            let (sql, cmd, took_returning) = orig.action(a, qual.as_deref(), host)?;
            if took_returning {
                if returning_done {
                    return Err(err(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "cannot have RETURNING lists in multiple rules".into(),
                    ));
                }
                returning_done = true;
            }
            products.push(Product {
                sql: if cmd == b'n' {
                    sql
                } else {
                    format!("{with_text}{sql}")
                },
                source,
                cmd,
                original: false,
            });
        }
        if rule.instead {
            match &qual {
                None => instead = true,
                Some(qv) => inverted.push(orig.direct(qv, host)?),
            }
        }
    }
    if (instead || !inverted.is_empty()) && orig.returning.is_some() && !returning_done {
        return Err(returning_error(orig));
    }
    if !instead {
        if !inverted.is_empty()
            && matches!(orig.rel.source, RelationSource::View(_))
            && !has_instead_trigger(host, orig.relid, orig.event)?
        {
            let (verb, what, ev) = match orig.event {
                b'3' => ("insert into", "inserting into", "INSERT"),
                b'2' => ("update", "updating", "UPDATE"),
                _ => ("delete from", "deleting from", "DELETE"),
            };
            return Err(err(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("cannot {verb} view \"{}\"", orig.rel.name),
            )
            .with_detail("Views with conditional DO INSTEAD rules are not automatically updatable.")
            .with_hint(format!(
                "To enable {what} the view, provide an INSTEAD OF {ev} trigger or an unconditional ON {ev} DO INSTEAD rule."
            )));
        }
        let (sql, source) = if inverted.is_empty() {
            (orig.sql.clone(), Source::Original)
        } else {
            // PostgreSQL's qual_product stays the original query: it sets
            // the tag.
            (orig.with_inverted(&inverted)?, Source::Original)
        };
        let p = Product {
            sql: format!("{with_text}{sql}"),
            source,
            cmd: orig.event,
            original: true,
        };
        if orig.event == b'3' {
            products.insert(0, p);
        } else {
            products.push(p);
        }
    }
    // Which statement sets the tag: the original, else the last INSTEAD
    // one of the original's command.
    let tag_from = products
        .iter()
        .position(|p| p.source == Source::Original)
        .or_else(|| {
            products.iter().rposition(|p| {
                p.cmd == orig.event && matches!(p.source, Source::Instead | Source::QualInstead)
            })
        });
    let decl: Vec<Oid> = declared
        .iter()
        .map(|d| d.map(|t| t.oid).unwrap_or(0))
        .collect();
    let mut prepared = Vec::new();
    for p in &products {
        for st in crate::parse(&p.sql)? {
            if p.original {
                ORIGINAL.with(|o| o.set(true));
            }
            let r = crate::prepare_unchecked(&st, &decl, host);
            ORIGINAL.with(|o| o.set(false));
            prepared.push(r?);
        }
    }
    // RETURNING rows, else (PostgreSQL sends every query's rows; psql
    // shows the last) the rows of the last SELECT action.
    let rows_from = if orig.returning.is_some() {
        prepared.iter().position(|p| !p.columns.is_empty())
    } else {
        prepared
            .iter()
            .rposition(|p| p.command == Command::Select && !p.columns.is_empty())
    };
    let columns = rows_from
        .map(|i| prepared[i].columns.clone())
        .unwrap_or_default();
    let param_types = prepared
        .iter()
        .map(|p| p.param_types.clone())
        .max_by_key(|p| p.len())
        .unwrap_or_default();
    let default_tag = match orig.event {
        b'3' => "INSERT 0 0",
        b'2' => "UPDATE 0",
        _ => "DELETE 0",
    };
    Ok(Prepared {
        rechecks: Default::default(),
        dml_ctes: Vec::new(),
        command: Command::Other(match orig.event {
            b'3' => "INSERT",
            b'2' => "UPDATE",
            _ => "DELETE",
        }),
        plan: crate::Plan::Rule(Box::new(RulePlan::Rewritten(Rewritten {
            products: prepared,
            tag_from,
            rows_from,
            default_tag,
        }))),
        param_types,
        columns,
    })
}

/// An INSTEAD rule replaced a statement whose RETURNING no rule gives.
fn returning_error(orig: &Orig) -> PgError {
    let verb = match orig.event {
        b'3' => "INSERT",
        b'2' => "UPDATE",
        _ => "DELETE",
    };
    err(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!(
            "cannot perform {verb} RETURNING on relation \"{}\"",
            orig.rel.name
        ),
    )
    .with_hint(format!(
        "You need an unconditional ON {verb} DO INSTEAD rule with a RETURNING clause."
    ))
}

/// Whether view `relid` has an enabled INSTEAD OF trigger for `event`.
fn has_instead_trigger(host: &dyn Host, relid: u32, event: u8) -> Result<bool, PgError> {
    use crate::trigger::{TYPE_DELETE, TYPE_INSERT, TYPE_INSTEAD, TYPE_UPDATE};
    let bit = match event {
        b'3' => TYPE_INSERT,
        b'2' => TYPE_UPDATE,
        _ => TYPE_DELETE,
    };
    Ok(host.lookup_triggers(relid)?.iter().any(|d| {
        d.tgtype & TYPE_INSTEAD != 0 && d.tgtype & bit != 0 && matches!(d.enabled, b'O' | b'A')
    }))
}

/// What a rule statement or a rewritten statement runs.
#[derive(Debug, Clone)]
pub enum RulePlan {
    Ddl(RuleStmt),
    Rewritten(Rewritten),
}

#[derive(Debug, Clone)]
pub struct Rewritten {
    products: Vec<Prepared>,
    tag_from: Option<usize>,
    rows_from: Option<usize>,
    default_tag: &'static str,
}

/// Runs a rule plan: the rows (RETURNING) and the tag.
pub(crate) fn execute(
    p: &RulePlan,
    params: &[Value],
    host: &mut dyn Host,
    relations: &dyn crate::Relations,
) -> Result<(Vec<crate::Row>, String), PgError> {
    match p {
        RulePlan::Ddl(s) => {
            run(s, host)?;
            Ok((Vec::new(), s.tag().into()))
        }
        RulePlan::Rewritten(r) => {
            let mut rows = Vec::new();
            let mut tag = r.default_tag.to_string();
            for (i, pr) in r.products.iter().enumerate() {
                // Each statement sees the ones before it (PostgreSQL's
                // CommandCounterIncrement and fresh snapshot per query).
                let out = if i > 0 {
                    host.command_counter_increment();
                    let rels = host.nested_relations();
                    crate::execute(pr, params, host, &*rels)?
                } else {
                    crate::execute(pr, params, host, relations)?
                };
                if Some(i) == r.rows_from {
                    rows = out.rows;
                }
                if Some(i) == r.tag_from {
                    tag = out.tag;
                }
            }
            Ok((rows, tag))
        }
    }
}

/// The data-modifying WITH query `s` on a relation with rules: PostgreSQL
/// takes only a single unconditional INSTEAD action there.
pub(crate) fn check_in_with(
    s: &ast::Statement,
    host: &dyn Host,
) -> Result<Option<ast::Statement>, PgError> {
    let Some(orig) = Orig::read(s, host)? else {
        return Ok(None);
    };
    let rules = rules_for(host, orig.relid, orig.event)?;
    if rules.is_empty() {
        return Ok(None);
    }
    let unconditional = rules.iter().any(|r| r.instead && r.qual.is_none());
    // The statement itself is rewritten first: its RETURNING needs a rule's.
    let rule_returns = rules.iter().any(|r| {
        r.actions.iter().any(|a| {
            all_tokens(a).is_ok_and(|t| {
                t.iter().any(|t| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("RETURNING")))
            })
        })
    });
    if rules.iter().any(|r| r.instead) && orig.returning.is_some() && !rule_returns {
        return Err(returning_error(&orig));
    }
    let mut n = if unconditional { 0 } else { 1 };
    for r in &rules {
        n += r.actions.len();
    }
    let nf = |m: &str| err(sqlstate::FEATURE_NOT_SUPPORTED, m.to_string());
    if n == 0 {
        return Err(nf(
            "DO INSTEAD NOTHING rules are not supported for data-modifying statements in WITH",
        ));
    }
    if n == 1 && unconditional {
        // The one INSTEAD action takes the WITH query's place.
        if let Some(a) = rules.iter().flat_map(|r| r.actions.iter()).next() {
            let (sql, _, _) = orig.action(a, None, host)?;
            if let Some(st) = crate::parse(&sql)?.into_iter().next() {
                if let crate::Parsed::Ast(b) = st.parsed {
                    return Ok(Some(*b));
                }
            }
        }
    }
    for r in &rules {
        if r.instead && r.qual.is_some() {
            return Err(nf("conditional DO INSTEAD rules are not supported for data-modifying statements in WITH"));
        }
        if !r.instead && !r.actions.is_empty() {
            return Err(nf(
                "DO ALSO rules are not supported for data-modifying statements in WITH",
            ));
        }
    }
    Err(nf(
        "multi-statement DO INSTEAD rules are not supported for data-modifying statements in WITH",
    ))
}

/// The original statement, read for rewriting.
struct Orig {
    event: u8,
    relid: u32,
    rel: Relation,
    cols: Vec<Col>,
    /// The statement as SQL (without its WITH).
    sql: String,
    ast: ast::Statement,
    /// How the target is referred to in the statement (alias or name).
    alias: String,
    /// INSERT: target columns in the order the source gives them.
    ins_cols: Vec<usize>,
    /// INSERT of one VALUES row: its expressions.
    values1: Option<Vec<ast::Expr>>,
    /// INSERT from a query (or several VALUES rows): its text.
    ins_query: Option<String>,
    /// UPDATE: column index and SQL of each assignment.
    sets: Vec<(usize, String)>,
    /// The original's own FROM (UPDATE) or USING (DELETE) items.
    from: Option<String>,
    selection: Option<ast::Expr>,
    returning: Option<Vec<ast::SelectItem>>,
    /// The target as a FROM item (`t AS x`).
    target_item: String,
}

fn name_parts(n: &ast::ObjectName) -> Result<(Option<String>, String), PgError> {
    let mut p = crate::bind::object_name_parts(n)?;
    let name = p.pop().unwrap_or_default();
    Ok((p.pop(), name))
}

impl Orig {
    fn read(s: &ast::Statement, host: &dyn Host) -> Result<Option<Orig>, PgError> {
        let (event, name, alias) = match s {
            ast::Statement::Insert(i) => match &i.table {
                ast::TableObject::TableName(n) => (
                    b'3',
                    n.clone(),
                    i.table_alias
                        .as_ref()
                        .map(|a| crate::bind::ident_name(&a.alias)),
                ),
                _ => return Ok(None),
            },
            ast::Statement::Update(u) => match &u.table.relation {
                ast::TableFactor::Table { name, alias, .. } => (
                    b'2',
                    name.clone(),
                    alias.as_ref().map(|a| crate::bind::ident_name(&a.name)),
                ),
                _ => return Ok(None),
            },
            ast::Statement::Delete(d) => {
                let tables = match &d.from {
                    ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
                };
                match tables.first().map(|t| &t.relation) {
                    Some(ast::TableFactor::Table { name, alias, .. }) => (
                        b'4',
                        name.clone(),
                        alias.as_ref().map(|a| crate::bind::ident_name(&a.name)),
                    ),
                    _ => return Ok(None),
                }
            }
            _ => return Ok(None),
        };
        let parts = name_parts(&name)?;
        let rel = match catalog::lookup(host, parts.0.as_deref(), &parts.1) {
            Ok(r) => r,
            Err(_) => return Ok(None),
        };
        let Some(relid) = rel_oid(&rel) else {
            return Ok(None);
        };
        if !host
            .lookup_rules(relid)?
            .iter()
            .any(|r| r.len() >= 8 && char_of(&r[3]) == event)
        {
            return Ok(None);
        }
        let cols = columns_of(&rel);
        let alias = alias.unwrap_or_else(|| parts.1.clone());
        let col_index = |n: &str| -> Result<usize, PgError> {
            cols.iter().position(|c| c.name == n).ok_or_else(|| {
                err(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{n}\" of relation \"{}\" does not exist", rel.name),
                )
            })
        };
        let mut o = Orig {
            event,
            relid,
            cols: cols.clone(),
            sql: s.to_string(),
            ast: s.clone(),
            alias,
            ins_cols: Vec::new(),
            values1: None,
            ins_query: None,
            sets: Vec::new(),
            from: None,
            selection: None,
            returning: None,
            target_item: String::new(),
            rel: rel.clone(),
        };
        match s {
            ast::Statement::Insert(i) => {
                o.target_item = name.to_string();
                if i.columns.is_empty() {
                    o.ins_cols = (0..cols.len()).collect();
                } else {
                    for c in &i.columns {
                        let n = crate::bind::object_name_parts(c)?.pop().unwrap_or_default();
                        o.ins_cols.push(col_index(&n)?);
                    }
                }
                match &i.source {
                    None => o.ins_cols.clear(),
                    Some(src) => {
                        let single = match src.body.as_ref() {
                            ast::SetExpr::Values(v)
                                if v.rows.len() == 1
                                    && src.order_by.is_none()
                                    && src.with.is_none() =>
                            {
                                Some(v.rows[0].clone())
                            }
                            _ => None,
                        };
                        match single {
                            Some(row) => {
                                o.ins_cols.truncate(row.len());
                                o.values1 = Some(row.content);
                            }
                            None => {
                                // Fewer values than columns: the rest take defaults.
                                let width = match src.body.as_ref() {
                                    ast::SetExpr::Values(v) => v.rows.first().map(|r| r.len()),
                                    ast::SetExpr::Select(sel)
                                        if !sel.projection.iter().any(|p| {
                                            matches!(
                                                p,
                                                ast::SelectItem::Wildcard(_)
                                                    | ast::SelectItem::QualifiedWildcard(..)
                                            )
                                        }) =>
                                    {
                                        Some(sel.projection.len())
                                    }
                                    _ => None,
                                };
                                if let Some(w) = width {
                                    o.ins_cols.truncate(w);
                                }
                                let mut src = src.as_ref().clone();
                                if let ast::SetExpr::Values(v) = src.body.as_mut() {
                                    for row in &mut v.rows {
                                        for (k, e) in row.content.iter_mut().enumerate() {
                                            let is_default = matches!(e, ast::Expr::Identifier(id)
                                                if id.quote_style.is_none()
                                                    && id.value.eq_ignore_ascii_case("default"));
                                            if is_default {
                                                let d = o
                                                    .ins_cols
                                                    .get(k)
                                                    .and_then(|&c| cols[c].default.clone())
                                                    .unwrap_or_else(|| "NULL".into());
                                                *e = parse_expr(&d)?;
                                            }
                                        }
                                    }
                                }
                                o.ins_query = Some(src.to_string())
                            }
                        }
                    }
                }
                o.returning = i.returning.clone();
            }
            ast::Statement::Update(u) => {
                o.target_item = u.table.to_string();
                for a in &u.assignments {
                    match &a.target {
                        ast::AssignmentTarget::ColumnName(n) => {
                            let n = crate::bind::object_name_parts(n)?.pop().unwrap_or_default();
                            let i = col_index(&n)?;
                            let v = match &a.value {
                                ast::Expr::Identifier(id)
                                    if id.quote_style.is_none()
                                        && id.value.eq_ignore_ascii_case("default") =>
                                {
                                    cols[i].default.clone().unwrap_or_else(|| "NULL".into())
                                }
                                e => e.to_string(),
                            };
                            o.sets.push((i, v));
                        }
                        ast::AssignmentTarget::Tuple(_) => {
                            return Err(crate::bind::not_supported(
                                "multiple-column assignment on a relation with rules",
                            ))
                        }
                    }
                }
                o.from = match &u.from {
                    Some(
                        ast::UpdateTableFromKind::BeforeSet(f)
                        | ast::UpdateTableFromKind::AfterSet(f),
                    ) => Some(
                        f.iter()
                            .map(|t| t.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    None => None,
                };
                o.selection = u.selection.clone();
                o.returning = u.returning.clone();
            }
            ast::Statement::Delete(d) => {
                let tables = match &d.from {
                    ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
                };
                o.target_item = tables[0].to_string();
                o.from = d.using.as_ref().map(|f| {
                    f.iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                });
                o.selection = d.selection.clone();
                o.returning = d.returning.clone();
            }
            _ => {}
        }
        Ok(Some(o))
    }

    fn cast(&self, i: usize, e: &str) -> String {
        format!("CAST(({e}) AS {})", self.cols[i].ty)
    }

    /// NEW.col of an INSERT, from its VALUES row or its default.
    fn new_direct(&self, i: usize) -> String {
        if let Some(row) = &self.values1 {
            if let Some(k) = self.ins_cols.iter().position(|&c| c == i) {
                let e = &row[k];
                if let ast::Expr::Identifier(id) = e {
                    if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default") {
                        return self.default_of(i);
                    }
                }
                return self.cast(i, &e.to_string());
            }
        }
        self.default_of(i)
    }

    fn default_of(&self, i: usize) -> String {
        match &self.cols[i].default {
            Some(d) => self.cast(i, d),
            None => format!("CAST(NULL AS {})", self.cols[i].ty),
        }
    }

    fn col(&self, is_new: bool, c: &str) -> Result<usize, PgError> {
        self.cols.iter().position(|x| x.name == c).ok_or_else(|| {
            err(
                sqlstate::UNDEFINED_COLUMN,
                format!(
                    "column {}.{c} does not exist",
                    if is_new { "new" } else { "old" }
                ),
            )
        })
    }

    /// `sql` (a rule's qual) over the original's own scope, as its WHERE
    /// sees it.
    fn direct(&self, sql: &str, _host: &dyn Host) -> Result<String, PgError> {
        substitute(sql, &mut |is_new, c| self.map_direct(is_new, c))
    }

    fn map_direct(&self, is_new: bool, c: &str) -> Result<String, PgError> {
        if c == "*" {
            return self.star(|n| self.map_direct(is_new, n));
        }
        let i = self.col(is_new, c)?;
        let own = format!("{}.{}", quote_ident(&self.alias), quote_ident(c));
        Ok(match (self.event, is_new) {
            (b'3', _) => match &self.ins_query {
                Some(_) => match self.ins_cols.iter().position(|&k| k == i) {
                    Some(k) => self.cast(i, &format!("\"*RULE*\".n{k}")),
                    None => self.default_of(i),
                },
                None => self.new_direct(i),
            },
            (b'2', true) => match self.sets.iter().find(|s| s.0 == i) {
                Some((_, e)) => self.cast(i, e),
                None => own,
            },
            _ => own,
        })
    }

    /// `NEW.*`/`OLD.*`: every column as `map` gives it, each in parentheses.
    fn star(&self, map: impl Fn(&str) -> Result<String, PgError>) -> Result<String, PgError> {
        let all: Result<Vec<String>, PgError> = self
            .cols
            .iter()
            .map(|c| map(&c.name).map(|s| format!("({s})")))
            .collect();
        Ok(all?.join(", "))
    }

    /// NEW/OLD in an action: from `"*RULE*"` unless substituted directly.
    fn map_action(&self, is_new: bool, c: &str) -> Result<String, PgError> {
        if self.event == b'3' {
            return self.map_direct(is_new, c);
        }
        if c == "*" {
            return self.star(|n| self.map_action(is_new, n));
        }
        let i = self.col(is_new, c)?;
        Ok(format!(
            "\"*RULE*\".{}{i}",
            if is_new && self.event == b'2' {
                "n"
            } else {
                "o"
            }
        ))
    }

    /// The derived table of the original's rows an action joins, if the
    /// original has rows to join (PostgreSQL adds its range table).
    fn rows_item(&self) -> Option<String> {
        match self.event {
            b'3' => self.ins_query.as_ref().map(|qy| {
                let names: Vec<String> =
                    (0..self.ins_cols.len()).map(|k| format!("n{k}")).collect();
                format!("({qy}) AS \"*RULE*\"({})", names.join(", "))
            }),
            _ => {
                let mut sel = Vec::new();
                let mut names = Vec::new();
                for (i, c) in self.cols.iter().enumerate() {
                    sel.push(format!(
                        "{}.{}",
                        quote_ident(&self.alias),
                        quote_ident(&c.name)
                    ));
                    names.push(format!("o{i}"));
                }
                if self.event == b'2' {
                    for i in 0..self.cols.len() {
                        sel.push(
                            self.map_direct(true, &self.cols[i].name)
                                .unwrap_or_default(),
                        );
                        names.push(format!("n{i}"));
                    }
                }
                let mut from = self.target_item.clone();
                if let Some(f) = &self.from {
                    from = format!("{from}, {f}");
                }
                let wh = self
                    .selection
                    .as_ref()
                    .map(|w| format!(" WHERE {w}"))
                    .unwrap_or_default();
                Some(format!(
                    "(SELECT {} FROM {from}{wh}) AS \"*RULE*\"({})",
                    sel.join(", "),
                    names.join(", ")
                ))
            }
        }
    }

    /// A rule action for this statement: its SQL, its command (b'n' for a
    /// utility statement) and whether it took the original's RETURNING.
    fn action(
        &self,
        action: &str,
        qual: Option<&str>,
        host: &dyn Host,
    ) -> Result<(String, u8, bool), PgError> {
        let (uses_new, uses_old) = refs(action)?;
        let qual_refs = match qual {
            Some(qv) => {
                let (n, o) = refs(qv)?;
                n || o
            }
            None => false,
        };
        let text = substitute(action, &mut |n, c| self.map_action(n, c))?;
        let qual_sql = qual
            .map(|qv| substitute(qv, &mut |n, c| self.map_action(n, c)))
            .transpose()?;
        let need_rows = match self.event {
            b'3' => self.ins_query.is_some(),
            _ => {
                uses_new || uses_old || qual_refs || self.selection.is_some() || self.from.is_some()
            }
        };
        let rows = if need_rows { self.rows_item() } else { None };
        let mut stmts = crate::parse(&text)?;
        if stmts.len() != 1 {
            return Err(syntax(format!(
                "rule action is not one statement: {action}"
            )));
        }
        let st = stmts.remove(0);
        let crate::Parsed::Ast(mut a) = st.parsed else {
            return Err(crate::bind::not_supported("this rule action"));
        };
        let qual_expr = qual_sql.as_deref().map(parse_expr).transpose()?;
        let rows_item = rows.as_deref().map(parse_from_item).transpose()?;
        let mut took = false;
        let cmd;
        match a.as_mut() {
            ast::Statement::Insert(i) => {
                cmd = b'3';
                if let Some(src) = i.source.as_mut() {
                    if rows_item.is_some() {
                        fill_defaults(i.columns.clone(), &i.table, src, host)?;
                    }
                    add_to_query(src, rows_item, qual_expr)?;
                } else if rows_item.is_some() || qual_expr.is_some() {
                    return Err(crate::bind::not_supported(
                        "conditional INSERT ... DEFAULT VALUES rule actions",
                    ));
                }
                let alias = insert_target_alias(i);
                took = self.fix_returning(&mut i.returning, alias, host)?;
            }
            ast::Statement::Update(u) => {
                cmd = b'2';
                if let Some(r) = rows_item {
                    if let Some(
                        ast::UpdateTableFromKind::AfterSet(f)
                        | ast::UpdateTableFromKind::BeforeSet(f),
                    ) = &mut u.from
                    {
                        make_lateral(f);
                        f.insert(0, r);
                    } else {
                        u.from = Some(ast::UpdateTableFromKind::AfterSet(vec![r]));
                    }
                }
                and_where(&mut u.selection, qual_expr);
                let alias = table_alias(&u.table);
                took = self.fix_returning(&mut u.returning, alias, host)?;
            }
            ast::Statement::Delete(d) => {
                cmd = b'4';
                if let Some(r) = rows_item {
                    d.using.get_or_insert_with(Vec::new).push(r);
                }
                and_where(&mut d.selection, qual_expr);
                let tables = match &d.from {
                    ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
                };
                let alias = tables.first().and_then(table_alias);
                took = self.fix_returning(&mut d.returning, alias, host)?;
            }
            ast::Statement::Query(qy) => {
                cmd = b'1';
                add_to_query(qy, rows_item, qual_expr)?;
            }
            _ => {
                cmd = b'n';
                if qual_expr.is_some() {
                    return Err(err(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "conditional utility statements are not implemented".into(),
                    ));
                }
            }
        }
        Ok((a.to_string(), cmd, took))
    }

    /// The action's RETURNING becomes the original's, its references to
    /// the target's columns read from the action's list by position.
    fn fix_returning(
        &self,
        ret: &mut Option<Vec<ast::SelectItem>>,
        action_alias: Option<(Option<String>, String)>,
        host: &dyn Host,
    ) -> Result<bool, PgError> {
        let Some(action_ret) = ret.take() else {
            return Ok(false);
        };
        let Some(orig_ret) = &self.returning else {
            return Ok(false);
        };
        // The action's items, `*` expanded over its target's columns.
        let mut items: Vec<String> = Vec::new();
        for it in &action_ret {
            match it {
                ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                    let Some((schema, name)) = &action_alias else {
                        return Err(crate::bind::not_supported(
                            "RETURNING * in this rule action",
                        ));
                    };
                    let r = catalog::lookup(host, schema.as_deref(), name)?;
                    for c in &r.columns {
                        items.push(format!("{}.{}", quote_ident(name), quote_ident(&c.name)));
                    }
                }
                ast::SelectItem::UnnamedExpr(e) => items.push(e.to_string()),
                ast::SelectItem::ExprWithAlias { expr, .. } => items.push(expr.to_string()),
                other => items.push(other.to_string()),
            }
        }
        let mapped = |i: usize| -> String {
            items
                .get(i)
                .map(|s| format!("({s})"))
                .unwrap_or_else(|| "NULL".into())
        };
        let mut out = Vec::new();
        for it in orig_ret {
            match it {
                ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                    for (i, c) in self.cols.iter().enumerate() {
                        out.push(format!("{} AS {}", mapped(i), quote_ident(&c.name)));
                    }
                }
                ast::SelectItem::UnnamedExpr(e) => {
                    let name = match e {
                        ast::Expr::Identifier(id) => Some(crate::bind::ident_name(id)),
                        ast::Expr::CompoundIdentifier(ids) => {
                            ids.last().map(crate::bind::ident_name)
                        }
                        _ => None,
                    };
                    let s = self.target_refs(&e.to_string(), &mapped)?;
                    out.push(match name {
                        Some(n) => format!("{s} AS {}", quote_ident(&n)),
                        None => s,
                    });
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    let s = self.target_refs(&expr.to_string(), &mapped)?;
                    out.push(format!("{s} AS {alias}"));
                }
                other => out.push(other.to_string()),
            }
        }
        let sql = format!("SELECT {}", out.join(", "));
        let parsed = crate::parse(&sql)?;
        if let Some(crate::Parsed::Ast(s)) = parsed.into_iter().next().map(|s| s.parsed) {
            if let ast::Statement::Query(qy) = *s {
                if let ast::SetExpr::Select(sel) = *qy.body {
                    *ret = Some(sel.projection);
                    return Ok(true);
                }
            }
        }
        Err(syntax(format!("could not rewrite RETURNING: {sql}")))
    }

    /// `sql` with its references to the target's columns (`c`, `alias.c`)
    /// replaced by `mapped(position)`.
    fn target_refs(&self, sql: &str, mapped: &dyn Fn(usize) -> String) -> Result<String, PgError> {
        let t = all_tokens(sql)?;
        let mut out = String::new();
        let mut i = 0;
        let sig = |mut j: usize| {
            while j < t.len() && is_ws(&t[j]) {
                j += 1;
            }
            j
        };
        let word = |tok: &Token| match tok {
            Token::Word(w) => Some(match w.quote_style {
                None => w.value.to_lowercase(),
                Some(_) => w.value.clone(),
            }),
            _ => None,
        };
        let mut prev: Option<Token> = None;
        while i < t.len() {
            if let Some(w) = word(&t[i]) {
                if !matches!(prev, Some(Token::Period)) {
                    let p = sig(i + 1);
                    // alias.col
                    if w == self.alias && matches!(t.get(p), Some(Token::Period)) {
                        let c = sig(p + 1);
                        if let Some(cn) = t.get(c).and_then(word) {
                            if let Some(k) = self.cols.iter().position(|x| x.name == cn) {
                                out.push_str(&mapped(k));
                                prev = t.get(c).cloned();
                                i = c + 1;
                                continue;
                            }
                        }
                    }
                    if !matches!(t.get(p), Some(Token::Period | Token::LParen)) {
                        if let Some(k) = self.cols.iter().position(|x| x.name == w) {
                            out.push_str(&mapped(k));
                            prev = Some(t[i].clone());
                            i += 1;
                            continue;
                        }
                    }
                }
            }
            out.push_str(&t[i].to_string());
            if !is_ws(&t[i]) {
                prev = Some(t[i].clone());
            }
            i += 1;
        }
        Ok(out)
    }

    /// The original with `(qual) IS NOT TRUE` for each conditional
    /// INSTEAD rule.
    fn with_inverted(&self, quals: &[String]) -> Result<String, PgError> {
        let inv: Vec<String> = quals.iter().map(|q| format!("({q}) IS NOT TRUE")).collect();
        let cond = parse_expr(&inv.join(" AND "))?;
        let mut s = self.ast.clone();
        match &mut s {
            ast::Statement::Update(u) => and_where(&mut u.selection, Some(cond)),
            ast::Statement::Delete(d) => and_where(&mut d.selection, Some(cond)),
            ast::Statement::Insert(i) => {
                let cols: Vec<String> = self
                    .ins_cols
                    .iter()
                    .map(|&k| quote_ident(&self.cols[k].name))
                    .collect();
                let select = match &self.ins_query {
                    Some(_) => format!(
                        "SELECT * FROM {} WHERE {}",
                        self.rows_item().unwrap_or_default(),
                        inv.join(" AND ")
                    ),
                    None => format!(
                        "SELECT {} WHERE {}",
                        self.ins_cols
                            .iter()
                            .map(|&k| self.new_direct(k))
                            .collect::<Vec<_>>()
                            .join(", "),
                        inv.join(" AND ")
                    ),
                };
                let target = match &i.table {
                    ast::TableObject::TableName(n) => n.to_string(),
                    other => other.to_string(),
                };
                let ret = i
                    .returning
                    .as_ref()
                    .map(|r| {
                        format!(
                            " RETURNING {}",
                            r.iter()
                                .map(|x| x.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
                    .unwrap_or_default();
                let collist = if cols.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", cols.join(", "))
                };
                if self.ins_cols.is_empty() {
                    return Ok(self.sql.clone());
                }
                return Ok(format!("INSERT INTO {target}{collist} {select}{ret}"));
            }
            _ => {}
        }
        Ok(s.to_string())
    }
}

fn insert_target_alias(i: &ast::Insert) -> Option<(Option<String>, String)> {
    match &i.table {
        ast::TableObject::TableName(n) => name_parts(n).ok(),
        _ => None,
    }
}

fn table_alias(t: &ast::TableWithJoins) -> Option<(Option<String>, String)> {
    match &t.relation {
        ast::TableFactor::Table { name, .. } => name_parts(name).ok(),
        _ => None,
    }
}

fn parse_expr(sql: &str) -> Result<ast::Expr, PgError> {
    sqlparser::parser::Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| syntax(format!("syntax error in rule qualification: {e}")))
}

fn parse_from_item(sql: &str) -> Result<ast::TableWithJoins, PgError> {
    parse_select(&format!("SELECT * FROM {sql}"))?
        .from
        .into_iter()
        .next()
        .ok_or_else(|| syntax("syntax error in rewritten statement".into()))
}

/// The SELECT of a statement the rewriter made up (`SELECT * FROM x`,
/// `SELECT expr`), to take one of its parts.
fn parse_select(full: &str) -> Result<ast::Select, PgError> {
    let stmt = sqlparser::parser::Parser::parse_sql(&PostgreSqlDialect {}, full)
        .map_err(|e| syntax(format!("syntax error in rewritten statement: {e}")))?;
    if let Some(ast::Statement::Query(qy)) = stmt.into_iter().next() {
        if let ast::SetExpr::Select(sel) = *qy.body {
            return Ok(*sel);
        }
    }
    Err(syntax("syntax error in rewritten statement".into()))
}

fn and_where(w: &mut Option<ast::Expr>, add: Option<ast::Expr>) {
    let Some(add) = add else {
        return;
    };
    *w = Some(match w.take() {
        None => add,
        Some(old) => ast::Expr::BinaryOp {
            left: Box::new(ast::Expr::Nested(Box::new(old))),
            op: ast::BinaryOperator::And,
            right: Box::new(ast::Expr::Nested(Box::new(add))),
        },
    });
}

/// DEFAULT in an INSERT action's VALUES rows, which become a subquery:
/// the target column's default expression (NULL without one).
fn fill_defaults(
    cols: Vec<ast::ObjectName>,
    table: &ast::TableObject,
    src: &mut ast::Query,
    host: &dyn Host,
) -> Result<(), PgError> {
    let ast::SetExpr::Values(v) = src.body.as_mut() else {
        return Ok(());
    };
    let ast::TableObject::TableName(n) = table else {
        return Ok(());
    };
    let (schema, name) = name_parts(n)?;
    let Ok(rel) = catalog::lookup(host, schema.as_deref(), &name) else {
        return Ok(());
    };
    let order: Vec<Option<String>> = if cols.is_empty() {
        rel.columns.iter().map(|c| c.default.clone()).collect()
    } else {
        let mut out = Vec::new();
        for c in &cols {
            let cn = crate::bind::object_name_parts(c)?.pop().unwrap_or_default();
            out.push(
                rel.columns
                    .iter()
                    .find(|x| x.name == cn)
                    .and_then(|x| x.default.clone()),
            );
        }
        out
    };
    for row in &mut v.rows {
        for (k, e) in row.content.iter_mut().enumerate() {
            if let ast::Expr::Identifier(id) = e {
                if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default") {
                    let d = order
                        .get(k)
                        .cloned()
                        .flatten()
                        .unwrap_or_else(|| "NULL".into());
                    *e = parse_expr(&d)?;
                }
            }
        }
    }
    Ok(())
}

/// An action's `*` means its own FROM items (PostgreSQL expanded it when
/// the rule was made), not the original's rows joined in front of them.
fn star_over_own(sel: &mut ast::Select) {
    if !sel
        .projection
        .iter()
        .any(|p| matches!(p, ast::SelectItem::Wildcard(_)))
    {
        return;
    }
    let mut names = Vec::new();
    let mut name_of = |f: &ast::TableFactor| match f {
        ast::TableFactor::Table { name, alias, .. } => names.push(match alias {
            Some(a) => a.name.to_string(),
            None => name.0.last().map(|p| p.to_string()).unwrap_or_default(),
        }),
        ast::TableFactor::Derived { alias: Some(a), .. }
        | ast::TableFactor::Function { alias: Some(a), .. }
        | ast::TableFactor::TableFunction { alias: Some(a), .. } => names.push(a.name.to_string()),
        _ => names.push(String::new()),
    };
    for t in &sel.from {
        name_of(&t.relation);
        for j in &t.joins {
            name_of(&j.relation);
        }
    }
    if names.iter().any(String::is_empty) {
        return;
    }
    let mut out = Vec::new();
    for p in sel.projection.drain(..) {
        match p {
            ast::SelectItem::Wildcard(_) => {
                for n in &names {
                    if let Ok(e) = parse_select_item(&format!("{n}.*")) {
                        out.push(e);
                    }
                }
            }
            other => out.push(other),
        }
    }
    sel.projection = out;
}

fn parse_select_item(sql: &str) -> Result<ast::SelectItem, PgError> {
    parse_select(&format!("SELECT {sql}"))?
        .projection
        .into_iter()
        .next()
        .ok_or_else(|| syntax("syntax error in rewritten statement".into()))
}

/// PostgreSQL lets an action's subqueries in FROM name NEW and OLD (they
/// are implicitly LATERAL): once the original's rows come first, they are.
fn make_lateral(from: &mut [ast::TableWithJoins]) {
    for t in from {
        if let ast::TableFactor::Derived { lateral, .. } = &mut t.relation {
            *lateral = true;
        }
        for j in &mut t.joins {
            if let ast::TableFactor::Derived { lateral, .. } = &mut j.relation {
                *lateral = true;
            }
        }
    }
}

/// Joins the original's rows into a SELECT (or one VALUES row) and adds
/// the rule's qual.
fn add_to_query(
    qy: &mut ast::Query,
    rows: Option<ast::TableWithJoins>,
    qual: Option<ast::Expr>,
) -> Result<(), PgError> {
    if rows.is_none() && qual.is_none() {
        return Ok(());
    }
    let body = qy.body.as_mut();
    match body {
        ast::SetExpr::Select(sel) => {
            if let Some(r) = rows {
                make_lateral(&mut sel.from);
                star_over_own(sel);
                sel.from.insert(0, r);
            }
            and_where(&mut sel.selection, qual);
            Ok(())
        }
        ast::SetExpr::Values(v) if v.rows.len() == 1 => {
            let row = v.rows[0].clone();
            let sql = format!(
                "SELECT {}",
                row.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let parsed = sqlparser::parser::Parser::parse_sql(&PostgreSqlDialect {}, &sql)
                .map_err(|e| syntax(format!("syntax error in rewritten statement: {e}")))?;
            let Some(ast::Statement::Query(mut sq)) = parsed.into_iter().next() else {
                return Err(syntax("syntax error in rewritten statement".into()));
            };
            if let ast::SetExpr::Select(sel) = sq.body.as_mut() {
                if let Some(r) = rows {
                    sel.from.insert(0, r);
                }
                and_where(&mut sel.selection, qual);
            }
            *qy.body = *sq.body;
            Ok(())
        }
        ast::SetExpr::Query(inner) => add_to_query(inner, rows, qual),
        ast::SetExpr::Values(v) if rows.is_some() => {
            // Several rows, each naming NEW/OLD: every row of the
            // original's rows times a row number picking the VALUES row
            // (what PostgreSQL's join with a VALUES RTE gives, in its order).
            let width = v.rows.first().map(|r| r.len()).unwrap_or(0);
            let mut items = Vec::new();
            for k in 0..width {
                let mut case = String::from("CASE \"*VALUES*\".k");
                for (i, r) in v.rows.iter().enumerate() {
                    let e = r
                        .content
                        .get(k)
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "NULL".into());
                    case.push_str(&format!(" WHEN {} THEN {e}", i + 1));
                }
                case.push_str(" END");
                items.push(format!("{case} AS column{}", k + 1));
            }
            let nums: Vec<String> = (1..=v.rows.len()).map(|i| format!("({i})")).collect();
            let sql = format!(
                "SELECT {} FROM (SELECT 1) AS \"*ROWS*\", (VALUES {}) AS \"*VALUES*\"(k)",
                items.join(", "),
                nums.join(", ")
            );
            let parsed = sqlparser::parser::Parser::parse_sql(&PostgreSqlDialect {}, &sql)
                .map_err(|e| syntax(format!("syntax error in rewritten statement: {e}")))?;
            let Some(ast::Statement::Query(mut sq)) = parsed.into_iter().next() else {
                return Err(syntax("syntax error in rewritten statement".into()));
            };
            if let ast::SetExpr::Select(sel) = sq.body.as_mut() {
                if let Some(r) = rows {
                    sel.from[0] = r;
                }
                and_where(&mut sel.selection, qual);
            }
            *qy.body = *sq.body;
            Ok(())
        }
        _ => Err(err(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "conditional UNION/INTERSECT/EXCEPT statements are not implemented".into(),
        )),
    }
}

// ---------------------------------------------------------------------
// pg_get_ruledef
// ---------------------------------------------------------------------

/// pg_get_ruledef(oid [, pretty]): the rule's definition from its stored
/// text (PostgreSQL deparses its node tree; the actions print as written).
pub(crate) fn ruledef(host: &mut dyn Host, oid: u32, pretty: bool) -> Result<Value, PgError> {
    let rows = crate::sysinfo::query(
        host,
        "SELECT r.rulename, r.ev_type, r.is_instead, r.ev_qual, r.ev_action, c.relname, n.nspname \
         FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE r.oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    let Some(r) = rows.into_iter().next() else {
        return Ok(Value::Null);
    };
    let name = text_of(&r[0]).unwrap_or_default();
    let ev = match &r[1] {
        Value::Char(c) => *c,
        v => text_of(v).and_then(|s| s.bytes().next()).unwrap_or(b'1'),
    };
    let instead = matches!(r[2], Value::Bool(true));
    let qual = text_of(&r[3]).filter(|s| s != "<>");
    let action = text_of(&r[4]).unwrap_or_default();
    let rel = text_of(&r[5]).unwrap_or_default();
    let nsp = text_of(&r[6]).unwrap_or_default();
    if ev == b'1' && name == "_RETURN" {
        return Ok(Value::Text(format!(
            "CREATE RULE \"_RETURN\" AS\n    ON SELECT TO {}.{} DO INSTEAD {};",
            quote_ident(&nsp),
            quote_ident(&rel),
            action.trim()
        )));
    }
    let event = match ev {
        b'1' => "SELECT",
        b'2' => "UPDATE",
        b'3' => "INSERT",
        _ => "DELETE",
    };
    // Pretty output names the relation as the search path finds it
    // (here: unqualified in public), otherwise always qualified.
    let relname = if pretty && nsp == "public" {
        quote_ident(&rel)
    } else {
        format!("{}.{}", quote_ident(&nsp), quote_ident(&rel))
    };
    let mut s = format!(
        "CREATE RULE {} AS\n    ON {event} TO {relname}",
        quote_ident(&name)
    );
    if let Some(qv) = qual {
        let qv = qv.trim();
        if pretty || (qv.starts_with('(') && qv.ends_with(')')) {
            s.push_str(&format!("\n   WHERE {qv}"));
        } else {
            s.push_str(&format!("\n   WHERE ({qv})"));
        }
    }
    s.push_str(" DO ");
    if instead {
        s.push_str("INSTEAD ");
    }
    let actions: Vec<String> = if action == "<>" {
        Vec::new()
    } else {
        crate::parse(&action)
            .map(|v| v.into_iter().map(|st| st.sql.trim().to_string()).collect())
            .unwrap_or_else(|_| vec![action.clone()])
    };
    match actions.len() {
        0 => s.push_str("NOTHING;"),
        1 => {
            s.push(' ');
            s.push_str(&actions[0]);
            s.push(';');
        }
        _ => {
            s.push_str(" (");
            for a in &actions {
                s.push_str(a);
                s.push_str(if pretty { ";\n" } else { "; " });
            }
            s.push_str(");");
        }
    }
    Ok(Value::Text(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_create_rule() {
        let s = parse("CREATE OR REPLACE RULE r1 AS ON UPDATE TO s.t WHERE old.a <> new.a DO INSTEAD (INSERT INTO l VALUES (1); DELETE FROM x;)").unwrap();
        match s {
            RuleStmt::Create {
                replace,
                name,
                event,
                table,
                qual,
                instead,
                actions,
            } => {
                assert!(replace && instead);
                assert_eq!(name, "r1");
                assert_eq!(event, b'2');
                assert_eq!(table, (Some("s".into()), "t".into()));
                assert_eq!(qual.as_deref(), Some("old.a <> new.a"));
                assert_eq!(actions, vec!["INSERT INTO l VALUES (1)", "DELETE FROM x"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("create rule r as on insert to t do nothing").unwrap(),
            RuleStmt::Create { ref actions, instead: false, .. } if actions.is_empty()
        ));
        assert!(parse("create rule r as on frob to t do nothing").is_err());
    }

    #[test]
    fn substitutes_new_and_old_only() {
        let s = substitute(
            "select new.a, x.new.b, old.* , \"new\".c from t",
            &mut |n, c| Ok(format!("{}:{c}", if n { "N" } else { "O" })),
        )
        .unwrap();
        assert_eq!(s, "select (N:a), x.new.b, O:* , (N:c) from t");
    }
}
