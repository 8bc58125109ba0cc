//! PL/pgSQL's simple-expression fast path: an expression that reads no
//! table is evaluated straight from its bound tree, without starting an
//! executor.
//!
//! Why: every PL/pgSQL expression (`i + 1`, `x < n`) is a `SELECT expr`
//! with the variables as parameters. Running it as a statement builds a
//! pull-node tree, takes a fresh statement snapshot and opens relation
//! access for each evaluation — thousands of times the cost of the
//! arithmetic. PostgreSQL does the same as here (its "simple expression"
//! check in pl_exec.c): a plan that is a single result row with no FROM,
//! WHERE, aggregate, sort, limit or subquery is kept as its expression
//! and evaluated directly. The check is made once, when the statement is
//! planned; the plan cache (plpgsql.rs) keeps the result, so a DDL that
//! bumps the catalog generation replans and rechecks it.

use tusk_common::PgError;

use crate::exec::Row;
use crate::expr::{Ctx, Expr};
use crate::host::Host;
use crate::plan::Source;
use crate::value::Value;
use crate::{Plan, Prepared};

/// The target expressions of a plan that is a simple expression, or None
/// when it must run as a statement.
pub(crate) fn simple_exprs(p: &Prepared) -> Option<Vec<Expr>> {
    let Plan::Select(plan) = &p.plan else {
        return None;
    };
    let simple = matches!(plan.source, Source::Result)
        && plan.filter.is_none()
        && plan.aggs.is_none()
        && plan.group_by.is_empty()
        && plan.srfs.is_empty()
        && plan.having.is_none()
        && plan.windows.is_empty()
        && plan.sort.is_empty()
        && plan.limit.is_none()
        && plan.offset.is_none()
        && !plan.distinct
        && plan.distinct_on.is_none()
        && plan.row_locks.is_none()
        && plan.visible == plan.targets.len();
    if !simple {
        return None;
    }
    // A subquery needs the executor's preparation (its relations read,
    // its result cache): such an expression runs as a statement.
    let mut targets = plan.targets.clone();
    let mut has_sublink = false;
    for t in &mut targets {
        t.visit(0, &mut |e, _| {
            if matches!(e, Expr::SubLink(_)) {
                has_sublink = true;
            }
        });
    }
    (!has_sublink).then_some(targets)
}

/// Evaluates a simple expression's targets with these parameter values:
/// the one row the statement would have returned. Called by the backend
/// running the function. Interrupts are not checked here: every loop of
/// the function checks them once per iteration already, and a slow
/// function inside the expression checks its own.
pub(crate) fn eval(exprs: &[Expr], params: &[Value], host: &mut dyn Host) -> Result<Row, PgError> {
    let mut cx = Ctx { host, params };
    let mut row = Vec::with_capacity(exprs.len());
    for e in exprs {
        row.push(e.eval(&[], &mut cx)?);
    }
    Ok(row)
}

// ---- compiled form ----
//
// Why a second evaluator: a PL/pgSQL loop spends nearly all its time in
// the one-target expressions of its assignments and conditions, mostly
// integer arithmetic and comparisons. The general tree walk moves a
// `Result<Value, _>` through a large match for every node; compiled
// once per plan, integer subtrees here work on plain `i64` and boolean
// ones on `Option<bool>`, with the same order of evaluation, NULL
// handling and errors as [`Expr::eval`]. Any node it does not know stays
// an [`Expr`] and is evaluated by the general path.

use crate::expr::{value_oid, ArithOp, CmpOp};
use crate::types::{self, Oid};

/// How deep a compiled tree may nest: its evaluation recurses on the
/// native stack without the general path's stack growth, so a deeper
/// expression is left to the general path.
const MAX_DEPTH: usize = 64;

/// An integer type: the range its values and results must fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Width {
    I2,
    I4,
    I8,
}

impl Width {
    fn of(oid: Oid) -> Option<Width> {
        match oid {
            types::INT2 => Some(Width::I2),
            types::INT4 => Some(Width::I4),
            types::INT8 => Some(Width::I8),
            _ => None,
        }
    }

    fn oid(self) -> Oid {
        match self {
            Width::I2 => types::INT2,
            Width::I4 => types::INT4,
            Width::I8 => types::INT8,
        }
    }

    /// `v` if the type holds it, else its "out of range" error.
    fn check(self, v: i64) -> Result<i64, PgError> {
        let ok = match self {
            Width::I2 => i16::try_from(v).is_ok(),
            Width::I4 => i32::try_from(v).is_ok(),
            Width::I8 => true,
        };
        if ok {
            Ok(v)
        } else {
            Err(crate::cast::int_out_of_range(self.oid()))
        }
    }

    fn value(self, v: Option<i64>) -> Value {
        match v {
            None => Value::Null,
            // Each fits: every result went through `check`.
            Some(v) => match self {
                Width::I2 => Value::Int2(v as i16),
                Width::I4 => Value::Int4(v as i32),
                Width::I8 => Value::Int8(v),
            },
        }
    }
}

/// An integer-typed expression; evaluates to its value or None for NULL.
#[derive(Debug)]
enum IntNode {
    Const(i64),
    /// `$n` bound as this integer type (the general path's parameter
    /// conversion when the value is of another type).
    Param(usize, Width),
    Arith(ArithOp, Width, Box<IntNode>, Box<IntNode>),
    Neg(Width, Box<IntNode>),
    /// A cast to a narrower integer type: a range check.
    Narrow(Width, Box<IntNode>),
}

/// A boolean expression; evaluates to its truth value or None for NULL.
#[derive(Debug)]
enum BoolNode {
    Const(Option<bool>),
    IntCmp(CmpOp, Prog, Prog),
    And(Vec<BoolNode>),
    Or(Vec<BoolNode>),
    Not(Box<BoolNode>),
    /// Any other boolean expression, evaluated by the general path.
    Other(Expr),
}

/// A simple expression's targets, and for a PL/pgSQL expression of one
/// target its compiled form.
#[derive(Debug)]
pub(crate) struct Simple {
    pub exprs: Vec<Expr>,
    pub fast: Option<Fast>,
}

impl Simple {
    pub(crate) fn new(exprs: Vec<Expr>, is_expr: bool) -> Simple {
        let fast = match exprs.as_slice() {
            [e] if is_expr => Some(Fast::compile(e)),
            _ => None,
        };
        Simple { exprs, fast }
    }
}

/// A single-target simple expression, compiled (see above).
#[derive(Debug)]
pub(crate) struct Fast(Compiled);

#[derive(Debug)]
enum Compiled {
    Int(Prog),
    Bool(BoolNode),
    Other(Expr),
}

impl Fast {
    pub(crate) fn compile(e: &Expr) -> Fast {
        if let Some(p) = int_node(e, 0).and_then(|(n, w)| Prog::lower(&n, w)) {
            return Fast(Compiled::Int(p));
        }
        Fast(match bool_node(e, 0) {
            Some(b) => Compiled::Bool(b),
            None => Compiled::Other(e.clone()),
        })
    }

    /// Which evaluator runs it: "int", "bool" or "general".
    #[cfg(test)]
    pub(crate) fn kind(&self) -> &'static str {
        match &self.0 {
            Compiled::Int(_) => "int",
            Compiled::Bool(_) => "bool",
            Compiled::Other(_) => "general",
        }
    }

    pub(crate) fn eval(&self, params: &[Value], host: &mut dyn Host) -> Result<Value, PgError> {
        let mut cx = Ctx { host, params };
        match &self.0 {
            Compiled::Int(p) => Ok(p.width.value(p.eval(&mut cx)?)),
            Compiled::Bool(b) => Ok(b.eval(&mut cx)?.map_or(Value::Null, Value::Bool)),
            Compiled::Other(e) => e.eval(&[], &mut cx),
        }
    }
}

fn int_node(e: &Expr, depth: usize) -> Option<(IntNode, Width)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let sub = |e: &Expr| int_node(e, depth + 1);
    Some(match e {
        Expr::Const(Value::Int2(v)) => (IntNode::Const(*v as i64), Width::I2),
        Expr::Const(Value::Int4(v)) => (IntNode::Const(*v as i64), Width::I4),
        Expr::Const(Value::Int8(v)) => (IntNode::Const(*v), Width::I8),
        Expr::Param(i, ty) => {
            let w = Width::of(ty.oid)?;
            (IntNode::Param(*i, w), w)
        }
        Expr::Cast { arg, from, to } if to.typmod < 0 => {
            let to_w = Width::of(to.oid)?;
            let (n, w) = sub(arg)?;
            if Width::of(*from) != Some(w) {
                return None;
            }
            match n {
                // A constant is converted once, here, when it fits; one
                // that does not fails when evaluated, as it would have.
                IntNode::Const(v) if to_w.check(v).is_ok() => (IntNode::Const(v), to_w),
                n if to_w >= w => (n, to_w),
                n => (IntNode::Narrow(to_w, Box::new(n)), to_w),
            }
        }
        Expr::Neg(a) => {
            let (n, w) = sub(a)?;
            (IntNode::Neg(w, Box::new(n)), w)
        }
        Expr::Arith(op, a, b) if *op != ArithOp::Pow => {
            let (x, wx) = sub(a)?;
            let (y, wy) = sub(b)?;
            if wx != wy {
                return None;
            }
            (IntNode::Arith(*op, wx, Box::new(x), Box::new(y)), wx)
        }
        _ => return None,
    })
}

fn bool_node(e: &Expr, depth: usize) -> Option<BoolNode> {
    if depth > MAX_DEPTH {
        return None;
    }
    let sub = |e: &Expr| bool_node(e, depth + 1).unwrap_or_else(|| BoolNode::Other(e.clone()));
    Some(match e {
        Expr::Const(Value::Bool(b)) => BoolNode::Const(Some(*b)),
        Expr::Cmp(op, a, b) => {
            let (x, wx) = int_node(a, depth + 1)?;
            let (y, wy) = int_node(b, depth + 1)?;
            if wx != wy {
                return None;
            }
            BoolNode::IntCmp(*op, Prog::lower(&x, wx)?, Prog::lower(&y, wy)?)
        }
        Expr::And(items) => BoolNode::And(items.iter().map(sub).collect()),
        Expr::Or(items) => BoolNode::Or(items.iter().map(sub).collect()),
        Expr::Not(a) => BoolNode::Not(Box::new(sub(a))),
        _ => return None,
    })
}

/// An integer expression flattened to postfix order (operands before
/// their operator, left before right: the tree's order of evaluation),
/// run over a small fixed stack: no call per node.
#[derive(Debug)]
struct Prog {
    ops: Vec<Op>,
    width: Width,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Const(i64),
    Param(usize, Width),
    Arith(ArithOp, Width),
    Neg(Width),
    Narrow(Width),
}

/// The most values a program keeps at once; a program needing more (a
/// right-deep chain of operators) is left to the general path.
const STACK: usize = 16;

impl Prog {
    fn lower(n: &IntNode, width: Width) -> Option<Prog> {
        fn emit(n: &IntNode, ops: &mut Vec<Op>, sp: usize, max: &mut usize) {
            *max = (*max).max(sp + 1);
            match n {
                IntNode::Const(v) => ops.push(Op::Const(*v)),
                IntNode::Param(i, w) => ops.push(Op::Param(*i, *w)),
                IntNode::Arith(op, w, a, b) => {
                    emit(a, ops, sp, max);
                    emit(b, ops, sp + 1, max);
                    ops.push(Op::Arith(*op, *w));
                }
                IntNode::Neg(w, a) => {
                    emit(a, ops, sp, max);
                    ops.push(Op::Neg(*w));
                }
                IntNode::Narrow(w, a) => {
                    emit(a, ops, sp, max);
                    ops.push(Op::Narrow(*w));
                }
            }
        }
        let (mut ops, mut max) = (Vec::new(), 0);
        emit(n, &mut ops, 0, &mut max);
        (max <= STACK).then_some(Prog { ops, width })
    }

    /// The value, None for NULL. An operator over a NULL is NULL, after
    /// both operands were evaluated (their errors first), as the tree's.
    fn eval(&self, cx: &mut Ctx<'_>) -> Result<Option<i64>, PgError> {
        let mut v = [0i64; STACK];
        // Bit k set: stack slot k holds NULL.
        let mut nulls = 0u32;
        let mut sp = 0usize;
        for op in &self.ops {
            match *op {
                Op::Const(c) => {
                    v[sp] = c;
                    nulls &= !(1 << sp);
                    sp += 1;
                }
                Op::Param(i, w) => {
                    match param(cx, i, w)? {
                        Some(x) => {
                            v[sp] = x;
                            nulls &= !(1 << sp);
                        }
                        None => nulls |= 1 << sp,
                    }
                    sp += 1;
                }
                Op::Arith(op, w) => {
                    sp -= 1;
                    if nulls & (3 << (sp - 1)) == 0 {
                        v[sp - 1] = int_arith(op, w, v[sp - 1], v[sp])?;
                    } else {
                        nulls |= 1 << (sp - 1);
                    }
                }
                Op::Neg(w) => {
                    if nulls & (1 << (sp - 1)) == 0 {
                        let x = v[sp - 1].checked_neg();
                        v[sp - 1] = x
                            .ok_or_else(|| crate::cast::int_out_of_range(w.oid()))
                            .and_then(|x| w.check(x))?;
                    }
                }
                Op::Narrow(w) => {
                    if nulls & (1 << (sp - 1)) == 0 {
                        v[sp - 1] = w.check(v[sp - 1])?;
                    }
                }
            }
        }
        Ok((nulls & 1 == 0).then_some(v[0]))
    }
}

/// `$i` bound as integer type `w`: its value, None for NULL; a value of
/// another type goes through the general path's conversion (and error).
#[inline]
fn param(cx: &mut Ctx<'_>, i: usize, w: Width) -> Result<Option<i64>, PgError> {
    Ok(match cx.params.get(i) {
        None | Some(Value::Null) => None,
        Some(Value::Int2(v)) => Some(*v as i64),
        Some(Value::Int4(v)) if w >= Width::I4 => Some(*v as i64),
        Some(Value::Int8(v)) if w == Width::I8 => Some(*v),
        Some(_) => match Expr::Param(i, crate::types::Ty::new(w.oid())).eval(&[], cx)? {
            Value::Null => None,
            Value::Int2(v) => Some(v as i64),
            Value::Int4(v) => Some(v as i64),
            Value::Int8(v) => Some(v),
            v => return Err(mismatch(&v, w.oid())),
        },
    })
}

/// Integer arithmetic of two values of type `w`, with the general
/// path's errors (expr.rs `int_arith!`): division by zero, out of range;
/// `MIN % -1` is 0.
fn int_arith(op: ArithOp, w: Width, a: i64, b: i64) -> Result<i64, PgError> {
    let r = match op {
        ArithOp::Add => a.checked_add(b),
        ArithOp::Sub => a.checked_sub(b),
        ArithOp::Mul => a.checked_mul(b),
        ArithOp::Div | ArithOp::Mod if b == 0 => {
            return Err(PgError::error(
                tusk_common::sqlstate::DIVISION_BY_ZERO,
                "division by zero",
            ))
        }
        ArithOp::Div => a.checked_div(b),
        ArithOp::Mod => Some(a.checked_rem(b).unwrap_or(0)),
        ArithOp::Pow => None,
    };
    match r {
        Some(r) => w.check(r),
        None => Err(crate::cast::int_out_of_range(w.oid())),
    }
}

fn mismatch(v: &Value, want: Oid) -> PgError {
    PgError::error(
        tusk_common::sqlstate::INTERNAL_ERROR,
        format!(
            "integer expression of type {want} met a value of type {:?}",
            value_oid(v)
        ),
    )
}

impl BoolNode {
    fn eval(&self, cx: &mut Ctx<'_>) -> Result<Option<bool>, PgError> {
        Ok(match self {
            BoolNode::Const(b) => *b,
            BoolNode::IntCmp(op, a, b) => {
                let x = a.eval(cx)?;
                let y = b.eval(cx)?;
                let (Some(x), Some(y)) = (x, y) else {
                    return Ok(None);
                };
                Some(op.test(x.cmp(&y)))
            }
            BoolNode::And(items) | BoolNode::Or(items) => {
                // Three-valued logic, items in order, as Expr::eval.
                let decisive = matches!(self, BoolNode::Or(_));
                let mut saw_null = false;
                for e in items {
                    match e.eval(cx)? {
                        Some(b) if b == decisive => return Ok(Some(decisive)),
                        Some(_) => {}
                        None => saw_null = true,
                    }
                }
                if saw_null {
                    None
                } else {
                    Some(!decisive)
                }
            }
            BoolNode::Not(a) => a.eval(cx)?.map(|b| !b),
            BoolNode::Other(e) => match e.eval(&[], cx)? {
                Value::Bool(b) => Some(b),
                _ => None,
            },
        })
    }
}
