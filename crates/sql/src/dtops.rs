//! Date/time operators and functions: the evaluation side of the
//! [`Expr::DateTime`](crate::expr::Expr) node kind (binding is in
//! bind/datetime.rs).
//!
//! Why one node kind dispatching on the values' variants: a `Value` knows
//! its date/time type (Date, Timestamp, TimestampTz, Interval, Time,
//! TimeTz), and the binder has already chosen the operator and cast the
//! operands, so evaluation only needs the operation; one `DtOp` per SQL
//! operator keeps the shared Expr enum and executor untouched. The
//! session zone is UTC in tusk (no zone database yet), so timestamptz
//! arithmetic is timestamp arithmetic. Pure functions: any backend may
//! call them.

use tusk_common::sqlstate;
use tusk_common::time::{civil_from_days, days_from_civil};
use tusk_common::PgError;

use crate::expr::ArithOp;
use crate::value::Value;
use tusk_types::datetime::{DATE_NOBEGIN, DATE_NOEND, TS_NOBEGIN, TS_NOEND};
use tusk_types::interval::{
    Interval, USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC,
};
use tusk_types::timeofday::{self, TimeTz};
use tusk_types::Numeric;

/// Days from 1970-01-01 to 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
/// Julian day number of 2000-01-01.
const POSTGRES_EPOCH_JDATE: i64 = 2_451_545;
const MIN_TS: i64 = -211_813_488_000_000_000;
const MAX_TS: i64 = 9_223_371_331_200_000_000;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DtOp {
    /// `+ - * /` over the operand variants (see [`arith`]).
    Arith(ArithOp),
    /// Unary minus of an interval.
    Neg,
    /// `extract(field from x)` (numeric) or `date_part('field', x)`
    /// (float8): the field is the first argument.
    Extract {
        float: bool,
    },
    /// date_trunc(field, x).
    Trunc,
    /// age(a, b) / age(a) (from midnight of today).
    Age,
    JustifyDays,
    JustifyHours,
    JustifyInterval,
    MakeDate,
    MakeTime,
    /// make_timestamp(y, m, d, h, mi, s) (tz: the same in UTC).
    MakeTimestamp {
        tz: bool,
    },
    MakeInterval,
    /// to_timestamp(float8 seconds since 1970).
    ToTimestamp,
    IsFinite,
    /// (s1, e1) OVERLAPS (s2, e2), all four of one type.
    Overlaps,
    /// date_bin(stride, source, origin).
    DateBin,
    /// current_time (timetz) / localtime (time): the transaction's time.
    CurrentTime {
        tz: bool,
    },
    /// to_char(value, template) (crates/sql/src/formatting.rs).
    ToChar,
    /// to_number(text, template).
    ToNumber,
    /// to_date(text, template).
    ToDate,
    /// to_timestamp(text, template).
    ToTimestampFmt,
    /// `x AT TIME ZONE zone` / timezone(zone, x): arguments (zone, x).
    AtZone,
}

fn ts_out_of_range() -> PgError {
    PgError::error(sqlstate::DATETIME_FIELD_OVERFLOW, "timestamp out of range")
}

fn date_out_of_range() -> PgError {
    PgError::error(sqlstate::DATETIME_FIELD_OVERFLOW, "date out of range")
}

fn iv_out_of_range() -> PgError {
    tusk_types::cast::interval_out_of_range()
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// (year, month, day) of days since 2000-01-01 (astronomical years).
fn ymd(days: i64) -> (i64, u32, u32) {
    civil_from_days(days + PG_EPOCH_DAYS)
}

fn from_ymd(y: i64, m: u32, d: u32) -> i64 {
    days_from_civil(y, m, d) - PG_EPOCH_DAYS
}

fn check_ts(t: i128) -> Result<i64, PgError> {
    if t < MIN_TS as i128 || t >= MAX_TS as i128 {
        Err(ts_out_of_range())
    } else {
        Ok(t as i64)
    }
}

/// timestamp_pl_interval: months move the calendar month (clamping the
/// day), days the calendar day, then the time is added.
pub(crate) fn ts_plus_interval(ts: i64, iv: &Interval) -> Result<i64, PgError> {
    if ts == TS_NOBEGIN || ts == TS_NOEND {
        return Ok(ts);
    }
    let mut t = ts;
    if iv.months != 0 {
        let days = t.div_euclid(USECS_PER_DAY);
        let tod = t.rem_euclid(USECS_PER_DAY);
        let (y, m, d) = ymd(days);
        let total = y * 12 + (m as i64 - 1) + iv.months as i64;
        let ny = total.div_euclid(12);
        let nm = (total.rem_euclid(12) + 1) as u32;
        let nd = d.min(days_in_month(ny, nm));
        t = check_ts(from_ymd(ny, nm, nd) as i128 * USECS_PER_DAY as i128 + tod as i128)?;
    }
    if iv.days != 0 {
        t = check_ts(t as i128 + iv.days as i128 * USECS_PER_DAY as i128)?;
    }
    check_ts(t as i128 + iv.micros as i128)
}

/// timestamptz_pl_interval: months and days move the calendar in the
/// session zone's local time (so a day across a DST change is 23 or 25
/// hours), then the time part is added to the instant.
pub(crate) fn tstz_plus_interval(ts: i64, iv: &Interval) -> Result<i64, PgError> {
    if ts == TS_NOBEGIN || ts == TS_NOEND {
        return Ok(ts);
    }
    let mut t = ts;
    if iv.months != 0 || iv.days != 0 {
        let z = tusk_types::tz::session_zone();
        let local = tusk_types::datetime::tstz_to_local_in(t, &z);
        let local = ts_plus_interval(local, &Interval::new(iv.months, iv.days, 0))?;
        t = tusk_types::datetime::local_to_tstz_in(local, &z);
    }
    check_ts(t as i128 + iv.micros as i128)
}

/// `ts + iv` for either timestamp type.
fn plus_interval(like: &Value, iv: &Interval) -> Result<Value, PgError> {
    let t = ts_value(like).unwrap_or(0);
    Ok(match like {
        Value::TimestampTz(_) => Value::TimestampTz(tstz_plus_interval(t, iv)?),
        _ => Value::Timestamp(ts_plus_interval(t, iv)?),
    })
}

fn ts_value(v: &Value) -> Option<i64> {
    match v {
        Value::Timestamp(t) | Value::TimestampTz(t) => Some(*t),
        _ => None,
    }
}

fn same_ts(like: &Value, t: i64) -> Value {
    match like {
        Value::TimestampTz(_) => Value::TimestampTz(t),
        _ => Value::Timestamp(t),
    }
}

fn date_to_ts(d: i32) -> Result<i64, PgError> {
    tusk_types::datetime::date_to_timestamp(d).ok_or_else(ts_out_of_range)
}

fn date_plus_days(d: i32, n: i64) -> Result<Value, PgError> {
    if d == DATE_NOBEGIN || d == DATE_NOEND {
        return Ok(Value::Date(d));
    }
    let r = d as i64 + n;
    // 4714-11-24 BC .. 5874897-12-31, PostgreSQL's date range.
    if !(-2_451_545..=2_145_031_948).contains(&r) {
        return Err(date_out_of_range());
    }
    Ok(Value::Date(r as i32))
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Int2(i) => Some(*i as i64),
        Value::Int4(i) => Some(*i as i64),
        Value::Int8(i) => Some(*i),
        _ => None,
    }
}

/// The binary operators on date/time values; the binder has matched the
/// operand types to one of PostgreSQL's operators.
fn arith(op: ArithOp, a: &Value, b: &Value) -> Result<Value, PgError> {
    use Value::*;
    Ok(match (op, a, b) {
        (ArithOp::Add, Interval(x), Interval(y)) => {
            Interval(x.checked_add(y).ok_or_else(iv_out_of_range)?)
        }
        (ArithOp::Sub, Interval(x), Interval(y)) => {
            Interval(x.checked_sub(y).ok_or_else(iv_out_of_range)?)
        }
        (ArithOp::Add, Timestamp(_) | TimestampTz(_), Interval(iv)) => plus_interval(a, iv)?,
        (ArithOp::Add, Interval(iv), Timestamp(_) | TimestampTz(_)) => plus_interval(b, iv)?,
        (ArithOp::Sub, Timestamp(_) | TimestampTz(_), Interval(iv)) => {
            let n = iv.checked_neg().ok_or_else(iv_out_of_range)?;
            plus_interval(a, &n)?
        }
        (ArithOp::Sub, Timestamp(x) | TimestampTz(x), Timestamp(y) | TimestampTz(y)) => {
            if [*x, *y].iter().any(|t| *t == TS_NOBEGIN || *t == TS_NOEND) {
                return Err(PgError::error(
                    sqlstate::DATETIME_FIELD_OVERFLOW,
                    "cannot subtract infinite timestamps",
                ));
            }
            let d = x.checked_sub(*y).ok_or_else(iv_out_of_range)?;
            Interval(
                tusk_types::interval::Interval::new(0, 0, d)
                    .justify_hours()
                    .ok_or_else(iv_out_of_range)?,
            )
        }
        (ArithOp::Add, Date(d), n) if int_of(n).is_some() => {
            date_plus_days(*d, int_of(n).unwrap_or(0))?
        }
        (ArithOp::Add, n, Date(d)) if int_of(n).is_some() => {
            date_plus_days(*d, int_of(n).unwrap_or(0))?
        }
        (ArithOp::Sub, Date(d), n) if int_of(n).is_some() => {
            date_plus_days(*d, -int_of(n).unwrap_or(0))?
        }
        (ArithOp::Sub, Date(x), Date(y)) => {
            if [*x, *y]
                .iter()
                .any(|d| *d == DATE_NOBEGIN || *d == DATE_NOEND)
            {
                return Err(PgError::error(
                    sqlstate::DATETIME_FIELD_OVERFLOW,
                    "cannot subtract infinite dates",
                ));
            }
            Int4(x.wrapping_sub(*y))
        }
        (ArithOp::Add, Date(d), Interval(iv)) | (ArithOp::Add, Interval(iv), Date(d)) => {
            Timestamp(ts_plus_interval(date_to_ts(*d)?, iv)?)
        }
        (ArithOp::Sub, Date(d), Interval(iv)) => {
            let n = iv.checked_neg().ok_or_else(iv_out_of_range)?;
            Timestamp(ts_plus_interval(date_to_ts(*d)?, &n)?)
        }
        (ArithOp::Add, Date(d), Time(t)) | (ArithOp::Add, Time(t), Date(d)) => {
            let base = date_to_ts(*d)?;
            if base == TS_NOBEGIN || base == TS_NOEND {
                Timestamp(base)
            } else {
                Timestamp(check_ts(base as i128 + *t as i128)?)
            }
        }
        (ArithOp::Add, Date(d), TimeTz(t)) | (ArithOp::Add, TimeTz(t), Date(d)) => {
            let base = date_to_ts(*d)?;
            if base == TS_NOBEGIN || base == TS_NOEND {
                TimestampTz(base)
            } else {
                TimestampTz(check_ts(
                    base as i128 + t.micros as i128 + t.zone as i128 * USECS_PER_SEC as i128,
                )?)
            }
        }
        (ArithOp::Add, Time(t), Interval(iv)) | (ArithOp::Add, Interval(iv), Time(t)) => {
            Time(timeofday::add_micros(*t, iv.micros))
        }
        (ArithOp::Sub, Time(t), Interval(iv)) => Time(timeofday::add_micros(*t, -iv.micros)),
        (ArithOp::Sub, Time(x), Time(y)) => {
            Interval(tusk_types::interval::Interval::new(0, 0, x - y))
        }
        (ArithOp::Add, TimeTz(t), Interval(iv)) | (ArithOp::Add, Interval(iv), TimeTz(t)) => {
            TimeTz(self::TimeTz {
                micros: timeofday::add_micros(t.micros, iv.micros),
                zone: t.zone,
            })
        }
        (ArithOp::Sub, TimeTz(t), Interval(iv)) => TimeTz(self::TimeTz {
            micros: timeofday::add_micros(t.micros, -iv.micros),
            zone: t.zone,
        }),
        (ArithOp::Mul, Interval(iv), Float8(f)) | (ArithOp::Mul, Float8(f), Interval(iv)) => {
            Interval(iv.mul(*f).ok_or_else(iv_out_of_range)?)
        }
        (ArithOp::Div, Interval(iv), Float8(f)) => {
            if *f == 0.0 {
                return Err(PgError::error(
                    sqlstate::DIVISION_BY_ZERO,
                    "division by zero",
                ));
            }
            Interval(iv.div(*f).ok_or_else(iv_out_of_range)?)
        }
        _ => {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!("date/time operator {} on {a:?} and {b:?}", op.symbol()),
            ))
        }
    })
}

/// A decimal with `scale` fractional digits as numeric.
fn numeric_scaled(v: i128, scale: u32) -> Numeric {
    let neg = v < 0;
    let digits = v.unsigned_abs().to_string();
    let s = if scale == 0 {
        digits
    } else {
        let d = format!("{:0>width$}", digits, width = scale as usize + 1);
        let (a, b) = d.split_at(d.len() - scale as usize);
        format!("{a}.{b}")
    };
    Numeric::parse(&format!("{}{s}", if neg { "-" } else { "" }))
        .unwrap_or_else(|_| Numeric::zero())
}

fn unit_unsupported(field: &str, ty: &str) -> PgError {
    PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!("unit \"{field}\" not supported for type {ty}"),
    )
}

fn unit_unrecognized(field: &str, ty: &str) -> PgError {
    PgError::error(
        sqlstate::INVALID_PARAMETER_VALUE,
        format!("unit \"{field}\" not recognized for type {ty}"),
    )
}

/// PostgreSQL's canonical field name for extract/date_part/date_trunc.
fn canon(field: &str) -> String {
    let f = field.trim().to_ascii_lowercase();
    match f.as_str() {
        "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "useconds" => "microseconds",
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "mseconds" => "milliseconds",
        "second" | "seconds" | "s" | "sec" | "secs" => "second",
        "minute" | "minutes" | "m" | "min" | "mins" => "minute",
        "hour" | "hours" | "h" | "hr" | "hrs" => "hour",
        "day" | "days" | "d" => "day",
        "week" | "weeks" | "w" => "week",
        "month" | "months" | "mon" | "mons" => "month",
        "quarter" | "qtr" => "quarter",
        "year" | "years" | "y" | "yr" | "yrs" => "year",
        "decade" | "decades" | "dec" | "decs" => "decade",
        "century" | "centuries" | "c" | "cent" => "century",
        "millennium" | "millennia" | "mil" | "mils" => "millennium",
        "julian" | "j" => "julian",
        other => return other.to_string(),
    }
    .to_string()
}

/// Fields of a timestamp (as value*10^scale, scale).
fn ts_field(field: &str, utc: i64, tz: bool, ty: &str) -> Result<(i128, u32), PgError> {
    // A timestamptz's fields are those of its local time in the session
    // zone; its epoch stays the instant's.
    let off = if tz {
        tusk_types::tz::local_type_at(&tusk_types::tz::session_zone(), utc).off
    } else {
        0
    };
    let t = utc + off * 1_000_000;
    let days = t.div_euclid(USECS_PER_DAY);
    let tod = t.rem_euclid(USECS_PER_DAY);
    let (y, m, d) = ymd(days);
    let sec_us = tod % USECS_PER_MINUTE;
    let iso = iso_week(days);
    Ok(match field {
        "microseconds" => (sec_us as i128, 0),
        "milliseconds" => (sec_us as i128, 3),
        "second" => (sec_us as i128, 6),
        "minute" => ((tod / USECS_PER_MINUTE % 60) as i128, 0),
        "hour" => ((tod / USECS_PER_HOUR) as i128, 0),
        "day" => (d as i128, 0),
        "month" => (m as i128, 0),
        "quarter" => (((m - 1) / 3 + 1) as i128, 0),
        "week" => (iso.1 as i128, 0),
        "year" => ((if y > 0 { y } else { y - 1 }) as i128, 0),
        "isoyear" => ((if iso.0 > 0 { iso.0 } else { iso.0 - 1 }) as i128, 0),
        "decade" => (
            (if y >= 0 {
                y / 10
            } else {
                -((8 - (y - 1)) / 10)
            }) as i128,
            0,
        ),
        "century" => (
            (if y > 0 {
                (y + 99) / 100
            } else {
                -((99 - (y - 1)) / 100)
            }) as i128,
            0,
        ),
        "millennium" => (
            (if y > 0 {
                (y + 999) / 1000
            } else {
                -((999 - (y - 1)) / 1000)
            }) as i128,
            0,
        ),
        "dow" => ((days + 6).rem_euclid(7) as i128, 0),
        "isodow" => {
            let dow = (days + 6).rem_euclid(7);
            ((if dow == 0 { 7 } else { dow }) as i128, 0)
        }
        "doy" => ((days - from_ymd(y, 1, 1) + 1) as i128, 0),
        "epoch" => (
            (utc as i128) + PG_EPOCH_DAYS as i128 * USECS_PER_DAY as i128,
            6,
        ),
        "julian" => {
            // Julian day plus the day's fraction, as numeric.
            let jd = (days + POSTGRES_EPOCH_JDATE) as i128;
            if tod == 0 {
                (jd, 0)
            } else {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "julian of a timestamp with a time of day is not supported yet",
                ));
            }
        }
        "timezone" if tz => (off as i128, 0),
        "timezone_hour" if tz => ((off / 3600) as i128, 0),
        "timezone_minute" if tz => ((off / 60 % 60) as i128, 0),
        "timezone" | "timezone_hour" | "timezone_minute" => {
            return Err(unit_unsupported(field, ty))
        }
        _ => return Err(unit_unrecognized(field, ty)),
    })
}

/// (ISO year, ISO week) of a day.
fn iso_week(days: i64) -> (i64, i64) {
    let (y, _, _) = ymd(days);
    let week1 = |y: i64| {
        let jan4 = from_ymd(y, 1, 4);
        let dow = (jan4 + 5).rem_euclid(7); // Monday = 0
        jan4 - dow
    };
    let mut iy = y;
    if days >= week1(y + 1) {
        iy = y + 1;
    } else if days < week1(y) {
        iy = y - 1;
    }
    (iy, (days - week1(iy)) / 7 + 1)
}

fn extract_value(field: &str, v: &Value) -> Result<Option<(i128, u32)>, PgError> {
    let f = canon(field);
    let f = f.as_str();
    Ok(Some(match v {
        Value::Timestamp(t) | Value::TimestampTz(t) => {
            let tz = matches!(v, Value::TimestampTz(_));
            let ty = if tz {
                "timestamp with time zone"
            } else {
                "timestamp without time zone"
            };
            if *t == TS_NOBEGIN || *t == TS_NOEND {
                // Infinite: epoch/year-like fields are +-infinity, others NULL.
                return match f {
                    "epoch" | "julian" | "year" | "isoyear" | "decade" | "century"
                    | "millennium" => Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "extract of an infinite timestamp is not supported yet",
                    )),
                    _ => Ok(None),
                };
            }
            ts_field(f, *t, tz, ty)?
        }
        Value::Date(d) => {
            if matches!(
                f,
                "hour"
                    | "minute"
                    | "second"
                    | "milliseconds"
                    | "microseconds"
                    | "timezone"
                    | "timezone_hour"
                    | "timezone_minute"
            ) {
                return Err(unit_unsupported(f, "date"));
            }
            if *d == DATE_NOBEGIN || *d == DATE_NOEND {
                return Ok(None);
            }
            let (v, _) = ts_field(f, *d as i64 * USECS_PER_DAY, false, "date")?;
            if f == "epoch" {
                (v / 1_000_000, 0)
            } else {
                (v, 0)
            }
        }
        Value::Time(t) | Value::TimeTz(TimeTz { micros: t, .. }) => {
            let ty = if matches!(v, Value::Time(_)) {
                "time without time zone"
            } else {
                "time with time zone"
            };
            let sec_us = (t % USECS_PER_MINUTE) as i128;
            match f {
                "microseconds" => (sec_us, 0),
                "milliseconds" => (sec_us, 3),
                "second" => (sec_us, 6),
                "minute" => ((t / USECS_PER_MINUTE % 60) as i128, 0),
                "hour" => ((t / USECS_PER_HOUR) as i128, 0),
                "epoch" => {
                    let zone = match v {
                        Value::TimeTz(z) => z.zone as i128 * 1_000_000,
                        _ => 0,
                    };
                    (*t as i128 + zone, 6)
                }
                "timezone" | "timezone_hour" | "timezone_minute" => match v {
                    Value::TimeTz(z) => {
                        let east = -(z.zone as i128);
                        match f {
                            "timezone" => (east, 0),
                            "timezone_hour" => (east / 3600, 0),
                            _ => (east / 60 % 60, 0),
                        }
                    }
                    _ => return Err(unit_unsupported(f, ty)),
                },
                "day" | "month" | "year" | "week" | "quarter" | "decade" | "century"
                | "millennium" | "dow" | "isodow" | "doy" | "julian" | "isoyear" => {
                    return Err(unit_unsupported(f, ty))
                }
                _ => return Err(unit_unrecognized(f, ty)),
            }
        }
        Value::Interval(iv) => {
            let fl = tusk_types::interval::fields(iv);
            let sec_us = (fl.sec * USECS_PER_SEC + fl.fsec) as i128;
            match f {
                "microseconds" => (sec_us, 0),
                "milliseconds" => (sec_us, 3),
                "second" => (sec_us, 6),
                "minute" => (fl.min as i128, 0),
                "hour" => (fl.hour as i128, 0),
                "day" => (fl.day as i128, 0),
                "month" => (fl.mon as i128, 0),
                "quarter" => ((fl.mon / 3 + 1) as i128, 0),
                "year" => (fl.year as i128, 0),
                "decade" => ((fl.year / 10) as i128, 0),
                "century" => ((fl.year / 100) as i128, 0),
                "millennium" => ((fl.year / 1000) as i128, 0),
                "epoch" => {
                    let m = iv.months as i128;
                    let secs4 =
                        (1461 * (m / 12) + 120 * (m % 12) + 4 * iv.days as i128) * (86_400 / 4);
                    (secs4 * 1_000_000 + iv.micros as i128, 6)
                }
                "week" | "dow" | "isodow" | "doy" | "julian" | "isoyear" | "timezone"
                | "timezone_hour" | "timezone_minute" => {
                    return Err(unit_unsupported(f, "interval"))
                }
                _ => return Err(unit_unrecognized(f, "interval")),
            }
        }
        _ => return Ok(None),
    }))
}

fn text_arg(v: &Value) -> String {
    match v {
        Value::Text(s) | Value::Name(s) => s.clone(),
        other => crate::value::to_text(other).unwrap_or_default(),
    }
}

fn float_arg(v: &Value) -> f64 {
    match v {
        Value::Float8(f) => *f,
        Value::Float4(f) => *f as f64,
        Value::Numeric(n) => n.to_f64(),
        other => int_of(other).unwrap_or(0) as f64,
    }
}

/// date_trunc on a timestamp's microseconds.
fn trunc_ts(field: &str, t: i64, ty: &str) -> Result<i64, PgError> {
    if t == TS_NOBEGIN || t == TS_NOEND {
        return Ok(t);
    }
    let days = t.div_euclid(USECS_PER_DAY);
    let tod = t.rem_euclid(USECS_PER_DAY);
    let (y, m, _) = ymd(days);
    let at = |y: i64, m: u32, d: u32| from_ymd(y, m, d) * USECS_PER_DAY;
    Ok(match field {
        "microseconds" => t,
        "milliseconds" => days * USECS_PER_DAY + tod / 1000 * 1000,
        "second" => days * USECS_PER_DAY + tod / USECS_PER_SEC * USECS_PER_SEC,
        "minute" => days * USECS_PER_DAY + tod / USECS_PER_MINUTE * USECS_PER_MINUTE,
        "hour" => days * USECS_PER_DAY + tod / USECS_PER_HOUR * USECS_PER_HOUR,
        "day" => days * USECS_PER_DAY,
        "week" => {
            let dow = (days + 5).rem_euclid(7); // Monday = 0
            (days - dow) * USECS_PER_DAY
        }
        "month" => at(y, m, 1),
        "quarter" => at(y, (m - 1) / 3 * 3 + 1, 1),
        "year" => at(y, 1, 1),
        "decade" => {
            let yy = if y > 0 {
                y.div_euclid(10) * 10
            } else {
                -((8 - (y - 1)) / 10) * 10 + 1
            };
            at(yy, 1, 1)
        }
        "century" => {
            let c = if y > 0 {
                (y + 99) / 100
            } else {
                -((99 - (y - 1)) / 100)
            };
            at(
                if c > 0 {
                    (c - 1) * 100 + 1
                } else {
                    c * 100 + 1
                },
                1,
                1,
            )
        }
        "millennium" => {
            let c = if y > 0 {
                (y + 999) / 1000
            } else {
                -((999 - (y - 1)) / 1000)
            };
            at(
                if c > 0 {
                    (c - 1) * 1000 + 1
                } else {
                    c * 1000 + 1
                },
                1,
                1,
            )
        }
        // Units PostgreSQL knows (extract takes them) but cannot truncate to.
        "timezone" | "timezone_hour" | "timezone_minute" => {
            return Err(unit_unsupported(field, ty))
        }
        _ => return Err(unit_unrecognized(field, ty)),
    })
}

/// date_trunc on a timestamptz: truncated in the session zone's (or the
/// named zone's) local time; units of a day and up take the offset in
/// force at the truncated time, smaller ones keep the original offset,
/// as PostgreSQL's timestamptz_trunc does.
fn trunc_tstz(field: &str, t: i64, zone: Option<&Value>) -> Result<i64, PgError> {
    if t == TS_NOBEGIN || t == TS_NOEND {
        return Ok(t);
    }
    let z = match zone {
        Some(v) => zone_arg(v)?,
        None => tusk_types::tz::session_zone(),
    };
    let off = tusk_types::tz::local_type_at(&z, t).off * 1_000_000;
    let local = trunc_ts(field, t + off, "timestamp with time zone")?;
    Ok(match field {
        "microseconds" | "milliseconds" | "second" | "minute" | "hour" => local - off,
        _ => tusk_types::datetime::local_to_tstz_in(local, &z),
    })
}

/// A zone argument (AT TIME ZONE, timezone(), date_trunc's third,
/// make_timestamptz's seventh): an abbreviation of the Default set, a zone
/// name or POSIX string, or an interval east of UTC.
pub(crate) fn zone_arg(v: &Value) -> Result<std::rc::Rc<tusk_types::tz::Zone>, PgError> {
    use tusk_types::tz::Zone;
    if let Value::Interval(iv) = v {
        if iv.months != 0 || iv.days != 0 {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!(
                    "interval time zone \"{}\" must not include months or days",
                    tusk_types::interval::format(iv)
                ),
            ));
        }
        return Ok(std::rc::Rc::new(Zone::fixed(iv.micros / 1_000_000, "")));
    }
    let name = text_arg(v);
    if let Some(off) = tusk_types::datetime::zone_abbrev(&name) {
        return Ok(std::rc::Rc::new(Zone::fixed(
            off,
            &name.to_ascii_uppercase(),
        )));
    }
    tusk_types::tz::lookup(&name).ok_or_else(|| {
        PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("time zone \"{name}\" not recognized"),
        )
    })
}

fn trunc_interval(field: &str, iv: &Interval) -> Result<Interval, PgError> {
    let fl = tusk_types::interval::fields(iv);
    let years = fl.year;
    let r = |months: i64, days: i64, h: i64, mi: i64, s: i64, us: i64| Interval {
        months: months as i32,
        days: days as i32,
        micros: h * USECS_PER_HOUR + mi * USECS_PER_MINUTE + s * USECS_PER_SEC + us,
    };
    Ok(match field {
        "microseconds" => *iv,
        "milliseconds" => r(
            iv.months as i64,
            fl.day,
            fl.hour,
            fl.min,
            fl.sec,
            fl.fsec / 1000 * 1000,
        ),
        "second" => r(iv.months as i64, fl.day, fl.hour, fl.min, fl.sec, 0),
        "minute" => r(iv.months as i64, fl.day, fl.hour, fl.min, 0, 0),
        "hour" => r(iv.months as i64, fl.day, fl.hour, 0, 0, 0),
        "day" => r(iv.months as i64, fl.day, 0, 0, 0, 0),
        "month" => r(iv.months as i64, 0, 0, 0, 0, 0),
        "quarter" => r(years * 12 + fl.mon / 3 * 3, 0, 0, 0, 0, 0),
        "year" => r(years * 12, 0, 0, 0, 0, 0),
        "decade" => r(years / 10 * 120, 0, 0, 0, 0, 0),
        "century" => r(years / 100 * 1200, 0, 0, 0, 0, 0),
        "millennium" => r(years / 1000 * 12000, 0, 0, 0, 0, 0),
        "week" => return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "interval units \"week\" not supported because months usually have fractional weeks",
        )),
        _ => return Err(unit_unrecognized(field, "interval")),
    })
}

/// age(a, b): a symbolic difference in years, months, days and time,
/// borrowing from the larger units as PostgreSQL's timestamp_age does.
fn age(a: i64, b: i64) -> Result<Interval, PgError> {
    if [a, b].iter().any(|t| *t == TS_NOBEGIN || *t == TS_NOEND) {
        return Err(PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            "cannot subtract infinite timestamps",
        ));
    }
    let split = |t: i64| {
        let days = t.div_euclid(USECS_PER_DAY);
        let (y, m, d) = ymd(days);
        (y, m as i64, d as i64, t.rem_euclid(USECS_PER_DAY))
    };
    let (y1, m1, d1, t1) = split(a);
    let (y2, m2, d2, t2) = split(b);
    let mut us = t1 - t2;
    let mut day = d1 - d2;
    let mut mon = m1 - m2;
    let mut year = y1 - y2;
    // Flip so that the borrowing below works on a non-negative span.
    let neg = a < b;
    if neg {
        us = -us;
        day = -day;
        mon = -mon;
        year = -year;
    }
    while us < 0 {
        us += USECS_PER_DAY;
        day -= 1;
    }
    while day < 0 {
        // Borrow the length of the month before the later date's month.
        let (yy, mm) = if neg { (y1, m1) } else { (y2, m2) };
        day += days_in_month(yy, mm as u32) as i64;
        mon -= 1;
    }
    while mon < 0 {
        mon += 12;
        year -= 1;
    }
    let mut iv = Interval {
        months: i32::try_from(year * 12 + mon).map_err(|_| iv_out_of_range())?,
        days: day as i32,
        micros: us,
    };
    if neg {
        iv = iv.checked_neg().ok_or_else(iv_out_of_range)?;
    }
    Ok(iv)
}

fn field_overflow(what: String) -> PgError {
    PgError::error(
        sqlstate::DATETIME_FIELD_OVERFLOW,
        format!("date field value out of range: {what}"),
    )
}

/// Evaluate one date/time operation; any NULL argument gives NULL (all of
/// these are strict).
pub(crate) fn eval(op: &DtOp, args: Vec<Value>, now: i64) -> Result<Value, PgError> {
    if args.iter().any(Value::is_null) && *op != DtOp::Overlaps {
        return Ok(Value::Null);
    }
    Ok(match op {
        DtOp::Arith(o) => arith(*o, &args[0], &args[1])?,
        DtOp::Neg => match &args[0] {
            Value::Interval(iv) => Value::Interval(iv.checked_neg().ok_or_else(iv_out_of_range)?),
            other => other.clone(),
        },
        DtOp::Extract { float } => {
            let field = text_arg(&args[0]);
            match extract_value(&field, &args[1])? {
                None => Value::Null,
                Some((v, scale)) => {
                    if *float {
                        Value::Float8(v as f64 / 10f64.powi(scale as i32))
                    } else {
                        Value::Numeric(numeric_scaled(v, scale))
                    }
                }
            }
        }
        DtOp::Trunc => {
            let field = canon(&text_arg(&args[0]));
            match &args[1] {
                Value::Timestamp(t) => {
                    Value::Timestamp(trunc_ts(&field, *t, "timestamp without time zone")?)
                }
                Value::TimestampTz(t) => Value::TimestampTz(trunc_tstz(&field, *t, args.get(2))?),
                Value::Interval(iv) => Value::Interval(trunc_interval(&field, iv)?),
                other => other.clone(),
            }
        }
        DtOp::Age => {
            let a = ts_value(&args[0]).unwrap_or(0);
            let b = match args.get(1) {
                Some(v) => ts_value(v).unwrap_or(0),
                // age(x): from midnight of the current date.
                None => now.div_euclid(USECS_PER_DAY) * USECS_PER_DAY,
            };
            if args.len() == 1 {
                Value::Interval(age(b, a)?)
            } else {
                Value::Interval(age(a, b)?)
            }
        }
        DtOp::JustifyDays | DtOp::JustifyHours | DtOp::JustifyInterval => {
            let Value::Interval(iv) = &args[0] else {
                return Ok(Value::Null);
            };
            let r = match op {
                DtOp::JustifyDays => iv.justify_days(),
                DtOp::JustifyHours => iv.justify_hours(),
                _ => iv.justify_interval(),
            };
            Value::Interval(r.ok_or_else(iv_out_of_range)?)
        }
        DtOp::MakeDate => {
            let (y, m, d) = (
                int_of(&args[0]).unwrap_or(0),
                int_of(&args[1]).unwrap_or(0),
                int_of(&args[2]).unwrap_or(0),
            );
            Value::Date(make_date(y, m, d)? as i32)
        }
        DtOp::MakeTime => {
            let (h, m, s) = (
                int_of(&args[0]).unwrap_or(0),
                int_of(&args[1]).unwrap_or(0),
                float_arg(&args[2]),
            );
            Value::Time(make_time(h, m, s)?)
        }
        DtOp::MakeTimestamp { tz } => {
            let v: Vec<i64> = args[..5].iter().map(|a| int_of(a).unwrap_or(0)).collect();
            let d = make_date(v[0], v[1], v[2])?;
            let t = make_time(v[3], v[4], float_arg(&args[5]))?;
            let ts = check_ts(d as i128 * USECS_PER_DAY as i128 + t as i128)?;
            if *tz {
                // Local time in the given zone, else the session's.
                let z = match args.get(6) {
                    Some(v) => zone_arg(v)?,
                    None => tusk_types::tz::session_zone(),
                };
                Value::TimestampTz(check_ts(
                    tusk_types::datetime::local_to_tstz_in(ts, &z) as i128
                )?)
            } else {
                Value::Timestamp(ts)
            }
        }
        DtOp::AtZone => {
            let z = zone_arg(&args[0])?;
            match &args[1] {
                Value::TimestampTz(t) => {
                    Value::Timestamp(tusk_types::datetime::tstz_to_local_in(*t, &z))
                }
                Value::Timestamp(t) => Value::TimestampTz(check_ts(
                    tusk_types::datetime::local_to_tstz_in(*t, &z) as i128,
                )?),
                Value::TimeTz(tt) => {
                    // The zone's offset now, as PostgreSQL's timetz_zone.
                    let off = tusk_types::tz::local_type_at(&z, now).off;
                    let utc = tt.micros + tt.zone as i64 * 1_000_000;
                    Value::TimeTz(tusk_types::timeofday::TimeTz {
                        micros: (utc + off * 1_000_000).rem_euclid(USECS_PER_DAY),
                        zone: -off as i32,
                    })
                }
                other => other.clone(),
            }
        }
        DtOp::MakeInterval => {
            let v: Vec<i64> = args[..6].iter().map(|a| int_of(a).unwrap_or(0)).collect();
            let secs = float_arg(&args[6]);
            let months = v[0].checked_mul(12).and_then(|m| m.checked_add(v[1]));
            let days = v[2].checked_mul(7).and_then(|d| d.checked_add(v[3]));
            let (Some(months), Some(days)) = (months, days) else {
                return Err(iv_out_of_range());
            };
            let micros = (v[4] as f64 * USECS_PER_HOUR as f64
                + v[5] as f64 * USECS_PER_MINUTE as f64
                + secs * USECS_PER_SEC as f64)
                .round_ties_even();
            if !micros.is_finite() || micros.abs() >= 9.2e18 {
                return Err(iv_out_of_range());
            }
            Value::Interval(Interval {
                months: i32::try_from(months).map_err(|_| iv_out_of_range())?,
                days: i32::try_from(days).map_err(|_| iv_out_of_range())?,
                micros: micros as i64,
            })
        }
        DtOp::ToTimestamp => {
            let f = float_arg(&args[0]);
            if f.is_nan() {
                return Err(PgError::error(
                    sqlstate::DATETIME_FIELD_OVERFLOW,
                    "timestamp cannot be NaN",
                ));
            }
            if f.is_infinite() {
                return Ok(Value::TimestampTz(if f > 0.0 {
                    TS_NOEND
                } else {
                    TS_NOBEGIN
                }));
            }
            let us = ((f - (PG_EPOCH_DAYS * 86_400) as f64) * 1e6).round_ties_even();
            if !(MIN_TS as f64..MAX_TS as f64).contains(&us) {
                return Err(PgError::error(
                    sqlstate::DATETIME_FIELD_OVERFLOW,
                    format!(
                        "timestamp out of range: \"{}\"",
                        crate::value::format_float8(f)
                    ),
                ));
            }
            Value::TimestampTz(us as i64)
        }
        DtOp::ToChar | DtOp::ToNumber | DtOp::ToDate | DtOp::ToTimestampFmt => {
            return format_op(op, &args);
        }
        DtOp::IsFinite => Value::Bool(match &args[0] {
            Value::Date(d) => *d != DATE_NOBEGIN && *d != DATE_NOEND,
            Value::Timestamp(t) | Value::TimestampTz(t) => *t != TS_NOBEGIN && *t != TS_NOEND,
            _ => true,
        }),
        DtOp::Overlaps => overlaps(&args),
        DtOp::CurrentTime { tz } => {
            let t = now.rem_euclid(USECS_PER_DAY);
            if *tz {
                Value::TimeTz(TimeTz { micros: t, zone: 0 })
            } else {
                Value::Time(t)
            }
        }
        DtOp::DateBin => {
            let Value::Interval(stride) = &args[0] else {
                return Ok(Value::Null);
            };
            let (Some(src), Some(origin)) = (ts_value(&args[1]), ts_value(&args[2])) else {
                return Ok(Value::Null);
            };
            if src == TS_NOBEGIN || src == TS_NOEND || origin == TS_NOBEGIN || origin == TS_NOEND {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "timestamps cannot be binned into infinite intervals",
                ));
            }
            if stride.months != 0 {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "timestamps cannot be binned into intervals containing months or years",
                ));
            }
            let s = stride.days as i128 * USECS_PER_DAY as i128 + stride.micros as i128;
            if s <= 0 {
                return Err(PgError::error(
                    sqlstate::DATETIME_FIELD_OVERFLOW,
                    "stride must be greater than zero",
                ));
            }
            let diff = src as i128 - origin as i128;
            let mut bin = diff - diff % s;
            if diff % s < 0 {
                bin -= s;
            }
            same_ts(&args[1], check_ts(origin as i128 + bin)?)
        }
    })
}

fn make_date(y: i64, m: i64, d: i64) -> Result<i64, PgError> {
    if y == 0 {
        return Err(field_overflow(format!("{y}-{m:02}-{d:02}")));
    }
    let yy = if y < 0 { y + 1 } else { y };
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(yy, m as u32) as i64 {
        return Err(field_overflow(format!("{y}-{m:02}-{d:02}")));
    }
    Ok(from_ymd(yy, m as u32, d as u32))
}

fn make_time(h: i64, m: i64, s: f64) -> Result<i64, PgError> {
    let us = (s * 1e6).round_ties_even() as i64;
    let total = h * USECS_PER_HOUR + m * USECS_PER_MINUTE + us;
    if !((0..=23).contains(&h) || h == 24 && m == 0 && us == 0)
        || !(0..=59).contains(&m)
        || !(0.0..=60.0).contains(&s)
        || total > USECS_PER_DAY
    {
        return Err(PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            format!(
                "time field value out of range: {h}:{m:02}:{}",
                crate::value::format_float8(s)
            ),
        ));
    }
    Ok(total)
}

/// OVERLAPS as PostgreSQL's overlaps_timestamp: each pair ordered, NULL
/// ends handled as the SQL standard says.
fn overlaps(a: &[Value]) -> Value {
    use std::cmp::Ordering::*;
    let cmp = |x: &Value, y: &Value| crate::value::compare(x, y);
    let (mut ts1, mut te1, mut ts2, mut te2) = (&a[0], &a[1], &a[2], &a[3]);
    if ts1.is_null() {
        if te1.is_null() {
            return Value::Null;
        }
        ts1 = te1;
    }
    if te1.is_null() {
        te1 = ts1;
    } else if cmp(ts1, te1) == Greater {
        std::mem::swap(&mut ts1, &mut te1);
    }
    if ts2.is_null() {
        if te2.is_null() {
            return Value::Null;
        }
        ts2 = te2;
    }
    if te2.is_null() {
        te2 = ts2;
    } else if cmp(ts2, te2) == Greater {
        std::mem::swap(&mut ts2, &mut te2);
    }
    if cmp(ts1, ts2) == Greater {
        if cmp(ts1, te2) == Less {
            return Value::Bool(true);
        }
        Value::Bool(false)
    } else if cmp(ts1, ts2) == Less {
        if cmp(ts2, te1) == Less {
            return Value::Bool(true);
        }
        Value::Bool(false)
    } else {
        Value::Bool(true)
    }
}

/// The template functions: the template is the second argument.
fn format_op(op: &DtOp, args: &[Value]) -> Result<Value, PgError> {
    use crate::formatting as f;
    let fmt = text_arg(&args[1]);
    let text = |o: Option<String>| o.map(Value::Text).unwrap_or(Value::Null);
    Ok(match op {
        DtOp::ToChar => match &args[0] {
            Value::Timestamp(t) => text(f::timestamp_to_char(*t, false, &fmt)?),
            Value::TimestampTz(t) => text(f::timestamp_to_char(*t, true, &fmt)?),
            Value::Interval(iv) => text(f::interval_to_char(iv, &fmt)?),
            Value::Numeric(n) => Value::Text(f::numeric_to_char(n, &fmt)?),
            Value::Int2(i) => Value::Text(f::int_to_char(*i as i64, &fmt)?),
            Value::Int4(i) => Value::Text(f::int_to_char(*i as i64, &fmt)?),
            Value::Int8(i) => Value::Text(f::int_to_char(*i, &fmt)?),
            Value::Float4(x) => Value::Text(f::float_to_char(*x as f64, &fmt, 6)?),
            Value::Float8(x) => Value::Text(f::float_to_char(*x, &fmt, 15)?),
            _ => Value::Null,
        },
        DtOp::ToNumber => f::to_number(&text_arg(&args[0]), &fmt)?
            .map(Value::Numeric)
            .unwrap_or(Value::Null),
        DtOp::ToDate => Value::Date(f::to_date(&text_arg(&args[0]), &fmt)?),
        _ => Value::TimestampTz(f::to_timestamp(&text_arg(&args[0]), &fmt)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tusk_types::datetime::{format_timestamp, parse_timestamp};
    use tusk_types::interval::{format, parse};

    fn ts(s: &str) -> i64 {
        parse_timestamp(s, 0).unwrap()
    }

    /// Results from PostgreSQL 15.
    #[test]
    fn timestamp_interval_arithmetic() {
        let r = ts_plus_interval(ts("2000-01-31"), &parse("1 mon").unwrap()).unwrap();
        assert_eq!(format_timestamp(r, false), "2000-02-29 00:00:00");
        let r = ts_plus_interval(
            ts("2000-03-31 10:00"),
            &parse("-1 mon 1 day 02:00").unwrap(),
        )
        .unwrap();
        assert_eq!(format_timestamp(r, false), "2000-03-01 12:00:00");
        let d = arith(
            ArithOp::Sub,
            &Value::Timestamp(ts("2000-03-01 12:00")),
            &Value::Timestamp(ts("2000-01-01")),
        )
        .unwrap();
        assert_eq!(crate::value::to_text(&d).unwrap(), "60 days 12:00:00");
        let a = age(ts("2001-04-10"), ts("1957-06-13")).unwrap();
        assert_eq!(format(&a), "43 years 9 mons 27 days");
    }

    #[test]
    fn extract_fields() {
        let t = Value::Timestamp(ts("2001-02-16 20:38:40.5"));
        let f = |field: &str, v: &Value| {
            let (x, s) = extract_value(field, v).unwrap().unwrap();
            numeric_scaled(x, s).to_text()
        };
        assert_eq!(f("second", &t), "40.500000");
        assert_eq!(f("dow", &t), "5");
        assert_eq!(f("doy", &t), "47");
        assert_eq!(f("week", &t), "7");
        assert_eq!(f("quarter", &t), "1");
        assert_eq!(f("century", &t), "21");
        assert_eq!(f("epoch", &t), "982355920.500000");
        let iv = Value::Interval(parse("1 year 2 mons 3 days 04:05:06").unwrap());
        assert_eq!(f("epoch", &iv), "37015506.000000");
        assert_eq!(f("month", &iv), "2");
    }
}
