//! `interval`: PostgreSQL's three-part span (months, days, microseconds),
//! its text input in every form PostgreSQL 15 reads, its output in the
//! four `IntervalStyle`s, its order and its arithmetic.
//!
//! Why three parts and not one number of microseconds: a month and a day
//! have no fixed length (months differ, days cross DST changes), so
//! `'1 mon'` added to a date must move the calendar month, and `'1 day'`
//! the calendar day; PostgreSQL keeps them apart and so must we, or
//! timestamp arithmetic and the binary wire form (i64 usec, i32 days, i32
//! months) would differ. Comparison, as PostgreSQL's, treats a month as
//! 30 days and a day as 24 hours, so `'1 mon' = '30 days'`.
//!
//! The input decoder follows PostgreSQL's DecodeInterval: the text is split
//! into fields (numbers, `h:m:s` times, `y-m` pairs, unit words), read
//! right to left so a unit word gives the number before it its meaning; a
//! bare number is seconds. ISO 8601 (`P1Y2M3DT4H5M6S`, `P0001-02-03T04:05:06`)
//! has its own reader. Nothing here does I/O; any process may call it.

use std::cmp::Ordering;
use std::sync::atomic::{AtomicU8, Ordering as AtomicOrdering};

pub const USECS_PER_SEC: i64 = 1_000_000;
pub const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
pub const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
pub const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
pub const DAYS_PER_MONTH: i64 = 30;

/// One interval value, fields in PostgreSQL's in-memory order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    pub micros: i64,
    pub days: i32,
    pub months: i32,
}

/// Why an interval input was refused: 22007 (bad format), 22015 (a field
/// overflowed: "interval field value out of range") or 22008 ("interval
/// out of range", the result does not fit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalError {
    Syntax,
    FieldOverflow,
    OutOfRange,
}

/// `IntervalStyle`, PostgreSQL's enum order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalStyle {
    Postgres = 0,
    PostgresVerbose = 1,
    SqlStandard = 2,
    Iso8601 = 3,
}

/// The session's `IntervalStyle`. A backend serves one session, so a
/// process-wide setting is the session's; the backend sets it whenever the
/// setting changes ([`set_style`]) and the output function reads it here,
/// as PostgreSQL's interval_out reads its global `IntervalStyle`.
static STYLE: AtomicU8 = AtomicU8::new(0);

/// Set the output style from the setting's text; unknown text is ignored
/// (the settings layer has already validated it). Called by the backend
/// process that owns the session.
pub fn set_style(name: &str) {
    let s = match name.to_ascii_lowercase().as_str() {
        "postgres" => IntervalStyle::Postgres,
        "postgres_verbose" => IntervalStyle::PostgresVerbose,
        "sql_standard" => IntervalStyle::SqlStandard,
        "iso_8601" => IntervalStyle::Iso8601,
        _ => return,
    };
    STYLE.store(s as u8, AtomicOrdering::Relaxed);
}

pub fn style() -> IntervalStyle {
    match STYLE.load(AtomicOrdering::Relaxed) {
        1 => IntervalStyle::PostgresVerbose,
        2 => IntervalStyle::SqlStandard,
        3 => IntervalStyle::Iso8601,
        _ => IntervalStyle::Postgres,
    }
}

impl Interval {
    pub const fn new(months: i32, days: i32, micros: i64) -> Interval {
        Interval {
            micros,
            days,
            months,
        }
    }

    /// The span PostgreSQL orders by: a month is 30 days, a day 24 hours.
    pub fn span(&self) -> i128 {
        (self.months as i128 * DAYS_PER_MONTH as i128 + self.days as i128) * USECS_PER_DAY as i128
            + self.micros as i128
    }

    pub fn checked_neg(&self) -> Option<Interval> {
        Some(Interval {
            micros: self.micros.checked_neg()?,
            days: self.days.checked_neg()?,
            months: self.months.checked_neg()?,
        })
    }

    pub fn checked_add(&self, o: &Interval) -> Option<Interval> {
        Some(Interval {
            micros: self.micros.checked_add(o.micros)?,
            days: self.days.checked_add(o.days)?,
            months: self.months.checked_add(o.months)?,
        })
    }

    pub fn checked_sub(&self, o: &Interval) -> Option<Interval> {
        Some(Interval {
            micros: self.micros.checked_sub(o.micros)?,
            days: self.days.checked_sub(o.days)?,
            months: self.months.checked_sub(o.months)?,
        })
    }

    /// interval * float8 (interval_mul): fractional months cascade into
    /// days (30 per month), fractional days into time. None: out of range.
    pub fn mul(&self, f: f64) -> Option<Interval> {
        self.scale(|x| x * f)
    }

    /// interval / float8 (interval_div); the caller refuses a zero divisor.
    pub fn div(&self, f: f64) -> Option<Interval> {
        self.scale(|x| x / f)
    }

    fn scale(&self, op: impl Fn(f64) -> f64) -> Option<Interval> {
        let fits32 = |x: f64| !x.is_nan() && x >= i32::MIN as f64 && x < -(i32::MIN as f64);
        let m = op(self.months as f64);
        let d = op(self.days as f64);
        if !fits32(m) || !fits32(d) {
            return None;
        }
        let months = m as i32;
        let mut days = d as i32;
        // PostgreSQL rounds both remainders to microsecond precision
        // (TSROUND), which its results show; so do we.
        let month_rem_days =
            ((m - months as f64) * DAYS_PER_MONTH as f64 * 1e6).round_ties_even() / 1e6;
        let mut sec_rem =
            (d - days as f64 + month_rem_days - (month_rem_days as i32) as f64) * 86_400.0;
        sec_rem = (sec_rem * 1e6).round_ties_even() / 1e6;
        if sec_rem.abs() >= 86_400.0 {
            let whole = (sec_rem / 86_400.0) as i32;
            days = days.checked_add(whole)?;
            sec_rem -= whole as f64 * 86_400.0;
        }
        days = days.checked_add(month_rem_days as i32)?;
        let t = (op(self.micros as f64) + sec_rem * 1e6).round_ties_even();
        if t.is_nan() || t < i64::MIN as f64 || t >= -(i64::MIN as f64) {
            return None;
        }
        Some(Interval {
            micros: t as i64,
            days,
            months,
        })
    }

    /// justify_hours: whole days out of the time part, signs made to agree.
    pub fn justify_hours(&self) -> Option<Interval> {
        let mut r = *self;
        let whole = r.micros / USECS_PER_DAY;
        r.micros -= whole * USECS_PER_DAY;
        r.days = r.days.checked_add(i32::try_from(whole).ok()?)?;
        if r.days > 0 && r.micros < 0 {
            r.micros += USECS_PER_DAY;
            r.days -= 1;
        } else if r.days < 0 && r.micros > 0 {
            r.micros -= USECS_PER_DAY;
            r.days += 1;
        }
        Some(r)
    }

    /// justify_days: whole 30-day months out of the day part.
    pub fn justify_days(&self) -> Option<Interval> {
        let mut r = *self;
        let whole = r.days / DAYS_PER_MONTH as i32;
        r.days -= whole * DAYS_PER_MONTH as i32;
        r.months = r.months.checked_add(whole)?;
        if r.months > 0 && r.days < 0 {
            r.days += DAYS_PER_MONTH as i32;
            r.months -= 1;
        } else if r.months < 0 && r.days > 0 {
            r.days -= DAYS_PER_MONTH as i32;
            r.months += 1;
        }
        Some(r)
    }

    /// justify_interval: both, with one sign across all three parts.
    pub fn justify_interval(&self) -> Option<Interval> {
        let mut r = *self;
        let whole = r.micros / USECS_PER_DAY;
        r.micros -= whole * USECS_PER_DAY;
        r.days = r.days.checked_add(i32::try_from(whole).ok()?)?;
        let wm = r.days / DAYS_PER_MONTH as i32;
        r.days -= wm * DAYS_PER_MONTH as i32;
        r.months = r.months.checked_add(wm)?;
        if (r.months > 0 && (r.days < 0 || (r.days == 0 && r.micros < 0)))
            || (r.months < 0 && (r.days > 0 || (r.days == 0 && r.micros > 0)))
        {
            let s = if r.months > 0 { 1 } else { -1 };
            r.days += s * DAYS_PER_MONTH as i32;
            r.months -= s;
        }
        if r.days > 0 && r.micros < 0 {
            r.micros += USECS_PER_DAY;
            r.days -= 1;
        } else if r.days < 0 && r.micros > 0 {
            r.micros -= USECS_PER_DAY;
            r.days += 1;
        }
        Some(r)
    }
}

/// PostgreSQL's interval order (interval_cmp).
pub fn compare(a: &Interval, b: &Interval) -> Ordering {
    a.span().cmp(&b.span())
}

/// The fields of an interval as PostgreSQL splits it for output and
/// `extract` (interval2itm): C-style truncating division throughout.
pub struct Fields {
    pub year: i64,
    pub mon: i64,
    pub day: i64,
    pub hour: i64,
    pub min: i64,
    pub sec: i64,
    pub fsec: i64,
}

pub fn fields(iv: &Interval) -> Fields {
    let mut t = iv.micros;
    let hour = t / USECS_PER_HOUR;
    t -= hour * USECS_PER_HOUR;
    let min = t / USECS_PER_MINUTE;
    t -= min * USECS_PER_MINUTE;
    let sec = t / USECS_PER_SEC;
    Fields {
        year: iv.months as i64 / 12,
        mon: iv.months as i64 % 12,
        day: iv.days as i64,
        hour,
        min,
        sec,
        fsec: t - sec * USECS_PER_SEC,
    }
}

/// Seconds with a fraction whose trailing zeros are dropped; `fill` pads
/// the whole seconds to two digits. Signs are the caller's.
fn append_seconds(out: &mut String, sec: i64, fsec: i64, fill: bool) {
    let (s, f) = (sec.abs(), fsec.abs());
    if fill {
        out.push_str(&format!("{s:02}"));
    } else {
        out.push_str(&s.to_string());
    }
    if f != 0 {
        let frac = format!("{f:06}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

/// Text output in the session's style.
pub fn format(iv: &Interval) -> String {
    format_style(iv, style())
}

pub fn format_style(iv: &Interval, style: IntervalStyle) -> String {
    let Fields {
        year,
        mon,
        day,
        hour,
        min,
        sec,
        fsec,
    } = fields(iv);
    let mut out = String::with_capacity(32);
    match style {
        IntervalStyle::Postgres => {
            let mut is_zero = true;
            let mut is_before = false;
            for (v, unit) in [(year, "year"), (mon, "mon"), (day, "day")] {
                if v == 0 {
                    continue;
                }
                if !is_zero {
                    out.push(' ');
                }
                if !is_zero && is_before && v > 0 {
                    out.push('+');
                }
                out.push_str(&format!("{v} {unit}{}", if v != 1 { "s" } else { "" }));
                is_before = v < 0;
                is_zero = false;
            }
            if is_zero || hour != 0 || min != 0 || sec != 0 || fsec != 0 {
                let minus = hour < 0 || min < 0 || sec < 0 || fsec < 0;
                if !is_zero {
                    out.push(' ');
                }
                out.push_str(if minus {
                    "-"
                } else if is_before {
                    "+"
                } else {
                    ""
                });
                out.push_str(&format!("{:02}:{:02}:", hour.abs(), min.abs()));
                append_seconds(&mut out, sec, fsec, true);
            }
        }
        IntervalStyle::PostgresVerbose => {
            out.push('@');
            let mut is_zero = true;
            let mut is_before = false;
            for (v, unit) in [
                (year, "year"),
                (mon, "mon"),
                (day, "day"),
                (hour, "hour"),
                (min, "min"),
            ] {
                if v == 0 {
                    continue;
                }
                let mut v = v;
                if is_zero {
                    is_before = v < 0;
                    v = v.abs();
                } else if is_before {
                    v = -v;
                }
                out.push_str(&format!(" {v} {unit}{}", if v == 1 { "" } else { "s" }));
                is_zero = false;
            }
            if sec != 0 || fsec != 0 {
                out.push(' ');
                if sec < 0 || (sec == 0 && fsec < 0) {
                    if is_zero {
                        is_before = true;
                    } else if !is_before {
                        out.push('-');
                    }
                } else if is_before {
                    out.push('-');
                }
                append_seconds(&mut out, sec, fsec, false);
                out.push_str(&format!(
                    " sec{}",
                    if sec.abs() != 1 || fsec != 0 { "s" } else { "" }
                ));
                is_zero = false;
            }
            if is_zero {
                out.push_str(" 0");
            }
            if is_before {
                out.push_str(" ago");
            }
        }
        IntervalStyle::SqlStandard => {
            let (mut year, mut mon, mut day, mut hour, mut min, mut sec, mut fsec) =
                (year, mon, day, hour, min, sec, fsec);
            let neg = year < 0 || mon < 0 || day < 0 || hour < 0 || min < 0 || sec < 0 || fsec < 0;
            let pos = year > 0 || mon > 0 || day > 0 || hour > 0 || min > 0 || sec > 0 || fsec > 0;
            let has_ym = year != 0 || mon != 0;
            let has_dt = day != 0 || hour != 0 || min != 0 || sec != 0 || fsec != 0;
            let standard = !(neg && pos || has_ym && has_dt);
            if neg && standard {
                out.push('-');
                (year, mon, day, hour, min, sec, fsec) =
                    (-year, -mon, -day, -hour, -min, -sec, -fsec);
            }
            if !neg && !pos {
                out.push('0');
            } else if !standard {
                let ys = if year < 0 || mon < 0 { '-' } else { '+' };
                let ds = if day < 0 { '-' } else { '+' };
                let ss = if hour < 0 || min < 0 || sec < 0 || fsec < 0 {
                    '-'
                } else {
                    '+'
                };
                out.push_str(&format!(
                    "{ys}{}-{} {ds}{} {ss}{}:{:02}:",
                    year.abs(),
                    mon.abs(),
                    day.abs(),
                    hour.abs(),
                    min.abs()
                ));
                append_seconds(&mut out, sec, fsec, true);
            } else if has_ym {
                out.push_str(&format!("{year}-{mon}"));
            } else if day != 0 {
                out.push_str(&format!("{day} {hour}:{min:02}:"));
                append_seconds(&mut out, sec, fsec, true);
            } else {
                out.push_str(&format!("{hour}:{min:02}:"));
                append_seconds(&mut out, sec, fsec, true);
            }
        }
        IntervalStyle::Iso8601 => {
            if year == 0 && mon == 0 && day == 0 && hour == 0 && min == 0 && sec == 0 && fsec == 0 {
                return "PT0S".into();
            }
            out.push('P');
            let part = |out: &mut String, v: i64, c: char| {
                if v != 0 {
                    out.push_str(&format!("{v}{c}"));
                }
            };
            part(&mut out, year, 'Y');
            part(&mut out, mon, 'M');
            part(&mut out, day, 'D');
            if hour != 0 || min != 0 || sec != 0 || fsec != 0 {
                out.push('T');
            }
            part(&mut out, hour, 'H');
            part(&mut out, min, 'M');
            if sec != 0 || fsec != 0 {
                if sec < 0 || fsec < 0 {
                    out.push('-');
                }
                append_seconds(&mut out, sec, fsec, false);
                out.push('S');
            }
        }
    }
    out
}

/// The accumulating fields of PostgreSQL's pg_itm_in.
#[derive(Default)]
struct Acc {
    years: i32,
    months: i32,
    days: i32,
    usec: i64,
}

type R<T> = Result<T, IntervalError>;
use IntervalError::{FieldOverflow as Ovf, Syntax as Bad};

fn i32_of(v: i64) -> R<i32> {
    i32::try_from(v).map_err(|_| Ovf)
}

impl Acc {
    fn frac_usec(&mut self, frac: f64, scale: i64) -> R<()> {
        if frac == 0.0 {
            return Ok(());
        }
        let f = frac * scale as f64;
        let mut u = f as i64;
        let rest = f - u as f64;
        if rest > 0.5 {
            u += 1;
        } else if rest < -0.5 {
            u -= 1;
        }
        self.usec = self.usec.checked_add(u).ok_or(Ovf)?;
        Ok(())
    }
    fn usec(&mut self, val: i64, frac: f64, scale: i64) -> R<()> {
        let v = val.checked_mul(scale).ok_or(Ovf)?;
        self.usec = self.usec.checked_add(v).ok_or(Ovf)?;
        self.frac_usec(frac, scale)
    }
    fn add_days(&mut self, val: i64, scale: i32) -> R<()> {
        let d = i32_of(val)?.checked_mul(scale).ok_or(Ovf)?;
        self.days = self.days.checked_add(d).ok_or(Ovf)?;
        Ok(())
    }
    fn frac_days(&mut self, frac: f64, scale: i32) -> R<()> {
        if frac == 0.0 {
            return Ok(());
        }
        let f = frac * scale as f64;
        let extra = f as i32;
        self.days = self.days.checked_add(extra).ok_or(Ovf)?;
        self.frac_usec(f - extra as f64, USECS_PER_DAY)
    }
    fn add_months(&mut self, val: i64) -> R<()> {
        self.months = self.months.checked_add(i32_of(val)?).ok_or(Ovf)?;
        Ok(())
    }
    fn add_years(&mut self, val: i64, scale: i32) -> R<()> {
        let y = i32_of(val)?.checked_mul(scale).ok_or(Ovf)?;
        self.years = self.years.checked_add(y).ok_or(Ovf)?;
        Ok(())
    }
    fn frac_years(&mut self, frac: f64, scale: i32) -> R<()> {
        let extra = (frac * scale as f64 * 12.0).round_ties_even() as i32;
        self.months = self.months.checked_add(extra).ok_or(Ovf)?;
        Ok(())
    }
    fn finish(self) -> R<Interval> {
        let months = self
            .years
            .checked_mul(12)
            .and_then(|m| m.checked_add(self.months))
            .ok_or(IntervalError::OutOfRange)?;
        Ok(Interval {
            micros: self.usec,
            days: self.days,
            months,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Micro,
    Milli,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Decade,
    Century,
    Millennium,
}

fn unit_word(w: &str) -> Option<Unit> {
    use Unit::*;
    Some(match w {
        "us" | "usec" | "usecs" | "usecond" | "useconds" | "microsecon" | "microsecond"
        | "microseconds" => Micro,
        "ms" | "msec" | "msecs" | "msecond" | "mseconds" | "millisecon" | "millisecond"
        | "milliseconds" => Milli,
        "s" | "sec" | "secs" | "second" | "seconds" => Second,
        "m" | "min" | "mins" | "minute" | "minutes" => Minute,
        "h" | "hr" | "hrs" | "hour" | "hours" => Hour,
        "d" | "day" | "days" => Day,
        "w" | "week" | "weeks" => Week,
        "mon" | "mons" | "month" | "months" => Month,
        "y" | "yr" | "yrs" | "year" | "years" => Year,
        "dec" | "decs" | "decade" | "decades" => Decade,
        "c" | "cent" | "century" | "centuries" => Century,
        "mil" | "mils" | "millennia" | "millennium" => Millennium,
        _ => return None,
    })
}

#[derive(Debug)]
enum Tok {
    /// Digits, possibly signed, with `.`, `-` (y-m) or `:` (a time).
    Num(String),
    Word(String),
}

fn tokenize(s: &str) -> R<Vec<Tok>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() || c == b',' {
            i += 1;
        } else if c.is_ascii_digit() || c == b'.' || c == b'+' || c == b'-' {
            let start = i;
            i += 1;
            if (c == b'+' || c == b'-')
                && !b.get(i).is_some_and(|d| d.is_ascii_digit() || *d == b'.')
            {
                return Err(Bad);
            }
            while i < b.len() && (b[i].is_ascii_digit() || matches!(b[i], b'.' | b':' | b'-')) {
                i += 1;
            }
            out.push(Tok::Num(s[start..i].to_string()));
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push(Tok::Word(s[start..i].to_ascii_lowercase()));
        } else if c == b'@' {
            i += 1;
        } else {
            return Err(Bad);
        }
    }
    Ok(out)
}

/// Parse a decimal fraction `.ddd` (the leading dot included) to a float.
fn fraction(s: &str) -> R<f64> {
    if !s.starts_with('.') || !s[1..].bytes().all(|c| c.is_ascii_digit()) {
        return Err(Bad);
    }
    if s.len() == 1 {
        return Ok(0.0);
    }
    format!("0{s}").parse().map_err(|_| Bad)
}

/// Leading digits of `s` as i64 (overflow: 22015) and the rest.
fn leading_int(s: &str) -> R<(i64, &str)> {
    let end = s.bytes().take_while(|c| c.is_ascii_digit()).count();
    let v = if end == 0 {
        0
    } else {
        s[..end].parse::<i64>().map_err(|_| Ovf)?
    };
    Ok((v, &s[end..]))
}

/// `h:m[:s[.f]]` (or `m:s.f`) as microseconds, unsigned.
fn time_field(s: &str) -> R<i64> {
    let (h, rest) = leading_int(s)?;
    let rest = rest.strip_prefix(':').ok_or(Bad)?;
    let (m, rest) = leading_int(rest)?;
    let (h, m, sec, frac) = if rest.is_empty() {
        (h, m, 0, 0.0)
    } else if rest.starts_with('.') {
        (0, h, m, fraction(rest)?)
    } else if let Some(r) = rest.strip_prefix(':') {
        let (sec, r) = leading_int(r)?;
        let f = if r.is_empty() { 0.0 } else { fraction(r)? };
        (h, m, sec, f)
    } else {
        return Err(Bad);
    };
    if !(0..60).contains(&m) || !(0..=60).contains(&sec) {
        return Err(Ovf);
    }
    let whole = h
        .checked_mul(USECS_PER_HOUR)
        .and_then(|v| v.checked_add(m * USECS_PER_MINUTE + sec * USECS_PER_SEC))
        .ok_or(Ovf)?;
    whole
        .checked_add((frac * USECS_PER_SEC as f64).round() as i64)
        .ok_or(Ovf)
}

/// interval_in: any of PostgreSQL's interval spellings.
pub fn parse(s: &str) -> Result<Interval, IntervalError> {
    let t = s.trim();
    if let Some(rest) = t.strip_prefix(['P', 'p']) {
        if !rest.is_empty()
            && !rest.starts_with(|c: char| c.is_ascii_alphabetic() && c != 'T' && c != 't')
        {
            return parse_iso(rest);
        }
    }
    let toks = tokenize(t)?;
    let mut acc = Acc::default();
    let mut seen: u32 = 0;
    let mut pending: Option<Unit> = None;
    let mut ago = false;
    let mut any = false;
    for tok in toks.iter().rev() {
        match tok {
            Tok::Word(w) => {
                if w == "ago" {
                    if ago {
                        return Err(Bad);
                    }
                    ago = true;
                    continue;
                }
                // PostgreSQL looks words up by their first 10 characters
                // (TOKMAXLEN): "millenniums", "microseconds" are units too.
                let key: String = w.chars().take(10).collect();
                pending = Some(unit_word(&key).ok_or(Bad)?);
            }
            Tok::Num(n) => {
                let neg = n.starts_with('-');
                let body = n.trim_start_matches(['+', '-']);
                if body.contains(':') {
                    if pending.is_some() {
                        return Err(Bad);
                    }
                    let mut us = time_field(body)?;
                    if neg {
                        us = -us;
                    }
                    mark(&mut seen, 1 << 20)?;
                    acc.usec = acc.usec.checked_add(us).ok_or(Ovf)?;
                    pending = Some(Unit::Day);
                    any = true;
                    continue;
                }
                let unit = pending.take().unwrap_or(Unit::Second);
                let (val, rest) = leading_int(body)?;
                let mut val = if neg { -val } else { val };
                let mut frac = 0.0;
                let mut unit = unit;
                if let Some(r) = rest.strip_prefix('-') {
                    // SQL's "years-months".
                    let (m, r2) = leading_int(r)?;
                    if !r2.is_empty() {
                        return Err(Bad);
                    }
                    if !(0..12).contains(&m) {
                        return Err(Ovf);
                    }
                    let m = if neg { -m } else { m };
                    val = val
                        .checked_mul(12)
                        .and_then(|v| v.checked_add(m))
                        .ok_or(Ovf)?;
                    unit = Unit::Month;
                } else if !rest.is_empty() {
                    frac = fraction(rest)?;
                    if neg {
                        frac = -frac;
                    }
                } else if body.is_empty() {
                    return Err(Bad);
                }
                let bit = match unit {
                    Unit::Micro => 1,
                    Unit::Milli => 2,
                    Unit::Second => 4,
                    Unit::Minute => 8,
                    Unit::Hour => 16,
                    Unit::Day => 32,
                    Unit::Week => 64,
                    Unit::Month => 128,
                    Unit::Year => 256,
                    Unit::Decade => 512,
                    Unit::Century => 1024,
                    Unit::Millennium => 2048,
                };
                mark(&mut seen, bit)?;
                any = true;
                match unit {
                    Unit::Micro => acc.usec(val, frac, 1)?,
                    Unit::Milli => acc.usec(val, frac, 1000)?,
                    Unit::Second => acc.usec(val, frac, USECS_PER_SEC)?,
                    Unit::Minute => acc.usec(val, frac, USECS_PER_MINUTE)?,
                    Unit::Hour => {
                        acc.usec(val, frac, USECS_PER_HOUR)?;
                        pending = Some(Unit::Day);
                    }
                    Unit::Day => {
                        acc.add_days(val, 1)?;
                        acc.frac_usec(frac, USECS_PER_DAY)?;
                    }
                    Unit::Week => {
                        acc.add_days(val, 7)?;
                        acc.frac_days(frac, 7)?;
                    }
                    Unit::Month => {
                        acc.add_months(val)?;
                        acc.frac_days(frac, DAYS_PER_MONTH as i32)?;
                    }
                    Unit::Year => {
                        acc.add_years(val, 1)?;
                        acc.frac_years(frac, 1)?;
                    }
                    Unit::Decade => {
                        acc.add_years(val, 10)?;
                        acc.frac_years(frac, 10)?;
                    }
                    Unit::Century => {
                        acc.add_years(val, 100)?;
                        acc.frac_years(frac, 100)?;
                    }
                    Unit::Millennium => {
                        acc.add_years(val, 1000)?;
                        acc.frac_years(frac, 1000)?;
                    }
                }
            }
        }
    }
    // Nothing but unit words ("day") is malformed; a leading unit word
    // that no number takes ("hour 5 months") is ignored, as in PostgreSQL.
    if !any {
        return Err(Bad);
    }
    let mut iv = acc.finish()?;
    if ago {
        iv = iv.checked_neg().ok_or(Ovf)?;
    }
    Ok(iv)
}

fn mark(seen: &mut u32, bit: u32) -> R<()> {
    if *seen & bit != 0 {
        return Err(Bad);
    }
    *seen |= bit;
    Ok(())
}

/// A signed ISO 8601 number with optional fraction, and the rest.
fn iso_number(s: &str) -> R<(i64, f64, &str)> {
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+'))))
        .map_or(s.len(), |(i, _)| i);
    let num = &s[..end];
    if num.is_empty() || num == "-" || num == "+" {
        return Err(Bad);
    }
    let f: f64 = num.parse().map_err(|_| Bad)?;
    if !(i64::MIN as f64..=i64::MAX as f64).contains(&f) {
        return Err(Ovf);
    }
    let whole = f.trunc() as i64;
    Ok((whole, f - whole as f64, &s[end..]))
}

fn parse_iso(s: &str) -> R<Interval> {
    let mut acc = Acc::default();
    let mut date_part = true;
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(['T', 't']) {
            if !date_part {
                return Err(Bad);
            }
            date_part = false;
            rest = r;
            continue;
        }
        let (val, frac, r) = iso_number(rest)?;
        let unit = r.chars().next().unwrap_or('\0').to_ascii_uppercase();
        // The alternative format: PYYYY-MM-DDTHH:MM:SS.
        if date_part && (unit == '-') {
            let mut parts = r[1..].splitn(2, ['T', 't']);
            let ymd = parts.next().unwrap_or("");
            let (m, d) = ymd.split_once('-').unwrap_or((ymd, "0"));
            acc.add_years(val, 1)?;
            acc.frac_years(frac, 1)?;
            acc.add_months(m.parse::<i64>().map_err(|_| Bad)?)?;
            acc.add_days(d.parse::<i64>().map_err(|_| Bad)?, 1)?;
            if let Some(tp) = parts.next() {
                acc.usec = acc.usec.checked_add(time_field(tp)?).ok_or(Ovf)?;
            }
            return acc.finish();
        }
        if !date_part && unit == ':' {
            let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'));
            if end.is_some() {
                return Err(Bad);
            }
            acc.usec = acc.usec.checked_add(time_field(rest)?).ok_or(Ovf)?;
            return acc.finish();
        }
        match (date_part, unit) {
            (true, 'Y') => {
                acc.add_years(val, 1)?;
                acc.frac_years(frac, 1)?;
            }
            (true, 'M') => {
                acc.add_months(val)?;
                acc.frac_days(frac, DAYS_PER_MONTH as i32)?;
            }
            (true, 'W') => {
                acc.add_days(val, 7)?;
                acc.frac_days(frac, 7)?;
            }
            (true, 'D') => {
                acc.add_days(val, 1)?;
                acc.frac_usec(frac, USECS_PER_DAY)?;
            }
            (false, 'H') => acc.usec(val, frac, USECS_PER_HOUR)?,
            (false, 'M') => acc.usec(val, frac, USECS_PER_MINUTE)?,
            (false, 'S') => acc.usec(val, frac, USECS_PER_SEC)?,
            _ => return Err(Bad),
        }
        rest = &r[1..];
    }
    acc.finish()
}

/// `interval(p)`: round the time part to `p` fractional digits.
pub fn round_to(iv: Interval, precision: i32) -> Interval {
    if !(0..6).contains(&precision) {
        return iv;
    }
    let scale = 10i64.pow((6 - precision) as u32);
    let m = iv.micros;
    let r = if m >= 0 {
        (m + scale / 2) / scale * scale
    } else {
        -((-m + scale / 2) / scale * scale)
    };
    Interval { micros: r, ..iv }
}

/// Binary wire form (interval_send): usec i64, days i32, months i32.
pub fn send(iv: &Interval) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    v.extend_from_slice(&iv.micros.to_be_bytes());
    v.extend_from_slice(&iv.days.to_be_bytes());
    v.extend_from_slice(&iv.months.to_be_bytes());
    v
}

pub fn recv(b: &[u8; 16]) -> Interval {
    Interval {
        micros: i64::from_be_bytes(b[0..8].try_into().unwrap_or_default()),
        days: i32::from_be_bytes(b[8..12].try_into().unwrap_or_default()),
        months: i32::from_be_bytes(b[12..16].try_into().unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        format(&parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}")))
    }

    /// Input and output strings from PostgreSQL 15 (IntervalStyle postgres).
    #[test]
    fn input_output_postgres_style() {
        for (i, o) in [
            ("1 day 2 hours", "1 day 02:00:00"),
            ("@ 1 minute ago", "-00:01:00"),
            ("P1Y2M3DT4H5M6S", "1 year 2 mons 3 days 04:05:06"),
            ("1-2", "1 year 2 mons"),
            ("1:02:03", "01:02:03"),
            ("1.5 years", "1 year 6 mons"),
            ("1.5 weeks", "10 days 12:00:00"),
            ("-1 2:03:04", "-1 days +02:03:04"),
            ("P0001-02-03T04:05:06", "1 year 2 mons 3 days 04:05:06"),
            ("1.5", "00:00:01.5"),
            ("10", "00:00:10"),
            ("0", "00:00:00"),
            ("1 mon -1 day", "1 mon -1 days"),
            ("-1 years -2 mons +3 days", "-1 years -2 mons +3 days"),
            ("1.5 months", "1 mon 15 days"),
            ("1 day 1.5 hours", "1 day 01:30:00"),
            ("2 weeks ago", "-14 days"),
            ("12:34.5", "00:12:34.5"),
            ("1 millisecond", "00:00:00.001"),
            ("5 decades", "50 years"),
            ("1 century", "100 years"),
            ("-2147483648 days", "-2147483648 days"),
            ("PT0S", "00:00:00"),
            ("P1W", "7 days"),
            ("PT1.5S", "00:00:01.5"),
            ("2 hours 30 minutes", "02:30:00"),
            ("1 d", "1 day"),
            ("-1:02:03", "-01:02:03"),
            ("3000000000 seconds", "833333:20:00"),
            ("1 day hours", "1 day"),
            ("-1-2", "-1 years -2 mons"),
            ("1 2:03", "1 day 02:03:00"),
            ("+1 -1:00", "1 day -01:00:00"),
            ("hour 5 months", "5 mons"),
            (
                "4 millenniums 5 centuries 4 decades 1 year 4 months 4 days 17 minutes 31 seconds",
                "4541 years 4 mons 4 days 00:17:31",
            ),
            ("2 microseconds", "00:00:00.000002"),
        ] {
            assert_eq!(p(i), o, "input {i}");
        }
    }

    #[test]
    fn input_errors() {
        assert_eq!(parse("garbage"), Err(IntervalError::Syntax));
        assert_eq!(parse("1 dayz"), Err(IntervalError::Syntax));
        assert_eq!(parse("1 day 1 day"), Err(IntervalError::Syntax));
        assert_eq!(parse(""), Err(IntervalError::Syntax));
        assert_eq!(parse("2147483648 days"), Err(IntervalError::FieldOverflow));
        assert_eq!(
            parse("99999999999 hours"),
            Err(IntervalError::FieldOverflow)
        );
        assert_eq!(parse("1:60:00"), Err(IntervalError::FieldOverflow));
    }

    #[test]
    fn other_styles() {
        let iv = parse("1 year 2 mons 3 days 04:05:06.5").unwrap();
        assert_eq!(
            format_style(&iv, IntervalStyle::PostgresVerbose),
            "@ 1 year 2 mons 3 days 4 hours 5 mins 6.5 secs"
        );
        assert_eq!(
            format_style(&iv, IntervalStyle::SqlStandard),
            "+1-2 +3 +4:05:06.5"
        );
        assert_eq!(
            format_style(&iv, IntervalStyle::Iso8601),
            "P1Y2M3DT4H5M6.5S"
        );
        let neg = parse("-1 day -02:00:00").unwrap();
        assert_eq!(
            format_style(&neg, IntervalStyle::PostgresVerbose),
            "@ 1 day 2 hours ago"
        );
        assert_eq!(format_style(&neg, IntervalStyle::SqlStandard), "-1 2:00:00");
        assert_eq!(
            format_style(&parse("1-2").unwrap(), IntervalStyle::SqlStandard),
            "1-2"
        );
        assert_eq!(
            format_style(&Interval::default(), IntervalStyle::Iso8601),
            "PT0S"
        );
        assert_eq!(
            format_style(&Interval::default(), IntervalStyle::PostgresVerbose),
            "@ 0"
        );
    }

    #[test]
    fn order_and_arithmetic() {
        let mon = parse("1 mon").unwrap();
        let d30 = parse("30 days").unwrap();
        assert_eq!(compare(&mon, &d30), Ordering::Equal);
        assert_eq!(
            compare(&parse("1 day").unwrap(), &parse("23:59:59").unwrap()),
            Ordering::Greater
        );
        assert_eq!(format(&mon.mul(1.5).unwrap()), "1 mon 15 days");
        assert_eq!(
            format(&parse("1 day").unwrap().mul(0.5).unwrap()),
            "12:00:00"
        );
        assert_eq!(
            format(&parse("1 day").unwrap().mul(0.3).unwrap()),
            "07:12:00"
        );
        assert_eq!(
            format(&parse("1 mon 3 days").unwrap().div(7.0).unwrap()),
            "4 days 17:08:34.261029"
        );
        let odd = parse("1 day -1 second").unwrap();
        assert_eq!(
            format_style(&odd, IntervalStyle::PostgresVerbose),
            "@ 1 day -1 sec"
        );
        assert_eq!(
            format_style(&odd, IntervalStyle::SqlStandard),
            "+0-0 +1 -0:00:01"
        );
        assert_eq!(
            format(&parse("36 hours").unwrap().justify_hours().unwrap()),
            "1 day 12:00:00"
        );
        assert_eq!(
            format(&parse("35 days").unwrap().justify_days().unwrap()),
            "1 mon 5 days"
        );
        assert_eq!(
            format(&parse("1 mon -1 hour").unwrap().justify_interval().unwrap()),
            "29 days 23:00:00"
        );
        let iv = parse("1 year 2 days 00:00:03").unwrap();
        let b = send(&iv);
        assert_eq!(recv(&b.try_into().unwrap()), iv);
    }
}
