//! Table inheritance (CREATE TABLE ... INHERITS): the merged columns of
//! a new child, scans of a parent that read its descendants, UPDATE and
//! DELETE of descendants' rows through the parent, DROP's dependents,
//! and the `FROM ONLY t` / `t*` spellings.
//!
//! Why this shape: the host hands a table out with its descendants
//! already resolved ([`Relation::children`], flat, breadth first as
//! PostgreSQL's find_all_inheritors lists them, each with the position
//! of every ancestor column in the descendant), so that one scan here
//! ([`AppendScan`]) serves every place that reads a relation — joins,
//! subqueries, UPDATE/DELETE targets — with rows in the ancestor's
//! layout followed by the descendant's own system columns (`tableoid`
//! names the table a row lives in, as in PostgreSQL). ONLY is the same
//! relation with the list emptied. sqlparser has no ONLY in FROM: the
//! token pass drops the keyword and marks the name's last part with a
//! quote style no PostgreSQL text can produce ([`ONLY_MARK`]), which the binder
//! reads back ([`is_only`]).

use sqlparser::ast;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Word};

use tusk_common::{sqlstate, PgError, Severity};

use crate::catalog::{self, ColumnDef, InheritChild, Relation, RelationSource};
use crate::exec::{Relations, Row, RowSource};
use crate::expr::Ctx;
use crate::host::Host;
use crate::value::Value;

/// The quote style that marks a relation name written after ONLY: a
/// backquote, which PostgreSQL's dialect never tokenizes as a quote but
/// sqlparser can print (any other mark panics in its Display, which
/// SELECT INTO and error messages use).
pub(crate) const ONLY_MARK: char = '`';

/// Whether the FROM/UPDATE/DELETE name was written `ONLY name`.
pub(crate) fn is_only(name: &ast::ObjectName) -> bool {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .is_some_and(|i| i.quote_style == Some(ONLY_MARK))
}

/// Rewrites `FROM ONLY t` (also after JOIN, UPDATE and a comma of a FROM
/// list) into `FROM t` with `t` marked, and drops the `*` of `FROM t*`
/// (which means what `t` means).
pub(crate) fn rewrite_tokens(toks: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    // Every statement passes here; most have neither form.
    if !crate::sequence::has_keyword(&toks, Keyword::ONLY)
        && !toks.iter().any(|t| t.token == Token::Mul)
    {
        return toks;
    }
    let word = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none());
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(toks.len());
    // Per bracket depth: inside a FROM list (a comma starts a new item).
    let mut in_from: Vec<bool> = vec![false];
    // Per bracket depth: whether it holds a query (None until its first
    // token): FROM inside `extract(year FROM x * 2)` starts no FROM list.
    let mut query: Vec<Option<bool>> = vec![Some(true)];
    let mut i = 0;
    // Index in `out` of the last meaningful token.
    let last = |out: &Vec<TokenWithSpan>| {
        out.iter()
            .rposition(|t| !matches!(t.token, Token::Whitespace(_)))
    };
    while i < toks.len() {
        let t = &toks[i];
        if !matches!(t.token, Token::Whitespace(_) | Token::LParen) {
            if let Some(q @ None) = query.last_mut() {
                *q = Some(matches!(&t.token, Token::Word(w) if w.quote_style.is_none()
                    && matches!(w.keyword, Keyword::SELECT | Keyword::WITH | Keyword::UPDATE
                        | Keyword::DELETE | Keyword::INSERT)));
            }
        }
        let is_query = query.last().copied().flatten().unwrap_or(false);
        match &t.token {
            Token::LParen => {
                in_from.push(false);
                query.push(None);
            }
            Token::RParen if in_from.len() > 1 => {
                in_from.pop();
                query.pop();
            }
            Token::Word(w) if w.quote_style.is_none() => match w.keyword {
                Keyword::FROM if is_query => *in_from.last_mut().unwrap_or(&mut false) = true,
                Keyword::WHERE
                | Keyword::GROUP
                | Keyword::HAVING
                | Keyword::ORDER
                | Keyword::LIMIT
                | Keyword::OFFSET
                | Keyword::WINDOW
                | Keyword::UNION
                | Keyword::INTERSECT
                | Keyword::EXCEPT
                | Keyword::RETURNING
                | Keyword::SET
                | Keyword::ON
                | Keyword::USING
                | Keyword::FOR
                | Keyword::SELECT => {
                    if let Some(f) = in_from.last_mut() {
                        *f = false;
                    }
                }
                _ => {}
            },
            _ => {}
        }
        let prev = last(&out).map(|j| out[j].token.clone());
        let starts_item = |p: &Option<Token>, in_from: &[bool]| match p {
            Some(Token::Word(w)) if w.quote_style.is_none() => {
                is_query && matches!(w.keyword, Keyword::FROM | Keyword::JOIN | Keyword::UPDATE)
            }
            Some(Token::Comma) => in_from.last().copied().unwrap_or(false),
            _ => false,
        };
        // ONLY name: drop the keyword, mark the name.
        if word(&t.token, Keyword::ONLY) && starts_item(&prev, &in_from) {
            let mut j = i + 1;
            while j < toks.len() && matches!(toks[j].token, Token::Whitespace(_)) {
                j += 1;
            }
            if matches!(toks.get(j).map(|t| &t.token), Some(Token::Word(_))) {
                // The name's last part: words joined by periods.
                let mut k = j;
                while let (Some(Token::Period), Some(Token::Word(_))) = (
                    toks.get(k + 1).map(|t| &t.token),
                    toks.get(k + 2).map(|t| &t.token),
                ) {
                    k += 2;
                }
                out.extend(toks[i + 1..k].iter().cloned());
                let mut last_part = toks[k].clone();
                if let Token::Word(w) = &last_part.token {
                    let value = if w.quote_style.is_some() {
                        w.value.clone()
                    } else {
                        w.value.to_lowercase()
                    };
                    last_part.token = Token::Word(Word {
                        value,
                        quote_style: Some(ONLY_MARK),
                        keyword: Keyword::NoKeyword,
                    });
                }
                out.push(last_part);
                i = k + 1;
                continue;
            }
        }
        // name *: the `*` goes.
        if t.token == Token::Mul {
            if let Some(j) = last(&out) {
                if matches!(out[j].token, Token::Word(_)) {
                    // Walk back over `a.b` to the token before the name.
                    let mut k = j;
                    while k >= 2
                        && out[k - 1].token == Token::Period
                        && matches!(out[k - 2].token, Token::Word(_))
                    {
                        k -= 2;
                    }
                    let before = out[..k]
                        .iter()
                        .rposition(|t| !matches!(t.token, Token::Whitespace(_)))
                        .map(|b| out[b].token.clone());
                    if starts_item(&before, &in_from) {
                        i += 1;
                        continue;
                    }
                }
            }
        }
        out.push(t.clone());
        i += 1;
    }
    out
}

/// Column `i` of a descendant's row; NULL for
/// [`catalog::INHERIT_ABSENT`].
pub(crate) fn pick(row: &[Value], i: usize) -> Value {
    row.get(i).cloned().unwrap_or(Value::Null)
}

/// A scan of a table and its descendants (or, for a partitioned table,
/// of its partitions only): each member's rows in turn, in the
/// ancestor's column layout, each followed by its own system columns.
/// One member of an [`AppendScan`]: its scan, the map of the
/// ancestor's columns into its rows (None: the ancestor itself) and its
/// column count.
type Member = (Box<dyn RowSource>, Option<Vec<usize>>, usize);

struct AppendScan {
    parts: Vec<Member>,
    at: usize,
}

impl RowSource for AppendScan {
    fn next_row(&mut self) -> Result<Option<Row>, PgError> {
        while let Some((scan, map, ncols)) = self.parts.get_mut(self.at) {
            match scan.next_row()? {
                Some(row) => {
                    let Some(map) = map else {
                        return Ok(Some(row));
                    };
                    let ncols = *ncols;
                    let mut out: Row = map.iter().map(|&i| pick(&row, i)).collect();
                    out.extend(row.into_iter().skip(ncols));
                    return Ok(Some(out));
                }
                None => {
                    scan.close();
                    self.at += 1;
                }
            }
        }
        Ok(None)
    }
    fn close(&mut self) {
        for (s, _, _) in &mut self.parts {
            s.close();
        }
        self.at = self.parts.len();
    }
}

/// Opens the scan of `rel` and its descendants ([`Relation::children`]
/// not empty). Called by `exec::open_scan`.
pub(crate) fn open_scan(
    rel: &Relation,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
) -> Result<Box<dyn RowSource>, PgError> {
    let mut parts = Vec::new();
    let mut own = rel.clone();
    own.children.clear();
    if rel.relkind != b'p' {
        let n = own.columns.len();
        parts.push((crate::exec::open_scan(&own, cx, relations)?, None, n));
    }
    for c in &rel.children {
        if c.rel.relkind == b'p' {
            continue;
        }
        let n = c.rel.columns.len();
        parts.push((
            crate::exec::open_scan(&c.rel, cx, relations)?,
            Some(c.map.clone()),
            n,
        ));
    }
    Ok(Box::new(AppendScan { parts, at: 0 }))
}

/// The descendant a row of a scan over `rel` came from (its `tableoid`),
/// None when the row is `rel`'s own.
pub(crate) fn owner<'a>(rel: &'a Relation, row: &[Value]) -> Option<&'a InheritChild> {
    if rel.children.is_empty() {
        return None;
    }
    let Some(Value::Oid(oid)) = row.get(rel.columns.len() + 3) else {
        return None;
    };
    rel.children
        .iter()
        .find(|c| matches!(c.rel.source, RelationSource::Table(t) if t.oid == *oid))
}

/// The current row (descendant's layout, with system columns) of
/// descendant `c` at the `ctid` of the ancestor-layout `row`: what an
/// UPDATE through the ancestor needs to keep the descendant's own columns.
pub(crate) fn child_row(
    c: &InheritChild,
    ancestor_cols: usize,
    row: &[Value],
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
) -> Result<Option<Row>, PgError> {
    let ctid = row.get(ancestor_cols).cloned();
    let n = c.rel.columns.len();
    let mut scan = crate::exec::open_scan(&c.rel, cx, relations)?;
    let found = loop {
        match scan.next_row()? {
            Some(r) if r.get(n).cloned() == ctid => break Some(r),
            Some(_) => continue,
            None => break None,
        }
    };
    scan.close();
    Ok(found)
}

/// A descendant-layout row built from an ancestor-layout one: the
/// mapped columns, NULL for the descendant's own, then the system
/// columns (what DELETE through the ancestor hands on).
pub(crate) fn to_child_layout(c: &InheritChild, ancestor_cols: usize, row: &[Value]) -> Row {
    let mut out = vec![Value::Null; c.rel.columns.len()];
    for (i, &m) in c.map.iter().enumerate() {
        if let Some(slot) = out.get_mut(m) {
            *slot = row[i].clone();
        }
    }
    out.extend(row[ancestor_cols..].iter().cloned());
    out
}

/// The ancestor-layout row of a descendant-layout one.
pub(crate) fn to_parent_layout(c: &InheritChild, row: &[Value]) -> Row {
    let n = c.rel.columns.len();
    let mut out: Row = c.map.iter().map(|&i| pick(row, i)).collect();
    out.extend(row.iter().skip(n).cloned());
    out
}

fn notice(host: &mut dyn Host, msg: String) {
    host.notice(PgError::new(
        Severity::Notice,
        sqlstate::SUCCESSFUL_COMPLETION,
        msg,
    ));
}

fn type_name(host: &mut dyn Host, c: &ColumnDef) -> Result<String, PgError> {
    let oid = c.domain.unwrap_or(c.ty.oid);
    let m = if c.domain.is_some() { -1 } else { c.ty.typmod };
    crate::sysinfo::format_type(host, oid, Some(m))
}

/// A new child's columns, its parents and the CHECKs it inherits.
pub(crate) type Merged = (Vec<ColumnDef>, Vec<Relation>, Vec<catalog::CheckDef>);

/// The parents of a new table, resolved and checked as PostgreSQL's
/// MergeAttributes checks them, and the table's columns: the parents'
/// (merged by name, NOTICE for each merge), then the new table's own
/// (merged into an inherited one of the same name). Also the parents'
/// CHECK constraints, which the child inherits.
pub(crate) fn merge_columns(
    host: &mut dyn Host,
    parents: &[(Option<String>, String)],
    local: &[ColumnDef],
) -> Result<Merged, PgError> {
    let mut rels: Vec<Relation> = Vec::new();
    for (schema, name) in parents {
        let rel = catalog::lookup(&*host, schema.as_deref(), name)?;
        if rel.relkind == b'p' {
            return Err(PgError::error(
                catalog::codes::WRONG_OBJECT_TYPE,
                format!("cannot inherit from partitioned table \"{}\"", rel.name),
            ));
        }
        if rel.relkind != b'r' || !matches!(rel.source, RelationSource::Table(_)) {
            return Err(PgError::error(
                catalog::codes::WRONG_OBJECT_TYPE,
                format!(
                    "inherited relation \"{}\" is not a table or foreign table",
                    rel.name
                ),
            ));
        }
        if rels.iter().any(|r| r.source == rel.source) {
            return Err(PgError::error(
                catalog::codes::DUPLICATE_TABLE,
                format!(
                    "relation \"{}\" would be inherited from more than once",
                    rel.name
                ),
            ));
        }
        rels.push(rel);
    }
    let mut cols: Vec<ColumnDef> = Vec::new();
    let mut checks: Vec<catalog::CheckDef> = Vec::new();
    // Columns whose parents give different generation expressions.
    let mut conflicting: Vec<String> = Vec::new();
    for rel in &rels {
        for pc in &rel.columns {
            let mut pc = pc.clone();
            // Identity is not inherited (PostgreSQL: the child's column
            // takes the sequence's default instead only for serial).
            pc.identity = None;
            match cols.iter_mut().find(|c| c.name == pc.name) {
                Some(c) => {
                    notice(
                        host,
                        format!(
                            "merging multiple inherited definitions of column \"{}\"",
                            pc.name
                        ),
                    );
                    if c.ty != pc.ty || c.domain != pc.domain {
                        let (a, b) = (type_name(host, c)?, type_name(host, &pc)?);
                        return Err(PgError::error(
                            catalog::codes::DATATYPE_MISMATCH,
                            format!("inherited column \"{}\" has a type conflict", pc.name),
                        )
                        .with_detail(format!("{a} versus {b}")));
                    }
                    if c.generated.is_some() != pc.generated.is_some() {
                        return Err(PgError::error(
                            catalog::codes::DATATYPE_MISMATCH,
                            format!("inherited column \"{}\" has a generation conflict", pc.name),
                        ));
                    }
                    if c.generated.is_some() && c.generated != pc.generated {
                        conflicting.push(pc.name.clone());
                    }
                    c.not_null |= pc.not_null;
                    if c.default.is_none() {
                        c.default = pc.default.clone();
                    }
                }
                None => cols.push(pc),
            }
        }
        for ch in &rel.checks {
            if !checks.iter().any(|c| c.name == ch.name) {
                checks.push(ch.clone());
            }
        }
    }
    let inherited = cols.len();
    for (pos, lc) in local.iter().enumerate() {
        match cols.iter().position(|c| c.name == lc.name) {
            Some(at) => {
                let c = &mut cols[at];
                // A column merged where it was not written moves: said
                // so, as PostgreSQL 15 does.
                if at == pos || at >= inherited {
                    notice(
                        host,
                        format!("merging column \"{}\" with inherited definition", lc.name),
                    );
                } else {
                    host.notice(
                        PgError::new(
                            Severity::Notice,
                            sqlstate::SUCCESSFUL_COMPLETION,
                            format!(
                                "moving and merging column \"{}\" with inherited definition",
                                lc.name
                            ),
                        )
                        .with_detail(
                            "User-specified column moved to the position of the inherited column.",
                        ),
                    );
                }
                if c.ty != lc.ty || c.domain != lc.domain {
                    let (a, b) = (type_name(host, c)?, type_name(host, lc)?);
                    return Err(PgError::error(
                        catalog::codes::DATATYPE_MISMATCH,
                        format!("column \"{}\" has a type conflict", lc.name),
                    )
                    .with_detail(format!("{a} versus {b}")));
                }
                // PostgreSQL 15: an inherited generated column takes the
                // parent's expression and nothing else of the child's; a
                // plain one becomes what the child says.
                if c.generated.is_some() {
                    let bad = |m: String| PgError::error(sqlstate::SqlState::new("42611"), m);
                    if lc.generated.is_some() {
                        return Err(bad(format!(
                            "child column \"{}\" specifies generation expression",
                            lc.name
                        ))
                        .with_hint("Omit the generation expression in the definition of the child table column to inherit the generation expression from the parent table."));
                    }
                    if lc.identity.is_some() {
                        return Err(bad(format!(
                            "column \"{}\" inherits from generated column but specifies identity",
                            lc.name
                        )));
                    }
                    if lc.default.is_some() {
                        return Err(bad(format!(
                            "column \"{}\" inherits from generated column but specifies default",
                            lc.name
                        )));
                    }
                } else if lc.generated.is_some() {
                    c.generated = lc.generated.clone();
                }
                c.not_null |= lc.not_null;
                if lc.default.is_some() {
                    c.default = lc.default.clone();
                }
                if lc.identity.is_some() {
                    c.identity = lc.identity;
                }
            }
            None => cols.push(lc.clone()),
        }
    }
    if let Some(name) = conflicting.first() {
        return Err(PgError::error(
            sqlstate::SqlState::new("42611"),
            format!("column \"{name}\" inherits conflicting generation expressions"),
        ));
    }
    Ok((cols, rels, checks))
}

/// `rel`'s descendants depth first (children in OID order), the order
/// PostgreSQL's dependency walk reports them in.
fn depth_first(rel: &Relation) -> Vec<&InheritChild> {
    fn walk<'a>(all: &'a [InheritChild], parent: &str, out: &mut Vec<&'a InheritChild>) {
        for c in all.iter().filter(|c| c.parent == parent) {
            if out.iter().any(|o| o.rel.source == c.rel.source) {
                continue;
            }
            out.push(c);
            walk(all, &c.rel.name, out);
        }
    }
    let mut out = Vec::new();
    walk(&rel.children, &rel.name, &mut out);
    out
}

/// DROP TABLE of `found`: the descendants not dropped with them are
/// dependents (2BP01 with PostgreSQL's DETAIL and HINT), or with CASCADE
/// dropped too (NOTICE "drop cascades to ..."), children first.
/// Partitions go with their partitioned table silently, as PostgreSQL's
/// automatic dependencies do.
pub(crate) fn before_drop(
    host: &mut dyn Host,
    found: &mut Vec<Relation>,
    cascade: bool,
) -> Result<(), PgError> {
    let named: Vec<RelationSource> = found.iter().map(|r| r.source).collect();
    let mut extra: Vec<Relation> = Vec::new();
    let mut deps: Vec<String> = Vec::new();
    for rel in found.iter() {
        for c in depth_first(rel) {
            if named.contains(&c.rel.source) || extra.iter().any(|e| e.source == c.rel.source) {
                continue;
            }
            let mut r = c.rel.clone();
            r.children.clear();
            let auto = rel.relkind == b'p';
            if !auto {
                deps.push(format!("table {} depends on table {}", r.name, c.parent));
            }
            extra.push(r);
        }
    }
    if !deps.is_empty() {
        if !cascade {
            let first = &found[0].name;
            return Err(PgError::error(
                catalog::codes::DEPENDENT_OBJECTS_STILL_EXIST,
                format!("cannot drop table {first} because other objects depend on it"),
            )
            .with_detail(deps.join("\n"))
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        let lines: Vec<String> = deps
            .iter()
            .map(|d| {
                format!(
                    "drop cascades to {}",
                    d.split(" depends on ").next().unwrap_or("")
                )
            })
            .collect();
        if lines.len() == 1 {
            notice(host, lines[0].clone());
        } else {
            host.notice(
                PgError::new(
                    Severity::Notice,
                    sqlstate::SUCCESSFUL_COMPLETION,
                    format!("drop cascades to {} other objects", lines.len()),
                )
                .with_detail(lines.join("\n")),
            );
        }
    }
    // Deepest first, then the named tables.
    extra.reverse();
    let named = std::mem::take(found);
    *found = extra;
    found.extend(named);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn rewrite(sql: &str) -> String {
        let toks = Tokenizer::new(&PostgreSqlDialect {}, sql)
            .tokenize_with_location()
            .unwrap();
        rewrite_tokens(toks)
            .iter()
            .map(|t| match &t.token {
                Token::Word(w) if w.quote_style == Some(ONLY_MARK) => format!("<only {}>", w.value),
                t => t.to_string(),
            })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn only_and_star_in_from_lists() {
        assert_eq!(
            rewrite("select * from only T where a = 1"),
            "select * from <only t> where a = 1"
        );
        assert_eq!(rewrite("delete from only s.t"), "delete from s.<only t>");
        assert_eq!(
            rewrite("update only t set a = 1"),
            "update <only t> set a = 1"
        );
        assert_eq!(
            rewrite("select * from a*, b* join c* on true"),
            "select * from a, b join c on true"
        );
        assert_eq!(
            rewrite("select * from x, only y"),
            "select * from x, <only y>"
        );
        // Not table names: arithmetic after FROM of extract/substring,
        // ONLY elsewhere.
        assert_eq!(
            rewrite("select extract(epoch from i * 2), substring(s from n * 2) from t"),
            "select extract(epoch from i * 2), substring(s from n * 2) from t"
        );
        assert_eq!(rewrite("select a, b * c from t"), "select a, b * c from t");
        assert_eq!(
            rewrite("alter table only t add c int"),
            "alter table only t add c int"
        );
        assert_eq!(
            rewrite("select (select count(*) from only t) from u*"),
            "select (select count(*) from <only t>) from u"
        );
    }
}
