//! The relational path of a SELECT and its executor: scan -> filter ->
//! aggregate -> project -> sort -> offset/limit.
//!
//! Every SELECT takes this path, with or without FROM (no FROM scans one
//! empty row), so that stored tables only add a [`Source`]. Sorting works
//! on projected rows that carry hidden sort columns after the visible
//! ones (PostgreSQL's resjunk columns), so each output expression is
//! evaluated once per row even when ORDER BY repeats it. Without ORDER BY
//! the projection stops as soon as OFFSET + LIMIT rows exist.

use std::cmp::Ordering;

use tusk_common::PgError;

use crate::catalog::{self, Relation};
use crate::expr::{Ctx, Expr};
use crate::value::{compare, Value};

#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// No FROM: a single row with no columns.
    Result,
    Relation(Relation),
}

#[derive(Debug, Clone)]
pub(crate) enum AggCall {
    CountStar,
    Count(Expr),
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
    pub having: Option<Expr>,
    /// Visible targets, then hidden sort targets.
    pub targets: Vec<Expr>,
    pub visible: usize,
    pub sort: Vec<SortKey>,
    pub limit: Option<Expr>,
    pub offset: Option<Expr>,
}

fn is_true(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

fn count_arg(e: &Option<Expr>, what: &str, ctx: &mut Ctx<'_>) -> Result<Option<usize>, PgError> {
    let Some(e) = e else { return Ok(None) };
    match e.eval(&[], ctx)? {
        Value::Null => Ok(None),
        Value::Int8(n) if n < 0 => Err(PgError::error(
            if what == "LIMIT" {
                tusk_common::sqlstate::INVALID_ROW_COUNT_IN_LIMIT_CLAUSE
            } else {
                tusk_common::sqlstate::INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE
            },
            format!("{what} must not be negative"),
        )),
        Value::Int8(n) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        other => Err(PgError::error(
            tusk_common::sqlstate::DATATYPE_MISMATCH,
            format!("argument of {what} must be type bigint, got {other:?}"),
        )),
    }
}

fn sort_cmp(a: &[Value], b: &[Value], keys: &[SortKey]) -> Ordering {
    for k in keys {
        let (x, y) = (&a[k.col], &b[k.col]);
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if k.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if k.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            _ => {
                let o = compare(x, y);
                if k.desc {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

impl SelectPlan {
    pub fn execute(&self, ctx: &mut Ctx<'_>) -> Result<Vec<Vec<Value>>, PgError> {
        let limit = count_arg(&self.limit, "LIMIT", ctx)?;
        let offset = count_arg(&self.offset, "OFFSET", ctx)?.unwrap_or(0);

        // Scan and filter.
        let input = match &self.source {
            Source::Result => vec![Vec::new()],
            Source::Relation(rel) => catalog::scan(rel, ctx.host)?,
        };
        let mut rows = Vec::with_capacity(input.len());
        for row in input {
            ctx.host.check_interrupts()?;
            if let Some(f) = &self.filter {
                if !is_true(&f.eval(&row, ctx)?) {
                    continue;
                }
            }
            rows.push(row);
        }

        // Aggregate.
        if let Some(aggs) = &self.aggs {
            let mut out = Vec::with_capacity(aggs.len());
            for a in aggs {
                let n = match a {
                    AggCall::CountStar => rows.len() as i64,
                    AggCall::Count(e) => {
                        let mut n = 0i64;
                        for r in &rows {
                            if !e.eval(r, ctx)?.is_null() {
                                n += 1;
                            }
                        }
                        n
                    }
                };
                out.push(Value::Int8(n));
            }
            rows = vec![out];
            if let Some(h) = &self.having {
                if !is_true(&h.eval(&rows[0], ctx)?) {
                    rows.clear();
                }
            }
        }

        // Project; without a sort, only as many rows as will be sent.
        let wanted = if self.sort.is_empty() {
            limit.map(|l| l.saturating_add(offset))
        } else {
            None
        };
        let mut out = Vec::new();
        for row in &rows {
            if wanted.is_some_and(|w| out.len() >= w) {
                break;
            }
            ctx.host.check_interrupts()?;
            let mut o = Vec::with_capacity(self.targets.len());
            for t in &self.targets {
                o.push(t.eval(row, ctx)?);
            }
            out.push(o);
        }

        if !self.sort.is_empty() {
            out.sort_by(|a, b| sort_cmp(a, b, &self.sort));
        }
        let mut out: Vec<Vec<Value>> = out
            .into_iter()
            .skip(offset)
            .take(limit.unwrap_or(usize::MAX))
            .collect();
        for r in out.iter_mut() {
            r.truncate(self.visible);
        }
        Ok(out)
    }
}
