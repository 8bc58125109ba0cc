//! Numbers with units, booleans, and their display, exactly as PostgreSQL
//! 15's guc.c reads and prints them.
//!
//! Exactness matters here more than elegance: operators paste values from
//! PostgreSQL's documentation and tools compare `SHOW` output as text, so
//! the accepted spellings (octal and hex integers, fractional values with a
//! unit, whitespace before the unit, case-sensitive unit names), the
//! rounding (to the nearest multiple of the next smaller unit, then to an
//! integer, ties to even as C's rint) and the display (largest unit that
//! divides the value exactly) follow PostgreSQL's rules.

use crate::Unit;

/// What went wrong reading a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumError {
    /// Not a number at all, or a unit on a setting that has none.
    NotNumber,
    /// A number followed by something that is not a unit of this setting.
    BadUnit,
    /// Beyond the 32-bit range of PostgreSQL's integer settings.
    Overflow,
}

pub(crate) const MEMORY_UNITS_HINT: &str =
    "Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".";
pub(crate) const TIME_UNITS_HINT: &str =
    "Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\".";

/// Memory units from largest to smallest, in bytes.
const MEMORY_UNITS: &[(&str, f64)] = &[
    ("TB", 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ("GB", 1024.0 * 1024.0 * 1024.0),
    ("MB", 1024.0 * 1024.0),
    ("kB", 1024.0),
    ("B", 1.0),
];

/// Time units from largest to smallest, in microseconds.
const TIME_UNITS: &[(&str, f64)] = &[
    ("d", 86_400_000_000.0),
    ("h", 3_600_000_000.0),
    ("min", 60_000_000.0),
    ("s", 1_000_000.0),
    ("ms", 1_000.0),
    ("us", 1.0),
];

/// The unit table for a base unit and the size of one base unit in the
/// table's measure (bytes or microseconds).
fn table(base: Unit) -> Option<(&'static [(&'static str, f64)], f64)> {
    Some(match base {
        Unit::None => return None,
        Unit::B => (MEMORY_UNITS, 1.0),
        Unit::Kb => (MEMORY_UNITS, 1024.0),
        Unit::Mb => (MEMORY_UNITS, 1024.0 * 1024.0),
        Unit::Blocks | Unit::WalBlocks => (MEMORY_UNITS, 8192.0),
        Unit::Ms => (TIME_UNITS, 1_000.0),
        Unit::S => (TIME_UNITS, 1_000_000.0),
        Unit::Min => (TIME_UNITS, 60_000_000.0),
    })
}

/// The hint listing the units a setting accepts.
pub(crate) fn units_hint(base: Unit) -> &'static str {
    if base.is_memory() {
        MEMORY_UNITS_HINT
    } else {
        TIME_UNITS_HINT
    }
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn skip_space(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    i
}

/// C's `strtol(s, &end, 0)`: leading space, sign, then hex (`0x`), octal
/// (leading `0`) or decimal. Returns the value (None on overflow) and the
/// index where parsing stopped (0 if no digits at all).
fn strtol(s: &[u8]) -> (Option<i64>, usize) {
    let mut i = skip_space(s, 0);
    let neg = match s.get(i) {
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
    let (radix, start) = if s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && s.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
    {
        (16, i + 2)
    } else if s.get(i) == Some(&b'0') {
        (8, i)
    } else {
        (10, i)
    };
    let mut j = start;
    let mut acc: Option<i64> = Some(0);
    while let Some(d) = s.get(j).and_then(|c| (*c as char).to_digit(radix)) {
        acc = acc
            .and_then(|a| a.checked_mul(radix as i64))
            .and_then(|a| a.checked_add(d as i64));
        j += 1;
    }
    if j == start {
        return (Some(0), 0);
    }
    (acc.map(|a| if neg { -a } else { a }), j)
}

/// C's `strtod` for decimal input: leading space, sign, digits with an
/// optional fraction, an optional exponent, and `inf`/`infinity`/`nan`.
/// Returns the value and where parsing stopped (0 if nothing was read).
fn strtod(s: &[u8]) -> (f64, usize) {
    let begin = skip_space(s, 0);
    let mut i = begin;
    if matches!(s.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    let rest = &s[i..];
    for word in ["infinity", "inf", "nan"] {
        if rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word.as_bytes()) {
            let end = i + word.len();
            let text = std::str::from_utf8(&s[begin..end]).unwrap_or("nan");
            return (text.parse::<f64>().unwrap_or(f64::NAN), end);
        }
    }
    let digits_start = i;
    while s.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut ndigits = i - digits_start;
    if s.get(i) == Some(&b'.') {
        let mut k = i + 1;
        while s.get(k).is_some_and(u8::is_ascii_digit) {
            k += 1;
        }
        ndigits += k - i - 1;
        if ndigits > 0 {
            i = k;
        }
    }
    if ndigits == 0 {
        return (0.0, 0);
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut k = i + 1;
        if matches!(s.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let exp_start = k;
        while s.get(k).is_some_and(u8::is_ascii_digit) {
            k += 1;
        }
        if k > exp_start {
            i = k;
        }
    }
    let text = std::str::from_utf8(&s[begin..i]).unwrap_or("0");
    (text.parse::<f64>().unwrap_or(0.0), i)
}

/// Converts `value` written in `unit_text` (a unit name, possibly followed
/// by whitespace) to the base unit, rounding a fractional value to the
/// nearest multiple of the next smaller unit as PostgreSQL does.
fn convert_to_base(value: f64, unit_text: &[u8], base: Unit) -> Option<f64> {
    let (units, base_size) = table(base)?;
    // A unit is at most 3 characters, then only whitespace may follow.
    let mut len = 0;
    while len < unit_text.len() && !is_c_space(unit_text[len]) && len < 3 {
        len += 1;
    }
    if skip_space(unit_text, len) != unit_text.len() {
        return None;
    }
    let name = &unit_text[..len];
    let pos = units.iter().position(|(u, _)| u.as_bytes() == name)?;
    let multiplier = units[pos].1 / base_size;
    let mut converted = value * multiplier;
    if let Some((_, smaller)) = units.get(pos + 1) {
        let step = smaller / base_size;
        converted = (converted / step).round_ties_even() * step;
    }
    Some(converted)
}

/// Parses an integer setting's value into its base unit (PostgreSQL's
/// `parse_int`): integers in decimal, octal or hex, or a decimal fraction,
/// then an optional unit; the result is rounded to an integer.
pub(crate) fn parse_int(text: &str, base: Unit) -> Result<i64, NumError> {
    let s = text.as_bytes();
    let (int_val, int_end) = strtol(s);
    let (mut val, end) = match (int_val, s.get(int_end)) {
        (Some(v), next) if !matches!(next, Some(b'.' | b'e' | b'E')) => (v as f64, int_end),
        _ => strtod(s),
    };
    if end == 0 || val.is_nan() {
        return Err(NumError::NotNumber);
    }
    let rest = skip_space(s, end);
    if rest < s.len() {
        if base == Unit::None {
            return Err(NumError::NotNumber);
        }
        val = convert_to_base(val, &s[rest..], base).ok_or(NumError::BadUnit)?;
    }
    let val = val.round_ties_even();
    if !(i32::MIN as f64..=i32::MAX as f64).contains(&val) {
        return Err(NumError::Overflow);
    }
    Ok(val as i64)
}

/// Parses a real setting's value into its base unit (`parse_real`).
pub(crate) fn parse_real(text: &str, base: Unit) -> Result<f64, NumError> {
    let s = text.as_bytes();
    let (mut val, end) = strtod(s);
    if end == 0 || val.is_nan() {
        return Err(NumError::NotNumber);
    }
    let rest = skip_space(s, end);
    if rest < s.len() {
        if base == Unit::None {
            return Err(NumError::NotNumber);
        }
        val = convert_to_base(val, &s[rest..], base).ok_or(NumError::BadUnit)?;
    }
    Ok(val)
}

/// PostgreSQL's `parse_bool`: on/off, true/false, yes/no, 1/0, and any
/// unique prefix of them (at least two letters for on/off), in any case.
pub fn parse_bool(s: &str) -> Option<bool> {
    let lower = s.to_ascii_lowercase();
    let v = lower.as_str();
    let prefix_of = |word: &str, min: usize| v.len() >= min && word.starts_with(v);
    match v.as_bytes().first()? {
        b't' if prefix_of("true", 1) => Some(true),
        b'f' if prefix_of("false", 1) => Some(false),
        b'y' if prefix_of("yes", 1) => Some(true),
        b'n' if prefix_of("no", 1) => Some(false),
        b'o' if prefix_of("on", 2) => Some(true),
        b'o' if prefix_of("off", 2) => Some(false),
        b'1' if v.len() == 1 => Some(true),
        b'0' if v.len() == 1 => Some(false),
        _ => None,
    }
}

/// An integer in its base unit as SHOW prints it: positive values with the
/// largest unit that divides them exactly ("128MB", "1min"), zero and
/// negative values bare.
pub(crate) fn format_int(value: i64, base: Unit) -> String {
    let Some((units, base_size)) = table(base) else {
        return value.to_string();
    };
    if value <= 0 {
        return value.to_string();
    }
    for (name, size) in units {
        let multiplier = size / base_size;
        if multiplier <= 1.0 || value % (multiplier as i64) == 0 {
            let shown = (value as f64 / multiplier).round_ties_even() as i64;
            return format!("{shown}{name}");
        }
    }
    value.to_string()
}

/// A real in its base unit as SHOW prints it: with the largest unit giving
/// a whole number (within 1e-8), else the smallest unit, in C's `%g`.
pub(crate) fn format_real(value: f64, base: Unit) -> String {
    let Some((units, base_size)) = table(base) else {
        return format_g(value);
    };
    if value <= 0.0 {
        return format_g(value);
    }
    let mut chosen = (value, "");
    for (name, size) in units {
        let shown = value / (size / base_size);
        chosen = (shown, name);
        if shown > 0.0 && ((shown.round_ties_even() / shown) - 1.0).abs() <= 1e-8 {
            break;
        }
    }
    format!("{}{}", format_g(chosen.0), chosen.1)
}

/// C's `printf("%g")`: six significant digits, trailing zeros removed,
/// exponent form below 1e-4 or from 1e6 on.
pub(crate) fn format_g(v: f64) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf".into() } else { "inf".into() };
    }
    // Round to 6 significant digits first: the exponent is that of the
    // rounded value (9.999995 prints as 10).
    let sci = format!("{v:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let m = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        trim_fraction(&format!("{v:.decimals$}")).to_string()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_in_every_spelling() {
        assert_eq!(parse_int("100", Unit::None), Ok(100));
        assert_eq!(parse_int("  -7 ", Unit::None), Ok(-7));
        assert_eq!(parse_int("0777", Unit::None), Ok(0o777));
        assert_eq!(parse_int("0x1F", Unit::None), Ok(31));
        assert_eq!(parse_int("1e3", Unit::None), Ok(1000));
        assert_eq!(
            parse_int("2.5", Unit::None),
            Ok(2),
            "rint rounds ties to even"
        );
        assert_eq!(parse_int("3.5", Unit::None), Ok(4));
        assert_eq!(parse_int("abc", Unit::None), Err(NumError::NotNumber));
        assert_eq!(parse_int("", Unit::None), Err(NumError::NotNumber));
        assert_eq!(parse_int("10MB", Unit::None), Err(NumError::NotNumber));
        assert_eq!(
            parse_int("08", Unit::None),
            Err(NumError::NotNumber),
            "8 is no octal digit"
        );
        assert_eq!(parse_int("2147483648", Unit::None), Err(NumError::Overflow));
        assert_eq!(
            parse_int("99999999999999999999", Unit::None),
            Err(NumError::Overflow)
        );
    }

    #[test]
    fn memory_units_convert_to_the_base_unit() {
        assert_eq!(parse_int("128MB", Unit::Blocks), Ok(16384));
        assert_eq!(parse_int("128 MB", Unit::Blocks), Ok(16384));
        assert_eq!(parse_int("1GB", Unit::Kb), Ok(1 << 20));
        assert_eq!(parse_int("1.5MB", Unit::Blocks), Ok(192));
        assert_eq!(
            parse_int("100kB", Unit::Blocks),
            Ok(12),
            "12.5 blocks round to even"
        );
        assert_eq!(parse_int("8191B", Unit::Blocks), Ok(1));
        assert_eq!(parse_int("16MB", Unit::B), Ok(16 << 20));
        assert_eq!(parse_int("1TB", Unit::Mb), Ok(1 << 20));
        assert_eq!(parse_int("1XB", Unit::Blocks), Err(NumError::BadUnit));
        assert_eq!(
            parse_int("1mb", Unit::Blocks),
            Err(NumError::BadUnit),
            "units are case-sensitive"
        );
        assert_eq!(parse_int("1 MB x", Unit::Blocks), Err(NumError::BadUnit));
        assert_eq!(parse_int("1ms", Unit::Kb), Err(NumError::BadUnit));
        assert_eq!(parse_int("3TB", Unit::B), Err(NumError::Overflow));
    }

    #[test]
    fn time_units_convert_to_the_base_unit() {
        assert_eq!(parse_int("1min", Unit::S), Ok(60));
        assert_eq!(parse_int("5min", Unit::S), Ok(300));
        assert_eq!(parse_int("1h", Unit::Ms), Ok(3_600_000));
        assert_eq!(parse_int("1d", Unit::Min), Ok(1440));
        assert_eq!(parse_int("1500ms", Unit::S), Ok(2));
        assert_eq!(parse_int("90s", Unit::Min), Ok(2), "1.5 min rounds to even");
        assert_eq!(parse_int("100us", Unit::Ms), Ok(0));
        assert_eq!(parse_int("1.5s", Unit::Ms), Ok(1500));
        assert_eq!(parse_int("1sec", Unit::S), Err(NumError::BadUnit));
        assert_eq!(parse_int("1MB", Unit::S), Err(NumError::BadUnit));
    }

    #[test]
    fn show_uses_the_largest_exact_unit() {
        assert_eq!(format_int(16384, Unit::Blocks), "128MB");
        assert_eq!(format_int(1, Unit::Blocks), "8kB");
        assert_eq!(format_int(12, Unit::Blocks), "96kB");
        assert_eq!(format_int(-1, Unit::WalBlocks), "-1");
        assert_eq!(format_int(0, Unit::Kb), "0");
        assert_eq!(format_int(4096, Unit::Kb), "4MB");
        assert_eq!(format_int(1 << 20, Unit::Kb), "1GB");
        assert_eq!(format_int(60, Unit::S), "1min");
        assert_eq!(format_int(90, Unit::S), "90s");
        assert_eq!(format_int(86400, Unit::S), "1d");
        assert_eq!(format_int(1000, Unit::Ms), "1s");
        assert_eq!(format_int(1500, Unit::Ms), "1500ms");
        assert_eq!(format_int(16 << 20, Unit::B), "16MB");
        assert_eq!(format_int(143, Unit::Mb), "143MB");
        assert_eq!(format_int(1024, Unit::Mb), "1GB");
        assert_eq!(format_int(5432, Unit::None), "5432");
    }

    #[test]
    fn show_and_parse_round_trip() {
        let cases = [
            (Unit::Blocks, [16, 1000, 16384, 131072, 1 << 29]),
            (Unit::Kb, [64, 1000, 4096, 65536, 1 << 30]),
            (Unit::Ms, [1, 999, 1000, 60_000, 86_400_000]),
            (Unit::S, [1, 59, 60, 300, 86400]),
            (Unit::Mb, [2, 80, 1000, 1024, 1 << 20]),
        ];
        for (unit, values) in cases {
            for v in values {
                let shown = format_int(v, unit);
                assert_eq!(
                    parse_int(&shown, unit),
                    Ok(v),
                    "{v} {unit:?} shown as {shown}"
                );
            }
        }
    }

    #[test]
    fn reals_print_as_c_percent_g() {
        assert_eq!(format_g(0.9), "0.9");
        assert_eq!(format_g(4.0), "4");
        assert_eq!(format_g(1e-5), "1e-05");
        assert_eq!(format_g(1234567.0), "1.23457e+06");
        assert_eq!(format_g(123456.0), "123456");
        assert_eq!(format_g(9.9999999), "10");
        assert_eq!(format_g(-2.5), "-2.5");
        assert_eq!(format_g(f64::MAX), "1.79769e+308");
        assert_eq!(format_real(2.0, Unit::Ms), "2ms");
        assert_eq!(format_real(1.5, Unit::Ms), "1500us");
        assert_eq!(parse_real("0.5", Unit::None), Ok(0.5));
        assert_eq!(parse_real("1e2", Unit::None), Ok(100.0));
        assert_eq!(parse_real("2s", Unit::Ms), Ok(2000.0));
        assert_eq!(parse_real("nan", Unit::None), Err(NumError::NotNumber));
        assert_eq!(parse_real("x", Unit::None), Err(NumError::NotNumber));
    }

    #[test]
    fn booleans_as_postgresql_spells_them() {
        for t in ["on", "ON", "true", "t", "tr", "yes", "y", "1", "True"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["off", "of", "OFF", "false", "f", "no", "n", "0"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["o", "", "2", "onn", "offf", "yess", "10", " on", "maybe"] {
            assert_eq!(parse_bool(bad), None, "{bad:?}");
        }
    }
}
