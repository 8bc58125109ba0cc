//! User-defined aggregates: CREATE AGGREGATE (both syntaxes), their
//! checks at creation, and binding and running a call of one.
//!
//! Why it is built this way: an aggregate is stored as a pg_proc row of
//! kind `a` (so DROP, overloading, privileges and restart come from the
//! routine machinery); its transition/final functions, state type and
//! initial value are kept in that row's prosrc as `key=value` lines
//! (tusk has no pg_aggregate catalog yet). A call binds the transition
//! function as the expression `sfunc($1, $2, ...)` over parameters (the
//! state, then the arguments) and the final function as `ffunc($1)`, so
//! built-in and user functions, overloading and polymorphism resolve as in
//! any call; the executor's aggregate hooks (agg.rs's `AggKind::User`)
//! evaluate them per row with PostgreSQL's strict-transition rules.
//! Bound calls live in a per-backend registry the plan refers to by
//! number, since plan nodes are plain data.

use std::cell::RefCell;
use std::rc::Rc;

use sqlparser::tokenizer::Token;
use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::catalog::FuncDef;
use crate::expr::{Ctx, Expr};
use crate::host::Host;
use crate::routine::{codes, Cur, RoutineStmt};
use crate::types::{self, Oid};
use crate::value::Value;

/// What prosrc keeps of an aggregate.
#[derive(Debug, Clone, Default)]
pub(crate) struct Spec {
    pub sfunc: String,
    pub stype: Oid,
    pub finalfunc: Option<String>,
    pub initcond: Option<String>,
}

impl Spec {
    fn to_src(&self) -> String {
        let mut s = format!("sfunc={}\nstype={}\n", self.sfunc, self.stype);
        if let Some(f) = &self.finalfunc {
            s.push_str(&format!("finalfunc={f}\n"));
        }
        // Last: an initial value may hold newlines.
        if let Some(i) = &self.initcond {
            s.push_str(&format!("initcond={i}"));
        }
        s
    }

    pub(crate) fn from_src(src: &str) -> Spec {
        let mut sp = Spec::default();
        let mut rest = src;
        while !rest.is_empty() {
            if let Some(v) = rest.strip_prefix("initcond=") {
                sp.initcond = Some(v.to_string());
                break;
            }
            let (line, tail) = rest.split_once('\n').unwrap_or((rest, ""));
            rest = tail;
            match line.split_once('=') {
                Some(("sfunc", v)) => sp.sfunc = v.to_string(),
                Some(("stype", v)) => sp.stype = v.parse().unwrap_or(0),
                Some(("finalfunc", v)) => sp.finalfunc = Some(v.to_string()),
                _ => {}
            }
        }
        sp
    }
}

fn tokens_text(t: &[Token]) -> String {
    t.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// CREATE [OR REPLACE] AGGREGATE after its leading words.
pub(crate) fn bind_create(
    c: &mut Cur,
    host: &dyn Host,
    replace: bool,
) -> Result<RoutineStmt, PgError> {
    let (schema, name) = c.qualified()?;
    let first = crate::routine::split_list(c)?;
    let (args, opts) = if c.peek() == Some(&Token::LParen) {
        (Some(first), crate::routine::split_list(c)?)
    } else {
        (None, first)
    };
    if c.peek().is_some() && c.peek() != Some(&Token::SemiColon) {
        return Err(c.unexpected());
    }
    let mut arg_types = Vec::new();
    let mut arg_names = Vec::new();
    if let Some(args) = &args {
        let star = args.len() == 1 && args[0] == [Token::Mul];
        if !star {
            for a in args {
                if a.iter()
                    .any(|t| matches!(t, Token::Word(w) if w.value.eq_ignore_ascii_case("order")))
                {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "ordered-set aggregates are not supported",
                    ));
                }
                let (mode, n, ty, _) = crate::routine::parse_arg(a.clone())?;
                if mode == "OUT" || mode == "INOUT" {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "aggregates cannot have output arguments",
                    ));
                }
                arg_types.push(crate::routine::resolve_type(host, &ty)?.oid);
                arg_names.push(n);
            }
        }
    }
    let mut spec = Spec::default();
    let mut stype_text = None;
    let mut basetype: Option<String> = None;
    for o in opts {
        let key = match o.first() {
            Some(Token::Word(w)) => w.value.to_ascii_lowercase(),
            Some(t) => {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    format!("syntax error at or near \"{t}\""),
                ))
            }
            None => continue,
        };
        let val = &o[1..];
        let val = match val.first() {
            Some(Token::Eq) => &val[1..],
            _ => val,
        };
        let text = match val {
            [Token::SingleQuotedString(s)] | [Token::EscapedStringLiteral(s)] => s.clone(),
            [Token::DollarQuotedString(d)] => d.value.clone(),
            _ => tokens_text(val),
        };
        match key.as_str() {
            "sfunc" | "sfunc1" => spec.sfunc = text,
            "stype" | "stype1" => stype_text = Some(text),
            "finalfunc" => spec.finalfunc = Some(text),
            "initcond" | "initcond1" => spec.initcond = Some(text),
            "basetype" if args.is_none() => basetype = Some(text),
            // Accepted and not needed to compute the result here.
            "combinefunc" | "serialfunc" | "deserialfunc" | "parallel" | "finalfunc_extra"
            | "finalfunc_modify" | "sspace" | "sortop" | "hypothetical" => {}
            "msfunc" | "minvfunc" | "mstype" | "mfinalfunc" | "mfinalfunc_extra" | "minitcond"
            | "msspace" | "mfinalfunc_modify" => {}
            // PostgreSQL warns and ignores them; binding cannot send a
            // notice, so they are ignored quietly.
            _ => {}
        }
    }
    if args.is_none() {
        let Some(b) = basetype else {
            return Err(PgError::error(
                codes::INVALID_FUNCTION_DEFINITION,
                "aggregate input type must be specified",
            ));
        };
        if !b.trim().eq_ignore_ascii_case("any") {
            arg_types.push(crate::routine::resolve_type(host, &b)?.oid);
            arg_names.push(String::new());
        }
    }
    let Some(stype_text) = stype_text else {
        return Err(PgError::error(
            codes::INVALID_FUNCTION_DEFINITION,
            "aggregate stype must be specified",
        ));
    };
    if spec.sfunc.is_empty() {
        return Err(PgError::error(
            codes::INVALID_FUNCTION_DEFINITION,
            "aggregate sfunc must be specified",
        ));
    }
    let stype = crate::routine::resolve_type(host, &stype_text)?.oid;
    spec.stype = stype;
    if let Err(e) = crate::polymorphic::check_result(stype, &arg_types) {
        let mut e2 = PgError::error(
            codes::INVALID_FUNCTION_DEFINITION,
            "cannot determine transition data type",
        );
        e2.detail = e.detail;
        return Err(e2);
    }
    // The transition function takes (state, arguments...) and returns
    // the state type.
    let mut sargs = vec![stype];
    sargs.extend(&arg_types);
    let mut strict_sfunc = false;
    if let Some((ret, def)) = lookup_support(host, &spec.sfunc, &sargs)? {
        // A function declared to return a composite type is recorded as
        // returning record (routine.rs), which is that type here.
        let same =
            ret == stype || ret == types::RECORD && tusk_types::composite::is_composite(stype);
        if !same {
            return Err(PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                format!(
                    "return type of transition function {} is not {}",
                    spec.sfunc,
                    types::sql_name(stype)
                ),
            ));
        }
        strict_sfunc = def.is_some_and(|d| d.strict);
    }
    let mut ret = stype;
    if let Some(ff) = &spec.finalfunc {
        if let Some((r, _)) = lookup_support(host, ff, &[stype])? {
            ret = r;
        }
    }
    crate::polymorphic::check_result(ret, &arg_types)?;
    if strict_sfunc
        && spec.initcond.is_none()
        && (arg_types.is_empty() || !crate::bind::implicit_ok(arg_types[0], stype))
    {
        return Err(PgError::error(
            codes::INVALID_FUNCTION_DEFINITION,
            "must not omit initial value when transition function is strict and transition type is not compatible with input type",
        ));
    }
    let def = FuncDef {
        oid: 0,
        schema: schema.clone().unwrap_or_default(),
        name,
        kind: b'a',
        arg_types,
        arg_names,
        defaults: Vec::new(),
        ret,
        retset: false,
        out_cols: Vec::new(),
        out_vars: false,
        language: "sql".into(),
        src: spec.to_src(),
        strict: false,
        volatility: b'i',
        owner: 0,
        acl: None,
        variadic: 0,
        attrs: Default::default(),
    };
    Ok(RoutineStmt::Create {
        schema,
        def: Box::new(def),
        replace,
    })
}

/// A support function found: its resolved result type and, for a user
/// routine, its definition.
type Support = (Oid, Option<Rc<FuncDef>>);

/// A transition or final function of a new aggregate taking `args`
/// (which may be polymorphic pseudo-types): its result type resolved for
/// them, and its definition when it is a user routine. None when only
/// built-in functions have the name (checked when the aggregate is
/// called). Missing: PostgreSQL's 42883.
fn lookup_support(host: &dyn Host, name: &str, args: &[Oid]) -> Result<Option<Support>, PgError> {
    let (schema, fname) = match name.split_once('.') {
        Some((s, n)) => (Some(s.trim().to_lowercase()), n.trim().to_lowercase()),
        None => (None, name.trim().to_lowercase()),
    };
    let cands = host.lookup_routines(schema.as_deref(), &fname)?;
    let missing = || {
        let shown: Vec<String> = args.iter().map(|&t| types::sql_name(t)).collect();
        PgError::error(
            sqlstate::UNDEFINED_FUNCTION,
            format!("function {fname}({}) does not exist", shown.join(", ")),
        )
    };
    if cands.is_empty() {
        // A built-in: over concrete types it must accept the arguments.
        if args.iter().any(|&t| crate::polymorphic::is_polymorphic(t)) {
            return Ok(None);
        }
        let params: Vec<Option<types::Ty>> =
            args.iter().map(|&t| Some(types::Ty::new(t))).collect();
        let mut b = crate::bind::Binder::new(host, params);
        let e = call_ast(&fname, args.len())?;
        return match b.bind_expr(&e) {
            Ok(bound) => Ok(Some((bound.ty.oid, None))),
            Err(e) if e.code == sqlstate::UNDEFINED_FUNCTION => Err(missing()),
            Err(e) => Err(e),
        };
    }
    for f in cands
        .iter()
        .filter(|f| f.kind != b'a' && f.arg_types.len() == args.len())
    {
        let poly = crate::polymorphic::def_is_polymorphic(f);
        let ok_plain = f.arg_types.iter().zip(args).all(|(&p, &a)| {
            crate::polymorphic::is_polymorphic(p) || a == p || crate::bind::implicit_ok(a, p)
        });
        if !ok_plain {
            continue;
        }
        if !poly {
            return Ok(Some((f.ret, Some(f.clone()))));
        }
        match crate::polymorphic::bind_pseudo(&f.arg_types, args, &crate::bind::implicit_ok, &|t| {
            crate::bind::common_type_of(t)
        }) {
            Ok(b) => {
                // PostgreSQL's lookup_agg_function: the state and
                // arguments are passed as they are, never cast.
                let true_types = f
                    .arg_types
                    .iter()
                    .map(|&t| b.resolve(t))
                    .collect::<Result<Vec<_>, _>>()?;
                if true_types
                    .iter()
                    .zip(args)
                    .any(|(&t, &a)| !binary_coercible(a, t))
                {
                    let shown: Vec<String> =
                        true_types.iter().map(|&t| types::sql_name(t)).collect();
                    return Err(PgError::error(
                        sqlstate::DATATYPE_MISMATCH,
                        format!(
                            "function {fname}({}) requires run-time type coercion",
                            shown.join(", ")
                        ),
                    ));
                }
                return Ok(Some((b.resolve(f.ret)?, Some(f.clone()))));
            }
            Err(_) => continue,
        }
    }
    Err(missing())
}

/// Whether a value of type `from` is passed as `to` unchanged.
fn binary_coercible(from: Oid, to: Oid) -> bool {
    from == to
        || crate::polymorphic::is_polymorphic(to)
        || matches!(
            (from, to),
            (types::VARCHAR, types::TEXT) | (types::TEXT, types::VARCHAR)
        )
}

/// `name($1, ..., $n)` as an expression.
fn call_ast(name: &str, n: usize) -> Result<sqlparser::ast::Expr, PgError> {
    let ps: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    let text = format!("{}({})", crate::routine::quote_ident(name), ps.join(", "));
    sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| PgError::error(sqlstate::SYNTAX_ERROR, format!("syntax error: {e}")))
}

/// One bound call of a user aggregate: what each row and the end of the
/// group evaluate.
pub(crate) struct Bound {
    /// `sfunc($1 state, $2.. arguments)`.
    trans: Expr,
    /// `ffunc($1 state)`.
    fin: Option<Expr>,
    /// The initial state (NULL without INITCOND).
    init: Value,
    /// A strict transition function: rows with a NULL argument are
    /// skipped and, without an initial value, the first argument starts
    /// the state.
    strict: bool,
}

thread_local! {
    static BOUND: RefCell<Vec<Rc<Bound>>> = const { RefCell::new(Vec::new()) };
}

fn get(id: u32) -> Option<Rc<Bound>> {
    BOUND.with(|b| b.borrow().get(id as usize).cloned())
}

/// Binds a call of the aggregate `def` over arguments of `arg_types`
/// (already coerced to them): the registry number of the bound call and
/// its result type.
pub(crate) fn bind_call(
    host: &dyn Host,
    def: &FuncDef,
    arg_types: &[Oid],
) -> Result<(u32, Oid), PgError> {
    let spec = Spec::from_src(&def.src);
    let binding =
        crate::polymorphic::bind(&def.arg_types, arg_types, &crate::bind::implicit_ok, &|t| {
            crate::bind::common_type_of(t)
        })
        .map_err(|_| {
            PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                format!("arguments of aggregate {} are not consistent", def.name),
            )
        })?;
    let stype = binding.resolve(spec.stype)?;
    let mut params = vec![Some(types::Ty::new(stype))];
    params.extend(arg_types.iter().map(|&t| Some(types::Ty::new(t))));
    let mut b = crate::bind::Binder::new(host, params);
    let tb = b.bind_expr(&call_ast(&spec.sfunc, arg_types.len() + 1)?)?;
    let strict = match &tb.e {
        Expr::UserFunc(d, _) => d.strict,
        // Built-in transition functions are strict but for the array
        // builders, which take a NULL array as empty.
        _ => !matches!(
            spec.sfunc.to_ascii_lowercase().as_str(),
            "array_append" | "array_prepend" | "array_cat"
        ),
    };
    let trans = if tb.ty.oid == stype {
        tb.e
    } else {
        b.coerce(tb, types::Ty::new(stype))?.e
    };
    let (fin, ret) = match &spec.finalfunc {
        Some(ff) => {
            let mut fb = crate::bind::Binder::new(host, vec![Some(types::Ty::new(stype))]);
            let f = fb.bind_expr(&call_ast(ff, 1)?)?;
            let ret = f.ty.oid;
            (Some(f.e), ret)
        }
        None => (None, stype),
    };
    let init = match &spec.initcond {
        Some(s) => crate::cast::cast(
            Value::Text(s.clone()),
            types::TEXT,
            types::Ty::new(stype),
            host.now(),
        )?,
        None => Value::Null,
    };
    let id = BOUND.with(|r| {
        let mut r = r.borrow_mut();
        r.push(Rc::new(Bound {
            trans,
            fin,
            init,
            strict,
        }));
        r.len() - 1
    }) as u32;
    Ok((id, ret))
}

/// The state a group starts with: the initial value, and whether the
/// state has started (a strict transition without an initial value
/// starts at the first row).
pub(crate) fn start(id: u32) -> (Value, bool) {
    match get(id) {
        Some(b) => (b.init.clone(), !b.init.is_null()),
        None => (Value::Null, false),
    }
}

/// One row's transition.
pub(crate) fn step(
    id: u32,
    state: &mut Value,
    started: &mut bool,
    vals: Vec<Value>,
    cx: &mut Ctx<'_>,
) -> Result<(), PgError> {
    let Some(b) = get(id) else {
        return Ok(());
    };
    if b.strict {
        if vals.iter().any(Value::is_null) {
            return Ok(());
        }
        if state.is_null() {
            if !*started {
                *state = vals.into_iter().next().unwrap_or(Value::Null);
                *started = true;
            }
            return Ok(());
        }
    }
    let mut params = Vec::with_capacity(vals.len() + 1);
    params.push(std::mem::replace(state, Value::Null));
    params.extend(vals);
    let mut sub = Ctx {
        host: &mut *cx.host,
        params: &params,
    };
    *state = b.trans.eval(&[], &mut sub)?;
    *started = true;
    Ok(())
}

/// The group's result.
pub(crate) fn finish(id: u32, state: Value, cx: &mut Ctx<'_>) -> Result<Value, PgError> {
    let Some(b) = get(id) else {
        return Ok(Value::Null);
    };
    match &b.fin {
        None => Ok(state),
        Some(f) => {
            let params = [state];
            let mut sub = Ctx {
                host: &mut *cx.host,
                params: &params,
            };
            f.eval(&[], &mut sub)
        }
    }
}
