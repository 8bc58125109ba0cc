//! From query text to statements: splitting on `;`, a small pre-dispatch
//! for statements sqlparser gets wrong, and PostgreSQL-shaped syntax
//! errors.
//!
//! The text is tokenized once and cut at top-level semicolons, and each
//! piece is parsed on its own. That gives every statement its own source
//! text (for pg_stat_activity and the log), makes `""`, `";"` and
//! comment-only strings come out as zero statements, and lets a leading
//! keyword route a statement around sqlparser (`VACUUM ANALYZE t` is
//! misparsed by it, `RESET TIME ZONE` refused).

use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer, Whitespace};

use tusk_common::sqlstate;
use tusk_common::PgError;

/// Nesting depth sqlparser may recurse to (its default is 50, too low for
/// generated SQL; the stack is protected by its `recursive` feature).
const PARSER_RECURSION_LIMIT: usize = 200;

/// Deepest expression nesting a statement may have, as estimated from its
/// tokens by [`check_nesting`] before sqlparser sees it.
///
/// sqlparser's recursion limit guards only its own recursion: a chain of
/// infix operators (`1 + 1 + ...`, `a OR b OR ...`) is built in a loop
/// into a left-deep tree of any depth, and dropping, cloning or printing
/// that tree recurses once per level. 300 000 terms overflowed the stack
/// of a backend, whose abort the postmaster treats as a crash of every
/// session. 50 000 levels is half of what an unoptimized build was seen
/// to survive, and far more than the binder accepts outside AND/OR.
const MAX_NESTING: usize = 50_000;

/// A statement routed around sqlparser by its leading keywords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PreParsed {
    /// RESET of a multi-word setting name (`RESET TIME ZONE`).
    Reset(String),
    /// A statement tusk recognises but does not implement yet (none at
    /// the moment; kept for the next one).
    #[allow(dead_code)]
    Unsupported(&'static str),
    /// `CHECKPOINT` (sqlparser has no grammar for it).
    Checkpoint,
    /// `COPY`: read by copy.rs from the statement's text (sqlparser
    /// knows too few of its option spellings).
    Copy,
    /// `VACUUM`, `ANALYZE`: read by vacuum.rs.
    Vacuum,
    /// `LOCK [TABLE]`: read by lock.rs.
    Lock,
    /// CREATE/DROP FUNCTION or PROCEDURE, DO, CALL: read by routine.rs
    /// (sqlparser has no grammar for DO or PostgreSQL's routine bodies).
    Routine,
    /// `REINDEX`: read by maint.rs.
    Reindex,
    /// `CLUSTER`, and ALTER TABLE's CLUSTER ON / SET WITHOUT CLUSTER:
    /// read by maint.rs.
    Cluster,
    ClusterOn,
    /// `SET CONSTRAINTS`: read by fkey.rs.
    SetConstraints,
    /// BEGIN / START TRANSACTION with modes, SET TRANSACTION, SET SESSION
    /// CHARACTERISTICS: read by xactstmt.rs.
    Transaction,
    /// CREATE/DROP TRIGGER, ALTER TABLE ... ENABLE/DISABLE TRIGGER: read
    /// by trigger.rs.
    Trigger,
    /// CREATE/ALTER/DROP ROLE, GRANT/REVOKE of roles, SET ROLE: read by
    /// role.rs.
    Role,
    /// CREATE/ALTER/DROP SEQUENCE: read by sequence.rs.
    Sequence,
    /// GRANT/REVOKE ... ON objects: read by acl.rs.
    Grant,
    /// `EXPLAIN`: options read by explain.rs, the rest parsed again.
    Explain,
    /// CREATE TABLE ... AS, CREATE/DROP [MATERIALIZED] VIEW, REFRESH
    /// MATERIALIZED VIEW: read by view.rs.
    View,
    /// DECLARE ... CURSOR, FETCH, MOVE, CLOSE: read by cursor.rs.
    Cursor,
    /// PREPARE, EXECUTE: read by prepare.rs.
    Prepare,
    /// COMMENT ON: read by comment.rs.
    Comment,
    /// CREATE/ALTER/DROP FOREIGN DATA WRAPPER, SERVER, USER MAPPING and
    /// IMPORT FOREIGN SCHEMA: read by fdw.rs.
    Fdw,
    /// CREATE/DROP FOREIGN TABLE: read by foreigntable.rs.
    ForeignTable,
    /// CREATE/ALTER/DROP TEXT SEARCH ...: read by tsddl.rs.
    TextSearch,
    /// CREATE/ALTER/DROP PUBLICATION: read by publication.rs.
    Publication,
    /// CREATE/ALTER/DROP SUBSCRIPTION: read by subscription.rs.
    Subscription,
    /// CREATE/ALTER/DROP OPERATOR, CREATE/DROP CAST: read by operator.rs.
    Operator,
    /// CREATE/ALTER/DROP DOMAIN: read by domain.rs.
    Domain,
    /// CREATE/DROP/ALTER RULE, ALTER TABLE ... ENABLE/DISABLE RULE: read
    /// by rules.rs.
    Rule,
    /// ALTER TABLE ... ATTACH/DETACH PARTITION, [NO] INHERIT: read by
    /// partition.rs.
    AlterLink,
    /// ALTER TABLE/INDEX/MATERIALIZED VIEW made only of SET/RESET (...)
    /// and column SET STATISTICS / SET/RESET (...): read by reloptions.rs.
    RelOptions,
}

#[derive(Debug, Clone)]
pub(crate) enum Parsed {
    Ast(Box<ast::Statement>),
    Pre(PreParsed),
}

/// Maps sqlparser's line/column locations back to character positions.
#[derive(Debug)]
struct LineIndex {
    /// Character index of the first character of each line.
    line_starts: Vec<usize>,
}

impl LineIndex {
    fn new(sql: &str) -> LineIndex {
        let mut line_starts = vec![0];
        for (i, c) in sql.chars().enumerate() {
            if c == '\n' {
                line_starts.push(i + 1);
            }
        }
        LineIndex { line_starts }
    }

    /// 0-based character index of a 1-based line/column location.
    fn char_index(&self, loc: Location) -> Option<usize> {
        if loc.line == 0 || loc.column == 0 {
            return None;
        }
        let start = *self.line_starts.get(loc.line as usize - 1)?;
        Some(start + loc.column as usize - 1)
    }
}

/// Where a bound statement's AST nodes are in the query string the
/// client sent, for the cursor position (ErrorResponse's `P`) of errors
/// the binder finds: relation, column, function, operator and type names,
/// and literals whose input fails.
///
/// Why kept beside the statement rather than converted at parse time:
/// sqlparser's spans are line/column pairs of the whole query string (a
/// multi-statement string is tokenized once, `parse_with_position`), and
/// only the few nodes that fail need a character position. One map is
/// shared by every statement of a query string. Statements parsed from
/// text the client did not send (function bodies, view definitions,
/// triggers) have none, so their errors carry no position that would
/// point into the wrong string.
#[derive(Debug)]
pub(crate) struct SourceMap {
    index: LineIndex,
    /// The query string as the client sent it.
    text: String,
}

impl SourceMap {
    pub(crate) fn new(sql: &str) -> SourceMap {
        SourceMap {
            index: LineIndex::new(sql),
            text: sql.to_string(),
        }
    }

    /// The query string as the client sent it.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// 1-based character position of a span's start; None for a span
    /// sqlparser left empty.
    pub(crate) fn position(&self, span: sqlparser::tokenizer::Span) -> Option<u32> {
        self.index.char_index(span.start).map(|c| (c + 1) as u32)
    }

    /// 1-based position of the `nth` (0-based) token after the end of
    /// `span` that satisfies `want`, among those at the bracket depth the
    /// span ends at; the search stops at a closing bracket of an enclosing
    /// level or a `;`. Finds what sqlparser keeps no span for: the
    /// operator after a left operand, the `::` of a cast.
    pub(crate) fn find_after(
        &self,
        span: sqlparser::tokenizer::Span,
        nth: usize,
        want: impl Fn(&Token) -> bool,
    ) -> Option<u32> {
        let from = self.index.char_index(span.end)?;
        let rest = &self.text[char_to_byte(&self.text, from)..];
        let tokens = Tokenizer::new(&PostgreSqlDialect {}, rest)
            .tokenize_with_location()
            .ok()?;
        let local = LineIndex::new(rest);
        let mut depth = 0i32;
        let mut seen = 0;
        for t in &tokens {
            match t.token {
                Token::LParen | Token::LBracket => depth += 1,
                Token::RParen | Token::RBracket => {
                    depth -= 1;
                    if depth < 0 {
                        // A bracket closing the operand itself (`(a) + b`
                        // where the span ends inside) is stepped over.
                        depth = 0;
                    }
                }
                Token::SemiColon => return None,
                _ if depth == 0 && want(&t.token) => {
                    if seen == nth {
                        let at = local.char_index(t.span.start)?;
                        return Some((from + at + 1) as u32);
                    }
                    seen += 1;
                }
                _ => {}
            }
        }
        None
    }

    /// 1-based position of the first character at or after the 0-based
    /// character index `from` that is not white space.
    /// The character at 1-based position `pos`.
    pub(crate) fn char_at(&self, pos: u32) -> Option<char> {
        self.text.chars().nth((pos as usize).checked_sub(1)?)
    }

    pub(crate) fn next_non_space(&self, from: usize) -> Option<u32> {
        let i = self
            .text
            .chars()
            .skip(from)
            .position(|c| !c.is_whitespace())?;
        Some((from + i + 1) as u32)
    }

    /// 1-based position of the start of the word ending just before the
    /// 0-based character index `before` (white space between skipped):
    /// the CAST of `CAST (`.
    pub(crate) fn word_before(&self, before: usize) -> Option<u32> {
        let chars: Vec<char> = self.text.chars().take(before).collect();
        let end = chars.iter().rposition(|c| !c.is_whitespace())? + 1;
        let start = chars[..end]
            .iter()
            .rposition(|c| !(c.is_alphanumeric() || *c == '_'))
            .map_or(0, |i| i + 1);
        (start < end).then_some((start + 1) as u32)
    }

    /// 1-based position of the outermost of the `(` just before the start
    /// of `span`: the bracket opening a FROM subquery, whose span starts
    /// at its SELECT (PostgreSQL points at the first of `((SELECT`).
    pub(crate) fn prev_token_before(&self, span: sqlparser::tokenizer::Span) -> Option<u32> {
        let to = self.index.char_index(span.start)?;
        let before: Vec<char> = self.text.chars().take(to).collect();
        let mut found = None;
        let mut i = before.len();
        while let Some(j) = before[..i].iter().rposition(|c| !c.is_whitespace()) {
            if before[j] != '(' {
                break;
            }
            found = Some(j);
            i = j;
        }
        found
            .or_else(|| before.iter().rposition(|c| !c.is_whitespace()))
            .map(|j| (j + 1) as u32)
    }

    /// 1-based position of the CAST of `CAST (x AS t)`, given the span of
    /// `x`: the word before the nearest unmatched `(` before it (a typed
    /// literal's span starts at its string, after its type's words).
    pub(crate) fn cast_keyword_before(&self, span: sqlparser::tokenizer::Span) -> Option<u32> {
        let to = self.index.char_index(span.start)?;
        let before: Vec<char> = self.text.chars().take(to).collect();
        let mut depth = 0usize;
        let mut i = before.len();
        while i > 0 {
            i -= 1;
            match before[i] {
                ')' => depth += 1,
                '(' if depth > 0 => depth -= 1,
                '(' => {
                    if let Some(p) = self.word_before(i) {
                        return Some(p);
                    }
                }
                _ => {}
            }
        }
        None
    }
}

fn char_to_byte(sql: &str, ci: usize) -> usize {
    sql.char_indices()
        .nth(ci)
        .map(|(b, _)| b)
        .unwrap_or(sql.len())
}

/// [`char_to_byte`] for positions visited in increasing order (the pieces
/// of one query string): each call continues from the last, so cutting a
/// string of many statements is linear. Scanning from the start for every
/// piece made `SELECT 1;` repeated 300 000 times take hours, during which
/// the backend heeded neither cancel nor shutdown.
struct ByteCursor<'a> {
    sql: &'a str,
    chars: usize,
    bytes: usize,
}

impl<'a> ByteCursor<'a> {
    fn new(sql: &'a str) -> Self {
        ByteCursor {
            sql,
            chars: 0,
            bytes: 0,
        }
    }

    fn byte_of(&mut self, ci: usize) -> usize {
        if ci < self.chars {
            self.chars = 0;
            self.bytes = 0;
        }
        let rest = &self.sql[self.bytes..];
        let (off, walked) = match rest.char_indices().nth(ci - self.chars) {
            Some((b, _)) => (b, ci - self.chars),
            None => (rest.len(), rest.chars().count()),
        };
        self.bytes += off;
        self.chars += walked;
        self.bytes
    }
}

fn is_trivia(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_) | Token::EOF)
}

/// Words of a token run, upper-cased, trivia skipped (for pre-dispatch).
fn leading_words(tokens: &[TokenWithSpan], n: usize) -> Vec<String> {
    tokens
        .iter()
        .filter(|t| !is_trivia(&t.token))
        .take(n)
        .map(|t| match &t.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
            other => other.to_string(),
        })
        .collect()
}

fn pre_dispatch(tokens: &[TokenWithSpan]) -> Option<PreParsed> {
    let w = leading_words(tokens, 5);
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    if crate::reloptions::is_alter_options(&w, tokens) {
        return Some(PreParsed::RelOptions);
    }
    if matches!(w.as_slice(), ["ALTER", "TABLE", ..]) {
        let long = leading_words(tokens, 12);
        let long: Vec<&str> = long.iter().map(String::as_str).collect();
        if crate::trigger::is_enable_disable(&long) {
            return Some(PreParsed::Trigger);
        }
        if crate::partition::is_alter_link(&long) {
            return Some(PreParsed::AlterLink);
        }
        if crate::maint::is_cluster_on(&long) {
            return Some(PreParsed::ClusterOn);
        }
        if crate::rules::is_enable_disable(&long) {
            return Some(PreParsed::Rule);
        }
    }
    match w.as_slice() {
        ["CREATE", "TRIGGER" | "CONSTRAINT", ..]
        | ["CREATE", "OR", "REPLACE", "TRIGGER" | "CONSTRAINT", ..]
        | ["DROP", "TRIGGER", ..]
        | ["ALTER", "TRIGGER", ..] => Some(PreParsed::Trigger),
        ["CREATE", "RULE", ..]
        | ["CREATE", "OR", "REPLACE", "RULE", ..]
        | ["DROP", "RULE", ..]
        | ["ALTER", "RULE", ..] => Some(PreParsed::Rule),
        ["RESET", "TIME", "ZONE"] => Some(PreParsed::Reset("timezone".into())),
        ["RESET", "SESSION", "AUTHORIZATION"] => {
            Some(PreParsed::Reset("session_authorization".into()))
        }
        ["RESET", "TRANSACTION", "ISOLATION", "LEVEL"] => {
            Some(PreParsed::Reset("transaction_isolation".into()))
        }
        ["VACUUM" | "ANALYZE" | "ANALYSE", ..] => Some(PreParsed::Vacuum),
        // Role statements (without ON) were taken before this.
        ["GRANT" | "REVOKE", ..]
            if crate::fdw::is_fdw_grant(
                &leading_words(tokens, 12)
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            ) =>
        {
            Some(PreParsed::Fdw)
        }
        ["GRANT" | "REVOKE", ..] => Some(PreParsed::Grant),
        ["CHECKPOINT"] => Some(PreParsed::Checkpoint),
        ["COMMENT", "ON", ..] => Some(PreParsed::Comment),
        w if crate::fdw::is_fdw_statement(w) => Some(PreParsed::Fdw),
        w if crate::tsddl::is_ts_statement(w) => Some(PreParsed::TextSearch),
        w if crate::operator::is_operator_statement(w) => Some(PreParsed::Operator),
        w if crate::foreigntable::is_foreign_table_statement(w) => Some(PreParsed::ForeignTable),
        w if crate::publication::is_publication_statement(w) => Some(PreParsed::Publication),
        w if crate::subscription::is_subscription_statement(w) => Some(PreParsed::Subscription),
        ["LOCK", ..] => Some(PreParsed::Lock),
        ["COPY", ..] => Some(PreParsed::Copy),
        ["CREATE", "FUNCTION" | "PROCEDURE" | "AGGREGATE", ..]
        | ["CREATE", "OR", "REPLACE", "FUNCTION" | "PROCEDURE" | "AGGREGATE", ..]
        | ["DO", ..]
        | ["CALL", ..] => Some(PreParsed::Routine),
        // A name must follow; anything else is left to sqlparser, whose
        // syntax error carries the position PostgreSQL reports.
        ["ALTER", "FUNCTION" | "PROCEDURE" | "ROUTINE", ..] => Some(PreParsed::Routine),
        ["DROP", "FUNCTION" | "PROCEDURE" | "ROUTINE" | "AGGREGATE", name, ..]
            if name
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '"' || c == '_') =>
        {
            Some(PreParsed::Routine)
        }
        ["CLUSTER", ..] => Some(PreParsed::Cluster),
        ["ALTER", "DEFAULT", "PRIVILEGES", ..] => Some(PreParsed::Grant),
        ["REINDEX", ..] => Some(PreParsed::Reindex),
        w if crate::sequence::is_sequence_statement(w) => Some(PreParsed::Sequence),
        w if crate::domain::is_domain_statement(w) => Some(PreParsed::Domain),
        ["SET", "CONSTRAINTS", ..] => Some(PreParsed::SetConstraints),
        w if crate::xactstmt::is_transaction_statement(w) => Some(PreParsed::Transaction),
        ["EXPLAIN", ..] => Some(PreParsed::Explain),
        ["DECLARE", _, ..] | ["FETCH", ..] | ["MOVE", ..] | ["CLOSE", _, ..] => {
            Some(PreParsed::Cursor)
        }
        ["PREPARE", name, ..] | ["EXECUTE", name, ..] if *name != "TRANSACTION" => {
            Some(PreParsed::Prepare)
        }
        _ if crate::view::is_view_statement(&w, tokens) => Some(PreParsed::View),
        _ => None,
    }
}

/// A syntax error as PostgreSQL words it, with its 1-based character
/// position in the query text (the `P` field of ErrorResponse).
pub(crate) fn syntax_error(
    _sql: &str,
    message: &str,
    position: Option<usize>,
) -> (PgError, Option<u32>) {
    (
        PgError::error(sqlstate::SYNTAX_ERROR, message),
        position.map(|p| (p + 1) as u32),
    )
}

/// Split `message at Line: L, Column: C` into its parts.
fn split_location(msg: &str) -> (&str, Option<Location>) {
    if let Some(i) = msg.rfind(" at Line: ") {
        let rest = &msg[i + " at Line: ".len()..];
        if let Some((l, c)) = rest.split_once(", Column: ") {
            if let (Ok(line), Ok(column)) = (l.trim().parse::<u64>(), c.trim().parse::<u64>()) {
                return (&msg[..i], Some(Location { line, column }));
            }
        }
    }
    (msg, None)
}

/// PostgreSQL 17's `(col WITHOUT OVERLAPS)` key columns: sqlparser stops
/// at OVERLAPS, PostgreSQL 15's grammar already at WITHOUT (a key column
/// list takes only names); the position of that WITHOUT.
fn without_overlaps_at(tokens: &[TokenWithSpan], idx: &LineIndex, at: usize) -> Option<usize> {
    let words: Vec<&TokenWithSpan> = tokens.iter().filter(|t| !is_trivia(&t.token)).collect();
    let i = words
        .iter()
        .position(|t| idx.char_index(t.span.start) == Some(at))?;
    let is_kw = |t: &TokenWithSpan, k: &str| matches!(&t.token, sqlparser::tokenizer::Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(k));
    if i > 0 && is_kw(words[i], "OVERLAPS") && is_kw(words[i - 1], "WITHOUT") {
        return idx.char_index(words[i - 1].span.start);
    }
    None
}

fn token_text_at(
    sql: &str,
    tokens: &[TokenWithSpan],
    idx: &LineIndex,
    at: usize,
) -> Option<String> {
    let t = tokens
        .iter()
        .find(|t| !is_trivia(&t.token) && idx.char_index(t.span.start) == Some(at))?;
    let start = char_to_byte(sql, at);
    let end = char_to_byte(sql, idx.char_index(t.span.end)?);
    sql.get(start..end).map(str::to_string)
}

fn map_parser_error(
    sql: &str,
    tokens: &[TokenWithSpan],
    idx: &LineIndex,
    e: ParserError,
    piece_end: usize,
) -> (PgError, Option<u32>) {
    let msg = match e {
        ParserError::RecursionLimitExceeded => {
            return (
                PgError::error(
                    tusk_common::sqlstate::STATEMENT_TOO_COMPLEX,
                    "stack depth limit exceeded",
                )
                .with_hint("The statement nests expressions too deeply; simplify it."),
                None,
            )
        }
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => m,
    };
    let (text, loc) = split_location(&msg);
    let pos = loc.and_then(|l| idx.char_index(l));
    let found = text.split_once(", found: ").map(|(_, f)| f.trim());
    if found == Some("EOF") || (pos.is_none() && found.is_none()) && text.contains("EOF") {
        return syntax_error(sql, "syntax error at end of input", Some(piece_end));
    }
    let pos = pos.map(|p| without_overlaps_at(tokens, idx, p).unwrap_or(p));
    if let Some(p) = pos {
        if let Some(tok) = token_text_at(sql, tokens, idx, p) {
            return syntax_error(sql, &format!("syntax error at or near \"{tok}\""), Some(p));
        }
    }
    if let Some(f) = found {
        return syntax_error(sql, &format!("syntax error at or near \"{f}\""), pos);
    }
    let (e, p) = syntax_error(sql, "syntax error", pos);
    (e.with_detail(text.to_string()), p)
}

fn map_tokenizer_error(
    sql: &str,
    idx: &LineIndex,
    message: &str,
    loc: Location,
) -> (PgError, Option<u32>) {
    let pos = idx.char_index(loc);
    let rest = pos.map(|p| &sql[char_to_byte(sql, p)..]).unwrap_or("");
    let what = if message.starts_with("Unterminated string literal") {
        "unterminated quoted string"
    } else if message.starts_with("Unterminated dollar-quoted") {
        "unterminated dollar-quoted string"
    } else if message.contains("quoted identifier") || message.contains("delimited") {
        "unterminated quoted identifier"
    } else if message.contains("comment") {
        "unterminated /* comment"
    } else {
        "syntax error"
    };
    syntax_error(sql, &format!("{what} at or near \"{rest}\""), pos)
}

/// Does the token extend an expression by one level (an operator, or a
/// keyword that joins or tests operands)? Literals, names, commas and
/// brackets do not; brackets are counted as levels of their own.
fn deepens(t: &Token) -> bool {
    match t {
        Token::Word(w) => {
            w.quote_style.is_none()
                && [
                    "AND", "OR", "NOT", "IS", "BETWEEN", "LIKE", "ILIKE", "SIMILAR", "IN",
                    "COLLATE", "AT", "ESCAPE", "OPERATOR",
                ]
                .iter()
                .any(|k| w.value.eq_ignore_ascii_case(k))
        }
        Token::Number(..)
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::DollarQuotedString(_)
        | Token::EscapedStringLiteral(_)
        | Token::UnicodeStringLiteral(_)
        | Token::HexStringLiteral(_)
        | Token::NationalStringLiteral(_)
        | Token::SingleQuotedByteStringLiteral(_)
        | Token::Placeholder(_)
        | Token::Comma
        | Token::Period
        | Token::LParen
        | Token::RParen
        | Token::LBracket
        | Token::RBracket
        | Token::Whitespace(_)
        | Token::EOF => false,
        _ => true,
    }
}

/// Refuse a statement whose expressions could nest deeper than
/// [`MAX_NESTING`], before a tree that deep exists. The estimate is an
/// upper bound of the tree's depth: every open bracket is a level, and at
/// each bracket level every operator since the last comma may wrap the
/// operand before it.
/// The statements of a token run, split at `;` — except inside a
/// routine's SQL-standard body (`CREATE FUNCTION ... BEGIN ATOMIC ...
/// END`), whose statements end in `;` too: there the split waits for
/// the END matching that BEGIN (nested BEGIN/CASE ... END counted, as
/// PostgreSQL's grammar and psql's lexer do).
fn split_statements(tokens: &[TokenWithSpan]) -> Vec<&[TokenWithSpan]> {
    let word = |t: &TokenWithSpan| match &t.token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    };
    let mut out = Vec::new();
    let mut start = 0;
    // Words of the statement so far (to spot CREATE ... FUNCTION).
    let mut head: Vec<String> = Vec::new();
    let mut routine = false;
    // CREATE RULE ... DO (action; action): `;` inside the parentheses.
    let mut rule = false;
    let mut depth = 0usize;
    let mut prev: Option<String> = None;
    for (i, t) in tokens.iter().enumerate() {
        if is_trivia(&t.token) {
            continue;
        }
        if t.token == Token::SemiColon && depth == 0 {
            out.push(&tokens[start..i]);
            start = i + 1;
            head.clear();
            routine = false;
            rule = false;
            prev = None;
            continue;
        }
        let w = word(t);
        if head.len() < 4 {
            if let Some(w) = &w {
                head.push(w.clone());
                routine = matches!(
                    head.iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .as_slice(),
                    ["CREATE", "FUNCTION" | "PROCEDURE", ..]
                        | ["CREATE", "OR", "REPLACE", "FUNCTION" | "PROCEDURE", ..]
                );
                rule = matches!(
                    head.iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .as_slice(),
                    ["CREATE", "RULE", ..] | ["CREATE", "OR", "REPLACE", "RULE", ..]
                );
            } else {
                head.push(String::new());
            }
        }
        if rule {
            match t.token {
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if routine {
            match w.as_deref() {
                Some("ATOMIC") if depth == 0 && prev.as_deref() == Some("BEGIN") => depth += 1,
                Some("CASE") if depth > 0 => depth += 1,
                Some("BEGIN") if depth > 0 => depth += 1,
                Some("END") if depth > 0 => depth -= 1,
                _ => {}
            }
        }
        prev = w;
    }
    out.push(&tokens[start.min(tokens.len())..]);
    out
}

fn check_nesting(piece: &[TokenWithSpan]) -> Result<(), (PgError, Option<u32>)> {
    // Operators since the last comma, per open bracket (the first entry
    // is the statement's top level).
    let mut levels: Vec<usize> = vec![0];
    let mut depth = 0usize;
    for t in piece {
        match t.token {
            Token::LParen | Token::LBracket => {
                levels.push(0);
                depth += 1;
            }
            Token::RParen | Token::RBracket if levels.len() > 1 => {
                depth -= levels.pop().unwrap_or(0) + 1;
            }
            Token::Comma => {
                if let Some(top) = levels.last_mut() {
                    depth -= *top;
                    *top = 0;
                }
            }
            ref other if deepens(other) => {
                if let Some(top) = levels.last_mut() {
                    *top += 1;
                    depth += 1;
                }
            }
            _ => {}
        }
        if depth > MAX_NESTING {
            return Err((
                PgError::error(
                    tusk_common::sqlstate::STATEMENT_TOO_COMPLEX,
                    "stack depth limit exceeded",
                )
                .with_hint("The statement nests expressions too deeply; simplify it."),
                None,
            ));
        }
    }
    Ok(())
}

/// Statements with their source text and the 0-based character index
/// where it starts in the query string, or an error with the 1-based
/// character position when known.
pub(crate) type ParseResult = Result<Vec<(Parsed, String, usize)>, (PgError, Option<u32>)>;

/// Parse `sql` into statements with their source text; errors carry the
/// 1-based character position when known.
/// PostgreSQL's postfix `x ISNULL` / `x NOTNULL` as `IS [NOT] NULL`
/// (sqlparser would read the word as a column alias). Both words are
/// reserved in PostgreSQL, so a bare one is never a name.
fn postfix_null_test(t: TokenWithSpan) -> Vec<TokenWithSpan> {
    let words: &[&str] = match &t.token {
        Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("isnull") => {
            &["IS", "NULL"]
        }
        Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("notnull") => {
            &["IS", "NOT", "NULL"]
        }
        _ => return vec![t],
    };
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(TokenWithSpan {
                token: Token::Whitespace(Whitespace::Space),
                span: t.span,
            });
        }
        out.push(TokenWithSpan {
            token: Token::make_keyword(w),
            span: t.span,
        });
    }
    out
}

/// The token rewrites that let sqlparser read PostgreSQL syntax it has no
/// grammar for, in the order they apply (each module says what it
/// rewrites and why).
fn rewrite_tokens(toks: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let toks = crate::operator::merge_operator_tokens(toks);
    let toks = crate::operator::rewrite_prefix_operators(toks);
    let mut toks = crate::like::rewrite_tokens(toks);
    crate::sequence::strip_overriding(&mut toks);
    let mut toks = crate::merge::rewrite_tokens(toks);
    crate::sequence::reorder_identity_options(&mut toks);
    let toks = crate::rowlock::rewrite_tokens(toks);
    let toks = crate::cursor::rewrite_current_of(toks);
    let toks = crate::inherit::rewrite_tokens(toks);
    let toks = crate::routine::mark_variadic_args(toks);
    let toks = crate::window::rewrite_frame_tokens(toks);
    let toks = crate::jsonrec::name_column_definition_lists(toks);
    let toks = crate::index::rewrite_conflict_where(toks);
    let toks = crate::assign::rewrite_tokens(toks);
    let toks = crate::reloptions::rewrite_tokens(toks);
    crate::pattern::rewrite_substring_similar(toks)
}

/// A parser over `sql` with the same token rewrites as statements get,
/// for the statements read by their own token walks that hand a query
/// on to sqlparser (CREATE VIEW, a view's stored query).
pub(crate) fn rewritten_parser(sql: &str) -> Result<Parser<'static>, ParserError> {
    static DIALECT: PostgreSqlDialect = PostgreSqlDialect {};
    let toks = Tokenizer::new(&DIALECT, sql)
        .tokenize_with_location()
        .map_err(|e| ParserError::TokenizerError(e.to_string()))?;
    let toks: Vec<TokenWithSpan> = toks
        .into_iter()
        .filter(|t| {
            !matches!(
                t.token,
                Token::Whitespace(
                    Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)
                )
            )
        })
        .flat_map(postfix_null_test)
        .collect();
    Ok(Parser::new(&DIALECT)
        .with_recursion_limit(PARSER_RECURSION_LIMIT)
        .with_tokens_with_locations(rewrite_tokens(crate::operator::spell_not_equals(toks, sql))))
}

pub(crate) fn parse_with_position(sql: &str) -> ParseResult {
    let dialect = PostgreSqlDialect {};
    let idx = LineIndex::new(sql);
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| map_tokenizer_error(sql, &idx, &e.message, e.location))?;
    let mut out = Vec::new();
    let mut cursor = ByteCursor::new(sql);
    for piece in split_statements(&tokens) {
        let meaningful: Vec<&TokenWithSpan> =
            piece.iter().filter(|t| !is_trivia(&t.token)).collect();
        let (Some(first), Some(last)) = (meaningful.first(), meaningful.last()) else {
            continue;
        };
        let start = idx.char_index(first.span.start).unwrap_or(0);
        let start_byte = cursor.byte_of(start);
        let end = idx.char_index(last.span.end);
        let end_byte = match end {
            Some(end) => cursor.byte_of(end),
            None => sql.len(),
        };
        let text = sql.get(start_byte..end_byte).unwrap_or(sql).to_string();
        check_nesting(piece)?;
        if crate::role::is_role_statement(
            &leading_words(piece, 3)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            &text,
        ) {
            out.push((Parsed::Pre(PreParsed::Role), text, start));
            continue;
        }
        crate::merge::check_grammar(piece).map_err(|(word, at)| {
            if word.is_empty() {
                // The statement ended early: at its `;`, or at the end.
                let after = &sql[end_byte.min(sql.len())..];
                let gap = after.len() - after.trim_start().len();
                let end = end.unwrap_or_else(|| sql.chars().count());
                return if after.trim_start().starts_with(';') {
                    let at = end + after[..gap].chars().count();
                    syntax_error(sql, "syntax error at or near \";\"", Some(at))
                } else {
                    syntax_error(sql, "syntax error at end of input", Some(end))
                };
            }
            syntax_error(
                sql,
                &format!("syntax error at or near \"{word}\""),
                idx.char_index(at),
            )
        })?;
        if let Some(at) = crate::generated::by_default_expression(&meaningful) {
            return Err(syntax_error(
                sql,
                "for a generated column, GENERATED ALWAYS must be specified",
                idx.char_index(at),
            ));
        }
        if let Some(pre) = pre_dispatch(piece) {
            if pre == PreParsed::Explain {
                crate::explain::check(&text)
                    .map_err(|(e, p)| (e, p.map(|p| (start + p + 1) as u32)))?;
            }
            out.push((Parsed::Pre(pre), text, start));
            continue;
        }
        let toks: Vec<TokenWithSpan> = piece
            .iter()
            .filter(|t| {
                !matches!(
                    t.token,
                    Token::Whitespace(
                        Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)
                    )
                )
            })
            .cloned()
            .flat_map(postfix_null_test)
            .collect();
        let toks = rewrite_tokens(crate::operator::spell_not_equals(toks, sql));
        let mut parser = Parser::new(&dialect)
            .with_recursion_limit(PARSER_RECURSION_LIMIT)
            .with_tokens_with_locations(toks);
        let stmts = parser.parse_statements().map_err(|e| {
            let end = end.unwrap_or_else(|| sql.chars().count());
            map_parser_error(sql, piece, &idx, e, end)
        })?;
        match stmts.len() {
            0 => {}
            1 => {
                let s = stmts.into_iter().next().map(Box::new);
                if let Some(s) = s {
                    out.push((Parsed::Ast(s), text, start));
                }
            }
            // sqlparser read two statements where PostgreSQL needs a
            // semicolon: report where the second one starts.
            _ => {
                return Err(syntax_error(
                    sql,
                    "syntax error: missing \";\" between statements",
                    Some(start),
                ));
            }
        }
    }
    Ok(out)
}

/// The next token as an upper-cased keyword, when it is an unquoted word:
/// the token walks of the statements sqlparser cannot read (sequence.rs,
/// view.rs, lock.rs, vacuum.rs, domain.rs) look ahead with it.
pub(crate) fn peek_word(p: &mut sqlparser::parser::Parser) -> Option<String> {
    match p.peek_token().token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

/// Consume the keyword `word` if it comes next.
pub(crate) fn take_word(p: &mut sqlparser::parser::Parser, word: &str) -> bool {
    let yes = peek_word(p).as_deref() == Some(word);
    if yes {
        p.next_token();
    }
    yes
}

/// 42601 at the next token (`at or near "x"`, or `at end of input`),
/// for the same token walks.
pub(crate) fn near(p: &mut sqlparser::parser::Parser) -> PgError {
    let msg = match p.peek_token().token {
        Token::EOF => "syntax error at end of input".to_string(),
        t => format!("syntax error at or near \"{t}\""),
    };
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

/// Consume the keyword `word`, or fail as [`near`].
pub(crate) fn expect_word(p: &mut sqlparser::parser::Parser, word: &str) -> Result<(), PgError> {
    if take_word(p, word) {
        Ok(())
    } else {
        Err(near(p))
    }
}

/// PostgreSQL 15's keyword categories other than unreserved (kwlist.h,
/// as pg_get_keywords() lists them): what quote_ident quotes and what can
/// never be an unquoted column reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeywordCategory {
    /// Reserved everywhere (`select`, `and`, `check`).
    Reserved,
    /// Allowed as a type or function name only (`like`, `join`, `is`).
    TypeFuncName,
    /// Allowed as a column name only (`between`, `int`, `values`).
    ColName,
}

const RESERVED_KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "current_catalog",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "initially",
    "intersect",
    "into",
    "lateral",
    "leading",
    "limit",
    "localtime",
    "localtimestamp",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "placing",
    "primary",
    "references",
    "returning",
    "select",
    "session_user",
    "some",
    "symmetric",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "when",
    "where",
    "window",
    "with",
];

const TYPE_FUNC_NAME_KEYWORDS: &[&str] = &[
    "authorization",
    "binary",
    "collation",
    "concurrently",
    "cross",
    "current_schema",
    "freeze",
    "full",
    "ilike",
    "inner",
    "is",
    "isnull",
    "join",
    "left",
    "like",
    "natural",
    "notnull",
    "outer",
    "overlaps",
    "right",
    "similar",
    "tablesample",
    "verbose",
];

const COL_NAME_KEYWORDS: &[&str] = &[
    "between",
    "bigint",
    "bit",
    "boolean",
    "char",
    "character",
    "coalesce",
    "dec",
    "decimal",
    "exists",
    "extract",
    "float",
    "greatest",
    "grouping",
    "inout",
    "int",
    "integer",
    "interval",
    "least",
    "national",
    "nchar",
    "none",
    "normalize",
    "nullif",
    "numeric",
    "out",
    "overlay",
    "position",
    "precision",
    "real",
    "row",
    "setof",
    "smallint",
    "substring",
    "time",
    "timestamp",
    "treat",
    "trim",
    "values",
    "varchar",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// The category of lower-case word `w` when it is a keyword PostgreSQL
/// does not leave unreserved; None for identifiers and unreserved ones.
pub(crate) fn keyword_category(w: &str) -> Option<KeywordCategory> {
    if RESERVED_KEYWORDS.binary_search(&w).is_ok() {
        Some(KeywordCategory::Reserved)
    } else if TYPE_FUNC_NAME_KEYWORDS.binary_search(&w).is_ok() {
        Some(KeywordCategory::TypeFuncName)
    } else if COL_NAME_KEYWORDS.binary_search(&w).is_ok() {
        Some(KeywordCategory::ColName)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(sql: &str) -> (String, Option<u32>) {
        let (e, p) = parse_with_position(sql).unwrap_err();
        assert_eq!(e.code, "42601", "{sql}: {e}");
        (e.message, p)
    }

    #[test]
    fn splitting() {
        assert!(parse_with_position("").unwrap().is_empty());
        assert!(parse_with_position(" ; ;").unwrap().is_empty());
        assert!(parse_with_position("-- only a comment\n/* and another */")
            .unwrap()
            .is_empty());
        let v = parse_with_position("BEGIN; SELECT 'a;b' ;COMMIT").unwrap();
        let texts: Vec<&str> = v.iter().map(|(_, t, _)| t.as_str()).collect();
        assert_eq!(texts, vec!["BEGIN", "SELECT 'a;b'", "COMMIT"]);
        assert!(matches!(
            parse_with_position("vacuum analyze t").unwrap()[0].0,
            Parsed::Pre(PreParsed::Vacuum)
        ));
        assert!(
            matches!(&parse_with_position("RESET TIME ZONE").unwrap()[0].0, Parsed::Pre(PreParsed::Reset(n)) if n == "timezone")
        );
    }

    #[test]
    fn atomic_bodies_stay_one_statement() {
        let sql = "CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; \
                   SELECT CASE WHEN true THEN 2 END; END; BEGIN; SELECT 3; END";
        let v = parse_with_position(sql).unwrap();
        let texts: Vec<&str> = v.iter().map(|(_, t, _)| t.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; \
                 SELECT CASE WHEN true THEN 2 END; END",
                "BEGIN",
                "SELECT 3",
                "END"
            ]
        );
    }

    #[test]
    fn errors_look_like_postgres() {
        assert_eq!(
            err("SELECT 1 FROMM x"),
            ("syntax error at or near \"x\"".into(), Some(16))
        );
        assert_eq!(
            err("SELEC 1"),
            ("syntax error at or near \"SELEC\"".into(), Some(1))
        );
        assert_eq!(
            err("SELECT 1 FROM"),
            ("syntax error at end of input".into(), Some(14))
        );
        assert_eq!(
            err("SELECT 'abc"),
            (
                "unterminated quoted string at or near \"'abc\"".into(),
                Some(8)
            )
        );
        assert_eq!(
            err("SELECT 1;\nSELECT (2"),
            ("syntax error at end of input".into(), Some(20))
        );
    }
}
