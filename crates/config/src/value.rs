//! From text to a checked [`Value`] and back: the type rules every setting
//! shares, plus the per-setting checks PostgreSQL implements as check hooks
//! (client_encoding, DateStyle, TimeZone, locales ...).
//!
//! Everything a source can say goes through [`parse_value`], so a value is
//! judged the same whether it comes from postgresql.conf, `-c`, a startup
//! packet or SET, and a stored value is always canonical (enum names as
//! listed, "ISO, MDY", "UTF8") so that SHOW and ParameterStatus never need
//! to re-derive it.

use std::ffi::CString;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::ValueError;
use crate::units::{
    format_g, format_int, format_real, parse_bool, parse_int, parse_real, NumError,
};
use crate::{flags, Kind, SettingDef, Value};

/// Parses and checks `text` for `def`. `current` is the setting's present
/// value, which DateStyle needs ("DMY" alone keeps the current style).
pub(crate) fn parse_value(
    def: &SettingDef,
    text: &str,
    current: Option<&Value>,
) -> Result<Value, ValueError> {
    let value = match def.kind {
        Kind::Bool => Value::Bool(parse_bool(text).ok_or(ValueError::NotBoolean)?),
        Kind::Int { min, max } => {
            let v = parse_int(text, def.unit).map_err(num_error)?;
            if v < min || v > max {
                return Err(ValueError::OutOfRange { got: Value::Int(v) });
            }
            Value::Int(v)
        }
        Kind::Real { min, max } => {
            let v = parse_real(text, def.unit).map_err(num_error)?;
            if !(min..=max).contains(&v) {
                return Err(ValueError::OutOfRange {
                    got: Value::Real(v),
                });
            }
            Value::Real(v)
        }
        Kind::Enum(options) => Value::Str(parse_enum(def, options, text)?),
        Kind::String => Value::Str(text.to_string()),
    };
    check_hook(def, value, current)
}

fn num_error(e: NumError) -> ValueError {
    match e {
        NumError::NotNumber => ValueError::NotNumber,
        NumError::BadUnit => ValueError::BadUnit,
        NumError::Overflow => ValueError::Overflow,
    }
}

fn parse_enum(
    def: &SettingDef,
    options: &'static [&'static str],
    text: &str,
) -> Result<String, ValueError> {
    if let Some(o) = options.iter().find(|o| o.eq_ignore_ascii_case(text)) {
        return Ok(o.to_string());
    }
    // PostgreSQL's hidden aliases: enums offering on/off also take every
    // boolean spelling, and wal_level keeps its pre-9.6 names.
    if options.contains(&"on") && options.contains(&"off") {
        if let Some(b) = parse_bool(text) {
            return Ok(if b { "on" } else { "off" }.to_string());
        }
    }
    if def.name == "wal_level"
        && (text.eq_ignore_ascii_case("archive") || text.eq_ignore_ascii_case("hot_standby"))
    {
        return Ok("replica".to_string());
    }
    Err(ValueError::NotInEnum)
}

/// Per-setting checks and canonical spellings.
fn check_hook(
    def: &SettingDef,
    value: Value,
    current: Option<&Value>,
) -> Result<Value, ValueError> {
    let Value::Str(text) = &value else {
        return Ok(value);
    };
    let checked = match def.name {
        "client_encoding" => check_client_encoding(text)?,
        "DateStyle" => {
            let cur = match current {
                Some(Value::Str(s)) => s.as_str(),
                _ => def.default,
            };
            check_datestyle(text, cur)?
        }
        "TimeZone" | "log_timezone" => check_timezone(text)?,
        "lc_messages" => check_locale(text, libc::LC_MESSAGES_MASK)?,
        "lc_monetary" => check_locale(text, libc::LC_MONETARY_MASK)?,
        "lc_numeric" => check_locale(text, libc::LC_NUMERIC_MASK)?,
        "lc_time" => check_locale(text, libc::LC_TIME_MASK)?,
        "application_name" | "cluster_name" => clean_ascii(text),
        "timezone_abbreviations" => check_abbreviations(text)?,
        _ => return Ok(value),
    };
    Ok(Value::Str(checked))
}

fn rejected(detail: impl Into<String>, hint: Option<&str>) -> ValueError {
    ValueError::Rejected {
        detail: detail.into(),
        hint: hint.map(str::to_string),
    }
}

/// PostgreSQL compares encoding names ignoring case and punctuation, so
/// utf8, UTF-8, Utf_8 and unicode all name UTF8. tusk stores text as UTF-8
/// only; SQL_ASCII is accepted as PostgreSQL accepts it against a UTF8
/// server: bytes pass through unconverted.
fn check_client_encoding(text: &str) -> Result<String, ValueError> {
    let clean: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match clean.as_str() {
        "utf8" | "unicode" => Ok("UTF8".to_string()),
        "sqlascii" => Ok("SQL_ASCII".to_string()),
        _ => Err(rejected(
            "tusk supports only the UTF8 client encoding.",
            Some("Use UTF8 (also spelled utf8, UTF-8 or unicode), and convert on the client side if needed."),
        )),
    }
}

/// DateStyle: a comma-separated list of an output style (ISO, SQL,
/// Postgres, German) and a field order (YMD, DMY, MDY, or their aliases);
/// whichever is not given is kept from the current value. Canonical form:
/// "ISO, MDY".
fn check_datestyle(text: &str, current: &str) -> Result<String, ValueError> {
    let (mut style, mut order) = current.split_once(", ").unwrap_or(("ISO", "MDY"));
    let (mut have_style, mut have_order) = (false, false);
    let conflict = || rejected("Conflicting \"datestyle\" specifications.", None);
    let Some(words) = split_list(text) else {
        return Err(rejected("List syntax is invalid.", None));
    };
    for word in words {
        // Key words compare case-insensitively even when quoted.
        let word = word.to_ascii_lowercase();
        let mut set_style = |s: &'static str, have_order: bool, order: &mut &str| {
            if have_style && style != s {
                return Err(conflict());
            }
            style = s;
            have_style = true;
            if s == "German" && !have_order {
                *order = "DMY";
            }
            Ok(())
        };
        match word.as_str() {
            "iso" => set_style("ISO", have_order, &mut order)?,
            "sql" => set_style("SQL", have_order, &mut order)?,
            "postgres" => set_style("Postgres", have_order, &mut order)?,
            "german" => set_style("German", have_order, &mut order)?,
            "ymd" | "dmy" | "euro" | "european" | "mdy" | "us" | "noneuro" | "noneuropean" => {
                let o = match word.as_str() {
                    "ymd" => "YMD",
                    "dmy" | "euro" | "european" => "DMY",
                    _ => "MDY",
                };
                if have_order && order != o {
                    return Err(conflict());
                }
                order = o;
                have_order = true;
            }
            "default" => {
                if have_style && style != "ISO" || have_order && order != "MDY" {
                    return Err(conflict());
                }
                (style, order) = ("ISO", "MDY");
                (have_style, have_order) = (true, true);
            }
            other => {
                return Err(rejected(
                    format!("Unrecognized key word: \"{other}\"."),
                    None,
                ))
            }
        }
    }
    Ok(format!("{style}, {order}"))
}

/// Splits a comma-separated identifier list as PostgreSQL's
/// SplitIdentifierString: blanks around items are dropped, unquoted items
/// are lower-cased, "double quotes" keep case. None on a syntax error.
fn split_list(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut item = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        item.push('"');
                    }
                    '"' => break,
                    c => item.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                item.push(c.to_ascii_lowercase());
                chars.next();
            }
            if item.is_empty() {
                return None;
            }
        }
        out.push(item);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return Some(out),
            Some(',') => continue,
            Some(_) => return None,
        }
    }
}

/// The zoneinfo database: $TZDIR, as the C library uses, else the system's.
fn zoneinfo_dir() -> PathBuf {
    std::env::var_os("TZDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/zoneinfo"))
}

/// TimeZone: UTC/GMT, a name from the zoneinfo database (matched
/// case-insensitively and shown with the database's spelling), a POSIX TZ
/// string (as written), or a number
/// of hours east of Greenwich as `SET TIME ZONE -7` sends, shown in
/// PostgreSQL's POSIX form "<-07>+07".
fn check_timezone(text: &str) -> Result<String, ValueError> {
    let invalid = || {
        rejected(
            format!("\"{text}\" is not a time zone name known to this system."),
            Some("Use UTC, a name from the zoneinfo database such as Europe/Paris, or an offset in hours such as -7."),
        )
    };
    if let Ok(hours) = text.trim().parse::<f64>() {
        if !hours.is_finite() || hours.abs() > 15.0 {
            return Err(invalid());
        }
        return Ok(posix_offset_name((-hours * 3600.0).round() as i64));
    }
    for fixed in ["UTC", "GMT"] {
        if text.eq_ignore_ascii_case(fixed) {
            return Ok(fixed.to_string());
        }
    }
    let valid_chars = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c));
    if text.eq_ignore_ascii_case("localtime") || text.eq_ignore_ascii_case("posixrules") {
        return Err(invalid());
    }
    let file_like = !text.is_empty()
        && valid_chars
        && !text.starts_with('/')
        && !text
            .split('/')
            .any(|part| part.is_empty() || part.starts_with('.'));
    if file_like {
        if let Some(name) = find_zone(&zoneinfo_dir(), text) {
            return Ok(name);
        }
    }
    // A POSIX TZ string ('UTC+3', '<+05>-05', 'EST5EDT,M3.2.0,M11.1.0'),
    // kept as written, as PostgreSQL shows it.
    if tusk_types::tz::Posix::parse(text).is_some() {
        return Ok(text.to_string());
    }
    if !file_like {
        return Err(invalid());
    }
    // Etc/UTC and friends even without a zoneinfo database.
    for fixed in ["Etc/UTC", "Etc/GMT", "Etc/UCT", "Etc/Universal", "Etc/Zulu"] {
        if text.eq_ignore_ascii_case(fixed) {
            return Ok(fixed.to_string());
        }
    }
    Err(invalid())
}

/// Looks `name` up under `dir`, one path component at a time and ignoring
/// case, and returns the database's own spelling if it is a TZif file.
fn find_zone(dir: &Path, name: &str) -> Option<String> {
    let mut path = dir.to_path_buf();
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
    let mut magic = [0u8; 4];
    std::fs::File::open(&path)
        .ok()?
        .read_exact(&mut magic)
        .ok()?;
    (&magic == b"TZif").then(|| parts.join("/"))
}

/// PostgreSQL's name for a fixed offset (seconds west of Greenwich, POSIX
/// sign): "<-07>+07" for 25200, "<+05:30>-05:30" for -19800.
fn posix_offset_name(west_secs: i64) -> String {
    let abs = west_secs.abs();
    let mut hms = format!("{:02}", abs / 3600);
    if abs % 3600 != 0 {
        hms.push_str(&format!(":{:02}", abs % 3600 / 60));
        if abs % 60 != 0 {
            hms.push_str(&format!(":{:02}", abs % 60));
        }
    }
    if west_secs > 0 {
        format!("<-{hms}>+{hms}")
    } else {
        format!("<+{hms}>-{hms}")
    }
}

/// A locale setting must name a locale this system has ("" means: inherit
/// from the server's environment, as in PostgreSQL).
fn check_locale(text: &str, mask: libc::c_int) -> Result<String, ValueError> {
    if text.is_empty() || text == "C" || text == "POSIX" {
        return Ok(text.to_string());
    }
    let known = CString::new(text).ok().is_some_and(|name| {
        // SAFETY: newlocale only reads the NUL-terminated name; a non-null
        // result is a fresh locale object that we free at once.
        unsafe {
            let loc = libc::newlocale(mask, name.as_ptr(), std::ptr::null_mut());
            if loc.is_null() {
                false
            } else {
                libc::freelocale(loc);
                true
            }
        }
    });
    if known {
        Ok(text.to_string())
    } else {
        Err(rejected(
            format!("Locale \"{text}\" is not installed on this system."),
            Some("Use C, or a locale listed by `locale -a`."),
        ))
    }
}

/// PostgreSQL 15's pg_clean_ascii: names that reach logs and process
/// titles keep printable ASCII only, every other byte becomes '?'.
fn clean_ascii(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if (32..=126).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// The abbreviation sets PostgreSQL ships in share/timezonesets.
fn check_abbreviations(text: &str) -> Result<String, ValueError> {
    const SETS: &[&str] = &["Default", "Australia", "India"];
    match SETS.iter().find(|s| s.eq_ignore_ascii_case(text)) {
        Some(s) => Ok(s.to_string()),
        None => Err(rejected(
            format!("Time zone abbreviation set \"{text}\" does not exist."),
            Some("Available sets: Default, Australia, India."),
        )),
    }
}

/// SHOW's rendering of a value.
pub(crate) fn show_value(def: &SettingDef, value: &Value) -> String {
    match value {
        Value::Bool(b) => if *b { "on" } else { "off" }.to_string(),
        Value::Int(i) if def.has_flag(flags::OCTAL) => format!("{i:04o}"),
        Value::Int(i) => format_int(*i, def.unit),
        Value::Real(r) => format_real(*r, def.unit),
        Value::Str(s) => s.clone(),
    }
}

/// `postgres -C`'s rendering: numbers in the base unit, without a unit.
pub(crate) fn raw_value(value: &Value) -> String {
    match value {
        Value::Bool(b) => if *b { "on" } else { "off" }.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Real(r) => format_g(*r),
        Value::Str(s) => s.clone(),
    }
}

/// Whether `name` is a valid extension placeholder name: two or more
/// identifiers separated by dots (PostgreSQL's valid_custom_variable_name).
pub fn valid_custom_name(name: &str) -> bool {
    let ident = |p: &str| {
        let mut chars = p.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    };
    name.contains('.') && name.split('.').all(ident)
}

/// The registered setting whose name is closest to `name`, if it is close
/// enough to be a likely typo ("max_conections" -> "max_connections").
pub fn suggest(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let len = lower.chars().count();
    let limit = (len / 3).clamp(1, 3);
    // The edit distance is at least the difference in length: names that
    // differ by more cannot be suggested, and skipping them keeps a huge
    // client-supplied name from costing seconds per registered setting.
    crate::registry()
        .iter()
        .filter(|d| d.name.len().abs_diff(len) <= limit)
        .map(|d| (levenshtein(&lower, &d.name.to_ascii_lowercase()), d.name))
        .filter(|(dist, _)| *dist <= limit)
        .min_by_key(|(dist, _)| *dist)
        .map(|(_, n)| n)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::find;

    fn parse(name: &str, text: &str) -> Result<Value, ValueError> {
        let def = find(name).expect("registered");
        parse_value(def, text, None)
    }

    #[test]
    fn client_encoding_accepts_utf8_spelled_any_way() {
        for s in [
            "UTF8", "utf8", "UTF-8", "utf-8", "Utf_8", "unicode", "UNICODE",
        ] {
            assert_eq!(
                parse("client_encoding", s),
                Ok(Value::Str("UTF8".into())),
                "{s}"
            );
        }
        assert_eq!(
            parse("client_encoding", "sql_ascii"),
            Ok(Value::Str("SQL_ASCII".into()))
        );
        for s in ["LATIN1", "win1252", "", "utf16"] {
            assert!(
                matches!(
                    parse("client_encoding", s),
                    Err(ValueError::Rejected { .. })
                ),
                "{s}"
            );
        }
    }

    #[test]
    fn datestyle_canonical_forms() {
        let def = find("DateStyle").expect("registered");
        let cases = [
            ("ISO", "ISO, MDY"),
            ("ISO, MDY", "ISO, MDY"),
            ("iso,dmy", "ISO, DMY"),
            ("  sql , european ", "SQL, DMY"),
            ("Postgres", "Postgres, MDY"),
            ("German", "German, DMY"),
            ("MDY, German", "German, MDY"),
            ("ymd", "ISO, YMD"),
            ("\"ISO\"", "ISO, MDY"),
            ("default", "ISO, MDY"),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_value(def, input, None),
                Ok(Value::Str(want.into())),
                "{input}"
            );
        }
        // A lone order keeps the current style.
        let cur = Value::Str("SQL, MDY".into());
        assert_eq!(
            parse_value(def, "DMY", Some(&cur)),
            Ok(Value::Str("SQL, DMY".into()))
        );
        for bad in ["ISO MDY", "foo", "ISO, SQL", "DMY, MDY", "", "ISO,"] {
            assert!(
                matches!(
                    parse_value(def, bad, None),
                    Err(ValueError::Rejected { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn timezones() {
        assert_eq!(parse("TimeZone", "UTC"), Ok(Value::Str("UTC".into())));
        assert_eq!(parse("TimeZone", "utc"), Ok(Value::Str("UTC".into())));
        assert_eq!(parse("TimeZone", "GMT"), Ok(Value::Str("GMT".into())));
        assert_eq!(
            parse("TimeZone", "Etc/UTC"),
            Ok(Value::Str("Etc/UTC".into()))
        );
        assert_eq!(parse("TimeZone", "-7"), Ok(Value::Str("<-07>+07".into())));
        assert_eq!(
            parse("TimeZone", "5.5"),
            Ok(Value::Str("<+05:30>-05:30".into()))
        );
        assert_eq!(parse("TimeZone", "0"), Ok(Value::Str("<+00>-00".into())));
        if zoneinfo_dir().join("Europe/Paris").exists() {
            assert_eq!(
                parse("TimeZone", "Europe/Paris"),
                Ok(Value::Str("Europe/Paris".into()))
            );
            assert_eq!(
                parse("TimeZone", "europe/paris"),
                Ok(Value::Str("Europe/Paris".into()))
            );
        }
        for bad in [
            "Mars/Olympus",
            "",
            "../etc/passwd",
            "/etc/localtime",
            "localtime",
            "zone.tab",
            "Europe",
            "99",
        ] {
            assert!(
                matches!(parse("TimeZone", bad), Err(ValueError::Rejected { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn enums_accept_case_and_hidden_aliases() {
        assert_eq!(
            parse("log_min_messages", "WARNING"),
            Ok(Value::Str("warning".into()))
        );
        assert_eq!(parse("huge_pages", "true"), Ok(Value::Str("on".into())));
        assert_eq!(parse("huge_pages", "0"), Ok(Value::Str("off".into())));
        assert_eq!(
            parse("synchronous_commit", "no"),
            Ok(Value::Str("off".into()))
        );
        assert_eq!(
            parse("wal_level", "hot_standby"),
            Ok(Value::Str("replica".into()))
        );
        assert_eq!(
            parse("default_transaction_isolation", "READ COMMITTED"),
            Ok(Value::Str("read committed".into()))
        );
        assert_eq!(
            parse("shared_memory_type", "yes"),
            Err(ValueError::NotInEnum)
        );
    }

    #[test]
    fn other_checks() {
        assert_eq!(
            parse("application_name", "caf\u{e9}\n"),
            Ok(Value::Str("caf???".into()))
        );
        assert_eq!(parse("lc_time", "C"), Ok(Value::Str("C".into())));
        assert!(matches!(
            parse("lc_numeric", "xx_NOWHERE.UTF-8"),
            Err(ValueError::Rejected { .. })
        ));
        assert_eq!(parse("ssl", "on"), Ok(Value::Bool(true)));
        assert_eq!(parse("ssl", "off"), Ok(Value::Bool(false)));
        assert_eq!(
            parse("timezone_abbreviations", "default"),
            Ok(Value::Str("Default".into()))
        );
    }

    #[test]
    fn custom_names_and_suggestions() {
        assert!(valid_custom_name("myext.foo"));
        assert!(valid_custom_name("a.b.c_1"));
        assert!(!valid_custom_name("myext."));
        assert!(!valid_custom_name(".foo"));
        assert!(!valid_custom_name("my-ext.foo"));
        assert!(!valid_custom_name("1ext.foo"));
        assert!(!valid_custom_name("nodot"));
        assert_eq!(suggest("max_conections"), Some("max_connections"));
        assert_eq!(suggest("SHARED_BUFFER"), Some("shared_buffers"));
        assert_eq!(suggest("timezone"), Some("TimeZone"));
        assert_eq!(suggest("completely_unrelated_thing"), None);
    }

    #[test]
    fn suggestions_for_huge_names_are_cheap() {
        // Without the length filter this compares a million characters
        // with every setting name (minutes); with it, none qualifies.
        assert_eq!(suggest(&"e".repeat(1_000_000)), None);
        assert_eq!(suggest("max_conections"), Some("max_connections"));
    }
}
