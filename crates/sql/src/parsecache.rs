//! The session's parse cache: statements a client sends again with other literal values are
//! not tokenized and parsed again.
//!
//! Why: applications and pgbench send the same INSERT/UPDATE/DELETE/SELECT over and over
//! through the simple protocol with only its constants changed, and the extended protocol
//! sends the very same text with every unnamed Parse. Tokenizing, the token rewrites and
//! sqlparser cost 13 % of a TPC-B backend's CPU (bench/README.md). The parser never looks
//! inside a number or a standard string literal, only at its kind, so two texts that differ
//! only inside such literals, each of the same length in characters and without line breaks,
//! parse to the same tree with the same spans everywhere; only those literals' values differ.
//! The cache is keyed by the text with the literals' contents masked and keeps the tree of
//! the first text; a hit clones it and puts the new literal values in.
//!
//! What makes that safe is checked, not assumed: a text is cached only when the masking
//! scanner below found every literal exactly where the tokenizer found it (each literal of
//! the scan is one `ValueWithSpan` of the tree at the same place with the same value, and
//! the tree has no other number or string), when it is one statement, and when that
//! statement is a query, INSERT, UPDATE, DELETE or BEGIN/COMMIT/ROLLBACK (a TPC-B transaction
//! parsed its BEGIN and END anew: 4 % of its CPU): the token rewrites that read a literal's
//! digits serve DDL and cursor commands, which are never cached. The scanner gives up (no
//! caching) on anything it does not fully understand: `E'...'` and other prefixed strings,
//! backslashes, dollar quotes, block comments, numbers next to letters, dots or exponents.
//!
//! Nothing in a parse depends on the catalog or on settings, so entries never go stale; the
//! cache is bounded and emptied when full. Called by the backend process for each query
//! string a client sends ([`crate::parse_with_position`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::ControlFlow;

use sqlparser::ast::{self, Value, ValueWithSpan, Visit, VisitMut, Visitor, VisitorMut};

use crate::Parsed;

/// Entries per session; a session with more distinct statements than this starts over.
const CAPACITY: usize = 256;
/// Longer texts are not cached: the scan and the copy of a large tree are not worth it.
const MAX_TEXT: usize = 4096;

/// One literal found by [`mask`]: where it starts (sqlparser's 1-based line and column)
/// and the value the tokenizer makes of it.
#[derive(Debug, Clone, PartialEq)]
struct Lit {
    line: u64,
    column: u64,
    value: Value,
}

struct Entry {
    stmt: ast::Statement,
    /// For each number or string the visitor meets in `stmt`, in its order: which literal
    /// of the scan it is.
    order: Vec<usize>,
    /// The statement's text within the query string, as character offsets.
    start: usize,
    end: usize,
}

thread_local! {
    static CACHE: RefCell<HashMap<String, Entry>> = RefCell::new(HashMap::new());
}

/// The text with every literal's contents masked, and the literals; None when the text
/// holds something the scanner does not read with certainty.
fn mask(sql: &str) -> Option<(String, Vec<Lit>)> {
    if sql.len() > MAX_TEXT {
        return None;
    }
    let chars: Vec<char> = sql.chars().collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut key = String::with_capacity(sql.len());
    let mut lits = Vec::new();
    let (mut line, mut column) = (1u64, 1u64);
    let mut i = 0;
    // Copies chars[from..to] to the key as they are, keeping the location.
    let verbatim = |key: &mut String, line: &mut u64, column: &mut u64, s: &[char]| {
        for &c in s {
            key.push(c);
            if c == '\n' {
                *line += 1;
                *column = 1;
            } else {
                *column += 1;
            }
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let prev = i.checked_sub(1).map(|p| chars[p]);
        match c {
            '\'' => {
                if prev.is_some_and(|p| ident(p) || p == '&') {
                    return None; // E'', B'', X'', N'', U&'': escapes or other kinds
                }
                let mut j = i + 1;
                let mut value = String::new();
                loop {
                    match chars.get(j)? {
                        '\'' if chars.get(j + 1) == Some(&'\'') => {
                            value.push('\'');
                            j += 2;
                        }
                        '\'' => break,
                        '\\' | '\n' | '\r' => return None,
                        &ch => {
                            value.push(ch);
                            j += 1;
                        }
                    }
                }
                // A string continued on the next line joins its neighbour: never here,
                // as no literal spans lines, but a following quote would be a new token.
                lits.push(Lit {
                    line,
                    column,
                    value: Value::SingleQuotedString(value),
                });
                key.push('\'');
                key.extend(std::iter::repeat_n('\u{1}', j - i - 1));
                key.push('\'');
                column += (j + 1 - i) as u64;
                i = j + 1;
            }
            '0'..='9' if !prev.is_some_and(|p| ident(p) || p == '.') => {
                let mut j = i;
                while chars.get(j).is_some_and(char::is_ascii_digit) {
                    j += 1;
                }
                if chars.get(j) == Some(&'.') && chars.get(j + 1).is_some_and(char::is_ascii_digit)
                {
                    j += 1;
                    while chars.get(j).is_some_and(char::is_ascii_digit) {
                        j += 1;
                    }
                }
                if chars.get(j).is_some_and(|&n| ident(n) || n == '.') {
                    return None; // 1e5, 1.e3, 12abc, 1_000, 1..2
                }
                let text: String = chars[i..j].iter().collect();
                key.extend(text.chars().map(|d| if d == '.' { '.' } else { '0' }));
                lits.push(Lit {
                    line,
                    column,
                    value: Value::Number(text, false),
                });
                column += (j - i) as u64;
                i = j;
            }
            '"' => {
                let mut j = i + 1;
                loop {
                    match chars.get(j)? {
                        '"' if chars.get(j + 1) == Some(&'"') => j += 2,
                        '"' => break,
                        _ => j += 1,
                    }
                }
                verbatim(&mut key, &mut line, &mut column, &chars[i..=j]);
                i = j + 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                let mut j = i;
                while j < chars.len() && chars[j] != '\n' {
                    j += 1;
                }
                verbatim(&mut key, &mut line, &mut column, &chars[i..j]);
                i = j;
            }
            '/' if chars.get(i + 1) == Some(&'*') => return None,
            '$' if !prev.is_some_and(ident) => {
                // $n is a parameter: its digits are not a literal. Anything else starts
                // a dollar-quoted string.
                let mut j = i + 1;
                while chars.get(j).is_some_and(char::is_ascii_digit) {
                    j += 1;
                }
                if j == i + 1 {
                    return None;
                }
                verbatim(&mut key, &mut line, &mut column, &chars[i..j]);
                i = j;
            }
            _ => {
                verbatim(&mut key, &mut line, &mut column, &chars[i..=i]);
                i += 1;
            }
        }
    }
    Some((key, lits))
}

/// A query string's cache key and literals, computed once for the look-up and, on a miss,
/// for remembering its parse.
#[derive(Debug)]
pub(crate) struct Masked {
    key: String,
    lits: Vec<Lit>,
}

impl Masked {
    /// None when `sql` cannot be cached.
    pub(crate) fn of(sql: &str) -> Option<Masked> {
        mask(sql).map(|(key, lits)| Masked { key, lits })
    }

    /// The text with the literals' contents masked.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// The literals in text order: (is a number, its text or the string's value).
    pub(crate) fn literals(&self) -> impl Iterator<Item = (bool, &str)> {
        self.lits.iter().map(|l| match &l.value {
            Value::Number(n, _) => (true, n.as_str()),
            Value::SingleQuotedString(s) => (false, s.as_str()),
            _ => (false, ""),
        })
    }

    /// Which literal starts at this (1-based line, column) of the text.
    pub(crate) fn literal_at(&self, line: u64, column: u64) -> Option<usize> {
        self.lits
            .binary_search_by_key(&(line, column), |l| (l.line, l.column))
            .ok()
    }
}

/// The parse of `sql` (masked as `m`) from the cache; None on a miss.
pub(crate) fn lookup(sql: &str, m: &Masked) -> Option<(Parsed, String, usize)> {
    let lits = &m.lits;
    CACHE.with(|c| {
        let c = c.borrow();
        let e = c.get(&m.key)?;
        let mut stmt = e.stmt.clone();
        let mut k = 0;
        let mut put = Put {
            order: &e.order,
            lits,
            k: &mut k,
        };
        if VisitMut::visit(&mut stmt, &mut put).is_break() || k != e.order.len() {
            return None;
        }
        let text: String = sql.chars().skip(e.start).take(e.end - e.start).collect();
        Some((Parsed::Ast(Box::new(stmt)), text, e.start))
    })
}

/// Remembers the parse of a query string masked as `m` (one statement, `text` starting at
/// character `start`) when it qualifies; see the module's comment for when that is.
pub(crate) fn remember(m: &Masked, parsed: &Parsed, text: &str, start: usize) {
    let Parsed::Ast(stmt) = parsed else {
        return;
    };
    if !matches!(
        **stmt,
        ast::Statement::Query(_)
            | ast::Statement::Insert(_)
            | ast::Statement::Update(_)
            | ast::Statement::Delete(_)
            | ast::Statement::StartTransaction { .. }
            | ast::Statement::Commit { .. }
            | ast::Statement::Rollback { .. }
    ) {
        return;
    }
    let Masked { key, lits } = m;
    let mut seen = Seen {
        lits,
        order: Vec::new(),
        used: vec![false; lits.len()],
    };
    if stmt.visit(&mut seen).is_break() || seen.used.iter().any(|u| !u) {
        return;
    }
    let end = start + text.chars().count();
    let order = seen.order;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CAPACITY {
            c.clear();
        }
        c.insert(
            key.clone(),
            Entry {
                stmt: (**stmt).clone(),
                order,
                start,
                end,
            },
        );
    });
}

fn is_literal(v: &Value) -> bool {
    matches!(v, Value::Number(..) | Value::SingleQuotedString(_))
}

/// Matches the tree's literals to the scan's: each must be one of them, each once.
struct Seen<'a> {
    lits: &'a [Lit],
    order: Vec<usize>,
    used: Vec<bool>,
}

impl Visitor for Seen<'_> {
    type Break = ();
    fn pre_visit_value(&mut self, v: &ValueWithSpan) -> ControlFlow<()> {
        if !is_literal(&v.value) {
            // Another kind of string (E'', $$, B'') means the scan did not read the text
            // as the tokenizer did.
            return match v.value {
                Value::Boolean(_) | Value::Null | Value::Placeholder(_) => {
                    ControlFlow::Continue(())
                }
                _ => ControlFlow::Break(()),
            };
        }
        // The scan found the literals in text order: sorted by place.
        let at = (v.span.start.line, v.span.start.column);
        let Some(i) = self
            .lits
            .binary_search_by_key(&at, |l| (l.line, l.column))
            .ok()
            .filter(|&i| self.lits[i].value == v.value)
        else {
            return ControlFlow::Break(());
        };
        if std::mem::replace(&mut self.used[i], true) {
            return ControlFlow::Break(());
        }
        self.order.push(i);
        ControlFlow::Continue(())
    }
}

/// Puts the new text's literals into a copy of the cached tree.
struct Put<'a> {
    order: &'a [usize],
    lits: &'a [Lit],
    k: &'a mut usize,
}

impl VisitorMut for Put<'_> {
    type Break = ();
    fn pre_visit_value(&mut self, v: &mut ValueWithSpan) -> ControlFlow<()> {
        if !is_literal(&v.value) {
            return ControlFlow::Continue(());
        }
        let Some(lit) = self.order.get(*self.k).and_then(|&i| self.lits.get(i)) else {
            return ControlFlow::Break(());
        };
        // Same key, so the same kind at the same place; checked all the same.
        if std::mem::discriminant(&lit.value) != std::mem::discriminant(&v.value)
            || (lit.line, lit.column) != (v.span.start.line, v.span.start.column)
        {
            return ControlFlow::Break(());
        }
        v.value = lit.value.clone();
        *self.k += 1;
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(sql: &str) -> (Parsed, String, usize) {
        let mut v = crate::parse::parse_with_position(sql).unwrap();
        assert_eq!(v.len(), 1);
        v.pop().unwrap()
    }

    fn remember_text(sql: &str) {
        let (p, t, s) = parsed(sql);
        if let Some(m) = Masked::of(sql) {
            remember(&m, &p, &t, s);
        }
    }

    fn lookup_text(sql: &str) -> Option<(Parsed, String, usize)> {
        lookup(sql, &Masked::of(sql)?)
    }

    /// What a hit gives must be what parsing the text gives.
    fn same_as_parse(first: &str, second: &str) {
        CACHE.with(|c| c.borrow_mut().clear());
        remember_text(first);
        let (hp, ht, hs) = lookup_text(second).expect("hit");
        let (fp, ft, fs) = parsed(second);
        let (Parsed::Ast(a), Parsed::Ast(b)) = (&hp, &fp) else {
            panic!("not an AST");
        };
        assert_eq!(
            format!("{a:?}"),
            format!("{b:?}"),
            "tree (with spans) for {second}"
        );
        assert_eq!((ht, hs), (ft, fs));
    }

    #[test]
    fn hit_equals_parse() {
        same_as_parse(
            "SELECT abalance FROM pgbench_accounts WHERE aid = 123456;",
            "SELECT abalance FROM pgbench_accounts WHERE aid = 654321;",
        );
        same_as_parse(
            "  UPDATE t SET a = a + -12, b = 'xy''z' WHERE id = 1.5 AND c = $1",
            "  UPDATE t SET a = a + -99, b = 'éé''é' WHERE id = 7.0 AND c = $1",
        );
        same_as_parse(
            "INSERT INTO h (a, b) VALUES (1, 'a'), (22, 'bc') RETURNING a",
            "INSERT INTO h (a, b) VALUES (7, 'q'), (33, 'zz') RETURNING a",
        );
        same_as_parse("BEGIN;", "BEGIN;");
        // With modes it is read by xactstmt.rs, not cached.
        same_as_parse("START TRANSACTION", "START TRANSACTION");
        same_as_parse("END", "END");
        same_as_parse("ROLLBACK TO SAVEPOINT s1", "ROLLBACK TO SAVEPOINT s1");
        same_as_parse(
            "DELETE FROM t1 -- 5 'x\nWHERE x2 = 5 AND \"y 3\" = '4'",
            "DELETE FROM t1 -- 5 'x\nWHERE x2 = 6 AND \"y 3\" = '9'",
        );
    }

    #[test]
    fn different_lengths_or_kinds_miss() {
        CACHE.with(|c| c.borrow_mut().clear());
        remember_text("SELECT 1 FROM t WHERE a = 10");
        assert!(lookup_text("SELECT 1 FROM t WHERE a = 100").is_none());
        assert!(lookup_text("SELECT 1 FROM t WHERE a = '1'").is_none());
        assert!(lookup_text("SELECT 2 FROM t WHERE a = 11").is_some());
    }

    #[test]
    fn not_cached() {
        CACHE.with(|c| c.borrow_mut().clear());
        for sql in [
            "SELECT E'a\\n' FROM t WHERE a = 1",
            "SELECT 1e5 FROM t",
            "SELECT $$x$$",
            "SELECT /* 1 */ 2",
            "SELECT 'a\\b'",
            "SELECT '1'::varchar(10)",
            "CREATE TABLE t (a int DEFAULT 5)",
            "SELECT .5",
        ] {
            if let (Ok(mut v), Some(m)) = (crate::parse::parse_with_position(sql), Masked::of(sql))
            {
                if let Some((p, t, s)) = v.pop() {
                    remember(&m, &p, &t, s);
                }
            }
            assert!(lookup_text(sql).is_none(), "{sql} must not be cached");
        }
    }
}
