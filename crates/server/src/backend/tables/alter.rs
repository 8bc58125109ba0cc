//! ALTER TABLE's catalog changes and table rewrites, and CHECK constraints read from pg_constraint, for the SQL layer's `Tables::alter_table` / `rewrite_table`.
//!
//! Why this shape:
//! - **The SQL layer decides, this file records.** `tusk_sql::alter` checks
//!   names, evaluates defaults, USING expressions and CHECKs over the rows
//!   and reports PostgreSQL's errors; each subcommand arrives here as one
//!   [`AlterOp`], a mechanical change of pg_class, pg_attribute,
//!   pg_attrdef or pg_constraint rows by this transaction, followed by a
//!   command counter increment so that the next subcommand (and the
//!   re-lookup of the relation between them) sees it, as PostgreSQL's
//!   CommandCounterIncrement between ALTER TABLE passes.
//! - **Dropped columns stay in the tuple format** (attisdropped, renamed
//!   `........pg.dropped.N........` as PostgreSQL does): rows already stored
//!   keep their attribute there and new rows store NULL, so no rewrite is
//!   needed. Unlike PostgreSQL, atttypid keeps the old type (PostgreSQL
//!   zeroes it and keeps only attlen/attalign): tusk's tuple decoder works
//!   from type OIDs.
//! - **A rewrite swaps files as TRUNCATE does**: a new relfilenode gets
//!   every row, pg_class points at it in this transaction, the old file
//!   goes at commit and the new one at abort. ADD COLUMN with a non-NULL
//!   DEFAULT and ALTER COLUMN TYPE rewrite (not PostgreSQL's attmissingval
//!   "fast default": one mechanism for both, at the price of a rewrite).
//! - **CHECK expressions are kept as SQL text** in conbin (as pg_attrdef's
//!   adbin is), conkey is NULL (no array storage yet); relchecks counts
//!   them so that a lookup reads pg_constraint only for tables that have any.
//!
//! Everything here runs in the backend that owns the session, inside the
//! ALTER TABLE's transaction, under the AccessExclusiveLock of
//! [`AlterOp::Lock`].

use tusk_common::{sqlstate, PgError};
use tusk_sql::alter::AlterOp;
use tusk_sql::catalog::{codes, CheckDef, Relation};
use tusk_sql::{Row, Value};
use tusk_storage::catalog::{
    self as cat, PG_ATTRDEF_OID, PG_ATTRIBUTE_OID, PG_CATALOG_NAMESPACE, PG_CLASS_OID,
    PG_CONSTRAINT_OID,
};
use tusk_storage::datum;
use tusk_storage::heaptuple::ItemPointer;
use tusk_storage::lmgr::LockMode;
use tusk_storage::smgr::{RelFileLocator, DEFAULTTABLESPACE_OID};

use super::{locator, name_of, oid_of, Session};

impl Session {
    /// The CHECK constraints of table `rel`, by name (PostgreSQL checks
    /// them in name order, so the first violation reported is stable).
    pub(super) fn check_constraints(&self, rel: u32) -> Result<Vec<CheckDef>, PgError> {
        let c = cat::catalog(PG_CONSTRAINT_OID);
        let mut out: Vec<CheckDef> = self
            .catalog_rows_by(PG_CONSTRAINT_OID, "conrelid", Value::Oid(rel))?
            .into_iter()
            .filter(|(_, r)| {
                oid_of(&r[c.col("conrelid")]) == rel && r[c.col("contype")] == Value::Char(b'c')
            })
            .map(|(_, r)| CheckDef {
                name: name_of(&r[c.col("conname")]).to_string(),
                expr: name_of(&r[c.col("conbin")]).to_string(),
                validated: r[c.col("convalidated")] == Value::Bool(true),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Replaces a catalog row found by a catalog scan (PostgreSQL's
    /// simple_heap_update: a concurrent change is an error).
    pub(super) fn update_catalog(
        &mut self,
        oid: u32,
        tid: ItemPointer,
        row: &[Value],
    ) -> Result<(), PgError> {
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        self.update_catalog_as(oid, tid, row, xid, cid)
    }

    /// Every pg_attribute row of table `rel` with attnum > 0.
    fn attributes(&self, rel: u32) -> Result<Vec<(ItemPointer, Vec<Value>)>, PgError> {
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        Ok(self
            .catalog_rows_by(PG_ATTRIBUTE_OID, "attrelid", Value::Oid(rel))?
            .into_iter()
            .filter(|(_, r)| {
                oid_of(&r[a.col("attrelid")]) == rel
                    && matches!(r[a.col("attnum")], Value::Int2(n) if n > 0)
            })
            .collect())
    }

    /// The live column `name` of `rel`: its pg_attribute row and attnum.
    fn attribute(
        &self,
        rel: &Relation,
        table: u32,
        name: &str,
    ) -> Result<(ItemPointer, Vec<Value>, i16), PgError> {
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        self.attributes(table)?
            .into_iter()
            .find(|(_, r)| {
                name_of(&r[a.col("attname")]) == name
                    && r[a.col("attisdropped")] != Value::Bool(true)
            })
            .map(|(tid, r)| {
                let n = match r[a.col("attnum")] {
                    Value::Int2(n) => n,
                    _ => 0,
                };
                (tid, r, n)
            })
            .ok_or_else(|| {
                PgError::error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!(
                        "column \"{name}\" of relation \"{}\" does not exist",
                        rel.name
                    ),
                )
            })
    }

    /// An OID for a pg_attrdef or pg_constraint row, unused in both.
    fn new_object_oid(&self) -> Result<u32, PgError> {
        // From the cluster's one OID counter like every other object, so
        // that a constraint or default never shares an OID with a
        // relation (descriptions and dependencies are keyed by OID and
        // catalog; a private max+1 scan collided with the counter's OIDs).
        self.new_unused_oid(&[(PG_ATTRDEF_OID, "oid"), (PG_CONSTRAINT_OID, "oid")])
    }

    fn delete_defaults(&mut self, table: u32, attnum: i16) -> Result<(), PgError> {
        let d = cat::catalog(PG_ATTRDEF_OID);
        for (tid, r) in self.catalog_rows_by(PG_ATTRDEF_OID, "adrelid", Value::Oid(table))? {
            if oid_of(&r[d.col("adrelid")]) == table && r[d.col("adnum")] == Value::Int2(attnum) {
                self.delete_catalog(PG_ATTRDEF_OID, tid)?;
            }
        }
        Ok(())
    }

    fn insert_default(&mut self, table: u32, attnum: i16, text: &str) -> Result<(), PgError> {
        let oid = self.new_object_oid()?;
        let r = cat::row(
            cat::catalog(PG_ATTRDEF_OID),
            &[
                ("oid", Value::Oid(oid)),
                ("adrelid", Value::Oid(table)),
                ("adnum", Value::Int2(attnum)),
                ("adbin", Value::Text(text.to_string())),
            ],
        );
        self.insert_catalog(PG_ATTRDEF_OID, &r)
    }

    /// Adds `delta` to one of pg_class's int2 counters of `rel`
    /// (relnatts, relchecks).
    fn bump_class(&mut self, rel: &Relation, col: &str, delta: i16) -> Result<(), PgError> {
        let t = rel.table()?;
        let (tid, mut class) = self.class_row(t, || {
            PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{}\" does not exist", rel.name),
            )
        })?;
        let i = cat::catalog(PG_CLASS_OID).col(col);
        if let Value::Int2(n) = class[i] {
            class[i] = Value::Int2(n + delta);
        }
        self.update_catalog(PG_CLASS_OID, tid, &class)
    }

    /// The pg_constraint row of `rel`'s constraint `name`.
    fn constraint(
        &self,
        rel: &Relation,
        table: u32,
        name: &str,
    ) -> Result<(ItemPointer, Vec<Value>), PgError> {
        let c = cat::catalog(PG_CONSTRAINT_OID);
        self.catalog_rows_by(PG_CONSTRAINT_OID, "conrelid", Value::Oid(table))?
            .into_iter()
            .find(|(_, r)| {
                oid_of(&r[c.col("conrelid")]) == table && name_of(&r[c.col("conname")]) == name
            })
            .ok_or_else(|| {
                PgError::error(
                    codes::UNDEFINED_OBJECT,
                    format!(
                        "constraint \"{name}\" of relation \"{}\" does not exist",
                        rel.name
                    ),
                )
            })
    }

    /// One ALTER TABLE subcommand's catalog change (see the file comment).
    pub(super) fn alter_table_impl(&mut self, rel: &Relation, op: &AlterOp) -> Result<(), PgError> {
        let t = rel.table()?;
        if t.namespace == PG_CATALOG_NAMESPACE || t.oid < cat::FIRST_NORMAL_OBJECT_ID {
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{}\" is a system catalog", rel.name),
            ));
        }
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        if !matches!(op, AlterOp::Lock) {
            super::composite::forget_fields(t.oid);
        }
        if let AlterOp::AddColumn(tusk_sql::catalog::ColumnDef { ty, .. })
        | AlterOp::SetType { ty, .. } = op
        {
            super::composite::refuse_self_member(t.oid, ty.oid)?;
        }
        match op {
            AlterOp::Lock => {
                self.lock_relation(t, LockMode::AccessExclusive)?;
                return Ok(());
            }
            AlterOp::AddColumn(def) => {
                if !datum::storable(def.ty.oid) {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!(
                            "columns of type {} are not supported yet",
                            tusk_sql::types::sql_name(def.ty.oid)
                        ),
                    ));
                }
                let num = self
                    .attributes(t.oid)?
                    .iter()
                    .filter_map(|(_, r)| match r[a.col("attnum")] {
                        Value::Int2(n) => Some(n),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(0)
                    + 1;
                if num > 1600 {
                    return Err(PgError::error(
                        sqlstate::TOO_MANY_COLUMNS,
                        "tables can have at most 1600 columns",
                    ));
                }
                self.insert_catalog(
                    PG_ATTRIBUTE_OID,
                    &super::domain_column(
                        cat::attribute_row(
                            t.oid,
                            num,
                            &def.name,
                            def.ty.oid,
                            def.ty.typmod,
                            def.not_null,
                            def.default.is_some() || def.generated.is_some(),
                        ),
                        def,
                    ),
                )?;
                if let Some(d) = def.default.as_ref().or(def.generated.as_ref()) {
                    self.insert_default(t.oid, num, d)?;
                }
                self.bump_class(rel, "relnatts", 1)?;
            }
            AlterOp::DropColumn(name) => {
                let (tid, mut r, num) = self.attribute(rel, t.oid, name)?;
                r[a.col("attisdropped")] = Value::Bool(true);
                r[a.col("attname")] = Value::Name(format!("........pg.dropped.{num}........"));
                r[a.col("attnotnull")] = Value::Bool(false);
                r[a.col("atthasdef")] = Value::Bool(false);
                // A dropped column's type gives the layout of its stored
                // bytes: a domain may be dropped later, its base type
                // stays (PostgreSQL keeps attlen/attalign instead).
                if let Some((base, _)) =
                    tusk_sql::usertype::reg::domain_base(oid_of(&r[a.col("atttypid")]))
                {
                    r[a.col("atttypid")] = Value::Oid(base);
                }
                self.update_catalog(PG_ATTRIBUTE_OID, tid, &r)?;
                self.delete_defaults(t.oid, num)?;
                self.drop_indexes_on_column(t.oid, num)?;
            }
            AlterOp::RenameColumn { old, new } => {
                let (tid, mut r, _) = self.attribute(rel, t.oid, old)?;
                r[a.col("attname")] = Value::Name(new.clone());
                self.update_catalog(PG_ATTRIBUTE_OID, tid, &r)?;
            }
            AlterOp::RenameTable(new) => {
                if self.find_class(&[t.namespace], new)?.is_some() {
                    return Err(PgError::error(
                        codes::DUPLICATE_TABLE,
                        format!("relation \"{new}\" already exists"),
                    ));
                }
                let (tid, mut class) = self.class_row(t, || {
                    PgError::error(
                        sqlstate::UNDEFINED_TABLE,
                        format!("relation \"{}\" does not exist", rel.name),
                    )
                })?;
                class[cat::catalog(PG_CLASS_OID).col("relname")] = Value::Name(new.clone());
                let rowtype = super::oid_of(&class[cat::catalog(PG_CLASS_OID).col("reltype")]);
                self.update_catalog(PG_CLASS_OID, tid, &class)?;
                self.rename_row_type(rowtype, new)?;
            }
            AlterOp::OwnerTo { owner, acl } => {
                let (tid, mut class) = self.class_row(t, || {
                    PgError::error(
                        sqlstate::UNDEFINED_TABLE,
                        format!("relation \"{}\" does not exist", rel.name),
                    )
                })?;
                let c = cat::catalog(PG_CLASS_OID);
                class[c.col("relowner")] = Value::Oid(*owner);
                class[c.col("relacl")] = acl.clone().map(Value::Text).unwrap_or(Value::Null);
                self.update_catalog(PG_CLASS_OID, tid, &class)?;
            }
            AlterOp::SetDefault { column, default } => {
                let (tid, mut r, num) = self.attribute(rel, t.oid, column)?;
                self.delete_defaults(t.oid, num)?;
                if let Some(d) = default {
                    self.insert_default(t.oid, num, d)?;
                }
                r[a.col("atthasdef")] = Value::Bool(default.is_some());
                self.update_catalog(PG_ATTRIBUTE_OID, tid, &r)?;
            }
            AlterOp::DropExpression { column } => {
                // The column keeps its stored values as a plain column.
                let (tid, mut r, num) = self.attribute(rel, t.oid, column)?;
                self.delete_defaults(t.oid, num)?;
                r[a.col("attgenerated")] = Value::Char(0);
                r[a.col("atthasdef")] = Value::Bool(false);
                self.update_catalog(PG_ATTRIBUTE_OID, tid, &r)?;
            }
            AlterOp::SetNotNull { column, not_null } => {
                let (tid, mut r, _) = self.attribute(rel, t.oid, column)?;
                r[a.col("attnotnull")] = Value::Bool(*not_null);
                self.update_catalog(PG_ATTRIBUTE_OID, tid, &r)?;
            }
            AlterOp::SetType { column, ty } => {
                if !datum::storable(ty.oid) {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!(
                            "columns of type {} are not supported yet",
                            tusk_sql::types::sql_name(ty.oid)
                        ),
                    ));
                }
                let (tid, r, num) = self.attribute(rel, t.oid, column)?;
                let mut fresh = cat::attribute_row(
                    t.oid,
                    num,
                    column,
                    ty.oid,
                    ty.typmod,
                    r[a.col("attnotnull")] == Value::Bool(true),
                    r[a.col("atthasdef")] == Value::Bool(true),
                );
                // The column stays what it was: identity, generated.
                for kept in ["attidentity", "attgenerated"] {
                    fresh[a.col(kept)] = r[a.col(kept)].clone();
                }
                self.update_catalog(PG_ATTRIBUTE_OID, tid, &fresh)?;
            }
            AlterOp::AddCheck(check) => {
                let oid = self.new_object_oid()?;
                let r = cat::row(
                    cat::catalog(PG_CONSTRAINT_OID),
                    &[
                        ("oid", Value::Oid(oid)),
                        ("conname", Value::Name(check.name.clone())),
                        ("connamespace", Value::Oid(t.namespace)),
                        ("contype", Value::Char(b'c')),
                        ("convalidated", Value::Bool(check.validated)),
                        ("conrelid", Value::Oid(t.oid)),
                        ("confupdtype", Value::Char(b' ')),
                        ("confdeltype", Value::Char(b' ')),
                        ("confmatchtype", Value::Char(b' ')),
                        ("conislocal", Value::Bool(true)),
                        ("conbin", Value::Text(check.expr.clone())),
                    ],
                );
                self.insert_catalog(PG_CONSTRAINT_OID, &r)?;
                self.bump_class(rel, "relchecks", 1)?;
            }
            AlterOp::DropConstraint(name) => {
                let (tid, r) = self.constraint(rel, t.oid, name)?;
                self.delete_catalog(PG_CONSTRAINT_OID, tid)?;
                if r[cat::catalog(PG_CONSTRAINT_OID).col("contype")] == Value::Char(b'c') {
                    self.bump_class(rel, "relchecks", -1)?;
                }
            }
            AlterOp::ValidateConstraint(name) => {
                let (tid, mut r) = self.constraint(rel, t.oid, name)?;
                r[cat::catalog(PG_CONSTRAINT_OID).col("convalidated")] = Value::Bool(true);
                self.update_catalog(PG_CONSTRAINT_OID, tid, &r)?;
            }
        }
        self.xact.command_counter_increment();
        Ok(())
    }

    /// Every row of `rel` replaced by `rows` in a new file (see the file
    /// comment); `rel` is the relation as its catalog now describes it.
    pub(super) fn rewrite_table_impl(
        &mut self,
        rel: &Relation,
        rows: &[Row],
    ) -> Result<(), PgError> {
        let t = rel.table()?;
        self.lock_relation(t, LockMode::AccessExclusive)?;
        let (tid, class) = self.class_row(t, || {
            PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{}\" does not exist", rel.name),
            )
        })?;
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        let new_file = self.new_relation_oid()?;
        let store = self.store.clone().expect("checked by new_relation_oid");
        let new_loc = RelFileLocator {
            spc: DEFAULTTABLESPACE_OID,
            db: store.db,
            rel: new_file,
        };
        self.pending_deletes.push((new_loc, false));
        self.set_relfilenode(tid, class, new_file, xid, cid)?;
        self.pending_deletes.push((locator(store.db, t), true));
        self.xact.command_counter_increment();
        let mut target = t;
        target.relfilenode = new_file;
        let types_ = rel.physical_types();
        for r in rows {
            self.insert_row(target, &types_, &rel.to_physical(r))?;
        }
        Ok(())
    }
}
