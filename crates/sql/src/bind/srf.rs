//! Binding a set-returning function called in the select list
//! (crates/sql/src/srf.rs): bound as the same call in FROM would be, its
//! arguments over the select list's row, its value a column placed after
//! that row. Binder code; runs in the backend that plans the statement.

use super::*;

impl Binder<'_> {
    pub(crate) fn select_list_srf(
        &mut self,
        name: &str,
        f: &ast::Function,
    ) -> Result<Bound, PgError> {
        let list = match &f.args {
            ast::FunctionArguments::List(l) => l,
            _ => {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("function {name}() does not exist"),
                ))
            }
        };
        if f.filter.is_some() || !f.within_group.is_empty() || !list.clauses.is_empty() {
            return Err(not_supported(format!("clauses on {name}()")));
        }
        if list.duplicate_treatment.is_some() {
            return Err(PgError::error(
                tusk_common::sqlstate::SqlState::new("42809"),
                format!("DISTINCT specified, but {name} is not an aggregate function"),
            ));
        }
        let args = ast::TableFunctionArgs {
            args: list.args.clone(),
            settings: None,
        };
        // Set-returning functions inside its arguments would need a second
        // ProjectSet level.
        let before = self.srfs.len();
        let saved = self.aggs_allowed;
        let r = self.function_in_from(&f.name, None, &args);
        self.aggs_allowed = saved;
        let (src, scope) = r?;
        if self.srfs.len() != before {
            return Err(not_supported(
                "set-returning functions in the arguments of a set-returning function",
            ));
        }
        let ty = match (&src, scope.star.as_slice()) {
            // json(b)_populate_recordset: rows of the call's row type.
            (
                Source::SetFunc {
                    op: crate::arrays::SrfOp::Json(crate::json::JsonSrf::Records { .. }, _),
                    args,
                },
                _,
            ) => match args.first() {
                Some(Expr::JsonRecord(call, _)) => call.row_ty,
                _ => Ty::new(types::RECORD),
            },
            (Source::Series { .. } | Source::SetFunc { .. }, [(_, ty, _, _)]) => *ty,
            // A function of several columns (jsonb_each) gives records.
            (
                Source::SetFunc {
                    op: crate::arrays::SrfOp::Json(..) | crate::arrays::SrfOp::Ts(..),
                    ..
                },
                [_, _, ..],
            ) => Ty::new(types::RECORD),
            _ => {
                return Err(not_supported(format!(
                    "set-returning function {name}() in the select list"
                )))
            }
        };
        self.srfs.push(src);
        Ok(Bound::new(
            Expr::Column(crate::srf::SRF_BASE + self.srfs.len() - 1),
            ty,
        ))
    }
}
