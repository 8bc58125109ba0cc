//! Stored generated columns (`GENERATED ALWAYS AS (expr) STORED`): the checks PostgreSQL 15 makes when one is defined, and its value computed each time a row is stored.
//!
//! Why computed where CHECK constraints are checked: a generated value is
//! a function of the row about to be stored, taken after the BEFORE ROW
//! triggers (which see it NULL) and before typmods, NOT NULL and CHECK,
//! exactly where PostgreSQL's ExecComputeStoredGenerated runs. INSERT,
//! UPDATE, ON CONFLICT DO UPDATE, MERGE, COPY FROM and tuple routing all
//! pass through `modify::finish_row` with the [`RowChecks`] bound once per
//! statement, so there is no second path to keep in step. The expression
//! is kept like a default (pg_attrdef, SQL text) with
//! pg_attribute.attgenerated 's', and always recomputed on UPDATE: an
//! immutable expression over the same columns gives the same value.
//!
//! Called by the backend running the statement.

use tusk_common::{sqlstate, PgError};

use crate::bind::rowexpr;
use crate::catalog::{ColumnDef, Relation, RelationSource, TableRef, SYSTEM_COLUMNS};
use crate::expr::{Ctx, Expr};
use crate::func::Func;
use crate::host::Host;
use crate::types::Ty;
use crate::value::Value;

/// What a row of one table must go through before it is stored: its
/// generated columns' expressions and its CHECK constraints, bound.
#[derive(Debug, Clone, Default)]
pub(crate) struct RowChecks {
    /// CHECK constraints (name, expression), in the order checked.
    pub checks: Vec<(String, Expr)>,
    /// Generated columns: (column index, expression over the row).
    pub generated: Vec<(usize, Expr)>,
}

impl RowChecks {
    pub fn bind(host: &dyn Host, rel: &Relation) -> Result<RowChecks, PgError> {
        Ok(RowChecks {
            checks: rowexpr::bind_checks(host, rel)?,
            generated: bind_all(host, rel)?,
        })
    }

    /// The generated columns of `row` set to NULL: what BEFORE ROW
    /// triggers of an UPDATE see (the value is not computed yet).
    pub fn blank(&self, row: &mut [Value]) {
        for (i, _) in &self.generated {
            if let Some(v) = row.get_mut(*i) {
                *v = Value::Null;
            }
        }
    }

    /// `row` with its generated columns computed from the others.
    pub fn compute(
        &self,
        rel: &Relation,
        mut row: Vec<Value>,
        host: &mut dyn Host,
    ) -> Result<Vec<Value>, PgError> {
        if self.generated.is_empty() {
            return Ok(row);
        }
        let tableoid = rel.table().map(|t| t.oid).unwrap_or(0);
        let padded = rowexpr::pad_row(&row, tableoid);
        let mut cx = Ctx { host, params: &[] };
        for (i, e) in &self.generated {
            row[*i] = e.eval(&padded, &mut cx)?;
        }
        Ok(row)
    }
}

/// Every generated column of `rel` with its expression bound.
pub(crate) fn bind_all(host: &dyn Host, rel: &Relation) -> Result<Vec<(usize, Expr)>, PgError> {
    let mut out = Vec::new();
    for (i, c) in rel.columns.iter().enumerate() {
        if let Some(text) = &c.generated {
            let e = rowexpr::parse_stored(text, "generation expression")?;
            out.push((i, bind_one(host, rel, c, &e)?));
        }
    }
    Ok(out)
}

/// A generation expression bound over `rel`'s row and coerced to the
/// column's type as an assignment (42804 as PostgreSQL's cookDefault).
fn bind_one(
    host: &dyn Host,
    rel: &Relation,
    col: &ColumnDef,
    e: &sqlparser::ast::Expr,
) -> Result<Expr, PgError> {
    let b = rowexpr::bind_over_row(host, rel, e)?;
    let from = b.ty.oid;
    rowexpr::coerce_assigned(host, b, Ty::new(col.ty.oid))?.ok_or_else(|| {
        PgError::error(
            sqlstate::DATATYPE_MISMATCH,
            format!(
                "column \"{}\" is of type {} but generation expression is of type {}",
                col.name,
                crate::types::sql_name(col.ty.oid),
                crate::types::sql_name(from)
            ),
        )
        .with_hint("You will need to rewrite or cast the expression.")
    })
}

fn invalid_definition(m: String) -> PgError {
    PgError::error(sqlstate::SqlState::new("42P17"), m)
}

/// PostgreSQL's checks of the generated columns of a table about to be
/// created (or of `columns[only]` when a column is added): the
/// expression binds over the row, names no other generated column, no
/// whole row, no system column but tableoid, has no subquery, aggregate,
/// window or set-returning function, and is immutable.
pub(crate) fn check_definitions(
    host: &dyn Host,
    schema: &str,
    table: &str,
    columns: &[ColumnDef],
    only: Option<usize>,
) -> Result<(), PgError> {
    let ncols = columns.len();
    let rel = Relation::new(
        schema,
        table,
        columns.to_vec(),
        RelationSource::Table(TableRef {
            oid: 0,
            relfilenode: 0,
            shared: false,
            namespace: 0,
        }),
    );
    for (i, c) in columns.iter().enumerate() {
        let Some(text) = &c.generated else { continue };
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let what = "column generation expression";
        let ast = rowexpr::parse_stored(text, "generation expression")?;
        rowexpr::refuse_in_ddl(&ast, what)?;
        // The table's own name as a value is the whole row, which holds
        // this column (PostgreSQL: a whole-row Var).
        if names_whole_row(&ast, table, columns) {
            return Err(
                invalid_definition(format!("cannot use whole-row variable in {what}")).with_detail(
                    "This would cause the generated column to depend on its own value.",
                ),
            );
        }
        // A system column is refused by name, before its operators are
        // resolved (PostgreSQL's transformColumnRef).
        if let Some(sys) = words(&ast).into_iter().find(|w| {
            w != "tableoid"
                && SYSTEM_COLUMNS.iter().any(|s| s.0 == w)
                && !columns.iter().any(|c| &c.name == w)
        }) {
            return Err(PgError::error(
                sqlstate::SqlState::new("42P10"),
                format!("cannot use system column \"{sys}\" in {what}"),
            ));
        }
        let e = bind_one(host, &rel, c, &ast).map_err(|e| rowexpr::ddl_agg_error(e, what))?;
        let mut bad = None;
        let mut e = e;
        e.visit(0, &mut |x, _| {
            if bad.is_some() {
                return;
            }
            match x {
                Expr::Column(k) if *k < ncols && columns[*k].generated.is_some() => {
                    bad = Some(
                        invalid_definition(format!(
                            "cannot use generated column \"{}\" in {what}",
                            columns[*k].name
                        ))
                        .with_detail(
                            "A generated column cannot reference another generated column.",
                        ),
                    );
                }
                Expr::Column(k) if *k >= ncols && *k != ncols + 3 => {
                    bad = Some(PgError::error(
                        sqlstate::SqlState::new("42P10"),
                        format!(
                            "cannot use system column \"{}\" in {what}",
                            SYSTEM_COLUMNS.get(*k - ncols).map(|s| s.0).unwrap_or("?")
                        ),
                    ));
                }
                _ => {}
            }
        });
        if let Some(err) = bad {
            return Err(err);
        }
        if !immutable(&mut e) {
            return Err(invalid_definition(
                "generation expression is not immutable".into(),
            ));
        }
    }
    Ok(())
}

/// Whether a word of `e` names the table itself as a value (not as the
/// qualifier of one of its columns) rather than one of its columns.
fn names_whole_row(e: &sqlparser::ast::Expr, table: &str, columns: &[ColumnDef]) -> bool {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let text = e.to_string();
    let tokens: Vec<Token> = Tokenizer::new(&sqlparser::dialect::PostgreSqlDialect {}, &text)
        .tokenize()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    tokens.iter().enumerate().any(|(k, t)| {
        let Token::Word(w) = t else { return false };
        let n = if w.quote_style.is_some() {
            w.value.clone()
        } else {
            w.value.to_lowercase()
        };
        n == table
            && !columns.iter().any(|c| c.name == n)
            && !matches!(tokens.get(k + 1), Some(Token::Period))
    })
}

/// Whether a bound expression calls only immutable functions (as
/// PostgreSQL's contain_mutable_functions: a user function by its
/// provolatile, the built-ins that read the clock, the session, the
/// database or a sequence, or draw random numbers, are not).
fn immutable(e: &mut Expr) -> bool {
    let mut ok = true;
    e.visit(0, &mut |x, _| match x {
        Expr::UserFunc(f, _) if f.volatility != b'i' => ok = false,
        Expr::SubLink(_) => ok = false,
        Expr::Func(f, _) if !immutable_func(f) => ok = false,
        _ => {}
    });
    ok
}

fn immutable_func(f: &Func) -> bool {
    !matches!(
        f,
        Func::Version
            | Func::Nextval
            | Func::IdentityNextval
            | Func::Currval
            | Func::Lastval
            | Func::Setval
            | Func::Setval3
            | Func::SerialSequence
            | Func::CurrentSetting
            | Func::CurrentSettingMissingOk
            | Func::SetConfig
            | Func::BackendPid
            | Func::CursorCtid
            | Func::TxidCurrent
            | Func::CurrentXactId
            | Func::TxidCurrentIfAssigned
            | Func::CurrentXactIdIfAssigned
            | Func::XactStatus
            | Func::TxidStatus
            | Func::Sleep
            | Func::Terminate
            | Func::TerminateTimeout
            | Func::Cancel
            | Func::Now
            | Func::StatementTimestamp
            | Func::ClockTimestamp
            | Func::Random
            | Func::SetSeed
            | Func::LocalTimestamp
            | Func::CurrentDate
            | Func::CurrentDatabase
            | Func::CurrentUser
            | Func::SessionUser
            | Func::CurrentSchema
            | Func::Notify
            | Func::Sys(_)
    )
}

/// 428C9 for a value other than DEFAULT given to generated column
/// `column` by INSERT, COPY or MERGE's INSERT.
pub(crate) fn insert_error(column: &str) -> PgError {
    PgError::error(
        sqlstate::SqlState::new("428C9"),
        format!("cannot insert a non-DEFAULT value into column \"{column}\""),
    )
    .with_detail(format!("Column \"{column}\" is a generated column."))
}

/// 428C9 for an UPDATE's SET of generated column `column` to anything
/// but DEFAULT.
pub(crate) fn update_error(column: &str) -> PgError {
    PgError::error(
        sqlstate::SqlState::new("428C9"),
        format!("column \"{column}\" can only be updated to DEFAULT"),
    )
    .with_detail(format!("Column \"{column}\" is a generated column."))
}

/// PostgreSQL's transformColumnDefinition checks of a column's clauses
/// (42601): one generation clause, and not with a DEFAULT or an identity.
pub(crate) fn clauses(c: &sqlparser::ast::ColumnDef, table: &str) -> Result<(), PgError> {
    use sqlparser::ast::{ColumnOption as O, GeneratedAs};
    let (mut generated, mut default, mut identity) = (false, false, false);
    let column = crate::bind::ident_name(&c.name);
    let syntax = |m: String| PgError::error(sqlstate::SYNTAX_ERROR, m);
    for o in &c.options {
        match &o.option {
            O::Generated {
                generated_as: GeneratedAs::ExpStored,
                generation_expr: Some(_),
                ..
            } => {
                if generated {
                    return Err(syntax(format!(
                        "multiple generation clauses specified for column \"{column}\" of table \"{table}\""
                    )));
                }
                generated = true;
            }
            O::Generated { .. } => identity = true,
            O::Default(_) => default = true,
            _ => {}
        }
    }
    if generated && default {
        return Err(syntax(format!(
            "both default and generation expression specified for column \"{column}\" of table \"{table}\""
        )));
    }
    if generated && identity {
        return Err(syntax(format!(
            "both identity and generation expression specified for column \"{column}\" of table \"{table}\""
        )));
    }
    Ok(())
}

/// A partition key may not use a generated column, by name or through
/// the whole row (PostgreSQL's ComputePartitionAttrs, 42P17).
pub(crate) fn check_partition_key(
    table: &str,
    key: &crate::catalog::PartKey,
    columns: &[ColumnDef],
) -> Result<(), PgError> {
    use crate::catalog::PartKeyCol;
    let refuse = |c: &ColumnDef| {
        invalid_definition("cannot use generated column in partition key".into())
            .with_detail(format!("Column \"{}\" is a generated column.", c.name))
    };
    for k in &key.keys {
        match k {
            PartKeyCol::Column(i) => {
                if let Some(c) = columns.get(*i).filter(|c| c.generated.is_some()) {
                    return Err(refuse(c));
                }
            }
            PartKeyCol::Expr(text) => {
                let e = rowexpr::parse_stored(text, "partition key")?;
                for w in words(&e) {
                    if let Some(c) = columns
                        .iter()
                        .find(|c| c.generated.is_some() && c.name == w)
                    {
                        return Err(refuse(c));
                    }
                    if w == table && !columns.iter().any(|c| c.name == w) {
                        if let Some(c) = columns.iter().find(|c| c.generated.is_some()) {
                            return Err(refuse(c));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The identifiers of an expression, case-folded unless quoted.
fn words(e: &sqlparser::ast::Expr) -> Vec<String> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    Tokenizer::new(&sqlparser::dialect::PostgreSqlDialect {}, &e.to_string())
        .tokenize()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| match t {
            Token::Word(w) if w.quote_style.is_some() => Some(w.value),
            Token::Word(w) => Some(w.value.to_lowercase()),
            _ => None,
        })
        .collect()
}

/// ALTER TABLE ... ALTER COLUMN ... DROP EXPRESSION: the column keeps its
/// stored values as a plain column, on the table and (unless ONLY) its
/// descendants, as PostgreSQL 15's ATExecDropExpression.
pub(crate) fn drop_expression(
    host: &mut dyn Host,
    table: &(Option<String>, String),
    only: bool,
    column: &str,
    if_exists: bool,
) -> Result<(), PgError> {
    let rel = crate::catalog::lookup(&*host, table.0.as_deref(), &table.1)?;
    crate::acl::check_owner(&*host, &rel)?;
    host.tables()?
        .alter_table(&rel, &crate::alter::AlterOp::Lock)?;
    let Some(col) = rel.columns.iter().find(|c| c.name == column) else {
        return Err(PgError::error(
            sqlstate::UNDEFINED_COLUMN,
            format!(
                "column \"{column}\" of relation \"{}\" does not exist",
                rel.name
            ),
        ));
    };
    if only && !rel.children.is_empty() {
        return Err(PgError::error(
            sqlstate::SqlState::new("42P16"),
            "ALTER TABLE / DROP EXPRESSION must be applied to child tables too",
        ));
    }
    if col.generated.is_none() {
        let msg = format!(
            "column \"{column}\" of relation \"{}\" is not a stored generated column",
            rel.name
        );
        if if_exists {
            host.notice(PgError::new(
                tusk_common::Severity::Notice,
                sqlstate::SUCCESSFUL_COMPLETION,
                format!("{msg}, skipping"),
            ));
            return Ok(());
        }
        return Err(PgError::error(
            sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
            msg,
        ));
    }
    let op = crate::alter::AlterOp::DropExpression {
        column: column.to_string(),
    };
    host.tables()?.alter_table(&rel, &op)?;
    if !only {
        for c in &rel.children {
            if c.rel
                .columns
                .iter()
                .any(|x| x.name == column && x.generated.is_some())
            {
                host.tables()?.alter_table(&c.rel, &op)?;
            }
        }
    }
    Ok(())
}

/// The cursor position PostgreSQL gives an error about a generation
/// expression of CREATE TABLE `s` (the clause's GENERATED for conflicting
/// clauses, the column named for a reference, the expression's start for
/// what it may not contain), found in the client's text; `e` as it is
/// when it has a position or is about something else.
pub(crate) fn locate(
    e: PgError,
    s: &sqlparser::ast::Statement,
    src: Option<&crate::parse::SourceMap>,
) -> PgError {
    use sqlparser::ast::{ColumnOption as O, GeneratedAs, Spanned};
    let (None, Some(src), sqlparser::ast::Statement::CreateTable(ct)) = (e.position, src, s) else {
        return e;
    };
    let text: Vec<char> = src.text().chars().collect();
    let table = ct
        .name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .map(crate::bind::ident_name)
        .unwrap_or_default();
    let m = e.message.clone();
    // (column, GENERATED keyword, expression start, expression end), 0-based.
    let mut found = Vec::new();
    for c in &ct.columns {
        let col = crate::bind::ident_name(&c.name);
        for o in &c.options {
            let O::Generated {
                generated_as: GeneratedAs::ExpStored,
                generation_expr: Some(g),
                ..
            } = &o.option
            else {
                continue;
            };
            let Some(at) = src.position(g.span()) else {
                continue;
            };
            let at = (at as usize - 1).min(text.len());
            let Some(kw) = rfind_word(&text[..at], "generated") else {
                continue;
            };
            let Some(open) = (kw..text.len()).find(|&i| text[i] == '(') else {
                continue;
            };
            let mut depth = 0;
            let mut end = text.len();
            for (i, ch) in text.iter().enumerate().skip(open) {
                match ch {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let start = (open + 1..end)
                .find(|&i| !text[i].is_whitespace())
                .unwrap_or(end);
            found.push((col.clone(), kw, start, end));
        }
    }
    let quoted = |prefix: &str| -> Option<String> {
        let rest = m.strip_prefix(prefix)?;
        Some(rest.split('"').next()?.to_string())
    };
    let pos = if m.starts_with("multiple generation clauses") {
        let col = quoted("multiple generation clauses specified for column \"");
        found
            .iter()
            .filter(|f| Some(&f.0) == col.as_ref())
            .nth(1)
            .map(|f| f.1)
    } else if m.starts_with("both default and generation")
        || m.starts_with("both identity and generation")
    {
        let col = m.split('"').nth(1).map(str::to_string);
        found
            .iter()
            .find(|f| Some(&f.0) == col.as_ref())
            .map(|f| f.1)
    } else if let Some(word) = quoted("cannot use generated column \"")
        .or_else(|| quoted("cannot use system column \""))
        .or_else(|| quoted("column \"").filter(|_| m.ends_with("\" does not exist")))
        .or_else(|| {
            m.starts_with("cannot use whole-row variable")
                .then(|| table.clone())
        })
    {
        found
            .iter()
            .find_map(|f| find_word(&text[f.2..f.3], &word).map(|i| f.2 + i))
    } else if m == "cannot use generated column in partition key" {
        // The first key item: after PARTITION BY strategy (.
        let from = src.position(ct.name.span()).map_or(0, |p| p as usize - 1);
        let from = from.min(text.len());
        // The last PARTITION word of the column list's end: BY's.
        let close = from + find_word(&text[from..], "by").unwrap_or(0);
        rfind_word(&text[..close], "partition").and_then(|p| {
            let open = (p..text.len()).find(|&i| text[i] == '(')?;
            (open + 1..text.len()).find(|&i| !text[i].is_whitespace())
        })
    } else if m.contains("not allowed in column generation expressions")
        || m == "cannot use subquery in column generation expression"
    {
        found
            .iter()
            .find(|f| text[f.2..f.3].contains(&'('))
            .map(|f| f.2)
    } else {
        None
    };
    match pos {
        Some(p) => e.with_position(Some(p as u32 + 1)),
        None => e,
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// Start of the last whole word `w` (case-insensitive) in `text`.
fn rfind_word(text: &[char], w: &str) -> Option<usize> {
    let w: Vec<char> = w.chars().collect();
    (0..=text.len().checked_sub(w.len())?)
        .rev()
        .find(|&i| word_at(text, i, &w, true))
}

/// Start of the first whole word `w` in `text` (outside string literals;
/// case-insensitive unless `w` has capitals, as a quoted name would).
fn find_word(text: &[char], w: &str) -> Option<usize> {
    let fold = !w.chars().any(char::is_uppercase);
    let wc: Vec<char> = w.chars().collect();
    let mut in_string = false;
    for i in 0..text.len() {
        if text[i] == '\'' {
            in_string = !in_string;
            continue;
        }
        if !in_string && i + wc.len() <= text.len() && word_at(text, i, &wc, fold) {
            return Some(i);
        }
    }
    None
}

fn word_at(text: &[char], i: usize, w: &[char], fold: bool) -> bool {
    if i + w.len() > text.len() {
        return false;
    }
    let same = text[i..i + w.len()].iter().zip(w).all(|(a, b)| {
        if fold {
            a.to_lowercase().eq(b.to_lowercase())
        } else {
            a == b
        }
    });
    let before_ok = i == 0 || !(is_word_char(text[i - 1]) || text[i - 1] == '.');
    let after_ok = text.get(i + w.len()).is_none_or(|c| !is_word_char(*c));
    same && before_ok && after_ok
}

/// Where `GENERATED BY DEFAULT AS (expr)` starts among a statement's
/// tokens (trivia left out): PostgreSQL's grammar takes it and refuses it
/// (42601 "for a generated column, GENERATED ALWAYS must be specified"),
/// where sqlparser stops at BY.
pub(crate) fn by_default_expression(
    tokens: &[&sqlparser::tokenizer::TokenWithSpan],
) -> Option<sqlparser::tokenizer::Location> {
    use sqlparser::tokenizer::Token;
    let word = |t: &sqlparser::tokenizer::TokenWithSpan, w: &str| matches!(&t.token, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    let is_create_or_alter = tokens
        .first()
        .is_some_and(|t| word(t, "create") || word(t, "alter"));
    if !is_create_or_alter {
        return None;
    }
    tokens.windows(5).find_map(|w| {
        (word(w[0], "generated")
            && word(w[1], "by")
            && word(w[2], "default")
            && word(w[3], "as")
            && w[4].token == Token::LParen)
            .then_some(w[1].span.start)
    })
}

/// DROP FUNCTION of a function a generation expression calls: 2BP01 as
/// PostgreSQL's dependency check. tusk keeps no pg_depend row for a
/// generation expression, so the expressions' texts are searched for a
/// call of the function's name.
pub(crate) fn refuse_drop_function(
    host: &mut dyn Host,
    f: &crate::catalog::FuncDef,
) -> Result<(), PgError> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let rows = crate::sysinfo::query(
        host,
        "SELECT c.relname, a.attname, d.adbin FROM pg_catalog.pg_attrdef d \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum \
         JOIN pg_catalog.pg_class c ON c.oid = d.adrelid \
         WHERE a.attgenerated = 's' ORDER BY c.oid, a.attnum",
        &[],
        Vec::new(),
    )?;
    let calls = |text: &str| {
        let tokens: Vec<Token> = Tokenizer::new(&sqlparser::dialect::PostgreSqlDialect {}, text)
            .tokenize()
            .unwrap_or_default()
            .into_iter()
            .filter(|t| !matches!(t, Token::Whitespace(_)))
            .collect();
        tokens.windows(2).any(|w| {
            matches!(&w[0], Token::Word(x) if (if x.quote_style.is_some() {
                x.value.clone()
            } else {
                x.value.to_lowercase()
            }) == f.name)
                && w[1] == Token::LParen
        })
    };
    let text = |v: &Value| crate::value::to_text(v).unwrap_or_default();
    let users: Vec<String> = rows
        .iter()
        .filter(|r| r.len() == 3 && calls(&text(&r[2])))
        .map(|r| format!("column {} of table {}", text(&r[1]), text(&r[0])))
        .collect();
    if users.is_empty() {
        return Ok(());
    }
    let args: Vec<String> = f
        .arg_types
        .iter()
        .map(|&t| crate::types::sql_name(t))
        .collect();
    let sig = format!("{}({})", f.name, args.join(","));
    let detail = users
        .iter()
        .map(|u| format!("{u} depends on function {sig}"))
        .collect::<Vec<_>>()
        .join("\n");
    Err(PgError::error(
        sqlstate::SqlState::new("2BP01"),
        format!("cannot drop function {sig} because other objects depend on it"),
    )
    .with_detail(detail)
    .with_hint("Use DROP ... CASCADE to drop the dependent objects too."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn words_are_found_whole_and_outside_strings() {
        let t = chars("ab + b * 'b' + x.b + B");
        assert_eq!(find_word(&t, "b"), Some(5));
        assert_eq!(find_word(&chars("'b' || bb"), "b"), None);
        // A capital makes the search exact, as for a quoted name.
        assert_eq!(find_word(&chars("b + \"B\""), "B"), Some(5));
        let t = chars("x GENERATED ALWAYS AS (a) STORED, y int GENERATED");
        assert_eq!(rfind_word(&t, "generated"), Some(40));
        assert_eq!(rfind_word(&t[..20], "generated"), Some(2));
        assert_eq!(rfind_word(&chars("regenerated"), "generated"), None);
    }

    #[test]
    fn whole_row_is_the_table_name_not_a_qualifier() {
        let cols = vec![ColumnDef::new("a", Ty::new(crate::types::INT4))];
        let e = |s: &str| rowexpr::parse_stored(s, "test").expect("parses");
        assert!(names_whole_row(&e("num_nulls(t)"), "t", &cols));
        assert!(!names_whole_row(&e("t.a * 2"), "t", &cols));
        assert!(!names_whole_row(&e("a * 2"), "t", &cols));
    }

    #[test]
    fn by_default_expression_is_found_at_by() {
        use sqlparser::tokenizer::{Token, Tokenizer};
        let sql = "CREATE TABLE t (a int GENERATED BY DEFAULT AS (1) STORED)";
        let toks = Tokenizer::new(&sqlparser::dialect::PostgreSqlDialect {}, sql)
            .tokenize_with_location()
            .expect("tokenizes");
        let meaningful: Vec<_> = toks
            .iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .collect();
        let at = by_default_expression(&meaningful).expect("found");
        assert_eq!((at.line, at.column), (1, 33));
        let sql = "CREATE TABLE t (a int GENERATED BY DEFAULT AS IDENTITY)";
        let toks = Tokenizer::new(&sqlparser::dialect::PostgreSqlDialect {}, sql)
            .tokenize_with_location()
            .expect("tokenizes");
        let meaningful: Vec<_> = toks
            .iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .collect();
        assert!(by_default_expression(&meaningful).is_none());
    }
}
