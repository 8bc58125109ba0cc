//! CALL: run a procedure, and return its output parameters as one row.
//!
//! Why it is built this way: a call is bound as `SELECT p(args)` with
//! procedures allowed (routine.rs [`crate::routine::with_calling`]), so
//! argument coercion, defaults and privileges are the binder's. What
//! CALL adds is PostgreSQL's: the arguments written for OUT parameters
//! are placeholders that are type-checked but never evaluated (they are
//! left out of the SELECT), the procedure's outputs come back as a row
//! whose columns are the OUT/INOUT parameters, and a missing or
//! non-procedure callee is reported as a procedure, at its name.

use sqlparser::tokenizer::Token;
use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::host::Host;
use crate::routine::{self, codes, Cur};
use crate::types::{self, Oid};
use crate::value::Value;

/// A bound CALL.
#[derive(Debug, Clone)]
pub(crate) struct CallStmt {
    /// `SELECT p(args)` with the OUT placeholders left out.
    select: String,
    /// The outputs (name, type): the result row's columns; empty when
    /// the procedure has none (CALL returns no rows).
    outs: Vec<(String, Oid)>,
    /// The parameter types declared by the caller (a CALL inside a SQL
    /// function refers to that function's arguments as `$n`).
    params: Vec<Oid>,
    /// Position of the procedure's name in the CALL, for errors.
    name_pos: Option<u32>,
    /// `name(argtypes)` as messages show the call.
    shown: String,
}

impl CallStmt {
    pub(crate) fn columns(&self) -> Vec<crate::Column> {
        self.outs
            .iter()
            .map(|(n, t)| crate::Column {
                name: n.clone(),
                type_oid: *t,
                type_len: types::typlen(*t),
                type_mod: -1,
            })
            .collect()
    }
}

impl routine::RoutineStmt {
    /// The result columns (CALL's outputs; none for the rest).
    pub(crate) fn columns(&self) -> Vec<crate::Column> {
        match self {
            routine::RoutineStmt::Call(c) => c.columns(),
            _ => Vec::new(),
        }
    }
}

/// The tokens as SQL text.
fn text(toks: &[Token]) -> String {
    toks.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The type an argument expression has on its own, as a call's
/// argument (a bare literal or NULL is `unknown`); None when it does not
/// bind alone.
fn arg_type(host: &dyn Host, arg: &[Token], params: &[Oid]) -> Option<Oid> {
    match arg {
        [Token::SingleQuotedString(_)] => return Some(types::UNKNOWN),
        [Token::Word(w)] if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("null") => {
            return Some(types::UNKNOWN)
        }
        _ => {}
    }
    let stmts = crate::parse(&format!("SELECT {}", text(arg))).ok()?;
    let p = crate::prepare(stmts.first()?, params, host).ok()?;
    p.columns().first().map(|c| c.type_oid)
}

/// Reads `CALL name(args)` (the cursor is past CALL).
pub(crate) fn bind(
    sql: &str,
    c: &mut Cur,
    params: &[Oid],
    host: &dyn Host,
) -> Result<routine::RoutineStmt, PgError> {
    let name_pos = routine::token_position(sql, c.i);
    let (schema, name) = c.qualified()?;
    let args: Vec<Vec<Token>> = if c.peek() == Some(&Token::LParen) {
        routine::split_list(c)?
    } else {
        return Err(c.unexpected());
    };
    c.eat_tok(&Token::SemiColon);
    if c.peek().is_some() {
        return Err(c.unexpected());
    }
    // Each argument: its name when written `name => value`, and value.
    let split: Vec<(Option<String>, Vec<Token>)> = args
        .into_iter()
        .map(
            |a| match a.iter().position(|t| matches!(t, Token::RArrow)) {
                Some(1) => {
                    let n = match &a[0] {
                        Token::Word(w) if w.quote_style.is_some() => w.value.clone(),
                        Token::Word(w) => w.value.to_lowercase(),
                        other => other.to_string(),
                    };
                    (Some(n), a[2..].to_vec())
                }
                _ => (None, a),
            },
        )
        .collect();
    let render = |(n, v): &(Option<String>, Vec<Token>)| match n {
        Some(n) => format!("{} => {}", routine::quote_ident(n), text(v)),
        None => text(v),
    };
    let arg_texts: Vec<String> = split.iter().map(render).collect();
    let cands: Vec<_> = host
        .lookup_routines(schema.as_deref(), &name)?
        .into_iter()
        .filter(|f| f.kind == b'p')
        .collect();
    // A procedure whose parameters (OUT ones included) the arguments
    // match one for one: its OUT arguments are placeholders.
    let mut kept = arg_texts.clone();
    let mut types_shown: Option<Vec<String>> = None;
    let slots = |f: &crate::catalog::FuncDef| -> Option<Vec<usize>> {
        let mut used = vec![false; f.attrs.params.len()];
        let mut out = Vec::new();
        for (i, (n, _)) in split.iter().enumerate() {
            let k = match n {
                Some(n) => f.attrs.params.iter().position(|p| &p.1 == n)?,
                None => i,
            };
            if k >= used.len() || used[k] {
                return None;
            }
            used[k] = true;
            out.push(k);
        }
        (out.len() == used.len()).then_some(out)
    };
    if let Some((f, slot)) = cands
        .iter()
        .filter(|f| f.attrs.params.iter().any(|p| p.0 == b'o'))
        .find_map(|f| slots(f).map(|s| (f, s)))
    {
        let mut ok = true;
        let mut shown = Vec::new();
        let mut k = Vec::new();
        for (i, (_, v)) in split.iter().enumerate() {
            let p = &f.attrs.params[slot[i]];
            let t = arg_type(host, v, params);
            shown.push(types::sql_name(t.unwrap_or(types::UNKNOWN)));
            if p.0 == b'o' {
                ok &= match t {
                    Some(t) => t == p.2 || t == types::UNKNOWN || crate::bind::implicit_ok(t, p.2),
                    None => true,
                };
            } else {
                k.push(arg_texts[i].clone());
            }
        }
        if ok {
            kept = k;
        } else {
            types_shown = Some(shown);
        }
    }
    let qualified = match &schema {
        Some(s) => format!(
            "{}.{}",
            routine::quote_ident(s),
            routine::quote_ident(&name)
        ),
        None => routine::quote_ident(&name),
    };
    let select = format!("SELECT {qualified}({})", kept.join(", "));
    let refused = types_shown.is_some();
    let shown = match types_shown {
        Some(t) => format!("{name}({})", t.join(", ")),
        None => {
            let t: Vec<String> = split
                .iter()
                .map(|(n, v)| {
                    let t = types::sql_name(arg_type(host, v, params).unwrap_or(types::UNKNOWN));
                    match n {
                        Some(n) => format!("{n} => {t}"),
                        None => t,
                    }
                })
                .collect();
            format!("{name}({})", t.join(", "))
        }
    };
    let mut call = CallStmt {
        select,
        outs: Vec::new(),
        params: params.to_vec(),
        name_pos,
        shown,
    };
    if refused {
        return Err(call.no_such());
    }
    // Bind now: the outputs are the columns the client is told of.
    let f = resolve(&call, host)?;
    if let Some(f) = f {
        call.outs = f.out_cols.clone();
    }
    Ok(routine::RoutineStmt::Call(Box::new(call)))
}

impl CallStmt {
    fn no_such(&self) -> PgError {
        PgError::error(
            sqlstate::UNDEFINED_FUNCTION,
            format!("procedure {} does not exist", self.shown),
        )
        .with_hint(
            "No procedure matches the given name and argument types. You might need to add explicit type casts.",
        )
        .with_position(self.name_pos)
    }

    /// Binds the SELECT; PostgreSQL's CALL messages for a callee that is
    /// missing or not a procedure.
    fn prepare(&self, host: &dyn Host) -> Result<crate::Prepared, PgError> {
        let stmts = crate::parse(&self.select)?;
        let Some(s) = stmts.first() else {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                "syntax error at end of input",
            ));
        };
        match routine::with_calling(|| crate::prepare(s, &self.params, host)) {
            Ok(p) => Ok(p),
            Err(e) if e.code == sqlstate::UNDEFINED_FUNCTION => Err(self.no_such()),
            Err(e) if e.code == codes::WRONG_OBJECT_TYPE => Err(e.with_position(self.name_pos)),
            Err(e) => Err(e),
        }
    }
}

/// The procedure the call binds to (None: a built-in function, refused).
fn resolve(
    call: &CallStmt,
    host: &dyn Host,
) -> Result<Option<std::rc::Rc<crate::catalog::FuncDef>>, PgError> {
    let p = routine::noting_callee(|| call.prepare(host));
    let (p, f) = (p.0?, p.1);
    drop(p);
    match f {
        Some(f) => Ok(Some(f)),
        None => Err(PgError::error(
            codes::WRONG_OBJECT_TYPE,
            format!("{} is not a procedure", call.shown),
        )
        .with_hint("To call a function, use SELECT.")
        .with_position(call.name_pos)),
    }
}

/// Runs the call; its output row when the procedure has outputs.
pub(crate) fn execute(
    call: &CallStmt,
    params: &[Value],
    host: &mut dyn Host,
) -> Result<Vec<crate::exec::Row>, PgError> {
    let p = call.prepare(&*host)?;
    let rels = host.nested_relations();
    // A CALL at top level may COMMIT (plpgsql.rs), and so may one run by
    // such a procedure; one from inside a function runs in its caller's
    // transaction.
    crate::plpgsql::set_nonatomic(routine::depth() == 0 || crate::plpgsql::in_nonatomic());
    let r = (|| {
        let mut ex = crate::start(&p, params.to_vec(), host, &*rels)?;
        let mut first = None;
        while let Some(r) = ex.next(host)? {
            first.get_or_insert(r);
        }
        Ok::<_, PgError>(first)
    })();
    crate::plpgsql::set_nonatomic(false);
    let first = r?;
    if call.outs.is_empty() {
        return Ok(Vec::new());
    }
    let v = first
        .and_then(|r| r.into_iter().next())
        .unwrap_or(Value::Null);
    let row = match v {
        Value::Record(fields) => fields.into_iter().map(|(_, v)| v).collect(),
        Value::Null => vec![Value::Null; call.outs.len()],
        other => vec![other],
    };
    Ok(vec![row])
}
