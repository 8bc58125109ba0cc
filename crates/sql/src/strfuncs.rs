//! String built-ins: split_part, lpad/rpad, translate, reverse, strpos,
//! left/right, starts_with, chr/ascii, initcap, replace, the trims,
//! to_hex, PostgreSQL 15's positional regexp functions (regexp_count,
//! regexp_instr, regexp_substr, regexp_replace with start and N), and
//! pg_size_bytes / pg_size_pretty(numeric), encode/decode and
//! convert_to/convert_from.
//!
//! Why a table of its own: as mathfuncs.rs, the signatures are data the
//! binder resolves overloads from, chained after func.rs's; the regular
//! expressions compile through pattern.rs's translation of PostgreSQL's
//! ARE syntax and its cache. Positions are counted in characters, as
//! PostgreSQL does in a UTF-8 database. Pure functions: any backend may
//! call them.

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::func::{check_text_len, Args, Func, Signature};
use crate::numeric::Numeric;
use crate::types::{BOOL, BYTEA, INT4, INT8, NUMERIC, TEXT};
use crate::value::{to_text, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrFn {
    SplitPart,
    Lpad,
    Rpad,
    Translate,
    Reverse,
    Strpos,
    Left,
    Right,
    StartsWith,
    Chr,
    Ascii,
    Initcap,
    Replace,
    Btrim,
    Ltrim,
    Rtrim,
    ToHex,
    RegexpCount,
    RegexpInstr,
    RegexpSubstr,
    RegexpReplace,
    SizeBytes,
    SizePretty,
    Md5,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    ConcatWs,
    /// overlay(s PLACING r FROM p [FOR n]) of text or bytea.
    Overlay,
    /// encode(bytea, 'hex' | 'base64' | 'escape') -> text.
    Encode,
    /// decode(text, 'hex' | 'base64' | 'escape') -> bytea.
    Decode,
    /// convert_to(text, encoding) -> bytea.
    ConvertTo,
    /// convert_from(bytea, encoding) -> text.
    ConvertFrom,
}

use StrFn as S;

const fn s(name: &'static str, args: &'static [u32], ret: u32, f: StrFn) -> Signature {
    Signature {
        name,
        args: Args::Fixed(args),
        ret: Some(ret),
        func: Func::Str(f),
    }
}

/// The string functions' signatures (PostgreSQL 15's pg_proc rows).
pub(crate) static SIGNATURES: &[Signature] = &[
    s("split_part", &[TEXT, TEXT, INT4], TEXT, S::SplitPart),
    s("lpad", &[TEXT, INT4], TEXT, S::Lpad),
    s("lpad", &[TEXT, INT4, TEXT], TEXT, S::Lpad),
    s("rpad", &[TEXT, INT4], TEXT, S::Rpad),
    s("rpad", &[TEXT, INT4, TEXT], TEXT, S::Rpad),
    s("translate", &[TEXT, TEXT, TEXT], TEXT, S::Translate),
    s("reverse", &[TEXT], TEXT, S::Reverse),
    s("strpos", &[TEXT, TEXT], INT4, S::Strpos),
    s("position", &[TEXT, TEXT], INT4, S::Strpos),
    s("position", &[BYTEA, BYTEA], INT4, S::Strpos),
    s("left", &[TEXT, INT4], TEXT, S::Left),
    s("right", &[TEXT, INT4], TEXT, S::Right),
    s("starts_with", &[TEXT, TEXT], BOOL, S::StartsWith),
    s("chr", &[INT4], TEXT, S::Chr),
    s("ascii", &[TEXT], INT4, S::Ascii),
    s("initcap", &[TEXT], TEXT, S::Initcap),
    s("replace", &[TEXT, TEXT, TEXT], TEXT, S::Replace),
    s("btrim", &[TEXT], TEXT, S::Btrim),
    s("btrim", &[TEXT, TEXT], TEXT, S::Btrim),
    s("ltrim", &[TEXT], TEXT, S::Ltrim),
    s("ltrim", &[TEXT, TEXT], TEXT, S::Ltrim),
    s("rtrim", &[TEXT], TEXT, S::Rtrim),
    s("rtrim", &[TEXT, TEXT], TEXT, S::Rtrim),
    s("to_hex", &[INT4], TEXT, S::ToHex),
    s("to_hex", &[INT8], TEXT, S::ToHex),
    s("regexp_count", &[TEXT, TEXT, INT4], INT4, S::RegexpCount),
    s(
        "regexp_count",
        &[TEXT, TEXT, INT4, TEXT],
        INT4,
        S::RegexpCount,
    ),
    s("regexp_instr", &[TEXT, TEXT], INT4, S::RegexpInstr),
    s("regexp_instr", &[TEXT, TEXT, INT4], INT4, S::RegexpInstr),
    s(
        "regexp_instr",
        &[TEXT, TEXT, INT4, INT4],
        INT4,
        S::RegexpInstr,
    ),
    s(
        "regexp_instr",
        &[TEXT, TEXT, INT4, INT4, INT4],
        INT4,
        S::RegexpInstr,
    ),
    s(
        "regexp_instr",
        &[TEXT, TEXT, INT4, INT4, INT4, TEXT],
        INT4,
        S::RegexpInstr,
    ),
    s(
        "regexp_instr",
        &[TEXT, TEXT, INT4, INT4, INT4, TEXT, INT4],
        INT4,
        S::RegexpInstr,
    ),
    s("regexp_substr", &[TEXT, TEXT], TEXT, S::RegexpSubstr),
    s("regexp_substr", &[TEXT, TEXT, INT4], TEXT, S::RegexpSubstr),
    s(
        "regexp_substr",
        &[TEXT, TEXT, INT4, INT4],
        TEXT,
        S::RegexpSubstr,
    ),
    s(
        "regexp_substr",
        &[TEXT, TEXT, INT4, INT4, TEXT],
        TEXT,
        S::RegexpSubstr,
    ),
    s(
        "regexp_substr",
        &[TEXT, TEXT, INT4, INT4, TEXT, INT4],
        TEXT,
        S::RegexpSubstr,
    ),
    s(
        "regexp_replace",
        &[TEXT, TEXT, TEXT, INT4],
        TEXT,
        S::RegexpReplace,
    ),
    s(
        "regexp_replace",
        &[TEXT, TEXT, TEXT, INT4, INT4],
        TEXT,
        S::RegexpReplace,
    ),
    s(
        "regexp_replace",
        &[TEXT, TEXT, TEXT, INT4, INT4, TEXT],
        TEXT,
        S::RegexpReplace,
    ),
    s("pg_size_bytes", &[TEXT], INT8, S::SizeBytes),
    s("pg_size_pretty", &[NUMERIC], TEXT, S::SizePretty),
    Signature {
        name: "concat_ws",
        args: Args::VariadicAny,
        ret: Some(TEXT),
        func: Func::Str(S::ConcatWs),
    },
    s("overlay", &[TEXT, TEXT, INT4], TEXT, S::Overlay),
    s("overlay", &[TEXT, TEXT, INT4, INT4], TEXT, S::Overlay),
    s("overlay", &[BYTEA, BYTEA, INT4], BYTEA, S::Overlay),
    s("overlay", &[BYTEA, BYTEA, INT4, INT4], BYTEA, S::Overlay),
    s("md5", &[TEXT], TEXT, S::Md5),
    s("md5", &[BYTEA], TEXT, S::Md5),
    s("sha224", &[BYTEA], BYTEA, S::Sha224),
    s("sha256", &[BYTEA], BYTEA, S::Sha256),
    s("sha384", &[BYTEA], BYTEA, S::Sha384),
    s("sha512", &[BYTEA], BYTEA, S::Sha512),
    s("encode", &[BYTEA, TEXT], TEXT, S::Encode),
    s("decode", &[TEXT, TEXT], BYTEA, S::Decode),
    s("convert_to", &[TEXT, TEXT], BYTEA, S::ConvertTo),
    s("convert_from", &[BYTEA, TEXT], TEXT, S::ConvertFrom),
];

/// All are STRICT but concat_ws, which skips NULL values.
pub(crate) fn is_strict(f: StrFn) -> bool {
    f != S::ConcatWs
}

fn txt(v: Option<&Value>) -> String {
    v.and_then(to_text).unwrap_or_default()
}

fn int(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Int2(i)) => *i as i64,
        Some(Value::Int4(i)) => *i as i64,
        Some(Value::Int8(i)) => *i,
        _ => 0,
    }
}

fn bad_param(name: &str, v: i64) -> PgError {
    PgError::error(
        sqlstate::INVALID_PARAMETER_VALUE,
        format!("invalid value for parameter \"{name}\": {v}"),
    )
}

/// Byte offset of character `n` (0-based) of `s`, or `s.len()`.
fn char_byte(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
}

fn char_pos(s: &str, byte: usize) -> i32 {
    s[..byte].chars().count() as i32
}

fn pad(s: &str, len: i64, fill: &str, left: bool) -> Result<String, PgError> {
    let len = len.max(0) as usize;
    let n = s.chars().count();
    if n >= len || fill.is_empty() {
        return Ok(s.chars().take(len).collect());
    }
    check_text_len(len.saturating_mul(4))?;
    let padding: String = fill.chars().cycle().take(len - n).collect();
    Ok(if left {
        padding + s
    } else {
        s.to_string() + &padding
    })
}

fn trim(s: &str, set: &str, left: bool, right: bool) -> String {
    let chars: Vec<char> = set.chars().collect();
    let mut t = s;
    if left {
        t = t.trim_start_matches(|c| chars.contains(&c));
    }
    if right {
        t = t.trim_end_matches(|c| chars.contains(&c));
    }
    t.to_string()
}

fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word = false;
    for c in s.chars() {
        if word {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        word = c.is_alphanumeric();
    }
    out
}

fn split_part(s: &str, delim: &str, n: i64) -> Result<String, PgError> {
    if n == 0 {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "field position must not be zero",
        ));
    }
    if s.is_empty() {
        return Ok(String::new());
    }
    if delim.is_empty() {
        return Ok(if n == 1 || n == -1 {
            s.to_string()
        } else {
            String::new()
        });
    }
    let parts: Vec<&str> = s.split(delim).collect();
    let idx = if n > 0 {
        (n - 1) as usize
    } else {
        match parts.len().checked_sub(n.unsigned_abs() as usize) {
            Some(i) => i,
            None => return Ok(String::new()),
        }
    };
    Ok(parts.get(idx).map_or(String::new(), |p| p.to_string()))
}

fn chr(c: i64) -> Result<String, PgError> {
    if c == 0 {
        return Err(PgError::error(
            sqlstate::PROGRAM_LIMIT_EXCEEDED,
            "null character not permitted",
        ));
    }
    let u = c as u32;
    if u > 0x10ffff {
        return Err(PgError::error(
            sqlstate::PROGRAM_LIMIT_EXCEEDED,
            format!("requested character too large for encoding: {u}"),
        ));
    }
    char::from_u32(u).map(String::from).ok_or_else(|| {
        PgError::error(
            sqlstate::PROGRAM_LIMIT_EXCEEDED,
            format!("requested character not valid for encoding: {u}"),
        )
    })
}

/// Matches of `re` in `s` from character `start` (1-based), not
/// overlapping, each with its capture groups (byte ranges).
fn regexp_matches_from(
    re: &crate::pattern::Regex,
    s: &str,
    start: i64,
) -> Result<Vec<crate::pattern::Spans>, PgError> {
    re.all_from(s, char_byte(s, (start - 1) as usize), None)
}

fn regexp(f: StrFn, args: &[Value]) -> Result<Value, PgError> {
    let src = txt(args.first());
    let pat = txt(args.get(1));
    let (start, flags_at, n_at) = match f {
        S::RegexpCount => (args.get(2), 3, None),
        S::RegexpInstr => (args.get(2), 5, Some(3)),
        S::RegexpSubstr => (args.get(2), 4, Some(3)),
        _ => (args.get(3), 5, Some(4)),
    };
    let start = if start.is_some() { int(start) } else { 1 };
    if start <= 0 {
        return Err(bad_param("start", start));
    }
    let n = n_at.map_or(1, |i| if args.len() > i { int(args.get(i)) } else { 1 });
    if n < 0 || (n == 0 && f != S::RegexpReplace) {
        return Err(bad_param("n", n));
    }
    let endoption = if f == S::RegexpInstr && args.len() > 4 {
        let e = int(args.get(4));
        if !(0..=1).contains(&e) {
            return Err(bad_param("endoption", e));
        }
        e
    } else {
        0
    };
    let flags = args.get(flags_at).map(|v| txt(Some(v)));
    let sub_at = match f {
        S::RegexpInstr => Some(6),
        S::RegexpSubstr => Some(5),
        _ => None,
    };
    let subexpr = sub_at.map_or(0, |i| int(args.get(i)));
    if subexpr < 0 {
        return Err(bad_param("subexpr", subexpr));
    }
    let name = match f {
        S::RegexpCount => "regexp_count()",
        S::RegexpInstr => "regexp_instr()",
        S::RegexpSubstr => "regexp_substr()",
        _ => "regexp_replace()",
    };
    let (re, global) = crate::pattern::compile_flags(&pat, flags.as_deref())?;
    if global && f != S::RegexpReplace {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("{name} does not support the \"global\" option"),
        ));
    }
    let found = regexp_matches_from(&re, &src, start)?;
    Ok(match f {
        S::RegexpCount => Value::Int4(found.len() as i32),
        S::RegexpInstr => {
            let Some(m) = found.get((n - 1) as usize) else {
                return Ok(Value::Int4(0));
            };
            match m.get(subexpr as usize).copied().flatten() {
                None => Value::Int4(0),
                Some((b, e)) => Value::Int4(if endoption == 1 {
                    char_pos(&src, e) + 1
                } else {
                    char_pos(&src, b) + 1
                }),
            }
        }
        S::RegexpSubstr => {
            let Some(m) = found.get((n - 1) as usize) else {
                return Ok(Value::Null);
            };
            match m.get(subexpr as usize).copied().flatten() {
                None => Value::Null,
                Some((b, e)) => Value::Text(src[b..e].to_string()),
            }
        }
        _ => {
            // regexp_replace(source, pattern, replacement, start [, N
            // [, flags]]): N = 0 (or the g flag with no N) replaces all.
            let rep = txt(args.get(2));
            // N defaults to 1, or to 0 (all) with the g flag.
            let all = if args.len() > 4 { n == 0 } else { global };
            let mut out = String::with_capacity(src.len());
            let mut last = 0;
            for (i, c) in found.iter().enumerate() {
                if !all && i as i64 + 1 != n {
                    continue;
                }
                let Some((a, b)) = c[0] else { continue };
                out.push_str(&src[last..a]);
                crate::pattern::expand_replacement(&rep, &src, c, &mut out);
                last = b;
            }
            out.push_str(&src[last..]);
            Value::Text(out)
        }
    })
}

fn size_units_error(text: &str, unit: Option<&str>) -> PgError {
    let e = PgError::error(
        sqlstate::INVALID_PARAMETER_VALUE,
        format!("invalid size: \"{text}\""),
    );
    match unit {
        None => e,
        Some(u) => e
            .with_detail(format!("Invalid size unit: \"{u}\"."))
            .with_hint("Valid units are \"bytes\", \"kB\", \"MB\", \"GB\", \"TB\", and \"PB\"."),
    }
}

/// pg_size_bytes: a number (sign, digits, fraction, exponent) then an
/// optional unit, case-insensitive.
fn size_bytes(text: &str) -> Result<i64, PgError> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let num_start = i;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let mut digits = false;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        digits = true;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            digits = true;
        }
    }
    if !digits {
        return Err(size_units_error(text, None));
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        // An exponent only when digits follow (else it is a unit).
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'-' || b[j] == b'+') {
            j += 1;
        }
        let d0 = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > d0 {
            i = j;
        }
    }
    let num = Numeric::parse(&text[num_start..i]).map_err(|_| {
        PgError::error(
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
            "value overflows numeric format",
        )
    })?;
    let unit = text[i..].trim_matches(|c: char| c.is_ascii_whitespace());
    let num = if unit.is_empty() {
        num
    } else {
        let bits = match unit.to_ascii_lowercase().as_str() {
            "bytes" => 0,
            "kb" => 10,
            "mb" => 20,
            "gb" => 30,
            "tb" => 40,
            "pb" => 50,
            _ => return Err(size_units_error(text, Some(unit))),
        };
        num.mul(&Numeric::from_i64(1i64 << bits))?
    };
    num.to_i64_rounded()
        .ok_or_else(|| PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "bigint out of range"))
}

/// pg_size_pretty(numeric): as the bigint form, in exact arithmetic.
fn size_pretty(n: &Numeric) -> Result<String, PgError> {
    if !n.is_finite() {
        return Ok(format!("{} bytes", n.to_text()));
    }
    if n.abs().cmp_total(&Numeric::from_i64(10 * 1024)).is_lt() {
        return Ok(format!("{} bytes", n.to_text()));
    }
    // One extra bit kept for the final rounding.
    let mut size = n.div_trunc(&Numeric::from_i64(512))?;
    const UNITS: &[&str] = &["kB", "MB", "GB", "TB", "PB"];
    for (i, unit) in UNITS.iter().enumerate() {
        let last = i == UNITS.len() - 1;
        if last
            || size
                .abs()
                .cmp_total(&Numeric::from_i64(20 * 1024 - 1))
                .is_lt()
        {
            let one = Numeric::from_i64(if size.is_negative() { -1 } else { 1 });
            let half = size.add(&one)?.div_trunc(&Numeric::from_i64(2))?;
            return Ok(format!("{} {unit}", half.to_text()));
        }
        size = size.div_trunc(&Numeric::from_i64(1024))?;
    }
    unreachable!("the last unit returns")
}

/// PostgreSQL's textoverlay/byteaoverlay: the part of `s` before
/// position `p` (1-based), then `r`, then `s` from position `p + n` on.
fn overlay<T: Clone>(s: &[T], r: &[T], p: i64, n: i64) -> Result<Vec<T>, PgError> {
    let end = i32::try_from(p + n)
        .map_err(|_| PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range"))?
        as i64;
    if p < 1 {
        return Err(PgError::error(
            sqlstate::SUBSTRING_ERROR,
            "negative substring length not allowed",
        ));
    }
    let head = ((p - 1) as usize).min(s.len());
    let tail = ((end.max(1) - 1) as usize).min(s.len());
    let mut out = s[..head].to_vec();
    out.extend_from_slice(r);
    out.extend_from_slice(&s[tail..]);
    Ok(out)
}

/// The character encodings convert_to/convert_from know: the server's
/// own (UTF8; SQL_ASCII passes bytes as they are) and LATIN1.
enum Enc {
    Utf8,
    Latin1,
}

/// PostgreSQL's encoding-name lookup: case and punctuation do not matter
/// (`utf-8`, `UTF8`, `Unicode`).
fn encoding(name: &str, which: &str) -> Result<Enc, PgError> {
    let key: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match key.as_str() {
        "utf8" | "unicode" | "sqlascii" => Ok(Enc::Utf8),
        "latin1" | "iso88591" => Ok(Enc::Latin1),
        _ => Err(bad_encoding_arg(format!(
            "invalid {which} encoding name \"{name}\""
        ))),
    }
}

fn bad_encoding_arg(msg: String) -> PgError {
    PgError::error(sqlstate::INVALID_PARAMETER_VALUE, msg)
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// encode(): PostgreSQL's binary-to-text encodings (encode.c's formats:
/// base64 wraps its lines at 76 characters; escape writes NUL, backslash
/// and bytes with the high bit set as octal escapes).
fn encode(b: &[u8], how: &str) -> Result<String, PgError> {
    let mut out = String::with_capacity(b.len() * 2);
    match how.to_ascii_lowercase().as_str() {
        "hex" => {
            for x in b {
                out.push_str(&format!("{x:02x}"));
            }
        }
        "base64" => {
            // A newline after each group that fills a line to 76, even
            // the last, as encode.c writes it.
            let mut line = 0;
            for chunk in b.chunks(3) {
                let n = (chunk[0] as u32) << 16
                    | (*chunk.get(1).unwrap_or(&0) as u32) << 8
                    | *chunk.get(2).unwrap_or(&0) as u32;
                for k in 0..4 {
                    if k <= chunk.len() {
                        out.push(BASE64[(n >> (18 - 6 * k) & 63) as usize] as char);
                    } else {
                        out.push('=');
                    }
                }
                line += 4;
                if line >= 76 && chunk.len() == 3 {
                    out.push('\n');
                    line = 0;
                }
            }
        }
        "escape" => {
            for &x in b {
                match x {
                    b'\\' => out.push_str("\\\\"),
                    0 | 0x80..=0xff => out.push_str(&format!("\\{x:03o}")),
                    _ => out.push(x as char),
                }
            }
        }
        _ => {
            return Err(bad_encoding_arg(format!(
                "unrecognized encoding: \"{how}\""
            )))
        }
    }
    check_text_len(out.len())?;
    Ok(out)
}

/// decode(): the inverse of [`encode`], with encode.c's errors (hex and
/// base64 skip whitespace between groups).
fn decode(s: &str, how: &str) -> Result<Vec<u8>, PgError> {
    let src = s.as_bytes();
    let mut out = Vec::with_capacity(src.len());
    match how.to_ascii_lowercase().as_str() {
        "hex" => {
            let digit = |i: usize| -> Result<u8, PgError> {
                let c = src[i];
                (c as char).to_digit(16).map(|d| d as u8).ok_or_else(|| {
                    let ch = s[i..].chars().next().unwrap_or('?');
                    bad_encoding_arg(format!("invalid hexadecimal digit: \"{ch}\""))
                })
            };
            let mut i = 0;
            while i < src.len() {
                if matches!(src[i], b' ' | b'\n' | b'\t' | b'\r') {
                    i += 1;
                    continue;
                }
                let hi = digit(i)?;
                if i + 1 >= src.len() {
                    return Err(bad_encoding_arg(
                        "invalid hexadecimal data: odd number of digits".into(),
                    ));
                }
                out.push(hi << 4 | digit(i + 1)?);
                i += 2;
            }
        }
        "base64" => {
            // encode.c's state machine: `=` at the third or fourth place
            // of a group ends the data (1 or 2 bytes in that group); the
            // end stays set for any group after it.
            let end_err = || {
                bad_encoding_arg("invalid base64 end sequence".into()).with_hint(
                    "Input data is missing padding, is truncated, or is otherwise corrupted.",
                )
            };
            let (mut buf, mut pos, mut end) = (0u32, 0, 0);
            for (i, &c) in src.iter().enumerate() {
                if matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                    continue;
                }
                let v = if c == b'=' {
                    if end == 0 {
                        end = match pos {
                            2 => 1,
                            3 => 2,
                            _ => {
                                return Err(bad_encoding_arg(
                                    "unexpected \"=\" while decoding base64 sequence".into(),
                                ))
                            }
                        };
                    }
                    0
                } else {
                    match BASE64.iter().position(|&x| x == c) {
                        Some(p) => p as u32,
                        None => {
                            let ch = s[i..].chars().next().unwrap_or('?');
                            return Err(bad_encoding_arg(format!(
                                "invalid symbol \"{ch}\" found while decoding base64 sequence"
                            )));
                        }
                    }
                };
                buf = buf << 6 | v;
                pos += 1;
                if pos == 4 {
                    out.push((buf >> 16) as u8);
                    if end == 0 || end > 1 {
                        out.push((buf >> 8) as u8);
                    }
                    if end == 0 || end > 2 {
                        out.push(buf as u8);
                    }
                    buf = 0;
                    pos = 0;
                }
            }
            if pos != 0 {
                return Err(end_err());
            }
        }
        "escape" => {
            let mut i = 0;
            while i < src.len() {
                if src[i] != b'\\' {
                    out.push(src[i]);
                    i += 1;
                } else if src.get(i + 1) == Some(&b'\\') {
                    out.push(b'\\');
                    i += 2;
                } else if i + 3 < src.len()
                    && (b'0'..=b'3').contains(&src[i + 1])
                    && (b'0'..=b'7').contains(&src[i + 2])
                    && (b'0'..=b'7').contains(&src[i + 3])
                {
                    out.push(
                        (src[i + 1] - b'0') << 6 | (src[i + 2] - b'0') << 3 | (src[i + 3] - b'0'),
                    );
                    i += 4;
                } else {
                    return Err(PgError::error(
                        sqlstate::INVALID_TEXT_REPRESENTATION,
                        "invalid input syntax for type bytea",
                    ));
                }
            }
        }
        _ => {
            return Err(bad_encoding_arg(format!(
                "unrecognized encoding: \"{how}\""
            )))
        }
    }
    Ok(out)
}

/// md5 (as hex text) and the SHA-2 digests (as bytea).
fn digest(f: StrFn, data: &[u8]) -> Value {
    use md5::Digest;
    let bytes: Vec<u8> = match f {
        S::Md5 => {
            let h = md5::Md5::digest(data);
            return Value::Text(h.iter().map(|b| format!("{b:02x}")).collect());
        }
        S::Sha224 => sha2::Sha224::digest(data).to_vec(),
        S::Sha256 => sha2::Sha256::digest(data).to_vec(),
        S::Sha384 => sha2::Sha384::digest(data).to_vec(),
        _ => sha2::Sha512::digest(data).to_vec(),
    };
    Value::Bytea(bytes)
}

/// Evaluate a string function over its already-cast arguments.
pub(crate) fn call(f: StrFn, args: &[Value]) -> Result<Value, PgError> {
    let t = |i: usize| txt(args.get(i));
    let i = |k: usize| int(args.get(k));
    Ok(Value::Text(match f {
        S::SplitPart => split_part(&t(0), &t(1), i(2))?,
        S::Lpad | S::Rpad => {
            let fill = if args.len() > 2 { t(2) } else { " ".into() };
            pad(&t(0), i(1), &fill, f == S::Lpad)?
        }
        S::Translate => {
            let from: Vec<char> = t(1).chars().collect();
            let to: Vec<char> = t(2).chars().collect();
            t(0).chars()
                .filter_map(|c| match from.iter().position(|&x| x == c) {
                    Some(p) => to.get(p).copied(),
                    None => Some(c),
                })
                .collect()
        }
        S::Reverse => t(0).chars().rev().collect(),
        S::Strpos => {
            if let (Some(Value::Bytea(h)), Some(Value::Bytea(n))) = (args.first(), args.get(1)) {
                let at = if n.is_empty() {
                    Some(0)
                } else {
                    h.windows(n.len()).position(|w| w == n.as_slice())
                };
                return Ok(Value::Int4(at.map_or(0, |p| p as i32 + 1)));
            }
            let (h, n) = (t(0), t(1));
            return Ok(Value::Int4(match h.find(&n) {
                Some(b) => char_pos(&h, b) + 1,
                None => 0,
            }));
        }
        S::Left | S::Right => {
            let s = t(0);
            let len = s.chars().count() as i64;
            let n = i(1);
            let keep = if n >= 0 { n.min(len) } else { (len + n).max(0) } as usize;
            if f == S::Left {
                s.chars().take(keep).collect()
            } else {
                s.chars().skip(len as usize - keep).collect()
            }
        }
        S::StartsWith => return Ok(Value::Bool(t(0).starts_with(&t(1)))),
        S::Chr => chr(i(0))?,
        S::Ascii => return Ok(Value::Int4(t(0).chars().next().map_or(0, |c| c as i32))),
        S::Initcap => initcap(&t(0)),
        S::Replace => {
            let (s, from, to) = (t(0), t(1), t(2));
            if from.is_empty() {
                s
            } else {
                let r = s.replace(&from, &to);
                check_text_len(r.len())?;
                r
            }
        }
        S::Btrim | S::Ltrim | S::Rtrim => {
            let set = if args.len() > 1 { t(1) } else { " ".into() };
            trim(&t(0), &set, f != S::Rtrim, f != S::Ltrim)
        }
        S::ToHex => match args.first() {
            Some(Value::Int4(v)) => format!("{:x}", *v as u32),
            Some(Value::Int8(v)) => format!("{:x}", *v as u64),
            _ => return Ok(Value::Null),
        },
        S::RegexpCount | S::RegexpInstr | S::RegexpSubstr | S::RegexpReplace => {
            return regexp(f, args)
        }
        S::SizeBytes => return Ok(Value::Int8(size_bytes(&t(0))?)),
        S::Overlay => {
            let (p, n) = (i(2), args.get(3).map(|v| int(Some(v))));
            if let (Some(Value::Bytea(a)), Some(Value::Bytea(b))) = (args.first(), args.get(1)) {
                let n = n.unwrap_or(b.len() as i64);
                return Ok(Value::Bytea(overlay(a, b, p, n)?));
            }
            let a: Vec<char> = t(0).chars().collect();
            let b: Vec<char> = t(1).chars().collect();
            let n = n.unwrap_or(b.len() as i64);
            overlay(&a, &b, p, n)?.into_iter().collect()
        }
        S::ConcatWs => {
            let Some(sep) = args.first().and_then(to_text) else {
                return Ok(Value::Null);
            };
            let mut out = String::new();
            let mut first = true;
            for v in &args[1..] {
                if let Some(t) = to_text(v) {
                    if !first {
                        out.push_str(&sep);
                    }
                    check_text_len(out.len() + t.len())?;
                    out.push_str(&t);
                    first = false;
                }
            }
            out
        }
        S::Md5 | S::Sha224 | S::Sha256 | S::Sha384 | S::Sha512 => {
            let data = match args.first() {
                Some(Value::Bytea(b)) => b.clone(),
                _ => t(0).into_bytes(),
            };
            return Ok(digest(f, &data));
        }
        S::Encode => {
            let Some(Value::Bytea(b)) = args.first() else {
                return Ok(Value::Null);
            };
            encode(b, &t(1))?
        }
        S::Decode => return Ok(Value::Bytea(decode(&t(0), &t(1))?)),
        S::ConvertTo => {
            let text = t(0);
            return Ok(Value::Bytea(match encoding(&t(1), "destination")? {
                Enc::Utf8 => text.into_bytes(),
                Enc::Latin1 => {
                    let mut out = Vec::with_capacity(text.len());
                    for c in text.chars() {
                        if (c as u32) > 0xff {
                            let mut b = [0u8; 4];
                            let hex: Vec<String> = c
                                .encode_utf8(&mut b)
                                .bytes()
                                .map(|x| format!("0x{x:02x}"))
                                .collect();
                            return Err(PgError::error(
                                sqlstate::UNTRANSLATABLE_CHARACTER,
                                format!("character with byte sequence {} in encoding \"UTF8\" has no equivalent in encoding \"LATIN1\"", hex.join(" ")),
                            ));
                        }
                        out.push(c as u8);
                    }
                    out
                }
            }));
        }
        S::ConvertFrom => {
            let Some(Value::Bytea(b)) = args.first() else {
                return Ok(Value::Null);
            };
            match encoding(&t(1), "source")? {
                Enc::Latin1 => b.iter().map(|&x| x as char).collect(),
                Enc::Utf8 => match std::str::from_utf8(b) {
                    Ok(s) => s.to_string(),
                    Err(e) => {
                        let bad = &b[e.valid_up_to()..];
                        let n = e.error_len().unwrap_or(bad.len()).min(bad.len());
                        let hex: Vec<String> =
                            bad[..n].iter().map(|x| format!("0x{x:02x}")).collect();
                        return Err(PgError::error(
                            sqlstate::CHARACTER_NOT_IN_REPERTOIRE,
                            format!(
                                "invalid byte sequence for encoding \"UTF8\": {}",
                                hex.join(" ")
                            ),
                        ));
                    }
                },
            }
        }
        S::SizePretty => match args.first() {
            Some(Value::Numeric(n)) => size_pretty(n)?,
            _ => return Ok(Value::Null),
        },
    }))
}

/// `TRIM([BOTH | LEADING | TRAILING] [chars] FROM s)`, which the parser
/// reads as syntax: the function and its arguments.
pub(crate) fn trim_call(
    e: &sqlparser::ast::Expr,
) -> Option<(&'static str, Vec<&sqlparser::ast::Expr>)> {
    use sqlparser::ast::{Expr, TrimWhereField};
    let Expr::Trim {
        expr,
        trim_where,
        trim_what,
        trim_characters,
    } = e
    else {
        return None;
    };
    if trim_characters.is_some() {
        return None;
    }
    let name = match trim_where {
        Some(TrimWhereField::Leading) => "ltrim",
        Some(TrimWhereField::Trailing) => "rtrim",
        _ => "btrim",
    };
    let mut args = vec![expr.as_ref()];
    if let Some(w) = trim_what {
        args.push(w.as_ref());
    }
    Some((name, args))
}

/// `POSITION(sub IN s)`, which the parser reads as syntax: the
/// arguments of `position(s, sub)`.
pub(crate) fn position_call(e: &sqlparser::ast::Expr) -> Option<[&sqlparser::ast::Expr; 2]> {
    match e {
        sqlparser::ast::Expr::Position { expr, r#in } => Some([r#in.as_ref(), expr.as_ref()]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_known_values() {
        assert_eq!(
            digest(S::Md5, b""),
            Value::Text("d41d8cd98f00b204e9800998ecf8427e".into())
        );
        let Value::Bytea(b) = digest(S::Sha256, b"abc") else {
            panic!("bytea")
        };
        assert_eq!(b[..4], [0xba, 0x78, 0x16, 0xbf]);
    }

    #[test]
    fn split_part_counts_from_either_end() {
        assert_eq!(split_part("a,b,c", ",", 2).unwrap(), "b");
        assert_eq!(split_part("a,b,c", ",", -1).unwrap(), "c");
        assert_eq!(split_part("a,b,c", ",", -4).unwrap(), "");
        assert_eq!(split_part("abc", "", 1).unwrap(), "abc");
        assert_eq!(split_part("a,b", ",", 0).unwrap_err().code, "22023");
    }

    #[test]
    fn pads_trims_and_sizes() {
        assert_eq!(pad("hi", 5, "xy", true).unwrap(), "xyxhi");
        assert_eq!(pad("hello", 3, "x", false).unwrap(), "hel");
        assert_eq!(trim("xxhixx", "x", true, false), "hixx");
        assert_eq!(initcap("hi THOMAS"), "Hi Thomas");
        assert_eq!(size_bytes("1kb").unwrap(), 1024);
        assert_eq!(size_bytes(" 1.5 GB ").unwrap(), 1610612736);
        assert_eq!(size_bytes("1 AB").unwrap_err().code, "22023");
        assert_eq!(size_bytes("-.").unwrap_err().code, "22023");
        assert_eq!(
            size_pretty(&Numeric::parse("1000000.5").unwrap()).unwrap(),
            "977 kB"
        );
        assert_eq!(
            size_pretty(&Numeric::parse("10.5").unwrap()).unwrap(),
            "10.5 bytes"
        );
    }
}
