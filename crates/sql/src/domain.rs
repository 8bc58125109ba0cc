//! Domains: CREATE/ALTER/DROP DOMAIN read from their tokens, a domain's name resolved to its base type, and the coercion to a domain (its NOT NULL and CHECK constraints) wherever a value becomes one.
//!
//! Why this shape:
//! - sqlparser's CREATE DOMAIN requires AS and knows no NOT NULL / NULL,
//!   and it has no ALTER DOMAIN, so parse.rs routes the three statements
//!   here by their first words (as sequences), and they become
//!   [`TypeCmd`]s: domains are types, run by `Tables::type_command` next
//!   to enums, and live in the same per-backend registry
//!   (tusk_types::usertype), reloaded on catalog changes.
//! - A domain's values are its base type's values (PostgreSQL's rule):
//!   the binder resolves a domain name to the base type ([`lookup`]), so
//!   operators, functions, indexes, storage and the wire (RowDescription
//!   carries the base type's OID, as PostgreSQL sends it) never see the
//!   domain. What the domain adds is checked where a value is coerced to
//!   it: a cast `x::d` binds to [`Expr::Domain`] over the base-type cast,
//!   and a row stored into a table checks its domain columns
//!   ([`RowChecks`], for INSERT, UPDATE and COPY alike, before the
//!   table's own NOT NULL and CHECKs, as PostgreSQL's CoerceToDomain runs
//!   in the target list).
//! - CHECK expressions are kept as SQL text over `VALUE` (pg_constraint
//!   conbin, as table CHECKs keep theirs) and bound over a one-column row
//!   named `value`; a domain over a domain checks the inner domain's
//!   constraints first, each level's NOT NULL before its CHECKs, CHECKs
//!   in name order (PostgreSQL's domain constraint cache order).
//!
//! An array of a domain (`d[]`) holds the base type's array; coercing to
//! it checks every element ([`Coercion`]'s `elements`).
//!
//! Not yet: domains as function argument or result types are their base
//! type (unchecked), pg_typeof shows the base type except of a cast to
//! the domain, a domain over an
//! array of a domain does not check the elements, ALTER DOMAIN ... OWNER
//! / SET SCHEMA.

use std::rc::Rc;

use sqlparser::ast;
use sqlparser::dialect::{Dialect, PostgreSqlDialect, Precedence};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use tusk_common::{sqlstate, PgError};

use crate::bind::object_name_parts;
use crate::catalog::{codes, ColumnDef, Relation};
use crate::expr::{Ctx, Expr};
use crate::host::Host;
use crate::parse::{peek_word, take_word as take};
use crate::types::{Oid, Ty};
use crate::usertype::{reg, TypeName};
use crate::Value;

pub use reg::DomainType;

/// A CHECK of CREATE DOMAIN or ALTER DOMAIN ADD: its name if given, and
/// its expression's SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainCheck {
    pub name: Option<String>,
    pub expr: String,
    /// false for ADD ... NOT VALID.
    pub validated: bool,
}

/// CREATE DOMAIN, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainDef {
    pub name: TypeName,
    /// typbasetype (a domain's own OID when it is over a domain) and
    /// typtypmod.
    pub base: Oid,
    pub typmod: i32,
    pub default: Option<String>,
    pub not_null: bool,
    pub checks: Vec<DomainCheck>,
}

/// ALTER DOMAIN's actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainOp {
    /// SET DEFAULT e / DROP DEFAULT.
    SetDefault(Option<String>),
    /// SET NOT NULL (true) / DROP NOT NULL.
    SetNotNull(bool),
    AddCheck(DomainCheck),
    DropConstraint {
        name: String,
        if_exists: bool,
    },
    RenameConstraint {
        from: String,
        to: String,
    },
    ValidateConstraint(String),
    Rename(String),
}

fn syntax(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

/// A syntax error at the next token, positioned (1-based, in characters
/// of the statement's text; lib.rs shifts it into the client's string).
fn near(p: &mut Parser) -> PgError {
    let t = p.peek_token();
    let e = match t.token {
        Token::EOF => syntax("syntax error at end of input"),
        tok => syntax(format!("syntax error at or near \"{tok}\"")),
    };
    let pos = TEXT.with(|text| {
        let text = text.borrow();
        let (line, col) = (t.span.start.line as usize, t.span.start.column as usize);
        if line == 0 || col == 0 {
            return None;
        }
        let before: usize = text
            .split('\n')
            .take(line - 1)
            .map(|l| l.chars().count() + 1)
            .sum();
        Some((before + col) as u32)
    });
    e.with_position(pos)
}

thread_local! {
    /// The text [`parse`] is reading, for [`near`]'s positions.
    static TEXT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn expect(p: &mut Parser, word: &str) -> Result<(), PgError> {
    if take(p, word) {
        Ok(())
    } else {
        Err(near(p))
    }
}

fn end(p: &mut Parser) -> Result<(), PgError> {
    if p.peek_token().token == Token::EOF {
        Ok(())
    } else {
        Err(near(p))
    }
}

fn type_name(p: &mut Parser) -> Result<TypeName, PgError> {
    let n = p.parse_object_name(false).map_err(|_| near(p))?;
    let parts = object_name_parts(&n)?;
    match parts.as_slice() {
        [t] => Ok((None, t.clone())),
        [s, t] => Ok((Some(s.clone()), t.clone())),
        _ => Err(syntax(format!(
            "improper qualified name (too many dotted names): {n}"
        ))),
    }
}

/// ALTER TYPE name {ADD|DROP|ALTER|RENAME} ATTRIBUTE ..., (the
/// composite type's attributes; sqlparser lacks them).
fn alter_attributes(p: &mut Parser) -> Result<crate::usertype::TypeCmd, PgError> {
    use crate::usertype::AttrOp;
    let name = type_name(p)?;
    let mut ops = Vec::new();
    loop {
        if take(p, "ADD") {
            expect(p, "ATTRIBUTE")?;
            let n = ident(p)?;
            let dt = p.parse_data_type().map_err(|_| near(p))?;
            ops.push(AttrOp::Add(n, crate::bind::data_type_to_ty(&dt)?));
        } else if take(p, "DROP") {
            expect(p, "ATTRIBUTE")?;
            let if_exists = take(p, "IF") && {
                expect(p, "EXISTS")?;
                true
            };
            ops.push(AttrOp::Drop(ident(p)?, if_exists));
        } else if take(p, "ALTER") {
            expect(p, "ATTRIBUTE")?;
            let n = ident(p)?;
            if take(p, "SET") {
                expect(p, "DATA")?;
            }
            expect(p, "TYPE")?;
            let dt = p.parse_data_type().map_err(|_| near(p))?;
            ops.push(AttrOp::SetType(n, crate::bind::data_type_to_ty(&dt)?));
        } else if take(p, "RENAME") {
            expect(p, "ATTRIBUTE")?;
            let from = ident(p)?;
            expect(p, "TO")?;
            ops.push(AttrOp::Rename(from, ident(p)?));
        } else {
            return Err(near(p));
        }
        let cascade = take(p, "CASCADE");
        if !cascade {
            take(p, "RESTRICT");
        }
        if cascade {
            return Err(crate::bind::not_supported("ALTER TYPE ... CASCADE"));
        }
        if p.consume_token(&Token::Comma) {
            continue;
        }
        end(p)?;
        break;
    }
    Ok(crate::usertype::TypeCmd::AlterAttributes { name, ops })
}

fn ident(p: &mut Parser) -> Result<String, PgError> {
    p.parse_identifier()
        .map(|i| crate::bind::ident_name(&i))
        .map_err(|_| near(p))
}

/// `CHECK (expr)`'s parenthesized expression, as the text kept in
/// conbin: `VALUE` spelled in capitals and an operator expression in
/// parentheses, as PostgreSQL's deparser prints it back
/// (`CHECK ((VALUE > 0))` from pg_get_constraintdef and psql's \dD).
fn check_expr(p: &mut Parser) -> Result<String, PgError> {
    p.expect_token(&Token::LParen).map_err(|_| near(p))?;
    let e = p.parse_expr().map_err(|_| near(p))?;
    p.expect_token(&Token::RParen).map_err(|_| near(p))?;
    let text = value_upper(&e.to_string());
    Ok(match e {
        ast::Expr::Identifier(_)
        | ast::Expr::CompoundIdentifier(_)
        | ast::Expr::Function(_)
        | ast::Expr::Nested(_)
        | ast::Expr::Value(_) => text,
        _ => format!("({text})"),
    })
}

/// `text` (an expression as sqlparser prints it) with every `value`
/// word outside quotes as `VALUE`. Quoted strings and identifiers are
/// copied as they are (`''` and `""` inside them included).
fn value_upper(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' || c == '"' {
            out.push(c);
            // To the closing quote; a doubled quote stays inside.
            while let Some((_, d)) = chars.next() {
                out.push(d);
                if d == c {
                    if chars.peek().map(|p| p.1) == Some(c) {
                        out.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if d.is_alphanumeric() || d == '_' || d == '$' {
                    end = j + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let word = &text[i..end];
            if word.eq_ignore_ascii_case("value") {
                out.push_str("VALUE");
            } else {
                out.push_str(word);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A DEFAULT's expression: PostgreSQL's b_expr, which stops before NOT,
/// IS, AND, OR and comparisons (`DEFAULT 3 NOT NULL`). A string literal
/// is kept cast to the domain's base type (`'x'::character varying`),
/// as PostgreSQL deparses the coerced constant into typdefault.
fn default_expr(p: &mut Parser, base: Oid) -> Result<String, PgError> {
    let prec = PostgreSqlDialect {}.prec_value(Precedence::Like);
    let e = p.parse_subexpr(prec).map_err(|_| near(p))?;
    let literal = matches!(
        &e,
        ast::Expr::Value(v) if matches!(v.value, ast::Value::SingleQuotedString(_))
    );
    let base = reg::domain_base(base).map_or(base, |b| b.0);
    Ok(if literal {
        format!("{e}::{}", crate::types::sql_name(base))
    } else {
        e.to_string()
    })
}

/// Is this statement's start one of ours (parse.rs's pre-dispatch)?
pub(crate) fn is_domain_statement(words: &[&str]) -> bool {
    matches!(
        words,
        ["CREATE", "DOMAIN", ..] | ["ALTER", "DOMAIN", ..] | ["DROP", "DOMAIN", ..]
    ) || matches!(words, ["ALTER", "TYPE", ..]) && words.contains(&"ATTRIBUTE")
}

fn not_possible(what: &str) -> PgError {
    syntax(format!("{what} constraints not possible for domains"))
}

/// Reads CREATE/ALTER/DROP DOMAIN. The base type of CREATE DOMAIN is
/// resolved here (42704 for an unknown one), so the registry must be
/// current (it is before a statement is bound).
pub(crate) fn parse(sql: &str) -> Result<crate::usertype::TypeCmd, PgError> {
    TEXT.with(|t| *t.borrow_mut() = sql.to_string());
    let r = parse_text(sql);
    TEXT.with(|t| t.borrow_mut().clear());
    r
}

fn parse_text(sql: &str) -> Result<crate::usertype::TypeCmd, PgError> {
    use crate::usertype::TypeCmd;
    let dialect = PostgreSqlDialect {};
    let mut p = Parser::new(&dialect)
        .try_with_sql(sql)
        .map_err(|e| syntax(e.to_string()))?;
    if take(&mut p, "CREATE") {
        expect(&mut p, "DOMAIN")?;
        let name = type_name(&mut p)?;
        take(&mut p, "AS");
        let dt = p.parse_data_type().map_err(|_| near(&mut p))?;
        let (base, typmod) = base_of(&dt)?;
        let mut def = DomainDef {
            name,
            base,
            typmod,
            default: None,
            not_null: false,
            checks: Vec::new(),
        };
        let mut nullness: Option<bool> = None;
        loop {
            let cname = if take(&mut p, "CONSTRAINT") {
                Some(ident(&mut p)?)
            } else {
                None
            };
            if take(&mut p, "NOT") {
                expect(&mut p, "NULL")?;
                if nullness == Some(false) {
                    return Err(syntax("conflicting NULL/NOT NULL constraints"));
                }
                nullness = Some(true);
            } else if take(&mut p, "NULL") {
                if nullness == Some(true) {
                    return Err(syntax("conflicting NULL/NOT NULL constraints"));
                }
                nullness = Some(false);
            } else if take(&mut p, "CHECK") {
                let expr = check_expr(&mut p)?;
                if take(&mut p, "NO") {
                    expect(&mut p, "INHERIT")?;
                    return Err(PgError::error(
                        sqlstate::INVALID_OBJECT_DEFINITION,
                        "check constraints for domains cannot be marked NO INHERIT",
                    ));
                }
                def.checks.push(DomainCheck {
                    name: cname,
                    expr,
                    validated: true,
                });
            } else if cname.is_none() && take(&mut p, "DEFAULT") {
                if def.default.is_some() {
                    return Err(syntax("multiple default expressions"));
                }
                def.default = Some(default_expr(&mut p, def.base)?);
            } else if cname.is_none() && take(&mut p, "COLLATE") {
                let c = ident(&mut p)?;
                let base = reg::domain_base(def.base).map_or(def.base, |b| b.0);
                if crate::types::category(base) != crate::types::Category::String {
                    return Err(PgError::error(
                        codes::DATATYPE_MISMATCH,
                        format!(
                            "collations are not supported by type {}",
                            crate::types::sql_name(base)
                        ),
                    ));
                }
                if c != "default" && c != "C" && c != "POSIX" {
                    return Err(crate::bind::not_supported(format!("collation \"{c}\"")));
                }
            } else if take(&mut p, "UNIQUE") {
                return Err(not_possible("unique"));
            } else if take(&mut p, "GENERATED") {
                return Err(PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    "unrecognized constraint subtype: 3",
                ));
            } else if take(&mut p, "PRIMARY") {
                return Err(not_possible("primary key"));
            } else if take(&mut p, "REFERENCES") {
                return Err(not_possible("foreign key"));
            } else if matches!(
                peek_word(&mut p).as_deref(),
                Some("DEFERRABLE" | "INITIALLY")
            ) {
                return Err(syntax(
                    "specifying constraint deferrability not supported for domains",
                ));
            } else if cname.is_some() {
                return Err(near(&mut p));
            } else {
                break;
            }
        }
        end(&mut p)?;
        def.not_null = nullness == Some(true);
        return Ok(TypeCmd::CreateDomain(Box::new(def)));
    }
    if take(&mut p, "ALTER") {
        if take(&mut p, "TYPE") {
            return alter_attributes(&mut p);
        }
        expect(&mut p, "DOMAIN")?;
        let name = type_name(&mut p)?;
        let op = if take(&mut p, "SET") {
            if take(&mut p, "DEFAULT") {
                let base = lookup(&match &name.0 {
                    Some(s) => format!("{s}.{}", name.1),
                    None => name.1.clone(),
                })
                .map_or(crate::types::UNKNOWN, |d| d.oid);
                DomainOp::SetDefault(Some(default_expr(&mut p, base)?))
            } else {
                expect(&mut p, "NOT")?;
                expect(&mut p, "NULL")?;
                DomainOp::SetNotNull(true)
            }
        } else if take(&mut p, "DROP") {
            if take(&mut p, "DEFAULT") {
                DomainOp::SetDefault(None)
            } else if take(&mut p, "NOT") {
                expect(&mut p, "NULL")?;
                DomainOp::SetNotNull(false)
            } else {
                expect(&mut p, "CONSTRAINT")?;
                let mut if_exists = false;
                if take(&mut p, "IF") {
                    expect(&mut p, "EXISTS")?;
                    if_exists = true;
                }
                let name = ident(&mut p)?;
                if !take(&mut p, "RESTRICT") && take(&mut p, "CASCADE") {
                    // Nothing depends on a domain's CHECK: CASCADE drops
                    // the same as RESTRICT.
                }
                DomainOp::DropConstraint { name, if_exists }
            }
        } else if take(&mut p, "ADD") {
            let cname = if take(&mut p, "CONSTRAINT") {
                Some(ident(&mut p)?)
            } else {
                None
            };
            if peek_word(&mut p).as_deref() == Some("NOT") {
                // PostgreSQL 15's grammar has no ADD NOT NULL for domains.
                return Err(near(&mut p));
            }
            if take(&mut p, "UNIQUE") {
                return Err(not_possible("unique"));
            }
            if take(&mut p, "PRIMARY") {
                return Err(not_possible("primary key"));
            }
            if take(&mut p, "REFERENCES") {
                return Err(not_possible("foreign key"));
            }
            expect(&mut p, "CHECK")?;
            let expr = check_expr(&mut p)?;
            let mut validated = true;
            if take(&mut p, "NOT") {
                expect(&mut p, "VALID")?;
                validated = false;
            }
            DomainOp::AddCheck(DomainCheck {
                name: cname,
                expr,
                validated,
            })
        } else if take(&mut p, "RENAME") {
            if take(&mut p, "CONSTRAINT") {
                let from = ident(&mut p)?;
                expect(&mut p, "TO")?;
                DomainOp::RenameConstraint {
                    from,
                    to: ident(&mut p)?,
                }
            } else {
                expect(&mut p, "TO")?;
                DomainOp::Rename(ident(&mut p)?)
            }
        } else if take(&mut p, "VALIDATE") {
            expect(&mut p, "CONSTRAINT")?;
            DomainOp::ValidateConstraint(ident(&mut p)?)
        } else if matches!(peek_word(&mut p).as_deref(), Some("OWNER")) {
            return Err(crate::bind::not_supported("ALTER DOMAIN ... OWNER TO"));
        } else {
            return Err(near(&mut p));
        };
        end(&mut p)?;
        return Ok(TypeCmd::AlterDomain { name, op });
    }
    expect(&mut p, "DROP")?;
    expect(&mut p, "DOMAIN")?;
    let mut if_exists = false;
    if take(&mut p, "IF") {
        expect(&mut p, "EXISTS")?;
        if_exists = true;
    }
    let mut names = vec![type_name(&mut p)?];
    while p.consume_token(&Token::Comma) {
        names.push(type_name(&mut p)?);
    }
    let cascade = take(&mut p, "CASCADE");
    if !cascade {
        take(&mut p, "RESTRICT");
    }
    end(&mut p)?;
    Ok(TypeCmd::DropDomain {
        names,
        if_exists,
        cascade,
    })
}

/// A CREATE DOMAIN's base type as written: a domain names itself (its
/// OID becomes typbasetype), anything else its type; pseudo-types are
/// refused as DefineDomain refuses them (42804).
fn base_of(dt: &ast::DataType) -> Result<(Oid, i32), PgError> {
    if let Some(d) = domain_of_data_type(dt) {
        return Ok((d.oid, -1));
    }
    // Pseudo-types tusk has no pg_type row for are refused by name.
    if let ast::DataType::Custom(n, _) = dt {
        let name = n.to_string().to_ascii_lowercase();
        const PSEUDO: &[&str] = &[
            "any",
            "anyelement",
            "anyarray",
            "anynonarray",
            "anyenum",
            "anyrange",
            "anymultirange",
            "anycompatible",
            "anycompatiblearray",
            "anycompatiblenonarray",
            "anycompatiblerange",
            "cstring",
            "internal",
            "record",
            "trigger",
            "event_trigger",
            "void",
            "unknown",
        ];
        if PSEUDO.contains(&name.as_str()) {
            return Err(PgError::error(
                codes::DATATYPE_MISMATCH,
                format!("\"{name}\" is not a valid base type for a domain"),
            ));
        }
    }
    let t = crate::bind::data_type_to_ty(dt)?;
    if matches!(
        crate::types::category(t.oid),
        crate::types::Category::Unknown
    ) || t.oid == crate::types::RECORD
    {
        return Err(PgError::error(
            codes::DATATYPE_MISMATCH,
            format!(
                "\"{}\" is not a valid base type for a domain",
                crate::types::sql_name(t.oid)
            ),
        ));
    }
    Ok((t.oid, t.typmod))
}

/// The domain a name (`name` or `schema.name`) means: the first in
/// search_path order, as for enum types.
pub fn lookup(name: &str) -> Option<Rc<DomainType>> {
    let (schema, n) = match name.split_once('.') {
        Some((s, n)) => (Some(s), n),
        None => (None, name),
    };
    let found = reg::domains_by_name(n);
    match schema {
        Some(s) => found.into_iter().find(|d| d.schema == s),
        None => found.into_iter().next(),
    }
}

/// The domain a type as written names (not an array of one), if any.
pub(crate) fn domain_of_data_type(dt: &ast::DataType) -> Option<Rc<DomainType>> {
    let ast::DataType::Custom(n, mods) = dt else {
        return None;
    };
    if !mods.is_empty() {
        return None;
    }
    let parts = object_name_parts(n).ok()?;
    lookup(&parts.join("."))
}

/// What a type as written coerces to, when a domain is involved: the
/// domain's OID, or for `d[]` the domain's array type (whose elements
/// are each checked).
pub(crate) fn coercion_target(dt: &ast::DataType) -> Option<Oid> {
    if let Some(d) = domain_of_data_type(dt) {
        return Some(d.oid);
    }
    match dt {
        ast::DataType::Array(
            ast::ArrayElemTypeDef::SquareBracket(inner, _)
            | ast::ArrayElemTypeDef::Qualified(inner, _)
            | ast::ArrayElemTypeDef::AngleBracket(inner),
        ) => domain_of_data_type(inner).map(|d| d.array),
        _ => None,
    }
}

/// The domain whose array type `oid` is.
pub fn array_domain(oid: Oid) -> Option<Rc<DomainType>> {
    reg::array_elem(oid).and_then(reg::domain_type)
}

/// The type values of domain `d` have (its base type through domains
/// over domains, with the innermost typmod given).
pub fn base_ty(d: &DomainType) -> Ty {
    match reg::domain_base(d.oid) {
        Some((b, m)) => Ty::with_mod(b, m),
        None => Ty::with_mod(d.base, d.typmod),
    }
}

/// One domain of a chain: its NOT NULL and bound CHECKs.
#[derive(Debug)]
pub(crate) struct Level {
    not_null: bool,
    checks: Vec<(String, Expr)>,
}

/// What coercing a value to a domain checks, innermost domain first
/// (see the file comment). Errors name the domain coerced to, whichever
/// level's constraint failed, as PostgreSQL's do.
#[derive(Debug)]
pub(crate) struct Coercion {
    name: String,
    levels: Vec<Level>,
    /// A coercion to an array of the domain: each element is checked
    /// (a NULL array passes).
    elements: bool,
}

thread_local! {
    /// Bound coercions by domain, valid for one registry generation:
    /// a COPY or INSERT of many rows binds each domain's CHECKs once.
    static BOUND: std::cell::RefCell<(u64, std::collections::HashMap<Oid, Rc<Coercion>>)> =
        std::cell::RefCell::new((u64::MAX, std::collections::HashMap::new()));
}

/// Binds the constraints of domain `oid` and of the domains it is over
/// (cached until the registry's domains change).
pub(crate) fn bind_coercion(host: &dyn Host, oid: Oid) -> Result<Rc<Coercion>, PgError> {
    let generation = reg::domain_generation();
    let hit = BOUND.with(|b| {
        let b = b.borrow();
        if b.0 == generation {
            b.1.get(&oid).cloned()
        } else {
            None
        }
    });
    if let Some(c) = hit {
        return Ok(c);
    }
    let c = bind_coercion_uncached(host, oid)?;
    BOUND.with(|b| {
        let mut b = b.borrow_mut();
        if b.0 != generation {
            b.0 = generation;
            b.1.clear();
        }
        b.1.insert(oid, c.clone());
    });
    Ok(c)
}

fn bind_coercion_uncached(host: &dyn Host, oid: Oid) -> Result<Rc<Coercion>, PgError> {
    if let Some(d) = array_domain(oid) {
        let inner = bind_coercion_uncached(host, d.oid)?;
        return Ok(Rc::new(Coercion {
            name: inner.name.clone(),
            levels: match Rc::try_unwrap(inner) {
                Ok(c) => c.levels,
                Err(_) => Vec::new(),
            },
            elements: true,
        }));
    }
    let mut levels = Vec::new();
    let mut cur = reg::domain_type(oid);
    while let Some(d) = cur {
        if levels.len() > 64 {
            break;
        }
        let ty = base_ty(&d);
        let mut checks = Vec::with_capacity(d.checks.len());
        for (name, text) in &d.checks {
            checks.push((name.clone(), bind_check(host, ty, text)?));
        }
        levels.push(Level {
            not_null: d.not_null,
            checks,
        });
        cur = reg::domain_type(d.base);
    }
    levels.reverse();
    let name = reg::domain_type(oid).map_or_else(String::new, |d| d.name.clone());
    Ok(Rc::new(Coercion {
        name,
        levels,
        elements: false,
    }))
}

/// A domain CHECK's text bound to a boolean over a one-column row
/// (`VALUE`, of type `ty`).
pub(crate) fn bind_check(host: &dyn Host, ty: Ty, text: &str) -> Result<Expr, PgError> {
    let e = crate::bind::rowexpr::parse_stored(text, "check constraint")?;
    bind_check_ast(host, ty, &e)
}

pub(crate) fn bind_check_ast(host: &dyn Host, ty: Ty, e: &ast::Expr) -> Result<Expr, PgError> {
    let rel = value_relation(ty);
    crate::bind::rowexpr::bind_check(host, &rel, e)
}

/// The pseudo-relation a domain CHECK is bound over: one column `value`
/// and no system columns.
fn value_relation(ty: Ty) -> Relation {
    Relation::new(
        "",
        "value",
        vec![ColumnDef::new("value", ty)],
        crate::catalog::RelationSource::SystemView(crate::catalog::SystemView::Settings),
    )
}

impl Coercion {
    /// The name of the outermost domain.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type coerced to, as format_type names it (`d`, `d[]`).
    pub fn type_name(&self) -> String {
        if self.elements {
            format!("{}[]", self.name)
        } else {
            self.name.clone()
        }
    }

    /// `v` checked against every level: 23502 for NULL under NOT NULL,
    /// 23514 for a CHECK that is false (NULL passes, as in a table CHECK).
    pub fn apply(&self, v: &Value, cx: &mut Ctx<'_>) -> Result<(), PgError> {
        if self.elements {
            if let Value::Array(a) = v {
                for item in &a.items {
                    self.apply_one(item, cx)?;
                }
            }
            return Ok(());
        }
        self.apply_one(v, cx)
    }

    fn apply_one(&self, v: &Value, cx: &mut Ctx<'_>) -> Result<(), PgError> {
        let row = std::slice::from_ref(v);
        for l in &self.levels {
            if l.not_null && v.is_null() {
                return Err(PgError::error(
                    codes::NOT_NULL_VIOLATION,
                    format!("domain {} does not allow null values", self.name),
                ));
            }
            for (name, e) in &l.checks {
                let mut inner = Ctx {
                    host: &mut *cx.host,
                    params: &[],
                };
                if e.eval(row, &mut inner)? == Value::Bool(false) {
                    return Err(PgError::error(
                        codes::CHECK_VIOLATION,
                        format!(
                            "value for domain {} violates check constraint \"{name}\"",
                            self.name
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The DEFAULT a column of domain `oid` takes when it has none of its
/// own: the domain's, else the nearest one of the domains under it.
pub fn default_of(oid: Oid) -> Option<String> {
    let mut cur = reg::domain_type(oid);
    let mut depth = 0;
    while let Some(d) = cur {
        if d.default.is_some() || depth > 64 {
            return d.default.clone();
        }
        depth += 1;
        cur = reg::domain_type(d.base);
    }
    None
}

/// The first domain column of a row holding NULL where its domain (or a
/// domain under it) is NOT NULL: checked with the typmods, before the
/// table's own NOT NULL (modify.rs's check_row), as PostgreSQL coerces
/// to the domain in the target list. Needs no binding.
pub(crate) fn null_violation(rel: &Relation, row: &[Value]) -> Option<PgError> {
    for (c, v) in rel.columns.iter().zip(row) {
        let (Some(d), true) = (c.domain, v.is_null()) else {
            continue;
        };
        let mut cur = reg::domain_type(d);
        let mut depth = 0;
        while let Some(x) = cur {
            if x.not_null {
                let name = reg::domain_type(d).map_or_else(String::new, |o| o.name.clone());
                return Some(PgError::error(
                    codes::NOT_NULL_VIOLATION,
                    format!("domain {name} does not allow null values"),
                ));
            }
            depth += 1;
            if depth > 64 {
                break;
            }
            cur = reg::domain_type(x.base);
        }
    }
    None
}

/// The domain columns of a row about to be stored into `rel` (its live
/// columns in order), checked against their domains (modify.rs's
/// check_constraints, for INSERT, UPDATE and COPY alike).
pub(crate) fn check_row(rel: &Relation, row: &[Value], host: &mut dyn Host) -> Result<(), PgError> {
    for (i, c) in rel.columns.iter().enumerate() {
        let Some(d) = c.domain else {
            continue;
        };
        if reg::domain_type(d).is_none() && array_domain(d).is_none() {
            continue;
        }
        let coercion = bind_coercion(&*host, d)?;
        let mut cx = Ctx {
            host: &mut *host,
            params: &[],
        };
        coercion.apply(row.get(i).unwrap_or(&Value::Null), &mut cx)?;
    }
    Ok(())
}

/// ALTER DOMAIN ... ADD CHECK / SET NOT NULL over the values stored:
/// every column of a table whose type is the domain (or a domain over
/// it) must pass `check` (None: must not be NULL). 23514 / 23502 with
/// PostgreSQL's "column ... of table ... contains ..." messages.
pub(crate) fn validate_stored(
    host: &mut dyn Host,
    domain: Oid,
    check: Option<&Expr>,
) -> Result<(), PgError> {
    let Some(d) = reg::domain_type(domain) else {
        return Ok(());
    };
    let mut deps = Vec::new();
    dependents(host, &d, &mut deps, 0)?;
    // Table by table, each row's domain columns in column order, as
    // PostgreSQL's validateDomainConstraint reads them.
    let mut tables: Vec<((String, String), Vec<String>)> = Vec::new();
    for dep in deps {
        let Dep::Column {
            schema,
            table,
            col,
            kind: "table",
            array,
        } = dep.what
        else {
            continue;
        };
        if array {
            // PostgreSQL 15 cannot check the elements of stored arrays.
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "cannot alter type \"{}\" because column \"{table}.{col}\" uses it",
                    d.name
                ),
            ));
        }
        let key = (schema, table);
        match tables.iter_mut().find(|t| t.0 == key) {
            // Listed by attnum descending (see `dependents`).
            Some(t) => t.1.insert(0, col),
            None => tables.push((key, vec![col])),
        }
    }
    let q = crate::routine::quote_ident;
    for ((schema, table), cols) in tables {
        let list = cols.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ");
        let scan = format!("SELECT {list} FROM {}.{}", q(&schema), q(&table));
        for row in run_all(host, &scan)? {
            for (v, col) in row.iter().zip(&cols) {
                let bad = match check {
                    None => v.is_null(),
                    Some(e) => {
                        let mut cx = Ctx {
                            host: &mut *host,
                            params: &[],
                        };
                        e.eval(std::slice::from_ref(v), &mut cx)? == Value::Bool(false)
                    }
                };
                if bad {
                    return Err(match check {
                        None => PgError::error(
                            codes::NOT_NULL_VIOLATION,
                            format!("column \"{col}\" of table \"{table}\" contains null values"),
                        ),
                        Some(_) => PgError::error(
                            codes::CHECK_VIOLATION,
                            format!(
                                "column \"{col}\" of table \"{table}\" contains values that violate the new constraint"
                            ),
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Something that depends on a domain.
#[derive(Debug, Clone)]
enum Dep {
    Domain(Rc<DomainType>),
    Column {
        schema: String,
        table: String,
        col: String,
        /// "table", "view" or "materialized view".
        kind: &'static str,
        /// The column is an array of the domain.
        array: bool,
    },
}

/// A dependent and the name of the type it depends on.
#[derive(Debug, Clone)]
struct DepEntry {
    what: Dep,
    on: String,
}

impl DepEntry {
    /// "type small" / "column a of table t", as PostgreSQL names them.
    fn describe(&self) -> String {
        match &self.what {
            Dep::Domain(d) => format!("type {}", d.name),
            Dep::Column {
                table, col, kind, ..
            } => format!("column {col} of {kind} {table}"),
        }
    }
}

/// What depends on domain `d`, depth first: the domains over it (each
/// followed by its own dependents) and the columns of it or its array.
/// The order is the one PostgreSQL reports: its deletion walk visits
/// dependents by OID descending (a domain's, a column's table's; columns
/// of one table by attnum ascending) and lists each after its own
/// dependents, and the report reads that list backwards.
fn dependents(
    host: &mut dyn Host,
    d: &DomainType,
    out: &mut Vec<DepEntry>,
    depth: usize,
) -> Result<(), PgError> {
    if depth > 64 {
        return Ok(());
    }
    let sql = format!(
        "SELECT c.oid, n.nspname, c.relname, a.attname, c.relkind, a.atttypid FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE a.atttypid IN ({}, {}) AND c.relkind IN ('r', 'v', 'm') \
         AND NOT a.attisdropped AND a.attnum > 0 ORDER BY c.oid, a.attnum DESC",
        d.oid, d.array
    );
    let text = |v: &Value| crate::value::to_text(v).unwrap_or_default();
    let mut items: Vec<(Oid, Dep)> = Vec::new();
    for r in run_all(host, &sql)? {
        let oid = match r[0] {
            Value::Oid(o) => o,
            _ => 0,
        };
        let kind = match text(&r[4]).as_str() {
            "v" => "view",
            "m" => "materialized view",
            _ => "table",
        };
        items.push((
            oid,
            Dep::Column {
                schema: text(&r[1]),
                table: text(&r[2]),
                col: text(&r[3]),
                kind,
                array: r[5] == Value::Oid(d.array),
            },
        ));
    }
    for x in reg::all_domains() {
        if x.base == d.oid {
            items.push((x.oid, Dep::Domain(x)));
        }
    }
    items.sort_by_key(|i| i.0);
    for (_, what) in items {
        let sub = match &what {
            Dep::Domain(x) => Some(x.clone()),
            Dep::Column { .. } => None,
        };
        out.push(DepEntry {
            what,
            on: d.name.clone(),
        });
        if let Some(x) = sub {
            dependents(host, &x, out, depth + 1)?;
        }
    }
    Ok(())
}

/// Runs a query of the SQL layer's own making to its end.
fn run_all(host: &mut dyn Host, sql: &str) -> Result<Vec<Vec<Value>>, PgError> {
    let stmts = crate::parse(sql)?;
    let Some(stmt) = stmts.first() else {
        return Ok(Vec::new());
    };
    let p = crate::prepare(stmt, &[], &*host)?;
    let rels = host.nested_relations();
    let mut ex = crate::start(&p, Vec::new(), host, &*rels)?;
    let mut out = Vec::new();
    while let Some(r) = ex.next(host)? {
        out.push(r);
    }
    Ok(out)
}

/// Binds a CREATE DOMAIN's or ALTER DOMAIN's CHECK and DEFAULT before
/// the catalog changes, so that a bad expression fails as PostgreSQL
/// fails it (42804 for a non-boolean CHECK, 42883 for an operator the
/// base type lacks, 22P02 for a default that does not convert).
pub(crate) fn validate_def(
    host: &mut dyn Host,
    base: Ty,
    default: Option<&str>,
    checks: &[&str],
) -> Result<(), PgError> {
    for c in checks {
        let e = crate::bind::rowexpr::parse_stored(c, "check constraint")?;
        crate::bind::rowexpr::refuse_in_ddl(&e, "check constraint")?;
        bind_check_ast(&*host, base, &e)
            .map_err(|e| crate::bind::rowexpr::ddl_agg_error(e, "check constraint"))?;
    }
    if let Some(d) = default {
        let mut col = ColumnDef::new("value", base);
        col.default = Some(d.to_string());
        crate::alter::bind_default_checked(&*host, &col)?;
    }
    Ok(())
}

/// The checks bound for ALTER DOMAIN ... ADD CHECK's validation.
pub(crate) fn bind_new_check(host: &dyn Host, domain: Oid, text: &str) -> Result<Expr, PgError> {
    let d = reg::domain_type(domain).ok_or_else(|| {
        PgError::error(
            sqlstate::UNDEFINED_OBJECT,
            format!("type with OID {domain} does not exist"),
        )
    })?;
    bind_check(host, base_ty(&d), text)
}

/// What a domain statement checks before the catalog changes (called
/// by utility.rs ahead of `Tables::type_command`): its expressions bind
/// over the base type, and ADD CHECK / SET NOT NULL hold for the values
/// already stored. A domain that does not exist is left for the catalog
/// side to report.
pub(crate) fn before_command(
    host: &mut dyn Host,
    cmd: &crate::usertype::TypeCmd,
) -> Result<(), PgError> {
    use crate::usertype::TypeCmd;
    match cmd {
        TypeCmd::CreateDomain(def) => {
            let base = match reg::domain_type(def.base) {
                Some(d) => base_ty(&d),
                None => Ty::with_mod(def.base, def.typmod),
            };
            let checks: Vec<&str> = def.checks.iter().map(|c| c.expr.as_str()).collect();
            validate_def(host, base, def.default.as_deref(), &checks)
        }
        TypeCmd::AlterDomain { name, op } => {
            let written = match &name.0 {
                Some(s) => format!("{s}.{}", name.1),
                None => name.1.clone(),
            };
            let Some(d) = lookup(&written) else {
                return Ok(());
            };
            let base = base_ty(&d);
            match op {
                DomainOp::SetDefault(Some(e)) => validate_def(host, base, Some(e), &[]),
                DomainOp::SetNotNull(true) if !d.not_null => validate_stored(host, d.oid, None),
                DomainOp::AddCheck(c) => {
                    validate_def(host, base, None, &[c.expr.as_str()])?;
                    if c.validated {
                        let e = bind_new_check(&*host, d.oid, &c.expr)?;
                        validate_stored(host, d.oid, Some(&e))?;
                    }
                    Ok(())
                }
                DomainOp::ValidateConstraint(n) => match d.checks.iter().find(|c| &c.0 == n) {
                    Some((_, text)) => {
                        let e = bind_new_check(&*host, d.oid, text)?;
                        validate_stored(host, d.oid, Some(&e))
                    }
                    None => Ok(()),
                },
                _ => Ok(()),
            }
        }
        TypeCmd::DropDomain { names, cascade, .. } => drop_dependents(host, names, *cascade),
        _ => Ok(()),
    }
}

/// DROP DOMAIN's dependents, found as PostgreSQL's dependency walk
/// finds them: without CASCADE, 2BP01 naming each; with CASCADE, the
/// NOTICE naming each, and the columns dropped here as ALTER TABLE ...
/// DROP COLUMN drops them (the catalog side drops the domains).
fn drop_dependents(host: &mut dyn Host, names: &[TypeName], cascade: bool) -> Result<(), PgError> {
    let roots: Vec<Rc<DomainType>> = names
        .iter()
        .filter_map(|n| {
            lookup(&match &n.0 {
                Some(s) => format!("{s}.{}", n.1),
                None => n.1.clone(),
            })
        })
        .collect();
    let mut all: Vec<DepEntry> = Vec::new();
    for r in &roots {
        let mut deps = Vec::new();
        dependents(host, r, &mut deps, 0)?;
        // What is dropped anyway is no dependent (DROP DOMAIN a, b).
        deps.retain(|e| !matches!(&e.what, Dep::Domain(x) if roots.iter().any(|r| r.oid == x.oid)));
        if !cascade && !deps.is_empty() {
            return Err(PgError::error(
                codes::DEPENDENT_OBJECTS_STILL_EXIST,
                format!(
                    "cannot drop type {} because other objects depend on it",
                    r.name
                ),
            )
            .with_detail(
                deps.iter()
                    .map(|e| format!("{} depends on type {}", e.describe(), e.on))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        all.extend(deps);
    }
    if !cascade || all.is_empty() {
        return Ok(());
    }
    if all
        .iter()
        .any(|e| matches!(&e.what, Dep::Column { kind, .. } if *kind != "table"))
    {
        return Err(crate::bind::not_supported(
            "DROP DOMAIN ... CASCADE of a domain a view's column uses",
        ));
    }
    let notice = |msg: String, detail: Option<String>| {
        let e = PgError::new(
            tusk_common::Severity::Notice,
            sqlstate::SUCCESSFUL_COMPLETION,
            msg,
        );
        match detail {
            Some(d) => e.with_detail(d),
            None => e,
        }
    };
    if all.len() == 1 {
        host.notice(notice(
            format!("drop cascades to {}", all[0].describe()),
            None,
        ));
    } else {
        host.notice(notice(
            format!("drop cascades to {} other objects", all.len()),
            Some(
                all.iter()
                    .map(|e| format!("drop cascades to {}", e.describe()))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        ));
    }
    let q = crate::routine::quote_ident;
    for e in all {
        if let Dep::Column {
            schema, table, col, ..
        } = e.what
        {
            let sql = format!(
                "ALTER TABLE {}.{} DROP COLUMN {}",
                q(&schema),
                q(&table),
                q(&col)
            );
            run_all(host, &sql)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usertype::TypeCmd;

    fn create(sql: &str) -> DomainDef {
        match parse(sql) {
            Ok(TypeCmd::CreateDomain(d)) => *d,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn create_domain_reads_postgresql_clauses() {
        let d = create(
            "CREATE DOMAIN s.d varchar(5) NOT NULL DEFAULT 'x' CONSTRAINT c CHECK (value <> '') CHECK (length(VALUE) > 1)",
        );
        assert_eq!(d.name, (Some("s".into()), "d".into()));
        assert_eq!((d.base, d.typmod), (crate::types::VARCHAR, 9));
        assert!(d.not_null);
        assert_eq!(d.default.as_deref(), Some("'x'::character varying"));
        assert_eq!(d.checks[0].name.as_deref(), Some("c"));
        assert_eq!(d.checks[0].expr, "(VALUE <> '')");
        assert_eq!(d.checks[1].name, None);
        assert_eq!(d.checks[1].expr, "(length(VALUE) > 1)");
        // DEFAULT stops before NOT NULL (b_expr).
        let d = create("CREATE DOMAIN d AS int DEFAULT 3 NOT NULL");
        assert_eq!((d.default.as_deref(), d.not_null), (Some("3"), true));
    }

    #[test]
    fn create_domain_refuses_as_postgresql() {
        let msg = |sql: &str| parse(sql).map(|_| ()).unwrap_err().message;
        assert_eq!(
            msg("CREATE DOMAIN d int NOT NULL NULL"),
            "conflicting NULL/NOT NULL constraints"
        );
        assert_eq!(
            msg("CREATE DOMAIN d int DEFAULT 1 DEFAULT 2"),
            "multiple default expressions"
        );
        assert_eq!(
            msg("CREATE DOMAIN d int UNIQUE"),
            "unique constraints not possible for domains"
        );
        assert_eq!(
            msg("CREATE DOMAIN d int CHECK (VALUE > 1) NO INHERIT"),
            "check constraints for domains cannot be marked NO INHERIT"
        );
        assert_eq!(
            msg("CREATE DOMAIN d int NOT NULL NO INHERIT"),
            "syntax error at or near \"NO\""
        );
        assert_eq!(
            msg("CREATE DOMAIN d nosuch"),
            "type \"nosuch\" does not exist"
        );
    }

    #[test]
    fn alter_and_drop_domain_read_their_actions() {
        let alter = |sql: &str| match parse(sql) {
            Ok(TypeCmd::AlterDomain { op, .. }) => op,
            other => panic!("{sql}: {other:?}"),
        };
        assert_eq!(
            alter("ALTER DOMAIN d DROP CONSTRAINT IF EXISTS c CASCADE"),
            DomainOp::DropConstraint {
                name: "c".into(),
                if_exists: true
            }
        );
        assert_eq!(
            alter("ALTER DOMAIN d ADD CHECK (VALUE < 3) NOT VALID"),
            DomainOp::AddCheck(DomainCheck {
                name: None,
                expr: "(VALUE < 3)".into(),
                validated: false
            })
        );
        assert_eq!(
            alter("ALTER DOMAIN d SET NOT NULL"),
            DomainOp::SetNotNull(true)
        );
        assert_eq!(
            alter("ALTER DOMAIN d RENAME CONSTRAINT a TO b"),
            DomainOp::RenameConstraint {
                from: "a".into(),
                to: "b".into()
            }
        );
        assert_eq!(
            parse("DROP DOMAIN IF EXISTS a, s.b CASCADE").ok(),
            Some(TypeCmd::DropDomain {
                names: vec![(None, "a".into()), (Some("s".into()), "b".into())],
                if_exists: true,
                cascade: true
            })
        );
    }

    #[test]
    fn syntax_errors_point_at_the_token() {
        let e = parse("ALTER DOMAIN d ADD NOT NULL")
            .map(|_| ())
            .unwrap_err();
        assert_eq!(e.message, "syntax error at or near \"NOT\"");
        assert_eq!(e.position, Some(20));
        let e = parse("CREATE DOMAIN d\nint4 not null no inherit")
            .map(|_| ())
            .unwrap_err();
        assert_eq!(e.position, Some(31));
    }

    #[test]
    fn value_is_capitalised_outside_quotes_only() {
        assert_eq!(
            value_upper("value > 0 AND 'value''s' <> \"value\" AND values_x = 1"),
            "VALUE > 0 AND 'value''s' <> \"value\" AND values_x = 1"
        );
    }
}
