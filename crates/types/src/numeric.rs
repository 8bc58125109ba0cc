//! `numeric`: an exact decimal of any precision, with PostgreSQL's rules
//! for result scales, rounding and its base-10000 binary format.
//!
//! The value is a decimal digit string plus a display scale (`dscale`, the
//! digits shown after the point). Decimal digits rather than PostgreSQL's
//! base-10000 groups keep every operation a plain schoolbook loop that is
//! easy to check; the wire format is produced by regrouping. Sizes are
//! capped ([`MAX_DIGITS`]) so that a hostile `9.9 ^ 99999999` is refused
//! before it allocates, not after.

use std::cmp::Ordering;

use tusk_common::sqlstate;
use tusk_common::PgError;

#[path = "numeric_math.rs"]
mod math;
pub use math::width_bucket;

/// Largest number of decimal digits a value may carry. PostgreSQL allows
/// 131072 before the point; tusk refuses earlier because its schoolbook
/// arithmetic is quadratic and a backend must stay responsive.
pub const MAX_DIGITS: usize = 20_000;
/// PostgreSQL's NUMERIC_MIN_SIG_DIGITS: significant digits division and
/// power aim for.
const MIN_SIG_DIGITS: i64 = 16;
/// PostgreSQL's NUMERIC_MAX_DISPLAY_SCALE.
const MAX_DISPLAY_SCALE: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Finite,
    NaN,
    Inf,
}

/// An exact decimal: `(-1)^neg * digits * 10^-scale`, or NaN / ±Infinity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numeric {
    kind: Kind,
    neg: bool,
    /// Big-endian decimal digits of the unscaled integer, no leading zeros
    /// (empty = zero).
    digits: Vec<u8>,
    /// Digits after the decimal point (PostgreSQL's dscale).
    scale: u32,
}

fn overflow() -> PgError {
    PgError::error(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        "value overflows numeric format",
    )
}

fn div_zero() -> PgError {
    PgError::error(sqlstate::DIVISION_BY_ZERO, "division by zero")
}

// ---- magnitude helpers (big-endian decimal digit vectors) ----

fn trim(mut v: Vec<u8>) -> Vec<u8> {
    let nz = v.iter().position(|&d| d != 0).unwrap_or(v.len());
    v.drain(..nz);
    v
}

fn mag_cmp(a: &[u8], b: &[u8]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn mag_add(a: &[u8], b: &[u8]) -> Vec<u8> {
    let n = a.len().max(b.len());
    let mut out = vec![0u8; n + 1];
    let mut carry = 0u8;
    for i in 0..n {
        let da = if i < a.len() { a[a.len() - 1 - i] } else { 0 };
        let db = if i < b.len() { b[b.len() - 1 - i] } else { 0 };
        let s = da + db + carry;
        out[n - i] = s % 10;
        carry = s / 10;
    }
    out[0] = carry;
    trim(out)
}

/// a - b, requires a >= b.
fn mag_sub(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = a.to_vec();
    let mut borrow = 0i8;
    for i in 0..a.len() {
        let db = if i < b.len() {
            b[b.len() - 1 - i] as i8
        } else {
            0
        };
        let idx = a.len() - 1 - i;
        let mut d = out[idx] as i8 - db - borrow;
        if d < 0 {
            d += 10;
            borrow = 1;
        } else {
            borrow = 0;
        }
        out[idx] = d as u8;
    }
    trim(out)
}

fn mag_mul(a: &[u8], b: &[u8]) -> Vec<u8> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut acc = vec![0u64; a.len() + b.len()];
    for (i, &da) in a.iter().rev().enumerate() {
        if da == 0 {
            continue;
        }
        for (j, &db) in b.iter().rev().enumerate() {
            acc[i + j] += (da as u64) * (db as u64);
        }
        // Keep the accumulators small enough never to overflow.
        if i % 1_000_000 == 999_999 {
            normalize_acc(&mut acc);
        }
    }
    normalize_acc(&mut acc);
    trim(acc.iter().rev().map(|&d| d as u8).collect())
}

fn normalize_acc(acc: &mut [u64]) {
    let mut carry = 0u64;
    for d in acc.iter_mut() {
        let v = *d + carry;
        *d = v % 10;
        carry = v / 10;
    }
}

fn mag_small_mul(a: &[u8], m: u8) -> Vec<u8> {
    let mut out = vec![0u8; a.len() + 1];
    let mut carry = 0u16;
    for i in (0..a.len()).rev() {
        let v = a[i] as u16 * m as u16 + carry;
        out[i + 1] = (v % 10) as u8;
        carry = v / 10;
    }
    out[0] = carry as u8;
    trim(out)
}

/// (a / b, a % b) for b != 0.
fn mag_divmod(a: &[u8], b: &[u8]) -> (Vec<u8>, Vec<u8>) {
    // Multiples of b, so each quotient digit is found by comparison.
    let multiples: Vec<Vec<u8>> = (0..10u8).map(|k| mag_small_mul(b, k)).collect();
    let mut q = Vec::with_capacity(a.len());
    let mut r: Vec<u8> = Vec::new();
    for &d in a {
        r.push(d);
        r = trim(r);
        let mut k = 0;
        while k < 9 && mag_cmp(&multiples[k + 1], &r) != Ordering::Greater {
            k += 1;
        }
        if k > 0 {
            r = mag_sub(&r, &multiples[k]);
        }
        q.push(k as u8);
    }
    (trim(q), r)
}

fn pow10(mut v: Vec<u8>, n: usize) -> Vec<u8> {
    if !v.is_empty() {
        v.resize(v.len() + n, 0);
    }
    v
}

fn mag_from_u128(mut n: u128) -> Vec<u8> {
    let mut out = Vec::new();
    while n > 0 {
        out.push((n % 10) as u8);
        n /= 10;
    }
    out.reverse();
    out
}

impl Numeric {
    pub fn zero() -> Numeric {
        Numeric {
            kind: Kind::Finite,
            neg: false,
            digits: Vec::new(),
            scale: 0,
        }
    }

    pub fn nan() -> Numeric {
        Numeric {
            kind: Kind::NaN,
            neg: false,
            digits: Vec::new(),
            scale: 0,
        }
    }

    pub fn infinity(neg: bool) -> Numeric {
        Numeric {
            kind: Kind::Inf,
            neg,
            digits: Vec::new(),
            scale: 0,
        }
    }

    fn finite(neg: bool, digits: Vec<u8>, scale: u32) -> Result<Numeric, PgError> {
        let digits = trim(digits);
        if digits.len() > MAX_DIGITS {
            return Err(overflow());
        }
        let neg = neg && !digits.is_empty();
        Ok(Numeric {
            kind: Kind::Finite,
            neg,
            digits,
            scale,
        })
    }

    pub fn from_i64(v: i64) -> Numeric {
        Numeric {
            kind: Kind::Finite,
            neg: v < 0,
            digits: mag_from_u128(v.unsigned_abs() as u128),
            scale: 0,
        }
    }

    pub fn is_nan(&self) -> bool {
        self.kind == Kind::NaN
    }

    pub fn is_finite(&self) -> bool {
        self.kind == Kind::Finite
    }

    pub fn is_zero(&self) -> bool {
        self.kind == Kind::Finite && self.digits.is_empty()
    }

    pub fn is_negative(&self) -> bool {
        self.neg
    }

    /// Display scale (digits after the point).
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// PostgreSQL's `numeric_in`. The error says which refusal it was; the
    /// caller words the message with the input.
    pub fn parse(s: &str) -> Result<Numeric, NumericParseError> {
        let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
        let (neg, body) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let lower = body.to_ascii_lowercase();
        if lower == "nan" && t.len() == body.len() {
            return Ok(Numeric::nan());
        }
        if lower == "infinity" || lower == "inf" {
            return Ok(Numeric::infinity(neg));
        }
        let bytes = body.as_bytes();
        let mut i = 0;
        let mut digits = Vec::new();
        let mut frac = 0i64;
        let mut seen_digit = false;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            digits.push(bytes[i] - b'0');
            seen_digit = true;
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                digits.push(bytes[i] - b'0');
                frac += 1;
                seen_digit = true;
                i += 1;
            }
        }
        if !seen_digit {
            return Err(NumericParseError::Syntax);
        }
        let mut exp = 0i64;
        if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
            i += 1;
            let eneg = match bytes.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                exp = exp
                    .saturating_mul(10)
                    .saturating_add((bytes[i] - b'0') as i64);
                i += 1;
            }
            if i == start {
                return Err(NumericParseError::Syntax);
            }
            if exp > 1000 {
                return Err(NumericParseError::Syntax);
            }
            if eneg {
                exp = -exp;
            }
        }
        if i != bytes.len() {
            return Err(NumericParseError::Syntax);
        }
        let scale = frac - exp;
        let (digits, scale) = if scale < 0 {
            (pow10(trim(digits), (-scale) as usize), 0)
        } else {
            (digits, scale)
        };
        Numeric::finite(neg, digits, scale as u32).map_err(|_| NumericParseError::Overflow)
    }

    /// PostgreSQL's text output: all `dscale` digits after the point.
    pub fn to_text(&self) -> String {
        match self.kind {
            Kind::NaN => return "NaN".into(),
            Kind::Inf => {
                return if self.neg {
                    "-Infinity".into()
                } else {
                    "Infinity".into()
                }
            }
            Kind::Finite => {}
        }
        let scale = self.scale as usize;
        let mut s = String::with_capacity(self.digits.len() + scale + 3);
        if self.neg {
            s.push('-');
        }
        let n = self.digits.len();
        if n > scale {
            for &d in &self.digits[..n - scale] {
                s.push((b'0' + d) as char);
            }
        } else {
            s.push('0');
        }
        if scale > 0 {
            s.push('.');
            for _ in n..scale {
                s.push('0');
            }
            let start = n.saturating_sub(scale);
            for &d in &self.digits[start..] {
                s.push((b'0' + d) as char);
            }
        }
        s
    }

    /// Digits of the value scaled to `scale` (which must be >= self.scale).
    fn scaled_to(&self, scale: u32) -> Vec<u8> {
        pow10(self.digits.clone(), (scale - self.scale) as usize)
    }

    fn special_cmp_key(&self) -> i8 {
        match (self.kind, self.neg) {
            (Kind::Inf, true) => -1,
            (Kind::Finite, _) => 0,
            (Kind::Inf, false) => 1,
            (Kind::NaN, _) => 2,
        }
    }

    /// Total order as PostgreSQL sorts numerics: -Inf < finite < +Inf < NaN.
    pub fn cmp_total(&self, other: &Numeric) -> Ordering {
        let (ka, kb) = (self.special_cmp_key(), other.special_cmp_key());
        if ka != 0 || kb != 0 {
            return ka.cmp(&kb);
        }
        match (self.neg, other.neg) {
            (false, true) => return Ordering::Greater,
            (true, false) => return Ordering::Less,
            _ => {}
        }
        let s = self.scale.max(other.scale);
        let c = mag_cmp(&self.scaled_to(s), &other.scaled_to(s));
        if self.neg {
            c.reverse()
        } else {
            c
        }
    }

    pub fn neg(&self) -> Numeric {
        let mut r = self.clone();
        if r.kind == Kind::Inf || (r.kind == Kind::Finite && !r.digits.is_empty()) {
            r.neg = !r.neg;
        }
        r
    }

    pub fn abs(&self) -> Numeric {
        let mut r = self.clone();
        if r.kind != Kind::NaN {
            r.neg = false;
        }
        r
    }

    fn special_add(&self, other: &Numeric, subtract: bool) -> Option<Numeric> {
        if self.is_nan() || other.is_nan() {
            return Some(Numeric::nan());
        }
        let oneg = other.neg != subtract;
        match (self.kind, other.kind) {
            (Kind::Inf, Kind::Inf) if self.neg != oneg => Some(Numeric::nan()),
            (Kind::Inf, _) => Some(self.clone()),
            (_, Kind::Inf) => Some(Numeric::infinity(oneg)),
            _ => None,
        }
    }

    fn add_signed(&self, other: &Numeric, subtract: bool) -> Result<Numeric, PgError> {
        if let Some(r) = self.special_add(other, subtract) {
            return Ok(r);
        }
        let s = self.scale.max(other.scale);
        let (a, b) = (self.scaled_to(s), other.scaled_to(s));
        let bneg = other.neg != subtract;
        if self.neg == bneg {
            Numeric::finite(self.neg, mag_add(&a, &b), s)
        } else {
            match mag_cmp(&a, &b) {
                Ordering::Less => Numeric::finite(bneg, mag_sub(&b, &a), s),
                _ => Numeric::finite(self.neg, mag_sub(&a, &b), s),
            }
        }
    }

    pub fn add(&self, other: &Numeric) -> Result<Numeric, PgError> {
        self.add_signed(other, false)
    }

    pub fn sub(&self, other: &Numeric) -> Result<Numeric, PgError> {
        self.add_signed(other, true)
    }

    pub fn mul(&self, other: &Numeric) -> Result<Numeric, PgError> {
        if self.is_nan() || other.is_nan() {
            return Ok(Numeric::nan());
        }
        if self.kind == Kind::Inf || other.kind == Kind::Inf {
            if self.is_zero() || other.is_zero() {
                return Ok(Numeric::nan());
            }
            return Ok(Numeric::infinity(self.neg != other.neg));
        }
        if self.digits.len() + other.digits.len() > MAX_DIGITS + 1 {
            return Err(overflow());
        }
        let scale = self.scale + other.scale;
        if scale as i64 > MAX_DIGITS as i64 {
            return Err(overflow());
        }
        Numeric::finite(
            self.neg != other.neg,
            mag_mul(&self.digits, &other.digits),
            scale,
        )
    }

    /// Position of the most significant digit: value is in
    /// [10^e, 10^(e+1)). None for zero.
    fn msd_exponent(&self) -> Option<i64> {
        if self.digits.is_empty() {
            None
        } else {
            Some(self.digits.len() as i64 - 1 - self.scale as i64)
        }
    }

    /// PostgreSQL's base-10000 weight and first group of a nonzero value.
    fn weight_and_first_group(&self) -> (i64, u32) {
        let Some(e) = self.msd_exponent() else {
            return (0, 0);
        };
        let w = e.div_euclid(4);
        // Group w covers decimal exponents 4w..4w+3.
        let mut g = 0u32;
        for exp in (4 * w..=4 * w + 3).rev() {
            let idx = self.digits.len() as i64 - 1 - (exp + self.scale as i64);
            let d = if idx >= 0 && (idx as usize) < self.digits.len() {
                self.digits[idx as usize] as u32
            } else {
                0
            };
            g = g * 10 + d;
        }
        (w, g)
    }

    /// Result scale PostgreSQL chooses for `a / b` (select_div_scale).
    fn div_scale(&self, other: &Numeric) -> u32 {
        let (w1, f1) = self.weight_and_first_group();
        let (w2, f2) = other.weight_and_first_group();
        let mut qweight = w1 - w2;
        if f1 <= f2 {
            qweight -= 1;
        }
        let rscale = (MIN_SIG_DIGITS - qweight * 4)
            .max(self.scale as i64)
            .max(other.scale as i64)
            .clamp(0, MAX_DISPLAY_SCALE);
        rscale as u32
    }

    /// a / b rounded half away from zero to `rscale` digits.
    fn div_round(&self, other: &Numeric, rscale: u32, round: bool) -> Result<Numeric, PgError> {
        if other.is_zero() {
            return Err(div_zero());
        }
        let k = rscale as i64 + other.scale as i64 - self.scale as i64;
        let (n, d) = if k >= 0 {
            if self.digits.len() as i64 + k > MAX_DIGITS as i64 * 2 {
                return Err(overflow());
            }
            (pow10(self.digits.clone(), k as usize), other.digits.clone())
        } else {
            if other.digits.len() as i64 - k > MAX_DIGITS as i64 * 2 {
                return Ok(Numeric {
                    scale: rscale,
                    ..Numeric::zero()
                });
            }
            (
                self.digits.clone(),
                pow10(other.digits.clone(), (-k) as usize),
            )
        };
        let (mut q, r) = mag_divmod(&n, &d);
        if round && mag_cmp(&mag_small_mul(&r, 2), &d) != Ordering::Less {
            q = mag_add(&q, &[1]);
        }
        Numeric::finite(self.neg != other.neg, q, rscale)
    }

    pub fn div(&self, other: &Numeric) -> Result<Numeric, PgError> {
        if self.is_nan() || other.is_nan() {
            return Ok(Numeric::nan());
        }
        if other.is_zero() {
            return Err(div_zero());
        }
        match (self.kind, other.kind) {
            (Kind::Inf, Kind::Inf) => return Ok(Numeric::nan()),
            (Kind::Inf, _) => return Ok(Numeric::infinity(self.neg != other.neg)),
            (_, Kind::Inf) => return Ok(Numeric::zero()),
            _ => {}
        }
        let rscale = self.div_scale(other);
        self.div_round(other, rscale, true)
    }

    /// PostgreSQL's `numeric % numeric`: a - b * trunc(a / b).
    pub fn rem(&self, other: &Numeric) -> Result<Numeric, PgError> {
        if self.is_nan() || other.is_nan() {
            return Ok(Numeric::nan());
        }
        if other.is_zero() {
            return Err(div_zero());
        }
        match (self.kind, other.kind) {
            (Kind::Inf, _) => return Ok(Numeric::nan()),
            (_, Kind::Inf) => return Ok(self.clone()),
            _ => {}
        }
        let q = self.div_round(other, 0, false)?;
        self.sub(&q.mul(other)?)
    }

    /// PostgreSQL 15's `numeric ^ numeric` for integer exponents (exact,
    /// then rounded to max(16, base dscale) digits); other exponents go
    /// through float8, which is within a unit in the last place.
    pub fn pow(&self, exp: &Numeric) -> Result<Numeric, PgError> {
        if let Some(r) = self.pow_special(exp) {
            return r;
        }
        if self.is_zero() && exp.neg {
            return Err(PgError::error(
                tusk_common::sqlstate::INVALID_ARGUMENT_FOR_POWER_FUNCTION,
                "zero raised to a negative power is undefined",
            ));
        }
        let rscale = (MIN_SIG_DIGITS.max(self.scale as i64)).clamp(0, MAX_DISPLAY_SCALE) as u32;
        let frac_len = (exp.scale as usize).min(exp.digits.len());
        let exp_is_int = exp.digits[exp.digits.len() - frac_len..]
            .iter()
            .all(|&d| d == 0);
        if exp_is_int {
            match exp.trunc_to_i64() {
                Some(e)
                    if (self.digits.len() as i64).saturating_mul(e.abs())
                        <= MAX_DIGITS as i64 * 2 =>
                {
                    return self.pow_int(e, rscale);
                }
                _ => return self.pow_int_huge(exp, rscale as i64),
            }
        }
        if self.neg {
            return Err(PgError::error(
                tusk_common::sqlstate::INVALID_ARGUMENT_FOR_POWER_FUNCTION,
                "a negative number raised to a non-integer power yields a complex result",
            ));
        }
        self.pow_real(exp)
    }

    fn pow_int(&self, e: i64, rscale: u32) -> Result<Numeric, PgError> {
        if e == 0 {
            let one = Numeric::from_i64(1);
            return Ok(one.round(rscale as i64));
        }
        if self.is_zero() {
            return Ok(Numeric {
                scale: rscale,
                ..Numeric::zero()
            });
        }
        // Refuse results too large to hold before computing them.
        let int_digits = self.msd_exponent().unwrap_or(0) + 1;
        if int_digits > 0 && (int_digits - 1).saturating_mul(e.abs()) > MAX_DIGITS as i64 {
            if e > 0 {
                return Err(overflow());
            }
            return Ok(Numeric {
                scale: rscale,
                ..Numeric::zero()
            });
        }
        let total = (self.digits.len() as i64).saturating_mul(e.abs());
        if total > MAX_DIGITS as i64 * 2 {
            // Large magnitude (<1 base) with a huge exponent: far below the
            // displayed scale, or too large; let float8 decide which.
            let f = self.to_f64().powf(e as f64);
            if f.is_finite() && f.abs() < 1.0 {
                return Ok(Numeric {
                    scale: rscale,
                    ..Numeric::zero()
                });
            }
            return Err(overflow());
        }
        let mut result = Numeric::from_i64(1);
        let mut base = self.clone();
        let mut n = e.unsigned_abs();
        while n > 0 {
            if n & 1 == 1 {
                result = result.mul(&base)?;
            }
            n >>= 1;
            if n > 0 {
                base = base.mul(&base)?;
            }
        }
        if e < 0 {
            Numeric::from_i64(1).div_round(&result, rscale, true)
        } else {
            Ok(result.round(rscale as i64))
        }
    }

    /// Round half away from zero to `scale` digits after the point
    /// (negative: to tens, hundreds...). The display scale becomes
    /// max(scale, 0).
    pub fn round(&self, scale: i64) -> Numeric {
        self.round_or_trunc(scale, true, MAX_DISPLAY_SCALE)
    }

    pub fn trunc(&self, scale: i64) -> Numeric {
        self.round_or_trunc(scale, false, MAX_DISPLAY_SCALE)
    }

    /// Round to `scale` digits even beyond the display limit: the
    /// intermediate values of numeric_math.rs carry guard digits.
    fn round_wide(&self, scale: i64) -> Numeric {
        self.round_or_trunc(scale, true, MAX_DIGITS as i64)
    }

    fn round_or_trunc(&self, scale: i64, round: bool, max_scale: i64) -> Numeric {
        if !self.is_finite() {
            return self.clone();
        }
        let scale = scale.clamp(-(MAX_DIGITS as i64), max_scale);
        let new_scale = scale.max(0) as u32;
        if scale >= self.scale as i64 {
            return Numeric {
                digits: self.scaled_to(new_scale),
                scale: new_scale,
                ..self.clone()
            };
        }
        let drop = (self.scale as i64 - scale) as usize;
        let n = self.digits.len();
        let (mut kept, first_dropped) = if drop >= n {
            (
                Vec::new(),
                if drop == n {
                    self.digits.first().copied().unwrap_or(0)
                } else {
                    0
                },
            )
        } else {
            (self.digits[..n - drop].to_vec(), self.digits[n - drop])
        };
        if round && first_dropped >= 5 {
            kept = mag_add(&kept, &[1]);
        }
        // Put back the zeros for negative scales (rounding to tens...).
        let kept = if scale < 0 {
            pow10(trim(kept), (-scale) as usize)
        } else {
            trim(kept)
        };
        let neg = self.neg && !kept.is_empty();
        Numeric {
            kind: Kind::Finite,
            neg,
            digits: kept,
            scale: new_scale,
        }
    }

    /// Integer part, or None when it doesn't fit in i64.
    fn trunc_to_i64(&self) -> Option<i64> {
        if !self.is_finite() {
            return None;
        }
        let n = self.digits.len();
        let s = self.scale as usize;
        let int = if n > s {
            &self.digits[..n - s]
        } else {
            &[][..]
        };
        if int.len() > 19 {
            return None;
        }
        let mut v: i128 = 0;
        for &d in int {
            v = v * 10 + d as i128;
        }
        if self.neg {
            v = -v;
        }
        i64::try_from(v).ok()
    }

    /// Rounded (half away from zero) to an integer, as the numeric -> int
    /// casts do. None when out of i64 range or not finite.
    pub fn to_i64_rounded(&self) -> Option<i64> {
        self.round(0).trunc_to_i64()
    }

    pub fn to_f64(&self) -> f64 {
        match self.kind {
            Kind::NaN => f64::NAN,
            Kind::Inf => {
                if self.neg {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                }
            }
            Kind::Finite => self.to_text().parse::<f64>().unwrap_or(f64::NAN),
        }
    }

    /// float -> numeric as PostgreSQL does it: print with `sig` significant
    /// digits (15 for float8, 6 for float4) and read that back.
    pub fn from_f64(f: f64, sig: usize) -> Result<Numeric, PgError> {
        if f.is_nan() {
            return Ok(Numeric::nan());
        }
        if f.is_infinite() {
            return Ok(Numeric::infinity(f < 0.0));
        }
        let text = format!("{:.*e}", sig.saturating_sub(1), f);
        let n = Numeric::parse(&text).map_err(|_| overflow())?;
        Ok(n.strip_trailing_zeros())
    }

    fn strip_trailing_zeros(mut self) -> Numeric {
        while self.scale > 0 && self.digits.last() == Some(&0) {
            self.digits.pop();
            self.scale -= 1;
        }
        if self.digits.is_empty() {
            self.scale = 0;
            self.neg = false;
        }
        self
    }

    /// Apply a `numeric(p,s)` type modifier: round to s digits, then check
    /// the integer digits fit p - s.
    pub fn apply_typmod(&self, typmod: i32) -> Result<Numeric, PgError> {
        if typmod < 4 || !self.is_finite() {
            if typmod >= 4 && self.kind == Kind::Inf {
                let (p, s) = (((typmod - 4) >> 16) & 0xffff, (typmod - 4) & 0xffff);
                return Err(PgError::error(
                    sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                    "numeric field overflow",
                )
                .with_detail(format!(
                    "A field with precision {p}, scale {s} cannot hold an infinite value."
                )));
            }
            return Ok(self.clone());
        }
        let precision = ((typmod - 4) >> 16) & 0xffff;
        let scale = (typmod - 4) & 0xffff;
        let r = self.round(scale as i64);
        let max_int = (precision - scale) as i64;
        let int_digits = r.digits.len() as i64 - r.scale as i64;
        if !r.digits.is_empty() && int_digits > max_int {
            let limit = if max_int > 0 {
                format!("10^{max_int}")
            } else {
                "1".to_string()
            };
            return Err(PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "numeric field overflow")
                .with_detail(format!(
                    "A field with precision {precision}, scale {scale} must round to an absolute value less than {limit}."
                )));
        }
        Ok(r)
    }

    /// PostgreSQL's binary send format: ndigits, weight, sign, dscale
    /// (all int16), then base-10000 digits.
    pub fn to_binary(&self) -> Vec<u8> {
        let sign: u16 = match (self.kind, self.neg) {
            (Kind::NaN, _) => 0xC000,
            (Kind::Inf, false) => 0xD000,
            (Kind::Inf, true) => 0xF000,
            (Kind::Finite, false) => 0x0000,
            (Kind::Finite, true) => 0x4000,
        };
        let mut groups: Vec<u16> = Vec::new();
        let mut weight: i32 = 0;
        if self.is_finite() && !self.digits.is_empty() {
            let n = self.digits.len() as i64;
            let s = self.scale as i64;
            // Digit at index i has decimal exponent n-1-i-s.
            let top = n - 1 - s;
            let bottom = -s;
            let wtop = top.div_euclid(4);
            let wbot = bottom.div_euclid(4);
            weight = wtop as i32;
            for w in (wbot..=wtop).rev() {
                let mut g = 0u16;
                for exp in (4 * w..=4 * w + 3).rev() {
                    let idx = n - 1 - (exp + s);
                    let d = if idx >= 0 && idx < n {
                        self.digits[idx as usize] as u16
                    } else {
                        0
                    };
                    g = g * 10 + d;
                }
                groups.push(g);
            }
            while groups.last() == Some(&0) {
                groups.pop();
            }
            // Leading groups are never zero: the top digit is nonzero.
        }
        let mut out = Vec::with_capacity(8 + 2 * groups.len());
        out.extend_from_slice(&(groups.len() as u16).to_be_bytes());
        out.extend_from_slice(&(weight as i16).to_be_bytes());
        out.extend_from_slice(&sign.to_be_bytes());
        out.extend_from_slice(
            &(if self.is_finite() {
                self.scale as u16
            } else {
                0
            })
            .to_be_bytes(),
        );
        for g in groups {
            out.extend_from_slice(&g.to_be_bytes());
        }
        out
    }

    /// PostgreSQL's `numeric_recv`. None when the bytes are not a valid
    /// numeric.
    pub fn from_binary(b: &[u8]) -> Option<Numeric> {
        if b.len() < 8 {
            return None;
        }
        let rd = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let ndigits = rd(0) as usize;
        let weight = rd(2) as i16 as i64;
        let sign = rd(4);
        let dscale = rd(6);
        if b.len() != 8 + 2 * ndigits || dscale & 0xC000 != 0 {
            return None;
        }
        match sign {
            0xC000 => return Some(Numeric::nan()),
            0xD000 => return Some(Numeric::infinity(false)),
            0xF000 => return Some(Numeric::infinity(true)),
            0x0000 | 0x4000 => {}
            _ => return None,
        }
        let mut digits = Vec::with_capacity(ndigits * 4);
        for i in 0..ndigits {
            let g = rd(8 + 2 * i);
            if g >= 10000 {
                return None;
            }
            digits.extend_from_slice(&[
                (g / 1000) as u8,
                (g / 100 % 10) as u8,
                (g / 10 % 10) as u8,
                (g % 10) as u8,
            ]);
        }
        // The groups hold exponents 4*weight+3 down to 4*(weight-ndigits+1).
        let lowest_exp = 4 * (weight - ndigits as i64 + 1);
        let dscale = dscale as i64;
        // Scale the digit string so that its last digit has exponent -dscale.
        let shift = lowest_exp + dscale;
        if shift >= 0 {
            if shift as usize > MAX_DIGITS {
                return None;
            }
            digits.resize(digits.len() + shift as usize, 0);
        } else {
            let cut = (-shift) as usize;
            if cut > digits.len() {
                digits.clear();
            } else {
                // PostgreSQL rounds away extra digits beyond dscale; the
                // sender should never send them.
                digits.truncate(digits.len() - cut);
            }
        }
        Numeric::finite(sign == 0x4000, digits, dscale as u32).ok()
    }
}

/// Why `numeric_in` refused its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumericParseError {
    Syntax,
    Overflow,
}

impl std::fmt::Display for Numeric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// What the statistical aggregates over numeric (stddev, variance of
/// integers and numerics; tusk-sql's agg.rs) need beyond the operators:
/// PostgreSQL's result scale of a division, and a square root at that
/// scale, so that `stddev(int4)` prints the digits PostgreSQL prints.
impl Numeric {
    /// The scale PostgreSQL's `numeric / numeric` gives (select_div_scale).
    pub fn quotient_scale(&self, other: &Numeric) -> u32 {
        self.div_scale(other)
    }

    /// Division rounded to `rscale` digits after the point.
    pub fn div_at(&self, other: &Numeric, rscale: u32) -> Result<Numeric, PgError> {
        if other.is_zero() {
            return Err(div_zero());
        }
        self.div_round(other, rscale, true)
    }

    /// The square root rounded to `rscale` digits: Newton's iteration at a
    /// few guard digits from float8's estimate (quadratic convergence, so
    /// a handful of rounds), then one rounding.
    pub fn sqrt_at(&self, rscale: u32) -> Result<Numeric, PgError> {
        if self.is_nan() || (self.kind == Kind::Inf && !self.neg) {
            return Ok(self.clone());
        }
        if self.neg && !self.is_zero() {
            return Err(PgError::error(
                tusk_common::sqlstate::INVALID_ARGUMENT_FOR_POWER_FUNCTION,
                "cannot take square root of a negative number",
            ));
        }
        if self.is_zero() {
            return Ok(Numeric::zero().round(rscale as i64));
        }
        let work = rscale + 8;
        let two = Numeric::from_i64(2);
        let est = self.to_f64().sqrt();
        let mut y = if est.is_finite() && est > 0.0 {
            Numeric::from_f64(est, 17)?
        } else {
            self.clone()
        };
        for _ in 0..2000 {
            let next = self
                .div_round(&y, work, true)?
                .add(&y)?
                .div_round(&two, work, true)?;
            if next.cmp_total(&y) == Ordering::Equal {
                break;
            }
            y = next;
        }
        Ok(y.round(rscale as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Numeric {
        Numeric::parse(s).unwrap()
    }

    #[test]
    fn parse_and_print() {
        for (i, o) in [
            ("1.5", "1.5"),
            ("-0.00", "0.00"),
            ("  42 ", "42"),
            ("1e3", "1000"),
            ("1.5e-3", "0.0015"),
            ("1.50e1", "15.0"),
            (".5", "0.5"),
            ("5.", "5"),
            ("NaN", "NaN"),
            ("-inf", "-Infinity"),
            ("00012.340", "12.340"),
        ] {
            assert_eq!(n(i).to_text(), o, "{i}");
        }
        for bad in ["", "abc", "1.2.3", "1e", "--1", "1e1001", "."] {
            assert!(Numeric::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arithmetic_scales_match_postgres() {
        assert_eq!(n("1.5").add(&n("2.25")).unwrap().to_text(), "3.75");
        assert_eq!(n("1.5").sub(&n("2.25")).unwrap().to_text(), "-0.75");
        assert_eq!(n("1.5").mul(&n("-2.25")).unwrap().to_text(), "-3.375");
        assert_eq!(
            n("1").div(&n("3")).unwrap().to_text(),
            "0.33333333333333333333"
        );
        assert_eq!(
            n("10").div(&n("4")).unwrap().to_text(),
            "2.5000000000000000"
        );
        assert_eq!(
            n("2").div(&n("3")).unwrap().to_text(),
            "0.66666666666666666667"
        );
        assert_eq!(
            n("100000").div(&n("3")).unwrap().to_text(),
            "33333.333333333333"
        );
        assert_eq!(n("7.5").rem(&n("2")).unwrap().to_text(), "1.5");
        assert_eq!(n("-7").rem(&n("2")).unwrap().to_text(), "-1");
        assert_eq!(
            n("1.5").pow(&n("2")).unwrap().to_text(),
            "2.2500000000000000"
        );
        assert_eq!(
            n("2").pow(&n("-1")).unwrap().to_text(),
            "0.5000000000000000"
        );
        assert!(n("9.9").pow(&n("99999999")).is_err());
        assert_eq!(
            n("1").div(&n("0")).unwrap_err().code,
            sqlstate::DIVISION_BY_ZERO
        );
    }

    #[test]
    fn rounding() {
        assert_eq!(n("2.5").round(0).to_text(), "3");
        assert_eq!(n("-2.5").round(0).to_text(), "-3");
        assert_eq!(n("1234.5").round(-2).to_text(), "1200");
        assert_eq!(n("0.004").round(2).to_text(), "0.00");
        assert_eq!(n("9.995").round(2).to_text(), "10.00");
        assert_eq!(n("1.5").round(3).to_text(), "1.500");
        assert_eq!(n("2.5").to_i64_rounded(), Some(3));
        let tm = ((5 << 16) | 2) + 4;
        assert_eq!(n("123.456").apply_typmod(tm).unwrap().to_text(), "123.46");
        let e = n("1234.5").apply_typmod(tm).unwrap_err();
        assert_eq!(
            e.detail.as_deref(),
            Some(
                "A field with precision 5, scale 2 must round to an absolute value less than 10^3."
            )
        );
    }

    #[test]
    fn binary_format() {
        // 1.5: ndigits 2, weight 0, sign 0, dscale 1, digits [1, 5000].
        assert_eq!(
            n("1.5").to_binary(),
            vec![0, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0x13, 0x88]
        );
        // 0: no digits.
        assert_eq!(n("0").to_binary(), vec![0, 0, 0, 0, 0, 0, 0, 0]);
        // -12345.678: weight 1, digits [1, 2345, 6780], dscale 3.
        assert_eq!(
            n("-12345.678").to_binary(),
            vec![0, 3, 0, 1, 0x40, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1A, 0x7C]
        );
        // 0.0001: weight -1, digits [1].
        assert_eq!(
            n("0.0001").to_binary(),
            vec![0, 1, 0xff, 0xff, 0, 0, 0, 4, 0, 1]
        );
        // 10000: weight 1, digits [1].
        assert_eq!(n("10000").to_binary(), vec![0, 1, 0, 1, 0, 0, 0, 0, 0, 1]);
        for s in [
            "1.5",
            "0",
            "-12345.678",
            "0.0001",
            "10000",
            "NaN",
            "123456789.000000001",
            "-0.5",
        ] {
            assert_eq!(
                Numeric::from_binary(&n(s).to_binary()).unwrap().to_text(),
                n(s).to_text(),
                "{s}"
            );
        }
        assert!(Numeric::from_binary(&[0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10]).is_none());
        assert!(Numeric::from_binary(&[0, 1]).is_none());
    }

    #[test]
    fn float_conversion() {
        assert_eq!(Numeric::from_f64(0.1, 15).unwrap().to_text(), "0.1");
        assert_eq!(
            Numeric::from_f64(1.0 / 3.0, 15).unwrap().to_text(),
            "0.333333333333333"
        );
        assert_eq!(
            Numeric::from_f64(1e20, 15).unwrap().to_text(),
            "100000000000000000000"
        );
        assert_eq!(n("2.5").to_f64(), 2.5);
    }

    #[test]
    fn ordering() {
        assert_eq!(n("1.50").cmp_total(&n("1.5")), Ordering::Equal);
        assert_eq!(n("-2").cmp_total(&n("1")), Ordering::Less);
        assert_eq!(n("-2").cmp_total(&n("-10")), Ordering::Greater);
        assert_eq!(n("NaN").cmp_total(&n("Infinity")), Ordering::Greater);
    }
}
