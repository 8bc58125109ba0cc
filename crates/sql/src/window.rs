//! Window functions: binding `f(...) OVER (PARTITION BY ... ORDER BY ...
//! frame)` and the node that computes them over a query's rows.
//!
//! Why this shape: as in PostgreSQL, window functions run after WHERE,
//! GROUP BY and HAVING and before the select list is projected. The
//! window node reads all its input rows (it must: a partition's last row
//! decides the first row's frame), sorts them per window by partition and
//! ORDER BY keys, and appends one column per window function to each row;
//! the select list reads those columns. Rows come out in the order of the
//! last window's sort, as PostgreSQL's chain of WindowAgg nodes leaves
//! them. Frames are PostgreSQL's: ROWS, RANGE and GROUPS with
//! UNBOUNDED, CURRENT ROW and offset bounds, and EXCLUDE. Aggregates
//! whose frame starts at the partition's start and excludes nothing are
//! accumulated incrementally; others are recomputed per row.
//! Memory: all input rows, no work_mem limit yet. Runs in the backend
//! executing the statement; no shared state.

use std::cmp::Ordering;

use sqlparser::ast;
use sqlparser::tokenizer::{Token, TokenWithSpan};
use tusk_common::{sqlstate, PgError};

use crate::bind::{ident_name, implicit_ok, not_supported, Binder, Bound};
use crate::exec::{agg_final, agg_state, agg_step, sort_cmp, AggState, Node, Row};
use crate::expr::{Ctx, Expr};
use crate::plan::{AggCall, SortKey};
use crate::types::{self, Oid, Ty};
use crate::value::Value;

/// Window results are bound as columns from this index on, and moved to
/// just after the window node's input columns once those are known.
pub(crate) const WINDOW_BASE: usize = 1 << 24;

#[derive(Debug, Clone)]
pub(crate) enum WinFunc {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    Ntile,
    /// lag (false) / lead (true): value, offset, default.
    LagLead(bool),
    FirstValue,
    LastValue,
    NthValue,
    Agg(AggCall),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Bound_ {
    UnboundedPreceding,
    Preceding,
    CurrentRow,
    Following,
    UnboundedFollowing,
}

/// The frame's unit: rows, ORDER BY values, or peer groups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Units {
    Rows,
    Range,
    Groups,
}

/// EXCLUDE: rows taken out of every row's frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Exclude {
    NoOthers,
    CurrentRow,
    Group,
    Ties,
}

#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub units: Units,
    pub exclude: Exclude,
    pub start: Bound_,
    pub start_off: Option<Expr>,
    pub end: Bound_,
    pub end_off: Option<Expr>,
}

/// One window function call over its input row.
#[derive(Debug, Clone)]
pub(crate) struct WindowCall {
    pub func: WinFunc,
    pub args: Vec<Expr>,
    pub partition: Vec<Expr>,
    /// ORDER BY of the window: expression, DESC, NULLS FIRST.
    pub order: Vec<(Expr, bool, bool)>,
    pub frame: Frame,
    /// PARTITION BY then ORDER BY keys, duplicates dropped, as
    /// (expression text, DESC, NULLS FIRST): what PostgreSQL's planner
    /// orders windows by (see [`evaluation_order`]).
    pub sig: Vec<(String, bool, bool)>,
    /// Position of the window definition: a named window's place in
    /// the WINDOW clause, else after all of those in order of appearance.
    pub def_rank: usize,
    /// Place in the order the node computes its windows in.
    pub eval_rank: usize,
}

impl WindowCall {
    pub fn exprs_mut(&mut self) -> impl Iterator<Item = &mut Expr> {
        let agg = match &mut self.func {
            WinFunc::Agg(a) => a.exprs_mut(),
            _ => Vec::new(),
        };
        self.args
            .iter_mut()
            .chain(self.partition.iter_mut())
            .chain(self.order.iter_mut().map(|o| &mut o.0))
            .chain(self.frame.start_off.iter_mut())
            .chain(self.frame.end_off.iter_mut())
            .chain(agg)
    }
}

/// The quote style of the word parse.rs leaves in a window's PARTITION
/// BY list for its EXCLUDE clause (sqlparser has no grammar for EXCLUDE;
/// a backquote never quotes a PostgreSQL identifier).
pub(crate) const EXCLUDE_MARK: char = '`';

/// The EXCLUDE clause a PARTITION BY item stands for, if it is one.
fn exclusion_marker(e: &ast::Expr) -> Option<Exclude> {
    match e {
        ast::Expr::Identifier(id) if id.quote_style == Some(EXCLUDE_MARK) => {
            Some(match id.value.as_str() {
                "current row" => Exclude::CurrentRow,
                "group" => Exclude::Group,
                "ties" => Exclude::Ties,
                _ => Exclude::NoOthers,
            })
        }
        _ => None,
    }
}

fn win_err(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::SqlState::new("42P20"), msg) // windowing_error
}

impl Binder<'_> {
    /// `name(args) OVER (...)`: bound over the window node's input row
    /// (the FROM row, or the aggregate's row in a grouped query); the
    /// result is a column the node appends.
    pub(crate) fn window_function(
        &mut self,
        name: &str,
        f: &ast::Function,
        args: &[&ast::FunctionArg],
    ) -> Result<Bound, PgError> {
        match self.aggs_allowed {
            Some("select list") | Some("ORDER BY") => {}
            Some(ctx) => {
                return Err(win_err(format!(
                    "window functions are not allowed in {ctx}"
                )))
            }
            None => return Err(win_err("window functions are not allowed here")),
        }
        if self.in_window {
            return Err(win_err("window function calls cannot be nested"));
        }
        if self.in_agg {
            return Err(PgError::error(
                sqlstate::GROUPING_ERROR,
                "aggregate function calls cannot contain window function calls",
            ));
        }
        if f.filter.is_some() || !f.within_group.is_empty() || f.null_treatment.is_some() {
            return Err(not_supported(format!(
                "FILTER and WITHIN GROUP on {name}()"
            )));
        }
        let spec = match f.over.as_ref().expect("caller checked") {
            ast::WindowType::WindowSpec(s) => s.clone(),
            ast::WindowType::NamedWindow(n) => {
                let n = ident_name(n);
                match self.named_windows.iter().find(|(w, _)| *w == n) {
                    Some((_, s)) => s.clone(),
                    None => return Err(win_err(format!("window \"{n}\" does not exist"))),
                }
            }
        };
        let spec = self.resolve_window_ref(spec)?;
        self.in_window = true;
        let r = self.window_call(name, &spec, args);
        self.in_window = false;
        let (call, ty) = r?;
        self.windows.push(call);
        Ok(Bound::new(
            Expr::Column(WINDOW_BASE + self.windows.len() - 1),
            ty,
        ))
    }

    /// `OVER (w ORDER BY ...)`: the named window's PARTITION BY (and
    /// ORDER BY when this one has none) with this one's frame.
    fn resolve_window_ref(&self, mut spec: ast::WindowSpec) -> Result<ast::WindowSpec, PgError> {
        if let Some(n) = spec.window_name.take() {
            let n = ident_name(&n);
            let Some((_, base)) = self.named_windows.iter().find(|(w, _)| *w == n) else {
                return Err(win_err(format!("window \"{n}\" does not exist")));
            };
            if spec
                .partition_by
                .iter()
                .any(|e| exclusion_marker(e).is_none())
            {
                return Err(win_err(format!(
                    "cannot override PARTITION BY clause of window \"{n}\""
                )));
            }
            if !spec.order_by.is_empty() && !base.order_by.is_empty() {
                return Err(win_err(format!(
                    "cannot override ORDER BY clause of window \"{n}\""
                )));
            }
            if base.window_frame.is_some() {
                return Err(win_err(format!(
                    "cannot copy window \"{n}\" because it has a frame clause"
                )));
            }
            // This definition's EXCLUDE (its only PARTITION BY items)
            // after the base's keys.
            let mine = std::mem::replace(&mut spec.partition_by, base.partition_by.clone());
            spec.partition_by.extend(mine);
            if spec.order_by.is_empty() {
                spec.order_by = base.order_by.clone();
            }
        }
        Ok(spec)
    }

    fn window_call(
        &mut self,
        name: &str,
        spec: &ast::WindowSpec,
        args: &[&ast::FunctionArg],
    ) -> Result<(WindowCall, Ty), PgError> {
        let mut partition = Vec::new();
        let mut exclude = Exclude::NoOthers;
        for e in &spec.partition_by {
            if let Some(x) = exclusion_marker(e) {
                exclude = x;
                continue;
            }
            let b = self.bind_expr(e)?;
            let b = if b.is_unknown() {
                self.coerce(b, Ty::new(types::TEXT))?
            } else {
                b
            };
            partition.push(b.e);
        }
        let mut order = Vec::new();
        let mut order_tys = Vec::new();
        for o in &spec.order_by {
            let b = self.bind_expr(&o.expr)?;
            let b = if b.is_unknown() {
                self.coerce(b, Ty::new(types::TEXT))?
            } else {
                b
            };
            order_tys.push(b.ty.oid);
            let desc = matches!(o.options.sort, Some(ast::OrderBySort::Desc));
            order.push((b.e, desc, o.options.nulls_first.unwrap_or(desc)));
        }
        let frame = self.frame(spec.window_frame.as_ref(), &order_tys, exclude)?;
        let mut sig: Vec<(String, bool, bool)> = Vec::new();
        let keys = spec
            .partition_by
            .iter()
            .filter(|e| exclusion_marker(e).is_none())
            .map(|e| (e, false, false))
            .chain(spec.order_by.iter().map(|o| {
                let desc = matches!(o.options.sort, Some(ast::OrderBySort::Desc));
                (&o.expr, desc, o.options.nulls_first.unwrap_or(desc))
            }));
        for (e, desc, nf) in keys {
            let k = (e.to_string(), desc, nf);
            if !sig.contains(&k) {
                sig.push(k);
            }
        }
        let def_rank = self.window_def_rank(spec);
        let exprs: Vec<&ast::Expr> = args
            .iter()
            .filter_map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect();
        let star = args.len() != exprs.len();
        let mut bound = Vec::new();
        for e in &exprs {
            bound.push(self.bind_expr(e)?);
        }
        let nargs = args.len();
        let no_fn = |b: &[Bound]| {
            let tys: Vec<String> = b.iter().map(|x| types::sql_name(x.ty.oid)).collect();
            PgError::error(
                sqlstate::UNDEFINED_FUNCTION,
                format!("function {name}({}) does not exist", tys.join(", ")),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
        };
        let mk = |func, args: Vec<Expr>| WindowCall {
            func,
            args,
            partition: partition.clone(),
            order: order.clone(),
            frame: frame.clone(),
            sig: sig.clone(),
            def_rank,
            eval_rank: 0,
        };
        Ok(match name {
            "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" => {
                if nargs != 0 {
                    return Err(no_fn(&bound));
                }
                let (func, ty) = match name {
                    "row_number" => (WinFunc::RowNumber, types::INT8),
                    "rank" => (WinFunc::Rank, types::INT8),
                    "dense_rank" => (WinFunc::DenseRank, types::INT8),
                    "percent_rank" => (WinFunc::PercentRank, types::FLOAT8),
                    _ => (WinFunc::CumeDist, types::FLOAT8),
                };
                (mk(func, vec![]), Ty::new(ty))
            }
            "ntile" => {
                if star || bound.len() != 1 {
                    return Err(no_fn(&bound));
                }
                let b = bound.pop().expect("one");
                let b = self.coerce(b, Ty::new(types::INT4))?;
                (mk(WinFunc::Ntile, vec![b.e]), Ty::new(types::INT4))
            }
            "lag" | "lead" | "first_value" | "last_value" | "nth_value" => {
                if star || bound.is_empty() {
                    return Err(no_fn(&bound));
                }
                let mut it = bound.into_iter();
                let mut v = it.next().expect("non-empty");
                let rest: Vec<Bound> = it.collect();
                let simple = matches!(name, "first_value" | "last_value");
                if (simple && !rest.is_empty())
                    || (name == "nth_value" && rest.len() != 1)
                    || rest.len() > 2
                {
                    let mut all = vec![v];
                    all.extend(rest);
                    return Err(no_fn(&all));
                }
                let mut rest = rest.into_iter();
                let mut args = Vec::new();
                if let Some(off) = rest.next() {
                    // The offset (lag/lead) or position (nth_value) is int4.
                    args.push(self.coerce(off, Ty::new(types::INT4))?.e);
                }
                if let Some(d) = rest.next() {
                    // lag(anycompatible, int, anycompatible): the value
                    // and the default meet in their common type.
                    let mut both = self.unify(vec![v, d], name)?;
                    let d = both.pop().expect("two");
                    v = both.pop().expect("two");
                    if v.is_unknown() {
                        v = self.coerce(v, Ty::new(types::TEXT))?;
                    }
                    args.push(self.coerce(d, v.ty)?.e);
                } else if v.is_unknown() {
                    v = self.coerce(v, Ty::new(types::TEXT))?;
                }
                let ty = v.ty;
                args.insert(0, v.e);
                let func = match name {
                    "lag" => WinFunc::LagLead(false),
                    "lead" => WinFunc::LagLead(true),
                    "first_value" => WinFunc::FirstValue,
                    "last_value" => WinFunc::LastValue,
                    _ => WinFunc::NthValue,
                };
                (mk(func, args), ty)
            }
            _ => {
                return Err(PgError::error(
                    sqlstate::SqlState::new("42809"), // wrong_object_type
                    format!("OVER specified, but {name} is not a window function nor an aggregate function"),
                ));
            }
        })
    }

    /// An aggregate with OVER: the aggregate's own binding, its argument
    /// read from the window node's input row, and kept out of the
    /// query's aggregates.
    pub(crate) fn window_aggregate(
        &mut self,
        f: &ast::Function,
        bind: impl FnOnce(&mut Self) -> Result<Bound, PgError>,
    ) -> Result<Bound, PgError> {
        match self.aggs_allowed {
            Some("select list") | Some("ORDER BY") => {}
            Some(ctx) => {
                return Err(win_err(format!(
                    "window functions are not allowed in {ctx}"
                )))
            }
            None => return Err(win_err("window functions are not allowed here")),
        }
        if self.in_window {
            return Err(win_err("window function calls cannot be nested"));
        }
        let spec = match f.over.as_ref().expect("caller checked") {
            ast::WindowType::WindowSpec(s) => s.clone(),
            ast::WindowType::NamedWindow(n) => {
                let n = ident_name(n);
                match self.named_windows.iter().find(|(w, _)| *w == n) {
                    Some((_, s)) => s.clone(),
                    None => return Err(win_err(format!("window \"{n}\" does not exist"))),
                }
            }
        };
        let spec = self.resolve_window_ref(spec)?;
        // Bind the call as an aggregate of this level, then take it back:
        // its argument is over the same row as the select list's.
        // (Aggregates inside its argument are the query's own: they were
        // pushed before it.)
        self.in_window = true;
        self.window_arg = true;
        let r = bind(self);
        self.window_arg = false;
        let agg = if r.is_ok() { self.aggs.pop() } else { None };
        let r = r.and_then(|b| {
            let (mut call, _) = self.window_call("row_number", &spec, &[])?;
            call.func = WinFunc::Agg(agg.expect("the aggregate was bound"));
            Ok((call, b.ty))
        });
        self.in_window = false;
        let (call, ty) = r?;
        self.windows.push(call);
        Ok(Bound::new(
            Expr::Column(WINDOW_BASE + self.windows.len() - 1),
            ty,
        ))
    }

    /// The frame clause: units, bounds with their offsets bound and
    /// typed, EXCLUDE. `order`: the window's ORDER BY keys' types.
    fn frame(
        &mut self,
        f: Option<&ast::WindowFrame>,
        order: &[Oid],
        exclude: Exclude,
    ) -> Result<Frame, PgError> {
        let Some(f) = f else {
            return Ok(Frame {
                units: Units::Range,
                exclude,
                start: Bound_::UnboundedPreceding,
                start_off: None,
                end: Bound_::CurrentRow,
                end_off: None,
            });
        };
        let units = match f.units {
            ast::WindowFrameUnits::Rows => Units::Rows,
            ast::WindowFrameUnits::Range => Units::Range,
            ast::WindowFrameUnits::Groups => Units::Groups,
        };
        if units == Units::Groups && order.is_empty() {
            return Err(win_err("GROUPS mode requires an ORDER BY clause"));
        }
        let mut bound = |b: &ast::WindowFrameBound| -> Result<(Bound_, Option<Expr>), PgError> {
            Ok(match b {
                ast::WindowFrameBound::CurrentRow => (Bound_::CurrentRow, None),
                ast::WindowFrameBound::Preceding(None) => (Bound_::UnboundedPreceding, None),
                ast::WindowFrameBound::Following(None) => (Bound_::UnboundedFollowing, None),
                ast::WindowFrameBound::Preceding(Some(e))
                | ast::WindowFrameBound::Following(Some(e)) => {
                    let kind = if matches!(b, ast::WindowFrameBound::Preceding(_)) {
                        Bound_::Preceding
                    } else {
                        Bound_::Following
                    };
                    (kind, Some(self.frame_offset(e, units, order)?))
                }
            })
        };
        let (start, start_off) = bound(&f.start_bound)?;
        let (end, end_off) = match &f.end_bound {
            Some(b) => bound(b)?,
            None => (Bound_::CurrentRow, None),
        };
        if start == Bound_::UnboundedFollowing {
            return Err(win_err("frame start cannot be UNBOUNDED FOLLOWING"));
        }
        if end == Bound_::UnboundedPreceding {
            return Err(win_err("frame end cannot be UNBOUNDED PRECEDING"));
        }
        if start == Bound_::CurrentRow && end == Bound_::Preceding {
            return Err(win_err(
                "frame starting from current row cannot have preceding rows",
            ));
        }
        if start == Bound_::Following && matches!(end, Bound_::Preceding | Bound_::CurrentRow) {
            return Err(win_err(
                "frame starting from following row cannot have preceding rows",
            ));
        }
        Ok(Frame {
            units,
            exclude,
            start,
            start_off,
            end,
            end_off,
        })
    }

    /// A PRECEDING/FOLLOWING offset: free of the row's columns, a bigint
    /// for ROWS and GROUPS, for RANGE the offset type of the ORDER BY
    /// column's in_range support (PostgreSQL's transformFrameOffset: the
    /// offset's own type if supported, else the one type it converts to
    /// implicitly).
    fn frame_offset(
        &mut self,
        e: &ast::Expr,
        units: Units,
        order: &[Oid],
    ) -> Result<Expr, PgError> {
        let what = match units {
            Units::Rows => "ROWS",
            Units::Range => "RANGE",
            Units::Groups => "GROUPS",
        };
        let mut v = self.bind_expr(e)?;
        let mut has_var = false;
        v.e.visit(0, &mut |x, level| {
            if matches!(x, Expr::Column(_)) && level == 0 {
                has_var = true;
            }
        });
        if has_var {
            let mut err = PgError::error(
                sqlstate::SqlState::new("42P10"), // invalid_column_reference
                format!("argument of {what} must not contain variables"),
            );
            err.position = self.expr_at(e);
            return Err(err);
        }
        if units != Units::Range {
            return Ok(self.coerce(v, Ty::new(types::INT8))?.e);
        }
        if order.len() != 1 {
            return Err(win_err(
                "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column",
            ));
        }
        let col = order[0];
        let candidates: &[Oid] = match col {
            types::INT2 | types::INT4 => &[types::INT8, types::INT4, types::INT2],
            types::INT8 => &[types::INT8],
            types::FLOAT4 | types::FLOAT8 => &[types::FLOAT8],
            types::NUMERIC => &[types::NUMERIC],
            types::DATE
            | types::TIMESTAMP
            | types::TIMESTAMPTZ
            | types::TIME
            | types::TIMETZ
            | types::INTERVAL => &[types::INTERVAL],
            _ => &[],
        };
        let at = self.expr_at(e);
        if candidates.is_empty() {
            let mut err = PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "RANGE with offset PRECEDING/FOLLOWING is not supported for column type {}",
                    types::sql_name(col)
                ),
            );
            err.position = at;
            return Err(err);
        }
        let from = v.ty.oid;
        let preferred = if from == types::UNKNOWN { col } else { from };
        let ok: Vec<Oid> = candidates
            .iter()
            .copied()
            .filter(|&c| c == from || from == types::UNKNOWN || implicit_ok(from, c))
            .collect();
        let chosen = if ok.contains(&preferred) {
            Some(preferred)
        } else if ok.len() == 1 {
            Some(ok[0])
        } else {
            None
        };
        let Some(to) = chosen else {
            let mut err = PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "RANGE with offset PRECEDING/FOLLOWING is not supported for column type {} and offset type {}",
                    types::sql_name(col),
                    types::sql_name(from)
                ),
            )
            .with_hint("Cast the offset value to an appropriate type.");
            err.position = at;
            return Err(err);
        };
        Ok(self.coerce(v, Ty::new(to))?.e)
    }
}

impl Binder<'_> {
    /// Where PostgreSQL's list of window clauses has this definition: a
    /// WINDOW clause entry's position, or after those, in order of first
    /// appearance (identical inline definitions share one clause).
    fn window_def_rank(&mut self, spec: &ast::WindowSpec) -> usize {
        if let Some(i) = self.named_windows.iter().position(|(_, s)| s == spec) {
            return i;
        }
        let key = spec.to_string();
        let pos = match self.inline_windows.iter().position(|k| *k == key) {
            Some(p) => p,
            None => {
                self.inline_windows.push(key);
                self.inline_windows.len() - 1
            }
        };
        self.named_windows.len() + pos
    }
}

/// A window key as the planner compares it: sort-group reference,
/// DESC, NULLS FIRST.
type KeyRef = (usize, bool, bool);

/// The order PostgreSQL's planner computes a query's windows in
/// (select_active_windows): window clauses sorted, with PostgreSQL's
/// quicksort, by their keys' sort-group references (numbered in order of
/// first use by ORDER BY, GROUP BY, then the windows: higher first), then
/// DESC before ASC, NULLS FIRST before LAST, a longer key list before its
/// prefix; clauses with the same PARTITION BY and ORDER BY kept together.
/// The last window computed decides the order rows come out in, which a
/// query without ORDER BY shows. `base`: the expressions of the query's
/// ORDER BY and GROUP BY as text. Sets each call's `eval_rank`.
pub(crate) fn set_evaluation_order(calls: &mut [WindowCall], base: &[String]) {
    let mut refs: Vec<String> = Vec::new();
    for b in base {
        if !refs.contains(b) {
            refs.push(b.clone());
        }
    }
    // One clause per definition, in definition order.
    let mut defs: Vec<usize> = calls.iter().map(|c| c.def_rank).collect();
    defs.sort_unstable();
    defs.dedup();
    let first_call = |d: usize| calls.iter().position(|c| c.def_rank == d).expect("a call");
    for &d in &defs {
        for (k, _, _) in &calls[first_call(d)].sig {
            if !refs.contains(k) {
                refs.push(k.clone());
            }
        }
    }
    let keyed = |d: usize| -> Vec<KeyRef> {
        calls[first_call(d)]
            .sig
            .iter()
            .map(|(k, desc, nf)| (refs.iter().position(|r| r == k).unwrap_or(0), *desc, *nf))
            .collect()
    };
    let mut clauses: Vec<(usize, Vec<KeyRef>)> = defs.iter().map(|&d| (d, keyed(d))).collect();
    crate::pgsort::sort_by(&mut clauses, |a, b| {
        for (x, y) in a.1.iter().zip(&b.1) {
            let o = y.0.cmp(&x.0).then(y.1.cmp(&x.1)).then(y.2.cmp(&x.2));
            if o != Ordering::Equal {
                return o;
            }
        }
        b.1.len().cmp(&a.1.len())
    });
    // Keep clauses with the same keys adjacent, after the first of them.
    let mut done = vec![false; clauses.len()];
    let mut order: Vec<usize> = Vec::new();
    for i in 0..clauses.len() {
        if done[i] {
            continue;
        }
        done[i] = true;
        order.push(clauses[i].0);
        for j in i + 1..clauses.len() {
            if !done[j] && clauses[j].1 == clauses[i].1 {
                done[j] = true;
                order.push(clauses[j].0);
            }
        }
    }
    let mut rank = 0;
    for d in order {
        for c in calls.iter_mut().filter(|c| c.def_rank == d) {
            c.eval_rank = rank;
            rank += 1;
        }
    }
}

/// The query's ORDER BY then GROUP BY expressions as text, select-list
/// positions and output names replaced by their expressions: the first
/// sort-group references PostgreSQL hands out, before the windows'.
pub(crate) fn sort_group_exprs(
    select: &ast::Select,
    order_by: Option<&ast::OrderBy>,
) -> Vec<String> {
    let item = |e: &ast::Expr| -> String {
        let by_pos = match e {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => n
                    .parse::<usize>()
                    .ok()
                    .and_then(|p| select.projection.get(p.wrapping_sub(1))),
                _ => None,
            },
            ast::Expr::Identifier(id) => select.projection.iter().find(|p| {
                matches!(p, ast::SelectItem::ExprWithAlias { alias, .. } if ident_name(alias) == ident_name(id))
            }),
            _ => None,
        };
        match by_pos {
            Some(ast::SelectItem::UnnamedExpr(x))
            | Some(ast::SelectItem::ExprWithAlias { expr: x, .. }) => x.to_string(),
            _ => e.to_string(),
        }
    };
    let mut out = Vec::new();
    if let Some(ast::OrderByKind::Expressions(v)) = order_by.map(|o| &o.kind) {
        out.extend(v.iter().map(|o| item(&o.expr)));
    }
    if let ast::GroupByExpr::Expressions(v, _) = &select.group_by {
        out.extend(v.iter().map(item));
    }
    out
}

/// Move window results from [`WINDOW_BASE`] to just after the window
/// node's `input_width` input columns (only this query level's).
pub(crate) fn place_window_columns(e: &mut Expr, input_width: usize) {
    e.visit(0, &mut |x, level| {
        if let (Expr::Column(c), 0) = (&mut *x, level) {
            if *c >= WINDOW_BASE {
                *c = input_width + (*c - WINDOW_BASE);
            }
        }
    });
}

/// Computes every window function over all its input rows, then hands
/// the rows out with the results appended.
pub(crate) struct WindowNode {
    pub input: Box<dyn Node>,
    pub calls: Vec<WindowCall>,
    pub out: Option<std::vec::IntoIter<Row>>,
}

impl Node for WindowNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        if self.out.is_none() {
            let mut rows = Vec::new();
            while let Some(r) = self.input.next(cx)? {
                rows.push(r);
                if rows.len().is_multiple_of(1024) {
                    cx.host.check_interrupts()?;
                }
            }
            self.input.close();
            let mut results: Vec<Vec<Value>> =
                vec![vec![Value::Null; self.calls.len()]; rows.len()];
            let mut order: Vec<usize> = (0..rows.len()).collect();
            let mut by_rank: Vec<usize> = (0..self.calls.len()).collect();
            by_rank.sort_by_key(|&c| self.calls[c].eval_rank);
            // Each window sorts the previous one's output, as PostgreSQL's
            // chain of Sort and WindowAgg nodes does: ties keep that order's
            // quicksort outcome (an order the previous sort already
            // satisfies is left as it is by the sort's presorted check).
            for c in by_rank {
                order = compute(&self.calls[c], c, &rows, &order, &mut results, cx)?;
            }
            let mut rows: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
            let mut out = Vec::with_capacity(rows.len());
            for i in order {
                let mut r = rows[i].take().expect("each row once");
                r.append(&mut results[i]);
                out.push(r);
            }
            self.out = Some(out.into_iter());
        }
        Ok(self.out.as_mut().and_then(Iterator::next))
    }
    fn close(&mut self) {
        self.input.close();
        self.out = Some(Vec::new().into_iter());
    }
}

/// A ROWS or GROUPS offset, evaluated once per window (it has no
/// variables): a non-negative count.
fn count_offset(e: &Option<Expr>, start: bool, cx: &mut Ctx<'_>) -> Result<i64, PgError> {
    let Some(e) = e else { return Ok(0) };
    let which = if start { "starting" } else { "ending" };
    match e.eval(&[], cx)? {
        Value::Int8(n) if n >= 0 => Ok(n),
        Value::Null => Err(PgError::error(
            sqlstate::SqlState::new("22004"), // null_value_not_allowed
            format!("frame {which} offset must not be null"),
        )),
        _ => Err(PgError::error(
            sqlstate::SqlState::new("22013"), // invalid_preceding_or_following_size
            format!("frame {which} offset must not be negative"),
        )),
    }
}

/// A RANGE offset, evaluated once per window: any non-null value of
/// the in_range type (its sign is checked where it is used, as
/// PostgreSQL's in_range functions do).
fn range_offset(e: &Option<Expr>, start: bool, cx: &mut Ctx<'_>) -> Result<Value, PgError> {
    let Some(e) = e else { return Ok(Value::Null) };
    match e.eval(&[], cx)? {
        Value::Null => Err(PgError::error(
            sqlstate::SqlState::new("22004"),
            format!(
                "frame {} offset must not be null",
                if start { "starting" } else { "ending" }
            ),
        )),
        v => Ok(v),
    }
}

fn bad_size() -> PgError {
    PgError::error(
        sqlstate::SqlState::new("22013"), // invalid_preceding_or_following_size
        "invalid preceding or following size in window function",
    )
}

/// PostgreSQL's in_range support: is `val` <= (`less`) or >= `base`
/// minus (`sub`) or plus `off`? Infinities and NaN as its float and
/// numeric versions treat them; integers without overflow; times of day
/// without wrapping around midnight.
fn in_range(
    val: &Value,
    base: &Value,
    off: &Value,
    sub: bool,
    less: bool,
) -> Result<bool, PgError> {
    let test = |o: Ordering| {
        if less {
            o != Ordering::Greater
        } else {
            o != Ordering::Less
        }
    };
    let int = |v: &Value| -> Option<i128> {
        match v {
            Value::Int2(x) => Some(*x as i128),
            Value::Int4(x) => Some(*x as i128),
            Value::Int8(x) => Some(*x as i128),
            _ => None,
        }
    };
    let float = |v: &Value| -> Option<f64> {
        match v {
            Value::Float4(x) => Some(*x as f64),
            Value::Float8(x) => Some(*x),
            _ => None,
        }
    };
    if let (Some(v), Some(b), Some(o)) = (int(val), int(base), int(off)) {
        if o < 0 {
            return Err(bad_size());
        }
        let sum = if sub { b - o } else { b + o };
        return Ok(test(v.cmp(&sum)));
    }
    if let (Some(v), Some(b), Some(o)) = (float(val), float(base), float(off)) {
        if o.is_nan() || o < 0.0 {
            return Err(bad_size());
        }
        if v.is_nan() {
            return Ok(b.is_nan() || !less);
        }
        if b.is_nan() {
            return Ok(less);
        }
        // +inf infinitely precedes +inf (and -inf follows -inf): every
        // value is in such a frame.
        if o.is_infinite() && b.is_infinite() && (if sub { b > 0.0 } else { b < 0.0 }) {
            return Ok(true);
        }
        let sum = if sub { b - o } else { b + o };
        return Ok(if less { v <= sum } else { v >= sum });
    }
    match (val, base, off) {
        (Value::Numeric(v), Value::Numeric(b), Value::Numeric(o)) => {
            if o.is_nan() || (o.is_negative() && !o.is_zero()) {
                return Err(bad_size());
            }
            if v.is_nan() {
                return Ok(b.is_nan() || !less);
            }
            if b.is_nan() {
                return Ok(less);
            }
            if !o.is_finite()
                && !b.is_finite()
                && (if sub {
                    !b.is_negative()
                } else {
                    b.is_negative()
                })
            {
                return Ok(true);
            }
            let sum = if sub { b.sub(o)? } else { b.add(o)? };
            Ok(test(v.cmp_total(&sum)))
        }
        (_, _, Value::Interval(o)) => {
            if o.span() < 0 {
                return Err(bad_size());
            }
            let signed = if sub {
                o.checked_neg().ok_or_else(bad_size)?
            } else {
                *o
            };
            let as_ts = |v: &Value| -> Result<Option<i64>, PgError> {
                Ok(match v {
                    Value::Timestamp(t) | Value::TimestampTz(t) => Some(*t),
                    Value::Date(d) => {
                        Some(tusk_types::datetime::date_to_timestamp(*d).ok_or_else(|| {
                            PgError::error(
                                sqlstate::DATETIME_FIELD_OVERFLOW,
                                "date out of range for timestamp",
                            )
                        })?)
                    }
                    _ => None,
                })
            };
            match (val, base) {
                (Value::Interval(v), Value::Interval(b)) => {
                    let sum = b.checked_add(&signed).ok_or_else(|| {
                        PgError::error(sqlstate::DATETIME_FIELD_OVERFLOW, "interval out of range")
                    })?;
                    Ok(test(tusk_types::interval::compare(v, &sum)))
                }
                (Value::Time(v), Value::Time(b)) => {
                    let sum = *b as i128 + signed.micros as i128;
                    Ok(test((*v as i128).cmp(&sum)))
                }
                (Value::TimeTz(v), Value::TimeTz(b)) => {
                    let sum = Value::TimeTz(tusk_types::timeofday::TimeTz {
                        micros: b.micros + signed.micros,
                        zone: b.zone,
                    });
                    Ok(test(crate::value::compare(&Value::TimeTz(*v), &sum)))
                }
                _ => {
                    let (Some(v), Some(b)) = (as_ts(val)?, as_ts(base)?) else {
                        return Ok(false);
                    };
                    let sum = if matches!(base, Value::TimestampTz(_)) {
                        crate::dtops::tstz_plus_interval(b, &signed)?
                    } else {
                        crate::dtops::ts_plus_interval(b, &signed)?
                    };
                    Ok(test(v.cmp(&sum)))
                }
            }
        }
        _ => Ok(false),
    }
}

/// One window function over all rows (in `input_order`, the previous
/// window's output order): stores its value in each row's `results` at
/// `slot`; returns the rows' order after this window's sort.
fn compute(
    call: &WindowCall,
    slot: usize,
    rows: &[Row],
    input_order: &[usize],
    results: &mut [Vec<Value>],
    cx: &mut Ctx<'_>,
) -> Result<Vec<usize>, PgError> {
    // Sort keys: partition columns, then the window's ORDER BY.
    let np = call.partition.len();
    let mut keyed: Vec<(usize, Vec<Value>)> = Vec::with_capacity(rows.len());
    for &i in input_order {
        let r = &rows[i];
        let mut k = Vec::with_capacity(np + call.order.len());
        for e in &call.partition {
            k.push(e.eval(r, cx)?);
        }
        for (e, _, _) in &call.order {
            k.push(e.eval(r, cx)?);
        }
        keyed.push((i, k));
    }
    let mut keys: Vec<SortKey> = (0..np)
        .map(|col| SortKey {
            col,
            desc: false,
            nulls_first: false,
        })
        .collect();
    keys.extend(
        call.order
            .iter()
            .enumerate()
            .map(|(j, (_, desc, nf))| SortKey {
                col: np + j,
                desc: *desc,
                nulls_first: *nf,
            }),
    );
    crate::pgsort::sort_by(&mut keyed, |a, b| sort_cmp(&a.1, &b.1, &keys));
    let part_keys = &keys[..np];
    let same = |a: &[Value], b: &[Value], ks: &[SortKey]| sort_cmp(a, b, ks) == Ordering::Equal;
    let f = &call.frame;
    let offsets = if f.units == Units::Range {
        Offsets::Range(
            range_offset(&f.start_off, true, cx)?,
            range_offset(&f.end_off, false, cx)?,
        )
    } else {
        Offsets::Count(
            count_offset(&f.start_off, true, cx)?,
            count_offset(&f.end_off, false, cx)?,
        )
    };
    let mut p0 = 0;
    while p0 < keyed.len() {
        let mut p1 = p0 + 1;
        while p1 < keyed.len() && same(&keyed[p0].1, &keyed[p1].1, part_keys) {
            p1 += 1;
        }
        partition(
            call,
            slot,
            rows,
            &keyed[p0..p1],
            &keys,
            results,
            &offsets,
            cx,
        )?;
        p0 = p1;
    }
    Ok(keyed.into_iter().map(|(i, _)| i).collect())
}

/// A window's evaluated frame offsets.
enum Offsets {
    Count(i64, i64),
    Range(Value, Value),
}

/// Where each row's frame lies in its partition, by PostgreSQL's rules
/// for each unit. Rows `k` of a partition sorted by the window.
struct Framer<'a> {
    frame: &'a Frame,
    n: usize,
    peer_start: Vec<usize>,
    peer_end: Vec<usize>,
    /// Per row, its peer group's number (0-based); per group, its rows.
    group_of: Vec<usize>,
    groups: Vec<(usize, usize)>,
}

impl Framer<'_> {
    /// The frame of row `k` as [s, e] (empty when s > e), before EXCLUDE.
    fn bounds(
        &self,
        k: usize,
        part: &[(usize, Vec<Value>)],
        ord: Option<(usize, bool, bool)>,
        offsets: &Offsets,
    ) -> Result<(i64, i64), PgError> {
        let f = self.frame;
        let n = self.n as i64;
        let k_ = k as i64;
        let (so, eo) = match offsets {
            Offsets::Count(s, e) => (*s, *e),
            Offsets::Range(..) => (0, 0),
        };
        let g = self.group_of[k] as i64;
        let ng = self.groups.len() as i64;
        let group_first = |x: i64| -> i64 {
            if x < 0 {
                0
            } else if x >= ng {
                n
            } else {
                self.groups[x as usize].0 as i64
            }
        };
        let group_last = |x: i64| -> i64 {
            if x < 0 {
                -1
            } else if x >= ng {
                n - 1
            } else {
                self.groups[x as usize].1 as i64
            }
        };
        let s = match (f.start, f.units) {
            (Bound_::UnboundedPreceding, _) => 0,
            (Bound_::UnboundedFollowing, _) => n,
            (Bound_::CurrentRow, Units::Rows) => k_,
            (Bound_::CurrentRow, _) => self.peer_start[k] as i64,
            (Bound_::Preceding, Units::Rows) => k_ - so,
            (Bound_::Following, Units::Rows) => k_ + so,
            (Bound_::Preceding, Units::Groups) => group_first(g - so),
            (Bound_::Following, Units::Groups) => group_first(g + so),
            (b, Units::Range) => {
                let Offsets::Range(off, _) = offsets else {
                    unreachable!("range offsets")
                };
                self.range_edge(k, part, ord, off, b == Bound_::Preceding, true)?
            }
        };
        let e = match (f.end, f.units) {
            (Bound_::UnboundedFollowing, _) => n - 1,
            (Bound_::UnboundedPreceding, _) => -1,
            (Bound_::CurrentRow, Units::Rows) => k_,
            (Bound_::CurrentRow, _) => self.peer_end[k] as i64,
            (Bound_::Following, Units::Rows) => k_ + eo,
            (Bound_::Preceding, Units::Rows) => k_ - eo,
            (Bound_::Following, Units::Groups) => group_last(g + eo),
            (Bound_::Preceding, Units::Groups) => group_last(g - eo),
            (b, Units::Range) => {
                let Offsets::Range(_, off) = offsets else {
                    unreachable!("range offsets")
                };
                self.range_edge(k, part, ord, off, b == Bound_::Preceding, false)?
            }
        };
        Ok((s.max(0), e.min(n - 1)))
    }

    /// A RANGE offset bound of row `k`: the first row (`head`) or the
    /// last row (not `head`) whose ORDER BY value is within `off` of the
    /// row's, preceding (`pre`) or following it in the sort order. A row
    /// whose value is NULL has its NULL peers as frame; NULLs are no
    /// other row's.
    fn range_edge(
        &self,
        k: usize,
        part: &[(usize, Vec<Value>)],
        ord: Option<(usize, bool, bool)>,
        off: &Value,
        pre: bool,
        head: bool,
    ) -> Result<i64, PgError> {
        let Some((col, desc, nulls_first)) = ord else {
            return Ok(if head {
                self.peer_start[k] as i64
            } else {
                self.peer_end[k] as i64
            });
        };
        let base = &part[k].1[col];
        if base.is_null() {
            return Ok(if head {
                self.peer_start[k] as i64
            } else {
                self.peer_end[k] as i64
            });
        }
        // The non-NULL rows, a sorted run.
        let n = self.n;
        let nulls = part.iter().filter(|r| r.1[col].is_null()).count();
        let (lo, hi) = if nulls_first {
            (nulls, n)
        } else {
            (0, n - nulls)
        };
        // Ascending: PRECEDING means base - off. DESC flips both the
        // direction and the comparison.
        let sub = pre != desc;
        let run = &part[lo..hi];
        let mut err = None;
        let idx = if head {
            // First row not before the bound.
            run.partition_point(|r| match in_range(&r.1[col], base, off, sub, desc) {
                Ok(inside) => !inside,
                Err(e) => {
                    err.get_or_insert(e);
                    false
                }
            }) as i64
        } else {
            run.partition_point(|r| match in_range(&r.1[col], base, off, sub, !desc) {
                Ok(inside) => inside,
                Err(e) => {
                    err.get_or_insert(e);
                    false
                }
            }) as i64
                - 1
        };
        if let Some(e) = err {
            return Err(e);
        }
        Ok(lo as i64 + idx)
    }

    /// The rows of `k`'s frame [s, e] without those EXCLUDE takes out,
    /// as up to two ranges.
    fn pieces(&self, k: usize, s: i64, e: i64) -> Vec<(i64, i64)> {
        let (xs, xe) = match self.frame.exclude {
            Exclude::NoOthers => return vec![(s, e)],
            Exclude::CurrentRow => (k as i64, k as i64),
            Exclude::Group | Exclude::Ties => (self.peer_start[k] as i64, self.peer_end[k] as i64),
        };
        let mut out = Vec::new();
        if s <= (xs - 1).min(e) {
            out.push((s, (xs - 1).min(e)));
        }
        if self.frame.exclude == Exclude::Ties && s <= k as i64 && k as i64 <= e {
            out.push((k as i64, k as i64));
        }
        if (xe + 1).max(s) <= e {
            out.push(((xe + 1).max(s), e));
        }
        out
    }
}

#[allow(clippy::too_many_arguments)]
fn partition(
    call: &WindowCall,
    slot: usize,
    rows: &[Row],
    part: &[(usize, Vec<Value>)],
    keys: &[SortKey],
    results: &mut [Vec<Value>],
    offsets: &Offsets,
    cx: &mut Ctx<'_>,
) -> Result<(), PgError> {
    let n = part.len();
    // Peer groups: rows equal on all sort keys share [peer_start, peer_end].
    let mut peer_start = vec![0; n];
    let mut peer_end = vec![0; n];
    let mut group_of = vec![0usize; n];
    let mut groups = Vec::new();
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && sort_cmp(&part[i].1, &part[j].1, keys) == Ordering::Equal {
            j += 1;
        }
        for k in i..j {
            peer_start[k] = i;
            peer_end[k] = j - 1;
            group_of[k] = groups.len();
        }
        groups.push((i, j - 1));
        i = j;
    }
    let f = &call.frame;
    let framer = Framer {
        frame: f,
        n,
        peer_start,
        peer_end,
        group_of,
        groups,
    };
    let np = call.partition.len();
    let ord = call.order.first().map(|(_, desc, nf)| (np, *desc, *nf));
    let arg = |k: usize, a: usize, cx: &mut Ctx<'_>| -> Result<Value, PgError> {
        call.args[a].eval(&rows[part[k].0], cx)
    };
    let mut running: Option<(AggState, i64)> = None;
    for k in 0..n {
        let v = match &call.func {
            WinFunc::RowNumber => Value::Int8(k as i64 + 1),
            WinFunc::Rank => Value::Int8(framer.peer_start[k] as i64 + 1),
            WinFunc::DenseRank => Value::Int8(framer.group_of[k] as i64 + 1),
            WinFunc::PercentRank => Value::Float8(if n > 1 {
                framer.peer_start[k] as f64 / (n - 1) as f64
            } else {
                0.0
            }),
            WinFunc::CumeDist => Value::Float8((framer.peer_end[k] + 1) as f64 / n as f64),
            WinFunc::Ntile => match arg(k, 0, cx)? {
                Value::Int4(b) if b > 0 => {
                    let b = b as usize;
                    let per = n / b;
                    let extra = n % b;
                    // The first `extra` buckets hold one row more.
                    let big = extra * (per + 1);
                    let bucket = if k < big {
                        k / (per + 1)
                    } else {
                        extra + (k - big) / per.max(1)
                    };
                    Value::Int4(bucket as i32 + 1)
                }
                Value::Null => Value::Null,
                _ => {
                    return Err(PgError::error(
                        sqlstate::SqlState::new("22014"), // invalid_argument_for_ntile
                        "argument of ntile must be greater than zero",
                    ));
                }
            },
            WinFunc::LagLead(lead) => {
                let off = match call.args.get(1) {
                    Some(_) => match arg(k, 1, cx)? {
                        Value::Int4(o) => Some(o as i64),
                        _ => None,
                    },
                    None => Some(1),
                };
                match off {
                    None => Value::Null,
                    Some(o) => {
                        let t = if *lead { k as i64 + o } else { k as i64 - o };
                        if t >= 0 && (t as usize) < n {
                            arg(t as usize, 0, cx)?
                        } else if call.args.len() > 2 {
                            arg(k, 2, cx)?
                        } else {
                            Value::Null
                        }
                    }
                }
            }
            WinFunc::FirstValue | WinFunc::LastValue | WinFunc::NthValue => {
                let (s, e) = framer.bounds(k, part, ord, offsets)?;
                let pieces = framer.pieces(k, s, e);
                let total: i64 = pieces.iter().map(|(a, b)| (b - a + 1).max(0)).sum();
                // Position within the frame (0-based), then the row.
                let pos = match call.func {
                    WinFunc::FirstValue => Some(0),
                    WinFunc::LastValue => Some(total - 1),
                    _ => match arg(k, 1, cx)? {
                        Value::Int4(m) if m > 0 => Some(m as i64 - 1),
                        Value::Null => None,
                        _ => {
                            return Err(PgError::error(
                                sqlstate::SqlState::new("22016"), // invalid_argument_for_nth_value
                                "argument of nth_value must be greater than zero",
                            ));
                        }
                    },
                };
                let mut row = None;
                if let Some(mut p) = pos.filter(|p| *p >= 0 && *p < total) {
                    for (a, b) in &pieces {
                        let len = b - a + 1;
                        if p < len {
                            row = Some(a + p);
                            break;
                        }
                        p -= len;
                    }
                }
                match row {
                    Some(t) => arg(t as usize, 0, cx)?,
                    None => Value::Null,
                }
            }
            WinFunc::Agg(a) => {
                let (s, e) = framer.bounds(k, part, ord, offsets)?;
                if f.start == Bound_::UnboundedPreceding && f.exclude == Exclude::NoOthers {
                    // The frame only grows: step the new rows once.
                    let (st, upto) = running.get_or_insert_with(|| (agg_state(a), -1));
                    while *upto < e {
                        *upto += 1;
                        agg_step(a, st, &rows[part[*upto as usize].0], cx)?;
                    }
                    agg_final(a, st.clone(), cx)?
                } else {
                    let mut st = agg_state(a);
                    for (a0, b0) in framer.pieces(k, s, e) {
                        for t in a0..=b0 {
                            agg_step(a, &mut st, &rows[part[t as usize].0], cx)?;
                        }
                    }
                    agg_final(a, st, cx)?
                }
            }
        };
        results[part[k].0][slot] = v;
    }
    Ok(())
}

impl Binder<'_> {
    /// `WINDOW w AS (...), v AS (w ...)`: kept by name for OVER w.
    pub(crate) fn bind_named_windows(
        &mut self,
        defs: &[ast::NamedWindowDefinition],
    ) -> Result<(), PgError> {
        self.named_windows.clear();
        for ast::NamedWindowDefinition(name, expr) in defs {
            let n = ident_name(name);
            if self.named_windows.iter().any(|(w, _)| *w == n) {
                return Err(win_err(format!("window \"{n}\" is already defined")));
            }
            let spec = match expr {
                ast::NamedWindowExpr::WindowSpec(s) => self.resolve_window_ref(s.clone())?,
                ast::NamedWindowExpr::NamedWindow(other) => {
                    let o = ident_name(other);
                    match self.named_windows.iter().find(|(w, _)| *w == o) {
                        Some((_, s)) => s.clone(),
                        None => return Err(win_err(format!("window \"{o}\" does not exist"))),
                    }
                }
            };
            self.named_windows.push((n, spec));
        }
        Ok(())
    }
}

/// Token rewrites for window frames sqlparser cannot read, applied
/// before it parses a statement (parse.rs): a PRECEDING/FOLLOWING
/// offset that starts with a string (`'1 year'::interval PRECEDING`,
/// which sqlparser reads as an INTERVAL literal and then stops at `::`)
/// is put in parentheses, and an EXCLUDE clause (no grammar in
/// sqlparser) is removed and left as a backquoted word at the head of
/// the window's PARTITION BY list, which the binder takes back out
/// ([`exclusion_marker`]).
pub(crate) fn rewrite_frame_tokens(mut toks: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let kw = |t: &Token, w: &str| matches!(t, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    let meaningful = |t: &Token| !matches!(t, Token::Whitespace(_));
    // (position, tokens to insert) and (from, to) ranges to remove.
    let mut inserts: Vec<(usize, Vec<Token>)> = Vec::new();
    let mut removes: Vec<(usize, usize)> = Vec::new();
    for i in 0..toks.len() {
        if !(kw(&toks[i].token, "rows")
            || kw(&toks[i].token, "range")
            || kw(&toks[i].token, "groups"))
        {
            continue;
        }
        // The frame runs to the bracket closing the window definition.
        let mut depth = 0i32;
        let mut close = None;
        let mut m: Vec<usize> = Vec::new();
        for (j, t) in toks.iter().enumerate().skip(i + 1) {
            match t.token {
                Token::LParen | Token::LBracket => depth += 1,
                Token::RParen | Token::RBracket if depth == 0 => {
                    close = Some(j);
                    break;
                }
                Token::RParen | Token::RBracket => depth -= 1,
                Token::SemiColon | Token::EOF => break,
                _ => {}
            }
            if depth == 0
                && meaningful(&t.token)
                && !matches!(t.token, Token::LParen | Token::LBracket)
            {
                m.push(j);
            }
        }
        let Some(close) = close else { continue };
        let is = |j: usize, w: &str| kw(&toks[j].token, w);
        // EXCLUDE ...: its words, and where the bounds end.
        let mut end = m.len();
        let mut exclusion: Option<(&str, usize, usize)> = None;
        if let Some(x) = m.iter().position(|&j| is(j, "exclude")) {
            let kind = match (m.get(x + 1), m.get(x + 2)) {
                (Some(&a), Some(&b)) if is(a, "current") && is(b, "row") => {
                    Some(("current row", 2))
                }
                (Some(&a), _) if is(a, "group") => Some(("group", 1)),
                (Some(&a), _) if is(a, "ties") => Some(("ties", 1)),
                (Some(&a), Some(&b)) if is(a, "no") && is(b, "others") => Some(("no others", 2)),
                _ => None,
            };
            if let Some((k, words)) = kind {
                if x + words + 1 == m.len() {
                    end = x;
                    exclusion = Some((k, m[x], close));
                }
            }
        }
        let bounds = &m[..end];
        if bounds.is_empty() {
            continue;
        }
        let segs: Vec<&[usize]> = if is(bounds[0], "between") {
            match bounds.iter().position(|&j| is(j, "and")) {
                Some(a) => vec![&bounds[1..a], &bounds[a + 1..]],
                None => continue,
            }
        } else {
            vec![bounds]
        };
        let framed = segs.iter().all(|s| {
            s.last()
                .is_some_and(|&j| is(j, "preceding") || is(j, "following") || is(j, "row"))
        });
        if !framed {
            continue;
        }
        for s in segs {
            if s.len() >= 2
                && (is(s[s.len() - 1], "preceding") || is(s[s.len() - 1], "following"))
                && !is(s[0], "unbounded")
                && matches!(toks[s[0]].token, Token::SingleQuotedString(_))
            {
                inserts.push((s[0], vec![Token::LParen]));
                inserts.push((s[s.len() - 1], vec![Token::RParen]));
            }
        }
        let Some((kind, from, to)) = exclusion else {
            continue;
        };
        removes.push((from, to));
        if kind == "no others" {
            continue;
        }
        // The window definition's opening bracket, then past an
        // existing window's name.
        let mut depth = 0i32;
        let mut open = None;
        for j in (0..i).rev() {
            match toks[j].token {
                Token::RParen | Token::RBracket => depth += 1,
                Token::LParen | Token::LBracket if depth == 0 => {
                    open = Some(j);
                    break;
                }
                Token::LParen | Token::LBracket => depth -= 1,
                _ => {}
            }
        }
        let Some(open) = open else { continue };
        let next = |from: usize| (from..i).find(|&j| meaningful(&toks[j].token));
        let mut at = next(open + 1).unwrap_or(i);
        if matches!(&toks[at].token, Token::Word(_))
            && !["partition", "order", "rows", "range", "groups"]
                .iter()
                .any(|w| is(at, w))
        {
            at = next(at + 1).unwrap_or(i);
        }
        let mark = Token::Word(sqlparser::tokenizer::Word {
            value: kind.to_string(),
            quote_style: Some(EXCLUDE_MARK),
            keyword: sqlparser::keywords::Keyword::NoKeyword,
        });
        let space = Token::Whitespace(sqlparser::tokenizer::Whitespace::Space);
        if is(at, "partition") {
            if let Some(by) = next(at + 1) {
                inserts.push((by + 1, vec![space.clone(), mark, Token::Comma]));
            }
        } else {
            inserts.push((
                at,
                vec![
                    Token::make_keyword("PARTITION"),
                    space.clone(),
                    Token::make_keyword("BY"),
                    space.clone(),
                    mark,
                    space,
                ],
            ));
        }
    }
    if inserts.is_empty() && removes.is_empty() {
        return toks;
    }
    // Apply from the end so earlier positions stay valid; a removal's
    // range ends at the closing bracket (exclusive).
    let mut edits: Vec<(usize, Option<Vec<Token>>, usize)> = inserts
        .into_iter()
        .map(|(p, t)| (p, Some(t), p))
        .chain(removes.into_iter().map(|(a, b)| (a, None, b)))
        .collect();
    edits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.is_some().cmp(&b.1.is_some())));
    for (p, ins, to) in edits {
        match ins {
            Some(ts) => {
                let span = toks
                    .get(p)
                    .or(toks.last())
                    .map_or(sqlparser::tokenizer::Span::empty(), |t| t.span);
                let new: Vec<TokenWithSpan> = ts
                    .into_iter()
                    .map(|token| TokenWithSpan { token, span })
                    .collect();
                toks.splice(p..p, new);
            }
            None => {
                toks.drain(p..to);
            }
        }
    }
    toks
}
