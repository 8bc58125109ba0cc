//! Time zones: the system's compiled tzdata (TZif files), POSIX TZ rule
//! strings, and the session's `TimeZone` and `DateStyle`.
//!
//! Why our own reader: TZif is a small, stable binary format (RFC 8536)
//! and PostgreSQL answers from the same compiled files, so reading them
//! gives the same offsets and abbreviations (LMT before standard time,
//! historical rules) without a date-time framework. Times past the
//! file's last transition follow its POSIX footer rule, evaluated per
//! year, so "slim" files and far-future years work too.
//!
//! The session settings live in thread-locals: a backend serves one
//! session on one thread, sets them whenever the setting changes
//! ([`set_session_zone`], [`set_datestyle`]) and the type I/O functions
//! read them, as PostgreSQL's timestamptz_out reads its `session_timezone`
//! global. Thread-locals (not process statics) keep parallel unit tests
//! apart. Zones are parsed once per backend and kept in a per-thread cache.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use tusk_common::time::days_from_civil;

/// One local time type: offset east of UTC, DST flag, abbreviation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalType {
    pub off: i64,
    pub dst: bool,
    pub abbr: String,
}

/// When a POSIX rule's DST starts or ends within a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleDate {
    /// Jn: day 1..365, February 29 never counted.
    Julian1(i64),
    /// n: day 0..365, February 29 counted.
    Julian0(i64),
    /// Mm.w.d: weekday d (0 = Sunday) of week w (5 = last) of month m.
    MonthWeek(u32, u32, u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DstRule {
    ty: LocalType,
    start: RuleDate,
    /// Seconds after local midnight (standard time) when DST starts.
    start_time: i64,
    end: RuleDate,
    /// Seconds after local midnight (DST) when DST ends.
    end_time: i64,
}

/// A POSIX TZ string such as `PST8PDT,M3.2.0,M11.1.0` or `<+05>-5`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posix {
    std: LocalType,
    dst: Option<DstRule>,
}

/// A time zone: TZif transitions, then the footer rule (or a bare rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// UTC seconds of each transition, ascending.
    trans: Vec<i64>,
    /// The local type that starts at each transition.
    idx: Vec<usize>,
    types: Vec<LocalType>,
    /// Rule for times after the last transition (or all times).
    rule: Option<Posix>,
}

fn be32(b: &[u8], at: usize) -> Option<i64> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as i64)
}

fn be64(b: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The six counts of a TZif header at `at`: isut, isstd, leap, time,
/// type, char.
fn header(b: &[u8], at: usize) -> Option<(u8, [usize; 6])> {
    if b.get(at..at + 4)? != b"TZif" {
        return None;
    }
    let ver = *b.get(at + 4)?;
    let mut c = [0usize; 6];
    for (i, v) in c.iter_mut().enumerate() {
        *v = u32::from_be_bytes(b.get(at + 20 + 4 * i..at + 24 + 4 * i)?.try_into().ok()?) as usize;
    }
    Some((ver, c))
}

impl Zone {
    /// Parse a TZif file (v1, v2 or v3). Bad or truncated input gives
    /// `None`, never a panic: the file comes from outside the server.
    pub fn from_tzif(b: &[u8]) -> Option<Zone> {
        let (ver, c) = header(b, 0)?;
        let [isut, isstd, leap, timecnt, typecnt, charcnt] = c;
        let v1_len = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
        let (at, c, tsize) = if ver >= b'2' {
            let at2 = 44 + v1_len;
            let (_, c2) = header(b, at2)?;
            (at2 + 44, c2, 8)
        } else {
            (44, c, 4)
        };
        let [isut, isstd, leap, timecnt, typecnt, charcnt] = c;
        if typecnt == 0 {
            return None;
        }
        let mut p = at;
        let mut trans = Vec::with_capacity(timecnt);
        for _ in 0..timecnt {
            trans.push(if tsize == 8 { be64(b, p)? } else { be32(b, p)? });
            p += tsize;
        }
        let mut idx = Vec::with_capacity(timecnt);
        for _ in 0..timecnt {
            let i = *b.get(p)? as usize;
            if i >= typecnt {
                return None;
            }
            idx.push(i);
            p += 1;
        }
        let tstart = p;
        p += typecnt * 6;
        let chars = b.get(p..p + charcnt)?;
        let mut types = Vec::with_capacity(typecnt);
        for i in 0..typecnt {
            let q = tstart + i * 6;
            let off = be32(b, q)?;
            let dst = *b.get(q + 4)? != 0;
            let ai = *b.get(q + 5)? as usize;
            let tail = chars.get(ai..)?;
            let end = tail.iter().position(|&c| c == 0).unwrap_or(tail.len());
            let abbr = String::from_utf8_lossy(&tail[..end]).into_owned();
            types.push(LocalType { off, dst, abbr });
        }
        p += charcnt + leap * (tsize + 4) + isstd + isut;
        let rule = if ver >= b'2' {
            let rest = b.get(p..).unwrap_or(&[]);
            let rest = rest.strip_prefix(b"\n").unwrap_or(rest);
            let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            std::str::from_utf8(&rest[..end])
                .ok()
                .and_then(Posix::parse)
        } else {
            None
        };
        if trans.windows(2).any(|w| w[0] >= w[1]) {
            return None;
        }
        Some(Zone {
            trans,
            idx,
            types,
            rule,
        })
    }

    /// A zone made of a POSIX rule alone.
    pub fn from_posix(p: Posix) -> Zone {
        Zone {
            trans: Vec::new(),
            idx: Vec::new(),
            types: vec![p.std.clone()],
            rule: Some(p),
        }
    }

    /// A fixed offset (seconds east) with an abbreviation.
    pub fn fixed(off: i64, abbr: &str) -> Zone {
        Zone::from_posix(Posix {
            std: LocalType {
                off,
                dst: false,
                abbr: abbr.into(),
            },
            dst: None,
        })
    }

    /// The local type in effect at `t` (UTC seconds since 1970).
    pub fn at(&self, t: i64) -> &LocalType {
        if self.trans.is_empty() || t >= *self.trans.last().unwrap_or(&i64::MAX) {
            if let Some(r) = &self.rule {
                return r.at(t);
            }
        }
        match self.trans.partition_point(|&x| x <= t) {
            // Before the first transition: type 0 (RFC 8536 3.2).
            0 => &self.types[0],
            n => &self.types[self.idx[n - 1]],
        }
    }

    /// The offset (seconds east) that turns local time `local` (seconds
    /// since 1970 as if UTC) into UTC, PostgreSQL's way: in a
    /// spring-forward gap the offset from before the transition, in a
    /// fall-back overlap the one from after it.
    pub fn offset_for_local(&self, local: i64) -> i64 {
        let lo = local.saturating_sub(86_400);
        let hi = local.saturating_add(86_400);
        let before = self.at(lo).off;
        if self.at(hi).off == before {
            // At most one change in two days in any real zone; if it
            // went and came back, the first one still decides.
            return self.at(local - before).off;
        }
        // The boundary: first UTC second whose offset differs.
        let (mut a, mut b) = (lo, hi);
        while b - a > 1 {
            let m = a + (b - a) / 2;
            if self.at(m).off == before {
                a = m;
            } else {
                b = m;
            }
        }
        let boundary = b;
        let after = self.at(boundary).off;
        let bt = local - before;
        let at = local - after;
        if bt < boundary && at < boundary {
            before
        } else if bt >= boundary && at >= boundary {
            after
        } else if bt > at {
            before
        } else {
            after
        }
    }
}

fn parse_abbr(s: &[u8], p: &mut usize) -> Option<String> {
    let start = *p;
    if s.get(*p) == Some(&b'<') {
        let end = s[start..].iter().position(|&c| c == b'>')? + start;
        *p = end + 1;
        let a = std::str::from_utf8(&s[start + 1..end]).ok()?;
        return (a.len() >= 3).then(|| a.to_string());
    }
    while *p < s.len() && s[*p].is_ascii_alphabetic() {
        *p += 1;
    }
    (*p - start >= 3).then(|| String::from_utf8_lossy(&s[start..*p]).into_owned())
}

fn parse_num(s: &[u8], p: &mut usize, max: i64) -> Option<i64> {
    let start = *p;
    let mut v = 0i64;
    while *p < s.len() && s[*p].is_ascii_digit() && *p - start < 3 {
        v = v * 10 + (s[*p] - b'0') as i64;
        *p += 1;
    }
    (*p > start && v <= max).then_some(v)
}

/// `[+-]hh[:mm[:ss]]` in seconds (the sign as written).
fn parse_hms(s: &[u8], p: &mut usize, max_h: i64) -> Option<i64> {
    let neg = match s.get(*p) {
        Some(b'-') => {
            *p += 1;
            true
        }
        Some(b'+') => {
            *p += 1;
            false
        }
        _ => false,
    };
    let mut v = parse_num(s, p, max_h)? * 3600;
    if s.get(*p) == Some(&b':') {
        *p += 1;
        v += parse_num(s, p, 59)? * 60;
        if s.get(*p) == Some(&b':') {
            *p += 1;
            v += parse_num(s, p, 59)?;
        }
    }
    Some(if neg { -v } else { v })
}

fn parse_rule_date(s: &[u8], p: &mut usize) -> Option<(RuleDate, i64)> {
    let d = match s.get(*p)? {
        b'J' => {
            *p += 1;
            RuleDate::Julian1(parse_num(s, p, 365).filter(|&n| n >= 1)?)
        }
        b'M' => {
            *p += 1;
            let m = parse_num(s, p, 12).filter(|&n| n >= 1)?;
            (s.get(*p) == Some(&b'.')).then_some(())?;
            *p += 1;
            let w = parse_num(s, p, 5).filter(|&n| n >= 1)?;
            (s.get(*p) == Some(&b'.')).then_some(())?;
            *p += 1;
            let d = parse_num(s, p, 6)?;
            RuleDate::MonthWeek(m as u32, w as u32, d as u32)
        }
        c if c.is_ascii_digit() => RuleDate::Julian0(parse_num(s, p, 365)?),
        _ => return None,
    };
    let time = if s.get(*p) == Some(&b'/') {
        *p += 1;
        parse_hms(s, p, 167)?
    } else {
        7200
    };
    Some((d, time))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

const MONTH_DAYS: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// Days since 1970 of a rule date in year `y`.
fn rule_day(y: i64, d: RuleDate) -> i64 {
    let jan1 = days_from_civil(y, 1, 1);
    match d {
        RuleDate::Julian1(n) => jan1 + n - 1 + (is_leap(y) && n >= 60) as i64,
        RuleDate::Julian0(n) => jan1 + n,
        RuleDate::MonthWeek(m, w, wd) => {
            let first = days_from_civil(y, m, 1);
            // 1970-01-01 was a Thursday (4).
            let first_wd = (first + 4).rem_euclid(7);
            let mut day = first + (wd as i64 - first_wd).rem_euclid(7) + (w as i64 - 1) * 7;
            let mlen = MONTH_DAYS[m as usize - 1] + (m == 2 && is_leap(y)) as i64;
            while day >= first + mlen {
                day -= 7;
            }
            day
        }
    }
}

impl Posix {
    /// Parse a POSIX TZ string; `None` if it is not one.
    pub fn parse(text: &str) -> Option<Posix> {
        let s = text.as_bytes();
        let mut p = 0;
        // PostgreSQL's tzparse allows an empty standard-time name
        // (`SET timezone = '+02:00'`), unlike IANA's.
        let std_abbr = match s.first() {
            Some(c) if *c == b'+' || *c == b'-' || c.is_ascii_digit() => String::new(),
            _ => parse_abbr(s, &mut p)?,
        };
        let std_off = -parse_hms(s, &mut p, 24)?;
        let std = LocalType {
            off: std_off,
            dst: false,
            abbr: std_abbr,
        };
        if p == s.len() {
            return Some(Posix { std, dst: None });
        }
        let dst_abbr = parse_abbr(s, &mut p)?;
        let dst_off = match s.get(p) {
            Some(b',') | None => std_off + 3600,
            _ => -parse_hms(s, &mut p, 24)?,
        };
        // No rule: the US rules, as tzcode's default "posixrules" gives.
        let (start, start_time, end, end_time) = if p == s.len() {
            (
                RuleDate::MonthWeek(3, 2, 0),
                7200,
                RuleDate::MonthWeek(11, 1, 0),
                7200,
            )
        } else {
            (s[p] == b',').then_some(())?;
            p += 1;
            let (a, at) = parse_rule_date(s, &mut p)?;
            (s.get(p) == Some(&b',')).then_some(())?;
            p += 1;
            let (b, bt) = parse_rule_date(s, &mut p)?;
            (p == s.len()).then_some(())?;
            (a, at, b, bt)
        };
        Some(Posix {
            std,
            dst: Some(DstRule {
                ty: LocalType {
                    off: dst_off,
                    dst: true,
                    abbr: dst_abbr,
                },
                start,
                start_time,
                end,
                end_time,
            }),
        })
    }

    fn at(&self, t: i64) -> &LocalType {
        let Some(r) = &self.dst else {
            return &self.std;
        };
        let y = tusk_common::time::civil_from_days((t + self.std.off).div_euclid(86_400)).0;
        // Start is in standard local time, end in DST local time.
        let start = rule_day(y, r.start) * 86_400 + r.start_time - self.std.off;
        let end = rule_day(y, r.end) * 86_400 + r.end_time - r.ty.off;
        let in_dst = if start < end {
            t >= start && t < end
        } else {
            // Southern hemisphere: DST spans the new year.
            !(t >= end && t < start)
        };
        if in_dst {
            &r.ty
        } else {
            &self.std
        }
    }
}

/// The zoneinfo directory: $TZDIR as the C library uses, else the system's.
pub fn zoneinfo_dir() -> std::path::PathBuf {
    std::env::var_os("TZDIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("/usr/share/zoneinfo"))
}

/// Finds a zone file ignoring case; returns the database's spelling.
fn find_file(name: &str) -> Option<(String, Vec<u8>)> {
    if name.is_empty()
        || name.starts_with('/')
        || name
            .split('/')
            .any(|part| part.is_empty() || part.starts_with('.'))
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c))
    {
        return None;
    }
    let mut path = zoneinfo_dir();
    let mut parts = Vec::new();
    for part in name.split('/') {
        let exact = path.join(part);
        let found = if exact.exists() {
            part.to_string()
        } else {
            std::fs::read_dir(&path)
                .ok()?
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .find(|n| n.eq_ignore_ascii_case(part))?
        };
        path.push(&found);
        parts.push(found);
    }
    let bytes = std::fs::read(&path).ok()?;
    bytes.starts_with(b"TZif").then(|| (parts.join("/"), bytes))
}

thread_local! {
    static CACHE: RefCell<HashMap<String, Option<Rc<Zone>>>> = RefCell::new(HashMap::new());
    static SESSION: RefCell<Rc<Zone>> = RefCell::new(Rc::new(Zone::fixed(0, "UTC")));
    static DATESTYLE: Cell<(DateStyle, DateOrder)> = const { Cell::new((DateStyle::Iso, DateOrder::Mdy)) };
}

/// A zone by `TimeZone` name: a zoneinfo file (any case), a POSIX TZ
/// string (`UTC+3`, `<+05>-05`, `EST5EDT`), or `None`. `localtime` and
/// `posixrules` are refused, as PostgreSQL refuses them. Cached per
/// backend (any process may call; the cache is the calling thread's).
pub fn lookup(name: &str) -> Option<Rc<Zone>> {
    let key = name.to_ascii_lowercase();
    if let Some(z) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return z;
    }
    let z = load(name).map(Rc::new);
    CACHE.with(|c| c.borrow_mut().insert(key, z.clone()));
    z
}

fn load(name: &str) -> Option<Zone> {
    if name.eq_ignore_ascii_case("localtime") || name.eq_ignore_ascii_case("posixrules") {
        return None;
    }
    if let Some((_, b)) = find_file(name) {
        if let Some(z) = Zone::from_tzif(&b) {
            return Some(z);
        }
    }
    if name.eq_ignore_ascii_case("UTC") || name.eq_ignore_ascii_case("GMT") {
        return Some(Zone::fixed(0, &name.to_ascii_uppercase()));
    }
    Posix::parse(name).map(Zone::from_posix)
}

/// The database's own spelling of a zone file name, if it is one.
pub fn canonical_file_name(name: &str) -> Option<String> {
    find_file(name).map(|(n, _)| n)
}

/// Sets the session zone from the (validated) `TimeZone` setting; an
/// unknown name leaves UTC. Called by the backend process on change.
pub fn set_session_zone(name: &str) {
    let z = lookup(name).unwrap_or_else(|| Rc::new(Zone::fixed(0, "UTC")));
    SESSION.with(|s| *s.borrow_mut() = z);
}

/// The session's zone.
pub fn session_zone() -> Rc<Zone> {
    SESSION.with(|s| s.borrow().clone())
}

/// Offset (seconds east) and abbreviation at UTC microseconds since 2000
/// in zone `z`.
pub fn local_type_at(z: &Zone, utc_us: i64) -> LocalType {
    z.at(utc_us.div_euclid(1_000_000) + PG_EPOCH_SECS).clone()
}

/// UTC microseconds since 2000 of local microseconds since 2000 in `z`.
pub fn local_to_utc(z: &Zone, local_us: i64) -> i64 {
    let off = z.offset_for_local(local_us.div_euclid(1_000_000) + PG_EPOCH_SECS);
    local_us - off * 1_000_000
}

/// Seconds from 1970-01-01 to 2000-01-01.
const PG_EPOCH_SECS: i64 = 946_684_800;

/// DateStyle's output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    Iso,
    Sql,
    Postgres,
    German,
}

/// DateStyle's field order for output and ambiguous input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    Mdy,
    Dmy,
    Ymd,
}

/// Sets the session's DateStyle from the setting's canonical text
/// ("Postgres, MDY"). Called by the backend process on change.
pub fn set_datestyle(text: &str) {
    let mut cur = datestyle();
    for w in text.split(',') {
        match w.trim().to_ascii_lowercase().as_str() {
            "iso" => cur.0 = DateStyle::Iso,
            "sql" => cur.0 = DateStyle::Sql,
            "postgres" => cur.0 = DateStyle::Postgres,
            "german" => cur.0 = DateStyle::German,
            "mdy" | "us" | "noneuropean" => cur.1 = DateOrder::Mdy,
            "dmy" | "euro" | "european" => cur.1 = DateOrder::Dmy,
            "ymd" => cur.1 = DateOrder::Ymd,
            _ => {}
        }
    }
    DATESTYLE.with(|d| d.set(cur));
}

pub fn datestyle() -> (DateStyle, DateOrder) {
    DATESTYLE.with(|d| d.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i64, m: u32, d: u32, h: i64, mi: i64) -> i64 {
        days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60
    }

    #[test]
    fn posix_rules() {
        let p = Posix::parse("PST8PDT,M3.2.0,M11.1.0").unwrap();
        let z = Zone::from_posix(p);
        // 2026-03-08 02:00 PST = 10:00 UTC starts PDT.
        assert_eq!(z.at(utc(2026, 3, 8, 9, 59)).abbr, "PST");
        assert_eq!(z.at(utc(2026, 3, 8, 10, 0)).abbr, "PDT");
        assert_eq!(z.at(utc(2026, 3, 8, 10, 0)).off, -7 * 3600);
        // 2026-11-01 02:00 PDT = 09:00 UTC ends it.
        assert_eq!(z.at(utc(2026, 11, 1, 8, 59)).abbr, "PDT");
        assert_eq!(z.at(utc(2026, 11, 1, 9, 0)).abbr, "PST");
        let p = Posix::parse("<+0530>-5:30").unwrap();
        assert_eq!(p.std.off, 19_800);
        assert_eq!(p.std.abbr, "+0530");
        assert_eq!(Posix::parse("UTC+3").unwrap().std.off, -10_800);
        // Southern hemisphere, DST over the new year.
        let z = Zone::from_posix(Posix::parse("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap());
        assert_eq!(z.at(utc(2026, 1, 15, 0, 0)).abbr, "AEDT");
        assert_eq!(z.at(utc(2026, 7, 15, 0, 0)).abbr, "AEST");
        assert!(Posix::parse("nonsense!").is_none());
        assert!(Posix::parse("ab5").is_none());
    }

    #[test]
    fn tzif_los_angeles() {
        let Some(z) = lookup("america/los_angeles") else {
            return; // no tzdata on this machine
        };
        let la = |t| z.at(t).clone();
        assert_eq!(la(utc(1997, 2, 10, 12, 0)).abbr, "PST");
        assert_eq!(la(utc(1997, 7, 10, 12, 0)).abbr, "PDT");
        // Local mean time before 1883-11-18.
        let lmt = la(utc(1800, 1, 1, 0, 0));
        assert_eq!(
            (lmt.off, lmt.abbr.as_str()),
            (-(7 * 3600 + 52 * 60 + 58), "LMT")
        );
        // Far future: the footer rule.
        assert_eq!(la(utc(2400, 7, 1, 0, 0)).abbr, "PDT");
        // Gap: 2026-03-08 02:30 does not exist; PostgreSQL reads it as PST.
        assert_eq!(z.offset_for_local(utc(2026, 3, 8, 2, 30)), -8 * 3600);
        // Overlap: 01:30 on 2026-11-01 happens twice; the later (PST).
        assert_eq!(z.offset_for_local(utc(2026, 11, 1, 1, 30)), -8 * 3600);
        assert_eq!(z.offset_for_local(utc(2026, 11, 1, 0, 30)), -7 * 3600);
        assert_eq!(z.offset_for_local(utc(2026, 11, 1, 2, 30)), -8 * 3600);
        assert!(lookup("localtime").is_none());
        assert!(lookup("Mars/Olympus").is_none());
    }

    #[test]
    fn bad_tzif_is_refused() {
        assert!(Zone::from_tzif(b"").is_none());
        assert!(Zone::from_tzif(b"TZif2\0\0\0").is_none());
        let mut b = std::fs::read(zoneinfo_dir().join("Europe/Paris")).unwrap_or_default();
        if !b.is_empty() {
            b.truncate(b.len() / 3);
            let _ = Zone::from_tzif(&b); // no panic
        }
    }
}
