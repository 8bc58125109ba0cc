//! Storage parameters in a backend: pg_class.reloptions and
//! pg_attribute.attstattarget / attoptions written for the SQL layer's
//! reloptions.rs (which parses and checks them), and the heap fillfactor
//! read back for inserts.
//!
//! Why this shape: the lists are validated once, by the SQL layer, with
//! PostgreSQL's messages; here they are only stored. The fillfactor an
//! insert needs is remembered per table when the relation is resolved
//! (the statement resolves its tables first), so a heap insert costs no
//! catalog read for it.

use tusk_common::{sqlstate, PgError};
use tusk_sql::Value;
use tusk_storage::catalog::{self as cat, PG_ATTRIBUTE_OID, PG_CLASS_OID};

use super::Session;

impl Session {
    /// Tables::set_reloptions.
    pub(super) fn set_reloptions_impl(
        &mut self,
        oid: u32,
        items: &[String],
    ) -> Result<(), PgError> {
        let c = cat::catalog(PG_CLASS_OID);
        let Some((tid, mut class)) = self.catalog_by_oid(cat::PG_CLASS_OID_INDEX, oid)? else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation with OID {oid} does not exist"),
            ));
        };
        class[c.col("reloptions")] = super::view::reloptions(items);
        self.update_catalog(PG_CLASS_OID, tid, &class)?;
        self.note_fillfactor(oid, items);
        self.xact.command_counter_increment();
        Ok(())
    }

    /// Tables::set_column_storage.
    pub(super) fn set_column_storage_impl(
        &mut self,
        rel: u32,
        attnum: i16,
        storage: u8,
    ) -> Result<(), PgError> {
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        let (tid, mut r) = self.attribute_row(rel, attnum)?;
        r[a.col("attstorage")] = Value::Char(storage);
        self.update_catalog(PG_ATTRIBUTE_OID, tid, &r)?;
        self.xact.command_counter_increment();
        Ok(())
    }

    /// The pg_attribute row of column `attnum` of `rel`.
    fn attribute_row(
        &self,
        rel: u32,
        attnum: i16,
    ) -> Result<(tusk_storage::heaptuple::ItemPointer, Vec<Value>), PgError> {
        self.catalog_lookup(
            cat::PG_ATTRIBUTE_RELID_ATTNUM_INDEX,
            &[Value::Oid(rel), Value::Int2(attnum)],
        )?
        .into_iter()
        .next()
        .ok_or_else(|| {
            PgError::error(
                sqlstate::UNDEFINED_COLUMN,
                format!("column number {attnum} of relation with OID {rel} does not exist"),
            )
        })
    }

    /// Tables::set_column_options.
    pub(super) fn set_column_options_impl(
        &mut self,
        rel: u32,
        attnum: i16,
        stattarget: Option<i32>,
        options: Option<&[String]>,
    ) -> Result<(), PgError> {
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        let (tid, mut r) = self.attribute_row(rel, attnum)?;
        if let Some(t) = stattarget {
            r[a.col("attstattarget")] = Value::Int4(t);
        }
        if let Some(items) = options {
            r[a.col("attoptions")] = super::view::reloptions(items);
        }
        self.update_catalog(PG_ATTRIBUTE_OID, tid, &r)?;
        self.xact.command_counter_increment();
        Ok(())
    }

    /// A boolean storage parameter of relation `oid` (None: not set).
    pub(super) fn relation_bool_option(
        &self,
        oid: u32,
        name: &str,
    ) -> Result<Option<bool>, PgError> {
        Ok(self
            .relation_options_impl(oid)?
            .iter()
            .filter_map(|i| i.split_once('='))
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| tusk_sql::reloptions::parse_bool(v)))
    }

    /// Table `oid`'s autovacuum thresholds: `base` (the settings) with
    /// its autovacuum_vacuum_[insert_]threshold / _scale_factor storage
    /// parameters in their place; None when autovacuum_enabled is off.
    pub(super) fn av_thresholds_of(
        &self,
        oid: u32,
        base: &tusk_storage::pgstat::AvThresholds,
    ) -> Result<Option<tusk_storage::pgstat::AvThresholds>, PgError> {
        let items = self.relation_options_impl(oid)?;
        let get = |name: &str| {
            items
                .iter()
                .filter_map(|i| i.split_once('='))
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| v.trim().parse::<f64>().ok())
        };
        let enabled = items
            .iter()
            .filter_map(|i| i.strip_prefix("autovacuum_enabled="))
            .find_map(tusk_sql::reloptions::parse_bool);
        if enabled == Some(false) {
            return Ok(None);
        }
        let mut t = *base;
        if let Some(v) = get("autovacuum_vacuum_threshold") {
            t.vac_threshold = v.round() as i64;
        }
        if let Some(v) = get("autovacuum_vacuum_scale_factor") {
            t.vac_scale = v;
        }
        if let Some(v) = get("autovacuum_vacuum_insert_threshold") {
            t.ins_threshold = v.round() as i64;
        }
        if let Some(v) = get("autovacuum_vacuum_insert_scale_factor") {
            t.ins_scale = v;
        }
        Ok(Some(t))
    }

    /// Remembers table `oid`'s heap fillfactor from its reloptions (see
    /// the file comment); 100 is the default and not kept.
    pub(super) fn note_fillfactor(&self, oid: u32, items: &[String]) {
        let ff = tusk_sql::reloptions::fillfactor(items);
        let mut m = self.fillfactors.borrow_mut();
        if ff == 100 {
            m.remove(&oid);
        } else {
            m.insert(oid, ff);
        }
    }

    /// The heap fillfactor remembered for table `oid` (100: none set).
    pub(super) fn fillfactor_of(&self, oid: u32) -> u8 {
        self.fillfactors.borrow().get(&oid).copied().unwrap_or(100)
    }
}
