//! FROM subqueries and views in the planner: simple ones pulled up into the parent's join tree, WHERE and JOIN ON conjuncts pushed into the others (PostgreSQL's pull_up_simple_subquery and set_subquery_pathlist).
//!
//! Why on the bound plan, once, right after binding: the executor
//! (`exec::build_plan`) and EXPLAIN (explain.rs) both read the
//! [`SelectPlan`], so rewriting it before either keeps what runs and what
//! is printed the same. A view is bound as the subquery its text is
//! (bind/viewref.rs); merged into the query using it, its tables meet the
//! query's WHERE, so `SELECT * FROM v WHERE id = 42` reaches the index
//! on id and a join through a view joins the view's tables.
//!
//! Results never change: a subquery is merged only when its rows are its
//! filtered FROM rows projected (no aggregation, DISTINCT, window or
//! set-returning functions, LIMIT/OFFSET, row locks, volatile outputs) —
//! PostgreSQL's is_simple_subquery — and under an outer join only when its
//! outputs are plain columns (they must go NULL with the row) and its
//! WHERE can become the join's condition. A conjunct is pushed into a
//! subquery only when it reads nothing but that subquery's outputs, no
//! subquery and nothing volatile, and the subquery has no LIMIT/OFFSET or
//! window functions and computes what it reads before any set-returning
//! function of its select list (qual_is_pushdown_safe); over an
//! aggregating subquery it becomes part of HAVING, or of WHERE when it
//! reads only grouping columns. Row-level security's subqueries are
//! barriers, left whole. Everything here runs in the backend that binds
//! the statement.

use crate::catalog::{RelationSource, SYSTEM_COLUMNS};
use crate::exec::{and_all, conjuncts};
use crate::expr::Expr;
use crate::plan::{JoinKind, SelectPlan, SortKey, Source};

/// A FROM subquery's or view's name as EXPLAIN prints it.
#[derive(Debug, Clone)]
pub(crate) struct Alias {
    pub name: String,
    /// Its output columns' names (the alias's column list applied).
    pub cols: Vec<String>,
    /// Row-level security's filter (policy.rs): never merged with the
    /// query's own conditions, which could show a function rows the
    /// policy hides.
    pub barrier: bool,
}

/// A column reference waiting for its replacement (two passes, because
/// [`Expr::visit`] walks into what its callback puts in place).
const HOLE: usize = usize::MAX;

/// Pulls up the simple FROM subqueries of `plan` and pushes its WHERE
/// into the others. Not under FOR UPDATE/SHARE, whose re-check of a
/// newer row version evaluates the plan's WHERE as a whole over its FROM.
pub(crate) fn optimize(plan: &mut SelectPlan) {
    if plan.row_locks.is_some() {
        return;
    }
    crate::semijoin::pull_up_sublinks(plan);
    // Each round merges one subquery; a FROM list is finite.
    for _ in 0..256 {
        if !pull_up_one(plan) {
            break;
        }
    }
    push_down(plan);
}

// ---------------------------------------------------------------------
// Pull-up.

/// Columns of a source's row, where known.
pub(crate) fn source_width(src: &Source) -> Option<usize> {
    match src {
        Source::Result => Some(0),
        Source::Relation(rel) => Some(
            rel.columns.len()
                + if matches!(rel.source, RelationSource::Table(_)) {
                    SYSTEM_COLUMNS.len()
                } else {
                    0
                },
        ),
        Source::Join(j) => Some(j.left_width + j.right_width),
        Source::Subquery(p) => Some(p.visible),
        Source::Values(rows) => rows.first().map(Vec::len),
        _ => None,
    }
}

fn has_lateral(src: &Source) -> bool {
    match src {
        Source::LateralSubquery(_) => true,
        Source::Join(j) => has_lateral(&j.left) || has_lateral(&j.right),
        _ => false,
    }
}

/// Built-in functions whose result may change from call to call
/// (PostgreSQL's volatile ones).
pub(crate) const VOLATILE: &[&str] = &[
    "random",
    "random_normal",
    "setseed",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "currval",
    "setval",
    "lastval",
    "gen_random_uuid",
    "txid_current",
    "pg_current_xact_id",
];

/// Whether `e` calls a volatile function (PostgreSQL's
/// contain_volatile_functions, subqueries included).
pub(crate) fn is_volatile(e: &Expr) -> bool {
    let mut v = false;
    e.clone().visit(0, &mut |x, _| match x {
        Expr::Func(f, _) if VOLATILE.contains(&crate::explain::function_name(*f)) => v = true,
        Expr::UserFunc(def, _) if def.volatility == b'v' => v = true,
        _ => {}
    });
    v
}

fn has_sublink(e: &Expr) -> bool {
    let mut s = false;
    e.clone().visit(0, &mut |x, level| {
        if level == 0 && matches!(x, Expr::SubLink(_)) {
            s = true;
        }
    });
    s
}

fn has_outer(e: &Expr) -> bool {
    let mut o = false;
    e.clone()
        .visit(0, &mut |x, _| o |= matches!(x, Expr::Outer { .. }));
    o
}

/// A plain column (perhaps relabelled by a cast): NULL when its row is.
fn is_strict_column(e: &Expr) -> bool {
    match e {
        Expr::Column(_) => true,
        Expr::Cast { arg, .. } => matches!(**arg, Expr::Column(_)),
        _ => false,
    }
}

/// The rows of `sub` are its filtered FROM rows projected, one each
/// (is_simple_subquery).
pub(crate) fn is_simple_subquery(sub: &SelectPlan) -> bool {
    sub.aggs.is_none()
        && sub.group_by.is_empty()
        && sub.group_exprs.is_empty()
        && sub.grouping_sets.is_none()
        && sub.having.is_none()
        && sub.srfs.is_empty()
        && sub.windows.is_empty()
        && !sub.distinct
        && sub.distinct_on.is_none()
        && sub.limit.is_none()
        && sub.offset.is_none()
        && sub.row_locks.is_none()
        && !sub.alias.as_ref().is_some_and(|a| a.barrier)
        && matches!(
            sub.source,
            Source::Result
                | Source::Relation(_)
                | Source::Join(_)
                | Source::Subquery(_)
                | Source::Values(_)
        )
        && !has_lateral(&sub.source)
        && source_width(&sub.source).is_some()
        && !sub.targets[..sub.visible].iter().any(is_volatile)
}

/// Where a pulled-up subquery's WHERE goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FilterTo {
    /// The parent's WHERE: no outer join makes the subquery's row NULL.
    Top,
    /// The condition of the join right above it (an inner join, or an
    /// outer join whose nullable side it is).
    Join,
    /// Nowhere it could go without changing the rows.
    Nowhere,
}

struct Found {
    path: Vec<bool>,
    off: usize,
    nullable: bool,
    filter_to: FilterTo,
}

/// The first FROM subquery of the join tree that can be merged.
fn find(
    src: &Source,
    off: usize,
    path: &mut Vec<bool>,
    nullable: bool,
    parent: Option<(JoinKind, bool)>,
    top_ok_sorted: bool,
) -> Option<Found> {
    match src {
        Source::Join(j) => {
            path.push(true);
            let l = find(
                &j.left,
                off,
                path,
                nullable || matches!(j.kind, JoinKind::Right | JoinKind::Full),
                Some((j.kind, true)),
                false,
            );
            path.pop();
            if l.is_some() {
                return l;
            }
            path.push(false);
            let r = find(
                &j.right,
                off + j.left_width,
                path,
                nullable
                    || matches!(
                        j.kind,
                        JoinKind::Left | JoinKind::Full | JoinKind::Semi | JoinKind::Anti
                    ),
                Some((j.kind, false)),
                false,
            );
            path.pop();
            r
        }
        Source::Subquery(sub) => {
            if !is_simple_subquery(sub) {
                return None;
            }
            let at_top = parent.is_none();
            if matches!(sub.source, Source::Result) && !at_top {
                return None;
            }
            if !sub.sort.is_empty() && !top_ok_sorted {
                return None;
            }
            let filter_to = if !nullable {
                FilterTo::Top
            } else {
                match parent {
                    Some((JoinKind::Inner, _))
                    | Some((JoinKind::Left, false))
                    | Some((JoinKind::Right, true))
                    | Some((JoinKind::Semi | JoinKind::Anti, false)) => FilterTo::Join,
                    _ => FilterTo::Nowhere,
                }
            };
            if filter_to == FilterTo::Nowhere && sub.filter.is_some() {
                return None;
            }
            Some(Found {
                path: path.clone(),
                off,
                nullable,
                filter_to,
            })
        }
        _ => None,
    }
}

/// A merged subquery's outputs, for the references to them.
struct Remap<'a> {
    /// Where its outputs start in the parent's row, and how many.
    off: usize,
    vis: usize,
    /// Its FROM row's width less `vis`: how far the columns after it move.
    delta: isize,
    /// Its output expressions, over its FROM row.
    targets: &'a [Expr],
    /// Under an outer join: an output read above must be a plain column,
    /// which goes NULL with the row (PostgreSQL wraps others in
    /// PlaceHolderVars; tusk leaves such a subquery whole).
    strict_only: bool,
}

/// Shifts this level's columns of `e` by `by` (and references to this
/// level's row from subqueries inside it).
fn shift(e: &mut Expr, by: isize) {
    if by == 0 {
        return;
    }
    e.visit(0, &mut |x, level| match x {
        Expr::Column(c) if level == 0 => *c = (*c as isize + by) as usize,
        Expr::Outer { depth, col } if *depth == level && level > 0 => {
            *col = (*col as isize + by) as usize
        }
        _ => {}
    });
}

/// `e` (over this level's row) moved `levels` query levels down, into
/// a subquery: its columns become outer references. None if it holds a
/// subquery of its own (not worth renumbering).
fn lift(mut e: Expr, levels: usize) -> Option<Expr> {
    if has_sublink(&e) {
        return None;
    }
    e.visit(0, &mut |x, _| match x {
        Expr::Column(c) => {
            *x = Expr::Outer {
                depth: levels,
                col: *c,
            }
        }
        Expr::Outer { depth, .. } => *depth += levels,
        _ => {}
    });
    // The first pass turned columns into outer references of depth
    // `levels`, which the `Outer` arm may then have met: visit calls its
    // callback once per node, before the node's children, and a column
    // has none — so nothing was counted twice.
    Some(e)
}

/// Renumbers `e`, an expression over a row starting at column `base` of
/// the parent's row that holds the merged subquery's outputs: references
/// to them become its output expressions. Returns false when one cannot
/// be placed.
fn remap(e: &mut Expr, base: usize, r: &Remap) -> bool {
    let mut holes: Vec<usize> = Vec::new();
    let mut bad = false;
    e.visit(0, &mut |x, level| {
        let c = match x {
            Expr::Column(c) if level == 0 => c,
            Expr::Outer { depth, col } if *depth == level && level > 0 => col,
            _ => return,
        };
        let a = *c + base;
        if a < r.off {
        } else if a >= r.off + r.vis {
            *c = (*c as isize + r.delta) as usize;
        } else {
            if r.strict_only && !is_strict_column(&r.targets[a - r.off]) {
                bad = true;
            }
            holes.push(a - r.off);
            *x = Expr::Outer {
                depth: HOLE,
                col: holes.len() - 1,
            };
        }
    });
    if holes.is_empty() {
        return true;
    }
    let mut ok = !bad;
    e.visit(0, &mut |x, level| {
        if let Expr::Outer { depth: HOLE, col } = *x {
            let mut t = r.targets[holes[col]].clone();
            shift(&mut t, r.off as isize - base as isize);
            if level > 0 {
                match lift(t, level) {
                    Some(l) => t = l,
                    None => {
                        ok = false;
                        t = Expr::Const(crate::value::Value::Null);
                    }
                }
            }
            *x = t;
        }
    });
    ok
}

/// Renumbers the join conditions on the path to the merged subquery and
/// widens the joins holding it; returns the merged subquery's source
/// put in its place... (done by the caller).
fn remap_path(src: &mut Source, path: &[bool], base: usize, r: &Remap) -> bool {
    let (Source::Join(j), Some((&left, rest))) = (src, path.split_first()) else {
        return true;
    };
    let mut ok = true;
    if let Some(q) = &mut j.qual {
        ok &= remap(q, base, r);
    }
    let lw = j.left_width;
    for (lk, rk) in &mut j.hash_keys {
        ok &= if left {
            remap(lk, base, r)
        } else {
            remap(rk, base + lw, r)
        };
    }
    if left {
        ok &= remap_path(&mut j.left, rest, base, r);
        j.left_width = (j.left_width as isize + r.delta) as usize;
    } else {
        ok &= remap_path(&mut j.right, rest, base + lw, r);
        j.right_width = (j.right_width as isize + r.delta) as usize;
    }
    ok
}

/// The source at `path`, and the column its row starts at.
fn at_path<'s>(src: &'s mut Source, path: &[bool]) -> (&'s mut Source, usize) {
    let mut cur = src;
    let mut base = 0;
    for &left in path {
        let Source::Join(j) = cur else { break };
        if left {
            cur = &mut j.left;
        } else {
            base += j.left_width;
            cur = &mut j.right;
        }
    }
    (cur, base)
}

/// Merges one FROM subquery of `plan` into it; false if none can be.
fn pull_up_one(plan: &mut SelectPlan) -> bool {
    if has_lateral(&plan.source) {
        return false;
    }
    // The subquery's ORDER BY is kept only as the order of a parent that
    // does nothing but filter and project it (PostgreSQL keeps it there).
    let plain_parent = plan.sort.is_empty()
        && plan.aggs.is_none()
        && plan.windows.is_empty()
        && plan.srfs.is_empty()
        && !plan.distinct
        && plan.distinct_on.is_none()
        && plan.targets.len() == plan.visible;
    let Some(found) = find(&plan.source, 0, &mut Vec::new(), false, None, plain_parent) else {
        return false;
    };
    let mut p = plan.clone();
    let (slot, _) = at_path(&mut p.source, &found.path);
    let Source::Subquery(sub) = std::mem::replace(slot, Source::Result) else {
        return false;
    };
    let mut sub = *sub;
    let Some(width) = source_width(&sub.source) else {
        return false;
    };
    // Every expression of the subquery moves one query level up.
    sub.visit_exprs(0, &mut |x, level| {
        if let Expr::Outer { depth, .. } = x {
            if *depth > level {
                *depth -= 1;
            }
        }
    });
    let r = Remap {
        off: found.off,
        vis: sub.visible,
        delta: width as isize - sub.visible as isize,
        targets: &sub.targets,
        strict_only: found.nullable,
    };
    let mut ok = remap_path(&mut p.source, &found.path, 0, &r);
    // The parent's expressions over its FROM row (with aggregation, the
    // select list, HAVING and windows read the aggregate's row instead).
    let aggregated = p.aggs.is_some();
    let mut row_exprs: Vec<&mut Expr> = p
        .filter
        .iter_mut()
        .chain(p.group_exprs.iter_mut())
        .collect();
    for a in p.aggs.iter_mut().flatten() {
        row_exprs.extend(a.exprs_mut());
    }
    if !aggregated {
        row_exprs.extend(p.targets.iter_mut());
        for w in &mut p.windows {
            row_exprs.extend(w.exprs_mut());
        }
        for s in &mut p.srfs {
            match s {
                Source::SetFunc { args, .. } | Source::Function { args, .. } => {
                    row_exprs.extend(args.iter_mut())
                }
                _ => ok = false,
            }
        }
    }
    for e in row_exprs {
        ok &= remap(e, 0, &r);
    }
    for g in &mut p.group_by {
        if *g < r.off {
        } else if *g >= r.off + r.vis {
            *g = (*g as isize + r.delta) as usize;
        } else {
            match &sub.targets[*g - r.off] {
                Expr::Column(c) => *g = c + r.off,
                _ => ok = false,
            }
        }
    }
    if !ok {
        return false;
    }
    // The subquery's WHERE joins the parent's or the join's condition.
    if let Some(mut f) = sub.filter.take() {
        match found.filter_to {
            FilterTo::Top => {
                shift(&mut f, r.off as isize);
                let mut all = conjuncts(Some(f));
                all.extend(conjuncts(p.filter.take()));
                p.filter = and_all(all);
            }
            FilterTo::Join => {
                let (jsrc, jbase) = at_path(&mut p.source, &found.path[..found.path.len() - 1]);
                let Source::Join(j) = jsrc else {
                    return false;
                };
                shift(&mut f, r.off as isize - jbase as isize);
                let mut all = conjuncts(j.qual.take());
                all.extend(conjuncts(Some(f)));
                j.qual = and_all(all);
            }
            FilterTo::Nowhere => return false,
        }
    }
    // Its ORDER BY orders the parent (only when `find` allowed it).
    for k in &sub.sort {
        let mut t = sub.targets[k.col].clone();
        shift(&mut t, r.off as isize);
        p.targets.push(t);
        p.sort.push(SortKey {
            col: p.targets.len() - 1,
            desc: k.desc,
            nulls_first: k.nulls_first,
        });
    }
    let (slot, _) = at_path(&mut p.source, &found.path);
    *slot = sub.source;
    p.merged += 1 + sub.merged;
    *plan = p;
    true
}

// ---------------------------------------------------------------------
// Push-down.

/// Moves the conjuncts of `plan`'s WHERE and of its joins' conditions
/// that read only one FROM subquery's outputs into that subquery.
fn push_down(plan: &mut SelectPlan) {
    let mut conds = conjuncts(plan.filter.take());
    push_tree(&mut plan.source, 0, &mut conds);
    plan.filter = and_all(conds);
}

/// Offers `conds` (over the parent's row) to the subqueries under `src`,
/// whose row starts at column `base`, through the joins whose rows a
/// condition on one input may filter before the join.
fn push_tree(src: &mut Source, base: usize, conds: &mut Vec<Expr>) {
    match src {
        Source::Join(j) => {
            if matches!(j.right, Source::LateralSubquery(_)) {
                return;
            }
            let lw = j.left_width;
            // The join's own condition, as the parent row's columns.
            let mut own = conjuncts(j.qual.take());
            own.iter_mut().for_each(|c| shift(c, base as isize));
            let (to_left, to_right) = match j.kind {
                JoinKind::Inner => (true, true),
                JoinKind::Left | JoinKind::Semi | JoinKind::Anti => (true, false),
                JoinKind::Right => (false, true),
                JoinKind::Full => (false, false),
            };
            // WHERE filters the rows of the preserved side of an outer
            // join; ON filters the nullable side's input.
            let (own_left, own_right) = match j.kind {
                JoinKind::Inner => (true, true),
                JoinKind::Left | JoinKind::Semi | JoinKind::Anti => (false, true),
                JoinKind::Right => (true, false),
                JoinKind::Full => (false, false),
            };
            if to_left {
                push_tree(&mut j.left, base, conds);
            }
            if own_left {
                push_tree(&mut j.left, base, &mut own);
            }
            if to_right {
                push_tree(&mut j.right, base + lw, conds);
            }
            if own_right {
                push_tree(&mut j.right, base + lw, &mut own);
            }
            own.iter_mut().for_each(|c| shift(c, -(base as isize)));
            j.qual = and_all(own);
        }
        Source::SetOp(_) => {
            // Into every member of a set operation, or none: filtering
            // each input filters the union, intersection or difference.
            conds.retain(|c| {
                let mut copy = src.clone();
                if push_members(&mut copy, c, base) {
                    *src = copy;
                    false
                } else {
                    true
                }
            });
        }
        Source::Subquery(sub) => {
            let mut taken = false;
            conds.retain(|c| {
                if push_into(sub, c, base) {
                    taken = true;
                    false
                } else {
                    true
                }
            });
            if taken {
                push_down(sub);
            }
        }
        _ => {}
    }
}

/// Pushes `c` into every member of the set operation `src`; false (and
/// `src` half changed) if one refuses it.
fn push_members(src: &mut Source, c: &Expr, base: usize) -> bool {
    match src {
        Source::SetOp(o) => {
            push_members(&mut o.left, c, base) && push_members(&mut o.right, c, base)
        }
        Source::Subquery(sub) => {
            let pushed = push_into(sub, c, base);
            if pushed {
                push_down(sub);
            }
            pushed
        }
        _ => false,
    }
}

/// Pushes `c` (over the parent's row, `sub`'s outputs from `base`) into
/// `sub` if that is safe; whether it did.
fn push_into(sub: &mut SelectPlan, c: &Expr, base: usize) -> bool {
    let (cols, has_sub) = c.columns_used();
    if has_sub
        || cols.is_empty()
        || has_outer(c)
        || is_volatile(c)
        || cols.iter().any(|&i| i < base || i >= base + sub.visible)
    {
        return false;
    }
    let safe = sub.limit.is_none()
        && sub.offset.is_none()
        && sub.row_locks.is_none()
        && (sub.srfs.is_empty() || sub.aggs.is_none())
        && sub.windows.is_empty()
        && sub.distinct_on.is_none()
        && sub.grouping_sets.is_none()
        && !sub.alias.as_ref().is_some_and(|a| a.barrier)
        && !has_lateral(&sub.source);
    if !safe {
        return false;
    }
    // With set-returning functions in its select list, only a condition
    // on outputs computed before them (over its FROM row) may go below
    // them (PostgreSQL refuses one reading an SRF's output).
    let srf_free = match (sub.srfs.is_empty(), source_width(&sub.source)) {
        (true, _) => usize::MAX,
        (false, Some(w)) => w,
        (false, None) => return false,
    };
    for &i in &cols {
        let t = &sub.targets[i - base];
        if is_volatile(t) || has_sublink(t) || t.columns_used().0.iter().any(|&c| c >= srf_free) {
            return false;
        }
    }
    let mut d = c.clone();
    shift(&mut d, -(base as isize));
    let r = Remap {
        off: 0,
        vis: sub.visible,
        delta: 0,
        targets: &sub.targets,
        strict_only: false,
    };
    if !remap(&mut d, 0, &r) {
        return false;
    }
    if sub.aggs.is_none() {
        let mut all = conjuncts(sub.filter.take());
        all.push(d);
        sub.filter = and_all(all);
        return true;
    }
    // Over the aggregate's row: grouping columns only go to WHERE
    // (PostgreSQL moves such HAVING conditions there), the rest to HAVING.
    // A grouping key is a column of the FROM row, or a GROUP BY
    // expression evaluated over it (numbered after the row's columns).
    let width = source_width(&sub.source);
    let key_exprs: Vec<Option<Expr>> = sub
        .group_by
        .iter()
        .map(|&g| match width {
            Some(w) if g < w => Some(Expr::Column(g)),
            Some(w) => sub.group_exprs.get(g - w).cloned(),
            None => None,
        })
        .collect();
    let mut keys_only = true;
    let mut where_form = d.clone();
    let r = Remap {
        off: 0,
        vis: key_exprs.len(),
        delta: 0,
        targets: &key_exprs
            .iter()
            .map(|k| k.clone().unwrap_or(Expr::Const(crate::value::Value::Null)))
            .collect::<Vec<_>>(),
        strict_only: false,
    };
    let (cols, _) = d.columns_used();
    if cols
        .iter()
        .any(|&k| key_exprs.get(k).is_none_or(|e| e.is_none()))
        || sub.grouping_sets.is_some()
        || !remap(&mut where_form, 0, &r)
        || is_volatile(&where_form)
    {
        keys_only = false;
    }
    if keys_only {
        let mut all = conjuncts(sub.filter.take());
        all.push(where_form);
        sub.filter = and_all(all);
    } else {
        let mut all = conjuncts(sub.having.take());
        all.push(d);
        sub.having = and_all(all);
    }
    true
}
