//! Binding the operators of money and bit/varbit (and bit literals) into
//! `Func::Scalar` calls that crates/sql/src/scalars.rs evaluates.
//!
//! Why a child of the binder: operator resolution needs the binder's
//! private coercion, and keeping PostgreSQL's operator table for these
//! types here leaves one call per hook in bind.rs. The tables are
//! PostgreSQL 15's pg_operator rows for money and bit strings.
//!
//! Called by the backend binding a statement.

use super::*;
use crate::scalars::{is_bits, Sc};
use types::{BIT, FLOAT4, FLOAT8, INT2, INT4, INT8, MONEY, NUMERIC, VARBIT};

fn call(f: Sc, args: Vec<Bound>, ret: Oid) -> Bound {
    Bound::new(
        Expr::Func(
            func::Func::Scalar(f),
            args.into_iter().map(|b| b.e).collect(),
        ),
        Ty::new(ret),
    )
}

impl<'h> Binder<'h> {
    /// B'0101' / X'1F' (`s` carries bit_in's b / x prefix).
    pub(crate) fn bit_literal(&mut self, s: &str) -> Result<Bound, PgError> {
        let b = tusk_types::bits::parse(s)?;
        Ok(Bound::new(
            Expr::Const(Value::Bits(Box::new(b))),
            Ty::new(BIT),
        ))
    }

    /// An unknown literal next to a value of type `t`: that type.
    fn same_as(&mut self, l: Bound, r: Bound) -> Result<(Bound, Bound), PgError> {
        Ok(match (l.is_unknown(), r.is_unknown()) {
            (true, false) => {
                let t = Ty::new(r.ty.oid);
                (self.coerce(l, t)?, r)
            }
            (false, true) => {
                let t = Ty::new(l.ty.oid);
                let r = self.coerce(r, t)?;
                (l, r)
            }
            _ => (l, r),
        })
    }

    /// `& | # << >>` on bit strings and on integers.
    pub(crate) fn bitwise_operator(
        &mut self,
        op: &BinaryOperator,
        l: Bound,
        r: Bound,
    ) -> Result<Bound, PgError> {
        use BinaryOperator as B;
        let sym = match op {
            B::BitwiseAnd => "&",
            B::BitwiseOr => "|",
            B::PGBitwiseXor => "#",
            B::PGBitwiseShiftLeft => "<<",
            _ => ">>",
        };
        let (l, r) = match self.geo_binary(sym, l, r)? {
            Ok(b) => return Ok(b),
            Err(lr) => lr,
        };
        let intish = |o| matches!(o, INT2 | INT4 | INT8);
        if !is_bits(l.ty.oid) && !is_bits(r.ty.oid) && (intish(l.ty.oid) || intish(r.ty.oid)) {
            return self.int_bitwise(sym, l, r);
        }
        if matches!(op, B::PGBitwiseShiftLeft | B::PGBitwiseShiftRight) {
            let l = if l.is_unknown() {
                self.coerce(l, Ty::new(BIT))?
            } else {
                l
            };
            if !is_bits(l.ty.oid) || !matches!(r.ty.oid, INT2 | INT4 | types::UNKNOWN) {
                return Err(op_not_exist(sym, Some(l.ty.oid), r.ty.oid));
            }
            let t = l.ty.oid;
            let r = self.coerce(r, Ty::new(INT4))?;
            let f = if sym == "<<" { Sc::BitShl } else { Sc::BitShr };
            return Ok(call(f, vec![l, r], t));
        }
        let (l, r) = self.same_as(l, r)?;
        let (l, r) = match (l.is_unknown(), r.is_unknown()) {
            (true, true) => (self.coerce(l, Ty::new(BIT))?, self.coerce(r, Ty::new(BIT))?),
            _ => (l, r),
        };
        if !is_bits(l.ty.oid) || !is_bits(r.ty.oid) {
            return Err(op_not_exist(sym, Some(l.ty.oid), r.ty.oid));
        }
        let f = match sym {
            "&" => Sc::BitAnd,
            "|" => Sc::BitOr,
            _ => Sc::BitXor,
        };
        let t = l.ty.oid;
        Ok(call(f, vec![l, r], t))
    }

    /// The integers' `& | # << >>`: both sides in the wider integer type
    /// (an unknown literal takes the other side's); a shift keeps the left
    /// operand's type and counts in int4.
    fn int_bitwise(&mut self, sym: &str, l: Bound, r: Bound) -> Result<Bound, PgError> {
        let intish = |o| matches!(o, INT2 | INT4 | INT8);
        let shift = matches!(sym, "<<" | ">>");
        let (l, r) = if shift {
            let l = if l.is_unknown() {
                self.coerce(l, Ty::new(INT4))?
            } else {
                l
            };
            let r = if r.is_unknown() || r.ty.oid == INT2 {
                self.coerce(r, Ty::new(INT4))?
            } else {
                r
            };
            (l, r)
        } else {
            self.same_as(l, r)?
        };
        let (a, b) = (l.ty.oid, r.ty.oid);
        if !intish(a) || !intish(b) || shift && b != INT4 {
            return Err(op_not_exist(sym, Some(a), b));
        }
        let f = match sym {
            "&" => Sc::IntAnd,
            "|" => Sc::IntOr,
            "#" => Sc::IntXor,
            "<<" => Sc::IntShl,
            _ => Sc::IntShr,
        };
        if shift {
            return Ok(call(f, vec![l, r], a));
        }
        let t = if a == INT8 || b == INT8 {
            INT8
        } else if a == INT4 || b == INT4 {
            INT4
        } else {
            INT2
        };
        let l = self.coerce(l, Ty::new(t))?;
        let r = self.coerce(r, Ty::new(t))?;
        Ok(call(f, vec![l, r], t))
    }

    /// `~` on a bit string or an integer.
    pub(crate) fn bitwise_not(&mut self, b: Bound) -> Result<Bound, PgError> {
        if matches!(b.ty.oid, INT2 | INT4 | INT8) {
            let t = b.ty.oid;
            return Ok(call(Sc::IntNot, vec![b], t));
        }
        let b = if b.is_unknown() {
            self.coerce(b, Ty::new(BIT))?
        } else {
            b
        };
        if !is_bits(b.ty.oid) {
            return Err(op_not_exist("~", None, b.ty.oid));
        }
        let t = b.ty.oid;
        Ok(call(Sc::BitNot, vec![b], t))
    }

    /// `||` of two bit strings (an unknown literal beside one is one too).
    pub(crate) fn bits_concat(
        &mut self,
        l: Bound,
        r: Bound,
    ) -> Result<Result<Bound, (Bound, Bound)>, PgError> {
        if !is_bits(l.ty.oid) && !is_bits(r.ty.oid) {
            return Ok(Err((l, r)));
        }
        let (l, r) = self.same_as(l, r)?;
        if !is_bits(l.ty.oid) || !is_bits(r.ty.oid) {
            return Ok(Err((l, r)));
        }
        Ok(Ok(call(Sc::BitConcat, vec![l, r], VARBIT)))
    }

    /// pg_lsn - pg_lsn (numeric), pg_lsn ± numeric, numeric + pg_lsn.
    fn lsn_arith(
        &mut self,
        op: ArithOp,
        l: Bound,
        r: Bound,
    ) -> Result<Result<Bound, (Bound, Bound)>, PgError> {
        use types::PG_LSN;
        let (l, r) = self.same_as(l, r)?;
        let (a, b) = (l.ty.oid, r.ty.oid);
        let num = |o| types::numeric_rank(o).is_some_and(|r| r <= 4);
        let (f, ret) = match (op, a, b) {
            (ArithOp::Sub, PG_LSN, PG_LSN) => (Sc::LsnDiff, NUMERIC),
            (ArithOp::Add, PG_LSN, x) | (ArithOp::Add, x, PG_LSN) if num(x) => (Sc::LsnAdd, PG_LSN),
            (ArithOp::Sub, PG_LSN, x) if num(x) => (Sc::LsnSub, PG_LSN),
            _ => return Err(op_not_exist(op.symbol(), Some(a), b)),
        };
        let to = |o: Oid| if o == PG_LSN { PG_LSN } else { NUMERIC };
        let l = self.coerce(l, Ty::new(to(a)))?;
        let r = self.coerce(r, Ty::new(to(b)))?;
        Ok(Ok(call(f, vec![l, r], ret)))
    }

    /// money's arithmetic: money ± money, money × / number, number ×
    /// money, money / money (float8). `Err((l, r))` when neither side is
    /// money.
    pub(crate) fn money_arith(
        &mut self,
        op: ArithOp,
        l: Bound,
        r: Bound,
    ) -> Result<Result<Bound, (Bound, Bound)>, PgError> {
        if l.ty.oid == types::PG_LSN || r.ty.oid == types::PG_LSN {
            return self.lsn_arith(op, l, r);
        }
        if l.ty.oid != MONEY && r.ty.oid != MONEY {
            return Ok(Err((l, r)));
        }
        let sym = op.symbol();
        // An unknown literal is money beside money for + - and /, a
        // float8 factor for *.
        let (l, r) = match (op, l.is_unknown(), r.is_unknown()) {
            (ArithOp::Mul, true, false) => (self.coerce(l, Ty::new(FLOAT8))?, r),
            (ArithOp::Mul, false, true) => {
                let r = self.coerce(r, Ty::new(FLOAT8))?;
                (l, r)
            }
            _ => self.same_as(l, r)?,
        };
        let (a, b) = (l.ty.oid, r.ty.oid);
        let intish = |o| matches!(o, INT2 | INT4 | INT8);
        let floatish = |o| matches!(o, FLOAT4 | FLOAT8 | NUMERIC);
        let f = match (op, a, b) {
            (ArithOp::Add, MONEY, MONEY) => Sc::CashAdd,
            (ArithOp::Sub, MONEY, MONEY) => Sc::CashSub,
            (ArithOp::Div, MONEY, MONEY) => {
                return Ok(Ok(call(Sc::CashDivCash, vec![l, r], FLOAT8)))
            }
            (ArithOp::Mul, MONEY, x) | (ArithOp::Mul, x, MONEY) if intish(x) => Sc::CashMulInt,
            (ArithOp::Mul, MONEY, x) | (ArithOp::Mul, x, MONEY) if floatish(x) => Sc::CashMulFlt,
            (ArithOp::Div, MONEY, x) if intish(x) => Sc::CashDivInt,
            (ArithOp::Div, MONEY, x) if floatish(x) => Sc::CashDivFlt,
            _ => return Err(op_not_exist(sym, Some(a), b)),
        };
        // Floats and numerics meet money as float8 (numeric's implicit
        // cast), integers as int8: the widest of PostgreSQL's variants
        // gives the same results.
        let widen = |o: Oid| {
            if o == MONEY {
                MONEY
            } else if intish(o) {
                INT8
            } else {
                FLOAT8
            }
        };
        let l = self.coerce(l, Ty::new(widen(a)))?;
        let r = self.coerce(r, Ty::new(widen(b)))?;
        Ok(Ok(call(f, vec![l, r], MONEY)))
    }
}
