//! Views, materialized views and the session's temporary schema in the catalog: pg_class/pg_attribute/pg_rewrite/pg_depend rows, and pg_temp_N.
//!
//! Why this shape:
//! - **A view is rows, no file.** pg_class (relkind 'v', relfilenode 0),
//!   one pg_attribute row per column, one pg_rewrite row (`_RETURN`,
//!   ev_type '1', is_instead) whose ev_action holds the query's SQL text
//!   (PostgreSQL stores a node tree; tusk re-binds the text, see
//!   crates/sql/src/view.rs), and one pg_depend row (classid pg_rewrite,
//!   objid the rule, refclassid pg_class, refobjid each relation named in
//!   FROM, deptype 'n') per relation, which DROP of such a relation reads
//!   (2BP01 unless CASCADE). A materialized view (relkind 'm') is a heap
//!   table with the same rule row. All rows are written with the
//!   transaction's xid: transactional like every catalog change.
//! - **The temporary schema is PostgreSQL's**: `pg_temp_N`, N the
//!   backend's proc slot + 1, created on first use (a pg_namespace row)
//!   and searched first while this session uses it; `pg_temp` names it.
//!   A namespace left by an earlier session of that slot (a crash, a
//!   kill -9) is emptied the first time this session uses it, as
//!   PostgreSQL's InitTempTableNamespace does; a session drops its
//!   temporary relations when it ends (`drop_temp_relations`).
//! - **Temporary data is WAL-logged and buffered like any table**
//!   (PostgreSQL writes no WAL for it and keeps it in local buffers):
//!   tusk has one shared buffer pool and redo replays every heap record,
//!   so a temp table written without WAL could leave pages redo cannot
//!   explain; logging costs WAL volume only. Files are named by their
//!   relfilenode like other tables (not PostgreSQL's t<backend>_<node>).
//!
//! Called only by the backend that owns the session.

use std::cell::Cell;

thread_local! {
    /// (catalog generation, pg_rewrite rows by relation oid).
    #[allow(clippy::type_complexity)]
    static RULE_CACHE: std::cell::RefCell<(u64, HashMap<u32, Vec<Vec<Value>>>)> =
        std::cell::RefCell::new((u64::MAX, HashMap::new()));
}

use super::*;

thread_local! {
    /// This session's temporary namespace, once it used it.
    static MY_TEMP: Cell<Option<u32>> = const { Cell::new(None) };
    /// MY_TEMP was set by the running transaction (forgotten if it aborts).
    static MY_TEMP_NEW: Cell<bool> = const { Cell::new(false) };
}

fn rewrite_cat() -> &'static cat::Catalog {
    cat::catalog(cat::PG_REWRITE_OID)
}

/// This session's temporary namespace, if it has used one.
pub(super) fn my_temp_namespace() -> Option<u32> {
    MY_TEMP.get()
}

/// The transaction ended: a temporary namespace first used by an aborted
/// one is forgotten (its row, or its emptying, rolled back).
pub(super) fn temp_transaction_ended(committed: bool) {
    if MY_TEMP_NEW.get() && !committed {
        MY_TEMP.set(None);
    }
    MY_TEMP_NEW.set(false);
}

impl Session {
    /// The name of this backend's temporary namespace.
    fn temp_namespace_name(&self) -> String {
        format!("pg_temp_{}", self.slot + 1)
    }

    /// This session's temporary namespace, created (or emptied of an
    /// earlier session's relations) on first use.
    pub(super) fn temp_namespace(&mut self) -> Result<u32, PgError> {
        if let Some(o) = MY_TEMP.get() {
            return Ok(o);
        }
        let name = self.temp_namespace_name();
        let oid = match self.namespace_oid(&name)? {
            Some(o) => {
                self.drop_namespace_relations(o)?;
                o
            }
            None => {
                self.write_xid()?;
                let oid = self.new_relation_oid()?;
                let store = self.store.clone().expect("checked by new_relation_oid");
                let _ = store.bm.smgr().unlink(
                    RelFileLocator {
                        spc: DEFAULTTABLESPACE_OID,
                        db: store.db,
                        rel: oid,
                    },
                    Fork::Main,
                );
                let r = cat::row(
                    cat::catalog(PG_NAMESPACE_OID),
                    &[
                        ("oid", Value::Oid(oid)),
                        ("nspname", Value::Name(name)),
                        (
                            "nspowner",
                            Value::Oid(tusk_storage::bootstrap::BOOTSTRAP_SUPERUSER_OID),
                        ),
                    ],
                );
                self.insert_catalog(PG_NAMESPACE_OID, &r)?;
                oid
            }
        };
        MY_TEMP.set(Some(oid));
        MY_TEMP_NEW.set(true);
        Ok(oid)
    }

    /// Drops every relation of namespace `nsp` (a temporary one): views
    /// first, then tables with what they own (indexes, toast tables and
    /// sequences go with their tables).
    fn drop_namespace_relations(&mut self, nsp: u32) -> Result<(), PgError> {
        let c = cat::catalog(PG_CLASS_OID);
        let (si, ni, ki) = (c.col("relnamespace"), c.col("relname"), c.col("relkind"));
        let schema = self
            .catalog_rows(PG_NAMESPACE_OID)?
            .into_iter()
            .find(|(_, r)| oid_of(&r[cat::catalog(PG_NAMESPACE_OID).col("oid")]) == nsp)
            .map(|(_, r)| name_of(&r[cat::catalog(PG_NAMESPACE_OID).col("nspname")]).to_string());
        let Some(schema) = schema else {
            return Ok(());
        };
        for pass in [b'v', b'm', b'r', b'S'] {
            let names: Vec<String> = self
                .catalog_rows(PG_CLASS_OID)?
                .into_iter()
                .filter(|(_, r)| oid_of(&r[si]) == nsp && r[ki] == Value::Char(pass))
                .map(|(_, r)| name_of(&r[ni]).to_string())
                .collect();
            for n in names {
                if pass == b'S' {
                    // CREATE TEMP SEQUENCE's, not owned by a table (those
                    // went with their tables).
                    if self.drop_sequence_cascade(&schema, &n)? {
                        self.xact.command_counter_increment();
                    }
                } else if let Some(rel) = self.lookup_table_uncached(Some(&schema), &n)? {
                    tusk_sql::Tables::drop_table(self, &rel)?;
                    self.xact.command_counter_increment();
                }
            }
        }
        Ok(())
    }

    /// At the end of the session: drops its temporary relations in a
    /// transaction of their own (a transaction still open is rolled back
    /// first). Failures are logged; the next session of this slot empties
    /// the namespace anyway.
    pub(in crate::backend) fn drop_temp_relations(&mut self) {
        let Some(nsp) = MY_TEMP.get() else {
            return;
        };
        if self.xact.in_transaction() {
            self.abort_current_transaction();
            if self.xact.in_transaction() {
                let _ = self.xact.user_abort_block();
                self.finish_xact_command();
            }
        }
        let Some(nsp) = MY_TEMP.get().or(Some(nsp)) else {
            return;
        };
        self.start_xact_command();
        match self.drop_namespace_relations(nsp) {
            Ok(()) => self.finish_xact_command(),
            Err(e) => {
                tusk_common::elog::report(&e.with_severity(Severity::Warning));
                self.abort_current_transaction();
            }
        }
        MY_TEMP.set(None);
    }

    /// The query text and kind of view or materialized view `oid`.
    pub(super) fn view_query(&self, oid: u32) -> Result<Option<String>, PgError> {
        let r = rewrite_cat();
        Ok(self
            .catalog_rows(cat::PG_REWRITE_OID)?
            .into_iter()
            .find(|(_, row)| {
                oid_of(&row[r.col("ev_class")]) == oid
                    && name_of(&row[r.col("rulename")]) == "_RETURN"
            })
            .map(|(_, row)| name_of(&row[r.col("ev_action")]).to_string()))
    }

    /// The pg_rewrite rows of relation `oid` (crates/sql/src/rules.rs),
    /// cached under the catalog generation as triggers are: every INSERT,
    /// UPDATE and DELETE asks, and reading pg_rewrite each time was 4.5 %
    /// of a TPC-B backend's CPU. Called by the backend running a statement.
    pub(in crate::backend) fn lookup_rules_impl(
        &self,
        oid: u32,
    ) -> Result<Vec<Vec<Value>>, PgError> {
        if self.table_parts().is_err() {
            return Ok(Vec::new());
        }
        let generation = self.catalog_generation();
        if !self.catalog_changed {
            let hit = RULE_CACHE.with(|c| {
                let mut c = c.borrow_mut();
                if c.0 != generation {
                    c.1.clear();
                    c.0 = generation;
                }
                c.1.get(&oid).cloned()
            });
            if let Some(h) = hit {
                return Ok(h);
            }
        }
        let r = rewrite_cat();
        let found: Vec<Vec<Value>> = self
            .catalog_rows_by(cat::PG_REWRITE_OID, "ev_class", Value::Oid(oid))?
            .into_iter()
            .filter(|(_, row)| oid_of(&row[r.col("ev_class")]) == oid)
            .map(|(_, row)| row)
            .collect();
        if !self.catalog_changed {
            RULE_CACHE.with(|c| c.borrow_mut().1.insert(oid, found.clone()));
        }
        Ok(found)
    }

    /// Removes the rule rows of relation `oid` and their pg_depend rows.
    pub(super) fn drop_rules(&mut self, oid: u32) -> Result<(), PgError> {
        let r = rewrite_cat();
        let mut rules = Vec::new();
        for (tid, row) in self.catalog_rows(cat::PG_REWRITE_OID)? {
            if oid_of(&row[r.col("ev_class")]) == oid {
                rules.push(oid_of(&row[r.col("oid")]));
                self.delete_catalog(cat::PG_REWRITE_OID, tid)?;
            }
        }
        if rules.is_empty() {
            return Ok(());
        }
        let d = cat::catalog(cat::PG_DEPEND_OID);
        for (tid, row) in self.catalog_rows(cat::PG_DEPEND_OID)? {
            if oid_of(&row[d.col("classid")]) == cat::PG_REWRITE_OID
                && rules.contains(&oid_of(&row[d.col("objid")]))
            {
                self.delete_catalog(cat::PG_DEPEND_OID, tid)?;
            }
        }
        Ok(())
    }

    /// DROP VIEW of a view (no file): its pg_class, pg_attribute and rule rows.
    pub(super) fn drop_view(&mut self, t: TableRef, name: &str) -> Result<(), PgError> {
        self.lock_relation(t, LockMode::AccessExclusive)?;
        let (tid, _) = self.class_row(t, || {
            PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("view \"{name}\" does not exist"),
            )
        })?;
        self.delete_catalog(PG_CLASS_OID, tid)?;
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        for (tid, r) in self.catalog_rows(PG_ATTRIBUTE_OID)? {
            if oid_of(&r[a.col("attrelid")]) == t.oid {
                self.delete_catalog(PG_ATTRIBUTE_OID, tid)?;
            }
        }
        self.drop_rules(t.oid)
    }

    fn insert_rule(&mut self, rel: u32, def: &tusk_sql::view::ViewDef) -> Result<(), PgError> {
        let rule = self.new_unused_oid(&[(cat::PG_REWRITE_OID, "oid")])?;
        let row = cat::row(
            rewrite_cat(),
            &[
                ("oid", Value::Oid(rule)),
                ("rulename", Value::Name("_RETURN".into())),
                ("ev_class", Value::Oid(rel)),
                ("ev_type", Value::Char(b'1')),
                ("ev_enabled", Value::Char(b'O')),
                ("is_instead", Value::Bool(true)),
                ("ev_qual", Value::Text("<>".into())),
                ("ev_action", Value::Text(def.query.clone())),
            ],
        );
        self.insert_catalog(cat::PG_REWRITE_OID, &row)?;
        let d = cat::catalog(cat::PG_DEPEND_OID);
        for &dep in &def.deps {
            let row = cat::row(
                d,
                &[
                    ("classid", Value::Oid(cat::PG_REWRITE_OID)),
                    ("objid", Value::Oid(rule)),
                    ("objsubid", Value::Int4(0)),
                    ("refclassid", Value::Oid(PG_CLASS_OID)),
                    ("refobjid", Value::Oid(dep)),
                    ("refobjsubid", Value::Int4(0)),
                    ("deptype", Value::Char(b'n')),
                ],
            );
            self.insert_catalog(cat::PG_DEPEND_OID, &row)?;
        }
        // The primary keys an ungrouped column relies on: dropping one
        // is refused while the view exists.
        for &dep in &def.constraint_deps {
            let row = cat::row(
                d,
                &[
                    ("classid", Value::Oid(cat::PG_REWRITE_OID)),
                    ("objid", Value::Oid(rule)),
                    ("objsubid", Value::Int4(0)),
                    ("refclassid", Value::Oid(cat::PG_CONSTRAINT_OID)),
                    ("refobjid", Value::Oid(dep)),
                    ("refobjsubid", Value::Int4(0)),
                    ("deptype", Value::Char(b'n')),
                ],
            );
            self.insert_catalog(cat::PG_DEPEND_OID, &row)?;
        }
        Ok(())
    }

    /// CREATE [OR REPLACE] VIEW / CREATE MATERIALIZED VIEW.
    pub(super) fn create_view_impl(
        &mut self,
        def: &tusk_sql::view::ViewDef,
    ) -> Result<(), PgError> {
        let schema = def.schema.as_deref();
        if def.kind == b'm' {
            tusk_sql::Tables::create_table(self, schema, &def.name, &def.columns, false)?;
            let nsp = self.creation_namespace(schema)?;
            let (tid, mut class) = self.find_class(&[nsp], &def.name)?.ok_or_else(|| {
                PgError::error(sqlstate::INTERNAL_ERROR, "materialized view vanished")
            })?;
            let c = cat::catalog(PG_CLASS_OID);
            class[c.col("relkind")] = Value::Char(b'm');
            let oid = oid_of(&class[c.col("oid")]);
            {
                let xid = self.write_xid()?;
                let cid = self.xact.command_id();
                self.update_catalog_as(PG_CLASS_OID, tid, &class, xid, cid)?;
            }
            self.insert_rule(oid, def)?;
            self.xact.command_counter_increment();
            return Ok(());
        }
        if let Some(old) = def.replace {
            // OR REPLACE: same OID; columns and rule rewritten.
            let t = TableRef {
                oid: old,
                relfilenode: 0,
                shared: false,
                namespace: 0,
            };
            self.lock_relation(t, LockMode::AccessExclusive)?;
            let a = cat::catalog(PG_ATTRIBUTE_OID);
            for (tid, r) in self.catalog_rows(PG_ATTRIBUTE_OID)? {
                if oid_of(&r[a.col("attrelid")]) == old {
                    self.delete_catalog(PG_ATTRIBUTE_OID, tid)?;
                }
            }
            self.drop_rules(old)?;
            let (tid, mut class) = self.class_row(t, || {
                PgError::error(sqlstate::UNDEFINED_TABLE, "view vanished")
            })?;
            let c = cat::catalog(PG_CLASS_OID);
            class[c.col("relnatts")] = Value::Int2(def.columns.len() as i16);
            class[c.col("reloptions")] = reloptions(&def.options);
            {
                let xid = self.write_xid()?;
                let cid = self.xact.command_id();
                self.update_catalog_as(PG_CLASS_OID, tid, &class, xid, cid)?;
            }
            self.insert_view_columns(old, def)?;
            self.insert_rule(old, def)?;
            self.xact.command_counter_increment();
            return Ok(());
        }
        let nsp = self.creation_namespace(schema)?;
        if self.find_class(&[nsp], &def.name)?.is_some() {
            return Err(PgError::error(
                codes::DUPLICATE_TABLE,
                format!("relation \"{}\" already exists", def.name),
            ));
        }
        self.write_xid()?;
        // A view has no file: its OID is claimed by a file removed at once.
        let oid = self.new_relation_oid()?;
        let store = self.store.clone().expect("checked by new_relation_oid");
        let _ = store.bm.smgr().unlink(
            locator(
                store.db,
                TableRef {
                    oid,
                    relfilenode: oid,
                    shared: false,
                    namespace: nsp,
                },
            ),
            Fork::Main,
        );
        let c = cat::catalog(PG_CLASS_OID);
        let mut class = cat::class_row(
            oid,
            &def.name,
            nsp,
            0,
            0,
            false,
            def.columns.len() as i16,
            b'n',
        );
        class[c.col("relkind")] = Value::Char(b'v');
        class[c.col("relam")] = Value::Oid(0);
        class[c.col("reloptions")] = reloptions(&def.options);
        class[c.col("relowner")] = Value::Oid(self.current_role_oid()?);
        if Some(nsp) == MY_TEMP.get() {
            class[c.col("relpersistence")] = Value::Char(b't');
        }
        self.insert_catalog(PG_CLASS_OID, &class)?;
        self.insert_view_columns(oid, def)?;
        self.insert_rule(oid, def)?;
        self.xact.command_counter_increment();
        Ok(())
    }

    fn insert_view_columns(
        &mut self,
        oid: u32,
        def: &tusk_sql::view::ViewDef,
    ) -> Result<(), PgError> {
        for (i, col) in def.columns.iter().enumerate() {
            self.insert_catalog(
                PG_ATTRIBUTE_OID,
                &cat::attribute_row(
                    oid,
                    i as i16 + 1,
                    &col.name,
                    col.ty.oid,
                    col.ty.typmod,
                    false,
                    false,
                ),
            )?;
        }
        Ok(())
    }

    /// (schema, name) of the views whose rules depend on relation `oid`.
    pub(super) fn dependent_views_impl(
        &mut self,
        oid: u32,
    ) -> Result<Vec<(String, String)>, PgError> {
        let d = cat::catalog(cat::PG_DEPEND_OID);
        let rules: Vec<u32> = self
            .catalog_rows(cat::PG_DEPEND_OID)?
            .into_iter()
            .filter(|(_, r)| {
                oid_of(&r[d.col("classid")]) == cat::PG_REWRITE_OID
                    && oid_of(&r[d.col("refobjid")]) == oid
            })
            .map(|(_, r)| oid_of(&r[d.col("objid")]))
            .collect();
        if rules.is_empty() {
            return Ok(Vec::new());
        }
        let r = rewrite_cat();
        let views: Vec<u32> = self
            .catalog_rows(cat::PG_REWRITE_OID)?
            .into_iter()
            .filter(|(_, row)| rules.contains(&oid_of(&row[r.col("oid")])))
            .map(|(_, row)| oid_of(&row[r.col("ev_class")]))
            .filter(|&v| v != oid)
            .collect();
        let c = cat::catalog(PG_CLASS_OID);
        let n = cat::catalog(PG_NAMESPACE_OID);
        let nss = self.catalog_rows(PG_NAMESPACE_OID)?;
        let mut out = Vec::new();
        for (_, row) in self.catalog_rows(PG_CLASS_OID)? {
            if !views.contains(&oid_of(&row[c.col("oid")])) {
                continue;
            }
            let nsp = oid_of(&row[c.col("relnamespace")]);
            let schema = nss
                .iter()
                .find(|(_, r)| oid_of(&r[n.col("oid")]) == nsp)
                .map(|(_, r)| name_of(&r[n.col("nspname")]).to_string())
                .unwrap_or_default();
            out.push((schema, name_of(&row[c.col("relname")]).to_string()));
        }
        out.sort();
        Ok(out)
    }
}

/// pg_class.reloptions for `items` (`name=value`): a text[], NULL for none.
pub(super) fn reloptions(items: &[String]) -> Value {
    if items.is_empty() {
        return Value::Null;
    }
    let items = items.iter().map(|o| Value::Text(o.clone())).collect();
    Value::Array(Box::new(tusk_sql::array::Array::from_items(
        tusk_sql::types::TEXT,
        items,
    )))
}

impl Session {
    /// pg_class.reloptions of relation `oid` as its `name=value` items
    /// (Host::relation_options).
    pub(in crate::backend) fn relation_options_impl(
        &self,
        oid: u32,
    ) -> Result<Vec<String>, PgError> {
        let c = cat::catalog(PG_CLASS_OID);
        Ok(match self.catalog_by_oid(cat::PG_CLASS_OID_INDEX, oid)? {
            Some((_, class)) => match &class[c.col("reloptions")] {
                Value::Array(a) => a
                    .items
                    .iter()
                    .filter_map(tusk_sql::value::to_text)
                    .collect(),
                _ => Vec::new(),
            },
            None => Vec::new(),
        })
    }
}
