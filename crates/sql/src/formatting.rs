//! Template formatting: to_char, to_number, to_date and to_timestamp
//! (PostgreSQL 15's formatting.c behaviour, written afresh).
//!
//! Why one module with two template languages: the date/time templates
//! (`YYYY-MM-DD HH24:MI`) and the number templates (`FM9,990.00PR`) share
//! the template parser (keywords, `"quoted"` text, backslash escapes) but
//! nothing else, so each has its own keyword table and processor here.
//! The number processor is a faithful state machine rather than a cleaner
//! rewrite on purpose: its output (where the sign lands, when a blank
//! replaces a digit, how FM trims) is what clients and PostgreSQL's
//! regression outputs expect byte for byte, and those rules only fall out
//! of the same walk. Locale-dependent pieces (D, G, L, S, TM) use the C
//! locale, as tusk's databases do. The session time zone comes from
//! [`local_of_timestamptz`], which reads the session's TimeZone.
//! Pure functions: any backend may call them.

use tusk_common::sqlstate;
use tusk_common::time::civil_from_days;
use tusk_common::PgError;
use tusk_types::interval::Interval;
use tusk_types::Numeric;

/// Days from 1970-01-01 to 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JDATE: i64 = 2_440_588;
const USECS_PER_DAY: i64 = 86_400_000_000;
const MIN_TS: i64 = -211_813_488_000_000_000;
const MAX_TS: i64 = 9_223_371_331_200_000_000;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTHS_FULL: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const DAYS_SHORT: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
/// Roman months, December first (the input search must try VIII before V).
const RM_UPPER: [&str; 12] = [
    "XII", "XI", "X", "IX", "VIII", "VII", "VI", "V", "IV", "III", "II", "I",
];
const RM_LOWER: [&str; 12] = [
    "xii", "xi", "x", "ix", "viii", "vii", "vi", "v", "iv", "iii", "ii", "i",
];

/// The session's view of a timestamptz: (local microseconds, offset in
/// seconds east of UTC, zone abbreviation) in the session's TimeZone.
pub(crate) fn local_of_timestamptz(us: i64) -> (i64, i32, String) {
    let lt = tusk_types::tz::local_type_at(&tusk_types::tz::session_zone(), us);
    (us + lt.off * 1_000_000, lt.off as i32, lt.abbr)
}

/// Julian day of a (proleptic Gregorian) date; PostgreSQL's arithmetic,
/// so that out-of-range fields (an interval's months) give its numbers.
fn date2j(y: i64, m: u32, d: u32) -> i64 {
    date2j_any(y, m as i64, d as i64)
}

fn date2j_any(y: i64, m: i64, d: i64) -> i64 {
    let (mut year, mut month) = (y, m);
    if month > 2 {
        month += 1;
        year += 4800;
    } else {
        month += 13;
        year += 4799;
    }
    let century = year / 100;
    let mut julian = year * 365 - 32167;
    julian += year / 4 - century + century / 4;
    julian + 7834 * month / 256 + d
}

fn j2date(j: i64) -> (i64, u32, u32) {
    civil_from_days(j - UNIX_EPOCH_JDATE)
}

/// Day of the week of a Julian day, 0 = Sunday.
fn j2day(j: i64) -> i64 {
    (j + 1).rem_euclid(7)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Julian day of the first day (Monday) of ISO week `week` of `year`.
fn isoweek2j(year: i64, week: i64) -> i64 {
    let day4 = date2j(year, 1, 4);
    let day0 = j2day(day4 - 1);
    (week - 1) * 7 + (day4 - day0)
}

fn date2isoweek(y: i64, m: i64, d: i64) -> i64 {
    let dayn = date2j_any(y, m, d);
    let mut day4 = date2j(y, 1, 4);
    let mut day0 = j2day(day4 - 1);
    if dayn < day4 - day0 {
        day4 = date2j(y - 1, 1, 4);
        day0 = j2day(day4 - 1);
    }
    let mut result = (dayn - (day4 - day0)).div_euclid(7) + 1;
    if result >= 52 {
        day4 = date2j(y + 1, 1, 4);
        day0 = j2day(day4 - 1);
        if dayn >= day4 - day0 {
            result = (dayn - (day4 - day0)).div_euclid(7) + 1;
        }
    }
    result
}

fn date2isoyear(y: i64, m: i64, d: i64) -> i64 {
    let dayn = date2j_any(y, m, d);
    let mut year = y;
    let mut day4 = date2j(year, 1, 4);
    let mut day0 = j2day(day4 - 1);
    if dayn < day4 - day0 {
        year -= 1;
        day4 = date2j(year, 1, 4);
        day0 = j2day(day4 - 1);
    }
    let result = (dayn - (day4 - day0)).div_euclid(7) + 1;
    if result >= 52 {
        day4 = date2j(year + 1, 1, 4);
        day0 = j2day(day4 - 1);
        if dayn >= day4 - day0 {
            year += 1;
        }
    }
    year
}

fn date2isoyearday(y: i64, m: i64, d: i64) -> i64 {
    date2j_any(y, m, d) - isoweek2j(date2isoyear(y, m, d), 1) + 1
}

// ---------------------------------------------------------------------
// Template parsing (shared)
// ---------------------------------------------------------------------

const S_FM: u8 = 0x01;
const S_TH: u8 = 0x02;
const S_TH_LOWER: u8 = 0x04;
const S_TM: u8 = 0x10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CharKind {
    Char,
    Separator,
    Space,
}

#[derive(Debug, Clone)]
enum Node<K: Copy> {
    Action {
        key: K,
        name: &'static str,
        suffix: u8,
    },
    Text {
        s: String,
        kind: CharKind,
    },
}

/// Split a template into keyword actions and literal characters. `kw`
/// lists (name, key) with longer names before their prefixes, as the
/// keyword search must try `HH24` before `HH`; `dch` enables the FM/TM
/// prefixes and TH/th/SP suffixes of date/time templates.
fn parse_template<K: Copy>(fmt: &str, kw: &[(&'static str, K)], dch: bool) -> Vec<Node<K>> {
    let b = fmt.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let mut suffix = 0u8;
        if dch {
            let rest = &b[i..];
            if rest.starts_with(b"FM") || rest.starts_with(b"fm") {
                suffix |= S_FM;
                i += 2;
            } else if rest.starts_with(b"TM") || rest.starts_with(b"tm") {
                suffix |= S_TM;
                i += 2;
            }
        }
        if i >= b.len() {
            break;
        }
        let rest = &b[i..];
        if let Some(&(name, key)) = kw
            .iter()
            .filter(|(n, _)| n.as_bytes()[0] == rest[0])
            .find(|(n, _)| rest.starts_with(n.as_bytes()))
        {
            i += name.len();
            if dch && i < b.len() {
                let r = &b[i..];
                if r.starts_with(b"TH") {
                    suffix |= S_TH;
                    i += 2;
                } else if r.starts_with(b"th") {
                    suffix |= S_TH_LOWER;
                    i += 2;
                } else if r.starts_with(b"SP") {
                    i += 2;
                }
            }
            out.push(Node::Action { key, name, suffix });
            continue;
        }
        let ch_at = |i: usize| fmt[i..].chars().next().map(|c| c.len_utf8()).unwrap_or(1);
        if b[i] == b'"' {
            i += 1;
            while i < b.len() {
                if b[i] == b'"' {
                    i += 1;
                    break;
                }
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                let l = ch_at(i);
                out.push(Node::Text {
                    s: fmt[i..i + l].to_string(),
                    kind: CharKind::Char,
                });
                i += l;
            }
            continue;
        }
        if b[i] == b'\\' && i + 1 < b.len() && b[i + 1] == b'"' {
            i += 1;
        }
        let l = ch_at(i);
        let c = b[i];
        let kind = if dch && c > 0x20 && c < 0x7f && !c.is_ascii_alphanumeric() {
            CharKind::Separator
        } else if c.is_ascii_whitespace() {
            CharKind::Space
        } else {
            CharKind::Char
        };
        out.push(Node::Text {
            s: fmt[i..i + l].to_string(),
            kind,
        });
        i += l;
    }
    out
}

/// `ST`/`ND`/`RD`/`TH` for the number in `num` (teens take TH).
fn ordinal(num: &str, upper: bool) -> Result<&'static str, PgError> {
    let b = num.as_bytes();
    let last = *b.last().unwrap_or(&b' ');
    if !last.is_ascii_digit() {
        return Err(PgError::error(
            sqlstate::INVALID_TEXT_REPRESENTATION,
            format!("\"{num}\" is not a number"),
        ));
    }
    let teen = b.len() > 1 && b[b.len() - 2] == b'1';
    let s = match (teen, last) {
        (false, b'1') => "st",
        (false, b'2') => "nd",
        (false, b'3') => "rd",
        _ => "th",
    };
    Ok(match (upper, s) {
        (false, s) => s,
        (true, "st") => "ST",
        (true, "nd") => "ND",
        (true, "rd") => "RD",
        _ => "TH",
    })
}

// ---------------------------------------------------------------------
// Date/time templates
// ---------------------------------------------------------------------

#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dk {
    ADp,
    AMp,
    AD,
    AM,
    BCp,
    BC,
    CC,
    DAY,
    DDD,
    DD,
    DY,
    Day,
    Dy,
    D,
    FF(u8),
    FX,
    HH24,
    HH12,
    HH,
    IDDD,
    ID,
    IW,
    IYYY,
    IYY,
    IY,
    I,
    J,
    MI,
    MM,
    MONTH,
    MON,
    MS,
    Month,
    Mon,
    OF,
    PMp,
    PM,
    Q,
    RM,
    SSSS,
    SS,
    TZH,
    TZM,
    TZ,
    US,
    WW,
    W,
    YCommaYYY,
    YYYY,
    YYY,
    YY,
    Y,
    adp,
    amp,
    ad,
    am,
    bcp,
    bc,
    day,
    dy,
    month,
    mon,
    pmp,
    pm,
    rm,
    tz,
}

/// The date/time keywords in search order (longer before shorter).
const DCH_KEYWORDS: &[(&str, Dk)] = &[
    ("A.D.", Dk::ADp),
    ("A.M.", Dk::AMp),
    ("AD", Dk::AD),
    ("AM", Dk::AM),
    ("B.C.", Dk::BCp),
    ("BC", Dk::BC),
    ("CC", Dk::CC),
    ("DAY", Dk::DAY),
    ("DDD", Dk::DDD),
    ("DD", Dk::DD),
    ("DY", Dk::DY),
    ("Day", Dk::Day),
    ("Dy", Dk::Dy),
    ("D", Dk::D),
    ("FF1", Dk::FF(1)),
    ("FF2", Dk::FF(2)),
    ("FF3", Dk::FF(3)),
    ("FF4", Dk::FF(4)),
    ("FF5", Dk::FF(5)),
    ("FF6", Dk::FF(6)),
    ("FX", Dk::FX),
    ("HH24", Dk::HH24),
    ("HH12", Dk::HH12),
    ("HH", Dk::HH),
    ("IDDD", Dk::IDDD),
    ("ID", Dk::ID),
    ("IW", Dk::IW),
    ("IYYY", Dk::IYYY),
    ("IYY", Dk::IYY),
    ("IY", Dk::IY),
    ("I", Dk::I),
    ("J", Dk::J),
    ("MI", Dk::MI),
    ("MM", Dk::MM),
    ("MONTH", Dk::MONTH),
    ("MON", Dk::MON),
    ("MS", Dk::MS),
    ("Month", Dk::Month),
    ("Mon", Dk::Mon),
    ("OF", Dk::OF),
    ("P.M.", Dk::PMp),
    ("PM", Dk::PM),
    ("Q", Dk::Q),
    ("RM", Dk::RM),
    ("SSSSS", Dk::SSSS),
    ("SSSS", Dk::SSSS),
    ("SS", Dk::SS),
    ("TZH", Dk::TZH),
    ("TZM", Dk::TZM),
    ("TZ", Dk::TZ),
    ("US", Dk::US),
    ("WW", Dk::WW),
    ("W", Dk::W),
    ("Y,YYY", Dk::YCommaYYY),
    ("YYYY", Dk::YYYY),
    ("YYY", Dk::YYY),
    ("YY", Dk::YY),
    ("Y", Dk::Y),
    ("a.d.", Dk::adp),
    ("a.m.", Dk::amp),
    ("ad", Dk::ad),
    ("am", Dk::am),
    ("b.c.", Dk::bcp),
    ("bc", Dk::bc),
    ("cc", Dk::CC),
    ("day", Dk::day),
    ("ddd", Dk::DDD),
    ("dd", Dk::DD),
    ("dy", Dk::dy),
    ("d", Dk::D),
    ("ff1", Dk::FF(1)),
    ("ff2", Dk::FF(2)),
    ("ff3", Dk::FF(3)),
    ("ff4", Dk::FF(4)),
    ("ff5", Dk::FF(5)),
    ("ff6", Dk::FF(6)),
    ("fx", Dk::FX),
    ("hh24", Dk::HH24),
    ("hh12", Dk::HH12),
    ("hh", Dk::HH),
    ("iddd", Dk::IDDD),
    ("id", Dk::ID),
    ("iw", Dk::IW),
    ("iyyy", Dk::IYYY),
    ("iyy", Dk::IYY),
    ("iy", Dk::IY),
    ("i", Dk::I),
    ("j", Dk::J),
    ("mi", Dk::MI),
    ("mm", Dk::MM),
    ("month", Dk::month),
    ("mon", Dk::mon),
    ("ms", Dk::MS),
    ("of", Dk::OF),
    ("p.m.", Dk::pmp),
    ("pm", Dk::pm),
    ("q", Dk::Q),
    ("rm", Dk::rm),
    ("sssss", Dk::SSSS),
    ("ssss", Dk::SSSS),
    ("ss", Dk::SS),
    ("tzh", Dk::TZH),
    ("tzm", Dk::TZM),
    ("tz", Dk::tz),
    ("us", Dk::US),
    ("ww", Dk::WW),
    ("w", Dk::W),
    ("y,yyy", Dk::YCommaYYY),
    ("yyyy", Dk::YYYY),
    ("yyy", Dk::YYY),
    ("yy", Dk::YY),
    ("y", Dk::Y),
];

/// Whether a keyword reads digits (a following digit keyword ends a
/// field only by its width).
fn dk_is_digit(k: Dk) -> bool {
    use Dk::*;
    matches!(
        k,
        CC | DDD
            | DD
            | D
            | FF(_)
            | HH24
            | HH12
            | HH
            | IDDD
            | ID
            | IW
            | IYYY
            | IYY
            | IY
            | I
            | J
            | MI
            | MM
            | MS
            | Q
            | SSSS
            | SS
            | TZM
            | US
            | WW
            | W
            | YCommaYYY
            | YYYY
            | YYY
            | YY
            | Y
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DateMode {
    None,
    Gregorian,
    IsoWeek,
}

fn dk_mode(k: Dk) -> DateMode {
    use Dk::*;
    match k {
        DDD | DD | D | MM | MONTH | MON | Month | Mon | month | mon | RM | rm | WW | W
        | YCommaYYY | YYYY | YYY | YY | Y => DateMode::Gregorian,
        IDDD | ID | IW | IYYY | IYY | IY | I => DateMode::IsoWeek,
        _ => DateMode::None,
    }
}

/// A broken-down time to format: a timestamp's calendar fields or an
/// interval's (years, months, days, hours...) with `is_interval`.
struct Tm {
    year: i64,
    mon: i64,
    mday: i64,
    hour: i64,
    min: i64,
    sec: i64,
    fsec: i64,
    wday: i64,
    yday: i64,
    gmtoff: i64,
    tzn: Option<String>,
    is_interval: bool,
}

fn tm_of_timestamp(us: i64, zone: Option<(i32, String)>) -> Tm {
    let days = us.div_euclid(USECS_PER_DAY);
    let tod = us.rem_euclid(USECS_PER_DAY);
    let (y, m, d) = civil_from_days(days + PG_EPOCH_DAYS);
    let j = date2j(y, m, d);
    let (gmtoff, tzn) = match zone {
        Some((o, n)) => (o as i64, Some(n)),
        None => (0, None),
    };
    Tm {
        year: y,
        mon: m as i64,
        mday: d as i64,
        hour: tod / 3_600_000_000,
        min: tod / 60_000_000 % 60,
        sec: tod / 1_000_000 % 60,
        fsec: tod % 1_000_000,
        wday: j2day(j),
        yday: j - date2j(y, 1, 1) + 1,
        gmtoff,
        tzn,
        is_interval: false,
    }
}

fn invalid_for_interval() -> PgError {
    PgError::error(
        sqlstate::INVALID_DATETIME_FORMAT,
        "invalid format specification for an interval value",
    )
    .with_hint("Intervals are not tied to specific calendar dates.")
}

/// `%0*d`: zero-padded to `width` (the sign counts in the width).
fn zpad(v: i64, width: usize) -> String {
    if v < 0 {
        format!("-{:0w$}", v.unsigned_abs(), w = width.saturating_sub(1))
    } else {
        format!("{v:0width$}")
    }
}

fn dch_to_char(nodes: &[Node<Dk>], tm: &Tm) -> Result<String, PgError> {
    let mut out = String::new();
    let adjust_year = |y: i64| {
        if tm.is_interval || y > 0 {
            y
        } else {
            -(y - 1)
        }
    };
    let iv_check = || {
        if tm.is_interval {
            Err(invalid_for_interval())
        } else {
            Ok(())
        }
    };
    for n in nodes {
        let (key, suffix) = match n {
            Node::Text { s, .. } => {
                out.push_str(s);
                continue;
            }
            Node::Action { key, suffix, .. } => (*key, *suffix),
        };
        let fm = suffix & S_FM != 0;
        let tmode = suffix & S_TM != 0;
        // Two-digit fields print 3 wide when negative (intervals).
        let w2 = |v: i64| {
            if fm {
                0
            } else if v >= 0 {
                2
            } else {
                3
            }
        };
        let is_pm = tm.hour % 24 >= 12;
        let mut num: Option<String> = None;
        use Dk::*;
        match key {
            AMp | PMp => out.push_str(if is_pm { "P.M." } else { "A.M." }),
            AM | PM => out.push_str(if is_pm { "PM" } else { "AM" }),
            amp | pmp => out.push_str(if is_pm { "p.m." } else { "a.m." }),
            am | pm => out.push_str(if is_pm { "pm" } else { "am" }),
            HH | HH12 => {
                let h = if tm.hour % 12 == 0 { 12 } else { tm.hour % 12 };
                num = Some(zpad(h, w2(tm.hour)));
            }
            HH24 => num = Some(zpad(tm.hour, w2(tm.hour))),
            MI => num = Some(zpad(tm.min, w2(tm.min))),
            SS => num = Some(zpad(tm.sec, w2(tm.sec))),
            FF(d) => {
                let v = tm.fsec / 10i64.pow(6 - d as u32);
                num = Some(zpad(v, d as usize));
            }
            MS => num = Some(zpad(tm.fsec / 1000, 3)),
            US => num = Some(zpad(tm.fsec, 6)),
            SSSS => num = Some((tm.hour * 3600 + tm.min * 60 + tm.sec).to_string()),
            tz => {
                iv_check()?;
                if let Some(z) = &tm.tzn {
                    out.push_str(&z.to_ascii_lowercase());
                }
            }
            TZ => {
                iv_check()?;
                if let Some(z) = &tm.tzn {
                    out.push_str(z);
                }
            }
            TZH => {
                iv_check()?;
                let sign = if tm.gmtoff >= 0 { '+' } else { '-' };
                out.push_str(&format!("{sign}{:02}", tm.gmtoff.abs() / 3600));
            }
            TZM => {
                iv_check()?;
                out.push_str(&format!("{:02}", tm.gmtoff.abs() % 3600 / 60));
            }
            OF => {
                iv_check()?;
                let sign = if tm.gmtoff >= 0 { '+' } else { '-' };
                let h = tm.gmtoff.abs() / 3600;
                if fm {
                    out.push_str(&format!("{sign}{h}"));
                } else {
                    out.push_str(&format!("{sign}{h:02}"));
                }
                if tm.gmtoff.abs() % 3600 != 0 {
                    out.push_str(&format!(":{:02}", tm.gmtoff.abs() % 3600 / 60));
                }
            }
            ADp | BCp => {
                iv_check()?;
                out.push_str(if tm.year <= 0 { "B.C." } else { "A.D." });
            }
            AD | BC => {
                iv_check()?;
                out.push_str(if tm.year <= 0 { "BC" } else { "AD" });
            }
            adp | bcp => {
                iv_check()?;
                out.push_str(if tm.year <= 0 { "b.c." } else { "a.d." });
            }
            ad | bc => {
                iv_check()?;
                out.push_str(if tm.year <= 0 { "bc" } else { "ad" });
            }
            MONTH | Month | month | MON | Mon | mon => {
                iv_check()?;
                if tm.mon == 0 {
                    continue;
                }
                let full = matches!(key, MONTH | Month | month);
                let name = if full {
                    MONTHS_FULL[(tm.mon - 1) as usize]
                } else {
                    MONTHS[(tm.mon - 1) as usize]
                };
                let s = match key {
                    MONTH | MON => name.to_ascii_uppercase(),
                    month | mon => name.to_ascii_lowercase(),
                    _ => name.to_string(),
                };
                if full && !fm && !tmode {
                    out.push_str(&format!("{s:<9}"));
                } else {
                    out.push_str(&s);
                }
            }
            MM => num = Some(zpad(tm.mon, w2(tm.mon))),
            DAY | Day | day | DY | Dy | dy => {
                iv_check()?;
                let full = matches!(key, DAY | Day | day);
                let name = if full {
                    DAYS[tm.wday as usize]
                } else {
                    DAYS_SHORT[tm.wday as usize]
                };
                let s = match key {
                    DAY | DY => name.to_ascii_uppercase(),
                    day | dy => name.to_ascii_lowercase(),
                    _ => name.to_string(),
                };
                if full && !fm && !tmode {
                    out.push_str(&format!("{s:<9}"));
                } else {
                    out.push_str(&s);
                }
            }
            DDD | IDDD => {
                let v = if key == DDD {
                    tm.yday
                } else {
                    date2isoyearday(tm.year, tm.mon, tm.mday)
                };
                num = Some(zpad(v, if fm { 0 } else { 3 }));
            }
            DD => num = Some(zpad(tm.mday, if fm { 0 } else { 2 })),
            D => {
                iv_check()?;
                num = Some((tm.wday + 1).to_string());
            }
            ID => {
                iv_check()?;
                num = Some((if tm.wday == 0 { 7 } else { tm.wday }).to_string());
            }
            WW => num = Some(zpad((tm.yday - 1) / 7 + 1, if fm { 0 } else { 2 })),
            IW => {
                let v = date2isoweek(tm.year, tm.mon, tm.mday);
                num = Some(zpad(v, if fm { 0 } else { 2 }));
            }
            Q => {
                if tm.mon == 0 {
                    continue;
                }
                num = Some(((tm.mon - 1) / 3 + 1).to_string());
            }
            CC => {
                let i = if tm.is_interval {
                    tm.year / 100
                } else if tm.year > 0 {
                    (tm.year - 1) / 100 + 1
                } else {
                    tm.year / 100 - 1
                };
                num = Some(if (-99..=99).contains(&i) {
                    zpad(i, w2(i))
                } else {
                    i.to_string()
                });
            }
            YCommaYYY => {
                let y = adjust_year(tm.year);
                let i = y / 1000;
                num = Some(format!("{},{:03}", i, y - i * 1000));
            }
            YYYY | IYYY | YYY | IYY | YY | IY | Y | I => {
                let y = if matches!(key, YYYY | YYY | YY | Y) {
                    adjust_year(tm.year)
                } else {
                    adjust_year(date2isoyear(tm.year, tm.mon, tm.mday))
                };
                // The width follows the calendar year even for ISO years.
                let width_year = adjust_year(tm.year);
                let (w, v) = match key {
                    YYYY | IYYY => (4, y),
                    YYY | IYY => (3, y % 1000),
                    YY | IY => (2, y % 100),
                    _ => (1, y % 10),
                };
                let width = if fm || w == 1 {
                    if w == 1 {
                        1
                    } else {
                        0
                    }
                } else if width_year >= 0 {
                    w
                } else {
                    w + 1
                };
                num = Some(zpad(v, width));
            }
            RM | rm => {
                if tm.mon == 0 && tm.year == 0 {
                    continue;
                }
                let idx = if tm.mon == 0 {
                    if tm.year >= 0 {
                        0
                    } else {
                        11
                    }
                } else if tm.mon < 0 {
                    -(tm.mon + 1)
                } else {
                    12 - tm.mon
                } as usize;
                let s = if key == RM {
                    RM_UPPER[idx.min(11)]
                } else {
                    RM_LOWER[idx.min(11)]
                };
                if fm {
                    out.push_str(s);
                } else {
                    out.push_str(&format!("{s:<4}"));
                }
            }
            W => num = Some(((tm.mday - 1) / 7 + 1).to_string()),
            J => num = Some(date2j_any(tm.year, tm.mon, tm.mday).to_string()),
            FX => {}
        }
        if let Some(s) = num {
            out.push_str(&s);
            if suffix & (S_TH | S_TH_LOWER) != 0 {
                out.push_str(ordinal(&s, suffix & S_TH != 0)?);
            }
        }
    }
    Ok(out)
}

/// to_char(timestamp / timestamptz, text); None for infinities (NULL).
/// `with_tz` takes the value through the session zone and prints its
/// abbreviation for TZ.
pub(crate) fn timestamp_to_char(
    us: i64,
    with_tz: bool,
    fmt: &str,
) -> Result<Option<String>, PgError> {
    if fmt.is_empty() || us == i64::MIN || us == i64::MAX {
        return Ok(None);
    }
    let tm = if with_tz {
        let (local, off, abbrev) = local_of_timestamptz(us);
        tm_of_timestamp(local, Some((off, abbrev)))
    } else {
        tm_of_timestamp(us, None)
    };
    let nodes = parse_template(fmt, DCH_KEYWORDS, true);
    dch_to_char(&nodes, &tm).map(Some)
}

/// to_char(interval, text).
pub(crate) fn interval_to_char(iv: &Interval, fmt: &str) -> Result<Option<String>, PgError> {
    if fmt.is_empty() {
        return Ok(None);
    }
    let year = iv.months as i64 / 12;
    let mon = iv.months as i64 % 12;
    let t = iv.micros;
    let tm = Tm {
        year,
        mon,
        mday: iv.days as i64,
        hour: t / 3_600_000_000,
        min: t / 60_000_000 % 60,
        sec: t / 1_000_000 % 60,
        fsec: t % 1_000_000,
        wday: 0,
        yday: (year * 12 + mon) * 30 + iv.days as i64,
        gmtoff: 0,
        tzn: None,
        is_interval: true,
    };
    let nodes = parse_template(fmt, DCH_KEYWORDS, true);
    dch_to_char(&nodes, &tm).map(Some)
}

// ---------------------------------------------------------------------
// Date/time input: to_timestamp / to_date
// ---------------------------------------------------------------------

#[derive(Default)]
struct FromChar {
    mode_gregorian: bool,
    mode_iso: bool,
    hh: i64,
    pm: i64,
    mi: i64,
    ss: i64,
    ssss: i64,
    d: i64,
    dd: i64,
    ddd: i64,
    mm: i64,
    ms: i64,
    year: i64,
    bc: i64,
    ww: i64,
    w: i64,
    cc: i64,
    j: i64,
    us: i64,
    yysz: i64,
    clock12: bool,
    tzsign: i64,
    tzh: i64,
    tzm: i64,
    ff: i64,
}

fn dt_format_error(msg: String) -> PgError {
    PgError::error(sqlstate::INVALID_DATETIME_FORMAT, msg)
}

fn field_overflow(input: &str) -> PgError {
    PgError::error(
        sqlstate::DATETIME_FIELD_OVERFLOW,
        format!("date/time field value out of range: \"{input}\""),
    )
}

fn set_int(dest: &mut i64, value: i64, name: &str) -> Result<(), PgError> {
    if *dest != 0 && *dest != value {
        return Err(dt_format_error(format!(
            "conflicting values for \"{name}\" field in formatting string"
        ))
        .with_detail("This value contradicts a previous setting for the same field type."));
    }
    *dest = value;
    Ok(())
}

/// C's strtol over `s`: (value, bytes used, overflowed); used is 0 when
/// no digits were found.
fn strtol(s: &[u8]) -> (i64, usize, bool) {
    let mut i = 0;
    while i < s.len() && (s[i] == b' ' || (b'\t'..=b'\r').contains(&s[i])) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut v: i128 = 0;
    let mut over = false;
    while i < s.len() && s[i].is_ascii_digit() {
        v = v * 10 + (s[i] - b'0') as i128;
        if v > i64::MAX as i128 + 1 {
            over = true;
            v = i64::MAX as i128 + 1;
        }
        i += 1;
    }
    if i == start {
        return (0, 0, false);
    }
    let v = if neg { -v } else { v };
    if v > i64::MAX as i128 {
        return (i64::MAX, i, true);
    }
    (v as i64, i, over)
}

fn is_sep_char(c: u8) -> bool {
    c > 0x20 && c < 0x7f && !c.is_ascii_alphanumeric()
}

fn is_next_separator(nodes: &[Node<Dk>], idx: usize) -> bool {
    if let Node::Action { suffix, .. } = &nodes[idx] {
        if suffix & (S_TH | S_TH_LOWER) != 0 {
            return true;
        }
    }
    match nodes.get(idx + 1) {
        None => true,
        Some(Node::Action { key, .. }) => !dk_is_digit(*key),
        Some(Node::Text { s, .. }) => !(s.len() == 1 && s.as_bytes()[0].is_ascii_digit()),
    }
}

struct Reader<'a> {
    s: &'a [u8],
    p: usize,
}

impl Reader<'_> {
    fn at_end(&self) -> bool {
        self.p >= self.s.len()
    }
    fn peek(&self) -> u8 {
        self.s.get(self.p).copied().unwrap_or(0)
    }
    fn rest(&self) -> &[u8] {
        &self.s[self.p.min(self.s.len())..]
    }
    fn skip_char(&mut self) {
        if let Some(c) = std::str::from_utf8(self.rest())
            .ok()
            .and_then(|r| r.chars().next())
        {
            self.p += c.len_utf8();
        } else {
            self.p += 1;
        }
    }
    fn rest_str(&self) -> String {
        String::from_utf8_lossy(self.rest()).into_owned()
    }
}

/// Read an integer field of width `len` (all available digits in FM
/// mode or before a non-digit field); returns the characters used.
fn parse_int_len(
    r: &mut Reader,
    dest: Option<&mut i64>,
    len: usize,
    nodes: &[Node<Dk>],
    idx: usize,
) -> Result<usize, PgError> {
    let (name, suffix) = match &nodes[idx] {
        Node::Action { name, suffix, .. } => (*name, *suffix),
        _ => ("", 0),
    };
    let init = r.p;
    while r.peek().is_ascii_whitespace() && !r.at_end() {
        r.p += 1;
    }
    let avail = r.rest();
    let copy_len = avail.len().min(len);
    let copy = String::from_utf8_lossy(&avail[..copy_len]).into_owned();
    let (value, over);
    if suffix & S_FM != 0 || is_next_separator(nodes, idx) {
        let (v, used, o) = strtol(&r.s[init..]);
        value = v;
        over = o;
        r.p = if used == 0 { init } else { init + used };
    } else {
        if copy_len < len {
            return Err(dt_format_error(format!(
                "source string too short for \"{name}\" formatting field"
            ))
            .with_detail(format!(
                "Field requires {len} characters, but only {copy_len} remain."
            ))
            .with_hint(
                "If your source string is not fixed-width, try using the \"FM\" modifier.",
            ));
        }
        let (v, used, o) = strtol(&avail[..copy_len]);
        if used > 0 && used < len {
            return Err(
                dt_format_error(format!("invalid value \"{copy}\" for \"{name}\""))
                    .with_detail(format!(
                        "Field requires {len} characters, but only {used} could be parsed."
                    ))
                    .with_hint(
                        "If your source string is not fixed-width, try using the \"FM\" modifier.",
                    ),
            );
        }
        value = v;
        over = o;
        r.p += used;
    }
    if r.p == init {
        return Err(
            dt_format_error(format!("invalid value \"{copy}\" for \"{name}\""))
                .with_detail("Value must be an integer."),
        );
    }
    if over || value < i32::MIN as i64 || value > i32::MAX as i64 {
        return Err(PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            format!("value for \"{name}\" in source string is out of range"),
        )
        .with_detail("Value must be in the range -2147483648 to 2147483647."));
    }
    if let Some(d) = dest {
        set_int(d, value, name)?;
    }
    Ok(r.p - init)
}

/// Case-insensitive search of `list` for a prefix of the input; the
/// index of the match.
fn seq_search(r: &mut Reader, list: &[&str], name: &str) -> Result<usize, PgError> {
    let rest = r.rest();
    for (i, cand) in list.iter().enumerate() {
        let c = cand.as_bytes();
        if rest.len() >= c.len() && rest[..c.len()].eq_ignore_ascii_case(c) {
            r.p += c.len();
            return Ok(i);
        }
    }
    let s = r.rest_str();
    let word: String = s.chars().take_while(|c| !c.is_ascii_whitespace()).collect();
    Err(
        dt_format_error(format!("invalid value \"{word}\" for \"{name}\""))
            .with_detail("The given value did not match any of the allowed values for this field."),
    )
}

fn skip_th(r: &mut Reader, suffix: u8) {
    if suffix & (S_TH | S_TH_LOWER) != 0 {
        for _ in 0..2 {
            if !r.at_end() {
                r.skip_char();
            }
        }
    }
}

thread_local! {
    /// Standard mode (jsonpath's `.datetime(template)`, PostgreSQL's
    /// `std`): fixed-width reading, separators and literal characters
    /// must match, and the input must end where the template does.
    static STD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn dch_from_char(nodes: &[Node<Dk>], input: &str) -> Result<FromChar, PgError> {
    let mut out = FromChar::default();
    let mut r = Reader {
        s: input.as_bytes(),
        p: 0,
    };
    let std_mode = STD.with(|c| c.get());
    let mut fx = std_mode;
    let mut extra_skip: i64 = 0;
    let mut stopped_at = nodes.len();
    for (idx, n) in nodes.iter().enumerate() {
        if r.at_end() {
            stopped_at = idx;
            break;
        }
        if let (true, Node::Text { s, kind }) = (std_mode, n) {
            if !r.rest().starts_with(s.as_bytes()) {
                let what = if *kind == CharKind::Char {
                    "character"
                } else {
                    "separator"
                };
                return Err(dt_format_error(format!("unmatched format {what} \"{s}\"")));
            }
            r.p += s.len();
            continue;
        }
        let is_fx = matches!(n, Node::Action { key: Dk::FX, .. });
        if !fx && !is_fx && (matches!(n, Node::Action { .. }) || idx == 0) {
            while !r.at_end() && r.peek().is_ascii_whitespace() {
                r.p += 1;
                extra_skip += 1;
            }
        }
        let (key, name, suffix) = match n {
            Node::Text { kind, .. } if *kind != CharKind::Char => {
                if !fx {
                    extra_skip -= 1;
                    let c = r.peek();
                    if !r.at_end() && (c.is_ascii_whitespace() || is_sep_char(c)) {
                        r.p += 1;
                        extra_skip += 1;
                    }
                } else if !r.at_end() {
                    r.skip_char();
                }
                continue;
            }
            Node::Text { .. } => {
                if !fx && extra_skip > 0 {
                    extra_skip -= 1;
                } else if !r.at_end() {
                    r.skip_char();
                }
                continue;
            }
            Node::Action { key, name, suffix } => (*key, *name, *suffix),
        };
        match dk_mode(key) {
            DateMode::None => {}
            m => {
                let iso = m == DateMode::IsoWeek;
                if (iso && out.mode_gregorian) || (!iso && out.mode_iso) {
                    return Err(dt_format_error(
                        "invalid combination of date conventions".into(),
                    )
                    .with_hint(
                        "Do not mix Gregorian and ISO week date conventions in a formatting template.",
                    ));
                }
                if iso {
                    out.mode_iso = true;
                } else {
                    out.mode_gregorian = true;
                }
            }
        }
        use Dk::*;
        let klen = name.len();
        match key {
            FX => fx = true,
            AMp | PMp | amp | pmp => {
                let v = seq_search(&mut r, &["a.m.", "p.m.", "A.M.", "P.M."], name)? as i64;
                set_int(&mut out.pm, v % 2, name)?;
                out.clock12 = true;
            }
            AM | PM | am | pm => {
                let v = seq_search(&mut r, &["am", "pm", "AM", "PM"], name)? as i64;
                set_int(&mut out.pm, v % 2, name)?;
                out.clock12 = true;
            }
            HH | HH12 => {
                parse_int_len(&mut r, Some(&mut out.hh), 2, nodes, idx)?;
                out.clock12 = true;
                skip_th(&mut r, suffix);
            }
            HH24 => {
                parse_int_len(&mut r, Some(&mut out.hh), 2, nodes, idx)?;
                skip_th(&mut r, suffix);
            }
            MI => {
                parse_int_len(&mut r, Some(&mut out.mi), klen, nodes, idx)?;
                skip_th(&mut r, suffix);
            }
            SS => {
                parse_int_len(&mut r, Some(&mut out.ss), klen, nodes, idx)?;
                skip_th(&mut r, suffix);
            }
            MS => {
                let len = parse_int_len(&mut r, Some(&mut out.ms), 3, nodes, idx)?;
                out.ms *= match len {
                    1 => 100,
                    2 => 10,
                    _ => 1,
                };
                skip_th(&mut r, suffix);
            }
            FF(_) | US => {
                let width = if let FF(d) = key {
                    out.ff = d as i64;
                    d as usize
                } else {
                    6
                };
                let len = parse_int_len(&mut r, Some(&mut out.us), width, nodes, idx)?;
                out.us *= match len {
                    1 => 100_000,
                    2 => 10_000,
                    3 => 1000,
                    4 => 100,
                    5 => 10,
                    _ => 1,
                };
                skip_th(&mut r, suffix);
            }
            SSSS => {
                parse_int_len(&mut r, Some(&mut out.ssss), klen, nodes, idx)?;
                skip_th(&mut r, suffix);
            }
            tz | TZ | OF => {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("formatting field \"{name}\" is only supported in to_char"),
                ));
            }
            TZH => {
                let c = r.peek();
                if c == b'+' || c == b'-' || c == b' ' {
                    out.tzsign = if c == b'-' { -1 } else { 1 };
                    r.p += 1;
                } else if extra_skip > 0 && r.p > 0 && r.s[r.p - 1] == b'-' {
                    out.tzsign = -1;
                } else {
                    out.tzsign = 1;
                }
                parse_int_len(&mut r, Some(&mut out.tzh), 2, nodes, idx)?;
            }
            TZM => {
                if out.tzsign == 0 {
                    out.tzsign = 1;
                }
                parse_int_len(&mut r, Some(&mut out.tzm), 2, nodes, idx)?;
            }
            ADp | BCp | adp | bcp => {
                let v = seq_search(&mut r, &["a.d.", "b.c.", "A.D.", "B.C."], name)? as i64;
                set_int(&mut out.bc, v % 2, name)?;
            }
            AD | BC | ad | bc => {
                let v = seq_search(&mut r, &["ad", "bc", "AD", "BC"], name)? as i64;
                set_int(&mut out.bc, v % 2, name)?;
            }
            MONTH | Month | month => {
                let v = seq_search(&mut r, &MONTHS_FULL, name)? as i64;
                set_int(&mut out.mm, v + 1, name)?;
            }
            MON | Mon | mon => {
                let v = seq_search(&mut r, &MONTHS, name)? as i64;
                set_int(&mut out.mm, v + 1, name)?;
            }
            MM => {
                parse_int_len(&mut r, Some(&mut out.mm), klen, nodes, idx)?;
                skip_th(&mut r, suffix);
            }
            DAY | Day | day => {
                let v = seq_search(&mut r, &DAYS, name)? as i64;
                set_int(&mut out.d, v, name)?;
                out.d += 1;
            }
            DY | Dy | dy => {
                let v = seq_search(&mut r, &DAYS_SHORT, name)? as i64;
                set_int(&mut out.d, v, name)?;
                out.d += 1;
            }
            DDD => {
                parse_int_len(&mut r, Some(&mut out.ddd), klen, nodes, idx)?;
                skip_th(&mut r, suffix);
            }
            IDDD => {
                parse_int_len(&mut r, Some(&mut out.ddd), 3, nodes, idx)?;
                skip_th(&mut r, suffix);
            }
            DD => {
                parse_int_len(&mut r, Some(&mut out.dd), klen, nodes, idx)?;
                skip_th(&mut r, suffix);
            }
            D => {
                parse_int_len(&mut r, Some(&mut out.d), klen, nodes, idx)?;
                skip_th(&mut r, suffix);
            }
            ID => {
                parse_int_len(&mut r, Some(&mut out.d), 1, nodes, idx)?;
                out.d += 1;
                if out.d > 7 {
                    out.d = 1;
                }
                skip_th(&mut r, suffix);
            }
            WW | IW => {
                parse_int_len(&mut r, Some(&mut out.ww), klen, nodes, idx)?;
                skip_th(&mut r, suffix);
            }
            Q => {
                parse_int_len(&mut r, None, klen, nodes, idx)?;
                skip_th(&mut r, suffix);
            }
            CC => {
                parse_int_len(&mut r, Some(&mut out.cc), klen, nodes, idx)?;
                skip_th(&mut r, suffix);
            }
            YCommaYYY => {
                // sscanf("%d,%03d"): an integer, a comma, up to 3 digits.
                let rest = r.rest();
                let (mil, used, _) = strtol(rest);
                let bad = || dt_format_error("invalid input string for \"Y,YYY\"".into());
                if used == 0 || rest.get(used) != Some(&b',') {
                    return Err(bad());
                }
                let tail = &rest[used + 1..];
                let mut k = 0;
                while k < 3 && k < tail.len() && tail[k].is_ascii_digit() {
                    k += 1;
                }
                if k == 0 {
                    return Err(bad());
                }
                let yrs: i64 = std::str::from_utf8(&tail[..k])
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                // sscanf's %d and PostgreSQL 15's sum wrap at 32 bits.
                let years = (mil as i32).wrapping_mul(1000).wrapping_add(yrs as i32) as i64;
                set_int(&mut out.year, years, name)?;
                out.yysz = 4;
                r.p += used + 1 + k;
                skip_th(&mut r, suffix);
            }
            YYYY | IYYY => {
                parse_int_len(&mut r, Some(&mut out.year), klen, nodes, idx)?;
                out.yysz = 4;
                skip_th(&mut r, suffix);
            }
            YYY | IYY | YY | IY | Y | I => {
                let len = parse_int_len(&mut r, Some(&mut out.year), klen, nodes, idx)?;
                if len < 4 {
                    out.year = adjust_partial_year(out.year);
                }
                out.yysz = klen as i64;
                skip_th(&mut r, suffix);
            }
            RM | rm => {
                let v = seq_search(&mut r, &RM_LOWER, name)? as i64;
                set_int(&mut out.mm, 12 - v, name)?;
            }
            W => {
                parse_int_len(&mut r, Some(&mut out.w), klen, nodes, idx)?;
                skip_th(&mut r, suffix);
            }
            J => {
                parse_int_len(&mut r, Some(&mut out.j), klen, nodes, idx)?;
                skip_th(&mut r, suffix);
            }
        }
        if !fx {
            extra_skip = 0;
            while !r.at_end() && r.peek().is_ascii_whitespace() {
                r.p += 1;
                extra_skip += 1;
            }
        }
    }
    if std_mode {
        if stopped_at < nodes.len() {
            return Err(dt_format_error(
                "input string is too short for datetime format".into(),
            ));
        }
        while !r.at_end() && r.peek().is_ascii_whitespace() {
            r.p += 1;
        }
        if !r.at_end() {
            return Err(dt_format_error(
                "trailing characters remain in input string after datetime format".into(),
            ));
        }
    }
    Ok(out)
}

/// Two- and three-digit years move toward 2020 (70 → 1970, 69 → 2069).
fn adjust_partial_year(y: i64) -> i64 {
    if y < 70 {
        y + 2000
    } else if y < 100 {
        y + 1900
    } else if y < 520 {
        y + 2000
    } else if y < 1000 {
        y + 1000
    } else {
        y
    }
}

/// The parsed fields of a to_timestamp/to_date input.
struct Parsed {
    year: i64,
    mon: i64,
    mday: i64,
    hour: i64,
    min: i64,
    sec: i64,
    fsec: i64,
    /// Seconds to add to local time to get UTC, when the input named one.
    gmtoffset: Option<i64>,
    fprec: i64,
}

fn do_to_timestamp(input: &str, fmt: &str) -> Result<Parsed, PgError> {
    let f = if fmt.is_empty() {
        FromChar::default()
    } else {
        let nodes = parse_template(fmt, DCH_KEYWORDS, true);
        dch_from_char(&nodes, input)?
    };
    let mut f = f;
    let (mut year, mut mon, mut mday, mut hour, mut min, mut sec) = (0i64, 1i64, 1i64, 0, 0, 0);
    let mut fsec = 0i64;
    let (mut has_year, mut has_mon, mut has_day) = (false, false, false);
    if f.ssss != 0 {
        hour = f.ssss / 3600;
        min = f.ssss % 3600 / 60;
        sec = f.ssss % 60;
    }
    if f.ss != 0 {
        sec = f.ss;
    }
    if f.mi != 0 {
        min = f.mi;
    }
    if f.hh != 0 {
        hour = f.hh;
    }
    if f.clock12 {
        if !(1..=12).contains(&hour) {
            return Err(dt_format_error(format!(
                "hour \"{hour}\" is invalid for the 12-hour clock"
            ))
            .with_hint("Use the 24-hour clock, or give an hour between 1 and 12."));
        }
        if f.pm != 0 && hour < 12 {
            hour += 12;
        } else if f.pm == 0 && hour == 12 {
            hour = 0;
        }
    }
    if f.year != 0 {
        if f.cc != 0 && f.yysz <= 2 {
            if f.bc != 0 {
                f.cc = -f.cc;
            }
            // PostgreSQL 15 does this in wrapping 32-bit arithmetic.
            let cc = f.cc as i32;
            let y = (f.year % 100) as i32;
            year = if y != 0 {
                if cc >= 0 {
                    y.wrapping_add(cc.wrapping_sub(1).wrapping_mul(100))
                } else {
                    cc.wrapping_add(1)
                        .wrapping_mul(100)
                        .wrapping_sub(y)
                        .wrapping_add(1)
                }
            } else {
                cc.wrapping_mul(100)
                    .wrapping_add(if cc >= 0 { 0 } else { 1 })
            } as i64;
        } else {
            year = f.year;
            if f.bc != 0 {
                year = -year;
            }
            if year < 0 {
                year += 1;
            }
        }
        has_year = true;
    } else if f.cc != 0 {
        if f.bc != 0 {
            f.cc = -f.cc;
        }
        let cc = f.cc as i32;
        year = if cc >= 0 {
            cc.wrapping_sub(1).wrapping_mul(100).wrapping_add(1)
        } else {
            cc.wrapping_mul(100).wrapping_add(1)
        } as i64;
        has_year = true;
    }
    if f.j != 0 {
        let (y, m, d) = j2date(f.j);
        year = y;
        mon = m as i64;
        mday = d as i64;
        has_year = true;
        has_mon = true;
        has_day = true;
    }
    if f.ww != 0 {
        if f.mode_iso {
            let j = if f.d != 0 {
                let base = isoweek2j(year, f.ww);
                if f.d > 1 {
                    base + f.d - 2
                } else {
                    base + 6
                }
            } else {
                isoweek2j(year, f.ww)
            };
            let (y, m, d) = j2date(j);
            year = y;
            mon = m as i64;
            mday = d as i64;
            has_year = true;
            has_mon = true;
            has_day = true;
        } else {
            f.ddd = (f.ww as i32)
                .wrapping_sub(1)
                .wrapping_mul(7)
                .wrapping_add(1) as i64;
        }
    }
    if f.w != 0 {
        f.dd = (f.w as i32).wrapping_sub(1).wrapping_mul(7).wrapping_add(1) as i64;
    }
    if f.dd != 0 {
        mday = f.dd;
        has_day = true;
    }
    if f.mm != 0 {
        mon = f.mm;
        has_mon = true;
    }
    if f.ddd != 0 && (mon <= 1 || mday <= 1) {
        if year == 0 && f.bc == 0 {
            return Err(dt_format_error(
                "cannot calculate day of year without year information".into(),
            ));
        }
        if f.mode_iso {
            let j0 = isoweek2j(year, 1) - 1;
            let (y, m, d) = j2date(j0 + f.ddd);
            year = y;
            mon = m as i64;
            mday = d as i64;
            has_year = true;
            has_mon = true;
            has_day = true;
        } else {
            let leap = is_leap(year);
            let mut cum = [0i64; 13];
            for m in 1..=12 {
                cum[m] = cum[m - 1] + days_in_month(if leap { 2000 } else { 2001 }, m as i64);
            }
            let mut i = 1;
            while i <= 12 && f.ddd > cum[i] {
                i += 1;
            }
            let i = i.min(12);
            if mon <= 1 {
                mon = i as i64;
            }
            if mday <= 1 {
                mday = f.ddd - cum[i - 1];
            }
            has_mon = true;
            has_day = true;
        }
    }
    let mut fs32 = 0i32;
    if f.ms != 0 {
        fs32 = fs32.wrapping_add((f.ms as i32).wrapping_mul(1000));
    }
    if f.us != 0 {
        fs32 = fs32.wrapping_add(f.us as i32);
    }
    fsec += fs32 as i64;
    if has_year || has_mon || has_day {
        let bad_mon = has_mon && !(1..=12).contains(&mon);
        let bad_day = has_day && !(1..=31).contains(&mday);
        let bad_dim = has_year && has_mon && has_day && !bad_mon && mday > days_in_month(year, mon);
        if bad_mon || bad_day || bad_dim {
            return Err(field_overflow(input));
        }
    }
    if !(0..24).contains(&hour)
        || !(0..60).contains(&min)
        || !(0..60).contains(&sec)
        || !(0..1_000_000).contains(&fsec)
    {
        return Err(field_overflow(input));
    }
    let gmtoffset = if f.tzsign != 0 {
        if f.tzh < 0 || f.tzh > 15 || f.tzm < 0 || f.tzm >= 60 {
            return Err(PgError::error(
                sqlstate::INVALID_TIME_ZONE_DISPLACEMENT_VALUE,
                format!("time zone displacement out of range: \"{input}\""),
            ));
        }
        let off = (f.tzh * 60 + f.tzm) * 60;
        Some(if f.tzsign > 0 { -off } else { off })
    } else {
        None
    };
    Ok(Parsed {
        year,
        mon,
        mday,
        hour,
        min,
        sec,
        fsec,
        gmtoffset,
        fprec: f.ff,
    })
}

/// PostgreSQL's IS_VALID_JULIAN: from 4714-11-24 BC to 5874898-06-03.
fn valid_julian(y: i64, m: i64, d: i64) -> bool {
    (y > -4713 || (y == -4713 && (m > 11 || (m == 11 && d >= 24))))
        && (y < 5_874_898 || (y == 5_874_898 && m < 6))
}

/// to_timestamp(text, text): microseconds since 2000-01-01 UTC.
pub(crate) fn to_timestamp(input: &str, fmt: &str) -> Result<i64, PgError> {
    let p = do_to_timestamp(input, fmt)?;
    let out_of_range =
        || PgError::error(sqlstate::DATETIME_FIELD_OVERFLOW, "timestamp out of range");
    if !valid_julian(p.year, p.mon, p.mday) {
        return Err(out_of_range());
    }
    // A zone in the input is seconds west of UTC; without one the time
    // is local to the session zone (converted below, once in range).
    let tz = p.gmtoffset.unwrap_or(0);
    let days = date2j(p.year, p.mon as u32, p.mday as u32) - date2j(2000, 1, 1);
    let t = days as i128 * USECS_PER_DAY as i128
        + ((p.hour * 60 + p.min) * 60 + p.sec) as i128 * 1_000_000
        + p.fsec as i128
        + tz as i128 * 1_000_000;
    if t < MIN_TS as i128 || t >= MAX_TS as i128 {
        return Err(out_of_range());
    }
    let mut t = t as i64;
    if p.gmtoffset.is_none() {
        t = tusk_types::tz::local_to_utc(&tusk_types::tz::session_zone(), t);
    }
    if p.fprec > 0 && p.fprec < 6 {
        let unit = 10i64.pow(6 - p.fprec as u32);
        let r = t.rem_euclid(unit);
        t -= r;
        if r * 2 >= unit {
            t += unit;
        }
    }
    Ok(t)
}

/// to_date(text, text): days since 2000-01-01.
pub(crate) fn to_date(input: &str, fmt: &str) -> Result<i32, PgError> {
    let p = do_to_timestamp(input, fmt)?;
    let out_of_range = || {
        PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            format!("date out of range: \"{input}\""),
        )
    };
    if !valid_julian(p.year, p.mon, p.mday) {
        return Err(out_of_range());
    }
    let d = date2j(p.year, p.mon as u32, p.mday as u32) - date2j(2000, 1, 1);
    // PostgreSQL's date range ends at 5874897-12-31.
    if !(-2_451_545..=2_145_031_948).contains(&d) {
        return Err(out_of_range());
    }
    Ok(d as i32)
}

/// The fields a jsonpath `.datetime(template)` reads from `input` with
/// to_timestamp's template rules: (days since 2000-01-01, microseconds
/// since midnight, the zone's seconds east of UTC if the input had one).
pub(crate) fn datetime_fields(input: &str, fmt: &str) -> Result<(i64, i64, Option<i32>), PgError> {
    STD.with(|c| c.set(true));
    let p = do_to_timestamp(input, fmt);
    STD.with(|c| c.set(false));
    let p = p?;
    if !valid_julian(p.year, p.mon, p.mday) {
        return Err(PgError::error(
            sqlstate::DATETIME_FIELD_OVERFLOW,
            "timestamp out of range",
        ));
    }
    let days = date2j(p.year, p.mon as u32, p.mday as u32) - date2j(2000, 1, 1);
    let tod = ((p.hour * 60 + p.min) * 60 + p.sec) * 1_000_000 + p.fsec;
    Ok((days, tod, p.gmtoffset.map(|w| -w as i32)))
}

/// Days since 2000-01-01 of a civil date (jsonpath's ISO recognizer).
pub(crate) fn days_of(y: i64, m: u32, d: u32) -> i64 {
    date2j(y, m, d) - date2j(2000, 1, 1)
}

// ---------------------------------------------------------------------
// Number templates
// ---------------------------------------------------------------------

#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nk {
    Comma,
    Dec,
    Zero,
    Nine,
    B,
    C,
    D,
    E,
    FM,
    G,
    L,
    MI,
    PL,
    PR,
    RN,
    SG,
    SP,
    S,
    TH,
    V,
    rn,
    th,
}

const NUM_KEYWORDS: &[(&str, Nk)] = &[
    (",", Nk::Comma),
    (".", Nk::Dec),
    ("0", Nk::Zero),
    ("9", Nk::Nine),
    ("B", Nk::B),
    ("C", Nk::C),
    ("D", Nk::D),
    ("EEEE", Nk::E),
    ("FM", Nk::FM),
    ("G", Nk::G),
    ("L", Nk::L),
    ("MI", Nk::MI),
    ("PL", Nk::PL),
    ("PR", Nk::PR),
    ("RN", Nk::RN),
    ("SG", Nk::SG),
    ("SP", Nk::SP),
    ("S", Nk::S),
    ("TH", Nk::TH),
    ("V", Nk::V),
    ("b", Nk::B),
    ("c", Nk::C),
    ("d", Nk::D),
    ("eeee", Nk::E),
    ("fm", Nk::FM),
    ("g", Nk::G),
    ("l", Nk::L),
    ("mi", Nk::MI),
    ("pl", Nk::PL),
    ("pr", Nk::PR),
    ("rn", Nk::rn),
    ("sg", Nk::SG),
    ("sp", Nk::SP),
    ("s", Nk::S),
    ("th", Nk::th),
    ("v", Nk::V),
];

const F_DECIMAL: u32 = 0x01;
const F_LDECIMAL: u32 = 0x02;
const F_ZERO: u32 = 0x04;
const F_BLANK: u32 = 0x08;
const F_FILLMODE: u32 = 0x10;
const F_LSIGN: u32 = 0x20;
const F_BRACKET: u32 = 0x40;
const F_MINUS: u32 = 0x80;
const F_PLUS: u32 = 0x100;
const F_ROMAN: u32 = 0x200;
const F_MULTI: u32 = 0x400;
const F_EEEE: u32 = 0x800;

const LSIGN_PRE: i32 = -1;
const LSIGN_POST: i32 = 1;

/// What a number template asks for, gathered while parsing it.
#[derive(Debug, Clone, Default)]
struct NumDesc {
    pre: i64,
    post: i64,
    lsign: i32,
    flag: u32,
    pre_lsign_num: i64,
    multi: i64,
    zero_start: i64,
    zero_end: i64,
}

impl NumDesc {
    fn has(&self, f: u32) -> bool {
        self.flag & f != 0
    }
}

fn num_syntax(msg: &str) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

fn parse_num_template(fmt: &str) -> Result<(Vec<Node<Nk>>, NumDesc), PgError> {
    let nodes = parse_template(fmt, NUM_KEYWORDS, false);
    let mut d = NumDesc::default();
    for n in &nodes {
        let Node::Action { key, .. } = n else {
            continue;
        };
        if d.has(F_EEEE) && *key != Nk::E {
            return Err(num_syntax("\"EEEE\" must be the last pattern used"));
        }
        match key {
            Nk::Nine => {
                if d.has(F_BRACKET) {
                    return Err(num_syntax("\"9\" must be ahead of \"PR\""));
                }
                if d.has(F_MULTI) {
                    d.multi += 1;
                } else if d.has(F_DECIMAL) {
                    d.post += 1;
                } else {
                    d.pre += 1;
                }
            }
            Nk::Zero => {
                if d.has(F_BRACKET) {
                    return Err(num_syntax("\"0\" must be ahead of \"PR\""));
                }
                if !d.has(F_ZERO) && !d.has(F_DECIMAL) {
                    d.flag |= F_ZERO;
                    d.zero_start = d.pre + 1;
                }
                if !d.has(F_DECIMAL) {
                    d.pre += 1;
                } else {
                    d.post += 1;
                }
                d.zero_end = d.pre + d.post;
            }
            Nk::B if d.pre == 0 && d.post == 0 && !d.has(F_ZERO) => {
                d.flag |= F_BLANK;
            }
            Nk::D | Nk::Dec => {
                if *key == Nk::D {
                    d.flag |= F_LDECIMAL;
                }
                if d.has(F_DECIMAL) {
                    return Err(num_syntax("multiple decimal points"));
                }
                if d.has(F_MULTI) {
                    return Err(num_syntax("cannot use \"V\" and decimal point together"));
                }
                d.flag |= F_DECIMAL;
            }
            Nk::FM => d.flag |= F_FILLMODE,
            Nk::S => {
                if d.has(F_LSIGN) {
                    return Err(num_syntax("cannot use \"S\" twice"));
                }
                if d.has(F_PLUS) || d.has(F_MINUS) || d.has(F_BRACKET) {
                    return Err(num_syntax(
                        "cannot use \"S\" and \"PL\"/\"MI\"/\"SG\"/\"PR\" together",
                    ));
                }
                if !d.has(F_DECIMAL) {
                    d.lsign = LSIGN_PRE;
                    d.pre_lsign_num = d.pre;
                    d.flag |= F_LSIGN;
                } else if d.lsign == 0 {
                    d.lsign = LSIGN_POST;
                    d.flag |= F_LSIGN;
                }
            }
            Nk::MI => {
                if d.has(F_LSIGN) {
                    return Err(num_syntax("cannot use \"S\" and \"MI\" together"));
                }
                d.flag |= F_MINUS;
            }
            Nk::PL => {
                if d.has(F_LSIGN) {
                    return Err(num_syntax("cannot use \"S\" and \"PL\" together"));
                }
                d.flag |= F_PLUS;
            }
            Nk::SG => {
                if d.has(F_LSIGN) {
                    return Err(num_syntax("cannot use \"S\" and \"SG\" together"));
                }
                d.flag |= F_MINUS | F_PLUS;
            }
            Nk::PR => {
                if d.has(F_LSIGN) || d.has(F_PLUS) || d.has(F_MINUS) {
                    return Err(num_syntax(
                        "cannot use \"PR\" and \"S\"/\"PL\"/\"MI\"/\"SG\" together",
                    ));
                }
                d.flag |= F_BRACKET;
            }
            Nk::RN | Nk::rn => d.flag |= F_ROMAN,
            Nk::V => {
                if d.has(F_DECIMAL) {
                    return Err(num_syntax("cannot use \"V\" and decimal point together"));
                }
                d.flag |= F_MULTI;
            }
            Nk::E => {
                if d.has(F_EEEE) {
                    return Err(num_syntax("cannot use \"EEEE\" twice"));
                }
                if d.flag
                    & (F_BLANK
                        | F_FILLMODE
                        | F_LSIGN
                        | F_BRACKET
                        | F_MINUS
                        | F_PLUS
                        | F_ROMAN
                        | F_MULTI)
                    != 0
                {
                    return Err(num_syntax("\"EEEE\" is incompatible with other formats")
                        .with_detail(
                        "\"EEEE\" may only be used together with digit and decimal point patterns.",
                    ));
                }
                d.flag |= F_EEEE;
            }
            _ => {}
        }
    }
    Ok((nodes, d))
}

/// The to_char side of the number processor: lays `number` (digits and
/// an optional point, no sign) into the template.
struct NumOut<'a> {
    d: NumDesc,
    number: &'a [u8],
    np: usize,
    out: Vec<u8>,
    sign: u8,
    sign_wrote: bool,
    num_count: i64,
    num_in: bool,
    num_curr: i64,
    out_pre_spaces: i64,
    last_relevant: Option<usize>,
}

impl NumOut<'_> {
    fn cur(&self) -> u8 {
        self.number.get(self.np).copied().unwrap_or(0)
    }

    fn lr_is_point(&self) -> bool {
        self.last_relevant.is_some_and(|i| self.number[i] == b'.')
    }

    fn predec_space(&self) -> bool {
        !self.d.has(F_ZERO)
            && self.np == 0
            && self.number.first() == Some(&b'0')
            && self.d.post != 0
    }

    fn numpart(&mut self, id: Nk) {
        if self.d.has(F_ROMAN) {
            return;
        }
        self.num_in = false;
        if !self.sign_wrote
            && (self.num_curr >= self.out_pre_spaces
                || (self.d.has(F_ZERO) && self.d.zero_start == self.num_curr))
            && (!self.predec_space() || self.lr_is_point())
        {
            if self.d.has(F_LSIGN) {
                if self.d.lsign == LSIGN_PRE {
                    self.out.push(if self.sign == b'-' { b'-' } else { b'+' });
                    self.sign_wrote = true;
                }
            } else if self.d.has(F_BRACKET) {
                self.out.push(if self.sign == b'+' { b' ' } else { b'<' });
                self.sign_wrote = true;
            } else if self.sign == b'+' {
                if !self.d.has(F_FILLMODE) {
                    self.out.push(b' ');
                }
                self.sign_wrote = true;
            } else if self.sign == b'-' {
                self.out.push(b'-');
                self.sign_wrote = true;
            }
        }
        if matches!(id, Nk::Nine | Nk::Zero | Nk::D | Nk::Dec) {
            let fill = self.d.has(F_FILLMODE);
            if self.num_curr < self.out_pre_spaces
                && (self.d.zero_start > self.num_curr || !self.d.has(F_ZERO))
            {
                if !fill {
                    self.out.push(b' ');
                }
            } else if self.d.has(F_ZERO)
                && self.num_curr < self.out_pre_spaces
                && self.d.zero_start <= self.num_curr
            {
                self.out.push(b'0');
                self.num_in = true;
            } else {
                if self.cur() == b'.' {
                    if !self.lr_is_point() || fill {
                        self.out.push(b'.');
                    }
                } else if self.last_relevant.is_some_and(|lr| self.np > lr) && id != Nk::Zero {
                } else if self.predec_space() {
                    if !fill {
                        self.out.push(b' ');
                    } else if self.lr_is_point() {
                        self.out.push(b'0');
                    }
                } else {
                    // Past the end of the digits this writes C's NUL,
                    // which ends the result (see number_to_char).
                    self.out.push(self.cur());
                    self.num_in = true;
                }
                if self.np < self.number.len() {
                    self.np += 1;
                }
            }
            let mut end = self.num_count
                + if self.out_pre_spaces > 0 { 1 } else { 0 }
                + if self.d.has(F_DECIMAL) { 1 } else { 0 };
            if self.last_relevant == Some(self.np) {
                end = self.num_curr;
            }
            if self.num_curr + 1 == end {
                if self.sign_wrote && self.d.has(F_BRACKET) {
                    self.out.push(if self.sign == b'+' { b' ' } else { b'>' });
                } else if self.d.has(F_LSIGN) && self.d.lsign == LSIGN_POST {
                    self.out.push(if self.sign == b'-' { b'-' } else { b'+' });
                }
            }
        }
        self.num_curr += 1;
    }
}

/// Lay out a number: `numstr` is the value's digits (no sign) already
/// rounded to the template, or `#`s on overflow, or a Roman numeral.
fn number_to_char(
    nodes: &[Node<Nk>],
    mut d: NumDesc,
    numstr: &str,
    out_pre_spaces: i64,
    sign: u8,
) -> Result<String, PgError> {
    if d.zero_start > 0 {
        d.zero_start -= 1;
    }
    if d.has(F_EEEE) {
        return Ok(numstr.to_string());
    }
    let mut sign = sign;
    let mut out_pre_spaces = out_pre_spaces;
    if d.has(F_ROMAN) {
        d.lsign = 0;
        d.pre_lsign_num = 0;
        d.post = 0;
        d.pre = 0;
        out_pre_spaces = 0;
        sign = 0;
        d.flag = (d.flag & F_FILLMODE) | F_ROMAN;
    }
    let sign_wrote;
    if d.has(F_PLUS) || d.has(F_MINUS) {
        sign_wrote = !d.has(F_PLUS) || d.has(F_MINUS);
    } else {
        if sign != b'-' && d.has(F_FILLMODE) {
            d.flag &= !F_BRACKET;
        }
        sign_wrote = sign == b'+' && d.has(F_FILLMODE) && !d.has(F_LSIGN);
        if d.lsign == LSIGN_PRE && d.pre == d.pre_lsign_num {
            d.lsign = LSIGN_POST;
        }
    }
    let number = numstr.as_bytes();
    let mut num_count = d.post + d.pre - 1;
    let mut last_relevant = None;
    if d.has(F_FILLMODE) && d.has(F_DECIMAL) {
        if let Some(p) = numstr.find('.') {
            let mut lr = p;
            for (i, c) in number.iter().enumerate().skip(p + 1) {
                if *c != b'0' {
                    lr = i;
                }
            }
            if d.zero_end > out_pre_spaces {
                let last_zero =
                    ((number.len() as i64 - 1).min(d.zero_end - out_pre_spaces)) as usize;
                if lr < last_zero {
                    lr = last_zero;
                }
            }
            last_relevant = Some(lr);
        }
    }
    if !sign_wrote && out_pre_spaces == 0 {
        num_count += 1;
    }
    let mut p = NumOut {
        d,
        number,
        np: 0,
        out: Vec::new(),
        sign,
        sign_wrote,
        num_count,
        num_in: false,
        num_curr: 0,
        out_pre_spaces,
        last_relevant,
    };
    for n in nodes {
        let key = match n {
            Node::Text { s, .. } => {
                p.out.extend_from_slice(s.as_bytes());
                continue;
            }
            Node::Action { key, .. } => *key,
        };
        let fill = p.d.has(F_FILLMODE);
        match key {
            Nk::Nine | Nk::Zero | Nk::Dec | Nk::D => p.numpart(key),
            Nk::Comma | Nk::G => {
                if p.num_in {
                    p.out.push(b',');
                } else if !fill {
                    p.out.push(b' ');
                }
            }
            Nk::L => p.out.push(b' '),
            Nk::RN | Nk::rn => {
                let s = if key == Nk::rn {
                    numstr.to_ascii_lowercase()
                } else {
                    numstr.to_string()
                };
                if fill {
                    p.out.extend_from_slice(s.as_bytes());
                } else {
                    p.out.extend_from_slice(format!("{s:>15}").as_bytes());
                }
            }
            Nk::TH | Nk::th => {
                if p.d.has(F_ROMAN)
                    || number.first() == Some(&b'#')
                    || p.sign == b'-'
                    || p.d.has(F_DECIMAL)
                {
                    continue;
                }
                p.out
                    .extend_from_slice(ordinal(numstr, key == Nk::TH)?.as_bytes());
            }
            Nk::MI => {
                if p.sign == b'-' {
                    p.out.push(b'-');
                } else if !fill {
                    p.out.push(b' ');
                }
            }
            Nk::PL => {
                if p.sign == b'+' {
                    p.out.push(b'+');
                } else if !fill {
                    p.out.push(b' ');
                }
            }
            Nk::SG if p.sign != 0 => {
                p.out.push(p.sign);
            }
            _ => {}
        }
    }
    let mut out = p.out;
    if let Some(z) = out.iter().position(|c| *c == 0) {
        out.truncate(z);
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn hashes(d: &NumDesc) -> String {
    let mut s = "#".repeat((d.pre + d.post + 1) as usize);
    s.replace_range(d.pre as usize..d.pre as usize + 1, ".");
    s
}

/// Split a plain decimal rendering into (sign, digits) and work out the
/// leading blanks or the `#` overflow for the template.
fn finish_plain(
    nodes: &[Node<Nk>],
    d: NumDesc,
    orgnum: &str,
    int_post_pad: bool,
) -> Result<String, PgError> {
    let (sign, digits) = match orgnum.strip_prefix('-') {
        Some(r) => (b'-', r.to_string()),
        None => (b'+', orgnum.to_string()),
    };
    let mut numstr = digits.clone();
    let pre_len = digits.find('.').unwrap_or(digits.len()) as i64;
    if int_post_pad && d.post > 0 {
        numstr.push('.');
        numstr.push_str(&"0".repeat(d.post as usize));
    }
    let mut out_pre_spaces = 0;
    if pre_len < d.pre {
        out_pre_spaces = d.pre - pre_len;
    } else if pre_len > d.pre {
        numstr = hashes(&d);
    }
    number_to_char(nodes, d, &numstr, out_pre_spaces, sign)
}

fn int_to_roman(n: i64) -> String {
    if !(1..=3999).contains(&n) {
        return "#".repeat(15);
    }
    let table = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut n = n;
    let mut s = String::new();
    for (v, r) in table {
        while n >= v {
            s.push_str(r);
            n -= v;
        }
    }
    s
}

/// C's `%+.*e` without the sign for positives replaced: `1.50e+03`.
fn c_exp(v: f64, prec: usize) -> String {
    let s = format!("{:.*e}", prec, v);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i64 = exp.parse().unwrap_or(0);
    let sign = if v.is_sign_negative() { "" } else { "+" };
    format!(
        "{sign}{mant}e{}{:02}",
        if e < 0 { '-' } else { '+' },
        e.abs()
    )
}

fn eeee_overflow(d: &NumDesc) -> String {
    let mut s = "#".repeat((d.pre + d.post + 6) as usize);
    s.replace_range(0..1, " ");
    s.replace_range(d.pre as usize + 1..d.pre as usize + 2, ".");
    s
}

/// Scientific notation of a numeric with `post` fraction digits, the
/// sign only when negative (numeric_out_sci).
fn numeric_sci(v: &Numeric, post: i64) -> Result<String, PgError> {
    if v.is_zero() {
        let frac = if post > 0 {
            format!(".{}", "0".repeat(post as usize))
        } else {
            String::new()
        };
        return Ok(format!("0{frac}e+00"));
    }
    let text = v.abs().to_text();
    let (ip, fp) = text.split_once('.').unwrap_or((&text, ""));
    let digits: String = format!("{ip}{fp}");
    let first = digits.find(|c: char| c != '0').unwrap_or(0);
    let exp = ip.len() as i64 - 1 - first as i64;
    let shifted = |exp: i64| -> Result<Numeric, PgError> {
        let p = Numeric::parse(&format!("1e{}", -exp)).unwrap_or_else(|_| Numeric::zero());
        Ok(v.abs().mul(&p)?.round(post))
    };
    // PostgreSQL 15 keeps the exponent when rounding carries into a new
    // digit (9.995 → 10.00e+00), and so does this.
    let m = shifted(exp)?;
    let sign = if v.is_negative() { "-" } else { "" };
    Ok(format!(
        "{sign}{}e{}{:02}",
        m.to_text(),
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    ))
}

/// to_char(numeric, text).
pub(crate) fn numeric_to_char(v: &Numeric, fmt: &str) -> Result<String, PgError> {
    if fmt.is_empty() {
        return Ok(String::new());
    }
    let (nodes, mut d) = parse_num_template(fmt)?;
    if d.has(F_ROMAN) {
        // PostgreSQL 15 converts through int4, with its errors.
        if v.is_nan() {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "cannot convert NaN to integer",
            ));
        }
        if !v.is_finite() {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "cannot convert infinity to integer",
            ));
        }
        let n = v
            .round(0)
            .to_i64_rounded()
            .filter(|n| i32::try_from(*n).is_ok())
            .ok_or_else(|| tusk_types::cast::int_out_of_range(tusk_types::types::INT4))?;
        return number_to_char(&nodes, d, &int_to_roman(n), 0, 0);
    }
    if d.has(F_EEEE) {
        let s = if !v.is_finite() {
            eeee_overflow(&d)
        } else {
            let o = numeric_sci(v, d.post)?;
            if o.starts_with('-') {
                o
            } else {
                format!(" {o}")
            }
        };
        return number_to_char(&nodes, d, &s, 0, 0);
    }
    let mut val = v.clone();
    if d.has(F_MULTI) {
        let m = Numeric::parse(&format!("1e{}", d.multi)).unwrap_or_else(|_| Numeric::zero());
        val = val.mul(&m)?;
        d.pre += d.multi;
    }
    let orgnum = val.round(d.post).to_text();
    finish_plain(&nodes, d, &orgnum, false)
}

/// to_char(int2/int4/int8, text).
pub(crate) fn int_to_char(v: i64, fmt: &str) -> Result<String, PgError> {
    if fmt.is_empty() {
        return Ok(String::new());
    }
    let (nodes, mut d) = parse_num_template(fmt)?;
    if d.has(F_ROMAN) {
        // PostgreSQL 15 converts int8 to int4 first, with its error.
        if i32::try_from(v).is_err() {
            return Err(tusk_types::cast::int_out_of_range(tusk_types::types::INT4));
        }
        return number_to_char(&nodes, d, &int_to_roman(v), 0, 0);
    }
    if d.has(F_EEEE) {
        let o = numeric_sci(&Numeric::from_i64(v), d.post)?;
        let s = if o.starts_with('-') {
            o
        } else {
            format!(" {o}")
        };
        return number_to_char(&nodes, d, &s, 0, 0);
    }
    let mut val = v as i128;
    if d.has(F_MULTI) {
        val *= 10i128.pow(d.multi.clamp(0, 30) as u32);
        if i64::try_from(val).is_err() {
            return Err(tusk_types::cast::int_out_of_range(tusk_types::types::INT8));
        }
        d.pre += d.multi;
    }
    finish_plain(&nodes, d, &val.to_string(), true)
}

/// to_char(float4/float8, text); `digits` is FLT_DIG or DBL_DIG.
pub(crate) fn float_to_char(v: f64, fmt: &str, digits: i64) -> Result<String, PgError> {
    if fmt.is_empty() {
        return Ok(String::new());
    }
    let (nodes, mut d) = parse_num_template(fmt)?;
    if d.has(F_ROMAN) {
        let r = v.round_ties_even();
        let n = if !r.is_nan() && r >= i32::MIN as f64 && r < -(i32::MIN as f64) {
            r as i64
        } else {
            i32::MAX as i64
        };
        return number_to_char(&nodes, d, &int_to_roman(n), 0, 0);
    }
    if d.has(F_EEEE) {
        let s = if !v.is_finite() {
            eeee_overflow(&d)
        } else {
            let o = c_exp(v, d.post as usize);
            match o.strip_prefix('+') {
                Some(r) => format!(" {r}"),
                None => o,
            }
        };
        return number_to_char(&nodes, d, &s, 0, 0);
    }
    let mut val = v;
    if d.has(F_MULTI) {
        val = v * 10f64.powi(d.multi as i32);
        if digits < 15 {
            val = val as f32 as f64;
        }
        d.pre += d.multi;
    }
    let pre_len = format!("{:.0}", val.abs()).len() as i64;
    if pre_len >= digits {
        d.post = 0;
    } else if pre_len + d.post > digits {
        d.post = digits - pre_len;
    }
    let orgnum = if val.is_nan() {
        "NaN".to_string()
    } else if val.is_infinite() {
        if val > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{:.*}", d.post as usize, val)
    };
    finish_plain(&nodes, d, &orgnum, false)
}

/// to_number(text, text).
pub(crate) fn to_number(input: &str, fmt: &str) -> Result<Option<Numeric>, PgError> {
    if fmt.is_empty() {
        return Ok(None);
    }
    let (nodes, mut d) = parse_num_template(fmt)?;
    if d.zero_start > 0 {
        d.zero_start -= 1;
    }
    if d.has(F_EEEE) {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "\"EEEE\" not supported for input",
        ));
    }
    if d.has(F_ROMAN) {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "\"RN\" not supported for input",
        ));
    }
    let s = input.as_bytes();
    let len = s.len();
    let mut p = 0usize;
    let mut number: Vec<u8> = vec![b' '];
    let (mut read_pre, mut read_post, mut read_dec) = (0i64, 0i64, false);
    let amount = |p: usize, x: usize| p + x <= len;
    let eat = |p: &mut usize, n: usize| {
        for _ in 0..n {
            if *p >= len || b"0123456789.,+-".contains(&s[*p]) {
                break;
            }
            *p += std::str::from_utf8(&s[*p..])
                .ok()
                .and_then(|r| r.chars().next())
                .map(|c| c.len_utf8())
                .unwrap_or(1);
        }
    };
    for n in &nodes {
        if p >= len {
            break;
        }
        let key = match n {
            Node::Text { s: t, .. } => {
                let _ = t;
                p += std::str::from_utf8(&s[p..])
                    .ok()
                    .and_then(|r| r.chars().next())
                    .map(|c| c.len_utf8())
                    .unwrap_or(1);
                continue;
            }
            Node::Action { key, .. } => *key,
        };
        let fill = d.has(F_FILLMODE);
        match key {
            Nk::Nine | Nk::Zero | Nk::Dec | Nk::D => {
                // One digit, the point, or a sign around them.
                'part: {
                    if p >= len {
                        break 'part;
                    }
                    if s[p] == b' ' {
                        p += 1;
                    }
                    if p >= len {
                        break 'part;
                    }
                    if number[0] == b' '
                        && matches!(key, Nk::Nine | Nk::Zero)
                        && read_pre + read_post == 0
                    {
                        if d.has(F_LSIGN) && d.lsign == LSIGN_PRE {
                            if amount(p, 1) && s[p] == b'-' {
                                p += 1;
                                number[0] = b'-';
                            } else if amount(p, 1) && s[p] == b'+' {
                                p += 1;
                                number[0] = b'+';
                            }
                        } else if s[p] == b'-' || (d.has(F_BRACKET) && s[p] == b'<') {
                            number[0] = b'-';
                            p += 1;
                        } else if s[p] == b'+' {
                            number[0] = b'+';
                            p += 1;
                        }
                    }
                    if p >= len {
                        break 'part;
                    }
                    let mut isread = false;
                    if s[p].is_ascii_digit() {
                        if read_dec && read_post == d.post {
                            break 'part;
                        }
                        number.push(s[p]);
                        if read_dec {
                            read_post += 1;
                        } else {
                            read_pre += 1;
                        }
                        isread = true;
                    } else if d.has(F_DECIMAL) && !read_dec && s[p] == b'.' {
                        number.push(b'.');
                        read_dec = true;
                        isread = true;
                    }
                    if p >= len {
                        break 'part;
                    }
                    if number[0] == b' ' && read_pre + read_post > 0 {
                        if d.has(F_LSIGN) && isread && p + 1 < len && !s[p + 1].is_ascii_digit() {
                            let tmp = p;
                            p += 1;
                            if amount(p, 1) && s[p] == b'-' {
                                number[0] = b'-';
                            } else if amount(p, 1) && s[p] == b'+' {
                                number[0] = b'+';
                            }
                            if number[0] == b' ' {
                                p = tmp;
                            }
                        } else if !isread
                            && !d.has(F_LSIGN)
                            && (d.has(F_PLUS) || d.has(F_MINUS))
                            && (s[p] == b'-' || s[p] == b'+')
                        {
                            number[0] = s[p];
                        }
                    }
                }
                p += 1;
            }
            Nk::Comma => {
                if fill || s[p] != b',' {
                    continue;
                }
                p += 1;
            }
            Nk::G => {
                if fill {
                    continue;
                }
                if amount(p, 1) && s[p] == b',' {
                    p += 1;
                } else {
                    continue;
                }
            }
            Nk::L => eat(&mut p, 1),
            Nk::TH | Nk::th => {
                if d.has(F_DECIMAL) {
                    continue;
                }
                eat(&mut p, 2);
            }
            Nk::MI => {
                if s[p] == b'-' {
                    number[0] = b'-';
                    p += 1;
                } else {
                    eat(&mut p, 1);
                }
            }
            Nk::PL => {
                if s[p] == b'+' {
                    number[0] = b'+';
                    p += 1;
                } else {
                    eat(&mut p, 1);
                }
            }
            Nk::SG => {
                if s[p] == b'-' || s[p] == b'+' {
                    number[0] = s[p];
                    p += 1;
                } else {
                    eat(&mut p, 1);
                }
            }
            _ => {}
        }
    }
    if number.last() == Some(&b'.') {
        number.pop();
    }
    let numstr = String::from_utf8_lossy(&number).into_owned();
    let scale = read_post;
    let precision = d.pre + d.multi + scale;
    let v = tusk_types::cast::input(
        &numstr,
        tusk_types::types::Ty::new(tusk_types::types::NUMERIC),
        0,
    )?;
    let tusk_types::Value::Numeric(n) = v else {
        return Ok(None);
    };
    let mut n = n.apply_typmod((((precision << 16) | scale) + 4) as i32)?;
    if d.has(F_MULTI) {
        let ten = Numeric::from_i64(10);
        let x = ten.pow(&Numeric::from_i64(-d.multi))?;
        n = n.mul(&x)?;
    }
    Ok(Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        tusk_types::datetime::parse_timestamp(s, 0).unwrap()
    }

    fn tc(t: &str, f: &str) -> String {
        timestamp_to_char(ts(t), false, f).unwrap().unwrap()
    }

    #[test]
    fn datetime_fields() {
        let t = "1997-02-10 17:32:01.123456";
        assert_eq!(
            tc(t, "YYYY-MM-DD HH24:MI:SS.US"),
            "1997-02-10 17:32:01.123456"
        );
        assert_eq!(tc(t, "HH HH12 AM pm a.m. P.M."), "05 05 PM pm p.m. P.M.");
        assert_eq!(tc(t, "MS FF1 FF3 FF6 SSSS"), "123 1 123 123456 63121");
        assert_eq!(tc(t, "Y,YYY YYY YY Y IYYY IY"), "1,997 997 97 7 1997 97");
        assert_eq!(
            tc(t, "CC J Q RM rm W WW IW DDD IDDD D ID"),
            "20 2450490 1 II   ii   2 06 07 041 043 2 1"
        );
    }

    #[test]
    fn names_and_modifiers() {
        let t = "1997-02-10 17:32:01";
        assert_eq!(
            tc(t, "MONTH|Month|month|MON|Mon|mon"),
            "FEBRUARY |February |february |FEB|Feb|feb"
        );
        assert_eq!(
            tc(t, "DAY|Day|day|DY|Dy|dy"),
            "MONDAY   |Monday   |monday   |MON|Mon|mon"
        );
        assert_eq!(tc(t, "FMMonth FMDay FMDD FMHH24"), "February Monday 10 17");
        assert_eq!(tc(t, "TMMonth"), "February");
        assert_eq!(tc(t, "DDth DDTH FMDDth"), "10th 10TH 10th");
        assert_eq!(tc("2001-01-01", "DDth Mth"), "01st Mth");
        assert_eq!(tc(t, "\"Year\" YYYY \\\"q\\\""), "Year 1997 \"1\"");
        assert_eq!(tc("0044-03-15 BC", "YYYY BC B.C. ad"), "0044 BC B.C. bc");
        assert_eq!(
            timestamp_to_char(ts(t), true, "TZ tz OF TZH:TZM")
                .unwrap()
                .unwrap(),
            "UTC utc +00 +00:00"
        );
    }

    #[test]
    fn interval_fields() {
        let iv = tusk_types::interval::parse("1 year 2 months 3 days 04:05:06.7").unwrap();
        assert_eq!(
            interval_to_char(&iv, "YYYY MM DD HH24 MI SS MS")
                .unwrap()
                .unwrap(),
            "0001 02 03 04 05 06 700"
        );
        assert!(interval_to_char(&iv, "Day").is_err());
    }

    #[test]
    fn number_patterns() {
        let n = |s: &str| Numeric::parse(s).unwrap();
        assert_eq!(
            numeric_to_char(&n("-34338492.215397047"), "9,999,999,999.999").unwrap(),
            "   -34,338,492.215"
        );
        assert_eq!(
            numeric_to_char(&n("4.31"), "FM9999999999999999.999999999999999").unwrap(),
            "4.31"
        );
        assert_eq!(
            numeric_to_char(&n("-83028485"), "FM9999999999999999.999999999999999PR").unwrap(),
            "<83028485.>"
        );
        assert_eq!(
            numeric_to_char(&n("0"), "FM9999999999999999.999999999999999").unwrap(),
            "0."
        );
        assert_eq!(
            numeric_to_char(
                &n("-24926804.04504742"),
                "9999999999999999.999999999999999MI"
            )
            .unwrap(),
            "        24926804.045047420000000-"
        );
        assert_eq!(int_to_char(485, "999").unwrap(), " 485");
        assert_eq!(int_to_char(-485, "999").unwrap(), "-485");
        assert_eq!(int_to_char(485, "9 9 9").unwrap(), " 4 8 5");
        assert_eq!(int_to_char(1485, "9,999").unwrap(), " 1,485");
        assert_eq!(int_to_char(148, "FM999th").unwrap(), "148th");
        assert_eq!(int_to_char(485, "RN").unwrap(), "        CDLXXXV");
        assert_eq!(int_to_char(485, "FMrn").unwrap(), "cdlxxxv");
        assert_eq!(int_to_char(12345, "999").unwrap(), " ###");
        assert_eq!(int_to_char(12, "99V999").unwrap(), " 12000");
        assert_eq!(int_to_char(-485, "S999").unwrap(), "-485");
        assert_eq!(int_to_char(485, "999S").unwrap(), "485+");
        assert_eq!(int_to_char(485, "SG999").unwrap(), "+485");
        assert_eq!(int_to_char(485, "PL999").unwrap(), "+ 485");
        assert_eq!(
            float_to_char(12345.678, "9.99EEEE", 15).unwrap(),
            " 1.23e+04"
        );
        assert_eq!(
            numeric_to_char(&n("12345.678"), "9.99EEEE").unwrap(),
            " 1.23e+04"
        );
        assert_eq!(float_to_char(0.5, "9.9", 15).unwrap(), "  .5");
        assert!(int_to_char(1, "99.9V9").is_err());
    }

    #[test]
    fn to_number_reads_templates() {
        let t = |s: &str, f: &str| to_number(s, f).unwrap().unwrap().to_text();
        assert_eq!(t("-34,338,492", "99G999G999"), "-34338492");
        assert_eq!(
            t("-34,338,492.654,878", "99G999G999D999G999"),
            "-34338492.654878"
        );
        assert_eq!(t("<564646.654564>", "999999.999999PR"), "-564646.654564");
        assert_eq!(t("0.00001-", "9.999999S"), "-0.00001");
        assert_eq!(t("5.01-", "FM9.999999S"), "-5.01");
        assert_eq!(t("5.01-", "FM9.999999MI"), "-5.01");
        assert_eq!(t("$1234.56", "L99,999.99"), "1234.56");
        assert!(to_number("1", "9EEEE").is_err());
    }

    #[test]
    fn to_timestamp_and_to_date() {
        let show = |us: i64| tusk_types::datetime::format_timestamp(us, false);
        assert_eq!(
            show(to_timestamp("05 Dec 2000", "DD Mon YYYY").unwrap()),
            "2000-12-05 00:00:00"
        );
        assert_eq!(
            show(to_timestamp("2011-12-18 11:38 PM", "YYYY-MM-DD HH12:MI PM").unwrap()),
            "2011-12-18 23:38:00"
        );
        assert_eq!(
            show(to_timestamp("2011-12-18 11:38 +05:30", "YYYY-MM-DD HH12:MI TZH:TZM").unwrap()),
            "2011-12-18 06:08:00"
        );
        assert_eq!(
            show(to_timestamp("97/Feb/16", "YY/Mon/DD").unwrap()),
            "1997-02-16 00:00:00"
        );
        assert_eq!(
            show(to_timestamp("2005527", "IYYYIDDD").unwrap()),
            "2006-06-13 00:00:00"
        );
        assert_eq!(
            show(to_timestamp("1,582nd VIII 21", "Y,YYYth FMRM DD").unwrap()),
            "1582-08-21 00:00:00"
        );
        assert_eq!(
            tusk_types::datetime::format_date(to_date("3 4 21 01", "W MM CC YY").unwrap()),
            "2001-04-15"
        );
        let e = to_date("2016-13-10", "YYYY-MM-DD").unwrap_err();
        assert_eq!(
            e.message,
            "date/time field value out of range: \"2016-13-10\""
        );
        let e = to_timestamp("19971", "YYYYMMDD").unwrap_err();
        assert!(
            e.message.starts_with("source string too short"),
            "{}",
            e.message
        );
        let e = to_timestamp("13 30", "HH MI").unwrap_err();
        assert_eq!(e.message, "hour \"13\" is invalid for the 12-hour clock");
    }
}
