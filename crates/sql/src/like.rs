//! CREATE TABLE's LIKE items: `CREATE TABLE t (a int, LIKE src INCLUDING DEFAULTS, b text)` copies src's columns into t where the item stands.
//!
//! Why a token rewrite plus an expansion at execution: sqlparser reads
//! `LIKE src [INCLUDING|EXCLUDING DEFAULTS]` only as the sole element of
//! the list, while PostgreSQL allows any number of LIKE items among the
//! column definitions, each with any of INCLUDING / EXCLUDING { COMMENTS |
//! COMPRESSION | CONSTRAINTS | DEFAULTS | GENERATED | IDENTITY | INDEXES |
//! STATISTICS | STORAGE | ALL }. [`rewrite_tokens`] turns each item into a
//! placeholder column whose quoted name carries the item ([`MARK`]
//! separated), so the statement parses as a plain column list and the
//! item keeps its place; `utility::create_table` takes the placeholders
//! out as [`LikeSpec`]s, and [`expand`] reads the source relation when the
//! statement runs (it may be created earlier in the same script) and
//! splices its columns in, as PostgreSQL's transformTableLikeClause.
//!
//! What is copied, as in PostgreSQL 15: always the column names, types and
//! NOT NULL; DEFAULTS the default expressions; IDENTITY identity columns
//! (each with a new sequence); CONSTRAINTS the CHECK constraints with
//! their names; INDEXES the primary key, unique constraints and indexes
//! (named anew for the new table); GENERATED the generation expressions
//! of generated columns (without it they become plain columns). STORAGE,
//! COMPRESSION, STATISTICS and COMMENTS are accepted and copy nothing
//! tusk keeps: tusk has no storage or compression settings, or extended
//! statistics, and column comments are not copied yet.
//!
//! Pure functions over tokens and the host; any backend.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace, Word};

use tusk_common::PgError;

use crate::catalog::{self, ColumnDef};
use crate::host::Host;
use crate::Value;

/// Separates the parts of a placeholder column's name; no identifier a
/// client writes can start with it.
pub const MARK: char = '\u{1}';

pub const COMMENTS: u32 = 1 << 0;
pub const COMPRESSION: u32 = 1 << 1;
pub const CONSTRAINTS: u32 = 1 << 2;
pub const DEFAULTS: u32 = 1 << 3;
pub const GENERATED: u32 = 1 << 4;
pub const IDENTITY: u32 = 1 << 5;
pub const INDEXES: u32 = 1 << 6;
pub const STATISTICS: u32 = 1 << 7;
pub const STORAGE: u32 = 1 << 8;
pub const ALL: u32 = (1 << 9) - 1;

/// One LIKE item: the source relation and what it includes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikeSpec {
    pub schema: Option<String>,
    pub name: String,
    /// The INCLUDING bits left after every INCLUDING / EXCLUDING in order.
    pub options: u32,
}

fn option_bit(word: &str) -> Option<u32> {
    Some(match word.to_ascii_uppercase().as_str() {
        "COMMENTS" => COMMENTS,
        "COMPRESSION" => COMPRESSION,
        "CONSTRAINTS" => CONSTRAINTS,
        "DEFAULTS" => DEFAULTS,
        "GENERATED" => GENERATED,
        "IDENTITY" => IDENTITY,
        "INDEXES" => INDEXES,
        "STATISTICS" => STATISTICS,
        "STORAGE" => STORAGE,
        "ALL" => ALL,
        _ => return None,
    })
}

/// An identifier token's name as PostgreSQL folds it.
fn ident(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style == Some('"') => Some(w.value.clone()),
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_lowercase()),
        _ => None,
    }
}

fn is_word(t: &Token, k: Keyword) -> bool {
    matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none())
}

/// The placeholder column name carrying `spec`.
fn encode(spec: &LikeSpec) -> String {
    format!(
        "{MARK}LIKE{MARK}{}{MARK}{}{MARK}{}",
        spec.schema.as_deref().unwrap_or(""),
        spec.name,
        spec.options
    )
}

/// The LIKE item a placeholder column named `column` stands for.
pub fn decode(column: &str) -> Option<LikeSpec> {
    let rest = column.strip_prefix(MARK)?.strip_prefix("LIKE")?;
    let mut parts = rest.strip_prefix(MARK)?.split(MARK);
    let schema = parts.next()?;
    let name = parts.next()?.to_string();
    let options = parts.next()?.parse().ok()?;
    Some(LikeSpec {
        schema: (!schema.is_empty()).then(|| schema.to_string()),
        name,
        options,
    })
}

/// Replaces each `LIKE name [INCLUDING|EXCLUDING option]...` element of a
/// CREATE TABLE's parenthesized list with a placeholder column (see the
/// file comment). Anything that is not such an element is left alone for
/// sqlparser to accept or refuse.
pub(crate) fn rewrite_tokens(toks: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mean: Vec<usize> = (0..toks.len())
        .filter(|&i| !matches!(toks[i].token, Token::Whitespace(_)))
        .collect();
    // Statement starts (after each semicolon) that are CREATE ... TABLE.
    let mut replace: Vec<(usize, usize, LikeSpec)> = Vec::new();
    let mut k = 0;
    while k < mean.len() {
        let start = k;
        while k < mean.len() && toks[mean[k]].token != Token::SemiColon {
            k += 1;
        }
        scan_statement(&toks, &mean[start..k], &mut replace);
        k += 1;
    }
    if replace.is_empty() {
        return toks;
    }
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    for (from, to, spec) in replace {
        out.extend_from_slice(&toks[i..from]);
        let span = toks[from].span;
        out.push(TokenWithSpan {
            token: Token::Word(Word {
                value: encode(&spec),
                quote_style: Some('"'),
                keyword: Keyword::NoKeyword,
            }),
            span,
        });
        out.push(TokenWithSpan {
            token: Token::Whitespace(Whitespace::Space),
            span,
        });
        out.push(TokenWithSpan {
            token: Token::make_word("int", None),
            span,
        });
        i = to;
    }
    out.extend_from_slice(&toks[i..]);
    out
}

/// Finds the LIKE elements of one statement (`m`: indexes of its
/// meaningful tokens in `toks`); pushes (first token, one past the last,
/// spec) ranges of `toks` in order.
fn scan_statement(toks: &[TokenWithSpan], m: &[usize], out: &mut Vec<(usize, usize, LikeSpec)>) {
    let tok = |j: usize| &toks[m[j]].token;
    if m.is_empty() || !is_word(tok(0), Keyword::CREATE) {
        return;
    }
    // CREATE [GLOBAL|LOCAL] [TEMP|TEMPORARY|UNLOGGED] TABLE [IF NOT EXISTS] name (
    let mut j = 1;
    while j < m.len()
        && [
            Keyword::GLOBAL,
            Keyword::LOCAL,
            Keyword::TEMP,
            Keyword::TEMPORARY,
            Keyword::UNLOGGED,
        ]
        .iter()
        .any(|k| is_word(tok(j), *k))
    {
        j += 1;
    }
    if j >= m.len() || !is_word(tok(j), Keyword::TABLE) {
        return;
    }
    j += 1;
    if j + 2 < m.len()
        && is_word(tok(j), Keyword::IF)
        && is_word(tok(j + 1), Keyword::NOT)
        && is_word(tok(j + 2), Keyword::EXISTS)
    {
        j += 3;
    }
    // The name, then the list: anything else (CREATE TABLE ... AS, OF
    // type, PARTITION OF) has no LIKE items.
    while j + 1 < m.len() && ident(tok(j)).is_some() && tok(j + 1) == &Token::Period {
        j += 2;
    }
    if j + 1 >= m.len() || ident(tok(j)).is_none() || tok(j + 1) != &Token::LParen {
        return;
    }
    j += 1;
    // Elements of the list at depth 1.
    let mut depth = 0usize;
    let mut elem_start = true;
    while j < m.len() {
        match tok(j) {
            Token::LParen => {
                depth += 1;
                elem_start = depth == 1;
                j += 1;
                continue;
            }
            Token::RParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return;
                }
            }
            Token::Comma if depth == 1 => {
                elem_start = true;
                j += 1;
                continue;
            }
            t if depth == 1 && elem_start && is_word(t, Keyword::LIKE) => {
                if let Some((end, spec)) = like_element(toks, m, j) {
                    // `end` is past the item, or at a word that is no
                    // option: left in place, sqlparser reports it
                    // (PostgreSQL's syntax error at or near that word).
                    out.push((m[j], m[end - 1] + 1, spec));
                    j = end;
                    elem_start = false;
                    continue;
                }
            }
            _ => {}
        }
        elem_start = false;
        j += 1;
    }
}

/// `LIKE name [INCLUDING|EXCLUDING option]...` at meaningful token `j`,
/// ending before a comma or the list's closing parenthesis: (one past its
/// last meaningful token, spec). A word after INCLUDING or EXCLUDING that
/// names no option ends the item before it.
fn like_element(toks: &[TokenWithSpan], m: &[usize], j: usize) -> Option<(usize, LikeSpec)> {
    let tok = |j: usize| m.get(j).map(|&i| &toks[i].token);
    let mut k = j + 1;
    let first = ident(tok(k)?)?;
    k += 1;
    let (schema, name) = if tok(k) == Some(&Token::Period) {
        let second = ident(tok(k + 1)?)?;
        k += 2;
        (Some(first), second)
    } else {
        (None, first)
    };
    let mut options = 0u32;
    loop {
        match tok(k)? {
            Token::Comma | Token::RParen => break,
            t if is_word(t, Keyword::INCLUDING) || is_word(t, Keyword::EXCLUDING) => {
                let including = is_word(t, Keyword::INCLUDING);
                let Token::Word(w) = tok(k + 1)? else {
                    return None;
                };
                let Some(bit) = option_bit(&w.value).filter(|_| w.quote_style.is_none()) else {
                    return Some((
                        k + 1,
                        LikeSpec {
                            schema,
                            name,
                            options,
                        },
                    ));
                };
                if including {
                    options |= bit;
                } else {
                    options &= !bit;
                }
                k += 2;
            }
            _ => return None,
        }
    }
    Some((
        k,
        LikeSpec {
            schema,
            name,
            options,
        },
    ))
}

/// What LIKE items add to a CREATE TABLE besides columns.
#[derive(Default)]
pub(crate) struct Expanded {
    pub checks: Vec<(String, String)>,
    pub indexes: Vec<crate::index::IndexSpec>,
    pub serials: Vec<crate::sequence::SerialSpec>,
}

/// Splices each LIKE item's columns into `columns` (`likes`: the position
/// among the written columns where the item stood), for new table
/// `table` in `schema`; the CHECK constraints, indexes and identity
/// sequences the items include come back. A column name given twice is
/// 42701, as PostgreSQL's.
pub(crate) fn expand(
    host: &mut dyn Host,
    schema: Option<&str>,
    table: &str,
    likes: &[(usize, LikeSpec)],
    columns: &mut Vec<ColumnDef>,
) -> Result<Expanded, PgError> {
    let mut out = Expanded::default();
    let mut spliced: Vec<ColumnDef> = Vec::new();
    let mut next = 0;
    for (pos, spec) in likes {
        spliced.extend(columns[next..*pos].iter().cloned());
        next = *pos;
        let src = catalog::lookup(&*host, spec.schema.as_deref(), &spec.name)?;
        let src_oid = match &src.source {
            catalog::RelationSource::Table(t) | catalog::RelationSource::View(t) => Some(t.oid),
            catalog::RelationSource::SystemView(_) => None,
        };
        for c in &src.columns {
            let mut c = c.clone();
            let identity = c.identity.take();
            let default = c.default.take();
            // Without INCLUDING GENERATED a generated column is copied as
            // a plain one.
            let generated = c.generated.take();
            if spec.options & GENERATED != 0 {
                c.generated = generated;
            }
            match identity {
                Some(kind) if spec.options & IDENTITY != 0 => {
                    let seq = crate::sequence::serial_sequence_name(table, &c.name);
                    c.not_null = true;
                    c.default = Some(crate::sequence::serial_default(schema, &seq));
                    c.identity = Some(kind);
                    out.serials.push(crate::sequence::SerialSpec {
                        column: c.name.clone(),
                        seq,
                        ty: c.ty.oid,
                        identity: Some(kind),
                        opts: Vec::new(),
                    });
                }
                Some(_) => {}
                None if spec.options & DEFAULTS != 0 => c.default = default,
                None => {}
            }
            spliced.push(c);
        }
        if spec.options & CONSTRAINTS != 0 {
            for ch in &src.checks {
                out.checks.push((ch.name.clone(), ch.expr.clone()));
            }
        }
        if let (true, Some(oid)) = (spec.options & INDEXES != 0, src_oid) {
            out.indexes.extend(source_indexes(host, oid)?);
        }
    }
    spliced.extend(columns[next..].iter().cloned());
    for (i, c) in spliced.iter().enumerate() {
        if spliced[..i].iter().any(|d| d.name == c.name) {
            return Err(PgError::error(
                catalog::codes::DUPLICATE_COLUMN,
                format!("column \"{}\" specified more than once", c.name),
            ));
        }
    }
    *columns = spliced;
    Ok(out)
}

/// The B-tree indexes of relation `oid` as specs for a new table: keys by
/// column name with their DESC / NULLS FIRST options, unique, primary
/// key and whether a constraint stands behind it; names left to the new
/// table's defaults, as PostgreSQL chooses them anew. Indexes on
/// expressions are skipped (tusk has none).
fn source_indexes(host: &mut dyn Host, oid: u32) -> Result<Vec<crate::index::IndexSpec>, PgError> {
    let rows = crate::sysinfo::query(
        host,
        "SELECT i.indisunique, i.indisprimary, i.indkey::text, i.indoption::text, \
         EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid \
         AND c.contype IN ('p', 'u')), i.indpred::text, i.indnullsnotdistinct, \
         i.indnkeyatts::int4 \
         FROM pg_catalog.pg_index i WHERE i.indrelid = $1 ORDER BY i.indexrelid",
        &[crate::types::OID],
        vec![Value::Oid(oid)],
    )?;
    let names = crate::sysinfo::query(
        host,
        "SELECT attnum::int4, attname::text FROM pg_catalog.pg_attribute \
         WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped",
        &[crate::types::OID],
        vec![Value::Oid(oid)],
    )?;
    let name_of = |n: i64| {
        names.iter().find_map(|r| match (&r[0], &r[1]) {
            (Value::Int4(a), Value::Text(s)) if *a as i64 == n => Some(s.clone()),
            _ => None,
        })
    };
    let nums = |v: &Value| -> Vec<i64> {
        match v {
            Value::Text(s) => s
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut out = Vec::new();
    'index: for r in rows {
        let keys = nums(&r[2]);
        let opts = nums(&r[3]);
        let nkey = match r[7] {
            Value::Int4(n) => n as usize,
            _ => keys.len(),
        };
        let mut spec_keys = Vec::new();
        let mut include = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let Some(column) = name_of(*k) else {
                continue 'index;
            };
            if i >= nkey {
                include.push(column);
                continue;
            }
            let o = opts.get(i).copied().unwrap_or(0);
            spec_keys.push(crate::index::IndexKey {
                column,
                desc: o & 1 != 0,
                nulls_first: o & 2 != 0,
                opclass: None,
                expr: None,
                expr_type: 0,
            });
        }
        out.push(crate::index::IndexSpec {
            name: None,
            keys: spec_keys,
            unique: r[0] == Value::Bool(true),
            primary: r[1] == Value::Bool(true),
            constraint: r[4] == Value::Bool(true),
            if_not_exists: false,
            // The stored predicate is SQL text over the same column names.
            predicate: match &r[5] {
                Value::Text(p) => Some(p.clone()),
                _ => None,
            },
            concurrently: false,
            nulls_not_distinct: r[6] == Value::Bool(true),
            include,
            options: Vec::new(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_names_carry_the_item() {
        let spec = LikeSpec {
            schema: Some("Odd Schema".into()),
            name: "t".into(),
            options: (ALL & !INDEXES) | COMMENTS,
        };
        assert_eq!(decode(&encode(&spec)), Some(spec));
        let bare = LikeSpec {
            schema: None,
            name: "x".into(),
            options: 0,
        };
        assert_eq!(decode(&encode(&bare)), Some(bare));
        assert_eq!(decode("like"), None);
        assert_eq!(decode("\u{1}LIKE\u{1}s"), None);
    }
}
