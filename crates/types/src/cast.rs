//! Type input functions (text -> value) and casts between types.
//!
//! One place decides which conversions exist ([`castable`]) and one
//! performs them ([`cast`]), so the binder can refuse an impossible
//! `::type` at prepare time with PostgreSQL's 42846 and execution never
//! meets a pair it cannot convert. Messages follow PostgreSQL's input
//! functions word for word, because users search for them.

use std::net::IpAddr;

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::array;
use crate::datetime::{self, DtError};
use crate::numeric::{Numeric, NumericParseError};
use crate::types::{self, Oid, Ty};
use crate::value::{to_text, Value};

fn syntax(ty: Oid, s: &str) -> PgError {
    PgError::error(
        sqlstate::INVALID_TEXT_REPRESENTATION,
        format!(
            "invalid input syntax for type {}: \"{}\"",
            types::sql_name(ty),
            s
        ),
    )
}

fn out_of_range_value(ty: Oid, s: &str) -> PgError {
    PgError::error(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        format!(
            "value \"{}\" is out of range for type {}",
            s,
            types::sql_name(ty)
        ),
    )
}

/// The "integer out of range" family, named as PostgreSQL names them.
pub fn int_out_of_range(ty: Oid) -> PgError {
    let what = match ty {
        types::INT2 => "smallint",
        types::INT8 => "bigint",
        types::OID => "OID",
        _ => "integer",
    };
    PgError::error(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        format!("{what} out of range"),
    )
}

pub fn float_overflow() -> PgError {
    PgError::error(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        "value out of range: overflow",
    )
}

pub fn float_underflow() -> PgError {
    PgError::error(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        "value out of range: underflow",
    )
}

fn dt_error(e: DtError, ty: Oid, s: &str) -> PgError {
    match e {
        DtError::Syntax => PgError::error(
            sqlstate::INVALID_DATETIME_FORMAT,
            format!(
                "invalid input syntax for type {}: \"{}\"",
                // The names timestamp_in and time_in give themselves.
                match ty {
                    types::TIMESTAMP => "timestamp".to_string(),
                    types::TIME => "time".to_string(),
                    _ => types::sql_name(ty),
                },
                s
            ),
        ),
        DtError::FieldOverflow => PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            format!("date/time field value out of range: \"{s}\""),
        ),
        DtError::OutOfRange => {
            let what = if ty == types::DATE {
                "date"
            } else {
                "timestamp"
            };
            PgError::error(
                sqlstate::DATETIME_FIELD_OVERFLOW,
                format!("{what} out of range: \"{s}\""),
            )
        }
        DtError::UnknownZone(z) => PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("time zone \"{z}\" not recognized"),
        ),
        DtError::MdFieldOverflow => PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            format!("date/time field value out of range: \"{s}\""),
        )
        .with_hint("Perhaps you need a different \"datestyle\" setting."),
        DtError::TzOverflow => PgError::error(
            sqlstate::INVALID_TIME_ZONE_DISPLACEMENT_VALUE,
            format!("time zone displacement out of range: \"{s}\""),
        ),
    }
}

/// interval_in's errors: PostgreSQL turns a field overflow into 22015.
pub fn interval_error(e: crate::interval::IntervalError, s: &str) -> PgError {
    use crate::interval::IntervalError as E;
    match e {
        E::Syntax => PgError::error(
            sqlstate::INVALID_DATETIME_FORMAT,
            format!("invalid input syntax for type interval: \"{s}\""),
        ),
        E::FieldOverflow => PgError::error(
            sqlstate::INTERVAL_FIELD_OVERFLOW,
            format!("interval field value out of range: \"{s}\""),
        ),
        E::OutOfRange => interval_out_of_range(),
    }
}

pub fn interval_out_of_range() -> PgError {
    PgError::error(sqlstate::DATETIME_FIELD_OVERFLOW, "interval out of range")
}

/// `name` values hold at most 63 bytes; longer input is cut at a
/// character boundary, as PostgreSQL does.
pub fn truncate_name(s: &str) -> &str {
    if s.len() <= types::NAME_MAX_BYTES {
        return s;
    }
    let mut end = types::NAME_MAX_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// PostgreSQL's boolean input: unique prefixes of true/false/yes/no,
/// on/off, 1/0, case-insensitive, surrounding spaces ignored.
pub fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim().to_ascii_lowercase();
    if t.is_empty() {
        return None;
    }
    match t.as_bytes()[0] {
        b't' if "true".starts_with(&t) => Some(true),
        b'f' if "false".starts_with(&t) => Some(false),
        b'y' if "yes".starts_with(&t) => Some(true),
        b'n' if "no".starts_with(&t) => Some(false),
        b'o' if t == "on" => Some(true),
        b'o' if t.len() >= 2 && "off".starts_with(&t) => Some(false),
        b'1' if t == "1" => Some(true),
        b'0' if t == "0" => Some(false),
        _ => None,
    }
}

/// Integer input (pg_strtoint*): optional spaces, sign, digits.
fn parse_int(s: &str, ty: Oid, min: i128, max: i128) -> Result<i128, PgError> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax(ty, s));
    }
    let mut v: i128 = 0;
    for b in digits.bytes() {
        v = v * 10 + (b - b'0') as i128;
        if v > max + 1 {
            return Err(out_of_range_value(ty, s));
        }
    }
    let v = if neg { -v } else { v };
    if v < min || v > max {
        return Err(out_of_range_value(ty, s));
    }
    Ok(v)
}

fn parse_float(s: &str, ty: Oid) -> Result<f64, PgError> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    let is_special = matches!(body, "infinity" | "inf" | "nan");
    if t.is_empty()
        || (!is_special
            && !t
                .bytes()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)))
    {
        return Err(syntax(ty, s));
    }
    let v: f64 = t.parse().map_err(|_| syntax(ty, s))?;
    if !is_special {
        let nonzero_digits = t
            .split(['e', 'E'])
            .next()
            .is_some_and(|m| m.bytes().any(|b| (b'1'..=b'9').contains(&b)));
        let (inf, zero) = if ty == types::FLOAT4 {
            let f = v as f32;
            (f.is_infinite(), f == 0.0)
        } else {
            (v.is_infinite(), v == 0.0)
        };
        if inf || (zero && nonzero_digits) {
            return Err(PgError::error(
                sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                format!("\"{}\" is out of range for type {}", t, types::sql_name(ty)),
            ));
        }
    }
    Ok(v)
}

fn parse_bytea(s: &str) -> Result<Vec<u8>, PgError> {
    let bad = || syntax(types::BYTEA, s);
    if let Some(h) = s.strip_prefix("\\x").or_else(|| s.strip_prefix("\\X")) {
        let mut out = Vec::with_capacity(h.len() / 2);
        let mut it = h.bytes().filter(|b| !b.is_ascii_whitespace());
        while let Some(a) = it.next() {
            let b = it.next().ok_or_else(|| {
                PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    "invalid hexadecimal data: odd number of digits",
                )
            })?;
            let hv = |c: u8| (c as char).to_digit(16);
            match (hv(a), hv(b)) {
                (Some(x), Some(y)) => out.push((x * 16 + y) as u8),
                _ => {
                    let c = if hv(a).is_none() { a } else { b };
                    return Err(PgError::error(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!("invalid hexadecimal digit: \"{}\"", c as char),
                    ));
                }
            }
        }
        return Ok(out);
    }
    // Escape format: backslash-backslash or backslash + three octal digits.
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
        } else if b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
            && b[i + 1] <= b'3'
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            return Err(bad());
        }
    }
    Ok(out)
}

fn parse_inet(s: &str) -> Result<IpAddr, PgError> {
    let t = s.trim();
    let (addr, bits) = match t.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (t, None),
    };
    let ip: IpAddr = addr.parse().map_err(|_| syntax(types::INET, s))?;
    if let Some(b) = bits {
        let full = if ip.is_ipv4() { "32" } else { "128" };
        if b != full {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("inet values with a netmask (\"{s}\") are not supported yet"),
            ));
        }
    }
    Ok(ip)
}

/// A type's input function: text to a value of `ty` (typmod applied).
/// `now` resolves 'now'/'today' for date and time types.
pub fn input(s: &str, ty: Ty, now: i64) -> Result<Value, PgError> {
    let v = match ty.oid {
        o if crate::usertype::is_enum(o) => crate::usertype::enum_in(o, s)?,
        o if crate::composite::is_row(o) => {
            let Some(fields) = crate::composite::fields(ty) else {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "input of anonymous composite types is not implemented",
                ));
            };
            return crate::composite::record_in(s, &fields, &mut |t, fty| input(t, fty, now));
        }
        types::BOOL => Value::Bool(parse_bool(s).ok_or_else(|| syntax(types::BOOL, s))?),
        types::INT2 => {
            Value::Int2(parse_int(s, ty.oid, i16::MIN as i128, i16::MAX as i128)? as i16)
        }
        types::INT4 => {
            Value::Int4(parse_int(s, ty.oid, i32::MIN as i128, i32::MAX as i128)? as i32)
        }
        types::INT8 => {
            Value::Int8(parse_int(s, ty.oid, i64::MIN as i128, i64::MAX as i128)? as i64)
        }
        types::OID | types::XID => {
            Value::Oid(parse_int(s, ty.oid, i32::MIN as i128, u32::MAX as i128)? as i64 as u32)
        }
        types::XID8 => Value::Xid8(parse_int(s, ty.oid, 0, u64::MAX as i128)? as u64),
        types::FLOAT4 => Value::Float4(parse_float(s, ty.oid)? as f32),
        types::FLOAT8 => Value::Float8(parse_float(s, ty.oid)?),
        types::NUMERIC => Value::Numeric(Numeric::parse(s).map_err(|e| match e {
            NumericParseError::Syntax => syntax(types::NUMERIC, s),
            NumericParseError::Overflow => PgError::error(
                sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                "value overflows numeric format",
            ),
        })?),
        types::TEXT | types::VARCHAR | types::BPCHAR | types::UNKNOWN | types::REFCURSOR => {
            Value::Text(s.to_string())
        }
        types::NAME => Value::Name(truncate_name(s).to_string()),
        types::CHAR => Value::Char(s.as_bytes().first().copied().unwrap_or(0)),
        types::BYTEA => Value::Bytea(parse_bytea(s)?),
        types::TIMESTAMPTZ => Value::TimestampTz(
            datetime::parse_timestamptz(s, now).map_err(|e| dt_error(e, ty.oid, s))?,
        ),
        types::TIMESTAMP => {
            Value::Timestamp(datetime::parse_timestamp(s, now).map_err(|e| dt_error(e, ty.oid, s))?)
        }
        types::DATE => {
            Value::Date(datetime::parse_date(s, now).map_err(|e| dt_error(e, ty.oid, s))?)
        }
        types::INET => Value::Inet(parse_inet(s)?),
        types::INTERVAL => {
            Value::Interval(crate::interval::parse(s).map_err(|e| interval_error(e, s))?)
        }
        types::TIME => {
            Value::Time(crate::timeofday::parse_time(s, now).map_err(|e| dt_error(e, ty.oid, s))?)
        }
        types::TIMETZ => Value::TimeTz(
            crate::timeofday::parse_timetz(s, now).map_err(|e| dt_error(e, ty.oid, s))?,
        ),
        types::VOID => Value::Void,
        // bit_in / varbit_in check the length against the typmod
        // themselves, with assignment rules (an error, not a cut).
        types::BIT | types::VARBIT => {
            let b = crate::bits::parse(s)?;
            return Ok(Value::Bits(Box::new(bits_typmod(b, ty, false)?)));
        }
        types::UUID => Value::Uuid(crate::uuid::parse(s).ok_or_else(|| syntax(types::UUID, s))?),
        types::MONEY => Value::Money(crate::money::parse(s)?),
        o if crate::geo::is_geo(o) => Value::Geo(Box::new(crate::geo::parse(o, s)?)),
        types::PG_LSN => Value::Lsn(crate::lsn::parse(s).ok_or_else(|| syntax(types::PG_LSN, s))?),
        // A reg* value sent as a number (a parameter); names need the
        // catalog, which tusk-sql's reg.rs reads.
        t if types::is_reg(t)
            && !s.trim().is_empty()
            && s.trim().bytes().all(|b| b.is_ascii_digit()) =>
        {
            Value::Oid(parse_int(s, types::OID, 0, u32::MAX as i128)? as u32)
        }
        types::JSON => {
            crate::json::validate_json(s)?;
            Value::Json(s.to_string())
        }
        types::JSONB => Value::Jsonb(Box::new(crate::json::parse_jsonb(s)?)),
        other if crate::range::is_range(other) => {
            let rt = crate::range::range_type(other).ok_or_else(|| syntax(other, s))?;
            Value::Range(Box::new(crate::range::parse(s, rt, now)?))
        }
        other if crate::range::is_multirange(other) => {
            let rt = crate::range::multirange_type(other).ok_or_else(|| syntax(other, s))?;
            Value::Multirange(Box::new(crate::range::parse_multi(s, rt, now)?))
        }
        types::JSONPATH => Value::Text(crate::jsonpath::normalize(s)?),
        types::TSVECTOR => Value::Text(crate::tsearch::normalize_tsvector(s)?),
        types::TSQUERY => Value::Text(crate::tsearch::normalize_tsquery(s)?.0),
        other if array::is_array(other) => {
            let elem = array::elem_type(other).unwrap_or(types::TEXT);
            return Ok(Value::Array(Box::new(array::parse(
                s,
                Ty::with_mod(elem, ty.typmod),
                now,
            )?)));
        }
        other => {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("type {} is not supported yet", types::sql_name(other)),
            ))
        }
    };
    apply_typmod(v, ty)
}

fn is_string(oid: Oid) -> bool {
    matches!(
        oid,
        types::TEXT
            | types::VARCHAR
            | types::BPCHAR
            | types::NAME
            | types::UNKNOWN
            | types::REFCURSOR
    )
}

fn is_numberish(oid: Oid) -> bool {
    types::numeric_rank(oid).is_some()
}

fn is_datetime(oid: Oid) -> bool {
    matches!(oid, types::TIMESTAMPTZ | types::TIMESTAMP | types::DATE)
}

/// Casts among interval, time, timetz and the timestamps (pg_cast).
fn is_time_cast(from: Oid, to: Oid) -> bool {
    use types::*;
    matches!(
        (from, to),
        (INTERVAL, TIME)
            | (TIME, INTERVAL)
            | (TIME, TIMETZ)
            | (TIMETZ, TIME)
            | (TIMESTAMP | TIMESTAMPTZ, TIME)
            | (TIMESTAMPTZ, TIMETZ)
    )
}
/// `int2vector` and `int2[]` (pg_type OIDs).
const INT2VECTOR: Oid = 22;
const INT2_ARRAY: Oid = 1005;

/// Whether an explicit cast from `from` to `to` exists.
pub fn castable(from: Oid, to: Oid) -> bool {
    // Between row types: field by field at run time (cast_fields); to
    // and from text: record_in / record_out.
    if crate::composite::is_row(from) && crate::composite::is_row(to) {
        return true;
    }
    if crate::composite::is_row(from) {
        return from == to || is_string(to);
    }
    if crate::composite::is_row(to) {
        return from == types::UNKNOWN || is_string(from);
    }
    if !types::is_supported(to) || to == types::UNKNOWN {
        return from == to;
    }
    if let (Some(f), Some(t)) = (array::elem_type(from), array::elem_type(to)) {
        return castable(f, t);
    }
    if array::is_array(from) && !is_string(to) {
        return false;
    }
    from == to
        || from == types::UNKNOWN
        || is_string(to)
        || (is_string(from) || from == types::CHAR)
            && (is_string(to) || to == types::CHAR || types::is_supported(to))
        || to == types::CHAR && is_string(from)
        || is_numberish(from) && is_numberish(to)
        || matches!(
            (from, to),
            (types::OID, types::INT4 | types::INT8)
                | (types::INT2 | types::INT4 | types::INT8, types::OID)
        )
        || matches!(
            (from, to),
            (types::BOOL, types::INT4) | (types::INT4, types::BOOL)
        )
        // The reg* aliases convert to and from oid and the integers by
        // value; their text forms need the catalog (tusk-sql's reg.rs).
        || types::is_reg(from)
            && (types::is_reg(to) || matches!(to, types::OID | types::INT4 | types::INT8))
        || types::is_reg(to) && matches!(from, types::OID | types::INT2 | types::INT4 | types::INT8)
        // int2vector (pg_index.indkey, stored as its text "1 2") to int2[].
        || from == INT2VECTOR && to == INT2_ARRAY
        || is_datetime(from) && is_datetime(to)
        || is_time_cast(from, to)
        || matches!(
            (from, to),
            (types::JSON, types::JSONB) | (types::JSONB, types::JSON)
        )
        || from == types::JSONB && (is_numberish(to) || to == types::BOOL)
        || is_scalar_cast(from, to)
        || crate::geo::cast_op(from, to).is_some()
        // A range to its multirange (the multirange constructor).
        || crate::range::range_type(from).is_some_and(|r| r.multi == to)
}

/// pg_cast's rows among money, bit, varbit and their neighbours.
fn is_scalar_cast(from: Oid, to: Oid) -> bool {
    use types::*;
    matches!(
        (from, to),
        (MONEY, NUMERIC)
            | (NUMERIC | INT4 | INT8, MONEY)
            | (BIT, VARBIT)
            | (VARBIT, BIT)
            | (INT4 | INT8, BIT)
            | (BIT, INT4 | INT8)
            | (XID8, XID)
    )
}

/// A bit string meeting its column's or cast's length: `explicit` casts
/// pad or cut, assignments and input refuse (crate::bits).
pub fn bits_typmod(
    b: crate::bits::BitString,
    ty: Ty,
    explicit: bool,
) -> Result<crate::bits::BitString, PgError> {
    if ty.typmod < 0 {
        return Ok(b);
    }
    let n = ty.typmod as usize;
    if ty.oid == types::BIT {
        crate::bits::to_bit(b, n, explicit)
    } else {
        crate::bits::to_varbit(b, n, explicit)
    }
}

/// The casts of [`is_scalar_cast`]; `None` when `v` is not one of them.
fn scalar_cast(v: &Value, to: Ty) -> Result<Option<Value>, PgError> {
    use crate::bits;
    let bit_len = || {
        if to.typmod >= 0 {
            to.typmod as usize
        } else {
            1
        }
    };
    Ok(Some(match (v, to.oid) {
        // xid(xid8): the low 32 bits, the epoch dropped.
        (Value::Xid8(x), types::XID) => Value::Oid(*x as u32),
        (Value::Money(m), types::NUMERIC) => {
            let sign = if *m < 0 { "-" } else { "" };
            let mag = m.unsigned_abs();
            let n = Numeric::parse(&format!("{sign}{}.{:02}", mag / 100, mag % 100))
                .map_err(|_| crate::money::out_of_range())?;
            Value::Numeric(n)
        }
        (Value::Numeric(n), types::MONEY) => {
            // numeric_cash: scale by 100, then numeric_int8's rounding.
            let c = n
                .mul(&Numeric::from_i64(100))?
                .to_i64_rounded()
                .ok_or_else(|| {
                    PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "bigint out of range")
                })?;
            Value::Money(c)
        }
        (Value::Int4(i), types::MONEY) => Value::Money(*i as i64 * 100),
        (Value::Int8(i), types::MONEY) => {
            Value::Money(i.checked_mul(100).ok_or_else(crate::money::out_of_range)?)
        }
        (Value::Int4(i), types::BIT) => {
            Value::Bits(Box::new(bits::from_int(*i as i64, 32, bit_len())))
        }
        (Value::Int8(i), types::BIT) => Value::Bits(Box::new(bits::from_int(*i, 64, bit_len()))),
        (Value::Bits(b), types::INT4) => Value::Int4(bits::to_int(b, 32)? as i32),
        (Value::Bits(b), types::INT8) => Value::Int8(bits::to_int(b, 64)?),
        (Value::Bits(b), types::BIT | types::VARBIT) => {
            Value::Bits(Box::new(bits_typmod((**b).clone(), to, true)?))
        }
        _ => return Ok(None),
    }))
}

/// Truncate (varchar) or pad (char) to a length modifier; round numerics
/// and timestamps to theirs. Explicit-cast semantics: silent truncation.
pub fn apply_typmod(v: Value, ty: Ty) -> Result<Value, PgError> {
    if ty.typmod < 0 {
        return Ok(v);
    }
    // Only an array looks up its element type (a scan of the type
    // table: 4 % of a COPY's CPU when asked for every value).
    let v = match v {
        Value::Array(a) => (Value::Array(a), array::elem_type(ty.oid)),
        v => (v, None),
    };
    let v = match v {
        (Value::Array(mut a), Some(elem)) => {
            let et = Ty::with_mod(elem, ty.typmod);
            for it in a.items.iter_mut() {
                *it = apply_typmod(std::mem::replace(it, Value::Null), et)?;
            }
            return Ok(Value::Array(a));
        }
        (v, _) => v,
    };
    Ok(match (v, ty.oid) {
        (Value::Text(s), types::VARCHAR) if ty.typmod >= 4 => {
            let n = (ty.typmod - 4) as usize;
            match s.char_indices().nth(n) {
                Some((i, _)) => Value::Text(s[..i].to_string()),
                None => Value::Text(s),
            }
        }
        (Value::Text(s), types::BPCHAR) if ty.typmod >= 4 => {
            let n = (ty.typmod - 4) as usize;
            let len = if s.is_ascii() {
                s.len()
            } else {
                s.chars().count()
            };
            if len >= n {
                // Cut in place (a value of exactly n characters, as a
                // COPY of char(n) data gives, is kept as it is): copying
                // char by char was 11 % of such a COPY's CPU.
                let mut s = s;
                if len > n {
                    let cut = if s.is_ascii() {
                        n
                    } else {
                        s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
                    };
                    s.truncate(cut);
                }
                Value::Text(s)
            } else {
                // Padding pushed as strings, not char by char: char(84)
                // columns (pgbench's filler) padded that way cost 8 % of
                // a COPY's CPU.
                const SPACES: &str =
                    "                                                                ";
                let mut s = s;
                let mut k = n - len;
                s.reserve(k);
                while k > 0 {
                    let c = k.min(SPACES.len());
                    s.push_str(&SPACES[..c]);
                    k -= c;
                }
                Value::Text(s)
            }
        }
        (Value::Numeric(n), types::NUMERIC) => Value::Numeric(n.apply_typmod(ty.typmod)?),
        (Value::TimestampTz(t), types::TIMESTAMPTZ) => Value::TimestampTz(round_ts(t, ty.typmod)),
        (Value::Timestamp(t), types::TIMESTAMP) => Value::Timestamp(round_ts(t, ty.typmod)),
        (Value::Time(t), types::TIME) => Value::Time(crate::timeofday::round_time(t, ty.typmod)),
        (Value::TimeTz(mut t), types::TIMETZ) => {
            t.micros = crate::timeofday::round_time(t.micros, ty.typmod);
            Value::TimeTz(t)
        }
        (Value::Interval(iv), types::INTERVAL) => {
            Value::Interval(crate::interval::round_to(iv, ty.typmod & 0xFFFF))
        }
        (Value::Bits(b), types::BIT | types::VARBIT) => {
            Value::Bits(Box::new(bits_typmod(*b, ty, true)?))
        }
        (v, _) => v,
    })
}

fn round_ts(t: i64, precision: i32) -> i64 {
    if !(0..6).contains(&precision) || t == i64::MIN || t == i64::MAX {
        return t;
    }
    let unit = 10i64.pow((6 - precision) as u32);
    let q = t.div_euclid(unit);
    let r = t.rem_euclid(unit);
    (q + (r * 2 >= unit) as i64) * unit
}

fn int_to(v: i128, to: Oid) -> Result<Value, PgError> {
    Ok(match to {
        types::INT2 => Value::Int2(i16::try_from(v).map_err(|_| int_out_of_range(to))?),
        types::INT4 => Value::Int4(i32::try_from(v).map_err(|_| int_out_of_range(to))?),
        types::INT8 => Value::Int8(i64::try_from(v).map_err(|_| int_out_of_range(to))?),
        types::FLOAT4 => Value::Float4(v as f32),
        types::FLOAT8 => Value::Float8(v as f64),
        types::NUMERIC => Value::Numeric(Numeric::from_i64(v as i64)),
        types::OID => {
            if !(i32::MIN as i128..=u32::MAX as i128).contains(&v) {
                return Err(int_out_of_range(types::OID));
            }
            Value::Oid(v as i64 as u32)
        }
        types::BOOL => Value::Bool(v != 0),
        _ => return Err(cannot_cast(types::INT8, to)),
    })
}

fn float_to(f: f64, from: Oid, to: Oid) -> Result<Value, PgError> {
    Ok(match to {
        types::INT2 | types::INT4 | types::INT8 => {
            let r = f.round_ties_even();
            if !r.is_finite() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r)
            {
                return Err(int_out_of_range(to));
            }
            int_to(r as i128, to)?
        }
        types::FLOAT8 => Value::Float8(f),
        types::FLOAT4 => {
            let g = f as f32;
            if g.is_infinite() && f.is_finite() {
                return Err(float_overflow());
            }
            if g == 0.0 && f != 0.0 {
                return Err(float_underflow());
            }
            Value::Float4(g)
        }
        types::NUMERIC => {
            let sig = if from == types::FLOAT4 { 6 } else { 15 };
            Value::Numeric(Numeric::from_f64(f, sig)?)
        }
        _ => return Err(cannot_cast(from, to)),
    })
}

fn numeric_to(n: &Numeric, to: Oid) -> Result<Value, PgError> {
    match to {
        types::INT2 | types::INT4 | types::INT8 => {
            if n.is_nan() {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "cannot convert NaN to integer",
                ));
            }
            if !n.is_finite() {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "cannot convert infinity to integer",
                ));
            }
            let v = n.to_i64_rounded().ok_or_else(|| int_out_of_range(to))?;
            int_to(v as i128, to)
        }
        types::NUMERIC => Ok(Value::Numeric(n.clone())),
        types::FLOAT4 | types::FLOAT8 => float_to(n.to_f64(), types::FLOAT8, to),
        _ => Err(cannot_cast(types::NUMERIC, to)),
    }
}

pub fn cannot_cast(from: Oid, to: Oid) -> PgError {
    PgError::error(
        sqlstate::CANNOT_COERCE,
        format!(
            "cannot cast type {} to {}",
            types::sql_name(from),
            types::sql_name(to)
        ),
    )
}

/// Convert `v` (of SQL type `from`) to `to`, explicit-cast semantics.
pub fn cast(v: Value, from: Oid, to: Ty, now: i64) -> Result<Value, PgError> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    if from == to.oid && to.typmod < 0 {
        return Ok(v);
    }
    // The integer widenings the binder inserts wherever integer types
    // meet: exact, so answered before the type-table checks below.
    if to.typmod < 0 {
        match (&v, from, to.oid) {
            (Value::Int4(i), types::INT4, types::INT8) => return Ok(Value::Int8(*i as i64)),
            (Value::Int2(i), types::INT2, types::INT8) => return Ok(Value::Int8(*i as i64)),
            (Value::Int2(i), types::INT2, types::INT4) => return Ok(Value::Int4(*i as i32)),
            _ => {}
        }
    }
    if !castable(from, to.oid) {
        return Err(cannot_cast(from, to.oid));
    }
    if crate::composite::is_row(to.oid) && crate::composite::is_row(from) {
        return crate::composite::cast_fields(v, from, to, &mut |v, f, t| cast(v, f, t, now));
    }
    // Array to array: each element (array_map with the element cast).
    if let (Value::Array(a), Some(fe), Some(te)) =
        (&v, array::elem_type(from), array::elem_type(to.oid))
    {
        let mut a = a.clone();
        let et = Ty::with_mod(te, to.typmod);
        for it in a.items.iter_mut() {
            *it = cast(std::mem::replace(it, Value::Null), fe, et, now)?;
        }
        a.elem = te;
        return Ok(Value::Array(a));
    }
    // To a string type: the output function (booleans spell themselves out).
    if is_string(to.oid) || to.oid == types::CHAR {
        let s = match (&v, from) {
            (Value::Bool(b), _) => (if *b { "true" } else { "false" }).to_string(),
            (Value::Text(s), types::BPCHAR) => s.trim_end_matches(' ').to_string(),
            _ => to_text(&v).unwrap_or_default(),
        };
        let out = match to.oid {
            types::NAME => Value::Name(truncate_name(&s).to_string()),
            types::CHAR => Value::Char(s.as_bytes().first().copied().unwrap_or(0)),
            _ => Value::Text(s),
        };
        return apply_typmod(out, to);
    }
    if let Some(op) = crate::geo::cast_op(from, to.oid) {
        return crate::geo::eval(op, &[v]);
    }
    if from == INT2VECTOR && to.oid == INT2_ARRAY {
        let mut items = Vec::new();
        for x in to_text(&v).unwrap_or_default().split_whitespace() {
            items.push(input(x, Ty::new(types::INT2), now)?);
        }
        // int2vector counts from 0, and so does the array it becomes.
        let mut a = array::Array::from_items(types::INT2, items);
        for d in a.dims.iter_mut() {
            d.1 = 0;
        }
        return Ok(Value::Array(Box::new(a)));
    }
    if let (Value::Range(r), Some(rt)) = (&v, crate::range::multirange_type(to.oid)) {
        let m = crate::range::canonical(rt.multi, vec![(**r).clone()])?;
        return Ok(Value::Multirange(Box::new(m)));
    }
    // json <-> jsonb and jsonb's scalar casts (crate::json).
    if let Some(out) = crate::json::cast(&v, to.oid)? {
        return apply_typmod(out, to);
    }
    // From a string type: the input function.
    if let Value::Text(s) | Value::Name(s) = &v {
        return input(s, to, now);
    }
    if let Value::Char(c) = v {
        return input(&to_text(&Value::Char(c)).unwrap_or_default(), to, now);
    }
    // A reg* value's name is shown only on output; by value it is an oid.
    let v = match v {
        Value::Reg(o, _) => Value::Oid(o),
        v => v,
    };
    if let Some(out) = scalar_cast(&v, to)? {
        return Ok(out);
    }
    let out = match (v, to.oid) {
        (Value::Oid(o), t) if types::is_reg(t) || t == types::OID => Value::Oid(o),
        (Value::Int2(i), t) if types::is_reg(t) => int_to(i as i128, types::OID)?,
        (Value::Int4(i), t) if types::is_reg(t) => int_to(i as i128, types::OID)?,
        (Value::Int8(i), t) if types::is_reg(t) => int_to(i as i128, types::OID)?,
        (Value::Int2(i), t) => int_to(i as i128, t)?,
        (Value::Int4(i), types::OID) => Value::Oid(i as u32),
        (Value::Int4(i), t) => int_to(i as i128, t)?,
        (Value::Int8(i), t) => int_to(i as i128, t)?,
        (Value::Oid(o), types::INT4) => Value::Int4(o as i32),
        (Value::Oid(o), types::INT8) => Value::Int8(o as i64),
        (Value::Float4(f), t) => float_to(f as f64, types::FLOAT4, t)?,
        (Value::Float8(f), t) => float_to(f, types::FLOAT8, t)?,
        (Value::Numeric(n), t) => numeric_to(&n, t)?,
        (Value::Bool(b), types::INT4) => Value::Int4(b as i32),
        // Between timestamptz and the local types: the session zone.
        (Value::TimestampTz(t), types::TIMESTAMP) => Value::Timestamp(datetime::tstz_to_local(t)),
        (Value::Timestamp(t), types::TIMESTAMPTZ) => Value::TimestampTz(datetime::local_to_tstz(t)),
        (Value::TimestampTz(t), types::DATE) => {
            Value::Date(datetime::timestamp_to_date(datetime::tstz_to_local(t)))
        }
        (Value::Timestamp(t), types::DATE) => Value::Date(datetime::timestamp_to_date(t)),
        (Value::Date(d), types::TIMESTAMP | types::TIMESTAMPTZ) => {
            let t = datetime::date_to_timestamp(d).ok_or_else(|| {
                PgError::error(
                    sqlstate::DATETIME_FIELD_OVERFLOW,
                    "date out of range for timestamp",
                )
            })?;
            if to.oid == types::TIMESTAMP {
                Value::Timestamp(t)
            } else {
                Value::TimestampTz(datetime::local_to_tstz(t))
            }
        }
        (Value::Interval(iv), types::TIME) => {
            Value::Time(iv.micros.rem_euclid(crate::timeofday::USECS_PER_DAY))
        }
        (Value::Time(t), types::INTERVAL) => {
            Value::Interval(crate::interval::Interval::new(0, 0, t))
        }
        (Value::Time(t), types::TIMETZ) => Value::TimeTz(crate::timeofday::TimeTz {
            micros: t,
            zone: -crate::timeofday::session_offset(now),
        }),
        (Value::TimeTz(t), types::TIME) => Value::Time(t.micros),
        (Value::Timestamp(t) | Value::TimestampTz(t), types::TIME) => {
            if t == datetime::TS_NOBEGIN || t == datetime::TS_NOEND {
                return Ok(Value::Null);
            }
            let t = if from == types::TIMESTAMPTZ {
                datetime::tstz_to_local(t)
            } else {
                t
            };
            Value::Time(t.rem_euclid(crate::timeofday::USECS_PER_DAY))
        }
        (Value::TimestampTz(t), types::TIMETZ) => {
            if t == datetime::TS_NOBEGIN || t == datetime::TS_NOEND {
                return Err(PgError::error(
                    sqlstate::DATETIME_FIELD_OVERFLOW,
                    "timestamp out of range",
                ));
            }
            let z = crate::tz::session_zone();
            let off = crate::tz::local_type_at(&z, t).off;
            let local = datetime::tstz_to_local_in(t, &z);
            // TimeTz keeps its zone as PostgreSQL does: seconds west.
            Value::TimeTz(crate::timeofday::TimeTz {
                micros: local.rem_euclid(crate::timeofday::USECS_PER_DAY),
                zone: -off as i32,
            })
        }
        (v, _) if from == to.oid => v,
        _ => return Err(cannot_cast(from, to.oid)),
    };
    apply_typmod(out, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(v: Value, from: Oid, to: Ty) -> Result<Value, PgError> {
        cast(v, from, to, 0)
    }

    /// char(n): padded when shorter, cut (by characters) when longer,
    /// kept when exactly n.
    #[test]
    fn bpchar_typmod() {
        let t = |s: &str| Value::Text(s.to_string());
        let ch = |n: i32| Ty::with_mod(types::BPCHAR, n + 4);
        assert_eq!(apply_typmod(t("ab"), ch(4)).unwrap(), t("ab  "));
        assert_eq!(apply_typmod(t("abcd"), ch(4)).unwrap(), t("abcd"));
        assert_eq!(apply_typmod(t("abcdef"), ch(4)).unwrap(), t("abcd"));
        assert_eq!(apply_typmod(t("ñéüöxy"), ch(4)).unwrap(), t("ñéüö"));
        assert_eq!(apply_typmod(t("ñé"), ch(3)).unwrap(), t("ñé "));
    }

    #[test]
    fn inputs() {
        assert_eq!(
            input(" 42 ", Ty::new(types::INT4), 0).unwrap(),
            Value::Int4(42)
        );
        assert_eq!(
            input("-32768", Ty::new(types::INT2), 0).unwrap(),
            Value::Int2(-32768)
        );
        let e = input("32768", Ty::new(types::INT2), 0).unwrap_err();
        assert_eq!(
            e.message,
            "value \"32768\" is out of range for type smallint"
        );
        assert_eq!(
            input("4294967295", Ty::new(types::OID), 0).unwrap(),
            Value::Oid(u32::MAX)
        );
        assert_eq!(
            input("1e400", Ty::new(types::FLOAT8), 0).unwrap_err().code,
            "22003"
        );
        assert_eq!(
            input("-Infinity", Ty::new(types::FLOAT8), 0).unwrap(),
            Value::Float8(f64::NEG_INFINITY)
        );
        assert_eq!(
            input("of", Ty::new(types::BOOL), 0).unwrap(),
            Value::Bool(false)
        );
        assert!(input("o", Ty::new(types::BOOL), 0).is_err());
        assert_eq!(
            input("a\\\\b\\001", Ty::new(types::BYTEA), 0).unwrap(),
            Value::Bytea(vec![b'a', b'\\', b'b', 1])
        );
        assert_eq!(
            input("x", Ty::new(types::TIMESTAMPTZ), 0).unwrap_err().code,
            "22007"
        );
        let long = "x".repeat(70);
        assert_eq!(
            input(&long, Ty::new(types::NAME), 0).unwrap(),
            Value::Name("x".repeat(63))
        );
    }

    #[test]
    fn casts() {
        assert_eq!(
            c(Value::Bool(true), types::BOOL, Ty::new(types::TEXT)).unwrap(),
            Value::Text("true".into())
        );
        assert_eq!(
            c(Value::Float8(2.5), types::FLOAT8, Ty::new(types::INT4)).unwrap(),
            Value::Int4(2)
        );
        assert_eq!(
            c(Value::Float8(3.5), types::FLOAT8, Ty::new(types::INT4)).unwrap(),
            Value::Int4(4)
        );
        assert_eq!(
            c(
                Value::Numeric(Numeric::parse("2.5").unwrap()),
                types::NUMERIC,
                Ty::new(types::INT4)
            )
            .unwrap(),
            Value::Int4(3)
        );
        assert_eq!(
            c(Value::Int8(1 << 40), types::INT8, Ty::new(types::INT4))
                .unwrap_err()
                .message,
            "integer out of range"
        );
        assert_eq!(
            c(Value::Float8(1e300), types::FLOAT8, Ty::new(types::FLOAT4))
                .unwrap_err()
                .code,
            "22003"
        );
        assert_eq!(
            c(
                Value::Text("abcd".into()),
                types::TEXT,
                Ty::with_mod(types::VARCHAR, 7)
            )
            .unwrap(),
            Value::Text("abc".into())
        );
        assert_eq!(
            c(
                Value::Text("ab".into()),
                types::TEXT,
                Ty::with_mod(types::BPCHAR, 8)
            )
            .unwrap(),
            Value::Text("ab  ".into())
        );
        assert_eq!(
            c(Value::Int4(-1), types::INT4, Ty::new(types::OID)).unwrap(),
            Value::Oid(u32::MAX)
        );
        assert_eq!(
            c(Value::Int4(5), types::INT4, Ty::new(types::TIMESTAMPTZ))
                .unwrap_err()
                .code,
            "42846"
        );
        assert_eq!(
            c(Value::Null, types::INT4, Ty::new(types::TEXT)).unwrap(),
            Value::Null
        );
        assert_eq!(
            c(Value::Float8(0.1), types::FLOAT8, Ty::new(types::NUMERIC)).unwrap(),
            Value::Numeric(Numeric::parse("0.1").unwrap())
        );
        assert_eq!(round_ts(1_500_000, 0), 2_000_000);
    }
}
