//! Auto-updatable views: INSERT, UPDATE and DELETE on a simple view are bound against the view, then moved onto the relation under it.
//!
//! Why this shape: PostgreSQL's rewriter replaces the view by its base
//! relation in the statement's tree (rewriteTargetView). Here the
//! statement is first bound as for any relation, with the view's columns
//! in scope (so names, types, privileges on the view and its errors are
//! those of the view), and the bound plan is then rewritten: each
//! reference to a view column becomes the view's expression for it over
//! the base relation, assigned columns become base columns, the view's
//! WHERE joins the statement's, and views over views repeat this down to
//! a table (or to a view whose INSTEAD OF trigger takes the rows). One
//! mechanism serves the statements, `pg_relation_is_updatable` and
//! `pg_column_is_updatable` (which the information_schema views read).
//!
//! WITH CHECK OPTION: the quals to check on each new row, innermost view
//! first, with PostgreSQL's LOCAL / CASCADED rules, travel in the plan
//! (`ModifyPlan::view_checks`) and are checked by [`check_new_row`].
//!
//! Runs in the backend binding (and running) the statement.

use super::*;
use crate::modify::{ModifyKind, ModifyPlan};

/// Which statement writes through the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Insert,
    Update,
    Delete,
}

impl Event {
    fn trigger_type(self) -> i16 {
        match self {
            Event::Insert => crate::trigger::TYPE_INSERT,
            Event::Update => crate::trigger::TYPE_UPDATE,
            Event::Delete => crate::trigger::TYPE_DELETE,
        }
    }
}

/// A view column that cannot be assigned: which view, which column, why.
#[derive(Debug, Clone)]
struct ColErr {
    /// How many views down the refusal is (PostgreSQL checks the outer
    /// view's columns before rewriting to the inner one).
    depth: usize,
    view: String,
    col: String,
    detail: &'static str,
}

const NOT_BASE_COLUMN: &str =
    "View columns that are not columns of their base relation are not updatable.";
const SYSTEM_COLUMN: &str = "View columns that refer to system columns are not updatable.";
const WHOLE_ROW: &str = "View columns that return whole-row references are not updatable.";

/// One level of a simple view, as read from its query.
struct Simple {
    base: catalog::Relation,
    alias: String,
    /// The select list, `*` expanded to the base relation's columns.
    items: Vec<ast::Expr>,
    qual: Option<ast::Expr>,
    /// WITH CHECK OPTION: Some(true) CASCADED, Some(false) LOCAL.
    check: Option<bool>,
}

/// A view looked through down to the relation a statement writes.
struct Through {
    base: catalog::Relation,
    /// Per view column: its value over the base relation's row.
    exprs: Vec<Expr>,
    /// Per view column: the base column it is, or why it is not one.
    cols: Vec<Result<usize, ColErr>>,
    /// Every level's WHERE, over the base row.
    quals: Vec<Expr>,
    /// WITH CHECK OPTION quals over the base row, innermost view first.
    checks: Vec<(String, Expr)>,
    /// The privilege checks on each level's base relation, made when the
    /// statement is known to be rewritable (PostgreSQL's executor checks
    /// them after the rewriter's errors): as the view's owner (None: as
    /// the current user, a security_invoker view), the relation and the
    /// columns written.
    privs: Vec<(Option<u32>, catalog::Relation, Vec<usize>)>,
}

/// The view's WITH CHECK OPTION from its reloptions: Some(true)
/// CASCADED, Some(false) LOCAL.
pub(crate) fn check_option(
    host: &dyn Host,
    rel: &catalog::Relation,
) -> Result<Option<bool>, PgError> {
    let catalog::RelationSource::View(v) = rel.source else {
        return Ok(None);
    };
    Ok(host.relation_options(v.oid)?.iter().find_map(|o| {
        let (k, v) = o.split_once('=')?;
        (k == "check_option").then(|| v.eq_ignore_ascii_case("cascaded"))
    }))
}

/// PostgreSQL's reason a view's query is not automatically updatable, or
/// None when it is (view_query_is_auto_updatable); `check_cols`: INSERT
/// and UPDATE also need a column that is one of the base relation's.
fn refusal(
    host: &dyn Host,
    view: &catalog::Relation,
    check_cols: bool,
) -> Result<Result<Simple, &'static str>, PgError> {
    let Some(text) = view.view_query.as_deref() else {
        return Ok(Err(
            "Views that do not select from a single table or view are not automatically updatable.",
        ));
    };
    let q = crate::view::parse_query_text(text)?;
    let sel = match q.body.as_ref() {
        ast::SetExpr::Select(s) => Some(s),
        _ => None,
    };
    if let Some(s) = sel {
        if s.distinct.is_some() {
            return Ok(Err(
                "Views containing DISTINCT are not automatically updatable.",
            ));
        }
        let grouped = match &s.group_by {
            ast::GroupByExpr::All(_) => true,
            ast::GroupByExpr::Expressions(v, _) => !v.is_empty(),
        };
        if grouped {
            return Ok(Err(
                "Views containing GROUP BY are not automatically updatable.",
            ));
        }
        if s.having.is_some() {
            return Ok(Err(
                "Views containing HAVING are not automatically updatable.",
            ));
        }
    }
    if matches!(q.body.as_ref(), ast::SetExpr::SetOperation { .. }) {
        return Ok(Err(
            "Views containing UNION, INTERSECT, or EXCEPT are not automatically updatable.",
        ));
    }
    if q.with.is_some() {
        return Ok(Err(
            "Views containing WITH are not automatically updatable.",
        ));
    }
    if q.limit_clause.is_some() || q.fetch.is_some() {
        return Ok(Err(
            "Views containing LIMIT or OFFSET are not automatically updatable.",
        ));
    }
    let single =
        "Views that do not select from a single table or view are not automatically updatable.";
    let Some(s) = sel else {
        return Ok(Err(single));
    };
    for item in &s.projection {
        let e = match item {
            ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => e,
            _ => continue,
        };
        if let Some(why) = call_kind(e) {
            return Ok(Err(why));
        }
    }
    let [from] = s.from.as_slice() else {
        return Ok(Err(single));
    };
    if !from.joins.is_empty() {
        return Ok(Err(single));
    }
    let ast::TableFactor::Table {
        name,
        alias,
        args: None,
        sample,
        ..
    } = &from.relation
    else {
        return Ok(Err(single));
    };
    let parts = object_name_parts(name)?;
    let base = match parts.as_slice() {
        [t] => host.lookup_table(None, t)?,
        [s, t] => host.lookup_table(Some(s), t)?,
        _ => None,
    };
    let Some(mut base) = base else {
        return Ok(Err(single));
    };
    let writable = matches!(base.relkind, b'r' | b'p' | b'v' | b'f')
        && !matches!(base.source, catalog::RelationSource::SystemView(_))
        && !(base.relkind == b'v' && base.view_query.is_none());
    if !writable {
        return Ok(Err(single));
    }
    if sample.is_some() {
        return Ok(Err(
            "Views containing TABLESAMPLE are not automatically updatable.",
        ));
    }
    if crate::inherit::is_only(name) {
        base.children.clear();
    }
    let alias = alias
        .as_ref()
        .map(|a| ident_name(&a.name))
        .unwrap_or_else(|| parts.last().cloned().unwrap_or_default());
    let mut items = Vec::new();
    for item in &s.projection {
        match item {
            ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => {
                items.push(e.clone())
            }
            ast::SelectItem::ExprWithAliases { expr, .. } => items.push(expr.clone()),
            ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                for c in &base.columns {
                    items.push(ast::Expr::CompoundIdentifier(vec![
                        ast::Ident::with_quote('"', alias.clone()),
                        ast::Ident::with_quote('"', c.name.clone()),
                    ]));
                }
            }
        }
    }
    // The view's own columns are what its catalog row says (a view made
    // before its base gained columns keeps its old `*`).
    items.truncate(view.columns.len());
    let simple = Simple {
        base,
        alias,
        items,
        qual: s.selection.clone(),
        check: check_option(host, view)?,
    };
    if check_cols && (0..simple.items.len()).all(|i| classify(&simple, i).is_err()) {
        return Ok(Err(
            "Views that have no updatable columns are not automatically updatable.",
        ));
    }
    Ok(Ok(simple))
}

/// An aggregate, window or set-returning function call as a select item
/// (looked for at the item's top, and window calls anywhere in it).
fn call_kind(e: &ast::Expr) -> Option<&'static str> {
    let e = match e {
        ast::Expr::Nested(n) => n,
        other => other,
    };
    if e.to_string().to_ascii_uppercase().contains(" OVER ") {
        return Some("Views that return window functions are not automatically updatable.");
    }
    if let ast::Expr::Function(f) = e {
        let name = f.name.to_string().to_ascii_lowercase();
        let name = name.rsplit('.').next().unwrap_or("");
        if crate::agg::is_aggregate(name) {
            return Some("Views that return aggregate functions are not automatically updatable.");
        }
        if crate::srf::is_srf_name(name) {
            return Some(
                "Views that return set-returning functions are not automatically updatable.",
            );
        }
    }
    None
}

/// Item `i` of the view: the base column it names, or why it is not one.
fn classify(s: &Simple, i: usize) -> Result<usize, &'static str> {
    let mut e = &s.items[i];
    while let ast::Expr::Nested(n) = e {
        e = n;
    }
    let (qual, name) = match e {
        ast::Expr::Identifier(id) => (None, ident_name(id)),
        ast::Expr::CompoundIdentifier(p) if p.len() >= 2 => (
            Some(ident_name(&p[p.len() - 2])),
            ident_name(&p[p.len() - 1]),
        ),
        _ => return Err(NOT_BASE_COLUMN),
    };
    if qual.as_ref().is_some_and(|q| *q != s.alias) {
        return Err(NOT_BASE_COLUMN);
    }
    if let Some(k) = s.base.columns.iter().position(|c| c.name == name) {
        return Ok(k);
    }
    if catalog::SYSTEM_COLUMNS.iter().any(|(n, _)| *n == name) {
        return Err(SYSTEM_COLUMN);
    }
    if qual.is_none() && name == s.alias {
        return Err(WHOLE_ROW);
    }
    Err(NOT_BASE_COLUMN)
}

fn view_refused(event: Event, view: &str, detail: &str) -> PgError {
    let (msg, hint) = match event {
        Event::Insert => (
            format!("cannot insert into view \"{view}\""),
            "To enable inserting into the view, provide an INSTEAD OF INSERT trigger or an unconditional ON INSERT DO INSTEAD rule.",
        ),
        Event::Update => (
            format!("cannot update view \"{view}\""),
            "To enable updating the view, provide an INSTEAD OF UPDATE trigger or an unconditional ON UPDATE DO INSTEAD rule.",
        ),
        Event::Delete => (
            format!("cannot delete from view \"{view}\""),
            "To enable deleting from the view, provide an INSTEAD OF DELETE trigger or an unconditional ON DELETE DO INSTEAD rule.",
        ),
    };
    PgError::error(sqlstate::SqlState::new("55000"), msg)
        .with_detail(detail.to_string())
        .with_hint(hint)
}

fn column_refused(event: Event, e: &ColErr) -> PgError {
    let verb = match event {
        Event::Insert => "insert into",
        _ => "update",
    };
    PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!("cannot {verb} column \"{}\" of view \"{}\"", e.col, e.view),
    )
    .with_detail(e.detail.to_string())
}

/// Does view `rel` have an enabled INSTEAD OF trigger for `event`?
fn has_instead(host: &dyn Host, rel: &catalog::Relation, event: Event) -> Result<bool, PgError> {
    let catalog::RelationSource::View(v) = rel.source else {
        return Ok(false);
    };
    let ty = event.trigger_type();
    Ok(host.lookup_triggers(v.oid)?.iter().any(|d| {
        d.tgtype & crate::trigger::TYPE_INSTEAD != 0
            && d.tgtype & ty != 0
            && matches!(d.enabled, b'O' | b'A')
    }))
}

/// A relation written as itself: each column is its own.
fn identity(rel: &catalog::Relation) -> Through {
    Through {
        base: rel.clone(),
        exprs: (0..rel.columns.len()).map(Expr::Column).collect(),
        cols: (0..rel.columns.len()).map(Ok).collect(),
        quals: Vec::new(),
        checks: Vec::new(),
        privs: Vec::new(),
    }
}

const MARK: usize = 1 << 40;

/// Replaces this level's references to view columns (0..map.len()) by
/// their expressions in `map`; `shift`: where columns at or past
/// map.len() move to (ON CONFLICT's `excluded`), with `excluded_map`.
fn substitute(e: &mut Expr, map: &[Expr], excluded: Option<(&[Expr], usize)>) {
    let n = map.len();
    let limit = if excluded.is_some() { 2 * n } else { n };
    e.visit(0, &mut |x, level| match x {
        Expr::Column(i) if level == 0 && *i < limit => *i += MARK,
        Expr::Outer { depth, col } if *depth == level && *col < limit => *col += MARK,
        _ => {}
    });
    let pick = |i: usize| -> Expr {
        if i < n {
            map[i].clone()
        } else {
            let (ex, width) = excluded.expect("excluded columns are marked only with a map");
            let mut r = ex[i - n].clone();
            r.map_columns(&|j| j + width);
            r
        }
    };
    e.visit(0, &mut |x, level| match x {
        Expr::Column(i) if level == 0 && *i >= MARK => *x = pick(*i - MARK),
        Expr::Outer { depth, col } if *depth == level && *col >= MARK => {
            let mut r = pick(*col - MARK);
            let up = level;
            r.visit(0, &mut |y, l| match y {
                Expr::Column(j) if l == 0 => *y = Expr::Outer { depth: up, col: *j },
                Expr::Outer { depth, .. } if *depth == l && l > 0 => *depth += up,
                _ => {}
            });
            *x = r;
        }
        _ => {}
    });
}

/// Looks through view `view` for `event`: its base relation, down to a
/// table or a view with an INSTEAD OF trigger; `cascade`: an outer view's
/// CASCADED CHECK OPTION applies here too.
fn through(
    host: &dyn Host,
    view: &catalog::Relation,
    event: Event,
    cascade: bool,
    depth: usize,
    targets: &[usize],
) -> Result<Through, PgError> {
    if depth > 100 {
        return Err(PgError::error(
            sqlstate::SqlState::new("42P17"),
            format!(
                "infinite recursion detected in rules for relation \"{}\"",
                view.name
            ),
        ));
    }
    let s = match refusal(host, view, event != Event::Delete)? {
        Ok(s) => s,
        Err(detail) => return Err(view_refused(event, &view.name, detail)),
    };
    let own = s.check.is_some() || cascade;
    let inner_cascade = cascade || s.check == Some(true);
    let base_targets: Vec<usize> = targets
        .iter()
        .filter_map(|&i| (i < s.items.len()).then(|| classify(&s, i).ok()).flatten())
        .collect();
    let mut inner = if s.base.relkind == b'v' && !has_instead(host, &s.base, event)? {
        through(
            host,
            &s.base,
            event,
            inner_cascade,
            depth + 1,
            &base_targets,
        )?
    } else {
        identity(&s.base)
    };
    let invoker = match view.source {
        catalog::RelationSource::View(v) => host
            .relation_options(v.oid)?
            .iter()
            .any(|o| o == "security_invoker=true"),
        _ => false,
    };
    inner.privs.insert(
        0,
        (
            (!invoker).then_some(view.owner),
            s.base.clone(),
            base_targets,
        ),
    );
    let mut b = Binder::new(host, Vec::new());
    b.scope = Some(relation_scope(&s.base, s.alias.clone()));
    let mut exprs = Vec::with_capacity(s.items.len());
    let mut cols = Vec::with_capacity(s.items.len());
    for (i, item) in s.items.iter().enumerate() {
        let mut e = crate::acl::unchecked(|| b.bind_expr(item))?.e;
        substitute(&mut e, &inner.exprs, None);
        exprs.push(e);
        let refused = |detail| ColErr {
            depth,
            view: view.name.clone(),
            col: view
                .columns
                .get(i)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            detail,
        };
        cols.push(match classify(&s, i) {
            // A view whose base lost columns since has nothing to map.
            Ok(k) => inner
                .cols
                .get(k)
                .cloned()
                .unwrap_or_else(|| Err(refused(NOT_BASE_COLUMN))),
            Err(detail) => Err(refused(detail)),
        });
    }
    let mut quals = inner.quals;
    let mut checks = inner.checks;
    if let Some(q) = &s.qual {
        let bound = crate::acl::unchecked(|| b.bind_expr(q))?;
        let mut e = b.coerce_bool(bound, "WHERE")?.e;
        substitute(&mut e, &inner.exprs, None);
        if own {
            checks.push((view.name.clone(), e.clone()));
        }
        quals.push(e);
    }
    Ok(Through {
        base: inner.base,
        exprs,
        cols,
        quals,
        checks,
        privs: inner.privs,
    })
}

impl Binder<'_> {
    /// A statement bound against auto-updatable view `p.rel`, moved onto
    /// the relation under it (see the module's comment).
    pub(super) fn through_view(&mut self, mut p: ModifyPlan) -> Result<ModifyPlan, PgError> {
        let event = match &p.kind {
            ModifyKind::Insert { .. } => Event::Insert,
            ModifyKind::Update { .. } => Event::Update,
            _ => Event::Delete,
        };
        let targets: Vec<usize> = match &p.kind {
            ModifyKind::Insert { targets, .. } => targets.clone(),
            ModifyKind::Update { sets, .. } => sets.iter().map(|(i, _)| *i).collect(),
            _ => Vec::new(),
        };
        // What the statement needs on the view, it needs on the base
        // relation too (SELECT when it reads rows).
        let reads = !p.returning.is_empty()
            || match &p.kind {
                ModifyKind::Update { filter, .. } | ModifyKind::Delete { filter, .. } => {
                    filter.is_some()
                }
                _ => false,
            };
        let mut needed = match event {
            Event::Insert => crate::acl::INSERT,
            Event::Update => crate::acl::UPDATE,
            Event::Delete => crate::acl::DELETE,
        };
        if reads {
            needed |= crate::acl::SELECT;
        }
        if let ModifyKind::Insert {
            on_conflict: Some(oc),
            ..
        } = &p.kind
        {
            if matches!(
                oc.action,
                crate::bind::upsert::ConflictAction::Update { .. }
            ) {
                needed |= crate::acl::UPDATE;
            }
        }
        let t = through(self.host, &p.rel, event, false, 0, &targets)?;
        let width = relation_scope(&t.base, t.base.name.clone()).width;
        let col = |i: usize| -> Result<usize, PgError> {
            match t.cols.get(i) {
                Some(Ok(k)) => Ok(*k),
                Some(Err(e)) => Err(column_refused(event, e)),
                None => Err(PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    "view column out of range",
                )),
            }
        };
        let dup = |cols: &[usize], k: usize| -> Result<(), PgError> {
            if cols.contains(&k) {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    format!(
                        "multiple assignments to same column \"{}\"",
                        t.base.columns[k].name
                    ),
                ));
            }
            Ok(())
        };
        let qual = |filter: &mut Option<Expr>| {
            let mut all: Vec<Expr> = t.quals.clone();
            if let Some(mut f) = filter.take() {
                substitute(&mut f, &t.exprs, None);
                all.push(f);
            }
            *filter = match all.len() {
                0 => None,
                1 => all.pop(),
                _ => Some(Expr::And(all)),
            };
        };
        match &mut p.kind {
            ModifyKind::Insert {
                rows,
                targets,
                defaults,
                on_conflict,
            } => {
                // Only the columns given values are written (VALUES rows
                // shorter than the view, a SELECT of fewer columns).
                let supplied = match rows {
                    crate::modify::InsertRows::Values(v) => {
                        v.iter().map(Vec::len).max().unwrap_or(0)
                    }
                    crate::modify::InsertRows::Select(_, casts) => casts.len(),
                };
                targets.truncate(supplied);
                let given = targets.clone();
                let mut written = given.clone();
                for (i, d) in defaults.iter().enumerate() {
                    if d.is_some() && !written.contains(&i) {
                        written.push(i);
                    }
                }
                first_refused(&t, &written, event)?;
                let mut mapped = Vec::with_capacity(targets.len());
                for &i in targets.iter() {
                    let k = col(i)?;
                    dup(&mapped, k)?;
                    mapped.push(k);
                }
                *targets = mapped;
                // The base relation's defaults, unless the view gives
                // its column one of its own.
                let mut base_defaults = Vec::with_capacity(t.base.columns.len());
                for c in &t.base.columns {
                    base_defaults.push(self.bind_default(c)?);
                }
                for (i, d) in defaults.iter().enumerate() {
                    match (d, t.cols.get(i)) {
                        (Some(d), Some(Ok(k))) => base_defaults[*k] = Some(d.clone()),
                        // PostgreSQL fills an omitted column with the
                        // view's default, which then writes the column.
                        (Some(_), Some(Err(e))) if !given.contains(&i) => {
                            return Err(column_refused(event, e))
                        }
                        _ => {}
                    }
                }
                *defaults = base_defaults;
                if let Some(oc) = on_conflict {
                    if let crate::bind::upsert::Target::Columns(cs, exprs, pred) = &mut oc.target {
                        // Inference expressions and predicates name the
                        // view's columns; mapping them onto the base is
                        // not done yet.
                        if !exprs.is_empty() || pred.is_some() {
                            return Err(crate::bind::not_supported(
                                "ON CONFLICT with an index expression or predicate through a view",
                            ));
                        }
                        let mut m = Vec::with_capacity(cs.len());
                        for &i in cs.iter() {
                            m.push(col(i)?);
                        }
                        m.sort_unstable();
                        m.dedup();
                        *cs = m;
                    }
                    if let crate::bind::upsert::ConflictAction::Update { sets, filter } =
                        &mut oc.action
                    {
                        let mut assigned = Vec::new();
                        for (i, e) in sets.iter_mut() {
                            // PostgreSQL names the statement's INSERT here.
                            let k = col(*i)?;
                            dup(&assigned, k)?;
                            assigned.push(k);
                            *i = k;
                            substitute(e, &t.exprs, Some((&t.exprs, width)));
                        }
                        if let Some(f) = filter {
                            substitute(f, &t.exprs, Some((&t.exprs, width)));
                        }
                    }
                }
            }
            ModifyKind::Update { filter, sets, from } => {
                let set: Vec<usize> = sets.iter().map(|(i, _)| *i).collect();
                first_refused(&t, &set, event)?;
                if from.is_some() {
                    return Err(not_supported(format!(
                        "UPDATE of view \"{}\" with FROM",
                        p.rel.name
                    )));
                }
                let mut assigned = Vec::new();
                for (i, e) in sets.iter_mut() {
                    let k = col(*i)?;
                    dup(&assigned, k)?;
                    assigned.push(k);
                    *i = k;
                    substitute(e, &t.exprs, None);
                }
                qual(filter);
            }
            ModifyKind::Delete { filter, from } => {
                if from.is_some() {
                    return Err(not_supported(format!(
                        "DELETE from view \"{}\" with USING",
                        p.rel.name
                    )));
                }
                qual(filter);
            }
            ModifyKind::Merge(_) => {}
        }
        for e in p.returning.iter_mut() {
            substitute(e, &t.exprs, None);
        }
        for (owner, rel, cols) in &t.privs {
            let check = || crate::acl::check_dml(self.host, rel, needed, cols);
            match owner {
                Some(o) => crate::acl::as_owner(*o, check)?,
                None => check()?,
            };
        }
        if event != Event::Delete {
            p.view_checks = t.checks;
        }
        p.rel = t.base;
        Ok(p)
    }
}

/// The refusal PostgreSQL reports first among the view columns written:
/// the outermost view's, then in column order.
fn first_refused(t: &Through, written: &[usize], event: Event) -> Result<(), PgError> {
    let worst = written
        .iter()
        .filter_map(|&i| match t.cols.get(i) {
            Some(Err(e)) => Some((e.depth, i, e)),
            _ => None,
        })
        .min_by_key(|(d, i, _)| (*d, *i));
    match worst {
        Some((_, _, e)) => Err(column_refused(event, e)),
        None => Ok(()),
    }
}

/// WITH CHECK OPTION on a row just stored in `rel` (its live columns):
/// 44000 for the first view whose qual it does not pass (NULL fails, as
/// PostgreSQL's ExecWithCheckOptions).
pub(crate) fn check_new_row(
    rel: &catalog::Relation,
    checks: &[(String, Expr)],
    row: &[Value],
    host: &mut dyn Host,
) -> Result<(), PgError> {
    if checks.is_empty() {
        return Ok(());
    }
    let tableoid = rel.table().map(|t| t.oid).unwrap_or(0);
    let padded = crate::bind::rowexpr::pad_row(row, tableoid);
    let mut cx = crate::expr::Ctx { host, params: &[] };
    for (view, e) in checks {
        if e.eval(&padded, &mut cx)? != Value::Bool(true) {
            return Err(PgError::error(
                sqlstate::SqlState::new("44000"),
                format!("new row violates check option for view \"{view}\""),
            )
            .with_detail(format!(
                "Failing row contains {}.",
                crate::modify::describe_row(row)
            )));
        }
    }
    Ok(())
}

/// pg_relation_is_updatable's event bits (PostgreSQL's 1 << CMD_*):
/// UPDATE 4, INSERT 8, DELETE 16.
pub(crate) const EV_UPDATE: i32 = 4;
pub(crate) const EV_INSERT: i32 = 8;
pub(crate) const EV_DELETE: i32 = 16;

/// pg_relation_is_updatable(rel, include_triggers), narrowed to view
/// column `col` (0-based) for pg_column_is_updatable.
pub(crate) fn relation_events(
    host: &dyn Host,
    rel: &catalog::Relation,
    include_triggers: bool,
    col: Option<usize>,
) -> Result<i32, PgError> {
    let all = EV_UPDATE | EV_INSERT | EV_DELETE;
    match rel.relkind {
        b'r' | b'p' => return Ok(all),
        b'v' if rel.view_query.is_some() => {}
        _ => return Ok(0),
    }
    let mut events = 0;
    if include_triggers {
        for (ev, bit) in [
            (Event::Insert, EV_INSERT),
            (Event::Update, EV_UPDATE),
            (Event::Delete, EV_DELETE),
        ] {
            if has_instead(host, rel, ev)? {
                events |= bit;
            }
        }
        if events == all {
            return Ok(events);
        }
    }
    let Ok(s) = refusal(host, rel, false)? else {
        return Ok(events);
    };
    let updatable: Vec<usize> = (0..s.items.len())
        .filter(|&i| col.is_none_or(|c| c == i))
        .filter_map(|i| classify(&s, i).ok())
        .collect();
    let mut auto = if updatable.is_empty() { EV_DELETE } else { all };
    if s.base.relkind == b'v' {
        let mut base_events = 0;
        if updatable.is_empty() {
            base_events |= relation_events(host, &s.base, true, None)? & EV_DELETE;
        } else {
            for k in updatable {
                base_events |= relation_events(host, &s.base, true, Some(k))?;
            }
            if col.is_none() {
                base_events |= relation_events(host, &s.base, true, None)? & EV_DELETE;
            }
        }
        auto &= base_events;
    }
    Ok(events | auto)
}

/// pg_relation_is_updatable(regclass, bool) and, with `col`,
/// pg_column_is_updatable(regclass, int2, bool): 0 / false for an OID
/// that names no relation, as PostgreSQL.
pub(crate) fn is_updatable_fn(
    host: &mut dyn Host,
    args: &[Value],
    col: bool,
) -> Result<Value, PgError> {
    let oid = match args.first() {
        Some(Value::Oid(o)) => *o,
        Some(Value::Int4(i)) => *i as u32,
        Some(Value::Int8(i)) => *i as u32,
        _ => return Ok(Value::Null),
    };
    let include_triggers = args.last() == Some(&Value::Bool(true));
    let rel = crate::partition::relation_by_oid(host, oid)?;
    if !col {
        return Ok(Value::Int4(match rel {
            Some(r) => relation_events(&*host, &r, include_triggers, None)?,
            None => 0,
        }));
    }
    let attnum = match args.get(1) {
        Some(Value::Int2(n)) => i32::from(*n),
        Some(Value::Int4(n)) => *n,
        _ => return Ok(Value::Null),
    };
    let Some(r) = rel else {
        return Ok(Value::Bool(false));
    };
    let events = if attnum > 0 {
        relation_events(&*host, &r, include_triggers, Some(attnum as usize - 1))?
    } else {
        relation_events(&*host, &r, include_triggers, None)?
    };
    let both = EV_UPDATE | EV_INSERT;
    Ok(Value::Bool(events & both == both))
}

/// CREATE VIEW ... WITH CHECK OPTION is only for a view that is
/// automatically updatable (PostgreSQL's 0A000, its reason as the HINT).
pub(crate) fn check_option_allowed(
    host: &dyn Host,
    def: &crate::view::ViewDef,
) -> Result<(), PgError> {
    if !def.options.iter().any(|o| o.starts_with("check_option=")) {
        return Ok(());
    }
    let mut rel = catalog::Relation::new(
        def.schema.as_deref().unwrap_or(""),
        &def.name,
        def.columns.clone(),
        catalog::RelationSource::View(catalog::TableRef {
            oid: 0,
            relfilenode: 0,
            shared: false,
            namespace: 0,
        }),
    );
    rel.relkind = b'v';
    rel.view_query = Some(def.query.clone());
    if let Err(why) = refusal(host, &rel, true)? {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "WITH CHECK OPTION is supported only on automatically updatable views",
        )
        .with_hint(why.to_string()));
    }
    Ok(())
}
