//! Binding aggregate calls with DISTINCT, ORDER BY or FILTER, and the
//! aggregates of crates/sql/src/agg.rs (string_agg, array_agg, bool_*,
//! bit_*, the statistics).
//!
//! Why the modifiers are bound around the existing per-function binders:
//! each function keeps its own argument typing (count's, sum's, json_agg's),
//! and the modifiers only need the call it pushed, which they take back,
//! wrap in an [`crate::agg::Modified`] and push again at the same position
//! (so the column the call's result was bound to stays right). Binder
//! code; runs in the backend that plans the statement.

use super::*;
use crate::agg::{self, AggFn, Modified};

fn not_supported_pg(msg: &str) -> PgError {
    PgError::error(sqlstate::FEATURE_NOT_SUPPORTED, msg.to_string())
}

fn grouping(msg: &str) -> PgError {
    PgError::error(sqlstate::GROUPING_ERROR, msg.to_string())
}

impl Binder<'_> {
    /// An aggregate call with or without DISTINCT, ORDER BY inside the
    /// call and FILTER (WHERE ...); with OVER (only FILTER then) it is a
    /// window aggregate (crates/sql/src/window.rs).
    pub(crate) fn aggregate_call(
        &mut self,
        name: &str,
        f: &ast::Function,
    ) -> Result<Bound, PgError> {
        if f.over.is_some() {
            return self.window_aggregate(f, |b| b.aggregate_call_at(name, f, true));
        }
        self.aggregate_call_at(name, f, false)
    }

    fn aggregate_call_at(
        &mut self,
        name: &str,
        f: &ast::Function,
        window: bool,
    ) -> Result<Bound, PgError> {
        let list = match &f.args {
            ast::FunctionArguments::None => None,
            ast::FunctionArguments::List(l) => Some(l),
            ast::FunctionArguments::Subquery(_) => return Err(not_supported("subqueries")),
        };
        if !f.within_group.is_empty() {
            return Err(PgError::error(
                tusk_common::sqlstate::SqlState::new("42809"),
                format!("{name} is not an ordered-set aggregate, so it cannot have WITHIN GROUP"),
            ));
        }
        if f.null_treatment.is_some() {
            return Err(not_supported(format!("IGNORE NULLS on {name}()")));
        }
        let distinct = list.is_some_and(|l| {
            matches!(
                l.duplicate_treatment,
                Some(ast::DuplicateTreatment::Distinct)
            )
        });
        let mut order: &[ast::OrderByExpr] = &[];
        for c in list.map(|l| l.clauses.as_slice()).unwrap_or_default() {
            match c {
                ast::FunctionArgumentClause::OrderBy(v) => order = v,
                _ => return Err(not_supported(format!("clauses inside {name}()"))),
            }
        }
        if window && distinct {
            return Err(not_supported_pg(
                "DISTINCT is not implemented for window functions",
            ));
        }
        if window && !order.is_empty() {
            return Err(not_supported_pg(
                "aggregate ORDER BY is not implemented for window functions",
            ));
        }
        if self.aggs_allowed.is_none() {
            return Err(grouping("aggregate functions are not allowed here"));
        }
        if self.in_agg {
            return Err(grouping("aggregate function calls cannot be nested")
                .with_position(self.name_at(&f.name)));
        }
        let raw_args: Vec<&ast::FunctionArg> =
            list.map(|l| l.args.iter().collect()).unwrap_or_default();
        let b = match name {
            "count" => self.count(&raw_args)?,
            "sum" | "avg" | "min" | "max" => self.simple_aggregate(name, &raw_args)?,
            _ => match self.json_aggregate(name, &raw_args)? {
                Some(b) => b,
                None => self.ext_aggregate(name, &raw_args)?,
            },
        };
        self.check_outer_level_nesting()
            .map_err(|e| e.with_position(self.name_at(&f.name)))?;
        if !distinct && order.is_empty() && f.filter.is_none() {
            return Ok(b);
        }
        let mut inner = self.aggs.pop().expect("the aggregate was bound");
        if matches!(inner, AggCall::CountStar) && distinct {
            return Err(syntax("syntax error at or near \"*\""));
        }
        let args = agg::take_args(&mut inner);
        // A window aggregate's FILTER, like its argument, reads the
        // select list's row.
        self.in_agg = !window;
        let r = self.bind_modifiers(order, f.filter.as_deref(), distinct, &args);
        self.in_agg = false;
        let (order, filter) = r?;
        self.aggs.push(AggCall::Modified(Box::new(Modified {
            inner,
            args,
            order,
            distinct,
            filter,
        })));
        Ok(b)
    }

    /// An aggregate whose arguments read only an outer query's columns
    /// belongs to that query (PostgreSQL's agglevelsup: the nearest level
    /// its arguments read). If that query was binding an aggregate's
    /// argument when this subquery began, the calls nest: PostgreSQL's
    /// 42803. (Evaluating such an aggregate at its own level otherwise is
    /// not done yet: tusk computes it per run of the subquery.)
    /// An aggregate's arguments, bound as inside an aggregate (a nested
    /// aggregate there is PostgreSQL's 42803) unless this is a window
    /// aggregate, whose argument is over the select list's row.
    pub(super) fn bind_agg_args(&mut self, exprs: Vec<&ast::Expr>) -> Result<Vec<Bound>, PgError> {
        self.in_agg = !std::mem::replace(&mut self.window_arg, false);
        let bound: Result<Vec<Bound>, PgError> =
            exprs.into_iter().map(|e| self.bind_expr(e)).collect();
        self.in_agg = false;
        bound
    }

    fn check_outer_level_nesting(&self) -> Result<(), PgError> {
        let Some(last) = self.aggs.last() else {
            return Ok(());
        };
        let mut probe = last.clone();
        let mut nearest: Option<usize> = None;
        for mut e in agg::take_args(&mut probe) {
            e.visit(0, &mut |x, lvl| match x {
                Expr::Column(_) if lvl == 0 => nearest = Some(0),
                Expr::Outer { depth, .. } if *depth > lvl => {
                    let up = *depth - lvl;
                    nearest = Some(nearest.map_or(up, |n| n.min(up)));
                }
                _ => {}
            });
        }
        let n = self.outer.len();
        match nearest {
            Some(up) if up >= 1 && up <= n && self.outer[n - up].in_agg => {
                Err(grouping("aggregate function calls cannot be nested"))
            }
            _ => Ok(()),
        }
    }

    /// ORDER BY keys and FILTER of an aggregate call, over its input row.
    #[allow(clippy::type_complexity)]
    pub(super) fn bind_modifiers(
        &mut self,
        order: &[ast::OrderByExpr],
        filter: Option<&ast::Expr>,
        distinct: bool,
        args: &[Expr],
    ) -> Result<(Vec<(Expr, bool, bool)>, Option<Expr>), PgError> {
        let mut keys = Vec::with_capacity(order.len());
        for o in order {
            let desc = match &o.options.sort {
                None | Some(ast::OrderBySort::Asc) => false,
                Some(ast::OrderBySort::Desc) => true,
                Some(ast::OrderBySort::Using(op)) => crate::bind::order_using(op)?,
            };
            let nulls_first = o.options.nulls_first.unwrap_or(desc);
            let mut b = self.bind_expr(&o.expr)?;
            if b.is_unknown() {
                b = self.coerce(b, Ty::new(types::TEXT))?;
            }
            if distinct {
                let shown = format!("{:?}", b.e);
                if !args.iter().any(|a| format!("{a:?}") == shown) {
                    return Err(PgError::error(
                        sqlstate::INVALID_COLUMN_REFERENCE,
                        "in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list",
                    )
                    .with_position(self.expr_at(&o.expr)));
                }
            }
            keys.push((b.e, desc, nulls_first));
        }
        let filter = match filter {
            None => None,
            Some(e) => {
                let b = self.bind_expr(e)?;
                let b = if b.is_unknown() {
                    self.coerce(b, Ty::new(types::BOOL))?
                } else {
                    b
                };
                if b.ty.oid != types::BOOL {
                    return Err(PgError::error(
                        sqlstate::DATATYPE_MISMATCH,
                        format!(
                            "argument of FILTER must be type boolean, not type {}",
                            types::sql_name(b.ty.oid)
                        ),
                    ));
                }
                Some(b.e)
            }
        };
        Ok((keys, filter))
    }

    /// string_agg, array_agg, bool_and/bool_or/every, bit_and/bit_or/
    /// bit_xor and the statistics, typed as PostgreSQL 15's.
    pub(crate) fn ext_aggregate(
        &mut self,
        name: &str,
        args: &[&ast::FunctionArg],
    ) -> Result<Bound, PgError> {
        if self.aggs_allowed.is_none() {
            return Err(grouping("aggregate functions are not allowed here"));
        }
        if self.in_agg {
            return Err(grouping("aggregate function calls cannot be nested"));
        }
        if !agg::is_ext(name) {
            return self.user_aggregate(name, args);
        }
        let mut exprs = Vec::with_capacity(args.len());
        for a in args {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => exprs.push(e),
                ast::FunctionArg::Unnamed(_) => {
                    return Err(syntax(format!(
                        "syntax error: * is only allowed in count(*), not in {name}()"
                    )))
                }
                _ => return Err(not_supported("named function arguments")),
            }
        }
        let bound = self.bind_agg_args(exprs)?;
        let statistic = name.starts_with("var")
            || name.starts_with("stddev")
            || name.starts_with("regr_")
            || name.starts_with("co");
        let mut tys = Vec::with_capacity(bound.len());
        for b in &bound {
            tys.push(if b.is_unknown() {
                if statistic {
                    types::FLOAT8
                } else {
                    types::TEXT
                }
            } else {
                b.ty.oid
            });
        }
        if name == "string_agg" && tys.first() == Some(&types::BYTEA) {
            // An untyped delimiter takes the value's type, as PostgreSQL's
            // resolution of string_agg(bytea, unknown) does.
            for (t, b) in tys.iter_mut().zip(&bound) {
                if b.is_unknown() {
                    *t = types::BYTEA;
                }
            }
        }
        let Some((fname, kind, params, ret)) = agg::resolve(name, &tys) else {
            let shown: Vec<String> = bound
                .iter()
                .map(|b| types::sql_name(b.ty.oid).to_string())
                .collect();
            return Err(PgError::error(
                sqlstate::UNDEFINED_FUNCTION,
                format!("function {name}({}) does not exist", shown.join(", ")),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."));
        };
        let mut es = Vec::with_capacity(bound.len());
        for (b, p) in bound.into_iter().zip(params) {
            let b = if b.ty.oid == p {
                b
            } else {
                self.coerce(b, Ty::new(p))?
            };
            es.push(b.e);
        }
        self.aggs.push(AggCall::Ext(Box::new(AggFn {
            name: fname,
            kind,
            args: es,
            ret,
        })));
        Ok(Bound::new(
            Expr::Column(self.agg_offset() + self.aggs.len() - 1),
            Ty::new(ret),
        ))
    }
}

/// The text a GROUP BY expression is matched by: its SQL without the
/// parentheses around it.
fn group_text(mut e: &ast::Expr) -> String {
    while let ast::Expr::Nested(inner) = e {
        e = inner;
    }
    e.to_string()
}

/// GROUP BY `name` where `name` is no input column: the select-list
/// expression of that alias, as PostgreSQL's findTargetlistEntrySQL92.
pub(crate) fn output_alias<'a>(select: &'a ast::Select, e: &ast::Expr) -> Option<&'a ast::Expr> {
    let ast::Expr::Identifier(id) = e else {
        return None;
    };
    let name = ident_name(id);
    let mut found = select.projection.iter().filter_map(|item| match item {
        ast::SelectItem::ExprWithAlias { expr, alias } if ident_name(alias) == name => Some(expr),
        _ => None,
    });
    let first = found.next()?;
    Some(first)
}

impl Binder<'_> {
    /// The source-row column a bound GROUP BY item groups on: its column,
    /// or for an expression a new column after the source's (appended by
    /// [`crate::agg::ExtendNode`]), one per distinct expression text.
    pub(crate) fn group_key(&mut self, e: &ast::Expr, b: Bound) -> usize {
        if let Expr::Column(i) = b.e {
            return i;
        }
        let text = group_text(e);
        if let Some(g) = self.group_exprs.iter().find(|g| g.0 == text) {
            return g.3;
        }
        let width = self.scope.as_ref().map_or(0, |s| s.width);
        let col = width + self.group_exprs.len();
        self.group_exprs.push((text, b.e, b.ty, col));
        col
    }

    /// A select-list, HAVING or ORDER BY expression of a grouped query
    /// that is one of its GROUP BY expressions: that group key's column.
    pub(crate) fn grouped_expr(&mut self, e: &ast::Expr) -> Option<Bound> {
        if self.group_exprs.is_empty() || self.in_agg {
            return None;
        }
        let keys = self.grouping.as_ref()?;
        let text = group_text(e);
        let g = self.group_exprs.iter().find(|g| g.0 == text)?;
        let k = keys.iter().position(|&k| k == g.3)?;
        Some(Bound::new(Expr::Column(k), g.2))
    }
}

/// The grouping sets a GROUP BY list means, each a list of plain
/// expressions, or None when it has no GROUPING SETS, ROLLUP or CUBE. The
/// list is the cross product of its items' sets (a plain item is one set
/// of itself), as PostgreSQL's expand_grouping_sets.
pub(crate) fn expand_grouping_sets(items: &[ast::Expr]) -> Option<Vec<Vec<&ast::Expr>>> {
    fn is_set(e: &ast::Expr) -> bool {
        matches!(
            e,
            ast::Expr::GroupingSets(_) | ast::Expr::Rollup(_) | ast::Expr::Cube(_)
        )
    }
    fn product(parts: Vec<Vec<Vec<&ast::Expr>>>) -> Vec<Vec<&ast::Expr>> {
        let mut out: Vec<Vec<&ast::Expr>> = vec![Vec::new()];
        for p in parts {
            let mut next = Vec::with_capacity(out.len() * p.len());
            for a in &out {
                for b in &p {
                    let mut s = a.clone();
                    s.extend(b.iter().copied());
                    next.push(s);
                }
            }
            out = next;
        }
        out
    }
    fn expand(e: &ast::Expr) -> Vec<Vec<&ast::Expr>> {
        match e {
            ast::Expr::GroupingSets(sets) => sets
                .iter()
                .flat_map(|s| product(s.iter().map(expand).collect()))
                .collect(),
            ast::Expr::Rollup(elems) => (0..=elems.len())
                .rev()
                .map(|n| elems[..n].iter().flatten().collect())
                .collect(),
            ast::Expr::Cube(elems) => {
                let n = elems.len().min(12);
                (0..1usize << n)
                    .rev()
                    .map(|mask| {
                        (0..n)
                            .filter(|i| mask & (1 << (n - 1 - i)) != 0)
                            .flat_map(|i| elems[i].iter())
                            .collect()
                    })
                    .collect()
            }
            ast::Expr::Nested(inner) if is_set(inner) => expand(inner),
            other => vec![vec![other]],
        }
    }
    if !items.iter().any(is_set) {
        return None;
    }
    Some(product(items.iter().map(expand).collect()))
}

impl Binder<'_> {
    /// GROUP BY with grouping sets: every expression bound once as a group
    /// key; each set kept as the keys' positions.
    pub(crate) fn bind_grouping_sets(
        &mut self,
        select: &ast::Select,
        sets: Vec<Vec<&ast::Expr>>,
    ) -> Result<Vec<usize>, PgError> {
        if sets.len() > 4096 {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                "too many grouping sets present (maximum 4096)",
            ));
        }
        let mut keys: Vec<usize> = Vec::new();
        let mut out = Vec::with_capacity(sets.len());
        for set in sets {
            let mut positions = Vec::with_capacity(set.len());
            for e in set {
                let col = self.group_item(select, e)?;
                let pos = match keys.iter().position(|&k| k == col) {
                    Some(p) => p,
                    None => {
                        keys.push(col);
                        keys.len() - 1
                    }
                };
                if !positions.contains(&pos) {
                    positions.push(pos);
                }
            }
            out.push(positions);
        }
        self.grouping_sets = Some(out);
        Ok(keys)
    }

    /// GROUPING(expr, ...): each argument a group key of this query.
    pub(crate) fn grouping_call(&mut self, f: &ast::Function) -> Result<Bound, PgError> {
        let args = match &f.args {
            ast::FunctionArguments::List(l) if !l.args.is_empty() => &l.args,
            _ => return Err(syntax("syntax error at or near \")\"")),
        };
        if self.aggs_allowed.is_none() {
            return Err(grouping("grouping operations are not allowed here"));
        }
        let not_key = || {
            grouping(
                "arguments to GROUPING must be grouping expressions of the associated query level",
            )
        };
        let Some(nkeys) = self.grouping.as_ref().map(Vec::len) else {
            return Err(not_key());
        };
        if args.len() > 31 {
            return Err(PgError::error(
                tusk_common::sqlstate::SqlState::new("54023"),
                "GROUPING must have fewer than 32 arguments",
            ));
        }
        let mut positions = Vec::with_capacity(args.len());
        for a in args {
            let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a else {
                return Err(not_key());
            };
            match self.bind_expr(e) {
                Ok(Bound {
                    e: Expr::Column(k), ..
                }) if k < nkeys => positions.push(Expr::Const(Value::Int4(k as i32))),
                Ok(_) => return Err(not_key()),
                Err(e) if e.code == sqlstate::GROUPING_ERROR => return Err(not_key()),
                Err(e) => return Err(e),
            }
        }
        self.aggs.push(AggCall::Ext(Box::new(AggFn {
            name: "grouping",
            kind: agg::AggKind::Grouping,
            args: positions,
            ret: types::INT4,
        })));
        Ok(Bound::new(
            Expr::Column(self.agg_offset() + self.aggs.len() - 1),
            Ty::new(types::INT4),
        ))
    }
}

impl Binder<'_> {
    /// Whether `name` is a user-defined aggregate (CREATE AGGREGATE).
    pub(crate) fn is_user_aggregate(&self, name: &str) -> Result<bool, PgError> {
        Ok(self
            .host
            .lookup_routines(None, name)?
            .iter()
            .any(|d| d.kind == b'a'))
    }

    /// A call of a user-defined aggregate (crates/sql/src/useragg.rs):
    /// the overload chosen as for functions, its transition and final
    /// functions bound for the actual argument types.
    fn user_aggregate(&mut self, name: &str, args: &[&ast::FunctionArg]) -> Result<Bound, PgError> {
        let star = matches!(
            args,
            [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)]
        );
        let mut exprs = Vec::with_capacity(args.len());
        if !star {
            for a in args {
                match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => exprs.push(e),
                    _ => return Err(not_supported("named arguments of aggregates")),
                }
            }
        }
        let bound = self.bind_agg_args(exprs)?;
        let cands: Vec<std::rc::Rc<catalog::FuncDef>> = self
            .host
            .lookup_routines(None, name)?
            .into_iter()
            .filter(|d| d.kind == b'a')
            .collect();
        let tys: Vec<Oid> = bound.iter().map(|b| b.ty.oid).collect();
        let Some(def) = crate::routine::choose(&cands, &tys, &implicit_ok)? else {
            let shown: Vec<String> = tys.iter().map(|&t| types::sql_name(t)).collect();
            return Err(PgError::error(
                sqlstate::UNDEFINED_FUNCTION,
                format!("function {name}({}) does not exist", shown.join(", ")),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."));
        };
        crate::acl::check_routine(self.host, &def)?;
        let (_, targets, _) = crate::routine::resolve_call(def.clone(), &tys, &implicit_ok)?;
        let mut es = Vec::with_capacity(bound.len());
        for (b, &p) in bound.into_iter().zip(&targets) {
            es.push(self.coerce(b, Ty::new(p))?.e);
        }
        let (id, ret) = crate::useragg::bind_call(self.host, &def, &targets)?;
        self.aggs.push(AggCall::Ext(Box::new(AggFn {
            name: "aggregate",
            kind: agg::AggKind::User(id),
            args: es,
            ret,
        })));
        Ok(Bound::new(
            Expr::Column(self.agg_offset() + self.aggs.len() - 1),
            Ty::new(ret),
        ))
    }
}
