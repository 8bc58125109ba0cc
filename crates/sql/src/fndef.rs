//! SQL-standard routine bodies (`RETURN expr`, `BEGIN ATOMIC ... END`)
//! and pg_get_functiondef, which shows them.
//!
//! Why it is built this way: PostgreSQL keeps a standard body as a parsed
//! query tree (pg_proc.prosqlbody) and deparses it; tusk keeps the body's
//! statements as text in that column, in the shape pg_get_functiondef
//! prints (`RETURN expr`, or `BEGIN ATOMIC` with one statement a line and
//! `END`), and runs it as the statements of a quoted SQL body, each
//! `RETURN e` being `SELECT e`. The body is still parsed and bound when
//! the routine is created, so errors in it are reported then.

use sqlparser::tokenizer::Token;
use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::catalog::FuncDef;
use crate::host::Host;
use crate::routine::{self, Cur};
use crate::value::Value;

fn word_is(t: &Token, kw: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
}

/// Reads a `BEGIN ATOMIC ... END` body (the cursor is past BEGIN): its
/// stored text. Statements other than queries and DML are refused, as
/// PostgreSQL's grammar refuses them there.
pub(crate) fn read_atomic(c: &mut Cur) -> Result<String, PgError> {
    c.expect("ATOMIC")?;
    let mut stmts: Vec<String> = Vec::new();
    let mut cur: Vec<Token> = Vec::new();
    let mut depth = 0usize;
    loop {
        let Some(t) = c.next() else {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                "syntax error at end of input",
            ));
        };
        if depth == 0 && word_is(&t, "END") {
            break;
        }
        if word_is(&t, "CASE") || word_is(&t, "BEGIN") {
            depth += 1;
        } else if word_is(&t, "END") {
            depth -= 1;
        }
        if depth == 0 && t == Token::SemiColon {
            if !cur.is_empty() {
                stmts.push(statement(std::mem::take(&mut cur))?);
            }
            continue;
        }
        cur.push(t);
    }
    if !cur.is_empty() {
        stmts.push(statement(cur)?);
    }
    let mut out = String::from("BEGIN ATOMIC\n");
    for s in stmts {
        out.push(' ');
        out.push_str(&s);
        out.push_str(";\n");
    }
    out.push_str("END");
    Ok(out)
}

/// One statement of an atomic body as text; utility statements refused.
fn statement(toks: Vec<Token>) -> Result<String, PgError> {
    let words: Vec<String> = toks
        .iter()
        .take(2)
        .map(|t| match t {
            Token::Word(w) => w.value.to_ascii_uppercase(),
            other => other.to_string(),
        })
        .collect();
    let first = words.first().map(String::as_str).unwrap_or("");
    if !matches!(
        first,
        "SELECT"
            | "INSERT"
            | "UPDATE"
            | "DELETE"
            | "MERGE"
            | "WITH"
            | "VALUES"
            | "TABLE"
            | "RETURN"
            | "("
    ) {
        let tag = match first {
            "CREATE" | "ALTER" | "DROP" => words.join(" "),
            _ => first.to_string(),
        };
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!("{tag} is not yet supported in unquoted SQL function body"),
        ));
    }
    Ok(toks
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(" "))
}

/// The statements a stored standard body runs (`RETURN e` as `SELECT e`).
pub(crate) fn runnable(body: &str) -> String {
    let inner = match body.strip_prefix("BEGIN ATOMIC") {
        Some(rest) => rest.strip_suffix("END").unwrap_or(rest),
        None => body,
    };
    inner
        .split(";\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix("RETURN ") {
            Some(e) => format!("SELECT {e}"),
            None => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join(";\n")
}

/// The text a routine's statements are read from.
pub(crate) fn body_sql(def: &FuncDef) -> std::borrow::Cow<'_, str> {
    if def.attrs.sqlbody {
        std::borrow::Cow::Owned(runnable(&def.src))
    } else {
        std::borrow::Cow::Borrowed(&def.src)
    }
}

/// `%g` of C's printf for COST/ROWS (integral values without a point).
fn g(v: f32) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// pg_get_functiondef(oid): the CREATE OR REPLACE statement PostgreSQL
/// prints for a routine; NULL for an oid that names none.
pub(crate) fn functiondef(host: &dyn Host, arg: &Value) -> Result<Value, PgError> {
    let oid = match arg {
        Value::Oid(o) => *o,
        Value::Int4(i) => *i as u32,
        Value::Int8(i) => *i as u32,
        _ => return Ok(Value::Null),
    };
    let Some(d) = host.routine_by_oid(oid)? else {
        return Ok(Value::Null);
    };
    Ok(Value::Text(definition(&d)))
}

pub(crate) fn definition(d: &FuncDef) -> String {
    let function = d.kind != b'p';
    let mut s = format!(
        "CREATE OR REPLACE {} {}.{}({})\n",
        if function { "FUNCTION" } else { "PROCEDURE" },
        routine::quote_ident(&d.schema),
        routine::quote_ident(&d.name),
        routine::arguments_text(d)
    );
    if function {
        if let Value::Text(r) = routine::result_text(d) {
            s.push_str(&format!(" RETURNS {r}\n"));
        }
    }
    s.push_str(&format!(
        " LANGUAGE {}\n",
        routine::quote_ident(&d.language)
    ));
    let mut line = String::new();
    match d.volatility {
        b'i' => line.push_str(" IMMUTABLE"),
        b's' => line.push_str(" STABLE"),
        _ => {}
    }
    match d.attrs.parallel {
        b's' => line.push_str(" PARALLEL SAFE"),
        b'r' => line.push_str(" PARALLEL RESTRICTED"),
        _ => {}
    }
    if d.strict {
        line.push_str(" STRICT");
    }
    if d.attrs.secdef {
        line.push_str(" SECURITY DEFINER");
    }
    if d.attrs.leakproof {
        line.push_str(" LEAKPROOF");
    }
    if d.attrs.cost != 100.0 {
        line.push_str(&format!(" COST {}", g(d.attrs.cost)));
    }
    if d.attrs.rows > 0.0 && d.attrs.rows != 1000.0 {
        line.push_str(&format!(" ROWS {}", g(d.attrs.rows)));
    }
    if !line.is_empty() {
        s.push_str(&line);
        s.push('\n');
    }
    for item in &d.attrs.config {
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        s.push_str(&format!(
            " SET {} TO {}\n",
            routine::quote_ident(k),
            routine::quote_literal(v)
        ));
    }
    if d.attrs.sqlbody {
        s.push_str(&d.src);
    } else {
        let mut dq = format!("${}", if function { "function" } else { "procedure" });
        while d.src.contains(&dq) {
            dq.push('x');
        }
        dq.push('$');
        s.push_str(&format!("AS {dq}{}{dq}", d.src));
    }
    s.push('\n');
    s
}
