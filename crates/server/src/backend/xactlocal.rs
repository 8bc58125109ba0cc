//! What a session keeps for one transaction besides its settings: the
//! identity to restore after SET LOCAL ROLE / SESSION AUTHORIZATION,
//! whether a statement took a snapshot yet (the "must be called before any
//! query" checks of SET TRANSACTION), and the characteristics that COMMIT
//! or ROLLBACK AND CHAIN carry into the next transaction. Kept apart from
//! backend.rs so that every per-transaction hook reads in one place, and
//! all of it ends in [`Session::xact_local_ended`].

use std::cell::Cell;

use tusk_common::sqlstate;
use tusk_common::{PgError, Severity};
use tusk_sql::role::RoleCommand;

use super::Session;

/// The transaction characteristics, as settings (PostgreSQL's
/// SavedTransactionCharacteristics).
pub(super) const CHARACTERISTICS: [&str; 3] = [
    "transaction_isolation",
    "transaction_read_only",
    "transaction_deferrable",
];

#[derive(Default)]
pub(super) struct XactLocal {
    /// (current_user, session_user, is_superuser) before the
    /// transaction's first SET LOCAL ROLE / SESSION AUTHORIZATION.
    identity: Option<(String, String, bool)>,
    /// A statement of this transaction took a snapshot (PostgreSQL's
    /// FirstSnapshotSet).
    pub(super) snapshot_taken: Cell<bool>,
    /// AND CHAIN: the ending transaction's characteristics, for the one
    /// that starts next.
    pub(super) chain: Option<Vec<(&'static str, String)>>,
}

impl Session {
    /// SET LOCAL ROLE / SET LOCAL SESSION AUTHORIZATION: as the SET, and
    /// the identity before it comes back when the transaction ends.
    pub(super) fn set_role_locally(&mut self, inner: &RoleCommand) -> Result<(), PgError> {
        if !self.xact.is_transaction_block() {
            tusk_sql::Host::notice(
                self,
                PgError::new(
                    Severity::Warning,
                    sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                    "SET LOCAL can only be used in transaction blocks",
                ),
            );
        }
        let before = (
            self.id.user.clone(),
            self.id.session_user.clone(),
            self.id.is_superuser,
        );
        match inner {
            RoleCommand::SetRole(r) => self.set_role(r.as_deref())?,
            RoleCommand::SetSessionAuthorization(r) => {
                self.set_session_authorization(r.as_deref())?
            }
            other => return self.run_role_command(other),
        }
        if self.xact_local.identity.is_none() {
            self.xact_local.identity = Some(before);
        }
        Ok(())
    }

    /// A plain SET ROLE / SESSION AUTHORIZATION: its value outlives the
    /// transaction, so an earlier SET LOCAL's is not restored over it.
    pub(super) fn role_set_for_session(&mut self) {
        self.xact_local.identity = None;
    }

    /// The transaction ended: SET LOCAL's identity is undone, and the
    /// next transaction has taken no snapshot yet.
    pub(super) fn xact_local_ended(&mut self) {
        self.xact_local.snapshot_taken.set(false);
        if let Some((user, session_user, superuser)) = self.xact_local.identity.take() {
            self.id.user = user;
            self.id.session_user = session_user.clone();
            self.id.is_superuser = superuser;
            self.settings.set_session_user(&session_user, superuser);
            self.send_changed(vec!["session_authorization", "is_superuser"]);
        }
    }
}

/// Whether a boolean setting's text says false (PostgreSQL's parse_bool).
fn says_false(v: &str) -> bool {
    let v = v.trim().to_ascii_lowercase();
    !v.is_empty()
        && ("false".starts_with(&v) || "no".starts_with(&v) || v == "0" || v == "off" || v == "of")
}

impl Session {
    /// PostgreSQL's check hooks of the transaction characteristics: they
    /// may change only before the transaction's first snapshot and, but
    /// for going read-only, not inside a subtransaction.
    pub(super) fn check_xact_characteristic(
        &self,
        name: &str,
        value: Option<&str>,
    ) -> Result<(), PgError> {
        let Some(def) = tusk_config::find(name) else {
            return Ok(());
        };
        let Some(value) = value else {
            return Ok(());
        };
        if !self.xact.in_transaction() {
            return Ok(());
        }
        let active = |m: &str| {
            Err(PgError::error(
                sqlstate::ACTIVE_SQL_TRANSACTION,
                m.to_string(),
            ))
        };
        let sub = self.xact.subtransaction_depth() > 0;
        let queried = self.xact_local.snapshot_taken.get();
        match def.name {
            "transaction_read_only" => {
                let read_only = self
                    .settings
                    .current_setting("transaction_read_only", true)?
                    .is_some_and(|v| v == "on");
                if says_false(value) && read_only {
                    if sub {
                        return active(
                            "cannot set transaction read-write mode inside a read-only transaction",
                        );
                    }
                    if queried {
                        return active("transaction read-write mode must be set before any query");
                    }
                }
            }
            "transaction_isolation" => {
                let now = self
                    .settings
                    .current_setting("transaction_isolation", true)?
                    .unwrap_or_default();
                if !value.trim().eq_ignore_ascii_case(&now) {
                    if queried {
                        return active(
                            "SET TRANSACTION ISOLATION LEVEL must be called before any query",
                        );
                    }
                    if sub {
                        return active(
                            "SET TRANSACTION ISOLATION LEVEL must not be called in a subtransaction",
                        );
                    }
                }
            }
            "transaction_deferrable" => {
                if sub {
                    return active(
                        "SET TRANSACTION [NOT] DEFERRABLE cannot be called within a subtransaction",
                    );
                }
                if queried {
                    return active(
                        "SET TRANSACTION [NOT] DEFERRABLE must be called before any query",
                    );
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// One mode of BEGIN or SET TRANSACTION: SET LOCAL of its setting,
    /// checked, without SET LOCAL's warning outside a block (SET
    /// TRANSACTION words its own).
    pub(super) fn set_transaction_mode_impl(
        &mut self,
        name: &str,
        value: &str,
    ) -> Result<(), PgError> {
        self.check_xact_characteristic(name, Some(value))?;
        let su = self.id.is_superuser;
        self.settings.set(name, Some(value), true, su)?;
        Ok(())
    }

    /// COMMIT/ROLLBACK AND CHAIN: the characteristics of the transaction
    /// told to end, for the one [`Self::start_chained`] opens.
    pub(super) fn chain_transaction_impl(&mut self) -> Result<(), PgError> {
        let mut kept = Vec::with_capacity(CHARACTERISTICS.len());
        for name in CHARACTERISTICS {
            let v = self
                .settings
                .current_setting(name, false)?
                .unwrap_or_default();
            kept.push((name, v));
        }
        self.xact_local.chain = Some(kept);
        Ok(())
    }

    /// After a transaction ended by AND CHAIN: the next block is open at
    /// once (PostgreSQL's TBLOCK_END with chain: StartTransaction, then
    /// TBLOCK_INPROGRESS) with the same characteristics.
    pub(super) fn start_chained(&mut self) {
        let Some(kept) = self.xact_local.chain.take() else {
            return;
        };
        self.start_xact_command();
        if self.xact.begin_block().is_err() {
            return;
        }
        // BEGIN's block becomes in progress when its command completes.
        let _ = self.xact.commit_command();
        let su = self.id.is_superuser;
        for (name, value) in kept {
            let _ = self.settings.set(name, Some(&value), true, su);
        }
    }
}
