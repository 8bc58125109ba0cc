//! INSERT ... ON CONFLICT: the arbiter indexes inferred from the conflict target, and DO UPDATE's SET and WHERE bound over the existing row and `excluded`.
//!
//! Why this shape: PostgreSQL infers arbiters as every unique index whose
//! key columns are exactly the target's columns (in any order), or the
//! one index behind a named constraint; DO NOTHING without a target
//! arbitrates on all unique indexes. DO UPDATE's expressions see one row:
//! the conflicting row (its columns, then its system columns) followed by
//! the row proposed for insertion under the name `excluded` — the same
//! layout the executor (modify.rs) builds, so the binding is the ordinary
//! expression binding over a two-item scope.

use sqlparser::ast;
use tusk_common::{sqlstate, PgError};

use super::{ident_name, object_name_parts, relation_scope};
use super::{Binder, Scope};
use crate::catalog::Relation;
use crate::expr::Expr;

/// What a bound ON CONFLICT clause does.
#[derive(Debug, Clone)]
pub(crate) struct OnConflict {
    pub target: Target,
    pub action: ConflictAction,
}

/// The conflict target, resolved to arbiter indexes when the statement
/// runs (the binder has no mutable catalog access; [`arbiters`]).
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// No target (DO NOTHING only): every unique index.
    All,
    /// `(a, b) [WHERE pred]`: the sorted, deduplicated column positions,
    /// and the facts of the inference predicate (crate::index::fact_quals)
    /// when there is one: partial unique indexes it implies are arbiters
    /// too.
    /// The expressions of the target (`lower(fruit)`), deparsed, sorted
    /// and deduplicated, are the second field.
    Columns(Vec<usize>, Vec<String>, Option<Vec<crate::index::ScanQual>>),
    /// `ON CONSTRAINT name`.
    Constraint(String),
}

/// The arbiter unique indexes (OIDs; empty = all) of `target` on `rel`:
/// 42P10 when no unique index has exactly the target's columns, 42704
/// for an unknown constraint.
pub(crate) fn arbiters(
    tables: &mut dyn crate::catalog::Tables,
    rel: &Relation,
    target: &Target,
) -> Result<Vec<u32>, PgError> {
    let found: Vec<u32> = match target {
        Target::All => return Ok(Vec::new()),
        Target::Columns(want, exprs, facts) => {
            let same = |k: &[usize]| {
                let mut k: Vec<usize> = k
                    .iter()
                    .copied()
                    .filter(|&c| c != crate::index::NO_COLUMN)
                    .collect();
                k.sort_unstable();
                k.dedup();
                k == *want
            };
            let mut found: Vec<u32> = if exprs.is_empty() {
                tables
                    .unique_indexes(rel)?
                    .into_iter()
                    .filter(|(_, _, k)| same(k))
                    .map(|(oid, ..)| oid)
                    .collect()
            } else {
                Vec::new()
            };
            let names: Vec<String> = rel.columns.iter().map(|c| c.name.clone()).collect();
            found.extend(
                tables
                    .computed_unique_indexes(rel)?
                    .into_iter()
                    .filter(|(_, k, ie, pred)| {
                        let mut ie = ie.clone();
                        ie.sort();
                        ie.dedup();
                        same(k)
                            && ie == *exprs
                            && match (pred, facts) {
                                (None, _) => true,
                                (Some(p), Some(f)) => crate::index::predicate_implied(p, f, &names),
                                (Some(_), None) => false,
                            }
                    })
                    .map(|(oid, ..)| oid),
            );
            found
        }
        Target::Constraint(name) => {
            let v: Vec<u32> = tables.constraint_index(rel, name)?.into_iter().collect();
            if v.is_empty() {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_OBJECT,
                    format!(
                        "constraint \"{name}\" for table \"{}\" does not exist",
                        rel.name
                    ),
                ));
            }
            v
        }
    };
    if found.is_empty() {
        return Err(no_matching_index());
    }
    Ok(found)
}

#[derive(Debug, Clone)]
pub(crate) enum ConflictAction {
    Nothing,
    /// SET (column, expression) and WHERE, over the existing row, its
    /// system columns, then `excluded`.
    Update {
        sets: Vec<(usize, Expr)>,
        filter: Option<Expr>,
    },
}

impl Binder<'_> {
    /// Binds `ON CONFLICT ...` of an INSERT into `rel` (aliased `alias`).
    pub(super) fn bind_on_conflict(
        &mut self,
        rel: &Relation,
        alias: &str,
        oc: &ast::OnConflict,
    ) -> Result<OnConflict, PgError> {
        let target = match &oc.conflict_target {
            None => {
                if matches!(oc.action, ast::OnConflictAction::DoUpdate(_)) {
                    return Err(PgError::error(
                        sqlstate::SYNTAX_ERROR,
                        "ON CONFLICT DO UPDATE requires inference specification or constraint name",
                    )
                    .with_hint("For example, ON CONFLICT (column_name)."));
                }
                Target::All
            }
            Some(ast::ConflictTarget::Columns(cols)) => {
                let mut want: Vec<usize> = Vec::new();
                let mut facts = None;
                let mut exprs: Vec<String> = Vec::new();
                for c in cols {
                    if let Some(text) = c.value.strip_prefix(crate::index::CONFLICT_EXPR_MARK) {
                        let e =
                            super::rowexpr::parse_stored(text, "ON CONFLICT").map_err(|_| {
                                super::syntax(format!("syntax error at or near \"{text}\""))
                            })?;
                        self.scope = Some(conflict_target_scope(rel, alias));
                        let bound = self.bind_expr(&e);
                        self.scope = None;
                        match bound?.e {
                            Expr::Column(i) if i < rel.columns.len() => {
                                if !want.contains(&i) {
                                    want.push(i);
                                }
                            }
                            e => exprs.push(crate::explain::deparse_over(rel, &e)),
                        }
                        continue;
                    }
                    if let Some(pred) = c.value.strip_prefix(crate::index::CONFLICT_WHERE_MARK) {
                        let e = super::rowexpr::parse_stored(pred, "ON CONFLICT WHERE")?;
                        self.scope = Some(conflict_target_scope(rel, alias));
                        let bound = self.bind_expr(&e);
                        self.scope = None;
                        let bound = self.coerce_bool(bound?, "WHERE")?.e;
                        facts = Some(crate::index::fact_quals(rel, &bound));
                        continue;
                    }
                    let name = ident_name(c);
                    let Some(i) = rel.columns.iter().position(|d| d.name == name) else {
                        return Err(PgError::error(
                            sqlstate::UNDEFINED_COLUMN,
                            format!("column \"{name}\" does not exist"),
                        ));
                    };
                    if !want.contains(&i) {
                        want.push(i);
                    }
                }
                want.sort_unstable();
                exprs.sort();
                exprs.dedup();
                Target::Columns(want, exprs, facts)
            }
            Some(ast::ConflictTarget::OnConstraint(name)) => {
                let parts = object_name_parts(name)?;
                Target::Constraint(parts.last().cloned().unwrap_or_default())
            }
        };
        let action = match &oc.action {
            ast::OnConflictAction::DoNothing => ConflictAction::Nothing,
            ast::OnConflictAction::DoUpdate(u) => {
                self.scope = Some(conflict_scope(rel, alias));
                let sets = self.bind_sets(rel, &u.assignments)?;
                let filter = self.dml_filter(&u.selection)?;
                self.scope = None;
                ConflictAction::Update { sets, filter }
            }
        };
        Ok(OnConflict { target, action })
    }
}

fn no_matching_index() -> PgError {
    PgError::error(
        sqlstate::SqlState::new("42P10"),
        "there is no unique or exclusion constraint matching the ON CONFLICT specification",
    )
}

/// The target table (its columns, then its system columns) followed by
/// `excluded` (the proposed row's columns).
fn conflict_scope(rel: &Relation, alias: &str) -> Scope {
    let mut scope = relation_scope(rel, alias.to_string());
    let width = scope.width;
    let cols = rel.columns.iter().map(|c| (c.name.clone(), c.ty)).collect();
    let mut ex = Scope::single(Some("excluded".into()), None, cols, rel.columns.len());
    for it in &mut ex.items {
        for c in &mut it.cols {
            c.expr.map_columns(&|i| i + width);
        }
    }
    scope.items.extend(ex.items);
    scope.width += ex.width;
    scope
}

/// The scope of an ON CONFLICT inference predicate: the target table
/// under its alias.
fn conflict_target_scope(rel: &Relation, alias: &str) -> Scope {
    relation_scope(rel, alias.to_string())
}
