//! Assignment into an array at run time (`SET a[i] = v`, `a[lo:hi] =
//! '{...}'`): PostgreSQL's array_set_element and array_set_slice over
//! the evaluated array, subscripts and value; and into jsonb (`SET
//! j['a'][0] = v`), PostgreSQL's jsonb_set_element.
//!
//! Why its own module: the subscript read side (arrays.rs) never grows
//! or fills an array, while assignment does (a one-dimensional array is
//! extended with NULLs to reach the subscript; a NULL or empty array
//! takes the subscripts as its bounds), with its own errors. Pure
//! functions of their arguments.

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::arrays::Sub;
use crate::types::array::Array;
use crate::types::Oid;
use crate::value::Value;

/// PostgreSQL's MaxArraySize.
const MAX_ITEMS: i64 = (1 << 30) / 8 - 1;

fn subscript_error(msg: &str) -> PgError {
    PgError::error(sqlstate::ARRAY_SUBSCRIPT_ERROR, msg.to_string())
}

fn too_big() -> PgError {
    PgError::error(
        sqlstate::PROGRAM_LIMIT_EXCEEDED,
        format!("array size exceeds the maximum allowed ({MAX_ITEMS})"),
    )
}

fn check_size(dims: &[(i32, i32)]) -> Result<usize, PgError> {
    let mut n: i64 = 1;
    for &(len, lb) in dims {
        n = n.saturating_mul(len as i64);
        if n > MAX_ITEMS {
            return Err(too_big());
        }
        if lb as i64 + len as i64 > i32::MAX as i64 {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!("array lower bound is too large: {lb}"),
            ));
        }
    }
    Ok(if dims.is_empty() { 0 } else { n as usize })
}

fn int(v: &Value) -> Option<i32> {
    match v {
        Value::Int2(i) => Some(*i as i32),
        Value::Int4(i) => Some(*i),
        Value::Int8(i) => i32::try_from(*i).ok(),
        _ => None,
    }
}

/// `base[subs] := value`: `args` are the array, the subscripts given,
/// then the value; `elem` is the element type (for a NULL array).
pub(crate) fn assign(subs: &[Sub], elem: Oid, args: Vec<Value>) -> Result<Value, PgError> {
    let mut it = args.into_iter();
    let base = it.next().unwrap_or(Value::Null);
    // Subscripts: (lower, upper) per dimension; None where omitted.
    let mut bounds: Vec<(Option<i32>, Option<i32>)> = Vec::with_capacity(subs.len());
    let null_sub = || {
        PgError::error(
            sqlstate::NULL_VALUE_NOT_ALLOWED,
            "array subscript in assignment must not be null",
        )
    };
    let next = |it: &mut std::vec::IntoIter<Value>| -> Result<i32, PgError> {
        let v = it.next().unwrap_or(Value::Null);
        if v.is_null() {
            return Err(null_sub());
        }
        int(&v).ok_or_else(null_sub)
    };
    let slice = subs.iter().any(|s| matches!(s, Sub::Slice { .. }));
    for s in subs {
        match s {
            Sub::Index => {
                let i = next(&mut it)?;
                bounds.push((if slice { Some(1) } else { None }, Some(i)));
            }
            Sub::Slice { lower, upper } => {
                let lo = if *lower { Some(next(&mut it)?) } else { None };
                let hi = if *upper { Some(next(&mut it)?) } else { None };
                bounds.push((lo, hi));
            }
        }
    }
    let value = it.next().unwrap_or(Value::Null);
    let array = match base {
        Value::Array(a) => *a,
        _ => Array {
            elem,
            dims: Vec::new(),
            items: Vec::new(),
        },
    };
    let out = if slice {
        set_slice(array, &bounds, value)?
    } else {
        let idx: Vec<i32> = bounds.iter().map(|b| b.1.unwrap_or(0)).collect();
        set_element(array, &idx, value)?
    };
    Ok(Value::Array(Box::new(out)))
}

fn offset(dims: &[(i32, i32)], idx: &[i64]) -> usize {
    let mut off = 0i64;
    for (d, &(len, lb)) in dims.iter().enumerate() {
        off = off * len as i64 + (idx[d] - lb as i64);
    }
    off as usize
}

/// array_set_element.
fn set_element(mut a: Array, idx: &[i32], value: Value) -> Result<Array, PgError> {
    if a.ndim() == 0 {
        let dims: Vec<(i32, i32)> = idx.iter().map(|&i| (1, i)).collect();
        check_size(&dims)?;
        return Ok(Array {
            elem: a.elem,
            dims,
            items: vec![value],
        });
    }
    if a.ndim() != idx.len() {
        return Err(subscript_error("wrong number of array subscripts"));
    }
    if a.ndim() == 1 {
        let (len, lb) = a.dims[0];
        let i = idx[0] as i64;
        let (lb64, end) = (lb as i64, lb as i64 + len as i64);
        let new_lb = lb64.min(i);
        let new_end = end.max(i + 1);
        if new_end - new_lb > i32::MAX as i64 {
            return Err(too_big());
        }
        let dims = vec![((new_end - new_lb) as i32, new_lb as i32)];
        check_size(&dims)?;
        if new_lb < lb64 || new_end > end {
            let mut items = Vec::with_capacity((new_end - new_lb) as usize);
            items.resize((lb64 - new_lb) as usize, Value::Null);
            items.append(&mut a.items);
            items.resize((new_end - new_lb) as usize, Value::Null);
            a.items = items;
            a.dims = dims;
        }
        let off = (i - new_lb) as usize;
        a.items[off] = value;
        return Ok(a);
    }
    for (d, &i) in idx.iter().enumerate() {
        let (len, lb) = a.dims[d];
        if i < lb || i as i64 >= lb as i64 + len as i64 {
            return Err(subscript_error("array subscript out of range"));
        }
    }
    let idx64: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    let off = offset(&a.dims, &idx64);
    a.items[off] = value;
    Ok(a)
}

/// array_set_slice: the source's elements, read in order whatever its
/// shape, fill the slice.
fn set_slice(
    a: Array,
    bounds: &[(Option<i32>, Option<i32>)],
    value: Value,
) -> Result<Array, PgError> {
    // Assigning a NULL source leaves the array as it is.
    let src = match value {
        Value::Array(s) => *s,
        _ => return Ok(a),
    };
    if a.ndim() == 0 {
        let mut dims = Vec::with_capacity(bounds.len());
        for &(lo, hi) in bounds {
            let (Some(lo), Some(hi)) = (lo, hi) else {
                return Err(subscript_error("array slice subscript must provide both boundaries")
                    .with_detail(
                        "When assigning to a slice of an empty array value, slice boundaries must be fully specified.",
                    ));
            };
            let len = 1 + hi as i64 - lo as i64;
            if len > i32::MAX as i64 || len < i32::MIN as i64 {
                return Err(too_big());
            }
            dims.push((len as i32, lo));
        }
        // A negative length counts as an empty slice.
        let n: i64 = dims.iter().map(|d| d.0.max(0) as i64).product();
        if n > MAX_ITEMS {
            return Err(too_big());
        }
        if (src.items.len() as i64) < n {
            return Err(subscript_error("source array too small"));
        }
        if n == 0 {
            return Ok(Array {
                elem: a.elem,
                dims: Vec::new(),
                items: Vec::new(),
            });
        }
        check_size(&dims)?;
        return Ok(Array {
            elem: a.elem,
            dims,
            items: src.items.into_iter().take(n as usize).collect(),
        });
    }
    if a.ndim() < bounds.len() {
        return Err(subscript_error("wrong number of array subscripts"));
    }
    let mut lower: Vec<i64> = Vec::with_capacity(a.ndim());
    let mut upper: Vec<i64> = Vec::with_capacity(a.ndim());
    for (d, &(len, lb)) in a.dims.iter().enumerate() {
        let (lo, hi) = bounds.get(d).copied().unwrap_or((None, None));
        let lo = lo.map_or(lb as i64, |v| v as i64);
        let hi = hi.map_or(lb as i64 + len as i64 - 1, |v| v as i64);
        if lo > hi {
            return Err(subscript_error(
                "upper bound cannot be less than lower bound",
            ));
        }
        lower.push(lo);
        upper.push(hi);
    }
    let mut dims = a.dims.clone();
    if a.ndim() == 1 {
        let (len, lb) = dims[0];
        let new_lb = (lb as i64).min(lower[0]);
        let new_end = (lb as i64 + len as i64).max(upper[0] + 1);
        if new_end - new_lb > i32::MAX as i64 {
            return Err(too_big());
        }
        dims[0] = ((new_end - new_lb) as i32, new_lb as i32);
    } else {
        for (d, &(len, lb)) in a.dims.iter().enumerate() {
            if lower[d] < lb as i64 || upper[d] >= lb as i64 + len as i64 {
                return Err(subscript_error("array subscript out of range"));
            }
        }
    }
    let total = check_size(&dims)?;
    let span: i64 = lower.iter().zip(&upper).map(|(l, u)| u - l + 1).product();
    if span > src.items.len() as i64 {
        return Err(subscript_error("source array too small"));
    }
    // The new array: the old elements where they were, NULL in the
    // positions the extension added, then the slice from the source.
    let mut items = vec![Value::Null; total];
    let ndim = dims.len();
    let mut idx = vec![0i64; ndim];
    let old_dims = a.dims.clone();
    for (k, v) in a.items.into_iter().enumerate() {
        // Position k of the old array in the new one.
        let mut rem = k as i64;
        for d in (0..ndim).rev() {
            let (len, lb) = old_dims[d];
            idx[d] = lb as i64 + rem % len as i64;
            rem /= len as i64;
        }
        items[offset(&dims, &idx)] = v;
    }
    let src_items = src.items.into_iter();
    let mut cur = lower.clone();
    'fill: for v in src_items {
        items[offset(&dims, &cur)] = v;
        let mut d = ndim;
        loop {
            if d == 0 {
                break 'fill;
            }
            d -= 1;
            if cur[d] < upper[d] {
                cur[d] += 1;
                break;
            }
            cur[d] = lower[d];
        }
    }
    Ok(Array {
        elem: a.elem,
        dims,
        items,
    })
}

/// `j[s1][s2]... := value` for jsonb (PostgreSQL's jsonb_set_element:
/// setPath creating what is missing, filling array gaps with nulls, and
/// refusing to prepend): `args` are the jsonb, the subscripts as text,
/// then the value. A NULL jsonb starts as `[]` when the first subscript
/// is an integer (`expect_array`), else `{}`; a NULL value is json null.
pub(crate) fn jsonb_assign(expect_array: bool, args: Vec<Value>) -> Result<Value, PgError> {
    use tusk_types::json::Jsonb;
    let n = args.len();
    let mut it = args.into_iter();
    let base = it.next().unwrap_or(Value::Null);
    let mut path = Vec::with_capacity(n.saturating_sub(2));
    for _ in 2..n {
        match it.next().unwrap_or(Value::Null) {
            Value::Null => {
                return Err(PgError::error(
                    sqlstate::NULL_VALUE_NOT_ALLOWED,
                    "jsonb subscript in assignment must not be null",
                ))
            }
            v => path.push(crate::value::to_text(&v).unwrap_or_default()),
        }
    }
    let new = match it.next().unwrap_or(Value::Null) {
        Value::Jsonb(j) => *j,
        _ => Jsonb::Null,
    };
    let mut root = match base {
        Value::Jsonb(j) => *j,
        _ if expect_array => Jsonb::Array(Vec::new()),
        _ => Jsonb::Object(Vec::new()),
    };
    if !path.is_empty() {
        jsonb_set(&mut root, &path, 0, new)?;
    }
    Ok(Value::Jsonb(Box::new(root)))
}

/// setPath's integer reading of a path element (strtoint).
fn path_int(p: &str) -> Option<i32> {
    p.trim_start().parse::<i32>().ok()
}

/// The value for `rest` of a path that does not exist yet: an object
/// per text element, an array (nulls up to the index) per integer one.
fn jsonb_chain(rest: &[String], new: tusk_types::json::Jsonb) -> tusk_types::json::Jsonb {
    use tusk_types::json::Jsonb;
    let Some((first, more)) = rest.split_first() else {
        return new;
    };
    let inner = jsonb_chain(more, new);
    match path_int(first) {
        Some(k) => {
            let mut items = vec![Jsonb::Null; k.max(0) as usize];
            items.push(inner);
            Jsonb::Array(items)
        }
        None => Jsonb::Object(vec![(first.clone(), inner)]),
    }
}

fn jsonb_set(
    x: &mut tusk_types::json::Jsonb,
    path: &[String],
    level: usize,
    new: tusk_types::json::Jsonb,
) -> Result<(), PgError> {
    use tusk_types::json::Jsonb;
    let last = level + 1 == path.len();
    let key = &path[level];
    match x {
        Jsonb::Object(pairs) => match pairs.iter().position(|(k, _)| k == key) {
            Some(i) if last => pairs[i].1 = new,
            Some(i) => jsonb_set(&mut pairs[i].1, path, level + 1, new)?,
            None => {
                let mut all = std::mem::take(pairs);
                all.push((key.clone(), jsonb_chain(&path[level + 1..], new)));
                *x = Jsonb::object(all);
            }
        },
        Jsonb::Array(items) => {
            let Some(i) = path_int(key) else {
                return Err(PgError::error(
                    sqlstate::INVALID_TEXT_REPRESENTATION,
                    format!(
                        "path element at position {} is not an integer: \"{key}\"",
                        level + 1
                    ),
                ));
            };
            let n = items.len() as i64;
            let idx = if i < 0 {
                if -(i as i64) > n {
                    return Err(PgError::error(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!(
                            "path element at position {} is out of range: {i}",
                            level + 1
                        ),
                    ));
                }
                n + i as i64
            } else {
                i as i64
            };
            if idx < n {
                if last {
                    items[idx as usize] = new;
                } else {
                    jsonb_set(&mut items[idx as usize], path, level + 1, new)?;
                }
            } else {
                items.resize(idx as usize, Jsonb::Null);
                items.push(jsonb_chain(&path[level + 1..], new));
            }
        }
        _ => {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                "cannot replace existing key",
            )
            .with_detail("The path assumes key is a composite object, but it is a scalar value."))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::array::{parse, to_text};
    use crate::types::{self, Ty};

    fn a(s: &str) -> Value {
        Value::Array(Box::new(parse(s, Ty::new(types::INT4), 0).unwrap()))
    }

    fn run(base: Value, subs: &[Sub], idx: &[i32], v: Value) -> Result<String, PgError> {
        let mut args = vec![base];
        args.extend(idx.iter().map(|&i| Value::Int4(i)));
        args.push(v);
        match assign(subs, types::INT4, args)? {
            Value::Array(a) => Ok(to_text(&a)),
            _ => Ok("NULL".into()),
        }
    }

    #[test]
    fn elements() {
        assert_eq!(
            run(Value::Null, &[Sub::Index], &[3], Value::Int4(7)).unwrap(),
            "[3:3]={7}"
        );
        assert_eq!(
            run(a("{1,2}"), &[Sub::Index], &[5], Value::Int4(5)).unwrap(),
            "{1,2,NULL,NULL,5}"
        );
        assert_eq!(
            run(a("{1,2}"), &[Sub::Index], &[-1], Value::Int4(0)).unwrap(),
            "[-1:2]={0,NULL,1,2}"
        );
        assert_eq!(
            run(
                a("{{1,2},{3,4}}"),
                &[Sub::Index, Sub::Index],
                &[2, 1],
                Value::Int4(9)
            )
            .unwrap(),
            "{{1,2},{9,4}}"
        );
        let e = run(
            a("{{1,2},{3,4}}"),
            &[Sub::Index, Sub::Index],
            &[3, 1],
            Value::Int4(9),
        )
        .unwrap_err();
        assert_eq!(e.message, "array subscript out of range");
    }

    #[test]
    fn slices() {
        let both = Sub::Slice {
            lower: true,
            upper: true,
        };
        assert_eq!(
            run(a("{1,2,3}"), &[both], &[2, 4], a("{7,8,9,10}")).unwrap(),
            "{1,7,8,9}"
        );
        assert_eq!(
            run(Value::Null, &[both], &[1, 2], a("{7,8,9}")).unwrap(),
            "{7,8}"
        );
        let e = run(a("{1,2,3}"), &[both], &[1, 3], a("{7}")).unwrap_err();
        assert_eq!(e.message, "source array too small");
        let open = Sub::Slice {
            lower: false,
            upper: true,
        };
        let e = run(Value::Null, &[open], &[2], a("{7,8}")).unwrap_err();
        assert_eq!(
            e.message,
            "array slice subscript must provide both boundaries"
        );
        assert_eq!(
            run(a("{1,2,3}"), &[both], &[5, 6], a("{5,6}")).unwrap(),
            "{1,2,3,NULL,5,6}"
        );
    }
}
