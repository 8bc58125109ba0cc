//! Expressions over one table's row outside a query: CHECK constraints, ALTER COLUMN TYPE's USING and column defaults, bound for `modify.rs`, `copy.rs` and `alter.rs`.
//!
//! Why a child of the binder: these are ordinary expressions bound with
//! the table's columns in scope (the binder's private scope machinery),
//! but they come from the catalog's SQL text or from DDL rather than from
//! a query, and are evaluated on a stored row: the table's live columns
//! followed by its four system columns ([`pad_row`]).
//!
//! Called by the backend running the statement.

use super::*;

/// Parses an expression kept as SQL text in the catalog (conbin, adbin).
pub(crate) fn parse_stored(text: &str, what: &str) -> Result<ast::Expr, PgError> {
    sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| {
            PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!("stored {what} cannot be parsed: {e}"),
            )
        })
}

/// `e` bound over `rel`'s columns (no parameters, no aggregates).
pub(crate) fn bind_over_row(
    host: &dyn Host,
    rel: &catalog::Relation,
    e: &ast::Expr,
) -> Result<Bound, PgError> {
    let mut b = Binder::new(host, Vec::new());
    b.scope = Some(relation_scope(rel, rel.name.clone()));
    b.aggs_allowed = None;
    b.bind_expr(e)
}

/// A CHECK expression bound to a boolean over `rel`'s row (42804
/// "argument of CHECK must be type boolean" otherwise).
pub(crate) fn bind_check(
    host: &dyn Host,
    rel: &catalog::Relation,
    e: &ast::Expr,
) -> Result<Expr, PgError> {
    bind_bool_over_row(host, rel, e, "CHECK")
}

/// A row-level security policy's USING or WITH CHECK bound to a boolean
/// over `rel`'s row (42804 "argument of POLICY must be type boolean").
pub(crate) fn bind_policy_qual(
    host: &dyn Host,
    rel: &catalog::Relation,
    e: &ast::Expr,
) -> Result<Expr, PgError> {
    bind_bool_over_row(host, rel, e, "POLICY")
}

/// `e` bound over `rel`'s row, no aggregates, as a boolean (`what` names
/// the clause in 42804's message).
fn bind_bool_over_row(
    host: &dyn Host,
    rel: &catalog::Relation,
    e: &ast::Expr,
    what: &str,
) -> Result<Expr, PgError> {
    let mut b = Binder::new(host, Vec::new());
    b.scope = Some(relation_scope(rel, rel.name.clone()));
    b.aggs_allowed = None;
    let bound = b.bind_expr(e)?;
    Ok(b.coerce_bool(bound, what)?.e)
}

/// The CHECK constraints of `rel` (name, bound expression), in the order
/// they are checked.
pub(crate) fn bind_checks(
    host: &dyn Host,
    rel: &catalog::Relation,
) -> Result<Vec<(String, Expr)>, PgError> {
    rel.checks
        .iter()
        .map(|c| {
            let e = parse_stored(&c.expr, "check constraint")?;
            Ok((c.name.clone(), bind_check(host, rel, &e)?))
        })
        .collect()
}

/// A column's DEFAULT bound and coerced to its type.
pub(crate) fn bind_column_default(
    host: &dyn Host,
    col: &catalog::ColumnDef,
) -> Result<Option<Expr>, PgError> {
    Binder::new(host, Vec::new()).bind_default(col)
}

/// Is there an assignment cast (pg_cast castcontext 'a' or 'i') from
/// `from` to `to`: among numeric types, among string types, anything to
/// a string type, and among date/time types other than interval.
fn assignment_castable(from: Oid, to: Oid) -> bool {
    use types::Category as C;
    if from == to {
        return true;
    }
    if !cast::castable(from, to) {
        return false;
    }
    match (types::category(from), types::category(to)) {
        (C::Numeric, C::Numeric) | (_, C::String) => true,
        (C::DateTime, C::DateTime) => from != types::INTERVAL && to != types::INTERVAL,
        _ => false,
    }
}

/// `b` converted to `target` as an assignment (ALTER COLUMN TYPE, with
/// or without USING); `None` when no assignment cast exists.
pub(crate) fn coerce_to(host: &dyn Host, b: Bound, target: Ty) -> Result<Option<Expr>, PgError> {
    if !b.is_unknown() && !assignment_castable(b.ty.oid, target.oid) {
        return Ok(None);
    }
    let mut binder = Binder::new(host, Vec::new());
    Ok(Some(binder.coerce(b, target)?.e))
}

/// `b` converted to column type `target` as an INSERT's value is (the
/// binder's assignment rules: any cast the value may take on assignment,
/// a row to a composite); `None` when there is none.
pub(crate) fn coerce_assigned(
    host: &dyn Host,
    b: Bound,
    target: Ty,
) -> Result<Option<Expr>, PgError> {
    if !b.is_unknown()
        && b.ty.oid != target.oid
        && (!cast::castable(b.ty.oid, target.oid)
            || !tusk_types::geo::assignable(b.ty.oid, target.oid))
    {
        return Ok(None);
    }
    let mut binder = Binder::new(host, Vec::new());
    Ok(Some(binder.coerce(b, target)?.e))
}

/// A row of live columns with the system columns appended (unknown
/// here: NULL, and `tableoid`), as the bound expressions expect it.
pub(crate) fn pad_row(row: &[Value], tableoid: u32) -> Vec<Value> {
    let mut out = Vec::with_capacity(row.len() + 4);
    out.extend_from_slice(row);
    out.extend([Value::Null, Value::Null, Value::Null, Value::Oid(tableoid)]);
    out
}

/// What a CHECK or DEFAULT may not contain, refused as PostgreSQL does
/// when it is defined: subqueries (0A000 "cannot use subquery in check
/// constraint"), parameters (42P02) and aggregates (42803, found when
/// the expression is bound: [`ddl_agg_error`]). `what` is "check
/// constraint" or "DEFAULT expression".
pub(crate) fn refuse_in_ddl(e: &ast::Expr, what: &str) -> Result<(), PgError> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let text = e.to_string();
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    for t in Tokenizer::new(&dialect, &text)
        .tokenize()
        .unwrap_or_default()
    {
        match t {
            Token::Word(w) if w.keyword == Keyword::SELECT && w.quote_style.is_none() => {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("cannot use subquery in {what}"),
                ))
            }
            Token::Placeholder(p) => {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_PARAMETER,
                    format!("there is no parameter {p}"),
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The binder's "aggregate functions are not allowed here" in
/// PostgreSQL's words for a CHECK or DEFAULT (`what` as for
/// [`refuse_in_ddl`]).
pub(crate) fn ddl_agg_error(e: PgError, what: &str) -> PgError {
    let clause = match what {
        "check constraint" => "check constraints",
        "column generation expression" => "column generation expressions",
        "index expression" => "index expressions",
        "index predicate" => "index predicates",
        _ => "DEFAULT expressions",
    };
    where_agg(e, clause)
}
