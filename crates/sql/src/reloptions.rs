//! Storage parameters: pg_class.reloptions of tables, toast tables,
//! materialized views and indexes, pg_attribute.attoptions and
//! attstattarget of columns, as PostgreSQL 15's reloptions.c and
//! tablecmds.c check and store them.
//!
//! Why this shape:
//! - **One table of PostgreSQL 15's parameters** ([`OPTIONS`]): name,
//!   the relation kinds that take it, its type and bounds. Validation
//!   walks a stored list in order against it, so the first bad item gives
//!   PostgreSQL's error (unrecognized, out of bounds with its DETAIL,
//!   specified more than once).
//! - **Stored as written.** Like PostgreSQL, the list keeps `name=value`
//!   with the value's text as the statement spelled it (`0.2`, `off`);
//!   SET replaces items of the same name and appends, RESET removes
//!   ([`transform`] is transformRelOptions). `toast.`-prefixed items go
//!   to the table's toast relation (pg_class.reltoastrelid), which tusk
//!   has as a real pg_class row.
//! - **Read around sqlparser.** It has no grammar for `toast.x = 1`,
//!   a name without value, `RESET (...)` or `SET STATISTICS`; a CREATE
//!   TABLE/INDEX's `WITH (...)` is folded by a token rewrite into one
//!   placeholder item ([`rewrite_tokens`], decoded by [`decode`]), and
//!   ALTER TABLE/INDEX/MATERIALIZED VIEW statements made only of these
//!   subcommands are read here ([`is_alter_options`], [`parse_alter`]).
//! - **What they do in tusk:** heap `fillfactor` leaves free space on
//!   pages for inserts (the backend hands it to heapam); the rest are
//!   kept and shown (psql's \d+, pg_dump) and validated.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Word};
use tusk_common::{sqlstate, PgError, Severity};

use crate::host::Host;
use crate::types;
use crate::value::Value;

/// Relation kinds a parameter applies to (PostgreSQL's relopt_kind bits).
pub const HEAP: u16 = 1;
pub const TOAST: u16 = 2;
pub const BTREE: u16 = 4;
pub const HASH: u16 = 8;
pub const GIN: u16 = 16;
pub const GIST: u16 = 32;
pub const ATTRIBUTE: u16 = 64;
pub const TABLESPACE: u16 = 128;
pub const SPGIST: u16 = 256;
pub const VIEW: u16 = 512;
pub const BRIN: u16 = 1024;

#[derive(Debug, Clone, Copy)]
enum OptType {
    Bool,
    Int(i64, i64),
    Real(f64, f64),
    /// Accepted values (case-insensitive) and the DETAIL naming them.
    Enum(&'static [&'static str], &'static str),
}

#[derive(Debug, Clone, Copy)]
struct Opt {
    name: &'static str,
    kinds: u16,
    ty: OptType,
    /// Taken under AccessExclusiveLock (else ShareUpdateExclusiveLock).
    exclusive: bool,
}

const fn o(name: &'static str, kinds: u16, ty: OptType, exclusive: bool) -> Opt {
    Opt {
        name,
        kinds,
        ty,
        exclusive,
    }
}

const INT_MAX: i64 = i32::MAX as i64;
/// OIDs below this are the system's (catalogs and their toast tables).
const FIRST_NORMAL_OBJECT_ID: u32 = 16384;
const CLEANUP: &[&str] = &["auto", "on", "off", "true", "false", "yes", "no", "1", "0"];
const ON_OFF_AUTO: &str = "Valid values are \"on\", \"off\", and \"auto\".";

/// PostgreSQL 15's built-in parameters (reloptions.c's tables, in their
/// order: bool, int, real, enum).
static OPTIONS: &[Opt] = &[
    o("autosummarize", BRIN, OptType::Bool, true),
    o("autovacuum_enabled", HEAP | TOAST, OptType::Bool, false),
    o("user_catalog_table", HEAP, OptType::Bool, true),
    o("fastupdate", GIN, OptType::Bool, true),
    o("security_barrier", VIEW, OptType::Bool, true),
    o("security_invoker", VIEW, OptType::Bool, true),
    o("vacuum_truncate", HEAP | TOAST, OptType::Bool, false),
    o("deduplicate_items", BTREE, OptType::Bool, false),
    o("fillfactor", HEAP, OptType::Int(10, 100), false),
    o("fillfactor", BTREE, OptType::Int(10, 100), false),
    o("fillfactor", HASH, OptType::Int(10, 100), false),
    o("fillfactor", GIST, OptType::Int(10, 100), false),
    o("fillfactor", SPGIST, OptType::Int(10, 100), false),
    o(
        "autovacuum_vacuum_threshold",
        HEAP | TOAST,
        OptType::Int(0, INT_MAX),
        false,
    ),
    o(
        "autovacuum_vacuum_insert_threshold",
        HEAP | TOAST,
        OptType::Int(-1, INT_MAX),
        false,
    ),
    o(
        "autovacuum_analyze_threshold",
        HEAP,
        OptType::Int(0, INT_MAX),
        false,
    ),
    o(
        "autovacuum_vacuum_cost_limit",
        HEAP | TOAST,
        OptType::Int(1, 10000),
        false,
    ),
    o(
        "autovacuum_freeze_min_age",
        HEAP | TOAST,
        OptType::Int(0, 1_000_000_000),
        false,
    ),
    o(
        "autovacuum_multixact_freeze_min_age",
        HEAP | TOAST,
        OptType::Int(0, 1_000_000_000),
        false,
    ),
    o(
        "autovacuum_freeze_max_age",
        HEAP | TOAST,
        OptType::Int(100_000, 2_000_000_000),
        false,
    ),
    o(
        "autovacuum_multixact_freeze_max_age",
        HEAP | TOAST,
        OptType::Int(10_000, 2_000_000_000),
        false,
    ),
    o(
        "autovacuum_freeze_table_age",
        HEAP | TOAST,
        OptType::Int(0, 2_000_000_000),
        false,
    ),
    o(
        "autovacuum_multixact_freeze_table_age",
        HEAP | TOAST,
        OptType::Int(0, 2_000_000_000),
        false,
    ),
    o(
        "log_autovacuum_min_duration",
        HEAP | TOAST,
        OptType::Int(-1, INT_MAX),
        false,
    ),
    o("toast_tuple_target", HEAP, OptType::Int(128, 8160), false),
    o("pages_per_range", BRIN, OptType::Int(1, 131_072), true),
    o(
        "gin_pending_list_limit",
        GIN,
        OptType::Int(64, INT_MAX / 1024),
        true,
    ),
    o(
        "effective_io_concurrency",
        TABLESPACE,
        OptType::Int(0, 1000),
        false,
    ),
    o(
        "maintenance_io_concurrency",
        TABLESPACE,
        OptType::Int(0, 1000),
        false,
    ),
    o("parallel_workers", HEAP, OptType::Int(0, 1024), false),
    o(
        "autovacuum_vacuum_cost_delay",
        HEAP | TOAST,
        OptType::Real(0.0, 100.0),
        false,
    ),
    o(
        "autovacuum_vacuum_scale_factor",
        HEAP | TOAST,
        OptType::Real(0.0, 100.0),
        false,
    ),
    o(
        "autovacuum_vacuum_insert_scale_factor",
        HEAP | TOAST,
        OptType::Real(0.0, 100.0),
        false,
    ),
    o(
        "autovacuum_analyze_scale_factor",
        HEAP,
        OptType::Real(0.0, 100.0),
        false,
    ),
    o(
        "seq_page_cost",
        TABLESPACE,
        OptType::Real(0.0, f64::MAX),
        false,
    ),
    o(
        "random_page_cost",
        TABLESPACE,
        OptType::Real(0.0, f64::MAX),
        false,
    ),
    o(
        "n_distinct",
        ATTRIBUTE,
        OptType::Real(-1.0, f64::MAX),
        false,
    ),
    o(
        "n_distinct_inherited",
        ATTRIBUTE,
        OptType::Real(-1.0, f64::MAX),
        false,
    ),
    o(
        "vacuum_cleanup_index_scale_factor",
        BTREE,
        OptType::Real(0.0, 1e10),
        false,
    ),
    o(
        "vacuum_index_cleanup",
        HEAP | TOAST,
        OptType::Enum(CLEANUP, ON_OFF_AUTO),
        false,
    ),
    o(
        "buffering",
        GIST,
        OptType::Enum(&["auto", "on", "off"], ON_OFF_AUTO),
        true,
    ),
    o(
        "check_option",
        VIEW,
        OptType::Enum(
            &["local", "cascaded"],
            "Valid values are \"local\" and \"cascaded\".",
        ),
        true,
    ),
];

/// One `[namespace.]name [= value]` item as written (PostgreSQL's
/// DefElem): names folded as identifiers, the value's text as
/// defGetString gives it (None: no value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Def {
    pub namespace: Option<String>,
    pub name: String,
    pub value: Option<String>,
}

fn bad(msg: String) -> PgError {
    PgError::error(sqlstate::INVALID_PARAMETER_VALUE, msg)
}

/// The relation kind bit of pg_class.relkind and (for an index) its
/// access method's name; None for a relation without parameters.
pub fn kind_of(relkind: u8, amname: &str) -> Option<u16> {
    Some(match relkind {
        b'r' | b'm' => HEAP,
        b't' => TOAST,
        b'v' => VIEW,
        b'i' | b'I' => match amname {
            "btree" => BTREE,
            "hash" => HASH,
            "gist" => GIST,
            "gin" => GIN,
            "spgist" => SPGIST,
            "brin" => BRIN,
            _ => return None,
        },
        _ => return None,
    })
}

/// PostgreSQL's parse_bool: a case-insensitive prefix of true/false/yes/
/// no, on/off (two letters at least), 1 or 0.
pub fn parse_bool(v: &str) -> Option<bool> {
    let l = v.to_ascii_lowercase();
    let prefix = |w: &str| !l.is_empty() && w.starts_with(&l);
    match l.as_bytes().first()? {
        b't' if prefix("true") => Some(true),
        b'f' if prefix("false") => Some(false),
        b'y' if prefix("yes") => Some(true),
        b'n' if prefix("no") => Some(false),
        b'o' if l.len() >= 2 && "on".starts_with(&l) => Some(true),
        b'o' if l.len() >= 2 && "off".starts_with(&l) => Some(false),
        b'1' if l.len() == 1 => Some(true),
        b'0' if l.len() == 1 => Some(false),
        _ => None,
    }
}

/// strtod as guc.c's parse_real uses it: the whole text (blanks around
/// allowed) a finite or infinite number, never NaN, no overflow.
fn parse_real(v: &str) -> Option<f64> {
    let t = v.trim();
    let f: f64 = t.parse().ok()?;
    if f.is_nan() || (f.is_infinite() && !t.to_ascii_lowercase().contains("inf")) {
        return None;
    }
    Some(f)
}

/// guc.c's parse_int without units: a number rounded half to even, in
/// int4's range.
fn parse_int(v: &str) -> Option<i64> {
    let f = parse_real(v)?.round_ties_even();
    if f > i32::MAX as f64 || f < i32::MIN as f64 {
        return None;
    }
    Some(f as i64)
}

fn check_value(opt: &Opt, value: &str) -> Result<(), PgError> {
    let name = opt.name;
    match opt.ty {
        OptType::Bool => {
            if parse_bool(value).is_none() {
                return Err(bad(format!(
                    "invalid value for boolean option \"{name}\": {value}"
                )));
            }
        }
        OptType::Int(lo, hi) => {
            let n = parse_int(value).ok_or_else(|| {
                bad(format!(
                    "invalid value for integer option \"{name}\": {value}"
                ))
            })?;
            if n < lo || n > hi {
                return Err(
                    bad(format!("value {value} out of bounds for option \"{name}\""))
                        .with_detail(format!("Valid values are between \"{lo}\" and \"{hi}\".")),
                );
            }
        }
        OptType::Real(lo, hi) => {
            let f = parse_real(value).ok_or_else(|| {
                bad(format!(
                    "invalid value for floating point option \"{name}\": {value}"
                ))
            })?;
            if f < lo || f > hi {
                return Err(
                    bad(format!("value {value} out of bounds for option \"{name}\"")).with_detail(
                        format!("Valid values are between \"{lo:.6}\" and \"{hi:.6}\"."),
                    ),
                );
            }
        }
        OptType::Enum(values, detail) => {
            if !values.iter().any(|v| v.eq_ignore_ascii_case(value)) {
                return Err(
                    bad(format!("invalid value for enum option \"{name}\": {value}"))
                        .with_detail(detail),
                );
            }
        }
    }
    Ok(())
}

/// Checks a stored list (`name=value` items) for relation kind `kind`,
/// in order, as parseRelOptions does with validation on.
pub fn validate(items: &[String], kind: u16) -> Result<(), PgError> {
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        let found = item.split_once('=').and_then(|(n, v)| {
            OPTIONS
                .iter()
                .find(|o| o.kinds & kind != 0 && o.name == n)
                .map(|o| (o, v))
        });
        let Some((opt, value)) = found else {
            let name = item.split_once('=').map_or(item.as_str(), |(n, _)| n);
            return Err(bad(format!("unrecognized parameter \"{name}\"")));
        };
        if seen.contains(&opt.name) {
            return Err(bad(format!(
                "parameter \"{}\" specified more than once",
                opt.name
            )));
        }
        seen.push(opt.name);
        check_value(opt, value)?;
    }
    Ok(())
}

/// Whether any of `defs` needs AccessExclusiveLock (else
/// ShareUpdateExclusiveLock is enough), as AlterTableGetRelOptionsLockLevel.
pub fn needs_exclusive(defs: &[Def]) -> bool {
    defs.iter().any(|d| {
        OPTIONS
            .iter()
            .filter(|o| o.name == d.name)
            .any(|o| o.exclusive)
            || !OPTIONS.iter().any(|o| o.name == d.name)
    })
}

/// PostgreSQL's transformRelOptions: `old` (stored items) with the items
/// of namespace `ns` (None: no prefix) that `defs` name removed, then (not
/// for RESET) `defs` of that namespace appended. Namespaces outside
/// `valid_ns` are refused; `oids=false` is dropped where CREATE TABLE
/// accepts it.
pub fn transform(
    old: &[String],
    defs: &[Def],
    ns: Option<&str>,
    valid_ns: &[&str],
    accept_oids_off: bool,
    reset: bool,
) -> Result<Vec<String>, PgError> {
    let mut out: Vec<String> = old
        .iter()
        .filter(|item| {
            let name = item.split_once('=').map_or(item.as_str(), |(n, _)| n);
            !defs
                .iter()
                .any(|d| d.namespace.as_deref() == ns && d.name == name)
        })
        .cloned()
        .collect();
    for d in defs {
        if reset {
            if d.value.is_some() {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    "RESET must not include values for parameters",
                ));
            }
            continue;
        }
        if let Some(n) = &d.namespace {
            if !valid_ns.contains(&n.as_str()) {
                return Err(bad(format!("unrecognized parameter namespace \"{n}\"")));
            }
        }
        if d.namespace.as_deref() != ns {
            continue;
        }
        let value = d.value.clone().unwrap_or_else(|| "true".into());
        if accept_oids_off && d.namespace.is_none() && d.name == "oids" {
            match parse_bool(&value) {
                Some(false) => continue,
                Some(true) => {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "tables declared WITH OIDS are not supported",
                    ))
                }
                None => {
                    return Err(PgError::error(
                        sqlstate::SYNTAX_ERROR,
                        "oids requires a Boolean value",
                    ))
                }
            }
        }
        if d.name.contains('=') {
            return Err(bad(format!(
                "invalid option name \"{}\": must not contain \"=\"",
                d.name
            )));
        }
        out.push(format!("{}={value}", d.name));
    }
    if reset {
        // RESET still refuses a namespace nobody has.
        for d in defs {
            if let Some(n) = &d.namespace {
                if !valid_ns.contains(&n.as_str()) {
                    return Err(bad(format!("unrecognized parameter namespace \"{n}\"")));
                }
            }
        }
    }
    Ok(out)
}

/// The main relation's and the toast relation's lists of a CREATE TABLE
/// or CREATE MATERIALIZED VIEW's `WITH (...)`, validated (main first, as
/// DefineRelation then the toast table's creation do). `partitioned`:
/// PostgreSQL 15 recognizes no parameter of a partitioned table.
pub fn for_new_table(
    defs: &[Def],
    partitioned: bool,
) -> Result<(Vec<String>, Vec<String>), PgError> {
    let main = transform(&[], defs, None, &["toast"], true, false)?;
    // PostgreSQL 15 knows no parameter of a partitioned table.
    validate(&main, if partitioned { 0 } else { HEAP })?;
    let toast = transform(&[], defs, Some("toast"), &["toast"], true, false)?;
    validate(&toast, TOAST)?;
    Ok((main, toast))
}

/// A new index's list (no namespace is valid for an index).
pub fn for_new_index(defs: &[Def], amname: &str) -> Result<Vec<String>, PgError> {
    let items = transform(&[], defs, None, &[], false, false)?;
    validate(&items, kind_of(b'i', amname).unwrap_or(BTREE))?;
    Ok(items)
}

/// A relation's fillfactor from its stored list (100 when unset or bad).
pub fn fillfactor(items: &[String]) -> u8 {
    items
        .iter()
        .filter_map(|i| i.strip_prefix("fillfactor="))
        .filter_map(parse_int)
        .find(|n| (10..=100).contains(n))
        .map_or(100, |n| n as u8)
}

// ---- reading `( def, ... )` from tokens ----

fn word_text(w: &Word) -> String {
    if w.quote_style.is_some() {
        w.value.clone()
    } else {
        w.value.to_lowercase()
    }
}

/// Reads `( def [, ...] )` from meaningful tokens starting at `i` (the
/// `(`); the defs and the index after `)`. None when it is not such a
/// list (sqlparser then reports what is wrong).
fn read_defs(t: &[&Token], mut i: usize) -> Option<(Vec<Def>, usize)> {
    if t.get(i) != Some(&&Token::LParen) {
        return None;
    }
    i += 1;
    let mut defs = Vec::new();
    loop {
        let Token::Word(w) = t.get(i)? else {
            return None;
        };
        let mut name = word_text(w);
        let mut namespace = None;
        i += 1;
        if t.get(i) == Some(&&Token::Period) {
            let Token::Word(w2) = t.get(i + 1)? else {
                return None;
            };
            namespace = Some(name);
            name = word_text(w2);
            i += 2;
        }
        let mut value = None;
        if t.get(i) == Some(&&Token::Eq) {
            i += 1;
            let (v, next) = match t.get(i)? {
                Token::Number(n, _) => (n.clone(), i + 1),
                Token::Minus | Token::Plus => match t.get(i + 1)? {
                    Token::Number(n, _) if t[i] == &Token::Minus => (format!("-{n}"), i + 2),
                    Token::Number(n, _) => (n.clone(), i + 2),
                    _ => return None,
                },
                Token::SingleQuotedString(s) => (s.clone(), i + 1),
                Token::Word(w) => (word_text(w), i + 1),
                _ => return None,
            };
            value = Some(v);
            i = next;
        }
        defs.push(Def {
            namespace,
            name,
            value,
        });
        match t.get(i)? {
            Token::Comma => i += 1,
            Token::RParen => return Some((defs, i + 1)),
            _ => return None,
        }
    }
}

/// Reads `( def, ... )` from a token walk (view.rs's CREATE TABLE AS /
/// MATERIALIZED VIEW), PostgreSQL's syntax error at the first token
/// that does not fit.
pub(crate) fn parse_defs(p: &mut sqlparser::parser::Parser) -> Result<Vec<Def>, PgError> {
    let mut toks = Vec::new();
    let mut depth = 0;
    loop {
        let t = p.next_token().token;
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::EOF => {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    "syntax error at end of input",
                ))
            }
            _ => {}
        }
        toks.push(t);
        if depth <= 0 {
            break;
        }
    }
    let refs: Vec<&Token> = toks.iter().collect();
    match read_defs(&refs, 0) {
        // The list [`rewrite_tokens`] folded (the token walk reads the
        // rewritten tokens).
        Some((defs, _)) => match defs.as_slice() {
            [d] if d.name.starts_with(MARK) => Ok(decode(&d.name).unwrap_or_default()),
            _ => Ok(defs),
        },
        None => Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!(
                "syntax error at or near \"{}\"",
                toks.first().map(|t| t.to_string()).unwrap_or_default()
            ),
        )),
    }
}

/// The placeholder that carries a `WITH (...)` list through sqlparser.
const MARK: &str = "\u{1}RELOPT\u{1}";

fn encode(defs: &[Def]) -> String {
    let mut s = MARK.to_string();
    for d in defs {
        s.push_str(d.namespace.as_deref().unwrap_or(""));
        s.push('\u{2}');
        s.push_str(&d.name);
        s.push('\u{2}');
        match &d.value {
            Some(v) => {
                s.push('v');
                s.push_str(v);
            }
            None => s.push('n'),
        }
        s.push('\u{3}');
    }
    s
}

/// The defs a placeholder name carries (None: not a placeholder).
pub fn decode(name: &str) -> Option<Vec<Def>> {
    let rest = name.strip_prefix(MARK)?;
    let mut out = Vec::new();
    for item in rest.split('\u{3}').filter(|s| !s.is_empty()) {
        let mut parts = item.splitn(3, '\u{2}');
        let ns = parts.next()?;
        let name = parts.next()?.to_string();
        let v = parts.next()?;
        out.push(Def {
            namespace: (!ns.is_empty()).then(|| ns.to_string()),
            name,
            value: v.strip_prefix('v').map(str::to_string),
        });
    }
    Some(out)
}

/// The defs of a CREATE TABLE's `WITH` options, if they are the
/// placeholder [`rewrite_tokens`] made.
pub fn from_sql_options(list: &[sqlparser::ast::SqlOption]) -> Option<Vec<Def>> {
    match list {
        [sqlparser::ast::SqlOption::KeyValue { key, .. }] => decode(&key.value),
        _ => None,
    }
}

/// The defs of a CREATE INDEX's `WITH` expressions, if they are the
/// placeholder.
pub fn from_index_with(list: &[sqlparser::ast::Expr]) -> Option<Vec<Def>> {
    use sqlparser::ast::Expr;
    match list {
        [Expr::BinaryOp { left, .. }] => match left.as_ref() {
            Expr::Identifier(i) => decode(&i.value),
            _ => None,
        },
        _ => None,
    }
}

fn is_kw(t: &Token, k: Keyword) -> bool {
    matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none())
}

/// Folds the `WITH (...)` storage parameters of CREATE TABLE and CREATE
/// INDEX into one placeholder item `"<MARK>..." = 0` that sqlparser
/// accepts; [`decode`] gives the items back. The WITH taken is the first
/// at bracket depth 0 followed by a parameter list.
pub(crate) fn rewrite_tokens(toks: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    // Every statement passes here; only CREATE ... WITH can be rewritten.
    if !crate::sequence::has_keyword(&toks, Keyword::CREATE)
        || !crate::sequence::has_keyword(&toks, Keyword::WITH)
    {
        return toks;
    }
    let mean: Vec<usize> = (0..toks.len())
        .filter(|&i| !matches!(toks[i].token, Token::Whitespace(_)))
        .collect();
    let mut replace: Vec<(usize, usize, Vec<Def>)> = Vec::new();
    let mut k = 0;
    while k < mean.len() {
        let start = k;
        while k < mean.len() && toks[mean[k]].token != Token::SemiColon {
            k += 1;
        }
        let m = &mean[start..k];
        let t: Vec<&Token> = m.iter().map(|&i| &toks[i].token).collect();
        // CREATE [GLOBAL|LOCAL] [TEMP|TEMPORARY|UNLOGGED] TABLE, CREATE
        // [UNIQUE] INDEX: not views, whose WITH list view.rs reads.
        let head = t.iter().skip(1).find(|w| {
            ![
                Keyword::GLOBAL,
                Keyword::LOCAL,
                Keyword::TEMP,
                Keyword::TEMPORARY,
                Keyword::UNLOGGED,
                Keyword::UNIQUE,
            ]
            .iter()
            .any(|k| is_kw(w, *k))
        });
        let creates = t.first().is_some_and(|f| is_kw(f, Keyword::CREATE))
            && head.is_some_and(|w| is_kw(w, Keyword::TABLE) || is_kw(w, Keyword::INDEX));
        if creates {
            let mut depth = 0i32;
            for j in 0..t.len() {
                match t[j] {
                    Token::LParen => depth += 1,
                    Token::RParen => depth -= 1,
                    _ if depth == 0 && is_kw(t[j], Keyword::WITH) => {
                        if let Some((defs, end)) = read_defs(&t, j + 1) {
                            // From the `(` through the `)`.
                            replace.push((m[j + 1], m[end - 1] + 1, defs));
                        }
                        break;
                    }
                    // AS SELECT ...: its WITH is a query's.
                    _ if depth == 0 && is_kw(t[j], Keyword::AS) => break,
                    _ => {}
                }
            }
        }
        k += 1;
    }
    if replace.is_empty() {
        return toks;
    }
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    for (from, to, defs) in replace {
        out.extend_from_slice(&toks[i..from]);
        let span = toks[from].span;
        let mk = |token: Token| TokenWithSpan { token, span };
        out.push(mk(Token::LParen));
        out.push(mk(Token::Word(Word {
            value: encode(&defs),
            quote_style: Some('"'),
            keyword: Keyword::NoKeyword,
        })));
        out.push(mk(Token::Eq));
        out.push(mk(Token::Number("0".into(), false)));
        out.push(mk(Token::RParen));
        i = to;
    }
    out.extend_from_slice(&toks[i..]);
    out
}

// ---- ALTER TABLE / INDEX / MATERIALIZED VIEW ... SET / RESET ----

/// One subcommand this module carries out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sub {
    /// SET (...) / RESET (...) of the relation's parameters.
    Rel { defs: Vec<Def>, reset: bool },
    /// ALTER [COLUMN] c SET STATISTICS n (`column`: a name, or an
    /// index column's number).
    Statistics { column: ColRef, target: i64 },
    /// ALTER [COLUMN] c SET STORAGE s (the word as written, folded).
    Storage { column: ColRef, storage: String },
    /// ALTER [COLUMN] c SET (...) / RESET (...).
    Attr {
        column: ColRef,
        defs: Vec<Def>,
        reset: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColRef {
    Name(String),
    Number(i64),
}

/// A bound ALTER ... SET/RESET statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterOptions {
    /// "TABLE", "INDEX" or "MATERIALIZED VIEW" (the statement's tag).
    pub what: &'static str,
    /// The relation's name as regclass input (quoted as needed).
    pub name: String,
    pub if_exists: bool,
    pub only: bool,
    pub subs: Vec<Sub>,
}

fn meaningful(sql: &str) -> Option<Vec<Token>> {
    let toks = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().ok()?;
    Some(
        toks.into_iter()
            .filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF))
            .filter(|t| *t != Token::SemiColon)
            .collect(),
    )
}

fn upper(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

/// Reads one subcommand at `i`; the subcommand and the index after it.
fn read_sub(t: &[&Token], i: usize) -> Option<(Sub, usize)> {
    match upper(t.get(i)?)?.as_str() {
        // A no-op PostgreSQL keeps for old dumps.
        "SET"
            if upper(t.get(i + 1)?).as_deref() == Some("WITHOUT")
                && upper(t.get(i + 2)?).as_deref() == Some("OIDS") =>
        {
            Some((
                Sub::Rel {
                    defs: Vec::new(),
                    reset: false,
                },
                i + 3,
            ))
        }
        w @ ("SET" | "RESET") => {
            let (defs, end) = read_defs(t, i + 1)?;
            Some((
                Sub::Rel {
                    defs,
                    reset: w == "RESET",
                },
                end,
            ))
        }
        "ALTER" => {
            let mut j = i + 1;
            if upper(t.get(j)?).as_deref() == Some("COLUMN") {
                j += 1;
            }
            let column = match t.get(j)? {
                Token::Word(w) => ColRef::Name(word_text(w)),
                Token::Number(n, _) => ColRef::Number(n.parse().ok()?),
                _ => return None,
            };
            j += 1;
            match upper(t.get(j)?)?.as_str() {
                // Only SET STATISTICS takes a column number.
                _ if matches!(column, ColRef::Number(_))
                    && upper(t.get(j + 1)?).as_deref() != Some("STATISTICS") =>
                {
                    None
                }
                "SET" if upper(t.get(j + 1)?).as_deref() == Some("STORAGE") => {
                    let Token::Word(w) = t.get(j + 2)? else {
                        return None;
                    };
                    Some((
                        Sub::Storage {
                            column,
                            storage: word_text(w),
                        },
                        j + 3,
                    ))
                }
                "SET" if upper(t.get(j + 1)?).as_deref() == Some("STATISTICS") => {
                    let (neg, k) = match t.get(j + 2)? {
                        Token::Minus => (true, j + 3),
                        Token::Plus => (false, j + 3),
                        _ => (false, j + 2),
                    };
                    let Token::Number(n, _) = t.get(k)? else {
                        return None;
                    };
                    let n: i64 = n.parse().ok()?;
                    Some((
                        Sub::Statistics {
                            column,
                            target: if neg { -n } else { n },
                        },
                        k + 1,
                    ))
                }
                w @ ("SET" | "RESET") => {
                    let (defs, end) = read_defs(t, j + 1)?;
                    Some((
                        Sub::Attr {
                            column,
                            defs,
                            reset: w == "RESET",
                        },
                        end,
                    ))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Reads `ALTER TABLE|INDEX|MATERIALIZED VIEW [IF EXISTS] [ONLY] name
/// sub [, sub ...]` when every subcommand is one of [`Sub`]'s.
pub fn parse_alter(sql: &str) -> Option<AlterOptions> {
    let toks = meaningful(sql)?;
    parse_alter_tokens(&toks.iter().collect::<Vec<_>>())
}

fn parse_alter_tokens(t: &[&Token]) -> Option<AlterOptions> {
    if upper(t.first()?).as_deref() != Some("ALTER") {
        return None;
    }
    let (what, mut i) = match upper(t.get(1)?)?.as_str() {
        "TABLE" => ("TABLE", 2),
        "INDEX" => ("INDEX", 2),
        "MATERIALIZED" if upper(t.get(2)?).as_deref() == Some("VIEW") => ("MATERIALIZED VIEW", 3),
        _ => return None,
    };
    let mut if_exists = false;
    if upper(t.get(i)?).as_deref() == Some("IF")
        && upper(t.get(i + 1)?).as_deref() == Some("EXISTS")
    {
        if_exists = true;
        i += 2;
    }
    let mut only = false;
    if upper(t.get(i)?).as_deref() == Some("ONLY") {
        only = true;
        i += 1;
    }
    let mut parts = Vec::new();
    loop {
        let Token::Word(w) = t.get(i)? else {
            return None;
        };
        parts.push(crate::utility::quote_identifier(&word_text(w)));
        i += 1;
        if t.get(i) == Some(&&Token::Period) {
            i += 1;
            continue;
        }
        break;
    }
    if t.get(i) == Some(&&Token::Mul) {
        i += 1;
    }
    let mut subs = Vec::new();
    loop {
        let (s, next) = read_sub(t, i)?;
        subs.push(s);
        i = next;
        match t.get(i) {
            None => break,
            Some(Token::Comma) => i += 1,
            Some(_) => return None,
        }
    }
    Some(AlterOptions {
        what,
        name: parts.join("."),
        if_exists,
        only,
        subs,
    })
}

/// Whether the statement's tokens are one [`parse_alter`] reads (checked
/// on the leading words first: cheap for every other statement).
pub(crate) fn is_alter_options(words: &[&str], tokens: &[TokenWithSpan]) -> bool {
    if !matches!(
        words,
        ["ALTER", "TABLE" | "INDEX", ..] | ["ALTER", "MATERIALIZED", "VIEW", ..]
    ) {
        return false;
    }
    let t: Vec<&Token> = tokens
        .iter()
        .map(|t| &t.token)
        .filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF | Token::SemiColon))
        .collect();
    parse_alter_tokens(&t).is_some()
}

// ---- carrying it out ----

struct Target {
    oid: u32,
    relkind: u8,
    amname: String,
    toast: u32,
    options: Vec<String>,
    owner: u32,
    relname: String,
    nspname: String,
}

fn text_items(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.items.iter().filter_map(crate::value::to_text).collect(),
        _ => Vec::new(),
    }
}

fn target(host: &mut dyn Host, oid: u32) -> Result<Option<Target>, PgError> {
    let rows = crate::sysinfo::query(
        host,
        "SELECT c.relkind::text, coalesce(a.amname::text, ''), c.reltoastrelid, c.reloptions, \
         c.relowner, c.relname::text, n.nspname::text \
         FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_am a ON a.oid = c.relam \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    let Some(r) = rows.into_iter().next() else {
        return Ok(None);
    };
    let text = |v: &Value| crate::value::to_text(v).unwrap_or_default();
    let oid_v = |v: &Value| match v {
        Value::Oid(o) => *o,
        _ => 0,
    };
    Ok(Some(Target {
        oid,
        relkind: text(&r[0]).bytes().next().unwrap_or(b'r'),
        amname: text(&r[1]),
        toast: oid_v(&r[2]),
        options: text_items(&r[3]),
        owner: oid_v(&r[4]),
        relname: text(&r[5]),
        nspname: text(&r[6]),
    }))
}

fn check_owner(host: &dyn Host, t: &Target) -> Result<(), PgError> {
    if host.identity().is_superuser {
        return Ok(());
    }
    let roles = host.acl_roles()?;
    let Some(me) = roles.by_name(&host.identity().user).map(|r| r.oid) else {
        return Ok(());
    };
    if roles.has_privs_of(me, t.owner) {
        return Ok(());
    }
    let word = match t.relkind {
        b'i' | b'I' => "index",
        b'm' => "materialized view",
        b'v' => "view",
        b'S' => "sequence",
        b'f' => "foreign table",
        _ => "table",
    };
    Err(PgError::error(
        sqlstate::INSUFFICIENT_PRIVILEGE,
        format!("must be owner of {word} {}", t.relname),
    ))
}

fn wrong_kind(t: &Target, action: &str) -> PgError {
    let what = match t.relkind {
        b'S' => "sequences",
        b'c' => "composite types",
        b'f' => "foreign tables",
        b'v' => "views",
        b'i' | b'I' => "indexes",
        b'p' => "partitioned tables",
        _ => "this relation",
    };
    PgError::error(
        crate::catalog::codes::WRONG_OBJECT_TYPE,
        format!(
            "ALTER action {action} cannot be performed on relation \"{}\"",
            t.relname
        ),
    )
    .with_detail(format!("This operation is not supported for {what}."))
}

/// Carries out an [`AlterOptions`].
pub fn execute(host: &mut dyn Host, a: &AlterOptions) -> Result<(), PgError> {
    let oid = match crate::reg::input(host, types::REGCLASS, &a.name) {
        Ok(o) => o,
        Err(e) if a.if_exists && e.code == sqlstate::UNDEFINED_TABLE => {
            let shown = a
                .name
                .rsplit('.')
                .next()
                .unwrap_or(&a.name)
                .trim_matches('"');
            host.notice(PgError::new(
                Severity::Notice,
                sqlstate::SUCCESSFUL_COMPLETION,
                format!("relation \"{shown}\" does not exist, skipping"),
            ));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let Some(t) = target(host, oid)? else {
        return Ok(());
    };
    check_owner(&*host, &t)?;
    // The table's lock for the whole statement: ShareUpdateExclusiveLock,
    // AccessExclusiveLock when a parameter or SET STORAGE needs it
    // (AlterTableGetLockLevel). Indexes are left to their table's.
    if matches!(t.relkind, b'r' | b'p' | b'm') {
        let exclusive = a.subs.iter().any(|s| match s {
            Sub::Rel { defs, .. } => needs_exclusive(defs),
            Sub::Storage { .. } => true,
            _ => false,
        });
        host.tables()?.lock_table(
            Some(&t.nspname),
            &t.relname,
            if exclusive { 8 } else { 4 },
            false,
        )?;
    }
    if oid < FIRST_NORMAL_OBJECT_ID {
        return Err(PgError::error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("permission denied: \"{}\" is a system catalog", t.relname),
        ));
    }
    for s in &a.subs {
        match s {
            Sub::Rel { defs, reset } => set_rel(host, &t, defs, *reset)?,
            Sub::Storage { column, storage } => {
                let code = match storage.as_str() {
                    "plain" => b'p',
                    "external" => b'e',
                    "extended" => b'x',
                    "main" => b'm',
                    _ => return Err(bad(format!("invalid storage type \"{storage}\""))),
                };
                if !matches!(t.relkind, b'r' | b'p' | b'm' | b'f') {
                    return Err(wrong_kind(&t, "SET STORAGE"));
                }
                for rel in with_children(host, &t, a.only)? {
                    set_storage(host, &t, rel, column, code)?;
                }
            }
            Sub::Statistics { column, target } => {
                let targets = with_children(host, &t, a.only)?;
                for rel in targets {
                    set_statistics(host, &t, rel, column, *target)?;
                }
            }
            Sub::Attr {
                column,
                defs,
                reset,
            } => {
                let targets = with_children(host, &t, a.only)?;
                for rel in targets {
                    set_attoptions(host, &t, rel, column, defs, *reset)?;
                }
            }
        }
    }
    Ok(())
}

/// Stores a new table's lists: `main` on `oid`, `toast` on its toast
/// table when it has one (PostgreSQL drops toast parameters of a table
/// created without one).
pub fn store_new(
    host: &mut dyn Host,
    oid: u32,
    main: &[String],
    toast: &[String],
) -> Result<(), PgError> {
    if !main.is_empty() {
        host.tables()?.set_reloptions(oid, main)?;
    }
    if !toast.is_empty() {
        if let Some(t) = target(host, oid)? {
            if t.toast != 0 {
                host.tables()?.set_reloptions(t.toast, toast)?;
            }
        }
    }
    Ok(())
}

/// `t` and (without ONLY) the tables inheriting from it, all levels:
/// column settings recurse as ATSimpleRecursion does.
fn with_children(host: &mut dyn Host, t: &Target, only: bool) -> Result<Vec<u32>, PgError> {
    let mut out = vec![t.oid];
    if only || !matches!(t.relkind, b'r' | b'p') {
        return Ok(out);
    }
    let mut i = 0;
    while i < out.len() {
        let rows = crate::sysinfo::query(
            host,
            "SELECT inhrelid FROM pg_catalog.pg_inherits WHERE inhparent = $1",
            &[types::OID],
            vec![Value::Oid(out[i])],
        )?;
        for r in rows {
            if let Value::Oid(o) = r[0] {
                if !out.contains(&o) {
                    out.push(o);
                }
            }
        }
        i += 1;
    }
    Ok(out)
}

fn set_rel(host: &mut dyn Host, t: &Target, defs: &[Def], reset: bool) -> Result<(), PgError> {
    let action = if reset { "RESET" } else { "SET" };
    // ATExecSetRelOptions accepts the toast namespace whatever the
    // relation (an index's `toast.x` items go nowhere).
    let valid_ns: &[&str] = &["toast"];
    let kind: u16 = match t.relkind {
        b'r' | b'm' => HEAP,
        // PostgreSQL 15 knows no parameter of a partitioned table.
        b'p' => 0,
        b't' => TOAST,
        b'v' => VIEW,
        b'i' | b'I' => match kind_of(t.relkind, &t.amname) {
            Some(k) => k,
            None => return Err(wrong_kind(t, action)),
        },
        _ => return Err(wrong_kind(t, action)),
    };
    let items = transform(&t.options, defs, None, valid_ns, false, reset)?;
    validate(&items, kind)?;
    host.tables()?.set_reloptions(t.oid, &items)?;
    if t.toast != 0 && matches!(t.relkind, b'r' | b'm') {
        let Some(toast) = target(host, t.toast)? else {
            return Ok(());
        };
        let items = transform(&toast.options, defs, Some("toast"), valid_ns, false, reset)?;
        validate(&items, TOAST)?;
        host.tables()?.set_reloptions(toast.oid, &items)?;
    }
    Ok(())
}

/// The column `c` of relation `rel`: (attnum, name); PostgreSQL's errors
/// for a missing or system column.
fn column(
    host: &mut dyn Host,
    t: &Target,
    rel: u32,
    c: &ColRef,
) -> Result<(i16, String, Vec<String>), PgError> {
    let (sql, arg) = match c {
        ColRef::Name(n) => (
            "SELECT attnum::int4, attname::text, attoptions FROM pg_catalog.pg_attribute \
             WHERE attrelid = $1 AND attname = $2::text::name AND NOT attisdropped",
            Value::Text(n.clone()),
        ),
        ColRef::Number(n) => (
            "SELECT attnum::int4, attname::text, attoptions FROM pg_catalog.pg_attribute \
             WHERE attrelid = $1 AND attnum::int8 = $2::text::int8 AND NOT attisdropped",
            Value::Text(n.to_string()),
        ),
    };
    let rows = crate::sysinfo::query(
        host,
        sql,
        &[types::OID, types::TEXT],
        vec![Value::Oid(rel), arg],
    )?;
    let Some(r) = rows.into_iter().next() else {
        return Err(match c {
            ColRef::Name(n) => PgError::error(
                sqlstate::UNDEFINED_COLUMN,
                format!(
                    "column \"{n}\" of relation \"{}\" does not exist",
                    t.relname
                ),
            ),
            ColRef::Number(n) => PgError::error(
                sqlstate::UNDEFINED_COLUMN,
                format!(
                    "column number {n} of relation \"{}\" does not exist",
                    t.relname
                ),
            ),
        });
    };
    let num = match r[0] {
        Value::Int4(n) => n as i16,
        _ => 0,
    };
    let name = crate::value::to_text(&r[1]).unwrap_or_default();
    if num <= 0 {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!("cannot alter system column \"{name}\""),
        ));
    }
    Ok((num, name, text_items(&r[2])))
}

fn set_statistics(
    host: &mut dyn Host,
    t: &Target,
    rel: u32,
    c: &ColRef,
    target: i64,
) -> Result<(), PgError> {
    let is_index = matches!(t.relkind, b'i' | b'I');
    if !matches!(t.relkind, b'r' | b'p' | b'm' | b'f' | b'i' | b'I') {
        return Err(wrong_kind(t, "SET STATISTICS"));
    }
    if is_index && matches!(c, ColRef::Name(_)) {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "cannot refer to index column by name",
        )
        .with_hint("Refer to the index column by number instead."));
    }
    if !is_index && matches!(c, ColRef::Number(_)) {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "cannot refer to non-index column by number",
        ));
    }
    let mut target = target;
    if target < -1 {
        return Err(bad(format!("statistics target {target} is too low")));
    }
    if target > 10000 {
        target = 10000;
        host.notice(PgError::new(
            Severity::Warning,
            sqlstate::WARNING,
            format!("lowering statistics target to {target}"),
        ));
    }
    let (num, name, _) = column(host, t, rel, c)?;
    if is_index {
        let rows = crate::sysinfo::query(
            host,
            "SELECT (indkey::int2[])[$2::text::int4 - 1]::int4, indnkeyatts::int4 \
             FROM pg_catalog.pg_index WHERE indexrelid = $1",
            &[types::OID, types::TEXT],
            vec![Value::Oid(t.oid), Value::Text(num.to_string())],
        )?;
        if let Some(r) = rows.first() {
            let key = matches!(r[0], Value::Int4(k) if k != 0);
            let nkey = matches!(r[1], Value::Int4(n) if (num as i32) > n);
            if nkey {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "cannot alter statistics on included column \"{name}\" of index \"{}\"",
                        t.relname
                    ),
                ));
            }
            if key {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "cannot alter statistics on non-expression column \"{name}\" of index \"{}\"",
                        t.relname
                    ),
                )
                .with_hint("Alter statistics on table column instead."));
            }
        }
    }
    host.tables()?
        .set_column_options(rel, num, Some(target as i32), None)
}

/// ALTER COLUMN ... SET STORAGE: pg_attribute.attstorage (kept and shown;
/// tusk's toaster still follows the type's typstorage), refused for a
/// type that can only be stored plain (ATExecSetStorage).
fn set_storage(
    host: &mut dyn Host,
    t: &Target,
    rel: u32,
    c: &ColRef,
    code: u8,
) -> Result<(), PgError> {
    let (num, _, _) = column(host, t, rel, c)?;
    let rows = crate::sysinfo::query(
        host,
        "SELECT y.typstorage::text, pg_catalog.format_type(a.atttypid, a.atttypmod) \
         FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type y ON y.oid = a.atttypid \
         WHERE a.attrelid = $1 AND a.attnum::int4 = $2::text::int4",
        &[types::OID, types::TEXT],
        vec![Value::Oid(rel), Value::Text(num.to_string())],
    )?;
    if let Some(r) = rows.first() {
        let typstorage = crate::value::to_text(&r[0]).unwrap_or_default();
        if typstorage == "p" && code != b'p' {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "column data type {} can only have storage PLAIN",
                    crate::value::to_text(&r[1]).unwrap_or_default()
                ),
            ));
        }
    }
    host.tables()?.set_column_storage(rel, num, code)
}

fn set_attoptions(
    host: &mut dyn Host,
    t: &Target,
    rel: u32,
    c: &ColRef,
    defs: &[Def],
    reset: bool,
) -> Result<(), PgError> {
    if !matches!(t.relkind, b'r' | b'p' | b'm' | b'f' | b'v') {
        return Err(wrong_kind(t, if reset { "RESET" } else { "SET" }));
    }
    let (num, _, old) = column(host, t, rel, c)?;
    let items = transform(&old, defs, None, &[], false, reset)?;
    validate(&items, ATTRIBUTE)?;
    host.tables()?
        .set_column_options(rel, num, None, Some(&items))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs(sql: &str) -> Vec<Def> {
        let toks = meaningful(sql).unwrap();
        let t: Vec<&Token> = toks.iter().collect();
        read_defs(&t, 0).unwrap().0
    }

    #[test]
    fn lists_are_read_as_postgresql_names_them() {
        let d = defs("(FiLLFaCToR=30, toast.autovacuum_enabled, x = 'S', y=-1.5, z = ON)");
        let items = transform(&[], &d, None, &["toast"], false, false).unwrap();
        assert_eq!(items, ["fillfactor=30", "x=S", "y=-1.5", "z=on"]);
        let toast = transform(&[], &d, Some("toast"), &["toast"], false, false).unwrap();
        assert_eq!(toast, ["autovacuum_enabled=true"]);
        let enc = encode(&d);
        assert_eq!(decode(&enc).unwrap(), d);
    }

    #[test]
    fn validation_follows_postgresql() {
        let err = |items: &[&str], k| {
            let v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
            validate(&v, k).unwrap_err()
        };
        let e = err(&["fillfactor=2"], HEAP);
        assert_eq!(e.message, "value 2 out of bounds for option \"fillfactor\"");
        assert_eq!(
            e.detail.as_deref(),
            Some("Valid values are between \"10\" and \"100\".")
        );
        let e = err(&["autovacuum_analyze_scale_factor=-10.0"], HEAP);
        assert_eq!(
            e.detail.as_deref(),
            Some("Valid values are between \"0.000000\" and \"100.000000\".")
        );
        assert_eq!(
            err(&["fillfactor=30", "fillfactor=40"], HEAP).message,
            "parameter \"fillfactor\" specified more than once"
        );
        assert_eq!(
            err(&["fillfactor=true"], HEAP).message,
            "invalid value for integer option \"fillfactor\": true"
        );
        assert_eq!(
            err(&["autovacuum_enabled=12"], HEAP).message,
            "invalid value for boolean option \"autovacuum_enabled\": 12"
        );
        assert_eq!(
            err(&["fillfactor=30"], TOAST).message,
            "unrecognized parameter \"fillfactor\""
        );
        assert!(validate(&["vacuum_index_cleanup=AUTO".into()], HEAP).is_ok());
        assert!(validate(&["fillfactor=30.4".into()], BTREE).is_ok());
        assert_eq!(fillfactor(&["fillfactor=50".into()]), 50);
    }

    #[test]
    fn set_and_reset_merge_as_transform_rel_options() {
        let old: Vec<String> = ["fillfactor=30", "autovacuum_enabled=false", "a=0.2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let d = defs("(fillfactor=31, a = 0.3)");
        let items = transform(&old, &d, None, &[], false, false).unwrap();
        assert_eq!(
            items,
            ["autovacuum_enabled=false", "fillfactor=31", "a=0.3"]
        );
        let e = transform(&old, &defs("(fillfactor=12)"), None, &[], false, true).unwrap_err();
        assert_eq!(e.message, "RESET must not include values for parameters");
        let items = transform(&old, &defs("(fillfactor, a)"), None, &[], false, true).unwrap();
        assert_eq!(items, ["autovacuum_enabled=false"]);
    }

    #[test]
    fn alter_statements_are_recognised() {
        let a =
            parse_alter("ALTER TABLE IF EXISTS s.t SET (fillfactor=40), ALTER c SET STATISTICS -1")
                .unwrap();
        assert_eq!(a.name, "s.t");
        assert!(a.if_exists);
        assert_eq!(a.subs.len(), 2);
        assert!(parse_alter("ALTER TABLE t ADD COLUMN c int").is_none());
        assert!(parse_alter("ALTER TABLE t SET (a=1), ADD COLUMN c int").is_none());
        assert!(parse_alter("ALTER INDEX i ALTER COLUMN 2 SET STATISTICS 100").is_some());
    }
}
