//! The aggregates beyond count/sum/avg/min/max/json_agg (string_agg,
//! array_agg, bool_and/bool_or/every, bit_and/bit_or/bit_xor, the
//! statistical ones) and the modifiers of any aggregate call (DISTINCT,
//! ORDER BY inside the call, FILTER (WHERE ...)).
//!
//! Why a separate module with two `AggCall` variants rather than one
//! variant per function: the executor's aggregate nodes and the window
//! node only call `agg_state`/`agg_step`/`agg_final`, so every function
//! here is one more arm of [`AggFn`]'s kind, reached through those three
//! hooks. Modifiers wrap any call ([`Modified`]): the wrapped call's
//! arguments are moved out and replaced by columns of a small row of
//! their values, so the wrapped aggregate steps unchanged over the rows
//! FILTER let through, sorted (ORDER BY) and deduplicated (DISTINCT) when
//! the group ends, as PostgreSQL's nodeAgg does with its per-call sorts.
//! The float8 statistics keep PostgreSQL's transition values (N, Sx, Sxx
//! and Sy, Syy, Sxy) updated by the Youngs-Cramer formulas and finish with
//! PostgreSQL's expressions, so results print digit for digit the same;
//! over integers and numerics they use exact numeric sums and PostgreSQL's
//! result scale. Pure functions over rows; any backend calls them.

use std::cmp::Ordering;

use tusk_common::{sqlstate, PgError};

use crate::exec::AggState;
use crate::expr::{Ctx, Expr};
use crate::numeric::Numeric;
use crate::plan::AggCall;
use crate::types::{self, Oid};
use crate::value::{compare, Value};

/// Which aggregate an [`AggFn`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AggKind {
    /// string_agg(text, text) or (bytea, bytea) (`true`).
    StringAgg(bool),
    /// array_agg of non-arrays: an array of element type `.0`.
    ArrayAgg(Oid),
    /// array_agg of arrays of element type `.0`: one more dimension.
    ArrayAggArrays(Oid),
    BoolAnd,
    BoolOr,
    BitAnd,
    BitOr,
    BitXor,
    /// var_samp, var_pop, stddev_samp, stddev_pop over float8 (`.1`
    /// false) or exactly over numeric (`.1` true).
    Stat1(Stat1, bool),
    /// The two-argument float8 statistics (Y, X).
    Stat2(Stat2),
    /// range_agg of ranges or multiranges: the multirange `.0`.
    RangeAgg(Oid),
    /// range_intersect_agg of ranges or multiranges.
    RangeIntersect,
    /// A user-defined aggregate: its bound call in useragg.rs's registry.
    User(u32),
    /// GROUPING(...): its arguments are the group keys' positions as
    /// constants; 0 outside grouping sets, else computed by
    /// [`GroupingSetsNode`].
    Grouping,
    /// A column functionally dependent on the group keys
    /// (crates/sql/src/bind/fdep.rs): every row of a group has the same
    /// value, and this is the first.
    AnyValue,
    /// An ordered-set aggregate (crates/sql/src/ordset.rs).
    OrdSet(crate::ordset::OrdSpec),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stat1 {
    VarSamp,
    VarPop,
    StddevSamp,
    StddevPop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stat2 {
    CovarPop,
    CovarSamp,
    Corr,
    RegrCount,
    RegrSxx,
    RegrSyy,
    RegrSxy,
    RegrAvgX,
    RegrAvgY,
    RegrR2,
    RegrSlope,
    RegrIntercept,
}

/// One call of an aggregate of this module: its name (for EXPLAIN), what
/// it computes, and its arguments over the input row.
#[derive(Debug, Clone)]
pub(crate) struct AggFn {
    pub name: &'static str,
    pub kind: AggKind,
    pub args: Vec<Expr>,
    /// The result type (bit_and and friends keep their argument's).
    pub ret: Oid,
}

/// DISTINCT / ORDER BY / FILTER around any aggregate call. `inner` reads
/// columns 0.. of a row of `args`' values.
#[derive(Debug, Clone)]
pub(crate) struct Modified {
    pub inner: AggCall,
    pub args: Vec<Expr>,
    /// ORDER BY inside the call: expression, DESC, NULLS FIRST.
    pub order: Vec<(Expr, bool, bool)>,
    pub distinct: bool,
    pub filter: Option<Expr>,
}

/// The transition value of this module's aggregates.
#[derive(Clone)]
pub(crate) enum ExtState {
    /// string_agg: the bytes so far (None until a non-NULL value).
    Bytes(Option<Vec<u8>>),
    /// array_agg: every value so far; for arrays of arrays also the
    /// common inner dimensions once the first array came.
    Items(Vec<Value>, Option<Vec<(i32, i32)>>, usize),
    Bool(Option<bool>),
    Bits(Option<i64>),
    Float1 {
        n: f64,
        sx: f64,
        sxx: f64,
    },
    Numeric1 {
        n: i64,
        sx: Numeric,
        sxx: Numeric,
    },
    Float2 {
        n: f64,
        sx: f64,
        sxx: f64,
        sy: f64,
        syy: f64,
        sxy: f64,
    },
    /// A user-defined aggregate: the state and whether it has started.
    User(Value, bool),
    /// A [`Modified`] call: the rows kept for sorting (argument values,
    /// ORDER BY values), or the wrapped call's state when nothing is
    /// sorted.
    Kept(Vec<(Vec<Value>, Vec<Value>)>, Box<AggState>),
    /// An ordered-set aggregate: its input rows, in WITHIN GROUP order.
    Rows(Vec<Vec<Value>>),
}

/// Whether `name` is an aggregate of this module.
pub(crate) fn is_ext(name: &str) -> bool {
    ext_kind_name(name).is_some()
}

fn ext_kind_name(name: &str) -> Option<&'static str> {
    const NAMES: &[&str] = &[
        "string_agg",
        "array_agg",
        "bool_and",
        "bool_or",
        "every",
        "bit_and",
        "bit_or",
        "bit_xor",
        "variance",
        "var_samp",
        "var_pop",
        "stddev",
        "stddev_samp",
        "stddev_pop",
        "covar_pop",
        "covar_samp",
        "corr",
        "regr_count",
        "regr_sxx",
        "regr_syy",
        "regr_sxy",
        "regr_avgx",
        "regr_avgy",
        "regr_r2",
        "regr_slope",
        "regr_intercept",
        "range_agg",
        "range_intersect_agg",
    ];
    NAMES.iter().copied().find(|n| *n == name)
}

/// Every aggregate name a call with modifiers may use.
pub(crate) fn is_aggregate(name: &str) -> bool {
    is_ext(name)
        || matches!(
            name,
            "count"
                | "sum"
                | "avg"
                | "min"
                | "max"
                | "json_agg"
                | "jsonb_agg"
                | "json_object_agg"
                | "jsonb_object_agg"
        )
}

/// The argument types an aggregate of this module is bound at (None: no
/// such function for these types) and its kind and result type.
/// `tys` are the argument types after unknown literals became text.
pub(crate) fn resolve(name: &str, tys: &[Oid]) -> Option<(&'static str, AggKind, Vec<Oid>, Oid)> {
    use types::*;
    let name = ext_kind_name(name)?;
    let numeric_like = |t: Oid| matches!(t, INT2 | INT4 | INT8 | NUMERIC);
    let float_like = |t: Oid| matches!(t, FLOAT4 | FLOAT8);
    let stringy = |t: Oid| matches!(t, TEXT | VARCHAR | BPCHAR | NAME | UNKNOWN);
    Some(match (name, tys) {
        ("string_agg", [BYTEA, BYTEA]) => {
            (name, AggKind::StringAgg(true), vec![BYTEA, BYTEA], BYTEA)
        }
        ("string_agg", [a, b]) if stringy(*a) && stringy(*b) => {
            (name, AggKind::StringAgg(false), vec![TEXT, TEXT], TEXT)
        }
        ("array_agg", [t]) => match crate::array::elem_type(*t) {
            Some(elem) => (name, AggKind::ArrayAggArrays(elem), vec![*t], *t),
            None => {
                let arr = crate::array::array_type(*t)?;
                (name, AggKind::ArrayAgg(*t), vec![*t], arr)
            }
        },
        ("bool_and" | "every", [BOOL]) => (name, AggKind::BoolAnd, vec![BOOL], BOOL),
        ("bool_or", [BOOL]) => (name, AggKind::BoolOr, vec![BOOL], BOOL),
        ("bit_and" | "bit_or" | "bit_xor", [t @ (INT2 | INT4 | INT8)]) => {
            let kind = match name {
                "bit_and" => AggKind::BitAnd,
                "bit_or" => AggKind::BitOr,
                _ => AggKind::BitXor,
            };
            (name, kind, vec![*t], *t)
        }
        ("variance" | "var_samp" | "var_pop" | "stddev" | "stddev_samp" | "stddev_pop", [t])
            if numeric_like(*t) || float_like(*t) =>
        {
            let s = match name {
                "variance" | "var_samp" => Stat1::VarSamp,
                "var_pop" => Stat1::VarPop,
                "stddev" | "stddev_samp" => Stat1::StddevSamp,
                _ => Stat1::StddevPop,
            };
            if float_like(*t) {
                (name, AggKind::Stat1(s, false), vec![FLOAT8], FLOAT8)
            } else {
                (name, AggKind::Stat1(s, true), vec![*t], NUMERIC)
            }
        }
        (_, [y, x]) if name.starts_with("regr_") || name.starts_with("co") => {
            if !(numeric_like(*y) || float_like(*y)) || !(numeric_like(*x) || float_like(*x)) {
                return None;
            }
            let s = match name {
                "covar_pop" => Stat2::CovarPop,
                "covar_samp" => Stat2::CovarSamp,
                "corr" => Stat2::Corr,
                "regr_count" => Stat2::RegrCount,
                "regr_sxx" => Stat2::RegrSxx,
                "regr_syy" => Stat2::RegrSyy,
                "regr_sxy" => Stat2::RegrSxy,
                "regr_avgx" => Stat2::RegrAvgX,
                "regr_avgy" => Stat2::RegrAvgY,
                "regr_r2" => Stat2::RegrR2,
                "regr_slope" => Stat2::RegrSlope,
                _ => Stat2::RegrIntercept,
            };
            let ret = if s == Stat2::RegrCount { INT8 } else { FLOAT8 };
            (name, AggKind::Stat2(s), vec![FLOAT8, FLOAT8], ret)
        }
        ("range_agg", [t]) => {
            let multi = tusk_types::range::range_type(*t)
                .map(|r| r.multi)
                .or_else(|| tusk_types::range::multirange_type(*t).map(|r| r.multi))?;
            (name, AggKind::RangeAgg(multi), vec![*t], multi)
        }
        ("range_intersect_agg", [t])
            if tusk_types::range::is_range(*t) || tusk_types::range::is_multirange(*t) =>
        {
            (name, AggKind::RangeIntersect, vec![*t], *t)
        }
        _ => return None,
    })
}

pub(crate) fn ext_state(f: &AggFn) -> ExtState {
    match f.kind {
        AggKind::StringAgg(_) => ExtState::Bytes(None),
        AggKind::ArrayAgg(_) | AggKind::ArrayAggArrays(_) => ExtState::Items(Vec::new(), None, 0),
        AggKind::BoolAnd | AggKind::BoolOr => ExtState::Bool(None),
        AggKind::BitAnd | AggKind::BitOr | AggKind::BitXor => ExtState::Bits(None),
        AggKind::Stat1(_, false) => ExtState::Float1 {
            n: 0.0,
            sx: 0.0,
            sxx: 0.0,
        },
        AggKind::Stat1(_, true) => ExtState::Numeric1 {
            n: 0,
            sx: Numeric::zero(),
            sxx: Numeric::zero(),
        },
        AggKind::Grouping => ExtState::Bool(None),
        AggKind::AnyValue => ExtState::Items(Vec::new(), None, 0),
        AggKind::OrdSet(_) => ExtState::Rows(Vec::new()),
        AggKind::User(id) => {
            let (v, started) = crate::useragg::start(id);
            ExtState::User(v, started)
        }
        AggKind::RangeAgg(_) | AggKind::RangeIntersect => ExtState::Items(Vec::new(), None, 0),
        AggKind::Stat2(_) => ExtState::Float2 {
            n: 0.0,
            sx: 0.0,
            sxx: 0.0,
            sy: 0.0,
            syy: 0.0,
            sxy: 0.0,
        },
    }
}

pub(crate) fn modified_state(m: &Modified) -> ExtState {
    ExtState::Kept(Vec::new(), Box::new(crate::exec::agg_state(&m.inner)))
}

fn float_overflow() -> PgError {
    PgError::error(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        "value out of range: overflow",
    )
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Float8(f) => *f,
        Value::Float4(f) => *f as f64,
        Value::Int2(i) => *i as f64,
        Value::Int4(i) => *i as f64,
        Value::Int8(i) => *i as f64,
        Value::Numeric(n) => n.to_f64(),
        _ => f64::NAN,
    }
}

fn as_numeric(v: &Value) -> Numeric {
    match v {
        Value::Int2(i) => Numeric::from_i64(*i as i64),
        Value::Int4(i) => Numeric::from_i64(*i as i64),
        Value::Int8(i) => Numeric::from_i64(*i),
        Value::Numeric(n) => n.clone(),
        _ => Numeric::nan(),
    }
}

fn as_i64(v: &Value) -> i64 {
    match v {
        Value::Int2(i) => *i as i64,
        Value::Int4(i) => *i as i64,
        Value::Int8(i) => *i,
        _ => 0,
    }
}

/// One input row of an [`AggFn`].
pub(crate) fn ext_step(
    f: &AggFn,
    st: &mut ExtState,
    row: &[Value],
    cx: &mut Ctx<'_>,
) -> Result<(), PgError> {
    if f.kind == AggKind::Grouping {
        return Ok(());
    }
    let mut vals = Vec::with_capacity(f.args.len());
    for a in &f.args {
        vals.push(a.eval(row, cx)?);
    }
    if let (AggKind::User(id), ExtState::User(v, started)) = (f.kind, &mut *st) {
        return crate::useragg::step(id, v, started, vals, cx);
    }
    match (f.kind, st) {
        (AggKind::AnyValue, ExtState::Items(items, _, _)) if items.is_empty() => {
            items.extend(vals.into_iter().take(1));
        }
        (AggKind::OrdSet(_), ExtState::Rows(rows)) => rows.push(vals),
        (AggKind::StringAgg(_), ExtState::Bytes(acc)) => {
            let bytes = |v: &Value| -> Option<Vec<u8>> {
                match v {
                    Value::Null => None,
                    Value::Bytea(b) => Some(b.clone()),
                    Value::Text(s) | Value::Name(s) => Some(s.as_bytes().to_vec()),
                    other => crate::value::encode_text(other),
                }
            };
            let Some(v) = bytes(&vals[0]) else {
                return Ok(());
            };
            match acc {
                None => *acc = Some(v),
                Some(a) => {
                    if let Some(d) = bytes(&vals[1]) {
                        a.extend_from_slice(&d);
                    }
                    a.extend_from_slice(&v);
                }
            }
        }
        (AggKind::ArrayAgg(_), ExtState::Items(items, _, _)) => items.push(vals.swap_remove(0)),
        // Strict transitions: NULL inputs are skipped.
        (AggKind::RangeAgg(_) | AggKind::RangeIntersect, ExtState::Items(items, _, _)) => {
            let v = vals.swap_remove(0);
            if !v.is_null() {
                items.push(v);
            }
        }
        (AggKind::ArrayAggArrays(_), ExtState::Items(items, dims, count)) => {
            let a = match vals.swap_remove(0) {
                Value::Array(a) => a,
                _ => {
                    return Err(PgError::error(
                        sqlstate::NULL_VALUE_NOT_ALLOWED,
                        "cannot accumulate null arrays",
                    ))
                }
            };
            if a.dims.is_empty() {
                return Err(PgError::error(
                    sqlstate::ARRAY_SUBSCRIPT_ERROR,
                    "cannot accumulate empty arrays",
                ));
            }
            match dims {
                None => *dims = Some(a.dims.clone()),
                Some(d) if *d == a.dims => {}
                Some(d) if d.len() != a.dims.len() => {
                    return Err(PgError::error(
                        sqlstate::ARRAY_SUBSCRIPT_ERROR,
                        "cannot accumulate arrays of different dimensionality",
                    ))
                }
                Some(_) => {
                    return Err(PgError::error(
                        sqlstate::ARRAY_SUBSCRIPT_ERROR,
                        "cannot accumulate arrays of different dimensionality",
                    ))
                }
            }
            if a.dims.len() + 1 > crate::array::MAXDIM {
                return Err(PgError::error(
                    sqlstate::PROGRAM_LIMIT_EXCEEDED,
                    format!(
                        "number of array dimensions ({}) exceeds the maximum allowed ({})",
                        a.dims.len() + 1,
                        crate::array::MAXDIM
                    ),
                ));
            }
            *count += 1;
            items.extend(a.items);
        }
        (AggKind::BoolAnd | AggKind::BoolOr, ExtState::Bool(acc)) => {
            if let Value::Bool(b) = vals[0] {
                *acc = Some(match (*acc, f.kind) {
                    (None, _) => b,
                    (Some(x), AggKind::BoolAnd) => x && b,
                    (Some(x), _) => x || b,
                });
            }
        }
        (AggKind::BitAnd | AggKind::BitOr | AggKind::BitXor, ExtState::Bits(acc))
            if !vals[0].is_null() =>
        {
            let b = as_i64(&vals[0]);
            *acc = Some(match (*acc, f.kind) {
                (None, _) => b,
                (Some(x), AggKind::BitAnd) => x & b,
                (Some(x), AggKind::BitOr) => x | b,
                (Some(x), _) => x ^ b,
            });
        }
        (AggKind::Stat1(..), ExtState::Float1 { n, sx, sxx }) => {
            if vals[0].is_null() {
                return Ok(());
            }
            let x = as_f64(&vals[0]);
            let old_n = *n;
            let old_sx = *sx;
            *n += 1.0;
            *sx += x;
            if old_n > 0.0 {
                let tmp = x * *n - *sx;
                *sxx += tmp * tmp / (*n * old_n);
                if sx.is_infinite() || sxx.is_infinite() {
                    if !old_sx.is_infinite() && !x.is_infinite() {
                        return Err(float_overflow());
                    }
                    *sxx = f64::NAN;
                }
            } else if x.is_nan() || x.is_infinite() {
                *sxx = f64::NAN;
            }
        }
        (AggKind::Stat1(..), ExtState::Numeric1 { n, sx, sxx }) => {
            if vals[0].is_null() {
                return Ok(());
            }
            let x = as_numeric(&vals[0]);
            *n += 1;
            *sx = sx.add(&x)?;
            *sxx = sxx.add(&x.mul(&x)?)?;
        }
        (
            AggKind::Stat2(_),
            ExtState::Float2 {
                n,
                sx,
                sxx,
                sy,
                syy,
                sxy,
            },
        ) => {
            if vals[0].is_null() || vals[1].is_null() {
                return Ok(());
            }
            let y = as_f64(&vals[0]);
            let x = as_f64(&vals[1]);
            let old_n = *n;
            let (old_sx, old_sy) = (*sx, *sy);
            *n += 1.0;
            *sx += x;
            *sy += y;
            if old_n > 0.0 {
                let tx = x * *n - *sx;
                let ty = y * *n - *sy;
                let scale = 1.0 / (*n * old_n);
                *sxx += tx * tx * scale;
                *syy += ty * ty * scale;
                *sxy += tx * ty * scale;
                if sx.is_infinite() || sxx.is_infinite() {
                    if !old_sx.is_infinite() && !x.is_infinite() {
                        return Err(float_overflow());
                    }
                    *sxx = f64::NAN;
                }
                if sy.is_infinite() || syy.is_infinite() {
                    if !old_sy.is_infinite() && !y.is_infinite() {
                        return Err(float_overflow());
                    }
                    *syy = f64::NAN;
                }
                if sxy.is_infinite() {
                    if !old_sx.is_infinite()
                        && !x.is_infinite()
                        && !old_sy.is_infinite()
                        && !y.is_infinite()
                    {
                        return Err(float_overflow());
                    }
                    *sxy = f64::NAN;
                }
            } else {
                if x.is_nan() || x.is_infinite() {
                    *sxx = f64::NAN;
                    *sxy = f64::NAN;
                }
                if y.is_nan() || y.is_infinite() {
                    *syy = f64::NAN;
                    *sxy = f64::NAN;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The result of an [`AggFn`] at the end of its group.
pub(crate) fn ext_final(f: &AggFn, st: ExtState) -> Result<Value, PgError> {
    Ok(match (f.kind, st) {
        (AggKind::Grouping, _) => Value::Int4(0),
        (AggKind::OrdSet(spec), ExtState::Rows(rows)) => crate::ordset::finish(&spec, f.ret, rows)?,
        (AggKind::AnyValue, ExtState::Items(items, _, _)) => {
            items.into_iter().next().unwrap_or(Value::Null)
        }
        (AggKind::RangeAgg(_) | AggKind::RangeIntersect, ExtState::Items(items, _, _))
            if items.is_empty() =>
        {
            Value::Null
        }
        (AggKind::RangeAgg(multi), ExtState::Items(items, _, _)) => {
            let ranges = items
                .iter()
                .flat_map(tusk_types::range::as_ranges)
                .collect();
            Value::Multirange(Box::new(tusk_types::range::canonical(multi, ranges)?))
        }
        (AggKind::RangeIntersect, ExtState::Items(items, _, _)) => {
            crate::ranges::intersect_all(items)?
        }
        (AggKind::StringAgg(bytea), ExtState::Bytes(acc)) => match acc {
            None => Value::Null,
            Some(b) if bytea => Value::Bytea(b),
            Some(b) => Value::Text(String::from_utf8_lossy(&b).into_owned()),
        },
        (AggKind::ArrayAgg(elem), ExtState::Items(items, _, _)) => {
            if items.is_empty() {
                Value::Null
            } else {
                Value::Array(Box::new(crate::array::Array::from_items(elem, items)))
            }
        }
        (AggKind::ArrayAggArrays(_), ExtState::Items(_, None, _)) => Value::Null,
        (AggKind::ArrayAggArrays(elem), ExtState::Items(items, Some(inner), count)) => {
            let mut dims = vec![(count as i32, 1)];
            dims.extend(inner);
            Value::Array(Box::new(crate::array::Array { elem, dims, items }))
        }
        (_, ExtState::Bool(b)) => b.map_or(Value::Null, Value::Bool),
        (_, ExtState::Bits(b)) => match (b, f.ret) {
            (None, _) => Value::Null,
            (Some(v), types::INT2) => Value::Int2(v as i16),
            (Some(v), types::INT4) => Value::Int4(v as i32),
            (Some(v), _) => Value::Int8(v),
        },
        (AggKind::Stat1(s, _), ExtState::Float1 { n, sxx, .. }) => {
            let samp = matches!(s, Stat1::VarSamp | Stat1::StddevSamp);
            if n == 0.0 || (samp && n <= 1.0) {
                return Ok(Value::Null);
            }
            let var = if samp { sxx / (n - 1.0) } else { sxx / n };
            Value::Float8(match s {
                Stat1::StddevSamp | Stat1::StddevPop => var.sqrt(),
                _ => var,
            })
        }
        (AggKind::Stat1(s, _), ExtState::Numeric1 { n, sx, sxx }) => numeric_stat(s, n, sx, sxx)?,
        (
            AggKind::Stat2(s),
            ExtState::Float2 {
                n,
                sx,
                sxx,
                sy,
                syy,
                sxy,
            },
        ) => {
            if s == Stat2::RegrCount {
                return Ok(Value::Int8(n as i64));
            }
            let min_n = if s == Stat2::CovarSamp { 2.0 } else { 1.0 };
            if n < min_n {
                return Ok(Value::Null);
            }
            let r = match s {
                Stat2::CovarPop => sxy / n,
                Stat2::CovarSamp => sxy / (n - 1.0),
                Stat2::Corr => {
                    if sxx == 0.0 || syy == 0.0 {
                        return Ok(Value::Null);
                    }
                    sxy / (sxx * syy).sqrt()
                }
                Stat2::RegrSxx => sxx,
                Stat2::RegrSyy => syy,
                Stat2::RegrSxy => sxy,
                Stat2::RegrAvgX => sx / n,
                Stat2::RegrAvgY => sy / n,
                Stat2::RegrR2 => {
                    if sxx == 0.0 {
                        return Ok(Value::Null);
                    }
                    if syy == 0.0 {
                        1.0
                    } else {
                        (sxy * sxy) / (sxx * syy)
                    }
                }
                Stat2::RegrSlope => {
                    if sxx == 0.0 {
                        return Ok(Value::Null);
                    }
                    sxy / sxx
                }
                Stat2::RegrIntercept => {
                    if sxx == 0.0 {
                        return Ok(Value::Null);
                    }
                    (sy - sx * sxy / sxx) / n
                }
                Stat2::RegrCount => unreachable!("returned above"),
            };
            Value::Float8(r)
        }
        _ => Value::Null,
    })
}

/// var/stddev over numeric sums, as PostgreSQL's numeric_stddev_internal:
/// N*Sxx - Sx*Sx exactly, divided at select_div_scale's scale, the square
/// root at that same scale.
fn numeric_stat(s: Stat1, n: i64, sx: Numeric, sxx: Numeric) -> Result<Value, PgError> {
    let samp = matches!(s, Stat1::VarSamp | Stat1::StddevSamp);
    if n == 0 || (samp && n <= 1) {
        return Ok(Value::Null);
    }
    if sx.is_nan() || sxx.is_nan() {
        return Ok(Value::Numeric(Numeric::nan()));
    }
    let vn = Numeric::from_i64(n);
    let num = vn.mul(&sxx)?.sub(&sx.mul(&sx)?)?;
    if num.cmp_total(&Numeric::zero()) != Ordering::Greater {
        return Ok(Value::Numeric(Numeric::zero()));
    }
    let den = if samp {
        vn.mul(&Numeric::from_i64(n - 1))?
    } else {
        vn.mul(&vn)?
    };
    let rscale = num.quotient_scale(&den);
    let var = num.div_at(&den, rscale)?;
    Ok(Value::Numeric(match s {
        Stat1::StddevSamp | Stat1::StddevPop => var.sqrt_at(rscale)?,
        _ => var,
    }))
}

/// One input row of a [`Modified`] call.
pub(crate) fn modified_step(
    m: &Modified,
    st: &mut ExtState,
    row: &[Value],
    cx: &mut Ctx<'_>,
) -> Result<(), PgError> {
    if let Some(f) = &m.filter {
        if !matches!(f.eval(row, cx)?, Value::Bool(true)) {
            return Ok(());
        }
    }
    let mut vals = Vec::with_capacity(m.args.len());
    for a in &m.args {
        vals.push(a.eval(row, cx)?);
    }
    let ExtState::Kept(kept, inner) = st else {
        return Ok(());
    };
    if !m.distinct && m.order.is_empty() {
        return crate::exec::agg_step(&m.inner, inner, &vals, cx);
    }
    let mut keys = Vec::with_capacity(m.order.len());
    for (e, _, _) in &m.order {
        keys.push(e.eval(row, cx)?);
    }
    kept.push((vals, keys));
    Ok(())
}

pub(crate) fn cmp_nullable(a: &Value, b: &Value, desc: bool, nulls_first: bool) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) if nulls_first => Ordering::Less,
        (true, false) => Ordering::Greater,
        (false, true) if nulls_first => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if desc => compare(a, b).reverse(),
        _ => compare(a, b),
    }
}

/// The result of a [`Modified`] call: the kept rows sorted by the call's
/// ORDER BY (then, for DISTINCT, by the arguments, so equal argument rows
/// are neighbours and one of each is fed), stepped through the wrapped
/// aggregate.
pub(crate) fn modified_final(
    m: &Modified,
    st: ExtState,
    cx: &mut Ctx<'_>,
) -> Result<Value, PgError> {
    let ExtState::Kept(mut kept, mut inner) = st else {
        return Ok(Value::Null);
    };
    if m.distinct || !m.order.is_empty() {
        crate::pgsort::sort_by(&mut kept, |a, b| {
            for (i, (_, desc, nf)) in m.order.iter().enumerate() {
                let o = cmp_nullable(&a.1[i], &b.1[i], *desc, *nf);
                if o != Ordering::Equal {
                    return o;
                }
            }
            if m.distinct {
                for (x, y) in a.0.iter().zip(&b.0) {
                    let o = cmp_nullable(x, y, false, false);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
            }
            Ordering::Equal
        });
        let mut prev: Option<Vec<Value>> = None;
        for (vals, _) in kept {
            if m.distinct {
                if let Some(p) = &prev {
                    let same = p
                        .iter()
                        .zip(&vals)
                        .all(|(x, y)| cmp_nullable(x, y, false, false) == Ordering::Equal);
                    if same {
                        continue;
                    }
                }
            }
            crate::exec::agg_step(&m.inner, &mut inner, &vals, cx)?;
            if m.distinct {
                prev = Some(vals);
            }
        }
    }
    crate::exec::agg_final(&m.inner, *inner, cx)
}

impl AggCall {
    /// Every expression the call evaluates over its input row.
    pub(crate) fn exprs_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            AggCall::CountStar => Vec::new(),
            AggCall::Count(e)
            | AggCall::Sum(e, _)
            | AggCall::Avg(e, _)
            | AggCall::Min(e)
            | AggCall::Max(e)
            | AggCall::Json { arg: e, .. } => vec![e],
            AggCall::Ext(f) => f.args.iter_mut().collect(),
            AggCall::Modified(m) => m
                .args
                .iter_mut()
                .chain(m.order.iter_mut().map(|o| &mut o.0))
                .chain(m.filter.iter_mut())
                .collect(),
        }
    }

    /// The function's name, for EXPLAIN.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            AggCall::CountStar | AggCall::Count(_) => "count",
            AggCall::Sum(..) => "sum",
            AggCall::Avg(..) => "avg",
            AggCall::Min(_) => "min",
            AggCall::Max(_) => "max",
            AggCall::Json { b, object, .. } => match (b, object) {
                (false, false) => "json_agg",
                (true, false) => "jsonb_agg",
                (false, true) => "json_object_agg",
                (true, true) => "jsonb_object_agg",
            },
            AggCall::Ext(f) => f.name,
            AggCall::Modified(m) => m.inner.name(),
        }
    }
}

/// Moves a call's argument expressions out (for [`Modified::args`]),
/// leaving columns 0.. of the argument row in their place.
pub(crate) fn take_args(call: &mut AggCall) -> Vec<Expr> {
    call.exprs_mut()
        .into_iter()
        .enumerate()
        .map(|(i, e)| std::mem::replace(e, Expr::Column(i)))
        .collect()
}

/// GROUP BY expressions: each input row with the expressions' values
/// appended (the key columns `SelectPlan::group_by` names past the
/// source's columns). Pulls one row per row; any backend runs it.
pub(crate) struct ExtendNode {
    pub input: Box<dyn crate::exec::Node>,
    pub exprs: Vec<Expr>,
}

impl crate::exec::Node for ExtendNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<crate::exec::Row>, PgError> {
        let Some(mut r) = self.input.next(cx)? else {
            return Ok(None);
        };
        for e in &self.exprs {
            let v = e.eval(&r, cx)?;
            r.push(v);
        }
        Ok(Some(r))
    }
    fn close(&mut self) {
        self.input.close();
    }
}

/// GROUPING(...) in a row of grouping set `set` (positions in the group
/// keys): bit i (counted from the last argument) is set when argument i is
/// not grouped on in that set.
fn grouping_value(f: &AggFn, set: &[usize]) -> Value {
    let mut mask = 0i32;
    for a in &f.args {
        mask <<= 1;
        if let Expr::Const(Value::Int4(k)) = a {
            if !set.contains(&(*k as usize)) {
                mask |= 1;
            }
        }
    }
    Value::Int4(mask)
}

/// GROUP BY GROUPING SETS / ROLLUP / CUBE: one pass over the input keeps a
/// transition state per (set, group); then each set's groups leave in key
/// order, set after set, the keys outside the set NULL (an empty set gives
/// its one row even over no input, as a plain aggregate does).
pub(crate) struct GroupingSetsNode {
    pub input: Box<dyn crate::exec::Node>,
    pub aggs: Vec<AggCall>,
    pub keys: Vec<usize>,
    pub sets: Vec<Vec<usize>>,
    pub out: Option<std::vec::IntoIter<crate::exec::Row>>,
}

impl crate::exec::Node for GroupingSetsNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<crate::exec::Row>, PgError> {
        use crate::exec::{agg_final, agg_state, agg_step, GroupKey};
        if self.out.is_none() {
            let mut maps: Vec<std::collections::BTreeMap<GroupKey, Vec<AggState>>> =
                self.sets.iter().map(|_| Default::default()).collect();
            while let Some(r) = self.input.next(cx)? {
                for (set, map) in self.sets.iter().zip(maps.iter_mut()) {
                    let key = GroupKey(
                        self.keys
                            .iter()
                            .enumerate()
                            .map(|(i, &k)| {
                                if set.contains(&i) {
                                    r[k].clone()
                                } else {
                                    Value::Null
                                }
                            })
                            .collect(),
                    );
                    let states = map
                        .entry(key)
                        .or_insert_with(|| self.aggs.iter().map(agg_state).collect());
                    for (st, a) in states.iter_mut().zip(&self.aggs) {
                        agg_step(a, st, &r, cx)?;
                    }
                }
            }
            self.input.close();
            let mut rows = Vec::new();
            for (set, mut map) in self.sets.iter().zip(maps) {
                if map.is_empty() && set.is_empty() {
                    map.insert(
                        GroupKey(vec![Value::Null; self.keys.len()]),
                        self.aggs.iter().map(agg_state).collect(),
                    );
                }
                for (key, states) in map {
                    let mut row = key.0;
                    for (a, st) in self.aggs.iter().zip(states) {
                        row.push(match a {
                            AggCall::Ext(f) if f.kind == AggKind::Grouping => {
                                grouping_value(f, set)
                            }
                            _ => agg_final(a, st, cx)?,
                        });
                    }
                    rows.push(row);
                }
            }
            self.out = Some(rows.into_iter());
        }
        Ok(self.out.as_mut().and_then(Iterator::next))
    }
    fn close(&mut self) {
        self.out = Some(Vec::new().into_iter());
        self.input.close();
    }
}
