//! The thesaurus dictionary template (phrase to phrase substitution) and LexizeExec, the walk over a text's tokens that lets a thesaurus take several tokens at once.
//!
//! Why the walk lives here: only a thesaurus asks for the next token
//! (PostgreSQL's DictSubState.getnext), so the token loop is ordinary
//! (first dictionary of the token type's mapping that knows the token
//! wins) until a thesaurus of the mapping starts a phrase; then the
//! following tokens go to it alone, blanks and unmapped tokens skipped,
//! until it has the longest phrase it can complete, or it gives up and
//! the first token goes on to the dictionaries after it. The rule
//! bookkeeping follows dict_thesaurus.c: sample words normalized by the
//! subdictionary (each variant of a word a separate match), `?` standing
//! for a stop word, substitutes normalized too unless marked `*`, each
//! substitute word after the first taking a new position (TSL_ADDPOS).
//!
//! Called by tsearch.rs for to_tsvector, to_tsquery and ts_debug.

use std::sync::Arc;

use tusk_common::{sqlstate, PgError};

use crate::tsdict::{config_filename, err, read_data, DictOpt, Dictionary, Lex, TSL_ADDPOS};
use crate::tsearch::{Config, Token};

/// One sample word of a rule: its lexeme (None: `?`), rule, position in
/// the rule, and how many lexemes its variant has.
struct Sample {
    lexeme: Option<String>,
    rule: usize,
    pos: usize,
    nvariant: usize,
}

pub(crate) struct Thesaurus {
    subdict: Arc<Dictionary>,
    samples: Vec<Sample>,
    /// Per rule: the index of its last sample word and its substitute.
    subst: Vec<(usize, Vec<Lex>)>,
}

fn file_err(msg: String) -> PgError {
    err(sqlstate::CONFIG_FILE_ERROR, msg)
}

/// One rule as read: sample words, then (word, as-is) substitutes.
type RawRule = (Vec<String>, Vec<(String, bool)>);

fn read_rules(text: &str) -> Result<Vec<RawRule>, PgError> {
    let mut rules = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let Some((sample, subst)) = t.split_once(':') else {
            return Err(file_err("unexpected end of line".into()));
        };
        let words: Vec<String> = sample.split_whitespace().map(str::to_string).collect();
        if words.is_empty() {
            return Err(file_err("unexpected delimiter".into()));
        }
        let mut subs = Vec::new();
        for w in subst.split_whitespace() {
            let (w, asis) = if let Some(r) = w.strip_prefix('*') {
                (r, true)
            } else if let Some(r) = w.strip_prefix('\\') {
                (r, false)
            } else {
                (w, false)
            };
            if w.is_empty() {
                return Err(file_err("unexpected end of line or lexeme".into()));
            }
            subs.push((w.to_string(), asis));
        }
        if subs.is_empty() {
            return Err(file_err("unexpected end of line".into()));
        }
        rules.push((words, subs));
    }
    Ok(rules)
}

impl Thesaurus {
    /// thesaurus_init: DictFile and Dictionary (the subdictionary).
    pub(crate) fn build(
        host: &mut dyn crate::host::Host,
        opts: &[DictOpt],
    ) -> Result<Thesaurus, PgError> {
        let mut file = None;
        let mut sub = None;
        for (n, v, _) in opts {
            match n.as_str() {
                "dictfile" => {
                    if file.is_some() {
                        return Err(err(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            "multiple DictFile parameters",
                        ));
                    }
                    let path = config_filename(v, "ths")?;
                    file = Some(read_rules(&read_data(&path, "thesaurus file")?)?);
                }
                "dictionary" => {
                    if sub.is_some() {
                        return Err(err(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            "multiple Dictionary parameters",
                        ));
                    }
                    sub = Some(v.clone());
                }
                other => {
                    return Err(err(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!("unrecognized Thesaurus parameter: \"{other}\""),
                    ))
                }
            }
        }
        let Some(rules) = file else {
            return Err(err(
                sqlstate::INVALID_PARAMETER_VALUE,
                "missing DictFile parameter",
            ));
        };
        let Some(sub) = sub else {
            return Err(err(
                sqlstate::INVALID_PARAMETER_VALUE,
                "missing Dictionary parameter",
            ));
        };
        let subdict = crate::tsearch::dictionary(host, &sub)?;
        let mut samples = Vec::new();
        let mut subst = Vec::new();
        for (r, (words, subs)) in rules.iter().enumerate() {
            for (p, w) in words.iter().enumerate() {
                if w == "?" {
                    samples.push(Sample {
                        lexeme: None,
                        rule: r,
                        pos: p,
                        nvariant: 1,
                    });
                    continue;
                }
                match subdict.lexize(w) {
                    None => {
                        return Err(file_err(format!(
                        "thesaurus sample word \"{w}\" isn't recognized by subdictionary (rule {})",
                        r + 1
                    )))
                    }
                    Some(l) if l.is_empty() => {
                        return Err(file_err(format!(
                            "thesaurus sample word \"{w}\" is a stop word (rule {})",
                            r + 1
                        ))
                        .with_hint("Use \"?\" to represent a stop word within a sample phrase."))
                    }
                    Some(l) => {
                        for group in variants(&l) {
                            for x in group {
                                samples.push(Sample {
                                    lexeme: Some(x.word.clone()),
                                    rule: r,
                                    pos: p,
                                    nvariant: group.len(),
                                });
                            }
                        }
                    }
                }
            }
            let mut out: Vec<Lex> = Vec::new();
            for (k, (w, asis)) in subs.iter().enumerate() {
                let lexized = if *asis {
                    vec![Lex {
                        word: w.clone(),
                        nvariant: k as u16,
                        flags: 0,
                    }]
                } else {
                    match subdict.lexize(w) {
                        None => {
                            return Err(file_err(format!(
                                "thesaurus substitute word \"{w}\" isn't recognized by subdictionary (rule {})",
                                r + 1
                            )))
                        }
                        Some(l) if l.is_empty() => {
                            return Err(file_err(format!(
                                "thesaurus substitute word \"{w}\" is a stop word (rule {})",
                                r + 1
                            )))
                        }
                        Some(l) => l,
                    }
                };
                let at = out.len();
                out.extend(lexized);
                if at > 0 {
                    out[at].flags |= TSL_ADDPOS;
                }
            }
            subst.push((words.len() - 1, out));
        }
        Ok(Thesaurus {
            subdict,
            samples,
            subst,
        })
    }

    /// findVariant: the rules (newest found first) that the subdictionary's
    /// answer for a token continues at `curpos`, among `stored` (None: any).
    fn step(&self, res: &[Lex], stored: Option<&[usize]>, curpos: usize) -> Vec<usize> {
        let mut found: Vec<usize> = Vec::new();
        let groups: Vec<Vec<Option<&str>>> = if res.is_empty() {
            vec![vec![None]]
        } else {
            variants(res)
                .into_iter()
                .map(|g| g.iter().map(|l| Some(l.word.as_str())).collect())
                .collect()
        };
        for g in groups {
            let n = g.len();
            let mut rules: Vec<usize> = self
                .samples
                .iter()
                .filter(|s| s.pos == curpos && s.nvariant == n && s.lexeme.as_deref() == g[0])
                .map(|s| s.rule)
                .collect();
            rules.sort_unstable();
            rules.dedup();
            for r in rules {
                let all = g.iter().all(|w| {
                    self.samples.iter().any(|s| {
                        s.rule == r
                            && s.pos == curpos
                            && s.nvariant == n
                            && s.lexeme.as_deref() == *w
                    })
                });
                if all && stored.is_none_or(|st| st.contains(&r)) && !found.contains(&r) {
                    found.push(r);
                }
            }
        }
        found.reverse();
        found
    }

    /// checkMatch: a rule of `chain` ending at `curpos`, and whether
    /// longer ones may follow.
    fn check(&self, chain: &[usize], curpos: usize) -> (Option<Vec<Lex>>, bool) {
        for (i, r) in chain.iter().enumerate() {
            if self.subst[*r].0 == curpos {
                return (Some(self.subst[*r].1.clone()), i + 1 < chain.len());
            }
        }
        (None, true)
    }

    /// ts_lexize on a thesaurus: the one-word phrase the word completes.
    pub(crate) fn lexize_single(&self, word: &str) -> Option<Vec<Lex>> {
        let res = self.subdict.lexize(word)?;
        let chain = self.step(&res, None, 0);
        if chain.is_empty() {
            return None;
        }
        self.check(&chain, 0).0
    }
}

/// The lexemes of a dictionary's answer grouped by variant, in order.
fn variants(l: &[Lex]) -> Vec<&[Lex]> {
    let mut out = Vec::new();
    let mut st = 0;
    for i in 1..=l.len() {
        if i == l.len() || l[i].nvariant != l[i - 1].nvariant {
            out.push(&l[st..i]);
            st = i;
        }
    }
    out
}

/// How a thesaurus's attempt at a phrase starting at a token ended.
enum Attempt {
    /// The phrase's substitute, and the last token it took.
    Done(Vec<Lex>, usize),
    /// Nothing: the token goes on to the next dictionary.
    Next,
}

fn attempt(
    th: &Thesaurus,
    me: &Arc<Dictionary>,
    cfg: Config,
    tokens: &[Token],
    head: usize,
) -> Attempt {
    let Some(res) = th.subdict.lexize(&tokens[head].text) else {
        return Attempt::Next;
    };
    let mut chain = th.step(&res, None, 0);
    if chain.is_empty() {
        return Attempt::Next;
    }
    let mut tmp: Option<(Vec<Lex>, usize)> = None;
    match th.check(&chain, 0) {
        (Some(r), false) => return Attempt::Done(r, head),
        (Some(r), true) => tmp = Some((r, head)),
        (None, _) => {}
    }
    let mut curpos = 0;
    let mut j = head + 1;
    let give_up = |tmp: Option<(Vec<Lex>, usize)>| match tmp {
        Some((r, at)) => Attempt::Done(r, at),
        None => Attempt::Next,
    };
    loop {
        let Some(t) = tokens.get(j) else {
            // End of the text (isend): the thesaurus answers nothing.
            return give_up(tmp);
        };
        let map = crate::tsearch::mapping(cfg, t.ty);
        if map.is_empty() {
            j += 1;
            continue;
        }
        if !map.iter().any(|(_, d)| Arc::ptr_eq(d, me)) {
            // A token this dictionary does not take: back to the
            // ordinary walk (PostgreSQL drops a pending result here).
            return Attempt::Next;
        }
        curpos += 1;
        let next = match th.subdict.lexize(&t.text) {
            Some(r) => th.step(&r, Some(&chain), curpos),
            None => Vec::new(),
        };
        if next.is_empty() {
            return give_up(tmp);
        }
        chain = next;
        match th.check(&chain, curpos) {
            (Some(r), false) => return Attempt::Done(r, j),
            (Some(r), true) => tmp = Some((r, j)),
            (None, _) => {}
        }
        j += 1;
    }
}

/// LexizeExec over a text's tokens: for each token (or phrase a
/// thesaurus replaces) that a dictionary knows, its lexemes.
pub(crate) fn lexize_tokens(cfg: Config, tokens: &[Token]) -> Vec<Vec<Lex>> {
    let mut out = Vec::new();
    let mut head = 0;
    while head < tokens.len() {
        let map = crate::tsearch::mapping(cfg, tokens[head].ty);
        let mut next_head = head + 1;
        for (_, d) in map {
            if let Dictionary::Thesaurus(th) = &**d {
                match attempt(th, d, cfg, tokens, head) {
                    Attempt::Done(r, last) => {
                        out.push(r);
                        next_head = last + 1;
                        break;
                    }
                    Attempt::Next => continue,
                }
            }
            if let Some(l) = d.lexize(&tokens[head].text) {
                out.push(l);
                break;
            }
        }
        head = next_head;
    }
    out
}
