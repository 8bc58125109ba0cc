//! Full-text search: the default parser, the `simple` and `english`
//! configurations, matching (`@@`), ranking and the tsvector/tsquery
//! functions, evaluated through one `Func::Ts` hook (bind/tsearch.rs binds
//! them).
//!
//! Why built-in configurations and no catalog yet: PostgreSQL's
//! configurations map the default parser's token types onto dictionaries,
//! and the scripts and applications overwhelmingly use `simple` and
//! `english` (english_stem: the Snowball English stemmer with
//! PostgreSQL's stop-word list), so those are tables here; user
//! configurations (CREATE TEXT SEARCH ...) would add catalog rows that
//! this module reads the same way.
//!
//! Matching follows TS_execute's three-valued recursion: phrase operators
//! compute position lists (with negated lists for `!` under a phrase), a
//! lexeme without positions (a stripped tsvector) is a "maybe" under a
//! phrase and a plain match elsewhere. Ranking follows ts_rank's and
//! ts_rank_cd's formulas in single precision, as PostgreSQL computes them.
//!
//! Pure functions over values; any backend may call them.

use tusk_common::sqlstate;
use tusk_common::PgError;
use tusk_types::array::Array;
use tusk_types::tsearch::{
    self as ts, make_pos, pos_of, weight_of, Lexeme, Operand, Pos, QNode, QOp, QueryMode, TsVector,
};
use tusk_types::types;
use tusk_types::value::Value;

use std::sync::Arc;

use crate::host::Host;
use crate::tsdict::{Dictionary, Lex};

/// The text-search functions and operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TsFn {
    /// to_tsvector(config, text).
    ToTsvector,
    /// to_tsvector(config, json|jsonb) and json(b)_to_tsvector(config,
    /// json|jsonb, filter): the values the filter picks (json.rs).
    JsonToTsvector,
    /// ts_headline(config, json|jsonb, query, options): each string value
    /// of the document replaced by its headline (json.rs).
    JsonHeadline,
    /// to_tsquery & co (config, text).
    ToTsquery(QueryMode, bool),
    Strip,
    SetWeight,
    SetWeightFilter,
    Length,
    NumNode,
    QueryTree,
    Delete,
    DeleteArr,
    Filter,
    ToArray,
    FromArray,
    /// ts_rank / ts_rank_cd (`true`): (weights?, vector, query, norm?);
    /// `.1`: a weights array comes first.
    Rank(bool, bool),
    /// tsvector @@ tsquery (`.0`: operands swapped).
    Match(bool),
    /// text @@ tsquery.
    MatchText,
    /// text @@ text.
    MatchTextText,
    Concat,
    QAnd,
    QOr,
    QNot,
    /// tsquery <-> tsquery, tsquery_phrase(a, b [, n]).
    QPhrase,
    /// tsquery @> tsquery (`false`: <@).
    QContains(bool),
    Lexize,
    /// ts_headline(config, document, query, options).
    Headline,
    /// ts_rewrite(query, target, substitute).
    Rewrite,
    /// tsvectorin / tsqueryin (`true`) over text (cstring).
    TypeIn(bool),
    /// tsvectorout / tsqueryout: the text form.
    TypeOut(bool),
    /// tsvector comparison (cmp result against the operator).
    Cmp(CmpOp, bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
}

pub(crate) fn name(f: TsFn) -> &'static str {
    match f {
        TsFn::ToTsvector => "to_tsvector",
        TsFn::JsonToTsvector => "json_to_tsvector",
        TsFn::JsonHeadline => "ts_headline",
        TsFn::ToTsquery(QueryMode::Standard, _) => "to_tsquery",
        TsFn::ToTsquery(QueryMode::Plain, false) => "plainto_tsquery",
        TsFn::ToTsquery(QueryMode::Plain, true) => "phraseto_tsquery",
        TsFn::ToTsquery(QueryMode::Web, _) => "websearch_to_tsquery",
        TsFn::Strip => "strip",
        TsFn::SetWeight | TsFn::SetWeightFilter => "setweight",
        TsFn::Length => "length",
        TsFn::NumNode => "numnode",
        TsFn::QueryTree => "querytree",
        TsFn::Delete | TsFn::DeleteArr => "ts_delete",
        TsFn::Filter => "ts_filter",
        TsFn::ToArray => "tsvector_to_array",
        TsFn::FromArray => "array_to_tsvector",
        TsFn::Rank(false, _) => "ts_rank",
        TsFn::Rank(true, _) => "ts_rank_cd",
        TsFn::Match(_) | TsFn::MatchText | TsFn::MatchTextText => "@@",
        TsFn::Concat => "||",
        TsFn::QAnd => "&&",
        TsFn::QOr => "||",
        TsFn::QNot => "!!",
        TsFn::QPhrase => "tsquery_phrase",
        TsFn::QContains(true) => "@>",
        TsFn::QContains(false) => "<@",
        TsFn::Lexize => "ts_lexize",
        TsFn::Headline => "ts_headline",
        TsFn::Rewrite => "ts_rewrite",
        TsFn::TypeIn(false) => "tsvectorin",
        TsFn::TypeIn(true) => "tsqueryin",
        TsFn::TypeOut(false) => "tsvectorout",
        TsFn::TypeOut(true) => "tsqueryout",
        TsFn::Cmp(..) => "tsvector_cmp",
    }
}

fn err(code: tusk_common::SqlState, msg: impl Into<String>) -> PgError {
    PgError::error(code, msg)
}

pub(crate) fn vector(v: &Value) -> Result<TsVector, PgError> {
    match v {
        Value::Text(s) | Value::Name(s) => ts::parse_tsvector(s),
        _ => Ok(TsVector::default()),
    }
}

pub(crate) fn query(v: &Value) -> Result<Option<QNode>, PgError> {
    match v {
        Value::Text(s) | Value::Name(s) => ts::read_tsquery(s),
        _ => Ok(None),
    }
}

fn vout(v: &TsVector) -> Value {
    Value::Text(ts::format_tsvector(v))
}

fn qout(q: Option<&QNode>) -> Value {
    Value::Text(ts::format_tsquery(q))
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) | Value::Name(s) => s.clone(),
        Value::Char(c) => (*c as char).to_string(),
        _ => String::new(),
    }
}

/// default_text_search_config, for an empty configuration name (what
/// the binder passes for the forms without one).
fn default_config(host: &dyn Host) -> String {
    host.current_setting("default_text_search_config", true)
        .ok()
        .flatten()
        .unwrap_or_else(|| "pg_catalog.english".into())
}

/// Evaluate one text-search function; `notices` collects NOTICEs.
pub(crate) fn call(
    f: TsFn,
    args: &[Value],
    host: &mut dyn Host,
    notices: &mut Vec<PgError>,
) -> Result<Value, PgError> {
    let dflt = default_config(host);
    let mut config = |name: &str| config(host, if name.is_empty() { &dflt } else { name });
    let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    if args.iter().any(|v| v.is_null()) && !matches!(f, TsFn::SetWeightFilter) {
        return Ok(Value::Null);
    }
    Ok(match f {
        TsFn::ToTsvector => {
            let cfg = config(&text(&a(0)))?;
            vout(&to_tsvector(&cfg, &text(&a(1)))?)
        }
        TsFn::JsonToTsvector => {
            let cfg = config(&text(&a(0)))?;
            let parts = crate::json::tsvector_parts(&a(1), &a(2))?;
            vout(&to_tsvector_parts(&cfg, &parts)?)
        }
        TsFn::ToTsquery(mode, phrase) => {
            let cfg = config(&text(&a(0)))?;
            let op = match mode {
                QueryMode::Plain if !phrase => QOp::And,
                _ => QOp::Phrase(1),
            };
            let input = text(&a(1));
            qout(to_tsquery(&cfg, &input, mode, op, notices)?.as_ref())
        }
        TsFn::Strip => {
            let mut v = vector(&a(0))?;
            for l in &mut v.lexemes {
                l.pos.clear();
            }
            vout(&v)
        }
        TsFn::SetWeight | TsFn::SetWeightFilter => {
            if a(0).is_null() || a(1).is_null() || (f == TsFn::SetWeightFilter && a(2).is_null()) {
                return Ok(Value::Null);
            }
            let w = weight_char(&text(&a(1)))?;
            let mut v = vector(&a(0))?;
            let only: Option<Vec<String>> = if f == TsFn::SetWeightFilter {
                // NULL elements name no lexeme.
                let items = array_items(&a(2));
                Some(items.iter().filter(|x| !x.is_null()).map(text).collect())
            } else {
                None
            };
            for l in &mut v.lexemes {
                if only.as_ref().is_some_and(|o| !o.contains(&l.word)) {
                    continue;
                }
                for p in &mut l.pos {
                    *p = make_pos(pos_of(*p), w);
                }
            }
            vout(&v)
        }
        TsFn::Length => Value::Int4(vector(&a(0))?.lexemes.len() as i32),
        TsFn::NumNode => Value::Int4(query(&a(0))?.map_or(0, |q| q.count()) as i32),
        TsFn::QueryTree => {
            let s = text(&a(0));
            if s.is_empty() {
                return Ok(Value::Text(String::new()));
            }
            match query(&a(0))?.and_then(clean_not) {
                None => Value::Text("T".into()),
                Some(q) => qout(Some(&q)),
            }
        }
        TsFn::Delete | TsFn::DeleteArr => {
            let gone: Vec<String> = if f == TsFn::Delete {
                vec![text(&a(1))]
            } else {
                array_items(&a(1))
                    .iter()
                    .filter(|x| !x.is_null())
                    .map(text)
                    .collect()
            };
            let mut v = vector(&a(0))?;
            v.lexemes.retain(|l| !gone.contains(&l.word));
            vout(&v)
        }
        TsFn::Filter => {
            let items = array_items(&a(1));
            let mut mask = 0u8;
            for x in &items {
                if x.is_null() {
                    return Err(err(
                        sqlstate::NULL_VALUE_NOT_ALLOWED,
                        "weight array may not contain nulls",
                    ));
                }
                let c = text(x);
                let w = match c.as_str() {
                    "a" | "A" => 3,
                    "b" | "B" => 2,
                    "c" | "C" => 1,
                    "d" | "D" => 0,
                    _ => {
                        return Err(err(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            format!("unrecognized weight: \"{c}\""),
                        ))
                    }
                };
                mask |= 1 << w;
            }
            let mut v = vector(&a(0))?;
            for l in &mut v.lexemes {
                l.pos.retain(|p| mask & (1 << weight_of(*p)) != 0);
            }
            v.lexemes.retain(|l| !l.pos.is_empty());
            vout(&v)
        }
        TsFn::ToArray => {
            let v = vector(&a(0))?;
            Value::Array(Box::new(Array::from_items(
                types::TEXT,
                v.lexemes.into_iter().map(|l| Value::Text(l.word)).collect(),
            )))
        }
        TsFn::FromArray => {
            let mut out = Vec::new();
            for x in array_items(&a(0)) {
                if x.is_null() {
                    return Err(err(
                        sqlstate::NULL_VALUE_NOT_ALLOWED,
                        "lexeme array may not contain nulls",
                    ));
                }
                let w = text(&x);
                if w.is_empty() {
                    return Err(err(
                        tusk_common::SqlState::new("2200F"),
                        "lexeme array may not contain empty strings",
                    ));
                }
                out.push(Lexeme {
                    word: w,
                    pos: Vec::new(),
                });
            }
            vout(&TsVector::normalize(out))
        }
        TsFn::Rank(cd, with_weights) => {
            let mut i = 0;
            let mut weights = [0.1f32, 0.2, 0.4, 1.0];
            if with_weights {
                let items = array_items(&a(0));
                if items.len() < 4 {
                    return Err(err(
                        sqlstate::ARRAY_SUBSCRIPT_ERROR,
                        "array of weight is too short",
                    ));
                }
                for (k, x) in items.iter().take(4).enumerate() {
                    let f = match x {
                        Value::Float4(f) => *f,
                        Value::Float8(f) => *f as f32,
                        Value::Null => {
                            return Err(err(
                                sqlstate::NULL_VALUE_NOT_ALLOWED,
                                "array of weight must not contain nulls",
                            ))
                        }
                        other => text(other).parse().unwrap_or(0.0),
                    };
                    if f > 1.0 {
                        return Err(err(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            "weight out of range",
                        ));
                    }
                    weights[k] = if f >= 0.0 { f } else { weights[k] };
                }
                i = 1;
            }
            let v = vector(&a(i))?;
            let q = query(&a(i + 1))?;
            let method = match args.get(i + 2) {
                Some(Value::Int4(m)) => *m,
                _ => 0,
            };
            let r = match q {
                None => 0.0,
                Some(q) if cd => rank_cd(&weights, &v, &q, method),
                Some(q) => rank(&weights, &v, &q, method),
            };
            Value::Float4(r)
        }
        TsFn::Match(swap) => {
            let (v, q) = if swap { (a(1), a(0)) } else { (a(0), a(1)) };
            Value::Bool(matches(&vector(&v)?, query(&q)?.as_ref()))
        }
        TsFn::MatchText => {
            let cfg = config("")?;
            let v = to_tsvector(&cfg, &text(&a(0)))?;
            Value::Bool(matches(&v, query(&a(1))?.as_ref()))
        }
        TsFn::MatchTextText => {
            let cfg = config("")?;
            let v = to_tsvector(&cfg, &text(&a(0)))?;
            let q = to_tsquery(&cfg, &text(&a(1)), QueryMode::Plain, QOp::And, notices)?;
            Value::Bool(matches(&v, q.as_ref()))
        }
        TsFn::Concat => vout(&concat(&vector(&a(0))?, &vector(&a(1))?)),
        TsFn::QAnd | TsFn::QOr | TsFn::QPhrase => {
            let l = query(&a(0))?;
            let r = query(&a(1))?;
            let op = match f {
                TsFn::QAnd => QOp::And,
                TsFn::QOr => QOp::Or,
                _ => {
                    let d = match args.get(2) {
                        Some(Value::Int4(d)) => *d,
                        _ => 1,
                    };
                    if !(0..=1 << 14).contains(&d) {
                        return Err(err(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            "distance in phrase operator must be an integer value between zero and 16384 inclusive",
                        ));
                    }
                    QOp::Phrase(d as u16)
                }
            };
            match (l, r) {
                (None, r) => qout(r.as_ref()),
                (l, None) => qout(l.as_ref()),
                (Some(l), Some(r)) => qout(Some(&QNode::op(op, l, r))),
            }
        }
        TsFn::QNot => match query(&a(0))? {
            None => qout(None),
            Some(q) => qout(Some(&QNode::Not(Box::new(q)))),
        },
        TsFn::QContains(contains) => {
            let (big, small) = if contains { (a(0), a(1)) } else { (a(1), a(0)) };
            let mut bw = Vec::new();
            let mut sw = Vec::new();
            if let Some(q) = query(&big)? {
                operands(&q, &mut bw);
            }
            if let Some(q) = query(&small)? {
                operands(&q, &mut sw);
            }
            Value::Bool(sw.iter().all(|w| bw.contains(w)))
        }
        TsFn::TypeIn(false) => Value::Text(ts::normalize_tsvector(&text(&a(0)))?),
        TsFn::TypeIn(true) => {
            let (s, empty) = ts::normalize_tsquery(&text(&a(0)))?;
            if empty {
                notices.push(ts::empty_query_notice(&text(&a(0))));
            }
            Value::Text(s)
        }
        TsFn::TypeOut(_) => Value::Text(text(&a(0))),
        TsFn::Rewrite => {
            let q = query(&a(0))?;
            if q.is_none() {
                return Ok(qout(None));
            }
            let ex = query(&a(1))?;
            if ex.is_none() {
                return Ok(qout(q.as_ref()));
            }
            qout(rewrite(q, ex, query(&a(2))?).as_ref())
        }
        TsFn::JsonHeadline => {
            let cfg = config(&text(&a(0)))?;
            let q = query(&a(2))?;
            let opts = text(&a(3));
            crate::json::map_strings(&a(1), &mut |s| headline(&cfg, s, q.as_ref(), &opts))?
        }
        TsFn::Headline => {
            let cfg = config(&text(&a(0)))?;
            Value::Text(headline(
                &cfg,
                &text(&a(1)),
                query(&a(2))?.as_ref(),
                &text(&a(3)),
            )?)
        }
        TsFn::Lexize => {
            let d = dictionary(host, &text(&a(0)))?;
            match d.lexize(&text(&a(1))) {
                None => Value::Null,
                Some(ws) => Value::Array(Box::new(Array::from_items(
                    types::TEXT,
                    ws.into_iter().map(|l| Value::Text(l.word)).collect(),
                ))),
            }
        }
        TsFn::Cmp(op, query_type) => {
            let o = if query_type {
                cmp_query(&query(&a(0))?, &query(&a(1))?)
            } else {
                cmp_vector(&vector(&a(0))?, &vector(&a(1))?)
            };
            use std::cmp::Ordering::*;
            Value::Bool(match op {
                CmpOp::Lt => o == Less,
                CmpOp::Le => o != Greater,
                CmpOp::Eq => o == Equal,
                CmpOp::Ne => o != Equal,
                CmpOp::Ge => o != Less,
                CmpOp::Gt => o == Greater,
            })
        }
    })
}

fn weight_char(s: &str) -> Result<u8, PgError> {
    Ok(match s.chars().next() {
        Some('a' | 'A') => 3,
        Some('b' | 'B') => 2,
        Some('c' | 'C') => 1,
        Some('d' | 'D') => 0,
        _ => {
            return Err(err(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!(
                    "unrecognized weight: {}",
                    s.chars().next().map_or(0, |c| c as u32)
                ),
            ))
        }
    })
}

fn array_items(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.items.clone(),
        _ => Vec::new(),
    }
}

fn operands(q: &QNode, out: &mut Vec<String>) {
    match q {
        QNode::Val { word, .. } => {
            if !out.contains(word) {
                out.push(word.clone())
            }
        }
        QNode::Stop => {}
        QNode::Not(c) => operands(c, out),
        QNode::Op(_, l, r) => {
            operands(l, out);
            operands(r, out);
        }
    }
}

/// tsvector_cmp: lexeme count, then sizes, then lexemes and positions.
fn cmp_vector(a: &TsVector, b: &TsVector) -> std::cmp::Ordering {
    a.lexemes.len().cmp(&b.lexemes.len()).then_with(|| {
        for (x, y) in a.lexemes.iter().zip(&b.lexemes) {
            let o = x
                .word
                .as_bytes()
                .cmp(y.word.as_bytes())
                .then(x.pos.len().cmp(&y.pos.len()))
                .then_with(|| x.pos.cmp(&y.pos));
            if o.is_ne() {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    })
}

/// CompareTSQ: node count, then operand text size, then the trees.
fn cmp_query(a: &Option<QNode>, b: &Option<QNode>) -> std::cmp::Ordering {
    fn size(q: &Option<QNode>) -> (usize, usize) {
        fn oplen(n: &QNode) -> usize {
            match n {
                QNode::Val { word, .. } => word.len() + 1,
                QNode::Stop => 0,
                QNode::Not(c) => oplen(c),
                QNode::Op(_, l, r) => oplen(l) + oplen(r),
            }
        }
        q.as_ref().map_or((0, 0), |n| (n.count(), oplen(n)))
    }
    fn rank(n: &QNode) -> u8 {
        match n {
            QNode::Not(_) => 1,
            QNode::Op(QOp::And, ..) => 2,
            QNode::Op(QOp::Or, ..) => 3,
            QNode::Op(QOp::Phrase(_), ..) => 4,
            _ => 0,
        }
    }
    fn tree(a: &QNode, b: &QNode) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        match (a, b) {
            (QNode::Val { word: x, .. }, QNode::Val { word: y, .. }) => {
                let (cx, cy) = (legacy_crc32(x.as_bytes()), legacy_crc32(y.as_bytes()));
                if cx != cy {
                    // The larger checksum sorts first (QTNodeCompare).
                    return (cy as i32).cmp(&(cx as i32));
                }
                x.as_bytes().cmp(y.as_bytes())
            }
            (QNode::Val { .. }, _) => Greater,
            (_, QNode::Val { .. }) => Less,
            _ => {
                let (ra, rb) = (rank(a), rank(b));
                if ra != rb {
                    return rb.cmp(&ra);
                }
                match (a, b) {
                    (QNode::Not(x), QNode::Not(y)) => tree(x, y),
                    (QNode::Op(oa, la, ra), QNode::Op(ob, lb, rb)) => {
                        // The children in the polish order: right first.
                        let o = tree(ra, rb).then_with(|| tree(la, lb));
                        if o.is_ne() {
                            return o;
                        }
                        match (oa, ob) {
                            (QOp::Phrase(x), QOp::Phrase(y)) => y.cmp(x),
                            _ => Equal,
                        }
                    }
                    _ => Equal,
                }
            }
        }
    }
    let (sa, sb) = (size(a), size(b));
    sa.0.cmp(&sb.0)
        .then(sa.1.cmp(&sb.1))
        .then_with(|| match (a, b) {
            (Some(x), Some(y)) => tree(x, y),
            _ => std::cmp::Ordering::Equal,
        })
}

/// PostgreSQL's legacy CRC-32 (the tsquery operand checksum): the
/// reflected CRC-32 table driven by the non-reflected update, as
/// COMP_LEGACY_CRC32 does (checked against PostgreSQL's tsquery order).
fn legacy_crc32(data: &[u8]) -> u32 {
    let table = |i: u32| {
        let mut t = i;
        for _ in 0..8 {
            t = if t & 1 != 0 {
                (t >> 1) ^ 0xEDB8_8320
            } else {
                t >> 1
            };
        }
        t
    };
    let mut crc: u32 = 0xFFFF_FFFF;
    for &b in data {
        crc = table(((crc >> 24) ^ b as u32) & 0xFF) ^ (crc << 8);
    }
    crc ^ 0xFFFF_FFFF
}

/// clean_NOT: the query an index could check (querytree).
fn clean_not(n: QNode) -> Option<QNode> {
    match n {
        QNode::Val { .. } => Some(n),
        QNode::Stop | QNode::Not(_) => None,
        QNode::Op(op, l, r) => {
            let l = clean_not(*l);
            let r = clean_not(*r);
            match (op, l, r) {
                (QOp::Or, Some(l), Some(r)) => Some(QNode::op(op, l, r)),
                (QOp::Or, _, _) => None,
                (_, Some(l), Some(r)) => Some(QNode::op(op, l, r)),
                (_, Some(x), None) | (_, None, Some(x)) => Some(x),
                (_, None, None) => None,
            }
        }
    }
}

/// tsvector_concat: the right side's positions move past the left's.
fn concat(a: &TsVector, b: &TsVector) -> TsVector {
    let maxpos = a
        .lexemes
        .iter()
        .flat_map(|l| l.pos.iter().map(|p| pos_of(*p)))
        .max()
        .unwrap_or(0);
    let mut out: Vec<Lexeme> = a.lexemes.clone();
    for l in &b.lexemes {
        let pos: Vec<Pos> = l
            .pos
            .iter()
            .map(|p| {
                make_pos(
                    (pos_of(*p) as u32 + maxpos as u32).min(ts::MAX_POS as u32) as u16,
                    weight_of(*p),
                )
            })
            .collect();
        out.push(Lexeme {
            word: l.word.clone(),
            pos,
        });
    }
    TsVector::normalize(out)
}

// ---------------------------------------------------------------------
// Matching (TS_execute).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tern {
    No,
    Yes,
    Maybe,
}

/// The positions a phrase subexpression matches at (its right end);
/// `negate`: everywhere except these.
#[derive(Debug, Default, Clone)]
struct Phrase {
    pos: Vec<u32>,
    negate: bool,
    width: u32,
}

/// The lexemes an operand names (a prefix names all that start so).
fn entries<'a>(v: &'a TsVector, word: &str, prefix: bool) -> Vec<&'a Lexeme> {
    if !prefix {
        return v.find(word).into_iter().collect();
    }
    v.lexemes
        .iter()
        .filter(|l| l.word.as_bytes().starts_with(word.as_bytes()))
        .collect()
}

fn check_val(
    v: &TsVector,
    word: &str,
    weight: u8,
    prefix: bool,
    data: Option<&mut Phrase>,
) -> Tern {
    let es = entries(v, word, prefix);
    if es.is_empty() {
        return Tern::No;
    }
    let mut result = Tern::No;
    let mut out: Vec<u32> = Vec::new();
    for e in es {
        if e.pos.is_empty() {
            // Stripped: a match with weights ignored, only a maybe when
            // positions are wanted.
            let r = if data.is_some() {
                Tern::Maybe
            } else {
                Tern::Yes
            };
            if result != Tern::Yes {
                result = r;
            }
            continue;
        }
        for p in &e.pos {
            if weight == 0 || weight & (1 << weight_of(*p)) != 0 {
                result = Tern::Yes;
                out.push(pos_of(*p) as u32);
                if data.is_none() {
                    break;
                }
            }
        }
    }
    if let Some(d) = data {
        out.sort_unstable();
        out.dedup();
        d.pos = out;
    }
    result
}

const L_ONLY: u8 = 1;
const R_ONLY: u8 = 2;
const BOTH: u8 = 4;

/// TS_phrase_output: merge two position lists.
fn phrase_output(
    data: &mut Phrase,
    l: &Phrase,
    r: &Phrase,
    emit: u8,
    loff: u32,
    roff: u32,
) -> bool {
    let (mut li, mut ri) = (0, 0);
    while li < l.pos.len() || ri < r.pos.len() {
        let lp = if li < l.pos.len() {
            l.pos[li] + loff
        } else {
            if emit & R_ONLY == 0 {
                break;
            }
            u32::MAX
        };
        let rp = if ri < r.pos.len() {
            r.pos[ri] + roff
        } else {
            if emit & L_ONLY == 0 {
                break;
            }
            u32::MAX
        };
        let mut out = 0;
        if lp < rp {
            if emit & L_ONLY != 0 {
                out = lp;
            }
            li += 1;
        } else if lp == rp {
            if emit & BOTH != 0 {
                out = rp;
            }
            li += 1;
            ri += 1;
        } else {
            if emit & R_ONLY != 0 {
                out = rp;
            }
            ri += 1;
        }
        if out > 0 {
            data.pos.push(out);
        }
    }
    !data.pos.is_empty()
}

fn phrase_exec(n: &QNode, v: &TsVector, data: &mut Phrase, skip_not: bool) -> Tern {
    match n {
        QNode::Val {
            word,
            weight,
            prefix,
        } => check_val(v, word, *weight, *prefix, Some(data)),
        QNode::Stop => Tern::No,
        QNode::Not(_) if skip_not => {
            // TS_EXEC_SKIP_NOT: a NOT matches everywhere.
            data.negate = true;
            Tern::Yes
        }
        QNode::Not(c) => match phrase_exec(c, v, data, skip_not) {
            Tern::No => {
                data.negate = true;
                Tern::Yes
            }
            Tern::Yes => {
                if !data.pos.is_empty() {
                    data.negate = !data.negate;
                    Tern::Yes
                } else if data.negate {
                    data.negate = false;
                    Tern::No
                } else {
                    Tern::Yes
                }
            }
            Tern::Maybe => Tern::Maybe,
        },
        QNode::Op(op, l, r) => {
            let mut ld = Phrase::default();
            let mut rd = Phrase::default();
            let lm = phrase_exec(l, v, &mut ld, skip_not);
            if *op != QOp::Or && lm == Tern::No {
                return Tern::No;
            }
            let rm = phrase_exec(r, v, &mut rd, skip_not);
            match op {
                QOp::Or => {
                    if lm == Tern::No && rm == Tern::No {
                        return Tern::No;
                    }
                }
                _ => {
                    if rm == Tern::No {
                        return Tern::No;
                    }
                }
            }
            if lm == Tern::Maybe || rm == Tern::Maybe {
                return Tern::Maybe;
            }
            let (loff, roff) = match op {
                QOp::Phrase(d) => {
                    data.width = *d as u32 + ld.width + rd.width;
                    (*d as u32 + rd.width, 0)
                }
                _ => {
                    data.width = ld.width.max(rd.width);
                    (data.width - ld.width, data.width - rd.width)
                }
            };
            match op {
                QOp::Or => {
                    let (emit, neg) = match (ld.negate, rd.negate) {
                        (true, true) => (BOTH, true),
                        (true, false) => (L_ONLY, true),
                        (false, true) => (R_ONLY, true),
                        (false, false) => (BOTH | L_ONLY | R_ONLY, false),
                    };
                    let found = phrase_output(data, &ld, &rd, emit, loff, roff);
                    if neg {
                        data.negate = true;
                        return Tern::Yes;
                    }
                    if found {
                        Tern::Yes
                    } else {
                        Tern::No
                    }
                }
                _ => {
                    if ld.negate && rd.negate {
                        phrase_output(data, &ld, &rd, BOTH | L_ONLY | R_ONLY, loff, roff);
                        data.negate = true;
                        return Tern::Yes;
                    }
                    let emit = if ld.negate {
                        R_ONLY
                    } else if rd.negate {
                        L_ONLY
                    } else {
                        BOTH
                    };
                    if phrase_output(data, &ld, &rd, emit, loff, roff) {
                        Tern::Yes
                    } else {
                        Tern::No
                    }
                }
            }
        }
    }
}

fn exec(n: &QNode, v: &TsVector, skip_not: bool) -> Tern {
    match n {
        QNode::Val {
            word,
            weight,
            prefix,
        } => check_val(v, word, *weight, *prefix, None),
        QNode::Stop => Tern::No,
        QNode::Not(_) if skip_not => Tern::Yes,
        QNode::Not(c) => match exec(c, v, skip_not) {
            Tern::Yes => Tern::No,
            Tern::No => Tern::Yes,
            Tern::Maybe => Tern::Maybe,
        },
        QNode::Op(QOp::And, l, r) => {
            let lm = exec(l, v, skip_not);
            if lm == Tern::No {
                return Tern::No;
            }
            let rm = exec(r, v, skip_not);
            if rm == Tern::No {
                return Tern::No;
            }
            if lm == Tern::Yes && rm == Tern::Yes {
                Tern::Yes
            } else {
                Tern::Maybe
            }
        }
        QNode::Op(QOp::Or, l, r) => {
            let lm = exec(l, v, skip_not);
            if lm == Tern::Yes {
                return Tern::Yes;
            }
            let rm = exec(r, v, skip_not);
            if rm == Tern::Yes {
                return Tern::Yes;
            }
            if lm == Tern::Maybe || rm == Tern::Maybe {
                Tern::Maybe
            } else {
                Tern::No
            }
        }
        QNode::Op(QOp::Phrase(_), ..) => {
            let mut d = Phrase::default();
            match phrase_exec(n, v, &mut d, skip_not) {
                Tern::Yes if d.negate || !d.pos.is_empty() => Tern::Yes,
                Tern::Yes => Tern::No,
                _ => Tern::No,
            }
        }
    }
}

/// tsvector @@ tsquery.
pub(crate) fn matches(v: &TsVector, q: Option<&QNode>) -> bool {
    match q {
        None => false,
        Some(q) => exec(q, v, false) != Tern::No,
    }
}

// ---------------------------------------------------------------------
// Ranking (ts_rank, ts_rank_cd).

fn wpos(w: &[f32; 4], p: Pos) -> f32 {
    w[weight_of(p) as usize]
}

/// The query's distinct operands, sorted (SortAndUniqItems).
fn uniq_items(q: &QNode) -> Vec<(String, bool)> {
    fn walk(n: &QNode, out: &mut Vec<(String, bool)>) {
        match n {
            QNode::Val { word, prefix, .. } => out.push((word.clone(), *prefix)),
            QNode::Stop => {}
            QNode::Not(c) => walk(c, out),
            QNode::Op(_, l, r) => {
                walk(l, out);
                walk(r, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(q, &mut out);
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

fn word_distance(d: i32) -> f32 {
    if d > 100 {
        return 1e-30;
    }
    (1.0 / (1.005 + 0.05 * ((d as f32 / 1.5 - 2.0) as f64).exp())) as f32
}

fn rank_or(w: &[f32; 4], v: &TsVector, q: &QNode) -> f32 {
    let items = uniq_items(q);
    let mut res: f32 = 0.0;
    for (word, prefix) in &items {
        for e in entries(v, word, *prefix) {
            let posv: Vec<Pos> = if e.pos.is_empty() {
                vec![0]
            } else {
                e.pos.clone()
            };
            let mut resj: f32 = 0.0;
            let mut wjm: f32 = -1.0;
            let mut jm: i32 = 0;
            for (j, p) in posv.iter().enumerate() {
                let j = j as i32;
                resj += wpos(w, *p) / ((j + 1) * (j + 1)) as f32;
                if wpos(w, *p) > wjm {
                    wjm = wpos(w, *p);
                    jm = j;
                }
            }
            let t = (wjm + resj - wjm / ((jm + 1) * (jm + 1)) as f32) as f64 / 1.64493406685;
            res = (res as f64 + t) as f32;
        }
    }
    if !items.is_empty() {
        res /= items.len() as f32;
    }
    res
}

fn rank_and(w: &[f32; 4], v: &TsVector, q: &QNode) -> f32 {
    let items = uniq_items(q);
    if items.len() < 2 {
        return rank_or(w, v, q);
    }
    let null = vec![make_pos(ts::MAX_POS, 0)];
    let mut pos: Vec<Option<(Vec<Pos>, bool)>> = vec![None; items.len()];
    let mut res: f32 = -1.0;
    for i in 0..items.len() {
        let (word, prefix) = &items[i];
        for e in entries(v, word, *prefix) {
            let (pv, isnull) = if e.pos.is_empty() {
                (null.clone(), true)
            } else {
                (e.pos.clone(), false)
            };
            pos[i] = Some((pv.clone(), isnull));
            for (ct, knull) in pos[..i].iter().flatten() {
                for l in &pv {
                    for p in ct {
                        let mut dist = (pos_of(*l) as i32 - pos_of(*p) as i32).abs();
                        if dist != 0 || isnull || *knull {
                            if dist == 0 {
                                dist = 1 << 14;
                            }
                            let curw = ((wpos(w, *l) * wpos(w, *p) * word_distance(dist)) as f64)
                                .sqrt() as f32;
                            res = if res < 0.0 {
                                curw
                            } else {
                                (1.0 - (1.0 - res as f64) * (1.0 - curw as f64)) as f32
                            };
                        }
                    }
                }
            }
        }
    }
    res
}

fn normalize_rank(mut res: f32, v: &TsVector, method: i32, extent: Option<f64>) -> f32 {
    let len: usize = v.lexemes.iter().map(|l| l.pos.len().max(1)).sum();
    let size = v.lexemes.len();
    if method & 1 != 0 && size > 0 {
        res = (res as f64 / ((len as f64 + 1.0).ln() / 2f64.ln())) as f32;
    }
    if method & 2 != 0 && len > 0 {
        res /= len as f32;
    }
    if let Some(ext) = extent {
        if method & 4 != 0 && ext > 0.0 {
            res = (res as f64 / ext) as f32;
        }
    }
    if method & 8 != 0 && size > 0 {
        res /= size as f32;
    }
    if method & 16 != 0 && size > 0 {
        res = (res as f64 / ((size as f64 + 1.0).ln() / 2f64.ln())) as f32;
    }
    if method & 32 != 0 {
        res /= res + 1.0;
    }
    res
}

fn rank(w: &[f32; 4], v: &TsVector, q: &QNode, method: i32) -> f32 {
    if v.lexemes.is_empty() {
        return 0.0;
    }
    let mut res = match q {
        QNode::Op(QOp::And | QOp::Phrase(_), ..) => rank_and(w, v, q),
        _ => rank_or(w, v, q),
    };
    if res < 0.0 {
        res = 1e-20;
    }
    normalize_rank(res, v, method, None)
}

/// One entry of the document representation (get_docrep): a position
/// of one lexeme and the query operands it satisfies.
struct DocPos {
    pos: Pos,
    entry: usize,
    items: Vec<usize>,
}

/// ts_rank_cd (calc_rank_cd): covers found as Cover does (upwards to the
/// first position where the query holds with NOT skipped, then downwards
/// until it holds), each weighted by its density.
fn rank_cd(w: &[f32; 4], v: &TsVector, q: &QNode, method: i32) -> f32 {
    let mut invws = [0f64; 4];
    for i in 0..4 {
        let x = if w[i] >= 0.0 {
            w[i]
        } else {
            [0.1f32, 0.2, 0.4, 1.0][i]
        };
        invws[i] = 1.0 / x as f64;
    }
    // Operands in polish order, as numbered() names them.
    let mut ops: Vec<(String, u8, bool)> = Vec::new();
    fn walk(n: &QNode, out: &mut Vec<(String, u8, bool)>) {
        match n {
            QNode::Val {
                word,
                weight,
                prefix,
            } => out.push((word.clone(), *weight, *prefix)),
            QNode::Stop => {}
            QNode::Not(c) => walk(c, out),
            QNode::Op(_, l, r) => {
                walk(r, out);
                walk(l, out);
            }
        }
    }
    walk(q, &mut ops);
    let nq = numbered(q, &mut 0);
    let mut raw: Vec<(Pos, usize, usize)> = Vec::new();
    for (k, (word, weight, prefix)) in ops.iter().enumerate() {
        for e in entries(v, word, *prefix) {
            let ei = v
                .lexemes
                .iter()
                .position(|l| std::ptr::eq(l, e))
                .unwrap_or(0);
            for p in &e.pos {
                if *weight == 0 || weight & (1 << weight_of(*p)) != 0 {
                    raw.push((*p, ei, k));
                }
            }
        }
    }
    if raw.is_empty() {
        return 0.0;
    }
    raw.sort_by(|a, b| {
        pos_of(a.0)
            .cmp(&pos_of(b.0))
            .then(weight_of(a.0).cmp(&weight_of(b.0)))
            .then(a.1.cmp(&b.1))
    });
    let mut doc: Vec<DocPos> = Vec::new();
    for (p, e, k) in raw {
        match doc.last_mut() {
            Some(d) if d.pos == p && d.entry == e => d.items.push(k),
            _ => doc.push(DocPos {
                pos: p,
                entry: e,
                items: vec![k],
            }),
        }
    }
    let holds = |range: &[DocPos], skip_not: bool| -> bool {
        let mut lex: Vec<Lexeme> = Vec::new();
        for d in range {
            for &k in &d.items {
                lex.push(Lexeme {
                    word: format!("\u{1}{k}"),
                    pos: vec![make_pos(pos_of(d.pos), 0)],
                });
            }
        }
        exec(&nq, &TsVector::normalize(lex), skip_not) != Tern::No
    };
    let mut wdoc: f64 = 0.0;
    let mut sum_dist: f64 = 0.0;
    let mut prev_ext: f64 = 0.0;
    let mut n_ext = 0;
    let mut start = 0usize;
    'covers: while start < doc.len() {
        // Upwards: the first end where the query holds (NOT skipped).
        let Some(end) = (start..doc.len()).find(|&e| holds(&doc[start..=e], true)) else {
            break;
        };
        let q_pos = pos_of(doc[end].pos) as i64;
        // Downwards from there.
        let mut b = end as i64;
        let mut begin = None;
        while b >= start as i64 {
            if holds(&doc[b as usize..=end], false) {
                begin = Some(b as usize);
                break;
            }
            b -= 1;
        }
        let Some(begin) = begin else {
            start += 1;
            continue 'covers;
        };
        let p_pos = pos_of(doc[begin].pos) as i64;
        if p_pos > q_pos {
            start += 1;
            continue;
        }
        let inv_sum: f64 = doc[begin..=end]
            .iter()
            .map(|d| invws[weight_of(d.pos) as usize])
            .sum();
        let cpos = (end - begin + 1) as f64 / inv_sum;
        let mut noise = (q_pos - p_pos) - (end - begin) as i64;
        if noise < 0 {
            noise = (end - begin) as i64 / 2;
        }
        wdoc += cpos / (1 + noise) as f64;
        let cur_ext = (q_pos + p_pos) as f64 / 2.0;
        if n_ext > 0 && cur_ext > prev_ext {
            sum_dist += 1.0 / (cur_ext - prev_ext);
        }
        prev_ext = cur_ext;
        n_ext += 1;
        start = begin + 1;
    }
    let len: usize = v.lexemes.iter().map(|l| l.pos.len().max(1)).sum();
    let size = v.lexemes.len();
    if method & 1 != 0 && size > 0 {
        wdoc /= (len as f64 + 1.0).ln();
    }
    if method & 2 != 0 && len > 0 {
        wdoc /= len as f64;
    }
    if method & 4 != 0 && n_ext > 0 && sum_dist > 0.0 {
        wdoc /= n_ext as f64 / sum_dist;
    }
    if method & 8 != 0 && size > 0 {
        wdoc /= size as f64;
    }
    if method & 16 != 0 && size > 0 {
        wdoc /= (size as f64 + 1.0).ln() / 2f64.ln();
    }
    if method & 32 != 0 {
        wdoc /= wdoc + 1.0;
    }
    wdoc as f32
}

// ---------------------------------------------------------------------
// Parser, dictionaries and configurations.

/// The default parser's token types (ts_token_type('default')).
pub(crate) const TOKEN_TYPES: &[(&str, &str)] = &[
    ("asciiword", "Word, all ASCII"),
    ("word", "Word, all letters"),
    ("numword", "Word, letters and digits"),
    ("email", "Email address"),
    ("url", "URL"),
    ("host", "Host"),
    ("sfloat", "Scientific notation"),
    ("version", "Version number"),
    ("hword_numpart", "Hyphenated word part, letters and digits"),
    ("hword_part", "Hyphenated word part, all letters"),
    ("hword_asciipart", "Hyphenated word part, all ASCII"),
    ("blank", "Space symbols"),
    ("tag", "XML tag"),
    ("protocol", "Protocol head"),
    ("numhword", "Hyphenated word, letters and digits"),
    ("asciihword", "Hyphenated word, all ASCII"),
    ("hword", "Hyphenated word, all letters"),
    ("url_path", "URL path"),
    ("file", "File or path name"),
    ("float", "Decimal notation"),
    ("int", "Signed integer"),
    ("uint", "Unsigned integer"),
    ("entity", "XML entity"),
];

const ASCIIWORD: u8 = 1;
const WORD: u8 = 2;
const NUMWORD: u8 = 3;
const ASCIIHWORD: u8 = 16;
const HWORD: u8 = 17;
const NUMHWORD: u8 = 15;
const HWORD_ASCIIPART: u8 = 11;
const HWORD_PART: u8 = 10;
const HWORD_NUMPART: u8 = 9;
const EMAIL: u8 = 4;
const PROTOCOL: u8 = 14;
const URL: u8 = 5;
const HOST: u8 = 6;
const URL_PATH: u8 = 18;
const FILE: u8 = 19;
const SFLOAT: u8 = 7;
const FLOAT: u8 = 20;
const INT: u8 = 21;
const UINT: u8 = 22;
const VERSION: u8 = 8;
const TAG: u8 = 13;
const ENTITY: u8 = 23;
const BLANK: u8 = 12;

/// A token of the default parser.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub ty: u8,
    pub text: String,
}

/// In C locale with UTF-8, any non-ASCII character is a letter (as
/// PostgreSQL's parser treats it).
fn is_alpha(c: char) -> bool {
    c.is_ascii_alphabetic() || !c.is_ascii()
}

fn is_alnum(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

fn word_class(w: &str) -> u8 {
    if w.chars().all(|c| c.is_ascii_alphabetic()) {
        ASCIIWORD
    } else if w.chars().all(is_alpha) {
        WORD
    } else {
        NUMWORD
    }
}

/// The default parser, simplified: words and hyphenated words with their
/// parts, numbers, versions, e-mail addresses, hosts, URLs and paths,
/// XML tags and entities; anything else is blank.
pub(crate) fn parse_text(s: &str) -> Vec<Token> {
    let c: Vec<char> = s.chars().collect();
    let n = c.len();
    let mut out: Vec<Token> = Vec::new();
    let mut blank = String::new();
    let mut i = 0;
    let text = |a: usize, b: usize| c[a..b].iter().collect::<String>();
    macro_rules! flush {
        () => {
            if !blank.is_empty() {
                out.push(Token {
                    ty: BLANK,
                    text: std::mem::take(&mut blank),
                });
            }
        };
    }
    while i < n {
        let ch = c[i];
        // Protocol and URL.
        if ch.is_ascii_alphabetic() {
            let mut j = i;
            while j < n && c[j].is_ascii_alphabetic() {
                j += 1;
            }
            if j + 2 < n && c[j] == ':' && c[j + 1] == '/' && c[j + 2] == '/' {
                if let Some(hend) = host_end(&c, j + 3) {
                    flush!();
                    out.push(Token {
                        ty: PROTOCOL,
                        text: text(i, j + 3),
                    });
                    let pend = path_end(&c, hend);
                    if pend > hend {
                        out.push(Token {
                            ty: URL,
                            text: text(j + 3, pend),
                        });
                    }
                    out.push(Token {
                        ty: HOST,
                        text: text(j + 3, hend),
                    });
                    if pend > hend {
                        out.push(Token {
                            ty: URL_PATH,
                            text: text(hend, pend),
                        });
                    }
                    i = pend;
                    continue;
                }
            }
        }
        if is_alnum(ch) {
            // E-mail: local part, '@', host.
            let mut j = i;
            while j < n && (is_alnum(c[j]) || matches!(c[j], '.' | '-' | '_')) {
                j += 1;
            }
            if j < n && c[j] == '@' && j > i {
                if let Some(hend) = host_end(&c, j + 1) {
                    flush!();
                    out.push(Token {
                        ty: EMAIL,
                        text: text(i, hend),
                    });
                    i = hend;
                    continue;
                }
            }
            // Host (and URL without protocol).
            if let Some(hend) = host_end(&c, i) {
                flush!();
                let pend = path_end(&c, hend);
                if pend > hend {
                    out.push(Token {
                        ty: URL,
                        text: text(i, pend),
                    });
                    out.push(Token {
                        ty: HOST,
                        text: text(i, hend),
                    });
                    out.push(Token {
                        ty: URL_PATH,
                        text: text(hend, pend),
                    });
                    i = pend;
                } else {
                    out.push(Token {
                        ty: HOST,
                        text: text(i, hend),
                    });
                    i = hend;
                }
                continue;
            }
            // File names: a word with dots or slashes that is no host.
            {
                let mut k = i;
                let mut seps = false;
                while k < n {
                    if is_alnum(c[k])
                        || c[k] == '_'
                        || (c[k] == '-' && k + 1 < n && !c[k + 1].is_ascii_digit())
                    {
                        k += 1;
                    } else if (c[k] == '.' || c[k] == '/') && k + 1 < n && is_alnum(c[k + 1]) {
                        seps = true;
                        k += 1;
                    } else {
                        break;
                    }
                }
                let numeric = c[i..k].iter().all(|x| x.is_ascii_digit() || *x == '.');
                if seps && !numeric && c[i..k].iter().any(|x| is_alpha(*x)) {
                    flush!();
                    out.push(Token {
                        ty: FILE,
                        text: text(i, k),
                    });
                    i = k;
                    continue;
                }
            }
            // Numbers.
            if ch.is_ascii_digit() {
                let mut j = i;
                while j < n && c[j].is_ascii_digit() {
                    j += 1;
                }
                if j == n || !is_alpha(c[j]) {
                    let (ty, e) = number(&c, i, j);
                    flush!();
                    out.push(Token {
                        ty,
                        text: text(i, e),
                    });
                    i = e;
                    continue;
                }
            }
            // Words, hyphenated words.
            let mut parts: Vec<(usize, usize)> = Vec::new();
            let mut j = i;
            loop {
                let st = j;
                while j < n && is_alnum(c[j]) {
                    j += 1;
                }
                parts.push((st, j));
                if j + 1 < n && c[j] == '-' && is_alnum(c[j + 1]) {
                    let mut k = j + 1;
                    while k < n && c[k].is_ascii_digit() {
                        k += 1;
                    }
                    // `readline-4.2` is a word and a signed number.
                    if k > j + 1 && k < n && c[k] == '.' {
                        break;
                    }
                    j += 1;
                    continue;
                }
                break;
            }
            flush!();
            if parts.len() == 1 {
                let w = text(i, j);
                out.push(Token {
                    ty: word_class(&w),
                    text: w,
                });
            } else {
                let w = text(i, j);
                let cls = word_class(&w.replace('-', ""));
                let ty = match cls {
                    ASCIIWORD => ASCIIHWORD,
                    WORD => HWORD,
                    _ => NUMHWORD,
                };
                out.push(Token { ty, text: w });
                for (k, (a, b)) in parts.iter().enumerate() {
                    if k > 0 {
                        out.push(Token {
                            ty: BLANK,
                            text: "-".into(),
                        });
                    }
                    let p = text(*a, *b);
                    let pty = match word_class(&p) {
                        ASCIIWORD => HWORD_ASCIIPART,
                        WORD => HWORD_PART,
                        _ => HWORD_NUMPART,
                    };
                    out.push(Token { ty: pty, text: p });
                }
            }
            i = j;
            continue;
        }
        // Signed integers and decimals.
        if (ch == '-' || ch == '+') && i + 1 < n && c[i + 1].is_ascii_digit() {
            let mut j = i + 1;
            while j < n && c[j].is_ascii_digit() {
                j += 1;
            }
            let (ty, e) = number(&c, i + 1, j);
            flush!();
            let ty = if ty == UINT { INT } else { ty };
            out.push(Token {
                ty,
                text: text(i, e),
            });
            i = e;
            continue;
        }
        // File paths.
        if ch == '/' && i + 1 < n && is_alnum(c[i + 1]) {
            let mut j = i + 1;
            while j < n && (is_alnum(c[j]) || matches!(c[j], '/' | '.' | '-' | '_')) {
                j += 1;
            }
            flush!();
            out.push(Token {
                ty: FILE,
                text: text(i, j),
            });
            i = j;
            continue;
        }
        // XML tags and entities.
        if ch == '<' {
            let mut j = i + 1;
            if j < n && c[j] == '/' {
                j += 1;
            }
            if j < n && c[j].is_ascii_alphabetic() {
                let mut k = j;
                let mut quote: Option<char> = None;
                let mut end = None;
                while k < n {
                    match (quote, c[k]) {
                        (Some(q), x) if x == q => quote = None,
                        (Some(_), _) => {}
                        (None, '"' | '\'') => quote = Some(c[k]),
                        (None, '>') => {
                            end = Some(k + 1);
                            break;
                        }
                        (None, '<') => break,
                        _ => {}
                    }
                    k += 1;
                }
                if let Some(e) = end {
                    flush!();
                    out.push(Token {
                        ty: TAG,
                        text: text(i, e),
                    });
                    i = e;
                    continue;
                }
            }
            // A '<' that opens no tag starts a blank of its own.
            flush!();
        }
        if ch == '&' {
            let mut j = i + 1;
            if j < n && c[j] == '#' {
                j += 1;
            }
            let st = j;
            while j < n && c[j].is_ascii_alphanumeric() {
                j += 1;
            }
            if j > st && j < n && c[j] == ';' {
                flush!();
                out.push(Token {
                    ty: ENTITY,
                    text: text(i, j + 1),
                });
                i = j + 1;
                continue;
            }
        }
        blank.push(ch);
        i += 1;
    }
    flush!();
    out
}

/// A host name from `i`: labels of letters, digits and '-' joined by
/// dots, at least two labels, the last with a letter. Its end.
fn host_end(c: &[char], i: usize) -> Option<usize> {
    let n = c.len();
    let mut j = i;
    let mut labels = 0;
    let mut last_alpha;
    loop {
        let st = j;
        while j < n && (is_alnum(c[j]) || c[j] == '-' || c[j] == '_') {
            j += 1;
        }
        if j == st {
            return None;
        }
        labels += 1;
        last_alpha = j - st >= 2 && c[st..j].iter().all(|x| is_alpha(*x));
        if j + 1 < n && c[j] == '.' && is_alnum(c[j + 1]) {
            j += 1;
            continue;
        }
        break;
    }
    if labels >= 2 && last_alpha {
        // A port.
        if j + 1 < n && c[j] == ':' && c[j + 1].is_ascii_digit() {
            j += 1;
            while j < n && c[j].is_ascii_digit() {
                j += 1;
            }
        }
        Some(j)
    } else {
        None
    }
}

fn path_end(c: &[char], i: usize) -> usize {
    let n = c.len();
    if i + 1 >= n || c[i] != '/' || c[i + 1].is_whitespace() {
        return i;
    }
    let mut j = i;
    while j < n && !c[j].is_whitespace() && !matches!(c[j], '"' | '\'' | '<' | '>') {
        j += 1;
    }
    j
}

/// A number whose digits run [i, j): uint, float, sfloat or version.
fn number(c: &[char], _i: usize, mut j: usize) -> (u8, usize) {
    let n = c.len();
    let mut ty = UINT;
    if j + 1 < n && c[j] == '.' && c[j + 1].is_ascii_digit() {
        j += 1;
        while j < n && c[j].is_ascii_digit() {
            j += 1;
        }
        ty = FLOAT;
        if j + 1 < n && c[j] == '.' && c[j + 1].is_ascii_digit() {
            while j + 1 < n && c[j] == '.' && c[j + 1].is_ascii_digit() {
                j += 1;
                while j < n && c[j].is_ascii_digit() {
                    j += 1;
                }
            }
            return (VERSION, j);
        }
    }
    if j < n && (c[j] == 'e' || c[j] == 'E') {
        let mut k = j + 1;
        if k < n && (c[k] == '+' || c[k] == '-') {
            k += 1;
        }
        if k < n && c[k].is_ascii_digit() {
            while k < n && c[k].is_ascii_digit() {
                k += 1;
            }
            return (SFLOAT, k);
        }
    }
    (ty, j)
}

/// The first OID of objects made after initdb: built-in text-search
/// objects are below it and cannot be dropped.
pub(crate) const FIRST_USER_OID: u32 = 16384;

/// One dictionary of a configuration's mapping: its name and itself.
pub(crate) type MapDict = (String, Arc<Dictionary>);

/// A configuration as text processing uses it: for each of the default
/// parser's token types, the dictionaries in the order they are tried.
pub(crate) struct Cfg {
    maps: Vec<Vec<MapDict>>,
}

pub(crate) type Config<'a> = &'a Cfg;

impl Cfg {
    /// initdb's `english` configuration, built without the catalog (for
    /// unit tests).
    #[cfg(test)]
    fn builtin_english() -> Cfg {
        let stem = Arc::new(Dictionary::Snowball {
            algo: rust_stemmers::Algorithm::English,
            stop: crate::tsdict::stop_words("english").expect("english.stop"),
        });
        let simple = Arc::new(Dictionary::Simple {
            stop: Default::default(),
            accept: true,
        });
        let mut maps = vec![Vec::new(); 24];
        for (ty, m) in maps.iter_mut().enumerate() {
            let ty = ty as u8;
            *m = match ty {
                0 | PROTOCOL | TAG | ENTITY | BLANK => Vec::new(),
                ASCIIWORD | WORD | HWORD_PART | HWORD_ASCIIPART | ASCIIHWORD | HWORD => {
                    vec![("english_stem".to_string(), stem.clone())]
                }
                _ => vec![("simple".to_string(), simple.clone())],
            };
        }
        Cfg { maps }
    }
}

/// A possibly qualified name as regconfigin reads it: dot-separated
/// identifiers, unquoted ones folded to lower case.
pub(crate) fn split_name(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = name.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' {
            quoted = true;
        } else if c == '.' {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.extend(c.to_lowercase());
        }
    }
    out.push(cur);
    out
}

/// Catalog reads of text processing: without privilege checks and
/// without a command-counter step (they run inside any statement; also
/// the text-search DDL's lookups, tsddl.rs).
pub(crate) fn read(
    host: &mut dyn Host,
    sql: &str,
    ptypes: &[u32],
    params: Vec<Value>,
) -> Result<Vec<crate::Row>, PgError> {
    crate::acl::unchecked(|| crate::sysinfo::query(host, sql, ptypes, params))
}

/// The dictionary with this OID, built (or shared) from its row.
fn dict_by_oid(host: &mut dyn Host, oid: u32) -> Result<MapDict, PgError> {
    let rows = read(
        host,
        "SELECT d.dictname::text, t.tmpllexize::oid, d.dictinitoption FROM pg_catalog.pg_ts_dict d \
         JOIN pg_catalog.pg_ts_template t ON t.oid = d.dicttemplate WHERE d.oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    let Some(r) = rows.first() else {
        return Err(err(
            sqlstate::INTERNAL_ERROR,
            format!("cache lookup failed for text search dictionary {oid}"),
        ));
    };
    let name = text(&r[0]);
    let lexize = match &r[1] {
        Value::Oid(o) => *o,
        _ => 0,
    };
    let opts = match &r[2] {
        Value::Null => Vec::new(),
        v => crate::tsddl::parse_options(&text(v)),
    };
    let template = crate::tsdict::template_impl(lexize).unwrap_or("");
    Ok((name, crate::tsdict::load(host, template, &opts)?))
}

/// The dictionary ts_lexize names.
pub(crate) fn dictionary(host: &mut dyn Host, name: &str) -> Result<Arc<Dictionary>, PgError> {
    let parts = split_name(name);
    let o = crate::tsddl::find(host, crate::tsddl::Kind::Dictionary, &parts)?.ok_or_else(|| {
        err(
            sqlstate::UNDEFINED_OBJECT,
            format!("text search dictionary \"{name}\" does not exist"),
        )
    })?;
    Ok(dict_by_oid(host, o.oid)?.1)
}

type CfgCache = std::collections::HashMap<String, (u64, Arc<Cfg>)>;

thread_local! {
    /// Configurations loaded by this backend, under the catalog
    /// generation they were read at.
    static CONFIGS: std::cell::RefCell<CfgCache> = std::cell::RefCell::new(CfgCache::new());
}

/// The configuration a name denotes (search_path for an unqualified
/// one), read from pg_ts_config and pg_ts_config_map.
pub(crate) fn config(host: &mut dyn Host, name: &str) -> Result<Arc<Cfg>, PgError> {
    let generation = host.plan_generation();
    let key = format!(
        "{}\0{}\0{name}",
        host.identity().database,
        host.show("search_path").unwrap_or_default()
    );
    if let Some(g) = generation {
        let hit = CONFIGS.with(|c| {
            c.borrow()
                .get(&key)
                .filter(|(cg, _)| *cg == g)
                .map(|(_, cfg)| cfg.clone())
        });
        if let Some(cfg) = hit {
            return Ok(cfg);
        }
    }
    let parts = split_name(name);
    let o =
        crate::tsddl::find(host, crate::tsddl::Kind::Configuration, &parts)?.ok_or_else(|| {
            err(
                sqlstate::UNDEFINED_OBJECT,
                format!("text search configuration \"{name}\" does not exist"),
            )
        })?;
    let rows = read(
        host,
        "SELECT maptokentype, mapdict FROM pg_catalog.pg_ts_config_map WHERE mapcfg = $1 \
         ORDER BY maptokentype, mapseqno",
        &[types::OID],
        vec![Value::Oid(o.oid)],
    )?;
    let mut maps: Vec<Vec<MapDict>> = vec![Vec::new(); TOKEN_TYPES.len() + 1];
    let mut built: Vec<(u32, MapDict)> = Vec::new();
    for r in rows {
        let ty = match r[0] {
            Value::Int4(t) => t as usize,
            _ => continue,
        };
        let d = match r[1] {
            Value::Oid(d) => d,
            _ => continue,
        };
        let md = match built.iter().find(|(o, _)| *o == d) {
            Some((_, md)) => md.clone(),
            None => {
                let md = dict_by_oid(host, d)?;
                built.push((d, md.clone()));
                md
            }
        };
        if let Some(m) = maps.get_mut(ty) {
            m.push(md);
        }
    }
    let cfg = Arc::new(Cfg { maps });
    if let Some(g) = generation {
        CONFIGS.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() > 64 {
                c.clear();
            }
            c.insert(key, (g, cfg.clone()));
        });
    }
    Ok(cfg)
}

/// The dictionaries a configuration maps a token type onto.
pub(crate) fn mapping(cfg: &Cfg, ty: u8) -> &[MapDict] {
    cfg.maps.get(ty as usize).map_or(&[], |m| m.as_slice())
}

/// LexizeExec for one token: the first dictionary that knows it gives
/// its lexemes (an empty list: a stop word), with that dictionary's
/// index.
pub(crate) fn lexize(dicts: &[MapDict], word: &str) -> Option<(usize, Vec<Lex>)> {
    for (i, (_, d)) in dicts.iter().enumerate() {
        if let Some(l) = d.lexize(word) {
            return Some((i, l));
        }
    }
    None
}

/// One lexeme of parsed text, its position, variant and TSL_PREFIX.
struct Word {
    word: String,
    pos: u16,
    nvariant: u16,
    flags: u16,
}

/// parsetext: each token a dictionary knows takes a position (stop words
/// too) and gives its lexemes.
fn parse_words(cfg: Config, s: &str) -> Result<Vec<Word>, PgError> {
    Ok(parse_words_from(cfg, s, 0)?.0)
}

/// [`parse_words`] with positions counted on from `start`; also the count
/// reached (a trailing stop word's position included).
fn parse_words_from(cfg: Config, s: &str, start: u32) -> Result<(Vec<Word>, u32), PgError> {
    let mut pos: u32 = start;
    let mut out = Vec::new();
    let tokens = parse_text(s);
    for t in &tokens {
        if t.text.len() >= ts::MAX_STR_LEN {
            return Err(err(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                "word is too long to be indexed",
            )
            .with_detail(format!(
                "Words longer than {} characters are ignored.",
                ts::MAX_STR_LEN
            )));
        }
    }
    for lex in crate::tsthesaurus::lexize_tokens(cfg, &tokens) {
        pos += 1;
        for l in lex {
            if l.flags & crate::tsdict::TSL_ADDPOS != 0 {
                pos += 1;
            }
            out.push(Word {
                word: l.word,
                pos: pos.min(ts::MAX_POS as u32) as u16,
                nvariant: l.nvariant,
                flags: l.flags & crate::tsdict::TSL_PREFIX,
            });
        }
    }
    Ok((out, pos))
}

/// to_tsvector over several texts (the values of a json document), each
/// parsed on its own, a position left free after each that gave words so
/// that no phrase spans two values (PostgreSQL's add_to_tsvector).
pub(crate) fn to_tsvector_parts(cfg: Config, parts: &[String]) -> Result<TsVector, PgError> {
    let mut pos = 0;
    let mut words = Vec::new();
    for p in parts {
        let (w, end) = parse_words_from(cfg, p, pos)?;
        pos = end;
        if !w.is_empty() {
            pos += 1;
        }
        words.extend(w);
    }
    Ok(TsVector::normalize(
        words
            .into_iter()
            .map(|w| Lexeme {
                word: w.word,
                pos: vec![make_pos(w.pos, 0)],
            })
            .collect(),
    ))
}

pub(crate) fn to_tsvector(cfg: Config, s: &str) -> Result<TsVector, PgError> {
    let words = parse_words(cfg, s)?;
    Ok(TsVector::normalize(
        words
            .into_iter()
            .map(|w| Lexeme {
                word: w.word,
                pos: vec![make_pos(w.pos, 0)],
            })
            .collect(),
    ))
}

/// to_tsquery and friends: each operand through the configuration
/// (pushval_morph), stop words dropped afterwards.
pub(crate) fn to_tsquery(
    cfg: Config,
    input: &str,
    mode: QueryMode,
    op: QOp,
    notices: &mut Vec<PgError>,
) -> Result<Option<QNode>, PgError> {
    let mut push = |o: Operand<'_>| -> Result<QNode, PgError> {
        let words = parse_words(cfg, &o.text)?;
        if words.is_empty() {
            return Ok(QNode::Stop);
        }
        let qop = if o.quoted { QOp::Phrase(1) } else { op };
        let mut acc: Option<QNode> = None;
        let mut last: u16 = 0;
        let mut k = 0;
        while k < words.len() {
            let p = words[k].pos;
            // Stop words skipped between lexemes keep their places.
            while last > 0 && last + 1 < p {
                acc = Some(match acc.take() {
                    Some(a) => QNode::op(qop, a, QNode::Stop),
                    None => QNode::Stop,
                });
                last += 1;
            }
            last = p;
            // Variants of one position are alternatives; the lexemes
            // of one variant all match (pushval_morph).
            let mut alts: Option<QNode> = None;
            while k < words.len() && words[k].pos == p {
                let variant = words[k].nvariant;
                let mut all: Option<QNode> = None;
                while k < words.len() && words[k].pos == p && words[k].nvariant == variant {
                    let v = QNode::Val {
                        word: words[k].word.clone(),
                        weight: o.weight,
                        prefix: o.prefix || words[k].flags & crate::tsdict::TSL_PREFIX != 0,
                    };
                    all = Some(match all.take() {
                        Some(a) => QNode::op(QOp::And, a, v),
                        None => v,
                    });
                    k += 1;
                }
                let Some(all) = all else { break };
                alts = Some(match alts.take() {
                    Some(a) => QNode::op(QOp::Or, a, all),
                    None => all,
                });
            }
            let alts = alts.unwrap_or(QNode::Stop);
            acc = Some(match acc.take() {
                Some(a) => QNode::op(qop, a, alts),
                None => alts,
            });
        }
        Ok(acc.unwrap_or(QNode::Stop))
    };
    let q = ts::parse_query(input, mode, &mut push)?;
    match q {
        None => {
            notices.push(ts::empty_query_notice(input));
            Ok(None)
        }
        Some(q) => match ts::cleanup_stopwords(q) {
            Some(q) => Ok(Some(q)),
            None => {
                notices.push(PgError::new(
                    tusk_common::Severity::Notice,
                    sqlstate::SUCCESSFUL_COMPLETION,
                    "text-search query contains only stop words or doesn't contain lexemes, ignored",
                ));
                Ok(None)
            }
        },
    }
}

/// unnest(tsvector): (lexeme, positions, weights).
pub(crate) fn unnest_rows(v: &Value) -> Result<Vec<Vec<Value>>, PgError> {
    let v = vector(v)?;
    Ok(v.lexemes
        .into_iter()
        .map(|l| {
            let (pos, w) = if l.pos.is_empty() {
                (Value::Null, Value::Null)
            } else {
                (
                    Value::Array(Box::new(Array::from_items(
                        types::INT2,
                        l.pos
                            .iter()
                            .map(|p| Value::Int2(pos_of(*p) as i16))
                            .collect(),
                    ))),
                    Value::Array(Box::new(Array::from_items(
                        types::TEXT,
                        l.pos
                            .iter()
                            .map(|p| {
                                Value::Text(
                                    ["D", "C", "B", "A"][weight_of(*p) as usize].to_string(),
                                )
                            })
                            .collect(),
                    ))),
                )
            };
            vec![Value::Text(l.word), pos, w]
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: &str, q: &str) -> bool {
        let v = ts::parse_tsvector(v).unwrap();
        let q = ts::parse_tsquery(q).unwrap();
        matches(&v, q.as_ref())
    }

    #[test]
    fn matching() {
        assert!(m("a b:89  ca:23A,64b d:34c", "d:AC & ca"));
        assert!(!m("a b:89  ca:23A,64b d:34c", "d:AC & ca:C"));
        assert!(m("wa:1D wb:2A", "w:*D <-> w:*A"));
        assert!(!m("wa:1A wb:2D", "w:*D <-> w:*A"));
        assert!(m("x:1 y:2,4 q:3", "!x <-> y"));
        assert!(!m("x y q", "!x <-> y"));
        assert!(m("x y q", "!(x <-> y)"));
    }

    #[test]
    fn english() {
        let cfg = Cfg::builtin_english();
        let v = to_tsvector(&cfg, "Rebel spaceships, striking from a hidden base").unwrap();
        assert_eq!(
            ts::format_tsvector(&v),
            "'base':7 'hidden':6 'rebel':1 'spaceship':2 'strike':3"
        );
    }
}

/// The text-search set-returning functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TsSrf {
    /// unnest(tsvector): (lexeme, positions, weights).
    Unnest,
    /// ts_token_type(parser).
    TokenType,
    /// ts_parse(parser, text).
    Parse,
    /// ts_debug(config, text).
    Debug,
}

pub(crate) fn srf_name(t: TsSrf) -> &'static str {
    match t {
        TsSrf::Unnest => "unnest",
        TsSrf::TokenType => "ts_token_type",
        TsSrf::Parse => "ts_parse",
        TsSrf::Debug => "ts_debug",
    }
}

pub(crate) fn srf_columns(t: TsSrf) -> Vec<(&'static str, types::Oid)> {
    match t {
        TsSrf::Unnest => vec![
            ("lexeme", types::TEXT),
            ("positions", 1005),
            ("weights", 1009),
        ],
        TsSrf::TokenType => vec![
            ("tokid", types::INT4),
            ("alias", types::TEXT),
            ("description", types::TEXT),
        ],
        TsSrf::Parse => vec![("tokid", types::INT4), ("token", types::TEXT)],
        TsSrf::Debug => vec![
            ("alias", types::TEXT),
            ("description", types::TEXT),
            ("token", types::TEXT),
            ("dictionaries", 1009),
            ("dictionary", types::TEXT),
            ("lexemes", 1009),
        ],
    }
}

/// The default parser, by name or oid (3722).
fn parser(name: &str) -> Result<(), PgError> {
    let n = name.trim();
    let n = n.strip_prefix("pg_catalog.").unwrap_or(n);
    if n == "default" || n == "3722" {
        Ok(())
    } else {
        Err(err(
            sqlstate::UNDEFINED_OBJECT,
            format!("text search parser \"{name}\" does not exist"),
        ))
    }
}

fn text_array(items: Vec<String>) -> Value {
    Value::Array(Box::new(Array::from_items(
        types::TEXT,
        items.into_iter().map(Value::Text).collect(),
    )))
}

pub(crate) fn srf_rows(
    t: TsSrf,
    args: &[Value],
    host: &mut dyn Host,
) -> Result<Vec<Vec<Value>>, PgError> {
    if args.iter().any(|v| v.is_null()) {
        return Ok(Vec::new());
    }
    let a = |i: usize| args.get(i).map(text).unwrap_or_default();
    match t {
        TsSrf::Unnest => unnest_rows(&args[0]),
        TsSrf::TokenType => {
            parser(&a(0))?;
            Ok(TOKEN_TYPES
                .iter()
                .enumerate()
                .map(|(i, (al, d))| {
                    vec![
                        Value::Int4(i as i32 + 1),
                        Value::Text(al.to_string()),
                        Value::Text(d.to_string()),
                    ]
                })
                .collect())
        }
        TsSrf::Parse => {
            parser(&a(0))?;
            Ok(parse_text(&a(1))
                .into_iter()
                .map(|tk| vec![Value::Int4(tk.ty as i32), Value::Text(tk.text)])
                .collect())
        }
        TsSrf::Debug => {
            // One argument: the binder passes "" (default_text_search_config).
            let name = a(0);
            let name = if name.is_empty() {
                default_config(host)
            } else {
                name
            };
            let cfg = config(host, &name)?;
            Ok(parse_text(&a(1))
                .into_iter()
                .map(|tk| {
                    let (al, d) = TOKEN_TYPES[tk.ty as usize - 1];
                    let dicts = mapping(&cfg, tk.ty);
                    let names: Vec<String> = dicts.iter().map(|(n, _)| n.clone()).collect();
                    let (used, lex) = match lexize(dicts, &tk.text) {
                        None => (Value::Null, Value::Null),
                        Some((i, lx)) => (
                            Value::Text(dicts[i].0.clone()),
                            text_array(lx.into_iter().map(|l| l.word).collect()),
                        ),
                    };
                    vec![
                        Value::Text(al.to_string()),
                        Value::Text(d.to_string()),
                        Value::Text(tk.text),
                        text_array(names),
                        used,
                        lex,
                    ]
                })
                .collect())
        }
    }
}

// ---------------------------------------------------------------------
// ts_headline (hlparsetext, prsd_headline, generateHeadline).

/// One token of the document being highlighted.
#[derive(Debug, Clone, Default)]
struct HlWord {
    text: String,
    ty: u8,
    pos: u16,
    /// The query operand (its polish-order index) this word matches.
    item: Option<usize>,
    repeated: bool,
    selected: bool,
    inside: bool,
    replace: bool,
    skip: bool,
}

fn nonword(t: u8) -> bool {
    matches!(t, BLANK | TAG | URL | NUMHWORD | ASCIIHWORD | HWORD)
}

fn noend(t: u8) -> bool {
    nonword(t) || matches!(t, SFLOAT | VERSION | FLOAT | INT | UINT | PROTOCOL | ENTITY)
}

/// The query's operands in PostgreSQL's polish order (an operator, its
/// right operand, then its left).
fn polish_operands(n: &QNode, out: &mut Vec<(String, bool)>) {
    match n {
        QNode::Val { word, prefix, .. } => out.push((word.clone(), *prefix)),
        QNode::Stop => {}
        QNode::Not(c) => polish_operands(c, out),
        QNode::Op(_, l, r) => {
            polish_operands(r, out);
            polish_operands(l, out);
        }
    }
}

/// The query with each operand replaced by a name of its own, so that
/// matching checks which operand a word matched (checkcondition_HL).
fn numbered(n: &QNode, next: &mut usize) -> QNode {
    match n {
        QNode::Val { .. } => {
            let i = *next;
            *next += 1;
            QNode::val(format!("\u{1}{i}"))
        }
        QNode::Stop => QNode::Stop,
        QNode::Not(c) => QNode::Not(Box::new(numbered(c, next))),
        QNode::Op(op, l, r) => {
            // Right first, as the polish order numbers them.
            let r = numbered(r, next);
            let l = numbered(l, next);
            QNode::op(*op, l, r)
        }
    }
}

struct Headline<'a> {
    w: Vec<HlWord>,
    q: &'a QNode,
    shortword: usize,
}

impl Headline<'_> {
    fn interesting(&self, j: usize) -> bool {
        self.w[j].item.is_some() && !self.w[j].repeated
    }

    fn bad_end(&self, j: usize) -> bool {
        (noend(self.w[j].ty) || self.w[j].text.len() <= self.shortword) && !self.interesting(j)
    }

    fn first_index(&self, pos: usize) -> Option<usize> {
        (pos..self.w.len()).find(|&i| self.w[i].item.is_some())
    }

    fn satisfied(&self, a: usize, b: usize) -> bool {
        let mut lex: Vec<Lexeme> = Vec::new();
        for w in &self.w[a..=b] {
            if let Some(it) = w.item {
                lex.push(Lexeme {
                    word: format!("\u{1}{it}"),
                    pos: vec![make_pos(w.pos, 0)],
                });
            }
        }
        matches(&TsVector::normalize(lex), Some(self.q))
    }

    /// hlCover: the earliest, shortest span from `*p` satisfying the query.
    fn cover(&self, max_cover: usize, p: &mut usize, q: &mut usize) -> bool {
        let mut pmin = self.first_index(*p);
        while let Some(pm) = pmin {
            let mut nextpmin = None;
            let mut pmax = Some(pm);
            while let Some(px) = pmax {
                if px - pm >= max_cover {
                    break;
                }
                if self.satisfied(pm, px) {
                    *p = pm;
                    *q = px;
                    return true;
                }
                let nx = self.first_index(px + 1);
                if px == pm {
                    nextpmin = nx;
                }
                pmax = nx;
            }
            pmin = nextpmin;
        }
        false
    }

    fn mark(&mut self, highlightall: bool, a: usize, b: usize) {
        for i in a..=b.min(self.w.len().saturating_sub(1)) {
            let w = &mut self.w[i];
            if w.item.is_some() {
                w.selected = true;
            }
            if !highlightall {
                if w.ty == TAG {
                    w.replace = true;
                } else if matches!(w.ty, URL | NUMHWORD | ASCIIHWORD | HWORD) {
                    w.skip = true;
                }
            } else if matches!(w.ty, URL | NUMHWORD | ASCIIHWORD | HWORD) {
                w.skip = true;
            }
            w.inside = !w.repeated;
        }
    }

    fn words_counted(&self, i: usize) -> i32 {
        i32::from(!nonword(self.w[i].ty))
    }

    /// mark_hl_words: the best cover, stretched to min..max words.
    fn mark_words(&mut self, highlightall: bool, min_words: i32, max_words: i32, max_cover: usize) {
        let n = self.w.len() as i64;
        if n == 0 {
            return;
        }
        let (mut bestb, mut beste): (i64, i64) = (-1, -1);
        let mut bestlen: i64 = -1;
        let mut bestcover = false;
        if !highlightall {
            let (mut p, mut q) = (0usize, 0usize);
            while self.cover(max_cover, &mut p, &mut q) {
                let (pi, qi) = (p as i64, q as i64);
                let mut curlen = 0;
                let mut poslen: i64 = 0;
                let mut posb = pi;
                let mut pose = pi;
                let mut i = pi;
                while i <= qi && curlen < max_words {
                    curlen += self.words_counted(i as usize);
                    if self.interesting(i as usize) {
                        poslen += 1;
                    }
                    pose = i;
                    i += 1;
                }
                if curlen < max_words {
                    i -= 1;
                    while i < n && curlen < max_words {
                        if i > qi {
                            curlen += self.words_counted(i as usize);
                            if self.interesting(i as usize) {
                                poslen += 1;
                            }
                        }
                        pose = i;
                        if self.bad_end(i as usize) {
                            i += 1;
                            continue;
                        }
                        if curlen >= min_words {
                            break;
                        }
                        i += 1;
                    }
                    if curlen < min_words {
                        i = pi - 1;
                        while i >= 0 {
                            curlen += self.words_counted(i as usize);
                            if self.interesting(i as usize) {
                                poslen += 1;
                            }
                            if curlen >= max_words {
                                break;
                            }
                            if self.bad_end(i as usize) {
                                i -= 1;
                                continue;
                            }
                            if curlen >= min_words {
                                break;
                            }
                            i -= 1;
                        }
                        posb = i.max(0);
                    }
                } else {
                    if i > qi {
                        i = qi;
                    }
                    while curlen > min_words {
                        if !self.bad_end(i as usize) {
                            break;
                        }
                        curlen -= self.words_counted(i as usize);
                        if self.interesting(i as usize) {
                            poslen -= 1;
                        }
                        pose = i - 1;
                        i -= 1;
                    }
                }
                let poscover = posb <= pi && pose >= qi;
                let beste_bad = beste < 0 || self.bad_end(beste as usize);
                if (poscover && !bestcover)
                    || (poscover == bestcover && poslen > bestlen)
                    || (poscover == bestcover
                        && poslen == bestlen
                        && pose >= 0
                        && !self.bad_end(pose as usize)
                        && beste_bad)
                {
                    bestb = posb;
                    beste = pose;
                    bestlen = poslen;
                    bestcover = poscover;
                }
                p += 1;
            }
            if bestlen < 0 {
                let mut curlen = 0;
                let mut pose = 0;
                let mut i = 0;
                while i < n && curlen < min_words {
                    curlen += self.words_counted(i as usize);
                    pose = i;
                    i += 1;
                }
                bestb = 0;
                beste = pose;
            }
        } else {
            bestb = 0;
            beste = n - 1;
        }
        self.mark(highlightall, bestb.max(0) as usize, beste.max(0) as usize);
    }

    /// mark_hl_fragments: up to max_fragments covers cut to max_words.
    fn mark_fragments(
        &mut self,
        highlightall: bool,
        min_words: i32,
        max_words: i32,
        max_fragments: i32,
        max_cover: usize,
    ) {
        struct Cov {
            start: i64,
            end: i64,
            poslen: i32,
            curlen: i32,
            chosen: bool,
            excluded: bool,
        }
        let n = self.w.len() as i64;
        let mut covers: Vec<Cov> = Vec::new();
        let (mut p, mut q) = (0usize, 0usize);
        while self.cover(max_cover, &mut p, &mut q) {
            let mut start = p as i64;
            let mut end = q as i64;
            while start <= end {
                // get_next_fragment
                let mut i = start;
                while i <= end {
                    start = i;
                    if self.interesting(i as usize) {
                        break;
                    }
                    i += 1;
                }
                let mut curlen = 0;
                let mut poslen = 0;
                i = start;
                while i <= end && curlen < max_words {
                    curlen += self.words_counted(i as usize);
                    if self.interesting(i as usize) {
                        poslen += 1;
                    }
                    i += 1;
                }
                if end > i {
                    end = i;
                    let mut k = end;
                    while k >= start {
                        end = k;
                        if self.interesting(k as usize) {
                            break;
                        }
                        curlen -= self.words_counted(k as usize);
                        k -= 1;
                    }
                }
                covers.push(Cov {
                    start,
                    end,
                    poslen,
                    curlen,
                    chosen: false,
                    excluded: false,
                });
                start = end + 1;
                end = q as i64;
            }
            p += 1;
        }
        let mut num_f = 0;
        for _ in 0..max_fragments {
            let mut maxitems = 0;
            let mut minwords = i32::MAX;
            let mut min_i: Option<usize> = None;
            for (i, c) in covers.iter().enumerate() {
                if !c.chosen
                    && !c.excluded
                    && (maxitems < c.poslen || (maxitems == c.poslen && minwords > c.curlen))
                {
                    maxitems = c.poslen;
                    minwords = c.curlen;
                    min_i = Some(i);
                }
            }
            let Some(mi) = min_i else { break };
            covers[mi].chosen = true;
            let mut start = covers[mi].start;
            let mut end = covers[mi].end;
            let mut curlen = covers[mi].curlen;
            if curlen < max_words {
                let maxstretch = (max_words - curlen) / 2;
                let mut stretch = 0;
                let mut posmarker = start;
                let mut i = start - 1;
                while i >= 0 && stretch < maxstretch && !self.w[i as usize].inside {
                    if !nonword(self.w[i as usize].ty) {
                        curlen += 1;
                        stretch += 1;
                    }
                    posmarker = i;
                    i -= 1;
                }
                i = posmarker;
                while i < start && self.bad_end(i as usize) {
                    curlen -= self.words_counted(i as usize);
                    i += 1;
                }
                start = i;
                posmarker = end;
                i = end + 1;
                while i < n && curlen < max_words && !self.w[i as usize].inside {
                    curlen += self.words_counted(i as usize);
                    posmarker = i;
                    i += 1;
                }
                i = posmarker;
                while i > end && self.bad_end(i as usize) {
                    curlen -= self.words_counted(i as usize);
                    i -= 1;
                }
                end = i;
            }
            covers[mi].start = start;
            covers[mi].end = end;
            covers[mi].curlen = curlen;
            self.mark(highlightall, start as usize, end as usize);
            num_f += 1;
            for (i, c) in covers.iter_mut().enumerate() {
                if i != mi
                    && ((c.start >= start && c.start <= end)
                        || (c.end >= start && c.end <= end)
                        || (c.start < start && c.end > end))
                {
                    c.excluded = true;
                }
            }
        }
        if num_f == 0 && n > 0 {
            let mut curlen = 0;
            let mut end = 0;
            let mut i = 0;
            while i < n && curlen < min_words {
                curlen += self.words_counted(i as usize);
                end = i;
                i += 1;
            }
            self.mark(highlightall, 0, end as usize);
        }
    }
}

/// The `key=value, ...` options of ts_headline (deserialize_deflist).
fn headline_options(s: &str) -> Result<Vec<(String, String)>, PgError> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let n = c.len();
    loop {
        while i < n && (c[i].is_whitespace() || c[i] == ',') {
            i += 1;
        }
        if i >= n {
            break;
        }
        let st = i;
        while i < n && !c[i].is_whitespace() && c[i] != '=' {
            i += 1;
        }
        let key: String = c[st..i].iter().collect();
        while i < n && c[i].is_whitespace() {
            i += 1;
        }
        if i >= n || c[i] != '=' {
            return Err(err(
                sqlstate::SYNTAX_ERROR,
                format!("invalid parameter list format: \"{s}\""),
            ));
        }
        i += 1;
        while i < n && c[i].is_whitespace() {
            i += 1;
        }
        let mut val = String::new();
        if i < n && c[i] == '"' {
            i += 1;
            while i < n && c[i] != '"' {
                if c[i] == '\\' && i + 1 < n {
                    i += 1;
                }
                val.push(c[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < n && !c[i].is_whitespace() && c[i] != ',' {
                val.push(c[i]);
                i += 1;
            }
        }
        out.push((key, val));
    }
    Ok(out)
}

fn int_option(v: &str) -> Result<i32, PgError> {
    v.trim().parse().map_err(|_| {
        err(
            sqlstate::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type integer: \"{v}\""),
        )
    })
}

/// ts_headline(config, document, query, options).
pub(crate) fn headline(
    cfg: Config,
    doc: &str,
    q: Option<&QNode>,
    opts: &str,
) -> Result<String, PgError> {
    let mut ops: Vec<(String, bool)> = Vec::new();
    if let Some(q) = q {
        polish_operands(q, &mut ops);
    }
    let mut words: Vec<HlWord> = Vec::new();
    let mut vpos: u32 = 0;
    for t in parse_text(doc) {
        words.push(HlWord {
            text: t.text.clone(),
            ty: t.ty,
            ..HlWord::default()
        });
        let Some((_, lex)) = lexize(mapping(cfg, t.ty), &t.text) else {
            continue;
        };
        vpos += 1;
        for l in lex.into_iter().map(|l| l.word) {
            let last = words.len() - 1;
            words[last].pos = vpos.min(ts::MAX_POS as u32) as u16;
            for (k, (w, prefix)) in ops.iter().enumerate() {
                let hit = if *prefix {
                    l.as_bytes().starts_with(w.as_bytes())
                } else {
                    l == *w
                };
                if hit {
                    if words[last].item.is_some() {
                        let mut copy = words[last].clone();
                        copy.item = Some(k);
                        copy.repeated = true;
                        words.push(copy);
                    } else {
                        words[last].item = Some(k);
                    }
                }
            }
        }
    }
    let (mut min_words, mut max_words, mut shortword, mut max_fragments) = (15, 35, 3, 0);
    let mut highlightall = false;
    let (mut startsel, mut stopsel, mut fragdelim) =
        ("<b>".to_string(), "</b>".to_string(), " ... ".to_string());
    for (k, v) in headline_options(opts)? {
        match k.to_ascii_lowercase().as_str() {
            "maxwords" => max_words = int_option(&v)?,
            "minwords" => min_words = int_option(&v)?,
            "shortword" => shortword = int_option(&v)?,
            "maxfragments" => max_fragments = int_option(&v)?,
            "startsel" => startsel = v,
            "stopsel" => stopsel = v,
            "fragmentdelimiter" => fragdelim = v,
            "highlightall" => {
                highlightall = matches!(
                    v.to_ascii_lowercase().as_str(),
                    "1" | "on" | "true" | "t" | "y" | "yes"
                )
            }
            _ => {
                return Err(err(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("unrecognized headline parameter: \"{k}\""),
                ))
            }
        }
    }
    let mut max_cover = (max_words.max(0) as usize * 10).max(100);
    if max_fragments > 0 {
        max_cover *= max_fragments as usize;
    }
    if !highlightall {
        let bad = |m: &str| err(sqlstate::INVALID_PARAMETER_VALUE, m.to_string());
        if min_words >= max_words {
            return Err(bad("MinWords should be less than MaxWords"));
        }
        if min_words <= 0 {
            return Err(bad("MinWords should be positive"));
        }
        if shortword < 0 {
            return Err(bad("ShortWord should be >= 0"));
        }
        if max_fragments < 0 {
            return Err(bad("MaxFragments should be >= 0"));
        }
    }
    let empty = QNode::Stop;
    let nq = q.map(|q| numbered(q, &mut 0));
    let mut h = Headline {
        w: words,
        q: nq.as_ref().unwrap_or(&empty),
        shortword: shortword.max(0) as usize,
    };
    if max_fragments == 0 {
        h.mark_words(highlightall, min_words, max_words, max_cover);
    } else {
        h.mark_fragments(highlightall, min_words, max_words, max_fragments, max_cover);
    }
    // generateHeadline
    let mut out = String::new();
    let mut infrag = false;
    let mut nfrag = 0;
    for w in &h.w {
        if w.inside && !w.repeated {
            if !infrag {
                infrag = true;
                nfrag += 1;
                if nfrag > 1 {
                    out.push_str(&fragdelim);
                }
            }
            if w.replace {
                out.push(' ');
            } else if !w.skip {
                if w.selected {
                    out.push_str(&startsel);
                }
                out.push_str(&w.text);
                if w.selected {
                    out.push_str(&stopsel);
                }
            }
        } else if !w.repeated {
            infrag = false;
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------
// ts_rewrite (tsquery_rewrite.c over QTNode trees).

/// An n-ary query node (QTNode): AND/OR chains flattened, children
/// sorted by QTNodeCompare so that subsets can be matched.
#[derive(Debug, Clone)]
enum Qtn {
    Val {
        word: String,
        weight: u8,
        prefix: bool,
        crc: i32,
    },
    /// `op`: 1 NOT, 2 AND, 3 OR, 4 PHRASE (PostgreSQL's codes, whose order
    /// sorting uses); child 0 is the right operand.
    Opr {
        op: u8,
        dist: u16,
        child: Vec<Qtn>,
        nochange: bool,
    },
}

fn to_qtn(n: &QNode) -> Qtn {
    match n {
        QNode::Val {
            word,
            weight,
            prefix,
        } => Qtn::Val {
            word: word.clone(),
            weight: *weight,
            prefix: *prefix,
            crc: legacy_crc32(word.as_bytes()) as i32,
        },
        QNode::Stop => Qtn::Opr {
            op: 2,
            dist: 0,
            child: Vec::new(),
            nochange: false,
        },
        QNode::Not(c) => Qtn::Opr {
            op: 1,
            dist: 0,
            child: vec![to_qtn(c)],
            nochange: false,
        },
        QNode::Op(op, l, r) => {
            let (code, dist) = match op {
                QOp::And => (2, 0),
                QOp::Or => (3, 0),
                QOp::Phrase(d) => (4, *d),
            };
            Qtn::Opr {
                op: code,
                dist,
                child: vec![to_qtn(r), to_qtn(l)],
                nochange: false,
            }
        }
    }
}

fn qtn_cmp(a: &Qtn, b: &Qtn) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (Qtn::Opr { .. }, Qtn::Val { .. }) => Less,
        (Qtn::Val { .. }, Qtn::Opr { .. }) => Greater,
        (
            Qtn::Opr {
                op: oa,
                dist: da,
                child: ca,
                ..
            },
            Qtn::Opr {
                op: ob,
                dist: db,
                child: cb,
                ..
            },
        ) => {
            if oa != ob {
                return ob.cmp(oa);
            }
            if ca.len() != cb.len() {
                return cb.len().cmp(&ca.len());
            }
            for (x, y) in ca.iter().zip(cb) {
                let o = qtn_cmp(x, y);
                if o.is_ne() {
                    return o;
                }
            }
            if *oa == 4 && da != db {
                return db.cmp(da);
            }
            Equal
        }
        (
            Qtn::Val {
                word: wa, crc: xa, ..
            },
            Qtn::Val {
                word: wb, crc: xb, ..
            },
        ) => {
            if xa != xb {
                return xb.cmp(xa);
            }
            wa.as_bytes().cmp(wb.as_bytes())
        }
    }
}

/// QTNTernary: flatten nested AND and OR chains.
fn qtn_ternary(n: &mut Qtn) {
    let Qtn::Opr { op, child, .. } = n else {
        return;
    };
    for c in child.iter_mut() {
        qtn_ternary(c);
    }
    if *op != 2 && *op != 3 {
        return;
    }
    let mut out = Vec::with_capacity(child.len());
    for c in std::mem::take(child) {
        match c {
            Qtn::Opr {
                op: cop, child: cc, ..
            } if cop == *op => out.extend(cc),
            other => out.push(other),
        }
    }
    *child = out;
}

/// QTNSort: children in QTNodeCompare order, except under a phrase.
fn qtn_sort(n: &mut Qtn) {
    let Qtn::Opr { op, child, .. } = n else {
        return;
    };
    for c in child.iter_mut() {
        qtn_sort(c);
    }
    if child.len() > 1 && *op != 4 {
        child.sort_by(qtn_cmp);
    }
}

fn mark_nochange(mut n: Qtn) -> Qtn {
    if let Qtn::Opr { nochange, .. } = &mut n {
        *nochange = true;
    }
    n
}

/// findeq: the node replaced by `subs` when it equals `ex`, or with the
/// children matching `ex`'s (for AND/OR) replaced.
fn qtn_findeq(node: Qtn, ex: &Qtn, subs: Option<&Qtn>, found: &mut bool) -> Option<Qtn> {
    match (&node, ex) {
        (
            Qtn::Opr {
                op,
                child,
                nochange,
                ..
            },
            Qtn::Opr {
                op: eop,
                child: echild,
                ..
            },
        ) => {
            if *nochange || op != eop {
                return Some(node);
            }
            if child.len() == echild.len() {
                if qtn_cmp(&node, ex).is_eq() {
                    *found = true;
                    return subs.cloned().map(mark_nochange);
                }
                return Some(node);
            }
            if child.len() > echild.len() && !echild.is_empty() {
                let mut matched = vec![false; child.len()];
                let (mut i, mut j, mut n) = (0, 0, 0);
                while i < child.len() && j < echild.len() {
                    match qtn_cmp(&child[i], &echild[j]) {
                        std::cmp::Ordering::Equal => {
                            matched[i] = true;
                            n += 1;
                            i += 1;
                            j += 1;
                        }
                        std::cmp::Ordering::Less => i += 1,
                        std::cmp::Ordering::Greater => break,
                    }
                }
                if n == echild.len() {
                    let Qtn::Opr {
                        op, dist, child, ..
                    } = node
                    else {
                        return None;
                    };
                    let mut kept: Vec<Qtn> = child
                        .into_iter()
                        .zip(matched)
                        .filter(|(_, m)| !m)
                        .map(|(c, _)| c)
                        .collect();
                    if let Some(s) = subs {
                        kept.push(mark_nochange(s.clone()));
                    }
                    let mut out = Qtn::Opr {
                        op,
                        dist,
                        child: kept,
                        nochange: false,
                    };
                    qtn_sort(&mut out);
                    *found = true;
                    return Some(out);
                }
            }
            Some(node)
        }
        (Qtn::Val { .. }, Qtn::Val { .. }) => {
            if qtn_cmp(&node, ex).is_eq() {
                *found = true;
                return subs.cloned().map(mark_nochange);
            }
            Some(node)
        }
        _ => Some(node),
    }
}

fn qtn_find(root: Qtn, ex: &Qtn, subs: Option<&Qtn>, found: &mut bool) -> Option<Qtn> {
    let root = qtn_findeq(root, ex, subs, found)?;
    match root {
        Qtn::Opr {
            op,
            dist,
            child,
            nochange: false,
        } => {
            let mut kept: Vec<Qtn> = child
                .into_iter()
                .filter_map(|c| qtn_find(c, ex, subs, found))
                .collect();
            match kept.len() {
                0 => None,
                1 if op != 1 => kept.pop(),
                _ => Some(Qtn::Opr {
                    op,
                    dist,
                    child: kept,
                    nochange: false,
                }),
            }
        }
        other => Some(other),
    }
}

/// QTNBinary and back to a tree.
fn from_qtn(n: Qtn) -> QNode {
    match n {
        Qtn::Val {
            word,
            weight,
            prefix,
            ..
        } => QNode::Val {
            word,
            weight,
            prefix,
        },
        Qtn::Opr {
            op, dist, child, ..
        } => {
            let mut child: Vec<QNode> = child.into_iter().map(from_qtn).collect();
            let qop = match op {
                2 => QOp::And,
                3 => QOp::Or,
                _ => QOp::Phrase(dist),
            };
            if op == 1 {
                return QNode::Not(Box::new(child.pop().unwrap_or(QNode::Stop)));
            }
            while child.len() > 2 {
                let c1 = child.remove(1);
                let c0 = child.remove(0);
                // child 0 is the right operand, child 1 the left.
                let nn = QNode::op(qop, c1, c0);
                let last = child.pop().unwrap_or(QNode::Stop);
                child.insert(0, nn);
                child.insert(1, last);
            }
            match child.len() {
                2 => {
                    let c1 = child.pop().unwrap_or(QNode::Stop);
                    let c0 = child.pop().unwrap_or(QNode::Stop);
                    QNode::op(qop, c1, c0)
                }
                _ => child.pop().unwrap_or(QNode::Stop),
            }
        }
    }
}

/// ts_rewrite(query, target, substitute).
pub(crate) fn rewrite(q: Option<QNode>, ex: Option<QNode>, subs: Option<QNode>) -> Option<QNode> {
    let (Some(q), Some(ex)) = (q, ex) else {
        return None;
    };
    let mut tree = to_qtn(&q);
    qtn_ternary(&mut tree);
    qtn_sort(&mut tree);
    let mut qex = to_qtn(&ex);
    qtn_ternary(&mut qex);
    qtn_sort(&mut qex);
    let subs = subs.map(|s| to_qtn(&s));
    let mut found = false;
    qtn_find(tree, &qex, subs.as_ref(), &mut found).map(from_qtn)
}
