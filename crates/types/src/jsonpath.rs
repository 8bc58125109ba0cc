//! The `jsonpath` type: PostgreSQL 15's SQL/JSON path language parsed
//! into a tree, and printed back in PostgreSQL's normalised form.
//!
//! Why a value keeps the normalised text and not the tree: a jsonpath
//! value is only ever printed or executed, and re-parsing the normalised
//! text is cheap, so `Value::Text` carries it (the column type says it is
//! a jsonpath) and no new value variant ripples through every match on
//! `Value`. tusk-sql's jsonpath.rs executes the tree.
//!
//! The lexer follows jsonpath_scan.l's longest-match rules, because the
//! error texts depend on them: a number directly followed by an
//! identifier character is "trailing junk", unless a run of identifier
//! characters is longer (`0755`, `1_000` scan as one identifier, and the
//! parser then fails "at end" as PostgreSQL's does). The grammar is
//! jsonpath_gram.y's, read with precedence climbing; predicates and
//! expressions are parsed alike and their places checked afterwards.
//!
//! Pure functions; any process may call them.

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::numeric::Numeric;

/// A parsed path: its mode and its expression.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    pub lax: bool,
    pub expr: Chain,
}

/// An item followed by its accessors (PostgreSQL's `next` links).
pub type Chain = Vec<Node>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    StartsWith,
}

impl BinOp {
    pub fn name(self) -> &'static str {
        match self {
            BinOp::And => "&&",
            BinOp::Or => "||",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Gt => ">",
            BinOp::Le => "<=",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::StartsWith => "starts with",
        }
    }

    fn priority(self) -> u8 {
        match self {
            BinOp::Or => 0,
            BinOp::And => 1,
            BinOp::Add | BinOp::Sub => 3,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 4,
            _ => 2,
        }
    }

    /// Whether the operator yields a truth value (a predicate).
    pub fn is_predicate(self) -> bool {
        !matches!(
            self,
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Type,
    Size,
    Abs,
    Floor,
    Ceiling,
    Double,
    KeyValue,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Type => "type",
            Method::Size => "size",
            Method::Abs => "abs",
            Method::Floor => "floor",
            Method::Ceiling => "ceiling",
            Method::Double => "double",
            Method::KeyValue => "keyvalue",
        }
    }
}

/// like_regex flag bits, in the order PostgreSQL prints them.
pub const RE_ICASE: u8 = 1;
pub const RE_DOTALL: u8 = 2;
pub const RE_MLINE: u8 = 4;
pub const RE_WSPACE: u8 = 8;
pub const RE_QUOTE: u8 = 16;

/// `.**{first to last}`: `u32::MAX` stands for `last`.
pub const ANY_LAST: u32 = u32::MAX;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Numeric(Numeric),
    String(String),
    Var(String),
    Root,
    Current,
    Last,
    Binary(BinOp, Box<Chain>, Box<Chain>),
    Plus(Box<Chain>),
    Minus(Box<Chain>),
    Not(Box<Chain>),
    IsUnknown(Box<Chain>),
    Exists(Box<Chain>),
    LikeRegex(Box<Chain>, String, u8),
    Key(String),
    AnyKey,
    AnyArray,
    /// Subscripts: each an index or a `from to to` range.
    Index(Vec<(Chain, Option<Chain>)>),
    Any(u32, u32),
    Filter(Box<Chain>),
    Method(Method),
    Datetime(Option<String>),
}

impl Node {
    fn priority(&self) -> u8 {
        match self {
            Node::Binary(op, ..) => op.priority(),
            Node::Plus(_) | Node::Minus(_) => 5,
            Node::LikeRegex(..) => 2,
            _ => 6,
        }
    }
}

/// Whether a chain is a bare predicate (one item yielding a truth value).
pub fn is_predicate(c: &Chain) -> bool {
    c.len() == 1
        && match &c[0] {
            Node::Binary(op, ..) => op.is_predicate(),
            Node::Not(_) | Node::IsUnknown(_) | Node::Exists(_) | Node::LikeRegex(..) => true,
            _ => false,
        }
}

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A one-character special (`$ @ . [ ] ( ) ...`).
    Ch(char),
    And,
    Or,
    Not,
    AnyPath,
    Less,
    LessEq,
    Equal,
    NotEqual,
    GreaterEq,
    Greater,
    Var(String),
    Str(String),
    Ident(String),
    Num(String),
    Int(String),
}

/// A token and the text an error "at or near" it shows (`None`: at end).
struct Token {
    tok: Tok,
    text: Option<String>,
}

fn syntax_error(msg: &str, near: Option<&str>) -> PgError {
    let m = match near {
        Some(t) => format!("{msg} at or near \"{t}\" of jsonpath input"),
        None => format!("{msg} at end of jsonpath input"),
    };
    PgError::error(sqlstate::SYNTAX_ERROR, m)
}

fn invalid(detail: &str) -> PgError {
    PgError::error(
        sqlstate::INVALID_TEXT_REPRESENTATION,
        "invalid input syntax for type jsonpath",
    )
    .with_detail(detail)
}

fn is_special(c: char) -> bool {
    "?%$.[]{}()|&!=<>@#,*:-+/".contains(c)
}

/// jsonpath_scan.l's `other`: a character that may continue a non-quoted
/// identifier.
fn is_other(c: char) -> bool {
    !is_special(c) && !matches!(c, '\\' | '"' | '\'' | ' ' | '\t' | '\n' | '\r' | '\x0c')
}

fn hexval(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

/// Reads an escape after a backslash at `b[i]`; returns the new index.
fn read_escape(b: &[u8], i: usize, out: &mut String) -> Result<usize, PgError> {
    let Some(&c) = b.get(i + 1) else {
        return Err(syntax_error("unexpected end after backslash", None));
    };
    let simple = match c {
        b'"' => Some('"'),
        b'\'' => Some('\''),
        b'\\' => Some('\\'),
        b'b' => Some('\u{8}'),
        b'f' => Some('\u{c}'),
        b'n' => Some('\n'),
        b'r' => Some('\r'),
        b't' => Some('\t'),
        b'v' => Some('\u{b}'),
        _ => None,
    };
    if let Some(s) = simple {
        out.push(s);
        return Ok(i + 2);
    }
    let bad_unicode = || syntax_error("invalid unicode sequence", None);
    match c {
        b'u' => {
            // One or more \uXXXX / \u{X...} sequences with surrogates.
            let mut j = i;
            let mut hi: Option<u32> = None;
            loop {
                if b.get(j) != Some(&b'\\') || b.get(j + 1) != Some(&b'u') {
                    break;
                }
                let mut k = j + 2;
                let mut ch = 0u32;
                if b.get(k) == Some(&b'{') {
                    k += 1;
                    let start = k;
                    while k < b.len() && b[k] != b'}' {
                        ch = (ch << 4) | hexval(b[k]).ok_or_else(bad_unicode)?;
                        k += 1;
                    }
                    if k >= b.len() || k == start || k - start > 6 {
                        return Err(bad_unicode());
                    }
                    k += 1;
                } else {
                    for _ in 0..4 {
                        let d = b.get(k).copied().and_then(hexval).ok_or_else(bad_unicode)?;
                        ch = (ch << 4) | d;
                        k += 1;
                    }
                }
                j = k;
                if (0xd800..=0xdbff).contains(&ch) {
                    if hi.is_some() {
                        return Err(invalid(
                            "Unicode high surrogate must not follow a high surrogate.",
                        ));
                    }
                    hi = Some((ch & 0x3ff) << 10);
                    continue;
                }
                if (0xdc00..=0xdfff).contains(&ch) {
                    let Some(h) = hi.take() else {
                        return Err(invalid(
                            "Unicode low surrogate must follow a high surrogate.",
                        ));
                    };
                    ch = 0x10000 + h + (ch & 0x3ff);
                } else if hi.is_some() {
                    return Err(invalid(
                        "Unicode low surrogate must follow a high surrogate.",
                    ));
                }
                if ch == 0 {
                    return Err(PgError::error(
                        sqlstate::SqlState::new("22P05"),
                        "unsupported Unicode escape sequence",
                    )
                    .with_detail("\\u0000 cannot be converted to text."));
                }
                out.push(char::from_u32(ch).ok_or_else(bad_unicode)?);
            }
            if hi.is_some() {
                return Err(invalid(
                    "Unicode low surrogate must follow a high surrogate.",
                ));
            }
            Ok(j)
        }
        b'x' => {
            let (Some(h), Some(l)) = (
                b.get(i + 2).copied().and_then(hexval),
                b.get(i + 3).copied().and_then(hexval),
            ) else {
                return Err(syntax_error("invalid hex character sequence", None));
            };
            let ch = (h << 4) | l;
            if ch == 0 {
                return Err(PgError::error(
                    sqlstate::SqlState::new("22P05"),
                    "unsupported Unicode escape sequence",
                )
                .with_detail("\\u0000 cannot be converted to text."));
            }
            out.push(char::from_u32(ch).unwrap_or('?'));
            Ok(i + 4)
        }
        _ => {
            // Any other escaped character stands for itself.
            let s = std::str::from_utf8(&b[i + 1..]).unwrap_or("");
            let ch = s.chars().next().unwrap_or('\\');
            out.push(ch);
            Ok(i + 1 + ch.len_utf8())
        }
    }
}

/// The length of a numeric literal at `b[i..]` (PostgreSQL 15's integer,
/// decimal and real patterns) and whether it is an integer; 0 for none.
fn number_len(b: &[u8]) -> (usize, bool) {
    let digits = |from: usize| {
        let mut k = from;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        k
    };
    let mut k;
    let mut int = true;
    if b.first() == Some(&b'.') {
        let e = digits(1);
        if e == 1 {
            return (0, false);
        }
        k = e;
        int = false;
    } else if b.first().is_some_and(|c| c.is_ascii_digit()) {
        k = if b[0] == b'0' { 1 } else { digits(0) };
        if b.get(k) == Some(&b'.') {
            k = digits(k + 1);
            int = false;
        }
    } else {
        return (0, false);
    }
    if matches!(b.get(k), Some(b'e' | b'E')) {
        let mut e = k + 1;
        if matches!(b.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let d = digits(e);
        if d > e {
            k = d;
            int = false;
        }
    }
    (k, int)
}

/// The tokens of `s`, and the scanner's error after them if any: the
/// parser meets that error only when it reads that far, as bison does.
fn lex(s: &str) -> (Vec<Token>, Option<PgError>) {
    let mut out = Vec::new();
    let err = lex_into(s, &mut out).err();
    (out, err)
}

fn lex_into(s: &str, out: &mut Vec<Token>) -> Result<(), PgError> {
    let b = s.as_bytes();
    let mut i = 0;
    let text = |a: usize, z: usize| Some(s[a..z].to_string());
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                i += 1;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                match s[i + 2..].find("*/") {
                    Some(p) => i = i + 2 + p + 2,
                    None => return Err(syntax_error("unexpected end of comment", None)),
                }
                continue;
            }
            b'"' | b'\'' => {
                let (v, end) = quoted(b, i + 1, c)?;
                out.push(Token {
                    tok: Tok::Str(v),
                    text: text(end - 1, end),
                });
                i = end;
                continue;
            }
            _ => {}
        }
        let two = |a: u8, z: u8| c == a && b.get(i + 1) == Some(&z);
        let op2 = if two(b'&', b'&') {
            Some(Tok::And)
        } else if two(b'|', b'|') {
            Some(Tok::Or)
        } else if two(b'*', b'*') {
            Some(Tok::AnyPath)
        } else if two(b'<', b'=') {
            Some(Tok::LessEq)
        } else if two(b'=', b'=') {
            Some(Tok::Equal)
        } else if two(b'<', b'>') || two(b'!', b'=') {
            Some(Tok::NotEqual)
        } else if two(b'>', b'=') {
            Some(Tok::GreaterEq)
        } else {
            None
        };
        if let Some(t) = op2 {
            out.push(Token {
                tok: t,
                text: text(i, i + 2),
            });
            i += 2;
            continue;
        }
        if c == b'$' {
            if b.get(i + 1) == Some(&b'"') {
                let (v, end) = quoted(b, i + 2, b'"')?;
                out.push(Token {
                    tok: Tok::Var(v),
                    text: text(end - 1, end),
                });
                i = end;
                continue;
            }
            let mut k = i + 1;
            while k < b.len() {
                let ch = s[k..].chars().next().unwrap_or(' ');
                if !is_other(ch) {
                    break;
                }
                k += ch.len_utf8();
            }
            if k > i + 1 {
                out.push(Token {
                    tok: Tok::Var(s[i + 1..k].to_string()),
                    text: text(i, k),
                });
                i = k;
                continue;
            }
        }
        let (nlen, is_int) = number_len(&b[i..]);
        // The run of identifier characters from here (flex's `{other}+`).
        let mut run = i;
        while run < b.len() {
            let ch = s[run..].chars().next().unwrap_or(' ');
            if !is_other(ch) {
                break;
            }
            run += ch.len_utf8();
        }
        let run_len = run - i;
        if nlen > 0 {
            let after = s[i + nlen..].chars().next();
            let junk = after.is_some_and(is_other);
            let mut matched = nlen
                + if junk {
                    after.map_or(0, |c| c.len_utf8())
                } else {
                    0
                };
            // `1e+` / `1.5e-`: a broken exponent.
            let tail = &b[i + nlen..];
            let realfail = matches!(tail.first(), Some(b'e' | b'E'))
                && matches!(tail.get(1), Some(b'+' | b'-'))
                && !tail.get(2).is_some_and(|d| d.is_ascii_digit());
            if realfail {
                matched = nlen + 2;
            }
            if run_len <= matched {
                if realfail {
                    return Err(syntax_error(
                        "invalid numeric literal",
                        Some(&s[i..i + matched]),
                    ));
                }
                if junk {
                    return Err(syntax_error(
                        "trailing junk after numeric literal",
                        Some(&s[i..i + matched]),
                    ));
                }
                let lit = s[i..i + nlen].to_string();
                out.push(Token {
                    tok: if is_int {
                        Tok::Int(lit.clone())
                    } else {
                        Tok::Num(lit.clone())
                    },
                    text: Some(lit),
                });
                i += nlen;
                continue;
            }
        }
        if run_len > 0 || c == b'\\' {
            // A non-quoted identifier, escapes allowed.
            let mut v = String::new();
            let mut k = i;
            loop {
                if k >= b.len() {
                    break;
                }
                if b[k] == b'\\' {
                    k = read_escape(b, k, &mut v)?;
                    continue;
                }
                let ch = s[k..].chars().next().unwrap_or(' ');
                if !is_other(ch) {
                    break;
                }
                v.push(ch);
                k += ch.len_utf8();
            }
            // An identifier ended by a special character, a quote or the
            // end of the input is reported "at end" (the scanner has put
            // that character back, leaving its token text empty); one
            // ended by blanks shows the blanks.
            let mut e = k;
            while e < b.len() && matches!(b[e], b' ' | b'\t' | b'\n' | b'\r' | 0x0c) {
                e += 1;
            }
            let t = if e > k { text(k, e) } else { None };
            out.push(Token {
                tok: Tok::Ident(v),
                text: t,
            });
            i = k;
            continue;
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        let tok = match ch {
            '!' => Tok::Not,
            '<' => Tok::Less,
            '>' => Tok::Greater,
            other => Tok::Ch(other),
        };
        out.push(Token {
            tok,
            text: text(i, i + ch.len_utf8()),
        });
        i += ch.len_utf8();
    }
    Ok(())
}

/// A quoted string's value from `b[start..]` up to its closing `q`, and
/// the index after that quote.
fn quoted(b: &[u8], start: usize, q: u8) -> Result<(String, usize), PgError> {
    let mut v = String::new();
    let mut k = start;
    loop {
        let Some(&c) = b.get(k) else {
            return Err(syntax_error("unexpected end of quoted string", None));
        };
        if c == q {
            return Ok((v, k + 1));
        }
        if c == b'\\' {
            k = read_escape(b, k, &mut v)?;
            continue;
        }
        let s = std::str::from_utf8(&b[k..]).unwrap_or("");
        let ch = s.chars().next().unwrap_or('?');
        v.push(ch);
        k += ch.len_utf8().max(1);
    }
}

// ---------------------------------------------------------------- parser

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// The scanner's error after the last token.
    lex_error: Option<PgError>,
    /// Nesting of the recursive descent, bounded so that a deeply nested
    /// path is an error and not a stack overflow.
    depth: usize,
}

/// Nesting levels a path may have.
const MAX_DEPTH: usize = 1000;

fn kw(t: &Tok, word: &str) -> bool {
    match t {
        Tok::Ident(s) => {
            if matches!(word, "null" | "true" | "false") {
                s == word
            } else {
                s.eq_ignore_ascii_case(word)
            }
        }
        _ => false,
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n).map(|t| &t.tok)
    }

    fn error(&self) -> PgError {
        if self.pos >= self.toks.len() {
            if let Some(e) = &self.lex_error {
                return e.clone();
            }
        }
        let near = self.toks.get(self.pos).and_then(|t| t.text.clone());
        syntax_error("syntax error", near.as_deref())
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok) -> Result<(), PgError> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn eat_kw(&mut self, w: &str) -> bool {
        if self.peek().is_some_and(|t| kw(t, w)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn want_pred(&self, c: &Chain) -> Result<(), PgError> {
        if is_predicate(c) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn want_expr(&self, c: &Chain) -> Result<(), PgError> {
        if is_predicate(c) {
            Err(self.error())
        } else {
            Ok(())
        }
    }

    #[recursive::recursive]
    fn or_expr(&mut self) -> Result<Chain, PgError> {
        self.depth += 1;
        let r = self.or_expr_inner();
        self.depth -= 1;
        r
    }

    fn deeper(&self) -> Result<(), PgError> {
        if self.depth > MAX_DEPTH {
            return Err(PgError::error(
                sqlstate::SqlState::new("54001"),
                "stack depth limit exceeded",
            ));
        }
        Ok(())
    }

    fn or_expr_inner(&mut self) -> Result<Chain, PgError> {
        self.deeper()?;
        let mut l = self.and_expr()?;
        while self.peek() == Some(&Tok::Or) {
            self.want_pred(&l)?;
            self.pos += 1;
            let r = self.and_expr()?;
            self.want_pred(&r)?;
            l = vec![Node::Binary(BinOp::Or, Box::new(l), Box::new(r))];
        }
        Ok(l)
    }

    fn and_expr(&mut self) -> Result<Chain, PgError> {
        let mut l = self.not_expr()?;
        while self.peek() == Some(&Tok::And) {
            self.want_pred(&l)?;
            self.pos += 1;
            let r = self.not_expr()?;
            self.want_pred(&r)?;
            l = vec![Node::Binary(BinOp::And, Box::new(l), Box::new(r))];
        }
        Ok(l)
    }

    fn not_expr(&mut self) -> Result<Chain, PgError> {
        if self.eat(&Tok::Not) {
            // NOT takes a delimited predicate: `!(...)` or `!exists(...)`.
            let starts_ok = matches!(self.peek(), Some(Tok::Ch('(')))
                || self.peek().is_some_and(|t| kw(t, "exists"));
            if !starts_ok {
                return Err(self.error());
            }
            let inner = self.primary_pred()?;
            self.want_pred(&inner)?;
            return Ok(vec![Node::Not(Box::new(inner))]);
        }
        self.cmp_expr()
    }

    /// A parenthesised predicate or `exists (...)` right after `!`.
    fn primary_pred(&mut self) -> Result<Chain, PgError> {
        if self.eat_kw("exists") {
            self.expect(&Tok::Ch('('))?;
            let e = self.or_expr()?;
            self.want_expr(&e)?;
            self.expect(&Tok::Ch(')'))?;
            return Ok(vec![Node::Exists(Box::new(e))]);
        }
        self.expect(&Tok::Ch('('))?;
        let e = self.or_expr()?;
        self.expect(&Tok::Ch(')'))?;
        if self.eat_kw("is") {
            if !self.eat_kw("unknown") {
                return Err(self.error());
            }
            self.want_pred(&e)?;
            return Ok(vec![Node::IsUnknown(Box::new(e))]);
        }
        Ok(e)
    }

    fn cmp_expr(&mut self) -> Result<Chain, PgError> {
        let l = self.add_expr()?;
        let op = match self.peek() {
            Some(Tok::Equal) => Some(BinOp::Eq),
            Some(Tok::NotEqual) => Some(BinOp::Ne),
            Some(Tok::Less) => Some(BinOp::Lt),
            Some(Tok::LessEq) => Some(BinOp::Le),
            Some(Tok::Greater) => Some(BinOp::Gt),
            Some(Tok::GreaterEq) => Some(BinOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.want_expr(&l)?;
            self.pos += 1;
            let r = self.add_expr()?;
            self.want_expr(&r)?;
            return Ok(vec![Node::Binary(op, Box::new(l), Box::new(r))]);
        }
        if self.peek().is_some_and(|t| kw(t, "starts")) {
            self.want_expr(&l)?;
            self.pos += 1;
            if !self.eat_kw("with") {
                return Err(self.error());
            }
            let r = match self.peek().cloned() {
                Some(Tok::Str(s)) => Node::String(s),
                Some(Tok::Var(v)) => Node::Var(v),
                _ => return Err(self.error()),
            };
            self.pos += 1;
            return Ok(vec![Node::Binary(
                BinOp::StartsWith,
                Box::new(l),
                Box::new(vec![r]),
            )]);
        }
        if self.peek().is_some_and(|t| kw(t, "like_regex")) {
            self.want_expr(&l)?;
            self.pos += 1;
            let Some(Tok::Str(pat)) = self.peek().cloned() else {
                return Err(self.error());
            };
            self.pos += 1;
            let mut flags = 0u8;
            if self.eat_kw("flag") {
                let Some(Tok::Str(f)) = self.peek().cloned() else {
                    return Err(self.error());
                };
                self.pos += 1;
                for ch in f.chars() {
                    flags |= match ch {
                        'i' => RE_ICASE,
                        's' => RE_DOTALL,
                        'm' => RE_MLINE,
                        'x' => RE_WSPACE,
                        'q' => RE_QUOTE,
                        other => {
                            return Err(PgError::error(
                                sqlstate::SYNTAX_ERROR,
                                "invalid input syntax for type jsonpath",
                            )
                            .with_detail(format!(
                                "Unrecognized flag character \"{other}\" in LIKE_REGEX predicate."
                            )))
                        }
                    };
                }
                if flags & RE_WSPACE != 0 && flags & RE_QUOTE == 0 {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "XQuery \"x\" flag (expanded regular expressions) is not implemented",
                    ));
                }
            }
            return Ok(vec![Node::LikeRegex(Box::new(l), pat, flags)]);
        }
        Ok(l)
    }

    fn add_expr(&mut self) -> Result<Chain, PgError> {
        let mut l = self.mul_expr()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Ch('+')) => BinOp::Add,
                Some(Tok::Ch('-')) => BinOp::Sub,
                _ => return Ok(l),
            };
            self.want_expr(&l)?;
            self.pos += 1;
            let r = self.mul_expr()?;
            self.want_expr(&r)?;
            l = vec![Node::Binary(op, Box::new(l), Box::new(r))];
        }
    }

    fn mul_expr(&mut self) -> Result<Chain, PgError> {
        let mut l = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Ch('*')) => BinOp::Mul,
                Some(Tok::Ch('/')) => BinOp::Div,
                Some(Tok::Ch('%')) => BinOp::Mod,
                _ => return Ok(l),
            };
            self.want_expr(&l)?;
            self.pos += 1;
            let r = self.unary()?;
            self.want_expr(&r)?;
            l = vec![Node::Binary(op, Box::new(l), Box::new(r))];
        }
    }

    #[recursive::recursive]
    fn unary(&mut self) -> Result<Chain, PgError> {
        let minus = match self.peek() {
            Some(Tok::Ch('-')) => true,
            Some(Tok::Ch('+')) => false,
            _ => return self.postfix(),
        };
        self.pos += 1;
        self.depth += 1;
        let a = self.deeper().and_then(|_| self.unary());
        self.depth -= 1;
        let a = a?;
        self.want_expr(&a)?;
        // A sign on a bare number folds into it (makeItemUnary).
        if a.len() == 1 {
            if let Node::Numeric(n) = &a[0] {
                return Ok(vec![Node::Numeric(if minus { n.neg() } else { n.clone() })]);
            }
        }
        Ok(vec![if minus {
            Node::Minus(Box::new(a))
        } else {
            Node::Plus(Box::new(a))
        }])
    }

    fn postfix(&mut self) -> Result<Chain, PgError> {
        let mut chain = self.primary()?;
        loop {
            match self.peek() {
                Some(Tok::Ch('.')) => {
                    self.pos += 1;
                    chain.push(self.dot_accessor()?);
                }
                Some(Tok::Ch('[')) => {
                    self.pos += 1;
                    chain.push(self.subscripts()?);
                }
                Some(Tok::Ch('?')) => {
                    self.pos += 1;
                    self.expect(&Tok::Ch('('))?;
                    let p = self.or_expr()?;
                    self.want_pred(&p)?;
                    self.expect(&Tok::Ch(')'))?;
                    chain.push(Node::Filter(Box::new(p)));
                }
                _ => return Ok(chain),
            }
        }
    }

    fn dot_accessor(&mut self) -> Result<Node, PgError> {
        let t = self.peek().cloned();
        match t {
            Some(Tok::Ch('*')) => {
                self.pos += 1;
                Ok(Node::AnyKey)
            }
            Some(Tok::AnyPath) => {
                self.pos += 1;
                if !self.eat(&Tok::Ch('{')) {
                    return Ok(Node::Any(0, ANY_LAST));
                }
                let first = self.level()?;
                let last = if self.eat_kw("to") {
                    self.level()?
                } else {
                    first
                };
                self.expect(&Tok::Ch('}'))?;
                Ok(Node::Any(first, last))
            }
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(Node::Key(s))
            }
            Some(Tok::Ident(s)) => {
                self.pos += 1;
                if self.peek() == Some(&Tok::Ch('(')) {
                    let lower = s.to_ascii_lowercase();
                    let m = match lower.as_str() {
                        "type" => Some(Method::Type),
                        "size" => Some(Method::Size),
                        "abs" => Some(Method::Abs),
                        "floor" => Some(Method::Floor),
                        "ceiling" => Some(Method::Ceiling),
                        "double" => Some(Method::Double),
                        "keyvalue" => Some(Method::KeyValue),
                        _ => None,
                    };
                    if let Some(m) = m {
                        self.pos += 1;
                        self.expect(&Tok::Ch(')'))?;
                        return Ok(Node::Method(m));
                    }
                    if lower == "datetime" {
                        self.pos += 1;
                        let tmpl = match self.peek().cloned() {
                            Some(Tok::Str(s)) => {
                                self.pos += 1;
                                Some(s)
                            }
                            _ => None,
                        };
                        self.expect(&Tok::Ch(')'))?;
                        return Ok(Node::Datetime(tmpl));
                    }
                    return Err(self.error());
                }
                Ok(Node::Key(s))
            }
            _ => Err(self.error()),
        }
    }

    fn level(&mut self) -> Result<u32, PgError> {
        match self.peek().cloned() {
            Some(Tok::Int(s)) => {
                self.pos += 1;
                s.parse::<u32>().map_err(|_| self.error())
            }
            Some(t) if kw(&t, "last") => {
                self.pos += 1;
                Ok(ANY_LAST)
            }
            _ => Err(self.error()),
        }
    }

    fn subscripts(&mut self) -> Result<Node, PgError> {
        if self.peek() == Some(&Tok::Ch('*')) && self.peek_at(1) == Some(&Tok::Ch(']')) {
            self.pos += 2;
            return Ok(Node::AnyArray);
        }
        let mut subs = Vec::new();
        loop {
            let from = self.or_expr()?;
            self.want_expr(&from)?;
            let to = if self.eat_kw("to") {
                let t = self.or_expr()?;
                self.want_expr(&t)?;
                Some(t)
            } else {
                None
            };
            subs.push((from, to));
            if self.eat(&Tok::Ch(',')) {
                continue;
            }
            self.expect(&Tok::Ch(']'))?;
            return Ok(Node::Index(subs));
        }
    }

    fn primary(&mut self) -> Result<Chain, PgError> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.error());
        };
        let node = match t {
            Tok::Ch('$') => Node::Root,
            Tok::Ch('@') => Node::Current,
            Tok::Var(v) => Node::Var(v),
            Tok::Str(s) => Node::String(s),
            Tok::Num(s) | Tok::Int(s) => {
                Node::Numeric(Numeric::parse(&s).map_err(|_| self.error())?)
            }
            Tok::Ch('(') => {
                self.pos += 1;
                let e = self.or_expr()?;
                self.expect(&Tok::Ch(')'))?;
                if self.peek().is_some_and(|t| kw(t, "is")) {
                    self.pos += 1;
                    if !self.eat_kw("unknown") {
                        return Err(self.error());
                    }
                    self.want_pred(&e)?;
                    return Ok(vec![Node::IsUnknown(Box::new(e))]);
                }
                return Ok(e);
            }
            ref x if kw(x, "exists") && self.peek_at(1) == Some(&Tok::Ch('(')) => {
                return self.primary_pred();
            }
            ref x if kw(x, "null") => Node::Null,
            ref x if kw(x, "true") => Node::Bool(true),
            ref x if kw(x, "false") => Node::Bool(false),
            ref x if kw(x, "last") => Node::Last,
            _ => return Err(self.error()),
        };
        self.pos += 1;
        Ok(vec![node])
    }
}

/// Whether `c` uses `last` outside subscripts or `@` outside filters
/// (flattenJsonPathParseItem's checks).
#[recursive::recursive]
fn check_places(c: &Chain, in_filter: bool, in_subscript: bool) -> Result<(), PgError> {
    for n in c {
        match n {
            Node::Last if !in_subscript => {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    "LAST is allowed only in array subscripts",
                ))
            }
            Node::Current if !in_filter => {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    "@ is not allowed in root expressions",
                ))
            }
            Node::Binary(_, l, r) => {
                check_places(l, in_filter, in_subscript)?;
                check_places(r, in_filter, in_subscript)?;
            }
            Node::Plus(a)
            | Node::Minus(a)
            | Node::Not(a)
            | Node::IsUnknown(a)
            | Node::Exists(a)
            | Node::LikeRegex(a, ..) => check_places(a, in_filter, in_subscript)?,
            Node::Filter(a) => check_places(a, true, in_subscript)?,
            Node::Index(subs) => {
                for (f, t) in subs {
                    check_places(f, in_filter, true)?;
                    if let Some(t) = t {
                        check_places(t, in_filter, true)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks a like_regex pattern with its flags (PostgreSQL compiles it
/// when the path is parsed). The regex engine lives in tusk-sql, which
/// installs this; without it patterns are checked when executed.
pub static REGEX_CHECK: std::sync::OnceLock<RegexCheck> = std::sync::OnceLock::new();

/// A like_regex pattern checker: the pattern and its flag bits.
pub type RegexCheck = fn(&str, u8) -> Result<(), PgError>;

#[recursive::recursive]
fn check_regexes(c: &Chain) -> Result<(), PgError> {
    let Some(check) = REGEX_CHECK.get() else {
        return Ok(());
    };
    for n in c {
        match n {
            Node::LikeRegex(a, pat, flags) => {
                check(pat, *flags)?;
                check_regexes(a)?;
            }
            Node::Binary(_, l, r) => {
                check_regexes(l)?;
                check_regexes(r)?;
            }
            Node::Plus(a)
            | Node::Minus(a)
            | Node::Not(a)
            | Node::IsUnknown(a)
            | Node::Exists(a)
            | Node::Filter(a) => check_regexes(a)?,
            Node::Index(subs) => {
                for (f, t) in subs {
                    check_regexes(f)?;
                    if let Some(t) = t {
                        check_regexes(t)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// jsonpath_in: the text parsed, or PostgreSQL's error for it.
pub fn parse(s: &str) -> Result<JsonPath, PgError> {
    let (toks, lex_error) = lex(s);
    if toks.is_empty() {
        if let Some(e) = lex_error {
            return Err(e);
        }
        return Err(PgError::error(
            sqlstate::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type jsonpath: \"{s}\""),
        ));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        lex_error,
        depth: 0,
    };
    let mut lax = true;
    if p.peek().is_some_and(|t| kw(t, "strict")) {
        p.pos += 1;
        lax = false;
    } else if p.peek().is_some_and(|t| kw(t, "lax")) {
        p.pos += 1;
    }
    let expr = p.or_expr()?;
    if p.pos < p.toks.len() || p.lex_error.is_some() {
        return Err(p.error());
    }
    check_places(&expr, false, false)?;
    check_regexes(&expr)?;
    Ok(JsonPath { lax, expr })
}

/// jsonpath_in's normalised text: what a jsonpath value holds.
pub fn normalize(s: &str) -> Result<String, PgError> {
    Ok(to_text(&parse(s)?))
}

// ---------------------------------------------------------------- printer

/// jsonpath_out.
pub fn to_text(p: &JsonPath) -> String {
    let mut out = String::new();
    if !p.lax {
        out.push_str("strict ");
    }
    print_chain(&mut out, &p.expr, true);
    out
}

fn print_chain(out: &mut String, c: &Chain, brackets: bool) {
    for (i, n) in c.iter().enumerate() {
        let has_next = i + 1 < c.len();
        if i == 0 {
            print_node(out, n, false, brackets, has_next);
        } else {
            print_node(out, n, true, true, has_next);
        }
    }
}

fn first_priority(c: &Chain) -> u8 {
    c.first().map_or(6, Node::priority)
}

#[recursive::recursive]
fn print_node(out: &mut String, n: &Node, in_key: bool, brackets: bool, has_next: bool) {
    match n {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::String(s) => crate::json::escape_into(out, s),
        Node::Numeric(x) => {
            if has_next {
                out.push('(');
            }
            out.push_str(&x.to_text());
            if has_next {
                out.push(')');
            }
        }
        Node::Binary(op, l, r) => {
            if brackets {
                out.push('(');
            }
            let p = op.priority();
            print_chain(out, l, first_priority(l) <= p);
            out.push(' ');
            out.push_str(op.name());
            out.push(' ');
            print_chain(out, r, first_priority(r) <= p);
            if brackets {
                out.push(')');
            }
        }
        Node::Not(a) => {
            out.push_str("!(");
            print_chain(out, a, false);
            out.push(')');
        }
        Node::IsUnknown(a) => {
            out.push('(');
            print_chain(out, a, false);
            out.push_str(") is unknown");
        }
        Node::Plus(a) | Node::Minus(a) => {
            if brackets {
                out.push('(');
            }
            out.push(if matches!(n, Node::Plus(_)) { '+' } else { '-' });
            print_chain(out, a, first_priority(a) <= 5);
            if brackets {
                out.push(')');
            }
        }
        Node::AnyArray => out.push_str("[*]"),
        Node::AnyKey => {
            if in_key {
                out.push('.');
            }
            out.push('*');
        }
        Node::Index(subs) => {
            out.push('[');
            for (i, (f, t)) in subs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                print_chain(out, f, false);
                if let Some(t) = t {
                    out.push_str(" to ");
                    print_chain(out, t, false);
                }
            }
            out.push(']');
        }
        Node::Any(first, last) => {
            if in_key {
                out.push('.');
            }
            let (f, l) = (*first, *last);
            if f == 0 && l == ANY_LAST {
                out.push_str("**");
            } else if f == l {
                if f == ANY_LAST {
                    out.push_str("**{last}");
                } else {
                    out.push_str(&format!("**{{{f}}}"));
                }
            } else if f == ANY_LAST {
                out.push_str(&format!("**{{last to {l}}}"));
            } else if l == ANY_LAST {
                out.push_str(&format!("**{{{f} to last}}"));
            } else {
                out.push_str(&format!("**{{{f} to {l}}}"));
            }
        }
        Node::Key(k) => {
            if in_key {
                out.push('.');
            }
            crate::json::escape_into(out, k);
        }
        Node::Current => out.push('@'),
        Node::Root => out.push('$'),
        Node::Last => out.push_str("last"),
        Node::Var(v) => {
            out.push('$');
            crate::json::escape_into(out, v);
        }
        Node::Filter(a) => {
            out.push_str("?(");
            print_chain(out, a, false);
            out.push(')');
        }
        Node::Exists(a) => {
            out.push_str("exists (");
            print_chain(out, a, false);
            out.push(')');
        }
        Node::Method(m) => {
            out.push('.');
            out.push_str(m.name());
            out.push_str("()");
        }
        Node::Datetime(t) => {
            out.push_str(".datetime(");
            if let Some(t) = t {
                crate::json::escape_into(out, t);
            }
            out.push(')');
        }
        Node::LikeRegex(a, pat, flags) => {
            if brackets {
                out.push('(');
            }
            print_chain(out, a, first_priority(a) <= 2);
            out.push_str(" like_regex ");
            crate::json::escape_into(out, pat);
            if *flags != 0 {
                out.push_str(" flag \"");
                for (bit, c) in [
                    (RE_ICASE, 'i'),
                    (RE_DOTALL, 's'),
                    (RE_MLINE, 'm'),
                    (RE_WSPACE, 'x'),
                    (RE_QUOTE, 'q'),
                ] {
                    if flags & bit != 0 {
                        out.push(c);
                    }
                }
                out.push('"');
            }
            if brackets {
                out.push(')');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        match normalize(s) {
            Ok(t) => t,
            Err(e) => format!("ERROR: {}", e.message),
        }
    }

    #[test]
    fn prints_as_postgres() {
        // Each pair: input, PostgreSQL 15's output (jsonpath.out).
        let cases = [
            ("$", "$"),
            ("strict $", "strict $"),
            ("$.a", "$.\"a\""),
            ("$.a.**{2 to 5}.b", "$.\"a\".**{2 to 5}.\"b\""),
            ("$.a.**{last to 5}.b", "$.\"a\".**{last to 5}.\"b\""),
            ("$ - -1", "($ - -1)"),
            ("1 * 2 + 4 % -3 != false", "(1 * 2 + 4 % -3 != false)"),
            (
                "$.g ? (@.a == 1 || !(@.x >= 123 || @.a == 4) && @.b == 7)",
                "$.\"g\"?(@.\"a\" == 1 || !(@.\"x\" >= 123 || @.\"a\" == 4) && @.\"b\" == 7)",
            ),
            (
                "$.g ? (+@.x >= +-(+@.a + 2))",
                "$.\"g\"?(+@.\"x\" >= +(-(+@.\"a\" + 2)))",
            ),
            ("$a[*]", "$\"a\"[*]"),
            (
                "$.a[$a + 1, ($b[*]) to -($[0] * 2)]",
                "$.\"a\"[$\"a\" + 1,$\"b\"[*] to -($[0] * 2)]",
            ),
            ("(-+$.a.b).c.d", "(-(+$.\"a\".\"b\")).\"c\".\"d\""),
            ("1.2.e3", "(1.2).\"e3\""),
            ("1..e", "(1).\"e\""),
            (
                "$ ? (@ like_regex \"pattern\" flag \"isim\")",
                "$?(@ like_regex \"pattern\" flag \"ism\")",
            ),
            (
                "((($ + 1)).a + ((2)).b ? ((((@ > 1)) || (exists(@.c)))))",
                "(($ + 1).\"a\" + (2).\"b\"?(@ > 1 || exists (@.\"c\")))",
            ),
            ("$ ? (@.a < +1e-1)", "$?(@.\"a\" < 0.1)"),
            ("0.0010", "0.0010"),
        ];
        for (i, o) in cases {
            let got = norm(i);
            assert_eq!(got, o, "{i}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_an_overflow() {
        let deep = format!("{}$ {}", "(".repeat(5000), ")".repeat(5000));
        let e = normalize(&deep).unwrap_err();
        assert_eq!(e.code, sqlstate::SqlState::new("54001"));
        // A long accessor chain is iterative and fine.
        let long = format!("${}", ".a".repeat(20000));
        assert_eq!(normalize(&long).map(|t| t.len()), Ok(1 + 4 * 20000));
    }

    #[test]
    fn errors_as_postgres() {
        let cases = [
            ("last", "LAST is allowed only in array subscripts"),
            ("@ + 1", "@ is not allowed in root expressions"),
            (
                "1.type()",
                "trailing junk after numeric literal at or near \"1.t\" of jsonpath input",
            ),
            (
                "00",
                "trailing junk after numeric literal at or near \"00\" of jsonpath input",
            ),
            ("0755", "syntax error at end of jsonpath input"),
            ("1_000_000", "syntax error at end of jsonpath input"),
            (
                ".000_005",
                "trailing junk after numeric literal at or near \".000_\" of jsonpath input",
            ),
            (
                "$.string()",
                "syntax error at or near \"(\" of jsonpath input",
            ),
            ("1 2", "syntax error at or near \"2\" of jsonpath input"),
            ("1.2.3", "syntax error at or near \".3\" of jsonpath input"),
        ];
        for (i, e) in cases {
            assert_eq!(norm(i), format!("ERROR: {e}"), "{i}");
        }
    }
}
