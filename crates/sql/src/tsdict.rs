//! Text-search dictionaries: the five templates (simple, synonym, ispell, thesaurus, snowball) built from a dictionary's options and the files of the tsearch_data directory.
//!
//! Why one enum built once per definition: a dictionary is a pure
//! function of its template and options (the files it reads do not
//! change while the server runs), so [`load`] keeps each built
//! dictionary under (template, options) for the life of the process and
//! every configuration and backend that names it shares it. Building is
//! what CREATE / ALTER TEXT SEARCH DICTIONARY runs to check the options,
//! as PostgreSQL calls the template's init function, with its messages.
//!
//! Files come from one place, [`data_dir`]: tusk's own share directory
//! (`<prefix>/share/tusk/tsearch_data` beside the binary's `bin/`) when
//! it exists, else PostgreSQL 15's installed one. The English stop-word
//! list is also compiled in, so that the built-in `english`
//! configuration works on a machine without either directory.
//!
//! Called by tsearch.rs (lexize for configurations and ts_lexize) and
//! tsddl.rs.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use tusk_common::{sqlstate, PgError};

/// TSL_ADDPOS: the lexeme starts a new position (thesaurus phrases).
pub(crate) const TSL_ADDPOS: u16 = 0x01;
/// TSL_PREFIX: the lexeme matches as a prefix in a query.
pub(crate) const TSL_PREFIX: u16 = 0x02;

/// One lexeme a dictionary gives: the word, the variant it belongs to
/// (alternatives of one token have distinct variants), and TSL_* flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lex {
    pub word: String,
    pub nvariant: u16,
    pub flags: u16,
}

impl Lex {
    pub(crate) fn plain(word: String) -> Lex {
        Lex {
            word,
            nvariant: 0,
            flags: 0,
        }
    }
}

/// One option of a dictionary: name, value, and whether the value is a
/// number (stored unquoted, read back as one).
pub(crate) type DictOpt = (String, String, bool);

/// A built dictionary.
pub(crate) enum Dictionary {
    Simple {
        stop: HashSet<String>,
        accept: bool,
    },
    Synonym {
        /// (word, synonym, prefix flag), sorted by word.
        map: Vec<(String, String, bool)>,
        case_sensitive: bool,
    },
    Snowball {
        algo: rust_stemmers::Algorithm,
        stop: HashSet<String>,
    },
    Ispell(Box<crate::tsispell::Ispell>),
    Thesaurus(Box<crate::tsthesaurus::Thesaurus>),
}

pub(crate) fn err(code: tusk_common::SqlState, msg: impl Into<String>) -> PgError {
    PgError::error(code, msg)
}

/// The tsearch_data directory (see the module comment).
pub(crate) fn data_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(prefix) = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().and_then(|b| b.parent()).map(|p| p.to_path_buf()))
        {
            let own = prefix.join("share/tusk/tsearch_data");
            if own.is_dir() {
                return own;
            }
        }
        PathBuf::from("/usr/share/postgresql/15/tsearch_data")
    })
    .clone()
}

/// get_tsearch_config_filename: a base name of lower-case letters,
/// digits and underscores, in the data directory with `ext`.
pub(crate) fn config_filename(base: &str, ext: &str) -> Result<PathBuf, PgError> {
    if base.is_empty()
        || !base
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(err(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("invalid text search configuration file name \"{base}\""),
        ));
    }
    Ok(data_dir().join(format!("{base}.{ext}")))
}

/// A data file's text; `what` names it in the error ("stop-word file").
pub(crate) fn read_data(path: &std::path::Path, what: &str) -> Result<String, PgError> {
    match std::fs::read(path) {
        Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        Err(e) => {
            if e.kind() == std::io::ErrorKind::NotFound
                && path.file_name().and_then(|n| n.to_str()) == Some("english.stop")
            {
                return Ok(include_str!("english.stop").to_string());
            }
            let reason = match e.kind() {
                std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
                std::io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
                _ => e.to_string(),
            };
            Err(err(
                sqlstate::CONFIG_FILE_ERROR,
                format!("could not open {what} \"{}\": {reason}", path.display()),
            ))
        }
    }
}

/// readstoplist: one word a line, trimmed and lower-cased.
pub(crate) fn stop_words(base: &str) -> Result<HashSet<String>, PgError> {
    let path = config_filename(base, "stop")?;
    let text = read_data(&path, "stop-word file")?;
    Ok(text
        .lines()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty())
        .collect())
}

/// defGetBoolean over an option's value.
pub(crate) fn opt_bool(o: &DictOpt) -> Result<bool, PgError> {
    let (name, v, num) = o;
    if *num {
        match v.as_str() {
            "0" => return Ok(false),
            "1" => return Ok(true),
            _ => {}
        }
    } else {
        match v.to_ascii_lowercase().as_str() {
            "true" | "on" => return Ok(true),
            "false" | "off" => return Ok(false),
            _ => {}
        }
    }
    Err(err(
        sqlstate::SYNTAX_ERROR,
        format!("{name} requires a Boolean value"),
    ))
}

fn snowball_algo(lang: &str) -> Option<rust_stemmers::Algorithm> {
    use rust_stemmers::Algorithm as A;
    Some(match lang.to_ascii_lowercase().as_str() {
        "arabic" => A::Arabic,
        "danish" => A::Danish,
        "dutch" => A::Dutch,
        "english" => A::English,
        "finnish" => A::Finnish,
        "french" => A::French,
        "german" => A::German,
        "greek" => A::Greek,
        "hungarian" => A::Hungarian,
        "italian" => A::Italian,
        "norwegian" => A::Norwegian,
        "portuguese" => A::Portuguese,
        "romanian" => A::Romanian,
        "russian" => A::Russian,
        "spanish" => A::Spanish,
        "swedish" => A::Swedish,
        "tamil" => A::Tamil,
        "turkish" => A::Turkish,
        _ => return None,
    })
}

impl Dictionary {
    /// The template's init: the dictionary `opts` define, or the error
    /// PostgreSQL gives for them.
    pub(crate) fn build(
        host: &mut dyn crate::host::Host,
        template: &str,
        opts: &[DictOpt],
    ) -> Result<Dictionary, PgError> {
        let unknown = |what: &str, n: &str| {
            err(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("unrecognized {what} parameter: \"{n}\""),
            )
        };
        let dup = |n: &str| {
            err(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("multiple {n} parameters"),
            )
        };
        match template {
            "simple" => {
                let mut stop = None;
                let mut accept = None;
                for o in opts {
                    match o.0.as_str() {
                        "stopwords" => {
                            if stop.is_some() {
                                return Err(dup("StopWords"));
                            }
                            stop = Some(stop_words(&o.1)?);
                        }
                        "accept" => {
                            if accept.is_some() {
                                return Err(dup("Accept"));
                            }
                            accept = Some(opt_bool(o)?);
                        }
                        n => return Err(unknown("simple dictionary", n)),
                    }
                }
                Ok(Dictionary::Simple {
                    stop: stop.unwrap_or_default(),
                    accept: accept.unwrap_or(true),
                })
            }
            "synonym" => {
                let mut file = None;
                let mut case_sensitive = false;
                for o in opts {
                    match o.0.as_str() {
                        "synonyms" => file = Some(o.1.clone()),
                        "casesensitive" => case_sensitive = opt_bool(o)?,
                        n => return Err(unknown("synonym", n)),
                    }
                }
                let Some(file) = file else {
                    return Err(err(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        "missing Synonyms parameter",
                    ));
                };
                let path = config_filename(&file, "syn")?;
                let text = read_data(&path, "synonym file")?;
                let mut map = Vec::new();
                for line in text.lines() {
                    let mut it = line.split_whitespace();
                    let (Some(a), Some(b)) = (it.next(), it.next()) else {
                        continue;
                    };
                    let (b, prefix) = match b.strip_suffix('*') {
                        Some(s) if !s.is_empty() => (s, true),
                        _ => (b, false),
                    };
                    let fold = |s: &str| {
                        if case_sensitive {
                            s.to_string()
                        } else {
                            s.to_lowercase()
                        }
                    };
                    map.push((fold(a), fold(b), prefix));
                }
                map.sort_by(|x, y| x.0.cmp(&y.0));
                Ok(Dictionary::Synonym {
                    map,
                    case_sensitive,
                })
            }
            "snowball" => {
                let mut lang = None;
                let mut stop = None;
                for o in opts {
                    match o.0.as_str() {
                        "stopwords" => {
                            if stop.is_some() {
                                return Err(dup("StopWords"));
                            }
                            stop = Some(stop_words(&o.1)?);
                        }
                        "language" => {
                            if lang.is_some() {
                                return Err(dup("Language"));
                            }
                            lang = Some(o.1.clone());
                        }
                        n => return Err(unknown("Snowball", n)),
                    }
                }
                let Some(lang) = lang else {
                    return Err(err(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        "missing Language parameter",
                    ));
                };
                let algo = snowball_algo(&lang).ok_or_else(|| {
                    err(
                        sqlstate::UNDEFINED_OBJECT,
                        format!(
                            "no Snowball stemmer available for language \"{lang}\" and encoding \"UTF8\""
                        ),
                    )
                })?;
                Ok(Dictionary::Snowball {
                    algo,
                    stop: stop.unwrap_or_default(),
                })
            }
            "ispell" => Ok(Dictionary::Ispell(Box::new(
                crate::tsispell::Ispell::build(opts)?,
            ))),
            "thesaurus" => Ok(Dictionary::Thesaurus(Box::new(
                crate::tsthesaurus::Thesaurus::build(host, opts)?,
            ))),
            other => Err(err(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("text search template \"{other}\" has no built-in implementation"),
            )),
        }
    }

    /// The dictionary's answer for one token: `None` when it does not
    /// know the word, an empty list for a stop word.
    pub(crate) fn lexize(&self, word: &str) -> Option<Vec<Lex>> {
        match self {
            Dictionary::Simple { stop, accept } => {
                let low = word.to_lowercase();
                if low.is_empty() || stop.contains(&low) {
                    Some(Vec::new())
                } else if *accept {
                    Some(vec![Lex::plain(low)])
                } else {
                    None
                }
            }
            Dictionary::Synonym {
                map,
                case_sensitive,
            } => {
                if word.is_empty() {
                    return None;
                }
                let key = if *case_sensitive {
                    word.to_string()
                } else {
                    word.to_lowercase()
                };
                let i = map.binary_search_by(|e| e.0.as_str().cmp(&key)).ok()?;
                let (_, syn, prefix) = &map[i];
                Some(vec![Lex {
                    word: syn.clone(),
                    nvariant: 0,
                    flags: if *prefix { TSL_PREFIX } else { 0 },
                }])
            }
            Dictionary::Snowball { algo, stop } => {
                let low = word.to_lowercase();
                if stop.contains(&low) {
                    return Some(Vec::new());
                }
                // Longer words are not stemmed (the stemmer's limit).
                if low.len() > 1000 {
                    return Some(vec![Lex::plain(low)]);
                }
                let st = rust_stemmers::Stemmer::create(*algo);
                let stemmed = st.stem(&low).into_owned();
                Some(vec![Lex::plain(stemmed)])
            }
            Dictionary::Ispell(d) => d.lexize(word),
            Dictionary::Thesaurus(t) => t.lexize_single(word),
        }
    }
}

/// The implementation a template's lexize function names.
pub(crate) fn template_impl(lexize: u32) -> Option<&'static str> {
    Some(match lexize {
        3726 => "simple",
        3729 => "synonym",
        3732 => "ispell",
        3741 => "thesaurus",
        13149 => "snowball",
        _ => return None,
    })
}

type DictCache = HashMap<(String, Vec<DictOpt>), Arc<Dictionary>>;

/// The dictionary of this template and options, built once per process.
pub(crate) fn load(
    host: &mut dyn crate::host::Host,
    template: &str,
    opts: &[DictOpt],
) -> Result<Arc<Dictionary>, PgError> {
    static CACHE: OnceLock<Mutex<DictCache>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (template.to_string(), opts.to_vec());
    if let Some(d) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(d);
    }
    let d = Arc::new(Dictionary::build(host, template, opts)?);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, d.clone());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_checked() {
        assert!(config_filename("ispell_sample", "dict").is_ok());
        assert!(config_filename("a.b", "stop").is_err());
        assert!(config_filename("../x", "stop").is_err());
    }

    #[test]
    fn booleans_as_def_get_boolean() {
        let o = |v: &str, n: bool| ("casesensitive".to_string(), v.to_string(), n);
        assert!(opt_bool(&o("1", true)).unwrap());
        assert!(!opt_bool(&o("OFF", false)).unwrap());
        assert!(opt_bool(&o("2", true)).is_err());
        assert!(opt_bool(&o("1", false)).is_err());
    }
}
