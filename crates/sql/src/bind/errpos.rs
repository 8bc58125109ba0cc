//! Cursor positions (ErrorResponse's `P`, psql's `LINE n:` and caret) for
//! the errors the binder finds in a statement the client sent.
//!
//! Why one small set of hooks rather than a position in every error
//! constructor: PostgreSQL reports a position only for the errors about
//! one node of the query (a name that resolves to nothing, a literal whose
//! input fails, an operator or function with no match), and the same
//! messages come without one from utility commands and at run time. So
//! the binder tags an error at the few places it resolves such a node,
//! only for the SQLSTATEs of that resolution, and the innermost tag wins
//! (`PgError::with_position` keeps a position already set): `f(nosuch)`
//! points at `nosuch`, not at `f`. Positions come from sqlparser's spans,
//! mapped through the statement's `SourceMap` (parse.rs); a statement the
//! server parsed for itself has none and its errors stay without.
//!
//! Runs in the backend binding the statement.

use sqlparser::ast::Spanned;
use tusk_common::sqlstate::{self, SqlState};

use super::*;

impl Binder<'_> {
    /// 1-based character position of an AST node in the client's query
    /// string, if the statement came from one and the node has a span.
    pub(crate) fn at(&self, span: sqlparser::tokenizer::Span) -> Option<u32> {
        self.src.as_ref()?.position(span)
    }

    /// `e` with the position of `span` if its SQLSTATE is one of `codes`.
    pub(crate) fn pos_if(
        &self,
        e: PgError,
        codes: &[SqlState],
        span: sqlparser::tokenizer::Span,
    ) -> PgError {
        if e.position.is_none() && codes.contains(&e.code) {
            let p = self.at(span);
            e.with_position(p)
        } else {
            e
        }
    }

    /// A relation name's lookup failed: PostgreSQL points at the name.
    pub(crate) fn relation_pos(&self, e: PgError, name: &ast::ObjectName) -> PgError {
        self.pos_if(
            e,
            &[sqlstate::UNDEFINED_TABLE, SqlState::new("3F000")],
            name.span(),
        )
    }

    /// A column reference did not resolve (does not exist, ambiguous, not
    /// grouped, unknown qualifier): PostgreSQL points at its start.
    pub(crate) fn column_pos(&self, e: PgError, span: sqlparser::tokenizer::Span) -> PgError {
        self.pos_if(
            e,
            &[
                sqlstate::UNDEFINED_COLUMN,
                sqlstate::AMBIGUOUS_COLUMN,
                sqlstate::GROUPING_ERROR,
                sqlstate::UNDEFINED_TABLE,
            ],
            span,
        )
    }

    /// No function matched a call: PostgreSQL points at the name.
    pub(crate) fn function_pos(&self, e: PgError, f: &ast::Function) -> PgError {
        self.pos_if(
            e,
            &[sqlstate::UNDEFINED_FUNCTION, sqlstate::AMBIGUOUS_FUNCTION],
            f.name.span(),
        )
    }

    /// No operator matched `left op right`: PostgreSQL points at the
    /// operator, the first token after the left operand (sqlparser keeps
    /// no span for operators; a closing bracket of the operand is not it).
    pub(crate) fn operator_pos(&self, e: PgError, left: &ast::Expr) -> PgError {
        if e.position.is_some()
            || !(e.code == sqlstate::UNDEFINED_FUNCTION || e.code == sqlstate::AMBIGUOUS_FUNCTION)
            || !e.message.starts_with("operator ")
        {
            return e;
        }
        let p = self
            .src
            .as_ref()
            .and_then(|s| s.next_token_after(left.span(), &[')']));
        e.with_position(p)
    }

    /// A type name in `x::name` that does not resolve: PostgreSQL points
    /// at the name, the first token after the `::`.
    pub(crate) fn cast_type_pos(&self, e: PgError, operand: &ast::Expr) -> PgError {
        if e.position.is_some() || e.code != sqlstate::UNDEFINED_OBJECT {
            return e;
        }
        let p = self
            .src
            .as_ref()
            .and_then(|s| s.next_token_after(operand.span(), &[')', ':']));
        e.with_position(p)
    }

    /// A literal as written, with its position kept for its input
    /// conversion's errors.
    pub(crate) fn positioned_literal(&mut self, v: &ast::ValueWithSpan) -> Result<Bound, PgError> {
        let mut b = self.literal(&v.value)?;
        if b.is_unknown() {
            b.pos = self.at(v.span);
        }
        Ok(b)
    }

    /// A FROM subquery without an alias: PostgreSQL points at its `(`,
    /// just before the span of the query, which starts at its SELECT.
    pub(crate) fn subquery_pos(&self, q: &ast::Query) -> Option<u32> {
        self.src.as_ref()?.prev_token_before(q.span())
    }

    /// Position of a (column or relation) name.
    pub(crate) fn name_at(&self, n: &ast::ObjectName) -> Option<u32> {
        self.at(n.span())
    }
}
