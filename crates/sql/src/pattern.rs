//! POSIX regular expressions as PostgreSQL offers them (`~`, `~*`, `!~`,
//! `!~*`, regexp_match, regexp_replace, regexp_split_to_array,
//! regexp_like, regexp_count, substring(x from pattern)) and SIMILAR TO,
//! on the `regex` crate.
//!
//! Why translate instead of porting Spencer's engine: the `regex` crate
//! is linear-time (no catastrophic backtracking a client could trigger)
//! and already vetted. PostgreSQL's ARE syntax is mostly the same; the
//! differences are bridged here: `.` and bracket negations match a newline
//! unless the `n` flag asks for newline-sensitive matching (the crate's
//! `s` and `m` modes), `\m \M \y \Y` are word-boundary escapes, `\Z` is
//! the end of the string, and replacement strings use `\1` and `\&`.
//! Back-references and lookaround, which the crate cannot run, fail with
//! 2201B like any invalid pattern. Compiled patterns are cached per
//! backend (a table scan compiles its pattern once).
//!
//! Pure functions; any backend may call them.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::{Regex, RegexBuilder};
use tusk_common::sqlstate;
use tusk_common::PgError;

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
}

fn invalid(msg: impl std::fmt::Display) -> PgError {
    PgError::error(
        sqlstate::INVALID_REGULAR_EXPRESSION,
        format!("invalid regular expression: {msg}"),
    )
}

/// Parsed flags of the regexp_* functions.
#[derive(Default, Clone, Copy, PartialEq, Eq, Hash)]
struct Flags {
    ci: bool,
    global: bool,
    newline: bool,
    expanded: bool,
    literal: bool,
    /// `p`: `.` stops at a newline but `^` / `$` stay whole-string
    /// anchors (REG_NLSTOP alone).
    dot_stop: bool,
}

fn parse_flags(f: Option<&str>) -> Result<Flags, PgError> {
    let mut out = Flags::default();
    for c in f.unwrap_or("").chars() {
        match c {
            'i' => out.ci = true,
            'c' => out.ci = false,
            'g' => out.global = true,
            'n' | 'm' => out.newline = true,
            's' => out.newline = false,
            'x' => out.expanded = true,
            'q' => out.literal = true,
            'p' => {
                out.newline = false;
                out.dot_stop = true;
            }
            // Inverse partial newline sensitivity: close enough to full.
            'w' => out.newline = true,
            't' => out.expanded = false,
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

/// PostgreSQL ARE syntax to the crate's.
fn translate(p: &str) -> Result<String, PgError> {
    let mut out = String::with_capacity(p.len() + 8);
    let mut chars = p.chars().peekable();
    let mut in_bracket = false;
    while let Some(c) = chars.next() {
        if in_bracket {
            match c {
                ']' => {
                    in_bracket = false;
                    out.push(']');
                }
                '[' if matches!(chars.peek(), Some(':' | '.' | '=')) => {
                    // [:alpha:] and friends pass through whole.
                    out.push('[');
                    for d in chars.by_ref() {
                        out.push(d);
                        if d == ']' {
                            break;
                        }
                    }
                }
                '[' => out.push_str("\\["),
                '\\' => {
                    out.push('\\');
                    if let Some(d) = chars.next() {
                        out.push(d);
                    }
                }
                '&' | '~' | '-' if chars.peek() == Some(&c) => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
            continue;
        }
        match c {
            '[' => {
                in_bracket = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                // A leading ']' is a literal member.
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str("\\]");
                }
            }
            '\\' => match chars.next() {
                Some('m') => out.push_str("\\b{start}"),
                Some('M') => out.push_str("\\b{end}"),
                Some('y') => out.push_str("\\b"),
                // ARE's \b is a backspace (\y is the word boundary).
                Some('b') => out.push_str("\\x08"),
                Some('Y') => out.push_str("\\B"),
                Some('Z') => out.push_str("\\z"),
                Some(d) if d.is_ascii_digit() && d != '0' => {
                    return Err(invalid("back-references are not supported"))
                }
                Some(d) => {
                    out.push('\\');
                    out.push(d);
                }
                None => return Err(invalid("invalid escape \\ sequence")),
            },
            '{' => {
                // A brace not starting a bound is a literal in the crate's
                // eyes only when escaped.
                let rest: String = chars.clone().take_while(|&d| d != '}').collect();
                if !rest.is_empty()
                    && rest.chars().all(|d| d.is_ascii_digit() || d == ',')
                    && chars.clone().any(|d| d == '}')
                {
                    out.push('{');
                } else {
                    out.push_str("\\{");
                }
            }
            c => out.push(c),
        }
    }
    if in_bracket {
        return Err(invalid("brackets [] not balanced"));
    }
    Ok(out)
}

thread_local! {
    static CACHE: RefCell<HashMap<(String, Flags), Regex>> = RefCell::new(HashMap::new());
}

/// A pattern compiled with a regexp_* flags string, and whether the
/// flags asked for `g` (strfuncs.rs's positional regexp functions).
pub(crate) fn compile_flags(p: &str, flags: Option<&str>) -> Result<(Regex, bool), PgError> {
    let f = parse_flags(flags)?;
    Ok((compile(p, f)?, f.global))
}

/// regexp_replace's replacement text with its group references expanded.
pub(crate) fn expand_replacement(rep: &str, caps: &regex::Captures<'_>, out: &mut String) {
    expand(rep, caps, out)
}

fn compile(p: &str, f: Flags) -> Result<Regex, PgError> {
    if let Some(r) = CACHE.with(|c| c.borrow().get(&(p.to_string(), f)).cloned()) {
        return Ok(r);
    }
    let src = if f.literal {
        regex::escape(p)
    } else {
        translate(p)?
    };
    let mut b = RegexBuilder::new(&src);
    b.case_insensitive(f.ci)
        .dot_matches_new_line(!f.newline && !f.dot_stop)
        .multi_line(f.newline)
        .ignore_whitespace(f.expanded && !f.literal)
        .size_limit(32 << 20);
    let r = b.build().map_err(|e| match e {
        regex::Error::Syntax(s) => invalid(spencer_message(&s)),
        other => invalid(other),
    })?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 64 {
            c.clear();
        }
        c.insert((p.to_string(), f), r.clone());
    });
    Ok(r)
}

/// The crate's syntax error as PostgreSQL's regex library words the
/// common cases (regerror's messages), else the crate's own last line.
fn spencer_message(s: &str) -> String {
    let has = |w: &str| s.contains(w);
    if has("unclosed group") || has("unopened group") {
        "parentheses () not balanced".into()
    } else if has("unclosed character class") {
        "brackets [] not balanced".into()
    } else if has("repetition operator missing expression") {
        "quantifier operand invalid".into()
    } else if has("repetition quantifier") || has("decimal literal") {
        "invalid repetition count(s)".into()
    } else if has("escape sequence") {
        "invalid escape \\ sequence".into()
    } else {
        s.lines()
            .rev()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("")
            .trim_start_matches("error: ")
            .to_string()
    }
}

/// SIMILAR TO's pattern as a regular expression anchored at both ends
/// (PostgreSQL's similar_to_escape): `%` is `.*`, `_` is `.`, the escape
/// character quotes the next one, and regex characters that SIMILAR TO
/// does not know are quoted.
pub(crate) fn similar_to_regex(p: &str, escape: Option<char>) -> Result<String, PgError> {
    let mut out = String::from("^(?:");
    let mut chars = p.chars();
    let mut in_bracket = false;
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            match chars.next() {
                Some(d) => {
                    out.push_str(&regex::escape(&d.to_string()));
                }
                None => {
                    return Err(PgError::error(
                        sqlstate::INVALID_ESCAPE_SEQUENCE,
                        "invalid escape string",
                    )
                    .with_hint("Escape string must be empty or one character."))
                }
            }
            continue;
        }
        if in_bracket {
            if c == ']' {
                in_bracket = false;
            }
            out.push(c);
            continue;
        }
        match c {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '[' => {
                in_bracket = true;
                out.push('[');
            }
            '|' | '*' | '+' | '?' | '(' | ')' | '{' | '}' => out.push(c),
            '.' | '^' | '$' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push_str(")$");
    Ok(out)
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(to_text)
}

fn text_array(items: Vec<Value>) -> Value {
    Value::Array(Box::new(Array::from_items(types::TEXT, items)))
}

/// PostgreSQL's replacement string: `\1`..`\9` a group, `\&` the match,
/// `\\` a backslash.
fn expand(rep: &str, caps: &regex::Captures<'_>, out: &mut String) {
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
                if let Some(m) = caps.get(i) {
                    out.push_str(m.as_str());
                }
            }
            Some('&') => {
                it.next();
                out.push_str(caps.get(0).map_or("", |m| m.as_str()));
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
            let f = Flags {
                ci: *ci,
                ..Flags::default()
            };
            Value::Bool(compile(&p, f)?.is_match(&s) != *negated)
        }
        PatOp::Similar { negated } => {
            let esc = match args.get(2) {
                None => Some('\\'),
                Some(Value::Null) => return Ok(Value::Null),
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
            };
            let re = similar_to_regex(&p, esc)?;
            Value::Bool(compile(&re, Flags::default())?.is_match(&s) != *negated)
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
            let re = compile(&p, f)?;
            match op {
                PatOp::RegexpLike => Value::Bool(re.is_match(&s)),
                PatOp::RegexpCount => Value::Int4(re.find_iter(&s).count() as i32),
                PatOp::RegexpMatch => match re.captures(&s) {
                    None => Value::Null,
                    Some(c) if c.len() == 1 => text_array(vec![Value::Text(c[0].to_string())]),
                    Some(c) => text_array(
                        c.iter()
                            .skip(1)
                            .map(|m| m.map_or(Value::Null, |m| Value::Text(m.as_str().into())))
                            .collect(),
                    ),
                },
                _ => text_array(split(&re, &s).into_iter().map(Value::Text).collect()),
            }
        }
        PatOp::RegexpReplace => {
            let Some(rep) = text(args.get(2)) else {
                return Ok(Value::Null);
            };
            if args.get(3).is_some_and(Value::is_null) {
                return Ok(Value::Null);
            }
            let f = parse_flags(text(args.get(3)).as_deref())?;
            let re = compile(&p, f)?;
            let mut out = String::with_capacity(s.len());
            let mut last = 0;
            for caps in re.captures_iter(&s) {
                let m = caps.get(0).expect("group 0");
                out.push_str(&s[last..m.start()]);
                expand(&rep, &caps, &mut out);
                last = m.end();
                if !f.global {
                    break;
                }
            }
            out.push_str(&s[last..]);
            Value::Text(out)
        }
        PatOp::Substring => {
            let re = compile(&p, Flags::default())?;
            match re.captures(&s) {
                None => Value::Null,
                Some(c) if c.len() > 1 => c
                    .get(1)
                    .map_or(Value::Null, |m| Value::Text(m.as_str().into())),
                Some(c) => Value::Text(c[0].to_string()),
            }
        }
    })
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
    let re = compile(&p, f)?;
    let mut out = Vec::new();
    for c in re.captures_iter(&s) {
        out.push(if c.len() == 1 {
            text_array(vec![Value::Text(c[0].to_string())])
        } else {
            text_array(
                c.iter()
                    .skip(1)
                    .map(|m| m.map_or(Value::Null, |m| Value::Text(m.as_str().into())))
                    .collect(),
            )
        });
        if !f.global {
            break;
        }
    }
    Ok(out)
}

/// regexp_split_to_array: the pieces between matches; an empty match at
/// the start or end of the string or right after the previous match
/// splits nothing.
pub(crate) fn split(re: &Regex, s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut prev = 0;
    let mut last_end = None;
    for m in re.find_iter(s) {
        if m.start() == m.end()
            && (m.start() == 0 || m.start() >= s.len() || Some(m.start()) == last_end)
        {
            continue;
        }
        out.push(s[prev..m.start()].to_string());
        prev = m.end();
        last_end = Some(m.end());
    }
    out.push(s[prev..].to_string());
    out
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
