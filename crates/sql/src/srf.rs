//! Set-returning functions in the select list (`SELECT generate_series(1,3)`,
//! `SELECT unnest(a), x FROM t`), PostgreSQL 10+'s ProjectSet: for each
//! input row every such function of the select list runs over that row,
//! in lockstep, giving as many output rows as the longest (the shorter
//! ones give NULL after their end; none at all when all are empty).
//!
//! Why the binder reuses the FROM binding of these functions: a call in
//! the select list is the same function with the same argument typing as
//! in FROM; only its arguments read the input row. So the bound
//! [`Source`] is kept as is, and this node evaluates its arguments over
//! each input row, then generates the rows as the FROM scan would. The
//! results land in the columns after the row's own (and its window
//! results): the binder binds them at [`SRF_BASE`] and moves them there
//! once the row's width is known, as window.rs does. Any backend runs it.

use std::collections::VecDeque;

use tusk_common::PgError;

use crate::exec::{Node, Row};
use crate::expr::{Ctx, Expr};
use crate::plan::Source;
use crate::value::Value;

/// Where select-list set-returning function results are bound before
/// their place is known (below window.rs's WINDOW_BASE).
pub(crate) const SRF_BASE: usize = 1 << 23;

/// Functions that return a set of one column and may appear in the
/// select list.
pub(crate) fn is_srf_name(name: &str) -> bool {
    matches!(
        name,
        "generate_series"
            | "unnest"
            | "generate_subscripts"
            | "regexp_split_to_table"
            | "regexp_matches"
            | "json_array_elements"
            | "json_array_elements_text"
            | "jsonb_array_elements"
            | "jsonb_array_elements_text"
            | "json_object_keys"
            | "jsonb_object_keys"
            | "jsonb_path_query"
            | "jsonb_path_query_tz"
            | "ts_parse"
            | "ts_token_type"
            | "ts_debug"
            | "json_each"
            | "json_each_text"
            | "jsonb_each"
            | "jsonb_each_text"
            | "pg_partition_ancestors"
            | "pg_listening_channels"
            | "json_populate_recordset"
            | "jsonb_populate_recordset"
            | "json_to_recordset"
            | "jsonb_to_recordset"
    )
}

/// Move select-list SRF results from [`SRF_BASE`] to column `at` on.
pub(crate) fn place_srf_columns(e: &mut Expr, at: usize) {
    e.visit(0, &mut |x, level| {
        if let (Expr::Column(c), 0) = (&mut *x, level) {
            if *c >= SRF_BASE && *c < crate::window::WINDOW_BASE {
                *c = at + (*c - SRF_BASE);
            }
        }
    });
}

fn int_of(v: Value) -> Option<i64> {
    match v {
        Value::Int2(i) => Some(i as i64),
        Value::Int4(i) => Some(i as i64),
        Value::Int8(i) => Some(i),
        _ => None,
    }
}

/// The values one select-list SRF gives for one input row.
fn values_for(src: &Source, row: &[Value], cx: &mut Ctx<'_>) -> Result<Vec<Value>, PgError> {
    match src {
        Source::Series {
            start,
            stop,
            step,
            int8,
        } => {
            let start = int_of(start.eval(row, cx)?);
            let stop = int_of(stop.eval(row, cx)?);
            let step = match step {
                Some(s) => int_of(s.eval(row, cx)?),
                None => Some(1),
            };
            let mut g = crate::exec::GenerateSeries::new(start, stop, step, *int8)?;
            let mut out = Vec::new();
            while let Some(mut r) = crate::exec::RowSource::next_row(&mut g)? {
                out.push(r.pop().unwrap_or(Value::Null));
                if out.len() % 4096 == 0 {
                    cx.host.check_interrupts()?;
                }
            }
            Ok(out)
        }
        Source::SetFunc { op, args } => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(a.eval(row, cx)?);
            }
            // json(b)_populate_recordset: the rows are the records made.
            if let crate::arrays::SrfOp::Json(crate::json::JsonSrf::Records { set, .. }, _) = op {
                return Ok(match vals.pop().unwrap_or(Value::Null) {
                    Value::Array(a) if *set => a.items,
                    Value::Null if *set => Vec::new(),
                    v => vec![v],
                });
            }
            // Rows of several columns (jsonb_each) become records.
            let types: Vec<tusk_types::types::Oid> = match op {
                crate::arrays::SrfOp::Json(j, json) => crate::json::srf_columns(*j, *json)
                    .into_iter()
                    .map(|(_, t)| t)
                    .collect(),
                crate::arrays::SrfOp::Ts(t) => crate::tsearch::srf_columns(*t)
                    .into_iter()
                    .map(|(_, t)| t)
                    .collect(),
                _ => Vec::new(),
            };
            Ok(crate::arrays::srf_rows(*op, vals, cx.host)?
                .into_iter()
                .map(|mut r| {
                    if r.len() > 1 {
                        Value::Record(types.iter().copied().zip(r).collect())
                    } else {
                        r.pop().unwrap_or(Value::Null)
                    }
                })
                .collect())
        }
        _ => Ok(Vec::new()),
    }
}

/// PostgreSQL's ProjectSet: each input row followed by the select list's
/// SRF values, as many rows as the longest SRF gives.
pub(crate) struct ProjectSetNode {
    pub input: Box<dyn Node>,
    pub srfs: Vec<Source>,
    pub pending: VecDeque<Row>,
}

impl Node for ProjectSetNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Ok(Some(r));
            }
            let Some(r) = self.input.next(cx)? else {
                return Ok(None);
            };
            let mut lists = Vec::with_capacity(self.srfs.len());
            for s in &self.srfs {
                lists.push(values_for(s, &r, cx)?);
            }
            let n = lists.iter().map(Vec::len).max().unwrap_or(0);
            let mut iters: Vec<_> = lists.into_iter().map(Vec::into_iter).collect();
            // Each row made at its final size (a clone and a push grew
            // every row of `INSERT ... SELECT generate_series(...)`: 18 %
            // of its CPU), the queue sized once.
            self.pending.reserve(n);
            for _ in 0..n {
                let mut out = Vec::with_capacity(r.len() + iters.len());
                out.extend_from_slice(&r);
                for it in iters.iter_mut() {
                    out.push(it.next().unwrap_or(Value::Null));
                }
                self.pending.push_back(out);
            }
        }
    }
    fn close(&mut self) {
        self.pending.clear();
        self.input.close();
    }
}
