//! Binding the geometric types' operators and subscripts (crates/sql/src/
//! geometry.rs has their tables) into `Func::Scalar(Sc::Geo(..))` calls.
//!
//! Why a child of the binder: resolution needs the binder's coercion;
//! the hooks in bind.rs (and in the json, array and bitwise binders for
//! the symbols they share) are one call each that hands the bound
//! operands here first and gets them back untouched when neither is
//! geometric. An untyped literal takes the other operand's type when the
//! operator exists for that pair (PostgreSQL's first rule for unknowns),
//! else the one candidate left for the known side.
//!
//! Called by the backend binding a statement.

use super::*;
use crate::geometry::{BinOp, BINARY, UNARY};
use crate::scalars::Sc;
use tusk_types::geo::{self, Op};

fn geo_call(op: Op, args: Vec<Bound>, ret: Oid) -> Bound {
    Bound::new(
        Expr::Func(
            func::Func::Scalar(Sc::Geo(op)),
            args.into_iter().map(|b| b.e).collect(),
        ),
        Ty::new(ret),
    )
}

/// The geometric operator symbol of a parser operator that only the
/// geometric types have.
pub(crate) fn geo_only_symbol(op: &BinaryOperator) -> Option<&'static str> {
    use BinaryOperator as B;
    Some(match op {
        B::LtDashGt => "<->",
        B::DoubleHash => "##",
        B::TildeEq => "~=",
        B::AndLt => "&<",
        B::AndGt => "&>",
        B::LtLtPipe => "<<|",
        B::PipeGtGt => "|>>",
        B::AndLtPipe => "&<|",
        B::PipeAndGt => "|&>",
        B::LtCaret => "<^",
        B::GtCaret => ">^",
        B::QuestionHash => "?#",
        B::QuestionDash => "?-",
        B::QuestionDashPipe => "?-|",
        B::QuestionDoublePipe => "?||",
        _ => return None,
    })
}

/// The only candidate left, if exactly one.
fn one<'a>(mut it: impl Iterator<Item = &'a &'static BinOp>) -> Option<&'static BinOp> {
    let first = it.next()?;
    it.next().is_none().then_some(*first)
}

impl Binder<'_> {
    /// A binary operator with geometric operands; `Err((l, r))` hands the
    /// operands back when neither is geometric.
    pub(crate) fn geo_binary(
        &mut self,
        sym: &str,
        l: Bound,
        r: Bound,
    ) -> Result<Result<Bound, (Bound, Bound)>, PgError> {
        let (l, r) = match self.ts_operator(sym, l, r)? {
            Ok(b) => return Ok(Ok(b)),
            Err(lr) => lr,
        };
        let (lt, rt) = (l.ty.oid, r.ty.oid);
        if !geo::is_geo(lt) && !geo::is_geo(rt) {
            return Ok(Err((l, r)));
        }
        let rows: Vec<&BinOp> = BINARY.iter().filter(|o| o.sym == sym).collect();
        let pick = if l.is_unknown() {
            rows.iter()
                .find(|o| o.left == rt && o.right == rt)
                .copied()
                .or_else(|| one(rows.iter().filter(|o| o.right == rt)))
        } else if r.is_unknown() {
            rows.iter()
                .find(|o| o.left == lt && o.right == lt)
                .copied()
                .or_else(|| one(rows.iter().filter(|o| o.left == lt)))
        } else {
            rows.iter().find(|o| o.left == lt && o.right == rt).copied()
        };
        let Some(row) = pick else {
            if l.is_unknown() || r.is_unknown() {
                let n = rows
                    .iter()
                    .filter(|o| {
                        (l.is_unknown() || o.left == lt) && (r.is_unknown() || o.right == rt)
                    })
                    .count();
                if n > 1 {
                    return Err(op_not_unique(sym, lt, rt));
                }
            }
            return Err(op_not_exist(sym, Some(lt), rt));
        };
        let l = self.coerce(l, Ty::new(row.left))?;
        let r = self.coerce(r, Ty::new(row.right))?;
        Ok(Ok(geo_call(row.op, vec![l, r], row.ret)))
    }

    /// An operator only the geometric (and for `&<`/`&>`, range) types have.
    pub(crate) fn geo_only_binary(
        &mut self,
        sym: &str,
        left: &ast::Expr,
        right: &ast::Expr,
    ) -> Result<Bound, PgError> {
        let l = self.bind_expr(left)?;
        let r = self.bind_expr(right)?;
        let (l, r) = match self.geo_binary(sym, l, r)? {
            Ok(b) => return Ok(b),
            Err(lr) => lr,
        };
        // `&<` and `&>` are range operators too.
        match self.range_operator(sym, l, r)? {
            Ok(b) => Ok(b),
            Err((l, r)) => Err(op_not_exist(sym, Some(l.ty.oid), r.ty.oid)),
        }
    }

    /// The prefix operators `# @@ @-@ ?- ?|`.
    pub(crate) fn geo_unary(
        &mut self,
        op: UnaryOperator,
        expr: &ast::Expr,
    ) -> Result<Bound, PgError> {
        let sym = match op {
            UnaryOperator::Hash => "#",
            UnaryOperator::DoubleAt => "@@",
            UnaryOperator::AtDashAt => "@-@",
            UnaryOperator::QuestionDash => "?-",
            _ => "?|",
        };
        let b = self.bind_expr(expr)?;
        let t = b.ty.oid;
        if sym == "#" && matches!(t, types::INT2 | types::INT4 | types::INT8) {
            return Err(op_not_exist(sym, None, t));
        }
        let Some((_, arg, ret, f)) = UNARY.iter().find(|(s, a, _, _)| *s == sym && *a == t) else {
            if b.is_unknown() && UNARY.iter().filter(|(s, ..)| *s == sym).count() > 1 {
                return Err(PgError::error(
                    sqlstate::AMBIGUOUS_FUNCTION,
                    format!("operator is not unique: {sym} unknown"),
                )
                .with_hint("Could not choose a best candidate operator. You might need to add explicit type casts."));
            }
            return Err(op_not_exist(sym, None, t));
        };
        let b = self.coerce(b, Ty::new(*arg))?;
        Ok(geo_call(*f, vec![b], *ret))
    }

    /// `point[0]`, `lseg[1]`, `box[0]`: one integer subscript.
    pub(crate) fn geo_subscript(
        &mut self,
        base: Bound,
        chain: &[ast::AccessExpr],
    ) -> Result<Bound, PgError> {
        let ret = match base.ty.oid {
            geo::POINT => types::FLOAT8,
            geo::LSEG | geo::BOX => geo::POINT,
            t => {
                return Err(PgError::error(
                    sqlstate::DATATYPE_MISMATCH,
                    format!(
                        "cannot subscript type {} because it does not support subscripting",
                        types::sql_name(t)
                    ),
                ))
            }
        };
        let [ast::AccessExpr::Subscript(ast::Subscript::Index { index })] = chain else {
            return Err(not_supported(
                "slices or several subscripts of a geometric value",
            ));
        };
        let i = self.bind_expr(index)?;
        if !i.is_unknown() && !matches!(i.ty.oid, types::INT2 | types::INT4 | types::INT8) {
            return Err(PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                "array subscript must have type integer",
            ));
        }
        let i = self.coerce(i, Ty::new(types::INT4))?;
        Ok(geo_call(Op::Subscript, vec![base, i], ret))
    }
}
