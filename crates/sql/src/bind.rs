//! The binder: sqlparser's syntax tree to typed [`Expr`]s and a
//! [`SelectPlan`], following PostgreSQL's rules for literal types,
//! operator and function resolution, implicit casts and parameter type
//! inference.
//!
//! Untyped things (quoted literals, NULL, `$n` without a declared type)
//! start as `unknown` and take the type their context demands: the other
//! operand of an operator, a function's parameter, a cast. A parameter
//! typed that way keeps its type for the rest of the statement;
//! [`crate::prepare`] binds twice so that every occurrence of `$n` sees the
//! type the whole statement gave it, and what is still unknown at the end
//! becomes text, as PostgreSQL reports it in ParameterDescription.

use sqlparser::ast::{self, BinaryOperator, UnaryOperator};

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::cast;
use crate::catalog;
use crate::expr::{ArithOp, CmpOp, Expr, SubLink, SubLinkKind};
use crate::func::{self, Args};
use crate::host::Host;
use crate::plan::{AggCall, JoinKind, JoinPlan, SelectPlan, SetOpKind, SetOpPlan, SortKey, Source};
use crate::types::{self, Category, Oid, Ty};
use crate::value::Value;
use crate::Column;

pub(crate) mod agg;
pub(crate) mod array;
mod assign;
pub(crate) mod datetime;
mod errpos;
pub(crate) mod fdep;
mod geometry;
pub(crate) mod json;
mod merge;
mod ordset;
mod range;
pub(crate) mod rowexpr;
mod rowtype;
pub(crate) use rowtype::{record_cmp, row_cmp};
mod scalars;
mod srf;
mod tsearch;
pub(crate) mod upsert;
mod useroper;
pub(crate) mod view_dml;
mod viewref;

/// Deepest expression nesting the binder accepts. PostgreSQL bounds this
/// with max_stack_depth; a fixed limit keeps evaluation's recursion small.
const MAX_DEPTH: usize = 1000;

/// Most items a select list may have (PostgreSQL's `MaxTupleAttributeNumber`).
const MAX_TARGET_ENTRIES: usize = 1664;

pub(crate) fn not_supported(what: impl Into<String>) -> PgError {
    PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!("{} is not supported yet", what.into()),
    )
}

/// `ORDER BY x USING op`: whether `op` sorts descending. The btree
/// ordering members are `<` (ascending) and `>` (descending, NULLs first
/// by default as for DESC); PostgreSQL refuses any other operator.
pub(crate) fn order_using(op: &ast::ObjectName) -> Result<bool, PgError> {
    let name =
        op.0.last()
            .and_then(|p| p.as_ident())
            .map(|i| i.value.clone())
            .unwrap_or_else(|| op.to_string());
    let name = name
        .trim_start_matches("OPERATOR(")
        .trim_end_matches(')')
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_string();
    match name.as_str() {
        // text_pattern_ops' orderings compare bytes, which is how text
        // sorts here (the C collation), so they are the plain directions.
        "<" | "~<~" => Ok(false),
        ">" | "~>~" => Ok(true),
        _ => Err(PgError::error(
            sqlstate::WRONG_OBJECT_TYPE,
            format!("operator {name} is not a valid ordering operator"),
        )
        .with_hint(
            "Ordering operators must be \"<\" or \">\" members of btree operator families.",
        )),
    }
}

fn syntax(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

/// An expression with its type.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    pub e: Expr,
    pub ty: Ty,
    /// For a literal as written (still of type unknown): its position in
    /// the client's query string, given to the error if its input
    /// conversion fails (`'x'::int`, `intcol = 'x'`, `VALUES ('x')`).
    pub pos: Option<u32>,
}

impl Bound {
    pub(crate) fn new(e: Expr, ty: Ty) -> Bound {
        Bound { e, ty, pos: None }
    }
    pub(crate) fn is_unknown(&self) -> bool {
        self.ty.oid == types::UNKNOWN
    }
}

/// An identifier as PostgreSQL folds it: unquoted is lower-cased.
pub(crate) fn ident_name(i: &ast::Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_lowercase()
    }
}

pub(crate) fn object_name_parts(n: &ast::ObjectName) -> Result<Vec<String>, PgError> {
    n.0.iter()
        .map(|p| match p {
            ast::ObjectNamePart::Identifier(i) => Ok(ident_name(i)),
            ast::ObjectNamePart::Function(_) => {
                Err(syntax(format!("syntax error at or near \"{n}\"")))
            }
        })
        .collect()
}

/// A column a name can resolve to: its expression over the FROM row
/// (a column, or for a FULL JOIN's USING column the COALESCE of both).
#[derive(Clone)]
struct ScopeCol {
    name: String,
    ty: Ty,
    expr: Expr,
    /// A USING/NATURAL join merged this column into one: an unqualified
    /// name finds the merged column, not this one.
    merged: bool,
    /// The role may read this table column only through privileges it
    /// lacks (column privileges, acl.rs): a reference to it is 42501
    /// "permission denied for table <this>".
    denied: Option<String>,
}

/// One FROM item in scope: the name it is known by (none for the merged
/// columns of a join), its schema (a function or subquery has none) and
/// its columns.
#[derive(Clone)]
struct RangeItem {
    alias: Option<String>,
    schema: Option<String>,
    cols: Vec<ScopeCol>,
    /// How many of `cols` `t.*` expands to (a table's system columns
    /// follow them and are reachable only by name).
    visible: usize,
    /// The named row type of a whole-row reference to this item (a
    /// table's), 0 for an anonymous record.
    rowtype: Oid,
}

/// What the names of a query level resolve to: its FROM items, in order,
/// over one row of `width` columns (a join's row is its left input's
/// columns then its right input's).
#[derive(Clone, Default)]
struct Scope {
    items: Vec<RangeItem>,
    /// What `*` expands to (USING columns once, first): name, type,
    /// expression and the name a grouping error shows (`t.a`).
    star: Vec<(String, Ty, Expr, String)>,
    width: usize,
}

impl RangeItem {
    /// A qualifier (`t` or `schema.t`) names this item.
    fn answers_to(&self, q: &[String]) -> bool {
        match (q, &self.alias) {
            ([t], Some(a)) => t == a,
            ([s, t], Some(a)) => Some(s) == self.schema.as_ref() && t == a,
            _ => false,
        }
    }
}

impl Scope {
    /// The table a reference to the column computed by `e` is denied on
    /// (column privileges), if any.
    fn denied_of(&self, e: &Expr) -> Option<&str> {
        self.items
            .iter()
            .flat_map(|it| &it.cols)
            .find(|c| {
                c.denied.is_some()
                    && matches!((&c.expr, e), (Expr::Column(a), Expr::Column(b)) if a == b)
            })
            .and_then(|c| c.denied.as_deref())
    }

    /// A scope of one item whose columns are `0..cols.len()` of the row.
    fn single(
        alias: Option<String>,
        schema: Option<String>,
        cols: Vec<(String, Ty)>,
        visible: usize,
    ) -> Scope {
        let cols: Vec<ScopeCol> = cols
            .into_iter()
            .enumerate()
            .map(|(i, (name, ty))| ScopeCol {
                name,
                ty,
                expr: Expr::Column(i),
                merged: false,
                denied: None,
            })
            .collect();
        let star = cols[..visible]
            .iter()
            .map(|c| {
                let shown = match &alias {
                    Some(a) => format!("{a}.{}", c.name),
                    None => c.name.clone(),
                };
                (c.name.clone(), c.ty, c.expr.clone(), shown)
            })
            .collect();
        Scope {
            width: cols.len(),
            items: vec![RangeItem {
                alias,
                schema,
                cols,
                visible,
                rowtype: 0,
            }],
            star,
        }
    }

    /// The item a qualifier names, or 42P01.
    fn item(&self, q: &[String]) -> Result<&RangeItem, PgError> {
        self.items
            .iter()
            .find(|it| it.answers_to(q))
            .ok_or_else(|| missing_from_entry(q))
    }

    /// Resolve a column name: `Ok(None)` if nothing here has it (an
    /// enclosing query may), 42702 if several items do.
    fn lookup(
        &self,
        qualifier: Option<&[String]>,
        name: &str,
    ) -> Result<Option<&ScopeCol>, PgError> {
        if let Some(q) = qualifier {
            return Ok(self.item(q)?.cols.iter().find(|c| c.name == name));
        }
        let mut found: Option<&ScopeCol> = None;
        for c in self.items.iter().flat_map(|it| &it.cols) {
            if c.name == name && !c.merged {
                if found.is_some() {
                    return Err(PgError::error(
                        sqlstate::AMBIGUOUS_COLUMN,
                        format!("column reference \"{name}\" is ambiguous"),
                    ));
                }
                found = Some(c);
            }
        }
        Ok(found)
    }

    /// The name shown for a column in a grouping error (`t.a`).
    fn shown(&self, c: &ScopeCol) -> String {
        let owner = self
            .items
            .iter()
            .find(|it| it.cols.iter().any(|x| std::ptr::eq(x, c)))
            .and_then(|it| it.alias.clone());
        match owner {
            Some(a) => format!("{a}.{}", c.name),
            None => c.name.clone(),
        }
    }
}

/// The scope of a relation in FROM (or the target of INSERT, UPDATE,
/// DELETE): its columns, then for a table its system columns.
/// Marks the columns of `scope`'s single item that `denied` flags (see
/// acl::check_relation_columns); the system columns after them too.
fn mark_denied(scope: &mut Scope, rel: &catalog::Relation, denied: Option<Vec<bool>>) {
    if let (Some(d), Some(item)) = (denied, scope.items.first_mut()) {
        for (i, c) in item.cols.iter_mut().enumerate() {
            if d.get(i).copied().unwrap_or(true) {
                c.denied = Some(rel.name.clone());
            }
        }
    }
}

fn relation_scope(rel: &catalog::Relation, alias: String) -> Scope {
    let mut cols: Vec<(String, Ty)> = rel.columns.iter().map(|c| (c.name.clone(), c.ty)).collect();
    let visible = cols.len();
    if let catalog::RelationSource::Table(_) = rel.source {
        for (n, t) in catalog::SYSTEM_COLUMNS {
            cols.push((n.to_string(), Ty::new(t)));
        }
    }
    let mut scope = Scope::single(Some(alias), Some(rel.schema.clone()), cols, visible);
    if let catalog::RelationSource::Table(t) = &rel.source {
        if let Some(c) = tusk_types::composite::of_relation(t.oid) {
            scope.items[0].rowtype = c.oid;
        }
    }
    scope
}

/// A qualifier that names no relation in scope (42P01).
fn missing_from_entry(q: &[String]) -> PgError {
    PgError::error(
        sqlstate::UNDEFINED_TABLE,
        format!(
            "missing FROM-clause entry for table \"{}\"",
            q.last().map(String::as_str).unwrap_or("")
        ),
    )
}

/// How an expression uses a subquery's rows.
enum SubUse<'a> {
    Exists(bool),
    Scalar,
    /// `lhs op ANY|ALL (...)` (true: ALL), negated for NOT IN.
    In(&'a ast::Expr, CmpOp, bool, bool),
}

/// An enclosing query's binding state, kept while a subquery is bound.
#[derive(Default)]
struct Level {
    scope: Option<Scope>,
    grouping: Option<Vec<usize>>,
    group_exprs: Vec<(String, Expr, Ty, usize)>,
    aggs: Vec<AggCall>,
    aggs_allowed: Option<&'static str>,
    in_agg: bool,
    ungrouped: Option<String>,
    track_ungrouped: bool,
}

pub(crate) struct Binder<'h> {
    pub(crate) host: &'h dyn Host,
    /// Types of `$1..$n` so far (None = not yet known).
    pub params: Vec<Option<Ty>>,
    now: i64,
    depth: usize,
    scope: Option<Scope>,
    /// The enclosing queries' names while a subquery is bound, innermost
    /// last (a FROM subquery's level has no scope: it sees no siblings).
    outer: Vec<Level>,
    pub(crate) aggs: Vec<AggCall>,
    /// GROUP BY: the source columns grouped on (their position in the
    /// aggregate's output row is their index here); set while the select
    /// list, HAVING and ORDER BY are bound.
    grouping: Option<Vec<usize>>,
    /// GROUP BY expressions that are not plain columns (crates/sql/src/
    /// bind/agg.rs): their text (to match the select list's), bound
    /// expression, type and key column.
    pub(crate) group_exprs: Vec<(String, Expr, Ty, usize)>,
    /// GROUPING SETS / ROLLUP / CUBE: each set's positions in the group
    /// keys (crates/sql/src/bind/agg.rs).
    pub(crate) grouping_sets: Option<Vec<Vec<usize>>>,
    /// Primary keys (pg_constraint OIDs) an ungrouped column relied on
    /// (crates/sql/src/bind/fdep.rs): a view over the query depends on them.
    pub(crate) constraint_deps: Vec<u32>,
    /// The select list's set-returning functions (crates/sql/src/srf.rs).
    pub(crate) srfs: Vec<Source>,
    /// Where aggregates may appear (select list, HAVING, ORDER BY).
    pub(crate) aggs_allowed: Option<&'static str>,
    pub(crate) in_agg: bool,
    /// The error for the first column referenced outside an aggregate
    /// in the select list, HAVING or ORDER BY (if the query aggregates).
    ungrouped: Option<String>,
    track_ungrouped: bool,
    /// The WITH queries in scope, innermost last (crates/sql/src/cte.rs).
    pub(crate) ctes: Vec<crate::cte::CteEntry>,
    /// Data-modifying WITH queries of the statement, in binding order
    /// (the statement runs them all when it starts: cte.rs).
    pub(crate) dml_ctes: Vec<std::rc::Rc<crate::cte::ModifyCte>>,
    /// Queries being bound inside one another (1 for the statement's own
    /// query): data-modifying WITH is only allowed at the top.
    pub(crate) query_depth: usize,
    pub(crate) next_cte_id: usize,
    /// This query level's window functions (crates/sql/src/window.rs),
    /// its WINDOW clause, and whether a window function's (or a window
    /// aggregate's argument) is being bound.
    pub(crate) windows: Vec<crate::window::WindowCall>,
    pub(crate) named_windows: Vec<(String, ast::WindowSpec)>,
    /// Inline window definitions of this query level seen so far, as
    /// text (window.rs numbers them as PostgreSQL's window clauses).
    pub(crate) inline_windows: Vec<String>,
    pub(crate) in_window: bool,
    /// INSERT ... OVERRIDING SYSTEM VALUE (`b's'`) / USER VALUE (`b'u'`)
    /// for identity columns (sequence.rs; sqlparser has no grammar for it).
    pub(crate) overriding: Option<u8>,
    /// Where the target table's columns start in the row SET
    /// expressions see (MERGE puts the source's first): the old value
    /// of a partially assigned column (bind/assign.rs).
    pub(crate) target_offset: usize,
    pub(crate) window_arg: bool,
    /// The client's query string, when the statement came from one: the
    /// cursor positions of errors (parse.rs's `SourceMap`).
    pub(crate) src: Option<std::sync::Arc<crate::parse::SourceMap>>,
    /// Where the column of `ungrouped` is referenced (bind/errpos.rs).
    pub(crate) ungrouped_pos: Option<u32>,
}

fn op_not_exist(op: &str, l: Option<Oid>, r: Oid) -> PgError {
    let shown = match l {
        Some(l) => format!("{} {op} {}", types::sql_name(l), types::sql_name(r)),
        None => format!("{op} {}", types::sql_name(r)),
    };
    PgError::error(sqlstate::UNDEFINED_FUNCTION, format!("operator does not exist: {shown}"))
        .with_hint("No operator matches the given name and argument types. You might need to add explicit type casts.")
}

/// GROUP BY / DISTINCT on a type without an equality operator class.
fn no_equality(t: Oid) -> PgError {
    PgError::error(
        sqlstate::UNDEFINED_FUNCTION,
        format!(
            "could not identify an equality operator for type {}",
            types::sql_name(t)
        ),
    )
}

fn op_not_unique(op: &str, l: Oid, r: Oid) -> PgError {
    PgError::error(
        sqlstate::AMBIGUOUS_FUNCTION,
        format!(
            "operator is not unique: {} {op} {}",
            types::sql_name(l),
            types::sql_name(r)
        ),
    )
    .with_hint(
        "Could not choose a best candidate operator. You might need to add explicit type casts.",
    )
}

/// PostgreSQL's implicit casts among the types tusk has.
pub(crate) fn implicit_ok(from: Oid, to: Oid) -> bool {
    use types::*;
    from == to
        || from == UNKNOWN
        // A record becomes a named composite field by field; a composite
        // is a record (coerce_record_to_complex, can_coerce_type).
        || from == RECORD && tusk_types::composite::is_composite(to)
        || to == RECORD && tusk_types::composite::is_composite(from)
        || is_reg(from) && to == OID
        || is_reg(to) && matches!(from, OID | INT2 | INT4 | INT8)
        || matches!(
            (from, to),
            (INT2, INT4 | INT8 | FLOAT4 | FLOAT8 | NUMERIC | OID)
                | (INT4, INT8 | FLOAT4 | FLOAT8 | NUMERIC | OID)
                | (INT8, FLOAT4 | FLOAT8 | NUMERIC | OID)
                | (NUMERIC, FLOAT4 | FLOAT8)
                | (FLOAT4, FLOAT8)
                | (VARCHAR | BPCHAR | NAME | CHAR, TEXT)
                | (TEXT, VARCHAR | NAME)
                | (VARCHAR, NAME)
                | (DATE, TIMESTAMP | TIMESTAMPTZ)
                | (TIMESTAMP, TIMESTAMPTZ)
                | (BIT, VARBIT)
        )
        || crate::operator::user_implicit(from, to)
}

fn is_preferred(oid: Oid) -> bool {
    matches!(
        oid,
        types::FLOAT8 | types::TEXT | types::TIMESTAMPTZ | types::BOOL | types::OID
    )
}

fn is_float(oid: Oid) -> bool {
    matches!(oid, types::FLOAT4 | types::FLOAT8)
}

fn is_int(oid: Oid) -> bool {
    matches!(oid, types::INT2 | types::INT4 | types::INT8)
}

/// Common numeric type of two numeric-category types (not oid).
fn numeric_common(a: Oid, b: Oid) -> Oid {
    if a == b {
        a
    } else if is_float(a) || is_float(b) {
        types::FLOAT8
    } else {
        let ra = types::numeric_rank(a).unwrap_or(0);
        let rb = types::numeric_rank(b).unwrap_or(0);
        if ra >= rb {
            a
        } else {
            b
        }
    }
}

fn is_stringish(oid: Oid) -> bool {
    matches!(
        oid,
        types::TEXT | types::VARCHAR | types::BPCHAR | types::NAME
    )
}

/// The type two known types are compared in, if they can be.
fn comparison_type(a: Oid, b: Oid) -> Option<Oid> {
    // jsonpath has no comparison operators.
    if a == types::JSONPATH || b == types::JSONPATH {
        return None;
    }
    if a == b {
        return Some(a);
    }
    let (ra, rb) = (types::numeric_rank(a), types::numeric_rank(b));
    if ra.is_some() && rb.is_some() {
        return Some(numeric_common(a, b));
    }
    // reg* aliases compare as their oids (PostgreSQL's oideq & co).
    let oidish = |o: Oid| o == types::OID || types::is_reg(o) || is_int(o);
    if (types::is_reg(a) && oidish(b)) || (types::is_reg(b) && oidish(a)) {
        return Some(types::OID);
    }
    if (a == types::OID && rb.is_some() && is_int(b))
        || (b == types::OID && ra.is_some() && is_int(a))
    {
        return Some(types::INT8);
    }
    if is_stringish(a) && is_stringish(b) {
        return Some(types::TEXT);
    }
    // bit against varbit: both as bit strings (biteq & co. take either).
    if crate::scalars::is_bits(a) && crate::scalars::is_bits(b) {
        return Some(types::VARBIT);
    }
    let dt = |o| matches!(o, types::DATE | types::TIMESTAMP | types::TIMESTAMPTZ);
    if dt(a) && dt(b) {
        return Some(if a == types::TIMESTAMPTZ || b == types::TIMESTAMPTZ {
            types::TIMESTAMPTZ
        } else {
            types::TIMESTAMP
        });
    }
    None
}

/// [`common_type`] as a yes/no: the type polymorphic anycompatible
/// arguments resolve to, None when they have none.
pub(crate) fn common_type_of(tys: &[Oid]) -> Option<Oid> {
    common_type(tys, "").ok()
}

/// PostgreSQL's select_common_type for CASE, COALESCE, GREATEST, IN...
fn common_type(tys: &[Oid], context: &str) -> Result<Oid, PgError> {
    let mut result: Option<Oid> = None;
    for &t in tys {
        if t == types::UNKNOWN {
            continue;
        }
        result = Some(match result {
            None => t,
            Some(r) if r == t => r,
            // oid and the reg* types coerce to each other implicitly:
            // the first one stays (select_common_type).
            Some(r)
                if (r == types::OID || types::is_reg(r))
                    && (t == types::OID || types::is_reg(t)) =>
            {
                r
            }
            Some(r) => match (types::numeric_rank(r), types::numeric_rank(t)) {
                (Some(_), Some(_)) => numeric_common(r, t),
                _ if types::category(r) == types::category(t)
                    && types::category(r) != Category::Other =>
                {
                    match types::category(r) {
                        Category::String => types::TEXT,
                        Category::DateTime => comparison_type(r, t).unwrap_or(types::TIMESTAMPTZ),
                        _ => r,
                    }
                }
                _ => {
                    return Err(PgError::error(
                        sqlstate::DATATYPE_MISMATCH,
                        format!(
                            "{context} types {} and {} cannot be matched",
                            types::sql_name(r),
                            types::sql_name(t)
                        ),
                    ))
                }
            },
        });
    }
    Ok(result.unwrap_or(types::TEXT))
}

impl<'h> Binder<'h> {
    /// The parameters' types as ParameterDescription sends them (text
    /// where nothing decided).
    pub(crate) fn param_oids(&self) -> Vec<types::Oid> {
        self.params
            .iter()
            .map(|t| t.map(|t| t.oid).unwrap_or(types::TEXT))
            .collect()
    }

    pub fn new(host: &'h dyn Host, params: Vec<Option<Ty>>) -> Binder<'h> {
        crate::jsonpath::install_regex_check();
        crate::operator::note_casts(host);
        Binder {
            host,
            params,
            now: host.now(),
            depth: 0,
            scope: None,
            outer: Vec::new(),
            aggs: Vec::new(),
            grouping: None,
            group_exprs: Vec::new(),
            srfs: Vec::new(),
            grouping_sets: None,
            constraint_deps: Vec::new(),
            aggs_allowed: None,
            in_agg: false,
            ungrouped: None,
            track_ungrouped: false,
            ctes: Vec::new(),
            dml_ctes: Vec::new(),
            query_depth: 0,
            next_cte_id: 0,
            windows: Vec::new(),
            named_windows: Vec::new(),
            inline_windows: Vec::new(),
            in_window: false,
            window_arg: false,
            overriding: None,
            target_offset: 0,
            src: None,
            ungrouped_pos: None,
        }
    }

    /// Give an unknown-typed expression (literal, NULL, untyped `$n`) the
    /// type `target`; a typed one is cast if PostgreSQL would do so
    /// implicitly, or refused.
    pub(crate) fn coerce(&mut self, b: Bound, target: Ty) -> Result<Bound, PgError> {
        if b.ty.oid == target.oid && (target.typmod < 0 || b.ty.typmod == target.typmod) {
            return Ok(b);
        }
        if b.is_unknown() {
            let pos = b.pos;
            return match b.e {
                Expr::Const(Value::Null) => Ok(Bound::new(Expr::Const(Value::Null), target)),
                // A reg* name is looked up when the statement runs (the
                // binder cannot read the catalog): reg.rs.
                Expr::Const(Value::Text(s)) if types::is_reg(target.oid) => Ok(Bound::new(
                    Expr::Cast {
                        arg: Box::new(Expr::Const(Value::Text(s))),
                        from: types::UNKNOWN,
                        to: target,
                    },
                    target,
                )),
                Expr::Const(Value::Text(s)) => Ok(Bound::new(
                    Expr::Const(
                        cast::input(&s, target, self.now).map_err(|e| e.with_position(pos))?,
                    ),
                    target,
                )),
                Expr::Param(i, _) if matches!(self.params.get(i), Some(Some(_))) => {
                    // Typed by a later context since this occurrence was
                    // bound: take that type, then convert as usual.
                    let t = self.params[i].unwrap_or(Ty::new(types::TEXT));
                    self.coerce(Bound::new(Expr::Param(i, t), t), target)
                }
                Expr::Param(i, _) => {
                    let t = Ty::new(target.oid);
                    if let Some(slot) = self.params.get_mut(i) {
                        *slot = Some(t);
                    }
                    let p = Bound::new(Expr::Param(i, t), t);
                    if target.typmod >= 0 {
                        Ok(Bound::new(
                            Expr::Cast {
                                arg: Box::new(p.e),
                                from: target.oid,
                                to: target,
                            },
                            target,
                        ))
                    } else {
                        Ok(p)
                    }
                }
                e => Ok(Bound::new(
                    Expr::Cast {
                        arg: Box::new(e),
                        from: types::UNKNOWN,
                        to: target,
                    },
                    target,
                )),
            };
        }
        self.cast_typed(b, target)
    }

    /// Casts a value of a known type to `target`: refused where no cast
    /// exists; a constant is converted now, so bad literals fail at
    /// prepare time as they do in PostgreSQL; anything else becomes a
    /// cast node.
    fn cast_typed(&self, b: Bound, target: Ty) -> Result<Bound, PgError> {
        if !cast::castable(b.ty.oid, target.oid) {
            let b = match self.user_cast(b, target)? {
                Ok(c) => return Ok(c),
                Err(b) => b,
            };
            return Err(cast::cannot_cast(b.ty.oid, target.oid));
        }
        if let Expr::Const(v) = b.e {
            if crate::reg::needs_catalog(b.ty.oid, target.oid) {
                return Ok(Bound::new(
                    Expr::Cast {
                        arg: Box::new(Expr::Const(v)),
                        from: b.ty.oid,
                        to: target,
                    },
                    target,
                ));
            }
            return Ok(Bound::new(
                Expr::Const(cast::cast(v, b.ty.oid, target, self.now)?),
                target,
            ));
        }
        Ok(Bound::new(
            Expr::Cast {
                arg: Box::new(b.e),
                from: b.ty.oid,
                to: target,
            },
            target,
        ))
    }

    fn coerce_bool(&mut self, b: Bound, what: &str) -> Result<Bound, PgError> {
        if b.ty.oid == types::BOOL || b.is_unknown() {
            return self.coerce(b, Ty::new(types::BOOL));
        }
        Err(PgError::error(
            sqlstate::DATATYPE_MISMATCH,
            format!(
                "argument of {what} must be type boolean, not type {}",
                types::sql_name(b.ty.oid)
            ),
        ))
    }

    fn param(&mut self, text: &str) -> Result<Bound, PgError> {
        let n: usize = text
            .strip_prefix('$')
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| syntax(format!("syntax error at or near \"{text}\"")))?;
        if n == 0 || n > 65535 {
            return Err(PgError::error(
                sqlstate::UNDEFINED_PARAMETER,
                format!("there is no parameter ${n}"),
            ));
        }
        if self.params.len() < n {
            self.params.resize(n, None);
        }
        Ok(match self.params[n - 1] {
            Some(t) => Bound::new(Expr::Param(n - 1, t), t),
            None => Bound::new(
                Expr::Param(n - 1, Ty::new(types::UNKNOWN)),
                Ty::new(types::UNKNOWN),
            ),
        })
    }

    fn number(&self, text: &str) -> Result<Bound, PgError> {
        if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            if let Ok(i) = text.parse::<i32>() {
                return Ok(Bound::new(
                    Expr::Const(Value::Int4(i)),
                    Ty::new(types::INT4),
                ));
            }
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Bound::new(
                    Expr::Const(Value::Int8(i)),
                    Ty::new(types::INT8),
                ));
            }
        }
        match func::numeric_literal(text) {
            Some(n) => Ok(Bound::new(
                Expr::Const(Value::Numeric(n)),
                Ty::new(types::NUMERIC),
            )),
            None => Err(syntax(format!("syntax error at or near \"{text}\""))),
        }
    }

    fn literal(&mut self, v: &ast::Value) -> Result<Bound, PgError> {
        use ast::Value as V;
        let unknown = |s: &str| {
            Ok(Bound::new(
                Expr::Const(Value::Text(s.to_string())),
                Ty::new(types::UNKNOWN),
            ))
        };
        match v {
            V::Number(n, _) => self.number(n),
            V::SingleQuotedString(s)
            | V::EscapedStringLiteral(s)
            | V::UnicodeStringLiteral(s)
            | V::NationalStringLiteral(s) => unknown(s),
            V::DollarQuotedString(d) => unknown(&d.value),
            V::Boolean(b) => Ok(Bound::new(
                Expr::Const(Value::Bool(*b)),
                Ty::new(types::BOOL),
            )),
            V::Null => Ok(Bound::new(
                Expr::Const(Value::Null),
                Ty::new(types::UNKNOWN),
            )),
            V::Placeholder(p) => self.param(p),
            // B'0101' and X'1F': bit constants, as PostgreSQL's lexer
            // makes them (bit_in with its b / x prefix).
            V::HexStringLiteral(s) => self.bit_literal(&format!("x{s}")),
            V::SingleQuotedByteStringLiteral(s) => self.bit_literal(&format!("b{s}")),
            other => Err(syntax(format!("syntax error at or near \"{other}\""))),
        }
    }

    fn column(&mut self, qualifier: Option<&[String]>, name: &str) -> Result<Bound, PgError> {
        let shown = match qualifier {
            Some(q) => format!("{}.{name}", q.join(".")),
            None => name.to_string(),
        };
        let not_found = || {
            let msg = match qualifier {
                Some(_) => format!("column {shown} does not exist"),
                None => format!("column \"{shown}\" does not exist"),
            };
            PgError::error(sqlstate::UNDEFINED_COLUMN, msg)
        };
        let here = match &self.scope {
            Some(scope) => match qualifier {
                // A qualifier naming nothing here may name an enclosing
                // query's item.
                Some(q) if !scope.items.iter().any(|it| it.answers_to(q)) => None,
                _ => Some(
                    scope
                        .lookup(qualifier, name)?
                        .map(|c| (c.clone(), scope.shown(c))),
                ),
            },
            None => None,
        };
        if let (None, Some(None), Some(scope)) = (qualifier, &here, &self.scope) {
            // A bare name that is no column but names a FROM item: a
            // whole-row reference (bind/rowtype.rs).
            let q = [name.to_string()];
            if let Some(item) = scope.items.iter().find(|it| it.answers_to(&q)).cloned() {
                return self.whole_row(&item);
            }
        }
        let (col, owner) = match here {
            Some(Some((c, _))) if c.denied.is_some() => {
                return Err(crate::acl::denied_table(c.denied.as_deref().unwrap_or("")));
            }
            Some(Some(found)) => found,
            Some(None) if qualifier.is_some() => return Err(not_found()),
            _ => {
                return self.outer_column(qualifier, name).map_err(|e| match e {
                    Some(e) => e,
                    None => match qualifier {
                        Some(q) => missing_from_entry(q),
                        None => not_found(),
                    },
                })
            }
        };
        if let (Some(keys), false) = (&self.grouping, self.in_agg) {
            // Outside an aggregate, a grouped query's rows are groups: a
            // column is their key, or it is not allowed.
            let grouping_err = || {
                PgError::error(
                    tusk_common::sqlstate::GROUPING_ERROR,
                    format!("column \"{owner}\" must appear in the GROUP BY clause or be used in an aggregate function"),
                )
            };
            let Expr::Column(idx) = col.expr else {
                return Err(grouping_err());
            };
            return match keys.iter().position(|&k| k == idx) {
                Some(k) => Ok(Bound::new(Expr::Column(k), col.ty)),
                None => self
                    .functionally_grouped(idx, col.ty)?
                    .ok_or_else(grouping_err),
            };
        }
        if self.track_ungrouped && !self.in_agg && self.ungrouped.is_none() {
            self.ungrouped = Some(format!("column \"{owner}\" must appear in the GROUP BY clause or be used in an aggregate function"));
        }
        Ok(Bound::new(col.expr, col.ty))
    }

    /// A name of an enclosing query (a correlated subquery's outer
    /// reference): `Err(None)` if no level has it.
    fn outer_column(
        &mut self,
        qualifier: Option<&[String]>,
        name: &str,
    ) -> Result<Bound, Option<PgError>> {
        let mut found = None;
        for (d, level) in self.outer.iter().rev().enumerate() {
            let Some(scope) = &level.scope else { continue };
            if let Some(q) = qualifier {
                if !scope.items.iter().any(|it| it.answers_to(q)) {
                    continue;
                }
            }
            let Some(c) = scope.lookup(qualifier, name).map_err(Some)? else {
                if qualifier.is_some() {
                    let shown = format!("{}.{name}", qualifier.unwrap_or(&[]).join("."));
                    return Err(Some(PgError::error(
                        sqlstate::UNDEFINED_COLUMN,
                        format!("column {shown} does not exist"),
                    )));
                }
                continue;
            };
            let depth = d + 1;
            let mut e = c.expr.clone();
            let mut bad = false;
            let keys = level.grouping.clone();
            e.visit(0, &mut |x, lvl| {
                if let (Expr::Column(i), 0) = (&*x, lvl) {
                    let col = match &keys {
                        None => Some(*i),
                        Some(k) => k.iter().position(|k| k == i),
                    };
                    match col {
                        Some(col) => *x = Expr::Outer { depth, col },
                        None => bad = true,
                    }
                }
            });
            if bad {
                return Err(Some(PgError::error(
                    tusk_common::sqlstate::GROUPING_ERROR,
                    format!(
                        "subquery uses ungrouped column \"{}\" from outer query",
                        scope.shown(c)
                    ),
                )));
            }
            found = Some((e, c.ty, scope.shown(c), depth));
            break;
        }
        let Some((e, ty, shown, depth)) = found else {
            return Err(None);
        };
        // Seen from the outer query this is a column used outside an
        // aggregate: if that query aggregates without GROUP BY, it is the
        // same error as a bare column there.
        let n = self.outer.len();
        let level = &mut self.outer[n - depth];
        if level.grouping.is_none()
            && level.track_ungrouped
            && !level.in_agg
            && level.ungrouped.is_none()
        {
            level.ungrouped = Some(format!(
                "subquery uses ungrouped column \"{shown}\" from outer query"
            ));
        }
        Ok(Bound::new(e, ty))
    }

    fn depth_guard(&mut self) -> Result<(), PgError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PgError::error(
                tusk_common::sqlstate::STATEMENT_TOO_COMPLEX,
                "stack depth limit exceeded",
            )
            .with_hint("The statement nests expressions too deeply; simplify it."));
        }
        Ok(())
    }

    #[recursive::recursive]
    pub fn bind_expr(&mut self, e: &ast::Expr) -> Result<Bound, PgError> {
        self.depth_guard()?;
        let r = self.bind_expr_inner(e);
        self.depth -= 1;
        r
    }

    fn bind_expr_inner(&mut self, e: &ast::Expr) -> Result<Bound, PgError> {
        use ast::Expr as E;
        if let Some(b) = self.grouped_expr(e) {
            return Ok(b);
        }
        // Operators these hooks bind (json, arrays, ranges) point their
        // "operator does not exist" errors at the operator, as binary's.
        let at_op = |b: &Self, err: PgError| match e {
            E::BinaryOp { left, op, .. } => b.operator_pos(err, left, op),
            _ => err,
        };
        if let Some(b) = self.bind_json_expr(e).map_err(|err| at_op(self, err))? {
            return Ok(b);
        }
        if let Some(b) = self.bind_array_expr(e).map_err(|err| at_op(self, err))? {
            return Ok(b);
        }
        match e {
            E::Value(v) => self.positioned_literal(v),
            E::Identifier(i) => {
                let name = ident_name(i);
                if i.quote_style.is_none() && func::is_niladic_keyword(&name) {
                    return self.call_function(&name, Vec::new());
                }
                self.positioned_column(None, &name, i.span)
            }
            E::CompoundIdentifier(parts) => {
                let names: Vec<String> = parts.iter().map(ident_name).collect();
                let span = parts
                    .first()
                    .map(|p| p.span)
                    .unwrap_or(sqlparser::tokenizer::Span::empty());
                match names.split_last() {
                    Some((last, quals)) if !quals.is_empty() => {
                        self.positioned_column(Some(quals), last, span)
                    }
                    Some((last, _)) => self.positioned_column(None, last, span),
                    None => Err(syntax("syntax error")),
                }
            }
            E::Nested(inner) => self.bind_expr(inner),
            E::Tuple(items) => self.tuple(items),
            E::UnaryOp { op, expr } => self.unary(*op, expr),
            E::BinaryOp { left, op, right } => self
                .binary_or_user(left, op, right)
                .map_err(|err| self.operator_pos(err, left, op)),
            E::Cast {
                kind,
                expr,
                data_type,
                format,
            } => {
                if format.is_some() {
                    return Err(not_supported("CAST ... FORMAT"));
                }
                let target =
                    data_type_to_ty(data_type).map_err(|err| self.cast_type_pos(err, expr))?;
                let b = self.bind_expr(expr)?;
                let b = self
                    .explicit_cast(b, target)
                    .map_err(|err| self.cast_pos(err, e, expr, kind))?;
                self.coerce_to_domain(b, data_type)
            }
            E::TypedString(ts) => {
                let target = data_type_to_ty(&ts.data_type)?;
                let b = self.positioned_literal(&ts.value)?;
                let b = self.explicit_cast(b, target)?;
                self.coerce_to_domain(b, &ts.data_type)
            }
            E::IsNull(a) | E::IsNotNull(a) => {
                let b = self.bind_expr(a)?;
                let b = if b.is_unknown() {
                    self.coerce(b, Ty::new(types::TEXT))?
                } else {
                    b
                };
                Ok(Bound::new(
                    Expr::IsNull(Box::new(b.e), matches!(e, E::IsNotNull(_))),
                    Ty::new(types::BOOL),
                ))
            }
            E::IsTrue(a)
            | E::IsNotTrue(a)
            | E::IsFalse(a)
            | E::IsNotFalse(a)
            | E::IsUnknown(a)
            | E::IsNotUnknown(a) => {
                let (value, negated, what) = match e {
                    E::IsTrue(_) => (Some(true), false, "IS TRUE"),
                    E::IsNotTrue(_) => (Some(true), true, "IS NOT TRUE"),
                    E::IsFalse(_) => (Some(false), false, "IS FALSE"),
                    E::IsNotFalse(_) => (Some(false), true, "IS NOT FALSE"),
                    E::IsUnknown(_) => (None, false, "IS UNKNOWN"),
                    _ => (None, true, "IS NOT UNKNOWN"),
                };
                let b = self.bind_expr(a)?;
                let b = self.coerce_bool(b, what)?;
                Ok(Bound::new(
                    Expr::IsBool {
                        arg: Box::new(b.e),
                        value,
                        negated,
                    },
                    Ty::new(types::BOOL),
                ))
            }
            E::IsDistinctFrom(a, b) | E::IsNotDistinctFrom(a, b) => {
                let (l, r) = self.comparison_operands(a, b, "IS DISTINCT FROM")?;
                Ok(Bound::new(
                    Expr::IsDistinct(
                        Box::new(l.e),
                        Box::new(r.e),
                        matches!(e, E::IsNotDistinctFrom(..)),
                    ),
                    Ty::new(types::BOOL),
                ))
            }
            E::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.bind_expr(expr)?;
                let lo = self.bind_expr(low)?;
                let hi = self.bind_expr(high)?;
                let (a1, b1) = self.compare_bound(x.clone(), lo, ">=")?;
                let (a2, b2) = self.compare_bound(x, hi, "<=")?;
                let (op1, op2) = if *negated {
                    (CmpOp::Lt, CmpOp::Gt)
                } else {
                    (CmpOp::Ge, CmpOp::Le)
                };
                let c1 = Expr::Cmp(op1, Box::new(a1.e), Box::new(b1.e));
                let c2 = Expr::Cmp(op2, Box::new(a2.e), Box::new(b2.e));
                let e = if *negated {
                    Expr::Or(vec![c1, c2])
                } else {
                    Expr::And(vec![c1, c2])
                };
                Ok(Bound::new(e, Ty::new(types::BOOL)))
            }
            E::InList {
                expr,
                list,
                negated,
            } if rowtype::row_ctor_items(expr).is_some()
                && list.iter().all(|i| rowtype::row_ctor_items(i).is_some()) =>
            {
                // `ROW(a, b) IN (ROW(..), ...)`: row comparisons ORed (ANDed
                // `<>`s when negated), as PostgreSQL's transformAExprIn.
                let op = if *negated { CmpOp::Ne } else { CmpOp::Eq };
                let mut parts = Vec::with_capacity(list.len());
                for item in list {
                    let b = self.row_compare(op, expr, item)?.expect("both rows");
                    parts.push(b.e);
                }
                let e = if *negated {
                    Expr::And(parts)
                } else {
                    Expr::Or(parts)
                };
                Ok(Bound::new(e, Ty::new(types::BOOL)))
            }
            E::InList {
                expr,
                list,
                negated,
            } => {
                let mut all = vec![self.bind_expr(expr)?];
                for item in list {
                    all.push(self.bind_expr(item)?);
                }
                let rows = all
                    .iter()
                    .all(|b| b.is_unknown() || tusk_types::composite::is_row(b.ty.oid));
                let all = if rows && !all[0].is_unknown() {
                    // Row values compare as record_eq (its checks at run
                    // time); untyped literals take the left side's type.
                    let t = all[0].ty;
                    let mut out = Vec::with_capacity(all.len());
                    for b in all {
                        out.push(if b.is_unknown() {
                            self.coerce(b, t)?
                        } else {
                            b
                        });
                    }
                    out
                } else {
                    self.unify(all, "IN")?
                };
                if let Some(t) = all.first().map(|b| b.ty.oid) {
                    if tusk_types::geo::is_geo(t) {
                        // Compared as `=`, which the geometric types
                        // mostly lack (see compare_bound).
                        let (l, r) = (all[0].clone(), all[all.len() - 1].clone());
                        self.compare_bound(l, r, "=")?;
                    }
                }
                let mut it = all.into_iter();
                let first = it.next().map(|b| b.e).unwrap_or(Expr::Const(Value::Null));
                Ok(Bound::new(
                    Expr::InList(Box::new(first), it.map(|b| b.e).collect(), *negated),
                    Ty::new(types::BOOL),
                ))
            }
            E::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(operand.as_deref(), conditions, else_result.as_deref()),
            E::Function(f) => self.function(f).map_err(|err| self.function_pos(err, f)),
            E::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.bind_expr(expr)?];
                args.push(match substring_from {
                    Some(f) => self.bind_expr(f)?,
                    None => Bound::new(Expr::Const(Value::Int4(1)), Ty::new(types::INT4)),
                });
                if let Some(f) = substring_for {
                    args.push(self.bind_expr(f)?);
                }
                self.call_function("substring", args)
            }
            E::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                let mut args = vec![
                    self.bind_expr(expr)?,
                    self.bind_expr(overlay_what)?,
                    self.bind_expr(overlay_from)?,
                ];
                if let Some(f) = overlay_for {
                    args.push(self.bind_expr(f)?);
                }
                self.call_function("overlay", args)
            }
            E::Interval(iv) => self.interval_literal(iv),
            E::Extract { field, expr, .. } => {
                let f = match field {
                    ast::DateTimeField::Custom(i) => i.value.clone(),
                    other => other.to_string(),
                };
                self.extract(&f, expr)
            }
            E::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
            | E::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if *any {
                    return Err(not_supported("LIKE ANY"));
                }
                let ci = matches!(e, E::ILike { .. });
                self.like(expr, pattern, escape_char.as_deref(), *negated, ci)
            }
            E::SimilarTo { .. } | E::RLike { .. } => Err(not_supported("SIMILAR TO")),
            E::Subquery(q) => self.sublink(q, SubUse::Scalar),
            E::Exists { subquery, negated } => self.sublink(subquery, SubUse::Exists(*negated)),
            E::InSubquery {
                expr,
                subquery,
                negated,
            } => self.sublink(subquery, SubUse::In(expr, CmpOp::Eq, false, *negated)),
            E::AnyOp {
                left,
                compare_op,
                right,
                ..
            }
            | E::AllOp {
                left,
                compare_op,
                right,
            } if matches!(right.as_ref(), E::Subquery(_)) => {
                let E::Subquery(q) = right.as_ref() else {
                    unreachable!("matched above")
                };
                let op = match compare_op {
                    BinaryOperator::Eq => CmpOp::Eq,
                    BinaryOperator::NotEq => CmpOp::Ne,
                    BinaryOperator::Lt => CmpOp::Lt,
                    BinaryOperator::LtEq => CmpOp::Le,
                    BinaryOperator::Gt => CmpOp::Gt,
                    BinaryOperator::GtEq => CmpOp::Ge,
                    other => return Err(not_supported(format!("operator {other} with ANY/ALL"))),
                };
                let all = matches!(e, E::AllOp { .. });
                self.sublink(q, SubUse::In(left, op, all, false))
            }
            E::Array(_) => Err(not_supported("arrays")),
            E::Trim { .. } if crate::strfuncs::trim_call(e).is_some() => {
                let (name, args) = crate::strfuncs::trim_call(e).expect("checked");
                let mut bound = Vec::with_capacity(args.len());
                for a in args {
                    bound.push(self.bind_expr(a)?);
                }
                self.call_function(name, bound)
            }
            E::Position { .. } => {
                let [s, sub] = crate::strfuncs::position_call(e).expect("a POSITION");
                let args = vec![self.bind_expr(s)?, self.bind_expr(sub)?];
                self.call_function("position", args)
            }
            E::Trim { .. } | E::Ceil { .. } | E::Floor { .. } => {
                match crate::mathfuncs::ceil_floor_call(e) {
                    Some((name, arg)) => {
                        let b = self.bind_expr(arg)?;
                        self.call_function(name, vec![b])
                    }
                    None => Err(not_supported(format!("{e}"))),
                }
            }
            E::AtTimeZone {
                timestamp,
                time_zone,
            } => {
                let z = self.bind_expr(time_zone)?;
                let t = self.bind_expr(timestamp)?;
                self.at_time_zone(vec![z, t])
            }
            other => Err(not_supported(format!("expression \"{other}\""))),
        }
    }

    fn like(
        &mut self,
        expr: &ast::Expr,
        pattern: &ast::Expr,
        escape: Option<&ast::Expr>,
        negated: bool,
        ci: bool,
    ) -> Result<Bound, PgError> {
        let sym = match (ci, negated) {
            (false, false) => "~~",
            (false, true) => "!~~",
            (true, false) => "~~*",
            (true, true) => "!~~*",
        };
        let text = Ty::new(types::TEXT);
        let a = self.bind_expr(expr)?;
        let p = self.bind_expr(pattern)?;
        let (a, p) = (
            if a.is_unknown() {
                self.coerce(a, text)?
            } else {
                a
            },
            if p.is_unknown() {
                self.coerce(p, text)?
            } else {
                p
            },
        );
        if !is_stringish(a.ty.oid) || !is_stringish(p.ty.oid) {
            return Err(op_not_exist(sym, Some(a.ty.oid), p.ty.oid));
        }
        let escape = match escape {
            None => Some('\\'),
            Some(ast::Expr::Value(v)) => match &v.value {
                ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) => {
                    let mut it = s.chars();
                    match (it.next(), it.next()) {
                        (None, _) => None,
                        (Some(c), None) => Some(c),
                        _ => {
                            return Err(PgError::error(
                                tusk_common::sqlstate::INVALID_ESCAPE_CHARACTER,
                                "invalid escape string",
                            )
                            .with_hint("Escape string must be empty or one character."))
                        }
                    }
                }
                _ => return Err(not_supported("non-constant LIKE ... ESCAPE")),
            },
            Some(_) => return Err(not_supported("non-constant LIKE ... ESCAPE")),
        };
        Ok(Bound::new(
            Expr::Like {
                arg: Box::new(a.e),
                pattern: Box::new(p.e),
                escape,
                case_insensitive: ci,
                negated,
            },
            Ty::new(types::BOOL),
        ))
    }

    pub(crate) fn explicit_cast(&mut self, b: Bound, target: Ty) -> Result<Bound, PgError> {
        if !types::is_supported(target.oid) {
            return Err(not_supported(format!(
                "type {}",
                types::sql_name(target.oid)
            )));
        }
        if b.is_unknown() {
            return self.coerce(b, target);
        }
        self.cast_typed(b, target)
    }

    fn unary(&mut self, op: UnaryOperator, expr: &ast::Expr) -> Result<Bound, PgError> {
        match op {
            UnaryOperator::Not => {
                let b = self.bind_expr(expr)?;
                let b = self.coerce_bool(b, "NOT")?;
                Ok(Bound::new(Expr::Not(Box::new(b.e)), Ty::new(types::BOOL)))
            }
            UnaryOperator::Minus | UnaryOperator::Plus => {
                // PostgreSQL folds the sign into a numeric literal, so
                // -2147483648 is an integer and -9223372036854775808 a bigint.
                if let ast::Expr::Value(v) = expr {
                    if let ast::Value::Number(n, _) = &v.value {
                        if op == UnaryOperator::Minus {
                            return self.number(&format!("-{n}"));
                        }
                        return self.number(n);
                    }
                }
                let b = self.bind_expr(expr)?;
                let sym = if op == UnaryOperator::Minus { "-" } else { "+" };
                if b.is_unknown() {
                    return Err(PgError::error(
                        sqlstate::AMBIGUOUS_FUNCTION,
                        format!("operator is not unique: {sym} unknown"),
                    )
                    .with_hint("Could not choose a best candidate operator. You might need to add explicit type casts."));
                }
                if op == UnaryOperator::Plus && b.ty.oid == types::INTERVAL {
                    return Ok(b);
                }
                let b = match self.interval_neg(b) {
                    Ok(neg) if op == UnaryOperator::Minus => return Ok(neg),
                    Ok(neg) => neg,
                    Err((b,)) => b,
                };
                if types::numeric_rank(b.ty.oid).is_none() {
                    return Err(op_not_exist(sym, None, b.ty.oid));
                }
                if op == UnaryOperator::Plus {
                    return Ok(b);
                }
                Ok(Bound::new(Expr::Neg(Box::new(b.e)), b.ty))
            }
            UnaryOperator::PGPrefixFactorial => {
                let b = self.bind_expr(expr)?;
                self.ts_not(b)
            }
            UnaryOperator::BitwiseNot => {
                let b = self.bind_expr(expr)?;
                self.bitwise_not(b)
            }
            UnaryOperator::Hash
            | UnaryOperator::DoubleAt
            | UnaryOperator::AtDashAt
            | UnaryOperator::QuestionDash
            | UnaryOperator::QuestionPipe => self.geo_unary(op, expr),
            UnaryOperator::PGSquareRoot | UnaryOperator::PGCubeRoot | UnaryOperator::PGAbs => {
                // |/ ||/ @: the functions under their operator names.
                let b = self.bind_expr(expr)?;
                let name = crate::mathfuncs::prefix_op_function(op);
                self.call_function(name, vec![b])
            }
            other => Err(not_supported(format!("operator {other}"))),
        }
    }

    fn binary(
        &mut self,
        left: &ast::Expr,
        op: &BinaryOperator,
        right: &ast::Expr,
    ) -> Result<Bound, PgError> {
        use BinaryOperator as B;
        if let Some(sym) = geometry::geo_only_symbol(op) {
            return self.geo_only_binary(sym, left, right);
        }
        // PostgreSQL's operator names of LIKE and ILIKE (what ruleutils
        // prints, so stored index predicates read back).
        match op {
            B::PGLikeMatch => return self.like(left, right, None, false, false),
            B::PGNotLikeMatch => return self.like(left, right, None, true, false),
            B::PGILikeMatch => return self.like(left, right, None, false, true),
            B::PGNotILikeMatch => return self.like(left, right, None, true, true),
            _ => {}
        }
        let arith = |o| Some(o);
        let aop = match op {
            B::Plus => arith(ArithOp::Add),
            B::Minus => arith(ArithOp::Sub),
            B::Multiply => arith(ArithOp::Mul),
            B::Divide => arith(ArithOp::Div),
            B::Modulo => arith(ArithOp::Mod),
            B::PGExp => arith(ArithOp::Pow),
            _ => None,
        };
        if let Some(aop) = aop {
            let l = self.bind_expr(left)?;
            let r = self.bind_expr(right)?;
            return self.arith(aop, l, r);
        }
        let cop = match op {
            B::Eq => Some(CmpOp::Eq),
            B::NotEq => Some(CmpOp::Ne),
            B::Lt => Some(CmpOp::Lt),
            B::LtEq => Some(CmpOp::Le),
            B::Gt => Some(CmpOp::Gt),
            B::GtEq => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(cop) = cop {
            if let Some(b) = self.row_compare(cop, left, right)? {
                return Ok(b);
            }
            let l = self.bind_expr(left)?;
            let r = self.bind_expr(right)?;
            let (l, r) = match self.geo_binary(cop.symbol(), l, r)? {
                Ok(b) => return Ok(b),
                Err(lr) => lr,
            };
            let (l, r) = self.compare_bound(l, r, cop.symbol())?;
            return Ok(Bound::new(
                Expr::Cmp(cop, Box::new(l.e), Box::new(r.e)),
                Ty::new(types::BOOL),
            ));
        }
        match op {
            B::And | B::Or => {
                let what = if *op == B::And { "AND" } else { "OR" };
                // Flatten `a OR b OR c ...` (a left-deep tree from the
                // parser) into one list, so that long generated chains
                // neither hit the nesting limit nor recurse at run time.
                let mut operands = vec![right];
                let mut cur = left;
                while let ast::Expr::BinaryOp {
                    left: l,
                    op: o,
                    right: r,
                } = cur
                {
                    if o != op {
                        break;
                    }
                    operands.push(r);
                    cur = l;
                }
                operands.push(cur);
                operands.reverse();
                let mut bound = Vec::with_capacity(operands.len());
                for o in operands {
                    let b = self.bind_expr(o)?;
                    bound.push(self.coerce_bool(b, what)?.e);
                }
                let e = if *op == B::And {
                    Expr::And(bound)
                } else {
                    Expr::Or(bound)
                };
                Ok(Bound::new(e, Ty::new(types::BOOL)))
            }
            B::StringConcat => {
                let l = self.bind_expr(left)?;
                let r = self.bind_expr(right)?;
                let (l, r) = match self.ts_operator("||", l, r)? {
                    Ok(b) => return Ok(b),
                    Err(lr) => lr,
                };
                let (l, r) = match self.array_concat(l, r)? {
                    Ok(b) => return Ok(b),
                    Err(lr) => lr,
                };
                let (l, r) = match self.json_concat(l, r)? {
                    Ok(b) => return Ok(b),
                    Err(lr) => lr,
                };
                let (l, r) = match self.bits_concat(l, r)? {
                    Ok(b) => return Ok(b),
                    Err(lr) => lr,
                };
                let (l, r) = match (l.is_unknown(), r.is_unknown()) {
                    (true, true) => (
                        self.coerce(l, Ty::new(types::TEXT))?,
                        self.coerce(r, Ty::new(types::TEXT))?,
                    ),
                    (true, false) => (self.coerce(l, Ty::new(types::TEXT))?, r),
                    (false, true) => {
                        let r = self.coerce(r, Ty::new(types::TEXT))?;
                        (l, r)
                    }
                    (false, false) => (l, r),
                };
                if !is_stringish(l.ty.oid) && !is_stringish(r.ty.oid) {
                    return Err(op_not_exist("||", Some(l.ty.oid), r.ty.oid));
                }
                Ok(Bound::new(
                    Expr::Concat(Box::new(l.e), Box::new(r.e)),
                    Ty::new(types::TEXT),
                ))
            }
            B::BitwiseAnd
            | B::BitwiseOr
            | B::PGBitwiseXor
            | B::PGBitwiseShiftLeft
            | B::PGBitwiseShiftRight => {
                let l = self.bind_expr(left)?;
                let r = self.bind_expr(right)?;
                let sym = if *op == B::PGBitwiseShiftLeft {
                    "<<"
                } else {
                    ">>"
                };
                let (l, r) = match self.range_operator(sym, l, r)? {
                    Ok(b) => return Ok(b),
                    Err(lr) => lr,
                };
                self.bitwise_operator(op, l, r)
            }
            op if range::range_symbol(op).is_some() => {
                let sym = range::range_symbol(op).unwrap_or_default();
                let l = self.bind_expr(left)?;
                let r = self.bind_expr(right)?;
                match self.range_operator(sym, l, r)? {
                    Ok(b) => Ok(b),
                    Err((l, r)) => Err(op_not_exist(sym, Some(l.ty.oid), r.ty.oid)),
                }
            }
            B::Overlaps => {
                // (s1, e1) OVERLAPS (s2, e2): two row constructors of two.
                let mut args = Vec::with_capacity(4);
                for side in [left, right] {
                    match side {
                        ast::Expr::Tuple(items) if items.len() == 2 => {
                            for it in items {
                                args.push(self.bind_expr(it)?);
                            }
                        }
                        _ => {
                            return Err(PgError::error(
                                sqlstate::SYNTAX_ERROR,
                                "wrong number of parameters on left side of OVERLAPS expression",
                            ))
                        }
                    }
                }
                self.call_function("overlaps", args)
            }
            other => Err(not_supported(format!("operator {other}"))),
        }
    }

    fn arith(&mut self, op: ArithOp, l: Bound, r: Bound) -> Result<Bound, PgError> {
        let (l, r) = match self.geo_binary(op.symbol(), l, r)? {
            Ok(b) => return Ok(b),
            Err(lr) => lr,
        };
        let sym = match op {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            _ => "",
        };
        let (l, r) = match self.range_operator(sym, l, r)? {
            Ok(b) => return Ok(b),
            Err(lr) => lr,
        };
        let (l, r) = match self.datetime_arith(op, l, r)? {
            Ok(b) => return Ok(b),
            Err(lr) => lr,
        };
        let (l, r) = match self.money_arith(op, l, r)? {
            Ok(b) => return Ok(b),
            Err(lr) => lr,
        };
        let (l, r) = match op {
            ArithOp::Sub => match self.json_minus(l, r)? {
                Ok(b) => return Ok(b),
                Err(lr) => lr,
            },
            _ => (l, r),
        };
        let sym = op.symbol();
        let (l, r) = match (l.is_unknown(), r.is_unknown()) {
            (true, true) => return Err(op_not_unique(sym, types::UNKNOWN, types::UNKNOWN)),
            (true, false) => {
                let t = r.ty;
                (self.coerce(l, Ty::new(t.oid))?, r)
            }
            (false, true) => {
                let t = l.ty;
                let r = self.coerce(r, Ty::new(t.oid))?;
                (l, r)
            }
            _ => (l, r),
        };
        let (a, b) = (l.ty.oid, r.ty.oid);
        if types::numeric_rank(a).is_none() || types::numeric_rank(b).is_none() {
            return Err(op_not_exist(sym, Some(a), b));
        }
        let target = match op {
            ArithOp::Pow => {
                if a == types::NUMERIC && !is_float(b) || b == types::NUMERIC && !is_float(a) {
                    types::NUMERIC
                } else {
                    types::FLOAT8
                }
            }
            _ => numeric_common(a, b),
        };
        if op == ArithOp::Mod && is_float(target) {
            return Err(op_not_exist(sym, Some(a), b));
        }
        let t = Ty::new(target);
        let l = self.coerce(l, t)?;
        let r = self.coerce(r, t)?;
        Ok(Bound::new(Expr::Arith(op, Box::new(l.e), Box::new(r.e)), t))
    }

    fn comparison_operands(
        &mut self,
        a: &ast::Expr,
        b: &ast::Expr,
        sym: &str,
    ) -> Result<(Bound, Bound), PgError> {
        let l = self.bind_expr(a)?;
        let r = self.bind_expr(b)?;
        self.compare_bound(l, r, sym)
    }

    /// Bring two operands of a comparison to one type.
    fn compare_bound(&mut self, l: Bound, r: Bound, sym: &str) -> Result<(Bound, Bound), PgError> {
        let (l, r) = match (l.is_unknown(), r.is_unknown()) {
            (true, true) => (
                self.coerce(l, Ty::new(types::TEXT))?,
                self.coerce(r, Ty::new(types::TEXT))?,
            ),
            (true, false) => {
                let t = Ty::new(r.ty.oid);
                (self.coerce(l, t)?, r)
            }
            (false, true) => {
                let t = Ty::new(l.ty.oid);
                let r = self.coerce(r, t)?;
                (l, r)
            }
            _ => (l, r),
        };
        // Composite values: record_eq / record_cmp check their columns
        // on the values (bind/rowtype.rs).
        if tusk_types::composite::is_row(l.ty.oid) && tusk_types::composite::is_row(r.ty.oid) {
            return Ok((l, r));
        }
        // Geometric values have no total order to compare by: their
        // operators are geometry.rs's, which IN lists and IS DISTINCT FROM
        // do not reach yet.
        if tusk_types::geo::is_geo(l.ty.oid) || tusk_types::geo::is_geo(r.ty.oid) {
            let sym = if sym.starts_with("IS") { "=" } else { sym };
            let has = crate::geometry::BINARY
                .iter()
                .any(|o| o.sym == sym && o.left == l.ty.oid && o.right == r.ty.oid);
            if has {
                return Err(not_supported(format!(
                    "operator {sym} on type {} in this construct",
                    types::sql_name(l.ty.oid)
                )));
            }
            return Err(op_not_exist(sym, Some(l.ty.oid), r.ty.oid));
        }
        let Some(t) = comparison_type(l.ty.oid, r.ty.oid) else {
            return Err(op_not_exist(sym, Some(l.ty.oid), r.ty.oid));
        };
        // Row comparisons compare field by field with their own NULL rules
        // (not the total order `compare` keeps for sorting): not yet.
        if t == types::RECORD {
            return Err(not_supported("comparison of row values"));
        }
        if matches!(t, types::BYTEA | types::VOID | types::XID)
            && sym != "="
            && sym != "<>"
            && t != types::BYTEA
        {
            return Err(op_not_exist(sym, Some(l.ty.oid), r.ty.oid));
        }
        let t = Ty::new(t);
        let l = if l.ty.oid == t.oid {
            l
        } else {
            self.coerce(l, t)?
        };
        let r = if r.ty.oid == t.oid {
            r
        } else {
            self.coerce(r, t)?
        };
        // character(n) compares without its trailing spaces (bpchareq):
        // both sides are compared as their text (the cast strips them).
        if t.oid == types::BPCHAR {
            let strip = |b: Bound| {
                Bound::new(
                    Expr::Cast {
                        arg: Box::new(b.e),
                        from: types::BPCHAR,
                        to: Ty::new(types::TEXT),
                    },
                    Ty::new(types::TEXT),
                )
            };
            return Ok((strip(l), strip(r)));
        }
        Ok((l, r))
    }

    /// Coerce expressions to their common type (CASE results, COALESCE...).
    pub(crate) fn unify(
        &mut self,
        items: Vec<Bound>,
        context: &str,
    ) -> Result<Vec<Bound>, PgError> {
        let tys: Vec<Oid> = items.iter().map(|b| b.ty.oid).collect();
        let t = Ty::new(common_type(&tys, context)?);
        let mut out = Vec::with_capacity(items.len());
        for b in items {
            out.push(if b.ty.oid == t.oid {
                b
            } else {
                self.coerce(b, t)?
            });
        }
        Ok(out)
    }

    fn case(
        &mut self,
        operand: Option<&ast::Expr>,
        conditions: &[ast::CaseWhen],
        else_result: Option<&ast::Expr>,
    ) -> Result<Bound, PgError> {
        let operand = match operand {
            Some(o) => Some(self.bind_expr(o)?),
            None => None,
        };
        let mut conds = Vec::with_capacity(conditions.len());
        let mut results = Vec::with_capacity(conditions.len() + 1);
        for w in conditions {
            let c = match &operand {
                Some(op) => {
                    let v = self.bind_expr(&w.condition)?;
                    let (a, b) = self.compare_bound(op.clone(), v, "=")?;
                    Expr::Cmp(CmpOp::Eq, Box::new(a.e), Box::new(b.e))
                }
                None => {
                    let b = self.bind_expr(&w.condition)?;
                    self.coerce_bool(b, "CASE/WHEN")?.e
                }
            };
            conds.push(c);
            results.push(self.bind_expr(&w.result)?);
        }
        let has_else = else_result.is_some();
        if let Some(e) = else_result {
            results.push(self.bind_expr(e)?);
        }
        let mut results = self.unify(results, "CASE")?;
        let ty = results
            .first()
            .map(|b| b.ty)
            .unwrap_or(Ty::new(types::TEXT));
        let else_ = if has_else {
            results
                .pop()
                .map(|b| b.e)
                .unwrap_or(Expr::Const(Value::Null))
        } else {
            Expr::Const(Value::Null)
        };
        let whens = conds
            .into_iter()
            .zip(results.into_iter().map(|b| b.e))
            .collect();
        Ok(Bound::new(
            Expr::Case {
                whens,
                else_: Box::new(else_),
            },
            ty,
        ))
    }

    fn function(&mut self, f: &ast::Function) -> Result<Bound, PgError> {
        if let Some(b) = self.prefix_operator_call(f)? {
            return Ok(b);
        }
        // `f(t.*)`: the whole row of FROM item `t` (bind/rowtype.rs).
        if let Some(f2) = rowtype::whole_row_args(f) {
            return self.function(&f2);
        }
        let parts = object_name_parts(&f.name)?;
        let name = match parts.as_slice() {
            [n] => n.clone(),
            [s, n] if s == "pg_catalog" => n.clone(),
            [s, n] => return self.schema_function(s, n, f),
            _ => {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("function {}() does not exist", parts.join(".")),
                ))
            }
        };
        if f.over.is_none()
            && crate::srf::is_srf_name(&name)
            && self.aggs_allowed == Some("select list")
            && !self.in_agg
            && !self.in_window
        {
            return self.select_list_srf(&name, f);
        }
        if f.over.is_none() && crate::srf::is_srf_name(&name) {
            if self.in_agg && self.aggs_allowed.is_some() {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "aggregate function calls cannot contain set-returning function calls",
                )
                .with_hint("You might be able to move the set-returning function into a LATERAL FROM item."));
            }
            if self.aggs_allowed.is_none() && self.scope.is_some() {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "set-returning functions are not allowed here",
                ));
            }
        }
        if name == "grouping" && f.over.is_none() {
            return self.grouping_call(f);
        }
        if let Some(b) = self.ordered_set_call(&name, f)? {
            return Ok(b);
        }
        if crate::agg::is_aggregate(&name) && (f.over.is_none() || f.filter.is_some()) {
            return self.aggregate_call(&name, f);
        }
        if !crate::agg::is_aggregate(&name) && self.is_user_aggregate(&name)? {
            return self.aggregate_call(&name, f);
        }
        if f.filter.is_some() || !f.within_group.is_empty() || f.null_treatment.is_some() {
            return Err(not_supported(format!(
                "FILTER, OVER and WITHIN GROUP on {name}()"
            )));
        }
        let list = match &f.args {
            ast::FunctionArguments::None => None,
            ast::FunctionArguments::List(l) => Some(l),
            ast::FunctionArguments::Subquery(_) => return Err(not_supported("subqueries")),
        };
        if let Some(l) = list {
            if !l.clauses.is_empty() {
                return Err(not_supported(format!("clauses inside {name}()")));
            }
            if matches!(
                l.duplicate_treatment,
                Some(ast::DuplicateTreatment::Distinct)
            ) {
                return Err(not_supported(format!("{name}(DISTINCT ...)")));
            }
        }
        let raw_args: Vec<&ast::FunctionArg> =
            list.map(|l| l.args.iter().collect()).unwrap_or_default();
        if f.over.is_some() {
            return match name.as_str() {
                "count" => self.window_aggregate(f, |b| b.count(&raw_args)),
                "sum" | "avg" | "min" | "max" => {
                    self.window_aggregate(f, |b| b.simple_aggregate(&name, &raw_args))
                }
                n if crate::agg::is_ext(n) => {
                    self.window_aggregate(f, |b| b.ext_aggregate(&name, &raw_args))
                }
                _ => self.window_function(&name, f, &raw_args),
            };
        }
        if name == "count" {
            return self.count(&raw_args);
        }
        if matches!(name.as_str(), "sum" | "avg" | "min" | "max") {
            return self.simple_aggregate(&name, &raw_args);
        }
        if let Some(b) = self.json_aggregate(&name, &raw_args)? {
            return Ok(b);
        }
        if raw_args
            .iter()
            .any(|a| !matches!(a, ast::FunctionArg::Unnamed(_)) || assigned_arg(a).is_some())
        {
            return self.named_call(None, &name, &raw_args);
        }
        let mut exprs = Vec::with_capacity(raw_args.len());
        for a in &raw_args {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => exprs.push(e),
                ast::FunctionArg::Unnamed(_) => {
                    return Err(syntax(format!(
                        "syntax error: * is only allowed in count(*), not in {name}()"
                    )))
                }
                _ => unreachable!("named arguments are bound by named_call"),
            }
        }
        if crate::sequence::takes_regclass(&name) {
            if let Some(first) = exprs.first_mut() {
                *first = crate::sequence::strip_regclass(first);
            }
        }
        match name.as_str() {
            "coalesce" | "greatest" | "least" => {
                if exprs.is_empty() {
                    return Err(syntax(format!(
                        "syntax error: {name}() needs at least one argument"
                    )));
                }
                let mut bs = Vec::with_capacity(exprs.len());
                for e in &exprs {
                    bs.push(self.bind_expr(e)?);
                }
                let ctx = name.to_uppercase();
                let bs = self.unify(bs, &ctx)?;
                let ty = bs.first().map(|b| b.ty).unwrap_or(Ty::new(types::TEXT));
                let es: Vec<Expr> = bs.into_iter().map(|b| b.e).collect();
                let e = match name.as_str() {
                    "coalesce" => Expr::Coalesce(es),
                    "greatest" => Expr::MinMax(es, true),
                    _ => Expr::MinMax(es, false),
                };
                return Ok(Bound::new(e, ty));
            }
            "nullif" => {
                if exprs.len() != 2 {
                    return Err(PgError::error(
                        sqlstate::UNDEFINED_FUNCTION,
                        format!(
                            "function nullif with {} arguments does not exist",
                            exprs.len()
                        ),
                    ));
                }
                let (a, b) = self.comparison_operands(exprs[0], exprs[1], "=")?;
                let ty = a.ty;
                return Ok(Bound::new(Expr::NullIf(Box::new(a.e), Box::new(b.e)), ty));
            }
            "current_timestamp" | "localtimestamp" if exprs.len() == 1 => {
                let p = self.bind_expr(exprs[0])?;
                let precision = match p.e {
                    Expr::Const(Value::Int4(p)) if (0..=6).contains(&p) => p,
                    _ => {
                        return Err(PgError::error(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            format!(
                                "{} precision must be an integer constant between 0 and 6",
                                name.to_uppercase()
                            ),
                        ))
                    }
                };
                let b = self.call_function(&name, Vec::new())?;
                let to = Ty::with_mod(b.ty.oid, precision);
                let from = b.ty.oid;
                return Ok(Bound::new(
                    Expr::Cast {
                        arg: Box::new(b.e),
                        from,
                        to,
                    },
                    to,
                ));
            }
            _ => {}
        }
        let mut args = Vec::with_capacity(exprs.len());
        for e in &exprs {
            args.push(self.bind_expr(e)?);
        }
        self.call_function(&name, args)
    }

    fn count(&mut self, args: &[&ast::FunctionArg]) -> Result<Bound, PgError> {
        let Some(ctx) = self.aggs_allowed else {
            return Err(PgError::error(
                tusk_common::sqlstate::GROUPING_ERROR,
                "aggregate functions are not allowed here",
            ));
        };
        let _ = ctx;
        if self.in_agg {
            return Err(PgError::error(
                tusk_common::sqlstate::GROUPING_ERROR,
                "aggregate function calls cannot be nested",
            ));
        }
        let call = match args {
            [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)] => AggCall::CountStar,
            [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))] => {
                // A window aggregate's own argument is over the select list's row.
                self.in_agg = !std::mem::replace(&mut self.window_arg, false);
                let b = self.bind_expr(e);
                self.in_agg = false;
                AggCall::Count(b?.e)
            }
            _ => {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!(
                        "function count with {} arguments does not exist",
                        args.len()
                    ),
                )
                .with_hint("count takes * or one expression."))
            }
        };
        self.aggs.push(call);
        Ok(Bound::new(
            Expr::Column(self.agg_offset() + self.aggs.len() - 1),
            Ty::new(types::INT8),
        ))
    }

    /// Where aggregate results start in the aggregate node's output row:
    /// after the group keys.
    fn agg_offset(&self) -> usize {
        self.grouping.as_ref().map_or(0, Vec::len)
    }

    /// GROUP BY: plain columns of the FROM item (by name, or by position
    /// in the select list when it names a column).
    fn bind_group_by(&mut self, select: &ast::Select) -> Result<Option<Vec<usize>>, PgError> {
        let exprs = match &select.group_by {
            ast::GroupByExpr::Expressions(v, m) if m.is_empty() => v,
            _ => return Err(not_supported("GROUP BY ALL and grouping modifiers")),
        };
        self.group_exprs.clear();
        self.grouping_sets = None;
        if exprs.is_empty() {
            return Ok(None);
        }
        if let Some(sets) = crate::bind::agg::expand_grouping_sets(exprs) {
            return self.bind_grouping_sets(select, sets).map(Some);
        }
        let mut keys = Vec::new();
        for e in exprs {
            let key = self.group_item(select, e)?;
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        Ok(Some(keys))
    }

    /// One GROUP BY item (a column, a select-list position or alias, an
    /// expression): the source-row column it groups on.
    pub(crate) fn group_item(
        &mut self,
        select: &ast::Select,
        e: &ast::Expr,
    ) -> Result<usize, PgError> {
        let e = match e {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => {
                    let pos: usize = n.parse().unwrap_or(0);
                    match select.projection.get(pos.wrapping_sub(1)) {
                        Some(ast::SelectItem::UnnamedExpr(x))
                        | Some(ast::SelectItem::ExprWithAlias { expr: x, .. }) => x,
                        _ => {
                            return Err(PgError::error(
                                tusk_common::sqlstate::INVALID_COLUMN_REFERENCE,
                                format!("GROUP BY position {n} is not in select list"),
                            ))
                        }
                    }
                }
                _ => e,
            },
            _ => e,
        };
        self.aggs_allowed = None;
        let mut e = e;
        let b = match self.bind_expr(e) {
            Err(err) if err.code == sqlstate::UNDEFINED_COLUMN => {
                // An output column's name that is no input column's.
                match crate::bind::agg::output_alias(select, e) {
                    Some(x) => {
                        e = x;
                        self.bind_expr(x)
                    }
                    None => Err(err),
                }
            }
            r => r,
        }
        .map_err(|err| where_agg(err, "GROUP BY"))?;
        if tusk_types::geo::is_geo(b.ty.oid) {
            return Err(no_equality(b.ty.oid).with_position(self.expr_at(e)));
        }
        Ok(self.group_key(e, b))
    }

    /// sum, avg, min, max of one expression, typed as PostgreSQL 15's.
    fn simple_aggregate(
        &mut self,
        name: &str,
        args: &[&ast::FunctionArg],
    ) -> Result<Bound, PgError> {
        if self.aggs_allowed.is_none() {
            return Err(PgError::error(
                tusk_common::sqlstate::GROUPING_ERROR,
                "aggregate functions are not allowed here",
            ));
        }
        if self.in_agg {
            return Err(PgError::error(
                tusk_common::sqlstate::GROUPING_ERROR,
                "aggregate function calls cannot be nested",
            ));
        }
        let e = match args {
            [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))] => e,
            _ => {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!(
                        "function {name} with {} arguments does not exist",
                        args.len()
                    ),
                ))
            }
        };
        // A window aggregate's own argument is over the select list's row.
        self.in_agg = !std::mem::replace(&mut self.window_arg, false);
        let b = self.bind_expr(e);
        self.in_agg = false;
        let mut b = b?;
        if b.is_unknown() {
            let target = if matches!(name, "min" | "max") {
                types::TEXT
            } else {
                types::NUMERIC
            };
            b = self.coerce(b, Ty::new(target))?;
        }
        let ty = b.ty.oid;
        let numeric_arg = matches!(
            ty,
            types::INT2
                | types::INT4
                | types::INT8
                | types::FLOAT4
                | types::FLOAT8
                | types::NUMERIC
        );
        let (call, ret) = match name {
            // PostgreSQL 15 has no min/max over bytea or rows.
            "min" | "max"
                if tusk_types::geo::is_geo(ty)
                    || ty == types::BYTEA
                    || ty == types::RECORD
                    || tusk_types::composite::is_composite(ty) =>
            {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("function {name}({}) does not exist", types::sql_name(ty)),
                )
                .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."))
            }
            "sum" | "avg" if !numeric_arg => {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("function {name}({}) does not exist", types::sql_name(ty)),
                )
                .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."))
            }
            "sum" => (
                AggCall::Sum(b.e, ty),
                match ty {
                    types::INT2 | types::INT4 => types::INT8,
                    types::INT8 | types::NUMERIC => types::NUMERIC,
                    other => other,
                },
            ),
            "avg" => (
                AggCall::Avg(b.e, ty),
                match ty {
                    types::FLOAT4 | types::FLOAT8 => types::FLOAT8,
                    _ => types::NUMERIC,
                },
            ),
            "min" => (AggCall::Min(b.e), ty),
            _ => (AggCall::Max(b.e), ty),
        };
        self.aggs.push(call);
        Ok(Bound::new(
            Expr::Column(self.agg_offset() + self.aggs.len() - 1),
            Ty::new(ret),
        ))
    }

    /// Resolve a built-in function by name and argument types.
    pub(crate) fn call_function(&mut self, name: &str, args: Vec<Bound>) -> Result<Bound, PgError> {
        let args = match self.array_function(name, args)? {
            Ok(b) => return Ok(b),
            Err(args) => args,
        };
        let args = match self.range_function(name, args)? {
            Ok(b) => return Ok(b),
            Err(args) => args,
        };
        let args = match self.ts_function(name, args)? {
            Ok(b) => return Ok(b),
            Err(args) => args,
        };
        let args = match self.datetime_function(name, args)? {
            Ok(b) => return Ok(b),
            Err(args) => args,
        };
        let args = match self.json_function(name, args)? {
            Ok(b) => return Ok(b),
            Err(args) => args,
        };
        let args = match crate::usertype::enum_function(name, args)? {
            Ok(b) => return Ok(b),
            Err(args) => args,
        };
        let mut args = match crate::usertype::row_function(self, name, args)? {
            Ok(b) => return Ok(b),
            Err(args) => args,
        };
        let candidates: Vec<&func::Signature> =
            func::all_signatures().filter(|s| s.name == name).collect();
        if candidates.is_empty() && func::UNSUPPORTED_AGGREGATES.contains(&name) {
            return Err(not_supported(format!("aggregate function {name}()")));
        }
        // `<type>send(value)`: every built-in type's binary output
        // function, callable as PostgreSQL's are (float4send, int8send...).
        if let (true, [a]) = (candidates.is_empty(), args.as_slice()) {
            let ty = name
                .strip_suffix("send")
                .and_then(|p| tusk_types::types::TYPES.iter().find(|t| t.name == p));
            if let Some(t) = ty {
                if a.ty.oid == t.oid || a.is_unknown() || implicit_ok(a.ty.oid, t.oid) {
                    let a = args.pop().expect("one argument");
                    let e = self.coerce(a, Ty::new(t.oid))?.e;
                    return Ok(Bound::new(
                        Expr::Func(func::Func::Send, vec![e]),
                        Ty::new(types::BYTEA),
                    ));
                }
            }
        }
        // `box('1,2,3,4')`: a type's name applied to one untyped literal
        // is that type's input, not a call (PostgreSQL's func_get_detail
        // takes it as a coercion when no function matches exactly, and
        // none takes `unknown`).
        if let [a] = args.as_slice() {
            let ty = tusk_types::types::TYPES.iter().find(|t| t.name == name);
            if let (true, Some(t), Expr::Const(_)) = (a.is_unknown(), ty, &a.e) {
                let a = args.pop().expect("one argument");
                return self.coerce(a, Ty::new(t.oid));
            }
        }
        let mut best: Option<(&func::Signature, usize, usize)> = None;
        for s in &candidates {
            match &s.args {
                Args::VariadicAny => {
                    if best.is_none() {
                        best = Some((s, 0, 0));
                    }
                }
                Args::Fixed(params) => {
                    if params.len() != args.len() {
                        continue;
                    }
                    let mut exact = 0;
                    let mut preferred = 0;
                    let mut ok = true;
                    for (a, &p) in args.iter().zip(params.iter()) {
                        if a.ty.oid == p {
                            exact += 1;
                        } else if implicit_ok(a.ty.oid, p) {
                            // An unknown literal leans to the string
                            // category, as PostgreSQL's resolution does:
                            // has_table_privilege('u', 't', 'select')
                            // takes the role as a name, not an oid.
                            let leans = if a.is_unknown() {
                                matches!(p, types::TEXT | types::NAME)
                            } else {
                                is_preferred(p)
                            };
                            if leans {
                                preferred += 1;
                            }
                        } else {
                            ok = false;
                            break;
                        }
                    }
                    if ok && best.is_none_or(|(_, e, p)| (exact, preferred) > (e, p)) {
                        best = Some((s, exact, preferred));
                    }
                }
            }
        }
        if let Some((_, exact, _)) = best {
            // A user function matching more argument types exactly wins
            // over a built-in reached through casts (div(int, int) of the
            // user's over pg_catalog.div(numeric, numeric)), as PostgreSQL
            // ranks candidates from every schema together.
            if exact < args.len() && self.user_function_exactness(name, &args)? > exact {
                match self.user_function(None, name, args, false)? {
                    Ok(b) => return Ok(b),
                    Err(a) => args = a,
                }
            }
        }
        let Some((sig, _, _)) = best else {
            let arg_types: Vec<Oid> = args.iter().map(|a| a.ty.oid).collect();
            let args = match self.user_function(None, name, args, false)? {
                Ok(b) => return Ok(b),
                Err(args) => args,
            };
            let _ = arg_types;
            let shown: Vec<String> = args.iter().map(|a| types::sql_name(a.ty.oid)).collect();
            return Err(PgError::error(
                sqlstate::UNDEFINED_FUNCTION,
                format!("function {name}({}) does not exist", shown.join(", ")),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."));
        };
        let mut bound = Vec::with_capacity(args.len());
        match sig.args {
            Args::VariadicAny => {
                for a in args {
                    bound.push(if a.is_unknown() {
                        self.coerce(a, Ty::new(types::TEXT))?
                    } else {
                        a
                    });
                }
            }
            Args::Fixed(params) => {
                for (a, &p) in args.into_iter().zip(params.iter()) {
                    bound.push(self.coerce(a, Ty::new(p))?);
                }
            }
        }
        let ret = match sig.ret {
            Some(r) => Ty::new(r),
            None => bound
                .first()
                .map(|b| Ty::new(b.ty.oid))
                .unwrap_or(Ty::new(types::TEXT)),
        };
        Ok(Bound::new(
            Expr::Func(sig.func, bound.into_iter().map(|b| b.e).collect()),
            ret,
        ))
    }

    /// `schema.name(args)`: a user routine of that schema.
    fn schema_function(
        &mut self,
        schema: &str,
        name: &str,
        f: &ast::Function,
    ) -> Result<Bound, PgError> {
        let list = match &f.args {
            ast::FunctionArguments::None => Vec::new(),
            ast::FunctionArguments::List(l) => l.args.iter().collect(),
            ast::FunctionArguments::Subquery(_) => return Err(not_supported("subqueries")),
        };
        if list
            .iter()
            .any(|a| !matches!(a, ast::FunctionArg::Unnamed(_)))
        {
            return self.named_call(Some(schema), name, &list);
        }
        let mut args = Vec::new();
        for a in list {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                    args.push(self.bind_expr(e)?)
                }
                _ => return Err(not_supported("named function arguments")),
            }
        }
        match self.user_function(Some(schema), name, args, false)? {
            Ok(b) => Ok(b),
            Err(args) => {
                let shown: Vec<String> = args.iter().map(|a| types::sql_name(a.ty.oid)).collect();
                Err(PgError::error(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("function {schema}.{name}({}) does not exist", shown.join(", ")),
                )
                .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."))
            }
        }
    }

    /// A call of a user-defined routine (routine.rs), after the
    /// built-in functions found no match: `Err(args)` gives the
    /// arguments back when no routine of that name accepts them.
    /// How many of `args`' types the user function `name` that a call
    /// would choose takes exactly (0 when none applies).
    fn user_function_exactness(&self, name: &str, args: &[Bound]) -> Result<usize, PgError> {
        let cands = self.host.lookup_routines(None, name)?;
        if cands.is_empty() {
            return Ok(0);
        }
        let arg_types: Vec<Oid> = args.iter().map(|a| a.ty.oid).collect();
        Ok(
            match crate::routine::choose(&cands, &arg_types, &implicit_ok)? {
                Some(def) => def
                    .arg_types
                    .iter()
                    .zip(&arg_types)
                    .filter(|(p, a)| p == a)
                    .count(),
                None => 0,
            },
        )
    }

    /// A call of a user routine with named arguments (`f(1, c => 2)`,
    /// `:=` too): positional ones first, each name a parameter after
    /// them, every parameter left out one with a default, as PostgreSQL's
    /// named notation. The arguments are put in parameter order (defaults
    /// bound for the gaps) and the call bound as a positional one.
    fn named_call(
        &mut self,
        schema: Option<&str>,
        name: &str,
        raw: &[&ast::FunctionArg],
    ) -> Result<Bound, PgError> {
        // `f(a, VARIADIC arr)`: arr is the variadic parameter's array.
        let marked = match raw.last() {
            Some(ast::FunctionArg::Named {
                name: m,
                arg: ast::FunctionArgExpr::Expr(last),
                ..
            })
            | Some(ast::FunctionArg::ExprNamed {
                name: ast::Expr::Identifier(m),
                arg: ast::FunctionArgExpr::Expr(last),
                ..
            }) if m.value == crate::routine::VARIADIC_MARK && m.quote_style.is_some() => Some(last),
            _ => None,
        };
        if let (Some(last), Some((_, first))) = (marked, raw.split_last()) {
            if first
                .iter()
                .all(|a| matches!(a, ast::FunctionArg::Unnamed(_)))
            {
                let mut args = Vec::with_capacity(raw.len());
                for a in first {
                    if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a {
                        args.push(self.bind_expr(e)?);
                    }
                }
                args.push(self.bind_expr(last)?);
                let shown: Vec<String> = args.iter().map(|a| types::sql_name(a.ty.oid)).collect();
                let _v = crate::routine::VariadicGiven::set();
                return match self.user_function(schema, name, args, false)? {
                    Ok(b) => Ok(b),
                    Err(args) if matches!(schema, None | Some("pg_catalog")) => {
                        match self.spread_call(name, args, last)? {
                            Some(b) => Ok(b),
                            None => Err(PgError::error(
                                sqlstate::UNDEFINED_FUNCTION,
                                format!("function {name}({}) does not exist", shown.join(", ")),
                            )
                            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")),
                        }
                    }
                    Err(_) => Err(PgError::error(
                        sqlstate::UNDEFINED_FUNCTION,
                        format!("function {name}({}) does not exist", shown.join(", ")),
                    )
                    .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")),
                };
            }
        }
        if schema.is_none() {
            if let Some(args) = self.path_named_args(name, raw)? {
                return self.call_function(name, args);
            }
        }
        let (args, shown) = self.named_to_positional(schema, name, raw)?;
        match self.user_function(schema, name, args, false)? {
            Ok(b) => Ok(b),
            Err(_) => Err(PgError::error(
                sqlstate::UNDEFINED_FUNCTION,
                format!("function {shown} does not exist"),
            )),
        }
    }

    /// `concat(VARIADIC arr)`, `concat_ws(sep, VARIADIC arr)`,
    /// `format(fmt, VARIADIC arr)`: the built-in variadic "any" functions
    /// given their trailing arguments as one array (func::SpreadFn); None
    /// for any other name or arity. `args` ends with the array.
    fn spread_call(
        &mut self,
        name: &str,
        args: Vec<Bound>,
        array_expr: &ast::Expr,
    ) -> Result<Option<Bound>, PgError> {
        let (spread, fixed) = match name {
            "concat" => (func::SpreadFn::Concat, 0),
            "concat_ws" => (func::SpreadFn::ConcatWs, 1),
            "format" => (func::SpreadFn::Format, 1),
            _ => return self.json_spread(name, args, array_expr),
        };
        if args.len() < fixed + 1 {
            return Ok(None);
        }
        let last = args.len() - 1;
        if tusk_types::array::elem_type(args[last].ty.oid).is_none() {
            return Err(PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                "VARIADIC argument must be an array",
            )
            .with_position(self.expr_at(array_expr)));
        }
        let mut bound = Vec::with_capacity(args.len());
        for (i, a) in args.into_iter().enumerate() {
            bound.push(if i < last && a.is_unknown() {
                self.coerce(a, Ty::new(types::TEXT))?.e
            } else {
                a.e
            });
        }
        Ok(Some(Bound::new(
            Expr::Func(func::Func::Spread(spread), bound),
            Ty::new(types::TEXT),
        )))
    }

    /// [`Self::named_call`]'s arguments in parameter order, with the call
    /// as PostgreSQL shows it in errors (`f(integer, c => integer)`).
    fn named_to_positional(
        &mut self,
        schema: Option<&str>,
        name: &str,
        raw: &[&ast::FunctionArg],
    ) -> Result<(Vec<Bound>, String), PgError> {
        let mut positional = Vec::new();
        let mut named: Vec<(String, Bound)> = Vec::new();
        for a in raw {
            let (n, arg) = match *a {
                a if assigned_arg(a).is_some() => {
                    let Some((i, e)) = assigned_arg(a) else {
                        continue;
                    };
                    (ident_name(i), e)
                }
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                    if !named.is_empty() {
                        return Err(syntax("positional argument cannot follow named argument"));
                    }
                    positional.push(self.bind_expr(e)?);
                    continue;
                }
                ast::FunctionArg::Named {
                    name,
                    arg: ast::FunctionArgExpr::Expr(e),
                    ..
                } => (ident_name(name), e),
                ast::FunctionArg::ExprNamed {
                    name: ast::Expr::Identifier(i),
                    arg: ast::FunctionArgExpr::Expr(e),
                    ..
                } => (ident_name(i), e),
                _ => return Err(syntax(format!("syntax error in arguments of {name}()"))),
            };
            if named.iter().any(|(m, _)| *m == n) {
                return Err(syntax(format!("argument name \"{n}\" used more than once")));
            }
            let b = self.bind_expr(arg)?;
            named.push((n, b));
        }
        let cands = self.host.lookup_routines(schema, name)?;
        let fits = |def: &catalog::FuncDef| -> Option<Vec<Option<usize>>> {
            let n = def.arg_types.len();
            if positional.len() > n {
                return None;
            }
            // For each parameter: Some(k) = named argument k, None = a
            // positional one or the default.
            let mut slot: Vec<Option<usize>> = vec![None; n];
            for (k, (m, b)) in named.iter().enumerate() {
                let i = def.arg_names.iter().position(|a| a == m)?;
                if i < positional.len() {
                    return None;
                }
                if !(b.is_unknown()
                    || b.ty.oid == def.arg_types[i]
                    || crate::polymorphic::is_polymorphic(def.arg_types[i])
                    || implicit_ok(b.ty.oid, def.arg_types[i]))
                {
                    return None;
                }
                slot[i] = Some(k);
            }
            let first_default = n - def.defaults.len();
            for (i, s) in slot.iter().enumerate().skip(positional.len()) {
                if s.is_none() && i < first_default {
                    return None;
                }
            }
            Some(slot)
        };
        let mut found: Vec<(std::rc::Rc<catalog::FuncDef>, Vec<Option<usize>>)> = cands
            .iter()
            .filter_map(|d| fits(d).map(|s| (d.clone(), s)))
            .collect();
        // As for positional calls: untyped literals prefer the overloads
        // taking string types there.
        if found.len() > 1 {
            let stringy = |def: &catalog::FuncDef, slot: &[Option<usize>]| {
                let is_str = |i: usize| {
                    matches!(
                        def.arg_types.get(i),
                        Some(&(types::TEXT | types::VARCHAR | types::BPCHAR | types::NAME))
                    )
                };
                positional
                    .iter()
                    .enumerate()
                    .all(|(i, b)| !b.is_unknown() || is_str(i))
                    && slot.iter().enumerate().all(|(i, s)| match s {
                        Some(k) => !named[*k].1.is_unknown() || is_str(i),
                        None => true,
                    })
            };
            if found.iter().any(|(d, s)| stringy(d, s)) {
                found.retain(|(d, s)| stringy(d, s));
            }
        }
        let shown = {
            let mut parts: Vec<String> = positional
                .iter()
                .map(|b| types::sql_name(b.ty.oid))
                .collect();
            parts.extend(
                named
                    .iter()
                    .map(|(n, b)| format!("{n} => {}", types::sql_name(b.ty.oid))),
            );
            let q = schema.map(|s| format!("{s}.")).unwrap_or_default();
            format!("{q}{name}({})", parts.join(", "))
        };
        let Some((def, slot)) = found.first().cloned() else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_FUNCTION,
                format!("function {shown} does not exist"),
            )
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."));
        };
        if found.len() > 1 {
            return Err(PgError::error(
                sqlstate::SqlState::new("42725"),
                format!("function {shown} is not unique"),
            )
            .with_hint("Could not choose a best candidate function. You might need to add explicit type casts."));
        }
        let n = def.arg_types.len();
        let first_default = n - def.defaults.len();
        let mut named: Vec<Option<Bound>> = named.into_iter().map(|(_, b)| Some(b)).collect();
        let mut args = positional;
        let given = args.len();
        for (i, s) in slot.iter().enumerate().skip(given) {
            let b = match *s {
                Some(k) => named[k].take().ok_or_else(|| {
                    PgError::error(sqlstate::INTERNAL_ERROR, "named argument used twice")
                })?,
                None => {
                    let text = &def.defaults[i - first_default];
                    let e =
                        sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
                            .try_with_sql(text)
                            .and_then(|mut p| p.parse_expr())
                            .map_err(|e| syntax(format!("syntax error in default {text}: {e}")))?;
                    self.bind_expr(&e)?
                }
            };
            // Polymorphic parameters are coerced once the call resolves them.
            if crate::polymorphic::is_polymorphic(def.arg_types[i]) {
                args.push(b);
            } else {
                args.push(self.coerce(b, Ty::new(def.arg_types[i]))?);
            }
        }
        Ok((args, shown))
    }

    fn user_function(
        &mut self,
        schema: Option<&str>,
        name: &str,
        args: Vec<Bound>,
        allow_set: bool,
    ) -> Result<Result<Bound, Vec<Bound>>, PgError> {
        let cands = self.host.lookup_routines(schema, name)?;
        if cands.is_empty() {
            return Ok(Err(args));
        }
        let arg_types: Vec<Oid> = args.iter().map(|a| a.ty.oid).collect();
        let Some(def) = crate::routine::choose(&cands, &arg_types, &implicit_ok)? else {
            return Ok(Err(args));
        };
        let calling = crate::routine::calling_procedure();
        // PostgreSQL names the call by the argument types given.
        let called = format!(
            "{name}({})",
            arg_types
                .iter()
                .map(|&t| types::sql_name(t))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if def.kind == b'p' && !calling {
            return Err(PgError::error(
                crate::routine::codes::WRONG_OBJECT_TYPE,
                format!("{called} is a procedure"),
            )
            .with_hint("To call a procedure, use CALL."));
        }
        if def.kind != b'p' && calling {
            return Err(PgError::error(
                crate::routine::codes::WRONG_OBJECT_TYPE,
                format!("{called} is not a procedure"),
            )
            .with_hint("To call a function, use SELECT."));
        }
        crate::acl::check_routine(self.host, &def)?;
        if calling && def.kind == b'p' {
            crate::routine::note_callee(&def);
        }
        let mut args = args;
        let first_default = def.arg_types.len() - def.defaults.len();
        for i in args.len()..def.arg_types.len() {
            let text = &def.defaults[i - first_default];
            let e = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
                .try_with_sql(text)
                .and_then(|mut p| p.parse_expr())
                .map_err(|e| syntax(format!("syntax error in default {text}: {e}")))?;
            args.push(self.bind_expr(&e)?);
        }
        // A polymorphic routine is bound with its actual types; a
        // VARIADIC one gets its trailing arguments as one array.
        let all_types: Vec<Oid> = args.iter().map(|a| a.ty.oid).collect();
        let n = def.arg_types.len();
        let (def, targets, expanded) = crate::routine::resolve_call(def, &all_types, &implicit_ok)?;
        let mut coerced = Vec::with_capacity(args.len());
        for (a, &p) in args.into_iter().zip(targets.iter()) {
            coerced.push(self.coerce(a, Ty::new(p))?);
        }
        if expanded {
            let rest = coerced.split_off(n - 1);
            coerced.push(array::variadic_array(rest, targets[n - 1])?);
        }
        let bound: Vec<Expr> = coerced.into_iter().map(|b| b.e).collect();
        if def.retset && !calling && !allow_set {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "set-returning function {}() is only supported in FROM",
                    def.name
                ),
            ));
        }
        let ty = Ty::new(def.ret);
        Ok(Ok(Bound::new(Expr::UserFunc(def, bound), ty)))
    }

    /// The statement of a data-modifying WITH query, bound without
    /// disturbing the query being bound; None when the WITH is not the
    /// statement's own (PostgreSQL allows them only there).
    pub(crate) fn bind_statement_in_with(
        &mut self,
        st: &ast::Statement,
    ) -> Option<Result<(crate::modify::ModifyPlan, Vec<Column>), PgError>> {
        if !self.outer.is_empty() || self.query_depth > 1 {
            return None;
        }
        let saved_scope = self.scope.take();
        let r = match st {
            ast::Statement::Insert(i) => self.bind_insert(i),
            ast::Statement::Update(u) => self.bind_update(u),
            ast::Statement::Delete(d) => self.bind_delete(d),
            _ => Err(not_supported("this statement in WITH")),
        };
        self.scope = saved_scope;
        Some(r)
    }

    // ---- SELECT ----

    pub fn bind_query(&mut self, q: &ast::Query) -> Result<(SelectPlan, Vec<Column>), PgError> {
        // WITH names are visible to the query and everything in it, and
        // gone after it (crates/sql/src/cte.rs).
        let mark = self.ctes.len();
        self.query_depth += 1;
        let r = match &q.with {
            Some(w) => self.bind_with(w).and_then(|_| self.bind_query_body(q)),
            None => self.bind_query_body(q),
        };
        self.query_depth -= 1;
        self.ctes.truncate(mark);
        r
    }

    fn bind_query_body(&mut self, q: &ast::Query) -> Result<(SelectPlan, Vec<Column>), PgError> {
        if !q.locks.is_empty() {
            return self.bind_locking_query(q);
        }
        if q.for_clause.is_some()
            || q.settings.is_some()
            || q.format_clause.is_some()
            || !q.pipe_operators.is_empty()
        {
            return Err(syntax(format!("syntax error at or near \"{q}\"")));
        }
        match q.body.as_ref() {
            ast::SetExpr::Select(s) => {
                let (mut plan, cols) = self.bind_select(s, q.order_by.as_ref(), Some(q), false)?;
                crate::subplan::optimize(&mut plan);
                Ok((plan, cols))
            }
            body => {
                let (source, cols) = self.bind_set_source(body)?;
                self.wrap_source(source, cols, q)
            }
        }
    }

    /// A SELECT with FOR UPDATE/SHARE clauses (crates/sql/src/rowlock.rs).
    fn bind_locking_query(&mut self, q: &ast::Query) -> Result<(SelectPlan, Vec<Column>), PgError> {
        let clauses = crate::rowlock::read_clauses(&q.locks)?;
        let ast::SetExpr::Select(s) = q.body.as_ref() else {
            return Err(crate::rowlock::not_allowed(
                clauses[0].strength,
                "UNION/INTERSECT/EXCEPT",
            ));
        };
        let (mut plan, cols) = self.bind_select(s, q.order_by.as_ref(), Some(q), false)?;
        let scope = self.scope.clone().unwrap_or_default();
        let aliases: Vec<(String, usize)> = scope
            .items
            .iter()
            .filter_map(|it| match (&it.alias, it.cols.first().map(|c| &c.expr)) {
                (Some(a), Some(Expr::Column(o))) => Some((a.clone(), *o)),
                _ => None,
            })
            .collect();
        crate::rowlock::attach(&mut plan, &clauses, &aliases, scope.width)?;
        // Locking rows needs UPDATE on their table, whatever the strength
        // (PostgreSQL's ACL_SELECT_FOR_UPDATE).
        if let Some(rl) = &plan.row_locks {
            for t in &rl.tables {
                crate::acl::check_relation(self.host, &t.rel, crate::acl::UPDATE)?;
            }
        }
        Ok((plan, cols))
    }

    /// One SELECT: FROM, WHERE, GROUP BY, the select list, HAVING, and
    /// the query's ORDER BY and LIMIT when given. `keep_unknown`: a
    /// set operation's leaf leaves untyped outputs for the operation to
    /// resolve against the other side.
    fn bind_select(
        &mut self,
        select: &ast::Select,
        order_by: Option<&ast::OrderBy>,
        limit_q: Option<&ast::Query>,
        keep_unknown: bool,
    ) -> Result<(SelectPlan, Vec<Column>), PgError> {
        self.ungrouped = None;
        self.check_select_clauses(select)?;
        self.windows.clear();
        self.inline_windows.clear();
        self.bind_named_windows(&select.named_window)?;

        // FROM
        let source = self.bind_from(&select.from)?;

        // WHERE: no aggregates, columns of the source row.
        let filter = match &select.selection {
            Some(w) => {
                self.aggs_allowed = None;
                let b = self.bind_expr(w).map_err(|e| where_agg(e, "WHERE"))?;
                Some(self.coerce_bool(b, "WHERE")?.e)
            }
            None => None,
        };

        let group_keys = self.bind_group_by(select)?;
        self.grouping = group_keys.clone();

        // Select list, then HAVING and ORDER BY, collecting aggregates.
        self.aggs_allowed = Some("select list");
        self.track_ungrouped = true;
        let mut targets: Vec<Bound> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for item in &select.projection {
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    targets.push(self.bind_expr(e)?);
                    names.push(
                        figure_colname(e)
                            .map(|(n, _)| n)
                            .unwrap_or_else(|| "?column?".into()),
                    );
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    targets.push(self.bind_expr(expr)?);
                    names.push(ident_name(alias));
                }
                ast::SelectItem::Wildcard(opts) => {
                    check_wildcard_opts(opts)?;
                    self.star(None, &mut targets, &mut names)?;
                }
                ast::SelectItem::QualifiedWildcard(kind, opts) => {
                    check_wildcard_opts(opts)?;
                    match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n) => {
                            let parts = object_name_parts(n)?;
                            self.star(Some(&parts), &mut targets, &mut names)?;
                        }
                        ast::SelectItemQualifiedWildcardKind::Expr(_) => {
                            return Err(not_supported("(expression).*"))
                        }
                    }
                }
                ast::SelectItem::ExprWithAliases { .. } => {
                    return Err(syntax("syntax error in select list"))
                }
            }
        }
        // PostgreSQL's MaxTupleAttributeNumber. Without this limit a list
        // past 32767 items could not even be described to the client (the
        // protocol's column count is an Int16) and the session would end.
        if targets.len() > MAX_TARGET_ENTRIES {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!("target lists can have at most {MAX_TARGET_ENTRIES} entries"),
            ));
        }
        let visible = targets.len();
        // Unknown outputs (bare literals, NULL, untyped $n) are text, as in
        // PostgreSQL; done after the whole list so `SELECT $1, $1 + 1`
        // still types $1 from the second item.
        for t in targets.iter_mut() {
            if t.is_unknown() && !keep_unknown {
                let b = std::mem::replace(
                    t,
                    Bound::new(Expr::Const(Value::Null), Ty::new(types::TEXT)),
                );
                *t = self.coerce(b, Ty::new(types::TEXT))?;
            }
        }

        let having = match &select.having {
            Some(h) => {
                self.aggs_allowed = Some("HAVING");
                let b = self.bind_expr(h)?;
                Some(self.coerce_bool(b, "HAVING")?.e)
            }
            None => None,
        };

        let mut sort = self.bind_order_by(order_by, &mut targets, &names, visible)?;
        let distinct_on = match &select.distinct {
            Some(ast::Distinct::On(exprs)) => {
                Some(self.bind_distinct_on(exprs, &mut targets, &names, visible, &mut sort)?)
            }
            _ => None,
        };
        self.track_ungrouped = false;
        self.aggs_allowed = None;

        let aggregate = !self.aggs.is_empty() || having.is_some() || group_keys.is_some();
        let mut windows = std::mem::take(&mut self.windows);
        if !windows.is_empty() {
            crate::window::set_evaluation_order(
                &mut windows,
                &crate::window::sort_group_exprs(select, order_by),
            );
            // Window results follow the window node's input row: the
            // aggregate's row (keys, aggregates) or the FROM row.
            let input_width = if aggregate {
                group_keys.as_ref().map_or(0, Vec::len) + self.aggs.len()
            } else {
                self.scope.as_ref().map_or(0, |s| s.width)
            };
            for t in targets.iter_mut() {
                crate::window::place_window_columns(&mut t.e, input_width);
            }
        }
        let srfs = std::mem::take(&mut self.srfs);
        if !srfs.is_empty() {
            // SRF values follow the window node's row: the aggregate's
            // row or the FROM row, then the window results.
            let at = if aggregate {
                group_keys.as_ref().map_or(0, Vec::len) + self.aggs.len()
            } else {
                self.scope.as_ref().map_or(0, |s| s.width)
            } + windows.len();
            for t in targets.iter_mut() {
                crate::srf::place_srf_columns(&mut t.e, at);
            }
        }
        self.grouping = None;
        if aggregate {
            if let Some(msg) = &self.ungrouped {
                return Err(
                    PgError::error(tusk_common::sqlstate::GROUPING_ERROR, msg.clone())
                        .with_position(self.ungrouped_pos),
                );
            }
        }
        let distinct = matches!(select.distinct, Some(ast::Distinct::Distinct));
        // The geometric types have no equality operator class to
        // deduplicate with.
        if let Some(i) = targets[..visible]
            .iter()
            .position(|t| distinct && tusk_types::geo::is_geo(t.ty.oid))
        {
            let pos = match select.projection.get(i) {
                Some(ast::SelectItem::UnnamedExpr(x))
                | Some(ast::SelectItem::ExprWithAlias { expr: x, .. })
                    if select.projection.len() == visible =>
                {
                    self.expr_at(x)
                }
                _ => None,
            };
            return Err(no_equality(targets[i].ty.oid).with_position(pos));
        }
        if distinct && targets.len() > visible {
            return Err(PgError::error(
                sqlstate::INVALID_COLUMN_REFERENCE,
                "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
            ));
        }

        // LIMIT / OFFSET: constants or parameters, bigint.
        let saved = self.scope.take();
        let (limit, offset, with_ties) = match limit_q {
            Some(q) => self.limit_offset(q, !sort.is_empty())?,
            None => (None, None, false),
        };
        self.scope = saved;

        let columns = targets[..visible]
            .iter()
            .zip(names)
            .map(|(t, name)| Column {
                name,
                type_oid: t.ty.oid,
                type_len: types::typlen(t.ty.oid),
                type_mod: t.ty.typmod,
            })
            .collect();
        let plan = SelectPlan {
            source,
            filter,
            aggs: if aggregate {
                Some(std::mem::take(&mut self.aggs))
            } else {
                None
            },
            group_by: group_keys.unwrap_or_default(),
            group_exprs: std::mem::take(&mut self.group_exprs)
                .into_iter()
                .map(|g| g.1)
                .collect(),
            srfs,
            grouping_sets: self.grouping_sets.take(),
            having,
            targets: targets.into_iter().map(|b| b.e).collect(),
            visible,
            sort,
            limit,
            offset,
            with_ties,
            distinct,
            distinct_on,
            windows,
            row_locks: None,
            alias: None,
            merged: 0,
        };
        Ok((plan, columns))
    }

    /// ORDER BY of a query whose visible targets are `targets[..visible]`
    /// named `names`; expressions not in the list become hidden targets.
    fn bind_order_by(
        &mut self,
        order_by: Option<&ast::OrderBy>,
        targets: &mut Vec<Bound>,
        names: &[String],
        visible: usize,
    ) -> Result<Vec<SortKey>, PgError> {
        let mut sort = Vec::new();
        if let Some(ob) = order_by {
            let exprs = match &ob.kind {
                ast::OrderByKind::Expressions(v) => v,
                ast::OrderByKind::All(_) => return Err(not_supported("ORDER BY ALL")),
            };
            if ob.interpolate.is_some() {
                return Err(syntax("syntax error at or near \"INTERPOLATE\""));
            }
            self.aggs_allowed = Some("ORDER BY");
            for o in exprs {
                if o.with_fill.is_some() {
                    return Err(syntax("syntax error at or near \"WITH FILL\""));
                }
                let col = self.order_target(&o.expr, targets, names, visible)?;
                // The geometric types have no btree operator class.
                if let Some(t) = targets.get(col).map(|b| b.ty.oid) {
                    // Nor a composite with such a field (record_cmp).
                    let unordered =
                        |f: &tusk_types::composite::Field| tusk_types::geo::is_geo(f.ty.oid);
                    let bad_row = tusk_types::composite::composite(t)
                        .is_some_and(|c| c.fields.iter().any(unordered));
                    if tusk_types::geo::is_geo(t) || bad_row {
                        let mut e = PgError::error(
                            sqlstate::UNDEFINED_FUNCTION,
                            format!(
                                "could not identify an ordering operator for type {}",
                                types::sql_name(t)
                            ),
                        )
                        .with_hint("Use an explicit ordering operator or modify the query.");
                        e.position = self.expr_at(&o.expr);
                        return Err(e);
                    }
                }
                let desc = match &o.options.sort {
                    None | Some(ast::OrderBySort::Asc) => false,
                    Some(ast::OrderBySort::Desc) => true,
                    Some(ast::OrderBySort::Using(op)) => order_using(op)?,
                };
                let nulls_first = o.options.nulls_first.unwrap_or(desc);
                sort.push(SortKey {
                    col,
                    desc,
                    nulls_first,
                });
            }
        }
        Ok(sort)
    }

    /// FROM: its items joined left to right (a comma is a cross join);
    /// sets the query's scope.
    fn bind_from(&mut self, from: &[ast::TableWithJoins]) -> Result<Source, PgError> {
        self.scope = None;
        let mut acc: Option<(Source, Scope)> = None;
        for twj in from {
            // A LATERAL subquery sees the items before it.
            if matches!(
                &twj.relation,
                ast::TableFactor::Derived { lateral: true, .. }
            ) {
                self.scope = acc.as_ref().map(|(_, s)| s.clone());
            }
            let item = match self.bind_table_with_joins(twj) {
                Err(e) if Self::wants_lateral(&twj.relation, &e) && twj.joins.is_empty() => {
                    let left = acc.as_ref().map(|(_, s)| s.clone());
                    self.bind_function_laterally(&twj.relation, left, e)
                }
                r => r,
            };
            self.scope = None;
            let item = item?;
            acc = Some(match acc {
                None => item,
                Some(left) => self.join(left, item, JoinKind::Inner, &ast::JoinConstraint::None)?,
            });
        }
        Ok(match acc {
            None => Source::Result,
            Some((src, scope)) => {
                self.scope = Some(scope);
                src
            }
        })
    }

    fn bind_table_with_joins(
        &mut self,
        twj: &ast::TableWithJoins,
    ) -> Result<(Source, Scope), PgError> {
        let mut acc = self.bind_factor(&twj.relation)?;
        for j in &twj.joins {
            use ast::JoinOperator as J;
            let (kind, c) = match &j.join_operator {
                J::Join(c) | J::Inner(c) => (JoinKind::Inner, c),
                J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, c),
                J::Right(c) | J::RightOuter(c) => (JoinKind::Right, c),
                J::FullOuter(c) => (JoinKind::Full, c),
                J::CrossJoin(c) => (JoinKind::Inner, c),
                other => return Err(not_supported(format!("join \"{other:?}\""))),
            };
            if j.global {
                return Err(syntax("syntax error at or near \"GLOBAL\""));
            }
            let lateral = matches!(&j.relation, ast::TableFactor::Derived { lateral: true, .. });
            if lateral && matches!(kind, JoinKind::Right | JoinKind::Full) {
                return Err(not_supported("RIGHT and FULL JOIN with LATERAL"));
            }
            // A LATERAL subquery sees the items joined before it (not
            // earlier comma-separated items: they are not in this join's
            // left row).
            let saved = self.scope.take();
            if lateral {
                self.scope = Some(acc.1.clone());
            }
            let right = match self.bind_factor(&j.relation) {
                Err(e) if !lateral && Self::wants_lateral(&j.relation, &e) => {
                    if matches!(kind, JoinKind::Right | JoinKind::Full) {
                        Err(e)
                    } else {
                        self.bind_function_laterally(&j.relation, Some(acc.1.clone()), e)
                    }
                }
                r => r,
            };
            self.scope = saved;
            acc = self.join(acc, right?, kind, c)?;
        }
        Ok(acc)
    }

    /// Whether a FROM item that failed to bind with `e` may be a function
    /// reading columns of the items before it: PostgreSQL's functions in
    /// FROM are implicitly LATERAL.
    fn wants_lateral(tf: &ast::TableFactor, e: &PgError) -> bool {
        match tf {
            ast::TableFactor::Function { .. } => true,
            ast::TableFactor::Table { args: Some(_), .. } | ast::TableFactor::UNNEST { .. } => {
                e.code == sqlstate::UNDEFINED_COLUMN || e.code == sqlstate::UNDEFINED_TABLE
            }
            _ => false,
        }
    }

    /// A function in FROM over the items to its left (`left`), bound as
    /// `LATERAL (SELECT * FROM f(...) AS a) AS a`: the LATERAL subquery
    /// machinery runs it once per left row. `first` is the error of the
    /// plain binding, returned when there is nothing to the left.
    fn bind_function_laterally(
        &mut self,
        tf: &ast::TableFactor,
        left: Option<Scope>,
        first: PgError,
    ) -> Result<(Source, Scope), PgError> {
        let Some(left) = left else {
            return Err(first);
        };
        let (alias, text) = match tf {
            ast::TableFactor::Function {
                name,
                args,
                alias,
                with_ordinality,
                ..
            } => {
                let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                let ord = if *with_ordinality {
                    " WITH ORDINALITY"
                } else {
                    ""
                };
                let shown = alias
                    .as_ref()
                    .map(|a| format!(" AS {a}"))
                    .unwrap_or_default();
                (
                    alias.clone(),
                    format!("{name}({}){ord}{shown}", args.join(", ")),
                )
            }
            other => {
                let alias = match other {
                    ast::TableFactor::Table { alias, .. }
                    | ast::TableFactor::UNNEST { alias, .. } => alias.clone(),
                    _ => return Err(first),
                };
                (alias, other.to_string())
            }
        };
        let fname = match tf {
            ast::TableFactor::Table { name, .. } | ast::TableFactor::Function { name, .. } => {
                object_name_parts(name)?.pop().unwrap_or_default()
            }
            _ => "unnest".to_string(),
        };
        let sql = format!("SELECT * FROM {text}");
        let Ok(mut stmts) =
            sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, &sql)
        else {
            return Err(first);
        };
        let Some(ast::Statement::Query(q)) = stmts.pop() else {
            return Err(first);
        };
        let outer = ast::TableAlias {
            columns: Vec::new(),
            ..alias.unwrap_or_else(|| ast::TableAlias {
                explicit: true,
                name: ast::Ident::new(fname),
                columns: Vec::new(),
                at: None,
            })
        };
        let derived = ast::TableFactor::Derived {
            lateral: true,
            subquery: q,
            alias: Some(outer),
            sample: None,
        };
        // The rewritten text's spans are not the client's: no positions.
        let saved_src = self.src.take();
        let saved = self.scope.replace(left);
        let r = self.bind_factor(&derived);
        self.scope = saved;
        self.src = saved_src;
        r
    }

    /// Column aliases `t (a, b)` rename the first columns of an item.
    fn apply_alias(scope: &mut Scope, alias: &ast::TableAlias) -> Result<(), PgError> {
        let t = ident_name(&alias.name);
        let item = &mut scope.items[0];
        if alias.columns.len() > item.visible {
            return Err(PgError::error(
                sqlstate::INVALID_COLUMN_REFERENCE,
                format!(
                    "table \"{t}\" has {} columns available but {} columns specified",
                    item.visible,
                    alias.columns.len()
                ),
            ));
        }
        for (c, a) in item.cols.iter_mut().zip(&alias.columns) {
            c.name = ident_name(&a.name);
        }
        item.alias = Some(t.clone());
        for (st, c) in scope.star.iter_mut().zip(&item.cols) {
            st.0 = c.name.clone();
            st.3 = format!("{t}.{}", c.name);
        }
        Ok(())
    }

    fn bind_factor(&mut self, tf: &ast::TableFactor) -> Result<(Source, Scope), PgError> {
        match tf {
            ast::TableFactor::Table {
                name,
                alias,
                args: Some(args),
                with_ordinality: true,
                ..
            } => self.with_ordinality(alias.as_ref(), |b, bare| {
                b.function_in_from(name, bare, args)
                    .map_err(|e| b.function_name_pos(e, name))
            }),
            ast::TableFactor::Table {
                name,
                alias,
                args: Some(args),
                ..
            } => self
                .function_in_from(name, alias.as_ref(), args)
                .map_err(|e| self.function_name_pos(e, name)),
            ast::TableFactor::Table { name, alias, .. } => {
                let parts = object_name_parts(name)?;
                if let [t] = parts.as_slice() {
                    let found = self.cte_source(t).map_err(|e| {
                        if e.code == sqlstate::FEATURE_NOT_SUPPORTED {
                            e.with_position(self.at(sqlparser::ast::Spanned::span(name)))
                        } else {
                            e
                        }
                    })?;
                    if let Some((src, cols)) = found {
                        let n = cols.len();
                        let mut scope = Scope::single(Some(t.clone()), None, cols, n);
                        if let Some(a) = alias {
                            Self::apply_alias(&mut scope, a)?;
                        }
                        return Ok((src, scope));
                    }
                    // A transition table of the running trigger (trigger.rs).
                    if let Some(cols) = crate::trigger::transition_columns(t) {
                        let n = cols.len();
                        let mut scope = Scope::single(Some(t.clone()), None, cols, n);
                        if let Some(a) = alias {
                            Self::apply_alias(&mut scope, a)?;
                        }
                        return Ok((Source::Transition(t.clone()), scope));
                    }
                }
                let found = match parts.as_slice() {
                    [t] => catalog::lookup(self.host, None, t),
                    [s, t] => catalog::lookup(self.host, Some(s), t),
                    [d, s, t] => {
                        if *d != self.host.identity().database {
                            return Err(not_supported(format!(
                                "cross-database references (\"{d}.{s}.{t}\")"
                            )));
                        }
                        catalog::lookup(self.host, Some(s), t)
                    }
                    _ => {
                        return Err(syntax(format!(
                            "improper relation name (too many dotted names): {name}"
                        )))
                    }
                };
                let rel = found.map_err(|e| self.relation_pos(e, name))?;
                // Policies first: PostgreSQL expands them in the rewriter,
                // before the executor checks privileges.
                let rls = crate::policy::scan_qual(self.host, &rel, &[crate::policy::Cmd::Select])?;
                let denied =
                    crate::acl::check_relation_columns(self.host, &rel, crate::acl::SELECT)?;
                if let catalog::RelationSource::View(_) = rel.source {
                    return self.view_in_from(&rel, alias.as_ref());
                }
                let mut scope = relation_scope(&rel, rel.name.to_string());
                mark_denied(&mut scope, &rel, denied);
                let mut rel = rel;
                if crate::inherit::is_only(name) {
                    rel.children.clear();
                }
                if let Some(a) = alias {
                    Self::apply_alias(&mut scope, a)?;
                    rel.alias = Some(ident_name(&a.name));
                }
                Ok((crate::policy::secure_source(rel, rls), scope))
            }
            ast::TableFactor::Derived {
                lateral,
                subquery,
                alias,
                sample,
            } => {
                if sample.is_some() {
                    return Err(not_supported("TABLESAMPLE"));
                }
                let Some(alias) = alias else {
                    return Err(syntax("subquery in FROM must have an alias")
                        .with_hint("For example, FROM (SELECT ...) [AS] foo.")
                        .with_position(self.subquery_pos(subquery)));
                };
                // LATERAL: the items to the left are its enclosing scope
                // (the caller put them in `self.scope`).
                let (plan, cols) = self.bind_subquery(subquery, *lateral)?;
                let cols: Vec<(String, Ty)> = cols
                    .into_iter()
                    .map(|c| {
                        (
                            c.name,
                            Ty {
                                oid: c.type_oid,
                                typmod: c.type_mod,
                            },
                        )
                    })
                    .collect();
                let n = cols.len();
                let mut scope = Scope::single(None, None, cols, n);
                Self::apply_alias(&mut scope, alias)?;
                let mut plan = plan;
                plan.alias = viewref::alias_of(&scope);
                if *lateral {
                    return Ok((Source::LateralSubquery(Box::new(plan)), scope));
                }
                Ok((Source::Subquery(Box::new(plan)), scope))
            }
            ast::TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let (src, mut scope) = self.bind_table_with_joins(table_with_joins)?;
                if let Some(a) = alias {
                    // An aliased join hides the names inside it: it is
                    // one item whose columns are its `*`.
                    let cols: Vec<ScopeCol> = scope
                        .star
                        .iter()
                        .map(|(n, ty, e, _)| ScopeCol {
                            name: n.clone(),
                            ty: *ty,
                            expr: e.clone(),
                            merged: false,
                            denied: None,
                        })
                        .collect();
                    let visible = cols.len();
                    scope.items = vec![RangeItem {
                        alias: None,
                        schema: None,
                        cols,
                        visible,
                        rowtype: 0,
                    }];
                    Self::apply_alias(&mut scope, a)?;
                }
                Ok((src, scope))
            }
            ast::TableFactor::Function { .. } | ast::TableFactor::TableFunction { .. } => {
                Err(not_supported("functions in FROM"))
            }
            ast::TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset: false,
                with_ordinality,
                ..
            } if array_exprs.len() == 1 => {
                let unnest = |b: &mut Self, alias: Option<&ast::TableAlias>| {
                    let arg = b.bind_expr(&array_exprs[0])?;
                    match b.array_set_function("unnest", alias, vec![arg])? {
                        Ok(r) => Ok(r),
                        Err(_) => Err(not_supported("unnest() in FROM")),
                    }
                };
                if *with_ordinality {
                    self.with_ordinality(alias.as_ref(), unnest)
                } else {
                    unnest(self, alias.as_ref())
                }
            }
            other => Err(not_supported(format!("FROM item \"{other}\""))),
        }
    }

    /// `f(...) WITH ORDINALITY [AS a(cols)]`: the function bound by `bind`
    /// under the alias's name only, then one int8 column `ordinality`
    /// appended, the alias's column list covering it too.
    fn with_ordinality(
        &mut self,
        alias: Option<&ast::TableAlias>,
        bind: impl FnOnce(&mut Self, Option<&ast::TableAlias>) -> Result<(Source, Scope), PgError>,
    ) -> Result<(Source, Scope), PgError> {
        let bare = alias.map(|a| ast::TableAlias {
            columns: Vec::new(),
            ..a.clone()
        });
        let (src, scope) = bind(self, bare.as_ref())?;
        let item = &scope.items[0];
        if scope.width != item.visible {
            return Err(not_supported("WITH ORDINALITY on this function"));
        }
        let mut cols: Vec<(String, Ty)> = item.cols[..item.visible]
            .iter()
            .map(|c| (c.name.clone(), c.ty))
            .collect();
        cols.push(("ordinality".into(), Ty::new(types::INT8)));
        let n = cols.len();
        let mut scope = Scope::single(item.alias.clone(), None, cols, n);
        if let Some(a) = alias {
            Self::apply_alias(&mut scope, a)?;
        }
        Ok((Source::Ordinality(Box::new(src)), scope))
    }

    /// Join two bound FROM items: the right item's columns follow the
    /// left's in the row. USING and NATURAL merge each named pair into one
    /// column (the left's, the right's for RIGHT JOIN, COALESCE of both
    /// for FULL JOIN), listed first by `*`, as PostgreSQL does. Equality
    /// conditions between the two sides become hash keys.
    fn join(
        &mut self,
        (lsrc, l): (Source, Scope),
        (rsrc, mut r): (Source, Scope),
        kind: JoinKind,
        constraint: &ast::JoinConstraint,
    ) -> Result<(Source, Scope), PgError> {
        for a in l.items.iter().filter_map(|i| i.alias.as_ref()) {
            if r.items.iter().any(|i| i.alias.as_ref() == Some(a)) {
                return Err(PgError::error(
                    sqlstate::DUPLICATE_ALIAS,
                    format!("table name \"{a}\" specified more than once"),
                ));
            }
        }
        let (lw, rw) = (l.width, r.width);
        let shift = |e: &mut Expr| e.map_columns(&|i| i + lw);
        for it in &mut r.items {
            for c in &mut it.cols {
                shift(&mut c.expr);
            }
        }
        for st in &mut r.star {
            shift(&mut st.2);
        }
        let using: Vec<String> = match constraint {
            ast::JoinConstraint::Using(names) => {
                let mut v = Vec::new();
                for n in names {
                    let parts = object_name_parts(n)?;
                    let [name] = parts.as_slice() else {
                        return Err(syntax(format!("syntax error at or near \"{n}\"")));
                    };
                    if v.contains(name) {
                        return Err(PgError::error(
                            sqlstate::DUPLICATE_COLUMN,
                            format!(
                                "column name \"{name}\" appears more than once in USING clause"
                            ),
                        ));
                    }
                    v.push(name.clone());
                }
                v
            }
            ast::JoinConstraint::Natural => l
                .star
                .iter()
                .filter(|(n, ..)| r.star.iter().any(|(m, ..)| m == n))
                .map(|(n, ..)| n.clone())
                .collect(),
            _ => Vec::new(),
        };
        let mut merged = Vec::new();
        let mut conds: Vec<Expr> = Vec::new();
        for name in &using {
            let pick = |sc: &Scope, side: &str| -> Result<(Ty, Expr), PgError> {
                let found: Vec<_> = sc.star.iter().filter(|(n, ..)| n == name).collect();
                match found.as_slice() {
                    [(_, ty, e, _)] => {
                        if let Some(t) = sc.denied_of(e) {
                            return Err(crate::acl::denied_table(t));
                        }
                        Ok((*ty, e.clone()))
                    }
                    [] => Err(PgError::error(
                        sqlstate::UNDEFINED_COLUMN,
                        format!("column \"{name}\" specified in USING clause does not exist in {side} table"),
                    )),
                    _ => Err(PgError::error(
                        sqlstate::AMBIGUOUS_COLUMN,
                        format!("common column name \"{name}\" appears more than once in {side} table"),
                    )),
                }
            };
            let (lt, le) = pick(&l, "left")?;
            let (rt, re) = pick(&r, "right")?;
            let (lb, rb) = self.compare_bound(Bound::new(le, lt), Bound::new(re, rt), "=")?;
            let ty = lb.ty;
            let expr = match kind {
                JoinKind::Inner | JoinKind::Left | JoinKind::Semi | JoinKind::Anti => lb.e.clone(),
                JoinKind::Right => rb.e.clone(),
                JoinKind::Full => Expr::Coalesce(vec![lb.e.clone(), rb.e.clone()]),
            };
            conds.push(Expr::Cmp(CmpOp::Eq, Box::new(lb.e), Box::new(rb.e)));
            merged.push(ScopeCol {
                name: name.clone(),
                ty,
                expr,
                merged: false,
                denied: None,
            });
        }
        let mut scope = Scope {
            width: lw + rw,
            star: Vec::new(),
            items: Vec::new(),
        };
        for m in &merged {
            scope
                .star
                .push((m.name.clone(), m.ty, m.expr.clone(), m.name.clone()));
        }
        for st in l.star.iter().chain(&r.star) {
            if !using.contains(&st.0) {
                scope.star.push(st.clone());
            }
        }
        scope.items = l.items;
        scope.items.extend(r.items);
        for it in &mut scope.items {
            let vis = it.visible;
            for c in &mut it.cols[..vis] {
                if using.contains(&c.name) {
                    c.merged = true;
                }
            }
        }
        if !merged.is_empty() {
            let visible = merged.len();
            scope.items.push(RangeItem {
                alias: None,
                schema: None,
                cols: merged,
                visible,
                rowtype: 0,
            });
        }
        if let ast::JoinConstraint::On(on) = constraint {
            let saved = self.scope.replace(scope.clone());
            let saved_allowed = self.aggs_allowed.take();
            let b = self
                .bind_expr(on)
                .map_err(|e| where_agg(e, "JOIN conditions"));
            self.scope = saved;
            self.aggs_allowed = saved_allowed;
            let b = self.coerce_bool(b?, "JOIN/ON")?;
            match b.e {
                Expr::And(v) => conds.extend(v),
                e => conds.push(e),
            }
        }
        // `left expr = right expr` conjuncts are hash keys, the rest is
        // checked per pair (exec::split_join_conds).
        let (hash_keys, mut rest) = crate::exec::split_join_conds(conds, lw);
        let qual = match rest.len() {
            0 => None,
            1 => rest.pop(),
            _ => Some(Expr::And(rest)),
        };
        // PostgreSQL runs a FULL JOIN only as a merge or hash join, so it
        // needs an equality between the sides when there is a condition
        // on the rows at all; tusk could, but answers as PostgreSQL does.
        if kind == JoinKind::Full
            && hash_keys.is_empty()
            && qual
                .as_ref()
                .is_some_and(|q| !q.columns_used().0.is_empty())
        {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "FULL JOIN is only supported with merge-joinable or hash-joinable join conditions",
            ));
        }
        Ok((
            Source::Join(Box::new(JoinPlan {
                kind,
                left: lsrc,
                right: rsrc,
                left_width: lw,
                right_width: rw,
                hash_keys,
                qual,
            })),
            scope,
        ))
    }

    /// Bind a subquery one query level down. An expression's subquery
    /// sees this level's names (`sees_outer`); a FROM subquery does not
    /// (no LATERAL), but still sees the levels further out.
    pub(crate) fn bind_subquery(
        &mut self,
        q: &ast::Query,
        sees_outer: bool,
    ) -> Result<(SelectPlan, Vec<Column>), PgError> {
        self.nested(sees_outer, |b| b.bind_query(q))
    }

    /// Run `f` one query level down: this level's binding state is kept
    /// aside (its names visible below if `sees_outer`) and restored.
    fn nested<T>(
        &mut self,
        sees_outer: bool,
        f: impl FnOnce(&mut Self) -> Result<T, PgError>,
    ) -> Result<T, PgError> {
        let scope = if sees_outer { self.scope.clone() } else { None };
        let level = Level {
            scope,
            grouping: if self.in_agg {
                None
            } else {
                self.grouping.clone()
            },
            group_exprs: std::mem::take(&mut self.group_exprs),
            aggs: std::mem::take(&mut self.aggs),
            aggs_allowed: self.aggs_allowed.take(),
            in_agg: std::mem::replace(&mut self.in_agg, false),
            ungrouped: self.ungrouped.take(),
            track_ungrouped: std::mem::replace(&mut self.track_ungrouped, false),
        };
        let saved_scope = self.scope.take();
        let saved_grouping = self.grouping.take();
        let saved_windows = std::mem::take(&mut self.windows);
        let saved_srfs = std::mem::take(&mut self.srfs);
        let saved_sets = self.grouping_sets.take();
        let saved_named = std::mem::take(&mut self.named_windows);
        let saved_inline = std::mem::take(&mut self.inline_windows);
        let saved_in_window = std::mem::replace(&mut self.in_window, false);
        let saved_window_arg = std::mem::replace(&mut self.window_arg, false);
        let saved_ungrouped_pos = self.ungrouped_pos.take();
        self.outer.push(level);
        let r = f(self);
        self.ungrouped_pos = saved_ungrouped_pos;
        self.windows = saved_windows;
        self.srfs = saved_srfs;
        self.grouping_sets = saved_sets;
        self.named_windows = saved_named;
        self.inline_windows = saved_inline;
        self.in_window = saved_in_window;
        self.window_arg = saved_window_arg;
        let level = self.outer.pop().expect("pushed above");
        self.scope = saved_scope;
        self.grouping = saved_grouping;
        self.group_exprs = level.group_exprs;
        self.aggs = level.aggs;
        self.aggs_allowed = level.aggs_allowed;
        self.in_agg = level.in_agg;
        self.ungrouped = level.ungrouped;
        self.track_ungrouped = level.track_ungrouped;
        r
    }

    /// The body of a query that is not a plain SELECT (a set operation,
    /// VALUES, a parenthesized query) as a source, with its columns'
    /// names and types. Each SELECT in it is bound one level down, as a
    /// FROM subquery is (it sees enclosing queries, not its siblings).
    pub(crate) fn bind_set_source(
        &mut self,
        e: &ast::SetExpr,
    ) -> Result<(Source, Vec<(String, Ty)>), PgError> {
        let cols_of = |cols: Vec<Column>| -> Vec<(String, Ty)> {
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
        };
        match e {
            ast::SetExpr::Select(sel) => {
                let (plan, cols) = self.nested(false, |b| b.bind_select(sel, None, None, true))?;
                Ok((Source::Subquery(Box::new(plan)), cols_of(cols)))
            }
            ast::SetExpr::Query(q) => {
                let (plan, cols) = self.bind_subquery(q, false)?;
                Ok((Source::Subquery(Box::new(plan)), cols_of(cols)))
            }
            ast::SetExpr::Values(v) => self.nested(false, |b| b.bind_values(v)),
            ast::SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                let kind = match op {
                    ast::SetOperator::Union => SetOpKind::Union,
                    ast::SetOperator::Intersect => SetOpKind::Intersect,
                    ast::SetOperator::Except => SetOpKind::Except,
                    ast::SetOperator::Minus => {
                        return Err(syntax("syntax error at or near \"MINUS\""))
                    }
                };
                let all = match set_quantifier {
                    ast::SetQuantifier::All => true,
                    ast::SetQuantifier::Distinct | ast::SetQuantifier::None => false,
                    _ => return Err(syntax("syntax error at or near \"BY\"")),
                };
                let (mut ls, lc) = self.bind_set_source(left)?;
                let (mut rs, rc) = self.bind_set_source(right)?;
                if lc.len() != rc.len() {
                    return Err(syntax(format!(
                        "each {op} query must have the same number of columns"
                    )));
                }
                let mut cols = Vec::with_capacity(lc.len());
                for (i, ((name, lt), (_, rt))) in lc.iter().zip(&rc).enumerate() {
                    let t = Ty::new(common_type(&[lt.oid, rt.oid], &op.to_string())?);
                    let t = if lt == rt { *lt } else { t };
                    if tusk_types::geo::is_geo(t.oid) && !(all && kind == SetOpKind::Union) {
                        return Err(no_equality(t.oid));
                    }
                    self.coerce_source_col(&mut ls, i, *lt, t)?;
                    self.coerce_source_col(&mut rs, i, *rt, t)?;
                    cols.push((name.clone(), t));
                }
                Ok((
                    Source::SetOp(Box::new(SetOpPlan {
                        kind,
                        all,
                        left: ls,
                        right: rs,
                    })),
                    cols,
                ))
            }
            ast::SetExpr::Table(_) => Err(not_supported("TABLE")),
            other => Err(not_supported(format!("\"{other}\""))),
        }
    }

    /// Give column `i` of a set operation's input the type `to`, where
    /// it is computed (a SELECT's target, each VALUES row), so that an
    /// untyped literal is read as that type as PostgreSQL does.
    pub(crate) fn coerce_source_col(
        &mut self,
        src: &mut Source,
        i: usize,
        from: Ty,
        to: Ty,
    ) -> Result<(), PgError> {
        if from == to {
            return Ok(());
        }
        let fix = |b: &mut Self, e: &mut Expr| -> Result<(), PgError> {
            let x = std::mem::replace(e, Expr::Const(Value::Null));
            *e = b.coerce(Bound::new(x, from), to)?.e;
            Ok(())
        };
        match src {
            Source::Subquery(p) => fix(self, &mut p.targets[i]),
            Source::Values(rows) => {
                for r in rows {
                    fix(self, &mut r[i])?;
                }
                Ok(())
            }
            Source::SetOp(o) => {
                self.coerce_source_col(&mut o.left, i, from, to)?;
                self.coerce_source_col(&mut o.right, i, from, to)
            }
            _ => Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "set operation over an unexpected input",
            )),
        }
    }

    /// VALUES rows: every row as long as the first, each column of one
    /// type (PostgreSQL's "VALUES types ... cannot be matched"), named
    /// column1, column2, ...
    fn bind_values(&mut self, v: &ast::Values) -> Result<(Source, Vec<(String, Ty)>), PgError> {
        let width = v.rows.first().map_or(0, |r| r.content.len());
        let mut rows: Vec<Vec<Bound>> = Vec::with_capacity(v.rows.len());
        for r in &v.rows {
            if r.content.len() != width {
                return Err(syntax("VALUES lists must all be the same length"));
            }
            let mut row = Vec::with_capacity(width);
            for e in &r.content {
                row.push(self.bind_expr(e)?);
            }
            rows.push(row);
        }
        let mut cols = Vec::with_capacity(width);
        for i in 0..width {
            let tys: Vec<Oid> = rows.iter().map(|r| r[i].ty.oid).collect();
            let all_unknown = tys.iter().all(|&t| t == types::UNKNOWN);
            let t = if all_unknown {
                Ty::new(types::UNKNOWN)
            } else {
                let first = rows[0][i].ty;
                if rows.iter().all(|r| r[i].ty == first) {
                    first
                } else {
                    Ty::new(common_type(&tys, "VALUES")?)
                }
            };
            if !all_unknown {
                for r in rows.iter_mut() {
                    if r[i].ty != t {
                        let b =
                            std::mem::replace(&mut r[i], Bound::new(Expr::Const(Value::Null), t));
                        r[i] = self.coerce(b, t)?;
                    }
                }
            }
            cols.push((format!("column{}", i + 1), t));
        }
        let rows = rows
            .into_iter()
            .map(|r| r.into_iter().map(|b| b.e).collect())
            .collect();
        Ok((Source::Values(rows), cols))
    }

    /// A query over a source that is not a SELECT's FROM (a set
    /// operation, VALUES): its columns are the output, named as the
    /// source names them, then the query's ORDER BY and LIMIT.
    fn wrap_source(
        &mut self,
        source: Source,
        mut cols: Vec<(String, Ty)>,
        q: &ast::Query,
    ) -> Result<(SelectPlan, Vec<Column>), PgError> {
        // What is still untyped at the top is text, as in PostgreSQL.
        let mut source = source;
        for (i, c) in cols.iter_mut().enumerate() {
            if c.1.oid == types::UNKNOWN {
                let text = Ty::new(types::TEXT);
                self.coerce_source_col(&mut source, i, c.1, text)?;
                c.1 = text;
            }
        }
        let n = cols.len();
        self.scope = Some(Scope::single(None, None, cols.clone(), n));
        let mut targets: Vec<Bound> = cols
            .iter()
            .enumerate()
            .map(|(i, (_, t))| Bound::new(Expr::Column(i), *t))
            .collect();
        let names: Vec<String> = cols.iter().map(|c| c.0.clone()).collect();
        self.aggs_allowed = None;
        let sort = self.bind_order_by(q.order_by.as_ref(), &mut targets, &names, n)?;
        self.scope = None;
        let (limit, offset, with_ties) = self.limit_offset(q, !sort.is_empty())?;
        let columns = cols
            .into_iter()
            .map(|(name, t)| Column {
                name,
                type_oid: t.oid,
                type_len: types::typlen(t.oid),
                type_mod: t.typmod,
            })
            .collect();
        Ok((
            SelectPlan {
                source,
                filter: None,
                aggs: None,
                group_by: Vec::new(),
                group_exprs: Vec::new(),
                srfs: Vec::new(),
                grouping_sets: None,
                having: None,
                targets: targets.into_iter().map(|b| b.e).collect(),
                visible: n,
                sort,
                limit,
                offset,
                with_ties,
                distinct: false,
                distinct_on: None,
                windows: Vec::new(),
                row_locks: None,
                alias: None,
                merged: 0,
            },
            columns,
        ))
    }

    /// A subquery in an expression: `kind` says how its rows are used.
    fn sublink(&mut self, q: &ast::Query, what: SubUse<'_>) -> Result<Bound, PgError> {
        // IN's left side is of this level: bind it before going down.
        let lhs = match &what {
            SubUse::In(e, ..) => Some(self.bind_expr(e)?),
            _ => None,
        };
        let (plan, cols) = self.bind_subquery(q, true)?;
        if !matches!(what, SubUse::Exists(_)) && cols.len() != 1 {
            return Err(syntax(
                if cols.is_empty() || matches!(what, SubUse::Scalar) {
                    "subquery must return only one column"
                } else {
                    "subquery has too many columns"
                },
            ));
        }
        let mut correlated = false;
        plan.clone().visit_exprs(1, &mut |e, lvl| {
            if let Expr::Outer { depth, .. } = e {
                if *depth >= lvl {
                    correlated = true;
                }
            }
        });
        let out_ty = cols.first().map(|c| Ty {
            oid: c.type_oid,
            typmod: c.type_mod,
        });
        let link = |kind| {
            Expr::SubLink(Box::new(SubLink {
                kind,
                plan,
                correlated,
                cache: None,
            }))
        };
        Ok(match what {
            SubUse::Exists(negated) => {
                let e = link(SubLinkKind::Exists);
                let e = if negated { Expr::Not(Box::new(e)) } else { e };
                Bound::new(e, Ty::new(types::BOOL))
            }
            SubUse::Scalar => {
                let ty = out_ty.expect("one column");
                Bound::new(link(SubLinkKind::Scalar), ty)
            }
            SubUse::In(_, op, all, negated) => {
                let ty = out_ty.expect("one column");
                let (l, r) = self.compare_bound(
                    lhs.expect("bound above"),
                    Bound::new(Expr::Column(0), ty),
                    op.symbol(),
                )?;
                Bound::new(
                    link(SubLinkKind::In {
                        lhs: l.e,
                        rhs: r.e,
                        op,
                        all,
                        negated,
                    }),
                    Ty::new(types::BOOL),
                )
            }
        })
    }

    /// A function in FROM. Only `generate_series` over integers is a
    /// set-returning function today; its arguments may not refer to
    /// columns (there are none in scope yet). As in PostgreSQL, the
    /// column of a function returning a scalar is named by the column
    /// alias, else the table alias, else the function's name.
    fn function_in_from(
        &mut self,
        name: &ast::ObjectName,
        alias: Option<&ast::TableAlias>,
        args: &ast::TableFunctionArgs,
    ) -> Result<(Source, Scope), PgError> {
        let parts = object_name_parts(name)?;
        let fname = match parts.as_slice() {
            [n] => n.clone(),
            [s, n] if s == "pg_catalog" => n.clone(),
            _ => {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("function {}() does not exist", parts.join(".")),
                ))
            }
        };
        if args.settings.is_some() {
            return Err(syntax(format!("syntax error at or near \"{name}\"")));
        }
        let mut bound = Vec::with_capacity(args.args.len());
        let named = args
            .args
            .iter()
            .any(|a| !matches!(a, ast::FunctionArg::Unnamed(_)) || assigned_arg(a).is_some());
        if named {
            let raw: Vec<&ast::FunctionArg> = args.args.iter().collect();
            bound = match self.path_named_args(&fname, &raw)? {
                Some(b) => b,
                None => self.named_to_positional(None, &fname, &raw)?.0,
            };
        }
        for a in args.args.iter().filter(|_| !named) {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                    bound.push(self.bind_expr(e)?)
                }
                ast::FunctionArg::Unnamed(_) => {
                    return Err(syntax(format!(
                        "syntax error: * is only allowed in count(*), not in {fname}()"
                    )))
                }
                _ => return Err(not_supported("named function arguments")),
            }
        }
        let bound = match self.array_set_function(&fname, alias, bound)? {
            Ok(r) => return Ok(r),
            Err(bound) => bound,
        };
        let bound = match self.json_set_function(&fname, alias, bound)? {
            Ok(r) => return Ok(r),
            Err(bound) => bound,
        };
        let bound = match self.partition_set_function(&fname, alias, bound)? {
            Ok(r) => return Ok(r),
            Err(bound) => bound,
        };
        if fname != "generate_series" {
            if let Some(r) = self.set_function_in_from(&fname, alias, bound)? {
                return Ok(r);
            }
            return Err(not_supported(format!("function {fname}() in FROM")));
        }
        let is_int = |b: &Bound| matches!(b.ty.oid, types::INT2 | types::INT4 | types::INT8);
        if fname == "generate_series"
            && (2..=3).contains(&bound.len())
            && bound.iter().all(Bound::is_unknown)
        {
            // Integers, numeric and timestamps all take unknown arguments.
            return Err(PgError::error(
                sqlstate::AMBIGUOUS_FUNCTION,
                format!(
                    "function generate_series({}) is not unique",
                    vec!["unknown"; bound.len()].join(", ")
                ),
            )
            .with_hint(
                "Could not choose a best candidate function. You might need to add explicit type casts.",
            ));
        }
        let series = fname == "generate_series"
            && (2..=3).contains(&bound.len())
            && bound.iter().all(|b| is_int(b) || b.is_unknown())
            && bound.iter().any(is_int);
        if !series {
            if fname == "generate_series" && (2..=3).contains(&bound.len()) {
                if let Some(r) = self.general_series(alias, &bound)? {
                    return Ok(r);
                }
            }
            // No such set-returning function: PostgreSQL's 42883 for the
            // name and argument types, as a scalar call would give.
            self.call_function(&fname, bound)?;
            return Err(not_supported(format!("function {fname}() in FROM")));
        }
        let int8 = bound.iter().any(|b| b.ty.oid == types::INT8);
        let ty = Ty::new(if int8 { types::INT8 } else { types::INT4 });
        let mut es = Vec::with_capacity(bound.len());
        for b in bound {
            es.push(self.coerce(b, ty)?.e);
        }
        let mut it = es.into_iter();
        let (start, stop, step) = (
            it.next().expect("two arguments"),
            it.next().expect("two arguments"),
            it.next(),
        );
        Ok((
            Source::Series {
                start,
                stop,
                step,
                int8,
            },
            one_column_scope(&fname, alias, ty)?,
        ))
    }

    /// generate_series over numeric, or over timestamps with an interval
    /// step: PostgreSQL's candidates chosen as its resolution does (date
    /// and unknown arguments take timestamptz, its preferred type). None
    /// when neither applies (the caller reports 42883).
    fn general_series(
        &mut self,
        alias: Option<&ast::TableAlias>,
        bound: &[Bound],
    ) -> Result<Option<(Source, Scope)>, PgError> {
        let oids: Vec<Oid> = bound.iter().map(|b| b.ty.oid).collect();
        let numberish = |o: Oid| {
            matches!(
                o,
                types::INT2 | types::INT4 | types::INT8 | types::NUMERIC | types::UNKNOWN
            )
        };
        let timeish = |o: Oid| {
            matches!(
                o,
                types::TIMESTAMP | types::TIMESTAMPTZ | types::DATE | types::UNKNOWN
            )
        };
        let (kind, col, step_ty) =
            if oids.iter().all(|&o| numberish(o)) && oids.contains(&types::NUMERIC) {
                (None, types::NUMERIC, types::NUMERIC)
            } else if bound.len() == 3
                && oids[..2].iter().all(|&o| timeish(o))
                && matches!(oids[2], types::INTERVAL | types::UNKNOWN)
            {
                let plain = oids[..2].contains(&types::TIMESTAMP)
                    && !oids[..2]
                        .iter()
                        .any(|&o| matches!(o, types::TIMESTAMPTZ | types::DATE));
                if plain {
                    (Some(false), types::TIMESTAMP, types::INTERVAL)
                } else {
                    (Some(true), types::TIMESTAMPTZ, types::INTERVAL)
                }
            } else {
                return Ok(None);
            };
        let mut args = Vec::with_capacity(bound.len());
        for (i, b) in bound.iter().cloned().enumerate() {
            let to = if i == 2 { step_ty } else { col };
            args.push(self.coerce(b, Ty::new(to))?.e);
        }
        Ok(Some((
            Source::SetFunc {
                op: crate::arrays::SrfOp::Series(kind),
                args,
            },
            one_column_scope("generate_series", alias, Ty::new(col))?,
        )))
    }

    /// pg_partition_ancestors(regclass) and pg_partition_tree(regclass) in
    /// FROM (psql's \d asks for a table's trigger ancestors with the
    /// first), and pg_options_to_table(text[]) (psql's \dew+ and co.);
    /// `Err(args)` for any other call.
    fn partition_set_function(
        &mut self,
        fname: &str,
        alias: Option<&ast::TableAlias>,
        args: Vec<Bound>,
    ) -> Result<Result<(Source, Scope), Vec<Bound>>, PgError> {
        let regclass = || Ty::new(types::REGCLASS);
        let (op, arg_ty, mut cols) = match (fname, args.len()) {
            ("pg_partition_ancestors", 1) => (
                crate::arrays::SrfOp::Partitions(false),
                regclass(),
                vec![("relid".to_string(), regclass())],
            ),
            ("pg_options_to_table", 1) => (
                crate::arrays::SrfOp::Options,
                Ty::new(1009),
                vec![
                    ("option_name".to_string(), Ty::new(types::TEXT)),
                    ("option_value".to_string(), Ty::new(types::TEXT)),
                ],
            ),
            ("pg_partition_tree", 1) => (
                crate::arrays::SrfOp::Partitions(true),
                regclass(),
                vec![
                    ("relid".to_string(), regclass()),
                    ("parentrelid".to_string(), regclass()),
                    ("isleaf".to_string(), Ty::new(types::BOOL)),
                    ("level".to_string(), Ty::new(types::INT4)),
                ],
            ),
            _ => return Ok(Err(args)),
        };
        let arg = args.into_iter().next().expect("one argument");
        let arg = self.coerce(arg, arg_ty)?;
        let alias_name = alias
            .map(|a| ident_name(&a.name))
            .unwrap_or_else(|| fname.to_string());
        rename_function_columns(alias, &alias_name, &mut cols)?;
        let width = cols.len();
        Ok(Ok((
            Source::SetFunc {
                op,
                args: vec![arg.e],
            },
            Scope::single(Some(alias_name), None, cols, width),
        )))
    }

    /// A user-defined function in FROM: its rows (one per call for a
    /// scalar function), its columns named by RETURNS TABLE or by the
    /// function (or the alias).
    fn set_function_in_from(
        &mut self,
        fname: &str,
        alias: Option<&ast::TableAlias>,
        bound: Vec<Bound>,
    ) -> Result<Option<(Source, Scope)>, PgError> {
        let b = match self.user_function(None, fname, bound, true)? {
            Ok(b) => b,
            Err(args) => {
                // PostgreSQL's 42883 for the name and argument types.
                self.call_function(fname, args)?;
                return Ok(None);
            }
        };
        let Expr::UserFunc(def, args) = b.e else {
            return Ok(None);
        };
        let alias_name = alias
            .map(|a| ident_name(&a.name))
            .unwrap_or_else(|| fname.to_string());
        let mut cols: Vec<(String, Ty)> = if def.out_cols.is_empty() {
            vec![(alias_name.clone(), Ty::new(def.ret))]
        } else {
            def.out_cols
                .iter()
                .map(|(n, t)| (n.clone(), Ty::new(*t)))
                .collect()
        };
        if let Some(a) = alias {
            for (i, c) in a.columns.iter().enumerate() {
                if let Some(col) = cols.get_mut(i) {
                    col.0 = ident_name(&c.name);
                }
            }
        }
        let n = cols.len();
        Ok(Some((
            Source::Function { def, args },
            Scope::single(Some(alias_name), None, cols, n),
        )))
    }

    fn check_select_clauses(&self, s: &ast::Select) -> Result<(), PgError> {
        if s.into.is_some() {
            return Err(not_supported("SELECT INTO"));
        }
        if !matches!(&s.group_by, ast::GroupByExpr::Expressions(_, m) if m.is_empty()) {
            return Err(not_supported("GROUP BY ALL and grouping modifiers"));
        }
        if s.top.is_some()
            || s.prewhere.is_some()
            || !s.lateral_views.is_empty()
            || !s.connect_by.is_empty()
            || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty()
            || s.qualify.is_some()
            || s.value_table_mode.is_some()
            || s.exclude.is_some()
            || s.select_modifiers.is_some()
        {
            return Err(syntax(format!("syntax error at or near \"{s}\"")));
        }
        Ok(())
    }

    fn star(
        &mut self,
        qual: Option<&[String]>,
        targets: &mut Vec<Bound>,
        names: &mut Vec<String>,
    ) -> Result<(), PgError> {
        let Some(scope) = &self.scope else {
            if let Some(q) = qual {
                return Err(missing_from_entry(q));
            }
            return Err(syntax("SELECT * with no tables specified is not valid"));
        };
        let entries: Vec<(String, Ty, Expr, String)> = match qual {
            Some(q) => {
                let item = scope.item(q)?;
                item.cols[..item.visible]
                    .iter()
                    .map(|c| (c.name.clone(), c.ty, c.expr.clone(), scope.shown(c)))
                    .collect()
            }
            None => scope.star.clone(),
        };
        if self.track_ungrouped && self.ungrouped.is_none() && self.grouping.is_none() {
            if let Some((.., shown)) = entries.first() {
                self.ungrouped = Some(format!("column \"{shown}\" must appear in the GROUP BY clause or be used in an aggregate function"));
            }
        }
        for (_, _, e, _) in &entries {
            if let Some(t) = scope.denied_of(e) {
                return Err(crate::acl::denied_table(t));
            }
        }
        for (n, ty, e, shown) in entries {
            let e = match (&self.grouping, e) {
                (None, e) => e,
                (Some(keys), e) => {
                    let pos = match e {
                        Expr::Column(i) => keys.iter().position(|&k| k == i),
                        _ => None,
                    };
                    let dependent = match (pos, &e) {
                        (None, Expr::Column(i)) => self.functionally_grouped(*i, ty)?,
                        _ => None,
                    };
                    match (pos, dependent) {
                        (Some(k), _) => Expr::Column(k),
                        (None, Some(b)) => b.e,
                        (None, None) => {
                            return Err(PgError::error(
                                tusk_common::sqlstate::GROUPING_ERROR,
                                format!("column \"{shown}\" must appear in the GROUP BY clause or be used in an aggregate function"),
                            ))
                        }
                    }
                }
            };
            targets.push(Bound::new(e, ty));
            names.push(n);
        }
        Ok(())
    }

    /// The target-list index an ORDER BY item sorts on: a position, an
    /// output column name, or a new hidden target.
    pub(crate) fn order_target(
        &mut self,
        e: &ast::Expr,
        targets: &mut Vec<Bound>,
        names: &[String],
        visible: usize,
    ) -> Result<usize, PgError> {
        if let ast::Expr::Value(v) = e {
            if let ast::Value::Number(n, _) = &v.value {
                let pos: usize = n.parse().unwrap_or(0);
                if pos == 0 || pos > visible {
                    return Err(PgError::error(
                        tusk_common::sqlstate::INVALID_COLUMN_REFERENCE,
                        format!("ORDER BY position {n} is not in select list"),
                    ));
                }
                return Ok(pos - 1);
            }
        }
        if let ast::Expr::Identifier(i) = e {
            let n = ident_name(i);
            if let Some(pos) = names.iter().position(|x| *x == n) {
                return Ok(pos);
            }
        }
        let b = self.bind_expr(e)?;
        let b = if b.is_unknown() {
            self.coerce(b, Ty::new(types::TEXT))?
        } else {
            b
        };
        targets.push(b);
        Ok(targets.len() - 1)
    }

    /// LIMIT/OFFSET/FETCH FIRST: the count, the offset and whether rows
    /// tied with the last one on the ORDER BY keys come too (WITH TIES,
    /// which needs an ORDER BY: `ordered`).
    fn limit_offset(
        &mut self,
        q: &ast::Query,
        ordered: bool,
    ) -> Result<(Option<Expr>, Option<Expr>, bool), PgError> {
        let (mut limit, mut offset) = (None, None);
        match &q.limit_clause {
            None => {}
            Some(ast::LimitClause::LimitOffset {
                limit: l,
                offset: o,
                limit_by,
            }) => {
                if !limit_by.is_empty() {
                    return Err(syntax("syntax error at or near \"BY\""));
                }
                if let Some(l) = l {
                    limit = Some(self.bind_count(l, "LIMIT")?);
                }
                if let Some(o) = o {
                    offset = Some(self.bind_count(&o.value, "OFFSET")?);
                }
            }
            Some(ast::LimitClause::OffsetCommaLimit { .. }) => {
                return Err(syntax("LIMIT #,# syntax is not supported")
                    .with_hint("Use separate LIMIT and OFFSET clauses."))
            }
        }
        let mut with_ties = false;
        if let Some(f) = &q.fetch {
            if f.percent {
                return Err(syntax("syntax error at or near \"PERCENT\""));
            }
            with_ties = f.with_ties;
            if with_ties {
                // PostgreSQL's grammar refuses these two (a NULL computed
                // at run time means no limit, as for LIMIT).
                if matches!(
                    &f.quantity,
                    Some(ast::Expr::Value(v)) if matches!(v.value, ast::Value::Null)
                ) {
                    return Err(syntax(
                        "row count cannot be null in FETCH FIRST ... WITH TIES clause",
                    ));
                }
                if q.locks
                    .iter()
                    .any(|l| matches!(l.nonblock, Some(ast::NonBlock::SkipLocked)))
                {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "SKIP LOCKED and WITH TIES options cannot be used together",
                    ));
                }
            }
            if limit.is_some() {
                return Err(syntax("multiple LIMIT clauses not allowed"));
            }
            limit = Some(match &f.quantity {
                Some(e) => self.bind_count(e, "LIMIT")?,
                None => Expr::Const(Value::Int8(1)),
            });
        }
        if with_ties && !ordered {
            return Err(syntax(
                "WITH TIES cannot be specified without ORDER BY clause",
            ));
        }
        Ok((limit, offset, with_ties))
    }

    fn bind_count(&mut self, e: &ast::Expr, what: &str) -> Result<Expr, PgError> {
        let b = self.bind_expr(e).map_err(|err| {
            if err.code == sqlstate::UNDEFINED_COLUMN {
                PgError::error(
                    tusk_common::sqlstate::INVALID_COLUMN_REFERENCE,
                    format!("argument of {what} must not contain variables"),
                )
            } else {
                err
            }
        })?;
        if !b.is_unknown() && types::numeric_rank(b.ty.oid).is_none() {
            {
                return Err(PgError::error(
                    sqlstate::DATATYPE_MISMATCH,
                    format!(
                        "argument of {what} must be type bigint, not type {}",
                        types::sql_name(b.ty.oid)
                    ),
                ));
            }
        }
        let t = Ty::new(types::INT8);
        if b.is_unknown() {
            return Ok(self.coerce(b, t)?.e);
        }
        Ok(self.explicit_cast(b, t)?.e)
    }
}

fn where_agg(e: PgError, clause: &str) -> PgError {
    if e.code == "42P20" && e.message == "window functions are not allowed here" {
        PgError::error(
            tusk_common::sqlstate::SqlState::new("42P20"),
            format!("window functions are not allowed in {clause}"),
        )
    } else if e.code == "0A000" && e.message == "set-returning functions are not allowed here" {
        PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!("set-returning functions are not allowed in {clause}"),
        )
    } else if e.code == "42803" && e.message == "aggregate functions are not allowed here" {
        PgError::error(
            tusk_common::sqlstate::GROUPING_ERROR,
            format!("aggregate functions are not allowed in {clause}"),
        )
    } else {
        e
    }
}

fn check_wildcard_opts(o: &ast::WildcardAdditionalOptions) -> Result<(), PgError> {
    if o.opt_ilike.is_some()
        || o.opt_exclude.is_some()
        || o.opt_except.is_some()
        || o.opt_replace.is_some()
        || o.opt_rename.is_some()
    {
        return Err(syntax("syntax error at or near \"*\""));
    }
    Ok(())
}

/// PostgreSQL's FigureColname: the result column name of an unaliased
/// expression and how strongly it was chosen (2 = a column or function
/// name, 1 = a fallback like "case" or a type name).
/// A FROM function's alias column list `f(...) AS a(x, y)` renames its
/// first columns; more names than columns is PostgreSQL's 42P10.
pub(crate) fn rename_function_columns(
    alias: Option<&ast::TableAlias>,
    alias_name: &str,
    cols: &mut [(String, Ty)],
) -> Result<(), PgError> {
    let Some(al) = alias else {
        return Ok(());
    };
    if al.columns.len() > cols.len() {
        return Err(PgError::error(
            sqlstate::INVALID_COLUMN_REFERENCE,
            format!(
                "table \"{alias_name}\" has {} columns available but {} columns specified",
                cols.len(),
                al.columns.len()
            ),
        ));
    }
    for (c, n) in cols.iter_mut().zip(al.columns.iter()) {
        c.0 = ident_name(&n.name);
    }
    Ok(())
}

pub(crate) fn figure_colname(e: &ast::Expr) -> Option<(String, u8)> {
    use ast::Expr as E;
    match e {
        E::Identifier(i) => Some((ident_name(i), 2)),
        E::CompoundIdentifier(p) => p.last().map(|i| (ident_name(i), 2)),
        E::Nested(inner) => figure_colname(inner),
        // `(x).f[1]`: the last field name selected.
        E::CompoundFieldAccess { access_chain, .. }
            if access_chain
                .iter()
                .any(|a| matches!(a, ast::AccessExpr::Dot(ast::Expr::Identifier(_)))) =>
        {
            access_chain.iter().rev().find_map(|a| match a {
                ast::AccessExpr::Dot(ast::Expr::Identifier(i)) => Some((ident_name(i), 2)),
                _ => None,
            })
        }
        E::Tuple(_) => Some(("row".into(), 2)),
        // Subscripts take their name from what they subscript.
        E::CompoundFieldAccess { root, access_chain }
            if access_chain
                .iter()
                .all(|a| matches!(a, ast::AccessExpr::Subscript(_))) =>
        {
            figure_colname(root)
        }
        E::Function(f) => f.name.0.last().and_then(|p| match p {
            // A prefix operator (operator.rs's rewrite) names nothing.
            ast::ObjectNamePart::Identifier(i)
                if crate::operator::prefix_marker_op(&i.value).is_some() =>
            {
                None
            }
            ast::ObjectNamePart::Identifier(i) => Some((ident_name(i), 2)),
            _ => None,
        }),
        E::Cast {
            expr, data_type, ..
        } => match figure_colname(expr) {
            Some((n, s)) if s > 1 => Some((n, s)),
            _ => cast_type_colname(data_type),
        },
        E::TypedString(ts) => cast_type_colname(&ts.data_type),
        // The grammar turns TRUE/FALSE into 't'::bool, hence "bool".
        E::Value(v) if matches!(v.value, ast::Value::Boolean(_)) => Some(("bool".into(), 1)),
        E::Case { .. } => Some(("case".into(), 1)),
        E::Substring { shorthand, .. } => {
            Some((if *shorthand { "substr" } else { "substring" }.into(), 2))
        }
        E::Interval(_) => Some(("interval".into(), 1)),
        E::Position { .. } => Some(("position".into(), 2)),
        E::Overlay { .. } => Some(("overlay".into(), 2)),
        E::Extract { .. } => Some(("extract".into(), 2)),
        // The grammar makes `x AT TIME ZONE z` a call of timezone(z, x).
        E::AtTimeZone { .. } => Some(("timezone".into(), 2)),
        E::Array(_) => Some(("array".into(), 2)),
        // `p[0]`, `a[1:2]`: the subscripted expression's name.
        E::CompoundFieldAccess { root, access_chain }
            if access_chain
                .iter()
                .all(|a| matches!(a, ast::AccessExpr::Subscript(_))) =>
        {
            figure_colname(root)
        }
        E::Ceil { .. } | E::Floor { .. } => {
            crate::mathfuncs::ceil_floor_call(e).map(|(n, _)| (n.into(), 2))
        }
        E::Trim { .. } => crate::strfuncs::trim_call(e).map(|(n, _)| (n.into(), 2)),
        E::Exists { .. } => Some(("exists".into(), 2)),
        E::Subquery(q) => subquery_colname(q),
        _ => None,
    }
}

/// A scalar subquery is named by its single column (PostgreSQL's
/// FigureColname of an EXPR_SUBLINK: the subquery's first target's
/// name, `?column?` included). A `*` is left to the default.
fn subquery_colname(q: &ast::Query) -> Option<(String, u8)> {
    let mut body = q.body.as_ref();
    loop {
        match body {
            ast::SetExpr::Query(inner) => body = inner.body.as_ref(),
            ast::SetExpr::SetOperation { left, .. } => body = left.as_ref(),
            ast::SetExpr::Select(sel) => {
                return match sel.projection.first()? {
                    ast::SelectItem::ExprWithAlias { alias, .. } => Some((ident_name(alias), 2)),
                    ast::SelectItem::UnnamedExpr(e) => Some(
                        figure_colname(e)
                            .map(|(n, _)| (n, 2))
                            .unwrap_or_else(|| ("?column?".into(), 2)),
                    ),
                    _ => None,
                }
            }
            _ => return None,
        }
    }
}

/// The column name of a cast to `dt`: a domain's own name, else the
/// type's ([`cast_colname`]).
fn cast_type_colname(dt: &ast::DataType) -> Option<(String, u8)> {
    if let Some(t) = crate::domain::coercion_target(dt) {
        let d = crate::domain::array_domain(t).or_else(|| crate::usertype::reg::domain_type(t))?;
        return Some((d.name.clone(), 1));
    }
    data_type_to_ty(dt).ok().map(|t| (cast_colname(t.oid), 1))
}

/// A cast's column name: the type's name, an array's element's
/// (`'{1}'::int[]` is headed `int4`, as in PostgreSQL).
fn cast_colname(oid: Oid) -> String {
    types::typname(types::array::elem_type(oid).unwrap_or(oid)).to_string()
}

fn char_len(l: &Option<ast::CharacterLength>) -> Result<Vec<i64>, PgError> {
    Ok(match l {
        None => vec![],
        Some(ast::CharacterLength::IntegerLength { length, .. }) => vec![*length as i64],
        Some(ast::CharacterLength::Max) => return Err(syntax("syntax error at or near \"MAX\"")),
    })
}

fn exact(info: &ast::ExactNumberInfo) -> Vec<i64> {
    match info {
        ast::ExactNumberInfo::None => vec![],
        ast::ExactNumberInfo::Precision(p) => vec![*p as i64],
        ast::ExactNumberInfo::PrecisionAndScale(p, s) => vec![*p as i64, *s],
    }
}

/// A type name as written in SQL to a [`Ty`].
pub(crate) fn data_type_to_ty(dt: &ast::DataType) -> Result<Ty, PgError> {
    use ast::DataType as D;
    let (name, mods): (String, Vec<i64>) = match dt {
        D::Bool | D::Boolean => ("bool".into(), vec![]),
        D::SmallInt(_) | D::Int2(_) => ("int2".into(), vec![]),
        D::Int(_) | D::Integer(_) | D::Int4(_) => ("int4".into(), vec![]),
        D::BigInt(_) | D::Int8(_) => ("int8".into(), vec![]),
        D::Real | D::Float4 => ("float4".into(), vec![]),
        D::DoublePrecision | D::Float8 => ("float8".into(), vec![]),
        D::Float(info) => ("float".into(), exact(info)),
        D::Numeric(info) | D::Decimal(info) | D::Dec(info) => ("numeric".into(), exact(info)),
        D::Text => ("text".into(), vec![]),
        D::Varchar(l) | D::CharacterVarying(l) | D::CharVarying(l) => {
            ("varchar".into(), char_len(l)?)
        }
        D::Char(l) | D::Character(l) => ("character".into(), char_len(l)?),
        D::Bytea => ("bytea".into(), vec![]),
        D::Date => ("date".into(), vec![]),
        D::Timestamp(p, tz) => {
            let name = match tz {
                ast::TimezoneInfo::Tz | ast::TimezoneInfo::WithTimeZone => "timestamptz",
                _ => "timestamp",
            };
            (name.into(), p.iter().map(|p| *p as i64).collect())
        }
        D::Custom(n, m) => {
            let parts: Vec<String> =
                n.0.iter()
                    .map(|p| match p {
                        ast::ObjectNamePart::Identifier(i)
                            if i.quote_style.is_some() && i.value == "char" =>
                        {
                            "\"char\"".into()
                        }
                        ast::ObjectNamePart::Identifier(i) => ident_name(i),
                        ast::ObjectNamePart::Function(f) => f.to_string(),
                    })
                    .collect();
            let name = match parts.as_slice() {
                [n] => n.clone(),
                [s, n] if s == "pg_catalog" => n.clone(),
                _ => parts.join("."),
            };
            let mut mods = Vec::with_capacity(m.len());
            for x in m {
                mods.push(x.trim().parse::<i64>().map_err(|_| {
                    PgError::error(
                        sqlstate::SYNTAX_ERROR,
                        format!("type modifiers must be simple constants or identifiers (\"{x}\")"),
                    )
                })?);
            }
            (name, mods)
        }
        D::Interval { .. } => ("interval".into(), vec![]),
        D::Time(p, tz) => {
            let name = match tz {
                ast::TimezoneInfo::Tz | ast::TimezoneInfo::WithTimeZone => "timetz",
                _ => "time",
            };
            (name.into(), p.iter().map(|p| *p as i64).collect())
        }
        D::Regclass => ("regclass".into(), vec![]),
        D::Array(
            ast::ArrayElemTypeDef::SquareBracket(inner, _)
            | ast::ArrayElemTypeDef::Qualified(inner, _),
        ) => {
            let e = data_type_to_ty(inner)?;
            let arr = types::array::array_type(e.oid)
                .or(types::array::elem_type(e.oid).map(|_| e.oid))
                .ok_or_else(|| {
                    PgError::error(
                        sqlstate::UNDEFINED_OBJECT,
                        format!("type {}[] does not exist", types::sql_name(e.oid)),
                    )
                })?;
            return Ok(Ty::with_mod(arr, e.typmod));
        }
        D::Array(_) => return Err(not_supported("array types")),
        D::JSON => ("json".into(), vec![]),
        D::JSONB => ("jsonb".into(), vec![]),
        D::Uuid => ("uuid".into(), vec![]),
        D::Bit(n) => ("bit".into(), n.iter().map(|&n| n as i64).collect()),
        D::BitVarying(n) | D::VarBit(n) => ("varbit".into(), n.iter().map(|&n| n as i64).collect()),
        D::TsVector => ("tsvector".into(), vec![]),
        D::TsQuery => ("tsquery".into(), vec![]),
        other => (other.to_string().to_lowercase(), vec![]),
    };
    if let Some(t) = types::lookup_type_name(&name, &mods) {
        return Ok(t);
    }
    // `null::record`: the anonymous row type (json_populate_record's base).
    if name == "record" && mods.is_empty() {
        return Ok(Ty::new(types::RECORD));
    }
    if types::lookup_type_name(&name, &[]).is_some() {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("invalid type modifier for type {name}: {mods:?}"),
        ));
    }
    const KNOWN_UNSUPPORTED: &[&str] = &[
        "json",
        "jsonb",
        "uuid",
        "money",
        "point",
        "xml",
        "regclass",
        "regtype",
        "regproc",
        "regnamespace",
        "bit",
        "varbit",
        "cidr",
        "macaddr",
        "tsvector",
        "tsquery",
        "int4range",
    ];
    if let Some(t) = crate::usertype::lookup(&name) {
        return Ok(t);
    }
    if let Some(t) = crate::usertype::lookup_composite(&name) {
        return Ok(t);
    }
    if mods.is_empty() {
        if let Some(d) = crate::domain::lookup(&name) {
            return Ok(crate::domain::base_ty(&d));
        }
    }
    if KNOWN_UNSUPPORTED.contains(&name.as_str()) {
        return Err(not_supported(format!("type {name}")));
    }
    Err(PgError::error(
        sqlstate::UNDEFINED_OBJECT,
        format!("type \"{name}\" does not exist"),
    ))
}

// ---- INSERT / UPDATE / DELETE ----

/// The relation an INSERT, UPDATE, DELETE or MERGE names.
fn lookup_target(host: &dyn Host, name: &ast::ObjectName) -> Result<catalog::Relation, PgError> {
    let parts = object_name_parts(name)?;
    match parts.as_slice() {
        [t] => catalog::lookup(host, None, t),
        [s, t] => catalog::lookup(host, Some(s), t),
        _ => Err(syntax(format!(
            "improper relation name (too many dotted names): {name}"
        ))),
    }
}

/// `rel` as the table a DML statement writes: ONLY applied, a table, and
/// `needed` privileges held (the privileges the statement uses,
/// crates/sql/src/acl.rs).
fn finish_dml_target(
    host: &dyn Host,
    mut rel: catalog::Relation,
    name: &ast::ObjectName,
    needed: u32,
) -> Result<catalog::Relation, PgError> {
    if crate::inherit::is_only(name) {
        rel.children.clear();
    }
    rel.table()?;
    crate::acl::check_relation(host, &rel, needed)?;
    Ok(rel)
}

/// Is this VALUES item the DEFAULT keyword?
fn is_default_keyword(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

impl Binder<'_> {
    /// `b` (already cast to the base type) coerced to the domain
    /// `written` names, if it names one (crates/sql/src/domain.rs).
    pub(crate) fn coerce_to_domain(
        &mut self,
        b: Bound,
        written: &ast::DataType,
    ) -> Result<Bound, PgError> {
        match crate::domain::coercion_target(written) {
            Some(d) => Ok(Bound::new(
                Expr::Domain(Box::new(b.e), crate::domain::bind_coercion(self.host, d)?),
                b.ty,
            )),
            None => Ok(b),
        }
    }

    /// A column's DEFAULT expression (its SQL text from the catalog),
    /// bound with no columns in scope and coerced to the column's type.
    pub(crate) fn bind_default(
        &mut self,
        col: &catalog::ColumnDef,
    ) -> Result<Option<Expr>, PgError> {
        let Some(text) = &col.default else {
            return Ok(None);
        };
        let e = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
            .try_with_sql(text)
            .and_then(|mut p| p.parse_expr())
            .map_err(|e| {
                PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    format!(
                        "stored default of column \"{}\" cannot be parsed: {e}",
                        col.name
                    ),
                )
            })?;
        let saved = self.scope.take();
        let b = self.bind_expr(&e);
        self.scope = saved;
        let mut e = self.coerce(b?, Ty::new(col.ty.oid))?.e;
        if col.identity.is_some() {
            e.visit(0, &mut |x, _| {
                if let Expr::Func(f @ crate::func::Func::Nextval, _) = x {
                    *f = crate::func::Func::IdentityNextval;
                }
            });
        }
        Ok(Some(e))
    }

    /// An expression assigned to a column: coerced to the column's type
    /// (its typmod is applied when the row is stored, with assignment
    /// rules: 22001 rather than silent truncation).
    fn assigned(&mut self, e: &ast::Expr, col: &catalog::ColumnDef) -> Result<Expr, PgError> {
        let b = self.bind_expr(e)?;
        let target = Ty::new(col.ty.oid);
        if !b.is_unknown()
            && b.ty.oid != target.oid
            && (!cast::castable(b.ty.oid, target.oid)
                || !tusk_types::geo::assignable(b.ty.oid, target.oid))
        {
            return Err(PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                format!(
                    "column \"{}\" is of type {} but expression is of type {}",
                    col.name,
                    types::sql_name(col.ty.oid),
                    types::sql_name(b.ty.oid)
                ),
            )
            .with_hint("You will need to rewrite or cast the expression."));
        }
        Ok(self.coerce(b, target)?.e)
    }

    /// RETURNING: a target list over the table's scope.
    fn returning(
        &mut self,
        items: &Option<Vec<ast::SelectItem>>,
    ) -> Result<(Vec<Expr>, Vec<Column>), PgError> {
        let Some(items) = items else {
            return Ok((Vec::new(), Vec::new()));
        };
        let mut targets = Vec::new();
        let mut names = Vec::new();
        for item in items {
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    targets.push(self.bind_expr(e)?);
                    names.push(
                        figure_colname(e)
                            .map(|(n, _)| n)
                            .unwrap_or_else(|| "?column?".into()),
                    );
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    targets.push(self.bind_expr(expr)?);
                    names.push(ident_name(alias));
                }
                ast::SelectItem::Wildcard(opts) => {
                    check_wildcard_opts(opts)?;
                    self.star(None, &mut targets, &mut names)?;
                }
                ast::SelectItem::QualifiedWildcard(
                    ast::SelectItemQualifiedWildcardKind::ObjectName(n),
                    opts,
                ) => {
                    check_wildcard_opts(opts)?;
                    let parts = object_name_parts(n)?;
                    self.star(Some(&parts), &mut targets, &mut names)?;
                }
                other => return Err(not_supported(format!("RETURNING {other}"))),
            }
        }
        let mut exprs = Vec::new();
        let mut cols = Vec::new();
        for (t, name) in targets.into_iter().zip(names) {
            let t = if t.is_unknown() {
                self.coerce(t, Ty::new(types::TEXT))?
            } else {
                t
            };
            cols.push(Column {
                name,
                type_oid: t.ty.oid,
                type_len: types::typlen(t.ty.oid),
                type_mod: t.ty.typmod,
            });
            exprs.push(t.e);
        }
        Ok((exprs, cols))
    }

    pub fn bind_insert(
        &mut self,
        i: &ast::Insert,
    ) -> Result<(crate::modify::ModifyPlan, Vec<Column>), PgError> {
        use crate::modify::{InsertRows, ModifyKind, ModifyPlan};
        let name = match &i.table {
            ast::TableObject::TableName(n) => n,
            _ => return Err(not_supported("INSERT into a function")),
        };
        let on_conflict = match &i.on {
            None => None,
            Some(ast::OnInsert::OnConflict(oc)) => Some(oc),
            Some(_) => return Err(not_supported("INSERT ... ON DUPLICATE KEY UPDATE")),
        };
        let needed = crate::acl::INSERT
            | if i.returning.is_some() {
                crate::acl::SELECT
            } else {
                0
            }
            | if matches!(
                on_conflict.map(|oc| &oc.action),
                Some(ast::OnConflictAction::DoUpdate(_))
            ) {
                crate::acl::UPDATE
            } else {
                0
            };
        // A view with an INSTEAD OF INSERT trigger takes the rows
        // (trigger.rs); other views are refused by dml_target.
        let (rel, through_view) = self.dml_relation(name, crate::trigger::TYPE_INSERT, None)?;
        let alias = i
            .table_alias
            .as_ref()
            .map(|a| ident_name(&a.alias))
            .unwrap_or_else(|| rel.name.clone());
        let items = self.insert_items(&rel, &i.columns)?;
        let indirect = assign::has_indirection(&items);
        let targets: Vec<usize> = items.iter().map(|i| i.col).collect();
        let denied_err = || crate::acl::denied_table(&rel.name);
        let reads = crate::acl::check_dml(self.host, &rel, needed & !crate::acl::UPDATE, &targets)?;
        if let Some(oc) = on_conflict {
            if let ast::OnConflictAction::DoUpdate(du) = &oc.action {
                let set_cols = self.set_columns(&rel, &du.assignments)?;
                // The conflict target's columns are read (SELECT).
                if let Some(d) =
                    crate::acl::check_dml(self.host, &rel, crate::acl::UPDATE, &set_cols)?
                {
                    let readable = match &oc.conflict_target {
                        Some(ast::ConflictTarget::Columns(cs)) => cs
                            .iter()
                            .filter(|c| {
                                !c.value.starts_with(crate::index::CONFLICT_WHERE_MARK)
                                    && !c.value.starts_with(crate::index::CONFLICT_EXPR_MARK)
                            })
                            .all(|c| {
                                let n = ident_name(c);
                                rel.columns
                                    .iter()
                                    .position(|d| d.name == n)
                                    .is_some_and(|i| !d[i])
                            }),
                        _ => false,
                    };
                    if !readable {
                        return Err(denied_err());
                    }
                }
            }
        }
        let mut defaults = Vec::with_capacity(rel.columns.len());
        for c in &rel.columns {
            defaults.push(self.bind_default(c)?);
        }
        let too_many = || {
            PgError::error(
                sqlstate::SYNTAX_ERROR,
                "INSERT has more expressions than target columns",
            )
        };
        let too_few = || {
            PgError::error(
                sqlstate::SYNTAX_ERROR,
                "INSERT has more target columns than expressions",
            )
        };
        let rows = match &i.source {
            None => InsertRows::Values(vec![Vec::new()]),
            Some(q) => match q.body.as_ref() {
                ast::SetExpr::Values(v)
                    if q.order_by.is_none() && q.limit_clause.is_none() && q.with.is_none() =>
                {
                    self.scope = None;
                    let mut rows = Vec::with_capacity(v.rows.len());
                    for r in &v.rows {
                        let r = &r.content;
                        // PostgreSQL points at the first expression or
                        // target column left without a partner.
                        if r.len() > targets.len() {
                            let at = r.get(targets.len()).and_then(|e| self.expr_at(e));
                            return Err(too_many().with_position(at));
                        }
                        if r.len() < targets.len() && !i.columns.is_empty() {
                            let at = i.columns.get(r.len()).and_then(|c| self.name_at(c));
                            return Err(too_few().with_position(at));
                        }
                        if indirect {
                            rows.push(self.insert_row(&rel, &items, r)?);
                            continue;
                        }
                        let mut out = Vec::with_capacity(r.len());
                        for (e, &t) in r.iter().zip(&targets) {
                            out.push(self.insert_value(e, &rel.columns[t])?);
                        }
                        rows.push(out);
                    }
                    InsertRows::Values(rows)
                }
                _ => {
                    let mut sub = Binder::new(self.host, std::mem::take(&mut self.params));
                    sub.src = self.src.clone();
                    // The statement's WITH queries are visible to the
                    // SELECT, which is no top level for a WITH of its own.
                    sub.ctes = std::mem::take(&mut self.ctes);
                    sub.next_cte_id = self.next_cte_id;
                    sub.query_depth = 1;
                    let r = sub.bind_query(q);
                    self.params = std::mem::take(&mut sub.params);
                    self.ctes = std::mem::take(&mut sub.ctes);
                    self.next_cte_id = sub.next_cte_id;
                    let (plan, cols) = r?;
                    if cols.len() > targets.len() {
                        return Err(too_many());
                    }
                    if cols.len() < targets.len() && !i.columns.is_empty() {
                        return Err(too_few());
                    }
                    if indirect {
                        let (plan, types) = self.insert_select(&rel, &items, plan, &cols)?;
                        InsertRows::Select(Box::new(plan), types)
                    } else {
                        let mut casts = Vec::with_capacity(cols.len());
                        for (c, &t) in cols.iter().zip(&targets) {
                            if rel.columns[t].generated.is_some() {
                                return Err(crate::generated::insert_error(&rel.columns[t].name));
                            }
                            if rel.columns[t].identity == Some(b'a') && self.overriding.is_none() {
                                return Err(crate::sequence::always_identity_error(
                                    &rel.columns[t].name,
                                ));
                            }
                            let to = rel.columns[t].ty.oid;
                            if c.type_oid != to
                                && (!cast::castable(c.type_oid, to)
                                    || !tusk_types::geo::assignable(c.type_oid, to))
                            {
                                return Err(PgError::error(
                                    sqlstate::DATATYPE_MISMATCH,
                                    format!(
                                        "column \"{}\" is of type {} but expression is of type {}",
                                        rel.columns[t].name,
                                        types::sql_name(to),
                                        types::sql_name(c.type_oid)
                                    ),
                                )
                                .with_hint("You will need to rewrite or cast the expression."));
                            }
                            casts.push(c.type_oid);
                        }
                        InsertRows::Select(Box::new(plan), casts)
                    }
                }
            },
        };
        let targets = if indirect {
            assign::insert_columns(&items)
        } else {
            targets
        };
        let on_conflict = match on_conflict {
            Some(oc) => Some(self.bind_on_conflict(&rel, &alias, oc)?),
            None => None,
        };
        // RETURNING reads only the columns the role may select.
        let mut target_scope = relation_scope(&rel, alias);
        mark_denied(&mut target_scope, &rel, reads);
        self.scope = Some(target_scope);
        let (returning, columns) = self.returning(&i.returning)?;
        let reads = !returning.is_empty()
            || matches!(
                on_conflict,
                Some(crate::bind::upsert::OnConflict {
                    action: crate::bind::upsert::ConflictAction::Update { .. },
                    ..
                })
            );
        let plan = ModifyPlan {
            rel,
            kind: ModifyKind::Insert {
                rows,
                targets,
                defaults,
                on_conflict,
            },
            returning,
            view_checks: Vec::new(),
            rls: None,
        };
        Ok((self.finish_modify(plan, through_view, reads)?, columns))
    }

    /// The relation INSERT/UPDATE/DELETE (`event`, a trigger TYPE_* bit)
    /// writes: a view with an INSTEAD OF trigger for it, else an
    /// auto-updatable view (true: written through, view_dml.rs), else a
    /// table. `joined`: the statement has FROM/USING items, which a view
    /// with INSTEAD OF triggers does not take yet (its 0A000 message, `{}`
    /// for the view's name).
    fn dml_relation(
        &mut self,
        name: &ast::ObjectName,
        event: i16,
        joined: Option<&str>,
    ) -> Result<(catalog::Relation, bool), PgError> {
        // One look-up decides: a view with an INSTEAD OF trigger for the
        // event takes the rows itself, an auto-updatable view passes them
        // on (view_dml.rs), anything else must be a table. (Three look-ups
        // of the same name were 2 % of a TPC-B backend's CPU.)
        let rel = lookup_target(self.host, name).map_err(|e| self.relation_pos(e, name))?;
        if let catalog::RelationSource::View(v) = &rel.source {
            if crate::trigger::has_instead_trigger(self.host, v.oid, event)? {
                if let Some(msg) = joined {
                    return Err(not_supported(msg.replace("{}", &rel.name)));
                }
                return Ok((rel, false));
            }
            if rel.view_query.is_some() {
                return Ok((rel, true));
            }
        }
        let rel =
            finish_dml_target(self.host, rel, name, 0).map_err(|e| self.relation_pos(e, name))?;
        Ok((rel, false))
    }

    /// The last steps of binding INSERT/UPDATE/DELETE: a write through an
    /// auto-updatable view moves onto its base table (view_dml.rs), then
    /// the table's row-level security applies (policy.rs; `reads`: the
    /// statement reads the rows it changes, so SELECT policies apply too).
    fn finish_modify(
        &mut self,
        plan: crate::modify::ModifyPlan,
        through_view: bool,
        reads: bool,
    ) -> Result<crate::modify::ModifyPlan, PgError> {
        let mut plan = if through_view {
            self.through_view(plan)?
        } else {
            plan
        };
        crate::policy::secure_dml(self.host, &mut plan, reads)?;
        Ok(plan)
    }

    /// One VALUES item of an INSERT for column `col`: None for DEFAULT
    /// (and for an identity column under OVERRIDING USER VALUE); an
    /// ALWAYS identity refuses a value without OVERRIDING SYSTEM VALUE.
    pub(crate) fn insert_value(
        &mut self,
        e: &ast::Expr,
        col: &catalog::ColumnDef,
    ) -> Result<Option<Expr>, PgError> {
        Ok(if is_default_keyword(e) {
            None
        } else if col.generated.is_some() {
            return Err(crate::generated::insert_error(&col.name));
        } else if col.identity.is_some() && self.overriding == Some(b'u') {
            // OVERRIDING USER VALUE: the identity's value, not the one
            // given.
            None
        } else if col.identity == Some(b'a') && self.overriding != Some(b's') {
            return Err(crate::sequence::always_identity_error(&col.name));
        } else {
            Some(self.assigned(e, col)?)
        })
    }

    pub fn bind_update(
        &mut self,
        u: &ast::Update,
    ) -> Result<(crate::modify::ModifyPlan, Vec<Column>), PgError> {
        use crate::modify::{ModifyKind, ModifyPlan};
        if !u.table.joins.is_empty() {
            return Err(not_supported("UPDATE of a join"));
        }
        let from_items = match &u.from {
            None => None,
            Some(ast::UpdateTableFromKind::AfterSet(v)) => Some(v),
            Some(ast::UpdateTableFromKind::BeforeSet(_)) => {
                return Err(syntax("syntax error at or near \"FROM\""))
            }
        };
        let (name, alias) = match &u.table.relation {
            ast::TableFactor::Table { name, alias, .. } => (name, alias),
            _ => return Err(not_supported("UPDATE of this target")),
        };
        // Reading rows (WHERE, RETURNING) also needs SELECT.
        let needed = crate::acl::UPDATE
            | if u.selection.is_some() || u.returning.is_some() {
                crate::acl::SELECT
            } else {
                0
            };
        let joined = from_items.is_some_and(|f| !f.is_empty());
        let (rel, through_view) = self.dml_relation(
            name,
            crate::trigger::TYPE_UPDATE,
            joined.then_some("UPDATE of view \"{}\" with FROM"),
        )?;
        let alias = alias
            .as_ref()
            .map(|a| ident_name(&a.name))
            .unwrap_or_else(|| rel.name.clone());
        let set_cols = self.set_columns(&rel, &u.assignments)?;
        let denied = crate::acl::check_dml(self.host, &rel, needed, &set_cols)?;
        let from = self.dml_from(&rel, alias, from_items.map(Vec::as_slice), denied)?;
        let sets = self.bind_sets(&rel, &u.assignments)?;
        let filter = self.dml_filter(&u.selection)?;
        let (returning, columns) = self.returning(&u.returning)?;
        let reads = filter.is_some()
            || !returning.is_empty()
            || sets.iter().any(|(_, e)| !e.columns_used().0.is_empty());
        let plan = ModifyPlan {
            rel,
            kind: ModifyKind::Update { filter, sets, from },
            returning,
            view_checks: Vec::new(),
            rls: None,
        };
        Ok((self.finish_modify(plan, through_view, reads)?, columns))
    }

    /// The columns an UPDATE's SET assigns, for its privilege check
    /// (names that resolve to nothing are left to bind_sets' errors).
    fn set_columns(
        &self,
        rel: &catalog::Relation,
        assignments: &[ast::Assignment],
    ) -> Result<Vec<usize>, PgError> {
        let mut out = Vec::new();
        for a in assignments {
            let names = match &a.target {
                ast::AssignmentTarget::ColumnName(n) => std::slice::from_ref(n),
                ast::AssignmentTarget::Tuple(ns) => ns.as_slice(),
            };
            for n in names {
                let t = crate::assign::target(n)?;
                if let Some(i) = rel.columns.iter().position(|d| d.name == t.column) {
                    out.push(i);
                }
            }
        }
        Ok(out)
    }

    /// SET's assignments of an UPDATE (or ON CONFLICT DO UPDATE) over the
    /// scope already set: (column position, bound expression), DEFAULT as
    /// the column's default, 42703 / 42701 as PostgreSQL.
    pub(crate) fn bind_sets(
        &mut self,
        rel: &catalog::Relation,
        assignments: &[ast::Assignment],
    ) -> Result<Vec<(usize, Expr)>, PgError> {
        // bind/assign.rs: indirection, multi-column items, merging.
        self.bind_assignments(rel, assignments)
    }

    /// The scope of an UPDATE's or DELETE's target and, for UPDATE ...
    /// FROM / DELETE ... USING, the plan that joins the target with those
    /// items: its rows are the target's columns and system columns, then
    /// the items' columns, which the WHERE, SET and RETURNING see (as in
    /// PostgreSQL, where the target is joined to the other FROM items).
    fn dml_from(
        &mut self,
        rel: &catalog::Relation,
        alias: String,
        items: Option<&[ast::TableWithJoins]>,
        denied: Option<Vec<bool>>,
    ) -> Result<Option<Box<crate::plan::SelectPlan>>, PgError> {
        let mut target = relation_scope(rel, alias.clone());
        mark_denied(&mut target, rel, denied);
        let Some(items) = items.filter(|v| !v.is_empty()) else {
            self.scope = Some(target);
            return Ok(None);
        };
        let src = self.bind_from(items)?;
        let others = self.scope.take().unwrap_or_default();
        let mut trel = rel.clone();
        if alias != rel.name {
            trel.alias = Some(alias);
        }
        let (src, scope) = self.join(
            (Source::Relation(trel), target),
            (src, others),
            JoinKind::Inner,
            &ast::JoinConstraint::None,
        )?;
        let width = scope.width;
        self.scope = Some(scope);
        Ok(Some(Box::new(crate::cte::plain_plan(src, width))))
    }

    fn dml_filter(&mut self, w: &Option<ast::Expr>) -> Result<Option<Expr>, PgError> {
        match w {
            Some(w) => {
                self.aggs_allowed = None;
                let b = self.bind_expr(w).map_err(|e| where_agg(e, "WHERE"))?;
                Ok(Some(self.coerce_bool(b, "WHERE")?.e))
            }
            None => Ok(None),
        }
    }

    pub fn bind_delete(
        &mut self,
        d: &ast::Delete,
    ) -> Result<(crate::modify::ModifyPlan, Vec<Column>), PgError> {
        use crate::modify::{ModifyKind, ModifyPlan};
        if !d.tables.is_empty() {
            return Err(not_supported("DELETE of several tables"));
        }
        let from = match &d.from {
            ast::FromTable::WithFromKeyword(v) | ast::FromTable::WithoutKeyword(v) => v,
        };
        let (name, alias) = match from.as_slice() {
            [t] if t.joins.is_empty() => match &t.relation {
                ast::TableFactor::Table { name, alias, .. } => (name, alias),
                _ => return Err(not_supported("DELETE of this target")),
            },
            _ => return Err(not_supported("DELETE from several tables")),
        };
        let needed = crate::acl::DELETE
            | if d.selection.is_some() || d.returning.is_some() {
                crate::acl::SELECT
            } else {
                0
            };
        let joined = d.using.as_ref().is_some_and(|u| !u.is_empty());
        let (rel, through_view) = self.dml_relation(
            name,
            crate::trigger::TYPE_DELETE,
            joined.then_some("DELETE from view \"{}\" with USING"),
        )?;
        let alias = alias
            .as_ref()
            .map(|a| ident_name(&a.name))
            .unwrap_or_else(|| rel.name.clone());
        let denied = crate::acl::check_dml(self.host, &rel, needed, &[])?;
        let from = self.dml_from(&rel, alias, d.using.as_deref(), denied)?;
        let filter = self.dml_filter(&d.selection)?;
        let (returning, columns) = self.returning(&d.returning)?;
        let reads = filter.is_some() || !returning.is_empty();
        let plan = ModifyPlan {
            rel,
            kind: ModifyKind::Delete { filter, from },
            returning,
            view_checks: Vec::new(),
            rls: None,
        };
        Ok((self.finish_modify(plan, through_view, reads)?, columns))
    }
}

/// The scope of a one-column set-returning function in FROM: the alias
/// (else the function's name) names the table and, unless a column alias
/// is given, the column; two column aliases are PostgreSQL's 42P10.
fn one_column_scope(
    fname: &str,
    alias: Option<&ast::TableAlias>,
    ty: Ty,
) -> Result<Scope, PgError> {
    let alias_name = alias
        .map(|a| ident_name(&a.name))
        .unwrap_or_else(|| fname.to_string());
    if let Some(a) = alias.filter(|a| a.columns.len() > 1) {
        return Err(PgError::error(
            sqlstate::INVALID_COLUMN_REFERENCE,
            format!(
                "table \"{alias_name}\" has 1 columns available but {} columns specified",
                a.columns.len()
            ),
        ));
    }
    let col = alias
        .and_then(|a| a.columns.first())
        .map(|c| ident_name(&c.name))
        .unwrap_or_else(|| alias_name.clone());
    Ok(Scope::single(Some(alias_name), None, vec![(col, ty)], 1))
}

/// `name := value` in a call's argument list, which the parser reads as
/// an assignment expression: PostgreSQL's older named-argument notation.
fn assigned_arg(a: &ast::FunctionArg) -> Option<(&ast::Ident, &ast::Expr)> {
    match a {
        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::Assignment,
            right,
        })) => match &**left {
            ast::Expr::Identifier(i) => Some((i, &**right)),
            _ => None,
        },
        _ => None,
    }
}
