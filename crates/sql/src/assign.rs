//! Assignment targets with indirection (`SET a[1:2] = ...`, `INSERT INTO
//! t (c.f, a[3]) ...`): the token pass that carries their subscripts
//! through sqlparser, and the decoding of a target name back into its
//! column and indirection steps.
//!
//! Why a token pass: sqlparser reads an assignment target or an INSERT
//! column as an object name (`a.b.c`), and a `[` there is a syntax error.
//! Each bracketed subscript of a target is folded into one extra name
//! part, a quoted identifier holding the subscript's text behind a NUL
//! (no query text can contain NUL: the protocol ends strings with it),
//! so the target parses as a dotted name wherever sqlparser takes one
//! (UPDATE, ON CONFLICT DO UPDATE and MERGE's SET lists, their tuple
//! targets, INSERT and MERGE INSERT column lists). The binder
//! ([`target`]) reads the parts back and parses each subscript's text
//! as the expression `x[...]`. The binding itself is bind/assign.rs.

use sqlparser::ast;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Word};

use tusk_common::{sqlstate, PgError};

/// First character of a name part that carries a subscript's text.
pub(crate) const SUBSCRIPT_MARK: char = '\u{0}';

/// One step of a target's indirection.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// `.field`
    Field(String),
    /// `[i]` or `[lo:hi]` (either bound may be missing).
    Subscript(Box<ast::Subscript>),
}

/// An assignment target: the column's name and the steps after it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub column: String,
    pub steps: Vec<Step>,
}

fn is_trivia(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

fn next_meaningful(toks: &[TokenWithSpan], mut j: usize) -> usize {
    while j < toks.len() && is_trivia(&toks[j].token) {
        j += 1;
    }
    j
}

/// Text of a token that reads back as the same token (sqlparser's
/// Display does not double the quotes inside literals and identifiers).
fn token_text(t: &Token) -> String {
    match t {
        Token::Whitespace(_) => " ".into(),
        Token::SingleQuotedString(s) => format!("'{}'", s.replace('\'', "''")),
        Token::EscapedStringLiteral(s) => {
            format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
        }
        Token::Word(w) if w.quote_style == Some('"') => {
            format!("\"{}\"", w.value.replace('"', "\"\""))
        }
        other => other.to_string(),
    }
}

/// The target starting at `i` (a word) when it has at least one
/// subscript and the token after it satisfies `follow`: the index after
/// the target and its tokens with each subscript folded into a name part.
fn fold_target(
    toks: &[TokenWithSpan],
    i: usize,
    follow: &dyn Fn(&Token) -> bool,
) -> Option<(usize, Vec<TokenWithSpan>)> {
    if !matches!(toks.get(i)?.token, Token::Word(_)) {
        return None;
    }
    let mut out = vec![toks[i].clone()];
    let mut j = i + 1;
    let mut subscripted = false;
    loop {
        let k = next_meaningful(toks, j);
        match toks.get(k).map(|t| &t.token) {
            Some(Token::Period) => {
                let m = next_meaningful(toks, k + 1);
                if !matches!(toks.get(m)?.token, Token::Word(_)) {
                    return None;
                }
                out.push(toks[k].clone());
                out.push(toks[m].clone());
                j = m + 1;
            }
            Some(Token::LBracket) => {
                let mut depth = 0usize;
                let mut e = k;
                loop {
                    match toks.get(e)?.token {
                        Token::LBracket => depth += 1,
                        Token::RBracket => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Token::SemiColon | Token::EOF => return None,
                        _ => {}
                    }
                    e += 1;
                }
                let mut text = String::from(SUBSCRIPT_MARK);
                for t in &toks[k..=e] {
                    text.push_str(&token_text(&t.token));
                }
                let span = toks[k].span;
                out.push(TokenWithSpan {
                    token: Token::Period,
                    span,
                });
                out.push(TokenWithSpan {
                    token: Token::Word(Word {
                        value: text,
                        quote_style: Some('"'),
                        keyword: Keyword::NoKeyword,
                    }),
                    span,
                });
                subscripted = true;
                j = e + 1;
            }
            _ => break,
        }
    }
    let k = next_meaningful(toks, j);
    (subscripted && toks.get(k).is_some_and(|t| follow(&t.token))).then_some((j, out))
}

fn keyword(t: &Token) -> Option<Keyword> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    }
}

/// Folds the subscripts of assignment targets: the items of a SET list
/// (and of its `(a, b) = ...` tuples) and of the column list after
/// `INSERT [INTO] name [AS alias]` or MERGE's `INSERT`.
pub(crate) fn rewrite_tokens(toks: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    if !toks.iter().any(|t| t.token == Token::LBracket) {
        return toks;
    }
    let eq = |t: &Token| *t == Token::Eq;
    let item_end = |t: &Token| matches!(t, Token::Comma | Token::RParen);
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(toks.len());
    let mut depth = 0usize;
    // The bracket depth of an open SET list.
    let mut set_list: Option<usize> = None;
    // The depth of a column list (INSERT's, or a SET tuple's).
    let mut col_list: Option<usize> = None;
    // A target may start at the next meaningful token.
    let mut at_item = false;
    let mut in_tuple_target = false;
    // CASE ... END open in a SET value (its WHEN ends no list).
    let mut open_cases = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i].token;
        if is_trivia(t) {
            out.push(toks[i].clone());
            i += 1;
            continue;
        }
        if at_item {
            at_item = false;
            let follow: &dyn Fn(&Token) -> bool = if col_list == Some(depth) {
                &item_end
            } else {
                &eq
            };
            if let Some((end, folded)) = fold_target(&toks, i, follow) {
                out.extend(folded);
                i = end;
                continue;
            }
        }
        match t {
            Token::LParen | Token::LBracket => {
                depth += 1;
                // `SET (a, b[1]) = ...`: a column list inside the SET list.
                if *t == Token::LParen
                    && set_list == Some(depth - 1)
                    && out
                        .iter()
                        .rev()
                        .find(|x| !is_trivia(&x.token))
                        .is_some_and(|x| {
                            x.token == Token::Comma || keyword(&x.token) == Some(Keyword::SET)
                        })
                {
                    col_list = Some(depth);
                    in_tuple_target = true;
                    at_item = true;
                }
            }
            Token::RParen | Token::RBracket => {
                if col_list == Some(depth) {
                    col_list = None;
                    in_tuple_target = false;
                }
                depth = depth.saturating_sub(1);
                if set_list.is_some_and(|d| d > depth) {
                    set_list = None;
                }
            }
            Token::Comma if col_list == Some(depth) || set_list == Some(depth) => {
                at_item = true;
            }
            Token::SemiColon => {
                set_list = None;
                col_list = None;
            }
            Token::Word(_) => match keyword(t) {
                Some(Keyword::SET) => {
                    set_list = Some(depth);
                    at_item = true;
                    open_cases = 0;
                }
                Some(Keyword::CASE) if set_list.is_some() => open_cases += 1,
                Some(Keyword::END) if open_cases > 0 => open_cases -= 1,
                Some(
                    Keyword::FROM
                    | Keyword::WHERE
                    | Keyword::RETURNING
                    | Keyword::WHEN
                    | Keyword::ON
                    | Keyword::SELECT
                    | Keyword::VALUES,
                ) if set_list == Some(depth) && !in_tuple_target && open_cases == 0 => {
                    set_list = None
                }
                Some(Keyword::INSERT) => {
                    out.push(toks[i].clone());
                    i += 1;
                    // `INSERT [INTO] name[.name] [AS alias] (`, or MERGE's
                    // `INSERT (`.
                    let mut j = next_meaningful(&toks, i);
                    if toks.get(j).and_then(|t| keyword(&t.token)) == Some(Keyword::INTO) {
                        j = next_meaningful(&toks, j + 1);
                        while toks
                            .get(j)
                            .is_some_and(|t| matches!(t.token, Token::Word(_)))
                        {
                            let k = next_meaningful(&toks, j + 1);
                            if toks.get(k).is_some_and(|t| t.token == Token::Period) {
                                j = next_meaningful(&toks, k + 1);
                            } else {
                                j = k;
                                break;
                            }
                        }
                        if toks.get(j).and_then(|t| keyword(&t.token)) == Some(Keyword::AS) {
                            j = next_meaningful(&toks, j + 1);
                            j = next_meaningful(&toks, j + 1);
                        }
                    }
                    if toks.get(j).is_some_and(|t| t.token == Token::LParen) {
                        out.extend(toks[i..=j].iter().cloned());
                        i = j + 1;
                        depth += 1;
                        col_list = Some(depth);
                        at_item = true;
                    }
                    continue;
                }
                _ => {}
            },
            _ => {}
        }
        out.push(toks[i].clone());
        i += 1;
    }
    out
}

/// Reads an assignment target (a SET target or an INSERT column) back
/// into its column, fields and subscripts.
pub(crate) fn target(name: &ast::ObjectName) -> Result<Target, PgError> {
    let mut parts = name.0.iter();
    let first = match parts.next() {
        Some(ast::ObjectNamePart::Identifier(i)) => i,
        _ => return Err(PgError::error(sqlstate::SYNTAX_ERROR, "syntax error")),
    };
    let mut steps = Vec::new();
    for p in parts {
        let ast::ObjectNamePart::Identifier(i) = p else {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                format!("syntax error at or near \"{name}\""),
            ));
        };
        match i.value.strip_prefix(SUBSCRIPT_MARK) {
            Some(text) => steps.push(Step::Subscript(Box::new(parse_subscript(text)?))),
            None => steps.push(Step::Field(crate::bind::ident_name(i))),
        }
    }
    Ok(Target {
        column: crate::bind::ident_name(first),
        steps,
    })
}

/// A target name as it was written (`f4[1].if2[2]`), for deparsing a
/// statement whose targets went through [`rewrite_tokens`] (a rule's
/// action as pg_get_ruledef prints it; not called outside tests until
/// rules are deparsed).
#[allow(dead_code)]
pub(crate) fn display_target(name: &ast::ObjectName) -> String {
    let mut out = String::new();
    for (i, p) in name.0.iter().enumerate() {
        match p
            .as_ident()
            .and_then(|id| id.value.strip_prefix(SUBSCRIPT_MARK))
        {
            Some(text) => out.push_str(text),
            None => {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(&p.to_string());
            }
        }
    }
    out
}

/// `[...]` as sqlparser reads a subscript.
fn parse_subscript(text: &str) -> Result<ast::Subscript, PgError> {
    let err = |m: String| PgError::error(sqlstate::SYNTAX_ERROR, m);
    let mut p = crate::parse::rewritten_parser(&format!("x{text}"))
        .map_err(|e| err(format!("syntax error in subscript: {e}")))?;
    let e = p
        .parse_expr()
        .map_err(|e| err(format!("syntax error in subscript: {e}")))?;
    if let ast::Expr::CompoundFieldAccess { access_chain, .. } = e {
        if let [ast::AccessExpr::Subscript(s)] = access_chain.as_slice() {
            return Ok(s.clone());
        }
    }
    Err(err(format!("syntax error at or near \"{text}\"")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn fold(sql: &str) -> String {
        let toks = Tokenizer::new(&PostgreSqlDialect {}, sql)
            .tokenize_with_location()
            .unwrap();
        rewrite_tokens(toks)
            .iter()
            .map(|t| t.token.to_string().replace(SUBSCRIPT_MARK, "#"))
            .collect()
    }

    #[test]
    fn folds_targets_only() {
        assert_eq!(
            fold("UPDATE t SET a[1] = b[2], c.f[1:2] = 'x''y' WHERE d[1] = 1"),
            "UPDATE t SET a.\"#[1]\" = b[2], c.f.\"#[1:2]\" = 'x'y' WHERE d[1] = 1"
        );
        assert_eq!(
            fold("INSERT INTO s.t AS z (a[1], b) VALUES (c[1], 2)"),
            "INSERT INTO s.t AS z (a.\"#[1]\", b) VALUES (c[1], 2)"
        );
        assert_eq!(
            fold("UPDATE t SET (a[1], b) = (1, 2) RETURNING a, b[1] = 2"),
            "UPDATE t SET (a.\"#[1]\", b) = (1, 2) RETURNING a, b[1] = 2"
        );
        assert_eq!(fold("SELECT a[1] = 2"), "SELECT a[1] = 2");
        assert_eq!(
            fold("UPDATE t SET a = CASE WHEN b THEN 1 END, c[1] = 2"),
            "UPDATE t SET a = CASE WHEN b THEN 1 END, c.\"#[1]\" = 2"
        );
        assert_eq!(
            fold("MERGE INTO t USING s ON true WHEN MATCHED THEN UPDATE SET a[1] = 1 WHEN NOT MATCHED THEN INSERT (k, a[2]) VALUES (1, 2)"),
            "MERGE INTO t USING s ON true WHEN MATCHED THEN UPDATE SET a.\"#[1]\" = 1 WHEN NOT MATCHED THEN INSERT (k, a.\"#[2]\") VALUES (1, 2)"
        );
    }

    #[test]
    fn reads_targets_back() {
        let n = ast::ObjectName::from(vec![
            ast::Ident::new("a"),
            ast::Ident::with_quote('"', "\u{0}[1:]"),
            ast::Ident::new("f"),
        ]);
        let t = target(&n).unwrap();
        assert_eq!(t.column, "a");
        assert!(matches!(
            &t.steps[0],
            Step::Subscript(s) if matches!(**s, ast::Subscript::Slice {
                lower_bound: Some(_),
                upper_bound: None,
                ..
            })
        ));
        assert!(matches!(&t.steps[1], Step::Field(f) if f == "f"));
        assert_eq!(display_target(&n), "a[1:].f");
    }
}
