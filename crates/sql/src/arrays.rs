//! Array expressions at run time: ARRAY[...], subscripts and slices,
//! `op ANY/ALL (array)`, `||`, `@>` `<@` `&&`, and the array functions
//! (array_length, array_append, array_to_string, ...), plus the regular
//! expression operators and functions of pattern.rs, all as one
//! [`Expr::Array`](crate::expr::Expr) node kind.
//!
//! Why one node with an operator enum rather than one `Expr` variant per
//! operation: the binder (bind/array.rs) has already resolved the element
//! type and coerced every argument, so each operation is a strict function
//! of its evaluated arguments, and a single variant keeps the hooks in the
//! shared expression walker to one line. NULL handling is per operation,
//! as in PostgreSQL (most array functions are not strict).
//!
//! Pure functions of their arguments; any backend may call them.

use std::cmp::Ordering;

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::expr::CmpOp;
use crate::types::array::{Array, MAXDIM};
use crate::types::{self, Oid};
use crate::value::{compare, to_text, Value};

/// One subscript of `a[...]`: an index, or a slice whose bounds may be
/// omitted (`a[:2]`, `a[2:]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sub {
    Index,
    Slice { lower: bool, upper: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArrOp {
    /// ARRAY[...] of `elem`; `nested` when the items are sub-arrays.
    Construct {
        elem: Oid,
        nested: bool,
    },
    /// `a[i]`, `a[i:j]`...: args are the array then the bounds given.
    Subscript(Vec<Sub>),
    /// `SET a[i] = v` (arrayset.rs): args are the array, the bounds
    /// given, then the value; `elem` types the array made for a NULL one.
    Assign {
        subs: Vec<Sub>,
        elem: Oid,
    },
    /// `SET j['a'][0] = v` on jsonb (arrayset.rs): args are the jsonb,
    /// the subscripts as text, then the value.
    JsonbAssign {
        expect_array: bool,
    },
    /// `x op ANY|ALL (array)`.
    AnyAll {
        op: CmpOp,
        all: bool,
    },
    /// array_cat / `||` of two arrays.
    Cat,
    /// array_larger (`true`) / array_smaller: the greater / lesser of two
    /// arrays in array comparison order (what max/min of arrays keep).
    Larger(bool),
    /// array_append / `array || elem`.
    Append,
    /// array_prepend / `elem || array`.
    Prepend,
    Contains,
    ContainedBy,
    Overlap,
    Length,
    Lower,
    Upper,
    Ndims,
    Dims,
    Cardinality,
    Position,
    PositionFrom,
    Positions,
    Remove,
    Replace,
    ToString,
    ToStringNull,
    StringToArray,
    StringToArrayNull,
    /// A regular-expression operation (pattern.rs).
    Pattern(crate::pattern::PatOp),
}

/// A set-returning function in FROM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SrfOp {
    /// unnest(anyarray): each element, in storage order.
    Unnest,
    /// generate_subscripts(array, dim [, reverse]).
    Subscripts,
    /// regexp_split_to_table(text, pattern [, flags]).
    SplitToTable,
    /// regexp_matches(text, pattern [, flags]): each match's groups.
    Matches,
    /// A json set-returning function (json.rs); `.1`: over json, not jsonb.
    Json(crate::json::JsonSrf, bool),
    /// pg_partition_ancestors / pg_partition_tree (`true`): tusk has no
    /// partitioned tables, and PostgreSQL gives no rows for a relation that
    /// is neither a partition nor partitioned.
    Partitions(bool),
    /// generate_series over numeric (`None`) or timestamps with an
    /// interval step (`Some(with time zone)`): integers have their own
    /// streaming scan (exec::GenerateSeries).
    Series(Option<bool>),
    /// unnest(tsvector), ts_parse, ts_token_type, ts_debug (tsearch.rs).
    Ts(crate::tsearch::TsSrf),
    /// pg_options_to_table(text[]): each `name=value` item of a stored
    /// options array (fdw.rs) as (option_name, option_value).
    Options,
}

/// generate_series(numeric, numeric [, numeric]) and (timestamp[tz],
/// timestamp[tz], interval), with PostgreSQL's argument errors; NULL
/// arguments give no rows.
fn series_rows(kind: Option<bool>, args: &[Value]) -> Result<Vec<Vec<Value>>, PgError> {
    use tusk_types::numeric::Numeric;
    let invalid = |m: &str| PgError::error(sqlstate::INVALID_PARAMETER_VALUE, m.to_string());
    if args.iter().any(Value::is_null) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    match kind {
        None => {
            let num = |v: &Value| -> Numeric {
                match v {
                    Value::Numeric(n) => n.clone(),
                    Value::Int2(i) => Numeric::from_i64(*i as i64),
                    Value::Int4(i) => Numeric::from_i64(*i as i64),
                    Value::Int8(i) => Numeric::from_i64(*i),
                    _ => Numeric::from_i64(0),
                }
            };
            let (start, stop) = (num(&args[0]), num(&args[1]));
            let step = args.get(2).map(num).unwrap_or_else(|| Numeric::from_i64(1));
            for (v, what) in [
                (&start, "start value"),
                (&stop, "stop value"),
                (&step, "step size"),
            ] {
                if v.is_nan() {
                    return Err(invalid(&format!("{what} cannot be NaN")));
                }
                if !v.is_finite() {
                    return Err(invalid(&format!("{what} cannot be infinity")));
                }
            }
            if step.is_zero() {
                return Err(invalid("step size cannot equal zero"));
            }
            let up = !step.is_negative();
            let mut cur = start;
            loop {
                let o = cur.cmp_total(&stop);
                if (up && o == std::cmp::Ordering::Greater)
                    || (!up && o == std::cmp::Ordering::Less)
                {
                    break;
                }
                out.push(vec![Value::Numeric(cur.clone())]);
                cur = cur.add(&step)?;
            }
        }
        Some(tz) => {
            let ts = |v: &Value| -> Result<i64, PgError> {
                Ok(match v {
                    Value::Timestamp(t) | Value::TimestampTz(t) => *t,
                    Value::Date(d) => {
                        tusk_types::datetime::date_to_timestamp(*d).ok_or_else(|| {
                            PgError::error(
                                sqlstate::DATETIME_FIELD_OVERFLOW,
                                "date out of range for timestamp",
                            )
                        })?
                    }
                    _ => 0,
                })
            };
            let (start, stop) = (ts(&args[0])?, ts(&args[1])?);
            let Some(Value::Interval(step)) = args.get(2) else {
                return Ok(Vec::new());
            };
            let sign = step.span().signum();
            if sign == 0 {
                return Err(invalid("step size cannot equal zero"));
            }
            let mut cur = start;
            while (sign > 0 && cur <= stop) || (sign < 0 && cur >= stop) {
                out.push(vec![if tz {
                    Value::TimestampTz(cur)
                } else {
                    Value::Timestamp(cur)
                }]);
                // Infinite ends would never be passed.
                if out.len() > 100_000_000 {
                    return Err(PgError::error(
                        sqlstate::PROGRAM_LIMIT_EXCEEDED,
                        "generate_series would return more than 100000000 rows",
                    ));
                }
                cur = if tz {
                    crate::dtops::tstz_plus_interval(cur, step)?
                } else {
                    crate::dtops::ts_plus_interval(cur, step)?
                };
            }
        }
    }
    Ok(out)
}

/// The rows of a set-returning function over its evaluated arguments.
pub(crate) fn srf_rows(
    op: SrfOp,
    args: Vec<Value>,
    host: &mut dyn crate::host::Host,
) -> Result<Vec<Vec<Value>>, PgError> {
    if let SrfOp::Json(op, json) = op {
        return crate::json::srf_rows(op, args, json);
    }
    if let SrfOp::Ts(t) = op {
        return crate::tsearch::srf_rows(t, &args, host);
    }
    let a0 = args.first().unwrap_or(&Value::Null);
    Ok(match op {
        SrfOp::Series(kind) => series_rows(kind, &args)?,
        SrfOp::Json(..) | SrfOp::Partitions(_) | SrfOp::Ts(..) => Vec::new(),
        SrfOp::Options => match arr(a0) {
            Some(a) => a
                .items
                .iter()
                .filter_map(crate::value::to_text)
                .map(|s| match s.split_once('=') {
                    Some((n, v)) => vec![Value::Text(n.into()), Value::Text(v.into())],
                    None => vec![Value::Text(s), Value::Null],
                })
                .collect(),
            None => Vec::new(),
        },
        SrfOp::Unnest => match arr(a0) {
            Some(a) => a.items.iter().map(|v| vec![v.clone()]).collect(),
            None => crate::ranges::unnest(a0)
                .into_iter()
                .map(|v| vec![v])
                .collect(),
        },
        SrfOp::Subscripts => {
            let (Some(a), Some(d)) = (arr(a0), args.get(1).and_then(int)) else {
                return Ok(Vec::new());
            };
            if d < 1 || d as usize > a.ndim() {
                return Ok(Vec::new());
            }
            let (n, lb) = a.dims[d as usize - 1];
            let mut out: Vec<Vec<Value>> = (lb as i64..lb as i64 + n as i64)
                .map(|i| vec![Value::Int4(i as i32)])
                .collect();
            if matches!(args.get(2), Some(Value::Bool(true))) {
                out.reverse();
            }
            out
        }
        SrfOp::SplitToTable => match crate::pattern::split_to_table(args)? {
            Value::Array(a) => a.items.into_iter().map(|v| vec![v]).collect(),
            _ => Vec::new(),
        },
        SrfOp::Matches => crate::pattern::matches(args)?
            .into_iter()
            .map(|v| vec![v])
            .collect(),
    })
}

fn arr(v: &Value) -> Option<&Array> {
    match v {
        Value::Array(a) => Some(a),
        _ => None,
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int2(i) => Some(*i as i64),
        Value::Int4(i) => Some(*i as i64),
        Value::Int8(i) => Some(*i),
        _ => None,
    }
}

fn eq(a: &Value, b: &Value) -> bool {
    !a.is_null() && !b.is_null() && compare(a, b) == Ordering::Equal
}

fn subscript_error(msg: &str) -> PgError {
    PgError::error(sqlstate::ARRAY_SUBSCRIPT_ERROR, msg.to_string())
}

fn wrap(a: Array) -> Value {
    Value::Array(Box::new(a))
}

/// Evaluate `op` over its evaluated arguments.
pub(crate) fn eval(op: &ArrOp, args: Vec<Value>) -> Result<Value, PgError> {
    use ArrOp as A;
    let a0 = args.first().unwrap_or(&Value::Null);
    let a1 = args.get(1).unwrap_or(&Value::Null);
    Ok(match op {
        A::Construct { elem, nested } => construct(*elem, *nested, args)?,
        A::Subscript(subs) => subscript(subs, &args)?,
        A::Assign { subs, elem } => crate::arrayset::assign(subs, *elem, args)?,
        A::JsonbAssign { expect_array } => crate::arrayset::jsonb_assign(*expect_array, args)?,
        A::AnyAll { op, all } => any_all(*op, *all, a0, a1),
        A::Larger(larger) => {
            if a0.is_null() || a1.is_null() {
                return Ok(Value::Null);
            }
            let c = compare(a0, a1);
            let first = if *larger {
                c == Ordering::Greater
            } else {
                c == Ordering::Less
            };
            if first {
                a0.clone()
            } else {
                a1.clone()
            }
        }
        A::Cat => match (arr(a0), arr(a1)) {
            (None, None) => Value::Null,
            (Some(_), None) => a0.clone(),
            (None, Some(_)) => a1.clone(),
            (Some(x), Some(y)) => wrap(cat(x, y)?),
        },
        A::Append | A::Prepend => {
            let (a, e) = if *op == A::Append { (a0, a1) } else { (a1, a0) };
            let elem_single = |a: Option<&Array>, e: &Value| -> Result<Value, PgError> {
                let elem = a.map(|a| a.elem).unwrap_or(types::TEXT);
                let one = Array::from_items(elem, vec![e.clone()]);
                match a {
                    None => Ok(wrap(one)),
                    Some(a) if *op == A::Append => Ok(wrap(cat(a, &one)?)),
                    Some(a) => Ok(wrap(cat(&one, a)?)),
                }
            };
            match arr(a) {
                Some(x) if x.ndim() > 1 => {
                    return Err(PgError::error(
                        sqlstate::DATA_EXCEPTION,
                        "argument must be empty or one-dimensional array",
                    ))
                }
                Some(x) if x.ndim() == 1 && *op == A::Append => {
                    let mut x = x.clone();
                    x.items.push(e.clone());
                    x.dims[0].0 += 1;
                    wrap(x)
                }
                Some(x) if x.ndim() == 1 => {
                    let mut x = x.clone();
                    x.items.insert(0, e.clone());
                    x.dims[0].0 += 1;
                    wrap(x)
                }
                other => elem_single(other, e)?,
            }
        }
        A::Contains | A::ContainedBy | A::Overlap => {
            let (Some(x), Some(y)) = (arr(a0), arr(a1)) else {
                return Ok(Value::Null);
            };
            let (x, y) = if *op == A::ContainedBy {
                (y, x)
            } else {
                (x, y)
            };
            if *op == A::Overlap {
                Value::Bool(x.items.iter().any(|v| y.items.iter().any(|w| eq(v, w))))
            } else {
                Value::Bool(y.items.iter().all(|w| x.items.iter().any(|v| eq(v, w))))
            }
        }
        A::Length | A::Lower | A::Upper => {
            let (Some(a), Some(d)) = (arr(a0), int(a1)) else {
                return Ok(Value::Null);
            };
            if d < 1 || d as usize > a.ndim() {
                return Ok(Value::Null);
            }
            let (n, lb) = a.dims[d as usize - 1];
            Value::Int4(match op {
                A::Length => n,
                A::Lower => lb,
                _ => (lb as i64 + n as i64 - 1) as i32,
            })
        }
        A::Ndims => match arr(a0) {
            Some(a) if a.ndim() > 0 => Value::Int4(a.ndim() as i32),
            _ => Value::Null,
        },
        A::Dims => match arr(a0) {
            Some(a) if a.ndim() > 0 => Value::Text(
                a.dims
                    .iter()
                    .map(|(n, lb)| format!("[{}:{}]", lb, *lb as i64 + *n as i64 - 1))
                    .collect(),
            ),
            _ => Value::Null,
        },
        A::Cardinality => match arr(a0) {
            Some(a) => Value::Int4(a.items.len() as i32),
            None => Value::Null,
        },
        A::Position | A::PositionFrom => {
            let Some(a) = arr(a0) else {
                return Ok(Value::Null);
            };
            if a.ndim() > 1 {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "searching for elements in multidimensional arrays is not supported",
                ));
            }
            let lb = a.dims.first().map_or(1, |d| d.1) as i64;
            let from = if *op == A::PositionFrom {
                match args.get(2).and_then(int) {
                    Some(f) => f,
                    None => {
                        return Err(PgError::error(
                            sqlstate::NULL_VALUE_NOT_ALLOWED,
                            "initial position must not be null",
                        ))
                    }
                }
            } else {
                lb
            };
            a.items
                .iter()
                .enumerate()
                .find(|(i, v)| {
                    *i as i64 + lb >= from && ((a1.is_null() && v.is_null()) || eq(v, a1))
                })
                .map_or(Value::Null, |(i, _)| Value::Int4((i as i64 + lb) as i32))
        }
        A::Positions => {
            let Some(a) = arr(a0) else {
                return Ok(Value::Null);
            };
            if a.ndim() > 1 {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "searching for elements in multidimensional arrays is not supported",
                ));
            }
            let lb = a.dims.first().map_or(1, |d| d.1);
            let found = a
                .items
                .iter()
                .enumerate()
                .filter(|(_, v)| (a1.is_null() && v.is_null()) || eq(v, a1))
                .map(|(i, _)| Value::Int4((i as i64 + lb as i64) as i32))
                .collect();
            wrap(Array::from_items(types::INT4, found))
        }
        A::Remove | A::Replace => {
            let Some(a) = arr(a0) else {
                return Ok(Value::Null);
            };
            let matches = |v: &Value| (a1.is_null() && v.is_null()) || eq(v, a1);
            if *op == A::Remove {
                if a.ndim() > 1 {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "removing elements from multidimensional arrays is not supported",
                    ));
                }
                let items: Vec<Value> = a.items.iter().filter(|v| !matches(v)).cloned().collect();
                let lb = a.dims.first().map_or(1, |d| d.1);
                let mut out = Array::from_items(a.elem, items);
                if let Some(d) = out.dims.first_mut() {
                    d.1 = lb;
                }
                wrap(out)
            } else {
                let with = args.get(2).cloned().unwrap_or(Value::Null);
                let mut out = a.clone();
                for v in out.items.iter_mut() {
                    if matches(v) {
                        *v = with.clone();
                    }
                }
                wrap(out)
            }
        }
        A::ToString | A::ToStringNull => {
            let (Some(a), Some(sep)) = (arr(a0), to_text(a1)) else {
                return Ok(Value::Null);
            };
            let null = if *op == A::ToStringNull {
                args.get(2).and_then(to_text)
            } else {
                None
            };
            let parts: Vec<String> = a
                .items
                .iter()
                .filter_map(|v| to_text(v).or_else(|| null.clone()))
                .collect();
            Value::Text(parts.join(&sep))
        }
        A::StringToArray | A::StringToArrayNull => {
            let Some(s) = to_text(a0) else {
                return Ok(Value::Null);
            };
            let null = if *op == A::StringToArrayNull {
                args.get(2).and_then(to_text)
            } else {
                None
            };
            let parts: Vec<String> = match to_text(a1) {
                _ if s.is_empty() => Vec::new(),
                None => s.chars().map(|c| c.to_string()).collect(),
                Some(d) if d.is_empty() => vec![s.clone()],
                Some(d) => s.split(d.as_str()).map(str::to_string).collect(),
            };
            let items = parts
                .into_iter()
                .map(|p| {
                    if null.as_deref() == Some(p.as_str()) {
                        Value::Null
                    } else {
                        Value::Text(p)
                    }
                })
                .collect();
            wrap(Array::from_items(types::TEXT, items))
        }
        A::Pattern(p) => crate::pattern::eval(p, args)?,
    })
}

fn construct(elem: Oid, nested: bool, args: Vec<Value>) -> Result<Value, PgError> {
    if !nested {
        return Ok(wrap(Array::from_items(elem, args)));
    }
    // Sub-arrays: all must have the same dimensions; NULL or empty
    // sub-arrays are skipped only when all are.
    let subs: Vec<&Array> = args.iter().filter_map(arr).collect();
    if subs.iter().all(|a| a.ndim() == 0) {
        return Ok(wrap(Array::from_items(elem, Vec::new())));
    }
    let first = subs[0];
    let mismatch = || {
        subscript_error(
            "multidimensional arrays must have array expressions with matching dimensions",
        )
    };
    if subs.len() != args.len() {
        return Err(mismatch());
    }
    if first.ndim() + 1 > MAXDIM {
        return Err(PgError::error(
            sqlstate::PROGRAM_LIMIT_EXCEEDED,
            format!(
                "number of array dimensions ({}) exceeds the maximum allowed ({MAXDIM})",
                first.ndim() + 1
            ),
        ));
    }
    let mut items = Vec::new();
    for s in &subs {
        if s.dims != first.dims {
            return Err(mismatch());
        }
        items.extend(s.items.iter().cloned());
    }
    let mut dims = vec![(subs.len() as i32, 1)];
    dims.extend(first.dims.iter().copied());
    Ok(wrap(Array { elem, dims, items }))
}

fn any_all(op: CmpOp, all: bool, x: &Value, a: &Value) -> Value {
    let Some(a) = arr(a) else {
        return Value::Null;
    };
    if a.items.is_empty() {
        return Value::Bool(all);
    }
    if x.is_null() {
        return Value::Null;
    }
    let mut saw_null = false;
    for v in &a.items {
        if v.is_null() {
            saw_null = true;
            continue;
        }
        let t = op.test(compare(x, v));
        if t != all {
            return Value::Bool(t);
        }
    }
    if saw_null {
        Value::Null
    } else {
        Value::Bool(all)
    }
}

/// array_cat: same dimensions concatenate along the first; an array of
/// one dimension fewer is appended or prepended as one more sub-array.
pub(crate) fn cat(x: &Array, y: &Array) -> Result<Array, PgError> {
    if x.ndim() == 0 {
        return Ok(y.clone());
    }
    if y.ndim() == 0 {
        return Ok(x.clone());
    }
    let incompatible = |d: &str| {
        PgError::error(
            sqlstate::ARRAY_SUBSCRIPT_ERROR,
            "cannot concatenate incompatible arrays",
        )
        .with_detail(d.to_string())
    };
    let mut out = x.clone();
    if x.ndim() == y.ndim() {
        if x.dims[1..]
            .iter()
            .map(|d| d.0)
            .ne(y.dims[1..].iter().map(|d| d.0))
        {
            return Err(incompatible(
                "Arrays with differing element dimensions are not compatible for concatenation.",
            ));
        }
        out.dims[0].0 += y.dims[0].0;
        out.items.extend(y.items.iter().cloned());
    } else if x.ndim() == y.ndim() + 1 {
        if x.dims[1..]
            .iter()
            .map(|d| d.0)
            .ne(y.dims.iter().map(|d| d.0))
        {
            return Err(incompatible(
                "Arrays with differing dimensions are not compatible for concatenation.",
            ));
        }
        out.dims[0].0 += 1;
        out.items.extend(y.items.iter().cloned());
    } else if x.ndim() + 1 == y.ndim() {
        if y.dims[1..]
            .iter()
            .map(|d| d.0)
            .ne(x.dims.iter().map(|d| d.0))
        {
            return Err(incompatible(
                "Arrays with differing dimensions are not compatible for concatenation.",
            ));
        }
        out = y.clone();
        out.dims[0].0 += 1;
        let mut items = x.items.clone();
        items.extend(y.items.iter().cloned());
        out.items = items;
    } else {
        return Err(incompatible(&format!(
            "Arrays of {} and {} dimensions are not compatible for concatenation.",
            x.ndim(),
            y.ndim()
        )));
    }
    Ok(out)
}

/// `a[i][j]` (an element, NULL when out of range) or, with any slice, a
/// sub-array (empty when out of range); index subscripts in a slice
/// expression mean `1:i`.
fn subscript(subs: &[Sub], args: &[Value]) -> Result<Value, PgError> {
    let Some(a) = args.first().and_then(arr) else {
        return Ok(Value::Null);
    };
    if subs.len() > MAXDIM {
        return Err(subscript_error(&format!(
            "number of array dimensions ({}) exceeds the maximum allowed ({MAXDIM})",
            subs.len()
        )));
    }
    let mut it = args[1..].iter();
    let mut bounds: Vec<(Option<i64>, Option<i64>)> = Vec::new();
    for s in subs {
        let mut next = || -> Result<Option<i64>, ()> {
            let v = it.next().unwrap_or(&Value::Null);
            int(v).map(Some).ok_or(())
        };
        match s {
            Sub::Index => match next() {
                Ok(i) => bounds.push((None, i)),
                Err(()) => return Ok(Value::Null),
            },
            Sub::Slice { lower, upper } => {
                let lo = if *lower {
                    match next() {
                        Ok(v) => v,
                        Err(()) => return Ok(Value::Null),
                    }
                } else {
                    None
                };
                let hi = if *upper {
                    match next() {
                        Ok(v) => v,
                        Err(()) => return Ok(Value::Null),
                    }
                } else {
                    None
                };
                bounds.push((Some(lo.unwrap_or(i64::MIN)), hi.or(Some(i64::MAX))));
            }
        }
    }
    let slice = subs.iter().any(|s| matches!(s, Sub::Slice { .. }));
    if !slice {
        if bounds.len() != a.ndim() {
            return Ok(Value::Null);
        }
        let mut off: i64 = 0;
        for (d, (_, i)) in bounds.iter().enumerate() {
            let i = i.unwrap_or(0);
            let (n, lb) = a.dims[d];
            if i < lb as i64 || i >= lb as i64 + n as i64 {
                return Ok(Value::Null);
            }
            off = off * n as i64 + (i - lb as i64);
        }
        return Ok(a.items[off as usize].clone());
    }
    if a.ndim() == 0 || bounds.len() > a.ndim() {
        return Ok(wrap(Array::from_items(a.elem, Vec::new())));
    }
    // Per dimension the clamped [lo, hi] range; dimensions not subscripted
    // are taken whole.
    let mut ranges = Vec::with_capacity(a.ndim());
    for (d, &(n, lb)) in a.dims.iter().enumerate() {
        let (lo, hi) = match bounds.get(d) {
            Some((lo, hi)) => (lo.unwrap_or(1), hi.unwrap_or(i64::MAX)),
            None => (i64::MIN, i64::MAX),
        };
        let lo = lo.max(lb as i64);
        let hi = hi.min(lb as i64 + n as i64 - 1);
        if lo > hi {
            return Ok(wrap(Array::from_items(a.elem, Vec::new())));
        }
        ranges.push((lo - lb as i64, hi - lb as i64));
    }
    let mut items = Vec::new();
    let mut idx = vec![0i64; a.ndim()];
    fn walk(
        a: &Array,
        ranges: &[(i64, i64)],
        d: usize,
        idx: &mut Vec<i64>,
        items: &mut Vec<Value>,
    ) {
        for i in ranges[d].0..=ranges[d].1 {
            idx[d] = i;
            if d + 1 == ranges.len() {
                let mut off = 0i64;
                for (k, &j) in idx.iter().enumerate() {
                    off = off * a.dims[k].0 as i64 + j;
                }
                items.push(a.items[off as usize].clone());
            } else {
                walk(a, ranges, d + 1, idx, items);
            }
        }
    }
    walk(a, &ranges, 0, &mut idx, &mut items);
    let dims = ranges
        .iter()
        .map(|&(lo, hi)| ((hi - lo + 1) as i32, 1))
        .collect();
    Ok(wrap(Array {
        elem: a.elem,
        dims,
        items,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::array::parse;
    use crate::types::Ty;

    fn a(s: &str) -> Value {
        wrap(parse(s, Ty::new(types::INT4), 0).unwrap())
    }

    fn t(v: Value) -> String {
        to_text(&v).unwrap_or_else(|| "NULL".into())
    }

    #[test]
    fn subscripts_and_slices() {
        let x = a("{{1,2,3},{4,5,6}}");
        let s = |subs: &[Sub], idx: &[i32]| {
            let mut args = vec![x.clone()];
            args.extend(idx.iter().map(|&i| Value::Int4(i)));
            t(subscript(subs, &args).unwrap())
        };
        assert_eq!(s(&[Sub::Index, Sub::Index], &[2, 3]), "6");
        assert_eq!(s(&[Sub::Index, Sub::Index], &[3, 1]), "NULL");
        assert_eq!(s(&[Sub::Index], &[1]), "NULL");
        let sl = Sub::Slice {
            lower: true,
            upper: true,
        };
        assert_eq!(s(&[sl, sl], &[1, 2, 2, 3]), "{{2,3},{5,6}}");
        assert_eq!(s(&[Sub::Index, sl], &[2, 1, 1]), "{{1},{4}}");
        assert_eq!(s(&[sl], &[5, 6]), "{}");
    }

    #[test]
    fn concatenation() {
        let c = |x: &str, y: &str| t(eval(&ArrOp::Cat, vec![a(x), a(y)]).unwrap());
        assert_eq!(c("{1,2}", "{3}"), "{1,2,3}");
        assert_eq!(c("{{1,2}}", "{3,4}"), "{{1,2},{3,4}}");
        assert_eq!(c("{3,4}", "{{1,2}}"), "{{3,4},{1,2}}");
        assert_eq!(c("[2:3]={1,2}", "{3}"), "[2:4]={1,2,3}");
        assert_eq!(c("{}", "{1}"), "{1}");
        assert!(eval(&ArrOp::Cat, vec![a("{{1,2}}"), a("{3}")]).is_err());
        assert_eq!(
            t(eval(&ArrOp::Append, vec![a("{1}"), Value::Int4(2)]).unwrap()),
            "{1,2}"
        );
        assert_eq!(
            t(eval(&ArrOp::Prepend, vec![Value::Int4(0), a("{1}")]).unwrap()),
            "{0,1}"
        );
    }

    #[test]
    fn any_all_three_valued() {
        let x = Value::Int4(2);
        assert_eq!(
            any_all(CmpOp::Eq, false, &x, &a("{1,2}")),
            Value::Bool(true)
        );
        assert_eq!(any_all(CmpOp::Eq, false, &x, &a("{1,NULL}")), Value::Null);
        assert_eq!(any_all(CmpOp::Eq, false, &x, &a("{}")), Value::Bool(false));
        assert_eq!(any_all(CmpOp::Gt, true, &x, &a("{1,0}")), Value::Bool(true));
        assert_eq!(
            any_all(CmpOp::Gt, true, &x, &a("{1,3}")),
            Value::Bool(false)
        );
        assert_eq!(
            any_all(CmpOp::Gt, true, &Value::Null, &a("{}")),
            Value::Bool(true)
        );
    }
}
