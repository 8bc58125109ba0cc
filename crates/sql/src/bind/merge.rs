//! MERGE's binding: the target joined with the source, and each WHEN clause's condition and action over the joined row (crate::merge runs it).
//!
//! Why this shape: the join is the one FROM binding builds (target on the
//! left with its system columns, so a NULL ctid says "not matched"), and
//! every expression of the statement is bound over that join's scope, so
//! the executor evaluates them all on one row. WHEN NOT MATCHED clauses
//! see the same row through a scope without the target, as PostgreSQL
//! lets them name only the source; a reference to the target there is
//! PostgreSQL's 42P01 "invalid reference to FROM-clause entry".

use sqlparser::ast;
use tusk_common::{sqlstate, PgError};

use super::{ident_name, not_supported, object_name_parts, relation_scope, syntax, where_agg};
use super::{Binder, JoinKind, Source};
use crate::catalog;
use crate::merge::{Action, ActionKind, MergePlan};
use crate::modify::{ModifyKind, ModifyPlan};
use crate::Column;

impl Binder<'_> {
    /// `[WITH ...] MERGE INTO ...`; `overriding`: each WHEN clause's
    /// OVERRIDING choice (crate::merge::overridings).
    pub(crate) fn bind_merge(
        &mut self,
        with: Option<&ast::With>,
        m: &ast::Merge,
        overriding: &[Option<u8>],
    ) -> Result<(ModifyPlan, Vec<Column>), PgError> {
        let mark = self.ctes.len();
        let r = match with {
            Some(w) => self
                .bind_with(w)
                .and_then(|_| self.bind_merge_body(m, overriding)),
            None => self.bind_merge_body(m, overriding),
        };
        self.ctes.truncate(mark);
        r
    }

    fn bind_merge_body(
        &mut self,
        m: &ast::Merge,
        overriding: &[Option<u8>],
    ) -> Result<(ModifyPlan, Vec<Column>), PgError> {
        if m.output.is_some() {
            return Err(syntax("syntax error at or near \"RETURNING\""));
        }
        let (name, alias) = match &m.table {
            ast::TableFactor::Table { name, alias, .. } => (name, alias),
            _ => return Err(not_supported("MERGE into this target")),
        };
        let parts = object_name_parts(name)?;
        let rel = match parts.as_slice() {
            [t] => catalog::lookup(self.host, None, t),
            [s, t] => catalog::lookup(self.host, Some(s), t),
            _ => Err(syntax(format!(
                "improper relation name (too many dotted names): {name}"
            ))),
        }
        .map_err(|e| self.relation_pos(e, name))?;
        // A materialized view is a table with a stored query.
        let what = match (&rel.source, &rel.view_query) {
            (catalog::RelationSource::Table(_), None) => None,
            (catalog::RelationSource::Table(_), Some(_)) => Some("materialized views"),
            _ => Some("views"),
        };
        if let Some(what) = what {
            return Err(PgError::error(
                catalog::codes::WRONG_OBJECT_TYPE,
                format!("cannot execute MERGE on relation \"{}\"", rel.name),
            )
            .with_detail(format!("This operation is not supported for {what}.")));
        }
        let alias = alias
            .as_ref()
            .map(|a| ident_name(&a.name))
            .unwrap_or_else(|| rel.name.clone());
        let target = relation_scope(&rel, alias.clone());
        let src = self
            .bind_from(&[ast::TableWithJoins {
                relation: m.source.clone(),
                joins: Vec::new(),
            }])
            .map_err(|e| invalid_target_reference(e, false, &alias))?;
        let others = self.scope.take().unwrap_or_default();
        if others
            .items
            .iter()
            .any(|i| i.alias.as_deref() == Some(alias.as_str()))
        {
            return Err(PgError::error(
                sqlstate::DUPLICATE_ALIAS,
                format!("name \"{alias}\" specified more than once"),
            )
            .with_detail("The name is used both as MERGE target table and data source."));
        }
        let outer = m
            .clauses
            .iter()
            .any(|c| !matches!(c.clause_kind, ast::MergeClauseKind::Matched));
        // The source on the left: its rows come in its order (the probe
        // side, as PostgreSQL's usual plan), each with the target row it
        // joins or NULLs.
        let kind = if outer {
            JoinKind::Left
        } else {
            JoinKind::Inner
        };
        let mut trel = rel.clone();
        if alias != rel.name {
            trel.alias = Some(alias.clone());
        }
        let source_width = others.width;
        let (src, scope) = self.join(
            (src, others),
            (Source::Relation(trel), target),
            kind,
            &ast::JoinConstraint::On((*m.on).clone()),
        )?;
        let width = scope.width;
        self.scope = Some(scope.clone());
        self.aggs_allowed = None;
        let on = self.bind_expr(&m.on)?;
        let on = self.coerce_bool(on, "JOIN/ON")?.e;
        // NOT MATCHED sees the source alone (the target is the last item).
        let mut source_only = scope.clone();
        source_only.items.pop();
        let keep = source_only.star.len().saturating_sub(rel.columns.len());
        source_only.star.truncate(keep);
        let mut actions = Vec::new();
        let mut unconditional = [false, false];
        for (k, c) in m.clauses.iter().enumerate() {
            let matched = match c.clause_kind {
                ast::MergeClauseKind::Matched => true,
                ast::MergeClauseKind::NotMatched => false,
                _ => return Err(syntax("syntax error at or near \"BY\"")),
            };
            if unconditional[matched as usize] {
                return Err(syntax(
                    "unreachable WHEN clause specified after unconditional WHEN clause",
                ));
            }
            if c.predicate.is_none() {
                unconditional[matched as usize] = true;
            }
            let clause_scope = if matched { &scope } else { &source_only };
            // A WHEN condition sees no system column but tableoid.
            let mut cond_scope = clause_scope.clone();
            for it in &mut cond_scope.items {
                let visible = it.visible;
                let mut k = 0;
                it.cols.retain(|c| {
                    k += 1;
                    k <= visible || c.name == "tableoid"
                });
            }
            self.scope = Some(cond_scope);
            let not_target = |e: PgError| invalid_target_reference(e, matched, &alias);
            let cond = match &c.predicate {
                Some(p) => {
                    self.aggs_allowed = None;
                    let b = self
                        .bind_expr(p)
                        .map_err(not_target)
                        .map_err(system_column)
                        .map_err(|e| {
                            let at = e.position;
                            let mut e = where_agg(e, "MERGE WHEN conditions");
                            e.position = e.position.or(at);
                            e
                        })?;
                    let at = self.expr_at(p);
                    Some(
                        self.coerce_bool(b, "WHEN")
                            .map_err(|e| e.with_position(at))?
                            .e,
                    )
                }
                None => None,
            };
            self.scope = Some(clause_scope.clone());
            let kind = match &c.action {
                ast::MergeAction::DoNothing { .. } => ActionKind::Nothing,
                ast::MergeAction::Delete { .. } => ActionKind::Delete,
                ast::MergeAction::Update(u) => match &u.kind {
                    ast::MergeUpdateKind::Set(a) if u.update_predicate.is_none() => {
                        self.target_offset = source_width;
                        let sets = self.bind_sets(&rel, a);
                        self.target_offset = 0;
                        ActionKind::Update(sets?)
                    }
                    _ => return Err(syntax("syntax error at or near \"UPDATE\"")),
                },
                ast::MergeAction::Insert(i) => {
                    let ast::MergeInsertKind::Values(v) = &i.kind else {
                        return Err(syntax("syntax error at or near \"INSERT\""));
                    };
                    if i.insert_predicate.is_some() {
                        return Err(syntax("syntax error at or near \"WHERE\""));
                    }
                    let [row] = v.rows.as_slice() else {
                        return Err(syntax("syntax error at or near \",\""));
                    };
                    let row = &row.content;
                    let items = self.insert_items(&rel, &i.columns)?;
                    let targets: Vec<usize> = items.iter().map(|i| i.col).collect();
                    if row.len() > targets.len() {
                        let at = row.get(targets.len()).and_then(|e| self.expr_at(e));
                        return Err(PgError::error(
                            sqlstate::SYNTAX_ERROR,
                            "INSERT has more expressions than target columns",
                        )
                        .with_position(at));
                    }
                    if row.len() < targets.len() && !i.columns.is_empty() {
                        let at = i.columns.get(row.len()).and_then(|c| self.name_at(c));
                        return Err(PgError::error(
                            sqlstate::SYNTAX_ERROR,
                            "INSERT has more target columns than expressions",
                        )
                        .with_position(at));
                    }
                    self.overriding = overriding.get(k).copied().flatten();
                    if super::assign::has_indirection(&items) {
                        let values = self.insert_row(&rel, &items, row).map_err(not_target)?;
                        let targets = super::assign::insert_columns(&items);
                        ActionKind::Insert { targets, values }
                    } else {
                        let mut values = Vec::with_capacity(row.len());
                        for (e, &t) in row.iter().zip(&targets) {
                            values.push(self.insert_value(e, &rel.columns[t]).map_err(not_target)?);
                        }
                        ActionKind::Insert { targets, values }
                    }
                }
            };
            actions.push(Action {
                matched,
                cond,
                kind,
            });
        }
        self.scope = None;
        let mut rel = rel;
        if alias != rel.name {
            rel.alias = Some(alias);
        }
        let mut defaults = Vec::with_capacity(rel.columns.len());
        for c in &rel.columns {
            defaults.push(self.bind_default(c)?);
        }
        let join = crate::cte::plain_plan(src, width);
        let mut plan = ModifyPlan {
            rel,
            kind: ModifyKind::Merge(Box::new(MergePlan {
                join,
                source_width,
                outer,
                on,
                actions,
                defaults,
            })),
            returning: Vec::new(),
            view_checks: Vec::new(),
            rls: None,
        };
        crate::policy::secure_dml(self.host, &mut plan, true)?;
        Ok((plan, Vec::new()))
    }
}

/// A NOT MATCHED clause naming the target: PostgreSQL's error rather
/// than "missing FROM-clause entry" (the target is in the statement, but
/// not in that clause's reach).
fn invalid_target_reference(e: PgError, matched: bool, alias: &str) -> PgError {
    if matched || e.message != format!("missing FROM-clause entry for table \"{alias}\"") {
        return e;
    }
    let mut e2 = PgError::error(
        sqlstate::UNDEFINED_TABLE,
        format!("invalid reference to FROM-clause entry for table \"{alias}\""),
    )
    .with_hint(format!(
        "There is an entry for table \"{alias}\", but it cannot be referenced from this part of the query."
    ));
    e2.position = e.position;
    e2
}

/// A system column named in a WHEN condition: PostgreSQL 15's error in
/// place of "column ... does not exist" (the condition's scope has none).
fn system_column(e: PgError) -> PgError {
    let name = e
        .message
        .strip_prefix("column ")
        .and_then(|r| r.strip_suffix(" does not exist"))
        .map(|r| {
            r.rsplit('.')
                .next()
                .unwrap_or(r)
                .trim_matches('"')
                .to_string()
        });
    let system = ["ctid", "xmin", "xmax", "cmin", "cmax"];
    match name {
        Some(n) if system.contains(&n.as_str()) => {
            let mut e2 = PgError::error(
                sqlstate::INVALID_COLUMN_REFERENCE,
                format!("cannot use system column \"{n}\" in MERGE WHEN condition"),
            );
            e2.position = e.position;
            e2
        }
        _ => e,
    }
}
