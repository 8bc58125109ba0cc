//! pg_operator and pg_cast read for the binder: every user-defined operator and cast, cached per backend under the catalog generation.
//!
//! Why one cached list rather than lookups by name: an expression's
//! operator is resolved on every statement bind, and most databases have
//! no user-defined operators at all, so the common answer ("none") must
//! cost one generation check. The list bypasses the cache while this
//! transaction has changed the catalog itself (section 12's rule, as
//! routine lookups do).

use std::cell::RefCell;
use std::rc::Rc;

use tusk_common::PgError;
use tusk_sql::operator::OperCatalog;
use tusk_storage::catalog::{PG_CAST_OID, PG_OPERATOR_OID};

use super::Session;

thread_local! {
    /// (catalog generation, the operators and casts then).
    static CACHE: RefCell<(u64, Option<Rc<OperCatalog>>)> = const { RefCell::new((u64::MAX, None)) };
}

impl Session {
    /// Every pg_operator and pg_cast row. Called by the backend binding
    /// or running a statement.
    pub(in crate::backend) fn user_operators_impl(&self) -> Result<Rc<OperCatalog>, PgError> {
        if self.table_parts().is_err() {
            return Ok(Rc::default());
        }
        let generation = self.catalog_generation();
        if !self.catalog_changed {
            let hit = CACHE.with(|c| {
                let c = c.borrow();
                if c.0 == generation {
                    c.1.clone()
                } else {
                    None
                }
            });
            if let Some(h) = hit {
                return Ok(h);
            }
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
        if !self.catalog_changed {
            CACHE.with(|c| *c.borrow_mut() = (generation, Some(cat.clone())));
        }
        Ok(cat)
    }
}
