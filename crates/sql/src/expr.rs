//! Bound expressions and their evaluation.
//!
//! The binder turns sqlparser's syntax tree into this smaller tree in which
//! every name is resolved (columns are row indexes, functions are
//! [`Func`]s), every operator knows its operand type, and every implicit
//! conversion is an explicit [`Expr::Cast`]. Evaluation therefore never
//! looks anything up and never meets a type it did not expect; errors left
//! at run time are data errors (overflow, division by zero, bad input).

use std::cmp::Ordering;

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::cast::{self, float_overflow, float_underflow, int_out_of_range};
use crate::func::{self, Func};
use crate::host::Host;
use crate::types::{self, Oid, Ty};
use crate::value::{compare, to_text, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl ArithOp {
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
            ArithOp::Pow => "^",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    pub(crate) fn test(self, o: Ordering) -> bool {
        match self {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Const(Value),
    /// Parameter `$n` (0-based index) and the type it was bound as.
    Param(usize, Ty),
    /// A column of the input row.
    Column(usize),
    Cast {
        arg: Box<Expr>,
        from: Oid,
        to: Ty,
    },
    Neg(Box<Expr>),
    /// Both operands have the same type, which is the result type.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// Both operands have the same type.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// Both operands are text.
    Concat(Box<Expr>, Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    IsNull(Box<Expr>, bool),
    /// `IS [NOT] TRUE|FALSE|UNKNOWN` (`None` = UNKNOWN).
    IsBool {
        arg: Box<Expr>,
        value: Option<bool>,
        negated: bool,
    },
    IsDistinct(Box<Expr>, Box<Expr>, bool),
    Case {
        whens: Vec<(Expr, Expr)>,
        else_: Box<Expr>,
    },
    Coalesce(Vec<Expr>),
    NullIf(Box<Expr>, Box<Expr>),
    /// GREATEST (true) / LEAST (false).
    MinMax(Vec<Expr>, bool),
    InList(Box<Expr>, Vec<Expr>, bool),
    /// `[NOT] LIKE` / `ILIKE` on text.
    Like {
        arg: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<char>,
        case_insensitive: bool,
        negated: bool,
    },
    Func(Func, Vec<Expr>),
    /// A column of an enclosing query's row (a correlated subquery):
    /// `depth` query levels out. Replaced by the outer row's value before
    /// the subquery runs ([`SubLink::bind_outer`]), so evaluation never
    /// meets one.
    Outer {
        depth: usize,
        col: usize,
    },
    /// A subquery used as an expression (scalar, EXISTS, IN).
    SubLink(Box<SubLink>),
    /// A call of a user-defined function (routine.rs), arguments
    /// already coerced to its input types and defaults filled in.
    UserFunc(std::rc::Rc<crate::catalog::FuncDef>, Vec<Expr>),
    /// An array or pattern-matching operation over its arguments
    /// (crates/sql/src/arrays.rs).
    Array(crate::arrays::ArrOp, Vec<Expr>),
    /// A date/time operator or function (crates/sql/src/dtops.rs).
    DateTime(crate::dtops::DtOp, Vec<Expr>),
    /// A json or jsonb operation over its arguments (crates/sql/src/json.rs).
    Json(crate::json::JsonOp, Vec<Expr>),
    /// A value coerced to a domain: the argument (already of the base
    /// type) checked against the domain's constraints
    /// (crates/sql/src/domain.rs), PostgreSQL's CoerceToDomain.
    Domain(Box<Expr>, std::rc::Rc<crate::domain::Coercion>),
    /// json(b)_populate_record(set) / json(b)_to_record(set) over its
    /// arguments (crates/sql/src/jsonrec.rs).
    JsonRecord(std::rc::Rc<crate::jsonrec::Call>, Vec<Expr>),
}

#[derive(Debug, Clone)]
pub(crate) enum SubLinkKind {
    Exists,
    /// `(SELECT x ...)`: one column, at most one row.
    Scalar,
    /// `ARRAY(SELECT x ...)`: every row's value, an array of this
    /// element type.
    Array(Oid),
    /// `lhs op ANY|ALL (SELECT x ...)`, `[NOT] IN` being `= ANY`
    /// (negated): `lhs` is over the row of the expression, `rhs` over the
    /// subquery's row; both of one type.
    In {
        lhs: Expr,
        rhs: Expr,
        op: CmpOp,
        all: bool,
        negated: bool,
    },
}

/// A subquery inside an expression. Its plan's expressions see the
/// enclosing rows only through [`Expr::Outer`].
#[derive(Debug, Clone)]
pub(crate) struct SubLink {
    pub kind: SubLinkKind,
    pub plan: crate::plan::SelectPlan,
    /// Whether the plan refers to an enclosing query's row; if not, it
    /// runs once per execution and its rows are kept in `cache`.
    pub correlated: bool,
    /// Set when execution starts (`exec::prepare_plan`): the rows of an
    /// uncorrelated subquery once computed. Never shared between
    /// executions, so a prepared statement sees fresh data each time.
    pub cache: Option<std::rc::Rc<std::cell::RefCell<Option<Vec<crate::exec::Row>>>>>,
}

impl SubLink {
    /// The plan with this row's values in place of the references to it
    /// (`Outer` at depth 1 inside the plan, deeper in nested subqueries).
    pub fn bind_outer(&self, row: &[Value]) -> crate::plan::SelectPlan {
        let mut plan = self.plan.clone();
        plan.visit_exprs(1, &mut |e, level| {
            if let Expr::Outer { depth, col } = e {
                if *depth == level {
                    *e = Expr::Const(row.get(*col).cloned().unwrap_or(Value::Null));
                }
            }
        });
        plan
    }
}

impl Expr {
    /// Call `f` on this expression and every one inside it, top down,
    /// with the query level each belongs to (`level` for this one, one
    /// more inside a subquery's plan). Grows the stack as evaluation does.
    #[recursive::recursive]
    pub fn visit(&mut self, level: usize, f: &mut dyn FnMut(&mut Expr, usize)) {
        f(self, level);
        match self {
            Expr::Const(_) | Expr::Param(..) | Expr::Column(_) | Expr::Outer { .. } => {}
            Expr::Cast { arg, .. }
            | Expr::Neg(arg)
            | Expr::Not(arg)
            | Expr::IsNull(arg, _)
            | Expr::Domain(arg, _) => arg.visit(level, f),
            Expr::IsBool { arg, .. } => arg.visit(level, f),
            Expr::Arith(_, a, b)
            | Expr::Cmp(_, a, b)
            | Expr::Concat(a, b)
            | Expr::IsDistinct(a, b, _)
            | Expr::NullIf(a, b) => {
                a.visit(level, f);
                b.visit(level, f);
            }
            Expr::And(v) | Expr::Or(v) | Expr::Coalesce(v) | Expr::MinMax(v, _) => {
                v.iter_mut().for_each(|e| e.visit(level, f))
            }
            Expr::Func(_, v)
            | Expr::UserFunc(_, v)
            | Expr::Array(_, v)
            | Expr::DateTime(_, v)
            | Expr::Json(_, v)
            | Expr::JsonRecord(_, v) => v.iter_mut().for_each(|e| e.visit(level, f)),
            Expr::Case { whens, else_ } => {
                for (c, r) in whens {
                    c.visit(level, f);
                    r.visit(level, f);
                }
                else_.visit(level, f);
            }
            Expr::InList(a, v, _) => {
                a.visit(level, f);
                v.iter_mut().for_each(|e| e.visit(level, f));
            }
            Expr::Like { arg, pattern, .. } => {
                arg.visit(level, f);
                pattern.visit(level, f);
            }
            Expr::SubLink(s) => {
                if let SubLinkKind::In { lhs, rhs, .. } = &mut s.kind {
                    lhs.visit(level, f);
                    rhs.visit(level + 1, f);
                }
                s.plan.visit_exprs(level + 1, f);
            }
        }
    }

    /// The columns of this query level's row the expression reads, and
    /// whether it reads anything else that pins it to the joined row
    /// (a subquery).
    pub fn columns_used(&self) -> (Vec<usize>, bool) {
        let mut cols = Vec::new();
        let mut sub = false;
        self.clone().visit(0, &mut |e, level| match e {
            Expr::Column(i) if level == 0 => cols.push(*i),
            Expr::SubLink(_) if level == 0 => sub = true,
            _ => {}
        });
        (cols, sub)
    }

    /// Renumber this query level's column references by `f`.
    pub fn map_columns(&mut self, f: &dyn Fn(usize) -> usize) {
        self.visit(0, &mut |e, level| {
            if let Expr::Column(i) = e {
                if level == 0 {
                    *i = f(*i);
                }
            }
        });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LikeTok {
    /// `%`: any run of characters.
    Any,
    /// `_`: one character.
    One,
    Lit(char),
}

fn like_compile(p: &str, escape: Option<char>) -> Result<Vec<LikeTok>, PgError> {
    let mut out = Vec::with_capacity(p.len());
    let mut it = p.chars();
    while let Some(c) = it.next() {
        if Some(c) == escape {
            match it.next() {
                Some(n) => out.push(LikeTok::Lit(n)),
                None => {
                    return Err(PgError::error(
                        tusk_common::sqlstate::INVALID_ESCAPE_SEQUENCE,
                        "LIKE pattern must not end with escape character",
                    ));
                }
            }
        } else if c == '%' {
            if out.last() != Some(&LikeTok::Any) {
                out.push(LikeTok::Any);
            }
        } else if c == '_' {
            out.push(LikeTok::One);
        } else {
            out.push(LikeTok::Lit(c));
        }
    }
    Ok(out)
}

/// Wildcard match with backtracking to the last `%` only, which is
/// linear-times-pattern in the worst case.
fn like_match(s: &[char], p: &[LikeTok]) -> bool {
    let (mut si, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(LikeTok::Any) => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(LikeTok::One) => {
                si += 1;
                pi += 1;
            }
            Some(LikeTok::Lit(c)) if *c == s[si] => {
                si += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|t| *t == LikeTok::Any)
}

/// What evaluation may touch besides the row.
pub(crate) struct Ctx<'a> {
    pub host: &'a mut dyn Host,
    pub params: &'a [Value],
}

fn div_zero() -> PgError {
    PgError::error(sqlstate::DIVISION_BY_ZERO, "division by zero")
}

macro_rules! int_arith {
    ($op:expr, $a:expr, $b:expr, $ty:expr, $wrap:path) => {{
        let (a, b) = ($a, $b);
        let r = match $op {
            ArithOp::Add => a.checked_add(b),
            ArithOp::Sub => a.checked_sub(b),
            ArithOp::Mul => a.checked_mul(b),
            ArithOp::Div => {
                if b == 0 {
                    return Err(div_zero());
                }
                a.checked_div(b)
            }
            ArithOp::Mod => {
                if b == 0 {
                    return Err(div_zero());
                }
                // MIN % -1 overflows in hardware but is 0 mathematically.
                Some(a.checked_rem(b).unwrap_or(0))
            }
            ArithOp::Pow => None,
        };
        r.map($wrap).ok_or_else(|| int_out_of_range($ty))
    }};
}

fn float_result(r: f64, a: f64, b: f64, op: ArithOp) -> Result<f64, PgError> {
    if r.is_infinite() && a.is_finite() && b.is_finite() {
        return Err(float_overflow());
    }
    if r == 0.0
        && a != 0.0
        && matches!(op, ArithOp::Mul | ArithOp::Pow)
        && (op == ArithOp::Pow || b != 0.0)
    {
        return Err(float_underflow());
    }
    Ok(r)
}

fn float_arith(op: ArithOp, a: f64, b: f64) -> Result<f64, PgError> {
    let r = match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div => {
            // NaN / 0 is NaN, as in PostgreSQL's float8div.
            if b == 0.0 && !a.is_nan() {
                return Err(div_zero());
            }
            a / b
        }
        ArithOp::Mod => {
            if b == 0.0 {
                return Err(div_zero());
            }
            a % b
        }
        ArithOp::Pow => return crate::mathfuncs::dpow(a, b),
    };
    float_result(r, a, b, op)
}

pub(crate) fn arith(op: ArithOp, a: Value, b: Value) -> Result<Value, PgError> {
    use Value::*;
    Ok(match (a, b) {
        (Null, _) | (_, Null) => Null,
        (Int2(a), Int2(b)) => int_arith!(op, a, b, types::INT2, Int2)?,
        (Int4(a), Int4(b)) => int_arith!(op, a, b, types::INT4, Int4)?,
        (Int8(a), Int8(b)) => int_arith!(op, a, b, types::INT8, Int8)?,
        (Float4(a), Float4(b)) => {
            let r = float_arith(op, a as f64, b as f64)? as f32;
            if r.is_infinite() && a.is_finite() && b.is_finite() {
                return Err(float_overflow());
            }
            Float4(r)
        }
        (Float8(a), Float8(b)) => Float8(float_arith(op, a, b)?),
        (Numeric(a), Numeric(b)) => Numeric(match op {
            ArithOp::Add => a.add(&b)?,
            ArithOp::Sub => a.sub(&b)?,
            ArithOp::Mul => a.mul(&b)?,
            ArithOp::Div => a.div(&b)?,
            ArithOp::Mod => a.rem(&b)?,
            ArithOp::Pow => a.pow(&b)?,
        }),
        (a, b) => {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!(
                    "operator {} applied to mismatched values {a:?} and {b:?}",
                    op.symbol()
                ),
            ))
        }
    })
}

fn negate(v: Value) -> Result<Value, PgError> {
    use Value::*;
    Ok(match v {
        Null => Null,
        Int2(i) => Int2(
            i.checked_neg()
                .ok_or_else(|| int_out_of_range(types::INT2))?,
        ),
        Int4(i) => Int4(
            i.checked_neg()
                .ok_or_else(|| int_out_of_range(types::INT4))?,
        ),
        Int8(i) => Int8(
            i.checked_neg()
                .ok_or_else(|| int_out_of_range(types::INT8))?,
        ),
        Float4(f) => Float4(-f),
        Float8(f) => Float8(-f),
        Numeric(n) => Numeric(n.neg()),
        other => {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!("unary minus applied to {other:?}"),
            ))
        }
    })
}

fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

impl Expr {
    /// The value of the expression over `row`. Leaves (constants,
    /// parameters, columns) are answered here, without the stack check
    /// of [`Expr::eval_node`]: they never recurse, and they are half the
    /// nodes of a typical expression evaluated per row or per PL/pgSQL
    /// statement.
    #[inline]
    pub fn eval(&self, row: &[Value], ctx: &mut Ctx<'_>) -> Result<Value, PgError> {
        match self {
            Expr::Const(v) => Ok(v.clone()),
            Expr::Param(i, ty) => {
                let v = ctx.params.get(*i).cloned().unwrap_or(Value::Null);
                // The client sent the type it declared (int2 for an int4
                // context is common): widen to the type bound here.
                let from = value_oid(&v).unwrap_or(ty.oid);
                if from == ty.oid || !cast::castable(from, ty.oid) {
                    Ok(v)
                } else {
                    cast::cast(v, from, *ty, ctx.host.now())
                }
            }
            Expr::Column(i) => Ok(row.get(*i).cloned().unwrap_or(Value::Null)),
            _ => self.eval_node(row, ctx),
        }
    }

    /// An inner node: grows the stack as the tree is deep.
    #[recursive::recursive]
    fn eval_node(&self, row: &[Value], ctx: &mut Ctx<'_>) -> Result<Value, PgError> {
        Ok(match self {
            Expr::Const(_) | Expr::Param(..) | Expr::Column(_) => return self.eval(row, ctx),
            Expr::Cast { arg, from, to } => {
                let v = arg.eval(row, ctx)?;
                if let Some(w) = widen_int(&v, *from, *to) {
                    return Ok(w);
                }
                if crate::reg::needs_catalog(*from, to.oid) {
                    crate::reg::cast(v, *from, *to, ctx.host)?
                } else {
                    cast::cast(v, *from, *to, ctx.host.now())?
                }
            }
            Expr::Neg(a) => negate(a.eval(row, ctx)?)?,
            Expr::Arith(op, a, b) => {
                let a = a.eval(row, ctx)?;
                let b = b.eval(row, ctx)?;
                arith(*op, a, b)?
            }
            Expr::Cmp(op, a, b) => {
                let a = a.eval(row, ctx)?;
                let b = b.eval(row, ctx)?;
                match (&a, &b) {
                    (Value::Null, _) | (_, Value::Null) => Value::Null,
                    (Value::Record(x), Value::Record(y)) => {
                        Value::Bool(crate::bind::record_cmp(*op, x, y)?)
                    }
                    _ => Value::Bool(op.test(compare(&a, &b))),
                }
            }
            Expr::Concat(a, b) => {
                let a = a.eval(row, ctx)?;
                let b = b.eval(row, ctx)?;
                match (to_text(&a), to_text(&b)) {
                    (Some(mut x), Some(y)) => {
                        func::check_text_len(x.len() + y.len())?;
                        x.push_str(&y);
                        Value::Text(x)
                    }
                    _ => Value::Null,
                }
            }
            Expr::And(items) | Expr::Or(items) => {
                // Three-valued logic: the deciding value (false for AND,
                // true for OR) wins, else any NULL makes the result NULL.
                let decisive = matches!(self, Expr::Or(_));
                let mut saw_null = false;
                for e in items {
                    match truth(&e.eval(row, ctx)?) {
                        Some(b) if b == decisive => return Ok(Value::Bool(decisive)),
                        Some(_) => {}
                        None => saw_null = true,
                    }
                }
                if saw_null {
                    Value::Null
                } else {
                    Value::Bool(!decisive)
                }
            }
            Expr::Not(a) => match truth(&a.eval(row, ctx)?) {
                Some(b) => Value::Bool(!b),
                None => Value::Null,
            },
            // A row IS NULL when every field is, IS NOT NULL when none is
            // (nested rows are not looked into), as ExecEvalRowNull.
            Expr::IsNull(a, negated) => match a.eval(row, ctx)? {
                Value::Record(f) if *negated => Value::Bool(f.iter().all(|(_, v)| !v.is_null())),
                Value::Record(f) => Value::Bool(f.iter().all(|(_, v)| v.is_null())),
                v => Value::Bool(v.is_null() != *negated),
            },
            Expr::IsBool {
                arg,
                value,
                negated,
            } => {
                let t = truth(&arg.eval(row, ctx)?);
                Value::Bool((t == *value) != *negated)
            }
            Expr::IsDistinct(a, b, negated) => {
                let a = a.eval(row, ctx)?;
                let b = b.eval(row, ctx)?;
                let distinct = match (a.is_null(), b.is_null()) {
                    (true, true) => false,
                    (true, false) | (false, true) => true,
                    _ => compare(&a, &b) != Ordering::Equal,
                };
                Value::Bool(distinct != *negated)
            }
            Expr::Case { whens, else_ } => {
                for (cond, result) in whens {
                    if truth(&cond.eval(row, ctx)?) == Some(true) {
                        return result.eval(row, ctx);
                    }
                }
                else_.eval(row, ctx)?
            }
            Expr::Coalesce(args) => {
                for a in args {
                    let v = a.eval(row, ctx)?;
                    if !v.is_null() {
                        return Ok(v);
                    }
                }
                Value::Null
            }
            Expr::NullIf(a, b) => {
                let x = a.eval(row, ctx)?;
                let y = b.eval(row, ctx)?;
                if !x.is_null() && !y.is_null() && compare(&x, &y) == Ordering::Equal {
                    Value::Null
                } else {
                    x
                }
            }
            Expr::MinMax(args, greatest) => {
                let mut best = Value::Null;
                for a in args {
                    let v = a.eval(row, ctx)?;
                    if v.is_null() {
                        continue;
                    }
                    let better = best.is_null() || {
                        let o = compare(&v, &best);
                        if *greatest {
                            o == Ordering::Greater
                        } else {
                            o == Ordering::Less
                        }
                    };
                    if better {
                        best = v;
                    }
                }
                best
            }
            Expr::InList(arg, list, negated) => {
                let v = arg.eval(row, ctx)?;
                if v.is_null() {
                    return Ok(Value::Null);
                }
                let mut saw_null = false;
                for e in list {
                    let x = e.eval(row, ctx)?;
                    let equal = match (&v, &x) {
                        (_, Value::Null) => {
                            saw_null = true;
                            false
                        }
                        (Value::Record(a), Value::Record(b)) => {
                            crate::bind::record_cmp(CmpOp::Eq, a, b)?
                        }
                        _ => compare(&v, &x) == Ordering::Equal,
                    };
                    if equal {
                        return Ok(Value::Bool(!negated));
                    }
                }
                if saw_null {
                    Value::Null
                } else {
                    Value::Bool(*negated)
                }
            }
            Expr::Like {
                arg,
                pattern,
                escape,
                case_insensitive,
                negated,
            } => {
                let a = arg.eval(row, ctx)?;
                let p = pattern.eval(row, ctx)?;
                let (Some(mut a), Some(mut p)) = (to_text(&a), to_text(&p)) else {
                    return Ok(Value::Null);
                };
                if *case_insensitive {
                    a = a.to_lowercase();
                    p = p.to_lowercase();
                }
                let toks = like_compile(&p, *escape)?;
                let chars: Vec<char> = a.chars().collect();
                Value::Bool(like_match(&chars, &toks) != *negated)
            }
            Expr::Func(f, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(a.eval(row, ctx)?);
                }
                func::call(*f, vals, ctx)?
            }
            Expr::Outer { .. } => {
                return Err(PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    "outer reference evaluated outside its subquery",
                ))
            }
            Expr::SubLink(s) => crate::exec::eval_sublink(s, row, ctx)?,
            Expr::Array(op, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(a.eval(row, ctx)?);
                }
                crate::arrays::eval(op, vals)?
            }
            Expr::DateTime(op, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(a.eval(row, ctx)?);
                }
                crate::dtops::eval(op, vals, ctx.host.now())?
            }
            Expr::Json(op, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(a.eval(row, ctx)?);
                }
                crate::json::eval(*op, vals)?
            }
            Expr::JsonRecord(call, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(a.eval(row, ctx)?);
                }
                call.eval(vals, ctx)?
            }
            Expr::Domain(arg, c) => {
                let v = arg.eval(row, ctx)?;
                c.apply(&v, ctx)?;
                v
            }
            Expr::UserFunc(def, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(a.eval(row, ctx)?);
                }
                crate::routine::call_scalar(ctx.host, def, vals)?
            }
        })
    }
}

/// The implicit integer widenings (int2 → int4/int8, int4 → int8) that
/// the binder inserts wherever integer types meet: exact, never failing,
/// so answered without the general cast's type-table checks.
#[inline]
fn widen_int(v: &Value, from: Oid, to: Ty) -> Option<Value> {
    if to.typmod >= 0 {
        return None;
    }
    Some(match (v, from, to.oid) {
        (Value::Int4(i), types::INT4, types::INT8) => Value::Int8(*i as i64),
        (Value::Int2(i), types::INT2, types::INT8) => Value::Int8(*i as i64),
        (Value::Int2(i), types::INT2, types::INT4) => Value::Int4(*i as i32),
        _ => return None,
    })
}

/// The type OID a value's variant stands for, when it is unambiguous
/// (text-like variants and NULL are not).
pub(crate) fn value_oid(v: &Value) -> Option<Oid> {
    Some(match v {
        Value::Bool(_) => types::BOOL,
        Value::Int2(_) => types::INT2,
        Value::Int4(_) => types::INT4,
        Value::Int8(_) => types::INT8,
        Value::Float4(_) => types::FLOAT4,
        Value::Float8(_) => types::FLOAT8,
        Value::Numeric(_) => types::NUMERIC,
        Value::Name(_) => types::NAME,
        Value::Char(_) => types::CHAR,
        Value::Bytea(_) => types::BYTEA,
        Value::Oid(_) | Value::Reg(..) => types::OID,
        Value::TimestampTz(_) => types::TIMESTAMPTZ,
        Value::Timestamp(_) => types::TIMESTAMP,
        Value::Date(_) => types::DATE,
        Value::Inet(_) => types::INET,
        Value::Void => types::VOID,
        Value::Lsn(_) => types::PG_LSN,
        Value::Xid8(_) => types::XID8,
        Value::Record(_) => types::RECORD,
        Value::Text(_) => types::TEXT,
        Value::Array(a) => return types::array::array_type(a.elem),
        Value::Interval(_) => types::INTERVAL,
        Value::Time(_) => types::TIME,
        Value::TimeTz(_) => types::TIMETZ,
        Value::Json(_) => types::JSON,
        Value::Jsonb(_) => types::JSONB,
        Value::Enum(e) => e.typ,
        Value::Uuid(_) => types::UUID,
        Value::Money(_) => types::MONEY,
        Value::Bits(_) => types::VARBIT,
        Value::Geo(g) => g.oid(),
        Value::Range(r) => r.ty,
        Value::Multirange(m) => m.ty,
        Value::Null => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(s: &str, p: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        like_match(&chars, &like_compile(p, Some('\\')).unwrap())
    }

    #[test]
    fn like_patterns() {
        assert!(like("hello", "h%o"));
        assert!(like("hello", "_ello"));
        assert!(like("hello", "%"));
        assert!(like("", "%"));
        assert!(!like("hello", "h_o"));
        assert!(like("50%", "50\\%"));
        assert!(!like("500", "50\\%"));
        assert!(like("aaa", "%a%a%a%"));
        assert!(!like("aa", "%a%a%a%"));
        assert!(like("mississippi", "%iss%pi"));
        assert!(like_compile("x\\", Some('\\')).is_err());
    }
}
