//! Date/time input in every form PostgreSQL's datetime parser takes:
//! ISO (`1997-02-10 17:32:01-08`), Postgres output (`Mon Feb 10 17:32:01
//! 1997 PST`), SQL (`02/10/1997`), run-together (`19970210 173201`),
//! month names, `yyyy.ddd`, AM/PM, BC, zone abbreviations and names.
//!
//! Why tokens then fields, as PostgreSQL's ParseDateTime/DecodeDateTime:
//! the meaning of a bare number (month, day or year) depends on what was
//! already seen and on DateStyle's field order, so the input is first cut
//! into typed tokens and each number is placed by the fields still
//! missing. Written from the documented behaviour and checked against
//! PostgreSQL 15's outputs; nothing here does I/O beyond the zone lookup
//! (crate::tz), and any process may call it.

use std::rc::Rc;

use crate::datetime::{zone_abbrev, DtError};
use crate::tz::{self, DateOrder};

#[derive(Debug)]
enum Tok {
    /// Digits, possibly with one `.fraction`.
    Num(String),
    /// Fields joined by one of `-/.` ("1997-02-10", "feb-10-1997").
    Date(String),
    /// "17:32:01.5".
    Time(String),
    /// A signed offset "+08", "-0800", "-08:00".
    Tz(String),
    /// A word: keyword, month, abbreviation or zone name.
    Word(String),
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_of(w: &str) -> Option<u32> {
    if w.len() < 3 {
        return None;
    }
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let w = if w == "sept" { "sep" } else { w };
    (0..12)
        .find(|&i| w == MONTHS[i] || w == FULL[i])
        .map(|i| i as u32 + 1)
}

fn is_weekday(w: &str) -> bool {
    const D: [&str; 7] = [
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
    ];
    w.len() >= 3
        && D.iter()
            .any(|d| d.starts_with(w) && (w.len() == 3 || *d == w))
        || matches!(w, "tues" | "wednes" | "thur" | "thurs")
}

/// Words that are not zone names (a word followed by a digit or '+' is
/// read on as a zone name like "gmt+8" unless it is one of these).
fn is_keyword(w: &str) -> bool {
    month_of(w).is_some()
        || is_weekday(w)
        || matches!(
            w,
            "am" | "pm"
                | "ad"
                | "bc"
                | "t"
                | "at"
                | "on"
                | "epoch"
                | "now"
                | "today"
                | "tomorrow"
                | "yesterday"
                | "allballs"
                | "infinity"
                | "-infinity"
                | "j"
                | "y"
                | "m"
                | "d"
                | "h"
                | "s"
        )
}

fn tokenize(s: &str) -> Result<Vec<Tok>, DtError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let take = |i: &mut usize, f: &dyn Fn(u8) -> bool| {
        let st = *i;
        while *i < b.len() && f(b[*i]) {
            *i += 1;
        }
        s[st..*i].to_string()
    };
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() || c == b',' {
            i += 1;
        } else if c.is_ascii_digit() {
            let st = i;
            take(&mut i, &|c| c.is_ascii_digit());
            match b.get(i) {
                Some(b':') => {
                    take(&mut i, &|c| c.is_ascii_digit() || c == b':' || c == b'.');
                    out.push(Tok::Time(s[st..i].to_string()));
                }
                Some(&d @ (b'-' | b'/')) => {
                    // "08-jan-99" has a text month; "2001-09-22t18:19" not.
                    if b.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
                        take(&mut i, &|c| c.is_ascii_digit() || c == d);
                    } else {
                        take(&mut i, &|c| c.is_ascii_alphanumeric() || c == d);
                    }
                    out.push(Tok::Date(s[st..i].to_string()));
                }
                Some(b'.') => {
                    i += 1;
                    take(&mut i, &|c| c.is_ascii_digit());
                    if b.get(i) == Some(&b'.') {
                        take(&mut i, &|c| c.is_ascii_digit() || c == b'.');
                        out.push(Tok::Date(s[st..i].to_string()));
                    } else {
                        out.push(Tok::Num(s[st..i].to_string()));
                    }
                }
                _ => out.push(Tok::Num(s[st..i].to_string())),
            }
        } else if c.is_ascii_alphabetic() {
            let st = i;
            let w = take(&mut i, &|c| c.is_ascii_alphabetic());
            match b.get(i) {
                Some(&d @ (b'-' | b'/' | b'.')) if is_keyword(&w) => {
                    take(&mut i, &|c| c.is_ascii_alphanumeric() || c == d);
                    out.push(Tok::Date(s[st..i].to_string()));
                }
                Some(&n) if (n.is_ascii_digit() || b"+-/_:".contains(&n)) && !is_keyword(&w) => {
                    take(&mut i, &|c| {
                        c.is_ascii_alphanumeric() || b"/_-+:.<>".contains(&c)
                    });
                    out.push(Tok::Word(s[st..i].to_string()));
                }
                _ => out.push(Tok::Word(w)),
            }
        } else if c == b'+' || c == b'-' {
            let st = i;
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if b.get(i).is_some_and(|c| c.is_ascii_digit()) {
                let sign = &s[st..st + 1];
                let rest = take(&mut i, &|c| c.is_ascii_digit() || c == b':' || c == b'.');
                out.push(Tok::Tz(format!("{sign}{rest}")));
            } else if b.get(i).is_some_and(|c| c.is_ascii_alphabetic()) {
                let w = take(&mut i, &|c| c.is_ascii_alphabetic());
                if c == b'-' && w == "infinity" {
                    out.push(Tok::Word("-infinity".into()));
                } else {
                    return Err(DtError::Syntax);
                }
            } else {
                return Err(DtError::Syntax);
            }
        } else {
            return Err(DtError::Syntax);
        }
    }
    Ok(out)
}

/// What the input said, before the caller turns it into a value.
#[derive(Default)]
pub(crate) struct Decoded {
    pub year: Option<i64>,
    pub month: Option<u32>,
    pub day: Option<i64>,
    pub doy: Option<i64>,
    pub tod_us: Option<i64>,
    pub offset_secs: Option<i64>,
    pub zone: Option<Rc<tz::Zone>>,
    /// epoch, now, today, tomorrow, yesterday, infinity, -infinity.
    pub special: Option<&'static str>,
    pub bc: bool,
    year2: bool,
    text_month: bool,
    pm: Option<bool>,
}

impl Decoded {
    fn date_full(&self) -> bool {
        self.year.is_some() && (self.month.is_some() && self.day.is_some() || self.doy.is_some())
    }

    /// PostgreSQL's placement of a bare number in a date by the fields
    /// seen so far and DateStyle's order.
    fn number(&mut self, digits: &str, order: DateOrder) -> Result<(), DtError> {
        let flen = digits.len();
        let val: i64 = digits.parse().map_err(|_| DtError::FieldOverflow)?;
        let (y, m, d) = (
            self.year.is_some(),
            self.month.is_some(),
            self.day.is_some(),
        );
        if flen == 3 && y && !m && !d && (1..=366).contains(&val) {
            self.doy = Some(val);
            return Ok(());
        }
        enum F {
            Y,
            M,
            D,
        }
        let f = match (y, m, d) {
            (false, false, false) => {
                if flen >= 3 || order == DateOrder::Ymd {
                    F::Y
                } else if order == DateOrder::Dmy {
                    F::D
                } else {
                    F::M
                }
            }
            (true, false, false) => F::M,
            (false, true, false) => {
                if self.text_month && (flen >= 3 || order == DateOrder::Ymd) {
                    F::Y
                } else {
                    F::D
                }
            }
            (true, true, false) => {
                if self.text_month && flen >= 3 && self.year2 {
                    // DD-MON-YYYY: the first number was the day.
                    self.day = self.year.take();
                    self.year2 = false;
                    F::Y
                } else {
                    F::D
                }
            }
            (false, false, true) => F::M,
            (false, true, true) => F::Y,
            _ => return Err(DtError::Syntax),
        };
        match f {
            F::Y => {
                self.year = Some(val);
                self.year2 = flen <= 2;
            }
            F::M => {
                if !(1..=12).contains(&val) {
                    return Err(DtError::MdFieldOverflow);
                }
                self.month = Some(val as u32);
            }
            F::D => self.day = Some(val),
        }
        Ok(())
    }

    /// A run of digits: yyyymmdd / yymmdd before the date, hhmmss / hhmm
    /// after it, a fraction making it a time ("040506.789").
    fn number_field(&mut self, s: &str) -> Result<bool, DtError> {
        let (int, frac) = match s.split_once('.') {
            Some((a, f)) => (a, Some(f)),
            None => (s, None),
        };
        let n = int.len();
        if frac.is_none() && !self.date_full() && n >= 6 {
            let v = |a: usize, b: usize| int[a..b].parse::<i64>().map_err(|_| DtError::Syntax);
            self.day = Some(v(n - 2, n)?);
            self.month = Some(v(n - 4, n - 2)? as u32);
            self.year = Some(v(0, n - 4)?);
            self.year2 = n == 6;
            return Ok(true);
        }
        if self.tod_us.is_none() && (n == 6 || n == 4) {
            let v = |a: usize, b: usize| int[a..b].parse::<i64>().map_err(|_| DtError::Syntax);
            let (h, m, sec) = if n == 6 {
                (v(0, 2)?, v(2, 4)?, v(4, 6)?)
            } else {
                (v(0, 2)?, v(2, 4)?, 0)
            };
            let f = frac.map(frac_us).transpose()?.unwrap_or(0);
            self.tod_us = Some(time_us(h, m, sec, f)?);
            return Ok(true);
        }
        Ok(false)
    }
}

fn frac_us(f: &str) -> Result<i64, DtError> {
    if !f.bytes().all(|c| c.is_ascii_digit()) {
        return Err(DtError::Syntax);
    }
    let mut v = 0i64;
    let mut n = 0;
    let mut round = false;
    for c in f.bytes() {
        let d = (c - b'0') as i64;
        if n < 6 {
            v = v * 10 + d;
        } else if n == 6 {
            round = d >= 5;
        }
        n += 1;
    }
    for _ in n.min(6)..6 {
        v *= 10;
    }
    Ok(v + round as i64)
}

fn time_us(h: i64, m: i64, s: i64, f: i64) -> Result<i64, DtError> {
    if h > 24 || m > 59 || s > 60 || (h == 24 && (m > 0 || s > 0 || f > 0)) {
        return Err(DtError::FieldOverflow);
    }
    Ok(((h * 60 + m) * 60 + s) * 1_000_000 + f)
}

fn parse_time(t: &str) -> Result<i64, DtError> {
    let mut parts = t.split(':');
    let num = |p: Option<&str>| -> Result<i64, DtError> {
        let p = p.ok_or(DtError::Syntax)?;
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) || p.len() > 9 {
            return Err(DtError::Syntax);
        }
        p.parse().map_err(|_| DtError::Syntax)
    };
    let h = num(parts.next())?;
    let (m, s, f) = match (parts.next(), parts.next()) {
        (Some(m), None) => match m.split_once('.') {
            // mm.ss? PostgreSQL reads "hh:mm.f" as minutes and a fraction
            // of a minute... rare; take the fraction as seconds'.
            Some((m, f)) => (num(Some(m))?, 0, frac_us(f)?),
            None => (num(Some(m))?, 0, 0),
        },
        (Some(m), Some(s)) => {
            let (s, f) = match s.split_once('.') {
                Some((s, f)) => (s, frac_us(f)?),
                None => (s, 0),
            };
            (num(Some(m))?, num(Some(s))?, f)
        }
        _ => return Err(DtError::Syntax),
    };
    if parts.next().is_some() {
        return Err(DtError::Syntax);
    }
    time_us(h, m, s, f)
}

/// "+08", "-0800", "-08:00", "+05:30:15" in seconds east.
pub(crate) fn parse_offset(t: &str) -> Result<i64, DtError> {
    let neg = t.starts_with('-');
    let body = &t[1..];
    let num = |p: &str| -> Result<i64, DtError> {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
            return Err(DtError::Syntax);
        }
        p.parse().map_err(|_| DtError::Syntax)
    };
    let (h, m, s) = if body.contains(':') {
        let mut it = body.split(':');
        let h = num(it.next().unwrap_or(""))?;
        let m = num(it.next().unwrap_or(""))?;
        let s = it.next().map(num).transpose()?.unwrap_or(0);
        (h, m, s)
    } else {
        match body.len() {
            1 | 2 => (num(body)?, 0, 0),
            3 | 4 => {
                let v = num(body)?;
                (v / 100, v % 100, 0)
            }
            5 | 6 => {
                let v = num(body)?;
                (v / 10000, v / 100 % 100, v % 100)
            }
            _ => return Err(DtError::Syntax),
        }
    };
    if h > 15 || m > 59 || s > 59 {
        return Err(DtError::TzOverflow);
    }
    let v = h * 3600 + m * 60 + s;
    Ok(if neg { -v } else { v })
}

/// Decode a date/time string (already known not to be a plain special).
pub(crate) fn decode(s: &str) -> Result<Decoded, DtError> {
    let lower = s.to_ascii_lowercase();
    let toks = tokenize(&lower)?;
    let order = tz::datestyle().1;
    let mut d = Decoded::default();
    let mut julian = false;
    for tok in &toks {
        if julian && !matches!(tok, Tok::Num(_)) {
            return Err(DtError::Syntax);
        }
        match tok {
            Tok::Date(t) if d.date_full() => {
                // A run-together time with its offset: "040506-08".
                let Some(at) = t.find('-') else {
                    return Err(DtError::Syntax);
                };
                if d.offset_secs.is_some() || d.zone.is_some() || !d.number_field(&t[..at])? {
                    return Err(DtError::Syntax);
                }
                d.offset_secs = Some(parse_offset(&t[at..])?);
            }
            Tok::Num(t) if julian => {
                // J2452271[.5]: a Julian day, a fraction of it the time.
                julian = false;
                let (int, frac) = t.split_once('.').unwrap_or((t, ""));
                let jd: i64 = int.parse().map_err(|_| DtError::FieldOverflow)?;
                if !(0..=2_147_483_647).contains(&jd) {
                    return Err(DtError::FieldOverflow);
                }
                let (y, m, dd) = tusk_common::time::civil_from_days(jd - 2_440_588);
                d.year = Some(y);
                d.month = Some(m);
                d.day = Some(dd as i64);
                if !frac.is_empty() {
                    let f: f64 = format!("0.{frac}").parse().map_err(|_| DtError::Syntax)?;
                    d.tod_us = Some((f * 86_400_000_000.0).round() as i64);
                }
            }
            Tok::Date(t) => {
                let fields: Vec<&str> = t.split(['-', '/', '.']).collect();
                if fields.iter().any(|f| f.is_empty()) {
                    return Err(DtError::Syntax);
                }
                // Text fields first: a month name is unambiguous.
                for f in &fields {
                    if f.bytes().all(|c| c.is_ascii_alphabetic()) {
                        if d.month.is_some() {
                            return Err(DtError::Syntax);
                        }
                        d.month = Some(month_of(f).ok_or(DtError::Syntax)?);
                        d.text_month = true;
                    } else if !f.bytes().all(|c| c.is_ascii_digit()) {
                        return Err(DtError::Syntax);
                    }
                }
                for f in fields.iter().filter(|f| f.as_bytes()[0].is_ascii_digit()) {
                    d.number(f, order)?;
                }
            }
            Tok::Num(t) => {
                if t.contains('.') && !d.date_full() {
                    // yyyy.ddd
                    let (a, b) = t.split_once('.').unwrap_or((t, ""));
                    d.number(a, order)?;
                    if b.is_empty() {
                        return Err(DtError::Syntax);
                    }
                    d.number(b, order)?;
                } else if (t.contains('.') && t.find('.').unwrap_or(0) > 2)
                    || (t.len() >= 6 && (!d.date_full() || d.tod_us.is_none()))
                    || d.date_full()
                {
                    if !d.number_field(t)? {
                        return Err(DtError::Syntax);
                    }
                } else {
                    d.number(t, order)?;
                }
            }
            Tok::Time(t) => {
                if d.tod_us.is_some() {
                    return Err(DtError::Syntax);
                }
                d.tod_us = Some(parse_time(t)?);
            }
            Tok::Tz(t) => {
                if d.offset_secs.is_some() || d.zone.is_some() {
                    return Err(DtError::Syntax);
                }
                d.offset_secs = Some(parse_offset(t)?);
            }
            Tok::Word(w) => match w.as_str() {
                "am" | "pm" => d.pm = Some(w == "pm"),
                "ad" => {}
                "bc" => d.bc = true,
                "t" | "at" | "on" => {}
                "j" => julian = true,
                "allballs" => d.tod_us = Some(0),
                "epoch" | "now" | "today" | "tomorrow" | "yesterday" | "infinity" | "-infinity" => {
                    if d.special.is_some() {
                        return Err(DtError::Syntax);
                    }
                    d.special = Some(match w.as_str() {
                        "epoch" => "epoch",
                        "now" => "now",
                        "today" => "today",
                        "tomorrow" => "tomorrow",
                        "yesterday" => "yesterday",
                        "infinity" => "infinity",
                        _ => "-infinity",
                    });
                }
                w if month_of(w).is_some() => {
                    if d.month.is_some() {
                        return Err(DtError::Syntax);
                    }
                    d.month = month_of(w);
                    d.text_month = true;
                }
                w if is_weekday(w) => {}
                w => {
                    if d.offset_secs.is_some() || d.zone.is_some() {
                        return Err(DtError::Syntax);
                    }
                    if let Some(off) = zone_abbrev(w) {
                        d.offset_secs = Some(off);
                    } else if let Some(z) = tz::lookup(w) {
                        d.zone = Some(z);
                    } else if !w.bytes().all(|c| c.is_ascii_alphabetic()) {
                        // Read on as a zone name ("america/new_york").
                        return Err(DtError::UnknownZone(w.to_string()));
                    } else {
                        return Err(DtError::Syntax);
                    }
                }
            },
        }
    }
    if let Some(pm) = d.pm {
        let t = d.tod_us.ok_or(DtError::Syntax)?;
        let h = t / 3_600_000_000;
        if !((1..=12).contains(&h) || h == 0 && !pm) {
            return Err(DtError::FieldOverflow);
        }
        let rest = t % 3_600_000_000;
        let h = match (h, pm) {
            (12, false) => 0,
            (12, true) => 12,
            (h, true) => h + 12,
            (h, false) => h,
        };
        d.tod_us = Some(h * 3_600_000_000 + rest);
    }
    if d.year2 && !d.bc {
        if let Some(y) = d.year {
            d.year = Some(if y < 70 { y + 2000 } else { y + 1900 });
        }
    }
    Ok(d)
}
