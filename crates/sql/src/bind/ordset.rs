//! Binding ordered-set aggregate calls (`percentile_cont(0.5) WITHIN GROUP
//! (ORDER BY x)`), typed as PostgreSQL 15's pg_aggregate entries.
//!
//! Why a [`Modified`] call: its ORDER BY already sorts a group's rows
//! before the wrapped aggregate steps over them, and its FILTER applies
//! unchanged, so an ordered-set aggregate is the WITHIN GROUP list as
//! that ORDER BY around a kind of [`AggFn`] that keeps the sorted rows
//! (crates/sql/src/ordset.rs). The direct arguments are bound inside the
//! aggregate (so an aggregate in them nests, PostgreSQL's 42803) and
//! travel with each row. Binder code; runs in the backend that plans the
//! statement.

use super::*;
use crate::agg::{self, AggFn, AggKind, Modified};
use crate::ordset::{OrdSetFn, OrdSpec};

fn undefined(name: &str, tys: &[Oid], hint: String) -> PgError {
    let shown: Vec<String> = tys.iter().map(|t| types::sql_name(*t)).collect();
    PgError::error(
        sqlstate::UNDEFINED_FUNCTION,
        format!("function {name}({}) does not exist", shown.join(", ")),
    )
    .with_hint(hint)
}

const NO_MATCH: &str =
    "No function matches the given name and argument types. You might need to add explicit type casts.";

impl Binder<'_> {
    /// `name(...)` naming an ordered-set aggregate: None when the call is
    /// something else (a window function's rank() OVER (...)).
    pub(crate) fn ordered_set_call(
        &mut self,
        name: &str,
        f: &ast::Function,
    ) -> Result<Option<Bound>, PgError> {
        let Some(func) = crate::ordset::ordered_set_fn(name) else {
            return Ok(None);
        };
        let hypothetical = matches!(
            func,
            OrdSetFn::Rank | OrdSetFn::DenseRank | OrdSetFn::PercentRank | OrdSetFn::CumeDist
        );
        if f.within_group.is_empty() {
            if hypothetical || f.over.is_some() {
                return Ok(None);
            }
            return Err(PgError::error(
                sqlstate::WRONG_OBJECT_TYPE,
                format!("WITHIN GROUP is required for ordered-set aggregate {name}"),
            )
            .with_position(self.name_at(&f.name)));
        }
        if f.over.is_some() {
            return Err(PgError::error(
                sqlstate::WRONG_OBJECT_TYPE,
                format!("OVER is not supported for ordered-set aggregate {name}"),
            )
            .with_position(self.name_at(&f.name)));
        }
        let list = match &f.args {
            ast::FunctionArguments::None => None,
            ast::FunctionArguments::List(l) => Some(l),
            ast::FunctionArguments::Subquery(_) => return Err(not_supported("subqueries")),
        };
        if let Some(l) = list {
            if l.clauses
                .iter()
                .any(|c| matches!(c, ast::FunctionArgumentClause::OrderBy(_)))
            {
                return Err(syntax(
                    "cannot use multiple ORDER BY clauses with WITHIN GROUP",
                ));
            }
            if matches!(
                l.duplicate_treatment,
                Some(ast::DuplicateTreatment::Distinct)
            ) {
                return Err(syntax("cannot use DISTINCT with WITHIN GROUP"));
            }
        }
        if self.aggs_allowed.is_none() {
            return Err(PgError::error(
                sqlstate::GROUPING_ERROR,
                "aggregate functions are not allowed here",
            ));
        }
        if self.in_agg {
            return Err(PgError::error(
                sqlstate::GROUPING_ERROR,
                "aggregate function calls cannot be nested",
            )
            .with_position(self.name_at(&f.name)));
        }
        let mut direct_ast = Vec::new();
        for a in list.map(|l| l.args.as_slice()).unwrap_or_default() {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => direct_ast.push(e),
                _ => return Err(not_supported(format!("this argument of {name}()"))),
            }
        }
        let direct_at: Vec<Option<u32>> = direct_ast.iter().map(|e| self.expr_at(e)).collect();
        let direct = self.bind_agg_args(direct_ast)?;
        // The WITHIN GROUP keys, bound over the input row like an
        // aggregate's ORDER BY; FILTER as any aggregate's.
        let mut order = Vec::with_capacity(f.within_group.len());
        let mut keys = Vec::with_capacity(f.within_group.len());
        self.in_agg = true;
        let r = (|| -> Result<Option<Expr>, PgError> {
            for o in &f.within_group {
                let desc = match &o.options.sort {
                    None | Some(ast::OrderBySort::Asc) => false,
                    Some(ast::OrderBySort::Desc) => true,
                    Some(ast::OrderBySort::Using(op)) => crate::bind::order_using(op)?,
                };
                order.push((
                    Expr::Const(Value::Null),
                    desc,
                    o.options.nulls_first.unwrap_or(desc),
                ));
                keys.push(self.bind_expr(&o.expr)?);
            }
            Ok(self.bind_modifiers(&[], f.filter.as_deref(), false, &[])?.1)
        })();
        self.in_agg = false;
        let filter = r?;
        let key_tys: Vec<Oid> = keys.iter().map(|b| b.ty.oid).collect();
        let tys_all: Vec<Oid> = direct
            .iter()
            .map(|b| b.ty.oid)
            .chain(key_tys.iter().copied())
            .collect();
        let mut direct = direct;
        let mut spec = OrdSpec {
            f: func,
            array: false,
            interval: false,
            keys: order.len().min(32) as u8,
            desc: 0,
            nulls_first: 0,
        };
        for (i, (_, desc, nf)) in order.iter().enumerate().take(32) {
            spec.desc |= u32::from(*desc) << i;
            spec.nulls_first |= u32::from(*nf) << i;
        }
        let ret = match func {
            OrdSetFn::PercentileCont | OrdSetFn::PercentileDisc => {
                if direct.len() != 1 || keys.len() != 1 {
                    return Err(undefined(name, &tys_all, NO_MATCH.into()));
                }
                let d = direct.pop().expect("one direct argument");
                spec.array = crate::array::elem_type(d.ty.oid).is_some();
                let target = if spec.array {
                    crate::array::array_type(types::FLOAT8).unwrap_or(types::FLOAT8)
                } else {
                    types::FLOAT8
                };
                let d = if d.ty.oid == target {
                    d
                } else {
                    self.coerce(d, Ty::new(target))?
                };
                direct.push(d);
                let mut k = keys.pop().expect("one key");
                if k.is_unknown() {
                    k = self.coerce(k, Ty::new(types::TEXT))?;
                }
                let elem = if func == OrdSetFn::PercentileDisc {
                    k.ty.oid
                } else if k.ty.oid == types::INTERVAL {
                    spec.interval = true;
                    types::INTERVAL
                } else if types::numeric_rank(k.ty.oid).is_some() {
                    if k.ty.oid != types::FLOAT8 {
                        k = self.coerce(k, Ty::new(types::FLOAT8))?;
                    }
                    types::FLOAT8
                } else {
                    return Err(undefined(name, &tys_all, NO_MATCH.into()));
                };
                keys.push(k);
                if spec.array {
                    crate::array::array_type(elem).unwrap_or(elem)
                } else {
                    elem
                }
            }
            OrdSetFn::Mode => {
                if !direct.is_empty() || keys.len() != 1 {
                    return Err(undefined(name, &tys_all, NO_MATCH.into()));
                }
                if keys[0].is_unknown() {
                    let k = keys.pop().expect("one key");
                    keys.push(self.coerce(k, Ty::new(types::TEXT))?);
                }
                keys[0].ty.oid
            }
            _ => {
                if direct.len() != keys.len() {
                    return Err(undefined(
                        name,
                        &tys_all,
                        format!(
                            "To use the hypothetical-set aggregate {name}, the number of hypothetical direct arguments (here {}) must match the number of ordering columns (here {}).",
                            direct.len(),
                            keys.len()
                        ),
                    ));
                }
                let mut d2 = Vec::with_capacity(direct.len());
                let mut k2 = Vec::with_capacity(keys.len());
                for (i, (d, k)) in direct.drain(..).zip(keys.drain(..)).enumerate() {
                    let mut pair = self
                        .unify(vec![k, d], "WITHIN GROUP")
                        .map_err(|e| e.with_position(direct_at[i]))?;
                    d2.push(pair.pop().expect("two"));
                    k2.push(pair.pop().expect("two"));
                }
                direct = d2;
                keys = k2;
                if matches!(func, OrdSetFn::Rank | OrdSetFn::DenseRank) {
                    types::INT8
                } else {
                    types::FLOAT8
                }
            }
        };
        let order: Vec<(Expr, bool, bool)> = order
            .into_iter()
            .zip(&keys)
            .map(|((_, desc, nf), k)| (k.e.clone(), desc, nf))
            .collect();
        let mut inner = AggCall::Ext(Box::new(AggFn {
            name: crate::ordset::fn_name(func),
            kind: AggKind::OrdSet(spec),
            args: keys.into_iter().chain(direct).map(|b| b.e).collect(),
            ret,
        }));
        let args = agg::take_args(&mut inner);
        self.aggs.push(AggCall::Modified(Box::new(Modified {
            inner,
            args,
            order,
            distinct: false,
            filter,
        })));
        Ok(Some(Bound::new(
            Expr::Column(self.agg_offset() + self.aggs.len() - 1),
            Ty::new(ret),
        )))
    }
}
