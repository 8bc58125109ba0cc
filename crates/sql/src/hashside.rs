//! Which input a hash join builds its table on: the one with fewer estimated rows, as PostgreSQL's costs choose.
//!
//! Why here and why this way: PostgreSQL hashes the smaller side of an
//! inner join, and of a LEFT/RIGHT join may hash the preserved side
//! ("Hash Right Join"); EXPLAIN shows it and a join without ORDER BY
//! returns its rows in the probe side's order, so tusk picks the same
//! side. tusk keeps no statistics, so the estimate is PostgreSQL's
//! for a table never analyzed (its pages now, tuples by the row width)
//! with default selectivities, the numbers EXPLAIN prints. The executor
//! builds a swapped join node and rotates each joined row back
//! ([`SwapNode`]), so the row the plan sees keeps its column order.

use tusk_common::PgError;

use crate::catalog::RelationSource;
use crate::exec::{Node, Relations, Row};
use crate::expr::{Ctx, Expr};
use crate::plan::{JoinKind, JoinPlan, Source};

const CPU_OP: f64 = 0.0025;
const CPU_TUPLE: f64 = 0.01;

/// Whether a hash join of `j` (inputs `left` and `right`, estimated at
/// `l` and `r` rows) builds on its left input: an inner or one-sided
/// outer join for which hashing the left costs strictly less by
/// PostgreSQL's formula (a tie keeps the written order, as PostgreSQL's
/// first-considered path wins a tie).
pub(crate) fn build_left(
    j: &JoinPlan,
    left: &Source,
    right: &Source,
    (l, r): (f64, f64),
    relations: &dyn Relations,
) -> bool {
    if j.hash_keys.is_empty()
        || !matches!(j.kind, JoinKind::Inner | JoinKind::Left | JoinKind::Right)
        || matches!(right, Source::LateralSubquery(_))
    {
        return false;
    }
    let lu = j
        .hash_keys
        .iter()
        .any(|(k, _)| unique_key(left, k, relations));
    let ru = j
        .hash_keys
        .iter()
        .any(|(_, k)| unique_key(right, k, relations));
    let n = j.hash_keys.len() as f64;
    hash_cost(l, r, lu, n) < hash_cost(r, l, ru, n)
}

/// PostgreSQL's cost of hashing `build` rows and probing with `probe`
/// rows (final_cost_hashjoin): building, hashing each probe row, and the
/// key comparisons in the probed buckets, whose size comes from the
/// build key's distinct values (estimate_hash_bucket_stats: a unique key
/// has one row per value; a key of unknown distinctness in a table of
/// 200 rows or more counts a tenth of the rows per bucket).
fn hash_cost(build: f64, probe: f64, unique: bool, nkeys: f64) -> f64 {
    let nbuckets = build.max(1024.0).log2().ceil().exp2();
    let bucket = if unique || build < 200.0 {
        (1.0 / build.max(1.0)).max(1.0 / nbuckets)
    } else {
        (1.0 / nbuckets).max(0.1)
    };
    build * (CPU_OP * nkeys + CPU_TUPLE)
        + probe * CPU_OP * nkeys
        + probe * (build * bucket).max(1.0) * 0.5 * CPU_OP
}

/// Whether `key` is a column of the table `src` with a one-column unique
/// index.
fn unique_key(src: &Source, key: &Expr, relations: &dyn Relations) -> bool {
    let Source::Relation(rel) = src else {
        return false;
    };
    let col = match key {
        Expr::Column(c) => *c,
        Expr::Cast { arg, .. } => match **arg {
            Expr::Column(c) => c,
            _ => return false,
        },
        _ => return false,
    };
    if col >= rel.columns.len() || !matches!(rel.source, RelationSource::Table(_)) {
        return false;
    }
    let q = crate::index::ScanQual {
        col,
        op: crate::index::QualOp::Eq,
        value: crate::value::Value::Int4(0),
        expr: None,
    };
    relations
        .index_choice(rel, &[q], None)
        .is_some_and(|ch| ch.unique && ch.cols == [col])
}

/// The estimated rows of `src` filtered by `conds` (PostgreSQL's
/// defaults; EXPLAIN's walk prints the same for plain scans).
pub(crate) fn est_rows(src: &Source, conds: &[Expr], relations: &dyn Relations) -> f64 {
    let sel: f64 = conds.iter().map(crate::explain::selectivity).product();
    let base = match src {
        Source::Relation(rel) => match rel.source {
            RelationSource::Table(_) => {
                let width: u32 = rel
                    .columns
                    .iter()
                    .map(|c| crate::explain::type_width(c.ty))
                    .sum();
                // Its pages now (10 if none, as EXPLAIN counts: tusk has
                // no ANALYZE counts, which PostgreSQL's regression tables
                // have). An inheritance parent counts its own pages (none
                // is none: PostgreSQL's never-vacuumed floor skips a table
                // with subclasses) and each member's, a member without
                // subclasses of its own at least 10 pages, as
                // PostgreSQL's estimate_rel_size takes a never-vacuumed
                // table.
                let blocks = |r: &crate::catalog::Relation| relations.heap_blocks(r).unwrap_or(0);
                let pages = if rel.children.is_empty() {
                    match blocks(rel) {
                        0 => 10.0,
                        b => b as f64,
                    }
                } else {
                    let members: u32 = rel
                        .children
                        .iter()
                        .map(|c| {
                            let leaf = !rel.children.iter().any(|o| o.parent == c.rel.name);
                            let b = blocks(&c.rel);
                            if leaf && b < 10 {
                                10
                            } else {
                                b
                            }
                        })
                        .sum();
                    (blocks(rel) + members) as f64
                };
                let density = ((8192.0 - 24.0) / (width as f64 + 28.0)).floor().max(1.0);
                (density * pages).round()
            }
            _ => 1000.0,
        },
        Source::Join(j) => {
            let l = est_rows(&j.left, &[], relations);
            let r = est_rows(&j.right, &[], relations);
            let jsel = 0.005f64.powi(j.hash_keys.len() as i32);
            let qsel = j.qual.as_ref().map_or(1.0, crate::explain::selectivity);
            match j.kind {
                JoinKind::Inner => l * r * jsel * qsel,
                JoinKind::Semi => l * (r * jsel * qsel).min(1.0),
                JoinKind::Anti => l * (1.0 - (r * jsel * qsel).min(1.0)),
                JoinKind::Left => (l * r * jsel * qsel).max(l),
                JoinKind::Right => (l * r * jsel * qsel).max(r),
                JoinKind::Full => (l * r * jsel * qsel).max(l + r),
            }
        }
        Source::Subquery(p) => {
            let conds = crate::exec::conjuncts(p.filter.clone());
            let rows = est_rows(&p.source, &conds, relations);
            match (&p.aggs, p.group_by.is_empty()) {
                (Some(_), true) => 1.0,
                (Some(_), false) => rows.min(200.0),
                _ => rows,
            }
        }
        Source::Values(rows) => rows.len() as f64,
        Source::Rows(rows) => rows.len() as f64,
        Source::Result => 1.0,
        _ => 1000.0,
    };
    (base * sel).max(1.0)
}

/// `j` seen from its right input: the inputs, their widths and the key
/// pairs swapped, a one-sided outer join turned around, the condition's
/// columns renumbered over the swapped row.
pub(crate) fn swapped(j: &JoinPlan) -> JoinPlan {
    let (lw, rw) = (j.left_width, j.right_width);
    let mut qual = j.qual.clone();
    if let Some(q) = &mut qual {
        q.map_columns(&|c| if c < lw { c + rw } else { c - lw });
    }
    JoinPlan {
        kind: match j.kind {
            JoinKind::Left => JoinKind::Right,
            JoinKind::Right => JoinKind::Left,
            k => k,
        },
        left: Source::Result,
        right: Source::Result,
        left_width: rw,
        right_width: lw,
        hash_keys: j
            .hash_keys
            .iter()
            .map(|(a, b)| (b.clone(), a.clone()))
            .collect(),
        qual,
    }
}

/// A join node built on its left input: the swapped join's rows (right
/// columns first) turned back into the plan's order.
pub(crate) struct SwapNode {
    pub input: Box<dyn Node>,
    /// The plan's right input's width: how far each row rotates.
    pub right_width: usize,
}

impl Node for SwapNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        Ok(self.input.next(cx)?.map(|mut r| {
            let k = self.right_width.min(r.len());
            r.rotate_left(k);
            r
        }))
    }
    fn close(&mut self) {
        self.input.close();
    }
}
