//! WITH queries (common table expressions): binding `WITH [RECURSIVE]`,
//! and executing each WITH query once per execution however often it is
//! named, as PostgreSQL's CTE scan and recursive union do.
//!
//! Why this shape: a WITH query's plan is bound once into a shared
//! [`CteDef`]; its references in FROM are [`Source::Cte`] leaves. When
//! execution starts (`exec::prepare_plan`) every referenced WITH query
//! gets one producer node and one row buffer ([`CteState`]), and each
//! reference becomes a reader of that buffer ([`Source::CteScan`]). The
//! producer is pulled only when a reader needs a row it has not yet
//! produced, so `WITH RECURSIVE ... SELECT ... LIMIT n` over an endless
//! recursion stops, and a WITH query nobody reads never runs (PostgreSQL
//! computes read-only CTEs on demand too). A subquery that runs again per
//! outer row reads the same buffer: the WITH query still runs once.
//!
//! The recursive union keeps the previous round's rows (the work table)
//! and re-builds the recursive term's node tree each round over them;
//! because a node tree cannot open relations after execution started, the
//! relations the recursive term scans are read into memory once when the
//! union is built. Memory: the buffered rows of every WITH query, the work
//! table, and for UNION (not ALL) the distinct rows seen; no work_mem
//! limit or spilling yet. All of this lives in the backend that runs the
//! statement; nothing here touches shared memory.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use sqlparser::ast;
use tusk_common::{sqlstate, PgError};

use crate::bind::{ident_name, not_supported, Binder};
use crate::exec::{
    build_plan, build_source, materialize, GroupKey, NoRelations, Node, Relations, Row,
};
use crate::expr::{Ctx, Expr};
use crate::plan::{SelectPlan, Source};
use crate::types::{self, Ty};
use crate::Column;

/// A bound WITH query: shared by every reference to it.
#[derive(Debug)]
pub(crate) struct CteDef {
    /// Unique within the statement: references with one id share a run.
    pub id: usize,
    pub plan: SelectPlan,
}

/// `non-recursive-term UNION [ALL] recursive-term` of a WITH RECURSIVE
/// query; `rec` names the query as [`Source::WorkTable`]`(id)`.
#[derive(Debug, Clone)]
pub(crate) struct RecursivePlan {
    pub id: usize,
    pub all: bool,
    pub nonrec: Source,
    pub rec: Source,
}

/// The rows of one WITH query produced so far, and its producer until it
/// is exhausted. One per referenced WITH query per execution.
pub(crate) struct CteState {
    producer: Option<Box<dyn Node>>,
    rows: Vec<Row>,
    width: usize,
}

#[derive(Clone)]
pub(crate) struct CteHandle(Rc<RefCell<CteState>>);

impl std::fmt::Debug for CteHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CteHandle({} rows)", self.0.borrow().rows.len())
    }
}

/// The work table of a recursive union: the previous round's rows.
#[derive(Clone, Debug)]
pub(crate) struct WorkHandle(Rc<RefCell<Rc<Vec<Row>>>>);

/// What a name in FROM may resolve to besides a relation.
pub(crate) struct CteEntry {
    name: String,
    cols: Vec<(String, Ty)>,
    kind: CteKind,
    /// False for a data-modifying query without RETURNING, which FROM
    /// may not name.
    returns: bool,
}

/// A data-modifying WITH query: its statement, and the RETURNING rows of
/// the current execution of the statement it belongs to.
#[derive(Debug)]
pub(crate) struct ModifyCte {
    pub plan: crate::modify::ModifyPlan,
    pub rows: RefCell<Option<Rc<Vec<Row>>>>,
}

impl ModifyCte {
    /// Run the statement to completion and keep its RETURNING rows for
    /// the readers. Called by the backend when the statement that holds
    /// it starts (every run, so a prepared statement changes rows each
    /// time), before the rest of the statement opens its scans: both see
    /// the same snapshot and command, so the rest does not see these
    /// changes, as in PostgreSQL.
    pub(crate) fn run(
        &self,
        params: &[crate::value::Value],
        host: &mut dyn crate::host::Host,
        relations: &dyn Relations,
    ) -> Result<Rc<Vec<Row>>, PgError> {
        let (rows, _) = crate::modify::execute(&self.plan, params, host, relations)?;
        let rows = Rc::new(rows);
        *self.rows.borrow_mut() = Some(rows.clone());
        Ok(rows)
    }
}

enum CteKind {
    Def(Rc<CteDef>),
    /// The recursive term's own query while it is bound; `bool`: it was
    /// referenced already.
    SelfRef(usize, bool),
}

fn cols_of(cols: Vec<Column>) -> Vec<(String, Ty)> {
    cols.into_iter()
        .map(|c| {
            (
                c.name,
                Ty {
                    oid: c.type_oid,
                    typmod: c.type_mod,
                },
            )
        })
        .collect()
}

/// A reference to a WITH query in FROM: its source and columns.
pub(crate) type CteRef = (Source, Vec<(String, Ty)>);

/// A plan that hands out its source's `cols` unchanged.
pub(crate) fn plain_plan(source: Source, width: usize) -> SelectPlan {
    SelectPlan {
        source,
        filter: None,
        aggs: None,
        group_by: Vec::new(),
        group_exprs: Vec::new(),
        srfs: Vec::new(),
        grouping_sets: None,
        having: None,
        targets: (0..width).map(Expr::Column).collect(),
        visible: width,
        sort: Vec::new(),
        limit: None,
        offset: None,
        with_ties: false,
        distinct: false,
        distinct_on: None,
        windows: Vec::new(),
        row_locks: None,
        alias: None,
        merged: 0,
    }
}

impl Binder<'_> {
    /// Bind the WITH list of a query: each query in order, each seeing
    /// the ones before it (and, if RECURSIVE, itself). The names stay in
    /// `self.ctes` until the caller truncates them after the query.
    pub(crate) fn bind_with(&mut self, with: &ast::With) -> Result<(), PgError> {
        let mark = self.ctes.len();
        for cte in &with.cte_tables {
            let name = ident_name(&cte.alias.name);
            if self.ctes[mark..].iter().any(|c| c.name == name) {
                return Err(PgError::error(
                    sqlstate::DUPLICATE_ALIAS,
                    format!("WITH query name \"{name}\" specified more than once"),
                ));
            }
            if matches!(cte.query.body.as_ref(), ast::SetExpr::Merge(_)) {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "MERGE not supported in WITH query",
                )
                .with_position(self.at(cte.alias.name.span)));
            }
            if let ast::SetExpr::Insert(st) | ast::SetExpr::Update(st) | ast::SetExpr::Delete(st) =
                cte.query.body.as_ref()
            {
                if with.recursive {
                    if let crate::recursion::Recursion::Error(e, at) =
                        crate::recursion::check(&name, &cte.query)
                    {
                        return Err(e.with_position(self.at(at.unwrap_or(cte.alias.name.span))));
                    }
                }
                let entry = self.bind_modify_cte(&name, cte, st)?;
                self.ctes.push(entry);
                continue;
            }
            if !matches!(
                cte.query.body.as_ref(),
                ast::SetExpr::Select(_)
                    | ast::SetExpr::Query(_)
                    | ast::SetExpr::SetOperation { .. }
                    | ast::SetExpr::Values(_)
            ) {
                return Err(not_supported("this statement in WITH"));
            }
            let entry = if with.recursive {
                self.bind_recursive(&name, cte)?
            } else {
                None
            };
            let entry = match entry {
                Some(e) => e,
                None => {
                    let (plan, cols) = self.bind_cte_query(&cte.query)?;
                    let cols = rename(&name, cols_of(cols), &cte.alias)?;
                    let id = self.new_cte_id();
                    CteEntry {
                        name,
                        cols,
                        returns: true,
                        kind: CteKind::Def(Rc::new(CteDef { id, plan })),
                    }
                }
            };
            self.ctes.push(entry);
        }
        Ok(())
    }

    /// `name AS (INSERT/UPDATE/DELETE ... [RETURNING ...])`: bound as the
    /// statement it is, its RETURNING list the query's columns. Only in
    /// the statement's own WITH, as PostgreSQL allows.
    fn bind_modify_cte(
        &mut self,
        name: &str,
        cte: &ast::Cte,
        st: &ast::Statement,
    ) -> Result<CteEntry, PgError> {
        let replaced = crate::rules::check_in_with(st, self.host)?;
        let st = replaced.as_ref().unwrap_or(st);
        let Some(r) = self.bind_statement_in_with(st) else {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "WITH clause containing a data-modifying statement must be at the top level",
            )
            .with_position(self.at(cte.alias.name.span)));
        };
        let (plan, cols) = r?;
        let returning = !plan.returning.is_empty();
        let cols = if returning {
            rename(name, cols_of(cols), &cte.alias)?
        } else {
            Vec::new()
        };
        let def = Rc::new(ModifyCte {
            plan,
            rows: RefCell::new(None),
        });
        self.dml_ctes.push(def.clone());
        let id = self.new_cte_id();
        Ok(CteEntry {
            name: name.to_string(),
            kind: CteKind::Def(Rc::new(CteDef {
                id,
                plan: plain_plan(Source::ModifyCte(def), cols.len()),
            })),
            cols,
            returns: returning,
        })
    }

    fn bind_cte_query(&mut self, q: &ast::Query) -> Result<(SelectPlan, Vec<Column>), PgError> {
        self.bind_subquery(q, false)
    }

    fn new_cte_id(&mut self) -> usize {
        self.next_cte_id += 1;
        self.next_cte_id
    }

    /// `name AS (non-recursive UNION [ALL] recursive)`: the recursive
    /// term sees `name` as the previous round's rows, typed as the
    /// non-recursive term's output. None: the query does not refer to
    /// itself (or is no UNION), so it is an ordinary WITH query.
    fn bind_recursive(&mut self, name: &str, cte: &ast::Cte) -> Result<Option<CteEntry>, PgError> {
        let q = &cte.query;
        match crate::recursion::check(name, q) {
            crate::recursion::Recursion::NotRecursive => return Ok(None),
            crate::recursion::Recursion::Error(e, at) => {
                return Err(e.with_position(self.at(at.unwrap_or(cte.alias.name.span))));
            }
            crate::recursion::Recursion::WellFormed => {}
        }
        let ast::SetExpr::SetOperation {
            left,
            op: ast::SetOperator::Union,
            set_quantifier,
            right,
        } = q.body.as_ref()
        else {
            return Ok(None);
        };
        let all = match set_quantifier {
            ast::SetQuantifier::All => true,
            ast::SetQuantifier::Distinct | ast::SetQuantifier::None => false,
            _ => return Ok(None),
        };
        let (mut nonrec, ncols) = self.bind_set_source(left)?;
        let mut ncols = ncols;
        for (i, c) in ncols.iter_mut().enumerate() {
            if c.1.oid == types::UNKNOWN {
                let text = Ty::new(types::TEXT);
                self.coerce_source_col(&mut nonrec, i, c.1, text)?;
                c.1 = text;
            }
        }
        let cols = rename(name, ncols, &cte.alias)?;
        let id = self.new_cte_id();
        self.ctes.push(CteEntry {
            name: name.to_string(),
            returns: true,
            cols: cols.clone(),
            kind: CteKind::SelfRef(id, false),
        });
        let bound = self.bind_set_source(right);
        let me = self.ctes.pop().expect("pushed above");
        let (mut rec, rcols) = bound?;
        // A reference outside the recursive term (in ORDER BY, say) still
        // makes the query recursive, and refused below.
        if !matches!(me.kind, CteKind::SelfRef(_, true))
            && q.order_by.is_none()
            && q.limit_clause.is_none()
        {
            return Ok(None);
        }
        // PostgreSQL's checkWellFormedRecursion, in its order, at the
        // clause's first expression.
        use sqlparser::ast::Spanned;
        let refuse = |what: &str, at: Option<u32>| {
            PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("{what} in a recursive query is not implemented"),
            )
            .with_position(at)
        };
        if let Some(ob) = &q.order_by {
            let at = match &ob.kind {
                ast::OrderByKind::Expressions(list) => {
                    list.first().and_then(|e| self.at(e.expr.span()))
                }
                ast::OrderByKind::All(_) => None,
            };
            return Err(refuse("ORDER BY", at));
        }
        let (limit, offset) = match &q.limit_clause {
            Some(ast::LimitClause::LimitOffset { limit, offset, .. }) => (
                limit.as_ref().map(|e| self.at(e.span())),
                offset.as_ref().map(|o| self.at(o.value.span())),
            ),
            Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                (Some(self.at(limit.span())), Some(self.at(offset.span())))
            }
            None => (None, None),
        };
        if let Some(at) = offset {
            return Err(refuse("OFFSET", at));
        }
        if let Some(at) = limit {
            return Err(refuse("LIMIT", at));
        }
        if !q.locks.is_empty() {
            return Err(refuse("FOR UPDATE/SHARE", None));
        }
        if rcols.len() != cols.len() {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                "each UNION query must have the same number of columns",
            ));
        }
        for (i, ((_, nt), (_, rt))) in cols.iter().zip(&rcols).enumerate() {
            if rt.oid == types::UNKNOWN
                || (rt.oid == nt.oid && rt.typmod != nt.typmod && nt.typmod < 0)
            {
                self.coerce_source_col(&mut rec, i, *rt, *nt)?;
            } else if rt.oid != nt.oid {
                return Err(PgError::error(
                    sqlstate::DATATYPE_MISMATCH,
                    format!(
                        "recursive query \"{name}\" column {} has type {} in non-recursive term but type {} overall",
                        i + 1,
                        types::sql_name(nt.oid),
                        types::sql_name(rt.oid)
                    ),
                )
                .with_hint("Cast the output of the non-recursive term to the correct type."));
            }
        }
        // UNION (not ALL) keeps the rows seen in a hash table in
        // PostgreSQL, which refuses types without a hash opclass at plan
        // time; without the refusal such a query may recurse for ever.
        if !all
            && cols
                .iter()
                .any(|(_, t)| matches!(t.oid, types::BIT | types::VARBIT | types::JSON))
        {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "could not implement recursive UNION",
            )
            .with_detail("All column datatypes must be hashable."));
        }
        let width = cols.len();
        let plan = plain_plan(
            Source::RecursiveUnion(Box::new(RecursivePlan {
                id,
                all,
                nonrec,
                rec,
            })),
            width,
        );
        Ok(Some(CteEntry {
            name: name.to_string(),
            returns: true,
            cols,
            kind: CteKind::Def(Rc::new(CteDef { id, plan })),
        }))
    }

    /// An unqualified name in FROM that is a WITH query in scope: its
    /// source and columns (innermost WITH first, as PostgreSQL looks).
    pub(crate) fn cte_source(&mut self, name: &str) -> Result<Option<CteRef>, PgError> {
        let Some(entry) = self.ctes.iter_mut().rev().find(|c| c.name == name) else {
            return Ok(None);
        };
        let src = match &mut entry.kind {
            CteKind::Def(_) if !entry.returns => {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("WITH query \"{name}\" does not have a RETURNING clause"),
                ));
            }
            CteKind::Def(d) => Source::Cte(d.clone()),
            CteKind::SelfRef(id, seen) => {
                if *seen {
                    return Err(PgError::error(
                        tusk_common::sqlstate::SqlState::new("42P19"), // invalid_recursion
                        format!("recursive reference to query \"{name}\" must not appear more than once"),
                    ));
                }
                *seen = true;
                Source::WorkTable(*id)
            }
        };
        Ok(Some((src, entry.cols.clone())))
    }
}

/// Column aliases `name(a, b)` rename the first columns of a WITH query.
fn rename(
    name: &str,
    mut cols: Vec<(String, Ty)>,
    alias: &ast::TableAlias,
) -> Result<Vec<(String, Ty)>, PgError> {
    if alias.columns.len() > cols.len() {
        return Err(PgError::error(
            sqlstate::INVALID_COLUMN_REFERENCE,
            format!(
                "WITH query \"{name}\" has {} columns available but {} columns specified",
                cols.len(),
                alias.columns.len()
            ),
        ));
    }
    for (c, a) in cols.iter_mut().zip(&alias.columns) {
        c.0 = ident_name(&a.name);
    }
    Ok(cols)
}

/// Call `f` on every source of `src`, top down, through joins, FROM
/// subqueries, set operations and recursive unions (not into a WITH
/// query's own plan: it is resolved when built).
fn walk_source(src: &mut Source, f: &mut dyn FnMut(&mut Source)) {
    f(src);
    match src {
        Source::Join(j) => {
            walk_source(&mut j.left, f);
            walk_source(&mut j.right, f);
        }
        Source::Subquery(p) | Source::LateralSubquery(p) => walk_source(&mut p.source, f),
        Source::SetOp(o) => {
            walk_source(&mut o.left, f);
            walk_source(&mut o.right, f);
        }
        Source::RecursiveUnion(r) => {
            walk_source(&mut r.nonrec, f);
            walk_source(&mut r.rec, f);
        }
        _ => {}
    }
}

/// Every source of a plan, those of subqueries in its expressions too.
pub(crate) fn walk_plan(plan: &mut SelectPlan, f: &mut dyn FnMut(&mut Source)) {
    walk_source(&mut plan.source, f);
    plan.visit_exprs(0, &mut |e, _| {
        if let Expr::SubLink(s) = e {
            walk_source(&mut s.plan.source, f);
        }
    });
}

fn walk_expr(e: &mut Expr, f: &mut dyn FnMut(&mut Source)) {
    e.visit(0, &mut |e, _| {
        if let Expr::SubLink(s) = e {
            walk_source(&mut s.plan.source, f);
        }
    });
}

/// The states of the WITH queries started in one execution, by id.
pub(crate) type CteEnv = HashMap<usize, Rc<RefCell<CteState>>>;

/// Start every WITH query `plan` names (once per id in `env`) and make
/// its references readers of it. Called by the backend running the
/// statement when execution starts.
pub(crate) fn resolve_plan(
    plan: &mut SelectPlan,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
    env: &mut CteEnv,
) -> Result<(), PgError> {
    let mut defs = Vec::new();
    walk_plan(plan, &mut |s| {
        if let Source::Cte(d) = s {
            defs.push(d.clone());
        }
    });
    if defs.is_empty() {
        return Ok(());
    }
    start(defs, cx, relations, env)?;
    walk_plan(plan, &mut |s| replace(s, env));
    Ok(())
}

/// [`resolve_plan`] for an expression of INSERT, UPDATE or DELETE.
pub(crate) fn resolve_expr(
    e: &mut Expr,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
    env: &mut CteEnv,
) -> Result<(), PgError> {
    let mut defs = Vec::new();
    walk_expr(e, &mut |s| {
        if let Source::Cte(d) = s {
            defs.push(d.clone());
        }
    });
    if defs.is_empty() {
        return Ok(());
    }
    start(defs, cx, relations, env)?;
    walk_expr(e, &mut |s| replace(s, env));
    Ok(())
}

fn start(
    defs: Vec<Rc<CteDef>>,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
    env: &mut CteEnv,
) -> Result<(), PgError> {
    for d in defs {
        if env.contains_key(&d.id) {
            continue;
        }
        let mut plan = d.plan.clone();
        resolve_plan(&mut plan, cx, relations, env)?;
        crate::exec::prepare_plan(&mut plan, cx, relations)?;
        let producer = build_plan(&plan, cx, relations)?;
        env.insert(
            d.id,
            Rc::new(RefCell::new(CteState {
                producer: Some(producer),
                rows: Vec::new(),
                width: plan.visible,
            })),
        );
    }
    Ok(())
}

fn replace(s: &mut Source, env: &CteEnv) {
    if let Source::Cte(d) = s {
        if let Some(st) = env.get(&d.id) {
            *s = Source::CteScan(CteHandle(st.clone()));
        }
    }
}

/// One reference to a WITH query: reads the shared rows, asking the
/// producer for more when it is at their end.
struct CteScanNode {
    state: Rc<RefCell<CteState>>,
    pos: usize,
    done: bool,
}

pub(crate) fn scan_node(h: &CteHandle) -> Box<dyn Node> {
    Box::new(CteScanNode {
        state: h.0.clone(),
        pos: 0,
        done: false,
    })
}

impl Node for CteScanNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        if self.done {
            return Ok(None);
        }
        let mut st = self.state.borrow_mut();
        loop {
            if let Some(r) = st.rows.get(self.pos) {
                self.pos += 1;
                return Ok(Some(r.clone()));
            }
            let width = st.width;
            let Some(p) = st.producer.as_mut() else {
                self.done = true;
                return Ok(None);
            };
            match p.next(cx)? {
                Some(mut r) => {
                    r.truncate(width);
                    st.rows.push(r);
                }
                None => {
                    p.close();
                    st.producer = None;
                }
            }
        }
    }
    /// Only this reader stops: others may still read the query.
    fn close(&mut self) {
        self.done = true;
    }
}

/// The recursive term's reference to the previous round's rows.
struct WorkScanNode {
    rows: Rc<Vec<Row>>,
    pos: usize,
}

pub(crate) fn work_node(w: &WorkHandle) -> Box<dyn Node> {
    Box::new(WorkScanNode {
        rows: w.0.borrow().clone(),
        pos: 0,
    })
}

impl Node for WorkScanNode {
    fn next(&mut self, _cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        let r = self.rows.get(self.pos).cloned();
        if r.is_some() {
            self.pos += 1;
        }
        Ok(r)
    }
    fn close(&mut self) {
        self.pos = self.rows.len();
    }
}

/// WITH RECURSIVE's union: the non-recursive term's rows, then rounds of
/// the recursive term over the previous round's rows until a round
/// yields none (UNION drops rows seen before, as PostgreSQL does).
struct RecursiveNode {
    nonrec: Option<Box<dyn Node>>,
    rec: Source,
    cur: Option<Box<dyn Node>>,
    work: WorkHandle,
    next_work: Vec<Row>,
    all: bool,
    seen: BTreeSet<GroupKey>,
    done: bool,
}

pub(crate) fn recursive_node(
    r: &RecursivePlan,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
) -> Result<Box<dyn Node>, PgError> {
    let nonrec = build_source(&r.nonrec, cx, relations)?;
    let mut rec = r.rec.clone();
    materialize(&mut rec, cx, relations)?;
    let work = WorkHandle(Rc::new(RefCell::new(Rc::new(Vec::new()))));
    let id = r.id;
    walk_source(&mut rec, &mut |s| {
        if matches!(s, Source::WorkTable(i) if *i == id) {
            *s = Source::WorkTableScan(work.clone());
        }
    });
    Ok(Box::new(RecursiveNode {
        nonrec: Some(nonrec),
        rec,
        cur: None,
        work,
        next_work: Vec::new(),
        all: r.all,
        seen: BTreeSet::new(),
        done: false,
    }))
}

impl Node for RecursiveNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        while !self.done {
            let input = match (&mut self.nonrec, &mut self.cur) {
                (Some(n), _) => n,
                (None, Some(c)) => c,
                (None, None) => break,
            };
            match input.next(cx)? {
                Some(r) => {
                    if !self.all && !self.seen.insert(GroupKey(r.clone())) {
                        continue;
                    }
                    self.next_work.push(r.clone());
                    return Ok(Some(r));
                }
                None => {
                    input.close();
                    self.nonrec = None;
                    self.cur = None;
                    if self.next_work.is_empty() {
                        self.done = true;
                        break;
                    }
                    cx.host.check_interrupts()?;
                    *self.work.0.borrow_mut() = Rc::new(std::mem::take(&mut self.next_work));
                    self.cur = Some(build_source(&self.rec, cx, &NoRelations)?);
                }
            }
        }
        Ok(None)
    }
    fn close(&mut self) {
        if let Some(n) = &mut self.nonrec {
            n.close();
        }
        if let Some(c) = &mut self.cur {
            c.close();
        }
        self.done = true;
        self.seen = BTreeSet::new();
        *self.work.0.borrow_mut() = Rc::new(Vec::new());
    }
}
