//! The compiled form of PL/pgSQL's simple expressions (plfast.rs) gives
//! exactly what the general evaluator gives: values, NULLs and errors.
//!
//! Why compare with the general evaluator rather than fixed answers: it
//! is the reference the compiled form must never drift from; PostgreSQL
//! 15's own answers for the same expressions are in the e2e test
//! plpgsql_more.sql.

use super::FakeHost;
use crate::expr::Ctx;
use crate::plfast::Fast;
use crate::types::{self, Oid};
use crate::value::Value;

/// The bound expression of `SELECT <expr>` with these parameter types.
fn bound(expr: &str, tys: &[Oid]) -> crate::expr::Expr {
    let h = FakeHost::new();
    let stmts = crate::parse(&format!("SELECT {expr}")).expect("parse");
    let p = crate::prepare(&stmts[0], tys, &h).expect("prepare");
    let mut exprs = crate::plfast::simple_exprs(&p).expect("a simple expression");
    assert_eq!(exprs.len(), 1, "{expr}");
    exprs.remove(0)
}

fn outcome(r: Result<Value, tusk_common::PgError>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("ERROR {} {}", e.code.as_str(), e.message),
    }
}

/// An expression, its parameter types, the evaluator it must compile
/// to, and the parameter values to try it with.
type Case = (&'static str, Vec<Oid>, &'static str, Vec<Vec<Value>>);

#[test]
fn compiled_expressions_agree_with_the_general_evaluator() {
    use types::{BOOL, INT2, INT4, INT8};
    let i4 = |v: i32| Value::Int4(v);
    let i8 = |v: i64| Value::Int8(v);
    let cases: Vec<Case> = vec![
        (
            "$1 + $2 % 7 * 2 - 1",
            vec![INT8, INT4],
            "int",
            vec![
                vec![i8(0), i4(5)],
                vec![i8(i64::MAX), i4(1)],
                vec![i8(i64::MIN), i4(0)],
                vec![Value::Null, i4(3)],
                vec![i8(1), Value::Null],
            ],
        ),
        (
            "$1 / $2",
            vec![INT4, INT4],
            "int",
            vec![
                vec![i4(7), i4(2)],
                vec![i4(-7), i4(2)],
                vec![i4(1), i4(0)],
                vec![Value::Null, i4(0)],
                vec![i4(i32::MIN), i4(-1)],
            ],
        ),
        (
            "$1 % $2",
            vec![INT8, INT8],
            "int",
            vec![
                vec![i8(7), i8(-3)],
                vec![i8(i64::MIN), i8(-1)],
                vec![i8(5), i8(0)],
            ],
        ),
        (
            "$1 * $1 * $1",
            vec![INT4],
            "int",
            vec![vec![i4(1290)], vec![i4(1291)], vec![i4(-1291)]],
        ),
        (
            "-$1",
            vec![INT2],
            "int",
            vec![vec![Value::Int2(i16::MIN)], vec![Value::Int2(5)]],
        ),
        (
            "$1::int4 + 1",
            vec![INT8],
            "int",
            vec![vec![i8(3_000_000_000)], vec![i8(41)], vec![Value::Null]],
        ),
        (
            "$1 + 1::int2",
            vec![INT2],
            "int",
            vec![vec![Value::Int2(i16::MAX)], vec![Value::Int2(1)]],
        ),
        (
            "$1 < $2 AND ($2 <> 5 OR $1 IS NULL)",
            vec![INT4, INT4],
            "bool",
            vec![
                vec![i4(1), i4(2)],
                vec![i4(1), i4(5)],
                vec![Value::Null, i4(5)],
                vec![Value::Null, Value::Null],
                vec![i4(9), i4(2)],
            ],
        ),
        (
            "NOT ($1 >= $2::int8)",
            vec![INT8, INT4],
            "bool",
            vec![
                vec![i8(1), i4(2)],
                vec![i8(2), i4(2)],
                vec![Value::Null, i4(2)],
            ],
        ),
        (
            "$1 OR $2 > 0",
            vec![BOOL, INT4],
            "bool",
            vec![
                vec![Value::Bool(false), i4(1)],
                vec![Value::Null, i4(0)],
                vec![Value::Bool(true), Value::Null],
            ],
        ),
        // Not integer or boolean: the general evaluator, unchanged.
        (
            "$1 || 'x'",
            vec![types::TEXT],
            "general",
            vec![vec![Value::Text("a".into())]],
        ),
        // A parameter passed as a wider type than it was bound as goes
        // through the general path's conversion.
        (
            "$1 + 1",
            vec![INT4],
            "int",
            vec![vec![i8(5)], vec![i8(1 << 40)], vec![Value::Int2(3)]],
        ),
    ];
    let mut h = FakeHost::new();
    for (expr, tys, kind, sets) in cases {
        let e = bound(expr, &tys);
        let fast = Fast::compile(&e);
        assert_eq!(fast.kind(), kind, "{expr}");
        for params in sets {
            let general = outcome(e.eval(
                &[],
                &mut Ctx {
                    host: &mut h,
                    params: &params,
                },
            ));
            let compiled = outcome(fast.eval(&params, &mut h));
            assert_eq!(compiled, general, "{expr} with {params:?}");
        }
    }
}

#[test]
fn a_deep_expression_is_left_to_the_general_evaluator() {
    // A right-deep chain needs a value per level on the compiled form's
    // fixed stack; past it the general evaluator (which grows its stack)
    // runs it.
    let mut expr = "$1".to_string();
    for _ in 0..40 {
        expr = format!("$1 - ({expr})");
    }
    let e = bound(&expr, &[types::INT4]);
    let fast = Fast::compile(&e);
    assert_eq!(fast.kind(), "general");
    let mut h = FakeHost::new();
    let params = [Value::Int4(3)];
    assert_eq!(
        outcome(fast.eval(&params, &mut h)),
        outcome(e.eval(
            &[],
            &mut Ctx {
                host: &mut h,
                params: &params
            }
        ))
    );
}
