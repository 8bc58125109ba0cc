//! Arrays: the `Value::Array` payload, PostgreSQL's text input/output
//! (`array_in`/`array_out`), binary send/receive and total order.
//!
//! Why elements are `Value`s in one flat vector (row-major) with the
//! dimensions beside them: that is PostgreSQL's own model (ArrayType keeps
//! dims, lower bounds, a null bitmap and the elements in order), so the
//! text, binary and on-disk forms are each one walk over the same data,
//! and every element is encoded by its type's existing functions. The
//! element type travels with the value because the binary form names it
//! and because an empty array still has one.
//!
//! Pure functions; any process may call them.

use std::cmp::Ordering;

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::types::{self, Oid, Ty};
use crate::value::{self, Value};

/// PostgreSQL's MAXDIM.
pub const MAXDIM: usize = 6;

/// One array value: dimensions (length, lower bound) outermost first and
/// the elements in row-major order (`Value::Null` for a NULL element).
/// Zero dimensions is the empty array `{}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub elem: Oid,
    pub dims: Vec<(i32, i32)>,
    pub items: Vec<Value>,
}

impl Array {
    /// A one-dimensional array with lower bound 1 (empty: no dimensions).
    pub fn from_items(elem: Oid, items: Vec<Value>) -> Array {
        let dims = if items.is_empty() {
            Vec::new()
        } else {
            vec![(items.len() as i32, 1)]
        };
        Array { elem, dims, items }
    }

    pub fn ndim(&self) -> usize {
        self.dims.len()
    }

    pub fn has_nulls(&self) -> bool {
        self.items.iter().any(Value::is_null)
    }
}

/// (array type, element type) pairs of the built-in types: pg_type's
/// typarray / typelem.
pub const ARRAY_TYPES: &[(Oid, Oid)] = &[
    (1000, types::BOOL),
    (1001, types::BYTEA),
    (1002, types::CHAR),
    (1003, types::NAME),
    (1005, types::INT2),
    (1007, types::INT4),
    (1009, types::TEXT),
    (1014, types::BPCHAR),
    (1015, types::VARCHAR),
    (2201, types::REFCURSOR),
    (1016, types::INT8),
    (1021, types::FLOAT4),
    (1022, types::FLOAT8),
    (1028, types::OID),
    (1041, types::INET),
    (1115, types::TIMESTAMP),
    (1182, types::DATE),
    (1183, types::TIME),
    (1187, types::INTERVAL),
    (1270, types::TIMETZ),
    (1185, types::TIMESTAMPTZ),
    (1231, types::NUMERIC),
    (3221, types::PG_LSN),
    (271, types::XID8),
    (199, types::JSON),
    (3807, types::JSONB),
    (4073, types::JSONPATH),
    (3643, types::TSVECTOR),
    (3645, types::TSQUERY),
    (791, types::MONEY),
    (1561, types::BIT),
    (1563, types::VARBIT),
    (2951, types::UUID),
    (1017, crate::geo::POINT),
    (1018, crate::geo::LSEG),
    (1019, crate::geo::PATH),
    (1020, crate::geo::BOX),
    (1027, crate::geo::POLYGON),
    (629, crate::geo::LINE),
    (719, crate::geo::CIRCLE),
    (2287, types::RECORD),
];

/// The element type of an array type, `None` for a non-array.
pub fn elem_type(array: Oid) -> Option<Oid> {
    ARRAY_TYPES
        .iter()
        .find(|(a, _)| *a == array)
        .map(|(_, e)| *e)
        .or_else(|| {
            crate::range::array_pairs()
                .find(|(a, _)| *a == array)
                .map(|(_, e)| e)
        })
        .or_else(|| crate::usertype::array_elem(array))
        .or_else(|| crate::composite::array_elem(array))
}

/// The array type of an element type, `None` when it has none here.
pub fn array_type(elem: Oid) -> Option<Oid> {
    ARRAY_TYPES
        .iter()
        .find(|(_, e)| *e == elem)
        .map(|(a, _)| *a)
        .or_else(|| {
            crate::range::array_pairs()
                .find(|(_, e)| *e == elem)
                .map(|(a, _)| a)
        })
        .or_else(|| crate::usertype::array_of(elem))
        .or_else(|| crate::composite::array_of(elem))
}

pub fn is_array(oid: Oid) -> bool {
    elem_type(oid).is_some()
}

/// PostgreSQL's MaxArraySize.
const MAX_ITEMS: i64 = (1 << 30) / 8 - 1;

fn too_big() -> PgError {
    PgError::error(
        sqlstate::PROGRAM_LIMIT_EXCEEDED,
        format!("array size exceeds the maximum allowed ({MAX_ITEMS})"),
    )
}

/// ArrayCheckBounds: lower bound plus length must fit an int4.
fn check_bounds(dims: &[(i32, i32)]) -> Result<(), PgError> {
    for &(n, lb) in dims {
        if lb as i64 + n as i64 > i32::MAX as i64 {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!("array lower bound is too large: {lb}"),
            ));
        }
    }
    Ok(())
}

fn malformed(s: &str, detail: &str) -> PgError {
    PgError::error(
        sqlstate::INVALID_TEXT_REPRESENTATION,
        format!("malformed array literal: \"{s}\""),
    )
    .with_detail(detail.to_string())
}

fn too_many_dims(n: usize) -> PgError {
    PgError::error(
        sqlstate::PROGRAM_LIMIT_EXCEEDED,
        format!("number of array dimensions ({n}) exceeds the maximum allowed ({MAXDIM})"),
    )
}

/// array_isspace: the white space array_in skips and array_out quotes.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// A parsed brace level: either sub-levels or scalar items.
enum Level {
    Items(Vec<Option<String>>),
    Subs(Vec<Level>),
}

struct Parser<'a> {
    src: &'a str,
    chars: Vec<char>,
    pos: usize,
    /// The element type's typdelim: ',' but ';' for box.
    delim: char,
}

/// pg_type.typdelim of an element type: box's text holds commas, so its
/// arrays separate elements with ';'.
fn typdelim(elem: Oid) -> char {
    if elem == crate::geo::BOX {
        ';'
    } else {
        ','
    }
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.chars.len() && is_space(self.chars[self.pos]) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn err(&self, detail: &str) -> PgError {
        malformed(self.src, detail)
    }

    fn unexpected(&self, c: char) -> PgError {
        self.err(&format!("Unexpected \"{c}\" character."))
    }

    /// One `{...}` level, the opening brace at `pos`.
    fn level(&mut self, depth: usize) -> Result<Level, PgError> {
        if depth > MAXDIM {
            return Err(too_many_dims(depth));
        }
        self.pos += 1; // '{'
        self.skip_ws();
        match self.peek() {
            None => return Err(self.err("Unexpected end of input.")),
            Some('}') => {
                self.pos += 1;
                return Ok(Level::Items(Vec::new()));
            }
            Some('{') => {
                let mut subs = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some('{') => subs.push(self.level(depth + 1)?),
                        None => return Err(self.err("Unexpected end of input.")),
                        Some(c) => return Err(self.unexpected(c)),
                    }
                    self.skip_ws();
                    match self.peek() {
                        Some(c) if c == self.delim => self.pos += 1,
                        Some('}') => {
                            self.pos += 1;
                            return Ok(Level::Subs(subs));
                        }
                        None => return Err(self.err("Unexpected end of input.")),
                        Some(c) => return Err(self.unexpected(c)),
                    }
                }
            }
            Some(_) => {}
        }
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            items.push(self.element()?);
            self.skip_ws();
            match self.peek() {
                Some(c) if c == self.delim => self.pos += 1,
                Some('}') => {
                    self.pos += 1;
                    return Ok(Level::Items(items));
                }
                None => return Err(self.err("Unexpected end of input.")),
                Some(c) => return Err(self.unexpected(c)),
            }
        }
    }

    /// One element: quoted, or unquoted up to `,`/`}` with backslash
    /// escapes and trailing white space dropped; unquoted NULL is NULL.
    fn element(&mut self) -> Result<Option<String>, PgError> {
        let mut out = String::new();
        match self.peek() {
            None => return Err(self.err("Unexpected end of input.")),
            Some('"') => {
                self.pos += 1;
                loop {
                    match self.peek() {
                        None => return Err(self.err("Unexpected end of input.")),
                        Some('"') => {
                            self.pos += 1;
                            return Ok(Some(out));
                        }
                        Some('\\') => {
                            self.pos += 1;
                            match self.peek() {
                                None => return Err(self.err("Unexpected end of input.")),
                                Some(c) => out.push(c),
                            }
                            self.pos += 1;
                        }
                        Some(c) => {
                            out.push(c);
                            self.pos += 1;
                        }
                    }
                }
            }
            Some(c) if c == '{' || c == '}' || c == self.delim => return Err(self.unexpected(c)),
            Some(_) => {}
        }
        let mut escaped = false;
        // Length of `out` up to its last character that was not
        // unescaped trailing white space.
        let mut keep = 0;
        loop {
            match self.peek() {
                None => return Err(self.err("Unexpected end of input.")),
                Some(c) if c == self.delim || c == '}' => break,
                Some(c @ ('{' | '"')) => return Err(self.unexpected(c)),
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        None => return Err(self.err("Unexpected end of input.")),
                        Some(c) => out.push(c),
                    }
                    self.pos += 1;
                    escaped = true;
                    keep = out.len();
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                    if !is_space(c) {
                        keep = out.len();
                    }
                }
            }
        }
        out.truncate(keep);
        if !escaped && out.eq_ignore_ascii_case("NULL") {
            return Ok(None);
        }
        Ok(Some(out))
    }
}

/// Flatten a parsed level, checking that sub-arrays match.
fn shape(
    l: &Level,
    depth: usize,
    dims: &mut Vec<i32>,
    out: &mut Vec<Option<String>>,
    src: &str,
) -> Result<(), PgError> {
    let n = match l {
        Level::Items(v) => v.len(),
        Level::Subs(v) => v.len(),
    } as i32;
    let leaf = matches!(l, Level::Items(_));
    if dims.len() == depth {
        dims.push(n);
    } else if dims[depth] != n || (leaf != (dims.len() == depth + 1)) {
        return Err(malformed(
            src,
            "Multidimensional arrays must have sub-arrays with matching dimensions.",
        ));
    }
    match l {
        Level::Items(v) => {
            if depth + 1 < dims.len() {
                return Err(malformed(
                    src,
                    "Multidimensional arrays must have sub-arrays with matching dimensions.",
                ));
            }
            out.extend(v.iter().cloned())
        }
        Level::Subs(v) => {
            for s in v {
                shape(s, depth + 1, dims, out, src)?;
            }
        }
    }
    Ok(())
}

/// `[lo:hi][lo:hi]=` in front of the braces.
fn parse_bounds(p: &mut Parser<'_>) -> Result<Option<Vec<(i32, i32)>>, PgError> {
    p.skip_ws();
    if p.peek() != Some('[') {
        return Ok(None);
    }
    let mut dims = Vec::new();
    while p.peek() == Some('[') {
        p.pos += 1;
        let num = |p: &mut Parser<'_>| -> Result<i32, PgError> {
            p.skip_ws();
            let start = p.pos;
            if matches!(p.peek(), Some('-' | '+')) {
                p.pos += 1;
            }
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.pos += 1;
            }
            let t: String = p.chars[start..p.pos].iter().collect();
            p.skip_ws();
            t.parse::<i32>()
                .map_err(|_| p.err("\"[\" must introduce explicitly-specified array dimensions."))
        };
        let first = num(p)?;
        let (lo, hi) = if p.peek() == Some(':') {
            p.pos += 1;
            (first, num(p)?)
        } else {
            (1, first)
        };
        if p.peek() != Some(']') {
            return Err(p.err("Missing \"]\" after array dimensions."));
        }
        p.pos += 1;
        if hi < lo {
            return Err(PgError::error(
                sqlstate::ARRAY_SUBSCRIPT_ERROR,
                "upper bound cannot be less than lower bound",
            ));
        }
        let n = hi as i64 - lo as i64 + 1;
        if n > MAX_ITEMS {
            return Err(too_big());
        }
        dims.push((n as i32, lo));
        if dims.len() > MAXDIM {
            return Err(too_many_dims(dims.len()));
        }
    }
    p.skip_ws();
    if p.peek() != Some('=') {
        return Err(p.err("Missing \"=\" after array dimensions."));
    }
    p.pos += 1;
    p.skip_ws();
    Ok(Some(dims))
}

/// array_in: the text form of an array of `elem` (typmod applied to each
/// element).
pub fn parse(s: &str, elem: Ty, now: i64) -> Result<Array, PgError> {
    let mut p = Parser {
        src: s,
        chars: s.chars().collect(),
        pos: 0,
        delim: typdelim(elem.oid),
    };
    let bounds = parse_bounds(&mut p)?;
    p.skip_ws();
    if p.peek() != Some('{') {
        return Err(if bounds.is_some() {
            p.err("Array contents must start with \"{\".")
        } else {
            p.err("Array value must start with \"{\" or dimension information.")
        });
    }
    let level = p.level(1)?;
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(p.err("Junk after closing right brace."));
    }
    let mut dims = Vec::new();
    let mut texts = Vec::new();
    shape(&level, 0, &mut dims, &mut texts, s)?;
    let dims: Vec<(i32, i32)> = if texts.is_empty() {
        if bounds.as_ref().is_some_and(|b| !b.is_empty()) {
            return Err(p.err("Specified array dimensions do not match array contents."));
        }
        Vec::new()
    } else if let Some(b) = bounds {
        if b.len() != dims.len() || b.iter().zip(&dims).any(|((n, _), d)| n != d) {
            return Err(p.err("Specified array dimensions do not match array contents."));
        }
        b
    } else {
        dims.iter().map(|&n| (n, 1)).collect()
    };
    check_bounds(&dims)?;
    let mut items = Vec::with_capacity(texts.len());
    for t in texts {
        items.push(match t {
            None => Value::Null,
            Some(t) => crate::cast::input(&t, elem, now)?,
        });
    }
    Ok(Array {
        elem: elem.oid,
        dims,
        items,
    })
}

/// array_out's quoting of one element's text.
fn push_elem(out: &mut String, t: &str, delim: char) {
    let quote = t.is_empty()
        || t.eq_ignore_ascii_case("NULL")
        || t.chars()
            .any(|c| matches!(c, '{' | '}' | '"' | '\\') || c == delim || is_space(c));
    if !quote {
        out.push_str(t);
        return;
    }
    out.push('"');
    for c in t.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// array_out: `{1,2,NULL}`, `{{1,2},{3,4}}`, `[0:1]={1,2}` when a lower
/// bound is not 1.
pub fn to_text(a: &Array) -> String {
    let mut out = String::new();
    if a.dims.is_empty() {
        return "{}".into();
    }
    if a.dims.iter().any(|&(_, lb)| lb != 1) {
        for &(n, lb) in &a.dims {
            out.push_str(&format!("[{}:{}]", lb, lb as i64 + n as i64 - 1));
        }
        out.push('=');
    }
    let mut idx = 0;
    write_level(a, 0, &mut idx, &mut out);
    out
}

fn write_level(a: &Array, d: usize, idx: &mut usize, out: &mut String) {
    out.push('{');
    for i in 0..a.dims[d].0 {
        if i > 0 {
            out.push(typdelim(a.elem));
        }
        if d + 1 < a.dims.len() {
            write_level(a, d + 1, idx, out);
        } else {
            match a.items.get(*idx).and_then(value::to_text) {
                None => out.push_str("NULL"),
                Some(t) => push_elem(out, &t, typdelim(a.elem)),
            }
            *idx += 1;
        }
    }
    out.push('}');
}

/// array_send: ndim, has-null flag, element type, (length, lower bound)
/// per dimension, then each element as length + binary form (-1 NULL).
pub fn send(a: &Array) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(a.dims.len() as i32).to_be_bytes());
    out.extend_from_slice(&(a.has_nulls() as i32).to_be_bytes());
    out.extend_from_slice(&a.elem.to_be_bytes());
    for &(n, lb) in &a.dims {
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(&lb.to_be_bytes());
    }
    for v in &a.items {
        match value::encode_binary(v) {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(&b);
            }
        }
    }
    out
}

/// array_recv of an array whose type says its elements are `elem`.
pub fn recv(b: &[u8], elem: Oid) -> Result<Array, PgError> {
    let short = || {
        PgError::error(
            sqlstate::PROTOCOL_VIOLATION,
            "insufficient data left in message",
        )
    };
    let mut at = 0usize;
    let int = |at: &mut usize| -> Result<i32, PgError> {
        let v = b.get(*at..*at + 4).ok_or_else(short)?;
        *at += 4;
        Ok(i32::from_be_bytes(v.try_into().unwrap()))
    };
    let ndim = int(&mut at)?;
    let flags = int(&mut at)?;
    let sent_elem = int(&mut at)? as u32;
    if ndim < 0 {
        return Err(PgError::error(
            sqlstate::INVALID_BINARY_REPRESENTATION,
            format!("invalid number of dimensions: {ndim}"),
        ));
    }
    if ndim as usize > MAXDIM {
        return Err(too_many_dims(ndim as usize));
    }
    if flags != 0 && flags != 1 {
        return Err(PgError::error(
            sqlstate::INVALID_BINARY_REPRESENTATION,
            "invalid array flags",
        ));
    }
    if sent_elem != elem {
        return Err(PgError::error(
            sqlstate::DATATYPE_MISMATCH,
            format!(
                "binary data has array element type {} ({}) instead of expected {} ({})",
                sent_elem,
                types::typname(sent_elem),
                elem,
                types::typname(elem)
            ),
        ));
    }
    let mut dims = Vec::new();
    let mut total: i64 = 1;
    for _ in 0..ndim {
        let n = int(&mut at)?;
        let lb = int(&mut at)?;
        if n < 0 {
            return Err(PgError::error(
                sqlstate::INVALID_BINARY_REPRESENTATION,
                "invalid array dimensions",
            ));
        }
        total *= n as i64;
        if total > MAX_ITEMS {
            return Err(too_big());
        }
        dims.push((n, lb));
    }
    check_bounds(&dims)?;
    if ndim == 0 || total == 0 {
        return Ok(Array {
            elem,
            dims: Vec::new(),
            items: Vec::new(),
        });
    }
    let mut items = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let len = int(&mut at)?;
        if len == -1 {
            items.push(Value::Null);
            continue;
        }
        if len < 0 {
            return Err(PgError::error(
                sqlstate::INVALID_BINARY_REPRESENTATION,
                "insufficient data left in message",
            ));
        }
        let e = b.get(at..at + len as usize).ok_or_else(short)?;
        at += len as usize;
        items.push(value::decode_param(elem, 1, e)?);
    }
    if at != b.len() {
        return Err(PgError::error(
            sqlstate::INVALID_BINARY_REPRESENTATION,
            "incorrect binary data format in array element 1",
        ));
    }
    Ok(Array { elem, dims, items })
}

/// btarraycmp: element by element (NULL elements after all others), then
/// the number of elements, dimensions and lower bounds.
pub fn compare(a: &Array, b: &Array) -> Ordering {
    for (x, y) in a.items.iter().zip(&b.items) {
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => value::compare(x, y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.items
        .len()
        .cmp(&b.items.len())
        .then(a.dims.len().cmp(&b.dims.len()))
        .then_with(|| {
            for (x, y) in a.dims.iter().zip(&b.dims) {
                let o = x.0.cmp(&y.0).then(x.1.cmp(&y.1));
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        })
}

/// `format_type` of an array type: the element's SQL name and `[]`.
pub fn sql_name(array: Oid) -> Option<String> {
    elem_type(array).map(|e| format!("{}[]", types::sql_name(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Array, PgError> {
        parse(s, Ty::new(types::INT4), 0)
    }

    fn pt(s: &str) -> Array {
        parse(s, Ty::new(types::TEXT), 0).unwrap()
    }

    #[test]
    fn text_round_trips() {
        for s in [
            "{1,2,NULL}",
            "{{1,2},{3,4}}",
            "[0:1]={1,2}",
            "{}",
            "{{{1}}}",
        ] {
            assert_eq!(to_text(&p(s).unwrap()), s);
        }
        assert_eq!(to_text(&p(" { 1 , 2 } ").unwrap()), "{1,2}");
        assert_eq!(
            to_text(&pt(r#"{"a b","c\"d",NULL,"NULL",""}"#)),
            r#"{"a b","c\"d",NULL,"NULL",""}"#
        );
        assert_eq!(to_text(&pt(r#"{a\,b, x y ,\ }"#)), r#"{"a,b","x y"," "}"#);
        assert_eq!(
            p("[2:3][1:1]={{1},{2}}").unwrap().dims,
            vec![(2, 2), (1, 1)]
        );
    }

    #[test]
    fn malformed_literals() {
        let d = |s: &str| {
            let e = p(s).unwrap_err();
            assert_eq!(e.code.as_str(), "22P02");
            assert_eq!(e.message, format!("malformed array literal: \"{s}\""));
            e.detail.unwrap_or_default()
        };
        assert_eq!(
            d("1,2"),
            "Array value must start with \"{\" or dimension information."
        );
        assert_eq!(d("{1,2"), "Unexpected end of input.");
        assert_eq!(d("{1,2}x"), "Junk after closing right brace.");
        assert_eq!(d("{{1},2}"), "Unexpected \"2\" character.");
        assert_eq!(
            d("{{1},{2,3}}"),
            "Multidimensional arrays must have sub-arrays with matching dimensions."
        );
        assert_eq!(
            d("[1:3]={1,2}"),
            "Specified array dimensions do not match array contents."
        );
        assert_eq!(p("{a}").unwrap_err().code.as_str(), "22P02");
    }

    #[test]
    fn binary_round_trip() {
        let a = p("[0:1]={7,NULL}").unwrap();
        let b = send(&a);
        assert_eq!(&b[..12], &[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 23]);
        assert_eq!(recv(&b, types::INT4).unwrap(), a);
        assert_eq!(recv(&b, types::INT8).unwrap_err().code.as_str(), "42804");
    }

    #[test]
    fn order() {
        assert_eq!(
            compare(&p("{1,2}").unwrap(), &p("{1,3}").unwrap()),
            Ordering::Less
        );
        assert_eq!(
            compare(&p("{1,2}").unwrap(), &p("{1}").unwrap()),
            Ordering::Greater
        );
        assert_eq!(
            compare(&p("{1,NULL}").unwrap(), &p("{1,5}").unwrap()),
            Ordering::Greater
        );
    }
}
