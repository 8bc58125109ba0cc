//! Composite types: the per-process registry of named row types (CREATE TYPE ... AS (...)), the field lists of anonymous records, and record_in / record_out.
//!
//! Why a registry here: a composite column is an OID everywhere below the
//! binder (tuple layout and the on-disk form in tusk-storage, casts from
//! text and from other records here), and those layers cannot read the
//! catalog. The backend loads every composite pg_type row (typtype 'c')
//! with its pg_attribute rows whenever the catalog changed, as it does
//! enums and ranges (crates/server/src/backend/tables/composite.rs).
//!
//! Why anonymous records get a typmod ([`bless`]): PostgreSQL's `record`
//! type says nothing of its fields; a ROW(...) expression's field names
//! (f1, f2, ... or a subquery's column names) and types are kept in a
//! per-backend list of descriptors that `Ty { oid: RECORD, typmod: n }`
//! points at, as PostgreSQL's "blessed" record typmods do. The binder
//! then knows `(row(1, 2.0)).f2` is numeric.
//!
//! A value of either kind is a [`Value::Record`]: its fields with their
//! value types. Pure functions and a thread-local registry: any process
//! may call them (a backend runs its session on one thread).

use std::cell::RefCell;
use std::collections::HashMap;

use tusk_common::{sqlstate, PgError};

use crate::types::{self, Oid, Ty, TypeInfo};
use crate::value::Value;

/// One attribute of a row type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub ty: Ty,
}

/// A named composite type: a pg_type row (typtype 'c') and the pg_class
/// row (relkind 'c', or the table's) whose attributes are its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositeType {
    pub oid: Oid,
    pub array: Oid,
    pub relid: Oid,
    pub namespace: Oid,
    pub schema: String,
    pub name: String,
    pub fields: Vec<Field>,
}

/// The installed composite types, indexed: a database with thousands of
/// tables has thousands of row types, and every lookup and every reload
/// after DDL would otherwise scan them all.
#[derive(Default)]
struct Registry {
    /// In search_path order.
    list: Vec<&'static CompositeType>,
    by_oid: HashMap<Oid, &'static CompositeType>,
    by_array: HashMap<Oid, &'static CompositeType>,
    by_relation: HashMap<Oid, &'static CompositeType>,
    /// Same-named types in search_path order.
    by_name: HashMap<String, Vec<&'static CompositeType>>,
}

thread_local! {
    /// Named composite types, leaked once per distinct definition so
    /// lookups hand out `&'static` rows as the built-in types do.
    static USER: RefCell<Registry> = RefCell::new(Registry::default());
    /// Anonymous record descriptors (typmod = index).
    static BLESSED: RefCell<Vec<Vec<Field>>> = const { RefCell::new(Vec::new()) };
    /// pg_type descriptors handed out by [`type_info`], by OID.
    static INFOS: RefCell<HashMap<Oid, &'static TypeInfo>> = RefCell::new(HashMap::new());
}

/// Installs the catalog's composite types (the backend, after reading
/// pg_type and pg_attribute).
pub fn install(types: Vec<CompositeType>) {
    USER.with(|u| {
        let mut u = u.borrow_mut();
        let old = std::mem::take(&mut u.by_oid);
        *u = Registry::default();
        for t in types {
            let t: &'static CompositeType = match old.get(&t.oid) {
                Some(o) if **o == t => o,
                _ => Box::leak(Box::new(t)),
            };
            u.list.push(t);
            u.by_oid.entry(t.oid).or_insert(t);
            if t.array != 0 {
                u.by_array.entry(t.array).or_insert(t);
            }
            u.by_relation.entry(t.relid).or_insert(t);
            u.by_name.entry(t.name.clone()).or_default().push(t);
        }
    })
}

/// The named composite type `oid`, if it is one.
pub fn composite(oid: Oid) -> Option<&'static CompositeType> {
    USER.with(|u| u.borrow().by_oid.get(&oid).copied())
}

pub fn is_composite(oid: Oid) -> bool {
    composite(oid).is_some()
}

/// The composite types named `name`, in search_path order.
pub fn by_name(name: &str) -> Vec<&'static CompositeType> {
    USER.with(|u| u.borrow().by_name.get(name).cloned().unwrap_or_default())
}

/// The composite type of relation `relid` (a table's row type).
pub fn of_relation(relid: Oid) -> Option<&'static CompositeType> {
    USER.with(|u| u.borrow().by_relation.get(&relid).copied())
}

/// The element type of a composite array type.
pub fn array_elem(array: Oid) -> Option<Oid> {
    if array == 0 {
        return None;
    }
    USER.with(|u| u.borrow().by_array.get(&array).map(|t| t.oid))
}

/// The array type of a composite type.
pub fn array_of(elem: Oid) -> Option<Oid> {
    composite(elem).map(|t| t.array).filter(|a| *a != 0)
}

/// Whether a value of type `ty` can hold a value of row type `target`
/// (itself, an array or domain over it, or a composite with such a
/// field): CheckAttributeType's "cannot be made a member of itself".
pub fn contains(ty: Oid, target: Oid) -> bool {
    fn walk(ty: Oid, target: Oid, depth: u32) -> bool {
        if ty == target {
            return true;
        }
        if depth > 64 {
            return false;
        }
        if let Some(e) = crate::array::elem_type(ty) {
            return walk(e, target, depth + 1);
        }
        if let Some((base, _)) = crate::usertype::domain_base(ty) {
            return walk(base, target, depth + 1);
        }
        composite(ty).is_some_and(|c| c.fields.iter().any(|f| walk(f.ty.oid, target, depth + 1)))
    }
    walk(ty, target, 0)
}

/// An anonymous record type carrying `fields` (see the file comment).
pub fn bless(fields: Vec<Field>) -> Ty {
    BLESSED.with(|b| {
        let mut b = b.borrow_mut();
        let i = match b.iter().position(|f| *f == fields) {
            Some(i) => i,
            None => {
                b.push(fields);
                b.len() - 1
            }
        };
        Ty::with_mod(types::RECORD, i as i32)
    })
}

/// The fields of a row type: a named composite, or a blessed record.
/// `None` for an unknown record or a non-row type.
pub fn fields(ty: Ty) -> Option<Vec<Field>> {
    if ty.oid == types::RECORD {
        if ty.typmod < 0 {
            return None;
        }
        return BLESSED.with(|b| b.borrow().get(ty.typmod as usize).cloned());
    }
    composite(ty.oid).map(|t| t.fields.clone())
}

/// Whether `oid` is a row type (record or a named composite).
pub fn is_row(oid: Oid) -> bool {
    oid == types::RECORD || is_composite(oid)
}

/// pg_type's descriptor of a composite type (varlena, aligned 'd',
/// extended, as PostgreSQL's) or of its array type.
pub fn type_info(oid: Oid) -> Option<&'static TypeInfo> {
    let t = composite(oid).or_else(|| array_elem(oid).and_then(composite))?;
    let name = if t.oid == oid {
        t.name.clone()
    } else {
        format!("_{}", t.name)
    };
    INFOS.with(|i| {
        let mut i = i.borrow_mut();
        if let Some(x) = i.get(&oid).filter(|x| x.name == name) {
            return Some(*x);
        }
        let x: &'static TypeInfo = Box::leak(Box::new(TypeInfo {
            oid,
            name: Box::leak(name.into_boxed_str()),
            len: -1,
            align: types::Align::Double,
            by_val: false,
            storage: types::Storage::Extended,
        }));
        i.insert(oid, x);
        Some(x)
    })
}

fn malformed(s: &str, detail: &str) -> PgError {
    PgError::error(
        sqlstate::INVALID_TEXT_REPRESENTATION,
        format!("malformed record literal: \"{s}\""),
    )
    .with_detail(detail.to_string())
}

/// record_in: `(a,"b c",)` to a record of `fields` (each field through
/// its type's input function `input`). An empty unquoted field is NULL.
pub fn record_in(
    s: &str,
    fields: &[Field],
    input: &mut dyn FnMut(&str, Ty) -> Result<Value, PgError>,
) -> Result<Value, PgError> {
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    if b.get(i) != Some(&'(') {
        return Err(malformed(s, "Missing left parenthesis."));
    }
    i += 1;
    let mut out = Vec::with_capacity(fields.len());
    for (n, f) in fields.iter().enumerate() {
        if n > 0 {
            // The previous field ended at a comma (checked below).
            i += 1;
        }
        let null = matches!(b.get(i), Some(',') | Some(')'));
        let mut text = String::new();
        if !null {
            let mut quoted = false;
            loop {
                let Some(&c) = b.get(i) else {
                    return Err(malformed(s, "Unexpected end of input."));
                };
                if !quoted && (c == ',' || c == ')') {
                    break;
                }
                i += 1;
                match c {
                    '\\' => {
                        let Some(&n) = b.get(i) else {
                            return Err(malformed(s, "Unexpected end of input."));
                        };
                        text.push(n);
                        i += 1;
                    }
                    '"' if !quoted => quoted = true,
                    '"' if b.get(i) == Some(&'"') => {
                        text.push('"');
                        i += 1;
                    }
                    '"' => quoted = false,
                    c => text.push(c),
                }
            }
        }
        match b.get(i) {
            Some(',') if n + 1 < fields.len() => {}
            Some(',') => return Err(malformed(s, "Too many columns.")),
            Some(')') if n + 1 < fields.len() => return Err(malformed(s, "Too few columns.")),
            Some(')') => {}
            _ => return Err(malformed(s, "Unexpected end of input.")),
        }
        let v = if null {
            Value::Null
        } else {
            input(&text, f.ty)?
        };
        out.push((f.ty.oid, v));
    }
    if fields.is_empty() && b.get(i) != Some(&')') {
        return Err(malformed(s, "Too many columns."));
    }
    i += 1;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    if i < b.len() {
        return Err(malformed(s, "Junk after right parenthesis."));
    }
    Ok(Value::Record(out))
}

/// A record's fields cast to `to`'s fields by position (a cast between
/// row types), each with `cast(value, from, to)`; 42846 when the counts
/// differ, as PostgreSQL's convert_tuples_by_position.
pub fn cast_fields(
    v: Value,
    from: Oid,
    to: Ty,
    cast: &mut dyn FnMut(Value, Oid, Ty) -> Result<Value, PgError>,
) -> Result<Value, PgError> {
    let Value::Record(items) = v else {
        return Ok(v);
    };
    let Some(target) = fields(to) else {
        return Ok(Value::Record(items));
    };
    if items.len() != target.len() {
        return Err(PgError::error(
            sqlstate::CANNOT_COERCE,
            format!(
                "cannot cast type {} to {}",
                types::sql_name(from),
                types::sql_name(to.oid)
            ),
        )
        .with_detail(if items.len() < target.len() {
            "Input has too few columns."
        } else {
            "Input has too many columns."
        }));
    }
    let mut out = Vec::with_capacity(items.len());
    for ((oid, v), f) in items.into_iter().zip(&target) {
        let v = if v.is_null() {
            Value::Null
        } else {
            cast(v, oid, f.ty)?
        };
        out.push((f.ty.oid, v));
    }
    Ok(Value::Record(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_texts() -> Vec<Field> {
        ["first", "last"]
            .iter()
            .map(|n| Field {
                name: n.to_string(),
                ty: Ty::new(types::TEXT),
            })
            .collect()
    }

    fn parse(s: &str) -> Result<Value, PgError> {
        record_in(s, &two_texts(), &mut |t, _| Ok(Value::Text(t.to_string())))
    }

    fn text(v: &str) -> (Oid, Value) {
        (types::TEXT, Value::Text(v.to_string()))
    }

    // The cases and details are PostgreSQL 15's answers in its rowtypes
    // regression script.
    #[test]
    fn record_in_reads_quotes_escapes_and_null_fields() {
        assert_eq!(
            parse(r#"(Joe,"von""Blow")"#).unwrap(),
            Value::Record(vec![text("Joe"), text("von\"Blow")])
        );
        assert_eq!(
            parse(r"(Joe,d\\Blow)").unwrap(),
            Value::Record(vec![text("Joe"), text(r"d\Blow")])
        );
        assert_eq!(
            parse("(Joe,)").unwrap(),
            Value::Record(vec![text("Joe"), (types::TEXT, Value::Null)])
        );
        assert_eq!(
            parse(r#"(Joe,"")"#).unwrap(),
            Value::Record(vec![text("Joe"), text("")])
        );
        assert_eq!(
            parse(" (Joe,Blow)  ").unwrap(),
            Value::Record(vec![text("Joe"), text("Blow")])
        );
    }

    #[test]
    fn record_in_refuses_malformed_literals() {
        for (s, detail) in [
            ("(Joe)", "Too few columns."),
            ("(Joe,,)", "Too many columns."),
            ("[]", "Missing left parenthesis."),
            ("(Joe,Blow) /", "Junk after right parenthesis."),
            ("(Joe,Blow", "Unexpected end of input."),
        ] {
            let e = parse(s).unwrap_err();
            assert_eq!(e.code, sqlstate::INVALID_TEXT_REPRESENTATION, "{s}");
            assert_eq!(e.message, format!("malformed record literal: \"{s}\""));
            assert_eq!(e.detail.as_deref(), Some(detail), "{s}");
        }
    }

    #[test]
    fn blessed_records_keep_their_fields() {
        let f = two_texts();
        let t = bless(f.clone());
        assert_eq!(t.oid, types::RECORD);
        assert_eq!(bless(f.clone()), t, "one descriptor per field list");
        assert_eq!(fields(t), Some(f));
        assert_eq!(fields(Ty::new(types::RECORD)), None);
    }
}
