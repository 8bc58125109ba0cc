//! WHERE-level `EXISTS`, `NOT EXISTS` and `x IN (SELECT ...)` turned into semi and anti joins (PostgreSQL's pull_up_sublinks).
//!
//! Why on the bound plan, before subplan.rs's pull-up: like the rest of
//! tusk's planner it rewrites the [`SelectPlan`] that both the executor
//! and EXPLAIN read, so what runs and what is printed stay one. A
//! correlated EXISTS run as a filter re-runs its subquery for every row;
//! as a semi join the subquery's rows are read once and hashed on the
//! correlation's equalities, as PostgreSQL does.
//!
//! Results never change, because only PostgreSQL's convertible cases are
//! converted: the sublink is a top-level AND conjunct of WHERE (a NULL
//! there rejects the row as false does, so `IN`'s NULL is a non-match),
//! `NOT` only over EXISTS (NOT IN's NULL semantics are not an anti
//! join's), and the subquery is plain enough — for EXISTS no aggregate,
//! grouping, window, set-returning function, OFFSET or row lock (a LIMIT
//! of a positive constant is dropped), its correlation only in its WHERE
//! and nothing volatile there (convert_EXISTS_sublink_to_join); for IN
//! an uncorrelated subquery compared by `=` (convert_ANY_sublink_to_join).
//! The semi/anti join's row is the outer row followed by the inner
//! row's width of NULLs, so that column numbers above it do not move.

use crate::exec::{and_all, conjuncts, split_join_conds};
use crate::expr::{CmpOp, Expr, SubLinkKind};
use crate::plan::{JoinKind, JoinPlan, SelectPlan, Source};
use crate::subplan::{is_simple_subquery, is_volatile, source_width};
use crate::value::Value;

/// Turns the convertible sublinks of `plan`'s WHERE into semi and anti
/// joins over its FROM, in the order they are written.
pub(crate) fn pull_up_sublinks(plan: &mut SelectPlan) {
    if plan.filter.is_none() || matches!(plan.source, Source::Result) {
        return;
    }
    let mut keep = Vec::new();
    for c in conjuncts(plan.filter.take()) {
        let Some(lw) = source_width(&plan.source) else {
            keep.push(c);
            continue;
        };
        match convert(&c, lw) {
            Some(conv) => {
                let (keys, rest) = split_join_conds(conv.quals, lw);
                let left = std::mem::replace(&mut plan.source, Source::Result);
                plan.source = Source::Join(Box::new(JoinPlan {
                    kind: conv.kind,
                    left,
                    right: conv.right,
                    left_width: lw,
                    right_width: conv.width,
                    hash_keys: keys,
                    qual: and_all(rest),
                }));
            }
            None => keep.push(c),
        }
    }
    plan.filter = and_all(keep);
}

struct Converted {
    kind: JoinKind,
    right: Source,
    width: usize,
    /// The join's condition's conjuncts, over the joined row.
    quals: Vec<Expr>,
}

fn convert(c: &Expr, lw: usize) -> Option<Converted> {
    let (link, negated) = match c {
        Expr::Not(inner) => match &**inner {
            Expr::SubLink(s) if matches!(s.kind, SubLinkKind::Exists) => (s, true),
            _ => return None,
        },
        Expr::SubLink(s) => (s, false),
        _ => return None,
    };
    match &link.kind {
        SubLinkKind::Exists => exists(&link.plan, lw, negated),
        SubLinkKind::In {
            lhs,
            rhs,
            op: CmpOp::Eq,
            all: false,
            negated: false,
        } if !negated => any(&link.plan, lhs, rhs, lw),
        _ => None,
    }
}

/// Whether `e` (at query level `level`, the subquery's being 1) reads
/// the row of the query holding the sublink (level 0).
fn reads_parent(e: &Expr, level: usize) -> bool {
    let mut found = false;
    e.clone().visit(level, &mut |x, l| {
        if let Expr::Outer { depth, .. } = x {
            found |= *depth == l;
        }
    });
    found
}

/// `e`, an expression of the subquery (level 1) whose row becomes the
/// right part of a join row after `lw` columns of the parent's, moved to
/// the parent's level: the subquery's columns shift by `lw`, the
/// parent's become plain columns, references further out come one
/// level closer (PostgreSQL's IncrementVarSublevelsUp by -1).
fn to_join_level(e: &mut Expr, lw: usize) {
    e.visit(1, &mut |x, level| match x {
        Expr::Column(i) if level == 1 => *i += lw,
        Expr::Outer { depth, col } => {
            let target = level as isize - *depth as isize;
            if target == 1 {
                *col += lw;
            } else if target == 0 && level == 1 {
                *x = Expr::Column(*col);
            } else if target <= 0 {
                *depth -= 1;
            }
        }
        _ => {}
    });
}

/// Moves the subquery's FROM to the parent's level; false if something
/// in it reads the parent's row (only its WHERE may).
fn lift_source(src: &mut Source) -> bool {
    let mut ok = true;
    src.visit_exprs(1, &mut |x, level| {
        if let Expr::Outer { depth, .. } = x {
            if *depth == level {
                ok = false;
            } else if *depth > level {
                *depth -= 1;
            }
        }
    });
    ok
}

/// A subquery whose rows are its filtered FROM rows, whatever it
/// projects or orders (simplify_EXISTS_query); its LIMIT is fine when a
/// positive constant.
fn exists_simple(sub: &SelectPlan) -> bool {
    let limit_ok = match &sub.limit {
        None => true,
        Some(Expr::Const(v)) => match v {
            Value::Int8(n) => *n > 0,
            Value::Int4(n) => *n > 0,
            _ => false,
        },
        Some(_) => false,
    };
    limit_ok
        && sub.aggs.is_none()
        && sub.group_by.is_empty()
        && sub.group_exprs.is_empty()
        && sub.grouping_sets.is_none()
        && sub.having.is_none()
        && sub.windows.is_empty()
        && sub.srfs.is_empty()
        && sub.offset.is_none()
        && sub.row_locks.is_none()
        && !sub.with_ties
        && !sub.alias.as_ref().is_some_and(|a| a.barrier)
        && !matches!(sub.source, Source::Result)
}

fn exists(sub: &SelectPlan, lw: usize, negated: bool) -> Option<Converted> {
    if !exists_simple(sub) {
        return None;
    }
    let filter = sub.filter.as_ref()?;
    if is_volatile(filter) || !reads_parent(filter, 1) {
        return None;
    }
    let width = source_width(&sub.source)?;
    let mut right = sub.source.clone();
    if !lift_source(&mut right) {
        return None;
    }
    let mut quals = conjuncts(Some(filter.clone()));
    quals.iter_mut().for_each(|q| to_join_level(q, lw));
    Some(Converted {
        kind: if negated {
            JoinKind::Anti
        } else {
            JoinKind::Semi
        },
        right,
        width,
        quals,
    })
}

fn any(sub: &SelectPlan, lhs: &Expr, rhs: &Expr, lw: usize) -> Option<Converted> {
    let mut correlated = false;
    sub.clone().visit_exprs(1, &mut |x, level| {
        if let Expr::Outer { depth, .. } = x {
            correlated |= *depth == level;
        }
    });
    let (lcols, lsub) = lhs.columns_used();
    if correlated || lcols.is_empty() || lsub || is_volatile(lhs) {
        return None;
    }
    // A plain subquery joins by its FROM, its WHERE joining the
    // condition (PostgreSQL pulls it up); any other stays whole.
    if is_simple_subquery(sub) {
        let width = source_width(&sub.source)?;
        let mut right = sub.source.clone();
        if !lift_source(&mut right) {
            return None;
        }
        let mut quals = conjuncts(sub.filter.clone());
        quals.iter_mut().for_each(|q| to_join_level(q, lw));
        let mut r = substitute(rhs, &sub.targets);
        to_join_level(&mut r, lw);
        quals.insert(0, Expr::Cmp(CmpOp::Eq, Box::new(lhs.clone()), Box::new(r)));
        return Some(Converted {
            kind: JoinKind::Semi,
            right,
            width,
            quals,
        });
    }
    let mut r = rhs.clone();
    r.map_columns(&|i| i + lw);
    Some(Converted {
        kind: JoinKind::Semi,
        width: sub.visible,
        right: Source::Subquery(Box::new(sub.clone())),
        quals: vec![Expr::Cmp(CmpOp::Eq, Box::new(lhs.clone()), Box::new(r))],
    })
}

/// `rhs` (over the subquery's output row) with each output column
/// replaced by the expression computing it over the subquery's FROM row.
fn substitute(rhs: &Expr, targets: &[Expr]) -> Expr {
    const HOLE: usize = usize::MAX;
    let mut e = rhs.clone();
    e.visit(0, &mut |x, level| {
        if let Expr::Column(i) = *x {
            if level == 0 {
                *x = Expr::Outer {
                    depth: HOLE,
                    col: i,
                };
            }
        }
    });
    e.visit(0, &mut |x, _| {
        if let Expr::Outer { depth: HOLE, col } = *x {
            *x = targets
                .get(col)
                .cloned()
                .unwrap_or(Expr::Const(Value::Null));
        }
    });
    e
}

/// A semi or anti join's condition split for execution: the conjuncts
/// that read only the inner row (over it) filter the inner input before
/// the join, the rest stays the join's condition.
pub(crate) fn inner_conds(j: &JoinPlan) -> (Vec<Expr>, Option<Expr>) {
    let lw = j.left_width;
    let mut inner = Vec::new();
    let mut rest = Vec::new();
    for c in conjuncts(j.qual.clone()) {
        let (cols, sub) = c.columns_used();
        if !sub && !cols.is_empty() && cols.iter().all(|&i| i >= lw) {
            let mut c = c;
            c.map_columns(&|i| i - lw);
            inner.push(c);
        } else {
            rest.push(c);
        }
    }
    (inner, and_all(rest))
}

/// Whether `k` is a semi or anti join, whose row is the outer row only
/// (then NULLs).
pub(crate) fn is_semi(k: JoinKind) -> bool {
    matches!(k, JoinKind::Semi | JoinKind::Anti)
}

/// WHERE conjuncts over a one-sided join's row split for its inputs:
/// those reading only the preserved side (the left of a LEFT, semi or
/// anti join, the right of a RIGHT join: its columns are never made
/// NULL) filter that input, over its own row; the rest stay above the
/// join. Returns whether the preserved side is the left, the pushed
/// conjuncts and the rest; `conds` back for an inner, full or LATERAL
/// join.
pub(crate) type Split = (bool, Vec<Expr>, Vec<Expr>);

pub(crate) fn preserved_conds(j: &JoinPlan, conds: Vec<Expr>) -> Result<Split, Vec<Expr>> {
    if matches!(j.right, Source::LateralSubquery(_)) {
        return Err(conds);
    }
    let left = match j.kind {
        JoinKind::Left | JoinKind::Semi | JoinKind::Anti => true,
        JoinKind::Right => false,
        JoinKind::Inner | JoinKind::Full => return Err(conds),
    };
    let lw = j.left_width;
    let (mut down, stay): (Vec<Expr>, Vec<Expr>) = conds.into_iter().partition(|c| {
        let (cols, sub) = c.columns_used();
        !sub && !cols.is_empty() && cols.iter().all(|&i| (i < lw) == left)
    });
    if !left {
        down.iter_mut().for_each(|c| c.map_columns(&|i| i - lw));
    }
    Ok((left, down, stay))
}
