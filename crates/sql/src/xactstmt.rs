//! BEGIN / START TRANSACTION with transaction modes, SET TRANSACTION and
//! SET SESSION CHARACTERISTICS AS TRANSACTION, parsed from their text:
//! sqlparser has no DEFERRABLE, and reads SET TRANSACTION only to refuse
//! it. The modes become settings (transaction_isolation,
//! transaction_read_only, transaction_deferrable, or their default_*
//! counterparts), as PostgreSQL's SetPGVariable does with them.

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::role::{syntax_at, tokens, P, T};
use crate::utility::Utility;

/// Whether a statement's leading words make it one this module parses.
/// A bare BEGIN [WORK | TRANSACTION] or START TRANSACTION stays with
/// sqlparser (and the parse cache).
pub(crate) fn is_transaction_statement(w: &[&str]) -> bool {
    match w {
        ["SET", "TRANSACTION", ..]
        | ["SET", "SESSION" | "LOCAL", "TRANSACTION", ..]
        | ["SET", "SESSION", "CHARACTERISTICS", ..] => true,
        ["START", "TRANSACTION", _, ..] => true,
        ["BEGIN", "WORK" | "TRANSACTION", _, ..] => true,
        ["BEGIN", second, ..] => !matches!(*second, "WORK" | "TRANSACTION" | ";"),
        _ => false,
    }
}

impl P {
    fn at_end(&self) -> bool {
        self.i >= self.t.len()
    }

    /// PostgreSQL's transaction_mode_list: items separated by commas or
    /// just by spaces.
    fn modes(&mut self) -> Result<Vec<(&'static str, &'static str)>, PgError> {
        let mut out = Vec::new();
        loop {
            let m = if self.kw("ISOLATION") {
                self.expect("LEVEL")?;
                let level = if self.kw("SERIALIZABLE") {
                    "serializable"
                } else if self.kw("REPEATABLE") {
                    self.expect("READ")?;
                    "repeatable read"
                } else if self.kw("READ") {
                    if self.kw("COMMITTED") {
                        "read committed"
                    } else {
                        self.expect("UNCOMMITTED")?;
                        "read uncommitted"
                    }
                } else {
                    return Err(syntax_at(self.t.get(self.i)));
                };
                ("transaction_isolation", level)
            } else if self.kw("READ") {
                if self.kw("ONLY") {
                    ("transaction_read_only", "on")
                } else {
                    self.expect("WRITE")?;
                    ("transaction_read_only", "off")
                }
            } else if self.kw("DEFERRABLE") {
                ("transaction_deferrable", "on")
            } else if self.kw("NOT") {
                self.expect("DEFERRABLE")?;
                ("transaction_deferrable", "off")
            } else {
                return Err(syntax_at(self.t.get(self.i)));
            };
            out.push(m);
            if self.at_end() {
                return Ok(out);
            }
            if self.t.get(self.i) == Some(&T::Comma) {
                self.i += 1;
            }
        }
    }
}

/// Parses a statement [`is_transaction_statement`] accepted.
pub(crate) fn parse(sql: &str) -> Result<Utility, PgError> {
    let mut p = P {
        t: tokens(sql)?,
        i: 0,
    };
    if p.kw("SET") {
        let session = if p.kw("SESSION") {
            if p.kw("CHARACTERISTICS") {
                p.expect("AS")?;
                true
            } else {
                false
            }
        } else {
            p.kw("LOCAL");
            false
        };
        p.expect("TRANSACTION")?;
        if !session && p.kw("SNAPSHOT") {
            return match p.t.get(p.i) {
                Some(T::Str(s)) if p.i + 1 == p.t.len() => {
                    Ok(Utility::SetTransactionSnapshot(s.clone()))
                }
                Some(T::Str(_)) => Err(syntax_at(p.t.get(p.i + 1))),
                t => Err(syntax_at(t)),
            };
        }
        let modes = p.modes()?;
        return Ok(Utility::SetTransaction { modes, session });
    }
    let tag = if p.kw("START") {
        p.expect("TRANSACTION")?;
        "START TRANSACTION"
    } else {
        p.expect("BEGIN")?;
        if !p.kw("WORK") {
            p.kw("TRANSACTION");
        }
        "BEGIN"
    };
    let modes = if p.at_end() { Vec::new() } else { p.modes()? };
    Ok(Utility::Begin { tag, modes })
}

/// SET TRANSACTION SNAPSHOT: tusk exports no snapshots, so none can be
/// imported; the checks before the look-up are PostgreSQL 15's
/// (ImportSnapshot), in its order, and a snapshot not found is an
/// invalid identifier there too.
pub(crate) fn import_snapshot(id: &str, in_block: bool, isolation: &str) -> Result<(), PgError> {
    if !in_block {
        return Err(PgError::error(
            sqlstate::ACTIVE_SQL_TRANSACTION,
            "SET TRANSACTION SNAPSHOT must be called before any query",
        ));
    }
    if isolation == "read committed" || isolation == "read uncommitted" {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "a snapshot-importing transaction must have isolation level SERIALIZABLE or REPEATABLE READ",
        ));
    }
    Err(PgError::error(
        sqlstate::INVALID_PARAMETER_VALUE,
        format!("invalid snapshot identifier: \"{id}\""),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_separated_by_commas_or_spaces() {
        assert_eq!(
            parse("START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ WRITE, DEFERRABLE")
                .unwrap(),
            Utility::Begin {
                tag: "START TRANSACTION",
                modes: vec![
                    ("transaction_isolation", "repeatable read"),
                    ("transaction_read_only", "off"),
                    ("transaction_deferrable", "on"),
                ],
            }
        );
        assert_eq!(
            parse("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY NOT DEFERRABLE").unwrap(),
            Utility::SetTransaction {
                modes: vec![
                    ("transaction_read_only", "on"),
                    ("transaction_deferrable", "off"),
                ],
                session: true,
            }
        );
        assert!(parse("SET TRANSACTION READ").is_err());
        assert!(parse("BEGIN ISOLATION LEVEL SNAPSHOT").is_err());
    }
}
