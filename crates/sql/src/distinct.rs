//! SELECT DISTINCT ON (expressions): binding the ON list against ORDER BY
//! and the node that keeps the first row of each run of equal keys.
//!
//! Why this shape: as in PostgreSQL, DISTINCT ON is a sort followed by a
//! "unique" pass over the sorted rows, so the ON expressions must lead
//! the ORDER BY (42P10 otherwise) and the row kept for each key is the
//! first in ORDER BY's order. The ON expressions are projected columns
//! (hidden ones when not in the select list, like ORDER BY's), so the
//! unique pass compares projected rows. Runs in the backend executing the
//! statement; no shared state.

use sqlparser::ast;
use tusk_common::{sqlstate, PgError};

use crate::bind::{Binder, Bound};
use crate::exec::{GroupKey, Node, Row};
use crate::expr::Ctx;
use crate::plan::SortKey;

impl Binder<'_> {
    /// Bind `DISTINCT ON (exprs)` after ORDER BY: each expression becomes
    /// a projected column (an existing one when equal), ORDER BY's leading
    /// keys must be ON expressions, and the ON expressions ORDER BY lacks
    /// are sorted on after them, ascending. Returns the ON columns.
    pub(crate) fn bind_distinct_on(
        &mut self,
        exprs: &[ast::Expr],
        targets: &mut Vec<Bound>,
        names: &[String],
        visible: usize,
        sort: &mut Vec<SortKey>,
    ) -> Result<Vec<usize>, PgError> {
        let mut on = Vec::with_capacity(exprs.len());
        for e in exprs {
            let before = targets.len();
            let mut col = self.order_target(e, targets, names, visible)?;
            if targets.len() > before {
                // The same expression as an earlier column is that column
                // (so `DISTINCT ON (a + 1) ... ORDER BY a + 1` match).
                let new = format!("{:?}", targets[col].e);
                if let Some(i) = targets[..before]
                    .iter()
                    .position(|t| format!("{:?}", t.e) == new)
                {
                    targets.pop();
                    col = i;
                }
            }
            if !on.contains(&col) {
                on.push(col);
            }
        }
        // ORDER BY keys bound before may duplicate an ON expression as a
        // hidden column of their own: compare by expression too.
        let same = |targets: &[Bound], a: usize, b: usize| {
            a == b || format!("{:?}", targets[a].e) == format!("{:?}", targets[b].e)
        };
        let mut covered = vec![false; on.len()];
        let mut skipped = false;
        for k in sort.iter() {
            match on.iter().position(|&c| same(targets, c, k.col)) {
                Some(i) if !skipped => covered[i] = true,
                Some(_) => return Err(mismatch()),
                None => skipped = true,
            }
        }
        if skipped && covered.iter().any(|c| !c) {
            return Err(mismatch());
        }
        if !skipped {
            for (i, &c) in on.iter().enumerate() {
                if !covered[i] {
                    sort.push(SortKey {
                        col: c,
                        desc: false,
                        nulls_first: false,
                    });
                }
            }
        }
        Ok(on)
    }
}

fn mismatch() -> PgError {
    PgError::error(
        sqlstate::INVALID_COLUMN_REFERENCE,
        "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
    )
}

/// Over sorted rows: the first row of each run of rows whose `keys`
/// columns are equal (NULLs equal, as DISTINCT compares).
pub(crate) struct DistinctOnNode {
    pub input: Box<dyn Node>,
    pub keys: Vec<usize>,
    pub last: Option<GroupKey>,
}

impl Node for DistinctOnNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        while let Some(r) = self.input.next(cx)? {
            let k = GroupKey(self.keys.iter().map(|&i| r[i].clone()).collect());
            if self.last.as_ref() != Some(&k) {
                self.last = Some(k);
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
    fn close(&mut self) {
        self.input.close();
        self.last = None;
    }
}
