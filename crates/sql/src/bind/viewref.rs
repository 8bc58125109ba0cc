//! A view named in FROM, bound as the subquery its stored text is (crates/sql/src/view.rs stores it).
//!
//! Why at bind time: a view has no rows of its own, and PostgreSQL's
//! rewriter replaces it by its query before planning; binding the stored
//! text as a FROM subquery aliased as the view gives the same rows and
//! names (`v.col`, `v.*`, the view's column names even when its query
//! names them differently). Views of views nest; a cycle (made possible
//! by CREATE OR REPLACE) ends in PostgreSQL's 42P17 rather than a stack
//! overflow.
//!
//! Runs in the backend binding the statement.

use std::cell::Cell;

use super::*;

thread_local! {
    /// Views being expanded by this backend's binder, outermost first.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Deeper than this is taken as a cycle of views.
const MAX_VIEW_NESTING: usize = 100;

impl Binder<'_> {
    /// `rel` (a view) in FROM, with its alias if any.
    pub(super) fn view_in_from(
        &mut self,
        rel: &catalog::Relation,
        alias: Option<&ast::TableAlias>,
    ) -> Result<(Source, Scope), PgError> {
        let text = rel.view_query.clone().unwrap_or_default();
        let q = crate::view::parse_query_text(&text)?;
        if DEPTH.get() >= MAX_VIEW_NESTING {
            return Err(PgError::error(
                sqlstate::SqlState::new("42P17"),
                format!(
                    "infinite recursion detected in rules for relation \"{}\"",
                    rel.name
                ),
            ));
        }
        DEPTH.set(DEPTH.get() + 1);
        // The view's query sees nothing of the query using it, and its
        // spans are in the stored text, not the client's (no positions).
        let src = self.src.take();
        // The view's tables are checked with its owner's rights.
        let r = crate::acl::as_owner(rel.owner, || self.bind_subquery(&q, false));
        self.src = src;
        DEPTH.set(DEPTH.get() - 1);
        let (plan, cols) = r?;
        let cols: Vec<(String, Ty)> = cols
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let name = rel.columns.get(i).map(|d| d.name.clone()).unwrap_or(c.name);
                (
                    name,
                    Ty {
                        oid: c.type_oid,
                        typmod: c.type_mod,
                    },
                )
            })
            .collect();
        let n = cols.len();
        let mut scope = Scope::single(Some(rel.name.clone()), Some(rel.schema.clone()), cols, n);
        if let Some(a) = alias {
            Self::apply_alias(&mut scope, a)?;
        }
        let mut plan = plan;
        plan.alias = alias_of(&scope);
        Ok((Source::Subquery(Box::new(plan)), scope))
    }
}

/// The name EXPLAIN gives a FROM subquery or view bound as `scope`
/// (crates/sql/src/subplan.rs).
pub(super) fn alias_of(scope: &Scope) -> Option<Box<crate::subplan::Alias>> {
    let item = scope.items.first()?;
    Some(Box::new(crate::subplan::Alias {
        name: item.alias.clone()?,
        cols: item.cols.iter().map(|c| c.name.clone()).collect(),
        barrier: false,
    }))
}
