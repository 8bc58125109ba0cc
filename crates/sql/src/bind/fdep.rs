//! Functional dependency in GROUP BY (PostgreSQL's check_functional_grouping): a column of a table whose primary key is entirely among the group keys may be used ungrouped.
//!
//! Why an aggregate: each group then holds one row of that table (maybe
//! repeated by a join), so every value of the column in a group is the
//! same and any of them is the answer. Binding the reference as a hidden
//! "first value" aggregate keeps the group keys what the query wrote (the
//! aggregate node's row is keys then aggregates, and aggregates bound
//! earlier already index past the keys, so the keys cannot grow here).
//! The constraint relied on is remembered ([`Binder::constraint_deps`]) so
//! that CREATE VIEW can record it, as PostgreSQL's constraintDeps.
//!
//! Called by the backend binding a statement.

use super::*;

/// pg_constraint's primary key of table `relid`: its OID and key attnums.
fn primary_key(host: &dyn Host, relid: u32) -> Result<Option<(u32, Vec<i16>)>, PgError> {
    let Some(rel) = host.lookup_table(Some("pg_catalog"), "pg_constraint")? else {
        return Ok(None);
    };
    let at = |n: &str| rel.columns.iter().position(|c| c.name == n);
    let (Some(oid_at), Some(type_at), Some(rel_at), Some(key_at)) =
        (at("oid"), at("contype"), at("conrelid"), at("conkey"))
    else {
        return Ok(None);
    };
    let relations = host.nested_relations();
    let mut scan = relations.open_scan(&rel)?;
    let mut found = None;
    while let Some(row) = scan.next_row()? {
        let is_rel = matches!(row.get(rel_at), Some(Value::Oid(o)) if *o == relid);
        if !is_rel || !matches!(row.get(type_at), Some(Value::Char(b'p'))) {
            continue;
        }
        let Some(Value::Oid(oid)) = row.get(oid_at) else {
            continue;
        };
        let keys: Vec<i16> = match row.get(key_at) {
            Some(Value::Array(a)) => a
                .items
                .iter()
                .filter_map(|v| match v {
                    Value::Int2(n) => Some(*n),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        found = Some((*oid, keys));
        break;
    }
    scan.close();
    Ok(found)
}

impl Binder<'_> {
    /// Column `idx` of the FROM row, not a group key of this grouped
    /// query: bound as a first-value aggregate when its table's primary
    /// key is among the keys (in every grouping set), else None.
    pub(super) fn functionally_grouped(
        &mut self,
        idx: usize,
        ty: Ty,
    ) -> Result<Option<Bound>, PgError> {
        let (Some(keys), Some(scope)) = (&self.grouping, &self.scope) else {
            return Ok(None);
        };
        let Some(item) = scope.items.iter().find(|it| {
            it.rowtype != 0
                && it
                    .cols
                    .iter()
                    .any(|c| matches!(c.expr, Expr::Column(i) if i == idx))
        }) else {
            return Ok(None);
        };
        let Some(comp) = tusk_types::composite::composite(item.rowtype) else {
            return Ok(None);
        };
        let Some(rel) = self.host.lookup_table(Some(&comp.schema), &comp.name)? else {
            return Ok(None);
        };
        let Some((conoid, attnums)) = primary_key(self.host, comp.relid)? else {
            return Ok(None);
        };
        // attnum - 1 counts dropped columns; the item's columns do not.
        let mut positions = Vec::with_capacity(attnums.len());
        for n in &attnums {
            let p = (*n as usize).wrapping_sub(1);
            if *n < 1 || rel.dropped.iter().any(|(d, _)| *d == p) {
                return Ok(None);
            }
            positions.push(p - rel.dropped.iter().filter(|(d, _)| *d < p).count());
        }
        let sets = self.grouping_sets.as_ref();
        let grouped = positions.iter().all(|&p| {
            let Some(Expr::Column(c)) = item.cols.get(p).map(|c| &c.expr) else {
                return false;
            };
            match keys.iter().position(|k| k == c) {
                Some(k) => sets.is_none_or(|s| s.iter().all(|set| set.contains(&k))),
                None => false,
            }
        });
        if positions.is_empty() || !grouped {
            return Ok(None);
        }
        if !self.constraint_deps.contains(&conoid) {
            self.constraint_deps.push(conoid);
        }
        let existing = self.aggs.iter().position(|a| {
            matches!(a, AggCall::Ext(f) if f.kind == crate::agg::AggKind::AnyValue
                && matches!(f.args.as_slice(), [Expr::Column(i)] if *i == idx))
        });
        let at = match existing {
            Some(i) => i,
            None => {
                self.aggs.push(AggCall::Ext(Box::new(crate::agg::AggFn {
                    name: "any_value",
                    kind: crate::agg::AggKind::AnyValue,
                    args: vec![Expr::Column(idx)],
                    ret: ty.oid,
                })));
                self.aggs.len() - 1
            }
        };
        Ok(Some(Bound::new(Expr::Column(self.agg_offset() + at), ty)))
    }
}

/// ALTER TABLE ... DROP CONSTRAINT of a primary key that a view's
/// ungrouped columns rely on: 2BP01 with PostgreSQL's DETAIL and HINT.
pub(crate) fn check_drop_key(
    host: &mut dyn Host,
    rel: &catalog::Relation,
    name: &str,
) -> Result<(), PgError> {
    let catalog::RelationSource::Table(t) = &rel.source else {
        return Ok(());
    };
    let Some(pk) = primary_key_named(&*host, t.oid, name)? else {
        return Ok(());
    };
    let views = host.tables()?.dependent_views(pk)?;
    if views.is_empty() {
        return Ok(());
    }
    let mut lines = Vec::new();
    for (schema, v) in &views {
        let kind = match host.lookup_table(Some(schema), v)? {
            Some(r) if r.relkind == b'm' => "materialized view",
            _ => "view",
        };
        lines.push(format!(
            "{kind} {v} depends on constraint {name} on table {}",
            rel.name
        ));
    }
    Err(PgError::error(
        sqlstate::SqlState::new("2BP01"),
        format!(
            "cannot drop constraint {name} on table {} because other objects depend on it",
            rel.name
        ),
    )
    .with_detail(lines.join("\n"))
    .with_hint("Use DROP ... CASCADE to drop the dependent objects too."))
}

/// The OID of table `relid`'s primary key named `name`, if it has one.
fn primary_key_named(host: &dyn Host, relid: u32, name: &str) -> Result<Option<u32>, PgError> {
    let Some((oid, _)) = primary_key(host, relid)? else {
        return Ok(None);
    };
    let Some(rel) = host.lookup_table(Some("pg_catalog"), "pg_constraint")? else {
        return Ok(None);
    };
    let (Some(oid_at), Some(name_at)) = (
        rel.columns.iter().position(|c| c.name == "oid"),
        rel.columns.iter().position(|c| c.name == "conname"),
    ) else {
        return Ok(None);
    };
    let relations = host.nested_relations();
    let mut scan = relations.open_scan(&rel)?;
    let mut found = None;
    while let Some(row) = scan.next_row()? {
        if matches!(row.get(oid_at), Some(Value::Oid(o)) if *o == oid) {
            if let Some(Value::Name(n) | Value::Text(n)) = row.get(name_at) {
                if n == name {
                    found = Some(oid);
                }
            }
            break;
        }
    }
    scan.close();
    Ok(found)
}
