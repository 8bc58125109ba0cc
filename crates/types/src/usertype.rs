//! User-defined types (CREATE TYPE ... AS ENUM, CREATE DOMAIN): the per-process registry of the enum types and domains the catalog holds, and enum values' input, output and order.
//!
//! Why a registry here and not catalog reads at each use: a type is an OID
//! everywhere below the binder (tuple layout in tusk-storage, casts, the
//! wire's output functions), and none of those layers can read the catalog.
//! PostgreSQL answers them from its syscache; tusk's backend loads every
//! enum type (pg_type rows with typtype 'e' and their pg_enum labels) into
//! this registry whenever the catalog changed (the server's catalog
//! generation, or DDL in its own transaction), and the layers below ask it.
//!
//! Why a value carries its label and sort order ([`EnumValue`]): comparison
//! and output then need no lookup, and a label's sort order never changes
//! once assigned (ALTER TYPE ... ADD VALUE gives only the new label a
//! position between its neighbours, as PostgreSQL does). On disk an enum is
//! PostgreSQL's: the 4-byte OID of its pg_enum row, turned back into a value
//! through the registry.
//!
//! A domain ([`DomainType`]) is kept here too: its base type, typmod,
//! NOT NULL, default and CHECK texts, so that the binder can resolve its
//! name to the base type and bind its checks, and `type_info` of a domain
//! OID (pg_attribute.atttypid of a domain column) gives the base type's
//! layout. Values of a domain are values of its base type, as in
//! PostgreSQL: nothing below the binder needs more.
//!
//! The registry is thread-local: a backend runs its session on one thread,
//! and unit tests running in parallel threads each see only their own types.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use tusk_common::{sqlstate, PgError};

use crate::types::{Align, Oid, Storage, TypeInfo};

/// One label of an enum type (a pg_enum row).
#[derive(Debug, Clone, PartialEq)]
pub struct EnumLabel {
    pub oid: Oid,
    pub sort: f32,
    pub label: String,
}

/// An enum type (its pg_type row's name and array type, and its labels in
/// sort order).
#[derive(Debug, Clone, PartialEq)]
pub struct EnumType {
    pub oid: Oid,
    pub array: Oid,
    pub namespace: Oid,
    /// The namespace's name (for `schema.type` names).
    pub schema: String,
    pub name: String,
    pub labels: Vec<EnumLabel>,
}

/// One enum value: its type, the pg_enum row it stands for, and that
/// row's sort order and label (see the file comment).
#[derive(Debug, Clone, PartialEq)]
pub struct EnumValue {
    pub typ: Oid,
    pub oid: Oid,
    pub sort: f32,
    pub label: String,
}

/// A domain (a pg_type row with typtype 'd' and its pg_constraint rows).
#[derive(Debug, Clone, PartialEq)]
pub struct DomainType {
    pub oid: Oid,
    pub array: Oid,
    pub namespace: Oid,
    pub schema: String,
    pub name: String,
    /// typbasetype: a built-in or enum type, or another domain.
    pub base: Oid,
    /// typtypmod: the base type's modifier (`varchar(5)`), -1 for none.
    pub typmod: i32,
    /// typnotnull.
    pub not_null: bool,
    /// typdefault: the DEFAULT expression's SQL text.
    pub default: Option<String>,
    /// CHECK constraints (conname, expression text over `VALUE`), in
    /// name order as PostgreSQL checks them.
    pub checks: Vec<(String, String)>,
}

#[derive(Default)]
struct Registry {
    enums: HashMap<Oid, Rc<EnumType>>,
    domains: HashMap<Oid, Rc<DomainType>>,
    /// Domain OIDs in installation order (search_path order).
    domain_order: Vec<Oid>,
    /// Type OIDs in installation order.
    order: Vec<Oid>,
    arrays: HashMap<Oid, Oid>,
    /// Descriptors handed out as `&'static` (TypeInfo's contract): leaked
    /// once per (OID, name), so a process leaks at most one small struct
    /// per type it ever saw.
    infos: HashMap<Oid, &'static TypeInfo>,
    /// Bumped at every [`install_domains`]: what was derived from the
    /// domains (bound constraints, crates/sql/src/domain.rs) is stale.
    domain_generation: u64,
}

thread_local! {
    static REGISTRY: RefCell<Registry> = RefCell::new(Registry::default());
}

/// Replaces the registry's enum types with `types` (the catalog's, as the
/// server read them). Called by the backend's catalog reader.
pub fn install(types: Vec<EnumType>) {
    REGISTRY.with(|r| {
        let mut r = r.borrow_mut();
        r.enums.clear();
        r.arrays.clear();
        r.order.clear();
        for mut t in types {
            r.order.push(t.oid);
            t.labels.sort_by(|a, b| {
                a.sort
                    .partial_cmp(&b.sort)
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            r.arrays.insert(t.array, t.oid);
            r.enums.insert(t.oid, Rc::new(t));
        }
    })
}

/// Replaces the registry's domains with `types` (the catalog's, in
/// search_path order). Called by the backend's catalog reader.
pub fn install_domains(types: Vec<DomainType>) {
    REGISTRY.with(|r| {
        let mut r = r.borrow_mut();
        let old: Vec<Oid> = r.domains.values().map(|d| d.array).collect();
        for a in old {
            r.arrays.remove(&a);
        }
        r.domains.clear();
        r.domain_order.clear();
        r.domain_generation += 1;
        for mut t in types {
            t.checks.sort();
            r.domain_order.push(t.oid);
            r.arrays.insert(t.array, t.oid);
            r.domains.insert(t.oid, Rc::new(t));
        }
    })
}

/// Changes whenever the domains are reinstalled.
pub fn domain_generation() -> u64 {
    REGISTRY.with(|r| r.borrow().domain_generation)
}

/// The domain of OID `oid`, if the registry holds it.
pub fn domain_type(oid: Oid) -> Option<Rc<DomainType>> {
    REGISTRY.with(|r| r.borrow().domains.get(&oid).cloned())
}

/// Domains named `name`, in search_path order (see [`by_name`]).
pub fn domains_by_name(name: &str) -> Vec<Rc<DomainType>> {
    REGISTRY.with(|r| {
        let r = r.borrow();
        r.domain_order
            .iter()
            .filter_map(|o| r.domains.get(o))
            .filter(|t| t.name == name)
            .cloned()
            .collect()
    })
}

/// Every domain, in search_path order.
pub fn all_domains() -> Vec<Rc<DomainType>> {
    REGISTRY.with(|r| {
        let r = r.borrow();
        r.domain_order
            .iter()
            .filter_map(|o| r.domains.get(o))
            .cloned()
            .collect()
    })
}

/// The type a domain's values have: its base type, followed through
/// domains over domains (the typmod is the innermost one given).
pub fn domain_base(oid: Oid) -> Option<(Oid, i32)> {
    let mut d = domain_type(oid)?;
    let mut typmod = d.typmod;
    // A cycle cannot be created (a domain's base exists before it); the
    // bound only keeps a corrupt catalog from looping.
    for _ in 0..64 {
        match domain_type(d.base) {
            Some(inner) => {
                if typmod < 0 {
                    typmod = inner.typmod;
                }
                d = inner;
            }
            None => return Some((d.base, typmod)),
        }
    }
    None
}

/// The enum type of OID `oid`, if the registry holds it.
pub fn enum_type(oid: Oid) -> Option<Rc<EnumType>> {
    REGISTRY.with(|r| r.borrow().enums.get(&oid).cloned())
}

pub fn is_enum(oid: Oid) -> bool {
    REGISTRY.with(|r| r.borrow().enums.contains_key(&oid))
}

/// Enum types named `name` with their namespaces, in the order they were
/// installed (the server installs them in search_path order, so the first
/// is the one an unqualified name means).
pub fn by_name(name: &str) -> Vec<(Oid, Oid)> {
    REGISTRY.with(|r| {
        let r = r.borrow();
        r.order
            .iter()
            .filter_map(|o| r.enums.get(o))
            .filter(|t| t.name == name)
            .map(|t| (t.oid, t.namespace))
            .collect()
    })
}

/// The element type of an enum's array type.
pub fn array_elem(array: Oid) -> Option<Oid> {
    REGISTRY.with(|r| r.borrow().arrays.get(&array).copied())
}

/// The array type of an enum type.
pub fn array_of(elem: Oid) -> Option<Oid> {
    enum_type(elem)
        .map(|t| t.array)
        .or_else(|| domain_type(elem).map(|d| d.array))
}

/// The pg_type descriptor of an enum type (4 bytes by value, int-aligned,
/// as PostgreSQL's enums) or of its array type.
pub fn type_info(oid: Oid) -> Option<&'static TypeInfo> {
    REGISTRY.with(|reg| {
        let mut r = reg.borrow_mut();
        let mut align = Align::Int;
        let (name, len, by_val, storage) = if let Some(t) = r.enums.get(&oid) {
            (t.name.clone(), 4, true, Storage::Plain)
        } else if let Some(d) = r.domains.get(&oid).cloned() {
            drop(r);
            let (base, _) = domain_base(oid)?;
            let b = crate::types::type_info(base)?;
            r = reg.borrow_mut();
            align = b.align;
            (d.name.clone(), b.len, b.by_val, b.storage)
        } else if let Some(e) = r.arrays.get(&oid) {
            let elem = match (r.enums.get(e), r.domains.get(e)) {
                (Some(t), _) => t.name.clone(),
                (_, Some(d)) => d.name.clone(),
                _ => return None,
            };
            (format!("_{elem}"), -1, false, Storage::Extended)
        } else {
            return None;
        };
        if let Some(i) = r.infos.get(&oid) {
            if i.name == name && i.len == len && i.align == align {
                return Some(*i);
            }
        }
        let info: &'static TypeInfo = Box::leak(Box::new(TypeInfo {
            oid,
            name: Box::leak(name.into_boxed_str()),
            len,
            align,
            by_val,
            storage,
        }));
        r.infos.insert(oid, info);
        Some(info)
    })
}

/// enum_in: the value of label `s` of enum type `typ` (22P02 when the type
/// has no such label).
pub fn enum_in(typ: Oid, s: &str) -> Result<crate::Value, PgError> {
    let t = enum_type(typ).ok_or_else(|| {
        PgError::error(
            sqlstate::INTERNAL_ERROR,
            format!("cache lookup failed for type {typ}"),
        )
    })?;
    match t.labels.iter().find(|l| l.label == s) {
        Some(l) => Ok(value_of(&t, l)),
        None => Err(PgError::error(
            sqlstate::INVALID_TEXT_REPRESENTATION,
            format!("invalid input value for enum {}: \"{}\"", t.name, s),
        )),
    }
}

/// The value of the pg_enum row `label_oid` of type `typ` (a stored enum).
pub fn from_label_oid(typ: Oid, label_oid: Oid) -> Result<crate::Value, PgError> {
    let t = enum_type(typ);
    match t
        .as_ref()
        .and_then(|t| t.labels.iter().find(|l| l.oid == label_oid))
    {
        Some(l) => Ok(value_of(t.as_ref().expect("found"), l)),
        None => Err(PgError::error(
            sqlstate::INVALID_BINARY_REPRESENTATION,
            format!("invalid internal value for enum: {label_oid}"),
        )),
    }
}

pub fn value_of(t: &EnumType, l: &EnumLabel) -> crate::Value {
    crate::Value::Enum(Box::new(EnumValue {
        typ: t.oid,
        oid: l.oid,
        sort: l.sort,
        label: l.label.clone(),
    }))
}

/// Enum order: by sort order (pg_enum.enumsortorder), as enum_cmp.
pub fn compare(a: &EnumValue, b: &EnumValue) -> std::cmp::Ordering {
    a.sort
        .partial_cmp(&b.sort)
        .unwrap_or(std::cmp::Ordering::Equal)
        .then(a.oid.cmp(&b.oid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    fn mood() -> EnumType {
        EnumType {
            oid: 50000,
            array: 50001,
            namespace: 2200,
            schema: "public".into(),
            name: "mood".into(),
            labels: vec![
                EnumLabel {
                    oid: 50004,
                    sort: 3.0,
                    label: "happy".into(),
                },
                EnumLabel {
                    oid: 50002,
                    sort: 1.0,
                    label: "sad".into(),
                },
                EnumLabel {
                    oid: 50003,
                    sort: 1.5,
                    label: "ok".into(),
                },
            ],
        }
    }

    #[test]
    fn labels_read_in_order_and_unknown_labels_fail_as_postgresql() {
        install(vec![mood()]);
        let sad = enum_in(50000, "sad").unwrap();
        let ok = enum_in(50000, "ok").unwrap();
        let happy = enum_in(50000, "happy").unwrap();
        assert_eq!(crate::compare(&sad, &ok), std::cmp::Ordering::Less);
        assert_eq!(crate::compare(&happy, &ok), std::cmp::Ordering::Greater);
        assert_eq!(crate::value::to_text(&ok).as_deref(), Some("ok"));
        assert_eq!(
            crate::value::encode_binary(&happy).as_deref(),
            Some(&b"happy"[..])
        );
        let e = enum_in(50000, "x").unwrap_err();
        assert_eq!(e.code, sqlstate::INVALID_TEXT_REPRESENTATION);
        assert_eq!(e.message, "invalid input value for enum mood: \"x\"");
        assert!(matches!(from_label_oid(50000, 50003), Ok(Value::Enum(v)) if v.label == "ok"));
        assert!(from_label_oid(50000, 1).is_err());
        let ti = crate::type_info(50000).unwrap();
        assert_eq!((ti.name, ti.len, ti.by_val), ("mood", 4, true));
        assert_eq!(crate::type_info(50001).unwrap().name, "_mood");
        assert_eq!(crate::array::elem_type(50001), Some(50000));
        assert_eq!(by_name("mood"), vec![(50000, 2200)]);
        install(vec![]);
        assert!(crate::type_info(50000).is_none());
    }
}
