//! Ordered-set aggregates (`f(direct args) WITHIN GROUP (ORDER BY ...)`):
//! percentile_cont, percentile_disc, mode and the hypothetical-set rank,
//! dense_rank, percent_rank and cume_dist, computed as PostgreSQL's
//! orderedsetaggs.c defines them.
//!
//! Why this shape: the binder (crates/sql/src/bind/ordset.rs) wraps the
//! call in an ordinary [`crate::agg::Modified`] whose ORDER BY is the
//! WITHIN GROUP list, so the rows reach the aggregate already sorted and
//! it only keeps them ([`crate::agg::ExtState::Rows`]) and reads its
//! answer off the sorted list when the group ends. The direct arguments
//! ride along with each row (they are constant over a group); a group of
//! no rows needs none of them (every function here has a fixed answer
//! then). Pure functions over values; any backend runs them.

use std::cmp::Ordering;

use tusk_common::{sqlstate, PgError};

use crate::types;
use crate::value::{compare, Value};

/// Which ordered-set aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrdSetFn {
    PercentileCont,
    PercentileDisc,
    Mode,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
}

/// A bound ordered-set call: the function, whether its fraction is an
/// array (one answer per element), whether percentile_cont interpolates
/// intervals, and the WITHIN GROUP keys' count and directions (bit i of
/// `desc` / `nulls_first` for key i), which the hypothetical-set
/// functions compare their direct arguments by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OrdSpec {
    pub f: OrdSetFn,
    pub array: bool,
    pub interval: bool,
    pub keys: u8,
    pub desc: u32,
    pub nulls_first: u32,
}

/// The ordered-set aggregate `name` names, if any.
pub(crate) fn ordered_set_fn(name: &str) -> Option<OrdSetFn> {
    Some(match name {
        "percentile_cont" => OrdSetFn::PercentileCont,
        "percentile_disc" => OrdSetFn::PercentileDisc,
        "mode" => OrdSetFn::Mode,
        "rank" => OrdSetFn::Rank,
        "dense_rank" => OrdSetFn::DenseRank,
        "percent_rank" => OrdSetFn::PercentRank,
        "cume_dist" => OrdSetFn::CumeDist,
        _ => return None,
    })
}

/// The SQL name of an ordered-set aggregate (EXPLAIN, errors).
pub(crate) fn fn_name(f: OrdSetFn) -> &'static str {
    match f {
        OrdSetFn::PercentileCont => "percentile_cont",
        OrdSetFn::PercentileDisc => "percentile_disc",
        OrdSetFn::Mode => "mode",
        OrdSetFn::Rank => "rank",
        OrdSetFn::DenseRank => "dense_rank",
        OrdSetFn::PercentRank => "percent_rank",
        OrdSetFn::CumeDist => "cume_dist",
    }
}

fn bad_fraction(p: f64) -> PgError {
    PgError::error(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        format!("percentile value {p} is not between 0 and 1"),
    )
}

fn fraction(v: &Value) -> Result<Option<f64>, PgError> {
    let p = match v {
        Value::Null => return Ok(None),
        Value::Float8(f) => *f,
        Value::Float4(f) => *f as f64,
        Value::Numeric(n) => n.to_f64(),
        Value::Int4(i) => *i as f64,
        Value::Int8(i) => *i as f64,
        Value::Int2(i) => *i as f64,
        _ => return Ok(None),
    };
    if !(0.0..=1.0).contains(&p) {
        return Err(bad_fraction(p));
    }
    Ok(Some(p))
}

/// One percentile over the sorted non-NULL values.
fn percentile(spec: &OrdSpec, vals: &[&Value], p: f64) -> Result<Value, PgError> {
    let n = vals.len();
    if spec.f == OrdSetFn::PercentileDisc {
        let rownum = (p * n as f64).ceil() as usize;
        return Ok(vals[rownum.max(1) - 1].clone());
    }
    let pos = p * (n as f64 - 1.0);
    let (first, second) = (pos.floor() as usize, pos.ceil() as usize);
    let (lo, hi) = (vals[first], vals[second.min(n - 1)]);
    if first == second {
        return Ok(lo.clone());
    }
    let prop = pos - first as f64;
    Ok(match (lo, hi) {
        (Value::Interval(a), Value::Interval(b)) => {
            let out = b
                .checked_sub(a)
                .and_then(|d| d.mul(prop))
                .and_then(|d| a.checked_add(&d))
                .ok_or_else(|| {
                    PgError::error(sqlstate::DATETIME_FIELD_OVERFLOW, "interval out of range")
                })?;
            Value::Interval(out)
        }
        (Value::Float8(a), Value::Float8(b)) => Value::Float8(a + (b - a) * prop),
        _ => Value::Null,
    })
}

/// The result of an ordered-set call over its group's rows, each the
/// WITHIN GROUP values then the direct arguments, sorted by the former.
/// `ret` is the result type (an array's for the array forms).
pub(crate) fn finish(
    spec: &OrdSpec,
    ret: types::Oid,
    rows: Vec<Vec<Value>>,
) -> Result<Value, PgError> {
    let k = spec.keys as usize;
    match spec.f {
        OrdSetFn::PercentileCont | OrdSetFn::PercentileDisc => {
            let Some(direct) = rows.first().and_then(|r| r.get(1)).cloned() else {
                return Ok(Value::Null);
            };
            let vals: Vec<&Value> = rows
                .iter()
                .map(|r| &r[0])
                .filter(|v| !v.is_null())
                .collect();
            if !spec.array {
                let Some(p) = fraction(&direct)? else {
                    return Ok(Value::Null);
                };
                if vals.is_empty() {
                    return Ok(Value::Null);
                }
                return percentile(spec, &vals, p);
            }
            let Value::Array(fr) = direct else {
                return Ok(Value::Null);
            };
            let mut items = Vec::with_capacity(fr.items.len());
            for v in &fr.items {
                items.push(match fraction(v)? {
                    None => Value::Null,
                    Some(_) if vals.is_empty() => Value::Null,
                    Some(p) => percentile(spec, &vals, p)?,
                });
            }
            if vals.is_empty() {
                return Ok(Value::Null);
            }
            let elem = crate::array::elem_type(ret).unwrap_or(types::FLOAT8);
            Ok(Value::Array(Box::new(crate::array::Array {
                elem,
                dims: fr.dims.clone(),
                items,
            })))
        }
        OrdSetFn::Mode => {
            let mut best: Option<(&Value, usize)> = None;
            let mut run: Option<(&Value, usize)> = None;
            for v in rows.iter().map(|r| &r[0]).filter(|v| !v.is_null()) {
                run = match run {
                    Some((r, n)) if compare(r, v) == Ordering::Equal => Some((r, n + 1)),
                    _ => Some((v, 1)),
                };
                let (r, n) = run.expect("set above");
                if best.is_none_or(|(_, m)| n > m) {
                    best = Some((r, n));
                }
            }
            Ok(best.map_or(Value::Null, |(v, _)| v.clone()))
        }
        OrdSetFn::Rank | OrdSetFn::DenseRank | OrdSetFn::PercentRank | OrdSetFn::CumeDist => {
            let total = rows.len();
            let hyp: Vec<Value> = rows.first().map(|r| r[k..].to_vec()).unwrap_or_default();
            let cmp = |r: &[Value], h: &[Value]| -> Ordering {
                for i in 0..k {
                    let desc = spec.desc & (1 << i) != 0;
                    let nf = spec.nulls_first & (1 << i) != 0;
                    let o = crate::agg::cmp_nullable(&r[i], &h[i], desc, nf);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            };
            let less = rows
                .iter()
                .filter(|r| cmp(r, &hyp) == Ordering::Less)
                .count();
            Ok(match spec.f {
                OrdSetFn::Rank => Value::Int8(less as i64 + 1),
                OrdSetFn::PercentRank => Value::Float8(if total == 0 {
                    0.0
                } else {
                    less as f64 / total as f64
                }),
                OrdSetFn::CumeDist => {
                    let le = rows
                        .iter()
                        .filter(|r| cmp(r, &hyp) != Ordering::Greater)
                        .count();
                    Value::Float8((le + 1) as f64 / (total + 1) as f64)
                }
                _ => {
                    // Peer groups before the hypothetical row: the rows are
                    // sorted, so each change of key starts one.
                    let mut groups = 0i64;
                    let mut prev: Option<&[Value]> = None;
                    for r in rows.iter().filter(|r| cmp(r, &hyp) == Ordering::Less) {
                        if prev.is_none_or(|p| cmp(p, &r[..k]) != Ordering::Equal) {
                            groups += 1;
                        }
                        prev = Some(&r[..k]);
                    }
                    Value::Int8(groups + 1)
                }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(f: OrdSetFn) -> OrdSpec {
        OrdSpec {
            f,
            array: false,
            interval: false,
            keys: 1,
            desc: 0,
            nulls_first: 0,
        }
    }

    fn rows(xs: &[i32], direct: Value) -> Vec<Vec<Value>> {
        xs.iter()
            .map(|x| vec![Value::Int4(*x), direct.clone()])
            .collect()
    }

    #[test]
    fn hypothetical_ranks() {
        let r = rows(&[1, 1, 2, 2, 3, 3, 4], Value::Int4(3));
        let s = |f| finish(&spec(f), types::INT8, r.clone()).unwrap();
        assert!(matches!(s(OrdSetFn::Rank), Value::Int8(5)));
        assert!(matches!(s(OrdSetFn::DenseRank), Value::Int8(3)));
        assert!(matches!(s(OrdSetFn::CumeDist), Value::Float8(f) if f == 0.875));
    }

    #[test]
    fn percentiles() {
        let r: Vec<Vec<Value>> = (1..=5)
            .map(|x| vec![Value::Float8(x as f64), Value::Float8(0.1)])
            .collect();
        let v = finish(&spec(OrdSetFn::PercentileCont), types::FLOAT8, r.clone()).unwrap();
        assert!(matches!(v, Value::Float8(f) if (f - 1.4).abs() < 1e-12));
        let v = finish(&spec(OrdSetFn::PercentileDisc), types::FLOAT8, r).unwrap();
        assert!(matches!(v, Value::Float8(f) if f == 1.0));
    }
}
