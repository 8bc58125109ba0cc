//! Declarative partitioning: PARTITION BY, PARTITION OF ... FOR VALUES,
//! the bounds' checks and text, and tuple routing of INSERT/COPY/UPDATE.
//!
//! Why this shape: a partitioned table is an inheritance parent (its
//! partitions are pg_inherits children, as in PostgreSQL) with relkind
//! 'p', a pg_partitioned_table row holding its key, and no rows of its
//! own; so scans, UPDATE and DELETE through it are inherit.rs's. Each
//! partition keeps its bound in pg_class.relpartbound as the text
//! pg_get_expr prints (`FOR VALUES FROM (1) TO (10)`), which is also
//! valid input: [`parse_bound`] reads it back through sqlparser's
//! PARTITION OF grammar and coerces the values to the key's types, once
//! per statement ([`Router`]). Routing compares the row's key with each
//! partition's bound (list membership, range lower <= key < upper with
//! MINVALUE/MAXVALUE, hash modulus/remainder), the DEFAULT partition
//! last, descending into sub-partitioned partitions.

use std::cmp::Ordering;

use sqlparser::ast;

use tusk_common::{sqlstate, PgError};

use crate::catalog::{self, ColumnDef, InheritChild, PartKey, PartKeyCol, Relation};
use crate::expr::{Ctx, Expr};
use crate::host::Host;
use crate::types::{self, Ty};
use crate::value::Value;

const INVALID_OBJECT_DEFINITION: sqlstate::SqlState = sqlstate::SqlState::new("42P17");
const INVALID_TABLE_DEFINITION: sqlstate::SqlState = sqlstate::SqlState::new("42P16");

/// What CREATE TABLE says about partitioning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CreateSpec {
    /// PARTITION BY: the strategy (b'r', b'l', b'h') and key items.
    pub by: Option<(u8, Vec<ast::Expr>)>,
    /// PARTITION OF parent FOR VALUES ...
    pub of: Option<((Option<String>, String), ast::ForValues)>,
}

/// Reads PARTITION BY (sqlparser gives `RANGE (a, b)` as a call) and
/// PARTITION OF from CREATE TABLE.
pub(crate) fn create_spec(ct: &ast::CreateTable) -> Result<Option<CreateSpec>, PgError> {
    let by = match ct.partition_by.as_deref() {
        None => None,
        Some(ast::Expr::Function(f)) => {
            let strat = f.name.to_string().to_lowercase();
            let strategy = match strat.as_str() {
                "range" => b'r',
                "list" => b'l',
                "hash" => b'h',
                _ => {
                    return Err(PgError::error(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!("unrecognized partitioning strategy \"{strat}\""),
                    ))
                }
            };
            let ast::FunctionArguments::List(list) = &f.args else {
                return Err(syntax_error());
            };
            let mut keys = Vec::new();
            for a in &list.args {
                match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                        keys.push(e.clone())
                    }
                    _ => return Err(syntax_error()),
                }
            }
            if strategy == b'l' && keys.len() > 1 {
                return Err(PgError::error(
                    INVALID_OBJECT_DEFINITION,
                    "cannot use \"list\" partition strategy with more than one column",
                ));
            }
            Some((strategy, keys))
        }
        Some(_) => return Err(syntax_error()),
    };
    let of = match (&ct.partition_of, &ct.for_values) {
        (Some(p), Some(fv)) => Some((crate::utility::qualified_name(p)?, fv.clone())),
        (None, None) => None,
        _ => return Err(syntax_error()),
    };
    if by.is_none() && of.is_none() {
        return Ok(None);
    }
    Ok(Some(CreateSpec { by, of }))
}

fn syntax_error() -> PgError {
    PgError::error(
        sqlstate::SYNTAX_ERROR,
        "syntax error at or near \"PARTITION\"",
    )
}

/// The partition key of a new table over its columns `cols`: plain
/// columns by position, other expressions as SQL text.
pub(crate) fn key_of(
    strategy: u8,
    items: &[ast::Expr],
    cols: &[ColumnDef],
) -> Result<PartKey, PgError> {
    let mut keys = Vec::new();
    for e in items {
        let e = match e {
            ast::Expr::Nested(inner) => inner.as_ref(),
            e => e,
        };
        match e {
            ast::Expr::Identifier(i) => {
                let name = crate::bind::ident_name(i);
                let Some(pos) = cols.iter().position(|c| c.name == name) else {
                    return Err(PgError::error(
                        sqlstate::UNDEFINED_COLUMN,
                        format!("column \"{name}\" named in partition key does not exist"),
                    ));
                };
                keys.push(PartKeyCol::Column(pos));
            }
            other => keys.push(PartKeyCol::Expr(other.to_string())),
        }
    }
    Ok(PartKey { strategy, keys })
}

/// pg_get_partkeydef's text: `RANGE (a, (a + b))`.
pub(crate) fn keydef(key: &PartKey, cols: &[ColumnDef]) -> String {
    let strat = match key.strategy {
        b'r' => "RANGE",
        b'l' => "LIST",
        _ => "HASH",
    };
    let items: Vec<String> = key
        .keys
        .iter()
        .map(|k| match k {
            PartKeyCol::Column(i) => cols
                .get(*i)
                .map(|c| crate::utility::quote_identifier(&c.name))
                .unwrap_or_default(),
            PartKeyCol::Expr(e) => keydef_item_text(e),
        })
        .collect();
    format!("{strat} ({})", items.join(", "))
}

/// An expression key item as PostgreSQL prints it: a bare function call
/// as is, anything else in parentheses.
fn expr_item_text(e: &str) -> String {
    match crate::bind::rowexpr::parse_stored(e, "partition key") {
        Ok(ast::Expr::Function(_)) => e.to_string(),
        // sqlparser has its own node (and spelling) for substr().
        Ok(ast::Expr::Substring { .. }) if e.starts_with("SUBSTR(") => {
            format!("substr{}", &e["SUBSTR".len()..])
        }
        _ => format!("({e})"),
    }
}

/// pg_get_partkeydef's spelling of an expression item: an operator
/// expression keeps the parentheses PostgreSQL's deparser gives it.
fn keydef_item_text(e: &str) -> String {
    match crate::bind::rowexpr::parse_stored(e, "partition key") {
        Ok(ast::Expr::BinaryOp { .. }) => format!("(({e}))"),
        _ => expr_item_text(e),
    }
}

/// Binds each expression item of a new partitioned table's key over its
/// columns, refusing what PostgreSQL refuses there (subqueries,
/// aggregates, window and set-returning functions).
pub(crate) fn check_key(host: &dyn Host, key: &PartKey, cols: &[ColumnDef]) -> Result<(), PgError> {
    let rel = Relation::new(
        "",
        "",
        cols.to_vec(),
        catalog::RelationSource::Table(catalog::TableRef {
            oid: 0,
            relfilenode: 0,
            shared: false,
            namespace: 0,
        }),
    );
    for k in &key.keys {
        let PartKeyCol::Expr(text) = k else {
            continue;
        };
        let e = crate::bind::rowexpr::parse_stored(text, "partition key")?;
        if crate::bind::rowexpr::refuse_in_ddl(&e, "partition key expression").is_err() {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "cannot use subquery in partition key expression",
            ));
        }
        let shown = e.to_string().to_lowercase();
        if shown.contains(" over ") || shown.contains(" over(") {
            return Err(PgError::error(
                sqlstate::SqlState::new("42P20"),
                "window functions are not allowed in partition key expressions",
            ));
        }
        match crate::bind::rowexpr::bind_over_row(host, &rel, &e) {
            Err(err)
                if err
                    .message
                    .starts_with("aggregate functions are not allowed") =>
            {
                return Err(PgError::error(
                    sqlstate::SqlState::new("42803"),
                    "aggregate functions are not allowed in partition key expressions",
                ))
            }
            Err(err) => return Err(err),
            Ok(_) => {}
        }
    }
    Ok(())
}

/// A range bound item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RVal {
    Min,
    Val(Value),
    Max,
}

/// A partition's bound with its values of the key's types.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bound {
    List(Vec<Value>),
    Range(Vec<RVal>, Vec<RVal>),
    Hash(u64, u64),
    Default,
}

/// The key's item types and names (for messages) over `rel`.
struct KeyInfo {
    types: Vec<Ty>,
    names: Vec<String>,
    exprs: Vec<Option<Expr>>,
}

impl KeyInfo {
    /// The key's values for `row` (in the partitioned table's layout):
    /// its columns, and its expressions evaluated over the row.
    fn values(
        &self,
        host: &mut dyn Host,
        key: &PartKey,
        row: &[Value],
    ) -> Result<Vec<Value>, PgError> {
        let padded = crate::bind::rowexpr::pad_row(row, 0);
        let mut vals = Vec::with_capacity(key.keys.len());
        for (item, e) in key.keys.iter().zip(&self.exprs) {
            vals.push(match (item, e) {
                (PartKeyCol::Column(i), _) => row.get(*i).cloned().unwrap_or(Value::Null),
                (_, Some(e)) => {
                    let mut cx = Ctx { host, params: &[] };
                    e.eval(&padded, &mut cx)?
                }
                _ => Value::Null,
            });
        }
        Ok(vals)
    }
}

fn key_info(host: &dyn Host, rel: &Relation, key: &PartKey) -> Result<KeyInfo, PgError> {
    let mut k = KeyInfo {
        types: Vec::new(),
        names: Vec::new(),
        exprs: Vec::new(),
    };
    for item in &key.keys {
        match item {
            PartKeyCol::Column(i) => {
                let c = rel.columns.get(*i).ok_or_else(|| {
                    PgError::error(
                        sqlstate::INTERNAL_ERROR,
                        "partition key column out of range",
                    )
                })?;
                k.types.push(c.ty);
                k.names.push(c.name.clone());
                k.exprs.push(None);
            }
            PartKeyCol::Expr(text) => {
                let e = crate::bind::rowexpr::parse_stored(text, "partition key")?;
                let b = crate::bind::rowexpr::bind_over_row(host, rel, &e)?;
                k.types.push(b.ty);
                k.names.push(expr_item_text(text));
                k.exprs.push(Some(b.e));
            }
        }
    }
    Ok(k)
}

/// A constant of a bound coerced to the key item's type.
fn bound_value(host: &mut dyn Host, e: &ast::Expr, ty: Ty) -> Result<Value, PgError> {
    let mut col = ColumnDef::new("bound", ty);
    col.default = Some(e.to_string());
    let Some(b) = crate::bind::rowexpr::bind_column_default(&*host, &col)? else {
        return Ok(Value::Null);
    };
    let mut cx = Ctx { host, params: &[] };
    b.eval(&[], &mut cx)
}

fn bound_of(host: &mut dyn Host, fv: &ast::ForValues, k: &KeyInfo) -> Result<Bound, PgError> {
    Ok(match fv {
        ast::ForValues::Default => Bound::Default,
        ast::ForValues::With { modulus, remainder } => Bound::Hash(*modulus, *remainder),
        ast::ForValues::In(list) => {
            let ty = k.types.first().copied().unwrap_or(Ty::new(types::TEXT));
            let mut vals = Vec::new();
            for e in list {
                let v = bound_value(host, e, ty)?;
                if !vals.contains(&v) {
                    vals.push(v);
                }
            }
            Bound::List(vals)
        }
        ast::ForValues::From { from, to } => {
            let side = |host: &mut dyn Host,
                        items: &[ast::PartitionBoundValue],
                        which: &str|
             -> Result<Vec<RVal>, PgError> {
                if items.len() != k.types.len() {
                    return Err(PgError::error(
                        INVALID_OBJECT_DEFINITION,
                        format!(
                            "{which} partition bound must have as many items as partition key columns"
                        ),
                    ));
                }
                let mut out = Vec::new();
                for (it, ty) in items.iter().zip(&k.types) {
                    out.push(match it {
                        ast::PartitionBoundValue::MinValue => RVal::Min,
                        ast::PartitionBoundValue::MaxValue => RVal::Max,
                        ast::PartitionBoundValue::Expr(e) => {
                            let v = bound_value(host, e, *ty)?;
                            if v.is_null() {
                                return Err(PgError::error(
                                    INVALID_TABLE_DEFINITION,
                                    "cannot specify NULL in range bound",
                                ));
                            }
                            RVal::Val(v)
                        }
                    });
                }
                // After MINVALUE/MAXVALUE only the same may follow.
                let mut seen: Option<RVal> = None;
                for v in &mut out {
                    match (&seen, &*v) {
                        (None, RVal::Min | RVal::Max) => seen = Some(v.clone()),
                        (Some(s), x) if s != x => {
                            return Err(PgError::error(
                                INVALID_OBJECT_DEFINITION,
                                "every bound following MAXVALUE must also be MAXVALUE",
                            ))
                        }
                        _ => {}
                    }
                }
                Ok(out)
            };
            Bound::Range(side(host, from, "FROM")?, side(host, to, "TO")?)
        }
    })
}

/// PostgreSQL's text of a bound constant (get_const_expr without a
/// cast): numbers bare unless negative, booleans bare, others quoted.
fn const_text(v: &Value) -> String {
    let Some(s) = crate::value::to_text(v) else {
        return "NULL".into();
    };
    match v {
        Value::Int4(_) if !s.starts_with('-') => s,
        Value::Numeric(_) if s.starts_with(|c: char| c.is_ascii_digit()) => s,
        Value::Bool(b) => (if *b { "true" } else { "false" }).into(),
        _ => format!("'{}'", s.replace('\'', "''")),
    }
}

/// The bound as pg_get_expr(relpartbound) prints it.
fn bound_text(b: &Bound) -> String {
    let rv = |v: &RVal| match v {
        RVal::Min => "MINVALUE".to_string(),
        RVal::Max => "MAXVALUE".to_string(),
        RVal::Val(v) => const_text(v),
    };
    match b {
        Bound::Default => "DEFAULT".into(),
        Bound::Hash(m, r) => format!("FOR VALUES WITH (modulus {m}, remainder {r})"),
        Bound::List(vals) => format!(
            "FOR VALUES IN ({})",
            vals.iter().map(const_text).collect::<Vec<_>>().join(", ")
        ),
        Bound::Range(lo, hi) => format!(
            "FOR VALUES FROM ({}) TO ({})",
            lo.iter().map(rv).collect::<Vec<_>>().join(", "),
            hi.iter().map(rv).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// A stored bound text read back.
fn parse_bound(text: &str) -> Result<ast::ForValues, PgError> {
    let sql = format!("CREATE TABLE x PARTITION OF y {text}");
    let stmts =
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, &sql)
            .map_err(|e| {
                PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    format!("stored partition bound cannot be parsed: {e}"),
                )
            })?;
    match stmts.first() {
        Some(ast::Statement::CreateTable(ct)) => ct.for_values.clone().ok_or_else(|| {
            PgError::error(sqlstate::INTERNAL_ERROR, "stored partition bound is empty")
        }),
        _ => Err(PgError::error(
            sqlstate::INTERNAL_ERROR,
            "stored partition bound cannot be parsed",
        )),
    }
}

fn rcmp(a: &RVal, b: &RVal) -> Ordering {
    match (a, b) {
        (RVal::Min, RVal::Min) | (RVal::Max, RVal::Max) => Ordering::Equal,
        (RVal::Min, _) | (_, RVal::Max) => Ordering::Less,
        (_, RVal::Min) | (RVal::Max, _) => Ordering::Greater,
        (RVal::Val(x), RVal::Val(y)) => crate::value::compare(x, y),
    }
}

fn range_cmp(a: &[RVal], b: &[RVal]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        match rcmp(x, y) {
            Ordering::Equal => continue,
            o => return o,
        }
    }
    Ordering::Equal
}

fn key_cmp(key: &[Value], bound: &[RVal]) -> Ordering {
    for (k, b) in key.iter().zip(bound) {
        let o = match b {
            RVal::Min => Ordering::Greater,
            RVal::Max => Ordering::Less,
            RVal::Val(v) => crate::value::compare(k, v),
        };
        if o != Ordering::Equal {
            return o;
        }
        if !matches!(b, RVal::Val(_)) {
            break;
        }
    }
    Ordering::Equal
}

fn overlap_error(new: &str, old: &str) -> PgError {
    PgError::error(
        INVALID_OBJECT_DEFINITION,
        format!("partition \"{new}\" would overlap partition \"{old}\""),
    )
}

/// The direct partitions of `name` among a partitioned table's flat
/// descendant list.
fn direct<'a>(all: &'a [InheritChild], name: &str) -> impl Iterator<Item = &'a InheritChild> {
    let name = name.to_string();
    all.iter().filter(move |c| c.parent == name)
}

/// CREATE TABLE name PARTITION OF parent FOR VALUES ...: the parent
/// (partitioned, 42809 otherwise), checked against its partitions'
/// bounds, and the bound's text for relpartbound.
pub(crate) fn check_new_partition(
    host: &mut dyn Host,
    parent: &Relation,
    name: &str,
    fv: &ast::ForValues,
) -> Result<String, PgError> {
    let Some(key) = &parent.partkey else {
        return Err(PgError::error(
            catalog::codes::WRONG_OBJECT_TYPE,
            format!("\"{}\" is not partitioned", parent.name),
        ));
    };
    let k = key_info(&*host, parent, key)?;
    match (key.strategy, fv) {
        (_, ast::ForValues::Default) => {}
        (b'l', ast::ForValues::In(_)) | (b'r', ast::ForValues::From { .. }) => {}
        (b'h', ast::ForValues::With { .. }) => {}
        (s, _) => {
            let what = match s {
                b'l' => "list",
                b'r' => "range",
                _ => "hash",
            };
            return Err(PgError::error(
                INVALID_TABLE_DEFINITION,
                format!("invalid bound specification for a {what} partition"),
            ));
        }
    }
    if key.strategy == b'h' && matches!(fv, ast::ForValues::Default) {
        return Err(PgError::error(
            INVALID_TABLE_DEFINITION,
            "a hash-partitioned table may not have a default partition",
        ));
    }
    let new = bound_of(host, fv, &k)?;
    if let Bound::Range(lo, hi) = &new {
        if range_cmp(lo, hi) != Ordering::Less {
            let show = |v: &[RVal]| {
                v.iter()
                    .map(|x| match x {
                        RVal::Min => "MINVALUE".to_string(),
                        RVal::Max => "MAXVALUE".to_string(),
                        RVal::Val(v) => crate::value::to_text(v).unwrap_or_default(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(PgError::error(
                INVALID_OBJECT_DEFINITION,
                format!("empty range bound specified for partition \"{name}\""),
            )
            .with_detail(format!(
                "Specified lower bound ({}) is greater than or equal to upper bound ({}).",
                show(lo),
                show(hi)
            )));
        }
    }
    if let Bound::Hash(m, r) = &new {
        if *m == 0 {
            return Err(PgError::error(
                INVALID_TABLE_DEFINITION,
                "modulus for hash partition must be an integer value greater than zero",
            ));
        }
        if r >= m {
            return Err(PgError::error(
                INVALID_TABLE_DEFINITION,
                "remainder for hash partition must be less than modulus",
            ));
        }
    }
    for sib in direct(&parent.children, &parent.name) {
        let Some(text) = &sib.rel.partbound else {
            continue;
        };
        let old = bound_of(host, &parse_bound(text)?, &k)?;
        let clash = match (&new, &old) {
            (Bound::Default, Bound::Default) => {
                return Err(PgError::error(
                    INVALID_OBJECT_DEFINITION,
                    format!(
                        "partition \"{name}\" conflicts with existing default partition \"{}\"",
                        sib.rel.name
                    ),
                ))
            }
            (Bound::List(a), Bound::List(b)) => a.iter().any(|v| b.contains(v)),
            (Bound::Range(alo, ahi), Bound::Range(blo, bhi)) => {
                range_cmp(alo, bhi) == Ordering::Less && range_cmp(blo, ahi) == Ordering::Less
            }
            (Bound::Hash(m1, r1), Bound::Hash(m2, r2)) => {
                let (small, big) = if m1 <= m2 {
                    ((m1, r1), (m2, r2))
                } else {
                    ((m2, r2), (m1, r1))
                };
                if big.0 % small.0 != 0 {
                    return Err(PgError::error(
                        INVALID_OBJECT_DEFINITION,
                        "every hash partition modulus must be a factor of the next larger modulus",
                    ));
                }
                big.1 % small.0 == *small.1
            }
            _ => false,
        };
        if clash {
            return Err(overlap_error(name, &sib.rel.name));
        }
    }
    Ok(bound_text(&new))
}

/// A partitioned table's name, key and partitions' bounds (indexes
/// into the top table's children).
type Level = (String, KeyInfo, Vec<(usize, Bound)>);

/// Where rows of one statement go: each partitioned table's key and its
/// partitions' bounds, read once.
#[derive(Default)]
pub(crate) struct Router {
    levels: Vec<Level>,
}

impl Router {
    fn level(
        &mut self,
        host: &mut dyn Host,
        top: &Relation,
        at: &Relation,
    ) -> Result<usize, PgError> {
        if let Some(i) = self.levels.iter().position(|l| l.0 == at.name) {
            return Ok(i);
        }
        let key = at.partkey.as_ref().ok_or_else(|| {
            PgError::error(
                sqlstate::INTERNAL_ERROR,
                "routing through a table that is not partitioned",
            )
        })?;
        let k = key_info(&*host, at, key)?;
        let mut bounds = Vec::new();
        for (i, c) in top.children.iter().enumerate() {
            if c.parent != at.name {
                continue;
            }
            if let Some(text) = &c.rel.partbound {
                bounds.push((i, bound_of(host, &parse_bound(text)?, &k)?));
            }
        }
        self.levels.push((at.name.clone(), k, bounds));
        Ok(self.levels.len() - 1)
    }

    /// The leaf partition of `top` (a partitioned table) a row (in
    /// `top`'s layout, without system columns) goes to: an index into
    /// `top.children`; 23514 when none takes it.
    pub(crate) fn route(
        &mut self,
        host: &mut dyn Host,
        top: &Relation,
        row: &[Value],
    ) -> Result<usize, PgError> {
        let mut at: Option<usize> = None;
        loop {
            let (rel, local): (&Relation, Vec<Value>) = match at {
                None => (top, row.to_vec()),
                Some(i) => {
                    let c = &top.children[i];
                    let mut r = vec![Value::Null; c.rel.columns.len()];
                    for (j, &m) in c.map.iter().enumerate() {
                        if let Some(slot) = r.get_mut(m) {
                            *slot = row[j].clone();
                        }
                    }
                    (&c.rel, r)
                }
            };
            if rel.relkind != b'p' {
                return at.ok_or_else(|| {
                    PgError::error(sqlstate::INTERNAL_ERROR, "routing a row of a plain table")
                });
            }
            let li = self.level(host, top, rel)?;
            let key = rel.partkey.clone().unwrap_or_default();
            let k = &self.levels[li].1;
            let vals = k.values(host, &key, &local)?;
            let (_, k, bounds) = &self.levels[li];
            if key.strategy == b'h' && crate::parthash::row_hash(&vals).is_none() {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "hash partitioning on keys of this type is not supported yet",
                ));
            }
            let found = find(&vals, bounds, key.strategy);
            match found {
                Some(i) => at = Some(i),
                None => {
                    let shown: Vec<String> = vals
                        .iter()
                        .map(|v| crate::value::to_text(v).unwrap_or_else(|| "null".into()))
                        .collect();
                    return Err(PgError::error(
                        catalog::codes::CHECK_VIOLATION,
                        format!("no partition of relation \"{}\" found for row", rel.name),
                    )
                    .with_detail(format!(
                        "Partition key of the failing row contains ({}) = ({}).",
                        k.names.join(", "),
                        shown.join(", ")
                    )));
                }
            }
        }
    }
}

fn find(vals: &[Value], bounds: &[(usize, Bound)], strategy: u8) -> Option<usize> {
    let mut default = None;
    for (i, b) in bounds {
        let hit = match b {
            Bound::Default => {
                default = Some(*i);
                false
            }
            Bound::List(list) => {
                let v = &vals[0];
                list.iter().any(|x| {
                    (x.is_null() && v.is_null())
                        || (!x.is_null()
                            && !v.is_null()
                            && crate::value::compare(x, v) == Ordering::Equal)
                })
            }
            Bound::Range(lo, hi) => {
                !vals.iter().any(|v| v.is_null())
                    && key_cmp(vals, lo) != Ordering::Less
                    && key_cmp(vals, hi) == Ordering::Less
            }
            Bound::Hash(m, r) => {
                strategy == b'h' && crate::parthash::row_hash(vals).is_some_and(|h| h % m == *r)
            }
        };
        if hit {
            return Some(*i);
        }
    }
    default
}

/// INSERT (or COPY) of `row` (in `top`'s layout, defaults applied) into
/// partitioned table `top`: routed to its leaf partition and stored
/// there as an insert into that table stores it (its NOT NULL, CHECK
/// and FOREIGN KEYs). The stored row back in `top`'s layout.
pub(crate) fn insert_routed(
    host: &mut dyn Host,
    top: &Relation,
    router: &mut Router,
    pending: &mut crate::fkey::Pending,
    row: Vec<Value>,
) -> Result<Option<Vec<Value>>, PgError> {
    let i = router.route(host, top, &row)?;
    let c = &top.children[i];
    let mut mine = vec![Value::Null; c.rel.columns.len()];
    for (j, &m) in c.map.iter().enumerate() {
        if let Some(slot) = mine.get_mut(m) {
            *slot = row[j].clone();
        }
    }
    let checks = crate::generated::RowChecks::bind(&*host, &c.rel)?;
    let stored = crate::modify::insert_row(host, &c.rel, &checks, &mut None, pending, mine)?;
    Ok(stored.map(|r| c.map.iter().map(|&m| crate::inherit::pick(&r, m)).collect()))
}

/// pg_get_partkeydef(oid): NULL for a relation that is not partitioned.
pub(crate) fn keydef_of(host: &mut dyn Host, oid: u32) -> Result<Value, PgError> {
    let rows = crate::sysinfo::query(
        host,
        "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    let Some(r) = rows.first() else {
        return Ok(Value::Null);
    };
    let (Some(nsp), Some(name)) = (crate::value::to_text(&r[0]), crate::value::to_text(&r[1]))
    else {
        return Ok(Value::Null);
    };
    let Some(rel) = host.lookup_table(Some(&nsp), &name)? else {
        return Ok(Value::Null);
    };
    Ok(match &rel.partkey {
        Some(k) => Value::Text(keydef(k, &rel.columns)),
        None => Value::Null,
    })
}

/// ALTER TABLE ... ATTACH/DETACH PARTITION and INHERIT/NO INHERIT, which
/// sqlparser does not read: taken from the statement's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AlterLink {
    Attach {
        table: (Option<String>, String),
        part: (Option<String>, String),
        bound: String,
    },
    Detach {
        table: (Option<String>, String),
        part: (Option<String>, String),
    },
    Inherit {
        table: (Option<String>, String),
        parent: (Option<String>, String),
        add: bool,
    },
    /// ALTER TABLE [ONLY] t ALTER [COLUMN] c DROP EXPRESSION [IF EXISTS]
    /// (generated.rs; sqlparser has no grammar for it).
    DropExpression {
        table: (Option<String>, String),
        only: bool,
        column: String,
        if_exists: bool,
    },
}

impl AlterLink {
    pub(crate) fn tag(&self) -> &'static str {
        "ALTER TABLE"
    }
}

/// Whether `ALTER TABLE ...` (leading words) is one of [`AlterLink`]'s.
pub(crate) fn is_alter_link(words: &[&str]) -> bool {
    let rest: &[&str] = match words {
        ["ALTER", "TABLE", "IF", "EXISTS", "ONLY", _, rest @ ..] => rest,
        ["ALTER", "TABLE", "IF", "EXISTS", _, rest @ ..] => rest,
        ["ALTER", "TABLE", "ONLY", _, rest @ ..] => rest,
        ["ALTER", "TABLE", _, rest @ ..] => rest,
        _ => return false,
    };
    // A schema-qualified name shows as `s . t` in the words.
    let rest = match rest {
        [".", _, r @ ..] => r,
        r => r,
    };
    matches!(
        rest,
        ["ATTACH", "PARTITION", ..]
            | ["DETACH", "PARTITION", ..]
            | ["INHERIT", ..]
            | ["NO", "INHERIT", ..]
            | ["ALTER", "COLUMN", _, "DROP", "EXPRESSION", ..]
            | ["ALTER", _, "DROP", "EXPRESSION", ..]
    )
}

/// Reads an [`AlterLink`] statement.
pub(crate) fn parse_alter_link(sql: &str) -> Result<AlterLink, PgError> {
    use crate::parse::{peek_word, take_word};
    let syntax = |m: String| PgError::error(sqlstate::SYNTAX_ERROR, m);
    let mut p = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(sql)
        .map_err(|e| syntax(e.to_string()))?;
    let name = |p: &mut sqlparser::parser::Parser| -> Result<(Option<String>, String), PgError> {
        let n = p
            .parse_object_name(false)
            .map_err(|e| syntax(e.to_string()))?;
        crate::utility::qualified_name(&n)
    };
    take_word(&mut p, "ALTER");
    take_word(&mut p, "TABLE");
    if take_word(&mut p, "IF") {
        take_word(&mut p, "EXISTS");
    }
    let only = take_word(&mut p, "ONLY");
    let table = name(&mut p)?;
    let near = |p: &mut sqlparser::parser::Parser| {
        let t = p.peek_token().token;
        syntax(format!("syntax error at or near \"{t}\""))
    };
    match peek_word(&mut p).as_deref() {
        Some("ATTACH") => {
            p.next_token();
            take_word(&mut p, "PARTITION");
            let part = name(&mut p)?;
            // The rest is the bound, as CREATE TABLE ... PARTITION OF has it.
            let at = p.peek_token().span.start;
            let lines: Vec<&str> = sql.split('\n').collect();
            let mut off = 0usize;
            for l in lines.iter().take(at.line.saturating_sub(1) as usize) {
                off += l.chars().count() + 1;
            }
            off += at.column.saturating_sub(1) as usize;
            let bound: String = sql.chars().skip(off).collect();
            let bound = bound.trim().trim_end_matches(';').trim().to_string();
            parse_bound(&bound).map_err(|_| near(&mut p))?;
            Ok(AlterLink::Attach { table, part, bound })
        }
        Some("DETACH") => {
            p.next_token();
            take_word(&mut p, "PARTITION");
            let part = name(&mut p)?;
            if peek_word(&mut p).is_some() {
                return Err(crate::bind::not_supported(
                    "DETACH PARTITION CONCURRENTLY / FINALIZE",
                ));
            }
            Ok(AlterLink::Detach { table, part })
        }
        Some("INHERIT") => {
            p.next_token();
            let parent = name(&mut p)?;
            Ok(AlterLink::Inherit {
                table,
                parent,
                add: true,
            })
        }
        Some("ALTER") => {
            p.next_token();
            take_word(&mut p, "COLUMN");
            let column = p
                .parse_identifier()
                .map(|i| crate::bind::ident_name(&i))
                .map_err(|e| syntax(e.to_string()))?;
            take_word(&mut p, "DROP");
            take_word(&mut p, "EXPRESSION");
            let if_exists = take_word(&mut p, "IF");
            if if_exists && !take_word(&mut p, "EXISTS") {
                return Err(near(&mut p));
            }
            if peek_word(&mut p).is_some() {
                return Err(near(&mut p));
            }
            Ok(AlterLink::DropExpression {
                table,
                only,
                column,
                if_exists,
            })
        }
        Some("NO") => {
            p.next_token();
            take_word(&mut p, "INHERIT");
            let parent = name(&mut p)?;
            Ok(AlterLink::Inherit {
                table,
                parent,
                add: false,
            })
        }
        _ => Err(near(&mut p)),
    }
}

/// Each column of `parent` must be in `child` with its type (42804
/// otherwise, PostgreSQL's MergeAttributesIntoExisting); with
/// `exact`, `child` may have no others (ATTACH PARTITION).
fn check_columns(parent: &Relation, child: &Relation, exact: bool) -> Result<(), PgError> {
    let mismatch = |m: String| PgError::error(catalog::codes::DATATYPE_MISMATCH, m);
    if exact {
        if let Some(c) = child
            .columns
            .iter()
            .find(|c| !parent.columns.iter().any(|p| p.name == c.name))
        {
            return Err(mismatch(format!(
                "table \"{}\" contains column \"{}\" not found in parent \"{}\"",
                child.name, c.name, parent.name
            ))
            .with_detail("The new partition may contain only the columns present in parent."));
        }
    }
    for pc in &parent.columns {
        match child.columns.iter().find(|c| c.name == pc.name) {
            None => {
                return Err(mismatch(format!(
                    "child table is missing column \"{}\"",
                    pc.name
                )))
            }
            Some(c) if c.ty != pc.ty || c.domain != pc.domain => {
                return Err(mismatch(format!(
                    "child table \"{}\" has different type for column \"{}\"",
                    child.name, pc.name
                )))
            }
            Some(c) if pc.generated.is_some() && c.generated.is_none() => {
                return Err(mismatch(format!(
                    "column \"{}\" in child table must be a generated column",
                    pc.name
                )))
            }
            Some(c) if pc.generated.is_some() && c.generated != pc.generated => {
                return Err(mismatch(format!(
                    "column \"{}\" in child table has a conflicting generation expression",
                    pc.name
                )))
            }
            Some(c) if pc.not_null && !c.not_null => {
                return Err(PgError::error(
                    sqlstate::SqlState::new("42804"),
                    format!(
                        "column \"{}\" in child table must be marked NOT NULL",
                        pc.name
                    ),
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Carries out an [`AlterLink`].
pub(crate) fn execute(host: &mut dyn Host, cmd: &AlterLink) -> Result<(), PgError> {
    let table_oid = |r: &Relation| r.table().map(|t| t.oid);
    match cmd {
        AlterLink::DropExpression {
            table,
            only,
            column,
            if_exists,
        } => crate::generated::drop_expression(host, table, *only, column, *if_exists),
        AlterLink::Attach { table, part, bound } => {
            let parent = catalog::lookup(&*host, table.0.as_deref(), &table.1)?;
            let child = catalog::lookup(&*host, part.0.as_deref(), &part.1)?;
            if parent.partkey.is_none() {
                return Err(PgError::error(
                    catalog::codes::WRONG_OBJECT_TYPE,
                    format!("table \"{}\" is not partitioned", parent.name),
                ));
            }
            if child.partbound.is_some() {
                return Err(PgError::error(
                    sqlstate::SqlState::new("42P17"),
                    format!("\"{}\" is already a partition", child.name),
                ));
            }
            check_columns(&parent, &child, true)?;
            let fv = parse_bound(bound)?;
            let text = check_new_partition(host, &parent, &child.name, &fv)?;
            // Every row already in the table must belong to the bound.
            let key = parent.partkey.clone().unwrap_or_default();
            let k = key_info(&*host, &parent, &key)?;
            let b = bound_of(host, &fv, &k)?;
            let cols: Vec<String> = parent
                .columns
                .iter()
                .map(|c| crate::utility::quote_identifier(&c.name))
                .collect();
            let sql = format!(
                "SELECT {} FROM ONLY {}.{}",
                cols.join(", "),
                crate::utility::quote_identifier(&child.schema),
                crate::utility::quote_identifier(&child.name)
            );
            let rows = crate::sysinfo::query(host, &sql, &[], Vec::new())?;
            for r in rows {
                let vals = k.values(host, &key, &r)?;
                if b != Bound::Default && find(&vals, &[(0, b.clone())], key.strategy).is_none() {
                    return Err(PgError::error(
                        catalog::codes::CHECK_VIOLATION,
                        format!(
                            "partition constraint of relation \"{}\" is violated by some row",
                            child.name
                        ),
                    ));
                }
            }
            let (me, up) = (table_oid(&child)?, table_oid(&parent)?);
            host.tables()?.set_inheritance(me, &[up])?;
            host.tables()?.set_partition_bound(me, Some(&text))
        }
        AlterLink::Detach { table, part } => {
            let parent = catalog::lookup(&*host, table.0.as_deref(), &table.1)?;
            let child = catalog::lookup(&*host, part.0.as_deref(), &part.1)?;
            if !direct(&parent.children, &parent.name).any(|c| c.rel.source == child.source)
                || child.partbound.is_none()
            {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_TABLE,
                    format!(
                        "relation \"{}\" is not a partition of relation \"{}\"",
                        child.name, parent.name
                    ),
                ));
            }
            let (me, up) = (table_oid(&child)?, table_oid(&parent)?);
            host.tables()?.remove_inheritance(me, up)?;
            host.tables()?.set_partition_bound(me, None)
        }
        AlterLink::Inherit { table, parent, add } => {
            let child = catalog::lookup(&*host, table.0.as_deref(), &table.1)?;
            let parent = catalog::lookup(&*host, parent.0.as_deref(), &parent.1)?;
            let (me, up) = (table_oid(&child)?, table_oid(&parent)?);
            let is_child =
                direct(&parent.children, &parent.name).any(|c| c.rel.source == child.source);
            if *add {
                if parent.relkind == b'p' {
                    return Err(PgError::error(
                        catalog::codes::WRONG_OBJECT_TYPE,
                        "cannot change inheritance of a partitioned table",
                    ));
                }
                if me == up || child.children.iter().any(|c| c.rel.source == parent.source) {
                    return Err(PgError::error(
                        catalog::codes::DUPLICATE_TABLE,
                        "circular inheritance not allowed",
                    )
                    .with_detail(format!(
                        "\"{}\" is already a child of \"{}\".",
                        parent.name, child.name
                    )));
                }
                if is_child {
                    return Err(PgError::error(
                        catalog::codes::DUPLICATE_TABLE,
                        format!(
                            "relation \"{}\" would be inherited from more than once",
                            parent.name
                        ),
                    ));
                }
                check_columns(&parent, &child, false)?;
                host.tables()?.set_inheritance(me, &[up])
            } else {
                if !is_child {
                    return Err(PgError::error(
                        sqlstate::UNDEFINED_TABLE,
                        format!(
                            "relation \"{}\" is not a parent of relation \"{}\"",
                            parent.name, child.name
                        ),
                    ));
                }
                host.tables()?.remove_inheritance(me, up)
            }
        }
    }
}

/// The relation with OID `oid`, looked up by its name.
pub(crate) fn relation_by_oid(host: &mut dyn Host, oid: u32) -> Result<Option<Relation>, PgError> {
    let rows = crate::sysinfo::query(
        host,
        "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let (Some(nsp), Some(name)) = (crate::value::to_text(&r[0]), crate::value::to_text(&r[1]))
    else {
        return Ok(None);
    };
    host.lookup_table(Some(&nsp), &name)
}

/// A bound constant as PostgreSQL deparses it with its type shown.
fn typed_const(host: &mut dyn Host, v: &Value, ty: Ty) -> Result<String, PgError> {
    let text = crate::value::to_text(v).unwrap_or_default();
    let quoted = format!("'{}'", text.replace('\'', "''"));
    Ok(match v {
        Value::Int4(x) if *x >= 0 => text,
        Value::Bool(b) => (if *b { "true" } else { "false" }).into(),
        Value::Numeric(_) if text.contains('.') && !text.starts_with('-') => text,
        Value::Numeric(_) if !text.starts_with('-') => format!("{text}::numeric"),
        _ => format!(
            "{quoted}::{}",
            crate::sysinfo::format_type(host, ty.oid, Some(ty.typmod))?
        ),
    })
}

/// pg_get_partition_constraintdef(oid): the implicit constraint of a
/// partition of a table partitioned on columns, for single-column range,
/// list (without NULL) and hash bounds; NULL otherwise (not yet).
pub(crate) fn constraintdef_of(host: &mut dyn Host, oid: u32) -> Result<Value, PgError> {
    let Some(rel) = relation_by_oid(host, oid)? else {
        return Ok(Value::Null);
    };
    let Some(text) = rel.partbound.clone() else {
        return Ok(Value::Null);
    };
    let rows = crate::sysinfo::query(
        host,
        "SELECT inhparent FROM pg_catalog.pg_inherits WHERE inhrelid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    let Some(Value::Oid(parent_oid)) = rows.first().and_then(|r| r.first()).cloned() else {
        return Ok(Value::Null);
    };
    let Some(parent) = relation_by_oid(host, parent_oid)? else {
        return Ok(Value::Null);
    };
    let Some(key) = parent.partkey.clone() else {
        return Ok(Value::Null);
    };
    let mut names = Vec::new();
    for k in &key.keys {
        match k {
            PartKeyCol::Column(i) => names.push(
                parent
                    .columns
                    .get(*i)
                    .map(|c| crate::utility::quote_identifier(&c.name))
                    .unwrap_or_default(),
            ),
            PartKeyCol::Expr(_) => return Ok(Value::Null),
        }
    }
    let k = key_info(&*host, &parent, &key)?;
    let b = bound_of(host, &parse_bound(&text)?, &k)?;
    let out = match (&b, names.as_slice()) {
        (Bound::Hash(m, r), _) => format!(
            "satisfies_hash_partition('{parent_oid}'::oid, {m}, {r}, {})",
            names.join(", ")
        ),
        (Bound::Range(lo, hi), [a]) => {
            let mut parts = vec![format!("({a} IS NOT NULL)")];
            if let Some(RVal::Val(v)) = lo.first() {
                parts.push(format!("({a} >= {})", typed_const(host, v, k.types[0])?));
            }
            if let Some(RVal::Val(v)) = hi.first() {
                parts.push(format!("({a} < {})", typed_const(host, v, k.types[0])?));
            }
            format!("({})", parts.join(" AND "))
        }
        (Bound::List(vals), [a]) if !vals.is_empty() && !vals.iter().any(Value::is_null) => {
            let consts = vals
                .iter()
                .map(|v| typed_const(host, v, k.types[0]))
                .collect::<Result<Vec<_>, _>>()?;
            if consts.len() == 1 {
                format!("(({a} IS NOT NULL) AND ({a} = {}))", consts[0])
            } else {
                format!(
                    "(({a} IS NOT NULL) AND ({a} = ANY (ARRAY[{}])))",
                    consts.join(", ")
                )
            }
        }
        _ => return Ok(Value::Null),
    };
    Ok(Value::Text(out))
}

/// The bound of a partition written directly (INSERT into the
/// partition itself), checked as PostgreSQL's ExecPartitionCheck: the
/// row in its parent's layout must fall within the bound (the parent's
/// own bound, for a sub-partition, is not checked yet).
pub(crate) struct PartCheck {
    key: PartKey,
    info: KeyInfo,
    bound: Bound,
    /// For each parent column, its position in the partition.
    map: Vec<usize>,
}

impl PartCheck {
    pub(crate) fn load(host: &mut dyn Host, rel: &Relation) -> Result<Option<PartCheck>, PgError> {
        let (Some(text), Ok(t)) = (rel.partbound.clone(), rel.table()) else {
            return Ok(None);
        };
        let rows = crate::sysinfo::query(
            host,
            "SELECT inhparent FROM pg_catalog.pg_inherits WHERE inhrelid = $1",
            &[types::OID],
            vec![Value::Oid(t.oid)],
        )?;
        let Some(Value::Oid(parent_oid)) = rows.first().and_then(|r| r.first()).cloned() else {
            return Ok(None);
        };
        let Some(mut parent) = relation_by_oid(host, parent_oid)? else {
            return Ok(None);
        };
        parent.children.clear();
        let Some(key) = parent.partkey.as_deref().cloned() else {
            return Ok(None);
        };
        let info = key_info(&*host, &parent, &key)?;
        let bound = bound_of(host, &parse_bound(&text)?, &info)?;
        let map = parent
            .columns
            .iter()
            .map(|pc| {
                rel.columns
                    .iter()
                    .position(|c| c.name == pc.name)
                    .unwrap_or(catalog::INHERIT_ABSENT)
            })
            .collect();
        Ok(Some(PartCheck {
            key,
            info,
            bound,
            map,
        }))
    }

    /// 23514 when `row` (of `rel`, the partition) is outside the bound.
    pub(crate) fn check(
        &self,
        host: &mut dyn Host,
        rel: &Relation,
        row: &[Value],
    ) -> Result<(), PgError> {
        let up: Vec<Value> = self
            .map
            .iter()
            .map(|&i| crate::inherit::pick(row, i))
            .collect();
        let padded = crate::bind::rowexpr::pad_row(&up, 0);
        let mut vals = Vec::new();
        for (item, e) in self.key.keys.iter().zip(&self.info.exprs) {
            vals.push(match (item, e) {
                (PartKeyCol::Column(i), _) => up.get(*i).cloned().unwrap_or(Value::Null),
                (_, Some(e)) => {
                    let mut cx = Ctx { host, params: &[] };
                    e.eval(&padded, &mut cx)?
                }
                _ => Value::Null,
            });
        }
        let fits = match &self.bound {
            // The default partition takes what no sibling does (not
            // checked yet).
            Bound::Default => true,
            b => find(&vals, &[(0, b.clone())], self.key.strategy).is_some(),
        };
        if fits {
            return Ok(());
        }
        Err(PgError::error(
            catalog::codes::CHECK_VIOLATION,
            format!(
                "new row for relation \"{}\" violates partition constraint",
                rel.name
            ),
        )
        .with_detail(format!(
            "Failing row contains {}.",
            crate::modify::describe_row(row)
        )))
    }
}
