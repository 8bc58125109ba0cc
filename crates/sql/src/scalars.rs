//! The functions and operators of uuid, money and bit/varbit: their
//! signatures (resolved with the built-ins of func.rs) and evaluation.
//!
//! Why a file of its own: func.rs's `Func::Scalar` and one chained
//! signature table are the only hooks in shared code, so these types grow
//! here without touching the other built-ins. The value logic itself is
//! in tusk-types (uuid.rs, money.rs, bits.rs); this file adapts it to
//! SQL arguments. Evaluated by the backend running a statement.

use tusk_common::PgError;

use crate::func::{Args, Func, Signature};
use crate::types::{self, Oid};
use crate::value::Value;
use tusk_types::bits::{self, BitString};
use tusk_types::money;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sc {
    GenRandomUuid,
    CashWords,
    CashLarger,
    CashSmaller,
    CashAdd,
    CashSub,
    CashMulInt,
    CashMulFlt,
    CashDivInt,
    CashDivFlt,
    CashDivCash,
    BitAnd,
    BitOr,
    BitXor,
    BitNot,
    BitShl,
    BitShr,
    BitConcat,
    BitLength,
    BitOctetLength,
    BitSubstr,
    BitSubstrLen,
    BitPosition,
    GetBit,
    SetBit,
    BitCount,
    BitOverlay,
    BitOverlayLen,
    /// The integers' & | # ~ << >> (int2, int4, int8 alike).
    IntAnd,
    IntOr,
    IntXor,
    IntNot,
    IntShl,
    IntShr,
    LsnDiff,
    LsnAdd,
    LsnSub,
    /// A geometric function or operator (crate::geometry's tables).
    Geo(tusk_types::geo::Op),
}

const fn sig(name: &'static str, args: &'static [Oid], ret: Oid, f: Sc) -> Signature {
    Signature {
        name,
        args: Args::Fixed(args),
        ret: Some(ret),
        func: Func::Scalar(f),
    }
}

use types::{BIT, INT4, INT8, MONEY, UUID, VARBIT};

/// The named functions (operators are bound directly, bind/scalars.rs).
pub(crate) static SIGNATURES: &[Signature] = &[
    sig("gen_random_uuid", &[], UUID, Sc::GenRandomUuid),
    sig("cash_words", &[MONEY], types::TEXT, Sc::CashWords),
    sig("cashlarger", &[MONEY, MONEY], MONEY, Sc::CashLarger),
    sig("cashsmaller", &[MONEY, MONEY], MONEY, Sc::CashSmaller),
    sig("length", &[VARBIT], INT4, Sc::BitLength),
    sig("bit_length", &[VARBIT], INT4, Sc::BitLength),
    sig("octet_length", &[VARBIT], INT4, Sc::BitOctetLength),
    sig("substring", &[VARBIT, INT4], VARBIT, Sc::BitSubstr),
    sig("substring", &[VARBIT, INT4, INT4], VARBIT, Sc::BitSubstrLen),
    sig("substr", &[VARBIT, INT4], VARBIT, Sc::BitSubstr),
    sig("substr", &[VARBIT, INT4, INT4], VARBIT, Sc::BitSubstrLen),
    sig("position", &[VARBIT, VARBIT], INT4, Sc::BitPosition),
    sig("get_bit", &[VARBIT, INT4], INT4, Sc::GetBit),
    sig("set_bit", &[BIT, INT4, INT4], BIT, Sc::SetBit),
    sig("set_bit", &[VARBIT, INT4, INT4], VARBIT, Sc::SetBit),
    sig("bit_count", &[VARBIT], INT8, Sc::BitCount),
    sig("overlay", &[VARBIT, VARBIT, INT4], VARBIT, Sc::BitOverlay),
    sig(
        "overlay",
        &[VARBIT, VARBIT, INT4, INT4],
        VARBIT,
        Sc::BitOverlayLen,
    ),
];

/// Whether `oid` is bit or varbit.
pub(crate) fn is_bits(oid: Oid) -> bool {
    matches!(oid, BIT | VARBIT)
}

fn cash(v: &Value) -> i64 {
    match v {
        Value::Money(m) => *m,
        _ => 0,
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int2(i) => *i as i64,
        Value::Int4(i) => *i as i64,
        Value::Int8(i) => *i,
        _ => 0,
    }
}

fn flt(v: &Value) -> f64 {
    match v {
        Value::Float4(f) => *f as f64,
        Value::Float8(f) => *f,
        _ => 0.0,
    }
}

fn bits_of(v: &Value) -> BitString {
    match v {
        Value::Bits(b) => (**b).clone(),
        _ => BitString::zeros(0),
    }
}

fn bitv(b: BitString) -> Value {
    Value::Bits(Box::new(b))
}

/// gen_random_uuid's 16 random bytes, from getrandom(2).
fn random_uuid() -> Result<[u8; 16], PgError> {
    let mut b = [0u8; 16];
    let mut got = 0;
    while got < b.len() {
        // SAFETY: getrandom writes at most `len - got` bytes into the
        // rest of the local array.
        let r = unsafe { libc::getrandom(b[got..].as_mut_ptr().cast(), b.len() - got, 0) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(PgError::error(
                tusk_common::sqlstate::INTERNAL_ERROR,
                format!("could not generate random values: getrandom(buf, 16, 0): {e}"),
            )
            .with_hint("The kernel's random source failed; check the system log."));
        }
        got += r as usize;
    }
    Ok(tusk_types::uuid::from_random(b))
}

/// An integer bitwise operator on the left operand's type; shift counts
/// wrap at the type's width as the C shifts PostgreSQL compiles to do on
/// x86-64 (int2's are done in int4, then truncated, as int2shl).
fn int_op(f: Sc, l: &Value, r: &Value) -> Value {
    let y = int(r);
    let go = |x: i64, bits: u32| -> i64 {
        match f {
            Sc::IntAnd => x & y,
            Sc::IntOr => x | y,
            Sc::IntXor => x ^ y,
            Sc::IntNot => !x,
            Sc::IntShl if bits == 64 => x.wrapping_shl(y as u32),
            Sc::IntShl => (x as i32).wrapping_shl(y as u32) as i64,
            Sc::IntShr if bits == 64 => x.wrapping_shr(y as u32),
            _ => (x as i32).wrapping_shr(y as u32) as i64,
        }
    };
    match l {
        Value::Int2(x) => Value::Int2(go(*x as i64, 16) as i16),
        Value::Int4(x) => Value::Int4(go(*x as i64, 32) as i32),
        Value::Int8(x) => Value::Int8(go(*x, 64)),
        _ => Value::Null,
    }
}

/// Evaluate one call; NULL arguments never arrive (all are strict).
pub(crate) fn call(f: Sc, args: &[Value]) -> Result<Value, PgError> {
    let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    Ok(match f {
        Sc::GenRandomUuid => Value::Uuid(random_uuid()?),
        Sc::Geo(op) => return tusk_types::geo::eval(op, args),
        Sc::CashWords => Value::Text(money::words(cash(&a(0)))),
        Sc::CashLarger => Value::Money(cash(&a(0)).max(cash(&a(1)))),
        Sc::CashSmaller => Value::Money(cash(&a(0)).min(cash(&a(1)))),
        Sc::CashAdd => Value::Money(
            cash(&a(0))
                .checked_add(cash(&a(1)))
                .ok_or_else(money::out_of_range)?,
        ),
        Sc::CashSub => Value::Money(
            cash(&a(0))
                .checked_sub(cash(&a(1)))
                .ok_or_else(money::out_of_range)?,
        ),
        // Either operand order: the money is whichever argument is one.
        Sc::CashMulInt => {
            let (m, i) = match (&a(0), &a(1)) {
                (Value::Money(m), i) | (i, Value::Money(m)) => (*m, int(i)),
                _ => (0, 0),
            };
            Value::Money(m.checked_mul(i).ok_or_else(money::out_of_range)?)
        }
        Sc::CashMulFlt => {
            let (m, f) = match (&a(0), &a(1)) {
                (Value::Money(m), f) | (f, Value::Money(m)) => (*m, flt(f)),
                _ => (0, 0.0),
            };
            Value::Money(money::from_f64(m as f64 * f)?)
        }
        Sc::CashDivInt => {
            let i = int(&a(1));
            if i == 0 {
                return Err(money::division_by_zero());
            }
            Value::Money(cash(&a(0)).checked_div(i).ok_or_else(money::out_of_range)?)
        }
        Sc::CashDivFlt => {
            let f = flt(&a(1));
            if f == 0.0 {
                return Err(money::division_by_zero());
            }
            Value::Money(money::from_f64(cash(&a(0)) as f64 / f)?)
        }
        Sc::CashDivCash => {
            let d = cash(&a(1));
            if d == 0 {
                return Err(money::division_by_zero());
            }
            Value::Float8(cash(&a(0)) as f64 / d as f64)
        }
        Sc::BitAnd => bitv(bits::bitwise(&bits_of(&a(0)), &bits_of(&a(1)), "AND")?),
        Sc::BitOr => bitv(bits::bitwise(&bits_of(&a(0)), &bits_of(&a(1)), "OR")?),
        Sc::BitXor => bitv(bits::bitwise(&bits_of(&a(0)), &bits_of(&a(1)), "XOR")?),
        Sc::BitNot => bitv(bits::not(&bits_of(&a(0)))),
        Sc::BitShl => bitv(bits::shift_left(&bits_of(&a(0)), int(&a(1)) as i32)),
        Sc::BitShr => bitv(bits::shift_right(&bits_of(&a(0)), int(&a(1)) as i32)),
        Sc::BitConcat => bitv(bits::concat(&bits_of(&a(0)), &bits_of(&a(1)))),
        Sc::BitLength => Value::Int4(bits_of(&a(0)).len as i32),
        Sc::BitOctetLength => Value::Int4(bits_of(&a(0)).len.div_ceil(8) as i32),
        Sc::BitSubstr => bitv(bits::substring(&bits_of(&a(0)), int(&a(1)) as i32, None)?),
        Sc::BitSubstrLen => bitv(bits::substring(
            &bits_of(&a(0)),
            int(&a(1)) as i32,
            Some(int(&a(2)) as i32),
        )?),
        // position(sub IN s) arrives as position(s, sub), bitposition's order.
        Sc::BitPosition => Value::Int4(bits::position(&bits_of(&a(1)), &bits_of(&a(0)))),
        Sc::GetBit => Value::Int4(bits::get_bit(&bits_of(&a(0)), int(&a(1)) as i32)?),
        Sc::SetBit => bitv(bits::set_bit(
            &bits_of(&a(0)),
            int(&a(1)) as i32,
            int(&a(2)) as i32,
        )?),
        Sc::IntAnd | Sc::IntOr | Sc::IntXor | Sc::IntNot | Sc::IntShl | Sc::IntShr => {
            int_op(f, &a(0), &a(1))
        }
        Sc::LsnDiff => match (&a(0), &a(1)) {
            (Value::Lsn(x), Value::Lsn(y)) => Value::Numeric(tusk_types::lsn::diff(*x, *y)),
            _ => Value::Null,
        },
        // numeric + pg_lsn arrives in either order.
        Sc::LsnAdd | Sc::LsnSub => match (&a(0), &a(1)) {
            (Value::Lsn(l), Value::Numeric(n)) | (Value::Numeric(n), Value::Lsn(l)) => {
                Value::Lsn(tusk_types::lsn::add(*l, n, f == Sc::LsnSub)?)
            }
            _ => Value::Null,
        },
        Sc::BitCount => Value::Int8(bits::bit_count(&bits_of(&a(0)))),
        // overlay(s PLACING p FROM f [FOR n]): s's bits before f, p, then
        // s's bits from f + n on (n defaults to p's length), as bitoverlay.
        Sc::BitOverlay | Sc::BitOverlayLen => {
            let (s, p) = (bits_of(&a(0)), bits_of(&a(1)));
            let from = int(&a(2)) as i32;
            let n = if f == Sc::BitOverlayLen {
                int(&a(3)) as i32
            } else {
                p.len as i32
            };
            if n < 0 {
                return Err(PgError::error(
                    tusk_common::sqlstate::SUBSTRING_ERROR,
                    "negative substring length not allowed",
                ));
            }
            let head = bits::substring(&s, 1, Some(from.saturating_sub(1).max(0)))?;
            let tail = bits::substring(&s, from.saturating_add(n), None)?;
            bitv(bits::concat(&bits::concat(&head, &p), &tail))
        }
    })
}
