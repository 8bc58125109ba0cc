//! `timestamptz`, `timestamp` and `date` text input and output.
//!
//! Values are PostgreSQL's: microseconds (timestamps) or days (date) since
//! 2000-01-01, with i64::MIN / i64::MAX (i32 for dates) as -infinity /
//! infinity. tusk has no time zone database yet, so the session zone is
//! taken as UTC: output always carries `+00`, input without a zone is UTC,
//! and numeric offsets (`+05:30`, `Z`, `UTC`, `GMT`) are honoured exactly.

use tusk_common::time::{civil_from_days, days_from_civil};

/// Days from 1970-01-01 to 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
const USECS_PER_DAY: i64 = 86_400_000_000;
pub const TS_NOBEGIN: i64 = i64::MIN;
pub const TS_NOEND: i64 = i64::MAX;
pub const DATE_NOBEGIN: i32 = i32::MIN;
pub const DATE_NOEND: i32 = i32::MAX;
/// 4714-11-24 BC (Julian day 0) .. 294277-01-01: PostgreSQL's range.
const MIN_TS: i64 = -211_813_488_000_000_000;
const MAX_TS: i64 = 9_223_371_331_200_000_000;

/// The zone abbreviations of PostgreSQL's `Default` set that are in
/// everyday use, with their offsets in seconds east of UTC. A fixed table
/// (as PostgreSQL's timezone_abbreviations file is) rather than a zone
/// database lookup: an abbreviation names one offset, DST included.
const ZONE_ABBREVS: &[(&str, i64)] = &[
    ("acdt", 37_800),
    ("acst", 34_200),
    ("adt", -10_800),
    ("aedt", 39_600),
    ("aest", 36_000),
    ("akdt", -28_800),
    ("akst", -32_400),
    ("ast", -14_400),
    ("bst", 3_600),
    ("cdt", -18_000),
    ("cest", 7_200),
    ("cet", 3_600),
    ("cst", -21_600),
    ("edt", -14_400),
    ("eest", 10_800),
    ("eet", 7_200),
    ("est", -18_000),
    ("gmt", 0),
    ("hst", -36_000),
    ("ist", 7_200),
    ("jst", 32_400),
    ("kst", 32_400),
    ("mdt", -21_600),
    ("msk", 10_800),
    ("mst", -25_200),
    ("nzdt", 46_800),
    ("nzst", 43_200),
    ("pdt", -25_200),
    ("pst", -28_800),
    ("uct", 0),
    ("ut", 0),
    ("utc", 0),
    ("wet", 0),
    ("west", 3_600),
    ("z", 0),
    ("zulu", 0),
];

/// A zone abbreviation's offset (seconds east of UTC), case-insensitive.
pub fn zone_abbrev(word: &str) -> Option<i64> {
    let w = word.to_ascii_lowercase();
    ZONE_ABBREVS
        .iter()
        .find(|(n, _)| *n == w)
        .map(|(_, off)| *off)
}

/// Why a date/time input was refused; the caller words the message
/// (PostgreSQL's 22007 / 22008 / 22023 errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtError {
    Syntax,
    FieldOverflow,
    OutOfRange,
    UnknownZone(String),
}

fn fmt_date(days_since_2000: i64, out: &mut String) -> bool {
    let (y, m, d) = civil_from_days(days_since_2000 + PG_EPOCH_DAYS);
    let (year, bc) = if y <= 0 { (1 - y, true) } else { (y, false) };
    out.push_str(&format!("{year:04}-{m:02}-{d:02}"));
    bc
}

/// Text output of a timestamp: `2026-11-22 01:30:55.123456+00` (the zone
/// suffix only `with_tz`), trailing zeros of the fraction dropped.
pub fn format_timestamp(us: i64, with_tz: bool) -> String {
    match us {
        TS_NOBEGIN => return "-infinity".into(),
        TS_NOEND => return "infinity".into(),
        _ => {}
    }
    let days = us.div_euclid(USECS_PER_DAY);
    let tod = us.rem_euclid(USECS_PER_DAY);
    let mut s = String::with_capacity(32);
    let bc = fmt_date(days, &mut s);
    let secs = tod / 1_000_000;
    let frac = tod % 1_000_000;
    s.push_str(&format!(
        " {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    ));
    if frac != 0 {
        let f = format!("{frac:06}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    if with_tz {
        s.push_str("+00");
    }
    if bc {
        s.push_str(" BC");
    }
    s
}

pub fn format_date(days: i32) -> String {
    match days {
        DATE_NOBEGIN => return "-infinity".into(),
        DATE_NOEND => return "infinity".into(),
        _ => {}
    }
    let mut s = String::with_capacity(16);
    if fmt_date(days as i64, &mut s) {
        s.push_str(" BC");
    }
    s
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, max: usize) -> Option<(i64, usize)> {
        let start = self.i;
        let mut v: i64 = 0;
        while self.i < self.b.len() && self.b[self.i].is_ascii_digit() && self.i - start < max {
            v = v * 10 + (self.b[self.i] - b'0') as i64;
            self.i += 1;
        }
        if self.i == start {
            None
        } else {
            Some((v, self.i - start))
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn skip_ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn rest(&self) -> &str {
        std::str::from_utf8(&self.b[self.i..]).unwrap_or("")
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

/// Parsed fields of a date/time literal.
struct Parsed {
    days: i64,
    tod_us: i64,
    offset_secs: Option<i64>,
}

fn parse_fields(s: &str, now_us: i64) -> Result<Parsed, DtError> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let today = now_us.div_euclid(USECS_PER_DAY);
    let special = |days: i64| {
        Ok(Parsed {
            days,
            tod_us: 0,
            offset_secs: Some(0),
        })
    };
    match lower.as_str() {
        "epoch" => return special(-PG_EPOCH_DAYS),
        "now" => {
            return Ok(Parsed {
                days: today,
                tod_us: now_us.rem_euclid(USECS_PER_DAY),
                offset_secs: Some(0),
            })
        }
        "today" => return special(today),
        "tomorrow" => return special(today + 1),
        "yesterday" => return special(today - 1),
        _ => {}
    }
    let mut c = Cursor {
        b: t.as_bytes(),
        i: 0,
    };
    let (year, ylen) = c.digits(7).ok_or(DtError::Syntax)?;
    if ylen < 3 && ylen != 0 {
        // PostgreSQL reads 2-digit years as 19xx/20xx; refuse to guess.
        return Err(DtError::Syntax);
    }
    if !c.eat(b'-') {
        return Err(DtError::Syntax);
    }
    let (month, _) = c.digits(2).ok_or(DtError::Syntax)?;
    if !c.eat(b'-') {
        return Err(DtError::Syntax);
    }
    let (day, _) = c.digits(2).ok_or(DtError::Syntax)?;
    let mut tod_us = 0i64;
    let mut offset_secs = None;
    // Time part, after 'T' or whitespace.
    let save = c.i;
    let had_sep = c.eat(b'T') || c.eat(b't') || {
        c.skip_ws();
        c.i > save
    };
    if had_sep && c.b.get(c.i).is_some_and(|b| b.is_ascii_digit()) {
        let (h, _) = c.digits(2).ok_or(DtError::Syntax)?;
        if !c.eat(b':') {
            return Err(DtError::Syntax);
        }
        let (mi, _) = c.digits(2).ok_or(DtError::Syntax)?;
        let mut sec = 0i64;
        let mut frac_us = 0i64;
        if c.eat(b':') {
            sec = c.digits(2).ok_or(DtError::Syntax)?.0;
            if c.eat(b'.') {
                let start = c.i;
                let mut n = 0usize;
                let mut v = 0i64;
                let mut round_up = false;
                while c.i < c.b.len() && c.b[c.i].is_ascii_digit() {
                    let d = (c.b[c.i] - b'0') as i64;
                    if n < 6 {
                        v = v * 10 + d;
                    } else if n == 6 {
                        round_up = d >= 5;
                    }
                    n += 1;
                    c.i += 1;
                }
                if c.i == start {
                    return Err(DtError::Syntax);
                }
                for _ in n..6 {
                    v *= 10;
                }
                frac_us = v + round_up as i64;
            }
        }
        if h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi > 0 || sec > 0 || frac_us > 0)) {
            return Err(DtError::FieldOverflow);
        }
        tod_us = ((h * 60 + mi) * 60 + sec) * 1_000_000 + frac_us;
    } else {
        c.i = save;
    }
    // Zone.
    c.skip_ws();
    if c.i < c.b.len() && (c.b[c.i] == b'+' || c.b[c.i] == b'-') {
        let neg = c.b[c.i] == b'-';
        c.i += 1;
        let (first, flen) = c.digits(6).ok_or(DtError::Syntax)?;
        let (h, mut m, mut sec) = match flen {
            1 | 2 => (first, 0, 0),
            4 => (first / 100, first % 100, 0),
            6 => (first / 10000, first / 100 % 100, first % 100),
            _ => return Err(DtError::Syntax),
        };
        if flen <= 2 && c.eat(b':') {
            m = c.digits(2).ok_or(DtError::Syntax)?.0;
            if c.eat(b':') {
                sec = c.digits(2).ok_or(DtError::Syntax)?.0;
            }
        }
        if h > 15 || m > 59 || sec > 59 {
            return Err(DtError::FieldOverflow);
        }
        let off = h * 3600 + m * 60 + sec;
        offset_secs = Some(if neg { -off } else { off });
    } else {
        let rest = c.rest();
        let word_end = rest
            .find(|ch: char| ch.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let word = &rest[..word_end];
        let lw = word.to_ascii_lowercase();
        match lw.as_str() {
            "" => {}
            w if zone_abbrev(w).is_some() => {
                offset_secs = zone_abbrev(w);
                c.i += word_end;
            }
            "bc" | "ad" => {}
            _ => return Err(DtError::UnknownZone(word.to_string())),
        }
    }
    c.skip_ws();
    let mut year = year;
    let rest = c.rest().to_ascii_lowercase();
    if rest == "bc" {
        if year == 0 {
            return Err(DtError::FieldOverflow);
        }
        year = 1 - year;
        c.i = c.b.len();
    } else if rest == "ad" {
        c.i = c.b.len();
    }
    if c.i != c.b.len() {
        return Err(DtError::Syntax);
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || year == 0 && ylen > 0 && rest != "bc"
    {
        return Err(DtError::FieldOverflow);
    }
    let days = days_from_civil(year, month as u32, day as u32) - PG_EPOCH_DAYS;
    Ok(Parsed {
        days,
        tod_us,
        offset_secs,
    })
}

fn check_ts(us: i128) -> Result<i64, DtError> {
    if us < MIN_TS as i128 || us >= MAX_TS as i128 {
        Err(DtError::OutOfRange)
    } else {
        Ok(us as i64)
    }
}

fn special_ts(s: &str) -> Option<i64> {
    match s.trim().to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" => Some(TS_NOEND),
        "-infinity" => Some(TS_NOBEGIN),
        _ => None,
    }
}

/// `timestamptz` input. `now_us` resolves 'now', 'today' and friends.
pub fn parse_timestamptz(s: &str, now_us: i64) -> Result<i64, DtError> {
    if let Some(v) = special_ts(s) {
        return Ok(v);
    }
    let p = parse_fields(s, now_us)?;
    let local = p.days as i128 * USECS_PER_DAY as i128 + p.tod_us as i128;
    check_ts(local - p.offset_secs.unwrap_or(0) as i128 * 1_000_000)
}

/// `timestamp` (without time zone) input: a zone, if given, is ignored,
/// as PostgreSQL does.
pub fn parse_timestamp(s: &str, now_us: i64) -> Result<i64, DtError> {
    if let Some(v) = special_ts(s) {
        return Ok(v);
    }
    let p = parse_fields(s, now_us)?;
    check_ts(p.days as i128 * USECS_PER_DAY as i128 + p.tod_us as i128)
}

pub fn parse_date(s: &str, now_us: i64) -> Result<i32, DtError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" => return Ok(DATE_NOEND),
        "-infinity" => return Ok(DATE_NOBEGIN),
        _ => {}
    }
    let p = parse_fields(s, now_us)?;
    i32::try_from(p.days).map_err(|_| DtError::OutOfRange)
}

/// A timestamp's date (for the timestamp -> date cast).
pub fn timestamp_to_date(us: i64) -> i32 {
    match us {
        TS_NOBEGIN => DATE_NOBEGIN,
        TS_NOEND => DATE_NOEND,
        _ => us.div_euclid(USECS_PER_DAY) as i32,
    }
}

/// Midnight of a date as a timestamp.
pub fn date_to_timestamp(d: i32) -> Option<i64> {
    match d {
        DATE_NOBEGIN => Some(TS_NOBEGIN),
        DATE_NOEND => Some(TS_NOEND),
        _ => check_ts(d as i128 * USECS_PER_DAY as i128).ok(),
    }
}

/// Microseconds since 2000-01-01 from the real-time clock.
pub fn clock_now() -> i64 {
    tusk_common::time::now_micros() - tusk_common::time::PG_EPOCH_OFFSET_MICROS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output() {
        assert_eq!(format_timestamp(0, true), "2000-01-01 00:00:00+00");
        assert_eq!(
            format_timestamp(848_626_255_123_456, true),
            "2026-11-22 01:30:55.123456+00"
        );
        assert_eq!(format_timestamp(1_500_000, false), "2000-01-01 00:00:01.5");
        assert_eq!(format_timestamp(-1, true), "1999-12-31 23:59:59.999999+00");
        assert_eq!(format_timestamp(TS_NOEND, true), "infinity");
        assert_eq!(format_date(0), "2000-01-01");
        assert_eq!(format_date(-730_120), "0001-12-31 BC");
    }

    #[test]
    fn input() {
        assert_eq!(parse_timestamptz("2000-01-01 00:00:00+00", 0), Ok(0));
        assert_eq!(parse_timestamptz("2000-01-01T01:00:00+01:00", 0), Ok(0));
        assert_eq!(parse_timestamptz("2000-01-01 05:30+0530", 0), Ok(0));
        assert_eq!(parse_timestamptz("2000-01-01 00:00:00 UTC", 0), Ok(0));
        assert_eq!(parse_timestamptz("2000-01-01", 0), Ok(0));
        assert_eq!(parse_timestamptz("2000-01-01 00:00:00.0000005Z", 0), Ok(1));
        assert_eq!(
            parse_timestamptz("2026-11-22 01:30:55.123456+00", 0),
            Ok(848_626_255_123_456)
        );
        assert_eq!(parse_timestamptz(" epoch ", 0), Ok(-946_684_800_000_000));
        assert_eq!(parse_timestamptz("now", 42), Ok(42));
        assert_eq!(
            parse_timestamptz("2000-02-30", 0),
            Err(DtError::FieldOverflow)
        );
        assert_eq!(
            parse_timestamptz("2000-01-01 25:00", 0),
            Err(DtError::FieldOverflow)
        );
        assert_eq!(parse_timestamptz("garbage", 0), Err(DtError::Syntax));
        assert_eq!(
            parse_timestamptz("2000-01-01 00:00 Mars/Base", 0),
            Err(DtError::UnknownZone("Mars/Base".into()))
        );
        assert_eq!(parse_timestamp("2000-01-01 00:00:00+05", 0), Ok(0));
        assert_eq!(parse_date("2000-01-02", 0), Ok(1));
        assert_eq!(parse_date("0001-12-31 BC", 0), Ok(-730_120));
        assert!(parse_timestamptz("9999999-01-01", 0).is_err());
    }
}
