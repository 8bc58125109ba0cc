//! Binding the operators and functions of range and multirange types into
//! `Func::Range` calls (crates/sql/src/ranges.rs evaluates them).
//!
//! Why a child of the binder: operator resolution needs the binder's
//! private coercion; keeping the rules here leaves one call per hook in
//! bind.rs and bind/array.rs. The rules are PostgreSQL 15's pg_operator
//! and pg_proc rows over anyrange/anymultirange: an unknown literal next
//! to a range takes the range's type (also for `@>`, where PostgreSQL
//! then fails to read `'3'` as a range), both sides must share one range
//! type, `@>`/`<@` take an element of the subtype on the range's side.
//! Comparison operators need nothing here: ranges order by
//! `value::compare` (range_cmp), as every other type does.
//!
//! Called by the backend binding a statement.

use super::*;
use crate::ranges::RangeFn;
use tusk_types::range::{self as rg, Pred, RangeType};

/// A type seen as a range operand: its range type and whether it is the
/// multirange over it.
fn kind(oid: Oid) -> Option<(&'static RangeType, bool)> {
    rg::range_type(oid)
        .map(|r| (r, false))
        .or_else(|| rg::multirange_type(oid).map(|r| (r, true)))
}

fn call(f: RangeFn, args: Vec<Bound>, ret: Oid) -> Bound {
    Bound::new(
        Expr::Func(
            func::Func::Range(f),
            args.into_iter().map(|b| b.e).collect(),
        ),
        Ty::new(ret),
    )
}

/// The symbol of a range operator sqlparser gives as its own variant.
pub(crate) fn range_symbol(op: &BinaryOperator) -> Option<&'static str> {
    use BinaryOperator as B;
    Some(match op {
        B::AndLt => "&<",
        B::AndGt => "&>",
        B::Custom(s) if s == "-|-" => "-|-",
        _ => return None,
    })
}

/// The operator a function of pg_proc implements (range_contains,
/// multirange_overlaps_range, elem_contained_by_multirange, ...): the name
/// is the left operand's kind, the verb and the right operand's kind.
fn operator_function(name: &str) -> Option<&'static str> {
    let rest = ["multirange_", "range_", "elem_"]
        .iter()
        .find_map(|p| name.strip_prefix(p))?;
    let verb = ["_multirange", "_range", "_elem"]
        .iter()
        .find_map(|s| rest.strip_suffix(s))
        .unwrap_or(rest);
    Some(match verb {
        "contains" => "@>",
        "contained_by" => "<@",
        "overlaps" => "&&",
        "before" => "<<",
        "after" => ">>",
        "overleft" => "&<",
        "overright" => "&>",
        "adjacent" => "-|-",
        "union" => "+",
        "intersect" => "*",
        "minus" => "-",
        _ => return None,
    })
}

impl Binder<'_> {
    /// A range or multirange operator `sym` over bound operands; `Err`
    /// hands the operands back when neither side is a range.
    pub(crate) fn range_operator(
        &mut self,
        sym: &str,
        l: Bound,
        r: Bound,
    ) -> Result<Result<Bound, (Bound, Bound)>, PgError> {
        let (l, r) = match self.ts_operator(sym, l, r)? {
            Ok(b) => return Ok(Ok(b)),
            Err(lr) => lr,
        };
        let (lk, rk) = (kind(l.ty.oid), kind(r.ty.oid));
        if lk.is_none() && rk.is_none() {
            return Ok(Err((l, r)));
        }
        // An unknown literal takes the other side's type.
        let (l, r) = match (l.is_unknown(), r.is_unknown()) {
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
        };
        let (lk, rk) = (kind(l.ty.oid), kind(r.ty.oid));
        let no_op = |l: &Bound, r: &Bound| op_not_exist(sym, Some(l.ty.oid), r.ty.oid);
        let pred = match sym {
            "@>" => Some(Pred::Contains),
            "<@" => Some(Pred::ContainedBy),
            "&&" => Some(Pred::Overlaps),
            "<<" => Some(Pred::Before),
            ">>" => Some(Pred::After),
            "&<" => Some(Pred::OverLeft),
            "&>" => Some(Pred::OverRight),
            "-|-" => Some(Pred::Adjacent),
            _ => None,
        };
        if let Some(p) = pred {
            return Ok(Ok(match (lk, rk) {
                (Some((a, _)), Some((b, _))) if a.oid == b.oid => {
                    call(RangeFn::Pred(p, a.oid), vec![l, r], types::BOOL)
                }
                // range @> element, element <@ range.
                (Some((a, _)), None) if p == Pred::Contains => {
                    let r = self.elem_operand(r, a, sym, l.ty.oid)?;
                    call(RangeFn::Pred(p, a.oid), vec![l, r], types::BOOL)
                }
                (None, Some((b, _))) if p == Pred::ContainedBy => {
                    let l = self.elem_operand(l, b, sym, r.ty.oid)?;
                    call(RangeFn::Pred(p, b.oid), vec![l, r], types::BOOL)
                }
                _ => return Err(no_op(&l, &r)),
            }));
        }
        let f = match sym {
            "+" => RangeFn::Union,
            "*" => RangeFn::Intersect,
            "-" => RangeFn::Minus,
            _ => return Ok(Err((l, r))),
        };
        match (lk, rk) {
            (Some((a, am)), Some((b, bm))) if a.oid == b.oid && am == bm => {
                let t = l.ty.oid;
                Ok(Ok(call(f, vec![l, r], t)))
            }
            _ => Err(no_op(&l, &r)),
        }
    }

    /// The element side of `@>`/`<@`: the range's subtype.
    fn elem_operand(
        &mut self,
        e: Bound,
        rt: &RangeType,
        sym: &str,
        range_oid: Oid,
    ) -> Result<Bound, PgError> {
        if e.ty.oid == rt.sub || e.is_unknown() || implicit_ok(e.ty.oid, rt.sub) {
            return self.coerce(e, Ty::new(rt.sub));
        }
        Err(if sym == "@>" {
            op_not_exist(sym, Some(range_oid), e.ty.oid)
        } else {
            op_not_exist(sym, Some(e.ty.oid), range_oid)
        })
    }

    /// The range functions (constructors, lower/upper, isempty, ...);
    /// `Err` hands the arguments back when `name` is not one of them for
    /// these arguments.
    pub(crate) fn range_function(
        &mut self,
        name: &str,
        args: Vec<Bound>,
    ) -> Result<Result<Bound, Vec<Bound>>, PgError> {
        // Constructors: the type's own name.
        if let Some(rt) = rg::range_type(rg::by_name(name).unwrap_or(0)) {
            if matches!(args.len(), 2 | 3) {
                let mut out = Vec::with_capacity(3);
                for (i, a) in args.into_iter().enumerate() {
                    let t = if i < 2 { rt.sub } else { types::TEXT };
                    out.push(self.coerce(a, Ty::new(t))?);
                }
                // Constant bounds make a constant, as PostgreSQL's planner
                // folds the immutable constructor.
                let consts: Option<Vec<Value>> = out
                    .iter()
                    .map(|b| match &b.e {
                        Expr::Const(v) => Some(v.clone()),
                        _ => None,
                    })
                    .collect();
                if let Some(vals) = consts {
                    let v = crate::ranges::call(RangeFn::Construct(rt.oid), &vals)?;
                    return Ok(Ok(Bound::new(Expr::Const(v), Ty::new(rt.oid))));
                }
                return Ok(Ok(call(RangeFn::Construct(rt.oid), out, rt.oid)));
            }
            return Ok(Err(args));
        }
        if let Some(rt) = rg::multirange_type(rg::by_name(name).unwrap_or(0)) {
            let mut out = Vec::with_capacity(args.len());
            for a in args {
                out.push(self.coerce(a, Ty::new(rt.oid))?);
            }
            return Ok(Ok(call(RangeFn::MultiConstruct(rt.oid), out, rt.multi)));
        }
        if let (Some(sym), 2) = (operator_function(name), args.len()) {
            let mut it = args.into_iter();
            let (Some(l), Some(r)) = (it.next(), it.next()) else {
                return Ok(Err(Vec::new()));
            };
            return Ok(self.range_operator(sym, l, r)?.map_err(|(l, r)| vec![l, r]));
        }
        let Some(first) = args.first() else {
            return Ok(Err(args));
        };
        let Some((rt, multi)) = kind(first.ty.oid) else {
            return Ok(Err(args));
        };
        let (f, ret) = match (name, args.len()) {
            ("lower", 1) => (RangeFn::Lower, rt.sub),
            ("upper", 1) => (RangeFn::Upper, rt.sub),
            ("isempty", 1) => (RangeFn::IsEmpty, types::BOOL),
            ("lower_inc", 1) => (RangeFn::LowerInc, types::BOOL),
            ("upper_inc", 1) => (RangeFn::UpperInc, types::BOOL),
            ("lower_inf", 1) => (RangeFn::LowerInf, types::BOOL),
            ("upper_inf", 1) => (RangeFn::UpperInf, types::BOOL),
            ("range_merge", 1) if multi => (RangeFn::Merge(rt.oid), rt.oid),
            ("range_merge", 2) if !multi => (RangeFn::Merge(rt.oid), rt.oid),
            ("multirange", 1) if !multi => (RangeFn::ToMulti(rt.oid), rt.multi),
            _ => return Ok(Err(args)),
        };
        let mut out = Vec::with_capacity(args.len());
        let t = args[0].ty;
        for a in args {
            out.push(self.coerce(a, t)?);
        }
        Ok(Ok(call(f, out, ret)))
    }
}
