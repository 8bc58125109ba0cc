//! MERGE: the bound statement (the target joined with the source, and its WHEN clauses), its execution, and the token-level fixes sqlparser needs for PostgreSQL 15's MERGE grammar.
//!
//! Why this shape: MERGE is UPDATE ... FROM / DELETE ... USING with an
//! outer join. The binder (bind/merge.rs) joins the target (its columns
//! and system columns first) with the source, the source side outer when
//! there are NOT MATCHED clauses, so that a source row no target row
//! joins comes out with a NULL ctid. Every WHEN condition, SET and VALUES
//! expression reads that one joined row. The join is read to the end
//! before the first change (the changes cannot feed it), then each joined
//! row takes the first clause of its kind whose condition holds, and the
//! row is stored through modify.rs's per-row paths (`insert_row`,
//! `update_row`, `delete_row`: triggers, constraints and FOREIGN KEY
//! checks as for INSERT, UPDATE and DELETE).
//!
//! A target row changed by a concurrent transaction (READ COMMITTED) is
//! re-checked as PostgreSQL's EvalPlanQual does: the newest version with
//! the same source row must still satisfy the ON condition, and the
//! clauses are tried again from the first; a row that no longer joins (or
//! was deleted) goes to the NOT MATCHED clauses. REPEATABLE READ gets
//! 40001 from the storage layer as UPDATE does.
//!
//! Called only by the backend running the statement.

use std::collections::HashSet;

use sqlparser::tokenizer::{Location, Token, TokenWithSpan};
use tusk_common::{sqlstate, PgError};

use crate::catalog::Relation;
use crate::exec::{self, Relations, Row};
use crate::expr::{Ctx, Expr};
use crate::host::Host;
use crate::modify::{self, Changed};
use crate::plan::SelectPlan;
use crate::trigger::{Event, Fire};
use crate::value::Value;

/// A bound MERGE.
#[derive(Debug, Clone)]
pub(crate) struct MergePlan {
    /// The source joined with the target: each row is the source's
    /// columns, then the target's columns and system columns (NULL when
    /// no target row joins).
    pub join: SelectPlan,
    /// How many of a joined row's columns are the source's.
    pub source_width: usize,
    /// Whether NOT MATCHED clauses made the join outer.
    pub outer: bool,
    /// The ON condition over the joined row (re-checked on a row a
    /// concurrent transaction changed).
    pub on: Expr,
    /// The WHEN clauses in order.
    pub actions: Vec<Action>,
    /// Per table column: its DEFAULT, bound (for INSERT).
    pub defaults: Vec<Option<Expr>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Action {
    /// WHEN MATCHED (else WHEN NOT MATCHED).
    pub matched: bool,
    /// `AND condition`.
    pub cond: Option<Expr>,
    pub kind: ActionKind,
}

#[derive(Debug, Clone)]
pub(crate) enum ActionKind {
    Update(Vec<(usize, Expr)>),
    Delete,
    /// Table column index of each value, and the values (None: DEFAULT).
    Insert {
        targets: Vec<usize>,
        values: Vec<Option<Expr>>,
    },
    Nothing,
}

impl MergePlan {
    fn exprs_mut(&mut self) -> impl Iterator<Item = &mut Expr> {
        let mut v: Vec<&mut Expr> = vec![&mut self.on];
        v.extend(self.defaults.iter_mut().flatten());
        for a in &mut self.actions {
            v.extend(a.cond.iter_mut());
            match &mut a.kind {
                ActionKind::Update(sets) => v.extend(sets.iter_mut().map(|(_, e)| e)),
                ActionKind::Insert { values, .. } => v.extend(values.iter_mut().flatten()),
                ActionKind::Delete | ActionKind::Nothing => {}
            }
        }
        v.into_iter()
    }

    fn has(&self, f: impl Fn(&ActionKind) -> bool) -> bool {
        self.actions.iter().any(|a| f(&a.kind))
    }
}

fn second_time() -> PgError {
    PgError::error(
        sqlstate::CARDINALITY_VIOLATION,
        "MERGE command cannot affect row a second time",
    )
    .with_hint("Ensure that not more than one source row matches any one target row.")
}

/// The triggers of the three events, and the order their AFTER ROW
/// events were queued in (runs of one event).
struct Triggers {
    insert: Option<Fire>,
    update: Option<Fire>,
    delete: Option<Fire>,
    order: Vec<(Event, usize)>,
}

impl Triggers {
    fn of(&mut self, e: Event) -> &mut Option<Fire> {
        match e {
            Event::Insert => &mut self.insert,
            Event::Update => &mut self.update,
            _ => &mut self.delete,
        }
    }

    /// Notes the AFTER ROW events `e`'s queue gained since it held `before`.
    fn queued(&mut self, e: Event, before: usize) {
        let now = self.of(e).as_ref().map_or(0, Fire::queued);
        let n = now.saturating_sub(before);
        if n == 0 {
            return;
        }
        match self.order.last_mut() {
            Some((last, k)) if *last == e => *k += n,
            _ => self.order.push((e, n)),
        }
    }

    fn len(&self, e: Event) -> usize {
        match e {
            Event::Insert => self.insert.as_ref(),
            Event::Update => self.update.as_ref(),
            _ => self.delete.as_ref(),
        }
        .map_or(0, Fire::queued)
    }
}

/// What a MERGE did, for EXPLAIN ANALYZE's `Tuples:` line.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    /// Rows the join produced.
    pub joined: u64,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
}

impl Counts {
    /// PostgreSQL's `Tuples: inserted=1 updated=2 skipped=3` (the kinds
    /// that are not zero; None when the join produced no rows).
    pub fn line(&self) -> Option<String> {
        if self.joined == 0 {
            return None;
        }
        let skipped = self
            .joined
            .saturating_sub(self.inserted + self.updated + self.deleted);
        let mut s = String::new();
        for (what, n) in [
            ("inserted", self.inserted),
            ("updated", self.updated),
            ("deleted", self.deleted),
            ("skipped", skipped),
        ] {
            if n > 0 {
                s += &format!(" {what}={n}");
            }
        }
        Some(s.trim_start().to_string())
    }
}

/// Runs a MERGE; returns no rows (RETURNING is PostgreSQL 17's) and the
/// command tag `MERGE n` (rows inserted, updated and deleted).
pub(crate) fn execute(
    rel: &Relation,
    m: &MergePlan,
    params: &[Value],
    host: &mut dyn Host,
    relations: &dyn Relations,
) -> Result<(Vec<Row>, String), PgError> {
    let c = execute_counted(rel, m, params, host, relations)?;
    Ok((
        Vec::new(),
        format!("MERGE {}", c.inserted + c.updated + c.deleted),
    ))
}

/// Runs a MERGE and says what it did.
pub(crate) fn execute_counted(
    rel: &Relation,
    m: &MergePlan,
    params: &[Value],
    host: &mut dyn Host,
    relations: &dyn Relations,
) -> Result<Counts, PgError> {
    let mut prepared = m.clone();
    {
        let mut cx = Ctx { host, params };
        exec::prepare_exprs(prepared.exprs_mut(), &mut cx, relations)?;
    }
    let m = &prepared;
    let ncols = rel.columns.len();
    let checks = crate::generated::RowChecks::bind(&*host, rel)?;
    // UPDATE OF triggers fire when any UPDATE clause assigns the column.
    let mut updated: Vec<usize> = Vec::new();
    for a in &m.actions {
        if let ActionKind::Update(sets) = &a.kind {
            updated.extend(sets.iter().map(|(i, _)| *i));
        }
    }
    let load = |host: &dyn Host, yes: bool, e: Event, cols: &[usize]| {
        if yes {
            Fire::load(host, rel, e, cols)
        } else {
            Ok(None)
        }
    };
    let mut trig = Triggers {
        insert: load(
            &*host,
            m.has(|k| matches!(k, ActionKind::Insert { .. })),
            Event::Insert,
            &[],
        )?,
        update: load(
            &*host,
            m.has(|k| matches!(k, ActionKind::Update(_))),
            Event::Update,
            &updated,
        )?,
        delete: load(
            &*host,
            m.has(|k| matches!(k, ActionKind::Delete)),
            Event::Delete,
            &[],
        )?,
        order: Vec::new(),
    };
    // PostgreSQL's order: BEFORE STATEMENT INSERT, UPDATE, DELETE; at the
    // end AFTER STATEMENT DELETE, UPDATE, INSERT.
    for e in [Event::Insert, Event::Update, Event::Delete] {
        if let Some(f) = trig.of(e).as_mut() {
            f.before_statement(host)?;
        }
    }
    let rows = {
        let mut cx = Ctx { host, params };
        let mut root = exec::build(&m.join, &mut cx, relations)?;
        let mut rows = Vec::new();
        let r = (|| {
            while let Some(r) = root.next(&mut cx)? {
                cx.host.check_interrupts()?;
                rows.push(r);
            }
            Ok::<(), PgError>(())
        })();
        root.close();
        r?;
        rows
    };
    let mut pending = crate::fkey::Pending::default();
    // The target rows this statement changed (their ctids as joined).
    let mut changed: HashSet<String> = HashSet::new();
    let mut counts = Counts {
        joined: rows.len() as u64,
        ..Counts::default()
    };
    for mut row in rows {
        host.check_interrupts()?;
        let sw = m.source_width;
        let mut matched = !row.get(sw + ncols).is_none_or(Value::is_null);
        loop {
            let mut chosen = None;
            for a in m.actions.iter().filter(|a| a.matched == matched) {
                let mut cx = Ctx { host, params };
                if modify::passes(&a.cond, &row, &mut cx)? {
                    chosen = Some(a);
                    break;
                }
            }
            let Some(a) = chosen else { break };
            let outcome = match &a.kind {
                ActionKind::Nothing => break,
                ActionKind::Insert { targets, values } => {
                    let mut new = Vec::with_capacity(ncols);
                    let mut cx = Ctx { host, params };
                    for (i, d) in m.defaults.iter().enumerate() {
                        let given = targets
                            .iter()
                            .position(|&t| t == i)
                            .and_then(|k| values.get(k).and_then(Option::as_ref));
                        new.push(match (given, d) {
                            (Some(e), _) => e.eval(&row, &mut cx)?,
                            (None, Some(d)) => d.eval(&[], &mut cx)?,
                            (None, None) => Value::Null,
                        });
                    }
                    let before = trig.len(Event::Insert);
                    let stored = modify::insert_row(
                        host,
                        rel,
                        &checks,
                        &mut trig.insert,
                        &mut pending,
                        new,
                    )?;
                    trig.queued(Event::Insert, before);
                    if stored.is_some() {
                        counts.inserted += 1;
                    }
                    break;
                }
                ActionKind::Update(sets) => {
                    let ctid = modify::ctid_of(&row[sw..], ncols)?;
                    if changed.contains(&ctid) {
                        return Err(second_time());
                    }
                    let mut new: Vec<Value> = row[sw..sw + ncols].to_vec();
                    {
                        let mut cx = Ctx { host, params };
                        for (i, e) in sets {
                            new[*i] = e.eval(&row, &mut cx)?;
                        }
                    }
                    let before = trig.len(Event::Update);
                    let r = modify::update_row(
                        host,
                        rel,
                        &checks,
                        &mut trig.update,
                        &mut pending,
                        &row[sw..],
                        new,
                    )?;
                    trig.queued(Event::Update, before);
                    (r, ctid)
                }
                ActionKind::Delete => {
                    let ctid = modify::ctid_of(&row[sw..], ncols)?;
                    if changed.contains(&ctid) {
                        return Err(second_time());
                    }
                    let before = trig.len(Event::Delete);
                    let r =
                        modify::delete_row(host, rel, &mut trig.delete, &mut pending, &row[sw..])?;
                    trig.queued(Event::Delete, before);
                    (r, ctid)
                }
            };
            match outcome {
                (Changed::Done(_), ctid) => {
                    changed.insert(ctid);
                    match a.kind {
                        ActionKind::Delete => counts.deleted += 1,
                        _ => counts.updated += 1,
                    }
                    break;
                }
                (Changed::Skipped, _) => break,
                // Deleted meanwhile: the source row no longer matches.
                (Changed::Gone, _) => matched = false,
                (Changed::Newer(newer), _) => {
                    row.truncate(sw);
                    row.extend(newer);
                    let mut cx = Ctx { host, params };
                    if !modify::passes(&Some(m.on.clone()), &row, &mut cx)? {
                        matched = false;
                    }
                }
            }
            if !matched && !m.outer {
                break;
            }
        }
    }
    crate::fkey::run_pending(host, pending)?;
    for (e, n) in std::mem::take(&mut trig.order) {
        if let Some(f) = trig.of(e).as_mut() {
            f.after_rows_first(host, n)?;
        }
    }
    for e in [Event::Delete, Event::Update, Event::Insert] {
        if let Some(f) = trig.of(e).as_mut() {
            f.after_statement(host)?;
        }
    }
    Ok(counts)
}

/// The MERGE of a parsed statement (`MERGE ...`, or `WITH ... MERGE`,
/// which sqlparser reads as a query), with its WITH clause.
pub(crate) fn of(
    s: &sqlparser::ast::Statement,
) -> Option<(Option<&sqlparser::ast::With>, &sqlparser::ast::Merge)> {
    use sqlparser::ast::{SetExpr, Statement};
    match s {
        Statement::Merge(m) => Some((None, m)),
        Statement::Query(q) => match q.body.as_ref() {
            SetExpr::Merge(Statement::Merge(m)) => Some((q.with.as_ref(), m)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a statement's tokens are a MERGE (`MERGE ...` or `WITH ...
/// MERGE`, the latter found as the first MERGE outside parentheses).
fn is_merge(tokens: &[TokenWithSpan]) -> bool {
    let mut depth = 0i32;
    let mut first = true;
    for t in tokens {
        match &t.token {
            Token::Whitespace(_) => continue,
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Word(w) if w.quote_style.is_none() && depth == 0 => {
                let v = w.value.to_ascii_uppercase();
                if v == "MERGE" {
                    return true;
                }
                if first && v != "WITH" {
                    return false;
                }
            }
            _ => {}
        }
        first = false;
    }
    false
}

fn upper(t: &TokenWithSpan) -> Option<String> {
    match &t.token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

/// The syntax errors PostgreSQL 15's grammar gives a MERGE that
/// sqlparser would accept, for every MERGE in the statement (also one
/// inside `COPY (...)` or a WITH query): `WHEN NOT MATCHED BY ...` and
/// `RETURNING` (newer PostgreSQL) at that word, and a second VALUES row
/// at its comma; a MERGE with no WHEN clause ends too early (an empty
/// word: the caller reports its end). Called on each statement's tokens
/// before dispatch. Err: the word and where it is.
pub(crate) fn check_grammar(tokens: &[TokenWithSpan]) -> Result<(), (String, Location)> {
    let sig: Vec<&TokenWithSpan> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF))
        .collect();
    let mut depth = 0i32;
    // The depth of each MERGE being read, innermost last.
    let mut merges: Vec<i32> = Vec::new();
    // A VALUES list of a MERGE's INSERT: (open, just closed).
    let mut values = (false, false);
    // A statement that is a MERGE: whether a WHEN clause was seen.
    let mut statement_merge: Option<bool> = None;
    for (k, t) in sig.iter().enumerate() {
        let prev = k.checked_sub(1).map(|p| sig[p]);
        let w = upper(t);
        if values.1 && t.token != Token::Comma {
            values = (false, false);
        }
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                while merges.last().is_some_and(|&d| d > depth) {
                    merges.pop();
                }
                if values.0 && merges.last() == Some(&depth) {
                    values = (false, true);
                }
            }
            Token::Comma if values.1 => return Err((",".into(), t.span.start)),
            _ => {}
        }
        if w.as_deref() == Some("MERGE") && prev.is_none_or(|p| p.token == Token::LParen) {
            if prev.is_none() {
                statement_merge = Some(false);
            }
            merges.push(depth);
            continue;
        }
        if merges.last() != Some(&depth) {
            continue;
        }
        match w.as_deref() {
            Some("WHEN") if depth == 0 && statement_merge.is_some() => statement_merge = Some(true),
            Some("RETURNING") => return Err(("RETURNING".into(), t.span.start)),
            Some("BY") if prev.and_then(upper).as_deref() == Some("MATCHED") => {
                return Err(("BY".into(), t.span.start))
            }
            Some("VALUES") => values = (true, false),
            _ => {}
        }
    }
    match (statement_merge, sig.last()) {
        (Some(false), Some(last)) => Err((String::new(), last.span.end)),
        _ => Ok(()),
    }
}

/// sqlparser's MERGE grammar made to read PostgreSQL 15's: `INSERT
/// DEFAULT VALUES` becomes `INSERT VALUES (DEFAULT)` (the same row:
/// omitted columns take their defaults); `OVERRIDING ... VALUE` is
/// removed (the binder reads it from the text: [`overridings`]); a source
/// that is a join (`USING a JOIN b ON ... ON ...`) is parenthesized, as
/// sqlparser reads only one table factor there; `ONLY` before the target
/// or source is dropped. Other statements pass unchanged.
pub(crate) fn rewrite_tokens(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    if !is_merge(&tokens) {
        return tokens;
    }
    let sig: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let word = |k: usize| sig.get(k).and_then(|&i| upper(&tokens[i]));
    // (from, to, replacement) token ranges, applied back to front so
    // that earlier indexes stay valid.
    let mut edits: Vec<(usize, usize, Vec<TokenWithSpan>)> = Vec::new();
    let mut depth = 0i32;
    let mut case = 0i32;
    let mut seen_merge = false;
    let mut using: Option<usize> = None;
    let mut last_on: Option<usize> = None;
    let mut join_in_source = false;
    let mut source_done = false;
    for k in 0..sig.len() {
        let t = &tokens[sig[k]];
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        if depth != 0 {
            continue;
        }
        let in_source = using.is_some() && !source_done;
        match word(k).as_deref() {
            Some("MERGE") => seen_merge = true,
            Some("CASE") => case += 1,
            Some("END") => case -= 1,
            Some("USING") if seen_merge && using.is_none() => using = Some(k),
            // ONLY: tusk has no inheritance, so every table is its own
            // ONLY (sqlparser has no ONLY here).
            Some("ONLY")
                if seen_merge
                    && matches!(word(k.wrapping_sub(1)).as_deref(), Some("INTO" | "USING")) =>
            {
                edits.push((sig[k], sig[k] + 1, Vec::new()));
            }
            Some("ON") if in_source && case == 0 => last_on = Some(k),
            Some("JOIN") if in_source => join_in_source = true,
            Some("WHEN") if in_source && case == 0 => {
                source_done = true;
                if let (true, Some(u), Some(on)) = (join_in_source, using, last_on) {
                    let at = |i: usize, token| TokenWithSpan {
                        token,
                        span: tokens[sig[i]].span,
                    };
                    edits.push((sig[u] + 1, sig[u] + 1, vec![at(u, Token::LParen)]));
                    edits.push((sig[on], sig[on], vec![at(on, Token::RParen)]));
                }
            }
            Some("DEFAULT")
                if word(k.wrapping_sub(1)).as_deref() == Some("INSERT")
                    && word(k + 1).as_deref() == Some("VALUES") =>
            {
                // DEFAULT VALUES -> VALUES ( DEFAULT )
                let (d, v) = (sig[k], sig[k + 1]);
                let span = tokens[d].span;
                let at = |token| TokenWithSpan { token, span };
                edits.push((
                    d,
                    v + 1,
                    vec![
                        tokens[v].clone(),
                        at(Token::LParen),
                        tokens[d].clone(),
                        at(Token::RParen),
                    ],
                ));
            }
            Some("OVERRIDING")
                if matches!(word(k + 1).as_deref(), Some("SYSTEM" | "USER"))
                    && word(k + 2).as_deref() == Some("VALUE") =>
            {
                edits.push((sig[k], sig[k + 2] + 1, Vec::new()));
            }
            _ => {}
        }
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (from, to, with) in edits {
        tokens.splice(from..to, with);
    }
    tokens
}

/// Each WHEN clause's OVERRIDING choice, in clause order: `b's'` SYSTEM
/// VALUE, `b'u'` USER VALUE.
pub(crate) fn overridings(sql: &str) -> Vec<Option<u8>> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let Ok(tokens) = sqlparser::tokenizer::Tokenizer::new(&dialect, sql).tokenize_with_location()
    else {
        return Vec::new();
    };
    let words: Vec<Option<String>> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .map(upper)
        .collect();
    let mut out: Vec<Option<u8>> = Vec::new();
    let mut depth = 0i32;
    let toks: Vec<&TokenWithSpan> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    for (k, w) in words.iter().enumerate() {
        match toks[k].token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        if depth != 0 {
            continue;
        }
        match w.as_deref() {
            Some("WHEN") => out.push(None),
            Some("OVERRIDING") if words.get(k + 2).and_then(Option::as_deref) == Some("VALUE") => {
                let kind = match words.get(k + 1).and_then(Option::as_deref) {
                    Some("SYSTEM") => Some(b's'),
                    Some("USER") => Some(b'u'),
                    _ => None,
                };
                if let Some(last) = out.last_mut() {
                    *last = kind;
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_analyze_tuples_line_is_postgresql_s() {
        let c = Counts {
            joined: 100,
            inserted: 10,
            updated: 9,
            deleted: 5,
        };
        assert_eq!(
            c.line().as_deref(),
            Some("inserted=10 updated=9 deleted=5 skipped=76")
        );
        let c = Counts {
            joined: 50,
            updated: 50,
            ..Counts::default()
        };
        assert_eq!(c.line().as_deref(), Some("updated=50"));
        assert_eq!(Counts::default().line(), None);
    }

    #[test]
    fn overriding_is_read_per_clause() {
        let v = overridings(
            "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE \
             WHEN NOT MATCHED AND s.b > 0 THEN INSERT (a) OVERRIDING USER VALUE VALUES (s.a) \
             WHEN NOT MATCHED THEN INSERT OVERRIDING SYSTEM VALUE VALUES (1)",
        );
        assert_eq!(v, vec![None, Some(b'u'), Some(b's')]);
    }

    #[test]
    fn tokens_become_sqlparser_grammar() {
        let d = sqlparser::dialect::PostgreSqlDialect {};
        let toks = |s: &str| {
            sqlparser::tokenizer::Tokenizer::new(&d, s)
                .tokenize_with_location()
                .unwrap()
        };
        let text = |v: Vec<TokenWithSpan>| {
            v.iter()
                .filter(|t| !matches!(t.token, Token::Whitespace(_)))
                .map(|t| t.token.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let out = rewrite_tokens(toks(
            "MERGE INTO t USING s ON true WHEN NOT MATCHED AND s.a THEN INSERT DEFAULT VALUES \
             WHEN NOT MATCHED THEN INSERT (a) OVERRIDING USER VALUE VALUES (1)",
        ));
        assert_eq!(
            text(out),
            "MERGE INTO t USING s ON true WHEN NOT MATCHED AND s . a THEN INSERT VALUES ( DEFAULT ) \
             WHEN NOT MATCHED THEN INSERT ( a ) VALUES ( 1 )"
        );
        let e = check_grammar(&toks(
            "MERGE INTO t USING s ON true WHEN NOT MATCHED BY SOURCE THEN DELETE",
        ));
        assert_eq!(e.unwrap_err().0, "BY");
        let e = check_grammar(&toks(
            "COPY (MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE RETURNING *) TO STDOUT",
        ));
        assert_eq!(e.unwrap_err().0, "RETURNING");
        let e = check_grammar(&toks(
            "MERGE INTO t USING s ON true WHEN NOT MATCHED THEN INSERT (a, b) VALUES (1, 2), (3, 4)",
        ));
        assert_eq!(e.unwrap_err().0, ",");
        assert!(check_grammar(&toks(
            "MERGE INTO t USING s ON true WHEN NOT MATCHED THEN INSERT VALUES (1, 2) \
             WHEN MATCHED THEN UPDATE SET a = 1, b = 2"
        ))
        .is_ok());
        // A join as the source is parenthesized.
        let out = rewrite_tokens(toks(
            "MERGE INTO t USING a JOIN b ON a.x = b.x ON t.x = CASE WHEN a.x > 0 THEN 1 END WHEN MATCHED THEN DELETE",
        ));
        assert_eq!(
            text(out),
            "MERGE INTO t USING ( a JOIN b ON a . x = b . x ) ON t . x = CASE WHEN a . x > 0 THEN 1 END WHEN MATCHED THEN DELETE"
        );
        // Not a MERGE: untouched.
        let plain = toks("SELECT 1 RETURNING");
        assert_eq!(rewrite_tokens(plain.clone()), plain);
    }
}
