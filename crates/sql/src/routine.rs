//! User-defined routines: CREATE/DROP FUNCTION and PROCEDURE, DO, CALL,
//! and calling a stored function from an expression.
//!
//! Why it is built this way: the statements are read here from their
//! text with sqlparser's tokenizer (routed around sqlparser's grammar,
//! which lacks DO, PROCEDURE bodies, defaults and RETURNS TABLE as
//! PostgreSQL writes them), and a definition is a [`FuncDef`] that the
//! host stores as a pg_proc row (so it survives restart and other
//! sessions see it at commit). A call runs the body through this crate's
//! own `prepare`/`start` with the arguments as parameters: a SQL
//! function's statements and every PL/pgSQL expression are ordinary
//! statements whose `$n` are the arguments or variables (names are
//! replaced by `$n` at the token level, see [`substitute`]). Nested calls
//! are counted ([`enter`]): past max_stack_depth's share the call fails
//! with PostgreSQL's 54001 instead of overflowing the backend's stack,
//! and each level runs on a stack that grows on demand.

// Interpreter state is tuples of plans, types and rows; naming each
// shape would add aliases used once.
#![allow(clippy::type_complexity)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};
use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::catalog::FuncDef;
use crate::exec::Row;
use crate::host::Host;
use crate::types::{self, Oid, Ty};
use crate::value::Value;

/// SQLSTATEs of routine definitions and calls (PostgreSQL's errcodes).
pub mod codes {
    use tusk_common::sqlstate::SqlState;
    pub const INVALID_FUNCTION_DEFINITION: SqlState = SqlState::new("42P13");
    pub const AMBIGUOUS_FUNCTION: SqlState = SqlState::new("42725");
    pub const WRONG_OBJECT_TYPE: SqlState = SqlState::new("42809");
    pub const STATEMENT_TOO_COMPLEX: SqlState = SqlState::new("54001");
    pub const UNDEFINED_OBJECT: SqlState = SqlState::new("42704");
    pub const INVALID_PARAMETER_VALUE: SqlState = SqlState::new("22023");
}

/// A parsed routine statement, bound when prepared.
#[derive(Debug, Clone)]
pub(crate) enum RoutineStmt {
    Create {
        schema: Option<String>,
        def: Box<FuncDef>,
        replace: bool,
    },
    Drop {
        /// `b'f'`, `b'p'`, or `b'r'` for DROP ROUTINE.
        kind: u8,
        if_exists: bool,
        items: Vec<(Signature, FullArgs)>,
        /// CASCADE: operators and casts using the routine go with it.
        cascade: bool,
    },
    Do {
        body: String,
    },
    /// `CALL p(args)`: run as `SELECT p(args)` with procedures allowed
    /// (callproc.rs).
    Call(Box<crate::callproc::CallStmt>),
    /// ALTER FUNCTION / PROCEDURE / ROUTINE (alterfn.rs).
    Alter(Box<crate::alterfn::AlterRoutine>),
}

impl RoutineStmt {
    pub fn tag(&self) -> &'static str {
        match self {
            RoutineStmt::Create { def, .. } if def.kind == b'p' => "CREATE PROCEDURE",
            RoutineStmt::Create { def, .. } if def.kind == b'a' => "CREATE AGGREGATE",
            RoutineStmt::Create { .. } => "CREATE FUNCTION",
            RoutineStmt::Drop { kind: b'p', .. } => "DROP PROCEDURE",
            RoutineStmt::Drop { kind: b'r', .. } => "DROP ROUTINE",
            RoutineStmt::Drop { kind: b'a', .. } => "DROP AGGREGATE",
            RoutineStmt::Drop { .. } => "DROP FUNCTION",
            RoutineStmt::Alter(a) => match a.kind {
                b'p' => "ALTER PROCEDURE",
                b'r' => "ALTER ROUTINE",
                _ => "ALTER FUNCTION",
            },
            RoutineStmt::Do { .. } => "DO",
            RoutineStmt::Call(_) => "CALL",
        }
    }
}

fn duplicate_body() -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, "duplicate function body specified")
}

pub(crate) fn syntax(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

/// The significant tokens of `sql` (whitespace and comments dropped).
pub(crate) fn tokens(sql: &str) -> Result<Vec<Token>, PgError> {
    let toks = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .map_err(|e| syntax(format!("syntax error: {e}")))?;
    Ok(toks
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF))
        .collect())
}

/// Tokens with their positions (for PL/pgSQL line numbers and text).
pub(crate) fn tokens_with_spans(sql: &str) -> Result<Vec<TokenWithSpan>, PgError> {
    Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| syntax(format!("syntax error: {e}")))
}

/// A cursor over significant tokens.
pub(crate) struct Cur {
    pub(crate) t: Vec<Token>,
    pub(crate) i: usize,
}

impl Cur {
    pub(crate) fn peek(&self) -> Option<&Token> {
        self.t.get(self.i)
    }
    pub(crate) fn next(&mut self) -> Option<Token> {
        let t = self.t.get(self.i).cloned();
        self.i += 1;
        t
    }
    pub(crate) fn word(&self) -> Option<String> {
        match self.peek() {
            Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        }
    }
    pub(crate) fn eat(&mut self, kw: &str) -> bool {
        if self.word().as_deref() == Some(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    pub(crate) fn expect(&mut self, kw: &str) -> Result<(), PgError> {
        if self.eat(kw) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }
    pub(crate) fn eat_tok(&mut self, t: &Token) -> bool {
        if self.peek() == Some(t) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    pub(crate) fn unexpected(&self) -> PgError {
        match self.peek() {
            Some(t) => syntax(format!("syntax error at or near \"{t}\"")),
            None => syntax("syntax error at end of input"),
        }
    }
    /// An identifier, folded to lower case unless quoted.
    pub(crate) fn ident(&mut self) -> Result<String, PgError> {
        match self.next() {
            Some(Token::Word(w)) => Ok(if w.quote_style.is_some() {
                w.value
            } else {
                w.value.to_lowercase()
            }),
            Some(t) => Err(syntax(format!("syntax error at or near \"{t}\""))),
            None => Err(syntax("syntax error at end of input")),
        }
    }
    /// A LANGUAGE name: a word, or for backward compatibility a string
    /// constant (PostgreSQL's NonReservedWord_or_Sconst).
    pub(crate) fn language(&mut self) -> Result<String, PgError> {
        if let Some(Token::SingleQuotedString(s)) = self.peek() {
            // Not case-folded: `LANGUAGE 'SQL'` names no language.
            let s = s.clone();
            self.next();
            return Ok(s);
        }
        self.ident()
    }
    /// `[schema.]name`.
    pub(crate) fn qualified(&mut self) -> Result<(Option<String>, String), PgError> {
        let a = self.ident()?;
        if self.eat_tok(&Token::Period) {
            let b = self.ident()?;
            Ok((Some(a), b))
        } else {
            Ok((None, a))
        }
    }
    /// Tokens up to (not including) a top-level token for which `stop`
    /// holds, as text.
    fn until(&mut self, stop: &dyn Fn(&Token, usize) -> bool) -> String {
        let mut depth = 0usize;
        let mut out = String::new();
        while let Some(t) = self.peek() {
            if stop(t, depth) {
                break;
            }
            match t {
                Token::LParen | Token::LBracket => depth += 1,
                Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
                _ => {}
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&t.to_string());
            self.i += 1;
        }
        out
    }
    /// A string constant: `'...'`, `E'...'` or `$$...$$`.
    fn string(&mut self) -> Result<String, PgError> {
        match self.next() {
            Some(Token::SingleQuotedString(s))
            | Some(Token::EscapedStringLiteral(s))
            | Some(Token::NationalStringLiteral(s)) => Ok(s),
            Some(Token::DollarQuotedString(d)) => Ok(d.value),
            Some(t) => Err(syntax(format!("syntax error at or near \"{t}\""))),
            None => Err(syntax("syntax error at end of input")),
        }
    }
}

/// The type named by `text` (`integer`, `varchar(10)`, `double
/// precision`), resolved as a cast target is.
pub(crate) fn resolve_type(host: &dyn Host, text: &str) -> Result<Ty, PgError> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    if lower == "void" {
        return Ok(Ty::new(types::VOID));
    }
    if lower == "record" {
        return Ok(Ty::new(types::RECORD));
    }
    if lower == "internal" {
        return Ok(Ty::new(2281));
    }
    if lower == "trigger" {
        return Ok(Ty::new(crate::trigger::TRIGGER));
    }
    if let Some(p) = crate::polymorphic::by_name(&lower) {
        return Ok(Ty::new(p));
    }
    let stmts = crate::parse(&format!("SELECT NULL::{t}"))
        .map_err(|_| syntax(format!("syntax error at or near \"{t}\"")))?;
    let Some(s) = stmts.first() else {
        return Err(syntax("syntax error at end of input"));
    };
    let p = crate::prepare(s, &[], host)?;
    let c = &p.columns()[0];
    Ok(Ty::with_mod(c.type_oid, c.type_mod))
}

fn is_type_start_pair(a: &str, b: &str) -> bool {
    matches!(
        (a, b),
        ("double", "precision")
            | ("character" | "char" | "bit" | "national", "varying")
            | ("timestamp" | "time", "with" | "without")
    )
}

/// Parses one argument declaration: `[mode] [name] type [DEFAULT expr]`.
pub(crate) fn parse_arg(
    text_tokens: Vec<Token>,
) -> Result<(String, String, String, Option<String>), PgError> {
    let mut c = Cur {
        t: text_tokens,
        i: 0,
    };
    let mut mode = "IN".to_string();
    let is_mode = |t: Option<&Token>| match t {
        Some(Token::Word(w)) if w.quote_style.is_none() => {
            let u = w.value.to_ascii_uppercase();
            matches!(u.as_str(), "IN" | "OUT" | "INOUT" | "VARIADIC").then_some(u)
        }
        _ => None,
    };
    if let Some(w) = is_mode(c.peek()) {
        mode = w;
        c.i += 1;
    } else if let Some(w) = is_mode(c.t.get(1)) {
        // `name mode type`, which PostgreSQL's grammar also takes.
        let name = c.ident()?;
        c.i += 1;
        mode = w;
        let ty = c.until(&|t, d| {
            d == 0
                && (matches!(t, Token::Eq)
                    || matches!(t, Token::Word(w) if w.value.eq_ignore_ascii_case("default")))
        });
        let default = if c.peek().is_some() {
            c.i += 1;
            Some(c.until(&|_, _| false))
        } else {
            None
        };
        return Ok((mode, name, ty, default));
    }
    // Name or type: a name is followed by more of the type.
    let rest: Vec<&Token> = c.t[c.i..]
        .iter()
        .take_while(|t| {
            !matches!(t, Token::Eq)
                && !matches!(t, Token::Word(w) if w.value.eq_ignore_ascii_case("default"))
        })
        .collect();
    let mut name = String::new();
    if rest.len() >= 2 {
        if let (Token::Word(a), Token::Word(b)) = (rest[0], rest[1]) {
            let a_l = a.value.to_ascii_lowercase();
            let b_l = b.value.to_ascii_lowercase();
            if !is_type_start_pair(&a_l, &b_l) || a.quote_style.is_some() {
                name = c.ident()?;
                // PostgreSQL also takes `name mode type`.
                if mode == "IN" {
                    if let Some(w) = c.word() {
                        if matches!(w.as_str(), "IN" | "OUT" | "INOUT" | "VARIADIC")
                            && c.t.len() > c.i + 1
                        {
                            mode = w;
                            c.i += 1;
                        }
                    }
                }
            }
        }
    }
    let ty = c.until(&|t, d| {
        d == 0
            && (matches!(t, Token::Eq)
                || matches!(t, Token::Word(w) if w.value.eq_ignore_ascii_case("default")))
    });
    let default = if c.peek().is_some() {
        c.i += 1;
        Some(c.until(&|_, _| false))
    } else {
        None
    };
    Ok((mode, name, ty, default))
}

/// Split a parenthesized list's tokens at top-level commas.
pub(crate) fn split_list(c: &mut Cur) -> Result<Vec<Vec<Token>>, PgError> {
    if !c.eat_tok(&Token::LParen) {
        return Err(c.unexpected());
    }
    let mut items = Vec::new();
    let mut cur = Vec::new();
    let mut depth = 0usize;
    loop {
        let Some(t) = c.next() else {
            return Err(syntax("syntax error at end of input"));
        };
        match t {
            Token::RParen if depth == 0 => break,
            Token::Comma if depth == 0 => {
                items.push(std::mem::take(&mut cur));
                continue;
            }
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth -= 1,
            _ => {}
        }
        cur.push(t);
    }
    if !cur.is_empty() {
        items.push(cur);
    }
    Ok(items)
}

/// Reads a routine statement (the caller routed it here by its leading
/// words). Types are resolved now, through `host`.
pub(crate) fn bind(sql: &str, params: &[Oid], host: &dyn Host) -> Result<RoutineStmt, PgError> {
    let mut c = Cur {
        t: tokens(sql)?,
        i: 0,
    };
    match c.word().as_deref() {
        Some("CREATE") => {
            c.i += 1;
            let replace = if c.eat("OR") {
                c.expect("REPLACE")?;
                true
            } else {
                false
            };
            if c.eat("AGGREGATE") {
                return crate::useragg::bind_create(&mut c, host, replace);
            }
            let procedure = if c.eat("PROCEDURE") {
                true
            } else {
                c.expect("FUNCTION")?;
                false
            };
            bind_create(sql, &mut c, host, replace, procedure)
        }
        Some("ALTER") => {
            c.i += 1;
            Ok(RoutineStmt::Alter(Box::new(crate::alterfn::bind(
                sql, &mut c, host,
            )?)))
        }
        Some("DROP") => {
            c.i += 1;
            let kind = if c.eat("AGGREGATE") {
                b'a'
            } else if c.eat("PROCEDURE") {
                b'p'
            } else if c.eat("ROUTINE") {
                b'r'
            } else {
                c.expect("FUNCTION")?;
                b'f'
            };
            let if_exists = if c.eat("IF") {
                c.expect("EXISTS")?;
                true
            } else {
                false
            };
            let items = signatures(&mut c, host)?;
            let cascade = c.eat("CASCADE");
            if !cascade {
                c.eat("RESTRICT");
            }
            if c.peek().is_some() {
                return Err(c.unexpected());
            }
            Ok(RoutineStmt::Drop {
                kind,
                if_exists,
                items,
                cascade,
            })
        }
        Some("DO") => {
            c.i += 1;
            let mut body = None;
            let mut lang = "plpgsql".to_string();
            while c.peek().is_some() {
                if c.eat("LANGUAGE") {
                    lang = c.language()?;
                } else {
                    body = Some(c.string()?);
                }
            }
            let Some(body) = body else {
                return Err(syntax("no inline code specified"));
            };
            if lang != "plpgsql" {
                return Err(PgError::error(
                    codes::UNDEFINED_OBJECT,
                    format!("language \"{lang}\" does not exist"),
                ));
            }
            Ok(RoutineStmt::Do { body })
        }
        Some("CALL") => {
            c.i += 1;
            crate::callproc::bind(sql, &mut c, params, host)
        }
        _ => Err(c.unexpected()),
    }
}

fn bind_create(
    sql_text: &str,
    c: &mut Cur,
    host: &dyn Host,
    replace: bool,
    procedure: bool,
) -> Result<RoutineStmt, PgError> {
    let (schema, name) = c.qualified()?;
    let mut def = FuncDef {
        oid: 0,
        schema: schema.clone().unwrap_or_default(),
        name,
        kind: if procedure { b'p' } else { b'f' },
        arg_types: Vec::new(),
        arg_names: Vec::new(),
        defaults: Vec::new(),
        ret: types::VOID,
        retset: false,
        out_cols: Vec::new(),
        out_vars: false,
        language: String::new(),
        src: String::new(),
        strict: false,
        volatility: b'v',
        owner: 0,
        acl: None,
        attrs: Default::default(),
        variadic: 0,
    };
    let mut outs: Vec<(String, Oid)> = Vec::new();
    let mut params: Vec<(u8, String, Oid)> = Vec::new();
    for a in split_list(c)? {
        let (mode, name, ty, default) = parse_arg(a)?;
        // PostgreSQL's order rule: nothing after VARIADIC but a
        // function's OUT parameters.
        if params.iter().any(|p| p.0 == b'v') && (procedure || mode != "OUT") {
            return Err(PgError::error(
                codes::INVALID_FUNCTION_DEFINITION,
                if procedure {
                    "VARIADIC parameter must be the last parameter"
                } else {
                    "VARIADIC parameter must be the last input parameter"
                },
            ));
        }
        let t = resolve_type(host, &ty)?;
        if mode == "VARIADIC" {
            def.variadic = match t.oid {
                crate::polymorphic::ANYARRAY => crate::polymorphic::ANYELEMENT,
                crate::polymorphic::ANYCOMPATIBLEARRAY => crate::polymorphic::ANYCOMPATIBLE,
                o => types::array::elem_type(o).ok_or_else(|| {
                    PgError::error(
                        codes::INVALID_FUNCTION_DEFINITION,
                        "VARIADIC parameter must be an array",
                    )
                })?,
            };
        }
        if mode == "OUT" && default.is_some() {
            return Err(PgError::error(
                codes::INVALID_FUNCTION_DEFINITION,
                "only input parameters can have default values",
            ));
        }
        params.push((
            match mode.as_str() {
                "OUT" => b'o',
                "INOUT" => b'b',
                "VARIADIC" => b'v',
                _ => b'i',
            },
            name.clone(),
            t.oid,
        ));

        if mode == "OUT" || mode == "INOUT" {
            outs.push((name.clone(), t.oid));
        }
        if mode == "OUT" {
            if procedure && !def.defaults.is_empty() {
                return Err(PgError::error(
                    codes::INVALID_FUNCTION_DEFINITION,
                    "procedure OUT parameters cannot appear after one with a default value",
                ));
            }
            continue;
        }
        match default {
            Some(d) => def.defaults.push(d),
            None if !def.defaults.is_empty() => {
                return Err(PgError::error(
                    codes::INVALID_FUNCTION_DEFINITION,
                    "input parameters after one with a default value must also have defaults",
                ))
            }
            None => {}
        }
        def.arg_types.push(t.oid);
        def.arg_names.push(name);
    }
    let mut have_ret = false;
    let mut body: Option<String> = None;
    // Options applied once the result (set or not) is known.
    let mut attr_opts = Vec::new();
    // Whether AS had a second item (refused once the language is known).
    let mut two_items = false;
    while c.peek().is_some() {
        let Some(w) = c.word() else {
            if c.eat_tok(&Token::SemiColon) {
                continue;
            }
            return Err(c.unexpected());
        };
        c.i += 1;
        match w.as_str() {
            "RETURNS" if c.eat("SETOF") => {
                let ty = c.until(&|t, d| d == 0 && is_option_word(t));
                resolve_result(host, &ty, &mut def)?;
                def.retset = true;
                have_ret = true;
            }
            "RETURNS" if c.eat("TABLE") => {
                for col in split_list(c)? {
                    let (_, n, ty, _) = parse_arg(col)?;
                    def.out_cols.push((n, resolve_type(host, &ty)?.oid));
                }
                def.retset = true;
                def.out_vars = true;
                def.ret = if def.out_cols.len() == 1 {
                    def.out_cols[0].1
                } else {
                    types::RECORD
                };
                have_ret = true;
            }
            "RETURNS" => {
                if c.eat("NULL") {
                    c.expect("ON")?;
                    c.expect("NULL")?;
                    c.expect("INPUT")?;
                    def.strict = true;
                    continue;
                }
                let ty = c.until(&|t, d| d == 0 && is_option_word(t));
                resolve_result(host, &ty, &mut def)?;
                have_ret = true;
            }
            "LANGUAGE" => def.language = c.language()?,
            "AS" => {
                if body.is_some() {
                    return Err(duplicate_body());
                }
                body = Some(c.string()?);
                if c.eat_tok(&Token::Comma) {
                    c.string()?;
                    two_items = true;
                }
            }
            "RETURN" => {
                let e = c.until(&|t, d| d == 0 && matches!(t, Token::SemiColon));
                if body.is_some() {
                    return Err(duplicate_body());
                }
                body = Some(format!("RETURN {e}"));
                def.attrs.sqlbody = true;
                if def.language.is_empty() {
                    def.language = "sql".into();
                }
            }
            "IMMUTABLE" | "STABLE" | "VOLATILE" | "STRICT" | "WINDOW" if procedure => {
                return Err(PgError::error(
                    codes::INVALID_FUNCTION_DEFINITION,
                    "invalid attribute in procedure definition",
                )
                .with_position(token_position(sql_text, c.i - 1)));
            }
            "IMMUTABLE" => def.volatility = b'i',
            "STABLE" => def.volatility = b's',
            "VOLATILE" => def.volatility = b'v',
            "STRICT" => def.strict = true,
            "CALLED" => {
                c.expect("ON")?;
                c.expect("NULL")?;
                c.expect("INPUT")?;
                def.strict = false;
            }
            "SECURITY" | "EXTERNAL" | "LEAKPROOF" | "NOT" | "PARALLEL" | "COST" | "ROWS"
            | "SET" => {
                // The attributes ALTER FUNCTION also sets: read as its
                // options are (alterfn.rs), applied to the definition.
                c.i -= 1;
                if let Some(o) = crate::alterfn::option(sql_text, c, host, procedure)? {
                    attr_opts.push(o);
                }
            }
            "BEGIN" => {
                if body.is_some() {
                    return Err(duplicate_body());
                }
                body = Some(crate::fndef::read_atomic(c)?);
                def.attrs.sqlbody = true;
                if def.language.is_empty() {
                    def.language = "sql".into();
                }
            }
            "WINDOW" => {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "window functions written in SQL are not supported",
                ))
            }
            _ => {
                c.i -= 1;
                return Err(c.unexpected());
            }
        }
    }
    if params.iter().any(|p| p.0 != b'i') {
        def.attrs.params = params;
    }
    let declared_ret = have_ret;
    if !outs.is_empty() && def.out_cols.is_empty() {
        if procedure {
            // A procedure's output parameters make one row (prorettype
            // record), as many columns as there are.
            def.ret = types::RECORD;
            def.out_cols = outs;
        } else if outs.len() == 1 {
            if !have_ret {
                def.ret = outs[0].1;
                have_ret = true;
            } else if def.ret != outs[0].1 {
                return Err(PgError::error(
                    codes::INVALID_FUNCTION_DEFINITION,
                    format!(
                        "function result type must be {} because of OUT parameters",
                        types::sql_name(outs[0].1)
                    ),
                ));
            }
        } else {
            if have_ret && def.ret != types::RECORD {
                return Err(PgError::error(
                    codes::INVALID_FUNCTION_DEFINITION,
                    "function result type must be record because of OUT parameters",
                ));
            }
            def.ret = types::RECORD;
            def.out_cols = outs;
            have_ret = true;
        }
    }
    if procedure {
        if declared_ret {
            return Err(PgError::error(
                codes::INVALID_FUNCTION_DEFINITION,
                "procedure cannot have a return type",
            ));
        }
    } else if !have_ret {
        return Err(PgError::error(
            codes::INVALID_FUNCTION_DEFINITION,
            "function result type must be specified",
        ));
    }
    let Some(body) = body else {
        return Err(PgError::error(
            codes::INVALID_FUNCTION_DEFINITION,
            "no function body specified",
        ));
    };
    if def.language.is_empty() {
        return Err(PgError::error(
            codes::INVALID_FUNCTION_DEFINITION,
            "no language specified",
        ));
    }
    if two_items && matches!(def.language.as_str(), "sql" | "plpgsql") {
        return Err(PgError::error(
            codes::INVALID_FUNCTION_DEFINITION,
            format!("only one AS item needed for language \"{}\"", def.language),
        ));
    }
    if def.language == "internal" {
        // prosrc names a built-in function (PostgreSQL's fmgr table;
        // here the ones operator.rs knows).
        let name = body.trim();
        if !crate::operator::BUILTIN_PROCS
            .iter()
            .any(|p| p.name == name)
        {
            return Err(PgError::error(
                sqlstate::UNDEFINED_FUNCTION,
                format!("there is no built-in function named \"{name}\""),
            ));
        }
    } else if !matches!(def.language.as_str(), "sql" | "plpgsql") {
        return Err(PgError::error(
            codes::UNDEFINED_OBJECT,
            format!("language \"{}\" does not exist", def.language),
        ));
    }
    def.src = body;
    for o in &attr_opts {
        crate::alterfn::apply(&mut def, o, host)?;
    }
    if def.ret == crate::trigger::TRIGGER {
        // PostgreSQL's validators: only procedural languages write
        // trigger functions, and those take no declared arguments.
        if def.language == "sql" {
            return Err(PgError::error(
                codes::INVALID_FUNCTION_DEFINITION,
                "SQL functions cannot return type trigger",
            ));
        }
        if !def.arg_types.is_empty() {
            return Err(PgError::error(
                codes::INVALID_FUNCTION_DEFINITION,
                "trigger functions cannot have declared arguments",
            )
            .with_hint(
                "The arguments of the trigger can be accessed through TG_NARGS and TG_ARGV instead.",
            )
            .with_context(format!(
                "compilation of PL/pgSQL function \"{}\" near line 1",
                def.name
            )));
        }
    }
    crate::polymorphic::check_result(def.ret, &def.arg_types)?;
    for c in &def.out_cols {
        crate::polymorphic::check_result(c.1, &def.arg_types)?;
    }
    validate(host, &def)?;
    Ok(RoutineStmt::Create {
        schema,
        def: Box::new(def),
        replace,
    })
}

/// A result type: a type name, or a row type (a table's or a composite
/// type's) whose fields become the result's columns, as RETURNS TABLE's
/// (routines keep their rows as records of out columns).
fn resolve_result(host: &dyn Host, text: &str, def: &mut FuncDef) -> Result<(), PgError> {
    match resolve_type(host, text) {
        Ok(t) if tusk_types::composite::is_composite(t.oid) => {
            def.out_cols = tusk_types::composite::fields(t)
                .unwrap_or_default()
                .into_iter()
                .map(|f| (f.name, f.ty.oid))
                .collect();
            def.ret = types::RECORD;
            Ok(())
        }
        Ok(t) => {
            def.ret = t.oid;
            Ok(())
        }
        Err(e) => {
            let t = text.trim().to_lowercase();
            let (schema, name) = match t.split_once('.') {
                Some((s, n)) => (Some(s.trim()), n.trim()),
                None => (None, t.as_str()),
            };
            match crate::catalog::lookup(host, schema, name) {
                Ok(rel) => {
                    def.out_cols = rel
                        .columns
                        .iter()
                        .map(|c| (c.name.clone(), c.ty.oid))
                        .collect();
                    def.ret = types::RECORD;
                    Ok(())
                }
                Err(_) => Err(e),
            }
        }
    }
}

fn is_option_word(t: &Token) -> bool {
    match t {
        Token::Word(w) if w.quote_style.is_none() => matches!(
            w.value.to_ascii_uppercase().as_str(),
            "LANGUAGE"
                | "AS"
                | "IMMUTABLE"
                | "STABLE"
                | "VOLATILE"
                | "STRICT"
                | "CALLED"
                | "SECURITY"
                | "EXTERNAL"
                | "LEAKPROOF"
                | "PARALLEL"
                | "COST"
                | "ROWS"
                | "SET"
                | "RETURN"
                | "BEGIN"
                | "WINDOW"
                | "NOT"
                | "RETURNS"
        ),
        Token::SemiColon => true,
        _ => false,
    }
}

/// check_function_bodies: a SQL function's statements are bound now
/// (unless an earlier one is a utility statement, whose effect binding
/// cannot see) and its last statement must return the declared type; a
/// PL/pgSQL body is parsed.
fn validate(host: &dyn Host, def: &FuncDef) -> Result<(), PgError> {
    validate_body(host, def).map_err(|e| {
        if def.language != "sql" {
            return e;
        }
        // A place in the body is not a place in the CREATE statement
        // (PostgreSQL maps it there; tusk does not yet).
        add_context(
            e.with_position(None),
            &format!("SQL function \"{}\"", def.name),
        )
    })
}

fn validate_body(host: &dyn Host, def: &FuncDef) -> Result<(), PgError> {
    if def.language == "internal" {
        return Ok(());
    }
    if def.language == "plpgsql" {
        crate::plpgsql::compile(host, def).map(|_| ())
    } else if def
        .arg_types
        .iter()
        .any(|&t| crate::polymorphic::is_polymorphic(t))
        || def
            .attrs
            .config
            .iter()
            .any(|c| c.starts_with("search_path="))
    {
        // As PostgreSQL's fmgr_sql_validator: a body over polymorphic
        // arguments is only parsed; it is bound per call, with the
        // actual types. So is one whose SET search_path decides what its
        // names mean (PostgreSQL validates under the SET clauses; the
        // binder here cannot change settings): its names are resolved
        // at the first call, under that search_path.
        crate::parse(&substitute(&def.src, &|n| arg_index(def, n))).map(|_| ())
    } else {
        let stmts = crate::parse(&substitute(&crate::fndef::body_sql(def), &|n| {
            arg_index(def, n)
        }))?;
        let mut last = None;
        for s in &stmts {
            let p = crate::prepare(s, &def.arg_types, host)?;
            if p.param_types().len() > def.arg_types.len() {
                let n = def.arg_types.len() + 1;
                return Err(PgError::error(
                    sqlstate::SqlState::new("42P02"),
                    format!("there is no parameter ${n}"),
                ));
            }
            if p.command() == crate::Command::Other("CALL") && !p.columns().is_empty() {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "calling procedures with output arguments is not supported in SQL functions",
                ));
            }
            let utility = !matches!(
                p.command(),
                crate::Command::Select
                    | crate::Command::Other("INSERT" | "UPDATE" | "DELETE" | "MERGE")
            );
            last = Some(p);
            if utility {
                return Ok(());
            }
        }
        if def.ret == types::VOID {
            return Ok(());
        }
        let Some(p) = last else {
            return Err(PgError::error(
                codes::INVALID_FUNCTION_DEFINITION,
                format!(
                    "return type mismatch in function declared to return {}",
                    types::sql_name(def.ret)
                ),
            )
            .with_detail(
                "Function's final statement must be SELECT or INSERT/UPDATE/DELETE RETURNING.",
            ));
        };
        let cols = p.columns();
        let want: Vec<Oid> = if def.ret == types::RECORD {
            def.out_cols.iter().map(|c| c.1).collect()
        } else {
            vec![def.ret]
        };
        if cols.is_empty() {
            return Err(PgError::error(
                codes::INVALID_FUNCTION_DEFINITION,
                format!(
                    "return type mismatch in function declared to return {}",
                    types::sql_name(def.ret)
                ),
            )
            .with_detail(
                "Function's final statement must be SELECT or INSERT/UPDATE/DELETE RETURNING.",
            ));
        }
        if cols.len() != want.len() && want.len() == 1 {
            return Err(PgError::error(
                codes::INVALID_FUNCTION_DEFINITION,
                format!(
                    "return type mismatch in function declared to return {}",
                    types::sql_name(def.ret)
                ),
            )
            .with_detail("Final statement must return exactly one column."));
        }
        for (c, &w) in cols.iter().zip(want.iter()) {
            // PostgreSQL coerces the result by assignment: implicit casts,
            // and any type to a string type.
            let assignable = c.type_oid == w
                || crate::bind::implicit_ok(c.type_oid, w)
                || (matches!(w, types::TEXT | types::VARCHAR | types::BPCHAR)
                    && crate::cast::castable(c.type_oid, w))
                || matches!(
                    (c.type_oid, w),
                    (types::INT8, types::INT4 | types::INT2)
                        | (types::INT4, types::INT2)
                        | (
                            types::NUMERIC | types::FLOAT8 | types::FLOAT4,
                            types::INT2 | types::INT4 | types::INT8 | types::NUMERIC
                        )
                        | (types::FLOAT8, types::FLOAT4)
                );
            if !assignable {
                return Err(PgError::error(
                    codes::INVALID_FUNCTION_DEFINITION,
                    format!(
                        "return type mismatch in function declared to return {}",
                        types::sql_name(def.ret)
                    ),
                )
                .with_detail(format!(
                    "Actual return type is {}.",
                    types::sql_name(c.type_oid)
                )));
            }
        }
        Ok(())
    }
}

/// 1-based parameter number of a SQL function's argument `name`.
fn arg_index(def: &FuncDef, name: &str) -> Option<usize> {
    def.arg_names
        .iter()
        .position(|n| !n.is_empty() && n == name)
        .map(|i| i + 1)
}

/// Replaces each identifier `lookup` knows (not qualified, not a
/// function name, not an alias after AS, not a column of INSERT's
/// column list) by `$n`. Text outside identifiers is kept as written.
pub(crate) fn substitute(sql: &str, lookup: &dyn Fn(&str) -> Option<usize>) -> String {
    let Ok(toks) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize() else {
        return sql.to_string();
    };
    let sig: Vec<usize> = (0..toks.len())
        .filter(|&i| !matches!(toks[i], Token::Whitespace(_) | Token::EOF))
        .collect();
    let mut replace: HashMap<usize, usize> = HashMap::new();
    let mut insert_cols = false;
    for (k, &i) in sig.iter().enumerate() {
        let prev = k.checked_sub(1).map(|p| &toks[sig[p]]);
        let next = sig.get(k + 1).map(|&n| &toks[n]);
        if let Token::Word(w) = &toks[i] {
            let name = if w.quote_style.is_some() {
                w.value.clone()
            } else {
                w.value.to_lowercase()
            };
            // INSERT INTO t (a, b): the column list names columns.
            if k >= 2
                && matches!(prev, Some(Token::Word(p)) if p.value.eq_ignore_ascii_case("into"))
            {
                if let Some(Token::LParen) = next {
                    insert_cols = true;
                }
                continue;
            }
            if insert_cols {
                continue;
            }
            if matches!(prev, Some(Token::Period))
                || matches!(next, Some(Token::LParen) | Some(Token::Period))
                || matches!(prev, Some(Token::Word(p)) if p.quote_style.is_none() && p.value.eq_ignore_ascii_case("as"))
                || matches!(prev, Some(Token::DoubleColon))
            {
                continue;
            }
            if let Some(n) = lookup(&name) {
                replace.insert(i, n);
            }
        } else if insert_cols && matches!(toks[i], Token::RParen) {
            insert_cols = false;
        }
    }
    let mut out = String::with_capacity(sql.len());
    for (i, t) in toks.iter().enumerate() {
        match replace.get(&i) {
            Some(n) => out.push_str(&format!("${n}")),
            None => out.push_str(&t.to_string()),
        }
    }
    out
}

// ---- dynamic SQL helpers ----

/// PostgreSQL's quote_ident: double quotes unless the name is a plain
/// lower-case identifier and not a reserved word.
pub(crate) fn quote_ident(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && crate::parse::keyword_category(s).is_none();
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// PostgreSQL's quote_literal: single quotes, an E'' string when the
/// text holds a backslash.
pub(crate) fn quote_literal(s: &str) -> String {
    let body = s.replace('\'', "''");
    if s.contains('\\') {
        format!("E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

/// `format(fmt, args...)`: PostgreSQL's text_format. A specifier is
/// `%[n$][-][width]type` with type s, I or L (`%%` is a percent sign);
/// width is digits, `*` (the next argument) or `*n$` (argument n), a
/// negative width argument meaning left-aligned; NULL widths are 0.
pub(crate) fn format(args: &[Value]) -> Result<Value, PgError> {
    let Some(fmt) = args.first().and_then(crate::value::to_text) else {
        return Ok(Value::Null);
    };
    let rest = &args[1..];
    let unterminated = || {
        PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "unterminated format() type specifier",
        )
        .with_hint("For a single \"%\" use \"%%\".")
    };
    let arg_zero = || {
        PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "format specifies argument 0, but arguments are numbered from 1",
        )
    };
    let too_few = || {
        PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "too few arguments for format()",
        )
    };
    let chars: Vec<char> = fmt.chars().collect();
    // Moves past one character; the specifier may not end there.
    let advance = |i: &mut usize| -> Result<(), PgError> {
        *i += 1;
        if *i >= chars.len() {
            return Err(unterminated());
        }
        Ok(())
    };
    let digits = |i: &mut usize| -> Result<Option<usize>, PgError> {
        let mut n: Option<usize> = None;
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            let d = chars[*i] as usize - '0' as usize;
            let v = n
                .unwrap_or(0)
                .checked_mul(10)
                .and_then(|v| v.checked_add(d));
            match v.filter(|&v| v <= i32::MAX as usize) {
                Some(v) => n = Some(v),
                None => {
                    return Err(PgError::error(
                        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                        "number is out of range",
                    ))
                }
            }
            advance(i)?;
        }
        Ok(n)
    };
    let mut out = String::new();
    let mut i = 0usize;
    // The last argument used (1-based; 0: none yet).
    let mut arg = 0usize;
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        advance(&mut i)?;
        if chars[i] == '%' {
            out.push('%');
            i += 1;
            continue;
        }
        let (mut argpos, mut widthpos, mut width, mut left) = (None, None, 0usize, false);
        // Leading digits are the argument's position when a `$` follows,
        // else the width, and then the type comes next.
        let mut width_given = false;
        match digits(&mut i)? {
            Some(n) if chars[i] == '$' => {
                if n == 0 {
                    return Err(arg_zero());
                }
                argpos = Some(n);
                advance(&mut i)?;
            }
            Some(n) => {
                width = n;
                width_given = true;
            }
            None => {}
        }
        if !width_given {
            while chars[i] == '-' {
                left = true;
                advance(&mut i)?;
            }
            if chars[i] == '*' {
                advance(&mut i)?;
                match digits(&mut i)? {
                    Some(n) => {
                        if chars[i] != '$' {
                            return Err(PgError::error(
                                sqlstate::INVALID_PARAMETER_VALUE,
                                "width argument position must be ended by \"$\"",
                            ));
                        }
                        if n == 0 {
                            return Err(arg_zero());
                        }
                        widthpos = Some(n);
                        advance(&mut i)?;
                    }
                    None => widthpos = Some(0),
                }
            } else if let Some(n) = digits(&mut i)? {
                width = n;
            }
        }
        let kind = chars[i];
        i += 1;
        if !matches!(kind, 's' | 'I' | 'L') {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("unrecognized format() type specifier \"{kind}\""),
            )
            .with_hint("For a single \"%\" use \"%%\"."));
        }
        if let Some(wp) = widthpos {
            arg = if wp > 0 { wp } else { arg + 1 };
            let Some(w) = rest.get(arg - 1) else {
                return Err(too_few());
            };
            let w: i64 = match w {
                Value::Null => 0,
                Value::Int2(v) => *v as i64,
                Value::Int4(v) => *v as i64,
                other => {
                    // Other types: through their text, as int4in reads it.
                    let t = crate::value::to_text(other).unwrap_or_default();
                    match t.trim().parse::<i64>() {
                        Ok(v) if i32::try_from(v).is_ok() => v,
                        Ok(_) => {
                            return Err(PgError::error(
                                sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                                format!("value \"{t}\" is out of range for type integer"),
                            ))
                        }
                        Err(_) => {
                            return Err(PgError::error(
                                sqlstate::INVALID_TEXT_REPRESENTATION,
                                format!("invalid input syntax for type integer: \"{t}\""),
                            ))
                        }
                    }
                }
            };
            if w == i32::MIN as i64 {
                return Err(PgError::error(
                    sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                    "number is out of range",
                ));
            }
            if w < 0 {
                left = true;
            }
            width = w.unsigned_abs() as usize;
        }
        arg = argpos.unwrap_or(arg + 1);
        let Some(v) = rest.get(arg - 1) else {
            return Err(too_few());
        };
        let t = crate::value::to_text(v);
        let text = match kind {
            's' => t.unwrap_or_default(),
            'I' => match t {
                Some(t) => quote_ident(&t),
                None => {
                    return Err(PgError::error(
                        sqlstate::NULL_VALUE_NOT_ALLOWED,
                        "null values cannot be formatted as an SQL identifier",
                    ))
                }
            },
            _ => match t {
                Some(t) => quote_literal(&t),
                None => "NULL".to_string(),
            },
        };
        let pad = width.saturating_sub(text.chars().count());
        if left {
            out.push_str(&text);
            out.extend(std::iter::repeat_n(' ', pad));
        } else {
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&text);
        }
    }
    Ok(Value::Text(out))
}

/// pg_get_function_result: `integer`, `SETOF integer`, `TABLE(a
/// integer)`; NULL for a procedure.
pub(crate) fn result_text(d: &FuncDef) -> Value {
    if d.kind == b'p' {
        return Value::Null;
    }
    let cols = |c: &[(String, Oid)]| {
        c.iter()
            .map(|(n, t)| format!("{} {}", n, types::sql_name(*t)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Value::Text(if d.out_vars {
        format!("TABLE({})", cols(&d.out_cols))
    } else if d.retset {
        format!("SETOF {}", types::sql_name(d.ret))
    } else {
        types::sql_name(d.ret)
    })
}

/// pg_get_function_arguments: `a integer, b integer DEFAULT 10` (the
/// arguments with their modes: RETURNS TABLE's columns are not listed).
pub(crate) fn arguments_text(d: &FuncDef) -> String {
    let params: Vec<(u8, String, Oid)> = if d.attrs.params.is_empty() {
        d.arg_types
            .iter()
            .enumerate()
            .map(|(i, &t)| (b'i', d.arg_names.get(i).cloned().unwrap_or_default(), t))
            .collect()
    } else {
        d.attrs.params.clone()
    };
    let first_default = d.arg_types.len() - d.defaults.len();
    let mut input = 0;
    params
        .iter()
        .map(|(mode, name, t)| {
            // Procedures mark every mode (PostgreSQL's
            // print_function_arguments), so that the list reads the same
            // as DROP PROCEDURE's argument lists.
            let mut s = String::from(match mode {
                b'o' => "OUT ",
                b'b' => "INOUT ",
                b'v' => "VARIADIC ",
                _ if d.kind == b'p' => "IN ",
                _ => "",
            });
            if !name.is_empty() {
                s.push_str(name);
                s.push(' ');
            }
            s.push_str(&types::sql_name(*t));
            if *mode != b'o' {
                if input >= first_default {
                    s.push_str(" DEFAULT ");
                    s.push_str(&d.defaults[input - first_default]);
                }
                input += 1;
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

// ---- calls ----

thread_local! {
    /// Nesting depth of routine calls in this backend.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Set while CALL binds its `SELECT p(args)`: procedures may be named.
    static CALLING: Cell<bool> = const { Cell::new(false) };
    /// A SQL function's bound statements, by oid and argument types (a
    /// polymorphic function is bound per actual types), with the source
    /// and the plan generation they were bound at.
    static SQL_PLANS: RefCell<HashMap<(u32, Vec<Oid>), (String, u64, Rc<Vec<crate::Prepared>>)>> =
        RefCell::new(HashMap::new());
}

pub(crate) fn calling_procedure() -> bool {
    CALLING.with(|c| c.get())
}

thread_local! {
    /// The procedure CALL's `SELECT p(args)` bound to (callproc.rs).
    static CALLEE: RefCell<Option<Rc<FuncDef>>> = const { RefCell::new(None) };
}

/// Notes the procedure a CALL binds to (bind.rs, while calling).
pub(crate) fn note_callee(def: &Rc<FuncDef>) {
    CALLEE.with(|c| *c.borrow_mut() = Some(def.clone()));
}

/// Runs `f` and returns what it returned with the procedure it bound.
pub(crate) fn noting_callee<T>(f: impl FnOnce() -> T) -> (T, Option<Rc<FuncDef>>) {
    CALLEE.with(|c| *c.borrow_mut() = None);
    let r = f();
    (r, CALLEE.with(|c| c.borrow_mut().take()))
}

/// Runs `f` with procedures callable (CALL's `SELECT p(args)`).
pub(crate) fn with_calling<T>(f: impl FnOnce() -> T) -> T {
    CALLING.with(|c| c.set(true));
    let r = f();
    CALLING.with(|c| c.set(false));
    r
}

/// Whether this backend is inside a routine call (a CALL from inside
/// one runs in its caller's transaction).
pub(crate) fn depth() -> usize {
    DEPTH.with(|d| d.get())
}

/// Leaves one call level when dropped.
pub(crate) struct DepthGuard;

impl Drop for DepthGuard {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Enters one call level: 54001 past the depth max_stack_depth allows
/// (8 kB per level: a call's frames in an unoptimized build; the stack
/// itself grows on demand, so the limit is the setting's, never the
/// kernel's). The setting is read only past [`MIN_DEPTH_LIMIT`] levels:
/// no value allows fewer, and a trigger or a function called per row
/// enters once per row.
pub(crate) fn enter(host: &dyn Host) -> Result<DepthGuard, PgError> {
    let d = DEPTH.with(|d| {
        let v = d.get() + 1;
        d.set(v);
        v
    });
    let guard = DepthGuard;
    if d <= MIN_DEPTH_LIMIT {
        return Ok(guard);
    }
    let kb = host
        .show("max_stack_depth")
        .ok()
        .and_then(|s| {
            let s = s.trim();
            if let Some(m) = s.strip_suffix("MB") {
                m.trim().parse::<usize>().ok().map(|m| m * 1024)
            } else if let Some(k) = s.strip_suffix("kB") {
                k.trim().parse::<usize>().ok()
            } else {
                s.parse::<usize>().ok()
            }
        })
        .unwrap_or(2048);
    let limit = (kb / 8).max(MIN_DEPTH_LIMIT);
    if d > limit {
        return Err(PgError::error(codes::STATEMENT_TOO_COMPLEX, "stack depth limit exceeded")
            .with_hint(format!(
                "Increase the configuration parameter \"max_stack_depth\" (currently {kb}kB), after ensuring the platform's stack depth limit is adequate."
            )));
    }
    Ok(guard)
}

/// The fewest call levels any max_stack_depth allows.
const MIN_DEPTH_LIMIT: usize = 10;

/// Runs `f` on a stack with room for another call level.
pub(crate) fn with_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(256 * 1024, 2 * 1024 * 1024, f)
}

/// Appends one CONTEXT line to an error (innermost first, as
/// PostgreSQL's error context stack prints them).
pub(crate) fn add_context(mut e: PgError, line: &str) -> PgError {
    e.context = Some(Box::new(match e.context.take() {
        Some(c) if !c.is_empty() => format!("{c}\n{line}"),
        _ => line.to_string(),
    }));
    e
}

/// What a call returns: one value, or a set's rows.
pub(crate) enum CallResult {
    Scalar(Value),
    Set(Vec<Row>),
}

/// Calls a stored routine with evaluated arguments. Called by the
/// backend running the statement (through expression evaluation).
pub(crate) fn call(
    host: &mut dyn Host,
    def: &FuncDef,
    args: Vec<Value>,
) -> Result<CallResult, PgError> {
    if def.strict && args.iter().any(Value::is_null) {
        return Ok(if def.retset {
            CallResult::Set(Vec::new())
        } else {
            CallResult::Scalar(Value::Null)
        });
    }
    host.check_interrupts()?;
    let _g = enter(host)?;
    with_config(host, def, |host| {
        with_stack(|| {
            if def.language == "plpgsql" {
                crate::plpgsql::call(host, def, args)
            } else if def.language == "internal" {
                Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "calling the internal function {} is not supported yet",
                        def.src.trim()
                    ),
                ))
            } else {
                call_sql(host, def, args)
            }
        })
    })
}

/// Runs `f` as the routine's owner when it is SECURITY DEFINER and with
/// its `SET name = value` clauses (proconfig) in effect; afterwards the
/// user and the settings are as they were before the call, whether `f`
/// failed or not — PostgreSQL's fmgr_security_definer with its GUC nest
/// level. Approximation: a setting the body changed (its
/// value differs from the SET clause's at the end) is left as the body
/// left it, which is right for a plain SET and not for SET LOCAL (whose
/// effect PostgreSQL ends with the call). Any backend, around each call.
fn with_config<T>(
    host: &mut dyn Host,
    def: &FuncDef,
    f: impl FnOnce(&mut dyn Host) -> Result<T, PgError>,
) -> Result<T, PgError> {
    if def.attrs.secdef && def.owner != 0 {
        let prev = host.become_user(def.owner)?;
        let r = with_settings(host, def, f);
        host.restore_user(prev);
        return r;
    }
    with_settings(host, def, f)
}

/// [`with_config`]'s SET clauses.
fn with_settings<T>(
    host: &mut dyn Host,
    def: &FuncDef,
    f: impl FnOnce(&mut dyn Host) -> Result<T, PgError>,
) -> Result<T, PgError> {
    if def.attrs.config.is_empty() {
        return f(host);
    }
    // (name, value before the call, value the SET clause gave it).
    let mut saved: Vec<(String, String, String)> = Vec::new();
    let mut applied = Ok(());
    for item in &def.attrs.config {
        let Some((name, value)) = item.split_once('=') else {
            continue;
        };
        let set = host.show(name).and_then(|old| {
            host.set_config(name, value, true)?;
            Ok((old, host.show(name)?))
        });
        match set {
            Ok((old, now)) => saved.push((name.to_string(), old, now)),
            Err(e) => {
                applied = Err(e);
                break;
            }
        }
    }
    let r = applied.and_then(|()| f(host));
    for (name, old, given) in saved.into_iter().rev() {
        // A plain SET in the body outlives the call (PostgreSQL: it
        // overrides the SET clause "much as it would do for a previous
        // SET LOCAL"); otherwise the value before the call comes back. A
        // failure to put it back (the transaction is aborted) leaves it
        // to the transaction's end, which undoes LOCAL settings anyway.
        if host.show(&name).is_ok_and(|now| now == given) {
            let _ = host.set_config(&name, &old, true);
        }
    }
    r
}

/// Calls a trigger function for one event (see
/// [`crate::plpgsql::call_trigger`]), counted as a call level like any
/// routine call. Called by the backend running the triggering statement.
pub(crate) fn call_trigger(
    host: &mut dyn Host,
    def: &FuncDef,
    data: &crate::trigger::TrigCall<'_>,
) -> Result<Value, PgError> {
    host.check_interrupts()?;
    let _g = enter(host)?;
    with_config(host, def, |host| {
        with_stack(|| crate::plpgsql::call_trigger(host, def, data))
    })
}

fn sql_plans(host: &mut dyn Host, def: &FuncDef) -> Result<Rc<Vec<crate::Prepared>>, PgError> {
    let generation = host.plan_generation();
    if def.oid != 0 {
        if let Some(g) = generation {
            let hit = SQL_PLANS.with(|c| {
                c.borrow()
                    .get(&(def.oid, def.arg_types.clone()))
                    .filter(|(src, gen, _)| *src == def.src && *gen == g)
                    .map(|(_, _, p)| p.clone())
            });
            if let Some(p) = hit {
                return Ok(p);
            }
        }
    }
    let stmts = crate::parse(&substitute(&crate::fndef::body_sql(def), &|n| {
        arg_index(def, n)
    }))?;
    let mut plans = Vec::with_capacity(stmts.len());
    for s in &stmts {
        plans.push(crate::prepare(s, &def.arg_types, &*host)?);
    }
    let plans = Rc::new(plans);
    if let (Some(g), true) = (generation, def.oid != 0) {
        SQL_PLANS.with(|c| {
            c.borrow_mut().insert(
                (def.oid, def.arg_types.clone()),
                (def.src.clone(), g, plans.clone()),
            )
        });
    }
    Ok(plans)
}

fn call_sql(host: &mut dyn Host, def: &FuncDef, args: Vec<Value>) -> Result<CallResult, PgError> {
    let context = format!("SQL function \"{}\" statement", def.name);
    let plans = sql_plans(host, def)
        .map_err(|e| add_context(e, &format!("SQL function \"{}\"", def.name)))?;
    let mut last_rows: Vec<Row> = Vec::new();
    let mut last_cols: Vec<Oid> = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        let run = |host: &mut dyn Host| -> Result<Vec<Row>, PgError> {
            let rels = host.nested_relations();
            let mut ex = crate::start(p, args.clone(), host, &*rels)?;
            let mut rows = Vec::new();
            let want_all = def.retset || i + 1 < plans.len();
            while let Some(r) = ex.next(host)? {
                rows.push(r);
                if !want_all && i + 1 == plans.len() && !p.columns().is_empty() {
                    break;
                }
            }
            Ok(rows)
        };
        let rows = run(host).map_err(|e| add_context(e, &format!("{context} {}", i + 1)))?;
        host.command_counter_increment();
        last_cols = p.columns().iter().map(|c| c.type_oid).collect();
        last_rows = rows;
    }
    let now = host.now();
    let want: Vec<Oid> = if def.ret == types::RECORD {
        def.out_cols.iter().map(|c| c.1).collect()
    } else {
        vec![def.ret]
    };
    let convert = |row: Row| -> Result<Row, PgError> {
        let mut out = Vec::with_capacity(want.len());
        for (k, &w) in want.iter().enumerate() {
            let v = row.get(k).cloned().unwrap_or(Value::Null);
            let from = last_cols.get(k).copied().unwrap_or(w);
            out.push(if from == w || v.is_null() {
                v
            } else {
                crate::cast::cast(v, from, Ty::new(w), now)?
            });
        }
        Ok(out)
    };
    if def.retset && def.ret == types::VOID {
        // SETOF void: the last statement's rows are not the result
        // (PostgreSQL returns no rows).
        return Ok(CallResult::Set(Vec::new()));
    }
    if def.retset {
        let mut out = Vec::with_capacity(last_rows.len());
        for r in last_rows {
            out.push(convert(r)?);
        }
        return Ok(CallResult::Set(out));
    }
    if def.ret == types::VOID {
        return Ok(CallResult::Scalar(Value::Void));
    }
    match last_rows.into_iter().next() {
        None => Ok(CallResult::Scalar(Value::Null)),
        // Several output columns (OUT parameters, a procedure's outputs):
        // one record of them.
        Some(r) if def.ret == types::RECORD && !def.out_cols.is_empty() => Ok(CallResult::Scalar(
            Value::Record(want.iter().copied().zip(convert(r)?).collect()),
        )),
        Some(r) => Ok(CallResult::Scalar(
            convert(r)?.into_iter().next().unwrap_or(Value::Null),
        )),
    }
}

/// A scalar call from an expression.
pub(crate) fn call_scalar(
    host: &mut dyn Host,
    def: &FuncDef,
    args: Vec<Value>,
) -> Result<Value, PgError> {
    match call(host, def, args)? {
        CallResult::Scalar(v) => Ok(v),
        CallResult::Set(rows) => Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .unwrap_or(Value::Null)),
    }
}

/// A set-returning call in FROM: its rows.
pub(crate) fn call_set(
    host: &mut dyn Host,
    def: &FuncDef,
    args: Vec<Value>,
) -> Result<Vec<Row>, PgError> {
    match call(host, def, args)? {
        CallResult::Set(rows) => Ok(rows),
        // A row of OUT parameters is its columns in FROM.
        CallResult::Scalar(Value::Record(fields)) if !def.out_cols.is_empty() => {
            Ok(vec![fields.into_iter().map(|(_, v)| v).collect()])
        }
        CallResult::Scalar(Value::Null) if def.out_cols.len() > 1 => {
            Ok(vec![vec![Value::Null; def.out_cols.len()]])
        }
        CallResult::Scalar(v) => Ok(vec![vec![v]]),
    }
}

// ---- binding calls ----

/// Overload resolution among user routines: the candidate whose input
/// types accept `arg_types` (fewer arguments when defaults fill the
/// rest), preferring exact matches. `Ok(None)`: no candidate.
pub(crate) fn choose(
    cands: &[Rc<FuncDef>],
    arg_types: &[Oid],
    implicit_ok: &dyn Fn(Oid, Oid) -> bool,
) -> Result<Option<Rc<FuncDef>>, PgError> {
    let mut best: Vec<(usize, Rc<FuncDef>)> = Vec::new();
    let mut poly_error = None;
    for orig in cands {
        // PostgreSQL lets `VARIADIC arr` fill any last array parameter.
        if variadic_given() && orig.arg_types.len() != arg_types.len() {
            continue;
        }
        let f = &expand_variadic(orig, arg_types.len());
        let n = f.arg_types.len();
        if arg_types.len() > n || arg_types.len() + f.defaults.len() < n {
            continue;
        }
        // Polymorphic parameters match when the actual types agree with
        // each other (PostgreSQL's check_generic_type_consistency).
        let poly = f
            .arg_types
            .iter()
            .any(|&t| crate::polymorphic::is_polymorphic(t));
        if poly {
            match crate::polymorphic::bind(&f.arg_types, arg_types, implicit_ok, &|t| {
                crate::bind::common_type_of(t)
            }) {
                Ok(_) => {}
                Err(crate::polymorphic::Mismatch::NoMatch) => continue,
                Err(crate::polymorphic::Mismatch::Error(e)) => {
                    poly_error.get_or_insert(e);
                    continue;
                }
            }
        }
        let mut exact = 0;
        let mut ok = true;
        for (a, p) in arg_types.iter().zip(f.arg_types.iter()) {
            if crate::polymorphic::is_polymorphic(*p) {
                continue;
            }
            if a == p {
                exact += 1;
            } else if !implicit_ok(*a, *p) {
                ok = false;
                break;
            }
        }
        if ok {
            best.push((exact, orig.clone()));
        }
    }
    let Some(max) = best.iter().map(|b| b.0).max() else {
        return match poly_error {
            Some(e) => Err(e),
            None => Ok(None),
        };
    };
    let mut top: Vec<&(usize, Rc<FuncDef>)> = best.iter().filter(|b| b.0 == max).collect();
    // PostgreSQL's func_select_candidate: at a position given an untyped
    // literal, candidates taking a string type win when any does.
    for (i, &a) in arg_types.iter().enumerate() {
        if a != types::UNKNOWN || top.len() < 2 {
            continue;
        }
        let stringy = |f: &FuncDef| {
            matches!(
                f.arg_types.get(i),
                Some(&(types::TEXT | types::VARCHAR | types::BPCHAR | types::NAME))
            )
        };
        if top.iter().any(|b| stringy(&b.1)) {
            top.retain(|b| stringy(&b.1));
        }
    }
    if top.len() > 1 {
        let shown: Vec<String> = arg_types.iter().map(|&t| types::sql_name(t)).collect();
        return Err(PgError::error(
            codes::AMBIGUOUS_FUNCTION,
            format!("function {}({}) is not unique", top[0].1.name, shown.join(", ")),
        )
        .with_hint("Could not choose a best candidate function. You might need to add explicit type casts."));
    }
    Ok(Some(top[0].1.clone()))
}

/// A VARIADIC routine as a call of `given` arguments sees it: when they
/// reach the variadic parameter, one parameter of its element type per
/// argument there (PostgreSQL's expanded form); else itself.
pub(crate) fn expand_variadic(def: &Rc<FuncDef>, given: usize) -> Rc<FuncDef> {
    let n = def.arg_types.len();
    if def.variadic == 0 || given < n || variadic_given() {
        return def.clone();
    }
    let mut d = (**def).clone();
    d.arg_types.truncate(n - 1);
    d.arg_types.resize(given, def.variadic);
    let last = d.arg_names.pop().unwrap_or_default();
    d.arg_names.resize(given, last);
    d.defaults.clear();
    Rc::new(d)
}

/// How a call of `def` with arguments of `arg_types` (defaults
/// included) is bound: the routine with its polymorphic types resolved
/// to actual ones, the type each argument is coerced to, and whether the
/// trailing arguments are gathered into the VARIADIC array (from the
/// parameter `def.arg_types.len() - 1` on).
pub(crate) fn resolve_call(
    def: Rc<FuncDef>,
    arg_types: &[Oid],
    implicit_ok: &dyn Fn(Oid, Oid) -> bool,
) -> Result<(Rc<FuncDef>, Vec<Oid>, bool), PgError> {
    let expanded = def.variadic != 0 && arg_types.len() >= def.arg_types.len() && !variadic_given();
    let view = expand_variadic(&def, arg_types.len());
    if !crate::polymorphic::def_is_polymorphic(&def) {
        return Ok((def, view.arg_types.clone(), expanded));
    }
    let b = match crate::polymorphic::bind(&view.arg_types, arg_types, implicit_ok, &|t| {
        crate::bind::common_type_of(t)
    }) {
        Ok(b) => b,
        Err(crate::polymorphic::Mismatch::Error(e)) => return Err(e),
        Err(crate::polymorphic::Mismatch::NoMatch) => {
            return Err(PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                format!(
                    "arguments of function {} are not consistent with its polymorphic parameters",
                    def.name
                ),
            ))
        }
    };
    let coerce = view
        .arg_types
        .iter()
        .map(|&t| b.resolve(t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((Rc::new(b.specialize(&def)?), coerce, expanded))
}

// ---- executing the statements ----

/// Runs CREATE/DROP FUNCTION, DO and CALL. Called by the backend running
/// the statement.
pub(crate) fn execute(
    stmt: &RoutineStmt,
    params: &[Value],
    host: &mut dyn Host,
) -> Result<crate::Outcome, PgError> {
    let tag = stmt.tag().to_string();
    match stmt {
        RoutineStmt::Create {
            schema,
            def,
            replace,
        } => {
            host.routines()?
                .create_routine(schema.as_deref(), def, *replace)?;
        }
        RoutineStmt::Alter(a) => crate::alterfn::execute(a, host)?,
        RoutineStmt::Drop {
            kind,
            if_exists,
            items,
            cascade,
        } => {
            for ((schema, name, args), full) in items {
                drop_one(
                    host,
                    *kind,
                    (*if_exists, *cascade),
                    schema.as_deref(),
                    name,
                    args.as_deref(),
                    full.as_deref(),
                )?;
            }
        }
        RoutineStmt::Do { body } => {
            let def = FuncDef {
                oid: 0,
                schema: String::new(),
                name: "inline_code_block".into(),
                kind: b'p',
                arg_types: Vec::new(),
                arg_names: Vec::new(),
                defaults: Vec::new(),
                ret: types::VOID,
                retset: false,
                out_cols: Vec::new(),
                out_vars: false,
                language: "plpgsql".into(),
                src: body.clone(),
                strict: false,
                volatility: b'v',
                owner: 0,
                acl: None,
                attrs: Default::default(),
                variadic: 0,
            };
            // A DO at top level may COMMIT (plpgsql.rs), as PostgreSQL's.
            crate::plpgsql::set_nonatomic(DEPTH.with(|d| d.get()) == 0);
            let r = call(host, &def, Vec::new());
            crate::plpgsql::set_nonatomic(false);
            r?;
        }
        RoutineStmt::Call(call) => {
            let rows = crate::callproc::execute(call, params, host)?;
            return Ok(crate::Outcome { rows, tag });
        }
    }
    Ok(crate::Outcome {
        rows: Vec::new(),
        tag,
    })
}

/// A routine and its input argument types when given: `name(int, text)`.
pub(crate) type Signature = (Option<String>, String, Option<Vec<Oid>>);

/// Every argument of a routine's argument list with its mode as written
/// (`b'i'`, `b'o'`, `b'b'`, `b'v'`, or 0 when none is written): DROP and
/// ALTER PROCEDURE match it against all parameters, OUT ones included.
pub(crate) type FullArgs = Option<Vec<(u8, Oid)>>;

/// Reads `name[(args)], ...` (DROP FUNCTION, GRANT ... ON FUNCTION).
fn signatures(c: &mut Cur, host: &dyn Host) -> Result<Vec<(Signature, FullArgs)>, PgError> {
    let mut items = Vec::new();
    loop {
        items.push(signature_full(c, host)?);
        if !c.eat_tok(&Token::Comma) {
            break;
        }
    }
    Ok(items)
}

/// One `name[(argtypes)]` naming a routine: the signature (OUT
/// arguments skipped, as they are not part of it) and the arguments
/// with their modes.
pub(crate) fn signature_full(
    c: &mut Cur,
    host: &dyn Host,
) -> Result<(Signature, FullArgs), PgError> {
    let (schema, name) = c.qualified()?;
    let (args, full) = if c.peek() == Some(&Token::LParen) {
        let mut tys = Vec::new();
        let mut full = Vec::new();
        for a in split_list(c)? {
            // An aggregate over no arguments: `name(*)`.
            if a == [Token::Mul] {
                continue;
            }
            let explicit = matches!(a.first(), Some(Token::Word(w)) if w.quote_style.is_none()
                && ["in", "out", "inout", "variadic"].contains(&w.value.to_ascii_lowercase().as_str()))
                || matches!(a.get(1), Some(Token::Word(w)) if w.quote_style.is_none()
                && ["in", "out", "inout", "variadic"].contains(&w.value.to_ascii_lowercase().as_str()));
            let (mode, _, ty, _) = parse_arg(a)?;
            let t = resolve_type(host, &ty)?.oid;
            full.push((
                match (explicit, mode.as_str()) {
                    (false, _) => 0,
                    (_, "OUT") => b'o',
                    (_, "INOUT") => b'b',
                    (_, "VARIADIC") => b'v',
                    _ => b'i',
                },
                t,
            ));
            if mode == "OUT" {
                continue;
            }
            tys.push(t);
        }
        (Some(tys), Some(full))
    } else {
        (None, None)
    };
    Ok(((schema, name, args), full))
}

/// The 1-based character position of the `i`-th significant token of
/// `sql` (as [`Cur`] counts them), for an error's cursor.
pub(crate) fn token_position(sql: &str, i: usize) -> Option<u32> {
    let toks = tokens_with_spans(sql).ok()?;
    let tok = toks
        .iter()
        .filter(|x| !matches!(x.token, Token::Whitespace(_) | Token::EOF))
        .nth(i)?;
    let (line, col) = (tok.span.start.line as usize, tok.span.start.column as usize);
    let before: usize = sql
        .split('\n')
        .take(line.saturating_sub(1))
        .map(|l| l.chars().count() + 1)
        .sum();
    Some((before + col) as u32)
}

/// The signatures of a GRANT ... ON FUNCTION's object list, given as text.
pub(crate) fn signature_list(host: &dyn Host, text: &str) -> Result<Vec<Signature>, PgError> {
    let mut c = Cur {
        t: tokens(text)?,
        i: 0,
    };
    let items = signatures(&mut c, host)?;
    if c.peek().is_some() {
        return Err(c.unexpected());
    }
    Ok(items.into_iter().map(|i| i.0).collect())
}

/// `procedure`: None for DROP AGGREGATE.
fn drop_one(
    host: &mut dyn Host,
    kind: u8,
    (if_exists, cascade): (bool, bool),
    schema: Option<&str>,
    name: &str,
    args: Option<&[Oid]>,
    full: Option<&[(u8, Oid)]>,
) -> Result<(), PgError> {
    if let Some(f) = resolve(host, kind, if_exists, schema, name, args, full)? {
        crate::acl::check_routine_owner(&*host, &f)?;
        crate::generated::refuse_drop_function(host, &f)?;
        crate::operator::drop_function_dependents(host, &f, cascade)?;
        host.routines()?.drop_routine(&f)?;
    }
    Ok(())
}

/// The routine a DROP or ALTER names: `kind` `b'f'`/`b'p'` must match
/// (`b'r'`, ROUTINE, takes either); None when it is missing and
/// `if_exists` (a notice is sent).
pub(crate) fn resolve(
    host: &mut dyn Host,
    kind: u8,
    if_exists: bool,
    schema: Option<&str>,
    name: &str,
    args: Option<&[Oid]>,
    full: Option<&[(u8, Oid)]>,
) -> Result<Option<Rc<FuncDef>>, PgError> {
    let procedure = kind == b'p';
    let what = match kind {
        b'p' => "procedure",
        b'r' => "routine",
        b'a' => "aggregate",
        _ => "function",
    };
    let cands: Vec<Rc<FuncDef>> = host
        .lookup_routines(schema, name)?
        .into_iter()
        .filter(|f| kind != b'a' || f.kind == b'a')
        .collect();
    let shown_name = match schema {
        Some(s) => format!("{s}.{name}"),
        None => name.to_string(),
    };
    // A procedure also matches by all its parameters, OUT ones included
    // (PostgreSQL 14's rule for DROP/ALTER PROCEDURE and ROUTINE).
    let by_all = |f: &FuncDef| {
        kind != b'f'
            && f.kind == b'p'
            && full.is_some_and(|full| {
                !f.attrs.params.is_empty()
                    && f.attrs.params.len() == full.len()
                    && f.attrs.params.iter().zip(full).all(|(p, (m, t))| {
                        p.2 == *t
                            && match m {
                                b'i' => matches!(p.0, b'i' | b'b'),
                                b'o' => matches!(p.0, b'o' | b'b'),
                                0 => true,
                                m => p.0 == *m,
                            }
                    })
            })
    };
    let found: Vec<Rc<FuncDef>> = match args {
        Some(a) => cands
            .into_iter()
            .filter(|f| f.arg_types == a || by_all(f))
            .collect(),
        None => cands,
    };
    if args.is_some() && found.len() > 1 {
        return Err(PgError::error(
            codes::AMBIGUOUS_FUNCTION,
            format!("{what} name \"{shown_name}\" is not unique"),
        ));
    }
    let missing = || match args {
        Some(a) => {
            let shown: Vec<String> = a.iter().map(|&t| types::sql_name(t)).collect();
            format!("{what} {shown_name}({}) does not exist", shown.join(", "))
        }
        None => format!("could not find a {what} named \"{shown_name}\""),
    };
    match found.len() {
        0 if if_exists => {
            host.notice(PgError::new(
                tusk_common::Severity::Notice,
                sqlstate::SUCCESSFUL_COMPLETION,
                format!("{}, skipping", missing()),
            ));
            Ok(None)
        }
        0 => Err(PgError::error(sqlstate::UNDEFINED_FUNCTION, missing())),
        1 => {
            let f = found.into_iter().next().expect("one routine");
            if procedure && f.kind != b'p' {
                return Err(PgError::error(
                    codes::WRONG_OBJECT_TYPE,
                    format!("{} is not a procedure", f.signature()),
                ));
            }
            if matches!(kind, b'f' | b'p') && f.kind == b'a' {
                return Err(PgError::error(
                    codes::WRONG_OBJECT_TYPE,
                    format!("\"{}\" is an aggregate function", f.name),
                )
                .with_hint("Use DROP AGGREGATE to drop aggregate functions."));
            }
            if kind == b'f' && f.kind == b'p' {
                return Err(PgError::error(
                    codes::WRONG_OBJECT_TYPE,
                    format!("{} is not a function", f.signature()),
                ));
            }
            Ok(Some(f))
        }
        _ => Err(PgError::error(
            codes::AMBIGUOUS_FUNCTION,
            format!("{what} name \"{shown_name}\" is not unique"),
        )
        .with_hint(format!(
            "Specify the argument list to select the {what} unambiguously."
        ))),
    }
}

/// The argument name a call's `VARIADIC expr` is rewritten to (sqlparser
/// has no grammar for it): a named argument no declaration can spell
/// unquoted, read back by the binder as "this array is the variadic
/// parameter itself".
pub(crate) const VARIADIC_MARK: &str = "pg variadic";

/// Rewrites `f(a, VARIADIC arr)` in queries to `f(a, "pg variadic" =>
/// arr)` (see [`VARIADIC_MARK`]). DDL, which declares VARIADIC
/// parameters, is left alone.
pub(crate) fn mark_variadic_args(toks: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let first = toks.iter().find_map(|t| match &t.token {
        Token::Whitespace(_) => None,
        Token::Word(w) => Some(w.value.to_ascii_uppercase()),
        _ => Some(String::new()),
    });
    if !matches!(
        first.as_deref(),
        Some("SELECT" | "WITH" | "VALUES" | "INSERT" | "UPDATE" | "DELETE")
    ) {
        return toks;
    }
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(toks.len() + 4);
    for t in toks {
        if let Token::Word(w) = &t.token {
            if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("variadic") {
                let prev = out
                    .iter()
                    .rev()
                    .find(|x| !matches!(x.token, Token::Whitespace(_)))
                    .map(|x| &x.token);
                if matches!(prev, Some(Token::LParen | Token::Comma)) {
                    let span = t.span;
                    let tok = |token| TokenWithSpan { token, span };
                    out.push(tok(Token::make_word(VARIADIC_MARK, Some('"'))));
                    out.push(tok(Token::Whitespace(
                        sqlparser::tokenizer::Whitespace::Space,
                    )));
                    out.push(tok(Token::RArrow));
                    out.push(tok(Token::Whitespace(
                        sqlparser::tokenizer::Whitespace::Space,
                    )));
                    continue;
                }
            }
        }
        out.push(t);
    }
    out
}

thread_local! {
    /// Set while a call whose last argument was written `VARIADIC arr`
    /// is bound: only VARIADIC routines match, unexpanded.
    static VARIADIC_GIVEN: Cell<bool> = const { Cell::new(false) };
}

/// Marks the call being bound as one with `VARIADIC arr` until dropped.
pub(crate) struct VariadicGiven;

impl VariadicGiven {
    pub(crate) fn set() -> VariadicGiven {
        VARIADIC_GIVEN.with(|v| v.set(true));
        VariadicGiven
    }
}

impl Drop for VariadicGiven {
    fn drop(&mut self) {
        VARIADIC_GIVEN.with(|v| v.set(false));
    }
}

fn variadic_given() -> bool {
    VARIADIC_GIVEN.with(|v| v.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_names_are_replaced_outside_qualified_names() {
        let out = substitute("SELECT a + t.a, f(a) FROM t WHERE b = a", &|n| match n {
            "a" => Some(1),
            "f" => Some(2),
            _ => None,
        });
        assert_eq!(out, "SELECT $1 + t.a, f($1) FROM t WHERE b = $1");
    }

    #[test]
    fn argument_declarations_split_into_mode_name_type_default() {
        let toks = |s: &str| tokens(s).unwrap();
        assert_eq!(
            parse_arg(toks("a integer DEFAULT 3")).unwrap(),
            ("IN".into(), "a".into(), "integer".into(), Some("3".into()))
        );
        assert_eq!(
            parse_arg(toks("double precision")).unwrap(),
            ("IN".into(), "".into(), "double precision".into(), None)
        );
        assert_eq!(
            parse_arg(toks("OUT total numeric")).unwrap(),
            ("OUT".into(), "total".into(), "numeric".into(), None)
        );
    }
}
