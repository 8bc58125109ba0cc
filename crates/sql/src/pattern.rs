//! POSIX regular expressions as PostgreSQL offers them (`~`, `~*`, `!~`,
//! `!~*`, regexp_match, regexp_replace, regexp_split_to_array,
//! regexp_like, regexp_count, substring(x from pattern)) and SIMILAR TO,
//! on are.rs's engine.
//!
//! Why an engine of our own (are.rs) and not a crate: PostgreSQL's ARE
//! picks the longest (or shortest) leftmost match for the whole pattern
//! and then dissects subexpressions by their own greediness, and it has
//! back-references and look-behind; the linear-time crates refuse those
//! and the backtracking ones (fancy-regex) pick Perl's first-alternative
//! match, which gives other answers. This module parses the flag strings,
//! caches compiled patterns per backend (a table scan compiles its
//! pattern once) and maps matches to the functions' results.
//!
//! Pure functions; any backend may call them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::are::{self, Matcher, Opts};
use crate::types;
use crate::types::array::Array;
use crate::value::{to_text, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatOp {
    /// `~` (ci: `~*`), negated: `!~` / `!~*`.
    Match {
        ci: bool,
        negated: bool,
    },
    /// `[NOT] SIMILAR TO pattern [ESCAPE e]` (args: text, pattern[, escape]).
    Similar {
        negated: bool,
    },
    RegexpMatch,
    RegexpReplace,
    RegexpSplit,
    RegexpLike,
    RegexpCount,
    /// substring(text from pattern).
    Substring,
    /// substring(text similar pattern escape e), substring(text, text, text).
    SubstringSimilar,
}

impl PatOp {
    /// The SQL function EXPLAIN shows for the operation.
    pub(crate) fn function_name(self) -> &'static str {
        match self {
            PatOp::Match { .. } => "textregexeq",
            PatOp::Similar { .. } => "similar_to",
            PatOp::RegexpMatch => "regexp_match",
            PatOp::RegexpReplace => "regexp_replace",
            PatOp::RegexpSplit => "regexp_split_to_array",
            PatOp::RegexpLike => "regexp_like",
            PatOp::RegexpCount => "regexp_count",
            PatOp::Substring | PatOp::SubstringSimilar => "substring",
        }
    }
}

/// Parsed flags of the regexp_* functions.
#[derive(Default, Clone, Copy, PartialEq, Eq, Hash)]
struct Flags {
    opts: Opts,
    global: bool,
}

fn parse_flags(f: Option<&str>) -> Result<Flags, PgError> {
    let mut out = Flags::default();
    let o = &mut out.opts;
    for c in f.unwrap_or("").chars() {
        match c {
            'g' => out.global = true,
            'b' | 'e' => {}
            'c' => o.ci = false,
            'i' => o.ci = true,
            'm' | 'n' => {
                o.nlstop = true;
                o.nlanch = true;
            }
            'p' => {
                o.nlstop = true;
                o.nlanch = false;
            }
            'q' => o.quote = true,
            's' => {
                o.nlstop = false;
                o.nlanch = false;
            }
            't' => o.expanded = false,
            'w' => {
                o.nlstop = false;
                o.nlanch = true;
            }
            'x' => o.expanded = true,
            other => {
                return Err(PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("invalid regular expression option: \"{other}\""),
                ))
            }
        }
    }
    Ok(out)
}

/// One match: byte spans of the whole match (index 0) and each group.
pub(crate) type Spans = Vec<Option<(usize, usize)>>;

/// A compiled pattern.
#[derive(Clone)]
pub(crate) struct Regex(Rc<are::Prog>);

impl Regex {
    pub(crate) fn is_match(&self, s: &str) -> Result<bool, PgError> {
        Matcher::new(&self.0, s).is_match()
    }

    /// The first match, if any.
    pub(crate) fn first(&self, s: &str) -> Result<Option<Spans>, PgError> {
        Ok(self.all_from(s, 0, Some(1))?.pop())
    }

    /// Successive matches from byte offset `from`, as PostgreSQL's `g`
    /// loop finds them: the next search starts where a match ended, one
    /// character later after an empty match.
    pub(crate) fn all_from(
        &self,
        s: &str,
        from: usize,
        limit: Option<usize>,
    ) -> Result<Vec<Spans>, PgError> {
        let mut m = Matcher::new(&self.0, s);
        let offs: Vec<usize> = s
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(s.len()))
            .collect();
        let mut at = offs.partition_point(|&o| o < from);
        let mut out = Vec::new();
        while limit.is_none_or(|l| out.len() < l) {
            let Some(sp) = m.find_at(at)? else {
                break;
            };
            let (a, b) = sp[0].unwrap_or((at, at));
            out.push(
                sp.iter()
                    .map(|g| g.map(|(x, y)| (offs[x], offs[y])))
                    .collect(),
            );
            at = if a == b { b + 1 } else { b };
        }
        Ok(out)
    }
}

thread_local! {
    static CACHE: RefCell<HashMap<(String, Opts), Regex>> = RefCell::new(HashMap::new());
}

/// A pattern compiled with a regexp_* flags string, and whether the
/// flags asked for `g` (strfuncs.rs's positional regexp functions).
pub(crate) fn compile_flags(p: &str, flags: Option<&str>) -> Result<(Regex, bool), PgError> {
    let f = parse_flags(flags)?;
    Ok((compile(p, f.opts)?, f.global))
}

/// regexp_replace's replacement text with its group references expanded.
pub(crate) fn expand_replacement(rep: &str, s: &str, caps: &Spans, out: &mut String) {
    expand(rep, s, caps, out)
}

fn compile(p: &str, o: Opts) -> Result<Regex, PgError> {
    if let Some(r) = CACHE.with(|c| c.borrow().get(&(p.to_string(), o)).cloned()) {
        return Ok(r);
    }
    let r = Regex(Rc::new(are::compile(p, o)?));
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 64 {
            c.clear();
        }
        c.insert((p.to_string(), o), r.clone());
    });
    Ok(r)
}

/// SIMILAR TO's pattern as a regular expression anchored at both ends
/// (PostgreSQL's similar_escape): `%` is `.*`, `_` is `.`, `(` a
/// non-capturing group, the escape character quotes the next one (so
/// `\d` reaches the regex as a class escape), and escape-double-quotes
/// split the pattern into the three parts substring(... similar ...)
/// reports the middle of.
pub(crate) fn similar_to_regex(p: &str, escape: Option<char>) -> Result<String, PgError> {
    let mut out = String::from("^(?:");
    let mut after_escape = false;
    // Square-bracket nesting, and how far into the current class we are
    // (1: just opened, 2: after a leading ^, 3: past its first member,
    // where a ']' can close it).
    let mut depth = 0u32;
    let mut class_pos = 0u32;
    let mut quotes = 0;
    for c in p.chars() {
        if after_escape {
            if c == '"' && depth < 1 {
                match quotes {
                    0 => out.push_str("){1,1}?("),
                    1 => out.push_str("){1,1}(?:"),
                    _ => {
                        return Err(PgError::error(
                            tusk_common::SqlState::new("2200C"),
                            "SQL regular expression may not contain more than two escape-double-quote separators",
                        ))
                    }
                }
                quotes += 1;
            } else {
                out.push('\\');
                out.push(c);
                class_pos = 3;
            }
            after_escape = false;
        } else if Some(c) == escape {
            after_escape = true;
        } else if depth > 0 {
            if c == '\\' {
                out.push('\\');
            }
            out.push(c);
            if c == ']' && class_pos > 2 {
                depth -= 1;
            } else if c == '[' {
                depth += 1;
                class_pos = 3;
            } else if c == '^' {
                class_pos += 1;
            } else {
                class_pos = 3;
            }
        } else {
            match c {
                '[' => {
                    out.push('[');
                    depth = 1;
                    class_pos = 1;
                }
                '%' => out.push_str(".*"),
                '_' => out.push('.'),
                '(' => out.push_str("(?:"),
                '\\' | '.' | '^' | '$' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
    }
    out.push_str(")$");
    Ok(out)
}

/// SIMILAR TO's escape argument: one character, or none when empty.
fn similar_escape_char(v: Option<&Value>) -> Result<Option<Option<char>>, PgError> {
    Ok(Some(match v {
        None => Some('\\'),
        Some(Value::Null) => return Ok(None),
        Some(v) => {
            let e = to_text(v).unwrap_or_default();
            let mut cs = e.chars();
            match (cs.next(), cs.next()) {
                (None, _) => None,
                (Some(c), None) => Some(c),
                _ => {
                    return Err(PgError::error(
                        sqlstate::INVALID_ESCAPE_SEQUENCE,
                        "invalid escape string",
                    )
                    .with_hint("Escape string must be empty or one character."))
                }
            }
        }
    }))
}

/// substring(text similar pattern escape e): the part between the
/// escape-double-quotes (the whole match without them).
pub(crate) fn substring_similar(args: Vec<Value>) -> Result<Value, PgError> {
    // PostgreSQL runs this as the SQL function substring(text, text, text).
    substring_similar_body(args)
        .map_err(|e| e.with_context("SQL function \"substring\" statement 1"))
}

fn substring_similar_body(args: Vec<Value>) -> Result<Value, PgError> {
    let (Some(s), Some(p)) = (text(args.first()), text(args.get(1))) else {
        return Ok(Value::Null);
    };
    let Some(esc) = similar_escape_char(args.get(2))? else {
        return Ok(Value::Null);
    };
    let re = compile(&similar_to_regex(&p, esc)?, Opts::default())?;
    Ok(match re.first(&s)? {
        None => Value::Null,
        Some(c) => {
            let g = if c.len() > 1 { c[1] } else { c[0] };
            g.map_or(Value::Null, |(a, b)| Value::Text(s[a..b].to_string()))
        }
    })
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(to_text)
}

fn text_array(items: Vec<Value>) -> Value {
    Value::Array(Box::new(Array::from_items(types::TEXT, items)))
}

/// A match as regexp_match(es) reports it: the groups, else the whole
/// match.
fn match_array(s: &str, c: &Spans) -> Value {
    let piece =
        |g: &Option<(usize, usize)>| g.map_or(Value::Null, |(a, b)| Value::Text(s[a..b].into()));
    if c.len() == 1 {
        text_array(vec![piece(&c[0])])
    } else {
        text_array(c[1..].iter().map(piece).collect())
    }
}

/// PostgreSQL's replacement string: `\1`..`\9` a group, `\&` the match,
/// `\\` a backslash.
fn expand(rep: &str, s: &str, caps: &Spans, out: &mut String) {
    let mut it = rep.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.peek().copied() {
            Some(d @ '1'..='9') => {
                it.next();
                let i = d as usize - '0' as usize;
                if let Some(Some((a, b))) = caps.get(i) {
                    out.push_str(&s[*a..*b]);
                }
            }
            Some('&') => {
                it.next();
                if let Some(Some((a, b))) = caps.first() {
                    out.push_str(&s[*a..*b]);
                }
            }
            Some('\\') => {
                it.next();
                out.push('\\');
            }
            _ => out.push('\\'),
        }
    }
}

/// Evaluate a pattern operation over its evaluated arguments.
pub(crate) fn eval(op: &PatOp, args: Vec<Value>) -> Result<Value, PgError> {
    let (Some(s), Some(p)) = (text(args.first()), text(args.get(1))) else {
        return Ok(Value::Null);
    };
    Ok(match op {
        PatOp::Match { ci, negated } => {
            let o = Opts {
                ci: *ci,
                ..Opts::default()
            };
            Value::Bool(compile(&p, o)?.is_match(&s)? != *negated)
        }
        PatOp::Similar { negated } => {
            let Some(esc) = similar_escape_char(args.get(2))? else {
                return Ok(Value::Null);
            };
            let re = similar_to_regex(&p, esc)?;
            Value::Bool(compile(&re, Opts::default())?.is_match(&s)? != *negated)
        }
        PatOp::RegexpMatch | PatOp::RegexpLike | PatOp::RegexpCount | PatOp::RegexpSplit => {
            let flag_arg = if *op == PatOp::RegexpCount { 3 } else { 2 };
            if args.get(flag_arg).is_some_and(Value::is_null) {
                return Ok(Value::Null);
            }
            let f = parse_flags(text(args.get(flag_arg)).as_deref())?;
            if f.global && *op != PatOp::RegexpCount {
                let name = match op {
                    PatOp::RegexpMatch => "regexp_match()",
                    PatOp::RegexpLike => "regexp_like()",
                    _ => "regexp_split_to_array()",
                };
                let e = PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("{name} does not support the \"global\" option"),
                );
                return Err(if *op == PatOp::RegexpMatch {
                    e.with_hint("Use the regexp_matches function instead.")
                } else {
                    e
                });
            }
            let re = compile(&p, f.opts)?;
            match op {
                PatOp::RegexpLike => Value::Bool(re.is_match(&s)?),
                PatOp::RegexpCount => Value::Int4(re.all_from(&s, 0, None)?.len() as i32),
                PatOp::RegexpMatch => match re.first(&s)? {
                    None => Value::Null,
                    Some(c) => match_array(&s, &c),
                },
                _ => text_array(split(&re, &s)?.into_iter().map(Value::Text).collect()),
            }
        }
        PatOp::RegexpReplace => {
            let Some(rep) = text(args.get(2)) else {
                return Ok(Value::Null);
            };
            if args.get(3).is_some_and(Value::is_null) {
                return Ok(Value::Null);
            }
            let flags = text(args.get(3));
            if let Some(d) = flags.as_deref().and_then(|f| f.chars().next()) {
                // regexp_replace(s, p, r, '1') meant a start position.
                if d.is_ascii_digit() {
                    return Err(PgError::error(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!("invalid regular expression option: \"{d}\""),
                    )
                    .with_hint(
                        "If you meant to use regexp_replace() with a start parameter, cast the fourth argument to integer explicitly.",
                    ));
                }
            }
            let f = parse_flags(flags.as_deref())?;
            let re = compile(&p, f.opts)?;
            let found = re.all_from(&s, 0, if f.global { None } else { Some(1) })?;
            let mut out = String::with_capacity(s.len());
            let mut last = 0;
            for caps in &found {
                let Some((a, b)) = caps[0] else { continue };
                out.push_str(&s[last..a]);
                expand(&rep, &s, caps, &mut out);
                last = b;
            }
            out.push_str(&s[last..]);
            Value::Text(out)
        }
        PatOp::SubstringSimilar => return substring_similar(args),
        PatOp::Substring => {
            let re = compile(&p, Opts::default())?;
            match re.first(&s)? {
                None => Value::Null,
                Some(c) => {
                    let g = if c.len() > 1 { c[1] } else { c[0] };
                    g.map_or(Value::Null, |(a, b)| Value::Text(s[a..b].to_string()))
                }
            }
        }
    })
}

/// regexp_split_to_table's pieces (regexp_split_to_array's, with its
/// own name in the error for the `g` flag).
pub(crate) fn split_to_table(args: Vec<Value>) -> Result<Value, PgError> {
    if let Some(f) = text(args.get(2)) {
        if parse_flags(Some(&f))?.global {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                "regexp_split_to_table() does not support the \"global\" option",
            ));
        }
    }
    eval(&PatOp::RegexpSplit, args)
}

/// regexp_matches: one text[] per match (every match with the `g` flag,
/// else the first), the groups or else the whole match.
pub(crate) fn matches(args: Vec<Value>) -> Result<Vec<Value>, PgError> {
    let (Some(s), Some(p)) = (text(args.first()), text(args.get(1))) else {
        return Ok(Vec::new());
    };
    if args.get(2).is_some_and(Value::is_null) {
        return Ok(Vec::new());
    }
    let f = parse_flags(text(args.get(2)).as_deref())?;
    let re = compile(&p, f.opts)?;
    let found = re.all_from(&s, 0, if f.global { None } else { Some(1) })?;
    Ok(found.iter().map(|c| match_array(&s, c)).collect())
}

/// regexp_split_to_array: the pieces between matches, ignoring
/// degenerate ones (empty matches at the start or end of the string or
/// right where the previous match ended).
pub(crate) fn split(re: &Regex, s: &str) -> Result<Vec<String>, PgError> {
    let mut out = Vec::new();
    let mut prev = 0;
    let mut prev_end = 0;
    for m in re.all_from(s, 0, None)? {
        let Some((a, b)) = m[0] else { continue };
        if a < s.len() && b > prev_end {
            out.push(s[prev..a].to_string());
            prev = b;
        }
        prev_end = b;
    }
    out.push(s[prev..].to_string());
    Ok(out)
}

/// `SUBSTRING(x SIMILAR p ESCAPE e)` (SQL:2003) as `SUBSTRING(x, p, e)`,
/// the three-text form PostgreSQL also reads it as; sqlparser has no
/// grammar for the SIMILAR form. Only a SIMILAR at the top level of a
/// SUBSTRING's parentheses is touched.
pub(crate) fn rewrite_substring_similar(
    mut toks: Vec<sqlparser::tokenizer::TokenWithSpan>,
) -> Vec<sqlparser::tokenizer::TokenWithSpan> {
    use sqlparser::tokenizer::Token;
    let is_word = |t: &Token, w: &str| matches!(t, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    let mean = |toks: &[sqlparser::tokenizer::TokenWithSpan], from: usize| {
        (from..toks.len()).find(|&j| !matches!(toks[j].token, Token::Whitespace(_)))
    };
    let mut i = 0;
    while i < toks.len() {
        if !is_word(&toks[i].token, "substring") {
            i += 1;
            continue;
        }
        let Some(open) = mean(&toks, i + 1).filter(|&j| toks[j].token == Token::LParen) else {
            i += 1;
            continue;
        };
        let mut depth = 0usize;
        let mut similar = None;
        let mut escape = None;
        for j in open..toks.len() {
            match &toks[j].token {
                Token::LParen | Token::LBracket => depth += 1,
                Token::RParen | Token::RBracket => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                t if depth == 1 && similar.is_none() && is_word(t, "similar") => {
                    let next = mean(&toks, j + 1);
                    if !next.is_some_and(|n| is_word(&toks[n].token, "to")) {
                        similar = Some(j);
                    }
                }
                t if depth == 1 && similar.is_some() && is_word(t, "escape") => {
                    escape = Some(j);
                }
                _ => {}
            }
        }
        if let (Some(sim), Some(esc)) = (similar, escape) {
            toks[sim].token = Token::Comma;
            toks[esc].token = Token::Comma;
        }
        i = open + 1;
    }
    toks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(op: PatOp, args: &[&str]) -> String {
        let v = eval(
            &op,
            args.iter().map(|s| Value::Text(s.to_string())).collect(),
        )
        .unwrap();
        to_text(&v).unwrap_or_else(|| "NULL".into())
    }

    #[test]
    fn postgres_answers() {
        let m = PatOp::Match {
            ci: false,
            negated: false,
        };
        assert_eq!(run(m, &["abc", "^a.c$"]), "t");
        assert_eq!(run(m, &["a\nc", "a.c"]), "t");
        assert_eq!(
            run(
                PatOp::Match {
                    ci: true,
                    negated: true
                },
                &["ABC", "b"]
            ),
            "f"
        );
        assert_eq!(
            run(PatOp::RegexpMatch, &["foobarbequebaz", "(bar)(beque)"]),
            "{bar,beque}"
        );
        assert_eq!(run(PatOp::RegexpMatch, &["foobar", "o+"]), "{oo}");
        assert_eq!(run(PatOp::RegexpMatch, &["foobar", "x"]), "NULL");
        assert_eq!(
            run(PatOp::RegexpReplace, &["foobarbaz", "b..", "X"]),
            "fooXbaz"
        );
        assert_eq!(
            run(PatOp::RegexpReplace, &["foobarbaz", "b(..)", "X\\1Y", "g"]),
            "fooXarYXazY"
        );
        assert_eq!(
            run(PatOp::RegexpSplit, &["hello world", "\\s*"]),
            "{h,e,l,l,o,w,o,r,l,d}"
        );
        assert_eq!(
            run(PatOp::RegexpSplit, &["the quick brown fox", "\\s+"]),
            "{the,quick,brown,fox}"
        );
        assert_eq!(run(PatOp::Substring, &["Thomas", "...$"]), "mas");
        assert_eq!(run(PatOp::Substring, &["foobar", "o(.)b"]), "o");
        let sim = PatOp::Similar { negated: false };
        assert_eq!(run(sim, &["abc", "abc"]), "t");
        assert_eq!(run(sim, &["abc", "a"]), "f");
        assert_eq!(run(sim, &["abc", "%(b|d)%"]), "t");
        assert_eq!(run(sim, &["abc", "(b|c)%"]), "f");
        assert_eq!(run(sim, &["a.c", "a.c"]), "t");
        assert_eq!(run(sim, &["abc", "a.c"]), "f");
        let e = eval(&m, vec![Value::Text("a".into()), Value::Text("(".into())]).unwrap_err();
        assert_eq!(e.code.as_str(), "2201B");
        let e = eval(
            &PatOp::RegexpMatch,
            vec![
                Value::Text("a".into()),
                Value::Text("a".into()),
                Value::Text("g".into()),
            ],
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "regexp_match() does not support the \"global\" option"
        );
    }
}
