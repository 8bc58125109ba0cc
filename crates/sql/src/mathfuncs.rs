//! Math built-ins: PostgreSQL 15's overloads of sign, ceil, floor, mod,
//! div, power, sqrt, cbrt, exp, ln, log, log10, gcd, lcm, factorial,
//! scale, min_scale, trim_scale, width_bucket, degrees, radians, pi and
//! the trigonometric and hyperbolic functions.
//!
//! Why a table of its own: the signatures are data the binder resolves
//! overloads from (func.rs chains this table after its own), so that
//! `power(2, 3)` picks float8 and `power(2.0, 3)` numeric as PostgreSQL
//! does; the numeric algorithms live next to the type
//! (tusk_types::numeric, numeric_math.rs). float8 results go through the
//! C library's functions (Rust's f64 methods call libm), as PostgreSQL's
//! do, and the degree-based functions use PostgreSQL's exactness tricks
//! so that sind(30) is exactly 0.5. Pure functions: any backend may call
//! them.

use tusk_common::sqlstate::{self, SqlState};
use tusk_common::PgError;

use crate::cast::float_overflow;
use crate::func::{Args, Func, Signature};
use crate::numeric::Numeric;
use crate::types::{FLOAT8, INT2, INT4, INT8, NUMERIC};
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MathFn {
    Sign,
    Ceil,
    Floor,
    Mod,
    Div,
    Power,
    Sqrt,
    Cbrt,
    Exp,
    Ln,
    Log10,
    Log2Args,
    Gcd,
    Lcm,
    Factorial,
    Scale,
    MinScale,
    TrimScale,
    WidthBucket,
    Degrees,
    Radians,
    Pi,
    Sin,
    Cos,
    Tan,
    Cot,
    Asin,
    Acos,
    Atan,
    Atan2,
    Sind,
    Cosd,
    Tand,
    Cotd,
    Asind,
    Acosd,
    Atand,
    Atan2d,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
}

const fn s(name: &'static str, args: &'static [u32], ret: u32, f: MathFn) -> Signature {
    Signature {
        name,
        args: Args::Fixed(args),
        ret: Some(ret),
        func: Func::Math(f),
    }
}

use MathFn as M;

/// The math functions' signatures (PostgreSQL 15's pg_proc rows).
pub(crate) static SIGNATURES: &[Signature] = &[
    s("sign", &[FLOAT8], FLOAT8, M::Sign),
    s("sign", &[NUMERIC], NUMERIC, M::Sign),
    s("ceil", &[FLOAT8], FLOAT8, M::Ceil),
    s("ceil", &[NUMERIC], NUMERIC, M::Ceil),
    s("ceiling", &[FLOAT8], FLOAT8, M::Ceil),
    s("ceiling", &[NUMERIC], NUMERIC, M::Ceil),
    s("floor", &[FLOAT8], FLOAT8, M::Floor),
    s("floor", &[NUMERIC], NUMERIC, M::Floor),
    s("mod", &[INT2, INT2], INT2, M::Mod),
    s("mod", &[INT4, INT4], INT4, M::Mod),
    s("mod", &[INT8, INT8], INT8, M::Mod),
    s("mod", &[NUMERIC, NUMERIC], NUMERIC, M::Mod),
    s("div", &[NUMERIC, NUMERIC], NUMERIC, M::Div),
    s("power", &[FLOAT8, FLOAT8], FLOAT8, M::Power),
    s("power", &[NUMERIC, NUMERIC], NUMERIC, M::Power),
    s("pow", &[FLOAT8, FLOAT8], FLOAT8, M::Power),
    s("pow", &[NUMERIC, NUMERIC], NUMERIC, M::Power),
    s("sqrt", &[FLOAT8], FLOAT8, M::Sqrt),
    s("sqrt", &[NUMERIC], NUMERIC, M::Sqrt),
    s("cbrt", &[FLOAT8], FLOAT8, M::Cbrt),
    // The functions behind the |/ and ||/ operators: float8 only.
    s("dsqrt", &[FLOAT8], FLOAT8, M::Sqrt),
    s("dcbrt", &[FLOAT8], FLOAT8, M::Cbrt),
    s("exp", &[FLOAT8], FLOAT8, M::Exp),
    s("exp", &[NUMERIC], NUMERIC, M::Exp),
    s("ln", &[FLOAT8], FLOAT8, M::Ln),
    s("ln", &[NUMERIC], NUMERIC, M::Ln),
    s("log", &[FLOAT8], FLOAT8, M::Log10),
    s("log", &[NUMERIC], NUMERIC, M::Log10),
    s("log10", &[FLOAT8], FLOAT8, M::Log10),
    s("log10", &[NUMERIC], NUMERIC, M::Log10),
    s("log", &[NUMERIC, NUMERIC], NUMERIC, M::Log2Args),
    s("gcd", &[INT4, INT4], INT4, M::Gcd),
    s("gcd", &[INT8, INT8], INT8, M::Gcd),
    s("gcd", &[NUMERIC, NUMERIC], NUMERIC, M::Gcd),
    s("lcm", &[INT4, INT4], INT4, M::Lcm),
    s("lcm", &[INT8, INT8], INT8, M::Lcm),
    s("lcm", &[NUMERIC, NUMERIC], NUMERIC, M::Lcm),
    s("factorial", &[INT8], NUMERIC, M::Factorial),
    s("scale", &[NUMERIC], INT4, M::Scale),
    s("min_scale", &[NUMERIC], INT4, M::MinScale),
    s("trim_scale", &[NUMERIC], NUMERIC, M::TrimScale),
    s(
        "width_bucket",
        &[FLOAT8, FLOAT8, FLOAT8, INT4],
        INT4,
        M::WidthBucket,
    ),
    s(
        "width_bucket",
        &[NUMERIC, NUMERIC, NUMERIC, INT4],
        INT4,
        M::WidthBucket,
    ),
    s("degrees", &[FLOAT8], FLOAT8, M::Degrees),
    s("radians", &[FLOAT8], FLOAT8, M::Radians),
    s("pi", &[], FLOAT8, M::Pi),
    s("sin", &[FLOAT8], FLOAT8, M::Sin),
    s("cos", &[FLOAT8], FLOAT8, M::Cos),
    s("tan", &[FLOAT8], FLOAT8, M::Tan),
    s("cot", &[FLOAT8], FLOAT8, M::Cot),
    s("asin", &[FLOAT8], FLOAT8, M::Asin),
    s("acos", &[FLOAT8], FLOAT8, M::Acos),
    s("atan", &[FLOAT8], FLOAT8, M::Atan),
    s("atan2", &[FLOAT8, FLOAT8], FLOAT8, M::Atan2),
    s("sind", &[FLOAT8], FLOAT8, M::Sind),
    s("cosd", &[FLOAT8], FLOAT8, M::Cosd),
    s("tand", &[FLOAT8], FLOAT8, M::Tand),
    s("cotd", &[FLOAT8], FLOAT8, M::Cotd),
    s("asind", &[FLOAT8], FLOAT8, M::Asind),
    s("acosd", &[FLOAT8], FLOAT8, M::Acosd),
    s("atand", &[FLOAT8], FLOAT8, M::Atand),
    s("atan2d", &[FLOAT8, FLOAT8], FLOAT8, M::Atan2d),
    s("sinh", &[FLOAT8], FLOAT8, M::Sinh),
    s("cosh", &[FLOAT8], FLOAT8, M::Cosh),
    s("tanh", &[FLOAT8], FLOAT8, M::Tanh),
    s("asinh", &[FLOAT8], FLOAT8, M::Asinh),
    s("acosh", &[FLOAT8], FLOAT8, M::Acosh),
    s("atanh", &[FLOAT8], FLOAT8, M::Atanh),
];

const INVALID_ARGUMENT_FOR_LOG: SqlState = SqlState::new("2201E");
const INVALID_ARGUMENT_FOR_WIDTH_BUCKET: SqlState = SqlState::new("2201G");

fn out_of_range() -> PgError {
    PgError::error(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        "input is out of range",
    )
}

fn underflow() -> PgError {
    PgError::error(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        "value out of range: underflow",
    )
}

fn int_range() -> PgError {
    PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range")
}

fn bigint_range() -> PgError {
    PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "bigint out of range")
}

/// An overflowed result (finite input, infinite output) is an error.
fn checked(r: f64, a: f64) -> Result<f64, PgError> {
    if r.is_infinite() && a.is_finite() {
        return Err(float_overflow());
    }
    Ok(r)
}

const RADIANS_PER_DEGREE: f64 = 0.017_453_292_519_943_295;

// PostgreSQL computes the degree functions from exact anchors (sin 30,
// 1 - cos 60, asin 0.5, ...) so that round angles give exact results.
fn sind_0_to_30(x: f64) -> f64 {
    let sin_30 = (30.0 * RADIANS_PER_DEGREE).sin();
    ((x * RADIANS_PER_DEGREE).sin() / sin_30) / 2.0
}

fn cosd_0_to_60(x: f64) -> f64 {
    let one_minus_cos_60 = 1.0 - (60.0 * RADIANS_PER_DEGREE).cos();
    1.0 - ((1.0 - (x * RADIANS_PER_DEGREE).cos()) / one_minus_cos_60) / 2.0
}

fn sind_q1(x: f64) -> f64 {
    if x <= 30.0 {
        sind_0_to_30(x)
    } else {
        cosd_0_to_60(90.0 - x)
    }
}

fn cosd_q1(x: f64) -> f64 {
    if x <= 60.0 {
        cosd_0_to_60(x)
    } else {
        sind_0_to_30(90.0 - x)
    }
}

fn asind_q1(x: f64) -> f64 {
    let asin_0_5 = 0.5f64.asin();
    let acos_0_5 = 0.5f64.acos();
    if x <= 0.5 {
        (x.asin() / asin_0_5) * 30.0
    } else {
        90.0 - (x.acos() / acos_0_5) * 60.0
    }
}

fn acosd_q1(x: f64) -> f64 {
    let asin_0_5 = 0.5f64.asin();
    let acos_0_5 = 0.5f64.acos();
    if x <= 0.5 {
        90.0 - (x.asin() / asin_0_5) * 30.0
    } else {
        (x.acos() / acos_0_5) * 60.0
    }
}

/// The degree functions of one argument.
fn degree_fn(f: MathFn, a: f64) -> Result<f64, PgError> {
    if a.is_nan() {
        return Ok(a);
    }
    match f {
        M::Asind | M::Acosd => {
            if !(-1.0..=1.0).contains(&a) {
                return Err(out_of_range());
            }
            return Ok(match (f, a >= 0.0) {
                (M::Asind, true) => asind_q1(a),
                (M::Asind, false) => -asind_q1(-a),
                (_, true) => acosd_q1(a),
                (_, false) => 90.0 + asind_q1(-a),
            });
        }
        M::Atand => return Ok((a.atan() / 1.0f64.atan()) * 45.0),
        _ => {}
    }
    if a.is_infinite() {
        return Err(out_of_range());
    }
    let mut x = a % 360.0;
    let mut sign = 1.0;
    match f {
        M::Sind => {
            if x < 0.0 {
                x = -x;
                sign = -sign;
            }
            if x > 180.0 {
                x = 360.0 - x;
                sign = -sign;
            }
            if x > 90.0 {
                x = 180.0 - x;
            }
            Ok(sign * sind_q1(x))
        }
        M::Cosd => {
            if x < 0.0 {
                x = -x;
            }
            if x > 180.0 {
                x = 360.0 - x;
            }
            if x > 90.0 {
                x = 180.0 - x;
                sign = -sign;
            }
            Ok(sign * cosd_q1(x))
        }
        _ => {
            // tand and cotd.
            if x < 0.0 {
                x = -x;
                sign = -sign;
            }
            if x > 180.0 {
                x = 360.0 - x;
                sign = -sign;
            }
            if x > 90.0 {
                x = 180.0 - x;
                sign = -sign;
            }
            let r = if f == M::Tand {
                let tan_45 = sind_q1(45.0) / cosd_q1(45.0);
                sign * ((sind_q1(x) / cosd_q1(x)) / tan_45)
            } else {
                let cot_45 = cosd_q1(45.0) / sind_q1(45.0);
                sign * ((cosd_q1(x) / sind_q1(x)) / cot_45)
            };
            // No minus zero, as PostgreSQL.
            Ok(if r == 0.0 { 0.0 } else { r })
        }
    }
}

fn float_fn(f: MathFn, a: f64, b: f64) -> Result<f64, PgError> {
    Ok(match f {
        M::Sign => {
            if a > 0.0 {
                1.0
            } else if a < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        M::Ceil => a.ceil(),
        M::Floor => a.floor(),
        M::Power => dpow(a, b)?,
        M::Sqrt => {
            if a < 0.0 {
                return Err(PgError::error(
                    sqlstate::INVALID_ARGUMENT_FOR_POWER_FUNCTION,
                    "cannot take square root of a negative number",
                ));
            }
            a.sqrt()
        }
        M::Cbrt => a.cbrt(),
        M::Exp => {
            if a.is_nan() {
                a
            } else if a.is_infinite() {
                if a > 0.0 {
                    a
                } else {
                    0.0
                }
            } else {
                let r = a.exp();
                if r.is_infinite() {
                    return Err(float_overflow());
                }
                if r == 0.0 {
                    return Err(underflow());
                }
                r
            }
        }
        M::Ln | M::Log10 => {
            if a == 0.0 {
                return Err(PgError::error(
                    INVALID_ARGUMENT_FOR_LOG,
                    "cannot take logarithm of zero",
                ));
            }
            if a < 0.0 {
                return Err(PgError::error(
                    INVALID_ARGUMENT_FOR_LOG,
                    "cannot take logarithm of a negative number",
                ));
            }
            let r = if f == M::Ln { a.ln() } else { a.log10() };
            checked(r, a)?
        }
        M::Degrees => checked(a / RADIANS_PER_DEGREE, a)?,
        M::Radians => {
            let r = a * RADIANS_PER_DEGREE;
            if r == 0.0 && a != 0.0 {
                return Err(underflow());
            }
            checked(r, a)?
        }
        M::Pi => std::f64::consts::PI,
        M::Sin | M::Cos | M::Tan | M::Cot => {
            if a.is_nan() {
                return Ok(a);
            }
            if a.is_infinite() {
                return Err(out_of_range());
            }
            match f {
                M::Sin => a.sin(),
                M::Cos => a.cos(),
                M::Tan => checked(a.tan(), a)?,
                _ => 1.0 / a.tan(),
            }
        }
        M::Asin | M::Acos => {
            if a.is_nan() {
                return Ok(a);
            }
            if !(-1.0..=1.0).contains(&a) {
                return Err(out_of_range());
            }
            if f == M::Asin {
                a.asin()
            } else {
                a.acos()
            }
        }
        M::Atan => a.atan(),
        M::Atan2 => a.atan2(b),
        M::Atan2d => {
            if a.is_nan() || b.is_nan() {
                return Ok(f64::NAN);
            }
            (a.atan2(b) / 1.0f64.atan()) * 45.0
        }
        M::Sind | M::Cosd | M::Tand | M::Cotd | M::Asind | M::Acosd | M::Atand => degree_fn(f, a)?,
        M::Sinh => a.sinh(),
        M::Cosh => a.cosh(),
        M::Tanh => a.tanh(),
        M::Asinh => a.asinh(),
        M::Acosh => {
            if a < 1.0 {
                return Err(out_of_range());
            }
            a.acosh()
        }
        M::Atanh => {
            if !(-1.0..=1.0).contains(&a) {
                return Err(out_of_range());
            }
            if a == 1.0 {
                f64::INFINITY
            } else if a == -1.0 {
                f64::NEG_INFINITY
            } else {
                a.atanh()
            }
        }
        M::WidthBucket => unreachable!("four arguments"),
        _ => f64::NAN,
    })
}

/// float8 `^` and power(): PostgreSQL's dpow, which gives POSIX pow's
/// answers for NaN and infinite operands and errors only for a finite
/// result out of range.
pub(crate) fn dpow(a: f64, b: f64) -> Result<f64, PgError> {
    if a.is_nan() {
        return Ok(if b.is_nan() || b != 0.0 {
            f64::NAN
        } else {
            1.0
        });
    }
    if b.is_nan() {
        return Ok(if a != 1.0 { f64::NAN } else { 1.0 });
    }
    if a == 0.0 && b < 0.0 {
        return Err(PgError::error(
            sqlstate::INVALID_ARGUMENT_FOR_POWER_FUNCTION,
            "zero raised to a negative power is undefined",
        ));
    }
    if a < 0.0 && b.floor() != b {
        return Err(PgError::error(
            sqlstate::INVALID_ARGUMENT_FOR_POWER_FUNCTION,
            "a negative number raised to a non-integer power yields a complex result",
        ));
    }
    if b.is_infinite() {
        let ax = a.abs();
        return Ok(if ax == 1.0 {
            1.0
        } else if b > 0.0 {
            if ax > 1.0 {
                b
            } else {
                0.0
            }
        } else if ax > 1.0 {
            0.0
        } else {
            -b
        });
    }
    if a.is_infinite() {
        if b == 0.0 {
            return Ok(1.0);
        }
        if a > 0.0 {
            return Ok(if b > 0.0 { a } else { 0.0 });
        }
        let half = b / 2.0;
        let odd = half.floor() != half;
        return Ok(if b > 0.0 {
            if odd {
                a
            } else {
                -a
            }
        } else if odd {
            -0.0
        } else {
            0.0
        });
    }
    let r = a.powf(b);
    if r.is_infinite() {
        return Err(float_overflow());
    }
    if r == 0.0 && a != 0.0 {
        return Err(underflow());
    }
    Ok(r)
}

fn float_width_bucket(op: f64, b1: f64, b2: f64, count: i32) -> Result<i32, PgError> {
    if count <= 0 {
        return Err(PgError::error(
            INVALID_ARGUMENT_FOR_WIDTH_BUCKET,
            "count must be greater than zero",
        ));
    }
    if op.is_nan() || b1.is_nan() || b2.is_nan() {
        return Err(PgError::error(
            INVALID_ARGUMENT_FOR_WIDTH_BUCKET,
            "operand, lower bound, and upper bound cannot be NaN",
        ));
    }
    if b1.is_infinite() || b2.is_infinite() {
        return Err(PgError::error(
            INVALID_ARGUMENT_FOR_WIDTH_BUCKET,
            "lower and upper bounds must be finite",
        ));
    }
    // PostgreSQL 15's arithmetic, overflow included: count * (op - low)
    // / (high - low) + 1 in float8, converted as C converts (an
    // out-of-range or NaN value becomes INT_MIN on x86-64).
    let c = count as f64;
    let frac = |num: f64, den: f64| {
        let d = c * num / den + 1.0;
        if d.is_nan() || !(-2147483648.0..2147483648.0).contains(&d) {
            i32::MIN
        } else {
            d as i32
        }
    };
    if b1 < b2 {
        if op < b1 {
            Ok(0)
        } else if op >= b2 {
            count.checked_add(1).ok_or_else(int_range)
        } else {
            Ok(frac(op - b1, b2 - b1))
        }
    } else if b1 > b2 {
        if op > b1 {
            Ok(0)
        } else if op <= b2 {
            count.checked_add(1).ok_or_else(int_range)
        } else {
            Ok(frac(b1 - op, b1 - b2))
        }
    } else {
        Err(PgError::error(
            INVALID_ARGUMENT_FOR_WIDTH_BUCKET,
            "lower bound cannot equal upper bound",
        ))
    }
}

fn num_fn(f: MathFn, a: &Numeric, b: Option<&Numeric>) -> Result<Value, PgError> {
    let b = || b.cloned().unwrap_or_else(Numeric::nan);
    Ok(Value::Numeric(match f {
        M::Sign => {
            if a.is_nan() {
                Numeric::nan()
            } else if a.is_zero() {
                Numeric::zero()
            } else {
                Numeric::from_i64(if a.is_negative() { -1 } else { 1 })
            }
        }
        M::Ceil | M::Floor => {
            let t = a.trunc(0);
            let up = f == M::Ceil;
            let c = a.cmp_total(&t);
            if a.is_finite()
                && ((up && c == std::cmp::Ordering::Greater)
                    || (!up && c == std::cmp::Ordering::Less))
            {
                t.add(&Numeric::from_i64(if up { 1 } else { -1 }))?
            } else {
                t
            }
        }
        M::Mod => a.rem(&b())?,
        M::Div => a.div_trunc(&b())?,
        M::Power => power(a, &b())?,
        M::Sqrt => a.sqrt()?,
        M::Exp => a.exp()?,
        M::Ln => a.ln()?,
        M::Log10 => a.log(&Numeric::from_i64(10))?,
        M::Log2Args => b().log(a)?,
        M::Gcd => a.gcd(&b())?,
        M::Lcm => a.lcm(&b())?,
        M::Scale => {
            return Ok(a.display_scale().map_or(Value::Null, Value::Int4));
        }
        M::MinScale => return Ok(a.min_scale().map_or(Value::Null, Value::Int4)),
        M::TrimScale => a.trim_scale(),
        _ => Numeric::nan(),
    }))
}

/// `power(numeric, numeric)`: the `^` operator's numeric algorithm.
fn power(a: &Numeric, b: &Numeric) -> Result<Numeric, PgError> {
    a.pow(b)
}

fn int_gcd(a: i64, b: i64) -> u64 {
    let (mut x, mut y) = (a.unsigned_abs(), b.unsigned_abs());
    while y != 0 {
        (x, y) = (y, x % y);
    }
    x
}

/// gcd/lcm of two integers of one type, refusing results out of `max`.
fn int_gcd_lcm(f: MathFn, a: i64, b: i64, max: i64) -> Result<Option<i64>, ()> {
    let g = int_gcd(a, b);
    if f == M::Gcd {
        return if g > max as u64 {
            Err(())
        } else {
            Ok(Some(g as i64))
        };
    }
    if a == 0 || b == 0 {
        return Ok(Some(0));
    }
    let l = (a / g as i64).checked_mul(b).ok_or(())?;
    let l = l.checked_abs().ok_or(())?;
    if l > max {
        return Err(());
    }
    Ok(Some(l))
}

/// Evaluate a math function over its already-cast arguments (STRICT:
/// NULLs never arrive here).
pub(crate) fn call(f: MathFn, args: &[Value]) -> Result<Value, PgError> {
    let a = args.first().cloned().unwrap_or(Value::Null);
    let b = args.get(1).cloned().unwrap_or(Value::Null);
    Ok(match (f, a, b) {
        (M::Pi, _, _) => Value::Float8(std::f64::consts::PI),
        (M::WidthBucket, Value::Float8(op), Value::Float8(lo)) => {
            let (Some(Value::Float8(hi)), Some(Value::Int4(n))) = (args.get(2), args.get(3)) else {
                return Ok(Value::Null);
            };
            Value::Int4(float_width_bucket(op, lo, *hi, *n)?)
        }
        (M::WidthBucket, Value::Numeric(op), Value::Numeric(lo)) => {
            let (Some(Value::Numeric(hi)), Some(Value::Int4(n))) = (args.get(2), args.get(3))
            else {
                return Ok(Value::Null);
            };
            Value::Int4(crate::numeric::width_bucket(&op, &lo, hi, *n)?)
        }
        (M::Mod, a, b) if !matches!(a, Value::Numeric(_)) => {
            crate::expr::arith(crate::expr::ArithOp::Mod, a, b)?
        }
        (M::Gcd | M::Lcm, Value::Int4(x), Value::Int4(y)) => {
            match int_gcd_lcm(f, x.into(), y.into(), i32::MAX as i64) {
                Ok(Some(v)) => Value::Int4(v as i32),
                _ => return Err(int_range()),
            }
        }
        (M::Gcd | M::Lcm, Value::Int8(x), Value::Int8(y)) => match int_gcd_lcm(f, x, y, i64::MAX) {
            Ok(Some(v)) => Value::Int8(v),
            _ => return Err(bigint_range()),
        },
        (M::Factorial, Value::Int8(n), _) => Value::Numeric(Numeric::factorial(n)?),
        (f, Value::Float8(x), b) => {
            let y = match b {
                Value::Float8(y) => y,
                _ => 0.0,
            };
            Value::Float8(float_fn(f, x, y)?)
        }
        (f, Value::Numeric(x), Value::Numeric(y)) => num_fn(f, &x, Some(&y))?,
        (f, Value::Numeric(x), _) => num_fn(f, &x, None)?,
        (_, other, _) => other,
    })
}

/// `CEIL(x)` / `FLOOR(x)`, which the parser reads as syntax: the
/// function to call and its argument (`None` for `CEIL(x TO field)`).
pub(crate) fn ceil_floor_call(
    e: &sqlparser::ast::Expr,
) -> Option<(&'static str, &sqlparser::ast::Expr)> {
    use sqlparser::ast::{CeilFloorKind, DateTimeField, Expr};
    let (name, expr, field) = match e {
        Expr::Ceil { expr, field } => ("ceil", expr, field),
        Expr::Floor { expr, field } => ("floor", expr, field),
        _ => return None,
    };
    match field {
        CeilFloorKind::DateTimeField(DateTimeField::NoDateTime) => Some((name, expr)),
        _ => None,
    }
}

/// The function behind a prefix math operator (`|/`, `||/`, `@`).
pub(crate) fn prefix_op_function(op: sqlparser::ast::UnaryOperator) -> &'static str {
    use sqlparser::ast::UnaryOperator as U;
    match op {
        U::PGSquareRoot => "dsqrt",
        U::PGCubeRoot => "dcbrt",
        _ => "abs",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degree_functions_are_exact_at_round_angles() {
        assert_eq!(degree_fn(M::Sind, 30.0).unwrap(), 0.5);
        assert_eq!(degree_fn(M::Cosd, 60.0).unwrap(), 0.5);
        assert_eq!(degree_fn(M::Tand, 45.0).unwrap(), 1.0);
        assert_eq!(degree_fn(M::Tand, 180.0).unwrap(), 0.0);
        assert_eq!(degree_fn(M::Asind, 0.5).unwrap(), 30.0);
        assert_eq!(degree_fn(M::Acosd, -0.5).unwrap(), 120.0);
        assert_eq!(degree_fn(M::Sind, f64::INFINITY).unwrap_err().code, "22003");
    }

    #[test]
    fn width_bucket_and_integer_gcd() {
        assert_eq!(float_width_bucket(5.0, 0.0, 10.0, 5).unwrap(), 3);
        assert_eq!(float_width_bucket(-1.0, 0.0, 10.0, 5).unwrap(), 0);
        assert_eq!(float_width_bucket(10.0, 0.0, 10.0, 5).unwrap(), 6);
        assert_eq!(
            float_width_bucket(1.0, 0.0, 0.0, 5).unwrap_err().code,
            "2201G"
        );
        assert_eq!(
            int_gcd_lcm(M::Gcd, i32::MIN as i64, 0, i32::MAX as i64),
            Err(())
        );
        assert_eq!(int_gcd_lcm(M::Lcm, 4, -6, i32::MAX as i64), Ok(Some(12)));
    }
}
