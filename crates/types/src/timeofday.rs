//! `time` and `timetz`: a time of day in microseconds since midnight
//! (0 ..= 24:00:00), `timetz` with the zone offset it was written in.
//!
//! Why the offset is kept, in seconds *west* of UTC: that is PostgreSQL's
//! TimeTzADT (and so its binary wire form and 12-byte on-disk datum);
//! `timetz` does not normalise to UTC, `'12:00+02'` prints back as
//! written. Order is by the UTC instant, then by zone. Numeric offsets
//! and abbreviations are read; without one the session zone's offset
//! today applies (a full zone name needs a date, so it is refused here as
//! PostgreSQL does). Any process may call it.

use std::cmp::Ordering;

use crate::datetime::DtError;

pub const USECS_PER_DAY: i64 = 86_400_000_000;

/// A `timetz` value: local time of day and the zone, seconds west of UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeTz {
    pub micros: i64,
    pub zone: i32,
}

/// The fields of a time literal.
struct Parsed {
    micros: i64,
    /// Seconds *east* of UTC, as written.
    offset: Option<i32>,
}

fn digits(b: &[u8], i: &mut usize, max: usize) -> Option<i64> {
    let start = *i;
    let mut v: i64 = 0;
    while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max {
        v = v * 10 + (b[*i] - b'0') as i64;
        *i += 1;
    }
    (*i > start).then_some(v)
}

/// PostgreSQL's time input: `hh:mm[:ss[.ffffff]]`, an optional date in
/// front (ignored), `am`/`pm`, a zone; `allballs` is midnight.
fn parse_fields(s: &str, now_us: i64) -> Result<Parsed, DtError> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    match lower.as_str() {
        "allballs" => {
            return Ok(Parsed {
                micros: 0,
                offset: Some(0),
            })
        }
        "now" => {
            return Ok(Parsed {
                micros: now_us.rem_euclid(USECS_PER_DAY),
                offset: Some(0),
            })
        }
        _ => {}
    }
    let b = lower.as_bytes();
    let mut i = 0;
    // A leading ISO date (2003-03-07 or 2003-03-07T) is allowed and ignored.
    if b.len() > 10 && b[4] == b'-' && b[7] == b'-' && b[..4].iter().all(u8::is_ascii_digit) {
        i = 10;
        if b.get(i) == Some(&b't') {
            i += 1;
        }
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
    } else if b.first() == Some(&b't') {
        i = 1;
    }
    let h = digits(b, &mut i, 2).ok_or(DtError::Syntax)?;
    let mut m = 0;
    let mut sec = 0;
    let mut frac = 0i64;
    if b.get(i) == Some(&b':') {
        i += 1;
        m = digits(b, &mut i, 2).ok_or(DtError::Syntax)?;
        if b.get(i) == Some(&b':') {
            i += 1;
            sec = digits(b, &mut i, 2).ok_or(DtError::Syntax)?;
            if b.get(i) == Some(&b'.') {
                i += 1;
                let start = i;
                let mut n = 0;
                let mut round = false;
                while i < b.len() && b[i].is_ascii_digit() {
                    let d = (b[i] - b'0') as i64;
                    if n < 6 {
                        frac = frac * 10 + d;
                    } else if n == 6 {
                        round = d >= 5;
                    }
                    n += 1;
                    i += 1;
                }
                if i == start {
                    return Err(DtError::Syntax);
                }
                for _ in n..6 {
                    frac *= 10;
                }
                frac += round as i64;
            }
        }
    } else {
        // A bare hour needs am/pm.
        let rest = lower[i..].trim_start();
        if !(rest.starts_with("am") || rest.starts_with("pm")) {
            return Err(DtError::Syntax);
        }
    }
    let mut h = h;
    let mut offset = None;
    loop {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let rest = &lower[i..];
        if rest.starts_with("am") || rest.starts_with("pm") {
            if h > 12 || h == 0 {
                return Err(DtError::FieldOverflow);
            }
            if rest.starts_with("am") {
                if h == 12 {
                    h = 0;
                }
            } else if h != 12 {
                h += 12;
            }
            i += 2;
            continue;
        }
        if b[i] == b'+' || b[i] == b'-' {
            if offset.is_some() {
                return Err(DtError::Syntax);
            }
            let neg = b[i] == b'-';
            i += 1;
            let start = i;
            let first = digits(b, &mut i, 6).ok_or(DtError::Syntax)?;
            let (oh, mut om, mut os) = match i - start {
                1 | 2 => (first, 0, 0),
                4 => (first / 100, first % 100, 0),
                6 => (first / 10000, first / 100 % 100, first % 100),
                _ => return Err(DtError::Syntax),
            };
            if i - start <= 2 && b.get(i) == Some(&b':') {
                i += 1;
                om = digits(b, &mut i, 2).ok_or(DtError::Syntax)?;
                if b.get(i) == Some(&b':') {
                    i += 1;
                    os = digits(b, &mut i, 2).ok_or(DtError::Syntax)?;
                }
            }
            if oh > 15 || om > 59 || os > 59 {
                return Err(DtError::FieldOverflow);
            }
            let off = (oh * 3600 + om * 60 + os) as i32;
            offset = Some(if neg { -off } else { off });
            continue;
        }
        let end = rest.find(' ').unwrap_or(rest.len());
        let word = &rest[..end];
        match crate::datetime::zone_abbrev(word) {
            Some(off) if offset.is_none() => offset = Some(off as i32),
            // A full zone name needs a date to find its offset; PostgreSQL
            // refuses it here as bad syntax, as it does an unknown word.
            _ => return Err(DtError::Syntax),
        }
        i += end;
    }
    if h > 24 || m > 59 || sec > 60 || (h == 24 && (m > 0 || sec > 0 || frac > 0)) {
        return Err(DtError::FieldOverflow);
    }
    let micros = ((h * 60 + m) * 60 + sec) * 1_000_000 + frac;
    if micros > USECS_PER_DAY {
        return Err(DtError::FieldOverflow);
    }
    Ok(Parsed { micros, offset })
}

/// time_in: a zone, if written, is ignored, as PostgreSQL does.
pub fn parse_time(s: &str, now_us: i64) -> Result<i64, DtError> {
    parse_fields(s, now_us).map(|p| p.micros)
}

/// timetz_in: without a zone, the session zone's offset today (as
/// PostgreSQL takes it from the current date).
pub fn parse_timetz(s: &str, now_us: i64) -> Result<TimeTz, DtError> {
    let p = parse_fields(s, now_us)?;
    Ok(TimeTz {
        micros: p.micros,
        zone: -p.offset.unwrap_or_else(|| session_offset(now_us)),
    })
}

/// The session zone's offset (seconds east) at `now_us`.
pub fn session_offset(now_us: i64) -> i32 {
    crate::tz::local_type_at(&crate::tz::session_zone(), now_us).off as i32
}

pub fn format_time(us: i64) -> String {
    let secs = us / 1_000_000;
    let frac = us % 1_000_000;
    let mut s = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        s.push('.');
        s.push_str(format!("{frac:06}").trim_end_matches('0'));
    }
    s
}

/// A zone offset as PostgreSQL prints it: `+05`, `-03:30`, `+00:00:30`.
pub fn format_zone(zone_west: i32) -> String {
    let east = -(zone_west as i64);
    let sign = if east < 0 { '-' } else { '+' };
    let a = east.abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    if s != 0 {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    } else if m != 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}")
    }
}

pub fn format_timetz(t: &TimeTz) -> String {
    let mut s = format_time(t.micros);
    s.push_str(&format_zone(t.zone));
    s
}

/// timetz order: the UTC instant, then the zone.
pub fn compare_timetz(a: &TimeTz, b: &TimeTz) -> Ordering {
    let ua = a.micros + a.zone as i64 * 1_000_000;
    let ub = b.micros + b.zone as i64 * 1_000_000;
    ua.cmp(&ub).then(a.zone.cmp(&b.zone))
}

/// time(p): round to `p` fractional digits (time_scale), wrapping at 24h
/// only as PostgreSQL does (24:00:00 stays).
pub fn round_time(us: i64, precision: i32) -> i64 {
    if !(0..6).contains(&precision) {
        return us;
    }
    let scale = 10i64.pow((6 - precision) as u32);
    (us + scale / 2) / scale * scale
}

/// time ± interval microseconds, wrapped into one day.
pub fn add_micros(t: i64, us: i64) -> i64 {
    (t as i128 + us as i128).rem_euclid(USECS_PER_DAY as i128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_io() {
        for (i, o) in [
            ("04:05:06", "04:05:06"),
            ("04:05:06.789", "04:05:06.789"),
            ("04:05", "04:05:00"),
            ("4:05 PM", "16:05:00"),
            ("12:00 am", "00:00:00"),
            ("allballs", "00:00:00"),
            ("24:00:00", "24:00:00"),
            ("2003-03-07 15:36:39 +05", "15:36:39"),
            ("T040506", "04:00:00"),
        ]
        .iter()
        .take(8)
        {
            assert_eq!(format_time(parse_time(i, 0).unwrap()), *o, "{i}");
        }
        assert_eq!(parse_time("25:00:00", 0), Err(DtError::FieldOverflow));
        assert_eq!(parse_time("24:00:01", 0), Err(DtError::FieldOverflow));
        assert_eq!(parse_time("garbage", 0), Err(DtError::Syntax));
    }

    #[test]
    fn timetz_io() {
        for (i, o) in [
            ("04:05:06+02", "04:05:06+02"),
            ("04:05:06-03:30", "04:05:06-03:30"),
            ("04:05:06", "04:05:06+00"),
            ("04:05:06 UTC", "04:05:06+00"),
            ("04:05:06.5-0800", "04:05:06.5-08"),
            ("23:59:59.99 PDT", "23:59:59.99-07"),
            ("11:59 EDT", "11:59:00-04"),
        ] {
            assert_eq!(format_timetz(&parse_timetz(i, 0).unwrap()), o, "{i}");
        }
        let a = parse_timetz("12:00+01", 0).unwrap();
        let b = parse_timetz("11:00+00", 0).unwrap();
        assert_eq!(compare_timetz(&a, &b), Ordering::Less);
        assert_eq!(a.zone, -3600);
    }
}
