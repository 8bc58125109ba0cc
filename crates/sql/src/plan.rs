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

// A relation is the common source and is moved, not copied, along the
// plan: boxing it would cost an allocation per FROM item for nothing.
#[allow(clippy::large_enum_variant)]
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
    /// A built-in set-returning function over arrays or patterns in FROM
    /// (unnest, generate_subscripts, regexp_split_to_table,
    /// regexp_matches; arrays.rs): its rows computed when execution starts.
    SetFunc {
        op: crate::arrays::SrfOp,
        args: Vec<Expr>,
    },
    /// `f(...) WITH ORDINALITY`: the function's rows, each followed by
    /// its number from 1 (int8).
    Ordinality(Box<Source>),
    /// A user-defined function in FROM (routine.rs): called once when
    /// execution starts, its rows kept.
    Function {
        def: std::rc::Rc<crate::catalog::FuncDef>,
        args: Vec<Expr>,
    },
    /// Two FROM items joined: the output row is the left row's columns
    /// then the right row's (`left_width` + `right_width` of them).
    Join(Box<JoinPlan>),
    /// `(SELECT ...)` in FROM: the subquery's visible columns.
    Subquery(Box<SelectPlan>),
    /// UNION / INTERSECT / EXCEPT of two inputs of one row type.
    SetOp(Box<SetOpPlan>),
    /// `VALUES (...), (...)`: each row's expressions, evaluated when the
    /// row is pulled.
    Values(Vec<Vec<Expr>>),
    /// Rows read once when execution started (a relation scanned for a
    /// subquery that may run many times: see `exec::prepare_plan`).
    Rows(std::rc::Rc<Vec<crate::exec::Row>>),
    /// A WITH query named in FROM (crates/sql/src/cte.rs): every
    /// reference shares one [`crate::cte::CteDef`], run once per execution.
    Cte(std::rc::Rc<crate::cte::CteDef>),
    /// A data-modifying WITH query's RETURNING rows (cte.rs): produced
    /// when the statement starts.
    ModifyCte(std::rc::Rc<crate::cte::ModifyCte>),
    /// A [`Source::Cte`] once execution started: a reader of the rows
    /// the query produced so far, shared by all its references.
    CteScan(crate::cte::CteHandle),
    /// WITH RECURSIVE: the non-recursive term, then the recursive term
    /// run again over the rows of the previous round until none come.
    RecursiveUnion(Box<crate::cte::RecursivePlan>),
    /// The recursive term's reference to its own query (the id of its
    /// [`crate::cte::RecursivePlan`]): the previous round's rows.
    WorkTable(usize),
    /// A [`Source::WorkTable`] once execution started.
    WorkTableScan(crate::cte::WorkHandle),
    /// `LATERAL (SELECT ...)` as a join's right input: run again for each
    /// left row, its depth-1 outer references read that row
    /// (crates/sql/src/lateral.rs).
    LateralSubquery(Box<SelectPlan>),
    /// A trigger's transition table (REFERENCING OLD/NEW TABLE AS name)
    /// named in FROM inside its function: the rows the firing statement
    /// changed, read when execution starts (trigger.rs).
    Transition(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
    /// Each left row once if some right row matches (EXISTS, IN as
    /// joins: crates/sql/src/semijoin.rs); the row's right columns NULL.
    Semi,
    /// Each left row no right row matches (NOT EXISTS), as [`JoinKind::Semi`].
    Anti,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetOpKind {
    Union,
    Intersect,
    Except,
}

#[derive(Debug, Clone)]
pub(crate) struct SetOpPlan {
    pub kind: SetOpKind,
    /// ALL: keep duplicates (bag semantics); else rows are distinct.
    pub all: bool,
    pub left: Source,
    pub right: Source,
}

#[derive(Debug, Clone)]
pub(crate) struct JoinPlan {
    pub kind: JoinKind,
    pub left: Source,
    pub right: Source,
    pub left_width: usize,
    pub right_width: usize,
    /// Equi-join keys: `.0` over the left row, `.1` over the right row,
    /// both of one type. Non-empty: the executor joins by hashing the
    /// right side on them.
    pub hash_keys: Vec<(Expr, Expr)>,
    /// The rest of the join condition, over the joined row (None: true).
    pub qual: Option<Expr>,
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
    /// json_agg / jsonb_agg (`b`), or with `object` json(b)_object_agg
    /// whose argument is a `JsonOp::Pair` (crates/sql/src/json.rs).
    Json {
        b: bool,
        object: bool,
        arg: Expr,
    },
    /// string_agg, array_agg, bool_*, bit_*, the statistics
    /// (crates/sql/src/agg.rs).
    Ext(Box<crate::agg::AggFn>),
    /// Any call with DISTINCT, ORDER BY or FILTER (crates/sql/src/agg.rs).
    Modified(Box<crate::agg::Modified>),
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
    /// GROUP BY expressions that are not plain columns: evaluated over
    /// each filtered source row and appended to it before grouping, so
    /// `group_by` names them as the columns after the source's
    /// (crates/sql/src/agg.rs).
    pub group_exprs: Vec<Expr>,
    /// Set-returning functions of the select list, run over each row
    /// after the window node; their values follow its row
    /// (crates/sql/src/srf.rs).
    pub srfs: Vec<Source>,
    /// GROUPING SETS / ROLLUP / CUBE: each set's positions in
    /// `group_by`; the keys not in a set are NULL in its rows
    /// (crates/sql/src/agg.rs).
    pub grouping_sets: Option<Vec<Vec<usize>>>,
    pub having: Option<Expr>,
    /// Visible targets, then hidden sort targets.
    pub targets: Vec<Expr>,
    pub visible: usize,
    pub sort: Vec<SortKey>,
    pub limit: Option<Expr>,
    pub offset: Option<Expr>,
    /// FETCH FIRST ... WITH TIES: after `limit` rows, the rows equal to
    /// the last one on the `sort` keys come too.
    pub with_ties: bool,
    /// SELECT DISTINCT: equal projected rows once (all targets visible).
    pub distinct: bool,
    /// SELECT DISTINCT ON: the projected columns compared; `sort` leads
    /// with them, and the first row of each run of equal keys is kept
    /// (crates/sql/src/distinct.rs).
    pub distinct_on: Option<Vec<usize>>,
    /// Window functions, computed after HAVING over its rows (or the
    /// FROM rows): their results follow the row's columns
    /// (crates/sql/src/window.rs).
    pub windows: Vec<crate::window::WindowCall>,
    /// SELECT ... FOR UPDATE/SHARE: the tables whose rows are locked
    /// between ORDER BY and LIMIT (crates/sql/src/rowlock.rs).
    pub row_locks: Option<Box<crate::rowlock::RowLocks>>,
    /// A FROM subquery's or view's name and column names, as EXPLAIN
    /// prints them ("Subquery Scan on ss", `ss.x`), and whether it is a
    /// security barrier the planner must not merge (crates/sql/src/subplan.rs).
    pub alias: Option<Box<crate::subplan::Alias>>,
    /// FROM subqueries merged into this plan by the planner: PostgreSQL's
    /// range table still lists them, so EXPLAIN qualifies column names.
    pub merged: usize,
}

impl Source {
    /// Every expression of this source (join conditions, function
    /// arguments, a FROM subquery's plan one level down), as
    /// [`Expr::visit`].
    pub fn visit_exprs(&mut self, level: usize, f: &mut dyn FnMut(&mut Expr, usize)) {
        match self {
            Source::Result
            | Source::Relation(_)
            | Source::Rows(_)
            | Source::ModifyCte(_)
            | Source::Transition(_)
            | Source::Cte(_)
            | Source::CteScan(_)
            | Source::WorkTable(_)
            | Source::WorkTableScan(_) => {}
            Source::Function { args, .. } | Source::SetFunc { args, .. } => {
                args.iter_mut().for_each(|e| e.visit(level, f))
            }
            Source::Ordinality(inner) => inner.visit_exprs(level, f),
            Source::RecursiveUnion(r) => {
                r.nonrec.visit_exprs(level, f);
                r.rec.visit_exprs(level, f);
            }
            Source::Series {
                start, stop, step, ..
            } => {
                start.visit(level, f);
                stop.visit(level, f);
                if let Some(s) = step {
                    s.visit(level, f);
                }
            }
            Source::Join(j) => {
                j.left.visit_exprs(level, f);
                j.right.visit_exprs(level, f);
                for (l, r) in &mut j.hash_keys {
                    l.visit(level, f);
                    r.visit(level, f);
                }
                if let Some(q) = &mut j.qual {
                    q.visit(level, f);
                }
            }
            Source::Subquery(p) | Source::LateralSubquery(p) => p.visit_exprs(level + 1, f),
            Source::SetOp(o) => {
                o.left.visit_exprs(level, f);
                o.right.visit_exprs(level, f);
            }
            Source::Values(rows) => rows.iter_mut().flatten().for_each(|e| e.visit(level, f)),
        }
    }
}

impl SelectPlan {
    /// Every expression of the plan, its source's included, as
    /// [`Expr::visit`]: `level` is this plan's query level.
    pub fn visit_exprs(&mut self, level: usize, f: &mut dyn FnMut(&mut Expr, usize)) {
        self.source.visit_exprs(level, f);
        let exprs = self
            .filter
            .iter_mut()
            .chain(self.having.iter_mut())
            .chain(self.group_exprs.iter_mut())
            .chain(self.targets.iter_mut())
            .chain(self.limit.iter_mut())
            .chain(self.offset.iter_mut());
        for e in exprs {
            e.visit(level, f);
        }
        for a in self.aggs.iter_mut().flatten() {
            for e in a.exprs_mut() {
                e.visit(level, f);
            }
        }
        for s in &mut self.srfs {
            s.visit_exprs(level, f);
        }
        for w in &mut self.windows {
            for e in w.exprs_mut() {
                e.visit(level, f);
            }
        }
    }
}
