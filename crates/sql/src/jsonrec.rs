//! json(b)_populate_record(set) and json(b)_to_record(set): a json object
//! turned into a row of a composite type, each field through its type's
//! input function, arrays and nested rows recursively, domains checked.
//!
//! Why a plan ([`Target`]) bound once: the field types, the domains'
//! bound CHECKs and the element types are known when the call is bound,
//! as PostgreSQL's per-call column cache; evaluation then only walks the
//! json. json inputs are read on their verbatim text (a json field of a
//! json row keeps its spacing), jsonb inputs on the tree, as PostgreSQL's
//! populate_record_field does for its two kinds of JsValue.
//!
//! Evaluated by the backend running the statement (an `Expr::JsonRecord`
//! node, or the rows of a `JsonSrf::Records` source in FROM).

use std::rc::Rc;

use tusk_common::sqlstate;
use tusk_common::PgError;
use tusk_types::json::{self as tj, Jsonb, Raw};

use crate::expr::Ctx;
use crate::types::{self, Oid, Ty};
use crate::value::Value;

/// What a json value is turned into.
#[derive(Debug)]
pub(crate) enum Target {
    /// Any other type: its input function over the value's text.
    Scalar(Ty),
    /// A true array type: json arrays of any depth, elements as `elem`.
    Array { ty: Ty, elem: Box<Target> },
    /// A row type: each field by name from a json object.
    Record {
        ty: Ty,
        fields: Vec<(String, Target)>,
    },
    /// A domain: the base type's value, then the domain's constraints.
    Domain {
        ty: Ty,
        base: Box<Target>,
        check: Rc<crate::domain::Coercion>,
    },
}

/// One bound call.
#[derive(Debug)]
pub(crate) struct Call {
    /// The function's name, for its errors.
    pub name: String,
    /// The row type produced, or the error PostgreSQL gives when it cannot
    /// tell (raised when the call runs, as PostgreSQL's is).
    pub target: Result<Target, PgError>,
    /// json(b)_populate_record(set): the first argument is the base row.
    pub has_base: bool,
    /// The ...recordset variants: an array of rows.
    pub set: bool,
    /// The row type produced.
    pub row_ty: Ty,
    /// With a column definition list over an anonymous base row: the
    /// list's types, which the base row must match.
    pub expect: Option<Vec<Ty>>,
}

impl Target {
    /// The plan for type `ty`; `host` binds domain constraints.
    pub(crate) fn build(
        host: &dyn crate::host::Host,
        ty: Ty,
        depth: u32,
    ) -> Result<Target, PgError> {
        if depth > 64 {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                "stack depth limit exceeded",
            ));
        }
        if let Some((base, typmod)) = tusk_types::usertype::domain_base(ty.oid) {
            let base = Target::build(host, Ty::with_mod(base, typmod), depth + 1)?;
            return Ok(Target::Domain {
                ty,
                base: Box::new(base),
                check: crate::domain::bind_coercion(host, ty.oid)?,
            });
        }
        if let Some(fields) = tusk_types::composite::fields(ty) {
            let mut out = Vec::with_capacity(fields.len());
            for f in fields {
                out.push((f.name, Target::build(host, f.ty, depth + 1)?));
            }
            return Ok(Target::Record { ty, fields: out });
        }
        if let Some(elem) = tusk_types::array::elem_type(ty.oid) {
            // An array column's typmod is its elements' (char(10)[]).
            let elem = Target::build(host, Ty::with_mod(elem, ty.typmod), depth + 1)?;
            return Ok(Target::Array {
                ty,
                elem: Box::new(elem),
            });
        }
        Ok(Target::Scalar(ty))
    }

    fn ty(&self) -> Ty {
        match self {
            Target::Scalar(t) => *t,
            Target::Array { ty, .. } | Target::Record { ty, .. } | Target::Domain { ty, .. } => *ty,
        }
    }

    /// A row type, or a domain over one.
    fn is_row(&self) -> bool {
        match self {
            Target::Record { .. } => true,
            Target::Domain { base, .. } => base.is_row(),
            _ => false,
        }
    }
}

/// A json value: verbatim json text, or a jsonb tree.
#[derive(Clone, Copy)]
enum Jv<'a> {
    Text(&'a str),
    Tree(&'a Jsonb),
}

/// A json value's kind, read from its text or tree.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Null,
    String,
    Object,
    Array,
    Other,
}

impl Jv<'_> {
    fn kind(&self) -> Kind {
        match self {
            Jv::Text(s) => match s.trim_start().as_bytes().first() {
                Some(b'n') => Kind::Null,
                Some(b'"') => Kind::String,
                Some(b'{') => Kind::Object,
                Some(b'[') => Kind::Array,
                _ => Kind::Other,
            },
            Jv::Tree(j) => match j {
                Jsonb::Null => Kind::Null,
                Jsonb::String(_) => Kind::String,
                Jsonb::Object(_) => Kind::Object,
                Jsonb::Array(_) => Kind::Array,
                _ => Kind::Other,
            },
        }
    }
}

/// The de-escaped value of a json string literal.
fn unescape(s: &str) -> Result<String, PgError> {
    Ok(match tj::parse_json_tree(s)? {
        Jsonb::String(x) => x,
        other => tj::to_text(&other),
    })
}

fn input(s: &str, ty: Ty, cx: &mut Ctx<'_>) -> Result<Value, PgError> {
    // bpcharin / varcharin: too long is an error unless only spaces go.
    if ty.typmod > 4 && matches!(ty.oid, types::BPCHAR | types::VARCHAR) {
        let max = (ty.typmod - 4) as usize;
        if s.chars().count() > max && s.chars().skip(max).any(|c| c != ' ') {
            let what = if ty.oid == types::BPCHAR {
                "character"
            } else {
                "character varying"
            };
            return Err(PgError::error(
                sqlstate::STRING_DATA_RIGHT_TRUNCATION,
                format!("value too long for type {what}({max})"),
            ));
        }
    }
    if crate::reg::needs_catalog(types::TEXT, ty.oid) {
        return crate::reg::cast(Value::Text(s.to_string()), types::TEXT, ty, cx.host);
    }
    tusk_types::cast::input(s, ty, cx.host.now())
}

/// populate_scalar: the value's text through the type's input function.
fn scalar(ty: Ty, jv: Jv<'_>, cx: &mut Ctx<'_>) -> Result<Value, PgError> {
    let text = match jv {
        Jv::Text(s) => {
            if jv.kind() == Kind::String {
                let v = unescape(s)?;
                if matches!(ty.oid, types::JSON | types::JSONB) {
                    tj::escape(&v)
                } else {
                    v
                }
            } else {
                s.to_string()
            }
        }
        Jv::Tree(j) => {
            if ty.oid == types::JSONB {
                return Ok(Value::Jsonb(Box::new(j.clone())));
            }
            match j {
                Jsonb::String(s) if ty.oid != types::JSON => s.clone(),
                Jsonb::Bool(b) => b.to_string(),
                _ => tj::to_text(j),
            }
        }
    };
    input(&text, ty, cx)
}

/// populate_record_field: `jv` (None: absent or null) as a value of `t`;
/// `col`: the key it came from (None inside an array), for the hints.
fn field(
    t: &Target,
    col: Option<&str>,
    default: Option<&Value>,
    jv: Option<Jv<'_>>,
    cx: &mut Ctx<'_>,
) -> Result<Value, PgError> {
    let jv = jv.filter(|j| j.kind() != Kind::Null);
    // A json string for an array or a row goes through its input function.
    if let Some(j) = jv {
        if j.kind() == Kind::String && (matches!(t, Target::Array { .. }) || t.is_row()) {
            let v = scalar(base_ty(t), j, cx)?;
            if let Target::Domain { check, .. } = t {
                check.apply(&v, cx)?;
            }
            return Ok(v);
        }
    }
    match t {
        Target::Scalar(ty) => match jv {
            None => Ok(Value::Null),
            Some(j) => scalar(*ty, j, cx),
        },
        Target::Array { ty, elem } => match jv {
            None => Ok(Value::Null),
            Some(j) => array(ty.oid, elem, col, j, cx),
        },
        Target::Record { fields, .. } => match jv {
            None => Ok(Value::Null),
            Some(j) => record(fields, default, j, cx),
        },
        Target::Domain { base, check, .. } => {
            let v = match jv {
                None => Value::Null,
                Some(j) => field(base, col, default, Some(j), cx)?,
            };
            check.apply(&v, cx)?;
            Ok(v)
        }
    }
}

/// The type whose input function reads a string for `t`: a domain's base.
fn base_ty(t: &Target) -> Ty {
    match t {
        Target::Domain { base, .. } => base_ty(base),
        other => other.ty(),
    }
}

/// A json object's members: (key, value), later duplicates winning.
fn members<'a>(jv: Jv<'a>, what: &str) -> Result<Vec<(String, Jv<'a>)>, PgError> {
    let bad = |scalar: bool| {
        PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!(
                "cannot call {what} on {}",
                if scalar { "a scalar" } else { "an array" }
            ),
        )
    };
    match jv {
        Jv::Text(s) => match tj::raw_children(s)? {
            Raw::Object(m) => Ok(m.into_iter().map(|(k, v)| (k, Jv::Text(v))).collect()),
            Raw::Array(_) => Err(bad(false)),
            Raw::Scalar(_) => Err(bad(true)),
        },
        Jv::Tree(Jsonb::Object(m)) => Ok(m.iter().map(|(k, v)| (k.clone(), Jv::Tree(v))).collect()),
        Jv::Tree(Jsonb::Array(_)) => Err(bad(false)),
        Jv::Tree(_) => Err(bad(true)),
    }
}

/// populate_record: each field from the object's member of its name, or
/// from the base row when the member is missing.
fn record(
    fields: &[(String, Target)],
    default: Option<&Value>,
    jv: Jv<'_>,
    cx: &mut Ctx<'_>,
) -> Result<Value, PgError> {
    let obj = members(jv, "populate_composite")?;
    let base = match default {
        Some(Value::Record(items)) => Some(items),
        _ => None,
    };
    if let (Some(_), true) = (base, obj.is_empty()) {
        return Ok(default.cloned().unwrap_or(Value::Null));
    }
    let mut out = Vec::with_capacity(fields.len());
    for (i, (name, t)) in fields.iter().enumerate() {
        let old = base.and_then(|b| b.get(i)).map(|(_, v)| v);
        let found = obj.iter().rev().find(|(k, _)| k == name).map(|(_, v)| *v);
        let v = match (found, old) {
            (None, Some(old)) => old.clone(),
            (found, old) => field(t, Some(name), old.filter(|v| !v.is_null()), found, cx)?,
        };
        out.push((t.ty().oid, v));
    }
    Ok(Value::Record(out))
}

/// The state of populate_array: dimensions as found so far.
struct Dims {
    ndims: usize,
    dims: Vec<Option<usize>>,
    sizes: Vec<usize>,
    items: Vec<Value>,
}

fn expected_array(d: &Dims, level: usize, col: Option<&str>) -> PgError {
    let e = PgError::error(sqlstate::INVALID_TEXT_REPRESENTATION, "expected JSON array");
    if level == 0 {
        return match col {
            Some(c) => e.with_hint(format!("See the value of key \"{c}\".")),
            None => e,
        };
    }
    let idx: String = d.sizes[..level.min(d.sizes.len())]
        .iter()
        .map(|s| format!("[{s}]"))
        .collect();
    match col {
        Some(c) => e.with_hint(format!("See the array element {idx} of key \"{c}\".")),
        None => e.with_hint(format!("See the array element {idx}.")),
    }
}

fn children<'a>(jv: Jv<'a>) -> Result<Option<Vec<Jv<'a>>>, PgError> {
    Ok(match jv {
        Jv::Text(s) if jv.kind() == Kind::Array => match tj::raw_children(s)? {
            Raw::Array(items) => Some(items.into_iter().map(Jv::Text).collect()),
            _ => None,
        },
        Jv::Tree(Jsonb::Array(items)) => Some(items.iter().map(Jv::Tree).collect()),
        _ => None,
    })
}

/// populate_array: a json array of any depth as an array of `elem`, the
/// depth set by the first innermost element, every sub-array alike.
fn array(
    elem_oid: Oid,
    elem: &Target,
    col: Option<&str>,
    jv: Jv<'_>,
    cx: &mut Ctx<'_>,
) -> Result<Value, PgError> {
    let _ = elem_oid;
    let mut d = Dims {
        ndims: 0,
        dims: Vec::new(),
        sizes: Vec::new(),
        items: Vec::new(),
    };
    let Some(top) = children(jv)? else {
        return Err(expected_array(&d, 0, col));
    };
    walk(&mut d, elem, col, top, 1, cx)?;
    d.dims[0] = Some(d.sizes[0]);
    let dims: Vec<usize> = d.dims.iter().map(|x| x.unwrap_or(0)).collect();
    let elem_ty = elem.ty().oid;
    let arr = if dims.contains(&0) {
        tusk_types::array::Array::from_items(elem_ty, Vec::new())
    } else {
        tusk_types::array::Array {
            elem: elem_ty,
            dims: dims.iter().map(|n| (*n as i32, 1)).collect(),
            items: d.items,
        }
    };
    Ok(Value::Array(Box::new(arr)))
}

fn assign_ndims(d: &mut Dims, n: usize, col: Option<&str>) -> Result<(), PgError> {
    if n == 0 {
        return Err(expected_array(d, 0, col));
    }
    d.ndims = n;
    d.dims = vec![None; n];
    d.sizes = vec![0; n];
    Ok(())
}

fn check_dimension(d: &mut Dims, ndim: usize) -> Result<(), PgError> {
    let dim = d.sizes[ndim];
    match d.dims[ndim] {
        None => d.dims[ndim] = Some(dim),
        Some(x) if x != dim => {
            return Err(PgError::error(
                sqlstate::INVALID_TEXT_REPRESENTATION,
                "malformed JSON array",
            )
            .with_detail("Multidimensional arrays must have sub-arrays with matching dimensions."))
        }
        _ => {}
    }
    d.sizes[ndim] = 0;
    if ndim > 0 {
        d.sizes[ndim - 1] += 1;
    }
    Ok(())
}

/// One json array at dimension `ndim` (1 = outermost).
fn walk(
    d: &mut Dims,
    elem: &Target,
    col: Option<&str>,
    items: Vec<Jv<'_>>,
    ndim: usize,
    cx: &mut Ctx<'_>,
) -> Result<(), PgError> {
    if ndim > 6 {
        return Err(PgError::error(
            sqlstate::PROGRAM_LIMIT_EXCEEDED,
            "number of array dimensions (7) exceeds the maximum allowed (6)",
        ));
    }
    if d.ndims == 0 && items.first().is_none_or(|f| f.kind() != Kind::Array) {
        assign_ndims(d, ndim, col)?;
    }
    for it in items {
        if d.ndims > 0 && ndim >= d.ndims {
            let v = field(elem, None, None, Some(it), cx)?;
            d.items.push(v);
            d.sizes[ndim - 1] += 1;
        } else {
            let Some(sub) = children(it)? else {
                return Err(expected_array(d, ndim, col));
            };
            walk(d, elem, col, sub, ndim + 1, cx)?;
            check_dimension(d, ndim)?;
        }
    }
    Ok(())
}

fn mismatch(detail: String) -> PgError {
    PgError::error(
        sqlstate::DATATYPE_MISMATCH,
        "function return row and query-specified return row do not match",
    )
    .with_detail(detail)
}

impl Call {
    /// The call over its evaluated arguments: a row (or NULL), or for the
    /// set variants an array of rows.
    pub(crate) fn eval(&self, args: Vec<Value>, cx: &mut Ctx<'_>) -> Result<Value, PgError> {
        let target = self.target.as_ref().map_err(Clone::clone)?;
        let name = &self.name;
        let mut args = args.into_iter();
        let base = if self.has_base {
            args.next().unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        let json = args.next().unwrap_or(Value::Null);
        if let (Some(expect), Value::Record(items)) = (&self.expect, &base) {
            if items.len() != expect.len() {
                return Err(mismatch(format!(
                    "Returned row contains {} attribute{}, but query expects {}.",
                    items.len(),
                    if items.len() == 1 { "" } else { "s" },
                    expect.len()
                )));
            }
            for (i, ((oid, _), want)) in items.iter().zip(expect).enumerate() {
                if *oid != want.oid && *oid != types::UNKNOWN {
                    return Err(mismatch(format!(
                        "Returned type {} at ordinal position {}, but query expects {}.",
                        types::sql_name(*oid),
                        i + 1,
                        types::sql_name(want.oid)
                    )));
                }
            }
        }
        let base = (!base.is_null()).then_some(base);
        let tree;
        let jv = match &json {
            Value::Null => {
                if self.set {
                    return Ok(Value::Null);
                }
                return Ok(base.unwrap_or(Value::Null));
            }
            Value::Json(s) | Value::Text(s) => Jv::Text(s),
            Value::Jsonb(j) => Jv::Tree(j),
            other => {
                tree = crate::json::to_jsonb(other);
                Jv::Tree(&tree)
            }
        };
        let one = |j: Jv<'_>, cx: &mut Ctx<'_>| -> Result<Value, PgError> {
            let (fields, check) = match target {
                Target::Record { fields, .. } => (fields, None),
                Target::Domain { base: b, check, .. } => match &**b {
                    Target::Record { fields, .. } => (fields, Some(check)),
                    _ => return Err(not_row(name)),
                },
                _ => return Err(not_row(name)),
            };
            let v = record(fields, base.as_ref(), j, cx)?;
            if let Some(c) = check {
                c.apply(&v, cx)?;
            }
            Ok(v)
        };
        if !self.set {
            return one(jv, cx);
        }
        let bad = |m: String| PgError::error(sqlstate::INVALID_PARAMETER_VALUE, m);
        let items = match (jv, jv.kind()) {
            (_, Kind::Array) => children(jv)?.unwrap_or_default(),
            (Jv::Text(_), Kind::Object) => {
                return Err(bad(format!("cannot call {name} on an object")))
            }
            (Jv::Text(_), _) => return Err(bad(format!("cannot call {name} on a scalar"))),
            (Jv::Tree(_), _) => return Err(bad(format!("cannot call {name} on a non-array"))),
        };
        let mut rows = Vec::with_capacity(items.len());
        for it in items {
            if it.kind() != Kind::Object {
                return Err(bad(format!(
                    "argument of {name} must be an array of objects"
                )));
            }
            rows.push(one(it, cx)?);
        }
        Ok(Value::Array(Box::new(
            tusk_types::array::Array::from_items(types::RECORD, rows),
        )))
    }
}

/// The binder gives only row targets; anything else is the error of a
/// first argument that is not a row.
fn not_row(name: &str) -> PgError {
    PgError::error(
        sqlstate::DATATYPE_MISMATCH,
        format!("first argument of {name} must be a row type"),
    )
}

/// The rows of a `JsonSrf::Records` source: the fields of each row the
/// call gave (one row of NULLs for a NULL row, none for a NULL set).
pub(crate) fn rows(v: Value, width: usize, set: bool) -> Vec<Vec<Value>> {
    let row = |r: Value| match r {
        Value::Record(items) => items.into_iter().map(|(_, v)| v).collect(),
        _ => vec![Value::Null; width],
    };
    match v {
        Value::Array(a) if set => a.items.into_iter().map(row).collect(),
        Value::Null if set => Vec::new(),
        other => vec![row(other)],
    }
}

/// `f(...) AS (a int, b text)`: a column definition list with no alias
/// name, which sqlparser cannot read, gets the function's name as its
/// alias (the name PostgreSQL gives such a FROM item). A CTE's
/// `name(cols) AS (SELECT ...)` is left alone.
pub(crate) fn name_column_definition_lists(
    mut toks: Vec<sqlparser::tokenizer::TokenWithSpan>,
) -> Vec<sqlparser::tokenizer::TokenWithSpan> {
    use sqlparser::tokenizer::{Token, TokenWithSpan};
    // Every statement passes here; only one with AS can be rewritten.
    if !crate::sequence::has_keyword(&toks, sqlparser::keywords::Keyword::AS) {
        return toks;
    }
    let meaningful = |t: &Token| !matches!(t, Token::Whitespace(_));
    let word = |t: &Token, w: &str| matches!(t, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    let mut inserts: Vec<(usize, Token)> = Vec::new();
    let idx: Vec<usize> = (0..toks.len())
        .filter(|&i| meaningful(&toks[i].token))
        .collect();
    for k in 1..idx.len().saturating_sub(3) {
        let (close, as_, open, first, second) =
            (idx[k - 1], idx[k], idx[k + 1], idx[k + 2], idx[k + 3]);
        if !(toks[close].token == Token::RParen
            && word(&toks[as_].token, "as")
            && toks[open].token == Token::LParen)
        {
            continue;
        }
        // `(name type ...`: a column definition, not a query.
        let Token::Word(w) = &toks[first].token else {
            continue;
        };
        if w.quote_style.is_none()
            && [
                "select", "values", "with", "table", "insert", "update", "delete", "merge",
            ]
            .iter()
            .any(|q| w.value.eq_ignore_ascii_case(q))
        {
            continue;
        }
        if !matches!(toks[second].token, Token::Word(_)) {
            continue;
        }
        // The function name before the bracket `close` matches.
        let mut depth = 0i32;
        let mut j = k - 1;
        let mut name = None;
        loop {
            match toks[idx[j]].token {
                Token::RParen => depth += 1,
                Token::LParen => {
                    depth -= 1;
                    if depth == 0 {
                        if j > 0 {
                            if let Token::Word(f) = &toks[idx[j - 1]].token {
                                name = Some(f.clone());
                            }
                        }
                        break;
                    }
                }
                _ => {}
            }
            if j == 0 {
                break;
            }
            j -= 1;
        }
        // A keyword before the bracket (FROM, LATERAL, JOIN) makes it a
        // subquery, which takes no column definitions.
        let Some(f) = name.filter(|f| {
            f.quote_style.is_some() || f.keyword == sqlparser::keywords::Keyword::NoKeyword
        }) else {
            continue;
        };
        inserts.push((open, Token::Word(f)));
    }
    for (at, t) in inserts.into_iter().rev() {
        let span = toks[at].span;
        toks.insert(at, TokenWithSpan::new(t, span));
        toks.insert(
            at,
            TokenWithSpan::new(
                Token::Whitespace(sqlparser::tokenizer::Whitespace::Space),
                span,
            ),
        );
    }
    toks
}
