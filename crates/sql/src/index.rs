//! B-tree indexes in the SQL layer: CREATE INDEX / DROP INDEX / REINDEX and PRIMARY KEY / UNIQUE constraints turned into [`IndexSpec`]s for the host, and the index quals a scan hands to the host.
//!
//! Why this shape:
//! - **The host owns indexes.** The SQL layer never sees an index: DDL
//!   passes an [`IndexSpec`] to [`Tables`](crate::Tables), and a scan with
//!   a WHERE clause passes its indexable conjuncts ([`ScanQual`]: a column
//!   compared with a constant or parameter, evaluated when execution
//!   starts) to [`Relations::open_index_scan`](crate::Relations). The host
//!   picks an index whose leading column has such a qual or answers None
//!   (then the scan is sequential). This keeps the planner a simple rule
//!   (an indexable qual exists: use the index; no cost model) and keeps
//!   the catalog of indexes in one place, the server.
//! - **Rows are always re-checked.** The filter stays above the scan, so
//!   an index scan only has to return a superset of the matching rows in
//!   any order (it returns them in key order).
//! - Constraint handling lives here rather than in utility.rs so that
//!   ALTER TABLE's other forms (another branch) only need to call
//!   [`table_constraint`] for ADD PRIMARY KEY / ADD UNIQUE.
//!
//! Everything here runs in the backend that runs the statement.

use sqlparser::ast;

use tusk_common::{sqlstate, PgError};

use crate::bind::{ident_name, not_supported};
use crate::expr::{CmpOp, Ctx, Expr};
use crate::value::Value;

/// One key column of an index as written: a column name with ASC/DESC
/// and NULLS FIRST/LAST (pg_index.indoption).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    pub column: String,
    pub desc: bool,
    /// NULLS FIRST (the default for DESC, as PostgreSQL).
    pub nulls_first: bool,
    /// A B-tree operator class named for the column (`unique1 int4_ops`):
    /// checked against the column's type by [`check_opclass`]; every one
    /// tusk accepts orders as the type's default does.
    pub opclass: Option<String>,
    /// An expression key (`lower(name)`, `(a + b)`): its SQL text as
    /// written until [`resolve`] binds it, then as ruleutils deparses it
    /// (pg_index.indexprs); `column` is then the index column's name
    /// (`lower`, `expr`).
    pub expr: Option<String>,
    /// An expression key's type once resolved (the index column's
    /// atttypid); 0 before.
    pub expr_type: u32,
}

/// What the host needs to create a B-tree index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    /// The index's (and constraint's) name; None: PostgreSQL's default
    /// (t_a_idx, t_a_key, t_pkey), made unique by a number.
    pub name: Option<String>,
    pub keys: Vec<IndexKey>,
    pub unique: bool,
    /// PRIMARY KEY: unique, and the key columns become NOT NULL.
    pub primary: bool,
    /// A PRIMARY KEY or UNIQUE constraint (a pg_constraint row), not a
    /// bare CREATE [UNIQUE] INDEX.
    pub constraint: bool,
    /// CREATE INDEX IF NOT EXISTS.
    pub if_not_exists: bool,
    /// A partial index's WHERE: as written until [`resolve`], then as
    /// ruleutils deparses it (pg_index.indpred).
    pub predicate: Option<String>,
    /// CREATE INDEX CONCURRENTLY: built as a plain build (no concurrent
    /// writer is locked out for long in tusk's build either), but refused
    /// inside a transaction block as PostgreSQL refuses it.
    pub concurrently: bool,
    /// UNIQUE NULLS NOT DISTINCT (pg_index.indnullsnotdistinct): keys
    /// with NULLs conflict too.
    pub nulls_not_distinct: bool,
    /// `INCLUDE (c, d)`: non-key columns (pg_index.indnatts counts them,
    /// indnkeyatts does not); no part of ordering or uniqueness.
    pub include: Vec<String>,
    /// WITH (...): the index's pg_class.reloptions (reloptions.rs).
    pub options: Vec<String>,
}

/// A comparison operator of an index qual.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    /// Not a bound: the conjunct [`ScanQual::expr`] holds for every row
    /// the scan returns (what a partial index's predicate is matched
    /// against).
    Holds,
}

/// `column op value`: a conjunct of a scan's WHERE clause an index could
/// answer; the value has the column's type (the binder made both sides
/// one type) and is not NULL.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanQual {
    /// The column's position in the relation (0-based).
    pub col: usize,
    pub op: QualOp,
    pub value: Value,
    /// For a qual on an expression (`lower(name) = 'x'`, `col` is then
    /// [`NO_COLUMN`]) or a [`QualOp::Holds`] conjunct: its deparsed text,
    /// compared with an index's pg_index.indexprs / indpred.
    pub expr: Option<String>,
}

/// [`ScanQual::col`] of a qual that is not on a plain column, and an
/// index key position that is an expression.
pub const NO_COLUMN: usize = usize::MAX;

/// The index a scan would read, as the host chose it (for EXPLAIN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexChoice {
    pub name: String,
    /// Its key columns: positions in the relation's row (0-based).
    pub cols: Vec<usize>,
    pub unique: bool,
    /// The expressions of its [`NO_COLUMN`] keys, deparsed.
    pub exprs: Vec<String>,
    /// A partial index's predicate, deparsed.
    pub pred: Option<String>,
}

/// Whether `e` has one value for the whole scan: constants, parameters,
/// and arithmetic or casts of them (a correlated subquery's outer
/// references are constants by the time its scan opens, so
/// `t2.thousand = t1.tenthous + 1` is an index qual there).
pub(crate) fn is_const(e: &Expr) -> bool {
    match e {
        Expr::Const(_) | Expr::Param(..) => true,
        Expr::Cast { arg, .. } | Expr::Neg(arg) => is_const(arg),
        Expr::Arith(_, a, b) => is_const(a) && is_const(b),
        _ => false,
    }
}

fn qual_op(op: CmpOp, flipped: bool) -> Option<QualOp> {
    Some(match (op, flipped) {
        (CmpOp::Eq, _) => QualOp::Eq,
        (CmpOp::Lt, false) | (CmpOp::Gt, true) => QualOp::Lt,
        (CmpOp::Le, false) | (CmpOp::Ge, true) => QualOp::Le,
        (CmpOp::Gt, false) | (CmpOp::Lt, true) => QualOp::Gt,
        (CmpOp::Ge, false) | (CmpOp::Le, true) => QualOp::Ge,
        (CmpOp::Ne, _) => return None,
    })
}

fn collect(e: &Expr, cx: &mut Ctx<'_>, out: &mut Vec<ScanQual>) -> Result<(), PgError> {
    match e {
        Expr::And(v) => {
            for x in v {
                collect(x, cx, out)?;
            }
        }
        Expr::Cmp(op, l, r) => {
            let (col, val, flipped) = match (&**l, &**r) {
                (Expr::Column(c), v) if is_const(v) => (*c, v, false),
                (v, Expr::Column(c)) if is_const(v) => (*c, v, true),
                _ => return Ok(()),
            };
            let Some(op) = qual_op(*op, flipped) else {
                return Ok(());
            };
            let value = val.eval(&[], cx)?;
            // `col = NULL` matches nothing; the filter above says so.
            if !value.is_null() {
                out.push(ScanQual {
                    col,
                    op,
                    value,
                    expr: None,
                });
            }
        }
        _ => {}
    }
    Ok(())
}

/// [`shape_quals`]' evaluation of a constant side for a plain EXPLAIN:
/// constants as they are, a parameter as a stand-in value (only the
/// index choice reads it).
pub(crate) fn static_value(e: &Expr) -> Result<Option<Value>, PgError> {
    Ok(match e {
        Expr::Const(v) => Some(v.clone()),
        Expr::Param(..) => Some(Value::Bool(true)),
        _ => None,
    })
}

/// The indexable conjuncts of a scan's filter (over the relation's row),
/// with their constants and parameters evaluated now.
pub(crate) fn scan_quals(
    filter: Option<&Expr>,
    cx: &mut Ctx<'_>,
) -> Result<Vec<ScanQual>, PgError> {
    let mut out = Vec::new();
    if let Some(f) = filter {
        collect(f, cx, &mut out)?;
    }
    Ok(out)
}

/// Opens the scan of `rel` for a statement whose filter is `filter`:
/// through an index when the host has one for these quals, else a
/// sequential scan.
pub(crate) fn open_filtered(
    relations: &dyn crate::Relations,
    rel: &crate::catalog::Relation,
    filter: Option<&Expr>,
    cx: &mut Ctx<'_>,
) -> Result<Box<dyn crate::RowSource>, PgError> {
    // A table with descendants is read by the inheritance scan (the
    // index covers the table's own rows only).
    if matches!(rel.source, crate::catalog::RelationSource::Table(_)) && rel.children.is_empty() {
        let mut quals = scan_quals(filter, cx)?;
        quals.extend(shape_quals(rel, filter, &mut |v| {
            v.eval(&[], cx).map(Some)
        })?);
        if !quals.is_empty() {
            if let Some(s) = relations.open_index_scan(rel, &quals)? {
                return Ok(s);
            }
        }
    }
    crate::exec::open_scan(rel, cx, relations)
}

/// For a SELECT over one table without aggregates or DISTINCT ordered by
/// one of the table's columns (in the default NULLS order): a scan in that
/// order from the host's index, if it has one leading with the column.
pub(crate) fn open_ordered(
    plan: &crate::plan::SelectPlan,
    relations: &dyn crate::Relations,
    cx: &mut Ctx<'_>,
) -> Result<Option<Box<dyn crate::RowSource>>, PgError> {
    let crate::plan::Source::Relation(rel) = &plan.source else {
        return Ok(None);
    };
    if plan.aggs.is_some() || plan.distinct || plan.sort.len() != 1 {
        return Ok(None);
    }
    if !matches!(rel.source, crate::catalog::RelationSource::Table(_)) || !rel.children.is_empty() {
        return Ok(None);
    }
    let k = &plan.sort[0];
    let Some(Expr::Column(col)) = plan.targets.get(k.col) else {
        return Ok(None);
    };
    if k.nulls_first != k.desc {
        return Ok(None);
    }
    let mut quals = scan_quals(plan.filter.as_ref(), cx)?;
    quals.extend(shape_quals(rel, plan.filter.as_ref(), &mut |v| {
        v.eval(&[], cx).map(Some)
    })?);
    relations.open_ordered_scan(rel, &quals, *col, k.desc)
}

fn keys_of(cols: &[ast::IndexColumn]) -> Result<Vec<IndexKey>, PgError> {
    cols.iter()
        .map(|c| {
            let (name, expr) = match &c.column.expr {
                ast::Expr::Identifier(i) => (ident_name(i), None),
                other => (
                    figure_colname(other).unwrap_or_else(|| "expr".into()),
                    Some(other.to_string()),
                ),
            };
            let opclass = c.operator_class.as_ref().map(|o| {
                o.0.last()
                    .and_then(|p| p.as_ident())
                    .map(ident_name)
                    .unwrap_or_default()
            });
            let desc = match &c.column.options.sort {
                None | Some(ast::OrderBySort::Asc) => false,
                Some(ast::OrderBySort::Desc) => true,
                Some(ast::OrderBySort::Using(_)) => {
                    return Err(not_supported("USING in an index column"))
                }
            };
            Ok(IndexKey {
                column: name,
                desc,
                nulls_first: c.column.options.nulls_first.unwrap_or(desc),
                opclass,
                expr,
                expr_type: 0,
            })
        })
        .collect()
}

/// PostgreSQL 15's B-tree operator classes for the types tusk indexes,
/// with the type each takes (opcintype). The `*_pattern_ops` classes and
/// varchar_ops compare bytewise, which is how tusk's default (C) ordering
/// of text already compares, so all of these order as the default does.
const BTREE_OPCLASSES: &[(&str, u32)] = &[
    ("array_ops", 2277),
    ("multirange_ops", 4537),
    ("range_ops", 3831),
    ("bit_ops", 1560),
    ("bool_ops", 16),
    ("bpchar_ops", 1042),
    ("bpchar_pattern_ops", 1042),
    ("bytea_ops", 17),
    ("char_ops", 18),
    ("date_ops", 1082),
    ("float4_ops", 700),
    ("float8_ops", 701),
    ("int2_ops", 21),
    ("int4_ops", 23),
    ("int8_ops", 20),
    ("interval_ops", 1186),
    ("jsonb_ops", 3802),
    ("money_ops", 790),
    ("name_ops", 19),
    ("numeric_ops", 1700),
    ("oid_ops", 26),
    ("pg_lsn_ops", 3220),
    ("text_ops", 25),
    ("text_pattern_ops", 25),
    ("time_ops", 1083),
    ("timestamp_ops", 1114),
    ("timestamptz_ops", 1184),
    ("timetz_ops", 1266),
    ("uuid_ops", 2950),
    ("varbit_ops", 1562),
    ("varchar_ops", 25),
    ("varchar_pattern_ops", 25),
];

/// DefineIndex's operator-class check for a key column of type `ty`:
/// the class must exist for btree (42704) and take the type, or one
/// binary-coercible to it (varchar to text; 42804).
pub fn check_opclass(opclass: &str, ty: u32) -> Result<(), PgError> {
    let Some(&(_, takes)) = BTREE_OPCLASSES.iter().find(|(n, _)| *n == opclass) else {
        return Err(PgError::error(
            sqlstate::UNDEFINED_OBJECT,
            format!("operator class \"{opclass}\" does not exist for access method \"btree\""),
        ));
    };
    const VARCHAR: u32 = 1043;
    let polymorphic = match takes {
        3831 => tusk_types::range::is_range(ty),
        4537 => tusk_types::range::is_multirange(ty),
        2277 => tusk_types::array::elem_type(ty).is_some(),
        _ => false,
    };
    if ty == takes || polymorphic || (takes == 25 && ty == VARCHAR) {
        return Ok(());
    }
    Err(PgError::error(
        sqlstate::DATATYPE_MISMATCH,
        format!(
            "operator class \"{opclass}\" does not accept data type {}",
            crate::types::sql_name(ty)
        ),
    ))
}

fn btree_only(using: &Option<ast::IndexType>) -> Result<(), PgError> {
    match using {
        None | Some(ast::IndexType::BTree) => Ok(()),
        Some(other) => Err(PgError::error(
            sqlstate::UNDEFINED_OBJECT,
            format!(
                "access method \"{}\" does not exist",
                other.to_string().to_lowercase()
            ),
        )),
    }
}

/// CREATE [UNIQUE] INDEX [IF NOT EXISTS] [name] ON t [USING btree] (cols):
/// the table and the spec.
pub(crate) fn create_index(
    ci: &ast::CreateIndex,
) -> Result<(ast::ObjectName, Option<String>, IndexSpec), PgError> {
    // PostgreSQL's brin, gin and hash have no INCLUDE (amcaninclude).
    if let (false, Some(am)) = (ci.include.is_empty(), &ci.using) {
        let am = am.to_string().to_lowercase();
        if matches!(am.as_str(), "brin" | "gin" | "hash") {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("access method \"{am}\" does not support included columns"),
            ));
        }
    }
    btree_only(&ci.using)?;
    let options = if ci.with.is_empty() {
        Vec::new()
    } else {
        match crate::reloptions::from_index_with(&ci.with) {
            Some(defs) => crate::reloptions::for_new_index(&defs, "btree")?,
            None => return Err(not_supported("these index storage parameters")),
        }
    };
    // An index lives in its table's schema: a qualified index name is a
    // syntax error in PostgreSQL unless it names that schema; tusk keeps
    // the last part.
    let (schema, name) = match &ci.name {
        Some(n) => {
            let parts: Vec<String> =
                n.0.iter()
                    .filter_map(|p| p.as_ident().map(ident_name))
                    .collect();
            match parts.as_slice() {
                [n] => (None, Some(n.clone())),
                [s, n] => (Some(s.clone()), Some(n.clone())),
                _ => return Err(not_supported(format!("index name {n}"))),
            }
        }
        None => (None, None),
    };
    Ok((
        ci.table_name.clone(),
        schema,
        IndexSpec {
            name,
            keys: keys_of(&ci.columns)?,
            unique: ci.unique,
            primary: false,
            constraint: false,
            if_not_exists: ci.if_not_exists,
            predicate: ci.predicate.as_ref().map(|p| p.to_string()),
            concurrently: ci.concurrently,
            nulls_not_distinct: ci.nulls_distinct == Some(false),
            include: ci.include.iter().map(ident_name).collect(),
            options,
        },
    ))
}

/// A table constraint of CREATE TABLE or ALTER TABLE ADD: the index spec
/// of PRIMARY KEY / UNIQUE, None for a constraint of another kind (the
/// caller decides about those).
pub fn table_constraint(c: &ast::TableConstraint) -> Result<Option<IndexSpec>, PgError> {
    let nulls_not_distinct = matches!(
        c,
        ast::TableConstraint::Unique(u) if u.nulls_distinct == ast::NullsDistinctOption::NotDistinct
    );
    let (name, using, cols, primary, characteristics, include) = match c {
        ast::TableConstraint::PrimaryKey(p) => (
            &p.name,
            &p.index_type,
            &p.columns,
            true,
            &p.characteristics,
            &p.include,
        ),
        ast::TableConstraint::Unique(u) => (
            &u.name,
            &u.index_type,
            &u.columns,
            false,
            &u.characteristics,
            &u.include,
        ),
        _ => return Ok(None),
    };
    btree_only(using)?;
    if characteristics
        .as_ref()
        .is_some_and(|c| c.deferrable == Some(true) || c.initially.is_some())
    {
        return Err(not_supported("deferrable constraints"));
    }
    Ok(Some(IndexSpec {
        name: name.as_ref().map(ident_name),
        keys: keys_of(cols)?,
        unique: true,
        primary,
        constraint: true,
        if_not_exists: false,
        predicate: None,
        concurrently: false,
        nulls_not_distinct,
        include: include.iter().map(ident_name).collect(),
        options: Vec::new(),
    }))
}

/// A column's PRIMARY KEY or UNIQUE option (`a int PRIMARY KEY`), with
/// the option's CONSTRAINT name.
pub(crate) fn column_constraint(
    column: &str,
    name: &Option<ast::Ident>,
    primary: bool,
) -> IndexSpec {
    // `a int UNIQUE NULLS NOT DISTINCT` is not read by sqlparser.
    let nulls_not_distinct = false;
    IndexSpec {
        name: name.as_ref().map(ident_name),
        keys: vec![IndexKey {
            column: column.to_string(),
            desc: false,
            nulls_first: false,
            opclass: None,
            expr: None,
            expr_type: 0,
        }],
        unique: true,
        primary,
        constraint: true,
        if_not_exists: false,
        predicate: None,
        concurrently: false,
        nulls_not_distinct,
        include: Vec::new(),
        options: Vec::new(),
    }
}

// ---------------------------------------------------------------------
// Partial and expression indexes.
//
// An index's expressions and predicate are bound over its table's row by
// [`resolve`] when the index is made, and kept as the text ruleutils
// would print for them (pg_index.indexprs, the expressions joined by
// ", "; pg_index.indpred). That one text serves pg_get_indexdef, the host
// (which binds it again with [`IndexKeyer`] to compute keys) and the
// planner: a scan's conjuncts are deparsed the same way, so "the query
// has the predicate's conjunct" and "the qual is on the index's
// expression" are comparisons of text. No cost model: a partial index is
// usable exactly when its predicate is implied ([`predicate_implied`]).

/// PostgreSQL's FigureIndexColname for an expression key: a function's
/// name, a column's name (through casts), `case`, `coalesce`...; None
/// gives "expr".
fn figure_colname(e: &ast::Expr) -> Option<String> {
    match e {
        ast::Expr::Identifier(i) => Some(ident_name(i)),
        ast::Expr::CompoundIdentifier(v) => v.last().map(ident_name),
        ast::Expr::Nested(x) => figure_colname(x),
        ast::Expr::Function(f) => f.name.0.last().and_then(|p| p.as_ident()).map(ident_name),
        ast::Expr::Cast {
            expr, data_type, ..
        } => figure_colname(expr).or_else(|| {
            Some(
                data_type
                    .to_string()
                    .split('(')
                    .next()
                    .unwrap_or("expr")
                    .trim()
                    .to_lowercase(),
            )
        }),
        ast::Expr::Case { .. } => Some("case".into()),
        _ => None,
    }
}

/// Built-in functions that are not IMMUTABLE in PostgreSQL (their
/// result depends on the time, the session, the database or chance).
const NOT_IMMUTABLE: &[&str] = &[
    "now",
    "random",
    "random_normal",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "timeofday",
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "current_user",
    "session_user",
    "user",
    "current_role",
    "current_schema",
    "current_schemas",
    "current_database",
    "current_setting",
    "nextval",
    "currval",
    "setval",
    "lastval",
    "gen_random_uuid",
    "txid_current",
    "pg_backend_pid",
    "inet_client_addr",
    "pg_current_xact_id",
    "version",
];

/// Refuses an index expression or predicate that is not immutable
/// (42P17 `msg`) or reads a subquery.
fn check_immutable(e: &Expr, msg: &str) -> Result<(), PgError> {
    let mut bad = None;
    e.clone().visit(0, &mut |x, _| match x {
        Expr::Func(f, _) if NOT_IMMUTABLE.contains(&crate::explain::function_name(*f)) => {
            bad.get_or_insert(sqlstate::SqlState::new("42P17"));
        }
        Expr::UserFunc(def, _) if def.volatility != b'i' => {
            bad.get_or_insert(sqlstate::SqlState::new("42P17"));
        }
        Expr::SubLink(_) => {
            bad = Some(sqlstate::FEATURE_NOT_SUPPORTED);
        }
        _ => {}
    });
    match bad {
        None => Ok(()),
        Some(s) if s == sqlstate::FEATURE_NOT_SUPPORTED => Err(PgError::error(
            s,
            if msg.contains("predicate") {
                "cannot use subquery in index predicate"
            } else {
                "cannot use subquery in index expression"
            },
        )),
        Some(s) => Err(PgError::error(s, msg)),
    }
}

/// `spec` with its expression keys and predicate bound over `rel`
/// (undefined columns, types, volatility checked as DefineIndex does)
/// and replaced by their deparsed text; an expression that is a bare
/// column (`((a))`) becomes that column, as in PostgreSQL. Expression
/// columns get PostgreSQL's names (`lower`, `expr`, `expr1`).
pub(crate) fn resolve(
    host: &dyn crate::host::Host,
    rel: &crate::catalog::Relation,
    spec: &IndexSpec,
) -> Result<IndexSpec, PgError> {
    use crate::bind::rowexpr;
    if spec.concurrently && host.in_transaction_block() {
        return Err(PgError::error(
            sqlstate::SqlState::new("25001"),
            "CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
        ));
    }
    let mut out = spec.clone();
    let mut taken: Vec<String> = Vec::new();
    for k in &mut out.keys {
        if let Some(text) = &k.expr {
            let ast = rowexpr::parse_stored(text, "index expression")?;
            let b = rowexpr::bind_over_row(host, rel, &ast)
                .map_err(|e| rowexpr::ddl_agg_error(e, "index expression"))?;
            if let Expr::Column(i) = b.e {
                if i < rel.columns.len() {
                    k.column = rel.columns[i].name.clone();
                    k.expr = None;
                    taken.push(k.column.clone());
                    continue;
                }
            }
            check_immutable(
                &b.e,
                "functions in index expression must be marked IMMUTABLE",
            )?;
            if b.is_unknown() {
                return Err(PgError::error(
                    sqlstate::SqlState::new("42P17"),
                    "index expression cannot be of type unknown",
                ));
            }
            k.expr = Some(crate::explain::deparse_over(rel, &b.e));
            k.expr_type = b.ty.oid;
            // ChooseIndexColumnNames: a number appended to a repeated name.
            let base = k.column.clone();
            let mut n = 0;
            while taken.contains(&k.column) {
                n += 1;
                k.column = format!("{base}{n}");
            }
        }
        taken.push(k.column.clone());
    }
    if let Some(text) = &spec.predicate {
        let ast = rowexpr::parse_stored(text, "index predicate")?;
        let e = rowexpr::bind_check(host, rel, &ast).map_err(|e| {
            let e = rowexpr::ddl_agg_error(e, "index predicate");
            if e.message.contains("argument of CHECK") {
                PgError::error(
                    sqlstate::DATATYPE_MISMATCH,
                    e.message.replace("CHECK", "WHERE"),
                )
            } else {
                e
            }
        })?;
        check_immutable(&e, "functions in index predicate must be marked IMMUTABLE")?;
        out.predicate = Some(crate::explain::deparse_over(rel, &e));
    }
    Ok(out)
}

/// The parts of `s` separated by `sep` outside parentheses and quotes.
pub fn split_top<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut start, mut i) = (0i32, 0, 0);
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth -= 1,
                _ if depth == 0 && s[i..].starts_with(sep) => {
                    out.push(&s[start..i]);
                    i += sep.len();
                    start = i;
                    continue;
                }
                _ => {}
            },
        }
        i += 1;
    }
    out.push(&s[start..]);
    out
}

/// Whether `t`'s first character is a parenthesis that closes at its
/// last (`(a AND b)`, not `(a) AND (b)`); quotes are skipped.
pub(crate) fn one_group(t: &str) -> bool {
    if !t.starts_with('(') || !t.ends_with(')') {
        return false;
    }
    let (mut depth, mut quote) = (0i32, None);
    for (i, c) in t.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 && i + 1 < t.len() {
                        return false;
                    }
                }
                _ => {}
            },
        }
    }
    true
}

/// The conjuncts of a stored predicate, each as deparsed alone.
pub(crate) fn pred_conjuncts(pred: &str) -> Vec<&str> {
    let t = pred.trim();
    if one_group(t) {
        let parts = split_top(&t[1..t.len() - 1], " AND ");
        if parts.len() > 1 {
            return parts;
        }
    }
    vec![t]
}

/// A number or a quoted literal (`5`, `'-5'::integer`, `'x'::text`)
/// as deparsed: the literal's text.
fn literal_text(s: &str) -> Option<String> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('\'') {
        let end = rest.find('\'')?;
        return Some(rest[..end].to_string());
    }
    if s.parse::<f64>().is_ok() {
        return Some(s.to_string());
    }
    None
}

/// Compares a qual's value with a predicate's literal: numerically for
/// numbers, as text otherwise (C order, as tusk's text compares).
fn cmp_literal(v: &Value, lit: &str) -> Option<std::cmp::Ordering> {
    let num = match v {
        Value::Int2(i) => Some(*i as f64),
        Value::Int4(i) => Some(*i as f64),
        Value::Int8(i) => Some(*i as f64),
        Value::Float4(f) => Some(*f as f64),
        Value::Float8(f) => Some(*f),
        Value::Numeric(n) => n.to_string().parse().ok(),
        _ => None,
    };
    match (num, v) {
        (Some(x), _) => x.partial_cmp(&lit.parse::<f64>().ok()?),
        (None, Value::Text(t)) => Some(t.as_str().cmp(lit)),
        _ => None,
    }
}

/// Does a conjunct of a scan imply the predicate conjunct `conj`
/// (`(col op literal)`, `(col IS NOT NULL)` or any text the scan has as
/// a [`QualOp::Holds`] conjunct)? PostgreSQL's predicate_implied_by for
/// the forms it proves most often: the same clause, a tighter bound on
/// the same column, and NOT NULL from a strict comparison.
fn conjunct_implied(conj: &str, quals: &[ScanQual], columns: &[String]) -> bool {
    if quals
        .iter()
        .any(|q| q.op == QualOp::Holds && q.expr.as_deref() == Some(conj))
    {
        return true;
    }
    if !one_group(conj) {
        return false;
    }
    let inner = &conj[1..conj.len() - 1];
    let col_pos = |name: &str| {
        let name = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
            Some(q) => q.replace("\"\"", "\""),
            None => name.to_string(),
        };
        columns.iter().position(|c| *c == name)
    };
    if let Some(name) = inner.strip_suffix(" IS NOT NULL") {
        return col_pos(name).is_some_and(|c| {
            quals
                .iter()
                .any(|q| q.col == c && q.expr.is_none() && q.op != QualOp::Holds)
        });
    }
    let parts: Vec<&str> = split_top(inner, " ");
    let [name, op, lit @ ..] = parts.as_slice() else {
        return false;
    };
    let (Some(c), Some(lit)) = (col_pos(name), literal_text(&lit.join(" "))) else {
        return false;
    };
    use std::cmp::Ordering::*;
    quals
        .iter()
        .filter(|q| q.col == c && q.expr.is_none())
        .any(|q| {
            let Some(o) = cmp_literal(&q.value, &lit) else {
                return false;
            };
            match (*op, q.op) {
                ("=", QualOp::Eq) => o == Equal,
                (">", QualOp::Gt) | (">=", QualOp::Gt | QualOp::Ge | QualOp::Eq) => o != Less,
                (">", QualOp::Ge | QualOp::Eq) => o == Greater,
                ("<", QualOp::Lt) | ("<=", QualOp::Lt | QualOp::Le | QualOp::Eq) => o != Greater,
                ("<", QualOp::Le | QualOp::Eq) => o == Less,
                ("<>", QualOp::Eq) => o != Equal,
                ("<>", QualOp::Gt) => o != Less,
                ("<>", QualOp::Lt) => o != Greater,
                _ => false,
            }
        })
}

/// Is a partial index's predicate (pg_index.indpred as stored) implied
/// by a scan's quals, `columns` being the table's column names? Then the
/// index holds every row the scan can return.
pub fn predicate_implied(pred: &str, quals: &[ScanQual], columns: &[String]) -> bool {
    pred_conjuncts(pred)
        .iter()
        .all(|c| conjunct_implied(c.trim(), quals, columns))
}

/// The expressions of pg_index.indexprs as stored, one per expression
/// key column in order.
pub fn stored_exprs(indexprs: &str) -> Vec<String> {
    if indexprs.trim().is_empty() {
        return Vec::new();
    }
    split_top(indexprs, ", ")
        .into_iter()
        .map(|s| s.trim().to_string())
        .collect()
}

/// The quals of `filter` an expression or partial index could use, beyond
/// [`scan_quals`]' column quals: `expr op constant` with an expression
/// over the row (deparsed), and every other conjunct as
/// [`QualOp::Holds`]. `eval` gives a constant side's value (None: not
/// known now, as for a plain EXPLAIN's parameters).
pub(crate) fn shape_quals(
    rel: &crate::catalog::Relation,
    filter: Option<&Expr>,
    eval: &mut dyn FnMut(&Expr) -> Result<Option<Value>, PgError>,
) -> Result<Vec<ScanQual>, PgError> {
    let mut out = Vec::new();
    let Some(f) = filter else {
        return Ok(out);
    };
    let list: Vec<&Expr> = match f {
        Expr::And(v) => v.iter().collect(),
        e => vec![e],
    };
    for e in list {
        if let Expr::Cmp(op, l, r) = e {
            let simple = matches!(
                (&**l, &**r),
                (Expr::Column(_), v) | (v, Expr::Column(_)) if is_const(v)
            );
            if simple {
                continue;
            }
            let side = match (&**l, &**r) {
                (x, v) if is_const(v) && !is_const(x) => Some((x, v, false)),
                (v, x) if is_const(v) && !is_const(x) => Some((x, v, true)),
                _ => None,
            };
            if let Some((x, v, flipped)) = side {
                if let Some(op) = qual_op(*op, flipped) {
                    if let Some(value) = eval(v)? {
                        if !value.is_null() {
                            out.push(ScanQual {
                                col: NO_COLUMN,
                                op,
                                value,
                                expr: Some(crate::explain::deparse_over(rel, x)),
                            });
                        }
                    }
                }
            }
        }
        out.push(ScanQual {
            col: NO_COLUMN,
            op: QualOp::Holds,
            value: Value::Null,
            expr: Some(crate::explain::deparse_over(rel, e)),
        });
    }
    Ok(out)
}

/// An index's expressions and predicate bound over its table's row: the
/// host computes an index key with it (None: the row is not in a partial
/// index).
#[derive(Debug)]
pub struct IndexKeyer {
    /// Per key column: a table column or the next expression.
    cols: Vec<Option<usize>>,
    exprs: Vec<Expr>,
    pred: Option<Expr>,
}

impl IndexKeyer {
    /// Binds the stored texts; `cols` has None for each expression
    /// column, in order.
    pub fn bind(
        host: &dyn crate::host::Host,
        rel: &crate::catalog::Relation,
        cols: &[Option<usize>],
        exprs: &[String],
        pred: Option<&str>,
    ) -> Result<IndexKeyer, PgError> {
        use crate::bind::rowexpr;
        let exprs = exprs
            .iter()
            .map(|t| {
                let a = rowexpr::parse_stored(t, "index expression")?;
                Ok(rowexpr::bind_over_row(host, rel, &a)?.e)
            })
            .collect::<Result<Vec<_>, PgError>>()?;
        let pred = match pred {
            Some(t) => Some(rowexpr::bind_check(
                host,
                rel,
                &rowexpr::parse_stored(t, "index predicate")?,
            )?),
            None => None,
        };
        Ok(IndexKeyer {
            cols: cols.to_vec(),
            exprs,
            pred,
        })
    }

    /// The key of `row` (the table's live columns), or None when the
    /// predicate does not hold for it.
    pub fn key(
        &self,
        host: &mut dyn crate::host::Host,
        row: &[Value],
        tableoid: u32,
    ) -> Result<Option<Vec<Value>>, PgError> {
        let padded = crate::bind::rowexpr::pad_row(row, tableoid);
        let mut cx = Ctx { host, params: &[] };
        if let Some(p) = &self.pred {
            if p.eval(&padded, &mut cx)? != Value::Bool(true) {
                return Ok(None);
            }
        }
        let mut exprs = self.exprs.iter();
        let mut out = Vec::with_capacity(self.cols.len());
        for c in &self.cols {
            out.push(match c {
                Some(i) => row[*i].clone(),
                None => match exprs.next() {
                    Some(e) => e.eval(&padded, &mut cx)?,
                    None => Value::Null,
                },
            });
        }
        Ok(Some(out))
    }
}

/// ruleutils' looks_like_function for a deparsed index expression: a
/// call (`lower(name)`, `COALESCE(a, b)`) is printed without the extra
/// parentheses other expressions get in an index's column list.
pub fn looks_like_function(e: &str) -> bool {
    let Some(open) = e.find('(') else {
        return false;
    };
    open > 0
        && e[..open]
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        && one_group(&e[open..])
}

/// A deparsed expression as ruleutils prints it in pretty mode
/// (pg_get_indexdef(..., true), psql's \d): no parentheses around the
/// whole, around an operand of AND / OR that binds tighter (an OR keeps
/// them inside AND), or around a column under a cast.
pub fn pretty_expr(s: &str) -> String {
    let s = cast_parens_stripped(s.trim());
    pretty_node(&s)
}

fn pretty_node(s: &str) -> String {
    if !one_group(s) {
        return s.to_string();
    }
    let inner = &s[1..s.len() - 1];
    for (sep, is_or) in [(" OR ", true), (" AND ", false)] {
        let parts = split_top(inner, sep);
        if parts.len() > 1 {
            return parts
                .iter()
                .map(|p| {
                    let p = p.trim();
                    let or_inside = one_group(p) && split_top(&p[1..p.len() - 1], " OR ").len() > 1;
                    if or_inside && !is_or {
                        p.to_string()
                    } else {
                        pretty_node(p)
                    }
                })
                .collect::<Vec<_>>()
                .join(sep);
        }
    }
    pretty_arith(inner)
}

/// The priority of an arithmetic operator for ruleutils' pretty mode
/// (1: `+ -`, 2: `* / %`); others are never left unparenthesized.
fn arith_priority(op: &str) -> Option<u8> {
    match op {
        "+" | "-" => Some(1),
        "*" | "/" | "%" => Some(2),
        _ => None,
    }
}

/// `a op b` with the parentheses of an arithmetic operand dropped where
/// ruleutils' isSimpleNode drops them: an operand that binds tighter, or
/// a left operand of the same priority (`(a - b) - c`).
fn pretty_arith(inner: &str) -> String {
    let parts = split_top(inner, " ");
    let [l, op, r] = parts.as_slice() else {
        return inner.to_string();
    };
    let Some(p) = arith_priority(op) else {
        return inner.to_string();
    };
    let side = |x: &str, left: bool| -> String {
        if !one_group(x) {
            return x.to_string();
        }
        let xi = &x[1..x.len() - 1];
        let xp = split_top(xi, " ");
        match xp.as_slice() {
            [_, xop, _] => match arith_priority(xop) {
                Some(q) if q > p || (q == p && left) => pretty_arith(xi),
                _ => x.to_string(),
            },
            _ => x.to_string(),
        }
    };
    format!("{} {op} {}", side(l, true), side(r, false))
}

/// `(name)::type` as `name::type` (a bare column under a cast), outside
/// quotes.
fn cast_parens_stripped(s: &str) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
        } else if c == b'\'' || c == b'"' {
            quote = Some(c);
        } else if c == b'(' {
            if let Some(close) = s[i + 1..].find(')') {
                let word = &s[i + 1..i + 1 + close];
                if !word.is_empty()
                    && word.chars().all(|c| c.is_alphanumeric() || c == '_')
                    && s[i + 2 + close..].starts_with("::")
                {
                    out.extend_from_slice(word.as_bytes());
                    i += close + 2;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// The first characters of the column name that carries an ON CONFLICT
/// inference `WHERE` through sqlparser (see [`rewrite_conflict_where`]).
pub(crate) const CONFLICT_WHERE_MARK: &str = "\u{1}WHERE ";

/// The first characters of the column name that carries an ON CONFLICT
/// target's expression (`lower(fruit)`) through sqlparser.
pub(crate) const CONFLICT_EXPR_MARK: &str = "\u{1}EXPR ";

/// `ON CONFLICT (cols) WHERE pred DO ...` for sqlparser, which has no
/// grammar for the inference predicate: the predicate's text moves into
/// the column list as one quoted name starting with
/// [`CONFLICT_WHERE_MARK`], which the binder takes back out
/// (bind/upsert.rs).
pub(crate) fn rewrite_conflict_where(
    toks: Vec<sqlparser::tokenizer::TokenWithSpan>,
) -> Vec<sqlparser::tokenizer::TokenWithSpan> {
    use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace};
    let is = |t: &Token, w: &str| matches!(t, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    let meaningful = |t: &Token| !matches!(t, Token::Whitespace(_));
    let next = |toks: &[TokenWithSpan], from: usize| {
        (from..toks.len()).find(|&j| meaningful(&toks[j].token))
    };
    let mut toks = toks;
    let mut i = 0;
    while i < toks.len() {
        let after_on = (0..i)
            .rev()
            .find(|&j| meaningful(&toks[j].token))
            .is_some_and(|j| is(&toks[j].token, "on"));
        if !is(&toks[i].token, "conflict") || !after_on {
            i += 1;
            continue;
        }
        let Some(open) = next(&toks, i + 1).filter(|&j| toks[j].token == Token::LParen) else {
            i += 1;
            continue;
        };
        // The matching parenthesis.
        let mut depth = 0;
        let mut close = None;
        for (j, t) in toks.iter().enumerate().skip(open) {
            match t.token {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(j);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(mut close) = close else {
            break;
        };
        // Elements other than a column name become marked names too.
        let mut at = open + 1;
        while at < close {
            let mut depth = 0;
            let mut end = close;
            for (j, t) in toks.iter().enumerate().take(close).skip(at) {
                match t.token {
                    Token::LParen => depth += 1,
                    Token::RParen => depth -= 1,
                    Token::Comma if depth == 0 => {
                        end = j;
                        break;
                    }
                    _ => {}
                }
            }
            let words: Vec<&Token> = toks[at..end]
                .iter()
                .map(|t| &t.token)
                .filter(|t| meaningful(t))
                .collect();
            if !matches!(words.as_slice(), [Token::Word(_)]) && !words.is_empty() {
                let text: String = toks[at..end].iter().map(|t| t.token.to_string()).collect();
                let span = toks[at].span;
                let mark = Token::Word(sqlparser::tokenizer::Word {
                    value: format!("{CONFLICT_EXPR_MARK}{}", text.trim()),
                    quote_style: Some('"'),
                    keyword: sqlparser::keywords::Keyword::NoKeyword,
                });
                let removed = end - at;
                toks.splice(at..end, [TokenWithSpan { token: mark, span }]);
                close = close + 1 - removed;
                at += 2;
            } else {
                at = end + 1;
            }
        }
        let Some(w) = next(&toks, close + 1).filter(|&j| is(&toks[j].token, "where")) else {
            i = close;
            continue;
        };
        // The predicate runs to `DO` at depth 0.
        let mut depth = 0;
        let mut end = None;
        for (j, t) in toks.iter().enumerate().skip(w + 1) {
            match t.token {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                _ if depth == 0 && is(&t.token, "do") => {
                    end = Some(j);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            break;
        };
        let text: String = toks[w + 1..end]
            .iter()
            .map(|t| t.token.to_string())
            .collect();
        let span = toks[w].span;
        let mark = Token::Word(sqlparser::tokenizer::Word {
            value: format!("{CONFLICT_WHERE_MARK}{}", text.trim()),
            quote_style: Some('"'),
            keyword: sqlparser::keywords::Keyword::NoKeyword,
        });
        toks.splice(
            w..end,
            [TokenWithSpan {
                token: Token::Whitespace(Whitespace::Space),
                span,
            }],
        );
        toks.splice(
            close..close,
            [Token::Comma, mark]
                .into_iter()
                .map(|token| TokenWithSpan { token, span }),
        );
        i = close + 3;
    }
    toks
}

/// The facts a conjunction over `rel`'s row states, as scan quals: its
/// column-vs-constant conjuncts and every other conjunct as
/// [`QualOp::Holds`] (ON CONFLICT's inference WHERE, matched against
/// partial unique indexes with [`predicate_implied`]).
pub(crate) fn fact_quals(rel: &crate::catalog::Relation, e: &Expr) -> Vec<ScanQual> {
    let mut out = Vec::new();
    let list: Vec<&Expr> = match e {
        Expr::And(v) => v.iter().collect(),
        e => vec![e],
    };
    for c in &list {
        if let Expr::Cmp(op, l, r) = c {
            let (col, v, flipped) = match (&**l, &**r) {
                (Expr::Column(c), Expr::Const(v)) => (*c, v, false),
                (Expr::Const(v), Expr::Column(c)) => (*c, v, true),
                _ => continue,
            };
            if let (Some(op), false) = (qual_op(*op, flipped), v.is_null()) {
                out.push(ScanQual {
                    col,
                    op,
                    value: v.clone(),
                    expr: None,
                });
            }
        }
    }
    out.extend(shape_quals(rel, Some(e), &mut static_value).unwrap_or_default());
    // Column comparisons are facts as text too (`(key = 1)` in a
    // predicate matched literally).
    for c in list {
        if matches!(c, Expr::Cmp(..)) {
            out.push(ScanQual {
                col: NO_COLUMN,
                op: QualOp::Holds,
                value: Value::Null,
                expr: Some(crate::explain::deparse_over(rel, c)),
            });
        }
    }
    out
}
