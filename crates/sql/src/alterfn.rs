//! ALTER FUNCTION / PROCEDURE / ROUTINE: change a stored routine's
//! attributes, name, owner or schema.
//!
//! Why it is built this way: the statement is read with routine.rs's
//! token cursor (sqlparser has no grammar for it), the routine is found
//! as DROP finds it (same messages for a missing, ambiguous or wrong-kind
//! routine), and the change is a new pg_proc row under the same oid
//! written through the host's [`crate::Routines`], so every reader of
//! pg_proc (calls, `\df`, pg_get_functiondef) sees it at once.

use sqlparser::tokenizer::Token;
use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::catalog::FuncDef;
use crate::host::Host;
use crate::routine::{self, codes, Cur, Signature};

/// What ALTER does to the routine.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// Attribute changes (volatility, STRICT, SECURITY, ...), applied in
    /// order to the stored definition.
    Options(Vec<(Opt, Option<u32>)>),
    Rename(String),
    Owner(String),
    Schema(String),
}

#[derive(Debug, Clone)]
pub(crate) enum Opt {
    Volatility(u8),
    Strict(bool),
    SecDef(bool),
    Leakproof(bool),
    Parallel(u8),
    Cost(f32),
    Rows(f32),
    /// SET name TO value (None: DEFAULT, which removes the setting).
    Set(String, Option<String>),
    /// RESET name (None: RESET ALL).
    Reset(Option<String>),
}

/// A parsed ALTER FUNCTION/PROCEDURE/ROUTINE.
#[derive(Debug, Clone)]
pub(crate) struct AlterRoutine {
    /// `b'f'`, `b'p'`, or `b'r'` for ROUTINE (either kind).
    pub kind: u8,
    pub target: Signature,
    pub full: routine::FullArgs,
    pub action: Action,
}

fn syntax_at(sql: &str, c: &Cur) -> PgError {
    c.unexpected()
        .with_position(routine::token_position(sql, c.i))
}

/// Reads `ALTER {FUNCTION|PROCEDURE|ROUTINE} ...` (the caller saw ALTER).
pub(crate) fn bind(sql: &str, c: &mut Cur, host: &dyn Host) -> Result<AlterRoutine, PgError> {
    let kind = if c.eat("FUNCTION") {
        b'f'
    } else if c.eat("PROCEDURE") {
        b'p'
    } else {
        c.expect("ROUTINE")?;
        b'r'
    };
    let (target, full) = routine::signature_full(c, host)?;
    let action = if c.eat("RENAME") {
        c.expect("TO")?;
        Action::Rename(c.ident()?)
    } else if c.eat("OWNER") {
        c.expect("TO")?;
        Action::Owner(c.ident()?)
    } else if c.word().as_deref() == Some("SET")
        && matches!(c.t.get(c.i + 1), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("schema"))
    {
        c.i += 2;
        Action::Schema(c.ident()?)
    } else {
        let mut opts = Vec::new();
        while c.word().is_some_and(|w| w != "RESTRICT") {
            // Whether the option suits the routine is known once it is
            // found (ALTER ROUTINE may name a procedure).
            let at = routine::token_position(sql, c.i);
            match option(sql, c, host, false)? {
                Some(o) => opts.push((o, at)),
                None => return Err(syntax_at(sql, c)),
            }
        }
        if opts.is_empty() {
            return Err(syntax_at(sql, c));
        }
        c.eat("RESTRICT");
        Action::Options(opts)
    };
    c.eat_tok(&Token::SemiColon);
    if c.peek().is_some() {
        return Err(syntax_at(sql, c));
    }
    Ok(AlterRoutine {
        kind,
        target,
        full,
        action,
    })
}

/// One routine option at the cursor (CREATE and ALTER FUNCTION share
/// them); None, nothing consumed, when the word there is not one.
/// `procedure`: only SECURITY and SET/RESET are allowed.
pub(crate) fn option(
    sql: &str,
    c: &mut Cur,
    host: &dyn Host,
    procedure: bool,
) -> Result<Option<Opt>, PgError> {
    let at = c.i;
    let Some(w) = c.word() else {
        return Ok(None);
    };
    c.i += 1;
    let opt = match w.as_str() {
        "IMMUTABLE" => Opt::Volatility(b'i'),
        "STABLE" => Opt::Volatility(b's'),
        "VOLATILE" => Opt::Volatility(b'v'),
        "STRICT" => Opt::Strict(true),
        "CALLED" => {
            c.expect("ON")?;
            c.expect("NULL")?;
            c.expect("INPUT")?;
            Opt::Strict(false)
        }
        "RETURNS" => {
            c.expect("NULL")?;
            c.expect("ON")?;
            c.expect("NULL")?;
            c.expect("INPUT")?;
            Opt::Strict(true)
        }
        "EXTERNAL" | "SECURITY" => {
            if w == "EXTERNAL" {
                c.expect("SECURITY")?;
            }
            if c.eat("DEFINER") {
                Opt::SecDef(true)
            } else {
                c.expect("INVOKER")?;
                Opt::SecDef(false)
            }
        }
        "LEAKPROOF" => Opt::Leakproof(true),
        "NOT" => {
            c.expect("LEAKPROOF")?;
            Opt::Leakproof(false)
        }
        "PARALLEL" => {
            let p = c.ident()?;
            Opt::Parallel(parallel_code(&p)?)
        }
        "COST" | "ROWS" => {
            let n = number(c)?;
            if w == "COST" {
                if n <= 0.0 {
                    return Err(PgError::error(
                        codes::INVALID_PARAMETER_VALUE,
                        "COST must be positive",
                    ));
                }
                Opt::Cost(n)
            } else {
                if n <= 0.0 {
                    return Err(PgError::error(
                        codes::INVALID_PARAMETER_VALUE,
                        "ROWS must be positive",
                    ));
                }
                Opt::Rows(n)
            }
        }
        "SET" => {
            let name = setting_name(c)?;
            if c.eat("FROM") {
                c.expect("CURRENT")?;
                let v = host.show(&name)?;
                Opt::Set(name, Some(v))
            } else {
                if !c.eat("TO") && !c.eat_tok(&Token::Eq) {
                    return Err(syntax_at(sql, c));
                }
                if c.eat("DEFAULT") {
                    Opt::Set(name, None)
                } else {
                    Opt::Set(name, Some(setting_value(c)?))
                }
            }
        }
        "RESET" => {
            if c.eat("ALL") {
                Opt::Reset(None)
            } else {
                Opt::Reset(Some(setting_name(c)?))
            }
        }
        _ => {
            c.i = at;
            return Ok(None);
        }
    };
    // PostgreSQL's grammar takes the function options for a
    // procedure too, and refuses the ones a procedure lacks.
    if procedure && !matches!(opt, Opt::SecDef(_) | Opt::Set(..) | Opt::Reset(_)) {
        return Err(PgError::error(
            codes::INVALID_FUNCTION_DEFINITION,
            "invalid attribute in procedure definition",
        )
        .with_position(routine::token_position(sql, at)));
    }
    Ok(Some(opt))
}

fn parallel_code(p: &str) -> Result<u8, PgError> {
    match p {
        "safe" => Ok(b's'),
        "restricted" => Ok(b'r'),
        "unsafe" => Ok(b'u'),
        _ => Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            "parameter \"parallel\" must be SAFE, RESTRICTED, or UNSAFE",
        )),
    }
}

fn number(c: &mut Cur) -> Result<f32, PgError> {
    let neg = c.eat_tok(&Token::Minus);
    match c.next() {
        Some(Token::Number(n, _)) => n
            .parse::<f32>()
            .map(|v| if neg { -v } else { v })
            .map_err(|_| c.unexpected()),
        _ => {
            c.i -= 1;
            Err(c.unexpected())
        }
    }
}

/// A configuration parameter's name (`work_mem`, `plpgsql.extra_warnings`).
fn setting_name(c: &mut Cur) -> Result<String, PgError> {
    let mut n = c.ident()?;
    while c.eat_tok(&Token::Period) {
        n.push('.');
        n.push_str(&c.ident()?);
    }
    Ok(n)
}

/// A SET value list as proconfig keeps it: items joined with `, `.
fn setting_value(c: &mut Cur) -> Result<String, PgError> {
    let mut items = Vec::new();
    loop {
        let v = match c.next() {
            Some(Token::SingleQuotedString(s)) => s,
            Some(Token::Number(n, _)) => n,
            Some(Token::Minus) => match c.next() {
                Some(Token::Number(n, _)) => format!("-{n}"),
                _ => return Err(c.unexpected()),
            },
            Some(Token::Word(w)) => {
                if w.quote_style.is_some() {
                    w.value
                } else {
                    w.value.to_lowercase()
                }
            }
            _ => {
                c.i -= 1;
                return Err(c.unexpected());
            }
        };
        items.push(v);
        if !c.eat_tok(&Token::Comma) {
            break;
        }
    }
    Ok(items.join(", "))
}

/// Runs the ALTER in the current transaction.
pub(crate) fn execute(a: &AlterRoutine, host: &mut dyn Host) -> Result<(), PgError> {
    let (schema, name, args) = &a.target;
    let Some(f) = routine::resolve(
        host,
        a.kind,
        false,
        schema.as_deref(),
        name,
        args.as_deref(),
        a.full.as_deref(),
    )?
    else {
        return Ok(());
    };
    crate::acl::check_routine_owner(&*host, &f)?;
    let mut d: FuncDef = (*f).clone();
    let mut new_schema = None;
    match &a.action {
        Action::Options(opts) => {
            for (o, at) in opts {
                if d.kind == b'p' && !matches!(o, Opt::SecDef(_) | Opt::Set(..) | Opt::Reset(_)) {
                    return Err(PgError::error(
                        codes::INVALID_FUNCTION_DEFINITION,
                        "invalid attribute in procedure definition",
                    )
                    .with_position(*at));
                }
                apply(&mut d, o, &*host)?;
            }
        }
        Action::Rename(n) => d.name = n.clone(),
        Action::Owner(role) => {
            let roles = host.acl_roles()?;
            let Some(r) = roles.by_name(role) else {
                return Err(PgError::error(
                    codes::UNDEFINED_OBJECT,
                    format!("role \"{role}\" does not exist"),
                ));
            };
            // Giving a routine away takes membership in the new owner
            // (PostgreSQL's check_can_set_role in 15's form).
            if !host.identity().is_superuser {
                let me = roles.by_name(&host.identity().user).map(|m| m.oid);
                if !me.is_some_and(|me| roles.has_privs_of(me, r.oid)) {
                    return Err(PgError::error(
                        sqlstate::INSUFFICIENT_PRIVILEGE,
                        format!("must be member of role \"{role}\""),
                    ));
                }
            }
            d.owner = r.oid;
        }
        Action::Schema(s) => new_schema = Some(s.clone()),
    }
    host.routines()?
        .alter_routine(&f, &d, new_schema.as_deref())
}

/// Applies one option to a definition (CREATE and ALTER).
pub(crate) fn apply(d: &mut FuncDef, o: &Opt, host: &dyn Host) -> Result<(), PgError> {
    match o {
        Opt::Volatility(v) => d.volatility = *v,
        Opt::Strict(s) => d.strict = *s,
        Opt::SecDef(s) => d.attrs.secdef = *s,
        Opt::Leakproof(l) => {
            if *l && !host.identity().is_superuser {
                return Err(PgError::error(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    "only superuser can define a leakproof function",
                ));
            }
            d.attrs.leakproof = *l
        }
        Opt::Parallel(p) => d.attrs.parallel = *p,
        Opt::Cost(c) => d.attrs.cost = *c,
        Opt::Rows(r) => {
            if !d.retset {
                return Err(PgError::error(
                    codes::INVALID_PARAMETER_VALUE,
                    "ROWS is not applicable when function does not return a set",
                ));
            }
            d.attrs.rows = *r
        }
        Opt::Set(n, v) => {
            d.attrs
                .config
                .retain(|e| e.split_once('=').map(|(k, _)| k) != Some(n.as_str()));
            if let Some(v) = v {
                d.attrs.config.push(format!("{n}={v}"));
            }
        }
        Opt::Reset(Some(n)) => d
            .attrs
            .config
            .retain(|e| e.split_once('=').map(|(k, _)| k) != Some(n.as_str())),
        Opt::Reset(None) => d.attrs.config.clear(),
    }
    Ok(())
}
