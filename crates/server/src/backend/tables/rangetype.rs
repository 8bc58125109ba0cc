//! CREATE TYPE ... AS RANGE: the range type, its multirange type and their
//! array types as pg_type rows plus a pg_range row, and the backend's
//! registry of user range types read back from them.
//!
//! Why beside usertype.rs and not in it: the registry reload there calls
//! [`Session::load_user_ranges`] once; everything else about range types
//! (values, operators) is generic over tusk_types' `RangeType` rows, so a
//! user range type only has to become one more such row. DefineRange's
//! rules: the multirange is named by replacing `range` in the name with
//! `multirange` (else appending `_multirange`), and both names must be
//! free. Called by the backend running the statement.

use std::rc::Rc;
use tusk_common::PgError;
use tusk_sql::catalog::codes;
use tusk_sql::range::{self as rg, RangeType};
use tusk_sql::types::{self, Align, Ty};
use tusk_sql::usertype::TypeName;
use tusk_sql::Value;
use tusk_storage::catalog::{self as cat, PG_CLASS_OID, PG_RANGE_OID, PG_TYPE_OID};

use super::usertype::array_name;
use super::{name_of, oid_of};
use crate::backend::Session;

const RANGE_IN: u32 = 3834;
const RANGE_OUT: u32 = 3835;
const RANGE_RECV: u32 = 3836;
const RANGE_SEND: u32 = 3837;
const MULTIRANGE_IN: u32 = 4231;
const MULTIRANGE_OUT: u32 = 4232;
const MULTIRANGE_RECV: u32 = 4233;
const MULTIRANGE_SEND: u32 = 4234;
use super::usertype::{ARRAY_IN, ARRAY_OUT, ARRAY_RECV, ARRAY_SEND, ARRAY_SUBSCRIPT_HANDLER};
/// pg_range_rngtypid_index.
const RANGE_TYPID_INDEX: u32 = 3542;
/// OIDs below this are built in (PostgreSQL's FirstNormalObjectId).
const FIRST_NORMAL_OID: u32 = 16384;

/// makeMultirangeTypeName.
fn multirange_name(range: &str) -> String {
    match range.find("range") {
        Some(i) => format!("{}multirange{}", &range[..i], &range[i + 5..]),
        None => format!("{range}_multirange"),
    }
}

impl Session {
    pub(super) fn create_range(
        &mut self,
        name: &TypeName,
        subtype: Ty,
        multi: Option<&str>,
    ) -> Result<(), PgError> {
        let nsp = self.creation_namespace(name.0.as_deref())?;
        let multi = multi.map_or_else(|| multirange_name(&name.1), str::to_string);
        for n in [&name.1, &multi] {
            let taken = !self
                .catalog_lookup(
                    cat::PG_TYPE_TYPNAME_NSP_INDEX,
                    &[Value::Name(n.clone()), Value::Oid(nsp)],
                )?
                .is_empty()
                || self.find_class(&[nsp], n)?.is_some();
            if taken {
                return Err(PgError::error(
                    codes::DUPLICATE_OBJECT,
                    format!("type \"{n}\" already exists"),
                ));
            }
        }
        self.write_xid()?;
        let fresh = |s: &Self| s.new_unused_oid(&[(PG_TYPE_OID, "oid"), (PG_CLASS_OID, "oid")]);
        let oid = fresh(self)?;
        let array = fresh(self)?;
        let moid = fresh(self)?;
        let marray = fresh(self)?;
        let align = match types::type_info(subtype.oid).map(|t| t.align) {
            Some(Align::Double) => b'd',
            _ => b'i',
        };
        let tc = cat::catalog(PG_TYPE_OID);
        let owner_oid = self.current_role_oid()?;
        let owner = Value::Oid(owner_oid);
        let type_row = |oid: u32, name: String, kind: u8, elem: u32, arr: u32, io: [u32; 4]| {
            let (typtype, category) = match kind {
                b'A' => (b'b', b'A'),
                k => (k, b'R'),
            };
            cat::row(
                tc,
                &[
                    ("oid", Value::Oid(oid)),
                    ("typname", Value::Name(name)),
                    ("typnamespace", Value::Oid(nsp)),
                    ("typowner", owner.clone()),
                    ("typlen", Value::Int2(-1)),
                    ("typbyval", Value::Bool(false)),
                    ("typtype", Value::Char(typtype)),
                    ("typcategory", Value::Char(category)),
                    ("typisdefined", Value::Bool(true)),
                    ("typdelim", Value::Char(b',')),
                    (
                        "typsubscript",
                        Value::Oid(if kind == b'A' {
                            ARRAY_SUBSCRIPT_HANDLER
                        } else {
                            0
                        }),
                    ),
                    ("typelem", Value::Oid(elem)),
                    ("typarray", Value::Oid(arr)),
                    ("typinput", Value::Oid(io[0])),
                    ("typoutput", Value::Oid(io[1])),
                    ("typreceive", Value::Oid(io[2])),
                    ("typsend", Value::Oid(io[3])),
                    ("typalign", Value::Char(align)),
                    ("typstorage", Value::Char(b'x')),
                    ("typtypmod", Value::Int4(-1)),
                ],
            )
        };
        let arr_io = [ARRAY_IN, ARRAY_OUT, ARRAY_RECV, ARRAY_SEND];
        let rows = [
            type_row(
                oid,
                name.1.clone(),
                b'r',
                0,
                array,
                [RANGE_IN, RANGE_OUT, RANGE_RECV, RANGE_SEND],
            ),
            type_row(array, array_name(&name.1), b'A', oid, 0, arr_io),
            type_row(
                moid,
                multi.clone(),
                b'm',
                0,
                marray,
                [
                    MULTIRANGE_IN,
                    MULTIRANGE_OUT,
                    MULTIRANGE_RECV,
                    MULTIRANGE_SEND,
                ],
            ),
            type_row(marray, array_name(&multi), b'A', moid, 0, arr_io),
        ];
        for r in &rows {
            self.insert_catalog(PG_TYPE_OID, r)?;
        }
        let range_row = cat::row(
            cat::catalog(PG_RANGE_OID),
            &[
                ("rngtypid", Value::Oid(oid)),
                ("rngsubtype", Value::Oid(subtype.oid)),
                ("rngmultitypid", Value::Oid(moid)),
                ("rngcollation", Value::Oid(0)),
                ("rngsubopc", Value::Oid(0)),
                ("rngcanonical", Value::Oid(0)),
                ("rngsubdiff", Value::Oid(0)),
            ],
        );
        self.insert_catalog(PG_RANGE_OID, &range_row)
    }

    /// The user range type `name` names (by its unqualified name).
    pub(super) fn user_range(name: &TypeName) -> Option<&'static RangeType> {
        rg::range_type(rg::by_name(&name.1)?).filter(|r| r.oid >= FIRST_NORMAL_OID)
    }

    /// DROP TYPE of user range types: their four pg_type rows and the
    /// pg_range row, refused (2BP01) while a column uses one of them.
    pub(super) fn drop_ranges(&mut self, names: &[TypeName]) -> Result<(), PgError> {
        let found: Vec<&'static RangeType> = names.iter().filter_map(Self::user_range).collect();
        for t in &found {
            for (oid, arr, name) in [
                (t.oid, t.array, t.name),
                (t.multi, t.multi_array, t.multi_name),
            ] {
                let users: Vec<String> = self
                    .type_dependents(oid, arr)?
                    .0
                    .into_iter()
                    .map(|c| format!("{c} depends on type {name}"))
                    .collect();
                if !users.is_empty() {
                    return Err(super::usertype::type_has_dependents(t.name, &users));
                }
            }
        }
        self.write_xid()?;
        for t in &found {
            for o in [t.oid, t.array, t.multi, t.multi_array] {
                for (tid, _) in self.catalog_lookup(cat::PG_TYPE_OID_INDEX, &[Value::Oid(o)])? {
                    self.delete_catalog(PG_TYPE_OID, tid)?;
                }
            }
            for (tid, _) in self.catalog_lookup(RANGE_TYPID_INDEX, &[Value::Oid(t.oid)])? {
                self.delete_catalog(PG_RANGE_OID, tid)?;
            }
        }
        Ok(())
    }

    /// Installs the user range types of pg_range (with their pg_type rows
    /// from `type_rows`) in tusk_types' registry; called by the registry
    /// reload (usertype.rs).
    pub(super) fn load_user_ranges(&self, type_rows: &[Rc<Vec<Value>>]) -> Result<(), PgError> {
        let rc = cat::catalog(PG_RANGE_OID);
        let tc = cat::catalog(PG_TYPE_OID);
        let typ = |oid: u32| {
            type_rows
                .iter()
                .find(|r| oid_of(&r[tc.col("oid")]) == oid)
                .map(|r| {
                    (
                        name_of(&r[tc.col("typname")]).to_string(),
                        oid_of(&r[tc.col("typarray")]),
                    )
                })
        };
        let mut out = Vec::new();
        for (_, r) in self.catalog_rows(PG_RANGE_OID)? {
            let oid = oid_of(&r[rc.col("rngtypid")]);
            if oid < FIRST_NORMAL_OID {
                continue;
            }
            let multi = oid_of(&r[rc.col("rngmultitypid")]);
            let (Some((name, array)), Some((multi_name, multi_array))) = (typ(oid), typ(multi))
            else {
                continue;
            };
            // Reuse the names of an unchanged row (they are leaked).
            let old = rg::range_type(oid);
            let keep = |s: &str, o: Option<&'static str>| match o {
                Some(o) if o == s => o,
                _ => rg::static_name(s),
            };
            out.push(RangeType {
                oid,
                name: keep(&name, old.map(|o| o.name)),
                sub: oid_of(&r[rc.col("rngsubtype")]),
                array,
                multi,
                multi_name: keep(&multi_name, old.map(|o| o.multi_name)),
                multi_array,
            });
        }
        out.sort_by_key(|r| r.oid);
        rg::install(out);
        Ok(())
    }
}
