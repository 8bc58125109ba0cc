//! PostgreSQL's Advanced Regular Expressions (Henry Spencer's ARE as
//! PostgreSQL 15 has it): the parser and the matcher behind pattern.rs.
//!
//! Why our own engine: PostgreSQL's semantics are not Perl's. The whole RE
//! matches the longest (or, when its first quantifier is non-greedy, the
//! shortest) text at the leftmost position, and only then are the
//! subexpressions dissected, each by its own preference, earlier ones
//! first; ARE also has back-references and look-behind, which linear-time
//! crates refuse. The matcher therefore works on sets of positions
//! (bitsets over the subject's characters): `fwd` gives every position a
//! node can end at from a set of starts, `bwd` every position it can start
//! at for a set of ends. Those answer "does it match", "where is the
//! leftmost match" and "how long is it" in time polynomial in the subject,
//! never exponential. Captures come from a dissection that picks, for each
//! concatenation split and each iteration, the preferred candidate among
//! the positions the sets allow. Back-references make the sets only an
//! upper bound, so with them the dissection backtracks over candidates;
//! that search is counted and polls for cancellation, and a pattern whose
//! automaton PostgreSQL would refuse to build fails at compile time with
//! PostgreSQL's "regular expression is too complex".

use std::collections::HashMap;
use std::sync::atomic::{AtomicPtr, Ordering};

use tusk_common::sqlstate;
use tusk_common::PgError;

/// regerror's wording, prefixed as PostgreSQL reports it.
pub(crate) fn invalid(msg: &str) -> PgError {
    PgError::error(
        sqlstate::INVALID_REGULAR_EXPRESSION,
        format!("invalid regular expression: {msg}"),
    )
}

const EESCAPE: &str = "invalid escape \\ sequence";
const EPAREN: &str = "parentheses () not balanced";
const EBRACK: &str = "brackets [] not balanced";
const EBRACE: &str = "braces {} not balanced";
const BADBR: &str = "invalid repetition count(s)";
const BADRPT: &str = "quantifier operand invalid";
const ESUBREG: &str = "invalid backreference number";
const ECTYPE: &str = "invalid character class";
const ERANGE: &str = "invalid character range";
const ECOLLATE: &str = "invalid collating element";
const BADOPT: &str = "invalid embedded option";
const ETOOBIG: &str = "regular expression is too complex";

/// Largest repetition count ({m,n}), RE_DUP_MAX.
const DUPMAX: u32 = 255;

/// Compile options (the regexp_* flags and embedded `(?...)` options).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Opts {
    pub ci: bool,
    pub expanded: bool,
    /// `.` and negated brackets do not match a newline.
    pub nlstop: bool,
    /// `^` and `$` also match after / before a newline.
    pub nlanch: bool,
    /// The whole pattern is a literal string.
    pub quote: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Alpha,
    Digit,
    Alnum,
    Upper,
    Lower,
    Space,
    Punct,
    Xdigit,
    Cntrl,
    Graph,
    Print,
    Blank,
    Word,
}

impl Class {
    fn named(s: &str) -> Option<Class> {
        Some(match s {
            "alpha" => Class::Alpha,
            "digit" => Class::Digit,
            "alnum" => Class::Alnum,
            "upper" => Class::Upper,
            "lower" => Class::Lower,
            "space" => Class::Space,
            "punct" => Class::Punct,
            "xdigit" => Class::Xdigit,
            "cntrl" => Class::Cntrl,
            "graph" => Class::Graph,
            "print" => Class::Print,
            "blank" => Class::Blank,
            "word" => Class::Word,
            _ => return None,
        })
    }

    fn has(self, c: char) -> bool {
        match self {
            Class::Alpha => c.is_alphabetic(),
            Class::Digit => c.is_ascii_digit(),
            Class::Alnum => c.is_alphanumeric(),
            Class::Upper => c.is_uppercase(),
            Class::Lower => c.is_lowercase(),
            Class::Space => c.is_whitespace(),
            Class::Punct => {
                if c.is_ascii() {
                    c.is_ascii_punctuation()
                } else {
                    !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control()
                }
            }
            Class::Xdigit => c.is_ascii_hexdigit(),
            Class::Cntrl => c.is_control(),
            Class::Graph => !c.is_whitespace() && !c.is_control(),
            Class::Print => !c.is_control(),
            Class::Blank => c == ' ' || c == '\t',
            Class::Word => is_word(c),
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// One character position's test: a literal, `.`, a bracket expression
/// or a class escape.
#[derive(Debug, Clone, Default)]
struct CharSet {
    neg: bool,
    chars: Vec<char>,
    ranges: Vec<(char, char)>,
    classes: Vec<Class>,
    /// `\D \S \W` inside a set.
    not_classes: Vec<Class>,
    /// Whether a newline is excluded regardless (nlstop on `.` / `[^`).
    no_nl: bool,
}

impl CharSet {
    fn one(c: char) -> CharSet {
        CharSet {
            chars: vec![c],
            ..CharSet::default()
        }
    }

    fn raw(&self, c: char) -> bool {
        self.chars.contains(&c)
            || self.ranges.iter().any(|&(a, b)| a <= c && c <= b)
            || self.classes.iter().any(|k| k.has(c))
            || self.not_classes.iter().any(|k| !k.has(c))
    }

    fn matches(&self, c: char, ci: bool) -> bool {
        if self.no_nl && c == '\n' {
            return false;
        }
        let hit = self.raw(c)
            || (ci
                && (c.to_lowercase().any(|l| self.raw(l))
                    || c.to_uppercase().any(|u| self.raw(u))));
        hit != self.neg
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Empty,
    Set(CharSet),
    /// `^` (nlanch: also after a newline), `$`.
    Bol,
    Eol,
    /// `\A`, `\Z`.
    StrStart,
    StrEnd,
    /// `\m \M \y \Y`.
    WordStart,
    WordEnd,
    WordBound,
    NotWordBound,
    Look {
        ahead: bool,
        neg: bool,
        sub: usize,
    },
    Backref(usize),
    Group {
        cap: Option<usize>,
        sub: usize,
    },
    Concat(Vec<usize>),
    Alt(Vec<usize>),
    Repeat {
        sub: usize,
        min: u32,
        max: Option<u32>,
        /// Whether this node prefers the longest match (None: no
        /// preference of its own).
        pref: Option<bool>,
    },
}

#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    /// Preference of the subtree (PostgreSQL's greediness rules).
    pref: Option<bool>,
    /// Captures and back-references inside (dissection needed).
    caps: bool,
    brs: bool,
    /// Capture numbers inside: [cap_lo, cap_hi).
    cap_lo: usize,
    cap_hi: usize,
    nullable: bool,
}

/// A compiled pattern.
#[derive(Debug)]
pub(crate) struct Prog {
    nodes: Vec<Node>,
    root: usize,
    /// Number of capturing groups.
    pub ngroups: usize,
    ci: bool,
    nlanch: bool,
    has_br: bool,
}

// ---------------------------------------------------------------- parser

/// Stack the parser or the back-reference search may use below where it
/// started, as PostgreSQL bounds its recursion (STACK_TOO_DEEP): past it
/// the pattern is "too complex" rather than a crashed backend.
const STACK_BUDGET: usize = 1 << 20;

fn stack_here() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

struct Parser<'a> {
    p: &'a [char],
    i: usize,
    o: Opts,
    nodes: Vec<Node>,
    /// Capturing groups opened so far / closed so far.
    ngroups: usize,
    closed: Vec<bool>,
    /// Inside a look-around (no captures, no back-references).
    in_look: usize,
    /// Where parsing started on the stack (parsing recurses on nesting).
    stack_base: usize,
}

fn mk(kind: Kind) -> Node {
    Node {
        kind,
        pref: None,
        caps: false,
        brs: false,
        cap_lo: 0,
        cap_hi: 0,
        nullable: false,
    }
}

impl Parser<'_> {
    fn add(&mut self, kind: Kind) -> usize {
        let mut n = mk(kind);
        match &n.kind {
            Kind::Empty
            | Kind::Bol
            | Kind::Eol
            | Kind::StrStart
            | Kind::StrEnd
            | Kind::WordStart
            | Kind::WordEnd
            | Kind::WordBound
            | Kind::NotWordBound
            | Kind::Look { .. } => n.nullable = true,
            Kind::Set(_) => {}
            Kind::Backref(_) => {
                n.brs = true;
                n.nullable = true;
            }
            Kind::Group { cap, sub } => {
                let s = &self.nodes[*sub];
                n.pref = s.pref;
                n.caps = s.caps || cap.is_some();
                n.brs = s.brs;
                n.nullable = s.nullable;
                if let Some(c) = cap {
                    n.cap_lo = *c;
                    n.cap_hi = if s.caps { s.cap_hi } else { c + 1 };
                } else {
                    n.cap_lo = s.cap_lo;
                    n.cap_hi = s.cap_hi;
                }
            }
            Kind::Concat(v) | Kind::Alt(v) => {
                let alt = matches!(n.kind, Kind::Alt(_));
                n.nullable = !alt;
                let mut lo = usize::MAX;
                let mut hi = 0;
                for &c in v {
                    let s = &self.nodes[c];
                    if n.pref.is_none() {
                        n.pref = s.pref;
                    }
                    n.caps |= s.caps;
                    n.brs |= s.brs;
                    if alt {
                        n.nullable |= s.nullable;
                    } else {
                        n.nullable &= s.nullable;
                    }
                    if s.caps {
                        lo = lo.min(s.cap_lo);
                        hi = hi.max(s.cap_hi);
                    }
                }
                if alt && v.len() > 1 {
                    n.pref = Some(true);
                }
                if lo != usize::MAX {
                    n.cap_lo = lo;
                    n.cap_hi = hi;
                }
            }
            Kind::Repeat { sub, min, pref, .. } => {
                let s = &self.nodes[*sub];
                n.pref = pref.or(s.pref);
                n.caps = s.caps;
                n.brs = s.brs;
                n.cap_lo = s.cap_lo;
                n.cap_hi = s.cap_hi;
                n.nullable = *min == 0 || s.nullable;
            }
        }
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    fn peek(&self) -> Option<char> {
        self.p.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.p.get(self.i + k).copied()
    }

    /// Skips white space and `#` comments in expanded mode.
    fn skip_ws(&mut self) {
        if !self.o.expanded {
            return;
        }
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.i += 1;
            } else if c == '#' {
                while let Some(d) = self.peek() {
                    self.i += 1;
                    if d == '\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    fn regex(&mut self) -> Result<usize, PgError> {
        let mut alts = vec![self.branch()?];
        while self.peek() == Some('|') {
            self.i += 1;
            alts.push(self.branch()?);
        }
        Ok(if alts.len() == 1 {
            alts[0]
        } else {
            self.add(Kind::Alt(alts))
        })
    }

    fn branch(&mut self) -> Result<usize, PgError> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some('|') | Some(')') => break,
                _ => {}
            }
            let (atom, quantifiable) = self.atom()?;
            let q = self.quantified(atom, quantifiable)?;
            items.push(q);
        }
        Ok(match items.len() {
            0 => self.add(Kind::Empty),
            1 => items[0],
            _ => self.add(Kind::Concat(items)),
        })
    }

    /// A bound `{m}`, `{m,}`, `{m,n}` after its `{`: (min, max, has comma).
    fn bound(&mut self) -> Result<(u32, Option<u32>, bool), PgError> {
        let num = |s: &mut Self| -> Result<Option<u32>, PgError> {
            let st = s.i;
            let mut v: u32 = 0;
            while let Some(d) = s.peek().and_then(|c| c.to_digit(10)) {
                v = v.saturating_mul(10).saturating_add(d);
                s.i += 1;
            }
            if s.i == st {
                Ok(None)
            } else if v > DUPMAX {
                Err(invalid(BADBR))
            } else {
                Ok(Some(v))
            }
        };
        let Some(m) = num(self)? else {
            return Err(invalid(BADBR));
        };
        let (max, comma) = if self.peek() == Some(',') {
            self.i += 1;
            (num(self)?, true)
        } else {
            (Some(m), false)
        };
        if self.peek() != Some('}') {
            return Err(invalid(if self.peek().is_none() { EBRACE } else { BADBR }));
        }
        self.i += 1;
        if let Some(n) = max {
            if m > n {
                return Err(invalid(BADBR));
            }
        }
        Ok((m, max, comma))
    }

    fn quantified(&mut self, atom: usize, quantifiable: bool) -> Result<usize, PgError> {
        self.skip_ws();
        let (min, max, fixed) = match self.peek() {
            Some('*') => (0, None, false),
            Some('+') => (1, None, false),
            Some('?') => (0, Some(1), false),
            Some('{') if self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => {
                self.i += 1;
                let (m, n, comma) = self.bound()?;
                self.i -= 1;
                (m, n, !comma)
            }
            _ => return Ok(atom),
        };
        if !quantifiable {
            return Err(invalid(BADRPT));
        }
        self.i += 1;
        let lazy = self.peek() == Some('?');
        if lazy {
            self.i += 1;
        }
        self.skip_ws();
        if matches!(self.peek(), Some('*' | '+' | '?'))
            || (self.peek() == Some('{') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()))
        {
            return Err(invalid(BADRPT));
        }
        // {m} and {m}? are as greedy as their atom; every other
        // quantifier decides by its own `?`.
        let pref = if fixed { None } else { Some(!lazy) };
        if min == 1 && max == Some(1) && pref.is_none() {
            return Ok(atom);
        }
        Ok(self.add(Kind::Repeat {
            sub: atom,
            min,
            max,
            pref,
        }))
    }

    /// One atom, and whether a quantifier may follow it.
    fn atom(&mut self) -> Result<(usize, bool), PgError> {
        let Some(c) = self.peek() else {
            return Err(invalid(EPAREN));
        };
        self.i += 1;
        match c {
            '(' => self.group(),
            ')' => Err(invalid(EPAREN)),
            '*' | '+' | '?' => Err(invalid(BADRPT)),
            '{' if self.peek().is_some_and(|c| c.is_ascii_digit()) => Err(invalid(BADRPT)),
            '^' => Ok((self.add(Kind::Bol), false)),
            '$' => Ok((self.add(Kind::Eol), false)),
            '.' => {
                let set = CharSet {
                    neg: true,
                    no_nl: self.o.nlstop,
                    ..CharSet::default()
                };
                Ok((self.add(Kind::Set(set)), true))
            }
            '[' => {
                let set = self.bracket()?;
                Ok((self.add(Kind::Set(set)), true))
            }
            '\\' => self.escape(),
            c => Ok((self.add(Kind::Set(CharSet::one(c))), true)),
        }
    }

    /// A parenthesized atom after its `(`.
    fn group(&mut self) -> Result<(usize, bool), PgError> {
        if self.stack_base.abs_diff(stack_here()) > STACK_BUDGET {
            return Err(invalid(ETOOBIG));
        }
        if self.peek() == Some('?') {
            self.i += 1;
            let k = self.peek();
            self.i += 1;
            let look = match k {
                Some(':') => None,
                Some('=') => Some((true, false)),
                Some('!') => Some((true, true)),
                Some('<') => match self.peek() {
                    Some('=') => {
                        self.i += 1;
                        Some((false, false))
                    }
                    Some('!') => {
                        self.i += 1;
                        Some((false, true))
                    }
                    _ => return Err(invalid(BADRPT)),
                },
                Some('#') => {
                    while let Some(d) = self.peek() {
                        self.i += 1;
                        if d == ')' {
                            return Ok((self.add(Kind::Empty), false));
                        }
                    }
                    return Err(invalid(EPAREN));
                }
                _ => return Err(invalid(BADRPT)),
            };
            if look.is_some() {
                self.in_look += 1;
            }
            let sub = self.regex()?;
            if self.peek() != Some(')') {
                return Err(invalid(EPAREN));
            }
            self.i += 1;
            return Ok(match look {
                None => (self.add(Kind::Group { cap: None, sub }), true),
                Some((ahead, neg)) => {
                    self.in_look -= 1;
                    (self.add(Kind::Look { ahead, neg, sub }), false)
                }
            });
        }
        let cap = if self.in_look > 0 {
            None
        } else {
            self.ngroups += 1;
            self.closed.push(false);
            Some(self.ngroups)
        };
        let sub = self.regex()?;
        if self.peek() != Some(')') {
            return Err(invalid(EPAREN));
        }
        self.i += 1;
        if let Some(n) = cap {
            self.closed[n - 1] = true;
        }
        Ok((self.add(Kind::Group { cap, sub }), true))
    }

    fn escape(&mut self) -> Result<(usize, bool), PgError> {
        let Some(c) = self.peek() else {
            return Err(invalid(EESCAPE));
        };
        self.i += 1;
        let k = match c {
            'A' => Kind::StrStart,
            'Z' => Kind::StrEnd,
            'm' => Kind::WordStart,
            'M' => Kind::WordEnd,
            'y' => Kind::WordBound,
            'Y' => Kind::NotWordBound,
            'd' | 's' | 'w' | 'D' | 'S' | 'W' => {
                let mut set = CharSet::default();
                set.classes.push(class_of(c));
                set.neg = c.is_ascii_uppercase();
                return Ok((self.add(Kind::Set(set)), true));
            }
            '1'..='9' => {
                let save = self.i;
                let mut v: u32 = c.to_digit(10).unwrap_or(0);
                while let Some(d) = self.peek().and_then(|d| d.to_digit(10)) {
                    v = v.saturating_mul(10).saturating_add(d);
                    self.i += 1;
                }
                if self.i == save || (v as usize) <= self.ngroups {
                    let n = v as usize;
                    if self.in_look > 0 || n > self.ngroups || !self.closed[n - 1] {
                        return Err(invalid(ESUBREG));
                    }
                    return Ok((self.add(Kind::Backref(n)), true));
                }
                self.i = save - 1;
                let ch = self.octal()?;
                Kind::Set(CharSet::one(ch))
            }
            _ => {
                self.i -= 1;
                let ch = self.char_escape()?;
                Kind::Set(CharSet::one(ch))
            }
        };
        let quantifiable = matches!(k, Kind::Set(_));
        Ok((self.add(k), quantifiable))
    }

    fn octal(&mut self) -> Result<char, PgError> {
        let mut v: u32 = 0;
        let mut n = 0;
        while n < 3 {
            match self.peek().and_then(|d| d.to_digit(8)) {
                Some(d) => {
                    v = v * 8 + d;
                    self.i += 1;
                    n += 1;
                }
                None => break,
            }
        }
        char::from_u32(v).ok_or_else(|| invalid(EESCAPE))
    }

    fn hex(&mut self, min: usize, max: usize) -> Result<char, PgError> {
        let mut v: u64 = 0;
        let mut n = 0;
        while n < max {
            match self.peek().and_then(|d| d.to_digit(16)) {
                Some(d) => {
                    v = v * 16 + u64::from(d);
                    self.i += 1;
                    n += 1;
                }
                None => break,
            }
        }
        if n < min || v > 0x10FFFF {
            return Err(invalid(EESCAPE));
        }
        char::from_u32(v as u32).ok_or_else(|| invalid(EESCAPE))
    }

    /// A character-entry escape after its backslash (outside or inside
    /// brackets).
    fn char_escape(&mut self) -> Result<char, PgError> {
        let Some(c) = self.peek() else {
            return Err(invalid(EESCAPE));
        };
        self.i += 1;
        Ok(match c {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'B' => '\\',
            'c' => {
                let Some(d) = self.peek() else {
                    return Err(invalid(EESCAPE));
                };
                self.i += 1;
                char::from_u32(d as u32 & 0x1F).unwrap_or('\0')
            }
            'e' => '\u{1b}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            'u' => self.hex(4, 4)?,
            'U' => self.hex(8, 8)?,
            'x' => self.hex(1, usize::MAX)?,
            '0' => {
                self.i -= 1;
                self.octal()?
            }
            c if c.is_alphanumeric() => return Err(invalid(EESCAPE)),
            c => c,
        })
    }

    fn bracket(&mut self) -> Result<CharSet, PgError> {
        let mut set = CharSet::default();
        if self.peek() == Some('^') {
            self.i += 1;
            set.neg = true;
            set.no_nl = self.o.nlstop;
        }
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(invalid(EBRACK));
            };
            if c == ']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            // One endpoint: a character, or a class / equivalence class.
            let lo = match self.bracket_item(&mut set)? {
                Some(ch) => ch,
                // A class cannot start a range.
                None if self.peek() == Some('-') && self.peek_at(1).is_some_and(|d| d != ']') => {
                    return Err(invalid(ERANGE))
                }
                None => continue,
            };
            if self.peek() == Some('-') && self.peek_at(1).is_some_and(|d| d != ']') {
                self.i += 1;
                let hi = match self.bracket_item(&mut set)? {
                    Some(ch) => ch,
                    None => return Err(invalid(ERANGE)),
                };
                if hi < lo {
                    return Err(invalid(ERANGE));
                }
                set.ranges.push((lo, hi));
            } else {
                set.chars.push(lo);
            }
        }
        Ok(set)
    }

    /// One bracket member: Some(char) for something a range may use,
    /// None when a class was added to `set`.
    fn bracket_item(&mut self, set: &mut CharSet) -> Result<Option<char>, PgError> {
        let c = self.peek().ok_or_else(|| invalid(EBRACK))?;
        self.i += 1;
        match c {
            '[' if matches!(self.peek(), Some(':' | '.' | '=')) => {
                let kind = self.peek().unwrap_or(':');
                self.i += 1;
                let st = self.i;
                loop {
                    match self.peek() {
                        None => return Err(invalid(EBRACK)),
                        Some(d) if d == kind && self.peek_at(1) == Some(']') => break,
                        _ => self.i += 1,
                    }
                }
                let name: String = self.p[st..self.i].iter().collect();
                self.i += 2;
                match kind {
                    ':' => {
                        let k = Class::named(&name).ok_or_else(|| invalid(ECTYPE))?;
                        set.classes.push(k);
                        Ok(None)
                    }
                    _ => {
                        let mut cs = name.chars();
                        let ch = match (cs.next(), cs.next()) {
                            (Some(ch), None) => ch,
                            _ => collating_name(&name).ok_or_else(|| invalid(ECOLLATE))?,
                        };
                        if kind == '=' {
                            set.chars.push(ch);
                            Ok(None)
                        } else {
                            Ok(Some(ch))
                        }
                    }
                }
            }
            '\\' => match self.peek() {
                Some(d @ ('d' | 's' | 'w')) => {
                    self.i += 1;
                    set.classes.push(class_of(d));
                    Ok(None)
                }
                Some(d @ ('D' | 'S' | 'W')) => {
                    self.i += 1;
                    set.not_classes.push(class_of(d));
                    Ok(None)
                }
                _ => Ok(Some(self.char_escape()?)),
            },
            c => Ok(Some(c)),
        }
    }
}

fn class_of(c: char) -> Class {
    match c.to_ascii_lowercase() {
        'd' => Class::Digit,
        's' => Class::Space,
        _ => Class::Word,
    }
}

fn collating_name(n: &str) -> Option<char> {
    Some(match n {
        "NUL" => '\0',
        "tab" => '\t',
        "newline" => '\n',
        "space" => ' ',
        "hyphen" | "hyphen-minus" => '-',
        "period" | "full-stop" => '.',
        "slash" | "solidus" => '/',
        "backslash" | "reverse-solidus" => '\\',
        "underscore" | "low-line" => '_',
        "left-square-bracket" => '[',
        "right-square-bracket" => ']',
        "circumflex" | "circumflex-accent" => '^',
        _ => return None,
    })
}

/// Compiles `pattern` under `o`, handling the `***=` / `***:` directors
/// and leading embedded options.
pub(crate) fn compile(pattern: &str, mut o: Opts) -> Result<Prog, PgError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut start = 0;
    if !o.quote && chars.len() >= 4 && chars[..3] == ['*', '*', '*'] {
        match chars[3] {
            '=' => {
                o.quote = true;
                start = 4;
            }
            ':' => start = 4,
            _ => return Err(invalid(BADRPT)),
        }
    }
    if !o.quote && chars.get(start) == Some(&'(') && chars.get(start + 1) == Some(&'?') {
        let mut i = start + 2;
        let is_opts = chars.get(i).is_some_and(|c| c.is_ascii_alphabetic());
        if is_opts {
            loop {
                match chars.get(i) {
                    Some(')') => {
                        i += 1;
                        break;
                    }
                    Some('b' | 'e') => {}
                    Some('c') => o.ci = false,
                    Some('i') => o.ci = true,
                    Some('m' | 'n') => {
                        o.nlstop = true;
                        o.nlanch = true;
                    }
                    Some('p') => {
                        o.nlstop = true;
                        o.nlanch = false;
                    }
                    Some('q') => o.quote = true,
                    Some('s') => {
                        o.nlstop = false;
                        o.nlanch = false;
                    }
                    Some('t') => o.expanded = false,
                    Some('w') => {
                        o.nlstop = false;
                        o.nlanch = true;
                    }
                    Some('x') => o.expanded = true,
                    _ => return Err(invalid(BADOPT)),
                }
                i += 1;
            }
            start = i;
        }
    }
    let mut ps = Parser {
        p: &chars[start..],
        i: 0,
        o,
        nodes: Vec::new(),
        ngroups: 0,
        closed: Vec::new(),
        in_look: 0,
        stack_base: stack_here(),
    };
    let root = if o.quote {
        let items: Vec<usize> =
            ps.p.iter()
                .map(|&c| ps_add_char(&mut ps, c))
                .collect::<Vec<_>>();
        match items.len() {
            0 => ps.add(Kind::Empty),
            1 => items[0],
            _ => ps.add(Kind::Concat(items)),
        }
    } else {
        let r = ps.regex()?;
        if ps.i < ps.p.len() {
            return Err(invalid(EPAREN));
        }
        r
    };
    let prog = Prog {
        has_br: ps.nodes[root].brs,
        nodes: ps.nodes,
        root,
        ngroups: ps.ngroups,
        ci: o.ci,
        nlanch: o.nlanch,
    };
    if prog.complexity(prog.root) > 2_000_000 {
        return Err(invalid(ETOOBIG));
    }
    Ok(prog)
}

fn ps_add_char(ps: &mut Parser<'_>, c: char) -> usize {
    ps.add(Kind::Set(CharSet::one(c)))
}

impl Prog {
    /// A stand-in for the size of the automaton PostgreSQL would build:
    /// states grow with bounded repetition (copied per iteration), and
    /// arcs with the square of each run of consecutive items that can
    /// match nothing (their empty transitions are closed over).
    fn complexity(&self, id: usize) -> u64 {
        let n = &self.nodes[id];
        match &n.kind {
            Kind::Group { sub, .. } | Kind::Look { sub, .. } => self.complexity(*sub) + 1,
            Kind::Concat(v) => {
                let mut sum = 0u64;
                let mut run = 0u64;
                for &c in v {
                    sum = sum.saturating_add(self.complexity(c));
                    if self.nodes[c].nullable {
                        run += 1;
                        sum = sum.saturating_add(run);
                    } else {
                        run = 0;
                    }
                }
                sum
            }
            Kind::Alt(v) => v
                .iter()
                .fold(1u64, |a, &c| a.saturating_add(self.complexity(c))),
            Kind::Repeat { sub, min, max, .. } => {
                let copies = u64::from(max.unwrap_or(*min).max(1));
                self.complexity(*sub)
                    .saturating_mul(copies)
                    .saturating_add(2)
            }
            _ => 1,
        }
    }
}

// ---------------------------------------------------------------- sets

/// A set of positions 0..=n, stored only over the words it touches: a
/// match from one start costs the span it explores, not the subject's
/// length (a `g` loop over a long string stays linear).
#[derive(Clone, Debug, Default)]
struct Bits {
    /// Index of the first stored word.
    lo: usize,
    w: Vec<u64>,
}

impl Bits {
    fn new(_n: usize) -> Bits {
        Bits::default()
    }
    fn full(n: usize) -> Bits {
        let mut w = vec![u64::MAX; n / 64 + 1];
        let extra = 63 - n % 64;
        if let Some(l) = w.last_mut() {
            *l >>= extra;
        }
        Bits { lo: 0, w }
    }
    fn single(_n: usize, p: usize) -> Bits {
        Bits {
            lo: p / 64,
            w: vec![1 << (p % 64)],
        }
    }
    /// Makes words [lo, hi) addressable.
    fn cover(&mut self, lo: usize, hi: usize) {
        if self.w.is_empty() {
            self.lo = lo;
            self.w = vec![0; hi - lo];
            return;
        }
        let (cl, ch) = (self.lo, self.lo + self.w.len());
        if lo >= cl && hi <= ch {
            return;
        }
        if lo >= cl {
            // Upward: amortized by Vec's growth.
            self.w.resize(hi - cl, 0);
            return;
        }
        // Downward: double the span so a backward sweep stays linear.
        let (nl, nh) = (lo.min(cl.saturating_sub(ch - cl)), hi.max(ch));
        let mut w = vec![0; nh - nl];
        w[cl - nl..ch - nl].copy_from_slice(&self.w);
        self.lo = nl;
        self.w = w;
    }
    fn word(&self, i: usize) -> u64 {
        if i < self.lo {
            return 0;
        }
        self.w.get(i - self.lo).copied().unwrap_or(0)
    }
    fn set(&mut self, i: usize) {
        self.cover(i / 64, i / 64 + 1);
        let k = i / 64 - self.lo;
        self.w[k] |= 1 << (i % 64);
    }
    fn get(&self, i: usize) -> bool {
        self.word(i / 64) & (1 << (i % 64)) != 0
    }
    fn is_empty(&self) -> bool {
        self.w.iter().all(|&w| w == 0)
    }
    fn or(&mut self, o: &Bits) {
        if o.is_empty() {
            return;
        }
        self.cover(o.lo, o.lo + o.w.len());
        let off = o.lo - self.lo;
        for (i, b) in o.w.iter().enumerate() {
            self.w[off + i] |= b;
        }
    }
    fn and(&mut self, o: &Bits) {
        let lo = self.lo;
        for (i, a) in self.w.iter_mut().enumerate() {
            *a &= o.word(lo + i);
        }
    }
    fn minus(&mut self, o: &Bits) {
        let lo = self.lo;
        for (i, a) in self.w.iter_mut().enumerate() {
            *a &= !o.word(lo + i);
        }
    }
    fn iter(&self) -> impl DoubleEndedIterator<Item = usize> + '_ {
        let lo = self.lo;
        self.w.iter().enumerate().flat_map(move |(wi, &w)| {
            (0..64)
                .filter(move |b| w & (1u64 << b) != 0)
                .map(move |b| (lo + wi) * 64 + b)
        })
    }
    /// The smallest member at or after p.
    fn next_from(&self, p: usize) -> Option<usize> {
        let mut wi = (p / 64).max(self.lo);
        let mut mask = if wi == p / 64 {
            u64::MAX << (p % 64)
        } else {
            u64::MAX
        };
        while wi < self.lo + self.w.len() {
            let w = self.w[wi - self.lo] & mask;
            if w != 0 {
                return Some(wi * 64 + w.trailing_zeros() as usize);
            }
            wi += 1;
            mask = u64::MAX;
        }
        None
    }
    fn first(&self) -> Option<usize> {
        self.next_from(0)
    }
    fn last(&self) -> Option<usize> {
        self.w
            .iter()
            .enumerate()
            .rev()
            .find(|(_, &w)| w != 0)
            .map(|(i, w)| (self.lo + i) * 64 + 63 - w.leading_zeros() as usize)
    }
}

// ---------------------------------------------------------------- matching

/// Hook polled during long matches (the server's cancel / statement
/// timeout check); None outside a server.
static INTERRUPT_HOOK: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

/// Registers the function long regex matches poll for query cancel and
/// statement_timeout.
pub fn set_interrupt_hook(f: fn() -> Result<(), PgError>) {
    INTERRUPT_HOOK.store(f as *mut (), Ordering::Relaxed);
}

fn poll_interrupts() -> Result<(), PgError> {
    let p = INTERRUPT_HOOK.load(Ordering::Relaxed);
    if p.is_null() {
        return Ok(());
    }
    // SAFETY: only set_interrupt_hook stores here, always a
    // `fn() -> Result<(), PgError>` pointer.
    let f: fn() -> Result<(), PgError> = unsafe { std::mem::transmute(p) };
    f()
}

type Caps = Vec<Option<(usize, usize)>>;

/// One subject string being matched against one program; caches the
/// sets that do not depend on where a search starts.
pub(crate) struct Matcher<'a> {
    re: &'a Prog,
    s: Vec<char>,
    n: usize,
    look: HashMap<usize, Bits>,
    rep: HashMap<(usize, u32, Option<u32>, usize), Bits>,
    starts: Option<Bits>,
    work: u64,
    /// Where matching started on the stack (see STACK_BUDGET).
    stack_base: usize,
}

/// A match: spans (in characters) of the whole match and each group.
pub(crate) type Spans = Vec<Option<(usize, usize)>>;

impl<'a> Matcher<'a> {
    pub(crate) fn new(re: &'a Prog, s: &str) -> Matcher<'a> {
        let s: Vec<char> = s.chars().collect();
        Matcher {
            re,
            n: s.len(),
            s,
            look: HashMap::new(),
            rep: HashMap::new(),
            starts: None,
            work: 0,
            stack_base: stack_here(),
        }
    }

    /// The subject's characters.
    #[cfg(test)]
    pub(crate) fn chars(&self) -> &[char] {
        &self.s
    }

    fn tick(&mut self, w: usize) -> Result<(), PgError> {
        let before = self.work >> 16;
        self.work += w as u64 + 1;
        if self.work >> 16 != before {
            poll_interrupts()?;
        }
        Ok(())
    }

    fn word_at(&self, p: usize) -> bool {
        p < self.n && is_word(self.s[p])
    }

    fn word_before(&self, p: usize) -> bool {
        p > 0 && is_word(self.s[p - 1])
    }

    /// Whether a zero-width node holds at p (None: not zero-width).
    fn holds(&mut self, id: usize, p: usize) -> Result<Option<bool>, PgError> {
        let nl = self.re.nlanch;
        Ok(Some(match &self.re.nodes[id].kind {
            Kind::Empty => true,
            Kind::Bol => p == 0 || (nl && self.s[p - 1] == '\n'),
            Kind::Eol => p == self.n || (nl && self.s[p] == '\n'),
            Kind::StrStart => p == 0,
            Kind::StrEnd => p == self.n,
            Kind::WordStart => !self.word_before(p) && self.word_at(p),
            Kind::WordEnd => self.word_before(p) && !self.word_at(p),
            Kind::WordBound => self.word_before(p) != self.word_at(p),
            Kind::NotWordBound => self.word_before(p) == self.word_at(p),
            Kind::Look { .. } => self.look_set(id)?.get(p),
            _ => return Ok(None),
        }))
    }

    /// Positions where a look-around constraint holds.
    fn look_set(&mut self, id: usize) -> Result<&Bits, PgError> {
        if !self.look.contains_key(&id) {
            let Kind::Look { ahead, neg, sub } = self.re.nodes[id].kind else {
                unreachable!("look_set on a look-around node")
            };
            let all = Bits::full(self.n);
            let mut b = if ahead {
                self.bwd(sub, &all)?
            } else {
                self.fwd(sub, &all)?
            };
            if neg {
                let mut c = all;
                c.minus(&b);
                b = c;
            }
            self.look.insert(id, b);
        }
        Ok(&self.look[&id])
    }

    fn filter(&mut self, id: usize, s: &Bits) -> Result<Bits, PgError> {
        let mut out = Bits::new(self.n);
        for p in s.iter() {
            if self.holds(id, p)? == Some(true) {
                out.set(p);
            }
        }
        Ok(out)
    }

    /// Every position `id` can end at, starting anywhere in `s`.
    fn fwd(&mut self, id: usize, s: &Bits) -> Result<Bits, PgError> {
        self.tick(s.w.len())?;
        let re = self.re;
        Ok(match &re.nodes[id].kind {
            Kind::Set(cs) => {
                let mut out = Bits::new(self.n);
                for p in s.iter() {
                    if p < self.n && cs.matches(self.s[p], re.ci) {
                        out.set(p + 1);
                    }
                }
                out
            }
            Kind::Backref(_) => {
                let mut out = Bits::new(self.n);
                if let Some(f) = s.first() {
                    for p in f..=self.n {
                        out.set(p);
                    }
                }
                out
            }
            Kind::Group { sub, .. } => self.fwd(*sub, s)?,
            Kind::Concat(v) => {
                let mut cur = s.clone();
                for &c in v {
                    if cur.is_empty() {
                        break;
                    }
                    cur = self.fwd(c, &cur)?;
                }
                cur
            }
            Kind::Alt(v) => {
                let mut out = Bits::new(self.n);
                for &c in v {
                    let r = self.fwd(c, s)?;
                    out.or(&r);
                }
                out
            }
            Kind::Repeat { sub, min, max, .. } => self.rep_fwd(*sub, *min, *max, s)?,
            _ => self.filter(id, s)?,
        })
    }

    fn rep_fwd(
        &mut self,
        sub: usize,
        min: u32,
        max: Option<u32>,
        s: &Bits,
    ) -> Result<Bits, PgError> {
        let mut cur = s.clone();
        for _ in 0..min {
            if cur.is_empty() {
                return Ok(cur);
            }
            cur = self.fwd(sub, &cur)?;
        }
        if max == Some(min) {
            return Ok(cur);
        }
        if let (Kind::Set(cs), None) = (&self.re.nodes[sub].kind, max) {
            // One character per iteration: a single left-to-right sweep.
            let mut out = cur;
            let (Some(mut p), Some(l0)) = (out.first(), out.last()) else {
                return Ok(out);
            };
            while p < self.n {
                if out.get(p) && cs.matches(self.s[p], self.re.ci) {
                    out.set(p + 1);
                } else if p >= l0 {
                    break;
                }
                p += 1;
            }
            return Ok(out);
        }
        let mut acc = cur.clone();
        let mut frontier = cur;
        let mut count = min;
        while max.is_none_or(|m| count < m) {
            let mut next = self.fwd(sub, &frontier)?;
            next.minus(&acc);
            if next.is_empty() {
                break;
            }
            acc.or(&next);
            frontier = next;
            count += 1;
        }
        Ok(acc)
    }

    /// Every position `id` can start at, ending anywhere in `t`.
    fn bwd(&mut self, id: usize, t: &Bits) -> Result<Bits, PgError> {
        self.tick(t.w.len())?;
        let re = self.re;
        Ok(match &re.nodes[id].kind {
            Kind::Set(cs) => {
                let mut out = Bits::new(self.n);
                for p in t.iter() {
                    if p > 0 && cs.matches(self.s[p - 1], re.ci) {
                        out.set(p - 1);
                    }
                }
                out
            }
            Kind::Backref(_) => {
                let mut out = Bits::new(self.n);
                if let Some(l) = t.last() {
                    for p in 0..=l {
                        out.set(p);
                    }
                }
                out
            }
            Kind::Group { sub, .. } => self.bwd(*sub, t)?,
            Kind::Concat(v) => {
                let mut cur = t.clone();
                for &c in v.iter().rev() {
                    if cur.is_empty() {
                        break;
                    }
                    cur = self.bwd(c, &cur)?;
                }
                cur
            }
            Kind::Alt(v) => {
                let mut out = Bits::new(self.n);
                for &c in v {
                    let r = self.bwd(c, t)?;
                    out.or(&r);
                }
                out
            }
            Kind::Repeat { sub, min, max, .. } => self.rep_bwd(*sub, *min, *max, t)?,
            _ => self.filter(id, t)?,
        })
    }

    fn rep_bwd(
        &mut self,
        sub: usize,
        min: u32,
        max: Option<u32>,
        t: &Bits,
    ) -> Result<Bits, PgError> {
        let mut cur = t.clone();
        for _ in 0..min {
            if cur.is_empty() {
                return Ok(cur);
            }
            cur = self.bwd(sub, &cur)?;
        }
        if max == Some(min) {
            return Ok(cur);
        }
        if let (Kind::Set(cs), None) = (&self.re.nodes[sub].kind, max) {
            let mut out = cur;
            let (Some(f0), Some(mut p)) = (out.first(), out.last()) else {
                return Ok(out);
            };
            while p > 0 {
                if out.get(p) && cs.matches(self.s[p - 1], self.re.ci) {
                    out.set(p - 1);
                } else if p <= f0 {
                    break;
                }
                p -= 1;
            }
            return Ok(out);
        }
        let mut acc = cur.clone();
        let mut frontier = cur;
        let mut count = min;
        while max.is_none_or(|m| count < m) {
            let mut next = self.bwd(sub, &frontier)?;
            next.minus(&acc);
            if next.is_empty() {
                break;
            }
            acc.or(&next);
            frontier = next;
            count += 1;
        }
        Ok(acc)
    }

    /// Whether the whole pattern matches somewhere.
    pub(crate) fn is_match(&mut self) -> Result<bool, PgError> {
        if !self.re.has_br {
            // Some start reaches some end: no need to find which.
            let all = Bits::full(self.n);
            return Ok(!self.bwd(self.re.root, &all)?.is_empty());
        }
        Ok(self.find_at(0)?.is_some())
    }

    /// The leftmost match starting at or after character `at`, with its
    /// groups (index 0 the whole match).
    pub(crate) fn find_at(&mut self, at: usize) -> Result<Option<Spans>, PgError> {
        if at > self.n {
            return Ok(None);
        }
        let re = self.re;
        if self.starts.is_none() {
            let all = Bits::full(self.n);
            let st = self.bwd(re.root, &all)?;
            self.starts = Some(st);
        }
        let Some(starts) = self.starts.clone() else {
            return Ok(None);
        };
        if !re.has_br {
            let Some(s) = starts.next_from(at) else {
                return Ok(None);
            };
            return self.try_start(s);
        }
        // With back-references the sets over-approximate; candidates are
        // walked as PostgreSQL's cfindloop does: find the earliest end any
        // candidate match could have, try the starts up to it, then go on
        // from just past it while that is before the end of the string
        // (so a start at the very end is tried only if reached so).
        let mut close = at;
        loop {
            let mut from = Bits::new(self.n);
            for p in starts.iter().filter(|&p| p >= close) {
                from.set(p);
            }
            let ends = self.fwd(re.root, &from)?;
            let Some(c) = ends.iter().find(|&e| e >= close) else {
                return Ok(None);
            };
            for s in starts.iter().filter(|&p| p >= close && p <= c) {
                if let Some(m) = self.try_start(s)? {
                    return Ok(Some(m));
                }
            }
            close = c + 1;
            if close >= self.n {
                return Ok(None);
            }
        }
    }

    /// The preferred match starting at s, if any.
    fn try_start(&mut self, s: usize) -> Result<Option<Spans>, PgError> {
        let re = self.re;
        let longest = re.nodes[re.root].pref.unwrap_or(true);
        let ends = self.fwd(re.root, &Bits::single(self.n, s))?;
        let ends: Vec<usize> = if longest {
            ends.iter().rev().collect()
        } else {
            ends.iter().collect()
        };
        for e in ends {
            let mut caps: Caps = vec![None; re.ngroups + 1];
            if self.dis(re.root, s, e, &mut caps, &mut |_, _| Ok(true))? {
                caps[0] = Some((s, e));
                return Ok(Some(caps));
            }
            if !re.has_br {
                break;
            }
        }
        Ok(None)
    }

    fn ordered(&self, b: &Bits, pref: Option<bool>) -> Vec<usize> {
        if pref.unwrap_or(true) {
            b.iter().rev().collect()
        } else {
            b.iter().collect()
        }
    }

    /// Dissects `id` over [a, b): assigns the captures inside it by
    /// PostgreSQL's preferences and calls `k` for each way it can (in
    /// preference order) until `k` accepts. Without back-references the
    /// first way always succeeds.
    fn dis(
        &mut self,
        id: usize,
        a: usize,
        b: usize,
        caps: &mut Caps,
        k: &mut dyn FnMut(&mut Self, &mut Caps) -> Result<bool, PgError>,
    ) -> Result<bool, PgError> {
        let re = self.re;
        let node = &re.nodes[id];
        if !node.caps && !node.brs {
            return k(self, caps);
        }
        self.tick(1)?;
        if self.stack_base.abs_diff(stack_here()) > STACK_BUDGET {
            return Err(invalid(ETOOBIG));
        }
        self.dis_node(id, a, b, caps, k)
    }

    fn dis_node(
        &mut self,
        id: usize,
        a: usize,
        b: usize,
        caps: &mut Caps,
        k: &mut dyn FnMut(&mut Self, &mut Caps) -> Result<bool, PgError>,
    ) -> Result<bool, PgError> {
        let re = self.re;
        match &re.nodes[id].kind {
            Kind::Backref(g) => {
                let Some((x, y)) = caps[*g] else {
                    return Ok(false);
                };
                if y - x != b - a {
                    return Ok(false);
                }
                let same = (0..b - a).all(|i| {
                    let (c, d) = (self.s[x + i], self.s[a + i]);
                    c == d || (re.ci && c.to_lowercase().eq(d.to_lowercase()))
                });
                if same {
                    k(self, caps)
                } else {
                    Ok(false)
                }
            }
            Kind::Group { cap, sub } => {
                let cap = *cap;
                let sub = *sub;
                self.dis(sub, a, b, caps, &mut |m, caps| {
                    let Some(g) = cap else {
                        return k(m, caps);
                    };
                    let old = caps[g];
                    caps[g] = Some((a, b));
                    if k(m, caps)? {
                        return Ok(true);
                    }
                    caps[g] = old;
                    Ok(false)
                })
            }
            Kind::Concat(v) => self.dis_seq(v, 0, a, b, caps, k),
            Kind::Alt(v) => {
                for &alt in v {
                    let ends = self.fwd(alt, &Bits::single(self.n, a))?;
                    if ends.get(b) && self.dis(alt, a, b, caps, k)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Kind::Repeat {
                sub,
                min,
                max,
                pref,
            } => {
                let pref = pref.or(re.nodes[*sub].pref);
                self.dis_rep(*sub, *min, *max, pref, 0, a, b, caps, k)
            }
            _ => k(self, caps),
        }
    }

    fn dis_seq(
        &mut self,
        v: &'a [usize],
        i: usize,
        a: usize,
        b: usize,
        caps: &mut Caps,
        k: &mut dyn FnMut(&mut Self, &mut Caps) -> Result<bool, PgError>,
    ) -> Result<bool, PgError> {
        if i == v.len() {
            return if a == b { k(self, caps) } else { Ok(false) };
        }
        if i + 1 == v.len() {
            return self.dis(v[i], a, b, caps, k);
        }
        if !self.re.has_br {
            // Nothing to take back: walk the items, no recursion.
            let mut a = a;
            for j in i..v.len() {
                if !v[j..].iter().any(|&c| self.re.nodes[c].caps) {
                    break;
                }
                let mid = if j + 1 == v.len() {
                    b
                } else {
                    match self.split(v, j, a, b)?.first() {
                        Some(&m) => m,
                        None => return Ok(false),
                    }
                };
                if !self.dis(v[j], a, mid, caps, &mut |_, _| Ok(true))? {
                    return Ok(false);
                }
                a = mid;
            }
            return k(self, caps);
        }
        let c = v[i];
        for mid in self.split(v, i, a, b)? {
            if self.dis(c, a, mid, caps, &mut |m, caps| {
                m.dis_seq(v, i + 1, mid, b, caps, k)
            })? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Where item i of a concatenation spanning [a, b) may end, in its
    /// order of preference.
    fn split(&mut self, v: &[usize], i: usize, a: usize, b: usize) -> Result<Vec<usize>, PgError> {
        let c = v[i];
        let mut mids = self.fwd(c, &Bits::single(self.n, a))?;
        let mut rest = Bits::single(self.n, b);
        for &r in v[i + 1..].iter().rev() {
            rest = self.bwd(r, &rest)?;
        }
        mids.and(&rest);
        Ok(self.ordered(&mids, self.re.nodes[c].pref))
    }

    /// Positions from which `count` more iterations (within the bounds)
    /// reach b.
    fn rep_rest(
        &mut self,
        sub: usize,
        min: u32,
        max: Option<u32>,
        b: usize,
    ) -> Result<Bits, PgError> {
        let key = (sub, min, max, b);
        if let Some(r) = self.rep.get(&key) {
            return Ok(r.clone());
        }
        let r = self.rep_bwd(sub, min, max, &Bits::single(self.n, b))?;
        self.rep.insert(key, r.clone());
        Ok(r)
    }

    #[allow(clippy::too_many_arguments)]
    fn dis_rep(
        &mut self,
        sub: usize,
        min: u32,
        max: Option<u32>,
        pref: Option<bool>,
        count: u32,
        a: usize,
        b: usize,
        caps: &mut Caps,
        k: &mut dyn FnMut(&mut Self, &mut Caps) -> Result<bool, PgError>,
    ) -> Result<bool, PgError> {
        let re = self.re;
        let (lo, hi) = (re.nodes[sub].cap_lo, re.nodes[sub].cap_hi);
        if !re.has_br {
            return self.dis_rep_plain(sub, min, max, pref, count, a, b, caps, k);
        }
        if a == b {
            // An empty iteration when one can match empty (PostgreSQL
            // reports the group as matching the empty string), else none.
            let can_empty =
                max.is_none_or(|m| count < m) && self.fwd(sub, &Bits::single(self.n, a))?.get(a);
            if can_empty {
                let saved: Caps = caps[lo.min(hi)..hi].to_vec();
                for c in caps[lo.min(hi)..hi].iter_mut() {
                    *c = None;
                }
                if self.dis(sub, a, a, caps, k)? {
                    return Ok(true);
                }
                caps[lo.min(hi)..hi].copy_from_slice(&saved);
            }
            if count >= min || can_empty {
                return k(self, caps);
            }
            return Ok(false);
        }
        if max.is_some_and(|m| count >= m) {
            return Ok(false);
        }
        let mut mids = self.fwd(sub, &Bits::single(self.n, a))?;
        let rmin = min.saturating_sub(count + 1);
        let rmax = max.map(|m| m - count - 1);
        let rest = self.rep_rest(sub, rmin, rmax, b)?;
        mids.and(&rest);
        let mut order = self.ordered(&mids, pref);
        order.retain(|&m| m != a);
        for mid in order {
            let saved: Caps = caps[lo.min(hi)..hi].to_vec();
            for c in caps[lo.min(hi)..hi].iter_mut() {
                *c = None;
            }
            let ok = self.dis(sub, a, mid, caps, &mut |m, caps| {
                if mid == b {
                    if count + 1 >= min {
                        return k(m, caps);
                    }
                    return m.dis_rep(sub, min, max, pref, count + 1, mid, b, caps, k);
                }
                m.dis_rep(sub, min, max, pref, count + 1, mid, b, caps, k)
            })?;
            if ok {
                return Ok(true);
            }
            caps[lo.min(hi)..hi].copy_from_slice(&saved);
            if !re.has_br {
                break;
            }
        }
        Ok(false)
    }
}

impl Matcher<'_> {
    /// dis_rep without back-references: each iteration's preferred
    /// span always works out, so iterate instead of recursing.
    #[allow(clippy::too_many_arguments)]
    fn dis_rep_plain(
        &mut self,
        sub: usize,
        min: u32,
        max: Option<u32>,
        pref: Option<bool>,
        mut count: u32,
        mut a: usize,
        b: usize,
        caps: &mut Caps,
        k: &mut dyn FnMut(&mut Self, &mut Caps) -> Result<bool, PgError>,
    ) -> Result<bool, PgError> {
        let (lo, hi) = (self.re.nodes[sub].cap_lo, self.re.nodes[sub].cap_hi);
        let lo = lo.min(hi);
        loop {
            if a == b {
                let can_empty = max.is_none_or(|m| count < m)
                    && self.fwd(sub, &Bits::single(self.n, a))?.get(a);
                if can_empty {
                    caps[lo..hi].fill(None);
                    self.dis(sub, a, a, caps, &mut |_, _| Ok(true))?;
                } else if count < min {
                    return Ok(false);
                }
                return k(self, caps);
            }
            if max.is_some_and(|m| count >= m) {
                return Ok(false);
            }
            let mut mids = self.fwd(sub, &Bits::single(self.n, a))?;
            let rmin = min.saturating_sub(count + 1);
            let rmax = max.map(|m| m - count - 1);
            let rest = self.rep_rest(sub, rmin, rmax, b)?;
            mids.and(&rest);
            let Some(mid) = self.ordered(&mids, pref).into_iter().find(|&m| m != a) else {
                return Ok(false);
            };
            caps[lo..hi].fill(None);
            self.dis(sub, a, mid, caps, &mut |_, _| Ok(true))?;
            a = mid;
            count += 1;
            if a == b && count >= min {
                return k(self, caps);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str, p: &str) -> Option<Vec<Option<String>>> {
        m_opts(s, p, Opts::default())
    }

    fn m_opts(s: &str, p: &str, o: Opts) -> Option<Vec<Option<String>>> {
        let prog = compile(p, o).unwrap();
        let mut mt = Matcher::new(&prog, s);
        let caps = mt.find_at(0).unwrap()?;
        let cs = mt.chars().to_vec();
        Some(
            caps.iter()
                .map(|c| c.map(|(a, b)| cs[a..b].iter().collect()))
                .collect(),
        )
    }

    fn whole(s: &str, p: &str) -> Option<String> {
        m(s, p).and_then(|v| v[0].clone())
    }

    fn groups(s: &str, p: &str) -> Vec<Option<String>> {
        m(s, p).unwrap()[1..].to_vec()
    }

    fn err(p: &str) -> String {
        compile(p, Opts::default()).unwrap_err().message
    }

    fn some(v: &[&str]) -> Vec<Option<String>> {
        v.iter().map(|s| Some(s.to_string())).collect()
    }

    #[test]
    fn longest_leftmost_and_first_quantifier_rule() {
        assert_eq!(whole("abc", "a|ab|abc").as_deref(), Some("abc"));
        assert_eq!(whole("xy", ".|..."), Some("x".into()));
        assert_eq!(whole("fooba", "(?:..)*"), Some("foob".into()));
        assert_eq!(groups("xabcx", "(a|ab)(c|bcd)?"), some(&["ab", "c"]));
        assert_eq!(whole("Programmer", "(\\w).*?\\1"), Some("rogr".into()));
        assert_eq!(
            groups("llmmmfff", "^(l*?)(.*)(f*)$"),
            some(&["", "llmmmfff", ""])
        );
        assert_eq!(
            groups("llmmmfff", "^(l*?){1,1}(.*)(f*)$"),
            some(&["ll", "mmmfff", ""])
        );
        assert_eq!(
            groups("llmmmfff", "^(l*){1,1}?(.*){1,1}?(f*)$"),
            some(&["", "llmmm", "fff"])
        );
        assert_eq!(
            groups("foo/bar/baz", "^([^/]+?)(?:/([^/]+?))(?:/([^/]+?))?$"),
            some(&["foo", "bar", "baz"])
        );
    }

    #[test]
    fn captures_of_iterations() {
        assert_eq!(groups("", "(a*)*"), some(&[""]));
        assert_eq!(groups("b", "(a)*b"), vec![None]);
        assert_eq!(groups("ba", "(?:a|(b))+"), vec![None]);
        assert_eq!(groups("a", "((a))+"), some(&["a", "a"]));
    }

    #[test]
    fn lookaround_and_backrefs() {
        assert_eq!(whole("ab", "a(?=b)b*"), Some("ab".into()));
        assert_eq!(whole("a", "a(?=b)b*"), None);
        assert_eq!(whole("foobar", "(?<=foo)b+"), Some("b".into()));
        assert_eq!(whole("ab", "a*(?<!a)b+"), None);
        assert_eq!(whole("b", "a*(?<!a)b+"), Some("b".into()));
        assert!(whole("abc abc abc", "^(\\w+)( \\1)+$").is_some());
        assert!(whole("abc abd abc", "^(.+)( \\1)+$").is_none());
        assert!(whole("a", "()*\\1").is_some());
        // cfindloop never reaches a start at the end after an earlier
        // candidate end failed.
        assert!(whole("a", "$()|^\\1").is_none());
        assert!(whole("ab", "b()|^\\1").is_some());
        assert!(whole("xxx", "(.){0}(\\1)").is_none());
        assert!(whole("xyz", "((.)){0}(\\2){0}").is_some());
    }

    #[test]
    fn syntax_and_errors() {
        assert_eq!(whole("a+b", "***=a+b"), Some("a+b".into()));
        assert_eq!(whole("AB", "(?i)ab"), Some("AB".into()));
        assert_eq!(whole("a b", "(?x)a\\ b # c"), Some("a b".into()));
        assert_eq!(whole("a{x", "a{x"), Some("a{x".into()));
        assert_eq!(whole("a]", "[]a]+"), Some("a]".into()));
        assert_eq!(
            err("a{1"),
            "invalid regular expression: braces {} not balanced"
        );
        assert_eq!(
            err("a**"),
            "invalid regular expression: quantifier operand invalid"
        );
        assert_eq!(
            err("a{3,2}"),
            "invalid regular expression: invalid repetition count(s)"
        );
        assert_eq!(
            err("(a\\1)"),
            "invalid regular expression: invalid backreference number"
        );
        assert_eq!(
            err("x(\\w)(?=\\1)"),
            "invalid regular expression: invalid backreference number"
        );
        assert_eq!(
            err("[z-a]"),
            "invalid regular expression: invalid character range"
        );
        assert_eq!(
            err("[\\w-z]"),
            "invalid regular expression: invalid character range"
        );
        assert_eq!(
            err("\\x7fffffff"),
            "invalid regular expression: invalid escape \\ sequence"
        );
        assert_eq!(
            err("(?z)a"),
            "invalid regular expression: invalid embedded option"
        );
        assert_eq!(
            err("a)"),
            "invalid regular expression: parentheses () not balanced"
        );
        assert_eq!(
            err(&"x*y*z*".repeat(1000)),
            "invalid regular expression: regular expression is too complex"
        );
    }

    #[test]
    fn bounded_on_hard_patterns() {
        // Exponential for a backtracker, polynomial here.
        let s = "a".repeat(200);
        assert!(whole(&s, "^(a|a)*(a|aa)*b").is_none());
        assert!(whole(&"a".repeat(5000), "(a*)*$").is_some());
        assert!(whole(&"a".repeat(100), "^(a)(?:\\1)*$").is_some());
        // A back-reference search nesting past the stack budget errors.
        let prog = compile("^(a)(?:\\1)*$", Opts::default()).unwrap();
        let long = "a".repeat(20_000);
        let e = Matcher::new(&prog, &long).find_at(0).unwrap_err();
        assert_eq!(e.code.as_str(), "2201B");
        let deep = format!("{}a{}", "(".repeat(1000), ")".repeat(1000));
        assert_eq!(
            err(&deep),
            "invalid regular expression: regular expression is too complex"
        );
    }
}
