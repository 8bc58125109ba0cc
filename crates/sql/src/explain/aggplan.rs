//! EXPLAIN's choices for aggregation that PostgreSQL 15 makes by rule:
//! GROUP BY with an aggregate that sorts its input (ORDER BY, DISTINCT
//! or WITHIN GROUP inside the call) cannot hash (planner.c's can_hash
//! needs no ordered aggregates), so it is a GroupAggregate over a Sort by
//! the group keys; and `SELECT min(col)/max(col) FROM table [WHERE ...]`
//! is planned as planagg.c does: each aggregate becomes an InitPlan
//! that reads the first row of an index scan in the aggregate's order
//! with `col IS NOT NULL` added to its conditions, under a Result.
//!
//! Why only in EXPLAIN's walk: the executor's answer is the same either
//! way (an Aggregate over the scan), but the plan printed is the one
//! PostgreSQL chooses when an index leads with the column (after
//! columns the WHERE fixes by equality), so the query shows that plan.
//! Runs in the backend that runs the EXPLAIN.

use super::*;

/// Whether a GROUP BY with these aggregates must sort rather than hash
/// (an aggregate with DISTINCT or ORDER BY in the call).
pub(super) fn sorted_grouping(aggs: &[AggCall]) -> bool {
    aggs.iter()
        .any(|a| matches!(a, AggCall::Modified(m) if m.distinct || !m.order.is_empty()))
}

/// `input` under a Sort by `keys` (as the GroupAggregate's outer input).
pub(super) fn sort_by_keys(mut input: PNode, keys: Vec<String>) -> PNode {
    input.parent = Some("Outer");
    let n = input.rows.max(2.0);
    let startup = input.total + 2.0 * CPU_OP * n * n.log2();
    PNode {
        node_type: "Sort",
        props: vec![("Sort Key", Prop::List(keys))],
        startup,
        total: startup + CPU_OP * input.rows,
        rows: input.rows,
        width: input.width,
        stats: input.stats.clone(),
        children: vec![input],
        ..Default::default()
    }
}

impl Walk<'_> {
    /// The min/max plan of `plan`, when PostgreSQL would use one.
    pub(super) fn minmax_plan(&mut self, plan: &SelectPlan) -> Result<Option<PNode>, PgError> {
        let Source::Relation(rel) = &plan.source else {
            return Ok(None);
        };
        let Some(aggs) = &plan.aggs else {
            return Ok(None);
        };
        if self.verbose
            || aggs.is_empty()
            || !matches!(rel.source, RelationSource::Table(_))
            || !plan.group_by.is_empty()
            || !plan.group_exprs.is_empty()
            || plan.grouping_sets.is_some()
            || plan.having.is_some()
            || !plan.windows.is_empty()
            || !plan.srfs.is_empty()
            || plan.distinct
            || plan.distinct_on.is_some()
            || !plan.sort.is_empty()
            || plan.limit.is_some()
            || plan.offset.is_some()
            || plan.row_locks.is_some()
            || plan.targets.iter().any(|t| t.columns_used().1)
        {
            return Ok(None);
        }
        let base: Vec<Expr> = plan.filter.as_ref().map(conjuncts).unwrap_or_default();
        if base.iter().any(|c| c.columns_used().1) {
            return Ok(None);
        }
        let names = self.source_names(&plan.source);
        let mut quals = static_quals(&base);
        quals.extend(crate::index::shape_quals(
            rel,
            plan.filter.as_ref(),
            &mut crate::index::static_value,
        )?);
        let mut inits = Vec::with_capacity(aggs.len());
        for (i, a) in aggs.iter().enumerate() {
            let (col, desc) = match a {
                AggCall::Min(Expr::Column(c)) => (*c, false),
                AggCall::Max(Expr::Column(c)) => (*c, true),
                _ => return Ok(None),
            };
            let Some(ch) = self.relations.index_choice(rel, &quals, Some((col, desc))) else {
                return Ok(None);
            };
            let Some(pos) = ch.cols.iter().position(|c| *c == col) else {
                return Ok(None);
            };
            // The columns before it must be fixed by WHERE equalities for
            // the index order to be the column's.
            let fixed = |lead: usize| {
                base.iter()
                    .any(|q| matches!(q, Expr::Cmp(CmpOp::Eq, ..)) && index_col_of(q) == Some(lead))
            };
            if !ch.cols[..pos].iter().all(|c| fixed(*c)) {
                return Ok(None);
            }
            let (mut scan, _) =
                self.scan(rel, plan.filter.as_ref(), Some((col, desc)), &mut None)?;
            if scan.node_type != "Index Scan" || scan.index.as_deref() != Some(ch.name.as_str()) {
                return Ok(None);
            }
            let mut icond: Vec<(usize, Expr)> =
                vec![(pos, Expr::IsNull(Box::new(Expr::Column(col)), true))];
            icond.extend(
                base.iter()
                    .filter_map(|q| index_key_pos(rel, &ch, q).map(|k| (k, q.clone()))),
            );
            icond.sort_by_key(|(k, _)| *k);
            let conds: Vec<Expr> = icond.into_iter().map(|(_, q)| q).collect();
            let q = std::mem::replace(&mut self.dp.qualify, false);
            let text = qual_text(&mut self.dp, &conds, &names);
            self.dp.qualify = q;
            scan.props.retain(|(k, _)| *k != "Index Cond");
            scan.props.insert(0, ("Index Cond", Prop::Text(text)));
            let mut read: Vec<usize> = vec![col];
            for q in &base {
                read.extend(q.columns_used().0);
            }
            if read.iter().all(|c| ch.cols.contains(c)) {
                scan.node_type = "Index Only Scan";
            }
            // Each InitPlan scans its own copy of the table, which
            // ruleutils names apart: `t`, then `t t_1`, `t t_2`.
            if i > 0 {
                if let Some(r) = scan.relation.as_mut() {
                    let base = rel.alias.clone().unwrap_or_else(|| rel.name.clone());
                    r.2 = format!("{} {}", quote(&rel.name), quote(&format!("{base}_{i}")));
                }
            }
            scan.parent = Some("Outer");
            self.dp.subplans += 1;
            let k = self.dp.params;
            self.dp.params += 1;
            let limit = PNode {
                node_type: "Limit",
                startup: scan.startup,
                total: scan.startup + (scan.total - scan.startup) / scan.rows.max(1.0),
                rows: 1.0,
                width: scan.width,
                parent: Some("InitPlan"),
                subplan_name: Some(format!("InitPlan {} (returns ${k})", self.dp.subplans)),
                children: vec![scan],
                ..Default::default()
            };
            inits.push(limit);
        }
        let total: f64 = inits.iter().map(|p| p.total).sum();
        Ok(Some(PNode {
            node_type: "Result",
            startup: total,
            total: total + CPU_TUPLE,
            rows: 1.0,
            width: 4 * aggs.len() as u32,
            children: inits,
            ..Default::default()
        }))
    }
}
