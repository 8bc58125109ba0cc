//! The functions and operators of range and multirange types: what
//! `Func::Range` calls evaluate (bind/range.rs binds them).
//!
//! Why a file of its own: the value logic is tusk-types' range.rs, one
//! implementation over any subtype; this file only adapts SQL arguments to
//! it, so func.rs has one hook (`Func::Range`) for all range types.
//! Evaluated by the backend running a statement.

use tusk_common::{sqlstate, PgError};
use tusk_types::range::{self as rg, Bound, Multirange, Pred, Range, RangeType};

use crate::types::Oid;
use crate::value::Value;

/// One range function or operator. `Oid`s are the range type (never the
/// multirange type) the call works in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeFn {
    /// int4range(lower, upper [, flags]).
    Construct(Oid),
    /// int4multirange(r1, ...).
    MultiConstruct(Oid),
    /// multirange(range).
    ToMulti(Oid),
    Lower,
    Upper,
    IsEmpty,
    LowerInc,
    UpperInc,
    LowerInf,
    UpperInf,
    /// range_merge(r1, r2) / range_merge(multirange).
    Merge(Oid),
    /// A boolean operator; an operand that is neither a range nor a
    /// multirange is an element of the subtype.
    Pred(Pred, Oid),
    Union,
    Intersect,
    Minus,
}

/// The operator a call is shown as (EXPLAIN), if it is one.
pub(crate) fn symbol(f: RangeFn) -> Option<&'static str> {
    Some(match f {
        RangeFn::Pred(p, _) => match p {
            Pred::Contains => "@>",
            Pred::ContainedBy => "<@",
            Pred::Overlaps => "&&",
            Pred::Before => "<<",
            Pred::After => ">>",
            Pred::OverLeft => "&<",
            Pred::OverRight => "&>",
            Pred::Adjacent => "-|-",
        },
        RangeFn::Union => "+",
        RangeFn::Intersect => "*",
        RangeFn::Minus => "-",
        _ => return None,
    })
}

/// The function name a call is shown as (EXPLAIN).
pub(crate) fn name(f: RangeFn) -> &'static str {
    match f {
        RangeFn::Construct(t) => rg::range_type(t).map_or("?", |r| r.name),
        RangeFn::MultiConstruct(t) => rg::range_type(t).map_or("?", |r| r.multi_name),
        RangeFn::ToMulti(_) => "multirange",
        RangeFn::Lower => "lower",
        RangeFn::Upper => "upper",
        RangeFn::IsEmpty => "isempty",
        RangeFn::LowerInc => "lower_inc",
        RangeFn::UpperInc => "upper_inc",
        RangeFn::LowerInf => "lower_inf",
        RangeFn::UpperInf => "upper_inf",
        RangeFn::Merge(_) => "range_merge",
        _ => "?",
    }
}

/// Whether NULL in any argument gives NULL without a call (the
/// constructors take NULL bounds as infinite).
pub(crate) fn is_strict(f: RangeFn) -> bool {
    !matches!(f, RangeFn::Construct(_) | RangeFn::MultiConstruct(_))
}

fn rtype(oid: Oid) -> Result<&'static RangeType, PgError> {
    rg::range_type(oid).ok_or_else(|| {
        PgError::error(
            sqlstate::INTERNAL_ERROR,
            format!("type {oid} is not a range type"),
        )
    })
}

/// The ranges an operand stands for; an element is the range [e,e].
fn operand(v: &Value, rt: &RangeType) -> Result<Vec<Range>, PgError> {
    Ok(match v {
        Value::Range(_) | Value::Multirange(_) => rg::as_ranges(v),
        e => vec![rg::make(
            rt,
            Bound::at(e.clone(), true),
            Bound::at(e.clone(), true),
            false,
        )?],
    })
}

/// range_parse_flags: `[]`, `[)`, `(]` or `()` (22000 otherwise).
fn parse_flags(s: &str) -> Result<(bool, bool), PgError> {
    let b = s.as_bytes();
    let bad = || {
        PgError::error(sqlstate::SYNTAX_ERROR, "invalid range bound flags")
            .with_hint("Valid values are \"[]\", \"[)\", \"(]\", and \"()\".")
    };
    if b.len() != 2 {
        return Err(bad());
    }
    let l = match b[0] {
        b'[' => true,
        b'(' => false,
        _ => return Err(bad()),
    };
    let u = match b[1] {
        b']' => true,
        b')' => false,
        _ => return Err(bad()),
    };
    Ok((l, u))
}

pub(crate) fn call(f: RangeFn, args: &[Value]) -> Result<Value, PgError> {
    let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    Ok(match f {
        RangeFn::Construct(ty) => {
            let rt = rtype(ty)?;
            let (li, ui) = if args.len() > 2 {
                match a(2) {
                    Value::Null => {
                        return Err(PgError::error(
                            sqlstate::DATA_EXCEPTION,
                            "range constructor flags argument must not be null",
                        ))
                    }
                    v => parse_flags(&crate::value::to_text(&v).unwrap_or_default())?,
                }
            } else {
                (true, false)
            };
            let bound = |v: Value, inc: bool| match v {
                Value::Null => Bound::inf(),
                v => Bound::at(v, inc),
            };
            Value::Range(Box::new(rg::make(
                rt,
                bound(a(0), li),
                bound(a(1), ui),
                false,
            )?))
        }
        RangeFn::MultiConstruct(ty) => {
            let rt = rtype(ty)?;
            let mut rs = Vec::new();
            for v in args {
                match v {
                    Value::Range(r) => rs.push((**r).clone()),
                    _ => {
                        return Err(PgError::error(
                            sqlstate::NULL_VALUE_NOT_ALLOWED,
                            "multirange values cannot contain null members",
                        ))
                    }
                }
            }
            Value::Multirange(Box::new(rg::canonical(rt.multi, rs)?))
        }
        RangeFn::ToMulti(ty) => {
            let rt = rtype(ty)?;
            Value::Multirange(Box::new(rg::canonical(rt.multi, vec![v_range(a(0))])?))
        }
        RangeFn::Lower | RangeFn::Upper => {
            let rs = rg::as_ranges(&a(0));
            let b = if f == RangeFn::Lower {
                rs.first().map(|r| &r.lower)
            } else {
                rs.last().map(|r| &r.upper)
            };
            b.and_then(|b| b.val.clone()).unwrap_or(Value::Null)
        }
        RangeFn::IsEmpty => Value::Bool(rg::as_ranges(&a(0)).is_empty()),
        RangeFn::LowerInc | RangeFn::LowerInf => {
            let rs = rg::as_ranges(&a(0));
            Value::Bool(rs.first().is_some_and(|r| match f {
                RangeFn::LowerInc => r.lower.inc,
                _ => r.lower.val.is_none(),
            }))
        }
        RangeFn::UpperInc | RangeFn::UpperInf => {
            let rs = rg::as_ranges(&a(0));
            Value::Bool(rs.last().is_some_and(|r| match f {
                RangeFn::UpperInc => r.upper.inc,
                _ => r.upper.val.is_none(),
            }))
        }
        RangeFn::Merge(ty) => match (a(0), args.len()) {
            (Value::Multirange(m), 1) => Value::Range(Box::new(rg::span(&m, ty))),
            (x, _) => Value::Range(Box::new(rg::union(&v_range(x), &v_range(a(1)), false)?)),
        },
        RangeFn::Pred(p, ty) => {
            let rt = rtype(ty)?;
            Value::Bool(rg::pred(p, &operand(&a(0), rt)?, &operand(&a(1), rt)?))
        }
        RangeFn::Union | RangeFn::Intersect | RangeFn::Minus => match (a(0), a(1)) {
            (Value::Multirange(x), Value::Multirange(y)) => Value::Multirange(Box::new(match f {
                RangeFn::Union => rg::multi_union(&x, &y)?,
                RangeFn::Intersect => rg::multi_intersect(&x, &y)?,
                _ => rg::multi_minus(&x, &y)?,
            })),
            (x, y) => {
                let (x, y) = (v_range(x), v_range(y));
                Value::Range(Box::new(match f {
                    RangeFn::Union => rg::union(&x, &y, true)?,
                    RangeFn::Intersect => rg::intersect(&x, &y)?,
                    _ => rg::minus(&x, &y)?,
                }))
            }
        },
    })
}

/// range_intersect_agg's result over its (non-NULL) inputs.
pub(crate) fn intersect_all(items: Vec<Value>) -> Result<Value, PgError> {
    let mut it = items.into_iter();
    let Some(mut acc) = it.next() else {
        return Ok(Value::Null);
    };
    for v in it {
        acc = call(RangeFn::Intersect, &[acc, v])?;
    }
    Ok(acc)
}

/// A range argument (the binder guarantees one; anything else is empty).
fn v_range(v: Value) -> Range {
    match v {
        Value::Range(r) => *r,
        _ => Range::empty(0),
    }
}

/// unnest(multirange): its ranges in order.
pub(crate) fn unnest(v: &Value) -> Vec<Value> {
    match v {
        Value::Multirange(m) => {
            let Multirange { ranges, .. } = &**m;
            ranges
                .iter()
                .map(|r| Value::Range(Box::new(r.clone())))
                .collect()
        }
        _ => Vec::new(),
    }
}
