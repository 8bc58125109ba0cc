//! The session's plan cache for the simple protocol: a statement sent again with other
//! literal values runs the plan bound for the first one, its literals as parameters.
//!
//! Why: pgbench, ORMs without prepared statements and most hand-written applications send
//! the same SELECT/INSERT/UPDATE/DELETE over and over through the simple protocol with only
//! its constants changed. With the parse cache (parsecache.rs) the text is no longer parsed
//! again, but binding it (name look-ups, type resolution, privilege checks, planning) was
//! still a fifth of a select-only backend's CPU — the extended protocol's prepared
//! statements bind once, which is why `pgbench -M prepared` was faster than `-M simple`.
//!
//! How: the first time a text of some shape (parsecache's masked key) binds, it is bound a
//! second time with each literal replaced by a parameter — typed as the literal would be
//! (a number as int4, int8 or numeric by its value, a string left for the context to
//! decide, exactly as an unknown-typed literal) — and the two plans are compared with the
//! parameters put back as constants. Only when they are the same plan is the parameterised
//! one kept: whatever the binder does with a literal's *value* (an ORDER BY position, a
//! LIMIT folded into the plan, a constant folded into a cast) makes them differ, and the
//! shape is remembered as not cacheable. A later text of the same shape whose numbers are
//! of the same classes runs the kept plan with its literals converted by the parameters'
//! input functions, as a Bind message's text values are; any value that does not convert
//! takes the ordinary path, which reports the error as it always did.
//!
//! A plan is only as good as what it was bound against, so an entry holds the catalog's
//! plan generation ([`crate::Host::plan_generation`]: none while this transaction changed
//! the catalog itself), the session's settings generation and the user; any difference is
//! a miss. Plans that read something at binding time that is not in the catalog (system
//! views' rows, a cursor's position) are never kept. Called by the backend process for
//! each simple Query message ([`crate::parse_simple`], [`crate::remember_plan`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::rc::Rc;

use sqlparser::ast::{self, Value as AstValue, ValueWithSpan, VisitMut, VisitorMut};
use tusk_types::{types, Oid, Value};

use crate::expr::Expr;
use crate::parse::Parsed;
use crate::parsecache::Masked;
use crate::{Host, Plan, Prepared, Statement};

/// Shapes per session; a session with more starts over.
const CAPACITY: usize = 256;

/// What a number literal binds as (crate::bind's `number`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Int4,
    Int8,
    Numeric,
    /// A string: unknown-typed, the context decides.
    Str,
}

impl Class {
    fn of(number: bool, text: &str) -> Class {
        if !number {
            return Class::Str;
        }
        if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            if text.parse::<i32>().is_ok() {
                return Class::Int4;
            }
            if text.parse::<i64>().is_ok() {
                return Class::Int8;
            }
        }
        Class::Numeric
    }

    /// The type the parameter standing for the literal is declared with (0: inferred).
    fn declared(self) -> Oid {
        match self {
            Class::Int4 => types::INT4,
            Class::Int8 => types::INT8,
            Class::Numeric => types::NUMERIC,
            Class::Str => 0,
        }
    }
}

/// What the plan was bound against.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    generation: u64,
    settings: u64,
    user: String,
}

enum Entry {
    Plan {
        prepared: Rc<Prepared>,
        stamp: Stamp,
        /// Per literal in text order: its class, and whether a minus sign before it was
        /// taken into the value (`-5` binds as the constant -5, not as `-(5)`).
        classes: Vec<Class>,
        negated: Vec<bool>,
    },
    /// Bound with this stamp and found not cacheable: not tried again until it changes.
    Never(Stamp),
}

thread_local! {
    static PLANS: RefCell<HashMap<String, Entry>> = RefCell::new(HashMap::new());
}

fn stamp(host: &dyn Host, settings: u64) -> Option<Stamp> {
    Some(Stamp {
        generation: host.plan_generation()?,
        settings,
        user: host.identity().user.clone(),
    })
}

/// Whether what `s` was bound against is still so; compared field by field, since
/// building a [`Stamp`] copies the user name (this runs for every statement).
fn current(s: &Stamp, host: &dyn Host, settings: u64) -> bool {
    host.plan_generation() == Some(s.generation)
        && s.settings == settings
        && host.identity().user == s.user
}

/// A literal's text as the parameter's value: with its minus sign, or a string's value.
fn value_text(number: bool, text: &str, negated: bool) -> std::borrow::Cow<'_, str> {
    if number && negated {
        format!("-{text}").into()
    } else {
        text.into()
    }
}

/// The parameter values for a text of a cached shape, or None when one does not convert
/// as the literal would (the ordinary path then binds the text and reports the error).
fn values(
    m: &Masked,
    prepared: &Prepared,
    classes: &[Class],
    negated: &[bool],
) -> Option<Vec<Value>> {
    let types_ = prepared.param_types();
    let mut out = Vec::with_capacity(classes.len());
    for (i, (number, text)) in m.literals().enumerate() {
        let t = value_text(number, text, *negated.get(i)?);
        if Class::of(number, &t) != *classes.get(i)? {
            return None;
        }
        let oid = *types_.get(i)?;
        // 'now', 'today', 'epoch' and zone names are read at the statement's time as a
        // literal is; leave those to the ordinary path.
        if !number && is_datetime(oid) && t.bytes().any(|b| b.is_ascii_alphabetic()) {
            return None;
        }
        out.push(tusk_types::value::decode_bind_param(i + 1, oid, 0, t.as_bytes()).ok()?);
    }
    (out.len() == classes.len()).then_some(out)
}

fn is_datetime(oid: Oid) -> bool {
    matches!(
        oid,
        types::DATE
            | types::TIME
            | types::TIMETZ
            | types::TIMESTAMP
            | types::TIMESTAMPTZ
            | types::INTERVAL
    )
}

/// The cached plan for this text and its parameter values, when the session holds a
/// valid one (backend process, before parsing a simple Query).
pub(crate) fn lookup(
    m: &Masked,
    host: &dyn Host,
    settings: u64,
) -> Option<(Rc<Prepared>, Vec<Value>)> {
    PLANS.with(|c| {
        let c = c.borrow();
        let Entry::Plan {
            prepared,
            stamp: s,
            classes,
            negated,
        } = c.get(m.key())?
        else {
            return None;
        };
        if !current(s, host, settings) {
            return None;
        }
        let params = values(m, prepared, classes, negated)?;
        Some((prepared.clone(), params))
    })
}

/// Learns the shape of `stmt`, just bound to `bound` from its literals (see the module
/// comment). Backend process, after a simple Query's statement bound without error.
pub(crate) fn remember(stmt: &Statement, bound: &Prepared, host: &dyn Host, settings: u64) {
    let Some(m) = &stmt.masked else {
        return;
    };
    let known = PLANS.with(|c| match c.borrow().get(m.key()) {
        Some(Entry::Never(s)) => current(s, host, settings),
        _ => false,
    });
    if known {
        return;
    }
    let Some(stamp) = stamp(host, settings) else {
        return;
    };
    let entry = match parameterised(stmt, m, bound, host) {
        Some((prepared, classes, negated)) => Entry::Plan {
            prepared: Rc::new(prepared),
            stamp,
            classes,
            negated,
        },
        None => Entry::Never(stamp),
    };
    PLANS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CAPACITY {
            c.clear();
        }
        c.insert(m.key().to_string(), entry);
    });
}

/// `stmt` bound with its literals as parameters, when that is the plan `bound` is.
fn parameterised(
    stmt: &Statement,
    m: &Masked,
    bound: &Prepared,
    host: &dyn Host,
) -> Option<(Prepared, Vec<Class>, Vec<bool>)> {
    let Parsed::Ast(tree) = &stmt.parsed else {
        return None;
    };
    if !matches!(bound.plan, Plan::Select(_) | Plan::Modify(_))
        || !bound.param_types.is_empty()
        || !bound.dml_ctes.is_empty()
        || m.literals().next().is_none()
        || stmt.sql.to_ascii_lowercase().contains("current of")
    {
        return None;
    }
    let literal_plan = format!("{:?}", bound.plan);
    // A system view's rows or a snapshot of some state taken at binding would be kept
    // with the plan.
    if literal_plan.contains("SystemView") || literal_plan.contains("Rows(") {
        return None;
    }
    let n = m.literals().count();
    let mut tree = (**tree).clone();
    let mut swap = Swap {
        m,
        negated: vec![false; n],
        done: vec![false; n],
    };
    if VisitMut::visit(&mut tree, &mut swap).is_break() || swap.done.iter().any(|d| !d) {
        return None;
    }
    let negated = swap.negated;
    let classes: Vec<Class> = m
        .literals()
        .zip(&negated)
        .map(|((number, text), &neg)| Class::of(number, &value_text(number, text, neg)))
        .collect();
    let declared: Vec<Oid> = classes.iter().map(|c| c.declared()).collect();
    let with_params = Statement {
        parsed: Parsed::Ast(Box::new(tree)),
        sql: stmt.sql.clone(),
        src: stmt.src.clone(),
        start: stmt.start,
        masked: None,
    };
    let p = crate::prepare(&with_params, &declared, host).ok()?;
    if p.param_types.len() != n
        || p.columns != bound.columns
        || p.command != bound.command
        || !p.dml_ctes.is_empty()
    {
        return None;
    }
    let vals = values(m, &p, &classes, &negated)?;
    (instantiate(&format!("{:?}", p.plan), &vals)? == literal_plan).then_some((p, classes, negated))
}

/// Replaces each literal of the tree by the parameter of its number (`$1` for the first
/// in text order), a negative number's minus sign with it.
struct Swap<'a> {
    m: &'a Masked,
    negated: Vec<bool>,
    done: Vec<bool>,
}

impl Swap<'_> {
    fn param(&mut self, v: &ValueWithSpan) -> Option<ast::Expr> {
        let i = self.m.literal_at(v.span.start.line, v.span.start.column)?;
        if std::mem::replace(&mut self.done[i], true) {
            return None;
        }
        Some(ast::Expr::Value(ValueWithSpan {
            value: AstValue::Placeholder(format!("${}", i + 1)),
            span: v.span,
        }))
    }
}

impl VisitorMut for Swap<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        let (v, negated) = match e {
            ast::Expr::UnaryOp {
                op: ast::UnaryOperator::Minus,
                expr,
            } => match expr.as_ref() {
                ast::Expr::Value(v) if matches!(v.value, AstValue::Number(..)) => (v.clone(), true),
                _ => return ControlFlow::Continue(()),
            },
            ast::Expr::Value(v)
                if matches!(
                    v.value,
                    AstValue::Number(..) | AstValue::SingleQuotedString(_)
                ) =>
            {
                (v.clone(), false)
            }
            _ => return ControlFlow::Continue(()),
        };
        let Some(p) = self.param(&v) else {
            return ControlFlow::Break(());
        };
        if negated {
            if let Some(i) = self.m.literal_at(v.span.start.line, v.span.start.column) {
                self.negated[i] = true;
            }
        }
        *e = p;
        ControlFlow::Continue(())
    }

    fn pre_visit_value(&mut self, v: &mut ValueWithSpan) -> ControlFlow<()> {
        // A literal somewhere other than an expression (a typed string's, an option's)
        // cannot be a parameter.
        match v.value {
            AstValue::Number(..) | AstValue::SingleQuotedString(_) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    }
}

/// A plan's Debug text with each `Param(i, ty)` replaced by `Const(value i)`: what the
/// plan bound from the literals must print as.
fn instantiate(text: &str, vals: &[Value]) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("Param(") {
        let before = &rest[..at];
        out.push_str(before);
        let glued = before
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let after = &rest[at + "Param(".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if glued || digits == 0 || !after[digits..].starts_with(", ") {
            out.push_str("Param(");
            rest = after;
            continue;
        }
        let i: usize = after[..digits].parse().ok()?;
        let mut depth = 1;
        let mut end = None;
        for (j, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(j);
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push_str(&format!("{:?}", Expr::Const(vals.get(i)?.clone())));
        rest = &after[end? + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_binder() {
        assert_eq!(Class::of(true, "5"), Class::Int4);
        assert_eq!(Class::of(true, "-2147483648"), Class::Int4);
        assert_eq!(Class::of(true, "2147483648"), Class::Int8);
        assert_eq!(Class::of(true, "99999999999999999999"), Class::Numeric);
        assert_eq!(Class::of(true, "1.5"), Class::Numeric);
        assert_eq!(Class::of(false, "5"), Class::Str);
    }

    #[test]
    fn instantiate_puts_constants_for_parameters() {
        let p = format!(
            "Cmp(Eq, Column(0), {:?}) And {:?}",
            Expr::Param(0, tusk_types::types::Ty::new(types::INT4)),
            Expr::Param(1, tusk_types::types::Ty::new(types::TEXT))
        );
        let vals = [Value::Int4(7), Value::Text("a(b".into())];
        let want = format!(
            "Cmp(Eq, Column(0), {:?}) And {:?}",
            Expr::Const(Value::Int4(7)),
            Expr::Const(Value::Text("a(b".into()))
        );
        assert_eq!(instantiate(&p, &vals).as_deref(), Some(want.as_str()));
        // Another variant whose name ends in Param is left alone.
        assert_eq!(
            instantiate("OuterParam(0, x)", &vals).as_deref(),
            Some("OuterParam(0, x)")
        );
        assert_eq!(instantiate("Param(5, x)", &vals), None);
    }
}
