//! The pull executor: a SELECT's plan as a tree of nodes that hand out one
//! row per `next` call (Volcano: open when built, `next`, `close`).
//!
//! Why pull and not "compute a Vec": a portal fetched 10 rows at a time
//! must resume where it stopped without holding every row, a `LIMIT 1`
//! over a large scan must stop reading once it has its row, and a heap
//! scan will hold a buffer pin and a snapshot that must be released the
//! moment the scan is no longer wanted. So every node keeps only the state
//! it needs between rows; sort and a grouped aggregate are the only nodes
//! that must see all their input before their first output, and only sort
//! keeps rows (count keeps a counter).
//!
//! Nodes never hold the session: each `next` receives the [`Ctx`] (host
//! and parameters) of the call, so an [`Execution`] can live in a portal
//! between protocol messages while the session is borrowed elsewhere.
//!
//! Rows come into the tree from a [`RowSource`]: a system view's rows
//! from the server (`pg_stat_activity`), a set-returning function
//! (`generate_series`), and later a heap scan of tusk_storage.
//! `close` propagates down the tree, so the node that knows no more rows
//! are wanted (LIMIT reached, portal closed, transaction ended, execution
//! dropped) releases the source at once.

use std::cmp::Ordering;
use std::collections::VecDeque;

use tusk_common::{sqlstate, PgError};

use crate::catalog::Relation;
use crate::expr::{Ctx, Expr, SubLink, SubLinkKind};
use crate::host::Host;
use crate::plan::{AggCall, JoinKind, SelectPlan, SetOpKind, SortKey, Source};
use crate::value::{compare, Value};

/// One row, its columns in the producing node's order.
pub type Row = Vec<Value>;

/// Where a scan's rows come from, one at a time.
///
/// Designed for a heap scan: the implementation owns what it holds across
/// calls (a buffer pin on the current page, its snapshot, its position) and
/// gives it back in `close`. `close` is called once no more rows are
/// wanted, before the end too (LIMIT, Close of a portal, transaction end);
/// it must be idempotent, and an implementation should also release in
/// `Drop` so that an unwinding error path cannot leak a pin. A source is
/// used only by the process that opened it (a backend), within the
/// transaction that opened it.
pub trait RowSource {
    /// The next row, in the relation's column order; `None` at the end.
    fn next_row(&mut self) -> Result<Option<Row>, PgError>;
    /// Release what the scan holds. Idempotent.
    fn close(&mut self) {}
}

/// Opens scans of relations whose rows live outside the sql crate: the
/// server provides the system views it computes from shared memory
/// (`pg_stat_activity` from the proc array). Called by the backend that
/// runs the statement, when its execution starts.
pub trait Relations {
    fn open_scan(&self, rel: &Relation) -> Result<Box<dyn RowSource>, PgError>;
    /// An index scan of `rel` returning (at least) the rows that satisfy
    /// every qual, if the host has an index for them (crate::index); None:
    /// the caller scans sequentially. The caller re-checks every row.
    fn open_index_scan(
        &self,
        rel: &Relation,
        quals: &[crate::index::ScanQual],
    ) -> Result<Option<Box<dyn RowSource>>, PgError> {
        let _ = (rel, quals);
        Ok(None)
    }
    /// An index scan of `rel` returning its rows in the order of column
    /// `col` (descending if `desc`; NULLs last ascending, first
    /// descending), within the quals on that column if any; None when no
    /// index leads with `col`. The caller re-checks every row.
    fn open_ordered_scan(
        &self,
        rel: &Relation,
        quals: &[crate::index::ScanQual],
        col: usize,
        desc: bool,
    ) -> Result<Option<Box<dyn RowSource>>, PgError> {
        let _ = (rel, quals, col, desc);
        Ok(None)
    }
    /// Which index a scan of `rel` with `quals` (and, with `order`, in
    /// the order of that column) would read: what EXPLAIN prints
    /// (crate::explain). Must pick as `open_index_scan` /
    /// `open_ordered_scan` do. None: a sequential scan (or no index).
    fn index_choice(
        &self,
        rel: &Relation,
        quals: &[crate::index::ScanQual],
        order: Option<(usize, bool)>,
    ) -> Option<crate::index::IndexChoice> {
        let _ = (rel, quals, order);
        None
    }
    /// The function that reads this process's buffer counters (shared
    /// hits, shared reads) for EXPLAIN (ANALYZE, BUFFERS); None: not
    /// counted.
    fn buffer_usage(&self) -> Option<fn() -> (u64, u64)> {
        None
    }
    /// The number of pages of `rel`'s heap now, for EXPLAIN's cost
    /// estimates; None when unknown.
    fn heap_blocks(&self, rel: &Relation) -> Option<u32> {
        let _ = rel;
        None
    }
}

/// `generate_series(start, stop [, step])` over int4 or int8, as
/// PostgreSQL 15's generate_series_step_int4/int8: the series stops
/// before it would pass `stop` or overflow the type; a zero step is 22023.
pub struct GenerateSeries {
    next: Option<i64>,
    stop: i64,
    step: i64,
    min: i64,
    max: i64,
    int8: bool,
}

impl GenerateSeries {
    /// `None` arguments (SQL NULL) give no rows: the function is strict.
    pub fn new(
        start: Option<i64>,
        stop: Option<i64>,
        step: Option<i64>,
        int8: bool,
    ) -> Result<GenerateSeries, PgError> {
        if step == Some(0) {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                "step size cannot equal zero",
            ));
        }
        let (min, max) = if int8 {
            (i64::MIN, i64::MAX)
        } else {
            (i32::MIN as i64, i32::MAX as i64)
        };
        Ok(GenerateSeries {
            next: match (stop, step) {
                (Some(_), Some(_)) => start,
                _ => None,
            },
            stop: stop.unwrap_or(0),
            step: step.unwrap_or(1),
            min,
            max,
            int8,
        })
    }
}

impl RowSource for GenerateSeries {
    fn next_row(&mut self) -> Result<Option<Row>, PgError> {
        let Some(cur) = self.next else {
            return Ok(None);
        };
        let within = if self.step > 0 {
            cur <= self.stop
        } else {
            cur >= self.stop
        };
        if !within {
            self.next = None;
            return Ok(None);
        }
        // The value after this one, unless it overflows the type: then
        // this is the last (PostgreSQL's "increment would overflow").
        self.next = cur
            .checked_add(self.step)
            .filter(|n| (self.min..=self.max).contains(n));
        Ok(Some(vec![if self.int8 {
            Value::Int8(cur)
        } else {
            Value::Int4(cur as i32)
        }]))
    }
    fn close(&mut self) {
        self.next = None;
    }
}

/// An executor node. Called only by the backend running the statement.
pub(crate) trait Node {
    /// The next output row, or `None` once the node is exhausted (and
    /// from then on).
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError>;
    /// No more rows are wanted: release the input. Idempotent.
    fn close(&mut self);
}

/// `WITH ORDINALITY`: each row of a function in FROM with its number.
struct OrdinalityNode {
    input: Box<dyn Node>,
    n: i64,
}

impl Node for OrdinalityNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        let Some(mut row) = self.input.next(cx)? else {
            return Ok(None);
        };
        self.n += 1;
        row.push(Value::Int8(self.n));
        Ok(Some(row))
    }

    fn close(&mut self) {
        self.input.close();
    }
}

/// No FROM: one row with no columns.
pub(crate) struct ResultNode {
    pub done: bool,
}

impl Node for ResultNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        if self.done {
            return Ok(None);
        }
        cx.host.check_interrupts()?;
        self.done = true;
        Ok(Some(Vec::new()))
    }
    fn close(&mut self) {
        self.done = true;
    }
}

/// Reads a [`RowSource`], checking for a cancel before each row, and
/// closes the source when it ends.
pub(crate) struct ScanNode {
    src: Box<dyn RowSource>,
    open: bool,
}

impl ScanNode {
    pub fn new(src: Box<dyn RowSource>) -> ScanNode {
        ScanNode { src, open: true }
    }
}

impl Node for ScanNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        if !self.open {
            return Ok(None);
        }
        cx.host.check_interrupts()?;
        match self.src.next_row()? {
            Some(r) => Ok(Some(r)),
            None => {
                self.close();
                Ok(None)
            }
        }
    }
    fn close(&mut self) {
        if self.open {
            self.open = false;
            self.src.close();
        }
    }
}

impl Drop for ScanNode {
    fn drop(&mut self) {
        self.close();
    }
}

fn is_true(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

/// WHERE (and HAVING over an aggregate's row).
pub(crate) struct FilterNode {
    pub input: Box<dyn Node>,
    pub pred: Expr,
}

impl Node for FilterNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        while let Some(r) = self.input.next(cx)? {
            if is_true(&self.pred.eval(&r, cx)?) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
    fn close(&mut self) {
        self.input.close();
    }
}

/// Aggregates without GROUP BY: consumes its input on the first call and
/// returns exactly one row. Counting keeps a counter, not the rows.
pub(crate) struct AggNode {
    pub input: Box<dyn Node>,
    pub aggs: Vec<AggCall>,
    pub done: bool,
}

/// The running state of one aggregate (PostgreSQL's transition value).
#[derive(Clone)]
pub(crate) enum AggState {
    Count(i64),
    /// Integer sums and averages: exact in i128.
    Int {
        sum: i128,
        n: i64,
    },
    Float {
        sum: f64,
        n: i64,
    },
    Numeric {
        sum: crate::numeric::Numeric,
        n: i64,
    },
    /// min/max: the best value so far.
    Best(Option<Value>),
    /// json_agg and friends: every input, NULLs included.
    List(Vec<Value>),
    /// The aggregates of crates/sql/src/agg.rs and modified calls.
    Ext(Box<crate::agg::ExtState>),
}

pub(crate) fn agg_state(a: &AggCall) -> AggState {
    use crate::types as t;
    match a {
        AggCall::CountStar | AggCall::Count(_) => AggState::Count(0),
        AggCall::Sum(_, ty) | AggCall::Avg(_, ty) => match *ty {
            t::INT2 | t::INT4 | t::INT8 => AggState::Int { sum: 0, n: 0 },
            t::FLOAT4 | t::FLOAT8 => AggState::Float { sum: 0.0, n: 0 },
            _ => AggState::Numeric {
                sum: crate::numeric::Numeric::zero(),
                n: 0,
            },
        },
        AggCall::Min(_) | AggCall::Max(_) => AggState::Best(None),
        AggCall::Json { .. } => AggState::List(Vec::new()),
        AggCall::Ext(f) => AggState::Ext(Box::new(crate::agg::ext_state(f))),
        AggCall::Modified(m) => AggState::Ext(Box::new(crate::agg::modified_state(m))),
    }
}

pub(crate) fn agg_step(
    a: &AggCall,
    st: &mut AggState,
    row: &[Value],
    cx: &mut Ctx<'_>,
) -> Result<(), PgError> {
    let arg = match a {
        AggCall::CountStar => {
            if let AggState::Count(n) = st {
                *n += 1;
            }
            return Ok(());
        }
        AggCall::Count(e)
        | AggCall::Sum(e, _)
        | AggCall::Avg(e, _)
        | AggCall::Min(e)
        | AggCall::Max(e) => e.eval(row, cx)?,
        AggCall::Json { arg, .. } => {
            let v = arg.eval(row, cx)?;
            if let AggState::List(items) = st {
                items.push(v);
            }
            return Ok(());
        }
        AggCall::Ext(f) => {
            if let AggState::Ext(s) = st {
                crate::agg::ext_step(f, s, row, cx)?;
            }
            return Ok(());
        }
        AggCall::Modified(m) => {
            if let AggState::Ext(s) = st {
                crate::agg::modified_step(m, s, row, cx)?;
            }
            return Ok(());
        }
    };
    if arg.is_null() {
        return Ok(());
    }
    match st {
        AggState::Count(n) => *n += 1,
        AggState::Int { sum, n } => {
            *sum += match arg {
                Value::Int2(i) => i as i128,
                Value::Int4(i) => i as i128,
                Value::Int8(i) => i as i128,
                _ => 0,
            };
            *n += 1;
        }
        AggState::Float { sum, n } => {
            *sum += match arg {
                Value::Float4(f) => f as f64,
                Value::Float8(f) => f,
                _ => 0.0,
            };
            *n += 1;
        }
        AggState::Numeric { sum, n } => {
            if let Value::Numeric(x) = &arg {
                *sum = sum.add(x)?;
            }
            *n += 1;
        }
        AggState::Best(best) => {
            let better = match best {
                None => true,
                // On a tie the later value wins, as PostgreSQL's
                // numeric_larger/numeric_smaller (1.0 then 1.00 gives 1.00).
                Some(b) => {
                    let o = compare(&arg, b);
                    if matches!(a, AggCall::Min(_)) {
                        o != Ordering::Greater
                    } else {
                        o != Ordering::Less
                    }
                }
            };
            if better {
                *best = Some(arg);
            }
        }
        AggState::List(items) => items.push(arg),
        AggState::Ext(_) => {}
    }
    Ok(())
}

fn int8_overflow() -> PgError {
    PgError::error(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE, "bigint out of range")
}

/// The aggregate's result, typed as PostgreSQL's: sum(int2/int4) is
/// bigint, sum(int8) and avg of integers numeric, float sums keep their
/// type, avg(float) is float8.
pub(crate) fn agg_final(a: &AggCall, st: AggState, cx: &mut Ctx<'_>) -> Result<Value, PgError> {
    use crate::numeric::Numeric;
    use crate::types as t;
    Ok(match (a, st) {
        (_, AggState::Count(n)) => Value::Int8(n),
        (_, AggState::Int { n: 0, .. })
        | (_, AggState::Float { n: 0, .. })
        | (_, AggState::Numeric { n: 0, .. }) => Value::Null,
        (AggCall::Sum(_, ty), AggState::Int { sum, .. }) => {
            if *ty == t::INT8 {
                Value::Numeric(Numeric::parse(&sum.to_string()).map_err(|_| int8_overflow())?)
            } else {
                Value::Int8(i64::try_from(sum).map_err(|_| int8_overflow())?)
            }
        }
        (AggCall::Sum(_, ty), AggState::Float { sum, .. }) => {
            if *ty == t::FLOAT4 {
                Value::Float4(sum as f32)
            } else {
                Value::Float8(sum)
            }
        }
        (AggCall::Sum(..), AggState::Numeric { sum, .. }) => Value::Numeric(sum),
        (_, AggState::Int { sum, n }) => {
            let s = Numeric::parse(&sum.to_string()).map_err(|_| int8_overflow())?;
            Value::Numeric(s.div(&Numeric::from_i64(n))?)
        }
        (_, AggState::Float { sum, n }) => Value::Float8(sum / n as f64),
        (_, AggState::Numeric { sum, n }) => Value::Numeric(sum.div(&Numeric::from_i64(n))?),
        (_, AggState::Best(b)) => b.unwrap_or(Value::Null),
        (AggCall::Json { b, object, .. }, AggState::List(items)) => {
            crate::json::agg_final(*b, *object, items)?
        }
        (_, AggState::List(_)) => Value::Null,
        (AggCall::Ext(f), AggState::Ext(s)) => match (f.kind, *s) {
            (crate::agg::AggKind::User(id), crate::agg::ExtState::User(v, _)) => {
                crate::useragg::finish(id, v, cx)?
            }
            (_, s) => crate::agg::ext_final(f, s)?,
        },
        (AggCall::Modified(m), AggState::Ext(s)) => crate::agg::modified_final(m, *s, cx)?,
        (_, AggState::Ext(_)) => Value::Null,
    })
}

impl Node for AggNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        let mut states: Vec<AggState> = self.aggs.iter().map(agg_state).collect();
        while let Some(r) = self.input.next(cx)? {
            for (st, a) in states.iter_mut().zip(&self.aggs) {
                agg_step(a, st, &r, cx)?;
            }
        }
        self.input.close();
        let out = self
            .aggs
            .iter()
            .zip(states)
            .map(|(a, st)| agg_final(a, st, cx))
            .collect::<Result<Row, PgError>>()?;
        Ok(Some(out))
    }
    fn close(&mut self) {
        self.done = true;
        self.input.close();
    }
}

/// A group's key, ordered as ORDER BY orders values (so 1.0 and 1.00
/// are one group, as PostgreSQL's equality says).
pub(crate) struct GroupKey(pub(crate) Vec<Value>);

impl PartialEq for GroupKey {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for GroupKey {}
impl PartialOrd for GroupKey {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for GroupKey {
    fn cmp(&self, o: &Self) -> Ordering {
        for (a, b) in self.0.iter().zip(&o.0) {
            let c = match (a.is_null(), b.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => compare(a, b),
            };
            if c != Ordering::Equal {
                return c;
            }
        }
        Ordering::Equal
    }
}

/// Aggregates with GROUP BY: consumes its input on the first call, keeping
/// one transition state per group (not the rows), then returns one row per
/// group, key columns first, in key order.
pub(crate) struct GroupAggNode {
    pub input: Box<dyn Node>,
    pub aggs: Vec<AggCall>,
    pub keys: Vec<usize>,
    pub out: Option<std::collections::btree_map::IntoIter<GroupKey, Vec<AggState>>>,
}

impl Node for GroupAggNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        if self.out.is_none() {
            let mut groups: std::collections::BTreeMap<GroupKey, Vec<AggState>> =
                std::collections::BTreeMap::new();
            while let Some(r) = self.input.next(cx)? {
                let key = GroupKey(self.keys.iter().map(|&k| r[k].clone()).collect());
                let states = groups
                    .entry(key)
                    .or_insert_with(|| self.aggs.iter().map(agg_state).collect());
                for (st, a) in states.iter_mut().zip(&self.aggs) {
                    agg_step(a, st, &r, cx)?;
                }
            }
            self.input.close();
            self.out = Some(groups.into_iter());
        }
        let Some((key, states)) = self.out.as_mut().and_then(|it| it.next()) else {
            return Ok(None);
        };
        let mut row = key.0;
        for (a, st) in self.aggs.iter().zip(states) {
            row.push(agg_final(a, st, cx)?);
        }
        Ok(Some(row))
    }
    fn close(&mut self) {
        self.out = Some(std::collections::BTreeMap::new().into_iter());
        self.input.close();
    }
}

/// The target list: visible columns, then hidden sort columns.
pub(crate) struct ProjectNode {
    pub input: Box<dyn Node>,
    pub targets: Vec<Expr>,
}

impl Node for ProjectNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        let Some(r) = self.input.next(cx)? else {
            return Ok(None);
        };
        cx.host.check_interrupts()?;
        let mut o = Vec::with_capacity(self.targets.len());
        for t in &self.targets {
            o.push(t.eval(&r, cx)?);
        }
        Ok(Some(o))
    }
    fn close(&mut self) {
        self.input.close();
    }
}

pub(crate) fn sort_cmp(a: &[Value], b: &[Value], keys: &[SortKey]) -> Ordering {
    for k in keys {
        let (x, y) = (&a[k.col], &b[k.col]);
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) if k.nulls_first => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if k.nulls_first => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ if k.desc => compare(x, y).reverse(),
            _ => compare(x, y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// ORDER BY: reads all input on the first call (it must), closes the
/// input, then hands out the sorted rows one by one, ties in the order
/// PostgreSQL's quicksort leaves them (pgsort.rs).
pub(crate) struct SortNode {
    pub input: Box<dyn Node>,
    pub keys: Vec<SortKey>,
    /// LIMIT plus OFFSET when a LIMIT reads this sort's output: the
    /// bounded sort PostgreSQL then does (pgsort::bounded_sort_by).
    pub bound: Option<usize>,
    /// Keep rows with equal keys in input order. For a select list with
    /// set-returning functions: PostgreSQL sorts before its ProjectSet,
    /// so the rows one input row expands to come out together and in
    /// the order generated; tusk expands first, and a stable sort keeps
    /// that order.
    pub stable: bool,
    pub sorted: Option<VecDeque<Row>>,
}

impl Node for SortNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        if self.sorted.is_none() {
            let mut rows = Vec::new();
            while let Some(r) = self.input.next(cx)? {
                rows.push(r);
            }
            self.input.close();
            let rows = match self.bound {
                _ if self.stable => {
                    rows.sort_by(|a, b| sort_cmp(a, b, &self.keys));
                    rows
                }
                Some(b) => {
                    crate::pgsort::bounded_sort_by(rows, b, |a, b| sort_cmp(a, b, &self.keys))
                }
                None => {
                    crate::pgsort::sort_by(&mut rows, |a, b| sort_cmp(a, b, &self.keys));
                    rows
                }
            };
            self.sorted = Some(rows.into());
        }
        Ok(self.sorted.as_mut().and_then(VecDeque::pop_front))
    }
    fn close(&mut self) {
        self.sorted = Some(VecDeque::new());
        self.input.close();
    }
}

/// OFFSET then LIMIT (`None`: no limit). Closes its input as soon as the
/// limit is reached, so a scan under it stops there.
pub(crate) struct LimitNode {
    pub input: Box<dyn Node>,
    pub offset: usize,
    pub limit: Option<usize>,
    pub emitted: usize,
    /// WITH TIES: the ORDER BY keys; past the limit, rows equal to the
    /// last one emitted on them still come (the input is sorted).
    pub ties: Option<Vec<crate::plan::SortKey>>,
    /// The last row emitted, kept only for WITH TIES.
    pub last: Option<Row>,
}

impl Node for LimitNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        if self.limit.is_some_and(|l| self.emitted >= l) {
            if let (Some(keys), Some(last)) = (&self.ties, &self.last) {
                if let Some(r) = self.input.next(cx)? {
                    if sort_cmp(&r, last, keys) == Ordering::Equal {
                        return Ok(Some(r));
                    }
                }
                self.last = None;
            }
            self.input.close();
            return Ok(None);
        }
        while self.offset > 0 {
            if self.input.next(cx)?.is_none() {
                return Ok(None);
            }
            self.offset -= 1;
        }
        let r = self.input.next(cx)?;
        if let Some(row) = &r {
            self.emitted += 1;
            if self.limit.is_some_and(|l| self.emitted >= l) {
                if self.ties.is_some() {
                    self.last = Some(row.clone());
                } else {
                    self.input.close();
                }
            }
        }
        Ok(r)
    }
    fn close(&mut self) {
        self.input.close();
    }
}

pub(crate) fn count_arg(
    e: &Option<Expr>,
    what: &str,
    cx: &mut Ctx<'_>,
) -> Result<Option<usize>, PgError> {
    let Some(e) = e else { return Ok(None) };
    match e.eval(&[], cx)? {
        Value::Null => Ok(None),
        Value::Int8(n) if n < 0 => Err(PgError::error(
            if what == "LIMIT" {
                sqlstate::INVALID_ROW_COUNT_IN_LIMIT_CLAUSE
            } else {
                sqlstate::INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE
            },
            format!("{what} must not be negative"),
        )),
        Value::Int8(n) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        other => Err(PgError::error(
            sqlstate::DATATYPE_MISMATCH,
            format!("argument of {what} must be type bigint, got {other:?}"),
        )),
    }
}

fn int_of(v: Value) -> Option<i64> {
    match v {
        Value::Int2(i) => Some(i as i64),
        Value::Int4(i) => Some(i as i64),
        Value::Int8(i) => Some(i),
        _ => None,
    }
}

/// Build the node tree of a SELECT: LIMIT/OFFSET and the function
/// arguments of the source are evaluated now (as PostgreSQL's executor
/// start does), and the source is opened. The relations read by
/// subqueries inside expressions are read now, once (see
/// [`prepare_plan`]).
pub(crate) fn build(
    plan: &SelectPlan,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
) -> Result<Box<dyn Node>, PgError> {
    let mut plan = plan.clone();
    prepare_plan(&mut plan, cx, relations)?;
    build_plan(&plan, cx, relations)
}

/// Read every relation a subquery of `plan`'s expressions scans into
/// memory, and give each uncorrelated subquery a fresh result cache.
///
/// Why: a correlated subquery runs once per outer row, and a
/// [`RowSource`] cannot be rewound (and the [`Relations`] that opens one
/// is not at hand while a portal's rows are fetched). So the subquery's
/// relations are scanned once here and every run reads those rows.
/// Memory: all rows of those relations, for the whole execution; no
/// work_mem accounting yet.
pub(crate) fn prepare_plan(
    plan: &mut SelectPlan,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
) -> Result<(), PgError> {
    crate::cte::resolve_plan(plan, cx, relations, &mut Default::default())?;
    let mut err = None;
    plan.visit_exprs(0, &mut |e, _| prepare_sublink(e, cx, relations, &mut err));
    err.map_or(Ok(()), Err)
}

/// [`prepare_plan`] for the expressions of a statement that is not a
/// SELECT (INSERT, UPDATE, DELETE: their WHERE, SET, VALUES, RETURNING).
pub(crate) fn prepare_exprs<'e>(
    exprs: impl Iterator<Item = &'e mut Expr>,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
) -> Result<(), PgError> {
    let mut err = None;
    let mut ctes = Default::default();
    for e in exprs {
        crate::cte::resolve_expr(e, cx, relations, &mut ctes)?;
        e.visit(0, &mut |e, _| prepare_sublink(e, cx, relations, &mut err));
    }
    err.map_or(Ok(()), Err)
}

fn prepare_sublink(
    e: &mut Expr,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
    err: &mut Option<PgError>,
) {
    if let Expr::SubLink(s) = e {
        if err.is_none() {
            if let Err(x) = materialize(&mut s.plan.source, cx, relations) {
                *err = Some(x);
            }
        }
        s.cache = Some(Default::default());
    }
}

pub(crate) fn materialize(
    src: &mut Source,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
) -> Result<(), PgError> {
    match src {
        Source::Relation(rel) => {
            let mut scan = ScanNode::new(open_scan(rel, cx, relations)?);
            let mut rows = Vec::new();
            while let Some(r) = scan.next(cx)? {
                rows.push(r);
            }
            *src = Source::Rows(std::rc::Rc::new(rows));
        }
        Source::Join(j) => {
            materialize(&mut j.left, cx, relations)?;
            materialize(&mut j.right, cx, relations)?;
        }
        Source::Subquery(p) | Source::LateralSubquery(p) => {
            materialize(&mut p.source, cx, relations)?
        }
        Source::SetOp(o) => {
            materialize(&mut o.left, cx, relations)?;
            materialize(&mut o.right, cx, relations)?;
        }
        Source::RecursiveUnion(r) => {
            materialize(&mut r.nonrec, cx, relations)?;
            materialize(&mut r.rec, cx, relations)?;
        }
        Source::Result
        | Source::Series { .. }
        | Source::Ordinality(_)
        | Source::Function { .. }
        | Source::SetFunc { .. }
        | Source::Rows(_)
        | Source::ModifyCte(_)
        | Source::Transition(_)
        | Source::Values(_)
        | Source::Cte(_)
        | Source::CteScan(_)
        | Source::WorkTable(_)
        | Source::WorkTableScan(_) => {}
    }
    Ok(())
}

/// Relations for a plan whose relations [`prepare_plan`] already read.
pub(crate) struct NoRelations;

impl Relations for NoRelations {
    fn open_scan(&self, rel: &Relation) -> Result<Box<dyn RowSource>, PgError> {
        Err(PgError::error(
            sqlstate::INTERNAL_ERROR,
            format!(
                "relation \"{}\" was not read before its subquery ran",
                rel.name
            ),
        ))
    }
}

/// The rows of a subquery, at most `max`, cut to its visible columns.
fn run_rows(plan: &SelectPlan, cx: &mut Ctx<'_>, max: usize) -> Result<Vec<Row>, PgError> {
    let mut node = build_plan(plan, cx, &NoRelations)?;
    let mut rows = Vec::new();
    while rows.len() < max {
        match node.next(cx)? {
            Some(mut r) => {
                r.truncate(plan.visible);
                rows.push(r);
            }
            None => break,
        }
    }
    node.close();
    Ok(rows)
}

/// Evaluate a subquery expression for the row `row` of its query: an
/// uncorrelated one runs once per execution (its rows are cached), a
/// correlated one runs again for every row with that row's values.
pub(crate) fn eval_sublink(s: &SubLink, row: &[Value], cx: &mut Ctx<'_>) -> Result<Value, PgError> {
    // EXISTS needs one row, a scalar subquery two (to report a second).
    let max = match s.kind {
        SubLinkKind::Exists => 1,
        SubLinkKind::Scalar => 2,
        SubLinkKind::In { .. } | SubLinkKind::Array(_) => usize::MAX,
    };
    if s.correlated {
        let plan = s.bind_outer(row);
        let rows = run_rows(&plan, cx, max)?;
        return sublink_result(s, &rows, row, cx);
    }
    let Some(cache) = &s.cache else {
        let rows = run_rows(&s.plan, cx, max)?;
        return sublink_result(s, &rows, row, cx);
    };
    if cache.borrow().is_none() {
        let rows = run_rows(&s.plan, cx, max)?;
        *cache.borrow_mut() = Some(rows);
    }
    let rows = cache.borrow();
    sublink_result(s, rows.as_deref().unwrap_or(&[]), row, cx)
}

fn sublink_result(
    s: &SubLink,
    rows: &[Row],
    row: &[Value],
    cx: &mut Ctx<'_>,
) -> Result<Value, PgError> {
    match &s.kind {
        SubLinkKind::Exists => Ok(Value::Bool(!rows.is_empty())),
        SubLinkKind::Array(elem) => Ok(Value::Array(Box::new(
            crate::types::array::Array::from_items(
                *elem,
                rows.iter()
                    .map(|r| r.first().cloned().unwrap_or(Value::Null))
                    .collect(),
            ),
        ))),
        SubLinkKind::Scalar => match rows {
            [] => Ok(Value::Null),
            [r] => Ok(r.first().cloned().unwrap_or(Value::Null)),
            _ => Err(PgError::error(
                sqlstate::CARDINALITY_VIOLATION,
                "more than one row returned by a subquery used as an expression",
            )),
        },
        // PostgreSQL's ANY/ALL semantics: ANY is true on a true
        // comparison, ALL false on a false one; otherwise a NULL (left
        // side or compared value) makes it NULL; an empty subquery gives
        // false for ANY and true for ALL. NOT IN is the negation of = ANY.
        SubLinkKind::In {
            lhs,
            rhs,
            op,
            all,
            negated,
        } => {
            let neg = |b: bool| Value::Bool(b != *negated);
            if rows.is_empty() {
                return Ok(neg(*all));
            }
            let l = lhs.eval(row, cx)?;
            if l.is_null() {
                return Ok(Value::Null);
            }
            let mut saw_null = false;
            for r in rows {
                let v = rhs.eval(r, cx)?;
                if v.is_null() {
                    saw_null = true;
                } else if op.test(compare(&l, &v)) != *all {
                    return Ok(neg(!*all));
                }
            }
            Ok(if saw_null { Value::Null } else { neg(*all) })
        }
    }
}

/// A hash of join key values consistent with their equality: values
/// `compare` calls equal hash alike (1.0 and 1.00, 0.0 and -0.0).
fn hash_key(vals: &[Value]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for v in vals {
        match v {
            Value::Int2(i) => (*i as i64).hash(&mut h),
            Value::Int4(i) => (*i as i64).hash(&mut h),
            Value::Int8(i) => i.hash(&mut h),
            Value::Float4(f) => float_bits(*f as f64).hash(&mut h),
            Value::Float8(f) => float_bits(*f).hash(&mut h),
            Value::Numeric(n) => {
                let t = n.to_text();
                let t = if t.contains('.') {
                    t.trim_end_matches('0').trim_end_matches('.').to_string()
                } else {
                    t
                };
                t.hash(&mut h)
            }
            Value::Text(s) | Value::Name(s) => s.hash(&mut h),
            Value::Jsonb(j) => tusk_types::json::hash_form(j).hash(&mut h),
            other => format!("{other:?}").hash(&mut h),
        }
    }
    h.finish()
}

fn float_bits(f: f64) -> u64 {
    if f == 0.0 {
        0
    } else if f.is_nan() {
        u64::MAX
    } else {
        f.to_bits()
    }
}

/// The inner rows a left row is tried against.
enum Candidates {
    /// Nested loop: every inner row, from this index on.
    All(usize),
    /// Hash join: the inner rows of the left row's hash bucket.
    Bucket(Vec<usize>, usize),
}

/// A join of two inputs, left (outer) row by left row.
///
/// The right (inner) input is read once, into memory, on the first call:
/// all of it is kept for the node's lifetime (a nested loop must rescan
/// it, and RIGHT/FULL joins must remember which inner rows matched).
/// With equi-join keys the inner rows are also indexed in a hash table
/// on those keys, so each left row is tried only against its bucket
/// (a hash join); without, against every inner row (a nested loop).
/// Memory: the inner rows plus one index per row; no work_mem limit and
/// no spilling to disk yet.
pub(crate) struct JoinNode {
    kind: JoinKind,
    left: Box<dyn Node>,
    right: Box<dyn Node>,
    left_width: usize,
    right_width: usize,
    hash_keys: Vec<(Expr, Expr)>,
    qual: Option<Expr>,
    /// The columns `qual` reads, when it reads nothing else of the row
    /// (no subquery): the qual is then checked on `scratch`, a row of
    /// NULLs but for those columns, so that pairs it rejects cost no
    /// copy of the two rows (a nested loop over wide rows spent half its
    /// time cloning and dropping them).
    qual_cols: Option<Vec<usize>>,
    scratch: Vec<Value>,
    loaded: bool,
    inner: Vec<Row>,
    inner_keys: Vec<Option<Vec<Value>>>,
    table: std::collections::HashMap<u64, Vec<usize>>,
    matched: Vec<bool>,
    cur: Option<(Row, Option<Vec<Value>>, Candidates, bool)>,
    /// RIGHT/FULL: position in the inner rows while emitting those no
    /// left row matched.
    tail: Option<usize>,
    done: bool,
}

impl JoinNode {
    fn load(&mut self, cx: &mut Ctx<'_>) -> Result<(), PgError> {
        while let Some(r) = self.right.next(cx)? {
            let keys = if self.hash_keys.is_empty() {
                None
            } else {
                let mut k = Vec::with_capacity(self.hash_keys.len());
                for (_, e) in &self.hash_keys {
                    k.push(e.eval(&r, cx)?);
                }
                // A NULL key equals nothing: never in the table.
                if k.iter().any(Value::is_null) {
                    None
                } else {
                    self.table
                        .entry(hash_key(&k))
                        .or_default()
                        .push(self.inner.len());
                    Some(k)
                }
            };
            self.inner_keys.push(keys);
            self.inner.push(r);
        }
        self.right.close();
        self.matched = vec![false; self.inner.len()];
        self.loaded = true;
        Ok(())
    }

    fn null_row(n: usize) -> Row {
        vec![Value::Null; n]
    }
}

impl Node for JoinNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        if self.done {
            return Ok(None);
        }
        if !self.loaded {
            self.load(cx)?;
            if self.inner.is_empty()
                && matches!(
                    self.kind,
                    JoinKind::Inner | JoinKind::Right | JoinKind::Semi
                )
            {
                self.close();
                return Ok(None);
            }
        }
        let mut tried = 0u32;
        loop {
            if let Some(pos) = &mut self.tail {
                while *pos < self.inner.len() {
                    let i = *pos;
                    *pos += 1;
                    if !self.matched[i] {
                        let mut row = Self::null_row(self.left_width);
                        row.extend(self.inner[i].iter().cloned());
                        return Ok(Some(row));
                    }
                }
                self.close();
                return Ok(None);
            }
            if self.cur.is_none() {
                cx.host.check_interrupts()?;
                let Some(l) = self.left.next(cx)? else {
                    self.left.close();
                    if matches!(self.kind, JoinKind::Right | JoinKind::Full) {
                        self.tail = Some(0);
                        continue;
                    }
                    self.close();
                    return Ok(None);
                };
                let (keys, cands) = if self.hash_keys.is_empty() {
                    (None, Candidates::All(0))
                } else {
                    let mut k = Vec::with_capacity(self.hash_keys.len());
                    for (e, _) in &self.hash_keys {
                        k.push(e.eval(&l, cx)?);
                    }
                    let bucket = if k.iter().any(Value::is_null) {
                        Vec::new()
                    } else {
                        self.table.get(&hash_key(&k)).cloned().unwrap_or_default()
                    };
                    (Some(k), Candidates::Bucket(bucket, 0))
                };
                self.cur = Some((l, keys, cands, false));
            }
            let (l, keys, cands, any) = self.cur.as_mut().expect("current left row");
            let next = match cands {
                Candidates::All(p) => {
                    let i = *p;
                    *p += 1;
                    (i < self.inner.len()).then_some(i)
                }
                Candidates::Bucket(b, p) => {
                    let i = b.get(*p).copied();
                    *p += 1;
                    i
                }
            };
            let Some(i) = next else {
                let (l, _, _, any) = self.cur.take().expect("current left row");
                if !any && matches!(self.kind, JoinKind::Left | JoinKind::Full | JoinKind::Anti) {
                    let mut row = l;
                    row.extend(Self::null_row(self.right_width));
                    return Ok(Some(row));
                }
                continue;
            };
            tried += 1;
            if tried.is_multiple_of(1024) {
                cx.host.check_interrupts()?;
            }
            if let (Some(k), Some(ik)) = (keys.as_ref(), self.inner_keys[i].as_ref()) {
                if k.iter()
                    .zip(ik)
                    .any(|(a, b)| compare(a, b) != Ordering::Equal)
                {
                    continue;
                }
            }
            let width = self.left_width;
            let pair = |c: usize| -> Value {
                if c < width {
                    l.get(c).cloned().unwrap_or(Value::Null)
                } else {
                    self.inner[i].get(c - width).cloned().unwrap_or(Value::Null)
                }
            };
            if let (Some(q), Some(cols)) = (&self.qual, &self.qual_cols) {
                self.scratch
                    .resize(self.left_width + self.right_width, Value::Null);
                for &c in cols {
                    if let Some(v) = self.scratch.get_mut(c) {
                        *v = pair(c);
                    }
                }
                let pass = q.eval(&self.scratch, cx).map(|v| is_true(&v));
                for &c in cols {
                    if let Some(v) = self.scratch.get_mut(c) {
                        *v = Value::Null;
                    }
                }
                if !pass? {
                    continue;
                }
            }
            let mut row = Vec::with_capacity(self.left_width + self.right_width);
            row.extend(l.iter().cloned());
            row.extend(self.inner[i].iter().cloned());
            if let (Some(q), None) = (&self.qual, &self.qual_cols) {
                if !is_true(&q.eval(&row, cx)?) {
                    continue;
                }
            }
            *any = true;
            // A semi join wants one match, an anti join none: the rest
            // of the candidates are not tried.
            if crate::semijoin::is_semi(self.kind) {
                self.cur = None;
                if self.kind == JoinKind::Anti {
                    continue;
                }
                row.truncate(row.len() - self.inner[i].len());
                row.resize(row.len() + self.right_width, Value::Null);
                return Ok(Some(row));
            }
            self.matched[i] = true;
            return Ok(Some(row));
        }
    }
    fn close(&mut self) {
        self.done = true;
        self.left.close();
        self.right.close();
        self.inner = Vec::new();
        self.inner_keys = Vec::new();
        self.table = Default::default();
    }
}

/// A FROM subquery's rows cut to its visible columns (its hidden sort
/// columns are not the FROM item's).
struct SubqueryNode {
    input: Box<dyn Node>,
    visible: usize,
}

impl Node for SubqueryNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        Ok(self.input.next(cx)?.map(|mut r| {
            r.truncate(self.visible);
            r
        }))
    }
    fn close(&mut self) {
        self.input.close();
    }
}

/// UNION / INTERSECT / EXCEPT [ALL]. UNION streams both inputs (left
/// first), remembering the rows seen unless ALL; INTERSECT and EXCEPT
/// read the right input first into a count per distinct row, then stream
/// the left. Memory: the distinct rows seen (UNION) or the right input's
/// distinct rows with counts; no work_mem limit yet.
struct SetOpNode {
    kind: SetOpKind,
    all: bool,
    left: Box<dyn Node>,
    right: Box<dyn Node>,
    on_right: bool,
    /// Rows already emitted (distinct variants).
    seen: std::collections::BTreeSet<GroupKey>,
    /// INTERSECT/EXCEPT: how often each row occurs on the right.
    counts: Option<std::collections::BTreeMap<GroupKey, usize>>,
}

impl Node for SetOpNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        if self.kind == SetOpKind::Union {
            loop {
                let r = if self.on_right {
                    self.right.next(cx)?
                } else {
                    match self.left.next(cx)? {
                        Some(r) => Some(r),
                        None => {
                            self.left.close();
                            self.on_right = true;
                            continue;
                        }
                    }
                };
                let Some(r) = r else {
                    self.close();
                    return Ok(None);
                };
                if self.all || self.seen.insert(GroupKey(r.clone())) {
                    return Ok(Some(r));
                }
            }
        }
        if self.counts.is_none() {
            let mut counts = std::collections::BTreeMap::new();
            while let Some(r) = self.right.next(cx)? {
                *counts.entry(GroupKey(r)).or_insert(0usize) += 1;
            }
            self.right.close();
            self.counts = Some(counts);
        }
        let counts = self.counts.as_mut().expect("read above");
        while let Some(r) = self.left.next(cx)? {
            let key = GroupKey(r);
            let n = counts.get_mut(&key);
            let keep = match (self.kind, n) {
                (SetOpKind::Intersect, Some(n)) if *n > 0 => {
                    if self.all {
                        *n -= 1;
                        true
                    } else {
                        self.seen.insert(GroupKey(key.0.clone()))
                    }
                }
                (SetOpKind::Intersect, _) => false,
                (_, Some(n)) if *n > 0 && self.all => {
                    *n -= 1;
                    false
                }
                (_, Some(n)) if *n > 0 => false,
                _ => self.all || self.seen.insert(GroupKey(key.0.clone())),
            };
            if keep {
                return Ok(Some(key.0));
            }
        }
        self.close();
        Ok(None)
    }
    fn close(&mut self) {
        self.left.close();
        self.right.close();
        self.on_right = true;
        self.seen = Default::default();
        self.counts = Some(Default::default());
    }
}

/// VALUES: one row per list, its expressions evaluated when pulled.
struct ValuesNode {
    rows: Vec<Vec<Expr>>,
    pos: usize,
}

impl Node for ValuesNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        let Some(exprs) = self.rows.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        cx.host.check_interrupts()?;
        let mut row = Vec::with_capacity(exprs.len());
        for e in exprs {
            row.push(e.eval(&[], cx)?);
        }
        Ok(Some(row))
    }
    fn close(&mut self) {
        self.pos = self.rows.len();
    }
}

/// SELECT DISTINCT: each projected row once, in input order; keeps the
/// distinct rows seen (no work_mem limit yet).
struct DistinctNode {
    input: Box<dyn Node>,
    seen: std::collections::BTreeSet<GroupKey>,
}

impl Node for DistinctNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        while let Some(r) = self.input.next(cx)? {
            if self.seen.insert(GroupKey(r.clone())) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
    fn close(&mut self) {
        self.input.close();
        self.seen = Default::default();
    }
}

/// Rows read earlier, handed out again (shared, not copied, between runs).
struct RowsNode {
    rows: std::rc::Rc<Vec<Row>>,
    pos: usize,
}

impl Node for RowsNode {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        let r = self.rows.get(self.pos).cloned();
        if r.is_some() {
            self.pos += 1;
            if self.pos.is_multiple_of(1024) {
                cx.host.check_interrupts()?;
            }
        }
        Ok(r)
    }
    fn close(&mut self) {
        self.pos = self.rows.len();
    }
}

/// Below this many rows a subquery's prefetched relation is scanned
/// whole; above, an equality qual looks its rows up in a hash table.
const ROWS_HASH_MIN: usize = 256;

thread_local! {
    /// Hash tables over prefetched relations (`Source::Rows`), per rows
    /// and column: built on the first correlated run that can use one and
    /// kept while the rows live (the Weak tells; a live Weak also keeps
    /// the address from being reused).
    #[allow(clippy::type_complexity)]
    static ROWS_HASH: std::cell::RefCell<
        std::collections::HashMap<
            (usize, usize),
            (std::rc::Weak<Vec<Row>>, std::rc::Rc<std::collections::HashMap<u64, Vec<u32>>>),
        >,
    > = Default::default();
}

/// The scan of a subquery's prefetched rows under its WHERE clause. A
/// correlated subquery runs once per outer row over the same rows, and
/// its outer references are constants by then (`SubLink::bind_outer`):
/// with a `col = value` conjunct only that value's hash bucket is read,
/// as PostgreSQL's index scan or Memoize would, instead of every row each
/// time. The WHERE clause is still applied to every row returned.
fn rows_node(
    rows: &std::rc::Rc<Vec<Row>>,
    filter: Option<&Expr>,
    cx: &mut Ctx<'_>,
) -> Result<Box<dyn Node>, PgError> {
    let whole = || {
        Box::new(RowsNode {
            rows: rows.clone(),
            pos: 0,
        }) as Box<dyn Node>
    };
    if rows.len() < ROWS_HASH_MIN {
        return Ok(whole());
    }
    let quals = crate::index::scan_quals(filter, cx)?;
    // Only types whose hash_key equality is their `=` (not text: bpchar's
    // `=` ignores trailing blanks; not interval: '1 day' = '24 hours').
    let Some(q) = quals.iter().find(|q| {
        q.op == crate::index::QualOp::Eq
            && matches!(
                q.value,
                Value::Int2(_)
                    | Value::Int4(_)
                    | Value::Int8(_)
                    | Value::Oid(_)
                    | Value::Name(_)
                    | Value::Date(_)
                    | Value::Timestamp(_)
                    | Value::TimestampTz(_)
                    | Value::Bool(_)
            )
    }) else {
        return Ok(whole());
    };
    let key = (std::rc::Rc::as_ptr(rows) as usize, q.col);
    let table = ROWS_HASH.with(|h| {
        let mut h = h.borrow_mut();
        if let Some((w, t)) = h.get(&key) {
            if w.upgrade().is_some_and(|r| std::rc::Rc::ptr_eq(&r, rows)) {
                return t.clone();
            }
        }
        h.retain(|_, (w, _)| w.strong_count() > 0);
        let mut t: std::collections::HashMap<u64, Vec<u32>> = Default::default();
        for (i, r) in rows.iter().enumerate() {
            if let Some(v) = r.get(q.col).filter(|v| !v.is_null()) {
                t.entry(hash_key(std::slice::from_ref(v)))
                    .or_default()
                    .push(i as u32);
            }
        }
        let t = std::rc::Rc::new(t);
        h.insert(key, (std::rc::Rc::downgrade(rows), t.clone()));
        t
    });
    let picks = table
        .get(&hash_key(std::slice::from_ref(&q.value)))
        .cloned()
        .unwrap_or_default();
    Ok(Box::new(RowsPickNode {
        rows: rows.clone(),
        picks,
        pos: 0,
    }))
}

/// Some of a prefetched relation's rows, by position (see [`rows_node`]).
struct RowsPickNode {
    rows: std::rc::Rc<Vec<Row>>,
    picks: Vec<u32>,
    pos: usize,
}

impl Node for RowsPickNode {
    fn next(&mut self, _cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        let Some(&i) = self.picks.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        Ok(self.rows.get(i as usize).cloned())
    }
    fn close(&mut self) {
        self.pos = self.picks.len();
    }
}

/// A scan of `rel`: the host's relations, except pg_settings, which the
/// session itself answers (its settings are not the relations' to see).
pub(crate) fn open_scan(
    rel: &crate::catalog::Relation,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
) -> Result<Box<dyn RowSource>, PgError> {
    use crate::catalog::{RelationSource, RowsScan, SystemView};
    if rel.relkind == b'f' {
        let oid = rel.table()?.oid;
        return Err(crate::foreigntable::no_handler(cx.host, oid));
    }
    if !rel.children.is_empty() {
        return crate::inherit::open_scan(rel, cx, relations);
    }
    match rel.source {
        RelationSource::SystemView(SystemView::Settings) => {
            return Ok(Box::new(RowsScan::new(cx.host.pg_settings())));
        }
        RelationSource::SystemView(SystemView::PreparedStatements) => {
            return Ok(Box::new(RowsScan::new(cx.host.prepared_statement_rows())));
        }
        RelationSource::SystemView(SystemView::Cursors) => {
            let rows = cx.host.cursor_store().map(|c| c.rows()).unwrap_or_default();
            return Ok(Box::new(RowsScan::new(rows)));
        }
        _ => {}
    }
    relations.open_scan(rel)
}

pub(crate) fn build_source(
    src: &Source,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
) -> Result<Box<dyn Node>, PgError> {
    Ok(match src {
        Source::Result => Box::new(ResultNode { done: false }),
        Source::Relation(rel) => Box::new(ScanNode::new(open_scan(rel, cx, relations)?)),
        Source::Series {
            start,
            stop,
            step,
            int8,
        } => {
            let start = int_of(start.eval(&[], cx)?);
            let stop = int_of(stop.eval(&[], cx)?);
            let step = match step {
                Some(s) => int_of(s.eval(&[], cx)?),
                None => Some(1),
            };
            Box::new(ScanNode::new(Box::new(GenerateSeries::new(
                start, stop, step, *int8,
            )?)))
        }
        Source::SetFunc { op, args } => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(a.eval(&[], cx)?);
            }
            let rows = crate::arrays::srf_rows(*op, vals, cx.host)?;
            Box::new(ScanNode::new(Box::new(crate::catalog::RowsScan::new(rows))))
        }
        Source::Ordinality(inner) => Box::new(OrdinalityNode {
            input: build_source(inner, cx, relations)?,
            n: 0,
        }),
        Source::Function { def, args } => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(a.eval(&[], cx)?);
            }
            let rows = crate::routine::call_set(cx.host, def, vals)?;
            Box::new(ScanNode::new(Box::new(crate::catalog::RowsScan::new(rows))))
        }
        Source::Join(j) if matches!(j.right, Source::LateralSubquery(_)) => {
            let mut plan = match &j.right {
                Source::LateralSubquery(p) => (**p).clone(),
                _ => return Err(PgError::error(sqlstate::INTERNAL_ERROR, "LATERAL join")),
            };
            // The subquery runs once per left row, after this call: read
            // its relations now.
            materialize(&mut plan.source, cx, relations)?;
            Box::new(crate::lateral::LateralNode {
                kind: j.kind,
                left: build_source(&j.left, cx, relations)?,
                plan,
                right_width: j.right_width,
                hash_keys: j.hash_keys.clone(),
                qual: j.qual.clone(),
                cur: None,
            })
        }
        Source::LateralSubquery(_) => {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "LATERAL subquery outside a join",
            ))
        }
        Source::Join(j) if crate::semijoin::is_semi(j.kind) => {
            let left = build_source(&j.left, cx, relations)?;
            semi_join_node(j, left, cx, relations)?
        }
        Source::Join(j) => {
            let left = build_source(&j.left, cx, relations)?;
            let right = build_source(&j.right, cx, relations)?;
            let l = crate::hashside::est_rows(&j.left, &[], relations);
            let r = crate::hashside::est_rows(&j.right, &[], relations);
            let build_left = crate::hashside::build_left(j, &j.left, &j.right, (l, r), relations);
            sided_join_node(j, left, right, build_left)
        }
        Source::Subquery(p) => subquery_node(build_plan(p, cx, relations)?, p.visible),
        Source::SetOp(o) => Box::new(SetOpNode {
            kind: o.kind,
            all: o.all,
            left: build_source(&o.left, cx, relations)?,
            right: build_source(&o.right, cx, relations)?,
            on_right: false,
            seen: Default::default(),
            counts: None,
        }),
        Source::Values(rows) => Box::new(ValuesNode {
            rows: rows.clone(),
            pos: 0,
        }),
        Source::Rows(rows) => Box::new(RowsNode {
            rows: rows.clone(),
            pos: 0,
        }),
        // Run when the statement started; run now when reached another
        // way (EXPLAIN ANALYZE, a cursor).
        Source::ModifyCte(m) => {
            let done = m.rows.borrow().clone();
            let rows = match done {
                Some(rows) => rows,
                None => m.run(cx.params, &mut *cx.host, relations)?,
            };
            Box::new(RowsNode { rows, pos: 0 })
        }
        Source::Transition(name) => Box::new(RowsNode {
            rows: crate::trigger::transition_rows(name)?,
            pos: 0,
        }),
        Source::CteScan(h) => crate::cte::scan_node(h),
        Source::RecursiveUnion(r) => crate::cte::recursive_node(r, cx, relations)?,
        Source::WorkTableScan(w) => crate::cte::work_node(w),
        Source::Cte(_) | Source::WorkTable(_) => {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "WITH query reference was not resolved before execution",
            ))
        }
    })
}

/// The conjuncts of a WHERE clause (also for the planner's rewrites,
/// subplan.rs).
pub(crate) fn conjuncts(e: Option<Expr>) -> Vec<Expr> {
    match e {
        None => Vec::new(),
        Some(Expr::And(v)) => v.into_iter().flat_map(|c| conjuncts(Some(c))).collect(),
        Some(c) => vec![c],
    }
}

/// The AND of `v`; None when empty.
pub(crate) fn and_all(mut v: Vec<Expr>) -> Option<Expr> {
    match v.len() {
        0 => None,
        1 => v.pop(),
        _ => Some(Expr::And(v)),
    }
}

/// Which side of a join row (`lw` left columns) `e` reads: Some(true)
/// only the left, Some(false) only the right, None both, neither, or a
/// subquery.
fn join_side(e: &Expr, lw: usize) -> Option<bool> {
    let (cols, sub) = e.columns_used();
    if sub || cols.is_empty() {
        None
    } else if cols.iter().all(|&c| c < lw) {
        Some(true)
    } else if cols.iter().all(|&c| c >= lw) {
        Some(false)
    } else {
        None
    }
}

/// Splits join conjuncts over a row of `lw` left columns into hash keys
/// (`left expr = right expr`, each over its own side's row) and the rest.
/// The binder's JOIN ... ON and the executor's pushed-down WHERE use it.
pub(crate) fn split_join_conds(conds: Vec<Expr>, lw: usize) -> (Vec<(Expr, Expr)>, Vec<Expr>) {
    let mut keys = Vec::new();
    let mut rest = Vec::new();
    for c in conds {
        if let Expr::Cmp(crate::expr::CmpOp::Eq, a, b) = &c {
            let pair = match (join_side(a, lw), join_side(b, lw)) {
                (Some(true), Some(false)) => Some(((**a).clone(), (**b).clone())),
                (Some(false), Some(true)) => Some(((**b).clone(), (**a).clone())),
                _ => None,
            };
            if let Some((le, mut re)) = pair {
                re.map_columns(&|i| i - lw);
                keys.push((le, re));
                continue;
            }
        }
        rest.push(c);
    }
    (keys, rest)
}

/// Builds `src` with the WHERE conjuncts `conds` (over `src`'s row, each
/// using columns and no subquery) placed where PostgreSQL's planner puts
/// them: through inner joins, a conjunct over one side's columns goes to
/// that side, an equality between the two sides becomes a hash key, and
/// the rest joins the join's condition; at any other source they filter
/// its rows (a table's through an index when one fits). An inner join is
/// associative with its WHERE, so this changes no result — only how many
/// pairs a comma-joined FROM list (psql's catalog queries) forms.
fn build_pushed(
    src: &Source,
    conds: Vec<Expr>,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
) -> Result<Box<dyn Node>, PgError> {
    let Source::Join(j) = src else {
        let pred = and_all(conds);
        let node: Box<dyn Node> = match (src, &pred) {
            (Source::Relation(rel), Some(_)) => Box::new(ScanNode::new(
                crate::index::open_filtered(relations, rel, pred.as_ref(), cx)?,
            )),
            _ => build_source(src, cx, relations)?,
        };
        return Ok(match pred {
            Some(pred) => Box::new(FilterNode { input: node, pred }),
            None => node,
        });
    };
    // A one-sided join: conditions on its preserved side's columns filter
    // that input (crates/sql/src/semijoin.rs).
    let conds = match crate::semijoin::preserved_conds(j, conds) {
        Ok((to_left, down, stay)) => {
            let node = if crate::semijoin::is_semi(j.kind) {
                let left = build_pushed(&j.left, down, cx, relations)?;
                semi_join_node(j, left, cx, relations)?
            } else {
                let (ld, rd) = if to_left {
                    (down, Vec::new())
                } else {
                    (Vec::new(), down)
                };
                let lrows = crate::hashside::est_rows(&j.left, &ld, relations);
                let rrows = crate::hashside::est_rows(&j.right, &rd, relations);
                let left = build_pushed(&j.left, ld, cx, relations)?;
                let right = build_pushed(&j.right, rd, cx, relations)?;
                let build_left =
                    crate::hashside::build_left(j, &j.left, &j.right, (lrows, rrows), relations);
                sided_join_node(j, left, right, build_left)
            };
            return Ok(match and_all(stay) {
                Some(pred) => Box::new(FilterNode { input: node, pred }),
                None => node,
            });
        }
        Err(conds) => conds,
    };
    // A LATERAL right side runs per left row inside its own node
    // (build_source's lateral arm): the conditions stay above that join.
    if j.kind != JoinKind::Inner || matches!(j.right, Source::LateralSubquery(_)) {
        let node = build_source(src, cx, relations)?;
        return Ok(match and_all(conds) {
            Some(pred) => Box::new(FilterNode { input: node, pred }),
            None => node,
        });
    }
    let lw = j.left_width;
    let (keys, conds) = split_join_conds(conds, lw);
    let (mut lconds, mut rconds, mut rest) = (Vec::new(), Vec::new(), Vec::new());
    for c in conds {
        match join_side(&c, lw) {
            Some(true) => lconds.push(c),
            Some(false) => {
                let mut c = c;
                c.map_columns(&|i| i - lw);
                rconds.push(c);
            }
            None => rest.push(c),
        }
    }
    let lrows = crate::hashside::est_rows(&j.left, &lconds, relations);
    let rrows = crate::hashside::est_rows(&j.right, &rconds, relations);
    let left = build_pushed(&j.left, lconds, cx, relations)?;
    let right = build_pushed(&j.right, rconds, cx, relations)?;
    let mut jp = crate::plan::JoinPlan {
        kind: j.kind,
        left: Source::Result,
        right: Source::Result,
        left_width: j.left_width,
        right_width: j.right_width,
        hash_keys: j.hash_keys.clone(),
        qual: None,
    };
    jp.hash_keys.extend(keys);
    rest.extend(j.qual.clone());
    jp.qual = and_all(rest);
    let build_left = crate::hashside::build_left(&jp, &j.left, &j.right, (lrows, rrows), relations);
    Ok(sided_join_node(&jp, left, right, build_left))
}

/// A semi or anti join over its left input: the conjuncts of its
/// condition that read only the right row filter the right input.
fn semi_join_node(
    j: &crate::plan::JoinPlan,
    left: Box<dyn Node>,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
) -> Result<Box<dyn Node>, PgError> {
    let (inner, qual) = crate::semijoin::inner_conds(j);
    let right = build_pushed(&j.right, inner, cx, relations)?;
    let jp = crate::plan::JoinPlan {
        kind: j.kind,
        left: Source::Result,
        right: Source::Result,
        left_width: j.left_width,
        right_width: j.right_width,
        hash_keys: j.hash_keys.clone(),
        qual,
    };
    Ok(join_node(&jp, left, right))
}

/// The join node of `j`, its hash table built on the left input when
/// `build_left` (crates/sql/src/hashside.rs), else on the right.
pub(crate) fn sided_join_node(
    j: &crate::plan::JoinPlan,
    left: Box<dyn Node>,
    right: Box<dyn Node>,
    build_left: bool,
) -> Box<dyn Node> {
    if !build_left {
        return join_node(j, left, right);
    }
    Box::new(crate::hashside::SwapNode {
        input: join_node(&crate::hashside::swapped(j), right, left),
        right_width: j.right_width,
    })
}

/// The join node of `j` over its two inputs (also for EXPLAIN ANALYZE's
/// counted inputs, crate::explain).
pub(crate) fn join_node(
    j: &crate::plan::JoinPlan,
    left: Box<dyn Node>,
    right: Box<dyn Node>,
) -> Box<dyn Node> {
    Box::new(JoinNode {
        kind: j.kind,
        left,
        right,
        left_width: j.left_width,
        right_width: j.right_width,
        hash_keys: j.hash_keys.clone(),
        qual: j.qual.clone(),
        qual_cols: j.qual.as_ref().and_then(|q| {
            let (cols, sub) = q.columns_used();
            (!sub).then_some(cols)
        }),
        scratch: Vec::new(),
        loaded: false,
        inner: Vec::new(),
        inner_keys: Vec::new(),
        table: Default::default(),
        matched: Vec::new(),
        cur: None,
        tail: None,
        done: false,
    })
}

/// A FROM subquery's node over its plan's node.
pub(crate) fn subquery_node(input: Box<dyn Node>, visible: usize) -> Box<dyn Node> {
    Box::new(SubqueryNode { input, visible })
}

/// SELECT DISTINCT's node over its input.
pub(crate) fn distinct_node(input: Box<dyn Node>) -> Box<dyn Node> {
    Box::new(DistinctNode {
        input,
        seen: Default::default(),
    })
}

/// Build the node tree of a plan already prepared by [`prepare_plan`].
pub(crate) fn build_plan(
    plan: &SelectPlan,
    cx: &mut Ctx<'_>,
    relations: &dyn Relations,
) -> Result<Box<dyn Node>, PgError> {
    let limit = count_arg(&plan.limit, "LIMIT", cx)?;
    let offset = count_arg(&plan.offset, "OFFSET", cx)?.unwrap_or(0);
    // ORDER BY one column an index leads with: the index gives the order
    // and the sort goes (crate::index).
    let ordered = crate::index::open_ordered(plan, relations, cx)?;
    let presorted = ordered.is_some();
    // WHERE over inner joins goes down to where its columns are (below).
    // Not under row locks: their re-check of a newer version evaluates
    // the plan's WHERE as a whole (rowlock.rs).
    let pushed = matches!(plan.source, Source::Join(_))
        && plan.filter.is_some()
        && plan.row_locks.is_none()
        && ordered.is_none();
    let mut top_filter = plan.filter.clone();
    let mut node: Box<dyn Node> = match (&plan.source, ordered) {
        (_, Some(scan)) => Box::new(ScanNode::new(scan)),
        (Source::Relation(rel), None) if plan.filter.is_some() => Box::new(ScanNode::new(
            crate::index::open_filtered(relations, rel, plan.filter.as_ref(), cx)?,
        )),
        (Source::Rows(rows), None) if plan.filter.is_some() => {
            rows_node(rows, plan.filter.as_ref(), cx)?
        }
        (src, None) if pushed => {
            let (down, stay): (Vec<Expr>, Vec<Expr>) =
                conjuncts(plan.filter.clone()).into_iter().partition(|c| {
                    let (cols, sub) = c.columns_used();
                    !sub && !cols.is_empty()
                });
            top_filter = and_all(stay);
            build_pushed(src, down, cx, relations)?
        }
        (src, None) => build_source(src, cx, relations)?,
    };
    if let Some(f) = top_filter {
        node = Box::new(FilterNode {
            input: node,
            pred: f,
        });
    }
    if !plan.group_exprs.is_empty() {
        node = Box::new(crate::agg::ExtendNode {
            input: node,
            exprs: plan.group_exprs.clone(),
        });
    }
    if let Some(aggs) = &plan.aggs {
        node = if let Some(sets) = &plan.grouping_sets {
            Box::new(crate::agg::GroupingSetsNode {
                input: node,
                aggs: aggs.clone(),
                keys: plan.group_by.clone(),
                sets: sets.clone(),
                out: None,
            })
        } else if plan.group_by.is_empty() {
            Box::new(AggNode {
                input: node,
                aggs: aggs.clone(),
                done: false,
            })
        } else {
            Box::new(GroupAggNode {
                input: node,
                aggs: aggs.clone(),
                keys: plan.group_by.clone(),
                out: None,
            })
        };
        if let Some(h) = &plan.having {
            node = Box::new(FilterNode {
                input: node,
                pred: h.clone(),
            });
        }
    }
    if !plan.windows.is_empty() {
        node = Box::new(crate::window::WindowNode {
            input: node,
            calls: plan.windows.clone(),
            out: None,
        });
    }
    if !plan.srfs.is_empty() {
        node = Box::new(crate::srf::ProjectSetNode {
            input: node,
            srfs: plan.srfs.clone(),
            pending: VecDeque::new(),
        });
    }
    node = Box::new(ProjectNode {
        input: node,
        targets: plan.targets.clone(),
    });
    if plan.distinct {
        node = distinct_node(node);
    }
    if let Some(keys) = &plan.distinct_on {
        // Sort, then keep the first row of each key (the sort leads with
        // the DISTINCT ON columns).
        node = Box::new(SortNode {
            input: node,
            keys: plan.sort.clone(),
            bound: None,
            stable: false,
            sorted: None,
        });
        node = Box::new(crate::distinct::DistinctOnNode {
            input: node,
            keys: keys.clone(),
            last: None,
        });
    } else if !plan.sort.is_empty() && !presorted {
        // A LIMIT right above (no row locks between) bounds the sort.
        let bound = match (limit, &plan.row_locks) {
            (Some(l), None) if !plan.with_ties => Some(l.saturating_add(offset)),
            _ => None,
        };
        node = Box::new(SortNode {
            input: node,
            keys: plan.sort.clone(),
            bound,
            stable: !plan.srfs.is_empty(),
            sorted: None,
        });
    }
    if let Some(l) = &plan.row_locks {
        node = Box::new(crate::rowlock::LockRowsNode {
            input: node,
            locks: (**l).clone(),
            filter: plan.filter.clone(),
            targets: plan.targets[..l.base].to_vec(),
            started: false,
        });
    }
    if limit.is_some() || offset > 0 {
        node = Box::new(LimitNode {
            input: node,
            offset,
            limit,
            emitted: 0,
            ties: plan.with_ties.then(|| plan.sort.clone()),
            last: None,
        });
    }
    Ok(node)
}

enum Run {
    /// A SELECT's node tree; rows are cut to the visible columns.
    Tree { root: Box<dyn Node>, visible: usize },
    /// A utility statement's rows, computed when it ran (SHOW), and its tag.
    Done { rows: VecDeque<Row>, tag: String },
}

/// A statement being executed: what a portal holds between Execute
/// messages. Owned by the backend that started it; it must not outlive
/// the transaction it started in (a heap scan's snapshot and pins belong
/// to it), which the backend's portal rules ensure.
pub struct Execution {
    run: Run,
    params: Vec<Value>,
    produced: u64,
    finished: bool,
    /// The result column types when some are reg*: their values are
    /// given names on the way out (reg.rs).
    reg_types: Option<Vec<crate::types::Oid>>,
}

impl Execution {
    pub(crate) fn tree(root: Box<dyn Node>, visible: usize, params: Vec<Value>) -> Execution {
        Execution {
            run: Run::Tree { root, visible },
            params,
            produced: 0,
            finished: false,
            reg_types: None,
        }
    }

    /// Show the reg*-typed columns of `types` by name.
    pub(crate) fn name_reg_columns(&mut self, types: Vec<crate::types::Oid>) {
        self.reg_types = Some(types);
    }

    pub(crate) fn done(rows: Vec<Row>, tag: String) -> Execution {
        Execution {
            run: Run::Done {
                rows: rows.into(),
                tag,
            },
            params: Vec::new(),
            produced: 0,
            finished: false,
            reg_types: None,
        }
    }

    /// The next result row, or `None` when there are no more (then the
    /// source has been released). Called by the backend that started the
    /// execution, with its session.
    pub fn next(&mut self, host: &mut dyn Host) -> Result<Option<Row>, PgError> {
        if self.finished {
            return Ok(None);
        }
        let r = match &mut self.run {
            Run::Tree { root, visible } => {
                let mut cx = Ctx {
                    host,
                    params: &self.params,
                };
                match root.next(&mut cx) {
                    Ok(Some(mut r)) => {
                        r.truncate(*visible);
                        if let Some(t) = &self.reg_types {
                            if let Err(e) = crate::reg::name_output(&mut r, t, host) {
                                self.close();
                                return Err(e);
                            }
                        }
                        Some(r)
                    }
                    Ok(None) => None,
                    Err(e) => {
                        // An error ends the statement; release now rather
                        // than when the portal is dropped.
                        self.close();
                        return Err(e);
                    }
                }
            }
            Run::Done { rows, .. } => rows.pop_front(),
        };
        match r {
            Some(_) => self.produced += 1,
            None => self.close(),
        }
        Ok(r)
    }

    /// Whether every row has been handed out (or the execution closed).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Rows handed out so far.
    pub fn rows_produced(&self) -> u64 {
        self.produced
    }

    /// The CommandComplete tag once all rows are out: "SELECT n" for a
    /// query (n rows in all), the utility's own tag otherwise.
    pub fn tag(&self) -> String {
        match &self.run {
            Run::Tree { .. } => format!("SELECT {}", self.produced),
            Run::Done { tag, .. } => tag.clone(),
        }
    }

    /// Whether this is a query whose tag counts rows ("SELECT n").
    pub fn counts_rows(&self) -> bool {
        matches!(self.run, Run::Tree { .. })
    }

    /// Stop: release the sources now. Idempotent; also done on drop.
    pub fn close(&mut self) {
        self.finished = true;
        match &mut self.run {
            Run::Tree { root, .. } => root.close(),
            Run::Done { rows, .. } => rows.clear(),
        }
    }
}

impl Drop for Execution {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for Execution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Execution")
            .field("produced", &self.produced)
            .field("finished", &self.finished)
            .finish()
    }
}
