//! Composite types in a backend: CREATE TYPE ... AS (...) and DROP TYPE as pg_type, pg_class and pg_attribute rows, and the loading of every composite type into tusk_types' per-backend registry.
//!
//! Why this shape (PostgreSQL's DefineCompositeType): a composite type is
//! a relation of relkind 'c' (no storage) whose pg_attribute rows are its
//! fields, and a pg_type row (typtype 'c', category 'C', record_in /
//! record_out, varlena aligned 'd') whose typrelid points at it, with an
//! array type `_name`; psql's \d and format_type then read them as
//! PostgreSQL's. The registry (tusk_types::composite) is reloaded with the
//! enums by [`Session::refresh_user_types`], since storage and casts need
//! a composite's fields and cannot read the catalog.
//!
//! A table's row type is the same kind of pg_type row, made and dropped
//! with the table ([`Session::create_row_type`]); views have none yet.
//!
//! Not yet: ALTER TYPE ... ADD/DROP/ALTER ATTRIBUTE, DROP TYPE ... CASCADE.
//!
//! Everything here runs in the backend that owns the session.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use tusk_common::{sqlstate, PgError, Severity};
use tusk_sql::catalog::codes;
use tusk_sql::types::Ty;
use tusk_sql::usertype::composite::{self as comp, CompositeType, Field};
use tusk_sql::usertype::TypeName;
use tusk_sql::Value;
use tusk_storage::catalog::{
    self as cat, PG_ATTRIBUTE_OID, PG_CLASS_OID, PG_NAMESPACE_OID, PG_TYPE_OID,
};

use super::usertype::array_type_row;
use super::{name_of, oid_of};
use crate::backend::Session;

/// pg_proc OIDs of record_in, record_out, record_recv, record_send.
const RECORD_IN: u32 = 2290;
const RECORD_OUT: u32 = 2291;
const RECORD_RECV: u32 = 2402;
const RECORD_SEND: u32 = 2403;
/// The first OID a user object gets (FirstNormalObjectId).
const FIRST_NORMAL_OID: u32 = 16384;

/// The pg_type row of a composite type (relation `rel`'s row type).
fn composite_type_row(
    oid: u32,
    name: &str,
    nsp: u32,
    owner: Value,
    rel: u32,
    array: u32,
) -> Vec<Value> {
    cat::row(
        cat::catalog(PG_TYPE_OID),
        &[
            ("oid", Value::Oid(oid)),
            ("typname", Value::Name(name.to_string())),
            ("typnamespace", Value::Oid(nsp)),
            ("typowner", owner),
            ("typlen", Value::Int2(-1)),
            ("typbyval", Value::Bool(false)),
            ("typtype", Value::Char(b'c')),
            ("typcategory", Value::Char(b'C')),
            ("typisdefined", Value::Bool(true)),
            ("typdelim", Value::Char(b',')),
            ("typrelid", Value::Oid(rel)),
            ("typarray", Value::Oid(array)),
            ("typinput", Value::Oid(RECORD_IN)),
            ("typoutput", Value::Oid(RECORD_OUT)),
            ("typreceive", Value::Oid(RECORD_RECV)),
            ("typsend", Value::Oid(RECORD_SEND)),
            ("typalign", Value::Char(b'd')),
            ("typstorage", Value::Char(b'x')),
            ("typtypmod", Value::Int4(-1)),
        ],
    )
}

fn written(name: &TypeName) -> String {
    match &name.0 {
        Some(s) => format!("{s}.{}", name.1),
        None => name.1.clone(),
    }
}

thread_local! {
    /// Fields of the relations whose row types were loaded, reused by
    /// later reloads: reading every table's pg_attribute rows after each
    /// DDL would make DDL-heavy sessions quadratic. Valid while only this
    /// backend changed the catalog (see [`note_own_bump`]) and the
    /// relation is not [`forget_fields`]'d.
    static FIELDS: RefCell<HashMap<u32, Vec<Field>>> = RefCell::new(HashMap::new());
    /// The catalog generation FIELDS was last checked at.
    static FIELDS_GEN: Cell<u64> = const { Cell::new(0) };
    /// Generations this backend's own commits produced.
    static OWN_BUMPS: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    /// Relations whose attributes this transaction changed: read afresh
    /// and not cached until it ends.
    static DIRTY: RefCell<HashSet<u32>> = RefCell::new(HashSet::new());
}

/// The catalog generation became `generation` by this backend's commit
/// (its cached fields stay valid across that step). Called at commit.
pub(crate) fn note_own_bump(generation: u64) {
    OWN_BUMPS.with(|b| b.borrow_mut().push(generation));
}

/// Relation `rel`'s attributes change in this transaction (ALTER TABLE,
/// DROP TABLE): its row type is read afresh until the transaction ends.
pub(crate) fn forget_fields(rel: u32) {
    FIELDS.with(|f| f.borrow_mut().remove(&rel));
    DIRTY.with(|d| d.borrow_mut().insert(rel));
    super::usertype::mark_own_type_ddl();
}

/// The transaction that changed attributes ended: what it changed may
/// have been rolled back, so those relations are read afresh once more.
pub(super) fn transaction_ended() {
    let dirty: Vec<u32> = DIRTY.with(|d| d.borrow_mut().drain().collect());
    FIELDS.with(|f| {
        let mut f = f.borrow_mut();
        for r in dirty {
            f.remove(&r);
        }
    });
}

/// 42P16 when a column of type `ty` would hold relation `rel`'s own row
/// type (ALTER TABLE ... ADD COLUMN / ALTER COLUMN TYPE).
pub(super) fn refuse_self_member(rel: u32, ty: u32) -> Result<(), PgError> {
    let Some(c) = comp::of_relation(rel) else {
        return Ok(());
    };
    if comp::contains(ty, c.oid) {
        return Err(PgError::error(
            sqlstate::SqlState::new("42P16"),
            format!(
                "composite type {} cannot be made a member of itself",
                c.name
            ),
        ));
    }
    Ok(())
}

/// The composite type `name` names, if any.
pub(super) fn composite_named(name: &TypeName) -> Option<&'static CompositeType> {
    let found = comp::by_name(&name.1);
    match &name.0 {
        Some(s) => found.into_iter().find(|t| t.schema == *s),
        None => found.into_iter().next(),
    }
}

impl Session {
    pub(super) fn create_composite(
        &mut self,
        name: &TypeName,
        fields: &[(String, Ty)],
    ) -> Result<(), PgError> {
        let nsp = self.creation_namespace(name.0.as_deref())?;
        let exists = self.find_class(&[nsp], &name.1)?.is_some()
            || !self.move_array_type_name(&name.1, nsp)?;
        if exists {
            return Err(PgError::error(
                codes::DUPLICATE_OBJECT,
                format!("type \"{}\" already exists", name.1),
            ));
        }
        self.write_xid()?;
        let taken = [(PG_TYPE_OID, "oid"), (PG_CLASS_OID, "oid")];
        let rel = self.new_unused_oid(&taken)?;
        let oid = self.new_unused_oid(&taken)?;
        let array = self.new_unused_oid(&taken)?;
        let owner = Value::Oid(self.current_role_oid()?);
        let cc = cat::catalog(PG_CLASS_OID);
        let mut class = cat::class_row(rel, &name.1, nsp, oid, 0, false, fields.len() as i16, b'n');
        class[cc.col("relkind")] = Value::Char(b'c');
        class[cc.col("relowner")] = owner.clone();
        class[cc.col("relam")] = Value::Oid(0);
        class[cc.col("relfrozenxid")] = Value::Xid8(0);
        class[cc.col("relminmxid")] = Value::Xid8(0);
        self.insert_catalog(PG_CLASS_OID, &class)?;
        for (i, (n, ty)) in fields.iter().enumerate() {
            let row = cat::attribute_row(rel, i as i16 + 1, n, ty.oid, ty.typmod, false, false);
            self.insert_catalog(PG_ATTRIBUTE_OID, &row)?;
        }
        let type_row = composite_type_row(oid, &name.1, nsp, owner.clone(), rel, array);
        self.insert_catalog(PG_TYPE_OID, &type_row)?;
        let mut array_row = array_type_row(array, oid, &name.1, nsp, owner, b'd', Value::Oid(0));
        array_row[cat::catalog(PG_TYPE_OID).col("typname")] =
            Value::Name(self.free_array_name(&name.1, nsp)?);
        self.insert_catalog(PG_TYPE_OID, &array_row)?;
        Ok(())
    }

    /// `name` in namespace `nsp` is taken by an automatically made array
    /// type: rename that one out of the way (`_` prepended until free), as
    /// PostgreSQL's moveArrayTypeName. Returns whether `name` is free now.
    pub(super) fn move_array_type_name(&mut self, name: &str, nsp: u32) -> Result<bool, PgError> {
        let tc = cat::catalog(PG_TYPE_OID);
        let rows = self.catalog_lookup(
            cat::PG_TYPE_TYPNAME_NSP_INDEX,
            &[Value::Name(name.to_string()), Value::Oid(nsp)],
        )?;
        let Some((tid, mut r)) = rows.into_iter().next() else {
            return Ok(true);
        };
        if r[tc.col("typcategory")] != Value::Char(b'A') || oid_of(&r[tc.col("typelem")]) == 0 {
            return Ok(false);
        }
        let new = self.free_array_name(name, nsp)?;
        r[tc.col("typname")] = Value::Name(new);
        self.update_catalog(PG_TYPE_OID, tid, &r)?;
        // The new type's own array name is chosen seeing the move.
        self.xact.command_counter_increment();
        Ok(true)
    }

    /// makeArrayTypeName: `_name`, with more underscores while taken.
    pub(super) fn free_array_name(&self, name: &str, nsp: u32) -> Result<String, PgError> {
        let mut n = super::usertype::array_name(name);
        for _ in 0..tusk_sql::types::NAME_MAX_BYTES {
            let taken = !self
                .catalog_lookup(
                    cat::PG_TYPE_TYPNAME_NSP_INDEX,
                    &[Value::Name(n.clone()), Value::Oid(nsp)],
                )?
                .is_empty();
            if !taken {
                return Ok(n);
            }
            n = super::usertype::array_name(&n);
        }
        Err(PgError::error(
            codes::DUPLICATE_OBJECT,
            format!("could not form array type name for type \"{name}\""),
        ))
    }

    /// A table's row type: a pg_type row (typtype 'c', typrelid `rel`)
    /// and its array type, as heap_create_with_catalog makes; returns the
    /// type's OID for pg_class.reltype.
    pub(in crate::backend) fn create_row_type(
        &mut self,
        rel: u32,
        name: &str,
        nsp: u32,
    ) -> Result<u32, PgError> {
        let taken = [(PG_TYPE_OID, "oid"), (PG_CLASS_OID, "oid")];
        let oid = self.new_unused_oid(&taken)?;
        let array = self.new_unused_oid(&taken)?;
        let owner = Value::Oid(self.current_role_oid()?);
        self.insert_catalog(
            PG_TYPE_OID,
            &composite_type_row(oid, name, nsp, owner.clone(), rel, array),
        )?;
        let array_row = array_type_row(array, oid, name, nsp, owner, b'd', Value::Oid(0));
        self.insert_catalog(PG_TYPE_OID, &array_row)?;
        super::usertype::mark_own_type_ddl();
        Ok(oid)
    }

    /// Removes a table's row type `rowtype` (pg_class.reltype; 0 for a
    /// table made before tables had one) and its array type.
    pub(in crate::backend) fn drop_row_type(&mut self, rowtype: u32) -> Result<(), PgError> {
        if rowtype == 0 {
            return Ok(());
        }
        let tc = cat::catalog(PG_TYPE_OID);
        for (tid, r) in self.catalog_lookup(cat::PG_TYPE_OID_INDEX, &[Value::Oid(rowtype)])? {
            let array = oid_of(&r[tc.col("typarray")]);
            for (atid, _) in self.catalog_lookup(cat::PG_TYPE_OID_INDEX, &[Value::Oid(array)])? {
                self.delete_catalog(PG_TYPE_OID, atid)?;
            }
            self.delete_catalog(PG_TYPE_OID, tid)?;
        }
        Ok(())
    }

    /// ALTER TABLE ... RENAME TO renames the row type and its array type
    /// along (`_new`), as RenameRelationInternal does.
    pub(super) fn rename_row_type(&mut self, rowtype: u32, new: &str) -> Result<(), PgError> {
        if rowtype == 0 {
            return Ok(());
        }
        let tc = cat::catalog(PG_TYPE_OID);
        for (tid, mut r) in self.catalog_lookup(cat::PG_TYPE_OID_INDEX, &[Value::Oid(rowtype)])? {
            let array = oid_of(&r[tc.col("typarray")]);
            r[tc.col("typname")] = Value::Name(new.to_string());
            self.update_catalog(PG_TYPE_OID, tid, &r)?;
            for (atid, mut a) in
                self.catalog_lookup(cat::PG_TYPE_OID_INDEX, &[Value::Oid(array)])?
            {
                a[tc.col("typname")] = Value::Name(super::usertype::array_name(new));
                self.update_catalog(PG_TYPE_OID, atid, &a)?;
            }
        }
        super::usertype::mark_own_type_ddl();
        Ok(())
    }

    /// ALTER TYPE ... ADD/DROP/ALTER/RENAME ATTRIBUTE of a composite type
    /// (relkind 'c'); ALTER and DROP are refused while a column stores the
    /// type (its stored values hold the fields they were written with).
    pub(super) fn alter_attributes(
        &mut self,
        name: &TypeName,
        ops: &[tusk_sql::usertype::AttrOp],
    ) -> Result<(), PgError> {
        use tusk_sql::usertype::AttrOp;
        let Some(t) = composite_named(name).filter(|t| {
            self.catalog_lookup(cat::PG_CLASS_OID_INDEX, &[Value::Oid(t.relid)])
                .ok()
                .and_then(|r| r.into_iter().next())
                .is_some_and(|(_, c)| {
                    c[cat::catalog(PG_CLASS_OID).col("relkind")] == Value::Char(b'c')
                })
        }) else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{}\" does not exist", written(name)),
            ));
        };
        // Stored values keep the fields they were written with: a new
        // trailing field reads as NULL, but a changed or (unlike
        // PostgreSQL, whose tuples keep dropped columns) dropped one
        // would misread them.
        let rewrites = ops
            .iter()
            .any(|o| matches!(o, AttrOp::SetType(..) | AttrOp::Drop(..)));
        if rewrites {
            if let Some(c) = self.type_dependents(t.oid, t.array)?.0.first() {
                // "column y of table test_tbl1" -> test_tbl1.y
                let parts: Vec<&str> = c.split(' ').collect();
                let shown = match parts.as_slice() {
                    [_, col, .., rel] => format!("{rel}.{col}"),
                    _ => c.clone(),
                };
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "cannot alter type \"{}\" because column \"{shown}\" uses it",
                        t.name
                    ),
                ));
            }
        }
        let ac = cat::catalog(PG_ATTRIBUTE_OID);
        let rel = t.relid;
        let missing = |n: &str| {
            PgError::error(
                sqlstate::UNDEFINED_COLUMN,
                format!("column \"{n}\" of relation \"{}\" does not exist", t.name),
            )
        };
        for op in ops {
            let atts = self.catalog_rows_by(PG_ATTRIBUTE_OID, "attrelid", Value::Oid(rel))?;
            let live = |n: &str| {
                atts.iter()
                    .find(|(_, r)| {
                        r[ac.col("attisdropped")] != Value::Bool(true)
                            && name_of(&r[ac.col("attname")]) == n
                    })
                    .cloned()
            };
            match op {
                AttrOp::Add(n, ty) => {
                    if live(n).is_some() {
                        return Err(PgError::error(
                            sqlstate::DUPLICATE_COLUMN,
                            format!("column \"{n}\" of relation \"{}\" already exists", t.name),
                        ));
                    }
                    let num = atts
                        .iter()
                        .filter_map(|(_, r)| match r[ac.col("attnum")] {
                            Value::Int2(n) => Some(n),
                            _ => None,
                        })
                        .max()
                        .unwrap_or(0)
                        + 1;
                    let row = cat::attribute_row(rel, num, n, ty.oid, ty.typmod, false, false);
                    self.insert_catalog(PG_ATTRIBUTE_OID, &row)?;
                }
                AttrOp::Drop(n, if_exists) => match live(n) {
                    Some((tid, mut r)) => {
                        let num = match r[ac.col("attnum")] {
                            Value::Int2(n) => n,
                            _ => 0,
                        };
                        r[ac.col("attisdropped")] = Value::Bool(true);
                        r[ac.col("attname")] =
                            Value::Name(format!("........pg.dropped.{num}........"));
                        r[ac.col("atttypid")] = Value::Oid(0);
                        self.update_catalog(PG_ATTRIBUTE_OID, tid, &r)?;
                    }
                    None if *if_exists => tusk_sql::Host::notice(
                        self,
                        PgError::new(
                            Severity::Notice,
                            sqlstate::SUCCESSFUL_COMPLETION,
                            format!(
                                "column \"{n}\" of relation \"{}\" does not exist, skipping",
                                t.name
                            ),
                        ),
                    ),
                    None => return Err(missing(n)),
                },
                AttrOp::SetType(n, ty) => {
                    let Some((tid, mut r)) = live(n) else {
                        return Err(missing(n));
                    };
                    let fresh = cat::attribute_row(rel, 0, n, ty.oid, ty.typmod, false, false);
                    for col in [
                        "atttypid",
                        "atttypmod",
                        "attlen",
                        "attbyval",
                        "attalign",
                        "attstorage",
                        "attcollation",
                    ] {
                        r[ac.col(col)] = fresh[ac.col(col)].clone();
                    }
                    self.update_catalog(PG_ATTRIBUTE_OID, tid, &r)?;
                }
                AttrOp::Rename(from, to) => {
                    let Some((tid, mut r)) = live(from) else {
                        return Err(PgError::error(
                            sqlstate::UNDEFINED_COLUMN,
                            format!("column \"{from}\" does not exist"),
                        ));
                    };
                    if live(to).is_some() {
                        return Err(PgError::error(
                            sqlstate::DUPLICATE_COLUMN,
                            format!("column \"{to}\" of relation \"{}\" already exists", t.name),
                        ));
                    }
                    r[ac.col("attname")] = Value::Name(to.clone());
                    self.update_catalog(PG_ATTRIBUTE_OID, tid, &r)?;
                }
            }
            self.xact.command_counter_increment();
        }
        forget_fields(rel);
        Ok(())
    }

    /// DROP TYPE of composite types: refused while a column or another
    /// composite type uses one (2BP01, as enums).
    pub(super) fn drop_composites(
        &mut self,
        names: &[TypeName],
        if_exists: bool,
        cascade: bool,
    ) -> Result<(), PgError> {
        let mut found = Vec::new();
        for n in names {
            match composite_named(n) {
                Some(t) => found.push(t),
                None if if_exists => tusk_sql::Host::notice(
                    self,
                    PgError::new(
                        Severity::Notice,
                        sqlstate::SUCCESSFUL_COMPLETION,
                        format!("type \"{}\" does not exist, skipping", written(n)),
                    ),
                ),
                None => {
                    return Err(PgError::error(
                        sqlstate::UNDEFINED_OBJECT,
                        format!("type \"{}\" does not exist", written(n)),
                    ))
                }
            }
        }
        // Columns of the composites being dropped together do not count.
        let dropped_together = |c: &str| found.iter().any(|f| c.ends_with(&format!(" {}", f.name)));
        for t in &found {
            self.refuse_drop_with_dependents(t.oid, t.array, &t.name, cascade, &dropped_together)?;
        }
        self.write_xid()?;
        for t in &found {
            for o in [t.oid, t.array] {
                for (tid, _) in self.catalog_lookup(cat::PG_TYPE_OID_INDEX, &[Value::Oid(o)])? {
                    self.delete_catalog(PG_TYPE_OID, tid)?;
                }
            }
            for (tid, _) in self.catalog_lookup(cat::PG_CLASS_OID_INDEX, &[Value::Oid(t.relid)])? {
                self.delete_catalog(PG_CLASS_OID, tid)?;
            }
            for (tid, _) in
                self.catalog_rows_by(PG_ATTRIBUTE_OID, "attrelid", Value::Oid(t.relid))?
            {
                self.delete_catalog(PG_ATTRIBUTE_OID, tid)?;
            }
        }
        Ok(())
    }

    /// Installs every user composite type (pg_type rows with typtype 'c')
    /// with its live attributes into tusk_types::composite, in
    /// search_path order. Called by [`Session::refresh_user_types`].
    pub(super) fn load_composites(
        &self,
        type_rows: &[Rc<Vec<Value>>],
        generation: u64,
    ) -> Result<(), PgError> {
        // Another backend's DDL may have changed any table: forget all.
        let from = FIELDS_GEN.with(Cell::get);
        let own_only = OWN_BUMPS.with(|b| {
            let mut b = b.borrow_mut();
            let ok = (from + 1..=generation).all(|g| b.contains(&g));
            b.retain(|&g| g > generation);
            ok
        });
        if !own_only || generation < from {
            FIELDS.with(|f| f.borrow_mut().clear());
        }
        FIELDS_GEN.with(|g| g.set(generation));
        let tc = cat::catalog(PG_TYPE_OID);
        let ac = cat::catalog(PG_ATTRIBUTE_OID);
        let nc = cat::catalog(PG_NAMESPACE_OID);
        let mut out = Vec::new();
        let wanted: std::collections::HashSet<u32> = type_rows
            .iter()
            .filter(|r| {
                r[tc.col("typtype")] == Value::Char(b'c')
                    && oid_of(&r[tc.col("oid")]) >= FIRST_NORMAL_OID
            })
            .map(|r| oid_of(&r[tc.col("typrelid")]))
            .collect();
        // Each type's attributes through pg_attribute's (attrelid,
        // attnum) index, unless cached.
        let mut by_rel: HashMap<u32, Vec<Vec<Value>>> = HashMap::new();
        for rel in wanted {
            if FIELDS.with(|f| f.borrow().contains_key(&rel)) {
                continue;
            }
            let rows =
                self.catalog_lookup(cat::PG_ATTRIBUTE_RELID_ATTNUM_INDEX, &[Value::Oid(rel)])?;
            by_rel.insert(rel, rows.into_iter().map(|(_, r)| r).collect());
        }
        let mut schemas: HashMap<u32, String> = HashMap::new();
        for r in type_rows {
            if r[tc.col("typtype")] != Value::Char(b'c') {
                continue;
            }
            let oid = oid_of(&r[tc.col("oid")]);
            if oid < FIRST_NORMAL_OID {
                continue;
            }
            let relid = oid_of(&r[tc.col("typrelid")]);
            let cached = FIELDS.with(|f| f.borrow().get(&relid).cloned());
            let fields = match cached {
                Some(f) => f,
                None => {
                    let mut atts: Vec<(i16, Field)> = Vec::new();
                    for a in by_rel.get(&relid).map(Vec::as_slice).unwrap_or_default() {
                        let num = match a[ac.col("attnum")] {
                            Value::Int2(n) => n,
                            _ => 0,
                        };
                        if num <= 0 || a[ac.col("attisdropped")] == Value::Bool(true) {
                            continue;
                        }
                        let typmod = match a[ac.col("atttypmod")] {
                            Value::Int4(m) => m,
                            _ => -1,
                        };
                        atts.push((
                            num,
                            Field {
                                name: name_of(&a[ac.col("attname")]).to_string(),
                                ty: Ty::with_mod(oid_of(&a[ac.col("atttypid")]), typmod),
                            },
                        ));
                    }
                    atts.sort_by_key(|(n, _)| *n);
                    let fields: Vec<Field> = atts.into_iter().map(|(_, f)| f).collect();
                    if !DIRTY.with(|d| d.borrow().contains(&relid)) {
                        FIELDS.with(|f| f.borrow_mut().insert(relid, fields.clone()));
                    }
                    fields
                }
            };
            let namespace = oid_of(&r[tc.col("typnamespace")]);
            let schema = match schemas.get(&namespace) {
                Some(s) => s.clone(),
                None => {
                    let s = self
                        .catalog_lookup(cat::PG_NAMESPACE_OID_INDEX, &[Value::Oid(namespace)])?
                        .into_iter()
                        .next()
                        .map(|(_, n)| name_of(&n[nc.col("nspname")]).to_string())
                        .unwrap_or_default();
                    schemas.insert(namespace, s.clone());
                    s
                }
            };
            out.push(CompositeType {
                oid,
                array: oid_of(&r[tc.col("typarray")]),
                relid,
                namespace,
                schema,
                name: name_of(&r[tc.col("typname")]).to_string(),
                fields,
            });
        }
        let path = self.search_path()?;
        out.sort_by_key(|t| {
            (
                path.iter()
                    .position(|&n| n == t.namespace)
                    .unwrap_or(usize::MAX),
                t.oid,
            )
        });
        comp::install(out);
        Ok(())
    }
}
