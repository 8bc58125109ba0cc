//! postgresql.conf: the syntax of PostgreSQL's guc-file.l, includes, and
//! [`load`], which builds the server's [`Settings`] from the data
//! directory and the command line.
//!
//! Every problem is collected before giving up, because an operator who
//! fixes one line, restarts, and meets the next error three times over has
//! been served badly: syntax errors (up to 100 per file, as PostgreSQL),
//! unknown names, bad values, unreadable includes, all reported at once,
//! each with its file:line. As in PostgreSQL, when a setting appears
//! several times only the last assignment counts (and is validated), and
//! nothing is applied unless the whole configuration is valid.
//!
//! The value syntax is slightly more lenient than guc-file.l (a bare value
//! may be any run of letters, digits and `-._:/+`, so `1.5GB` needs no
//! quotes): the value parser judges the token, and its message is clearer
//! than a syntax error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::value::valid_custom_name;
use crate::{find, Settings, Source, Value};

/// PostgreSQL's CONF_FILE_MAX_DEPTH.
const MAX_INCLUDE_DEPTH: usize = 10;
/// Syntax errors after which the rest of a file is not read.
const MAX_SYNTAX_ERRORS: usize = 100;

/// One `name = value` line, after include expansion and unquoting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigItem {
    pub name: String,
    pub value: String,
    pub path: PathBuf,
    pub line: usize,
}

/// Reads a configuration file and the files it includes, in order.
/// Returns all problems found, not just the first.
pub fn parse_file(path: &Path) -> Result<Vec<ConfigItem>, ConfigError> {
    let mut parser = Parser::default();
    parser.parse(path, None);
    match ConfigError::from_list(parser.errors) {
        None => Ok(parser.items),
        Some(e) => Err(e),
    }
}

/// Builds the server's settings: the defaults, then DATA/postgresql.conf
/// (with its includes; or the file `-c config_file=PATH` names), then `overrides` (from `-c name=value` and the short
/// flags, in order) as [`Source::CommandLine`]. Also fills in the file
/// locations (data_directory, config_file, hba_file, ident_file) as the
/// server computes them. All errors are returned together.
pub fn load(data_dir: &Path, overrides: &[(String, String)]) -> Result<Settings, ConfigError> {
    let data_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    // `-c config_file=PATH` reads another file instead, as in PostgreSQL
    // (e.g. Debian's /etc/postgresql layout); the last such flag wins.
    let conf = match overrides
        .iter()
        .rev()
        .find(|(n, _)| n.eq_ignore_ascii_case("config_file"))
    {
        Some((_, path)) => std::path::absolute(path).unwrap_or_else(|_| PathBuf::from(path)),
        None => data_dir.join("postgresql.conf"),
    };
    let mut parser = Parser::default();
    parser.parse(&conf, None);
    let Parser {
        items, mut errors, ..
    } = parser;

    let mut settings = Settings::defaults();
    let last: HashMap<String, usize> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.name.to_ascii_lowercase(), i))
        .collect();
    for (i, item) in items.iter().enumerate() {
        let known = find(&item.name).is_some() || valid_custom_name(&item.name);
        // Earlier assignments of a name are overridden, hence not judged;
        // every occurrence of an unknown name is an error, though.
        if known && last.get(&item.name.to_ascii_lowercase()) != Some(&i) {
            continue;
        }
        let source = Source::File {
            path: item.path.clone(),
            line: item.line,
        };
        if let Err(e) = settings.set(&item.name, &item.value, source) {
            errors.push(e);
        }
    }
    for (name, value) in overrides {
        if let Err(e) = settings.set(name, value, Source::CommandLine) {
            errors.push(e);
        }
    }
    if let Some(e) = ConfigError::from_list(errors) {
        return Err(e);
    }

    let text = |p: &Path| Value::Str(p.display().to_string());
    if settings.str("data_directory").is_empty() {
        settings.set_override("data_directory", text(&data_dir));
    }
    settings.set_override("config_file", text(&conf));
    for (name, file) in [("hba_file", "pg_hba.conf"), ("ident_file", "pg_ident.conf")] {
        if settings.str(name).is_empty() {
            settings.set_override(name, text(&data_dir.join(file)));
        }
    }
    Ok(settings)
}

#[derive(Default)]
struct Parser {
    items: Vec<ConfigItem>,
    errors: Vec<ConfigError>,
    /// Canonical paths of the files being read, outermost first.
    chain: Vec<PathBuf>,
}

impl Parser {
    /// Reads `path`; `from` is the include line that named it.
    fn parse(&mut self, path: &Path, from: Option<(PathBuf, usize)>) {
        if let Some(from) = &from {
            if self.chain.len() > MAX_INCLUDE_DEPTH {
                self.errors.push(ConfigError::IncludeDepth {
                    path: path.to_path_buf(),
                    from: from.clone(),
                });
                return;
            }
            let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
            if let Some(start) = self.chain.iter().position(|p| *p == canonical) {
                let mut chain = self.chain[start..].to_vec();
                chain.push(canonical);
                self.errors.push(ConfigError::IncludeCycle {
                    chain,
                    from: from.clone(),
                });
                return;
            }
        }
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                let mut reason = e.to_string();
                if from.is_none() && e.kind() == std::io::ErrorKind::NotFound {
                    reason.push_str(
                        " (is this a tusk data directory? `tusk init -D DIR` creates one)",
                    );
                }
                self.errors.push(ConfigError::Open {
                    path: path.to_path_buf(),
                    from,
                    directory: false,
                    reason,
                });
                return;
            }
        };
        self.chain
            .push(path.canonicalize().unwrap_or_else(|_| path.to_path_buf()));
        let mut syntax_errors = 0;
        for (n, line) in text.split('\n').enumerate() {
            let line_no = n + 1;
            match lex_line(line) {
                Ok(None) => {}
                Ok(Some((name, value))) => self.directive(path, line_no, name, value),
                Err((near, expected)) => {
                    self.errors.push(ConfigError::Syntax {
                        path: path.to_path_buf(),
                        line: line_no,
                        near,
                        expected,
                    });
                    syntax_errors += 1;
                    if syntax_errors >= MAX_SYNTAX_ERRORS {
                        break;
                    }
                }
            }
        }
        self.chain.pop();
    }

    fn directive(&mut self, path: &Path, line: usize, name: String, value: String) {
        let here = || Some((path.to_path_buf(), line));
        let target = || {
            let p = PathBuf::from(&value);
            if p.is_absolute() {
                p
            } else {
                path.parent().unwrap_or(Path::new(".")).join(p)
            }
        };
        if name.eq_ignore_ascii_case("include") {
            self.parse(&target(), here());
        } else if name.eq_ignore_ascii_case("include_if_exists") {
            let t = target();
            if t.exists() {
                self.parse(&t, here());
            }
        } else if name.eq_ignore_ascii_case("include_dir") {
            self.include_dir(&target(), (path.to_path_buf(), line));
        } else {
            self.items.push(ConfigItem {
                name,
                value,
                path: path.to_path_buf(),
                line,
            });
        }
    }

    /// Reads the `*.conf` files of a directory in name order, skipping
    /// hidden files, as PostgreSQL does.
    fn include_dir(&mut self, dir: &Path, from: (PathBuf, usize)) {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.errors.push(ConfigError::Open {
                    path: dir.to_path_buf(),
                    from: Some(from),
                    directory: true,
                    reason: e.to_string(),
                });
                return;
            }
        };
        let mut files: Vec<(String, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
            .filter(|(name, path)| {
                !name.starts_with('.') && name.ends_with(".conf") && path.is_file()
            })
            .collect();
        files.sort();
        for (_, path) in files {
            self.parse(&path, Some(from.clone()));
        }
    }
}

fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_bare(c: char) -> bool {
    is_letter(c) || c.is_ascii_digit() || "-._:/+".contains(c)
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0c')
}

type LexError = (Option<String>, &'static str);

/// One line: nothing (blank or comment), or a name and its unquoted value.
fn lex_line(line: &str) -> Result<Option<(String, String)>, LexError> {
    let chars: Vec<char> = line.chars().collect();
    let skip = |mut i: usize| {
        while i < chars.len() && is_blank(chars[i]) {
            i += 1;
        }
        i
    };
    let at_end = |i: usize| i >= chars.len() || chars[i] == '#';
    let token_at = |i: usize| -> String {
        if chars[i] == '\'' {
            return chars[i..].iter().collect::<String>().trim_end().to_string();
        }
        let mut j = i;
        while j < chars.len() && is_bare(chars[j]) {
            j += 1;
        }
        chars[i..j.max(i + 1)].iter().collect()
    };

    let mut i = skip(0);
    if at_end(i) {
        return Ok(None);
    }
    // Name: identifiers separated by dots.
    if !is_letter(chars[i]) {
        return Err((
            Some(token_at(i)),
            "expected a parameter name at the start of the line",
        ));
    }
    let start = i;
    loop {
        while i < chars.len() && (is_letter(chars[i]) || chars[i].is_ascii_digit()) {
            i += 1;
        }
        if i + 1 < chars.len() && chars[i] == '.' && is_letter(chars[i + 1]) {
            i += 1;
        } else {
            break;
        }
    }
    if i < chars.len() && is_bare(chars[i]) {
        // "my-ext.foo": a name glued to characters no name may contain.
        return Err((
            Some(token_at(start)),
            "parameter names are letters, digits and underscores, with dots between identifiers",
        ));
    }
    let name: String = chars[start..i].iter().collect();
    i = skip(i);
    if i < chars.len() && chars[i] == '=' {
        i = skip(i + 1);
    } else if i < chars.len() && !is_bare(chars[i]) && chars[i] != '\'' && chars[i] != '#' {
        return Err((
            Some(token_at(i)),
            "expected \"=\" or a value after the parameter name",
        ));
    }
    if at_end(i) {
        return Err((
            None,
            "expected a value: a number, a word, or a 'quoted string'",
        ));
    }
    let value = if chars[i] == '\'' {
        let quote_start = i;
        let mut value = String::new();
        i += 1;
        loop {
            match chars.get(i) {
                None => {
                    return Err((
                        Some(
                            chars[quote_start..]
                                .iter()
                                .collect::<String>()
                                .trim_end()
                                .to_string(),
                        ),
                        "unterminated quoted string",
                    ))
                }
                Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                    value.push('\'');
                    i += 2;
                }
                Some('\'') => {
                    i += 1;
                    break;
                }
                Some('\\') => {
                    i += 1;
                    let Some(&c) = chars.get(i) else { continue };
                    i += 1;
                    match c {
                        'b' => value.push('\x08'),
                        'f' => value.push('\x0c'),
                        'n' => value.push('\n'),
                        'r' => value.push('\r'),
                        't' => value.push('\t'),
                        '0'..='7' => {
                            let mut code = c.to_digit(8).unwrap_or(0);
                            for _ in 0..2 {
                                match chars.get(i).and_then(|d| d.to_digit(8)) {
                                    Some(d) => {
                                        code = code * 8 + d;
                                        i += 1;
                                    }
                                    None => break,
                                }
                            }
                            value.push(char::from((code & 0xff) as u8));
                        }
                        other => value.push(other),
                    }
                }
                Some(&c) => {
                    value.push(c);
                    i += 1;
                }
            }
        }
        value
    } else if is_bare(chars[i]) {
        let s = i;
        while i < chars.len() && is_bare(chars[i]) {
            i += 1;
        }
        chars[s..i].iter().collect()
    } else {
        return Err((
            Some(token_at(i)),
            "expected a value: a number, a word, or a 'quoted string'",
        ));
    };
    i = skip(i);
    if !at_end(i) {
        return Err((
            Some(token_at(i)),
            "extra text after the value; quote values that contain spaces",
        ));
    }
    Ok(Some((name, value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(line: &str) -> Option<(String, String)> {
        lex_line(line).expect("valid line")
    }

    fn pair(n: &str, v: &str) -> Option<(String, String)> {
        Some((n.to_string(), v.to_string()))
    }

    #[test]
    fn lines_as_guc_file_l_reads_them() {
        assert_eq!(lex(""), None);
        assert_eq!(lex("   # just a comment"), None);
        assert_eq!(lex("port = 5433"), pair("port", "5433"));
        assert_eq!(lex("port 5433"), pair("port", "5433"));
        assert_eq!(lex("port=5433# trailing"), pair("port", "5433"));
        assert_eq!(
            lex("\tshared_buffers = 128MB   \r"),
            pair("shared_buffers", "128MB")
        );
        assert_eq!(
            lex("shared_buffers = 1.5GB"),
            pair("shared_buffers", "1.5GB")
        );
        assert_eq!(lex("listen_addresses = '*'"), pair("listen_addresses", "*"));
        assert_eq!(
            lex("log_line_prefix = '%m [%p] '  # comment"),
            pair("log_line_prefix", "%m [%p] ")
        );
        assert_eq!(
            lex("search_path = '\"$user\", public'"),
            pair("search_path", "\"$user\", public")
        );
        assert_eq!(lex("a.b = 'it''s'"), pair("a.b", "it's"));
        assert_eq!(lex(r"x.y = 'a\tb\\c\'d\101'"), pair("x.y", "a\tb\\c'dA"));
        assert_eq!(
            lex("TimeZone = Europe/Paris"),
            pair("TimeZone", "Europe/Paris")
        );
        assert_eq!(
            lex("postmaster_oom_score_adj = -900"),
            pair("postmaster_oom_score_adj", "-900")
        );
        assert_eq!(lex("name = ''"), pair("name", ""));
        assert_eq!(lex("include 'other.conf'"), pair("include", "other.conf"));
    }

    #[test]
    fn malformed_lines() {
        let err = |l: &str| lex_line(l).expect_err(l);
        assert_eq!(err("= 5").0.as_deref(), Some("="));
        assert_eq!(err("port =").0, None);
        assert_eq!(err("port = 'abc").0.as_deref(), Some("'abc"));
        assert_eq!(err("port = 'abc").1, "unterminated quoted string");
        assert_eq!(err("shared_buffers = 128 MB").0.as_deref(), Some("MB"));
        assert_eq!(err("log_line_prefix = %m").0.as_deref(), Some("%"));
        assert_eq!(err("port == 5").0.as_deref(), Some("="));
        assert_eq!(err("5port = 1").0.as_deref(), Some("5port"));
        assert_eq!(err("port ; 5").0.as_deref(), Some(";"));
    }
}
