//! Runtime values and their wire encodings: PostgreSQL's text output
//! functions, binary send/receive formats, and parameter decoding.
//!
//! A [`Value`] does not carry its full SQL type: the statement's
//! RowDescription does. Several SQL types therefore share a variant
//! (`text`, `varchar` and `char(n)` are all [`Value::Text`]), which is
//! exactly when PostgreSQL's encodings of them coincide too.

use std::cmp::Ordering;
use std::net::IpAddr;

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::cast;
use crate::datetime;
use crate::numeric::Numeric;
use crate::types::{self, Oid, Ty};

/// One SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int2(i16),
    Int4(i32),
    Int8(i64),
    Float4(f32),
    Float8(f64),
    Numeric(Numeric),
    /// `text`, `varchar`, `bpchar` and `unknown`.
    Text(String),
    Name(String),
    /// The one-byte `"char"` type.
    Char(u8),
    Bytea(Vec<u8>),
    Oid(u32),
    /// Microseconds since 2000-01-01 00:00 UTC.
    TimestampTz(i64),
    /// Microseconds since 2000-01-01 00:00, no zone.
    Timestamp(i64),
    /// Days since 2000-01-01.
    Date(i32),
    Inet(IpAddr),
    /// A WAL position (`pg_lsn`), shown as `X/Y` in hex.
    Lsn(u64),
    /// A 64-bit transaction id (`xid8`), shown as its decimal number.
    Xid8(u64),
    /// An anonymous composite (`record`): each field's type and value.
    Record(Vec<(crate::types::Oid, Value)>),
    /// The result of a function returning `void`: an empty string in text,
    /// zero bytes in binary.
    Void,
    /// An array of any element type (crate::array).
    Array(Box<crate::array::Array>),
    /// `interval` (crate::interval).
    Interval(crate::interval::Interval),
    /// `time`: microseconds since midnight.
    Time(i64),
    /// `timetz`: time of day and zone (crate::timeofday).
    TimeTz(crate::timeofday::TimeTz),
    /// A reg* alias value (regclass, regtype, ...) on its way to the
    /// client: the oid (its binary form and its order) with the name its
    /// output function gave (its text form). tusk-sql's reg.rs makes it
    /// where the catalog can be read; everywhere else a reg* value is an
    /// [`Value::Oid`].
    Reg(u32, String),
    /// `json`: the validated text exactly as written (crate::json).
    Json(String),
    /// `jsonb`: the normalised tree (crate::json).
    Jsonb(Box<crate::json::Jsonb>),
    /// A value of a user-defined enum type (crate::usertype).
    Enum(Box<crate::usertype::EnumValue>),
    /// `uuid`: its 16 bytes (crate::uuid).
    Uuid([u8; 16]),
    /// `money`: cents (crate::money).
    Money(i64),
    /// `bit(n)` and `varbit(n)` (crate::bits).
    Bits(Box<crate::bits::BitString>),
    /// point, lseg, line, box, path, polygon, circle (crate::geo).
    Geo(Box<crate::geo::Geo>),
    /// A range of any range type (crate::range).
    Range(Box<crate::range::Range>),
    /// A multirange of any multirange type (crate::range).
    Multirange(Box<crate::range::Multirange>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// The session's `extra_float_digits` (a backend serves one session, so a
/// process-wide value is the session's; the backend sets it on every
/// change, as it does IntervalStyle). Above zero floats print
/// shortest-exact; otherwise with `%.{15|6}+n g` as PostgreSQL's
/// float8out_internal / float4out do.
static EXTRA_FLOAT_DIGITS: std::sync::atomic::AtomicI8 = std::sync::atomic::AtomicI8::new(1);

/// Set `extra_float_digits` from the setting's text (already validated).
/// Called by the backend process that owns the session.
pub fn set_extra_float_digits(text: &str) {
    if let Ok(n) = text.trim().parse::<i8>() {
        EXTRA_FLOAT_DIGITS.store(n.clamp(-15, 3), std::sync::atomic::Ordering::Relaxed);
    }
}

/// C's `%.{prec}g`: `prec` significant digits, trailing zeros dropped,
/// exponent form when the exponent is below -4 or at least `prec`.
fn format_g(f: f64, prec: usize) -> String {
    let prec = prec.max(1);
    let sci = format!("{:.*e}", prec - 1, f);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mant = if mant.contains('.') {
            mant.trim_end_matches('0').trim_end_matches('.')
        } else {
            mant
        };
        format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        let s = format!("{:.*}", decimals, f);
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// PostgreSQL's shortest-exact float output (as with a positive
/// extra_float_digits): fixed notation for decimal exponents in [-4, `max_fixed_exp`),
/// else `d.ddde+XX`.
fn format_float(sci: &str, neg_zero: bool, max_fixed_exp: i32) -> String {
    // `sci` is Rust's shortest round-trip `{:e}` form, e.g. "-1.25e-5".
    let (neg, body) = match sci.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, sci),
    };
    let (mant, exp) = body.split_once('e').unwrap_or((body, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = if digits.is_empty() {
        "0".to_string()
    } else {
        digits
    };
    if digits == "0" {
        return if neg_zero { "-0".into() } else { "0".into() };
    }
    let mut out = String::with_capacity(digits.len() + 8);
    if neg {
        out.push('-');
    }
    let n = digits.len() as i32;
    if (-4..max_fixed_exp).contains(&exp) {
        if exp >= 0 {
            if n > exp + 1 {
                out.push_str(&digits[..(exp + 1) as usize]);
                out.push('.');
                out.push_str(&digits[(exp + 1) as usize..]);
            } else {
                out.push_str(&digits);
                for _ in n..exp + 1 {
                    out.push('0');
                }
            }
        } else {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    }
    out
}

pub fn format_float8(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let extra = EXTRA_FLOAT_DIGITS.load(std::sync::atomic::Ordering::Relaxed);
    if extra <= 0 {
        return format_g(f, (15 + extra as i32).max(1) as usize);
    }
    format_float(&format!("{f:e}"), f == 0.0 && f.is_sign_negative(), 15)
}

pub fn format_float4(f: f32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let extra = EXTRA_FLOAT_DIGITS.load(std::sync::atomic::Ordering::Relaxed);
    if extra <= 0 {
        return format_g(f as f64, (6 + extra as i32).max(1) as usize);
    }
    format_float(&format!("{f:e}"), f == 0.0 && f.is_sign_negative(), 6)
}

fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("\\x");
    for &b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

/// The text form of a value, as PostgreSQL's output function writes it
/// (a String; [`encode_text`] is the wire form).
pub fn to_text(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => (if *b { "t" } else { "f" }).into(),
        Value::Int2(i) => i.to_string(),
        Value::Int4(i) => i.to_string(),
        Value::Int8(i) => i.to_string(),
        Value::Float4(f) => format_float4(*f),
        Value::Float8(f) => format_float8(*f),
        Value::Numeric(n) => n.to_text(),
        Value::Text(s) | Value::Name(s) => s.clone(),
        Value::Char(c) => match *c {
            0 => String::new(),
            c if c < 0x80 => (c as char).to_string(),
            c => format!("\\{:03o}", c),
        },
        Value::Bytea(b) => hex(b),
        Value::Oid(o) => o.to_string(),
        Value::TimestampTz(t) => datetime::format_timestamp(*t, true),
        Value::Timestamp(t) => datetime::format_timestamp(*t, false),
        Value::Date(d) => datetime::format_date(*d),
        Value::Inet(a) => a.to_string(),
        Value::Lsn(l) => format!("{:X}/{:X}", l >> 32, l & 0xFFFF_FFFF),
        Value::Xid8(x) => x.to_string(),
        Value::Record(fields) => record_text(fields),
        Value::Void => String::new(),
        Value::Array(a) => crate::array::to_text(a),
        Value::Interval(iv) => crate::interval::format(iv),
        Value::Time(t) => crate::timeofday::format_time(*t),
        Value::TimeTz(t) => crate::timeofday::format_timetz(t),
        Value::Reg(_, name) => name.clone(),
        Value::Json(s) => s.clone(),
        Value::Jsonb(j) => crate::json::to_text(j),
        Value::Enum(e) => e.label.clone(),
        Value::Uuid(u) => crate::uuid::format(u),
        Value::Money(m) => crate::money::format(*m),
        Value::Bits(b) => crate::bits::format(b),
        Value::Geo(g) => crate::geo::format(g),
        Value::Range(r) => crate::range::format(r),
        Value::Multirange(m) => crate::range::format_multi(m),
    })
}

/// Text format on the wire (DataRow); None is SQL NULL.
pub fn encode_text(v: &Value) -> Option<Vec<u8>> {
    to_text(v).map(String::into_bytes)
}

/// Binary format on the wire (PostgreSQL's `*send` functions); None is
/// SQL NULL.
pub fn encode_binary(v: &Value) -> Option<Vec<u8>> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => vec![*b as u8],
        Value::Int2(i) => i.to_be_bytes().to_vec(),
        Value::Int4(i) => i.to_be_bytes().to_vec(),
        Value::Int8(i) => i.to_be_bytes().to_vec(),
        Value::Float4(f) => f.to_bits().to_be_bytes().to_vec(),
        Value::Float8(f) => f.to_bits().to_be_bytes().to_vec(),
        Value::Numeric(n) => n.to_binary(),
        Value::Text(s) | Value::Name(s) => s.as_bytes().to_vec(),
        Value::Char(c) => vec![*c],
        Value::Bytea(b) => b.clone(),
        Value::Oid(o) => o.to_be_bytes().to_vec(),
        Value::TimestampTz(t) | Value::Timestamp(t) => t.to_be_bytes().to_vec(),
        Value::Date(d) => d.to_be_bytes().to_vec(),
        Value::Inet(IpAddr::V4(a)) => {
            let mut out = vec![2, 32, 0, 4];
            out.extend_from_slice(&a.octets());
            out
        }
        Value::Inet(IpAddr::V6(a)) => {
            // PGSQL_AF_INET6 is AF_INET + 1, whatever the platform says.
            let mut out = vec![3, 128, 0, 16];
            out.extend_from_slice(&a.octets());
            out
        }
        Value::Lsn(l) | Value::Xid8(l) => l.to_be_bytes().to_vec(),
        Value::Record(fields) => {
            // record_send: field count, then per field its type OID, length
            // (-1 for NULL) and binary value.
            let mut out = (fields.len() as i32).to_be_bytes().to_vec();
            for (oid, v) in fields {
                out.extend_from_slice(&oid.to_be_bytes());
                match encode_binary(v) {
                    Some(b) => {
                        out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                        out.extend_from_slice(&b);
                    }
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                }
            }
            out
        }
        Value::Void => Vec::new(),
        Value::Array(a) => crate::array::send(a),
        Value::Interval(iv) => crate::interval::send(iv),
        Value::Time(t) => t.to_be_bytes().to_vec(),
        Value::TimeTz(t) => {
            let mut out = t.micros.to_be_bytes().to_vec();
            out.extend_from_slice(&t.zone.to_be_bytes());
            out
        }
        Value::Reg(o, _) => o.to_be_bytes().to_vec(),
        Value::Json(s) => s.as_bytes().to_vec(),
        Value::Jsonb(j) => crate::json::send_jsonb(j),
        // enum_send: the label's text.
        Value::Enum(e) => e.label.as_bytes().to_vec(),
        Value::Uuid(u) => u.to_vec(),
        Value::Money(m) => m.to_be_bytes().to_vec(),
        Value::Bits(b) => crate::bits::send(b),
        Value::Geo(g) => crate::geo::send(g),
        Value::Range(r) => crate::range::send(r),
        Value::Multirange(m) => crate::range::send_multi(m),
    })
}

/// record_out: `(a,b,)`; a field is double-quoted when empty or when it
/// holds a quote, backslash, parenthesis, comma or white space; NULL is
/// nothing at all.
fn record_text(fields: &[(crate::types::Oid, Value)]) -> String {
    let mut out = String::from("(");
    for (i, (_, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let Some(t) = to_text(v) else { continue };
        let quote = t.is_empty()
            || t.chars()
                .any(|c| matches!(c, '"' | '\\' | '(' | ')' | ',') || c.is_whitespace());
        if quote {
            out.push('"');
            for c in t.chars() {
                if c == '"' || c == '\\' {
                    out.push(c);
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push_str(&t);
        }
    }
    out.push(')');
    out
}

fn bad_binary(n: Option<usize>) -> PgError {
    let msg = match n {
        Some(n) => format!("incorrect binary data format in bind parameter {n}"),
        None => "incorrect binary data format in bind parameter".to_string(),
    };
    PgError::error(sqlstate::INVALID_BINARY_REPRESENTATION, msg)
}

fn utf8(bytes: &[u8]) -> Result<&str, PgError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let bad: Vec<String> = bytes[at..]
            .iter()
            .take(e.error_len().unwrap_or(1).max(1))
            .map(|b| format!("0x{b:02x}"))
            .collect();
        PgError::error(
            tusk_common::sqlstate::CHARACTER_NOT_IN_REPERTOIRE,
            format!(
                "invalid byte sequence for encoding \"UTF8\": {}",
                bad.join(" ")
            ),
        )
    })
}

/// Decode a Bind parameter of type `type_oid` sent in `format` (0 text,
/// 1 binary). OID 0 and `unknown` are taken as text. The 22P03 message
/// omits the parameter number; [`decode_bind_param`] includes it.
pub fn decode_param(type_oid: Oid, format: i16, bytes: &[u8]) -> Result<Value, PgError> {
    decode(None, type_oid, format, bytes)
}

/// [`decode_param`] for the `n`-th (1-based) parameter of a Bind, so that
/// a malformed binary value is reported as PostgreSQL does:
/// `incorrect binary data format in bind parameter N`.
pub fn decode_bind_param(
    n: usize,
    type_oid: Oid,
    format: i16,
    bytes: &[u8],
) -> Result<Value, PgError> {
    decode(Some(n), type_oid, format, bytes)
}

fn decode(n: Option<usize>, type_oid: Oid, format: i16, bytes: &[u8]) -> Result<Value, PgError> {
    let oid = if type_oid == 0 {
        types::UNKNOWN
    } else {
        type_oid
    };
    match format {
        0 => {
            let s = utf8(bytes)?;
            if oid == types::UNKNOWN || !types::is_supported(oid) {
                return Ok(Value::Text(s.to_string()));
            }
            // The clock is read only for types whose input may say 'now'
            // (or need today's date for a zone's offset): reading it for
            // every value was 7 % of a COPY's CPU.
            let now = match oid {
                types::BOOL
                | types::INT2
                | types::INT4
                | types::INT8
                | types::OID
                | types::FLOAT4
                | types::FLOAT8
                | types::NUMERIC
                | types::TEXT
                | types::VARCHAR
                | types::BPCHAR
                | types::NAME
                | types::BYTEA
                | types::UUID => 0,
                _ => datetime::clock_now(),
            };
            cast::input(s, Ty::new(oid), now)
        }
        1 => decode_binary(n, oid, bytes),
        f => Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("unsupported format code: {f}"),
        )),
    }
}

/// A fixed-size binary value, checked as PostgreSQL's receive functions
/// and their caller check it: too few bytes fail inside the receive
/// function (`pq_getmsgint` and friends: 08P01 "insufficient data left in
/// message"), bytes left over fail afterwards (22P03).
fn fixed<const N: usize>(n: Option<usize>, b: &[u8]) -> Result<[u8; N], PgError> {
    if b.len() < N {
        return Err(PgError::error(
            sqlstate::PROTOCOL_VIOLATION,
            "insufficient data left in message",
        ));
    }
    b.try_into().map_err(|_| bad_binary(n))
}

fn decode_binary(n: Option<usize>, oid: Oid, b: &[u8]) -> Result<Value, PgError> {
    Ok(match oid {
        types::BOOL => Value::Bool(fixed::<1>(n, b)?[0] != 0),
        types::INT2 => Value::Int2(i16::from_be_bytes(fixed(n, b)?)),
        types::INT4 => Value::Int4(i32::from_be_bytes(fixed(n, b)?)),
        types::INT8 => Value::Int8(i64::from_be_bytes(fixed(n, b)?)),
        types::OID | types::XID => Value::Oid(u32::from_be_bytes(fixed(n, b)?)),
        types::XID8 => Value::Xid8(u64::from_be_bytes(fixed(n, b)?)),
        types::FLOAT4 => Value::Float4(f32::from_bits(u32::from_be_bytes(fixed(n, b)?))),
        types::FLOAT8 => Value::Float8(f64::from_bits(u64::from_be_bytes(fixed(n, b)?))),
        types::NUMERIC => Value::Numeric(Numeric::from_binary(b).ok_or_else(|| bad_binary(n))?),
        types::TEXT | types::VARCHAR | types::BPCHAR | types::UNKNOWN | types::REFCURSOR => {
            Value::Text(utf8(b)?.to_string())
        }
        types::NAME => {
            let s = utf8(b)?;
            Value::Name(cast::truncate_name(s).to_string())
        }
        types::CHAR => Value::Char(fixed::<1>(n, b)?[0]),
        types::BYTEA => Value::Bytea(b.to_vec()),
        types::TIMESTAMPTZ => Value::TimestampTz(i64::from_be_bytes(fixed(n, b)?)),
        types::TIMESTAMP => Value::Timestamp(i64::from_be_bytes(fixed(n, b)?)),
        types::DATE => Value::Date(i32::from_be_bytes(fixed(n, b)?)),
        types::INTERVAL => Value::Interval(crate::interval::recv(&fixed(n, b)?)),
        types::TIME => {
            // time_recv refuses a value outside 00:00 ..= 24:00.
            let t = i64::from_be_bytes(fixed(n, b)?);
            if !(0..=crate::timeofday::USECS_PER_DAY).contains(&t) {
                return Err(PgError::error(
                    sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                    "time out of range",
                ));
            }
            Value::Time(t)
        }
        types::TIMETZ => {
            let a: [u8; 12] = fixed(n, b)?;
            let micros = i64::from_be_bytes(a[..8].try_into().unwrap_or_default());
            let zone = i32::from_be_bytes(a[8..].try_into().unwrap_or_default());
            if !(0..=crate::timeofday::USECS_PER_DAY).contains(&micros) {
                return Err(PgError::error(
                    sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                    "time out of range",
                ));
            }
            if !(-15 * 3600 - 59 * 60..=15 * 3600 + 59 * 60).contains(&zone) {
                return Err(PgError::error(
                    sqlstate::INVALID_TIME_ZONE_DISPLACEMENT_VALUE,
                    "time zone displacement out of range",
                ));
            }
            Value::TimeTz(crate::timeofday::TimeTz { micros, zone })
        }
        types::INET => {
            if b.len() < 4 || b[2] > 1 {
                return Err(bad_binary(n));
            }
            let (family, bits, len) = (b[0], b[1], b[3] as usize);
            if b.len() != 4 + len {
                return Err(bad_binary(n));
            }
            match (family, len) {
                (2, 4) if bits <= 32 => Value::Inet(IpAddr::from(
                    <[u8; 4]>::try_from(&b[4..]).map_err(|_| bad_binary(n))?,
                )),
                (3, 16) if bits <= 128 => Value::Inet(IpAddr::from(
                    <[u8; 16]>::try_from(&b[4..]).map_err(|_| bad_binary(n))?,
                )),
                _ => return Err(bad_binary(n)),
            }
        }
        types::VOID => Value::Void,
        types::UUID => Value::Uuid(fixed(n, b)?),
        types::MONEY => Value::Money(i64::from_be_bytes(fixed(n, b)?)),
        types::PG_LSN => Value::Lsn(u64::from_be_bytes(fixed(n, b)?)),
        types::BIT | types::VARBIT => {
            Value::Bits(Box::new(crate::bits::recv(b).ok_or_else(|| bad_binary(n))?))
        }
        types::JSON => {
            let s = utf8(b)?;
            crate::json::validate_json(s)?;
            Value::Json(s.to_string())
        }
        types::JSONB => Value::Jsonb(Box::new(crate::json::recv_jsonb(b)?)),
        o if crate::geo::is_geo(o) => Value::Geo(Box::new(crate::geo::recv(o, b)?)),
        other if crate::range::is_range(other) => {
            let rt = crate::range::range_type(other).ok_or_else(|| bad_binary(n))?;
            Value::Range(Box::new(crate::range::recv(b, rt)?))
        }
        other if crate::range::is_multirange(other) => {
            let rt = crate::range::multirange_type(other).ok_or_else(|| bad_binary(n))?;
            Value::Multirange(Box::new(crate::range::recv_multi(b, rt)?))
        }
        // enum_recv: the label's text.
        other if crate::usertype::is_enum(other) => crate::usertype::enum_in(other, utf8(b)?)?,
        other if crate::array::is_array(other) => {
            let elem = crate::array::elem_type(other).unwrap_or(types::TEXT);
            Value::Array(Box::new(crate::array::recv(b, elem)?))
        }
        other => {
            // sql_name already says "type with OID N" for a type it
            // cannot name.
            let name = types::sql_name(other);
            let what = if name.starts_with("type with OID") {
                name
            } else {
                format!("type {name}")
            };
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("binary format for {what} is not supported yet"),
            )
            .with_hint("Send this parameter in text format."));
        }
    })
}

/// Order of two non-null values of the same type (as the binder
/// guarantees). Floats order NaN above everything, as PostgreSQL does.
pub fn compare(a: &Value, b: &Value) -> Ordering {
    use Value::*;
    fn fcmp(x: f64, y: f64) -> Ordering {
        match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        }
    }
    match (a, b) {
        (Bool(x), Bool(y)) => x.cmp(y),
        (Int2(x), Int2(y)) => x.cmp(y),
        (Int4(x), Int4(y)) => x.cmp(y),
        (Int8(x), Int8(y)) => x.cmp(y),
        (Float4(x), Float4(y)) => fcmp(*x as f64, *y as f64),
        (Float8(x), Float8(y)) => fcmp(*x, *y),
        (Numeric(x), Numeric(y)) => x.cmp_total(y),
        (Text(x), Text(y)) | (Name(x), Name(y)) | (Text(x), Name(y)) | (Name(x), Text(y)) => {
            x.cmp(y)
        }
        (Char(x), Char(y)) => x.cmp(y),
        (Bytea(x), Bytea(y)) => x.cmp(y),
        (Oid(x) | Reg(x, _), Oid(y) | Reg(y, _)) => x.cmp(y),
        (TimestampTz(x), TimestampTz(y)) | (Timestamp(x), Timestamp(y)) => x.cmp(y),
        (Date(x), Date(y)) => x.cmp(y),
        (Inet(x), Inet(y)) => x.cmp(y),
        (Lsn(x), Lsn(y)) | (Xid8(x), Xid8(y)) => x.cmp(y),
        (Array(x), Array(y)) => crate::array::compare(x, y),
        (Interval(x), Interval(y)) => crate::interval::compare(x, y),
        (Time(x), Time(y)) => x.cmp(y),
        (TimeTz(x), TimeTz(y)) => crate::timeofday::compare_timetz(x, y),
        (Jsonb(x), Jsonb(y)) => crate::json::compare(x, y),
        (Enum(x), Enum(y)) => crate::usertype::compare(x, y),
        // record_cmp's order for sorting: field by field, a NULL field
        // after any value, then the shorter record first.
        (Record(x), Record(y)) => {
            for ((_, a), (_, b)) in x.iter().zip(y) {
                let o = match (a.is_null(), b.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    _ => compare(a, b),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Uuid(x), Uuid(y)) => x.cmp(y),
        (Money(x), Money(y)) => x.cmp(y),
        (Bits(x), Bits(y)) => crate::bits::compare(x, y),
        // No SQL order exists (the binder refuses ORDER BY, DISTINCT and
        // GROUP BY on them); a deterministic one keeps sorts stable.
        (Geo(x), Geo(y)) => crate::geo::send(x).cmp(&crate::geo::send(y)),
        (Range(x), Range(y)) => crate::range::range_cmp(x, y),
        (Multirange(x), Multirange(y)) => crate::range::multi_cmp(x, y),
        (Null, Null) | (Void, Void) => Ordering::Equal,
        (Null, _) => Ordering::Greater,
        (_, Null) => Ordering::Less,
        // Different variants never meet after binding; keep a total order.
        _ => variant_rank(a).cmp(&variant_rank(b)),
    }
}

fn variant_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Int2(_) => 2,
        Value::Int4(_) => 3,
        Value::Int8(_) => 4,
        Value::Float4(_) => 5,
        Value::Float8(_) => 6,
        Value::Numeric(_) => 7,
        Value::Text(_) => 8,
        Value::Name(_) => 9,
        Value::Char(_) => 10,
        Value::Bytea(_) => 11,
        Value::Oid(_) => 12,
        Value::TimestampTz(_) => 13,
        Value::Timestamp(_) => 14,
        Value::Date(_) => 15,
        Value::Inet(_) => 16,
        Value::Void => 17,
        Value::Lsn(_) => 18,
        Value::Record(_) => 19,
        Value::Xid8(_) => 20,
        Value::Array(_) => 21,
        Value::Interval(_) => 22,
        Value::Time(_) => 23,
        Value::TimeTz(_) => 24,
        Value::Reg(..) => 12,
        Value::Json(_) => 22,
        Value::Jsonb(_) => 23,
        Value::Enum(_) => 28,
        Value::Uuid(_) => 25,
        Value::Money(_) => 26,
        Value::Bits(_) => 27,
        Value::Geo(_) => 29,
        Value::Range(_) => 30,
        Value::Multirange(_) => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn t(v: Value) -> String {
        String::from_utf8(encode_text(&v).unwrap()).unwrap()
    }

    #[test]
    fn text_output() {
        assert_eq!(t(Value::Bool(true)), "t");
        assert_eq!(t(Value::Bool(false)), "f");
        assert_eq!(t(Value::Float8(0.1)), "0.1");
        assert_eq!(t(Value::Float8(1.0 / 3.0)), "0.3333333333333333");
        assert_eq!(t(Value::Float8(1e15)), "1e+15");
        assert_eq!(t(Value::Float8(123456789012345.0)), "123456789012345");
        assert_eq!(t(Value::Float8(0.0001)), "0.0001");
        assert_eq!(t(Value::Float8(0.00001)), "1e-05");
        assert_eq!(t(Value::Float8(-1.5e300)), "-1.5e+300");
        assert_eq!(t(Value::Float8(-0.0)), "-0");
        assert_eq!(t(Value::Float8(f64::NAN)), "NaN");
        assert_eq!(t(Value::Float8(f64::NEG_INFINITY)), "-Infinity");
        assert_eq!(t(Value::Float8(100.0)), "100");
        assert_eq!(t(Value::Float4(1e6)), "1e+06");
        assert_eq!(t(Value::Float4(123456.0)), "123456");
        assert_eq!(t(Value::Float4(0.1)), "0.1");
        assert_eq!(t(Value::Bytea(vec![0, 1, 0xab])), "\\x0001ab");
        assert_eq!(
            t(Value::TimestampTz(848_626_255_123_456)),
            "2026-11-22 01:30:55.123456+00"
        );
        assert_eq!(
            t(Value::Inet(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)))),
            "127.0.0.1"
        );
        assert_eq!(t(Value::Inet(IpAddr::V6(Ipv6Addr::LOCALHOST))), "::1");
        assert_eq!(t(Value::Void), "");
        assert_eq!(t(Value::Char(b'r')), "r");
        assert_eq!(encode_text(&Value::Null), None);
    }

    #[test]
    fn binary_output() {
        assert_eq!(encode_binary(&Value::Int4(1)).unwrap(), vec![0, 0, 0, 1]);
        assert_eq!(encode_binary(&Value::Int2(-2)).unwrap(), vec![0xff, 0xfe]);
        assert_eq!(
            encode_binary(&Value::Int8(258)).unwrap(),
            vec![0, 0, 0, 0, 0, 0, 1, 2]
        );
        assert_eq!(encode_binary(&Value::Bool(true)).unwrap(), vec![1]);
        assert_eq!(
            encode_binary(&Value::Float8(1.0)).unwrap(),
            vec![0x3f, 0xf0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            encode_binary(&Value::Float4(1.0)).unwrap(),
            vec![0x3f, 0x80, 0, 0]
        );
        assert_eq!(
            encode_binary(&Value::Numeric(Numeric::parse("1.5").unwrap())).unwrap(),
            vec![0, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0x13, 0x88]
        );
        assert_eq!(
            encode_binary(&Value::TimestampTz(1)).unwrap(),
            vec![0, 0, 0, 0, 0, 0, 0, 1]
        );
        assert_eq!(
            encode_binary(&Value::Inet(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)))).unwrap(),
            vec![2, 32, 0, 4, 127, 0, 0, 1]
        );
        let v6 = encode_binary(&Value::Inet(IpAddr::V6(Ipv6Addr::LOCALHOST))).unwrap();
        assert_eq!(&v6[..4], &[3, 128, 0, 16]);
        assert_eq!(v6.len(), 20);
        assert_eq!(encode_binary(&Value::Void).unwrap(), Vec::<u8>::new());
        assert_eq!(
            encode_binary(&Value::Text("hé".into())).unwrap(),
            "hé".as_bytes()
        );
        assert_eq!(encode_binary(&Value::Oid(26)).unwrap(), vec![0, 0, 0, 26]);
        assert_eq!(
            encode_binary(&Value::Date(-1)).unwrap(),
            vec![0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn param_decoding() {
        assert_eq!(
            decode_param(types::INT4, 0, b"42").unwrap(),
            Value::Int4(42)
        );
        assert_eq!(
            decode_param(types::INT4, 1, &[0, 0, 1, 0]).unwrap(),
            Value::Int4(256)
        );
        assert_eq!(
            decode_param(types::INT2, 1, &[0, 7]).unwrap(),
            Value::Int2(7)
        );
        assert_eq!(
            decode_param(0, 0, b"hello").unwrap(),
            Value::Text("hello".into())
        );
        assert_eq!(
            decode_param(types::BOOL, 0, b"yes").unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            decode_param(types::FLOAT8, 1, &1.5f64.to_be_bytes()).unwrap(),
            Value::Float8(1.5)
        );
        assert_eq!(
            decode_param(
                types::NUMERIC,
                1,
                &[0, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0x13, 0x88]
            )
            .unwrap(),
            Value::Numeric(Numeric::parse("1.5").unwrap())
        );
        assert_eq!(
            decode_param(types::DATE, 1, &[0, 0, 0, 1]).unwrap(),
            Value::Date(1)
        );
        assert_eq!(
            decode_param(types::BYTEA, 0, b"\\x0aff").unwrap(),
            Value::Bytea(vec![10, 255])
        );
        assert_eq!(
            decode_param(types::INET, 1, &[2, 32, 0, 4, 10, 0, 0, 1]).unwrap(),
            Value::Inet(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
        );
        let e = decode_param(types::INT4, 0, b"abc").unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("22P02", "invalid input syntax for type integer: \"abc\"")
        );
        // Too short is PostgreSQL's int4recv running out of data; too long
        // is its caller finding bytes left over.
        let e = decode_bind_param(2, types::INT4, 1, &[0, 0, 1]).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("08P01", "insufficient data left in message")
        );
        let e = decode_bind_param(2, types::INT4, 1, &[0, 0, 0, 0, 1]).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("22P03", "incorrect binary data format in bind parameter 2")
        );
        // interval_recv: usec, days, months.
        let mut iv = 3_000_000i64.to_be_bytes().to_vec();
        iv.extend_from_slice(&2i32.to_be_bytes());
        iv.extend_from_slice(&(-1i32).to_be_bytes());
        let v = decode_param(types::INTERVAL, 1, &iv).unwrap();
        assert_eq!(t(v.clone()), "-1 mons +2 days 00:00:03");
        assert_eq!(encode_binary(&v).unwrap(), iv);
        let e = decode_param(types::INTERVAL, 1, &[0; 4]).unwrap_err();
        assert_eq!(e.code, "08P01");
        let e = decode_param(types::TIME, 1, &(-1i64).to_be_bytes()).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("22003", "time out of range")
        );
        let mut tz = 3_600_000_000i64.to_be_bytes().to_vec();
        tz.extend_from_slice(&(-7200i32).to_be_bytes());
        assert_eq!(
            t(decode_param(types::TIMETZ, 1, &tz).unwrap()),
            "01:00:00+02"
        );
        let e = decode_param(types::TEXT, 1, &[0xff]).unwrap_err();
        assert_eq!(e.code, "22021");
        assert_eq!(
            decode_param(types::INT4, 2, b"1").unwrap_err().code,
            "22023"
        );
    }

    /// C's %.*g, as float8out uses it when extra_float_digits <= 0.
    #[test]
    fn printf_g_float_output() {
        assert_eq!(format_g(1.0 / 3.0, 15), "0.333333333333333");
        assert_eq!(format_g(2.0f64.sqrt(), 15), "1.4142135623731");
        assert_eq!(format_g(1.4142135623731e-300, 15), "1.4142135623731e-300");
        assert_eq!(format_g(1e15, 15), "1e+15");
        assert_eq!(format_g(123456789012345.0, 15), "123456789012345");
        assert_eq!(format_g(0.0001, 15), "0.0001");
        assert_eq!(format_g(0.00001, 15), "1e-05");
        assert_eq!(format_g(-0.0, 15), "-0");
        assert_eq!(format_g(0.0, 15), "0");
        assert_eq!(format_g(2.0 / 3.0, 10), "0.6666666667");
    }

    #[test]
    fn lsn_and_record_output() {
        assert_eq!(t(Value::Lsn(0)), "0/0");
        assert_eq!(t(Value::Lsn(0x1_0000_00A0)), "1/A0");
        let r = Value::Record(vec![
            (crate::types::PG_LSN, Value::Lsn(0x16_B374_D848)),
            (crate::types::TEXT, Value::Text("a b,\"c\"".into())),
            (crate::types::TEXT, Value::Text(String::new())),
            (crate::types::TEXT, Value::Null),
        ]);
        assert_eq!(t(r.clone()), "(16/B374D848,\"a b,\"\"c\"\"\",\"\",)");
        let b = encode_binary(&r).unwrap();
        assert_eq!(&b[..4], &4i32.to_be_bytes());
        assert_eq!(&b[4..8], &crate::types::PG_LSN.to_be_bytes());
        assert_eq!(&b[b.len() - 4..], &(-1i32).to_be_bytes());
    }
}
