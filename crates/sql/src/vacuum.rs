//! VACUUM and ANALYZE: their grammar, read from the statement's text.
//!
//! Why here and not through sqlparser: it misreads `VACUUM ANALYZE t`
//! (parse.rs routes both statements around it by their first keyword).
//! The statement becomes a `Utility::Vacuum`; the work is the host's
//! [`Tables::vacuum`](crate::catalog::Tables::vacuum) per table (or for
//! every table of the database when none is named). ANALYZE is accepted
//! and does nothing yet: tusk keeps no planner statistics.
//!
//! Called only by the backend binding the statement.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{IsOptional, Parser};
use sqlparser::tokenizer::Token;

use tusk_common::{sqlstate, PgError};

use crate::bind::{ident_name, object_name_parts};
use crate::catalog::VacuumOptions;
use crate::parse::near;
use crate::parse::peek_word;
use crate::utility::Utility;

fn syntax(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

/// The next token as an unquoted keyword, upper-cased, if it is one.
/// `VACUUM ...` or `ANALYZE ...` as a utility statement.
pub(crate) fn bind(sql: &str) -> Result<Utility, PgError> {
    let dialect = PostgreSqlDialect {};
    let mut p = Parser::new(&dialect)
        .try_with_sql(sql)
        .map_err(|e| syntax(e.to_string()))?;
    let first = peek_word(&mut p).unwrap_or_default();
    p.next_token();
    let analyze_only = first != "VACUUM";
    let mut opts = VacuumOptions::default();
    if p.consume_token(&Token::LParen) {
        // The parenthesized list: `name [boolean]`, as PostgreSQL's
        // ExecVacuum reads it.
        loop {
            let Some(name) = peek_word(&mut p) else {
                return Err(near(&mut p));
            };
            p.next_token();
            let value = match p.peek_token().token {
                Token::Comma | Token::RParen => true,
                Token::Word(w) => {
                    p.next_token();
                    match w.value.to_ascii_lowercase().as_str() {
                        "true" | "on" | "yes" => true,
                        "false" | "off" | "no" => false,
                        "auto" if name == "INDEX_CLEANUP" => true,
                        other => {
                            return Err(syntax(format!(
                                "{} requires a Boolean value",
                                name.to_lowercase()
                            ))
                            .with_detail(format!("got \"{other}\"")))
                        }
                    }
                }
                Token::Number(n, _) => {
                    p.next_token();
                    n != "0"
                }
                _ => return Err(near(&mut p)),
            };
            match name.as_str() {
                "FULL" if !analyze_only => opts.full = value,
                "FREEZE" if !analyze_only => opts.freeze = value,
                "VERBOSE" => opts.verbose = value,
                "ANALYZE" | "ANALYSE" if !analyze_only => opts.analyze = value,
                "SKIP_LOCKED" => {}
                "DISABLE_PAGE_SKIPPING"
                | "INDEX_CLEANUP"
                | "PROCESS_TOAST"
                | "TRUNCATE"
                | "PARALLEL"
                    if !analyze_only => {}
                other => {
                    let what = if analyze_only { "ANALYZE" } else { "VACUUM" };
                    return Err(syntax(format!(
                        "unrecognized {what} option \"{}\"",
                        other.to_lowercase()
                    )));
                }
            }
            if p.consume_token(&Token::RParen) {
                break;
            }
            if !p.consume_token(&Token::Comma) {
                return Err(near(&mut p));
            }
        }
    } else if analyze_only {
        if peek_word(&mut p).as_deref() == Some("VERBOSE") {
            p.next_token();
            opts.verbose = true;
        }
    } else {
        // The old fixed order: VACUUM [FULL] [FREEZE] [VERBOSE] [ANALYZE].
        let take = |p: &mut Parser, word: &str| {
            let yes = peek_word(p).as_deref() == Some(word);
            if yes {
                p.next_token();
            }
            yes
        };
        opts.full = take(&mut p, "FULL");
        opts.freeze = take(&mut p, "FREEZE");
        opts.verbose = take(&mut p, "VERBOSE");
        if matches!(peek_word(&mut p).as_deref(), Some("ANALYZE" | "ANALYSE")) {
            p.next_token();
            opts.analyze = true;
        }
    }
    let mut tables = Vec::new();
    if p.peek_token().token != Token::EOF {
        loop {
            let name = p.parse_object_name(false).map_err(|_| near(&mut p))?;
            let cols = p
                .parse_parenthesized_column_list(IsOptional::Optional, false)
                .map_err(|_| near(&mut p))?;
            if !(cols.is_empty() || analyze_only || opts.analyze) {
                return Err(PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    "ANALYZE option must be specified when a column list is provided",
                ));
            }
            let _: Vec<String> = cols.iter().map(ident_name).collect();
            let parts = object_name_parts(&name)?;
            tables.push(match parts.as_slice() {
                [t] => (None, t.clone()),
                [s, t] => (Some(s.clone()), t.clone()),
                _ => {
                    return Err(syntax(format!(
                        "improper relation name (too many dotted names): {name}"
                    )))
                }
            });
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
    }
    if p.peek_token().token != Token::EOF {
        return Err(near(&mut p));
    }
    Ok(Utility::Vacuum {
        opts,
        analyze_only,
        tables,
    })
}
