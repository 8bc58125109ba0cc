//! json and jsonb values: PostgreSQL's JSON lexer/parser with its exact
//! error texts, jsonb's normalised model and text output, json's
//! verbatim text, jsonb's btree order, and the binary send/receive forms.
//!
//! Why two representations: PostgreSQL keeps `json` as the text the user
//! wrote (whitespace, key order and duplicate keys preserved; only
//! validated), while `jsonb` is a decomposed tree with keys sorted (by
//! length, then bytes) and duplicates removed (last wins). `Value::Json`
//! is therefore a `String` and `Value::Jsonb` a [`Jsonb`] tree; the json
//! functions that look inside a json value use [`raw_children`], which
//! walks the text with the same parser and hands back verbatim slices, so
//! `'{"a":  [1,  2]}'::json -> 'a'` prints `[1,  2]` as PostgreSQL does.
//!
//! Pure functions; any process may call them.

use std::cmp::Ordering;

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::numeric::Numeric;
use crate::types::{self, Oid, Ty};
use crate::value::Value;

/// 22P05: `\u0000` in jsonb (not in the shared table yet).
const UNTRANSLATABLE_CHARACTER: sqlstate::SqlState = sqlstate::SqlState::new("22P05");

/// One jsonb value. Object pairs are kept in jsonb's storage order (keys
/// sorted by byte length, then bytes) with unique keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Jsonb {
    Null,
    Bool(bool),
    Number(Numeric),
    String(String),
    Array(Vec<Jsonb>),
    Object(Vec<(String, Jsonb)>),
    /// A date/time item of a jsonpath evaluation (`.datetime()`), never
    /// stored: it leaves the evaluation as the string
    /// [`JsonDatetime::to_json_text`] makes of it, as PostgreSQL's
    /// jbvDatetime.
    Datetime(JsonDatetime),
}

/// What a jsonpath datetime item holds: the SQL type and the value in
/// that type's representation (days or microseconds since 2000-01-01,
/// microseconds since midnight), with the zone offset (seconds east of
/// UTC) for the types with a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonDatetime {
    pub kind: DatetimeKind,
    pub value: i64,
    pub offset: i32,
}

impl JsonDatetime {
    /// The `.type()` of the item: its SQL type's name.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            DatetimeKind::Date => "date",
            DatetimeKind::Time => "time without time zone",
            DatetimeKind::TimeTz => "time with time zone",
            DatetimeKind::Timestamp => "timestamp without time zone",
            DatetimeKind::TimestampTz => "timestamp with time zone",
        }
    }

    /// The item as JSON text shows it (PostgreSQL's JsonEncodeDateTime):
    /// ISO 8601 with a `T` between date and time and the zone as +hh:mm.
    pub fn to_json_text(&self) -> String {
        use crate::tz::{DateOrder, DateStyle};
        let offset = |s: &mut String| {
            let a = (self.offset as i64).abs();
            s.push(if self.offset < 0 { '-' } else { '+' });
            s.push_str(&format!("{:02}:{:02}", a / 3600, a / 60 % 60));
            if a % 60 != 0 {
                s.push_str(&format!(":{:02}", a % 60));
            }
        };
        let stamp = |us: i64| {
            crate::datetime::format_timestamp_in(us, None, DateStyle::Iso, DateOrder::Ymd)
                .replacen(' ', "T", 1)
        };
        match self.kind {
            DatetimeKind::Date => {
                crate::datetime::format_date_in(self.value as i32, DateStyle::Iso, DateOrder::Ymd)
            }
            DatetimeKind::Time => crate::timeofday::format_time(self.value),
            DatetimeKind::TimeTz => {
                let mut s = crate::timeofday::format_time(self.value);
                offset(&mut s);
                s
            }
            DatetimeKind::Timestamp => stamp(self.value),
            DatetimeKind::TimestampTz => {
                let mut s = stamp(self.value + self.offset as i64 * 1_000_000);
                offset(&mut s);
                s
            }
        }
    }
}

/// The SQL type of a [`JsonDatetime`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatetimeKind {
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
}

/// jsonb's key order: shorter keys first, then bytewise
/// (lengthCompareJsonbStringValue).
pub fn key_order(a: &str, b: &str) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

impl Jsonb {
    /// An object from pairs in any order: sorted into storage order and
    /// deduplicated, the last of equal keys winning (as jsonb input).
    pub fn object(mut pairs: Vec<(String, Jsonb)>) -> Jsonb {
        // A stable sort keeps equal keys in input order; keep the last.
        pairs.sort_by(|a, b| key_order(&a.0, &b.0));
        let mut out: Vec<(String, Jsonb)> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        Jsonb::Object(out)
    }

    /// `jsonb_typeof`'s name of the value's kind.
    pub fn type_name(&self) -> &'static str {
        match self {
            Jsonb::Null => "null",
            Jsonb::Bool(_) => "boolean",
            Jsonb::Number(_) => "number",
            Jsonb::String(_) => "string",
            Jsonb::Array(_) => "array",
            Jsonb::Object(_) => "object",
            Jsonb::Datetime(d) => d.type_name(),
        }
    }

    pub fn is_scalar(&self) -> bool {
        !matches!(self, Jsonb::Array(_) | Jsonb::Object(_))
    }

    /// The value of `key` in an object.
    pub fn get(&self, key: &str) -> Option<&Jsonb> {
        match self {
            Jsonb::Object(p) => p
                .binary_search_by(|(k, _)| key_order(k, key))
                .ok()
                .map(|i| &p[i].1),
            _ => None,
        }
    }

    /// Element `i` of an array; a negative index counts from the end.
    pub fn index(&self, i: i64) -> Option<&Jsonb> {
        match self {
            Jsonb::Array(a) => {
                let n = a.len() as i64;
                let i = if i < 0 { n + i } else { i };
                if (0..n).contains(&i) {
                    Some(&a[i as usize])
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Lexer and parser.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    ObjStart,
    ObjEnd,
    ArrStart,
    ArrEnd,
    Comma,
    Colon,
    Str,
    Num,
    True,
    False,
    Null,
    End,
}

/// What kind of value the caller builds: jsonb refuses `\u0000` (it
/// cannot be text) and builds a tree; json only validates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Json,
    Jsonb,
}

struct Lexer<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    tok: Tok,
    tok_start: usize,
    /// The decoded text of the last string token.
    text: String,
    line: usize,
    line_start: usize,
    mode: Mode,
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

impl<'a> Lexer<'a> {
    fn new(s: &'a str, mode: Mode) -> Lexer<'a> {
        Lexer {
            s,
            b: s.as_bytes(),
            pos: 0,
            tok: Tok::End,
            tok_start: 0,
            text: String::new(),
            line: 1,
            line_start: 0,
            mode,
        }
    }

    /// PostgreSQL's CONTEXT line: the current line up to the end of the
    /// offending token, shortened from the left to under 50 bytes.
    fn context(&self, end: usize) -> String {
        let end = end.min(self.b.len());
        let mut start = self.line_start;
        while end - start >= 50 {
            start += 1;
            while !self.s.is_char_boundary(start) {
                start += 1;
            }
        }
        if start - self.line_start <= 3 {
            start = self.line_start;
        }
        let prefix = if start > self.line_start { "..." } else { "" };
        let suffix = if self.tok != Tok::End
            && end < self.b.len()
            && self.b[end] != b'\n'
            && self.b[end] != b'\r'
        {
            "..."
        } else {
            ""
        };
        format!(
            "JSON data, line {}: {prefix}{}{suffix}",
            self.line,
            &self.s[start..end]
        )
    }

    fn error(&self, detail: String, end: usize) -> PgError {
        PgError::error(
            sqlstate::INVALID_TEXT_REPRESENTATION,
            "invalid input syntax for type json",
        )
        .with_detail(detail)
        .with_context(self.context(end))
    }

    fn skip_ws(&mut self) {
        while self.pos < self.b.len() {
            match self.b[self.pos] {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.line_start = self.pos;
                }
                b' ' | b'\t' | b'\r' => self.pos += 1,
                _ => break,
            }
        }
    }

    fn invalid_token(&mut self, start: usize) -> PgError {
        let mut p = start + 1;
        while p < self.b.len() && is_alnum(self.b[p]) {
            p += 1;
        }
        while !self.s.is_char_boundary(p) {
            p += 1;
        }
        self.tok = Tok::Str; // not End: the context may get a "..." suffix
        self.error(format!("Token \"{}\" is invalid.", &self.s[start..p]), p)
    }

    /// Advance to the next token.
    fn next(&mut self) -> Result<Tok, PgError> {
        self.skip_ws();
        self.tok_start = self.pos;
        if self.pos >= self.b.len() {
            self.tok = Tok::End;
            return Ok(Tok::End);
        }
        let c = self.b[self.pos];
        let t = match c {
            b'{' => Tok::ObjStart,
            b'}' => Tok::ObjEnd,
            b'[' => Tok::ArrStart,
            b']' => Tok::ArrEnd,
            b',' => Tok::Comma,
            b':' => Tok::Colon,
            b'"' => {
                self.string()?;
                self.tok = Tok::Str;
                return Ok(Tok::Str);
            }
            b'-' | b'0'..=b'9' => {
                self.number()?;
                self.tok = Tok::Num;
                return Ok(Tok::Num);
            }
            _ => {
                let start = self.pos;
                let mut p = start;
                while p < self.b.len() && is_alnum(self.b[p]) {
                    p += 1;
                }
                let t = match &self.s[start..p] {
                    "true" => Tok::True,
                    "false" => Tok::False,
                    "null" => Tok::Null,
                    _ => {
                        if p == start {
                            // One character that starts no token.
                            let mut q = start + 1;
                            while !self.s.is_char_boundary(q) {
                                q += 1;
                            }
                            self.tok = Tok::Str;
                            return Err(self
                                .error(format!("Token \"{}\" is invalid.", &self.s[start..q]), q));
                        }
                        return Err(self.invalid_token(start));
                    }
                };
                self.pos = p;
                self.tok = t;
                return Ok(t);
            }
        };
        self.pos += 1;
        self.tok = t;
        Ok(t)
    }

    fn number(&mut self) -> Result<(), PgError> {
        let start = self.pos;
        let b = self.b;
        let mut p = start;
        if b[p] == b'-' {
            p += 1;
        }
        let digits = |mut p: usize| {
            let s = p;
            while p < b.len() && b[p].is_ascii_digit() {
                p += 1;
            }
            (p, p > s)
        };
        let mut ok;
        if p < b.len() && b[p] == b'0' {
            p += 1;
            ok = true;
        } else {
            let (q, any) = digits(p);
            p = q;
            ok = any;
        }
        if ok && p < b.len() && b[p] == b'.' {
            let (q, any) = digits(p + 1);
            p = q;
            ok = any;
        }
        if ok && p < b.len() && (b[p] == b'e' || b[p] == b'E') {
            p += 1;
            if p < b.len() && (b[p] == b'+' || b[p] == b'-') {
                p += 1;
            }
            let (q, any) = digits(p);
            p = q;
            ok = any;
        }
        if !ok || (p < b.len() && is_alnum(b[p])) {
            // The whole run of word characters is the bad token.
            let mut q = p;
            while q < b.len() && (is_alnum(b[q]) || b[q] == b'.' || b[q] == b'+' || b[q] == b'-') {
                q += 1;
            }
            while !self.s.is_char_boundary(q) {
                q += 1;
            }
            if q == start + 1 && b[start] == b'-' && q >= b.len() {
                self.tok = Tok::End;
                return Err(self.error("The input string ended unexpectedly.".into(), q));
            }
            self.tok = Tok::Str;
            return Err(self.error(format!("Token \"{}\" is invalid.", &self.s[start..q]), q));
        }
        self.pos = p;
        Ok(())
    }

    fn string(&mut self) -> Result<(), PgError> {
        let b = self.b;
        let mut p = self.pos + 1;
        let mut out = String::new();
        let mut run = p;
        loop {
            if p >= b.len() {
                // An unterminated string is one invalid token to the end.
                self.tok = Tok::End;
                let start = self.pos;
                return Err(self.error(format!("Token \"{}\" is invalid.", &self.s[start..]), p));
            }
            let c = b[p];
            if c == b'"' {
                out.push_str(&self.s[run..p]);
                p += 1;
                break;
            }
            if c < 0x20 {
                self.tok = Tok::Str;
                return Err(self.error(
                    format!("Character with value 0x{c:02x} must be escaped."),
                    p,
                ));
            }
            if c != b'\\' {
                p += 1;
                continue;
            }
            out.push_str(&self.s[run..p]);
            p += 1;
            if p >= b.len() {
                // An unterminated string is one invalid token to the end.
                self.tok = Tok::End;
                let start = self.pos;
                return Err(self.error(format!("Token \"{}\" is invalid.", &self.s[start..]), p));
            }
            match b[p] {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let (cp, q) = self.hex4(p + 1)?;
                    p = q - 1;
                    let cp = if (0xD800..0xDC00).contains(&cp) {
                        // A high surrogate must be followed by a low one.
                        if q + 1 < b.len() && b[q] == b'\\' && b[q + 1] == b'u' {
                            let (lo, q2) = self.hex4(q + 2)?;
                            if !(0xDC00..0xE000).contains(&lo) {
                                self.tok = Tok::Str;
                                return Err(self.error(
                                    "Unicode high surrogate must not follow a high surrogate."
                                        .into(),
                                    q2,
                                ));
                            }
                            p = q2 - 1;
                            0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                        } else {
                            self.tok = Tok::Str;
                            let end = (q + 1).min(b.len());
                            return Err(self.error(
                                "Unicode low surrogate must follow a high surrogate.".into(),
                                end,
                            ));
                        }
                    } else if (0xDC00..0xE000).contains(&cp) {
                        self.tok = Tok::Str;
                        return Err(self.error(
                            "Unicode low surrogate must follow a high surrogate.".into(),
                            q,
                        ));
                    } else {
                        cp
                    };
                    if cp == 0 && self.mode == Mode::Jsonb {
                        self.tok = Tok::Str;
                        return Err(PgError::error(
                            UNTRANSLATABLE_CHARACTER,
                            "unsupported Unicode escape sequence",
                        )
                        .with_detail("\\u0000 cannot be converted to text.")
                        .with_context(self.context(q)));
                    }
                    if cp == 0 {
                        out.push_str("\\u0000");
                    } else {
                        out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                    }
                }
                _ => {
                    let mut q = p + 1;
                    while !self.s.is_char_boundary(q) {
                        q += 1;
                    }
                    self.tok = Tok::Str;
                    return Err(self.error(
                        format!("Escape sequence \"\\{}\" is invalid.", &self.s[p..q]),
                        q,
                    ));
                }
            }
            p += 1;
            run = p;
        }
        self.pos = p;
        self.text = out;
        Ok(())
    }

    /// Four hex digits at `p`: the code unit and the position after them.
    fn hex4(&mut self, p: usize) -> Result<(u32, usize), PgError> {
        let b = self.b;
        let mut v = 0u32;
        for i in 0..4 {
            let d = b.get(p + i).and_then(|c| (*c as char).to_digit(16));
            match d {
                Some(d) => v = v * 16 + d,
                None => {
                    let mut q = (p + i + 1).min(b.len());
                    while !self.s.is_char_boundary(q) {
                        q += 1;
                    }
                    self.tok = Tok::Str;
                    return Err(self.error(
                        "\"\\u\" must be followed by four hexadecimal digits.".into(),
                        q,
                    ));
                }
            }
        }
        Ok((v, p + 4))
    }

    fn found(&self) -> String {
        if self.tok == Tok::End {
            String::new()
        } else {
            self.s[self.tok_start..self.pos].to_string()
        }
    }

    /// The error for an unexpected token where `expected` was wanted.
    fn expected(&self, expected: &str) -> PgError {
        if self.tok == Tok::End {
            return self.error("The input string ended unexpectedly.".into(), self.pos);
        }
        self.error(
            format!("Expected {expected}, but found \"{}\".", self.found()),
            self.pos,
        )
    }
}

struct Parser<'a> {
    lx: Lexer<'a>,
    depth: usize,
}

/// Nesting beyond this is refused as PostgreSQL's stack check would
/// (its default 2MB max_stack_depth), well before a debug build's
/// recursive parse, print, compare or drop of the tree could overflow the
/// backend's stack.
const MAX_DEPTH: usize = 1000;

impl<'a> Parser<'a> {
    /// Parse one value whose first token is current; leaves the token
    /// after it current.
    fn value(&mut self) -> Result<Jsonb, PgError> {
        let v = match self.lx.tok {
            Tok::ObjStart => return self.object(),
            Tok::ArrStart => return self.array(),
            Tok::Str => Jsonb::String(std::mem::take(&mut self.lx.text)),
            Tok::Num => {
                let t = &self.lx.s[self.lx.tok_start..self.lx.pos];
                match Numeric::parse(t) {
                    Ok(n) => Jsonb::Number(n),
                    Err(_) => {
                        return Err(PgError::error(
                            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                            "value overflows numeric format",
                        ))
                    }
                }
            }
            Tok::True => Jsonb::Bool(true),
            Tok::False => Jsonb::Bool(false),
            Tok::Null => Jsonb::Null,
            _ => return Err(self.lx.expected("JSON value")),
        };
        self.lx.next()?;
        Ok(v)
    }

    fn enter(&mut self) -> Result<(), PgError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PgError::error(
                sqlstate::STATEMENT_TOO_COMPLEX,
                "stack depth limit exceeded",
            )
            .with_hint("Increase the configuration parameter \"max_stack_depth\" (currently 2048kB), after ensuring the platform's stack depth limit is adequate."));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Jsonb, PgError> {
        self.enter()?;
        let mut pairs = Vec::new();
        let t = self.lx.next()?;
        if t != Tok::ObjEnd {
            loop {
                if self.lx.tok != Tok::Str {
                    return Err(self.lx.expected(if pairs.is_empty() {
                        "string or \"}\""
                    } else {
                        "string"
                    }));
                }
                let key = std::mem::take(&mut self.lx.text);
                if self.lx.next()? != Tok::Colon {
                    return Err(self.lx.expected("\":\""));
                }
                self.lx.next()?;
                let v = self.value()?;
                pairs.push((key, v));
                match self.lx.tok {
                    Tok::Comma => {
                        self.lx.next()?;
                    }
                    Tok::ObjEnd => break,
                    _ => return Err(self.lx.expected("\",\" or \"}\"")),
                }
            }
        }
        self.lx.next()?;
        self.depth -= 1;
        Ok(if self.lx.mode == Mode::Jsonb {
            Jsonb::object(pairs)
        } else {
            Jsonb::Object(pairs)
        })
    }

    fn array(&mut self) -> Result<Jsonb, PgError> {
        self.enter()?;
        let mut items = Vec::new();
        let t = self.lx.next()?;
        if t != Tok::ArrEnd {
            loop {
                if matches!(
                    self.lx.tok,
                    Tok::ArrEnd | Tok::ObjEnd | Tok::Comma | Tok::Colon
                ) || self.lx.tok == Tok::End
                {
                    return Err(self.lx.expected(if items.is_empty() {
                        "array element or \"]\""
                    } else {
                        "JSON value"
                    }));
                }
                items.push(self.value()?);
                match self.lx.tok {
                    Tok::Comma => {
                        self.lx.next()?;
                    }
                    Tok::ArrEnd => break,
                    _ => return Err(self.lx.expected("\",\" or \"]\"")),
                }
            }
        }
        self.lx.next()?;
        self.depth -= 1;
        Ok(Jsonb::Array(items))
    }
}

fn parse_mode(s: &str, mode: Mode) -> Result<Jsonb, PgError> {
    let mut p = Parser {
        lx: Lexer::new(s, mode),
        depth: 0,
    };
    p.lx.next()?;
    let v = p.value()?;
    if p.lx.tok != Tok::End {
        return Err(p.lx.expected("end of input"));
    }
    Ok(v)
}

/// jsonb_in: parse and normalise.
pub fn parse_jsonb(s: &str) -> Result<Jsonb, PgError> {
    parse_mode(s, Mode::Jsonb)
}

/// json_in: validate only (the text is kept as written).
pub fn validate_json(s: &str) -> Result<(), PgError> {
    parse_mode(s, Mode::Json).map(|_| ())
}

/// A json text read as a tree, object pairs in written order with
/// duplicates kept (for json's functions that do not need the verbatim
/// text). `\u0000` stays escaped.
pub fn parse_json_tree(s: &str) -> Result<Jsonb, PgError> {
    parse_mode(s, Mode::Json)
}

/// The top level of a json text, with each member's verbatim text.
#[derive(Debug, PartialEq)]
pub enum Raw<'a> {
    Scalar(Jsonb),
    Array(Vec<&'a str>),
    Object(Vec<(String, &'a str)>),
}

/// Split a json text into its top-level members' verbatim slices
/// (validating the whole text first, so errors are json_in's).
pub fn raw_children(s: &str) -> Result<Raw<'_>, PgError> {
    let tree = parse_mode(s, Mode::Json)?;
    let mut p = Parser {
        lx: Lexer::new(s, Mode::Json),
        depth: 0,
    };
    p.lx.next()?;
    Ok(match p.lx.tok {
        Tok::ObjStart => {
            let mut out = Vec::new();
            p.lx.next()?;
            while p.lx.tok == Tok::Str {
                let key = std::mem::take(&mut p.lx.text);
                p.lx.next()?; // colon
                p.lx.next()?;
                let start = p.lx.tok_start;
                p.value()?;
                let end = last_non_ws(s, start, p.lx.tok_start);
                out.push((key, &s[start..end]));
                if p.lx.tok == Tok::Comma {
                    p.lx.next()?;
                }
            }
            Raw::Object(out)
        }
        Tok::ArrStart => {
            let mut out = Vec::new();
            p.lx.next()?;
            while p.lx.tok != Tok::ArrEnd && p.lx.tok != Tok::End {
                let start = p.lx.tok_start;
                p.value()?;
                let end = last_non_ws(s, start, p.lx.tok_start);
                out.push(&s[start..end]);
                if p.lx.tok == Tok::Comma {
                    p.lx.next()?;
                }
            }
            Raw::Array(out)
        }
        _ => Raw::Scalar(tree),
    })
}

fn last_non_ws(s: &str, start: usize, mut end: usize) -> usize {
    let b = s.as_bytes();
    while end > start && matches!(b[end - 1], b' ' | b'\t' | b'\n' | b'\r') {
        end -= 1;
    }
    end
}

// ---------------------------------------------------------------------------
// Output.

/// escape_json: a JSON string literal for `s`.
pub fn escape_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    escape_into(&mut out, s);
    out
}

/// jsonb_out: `{"a": 1, "b": [1, 2]}`.
pub fn to_text(v: &Jsonb) -> String {
    let mut out = String::new();
    write(v, &mut out);
    out
}

fn write(v: &Jsonb, out: &mut String) {
    match v {
        Jsonb::Null => out.push_str("null"),
        Jsonb::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Jsonb::Number(n) => out.push_str(&n.to_text()),
        Jsonb::String(s) => escape_into(out, s),
        Jsonb::Datetime(d) => escape_into(out, &d.to_json_text()),
        Jsonb::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(x, out);
            }
            out.push(']');
        }
        Jsonb::Object(p) => {
            out.push('{');
            for (i, (k, x)) in p.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                escape_into(out, k);
                out.push_str(": ");
                write(x, out);
            }
            out.push('}');
        }
    }
}

/// jsonb_pretty: four-space indentation, one member per line.
pub fn pretty(v: &Jsonb) -> String {
    let mut out = String::new();
    write_pretty(v, 0, &mut out);
    out
}

fn write_pretty(v: &Jsonb, level: usize, out: &mut String) {
    let pad = |out: &mut String, n: usize| {
        for _ in 0..n {
            out.push_str("    ");
        }
    };
    match v {
        Jsonb::Array(a) => {
            out.push_str("[\n");
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                pad(out, level + 1);
                write_pretty(x, level + 1, out);
            }
            if !a.is_empty() {
                out.push('\n');
            }
            pad(out, level);
            out.push(']');
        }
        Jsonb::Object(p) => {
            out.push_str("{\n");
            for (i, (k, x)) in p.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                pad(out, level + 1);
                escape_into(out, k);
                out.push_str(": ");
                write_pretty(x, level + 1, out);
            }
            if !p.is_empty() {
                out.push('\n');
            }
            pad(out, level);
            out.push('}');
        }
        other => write(other, out),
    }
}

/// The text `->>` and friends give for a value: a string unquoted, null
/// as SQL NULL (None), anything else as jsonb_out.
pub fn as_text(v: &Jsonb) -> Option<String> {
    match v {
        Jsonb::Null => None,
        Jsonb::String(s) => Some(s.clone()),
        other => Some(to_text(other)),
    }
}

// ---------------------------------------------------------------------------
// Order.

fn rank(v: &Jsonb) -> u8 {
    match v {
        Jsonb::Null => 0,
        Jsonb::String(_) | Jsonb::Datetime(_) => 1,
        Jsonb::Number(_) => 2,
        Jsonb::Bool(_) => 3,
        Jsonb::Array(_) => 4,
        Jsonb::Object(_) => 5,
    }
}

/// jsonb's btree order (compareJsonbContainers). A top-level scalar is
/// stored as a one-element "raw scalar" array, so at the top a scalar
/// sorts among arrays by length (`[]` < `null` < `[1]` < `[1, 2]`), below
/// a real array of the same length; objects sort above all of them.
pub fn compare(a: &Jsonb, b: &Jsonb) -> Ordering {
    let len = |v: &Jsonb| match v {
        Jsonb::Array(x) => x.len(),
        _ => 1,
    };
    match (a, b) {
        (Jsonb::Object(_), _) | (_, Jsonb::Object(_)) => compare_inner(a, b),
        _ => len(a)
            .cmp(&len(b))
            .then_with(|| match (a.is_scalar(), b.is_scalar()) {
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                _ => compare_inner(a, b),
            }),
    }
}

/// Below the top: by kind null < string < number < boolean < array <
/// object; arrays by length then elements, objects by pair count then
/// key/value pairs in storage order.
fn compare_inner(a: &Jsonb, b: &Jsonb) -> Ordering {
    match (a, b) {
        (Jsonb::Null, Jsonb::Null) => Ordering::Equal,
        (Jsonb::String(x), Jsonb::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Jsonb::Number(x), Jsonb::Number(y)) => x.cmp_total(y),
        (Jsonb::Bool(x), Jsonb::Bool(y)) => x.cmp(y),
        (Jsonb::Array(x), Jsonb::Array(y)) => x.len().cmp(&y.len()).then_with(|| {
            for (p, q) in x.iter().zip(y) {
                let c = compare_inner(p, q);
                if c != Ordering::Equal {
                    return c;
                }
            }
            Ordering::Equal
        }),
        (Jsonb::Object(x), Jsonb::Object(y)) => x.len().cmp(&y.len()).then_with(|| {
            for ((kp, p), (kq, q)) in x.iter().zip(y) {
                let c = kp
                    .as_bytes()
                    .cmp(kq.as_bytes())
                    .then_with(|| compare_inner(p, q));
                if c != Ordering::Equal {
                    return c;
                }
            }
            Ordering::Equal
        }),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// A text of `v` equal for jsonb values [`compare`] calls equal (numbers
/// without trailing fractional zeros), for hashing (jsonb_hash).
pub fn hash_form(v: &Jsonb) -> String {
    fn norm(v: &Jsonb) -> Jsonb {
        match v {
            Jsonb::Number(n) => {
                let t = n.to_text();
                let t = if t.contains('.') && !t.contains('e') {
                    t.trim_end_matches('0').trim_end_matches('.').to_string()
                } else {
                    t
                };
                Jsonb::String(format!("#{t}"))
            }
            Jsonb::Array(a) => Jsonb::Array(a.iter().map(norm).collect()),
            Jsonb::Object(p) => {
                Jsonb::Object(p.iter().map(|(k, x)| (k.clone(), norm(x))).collect())
            }
            other => other.clone(),
        }
    }
    to_text(&norm(v))
}

/// `a @> b` (JsonbDeepContains): every member of `b` is in `a`; an array
/// contains a scalar element; a top-level scalar contains only itself.
pub fn contains(a: &Jsonb, b: &Jsonb) -> bool {
    contains_at(a, b, true)
}

fn contains_at(a: &Jsonb, b: &Jsonb, top: bool) -> bool {
    match (a, b) {
        (Jsonb::Object(x), Jsonb::Object(y)) => {
            y.iter().all(
                |(k, v)| match x.binary_search_by(|(kk, _)| key_order(kk, k)) {
                    Ok(i) => {
                        let have = &x[i].1;
                        if v.is_scalar() || have.is_scalar() {
                            compare(have, v) == Ordering::Equal
                        } else {
                            contains_at(have, v, false)
                        }
                    }
                    Err(_) => false,
                },
            )
        }
        (Jsonb::Array(x), Jsonb::Array(y)) => y.iter().all(|v| {
            if v.is_scalar() {
                x.iter().any(|h| compare(h, v) == Ordering::Equal)
            } else {
                x.iter().any(|h| {
                    std::mem::discriminant(h) == std::mem::discriminant(v)
                        && contains_at(h, v, false)
                })
            }
        }),
        // A top-level array contains a raw scalar that is one of its
        // elements.
        (Jsonb::Array(x), s) if top && s.is_scalar() => {
            x.iter().any(|h| compare(h, s) == Ordering::Equal)
        }
        (x, y) if x.is_scalar() && y.is_scalar() => compare(x, y) == Ordering::Equal,
        _ => false,
    }
}

/// `?`: a top-level key, an array string element, or the scalar string.
pub fn exists(a: &Jsonb, key: &str) -> bool {
    match a {
        Jsonb::Object(_) => a.get(key).is_some(),
        Jsonb::Array(x) => x.iter().any(|v| matches!(v, Jsonb::String(s) if s == key)),
        Jsonb::String(s) => s == key,
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Casts.

/// The casts out of json and jsonb that are not the output function:
/// json <-> jsonb, and jsonb scalars to numeric, integer, float and
/// boolean types (PostgreSQL 15's jsonb_numeric, jsonb_int4, jsonb_bool...).
/// `None` when `v` is neither json nor jsonb (or the target is a string,
/// which the output function serves).
pub fn cast(v: &Value, to: Oid) -> Result<Option<Value>, PgError> {
    Ok(Some(match (v, to) {
        (Value::Json(s), types::JSONB) => Value::Jsonb(Box::new(parse_jsonb(s)?)),
        (Value::Jsonb(j), types::JSON) => Value::Json(to_text(j)),
        (Value::Jsonb(j), t) if t == types::BOOL || types::numeric_rank(t).is_some() => {
            // format_type's spelling, as PostgreSQL's message shows it.
            let want = types::sql_name(t);
            let wrong = |j: &Jsonb| {
                let what = match j {
                    Jsonb::Null => "null",
                    Jsonb::Bool(_) => "boolean",
                    Jsonb::Number(_) => "numeric",
                    Jsonb::String(_) | Jsonb::Datetime(_) => "string",
                    Jsonb::Array(_) => "array",
                    Jsonb::Object(_) => "object",
                };
                PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("cannot cast jsonb {what} to type {want}"),
                )
            };
            match (j.as_ref(), t) {
                (Jsonb::Bool(b), types::BOOL) => Value::Bool(*b),
                (Jsonb::Number(n), t) if t != types::BOOL => {
                    crate::cast::cast(Value::Numeric(n.clone()), types::NUMERIC, Ty::new(t), 0)?
                }
                (other, _) => return Err(wrong(other)),
            }
        }
        _ => return Ok(None),
    }))
}

// ---------------------------------------------------------------------------
// Binary forms.

/// jsonb_send: version 1, then the text.
pub fn send_jsonb(v: &Jsonb) -> Vec<u8> {
    let mut out = vec![1u8];
    out.extend_from_slice(to_text(v).as_bytes());
    out
}

/// jsonb_recv: version 1 and the text.
pub fn recv_jsonb(b: &[u8]) -> Result<Jsonb, PgError> {
    match b.split_first() {
        Some((1, rest)) => {
            let s = std::str::from_utf8(rest).map_err(|_| {
                PgError::error(
                    sqlstate::CHARACTER_NOT_IN_REPERTOIRE,
                    "invalid byte sequence for encoding \"UTF8\"",
                )
            })?;
            parse_jsonb(s)
        }
        Some((v, _)) => Err(PgError::error(
            sqlstate::INTERNAL_ERROR,
            format!("unsupported jsonb version number {v}"),
        )),
        None => Err(PgError::error(
            sqlstate::PROTOCOL_VIOLATION,
            "insufficient data left in message",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jb(s: &str) -> String {
        to_text(&parse_jsonb(s).unwrap())
    }

    fn err(s: &str) -> (String, String, String) {
        let e = parse_jsonb(s).unwrap_err();
        (
            e.message.clone(),
            e.detail.clone().unwrap_or_default(),
            e.context.as_deref().cloned().unwrap_or_default(),
        )
    }

    /// Outputs checked against PostgreSQL 15 (`SELECT '...'::jsonb`).
    #[test]
    fn jsonb_output_is_normalised() {
        assert_eq!(jb(r#"{"b":[1,2],"a":1}"#), r#"{"a": 1, "b": [1, 2]}"#);
        assert_eq!(
            jb(r#"{"aa":1,"b":2,"a":3}"#),
            r#"{"a": 3, "b": 2, "aa": 1}"#
        );
        assert_eq!(jb(r#"{"a":1,"a":2}"#), r#"{"a": 2}"#);
        assert_eq!(jb("1.50"), "1.50");
        assert_eq!(jb("1e2"), "100");
        assert_eq!(jb(" \"x\\ty\\u0041\" "), r#""x\tyA""#);
        assert_eq!(jb("[]"), "[]");
        assert_eq!(jb("{}"), "{}");
        assert_eq!(jb("[null,true,false]"), "[null, true, false]");
        assert_eq!(jb(r#""\ud83d\ude00""#), "\"😀\"");
    }

    #[test]
    fn errors_are_postgresqls() {
        assert_eq!(
            err("x"),
            (
                "invalid input syntax for type json".into(),
                "Token \"x\" is invalid.".into(),
                "JSON data, line 1: x".into()
            )
        );
        assert_eq!(err("{\"a\":1").1, "The input string ended unexpectedly.");
        assert_eq!(err("{\"a\":1").2, "JSON data, line 1: {\"a\":1");
        assert_eq!(err("[1,]").1, "Expected JSON value, but found \"]\".");
        assert_eq!(err("[1,]").2, "JSON data, line 1: [1,]");
        assert_eq!(err("{1:2}").1, "Expected string or \"}\", but found \"1\".");
        assert_eq!(err("{1:2}").2, "JSON data, line 1: {1...");
        assert_eq!(err("[1] 2").1, "Expected end of input, but found \"2\".");
        assert_eq!(err("01").1, "Token \"01\" is invalid.");
        assert_eq!(err("{\"a\" 1}").1, "Expected \":\", but found \"1\".");
        assert_eq!(err("\"\\a\"").1, "Escape sequence \"\\a\" is invalid.");
        assert_eq!(err("[1\n,x]").2, "JSON data, line 2: ,x...");
        let e = parse_jsonb("\"\\u0000\"").unwrap_err();
        assert_eq!(e.code, "22P05");
        assert!(validate_json("\"\\u0000\"").is_ok());
        assert_eq!(err("").1, "The input string ended unexpectedly.");
        assert_eq!(err("\"abc").1, "Token \"\"abc\" is invalid.");
        assert_eq!(err("\"abc\ndef\"").2, "JSON data, line 1: \"abc");
    }

    #[test]
    fn order_and_containment() {
        let p = |s: &str| parse_jsonb(s).unwrap();
        let order = [
            "[]",
            "null",
            "\"a\"",
            "1",
            "true",
            "[1]",
            "[1,2]",
            "{}",
            "{\"a\":1}",
        ];
        for w in order.windows(2) {
            assert_eq!(compare(&p(w[0]), &p(w[1])), Ordering::Less, "{w:?}");
        }
        assert_eq!(compare(&p("1.0"), &p("1")), Ordering::Equal);
        assert!(contains(&p(r#"{"a":1,"b":[1,2]}"#), &p(r#"{"b":[2]}"#)));
        assert!(!contains(&p(r#"{"a":1}"#), &p(r#"{"a":2}"#)));
        assert!(contains(&p("[1,2,3]"), &p("1")));
        assert!(exists(&p(r#"{"a":1}"#), "a"));
        assert!(exists(&p(r#"["a"]"#), "a"));
    }

    #[test]
    fn raw_children_keep_the_text() {
        let Raw::Object(o) = raw_children("{\"a\":  [1,  2] , \"a\": 3}").unwrap() else {
            panic!()
        };
        assert_eq!(o, vec![("a".into(), "[1,  2]"), ("a".into(), "3")]);
        let Raw::Array(a) = raw_children("[ 1 , {\"x\" : 2} ]").unwrap() else {
            panic!()
        };
        assert_eq!(a, vec!["1", "{\"x\" : 2}"]);
    }

    /// Run on an 8 MB stack, a backend's (the main thread of a forked
    /// process), not the test harness's 2 MB threads: the limit is sized
    /// for the backend, with room to spare in a debug build.
    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(|| {
                let e = parse_jsonb(&"[".repeat(100_000)).unwrap_err();
                assert_eq!(
                    (e.code.as_str(), e.message.as_str()),
                    ("54001", "stack depth limit exceeded")
                );
                let ok = format!("{}{}", "[".repeat(999), "]".repeat(999));
                assert_eq!(to_text(&parse_jsonb(&ok).unwrap()), ok);
            })
            .expect("spawn")
            .join()
            .expect("no overflow");
    }

    #[test]
    fn binary_round_trip() {
        let v = parse_jsonb(r#"{"a":[1,"x"]}"#).unwrap();
        let b = send_jsonb(&v);
        assert_eq!(b[0], 1);
        assert_eq!(recv_jsonb(&b).unwrap(), v);
    }
}
