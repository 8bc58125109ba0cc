//! LATERAL subqueries in FROM: a subquery that reads the columns of the
//! FROM items to its left, run again for each of their rows.
//!
//! Why this shape: the subquery is bound one level down with the left
//! items as its enclosing scope, so their columns are `Expr::Outer`
//! references at depth 1, exactly as a correlated subquery's are. The join
//! node substitutes each left row's values into a copy of the plan and
//! runs it (a nested loop, PostgreSQL's only way to run LATERAL); the
//! relations it scans were read into memory once when execution started,
//! as for correlated subqueries. INNER/CROSS and LEFT joins only, as in
//! PostgreSQL. Runs in the backend executing the statement; no shared
//! state.

use tusk_common::PgError;

use crate::exec::{build_plan, NoRelations, Node, Row};
use crate::expr::{Ctx, Expr};
use crate::plan::{JoinKind, SelectPlan};
use crate::value::Value;

/// `plan` with the left row's values for its depth-1 outer references.
fn with_left_row(plan: &SelectPlan, row: &[Value]) -> SelectPlan {
    let mut plan = plan.clone();
    plan.visit_exprs(1, &mut |e, level| {
        if let Expr::Outer { depth, col } = e {
            if *depth == level {
                *e = Expr::Const(row.get(*col).cloned().unwrap_or(Value::Null));
            }
        }
    });
    plan
}

/// Left rows joined with the LATERAL subquery's rows for each of them.
pub(crate) struct LateralNode {
    pub kind: JoinKind,
    pub left: Box<dyn Node>,
    pub plan: SelectPlan,
    pub right_width: usize,
    pub hash_keys: Vec<(Expr, Expr)>,
    pub qual: Option<Expr>,
    /// The current left row, its right rows still to try, and whether
    /// one matched.
    pub cur: Option<(Row, std::vec::IntoIter<Row>, bool)>,
}

impl LateralNode {
    fn matches(&self, l: &Row, r: &Row, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        for (le, re) in &self.hash_keys {
            let a = le.eval(l, cx)?;
            let b = re.eval(r, cx)?;
            if a.is_null()
                || b.is_null()
                || crate::value::compare(&a, &b) != std::cmp::Ordering::Equal
            {
                return Ok(None);
            }
        }
        let mut joined = l.clone();
        joined.extend(r.iter().cloned());
        if let Some(q) = &self.qual {
            if !matches!(q.eval(&joined, cx)?, Value::Bool(true)) {
                return Ok(None);
            }
        }
        Ok(Some(joined))
    }
}

impl Node for LateralNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        loop {
            if self.cur.is_none() {
                let Some(l) = self.left.next(cx)? else {
                    return Ok(None);
                };
                cx.host.check_interrupts()?;
                let plan = with_left_row(&self.plan, &l);
                let mut node = build_plan(&plan, cx, &NoRelations)?;
                let mut rows = Vec::new();
                while let Some(mut r) = node.next(cx)? {
                    r.truncate(plan.visible);
                    rows.push(r);
                }
                node.close();
                self.cur = Some((l, rows.into_iter(), false));
            }
            let (l, mut rest, mut matched) = self.cur.take().expect("set above");
            while let Some(r) = rest.next() {
                if let Some(j) = self.matches(&l, &r, cx)? {
                    matched = true;
                    self.cur = Some((l, rest, matched));
                    return Ok(Some(j));
                }
            }
            if !matched && self.kind == JoinKind::Left {
                let mut j = l;
                j.extend(std::iter::repeat_n(Value::Null, self.right_width));
                return Ok(Some(j));
            }
        }
    }
    fn close(&mut self) {
        self.left.close();
        self.cur = None;
    }
}
