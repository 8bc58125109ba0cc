//! pg_operator and pg_cast read for the binder: every user-defined operator and cast, cached per backend under the catalog generation.
//!
//! Why one cached list rather than lookups by name: an expression's
//! operator is resolved on every statement bind, and most databases have
//! no user-defined operators at all, so the common answer ("none") must
//! cost one generation check. While this transaction has changed the
//! catalog itself the list is also keyed by its xid and command id (its
//! own changes become visible only as the command counter moves).

use std::cell::RefCell;
use std::rc::Rc;

use tusk_common::PgError;
use tusk_sql::operator::OperCatalog;
use tusk_storage::catalog::{PG_CAST_OID, PG_OPERATOR_OID};

use super::Session;

/// (catalog generation, and while this transaction has changed the
/// catalog: its top and current xids and command id), which the cached
/// list is valid for.
type Key = (u64, u64, u64, u32);

thread_local! {
    static CACHE: RefCell<(Key, Option<Rc<OperCatalog>>)> =
        const { RefCell::new(((u64::MAX, 0, 0, 0), None)) };
}

impl Session {
    /// Every pg_operator and pg_cast row. Called by the backend binding
    /// or running a statement.
    pub(in crate::backend) fn user_operators_impl(&self) -> Result<Rc<OperCatalog>, PgError> {
        if self.table_parts().is_err() {
            return Ok(Rc::default());
        }
        // Within a transaction that changed the catalog the rows it sees
        // change only with its command counter: binding every operator
        // of a bulk load after a CREATE TABLE must not rescan them.
        let key = if self.catalog_changed {
            (
                self.catalog_generation(),
                self.xact.top_xid_if_any(),
                self.xact.current_xid_if_any(),
                self.xact.command_id(),
            )
        } else {
            (self.catalog_generation(), 0, 0, 0)
        };
        let hit = CACHE.with(|c| {
            let c = c.borrow();
            if c.0 == key {
                c.1.clone()
            } else {
                None
            }
        });
        if let Some(h) = hit {
            return Ok(h);
        }
        let ops: Vec<Vec<tusk_sql::Value>> = self
            .catalog_rows(PG_OPERATOR_OID)?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        let casts: Vec<Vec<tusk_sql::Value>> = self
            .catalog_rows(PG_CAST_OID)?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        let names = if ops.is_empty() {
            Default::default()
        } else {
            self.schema_names()?
        };
        let cat = Rc::new(OperCatalog::from_rows(&ops, &casts, &|ns| {
            names.get(&ns).cloned().unwrap_or_default()
        }));
        CACHE.with(|c| *c.borrow_mut() = (key, Some(cat.clone())));
        Ok(cat)
    }
}
