//! Where a WITH RECURSIVE query may refer to itself (PostgreSQL's
//! checkWellFormedRecursion), checked on the syntax tree before binding:
//! the binder resolves a self-reference only inside the recursive term,
//! so one anywhere else would otherwise surface as "relation does not
//! exist" instead of PostgreSQL's invalid_recursion errors.

use std::ops::ControlFlow;

use sqlparser::ast;
use sqlparser::tokenizer::Span;
use tusk_common::{PgError, SqlState};

use crate::bind::ident_name;

const INVALID_RECURSION: SqlState = SqlState::new("42P19");

/// The spans of every reference to relation `name` (unqualified) in
/// `node`, scopes ignored.
fn raw_refs<V: ast::Visit>(node: &V, name: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let _ = ast::visit_relations(node, |r: &ast::ObjectName| {
        if let [ast::ObjectNamePart::Identifier(id)] = r.0.as_slice() {
            if ident_name(id) == name {
                out.push(id.span);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

/// Whether `q`'s own WITH defines a query called `name`.
fn defines(q: &ast::Query, name: &str) -> bool {
    q.with.as_ref().is_some_and(|w| {
        w.cte_tables
            .iter()
            .any(|c| ident_name(&c.alias.name) == name)
    })
}

/// The references of [`raw_refs`] but those under a query whose WITH
/// defines a query of the same name (they are to that one).
fn refs<V: ast::Visit>(node: &V, name: &str) -> Vec<Span> {
    struct Shadowed<'a> {
        name: &'a str,
        spans: Vec<Span>,
    }
    impl ast::Visitor for Shadowed<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, q: &ast::Query) -> ControlFlow<()> {
            if defines(q, self.name) {
                self.spans.extend(raw_refs(q, self.name));
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = Shadowed {
        name,
        spans: Vec::new(),
    };
    let _ = node.visit(&mut v);
    raw_refs(node, name)
        .into_iter()
        .filter(|s| !v.spans.contains(s))
        .collect()
}

/// Why a reference is misplaced, as PostgreSQL words it.
#[derive(Clone, Copy, PartialEq)]
enum Context {
    Ok,
    NonRecursive,
    Sublink,
    OuterJoin,
    Intersect,
    Except,
}

fn misplaced(name: &str, ctx: Context, at: Span) -> Option<(PgError, Span)> {
    let place = match ctx {
        Context::Ok => return None,
        Context::NonRecursive => "its non-recursive term",
        Context::Sublink => "a subquery",
        Context::OuterJoin => "an outer join",
        Context::Intersect => "INTERSECT",
        Context::Except => "EXCEPT",
    };
    Some((
        PgError::error(
            INVALID_RECURSION,
            format!("recursive reference to query \"{name}\" must not appear within {place}"),
        ),
        at,
    ))
}

/// The outcome of [`check`]: whether the query refers to itself at all,
/// or the error and the span of the name it is to be reported at (None:
/// the WITH query's own name).
pub(crate) enum Recursion {
    NotRecursive,
    WellFormed,
    Error(PgError, Option<Span>),
}

/// Checks `query`, the body of WITH RECURSIVE's `name`.
pub(crate) fn check(name: &str, query: &ast::Query) -> Recursion {
    if refs(query, name).is_empty() {
        return Recursion::NotRecursive;
    }
    let modifying = |q: &ast::Query| {
        matches!(
            q.body.as_ref(),
            ast::SetExpr::Insert(_) | ast::SetExpr::Update(_) | ast::SetExpr::Delete(_)
        )
    };
    if modifying(query)
        || query
            .with
            .as_ref()
            .is_some_and(|w| w.cte_tables.iter().any(|c| modifying(&c.query)))
    {
        return Recursion::Error(
            PgError::error(
                INVALID_RECURSION,
                format!("recursive query \"{name}\" must not contain data-modifying statements"),
            ),
            None,
        );
    }
    let ast::SetExpr::SetOperation {
        left,
        op: ast::SetOperator::Union,
        right,
        ..
    } = query.body.as_ref()
    else {
        return Recursion::Error(
            PgError::error(
                INVALID_RECURSION,
                format!(
                    "recursive query \"{name}\" does not have the form non-recursive-term UNION [ALL] recursive-term"
                ),
            ),
            None,
        );
    };
    if let Some(w) = &query.with {
        if let Some(at) = refs(w, name).first() {
            let (e, at) = misplaced(name, Context::Sublink, *at).expect("a misplaced context");
            return Recursion::Error(e, Some(at));
        }
    }
    if let Some(at) = refs(left.as_ref(), name).first() {
        let (e, at) = misplaced(name, Context::NonRecursive, *at).expect("a misplaced context");
        return Recursion::Error(e, Some(at));
    }
    match set_expr(name, right, Context::Ok) {
        Some((e, at)) => Recursion::Error(e, Some(at)),
        None => Recursion::WellFormed,
    }
}

fn set_expr(name: &str, s: &ast::SetExpr, ctx: Context) -> Option<(PgError, Span)> {
    match s {
        ast::SetExpr::Select(sel) => select(name, sel, ctx),
        ast::SetExpr::Query(q) => query(name, q, ctx),
        ast::SetExpr::SetOperation {
            op,
            set_quantifier,
            left,
            right,
        } => {
            // As PostgreSQL: INTERSECT (not ALL) keeps the context, EXCEPT
            // ALL refuses its left side too.
            let all = matches!(set_quantifier, ast::SetQuantifier::All);
            let (l, r) = match op {
                ast::SetOperator::Intersect if all => (Context::Intersect, Context::Intersect),
                ast::SetOperator::Except | ast::SetOperator::Minus if all => {
                    (Context::Except, Context::Except)
                }
                ast::SetOperator::Except | ast::SetOperator::Minus => (ctx, Context::Except),
                _ => (ctx, ctx),
            };
            set_expr(name, left, l).or_else(|| set_expr(name, right, r))
        }
        other => refs(other, name)
            .first()
            .and_then(|at| misplaced(name, Context::Sublink, *at)),
    }
}

fn query(name: &str, q: &ast::Query, ctx: Context) -> Option<(PgError, Span)> {
    if defines(q, name) {
        return None;
    }
    // A WITH inside the recursive term is checked in its context.
    let mut placed = refs(q.body.as_ref(), name);
    if let Some(w) = &q.with {
        for c in &w.cte_tables {
            if let Some(e) = query(name, &c.query, ctx) {
                return Some(e);
            }
            placed.extend(refs(c.query.as_ref(), name));
        }
    }
    set_expr(name, &q.body, ctx).or_else(|| {
        // ORDER BY, LIMIT and the like hold expressions only.
        refs(q, name)
            .into_iter()
            .find(|s| !placed.contains(s))
            .and_then(|at| misplaced(name, Context::Sublink, at))
    })
}

/// A SELECT: references in FROM are checked through its joins and
/// subqueries; any other one is in an expression, so in a sublink.
fn select(name: &str, s: &ast::Select, ctx: Context) -> Option<(PgError, Span)> {
    let mut in_from = Vec::new();
    for twj in &s.from {
        if let Some(e) = from_item(name, twj, ctx, &mut in_from) {
            return Some(e);
        }
    }
    refs(s, name)
        .into_iter()
        .find(|sp| !in_from.contains(sp))
        .and_then(|at| misplaced(name, Context::Sublink, at))
}

fn from_item(
    name: &str,
    twj: &ast::TableWithJoins,
    ctx: Context,
    seen: &mut Vec<Span>,
) -> Option<(PgError, Span)> {
    use ast::JoinOperator as J;
    // The left side of each join is everything before it: checked in the
    // context the join gives its left input.
    let outer_left = twj.joins.iter().any(|j| {
        matches!(
            j.join_operator,
            J::Right(_) | J::RightOuter(_) | J::FullOuter(_)
        )
    });
    let first_ctx = if outer_left { Context::OuterJoin } else { ctx };
    if let Some(e) = factor(name, &twj.relation, first_ctx, seen) {
        return Some(e);
    }
    for j in &twj.joins {
        let right_ctx = match j.join_operator {
            J::Left(_) | J::LeftOuter(_) | J::FullOuter(_) => Context::OuterJoin,
            _ => ctx,
        };
        if let Some(e) = factor(name, &j.relation, right_ctx, seen) {
            return Some(e);
        }
    }
    None
}

fn factor(
    name: &str,
    f: &ast::TableFactor,
    ctx: Context,
    seen: &mut Vec<Span>,
) -> Option<(PgError, Span)> {
    match f {
        ast::TableFactor::Table { name: n, .. } => {
            if let [ast::ObjectNamePart::Identifier(id)] = n.0.as_slice() {
                if ident_name(id) == name {
                    seen.push(id.span);
                    return misplaced(name, ctx, id.span);
                }
            }
            None
        }
        ast::TableFactor::Derived { subquery, .. } => {
            let r = query(name, subquery, ctx);
            seen.extend(refs(subquery.as_ref(), name));
            r
        }
        ast::TableFactor::NestedJoin {
            table_with_joins, ..
        } => from_item(name, table_with_joins, ctx, seen),
        _ => None,
    }
}
