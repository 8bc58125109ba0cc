//! The ispell dictionary template (placeholder while it is written).

use tusk_common::PgError;

use crate::tsdict::{DictOpt, Lex};

pub(crate) struct Ispell {}

impl Ispell {
    pub(crate) fn build(_opts: &[DictOpt]) -> Result<Ispell, PgError> {
        Ok(Ispell {})
    }
    pub(crate) fn lexize(&self, _word: &str) -> Option<Vec<Lex>> {
        None
    }
}
