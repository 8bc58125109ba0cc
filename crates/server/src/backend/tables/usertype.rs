//! Enum types in a backend: CREATE TYPE ... AS ENUM, ALTER TYPE ... ADD/RENAME VALUE and DROP TYPE as pg_type and pg_enum rows, and the loading of every enum type into tusk_types' per-backend registry.
//!
//! Why this shape (PostgreSQL's typecmds.c and pg_enum.c):
//! - An enum is a pg_type row (typtype 'e', category 'E', 4 bytes by value,
//!   enum_in/enum_out/enum_recv/enum_send) with an array type `_name`
//!   created first, as DefineEnum does, and one pg_enum row per label
//!   (enumsortorder 1, 2, 3...). Label OIDs are even when created with the
//!   type, as PostgreSQL's EnumValuesCreate picks them so that their OID
//!   order is their sort order.
//! - ADD VALUE places a label between its neighbours' sort orders (the
//!   midpoint); when float4 runs out of room between them the type's
//!   labels are renumbered 1..n (stored values hold label OIDs, never sort
//!   orders, so nothing on disk changes) as RenumberEnumType does.
//! - Storage, casts and the wire cannot read the catalog, so the backend
//!   keeps every enum type in tusk_types' registry
//!   ([`Session::refresh_user_types`]): reloaded when the shared catalog
//!   generation moved (another session committed DDL) and on every
//!   statement of a transaction that ran type DDL itself (its own
//!   uncommitted types are then visible, and an abort is forgotten at
//!   the next statement after it).
//! - DROP TYPE refuses while a column uses the type or its array type
//!   (PostgreSQL finds them through pg_depend; tusk scans pg_attribute).
//!
//! Domains are loaded into the same registry by domain.rs
//! ([`Session::refresh_user_types`] calls it).
//!
//! Not yet: pg_depend rows for types, DROP TYPE ... CASCADE, ALTER TYPE
//! ... OWNER / SET SCHEMA, composite types.
//!
//! Everything here runs in the backend that owns the session.

use std::cell::Cell;
use std::rc::Rc;

use tusk_common::{sqlstate, PgError, Severity};
use tusk_sql::catalog::codes;
use tusk_sql::usertype::reg::{self, EnumLabel, EnumType};
use tusk_sql::usertype::{Position, TypeCmd, TypeName};
use tusk_sql::Value;
use tusk_storage::catalog::{
    self as cat, PG_CLASS_OID, PG_ENUM_OID, PG_NAMESPACE_OID, PG_TYPE_OID,
};

use super::{name_of, oid_of};
use crate::backend::Session;

/// pg_proc OIDs of the enum and array I/O functions (PostgreSQL 15).
const ENUM_IN: u32 = 3506;
const ENUM_OUT: u32 = 3507;
const ENUM_RECV: u32 = 3532;
const ENUM_SEND: u32 = 3533;
pub(super) const ARRAY_IN: u32 = 750;
pub(super) const ARRAY_OUT: u32 = 751;
pub(super) const ARRAY_RECV: u32 = 2400;
pub(super) const ARRAY_SEND: u32 = 2401;
pub(super) const ARRAY_SUBSCRIPT_HANDLER: u32 = 6179;
/// "Not loaded": the registry must be read again.
const TYPE_GEN_UNSET: u64 = u64::MAX;

thread_local! {
    /// The catalog generation the registry was loaded at
    /// ([`TYPE_GEN_UNSET`]: must reload).
    static LOADED_AT: Cell<u64> = const { Cell::new(TYPE_GEN_UNSET) };
    /// Whether the running transaction ran type DDL (its uncommitted
    /// types are in the registry).
    static OWN_TYPE_DDL: Cell<bool> = const { Cell::new(false) };
}

/// Marks the running transaction as having run type DDL (a table's row
/// type too): the registry reloads at each statement until it ends.
pub(super) fn mark_own_type_ddl() {
    OWN_TYPE_DDL.with(|o| o.set(true));
    LOADED_AT.with(|l| l.set(TYPE_GEN_UNSET));
}

fn float(v: &Value) -> f32 {
    match v {
        Value::Float4(f) => *f,
        Value::Float8(f) => *f as f32,
        _ => 0.0,
    }
}

impl Session {
    /// Brings tusk_types' enum registry up to date with the catalog this
    /// statement sees (see the file comment). Called before a statement is
    /// bound and before it reads tables.
    pub(in crate::backend) fn refresh_user_types(&self) -> Result<(), PgError> {
        if self.table_parts().is_err() {
            return Ok(());
        }
        let generation = self.catalog_generation();
        // This transaction's own type DDL is seen only by reloading; once
        // it ended (committed: the generation moved; aborted: not), the
        // registry is read again to forget what an abort undid.
        let own = OWN_TYPE_DDL.with(Cell::get) && self.catalog_changed;
        if !self.catalog_changed && OWN_TYPE_DDL.with(Cell::get) {
            OWN_TYPE_DDL.with(|o| o.set(false));
            super::composite::transaction_ended();
            LOADED_AT.with(|l| l.set(TYPE_GEN_UNSET));
        }
        if !own && LOADED_AT.with(Cell::get) == generation {
            return Ok(());
        }
        let c = cat::catalog(PG_ENUM_OID);
        let (typid, sort, label, oid) = (
            c.col("enumtypid"),
            c.col("enumsortorder"),
            c.col("enumlabel"),
            c.col("oid"),
        );
        let mut types: Vec<EnumType> = Vec::new();
        for (_, r) in self.catalog_rows(PG_ENUM_OID)? {
            let t = oid_of(&r[typid]);
            let l = EnumLabel {
                oid: oid_of(&r[oid]),
                sort: float(&r[sort]),
                label: name_of(&r[label]).to_string(),
            };
            match types.iter_mut().find(|e| e.oid == t) {
                Some(e) => e.labels.push(l),
                None => types.push(EnumType {
                    oid: t,
                    array: 0,
                    namespace: 0,
                    schema: String::new(),
                    name: String::new(),
                    labels: vec![l],
                }),
            }
        }
        // Types with no label yet (CREATE TYPE e AS ENUM ()) have no
        // pg_enum row: find them by typtype in pg_type, which is small.
        let tc = cat::catalog(PG_TYPE_OID);
        // One scan of pg_type serves the enums, domains, ranges and
        // composites alike.
        let all_types = self.catalog_rows_shared(PG_TYPE_OID)?;
        let domain_rows: Vec<Rc<Vec<Value>>> = all_types
            .iter()
            .filter(|r| r[tc.col("typtype")] == Value::Char(b'd'))
            .cloned()
            .collect();
        for r in &all_types {
            if r[tc.col("typtype")] != Value::Char(b'e') {
                continue;
            }
            let t = oid_of(&r[tc.col("oid")]);
            let nsp = oid_of(&r[tc.col("typnamespace")]);
            let e = match types.iter_mut().find(|e| e.oid == t) {
                Some(e) => e,
                None => {
                    types.push(EnumType {
                        oid: t,
                        array: 0,
                        namespace: 0,
                        schema: String::new(),
                        name: String::new(),
                        labels: Vec::new(),
                    });
                    types.last_mut().expect("pushed")
                }
            };
            e.array = oid_of(&r[tc.col("typarray")]);
            e.namespace = nsp;
            e.name = name_of(&r[tc.col("typname")]).to_string();
        }
        // Label rows of a type whose pg_type row this snapshot does not
        // see cannot happen (one transaction writes both); drop them anyway.
        types.retain(|t| !t.name.is_empty());
        self.name_schemas_in_path_order(&mut types)?;
        reg::install(types);
        reg::install_domains(self.load_domains(&domain_rows)?);
        self.load_user_ranges(&all_types)?;
        self.load_composites(&all_types, generation)?;
        LOADED_AT.with(|l| l.set(if own { TYPE_GEN_UNSET } else { generation }));
        Ok(())
    }

    /// [`Self::refresh_user_types`] before a statement is bound. A failure
    /// (an aborted transaction cannot read the catalog) leaves the
    /// registry as it was: the statement then binds against the types last
    /// loaded, and is refused anyway unless it ends the transaction.
    pub(in crate::backend) fn refresh_user_types_for_bind(&self) {
        let _ = self.refresh_user_types();
    }

    /// `Tables::type_command`.
    pub(super) fn type_command_impl(&mut self, cmd: &TypeCmd) -> Result<(), PgError> {
        // What the statement did before (DROP SCHEMA's drops of the
        // tables that used a type) is seen by the dependency checks.
        self.xact.command_counter_increment();
        self.refresh_user_types()?;
        let r = match cmd {
            TypeCmd::CreateEnum { name, labels } => self.create_enum(name, labels),
            TypeCmd::CreateComposite { name, fields } => self.create_composite(name, fields),
            TypeCmd::AlterAttributes { name, ops } => self.alter_attributes(name, ops),
            TypeCmd::Drop {
                names,
                if_exists,
                cascade,
            } if names
                .iter()
                .all(|n| super::composite::composite_named(n).is_some()) =>
            {
                self.drop_composites(names, *if_exists, *cascade)
            }
            TypeCmd::CreateRange {
                name,
                subtype,
                multirange,
            } => self.create_range(name, *subtype, multirange.as_deref()),
            TypeCmd::AddValue {
                name,
                label,
                position,
                if_not_exists,
            } => self.add_enum_value(name, label, position, *if_not_exists),
            TypeCmd::RenameValue { name, from, to } => self.rename_enum_value(name, from, to),
            // DROP TYPE and ALTER TYPE ... RENAME TO work on domains too.
            TypeCmd::Drop { names, .. } if names.iter().all(|n| Self::user_range(n).is_some()) => {
                self.drop_ranges(names)
            }
            TypeCmd::Drop {
                names,
                if_exists,
                cascade,
            } if names.iter().all(is_domain) => self.drop_domains(names, *if_exists, *cascade),
            TypeCmd::Rename { name, new_name } if is_domain(name) => {
                self.alter_domain(name, &tusk_sql::domain::DomainOp::Rename(new_name.clone()))
            }
            TypeCmd::Drop {
                names,
                if_exists,
                cascade,
            } => self.drop_types(names, *if_exists, *cascade),
            TypeCmd::Rename { name, new_name } => self.rename_type(name, new_name),
            TypeCmd::CreateDomain(def) => self.create_domain(def),
            TypeCmd::AlterDomain { name, op } => self.alter_domain(name, op),
            TypeCmd::DropDomain {
                names,
                if_exists,
                cascade,
            } => self.drop_domains(names, *if_exists, *cascade),
        };
        // The next statement (and this one's callers) see the change.
        self.xact.command_counter_increment();
        OWN_TYPE_DDL.with(|o| o.set(true));
        LOADED_AT.with(|l| l.set(TYPE_GEN_UNSET));
        self.refresh_user_types()?;
        r
    }

    /// The enum type `name` names, or 42704.
    fn enum_named(&self, name: &TypeName) -> Result<std::rc::Rc<EnumType>, PgError> {
        let written = match &name.0 {
            Some(s) => format!("{s}.{}", name.1),
            None => name.1.clone(),
        };
        let found = tusk_sql::usertype::lookup_type(&written);
        match found {
            Some(oid) => reg::enum_type(oid).ok_or_else(|| {
                PgError::error(
                    codes::WRONG_OBJECT_TYPE,
                    format!("{} is not an enum", tusk_sql::types::sql_name(oid)),
                )
            }),
            None => Err(PgError::error(
                sqlstate::UNDEFINED_OBJECT,
                format!("type \"{written}\" does not exist"),
            )),
        }
    }

    fn create_enum(&mut self, name: &TypeName, labels: &[String]) -> Result<(), PgError> {
        let nsp = self.creation_namespace(name.0.as_deref())?;
        // A name taken by an automatic array type is freed for it
        // (moveArrayTypeName); a table's row type has the table's name.
        let exists = self.find_class(&[nsp], &name.1)?.is_some()
            || !self.move_array_type_name(&name.1, nsp)?;
        if exists {
            return Err(PgError::error(
                codes::DUPLICATE_OBJECT,
                format!("type \"{}\" already exists", name.1),
            ));
        }
        self.write_xid()?;
        let array = self.new_unused_oid(&[(PG_TYPE_OID, "oid"), (PG_CLASS_OID, "oid")])?;
        let oid = self.new_unused_oid(&[(PG_TYPE_OID, "oid"), (PG_CLASS_OID, "oid")])?;
        // Label OIDs, even ones (see the file comment), in sort order.
        let mut oids = Vec::with_capacity(labels.len());
        while oids.len() < labels.len() {
            let o = self.new_unused_oid(&[(PG_ENUM_OID, "oid")])?;
            if o % 2 == 0 {
                oids.push(o);
            }
        }
        oids.sort_unstable();
        for (i, l) in labels.iter().enumerate() {
            if labels[..i].contains(l) {
                return Err(PgError::error(
                    sqlstate::UNIQUE_VIOLATION,
                    "duplicate key value violates unique constraint \"pg_enum_typid_label_index\"",
                )
                .with_detail(format!(
                    "Key (enumtypid, enumlabel)=({oid}, {l}) already exists."
                )));
            }
        }
        let tc = cat::catalog(PG_TYPE_OID);
        let owner_oid = self.current_role_oid()?;
        let owner = Value::Oid(owner_oid);
        let type_row = cat::row(
            tc,
            &[
                ("oid", Value::Oid(oid)),
                ("typname", Value::Name(name.1.clone())),
                ("typnamespace", Value::Oid(nsp)),
                ("typowner", owner.clone()),
                ("typlen", Value::Int2(4)),
                ("typbyval", Value::Bool(true)),
                ("typtype", Value::Char(b'e')),
                ("typcategory", Value::Char(b'E')),
                ("typisdefined", Value::Bool(true)),
                ("typdelim", Value::Char(b',')),
                ("typarray", Value::Oid(array)),
                ("typinput", Value::Oid(ENUM_IN)),
                ("typoutput", Value::Oid(ENUM_OUT)),
                ("typreceive", Value::Oid(ENUM_RECV)),
                ("typsend", Value::Oid(ENUM_SEND)),
                ("typalign", Value::Char(b'i')),
                ("typstorage", Value::Char(b'p')),
                ("typtypmod", Value::Int4(-1)),
            ],
        );
        let mut array_row = array_type_row(array, oid, &name.1, nsp, owner, b'i', Value::Oid(0));
        array_row[tc.col("typname")] = Value::Name(self.free_array_name(&name.1, nsp)?);
        self.insert_catalog(PG_TYPE_OID, &array_row)?;
        self.insert_catalog(PG_TYPE_OID, &type_row)?;
        for (i, (l, o)) in labels.iter().zip(oids).enumerate() {
            self.insert_enum_row(o, oid, (i + 1) as f32, l)?;
        }
        Ok(())
    }

    /// ALTER TYPE ... RENAME TO: the type's pg_type row and its array
    /// type's (`_new`, as RenameTypeInternal renames it along).
    fn rename_type(&mut self, name: &TypeName, new_name: &str) -> Result<(), PgError> {
        let t = self.enum_named(name)?;
        let taken = !self
            .catalog_lookup(
                cat::PG_TYPE_TYPNAME_NSP_INDEX,
                &[Value::Name(new_name.to_string()), Value::Oid(t.namespace)],
            )?
            .is_empty()
            || self.find_class(&[t.namespace], new_name)?.is_some();
        if taken {
            return Err(PgError::error(
                codes::DUPLICATE_OBJECT,
                format!("type \"{new_name}\" already exists"),
            ));
        }
        self.write_xid()?;
        let tc = cat::catalog(PG_TYPE_OID);
        for (o, n) in [
            (t.oid, new_name.to_string()),
            (t.array, array_name(new_name)),
        ] {
            for (tid, mut row) in self.catalog_lookup(cat::PG_TYPE_OID_INDEX, &[Value::Oid(o)])? {
                self.delete_catalog(PG_TYPE_OID, tid)?;
                row[tc.col("typname")] = Value::Name(n.clone());
                self.insert_catalog(PG_TYPE_OID, &row)?;
            }
        }
        Ok(())
    }

    fn insert_enum_row(
        &mut self,
        oid: u32,
        typ: u32,
        sort: f32,
        label: &str,
    ) -> Result<(), PgError> {
        let r = cat::row(
            cat::catalog(PG_ENUM_OID),
            &[
                ("oid", Value::Oid(oid)),
                ("enumtypid", Value::Oid(typ)),
                ("enumsortorder", Value::Float4(sort)),
                ("enumlabel", Value::Name(label.to_string())),
            ],
        );
        self.insert_catalog(PG_ENUM_OID, &r)
    }

    /// The pg_enum rows of type `typ`: (tid, oid, sort order, label).
    fn enum_rows(
        &self,
        typ: u32,
    ) -> Result<Vec<(tusk_storage::heaptuple::ItemPointer, u32, f32, String)>, PgError> {
        let c = cat::catalog(PG_ENUM_OID);
        let mut out: Vec<_> = self
            .catalog_rows(PG_ENUM_OID)?
            .into_iter()
            .filter(|(_, r)| oid_of(&r[c.col("enumtypid")]) == typ)
            .map(|(tid, r)| {
                (
                    tid,
                    oid_of(&r[c.col("oid")]),
                    float(&r[c.col("enumsortorder")]),
                    name_of(&r[c.col("enumlabel")]).to_string(),
                )
            })
            .collect();
        out.sort_by(|a, b| a.2.partial_cmp(&b.2).unwrap_or(std::cmp::Ordering::Equal));
        Ok(out)
    }

    fn add_enum_value(
        &mut self,
        name: &TypeName,
        label: &str,
        position: &Position,
        if_not_exists: bool,
    ) -> Result<(), PgError> {
        let t = self.enum_named(name)?;
        let mut rows = self.enum_rows(t.oid)?;
        if rows.iter().any(|r| r.3 == label) {
            let msg = format!("enum label \"{label}\" already exists");
            if if_not_exists {
                tusk_sql::Host::notice(
                    self,
                    PgError::new(
                        Severity::Notice,
                        codes::DUPLICATE_OBJECT,
                        format!("{msg}, skipping"),
                    ),
                );
                return Ok(());
            }
            return Err(PgError::error(codes::DUPLICATE_OBJECT, msg));
        }
        self.write_xid()?;
        for _ in 0..2 {
            let sort = match position {
                Position::End => rows.last().map_or(1.0, |r| r.2 + 1.0),
                Position::Before(n) | Position::After(n) => {
                    let i = rows.iter().position(|r| &r.3 == n).ok_or_else(|| {
                        PgError::error(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            format!("\"{n}\" is not an existing enum label"),
                        )
                    })?;
                    let (lo, hi) = if matches!(position, Position::Before(_)) {
                        (i.checked_sub(1).map(|j| rows[j].2), Some(rows[i].2))
                    } else {
                        (Some(rows[i].2), rows.get(i + 1).map(|r| r.2))
                    };
                    match (lo, hi) {
                        (Some(lo), Some(hi)) => (lo + hi) / 2.0,
                        (None, Some(hi)) => hi - 1.0,
                        (Some(lo), None) => lo + 1.0,
                        (None, None) => 1.0,
                    }
                }
            };
            let crowded = rows.iter().any(|r| r.2 == sort);
            if !crowded {
                let oid = self.new_unused_oid(&[(PG_ENUM_OID, "oid")])?;
                return self.insert_enum_row(oid, t.oid, sort, label);
            }
            // No float4 between the neighbours: renumber 1..n and retry.
            for (i, r) in rows.iter().enumerate() {
                self.delete_catalog(PG_ENUM_OID, r.0)?;
                self.insert_enum_row(r.1, t.oid, (i + 1) as f32, &r.3)?;
            }
            self.xact.command_counter_increment();
            rows = self.enum_rows(t.oid)?;
        }
        Err(PgError::error(
            sqlstate::INTERNAL_ERROR,
            "could not place the new enum label",
        ))
    }

    fn rename_enum_value(&mut self, name: &TypeName, from: &str, to: &str) -> Result<(), PgError> {
        let t = self.enum_named(name)?;
        let rows = self.enum_rows(t.oid)?;
        let Some(old) = rows.iter().find(|r| r.3 == from) else {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("\"{from}\" is not an existing enum label"),
            ));
        };
        if rows.iter().any(|r| r.3 == to) {
            return Err(PgError::error(
                codes::DUPLICATE_OBJECT,
                format!("enum label \"{to}\" already exists"),
            ));
        }
        self.write_xid()?;
        self.delete_catalog(PG_ENUM_OID, old.0)?;
        self.insert_enum_row(old.1, t.oid, old.2, to)
    }

    fn drop_types(
        &mut self,
        names: &[TypeName],
        if_exists: bool,
        cascade: bool,
    ) -> Result<(), PgError> {
        let mut found = Vec::new();
        for n in names {
            match self.enum_named(n) {
                Ok(t) => found.push(t),
                Err(e) if e.code == sqlstate::UNDEFINED_OBJECT => {
                    let written = match &n.0 {
                        Some(s) => format!("{s}.{}", n.1),
                        None => n.1.clone(),
                    };
                    if let Some(ty) = tusk_sql::types::lookup_type_name(&written, &[]) {
                        return Err(PgError::error(
                            codes::DEPENDENT_OBJECTS_STILL_EXIST,
                            format!(
                                "cannot drop type {} because it is required by the database system",
                                tusk_sql::types::sql_name(ty.oid)
                            ),
                        ));
                    }
                    if !if_exists {
                        return Err(e);
                    }
                    tusk_sql::Host::notice(
                        self,
                        PgError::new(
                            Severity::Notice,
                            sqlstate::SUCCESSFUL_COMPLETION,
                            format!("type \"{written}\" does not exist, skipping"),
                        ),
                    );
                }
                Err(e) => return Err(e),
            }
        }
        if found.is_empty() {
            return Ok(());
        }
        // Columns of the types (or their arrays) still in use.
        for t in &found {
            self.refuse_drop_with_dependents(t.oid, t.array, &t.name, cascade, &|_| false)?;
        }
        self.write_xid()?;
        for t in &found {
            for o in [t.oid, t.array] {
                for (tid, _) in self.catalog_lookup(cat::PG_TYPE_OID_INDEX, &[Value::Oid(o)])? {
                    self.delete_catalog(PG_TYPE_OID, tid)?;
                }
            }
            for r in self.enum_rows(t.oid)? {
                self.delete_catalog(PG_ENUM_OID, r.0)?;
            }
        }
        Ok(())
    }
}

/// Does `name` name a domain?
fn is_domain(name: &TypeName) -> bool {
    let written = match &name.0 {
        Some(s) => format!("{s}.{}", name.1),
        None => name.1.clone(),
    };
    tusk_sql::domain::lookup(&written).is_some()
}

/// makeArrayTypeName: `_name`, cut to NAMEDATALEN - 1 bytes.
/// DROP TYPE's 2BP01 when columns or types still use type `name`: one
/// DETAIL line per dependent, PostgreSQL's hint (enums, domains, ranges).
pub(super) fn type_has_dependents(name: &str, lines: &[String]) -> PgError {
    PgError::error(
        codes::DEPENDENT_OBJECTS_STILL_EXIST,
        format!("cannot drop type {name} because other objects depend on it"),
    )
    .with_detail(lines.join("\n"))
    .with_hint("Use DROP ... CASCADE to drop the dependent objects too.")
}

/// The pg_type row of a user type's array type `array` over `elem`
/// (named `elem_name`): PostgreSQL's array_in/out/recv/send and
/// subscript handler, aligned as the element, collated as it.
pub(super) fn array_type_row(
    array: u32,
    elem: u32,
    elem_name: &str,
    nsp: u32,
    owner: Value,
    align: u8,
    collation: Value,
) -> Vec<Value> {
    cat::row(
        cat::catalog(PG_TYPE_OID),
        &[
            ("oid", Value::Oid(array)),
            ("typname", Value::Name(array_name(elem_name))),
            ("typnamespace", Value::Oid(nsp)),
            ("typowner", owner),
            ("typlen", Value::Int2(-1)),
            ("typbyval", Value::Bool(false)),
            ("typtype", Value::Char(b'b')),
            ("typcategory", Value::Char(b'A')),
            ("typisdefined", Value::Bool(true)),
            ("typdelim", Value::Char(b',')),
            ("typsubscript", Value::Oid(ARRAY_SUBSCRIPT_HANDLER)),
            ("typelem", Value::Oid(elem)),
            ("typinput", Value::Oid(ARRAY_IN)),
            ("typoutput", Value::Oid(ARRAY_OUT)),
            ("typreceive", Value::Oid(ARRAY_RECV)),
            ("typsend", Value::Oid(ARRAY_SEND)),
            ("typalign", Value::Char(align)),
            ("typstorage", Value::Char(b'x')),
            ("typtypmod", Value::Int4(-1)),
            ("typcollation", collation),
        ],
    )
}

pub(super) fn array_name(name: &str) -> String {
    let mut s = format!("_{name}");
    let mut end = s.len().min(tusk_sql::types::NAME_MAX_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s
}

/// A registered user type: where it lives and its schema's name.
pub(super) trait InSchema {
    fn namespace(&self) -> u32;
    fn oid(&self) -> u32;
    fn set_schema(&mut self, schema: String);
}

impl InSchema for EnumType {
    fn namespace(&self) -> u32 {
        self.namespace
    }
    fn oid(&self) -> u32 {
        self.oid
    }
    fn set_schema(&mut self, schema: String) {
        self.schema = schema;
    }
}

impl InSchema for reg::DomainType {
    fn namespace(&self) -> u32 {
        self.namespace
    }
    fn oid(&self) -> u32 {
        self.oid
    }
    fn set_schema(&mut self, schema: String) {
        self.schema = schema;
    }
}

impl Session {
    /// Each type's schema name, then search_path order (an unqualified
    /// name is the first match), OID order within a schema: how the enum
    /// and domain registries are kept. The backend process, loading them.
    pub(super) fn name_schemas_in_path_order<T: InSchema>(
        &self,
        items: &mut [T],
    ) -> Result<(), PgError> {
        let nc = cat::catalog(PG_NAMESPACE_OID);
        for t in items.iter_mut() {
            if let Some((_, r)) = self
                .catalog_lookup(cat::PG_NAMESPACE_OID_INDEX, &[Value::Oid(t.namespace())])?
                .into_iter()
                .next()
            {
                t.set_schema(name_of(&r[nc.col("nspname")]).to_string());
            }
        }
        let path = self.search_path()?;
        items.sort_by_key(|t| {
            (
                path.iter()
                    .position(|&n| n == t.namespace())
                    .unwrap_or(usize::MAX),
                t.oid(),
            )
        });
        Ok(())
    }
}
