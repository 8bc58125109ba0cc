//! CREATE TYPE ... AS ENUM, ALTER TYPE ... ADD/RENAME VALUE, DROP TYPE: the statements read into [`TypeCmd`], and the binder's view of enum types (names to types, enum_first/enum_last/enum_range).
//!
//! Why this shape: the catalog work (pg_type, pg_enum rows, dependency
//! checks) is the server's, behind `Tables::type_command`, as every DDL of
//! this crate; what the SQL layer needs to know about the types that exist
//! it reads from tusk_types' per-backend registry (tusk_types::usertype),
//! which the server refreshes whenever the catalog changed, because the
//! layers that need a type's layout or labels (storage, casts, the wire)
//! cannot read the catalog themselves.
//!
//! Domains are [`TypeCmd`]s too (read by crates/sql/src/domain.rs).
//!
//! Composite types (CREATE TYPE ... AS (...)) are [`TypeCmd`]s too; their
//! registry is tusk_types::composite.
//!
//! Not yet: base types, ALTER TYPE ... OWNER / SET SCHEMA, DROP TYPE
//! ... CASCADE.

use sqlparser::ast;
use tusk_common::{sqlstate, PgError};

use crate::bind::{ident_name, not_supported, Bound};
use crate::expr::Expr;
use crate::types::{self, Oid, Ty};
use crate::Value;
/// The composite types' registry (tusk_types::composite).
pub use tusk_types::composite;
/// The registry the server fills (tusk_types::usertype).
pub use tusk_types::usertype as reg;

/// A type name as written: optional schema, name.
pub type TypeName = (Option<String>, String);

/// Where ALTER TYPE ... ADD VALUE puts the new label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    End,
    Before(String),
    After(String),
}

/// One ALTER TYPE ... ATTRIBUTE action on a composite type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrOp {
    Add(String, Ty),
    /// The attribute, IF EXISTS.
    Drop(String, bool),
    SetType(String, Ty),
    Rename(String, String),
}

/// A type DDL statement for `Tables::type_command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeCmd {
    CreateEnum {
        name: TypeName,
        labels: Vec<String>,
    },
    AddValue {
        name: TypeName,
        label: String,
        position: Position,
        if_not_exists: bool,
    },
    RenameValue {
        name: TypeName,
        from: String,
        to: String,
    },
    /// DROP TYPE; with CASCADE, dependents tusk cannot drop along are
    /// still refused (0A000 instead of 2BP01).
    Drop {
        names: Vec<TypeName>,
        if_exists: bool,
        cascade: bool,
    },
    /// ALTER TYPE ... RENAME TO (the array type follows, `_new`).
    Rename {
        name: TypeName,
        new_name: String,
    },
    /// CREATE TYPE ... AS RANGE: the subtype and the multirange type's
    /// name when given.
    CreateRange {
        name: TypeName,
        subtype: Ty,
        multirange: Option<String>,
    },
    /// CREATE TYPE ... AS (field type, ...): a composite type.
    CreateComposite {
        name: TypeName,
        fields: Vec<(String, Ty)>,
    },
    /// ALTER TYPE ... ADD/DROP/ALTER/RENAME ATTRIBUTE (read by domain.rs).
    AlterAttributes {
        name: TypeName,
        ops: Vec<AttrOp>,
    },
    /// CREATE DOMAIN (crates/sql/src/domain.rs).
    CreateDomain(Box<crate::domain::DomainDef>),
    AlterDomain {
        name: TypeName,
        op: crate::domain::DomainOp,
    },
    DropDomain {
        names: Vec<TypeName>,
        if_exists: bool,
        cascade: bool,
    },
}

impl TypeCmd {
    pub fn tag(&self) -> &'static str {
        match self {
            TypeCmd::CreateEnum { .. }
            | TypeCmd::CreateRange { .. }
            | TypeCmd::CreateComposite { .. } => "CREATE TYPE",
            TypeCmd::AddValue { .. }
            | TypeCmd::RenameValue { .. }
            | TypeCmd::Rename { .. }
            | TypeCmd::AlterAttributes { .. } => "ALTER TYPE",
            TypeCmd::Drop { .. } => "DROP TYPE",
            TypeCmd::CreateDomain(_) => "CREATE DOMAIN",
            TypeCmd::AlterDomain { .. } => "ALTER DOMAIN",
            TypeCmd::DropDomain { .. } => "DROP DOMAIN",
        }
    }
}

fn type_name(n: &ast::ObjectName) -> Result<TypeName, PgError> {
    let parts: Vec<String> =
        n.0.iter()
            .map(|p| match p {
                ast::ObjectNamePart::Identifier(i) => ident_name(i),
                ast::ObjectNamePart::Function(f) => f.to_string(),
            })
            .collect();
    match parts.as_slice() {
        [t] => Ok((None, t.clone())),
        [s, t] => Ok((Some(s.clone()), t.clone())),
        _ => Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("improper qualified name (too many dotted names): {n}"),
        )),
    }
}

/// A label as written (a string literal; sqlparser hands it over as a
/// quoted identifier): checked against NAMEDATALEN as EnumValuesCreate.
fn label(i: &ast::Ident) -> Result<String, PgError> {
    let l = i.value.clone();
    if l.len() > types::NAME_MAX_BYTES {
        return Err(PgError::error(
            sqlstate::INVALID_NAME,
            format!("invalid enum label \"{l}\""),
        )
        .with_detail("Labels must be 63 bytes or less."));
    }
    Ok(l)
}

/// CREATE TYPE ... AS RANGE's options: SUBTYPE (required, 42P17 as
/// DefineRange), MULTIRANGE_TYPE_NAME; COLLATION and SUBTYPE_DIFF are
/// taken and not kept (tusk compares text bytewise and has no
/// subtype_diff use); a CANONICAL function needs a C function (0A000).
fn range_command(
    name: &ast::ObjectName,
    options: &[ast::UserDefinedTypeRangeOption],
) -> Result<TypeCmd, PgError> {
    use ast::UserDefinedTypeRangeOption as O;
    let mut subtype = None;
    let mut multirange = None;
    for o in options {
        match o {
            O::Subtype(dt) => subtype = Some(crate::bind::data_type_to_ty(dt)?),
            O::MultirangeTypeName(n) => multirange = Some(type_name(n)?.1),
            O::Canonical(_) => return Err(not_supported("CREATE TYPE ... AS RANGE (CANONICAL)")),
            O::Collation(_) | O::SubtypeDiff(_) | O::SubtypeOpClass(_) => {}
        }
    }
    let Some(subtype) = subtype else {
        return Err(PgError::error(
            sqlstate::INVALID_OBJECT_DEFINITION,
            "type attribute \"subtype\" is required",
        ));
    };
    Ok(TypeCmd::CreateRange {
        name: type_name(name)?,
        subtype: Ty::new(subtype.oid),
        multirange,
    })
}

/// The type statements of `s`, or `None` for any other statement.
pub(crate) fn parse(s: &ast::Statement) -> Option<Result<TypeCmd, PgError>> {
    use ast::Statement as S;
    Some(match s {
        S::CreateType {
            name,
            representation,
        } => match representation {
            Some(ast::UserDefinedTypeRepresentation::Enum { labels }) => (|| {
                Ok(TypeCmd::CreateEnum {
                    name: type_name(name)?,
                    labels: labels.iter().map(label).collect::<Result<_, _>>()?,
                })
            })(),
            Some(ast::UserDefinedTypeRepresentation::Range { options }) => {
                range_command(name, options)
            }
            Some(ast::UserDefinedTypeRepresentation::Composite { attributes }) => (|| {
                let mut fields: Vec<(String, Ty)> = Vec::with_capacity(attributes.len());
                for a in attributes {
                    let n = ident_name(&a.name);
                    if fields.iter().any(|(f, _)| *f == n) {
                        return Err(PgError::error(
                            sqlstate::DUPLICATE_COLUMN,
                            format!("column \"{n}\" specified more than once"),
                        ));
                    }
                    fields.push((n, crate::bind::data_type_to_ty(&a.data_type)?));
                }
                Ok(TypeCmd::CreateComposite {
                    name: type_name(name)?,
                    fields,
                })
            })(),
            _ => Err(not_supported("CREATE TYPE")),
        },
        S::AlterType(at) => (|| {
            let name = type_name(&at.name)?;
            match &at.operation {
                ast::AlterTypeOperation::AddValue(a) => Ok(TypeCmd::AddValue {
                    name,
                    label: label(&a.value)?,
                    position: match &a.position {
                        None => Position::End,
                        Some(ast::AlterTypeAddValuePosition::Before(x)) => {
                            Position::Before(x.value.clone())
                        }
                        Some(ast::AlterTypeAddValuePosition::After(x)) => {
                            Position::After(x.value.clone())
                        }
                    },
                    if_not_exists: a.if_not_exists,
                }),
                ast::AlterTypeOperation::RenameValue(r) => Ok(TypeCmd::RenameValue {
                    name,
                    from: r.from.value.clone(),
                    to: label(&r.to)?,
                }),
                ast::AlterTypeOperation::Rename(r) => Ok(TypeCmd::Rename {
                    name,
                    new_name: ident_name(&r.new_name),
                }),
            }
        })(),
        S::Drop {
            object_type: ast::ObjectType::Type,
            if_exists,
            names,
            cascade,
            ..
        } => (|| {
            Ok(TypeCmd::Drop {
                names: names.iter().map(type_name).collect::<Result<_, _>>()?,
                if_exists: *if_exists,
                cascade: *cascade,
            })
        })(),
        _ => return None,
    })
}

/// The OID of the enum type `name` (`name` or `schema.name`) means.
pub fn lookup_type(name: &str) -> Option<Oid> {
    lookup(name).map(|t| t.oid)
}

/// The enum type a name (as `data_type_to_ty` spells it: `name` or
/// `schema.name`) stands for. An unqualified name takes the type of the
/// first schema of the registry's search order (the server installs the
/// types in search_path order, tables/usertype.rs).
pub(crate) fn lookup(name: &str) -> Option<Ty> {
    let (schema, n) = match name.split_once('.') {
        Some((s, n)) => (Some(s), n),
        None => (None, name),
    };
    let (n, array) = match n.strip_suffix("[]") {
        Some(e) => (e, true),
        None => (n, false),
    };
    let found = reg::by_name(n);
    let oid = match schema {
        Some(s) => {
            found
                .iter()
                .find(|(o, _)| reg::enum_type(*o).is_some_and(|t| t.schema == s))?
                .0
        }
        None => found.first()?.0,
    };
    Some(Ty::new(if array { reg::array_of(oid)? } else { oid }))
}

/// The composite type a name (`name`, `schema.name`, `name[]`) stands
/// for: the first of the registry's search_path order.
pub(crate) fn lookup_composite(name: &str) -> Option<Ty> {
    let (schema, n) = match name.split_once('.') {
        Some((s, n)) => (Some(s), n),
        None => (None, name),
    };
    let (n, array) = match n.strip_suffix("[]") {
        Some(e) => (e, true),
        None => (n, false),
    };
    let found = tusk_types::composite::by_name(n);
    let t = match schema {
        Some(s) => found.into_iter().find(|t| t.schema == s)?,
        None => found.into_iter().next()?,
    };
    Some(Ty::new(if array { t.array } else { t.oid }))
}

/// enum_first, enum_last and enum_range over an enum-typed argument:
/// `Ok(bound)` when `name` is one of them, `Err(args)` to let the other
/// function families try.
pub(crate) fn enum_function(
    name: &str,
    args: Vec<Bound>,
) -> Result<Result<Bound, Vec<Bound>>, PgError> {
    if !matches!(name, "enum_first" | "enum_last" | "enum_range") {
        return Ok(Err(args));
    }
    // The type comes from the first enum-typed argument (enum_range(NULL,
    // 'x'::e) resolves its unknown first argument from the second).
    let Some(t) = args.iter().find_map(|a| reg::enum_type(a.ty.oid)) else {
        return Ok(Err(args));
    };
    let all: Vec<Value> = t.labels.iter().map(|l| reg::value_of(&t, l)).collect();
    let empty = || {
        PgError::error(
            sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("enum {} contains no values", t.name),
        )
    };
    let array = |items: Vec<Value>| -> Result<Bound, PgError> {
        Ok(Bound::new(
            Expr::Const(Value::Array(Box::new(types::array::Array::from_items(
                t.oid, items,
            )))),
            Ty::new(t.array),
        ))
    };
    Ok(Ok(match (name, args.len()) {
        ("enum_first", 1) => Bound::new(
            Expr::Const(all.first().cloned().ok_or_else(empty)?),
            Ty::new(t.oid),
        ),
        ("enum_last", 1) => Bound::new(
            Expr::Const(all.last().cloned().ok_or_else(empty)?),
            Ty::new(t.oid),
        ),
        ("enum_range", 1) => array(all)?,
        ("enum_range", 2) => {
            // Both bounds must be known when binding (constants or casts of
            // constants): the labels between them, NULL meaning the end.
            let bound = |b: &Bound| -> Option<Option<Value>> {
                match &b.e {
                    Expr::Const(Value::Null) => Some(None),
                    Expr::Const(v @ Value::Enum(_)) => Some(Some(v.clone())),
                    Expr::Cast { arg, .. } => match arg.as_ref() {
                        Expr::Const(Value::Null) => Some(None),
                        Expr::Const(Value::Text(s)) => reg::enum_in(t.oid, s).ok().map(Some),
                        _ => None,
                    },
                    _ => None,
                }
            };
            if args
                .iter()
                .any(|a| a.ty.oid != t.oid && a.ty.oid != types::UNKNOWN)
            {
                return Ok(Err(args));
            }
            let (Some(lo), Some(hi)) = (bound(&args[0]), bound(&args[1])) else {
                return Err(not_supported("enum_range() of non-constant bounds"));
            };
            let items = all
                .into_iter()
                .filter(|v| {
                    lo.as_ref()
                        .is_none_or(|lo| tusk_types::compare(v, lo).is_ge())
                        && hi
                            .as_ref()
                            .is_none_or(|hi| tusk_types::compare(v, hi).is_le())
                })
                .collect();
            array(items)?
        }
        _ => return Ok(Err(args)),
    }))
}

/// `ROW(a, b, ...)` (sqlparser hands it over as a function named `row`):
/// an anonymous record, `Ok(bound)`, or `Err(args)` for any other name.
/// Untyped literals become text, as PostgreSQL resolves them in a row.
pub(crate) fn row_function(
    b: &mut crate::bind::Binder<'_>,
    name: &str,
    args: Vec<Bound>,
) -> Result<Result<Bound, Vec<Bound>>, PgError> {
    if name != "row" {
        return Ok(Err(args));
    }
    b.row_of(args).map(Ok)
}
