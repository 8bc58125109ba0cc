//! INSERT, UPDATE and DELETE: their bound plans and their execution over the host's [`Tables`](crate::catalog::Tables).
//!
//! Why they run to completion when started: a data-changing statement must
//! change every row it qualifies whether or not the client fetches its
//! RETURNING rows (PostgreSQL runs ModifyTable to the end and keeps the
//! returned rows in a tuplestore for the portal). So [`execute`] changes
//! the rows now and hands back what RETURNING produced; the portal then
//! streams those rows.
//!
//! Rows are checked as PostgreSQL's ExecConstraints does before storing:
//! each value gets its column's typmod with assignment rules (a varchar
//! too long is 22001, not truncated, unless the excess is spaces), then
//! NOT NULL (23502 with "Failing row contains (...)").
//!
//! UPDATE and DELETE find their rows with a table scan (the statement's
//! snapshot) whose rows end with the system columns (`ctid` first). A row
//! a concurrent transaction changed is the host's to wait for; in READ
//! COMMITTED it returns the newest version, which is re-checked against
//! the WHERE clause here and changed if it still qualifies (PostgreSQL's
//! EvalPlanQual, for a single table).
//!
//! Called only by the backend running the statement.

use tusk_common::{sqlstate, PgError};

use crate::bind::upsert::{ConflictAction, OnConflict};
use crate::cast;
use crate::catalog::{codes, Relation, SYSTEM_COLUMNS};
use crate::exec::{self, Relations, Row};
use crate::expr::{Ctx, Expr};
use crate::generated::RowChecks;
use crate::host::Host;
use crate::plan::SelectPlan;
use crate::types::{self, Ty};
use crate::value::{encode_text, Value};

#[derive(Debug, Clone)]
pub(crate) enum InsertRows {
    /// VALUES rows: one expression per target column (None: DEFAULT).
    Values(Vec<Vec<Option<Expr>>>),
    /// INSERT ... SELECT, with the type of each selected column (cast to
    /// the target column's type row by row).
    Select(Box<SelectPlan>, Vec<types::Oid>),
}

#[derive(Debug, Clone)]
pub(crate) enum ModifyKind {
    Insert {
        rows: InsertRows,
        /// Table column index of each source column.
        targets: Vec<usize>,
        /// Per table column: its DEFAULT, bound.
        defaults: Vec<Option<Expr>>,
        /// ON CONFLICT (bind/upsert.rs).
        on_conflict: Option<crate::bind::upsert::OnConflict>,
    },
    Update {
        filter: Option<Expr>,
        sets: Vec<(usize, Expr)>,
        /// UPDATE ... FROM: the target joined with the FROM items
        /// (bind.rs `dml_from`); `filter` and `sets` read its rows.
        from: Option<Box<SelectPlan>>,
    },
    Delete {
        filter: Option<Expr>,
        /// DELETE ... USING, as UPDATE's `from`.
        from: Option<Box<SelectPlan>>,
    },
    /// MERGE (crate::merge): its join and WHEN clauses.
    Merge(Box<crate::merge::MergePlan>),
}

#[derive(Debug, Clone)]
pub(crate) struct ModifyPlan {
    pub rel: Relation,
    pub kind: ModifyKind,
    /// RETURNING, over the table's columns then its system columns.
    pub returning: Vec<Expr>,
    /// WITH CHECK OPTION of the views written through, over the table's
    /// row (bind/view_dml.rs).
    pub view_checks: Vec<(String, Expr)>,
    /// Row-level security's checks of new rows (policy.rs); None when
    /// no policy applies.
    pub rls: Option<Box<crate::policy::DmlRls>>,
}

impl ModifyPlan {
    pub fn tag_word(&self) -> &'static str {
        match self.kind {
            ModifyKind::Insert { .. } => "INSERT",
            ModifyKind::Update { .. } => "UPDATE",
            ModifyKind::Delete { .. } => "DELETE",
            ModifyKind::Merge(_) => "MERGE",
        }
    }
}

/// A column's typmod applied with assignment rules (PostgreSQL's
/// varchar/bpchar length coercion with isExplicit = false).
pub(crate) fn assign_typmod(v: Value, ty: Ty) -> Result<Value, PgError> {
    if let Value::Bits(b) = v {
        // bit(n) refuses another length, varbit(n) a longer string.
        return Ok(Value::Bits(Box::new(cast::bits_typmod(*b, ty, false)?)));
    }
    if ty.typmod < 4 {
        return cast::apply_typmod(v, ty);
    }
    let n = (ty.typmod - 4) as usize;
    match (&v, ty.oid) {
        (Value::Text(s), types::VARCHAR | types::BPCHAR) => {
            if let Some((cut, _)) = s.char_indices().nth(n) {
                if !s[cut..].chars().all(|c| c == ' ') {
                    let what = if ty.oid == types::VARCHAR {
                        "character varying"
                    } else {
                        "character"
                    };
                    return Err(PgError::error(
                        sqlstate::STRING_DATA_RIGHT_TRUNCATION,
                        format!("value too long for type {what}({n})"),
                    ));
                }
            }
            cast::apply_typmod(v, ty)
        }
        _ => cast::apply_typmod(v, ty),
    }
}

/// "(1, null, abc)": the row as PostgreSQL's ExecBuildSlotValueDescription.
pub(crate) fn describe_row(row: &[Value]) -> String {
    let parts: Vec<String> = row
        .iter()
        .map(|v| match encode_text(v) {
            Some(b) => String::from_utf8_lossy(&b).into_owned(),
            None => "null".to_string(),
        })
        .collect();
    format!("({})", parts.join(", "))
}

/// Typmods and NOT NULL, as the row is about to be stored.
pub(crate) fn check_row(rel: &Relation, mut row: Vec<Value>) -> Result<Vec<Value>, PgError> {
    for (v, c) in row.iter_mut().zip(&rel.columns) {
        let taken = std::mem::replace(v, Value::Null);
        *v = assign_typmod(taken, c.ty)?;
    }
    if let Some(e) = crate::domain::null_violation(rel, &row) {
        return Err(e);
    }
    for (v, c) in row.iter().zip(&rel.columns) {
        if c.not_null && v.is_null() {
            return Err(PgError::error(
                codes::NOT_NULL_VIOLATION,
                format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    c.name, rel.name
                ),
            )
            .with_detail(format!("Failing row contains {}.", describe_row(&row))));
        }
    }
    Ok(row)
}

/// A row about to be stored, after its BEFORE ROW triggers: its
/// generated columns computed (generated.rs), then typmods, NOT NULL,
/// domains and CHECK.
pub(crate) fn finish_row(
    rel: &Relation,
    checks: &RowChecks,
    row: Vec<Value>,
    host: &mut dyn Host,
) -> Result<Vec<Value>, PgError> {
    let row = checks.compute(rel, row, host)?;
    let row = check_row(rel, row)?;
    check_constraints(rel, &checks.checks, &row, host)?;
    Ok(row)
}

/// The table's CHECK constraints on a row about to be stored, in name
/// order (PostgreSQL's ExecRelCheck: NULL passes, false is 23514).
pub(crate) fn check_constraints(
    rel: &Relation,
    checks: &[(String, Expr)],
    row: &[Value],
    host: &mut dyn Host,
) -> Result<(), PgError> {
    crate::domain::check_row(rel, row, host)?;
    if checks.is_empty() {
        return Ok(());
    }
    let tableoid = rel.table().map(|t| t.oid).unwrap_or(0);
    let padded = crate::bind::rowexpr::pad_row(row, tableoid);
    let mut cx = Ctx { host, params: &[] };
    for (name, e) in checks {
        if e.eval(&padded, &mut cx)? == Value::Bool(false) {
            return Err(PgError::error(
                codes::CHECK_VIOLATION,
                format!(
                    "new row for relation \"{}\" violates check constraint \"{name}\"",
                    rel.name
                ),
            )
            .with_detail(format!("Failing row contains {}.", describe_row(row))));
        }
    }
    Ok(())
}

pub(crate) fn passes(
    filter: &Option<Expr>,
    row: &[Value],
    cx: &mut Ctx<'_>,
) -> Result<bool, PgError> {
    match filter {
        None => Ok(true),
        Some(f) => Ok(matches!(f.eval(row, cx)?, Value::Bool(true))),
    }
}

fn returned(p: &ModifyPlan, row: &[Value], cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
    if p.returning.is_empty() {
        return Ok(None);
    }
    p.returning
        .iter()
        .map(|e| e.eval(row, cx))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Runs the statement; returns the RETURNING rows and the command tag.
pub(crate) fn execute(
    p: &ModifyPlan,
    params: &[Value],
    host: &mut dyn Host,
    relations: &dyn Relations,
) -> Result<(Vec<Row>, String), PgError> {
    if let ModifyKind::Merge(m) = &p.kind {
        return crate::merge::execute(&p.rel, m, params, host, relations);
    }
    // Subqueries in the statement's expressions read their relations
    // now, once (exec::prepare_plan), before any row changes.
    let mut prepared = p.clone();
    {
        let mut cx = Ctx { host, params };
        let p = &mut prepared;
        let exprs: Vec<&mut Expr> = match &mut p.kind {
            ModifyKind::Insert {
                rows,
                defaults,
                on_conflict,
                ..
            } => {
                let mut v: Vec<&mut Expr> = defaults.iter_mut().flatten().collect();
                if let InsertRows::Values(vals) = rows {
                    v.extend(vals.iter_mut().flatten().flatten());
                }
                if let Some(OnConflict {
                    action: ConflictAction::Update { sets, filter },
                    ..
                }) = on_conflict
                {
                    v.extend(sets.iter_mut().map(|(_, e)| e));
                    v.extend(filter.iter_mut());
                }
                v
            }
            ModifyKind::Update { filter, sets, .. } => filter
                .iter_mut()
                .chain(sets.iter_mut().map(|(_, e)| e))
                .collect(),
            ModifyKind::Delete { filter, .. } => filter.iter_mut().collect(),
            ModifyKind::Merge(_) => unreachable!("MERGE returned above"),
        };
        let rls = p.rls.as_deref_mut().into_iter().flat_map(|r| r.exprs_mut());
        let exprs = exprs
            .into_iter()
            .chain(p.returning.iter_mut())
            .chain(p.view_checks.iter_mut().map(|(_, e)| e))
            .chain(rls);
        exec::prepare_exprs(exprs, &mut cx, relations)?;
    }
    let p = &prepared;
    match &p.kind {
        ModifyKind::Update { .. } => {
            crate::publication::check_replica_identity(host, &p.rel, true)?
        }
        ModifyKind::Delete { .. } => {
            crate::publication::check_replica_identity(host, &p.rel, false)?
        }
        _ => {}
    }
    let table = crate::trigger::trigger_rel(&p.rel)?;
    let checks = RowChecks::bind(&*host, &p.rel)?;
    let mut out = Vec::new();
    let mut count: u64 = 0;
    // FOREIGN KEY checks queued per row, run when the rows are all
    // changed (crate::fkey).
    let mut pending = crate::fkey::Pending::default();
    // The table's triggers for this statement (trigger.rs); None when
    // it has none, and then no trigger work is done per row.
    let (event, updated): (_, Vec<usize>) = match &p.kind {
        ModifyKind::Insert { .. } => (crate::trigger::Event::Insert, Vec::new()),
        ModifyKind::Update { sets, .. } => (
            crate::trigger::Event::Update,
            sets.iter().map(|(i, _)| *i).collect(),
        ),
        ModifyKind::Delete { .. } | ModifyKind::Merge(_) => {
            (crate::trigger::Event::Delete, Vec::new())
        }
    };
    let mut fire = crate::trigger::Fire::load(&*host, &p.rel, event, &updated)?;
    if let Some(f) = fire.as_mut() {
        f.before_statement(host)?;
    }
    let done = match &p.kind {
        ModifyKind::Insert {
            rows,
            targets,
            defaults,
            on_conflict,
        } => {
            let now = host.now();
            // ON CONFLICT: the arbiter indexes, and DO UPDATE's triggers.
            let arbiters = match on_conflict {
                Some(oc) => crate::bind::upsert::arbiters(host.tables()?, &p.rel, &oc.target)?,
                None => Vec::new(),
            };
            let mut fire_update = match on_conflict {
                Some(OnConflict {
                    action: ConflictAction::Update { sets, .. },
                    ..
                }) => {
                    let cols: Vec<usize> = sets.iter().map(|(i, _)| *i).collect();
                    crate::trigger::Fire::load(
                        &*host,
                        &p.rel,
                        crate::trigger::Event::Update,
                        &cols,
                    )?
                }
                _ => None,
            };
            // PostgreSQL's order: statement-level BEFORE INSERT, then
            // BEFORE UPDATE; at the end AFTER UPDATE, then AFTER INSERT.
            if let Some(f) = fire_update.as_mut() {
                f.before_statement(host)?;
            }
            let mut router = crate::partition::Router::default();
            // A partition written directly: its bound is checked.
            let part_check = if p.rel.partbound.is_some() {
                crate::partition::PartCheck::load(host, &p.rel)?
            } else {
                None
            };
            // Which supplied item fills each column (once, not per row).
            let supplied_at: Vec<Option<usize>> = (0..defaults.len())
                .map(|i| targets.iter().position(|&t| t == i))
                .collect();
            // INSERT ... SELECT of a plain table: rows stored in batches
            // (crate::bulk) when nothing can watch them go in one by one.
            let mut batch = (on_conflict.is_none()
                && fire.is_none()
                && p.returning.is_empty()
                && p.view_checks.is_empty()
                && matches!(rows, InsertRows::Select(plan, _) if crate::bulk::select_allows(plan))
                && crate::bulk::defaults_allow(&p.rel, false, defaults))
            .then(crate::bulk::Batch::default);
            let mut store =
                |host: &mut dyn Host, mut supplied: Vec<Option<Value>>| -> Result<(), PgError> {
                    let mut cx = Ctx { host, params };
                    let mut row: Vec<Value> = Vec::with_capacity(p.rel.columns.len());
                    for (i, d) in defaults.iter().enumerate() {
                        let given =
                            supplied_at[i].and_then(|k| supplied.get_mut(k).and_then(Option::take));
                        row.push(match given {
                            Some(v) => v,
                            None => match d {
                                Some(e) => e.eval(&[], &mut cx)?,
                                None => Value::Null,
                            },
                        });
                    }
                    if let Some(pc) = &part_check {
                        pc.check(host, &p.rel, &row)?;
                    }
                    if let Some(r) = &p.rls {
                        let full = crate::bind::rowexpr::pad_row(&row, table.oid);
                        r.check(
                            crate::policy::WcoKind::Insert,
                            &full,
                            &mut Ctx { host, params },
                        )?;
                    }
                    let row = match on_conflict {
                        // A view: its INSTEAD OF INSERT triggers take the
                        // row; the row they return is the one inserted.
                        None if p.rel.relkind == b'v' => {
                            let Some(f) = fire.as_mut() else {
                                return Err(p.rel.table().err().unwrap_or_else(|| {
                                    PgError::error(
                                        sqlstate::INTERNAL_ERROR,
                                        "view without INSTEAD OF trigger",
                                    )
                                }));
                            };
                            match f.instead_row(host, None, Some(row))? {
                                Some(r) => r,
                                None => return Ok(()),
                            }
                        }
                        None if p.rel.relkind == b'p' => {
                            match crate::partition::insert_routed(
                                host,
                                &p.rel,
                                &mut router,
                                &mut pending,
                                row,
                            )? {
                                Some(r) => r,
                                None => return Ok(()),
                            }
                        }
                        None if batch.is_some() => {
                            let row = finish_row(&p.rel, &checks, row, host)?;
                            count += 1;
                            if let Some(b) = batch.as_mut() {
                                if b.push(row, 0) {
                                    b.flush(host, &p.rel, &mut pending).map_err(|(_, e)| e)?;
                                }
                            }
                            return Ok(());
                        }
                        None => {
                            match insert_row(host, &p.rel, &checks, &mut fire, &mut pending, row)? {
                                Some(r) => r,
                                None => return Ok(()),
                            }
                        }
                        Some(oc) => {
                            let row = match fire.as_mut() {
                                Some(f) => match f.before_row(host, None, Some(row))? {
                                    Some(r) => r,
                                    None => return Ok(()),
                                },
                                None => row,
                            };
                            let row = finish_row(&p.rel, &checks, row, host)?;
                            let mut env = Upsert {
                                p,
                                params,
                                checks: &checks,
                                arbiters: &arbiters,
                                fire: &mut fire_update,
                                pending: &mut pending,
                                count: &mut count,
                                out: &mut out,
                            };
                            if !env.row(host, oc, &row)? {
                                // The conflict path took the row.
                                return Ok(());
                            }
                            pending.row_stored(&p.rel, None, &row)?;
                            if let Some(f) = fire.as_mut() {
                                f.after_row(host, None, Some(&row))?;
                            }
                            row
                        }
                    };
                    crate::bind::view_dml::check_new_row(&p.rel, &p.view_checks, &row, host)?;
                    count += 1;
                    if !p.returning.is_empty() {
                        let mut full = row;
                        full.extend([Value::Null, Value::Null, Value::Null, Value::Oid(table.oid)]);
                        let mut cx = Ctx { host, params };
                        if let Some(r) = returned(p, &full, &mut cx)? {
                            out.push(r);
                        }
                    }
                    Ok(())
                };
            match rows {
                InsertRows::Values(vals) => {
                    for r in vals {
                        host.check_interrupts()?;
                        let mut cx = Ctx { host, params };
                        // A DEFAULT item is None here and takes the
                        // column's default like an omitted column.
                        let supplied = r
                            .iter()
                            .map(|e| e.as_ref().map(|e| e.eval(&[], &mut cx)).transpose())
                            .collect::<Result<Vec<_>, _>>()?;
                        store(host, supplied)?;
                    }
                }
                InsertRows::Select(plan, from_types) => {
                    let mut root = {
                        let mut cx = Ctx { host, params };
                        exec::build(plan, &mut cx, relations)?
                    };
                    let r = (|| {
                        loop {
                            let next = {
                                let mut cx = Ctx {
                                    host: &mut *host,
                                    params,
                                };
                                root.next(&mut cx)?
                            };
                            let Some(r) = next else { break };
                            let supplied = r
                                .into_iter()
                                .take(plan.visible)
                                .zip(from_types)
                                .zip(targets)
                                .map(|((v, &from), &t)| {
                                    let to = Ty::new(p.rel.columns[t].ty.oid);
                                    if from == to.oid {
                                        Ok(Some(v))
                                    } else {
                                        cast::cast(v, from, to, now).map(Some)
                                    }
                                })
                                .collect::<Result<Vec<_>, PgError>>()?;
                            store(&mut *host, supplied)?;
                        }
                        Ok::<(), PgError>(())
                    })();
                    root.close();
                    // The rows before a failing one are stored first: an
                    // error among them is the one to report, as when
                    // each row is stored at once.
                    if let Some(b) = batch.as_mut() {
                        b.flush(host, &p.rel, &mut pending).map_err(|(_, e)| e)?;
                    }
                    r?;
                }
            }
            crate::fkey::run_pending(host, pending)?;
            if let Some(f) = fire_update.as_mut() {
                if let Some(i) = fire.as_mut() {
                    i.after_rows(host)?;
                }
                f.after_statement(host)?;
            }
            (out, format!("INSERT 0 {count}"))
        }
        ModifyKind::Update { filter, sets, from } => {
            let ncols = p.rel.columns.len();
            let mut scan = if p.rel.relkind == b'v' {
                crate::trigger::view_rows(host, &p.rel)?
            } else {
                let mut cx = Ctx { host, params };
                target_rows(relations, &p.rel, filter.as_ref(), from, &mut cx)?
            };
            let mut done = Done::default();
            let r = (|| {
                while let Some(mut old) = scan.next_row()? {
                    host.check_interrupts()?;
                    if !done.first(from, &old, ncols) {
                        continue;
                    }
                    loop {
                        let mut cx = Ctx { host, params };
                        if !passes(filter, &old, &mut cx)? {
                            break;
                        }
                        let mut new: Vec<Value> = old[..ncols].to_vec();
                        for (i, e) in sets {
                            new[*i] = e.eval(&old, &mut cx)?;
                        }
                        if let Some(r) = &p.rls {
                            let mut full = new.clone();
                            full.extend_from_slice(
                                &old[ncols..(ncols + SYSTEM_COLUMNS.len()).min(old.len())],
                            );
                            r.check(crate::policy::WcoKind::Update, &full, &mut cx)?;
                        }
                        let changed = match crate::inherit::owner(&p.rel, &old) {
                            // A view: its INSTEAD OF UPDATE triggers.
                            None if p.rel.relkind == b'v' => {
                                instead(host, &mut fire, Some(&old[..ncols]), Some(new))?
                            }
                            None => update_row(
                                host,
                                &p.rel,
                                &checks,
                                &mut fire,
                                &mut pending,
                                &old,
                                new,
                            )?,
                            Some(c) => update_child(
                                host,
                                relations,
                                params,
                                (&p.rel, c),
                                &old,
                                new,
                                &mut pending,
                            )?,
                        };
                        match changed {
                            Changed::Done(new) => {
                                crate::bind::view_dml::check_new_row(
                                    &p.rel,
                                    &p.view_checks,
                                    &new,
                                    host,
                                )?;
                                count += 1;
                                if !p.returning.is_empty() {
                                    let mut full = new;
                                    full.extend_from_slice(&old[ncols..]);
                                    let mut cx = Ctx { host, params };
                                    if let Some(r) = returned(p, &full, &mut cx)? {
                                        out.push(r);
                                    }
                                }
                                break;
                            }
                            Changed::Skipped | Changed::Gone => break,
                            Changed::Newer(newer) => old = with_joined(newer, old),
                        }
                    }
                }
                Ok::<(), PgError>(())
            })();
            scan.close();
            r?;
            crate::fkey::run_pending(host, pending)?;
            (out, format!("UPDATE {count}"))
        }
        ModifyKind::Delete { filter, from } => {
            let ncols = p.rel.columns.len();
            let mut scan = if p.rel.relkind == b'v' {
                crate::trigger::view_rows(host, &p.rel)?
            } else {
                let mut cx = Ctx { host, params };
                target_rows(relations, &p.rel, filter.as_ref(), from, &mut cx)?
            };
            let mut done = Done::default();
            let r = (|| {
                while let Some(mut old) = scan.next_row()? {
                    host.check_interrupts()?;
                    if !done.first(from, &old, ncols) {
                        continue;
                    }
                    loop {
                        let mut cx = Ctx { host, params };
                        if !passes(filter, &old, &mut cx)? {
                            break;
                        }
                        let changed = match crate::inherit::owner(&p.rel, &old) {
                            None if p.rel.relkind == b'v' => {
                                instead(host, &mut fire, Some(&old[..ncols]), None)?
                            }
                            None => delete_row(host, &p.rel, &mut fire, &mut pending, &old)?,
                            Some(c) => {
                                let mine = crate::inherit::to_child_layout(c, ncols, &old);
                                match delete_row(host, &c.rel, &mut None, &mut pending, &mine)? {
                                    Changed::Newer(r) => {
                                        Changed::Newer(crate::inherit::to_parent_layout(c, &r))
                                    }
                                    other => other,
                                }
                            }
                        };
                        match changed {
                            Changed::Done(_) => {
                                count += 1;
                                let mut cx = Ctx { host, params };
                                if let Some(r) = returned(p, &old, &mut cx)? {
                                    out.push(r);
                                }
                                break;
                            }
                            Changed::Skipped | Changed::Gone => break,
                            Changed::Newer(newer) => old = with_joined(newer, old),
                        }
                    }
                }
                Ok::<(), PgError>(())
            })();
            scan.close();
            r?;
            crate::fkey::run_pending(host, pending)?;
            (out, format!("DELETE {count}"))
        }
        ModifyKind::Merge(_) => unreachable!("MERGE returned above"),
    };
    if let Some(f) = fire.as_mut() {
        f.after_statement(host)?;
    }
    Ok(done)
}

/// What became of one row a statement set out to store, change or
/// delete (the per-row work INSERT, UPDATE, DELETE and MERGE share).
pub(crate) enum Changed {
    /// Done: the row as stored (empty for a delete).
    Done(Vec<Value>),
    /// A BEFORE ROW trigger returned NULL: nothing was done.
    Skipped,
    /// A concurrent transaction deleted the row (READ COMMITTED).
    Gone,
    /// A concurrent transaction updated the row (READ COMMITTED): its
    /// newest version with its system columns, to be re-checked.
    Newer(Row),
}

/// Stores a new row of `rel`: BEFORE ROW triggers, typmods, NOT NULL,
/// CHECK, the insert, its FOREIGN KEY checks queued and its AFTER ROW
/// events queued. None when a BEFORE trigger skipped it.
pub(crate) fn insert_row(
    host: &mut dyn Host,
    rel: &Relation,
    checks: &RowChecks,
    fire: &mut Option<crate::trigger::Fire>,
    pending: &mut crate::fkey::Pending,
    row: Vec<Value>,
) -> Result<Option<Vec<Value>>, PgError> {
    let row = match fire.as_mut() {
        Some(f) => match f.before_row(host, None, Some(row))? {
            Some(r) => r,
            None => return Ok(None),
        },
        None => row,
    };
    let row = finish_row(rel, checks, row, host)?;
    host.tables()?.insert(rel, &row)?;
    pending.row_stored(rel, None, &row)?;
    if let Some(f) = fire.as_mut() {
        f.after_row(host, None, Some(&row))?;
    }
    Ok(Some(row))
}

/// A row of a view given to its INSTEAD OF triggers (UPDATE: `old` and
/// `new`; DELETE: `old`): done with the row they returned, or skipped.
fn instead(
    host: &mut dyn Host,
    fire: &mut Option<crate::trigger::Fire>,
    old: Option<&[Value]>,
    new: Option<Vec<Value>>,
) -> Result<Changed, PgError> {
    let Some(f) = fire.as_mut() else {
        return Err(PgError::error(
            sqlstate::INTERNAL_ERROR,
            "view without INSTEAD OF trigger",
        ));
    };
    Ok(match f.instead_row(host, old, new)? {
        Some(r) => Changed::Done(r),
        None => Changed::Skipped,
    })
}

/// Replaces the row `old` (the table's columns, then its system columns
/// as a scan gives them) with `new`, as [`insert_row`] stores one.
pub(crate) fn update_row(
    host: &mut dyn Host,
    rel: &Relation,
    checks: &RowChecks,
    fire: &mut Option<crate::trigger::Fire>,
    pending: &mut crate::fkey::Pending,
    old: &[Value],
    mut new: Vec<Value>,
) -> Result<Changed, PgError> {
    let ncols = rel.columns.len();
    checks.blank(&mut new);
    let new = match fire.as_mut() {
        Some(f) => match f.before_row(host, Some(&old[..ncols]), Some(new))? {
            Some(r) => r,
            None => return Ok(Changed::Skipped),
        },
        None => new,
    };
    let new = finish_row(rel, checks, new, host)?;
    let ctid = ctid_of(old, ncols)?;
    match host.tables()?.update(rel, &ctid, &new)? {
        None => {
            if let Some(f) = fire.as_mut() {
                f.after_row(host, Some(&old[..ncols]), Some(&new))?;
            }
            pending.row_stored(rel, Some(&old[..ncols]), &new)?;
            Ok(Changed::Done(new))
        }
        Some(newer) if newer.is_empty() => Ok(Changed::Gone),
        Some(newer) => Ok(Changed::Newer(newer)),
    }
}

/// UPDATE through an ancestor of a row of descendant `c` (`old` in the
/// ancestor's layout, `new` its new columns): the descendant's own
/// columns keep their values, its CHECK constraints apply (its triggers
/// do not fire yet).
fn update_child(
    host: &mut dyn Host,
    relations: &dyn Relations,
    params: &[Value],
    (top, c): (&Relation, &crate::catalog::InheritChild),
    old: &[Value],
    new: Vec<Value>,
    pending: &mut crate::fkey::Pending,
) -> Result<Changed, PgError> {
    let ncols = new.len();
    // Through a partitioned table, a row whose key moves it to another
    // partition is deleted from its own and inserted into that one.
    if top.relkind == b'p' {
        let mut router = crate::partition::Router::default();
        let to = router.route(host, top, &new)?;
        if top.children[to].rel.source != c.rel.source {
            let mine = crate::inherit::to_child_layout(c, ncols, old);
            return match delete_row(host, &c.rel, &mut None, pending, &mine)? {
                Changed::Done(_) => {
                    match crate::partition::insert_routed(host, top, &mut router, pending, new)? {
                        Some(r) => Ok(Changed::Done(r)),
                        None => Ok(Changed::Skipped),
                    }
                }
                Changed::Newer(r) => Ok(Changed::Newer(crate::inherit::to_parent_layout(c, &r))),
                other => Ok(other),
            };
        }
    }
    let full = {
        let mut cx = Ctx {
            host: &mut *host,
            params,
        };
        crate::inherit::child_row(c, ncols, old, &mut cx, relations)?
    };
    let Some(full) = full else {
        return Ok(Changed::Gone);
    };
    let mut mine = full[..c.rel.columns.len()].to_vec();
    for (i, &m) in c.map.iter().enumerate() {
        if let Some(slot) = mine.get_mut(m) {
            *slot = new[i].clone();
        }
    }
    let checks = RowChecks::bind(&*host, &c.rel)?;
    Ok(
        match update_row(host, &c.rel, &checks, &mut None, pending, &full, mine)? {
            Changed::Done(r) => {
                Changed::Done(c.map.iter().map(|&i| crate::inherit::pick(&r, i)).collect())
            }
            Changed::Newer(r) => Changed::Newer(crate::inherit::to_parent_layout(c, &r)),
            other => other,
        },
    )
}

/// Deletes the row `old` (columns, then system columns).
pub(crate) fn delete_row(
    host: &mut dyn Host,
    rel: &Relation,
    fire: &mut Option<crate::trigger::Fire>,
    pending: &mut crate::fkey::Pending,
    old: &[Value],
) -> Result<Changed, PgError> {
    let ncols = rel.columns.len();
    if let Some(f) = fire.as_mut() {
        if f.before_row(host, Some(&old[..ncols]), None)?.is_none() {
            return Ok(Changed::Skipped);
        }
    }
    let ctid = ctid_of(old, ncols)?;
    match host.tables()?.delete(rel, &ctid)? {
        None => {
            if let Some(f) = fire.as_mut() {
                f.after_row(host, Some(&old[..ncols]), None)?;
            }
            pending.referenced_row_changed(rel, &old[..ncols], None);
            Ok(Changed::Done(Vec::new()))
        }
        Some(newer) if newer.is_empty() => Ok(Changed::Gone),
        Some(newer) => Ok(Changed::Newer(newer)),
    }
}

/// The rows an UPDATE or DELETE considers: the target table's (through
/// an index when the WHERE allows), or with FROM / USING the rows of the
/// target joined with those items, read to the end first so that the
/// changes cannot feed the join (each row: the target's columns and
/// system columns, then the other items' columns).
fn target_rows(
    relations: &dyn Relations,
    rel: &Relation,
    filter: Option<&Expr>,
    from: &Option<Box<SelectPlan>>,
    cx: &mut Ctx<'_>,
) -> Result<Box<dyn crate::RowSource>, PgError> {
    let Some(plan) = from else {
        return crate::index::open_filtered(relations, rel, filter, cx);
    };
    let mut plan = (**plan).clone();
    // The WHERE joins the items: given to the plan, it is placed on the
    // join (a hash key for an equality) rather than over its product.
    plan.filter = filter.cloned();
    let mut root = exec::build(&plan, cx, relations)?;
    let mut rows = Vec::new();
    let r = (|| {
        while let Some(r) = root.next(cx)? {
            cx.host.check_interrupts()?;
            rows.push(r);
        }
        Ok::<(), PgError>(())
    })();
    root.close();
    r?;
    Ok(Box::new(crate::catalog::RowsScan::new(rows)))
}

/// The target rows an UPDATE ... FROM or DELETE ... USING has taken: a
/// target row that joins several rows of the other items is changed once,
/// with the first of them (PostgreSQL leaves which one unspecified).
#[derive(Default)]
struct Done(std::collections::HashSet<String>);

impl Done {
    /// Whether `row` is the first row of its target row (always without
    /// FROM, where each target row comes once).
    fn first(&mut self, from: &Option<Box<SelectPlan>>, row: &[Value], ncols: usize) -> bool {
        if from.is_none() {
            return true;
        }
        let ctid = row.get(ncols).map(|v| format!("{v:?}")).unwrap_or_default();
        self.0.insert(ctid)
    }
}

/// The newest version of a target row a concurrent transaction changed,
/// followed by the joined items' columns of the row it replaces (an
/// UPDATE ... FROM re-checks its WHERE on that combination).
pub(crate) fn with_joined(newer: Row, old: Row) -> Row {
    let n = newer.len();
    let mut r = newer;
    r.extend(old.into_iter().skip(n));
    r
}

/// What ON CONFLICT's per-row work needs from the statement.
struct Upsert<'a, 'f> {
    p: &'a ModifyPlan,
    params: &'a [Value],
    checks: &'a RowChecks,
    arbiters: &'a [u32],
    /// DO UPDATE's UPDATE triggers.
    fire: &'f mut Option<crate::trigger::Fire>,
    pending: &'f mut crate::fkey::Pending,
    count: &'f mut u64,
    out: &'f mut Vec<Row>,
}

impl Upsert<'_, '_> {
    /// Inserts `row` unless it conflicts on an arbiter index; then DO
    /// NOTHING leaves it, DO UPDATE locks the existing row FOR UPDATE and
    /// changes it as its SET and WHERE say. A conflicting row changed
    /// while it was being locked starts the row over, as PostgreSQL's
    /// ExecOnConflictUpdate does. `Ok(true)`: the row was inserted and the
    /// caller goes on as for a plain INSERT.
    fn row(
        &mut self,
        host: &mut dyn Host,
        oc: &OnConflict,
        row: &[Value],
    ) -> Result<bool, PgError> {
        use crate::rowlock::{RowLockOutcome, RowLockStrength, RowLockWait};
        let p = self.p;
        let ncols = p.rel.columns.len();
        loop {
            host.check_interrupts()?;
            let Some((existing, same_command)) =
                host.tables()?
                    .insert_unless_conflict(&p.rel, row, self.arbiters)?
            else {
                return Ok(true);
            };
            let ConflictAction::Update { sets, filter } = &oc.action else {
                return Ok(false);
            };
            if same_command {
                return Err(PgError::error(
                    sqlstate::CARDINALITY_VIOLATION,
                    "ON CONFLICT DO UPDATE command cannot affect row a second time",
                )
                .with_hint("Ensure that no rows proposed for insertion within the same command have duplicate constrained values."));
            }
            let ctid = ctid_of(&existing, ncols)?;
            match host.tables()?.lock_row(
                &p.rel,
                &ctid,
                RowLockStrength::Update,
                RowLockWait::Block,
            )? {
                RowLockOutcome::Locked => {}
                RowLockOutcome::Skipped | RowLockOutcome::Updated(_) => continue,
            }
            // The existing row, its system columns, then `excluded`.
            let mut joined = existing.clone();
            joined.extend_from_slice(row);
            let mut cx = Ctx {
                host,
                params: self.params,
            };
            if !passes(filter, &joined, &mut cx)? {
                return Ok(false);
            }
            if let Some(r) = &p.rls {
                r.check(crate::policy::WcoKind::Conflict, &existing, &mut cx)?;
            }
            let mut new: Vec<Value> = existing[..ncols].to_vec();
            for (i, e) in sets {
                new[*i] = e.eval(&joined, &mut cx)?;
            }
            self.checks.blank(&mut new);
            if let Some(r) = &p.rls {
                let mut full = new.clone();
                full.extend_from_slice(&existing[ncols..]);
                r.check(crate::policy::WcoKind::Update, &full, &mut cx)?;
            }
            let new = match self.fire.as_mut() {
                Some(f) => match f.before_row(host, Some(&existing[..ncols]), Some(new))? {
                    Some(r) => r,
                    None => return Ok(false),
                },
                None => new,
            };
            let new = finish_row(&p.rel, self.checks, new, host)?;
            match host.tables()?.update(&p.rel, &ctid, &new)? {
                None => {}
                // Locked above: a change in between is not expected, but
                // if one came, the row starts over like any other.
                Some(_) => continue,
            }
            if let Some(f) = self.fire.as_mut() {
                f.after_row(host, Some(&existing[..ncols]), Some(&new))?;
            }
            crate::bind::view_dml::check_new_row(&p.rel, &p.view_checks, &new, host)?;
            *self.count += 1;
            self.pending
                .row_stored(&p.rel, Some(&existing[..ncols]), &new)?;
            if !p.returning.is_empty() {
                let mut full = new;
                full.extend_from_slice(&existing[ncols..]);
                let mut cx = Ctx {
                    host,
                    params: self.params,
                };
                if let Some(r) = returned(p, &full, &mut cx)? {
                    self.out.push(r);
                }
            }
            return Ok(false);
        }
    }
}

/// The `ctid` system column of a scanned row.
pub(crate) fn ctid_of(row: &[Value], ncols: usize) -> Result<String, PgError> {
    debug_assert_eq!(SYSTEM_COLUMNS[0].0, "ctid");
    match row.get(ncols) {
        Some(Value::Text(s)) => Ok(s.clone()),
        _ => Err(PgError::error(
            sqlstate::INTERNAL_ERROR,
            "table scan row has no ctid",
        )),
    }
}
