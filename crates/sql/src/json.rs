//! json and jsonb at run time: the operators (-> ->> #> #>> @> <@ ? ?| ?&
//! || - #-), the scalar functions (to_json, json_build_object, jsonb_set,
//! jsonb_typeof, ...), the set-returning ones (json_each,
//! json_array_elements, json_object_keys) and the aggregates' final
//! values, all as one [`Expr::Json`](crate::expr::Expr) node kind.
//!
//! Why one node with an operator enum (as arrays.rs): the binder
//! (bind/json.rs) has already chosen the operation and coerced the
//! arguments, so each operation is a function of its evaluated
//! arguments; json inputs are handled on their verbatim text
//! (types::json::raw_children) so that extraction returns the text as
//! written, as PostgreSQL's json functions do; jsonb inputs on the tree.
//!
//! Pure functions of their arguments; any backend may call them.

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::types::{self, Oid};
use crate::value::{to_text, Value};
use tusk_types::json::{self as tj, Jsonb, Raw};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonOp {
    /// `->` / `->>` with a text key.
    Field {
        text: bool,
    },
    /// `->` / `->>` with an integer index.
    Index {
        text: bool,
    },
    /// `#>` / `#>>` and json(b)_extract_path(_text).
    Path {
        text: bool,
    },
    Contains,
    ContainedBy,
    Exists,
    ExistsAny,
    ExistsAll,
    Concat,
    DeleteKey,
    DeleteIndex,
    DeleteKeys,
    DeletePath,
    /// to_json / to_jsonb (`b`: jsonb).
    ToJson {
        b: bool,
    },
    /// row_to_json / array_to_json.
    RowToJson,
    ArrayToJson,
    BuildObject {
        b: bool,
    },
    BuildArray {
        b: bool,
    },
    /// json_object(text[]) / jsonb_object(text[]), or of keys and values.
    Object {
        b: bool,
    },
    Typeof,
    ArrayLength,
    Set,
    /// jsonb_set_lax: jsonb_set with a rule for an SQL NULL value.
    SetLax,
    /// pg_column_size of a jsonb: the bytes of PostgreSQL's stored form.
    ColumnSize,
    Insert,
    StripNulls,
    Pretty,
    /// The (key, value) argument pair of json(b)_object_agg, as a record.
    Pair,
    /// row_to_json / array_to_json with pretty_bool: the first argument's
    /// json with `,\n ` between its top-level members when the flag is set.
    PrettyTop,
    /// json(b)_build_object / json(b)_build_array with `VARIADIC arr`:
    /// the array's elements are the arguments (a NULL array: NULL).
    Spread {
        b: bool,
        object: bool,
    },
    /// A jsonpath function (jsonpath.rs); `op`: spelled as `@?` / `@@`.
    JsonPath {
        f: crate::jsonpath::PathFn,
        op: bool,
    },
}

impl JsonOp {
    /// The SQL spelling EXPLAIN shows.
    pub(crate) fn name(self) -> &'static str {
        match self {
            JsonOp::Field { text: false } | JsonOp::Index { text: false } => "->",
            JsonOp::Field { text: true } | JsonOp::Index { text: true } => "->>",
            JsonOp::Path { text: false } => "#>",
            JsonOp::Path { text: true } => "#>>",
            JsonOp::Contains => "@>",
            JsonOp::ContainedBy => "<@",
            JsonOp::Exists => "?",
            JsonOp::ExistsAny => "?|",
            JsonOp::ExistsAll => "?&",
            JsonOp::Concat => "||",
            JsonOp::DeleteKey | JsonOp::DeleteIndex | JsonOp::DeleteKeys => "-",
            JsonOp::DeletePath => "#-",
            JsonOp::ToJson { b: false } => "to_json",
            JsonOp::ToJson { b: true } => "to_jsonb",
            JsonOp::RowToJson => "row_to_json",
            JsonOp::ArrayToJson => "array_to_json",
            JsonOp::BuildObject { b: false } => "json_build_object",
            JsonOp::BuildObject { b: true } => "jsonb_build_object",
            JsonOp::BuildArray { b: false } => "json_build_array",
            JsonOp::BuildArray { b: true } => "jsonb_build_array",
            JsonOp::Object { b: false } => "json_object",
            JsonOp::Object { b: true } => "jsonb_object",
            JsonOp::Typeof => "jsonb_typeof",
            JsonOp::ArrayLength => "jsonb_array_length",
            JsonOp::Set => "jsonb_set",
            JsonOp::SetLax => "jsonb_set_lax",
            JsonOp::ColumnSize => "pg_column_size",
            JsonOp::Insert => "jsonb_insert",
            JsonOp::StripNulls => "jsonb_strip_nulls",
            JsonOp::Pretty => "jsonb_pretty",
            JsonOp::Pair => "ROW",
            JsonOp::PrettyTop => "row_to_json",
            JsonOp::Spread { b, object } => JsonOp::spread_target(b, object).name(),
            JsonOp::JsonPath { f, op } => {
                use crate::jsonpath::PathFn;
                match (f, op) {
                    (PathFn::Exists, true) => "@?",
                    (PathFn::Match, true) => "@@",
                    (PathFn::Exists, false) => "jsonb_path_exists",
                    (PathFn::Match, false) => "jsonb_path_match",
                    (PathFn::QueryArray, _) => "jsonb_path_query_array",
                    (PathFn::QueryFirst, _) => "jsonb_path_query_first",
                }
            }
        }
    }

    fn spread_target(b: bool, object: bool) -> JsonOp {
        if object {
            JsonOp::BuildObject { b }
        } else {
            JsonOp::BuildArray { b }
        }
    }

    /// An infix operator (EXPLAIN prints `(a op b)`).
    pub(crate) fn is_operator(self) -> bool {
        !matches!(
            self,
            JsonOp::ToJson { .. }
                | JsonOp::RowToJson
                | JsonOp::ArrayToJson
                | JsonOp::BuildObject { .. }
                | JsonOp::BuildArray { .. }
                | JsonOp::Spread { .. }
                | JsonOp::PrettyTop
                | JsonOp::Object { .. }
                | JsonOp::Typeof
                | JsonOp::ArrayLength
                | JsonOp::Set
                | JsonOp::SetLax
                | JsonOp::ColumnSize
                | JsonOp::Insert
                | JsonOp::StripNulls
                | JsonOp::Pretty
                | JsonOp::Pair
                | JsonOp::JsonPath { op: false, .. }
        )
    }
}

/// The set-returning json functions in FROM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonSrf {
    Each {
        text: bool,
    },
    Elements {
        text: bool,
    },
    ObjectKeys,
    /// jsonb_path_query (jsonpath.rs).
    PathQuery,
    /// json(b)_populate_record(set) / json(b)_to_record(set) in FROM
    /// (jsonrec.rs): the fields of the row(s) its one argument gave.
    Records {
        width: usize,
        set: bool,
    },
}

fn bad(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::INVALID_PARAMETER_VALUE, msg)
}

/// A json or jsonb argument as a tree (json read with its duplicates).
fn tree(v: &Value) -> Result<Option<Jsonb>, PgError> {
    Ok(match v {
        Value::Jsonb(j) => Some((**j).clone()),
        Value::Json(s) => Some(tj::parse_json_tree(s)?),
        Value::Null => None,
        other => Some(to_jsonb(other)),
    })
}

fn jb(j: Jsonb) -> Value {
    Value::Jsonb(Box::new(j))
}

fn text_arg(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        other => to_text(other),
    }
}

/// The text[] argument's elements (NULL elements as None).
fn text_items(v: &Value) -> Option<Vec<Option<String>>> {
    match v {
        Value::Array(a) => Some(a.items.iter().map(text_arg).collect()),
        _ => None,
    }
}

/// One json-text member as the result of `->` (json) or `->>` (text).
fn raw_result(raw: &str, text: bool) -> Result<Value, PgError> {
    if !text {
        return Ok(Value::Json(raw.to_string()));
    }
    let t = tj::parse_json_tree(raw)?;
    Ok(match t {
        Jsonb::Null => Value::Null,
        Jsonb::String(s) => Value::Text(s),
        _ => Value::Text(raw.to_string()),
    })
}

fn jsonb_result(v: Option<&Jsonb>, text: bool) -> Value {
    match v {
        None => Value::Null,
        Some(j) if text => match tj::as_text(j) {
            Some(s) => Value::Text(s),
            None => Value::Null,
        },
        Some(j) => jb(j.clone()),
    }
}

fn json_field<'a>(s: &'a str, key: &str) -> Result<Option<&'a str>, PgError> {
    Ok(match tj::raw_children(s)? {
        Raw::Object(pairs) => pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v),
        _ => None,
    })
}

fn json_index(s: &str, i: i64) -> Result<Option<&str>, PgError> {
    Ok(match tj::raw_children(s)? {
        Raw::Array(items) => {
            let n = items.len() as i64;
            let i = if i < 0 { n + i } else { i };
            if (0..n).contains(&i) {
                Some(items[i as usize])
            } else {
                None
            }
        }
        _ => None,
    })
}

fn jsonb_path<'a>(mut cur: &'a Jsonb, path: &[Option<String>]) -> Option<&'a Jsonb> {
    for p in path {
        let p = p.as_deref()?;
        cur = match cur {
            Jsonb::Object(_) => cur.get(p)?,
            Jsonb::Array(_) => cur.index(p.trim().parse::<i64>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Evaluate one json operation over its evaluated arguments.
pub(crate) fn eval(op: JsonOp, args: Vec<Value>) -> Result<Value, PgError> {
    if let JsonOp::JsonPath { f, .. } = op {
        return crate::jsonpath::eval(f, args);
    }
    if let JsonOp::Spread { b, object } = op {
        return match args.into_iter().next() {
            Some(Value::Array(a)) => eval(JsonOp::spread_target(b, object), a.items),
            _ => Ok(Value::Null),
        };
    }
    let a0 = args.first().cloned().unwrap_or(Value::Null);
    let a1 = args.get(1).cloned().unwrap_or(Value::Null);
    // Strict operations: NULL in, NULL out.
    let strict = !matches!(
        op,
        JsonOp::ToJson { .. }
            | JsonOp::BuildObject { .. }
            | JsonOp::BuildArray { .. }
            | JsonOp::Set
            | JsonOp::SetLax
            | JsonOp::Insert
            | JsonOp::Pair
    );
    if strict && args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    Ok(match op {
        JsonOp::Field { text } => {
            let key = text_arg(&a1).unwrap_or_default();
            match &a0 {
                Value::Json(s) => match json_field(s, &key)? {
                    Some(r) => raw_result(r, text)?,
                    None => Value::Null,
                },
                Value::Jsonb(j) => jsonb_result(j.get(&key), text),
                _ => Value::Null,
            }
        }
        JsonOp::Index { text } => {
            let i = match &a1 {
                Value::Int2(i) => *i as i64,
                Value::Int4(i) => *i as i64,
                Value::Int8(i) => *i,
                _ => 0,
            };
            match &a0 {
                Value::Json(s) => match json_index(s, i)? {
                    Some(r) => raw_result(r, text)?,
                    None => Value::Null,
                },
                // A top-level scalar is a one-element array to jsonb's
                // element access (PostgreSQL's raw scalar).
                Value::Jsonb(j) if j.is_scalar() => {
                    jsonb_result((i == 0 || i == -1).then_some(&**j), text)
                }
                Value::Jsonb(j) => jsonb_result(j.index(i), text),
                _ => Value::Null,
            }
        }
        JsonOp::Path { text } => {
            let path: Vec<Option<String>> = if args.len() == 2 && matches!(a1, Value::Array(_)) {
                text_items(&a1).unwrap_or_default()
            } else {
                args[1..].iter().map(text_arg).collect()
            };
            match &a0 {
                Value::Json(s) => {
                    let mut cur = s.clone();
                    for p in &path {
                        let Some(p) = p else { return Ok(Value::Null) };
                        let next = match tj::raw_children(&cur)? {
                            Raw::Object(pairs) => pairs
                                .iter()
                                .rev()
                                .find(|(k, _)| k == p)
                                .map(|(_, v)| v.to_string()),
                            Raw::Array(items) => p.trim().parse::<i64>().ok().and_then(|i| {
                                let n = items.len() as i64;
                                let i = if i < 0 { n + i } else { i };
                                (0..n).contains(&i).then(|| items[i as usize].to_string())
                            }),
                            Raw::Scalar(_) => None,
                        };
                        match next {
                            Some(n) => cur = n,
                            None => return Ok(Value::Null),
                        }
                    }
                    raw_result(cur.trim(), text)?
                }
                Value::Jsonb(j) => jsonb_result(jsonb_path(j, &path), text),
                _ => Value::Null,
            }
        }
        JsonOp::Contains | JsonOp::ContainedBy => {
            let (Some(x), Some(y)) = (tree(&a0)?, tree(&a1)?) else {
                return Ok(Value::Null);
            };
            Value::Bool(if op == JsonOp::Contains {
                tj::contains(&x, &y)
            } else {
                tj::contains(&y, &x)
            })
        }
        JsonOp::Exists => {
            let x = tree(&a0)?.unwrap_or(Jsonb::Null);
            Value::Bool(tj::exists(&x, &text_arg(&a1).unwrap_or_default()))
        }
        JsonOp::ExistsAny | JsonOp::ExistsAll => {
            let x = tree(&a0)?.unwrap_or(Jsonb::Null);
            let keys: Vec<String> = text_items(&a1)
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect();
            Value::Bool(if op == JsonOp::ExistsAny {
                keys.iter().any(|k| tj::exists(&x, k))
            } else {
                keys.iter().all(|k| tj::exists(&x, k))
            })
        }
        JsonOp::Concat => {
            let (Some(x), Some(y)) = (tree(&a0)?, tree(&a1)?) else {
                return Ok(Value::Null);
            };
            jb(concat(x, y))
        }
        JsonOp::DeleteKey => {
            let k = text_arg(&a1).unwrap_or_default();
            jb(delete_keys(tree(&a0)?.unwrap_or(Jsonb::Null), &[k])?)
        }
        JsonOp::DeleteKeys => {
            let keys: Vec<String> = text_items(&a1)
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect();
            jb(delete_keys(tree(&a0)?.unwrap_or(Jsonb::Null), &keys)?)
        }
        JsonOp::DeleteIndex => {
            let i = match a1 {
                Value::Int4(i) => i as i64,
                Value::Int8(i) => i,
                Value::Int2(i) => i as i64,
                _ => 0,
            };
            match tree(&a0)?.unwrap_or(Jsonb::Null) {
                Jsonb::Array(mut items) => {
                    let n = items.len() as i64;
                    let i = if i < 0 { n + i } else { i };
                    if (0..n).contains(&i) {
                        items.remove(i as usize);
                    }
                    jb(Jsonb::Array(items))
                }
                Jsonb::Object(_) => {
                    return Err(bad("cannot delete from object using integer index"))
                }
                _ => return Err(bad("cannot delete from scalar")),
            }
        }
        JsonOp::DeletePath => {
            let path = text_items(&a1).unwrap_or_default();
            let x = tree(&a0)?.unwrap_or(Jsonb::Null);
            if x.is_scalar() {
                return Err(bad("cannot delete path in scalar"));
            }
            let mut x = x;
            if !path.is_empty() {
                delete_path(&mut x, &path)?;
            }
            jb(x)
        }
        JsonOp::ToJson { b } => {
            if a0.is_null() {
                return Ok(Value::Null);
            }
            out(to_jsonb_json(&a0), b)
        }
        // Field names, when the binder knew them, follow the record.
        JsonOp::RowToJson => match &a0 {
            Value::Record(fields) if args.len() == fields.len() + 1 => {
                let parts: Vec<String> = fields
                    .iter()
                    .zip(&args[1..])
                    .map(|((_, x), n)| {
                        format!(
                            "{}:{}",
                            tj::escape(&to_text(n).unwrap_or_default()),
                            json_text(x, false)
                        )
                    })
                    .collect();
                Value::Json(format!("{{{}}}", parts.join(",")))
            }
            Value::Record(_) => Value::Json(json_text(&a0, false)),
            other => Value::Json(json_text(other, false)),
        },
        JsonOp::ArrayToJson => Value::Json(json_text(&a0, false)),
        JsonOp::BuildObject { b } => {
            if !args.len().is_multiple_of(2) {
                let f = if b {
                    "jsonb_build_object"
                } else {
                    "json_build_object"
                };
                return Err(
                    bad("argument list must have even number of elements").with_hint(format!(
                        "The arguments of {f}() must consist of alternating keys and values."
                    )),
                );
            }
            let mut pairs = Vec::with_capacity(args.len() / 2);
            for (i, kv) in args.chunks(2).enumerate() {
                if matches!(
                    kv[0],
                    Value::Array(_) | Value::Record(_) | Value::Json(_) | Value::Jsonb(_)
                ) {
                    return Err(bad(
                        "key value must be scalar, not array, composite, or json",
                    ));
                }
                let Some(k) = key_text(&kv[0]) else {
                    if b {
                        return Err(bad(format!("argument {}: key must not be null", 2 * i + 1)));
                    }
                    return Err(PgError::error(
                        sqlstate::NULL_VALUE_NOT_ALLOWED,
                        format!("argument {} cannot be null", 2 * i + 1),
                    )
                    .with_hint("Object keys should be text."));
                };
                pairs.push((k, &kv[1]));
            }
            if b {
                jb(Jsonb::object(
                    pairs.into_iter().map(|(k, v)| (k, to_jsonb(v))).collect(),
                ))
            } else {
                let parts: Vec<String> = pairs
                    .into_iter()
                    .map(|(k, v)| format!("{} : {}", tj::escape(&k), json_text(v, false)))
                    .collect();
                Value::Json(format!("{{{}}}", parts.join(", ")))
            }
        }
        JsonOp::BuildArray { b } => {
            if b {
                jb(Jsonb::Array(args.iter().map(to_jsonb).collect()))
            } else {
                let parts: Vec<String> = args.iter().map(|v| json_text(v, false)).collect();
                Value::Json(format!("[{}]", parts.join(", ")))
            }
        }
        JsonOp::Object { b } => {
            let pairs = object_pairs(&args)?;
            if b {
                jb(Jsonb::object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k, v.map_or(Jsonb::Null, Jsonb::String)))
                        .collect(),
                ))
            } else {
                let parts: Vec<String> = pairs
                    .into_iter()
                    .map(|(k, v)| {
                        format!(
                            "{} : {}",
                            tj::escape(&k),
                            v.map_or("null".to_string(), |s| tj::escape(&s))
                        )
                    })
                    .collect();
                Value::Json(format!("{{{}}}", parts.join(", ")))
            }
        }
        JsonOp::Typeof => {
            let x = tree(&a0)?.unwrap_or(Jsonb::Null);
            Value::Text(x.type_name().to_string())
        }
        JsonOp::ArrayLength => match tree(&a0)?.unwrap_or(Jsonb::Null) {
            Jsonb::Array(a) => Value::Int4(a.len() as i32),
            Jsonb::Object(_) => return Err(bad("cannot get array length of a non-array")),
            _ => return Err(bad("cannot get array length of a scalar")),
        },
        JsonOp::StripNulls => match &a0 {
            Value::Json(s) => Value::Json(tree_json_text(&strip_nulls(tj::parse_json_tree(s)?))),
            _ => jb(strip_nulls(tree(&a0)?.unwrap_or(Jsonb::Null))),
        },
        JsonOp::Pretty => Value::Text(tj::pretty(&tree(&a0)?.unwrap_or(Jsonb::Null))),
        JsonOp::Pair => Value::Record(vec![(types::TEXT, a0), (types::TEXT, a1)]),
        JsonOp::JsonPath { f, .. } => crate::jsonpath::eval(f, args)?,
        JsonOp::Spread { .. } => Value::Null,
        JsonOp::PrettyTop => match (&a0, &a1) {
            (Value::Json(s), Value::Bool(true)) => Value::Json(pretty_top(s)?),
            (_, Value::Null) => Value::Null,
            _ => a0,
        },
        JsonOp::ColumnSize => match &a0 {
            Value::Jsonb(j) => Value::Int4(crate::jsonpath::stored_size(j) as i32),
            _ => Value::Null,
        },
        JsonOp::SetLax => {
            if a0.is_null() || a1.is_null() || args.get(3).is_some_and(Value::is_null) {
                return Ok(Value::Null);
            }
            let bad_rule = || {
                bad("null_value_treatment must be \"delete_key\", \"return_target\", \"use_json_null\", or \"raise_exception\"")
            };
            let rule = match args.get(4) {
                Some(Value::Null) => return Err(bad_rule()),
                Some(v) => text_arg(v).unwrap_or_default(),
                None => "use_json_null".to_string(),
            };
            let mut set_args: Vec<Value> = args.iter().take(4).cloned().collect();
            if !args.get(2).is_some_and(Value::is_null) {
                return eval(JsonOp::Set, set_args);
            }
            match rule.as_str() {
                "raise_exception" => {
                    return Err(PgError::error(
                        sqlstate::NULL_VALUE_NOT_ALLOWED,
                        "JSON value must not be null",
                    )
                    .with_detail("Exception was raised because null_value_treatment is \"raise_exception\".")
                    .with_hint("To avoid, either change the null_value_treatment argument or ensure that an SQL NULL is not passed."))
                }
                "use_json_null" => {
                    set_args[2] = jb(Jsonb::Null);
                    return eval(JsonOp::Set, set_args);
                }
                "delete_key" => return eval(JsonOp::DeletePath, vec![a0, a1]),
                "return_target" => a0,
                _ => return Err(bad_rule()),
            }
        }
        JsonOp::Set | JsonOp::Insert => {
            if a0.is_null() || a1.is_null() {
                return Ok(Value::Null);
            }
            let new = match args.get(2) {
                Some(Value::Null) | None => {
                    if op == JsonOp::Set {
                        return Ok(Value::Null);
                    }
                    return Ok(Value::Null);
                }
                Some(v) => tree(v)?.unwrap_or(Jsonb::Null),
            };
            let flag = match args.get(3) {
                Some(Value::Bool(b)) => *b,
                Some(Value::Null) => return Ok(Value::Null),
                _ => op == JsonOp::Set,
            };
            let mut x = tree(&a0)?.unwrap_or(Jsonb::Null);
            let path = text_items(&a1).unwrap_or_default();
            if x.is_scalar() {
                return Err(bad("cannot set path in scalar"));
            }
            if !path.is_empty() {
                set_path(&mut x, &path, 0, new, op == JsonOp::Insert, flag)?;
            }
            jb(x)
        }
    })
}

fn out(j: Jsonb, b: bool) -> Value {
    if b {
        jb(j)
    } else {
        Value::Json(tree_json_text(&j))
    }
}

/// An object key from a value: its text form (NULL: none).
fn key_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some((if *b { "true" } else { "false" }).into()),
        other => to_text(other),
    }
}

fn object_pairs(args: &[Value]) -> Result<Vec<(String, Option<String>)>, PgError> {
    let items = |v: &Value| text_items(v).unwrap_or_default();
    match args {
        [a] => {
            let Value::Array(arr) = a else {
                return Ok(Vec::new());
            };
            let it = items(a);
            if arr.dims.len() > 2 {
                return Err(PgError::error(
                    sqlstate::ARRAY_SUBSCRIPT_ERROR,
                    "wrong number of array subscripts",
                ));
            }
            if arr.dims.len() == 2 && arr.dims[1].0 != 2 {
                return Err(PgError::error(
                    sqlstate::ARRAY_SUBSCRIPT_ERROR,
                    "array must have two columns",
                ));
            }
            if arr.dims.len() == 1 && it.len() % 2 != 0 {
                return Err(PgError::error(
                    sqlstate::ARRAY_SUBSCRIPT_ERROR,
                    "array must have even number of elements",
                ));
            }
            let mut out = Vec::new();
            for kv in it.chunks(2) {
                let Some(k) = kv[0].clone() else {
                    return Err(PgError::error(
                        sqlstate::NULL_VALUE_NOT_ALLOWED,
                        "null value not allowed for object key",
                    ));
                };
                out.push((k, kv[1].clone()));
            }
            Ok(out)
        }
        [k, v] => {
            let ndims = |x: &Value| match x {
                Value::Array(a) => a.dims.len(),
                _ => 0,
            };
            if ndims(k) > 1 || ndims(v) > 1 {
                return Err(PgError::error(
                    sqlstate::ARRAY_SUBSCRIPT_ERROR,
                    "wrong number of array subscripts",
                ));
            }
            let (k, v) = (items(k), items(v));
            if k.len() != v.len() {
                return Err(PgError::error(
                    sqlstate::ARRAY_SUBSCRIPT_ERROR,
                    "mismatched array dimensions",
                ));
            }
            let mut out = Vec::new();
            for (k, v) in k.into_iter().zip(v) {
                let Some(k) = k else {
                    return Err(PgError::error(
                        sqlstate::NULL_VALUE_NOT_ALLOWED,
                        "null value not allowed for object key",
                    ));
                };
                out.push((k, v));
            }
            Ok(out)
        }
        _ => Ok(Vec::new()),
    }
}

/// jsonb `||`: objects merge (right wins), arrays concatenate, a scalar
/// counts as a one-element array.
fn concat(x: Jsonb, y: Jsonb) -> Jsonb {
    match (x, y) {
        (Jsonb::Object(mut a), Jsonb::Object(b)) => {
            a.extend(b);
            Jsonb::object(a)
        }
        (Jsonb::Array(mut a), Jsonb::Array(b)) => {
            a.extend(b);
            Jsonb::Array(a)
        }
        (Jsonb::Array(mut a), other) => {
            a.push(other);
            Jsonb::Array(a)
        }
        (other, Jsonb::Array(b)) => {
            let mut a = vec![other];
            a.extend(b);
            Jsonb::Array(a)
        }
        (x, y) => Jsonb::Array(vec![x, y]),
    }
}

fn delete_keys(x: Jsonb, keys: &[String]) -> Result<Jsonb, PgError> {
    Ok(match x {
        Jsonb::Object(p) => {
            Jsonb::Object(p.into_iter().filter(|(k, _)| !keys.contains(k)).collect())
        }
        Jsonb::Array(a) => Jsonb::Array(
            a.into_iter()
                .filter(|v| !matches!(v, Jsonb::String(s) if keys.contains(s)))
                .collect(),
        ),
        _ => return Err(bad("cannot delete from scalar")),
    })
}

fn path_index(p: &str, level: usize) -> Result<i64, PgError> {
    p.trim().parse::<i64>().map_err(|_| {
        bad(format!(
            "path element at position {} is not an integer: \"{p}\"",
            level + 1
        ))
    })
}

fn delete_path(x: &mut Jsonb, path: &[Option<String>]) -> Result<(), PgError> {
    let Some(Some(p)) = path.first() else {
        return Ok(());
    };
    let last = path.len() == 1;
    match x {
        Jsonb::Object(pairs) => {
            if let Some(i) = pairs.iter().position(|(k, _)| k == p) {
                if last {
                    pairs.remove(i);
                } else {
                    delete_path(&mut pairs[i].1, &path[1..])?;
                }
            }
        }
        Jsonb::Array(items) => {
            let Ok(i) = p.trim().parse::<i64>() else {
                return Ok(());
            };
            let n = items.len() as i64;
            let i = if i < 0 { n + i } else { i };
            if (0..n).contains(&i) {
                if last {
                    items.remove(i as usize);
                } else {
                    delete_path(&mut items[i as usize], &path[1..])?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// jsonb_set / jsonb_insert at `path[level..]`. For set, `flag` is
/// create_if_missing; for insert it is insert_after.
fn set_path(
    x: &mut Jsonb,
    path: &[Option<String>],
    level: usize,
    new: Jsonb,
    insert: bool,
    flag: bool,
) -> Result<(), PgError> {
    let Some(p) = &path[level] else {
        return Err(bad(format!(
            "path element at position {} is null",
            level + 1
        )));
    };
    let last = level + 1 == path.len();
    match x {
        Jsonb::Object(pairs) => match pairs.iter().position(|(k, _)| k == p) {
            Some(i) => {
                if last {
                    if insert {
                        return Err(bad("cannot replace existing key")
                            .with_hint("Try using the function jsonb_set to replace key value."));
                    }
                    pairs[i].1 = new;
                } else {
                    set_path(&mut pairs[i].1, path, level + 1, new, insert, flag)?;
                }
            }
            None => {
                if last && (insert || flag) {
                    let mut all = std::mem::take(pairs);
                    all.push((p.clone(), new));
                    *x = Jsonb::object(all);
                }
            }
        },
        Jsonb::Array(items) => {
            let i = path_index(p, level)?;
            let n = items.len() as i64;
            let idx = if i < 0 { n + i } else { i };
            if last {
                if insert {
                    let at = if idx < 0 {
                        0
                    } else if idx >= n {
                        n
                    } else {
                        idx + flag as i64
                    };
                    items.insert(at as usize, new);
                } else if (0..n).contains(&idx) {
                    items[idx as usize] = new;
                } else if flag {
                    if idx < 0 {
                        items.insert(0, new);
                    } else {
                        items.push(new);
                    }
                }
            } else if (0..n).contains(&idx) {
                set_path(&mut items[idx as usize], path, level + 1, new, insert, flag)?;
            }
        }
        _ => {
            if level > 0 {
                // A scalar in the middle of the path: nothing to set.
                return Ok(());
            }
            return Err(bad("cannot set path in scalar"));
        }
    }
    Ok(())
}

fn strip_nulls(x: Jsonb) -> Jsonb {
    match x {
        Jsonb::Object(p) => Jsonb::Object(
            p.into_iter()
                .filter(|(_, v)| *v != Jsonb::Null)
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Jsonb::Array(a) => Jsonb::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// A tree as json text in the compact style json's processing functions
/// print (`{"a":1,"b":[1,2]}`).
fn tree_json_text(j: &Jsonb) -> String {
    match j {
        Jsonb::Array(a) => {
            let parts: Vec<String> = a.iter().map(tree_json_text).collect();
            format!("[{}]", parts.join(","))
        }
        Jsonb::Object(p) => {
            let parts: Vec<String> = p
                .iter()
                .map(|(k, v)| format!("{}:{}", tj::escape(k), tree_json_text(v)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        other => tj::to_text(other),
    }
}

/// to_json's text for one SQL value (datum_to_json): numbers bare
/// (NaN and infinities quoted), booleans, json as written, jsonb as
/// printed, arrays as `[..]` with `,` between elements, records as
/// `{"f1":..}`, timestamps in ISO 8601 with a `T`, else the text quoted.
pub(crate) fn json_text(v: &Value, _top: bool) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => (if *b { "true" } else { "false" }).into(),
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) | Value::Oid(_) => {
            to_text(v).unwrap_or_default()
        }
        Value::Float4(_) | Value::Float8(_) | Value::Numeric(_) => {
            let t = to_text(v).unwrap_or_default();
            if matches!(t.as_str(), "NaN" | "Infinity" | "-Infinity") {
                tj::escape(&t)
            } else {
                t
            }
        }
        Value::Json(s) => s.clone(),
        Value::Jsonb(j) => tj::to_text(j),
        Value::Array(a) => {
            let parts: Vec<String> = a.items.iter().map(|x| json_text(x, false)).collect();
            if a.dims.len() <= 1 {
                format!("[{}]", parts.join(","))
            } else {
                // Nested dimensions: group the row-major items.
                nest(
                    &parts,
                    &a.dims.iter().map(|d| d.0 as usize).collect::<Vec<_>>(),
                )
            }
        }
        Value::Record(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .enumerate()
                .map(|(i, (_, x))| format!("\"f{}\":{}", i + 1, json_text(x, false)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Timestamp(_) | Value::TimestampTz(_) => {
            let t = to_text(v).unwrap_or_default();
            tj::escape(&t.replacen(' ', "T", 1).replace("+00", "+00:00"))
        }
        other => tj::escape(&to_text(other).unwrap_or_default()),
    }
}

fn nest(items: &[String], dims: &[usize]) -> String {
    if dims.len() <= 1 {
        return format!("[{}]", items.join(","));
    }
    let per: usize = dims[1..].iter().product();
    let parts: Vec<String> = items
        .chunks(per.max(1))
        .map(|c| nest(c, &dims[1..]))
        .collect();
    format!("[{}]", parts.join(","))
}

/// to_jsonb of one SQL value.
pub(crate) fn to_jsonb(v: &Value) -> Jsonb {
    match v {
        Value::Null => Jsonb::Null,
        Value::Jsonb(j) => (**j).clone(),
        Value::Text(s) | Value::Name(s) => Jsonb::String(s.clone()),
        Value::Array(a) if a.dims.len() <= 1 => {
            Jsonb::Array(a.items.iter().map(to_jsonb).collect())
        }
        other => {
            let t = json_text(other, false);
            tj::parse_jsonb(&t).unwrap_or(Jsonb::String(t))
        }
    }
}

fn to_jsonb_json(v: &Value) -> Jsonb {
    to_jsonb(v)
}

/// The rows of a json set-returning function.
pub(crate) fn srf_rows(
    op: JsonSrf,
    args: Vec<Value>,
    json: bool,
) -> Result<Vec<Vec<Value>>, PgError> {
    if op == JsonSrf::PathQuery {
        return crate::jsonpath::query(args);
    }
    if let JsonSrf::Records { width, set } = op {
        let v = args.into_iter().next().unwrap_or(Value::Null);
        return Ok(crate::jsonrec::rows(v, width, set));
    }
    let a0 = args.into_iter().next().unwrap_or(Value::Null);
    let fname = |base: &str| format!("{}_{base}", if json { "json" } else { "jsonb" });
    let kind = |v: &Value| -> Result<&'static str, PgError> {
        Ok(match tree(v)?.unwrap_or(Jsonb::Null) {
            Jsonb::Object(_) => "object",
            Jsonb::Array(_) => "array",
            _ => "scalar",
        })
    };
    if a0.is_null() {
        return Ok(Vec::new());
    }
    let text_of = |raw: &str| -> Result<Value, PgError> { raw_result(raw, true) };
    Ok(match (op, &a0) {
        (JsonSrf::PathQuery | JsonSrf::Records { .. }, _) => Vec::new(),
        (JsonSrf::Each { text }, Value::Json(s)) => match tj::raw_children(s)? {
            Raw::Object(pairs) => pairs
                .into_iter()
                .map(|(k, v)| {
                    Ok(vec![
                        Value::Text(k),
                        if text {
                            text_of(v)?
                        } else {
                            Value::Json(v.to_string())
                        },
                    ])
                })
                .collect::<Result<_, PgError>>()?,
            _ => {
                return Err(bad(format!(
                    "cannot call {} on a non-object",
                    fname(if text { "each_text" } else { "each" })
                )))
            }
        },
        (JsonSrf::Each { text }, v) => match tree(v)?.unwrap_or(Jsonb::Null) {
            Jsonb::Object(pairs) => pairs
                .into_iter()
                .map(|(k, v)| vec![Value::Text(k), jsonb_result(Some(&v), text)])
                .collect(),
            _ => {
                return Err(bad(format!(
                    "cannot call {} on a non-object",
                    fname(if text { "each_text" } else { "each" })
                )))
            }
        },
        (JsonSrf::Elements { text }, Value::Json(s)) => match tj::raw_children(s)? {
            Raw::Array(items) => items
                .into_iter()
                .map(|v| {
                    Ok(vec![if text {
                        text_of(v)?
                    } else {
                        Value::Json(v.to_string())
                    }])
                })
                .collect::<Result<_, PgError>>()?,
            Raw::Object(_) => return Err(bad("cannot call json_array_elements on a non-array")),
            Raw::Scalar(_) => return Err(bad("cannot call json_array_elements on a scalar")),
        },
        (JsonSrf::Elements { text }, v) => match tree(v)?.unwrap_or(Jsonb::Null) {
            Jsonb::Array(items) => items
                .into_iter()
                .map(|v| vec![jsonb_result(Some(&v), text)])
                .collect(),
            Jsonb::Object(_) => return Err(bad("cannot extract elements from an object")),
            _ => return Err(bad("cannot extract elements from a scalar")),
        },
        (JsonSrf::ObjectKeys, v) => match tree(v)?.unwrap_or(Jsonb::Null) {
            Jsonb::Object(pairs) => pairs
                .into_iter()
                .map(|(k, _)| vec![Value::Text(k)])
                .collect(),
            _ => {
                return Err(bad(format!(
                    "cannot call {} on {}",
                    fname("object_keys"),
                    if kind(v)? == "array" {
                        "an array"
                    } else {
                        "a scalar"
                    }
                )))
            }
        },
    })
}

/// The SQL type of a json function's result column.
pub(crate) fn srf_columns(op: JsonSrf, json: bool) -> Vec<(&'static str, Oid)> {
    let jt = if json { types::JSON } else { types::JSONB };
    match op {
        JsonSrf::Each { text } => vec![
            ("key", types::TEXT),
            ("value", if text { types::TEXT } else { jt }),
        ],
        JsonSrf::Elements { text } => vec![("value", if text { types::TEXT } else { jt })],
        JsonSrf::ObjectKeys => vec![("json_object_keys", types::TEXT)],
        JsonSrf::PathQuery => vec![("jsonb_path_query", types::JSONB)],
        JsonSrf::Records { .. } => Vec::new(),
    }
}

/// The aggregates json_agg / jsonb_agg (`object` false: each value) and
/// json_object_agg / jsonb_object_agg (`object`: each a [`JsonOp::Pair`]
/// record): the final value over the collected inputs; NULL for none.
pub(crate) fn agg_final(b: bool, object: bool, items: Vec<Value>) -> Result<Value, PgError> {
    if items.is_empty() {
        return Ok(Value::Null);
    }
    if !object {
        return Ok(if b {
            jb(Jsonb::Array(items.iter().map(to_jsonb).collect()))
        } else {
            let parts: Vec<String> = items.iter().map(|v| json_text(v, false)).collect();
            Value::Json(format!("[{}]", parts.join(", ")))
        });
    }
    let mut pairs = Vec::with_capacity(items.len());
    for it in items {
        let Value::Record(mut f) = it else { continue };
        let v = f.pop().map(|x| x.1).unwrap_or(Value::Null);
        let k = f.pop().map(|x| x.1).unwrap_or(Value::Null);
        let Some(k) = key_text(&k) else {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                "field name must not be null",
            ));
        };
        pairs.push((k, v));
    }
    Ok(if b {
        jb(Jsonb::object(
            pairs.into_iter().map(|(k, v)| (k, to_jsonb(&v))).collect(),
        ))
    } else {
        let parts: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{} : {}", tj::escape(k), json_text(v, false)))
            .collect();
        Value::Json(format!("{{ {} }}", parts.join(", ")))
    })
}

/// The pretty form of row_to_json / array_to_json: each top-level member
/// after the first on its own line, indented by one space.
fn pretty_top(s: &str) -> Result<String, PgError> {
    Ok(match tj::raw_children(s)? {
        Raw::Array(items) => format!("[{}]", items.join(",\n ")),
        Raw::Object(pairs) => {
            let parts: Vec<String> = pairs
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", tj::escape(&k)))
                .collect();
            format!("{{{}}}", parts.join(",\n "))
        }
        Raw::Scalar(_) => s.to_string(),
    })
}

/// The json(b)_to_tsvector filter: which values of a document count
/// (string, numeric, boolean, key; all), from a jsonb array of those
/// names or one such string.
fn tsvector_flags(f: &Value) -> Result<[bool; 4], PgError> {
    let hint = "Possible values are: \"string\", \"numeric\", \"boolean\", \"key\", and \"all\".";
    let j = tree(f)?.unwrap_or(Jsonb::Null);
    let items = match &j {
        Jsonb::Array(items) => items.iter().collect::<Vec<_>>(),
        Jsonb::Object(_) => {
            return Err(bad("wrong flag type, only arrays and scalars are allowed"));
        }
        scalar => vec![scalar],
    };
    let mut flags = [false; 4];
    for it in items {
        let Jsonb::String(s) = it else {
            return Err(bad("flag array element is not a string").with_hint(hint));
        };
        match s.to_ascii_lowercase().as_str() {
            "string" => flags[0] = true,
            "numeric" => flags[1] = true,
            "boolean" => flags[2] = true,
            "key" => flags[3] = true,
            "all" => flags = [true; 4],
            _ => {
                return Err(bad(format!("wrong flag in flag array: \"{s}\"")).with_hint(hint));
            }
        }
    }
    Ok(flags)
}

/// The texts of a json or jsonb document json(b)_to_tsvector indexes, in
/// document order, as the filter `flags` (a jsonb) picks them.
pub(crate) fn tsvector_parts(doc: &Value, flags: &Value) -> Result<Vec<String>, PgError> {
    let flags = tsvector_flags(flags)?;
    fn walk(j: &Jsonb, f: &[bool; 4], out: &mut Vec<String>) {
        match j {
            Jsonb::String(s) if f[0] => out.push(s.clone()),
            Jsonb::Number(n) if f[1] => out.push(n.to_string()),
            Jsonb::Bool(b) if f[2] => out.push(b.to_string()),
            Jsonb::Array(items) => items.iter().for_each(|x| walk(x, f, out)),
            Jsonb::Object(pairs) => {
                for (k, v) in pairs {
                    if f[3] {
                        out.push(k.clone());
                    }
                    walk(v, f, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(j) = tree(doc)? {
        walk(&j, &flags, &mut out);
    }
    Ok(out)
}

/// A json or jsonb document with each string value replaced by `f` of it
/// (keys kept): ts_headline over json. A json result is written compactly,
/// as PostgreSQL's transform_json_string_values does.
pub(crate) fn map_strings(
    doc: &Value,
    f: &mut dyn FnMut(&str) -> Result<String, PgError>,
) -> Result<Value, PgError> {
    fn walk(
        j: Jsonb,
        f: &mut dyn FnMut(&str) -> Result<String, PgError>,
    ) -> Result<Jsonb, PgError> {
        Ok(match j {
            Jsonb::String(s) => Jsonb::String(f(&s)?),
            Jsonb::Array(items) => Jsonb::Array(
                items
                    .into_iter()
                    .map(|x| walk(x, f))
                    .collect::<Result<_, _>>()?,
            ),
            Jsonb::Object(pairs) => Jsonb::Object(
                pairs
                    .into_iter()
                    .map(|(k, v)| Ok((k, walk(v, f)?)))
                    .collect::<Result<_, PgError>>()?,
            ),
            other => other,
        })
    }
    let json = matches!(doc, Value::Json(_));
    let Some(t) = tree(doc)? else {
        return Ok(Value::Null);
    };
    let t = walk(t, f)?;
    Ok(if json {
        Value::Json(tree_json_text(&t))
    } else {
        Value::Jsonb(Box::new(t))
    })
}
