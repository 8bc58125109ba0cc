//! Range and multirange types: one implementation over any subtype
//! (int4range, numrange, daterange, ... and their multiranges).
//!
//! Why generic: PostgreSQL's range types are one type constructor over a
//! subtype with a total order; everything here (parsing, canonical form,
//! the bound order, the operators) is written once over [`Value`]s of the
//! subtype and [`crate::value::compare`], and a [`RangeType`] row says
//! which subtype a range type has and whether it is discrete (int4, int8
//! and date ranges are canonicalised to `[)` as PostgreSQL's
//! int4range_canonical etc. do). The facts (bound order, empty ranges,
//! messages, text and binary forms) follow PostgreSQL 15's rangetypes.c and
//! multirangetypes.c. Pure values: any process may call any of it.

use std::cmp::Ordering;

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::types::{self, Oid, Ty};
use crate::value::{compare, Value};

/// One range type: its OID and name, its subtype, its multirange type and
/// the array types of both (PostgreSQL 15's pg_type / pg_range rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeType {
    pub oid: Oid,
    pub name: &'static str,
    pub sub: Oid,
    pub array: Oid,
    pub multi: Oid,
    pub multi_name: &'static str,
    pub multi_array: Oid,
}

impl RangeType {
    /// Whether values are canonicalised to `[)` (a discrete subtype with
    /// PostgreSQL's built-in canonical function).
    pub fn discrete(&self) -> bool {
        matches!(self.oid, INT4RANGE | INT8RANGE | DATERANGE)
    }
}

pub const INT4RANGE: Oid = 3904;
pub const NUMRANGE: Oid = 3906;
pub const TSRANGE: Oid = 3908;
pub const TSTZRANGE: Oid = 3910;
pub const DATERANGE: Oid = 3912;
pub const INT8RANGE: Oid = 3926;

const fn rt(
    oid: Oid,
    name: &'static str,
    sub: Oid,
    array: Oid,
    multi: Oid,
    multi_name: &'static str,
    multi_array: Oid,
) -> RangeType {
    RangeType {
        oid,
        name,
        sub,
        array,
        multi,
        multi_name,
        multi_array,
    }
}

/// The built-in range types.
pub const BUILTIN: &[RangeType] = &[
    rt(
        INT4RANGE,
        "int4range",
        types::INT4,
        3905,
        4451,
        "int4multirange",
        6150,
    ),
    rt(
        NUMRANGE,
        "numrange",
        types::NUMERIC,
        3907,
        4532,
        "nummultirange",
        6151,
    ),
    rt(
        TSRANGE,
        "tsrange",
        types::TIMESTAMP,
        3909,
        4533,
        "tsmultirange",
        6152,
    ),
    rt(
        TSTZRANGE,
        "tstzrange",
        types::TIMESTAMPTZ,
        3911,
        4534,
        "tstzmultirange",
        6153,
    ),
    rt(
        DATERANGE,
        "daterange",
        types::DATE,
        3913,
        4535,
        "datemultirange",
        6155,
    ),
    rt(
        INT8RANGE,
        "int8range",
        types::INT8,
        3927,
        4536,
        "int8multirange",
        6157,
    ),
];

thread_local! {
    /// The user-defined range types (CREATE TYPE ... AS RANGE) this
    /// backend sees, in search_path order; the server installs them from
    /// pg_range and pg_type as it does the enums (usertype.rs). Entries
    /// are leaked once per distinct definition, as usertype's TypeInfos,
    /// so lookups hand out `&'static` rows like the built-in ones.
    static USER: std::cell::RefCell<Vec<&'static RangeType>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Installs the user-defined range types (the server, after reading
/// pg_range and pg_type).
pub fn install(types: Vec<RangeType>) {
    USER.with(|u| {
        let mut u = u.borrow_mut();
        let old = std::mem::take(&mut *u);
        for t in types {
            match old.iter().copied().find(|o| **o == t) {
                Some(o) => u.push(o),
                None => u.push(Box::leak(Box::new(t))),
            }
        }
    })
}

/// Leaks a name for a user range type's row (kept for the backend's life).
pub fn static_name(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn find(pred: impl Fn(&RangeType) -> bool) -> Option<&'static RangeType> {
    BUILTIN
        .iter()
        .find(|r| pred(r))
        .or_else(|| USER.with(|u| u.borrow().iter().copied().find(|r| pred(r))))
}

/// Every range type, built-in and user-defined.
fn all() -> Vec<&'static RangeType> {
    let mut v: Vec<&'static RangeType> = BUILTIN.iter().collect();
    USER.with(|u| v.extend(u.borrow().iter().copied()));
    v
}

/// The range type `oid`, if it is one.
pub fn range_type(oid: Oid) -> Option<&'static RangeType> {
    find(|r| r.oid == oid)
}

/// The range type whose multirange type is `oid`, if it is one.
pub fn multirange_type(oid: Oid) -> Option<&'static RangeType> {
    find(|r| r.multi == oid)
}

/// The pg_type descriptor of a user-defined range or multirange type or
/// their array types (varlena, extended; double-aligned over a
/// double-aligned subtype, as PostgreSQL aligns them).
pub fn type_info(oid: Oid) -> Option<&'static crate::types::TypeInfo> {
    use crate::types::{Align, Storage, TypeInfo};
    let r = USER.with(|u| {
        u.borrow()
            .iter()
            .copied()
            .find(|r| [r.oid, r.array, r.multi, r.multi_array].contains(&oid))
    })?;
    let align = match crate::types::type_info(r.sub).map(|t| t.align) {
        Some(Align::Double) => Align::Double,
        _ => Align::Int,
    };
    let name = if oid == r.oid {
        r.name.to_string()
    } else if oid == r.multi {
        r.multi_name.to_string()
    } else if oid == r.array {
        format!("_{}", r.name)
    } else {
        format!("_{}", r.multi_name)
    };
    thread_local! {
        static INFOS: std::cell::RefCell<Vec<&'static TypeInfo>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    INFOS.with(|i| {
        let mut i = i.borrow_mut();
        if let Some(t) = i
            .iter()
            .find(|t| t.oid == oid && t.name == name && t.align == align)
        {
            return Some(*t);
        }
        let t: &'static TypeInfo = Box::leak(Box::new(TypeInfo {
            oid,
            name: static_name(&name),
            len: -1,
            align,
            by_val: false,
            storage: Storage::Extended,
        }));
        i.push(t);
        Some(t)
    })
}

/// A range or multirange type by its SQL name (`int4range`,
/// `int4multirange`): its OID.
pub fn by_name(name: &str) -> Option<Oid> {
    all().into_iter().find_map(|r| {
        if r.name == name {
            Some(r.oid)
        } else if r.multi_name == name {
            Some(r.multi)
        } else {
            None
        }
    })
}

/// The range type over subtype `sub` (for `range_agg`-like resolution).
pub fn range_of_subtype(sub: Oid) -> Option<&'static RangeType> {
    find(|r| r.sub == sub)
}

pub fn is_range(oid: Oid) -> bool {
    range_type(oid).is_some()
}

pub fn is_multirange(oid: Oid) -> bool {
    multirange_type(oid).is_some()
}

/// Array types of range and multirange types: (array, element).
pub fn array_pairs() -> impl Iterator<Item = (Oid, Oid)> {
    all()
        .into_iter()
        .flat_map(|r| [(r.array, r.oid), (r.multi_array, r.multi)])
}

/// One bound: its value (`None`: infinite) and whether it is inclusive.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub val: Option<Value>,
    pub inc: bool,
}

impl Bound {
    pub fn inf() -> Bound {
        Bound {
            val: None,
            inc: false,
        }
    }
    pub fn at(v: Value, inc: bool) -> Bound {
        Bound { val: Some(v), inc }
    }
}

/// A range value. An empty range has infinite, exclusive bounds, so that
/// all empty ranges are equal as Rust values too.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub ty: Oid,
    pub empty: bool,
    pub lower: Bound,
    pub upper: Bound,
}

/// A multirange value: its ranges non-empty, ordered, neither overlapping
/// nor adjacent (multirange_canonicalize's form).
#[derive(Debug, Clone, PartialEq)]
pub struct Multirange {
    pub ty: Oid,
    pub ranges: Vec<Range>,
}

fn data_exception(msg: &str) -> PgError {
    PgError::error(sqlstate::DATA_EXCEPTION, msg.to_string())
}

impl Range {
    pub fn empty(ty: Oid) -> Range {
        Range {
            ty,
            empty: true,
            lower: Bound::inf(),
            upper: Bound::inf(),
        }
    }
}

/// range_cmp_bounds: the order of two bounds, each a lower or an upper
/// one (an exclusive lower bound sits just after its value, an exclusive
/// upper one just before it).
pub fn cmp_bounds(a: &Bound, a_lower: bool, b: &Bound, b_lower: bool) -> Ordering {
    let side = |lower: bool| {
        if lower {
            Ordering::Less
        } else {
            Ordering::Greater
        }
    };
    match (&a.val, &b.val) {
        (None, None) => {
            if a_lower == b_lower {
                Ordering::Equal
            } else {
                side(a_lower)
            }
        }
        (None, Some(_)) => side(a_lower),
        (Some(_), None) => side(b_lower).reverse(),
        (Some(x), Some(y)) => match compare(x, y) {
            Ordering::Equal => match (a.inc, b.inc) {
                (false, false) if a_lower == b_lower => Ordering::Equal,
                (false, false) => side(a_lower).reverse(),
                (false, true) => side(a_lower).reverse(),
                (true, false) => side(b_lower),
                (true, true) => Ordering::Equal,
            },
            o => o,
        },
    }
}

/// The next value of a discrete subtype (for the canonical form); `None`
/// leaves the bound as it is (infinite dates, as daterange_canonical).
fn next_value(v: &Value) -> Result<Option<Value>, PgError> {
    Ok(Some(match v {
        Value::Int4(i) => Value::Int4(i.checked_add(1).ok_or_else(|| {
            PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range")
        })?),
        Value::Int8(i) => Value::Int8(i.checked_add(1).ok_or_else(|| {
            PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "bigint out of range")
        })?),
        Value::Date(d)
            if *d == crate::datetime::DATE_NOEND || *d == crate::datetime::DATE_NOBEGIN =>
        {
            return Ok(None)
        }
        Value::Date(d) => Value::Date(d.checked_add(1).ok_or_else(|| {
            PgError::error(sqlstate::DATETIME_FIELD_OVERFLOW, "date out of range")
        })?),
        _ => return Ok(None),
    }))
}

/// make_range: checks the bounds' order, finds an empty range, and brings a
/// discrete range to its canonical `[)` form.
pub fn make(rt: &RangeType, lower: Bound, upper: Bound, empty: bool) -> Result<Range, PgError> {
    let r = serialize(rt.oid, lower, upper, empty)?;
    if r.empty || !rt.discrete() {
        return Ok(r);
    }
    let Range {
        mut lower,
        mut upper,
        ..
    } = r;
    if let Some(v) = &lower.val {
        if !lower.inc {
            if let Some(n) = next_value(v)? {
                lower = Bound::at(n, true);
            }
        }
    }
    if let Some(v) = &upper.val {
        if upper.inc {
            if let Some(n) = next_value(v)? {
                upper = Bound::at(n, false);
            }
        }
    }
    serialize(rt.oid, lower, upper, false)
}

/// range_serialize's checks: lower <= upper (22000), equal values with a
/// bound exclusive make the empty range, infinite bounds are exclusive.
fn serialize(ty: Oid, mut lower: Bound, mut upper: Bound, empty: bool) -> Result<Range, PgError> {
    if empty {
        return Ok(Range::empty(ty));
    }
    if lower.val.is_none() {
        lower.inc = false;
    }
    if upper.val.is_none() {
        upper.inc = false;
    }
    if let (Some(l), Some(u)) = (&lower.val, &upper.val) {
        match compare(l, u) {
            Ordering::Greater => {
                return Err(data_exception(
                    "range lower bound must be less than or equal to range upper bound",
                ))
            }
            Ordering::Equal if !(lower.inc && upper.inc) => return Ok(Range::empty(ty)),
            _ => {}
        }
    }
    Ok(Range {
        ty,
        empty: false,
        lower,
        upper,
    })
}

fn malformed(what: &str, s: &str, detail: &str) -> PgError {
    PgError::error(
        sqlstate::INVALID_TEXT_REPRESENTATION,
        format!("malformed {what} literal: \"{s}\""),
    )
    .with_detail(detail.to_string())
}

/// One bound's text (range_parse_bound): quotes group, backslash escapes,
/// `""` inside quotes is a quote; it ends at `,` `)` `]` outside quotes.
/// `Ok(None)` is an empty (infinite) bound.
fn parse_bound(
    whole: &str,
    chars: &[char],
    pos: &mut usize,
    what: &str,
) -> Result<Option<String>, PgError> {
    let end = |c: char| matches!(c, ',' | ')' | ']');
    if chars.get(*pos).is_some_and(|&c| end(c)) {
        return Ok(None);
    }
    let mut out = String::new();
    let mut inquote = false;
    loop {
        let Some(&c) = chars.get(*pos) else {
            return Err(malformed(what, whole, "Unexpected end of input."));
        };
        if !inquote && end(c) {
            break;
        }
        *pos += 1;
        match c {
            '\\' => {
                let Some(&n) = chars.get(*pos) else {
                    return Err(malformed(what, whole, "Unexpected end of input."));
                };
                out.push(n);
                *pos += 1;
            }
            '"' if !inquote => inquote = true,
            '"' if chars.get(*pos) == Some(&'"') => {
                out.push('"');
                *pos += 1;
            }
            '"' => inquote = false,
            c => out.push(c),
        }
    }
    Ok(Some(out))
}

/// The textual parts of a range literal: empty, or flags and bound texts.
struct Parsed {
    empty: bool,
    lower: Option<String>,
    upper: Option<String>,
    lower_inc: bool,
    upper_inc: bool,
}

fn parse_parts(s: &str, what: &str) -> Result<Parsed, PgError> {
    let chars: Vec<char> = s.chars().collect();
    let mut pos = 0;
    while chars.get(pos).is_some_and(|c| c.is_ascii_whitespace()) {
        pos += 1;
    }
    let rest: String = chars[pos..].iter().take(5).collect();
    if rest.eq_ignore_ascii_case("empty") {
        pos += 5;
        while chars.get(pos).is_some_and(|c| c.is_ascii_whitespace()) {
            pos += 1;
        }
        if pos == chars.len() {
            return Ok(Parsed {
                empty: true,
                lower: None,
                upper: None,
                lower_inc: false,
                upper_inc: false,
            });
        }
        return Err(malformed(what, s, "Junk after \"empty\" key word."));
    }
    let lower_inc = match chars.get(pos) {
        Some('[') => true,
        Some('(') => false,
        _ => return Err(malformed(what, s, "Missing left parenthesis or bracket.")),
    };
    pos += 1;
    let lower = parse_bound(s, &chars, &mut pos, what)?;
    if chars.get(pos) != Some(&',') {
        return Err(malformed(what, s, "Missing comma after lower bound."));
    }
    pos += 1;
    let upper = parse_bound(s, &chars, &mut pos, what)?;
    let upper_inc = match chars.get(pos) {
        Some(']') => true,
        Some(')') => false,
        _ => return Err(malformed(what, s, "Too many commas.")),
    };
    pos += 1;
    while chars.get(pos).is_some_and(|c| c.is_ascii_whitespace()) {
        pos += 1;
    }
    if pos != chars.len() {
        return Err(malformed(
            what,
            s,
            "Junk after right parenthesis or bracket.",
        ));
    }
    Ok(Parsed {
        empty: false,
        lower,
        upper,
        lower_inc,
        upper_inc,
    })
}

/// range_in: the text form of a range of type `rt`; `now` is for the
/// subtype's input ('now' timestamps).
pub fn parse(s: &str, rt: &RangeType, now: i64) -> Result<Range, PgError> {
    let p = parse_parts(s, "range")?;
    if p.empty {
        return Ok(Range::empty(rt.oid));
    }
    let sub = |t: &Option<String>| -> Result<Option<Value>, PgError> {
        t.as_ref()
            .map(|t| crate::cast::input(t, Ty::new(rt.sub), now))
            .transpose()
    };
    let lower = Bound {
        val: sub(&p.lower)?,
        inc: p.lower_inc,
    };
    let upper = Bound {
        val: sub(&p.upper)?,
        inc: p.upper_inc,
    };
    make(rt, lower, upper, false)
}

/// range_bound_escape: quoted when empty or holding `"` `\` `(` `)` `[`
/// `]` `,` or white space, with `"` and `\` doubled inside.
fn escape_bound(out: &mut String, t: &str) {
    let quote = t.is_empty()
        || t.chars().any(|c| {
            matches!(c, '"' | '\\' | '(' | ')' | '[' | ']' | ',') || c.is_ascii_whitespace()
        });
    if !quote {
        out.push_str(t);
        return;
    }
    out.push('"');
    for c in t.chars() {
        if c == '"' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('"');
}

/// range_out.
pub fn format(r: &Range) -> String {
    if r.empty {
        return "empty".into();
    }
    let mut out = String::new();
    out.push(if r.lower.inc { '[' } else { '(' });
    if let Some(v) = &r.lower.val {
        escape_bound(&mut out, &crate::value::to_text(v).unwrap_or_default());
    }
    out.push(',');
    if let Some(v) = &r.upper.val {
        escape_bound(&mut out, &crate::value::to_text(v).unwrap_or_default());
    }
    out.push(if r.upper.inc { ']' } else { ')' });
    out
}

const RANGE_EMPTY: u8 = 0x01;
const RANGE_LB_INC: u8 = 0x02;
const RANGE_UB_INC: u8 = 0x04;
const RANGE_LB_INF: u8 = 0x08;
const RANGE_UB_INF: u8 = 0x10;

fn flags(r: &Range) -> u8 {
    if r.empty {
        return RANGE_EMPTY;
    }
    let mut f = 0;
    match &r.lower.val {
        None => f |= RANGE_LB_INF,
        Some(_) if r.lower.inc => f |= RANGE_LB_INC,
        _ => {}
    }
    match &r.upper.val {
        None => f |= RANGE_UB_INF,
        Some(_) if r.upper.inc => f |= RANGE_UB_INC,
        _ => {}
    }
    f
}

/// range_send: a flags byte, then each finite bound as a 4-byte length and
/// the subtype's binary form.
pub fn send(r: &Range) -> Vec<u8> {
    let mut out = vec![flags(r)];
    for b in [&r.lower, &r.upper] {
        if let (false, Some(v)) = (r.empty, &b.val) {
            let bytes = crate::value::encode_binary(v).unwrap_or_default();
            out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
    }
    out
}

fn short() -> PgError {
    PgError::error(
        sqlstate::PROTOCOL_VIOLATION,
        "insufficient data left in message",
    )
}

fn take<'a>(b: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8], PgError> {
    let s = b.get(*pos..*pos + n).ok_or_else(short)?;
    *pos += n;
    Ok(s)
}

fn recv_at(b: &[u8], pos: &mut usize, rt: &RangeType) -> Result<Range, PgError> {
    let f = take(b, pos, 1)?[0]
        & (RANGE_EMPTY | RANGE_LB_INC | RANGE_LB_INF | RANGE_UB_INC | RANGE_UB_INF);
    let mut bound = |present: bool| -> Result<Option<Value>, PgError> {
        if !present {
            return Ok(None);
        }
        let len = i32::from_be_bytes(take(b, pos, 4)?.try_into().unwrap_or_default());
        let bytes = take(b, pos, len.max(0) as usize)?;
        crate::value::decode_param(rt.sub, 1, bytes).map(Some)
    };
    let empty = f & RANGE_EMPTY != 0;
    let lower = bound(!empty && f & RANGE_LB_INF == 0)?;
    let upper = bound(!empty && f & RANGE_UB_INF == 0)?;
    make(
        rt,
        Bound {
            val: lower,
            inc: f & RANGE_LB_INC != 0,
        },
        Bound {
            val: upper,
            inc: f & RANGE_UB_INC != 0,
        },
        empty,
    )
}

/// range_recv (22P03 for bytes left over).
pub fn recv(b: &[u8], rt: &RangeType) -> Result<Range, PgError> {
    let mut pos = 0;
    let r = recv_at(b, &mut pos, rt)?;
    if pos != b.len() {
        return Err(PgError::error(
            sqlstate::INVALID_BINARY_REPRESENTATION,
            "incorrect binary data format",
        ));
    }
    Ok(r)
}

/// range_cmp (the btree order): empty first, then by lower, then upper
/// bound.
pub fn range_cmp(a: &Range, b: &Range) -> Ordering {
    match (a.empty, b.empty) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => cmp_bounds(&a.lower, true, &b.lower, true)
            .then_with(|| cmp_bounds(&a.upper, false, &b.upper, false)),
    }
}

/// `@>` between ranges (an empty range is in every range).
pub fn contains(a: &Range, b: &Range) -> bool {
    if b.empty {
        return true;
    }
    if a.empty {
        return false;
    }
    cmp_bounds(&a.lower, true, &b.lower, true) != Ordering::Greater
        && cmp_bounds(&a.upper, false, &b.upper, false) != Ordering::Less
}

/// `@>` of a range and an element.
pub fn contains_elem(a: &Range, v: &Value) -> bool {
    if a.empty {
        return false;
    }
    if let Some(l) = &a.lower.val {
        match compare(l, v) {
            Ordering::Greater => return false,
            Ordering::Equal if !a.lower.inc => return false,
            _ => {}
        }
    }
    if let Some(u) = &a.upper.val {
        match compare(u, v) {
            Ordering::Less => return false,
            Ordering::Equal if !a.upper.inc => return false,
            _ => {}
        }
    }
    true
}

pub fn overlaps(a: &Range, b: &Range) -> bool {
    if a.empty || b.empty {
        return false;
    }
    let ge = |x: Ordering| x != Ordering::Less;
    let le = |x: Ordering| x != Ordering::Greater;
    (ge(cmp_bounds(&a.lower, true, &b.lower, true))
        && le(cmp_bounds(&a.lower, true, &b.upper, false)))
        || (ge(cmp_bounds(&b.lower, true, &a.lower, true))
            && le(cmp_bounds(&b.lower, true, &a.upper, false)))
}

/// `<<`: strictly left of.
pub fn before(a: &Range, b: &Range) -> bool {
    !a.empty && !b.empty && cmp_bounds(&a.upper, false, &b.lower, true) == Ordering::Less
}

/// `>>`: strictly right of.
pub fn after(a: &Range, b: &Range) -> bool {
    !a.empty && !b.empty && cmp_bounds(&a.lower, true, &b.upper, false) == Ordering::Greater
}

/// `&<`: does not extend to the right of.
pub fn overleft(a: &Range, b: &Range) -> bool {
    !a.empty && !b.empty && cmp_bounds(&a.upper, false, &b.upper, false) != Ordering::Greater
}

/// `&>`: does not extend to the left of.
pub fn overright(a: &Range, b: &Range) -> bool {
    !a.empty && !b.empty && cmp_bounds(&a.lower, true, &b.lower, true) != Ordering::Less
}

/// bounds_adjacent: upper bound `u` meets lower bound `l` with nothing
/// between (for a discrete type, nothing of the subtype).
fn bounds_adjacent(rt: Option<&RangeType>, u: &Bound, l: &Bound) -> bool {
    let (Some(x), Some(y)) = (&u.val, &l.val) else {
        return false;
    };
    match compare(x, y) {
        Ordering::Less => match rt {
            Some(rt) if rt.discrete() => make(
                rt,
                Bound::at(x.clone(), !u.inc),
                Bound::at(y.clone(), !l.inc),
                false,
            )
            .is_ok_and(|r| r.empty),
            _ => false,
        },
        Ordering::Equal => u.inc != l.inc,
        Ordering::Greater => false,
    }
}

/// `-|-`.
pub fn adjacent(a: &Range, b: &Range) -> bool {
    if a.empty || b.empty {
        return false;
    }
    let rt = range_type(a.ty);
    bounds_adjacent(rt, &a.upper, &b.lower) || bounds_adjacent(rt, &b.upper, &a.lower)
}

fn rt_of(a: &Range) -> Result<&'static RangeType, PgError> {
    range_type(a.ty).ok_or_else(|| {
        PgError::error(
            sqlstate::INTERNAL_ERROR,
            format!("type {} is not a range type", a.ty),
        )
    })
}

/// range_union_internal: `+` (strict: 22000 when the result would have a
/// gap) and range_merge (not strict).
pub fn union(a: &Range, b: &Range, strict: bool) -> Result<Range, PgError> {
    if a.empty {
        return Ok(b.clone());
    }
    if b.empty {
        return Ok(a.clone());
    }
    if strict && !overlaps(a, b) && !adjacent(a, b) {
        return Err(data_exception(
            "result of range union would not be contiguous",
        ));
    }
    let lower = if cmp_bounds(&a.lower, true, &b.lower, true) == Ordering::Greater {
        &b.lower
    } else {
        &a.lower
    };
    let upper = if cmp_bounds(&a.upper, false, &b.upper, false) == Ordering::Less {
        &b.upper
    } else {
        &a.upper
    };
    make(rt_of(a)?, lower.clone(), upper.clone(), false)
}

/// `*`.
pub fn intersect(a: &Range, b: &Range) -> Result<Range, PgError> {
    if a.empty || b.empty || !overlaps(a, b) {
        return Ok(Range::empty(a.ty));
    }
    let lower = if cmp_bounds(&a.lower, true, &b.lower, true) == Ordering::Less {
        &b.lower
    } else {
        &a.lower
    };
    let upper = if cmp_bounds(&a.upper, false, &b.upper, false) == Ordering::Greater {
        &b.upper
    } else {
        &a.upper
    };
    make(rt_of(a)?, lower.clone(), upper.clone(), false)
}

/// `-` (22000 when the result would be two pieces).
pub fn minus(a: &Range, b: &Range) -> Result<Range, PgError> {
    match minus_parts(a, b)? {
        (x, None) => Ok(x),
        (_, Some(_)) => Err(data_exception(
            "result of range difference would not be contiguous",
        )),
    }
}

/// range_minus_internal, split: the part of `a` left of `b` and the part
/// right of it (the second only when both are non-empty).
fn minus_parts(a: &Range, b: &Range) -> Result<(Range, Option<Range>), PgError> {
    if a.empty || b.empty {
        return Ok((a.clone(), None));
    }
    let rt = rt_of(a)?;
    let l1l2 = cmp_bounds(&a.lower, true, &b.lower, true);
    let l1u2 = cmp_bounds(&a.lower, true, &b.upper, false);
    let u1l2 = cmp_bounds(&a.upper, false, &b.lower, true);
    let u1u2 = cmp_bounds(&a.upper, false, &b.upper, false);
    use Ordering::*;
    if l1l2 == Less && u1u2 == Greater {
        let left = make(
            rt,
            a.lower.clone(),
            Bound {
                val: b.lower.val.clone(),
                inc: !b.lower.inc,
            },
            false,
        )?;
        let right = make(
            rt,
            Bound {
                val: b.upper.val.clone(),
                inc: !b.upper.inc,
            },
            a.upper.clone(),
            false,
        )?;
        return Ok((left, Some(right)));
    }
    if l1u2 == Greater || u1l2 == Less {
        return Ok((a.clone(), None));
    }
    if l1l2 != Less && u1u2 != Greater {
        return Ok((Range::empty(a.ty), None));
    }
    if l1l2 != Greater && u1l2 != Less && u1u2 != Greater {
        let upper = Bound {
            val: b.lower.val.clone(),
            inc: !b.lower.inc,
        };
        return Ok((make(rt, a.lower.clone(), upper, false)?, None));
    }
    let lower = Bound {
        val: b.upper.val.clone(),
        inc: !b.upper.inc,
    };
    Ok((make(rt, lower, a.upper.clone(), false)?, None))
}

// ---------------------------------------------------------------------
// Multiranges.

/// multirange_canonicalize: drop empty ranges, sort, merge overlapping and
/// adjacent ones.
pub fn canonical(ty: Oid, mut ranges: Vec<Range>) -> Result<Multirange, PgError> {
    ranges.retain(|r| !r.empty);
    ranges.sort_by(range_cmp);
    let mut out: Vec<Range> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if overlaps(last, &r) || adjacent(last, &r) => {
                *last = union(last, &r, false)?;
            }
            _ => out.push(r),
        }
    }
    Ok(Multirange { ty, ranges: out })
}

/// multirange_in: `{}` or `{r1, r2, ...}`, each range in range_in's form.
pub fn parse_multi(s: &str, rt: &RangeType, now: i64) -> Result<Multirange, PgError> {
    let what = "multirange";
    let chars: Vec<char> = s.chars().collect();
    let mut pos = 0;
    let ws = |pos: &mut usize| {
        while chars.get(*pos).is_some_and(|c| c.is_ascii_whitespace()) {
            *pos += 1;
        }
    };
    ws(&mut pos);
    if chars.get(pos) != Some(&'{') {
        return Err(malformed(what, s, "Missing left brace."));
    }
    pos += 1;
    let mut ranges = Vec::new();
    ws(&mut pos);
    if chars.get(pos) == Some(&'}') {
        pos += 1;
    } else {
        loop {
            ws(&mut pos);
            let start = pos;
            let rest: String = chars[pos..].iter().take(5).collect();
            if rest.eq_ignore_ascii_case("empty") {
                pos += 5;
                ranges.push(Range::empty(rt.oid));
            } else if matches!(chars.get(pos), Some('[' | '(')) {
                // Up to the closing bracket outside quotes.
                let mut inquote = false;
                loop {
                    let Some(&c) = chars.get(pos) else {
                        return Err(malformed(what, s, "Unexpected end of input."));
                    };
                    pos += 1;
                    match c {
                        '\\' => pos += 1,
                        '"' => inquote = !inquote,
                        ']' | ')' if !inquote => break,
                        _ => {}
                    }
                }
                let text: String = chars[start..pos.min(chars.len())].iter().collect();
                ranges.push(parse(&text, rt, now)?);
            } else if pos >= chars.len() {
                return Err(malformed(what, s, "Unexpected end of input."));
            } else {
                return Err(malformed(what, s, "Expected range start."));
            }
            ws(&mut pos);
            match chars.get(pos) {
                Some(',') => pos += 1,
                Some('}') => {
                    pos += 1;
                    break;
                }
                None => return Err(malformed(what, s, "Unexpected end of input.")),
                _ => return Err(malformed(what, s, "Expected comma or end of multirange.")),
            }
        }
    }
    ws(&mut pos);
    if pos != chars.len() {
        return Err(malformed(what, s, "Junk after closing right brace."));
    }
    canonical(rt.multi, ranges)
}

/// multirange_out: `{[1,3), [5,7)}`.
pub fn format_multi(m: &Multirange) -> String {
    let parts: Vec<String> = m.ranges.iter().map(format).collect();
    format!("{{{}}}", parts.join(","))
}

/// multirange_send: the count, then each range's length and range_send.
pub fn send_multi(m: &Multirange) -> Vec<u8> {
    let mut out = (m.ranges.len() as i32).to_be_bytes().to_vec();
    for r in &m.ranges {
        let b = send(r);
        out.extend_from_slice(&(b.len() as i32).to_be_bytes());
        out.extend_from_slice(&b);
    }
    out
}

/// multirange_recv.
pub fn recv_multi(b: &[u8], rt: &RangeType) -> Result<Multirange, PgError> {
    let mut pos = 0;
    let n = i32::from_be_bytes(take(b, &mut pos, 4)?.try_into().unwrap_or_default());
    let mut ranges = Vec::new();
    for _ in 0..n.max(0) {
        let len = i32::from_be_bytes(take(b, &mut pos, 4)?.try_into().unwrap_or_default());
        let bytes = take(b, &mut pos, len.max(0) as usize)?;
        ranges.push(recv(bytes, rt)?);
    }
    if pos != b.len() {
        return Err(PgError::error(
            sqlstate::INVALID_BINARY_REPRESENTATION,
            "incorrect binary data format",
        ));
    }
    canonical(rt.multi, ranges)
}

/// multirange_cmp: range by range, then the one with fewer ranges first.
pub fn multi_cmp(a: &Multirange, b: &Multirange) -> Ordering {
    for (x, y) in a.ranges.iter().zip(&b.ranges) {
        let o = range_cmp(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    a.ranges.len().cmp(&b.ranges.len())
}

/// The smallest range covering a multirange (range_merge(multirange));
/// empty for an empty multirange.
pub fn span(m: &Multirange, range_ty: Oid) -> Range {
    match (m.ranges.first(), m.ranges.last()) {
        (Some(f), Some(l)) => Range {
            ty: range_ty,
            empty: false,
            lower: f.lower.clone(),
            upper: l.upper.clone(),
        },
        _ => Range::empty(range_ty),
    }
}

/// `+` of multiranges.
pub fn multi_union(a: &Multirange, b: &Multirange) -> Result<Multirange, PgError> {
    let mut all = a.ranges.clone();
    all.extend(b.ranges.iter().cloned());
    canonical(a.ty, all)
}

/// `*` of multiranges.
pub fn multi_intersect(a: &Multirange, b: &Multirange) -> Result<Multirange, PgError> {
    let mut out = Vec::new();
    for x in &a.ranges {
        for y in &b.ranges {
            let r = intersect(x, y)?;
            if !r.empty {
                out.push(r);
            }
        }
    }
    canonical(a.ty, out)
}

/// `-` of multiranges: each range of `a` less every range of `b`.
pub fn multi_minus(a: &Multirange, b: &Multirange) -> Result<Multirange, PgError> {
    let mut out = Vec::new();
    for x in &a.ranges {
        let mut pieces = vec![x.clone()];
        for y in &b.ranges {
            let mut next = Vec::new();
            for p in pieces {
                let (l, r) = minus_parts(&p, y)?;
                if !l.empty {
                    next.push(l);
                }
                if let Some(r) = r {
                    if !r.empty {
                        next.push(r);
                    }
                }
            }
            pieces = next;
        }
        out.extend(pieces);
    }
    canonical(a.ty, out)
}

/// The ranges an operand of a range or multirange operator stands for:
/// a range is itself (none if empty), a multirange its ranges.
pub fn as_ranges(v: &Value) -> Vec<Range> {
    match v {
        Value::Range(r) if r.empty => Vec::new(),
        Value::Range(r) => vec![(**r).clone()],
        Value::Multirange(m) => m.ranges.clone(),
        _ => Vec::new(),
    }
}

/// The boolean operators over ranges and multiranges alike (the
/// multirange forms of PostgreSQL 15 reduce to these over the ranges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pred {
    Contains,
    ContainedBy,
    Overlaps,
    Before,
    After,
    OverLeft,
    OverRight,
    Adjacent,
}

fn span_of(rs: &[Range]) -> Option<Range> {
    Some(Range {
        ty: rs.first()?.ty,
        empty: false,
        lower: rs.first()?.lower.clone(),
        upper: rs.last()?.upper.clone(),
    })
}

/// A predicate between two operands given as their ranges (sorted,
/// disjoint; as_ranges).
pub fn pred(p: Pred, a: &[Range], b: &[Range]) -> bool {
    match p {
        Pred::Contains => b.iter().all(|y| a.iter().any(|x| contains(x, y))),
        Pred::ContainedBy => pred(Pred::Contains, b, a),
        Pred::Overlaps => a.iter().any(|x| b.iter().any(|y| overlaps(x, y))),
        Pred::Adjacent => match (span_of(a), span_of(b)) {
            (Some(x), Some(y)) => {
                let (fa, la) = (&a[0], &a[a.len() - 1]);
                let (fb, lb) = (&b[0], &b[b.len() - 1]);
                let rt = range_type(x.ty).or_else(|| range_type(y.ty));
                bounds_adjacent(rt, &la.upper, &fb.lower)
                    || bounds_adjacent(rt, &lb.upper, &fa.lower)
            }
            _ => false,
        },
        _ => match (span_of(a), span_of(b)) {
            (Some(x), Some(y)) => match p {
                Pred::Before => before(&x, &y),
                Pred::After => after(&x, &y),
                Pred::OverLeft => overleft(&x, &y),
                _ => overright(&x, &y),
            },
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str, ty: Oid) -> Result<Range, PgError> {
        parse(s, range_type(ty).unwrap(), 0)
    }
    fn t(s: &str, ty: Oid) -> String {
        format(&r(s, ty).unwrap())
    }

    #[test]
    fn parse_and_print() {
        assert_eq!(t("[1,5)", INT4RANGE), "[1,5)");
        assert_eq!(t("(1,5]", INT4RANGE), "[2,6)");
        assert_eq!(t(" empty ", INT4RANGE), "empty");
        assert_eq!(t("EMPTY", NUMRANGE), "empty");
        assert_eq!(t("[,5)", INT4RANGE), "(,5)");
        assert_eq!(t("(,)", INT4RANGE), "(,)");
        assert_eq!(t("(1,2)", INT4RANGE), "empty");
        assert_eq!(t("[1.5,1.5]", NUMRANGE), "[1.5,1.5]");
        assert_eq!(t("[1.5,1.5)", NUMRANGE), "empty");
        assert_eq!(t("[\"1\",\" 3\")", NUMRANGE), "[1,3)");
        assert_eq!(t("[ 1, 3 ) ", INT4RANGE), "[1,3)");
        assert_eq!(
            t("[2000-01-01,2000-01-05]", DATERANGE),
            "[2000-01-01,2000-01-06)"
        );
        assert_eq!(
            t("[\"2000-01-01 10:00\",)", TSRANGE),
            "[\"2000-01-01 10:00:00\",)"
        );
    }

    #[test]
    fn errors() {
        let e = r("[5,1)", INT4RANGE).unwrap_err();
        assert_eq!(e.code.as_str(), "22000");
        assert_eq!(
            e.message,
            "range lower bound must be less than or equal to range upper bound"
        );
        for (s, d) in [
            ("1,5", "Missing left parenthesis or bracket."),
            ("[1)", "Missing comma after lower bound."),
            ("[1,2,3)", "Too many commas."),
            ("[1,2) x", "Junk after right parenthesis or bracket."),
            ("[1,", "Unexpected end of input."),
            ("empty x", "Junk after \"empty\" key word."),
        ] {
            let e = r(s, INT4RANGE).unwrap_err();
            assert_eq!(e.code.as_str(), "22P02", "{s}");
            assert_eq!(e.message, format!("malformed range literal: \"{s}\""));
            assert_eq!(e.detail.as_deref(), Some(d), "{s}");
        }
        assert_eq!(
            r("[1,2147483647]", INT4RANGE).unwrap_err().message,
            "integer out of range"
        );
    }

    #[test]
    fn operators() {
        let a = r("[1,5)", INT4RANGE).unwrap();
        let b = r("[5,7)", INT4RANGE).unwrap();
        let c = r("[3,6)", INT4RANGE).unwrap();
        assert!(adjacent(&a, &b) && !overlaps(&a, &b) && before(&a, &b));
        assert!(overlaps(&a, &c) && overleft(&a, &c) && !overright(&a, &c));
        assert_eq!(format(&union(&a, &b, true).unwrap()), "[1,7)");
        assert_eq!(format(&intersect(&a, &c).unwrap()), "[3,5)");
        assert_eq!(format(&minus(&a, &c).unwrap()), "[1,3)");
        let d = r("[2,3)", INT4RANGE).unwrap();
        assert_eq!(minus(&a, &d).unwrap_err().code.as_str(), "22000");
        let far = r("[10,11)", INT4RANGE).unwrap();
        assert_eq!(union(&a, &far, true).unwrap_err().code.as_str(), "22000");
        assert_eq!(format(&union(&a, &far, false).unwrap()), "[1,11)");
        assert!(contains_elem(&a, &Value::Int4(4)) && !contains_elem(&a, &Value::Int4(5)));
        assert_eq!(range_cmp(&Range::empty(INT4RANGE), &a), Ordering::Less);
        let n1 = r("[1.0,2]", NUMRANGE).unwrap();
        let n2 = r("(1.0,2]", NUMRANGE).unwrap();
        assert!(!adjacent(&n1, &n2) && contains(&n1, &n2));
    }

    #[test]
    fn multiranges() {
        let rt = range_type(INT4RANGE).unwrap();
        let m = parse_multi("{[1,3), [5,7), [3,4), empty}", rt, 0).unwrap();
        assert_eq!(format_multi(&m), "{[1,4),[5,7)}");
        assert_eq!(format_multi(&parse_multi(" { } ", rt, 0).unwrap()), "{}");
        let e = parse_multi("{[1,3) [5,7)}", rt, 0).unwrap_err();
        assert_eq!(
            e.detail.as_deref(),
            Some("Expected comma or end of multirange.")
        );
        let b = parse_multi("{[2,6)}", rt, 0).unwrap();
        assert_eq!(format_multi(&multi_minus(&m, &b).unwrap()), "{[1,2),[6,7)}");
        assert_eq!(
            format_multi(&multi_intersect(&m, &b).unwrap()),
            "{[2,4),[5,6)}"
        );
        assert_eq!(
            send_multi(&recv_multi(&send_multi(&m), rt).unwrap()),
            send_multi(&m)
        );
    }
}
