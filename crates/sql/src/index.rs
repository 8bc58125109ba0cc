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
}

/// A comparison operator of an index qual.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
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
}

/// The index a scan would read, as the host chose it (for EXPLAIN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexChoice {
    pub name: String,
    /// Its key columns: positions in the relation's row (0-based).
    pub cols: Vec<usize>,
    pub unique: bool,
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
                out.push(ScanQual { col, op, value });
            }
        }
        _ => {}
    }
    Ok(())
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
        let quals = scan_quals(filter, cx)?;
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
    let quals = scan_quals(plan.filter.as_ref(), cx)?;
    relations.open_ordered_scan(rel, &quals, *col, k.desc)
}

fn keys_of(cols: &[ast::IndexColumn]) -> Result<Vec<IndexKey>, PgError> {
    cols.iter()
        .map(|c| {
            let name = match &c.column.expr {
                ast::Expr::Identifier(i) => ident_name(i),
                other => {
                    return Err(not_supported(format!("index on the expression {other}")));
                }
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
    btree_only(&ci.using)?;
    if ci.concurrently {
        return Err(not_supported("CREATE INDEX CONCURRENTLY"));
    }
    if ci.predicate.is_some() {
        return Err(not_supported("partial indexes"));
    }
    if !ci.include.is_empty() {
        return Err(not_supported("INCLUDE in an index"));
    }
    if !ci.with.is_empty() {
        return Err(not_supported("index storage parameters"));
    }
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
        },
    ))
}

/// A table constraint of CREATE TABLE or ALTER TABLE ADD: the index spec
/// of PRIMARY KEY / UNIQUE, None for a constraint of another kind (the
/// caller decides about those).
pub fn table_constraint(c: &ast::TableConstraint) -> Result<Option<IndexSpec>, PgError> {
    let (name, using, cols, primary, characteristics) = match c {
        ast::TableConstraint::PrimaryKey(p) => {
            (&p.name, &p.index_type, &p.columns, true, &p.characteristics)
        }
        ast::TableConstraint::Unique(u) => {
            if !matches!(
                u.nulls_distinct,
                ast::NullsDistinctOption::None | ast::NullsDistinctOption::Distinct
            ) {
                return Err(not_supported("UNIQUE NULLS NOT DISTINCT"));
            }
            (
                &u.name,
                &u.index_type,
                &u.columns,
                false,
                &u.characteristics,
            )
        }
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
    }))
}

/// A column's PRIMARY KEY or UNIQUE option (`a int PRIMARY KEY`), with
/// the option's CONSTRAINT name.
pub(crate) fn column_constraint(
    column: &str,
    name: &Option<ast::Ident>,
    primary: bool,
) -> IndexSpec {
    IndexSpec {
        name: name.as_ref().map(ident_name),
        keys: vec![IndexKey {
            column: column.to_string(),
            desc: false,
            nulls_first: false,
            opclass: None,
        }],
        unique: true,
        primary,
        constraint: true,
        if_not_exists: false,
    }
}

/// REINDEX's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReindexTarget {
    Table(Option<String>, String),
    Index(Option<String>, String),
}

/// `REINDEX {TABLE | INDEX} name` (read from the text: sqlparser has no
/// REINDEX); None when the statement is not a REINDEX.
pub(crate) fn parse_reindex(sql: &str) -> Option<Result<ReindexTarget, PgError>> {
    let words: Vec<&str> = sql
        .trim()
        .trim_end_matches(';')
        .split_whitespace()
        .collect();
    if !words.first()?.eq_ignore_ascii_case("reindex") {
        return None;
    }
    Some((|| {
        let (kind, name) = match words.as_slice() {
            [_, k, n] => (k.to_lowercase(), *n),
            _ => {
                return Err(not_supported(
                    "REINDEX other than REINDEX TABLE name or REINDEX INDEX name",
                ))
            }
        };
        let fold = |s: &str| match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            Some(q) => q.replace("\"\"", "\""),
            None => s.to_lowercase(),
        };
        let (schema, rel) = match name.split_once('.') {
            Some((s, n)) => (Some(fold(s)), fold(n)),
            None => (None, fold(name)),
        };
        match kind.as_str() {
            "table" => Ok(ReindexTarget::Table(schema, rel)),
            "index" => Ok(ReindexTarget::Index(schema, rel)),
            _ => Err(not_supported(format!("REINDEX {}", kind.to_uppercase()))),
        }
    })())
}
