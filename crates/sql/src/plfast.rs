//! PL/pgSQL's simple-expression fast path: an expression that reads no
//! table is evaluated straight from its bound tree, without starting an
//! executor.
//!
//! Why: every PL/pgSQL expression (`i + 1`, `x < n`) is a `SELECT expr`
//! with the variables as parameters. Running it as a statement builds a
//! pull-node tree, takes a fresh statement snapshot and opens relation
//! access for each evaluation — thousands of times the cost of the
//! arithmetic. PostgreSQL does the same as here (its "simple expression"
//! check in pl_exec.c): a plan that is a single result row with no FROM,
//! WHERE, aggregate, sort, limit or subquery is kept as its expression
//! and evaluated directly. The check is made once, when the statement is
//! planned; the plan cache (plpgsql.rs) keeps the result, so a DDL that
//! bumps the catalog generation replans and rechecks it.

use tusk_common::PgError;

use crate::exec::Row;
use crate::expr::{Ctx, Expr};
use crate::host::Host;
use crate::plan::Source;
use crate::value::Value;
use crate::{Plan, Prepared};

/// The target expressions of a plan that is a simple expression, or None
/// when it must run as a statement.
pub(crate) fn simple_exprs(p: &Prepared) -> Option<Vec<Expr>> {
    let Plan::Select(plan) = &p.plan else {
        return None;
    };
    let simple = matches!(plan.source, Source::Result)
        && plan.filter.is_none()
        && plan.aggs.is_none()
        && plan.group_by.is_empty()
        && plan.srfs.is_empty()
        && plan.having.is_none()
        && plan.windows.is_empty()
        && plan.sort.is_empty()
        && plan.limit.is_none()
        && plan.offset.is_none()
        && !plan.distinct
        && plan.distinct_on.is_none()
        && plan.row_locks.is_none()
        && plan.visible == plan.targets.len();
    if !simple {
        return None;
    }
    // A subquery needs the executor's preparation (its relations read,
    // its result cache): such an expression runs as a statement.
    let mut targets = plan.targets.clone();
    let mut has_sublink = false;
    for t in &mut targets {
        t.visit(0, &mut |e, _| {
            if matches!(e, Expr::SubLink(_)) {
                has_sublink = true;
            }
        });
    }
    (!has_sublink).then_some(targets)
}

/// Evaluates a simple expression's targets with these parameter values:
/// the one row the statement would have returned. Called by the backend
/// running the function. Interrupts are not checked here: every loop of
/// the function checks them once per iteration already, and a slow
/// function inside the expression checks its own.
pub(crate) fn eval(exprs: &[Expr], params: &[Value], host: &mut dyn Host) -> Result<Row, PgError> {
    let mut cx = Ctx { host, params };
    let mut row = Vec::with_capacity(exprs.len());
    for e in exprs {
        row.push(e.eval(&[], &mut cx)?);
    }
    Ok(row)
}
