//! EXPLAIN [ANALYZE]: a statement's plan as PostgreSQL 15 prints it (text, JSON, YAML, XML).
//!
//! Why this shape:
//! - **Read off the plan the executor runs.** tusk's planner is a fixed
//!   rule (`plan.rs` + `exec::build_plan`), so the plan tree is derived from
//!   the bound [`SelectPlan`] by walking it the way `build_plan` does, and
//!   naming each step by what the executor really does (a join with equi
//!   keys hashes its right input: `Hash Join` over a `Hash`; one without
//!   is a `Nested Loop`; GROUP BY keeps groups in memory: `HashAggregate`).
//!   The index a scan would use is asked from the host
//!   ([`Relations::index_choice`]), which picks it by the same rule it
//!   uses when the scan opens.
//! - **ANALYZE runs the same walk with nodes.** The walk builds the real
//!   executor nodes too and wraps each in a counting node ([`Instr`]), so
//!   the rows and loops printed are the rows that node handed up. Parts
//!   the walk does not enter (CTEs, set operations, LATERAL) are built by
//!   `exec::build_source` and counted as one node.
//! - **Costs are PostgreSQL's formulas on PostgreSQL's defaults** (seq page
//!   cost 1, cpu_tuple_cost 0.01, cpu_operator_cost 0.0025, a table never
//!   analyzed of its current size or 10 pages, default selectivities), so
//!   trivial plans print PostgreSQL's very numbers and the rest are of
//!   the right magnitude.
//!
//! Everything here runs in the backend that runs the statement.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use tusk_common::{sqlstate, PgError};

use crate::catalog::{Relation, RelationSource};
use crate::exec::{Node, Relations, Row};
use crate::expr::{CmpOp, Ctx, Expr, SubLinkKind};
use crate::host::Host;
use crate::plan::{AggCall, JoinKind, SelectPlan, SetOpKind, Source};
use crate::types::{self, Oid};
use crate::value::Value;

mod aggplan;

/// EXPLAIN's output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Text,
    Json,
    Yaml,
    Xml,
}

/// EXPLAIN's options, as written or defaulted.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub analyze: bool,
    pub verbose: bool,
    pub costs: bool,
    pub buffers: bool,
    pub timing: Option<bool>,
    pub summary: Option<bool>,
    pub format: Format,
}

/// A bound EXPLAIN: its options and the statement explained.
#[derive(Debug, Clone)]
pub(crate) struct ExplainPlan {
    pub opts: Options,
    pub inner: Box<crate::Prepared>,
    /// How long binding the inner statement took (Planning Time).
    pub planning_ms: f64,
    /// EXPLAIN EXECUTE name(args): the arguments, coerced to the prepared
    /// statement's parameter types; `inner` is that statement.
    pub execute_args: Option<Vec<Expr>>,
}

fn syntax(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

/// A word, punctuation or quoted string of the option list.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Punct(char),
}

/// Tokens of `s` up to the end of the option list: (token, byte offset
/// after it). Only what an option list can hold is recognised.
fn next_tok(s: &str, mut i: usize) -> Option<(Tok, usize, usize)> {
    let b = s.as_bytes();
    loop {
        while i < b.len() && (b[i] as char).is_ascii_whitespace() {
            i += 1;
        }
        if s[i..].starts_with("--") {
            i = s[i..].find('\n').map_or(s.len(), |n| i + n);
            continue;
        }
        break;
    }
    if i >= b.len() {
        return None;
    }
    let start = i;
    let c = b[i] as char;
    if c == '\'' || c == '"' {
        let mut j = i + 1;
        let mut out = String::new();
        while j < b.len() {
            if b[j] as char == c {
                if j + 1 < b.len() && b[j + 1] as char == c {
                    out.push(c);
                    j += 2;
                    continue;
                }
                let t = if c == '"' {
                    Tok::Word(out)
                } else {
                    Tok::Str(out)
                };
                return Some((t, start, j + 1));
            }
            let ch = s[j..].chars().next()?;
            out.push(ch);
            j += ch.len_utf8();
        }
        return None;
    }
    if c.is_alphanumeric() || c == '_' || c == '-' || c == '+' || c == '.' || !c.is_ascii() {
        let mut j = i;
        while j < b.len() {
            let ch = s[j..].chars().next()?;
            if ch.is_alphanumeric() || ch == '_' || ch == '-' || ch == '+' || ch == '.' {
                j += ch.len_utf8();
            } else {
                break;
            }
        }
        return Some((Tok::Word(s[i..j].to_ascii_lowercase()), start, j));
    }
    Some((Tok::Punct(c), start, i + 1))
}

fn bool_opt(name: &str, v: Option<&Tok>) -> Result<bool, PgError> {
    let Some(v) = v else {
        return Ok(true);
    };
    let w = match v {
        Tok::Word(w) | Tok::Str(w) => w.to_ascii_lowercase(),
        Tok::Punct(_) => String::new(),
    };
    match w.as_str() {
        "true" | "on" | "1" | "yes" | "t" | "y" => Ok(true),
        "false" | "off" | "0" | "no" | "f" | "n" => Ok(false),
        _ => Err(syntax(format!("{name} requires a Boolean value"))),
    }
}

/// Reads `EXPLAIN [ANALYZE] [VERBOSE] ` or `EXPLAIN (option [value], ...)`
/// from the statement text: the options and the byte offset where the
/// explained statement starts.
pub(crate) fn parse_options(sql: &str) -> Result<(Options, usize), PgError> {
    parse_options_at(sql).map_err(|(e, _)| e)
}

/// A syntax error at byte `at` of the statement.
type Located = (PgError, Option<usize>);

fn parse_options_at(sql: &str) -> Result<(Options, usize), Located> {
    let mut o = Options {
        analyze: false,
        verbose: false,
        costs: true,
        buffers: false,
        timing: None,
        summary: None,
        format: Format::Text,
    };
    let Some((Tok::Word(w), _, mut pos)) = next_tok(sql, 0) else {
        return Err((syntax("syntax error"), None));
    };
    debug_assert_eq!(w, "explain");
    match next_tok(sql, pos) {
        Some((Tok::Punct('('), _, p)) => {
            pos = p;
            loop {
                let (name, name_at, at) = match next_tok(sql, pos) {
                    Some((Tok::Word(w), s, p)) => (w, s, p),
                    Some((t, s, _)) => {
                        return Err((
                            syntax(format!(
                                "syntax error at or near \"{}\"",
                                tok_text(&t, sql, s)
                            )),
                            Some(s),
                        ))
                    }
                    None => return Err((syntax("syntax error at end of input"), Some(sql.len()))),
                };
                pos = at;
                // An optional value, then `,` or `)`.
                let mut value = None;
                match next_tok(sql, pos) {
                    Some((Tok::Punct(',' | ')'), _, _)) => {}
                    Some((t @ (Tok::Word(_) | Tok::Str(_)), _, p)) => {
                        value = Some(t);
                        pos = p;
                    }
                    Some((t, s, _)) => {
                        return Err((
                            syntax(format!(
                                "syntax error at or near \"{}\"",
                                tok_text(&t, sql, s)
                            )),
                            Some(s),
                        ))
                    }
                    None => return Err((syntax("syntax error at end of input"), Some(sql.len()))),
                }
                match name.as_str() {
                    "analyze" | "analyse" => {
                        o.analyze = bool_opt(&name, value.as_ref()).map_err(|e| (e, None))?
                    }
                    "verbose" => {
                        o.verbose = bool_opt(&name, value.as_ref()).map_err(|e| (e, None))?
                    }
                    "costs" => o.costs = bool_opt(&name, value.as_ref()).map_err(|e| (e, None))?,
                    "buffers" => {
                        o.buffers = bool_opt(&name, value.as_ref()).map_err(|e| (e, None))?
                    }
                    "settings" | "wal" => {
                        bool_opt(&name, value.as_ref()).map_err(|e| (e, None))?;
                    }
                    "timing" => {
                        o.timing = Some(bool_opt(&name, value.as_ref()).map_err(|e| (e, None))?)
                    }
                    "summary" => {
                        o.summary = Some(bool_opt(&name, value.as_ref()).map_err(|e| (e, None))?)
                    }
                    "format" => {
                        let v = match &value {
                            Some(Tok::Word(w) | Tok::Str(w)) => w.to_ascii_lowercase(),
                            _ => String::new(),
                        };
                        o.format = match v.as_str() {
                            "text" => Format::Text,
                            "json" => Format::Json,
                            "yaml" => Format::Yaml,
                            "xml" => Format::Xml,
                            _ => {
                                return Err((
                                    PgError::error(
                                        sqlstate::INVALID_PARAMETER_VALUE,
                                        format!(
                                        "unrecognized value for EXPLAIN option \"format\": \"{v}\""
                                    ),
                                    ),
                                    Some(name_at),
                                ))
                            }
                        };
                    }
                    _ => {
                        return Err((
                            syntax(format!("unrecognized EXPLAIN option \"{name}\"")),
                            Some(name_at),
                        ));
                    }
                }
                match next_tok(sql, pos) {
                    Some((Tok::Punct(','), _, p)) => pos = p,
                    Some((Tok::Punct(')'), _, p)) => {
                        pos = p;
                        break;
                    }
                    Some((t, s, _)) => {
                        return Err((
                            syntax(format!(
                                "syntax error at or near \"{}\"",
                                tok_text(&t, sql, s)
                            )),
                            Some(s),
                        ))
                    }
                    None => return Err((syntax("syntax error at end of input"), Some(sql.len()))),
                }
            }
        }
        _ => {
            for word in ["analyze", "verbose"] {
                if let Some((Tok::Word(w), _, p)) = next_tok(sql, pos) {
                    if w == word || (word == "analyze" && w == "analyse") {
                        if word == "analyze" {
                            o.analyze = true;
                        } else {
                            o.verbose = true;
                        }
                        pos = p;
                    }
                }
            }
        }
    }
    if o.timing == Some(true) && !o.analyze {
        return Err((
            PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                "EXPLAIN option TIMING requires ANALYZE",
            ),
            None,
        ));
    }
    Ok((o, pos))
}

fn tok_text(t: &Tok, sql: &str, start: usize) -> String {
    match t {
        Tok::Punct(c) => c.to_string(),
        _ => sql[start..]
            .split(|c: char| c.is_whitespace() || c == ',' || c == ')')
            .next()
            .unwrap_or("")
            .to_string(),
    }
}

/// The syntax check of `EXPLAIN ...` when the query is parsed, so that
/// its errors carry PostgreSQL's cursor position: the options, then the
/// explained statement, which must be one PostgreSQL's grammar lets
/// EXPLAIN take. The position is a 0-based character index in `text`.
pub(crate) fn check(text: &str) -> Result<(), (PgError, Option<usize>)> {
    let chars = |b: usize| text[..b.min(text.len())].chars().count();
    let (_, at) = parse_options_at(text).map_err(|(e, p)| (e, p.map(chars)))?;
    let rest = &text[at..];
    let base = chars(at);
    let stmts =
        crate::parse_with_position(rest).map_err(|(e, p)| (e, p.map(|p| base + p as usize - 1)))?;
    let explainable = match stmts.as_slice() {
        [stmt] => match &stmt.parsed {
            crate::parse::Parsed::Ast(s) => matches!(
                s.as_ref(),
                sqlparser::ast::Statement::Query(_)
                    | sqlparser::ast::Statement::Insert(_)
                    | sqlparser::ast::Statement::Update(_)
                    | sqlparser::ast::Statement::Delete(_)
                    | sqlparser::ast::Statement::Merge(_)
            ),
            crate::parse::Parsed::Pre(_) => false,
        },
        [] => {
            return Err((
                syntax("syntax error at end of input"),
                Some(chars(text.len())),
            ))
        }
        _ => false,
    };
    if explainable {
        return Ok(());
    }
    let first = rest.split_whitespace().next().unwrap_or("");
    if first.eq_ignore_ascii_case("execute") {
        // Bound (and its errors raised) when the statement runs, as
        // EXECUTE itself.
        return Ok(());
    }
    let (msg, pos) = not_explainable(rest);
    if msg == "syntax error at or near \"as\"" || msg == "syntax error at or near \"AS\"" {
        return Err((
            PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "EXPLAIN CREATE TABLE AS is not supported",
            ),
            None,
        ));
    }
    Err((syntax(msg), pos.map(|p| base + rest[..p].chars().count())))
}

/// Where PostgreSQL's grammar stops reading a statement EXPLAIN cannot
/// take: at its first word, except for CREATE TABLE, which EXPLAIN takes
/// in the form CREATE TABLE name [(column, ...)] AS query, so the error
/// is at the first token that does not fit that form.
fn not_explainable(rest: &str) -> (String, Option<usize>) {
    let mut toks = Vec::new();
    let mut pos = 0;
    while let Some((t, s, e)) = next_tok(rest, pos) {
        toks.push((t, s));
        pos = e;
    }
    let word = |i: usize| match toks.get(i) {
        Some((Tok::Word(w), _)) => Some(w.as_str()),
        _ => None,
    };
    let at = |i: usize| -> (String, Option<usize>) {
        match toks.get(i) {
            Some((t, s)) => (
                format!("syntax error at or near \"{}\"", tok_text(t, rest, *s)),
                Some(*s),
            ),
            None => ("syntax error at end of input".into(), Some(rest.len())),
        }
    };
    if word(0) != Some("create") {
        return at(0);
    }
    let mut i = 1;
    if matches!(word(i), Some("temp" | "temporary" | "unlogged")) {
        i += 1;
    }
    if word(i) != Some("table") {
        return at(i.min(1));
    }
    i += 1;
    if word(i) == Some("if") {
        i += 3;
    }
    // The name, possibly qualified.
    if word(i).is_none() {
        return at(i);
    }
    i += 1;
    while matches!(toks.get(i), Some((Tok::Punct('.'), _))) {
        i += 2;
    }
    if matches!(toks.get(i), Some((Tok::Punct('('), _))) {
        i += 1;
        loop {
            if word(i).is_none() {
                return at(i);
            }
            i += 1;
            match toks.get(i) {
                Some((Tok::Punct(','), _)) => i += 1,
                Some((Tok::Punct(')'), _)) => {
                    i += 1;
                    break;
                }
                _ => return at(i),
            }
        }
    }
    at(i)
}

/// Binds `EXPLAIN ... stmt`: the options, then the statement, which must
/// be one PostgreSQL can explain (a query, INSERT, UPDATE, DELETE); any
/// other is PostgreSQL's syntax error at its first word. `base`: where
/// `sql` starts (0-based, in characters) in the query string the client
/// sent, if it came from one: the statement's errors then carry their
/// position in that string.
pub(crate) fn bind(
    sql: &str,
    declared: &[Oid],
    host: &dyn Host,
    base: Option<usize>,
) -> Result<ExplainPlan, PgError> {
    let (opts, at) = parse_options(sql)?;
    let rest = &sql[at..];
    if is_execute(rest) {
        return bind_execute(opts, rest, host).map_err(|e| match base {
            Some(base) => crate::shift_position(e, base + sql[..at].chars().count()),
            None => e,
        });
    }
    let stmts = match base {
        Some(_) => crate::parse_with_position(rest).map_err(|(e, _)| e)?,
        None => crate::parse(rest)?,
    };
    let [stmt] = stmts.as_slice() else {
        return Err(syntax("syntax error at end of input"));
    };
    let explainable = match &stmt.parsed {
        crate::parse::Parsed::Ast(s) => matches!(
            s.as_ref(),
            sqlparser::ast::Statement::Query(_)
                | sqlparser::ast::Statement::Insert(_)
                | sqlparser::ast::Statement::Update(_)
                | sqlparser::ast::Statement::Delete(_)
                | sqlparser::ast::Statement::Merge(_)
        ),
        crate::parse::Parsed::Pre(_) => false,
    };
    if !explainable {
        let word = rest.split_whitespace().next().unwrap_or("");
        return Err(syntax(format!("syntax error at or near \"{word}\"")));
    }
    let t0 = Instant::now();
    let inner = crate::prepare(stmt, declared, host).map_err(|e| match base {
        Some(base) => crate::shift_position(e, base + sql[..at].chars().count()),
        None => e,
    })?;
    Ok(ExplainPlan {
        opts,
        inner: Box::new(inner),
        planning_ms: t0.elapsed().as_secs_f64() * 1000.0,
        execute_args: None,
    })
}

/// Is the explained statement EXECUTE name [(args)]?
fn is_execute(rest: &str) -> bool {
    let word: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    word.eq_ignore_ascii_case("execute")
}

/// EXPLAIN EXECUTE: the prepared statement and its arguments, bound as
/// EXECUTE binds them (26000 for an unknown name, 42601 for a wrong
/// number of arguments, 42804 for one of the wrong type).
fn bind_execute(opts: Options, rest: &str, host: &dyn Host) -> Result<ExplainPlan, PgError> {
    let t0 = Instant::now();
    let (stmt, ..) = crate::prepare::bind_execute(rest.trim_end(), host)?;
    let crate::prepare::PrepareStmt::Execute { stmt, args } = stmt else {
        return Err(syntax("syntax error at or near \"EXECUTE\""));
    };
    Ok(ExplainPlan {
        opts,
        inner: Box::new((*stmt).clone()),
        planning_ms: t0.elapsed().as_secs_f64() * 1000.0,
        execute_args: Some(args),
    })
}

/// The plan of `e.inner` EXPLAIN EXECUTE shows, the parameter values it
/// runs with (the arguments' values), and whether the plan is a custom
/// one (unless plan_cache_mode forces a generic plan): then a query's
/// plan has them in place of `$n`, as PostgreSQL's custom plan shows its
/// constants, and the deparser prints them for the `$n` left (an INSERT,
/// UPDATE or DELETE).
fn execute_plan(
    e: &ExplainPlan,
    args: &[Expr],
    host: &mut dyn Host,
) -> Result<(crate::Prepared, Vec<Value>, bool), PgError> {
    let mut values = Vec::with_capacity(args.len());
    {
        let mut cx = Ctx { host, params: &[] };
        for a in args {
            values.push(a.eval(&[], &mut cx)?);
        }
    }
    let mut inner = (*e.inner).clone();
    let generic = host
        .show("plan_cache_mode")
        .is_ok_and(|m| m == "force_generic_plan");
    if !generic {
        if let crate::Plan::Select(p) = &mut inner.plan {
            p.visit_exprs(0, &mut |x, _| {
                // EXECUTE coerced the values to the parameters' types.
                if let Expr::Param(i, _) = x {
                    *x = Expr::Const(values.get(*i).cloned().unwrap_or(Value::Null));
                }
            });
        }
    }
    Ok((inner, values, !generic))
}

/// The result column: "QUERY PLAN", text.
pub(crate) fn columns() -> Vec<crate::Column> {
    vec![crate::Column {
        name: "QUERY PLAN".into(),
        type_oid: types::TEXT,
        type_len: -1,
        type_mod: -1,
    }]
}

// ---------------------------------------------------------------------
// The plan tree.

/// What one executed node counted (ANALYZE).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    rows: u64,
    loops: u64,
    /// Rows read by the node below a filter (for "Rows Removed by Filter").
    input: Option<Rc<RefCell<Stats>>>,
    first: Option<f64>,
    total: f64,
    started: bool,
    /// Buffer hits and reads while this node (and those below it) ran.
    hit: u64,
    read: u64,
}

/// Reads this process's buffer hit and read counters.
type UsageFn = fn() -> (u64, u64);

thread_local! {
    /// The buffer counter reader while an EXPLAIN (ANALYZE, BUFFERS) builds
    /// its nodes (set and cleared by [`execute`]).
    static USAGE: std::cell::Cell<Option<UsageFn>> = const { std::cell::Cell::new(None) };
}

/// Counts the rows a node hands up and the time spent in it.
struct Instr {
    input: Box<dyn Node>,
    stats: Rc<RefCell<Stats>>,
    timing: bool,
    done: bool,
    /// The buffer counters to read around each call (BUFFERS).
    usage: Option<fn() -> (u64, u64)>,
}

impl Node for Instr {
    fn next(&mut self, cx: &mut Ctx<'_>) -> Result<Option<Row>, PgError> {
        let t0 = self.timing.then(Instant::now);
        let before = self.usage.map(|f| f());
        let r = self.input.next(cx)?;
        let mut s = self.stats.borrow_mut();
        if let (Some(f), Some((h0, r0))) = (self.usage, before) {
            let (h1, r1) = f();
            s.hit += h1.saturating_sub(h0);
            s.read += r1.saturating_sub(r0);
        }
        if !s.started {
            s.started = true;
            s.loops = 1;
        }
        if let Some(t0) = t0 {
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            s.total += ms;
            if s.first.is_none() {
                s.first = Some(s.total);
            }
        }
        match &r {
            Some(_) => s.rows += 1,
            None => self.done = true,
        }
        Ok(r)
    }
    fn close(&mut self) {
        self.input.close();
    }
}

/// A property value of a node.
#[derive(Debug, Clone)]
enum Prop {
    Text(String),
    List(Vec<String>),
}

/// One node of the printed plan.
#[derive(Debug, Default)]
struct PNode {
    /// "Seq Scan", "Hash Join", "Aggregate".
    node_type: &'static str,
    /// Text heading when it differs from what the fields make.
    strategy: Option<&'static str>,
    join_type: Option<&'static str>,
    relation: Option<(String, String, String)>,
    /// The FROM alias of a scanned relation.
    alias: Option<String>,
    /// "SubPlan 1" / "InitPlan 1 (returns $0)": the label printed above
    /// a subquery's plan.
    subplan_name: Option<String>,
    /// Function Scan, Values Scan, CTE Scan, Subquery Scan: the name shown.
    scan_name: Option<String>,
    function_name: Option<String>,
    index: Option<String>,
    backward: bool,
    parent: Option<&'static str>,
    props: Vec<(&'static str, Prop)>,
    startup: f64,
    total: f64,
    rows: f64,
    width: u32,
    stats: Option<Rc<RefCell<Stats>>>,
    output: Vec<String>,
    children: Vec<PNode>,
}

const CPU_TUPLE: f64 = 0.01;
const CPU_OP: f64 = 0.0025;
const SEQ_PAGE: f64 = 1.0;
const RANDOM_PAGE: f64 = 4.0;

fn clamp_rows(r: f64) -> f64 {
    if r <= 1.0 {
        1.0
    } else {
        r.round()
    }
}

/// Average width of a type, as PostgreSQL's get_typavgwidth (32 for a
/// variable-length type without a length limit).
pub(crate) fn type_width(ty: types::Ty) -> u32 {
    match ty.oid {
        types::BOOL | types::CHAR => 1,
        types::INT2 => 2,
        types::INT4 | types::FLOAT4 | types::DATE | types::OID => 4,
        types::INT8 | types::FLOAT8 | types::TIMESTAMP | types::TIMESTAMPTZ => 8,
        types::NAME => 64,
        types::VARCHAR | types::BPCHAR if ty.typmod > 4 => (ty.typmod - 4) as u32 + 1,
        _ => 32,
    }
}

// ---------------------------------------------------------------------
// Expressions as PostgreSQL's ruleutils deparses them.

/// The columns of a row as names: (qualifier, name, type).
#[derive(Debug, Clone, Default)]
struct Names {
    cols: Vec<(Option<String>, String, types::Ty)>,
}

/// Marks a column name that is already deparsed text (an aggregate's
/// result read by HAVING or ORDER BY).
const RAW: &str = "\u{1}";

/// Deparsing state: whether column names are qualified (more than one
/// relation in the query, or VERBOSE), and the subplans numbered so far.
struct Dp {
    qualify: bool,
    subplans: usize,
    /// Exec parameters numbered so far (an InitPlan's result is `$n`).
    params: usize,
    /// Subqueries met while deparsing, not yet placed in the tree: their
    /// label, whether an InitPlan, and their plan.
    subs: Vec<(String, bool, SelectPlan)>,
    /// The rows of the enclosing queries, innermost last (what an
    /// `Expr::Outer` of a correlated subquery reads).
    outer: Vec<Names>,
    /// EXPLAIN EXECUTE of a custom plan: the values `$n` print as.
    custom: Vec<Value>,
}

fn literal(v: &Value) -> String {
    let q = |s: &str, ty: &str| format!("'{}'::{ty}", s.replace('\'', "''"));
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int4(i) if *i >= 0 => i.to_string(),
        Value::Int4(i) => q(&i.to_string(), "integer"),
        Value::Int2(i) => q(&i.to_string(), "smallint"),
        Value::Int8(i) if *i >= 0 && *i <= i32::MAX as i64 => i.to_string(),
        Value::Int8(i) => q(&i.to_string(), "bigint"),
        Value::Numeric(n) => {
            let s = n.to_string();
            if s.starts_with('-') || s == "NaN" {
                q(&s, "numeric")
            } else {
                s
            }
        }
        Value::Text(s) => q(s, "text"),
        Value::Name(s) => q(s, "name"),
        Value::Float8(_) => q(&text_of(v), "double precision"),
        Value::Float4(_) => q(&text_of(v), "real"),
        Value::Date(_) => q(&text_of(v), "date"),
        Value::Timestamp(_) => q(&text_of(v), "timestamp without time zone"),
        Value::TimestampTz(_) => q(&text_of(v), "timestamp with time zone"),
        Value::Oid(_) => q(&text_of(v), "oid"),
        Value::Bytea(_) => q(&text_of(v), "bytea"),
        Value::Char(_) => q(&text_of(v), "\"char\""),
        Value::Uuid(_) => q(&text_of(v), "uuid"),
        Value::Money(_) => q(&text_of(v), "money"),
        Value::Bits(_) => q(&text_of(v), "bit"),
        Value::Geo(g) => q(&text_of(v), types::typname(g.oid())),
        Value::Range(r) => q(&text_of(v), tusk_types::types::typname(r.ty)),
        Value::Multirange(m) => q(&text_of(v), tusk_types::types::typname(m.ty)),
        other => q(&text_of(other), "unknown"),
    }
}

fn text_of(v: &Value) -> String {
    crate::encode_text(v).map_or(String::new(), |b| String::from_utf8_lossy(&b).into_owned())
}

fn func_name(f: crate::func::Func) -> &'static str {
    crate::func::all_signatures()
        .find(|s| s.func == f)
        .map_or("?", |s| s.name)
}

impl Dp {
    fn col(&self, names: &Names, i: usize) -> String {
        match names.cols.get(i) {
            Some((None, n, _)) if n.starts_with(RAW) => n[RAW.len()..].to_string(),
            Some((Some(q), n, _)) if self.qualify => format!("{}.{}", quote(q), quote(n)),
            Some((_, n, _)) => quote(n),
            None => format!("col{i}"),
        }
    }

    /// An expression as ruleutils prints it (`top`: no outer parentheses
    /// around a function-like form are needed either way).
    fn expr(&mut self, e: &Expr, names: &Names) -> String {
        match e {
            Expr::Const(v) => literal(v),
            Expr::Param(n, _) => match self.custom.get(*n) {
                Some(v) => literal(v),
                None => format!("${}", n + 1),
            },
            Expr::Column(i) => self.col(names, *i),
            Expr::Outer { depth, col } => {
                let Some(names) = self
                    .outer
                    .len()
                    .checked_sub(*depth)
                    .and_then(|i| self.outer.get(i))
                else {
                    return format!("outer.col{col}");
                };
                let q = self.qualify;
                self.qualify = true;
                let s = self.col(&names.clone(), *col);
                self.qualify = q;
                s
            }
            Expr::Cast { arg, to, .. } => match &**arg {
                Expr::Const(v) if !v.is_null() => {
                    format!(
                        "'{}'::{}",
                        text_of(v).replace('\'', "''"),
                        types::sql_name(to.oid)
                    )
                }
                Expr::Const(_) => format!("NULL::{}", types::sql_name(to.oid)),
                a => format!("({})::{}", self.expr(a, names), types::sql_name(to.oid)),
            },
            Expr::Neg(a) => format!("(- {})", self.expr(a, names)),
            Expr::Arith(op, l, r) => {
                format!(
                    "({} {} {})",
                    self.expr(l, names),
                    op.symbol(),
                    self.expr(r, names)
                )
            }
            Expr::Cmp(op, l, r) => format!(
                "({} {} {})",
                self.expr(l, names),
                op.symbol(),
                self.expr(r, names)
            ),
            Expr::Concat(l, r) => {
                format!("({} || {})", self.expr(l, names), self.expr(r, names))
            }
            Expr::And(v) => self.join(v, " AND ", names),
            Expr::Or(v) => self.join(v, " OR ", names),
            Expr::Not(a) => format!("(NOT {})", self.expr(a, names)),
            Expr::IsNull(a, neg) => format!(
                "({} IS {}NULL)",
                self.expr(a, names),
                if *neg { "NOT " } else { "" }
            ),
            Expr::IsBool {
                arg,
                value,
                negated,
            } => format!(
                "({} IS {}{})",
                self.expr(arg, names),
                if *negated { "NOT " } else { "" },
                match value {
                    Some(true) => "TRUE",
                    Some(false) => "FALSE",
                    None => "UNKNOWN",
                }
            ),
            Expr::IsDistinct(l, r, not) => format!(
                "({} IS {}DISTINCT FROM {})",
                self.expr(l, names),
                if *not { "NOT " } else { "" },
                self.expr(r, names)
            ),
            Expr::Case { whens, else_ } => {
                let mut s = String::from("CASE");
                for (w, t) in whens {
                    s += &format!(" WHEN {} THEN {}", self.expr(w, names), self.expr(t, names));
                }
                s += &format!(" ELSE {} END", self.expr(else_, names));
                s
            }
            Expr::Coalesce(v) => format!("COALESCE({})", self.list(v, names)),
            Expr::NullIf(a, b) => {
                format!("NULLIF({}, {})", self.expr(a, names), self.expr(b, names))
            }
            Expr::MinMax(v, greatest) => format!(
                "{}({})",
                if *greatest { "GREATEST" } else { "LEAST" },
                self.list(v, names)
            ),
            Expr::InList(a, items, negated) => {
                let lhs = self.expr(a, names);
                if items
                    .iter()
                    .all(|i| matches!(i, Expr::Const(v) if !v.is_null()))
                {
                    let (vals, ty) = array_literal(items);
                    format!(
                        "({lhs} {} ('{vals}'::{ty}[]))",
                        if *negated { "<> ALL" } else { "= ANY" }
                    )
                } else {
                    let parts: Vec<String> = items
                        .iter()
                        .map(|i| {
                            format!(
                                "({lhs} {} {})",
                                if *negated { "<>" } else { "=" },
                                self.expr(i, names)
                            )
                        })
                        .collect();
                    format!("({})", parts.join(if *negated { " AND " } else { " OR " }))
                }
            }
            Expr::Like {
                arg,
                pattern,
                case_insensitive,
                negated,
                ..
            } => {
                let op = match (case_insensitive, negated) {
                    (false, false) => "~~",
                    (false, true) => "!~~",
                    (true, false) => "~~*",
                    (true, true) => "!~~*",
                };
                format!(
                    "({} {op} {})",
                    self.expr(arg, names),
                    self.expr(pattern, names)
                )
            }
            Expr::Func(crate::func::Func::Scalar(crate::scalars::Sc::Geo(op)), args)
                if crate::geometry::operator_symbol(*op, args.len()).is_some() =>
            {
                let sym = crate::geometry::operator_symbol(*op, args.len()).unwrap_or("?");
                match args.as_slice() {
                    [a] => format!("({sym} {})", self.expr(a, names)),
                    [a, b] => format!("({} {sym} {})", self.expr(a, names), self.expr(b, names)),
                    _ => String::new(),
                }
            }
            Expr::Func(crate::func::Func::Ts(t), args) => {
                let n = crate::tsearch::name(*t);
                match &args[..] {
                    [l, rr] if !n.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                        format!("({} {n} {})", self.expr(l, names), self.expr(rr, names))
                    }
                    _ => format!("{n}({})", self.list(args, names)),
                }
            }
            Expr::Func(crate::func::Func::Range(r), args) => {
                match (crate::ranges::symbol(*r), &args[..]) {
                    (Some(op), [l, rr]) => {
                        format!("({} {op} {})", self.expr(l, names), self.expr(rr, names))
                    }
                    _ => format!("{}({})", crate::ranges::name(*r), self.list(args, names)),
                }
            }
            // CURRENT_DATE and its kin are SQLValueFunctions to ruleutils.
            Expr::Func(f, args)
                if args.is_empty() && crate::func::is_niladic_keyword(func_name(*f)) =>
            {
                func_name(*f).to_uppercase()
            }
            // Row constructors, RowCompareExpr and field selection as
            // ruleutils prints them.
            Expr::Func(crate::func::Func::Row, args) => {
                format!("ROW({})", self.list(args, names))
            }
            Expr::Func(crate::func::Func::RowCmp(op), args) => {
                let (l, r) = args.split_at(args.len() / 2);
                format!(
                    "(ROW({}) {} ROW({}))",
                    self.list(l, names),
                    op.symbol(),
                    self.list(r, names)
                )
            }
            Expr::Func(crate::func::Func::Field(i), args) if args.len() == 1 => {
                format!("({}).f{}", self.expr(&args[0], names), i + 1)
            }
            Expr::Func(f, args) => format!("{}({})", func_name(*f), self.list(args, names)),
            Expr::UserFunc(def, args) => format!("{}({})", def.name, self.list(args, names)),
            Expr::Array(op, args) => self.array_expr(op, args, names),
            Expr::DateTime(op, args) => format!("{op:?}({})", self.list(args, names)),
            Expr::Json(op, args) if op.is_operator() && args.len() == 2 => format!(
                "({} {} {})",
                self.expr(&args[0], names),
                op.name(),
                self.expr(&args[1], names)
            ),
            Expr::Json(op, args) => format!("{}({})", op.name(), self.list(args, names)),
            Expr::JsonRecord(call, args) => format!("{}({})", call.name, self.list(args, names)),
            Expr::Domain(arg, c) => format!("({})::{}", self.expr(arg, names), c.name()),
            Expr::SubLink(s) => {
                self.subplans += 1;
                let n = self.subplans;
                match &s.kind {
                    // An uncorrelated scalar or EXISTS subquery runs once
                    // (its result is cached): PostgreSQL's InitPlan.
                    SubLinkKind::Exists | SubLinkKind::Scalar if !s.correlated => {
                        let k = self.params;
                        self.params += 1;
                        self.subs.push((
                            format!("InitPlan {n} (returns ${k})"),
                            true,
                            s.plan.clone(),
                        ));
                        format!("${k}")
                    }
                    SubLinkKind::Exists | SubLinkKind::Scalar | SubLinkKind::Array(_) => {
                        self.subs
                            .push((format!("SubPlan {n}"), false, s.plan.clone()));
                        format!("(SubPlan {n})")
                    }
                    SubLinkKind::In { negated, .. } => {
                        self.subs
                            .push((format!("SubPlan {n}"), false, s.plan.clone()));
                        let sub = if s.correlated {
                            format!("(SubPlan {n})")
                        } else {
                            format!("(hashed SubPlan {n})")
                        };
                        if *negated {
                            format!("(NOT {sub})")
                        } else {
                            sub
                        }
                    }
                }
            }
        }
    }

    /// An array expression (arrays.rs) as ruleutils prints the common
    /// forms; the rest as a call of the function PostgreSQL would name.
    fn array_expr(&mut self, op: &crate::arrays::ArrOp, args: &[Expr], names: &Names) -> String {
        use crate::arrays::ArrOp;
        let name = match op {
            ArrOp::Construct { .. } => return format!("ARRAY[{}]", self.list(args, names)),
            ArrOp::Subscript(_) => {
                let Some((a, rest)) = args.split_first() else {
                    return String::new();
                };
                let subs: Vec<String> = rest.iter().map(|e| self.expr(e, names)).collect();
                return format!("{}[{}]", self.expr(a, names), subs.join(":"));
            }
            ArrOp::Assign { .. } | ArrOp::JsonbAssign { .. } => {
                let Some((a, rest)) = args.split_first() else {
                    return String::new();
                };
                let subs: Vec<String> = rest.iter().map(|e| self.expr(e, names)).collect();
                return format!("{}[{}]", self.expr(a, names), subs.join(" := "));
            }
            ArrOp::Cat | ArrOp::Append | ArrOp::Prepend if args.len() == 2 => {
                return format!(
                    "({} || {})",
                    self.expr(&args[0], names),
                    self.expr(&args[1], names)
                );
            }
            ArrOp::Contains | ArrOp::ContainedBy | ArrOp::Overlap if args.len() == 2 => {
                let o = match op {
                    ArrOp::Contains => "@>",
                    ArrOp::ContainedBy => "<@",
                    _ => "&&",
                };
                return format!(
                    "({} {o} {})",
                    self.expr(&args[0], names),
                    self.expr(&args[1], names)
                );
            }
            ArrOp::Pattern(crate::pattern::PatOp::Match { ci, negated }) if args.len() == 2 => {
                let o = match (ci, negated) {
                    (false, false) => "~",
                    (true, false) => "~*",
                    (false, true) => "!~",
                    (true, true) => "!~*",
                };
                return format!(
                    "({} {o} {})",
                    self.expr(&args[0], names),
                    self.expr(&args[1], names)
                );
            }
            ArrOp::Length => "array_length",
            ArrOp::Lower => "array_lower",
            ArrOp::Upper => "array_upper",
            ArrOp::Ndims => "array_ndims",
            ArrOp::Dims => "array_dims",
            ArrOp::Cardinality => "cardinality",
            ArrOp::Position | ArrOp::PositionFrom => "array_position",
            ArrOp::Positions => "array_positions",
            ArrOp::Remove => "array_remove",
            ArrOp::Replace => "array_replace",
            ArrOp::ToString | ArrOp::ToStringNull => "array_to_string",
            ArrOp::StringToArray | ArrOp::StringToArrayNull => "string_to_array",
            ArrOp::Cat => "array_cat",
            ArrOp::Larger(true) => "array_larger",
            ArrOp::Larger(false) => "array_smaller",
            ArrOp::Append => "array_append",
            ArrOp::Prepend => "array_prepend",
            ArrOp::AnyAll { all, .. } => {
                if *all {
                    "ALL"
                } else {
                    "ANY"
                }
            }
            ArrOp::Contains | ArrOp::ContainedBy | ArrOp::Overlap => "arraycontains",
            ArrOp::Pattern(p) => p.function_name(),
        };
        format!("{name}({})", self.list(args, names))
    }

    fn list(&mut self, v: &[Expr], names: &Names) -> String {
        v.iter()
            .map(|e| self.expr(e, names))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn join(&mut self, v: &[Expr], sep: &str, names: &Names) -> String {
        format!(
            "({})",
            v.iter()
                .map(|e| self.expr(e, names))
                .collect::<Vec<_>>()
                .join(sep)
        )
    }

    fn agg(&mut self, a: &AggCall, names: &Names) -> String {
        match a {
            AggCall::CountStar => "count(*)".into(),
            AggCall::Count(e) => format!("count({})", self.expr(e, names)),
            AggCall::Sum(e, _) => format!("sum({})", self.expr(e, names)),
            AggCall::Avg(e, _) => format!("avg({})", self.expr(e, names)),
            AggCall::Min(e) => format!("min({})", self.expr(e, names)),
            AggCall::Max(e) => format!("max({})", self.expr(e, names)),
            AggCall::Json { b, object, arg } => format!(
                "{}{}({})",
                if *b { "jsonb" } else { "json" },
                if *object { "_object_agg" } else { "_agg" },
                self.expr(arg, names)
            ),
            AggCall::Ext(f) => {
                let args: Vec<String> = f.args.iter().map(|e| self.expr(e, names)).collect();
                format!("{}({})", f.name, args.join(", "))
            }
            AggCall::Modified(m) => {
                let args: Vec<String> = m.args.iter().map(|e| self.expr(e, names)).collect();
                format!(
                    "{}({}{})",
                    m.inner.name(),
                    if m.distinct { "DISTINCT " } else { "" },
                    args.join(", ")
                )
            }
        }
    }
}

fn array_literal(items: &[Expr]) -> (String, String) {
    let mut ty = "text".to_string();
    let vals: Vec<String> = items
        .iter()
        .map(|i| match i {
            Expr::Const(v) => {
                ty = match v {
                    Value::Int4(_) => "integer",
                    Value::Int8(_) => "bigint",
                    Value::Int2(_) => "smallint",
                    Value::Numeric(_) => "numeric",
                    Value::Float8(_) => "double precision",
                    Value::Bool(_) => "boolean",
                    Value::Date(_) => "date",
                    _ => "text",
                }
                .to_string();
                let t = text_of(v);
                if t.is_empty() || t.contains([',', ' ', '"', '{', '}', '\\']) {
                    format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""))
                } else {
                    t
                }
            }
            _ => String::new(),
        })
        .collect();
    (format!("{{{}}}", vals.join(",")).replace('\'', "''"), ty)
}

/// An identifier as ruleutils quotes it: bare when lower-case and plain.
fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// Split an implicitly AND-ed filter into its conjuncts.
fn conjuncts(e: &Expr) -> Vec<Expr> {
    match e {
        Expr::And(v) => v.iter().flat_map(conjuncts).collect(),
        other => vec![other.clone()],
    }
}

fn qual_text(dp: &mut Dp, quals: &[Expr], names: &Names) -> String {
    match quals {
        [one] => {
            let s = dp.expr(one, names);
            if s.starts_with('(') {
                s
            } else {
                format!("({s})")
            }
        }
        many => dp.join(many, " AND ", names),
    }
}

/// Selectivity of a predicate with PostgreSQL's defaults (no statistics).
pub(crate) fn selectivity(e: &Expr) -> f64 {
    match e {
        Expr::And(v) => v.iter().map(selectivity).product(),
        Expr::Or(v) => v
            .iter()
            .map(selectivity)
            .fold(0.0, |acc, s| acc + s - acc * s),
        Expr::Not(a) => 1.0 - selectivity(a),
        Expr::Cmp(CmpOp::Eq, ..) => 0.005,
        Expr::Cmp(CmpOp::Ne, ..) => 0.995,
        Expr::Cmp(..) => 1.0 / 3.0,
        Expr::IsNull(_, false) => 0.005,
        Expr::IsNull(_, true) => 0.995,
        Expr::InList(_, items, false) => (0.005 * items.len() as f64).min(1.0),
        Expr::Like { .. } => 0.005,
        Expr::Const(Value::Bool(true)) => 1.0,
        Expr::Const(Value::Bool(false)) | Expr::Const(Value::Null) => 0.0,
        _ => 0.5,
    }
}

fn ops_of(e: &Expr) -> f64 {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().map(ops_of).sum(),
        Expr::Not(a) => ops_of(a),
        _ => 1.0,
    }
}

/// Is this conjunct one an index can answer on column `col`?
/// The key position of index `ch` a conjunct bounds (a column's, or an
/// expression's compared by its deparsed text), if any.
fn index_key_pos(rel: &Relation, ch: &crate::index::IndexChoice, q: &Expr) -> Option<usize> {
    if let Some(c) = index_col_of(q) {
        return ch.cols.iter().position(|x| *x == c);
    }
    if ch.exprs.is_empty() {
        return None;
    }
    let Expr::Cmp(op, l, r) = q else {
        return None;
    };
    if *op == CmpOp::Ne {
        return None;
    }
    let side = match (crate::index::is_const(l), crate::index::is_const(r)) {
        (false, true) => l,
        (true, false) => r,
        _ => return None,
    };
    let text = deparse_over(rel, side);
    let k = ch.exprs.iter().position(|e| *e == text)?;
    ch.cols
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == crate::index::NO_COLUMN)
        .nth(k)
        .map(|(i, _)| i)
}

fn index_col_of(e: &Expr) -> Option<usize> {
    let is_const =
        |e: &Expr| !matches!(e, Expr::Const(v) if v.is_null()) && crate::index::is_const(e);
    match e {
        Expr::Cmp(op, l, r) if *op != CmpOp::Ne => match (&**l, &**r) {
            (Expr::Column(c), v) if is_const(v) => Some(*c),
            (v, Expr::Column(c)) if is_const(v) => Some(*c),
            _ => None,
        },
        _ => None,
    }
}

// ---------------------------------------------------------------------
// The walk over a plan.

struct Exec<'x, 'c> {
    cx: &'x mut Ctx<'c>,
    relations: &'x dyn Relations,
    timing: bool,
}

struct Walk<'r> {
    dp: Dp,
    relations: &'r dyn Relations,
    verbose: bool,
    /// The statement reads more than one relation (Output lists are
    /// qualified then).
    multi: bool,
    /// The source being walked gets the plan's WHERE as its Filter: a
    /// Subquery Scan under it stays.
    scan_filtered: bool,
}

type Built = (PNode, Option<Box<dyn Node>>);

fn instr(node: Option<Box<dyn Node>>, p: &mut PNode, timing: bool) -> Option<Box<dyn Node>> {
    let n = node?;
    let stats = Rc::new(RefCell::new(Stats::default()));
    p.stats = Some(stats.clone());
    Some(Box::new(Instr {
        input: n,
        stats,
        timing,
        done: false,
        usage: USAGE.with(|u| u.get()),
    }))
}

/// Whether `plan` reads some but not all of the `width` columns of its
/// FROM row: a Subquery Scan under it then projects, and PostgreSQL keeps
/// it (one reading all of them, or none, as count(*), is dropped).
fn projects(plan: &SelectPlan, width: usize) -> bool {
    let mut used = vec![false; width];
    let mut mark = |e: &Expr| {
        for c in e.columns_used().0 {
            if let Some(u) = used.get_mut(c) {
                *u = true;
            }
        }
    };
    plan.filter
        .iter()
        .chain(&plan.group_exprs)
        .for_each(&mut mark);
    for a in plan.aggs.iter().flatten() {
        let mut a = a.clone();
        for e in a.exprs_mut() {
            mark(e);
        }
    }
    if plan.aggs.is_none() {
        plan.targets.iter().for_each(&mut mark);
        for w in &plan.windows {
            let mut w = w.clone();
            for e in w.exprs_mut() {
                mark(e);
            }
        }
    }
    for &g in &plan.group_by {
        if let Some(u) = used.get_mut(g) {
            *u = true;
        }
    }
    let n = used.iter().filter(|u| **u).count();
    n != 0 && n != width
}

/// `node` under a filter by `pred`, counted as `p`'s rows with the rows
/// it removed (EXPLAIN ANALYZE's "Rows Removed by Filter").
fn filtered(
    node: Option<Box<dyn Node>>,
    pred: Option<Expr>,
    p: &mut PNode,
    timing: bool,
) -> Option<Box<dyn Node>> {
    let raw = Rc::new(RefCell::new(Stats::default()));
    let node = match pred {
        Some(pred) => node.map(|n| {
            Box::new(crate::exec::FilterNode {
                input: Box::new(Instr {
                    input: n,
                    stats: raw.clone(),
                    timing: false,
                    done: false,
                    usage: None,
                }),
                pred,
            }) as Box<dyn Node>
        }),
        None => node,
    };
    let node = instr(node, p, timing);
    if let Some(s) = &p.stats {
        s.borrow_mut().input = Some(raw);
    }
    node
}

impl Walk<'_> {
    /// Names of the row `src` produces.
    fn source_names(&self, src: &Source) -> Names {
        match src {
            Source::Relation(rel) => Names {
                cols: rel
                    .columns
                    .iter()
                    .map(|c| {
                        (
                            Some(rel.alias.clone().unwrap_or_else(|| rel.name.clone())),
                            c.name.clone(),
                            c.ty,
                        )
                    })
                    .chain(crate::catalog::SYSTEM_COLUMNS.iter().map(|(n, t)| {
                        (
                            Some(rel.alias.clone().unwrap_or_else(|| rel.name.clone())),
                            n.to_string(),
                            types::Ty::new(*t),
                        )
                    }))
                    .collect(),
            },
            Source::Join(j) => {
                let mut l = self.source_names(&j.left);
                l.cols.truncate(j.left_width);
                while l.cols.len() < j.left_width {
                    l.cols
                        .push((None, format!("col{}", l.cols.len()), types::Ty::new(0)));
                }
                let r = self.source_names(&j.right);
                l.cols.extend(r.cols.into_iter().take(j.right_width));
                l
            }
            Source::Subquery(p) | Source::LateralSubquery(p) => {
                let inner = self.source_names(&p.source);
                // Named by its alias, as PostgreSQL's ruleutils names a
                // subquery's columns ("ss.x").
                let alias = p.alias.as_ref().filter(|a| !a.barrier);
                Names {
                    cols: p
                        .targets
                        .iter()
                        .take(p.visible)
                        .enumerate()
                        .map(|(i, t)| {
                            let named = alias.and_then(|a| a.cols.get(i).map(|c| (a, c)));
                            let ty = match t {
                                Expr::Column(c) => inner.cols.get(*c).map(|c| c.2),
                                _ => None,
                            };
                            match (named, t) {
                                (Some((a, c)), _) => (
                                    Some(a.name.clone()),
                                    c.clone(),
                                    ty.unwrap_or(types::Ty::new(0)),
                                ),
                                (None, Expr::Column(c)) => inner.cols.get(*c).cloned().map_or(
                                    (None, format!("col{i}"), types::Ty::new(0)),
                                    |(_, n, t)| (Some("subquery".into()), n, t),
                                ),
                                _ => (None, format!("col{i}"), types::Ty::new(0)),
                            }
                        })
                        .collect(),
                }
            }
            Source::Series { int8, .. } => Names {
                cols: vec![(
                    Some("generate_series".into()),
                    "generate_series".into(),
                    types::Ty::new(if *int8 { types::INT8 } else { types::INT4 }),
                )],
            },
            Source::Values(rows) => Names {
                cols: (0..rows.first().map_or(0, Vec::len))
                    .map(|i| {
                        (
                            Some("*VALUES*".into()),
                            format!("column{}", i + 1),
                            types::Ty::new(0),
                        )
                    })
                    .collect(),
            },
            _ => Names::default(),
        }
    }

    /// Scan of a stored or system relation, with its filter.
    fn scan(
        &mut self,
        rel: &Relation,
        filter: Option<&Expr>,
        order: Option<(usize, bool)>,
        ex: &mut Option<Exec>,
    ) -> Result<Built, PgError> {
        let names = self.source_names(&Source::Relation(rel.clone()));
        let quals: Vec<Expr> = filter.map(conjuncts).unwrap_or_default();
        let mut p = PNode::default();
        let mut shown = if self.verbose {
            format!("{}.{}", quote(&rel.schema), quote(&rel.name))
        } else {
            quote(&rel.name)
        };
        if let Some(a) = rel.alias.as_ref().filter(|a| **a != rel.name) {
            shown = format!("{shown} {}", quote(a));
        }
        p.relation = Some((rel.name.clone(), rel.schema.clone(), shown));
        p.alias = rel.alias.clone();
        let width: u32 = rel.columns.iter().map(|c| type_width(c.ty)).sum();
        // Table size: its pages now, 10 if it never had any (PostgreSQL's
        // estimate for a table never vacuumed or analyzed).
        let (pages, tuples) = match rel.source {
            RelationSource::Table(_) => {
                let blocks = self.relations.heap_blocks(rel).unwrap_or(0);
                let pages = if blocks == 0 { 10.0 } else { blocks as f64 };
                let tuple_width = width as f64 + 24.0;
                let density = ((8192.0 - 24.0) / (tuple_width + 4.0)).floor().max(1.0);
                (pages, (density * pages).round())
            }
            RelationSource::SystemView(_) | RelationSource::View(_) => (10.0, 1000.0),
        };
        let sel: f64 = quals.iter().map(selectivity).product();
        let nops: f64 = quals.iter().map(ops_of).sum();
        // The index the host would use, and the conjuncts it answers.
        let mut choice = None;
        if matches!(rel.source, RelationSource::Table(_)) {
            let mut cx_quals = match ex {
                Some(e) => crate::index::scan_quals(filter, e.cx).unwrap_or_default(),
                None => static_quals(&quals),
            };
            let extra = match ex {
                Some(e) => {
                    crate::index::shape_quals(rel, filter, &mut |v| v.eval(&[], e.cx).map(Some))
                }
                None => crate::index::shape_quals(rel, filter, &mut crate::index::static_value),
            };
            cx_quals.extend(extra.unwrap_or_default());
            if order.is_some() || !cx_quals.is_empty() {
                choice = self.relations.index_choice(rel, &cx_quals, order);
            }
        }
        let mut residual = quals.clone();
        if let Some(ch) = &choice {
            p.node_type = "Index Scan";
            p.index = Some(ch.name.clone());
            p.backward = order.is_some_and(|o| o.1);
            let (icond, rest): (Vec<Expr>, Vec<Expr>) = quals
                .iter()
                .cloned()
                .partition(|q| index_key_pos(rel, ch, q).is_some());
            let mut icond = icond;
            icond.sort_by_key(|q| index_key_pos(rel, ch, q));
            // Conjuncts a partial index's predicate implies are not
            // re-checked (PostgreSQL's create_indexscan_plan).
            let rest = match &ch.pred {
                Some(pred) => {
                    let conj = crate::index::pred_conjuncts(pred);
                    rest.into_iter()
                        .filter(|q| !conj.contains(&deparse_over(rel, q).as_str()))
                        .collect()
                }
                None => rest,
            };
            if !icond.is_empty() {
                // A scan's conditions name its own columns bare
                // (PostgreSQL's show_scan_qual prefixes only in VERBOSE).
                let q = std::mem::replace(&mut self.dp.qualify, self.verbose);
                let t = qual_text(&mut self.dp, &icond, &names);
                self.dp.qualify = q;
                p.props.push(("Index Cond", Prop::Text(t)));
            }
            residual = rest;
            let isel: f64 = icond.iter().map(selectivity).product();
            let unique_eq = ch.unique
                && ch.cols.iter().all(|c| {
                    icond.iter().any(|q| {
                        matches!(q, Expr::Cmp(CmpOp::Eq, ..)) && index_col_of(q) == Some(*c)
                    })
                });
            let fetched = if unique_eq {
                1.0
            } else {
                (tuples * isel).max(1.0)
            };
            let ipages = (pages * isel).ceil().max(1.0);
            p.startup = if icond.is_empty() { 0.29 } else { 0.15 };
            p.total = p.startup
                + fetched * (CPU_TUPLE + CPU_OP)
                + RANDOM_PAGE
                + ipages.min(fetched) * RANDOM_PAGE
                + 4.0 * CPU_OP
                + fetched * CPU_OP * (nops - icond.len() as f64).max(0.0);
            p.rows = clamp_rows(if unique_eq { 1.0 } else { tuples * sel });
        } else {
            p.node_type = "Seq Scan";
            p.startup = 0.0;
            p.total = pages * SEQ_PAGE + tuples * CPU_TUPLE + tuples * CPU_OP * nops;
            p.rows = clamp_rows(tuples * sel);
        }
        p.width = width;
        if !residual.is_empty() {
            let q = std::mem::replace(&mut self.dp.qualify, self.verbose);
            let t = qual_text(&mut self.dp, &residual, &names);
            self.dp.qualify = q;
            p.props.push(("Filter", Prop::Text(t)));
        }
        if self.verbose {
            // Output lists are qualified only when the query reads more
            // than one relation (PostgreSQL's show_plan_tlist).
            let q = std::mem::replace(&mut self.dp.qualify, self.multi);
            p.output = (0..rel.columns.len())
                .map(|i| self.dp.col(&names, i))
                .collect();
            self.dp.qualify = q;
        }
        let node = match ex {
            None => None,
            Some(e) => {
                let src = match order {
                    Some(_) => None,
                    None => Some(crate::index::open_filtered(e.relations, rel, filter, e.cx)?),
                };
                src.map(|s| Box::new(crate::exec::ScanNode::new(s)) as Box<dyn Node>)
            }
        };
        Ok((p, node))
    }

    /// `src` with WHERE conjuncts placed where `exec::build_pushed` puts
    /// them: through inner joins to the side whose columns they read
    /// (a table's become its scan's conditions, through an index when one
    /// fits), equalities between the sides as hash keys, the rest the
    /// join's condition.
    fn source_pushed(
        &mut self,
        src: &Source,
        conds: Vec<Expr>,
        ex: &mut Option<Exec>,
    ) -> Result<Built, PgError> {
        let timing = ex.as_ref().is_some_and(|e| e.timing);
        let and = |mut v: Vec<Expr>| match v.len() {
            0 => None,
            1 => v.pop(),
            _ => Some(Expr::And(v)),
        };
        let inner_join = match src {
            Source::Join(j)
                if j.kind == JoinKind::Inner && !matches!(j.right, Source::LateralSubquery(_)) =>
            {
                Some(j)
            }
            _ => None,
        };
        // As exec::build_pushed: a one-sided join's conditions on its
        // preserved side go down that side, the rest stay above it.
        let conds = match src {
            Source::Join(j) => match crate::semijoin::preserved_conds(j, conds) {
                Ok((to_left, down, stay)) => {
                    let names = self.source_names(src);
                    let (mut p, node) = if crate::semijoin::is_semi(j.kind) {
                        let l = self.source_pushed(&j.left, down, ex)?;
                        self.semi_join(j, &names, l, ex)?
                    } else {
                        let (ld, rd) = if to_left {
                            (down, Vec::new())
                        } else {
                            (Vec::new(), down)
                        };
                        let est = (
                            crate::hashside::est_rows(&j.left, &ld, self.relations),
                            crate::hashside::est_rows(&j.right, &rd, self.relations),
                        );
                        let l = self.source_pushed(&j.left, ld, ex)?;
                        let r = self.source_pushed(&j.right, rd, ex)?;
                        self.join(j, &names, l, r, est, ex)?
                    };
                    let node = match and(stay) {
                        Some(f) => {
                            let t = qual_text(&mut self.dp, &conjuncts(&f), &names);
                            p.props.push(("Filter", Prop::Text(t)));
                            p.rows = clamp_rows(p.rows * selectivity(&f));
                            filtered(node, Some(f), &mut p, timing)
                        }
                        None => instr(node, &mut p, timing),
                    };
                    return Ok((p, node));
                }
                Err(conds) => conds,
            },
            _ => conds,
        };
        let Some(j) = inner_join else {
            if let (Source::Relation(rel), false) = (src, conds.is_empty()) {
                let f = and(conds);
                let (mut p, node) = self.scan(rel, f.as_ref(), None, ex)?;
                let node = filtered(node, f, &mut p, timing);
                return Ok((p, node));
            }
            let names = self.source_names(src);
            let subquery = matches!(src, Source::Subquery(_));
            self.scan_filtered = subquery && !conds.is_empty();
            let (mut p, mut node) = self.source(src, ex)?;
            self.scan_filtered = false;
            if let Some(f) = and(conds) {
                let bare = p.node_type.ends_with(" Scan") && p.node_type != "Subquery Scan";
                let q = std::mem::replace(&mut self.dp.qualify, !bare || self.verbose);
                let t = qual_text(&mut self.dp, &conjuncts(&f), &names);
                self.dp.qualify = q;
                p.props.push(("Filter", Prop::Text(t)));
                p.rows = clamp_rows(p.rows * selectivity(&f));
                node = filtered(node, Some(f), &mut p, timing);
            }
            return Ok((p, node));
        };
        let lw = j.left_width;
        let (keys, conds) = crate::exec::split_join_conds(conds, lw);
        let (mut lconds, mut rconds, mut rest) = (Vec::new(), Vec::new(), Vec::new());
        for c in conds {
            let (cols, sub) = c.columns_used();
            if !sub && !cols.is_empty() && cols.iter().all(|&i| i < lw) {
                lconds.push(c);
            } else if !sub && !cols.is_empty() && cols.iter().all(|&i| i >= lw) {
                let mut c = c;
                c.map_columns(&|i| i - lw);
                rconds.push(c);
            } else {
                rest.push(c);
            }
        }
        let names = self.source_names(src);
        let est = (
            crate::hashside::est_rows(&j.left, &lconds, self.relations),
            crate::hashside::est_rows(&j.right, &rconds, self.relations),
        );
        let l = self.source_pushed(&j.left, lconds, ex)?;
        let r = self.source_pushed(&j.right, rconds, ex)?;
        let mut jp = (**j).clone();
        jp.hash_keys.extend(keys);
        rest.extend(j.qual.clone().map(|q| conjuncts(&q)).unwrap_or_default());
        jp.qual = and(rest);
        let (mut p, node) = self.join(&jp, &names, l, r, est, ex)?;
        let node = instr(node, &mut p, timing);
        Ok((p, node))
    }

    /// A semi or anti join over its left input, already walked: the
    /// right input filtered by the condition's conjuncts over it alone,
    /// as `exec::semi_join_node` builds it.
    fn semi_join(
        &mut self,
        j: &crate::plan::JoinPlan,
        names: &Names,
        l: Built,
        ex: &mut Option<Exec>,
    ) -> Result<Built, PgError> {
        let (inner, qual) = crate::semijoin::inner_conds(j);
        let r = self.source_pushed(&j.right, inner, ex)?;
        let jp = crate::plan::JoinPlan {
            kind: j.kind,
            left: Source::Result,
            right: Source::Result,
            left_width: j.left_width,
            right_width: j.right_width,
            hash_keys: j.hash_keys.clone(),
            qual,
        };
        self.join(&jp, names, l, r, (0.0, 0.0), ex)
    }

    /// A join over its two inputs, already walked.
    fn join(
        &mut self,
        j: &crate::plan::JoinPlan,
        names: &Names,
        (mut l, ln): Built,
        (mut r, rn): Built,
        est: (f64, f64),
        ex: &mut Option<Exec>,
    ) -> Result<Built, PgError> {
        let mut p = PNode::default();
        l.parent = Some("Outer");
        // Hashing the left input swaps the printed inputs and which side
        // an outer join preserves (crates/sql/src/hashside.rs).
        // Decided on the estimates the executor decides on (est), so
        // the printed plan is the one that runs.
        let swap = crate::hashside::build_left(j, &j.left, &j.right, est, self.relations);
        p.join_type = Some(match j.kind {
            JoinKind::Inner => "Inner",
            JoinKind::Left if swap => "Right",
            JoinKind::Right if swap => "Left",
            JoinKind::Left => "Left",
            JoinKind::Right => "Right",
            JoinKind::Full => "Full",
            JoinKind::Semi => "Semi",
            JoinKind::Anti => "Anti",
        });
        let node = match (ln, rn, ex.as_mut()) {
            (Some(ln), Some(rn), Some(_)) => Some(crate::exec::sided_join_node(j, ln, rn, swap)),
            _ => None,
        };
        let jsel = if j.hash_keys.is_empty() {
            1.0
        } else {
            0.005f64.powi(j.hash_keys.len() as i32)
        };
        let qsel = j.qual.as_ref().map_or(1.0, selectivity);
        let mut rows = l.rows * r.rows * jsel * qsel;
        if crate::semijoin::is_semi(j.kind) {
            // The outer rows with (or without) a match, each once.
            let hit = (r.rows * jsel * qsel).min(1.0);
            rows = l.rows
                * if j.kind == JoinKind::Semi {
                    hit
                } else {
                    1.0 - hit
                };
        } else if j.kind != JoinKind::Inner {
            rows = rows.max(l.rows);
        }
        p.rows = clamp_rows(rows);
        p.width = if crate::semijoin::is_semi(j.kind) {
            l.width
        } else {
            l.width + r.width
        };
        if !j.hash_keys.is_empty() {
            p.node_type = "Hash Join";
            let conds: Vec<String> = j
                .hash_keys
                .iter()
                .map(|(a, b)| {
                    let mut rn = names.clone();
                    rn.cols.drain(..j.left_width.min(rn.cols.len()));
                    let (a, b) = (self.dp.expr(a, names), self.dp.expr(b, &rn));
                    if swap {
                        format!("({b} = {a})")
                    } else {
                        format!("({a} = {b})")
                    }
                })
                .collect();
            let cond = if conds.len() == 1 {
                conds[0].clone()
            } else {
                format!("({})", conds.join(" AND "))
            };
            p.props.push(("Hash Cond", Prop::Text(cond)));
            let (l, mut r) = if swap {
                let (mut l, r) = (r, l);
                l.parent = Some("Outer");
                (l, r)
            } else {
                (l, r)
            };
            let mut h = PNode {
                node_type: "Hash",
                parent: Some("Inner"),
                startup: r.total,
                total: r.total,
                rows: r.rows,
                width: r.width,
                ..Default::default()
            };
            h.stats = r.stats.clone();
            r.parent = Some("Outer");
            let hashcost = r.rows * (CPU_OP + CPU_TUPLE);
            p.startup = r.total + hashcost;
            p.total = p.startup + l.total + l.rows * CPU_OP * 2.0 + rows * CPU_TUPLE;
            h.children.push(r);
            p.children = vec![l, h];
        } else {
            p.node_type = "Nested Loop";
            r.parent = Some("Inner");
            p.startup = l.startup + r.startup;
            p.total = l.total + l.rows * r.total.max(r.rows * CPU_TUPLE) + rows * CPU_TUPLE;
            // The inner rows are kept in memory: PostgreSQL's Materialize.
            let m = PNode {
                node_type: "Materialize",
                parent: Some("Inner"),
                startup: r.startup,
                total: r.total + r.rows * CPU_OP * 2.0,
                rows: r.rows,
                width: r.width,
                stats: r.stats.clone(),
                children: vec![r],
                ..Default::default()
            };
            p.children = vec![l, m];
        }
        if let Some(q) = &j.qual {
            let t = qual_text(&mut self.dp, &conjuncts(q), names);
            p.props.push(("Join Filter", Prop::Text(t)));
        }
        Ok((p, node))
    }

    /// A FROM item.
    fn source(&mut self, src: &Source, ex: &mut Option<Exec>) -> Result<Built, PgError> {
        let timing = ex.as_ref().is_some_and(|e| e.timing);
        let names = self.source_names(src);
        let (mut p, node) = match src {
            Source::Relation(rel) => self.scan(rel, None, None, ex)?,
            Source::Join(j)
                if crate::semijoin::is_semi(j.kind)
                    && !matches!(j.right, Source::LateralSubquery(_)) =>
            {
                let l = self.source(&j.left, ex)?;
                self.semi_join(j, &names, l, ex)?
            }
            Source::Join(j) if !matches!(j.right, Source::LateralSubquery(_)) => {
                let l = self.source(&j.left, ex)?;
                let r = self.source(&j.right, ex)?;
                let est = (
                    crate::hashside::est_rows(&j.left, &[], self.relations),
                    crate::hashside::est_rows(&j.right, &[], self.relations),
                );
                self.join(j, &names, l, r, est, ex)?
            }
            Source::Subquery(sp) => {
                let keep = std::mem::replace(&mut self.scan_filtered, false);
                let (mut c, cn) = self.plan(sp, ex)?;
                // PostgreSQL drops a Subquery Scan that neither filters
                // nor projects (setrefs.c's trivial_subqueryscan).
                // An INTERSECT/EXCEPT carries PostgreSQL's flag column.
                let flagged = matches!(&sp.source, Source::SetOp(o) if o.kind != SetOpKind::Union);
                if !keep && !flagged && sp.targets.len() == sp.visible {
                    let node = cn.map(|n| crate::exec::subquery_node(n, sp.visible));
                    return Ok((c, node));
                }
                c.parent = Some("Subquery");
                let name = match &sp.alias {
                    Some(a) => quote(&a.name),
                    None => "subquery".into(),
                };
                let p = PNode {
                    node_type: "Subquery Scan",
                    scan_name: Some(name),
                    startup: c.startup,
                    total: c.total + c.rows * CPU_TUPLE,
                    rows: c.rows,
                    width: c.width,
                    children: vec![c],
                    ..Default::default()
                };
                let node = cn.map(|n| crate::exec::subquery_node(n, sp.visible));
                (p, node)
            }
            Source::Result => (
                PNode {
                    node_type: "Result",
                    total: 0.01,
                    rows: 1.0,
                    ..Default::default()
                },
                self.delegate(src, ex)?,
            ),
            Source::Values(rows) => (
                PNode {
                    node_type: "Values Scan",
                    scan_name: Some("\"*VALUES*\"".into()),
                    total: rows.len() as f64 * (CPU_OP + CPU_TUPLE),
                    rows: clamp_rows(rows.len() as f64),
                    width: 4 * rows.first().map_or(0, Vec::len) as u32,
                    ..Default::default()
                },
                self.delegate(src, ex)?,
            ),
            Source::Series {
                start,
                stop,
                step,
                int8,
            } => {
                let n = match (start, stop, step) {
                    (Expr::Const(a), Expr::Const(b), None) => match (int_val(a), int_val(b)) {
                        (Some(a), Some(b)) => ((b - a + 1).max(0)) as f64,
                        _ => 1000.0,
                    },
                    _ => 1000.0,
                };
                (
                    PNode {
                        node_type: "Function Scan",
                        scan_name: Some("generate_series".into()),
                        function_name: Some("generate_series".into()),
                        total: n * CPU_TUPLE,
                        rows: clamp_rows(n),
                        width: if *int8 { 8 } else { 4 },
                        ..Default::default()
                    },
                    self.delegate(src, ex)?,
                )
            }
            // The function's own node; the numbering costs nothing.
            Source::Ordinality(inner) => {
                let (p, _) = self.source(inner, &mut None)?;
                (p, self.delegate(src, ex)?)
            }
            Source::SetFunc { op, .. } => (
                PNode {
                    node_type: "Function Scan",
                    scan_name: Some(srf_name(*op).into()),
                    function_name: Some(srf_name(*op).into()),
                    startup: 0.0,
                    total: 0.1,
                    rows: 100.0,
                    width: 32,
                    ..Default::default()
                },
                self.delegate(src, ex)?,
            ),
            Source::Function { def, .. } => (
                PNode {
                    node_type: "Function Scan",
                    scan_name: Some(quote(&def.name)),
                    function_name: Some(def.name.clone()),
                    startup: 0.25,
                    total: 10.25,
                    rows: 1000.0,
                    width: 32,
                    ..Default::default()
                },
                self.delegate(src, ex)?,
            ),
            Source::SetOp(o) => {
                // UNION's members flattened into one Append, each
                // member's own plan under it (PostgreSQL pulls them up).
                let mut members = Vec::new();
                flatten_members(&o.left, o.kind, o.all, &mut members);
                flatten_members(&o.right, o.kind, o.all, &mut members);
                let mut kids = Vec::new();
                for (i, m) in members.iter().enumerate() {
                    let (mut c, _) = match m {
                        Source::Subquery(sp) => self.plan(sp, &mut None)?,
                        other => self.source(other, &mut None)?,
                    };
                    // INTERSECT/EXCEPT members add a flag column: each
                    // is a Subquery Scan named as PostgreSQL names them.
                    if o.kind != SetOpKind::Union {
                        c.parent = Some("Subquery");
                        c = PNode {
                            node_type: "Subquery Scan",
                            scan_name: Some(format!("\"*SELECT* {}\"", i + 1)),
                            startup: c.startup,
                            total: c.total + c.rows * CPU_TUPLE,
                            rows: c.rows,
                            width: c.width,
                            children: vec![c],
                            ..Default::default()
                        };
                    }
                    c.parent = Some("Member");
                    kids.push(c);
                }
                let mut app = PNode {
                    node_type: "Append",
                    startup: kids.first().map_or(0.0, |k| k.startup),
                    total: kids.iter().map(|k| k.total).sum(),
                    rows: kids.iter().map(|k| k.rows).sum(),
                    width: kids.iter().map(|k| k.width).max().unwrap_or(0),
                    children: kids,
                    ..Default::default()
                };
                let group_key = match members.first() {
                    Some(Source::Subquery(sp)) => {
                        let names = self.source_names(&sp.source);
                        let q = std::mem::replace(&mut self.dp.qualify, true);
                        let k: Vec<String> = sp
                            .targets
                            .iter()
                            .take(sp.visible)
                            .map(|t| self.dp.expr(t, &names))
                            .collect();
                        self.dp.qualify = q;
                        k
                    }
                    _ => Vec::new(),
                };
                let node = self.delegate(src, ex)?;
                if o.kind == SetOpKind::Union && o.all {
                    (app, node)
                } else {
                    app.parent = Some("Outer");
                    let p = PNode {
                        node_type: if o.kind == SetOpKind::Union {
                            "HashAggregate"
                        } else {
                            "HashSetOp"
                        },
                        strategy: Some("Hashed"),
                        startup: app.total,
                        total: app.total + app.rows * CPU_OP,
                        rows: clamp_rows(if o.kind == SetOpKind::Union {
                            app.rows
                        } else {
                            app.rows / 2.0
                        }),
                        width: app.width,
                        props: match o.kind {
                            SetOpKind::Union => vec![("Group Key", Prop::List(group_key))],
                            SetOpKind::Intersect => vec![(
                                "Command",
                                Prop::Text(
                                    if o.all { "Intersect All" } else { "Intersect" }.into(),
                                ),
                            )],
                            SetOpKind::Except => vec![(
                                "Command",
                                Prop::Text(if o.all { "Except All" } else { "Except" }.into()),
                            )],
                        },
                        children: vec![app],
                        ..Default::default()
                    };
                    (p, node)
                }
            }
            Source::Cte(_) | Source::CteScan(_) => (
                PNode {
                    node_type: "CTE Scan",
                    scan_name: Some("cte".into()),
                    total: 20.0,
                    rows: 1000.0,
                    width: 32,
                    ..Default::default()
                },
                self.delegate(src, ex)?,
            ),
            Source::RecursiveUnion(_) => (
                PNode {
                    node_type: "Recursive Union",
                    total: 30.0,
                    rows: 1000.0,
                    width: 32,
                    ..Default::default()
                },
                self.delegate(src, ex)?,
            ),
            Source::WorkTable(_) | Source::WorkTableScan(_) => (
                PNode {
                    node_type: "WorkTable Scan",
                    scan_name: Some("cte".into()),
                    total: 2.0,
                    rows: 100.0,
                    width: 32,
                    ..Default::default()
                },
                self.delegate(src, ex)?,
            ),
            Source::ModifyCte(m) => (
                PNode {
                    node_type: match m.plan.tag_word() {
                        "INSERT" => "Insert",
                        "UPDATE" => "Update",
                        _ => "Delete",
                    },
                    total: 100.0,
                    rows: 1000.0,
                    ..Default::default()
                },
                self.delegate(src, ex)?,
            ),
            Source::Transition(name) => (
                PNode {
                    node_type: "Named Tuplestore Scan",
                    scan_name: Some(name.clone()),
                    total: 2.0,
                    rows: 100.0,
                    ..Default::default()
                },
                self.delegate(src, ex)?,
            ),
            Source::Rows(rows) => (
                PNode {
                    node_type: "Materialize",
                    total: rows.len() as f64 * CPU_OP,
                    rows: clamp_rows(rows.len() as f64),
                    ..Default::default()
                },
                self.delegate(src, ex)?,
            ),
            Source::Join(_) | Source::LateralSubquery(_) => (
                PNode {
                    node_type: "Nested Loop",
                    join_type: Some("Inner"),
                    total: 100.0,
                    rows: 1000.0,
                    ..Default::default()
                },
                self.delegate(src, ex)?,
            ),
        };
        let node = instr(node, &mut p, timing);
        Ok((p, node))
    }

    fn delegate(
        &mut self,
        src: &Source,
        ex: &mut Option<Exec>,
    ) -> Result<Option<Box<dyn Node>>, PgError> {
        match ex {
            None => Ok(None),
            Some(e) => crate::exec::build_source(src, e.cx, e.relations).map(Some),
        }
    }

    /// A SELECT's steps over its source, as `exec::build_plan` stacks them.
    fn plan(&mut self, plan: &SelectPlan, ex: &mut Option<Exec>) -> Result<Built, PgError> {
        let timing = ex.as_ref().is_some_and(|e| e.timing);
        if ex.is_none() {
            if let Some(p) = self.minmax_plan(plan)? {
                return Ok((p, None));
            }
        }
        let names = self.source_names(&plan.source);
        let subs_mark = self.dp.subs.len();
        let (limit, offset) = match ex {
            Some(e) => (
                crate::exec::count_arg(&plan.limit, "LIMIT", e.cx)?,
                crate::exec::count_arg(&plan.offset, "OFFSET", e.cx)?.unwrap_or(0),
            ),
            None => (
                plan.limit.as_ref().and_then(const_count),
                plan.offset.as_ref().and_then(const_count).unwrap_or(0),
            ),
        };
        // ORDER BY one column an index leads with (crate::index::open_ordered).
        let mut order = None;
        if let Source::Relation(rel) = &plan.source {
            if plan.aggs.is_none()
                && !plan.distinct
                && plan.sort.len() == 1
                && matches!(rel.source, RelationSource::Table(_))
            {
                let k = &plan.sort[0];
                if let Some(Expr::Column(col)) = plan.targets.get(k.col) {
                    if k.nulls_first == k.desc {
                        order = Some((*col, k.desc));
                    }
                }
            }
        }
        let mut presorted = false;
        let (mut p, mut node) = match &plan.source {
            Source::Relation(rel) => {
                let mut built = None;
                if let Some(o) = order {
                    let mut quals = match ex {
                        Some(e) => crate::index::scan_quals(plan.filter.as_ref(), e.cx)?,
                        None => {
                            static_quals(&plan.filter.as_ref().map(conjuncts).unwrap_or_default())
                        }
                    };
                    let f = plan.filter.as_ref();
                    quals.extend(match ex {
                        Some(e) => {
                            crate::index::shape_quals(rel, f, &mut |v| v.eval(&[], e.cx).map(Some))?
                        }
                        None => crate::index::shape_quals(rel, f, &mut crate::index::static_value)?,
                    });
                    if self.relations.index_choice(rel, &quals, Some(o)).is_some() {
                        let (p, _) = self.scan(rel, plan.filter.as_ref(), Some(o), &mut None)?;
                        let node = match ex {
                            Some(e) => crate::index::open_ordered(plan, e.relations, e.cx)?
                                .map(|s| Box::new(crate::exec::ScanNode::new(s)) as Box<dyn Node>),
                            None => None,
                        };
                        presorted = true;
                        built = Some((p, node));
                    }
                }
                match built {
                    Some(b) => b,
                    None => self.scan(rel, plan.filter.as_ref(), None, ex)?,
                }
            }
            // WHERE over inner joins goes down as exec::build_plan puts it.
            src @ Source::Join(_) if plan.filter.is_some() && plan.row_locks.is_none() => {
                let (down, stay): (Vec<Expr>, Vec<Expr>) = plan
                    .filter
                    .as_ref()
                    .map(conjuncts)
                    .unwrap_or_default()
                    .into_iter()
                    .partition(|c| {
                        let (cols, sub) = c.columns_used();
                        !sub && !cols.is_empty()
                    });
                let (mut p, node) = self.source_pushed(src, down, ex)?;
                if !stay.is_empty() {
                    let t = qual_text(&mut self.dp, &stay, &names);
                    p.props.push(("Filter", Prop::Text(t)));
                    p.rows = clamp_rows(p.rows * stay.iter().map(selectivity).product::<f64>());
                }
                (p, node)
            }
            src => {
                self.scan_filtered = match src {
                    Source::Subquery(sp) => plan.filter.is_some() || projects(plan, sp.visible),
                    _ => false,
                };
                let (mut p, node) = self.source(src, ex)?;
                self.scan_filtered = false;
                if let Some(f) = &plan.filter {
                    // Bare names on a scan's Filter, qualified on a
                    // Subquery Scan's or a join's (show_scan_qual).
                    let bare = p.node_type.ends_with(" Scan") && p.node_type != "Subquery Scan";
                    let want =
                        self.dp.qualify && !bare || self.verbose || p.node_type == "Subquery Scan";
                    let q = std::mem::replace(&mut self.dp.qualify, want);
                    let t = qual_text(&mut self.dp, &conjuncts(f), &names);
                    self.dp.qualify = q;
                    p.props.push(("Filter", Prop::Text(t)));
                    p.rows = clamp_rows(p.rows * selectivity(f));
                }
                (p, node)
            }
        };
        // A scan's row holds only the columns the steps above it read.
        if let Source::Relation(rel) = &plan.source {
            p.width = needed_width(plan, rel);
        }
        // The filter is part of the scan node: count the rows it passes.
        if let Some(f) = &plan.filter {
            let raw = Rc::new(RefCell::new(Stats::default()));
            node = node.map(|n| {
                Box::new(crate::exec::FilterNode {
                    input: Box::new(Instr {
                        input: n,
                        stats: raw.clone(),
                        timing: false,
                        done: false,
                        usage: None,
                    }),
                    pred: f.clone(),
                }) as Box<dyn Node>
            });
            if matches!(plan.source, Source::Relation(_)) || p.stats.is_none() {
                node = instr(node, &mut p, timing);
            } else {
                let stats = Rc::new(RefCell::new(Stats::default()));
                node = node.map(|n| {
                    Box::new(Instr {
                        input: n,
                        stats: stats.clone(),
                        timing,
                        done: false,
                        usage: USAGE.with(|u| u.get()),
                    }) as Box<dyn Node>
                });
                p.stats = Some(stats);
            }
            if let Some(s) = &p.stats {
                s.borrow_mut().input = Some(raw);
            }
        } else if matches!(plan.source, Source::Relation(_)) {
            node = instr(node, &mut p, timing);
        }
        // The columns after aggregation: group keys, then aggregates.
        let mut names_after = names.clone();
        let mut names = names.clone();
        if !plan.group_exprs.is_empty() {
            for g in &plan.group_exprs {
                let t = self.dp.expr(g, &names);
                names
                    .cols
                    .push((None, format!("{RAW}{t}"), types::Ty::new(0)));
            }
            node = node.map(|n| {
                Box::new(crate::agg::ExtendNode {
                    input: n,
                    exprs: plan.group_exprs.clone(),
                }) as Box<dyn Node>
            });
        }
        if let Some(aggs) = &plan.aggs {
            let mut agg_names = Names::default();
            for &g in &plan.group_by {
                agg_names.cols.push(names.cols.get(g).cloned().unwrap_or((
                    None,
                    format!("col{g}"),
                    types::Ty::new(0),
                )));
            }
            for a in aggs {
                let t = self.dp.agg(a, &names);
                agg_names
                    .cols
                    .push((None, format!("{RAW}{t}"), types::Ty::new(types::INT8)));
            }
            let input_rows = p.rows;
            let mut a = PNode::default();
            let aggcost = input_rows * CPU_OP * aggs.len() as f64;
            p.parent = Some("Outer");
            if let Some(sets) = &plan.grouping_sets {
                a.node_type = "MixedAggregate";
                a.strategy = Some("Mixed");
                a.startup = p.total + aggcost;
                a.total = a.startup + CPU_TUPLE * sets.len() as f64;
                a.rows = clamp_rows(10.0 * sets.len() as f64);
                node = node.map(|n| {
                    Box::new(crate::agg::GroupingSetsNode {
                        input: n,
                        aggs: aggs.clone(),
                        keys: plan.group_by.clone(),
                        sets: sets.clone(),
                        out: None,
                    }) as Box<dyn Node>
                });
            } else if plan.group_by.is_empty() {
                a.node_type = "Aggregate";
                a.strategy = Some("Plain");
                a.startup = p.total + aggcost;
                a.total = a.startup + CPU_TUPLE;
                a.rows = 1.0;
                a.node_type = "Aggregate";
                node = node.map(|n| {
                    Box::new(crate::exec::AggNode {
                        input: n,
                        aggs: aggs.clone(),
                        done: false,
                    }) as Box<dyn Node>
                });
            } else {
                a.node_type = "HashAggregate";
                a.strategy = Some("Hashed");
                let keys: Vec<String> = plan
                    .group_by
                    .iter()
                    .map(|g| self.dp.col(&names, *g))
                    .collect();
                if aggplan::sorted_grouping(aggs) {
                    a.node_type = "GroupAggregate";
                    a.strategy = Some("Sorted");
                    p = aggplan::sort_by_keys(std::mem::take(&mut p), keys.clone());
                }
                a.props.push(("Group Key", Prop::List(keys)));
                let groups = (input_rows / 10.0).clamp(1.0, 200.0);
                a.startup = p.total + aggcost + input_rows * CPU_OP * plan.group_by.len() as f64;
                a.total = a.startup + groups * CPU_TUPLE;
                a.rows = clamp_rows(groups);
                node = node.map(|n| {
                    Box::new(crate::exec::GroupAggNode {
                        input: n,
                        aggs: aggs.clone(),
                        keys: plan.group_by.clone(),
                        out: None,
                    }) as Box<dyn Node>
                });
            }
            a.width = 8 * aggs.len() as u32;
            if let Some(h) = &plan.having {
                let t = qual_text(&mut self.dp, &conjuncts(h), &agg_names);
                a.props.push(("Filter", Prop::Text(t)));
                a.rows = clamp_rows(a.rows * selectivity(h));
                node = node.map(|n| {
                    Box::new(crate::exec::FilterNode {
                        input: n,
                        pred: h.clone(),
                    }) as Box<dyn Node>
                });
            }
            a.children.push(p);
            p = a;
            node = instr(node, &mut p, timing);
            names_after = agg_names;
        }
        if !plan.windows.is_empty() {
            // The window node sorts its input by PARTITION BY, then
            // ORDER BY: shown as PostgreSQL's Sort below the WindowAgg.
            let w0 = &plan.windows[0];
            let mut keys: Vec<String> = Vec::new();
            let wnames = if plan.aggs.is_some() {
                names_after.clone()
            } else {
                names.clone()
            };
            for e in &w0.partition {
                keys.push(self.dp.expr(e, &wnames));
            }
            for (e, desc, nulls_first) in &w0.order {
                let mut k = self.dp.expr(e, &wnames);
                if *desc {
                    k += " DESC";
                    if !nulls_first {
                        k += " NULLS LAST";
                    }
                } else if *nulls_first {
                    k += " NULLS FIRST";
                }
                keys.push(k);
            }
            if !keys.is_empty() {
                p.parent = Some("Outer");
                let n = p.rows.max(2.0);
                let startup = p.total + 2.0 * CPU_OP * n * n.log2();
                let stats = p.stats.clone();
                let srt = PNode {
                    node_type: "Sort",
                    props: vec![("Sort Key", Prop::List(keys))],
                    startup,
                    total: startup + CPU_OP * p.rows,
                    rows: p.rows,
                    width: p.width,
                    stats,
                    children: vec![std::mem::take(&mut p)],
                    ..Default::default()
                };
                p = srt;
            }
            p.parent = Some("Outer");
            let w = PNode {
                node_type: "WindowAgg",
                startup: p.startup,
                total: p.total + p.rows * CPU_OP * plan.windows.len() as f64,
                rows: p.rows,
                width: p.width + 8,
                children: vec![std::mem::take(&mut p)],
                ..Default::default()
            };
            p = w;
            node = node.map(|n| {
                Box::new(crate::window::WindowNode {
                    input: n,
                    calls: plan.windows.clone(),
                    out: None,
                }) as Box<dyn Node>
            });
            node = instr(node, &mut p, timing);
        }
        if !plan.srfs.is_empty() {
            p.parent = Some("Outer");
            let rows = p.rows * 1000.0;
            let ps = PNode {
                node_type: "ProjectSet",
                startup: p.startup,
                total: p.total + rows * CPU_OP,
                rows,
                width: p.width + 4,
                children: vec![std::mem::take(&mut p)],
                ..Default::default()
            };
            p = ps;
            node = node.map(|n| {
                Box::new(crate::srf::ProjectSetNode {
                    input: n,
                    srfs: plan.srfs.clone(),
                    pending: Default::default(),
                }) as Box<dyn Node>
            });
            node = instr(node, &mut p, timing);
        }
        // Width of the projected row, and VERBOSE's Output.
        let width: u32 = plan
            .targets
            .iter()
            .take(plan.visible)
            .map(|t| match t {
                Expr::Column(c) => names_after.cols.get(*c).map_or(4, |x| {
                    if x.2.oid == 0 {
                        4
                    } else {
                        type_width(x.2)
                    }
                }),
                Expr::Const(Value::Text(_)) => 32,
                _ => 4,
            })
            .sum();
        if plan.aggs.is_none() {
            p.width = width;
        }
        {
            // Deparsed also without VERBOSE: the subqueries of the target
            // list are shown as SubPlans either way.
            let q = std::mem::replace(&mut self.dp.qualify, self.multi);
            let out: Vec<String> = plan
                .targets
                .iter()
                .take(plan.visible)
                .map(|t| self.dp.expr(t, &names_after))
                .collect();
            self.dp.qualify = q;
            if self.verbose {
                p.output = out;
            }
        }
        node = node.map(|n| {
            Box::new(crate::exec::ProjectNode {
                input: n,
                targets: plan.targets.clone(),
            }) as Box<dyn Node>
        });
        let sort_keys = |me: &mut Self| -> Vec<String> {
            plan.sort
                .iter()
                .map(|k| {
                    let e = plan
                        .targets
                        .get(k.col)
                        .cloned()
                        .unwrap_or(Expr::Column(k.col));
                    let mut s = me.dp.expr(&e, &names_after);
                    if k.desc {
                        s += " DESC";
                        if !k.nulls_first {
                            s += " NULLS LAST";
                        }
                    } else if k.nulls_first {
                        s += " NULLS FIRST";
                    }
                    s
                })
                .collect()
        };
        if plan.distinct {
            p.parent = Some("Outer");
            let d = PNode {
                node_type: "HashAggregate",
                strategy: Some("Hashed"),
                props: vec![(
                    "Group Key",
                    Prop::List(
                        plan.targets
                            .iter()
                            .map(|t| self.dp.expr(t, &names_after))
                            .collect(),
                    ),
                )],
                startup: p.total + p.rows * CPU_OP,
                total: p.total + p.rows * CPU_OP + (p.rows / 10.0).clamp(1.0, 200.0) * CPU_TUPLE,
                rows: clamp_rows((p.rows / 10.0).clamp(1.0, 200.0)),
                width: p.width,
                children: vec![std::mem::take(&mut p)],
                ..Default::default()
            };
            p = d;
            node = node.map(crate::exec::distinct_node);
            node = instr(node, &mut p, timing);
        }
        let needs_sort = plan.distinct_on.is_some() || (!plan.sort.is_empty() && !presorted);
        if needs_sort {
            let keys = sort_keys(self);
            p.parent = Some("Outer");
            let n = p.rows.max(2.0);
            let startup = p.total + 2.0 * CPU_OP * n * n.log2();
            let s = PNode {
                node_type: "Sort",
                props: vec![("Sort Key", Prop::List(keys))],
                startup,
                total: startup + CPU_OP * p.rows,
                rows: p.rows,
                width: p.width,
                children: vec![std::mem::take(&mut p)],
                ..Default::default()
            };
            p = s;
            node = node.map(|n| {
                Box::new(crate::exec::SortNode {
                    input: n,
                    keys: plan.sort.clone(),
                    bound: None,
                    stable: false,
                    sorted: None,
                }) as Box<dyn Node>
            });
            node = instr(node, &mut p, timing);
        }
        if let Some(keys) = &plan.distinct_on {
            p.parent = Some("Outer");
            let u = PNode {
                node_type: "Unique",
                startup: p.startup,
                total: p.total + p.rows * CPU_OP,
                rows: clamp_rows((p.rows / 10.0).clamp(1.0, 200.0)),
                width: p.width,
                children: vec![std::mem::take(&mut p)],
                ..Default::default()
            };
            p = u;
            node = node.map(|n| {
                Box::new(crate::distinct::DistinctOnNode {
                    input: n,
                    keys: keys.clone(),
                    last: None,
                }) as Box<dyn Node>
            });
            node = instr(node, &mut p, timing);
        }
        if limit.is_some() || offset > 0 || plan.limit.is_some() || plan.offset.is_some() {
            p.parent = Some("Outer");
            let rows = p.rows.max(1.0);
            let run = p.total - p.startup;
            let off = (offset as f64).min(rows);
            let lim = limit.map_or(rows - off, |l| (l as f64).min(rows - off));
            let startup = p.startup + run * off / rows;
            let l = PNode {
                node_type: "Limit",
                startup,
                total: startup + run * lim / rows,
                rows: clamp_rows(lim),
                width: p.width,
                children: vec![std::mem::take(&mut p)],
                ..Default::default()
            };
            p = l;
            node = node.map(|n| {
                Box::new(crate::exec::LimitNode {
                    input: n,
                    offset,
                    limit,
                    emitted: 0,
                    ties: None,
                    last: None,
                }) as Box<dyn Node>
            });
            node = instr(node, &mut p, timing);
        }
        // Subqueries met in this plan's expressions: InitPlans before the
        // node's inputs, SubPlans after, as PostgreSQL prints them.
        let subs: Vec<(String, bool, SelectPlan)> = self.dp.subs.drain(subs_mark..).collect();
        if !subs.is_empty() {
            self.dp.outer.push(names.clone());
            let qualify = self.dp.qualify;
            let mut init = Vec::new();
            for (label, is_init, sp) in subs {
                self.dp.qualify = self.verbose
                    || !matches!(
                        sp.source,
                        Source::Relation(_) | Source::Result | Source::Values(_)
                    );
                let (mut c, _) = self.plan(&sp, &mut None)?;
                c.subplan_name = Some(label);
                c.parent = Some(if is_init { "InitPlan" } else { "SubPlan" });
                if is_init {
                    init.push(c);
                } else {
                    p.children.push(c);
                }
            }
            self.dp.qualify = qualify;
            self.dp.outer.pop();
            let rest = std::mem::take(&mut p.children);
            p.children = init;
            p.children.extend(rest);
        }
        if p.stats.is_none() {
            node = instr(node, &mut p, timing);
        }
        Ok((p, node))
    }
}

/// The width of the columns of `rel` that a plan's steps above its scan
/// read (PostgreSQL's scan target list): targets, or group keys and
/// aggregate arguments; not the columns only the filter reads.
fn needed_width(plan: &SelectPlan, rel: &Relation) -> u32 {
    let mut used = std::collections::BTreeSet::new();
    let mut mark = |e: &Expr| {
        let mut e = e.clone();
        e.visit(0, &mut |x, lvl| {
            if let (Expr::Column(c), 0) = (&*x, lvl) {
                used.insert(*c);
            }
        });
    };
    match &plan.aggs {
        Some(aggs) => {
            for a in aggs {
                for e in a.clone().exprs_mut() {
                    mark(e);
                }
            }
            for g in &plan.group_by {
                mark(&Expr::Column(*g));
            }
        }
        None => {
            for t in &plan.targets {
                mark(t);
            }
            for w in &plan.windows {
                let mut w = w.clone();
                for e in w.exprs_mut() {
                    mark(e);
                }
            }
        }
    }
    used.iter()
        .filter_map(|c| rel.columns.get(*c))
        .map(|c| type_width(c.ty))
        .sum()
}

/// The inputs under one side of a set operation, with a chain of UNIONs
/// of the same kind (`a UNION b UNION c`) flattened, left to right.
fn flatten_members<'s>(src: &'s Source, kind: SetOpKind, all: bool, out: &mut Vec<&'s Source>) {
    match src {
        Source::SetOp(o) if o.kind == kind && o.all == all && kind == SetOpKind::Union => {
            flatten_members(&o.left, kind, all, out);
            flatten_members(&o.right, kind, all, out);
        }
        other => out.push(other),
    }
}

fn int_val(v: &Value) -> Option<i64> {
    match v {
        Value::Int4(i) => Some(*i as i64),
        Value::Int8(i) => Some(*i),
        Value::Int2(i) => Some(*i as i64),
        _ => None,
    }
}

fn const_count(e: &Expr) -> Option<usize> {
    match e {
        Expr::Const(v) => int_val(v).map(|i| i.max(0) as usize),
        Expr::Cast { arg, .. } => const_count(arg),
        _ => None,
    }
}

/// The indexable conjuncts whose value is a constant, without running
/// anything (plain EXPLAIN has no parameters to evaluate).
fn static_quals(quals: &[Expr]) -> Vec<crate::index::ScanQual> {
    let mut out = Vec::new();
    for q in quals {
        if let Expr::Cmp(op, l, r) = q {
            let (col, v, flipped) = match (&**l, &**r) {
                (Expr::Column(c), Expr::Const(v)) => (*c, v, false),
                (Expr::Const(v), Expr::Column(c)) => (*c, v, true),
                (Expr::Column(c), Expr::Param(..)) => (*c, &Value::Bool(true), false),
                (Expr::Param(..), Expr::Column(c)) => (*c, &Value::Bool(true), true),
                _ => continue,
            };
            if v.is_null() {
                continue;
            }
            use crate::index::QualOp;
            let op = match (op, flipped) {
                (CmpOp::Eq, _) => QualOp::Eq,
                (CmpOp::Lt, false) | (CmpOp::Gt, true) => QualOp::Lt,
                (CmpOp::Le, false) | (CmpOp::Ge, true) => QualOp::Le,
                (CmpOp::Gt, false) | (CmpOp::Lt, true) => QualOp::Gt,
                (CmpOp::Ge, false) | (CmpOp::Le, true) => QualOp::Ge,
                (CmpOp::Ne, _) => continue,
            };
            out.push(crate::index::ScanQual {
                col,
                op,
                value: v.clone(),
                expr: None,
            });
        }
    }
    out
}

// ---------------------------------------------------------------------
// Running EXPLAIN.

/// Runs EXPLAIN: the inner statement's plan (executed too with ANALYZE)
/// as rows of one text column.
pub(crate) fn execute(
    e: &ExplainPlan,
    params: &[Value],
    host: &mut dyn Host,
    relations: &dyn Relations,
) -> Result<Vec<Row>, PgError> {
    let executed;
    let mut custom = Vec::new();
    let (e, params) = match &e.execute_args {
        Some(args) => {
            let (inner, values, is_custom) = execute_plan(e, args, host)?;
            if is_custom {
                custom = values.clone();
            }
            executed = (
                ExplainPlan {
                    opts: e.opts.clone(),
                    inner: Box::new(inner),
                    planning_ms: e.planning_ms,
                    execute_args: None,
                },
                values,
            );
            (&executed.0, executed.1.as_slice())
        }
        None => (e, params),
    };
    let o = &e.opts;
    let timing = o.analyze && o.timing != Some(false);
    let multi = match &e.inner.plan {
        crate::Plan::Select(p) => {
            p.merged > 0
                || !matches!(
                    p.source,
                    Source::Relation(_) | Source::Result | Source::Values(_)
                )
        }
        // A MERGE, UPDATE ... FROM or DELETE ... USING reads a join.
        crate::Plan::Modify(m) => matches!(
            m.kind,
            crate::modify::ModifyKind::Merge(_)
                | crate::modify::ModifyKind::Update { from: Some(_), .. }
                | crate::modify::ModifyKind::Delete { from: Some(_), .. }
        ),
        _ => false,
    };
    let mut w = Walk {
        dp: Dp {
            qualify: o.verbose || multi,
            subplans: 0,
            params: 0,
            subs: Vec::new(),
            outer: Vec::new(),
            custom,
        },
        relations,
        verbose: o.verbose,
        multi,
        scan_filtered: false,
    };
    let t0 = Instant::now();
    let mut root = match &e.inner.plan {
        crate::Plan::Select(plan) => {
            if o.analyze {
                USAGE.with(|u| {
                    u.set(if o.buffers {
                        relations.buffer_usage()
                    } else {
                        None
                    })
                });
                let mut plan = (**plan).clone();
                let mut cx = Ctx { host, params };
                crate::exec::prepare_plan(&mut plan, &mut cx, relations)?;
                let mut ex = Some(Exec {
                    cx: &mut cx,
                    relations,
                    timing,
                });
                let built = w.plan(&plan, &mut ex);
                USAGE.with(|u| u.set(None));
                let (p, node) = built?;
                let Some(mut node) = node else {
                    return Err(PgError::error(
                        sqlstate::INTERNAL_ERROR,
                        "EXPLAIN ANALYZE built no executor",
                    ));
                };
                let cx = ex.as_mut().map(|e| &mut *e.cx).expect("set above");
                while node.next(cx)?.is_some() {}
                node.close();
                p
            } else {
                w.plan(plan, &mut None)?.0
            }
        }
        crate::Plan::Modify(m) => {
            let (p, rows) = modify_node(&mut w, m)?;
            let mut p = p;
            conflict_props(&mut p, m, host)?;
            if let (true, crate::modify::ModifyKind::Merge(mp)) = (o.analyze, &m.kind) {
                // MERGE: the join's rows and what became of them.
                let t = Instant::now();
                let c = crate::merge::execute_counted(&m.rel, mp, params, host, relations)?;
                let elapsed = t.elapsed().as_secs_f64() * 1000.0;
                let counted = |rows: u64| {
                    Rc::new(RefCell::new(Stats {
                        rows,
                        loops: 1,
                        started: true,
                        total: elapsed,
                        first: Some(elapsed),
                        input: None,
                        ..Default::default()
                    }))
                };
                p.stats = Some(counted(0));
                if let Some(line) = c.line() {
                    p.props.push(("Tuples", Prop::Text(line)));
                }
                if let Some(ch) = p.children.first_mut() {
                    ch.stats = Some(counted(c.joined));
                }
            } else if o.analyze {
                let t = Instant::now();
                let (returned, tag) = crate::modify::execute(m, params, host, relations)?;
                let _ = rows;
                let elapsed = t.elapsed().as_secs_f64() * 1000.0;
                // The rows the statement changed came out of its input;
                // the modify node hands up only RETURNING rows.
                let changed: u64 = tag
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                let counted = |rows: u64| {
                    Rc::new(RefCell::new(Stats {
                        rows,
                        loops: 1,
                        started: true,
                        total: elapsed,
                        first: Some(elapsed),
                        input: None,
                        ..Default::default()
                    }))
                };
                p.stats = Some(counted(returned.len() as u64));
                if let Some(c) = p.children.first_mut() {
                    c.stats = Some(counted(changed));
                }
            }
            p
        }
        _ => {
            return Err(syntax("syntax error"));
        }
    };
    let _ = &mut root;
    let exec_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let summary = o.summary.unwrap_or(o.analyze);
    let mut out = Output::new(o.format, o);
    out.root(
        &root,
        summary.then_some(e.planning_ms),
        (summary && o.analyze).then_some(exec_ms),
    );
    Ok(out.finish())
}

/// ON CONFLICT's lines of an `Insert` node, as PostgreSQL's
/// ExplainModifyTarget: the action, then the arbiter indexes by name in
/// OID order (none listed for DO NOTHING without a target).
fn conflict_props(
    p: &mut PNode,
    m: &crate::modify::ModifyPlan,
    host: &mut dyn Host,
) -> Result<(), PgError> {
    use crate::bind::upsert::{arbiters, ConflictAction};
    let crate::modify::ModifyKind::Insert {
        on_conflict: Some(oc),
        ..
    } = &m.kind
    else {
        return Ok(());
    };
    let action = match oc.action {
        ConflictAction::Nothing => "NOTHING",
        ConflictAction::Update { .. } => "UPDATE",
    };
    p.props
        .push(("Conflict Resolution", Prop::Text(action.to_string())));
    let tables = host.tables()?;
    let oids = arbiters(tables, &m.rel, &oc.target)?;
    if !oids.is_empty() {
        let mut named: Vec<(u32, String)> = tables
            .unique_indexes(&m.rel)?
            .into_iter()
            .filter(|(o, ..)| oids.contains(o))
            .map(|(o, n, _)| (o, n))
            .collect();
        named.sort();
        p.props.push((
            "Conflict Arbiter Indexes",
            Prop::List(named.into_iter().map(|(_, n)| n).collect()),
        ));
    }
    Ok(())
}

/// INSERT/UPDATE/DELETE as PostgreSQL shows them: `Insert on t` over its
/// source.
fn modify_node(w: &mut Walk, m: &crate::modify::ModifyPlan) -> Result<(PNode, f64), PgError> {
    use crate::modify::{InsertRows, ModifyKind};
    let rel = &m.rel;
    let mut p = PNode {
        relation: Some((
            rel.name.clone(),
            rel.schema.clone(),
            if w.verbose {
                format!("{}.{}", quote(&rel.schema), quote(&rel.name))
            } else {
                quote(&rel.name)
            },
        )),
        ..Default::default()
    };
    let mut child = match &m.kind {
        ModifyKind::Insert { rows, .. } => {
            p.node_type = "Insert";
            match rows {
                InsertRows::Values(v) if v.len() == 1 => PNode {
                    node_type: "Result",
                    total: 0.01,
                    rows: 1.0,
                    width: 4,
                    ..Default::default()
                },
                InsertRows::Values(v) => PNode {
                    node_type: "Values Scan",
                    scan_name: Some("\"*VALUES*\"".into()),
                    total: v.len() as f64 * (CPU_OP + CPU_TUPLE),
                    rows: v.len() as f64,
                    width: 4,
                    ..Default::default()
                },
                InsertRows::Select(sp, _) => {
                    let (c, _) = w.plan(sp, &mut None)?;
                    c
                }
            }
        }
        ModifyKind::Merge(mp) => {
            // `Merge on t` over the join of the source with the target.
            p.node_type = "Merge";
            if let Some((_, _, shown)) = p.relation.as_mut() {
                if let Some(a) = rel.alias.as_ref().filter(|a| **a != rel.name) {
                    *shown = format!("{shown} {}", quote(a));
                }
            }
            w.plan(&mp.join, &mut None)?.0
        }
        ModifyKind::Update { filter, from, .. } | ModifyKind::Delete { filter, from } => {
            p.node_type = if matches!(m.kind, ModifyKind::Update { .. }) {
                "Update"
            } else {
                "Delete"
            };
            match from {
                // UPDATE ... FROM / DELETE ... USING: the join under it.
                Some(fp) => {
                    let mut fp = (**fp).clone();
                    fp.filter = filter.clone();
                    w.plan(&fp, &mut None)?.0
                }
                None => w.scan(rel, filter.as_ref(), None, &mut None)?.0,
            }
        }
    };
    child.parent = Some("Outer");
    p.startup = child.startup;
    p.total = child.total + child.rows * CPU_TUPLE;
    p.rows = 0.0;
    p.width = 0;
    let rows = child.rows;
    p.children.push(child);
    Ok((p, rows))
}

// ---------------------------------------------------------------------
// Printing.

struct Output<'o> {
    format: Format,
    opts: &'o Options,
    lines: Vec<String>,
}

fn ms(v: f64) -> String {
    format!("{v:.3}")
}

impl<'o> Output<'o> {
    fn new(format: Format, opts: &'o Options) -> Self {
        Output {
            format,
            opts,
            lines: Vec::new(),
        }
    }

    fn heading(&self, p: &PNode) -> String {
        let mut s = String::new();
        match p.node_type {
            "Hash Join" | "Nested Loop" | "Merge Join" => match p.join_type {
                Some("Inner") | None => s += p.node_type,
                Some(j) => {
                    s += p.node_type.trim_end_matches(" Join");
                    s += " ";
                    s += j;
                    s += " Join";
                }
            },
            "Index Scan" | "Index Only Scan" => {
                s += p.node_type;
                if p.backward {
                    s += " Backward";
                }
                s += &format!(" using {}", quote(p.index.as_deref().unwrap_or("?")));
                if let Some((_, _, shown)) = &p.relation {
                    s += &format!(" on {shown}");
                }
            }
            "Insert" | "Update" | "Delete" | "Merge" | "Seq Scan" => {
                s += p.node_type;
                if let Some((_, _, shown)) = &p.relation {
                    s += &format!(" on {shown}");
                }
            }
            "HashSetOp" => {
                s += "HashSetOp";
                if let Some((_, Prop::Text(c))) = p.props.iter().find(|x| x.0 == "Command") {
                    s += " ";
                    s += c;
                }
            }
            other => {
                s += other;
                if let Some(n) = &p.scan_name {
                    s += &format!(" on {n}");
                }
            }
        }
        s
    }

    fn est(&self, p: &PNode) -> String {
        format!(
            "(cost={:.2}..{:.2} rows={} width={})",
            p.startup, p.total, p.rows as i64, p.width
        )
    }

    fn actual(&self, p: &PNode) -> Option<String> {
        if !self.opts.analyze {
            return None;
        }
        let timing = self.opts.timing != Some(false);
        Some(match &p.stats {
            Some(s) if s.borrow().loops > 0 => {
                let s = s.borrow();
                if timing {
                    format!(
                        "(actual time={}..{} rows={} loops={})",
                        ms(s.first.unwrap_or(s.total)),
                        ms(s.total),
                        s.rows,
                        s.loops
                    )
                } else {
                    format!("(actual rows={} loops={})", s.rows, s.loops)
                }
            }
            Some(_) => "(never executed)".into(),
            // Not counted (a subquery's plan, run by the expression that
            // holds it): no figures rather than wrong ones.
            None => return None,
        })
    }

    fn root(&mut self, p: &PNode, planning: Option<f64>, execution: Option<f64>) {
        match self.format {
            Format::Text => {
                self.text(p, None);
                if let Some(t) = planning {
                    self.lines.push(format!("Planning Time: {} ms", ms(t)));
                }
                if let Some(t) = execution {
                    self.lines.push(format!("Execution Time: {} ms", ms(t)));
                }
            }
            Format::Json => {
                let mut s = String::from("[\n  {\n    \"Plan\": ");
                s += &self.json(p, 4);
                if let Some(t) = planning {
                    s += &format!(",\n    \"Planning Time\": {}", ms(t));
                }
                if self.opts.analyze {
                    s += ",\n    \"Triggers\": [\n    ]";
                }
                if let Some(t) = execution {
                    s += &format!(",\n    \"Execution Time\": {}", ms(t));
                }
                s += "\n  }\n]";
                self.lines.push(s);
            }
            Format::Yaml => {
                let mut s = String::from("- Plan: \n");
                s += &self.yaml(p, 4);
                if let Some(t) = planning {
                    s += &format!("\n  Planning Time: {}", ms(t));
                }
                if self.opts.analyze {
                    s += "\n  Triggers: ";
                }
                if let Some(t) = execution {
                    s += &format!("\n  Execution Time: {}", ms(t));
                }
                self.lines.push(s);
            }
            Format::Xml => {
                let mut s = String::from(
                    "<explain xmlns=\"http://www.postgresql.org/2009/explain\">\n  <Query>\n    <Plan>\n",
                );
                s += &self.xml(p, 6);
                s += "    </Plan>\n";
                if let Some(t) = planning {
                    s += &format!("    <Planning-Time>{}</Planning-Time>\n", ms(t));
                }
                if self.opts.analyze {
                    s += "    <Triggers>\n    </Triggers>\n";
                }
                if let Some(t) = execution {
                    s += &format!("    <Execution-Time>{}</Execution-Time>\n", ms(t));
                }
                s += "  </Query>\n</explain>";
                self.lines.push(s);
            }
        }
    }

    /// One node and its children; `head_pad`: the spaces before its
    /// `->  ` (None: the root, which has no arrow).
    fn text(&mut self, p: &PNode, head_pad: Option<usize>) {
        let mut head = String::new();
        if let Some(hp) = head_pad {
            head += &" ".repeat(hp);
            head += "->  ";
        }
        head += &self.heading(p);
        if self.opts.costs {
            head += "  ";
            head += &self.est(p);
        }
        if let Some(a) = self.actual(p) {
            head += " ";
            head += &a;
        }
        self.lines.push(head);
        let props_pad = head_pad.map_or(2, |h| h + 6);
        let pad = " ".repeat(props_pad);
        if !p.output.is_empty() {
            self.lines
                .push(format!("{pad}Output: {}", p.output.join(", ")));
        }
        for (k, v) in &p.props {
            if *k == "Command" {
                continue;
            }
            let v = match v {
                Prop::Text(t) => t.clone(),
                Prop::List(l) => l.join(", "),
            };
            self.lines.push(format!("{pad}{k}: {v}"));
            if *k == "Filter" {
                if let Some(removed) = self.removed(p).filter(|r| *r > 0) {
                    self.lines
                        .push(format!("{pad}Rows Removed by Filter: {removed}"));
                }
            }
        }
        if let Some((hit, read)) = self.buffers(p) {
            let mut b = String::from("Buffers: shared");
            if hit > 0 {
                b += &format!(" hit={hit}");
            }
            if read > 0 {
                b += &format!(" read={read}");
            }
            self.lines.push(format!("{pad}{b}"));
        }
        for c in &p.children {
            match &c.subplan_name {
                Some(label) => {
                    self.lines.push(format!("{pad}{label}"));
                    self.text(c, Some(props_pad + 2));
                }
                None => self.text(c, Some(props_pad)),
            }
        }
    }

    /// The node's buffer counts when BUFFERS asked for them and any was
    /// counted (text omits an all-zero line, as PostgreSQL).
    fn buffers(&self, p: &PNode) -> Option<(u64, u64)> {
        if !(self.opts.analyze && self.opts.buffers) {
            return None;
        }
        let s = p.stats.as_ref()?.borrow();
        (s.hit > 0 || s.read > 0).then_some((s.hit, s.read))
    }

    fn removed(&self, p: &PNode) -> Option<u64> {
        if !self.opts.analyze {
            return None;
        }
        let s = p.stats.as_ref()?.borrow();
        let input = s.input.as_ref()?.borrow();
        Some(input.rows.saturating_sub(s.rows))
    }

    /// The node's fields in EXPLAIN's structured order, as (key, value
    /// already formatted for JSON; strings quoted).
    fn fields(&self, p: &PNode) -> Vec<(String, Field)> {
        let mut f: Vec<(String, Field)> = Vec::new();
        let s = |x: &str| Field::Str(x.to_string());
        f.push((
            "Node Type".into(),
            s(match p.node_type {
                "Insert" | "Update" | "Delete" | "Merge" => "ModifyTable",
                "HashAggregate" | "GroupAggregate" => "Aggregate",
                "HashSetOp" => "SetOp",
                n => n,
            }),
        ));
        if matches!(p.node_type, "Insert" | "Update" | "Delete" | "Merge") {
            f.push(("Operation".into(), s(p.node_type)));
        }
        if let Some(st) = p.strategy {
            f.push(("Strategy".into(), s(st)));
            if p.node_type != "HashSetOp" {
                f.push(("Partial Mode".into(), s("Simple")));
            }
        }
        if let Some(par) = p.parent {
            f.push(("Parent Relationship".into(), s(par)));
        }
        if let Some(name) = &p.subplan_name {
            f.push(("Subplan Name".into(), s(name)));
        }
        f.push(("Parallel Aware".into(), Field::Bool(false)));
        f.push(("Async Capable".into(), Field::Bool(false)));
        if let Some(j) = p.join_type {
            f.push(("Join Type".into(), s(j)));
        }
        if matches!(p.node_type, "Index Scan" | "Index Only Scan") {
            f.push((
                "Scan Direction".into(),
                s(if p.backward { "Backward" } else { "Forward" }),
            ));
            f.push(("Index Name".into(), s(p.index.as_deref().unwrap_or(""))));
        }
        if let Some((name, schema, _)) = &p.relation {
            f.push(("Relation Name".into(), s(name)));
            if self.opts.verbose {
                f.push(("Schema".into(), s(schema)));
            }
            f.push(("Alias".into(), s(p.alias.as_deref().unwrap_or(name))));
        }
        if let Some(fname) = &p.function_name {
            f.push(("Function Name".into(), s(fname)));
            f.push(("Alias".into(), s(fname)));
        } else if p.node_type == "Values Scan" {
            f.push(("Alias".into(), s("*VALUES*")));
        }
        if self.opts.costs {
            f.push((
                "Startup Cost".into(),
                Field::Num(format!("{:.2}", p.startup)),
            ));
            f.push(("Total Cost".into(), Field::Num(format!("{:.2}", p.total))));
            f.push(("Plan Rows".into(), Field::Num((p.rows as i64).to_string())));
            f.push(("Plan Width".into(), Field::Num(p.width.to_string())));
        }
        if self.opts.analyze {
            match &p.stats {
                Some(st) if st.borrow().loops > 0 => {
                    let st = st.borrow();
                    if self.opts.timing != Some(false) {
                        f.push((
                            "Actual Startup Time".into(),
                            Field::Num(ms(st.first.unwrap_or(st.total))),
                        ));
                        f.push(("Actual Total Time".into(), Field::Num(ms(st.total))));
                    }
                    f.push(("Actual Rows".into(), Field::Num(st.rows.to_string())));
                    f.push(("Actual Loops".into(), Field::Num(st.loops.to_string())));
                }
                None => {}
                _ => {
                    if self.opts.timing != Some(false) {
                        f.push(("Actual Startup Time".into(), Field::Num("0.000".into())));
                        f.push(("Actual Total Time".into(), Field::Num("0.000".into())));
                    }
                    f.push(("Actual Rows".into(), Field::Num("0".into())));
                    f.push(("Actual Loops".into(), Field::Num("0".into())));
                }
            }
        }
        if !p.output.is_empty() {
            f.push(("Output".into(), Field::List(p.output.clone())));
        }
        for (k, v) in &p.props {
            match v {
                Prop::Text(t) => f.push((k.to_string(), s(t))),
                Prop::List(l) => f.push((k.to_string(), Field::List(l.clone()))),
            }
            if *k == "Filter" {
                if let Some(r) = self.removed(p) {
                    f.push(("Rows Removed by Filter".into(), Field::Num(r.to_string())));
                }
            }
        }
        if self.opts.analyze && self.opts.buffers {
            let (hit, read) = p
                .stats
                .as_ref()
                .map_or((0, 0), |s| (s.borrow().hit, s.borrow().read));
            f.push(("Shared Hit Blocks".into(), Field::Num(hit.to_string())));
            f.push(("Shared Read Blocks".into(), Field::Num(read.to_string())));
        }
        f
    }

    fn json(&self, p: &PNode, indent: usize) -> String {
        let pad = " ".repeat(indent + 2);
        let mut parts: Vec<String> = self
            .fields(p)
            .into_iter()
            .map(|(k, v)| format!("{pad}{}: {}", json_str(&k), v.json(indent + 2)))
            .collect();
        if !p.children.is_empty() {
            let kids: Vec<String> = p
                .children
                .iter()
                .map(|c| format!("{}  {}", pad, self.json(c, indent + 4)))
                .collect();
            parts.push(format!("{pad}\"Plans\": [\n{}\n{pad}]", kids.join(",\n")));
        }
        format!("{{\n{}\n{}}}", parts.join(",\n"), " ".repeat(indent))
    }

    fn yaml(&self, p: &PNode, indent: usize) -> String {
        let pad = " ".repeat(indent);
        let mut parts: Vec<String> = self
            .fields(p)
            .into_iter()
            .map(|(k, v)| format!("{pad}{}: {}", yaml_key(&k), v.yaml(indent)))
            .collect();
        if !p.children.is_empty() {
            let kids: Vec<String> = p
                .children
                .iter()
                .map(|c| {
                    let body = self.yaml(c, indent + 4);
                    format!("{pad}  - {}", &body[indent + 4..])
                })
                .collect();
            parts.push(format!("{pad}Plans: \n{}", kids.join("\n")));
        }
        parts.join("\n")
    }

    fn xml(&self, p: &PNode, indent: usize) -> String {
        let pad = " ".repeat(indent);
        let mut s = String::new();
        for (k, v) in self.fields(p) {
            let tag = k.replace(' ', "-");
            match v {
                Field::List(l) => {
                    s += &format!("{pad}<{tag}>\n");
                    for i in l {
                        s += &format!("{pad}  <Item>{}</Item>\n", xml_escape(&i));
                    }
                    s += &format!("{pad}</{tag}>\n");
                }
                Field::Str(t) => s += &format!("{pad}<{tag}>{}</{tag}>\n", xml_escape(&t)),
                Field::Num(t) => s += &format!("{pad}<{tag}>{t}</{tag}>\n"),
                Field::Bool(b) => s += &format!("{pad}<{tag}>{b}</{tag}>\n"),
            }
        }
        if !p.children.is_empty() {
            s += &format!("{pad}<Plans>\n");
            for c in &p.children {
                s += &format!("{pad}  <Plan>\n");
                s += &self.xml(c, indent + 4);
                s += &format!("{pad}  </Plan>\n");
            }
            s += &format!("{pad}</Plans>\n");
        }
        s
    }

    fn finish(self) -> Vec<Row> {
        self.lines
            .into_iter()
            .map(|l| vec![Value::Text(l)])
            .collect()
    }
}

enum Field {
    Str(String),
    Num(String),
    Bool(bool),
    List(Vec<String>),
}

impl Field {
    fn json(&self, indent: usize) -> String {
        match self {
            Field::Str(s) => json_str(s),
            Field::Num(n) => n.clone(),
            Field::Bool(b) => b.to_string(),
            Field::List(l) => {
                let pad = " ".repeat(indent + 2);
                let items: Vec<String> =
                    l.iter().map(|i| format!("{pad}{}", json_str(i))).collect();
                format!("[\n{}\n{}]", items.join(",\n"), " ".repeat(indent))
            }
        }
    }

    fn yaml(&self, indent: usize) -> String {
        match self {
            Field::Str(s) => yaml_str(s),
            Field::Num(n) => n.clone(),
            Field::Bool(b) => b.to_string(),
            Field::List(l) => {
                let pad = " ".repeat(indent + 2);
                let items: Vec<String> = l
                    .iter()
                    .map(|i| format!("{pad}- {}", yaml_str(i)))
                    .collect();
                format!("\n{}", items.join("\n"))
            }
        }
    }
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o += "\\\"",
            '\\' => o += "\\\\",
            '\n' => o += "\\n",
            '\t' => o += "\\t",
            '\r' => o += "\\r",
            c if (c as u32) < 0x20 => o += &format!("\\u{:04x}", c as u32),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn yaml_key(s: &str) -> String {
    s.to_string()
}

/// YAML scalar as PostgreSQL's escape_yaml: quoted always.
fn yaml_str(s: &str) -> String {
    json_str(s)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The SQL name of a set-returning function in FROM (arrays.rs).
fn srf_name(op: crate::arrays::SrfOp) -> &'static str {
    use crate::arrays::SrfOp;
    match op {
        SrfOp::Unnest => "unnest",
        SrfOp::Subscripts => "generate_subscripts",
        SrfOp::SplitToTable => "regexp_split_to_table",
        SrfOp::Matches => "regexp_matches",
        SrfOp::Json(..) => "json_each",
        SrfOp::Ts(t) => crate::tsearch::srf_name(t),
        SrfOp::Partitions(false) => "pg_partition_ancestors",
        SrfOp::Partitions(true) => "pg_partition_tree",
        SrfOp::Series(_) => "generate_series",
        SrfOp::Options => "pg_options_to_table",
    }
}

/// `e`, an expression over `rel`'s row, as ruleutils deparses it with
/// unqualified column names: the stored form of an index's expressions
/// and predicate (pg_index.indexprs / indpred) and of the scan conjuncts
/// matched against them (crate::index).
pub(crate) fn deparse_over(rel: &Relation, e: &Expr) -> String {
    let names = Names {
        cols: rel
            .columns
            .iter()
            .map(|c| (None, c.name.clone(), c.ty))
            .chain(
                crate::catalog::SYSTEM_COLUMNS
                    .iter()
                    .map(|(n, t)| (None, n.to_string(), types::Ty::new(*t))),
            )
            .collect(),
    };
    let mut dp = Dp {
        qualify: false,
        subplans: 0,
        params: 0,
        subs: Vec::new(),
        outer: Vec::new(),
        custom: Vec::new(),
    };
    dp.expr(e, &names)
}

/// The SQL name of a built-in function (`lower`), as EXPLAIN prints it.
pub(crate) fn function_name(f: crate::func::Func) -> &'static str {
    func_name(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::ArithOp;

    fn names() -> Names {
        Names {
            cols: vec![
                (Some("t".into()), "a".into(), types::Ty::new(types::INT4)),
                (Some("t".into()), "b".into(), types::Ty::new(types::TEXT)),
                (
                    Some("t".into()),
                    "Mixed".into(),
                    types::Ty::new(types::INT4),
                ),
            ],
        }
    }

    fn dp(qualify: bool) -> Dp {
        Dp {
            qualify,
            subplans: 0,
            params: 0,
            subs: Vec::new(),
            outer: Vec::new(),
            custom: Vec::new(),
        }
    }

    fn col(i: usize) -> Box<Expr> {
        Box::new(Expr::Column(i))
    }

    fn c(v: Value) -> Box<Expr> {
        Box::new(Expr::Const(v))
    }

    #[test]
    fn comparisons_and_constants() {
        let n = names();
        let e = Expr::Cmp(CmpOp::Gt, col(0), c(Value::Int4(5)));
        assert_eq!(dp(false).expr(&e, &n), "(a > 5)");
        assert_eq!(dp(true).expr(&e, &n), "(t.a > 5)");
        let e = Expr::Cmp(CmpOp::Eq, col(1), c(Value::Text("it's".into())));
        assert_eq!(dp(false).expr(&e, &n), "(b = 'it''s'::text)");
        let e = Expr::Cmp(CmpOp::Lt, col(0), c(Value::Int4(-3)));
        assert_eq!(dp(false).expr(&e, &n), "(a < '-3'::integer)");
        let e = Expr::Cmp(CmpOp::Eq, col(2), c(Value::Int8(7)));
        assert_eq!(dp(false).expr(&e, &n), "(\"Mixed\" = 7)");
        let e = Expr::Cmp(CmpOp::Eq, col(2), c(Value::Int8(1 << 40)));
        assert_eq!(
            dp(false).expr(&e, &n),
            "(\"Mixed\" = '1099511627776'::bigint)"
        );
    }

    #[test]
    fn boolean_structure() {
        let n = names();
        let a = Expr::Cmp(CmpOp::Gt, col(0), c(Value::Int4(1)));
        let b = Expr::IsNull(col(1), false);
        let e = Expr::And(vec![a.clone(), b.clone()]);
        assert_eq!(dp(false).expr(&e, &n), "((a > 1) AND (b IS NULL))");
        let e = Expr::Or(vec![a.clone(), Expr::Not(Box::new(b))]);
        assert_eq!(dp(false).expr(&e, &n), "((a > 1) OR (NOT (b IS NULL)))");
        let e = Expr::Arith(ArithOp::Add, col(0), c(Value::Int4(1)));
        assert_eq!(dp(false).expr(&e, &n), "(a + 1)");
        assert_eq!(
            qual_text(
                &mut dp(false),
                &conjuncts(&Expr::And(vec![a.clone(), a])),
                &n
            ),
            "((a > 1) AND (a > 1))"
        );
    }

    #[test]
    fn in_list_and_like() {
        let n = names();
        let e = Expr::InList(
            col(0),
            vec![Expr::Const(Value::Int4(1)), Expr::Const(Value::Int4(2))],
            false,
        );
        assert_eq!(dp(false).expr(&e, &n), "(a = ANY ('{1,2}'::integer[]))");
        let e = Expr::Like {
            arg: col(1),
            pattern: c(Value::Text("x%".into())),
            escape: None,
            case_insensitive: false,
            negated: false,
        };
        assert_eq!(dp(false).expr(&e, &n), "(b ~~ 'x%'::text)");
    }

    #[test]
    fn options() {
        let (o, at) = parse_options("EXPLAIN (COSTS OFF, analyze, format json) SELECT 1").unwrap();
        assert!(!o.costs && o.analyze && o.format == Format::Json);
        assert_eq!(
            &"EXPLAIN (COSTS OFF, analyze, format json) SELECT 1"[at..].trim(),
            &"SELECT 1"
        );
        let (o, at) = parse_options("explain analyze verbose select 1").unwrap();
        assert!(o.analyze && o.verbose);
        assert_eq!(at, "explain analyze verbose".len());
        let e = parse_options("EXPLAIN (foo) SELECT 1").unwrap_err();
        assert_eq!(e.message, "unrecognized EXPLAIN option \"foo\"");
        assert_eq!(e.code, sqlstate::SYNTAX_ERROR);
        let e = parse_options("EXPLAIN (format foo) SELECT 1").unwrap_err();
        assert_eq!(e.code, sqlstate::INVALID_PARAMETER_VALUE);
    }

    #[test]
    fn seq_scan_cost_is_postgres_default() {
        // A never-analyzed empty table of one int4 column: PostgreSQL
        // prints cost=0.00..35.50 rows=2550 width=4.
        let tuple_width = 4.0 + 24.0;
        let density: f64 = ((8192.0 - 24.0) / (tuple_width + 4.0f64)).floor();
        let tuples = density * 10.0;
        assert_eq!(tuples, 2550.0);
        assert_eq!(format!("{:.2}", 10.0 + tuples * CPU_TUPLE), "35.50");
    }
}
