//! `numeric` transcendental and number-theory functions: sqrt, ln, log,
//! exp, non-integer power, scale/min_scale/trim_scale, div, gcd, lcm,
//! factorial, width_bucket — with PostgreSQL 15's result scales.
//!
//! Why this shape: PostgreSQL chooses each result's display scale from a
//! cheap estimate of the result's magnitude (numeric.c's
//! estimate_ln_dweight, select_div_scale-like rules) and then computes the
//! value to that scale. tusk follows the same scale rules, written here
//! from their description, but computes the value its own way: in a
//! fixed-point binary of base-10⁹ limbs with guard digits (Taylor series
//! for exp after halving its argument, Newton's iteration on exp for ln
//! and on the reciprocal square root for sqrt, so no long division is
//! needed), then rounds half away from zero to the chosen scale. The
//! guard digits make the result the correctly rounded one, which is what
//! PostgreSQL prints in all but freak ties. A child module of numeric.rs
//! so that it reads the digit vector directly. Pure functions: any
//! process may call them.

use std::cmp::Ordering;
use std::ops::Not;

use tusk_common::sqlstate::{self, SqlState};
use tusk_common::PgError;

use super::{Kind, Numeric, MAX_DISPLAY_SCALE, MIN_SIG_DIGITS};

/// SQLSTATE 2201E: ln/log of zero or a negative number.
const INVALID_ARGUMENT_FOR_LOG: SqlState = SqlState::new("2201E");
/// SQLSTATE 2201G: width_bucket's count or bounds.
const INVALID_ARGUMENT_FOR_WIDTH_BUCKET: SqlState = SqlState::new("2201G");
/// PostgreSQL's NUMERIC_MAX_RESULT_SCALE (NUMERIC_MAX_PRECISION * 2).
const MAX_RESULT_SCALE: f64 = 2000.0;

fn log_zero() -> PgError {
    PgError::error(INVALID_ARGUMENT_FOR_LOG, "cannot take logarithm of zero")
}

fn log_negative() -> PgError {
    PgError::error(
        INVALID_ARGUMENT_FOR_LOG,
        "cannot take logarithm of a negative number",
    )
}

fn overflow() -> PgError {
    super::overflow()
}

// ---- fixed point: little-endian base-10⁹ limbs, `l` of them fractional ----

const BASE: u64 = 1_000_000_000;

type Limbs = Vec<u32>;

fn norm(mut v: Limbs) -> Limbs {
    while v.last() == Some(&0) {
        v.pop();
    }
    v
}

fn lcmp(a: &[u32], b: &[u32]) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.iter().rev().cmp(b.iter().rev()))
}

fn ladd(a: &[u32], b: &[u32]) -> Limbs {
    let n = a.len().max(b.len());
    let mut out = Vec::with_capacity(n + 1);
    let mut carry = 0u64;
    for i in 0..n {
        let s = *a.get(i).unwrap_or(&0) as u64 + *b.get(i).unwrap_or(&0) as u64 + carry;
        out.push((s % BASE) as u32);
        carry = s / BASE;
    }
    out.push(carry as u32);
    norm(out)
}

/// a - b for a >= b.
fn lsub(a: &[u32], b: &[u32]) -> Limbs {
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0i64;
    for (i, &x) in a.iter().enumerate() {
        let mut d = x as i64 - *b.get(i).unwrap_or(&0) as i64 - borrow;
        if d < 0 {
            d += BASE as i64;
            borrow = 1;
        } else {
            borrow = 0;
        }
        out.push(d as u32);
    }
    norm(out)
}

/// |a - b| and whether a < b.
fn ldiff(a: &[u32], b: &[u32]) -> (Limbs, bool) {
    if lcmp(a, b) == Ordering::Less {
        (lsub(b, a), true)
    } else {
        (lsub(a, b), false)
    }
}

/// Fixed-point product, truncated to `l` fractional limbs.
fn lmul(a: &[u32], b: &[u32], l: usize) -> Limbs {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0u64; a.len() + b.len()];
    for (i, &x) in a.iter().enumerate() {
        if x == 0 {
            continue;
        }
        let mut carry = 0u64;
        for (j, &y) in b.iter().enumerate() {
            let t = out[i + j] + x as u64 * y as u64 + carry;
            out[i + j] = t % BASE;
            carry = t / BASE;
        }
        let mut k = i + b.len();
        while carry > 0 {
            let t = out[k] + carry;
            out[k] = t % BASE;
            carry = t / BASE;
            k += 1;
        }
    }
    norm(out.into_iter().skip(l).map(|d| d as u32).collect())
}

fn lmul_small(a: &[u32], m: u32) -> Limbs {
    let mut out = Vec::with_capacity(a.len() + 1);
    let mut carry = 0u64;
    for &x in a {
        let t = x as u64 * m as u64 + carry;
        out.push((t % BASE) as u32);
        carry = t / BASE;
    }
    while carry > 0 {
        out.push((carry % BASE) as u32);
        carry /= BASE;
    }
    norm(out)
}

fn ldiv_small(a: &[u32], d: u32) -> Limbs {
    let mut out = vec![0u32; a.len()];
    let mut rem = 0u64;
    for i in (0..a.len()).rev() {
        let cur = rem * BASE + a[i] as u64;
        out[i] = (cur / d as u64) as u32;
        rem = cur % d as u64;
    }
    norm(out)
}

fn lone(l: usize) -> Limbs {
    let mut v = vec![0u32; l];
    v.push(1);
    v
}

/// A finite non-negative numeric as `l`-limb fixed point (truncated).
fn to_limbs(n: &Numeric, l: usize) -> Limbs {
    let shift = 9 * l as i64 - n.scale as i64;
    let mut digits = n.digits.clone();
    if shift >= 0 {
        digits.resize(digits.len() + shift as usize, 0);
    } else {
        let keep = digits.len().saturating_sub((-shift) as usize);
        digits.truncate(keep);
    }
    let mut out = Vec::with_capacity(digits.len() / 9 + 1);
    let mut end = digits.len();
    while end > 0 {
        let start = end.saturating_sub(9);
        let mut v = 0u32;
        for &d in &digits[start..end] {
            v = v * 10 + d as u32;
        }
        out.push(v);
        end = start;
    }
    norm(out)
}

fn from_limbs(v: &[u32], l: usize, neg: bool) -> Numeric {
    let mut digits = Vec::with_capacity(v.len() * 9);
    for (i, &x) in v.iter().enumerate().rev() {
        let s = if i + 1 == v.len() {
            x.to_string()
        } else {
            format!("{x:09}")
        };
        digits.extend(s.bytes().map(|b| b - b'0'));
    }
    let digits = super::trim(digits);
    Numeric {
        kind: Kind::Finite,
        neg: neg && !digits.is_empty(),
        digits,
        scale: (9 * l) as u32,
    }
}

fn limbs_for(digits: i64) -> usize {
    (digits.max(9) as usize).div_ceil(9) + 1
}

/// e^r (or e^-r with `neg`) for 0 <= r < ~3, at `l` fractional limbs.
fn lexp(r: &[u32], neg: bool, l: usize) -> Limbs {
    // Halve the argument s times so the series converges fast, then
    // square s times; the squarings amplify the error by 2^s, which the
    // extra limbs absorb.
    let s = ((9.0 * l as f64 * 3.32).sqrt() as u32) + 2;
    let lw = l + (s as usize * 302 / 1000) / 9 + 2;
    let mut x = r.to_vec();
    x.splice(0..0, std::iter::repeat_n(0u32, lw - l));
    let mut left = s;
    while left > 0 {
        let d = left.min(29);
        x = ldiv_small(&x, 1 << d);
        left -= d;
    }
    // Alternating terms for e^-x are summed apart and subtracted once.
    let mut pos = lone(lw);
    let mut negsum: Limbs = Vec::new();
    let mut term = lone(lw);
    let mut k = 1u32;
    loop {
        term = ldiv_small(&lmul(&term, &x, lw), k);
        if term.is_empty() {
            break;
        }
        if neg && k % 2 == 1 {
            negsum = ladd(&negsum, &term);
        } else {
            pos = ladd(&pos, &term);
        }
        k += 1;
    }
    let mut y = lsub(&pos, &negsum);
    for _ in 0..s {
        y = lmul(&y, &y, lw);
    }
    norm(y.into_iter().skip(lw - l).collect())
}

/// `v` with its `n` lowest limbs dropped (fewer fractional limbs).
fn drop_low(v: &[u32], n: usize) -> Limbs {
    if v.len() <= n {
        Vec::new()
    } else {
        norm(v[n..].to_vec())
    }
}

/// ln(m) for 1 <= m <= 10 at `l` fractional limbs: Newton's iteration
/// y += m * e^-y - 1, which doubles the correct digits each step; each
/// step works at only the precision its result can have, so the cost is
/// about two exponentials at full precision.
fn lln(m: &[u32], l: usize) -> Limbs {
    let lw = l + 1;
    let m = {
        let mut v = m.to_vec();
        v.insert(0, 0);
        v
    };
    let mf = from_limbs(&m, lw, false).to_f64();
    let y0 = Numeric::from_f64(mf.ln(), 15).unwrap_or_else(|_| Numeric::zero());
    let mut y = to_limbs(&y0, lw);
    let mut good = 14usize;
    loop {
        let p = ((2 * good).div_ceil(9) + 2).min(lw);
        let drop = lw - p;
        let (mp, yp) = (drop_low(&m, drop), drop_low(&y, drop));
        let t = lmul(&mp, &lexp(&yp, true, p), p);
        let (c, below) = ldiff(&t, &lone(p));
        let yp = if below { lsub(&yp, &c) } else { ladd(&yp, &c) };
        y = std::iter::repeat_n(0u32, drop).chain(yp).collect();
        y = norm(y);
        good *= 2;
        if p == lw && (good > 9 * lw + 9 || c.is_empty()) {
            break;
        }
    }
    drop_low(&y, 1)
}

thread_local! {
    /// ln(10) at the most limbs computed so far in this backend: every
    /// ln and exp of a value far from 1 needs it.
    static LN10: std::cell::RefCell<Option<(usize, Limbs)>> =
        const { std::cell::RefCell::new(None) };
}

/// ln(10) to `digits` places.
fn ln10(digits: i64) -> Numeric {
    let l = limbs_for(digits + 5);
    let cached = LN10.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(have, _)| *have >= l)
            .map(|(have, v)| drop_low(v, have - l))
    });
    let v = match cached {
        Some(v) => v,
        None => {
            let v = lln(&to_limbs(&Numeric::from_i64(10), l), l);
            LN10.with(|c| *c.borrow_mut() = Some((l, v.clone())));
            v
        }
    };
    from_limbs(&v, l, false)
}

impl Numeric {
    fn shifted(&self, k: i64) -> Numeric {
        // self * 10^k, exactly.
        let mut r = self.clone();
        if k >= 0 {
            let k = k as u32;
            if r.scale >= k {
                r.scale -= k;
            } else {
                r.digits = super::pow10(r.digits, (k - r.scale) as usize);
                r.scale = 0;
            }
        } else {
            r.scale += (-k) as u32;
        }
        r
    }

    /// ln(self) for a finite positive value, good to about `digits`
    /// places after the point.
    fn ln_to(&self, digits: i64) -> Numeric {
        let k = self.msd_exponent().unwrap_or(0);
        let m = self.shifted(-k);
        let kd = (k.unsigned_abs().max(1) as f64).log10().ceil() as i64 + 1;
        let l = limbs_for(digits + 10);
        let lnm = from_limbs(&lln(&to_limbs(&m, l), l), l, false);
        if k == 0 {
            return lnm;
        }
        let t = ln10(digits + kd + 10)
            .mul(&Numeric::from_i64(k))
            .unwrap_or_else(|_| Numeric::zero());
        lnm.add(&t).unwrap_or_else(|_| Numeric::zero())
    }

    /// e^self rounded to `rscale`, for |self| <= 6000.
    fn exp_to(&self, rscale: i64) -> Result<Numeric, PgError> {
        let vf = self.to_f64();
        let k = (vf / std::f64::consts::LN_10).floor() as i64;
        let want = (rscale + k + 12).max(12);
        let kd = (k.unsigned_abs().max(1) as f64).log10().ceil() as i64 + 1;
        let r = if k == 0 {
            self.clone()
        } else {
            self.sub(&ln10(want + kd + 5).mul(&Numeric::from_i64(k))?)?
        };
        let l = limbs_for(want);
        let e = from_limbs(&lexp(&to_limbs(&r.abs(), l), r.neg, l), l, false);
        Ok(e.shifted(k).round(rscale))
    }

    /// sqrt(self) rounded to `rscale`, for finite self >= 0.
    fn sqrt_to(&self, rscale: i64) -> Numeric {
        if self.is_zero() {
            return Numeric::zero().round(rscale);
        }
        let k = self.msd_exponent().unwrap_or(0);
        let j = k.div_euclid(2);
        let m = self.shifted(-2 * j); // in [1, 100)
        let l = limbs_for(rscale + j + 12);
        let ml = to_limbs(&m, l);
        // Newton on r = 1/sqrt(m): r += r * (1 - m r^2) / 2.
        let r0 = 1.0 / m.to_f64().sqrt();
        let mut r = to_limbs(
            &Numeric::from_f64(r0, 15).unwrap_or_else(|_| Numeric::zero()),
            l,
        );
        let one = lone(l);
        let mut good = 14.0f64;
        loop {
            let t = lmul(&ml, &lmul(&r, &r, l), l);
            let (c, above) = ldiff(&one, &t);
            let corr = ldiv_small(&lmul(&r, &c, l), 2);
            if above {
                r = lsub(&r, &corr);
            } else {
                r = ladd(&r, &corr);
            }
            good *= 2.0;
            if good > 9.0 * l as f64 + 9.0 || corr.is_empty() {
                break;
            }
        }
        from_limbs(&lmul(&ml, &r, l), l, false)
            .shifted(j)
            .round(rscale)
    }

    /// PostgreSQL's estimate_ln_dweight: the decimal weight of ln(self).
    fn ln_dweight(&self) -> i64 {
        if self.neg || !self.is_finite() {
            return 0;
        }
        let p9 = Numeric::parse("0.9").expect("constant");
        let p11 = Numeric::parse("1.1").expect("constant");
        if self.cmp_total(&p9) != Ordering::Less && self.cmp_total(&p11) != Ordering::Greater {
            let x = self
                .sub(&Numeric::from_i64(1))
                .unwrap_or_else(|_| Numeric::zero());
            return x.msd_exponent().unwrap_or(0);
        }
        if self.is_zero() {
            return 0;
        }
        // The first two base-10000 groups, as PostgreSQL reads them.
        let (w, _) = self.weight_and_first_group();
        let mut digits = 0f64;
        for g in 0..2 {
            let mut v = 0u32;
            for exp in (4 * (w - g)..=4 * (w - g) + 3).rev() {
                let idx = self.digits.len() as i64 - 1 - (exp + self.scale as i64);
                let d = if idx >= 0 && (idx as usize) < self.digits.len() {
                    self.digits[idx as usize] as u32
                } else {
                    0
                };
                v = v * 10 + d;
            }
            digits = digits * 10000.0 + v as f64;
        }
        let dweight = (w - 1) * 4;
        let ln_var = digits.ln() + dweight as f64 * std::f64::consts::LN_10;
        ln_var.abs().log10() as i64
    }

    /// `sqrt(numeric)`.
    pub fn sqrt(&self) -> Result<Numeric, PgError> {
        if self.is_nan() {
            return Ok(Numeric::nan());
        }
        if self.neg {
            return Err(PgError::error(
                sqlstate::INVALID_ARGUMENT_FOR_POWER_FUNCTION,
                "cannot take square root of a negative number",
            ));
        }
        if self.kind == Kind::Inf {
            return Ok(self.clone());
        }
        // PostgreSQL: half the input's decimal weight (in whole groups)
        // below 16 significant digits, at least the input's scale.
        let (w, _) = self.weight_and_first_group();
        let w = if self.is_zero() { 0 } else { w };
        let sweight = (w + 1) * 4 / 2 - 1;
        let rscale = (MIN_SIG_DIGITS - sweight)
            .max(self.scale as i64)
            .clamp(0, MAX_DISPLAY_SCALE);
        Ok(self.sqrt_to(rscale))
    }

    /// `ln(numeric)`.
    pub fn ln(&self) -> Result<Numeric, PgError> {
        if self.is_nan() {
            return Ok(Numeric::nan());
        }
        if self.neg {
            return Err(log_negative());
        }
        if self.is_zero() {
            return Err(log_zero());
        }
        if self.kind == Kind::Inf {
            return Ok(self.clone());
        }
        let rscale = (MIN_SIG_DIGITS - self.ln_dweight())
            .max(self.scale as i64)
            .clamp(0, MAX_DISPLAY_SCALE);
        Ok(self.ln_to(rscale + 5).round(rscale))
    }

    /// `log(base, self)`; `log(x)` is `log(10, x)`.
    pub fn log(&self, base: &Numeric) -> Result<Numeric, PgError> {
        let (b, x) = (base, self);
        if !b.is_finite() || !x.is_finite() {
            if b.is_nan() || x.is_nan() {
                return Ok(Numeric::nan());
            }
            if b.neg || x.neg {
                return Err(log_negative());
            }
            if b.is_zero() || x.is_zero() {
                return Err(log_zero());
            }
            if b.kind == Kind::Inf {
                return Ok(if x.kind == Kind::Inf {
                    Numeric::nan()
                } else {
                    Numeric::zero()
                });
            }
            return Ok(Numeric::infinity(false));
        }
        for v in [b, x] {
            if v.neg {
                return Err(log_negative());
            }
            if v.is_zero() {
                return Err(log_zero());
            }
        }
        let bd = b.ln_dweight();
        let xd = x.ln_dweight();
        let result_dweight = xd - bd;
        let rscale = (MIN_SIG_DIGITS - result_dweight)
            .max(b.scale as i64)
            .max(x.scale as i64)
            .clamp(0, MAX_DISPLAY_SCALE);
        // Both logarithms with more significant digits than the result.
        let lb = b.ln_to(rscale + result_dweight - bd + 12);
        let lx = x.ln_to(rscale + result_dweight - xd + 12);
        if lb.round_wide(rscale + result_dweight - bd + 8).is_zero() {
            return Err(super::div_zero());
        }
        lx.div_round(&lb, rscale.max(0) as u32, true)
    }

    /// `exp(numeric)`.
    pub fn exp(&self) -> Result<Numeric, PgError> {
        if self.is_nan() {
            return Ok(Numeric::nan());
        }
        if self.kind == Kind::Inf {
            return Ok(if self.neg {
                Numeric::zero()
            } else {
                self.clone()
            });
        }
        let v = self.to_f64();
        let w = (v * std::f64::consts::LOG10_E).clamp(-MAX_RESULT_SCALE, MAX_RESULT_SCALE);
        let rscale = (MIN_SIG_DIGITS - w as i64)
            .max(self.scale as i64)
            .clamp(0, MAX_DISPLAY_SCALE);
        if v.abs() > MAX_RESULT_SCALE * 3.0 {
            if v > 0.0 {
                return Err(overflow());
            }
            return Ok(Numeric::zero().round(rscale));
        }
        self.exp_to(rscale)
    }

    /// `base ^ exp` for a positive base and a non-integer (or huge)
    /// exponent: e^(exp * ln(base)), scaled as PostgreSQL's power_var.
    pub(super) fn pow_real(&self, exp: &Numeric) -> Result<Numeric, PgError> {
        if self.is_zero() {
            return Ok(Numeric::zero().round(MIN_SIG_DIGITS));
        }
        let ln_dweight = self.ln_dweight();
        // A low-precision e*ln(b) first, as PostgreSQL's estimate.
        let local = (8 - ln_dweight).max(0);
        let ln_base = self.ln_to(local + 5).round_wide(local);
        let ln_num = ln_base.mul(exp)?.round_wide(local);
        let val = ln_num.to_f64();
        if val.abs() > MAX_RESULT_SCALE * 3.01 {
            if val > 0.0 {
                return Err(overflow());
            }
            return Ok(Numeric::zero().round(MAX_DISPLAY_SCALE));
        }
        // PostgreSQL's literal, not LOG10_E: the scale estimate must
        // truncate exactly where PostgreSQL's does.
        #[allow(clippy::approx_constant)]
        let val = val * 0.434294481903252;
        let rscale = (MIN_SIG_DIGITS - val as i64)
            .max(self.scale as i64)
            .max(exp.scale as i64)
            .clamp(0, MAX_DISPLAY_SCALE);
        let sig = (rscale + val as i64).max(0);
        let ed = exp.msd_exponent().unwrap_or(0).max(0) + 1;
        let lnb = self.ln_to(sig + ed + 12);
        let v = lnb.mul(exp)?;
        let v = v.round_wide(sig + 12);
        if v.to_f64().abs() > MAX_RESULT_SCALE * 3.0 {
            if v.neg {
                return Ok(Numeric::zero().round(rscale));
            }
            return Err(overflow());
        }
        v.exp_to(rscale)
    }

    /// PostgreSQL 15's `numeric ^ numeric` when an operand is NaN or
    /// infinite (POSIX pow's rules, after its errors); `None` for two
    /// finite operands.
    pub(super) fn pow_special(&self, exp: &Numeric) -> Option<Result<Numeric, PgError>> {
        if self.is_finite() && exp.is_finite() {
            return None;
        }
        let one = Numeric::from_i64(1);
        if self.is_nan() {
            return Some(Ok(if exp.is_zero() { one } else { Numeric::nan() }));
        }
        if exp.is_nan() {
            return Some(Ok(if self.cmp_total(&one) == Ordering::Equal {
                one
            } else {
                Numeric::nan()
            }));
        }
        let sign = |n: &Numeric| {
            if n.is_zero() {
                0
            } else if n.neg {
                -1
            } else {
                1
            }
        };
        let (s1, s2) = (sign(self), sign(exp));
        let integral = !exp.is_finite() || exp.trunc(0).cmp_total(exp) == Ordering::Equal;
        if s1 == 0 && s2 < 0 {
            return Some(Err(PgError::error(
                sqlstate::INVALID_ARGUMENT_FOR_POWER_FUNCTION,
                "zero raised to a negative power is undefined",
            )));
        }
        if s1 < 0 && !integral {
            return Some(Err(PgError::error(
                sqlstate::INVALID_ARGUMENT_FOR_POWER_FUNCTION,
                "a negative number raised to a non-integer power yields a complex result",
            )));
        }
        let inf = Numeric::infinity(false);
        Some(Ok(if exp.kind == Kind::Inf {
            let c = self.abs().cmp_total(&one);
            match (c, exp.neg) {
                (Ordering::Equal, _) => one,
                (Ordering::Less, false) | (Ordering::Greater, true) => Numeric::zero(),
                _ => inf,
            }
        } else if s2 == 0 {
            one
        } else if s1 > 0 {
            if s2 > 0 {
                inf
            } else {
                Numeric::zero()
            }
        } else {
            // -Infinity to a finite integer power: odd keeps the sign.
            let odd = exp
                .rem(&Numeric::from_i64(2))
                .map(|r| !r.is_zero())
                .unwrap_or(false);
            if s2 < 0 {
                Numeric::zero()
            } else if odd {
                Numeric::infinity(true)
            } else {
                inf
            }
        }))
    }

    /// `base ^ e` for an integer exponent too large to multiply out:
    /// e^(e * ln|base|) at the integer power's scale, with the sign of an
    /// odd power of a negative base.
    pub(super) fn pow_int_huge(&self, exp: &Numeric, rscale: i64) -> Result<Numeric, PgError> {
        let one = Numeric::from_i64(1);
        let base = self.abs();
        let odd = exp.rem(&Numeric::from_i64(2))?.is_zero().not();
        if base.cmp_total(&one) == Ordering::Equal {
            return Ok((if self.neg && odd { one.neg() } else { one }).round(rscale));
        }
        let val = exp.to_f64() * base.to_f64().log10();
        if val > MAX_RESULT_SCALE * 3.0 * std::f64::consts::LOG10_E {
            return Err(overflow());
        }
        if val < -(rscale as f64) - 2.0 {
            return Ok(Numeric::zero().round(rscale));
        }
        let sig = (rscale + val as i64).max(0);
        let ed = exp.msd_exponent().unwrap_or(0).max(0) + 1;
        let v = base.ln_to(sig + ed + 12).mul(exp)?.round_wide(sig + 12);
        let r = v.exp_to(rscale)?;
        Ok(if self.neg && odd { r.neg() } else { r })
    }

    /// `scale(numeric)`: the display scale; NULL for NaN and infinities.
    pub fn display_scale(&self) -> Option<i32> {
        self.is_finite().then_some(self.scale as i32)
    }

    /// `min_scale(numeric)`: digits after the point without the
    /// trailing zeros.
    pub fn min_scale(&self) -> Option<i32> {
        if !self.is_finite() {
            return None;
        }
        if self.digits.is_empty() {
            return Some(0);
        }
        let zeros = self.digits.iter().rev().take_while(|&&d| d == 0).count();
        Some((self.scale as i64 - zeros as i64).max(0) as i32)
    }

    /// `trim_scale(numeric)`: the value with the trailing fractional
    /// zeros dropped.
    pub fn trim_scale(&self) -> Numeric {
        match self.min_scale() {
            Some(s) => self.round(s as i64),
            None => self.clone(),
        }
    }

    /// `div(a, b)`: the integer quotient, truncated toward zero.
    pub fn div_trunc(&self, other: &Numeric) -> Result<Numeric, PgError> {
        if self.is_nan() || other.is_nan() {
            return Ok(Numeric::nan());
        }
        if other.is_zero() {
            return Err(super::div_zero());
        }
        match (self.kind, other.kind) {
            (Kind::Inf, Kind::Inf) => return Ok(Numeric::nan()),
            (Kind::Inf, _) => return Ok(Numeric::infinity(self.neg != other.neg)),
            (_, Kind::Inf) => return Ok(Numeric::zero()),
            _ => {}
        }
        self.div_round(other, 0, false)
    }

    /// `gcd(a, b)`: non-negative, at the larger of the two scales.
    pub fn gcd(&self, other: &Numeric) -> Result<Numeric, PgError> {
        if !self.is_finite() || !other.is_finite() {
            return Ok(Numeric::nan());
        }
        let s = self.scale.max(other.scale);
        let (mut a, mut b) = (self.scaled_to(s), other.scaled_to(s));
        while !b.is_empty() {
            let (_, r) = super::mag_divmod(&a, &b);
            a = b;
            b = r;
        }
        Numeric::finite(false, a, s)
    }

    /// `lcm(a, b)`: |a*b| / gcd(a, b), zero when either is zero.
    pub fn lcm(&self, other: &Numeric) -> Result<Numeric, PgError> {
        if !self.is_finite() || !other.is_finite() {
            return Ok(Numeric::nan());
        }
        let s = self.scale.max(other.scale);
        if self.is_zero() || other.is_zero() {
            return Ok(Numeric::zero().round(s as i64));
        }
        let g = self.gcd(other)?;
        let q = self.abs().div_round(&g, 0, false)?;
        let r = q.mul(&other.abs())?;
        Ok(r.round(s as i64))
    }

    /// `factorial(bigint)`.
    pub fn factorial(n: i64) -> Result<Numeric, PgError> {
        if n < 0 {
            return Err(PgError::error(
                sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                "factorial of a negative number is undefined",
            ));
        }
        // 4000! is about 12674 digits: beyond that it overflows.
        if n > 4000 {
            return Err(overflow());
        }
        let mut acc: Limbs = vec![1];
        for i in 2..=n as u32 {
            acc = lmul_small(&acc, i);
        }
        Ok(from_limbs(&acc, 0, false))
    }
}

/// `width_bucket(op, low, high, count)` over numerics.
pub fn width_bucket(
    op: &Numeric,
    low: &Numeric,
    high: &Numeric,
    count: i32,
) -> Result<i32, PgError> {
    if count <= 0 {
        return Err(PgError::error(
            INVALID_ARGUMENT_FOR_WIDTH_BUCKET,
            "count must be greater than zero",
        ));
    }
    if op.is_nan() || low.is_nan() || high.is_nan() {
        return Err(PgError::error(
            INVALID_ARGUMENT_FOR_WIDTH_BUCKET,
            "operand, lower bound, and upper bound cannot be NaN",
        ));
    }
    if !low.is_finite() || !high.is_finite() {
        return Err(PgError::error(
            INVALID_ARGUMENT_FOR_WIDTH_BUCKET,
            "lower and upper bounds must be finite",
        ));
    }
    let c = low.cmp_total(high);
    if c == Ordering::Equal {
        return Err(PgError::error(
            INVALID_ARGUMENT_FOR_WIDTH_BUCKET,
            "lower bound cannot equal upper bound",
        ));
    }
    let cnt = Numeric::from_i64(count as i64);
    let bucket = |num: Numeric, den: Numeric| -> Result<i32, PgError> {
        // PostgreSQL 15 multiplies by the count, divides (rounded at the
        // division's scale), adds one and takes the floor; the rounding is
        // part of its answer (10 * 1e100 / (1e100 + 1) is 10).
        let q = num.mul(&cnt)?.div(&den)?.add(&Numeric::from_i64(1))?;
        let f = q.trunc(0);
        let f = if q.neg && f.cmp_total(&q) != Ordering::Equal {
            f.sub(&Numeric::from_i64(1))?
        } else {
            f
        };
        Ok(f.trunc_to_i64().unwrap_or(0) as i32)
    };
    let overflow_bucket = || {
        count.checked_add(1).ok_or_else(|| {
            PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range")
        })
    };
    if c == Ordering::Less {
        if op.cmp_total(low) == Ordering::Less {
            Ok(0)
        } else if op.cmp_total(high) != Ordering::Less {
            overflow_bucket()
        } else {
            bucket(op.sub(low)?, high.sub(low)?)
        }
    } else if op.cmp_total(low) == Ordering::Greater {
        Ok(0)
    } else if op.cmp_total(high) != Ordering::Greater {
        overflow_bucket()
    } else {
        bucket(low.sub(op)?, low.sub(high)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Numeric {
        Numeric::parse(s).unwrap()
    }

    #[test]
    fn sqrt_ln_exp_match_postgres_digits() {
        assert_eq!(n("2").sqrt().unwrap().to_text(), "1.414213562373095");
        assert_eq!(n("2").ln().unwrap().to_text(), "0.6931471805599453");
        assert_eq!(n("1").exp().unwrap().to_text(), "2.7182818284590452");
        assert_eq!(n("8").log(&n("2")).unwrap().to_text(), "3.0000000000000000");
        assert_eq!(
            n("2").log(&n("10")).unwrap().to_text(),
            "0.3010299956639812"
        );
        assert_eq!(
            n("2").pow(&n("0.5")).unwrap().to_text(),
            "1.4142135623730950"
        );
    }

    #[test]
    fn long_results_match_a_second_computation() {
        // ln(10) at 1000 places from the cache truncated equals a fresh
        // computation at 200 places, and exp(ln(x)) gives x back.
        let a = ln10(1000).round(200);
        LN10.with(|c| *c.borrow_mut() = None);
        assert_eq!(ln10(200).round(200), a);
        assert!(a
            .to_text()
            .starts_with("2.302585092994045684017991454684364207601"));
        let x = n("123.456");
        let back = x.ln_to(60).exp_to(50).unwrap();
        assert_eq!(
            back.round(40).to_text(),
            format!("123.456{}", "0".repeat(37))
        );
    }

    #[test]
    fn results_at_the_display_limit_keep_their_guard_digits() {
        // PostgreSQL 15: power(1.333...(999 threes), 123.456) at scale 999
        // ends ...4487255108624018 (checked with Python's decimal too).
        let b = n(&format!("1.{}", "3".repeat(999)));
        let r = b.pow(&n("123.456")).unwrap().to_text();
        assert_eq!(r.len(), 16 + 1 + 999);
        assert!(r.starts_with("2657276009994007.42902980325084999312"));
        assert!(r.ends_with("4487255108624018"), "{}", &r[r.len() - 30..]);
    }

    #[test]
    fn errors_carry_postgres_sqlstates() {
        assert_eq!(n("0").ln().unwrap_err().code, "2201E");
        assert_eq!(n("-1").ln().unwrap_err().code, "2201E");
        assert_eq!(n("-1").sqrt().unwrap_err().code, "2201F");
        assert_eq!(n("1").log(&n("1")).unwrap_err().code, "22012");
    }

    #[test]
    fn scales_and_integer_functions() {
        assert_eq!(n("1.2300").min_scale(), Some(2));
        assert_eq!(n("1.2300").trim_scale().to_text(), "1.23");
        assert_eq!(n("-7.5").div_trunc(&n("2")).unwrap().to_text(), "-3");
        assert_eq!(n("12").gcd(&n("-18")).unwrap().to_text(), "6");
        assert_eq!(n("4").lcm(&n("6")).unwrap().to_text(), "12");
        assert_eq!(
            Numeric::factorial(20).unwrap().to_text(),
            "2432902008176640000"
        );
        assert_eq!(width_bucket(&n("5"), &n("0"), &n("10"), 5).unwrap(), 3);
        assert_eq!(width_bucket(&n("10"), &n("0"), &n("10"), 5).unwrap(), 6);
        assert_eq!(width_bucket(&n("5"), &n("10"), &n("0"), 5).unwrap(), 3);
        // PostgreSQL 15's rounding of the quotient.
        assert_eq!(
            width_bucket(&n("0"), &n("-1e100"), &n("1"), 10).unwrap(),
            11
        );
        assert_eq!(n("0.00").min_scale(), Some(0));
        assert_eq!(width_bucket(&n("20"), &n("10"), &n("100"), 9).unwrap(), 2);
    }
}
