//! Sequences in SQL: CREATE/ALTER/DROP SEQUENCE read from their tokens, PostgreSQL's option rules (init_params) as a pure function, the calls nextval/currval/lastval/setval hand to the host, and serial columns.
//!
//! Why here: sqlparser's sequence grammar lacks ALTER SEQUENCE, RESTART,
//! OWNED BY NONE and `AS type`, so parse.rs routes the three statements
//! here by their first words, as it does LOCK and COPY. The option rules
//! are pure ([`init_params`]) so that the host, which owns the catalog row
//! and the on-disk tuple (crates/server/src/backend/tables/sequence.rs),
//! applies exactly PostgreSQL's defaults and 22023 errors for CREATE and
//! ALTER alike, and unit tests check them without a server.
//!
//! Called only by the backend binding or running the statement.

use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use tusk_common::{sqlstate, PgError};
pub use tusk_storage::sequence::{SeqParams, SeqTuple};

use crate::bind::object_name_parts;
use crate::parse::{expect_word as expect, near};
use crate::parse::{peek_word, take_word as take};
use crate::types::{self, Oid};

/// A name as (schema, relation).
pub type QualName = (Option<String>, String);

/// One option of CREATE/ALTER SEQUENCE, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeqOpt {
    As(Oid),
    Increment(i64),
    /// `MINVALUE n`, or `NO MINVALUE` (None).
    MinValue(Option<i64>),
    MaxValue(Option<i64>),
    Start(i64),
    /// `RESTART [WITH n]`.
    Restart(Option<i64>),
    Cache(i64),
    Cycle(bool),
    /// `OWNED BY t.col`, or `OWNED BY NONE` (None).
    OwnedBy(Option<(Option<String>, String, String)>),
    /// Internal, with OwnedBy: the owning column is an identity column
    /// of this kind (`b'a'`/`b'd'`): pg_depend's deptype 'i' and
    /// pg_attribute.attidentity (never written by a user).
    Identity(u8),
}

/// A sequence statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeqStmt {
    Create {
        name: QualName,
        if_not_exists: bool,
        opts: Vec<SeqOpt>,
    },
    Alter {
        name: QualName,
        if_exists: bool,
        opts: Vec<SeqOpt>,
    },
    Rename {
        name: QualName,
        if_exists: bool,
        to: String,
    },
    Drop {
        names: Vec<QualName>,
        if_exists: bool,
        cascade: bool,
    },
}

impl SeqStmt {
    pub fn tag(&self) -> &'static str {
        match self {
            SeqStmt::Create { .. } => "CREATE SEQUENCE",
            SeqStmt::Alter { .. } | SeqStmt::Rename { .. } => "ALTER SEQUENCE",
            SeqStmt::Drop { .. } => "DROP SEQUENCE",
        }
    }
}

/// What a sequence function asks the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeqCall {
    Nextval(String),
    /// An identity column's DEFAULT: nextval without the privilege check.
    IdentityNextval(String),
    Currval(String),
    Lastval,
    Setval {
        seq: String,
        value: i64,
        is_called: bool,
    },
    /// `pg_get_serial_sequence(table, column)`.
    SerialSequence {
        table: String,
        column: String,
    },
}

fn syntax(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

fn qual_name(p: &mut Parser) -> Result<QualName, PgError> {
    let n = p.parse_object_name(false).map_err(|_| near(p))?;
    let parts = object_name_parts(&n)?;
    match parts.as_slice() {
        [t] => Ok((None, t.clone())),
        [s, t] => Ok((Some(s.clone()), t.clone())),
        _ => Err(syntax(format!(
            "improper relation name (too many dotted names): {n}"
        ))),
    }
}

/// A signed integer literal (PostgreSQL's NumericOnly as int8).
fn int(p: &mut Parser) -> Result<i64, PgError> {
    let neg = if p.consume_token(&Token::Minus) {
        true
    } else {
        let _ = p.consume_token(&Token::Plus);
        false
    };
    match p.peek_token().token {
        Token::Number(s, _) => {
            p.next_token();
            let text = if neg { format!("-{s}") } else { s.clone() };
            text.parse::<i64>().map_err(|_| {
                PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("value \"{text}\" is out of range for type bigint"),
                )
            })
        }
        _ => Err(near(p)),
    }
}

/// The options after the name; `alter` allows RESTART.
fn options(p: &mut Parser, alter: bool) -> Result<Vec<SeqOpt>, PgError> {
    let mut out = Vec::new();
    while let Some(w) = peek_word(p) {
        p.next_token();
        let o = match w.as_str() {
            "AS" => {
                let dt = p.parse_data_type().map_err(|_| near(p))?;
                let ty = crate::bind::data_type_to_ty(&dt)?;
                SeqOpt::As(ty.oid)
            }
            "INCREMENT" => {
                take(p, "BY");
                SeqOpt::Increment(int(p)?)
            }
            "MINVALUE" => SeqOpt::MinValue(Some(int(p)?)),
            "MAXVALUE" => SeqOpt::MaxValue(Some(int(p)?)),
            "START" => {
                take(p, "WITH");
                SeqOpt::Start(int(p)?)
            }
            "RESTART" if alter => {
                take(p, "WITH");
                match p.peek_token().token {
                    Token::Number(..) | Token::Minus | Token::Plus => {
                        SeqOpt::Restart(Some(int(p)?))
                    }
                    _ => SeqOpt::Restart(None),
                }
            }
            "CACHE" => SeqOpt::Cache(int(p)?),
            "CYCLE" => SeqOpt::Cycle(true),
            "NO" => {
                if take(p, "MINVALUE") {
                    SeqOpt::MinValue(None)
                } else if take(p, "MAXVALUE") {
                    SeqOpt::MaxValue(None)
                } else if take(p, "CYCLE") {
                    SeqOpt::Cycle(false)
                } else {
                    return Err(near(p));
                }
            }
            "OWNED" => {
                expect(p, "BY")?;
                let n = p.parse_object_name(false).map_err(|_| near(p))?;
                let parts = object_name_parts(&n)?;
                SeqOpt::OwnedBy(match parts.as_slice() {
                    [none] if none == "none" => None,
                    [t, c] => Some((None, t.clone(), c.clone())),
                    [s, t, c] => Some((Some(s.clone()), t.clone(), c.clone())),
                    _ => {
                        return Err(PgError::error(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            "invalid OWNED BY option",
                        )
                        .with_hint("Specify OWNED BY table.column or OWNED BY NONE."))
                    }
                })
            }
            _ => {
                return Err(syntax(format!(
                    "syntax error at or near \"{}\"",
                    w.to_lowercase()
                )))
            }
        };
        out.push(o);
    }
    if p.peek_token().token != Token::EOF {
        return Err(near(p));
    }
    Ok(out)
}

/// Is this statement's start one of ours (parse.rs's pre-dispatch)?
pub(crate) fn is_sequence_statement(words: &[&str]) -> bool {
    matches!(
        words,
        ["CREATE", "SEQUENCE", ..]
            | ["CREATE", "TEMP" | "TEMPORARY" | "UNLOGGED", "SEQUENCE", ..]
            | ["ALTER", "SEQUENCE", ..]
            | ["DROP", "SEQUENCE", ..]
    )
}

/// Reads CREATE/ALTER/DROP SEQUENCE.
pub(crate) fn parse(sql: &str) -> Result<SeqStmt, PgError> {
    let dialect = PostgreSqlDialect {};
    let mut p = Parser::new(&dialect)
        .try_with_sql(sql)
        .map_err(|e| syntax(e.to_string()))?;
    if take(&mut p, "CREATE") {
        let temp = take(&mut p, "TEMP") || take(&mut p, "TEMPORARY");
        take(&mut p, "UNLOGGED");
        expect(&mut p, "SEQUENCE")?;
        let mut if_not_exists = false;
        if take(&mut p, "IF") {
            expect(&mut p, "NOT")?;
            expect(&mut p, "EXISTS")?;
            if_not_exists = true;
        }
        let mut name = qual_name(&mut p)?;
        // A temporary sequence lives in the session's temporary schema.
        name.0 = crate::view::temp_schema(name.0, temp)?;
        let opts = options(&mut p, false)?;
        return Ok(SeqStmt::Create {
            name,
            if_not_exists,
            opts,
        });
    }
    if take(&mut p, "ALTER") {
        expect(&mut p, "SEQUENCE")?;
        let mut if_exists = false;
        if take(&mut p, "IF") {
            expect(&mut p, "EXISTS")?;
            if_exists = true;
        }
        let name = qual_name(&mut p)?;
        if take(&mut p, "RENAME") {
            expect(&mut p, "TO")?;
            let to = p.parse_identifier().map_err(|_| near(&mut p))?;
            if p.peek_token().token != Token::EOF {
                return Err(near(&mut p));
            }
            return Ok(SeqStmt::Rename {
                name,
                if_exists,
                to: crate::bind::ident_name(&to),
            });
        }
        if peek_word(&mut p).as_deref() == Some("OWNER")
            || peek_word(&mut p).as_deref() == Some("SET")
        {
            return Err(crate::bind::not_supported(
                "ALTER SEQUENCE ... OWNER TO / SET",
            ));
        }
        let opts = options(&mut p, true)?;
        return Ok(SeqStmt::Alter {
            name,
            if_exists,
            opts,
        });
    }
    expect(&mut p, "DROP")?;
    expect(&mut p, "SEQUENCE")?;
    let mut if_exists = false;
    if take(&mut p, "IF") {
        expect(&mut p, "EXISTS")?;
        if_exists = true;
    }
    let mut names = vec![qual_name(&mut p)?];
    while p.consume_token(&Token::Comma) {
        names.push(qual_name(&mut p)?);
    }
    let cascade = take(&mut p, "CASCADE");
    if !cascade {
        take(&mut p, "RESTRICT");
    }
    if p.peek_token().token != Token::EOF {
        return Err(near(&mut p));
    }
    Ok(SeqStmt::Drop {
        names,
        if_exists,
        cascade,
    })
}

fn bad(msg: String) -> PgError {
    PgError::error(sqlstate::INVALID_PARAMETER_VALUE, msg)
}

/// The range of a sequence type.
pub fn type_range(ty: Oid) -> (i64, i64) {
    match ty {
        types::INT2 => (i16::MIN as i64, i16::MAX as i64),
        types::INT4 => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    }
}

fn type_name(ty: Oid) -> &'static str {
    match ty {
        types::INT2 => "smallint",
        types::INT4 => "integer",
        _ => "bigint",
    }
}

/// The result of applying options: the type, the parameters, the tuple
/// to store when it changes (creation, RESTART), and OWNED BY when given
/// (`Some(None)` = NONE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub typid: Oid,
    pub params: SeqParams,
    pub tuple: Option<SeqTuple>,
    pub owned_by: Option<Option<(Option<String>, String, String)>>,
}

/// PostgreSQL's init_params: `old` is the current (type, parameters,
/// tuple) for ALTER, `None` for CREATE. 42601 for an option given twice,
/// 22023 for values PostgreSQL refuses, with its texts.
pub fn init_params(
    old: Option<(Oid, SeqParams, SeqTuple)>,
    opts: &[SeqOpt],
) -> Result<Applied, PgError> {
    let is_init = old.is_none();
    // Conflicting duplicates first, as PostgreSQL's option loop.
    for (i, o) in opts.iter().enumerate() {
        if opts[..i]
            .iter()
            .any(|p| std::mem::discriminant(p) == std::mem::discriminant(o))
        {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                "conflicting or redundant options",
            ));
        }
    }
    let find = |f: fn(&SeqOpt) -> bool| opts.iter().find(|o| f(o));
    let (mut typid, mut p, mut tuple) = match old {
        Some((t, p, tu)) => (t, p, tu),
        None => (
            types::INT8,
            SeqParams {
                start: 1,
                increment: 1,
                max: i64::MAX,
                min: 1,
                cache: 1,
                cycle: false,
            },
            SeqTuple {
                last_value: 1,
                log_cnt: 0,
                is_called: false,
            },
        ),
    };
    let mut reset_max = false;
    let mut reset_min = false;
    if let Some(SeqOpt::As(t)) = find(|o| matches!(o, SeqOpt::As(_))) {
        if !matches!(*t, types::INT2 | types::INT4 | types::INT8) {
            return Err(bad(
                "sequence type must be smallint, integer, or bigint".into()
            ));
        }
        if !is_init {
            let (lo, hi) = type_range(typid);
            reset_max = p.max == hi;
            reset_min = p.min == lo;
        }
        typid = *t;
    }
    let (tmin, tmax) = type_range(typid);
    if let Some(SeqOpt::Increment(v)) = find(|o| matches!(o, SeqOpt::Increment(_))) {
        if *v == 0 {
            return Err(bad("INCREMENT must not be zero".into()));
        }
        p.increment = *v;
    } else if is_init {
        p.increment = 1;
    }
    if let Some(SeqOpt::Cycle(c)) = find(|o| matches!(o, SeqOpt::Cycle(_))) {
        p.cycle = *c;
    }
    let max_opt = find(|o| matches!(o, SeqOpt::MaxValue(_)));
    match max_opt {
        Some(SeqOpt::MaxValue(Some(v))) => p.max = *v,
        _ if is_init || max_opt.is_some() || reset_max => {
            p.max = if p.increment > 0 || reset_max {
                tmax
            } else {
                -1
            };
        }
        _ => {}
    }
    if p.max < tmin || p.max > tmax {
        return Err(bad(format!(
            "MAXVALUE ({}) is out of range for sequence data type {}",
            p.max,
            type_name(typid)
        )));
    }
    let min_opt = find(|o| matches!(o, SeqOpt::MinValue(_)));
    match min_opt {
        Some(SeqOpt::MinValue(Some(v))) => p.min = *v,
        _ if is_init || min_opt.is_some() || reset_min => {
            p.min = if p.increment < 0 || reset_min {
                tmin
            } else {
                1
            };
        }
        _ => {}
    }
    if p.min < tmin || p.min > tmax {
        return Err(bad(format!(
            "MINVALUE ({}) is out of range for sequence data type {}",
            p.min,
            type_name(typid)
        )));
    }
    if p.min >= p.max {
        return Err(bad(format!(
            "MINVALUE ({}) must be less than MAXVALUE ({})",
            p.min, p.max
        )));
    }
    if let Some(SeqOpt::Start(v)) = find(|o| matches!(o, SeqOpt::Start(_))) {
        p.start = *v;
    } else if is_init {
        p.start = if p.increment > 0 { p.min } else { p.max };
    }
    if p.start < p.min {
        return Err(bad(format!(
            "START value ({}) cannot be less than MINVALUE ({})",
            p.start, p.min
        )));
    }
    if p.start > p.max {
        return Err(bad(format!(
            "START value ({}) cannot be greater than MAXVALUE ({})",
            p.start, p.max
        )));
    }
    let mut changed_tuple = is_init;
    if let Some(SeqOpt::Restart(v)) = find(|o| matches!(o, SeqOpt::Restart(_))) {
        tuple = SeqTuple {
            last_value: v.unwrap_or(p.start),
            log_cnt: 0,
            is_called: false,
        };
        changed_tuple = true;
    } else if is_init {
        tuple = SeqTuple {
            last_value: p.start,
            log_cnt: 0,
            is_called: false,
        };
    }
    if tuple.last_value < p.min {
        return Err(bad(format!(
            "RESTART value ({}) cannot be less than MINVALUE ({})",
            tuple.last_value, p.min
        )));
    }
    if tuple.last_value > p.max {
        return Err(bad(format!(
            "RESTART value ({}) cannot be greater than MAXVALUE ({})",
            tuple.last_value, p.max
        )));
    }
    if let Some(SeqOpt::Cache(v)) = find(|o| matches!(o, SeqOpt::Cache(_))) {
        if *v <= 0 {
            return Err(bad(format!("CACHE ({v}) must be greater than zero")));
        }
        p.cache = *v;
    } else if is_init {
        p.cache = 1;
    }
    // Changed parameters invalidate the values logged ahead (PostgreSQL
    // resets log_cnt on every ALTER).
    if !is_init && !changed_tuple {
        tuple.log_cnt = 0;
        changed_tuple = true;
    }
    let owned_by = match find(|o| matches!(o, SeqOpt::OwnedBy(_))) {
        Some(SeqOpt::OwnedBy(o)) => Some(o.clone()),
        _ => None,
    };
    Ok(Applied {
        typid,
        params: p,
        tuple: changed_tuple.then_some(tuple),
        owned_by,
    })
}

/// setval's bounds check: 22003 as PostgreSQL words it.
pub fn check_setval(name: &str, p: &SeqParams, value: i64) -> Result<(), PgError> {
    if value < p.min || value > p.max {
        return Err(PgError::error(
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
            format!(
                "setval: value {value} is out of bounds for sequence \"{name}\" ({}..{})",
                p.min, p.max
            ),
        ));
    }
    Ok(())
}

/// A relation name given as text (`'s'`, `'public.s'`, `'"S"'`), as
/// PostgreSQL's textToQualifiedNameList reads it: unquoted parts are
/// lower-cased.
pub fn text_to_qualified_name(s: &str) -> Result<QualName, PgError> {
    let invalid = || PgError::error(sqlstate::INVALID_NAME, "invalid name syntax");
    let mut parts = Vec::new();
    let mut chars = s.trim().chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    Some('"') => break,
                    Some(c) => part.push(c),
                    None => return Err(invalid()),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' || c.is_whitespace() {
                    break;
                }
                part.extend(c.to_lowercase());
                chars.next();
            }
            if part.is_empty() {
                return Err(invalid());
            }
        }
        parts.push(part);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some('.') => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            Some(_) => return Err(invalid()),
        }
    }
    match parts.len() {
        1 => Ok((None, parts.pop().unwrap())),
        2 => {
            let n = parts.pop().unwrap();
            Ok((parts.pop(), n))
        }
        3 => {
            let n = parts.pop().unwrap();
            let s = parts.pop();
            Ok((s, n))
        }
        _ => Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("improper relation name (too many dotted names): {s}"),
        )),
    }
}

/// Functions whose first argument is a regclass: a `'name'::regclass`
/// literal there is read as the name (tusk has no regclass type yet; the
/// name is resolved when the function runs).
pub(crate) fn takes_regclass(func: &str) -> bool {
    matches!(func, "nextval" | "currval" | "setval")
}

/// `'name'::regclass` → `'name'`; anything else unchanged.
pub(crate) fn strip_regclass(e: &ast::Expr) -> &ast::Expr {
    if let ast::Expr::Cast {
        expr, data_type, ..
    } = e
    {
        let is_regclass = match data_type {
            ast::DataType::Regclass => true,
            ast::DataType::Custom(n, _) => n.to_string().eq_ignore_ascii_case("regclass"),
            _ => false,
        };
        if is_regclass {
            if let ast::Expr::Value(v) = expr.as_ref() {
                if matches!(v.value, ast::Value::SingleQuotedString(_)) {
                    return expr;
                }
            }
        }
    }
    e
}

/// The serial pseudo-types: the column's real type.
pub(crate) fn serial_type(name: &str) -> Option<Oid> {
    match name {
        "serial" | "serial4" => Some(types::INT4),
        "bigserial" | "serial8" => Some(types::INT8),
        "smallserial" | "serial2" => Some(types::INT2),
        _ => None,
    }
}

/// A serial column as a plain integer column (its options kept), and the
/// integer type; `None` for any other column.
pub(crate) fn serial_column(c: &ast::ColumnDef) -> Option<(ast::ColumnDef, Oid)> {
    let ast::DataType::Custom(n, mods) = &c.data_type else {
        return None;
    };
    if !mods.is_empty() {
        return None;
    }
    let ty = serial_type(&n.to_string().to_lowercase())?;
    let mut plain = c.clone();
    plain.data_type = match ty {
        types::INT2 => ast::DataType::SmallInt(None),
        types::INT4 => ast::DataType::Integer(None),
        _ => ast::DataType::BigInt(None),
    };
    Some((plain, ty))
}

/// A serial or identity column of CREATE TABLE: its sequence is made
/// before the table and owned by the column after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SerialSpec {
    pub column: String,
    pub seq: String,
    pub ty: Oid,
    /// `Some(b'a' | b'd')` for GENERATED ... AS IDENTITY.
    pub identity: Option<u8>,
    /// The identity's sequence options.
    pub opts: Vec<SeqOpt>,
}

fn option_int(e: &ast::Expr) -> Result<i64, PgError> {
    let s = e.to_string();
    s.replace(' ', "").parse::<i64>().map_err(|_| {
        PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("syntax error at or near \"{s}\""),
        )
    })
}

/// A `GENERATED {ALWAYS|BY DEFAULT} AS IDENTITY [(options)]` column as a
/// plain column (the option removed), its kind and sequence options.
pub(crate) fn identity_column(
    c: &ast::ColumnDef,
) -> Result<Option<(ast::ColumnDef, u8, Vec<SeqOpt>)>, PgError> {
    let mut found = None;
    for (i, o) in c.options.iter().enumerate() {
        if let ast::ColumnOption::Generated {
            generated_as,
            sequence_options,
            generation_expr: None,
            ..
        } = &o.option
        {
            if matches!(generated_as, ast::GeneratedAs::ExpStored) {
                continue;
            }
            let (kind, opts) = identity_spec(&Some(*generated_as), sequence_options)?;
            found = Some((i, kind, opts));
        }
    }
    let Some((i, kind, opts)) = found else {
        return Ok(None);
    };
    let mut plain = c.clone();
    plain.options.remove(i);
    Ok(Some((plain, kind, opts)))
}

/// The kind (`b'a'` ALWAYS, `b'd'` BY DEFAULT) and sequence options of
/// an identity specification.
pub(crate) fn identity_spec(
    generated_as: &Option<ast::GeneratedAs>,
    sequence_options: &Option<Vec<ast::SequenceOptions>>,
) -> Result<(u8, Vec<SeqOpt>), PgError> {
    let kind = match generated_as {
        Some(ast::GeneratedAs::ByDefault) => b'd',
        _ => b'a',
    };
    let mut opts = Vec::new();
    for so in sequence_options.iter().flatten() {
        opts.push(match so {
            ast::SequenceOptions::IncrementBy(e, _) => SeqOpt::Increment(option_int(e)?),
            ast::SequenceOptions::MinValue(e) => {
                SeqOpt::MinValue(e.as_ref().map(option_int).transpose()?)
            }
            ast::SequenceOptions::MaxValue(e) => {
                SeqOpt::MaxValue(e.as_ref().map(option_int).transpose()?)
            }
            ast::SequenceOptions::StartWith(e, _) => SeqOpt::Start(option_int(e)?),
            ast::SequenceOptions::Cache(e) => SeqOpt::Cache(option_int(e)?),
            ast::SequenceOptions::Cycle(no) => SeqOpt::Cycle(!*no),
        });
    }
    Ok((kind, opts))
}

/// ALTER TABLE ... ALTER COLUMN ... ADD GENERATED ... AS IDENTITY on
/// column `i` of `rel`: PostgreSQL's checks (55000, 22023), then the
/// sequence, the column's nextval DEFAULT and the identity ownership.
pub(crate) fn add_identity(
    host: &mut dyn crate::host::Host,
    rel: &crate::catalog::Relation,
    i: usize,
    kind: u8,
    opts: &[SeqOpt],
) -> Result<(), PgError> {
    let col = &rel.columns[i];
    let state = |m: String| PgError::error(sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE, m);
    if !matches!(col.ty.oid, types::INT2 | types::INT4 | types::INT8) {
        return Err(bad(
            "identity column type must be smallint, integer, or bigint".into(),
        ));
    }
    if !col.not_null {
        return Err(state(format!(
            "column \"{}\" of relation \"{}\" must be declared NOT NULL before identity can be added",
            col.name, rel.name
        )));
    }
    if col.identity.is_some() {
        return Err(state(format!(
            "column \"{}\" of relation \"{}\" is already an identity column",
            col.name, rel.name
        )));
    }
    if col.default.is_some() {
        return Err(state(format!(
            "column \"{}\" of relation \"{}\" already has a default value",
            col.name, rel.name
        )));
    }
    let schema = Some(rel.schema.clone());
    let spec = SerialSpec {
        column: col.name.clone(),
        seq: serial_sequence_name(&rel.name, &col.name),
        ty: col.ty.oid,
        identity: Some(kind),
        opts: opts.to_vec(),
    };
    create_serial_sequences(host, schema.as_deref(), std::slice::from_ref(&spec))?;
    host.tables()?.alter_table(
        rel,
        &crate::alter::AlterOp::SetDefault {
            column: col.name.clone(),
            default: Some(serial_default(schema.as_deref(), &spec.seq)),
        },
    )?;
    own_serial_sequences(
        host,
        schema.as_deref(),
        &rel.name,
        std::slice::from_ref(&spec),
    )
}

/// 428C9 for a value given to a GENERATED ALWAYS column (tusk has no
/// OVERRIDING SYSTEM VALUE yet).
pub(crate) fn always_identity_error(column: &str) -> PgError {
    PgError::error(
        sqlstate::SqlState::new("428C9"),
        format!("cannot insert a non-DEFAULT value into column \"{column}\""),
    )
    .with_detail(format!(
        "Column \"{column}\" is an identity column defined as GENERATED ALWAYS."
    ))
    .with_hint("Use OVERRIDING SYSTEM VALUE to override.")
}

fn overriding_at(words: &[String]) -> Option<(usize, u8)> {
    if words.first().map(String::as_str) != Some("INSERT") {
        return None;
    }
    words.windows(3).enumerate().find_map(|(i, w)| {
        match (w[0].as_str(), w[1].as_str(), w[2].as_str()) {
            ("OVERRIDING", "SYSTEM", "VALUE") => Some((i, b's')),
            ("OVERRIDING", "USER", "VALUE") => Some((i, b'u')),
            _ => None,
        }
    })
}

/// Whether an unquoted word of the statement is keyword `k`: the cheap
/// test that lets a token rewrite skip statements it cannot apply to.
pub(crate) fn has_keyword(
    tokens: &[sqlparser::tokenizer::TokenWithSpan],
    k: sqlparser::keywords::Keyword,
) -> bool {
    tokens
        .iter()
        .any(|t| matches!(&t.token, Token::Word(w) if w.keyword == k && w.quote_style.is_none()))
}

fn upper_words(tokens: &[sqlparser::tokenizer::TokenWithSpan]) -> Vec<(usize, String)> {
    tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t.token, Token::Whitespace(_)))
        .map(|(i, t)| {
            (
                i,
                match &t.token {
                    Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
                    other => other.to_string(),
                },
            )
        })
        .collect()
}

/// `INSERT ... OVERRIDING {SYSTEM|USER} VALUE`: removes the three words
/// from the tokens sqlparser reads (its grammar lacks them); the binder
/// learns the choice from the statement's text ([`overriding`]).
pub(crate) fn strip_overriding(tokens: &mut Vec<sqlparser::tokenizer::TokenWithSpan>) {
    // Every statement passes here: look for the keyword before building
    // the word list (that cost a few per cent of a simple SELECT).
    if !tokens.iter().any(|t| {
        matches!(&t.token, Token::Word(w) if w.quote_style.is_none()
            && w.value.eq_ignore_ascii_case("overriding"))
    }) {
        return;
    }
    let words = upper_words(tokens);
    let only: Vec<String> = words.iter().map(|(_, w)| w.clone()).collect();
    if let Some((i, _)) = overriding_at(&only) {
        let (from, to) = (words[i].0, words[i + 2].0);
        tokens.drain(from..=to);
    }
}

/// `AS IDENTITY (options)`: PostgreSQL takes the options in any order,
/// sqlparser only as INCREMENT, MINVALUE, MAXVALUE, START, CACHE, CYCLE;
/// the option clauses are put in its order (left alone when one is not
/// of these kinds, so sqlparser reports it).
pub(crate) fn reorder_identity_options(tokens: &mut Vec<sqlparser::tokenizer::TokenWithSpan>) {
    use sqlparser::tokenizer::{TokenWithSpan, Whitespace};
    let word = |t: &TokenWithSpan| match &t.token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    };
    if !has_keyword(tokens, sqlparser::keywords::Keyword::IDENTITY) {
        return;
    }
    let mut from = 0;
    loop {
        let sig: Vec<usize> = (from..tokens.len())
            .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
            .collect();
        let Some(k) = sig.windows(3).position(|w| {
            word(&tokens[w[0]]).as_deref() == Some("AS")
                && word(&tokens[w[1]]).as_deref() == Some("IDENTITY")
                && tokens[w[2]].token == Token::LParen
        }) else {
            return;
        };
        let open = sig[k + 2];
        let Some(close) = (open + 1..tokens.len()).find(|&i| tokens[i].token == Token::RParen)
        else {
            return;
        };
        from = close;
        let inner: Vec<TokenWithSpan> = tokens[open + 1..close]
            .iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .cloned()
            .collect();
        let mut clauses: Vec<(u8, Vec<TokenWithSpan>)> = Vec::new();
        let mut after_no = false;
        let mut ok = true;
        for t in inner {
            let w = word(&t);
            let rank = match w.as_deref() {
                _ if after_no => None,
                Some("INCREMENT") => Some(0),
                Some("MINVALUE") => Some(1),
                Some("MAXVALUE") => Some(2),
                Some("START") => Some(3),
                Some("CACHE") => Some(4),
                Some("CYCLE") => Some(5),
                Some("NO") => Some(9),
                _ => None,
            };
            if let Some(r) = rank {
                clauses.push((r, vec![t]));
                after_no = r == 9;
            } else if let Some(c) = clauses.last_mut() {
                if c.0 == 9 {
                    c.0 = match w.as_deref() {
                        Some("MINVALUE") => 1,
                        Some("MAXVALUE") => 2,
                        Some("CYCLE") => 5,
                        _ => {
                            ok = false;
                            9
                        }
                    };
                }
                after_no = false;
                c.1.push(t);
            } else {
                ok = false;
            }
        }
        if !ok || clauses.iter().any(|c| c.0 == 9) {
            continue;
        }
        clauses.sort_by_key(|c| c.0);
        let mut out = Vec::new();
        for (_, c) in clauses {
            for t in c {
                out.push(t);
                out.push(TokenWithSpan::wrap(Token::Whitespace(Whitespace::Space)));
            }
        }
        let n = out.len();
        tokens.splice(open + 1..close, out);
        from = open + 1 + n + 1;
    }
}

/// The OVERRIDING clause of an INSERT's text: `b's'` SYSTEM, `b'u'` USER.
pub(crate) fn overriding(sql: &str) -> Option<u8> {
    // Every INSERT asks; tokenizing it again was 2.6 % of a TPC-B
    // backend's CPU. Without the word there is nothing to find.
    if !sql
        .as_bytes()
        .windows(10)
        .any(|w| w.eq_ignore_ascii_case(b"overriding"))
    {
        return None;
    }
    let dialect = PostgreSqlDialect {};
    let tokens = sqlparser::tokenizer::Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .ok()?;
    let words: Vec<String> = upper_words(&tokens).into_iter().map(|(_, w)| w).collect();
    overriding_at(&words).map(|(_, k)| k)
}

/// CREATE TABLE's serial columns, before the table: one sequence each
/// (`AS` the column's type).
pub(crate) fn create_serial_sequences(
    host: &mut dyn crate::host::Host,
    schema: Option<&str>,
    serials: &[SerialSpec],
) -> Result<(), PgError> {
    for s in serials {
        let mut opts = vec![SeqOpt::As(s.ty)];
        opts.extend(s.opts.iter().cloned());
        host.tables()?.sequence_command(&SeqStmt::Create {
            name: (schema.map(str::to_string), s.seq.clone()),
            if_not_exists: false,
            opts,
        })?;
    }
    Ok(())
}

/// After the table: each serial's sequence OWNED BY its column.
pub(crate) fn own_serial_sequences(
    host: &mut dyn crate::host::Host,
    schema: Option<&str>,
    table: &str,
    serials: &[SerialSpec],
) -> Result<(), PgError> {
    for s in serials {
        let mut opts = vec![SeqOpt::OwnedBy(Some((
            schema.map(str::to_string),
            table.to_string(),
            s.column.clone(),
        )))];
        if let Some(kind) = s.identity {
            opts.push(SeqOpt::Identity(kind));
        }
        host.tables()?.sequence_command(&SeqStmt::Alter {
            name: (schema.map(str::to_string), s.seq.clone()),
            if_exists: false,
            opts,
        })?;
    }
    Ok(())
}

/// TRUNCATE ... RESTART IDENTITY: every sequence a column of these
/// tables owns starts again (ALTER SEQUENCE ... RESTART).
pub(crate) fn restart_owned(
    host: &mut dyn crate::host::Host,
    tables: &[(Option<String>, String)],
) -> Result<(), PgError> {
    for (schema, name) in tables {
        let rel = crate::catalog::lookup(&*host, schema.as_deref(), name)?;
        let qualified = format!(
            "\"{}\".\"{}\"",
            rel.schema.replace('"', "\"\""),
            rel.name.replace('"', "\"\"")
        );
        for c in &rel.columns {
            let v = host.sequence_call(SeqCall::SerialSequence {
                table: qualified.clone(),
                column: c.name.clone(),
            })?;
            if let crate::value::Value::Text(seq) = v {
                let name = text_to_qualified_name(&seq)?;
                host.tables()?.sequence_command(&SeqStmt::Alter {
                    name,
                    if_exists: false,
                    opts: vec![SeqOpt::Restart(None)],
                })?;
            }
        }
    }
    Ok(())
}

/// PostgreSQL's default name for a column's sequence: `t_col_seq`
/// (ChooseRelationName; each part cut so the whole fits 63 bytes).
pub fn serial_sequence_name(table: &str, column: &str) -> String {
    let max = 63 - "_seq".len() - 1;
    let (mut a, mut b) = (table.to_string(), column.to_string());
    while a.len() + b.len() > max {
        if a.len() > b.len() {
            a.pop();
        } else {
            b.pop();
        }
    }
    format!("{a}_{b}_seq")
}

/// The DEFAULT a serial column gets: `nextval('t_col_seq'::regclass)`,
/// the name quoted as regclass output would quote it.
pub fn serial_default(schema: Option<&str>, seq: &str) -> String {
    let q = |s: &str| {
        if s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !s.starts_with(|c: char| c.is_ascii_digit())
        {
            s.to_string()
        } else {
            format!("\"{}\"", s.replace('"', "\"\""))
        }
    };
    let name = match schema {
        Some(s) => format!("{}.{}", q(s), q(seq)),
        None => q(seq),
    };
    format!("nextval('{}'::regclass)", name.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(sql: &str) -> Result<Applied, PgError> {
        match parse(sql)? {
            SeqStmt::Create { opts, .. } => init_params(None, &opts),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_as_postgresql() {
        let a = create("CREATE SEQUENCE s").unwrap();
        assert_eq!(a.typid, types::INT8);
        assert_eq!(
            (a.params.min, a.params.max, a.params.start, a.params.cache),
            (1, i64::MAX, 1, 1)
        );
        let d = create("create sequence s increment by -2 as integer").unwrap();
        assert_eq!(
            (d.params.min, d.params.max, d.params.start),
            (i32::MIN as i64, -1, -1)
        );
        let a = create("CREATE SEQUENCE IF NOT EXISTS x.s START WITH 5 MINVALUE -3 MAXVALUE 9 CACHE 2 CYCLE OWNED BY t.c").unwrap();
        assert_eq!(a.params.start, 5);
        assert!(a.params.cycle);
        assert_eq!(a.owned_by, Some(Some((None, "t".into(), "c".into()))));
    }

    #[test]
    fn errors_as_postgresql() {
        let msg = |s: &str| create(s).unwrap_err().message;
        assert_eq!(
            msg("CREATE SEQUENCE s INCREMENT 0"),
            "INCREMENT must not be zero"
        );
        assert_eq!(
            msg("CREATE SEQUENCE s MINVALUE 10 MAXVALUE 5"),
            "MINVALUE (10) must be less than MAXVALUE (5)"
        );
        assert_eq!(
            msg("CREATE SEQUENCE s START 0"),
            "START value (0) cannot be less than MINVALUE (1)"
        );
        assert_eq!(
            msg("CREATE SEQUENCE s AS smallint MAXVALUE 100000"),
            "MAXVALUE (100000) is out of range for sequence data type smallint"
        );
        assert_eq!(
            msg("CREATE SEQUENCE s AS text"),
            "sequence type must be smallint, integer, or bigint"
        );
        assert_eq!(
            msg("CREATE SEQUENCE s CACHE 0"),
            "CACHE (0) must be greater than zero"
        );
        assert_eq!(
            msg("CREATE SEQUENCE s CACHE 2 CACHE 3"),
            "conflicting or redundant options"
        );
    }

    #[test]
    fn alter_restart_and_type() {
        let a = create("CREATE SEQUENCE s AS integer").unwrap();
        let t = SeqTuple {
            last_value: 7,
            log_cnt: 20,
            is_called: true,
        };
        let b = init_params(
            Some((a.typid, a.params, t)),
            &[SeqOpt::As(types::INT2), SeqOpt::Restart(Some(3))],
        )
        .unwrap();
        assert_eq!(b.params.max, i16::MAX as i64);
        assert_eq!(
            b.tuple,
            Some(SeqTuple {
                last_value: 3,
                log_cnt: 0,
                is_called: false
            })
        );
    }

    #[test]
    fn identity_options_in_any_order() {
        let sql = "CREATE TABLE t (a int GENERATED BY DEFAULT AS IDENTITY (START WITH 7 NO CYCLE INCREMENT BY -5 CACHE 2))";
        let stmts = crate::parse::parse_with_position(sql).unwrap();
        assert_eq!(stmts.len(), 1);
        let crate::parse::Parsed::Ast(s) = &stmts[0].0 else {
            panic!("not parsed by sqlparser")
        };
        let ast::Statement::CreateTable(ct) = s.as_ref() else {
            panic!("{s:?}")
        };
        let (_, kind, opts) = identity_column(&ct.columns[0]).unwrap().unwrap();
        assert_eq!(kind, b'd');
        assert_eq!(
            opts,
            vec![
                SeqOpt::Increment(-5),
                SeqOpt::Start(7),
                SeqOpt::Cache(2),
                SeqOpt::Cycle(false)
            ]
        );
    }

    #[test]
    fn names() {
        assert_eq!(
            text_to_qualified_name("Public.\"S x\"").unwrap(),
            (Some("public".into()), "S x".into())
        );
        assert_eq!(serial_sequence_name("t", "id"), "t_id_seq");
        assert_eq!(
            serial_default(None, "t_id_seq"),
            "nextval('t_id_seq'::regclass)"
        );
        assert_eq!(
            serial_default(None, "T_id_seq"),
            "nextval('\"T_id_seq\"'::regclass)"
        );
    }
}
