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
use sqlparser::tokenizer::{Span, Token};
use tusk_common::sqlstate::{self, SqlState};

use super::*;

impl Binder<'_> {
    /// 1-based character position of an AST node in the client's query
    /// string, if the statement came from one and the node has a span.
    pub(crate) fn at(&self, span: Span) -> Option<u32> {
        self.src.as_ref()?.position(span)
    }

    /// `e` with the position of `span` if its SQLSTATE is one of `codes`.
    pub(crate) fn pos_if(&self, e: PgError, codes: &[SqlState], span: Span) -> PgError {
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

    /// A column reference, `Binder::column` with the position of its
    /// start for its errors (does not exist, ambiguous, not grouped,
    /// unknown qualifier), also when a grouped query's error about it is
    /// raised only once the select list is bound.
    pub(crate) fn positioned_column(
        &mut self,
        qualifier: Option<&[String]>,
        name: &str,
        span: Span,
    ) -> Result<Bound, PgError> {
        let ungrouped_before = self.ungrouped.is_some();
        let r = self.column(qualifier, name);
        if !ungrouped_before && self.ungrouped.is_some() {
            self.ungrouped_pos = self.at(span);
        }
        r.map_err(|e| self.column_pos(e, span))
    }

    fn column_pos(&self, e: PgError, span: Span) -> PgError {
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
        self.function_name_pos(e, &f.name)
    }

    /// [`Self::function_pos`] for a call known by its name alone (a
    /// function in FROM).
    pub(crate) fn function_name_pos(&self, e: PgError, name: &ast::ObjectName) -> PgError {
        // A procedure called as a function (or a function by CALL) is
        // reported at the name too.
        let wrong_kind = e.code == crate::routine::codes::WRONG_OBJECT_TYPE
            && (e.message.ends_with(" is a procedure")
                || e.message.ends_with(" is not a procedure"));
        let codes: &[sqlstate::SqlState] = if wrong_kind {
            &[crate::routine::codes::WRONG_OBJECT_TYPE]
        } else {
            &[sqlstate::UNDEFINED_FUNCTION, sqlstate::AMBIGUOUS_FUNCTION]
        };
        self.pos_if(e, codes, name.span())
    }

    /// An explicit cast with no conversion between the types: PostgreSQL
    /// points at the `::` after the operand, or at CAST.
    pub(crate) fn cast_pos(
        &self,
        e: PgError,
        cast: &ast::Expr,
        operand: &ast::Expr,
        kind: &ast::CastKind,
    ) -> PgError {
        if e.position.is_some() || e.code != sqlstate::CANNOT_COERCE {
            return e;
        }
        let p = match kind {
            ast::CastKind::DoubleColon => self.double_colon_at(operand),
            // `CAST (x AS t)`: at CAST, the word before the bracket.
            _ => self
                .src
                .as_ref()
                .and_then(|s| s.cast_keyword_before(cast.span())),
        };
        e.with_position(p)
    }

    /// No operator matched `left op right`: PostgreSQL points at the
    /// operator, the first token spelt as `op` after the left operand at
    /// its bracket depth (sqlparser keeps no span for operators).
    pub(crate) fn operator_pos(
        &self,
        e: PgError,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
    ) -> PgError {
        if e.position.is_some()
            || !(e.code == sqlstate::UNDEFINED_FUNCTION || e.code == sqlstate::AMBIGUOUS_FUNCTION)
            || !e.message.starts_with("operator ")
        {
            return e;
        }
        let sym = op.to_string();
        let p = self.src.as_ref().and_then(|s| {
            s.find_after(left.span(), 0, |t| t.to_string() == sym)
                // An operator the token rewrite made whole (operator.rs)
                // starts at its first original token.
                .or_else(|| {
                    s.find_after(left.span(), 0, |t| {
                        // sqlparser spells `!=` as `<>`.
                        let t = match t.to_string() {
                            s if s == "<>" && sym.starts_with("!=") => "!=".to_string(),
                            s => s,
                        };
                        !t.is_empty()
                            && sym.starts_with(&t)
                            && !t.chars().any(char::is_alphanumeric)
                    })
                })
        });
        e.with_position(p)
    }

    /// Position of the `::` of a cast of `operand`. sqlparser's span of a
    /// `::` cast covers its operand only, so the `::` of `x::a::b`'s outer
    /// cast is the second after `x`.
    fn double_colon_at(&self, operand: &ast::Expr) -> Option<u32> {
        let mut nth = 0;
        let mut base = operand;
        while let ast::Expr::Cast {
            kind: ast::CastKind::DoubleColon,
            expr,
            ..
        } = base
        {
            nth += 1;
            base = expr;
        }
        self.src
            .as_ref()?
            .find_after(base.span(), nth, |t| matches!(t, Token::DoubleColon))
    }

    /// A type name in `x::name` that does not resolve: PostgreSQL points
    /// at the name, after the `::`.
    pub(crate) fn cast_type_pos(&self, e: PgError, operand: &ast::Expr) -> PgError {
        if e.position.is_some() || e.code != sqlstate::UNDEFINED_OBJECT {
            return e;
        }
        let p = self
            .double_colon_at(operand)
            .and_then(|p| self.src.as_ref()?.next_non_space(p as usize + 1));
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

    /// A collation name that does not resolve: PostgreSQL points at the
    /// COLLATE keyword after the operand.
    pub(crate) fn collate_pos(&self, operand: &ast::Expr) -> Option<u32> {
        self.src.as_ref()?.find_after(
            operand.span(),
            0,
            |t| matches!(t, Token::Word(w) if w.keyword == sqlparser::keywords::Keyword::COLLATE),
        )
    }

    /// Position of an expression's start.
    pub(crate) fn expr_at(&self, e: &ast::Expr) -> Option<u32> {
        self.at(e.span())
    }
}
