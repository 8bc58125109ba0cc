//! Binding assignments: UPDATE's (and ON CONFLICT DO UPDATE's and
//! MERGE's) SET lists with their `(a, b) = ...` multi-column items, and
//! targets with indirection (`a[i]`, `a[lo:hi]`, `c.f`, `c.arr[1].f`) in
//! SET lists and INSERT column lists, as PostgreSQL's
//! transformAssignmentIndirection and the rewriter's process_matched_tle.
//!
//! Why built this way: an assignment to part of a column is an
//! expression producing the whole new column value from the old one
//! (the column in UPDATE, NULL in INSERT): a FieldStore (`SetField`) or
//! an array store (`ArrOp::Assign`) over it, nested for each step. Later
//! assignments to other parts of the same column take the earlier ones'
//! result as their old value, as PostgreSQL's rewriter merges them, and
//! a domain over the column's type is checked once, on the final value.
//! The parser side (how `a[1]` reaches here through sqlparser) is
//! crates/sql/src/assign.rs.

use super::*;
use crate::arrays::{ArrOp, Sub};
use crate::assign::{Step, Target};
use tusk_types::composite as comp;

/// Base type of a domain (through domains over domains), or `ty` itself.
fn domain_base(ty: Ty) -> Option<Ty> {
    tusk_types::usertype::domain_type(ty.oid).map(|d| crate::domain::base_ty(&d))
}

/// One assignment of a SET list or INSERT column list, bound: the table
/// column, whether it assigns to part of the column, and the expression
/// for the new column value (over the old value `base`).
pub(crate) struct Assigned {
    pub col: usize,
    pub partial: bool,
    pub expr: Expr,
}

impl Binder<'_> {
    /// The new value of column `col` after assigning `rhs` through
    /// `steps`, starting from `base` (the old value). For a domain column
    /// the result is of the domain's base type: the caller checks the
    /// domain once all assignments to the column are merged.
    pub(crate) fn assign_steps(
        &mut self,
        base: Expr,
        col: &catalog::ColumnDef,
        steps: &[Step],
        rhs: Bound,
        at: Option<u32>,
    ) -> Result<Expr, PgError> {
        let ty = Ty::new(col.ty.oid);
        let top = domain_base(ty).unwrap_or(ty);
        self.indirect(base, &col.name, false, top, steps, rhs, at)
    }

    /// transformAssignmentIndirection: `steps` applied to `base` of type
    /// `ty`; `name` and `subscripting` word the errors.
    #[allow(clippy::too_many_arguments)]
    fn indirect(
        &mut self,
        base: Expr,
        name: &str,
        subscripting: bool,
        ty: Ty,
        steps: &[Step],
        rhs: Bound,
        at: Option<u32>,
    ) -> Result<Expr, PgError> {
        let mut subs: Vec<&ast::Subscript> = Vec::new();
        for (k, step) in steps.iter().enumerate() {
            match step {
                Step::Subscript(s) => subs.push(s.as_ref()),
                Step::Field(f) if !subs.is_empty() => {
                    return self.assign_subscripts(base, name, ty, &subs, &steps[k..], rhs, at);
                }
                Step::Field(f) => {
                    let (bty, domain) = match domain_base(ty) {
                        Some(b) => (b, true),
                        None => (ty, false),
                    };
                    let Some(fields) = comp::fields(bty) else {
                        return Err(PgError::error(
                            sqlstate::DATATYPE_MISMATCH,
                            format!(
                                "cannot assign to field \"{f}\" of column \"{name}\" because its type {} is not a composite type",
                                types::sql_name(ty.oid)
                            ),
                        )
                        .with_position(at));
                    };
                    let Some(i) = fields.iter().position(|x| x.name == *f) else {
                        return Err(PgError::error(
                            sqlstate::UNDEFINED_COLUMN,
                            format!(
                                "cannot assign to field \"{f}\" of column \"{name}\" because there is no such column in data type {}",
                                types::sql_name(ty.oid)
                            ),
                        )
                        .with_position(at));
                    };
                    let cur = Expr::Func(crate::func::Func::Field(i as u16), vec![base.clone()]);
                    let inner =
                        self.indirect(cur, f, false, fields[i].ty, &steps[k + 1..], rhs, at)?;
                    let store = Expr::Func(
                        crate::func::Func::SetField(i as u16, fields.len() as u16),
                        vec![base, inner],
                    );
                    if domain {
                        return Ok(self.coerce(Bound::new(store, bty), ty)?.e);
                    }
                    return Ok(store);
                }
            }
        }
        if !subs.is_empty() {
            return self.assign_subscripts(base, name, ty, &subs, &[], rhs, at);
        }
        let from = rhs.ty.oid;
        let to = domain_base(ty).map_or(ty.oid, |b| b.oid);
        let castable = rhs.is_unknown()
            || from == ty.oid
            || from == to
            || (cast::castable(from, to) && tusk_types::geo::assignable(from, to));
        let mismatch = || {
            let msg = if subscripting {
                format!(
                    "subscripted assignment to \"{name}\" requires type {} but expression is of type {}",
                    types::sql_name(ty.oid),
                    types::sql_name(from)
                )
            } else {
                format!(
                    "subfield \"{name}\" is of type {} but expression is of type {}",
                    types::sql_name(ty.oid),
                    types::sql_name(from)
                )
            };
            PgError::error(sqlstate::DATATYPE_MISMATCH, msg)
                .with_hint("You will need to rewrite or cast the expression.")
                .with_position(at)
        };
        if !castable {
            return Err(mismatch());
        }
        match self.coerce(rhs, ty) {
            Ok(b) => Ok(b.e),
            Err(e) if e.code == sqlstate::CANNOT_COERCE => Err(mismatch()),
            Err(e) => Err(e),
        }
    }

    /// transformAssignmentSubscripts: `base[subs] := (rest applied to
    /// base[subs])`.
    #[allow(clippy::too_many_arguments)]
    fn assign_subscripts(
        &mut self,
        base: Expr,
        name: &str,
        ty: Ty,
        subs: &[&ast::Subscript],
        rest: &[Step],
        rhs: Bound,
        at: Option<u32>,
    ) -> Result<Expr, PgError> {
        let (cty, domain) = match domain_base(ty) {
            Some(b) => (b, true),
            None => (ty, false),
        };
        if cty.oid == types::JSONB && !domain {
            return self.assign_jsonb(base, name, subs, rest, rhs, at);
        }
        let Some(elem) = tusk_types::array::elem_type(cty.oid) else {
            return Err(PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                format!(
                    "cannot subscript type {} because it does not support subscripting",
                    types::sql_name(ty.oid)
                ),
            )
            .with_position(at));
        };
        let slice = subs
            .iter()
            .any(|s| matches!(s, ast::Subscript::Slice { .. }));
        let needed = if slice {
            cty
        } else {
            Ty::with_mod(elem, cty.typmod)
        };
        if subs.len() > tusk_types::array::MAXDIM {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "number of array dimensions ({}) exceeds the maximum allowed ({})",
                    subs.len(),
                    tusk_types::array::MAXDIM
                ),
            ));
        }
        let mut args = Vec::new();
        let mut kinds = Vec::new();
        for s in subs {
            match s {
                ast::Subscript::Index { index } => {
                    args.push(self.subscript_int(index)?);
                    kinds.push(Sub::Index);
                }
                ast::Subscript::Slice {
                    lower_bound,
                    upper_bound,
                    stride,
                } => {
                    if stride.is_some() {
                        return Err(syntax("syntax error at or near \":\""));
                    }
                    if let Some(l) = lower_bound {
                        args.push(self.subscript_int(l)?);
                    }
                    if let Some(u) = upper_bound {
                        args.push(self.subscript_int(u)?);
                    }
                    kinds.push(Sub::Slice {
                        lower: lower_bound.is_some(),
                        upper: upper_bound.is_some(),
                    });
                }
            }
        }
        let inner = if rest.is_empty() {
            self.indirect(Expr::Const(Value::Null), name, true, needed, rest, rhs, at)?
        } else {
            let mut fetch = vec![base.clone()];
            fetch.extend(args.iter().cloned());
            let cur = Expr::Array(ArrOp::Subscript(kinds.clone()), fetch);
            self.indirect(cur, name, true, needed, rest, rhs, at)?
        };
        let mut all = vec![base];
        all.extend(args);
        all.push(inner);
        let store = Expr::Array(ArrOp::Assign { subs: kinds, elem }, all);
        if domain {
            return Ok(self.coerce(Bound::new(store, cty), ty)?.e);
        }
        Ok(store)
    }

    /// `j[s1][s2]... := rhs` on jsonb: the subscripts as text (integer
    /// or text, as jsonb_subscript_transform takes them), the value as
    /// jsonb.
    #[allow(clippy::too_many_arguments)]
    fn assign_jsonb(
        &mut self,
        base: Expr,
        name: &str,
        subs: &[&ast::Subscript],
        rest: &[Step],
        rhs: Bound,
        at: Option<u32>,
    ) -> Result<Expr, PgError> {
        if let Some(Step::Field(f)) = rest.first() {
            return Err(PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                format!(
                    "cannot assign to field \"{f}\" of column \"{name}\" because its type jsonb is not a composite type"
                ),
            )
            .with_position(at));
        }
        let mut args = vec![base];
        let mut expect_array = false;
        for (k, s) in subs.iter().enumerate() {
            let ast::Subscript::Index { index } = s else {
                return Err(PgError::error(
                    sqlstate::DATATYPE_MISMATCH,
                    "jsonb subscript does not support slices",
                )
                .with_position(at));
            };
            let x = self.bind_expr(index)?;
            let x = match x.ty.oid {
                _ if x.is_unknown() => self.coerce(x, Ty::new(types::TEXT))?,
                types::INT2 | types::INT4 => {
                    if k == 0 {
                        expect_array = true;
                    }
                    self.explicit_cast(x, Ty::new(types::TEXT))?
                }
                types::TEXT | types::VARCHAR | types::BPCHAR | types::NAME => {
                    self.coerce(x, Ty::new(types::TEXT))?
                }
                o => {
                    return Err(PgError::error(
                        sqlstate::DATATYPE_MISMATCH,
                        format!("subscript type {} is not supported", types::sql_name(o)),
                    )
                    .with_hint("jsonb subscript must be coercible to either integer or text.")
                    .with_position(self.expr_at(index)))
                }
            };
            args.push(x.e);
        }
        let value = self.indirect(
            Expr::Const(Value::Null),
            name,
            true,
            Ty::new(types::JSONB),
            &[],
            rhs,
            at,
        )?;
        args.push(value);
        Ok(Expr::Array(ArrOp::JsonbAssign { expect_array }, args))
    }

    /// A subscript of an assignment target, as int4.
    fn subscript_int(&mut self, e: &ast::Expr) -> Result<Expr, PgError> {
        let x = self.bind_expr(e)?;
        if !x.is_unknown()
            && x.ty.oid != types::INT4
            && !(cast::castable(x.ty.oid, types::INT4)
                && matches!(
                    types::category(x.ty.oid),
                    Category::Numeric | Category::String
                ))
        {
            return Err(PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                "array subscript must have type integer",
            )
            .with_position(self.expr_at(e)));
        }
        Ok(self.coerce(x, Ty::new(types::INT4))?.e)
    }

    /// The table column a target names; 42703 as PostgreSQL 15 words it
    /// (a target qualified with the table's name is a column of that
    /// name with a field).
    pub(crate) fn target_column(
        &self,
        rel: &catalog::Relation,
        t: &Target,
        at: Option<u32>,
    ) -> Result<usize, PgError> {
        rel.columns
            .iter()
            .position(|d| d.name == t.column)
            .ok_or_else(|| {
                PgError::error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!(
                        "column \"{}\" of relation \"{}\" does not exist",
                        t.column, rel.name
                    ),
                )
                .with_position(at)
            })
    }

    /// SET's assignments of an UPDATE (or ON CONFLICT DO UPDATE, or
    /// MERGE's UPDATE) over the scope already set: (column position,
    /// new value), DEFAULT as the column's default, multi-column items
    /// split per column, assignments to parts of one column merged.
    pub(crate) fn bind_assignments(
        &mut self,
        rel: &catalog::Relation,
        assignments: &[ast::Assignment],
    ) -> Result<Vec<(usize, Expr)>, PgError> {
        let mut sets: Vec<Assigned> = Vec::new();
        for a in assignments {
            match &a.target {
                ast::AssignmentTarget::ColumnName(n) => {
                    let t = crate::assign::target(n)?;
                    let at = self.name_at(n);
                    let col = self.target_column(rel, &t, at)?;
                    let value = if is_default_keyword(&a.value) {
                        None
                    } else {
                        Some(Src::Ast(&a.value))
                    };
                    let s = self.one_set(rel, col, &t, value, at)?;
                    merge_set(
                        &mut sets,
                        s,
                        &rel.columns[col].name,
                        self.target_offset + col,
                    )?;
                }
                ast::AssignmentTarget::Tuple(names) => {
                    let mut targets = Vec::with_capacity(names.len());
                    for n in names {
                        let t = crate::assign::target(n)?;
                        let at = self.name_at(n);
                        let col = self.target_column(rel, &t, at)?;
                        targets.push((t, col, at));
                    }
                    let values = self.multi_source(&a.value, targets.len())?;
                    for ((t, col, at), v) in targets.iter().zip(values) {
                        let s = self.one_set(rel, *col, t, v, *at)?;
                        merge_set(
                            &mut sets,
                            s,
                            &rel.columns[*col].name,
                            self.target_offset + *col,
                        )?;
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(sets.len());
        for s in sets {
            let e = if s.partial {
                self.finish_partial(&rel.columns[s.col], s.expr)?
            } else {
                s.expr
            };
            out.push((s.col, e));
        }
        Ok(out)
    }

    /// A partial assignment's value coerced to the column's domain, if
    /// the column's type is one (checked once on the merged value).
    pub(crate) fn finish_partial(
        &mut self,
        col: &catalog::ColumnDef,
        e: Expr,
    ) -> Result<Expr, PgError> {
        let ty = Ty::new(col.ty.oid);
        match domain_base(ty) {
            Some(b) => Ok(self.coerce(Bound::new(e, b), ty)?.e),
            None => Ok(e),
        }
    }

    /// One SET item: `value` None is DEFAULT.
    fn one_set(
        &mut self,
        rel: &catalog::Relation,
        col: usize,
        t: &Target,
        value: Option<Src<'_>>,
        at: Option<u32>,
    ) -> Result<Assigned, PgError> {
        let def = &rel.columns[col];
        let Some(value) = value else {
            if let Some(first) = t.steps.first() {
                return Err(default_part_error(first, at));
            }
            let e = match self.bind_default(def)? {
                Some(e) => e,
                None => Expr::Const(Value::Null),
            };
            return Ok(Assigned {
                col,
                partial: false,
                expr: e,
            });
        };
        if def.generated.is_some() {
            return Err(crate::generated::update_error(&def.name));
        }
        self.aggs_allowed = None;
        if t.steps.is_empty() {
            let e = match value {
                Src::Ast(v) => self.assigned(v, def)?,
                Src::Bound(b) => self.assigned_bound(b, def)?,
                Src::Bound0(e) => e,
                Src::Default => Expr::Const(Value::Null),
            };
            return Ok(Assigned {
                col,
                partial: false,
                expr: e,
            });
        }
        let rhs = match value {
            Src::Ast(v) => self.bind_expr(v)?,
            Src::Bound(b) => b,
            Src::Bound0(_) | Src::Default => return Err(default_part_error(&t.steps[0], at)),
        };
        let base = Expr::Column(self.target_offset + col);
        let e = self.assign_steps(base, def, &t.steps, rhs, at)?;
        Ok(Assigned {
            col,
            partial: true,
            expr: e,
        })
    }

    /// `b` assigned to column `col` (the bound counterpart of
    /// [`Binder::assigned`]).
    fn assigned_bound(&mut self, b: Bound, col: &catalog::ColumnDef) -> Result<Expr, PgError> {
        let target = Ty::new(col.ty.oid);
        if !b.is_unknown()
            && b.ty.oid != target.oid
            && (!cast::castable(b.ty.oid, target.oid)
                || !tusk_types::geo::assignable(b.ty.oid, target.oid))
        {
            return Err(PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                format!(
                    "column \"{}\" is of type {} but expression is of type {}",
                    col.name,
                    types::sql_name(col.ty.oid),
                    types::sql_name(b.ty.oid)
                ),
            )
            .with_hint("You will need to rewrite or cast the expression."));
        }
        Ok(self.coerce(b, target)?.e)
    }

    /// The values of `(a, b, ...) = source`: a row constructor's items
    /// (DEFAULT allowed: None), or the columns of a sub-SELECT run once
    /// per row (transformMultiAssignRef).
    fn multi_source<'e>(
        &mut self,
        source: &'e ast::Expr,
        n: usize,
    ) -> Result<Vec<Option<Src<'e>>>, PgError> {
        let count_error = |at| {
            PgError::error(
                sqlstate::SYNTAX_ERROR,
                "number of columns does not match number of values",
            )
            .with_position(at)
        };
        let inner = match source {
            ast::Expr::Nested(e) => e.as_ref(),
            e => e,
        };
        let at = match inner {
            // A sub-SELECT's position is its `(`.
            ast::Expr::Subquery(q) => {
                let p = self.expr_at(source);
                let src = self.src.clone();
                match p.and_then(|p| src.as_ref()?.char_at(p)) {
                    Some('(') => p,
                    _ => self.subquery_pos(q),
                }
            }
            _ => self.expr_at(source),
        };
        if let ast::Expr::Subquery(q) = inner {
            let (mut plan, cols) = self.bind_subquery(q, true)?;
            if cols.len() != n {
                return Err(count_error(at));
            }
            let mut correlated = false;
            plan.clone().visit_exprs(1, &mut |e, lvl| {
                if let Expr::Outer { depth, .. } = e {
                    if *depth >= lvl {
                        correlated = true;
                    }
                }
            });
            // One record column: the sub-SELECT's row.
            let hidden = plan.targets.split_off(plan.visible);
            let row = std::mem::take(&mut plan.targets);
            plan.targets = vec![Expr::Func(crate::func::Func::Row, row)];
            plan.targets.extend(hidden);
            plan.visible = 1;
            let link = Expr::SubLink(Box::new(SubLink {
                kind: SubLinkKind::Scalar,
                plan,
                correlated,
                cache: None,
            }));
            return Ok(cols
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    Some(Src::Bound(Bound::new(
                        Expr::Func(crate::func::Func::Field(k as u16), vec![link.clone()]),
                        Ty {
                            oid: c.type_oid,
                            typmod: c.type_mod,
                        },
                    )))
                })
                .collect());
        }
        let items: Vec<Option<Src<'e>>> = match source {
            ast::Expr::Tuple(items) => items
                .iter()
                .map(|e| (!is_default_keyword(e)).then_some(Src::Ast(e)))
                .collect(),
            ast::Expr::Function(f)
                if f.over.is_none()
                    && object_name_parts(&f.name).is_ok_and(|p| p.len() == 1 && p[0] == "row") =>
            {
                let args: &[ast::FunctionArg] = match &f.args {
                    ast::FunctionArguments::List(l) => &l.args,
                    _ => &[],
                };
                let mut out = Vec::new();
                for a in args {
                    match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                            out.push((!is_default_keyword(e)).then_some(Src::Ast(e)));
                        }
                        // `ROW(v.*)`: the fields of v's row, each a value.
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::QualifiedWildcard(q)) => {
                            let idents: Vec<ast::Ident> =
                                q.0.iter().filter_map(|p| p.as_ident().cloned()).collect();
                            let whole = match idents.as_slice() {
                                [one] => ast::Expr::Identifier(one.clone()),
                                _ => ast::Expr::CompoundIdentifier(idents),
                            };
                            let b = self.bind_expr(&whole)?;
                            let fields = comp::fields(b.ty).unwrap_or_default();
                            for (k, fd) in fields.iter().enumerate() {
                                out.push(Some(Src::Bound(Bound::new(
                                    Expr::Func(
                                        crate::func::Func::Field(k as u16),
                                        vec![b.e.clone()],
                                    ),
                                    fd.ty,
                                ))));
                            }
                        }
                        _ => return Err(count_error(at)),
                    }
                }
                out
            }
            _ => {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "source for a multiple-column UPDATE item must be a sub-SELECT or ROW() expression",
                )
                .with_position(at));
            }
        };
        if items.len() != n {
            return Err(count_error(at));
        }
        Ok(items)
    }
}

/// A SET or INSERT value: as written, bound but not yet coerced (a
/// multi-column source's item, an INSERT's partial-column item), already
/// coerced to its column, or DEFAULT.
pub(crate) enum Src<'e> {
    Ast(&'e ast::Expr),
    Bound(Bound),
    Bound0(Expr),
    Default,
}

/// PostgreSQL's error for DEFAULT assigned to part of a column.
pub(crate) fn default_part_error(first: &Step, at: Option<u32>) -> PgError {
    let msg = match first {
        Step::Subscript(_) => "cannot set an array element to DEFAULT",
        Step::Field(_) => "cannot set a subfield to DEFAULT",
    };
    PgError::error(sqlstate::FEATURE_NOT_SUPPORTED, msg).with_position(at)
}

/// Adds `s` to `sets`, merging it with an earlier partial assignment to
/// the same column (whose result becomes its old value, in place of
/// `Column(base)` or NULL at the bottom of the chain); any other
/// second assignment to a column is PostgreSQL's 42601.
pub(crate) fn merge_set(
    sets: &mut Vec<Assigned>,
    s: Assigned,
    name: &str,
    base: usize,
) -> Result<(), PgError> {
    let Some(prev) = sets.iter().position(|p| p.col == s.col) else {
        sets.push(s);
        return Ok(());
    };
    if !(s.partial && sets[prev].partial) {
        return Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("multiple assignments to same column \"{name}\""),
        ));
    }
    let old = std::mem::replace(&mut sets[prev].expr, Expr::Const(Value::Null));
    let mut e = s.expr;
    replace_base(&mut e, base, &old);
    sets[prev].expr = e;
    Ok(())
}

/// Puts `old` where a partial assignment reads the column's old value
/// (`Column(col)` at the bottom of its chain of stores and fetches).
fn replace_base(e: &mut Expr, col: usize, old: &Expr) {
    match e {
        Expr::Column(c) if *c == col => *e = old.clone(),
        Expr::Const(Value::Null) => *e = old.clone(),
        Expr::Func(crate::func::Func::SetField(..) | crate::func::Func::Field(_), args)
        | Expr::Array(
            ArrOp::Assign { .. } | ArrOp::JsonbAssign { .. } | ArrOp::Subscript(_),
            args,
        ) => {
            // The stored value may read the old value too (`c.f.g`,
            // `a[1].f`): its own chain starts from the same base. It is
            // done first, before the base put in below could be met.
            if args.len() > 1 {
                if let Some(last) = args.last_mut() {
                    if is_store(last) {
                        replace_base(last, col, old);
                    }
                }
            }
            if let Some(first) = args.first_mut() {
                replace_base(first, col, old);
            }
        }
        Expr::Domain(inner, _) if is_store(inner) => replace_base(inner, col, old),
        _ => {}
    }
}

/// Whether `e` is a store this module built (not a value written by the
/// user, whose NULLs are no base).
fn is_store(e: &Expr) -> bool {
    match e {
        Expr::Func(crate::func::Func::SetField(..), _)
        | Expr::Array(ArrOp::Assign { .. } | ArrOp::JsonbAssign { .. }, _) => true,
        Expr::Domain(inner, _) => is_store(inner),
        _ => false,
    }
}

/// One item of an INSERT column list: the table column and the steps
/// into it (empty: the whole column).
pub(crate) struct InsertItem {
    pub col: usize,
    pub steps: Vec<Step>,
    pub at: Option<u32>,
}

/// The distinct columns the items fill, in order of first appearance.
pub(crate) fn insert_columns(items: &[InsertItem]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for it in items {
        if !out.contains(&it.col) {
            out.push(it.col);
        }
    }
    out
}

pub(crate) fn has_indirection(items: &[InsertItem]) -> bool {
    items.iter().any(|i| !i.steps.is_empty())
}

impl Binder<'_> {
    /// An INSERT's column list read into items (every column when none
    /// are named): 42703, and 42701 for a column named twice as a whole
    /// or as a whole and in part (checkInsertTargets).
    pub(crate) fn insert_items(
        &self,
        rel: &catalog::Relation,
        columns: &[ast::ObjectName],
    ) -> Result<Vec<InsertItem>, PgError> {
        if columns.is_empty() {
            return Ok((0..rel.columns.len())
                .map(|col| InsertItem {
                    col,
                    steps: Vec::new(),
                    at: None,
                })
                .collect());
        }
        let mut items: Vec<InsertItem> = Vec::with_capacity(columns.len());
        for c in columns {
            let t = crate::assign::target(c)?;
            let at = self.name_at(c);
            let Some(col) = rel.columns.iter().position(|d| d.name == t.column) else {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!(
                        "column \"{}\" of relation \"{}\" does not exist",
                        t.column, rel.name
                    ),
                )
                .with_position(at));
            };
            let clash = items
                .iter()
                .any(|i| i.col == col && (t.steps.is_empty() || i.steps.is_empty()));
            if clash {
                return Err(PgError::error(
                    catalog::codes::DUPLICATE_COLUMN,
                    format!("column \"{}\" specified more than once", t.column),
                )
                .with_position(at));
            }
            items.push(InsertItem {
                col,
                steps: t.steps,
                at,
            });
        }
        Ok(items)
    }

    /// One VALUES row of an INSERT whose column list has indirection:
    /// per column of [`insert_columns`], its new value (None: DEFAULT).
    pub(crate) fn insert_row(
        &mut self,
        rel: &catalog::Relation,
        items: &[InsertItem],
        row: &[ast::Expr],
    ) -> Result<Vec<Option<Expr>>, PgError> {
        let mut vals = Vec::with_capacity(items.len());
        for (it, e) in items.iter().zip(row) {
            if it.steps.is_empty() {
                vals.push(
                    self.insert_value(e, &rel.columns[it.col])?
                        .map(Src::Bound0)
                        .unwrap_or(Src::Default),
                );
            } else if is_default_keyword(e) {
                return Err(default_part_error(&it.steps[0], it.at));
            } else {
                vals.push(Src::Bound(self.bind_expr(e)?));
            }
        }
        self.insert_merge(rel, items, vals)
    }

    /// Merges the items' values (bound, in the items' order) into one
    /// value per column of [`insert_columns`].
    fn insert_merge(
        &mut self,
        rel: &catalog::Relation,
        items: &[InsertItem],
        vals: Vec<Src<'_>>,
    ) -> Result<Vec<Option<Expr>>, PgError> {
        let mut sets: Vec<Assigned> = Vec::new();
        for (it, v) in items.iter().zip(vals) {
            let def = &rel.columns[it.col];
            let s = match v {
                Src::Default => continue,
                Src::Bound0(e) => Assigned {
                    col: it.col,
                    partial: false,
                    expr: e,
                },
                Src::Bound(b) if it.steps.is_empty() => {
                    if def.generated.is_some() {
                        return Err(crate::generated::insert_error(&def.name));
                    }
                    Assigned {
                        col: it.col,
                        partial: false,
                        expr: self.assigned_bound(b, def)?,
                    }
                }
                Src::Bound(b) => {
                    if def.generated.is_some() {
                        return Err(crate::generated::insert_error(&def.name));
                    }
                    Assigned {
                        col: it.col,
                        partial: true,
                        expr: self.assign_steps(
                            Expr::Const(Value::Null),
                            def,
                            &it.steps,
                            b,
                            it.at,
                        )?,
                    }
                }
                Src::Ast(_) => continue,
            };
            merge_set(&mut sets, s, &def.name, usize::MAX)?;
        }
        let mut out = Vec::new();
        for col in insert_columns(items) {
            match sets.iter().position(|s| s.col == col) {
                Some(p) => {
                    let e = std::mem::replace(&mut sets[p].expr, Expr::Const(Value::Null));
                    let e = if sets[p].partial {
                        self.finish_partial(&rel.columns[col], e)?
                    } else {
                        e
                    };
                    out.push(Some(e));
                }
                None => out.push(None),
            }
        }
        Ok(out)
    }

    /// INSERT ... SELECT with indirection in the column list: the query
    /// wrapped in one that computes each column's new value from the
    /// selected row; the types its columns then have.
    pub(crate) fn insert_select(
        &mut self,
        rel: &catalog::Relation,
        items: &[InsertItem],
        plan: SelectPlan,
        cols: &[Column],
    ) -> Result<(SelectPlan, Vec<Oid>), PgError> {
        let width = plan.visible;
        let vals: Vec<Src<'_>> = cols
            .iter()
            .enumerate()
            .map(|(k, c)| {
                Src::Bound(Bound::new(
                    Expr::Column(k),
                    Ty {
                        oid: c.type_oid,
                        typmod: c.type_mod,
                    },
                ))
            })
            .collect();
        let saved = self.scope.take();
        let merged = self.insert_merge(rel, items, vals);
        self.scope = saved;
        let merged = merged?;
        let mut outer = crate::cte::plain_plan(Source::Subquery(Box::new(plan)), width);
        let columns = insert_columns(items);
        outer.targets = merged
            .into_iter()
            .map(|e| e.unwrap_or(Expr::Const(Value::Null)))
            .collect();
        outer.visible = outer.targets.len();
        Ok((
            outer,
            columns.iter().map(|&c| rel.columns[c].ty.oid).collect(),
        ))
    }
}
