//! The `tsvector` and `tsquery` types: PostgreSQL 15's text forms parsed
//! into lexeme lists and query trees, and printed back normalised.
//!
//! Why a value keeps the normalised text and not the structure (as
//! jsonpath does): a tsvector or tsquery is printed, stored and matched,
//! and re-reading the normalised text is cheap, so `Value::Text` carries
//! it (the column type says which it is) and no new `Value` variant
//! ripples through every match on `Value`. tusk-sql's tsearch.rs matches,
//! ranks and builds them.
//!
//! The tsvector reader follows tsvector_parser.c's states (quoted and
//! bare lexemes, backslash escapes, `:1A,2` position lists); tsquery's
//! reader is the same lexeme reader with `! & | ( ) <N>` as delimiters and
//! makepol's operator-precedence stack, which builds the tree in the same
//! shape PostgreSQL's polish list has (so outputs print alike).
//!
//! Pure functions; any process may call them.

use tusk_common::sqlstate;
use tusk_common::PgError;

/// Largest position a lexeme may carry (MAXENTRYPOS - 1); larger ones
/// are clamped to it, as LIMITPOS does.
pub const MAX_POS: u16 = (1 << 14) - 1;
/// Positions kept per lexeme (MAXNUMPOS).
pub const MAX_NUM_POS: usize = 256;
/// Longest lexeme, in bytes (MAXSTRLEN).
pub const MAX_STR_LEN: usize = (1 << 11) - 1;

/// One position: the low 14 bits the position, the high 2 the weight
/// (3 = A ... 0 = D), as WordEntryPos packs them.
pub type Pos = u16;

pub fn pos_of(p: Pos) -> u16 {
    p & 0x3fff
}
pub fn weight_of(p: Pos) -> u8 {
    (p >> 14) as u8
}
pub fn make_pos(pos: u16, weight: u8) -> Pos {
    (pos.min(MAX_POS) & 0x3fff) | ((weight as u16 & 3) << 14)
}

/// One lexeme of a tsvector and its positions (empty when stripped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexeme {
    pub word: String,
    pub pos: Vec<Pos>,
}

/// A tsvector: lexemes sorted bytewise, unique, positions sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TsVector {
    pub lexemes: Vec<Lexeme>,
}

fn syntax(what: &str, input: &str) -> PgError {
    PgError::error(
        sqlstate::SYNTAX_ERROR,
        format!("syntax error in {what}: \"{input}\""),
    )
}

/// Sort positions, drop duplicates (keeping the heaviest weight) and cut
/// the list at MAXNUMPOS, as uniquePos does.
pub fn unique_pos(p: &mut Vec<Pos>) {
    if p.len() <= 1 {
        return;
    }
    p.sort_by_key(|x| pos_of(*x));
    let mut out: Vec<Pos> = Vec::with_capacity(p.len());
    for &x in p.iter() {
        match out.last_mut() {
            Some(last) if pos_of(*last) == pos_of(x) => {
                if weight_of(x) > weight_of(*last) {
                    *last = make_pos(pos_of(*last), weight_of(x));
                }
            }
            _ => {
                if out.len() >= MAX_NUM_POS || out.last().is_some_and(|l| pos_of(*l) == MAX_POS) {
                    break;
                }
                out.push(x);
            }
        }
    }
    *p = out;
}

impl TsVector {
    /// Sort and merge lexemes as tsvectorin's uniqueentry does.
    pub fn normalize(mut lexemes: Vec<Lexeme>) -> TsVector {
        lexemes.sort_by(|a, b| a.word.as_bytes().cmp(b.word.as_bytes()));
        let mut out: Vec<Lexeme> = Vec::with_capacity(lexemes.len());
        for l in lexemes {
            match out.last_mut() {
                Some(last) if last.word == l.word => last.pos.extend(l.pos),
                _ => out.push(l),
            }
        }
        for l in &mut out {
            unique_pos(&mut l.pos);
        }
        TsVector { lexemes: out }
    }

    pub fn find(&self, word: &str) -> Option<&Lexeme> {
        self.lexemes
            .binary_search_by(|l| l.word.as_bytes().cmp(word.as_bytes()))
            .ok()
            .map(|i| &self.lexemes[i])
    }
}

/// The lexeme reader shared by tsvector and tsquery input
/// (gettoken_tsvector). `query`: operators delimit words, no positions.
struct Reader<'a> {
    s: &'a [u8],
    input: &'a str,
    query: bool,
}

impl Reader<'_> {
    fn what(&self) -> &'static str {
        if self.query {
            "tsquery"
        } else {
            "tsvector"
        }
    }

    fn is_op(&self, c: u8) -> bool {
        self.query && matches!(c, b'!' | b'&' | b'|' | b'(' | b')')
    }

    /// The next word from `i` and where reading stopped; `None` at the
    /// end of input. Positions are read only for tsvectors.
    fn token(&self, mut i: usize) -> Result<Option<(String, Vec<Pos>, usize)>, PgError> {
        let s = self.s;
        let err = || syntax(self.what(), self.input);
        let at = |i: usize| s.get(i).copied().unwrap_or(0);
        // WAITWORD
        let mut word: Vec<u8> = Vec::new();
        loop {
            let c = at(i);
            if c == 0 {
                return Ok(None);
            }
            if c == b'\'' {
                i += 1;
                break;
            }
            if c == b'\\' {
                i += 1;
                let n = char_len(s, i);
                if at(i) == 0 {
                    return Err(no_escaped(self.input));
                }
                word.extend_from_slice(&s[i..i + n]);
                i += n;
                return self.bare(i, word);
            }
            if self.is_op(c) {
                return Err(err());
            }
            if !is_space(c) {
                let n = char_len(s, i);
                word.extend_from_slice(&s[i..i + n]);
                i += n;
                return self.bare(i, word);
            }
            i += 1;
        }
        // WAITENDCMPLX: a quoted word, '' for a quote.
        loop {
            let c = at(i);
            if c == 0 {
                return Err(err());
            }
            if c == b'\'' {
                if at(i + 1) == b'\'' {
                    word.push(b'\'');
                    i += 2;
                    continue;
                }
                i += 1;
                break;
            }
            if c == b'\\' {
                i += 1;
                if at(i) == 0 {
                    return Err(no_escaped(self.input));
                }
            }
            let n = char_len(s, i);
            word.extend_from_slice(&s[i..i + n]);
            i += n;
        }
        if word.is_empty() {
            return Err(err());
        }
        let w = String::from_utf8_lossy(&word).into_owned();
        if self.query {
            return Ok(Some((w, Vec::new(), i)));
        }
        // WAITPOSINFO
        if at(i) == b':' {
            let (pos, j) = self.positions(i + 1)?;
            return Ok(Some((w, pos, j)));
        }
        Ok(Some((w, Vec::new(), i)))
    }

    /// WAITENDWORD: the rest of a bare word.
    fn bare(
        &self,
        mut i: usize,
        mut word: Vec<u8>,
    ) -> Result<Option<(String, Vec<Pos>, usize)>, PgError> {
        let s = self.s;
        let at = |i: usize| s.get(i).copied().unwrap_or(0);
        loop {
            let c = at(i);
            if c == b'\\' {
                i += 1;
                if at(i) == 0 {
                    return Err(no_escaped(self.input));
                }
                let n = char_len(s, i);
                word.extend_from_slice(&s[i..i + n]);
                i += n;
                continue;
            }
            if c == 0 || is_space(c) || self.is_op(c) {
                let w = String::from_utf8_lossy(&word).into_owned();
                return Ok(Some((w, Vec::new(), i)));
            }
            if c == b':' {
                let w = String::from_utf8_lossy(&word).into_owned();
                if self.query {
                    return Ok(Some((w, Vec::new(), i)));
                }
                let (pos, j) = self.positions(i + 1)?;
                return Ok(Some((w, pos, j)));
            }
            let n = char_len(s, i);
            word.extend_from_slice(&s[i..i + n]);
            i += n;
        }
    }

    /// INPOSINFO / WAITPOSDELIM: `1A,2,3b`.
    fn positions(&self, mut i: usize) -> Result<(Vec<Pos>, usize), PgError> {
        let s = self.s;
        let at = |i: usize| s.get(i).copied().unwrap_or(0);
        let err = || syntax(self.what(), self.input);
        let mut out: Vec<Pos> = Vec::new();
        loop {
            // INPOSINFO: digits.
            if !at(i).is_ascii_digit() {
                return Err(err());
            }
            let start = i;
            while at(i).is_ascii_digit() {
                i += 1;
            }
            let n: u64 = std::str::from_utf8(&s[start..i])
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(u64::MAX);
            let p = n.min(MAX_POS as u64) as u16;
            if p == 0 {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    format!("wrong position info in tsvector: \"{}\"", self.input),
                ));
            }
            let mut weight: Option<u8> = None;
            // WAITPOSDELIM
            loop {
                let c = at(i);
                let w = match c {
                    b'a' | b'A' | b'*' => Some(3),
                    b'b' | b'B' => Some(2),
                    b'c' | b'C' => Some(1),
                    b'd' | b'D' => Some(0),
                    _ => None,
                };
                if let Some(w) = w {
                    if weight.is_some_and(|x| x != 0) {
                        return Err(err());
                    }
                    weight = Some(w);
                    i += 1;
                    continue;
                }
                out.push(make_pos(p, weight.unwrap_or(0)));
                if c == b',' {
                    i += 1;
                    break;
                }
                if c == 0 || is_space(c) {
                    return Ok((out, i));
                }
                return Err(err());
            }
        }
    }
}

fn no_escaped(input: &str) -> PgError {
    PgError::error(
        sqlstate::SYNTAX_ERROR,
        format!("there is no escaped character: \"{input}\""),
    )
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn char_len(s: &[u8], i: usize) -> usize {
    match s.get(i) {
        None => 0,
        Some(&c) if c < 0x80 => 1,
        Some(&c) if c >= 0xf0 => 4,
        Some(&c) if c >= 0xe0 => 3,
        Some(_) => 2,
    }
    .min(s.len().saturating_sub(i))
    .max(usize::from(i < s.len()))
}

fn too_long(what: &str) -> PgError {
    PgError::error(
        sqlstate::PROGRAM_LIMIT_EXCEEDED,
        format!("word is too long ({what})"),
    )
}

/// tsvector_in.
pub fn parse_tsvector(input: &str) -> Result<TsVector, PgError> {
    let r = Reader {
        s: input.as_bytes(),
        input,
        query: false,
    };
    let mut i = 0;
    let mut out = Vec::new();
    while let Some((word, pos, j)) = r.token(i)? {
        if word.len() > MAX_STR_LEN {
            return Err(too_long(&format!(
                "{} bytes, max {} bytes",
                word.len(),
                MAX_STR_LEN
            )));
        }
        out.push(Lexeme { word, pos });
        i = j;
    }
    Ok(TsVector::normalize(out))
}

/// Quote one lexeme as tsvectorout and tsqueryout do.
pub fn quote_lexeme(w: &str, out: &mut String) {
    out.push('\'');
    for c in w.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
}

/// tsvector_out.
pub fn format_tsvector(v: &TsVector) -> String {
    let mut out = String::new();
    for (i, l) in v.lexemes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        quote_lexeme(&l.word, &mut out);
        for (k, p) in l.pos.iter().enumerate() {
            out.push(if k == 0 { ':' } else { ',' });
            out.push_str(&pos_of(*p).to_string());
            match weight_of(*p) {
                3 => out.push('A'),
                2 => out.push('B'),
                1 => out.push('C'),
                _ => {}
            }
        }
    }
    out
}

/// Normalise tsvector input text (the value tusk keeps).
pub fn normalize_tsvector(input: &str) -> Result<String, PgError> {
    Ok(format_tsvector(&parse_tsvector(input)?))
}

/// The binary operators of a query; their priorities are
/// tsearch_op_priority's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QOp {
    And,
    Or,
    /// `<N>`: the right operand N positions after the left.
    Phrase(u16),
}

impl QOp {
    fn priority(self) -> u8 {
        match self {
            QOp::Or => 1,
            QOp::And => 2,
            QOp::Phrase(_) => 3,
        }
    }
}

const NOT_PRIORITY: u8 = 4;

/// A query tree. `weight` is a mask: bit 3 = A ... bit 0 = D.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QNode {
    Val {
        word: String,
        weight: u8,
        prefix: bool,
    },
    /// A stop word's place (dropped by `cleanup_stopwords`).
    Stop,
    Not(Box<QNode>),
    Op(QOp, Box<QNode>, Box<QNode>),
}

impl QNode {
    pub fn val(word: impl Into<String>) -> QNode {
        QNode::Val {
            word: word.into(),
            weight: 0,
            prefix: false,
        }
    }

    pub fn op(op: QOp, l: QNode, r: QNode) -> QNode {
        QNode::Op(op, Box::new(l), Box::new(r))
    }

    /// numnode: the items of the polish form.
    pub fn count(&self) -> usize {
        match self {
            QNode::Val { .. } | QNode::Stop => 1,
            QNode::Not(c) => 1 + c.count(),
            QNode::Op(_, l, r) => 1 + l.count() + r.count(),
        }
    }

    fn has_stop(&self) -> bool {
        match self {
            QNode::Stop => true,
            QNode::Val { .. } => false,
            QNode::Not(c) => c.has_stop(),
            QNode::Op(_, l, r) => l.has_stop() || r.has_stop(),
        }
    }
}

/// How a query's text is cut into tokens (the three gettoken_query_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryMode {
    /// tsquery input and to_tsquery: operators, parentheses, `:AB*`.
    Standard,
    /// plainto_tsquery / phraseto_tsquery: the whole text is one value.
    Plain,
    /// websearch_to_tsquery: `"phrases"`, `-not`, `or`.
    Web,
}

/// An operand as the reader found it, before pushval turns it into a
/// subtree (the operand itself for tsquery input; the lexemes of the
/// configuration for to_tsquery).
pub struct Operand<'a> {
    pub text: std::borrow::Cow<'a, str>,
    pub weight: u8,
    pub prefix: bool,
    /// A websearch quoted phrase.
    pub quoted: bool,
}

enum Tok<'a> {
    End,
    Err,
    Val(Operand<'a>),
    Opr(Option<QOp>),
    Open,
    Close,
}

struct QParser<'a, 'f> {
    input: &'a str,
    s: &'a [u8],
    i: usize,
    count: i32,
    state: u8,
    mode: QueryMode,
    nodes: Vec<QNode>,
    push: &'f mut dyn FnMut(Operand<'_>) -> Result<QNode, PgError>,
    pending_stop: bool,
}

const WAIT_OPERAND: u8 = 1;
const WAIT_OPERATOR: u8 = 2;
const WAIT_FIRST: u8 = 3;

impl<'a> QParser<'a, '_> {
    fn at(&self, i: usize) -> u8 {
        self.s.get(i).copied().unwrap_or(0)
    }

    fn modifiers(&mut self) -> (u8, bool) {
        let (mut w, mut p) = (0u8, false);
        if self.at(self.i) != b':' {
            return (0, false);
        }
        self.i += 1;
        loop {
            match self.at(self.i) {
                b'a' | b'A' => w |= 8,
                b'b' | b'B' => w |= 4,
                b'c' | b'C' => w |= 2,
                b'd' | b'D' => w |= 1,
                b'*' => p = true,
                _ => break,
            }
            self.i += 1;
        }
        (w, p)
    }

    /// `<->` or `<N>`: `Ok(None)` when the text there is not one.
    fn phrase(&mut self) -> Result<Option<u16>, PgError> {
        let mut j = self.i;
        if self.at(j) != b'<' {
            return Ok(None);
        }
        j += 1;
        let mut dist: u64 = 1;
        if self.at(j) == b'-' {
            j += 1;
        } else if self.at(j).is_ascii_digit() {
            let st = j;
            while self.at(j).is_ascii_digit() {
                j += 1;
            }
            dist = std::str::from_utf8(&self.s[st..j])
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(u64::MAX);
            if dist > 1 << 14 {
                return Err(PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    "distance in phrase operator must be an integer value between zero and 16384 inclusive",
                ));
            }
        } else {
            return Ok(None);
        }
        if self.at(j) != b'>' {
            return Ok(None);
        }
        // PHRASE_FINISH needs one more character after '>'.
        if self.at(j + 1) == 0 {
            return Ok(None);
        }
        self.i = j + 1;
        Ok(Some(dist as u16))
    }

    fn token(&mut self) -> Result<Tok<'a>, PgError> {
        match self.mode {
            QueryMode::Plain => {
                if self.i >= self.s.len() {
                    return Ok(Tok::End);
                }
                let text = &self.input[self.i..];
                self.i = self.s.len();
                self.count += 1;
                Ok(Tok::Val(Operand {
                    text: std::borrow::Cow::Borrowed(text),
                    weight: 0,
                    prefix: false,
                    quoted: false,
                }))
            }
            QueryMode::Standard => self.token_standard(),
            QueryMode::Web => self.token_web(),
        }
    }

    fn operand(&mut self) -> Result<Option<(String, usize)>, PgError> {
        let r = Reader {
            s: self.s,
            input: self.input,
            query: true,
        };
        Ok(r.token(self.i)?.map(|(w, _, j)| (w, j)))
    }

    fn token_standard(&mut self) -> Result<Tok<'a>, PgError> {
        loop {
            let c = self.at(self.i);
            match self.state {
                WAIT_FIRST | WAIT_OPERAND => {
                    if c == b'!' {
                        self.i += 1;
                        self.state = WAIT_OPERAND;
                        return Ok(Tok::Opr(None));
                    } else if c == b'(' {
                        self.i += 1;
                        self.state = WAIT_OPERAND;
                        self.count += 1;
                        return Ok(Tok::Open);
                    } else if c == b':' {
                        return Ok(Tok::Err);
                    } else if !is_space(c) {
                        match self.operand()? {
                            Some((w, j)) => {
                                self.i = j;
                                let (weight, prefix) = self.modifiers();
                                self.state = WAIT_OPERATOR;
                                return Ok(Tok::Val(Operand {
                                    text: std::borrow::Cow::Owned(w),
                                    weight,
                                    prefix,
                                    quoted: false,
                                }));
                            }
                            None if self.state == WAIT_FIRST => return Ok(Tok::End),
                            None => {
                                return Err(PgError::error(
                                    sqlstate::SYNTAX_ERROR,
                                    format!("no operand in tsquery: \"{}\"", self.input),
                                ))
                            }
                        }
                    }
                }
                _ => {
                    if c == b'&' {
                        self.i += 1;
                        self.state = WAIT_OPERAND;
                        return Ok(Tok::Opr(Some(QOp::And)));
                    } else if c == b'|' {
                        self.i += 1;
                        self.state = WAIT_OPERAND;
                        return Ok(Tok::Opr(Some(QOp::Or)));
                    } else if let Some(d) = self.phrase()? {
                        self.state = WAIT_OPERAND;
                        return Ok(Tok::Opr(Some(QOp::Phrase(d))));
                    } else if c == b')' {
                        self.i += 1;
                        self.count -= 1;
                        return Ok(if self.count < 0 { Tok::Err } else { Tok::Close });
                    } else if c == 0 {
                        return Ok(if self.count != 0 { Tok::Err } else { Tok::End });
                    } else if !is_space(c) {
                        return Ok(Tok::Err);
                    }
                }
            }
            self.i += char_len(self.s, self.i).max(1);
        }
    }

    fn token_web(&mut self) -> Result<Tok<'a>, PgError> {
        loop {
            let c = self.at(self.i);
            let is_op = matches!(c, b'!' | b'&' | b'|' | b'(' | b')');
            match self.state {
                WAIT_FIRST | WAIT_OPERAND => {
                    if c == b'-' {
                        self.i += 1;
                        self.state = WAIT_OPERAND;
                        return Ok(Tok::Opr(None));
                    } else if c == b'"' {
                        self.i += 1;
                        let st = self.i;
                        while self.at(self.i) != 0 && self.at(self.i) != b'"' {
                            self.i += 1;
                        }
                        let text = &self.input[st..self.i];
                        if self.at(self.i) != 0 {
                            self.i += 1;
                        }
                        self.state = WAIT_OPERATOR;
                        self.count += 1;
                        return Ok(Tok::Val(Operand {
                            text: std::borrow::Cow::Borrowed(text),
                            weight: 0,
                            prefix: false,
                            quoted: true,
                        }));
                    } else if is_op {
                        self.i += 1;
                        self.state = WAIT_OPERAND;
                        continue;
                    } else if !is_space(c) {
                        // websearch never fails on a malformed word: what
                        // is left is one operand (PostgreSQL 15's
                        // P_TSV_IS_WEB).
                        let got = match self.operand() {
                            Ok(g) => g,
                            Err(_) => {
                                let rest: String = self.input[self.i..]
                                    .chars()
                                    .filter(|c| *c != '\\' && *c != '\'')
                                    .collect();
                                self.i = self.s.len();
                                Some((rest, self.s.len()))
                            }
                        };
                        match got {
                            Some((w, j)) => {
                                self.i = j;
                                self.state = WAIT_OPERATOR;
                                return Ok(Tok::Val(Operand {
                                    text: std::borrow::Cow::Owned(w),
                                    weight: 0,
                                    prefix: false,
                                    quoted: false,
                                }));
                            }
                            None if self.state == WAIT_FIRST => return Ok(Tok::End),
                            None => {
                                self.pending_stop = true;
                                return Ok(Tok::End);
                            }
                        }
                    }
                }
                _ => {
                    if c == 0 {
                        return Ok(Tok::End);
                    } else if self.or_operator() {
                        self.state = WAIT_OPERAND;
                        return Ok(Tok::Opr(Some(QOp::Or)));
                    } else if is_op {
                        self.i += 1;
                        continue;
                    } else if !is_space(c) {
                        self.state = WAIT_OPERAND;
                        return Ok(Tok::Opr(Some(QOp::And)));
                    }
                }
            }
            self.i += char_len(self.s, self.i).max(1);
        }
    }

    /// websearch's `or`: a word of its own with an operand after it.
    fn or_operator(&mut self) -> bool {
        let rest = &self.s[self.i.min(self.s.len())..];
        if rest.len() < 2 || !rest[..2].eq_ignore_ascii_case(b"or") {
            return false;
        }
        let mut j = 2;
        match rest.get(j) {
            None => return false,
            Some(&c) if c == b'-' || c == b'_' || c.is_ascii_alphanumeric() || c >= 0x80 => {
                return false
            }
            _ => {}
        }
        loop {
            j += char_len(rest, j).max(1);
            match rest.get(j) {
                None => return false,
                Some(&c) if !is_space(c) => break,
                _ => {}
            }
        }
        self.i += 2;
        true
    }

    fn push_op(&mut self, op: Option<QOp>) -> Result<(), PgError> {
        let err = || syntax("tsquery", self.input);
        match op {
            None => {
                let c = self.nodes.pop().ok_or_else(err)?;
                self.nodes.push(QNode::Not(Box::new(c)));
            }
            Some(op) => {
                let r = self.nodes.pop().ok_or_else(err)?;
                let l = self.nodes.pop().ok_or_else(err)?;
                self.nodes.push(QNode::op(op, l, r));
            }
        }
        Ok(())
    }

    fn clean_stack(
        &mut self,
        stack: &mut Vec<Option<QOp>>,
        op: Option<QOp>,
    ) -> Result<(), PgError> {
        let prio = |o: Option<QOp>| o.map_or(NOT_PRIORITY, |o| o.priority());
        let p = prio(op);
        while let Some(&top) = stack.last() {
            let tp = prio(top);
            if (op.is_some() && p > tp) || (op.is_none() && p >= tp) {
                break;
            }
            stack.pop();
            self.push_op(top)?;
        }
        Ok(())
    }

    /// makepol: one parenthesised level.
    fn makepol(&mut self, depth: usize) -> Result<(), PgError> {
        if depth > 1000 {
            return Err(PgError::error(
                sqlstate::STATEMENT_TOO_COMPLEX,
                "stack depth limit exceeded",
            ));
        }
        let mut stack: Vec<Option<QOp>> = Vec::new();
        loop {
            match self.token()? {
                Tok::End => break,
                Tok::Val(o) => {
                    let n = (self.push)(o)?;
                    self.nodes.push(n);
                }
                Tok::Opr(op) => {
                    self.clean_stack(&mut stack, op)?;
                    if stack.len() >= 32 {
                        return Err(PgError::error(
                            sqlstate::INTERNAL_ERROR,
                            "tsquery stack too small",
                        ));
                    }
                    stack.push(op);
                }
                Tok::Open => self.makepol(depth + 1)?,
                Tok::Close => {
                    self.clean_stack(&mut stack, Some(QOp::Or))?;
                    return Ok(());
                }
                Tok::Err => return Err(syntax("tsquery", self.input)),
            }
        }
        if self.pending_stop {
            self.pending_stop = false;
            self.nodes.push(QNode::Stop);
        }
        self.clean_stack(&mut stack, Some(QOp::Or))
    }
}

/// parse_tsquery: the tree, `None` for a query without lexemes. `push`
/// turns each operand into a subtree (tsquery input: the operand itself).
/// Stop-word places are left in the tree; `cleanup_stopwords` drops them.
pub fn parse_query(
    input: &str,
    mode: QueryMode,
    push: &mut dyn FnMut(Operand<'_>) -> Result<QNode, PgError>,
) -> Result<Option<QNode>, PgError> {
    let mut p = QParser {
        input,
        s: input.as_bytes(),
        i: 0,
        count: 0,
        state: WAIT_FIRST,
        mode,
        nodes: Vec::new(),
        push,
        pending_stop: false,
    };
    let r = p.makepol(0);
    r?;
    let mut nodes = std::mem::take(&mut p.nodes);
    match nodes.len() {
        0 => Ok(None),
        1 => Ok(nodes.pop()),
        _ => Err(syntax("tsquery", input)),
    }
}

/// tsqueryin: operands as written.
pub fn parse_tsquery(input: &str) -> Result<Option<QNode>, PgError> {
    let mut push = |o: Operand<'_>| -> Result<QNode, PgError> {
        if o.text.len() > MAX_STR_LEN {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!("word is too long in tsquery: \"{input}\""),
            ));
        }
        Ok(QNode::Val {
            word: o.text.to_string(),
            weight: o.weight,
            prefix: o.prefix,
        })
    };
    parse_query(input, QueryMode::Standard, &mut push)
}

/// The NOTICE tsqueryin raises for a query without lexemes.
pub fn empty_query_notice(input: &str) -> PgError {
    PgError::new(
        tusk_common::error::Severity::Notice,
        sqlstate::SUCCESSFUL_COMPLETION,
        format!("text-search query doesn't contain lexemes: \"{input}\""),
    )
}

/// clean_stopword_intree: drop stop-word places, folding their widths
/// into the phrase distances around them. Returns (node, ladd, radd).
fn clean_stop(n: QNode) -> (Option<QNode>, u16, u16) {
    match n {
        QNode::Val { .. } => (Some(n), 0, 0),
        QNode::Stop => (None, 0, 0),
        QNode::Not(c) => {
            let (c, l, r) = clean_stop(*c);
            (c.map(|c| QNode::Not(Box::new(c))), l, r)
        }
        QNode::Op(op, l, r) => {
            let (l, lladd, lradd) = clean_stop(*l);
            let (r, rladd, rradd) = clean_stop(*r);
            let (isphrase, nd) = match op {
                QOp::Phrase(d) => (true, d),
                _ => (false, 0),
            };
            match (l, r) {
                (None, None) => {
                    let a = lladd + nd + rradd;
                    (None, a, a)
                }
                (None, Some(r)) => {
                    if isphrase {
                        (Some(r), lladd + nd + rladd, rradd)
                    } else {
                        (Some(r), rladd, rradd)
                    }
                }
                (Some(l), None) => {
                    if isphrase {
                        (Some(l), lladd, lradd + nd + rradd)
                    } else {
                        (Some(l), lladd, lradd)
                    }
                }
                (Some(l), Some(r)) => {
                    if isphrase {
                        let d = nd.saturating_add(lradd + rladd);
                        (Some(QNode::op(QOp::Phrase(d), l, r)), lladd, rradd)
                    } else {
                        (Some(QNode::op(op, l, r)), 0, 0)
                    }
                }
            }
        }
    }
}

/// cleanup_tsquery_stopwords; `None` when only stop words were left.
pub fn cleanup_stopwords(n: QNode) -> Option<QNode> {
    if !n.has_stop() {
        return Some(n);
    }
    clean_stop(n).0
}

fn infix(n: &QNode, parent: u8, right_phrase: bool, out: &mut String) {
    match n {
        QNode::Val {
            word,
            weight,
            prefix,
        } => {
            quote_lexeme(word, out);
            if *weight != 0 || *prefix {
                out.push(':');
                if *prefix {
                    out.push('*');
                }
                for (bit, c) in [(8, 'A'), (4, 'B'), (2, 'C'), (1, 'D')] {
                    if weight & bit != 0 {
                        out.push(c);
                    }
                }
            }
        }
        QNode::Stop => {}
        QNode::Not(c) => {
            let paren = NOT_PRIORITY < parent;
            if paren {
                out.push_str("( ");
            }
            out.push('!');
            infix(c, NOT_PRIORITY, false, out);
            if paren {
                out.push_str(" )");
            }
        }
        QNode::Op(op, l, r) => {
            let p = op.priority();
            let isphrase = matches!(op, QOp::Phrase(_));
            let paren = p < parent || (isphrase && right_phrase);
            if paren {
                out.push_str("( ");
            }
            infix(l, p, false, out);
            match op {
                QOp::Or => out.push_str(" | "),
                QOp::And => out.push_str(" & "),
                QOp::Phrase(1) => out.push_str(" <-> "),
                QOp::Phrase(d) => out.push_str(&format!(" <{d}> ")),
            }
            infix(r, p, isphrase, out);
            if paren {
                out.push_str(" )");
            }
        }
    }
}

/// tsqueryout; the empty query prints as an empty string.
pub fn format_tsquery(q: Option<&QNode>) -> String {
    let mut out = String::new();
    if let Some(q) = q {
        infix(q, 0, false, &mut out);
    }
    out
}

/// Normalise tsquery input text (the value tusk keeps); the flag says the
/// query had no lexemes (the caller raises tsqueryin's NOTICE).
pub fn normalize_tsquery(input: &str) -> Result<(String, bool), PgError> {
    let q = parse_tsquery(input)?;
    Ok((format_tsquery(q.as_ref()), q.is_none()))
}

/// Read back a stored (normalised) tsquery.
pub fn read_tsquery(s: &str) -> Result<Option<QNode>, PgError> {
    if s.is_empty() {
        return Ok(None);
    }
    parse_tsquery(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> String {
        normalize_tsvector(s).unwrap()
    }
    fn q(s: &str) -> String {
        normalize_tsquery(s).unwrap().0
    }

    #[test]
    fn tsvector_forms() {
        assert_eq!(v("1 2"), "'1' '2'");
        assert_eq!(v("'1 \\'2'"), "'1 ''2'");
        assert_eq!(v("'1 \\'2' ' 3' 4 "), "' 3' '1 ''2' '4'");
        assert_eq!(v("a:3A b:2a a:1B"), "'a':1B,3A 'b':2A");
        assert!(parse_tsvector("'' '1'").is_err());
    }

    #[test]
    fn tsquery_forms() {
        assert_eq!(q("!(!1|!2)"), "!( !'1' | !'2' )");
        assert_eq!(q("1|2&3"), "'1' | '2' & '3'");
        assert_eq!(q("(1|2)&3"), "( '1' | '2' ) & '3'");
        assert_eq!(q("1&(2&(4&(5|6)))"), "'1' & '2' & '4' & ( '5' | '6' )");
        assert_eq!(
            q("a:* & nbb:*ac | doo:a* | goo"),
            "'a':* & 'nbb':*AC | 'doo':*A | 'goo'"
        );
        assert_eq!(q("!!b"), "!!'b'");
        assert_eq!(q("a <3> g"), "'a' <3> 'g'");
    }
}
