//! `pg_lsn` input and arithmetic (its output, order and binary form are
//! in value.rs with [`crate::Value::Lsn`]).
//!
//! Why through Numeric: PostgreSQL defines pg_lsn - pg_lsn as numeric and
//! pg_lsn ± numeric through numeric, so a byte count past 2^63 or a
//! fractional one rounds and range-checks exactly as there.

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::numeric::Numeric;

/// pg_lsn_in: `X/Y`, each 1 to 8 hex digits, nothing else (no blanks).
pub fn parse(s: &str) -> Option<u64> {
    let (hi, lo) = s.split_once('/')?;
    let part = |p: &str| {
        if (1..=8).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(p, 16).ok()
        } else {
            None
        }
    };
    Some((part(hi)? as u64) << 32 | part(lo)? as u64)
}

fn out_of_range() -> PgError {
    PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "pg_lsn out of range")
}

fn numeric(v: u64) -> Numeric {
    Numeric::parse(&v.to_string()).unwrap_or_else(|_| Numeric::zero())
}

/// pg_lsn - pg_lsn: the signed byte distance.
pub fn diff(a: u64, b: u64) -> Numeric {
    let d = a as i128 - b as i128;
    Numeric::parse(&d.to_string()).unwrap_or_else(|_| Numeric::zero())
}

/// pg_lsn + numeric (`sub`: pg_lsn - numeric), rounded to a whole byte.
pub fn add(lsn: u64, n: &Numeric, sub: bool) -> Result<u64, PgError> {
    if n.is_nan() {
        return Err(PgError::error(
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
            if sub {
                "cannot subtract NaN from pg_lsn"
            } else {
                "cannot add NaN to pg_lsn"
            },
        ));
    }
    let r = if sub {
        numeric(lsn).sub(n)?
    } else {
        numeric(lsn).add(n)?
    };
    if !r.is_finite() {
        return Err(out_of_range());
    }
    r.round(0)
        .to_text()
        .parse::<u64>()
        .map_err(|_| out_of_range())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_as_postgres() {
        assert_eq!(parse("0/0"), Some(0));
        assert_eq!(parse("FFFFFFFF/FFFFFFFF"), Some(u64::MAX));
        assert_eq!(parse("16/B374D848"), Some(0x16_B374_D848));
        for s in [
            "G/0",
            "-1/0",
            " 0/12345678",
            "ABCD/",
            "/ABCD",
            "123456789/0",
            "0/0 ",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }

    #[test]
    fn arithmetic_as_postgres() {
        let n = |s: &str| Numeric::parse(s).unwrap();
        assert_eq!(diff(0x16AE7F7, 0x16AE7F8).to_text(), "-1");
        assert_eq!(diff(u64::MAX, 0).to_text(), "18446744073709551615");
        assert_eq!(add(0x16AE7F7, &n("16"), false).unwrap(), 0x16AE807);
        assert_eq!(add(0x16AE7F7, &n("16"), true).unwrap(), 0x16AE7E7);
        assert_eq!(add(u64::MAX - 1, &n("1"), false).unwrap(), u64::MAX);
        assert_eq!(
            add(u64::MAX - 1, &n("2"), false).unwrap_err().message,
            "pg_lsn out of range"
        );
        assert_eq!(
            add(1, &n("2"), true).unwrap_err().message,
            "pg_lsn out of range"
        );
        assert_eq!(
            add(1, &Numeric::nan(), false).unwrap_err().message,
            "cannot add NaN to pg_lsn"
        );
    }
}
