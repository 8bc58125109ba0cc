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
//! them. Frames are PostgreSQL's: RANGE UNBOUNDED PRECEDING to CURRENT ROW
//! (with peers) by default, ROWS with offsets, RANGE with UNBOUNDED and
//! CURRENT ROW bounds. Aggregates whose frame starts at the partition's
//! start are accumulated incrementally; others are recomputed per row.
//! Memory: all input rows, no work_mem limit yet. Runs in the backend
//! executing the statement; no shared state.

use std::cmp::Ordering;

use sqlparser::ast;
use tusk_common::{sqlstate, PgError};

use crate::bind::{ident_name, not_supported, Binder, Bound};
use crate::exec::{agg_final, agg_state, agg_step, sort_cmp, AggState, Node, Row};
use crate::expr::{Ctx, Expr};
use crate::plan::{AggCall, SortKey};
use crate::types::{self, Ty};
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

#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub rows: bool,
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
            if !spec.partition_by.is_empty() {
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
            spec.partition_by = base.partition_by.clone();
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
        for e in &spec.partition_by {
            let b = self.bind_expr(e)?;
            let b = if b.is_unknown() {
                self.coerce(b, Ty::new(types::TEXT))?
            } else {
                b
            };
            partition.push(b.e);
        }
        let mut order = Vec::new();
        for o in &spec.order_by {
            let b = self.bind_expr(&o.expr)?;
            let b = if b.is_unknown() {
                self.coerce(b, Ty::new(types::TEXT))?
            } else {
                b
            };
            let desc = matches!(o.options.sort, Some(ast::OrderBySort::Desc));
            order.push((b.e, desc, o.options.nulls_first.unwrap_or(desc)));
        }
        let frame = self.frame(spec.window_frame.as_ref(), !order.is_empty())?;
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
                    // lag(x, n, default): one type for both.
                    if v.is_unknown() && !d.is_unknown() {
                        v = self.coerce(v, d.ty)?;
                    } else if v.is_unknown() {
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

    fn frame(&mut self, f: Option<&ast::WindowFrame>, _ordered: bool) -> Result<Frame, PgError> {
        let Some(f) = f else {
            return Ok(Frame {
                rows: false,
                start: Bound_::UnboundedPreceding,
                start_off: None,
                end: Bound_::CurrentRow,
                end_off: None,
            });
        };
        let rows = match f.units {
            ast::WindowFrameUnits::Rows => true,
            ast::WindowFrameUnits::Range => false,
            ast::WindowFrameUnits::Groups => return Err(not_supported("GROUPS frames")),
        };
        let mut bound = |b: &ast::WindowFrameBound| -> Result<(Bound_, Option<Expr>), PgError> {
            Ok(match b {
                ast::WindowFrameBound::CurrentRow => (Bound_::CurrentRow, None),
                ast::WindowFrameBound::Preceding(None) => (Bound_::UnboundedPreceding, None),
                ast::WindowFrameBound::Following(None) => (Bound_::UnboundedFollowing, None),
                ast::WindowFrameBound::Preceding(Some(e))
                | ast::WindowFrameBound::Following(Some(e)) => {
                    if !rows {
                        return Err(not_supported("RANGE with offset PRECEDING/FOLLOWING"));
                    }
                    let v = self.bind_expr(e)?;
                    let v = self.coerce(v, Ty::new(types::INT8))?;
                    let kind = if matches!(b, ast::WindowFrameBound::Preceding(_)) {
                        Bound_::Preceding
                    } else {
                        Bound_::Following
                    };
                    (kind, Some(v.e))
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
            rows,
            start,
            start_off,
            end,
            end_off,
        })
    }
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
            let width = rows.first().map_or(0, Vec::len);
            let mut results: Vec<Vec<Value>> = vec![Vec::new(); rows.len()];
            let mut order: Vec<usize> = (0..rows.len()).collect();
            for call in &self.calls {
                order = compute(call, &rows, &mut results, cx)?;
            }
            let _ = width;
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

fn offset_of(e: &Option<Expr>, cx: &mut Ctx<'_>) -> Result<i64, PgError> {
    let Some(e) = e else { return Ok(0) };
    match e.eval(&[], cx)? {
        Value::Int8(n) if n >= 0 => Ok(n),
        Value::Null => Err(win_err("frame starting offset must not be null")),
        _ => Err(PgError::error(
            sqlstate::SqlState::new("22013"), // invalid_preceding_or_following_size
            "frame starting offset must not be negative",
        )),
    }
}

/// One window function over all rows: pushes its value onto each row's
/// `results`; returns the rows' order after this window's sort.
fn compute(
    call: &WindowCall,
    rows: &[Row],
    results: &mut [Vec<Value>],
    cx: &mut Ctx<'_>,
) -> Result<Vec<usize>, PgError> {
    // Sort keys: partition columns, then the window's ORDER BY.
    let np = call.partition.len();
    let mut keyed: Vec<(usize, Vec<Value>)> = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
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
    keyed.sort_by(|a, b| sort_cmp(&a.1, &b.1, &keys));
    let part_keys = &keys[..np];
    let same = |a: &[Value], b: &[Value], ks: &[SortKey]| sort_cmp(a, b, ks) == Ordering::Equal;
    let start_off = offset_of(&call.frame.start_off, cx)?;
    let end_off = offset_of(&call.frame.end_off, cx)?;
    let mut p0 = 0;
    while p0 < keyed.len() {
        let mut p1 = p0 + 1;
        while p1 < keyed.len() && same(&keyed[p0].1, &keyed[p1].1, part_keys) {
            p1 += 1;
        }
        partition(
            call,
            rows,
            &keyed[p0..p1],
            &keys,
            results,
            start_off,
            end_off,
            cx,
        )?;
        p0 = p1;
    }
    Ok(keyed.into_iter().map(|(i, _)| i).collect())
}

#[allow(clippy::too_many_arguments)]
fn partition(
    call: &WindowCall,
    rows: &[Row],
    part: &[(usize, Vec<Value>)],
    keys: &[SortKey],
    results: &mut [Vec<Value>],
    start_off: i64,
    end_off: i64,
    cx: &mut Ctx<'_>,
) -> Result<(), PgError> {
    let n = part.len();
    // Peer groups: rows equal on all sort keys share [peer_start, peer_end].
    let mut peer_start = vec![0; n];
    let mut peer_end = vec![0; n];
    let mut group_no = vec![0i64; n];
    let mut i = 0;
    let mut g = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && sort_cmp(&part[i].1, &part[j].1, keys) == Ordering::Equal {
            j += 1;
        }
        g += 1;
        for k in i..j {
            peer_start[k] = i;
            peer_end[k] = j - 1;
            group_no[k] = g;
        }
        i = j;
    }
    let f = &call.frame;
    // The frame of row k as [s, e] (empty when s > e), in partition positions.
    let frame_of = |k: usize| -> (i64, i64) {
        let k_ = k as i64;
        let s = match f.start {
            Bound_::UnboundedPreceding => 0,
            Bound_::Preceding => k_ - start_off,
            Bound_::CurrentRow if f.rows => k_,
            Bound_::CurrentRow => peer_start[k] as i64,
            Bound_::Following => k_ + start_off,
            Bound_::UnboundedFollowing => n as i64,
        };
        let e = match f.end {
            Bound_::UnboundedFollowing => n as i64 - 1,
            Bound_::Following => k_ + end_off,
            Bound_::CurrentRow if f.rows => k_,
            Bound_::CurrentRow => peer_end[k] as i64,
            Bound_::Preceding => k_ - end_off,
            Bound_::UnboundedPreceding => -1,
        };
        (s.max(0), e.min(n as i64 - 1))
    };
    let arg = |k: usize, a: usize, cx: &mut Ctx<'_>| -> Result<Value, PgError> {
        call.args[a].eval(&rows[part[k].0], cx)
    };
    let mut running: Option<(AggState, i64)> = None;
    for k in 0..n {
        let v = match &call.func {
            WinFunc::RowNumber => Value::Int8(k as i64 + 1),
            WinFunc::Rank => Value::Int8(peer_start[k] as i64 + 1),
            WinFunc::DenseRank => Value::Int8(group_no[k]),
            WinFunc::PercentRank => Value::Float8(if n > 1 {
                peer_start[k] as f64 / (n - 1) as f64
            } else {
                0.0
            }),
            WinFunc::CumeDist => Value::Float8((peer_end[k] + 1) as f64 / n as f64),
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
                let (s, e) = frame_of(k);
                let t = match call.func {
                    WinFunc::FirstValue => Some(s),
                    WinFunc::LastValue => Some(e),
                    _ => match arg(k, 1, cx)? {
                        Value::Int4(m) if m > 0 => Some(s + m as i64 - 1),
                        Value::Null => None,
                        _ => {
                            return Err(PgError::error(
                                sqlstate::SqlState::new("22016"), // invalid_argument_for_nth_value
                                "argument of nth_value must be greater than zero",
                            ));
                        }
                    },
                };
                match t {
                    Some(t) if s <= e && t <= e => arg(t as usize, 0, cx)?,
                    _ => Value::Null,
                }
            }
            WinFunc::Agg(a) => {
                let (s, e) = frame_of(k);
                if f.start == Bound_::UnboundedPreceding {
                    // The frame only grows: step the new rows once.
                    let (st, upto) = running.get_or_insert_with(|| (agg_state(a), -1));
                    while *upto < e {
                        *upto += 1;
                        agg_step(a, st, &rows[part[*upto as usize].0], cx)?;
                    }
                    agg_final(a, st.clone(), cx)?
                } else {
                    let mut st = agg_state(a);
                    let mut t = s;
                    while t <= e {
                        agg_step(a, &mut st, &rows[part[t as usize].0], cx)?;
                        t += 1;
                    }
                    agg_final(a, st, cx)?
                }
            }
        };
        results[part[k].0].push(v);
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
