//! Binding row-valued syntax: row constructors (`ROW(a, b)`, `(a, b)`), field selection (`(x).f`, `(x).*` in a chain), and comparisons of rows (pairwise for two constructors, record_eq / record_cmp for composite values).
//!
//! Why a child of the binder: these need its coercion of comparison
//! operands, while the registry of row types (field names and types of a
//! named composite or of a blessed anonymous record) is
//! tusk_types::composite's, so a `Ty` alone says what fields a value has.
//! Two constructors compare as PostgreSQL's RowCompareExpr (each pair
//! coerced to a common type, NULL rules of `=`/`<>` different from the
//! order operators); two composite values as record_eq / record_cmp, whose
//! checks (same column count and types, comparable types) run on the
//! values (`Func::RecordCmp`), as PostgreSQL raises them at run time.
//!
//! Called by the backend binding a statement.

use super::*;
use tusk_types::composite::{self as comp, Field};

/// The items of a row constructor (`ROW(...)` or a parenthesised list of
/// two or more), looking through parentheses.
pub(super) fn row_ctor_items(e: &ast::Expr) -> Option<Vec<&ast::Expr>> {
    match e {
        ast::Expr::Nested(inner) => row_ctor_items(inner),
        ast::Expr::Tuple(items) => Some(items.iter().collect()),
        ast::Expr::Function(f) if f.over.is_none() => {
            let parts = object_name_parts(&f.name).ok()?;
            if parts.len() != 1 || parts[0] != "row" {
                return None;
            }
            match &f.args {
                ast::FunctionArguments::List(l) => l
                    .args
                    .iter()
                    .map(|a| match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => Some(x),
                        _ => None,
                    })
                    .collect(),
                ast::FunctionArguments::None => Some(Vec::new()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `f(t.*)` with each `t.*` argument read as the whole-row reference `t`
/// (PostgreSQL passes the row as one composite argument); `None` when no
/// argument is one.
pub(super) fn whole_row_args(f: &ast::Function) -> Option<ast::Function> {
    let ast::FunctionArguments::List(l) = &f.args else {
        return None;
    };
    let star = |a: &ast::FunctionArg| {
        matches!(
            a,
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::QualifiedWildcard(n)) if n.0.len() == 1
        )
    };
    if !l.args.iter().any(star) {
        return None;
    }
    let mut f2 = f.clone();
    if let ast::FunctionArguments::List(l2) = &mut f2.args {
        for a in l2.args.iter_mut() {
            if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::QualifiedWildcard(n)) = a {
                if let [ast::ObjectNamePart::Identifier(i)] = n.0.as_slice() {
                    *a = ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
                        ast::Expr::Identifier(i.clone()),
                    ));
                }
            }
        }
    }
    Some(f2)
}

impl Binder<'_> {
    /// A row constructor over bound items: an anonymous record whose
    /// fields are f1, f2, ... (unknown literals become text).
    pub(crate) fn row_of(&mut self, items: Vec<Bound>) -> Result<Bound, PgError> {
        let mut out = Vec::with_capacity(items.len());
        let mut fields = Vec::with_capacity(items.len());
        for (i, a) in items.into_iter().enumerate() {
            let a = if a.is_unknown() {
                self.coerce(a, Ty::new(types::TEXT))?
            } else {
                a
            };
            fields.push(Field {
                name: format!("f{}", i + 1),
                ty: a.ty,
            });
            out.push(a.e);
        }
        Ok(Bound::new(
            Expr::Func(crate::func::Func::Row, out),
            comp::bless(fields),
        ))
    }

    /// A whole-row reference to FROM item `item` (`SELECT t FROM t`):
    /// its visible columns as a record of the table's row type, or an
    /// anonymous record named after the item's columns.
    pub(super) fn whole_row(&mut self, item: &RangeItem) -> Result<Bound, PgError> {
        let cols = &item.cols[..item.visible];
        let items: Vec<Bound> = cols
            .iter()
            .map(|c| Bound::new(c.expr.clone(), c.ty))
            .collect();
        if let (Some(keys), false) = (&self.grouping, self.in_agg) {
            if cols
                .iter()
                .any(|c| !matches!(c.expr, Expr::Column(i) if keys.contains(&i)))
            {
                return Err(not_supported("whole-row references in grouped queries"));
            }
        }
        let row = self.row_of(items)?;
        if item.rowtype != 0 {
            let to = Ty::new(item.rowtype);
            return Ok(Bound::new(
                Expr::Cast {
                    arg: Box::new(row.e),
                    from: types::RECORD,
                    to,
                },
                to,
            ));
        }
        let fields = cols
            .iter()
            .map(|c| Field {
                name: c.name.clone(),
                ty: c.ty,
            })
            .collect();
        Ok(Bound::new(row.e, comp::bless(fields)))
    }

    /// `(a, b, ...)` as an expression.
    pub(super) fn tuple(&mut self, items: &[ast::Expr]) -> Result<Bound, PgError> {
        let mut bound = Vec::with_capacity(items.len());
        for i in items {
            bound.push(self.bind_expr(i)?);
        }
        self.row_of(bound)
    }

    /// `l op r` when both sides are row constructors: pairwise, as
    /// PostgreSQL's make_row_comparison_op. `None` when they are not.
    pub(super) fn row_compare(
        &mut self,
        cop: CmpOp,
        left: &ast::Expr,
        right: &ast::Expr,
    ) -> Result<Option<Bound>, PgError> {
        let (Some(li), Some(ri)) = (row_ctor_items(left), row_ctor_items(right)) else {
            return Ok(None);
        };
        if li.len() != ri.len() {
            return Err(syntax("unequal number of entries in row expressions"));
        }
        if li.is_empty() {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "cannot compare rows of zero length",
            ));
        }
        let mut ls = Vec::with_capacity(li.len());
        let mut rs = Vec::with_capacity(li.len());
        for (a, b) in li.into_iter().zip(ri) {
            let (l, r) = self.comparison_operands(a, b, cop.symbol())?;
            ls.push(l.e);
            rs.push(r.e);
        }
        ls.extend(rs);
        Ok(Some(Bound::new(
            Expr::Func(crate::func::Func::RowCmp(cop), ls),
            Ty::new(types::BOOL),
        )))
    }

    /// Field `name` of row-typed `base` (`(x).name`).
    pub(super) fn field_select(&mut self, base: Bound, name: &str) -> Result<Bound, PgError> {
        let Some(fields) = comp::fields(base.ty) else {
            if base.ty.oid == types::RECORD {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_COLUMN,
                    "could not identify column \"".to_string() + name + "\" in record data type",
                ));
            }
            return Err(PgError::error(
                sqlstate::WRONG_OBJECT_TYPE,
                format!(
                    "column notation .{name} applied to type {}, which is not a composite type",
                    types::sql_name(base.ty.oid)
                ),
            ));
        };
        let Some(i) = fields.iter().position(|f| f.name == name) else {
            if base.ty.oid == types::RECORD {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("could not identify column \"{name}\" in record data type"),
                ));
            }
            return Err(PgError::error(
                sqlstate::UNDEFINED_COLUMN,
                format!(
                    "column \"{name}\" not found in data type {}",
                    types::sql_name(base.ty.oid)
                ),
            ));
        };
        Ok(Bound::new(
            Expr::Func(crate::func::Func::Field(i as u16), vec![base.e]),
            fields[i].ty,
        ))
    }
}

/// record_eq / record_cmp's checks and result for two record values
/// (neither NULL): the columns must be as many and of the same types,
/// and comparable.
pub(crate) fn record_cmp(
    op: CmpOp,
    a: &[(Oid, Value)],
    b: &[(Oid, Value)],
) -> Result<bool, PgError> {
    let eq = matches!(op, CmpOp::Eq | CmpOp::Ne);
    for (i, ((ta, va), (tb, vb))) in a.iter().zip(b).enumerate() {
        // A NULL field's type is not kept on anonymous values.
        if ta != tb && !va.is_null() && !vb.is_null() {
            return Err(PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                format!(
                    "cannot compare dissimilar column types {} and {} at record column {}",
                    types::sql_name(*ta),
                    types::sql_name(*tb),
                    i + 1
                ),
            ));
        }
        if tusk_types::geo::is_geo(*ta) {
            return Err(PgError::error(
                sqlstate::UNDEFINED_FUNCTION,
                if eq {
                    format!(
                        "could not identify an equality operator for type {}",
                        types::sql_name(*ta)
                    )
                } else {
                    format!(
                        "could not identify a comparison function for type {}",
                        types::sql_name(*ta)
                    )
                },
            ));
        }
    }
    if a.len() != b.len() {
        return Err(PgError::error(
            sqlstate::DATATYPE_MISMATCH,
            "cannot compare record types with different numbers of columns",
        ));
    }
    let o = tusk_types::compare(&Value::Record(a.to_vec()), &Value::Record(b.to_vec()));
    Ok(op.test(o))
}

/// RowCompareExpr over `args` (the left row's items, then the right's).
pub(crate) fn row_cmp(op: CmpOp, args: &[Value]) -> Value {
    let n = args.len() / 2;
    let (l, r) = args.split_at(n);
    match op {
        CmpOp::Eq | CmpOp::Ne => {
            let want_ne = op == CmpOp::Ne;
            let mut null = false;
            for (a, b) in l.iter().zip(r) {
                if a.is_null() || b.is_null() {
                    null = true;
                    continue;
                }
                let ne = tusk_types::compare(a, b) != std::cmp::Ordering::Equal;
                if ne {
                    return Value::Bool(want_ne);
                }
            }
            if null {
                Value::Null
            } else {
                Value::Bool(!want_ne)
            }
        }
        _ => {
            for (a, b) in l.iter().zip(r) {
                if a.is_null() || b.is_null() {
                    return Value::Null;
                }
                let o = tusk_types::compare(a, b);
                if o != std::cmp::Ordering::Equal {
                    return Value::Bool(op.test(o));
                }
            }
            Value::Bool(op.test(std::cmp::Ordering::Equal))
        }
    }
}
