//! `money`: a 64-bit count of cents, with PostgreSQL's input, output and
//! arithmetic as they behave under `lc_monetary = C`.
//!
//! Why only the C locale: tusk runs every session with C locales (the
//! server never calls setlocale for LC_MONETARY), and under C PostgreSQL
//! falls back to `$`, `.`, `,`, two fraction digits and groups of three,
//! so those are constants here rather than a locale lookup.

use tusk_common::sqlstate;
use tusk_common::PgError;

const FRAC_DIGITS: u32 = 2;

fn syntax(s: &str) -> PgError {
    PgError::error(
        sqlstate::INVALID_TEXT_REPRESENTATION,
        format!("invalid input syntax for type money: \"{s}\""),
    )
}

fn value_out_of_range(s: &str) -> PgError {
    PgError::error(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        format!("value \"{s}\" is out of range for type money"),
    )
}

/// The error of arithmetic leaving the 64-bit range.
pub fn out_of_range() -> PgError {
    PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "money out of range")
}

pub fn division_by_zero() -> PgError {
    PgError::error(sqlstate::DIVISION_BY_ZERO, "division by zero")
}

/// cash_in: optional blanks and `$`, a sign (`-` or an opening paren),
/// digits with `,` separators and at most one `.`; a third fraction digit
/// rounds half up; trailing blanks, `)`, signs and `$` are allowed.
/// The value is built negative so that the most negative amount fits.
pub fn parse(s: &str) -> Result<i64, PgError> {
    let b = s.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while b.get(*i).is_some_and(|c| c.is_ascii_whitespace()) {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if b.get(i) == Some(&b'$') {
        i += 1;
    }
    skip_ws(&mut i);
    let mut negative = false;
    match b.get(i) {
        Some(b'-') | Some(b'(') => {
            negative = true;
            i += 1;
        }
        Some(b'+') => i += 1,
        _ => {}
    }
    skip_ws(&mut i);
    if b.get(i) == Some(&b'$') {
        i += 1;
    }
    skip_ws(&mut i);
    let mut value: i64 = 0;
    let mut seen_dot = false;
    let mut dec = 0;
    while let Some(&c) = b.get(i) {
        if c.is_ascii_digit() && (!seen_dot || dec < FRAC_DIGITS) {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_sub((c - b'0') as i64))
                .ok_or_else(|| value_out_of_range(s))?;
            if seen_dot {
                dec += 1;
            }
        } else if c == b'.' && !seen_dot {
            seen_dot = true;
        } else if c != b',' {
            break;
        }
        i += 1;
    }
    if b.get(i).is_some_and(|c| (b'5'..=b'9').contains(c)) {
        value = value.checked_sub(1).ok_or_else(|| value_out_of_range(s))?;
    }
    while dec < FRAC_DIGITS {
        value = value.checked_mul(10).ok_or_else(|| value_out_of_range(s))?;
        dec += 1;
    }
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    while let Some(&c) = b.get(i) {
        match c {
            b'-' => negative = true,
            c if c.is_ascii_whitespace() || matches!(c, b')' | b'+' | b'$') => {}
            _ => return Err(syntax(s)),
        }
        i += 1;
    }
    if negative {
        Ok(value)
    } else {
        value.checked_neg().ok_or_else(|| value_out_of_range(s))
    }
}

/// cash_out under C: `$1,234.56`, `-$0.01`.
pub fn format(v: i64) -> String {
    let mag = v.unsigned_abs();
    let whole = (mag / 100).to_string();
    let mut out = String::with_capacity(whole.len() * 4 / 3 + 6);
    if v < 0 {
        out.push('-');
    }
    out.push('$');
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out.push_str(&format!(".{:02}", mag % 100));
    out
}

/// cash_mul_flt8 / cash_div_flt8's rounding: the nearest cent (ties to
/// even, as rint), and an error when that is not a 64-bit amount.
pub fn from_f64(f: f64) -> Result<i64, PgError> {
    let r = f.round_ties_even();
    // 2^63 as f64 is exactly representable; anything at or past it (and
    // NaN) does not fit.
    if r.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
        return Err(out_of_range());
    }
    Ok(r as i64)
}

fn num_word(v: u64) -> String {
    const SMALL: [&str; 28] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
    ];
    let tens = |t: u64| SMALL[(18 + t) as usize];
    let tu = v % 100;
    if v <= 20 {
        return SMALL[v as usize].into();
    }
    let hundreds = SMALL[(v / 100) as usize];
    if tu == 0 {
        return format!("{hundreds} hundred");
    }
    let rest = if v.is_multiple_of(10) && tu > 10 {
        tens(tu / 10).to_string()
    } else if tu < 20 {
        SMALL[tu as usize].to_string()
    } else {
        format!("{} {}", tens(tu / 10), SMALL[(v % 10) as usize])
    };
    if v > 99 {
        if v.is_multiple_of(10) && tu > 10 {
            format!("{hundreds} hundred {rest}")
        } else if tu < 20 {
            format!("{hundreds} hundred and {rest}")
        } else {
            format!("{hundreds} hundred {rest}")
        }
    } else {
        rest
    }
}

/// cash_words: the amount in English words, first letter capitalised.
pub fn words(v: i64) -> String {
    let mut buf = String::new();
    if v < 0 {
        buf.push_str("minus ");
    }
    let val = v.unsigned_abs();
    let cents = val % 100;
    let groups = [
        (100_000_000_000_000_000u64, " quadrillion "),
        (100_000_000_000_000, " trillion "),
        (100_000_000_000, " billion "),
        (100_000_000, " million "),
        (100_000, " thousand "),
    ];
    let start = buf.len();
    for (div, word) in groups {
        let m = (val / div) % 1000;
        if m != 0 {
            buf.push_str(&num_word(m));
            buf.push_str(word);
        }
    }
    let m1 = (val / 100) % 1000;
    if m1 != 0 {
        buf.push_str(&num_word(m1));
    }
    if buf.len() == start {
        buf.push_str("zero");
    }
    buf.push_str(if val / 100 == 1 {
        " dollar and "
    } else {
        " dollars and "
    });
    buf.push_str(&num_word(cents));
    buf.push_str(if cents == 1 { " cent" } else { " cents" });
    let mut c = buf.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => buf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_and_output_as_postgres_with_c_locale() {
        let cases = [
            ("123", "$123.00"),
            ("$123.451", "$123.45"),
            ("$123.455", "$123.46"),
            ("$123.459", "$123.46"),
            ("(1)", "-$1.00"),
            ("($123,456.78)", "-$123,456.78"),
            ("  $ - 12", "-$12.00"),
            ("12-", "-$12.00"),
            ("1,2,3.4", "$123.40"),
            ("", "$0.00"),
            ("-92233720368547758.08", "-$92,233,720,368,547,758.08"),
            ("92233720368547758.07", "$92,233,720,368,547,758.07"),
            ("-0.01", "-$0.01"),
        ];
        for (i, o) in cases {
            assert_eq!(format(parse(i).unwrap()), o, "{i}");
        }
        let e = parse("$1.2.3").unwrap_err();
        assert_eq!(e.code, "22P02");
        assert_eq!(e.message, "invalid input syntax for type money: \"$1.2.3\"");
        for s in [
            "92233720368547758.08",
            "-92233720368547758.09",
            "92233720368547758.075",
            "123456789012345678",
        ] {
            let e = parse(s).unwrap_err();
            assert_eq!(e.code, "22003", "{s}");
            assert_eq!(
                e.message,
                format!("value \"{s}\" is out of range for type money")
            );
        }
    }

    #[test]
    fn words_as_postgres() {
        assert_eq!(
            words(-123_456),
            "Minus one thousand two hundred thirty four dollars and fifty six cents"
        );
        assert_eq!(words(0), "Zero dollars and zero cents");
        assert_eq!(words(101), "One dollar and one cent");
        assert_eq!(words(100_000), "One thousand  dollars and zero cents");
        assert_eq!(
            words(11_500),
            "One hundred and fifteen dollars and zero cents"
        );
        assert_eq!(
            words(12_300),
            "One hundred twenty three dollars and zero cents"
        );
    }

    #[test]
    fn float_rounding_and_range() {
        assert_eq!(from_f64(2.5).unwrap(), 2);
        assert_eq!(from_f64(-3.5).unwrap(), -4);
        assert!(from_f64(f64::NAN).is_err());
        assert!(from_f64(f64::INFINITY).is_err());
        assert!(from_f64(9.3e18).is_err());
    }
}
