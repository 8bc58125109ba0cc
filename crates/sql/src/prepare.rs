//! SQL-level prepared statements: PREPARE name [(types)] AS statement and
//! EXECUTE name [(arguments)] (DEALLOCATE is utility.rs's).
//!
//! Why it is built this way: PostgreSQL keeps one store of prepared
//! statements per session, filled by both the protocol's Parse and SQL's
//! PREPARE, so the store is the host's ([`Host::add_prepared_statement`],
//! [`Host::prepared_statement`]) and this module only binds the two
//! statements. The inner statement is bound once, at PREPARE, with the
//! declared parameter types; EXECUTE binds its argument expressions
//! against those types with PostgreSQL's assignment rules (an argument
//! that cannot be coerced is 42804) and then starts the stored statement
//! as a portal would, so its rows and tag are the inner statement's.
//!
//! Runs in the backend that owns the session.

use std::rc::Rc;

use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;
use tusk_common::{sqlstate, PgError};

use crate::bind::{Binder, Bound};
use crate::cursor::{name_of, syntax_at, tokens};
use crate::exec::{Execution, Relations};
use crate::expr::Expr;
use crate::host::Host;
use crate::types::{self, Ty};
use crate::{Column, Oid, Prepared, Value};

#[derive(Debug, Clone)]
pub(crate) enum PrepareStmt {
    Prepare {
        name: String,
        stmt: Rc<Prepared>,
        sql: String,
    },
    Execute {
        stmt: Rc<Prepared>,
        args: Vec<Expr>,
    },
}

fn parse_err(e: sqlparser::parser::ParserError) -> PgError {
    let m = e.to_string();
    let m = m
        .strip_prefix("sql parser error: ")
        .unwrap_or(&m)
        .to_string();
    PgError::error(sqlstate::SYNTAX_ERROR, m)
}

/// Binds PREPARE: its name, declared types and the inner statement.
pub(crate) fn bind_prepare(sql: &str, host: &dyn Host) -> Result<(PrepareStmt, String), PgError> {
    let toks = tokens(sql)?;
    let name = toks
        .get(1)
        .and_then(|t| name_of(&t.0))
        .ok_or_else(|| syntax_at(sql, &toks, 1))?;
    let mut i = 2;
    let mut declared: Vec<Oid> = Vec::new();
    if matches!(toks.get(i).map(|t| &t.0), Some(Token::LParen)) {
        // The type list: up to the matching parenthesis, parsed as types.
        let mut depth = 0;
        let open = toks[i].1;
        let mut close = None;
        for (j, (t, off)) in toks.iter().enumerate().skip(i) {
            match t {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some((j, *off));
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some((j, end)) = close else {
            return Err(syntax_at(sql, &toks, toks.len()));
        };
        let list = &sql[open + 1..end];
        let dialect = PostgreSqlDialect {};
        let mut p = Parser::new(&dialect)
            .try_with_sql(list)
            .map_err(parse_err)?;
        let dts = p
            .parse_comma_separated(|p| p.parse_data_type())
            .map_err(parse_err)?;
        for dt in &dts {
            let ty = crate::bind::data_type_to_ty(dt).map_err(|e| {
                let at = sql[..open + 1].chars().count() as u32 + 1;
                e.with_position(Some(at))
            })?;
            declared.push(ty.oid);
        }
        i = j + 1;
    }
    match toks.get(i) {
        Some((Token::Word(w), _))
            if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("AS") => {}
        _ => return Err(syntax_at(sql, &toks, i)),
    }
    let Some(&(_, start)) = toks.get(i + 1) else {
        return Err(syntax_at(sql, &toks, i + 1));
    };
    let stmts = crate::parse(&sql[start..])?;
    let [inner] = stmts.as_slice() else {
        return Err(syntax_at(sql, &toks, i + 1));
    };
    let p = crate::prepare(inner, &declared, host)?;
    Ok((
        PrepareStmt::Prepare {
            name: name.clone(),
            stmt: Rc::new(p),
            sql: sql.to_string(),
        },
        name,
    ))
}

/// Binds EXECUTE name [(args)]: the stored statement (26000 when there is
/// none) and its arguments coerced to its parameter types. Returns the
/// statement's columns too.
pub(crate) fn bind_execute(
    sql: &str,
    host: &dyn Host,
) -> Result<(PrepareStmt, Vec<Column>, crate::Command), PgError> {
    let toks = tokens(sql)?;
    let name = toks
        .get(1)
        .and_then(|t| name_of(&t.0))
        .ok_or_else(|| syntax_at(sql, &toks, 1))?;
    let mut args: Vec<(ast::Expr, usize)> = Vec::new();
    if let Some(&(Token::LParen, open)) = toks.get(2).map(|(t, o)| (t.clone(), *o)).as_ref() {
        let dialect = PostgreSqlDialect {};
        let text = &sql[open..];
        let mut p = Parser::new(&dialect)
            .try_with_sql(text)
            .map_err(parse_err)?;
        p.expect_token(&Token::LParen).map_err(parse_err)?;
        if !p.consume_token(&Token::RParen) {
            loop {
                let here = p.peek_token().span.start;
                let e = p.parse_expr().map_err(parse_err)?;
                // Character offset of the argument for error positions.
                let col = if here.line == 1 {
                    sql[..open].chars().count() + here.column as usize
                } else {
                    sql[..open].chars().count() + 1
                };
                args.push((e, col));
                if p.consume_token(&Token::Comma) {
                    continue;
                }
                p.expect_token(&Token::RParen).map_err(parse_err)?;
                break;
            }
        }
        if p.peek_token().token != Token::EOF {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                format!("syntax error at or near \"{}\"", p.peek_token().token),
            ));
        }
    } else if toks.len() > 2 {
        return Err(syntax_at(sql, &toks, 2));
    }
    let Some(stmt) = host.prepared_statement(&name) else {
        return Err(PgError::error(
            sqlstate::INVALID_SQL_STATEMENT_NAME,
            format!("prepared statement \"{name}\" does not exist"),
        ));
    };
    let want = stmt.param_types();
    if want.len() != args.len() {
        return Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("wrong number of parameters for prepared statement \"{name}\""),
        )
        .with_detail(format!(
            "Expected {} parameters but got {}.",
            want.len(),
            args.len()
        )));
    }
    let mut binder = Binder::new(host, Vec::new());
    let mut exprs = Vec::with_capacity(args.len());
    for (i, ((a, at), &oid)) in args.iter().zip(want).enumerate() {
        let b: Bound = binder.bind_expr(a)?;
        let target = Ty::new(oid);
        let given = b.ty.oid;
        let unknown = b.is_unknown();
        let e = crate::bind::rowexpr::coerce_to(host, b, target)
            .map_err(|e| e.with_position(Some(*at as u32)))?;
        match e {
            Some(e) => exprs.push(e),
            None => {
                debug_assert!(!unknown);
                return Err(PgError::error(
                    sqlstate::DATATYPE_MISMATCH,
                    format!(
                        "parameter ${} of type {} cannot be coerced to the expected type {}",
                        i + 1,
                        types::sql_name(given),
                        types::sql_name(oid)
                    ),
                )
                .with_hint("You will need to rewrite or cast the expression.")
                .with_position(Some(*at as u32)));
            }
        }
    }
    let columns = stmt.columns().to_vec();
    let command = stmt.command();
    Ok((PrepareStmt::Execute { stmt, args: exprs }, columns, command))
}

/// Runs PREPARE (stores the statement) or EXECUTE (starts it).
pub(crate) fn execute(
    s: &PrepareStmt,
    host: &mut dyn Host,
    relations: &dyn Relations,
) -> Result<Execution, PgError> {
    match s {
        PrepareStmt::Prepare { name, stmt, sql } => {
            let text = host.query_text().unwrap_or_else(|| sql.clone());
            host.add_prepared_statement(name, stmt.clone(), &text)?;
            Ok(Execution::done(Vec::new(), "PREPARE".into()))
        }
        PrepareStmt::Execute { stmt, args } => {
            let mut values: Vec<Value> = Vec::with_capacity(args.len());
            {
                let mut cx = crate::expr::Ctx { host, params: &[] };
                for a in args {
                    values.push(a.eval(&[], &mut cx)?);
                }
            }
            crate::start(stmt, values, host, relations)
        }
    }
}
