//! Buffered row storage for COPY FROM and INSERT ... SELECT: rows that passed their per-row checks are collected and handed to `Tables::insert_many` a batch at a time, so the host fills whole heap pages under one lock and one WAL record.
//!
//! Why this shape (PostgreSQL's copyfrom.c CopyMultiInsertBuffer): the
//! per-row cost of storing a row (relation lock request, heap handle,
//! page search, page lock, WAL record) dominated bulk loads; a batch pays
//! it once per batch or per page. Batching is only used where nothing can
//! observe the rows one at a time before the batch is stored: no row
//! triggers (they see the table after each row), not a partitioned table
//! or a view, and no volatile user function in a default expression or
//! (INSERT ... SELECT) in the query, which might read the table being
//! filled ([`defaults_allow`], [`select_allows`]; nextval is allowed, as
//! in PostgreSQL). FOREIGN KEY checks and counts follow the stored batch.
//!
//! Used by the backend running the statement.

use tusk_common::error::PgError;

use crate::catalog::Relation;
use crate::exec::Row;
use crate::expr::Expr;
use crate::host::Host;
use crate::plan::{SelectPlan, Source};

/// Rows per batch (PostgreSQL's MAX_BUFFERED_TUPLES).
const MAX_ROWS: usize = 1000;

/// Rows waiting to be stored, each with a tag the caller uses to name it
/// in an error (COPY: its line number).
#[derive(Default)]
pub(crate) struct Batch {
    rows: Vec<Row>,
    tags: Vec<u64>,
}

impl Batch {
    /// Whether the batch is full and should be stored now.
    pub(crate) fn push(&mut self, row: Row, tag: u64) -> bool {
        self.rows.push(row);
        self.tags.push(tag);
        self.rows.len() >= MAX_ROWS
    }

    /// Stores the rows (their FOREIGN KEY checks queued in `pending`) and
    /// empties the batch. On failure, the tag of the row that failed.
    pub(crate) fn flush(
        &mut self,
        host: &mut dyn Host,
        rel: &Relation,
        pending: &mut crate::fkey::Pending,
    ) -> Result<usize, (u64, PgError)> {
        if self.rows.is_empty() {
            return Ok(0);
        }
        let rows = std::mem::take(&mut self.rows);
        let tags = std::mem::take(&mut self.tags);
        let first = tags[0];
        let tables = host.tables().map_err(|e| (first, e))?;
        tables
            .insert_many(rel, &rows)
            .map_err(|(i, e)| (tags[i], e))?;
        for (row, tag) in rows.iter().zip(&tags) {
            pending.row_stored(rel, None, row).map_err(|e| (*tag, e))?;
        }
        Ok(rows.len())
    }
}

/// Whether `e` calls a volatile function other than nextval (PostgreSQL's
/// contain_volatile_functions_not_nextval): a user function may read the
/// table being filled.
fn volatile_not_nextval(e: &Expr) -> bool {
    let mut v = false;
    e.clone().visit(0, &mut |x, _| match x {
        Expr::Func(f, _) => {
            let name = crate::explain::function_name(*f);
            if name != "nextval" && crate::subplan::VOLATILE.contains(&name) {
                v = true;
            }
        }
        Expr::UserFunc(def, _) if def.volatility == b'v' => v = true,
        _ => {}
    });
    v
}

/// Whether rows of `rel` may be stored in batches at all (a plain or
/// inheritance-parent table without row triggers; `has_row_triggers`
/// from the statement's trigger set) given its default expressions.
pub(crate) fn defaults_allow(
    rel: &Relation,
    has_triggers: bool,
    defaults: &[Option<Expr>],
) -> bool {
    !has_triggers && rel.relkind == b'r' && !defaults.iter().flatten().any(volatile_not_nextval)
}

/// Whether INSERT ... SELECT's query lets its rows be stored in batches:
/// no volatile user function (which might read the target table between
/// rows) and no WITH query (a data-modifying one, or one not visited
/// here).
pub(crate) fn select_allows(plan: &SelectPlan) -> bool {
    let mut plan = plan.clone();
    let mut ok = true;
    crate::cte::walk_plan(&mut plan, &mut |s| {
        if matches!(
            s,
            Source::Cte(_) | Source::ModifyCte(_) | Source::CteScan(_)
        ) {
            ok = false;
        }
    });
    if !ok {
        return false;
    }
    plan.visit_exprs(0, &mut |e, _| {
        if let Expr::UserFunc(def, _) = e {
            if def.volatility == b'v' {
                ok = false;
            }
        }
    });
    ok
}
