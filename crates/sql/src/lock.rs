//! LOCK TABLE: its grammar, read from the statement's text.
//!
//! Why here and not through sqlparser: its LOCK TABLES is MySQL's
//! (`LOCK TABLES t READ`), not PostgreSQL's `LOCK [TABLE] [ONLY] name
//! [* ] [, ...] [IN lockmode MODE] [NOWAIT]`. parse.rs routes the
//! statement here by its first keyword; the lock is the host's
//! [`Tables::lock_table`](crate::catalog::Tables::lock_table), held until
//! the transaction ends.
//!
//! Called only by the backend binding the statement.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use tusk_common::{sqlstate, PgError};

use crate::bind::object_name_parts;
use crate::parse::near;
use crate::parse::{peek_word, take_word as take};
use crate::utility::Utility;

/// PostgreSQL's table lock modes by their LOCK TABLE spelling, numbered
/// as its lock manager numbers them (1 = ACCESS SHARE ... 8 = ACCESS
/// EXCLUSIVE).
const MODES: [(&[&str], u8); 8] = [
    (&["ACCESS", "SHARE"], 1),
    (&["ROW", "SHARE"], 2),
    (&["ROW", "EXCLUSIVE"], 3),
    (&["SHARE", "UPDATE", "EXCLUSIVE"], 4),
    (&["SHARE", "ROW", "EXCLUSIVE"], 6),
    (&["SHARE"], 5),
    (&["EXCLUSIVE"], 7),
    (&["ACCESS", "EXCLUSIVE"], 8),
];

fn syntax(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

/// `LOCK ...` as a utility statement.
pub(crate) fn bind(sql: &str) -> Result<Utility, PgError> {
    let dialect = PostgreSqlDialect {};
    let mut p = Parser::new(&dialect)
        .try_with_sql(sql)
        .map_err(|e| syntax(e.to_string()))?;
    p.next_token(); // LOCK
    take(&mut p, "TABLE");
    take(&mut p, "ONLY");
    let mut tables = Vec::new();
    loop {
        let name = p.parse_object_name(false).map_err(|_| near(&mut p))?;
        // `name *`: descendant tables too (tusk has no inheritance).
        let _ = p.consume_token(&Token::Mul);
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
    let mut mode = 8;
    if take(&mut p, "IN") {
        let mut words = Vec::new();
        while let Some(w) = peek_word(&mut p) {
            if w == "MODE" {
                break;
            }
            words.push(w);
            p.next_token();
        }
        let found = MODES.iter().find(|(spelling, _)| {
            spelling
                .iter()
                .copied()
                .eq(words.iter().map(String::as_str))
        });
        match found {
            Some(&(_, m)) if take(&mut p, "MODE") => mode = m,
            _ => return Err(near(&mut p)),
        }
    }
    let nowait = take(&mut p, "NOWAIT");
    if p.peek_token().token != Token::EOF {
        return Err(near(&mut p));
    }
    Ok(Utility::Lock {
        tables,
        mode,
        nowait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(sql: &str) -> (Vec<(Option<String>, String)>, u8, bool) {
        match bind(sql).unwrap() {
            Utility::Lock {
                tables,
                mode,
                nowait,
            } => (tables, mode, nowait),
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_mode_spelling_and_the_defaults() {
        assert_eq!(parsed("LOCK t"), (vec![(None, "t".into())], 8, false));
        assert_eq!(
            parsed("lock table only s.T, \"U\" * in share row exclusive mode nowait"),
            (
                vec![(Some("s".into()), "t".into()), (None, "U".into())],
                6,
                true
            )
        );
        for (spelling, m) in MODES {
            let sql = format!("LOCK t IN {} MODE", spelling.join(" "));
            assert_eq!(parsed(&sql).1, m, "{sql}");
        }
    }

    #[test]
    fn bad_spellings_are_syntax_errors_where_postgresql_reports_them() {
        for (sql, msg) in [
            ("LOCK", "syntax error at end of input"),
            ("LOCK t IN SHARE", "syntax error at end of input"),
            (
                "LOCK t IN EXCLUSIVE SHARE MODE",
                "syntax error at or near \"MODE\"",
            ),
            ("LOCK t NOWAIT x", "syntax error at or near \"x\""),
        ] {
            let e = bind(sql).unwrap_err();
            assert_eq!(e.code, sqlstate::SYNTAX_ERROR, "{sql}");
            assert_eq!(e.message, msg, "{sql}");
        }
    }
}
