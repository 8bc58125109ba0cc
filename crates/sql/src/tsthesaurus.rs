//! The thesaurus dictionary template (placeholder while it is written).

use tusk_common::PgError;

use crate::tsdict::{DictOpt, Lex};

pub(crate) struct Thesaurus {}

impl Thesaurus {
    pub(crate) fn build(_host: &mut dyn crate::host::Host, _opts: &[DictOpt]) -> Result<Thesaurus, PgError> {
        Ok(Thesaurus {})
    }
    pub(crate) fn lexize_single(&self, _word: &str) -> Option<Vec<Lex>> {
        None
    }
}

/// LexizeExec over a text's tokens: for each token (or phrase a
/// thesaurus replaces) that a dictionary knows, its lexemes.
pub(crate) fn lexize_tokens(cfg: crate::tsearch::Config, tokens: &[crate::tsearch::Token]) -> Vec<Vec<Lex>> {
    let mut out = Vec::new();
    for t in tokens {
        if let Some((_, l)) = crate::tsearch::lexize(crate::tsearch::mapping(cfg, t.ty), &t.text) {
            out.push(l);
        }
    }
    out
}
