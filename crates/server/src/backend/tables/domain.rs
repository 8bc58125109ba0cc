//! Domains in a backend: CREATE/ALTER/DROP DOMAIN as pg_type and pg_constraint rows, and the loading of every domain into tusk_types' per-backend registry next to the enum types.
//!
//! Why this shape (PostgreSQL 15's DefineDomain, AlterDomain*):
//! - A domain is a pg_type row with typtype 'd', typbasetype (the type it
//!   is over, itself maybe a domain), typtypmod, typnotnull and
//!   typdefault (tusk keeps the expression's SQL text in typdefault and
//!   typdefaultbin alike); its layout, category, output and send functions
//!   are its base type's, its input and receive domain_in/domain_recv. An
//!   array type `_name` is made with it, as DefineDomain does.
//! - Each CHECK is a pg_constraint row (contype 'c', conrelid 0,
//!   contypid the domain, conbin the expression's SQL text over VALUE),
//!   named `<domain>_check`, `<domain>_check1`... when unnamed. NOT NULL
//!   is only typnotnull (PostgreSQL 15 makes no constraint row for it).
//! - The SQL layer checks expressions and stored values before these
//!   catalog changes (crates/sql/src/domain.rs's before_command); here is
//!   the catalog and the dependency rules: DROP DOMAIN refuses while a
//!   column or another domain uses it (2BP01; found by scanning
//!   pg_attribute and pg_type, there are no pg_depend rows for types);
//!   CASCADE drops dependent domains and refuses when columns depend.
//!
//! Everything here runs in the backend that owns the session.

use std::rc::Rc;
use tusk_common::{sqlstate, PgError, Severity};
use tusk_sql::catalog::codes;
use tusk_sql::domain::{DomainCheck, DomainDef, DomainOp, DomainType};
use tusk_sql::usertype::reg;
use tusk_sql::usertype::TypeName;
use tusk_sql::Value;
use tusk_storage::catalog::{
    self as cat, PG_ATTRIBUTE_OID, PG_CLASS_OID, PG_CONSTRAINT_OID, PG_TYPE_OID,
};
use tusk_storage::heaptuple::ItemPointer;

use super::{name_of, oid_of};
use crate::backend::Session;

/// pg_proc OIDs of domain_in and domain_recv, and the array functions.
const DOMAIN_IN: u32 = 2597;
const DOMAIN_RECV: u32 = 2598;

fn written(name: &TypeName) -> String {
    match &name.0 {
        Some(s) => format!("{s}.{}", name.1),
        None => name.1.clone(),
    }
}

impl Session {
    /// Every domain the catalog holds (pg_type typtype 'd' and their
    /// pg_constraint CHECKs), for the registry. `types` are the pg_type
    /// rows already read by the caller.
    pub(super) fn load_domains(
        &self,
        types: &[Rc<Vec<Value>>],
    ) -> Result<Vec<DomainType>, PgError> {
        let tc = cat::catalog(PG_TYPE_OID);
        let mut out = Vec::new();
        for r in types {
            if r[tc.col("typtype")] != Value::Char(b'd') {
                continue;
            }
            let text = |v: &Value| match v {
                Value::Text(s) => Some(s.clone()),
                _ => None,
            };
            out.push(DomainType {
                oid: oid_of(&r[tc.col("oid")]),
                array: oid_of(&r[tc.col("typarray")]),
                namespace: oid_of(&r[tc.col("typnamespace")]),
                schema: String::new(),
                name: name_of(&r[tc.col("typname")]).to_string(),
                base: oid_of(&r[tc.col("typbasetype")]),
                typmod: match r[tc.col("typtypmod")] {
                    Value::Int4(m) => m,
                    _ => -1,
                },
                not_null: r[tc.col("typnotnull")] == Value::Bool(true),
                default: text(&r[tc.col("typdefault")]),
                checks: Vec::new(),
            });
        }
        if out.is_empty() {
            return Ok(out);
        }
        let cc = cat::catalog(PG_CONSTRAINT_OID);
        for (_, r) in self.catalog_rows(PG_CONSTRAINT_OID)? {
            let t = oid_of(&r[cc.col("contypid")]);
            if t == 0 || r[cc.col("contype")] != Value::Char(b'c') {
                continue;
            }
            if let Some(d) = out.iter_mut().find(|d| d.oid == t) {
                let expr = match &r[cc.col("conbin")] {
                    Value::Text(s) => s.clone(),
                    other => name_of(other).to_string(),
                };
                d.checks
                    .push((name_of(&r[cc.col("conname")]).to_string(), expr));
            }
        }
        self.name_schemas_in_path_order(&mut out)?;
        Ok(out)
    }

    /// The domain `name` names: 42704 when no type has the name, 42809
    /// when the type is not a domain.
    fn domain_named(&self, name: &TypeName) -> Result<std::rc::Rc<DomainType>, PgError> {
        let w = written(name);
        if let Some(d) = tusk_sql::domain::lookup(&w) {
            return Ok(d);
        }
        // Another type (a table's name is its row type's) is not a
        // domain; PostgreSQL names it unquoted (format_type_be).
        let is_table = match &name.0 {
            Some(s) => self.lookup_table_uncached(Some(s), &name.1)?.is_some(),
            None => self.lookup_table_uncached(None, &name.1)?.is_some(),
        };
        if is_table
            || tusk_sql::usertype::lookup_type(&w).is_some()
            || tusk_sql::types::lookup_type_name(&w, &[]).is_some()
        {
            return Err(PgError::error(
                codes::WRONG_OBJECT_TYPE,
                format!("{w} is not a domain"),
            ));
        }
        Err(PgError::error(
            sqlstate::UNDEFINED_OBJECT,
            format!("type \"{w}\" does not exist"),
        ))
    }

    /// The pg_type row of `oid`.
    fn type_row(&self, oid: u32) -> Result<Option<(ItemPointer, Vec<Value>)>, PgError> {
        Ok(self
            .catalog_lookup(cat::PG_TYPE_OID_INDEX, &[Value::Oid(oid)])?
            .into_iter()
            .next())
    }

    pub(super) fn create_domain(&mut self, def: &DomainDef) -> Result<(), PgError> {
        let name = &def.name;
        let nsp = self.creation_namespace(name.0.as_deref())?;
        let exists = !self
            .catalog_lookup(
                cat::PG_TYPE_TYPNAME_NSP_INDEX,
                &[Value::Name(name.1.clone()), Value::Oid(nsp)],
            )?
            .is_empty()
            || self.find_class(&[nsp], &name.1)?.is_some();
        if exists {
            return Err(PgError::error(
                codes::DUPLICATE_OBJECT,
                format!("type \"{}\" already exists", name.1),
            ));
        }
        let tc = cat::catalog(PG_TYPE_OID);
        let Some((_, base)) = self.type_row(def.base)? else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_OBJECT,
                format!("type with OID {} does not exist", def.base),
            ));
        };
        self.write_xid()?;
        let array = self.new_unused_oid(&[(PG_TYPE_OID, "oid"), (PG_CLASS_OID, "oid")])?;
        let oid = self.new_unused_oid(&[(PG_TYPE_OID, "oid"), (PG_CLASS_OID, "oid")])?;
        let owner_oid = self.current_role_oid()?;
        let owner = Value::Oid(owner_oid);
        let copy = |c: &str| base[tc.col(c)].clone();
        let default = def.default.clone().map(Value::Text).unwrap_or(Value::Null);
        let type_row = cat::row(
            tc,
            &[
                ("oid", Value::Oid(oid)),
                ("typname", Value::Name(name.1.clone())),
                ("typnamespace", Value::Oid(nsp)),
                ("typowner", owner.clone()),
                ("typlen", copy("typlen")),
                ("typbyval", copy("typbyval")),
                ("typtype", Value::Char(b'd')),
                ("typcategory", copy("typcategory")),
                ("typisdefined", Value::Bool(true)),
                ("typdelim", copy("typdelim")),
                ("typarray", Value::Oid(array)),
                ("typinput", Value::Oid(DOMAIN_IN)),
                ("typoutput", copy("typoutput")),
                ("typreceive", Value::Oid(DOMAIN_RECV)),
                ("typsend", copy("typsend")),
                ("typalign", copy("typalign")),
                ("typstorage", copy("typstorage")),
                ("typnotnull", Value::Bool(def.not_null)),
                ("typbasetype", Value::Oid(def.base)),
                ("typtypmod", Value::Int4(def.typmod)),
                ("typcollation", copy("typcollation")),
                ("typdefaultbin", default.clone()),
                ("typdefault", default),
            ],
        );
        let mut type_row = type_row;
        if let Some(a) = self.initial_acl(b'T', owner_oid, nsp)? {
            type_row[tc.col("typacl")] = Value::Text(a);
        }
        let array_align = match copy("typalign") {
            Value::Char(b'd') => b'd',
            _ => b'i',
        };
        let array_row = super::usertype::array_type_row(
            array,
            oid,
            &name.1,
            nsp,
            owner,
            array_align,
            copy("typcollation"),
        );
        self.insert_catalog(PG_TYPE_OID, &array_row)?;
        self.insert_catalog(PG_TYPE_OID, &type_row)?;
        let mut taken: Vec<String> = Vec::new();
        for c in &def.checks {
            let n = self.add_domain_check(oid, nsp, &name.1, c, &taken)?;
            taken.push(n);
        }
        Ok(())
    }

    /// Inserts a CHECK of domain `oid` (named `dname`); returns its name.
    fn add_domain_check(
        &mut self,
        oid: u32,
        nsp: u32,
        dname: &str,
        c: &DomainCheck,
        taken: &[String],
    ) -> Result<String, PgError> {
        let cname = match &c.name {
            Some(n) => {
                if taken.contains(n) {
                    return Err(PgError::error(
                        codes::DUPLICATE_OBJECT,
                        format!("constraint \"{n}\" for domain \"{dname}\" already exists"),
                    ));
                }
                n.clone()
            }
            None => {
                // ChooseConstraintName: <domain>_check, then _check1, ...
                let mut i = 0;
                loop {
                    let label = if i == 0 {
                        "check".to_string()
                    } else {
                        format!("check{i}")
                    };
                    let mut base = dname.to_string();
                    while base.len() + label.len() + 1 > tusk_sql::types::NAME_MAX_BYTES {
                        base.pop();
                    }
                    let n = format!("{base}_{label}");
                    if !taken.contains(&n) {
                        break n;
                    }
                    i += 1;
                }
            }
        };
        let con_oid = self.new_unused_oid(&[(PG_CONSTRAINT_OID, "oid")])?;
        let r = cat::row(
            cat::catalog(PG_CONSTRAINT_OID),
            &[
                ("oid", Value::Oid(con_oid)),
                ("conname", Value::Name(cname.clone())),
                ("connamespace", Value::Oid(nsp)),
                ("contype", Value::Char(b'c')),
                ("convalidated", Value::Bool(c.validated)),
                ("conrelid", Value::Oid(0)),
                ("contypid", Value::Oid(oid)),
                ("confupdtype", Value::Char(b' ')),
                ("confdeltype", Value::Char(b' ')),
                ("confmatchtype", Value::Char(b' ')),
                ("conislocal", Value::Bool(true)),
                ("conbin", Value::Text(c.expr.clone())),
            ],
        );
        self.insert_catalog(PG_CONSTRAINT_OID, &r)?;
        Ok(cname)
    }

    /// The CHECK rows of domain `oid`.
    fn domain_constraints(&self, oid: u32) -> Result<Vec<(ItemPointer, Vec<Value>)>, PgError> {
        let cc = cat::catalog(PG_CONSTRAINT_OID);
        Ok(self
            .catalog_rows(PG_CONSTRAINT_OID)?
            .into_iter()
            .filter(|(_, r)| oid_of(&r[cc.col("contypid")]) == oid)
            .collect())
    }

    /// Rewrites the pg_type row of `oid` through `f`.
    fn change_type_row(&mut self, oid: u32, f: impl Fn(&mut Vec<Value>)) -> Result<(), PgError> {
        if let Some((tid, mut row)) = self.type_row(oid)? {
            self.delete_catalog(PG_TYPE_OID, tid)?;
            f(&mut row);
            self.insert_catalog(PG_TYPE_OID, &row)?;
        }
        Ok(())
    }

    pub(super) fn alter_domain(&mut self, name: &TypeName, op: &DomainOp) -> Result<(), PgError> {
        let d = self.domain_named(name)?;
        let tc = cat::catalog(PG_TYPE_OID);
        let cc = cat::catalog(PG_CONSTRAINT_OID);
        self.write_xid()?;
        let con_named = |s: &Self, n: &str| -> Result<Option<(ItemPointer, Vec<Value>)>, PgError> {
            Ok(s.domain_constraints(d.oid)?
                .into_iter()
                .find(|(_, r)| name_of(&r[cc.col("conname")]) == n))
        };
        let missing = |n: &str| {
            PgError::error(
                sqlstate::UNDEFINED_OBJECT,
                format!("constraint \"{n}\" of domain \"{}\" does not exist", d.name),
            )
        };
        match op {
            DomainOp::SetDefault(e) => {
                let v = e.clone().map(Value::Text).unwrap_or(Value::Null);
                self.change_type_row(d.oid, |r| {
                    r[tc.col("typdefault")] = v.clone();
                    r[tc.col("typdefaultbin")] = v.clone();
                })
            }
            DomainOp::SetNotNull(on) => {
                let on = *on;
                self.change_type_row(d.oid, |r| r[tc.col("typnotnull")] = Value::Bool(on))
            }
            DomainOp::AddCheck(c) => {
                let taken: Vec<String> = d.checks.iter().map(|c| c.0.clone()).collect();
                self.add_domain_check(d.oid, d.namespace, &d.name, c, &taken)
                    .map(|_| ())
            }
            DomainOp::DropConstraint { name: n, if_exists } => match con_named(self, n)? {
                Some((tid, _)) => self.delete_catalog(PG_CONSTRAINT_OID, tid),
                None if *if_exists => {
                    tusk_sql::Host::notice(
                        self,
                        PgError::new(
                            Severity::Notice,
                            sqlstate::SUCCESSFUL_COMPLETION,
                            format!(
                                "constraint \"{n}\" of domain \"{}\" does not exist, skipping",
                                d.name
                            ),
                        ),
                    );
                    Ok(())
                }
                None => Err(missing(n)),
            },
            DomainOp::RenameConstraint { from, to } => {
                let Some((tid, mut row)) = con_named(self, from)? else {
                    return Err(PgError::error(
                        sqlstate::UNDEFINED_OBJECT,
                        format!("constraint \"{from}\" for domain {} does not exist", d.name),
                    ));
                };
                if con_named(self, to)?.is_some() {
                    return Err(PgError::error(
                        codes::DUPLICATE_OBJECT,
                        format!(
                            "constraint \"{to}\" for domain \"{}\" already exists",
                            d.name
                        ),
                    ));
                }
                self.delete_catalog(PG_CONSTRAINT_OID, tid)?;
                row[cc.col("conname")] = Value::Name(to.clone());
                self.insert_catalog(PG_CONSTRAINT_OID, &row)
            }
            DomainOp::ValidateConstraint(n) => {
                let Some((tid, mut row)) = con_named(self, n)? else {
                    return Err(missing(n));
                };
                self.delete_catalog(PG_CONSTRAINT_OID, tid)?;
                row[cc.col("convalidated")] = Value::Bool(true);
                self.insert_catalog(PG_CONSTRAINT_OID, &row)
            }
            DomainOp::Rename(new_name) => {
                let taken = !self
                    .catalog_lookup(
                        cat::PG_TYPE_TYPNAME_NSP_INDEX,
                        &[Value::Name(new_name.clone()), Value::Oid(d.namespace)],
                    )?
                    .is_empty()
                    || self.find_class(&[d.namespace], new_name)?.is_some();
                if taken {
                    return Err(PgError::error(
                        codes::DUPLICATE_OBJECT,
                        format!("type \"{new_name}\" already exists"),
                    ));
                }
                let arr = super::usertype::array_name(new_name);
                self.change_type_row(d.oid, |r| {
                    r[tc.col("typname")] = Value::Name(new_name.clone())
                })?;
                self.change_type_row(d.array, |r| r[tc.col("typname")] = Value::Name(arr.clone()))
            }
        }
    }

    /// DROP TYPE's check for type `oid` (array `array`) named `name`: its
    /// dependents other than those `also_dropped` says go with it refuse
    /// the drop (2BP01), and CASCADE over any is not done yet (0A000).
    pub(super) fn refuse_drop_with_dependents(
        &self,
        oid: u32,
        array: u32,
        name: &str,
        cascade: bool,
        also_dropped: &dyn Fn(&str) -> bool,
    ) -> Result<(), PgError> {
        let users: Vec<String> = self
            .type_dependents(oid, array)?
            .0
            .into_iter()
            .filter(|c| !also_dropped(c))
            .map(|c| format!("{c} depends on type {name}"))
            .collect();
        if users.is_empty() {
            return Ok(());
        }
        if cascade {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "DROP TYPE ... CASCADE is not supported yet",
            ));
        }
        Err(super::usertype::type_has_dependents(name, &users))
    }

    /// What depends on type `oid` (or its array `array`): columns of
    /// tables and views ("column c of table t"), and domains over it.
    pub(super) fn type_dependents(
        &self,
        oid: u32,
        array: u32,
    ) -> Result<(Vec<String>, Vec<std::rc::Rc<DomainType>>), PgError> {
        let ac = cat::catalog(PG_ATTRIBUTE_OID);
        let cc = cat::catalog(PG_CLASS_OID);
        let mut cols = Vec::new();
        for (_, r) in self.catalog_rows(PG_ATTRIBUTE_OID)? {
            let ty = oid_of(&r[ac.col("atttypid")]);
            if (ty != oid && ty != array) || r[ac.col("attisdropped")] == Value::Bool(true) {
                continue;
            }
            let rel = oid_of(&r[ac.col("attrelid")]);
            let Some((_, class)) = self
                .catalog_lookup(cat::PG_CLASS_OID_INDEX, &[Value::Oid(rel)])?
                .into_iter()
                .next()
            else {
                continue;
            };
            let kind = match class[cc.col("relkind")] {
                Value::Char(b'i') => continue,
                Value::Char(b'v') => "view",
                Value::Char(b'm') => "materialized view",
                _ => "table",
            };
            cols.push(format!(
                "column {} of {kind} {}",
                name_of(&r[ac.col("attname")]),
                name_of(&class[cc.col("relname")]),
            ));
        }
        let domains = reg::all_domains()
            .into_iter()
            .filter(|d| d.base == oid)
            .collect();
        Ok((cols, domains))
    }

    pub(super) fn drop_domains(
        &mut self,
        names: &[TypeName],
        if_exists: bool,
        cascade: bool,
    ) -> Result<(), PgError> {
        let mut found = Vec::new();
        for n in names {
            match self.domain_named(n) {
                Ok(d) => found.push(d),
                Err(e) if e.code == sqlstate::UNDEFINED_OBJECT && if_exists => {
                    tusk_sql::Host::notice(
                        self,
                        PgError::new(
                            Severity::Notice,
                            sqlstate::SUCCESSFUL_COMPLETION,
                            format!("type \"{}\" does not exist, skipping", written(n)),
                        ),
                    );
                }
                Err(e) => return Err(e),
            }
        }
        // The domains to drop, dependents (CASCADE) after what they are
        // over. With CASCADE the SQL layer has dropped the dependent
        // columns and said what cascades (domain.rs's before_command).
        let mut all: Vec<std::rc::Rc<DomainType>> = Vec::new();
        let mut i = 0;
        let mut queue = found.clone();
        while i < queue.len() {
            let d = queue[i].clone();
            i += 1;
            if all.iter().any(|x| x.oid == d.oid) {
                continue;
            }
            let (cols, domains) = self.type_dependents(d.oid, d.array)?;
            let mut lines: Vec<String> = cols
                .iter()
                .map(|c| format!("{c} depends on type {}", d.name))
                .collect();
            lines.extend(
                domains
                    .iter()
                    .filter(|x| !found.iter().any(|f| f.oid == x.oid))
                    .map(|x| format!("type {} depends on type {}", x.name, d.name)),
            );
            if !lines.is_empty() && (!cascade || !cols.is_empty()) {
                return Err(super::usertype::type_has_dependents(&d.name, &lines));
            }
            queue.extend(domains);
            all.push(d);
        }
        if all.is_empty() {
            return Ok(());
        }
        self.write_xid()?;
        for d in &all {
            for o in [d.oid, d.array] {
                if let Some((tid, _)) = self.type_row(o)? {
                    self.delete_catalog(PG_TYPE_OID, tid)?;
                }
            }
            for (tid, _) in self.domain_constraints(d.oid)? {
                self.delete_catalog(PG_CONSTRAINT_OID, tid)?;
            }
        }
        Ok(())
    }
}
