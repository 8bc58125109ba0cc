//! The ispell dictionary template: Ispell and Hunspell (MySpell) affix files, `.dict` word lists with affix flags (single-character, `FLAG long`, `FLAG num`, `AF` aliases), and compound words, with PostgreSQL 15's spell.c semantics.
//!
//! Why these data structures and not spell.c's tries: the results depend
//! on the order in which forms are found (lexemes and their variants are
//! listed in that order), so the search follows spell.c's steps — the word
//! itself, prefixes, suffixes (shortest first) each with prefixes after,
//! then compound splits (SplitToVariants' walk, longest-word recursion
//! and compound affixes) — but answers "is this a word" and "is this a
//! beginning of a word" from hash maps and sets, which give the same
//! answers as walking the trie. Affix masks are the small regex subset the
//! files use (literals, `.`, bracket classes, `*` and `{n}`), matched at the
//! end of the word for suffixes and at its start for prefixes.
//!
//! Built once per (options) by tsdict.rs; lexize is a pure function.

use std::collections::{HashMap, HashSet};

use tusk_common::{sqlstate, PgError};

use crate::tsdict::{config_filename, err, read_data, stop_words, DictOpt, Lex};

const FF_COMPOUNDONLY: u32 = 0x01;
const FF_COMPOUNDBEGIN: u32 = 0x02;
const FF_COMPOUNDMIDDLE: u32 = 0x04;
const FF_COMPOUNDLAST: u32 = 0x08;
const FF_COMPOUNDFLAG: u32 = FF_COMPOUNDBEGIN | FF_COMPOUNDMIDDLE | FF_COMPOUNDLAST;
const FF_COMPOUNDFLAGMASK: u32 = 0x0f;
const FF_COMPOUNDPERMITFLAG: u32 = 0x10;
const FF_COMPOUNDFORBIDFLAG: u32 = 0x20;
const FF_CROSSPRODUCT: u32 = 0x40;

/// Longest word normalized, in bytes (MAXNORMLEN).
const MAX_NORM_LEN: usize = 256;
/// Most forms of one word (MAX_NORM).
const MAX_NORM: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlagMode {
    Char,
    Long,
    Num,
}

/// One element of an affix mask.
#[derive(Debug, Clone)]
enum Atom {
    Any,
    Lit(char),
    Set(bool, Vec<char>),
}

#[derive(Debug, Clone, Copy)]
enum Rep {
    One,
    Star,
    Times(usize),
}

#[derive(Debug, Clone)]
struct Affix {
    flag: String,
    suffix: bool,
    flagflags: u32,
    /// None: matches anything (mask "." or empty).
    mask: Option<Vec<(Atom, Rep)>>,
    find: String,
    repl: String,
}

/// A word of the dictionary: its flag set and compound flags.
#[derive(Debug, Clone)]
struct Entry {
    flags: String,
    compound: u32,
}

/// A compound affix (CMPDAffix).
#[derive(Debug, Clone)]
struct CompoundAffix {
    affix: Vec<char>,
    suffix: bool,
}

pub(crate) struct Ispell {
    mode: FlagMode,
    words: HashMap<String, Entry>,
    /// Every beginning of a word, the words themselves included.
    starts: HashSet<String>,
    /// Beginnings that some longer word continues.
    proper_starts: HashSet<String>,
    /// Prefix rules then suffix rules, sorted as NISortAffixes does.
    prefixes: Vec<Affix>,
    suffixes: Vec<Affix>,
    compound_affixes: Vec<CompoundAffix>,
    usecompound: bool,
    stop: HashSet<String>,
}

fn file_err(msg: String) -> PgError {
    err(sqlstate::CONFIG_FILE_ERROR, msg)
}

/// Splits a flag set into flags (getNextFlagFromString), with its errors.
fn split_flags(mode: FlagMode, set: &str) -> Result<Vec<String>, PgError> {
    let mut out = Vec::new();
    let chars: Vec<char> = set.chars().collect();
    let mut i = 0;
    match mode {
        FlagMode::Char => {
            for c in chars {
                out.push(c.to_string());
            }
        }
        FlagMode::Long => {
            while i < chars.len() {
                if i + 1 >= chars.len() {
                    return Err(file_err(format!(
                        "invalid affix flag \"{set}\" with \"long\" flag value"
                    )));
                }
                out.push(chars[i..i + 2].iter().collect());
                i += 2;
            }
        }
        FlagMode::Num => {
            while i < chars.len() {
                let rest: String = chars[i..].iter().collect();
                let st = i;
                if i < chars.len() && (chars[i] == '-' || chars[i] == '+') {
                    i += 1;
                }
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let digits: String = chars[st..i].iter().collect();
                let n: i64 = match digits.parse() {
                    Ok(n) => n,
                    Err(_) => return Err(file_err(format!("invalid affix flag \"{rest}\""))),
                };
                if !(0..=65000).contains(&n) {
                    return Err(file_err(format!("affix flag \"{rest}\" is out of range")));
                }
                out.push(n.to_string());
                let mut comma = false;
                while i < chars.len() {
                    let c = chars[i];
                    if c.is_ascii_digit() {
                        if !comma {
                            let r: String = chars[i..].iter().collect();
                            return Err(file_err(format!("invalid affix flag \"{r}\"")));
                        }
                        break;
                    } else if c == ',' {
                        if comma {
                            let r: String = chars[i..].iter().collect();
                            return Err(file_err(format!("invalid affix flag \"{r}\"")));
                        }
                        comma = true;
                    } else if !c.is_whitespace() {
                        let r: String = chars[i..].iter().collect();
                        return Err(file_err(format!("invalid character in affix flag \"{r}\"")));
                    }
                    i += 1;
                }
            }
        }
    }
    Ok(out)
}

/// The mask of an affix rule; None for one that matches any word.
fn compile_mask(mask: &str) -> Option<Vec<(Atom, Rep)>> {
    if mask.is_empty() || mask == "." {
        return None;
    }
    let c: Vec<char> = mask.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let atom = match c[i] {
            '.' => {
                i += 1;
                Atom::Any
            }
            '[' => {
                i += 1;
                let neg = c.get(i) == Some(&'^');
                if neg {
                    i += 1;
                }
                let mut set = Vec::new();
                while i < c.len() && c[i] != ']' {
                    set.push(c[i]);
                    i += 1;
                }
                i += 1;
                Atom::Set(neg, set)
            }
            ch => {
                i += 1;
                Atom::Lit(ch)
            }
        };
        let rep = match c.get(i) {
            Some('*') => {
                i += 1;
                Rep::Star
            }
            Some('{') => {
                let st = i + 1;
                let mut j = st;
                while j < c.len() && c[j] != '}' {
                    j += 1;
                }
                let n: usize = c[st..j].iter().collect::<String>().parse().unwrap_or(1);
                i = j + 1;
                Rep::Times(n)
            }
            _ => Rep::One,
        };
        out.push((atom, rep));
    }
    Some(out)
}

fn atom_matches(a: &Atom, ch: char) -> bool {
    match a {
        Atom::Any => true,
        Atom::Lit(l) => *l == ch,
        Atom::Set(neg, set) => set.contains(&ch) != *neg,
    }
}

/// Whether elems[ei..] matches w[wi..], to the end of `w` when `to_end`.
fn match_here(elems: &[(Atom, Rep)], ei: usize, w: &[char], wi: usize, to_end: bool) -> bool {
    let Some((a, r)) = elems.get(ei) else {
        return !to_end || wi == w.len();
    };
    match r {
        Rep::One => {
            wi < w.len() && atom_matches(a, w[wi]) && match_here(elems, ei + 1, w, wi + 1, to_end)
        }
        Rep::Times(n) => {
            let n = *n;
            wi + n <= w.len()
                && w[wi..wi + n].iter().all(|c| atom_matches(a, *c))
                && match_here(elems, ei + 1, w, wi + n, to_end)
        }
        Rep::Star => {
            let mut k = wi;
            loop {
                if match_here(elems, ei + 1, w, k, to_end) {
                    return true;
                }
                if k < w.len() && atom_matches(a, w[k]) {
                    k += 1;
                } else {
                    return false;
                }
            }
        }
    }
}

impl Affix {
    /// The mask check of CheckAffix on the transformed word.
    fn mask_ok(&self, word: &str) -> bool {
        let Some(m) = &self.mask else {
            return true;
        };
        let w: Vec<char> = word.chars().collect();
        if self.suffix {
            (0..=w.len()).any(|i| match_here(m, 0, &w, i, true))
        } else {
            match_here(m, 0, &w, 0, false)
        }
    }
}

/// parse_affentry: `mask > [-find,]repl` of an Ispell affix line
/// (already lower-cased); None when the line holds no rule.
fn parse_ispell_entry(s: &str) -> Result<Option<(String, String, String)>, PgError> {
    #[derive(PartialEq)]
    enum St {
        WaitMask,
        InMask,
        WaitFind,
        InFind,
        WaitRepl,
        InRepl,
    }
    let mut st = St::WaitMask;
    let (mut mask, mut find, mut repl) = (String::new(), String::new(), String::new());
    let syntax = || file_err("syntax error".into());
    for ch in s.chars() {
        match st {
            St::WaitMask => {
                if ch == '#' {
                    return Ok(None);
                } else if !ch.is_whitespace() {
                    mask.push(ch);
                    st = St::InMask;
                }
            }
            St::InMask => {
                if ch == '>' {
                    st = St::WaitFind;
                } else if !ch.is_whitespace() {
                    mask.push(ch);
                }
            }
            St::WaitFind => {
                if ch == '-' {
                    st = St::InFind;
                } else if ch.is_alphabetic() || ch == '\'' {
                    repl.push(ch);
                    st = St::InRepl;
                } else if !ch.is_whitespace() {
                    return Err(syntax());
                }
            }
            St::InFind => {
                if ch == ',' {
                    st = St::WaitRepl;
                } else if ch.is_alphabetic() {
                    find.push(ch);
                } else if !ch.is_whitespace() {
                    return Err(syntax());
                }
            }
            St::WaitRepl => {
                if ch == '-' {
                    break;
                } else if ch.is_alphabetic() {
                    repl.push(ch);
                    st = St::InRepl;
                } else if !ch.is_whitespace() {
                    return Err(syntax());
                }
            }
            St::InRepl => {
                if ch == '#' {
                    break;
                } else if ch.is_alphabetic() {
                    repl.push(ch);
                } else if !ch.is_whitespace() {
                    return Err(syntax());
                }
            }
        }
    }
    if !mask.is_empty() && (!find.is_empty() || !repl.is_empty()) {
        Ok(Some((mask, find, repl)))
    } else {
        Ok(None)
    }
}

/// The fields of a Hunspell affix line (parse_ooaffentry): up to five
/// whitespace-separated fields, a `#` at the start of a field ending it.
fn oo_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for f in line.split_whitespace() {
        if f.starts_with('#') || out.len() == 5 {
            break;
        }
        out.push(f.to_string());
    }
    out
}

/// What the affix file's parsing produces.
struct AffixFile {
    mode: FlagMode,
    affixes: Vec<Affix>,
    compound_flags: Vec<(String, u32)>,
    usecompound: bool,
    /// AF aliases (index 0: the empty set); None without AF.
    aliases: Option<Vec<String>>,
}

impl AffixFile {
    fn compound_value(&self, set: &str) -> Result<u32, PgError> {
        if self.compound_flags.is_empty() {
            return Ok(0);
        }
        let mut v = 0;
        for f in split_flags(self.mode, set)? {
            for (cf, val) in &self.compound_flags {
                if *cf == f {
                    v |= val;
                }
            }
        }
        Ok(v)
    }

    fn add_compound_flag(&mut self, rest: &str, val: u32) -> Result<(), PgError> {
        let f = rest
            .split_whitespace()
            .next()
            .ok_or_else(|| file_err("syntax error".into()))?;
        let f = if self.mode == FlagMode::Num {
            let n: i64 = f
                .trim_start_matches(|c: char| !c.is_ascii_digit() && c != '-')
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '-')
                .collect::<String>()
                .parse()
                .map_err(|_| file_err(format!("invalid affix flag \"{f}\"")))?;
            n.to_string()
        } else {
            f.to_string()
        };
        self.compound_flags.push((f, val));
        self.usecompound = true;
        Ok(())
    }

    fn add_affix(
        &mut self,
        flag: &str,
        flagflags: u32,
        mask: &str,
        find: &str,
        repl: &str,
        suffix: bool,
    ) {
        let mut ff = flagflags;
        if ff & (FF_COMPOUNDONLY | FF_COMPOUNDPERMITFLAG) != 0 && ff & FF_COMPOUNDFLAG == 0 {
            ff |= FF_COMPOUNDFLAG;
        }
        self.affixes.push(Affix {
            flag: flag.to_string(),
            suffix,
            flagflags: ff,
            mask: compile_mask(mask),
            find: find.to_string(),
            repl: repl.to_string(),
        });
    }

    /// The flag set an affix rule's `/flags` names (getAffixFlagSet).
    fn flag_set(&self, s: &str) -> Result<String, PgError> {
        let Some(al) = &self.aliases else {
            return Ok(s.to_string());
        };
        if s.is_empty() {
            return Ok(String::new());
        }
        let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
        let n: usize = digits
            .parse()
            .map_err(|_| file_err(format!("invalid affix alias \"{s}\"")))?;
        if n > 0 && n < al.len() {
            Ok(al[n].clone())
        } else if n > al.len() {
            Err(file_err(format!("invalid affix alias \"{s}\"")))
        } else {
            Ok(String::new())
        }
    }
}

/// NIImportAffixes: the Ispell format, handing over to the Hunspell one
/// at its first command.
fn import_affixes(text: &str) -> Result<AffixFile, PgError> {
    let mut af = AffixFile {
        mode: FlagMode::Char,
        affixes: Vec::new(),
        compound_flags: Vec::new(),
        usecompound: false,
        aliases: None,
    };
    let mut suffixes = false;
    let mut prefixes = false;
    let mut oldformat = false;
    let mut flag = String::new();
    let mut flagflags = 0;
    for recoded in text.lines() {
        let pstr = recoded.to_lowercase();
        if pstr.starts_with('#') || pstr.is_empty() {
            continue;
        }
        if pstr.starts_with("compoundwords") {
            if let Some(p) = recoded.find(['l', 'L']) {
                let rest = &recoded[p..];
                let rest = rest.trim_start_matches(|c: char| !c.is_whitespace());
                let rest = rest.trim_start();
                if let Some(c) = rest.chars().next() {
                    if c.is_ascii() {
                        af.add_compound_flag(rest, FF_COMPOUNDFLAG)?;
                    }
                }
                oldformat = true;
                continue;
            }
        }
        if pstr.starts_with("suffixes") {
            suffixes = true;
            prefixes = false;
            oldformat = true;
            continue;
        }
        if pstr.starts_with("prefixes") {
            suffixes = false;
            prefixes = true;
            oldformat = true;
            continue;
        }
        if pstr.starts_with("flag") {
            let mut s = recoded[4..].trim_start().chars().peekable();
            flagflags = 0;
            if s.peek() == Some(&'*') {
                flagflags |= FF_CROSSPRODUCT;
                s.next();
            } else if s.peek() == Some(&'~') {
                flagflags |= FF_COMPOUNDONLY;
                s.next();
            }
            if s.peek() == Some(&'\\') {
                s.next();
            }
            if let Some(c) = s.next().filter(|c| c.is_ascii()) {
                flag = c.to_string();
                match s.peek() {
                    None | Some('#') | Some(':') => {
                        oldformat = true;
                        continue;
                    }
                    Some(n) if n.is_whitespace() => {
                        oldformat = true;
                        continue;
                    }
                    _ => {}
                }
            }
            return new_format(text, oldformat);
        }
        if ["COMPOUNDFLAG", "COMPOUNDMIN", "PFX", "SFX"]
            .iter()
            .any(|k| recoded.starts_with(k))
        {
            return new_format(text, oldformat);
        }
        if !suffixes && !prefixes {
            continue;
        }
        if let Some((mask, find, repl)) = parse_ispell_entry(&pstr)? {
            af.add_affix(&flag, flagflags, &mask, &find, &repl, suffixes);
        }
    }
    Ok(af)
}

fn new_format(text: &str, oldformat: bool) -> Result<AffixFile, PgError> {
    if oldformat {
        return Err(file_err(
            "affix file contains both old-style and new-style commands".into(),
        ));
    }
    import_oo_affixes(text)
}

/// NIImportOOAffixes: Hunspell's PFX/SFX rules, FLAG, AF and the
/// compound options.
fn import_oo_affixes(text: &str) -> Result<AffixFile, PgError> {
    let mut af = AffixFile {
        mode: FlagMode::Char,
        affixes: Vec::new(),
        compound_flags: Vec::new(),
        usecompound: false,
        aliases: None,
    };
    let skip =
        |l: &str| l.is_empty() || l.starts_with(|c: char| c.is_whitespace()) || l.starts_with('#');
    // First pass: the options every rule depends on.
    for l in text.lines() {
        if skip(l) {
            continue;
        }
        let opts: [(&str, u32); 8] = [
            ("COMPOUNDFLAG", FF_COMPOUNDFLAG),
            ("COMPOUNDBEGIN", FF_COMPOUNDBEGIN),
            ("COMPOUNDLAST", FF_COMPOUNDLAST),
            ("COMPOUNDEND", FF_COMPOUNDLAST),
            ("COMPOUNDMIDDLE", FF_COMPOUNDMIDDLE),
            ("ONLYINCOMPOUND", FF_COMPOUNDONLY),
            ("COMPOUNDPERMITFLAG", FF_COMPOUNDPERMITFLAG),
            ("COMPOUNDFORBIDFLAG", FF_COMPOUNDFORBIDFLAG),
        ];
        if let Some((k, v)) = opts.iter().find(|(k, _)| l.starts_with(k)) {
            af.add_compound_flag(&l[k.len()..], *v)?;
        } else if let Some(rest) = l.strip_prefix("FLAG") {
            let s = rest.trim_start();
            if !s.is_empty() {
                if s.starts_with("long") {
                    af.mode = FlagMode::Long;
                } else if s.starts_with("num") {
                    af.mode = FlagMode::Num;
                } else if !s.starts_with("default") {
                    return Err(file_err(
                        "Ispell dictionary supports only \"default\", \"long\", and \"num\" flag values"
                            .into(),
                    ));
                }
            }
        }
    }
    let mut naffix = 0;
    let mut flagflags = 0;
    let mut is_suffix = false;
    for l in text.lines() {
        if skip(l) {
            continue;
        }
        let f = oo_fields(l);
        let Some(ty) = f.first() else { continue };
        let ty = ty.to_lowercase();
        let sflag = f.get(1).cloned().unwrap_or_default();
        if ty.starts_with("af") {
            match &mut af.aliases {
                None => {
                    let n: i64 = sflag
                        .chars()
                        .take_while(|c| c.is_ascii_digit())
                        .collect::<String>()
                        .parse()
                        .unwrap_or(0);
                    if n <= 0 {
                        return Err(file_err("invalid number of flag vector aliases".into()));
                    }
                    naffix = n as usize + 1;
                    af.aliases = Some(vec![String::new()]);
                }
                Some(al) => {
                    if al.len() < naffix {
                        al.push(sflag);
                    } else {
                        return Err(file_err(format!(
                            "number of aliases exceeds specified number {}",
                            naffix - 1
                        )));
                    }
                }
            }
            continue;
        }
        if f.len() < 4 || !(ty.starts_with("sfx") || ty.starts_with("pfx")) {
            continue;
        }
        let flen = sflag.chars().count();
        if flen == 0
            || (flen > 1 && af.mode == FlagMode::Char)
            || (flen > 2 && af.mode == FlagMode::Long)
        {
            continue;
        }
        if f.len() == 4 {
            is_suffix = ty.starts_with("sfx");
            flagflags = if f[2].starts_with(['y', 'Y']) {
                FF_CROSSPRODUCT
            } else {
                0
            };
            continue;
        }
        let (find, repl, mask) = (&f[2], &f[3], f.get(4).cloned().unwrap_or_default());
        let mut aflg = 0;
        if let Some(p) = repl.find('/') {
            let set = af.flag_set(&repl[p + 1..])?;
            aflg |= af.compound_value(&set)?;
        }
        let mut prepl = repl.to_lowercase();
        if let Some(p) = prepl.find('/') {
            prepl.truncate(p);
        }
        let mut pfind = find.to_lowercase();
        if find.starts_with('0') {
            pfind.clear();
        }
        if repl.starts_with('0') {
            prepl.clear();
        }
        af.add_affix(
            &sflag,
            flagflags | aflg,
            &mask.to_lowercase(),
            &pfind,
            &prepl,
            is_suffix,
        );
    }
    Ok(af)
}

/// strbcmp: strings compared from their ends.
fn strbcmp(a: &str, b: &str) -> std::cmp::Ordering {
    let a: Vec<char> = a.chars().rev().collect();
    let b: Vec<char> = b.chars().rev().collect();
    a.cmp(&b)
}

impl Ispell {
    /// dispell_init: DictFile, AffFile and StopWords.
    pub(crate) fn build(opts: &[DictOpt]) -> Result<Ispell, PgError> {
        let mut dict: Option<String> = None;
        let mut aff: Option<AffixFile> = None;
        let mut stop = None;
        let dup = |n: &str| {
            err(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("multiple {n} parameters"),
            )
        };
        for (n, v, _) in opts {
            match n.as_str() {
                "dictfile" => {
                    if dict.is_some() {
                        return Err(dup("DictFile"));
                    }
                    let path = config_filename(v, "dict")?;
                    dict = Some(read_data(&path, "dictionary file")?);
                }
                "afffile" => {
                    if aff.is_some() {
                        return Err(dup("AffFile"));
                    }
                    let path = config_filename(v, "affix")?;
                    aff = Some(import_affixes(&read_data(&path, "affix file")?)?);
                }
                "stopwords" => {
                    if stop.is_some() {
                        return Err(dup("StopWords"));
                    }
                    stop = Some(stop_words(v)?);
                }
                other => {
                    return Err(err(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!("unrecognized Ispell parameter: \"{other}\""),
                    ))
                }
            }
        }
        let (dict, aff) = match (dict, aff) {
            (Some(d), Some(a)) => (d, a),
            (_, None) => {
                return Err(err(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    "missing AffFile parameter",
                ))
            }
            (None, _) => {
                return Err(err(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    "missing DictFile parameter",
                ))
            }
        };
        Self::assemble(&dict, aff, stop.unwrap_or_default())
    }

    /// NIImportDictionary, NISortDictionary and NISortAffixes.
    fn assemble(dict: &str, af: AffixFile, stop: HashSet<String>) -> Result<Ispell, PgError> {
        // (word, flag set) in file order.
        let mut spell: Vec<(String, String)> = Vec::new();
        for line in dict.lines() {
            let (w, flags) = match line.find('/') {
                Some(p) => {
                    let f: String = line[p + 1..]
                        .chars()
                        .take_while(|c| c.is_ascii() && !c.is_ascii_control() && !c.is_whitespace())
                        .collect();
                    (&line[..p], f)
                }
                None => (line, String::new()),
            };
            let w = w.split(|c: char| c.is_whitespace()).next().unwrap_or("");
            spell.push((w.to_lowercase(), flags));
        }
        // Flag sets as the affix data gives them.
        let mut sets: Vec<(String, String)> = Vec::with_capacity(spell.len());
        if let Some(al) = &af.aliases {
            for (w, f) in &spell {
                let set = if f.is_empty() {
                    String::new()
                } else {
                    let digits: String = f.chars().take_while(|c| c.is_ascii_digit()).collect();
                    let rest = &f[digits.len()..];
                    let bad = || file_err(format!("invalid affix alias \"{f}\""));
                    let n: usize = digits.parse().map_err(|_| bad())?;
                    if n >= al.len() {
                        return Err(bad());
                    }
                    if !rest.is_empty()
                        && !rest.starts_with(|c: char| c.is_ascii_digit() || c.is_whitespace())
                    {
                        return Err(bad());
                    }
                    al[n].clone()
                };
                sets.push((w.clone(), set));
            }
        } else {
            sets = spell;
        }
        // The trie is built in word order; compound flags are computed
        // (and flag sets checked) there.
        sets.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut words: HashMap<String, Entry> = HashMap::new();
        for (w, set) in &sets {
            if w.is_empty() {
                continue;
            }
            let compound = af.compound_value(set)? & FF_COMPOUNDFLAGMASK;
            match words.get_mut(w) {
                Some(e) if e.flags != *set => {
                    let clear_only = (FF_COMPOUNDONLY & e.compound & compound) == 0;
                    let merged = if e.flags.is_empty() {
                        set.clone()
                    } else if set.is_empty() {
                        e.flags.clone()
                    } else if af.mode == FlagMode::Num {
                        format!("{},{}", e.flags, set)
                    } else {
                        format!("{}{}", e.flags, set)
                    };
                    let mut c = af.compound_value(&merged)? & FF_COMPOUNDFLAGMASK;
                    if c & FF_COMPOUNDONLY != 0 && c & FF_COMPOUNDFLAG == 0 {
                        c |= FF_COMPOUNDFLAG;
                    }
                    if clear_only {
                        c &= !FF_COMPOUNDONLY;
                    }
                    *e = Entry {
                        flags: merged,
                        compound: c,
                    };
                }
                Some(_) => {}
                None => {
                    let mut c = compound;
                    if c & FF_COMPOUNDONLY != 0 && c & FF_COMPOUNDFLAG == 0 {
                        c |= FF_COMPOUNDFLAG;
                    }
                    words.insert(
                        w.clone(),
                        Entry {
                            flags: set.clone(),
                            compound: c,
                        },
                    );
                }
            }
        }
        let mut starts = HashSet::new();
        let mut proper_starts = HashSet::new();
        for w in words.keys() {
            let idx: Vec<usize> = w.char_indices().map(|(i, _)| i).skip(1).collect();
            for i in idx {
                starts.insert(w[..i].to_string());
                proper_starts.insert(w[..i].to_string());
            }
            starts.insert(w.clone());
        }
        // Affixes: prefixes by repl, suffixes by repl read backwards
        // (a stable sort, as the C library's qsort is here).
        let mut affixes = af.affixes.clone();
        affixes.sort_by(|a, b| {
            a.suffix.cmp(&b.suffix).then_with(|| {
                if a.suffix {
                    strbcmp(&a.repl, &b.repl)
                } else {
                    a.repl.cmp(&b.repl)
                }
            })
        });
        // Flag sets in use, for isAffixInUse.
        let mut all_sets: Vec<String> = words.values().map(|e| e.flags.clone()).collect();
        if let Some(al) = &af.aliases {
            all_sets.extend(al.iter().cloned());
        }
        let mut compound_affixes: Vec<CompoundAffix> = Vec::new();
        for a in &affixes {
            if a.flagflags & FF_COMPOUNDFLAG != 0 && !a.repl.is_empty() {
                let mut used = false;
                for s in &all_sets {
                    if split_flags(af.mode, s)?.contains(&a.flag) {
                        used = true;
                        break;
                    }
                }
                if !used {
                    continue;
                }
                let repl: Vec<char> = a.repl.chars().collect();
                let same = compound_affixes.last().is_some_and(|p| {
                    p.suffix == a.suffix && {
                        let n = p.affix.len();
                        let x: Vec<char> = p.affix.iter().rev().take(n).copied().collect();
                        let y: Vec<char> = repl.iter().rev().take(n).copied().collect();
                        x == y && (y.len() == n || x.len() == n)
                    }
                });
                if !same {
                    compound_affixes.push(CompoundAffix {
                        affix: repl,
                        suffix: a.suffix,
                    });
                }
            }
        }
        let (prefixes, suffixes): (Vec<Affix>, Vec<Affix>) =
            affixes.into_iter().partition(|a| !a.suffix);
        Ok(Ispell {
            mode: af.mode,
            words,
            starts,
            proper_starts,
            prefixes,
            suffixes,
            compound_affixes,
            usecompound: af.usecompound,
            stop,
        })
    }

    /// FindWord: `word` is a dictionary word allowed in this compound
    /// position whose flags include `affixflag` ("" for any).
    fn find_word(&self, word: &str, affixflag: &str, flag: u32) -> bool {
        let flag = flag & FF_COMPOUNDFLAGMASK;
        let Some(e) = self.words.get(word) else {
            return false;
        };
        if flag == 0 {
            if e.compound & FF_COMPOUNDONLY != 0 {
                return false;
            }
        } else if flag & e.compound == 0 {
            return false;
        }
        if affixflag.is_empty() {
            return true;
        }
        split_flags(self.mode, &e.flags).is_ok_and(|fs| fs.iter().any(|f| f == affixflag))
    }

    /// The affixes whose repl is a prefix (or suffix) of `word`, grouped
    /// shortest repl first, as FindAffixes walks them.
    fn affix_groups<'a>(list: &'a [Affix], word: &str, suffix: bool) -> Vec<Vec<&'a Affix>> {
        let n = word.chars().count();
        let mut by_len: Vec<Vec<&Affix>> = vec![Vec::new(); n + 1];
        for a in list {
            let l = a.repl.chars().count();
            if l > n {
                continue;
            }
            let hit = if suffix {
                word.ends_with(a.repl.as_str())
            } else {
                word.starts_with(a.repl.as_str())
            };
            if hit {
                by_len[l].push(a);
            }
        }
        by_len.into_iter().filter(|g| !g.is_empty()).collect()
    }

    /// CheckAffix: the word with `a` taken off, if the rule applies.
    fn check_affix(
        word: &str,
        a: &Affix,
        flagflags: u32,
        baselen: Option<&mut usize>,
    ) -> Option<String> {
        if flagflags == 0 {
            if a.flagflags & FF_COMPOUNDONLY != 0 {
                return None;
            }
        } else if flagflags & FF_COMPOUNDBEGIN != 0 {
            if a.flagflags & FF_COMPOUNDFORBIDFLAG != 0 {
                return None;
            }
            if a.flagflags & FF_COMPOUNDBEGIN == 0 && a.suffix {
                return None;
            }
        } else if flagflags & FF_COMPOUNDMIDDLE != 0 {
            if a.flagflags & FF_COMPOUNDMIDDLE == 0 || a.flagflags & FF_COMPOUNDFORBIDFLAG != 0 {
                return None;
            }
        } else if flagflags & FF_COMPOUNDLAST != 0 {
            if a.flagflags & FF_COMPOUNDFORBIDFLAG != 0 {
                return None;
            }
            if a.flagflags & FF_COMPOUNDLAST == 0 && !a.suffix {
                return None;
            }
        }
        if word.len() < a.repl.len() {
            return None;
        }
        let keep = word.len() - a.repl.len();
        if keep + a.find.len() >= 2 * MAX_NORM_LEN {
            return None;
        }
        let new = if a.suffix {
            if let Some(b) = baselen {
                *b = keep;
            }
            format!("{}{}", &word[..keep], a.find)
        } else {
            if let Some(b) = baselen {
                if *b + a.find.len() <= a.repl.len() {
                    return None;
                }
            }
            format!("{}{}", a.find, &word[a.repl.len()..])
        };
        a.mask_ok(&new).then_some(new)
    }

    /// NormalizeSubWord: the dictionary forms of `word` in compound
    /// position `flag` (0: a whole word).
    fn normalize_sub(&self, word: &str, flag: u32) -> Vec<String> {
        let mut forms: Vec<String> = Vec::new();
        let add = |forms: &mut Vec<String>, w: &str| {
            if forms.len() < MAX_NORM - 1 && forms.last().map(String::as_str) != Some(w) {
                forms.push(w.to_string());
            }
        };
        if word.len() > MAX_NORM_LEN {
            return forms;
        }
        if self.find_word(word, "", flag) {
            add(&mut forms, word);
        }
        for g in Self::affix_groups(&self.prefixes, word, false) {
            for a in g {
                if let Some(nw) = Self::check_affix(word, a, flag, None) {
                    if self.find_word(&nw, &a.flag, flag) {
                        add(&mut forms, &nw);
                    }
                }
            }
        }
        for g in Self::affix_groups(&self.suffixes, word, true) {
            let mut baselen = 0usize;
            for s in g {
                let Some(nw) = Self::check_affix(word, s, flag, Some(&mut baselen)) else {
                    continue;
                };
                if self.find_word(&nw, &s.flag, flag) {
                    add(&mut forms, &nw);
                }
                for pg in Self::affix_groups(&self.prefixes, &nw, false) {
                    for p in pg {
                        if let Some(pw) = Self::check_affix(&nw, p, flag, Some(&mut baselen)) {
                            let ff = if p.flagflags & s.flagflags & FF_CROSSPRODUCT != 0 {
                                ""
                            } else {
                                p.flag.as_str()
                            };
                            if self.find_word(&pw, ff, flag) {
                                add(&mut forms, &pw);
                            }
                        }
                    }
                }
            }
        }
        forms
    }

    /// CheckCompoundAffixes from index `*ptr`: the length of a compound
    /// affix found at (or, not in place, in) `word`.
    fn check_compound_affixes(
        &self,
        ptr: &mut usize,
        word: &[char],
        in_place: bool,
    ) -> Option<usize> {
        while let Some(ca) = self.compound_affixes.get(*ptr) {
            *ptr += 1;
            let n = ca.affix.len();
            if word.len() <= n {
                continue;
            }
            if in_place {
                if word[..n] == ca.affix[..] {
                    return Some(if ca.suffix { n } else { 0 });
                }
            } else if let Some(at) = word.windows(n).position(|w| w == &ca.affix[..]) {
                return Some(if ca.suffix { n + at } else { 0 });
            }
        }
        None
    }

    /// SplitToVariants: the ways `word` splits into compound parts, in
    /// the order PostgreSQL's list holds them (this call's own variant
    /// first, then the ones its recursions appended).
    fn split(
        &self,
        in_node: bool,
        orig: &[String],
        word: &[char],
        mut startpos: usize,
        minpos: isize,
        depth: usize,
    ) -> Vec<Vec<String>> {
        let wordlen = word.len();
        let mut var: Vec<String> = orig.to_vec();
        let mut appended: Vec<Vec<String>> = Vec::new();
        if depth > 64 {
            var.push(word[startpos..].iter().collect());
            return vec![var];
        }
        let mut notprobed = vec![true; wordlen];
        let mut node = true;
        let mut level: usize = if in_node {
            minpos.max(0) as usize
        } else {
            startpos
        };
        let s = |a: usize, b: usize| -> String { word[a..b].iter().collect() };
        while level < wordlen {
            let mut caff = 0usize;
            // Compound affixes only after the start of a part.
            if level > startpos {
                while let Some(lenaff) =
                    self.check_compound_affixes(&mut caff, &word[level..], node)
                {
                    let lenaff = level - startpos + lenaff;
                    if lenaff == 0 || !notprobed[startpos + lenaff - 1] {
                        continue;
                    }
                    if (level + lenaff) as isize - 1 <= minpos {
                        continue;
                    }
                    if lenaff >= MAX_NORM_LEN {
                        continue;
                    }
                    let buf = s(startpos, startpos + lenaff);
                    let cflag = if level == 0 {
                        FF_COMPOUNDBEGIN
                    } else if level == wordlen - 1 {
                        FF_COMPOUNDLAST
                    } else {
                        FF_COMPOUNDMIDDLE
                    };
                    let sub = self.normalize_sub(&buf, cflag);
                    if !sub.is_empty() {
                        notprobed[startpos + lenaff - 1] = false;
                        let mut new = var.clone();
                        new.extend(sub);
                        let rest = self.split(
                            false,
                            &new,
                            word,
                            startpos + lenaff,
                            (startpos + lenaff) as isize,
                            depth + 1,
                        );
                        appended.extend(rest);
                    }
                }
            }
            if !node {
                break;
            }
            let sub = s(startpos, level + 1);
            if self.starts.contains(&sub) {
                let cflag = if startpos == 0 {
                    FF_COMPOUNDBEGIN
                } else if level == wordlen - 1 {
                    FF_COMPOUNDLAST
                } else {
                    FF_COMPOUNDMIDDLE
                };
                let isword = self
                    .words
                    .get(&sub)
                    .is_some_and(|e| e.compound & cflag != 0);
                if isword && notprobed[level] && level as isize > minpos {
                    if wordlen == level + 1 {
                        var.push(s(startpos, wordlen));
                        let mut out = vec![var];
                        out.extend(appended);
                        return out;
                    }
                    let longer = self.split(true, &var, word, startpos, level as isize, depth + 1);
                    appended.extend(longer);
                    level += 1;
                    var.push(s(startpos, level));
                    startpos = level;
                    node = true;
                    continue;
                }
                node = self.proper_starts.contains(&sub);
            } else {
                node = false;
            }
            level += 1;
        }
        var.push(s(startpos, wordlen));
        let mut out = vec![var];
        out.extend(appended);
        out
    }

    /// dispell_lexize: NINormalizeWord's lexemes and variants, stop
    /// words removed.
    pub(crate) fn lexize(&self, word: &str) -> Option<Vec<Lex>> {
        let word = word.to_lowercase();
        let mut out: Vec<Lex> = Vec::new();
        let mut nvariant: u16 = 1;
        for f in self.normalize_sub(&word, 0) {
            out.push(Lex {
                word: f,
                nvariant,
                flags: 0,
            });
            nvariant += 1;
        }
        if self.usecompound {
            let chars: Vec<char> = word.chars().collect();
            for var in self.split(false, &[], &chars, 0, -1, 0) {
                if var.len() < 2 {
                    continue;
                }
                let last = &var[var.len() - 1];
                for sub in self.normalize_sub(last, FF_COMPOUNDLAST) {
                    for stem in &var[..var.len() - 1] {
                        out.push(Lex {
                            word: stem.clone(),
                            nvariant,
                            flags: 0,
                        });
                    }
                    out.push(Lex {
                        word: sub,
                        nvariant,
                        flags: 0,
                    });
                    nvariant += 1;
                }
            }
        }
        if out.is_empty() {
            return None;
        }
        out.truncate(MAX_NORM - 1);
        out.retain(|l| !self.stop.contains(&l.word));
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ispell(affix: &str, dict: &str) -> Ispell {
        Ispell::assemble(dict, import_affixes(affix).unwrap(), HashSet::new()).unwrap()
    }

    fn words(d: &Ispell, w: &str) -> Vec<String> {
        d.lexize(w)
            .unwrap_or_default()
            .into_iter()
            .map(|l| l.word)
            .collect()
    }

    #[test]
    fn ispell_format_affixes_and_compounds() {
        let affix = "compoundwords controlled Z\n\nprefixes\n\nflag *B:\n\t.  > RE\n\nsuffixes\n\nflag *J:\n\t[^E] > INGS\n\nflag *G:\n\t[^E] > ING\n\nflag *S:\n\t[^SXZHY] > S\n\nflag *A:\n\t[^AEIOU]Y > -Y,IES\n\nflag ~\\\\:\n\t[^Y] > Y\n";
        let dict = "book/GJUS\nbooking/SB\nfootballklubber\nfoot/ZS\nfootball/Z\nball/SZ\\\nklubber/Z\nsky/A\n";
        let d = ispell(affix, dict);
        assert_eq!(words(&d, "skies"), vec!["sky"]);
        assert_eq!(words(&d, "rebookings"), vec!["booking", "book"]);
        assert!(d.lexize("rebook").is_none());
        assert_eq!(
            words(&d, "footballklubber"),
            vec![
                "footballklubber",
                "foot",
                "ball",
                "klubber",
                "football",
                "klubber"
            ]
        );
        assert_eq!(words(&d, "ballyklubber"), vec!["ball", "klubber"]);
    }

    #[test]
    fn masks() {
        let m = compile_mask("[^aeiou]y{1}");
        let a = Affix {
            flag: "A".into(),
            suffix: true,
            flagflags: 0,
            mask: m,
            find: "y".into(),
            repl: "ies".into(),
        };
        assert!(a.mask_ok("sky"));
        assert!(!a.mask_ok("key"));
    }

    #[test]
    fn num_flags() {
        assert_eq!(
            split_flags(FlagMode::Num, "302,301").unwrap(),
            vec!["302", "301"]
        );
        assert!(split_flags(FlagMode::Num, "SZ\\").is_err());
        assert!(split_flags(FlagMode::Long, "abc").is_err());
    }
}
