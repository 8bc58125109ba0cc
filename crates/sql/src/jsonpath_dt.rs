//! jsonpath's date/time items: `.datetime()` and `.datetime(template)` over a string, and comparisons between such items (PostgreSQL 15's executeDateTimeMethod and compareDatetime).
//!
//! Why a module of its own: the item is a value of one of five SQL types
//! (tusk_types::json::JsonDatetime), and what it is depends on how it was
//! read: without a template on which ISO form the string has, with one on
//! which fields the template names (a date, a time, a zone), the fields
//! themselves read by to_timestamp's template code (formatting.rs).
//! Comparing a value with a zone to one without needs the session's
//! zone, which only the *_tz functions may use; the others fail as
//! PostgreSQL does ("cannot convert value from ... without time zone
//! usage").
//!
//! Pure functions of their arguments and the session's time zone; any
//! backend may call them.

use std::cmp::Ordering;

use tusk_common::{sqlstate, PgError};
use tusk_types::json::{DatetimeKind as K, JsonDatetime};

const USECS_PER_DAY: i64 = 86_400_000_000;

fn item(kind: K, value: i64, offset: i32) -> JsonDatetime {
    JsonDatetime {
        kind,
        value,
        offset,
    }
}

/// The item of `days`, `tod` and a zone as a template or ISO form gave
/// them, for the fields it named.
fn make(dated: bool, timed: bool, days: i64, tod: i64, zone: Option<i32>) -> JsonDatetime {
    match (dated, timed, zone) {
        (true, false, _) => item(K::Date, days, 0),
        (false, _, None) => item(K::Time, tod, 0),
        (false, _, Some(z)) => item(K::TimeTz, tod, z),
        (true, true, None) => item(
            K::Timestamp,
            days.saturating_mul(USECS_PER_DAY).saturating_add(tod),
            0,
        ),
        (true, true, Some(z)) => item(
            K::TimestampTz,
            days.saturating_mul(USECS_PER_DAY)
                .saturating_add(tod)
                .saturating_sub(z as i64 * 1_000_000),
            z,
        ),
    }
}

/// `.datetime()` without a template: the ISO forms PostgreSQL 15 tries
/// (date; time with optional fraction and numeric zone; both, joined by
/// a space or `T`), or 22007 "datetime format is not recognized".
pub(crate) fn recognize(s: &str) -> Result<JsonDatetime, PgError> {
    iso(s).ok_or_else(|| {
        PgError::error(
            sqlstate::SqlState::new("22031"),
            format!("datetime format is not recognized: \"{s}\""),
        )
        .with_hint("Use a datetime template argument to specify the input data format.")
    })
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scan<'_> {
    fn num(&mut self, max: usize) -> Option<i64> {
        let start = self.i;
        while self.i < self.b.len() && self.b[self.i].is_ascii_digit() && self.i - start < max {
            self.i += 1;
        }
        if self.i == start {
            return None;
        }
        std::str::from_utf8(&self.b[start..self.i])
            .ok()?
            .parse()
            .ok()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
}

fn iso(s: &str) -> Option<JsonDatetime> {
    let mut p = Scan {
        b: s.as_bytes(),
        i: 0,
    };
    // A date leads when the first number is followed by '-'.
    let save = p.i;
    let first = p.num(9)?;
    let (dated, days) = if p.eat(b'-') {
        let m = p.num(2)?;
        if !p.eat(b'-') {
            return None;
        }
        let d = p.num(2)?;
        if !(1..=12).contains(&m) || d < 1 || d > days_in_month(first, m) || first > 5_874_897 {
            return None;
        }
        (true, crate::formatting::days_of(first, m as u32, d as u32))
    } else {
        p.i = save;
        (false, 0)
    };
    if dated && p.done() {
        return Some(make(true, false, days, 0, None));
    }
    // Past timestamp's range (294276 AD) a date cannot have a time.
    if dated && !(-4713..=294_276).contains(&first) {
        return None;
    }
    if dated && !(p.eat(b' ') || p.eat(b'T')) {
        return None;
    }
    let h = p.num(2)?;
    if !p.eat(b':') {
        return None;
    }
    let mi = p.num(2)?;
    if !p.eat(b':') {
        return None;
    }
    let sec = p.num(2)?;
    let mut frac = 0i64;
    if p.eat(b'.') {
        let start = p.i;
        let digits = p.num(6)?;
        let n = p.i - start;
        frac = digits * 10i64.pow(6 - n as u32);
    }
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let tod = ((h * 60 + mi) * 60 + sec) * 1_000_000 + frac;
    while p.eat(b' ') {}
    let zone = if p.done() {
        None
    } else {
        let sign = if p.eat(b'+') {
            1
        } else if p.eat(b'-') {
            -1
        } else {
            return None;
        };
        let zh = p.num(2)?;
        let zm = if p.eat(b':') { p.num(2)? } else { 0 };
        if zh > 15 || zm > 59 {
            return None;
        }
        Some(sign * ((zh * 60 + zm) * 60) as i32)
    };
    if !p.done() {
        return None;
    }
    Some(make(dated, true, days, tod, zone))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Which of date, time and zone fields a to_timestamp template names
/// (quoted text skipped), as PostgreSQL's DCH_datetime_type; a character
/// outside keywords and quotes must be a separator or a space in
/// standard mode (22007).
fn template_kind(t: &str) -> Result<(bool, bool, bool), PgError> {
    const DATE: &[&str] = &[
        "YYYY", "Y,YYY", "YYY", "YY", "Y", "RRRR", "RR", "MONTH", "MON", "MM", "DDD", "DD", "DAY",
        "DY", "D", "J", "CC", "WW", "IW", "W", "Q", "IYYY", "IYY", "IY", "I", "IDDD", "ID", "BC",
        "AD", "B.C.", "A.D.", "RM",
    ];
    const TIME: &[&str] = &[
        "HH24", "HH12", "HH", "MI", "SSSSS", "SSSS", "SS", "MS", "US", "FF1", "FF2", "FF3", "FF4",
        "FF5", "FF6", "AM", "PM", "A.M.", "P.M.",
    ];
    const ZONE: &[&str] = &["TZH", "TZM", "TZ", "OF"];
    let up = t.to_ascii_uppercase();
    let b = up.as_bytes();
    let (mut dated, mut timed, mut zoned) = (false, false, false);
    let mut i = 0;
    'outer: while i < b.len() {
        if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        if up[i..].starts_with("FM") || up[i..].starts_with("FX") || up[i..].starts_with("TH") {
            i += 2;
            continue;
        }
        // Longest keyword first, as the template parser reads them.
        let mut best: Option<(usize, u8)> = None;
        for (set, tag) in [(ZONE, 2u8), (TIME, 1), (DATE, 0)] {
            for k in set {
                if up[i..].starts_with(k) && best.is_none_or(|(n, _)| k.len() > n) {
                    best = Some((k.len(), tag));
                }
            }
        }
        if let Some((n, tag)) = best {
            match tag {
                0 => dated = true,
                1 => timed = true,
                _ => zoned = true,
            }
            i += n;
            continue 'outer;
        }
        if !b"-/,.';: ".contains(&b[i]) {
            let c = t.get(i..).and_then(|x| x.chars().next()).unwrap_or(' ');
            return Err(PgError::error(
                sqlstate::INVALID_DATETIME_FORMAT,
                format!("invalid datetime format separator: \"{c}\""),
            ));
        }
        i += 1;
    }
    Ok((dated, timed, zoned))
}

/// `.datetime(template)`: the string read with the template; the item's
/// type is what the template names.
pub(crate) fn with_template(s: &str, template: &str) -> Result<JsonDatetime, PgError> {
    let (dated, timed, zoned) = template_kind(template)?;
    let (days, tod, zone) = crate::formatting::datetime_fields(s, template)?;
    if !dated && !timed {
        return Err(PgError::error(
            sqlstate::INVALID_DATETIME_FORMAT,
            "datetime format is not dated and not timed",
        ));
    }
    if zoned && !timed {
        return Err(PgError::error(
            sqlstate::INVALID_DATETIME_FORMAT,
            "datetime format is zoned but not timed",
        ));
    }
    let zone = if zoned { Some(zone.unwrap_or(0)) } else { None };
    Ok(make(dated, timed, days, tod, zone))
}

fn no_tz(from: &str, to: &str) -> PgError {
    PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!("cannot convert value from {from} to {to} without time zone usage"),
    )
    .with_hint("Use *_tz() function for time zone support.")
}

/// A local timestamp in the session's zone as UTC.
fn local_to_utc(us: i64) -> i64 {
    tusk_types::tz::local_to_utc(&tusk_types::tz::session_zone(), us)
}

/// UTC microseconds of a time with zone, for ordering (timetz_cmp's
/// first key), and its zone as the second.
fn timetz_key(v: i64, offset: i32) -> (i64, i32) {
    (v - offset as i64 * 1_000_000, -offset)
}

/// compareDatetime: the order of two items, None when their types do not
/// compare (a date with a time); 0A000 when the comparison needs the
/// session's zone and `use_tz` is false.
pub(crate) fn compare(
    a: &JsonDatetime,
    b: &JsonDatetime,
    use_tz: bool,
) -> Result<Option<Ordering>, PgError> {
    let tstz_of = |x: &JsonDatetime| -> Result<i64, PgError> {
        Ok(match x.kind {
            K::TimestampTz => x.value,
            K::Timestamp if use_tz => local_to_utc(x.value),
            K::Date if use_tz => match x.value.checked_mul(USECS_PER_DAY) {
                Some(us) => local_to_utc(us),
                None => x.value.saturating_mul(USECS_PER_DAY),
            },
            K::Timestamp => return Err(no_tz("timestamp", "timestamptz")),
            _ => return Err(no_tz("date", "timestamptz")),
        })
    };
    // A date past timestamp's range sorts as its infinity (PostgreSQL's
    // date2timestamp_opt_overflow).
    let ts_of = |x: &JsonDatetime| match x.kind {
        K::Date => x.value.saturating_mul(USECS_PER_DAY),
        _ => x.value,
    };
    Ok(Some(match (a.kind, b.kind) {
        (K::Date, K::Date) => a.value.cmp(&b.value),
        (K::Date | K::Timestamp, K::Date | K::Timestamp) => ts_of(a).cmp(&ts_of(b)),
        (K::Date | K::Timestamp | K::TimestampTz, K::Date | K::Timestamp | K::TimestampTz) => {
            tstz_of(a)?.cmp(&tstz_of(b)?)
        }
        (K::Time, K::Time) => a.value.cmp(&b.value),
        (K::Time | K::TimeTz, K::Time | K::TimeTz) => {
            let key = |x: &JsonDatetime| -> Result<(i64, i32), PgError> {
                match x.kind {
                    K::TimeTz => Ok(timetz_key(x.value, x.offset)),
                    _ if use_tz => Ok(timetz_key(x.value, session_offset())),
                    _ => Err(no_tz("time", "timetz")),
                }
            };
            key(a)?.cmp(&key(b)?)
        }
        _ => return Ok(None),
    }))
}

/// The session zone's offset now (seconds east), as time → timetz uses.
fn session_offset() -> i32 {
    let z = tusk_types::tz::session_zone();
    let now = tusk_types::datetime::clock_now();
    tusk_types::tz::local_type_at(&z, now).off as i32
}
