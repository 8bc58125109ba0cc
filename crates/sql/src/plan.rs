//! The relational path of a SELECT: scan -> filter -> aggregate ->
//! project -> sort -> offset/limit, as the binder produces it.
//!
//! Every SELECT takes this path, with or without FROM (no FROM scans one
//! empty row), so that stored tables only add a [`Source`]. Sorting works
//! on projected rows that carry hidden sort columns after the visible
//! ones (PostgreSQL's resjunk columns), so each output expression is
//! evaluated once per row even when ORDER BY repeats it. The plan is
//! data; `exec.rs` turns it into a tree of pull nodes for each execution.

use crate::catalog::Relation;
use crate::expr::Expr;

#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// No FROM: a single row with no columns.
    Result,
    Relation(Relation),
    /// `generate_series(start, stop [, step])` in FROM; the arguments
    /// are constants or parameters, evaluated when execution starts.
    Series {
        start: Expr,
        stop: Expr,
        step: Option<Expr>,
        int8: bool,
    },
}

#[derive(Debug, Clone)]
pub(crate) enum AggCall {
    CountStar,
    Count(Expr),
    /// sum(x) over an argument of type `.1`.
    Sum(Expr, crate::types::Oid),
    /// avg(x) over an argument of type `.1`.
    Avg(Expr, crate::types::Oid),
    Min(Expr),
    Max(Expr),
}

#[derive(Debug, Clone)]
pub(crate) struct SortKey {
    /// Index into the projected row.
    pub col: usize,
    pub desc: bool,
    pub nulls_first: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct SelectPlan {
    pub source: Source,
    pub filter: Option<Expr>,
    /// Some: aggregate the filtered rows into one row of these values;
    /// targets, HAVING and sort keys then read that row.
    pub aggs: Option<Vec<AggCall>>,
    /// GROUP BY: source columns; the aggregate node's rows are these keys
    /// then the aggregates, one row per group (empty: one row in all).
    pub group_by: Vec<usize>,
    pub having: Option<Expr>,
    /// Visible targets, then hidden sort targets.
    pub targets: Vec<Expr>,
    pub visible: usize,
    pub sort: Vec<SortKey>,
    pub limit: Option<Expr>,
    pub offset: Option<Expr>,
}
