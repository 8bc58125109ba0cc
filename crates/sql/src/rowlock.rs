//! SELECT ... FOR UPDATE | NO KEY UPDATE | SHARE | KEY SHARE [OF t, ...] [NOWAIT | SKIP LOCKED]: the clauses read, checked and bound, and the executor node that locks each row (PostgreSQL's LockRows).
//!
//! Why this shape:
//! - **sqlparser knows only FOR UPDATE/SHARE with one OF name.** Before it
//!   parses, [`rewrite_tokens`] turns each PostgreSQL clause into
//!   clauses it reads: a marker clause `FOR UPDATE OF "\u{1}<mode>"`
//!   carrying the strength and NOWAIT/SKIP LOCKED, then one
//!   `FOR UPDATE OF name` per named table; [`read_clauses`] groups them
//!   back. A control character cannot come from a client's identifier by
//!   accident, so the marker is unambiguous.
//! - **The lock node sits between ORDER BY and LIMIT** (PostgreSQL's plan
//!   shape): `ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED` locks only the
//!   row it returns, so two workers of a job queue get different rows.
//!   Sorting works on projected rows, so the binder appends the whole
//!   FROM row as hidden targets after the visible and sort columns: the
//!   node finds each locked table's ctid there, and for READ COMMITTED's
//!   re-check (EvalPlanQual) it puts the newest version of a concurrently
//!   updated row into that FROM row, re-evaluates WHERE and the targets
//!   over it, and locks the new version.
//! - **The host locks one row at a time** ([`crate::catalog::Tables::lock_row`]),
//!   waiting on the holder's transaction as UPDATE does, so lock_timeout,
//!   deadlock detection and pg_locks work as for any row wait.
//!
//! Not yet: locking the tables of a subquery or view in FROM (only tables
//! named directly in FROM, joins included, are locked); re-checking join
//! conditions other than WHERE for a re-read row.
//!
//! Called only by the backend running the statement.

use sqlparser::ast;
use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace, Word};
use tusk_common::{sqlstate, PgError};

use crate::catalog::{Relation, RelationSource, SYSTEM_COLUMNS};
use crate::exec::{Node, Row};
use crate::expr::{Ctx, Expr};
use crate::plan::{JoinKind, SelectPlan, Source};
use crate::value::{encode_text, Value};

/// A row lock's strength, weakest first (PostgreSQL's LockClauseStrength).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowLockStrength {
    KeyShare,
    Share,
    NoKeyUpdate,
    Update,
}

impl RowLockStrength {
    /// The clause as PostgreSQL's messages name it.
    pub fn clause(self) -> &'static str {
        match self {
            RowLockStrength::KeyShare => "FOR KEY SHARE",
            RowLockStrength::Share => "FOR SHARE",
            RowLockStrength::NoKeyUpdate => "FOR NO KEY UPDATE",
            RowLockStrength::Update => "FOR UPDATE",
        }
    }
    fn marker(self) -> &'static str {
        match self {
            RowLockStrength::KeyShare => "\u{1}keyshare",
            RowLockStrength::Share => "\u{1}share",
            RowLockStrength::NoKeyUpdate => "\u{1}nokeyupdate",
            RowLockStrength::Update => "\u{1}update",
        }
    }
    fn from_marker(s: &str) -> Option<RowLockStrength> {
        [
            RowLockStrength::KeyShare,
            RowLockStrength::Share,
            RowLockStrength::NoKeyUpdate,
            RowLockStrength::Update,
        ]
        .into_iter()
        .find(|m| m.marker() == s)
    }
}

/// What to do about a row another transaction holds, weakest first
/// (PostgreSQL's LockWaitPolicy order: two clauses on one table keep the
/// stronger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RowLockWait {
    /// Wait for it (lock_timeout applies).
    Block,
    /// Leave the row out.
    Skip,
    /// 55P03 at once.
    NoWait,
}

/// What [`crate::catalog::Tables::lock_row`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum RowLockOutcome {
    /// The row version is locked.
    Locked,
    /// Leave the row out: deleted by a committed transaction (READ
    /// COMMITTED), changed by this transaction's later command, or held
    /// by another and SKIP LOCKED.
    Skipped,
    /// READ COMMITTED: a committed transaction updated the row; its
    /// newest version (the table's columns then its system columns), to
    /// re-check and lock in turn.
    Updated(Row),
}

/// One locking clause as written: strength, tables named after OF
/// (empty: every table of the FROM clause), wait policy.
#[derive(Debug, Clone)]
pub(crate) struct LockClause {
    pub strength: RowLockStrength,
    pub of: Vec<Vec<String>>,
    pub wait: RowLockWait,
}

/// One table whose rows a SELECT locks.
#[derive(Debug, Clone)]
pub(crate) struct LockTable {
    pub rel: Relation,
    /// Where its columns start in the FROM row.
    pub offset: usize,
    pub strength: RowLockStrength,
    pub wait: RowLockWait,
}

/// The locking part of a SELECT's plan.
#[derive(Debug, Clone)]
pub(crate) struct RowLocks {
    pub tables: Vec<LockTable>,
    /// The FROM row starts at this target (after the visible and sort
    /// targets) and has `width` columns.
    pub base: usize,
    pub width: usize,
}

fn word_is(t: &Token, w: &str) -> bool {
    matches!(t, Token::Word(Word { value, quote_style: None, .. }) if value.eq_ignore_ascii_case(w))
}

fn is_space(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

fn word_token(value: &str, quoted: bool, like: &TokenWithSpan) -> TokenWithSpan {
    let token = if quoted {
        Token::Word(Word {
            value: value.to_string(),
            quote_style: Some('"'),
            keyword: sqlparser::keywords::Keyword::NoKeyword,
        })
    } else {
        Token::make_keyword(value)
    };
    TokenWithSpan {
        token,
        span: like.span,
    }
}

fn space(like: &TokenWithSpan) -> TokenWithSpan {
    TokenWithSpan {
        token: Token::Whitespace(Whitespace::Space),
        span: like.span,
    }
}

/// Rewrites PostgreSQL's locking clauses into ones sqlparser reads (see
/// the file comment). Statements that use `FOR UPDATE` with another
/// meaning (CREATE/ALTER POLICY, GRANT) are left alone.
pub(crate) fn rewrite_tokens(toks: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let first = toks.iter().find(|t| !is_space(&t.token));
    if first.is_some_and(|t| {
        ["CREATE", "ALTER", "GRANT", "REVOKE", "COMMENT"]
            .iter()
            .any(|w| word_is(&t.token, w))
    }) {
        return toks;
    }
    if !toks.iter().any(|t| word_is(&t.token, "FOR")) {
        return toks;
    }
    // Indices of the meaningful tokens, for looking ahead.
    let idx: Vec<usize> = (0..toks.len())
        .filter(|&i| !is_space(&toks[i].token))
        .collect();
    let mut out = Vec::with_capacity(toks.len() + 8);
    let mut next_raw = 0;
    let mut k = 0;
    while k < idx.len() {
        let at = |n: usize| idx.get(k + n).map(|&i| &toks[i].token);
        let is = |n: usize, w: &str| at(n).is_some_and(|t| word_is(t, w));
        if !is(0, "FOR") {
            k += 1;
            continue;
        }
        let (strength, used) = if is(1, "NO") && is(2, "KEY") && is(3, "UPDATE") {
            (RowLockStrength::NoKeyUpdate, 4)
        } else if is(1, "KEY") && is(2, "SHARE") {
            (RowLockStrength::KeyShare, 3)
        } else if is(1, "UPDATE") {
            (RowLockStrength::Update, 2)
        } else if is(1, "SHARE") {
            (RowLockStrength::Share, 2)
        } else {
            k += 1;
            continue;
        };
        let for_tok = toks[idx[k]].clone();
        // Everything before the clause as it was.
        out.extend(toks[next_raw..idx[k]].iter().cloned());
        let mut j = k + used;
        let mut names: Vec<Vec<TokenWithSpan>> = Vec::new();
        if idx.get(j).is_some_and(|&i| word_is(&toks[i].token, "OF")) {
            j += 1;
            loop {
                let mut name = Vec::new();
                while let Some(&i) = idx.get(j) {
                    match &toks[i].token {
                        Token::Word(w)
                            if w.quote_style.is_some()
                                || !(w.value.eq_ignore_ascii_case("NOWAIT")
                                    || w.value.eq_ignore_ascii_case("SKIP")
                                    || w.value.eq_ignore_ascii_case("FOR")
                                    || w.value.eq_ignore_ascii_case("LIMIT")
                                    || w.value.eq_ignore_ascii_case("OFFSET")) =>
                        {
                            name.push(toks[i].clone());
                            j += 1;
                            if idx.get(j).is_some_and(|&i| toks[i].token == Token::Period) {
                                name.push(toks[idx[j]].clone());
                                j += 1;
                            } else {
                                break;
                            }
                        }
                        _ => break,
                    }
                }
                if name.is_empty() {
                    break;
                }
                names.push(name);
                if idx.get(j).is_some_and(|&i| toks[i].token == Token::Comma) {
                    j += 1;
                } else {
                    break;
                }
            }
        }
        let mut nonblock: Vec<&str> = Vec::new();
        if idx
            .get(j)
            .is_some_and(|&i| word_is(&toks[i].token, "NOWAIT"))
        {
            nonblock.push("NOWAIT");
            j += 1;
        } else if idx.get(j).is_some_and(|&i| word_is(&toks[i].token, "SKIP"))
            && idx
                .get(j + 1)
                .is_some_and(|&i| word_is(&toks[i].token, "LOCKED"))
        {
            nonblock.extend(["SKIP", "LOCKED"]);
            j += 2;
        }
        // The marker clause, then one clause per name.
        let mut emit = |words: &[TokenWithSpan]| {
            out.push(space(&for_tok));
            for w in words {
                out.push(w.clone());
                out.push(space(&for_tok));
            }
        };
        let mut marker = vec![
            word_token("FOR", false, &for_tok),
            word_token("UPDATE", false, &for_tok),
            word_token("OF", false, &for_tok),
            word_token(strength.marker(), true, &for_tok),
        ];
        marker.extend(nonblock.iter().map(|w| word_token(w, false, &for_tok)));
        emit(&marker);
        for n in names {
            let mut c = vec![
                word_token("FOR", false, &for_tok),
                word_token("UPDATE", false, &for_tok),
                word_token("OF", false, &for_tok),
            ];
            c.extend(n);
            emit(&c);
        }
        next_raw = idx.get(j).copied().unwrap_or(toks.len());
        // Keep any whitespace right after the clause.
        if j >= idx.len() {
            next_raw = toks.len();
        }
        k = j;
    }
    out.extend(toks[next_raw..].iter().cloned());
    out
}

/// Groups sqlparser's clauses back into PostgreSQL's (see
/// [`rewrite_tokens`]).
pub(crate) fn read_clauses(locks: &[ast::LockClause]) -> Result<Vec<LockClause>, PgError> {
    let mut out: Vec<LockClause> = Vec::new();
    for l in locks {
        let parts: Vec<String> = match &l.of {
            Some(n) => {
                n.0.iter()
                    .map(|p| match p {
                        ast::ObjectNamePart::Identifier(i) => Ok(crate::bind::ident_name(i)),
                        other => Err(PgError::error(
                            sqlstate::SYNTAX_ERROR,
                            format!("syntax error at or near \"{other}\""),
                        )),
                    })
                    .collect::<Result<_, _>>()?
            }
            None => Vec::new(),
        };
        let marker = match parts.as_slice() {
            [one] => RowLockStrength::from_marker(one),
            _ => None,
        };
        match (marker, out.last_mut()) {
            (Some(strength), _) => out.push(LockClause {
                strength,
                of: Vec::new(),
                wait: match l.nonblock {
                    None => RowLockWait::Block,
                    Some(ast::NonBlock::Nowait) => RowLockWait::NoWait,
                    Some(ast::NonBlock::SkipLocked) => RowLockWait::Skip,
                },
            }),
            (None, Some(c)) if !parts.is_empty() && l.nonblock.is_none() => c.of.push(parts),
            // A clause the rewrite did not produce (it leaves statements
            // it does not know alone): read it as written.
            (None, _) => out.push(LockClause {
                strength: match l.lock_type {
                    ast::LockType::Update => RowLockStrength::Update,
                    ast::LockType::Share => RowLockStrength::Share,
                },
                of: if parts.is_empty() {
                    Vec::new()
                } else {
                    vec![parts]
                },
                wait: match l.nonblock {
                    None => RowLockWait::Block,
                    Some(ast::NonBlock::Nowait) => RowLockWait::NoWait,
                    Some(ast::NonBlock::SkipLocked) => RowLockWait::Skip,
                },
            }),
        }
    }
    Ok(out)
}

/// 0A000 "FOR UPDATE is not allowed with <what>".
pub(crate) fn not_allowed(strength: RowLockStrength, what: &str) -> PgError {
    PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!("{} is not allowed with {what}", strength.clause()),
    )
}

/// A table (or other FROM item) of the FROM row.
struct Leaf<'a> {
    rel: Option<&'a Relation>,
    offset: usize,
    nullable: bool,
}

fn leaves<'a>(src: &'a Source, offset: usize, nullable: bool, out: &mut Vec<Leaf<'a>>) {
    match src {
        Source::Relation(r) => out.push(Leaf {
            rel: Some(r),
            offset,
            nullable,
        }),
        Source::Join(j) => {
            let (ln, rn) = match j.kind {
                JoinKind::Inner => (false, false),
                JoinKind::Left | JoinKind::Semi | JoinKind::Anti => (false, true),
                JoinKind::Right => (true, false),
                JoinKind::Full => (true, true),
            };
            leaves(&j.left, offset, nullable || ln, out);
            leaves(&j.right, offset + j.left_width, nullable || rn, out);
        }
        _ => out.push(Leaf {
            rel: None,
            offset,
            nullable,
        }),
    }
}

/// Checks a SELECT with locking clauses as PostgreSQL's
/// CheckSelectLocking and transformLockingClause do, and adds the lock
/// node's part to its plan. `aliases`: the FROM items' names with the
/// FROM-row column their columns start at; `width`: the FROM row's width.
pub(crate) fn attach(
    plan: &mut SelectPlan,
    clauses: &[LockClause],
    aliases: &[(String, usize)],
    width: usize,
) -> Result<(), PgError> {
    let Some(first) = clauses.first() else {
        return Ok(());
    };
    let s = first.strength;
    if plan.distinct || plan.distinct_on.is_some() {
        return Err(not_allowed(s, "DISTINCT clause"));
    }
    if !plan.group_by.is_empty() {
        return Err(not_allowed(s, "GROUP BY clause"));
    }
    if plan.having.is_some() {
        return Err(not_allowed(s, "HAVING clause"));
    }
    if plan.aggs.is_some() {
        return Err(not_allowed(s, "aggregate functions"));
    }
    if !plan.windows.is_empty() {
        return Err(not_allowed(s, "window functions"));
    }
    let mut all = Vec::new();
    leaves(&plan.source, 0, false, &mut all);
    let alias_of = |offset: usize| {
        aliases
            .iter()
            .find(|(_, o)| *o == offset)
            .map(|(a, _)| a.as_str())
    };
    let mut tables: Vec<LockTable> = Vec::new();
    let mut add = |leaf: &Leaf<'_>, c: &LockClause| -> Result<(), PgError> {
        let Some(rel) = leaf.rel else {
            return Ok(());
        };
        if !matches!(rel.source, RelationSource::Table(_)) {
            return Ok(());
        }
        if leaf.nullable {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "{} cannot be applied to the nullable side of an outer join",
                    c.strength.clause()
                ),
            ));
        }
        match tables.iter_mut().find(|t| t.offset == leaf.offset) {
            Some(t) => {
                t.strength = t.strength.max(c.strength);
                t.wait = t.wait.max(c.wait);
            }
            None => tables.push(LockTable {
                rel: rel.clone(),
                offset: leaf.offset,
                strength: c.strength,
                wait: c.wait,
            }),
        }
        Ok(())
    };
    for c in clauses {
        if c.of.is_empty() {
            for leaf in &all {
                add(leaf, c)?;
            }
            continue;
        }
        for name in &c.of {
            if name.len() != 1 {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    format!(
                        "{} must specify unqualified relation names",
                        c.strength.clause()
                    ),
                ));
            }
            let leaf = all
                .iter()
                .find(|l| alias_of(l.offset) == Some(name[0].as_str()));
            match leaf {
                Some(l) if l.rel.is_some() => add(l, c)?,
                Some(_) => {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!(
                            "{} cannot be applied to this FROM item yet",
                            c.strength.clause()
                        ),
                    ))
                }
                None => {
                    return Err(PgError::error(
                        sqlstate::UNDEFINED_TABLE,
                        format!(
                            "relation \"{}\" in {} clause not found in FROM clause",
                            name[0],
                            c.strength.clause()
                        ),
                    ))
                }
            }
        }
    }
    let base = plan.targets.len();
    plan.targets.extend((0..width).map(Expr::Column));
    plan.row_locks = Some(Box::new(RowLocks {
        tables,
        base,
        width,
    }));
    Ok(())
}

/// PostgreSQL's LockRows: locks each locked table's row of every input
/// row, leaving out rows it must skip and re-checking rows updated
/// meanwhile (see the file comment).
pub(crate) struct LockRowsNode {
    pub input: Box<dyn Node>,
    pub locks: RowLocks,
    /// WHERE and the targets (visible and sort) over the FROM row, for
    /// the re-check of a re-read row.
    pub filter: Option<Expr>,
    pub targets: Vec<Expr>,
    pub started: bool,
}

impl LockRowsNode {
    /// Locks the row's tables; None: leave the row out.
    fn lock(&mut self, mut row: Row, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        let base = self.locks.base;
        for t in &self.locks.tables {
            let ncols = t.rel.columns.len();
            loop {
                let at = base + t.offset + ncols; // ctid, the first system column
                let ctid = match row.get(at) {
                    Some(Value::Null) | None => break,
                    Some(v) => match encode_text(v) {
                        Some(b) => String::from_utf8_lossy(&b).into_owned(),
                        None => break,
                    },
                };
                match cx
                    .host
                    .tables()?
                    .lock_row(&t.rel, &ctid, t.strength, t.wait)?
                {
                    RowLockOutcome::Locked => break,
                    RowLockOutcome::Skipped => return Ok(None),
                    RowLockOutcome::Updated(newer) => {
                        let n = ncols + SYSTEM_COLUMNS.len();
                        if newer.len() != n {
                            return Ok(None);
                        }
                        let from = base + t.offset;
                        for (k, v) in newer.into_iter().enumerate() {
                            row[from + k] = v;
                        }
                        let src: Row = row[base..base + self.locks.width].to_vec();
                        if let Some(f) = &self.filter {
                            if !matches!(f.eval(&src, cx)?, Value::Bool(true)) {
                                return Ok(None);
                            }
                        }
                        for (k, e) in self.targets.iter().enumerate() {
                            row[k] = e.eval(&src, cx)?;
                        }
                        // Lock the new version in turn.
                    }
                }
            }
        }
        Ok(Some(row))
    }
}

impl Node for LockRowsNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        if !self.started {
            self.started = true;
            for t in &self.locks.tables {
                cx.host.tables()?.row_share_lock(&t.rel)?;
            }
        }
        while let Some(row) = self.input.next(cx)? {
            cx.host.check_interrupts()?;
            if let Some(r) = self.lock(row, cx)? {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
    fn close(&mut self) {
        self.input.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(sql: &str) -> String {
        let d = sqlparser::dialect::PostgreSqlDialect {};
        let toks = sqlparser::tokenizer::Tokenizer::new(&d, sql)
            .tokenize_with_location()
            .unwrap();
        rewrite_tokens(toks)
            .iter()
            .map(|t| t.token.to_string())
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn clauses_become_sqlparsers() {
        assert_eq!(
            rewrite("select * from t for no key update of t, u skip locked limit 1"),
            "select * from t FOR UPDATE OF \"\u{1}nokeyupdate\" SKIP LOCKED FOR UPDATE OF t \
             FOR UPDATE OF u limit 1"
        );
        assert_eq!(
            rewrite("select 1 for key share nowait"),
            "select 1 FOR UPDATE OF \"\u{1}keyshare\" NOWAIT"
        );
        // Other uses of FOR are left alone.
        assert_eq!(
            rewrite("select substring('abc' from 1 for 2)"),
            "select substring('abc' from 1 for 2)"
        );
        assert_eq!(
            rewrite("create policy p on t for update using (true)"),
            "create policy p on t for update using (true)"
        );
    }

    #[test]
    fn clauses_are_grouped_back() {
        let d = sqlparser::dialect::PostgreSqlDialect {};
        let sql = "select * from t, u for share of t for update nowait";
        let toks = sqlparser::tokenizer::Tokenizer::new(&d, sql)
            .tokenize_with_location()
            .unwrap();
        let mut p =
            sqlparser::parser::Parser::new(&d).with_tokens_with_locations(rewrite_tokens(toks));
        let stmt = p.parse_statement().unwrap();
        let ast::Statement::Query(q) = stmt else {
            panic!("not a query")
        };
        let c = read_clauses(&q.locks).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].strength, RowLockStrength::Share);
        assert_eq!(c[0].of, vec![vec!["t".to_string()]]);
        assert_eq!(c[0].wait, RowLockWait::Block);
        assert_eq!(c[1].strength, RowLockStrength::Update);
        assert!(c[1].of.is_empty());
        assert_eq!(c[1].wait, RowLockWait::NoWait);
    }
}
