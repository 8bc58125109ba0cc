//! B-tree indexes of stored tables in a backend: their catalog rows (pg_class relkind 'i', pg_index, pg_attribute, pg_constraint), CREATE/DROP/REINDEX with a sorted build, index entries for every new heap tuple with the unique check, and index scans as row sources.
//!
//! Why this shape:
//! - **The storage-level tree is nbtree.rs**; this file only maps the
//!   catalog to `BtreeRel`s and the SQL layer's requests to calls on them.
//! - **A per-backend index list per table**, cached for one catalog
//!   generation like the relation cache (tables.rs): index maintenance runs
//!   for every inserted row and must not scan pg_index each time. A
//!   transaction that changed the catalog reads it fresh and drops the
//!   cache when it ends.
//! - **HOT as PostgreSQL**: an UPDATE that changes no indexed column may
//!   put the new version on the same page as a heap-only tuple and add no
//!   index entry; an entry then names the root of a chain (CREATE INDEX
//!   too indexes a heap-only version under its root, `heapam::hot_roots`),
//!   and scans and the unique check walk the in-page HOT chain under one
//!   page lock (`HeapRel::hot_search`, PostgreSQL's heap_hot_search_buffer)
//!   to the version they need: a walk that let go of the lock between
//!   members could be cut short by pruning and miss the row. An update
//!   that changes a key, or moves to another page, adds entries in every
//!   index, so no index user follows a link off the page.
//! - **VACUUM removes an entry before it frees the entry's line pointer**
//!   (tables/vacuum.rs's `TableIndexes`), but until then an entry may name
//!   a dead tuple, and a scan's copy of a leaf may name a TID freed and
//!   reused before the scan reaches it. So every use of an entry re-checks
//!   the heap tuple: a scan
//!   fetches it with its snapshot, compares the tuple's key columns with
//!   the entry's key (a recycled TID holding another key is skipped) and
//!   returns a TID once; the unique check does the same comparison before
//!   it calls an equal key a conflict.
//! - **Index scans read entries a batch at a time** (up to 512, ending on a
//!   key boundary, then the heap tuples one at a time; the next batch
//!   starts after the last key): no index page is held between rows, and
//!   ORDER BY ... LIMIT reads only the start of the index. An UPDATE
//!   through an index may meet the entries of its own new versions in a
//!   later batch; its snapshot's command id hides those versions.
//!
//! Everything here runs in the backend that owns the session.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use tusk_common::{sqlstate, PgError};
use tusk_sql::catalog::{codes, Relation, TableRef};
use tusk_sql::index::{IndexKeyer, IndexSpec, QualOp, ScanQual, NO_COLUMN};
use tusk_sql::types::{self, Oid};
use tusk_sql::{Row, RowSource, Value};
use tusk_storage::catalog::{
    self as cat, PG_ATTRIBUTE_OID, PG_CLASS_OID, PG_CONSTRAINT_OID, PG_INDEX_OID,
};
use tusk_storage::datum;
use tusk_storage::heapam::{self, HeapRel, HtsvResult};
use tusk_storage::heaptuple::{self, ItemPointer};
use tusk_storage::heapwal::XlogHeapWal;
use tusk_storage::lmgr::LockMode;
use tusk_storage::lwlock::LwMode;
use tusk_storage::nbtree::{self, BtreeRel, HeapCheck, InsertOutcome, KeyColumn, KeyType};
use tusk_storage::page::{self, LP_NORMAL};
use tusk_storage::smgr::{Fork, RelFileLocator, DEFAULTTABLESPACE_OID};
use tusk_storage::snapshot::Snapshot;
use tusk_storage::xact::{Release, ResourceOwner};

use super::{
    locator, name_of, nblocks, oid_of, with_system_columns, SeeAll, Session, Store, TableCtx, Vis,
};
use crate::backend::Engine;

/// pg_am.oid of btree.
const BTREE_AM_OID: u32 = 403;
/// pg_index.indoption bits.
const INDOPTION_DESC: i16 = 1;
const INDOPTION_NULLS_FIRST: i16 = 2;

/// An index of a table, as pg_class and pg_index describe it.
#[derive(Debug, Clone)]
pub(in crate::backend) struct IndexInfo {
    pub oid: u32,
    pub name: String,
    pub relfilenode: u32,
    /// The key columns: positions in the table's row (0-based), or
    /// [`NO_COLUMN`] for an expression.
    pub cols: Vec<usize>,
    pub unique: bool,
    pub primary: bool,
    /// The expressions of the [`NO_COLUMN`] keys in order, as stored
    /// (pg_index.indexprs, deparsed text).
    pub exprs: Vec<String>,
    /// Their types (the index's pg_attribute.atttypid).
    pub expr_types: Vec<Oid>,
    /// A partial index's predicate (pg_index.indpred, deparsed text).
    pub pred: Option<String>,
    /// UNIQUE NULLS NOT DISTINCT (pg_index.indnullsnotdistinct).
    pub nulls_not_distinct: bool,
    /// The expressions and predicate bound, once a key was computed
    /// (shared by the clones of one cached entry).
    keyer: Rc<std::cell::OnceCell<IndexKeyer>>,
}

impl IndexInfo {
    /// Keys computed by expressions or filtered by a predicate (not
    /// copied from the row's columns).
    fn computed(&self) -> bool {
        !self.exprs.is_empty() || self.pred.is_some()
    }

    /// Could a scan with `quals` use this index: a partial index only
    /// when its predicate is implied (tusk_sql::index::predicate_implied).
    fn usable(&self, rel: &Relation, quals: &[ScanQual]) -> bool {
        let Some(p) = &self.pred else {
            return true;
        };
        let names: Vec<String> = rel.columns.iter().map(|c| c.name.clone()).collect();
        tusk_sql::index::predicate_implied(p, quals, &names)
    }

    /// The stored expression of key position `k` (a [`NO_COLUMN`] one).
    fn expr_at(&self, k: usize) -> Option<&str> {
        let n = self.cols[..k].iter().filter(|&&c| c == NO_COLUMN).count();
        self.exprs.get(n).map(String::as_str)
    }

    /// Does `q` bound key position `k`?
    fn qual_fits(&self, q: &ScanQual, k: usize) -> bool {
        if q.op == QualOp::Holds {
            return false;
        }
        match self.cols[k] {
            NO_COLUMN => {
                q.col == NO_COLUMN && q.expr.is_some() && q.expr.as_deref() == self.expr_at(k)
            }
            c => q.col == c && q.expr.is_none(),
        }
    }
}

/// A table's cached index list: the catalog generation and (while the
/// transaction has changed the catalog) the command it was read in.
type CachedIndexes = (u64, Option<u32>, Vec<IndexInfo>);

thread_local! {
    /// Indexes per table OID, with the catalog generation they were read
    /// at (see the file comment).
    static CACHE: RefCell<tusk_common::fasthash::FastMap<u32, CachedIndexes>> = RefCell::new(Default::default());
}

/// Forgets every cached index list (a transaction that changed the
/// catalog ended).
pub(super) fn forget_cache() {
    CACHE.with(|c| c.borrow_mut().clear());
}

/// The B-tree key type of a column type, or None when tusk has no
/// comparator for it.
fn key_type(oid: Oid) -> Option<KeyType> {
    Some(match oid {
        types::BOOL => KeyType::Bool,
        types::INT2 => KeyType::Int2,
        types::INT4 => KeyType::Int4,
        types::INT8 => KeyType::Int8,
        types::OID => KeyType::Oid,
        types::FLOAT4 => KeyType::Float4,
        types::FLOAT8 => KeyType::Float8,
        types::DATE => KeyType::Date,
        types::TIMESTAMP => KeyType::Timestamp,
        types::TIMESTAMPTZ => KeyType::TimestampTz,
        types::TEXT | types::VARCHAR | types::BPCHAR => KeyType::Text,
        types::NUMERIC => KeyType::Numeric,
        o if tusk_sql::usertype::reg::is_enum(o) => KeyType::Enum(o),
        types::UUID => KeyType::Uuid,
        types::MONEY => KeyType::Money,
        types::BIT | types::VARBIT => KeyType::Bits,
        o if tusk_sql::range::is_range(o) || tusk_sql::range::is_multirange(o) => KeyType::Range(o),
        _ => return None,
    })
}

/// PostgreSQL's default btree operator class of a type (pg_index.indclass).
fn opclass(oid: Oid) -> u32 {
    match oid {
        types::BOOL => 424,
        types::INT2 => 1979,
        types::INT4 => 1978,
        types::INT8 => 3124,
        types::OID => 1981,
        types::FLOAT4 => 1970,
        types::FLOAT8 => 1971,
        types::DATE => 3122,
        types::TIMESTAMP => 3128,
        types::TIMESTAMPTZ => 3127,
        types::TEXT | types::VARCHAR => 3126,
        types::BPCHAR => 426,
        types::NUMERIC => 3125,
        // enum_ops
        o if tusk_sql::usertype::reg::is_enum(o) => 10069,
        // uuid_ops, money_ops, bit_ops, varbit_ops.
        types::UUID => 10065,
        types::MONEY => 10047,
        types::BIT => 10002,
        types::VARBIT => 10043,
        // range_ops, multirange_ops.
        o if tusk_sql::range::is_range(o) => 10076,
        o if tusk_sql::range::is_multirange(o) => 10080,
        _ => 0,
    }
}

fn key_columns(rel: &Relation, idx: &IndexInfo) -> Result<Vec<KeyColumn>, PgError> {
    let mut exprs = idx.expr_types.iter();
    let mut key_exprs = idx.exprs.iter().cloned();
    idx.cols
        .iter()
        .map(|&c| {
            if c == NO_COLUMN {
                let ty = exprs.next().copied().unwrap_or(types::TEXT);
                let k = key_exprs.next().unwrap_or_default();
                return Ok(KeyColumn {
                    // As the 23505 DETAIL names it: `lower(email)`,
                    // `(a + b)`.
                    name: if tusk_sql::index::looks_like_function(&k) {
                        k
                    } else {
                        format!("({k})")
                    },
                    ty: key_type(ty).ok_or_else(|| no_index_type(ty))?,
                });
            }
            let col = &rel.columns[c];
            Ok(KeyColumn {
                name: col.name.clone(),
                ty: key_type(col.ty.oid).ok_or_else(|| no_index_type(col.ty.oid))?,
            })
        })
        .collect()
}

fn no_index_type(oid: Oid) -> PgError {
    // The geometric types have no btree operator class at all (GiST's
    // are not built yet).
    if tusk_sql::geo::is_geo(oid) {
        return PgError::error(
            sqlstate::UNDEFINED_OBJECT,
            format!(
                "data type {} has no default operator class for access method \"btree\"",
                types::sql_name(oid)
            ),
        )
        .with_hint("You must specify an operator class for the index or define a default operator class for the data type.");
    }
    PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!(
            "indexes on columns of type {} are not supported yet",
            types::sql_name(oid)
        ),
    )
}

pub(super) fn index_locator(db: u32, relfilenode: u32) -> RelFileLocator {
    RelFileLocator {
        spc: DEFAULTTABLESPACE_OID,
        db,
        rel: relfilenode,
    }
}

/// PostgreSQL's ChooseIndexColumnNames: each index column's name, one
/// already taken numbered 1, 2, ... (`c1` again is `c11`).
fn index_column_names(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let mut cur = name.clone();
        let mut i = 1;
        while out.contains(&cur) {
            cur = format!("{name}{i}");
            i += 1;
        }
        out.push(cur);
    }
    out
}

/// The key of `row` (the table's columns) for index `idx`.
fn key_of(row: &[Value], idx: &IndexInfo) -> Vec<Value> {
    key_of_cols(row, &idx.cols)
}

fn key_of_cols(row: &[Value], cols: &[usize]) -> Vec<Value> {
    cols.iter()
        .map(|&c| row.get(c).cloned().unwrap_or(Value::Null))
        .collect()
}

/// Equal keys by the B-tree's own order (numeric 1.0 = 1, as the tree
/// compares them).
fn same_key(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| tusk_sql::value::compare(x, y) == std::cmp::Ordering::Equal)
}

/// The heap tuple at `tid` whatever its visibility, or None.
fn raw_tuple(heap: &HeapRel<'_>, tid: ItemPointer) -> Result<Option<Vec<u8>>, PgError> {
    let mut owner = ResourceOwner::default();
    let r = heap.fetch(&mut owner, &SeeAll, tid);
    owner.release_all(Release::Abort);
    r
}

/// The unique check's view of the heap (PostgreSQL's SnapshotDirty):
/// is the tuple an equal entry names alive, dead, or in the hands of a
/// running transaction?
struct Checker<'a> {
    heap: &'a HeapRel<'a>,
    vis: &'a Vis<'a>,
    current: &'a [u64],
    /// Stored column types (dropped columns included) and the table that
    /// maps a stored row to its live columns.
    types: &'a [Oid],
    rel: &'a Relation,
    idx: &'a IndexInfo,
    key: &'a [Value],
    /// The heap tuple the entry is being made for.
    inserting: ItemPointer,
}

impl nbtree::UniqueCheck for Checker<'_> {
    /// The entry's update chain (its HOT versions share the entry): a live
    /// or running version with the key decides; none is no conflict. The
    /// tuple being inserted is not a conflict with itself.
    /// Walked under one page lock (`HeapRel::hot_search`): a version
    /// moved to another page by a non-HOT update has an entry of its own,
    /// which the check visits too.
    fn check(&self, tid: ItemPointer) -> Result<HeapCheck, PgError> {
        let mut owner = ResourceOwner::default();
        let r = self.heap.hot_search(&mut owner, tid, &mut |m, t| {
            if m == self.inserting {
                return Ok(None);
            }
            Ok(match self.check_one(t)? {
                HeapCheck::Dead => None,
                other => Some(other),
            })
        });
        owner.release_all(Release::Abort);
        Ok(r?.map_or(HeapCheck::Dead, |(_, c)| c))
    }
}

impl Checker<'_> {
    fn check_one(&self, t: &[u8]) -> Result<HeapCheck, PgError> {
        // A line pointer recycled for a row with another key, or a version
        // whose key changed: not this key (see the file comment).
        // (An expression index's key is not recomputed here: its HOT
        // chains share keys as a column index's do, key_changed.)
        let row = self.rel.from_physical(datum::deform_row(t, self.types)?);
        if self.idx.exprs.is_empty() && !same_key(&key_of(&row, self.idx), self.key) {
            return Ok(HeapCheck::Dead);
        }
        let mine = |x: u64| self.current.contains(&x);
        Ok(match heapam::Visibility::satisfies_vacuum(self.vis, t) {
            HtsvResult::Dead | HtsvResult::RecentlyDead => HeapCheck::Dead,
            HtsvResult::Live => HeapCheck::Live,
            HtsvResult::InsertInProgress => {
                let x = heaptuple::xmin(t);
                if mine(x) {
                    // Our own row, unless we deleted it again.
                    let xmax_valid = heaptuple::infomask(t) & heaptuple::HEAP_XMAX_INVALID == 0;
                    if xmax_valid && mine(heaptuple::xmax(t)) {
                        HeapCheck::Dead
                    } else {
                        HeapCheck::Live
                    }
                } else {
                    HeapCheck::InProgress(x)
                }
            }
            HtsvResult::DeleteInProgress => {
                let x = heaptuple::xmax(t);
                if mine(x) {
                    HeapCheck::Dead
                } else {
                    HeapCheck::InProgress(x)
                }
            }
        })
    }
}

impl Session {
    /// The indexes of table `t`, from the cache when it is valid.
    pub(in crate::backend) fn indexes_of(&self, t: TableRef) -> Result<Vec<IndexInfo>, PgError> {
        if t.oid < cat::FIRST_NORMAL_OBJECT_ID {
            return Ok(Vec::new());
        }
        self.cached_indexes(t, true).map(Option::unwrap_or_default)
    }

    /// Loads `t`'s indexes into the cache if they are not there, without
    /// copying the list out (each lookup of a table does this).
    pub(in crate::backend) fn warm_indexes(&self, t: TableRef) -> Result<(), PgError> {
        if t.oid < cat::FIRST_NORMAL_OBJECT_ID {
            return Ok(());
        }
        self.cached_indexes(t, false).map(drop)
    }

    /// The cached list (copied out when `copy`), read from the catalog on a miss.
    fn cached_indexes(&self, t: TableRef, copy: bool) -> Result<Option<Vec<IndexInfo>>, PgError> {
        let generation = self.catalog_generation();
        // While this transaction has changed the catalog, a list is good
        // for the command that read it only (a later command may see
        // rows this one did not); every catalog write drops them all
        // (forget_cache). Without that, a bulk load after TRUNCATE in one
        // transaction (pgbench -i) read pg_index for every row.
        let valid = self.catalog_changed.then(|| self.xact.command_id());
        if let Some(v) = CACHE.with(|c| {
            c.borrow()
                .get(&t.oid)
                .filter(|e| e.0 == generation && e.1 == valid)
                .map(|e| copy.then(|| e.2.clone()))
        }) {
            return Ok(v);
        }
        let list = self.read_indexes(t.oid)?;
        CACHE.with(|c| {
            c.borrow_mut()
                .insert(t.oid, (generation, valid, list.clone()))
        });
        Ok(copy.then_some(list))
    }

    /// 0-based physical positions of `table`'s dropped columns
    /// (pg_attribute.attisdropped): index keys are stored as physical
    /// attnums, as PostgreSQL's indkey, while rows reach the index code
    /// with live columns only.
    fn dropped_positions(&self, table: u32) -> Result<Vec<usize>, PgError> {
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        let mut v: Vec<usize> = self
            .catalog_rows_by(PG_ATTRIBUTE_OID, "attrelid", Value::Oid(table))?
            .into_iter()
            .filter(|(_, r)| {
                oid_of(&r[a.col("attrelid")]) == table
                    && r[a.col("attisdropped")] == Value::Bool(true)
            })
            .filter_map(|(_, r)| match r[a.col("attnum")] {
                Value::Int2(n) if n > 0 => Some(n as usize - 1),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        Ok(v)
    }

    pub(super) fn read_indexes(&self, table: u32) -> Result<Vec<IndexInfo>, PgError> {
        let x = cat::catalog(PG_INDEX_OID);
        let rows: Vec<Vec<Value>> = self
            .catalog_rows_by(PG_INDEX_OID, "indrelid", Value::Oid(table))?
            .into_iter()
            .map(|(_, r)| r)
            .filter(|r| oid_of(&r[x.col("indrelid")]) == table)
            .collect();
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let c = cat::catalog(PG_CLASS_OID);
        let mut classes = Vec::new();
        for r in &rows {
            let oid = oid_of(&r[x.col("indexrelid")]);
            classes.extend(self.catalog_rows_by(PG_CLASS_OID, "oid", Value::Oid(oid))?);
        }
        let dropped = self.dropped_positions(table)?;
        let mut out = Vec::new();
        for r in rows {
            let oid = oid_of(&r[x.col("indexrelid")]);
            let Some((_, class)) = classes
                .iter()
                .find(|(_, k)| oid_of(&k[c.col("oid")]) == oid)
            else {
                continue;
            };
            // Physical attnums to live-column positions; an index on a
            // dropped column is unusable (PostgreSQL drops it with the
            // column) and is left out rather than read with wrong keys.
            let physical: Vec<usize> = name_of(&r[x.col("indkey")])
                .split_whitespace()
                .filter_map(|n| n.parse::<usize>().ok())
                .map(|n| n.checked_sub(1).unwrap_or(NO_COLUMN))
                .collect();
            if physical.iter().any(|p| dropped.contains(p)) {
                continue;
            }
            // The key columns only: INCLUDE columns follow them in indkey
            // and are not in the tree.
            let nkey = match r[x.col("indnkeyatts")] {
                Value::Int2(n) if n >= 0 => n as usize,
                _ => physical.len(),
            };
            let physical = &physical[..nkey.min(physical.len())];
            let cols: Vec<usize> = physical
                .iter()
                .map(|&p| {
                    if p == NO_COLUMN {
                        p
                    } else {
                        p - dropped.iter().filter(|&&d| d < p).count()
                    }
                })
                .collect();
            let text = |v: &Value| match v {
                Value::Null => None,
                v => Some(name_of(v).to_string()),
            };
            let exprs = text(&r[x.col("indexprs")])
                .map(|e| tusk_sql::index::stored_exprs(&e))
                .unwrap_or_default();
            let mut expr_types = Vec::new();
            if !exprs.is_empty() {
                let a = cat::catalog(PG_ATTRIBUTE_OID);
                let attrs = self.catalog_rows_by(PG_ATTRIBUTE_OID, "attrelid", Value::Oid(oid))?;
                for (k, _) in cols.iter().enumerate().filter(|(_, &c)| c == NO_COLUMN) {
                    let ty = attrs
                        .iter()
                        .find(|(_, a2)| {
                            oid_of(&a2[a.col("attrelid")]) == oid
                                && a2[a.col("attnum")] == Value::Int2(k as i16 + 1)
                        })
                        .map_or(types::TEXT, |(_, a2)| oid_of(&a2[a.col("atttypid")]));
                    expr_types.push(ty);
                }
            }
            out.push(IndexInfo {
                oid,
                name: name_of(&class[c.col("relname")]).to_string(),
                relfilenode: oid_of(&class[c.col("relfilenode")]),
                cols,
                unique: r[x.col("indisunique")] == Value::Bool(true),
                primary: r[x.col("indisprimary")] == Value::Bool(true),
                exprs,
                expr_types,
                pred: text(&r[x.col("indpred")]),
                nulls_not_distinct: r[x.col("indnullsnotdistinct")] == Value::Bool(true),
                keyer: Rc::default(),
            });
        }
        out.sort_by_key(|i| i.oid);
        Ok(out)
    }

    /// Runs `f` with a `BtreeRel` on index `idx` of `rel`.
    fn with_btree<R>(
        &self,
        rel: &Relation,
        idx: &IndexInfo,
        f: impl FnOnce(&BtreeRel<'_>, &mut ResourceOwner) -> Result<R, PgError>,
    ) -> Result<R, PgError> {
        let (store, engine) = self.table_parts()?;
        let wal = XlogHeapWal(&engine.xlog);
        let cols = key_columns(rel, idx)?;
        let mut bt = BtreeRel::new(
            index_locator(store.db, idx.relfilenode),
            idx.name.clone(),
            cols,
            idx.unique,
            &store.bm,
            &wal,
            &store.ext,
        );
        bt.nulls_not_distinct = idx.nulls_not_distinct;
        let mut owner = ResourceOwner::default();
        let r = f(&bt, &mut owner);
        owner.release_all(Release::Abort);
        r
    }

    /// The key of `row` (the table's live columns) in index `idx`, or None
    /// when a partial index does not hold the row. Expressions and the
    /// predicate are bound on first use and kept with the cached entry.
    pub(super) fn index_key(
        &mut self,
        rel: &Relation,
        t: TableRef,
        idx: &IndexInfo,
        row: &[Value],
    ) -> Result<Option<Vec<Value>>, PgError> {
        if !idx.computed() {
            return Ok(Some(key_of(row, idx)));
        }
        if idx.keyer.get().is_none() {
            let cols: Vec<Option<usize>> = idx
                .cols
                .iter()
                .map(|&c| (c != NO_COLUMN).then_some(c))
                .collect();
            let k = IndexKeyer::bind(self, rel, &cols, &idx.exprs, idx.pred.as_deref())?;
            let _ = idx.keyer.set(k);
        }
        let keyer = idx.keyer.get().expect("set above");
        keyer.key(self, row, t.oid)
    }

    /// Index entries for a new heap tuple at `tid` (INSERT, UPDATE's new
    /// version, COPY), in every index of the table; a unique index waits
    /// for a running inserter of an equal key and then checks again
    /// (PostgreSQL's _bt_check_unique + XactLockTableWait).
    pub(super) fn index_insert(
        &mut self,
        rel: &Relation,
        t: TableRef,
        row: &[Value],
        tid: ItemPointer,
    ) -> Result<(), PgError> {
        let indexes = self.indexes_of(t)?;
        if indexes.is_empty() {
            return Ok(());
        }
        let types_ = rel.physical_types();
        for idx in &indexes {
            let Some(key) = self.index_key(rel, t, idx, row)? else {
                continue;
            };
            loop {
                let outcome = {
                    let (store, engine) = self.table_parts()?;
                    let snap = Snapshot::default();
                    // All of this transaction's xids, subtransactions' included:
                    // a key our own savepoint inserted is ours, not a wait.
                    let current = self.xact.current_xids();
                    let wal = XlogHeapWal(&engine.xlog);
                    let heap = HeapRel::new(locator(store.db, t), &store.bm, &wal, &store.ext);
                    let vis = Vis::new(&engine, &store, &snap, &current);
                    let check = Checker {
                        heap: &heap,
                        vis: &vis,
                        current: &current,
                        types: &types_,
                        rel,
                        idx,
                        key: &key,
                        inserting: tid,
                    };
                    let r = self.with_btree(rel, idx, |bt, owner| {
                        bt.insert(owner, &key, tid, Some(&check))
                    });
                    vis.check()?;
                    r?
                };
                match outcome {
                    InsertOutcome::Inserted => break,
                    InsertOutcome::WaitFor(xid) => self.wait_for_xid(xid)?,
                }
            }
        }
        Ok(())
    }

    /// Would replacing the tuple at `tid` by `row` change a key of one of
    /// `indexes`? (No: the update may be HOT and add no entries.)
    pub(super) fn key_changed(
        &mut self,
        rel: &Relation,
        t: TableRef,
        indexes: &[IndexInfo],
        tid: ItemPointer,
        row: &[Value],
    ) -> Result<bool, PgError> {
        let (store, engine) = self.table_parts()?;
        let wal = XlogHeapWal(&engine.xlog);
        let heap = HeapRel::new(locator(store.db, t), &store.bm, &wal, &store.ext);
        let Some(old) = raw_tuple(&heap, tid)? else {
            return Ok(true);
        };
        let types_ = rel.physical_types();
        let old = rel.from_physical(self.deform_detoast(t, &old, &types_)?);
        for i in indexes {
            // A partial index's predicate turning true or false is a
            // change too (the new version needs an entry, or none).
            let changed = match (
                self.index_key(rel, t, i, &old)?,
                self.index_key(rel, t, i, row)?,
            ) {
                (Some(a), Some(b)) => !same_key(&a, &b),
                (None, None) => false,
                _ => true,
            };
            if changed {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The pg_class row of an index or table named `name` in `nsp`.
    fn class_named(
        &self,
        nsp: u32,
        name: &str,
    ) -> Result<Option<(ItemPointer, Vec<Value>)>, PgError> {
        self.find_class(&[nsp], name)
    }

    /// PostgreSQL's ChooseRelationName: `base` cut to fit NAMEDATALEN, then
    /// a number appended until no relation of the namespace has the name.
    fn choose_name(
        &self,
        nsp: u32,
        table: &str,
        cols: &[&str],
        label: &str,
    ) -> Result<String, PgError> {
        let mut base = table.to_string();
        for c in cols {
            base.push('_');
            base.push_str(c);
        }
        let mut n = 0;
        loop {
            let suffix = if n == 0 {
                format!("_{label}")
            } else {
                format!("_{label}{n}")
            };
            let mut b = base.clone();
            while b.len() + suffix.len() > 63 {
                b.pop();
            }
            let name = format!("{b}{suffix}");
            if self.class_named(nsp, &name)?.is_none() {
                return Ok(name);
            }
            n += 1;
        }
    }

    /// CREATE INDEX / PRIMARY KEY / UNIQUE (see `Tables::create_index`).
    pub(super) fn create_index_impl(
        &mut self,
        rel: &Relation,
        spec: &IndexSpec,
    ) -> Result<bool, PgError> {
        let t = rel.table()?;
        if t.oid < cat::FIRST_NORMAL_OBJECT_ID {
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{}\" is a system catalog", rel.name),
            ));
        }
        // ALTER TABLE ADD PRIMARY KEY also sets NOT NULL: the stronger lock.
        self.lock_relation(
            t,
            if spec.constraint {
                LockMode::AccessExclusive
            } else {
                LockMode::Share
            },
        )?;
        let mut cols = Vec::new();
        let mut exprs = Vec::new();
        let mut expr_types = Vec::new();
        for k in &spec.keys {
            if let Some(e) = &k.expr {
                if key_type(k.expr_type).is_none() {
                    return Err(no_index_type(k.expr_type));
                }
                if let Some(opc) = &k.opclass {
                    tusk_sql::index::check_opclass(opc, k.expr_type)?;
                }
                cols.push(NO_COLUMN);
                exprs.push(e.clone());
                expr_types.push(k.expr_type);
                continue;
            }
            let Some(i) = rel.columns.iter().position(|c| c.name == k.column) else {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{}\" does not exist", k.column),
                ));
            };
            if key_type(rel.columns[i].ty.oid).is_none() {
                return Err(no_index_type(rel.columns[i].ty.oid));
            }
            if let Some(opc) = &k.opclass {
                tusk_sql::index::check_opclass(opc, rel.columns[i].ty.oid)?;
            }
            cols.push(i);
        }
        // INCLUDE columns: any type (no operator class is needed), kept
        // in the catalog after the keys; the tree holds the keys only.
        let mut included = Vec::new();
        for c in &spec.include {
            let Some(i) = rel.columns.iter().position(|col| &col.name == c) else {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{c}\" does not exist"),
                ));
            };
            included.push(i);
        }
        if cols.len() + included.len() > 32 {
            return Err(PgError::error(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                "cannot use more than 32 columns in an index",
            ));
        }
        // Index column names, a repeated one numbered (PostgreSQL's
        // ChooseIndexColumnNames): `(c1, c2) INCLUDE (c1)` is c1, c2, c11.
        let colnames = index_column_names(
            spec.keys
                .iter()
                .map(|k| k.column.clone())
                .chain(included.iter().map(|&i| rel.columns[i].name.clone())),
        );
        let existing = self.indexes_of(t)?;
        if spec.primary && existing.iter().any(|i| i.primary) {
            return Err(PgError::error(
                sqlstate::SqlState::new("42P16"),
                format!(
                    "multiple primary keys for table \"{}\" are not allowed",
                    rel.name
                ),
            ));
        }
        let nsp = t.namespace;
        let name = match &spec.name {
            Some(n) => {
                if self.class_named(nsp, n)?.is_some() {
                    if spec.if_not_exists {
                        self.notice(format!("relation \"{n}\" already exists, skipping"));
                        return Ok(false);
                    }
                    return Err(PgError::error(
                        codes::DUPLICATE_TABLE,
                        format!("relation \"{n}\" already exists"),
                    ));
                }
                n.clone()
            }
            None => {
                let names: Vec<&str> = colnames.iter().map(String::as_str).collect();
                if spec.primary {
                    self.choose_name(nsp, &rel.name, &[], "pkey")?
                } else if spec.constraint {
                    self.choose_name(nsp, &rel.name, &names, "key")?
                } else {
                    self.choose_name(nsp, &rel.name, &names, "idx")?
                }
            }
        };
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        let dropped = self.dropped_positions(t.oid)?;
        let oid = self.new_relation_oid()?;
        let store = self.store.clone().expect("checked by new_relation_oid");
        self.pending_deletes
            .push((index_locator(store.db, oid), false));
        // pg_class: relkind 'i', btree, no row type.
        let c = cat::catalog(PG_CLASS_OID);
        let natts = (cols.len() + included.len()) as i16;
        let mut class = cat::class_row(oid, &name, nsp, 0, oid, false, natts, b'n');
        class[c.col("relkind")] = Value::Char(b'i');
        class[c.col("relam")] = Value::Oid(BTREE_AM_OID);
        class[c.col("reloptions")] = super::view::reloptions(&spec.options);
        self.insert_catalog(PG_CLASS_OID, &class)?;
        let all: Vec<usize> = cols.iter().chain(&included).copied().collect();
        for (n, &ci) in all.iter().enumerate() {
            if ci == NO_COLUMN {
                // An expression column: PostgreSQL's name for it and
                // the expression's type.
                let ty = spec.keys[n].expr_type;
                self.insert_catalog(
                    PG_ATTRIBUTE_OID,
                    &cat::attribute_row(oid, n as i16 + 1, &colnames[n], ty, -1, false, false),
                )?;
                continue;
            }
            let col = &rel.columns[ci];
            self.insert_catalog(
                PG_ATTRIBUTE_OID,
                &cat::attribute_row(
                    oid,
                    n as i16 + 1,
                    &colnames[n],
                    col.ty.oid,
                    col.ty.typmod,
                    false,
                    false,
                ),
            )?;
        }
        let vec_of = |v: Vec<String>| Value::Text(v.join(" "));
        let mut expr_ty = expr_types.iter();
        let key_types: Vec<Oid> = cols
            .iter()
            .map(|&c| match c {
                NO_COLUMN => expr_ty.next().copied().unwrap_or(types::TEXT),
                c => rel.columns[c].ty.oid,
            })
            .collect();
        let x = cat::catalog(PG_INDEX_OID);
        let index_row = cat::row(
            x,
            &[
                ("indexrelid", Value::Oid(oid)),
                ("indrelid", Value::Oid(t.oid)),
                ("indnatts", Value::Int2(natts)),
                ("indnkeyatts", Value::Int2(cols.len() as i16)),
                ("indisunique", Value::Bool(spec.unique)),
                ("indnullsnotdistinct", Value::Bool(spec.nulls_not_distinct)),
                ("indisprimary", Value::Bool(spec.primary)),
                ("indimmediate", Value::Bool(true)),
                ("indisvalid", Value::Bool(true)),
                ("indisready", Value::Bool(true)),
                ("indislive", Value::Bool(true)),
                (
                    "indkey",
                    vec_of(
                        all.iter()
                            .map(|&c| match c {
                                NO_COLUMN => "0".to_string(),
                                c => (physical_of(c, &dropped) + 1).to_string(),
                            })
                            .collect(),
                    ),
                ),
                (
                    "indcollation",
                    vec_of(
                        key_types
                            .iter()
                            .map(|&ty| cat::typcollation(ty).to_string())
                            .collect(),
                    ),
                ),
                (
                    "indclass",
                    vec_of(
                        key_types
                            .iter()
                            .map(|&ty| opclass(ty).to_string())
                            .collect(),
                    ),
                ),
                (
                    "indoption",
                    vec_of(
                        spec.keys
                            .iter()
                            .map(|k| {
                                let mut o = 0;
                                if k.desc {
                                    o |= INDOPTION_DESC;
                                }
                                if k.nulls_first {
                                    o |= INDOPTION_NULLS_FIRST;
                                }
                                o.to_string()
                            })
                            .collect(),
                    ),
                ),
                (
                    "indexprs",
                    if exprs.is_empty() {
                        Value::Null
                    } else {
                        Value::Text(exprs.join(", "))
                    },
                ),
                (
                    "indpred",
                    spec.predicate.clone().map_or(Value::Null, Value::Text),
                ),
            ],
        );
        self.insert_catalog(PG_INDEX_OID, &index_row)?;
        if spec.constraint {
            let con_oid = self.new_unused_oid(&[(PG_CONSTRAINT_OID, "oid")])?;
            let k = cat::catalog(PG_CONSTRAINT_OID);
            let con = cat::row(
                k,
                &[
                    ("oid", Value::Oid(con_oid)),
                    ("conname", Value::Name(name.clone())),
                    ("connamespace", Value::Oid(nsp)),
                    (
                        "contype",
                        Value::Char(if spec.primary { b'p' } else { b'u' }),
                    ),
                    ("convalidated", Value::Bool(true)),
                    ("conrelid", Value::Oid(t.oid)),
                    ("conindid", Value::Oid(oid)),
                    ("confupdtype", Value::Char(b' ')),
                    ("confdeltype", Value::Char(b' ')),
                    ("confmatchtype", Value::Char(b' ')),
                    ("conislocal", Value::Bool(true)),
                    ("connoinherit", Value::Bool(true)),
                    (
                        "conkey",
                        Value::Text(format!(
                            "{{{}}}",
                            cols.iter()
                                .map(|c| (c + 1).to_string())
                                .collect::<Vec<_>>()
                                .join(",")
                        )),
                    ),
                ],
            );
            self.insert_catalog(PG_CONSTRAINT_OID, &con)?;
        }
        if spec.primary {
            self.set_not_null(rel, t, &cols, xid, cid)?;
        }
        self.set_has_index(t, xid, cid)?;
        let info = IndexInfo {
            oid,
            name,
            relfilenode: oid,
            cols,
            unique: spec.unique,
            primary: spec.primary,
            exprs,
            expr_types,
            pred: spec.predicate.clone(),
            nulls_not_distinct: spec.nulls_not_distinct,
            keyer: Rc::default(),
        };
        self.build_index(rel, t, &info)?;
        // The next index of the same statement (CREATE TABLE with two
        // constraints) sees this one's rows and updates.
        self.xact.command_counter_increment();
        Ok(true)
    }

    /// PRIMARY KEY's columns become NOT NULL (pg_attribute.attnotnull).
    fn set_not_null(
        &mut self,
        rel: &Relation,
        t: TableRef,
        cols: &[usize],
        xid: u64,
        cid: u32,
    ) -> Result<(), PgError> {
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        let dropped = self.dropped_positions(t.oid)?;
        for (tid, mut r) in self.catalog_rows_by(PG_ATTRIBUTE_OID, "attrelid", Value::Oid(t.oid))? {
            if oid_of(&r[a.col("attrelid")]) != t.oid {
                continue;
            }
            let Value::Int2(num) = r[a.col("attnum")] else {
                continue;
            };
            if num < 1 {
                continue;
            }
            let p = num as usize - 1;
            if dropped.contains(&p)
                || !cols.contains(&(p - dropped.iter().filter(|&&d| d < p).count()))
            {
                continue;
            }
            if r[a.col("attnotnull")] == Value::Bool(true) {
                continue;
            }
            let _ = rel;
            r[a.col("attnotnull")] = Value::Bool(true);
            self.update_catalog_as(PG_ATTRIBUTE_OID, tid, &r, xid, cid)?;
        }
        Ok(())
    }

    fn set_has_index(&mut self, t: TableRef, xid: u64, cid: u32) -> Result<(), PgError> {
        let (tid, mut class) = self.class_row(t, || {
            PgError::error(sqlstate::UNDEFINED_TABLE, "table was dropped")
        })?;
        let c = cat::catalog(PG_CLASS_OID);
        if class[c.col("relhasindex")] == Value::Bool(true) {
            return Ok(());
        }
        class[c.col("relhasindex")] = Value::Bool(true);
        self.update_catalog_as(PG_CLASS_OID, tid, &class, xid, cid)
    }

    /// Replaces catalog row `tid` of catalog `catoid` by `row` as `xid`/`cid`
    /// (a concurrent change is an error, as simple_heap_update).
    pub(super) fn update_catalog_as(
        &mut self,
        catoid: u32,
        tid: ItemPointer,
        row: &[Value],
        xid: u64,
        cid: u32,
    ) -> Result<(), PgError> {
        self.catalog_changed = true;
        forget_cache();
        let tuple = datum::form_row(&cat::catalog(catoid).types(), row)?;
        match self.with_heap(super::catalog_ref(catoid), |h, vis, owner| {
            h.update(owner, vis, tid, tuple, xid, cid)
        })? {
            heapam::UpdateOutcome::Updated { new, .. } => {
                self.catalog_index_insert(catoid, row, new)
            }
            heapam::UpdateOutcome::Failed(_) => Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "tuple concurrently updated",
            )),
        }
    }

    /// Fills the new, empty index `idx` from the table's rows: every tuple
    /// not yet dead to everyone, sorted, then nbtree's bulk build (which
    /// reports duplicates of a unique index as 23505). NULLs in a primary
    /// key are 23502 as PostgreSQL's ALTER TABLE reports them.
    fn build_index(&mut self, rel: &Relation, t: TableRef, idx: &IndexInfo) -> Result<(), PgError> {
        let (store, engine) = self.table_parts()?;
        let snap = Snapshot::default();
        let current = self.current_xids();
        let types_ = rel.physical_types();
        let loc = locator(store.db, t);
        store.bm.smgr().close(loc);
        let n = nblocks(&store, loc)?;
        let vis = Vis::new(&engine, &store, &snap, &current);
        let mut entries = Vec::new();
        // The rows of an expression or partial index, keyed afterwards.
        let mut rows = Vec::new();
        // Rows with out-of-line values, deformed after the page lock is
        // given back (their chunks are read from the toast table).
        let mut external = Vec::new();
        // A plain index of a table without dropped columns needs the
        // columns up to its last key column only: the rest (pgbench's
        // 84-byte filler) is not deformed, which was a third of building
        // pgbench_accounts' primary key.
        let deform = match idx.cols.iter().max() {
            Some(&last) if !idx.computed() && rel.dropped.is_empty() => {
                (last + 1).min(types_.len())
            }
            _ => types_.len(),
        };
        for block in 0..n {
            let mut owner = ResourceOwner::default();
            let pin = store.bm.read_buffer(&mut owner, loc, Fork::Main, block)?;
            let r = (|| -> Result<(), PgError> {
                let l = store.bm.lock(&pin, LwMode::Shared);
                let p = l.page();
                if page::is_new(p) {
                    return Ok(());
                }
                // A live heap-only version is indexed under its chain's
                // root, the TID scans reach it by (heapam::hot_search).
                let roots = heapam::hot_roots(p);
                for off in 1..=page::max_offset(p) {
                    let Some(id) = page::item_id(p, off) else {
                        continue;
                    };
                    if id.flags != LP_NORMAL {
                        continue;
                    }
                    let Some(tup) = page::get_item(p, off) else {
                        continue;
                    };
                    match heapam::Visibility::satisfies_vacuum(&vis, tup) {
                        HtsvResult::Dead | HtsvResult::RecentlyDead => continue,
                        _ => {}
                    }
                    let root = roots[off as usize];
                    if root == 0 {
                        continue; // a heap-only tuple no chain reaches
                    }
                    let at = ItemPointer {
                        block,
                        offset: root,
                    };
                    if heaptuple::infomask(tup) & heaptuple::HEAP_HASEXTERNAL != 0 {
                        external.push((tup.to_vec(), at));
                        continue;
                    }
                    let row = rel.from_physical(datum::deform_row(tup, &types_[..deform])?);
                    if idx.computed() {
                        rows.push((row, at));
                    } else {
                        entries.push((key_of(&row, idx), at));
                    }
                }
                Ok(())
            })();
            store.bm.release(&mut owner, pin);
            owner.release_all(Release::Abort);
            r?;
        }
        vis.check()?;
        for (tup, at) in external {
            let row = rel.from_physical(self.deform_detoast(t, &tup, &types_)?);
            if idx.computed() {
                rows.push((row, at));
            } else {
                entries.push((key_of(&row, idx), at));
            }
        }
        // Expressions and predicates are evaluated with the page locks
        // let go (a function may read anything).
        for (row, at) in rows {
            if let Some(k) = self.index_key(rel, t, idx, &row)? {
                entries.push((k, at));
            }
        }
        if idx.primary {
            for (k, _) in &entries {
                if let Some(i) = k.iter().position(Value::is_null) {
                    return Err(PgError::error(
                        codes::NOT_NULL_VIOLATION,
                        format!(
                            "column \"{}\" of relation \"{}\" contains null values",
                            rel.columns[idx.cols[i]].name, rel.name
                        ),
                    ));
                }
            }
        }
        nbtree::sort_entries(&mut entries);
        // Two versions of one HOT chain (this transaction's update and the
        // version it replaced) share the root: one entry for both.
        entries.dedup_by(|a, b| a.1 == b.1 && same_key(&a.0, &b.0));
        self.with_btree(rel, idx, |bt, owner| bt.build(owner, &entries))
    }

    /// Drops every index (and constraint) of table `t` with it.
    pub(super) fn drop_table_indexes(&mut self, t: TableRef) -> Result<(), PgError> {
        let list = self.read_indexes(t.oid)?;
        for idx in list {
            self.drop_index_rows(&idx)?;
        }
        Ok(())
    }

    fn drop_index_rows(&mut self, idx: &IndexInfo) -> Result<(), PgError> {
        let ci = cat::catalog(PG_CLASS_OID).col("oid");
        for (tid, r) in self.catalog_rows_by(PG_CLASS_OID, "oid", Value::Oid(idx.oid))? {
            if oid_of(&r[ci]) == idx.oid {
                self.delete_catalog(PG_CLASS_OID, tid)?;
            }
        }
        for (catoid, col) in [
            (PG_ATTRIBUTE_OID, "attrelid"),
            (PG_INDEX_OID, "indexrelid"),
            (PG_CONSTRAINT_OID, "conindid"),
        ] {
            let i = cat::catalog(catoid).col(col);
            for (tid, r) in self.catalog_rows_by(catoid, col, Value::Oid(idx.oid))? {
                // A FOREIGN KEY naming this index as the referenced one
                // goes with its own table (or DROP ... CASCADE), not here.
                if catoid == PG_CONSTRAINT_OID
                    && r[cat::catalog(catoid).col("contype")] == Value::Char(b'f')
                {
                    continue;
                }
                if oid_of(&r[i]) == idx.oid {
                    self.delete_catalog(catoid, tid)?;
                }
            }
        }
        let store = self.store.clone().expect("catalog rows were read");
        self.pending_deletes
            .push((index_locator(store.db, idx.relfilenode), true));
        Ok(())
    }

    /// An index by (schema-qualified) name: its table and its entry.
    pub(super) fn find_index(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<(Relation, IndexInfo)>, PgError> {
        let nss = match schema {
            Some(s) => match self.namespace_oid(s)? {
                Some(o) => vec![o],
                None => return Ok(None),
            },
            None => self.search_path()?,
        };
        let Some((_, class)) = self.find_class(&nss, name)? else {
            return Ok(None);
        };
        let c = cat::catalog(PG_CLASS_OID);
        if class[c.col("relkind")] != Value::Char(b'i') {
            return Ok(None);
        }
        let oid = oid_of(&class[c.col("oid")]);
        let x = cat::catalog(PG_INDEX_OID);
        let Some((_, irow)) = self
            .catalog_rows_by(PG_INDEX_OID, "indexrelid", Value::Oid(oid))?
            .into_iter()
            .find(|(_, r)| oid_of(&r[x.col("indexrelid")]) == oid)
        else {
            return Ok(None);
        };
        let table = oid_of(&irow[x.col("indrelid")]);
        let Some((_, tclass)) = self
            .catalog_rows_by(PG_CLASS_OID, "oid", Value::Oid(table))?
            .into_iter()
            .find(|(_, r)| oid_of(&r[c.col("oid")]) == table)
        else {
            return Ok(None);
        };
        let tname = name_of(&tclass[c.col("relname")]).to_string();
        let tnsp = oid_of(&tclass[c.col("relnamespace")]);
        let nsname = self.namespace_name(tnsp)?;
        let Some(rel) = self.lookup_table_impl(Some(&nsname), &tname)? else {
            return Ok(None);
        };
        let Some(info) = self.read_indexes(table)?.into_iter().find(|i| i.oid == oid) else {
            return Ok(None);
        };
        Ok(Some((rel, info)))
    }

    pub(super) fn namespace_name(&self, nsp: u32) -> Result<String, PgError> {
        let n = cat::catalog(cat::PG_NAMESPACE_OID);
        Ok(self
            .catalog_rows_by(cat::PG_NAMESPACE_OID, "oid", Value::Oid(nsp))?
            .into_iter()
            .find(|(_, r)| oid_of(&r[n.col("oid")]) == nsp)
            .map(|(_, r)| name_of(&r[n.col("nspname")]).to_string())
            .unwrap_or_default())
    }

    /// ALTER TABLE DROP COLUMN: every index of `table` whose indkey
    /// names physical column `attnum` (a key or an INCLUDE column) goes
    /// with it, its constraint too, as PostgreSQL's dependencies drop it.
    pub(super) fn drop_indexes_on_column(
        &mut self,
        table: u32,
        attnum: i16,
    ) -> Result<(), PgError> {
        let x = cat::catalog(PG_INDEX_OID);
        let c = cat::catalog(PG_CLASS_OID);
        for (_, r) in self.catalog_rows_by(PG_INDEX_OID, "indrelid", Value::Oid(table))? {
            if oid_of(&r[x.col("indrelid")]) != table
                || !name_of(&r[x.col("indkey")])
                    .split_whitespace()
                    .any(|n| n.parse::<i16>() == Ok(attnum))
            {
                continue;
            }
            let oid = oid_of(&r[x.col("indexrelid")]);
            let Some((_, class)) = self.catalog_by_oid(cat::PG_CLASS_OID_INDEX, oid)? else {
                continue;
            };
            let info = IndexInfo {
                oid,
                name: name_of(&class[c.col("relname")]).to_string(),
                relfilenode: oid_of(&class[c.col("relfilenode")]),
                cols: Vec::new(),
                unique: false,
                primary: false,
                exprs: Vec::new(),
                expr_types: Vec::new(),
                pred: None,
                nulls_not_distinct: false,
                keyer: Rc::default(),
            };
            self.drop_index_rows(&info)?;
        }
        Ok(())
    }

    /// DROP INDEX (see `Tables::drop_index`).
    pub(super) fn drop_index_impl(
        &mut self,
        schema: Option<&str>,
        name: &str,
        if_exists: bool,
    ) -> Result<(), PgError> {
        let Some((rel, idx)) = self.find_index(schema, name)? else {
            if if_exists {
                self.notice(format!("index \"{name}\" does not exist, skipping"));
                return Ok(());
            }
            return Err(PgError::error(
                sqlstate::UNDEFINED_OBJECT,
                format!("index \"{name}\" does not exist"),
            ));
        };
        let k = cat::catalog(PG_CONSTRAINT_OID);
        if let Some((_, con)) = self
            .catalog_rows(PG_CONSTRAINT_OID)?
            .into_iter()
            .find(|(_, r)| oid_of(&r[k.col("conindid")]) == idx.oid)
        {
            let cname = name_of(&con[k.col("conname")]).to_string();
            return Err(PgError::error(
                codes::DEPENDENT_OBJECTS_STILL_EXIST,
                format!(
                    "cannot drop index {} because constraint {} on table {} requires it",
                    idx.name, cname, rel.name
                ),
            )
            .with_hint(format!(
                "You can drop constraint {} on table {} instead.",
                cname, rel.name
            )));
        }
        let t = rel.table()?;
        self.lock_relation(t, LockMode::AccessExclusive)?;
        self.write_xid()?;
        self.drop_index_rows(&idx)
    }

    /// Gives index `idx` a new relfilenode and builds it again from the
    /// table (REINDEX, TRUNCATE, VACUUM FULL): the old file goes at commit,
    /// the new one if the transaction aborts.
    pub(super) fn rebuild_index(
        &mut self,
        rel: &Relation,
        t: TableRef,
        idx: &IndexInfo,
    ) -> Result<(), PgError> {
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        let new_file = self.new_relation_oid()?;
        let store = self.store.clone().expect("checked by new_relation_oid");
        self.pending_deletes
            .push((index_locator(store.db, new_file), false));
        let idx_ref = TableRef {
            oid: idx.oid,
            relfilenode: idx.relfilenode,
            shared: false,
            namespace: t.namespace,
        };
        let (tid, class) = self.class_row(idx_ref, || {
            PgError::error(sqlstate::UNDEFINED_OBJECT, "index was dropped")
        })?;
        self.set_relfilenode(tid, class, new_file, xid, cid)?;
        self.pending_deletes
            .push((index_locator(store.db, idx.relfilenode), true));
        let mut fresh = idx.clone();
        fresh.relfilenode = new_file;
        self.build_index(rel, t, &fresh)
    }

    /// Every index of the table rebuilt (its heap `t` as it is now).
    pub(super) fn rebuild_table_indexes(
        &mut self,
        rel: &Relation,
        t: TableRef,
    ) -> Result<(), PgError> {
        for idx in self.read_indexes(t.oid)? {
            self.rebuild_index(rel, t, &idx)?;
        }
        Ok(())
    }
}

/// Bounds of a B-tree scan from the quals on an index's columns: equality
/// on a prefix of the columns, then a range on the next one. None when the
/// leading column has no qual.
#[allow(clippy::type_complexity)]
fn bounds(
    idx: &IndexInfo,
    quals: &[ScanQual],
) -> Option<(
    usize,
    Option<(Vec<Value>, bool)>,
    Option<(Vec<Value>, bool)>,
)> {
    let mut prefix = Vec::new();
    for k in 0..idx.cols.len() {
        match quals
            .iter()
            .find(|q| q.op == QualOp::Eq && idx.qual_fits(q, k))
        {
            Some(q) => prefix.push(q.value.clone()),
            None => break,
        }
    }
    let score = prefix.len();
    if prefix.len() == idx.cols.len() {
        return Some((
            score * 2,
            Some((prefix.clone(), true)),
            Some((prefix, true)),
        ));
    }
    let next = prefix.len();
    let mut lower = None;
    let mut upper = None;
    for q in quals.iter().filter(|q| idx.qual_fits(q, next)) {
        match q.op {
            QualOp::Gt | QualOp::Ge => lower = Some((q.value.clone(), q.op == QualOp::Ge)),
            QualOp::Lt | QualOp::Le => upper = Some((q.value.clone(), q.op == QualOp::Le)),
            QualOp::Eq | QualOp::Holds => {}
        }
    }
    if prefix.is_empty() && lower.is_none() && upper.is_none() {
        return None;
    }
    let with = |b: Option<(Value, bool)>| -> Option<(Vec<Value>, bool)> {
        match b {
            Some((v, incl)) => {
                let mut p = prefix.clone();
                p.push(v);
                Some((p, incl))
            }
            None if prefix.is_empty() => None,
            None => Some((prefix.clone(), true)),
        }
    };
    let range = lower.is_some() as usize + upper.is_some() as usize;
    Some((score * 2 + range.min(1), with(lower), with(upper)))
}

/// Entries an index scan reads from the tree at a time (then it lets go
/// of the tree and continues after the last key when these are used).
const BATCH: usize = 512;

/// An index scan: the entries in the bounds read from the tree a batch at
/// a time (whole keys: a batch ends where the key changes), then each
/// heap tuple fetched with the statement's snapshot.
pub(in crate::backend) struct IndexScan {
    store: Rc<Store>,
    engine: Rc<Engine>,
    snap: Snapshot,
    current: Vec<u64>,
    loc: RelFileLocator,
    /// The stored (physical) column types, dropped columns included.
    types: Vec<Oid>,
    /// The table as the statement sees it: maps stored rows to live
    /// columns.
    rel: Relation,
    /// The toast table's file, once a row needed it.
    toast: Option<(u32, RelFileLocator)>,
    tableoid: u32,
    index: IndexInfo,
    keycols: Vec<KeyColumn>,
    lower: Option<(Vec<Value>, bool)>,
    upper: Option<(Vec<Value>, bool)>,
    backward: bool,
    /// No entries left in the tree beyond `entries`.
    exhausted: bool,
    entries: std::vec::IntoIter<(ItemPointer, Vec<Value>)>,
    seen: HashSet<(u32, u16)>,
    /// Hand rows out in heap order, as PostgreSQL's bitmap heap scan
    /// does, rather than in key order: set for scans whose order nobody
    /// uses (see [`open_index_scan`]).
    heap_order: bool,
}

impl IndexScan {
    #[allow(clippy::too_many_arguments)]
    fn open(
        c: &TableCtx,
        rel: &Relation,
        t: TableRef,
        idx: &IndexInfo,
        lower: Option<(Vec<Value>, bool)>,
        upper: Option<(Vec<Value>, bool)>,
        backward: bool,
    ) -> Result<IndexScan, PgError> {
        let store = c.store.clone();
        let iloc = index_locator(store.db, idx.relfilenode);
        store.bm.smgr().close(iloc);
        let loc = locator(store.db, t);
        store.bm.smgr().close(loc);
        Ok(IndexScan {
            store,
            engine: c.engine.clone(),
            snap: c.snap.clone(),
            current: c.current.clone(),
            loc,
            types: rel.physical_types(),
            rel: rel.clone(),
            toast: None,
            tableoid: t.oid,
            index: idx.clone(),
            keycols: key_columns(rel, idx)?,
            lower,
            upper,
            backward,
            exhausted: false,
            entries: Vec::new().into_iter(),
            seen: HashSet::new(),
            heap_order: false,
        })
    }

    /// Read every matching entry now and order them by heap position.
    fn collect_in_heap_order(&mut self) -> Result<(), PgError> {
        let mut all: Vec<(ItemPointer, Vec<Value>)> = self.entries.by_ref().collect();
        while !self.exhausted {
            self.refill()?;
            all.extend(self.entries.by_ref());
        }
        all.sort_by_key(|(tid, _)| (tid.block, tid.offset));
        self.entries = all.into_iter();
        self.heap_order = false;
        Ok(())
    }

    /// The next batch of entries from where the last one ended.
    fn refill(&mut self) -> Result<(), PgError> {
        let store = self.store.clone();
        let wal = XlogHeapWal(&self.engine.xlog);
        let bt = BtreeRel::new(
            index_locator(store.db, self.index.relfilenode),
            self.index.name.clone(),
            self.keycols.clone(),
            self.index.unique,
            &store.bm,
            &wal,
            &store.ext,
        );
        let mut owner = ResourceOwner::default();
        let r = (|| {
            let mut scan = if self.backward {
                bt.scan_backward(&mut owner, self.lower.clone(), self.upper.clone())?
            } else {
                bt.scan(&mut owner, self.lower.clone(), self.upper.clone())?
            };
            let mut out: Vec<(ItemPointer, Vec<Value>)> = Vec::new();
            while let Some(e) = scan.next(&mut owner)? {
                if out.len() >= BATCH && out.last().is_some_and(|l| !same_key(&l.1, &e.1)) {
                    return Ok::<_, PgError>((out, false));
                }
                out.push(e);
            }
            Ok((out, true))
        })();
        owner.release_all(Release::Abort);
        let (out, done) = r?;
        self.exhausted = done;
        if let Some(last) = out.last() {
            // The next batch starts after this key.
            let resume = Some((last.1.clone(), false));
            if self.backward {
                self.upper = resume;
            } else {
                self.lower = resume;
            }
        }
        self.entries = out.into_iter();
        Ok(())
    }
}

/// Opens an index scan of `rel` for `quals` if one of the table's indexes
/// fits (the most equality columns, then a range). Called by the
/// backend's `Relations` when a statement's execution starts.
pub(in crate::backend) fn open_index_scan(
    c: &TableCtx,
    rel: &Relation,
    t: TableRef,
    quals: &[ScanQual],
) -> Result<Option<IndexScan>, PgError> {
    let Some(indexes) = CACHE.with(|cache| cache.borrow().get(&t.oid).map(|e| e.2.clone())) else {
        return Ok(None);
    };
    let best = indexes
        .iter()
        .filter(|i| i.usable(rel, quals))
        .filter_map(|i| bounds(i, quals).map(|b| (i, b)))
        .max_by_key(|(i, b)| (b.0, i.unique));
    let Some((idx, (eq, lower, upper))) = best else {
        return Ok(None);
    };
    // Nobody reads this scan's order, and for anything but a single
    // row PostgreSQL reads such a qual with a bitmap heap scan, whose rows
    // come in heap order: rows with equal sort keys later on then come
    // out as PostgreSQL prints them (crates/sql/src/pgsort.rs). A unique
    // index with every key column equal finds one row: no reordering
    // (the lookup pgbench and foreign keys make).
    let mut scan = IndexScan::open(c, rel, t, idx, lower, upper, false)?;
    // (`bounds` scores a full equality match as twice the key columns.)
    scan.heap_order = !(idx.unique && eq == 2 * idx.cols.len());
    Ok(Some(scan))
}

/// The index [`open_index_scan`] (no `order`) or [`open_ordered_scan`]
/// (`order` = (col, desc)) would read, by the same rule, for EXPLAIN.
/// Called by the backend's `Relations`.
pub(in crate::backend) fn index_choice(
    rel: &Relation,
    t: TableRef,
    quals: &[ScanQual],
    order: Option<(usize, bool)>,
) -> Option<tusk_sql::index::IndexChoice> {
    let indexes = CACHE.with(|cache| cache.borrow().get(&t.oid).map(|e| e.2.clone()))?;
    let idx = match order {
        None => indexes
            .iter()
            .filter(|i| i.usable(rel, quals))
            .filter_map(|i| bounds(i, quals).map(|b| (i, b)))
            .max_by_key(|(i, b)| (b.0, i.unique))
            .map(|(i, _)| i)?,
        Some((col, _)) => indexes
            .iter()
            .filter(|i| i.cols.first() == Some(&col) && i.usable(rel, quals))
            .min_by_key(|i| i.cols.len())?,
    };
    Some(tusk_sql::index::IndexChoice {
        name: idx.name.clone(),
        cols: idx.cols.clone(),
        unique: idx.unique,
        exprs: idx.exprs.clone(),
        pred: idx.pred.clone(),
    })
}

/// The number of blocks of `t`'s heap now (EXPLAIN's cost estimate).
pub(in crate::backend) fn heap_blocks(c: &TableCtx, t: TableRef) -> Option<u32> {
    let loc = locator(c.store.db, t);
    c.store.bm.smgr().nblocks(loc, Fork::Main).ok()
}

/// Opens a scan of `rel` in the order of column `col` through an index
/// leading with it (backward for `desc`), bounded by the quals on `col`.
pub(in crate::backend) fn open_ordered_scan(
    c: &TableCtx,
    rel: &Relation,
    t: TableRef,
    quals: &[ScanQual],
    col: usize,
    desc: bool,
) -> Result<Option<IndexScan>, PgError> {
    let Some(indexes) = CACHE.with(|cache| cache.borrow().get(&t.oid).map(|e| e.2.clone())) else {
        return Ok(None);
    };
    let Some(idx) = indexes
        .iter()
        .filter(|i| i.cols.first() == Some(&col) && i.usable(rel, quals))
        .min_by_key(|i| i.cols.len())
    else {
        return Ok(None);
    };
    let mut lower = None;
    let mut upper = None;
    for q in quals.iter().filter(|q| q.col == col && q.expr.is_none()) {
        let b = Some((
            vec![q.value.clone()],
            q.op != QualOp::Gt && q.op != QualOp::Lt,
        ));
        match q.op {
            QualOp::Gt | QualOp::Ge => lower = b,
            QualOp::Lt | QualOp::Le => upper = b,
            QualOp::Eq => {
                lower = b.clone();
                upper = b;
            }
            QualOp::Holds => {}
        }
    }
    IndexScan::open(c, rel, t, idx, lower, upper, desc).map(Some)
}

impl RowSource for IndexScan {
    fn next_row(&mut self) -> Result<Option<Row>, PgError> {
        if self.heap_order {
            self.collect_in_heap_order()?;
        }
        loop {
            let Some((tid, key)) = self.entries.next() else {
                if self.exhausted {
                    return Ok(None);
                }
                self.refill()?;
                continue;
            };
            let wal = XlogHeapWal(&self.engine.xlog);
            let heap = HeapRel::new(self.loc, &self.store.bm, &wal, &self.store.ext);
            let vis = Vis::new(&self.engine, &self.store, &self.snap, &self.current);
            let mut owner = ResourceOwner::default();
            // The version the snapshot sees along the entry's HOT chain
            // (HOT updates add no entry), PostgreSQL's heap_hot_search:
            // walked under one page lock, so pruning cannot cut it short.
            let r = heap.hot_search(&mut owner, tid, &mut |_, t| {
                Ok(heapam::Visibility::visible(&vis, t).then(|| t.to_vec()))
            });
            owner.release_all(Release::Abort);
            vis.check()?;
            let Some((at, t)) = r? else {
                continue;
            };
            if self.seen.contains(&(at.block, at.offset)) {
                continue;
            }
            let row = if heaptuple::infomask(&t) & heaptuple::HEAP_HASEXTERNAL != 0 {
                let (store, engine) = (self.store.clone(), self.engine.clone());
                let (snap, current, cached) = (&self.snap, &self.current, &mut self.toast);
                datum::deform_row_detoast(&t, &self.types, &mut |p| {
                    let loc = match *cached {
                        Some((oid, loc)) if oid == p.toastrelid => loc,
                        _ => {
                            let loc = super::toast::toast_locator(
                                &store,
                                &engine,
                                snap,
                                current,
                                p.toastrelid,
                            )?;
                            *cached = Some((p.toastrelid, loc));
                            loc
                        }
                    };
                    super::toast::fetch_value(&store, &engine, current, loc, p)
                })?
            } else {
                datum::deform_row(&t, &self.types)?
            };
            let row = self.rel.from_physical(row);
            // An expression's key is not recomputed: the filter above
            // re-checks every row anyway (see the file comment).
            if self.index.exprs.is_empty() && !same_key(&key_of_cols(&row, &self.index.cols), &key)
            {
                continue;
            }
            self.seen.insert((at.block, at.offset));
            return Ok(Some(with_system_columns(row, at, &t, self.tableoid)));
        }
    }
    fn close(&mut self) {
        self.entries = Vec::new().into_iter();
        self.exhausted = true;
    }
}

/// The physical (stored) position of live column `logical`, skipping the
/// dropped positions `dropped` (sorted).
fn physical_of(logical: usize, dropped: &[usize]) -> usize {
    let mut p = 0;
    let mut live = 0;
    loop {
        if !dropped.contains(&p) {
            if live == logical {
                return p;
            }
            live += 1;
        }
        p += 1;
    }
}

/// What [`Session::arbiter_conflict`] found on one arbiter index.
enum Arbiter {
    None,
    /// A live row with the key: its TID (the chain member) and tuple.
    Live(ItemPointer, Vec<u8>),
    /// An equal key's inserter or deleter is running: wait for it.
    Wait(u64),
}

impl Session {
    /// INSERT ... ON CONFLICT (see `Tables::insert_unless_conflict`).
    ///
    /// PostgreSQL inserts speculatively and takes the insertion back if
    /// the unique check then meets a conflict. tusk closes the window
    /// between its pre-check and its insertion with a heavyweight lock
    /// per (arbiter index, key bucket) held only around the two, so two
    /// upserts of one key take turns: the second then finds the first's
    /// row (waiting for its transaction if it still runs, with the key
    /// lock let go). A plain INSERT of the key racing into that window is
    /// the one case left that ends in 23505, where PostgreSQL's
    /// speculative insertion would take the conflict path.
    pub(in crate::backend) fn insert_unless_conflict_impl(
        &mut self,
        rel: &Relation,
        row: &[Value],
        arbiters: &[u32],
    ) -> Result<Option<(Row, bool)>, PgError> {
        let t = rel.table()?;
        super::toast::refuse_change(rel, t)?;
        super::sequence::refuse_change(rel, t, "change")?;
        self.lock_relation(t, LockMode::RowExclusive)?;
        let arb: Vec<IndexInfo> = self
            .indexes_of(t)?
            .into_iter()
            .filter(|i| i.unique && (arbiters.is_empty() || arbiters.contains(&i.oid)))
            .collect();
        // Keys with a NULL never conflict (a unique index admits many).
        // A partial index not holding the row has nothing to conflict with.
        let mut keyed: Vec<(IndexInfo, Vec<Value>)> = Vec::new();
        for i in arb {
            if let Some(k) = self.index_key(rel, t, &i, row)? {
                if i.nulls_not_distinct || !k.iter().any(Value::is_null) {
                    keyed.push((i, k));
                }
            }
        }
        let mut targets: Vec<tusk_storage::lmgr::LockTarget> = keyed
            .iter()
            .map(|(i, k)| self.speculative_target(i.oid, k))
            .collect::<Result<_, _>>()?;
        targets.sort_by_key(|x| {
            let g = x.tag();
            (g.field2, g.field3, g.field4)
        });
        targets.dedup();
        loop {
            let locks = self.locks.clone();
            if let Some(l) = &locks {
                let policy = self.wait_policy();
                let interrupted = || {
                    crate::signals::pending(libc::SIGINT)
                        || crate::signals::pending(libc::SIGTERM)
                        || super::super::PM_DEAD.load(std::sync::atomic::Ordering::SeqCst)
                };
                for x in &targets {
                    let mut owner = self.xact.owner();
                    l.lock(&mut owner, *x, LockMode::Exclusive, &policy, &interrupted)?;
                }
            }
            let found = (|| {
                for (idx, key) in &keyed {
                    match self.arbiter_conflict(rel, t, idx, key)? {
                        Arbiter::None => {}
                        other => return Ok(other),
                    }
                }
                let types_ = rel.physical_types();
                let tid = self.insert_row(t, &types_, &rel.to_physical(row))?;
                self.index_insert(rel, t, row, tid)?;
                super::stats::count(t.oid, super::stats::Change::Insert);
                Ok::<_, PgError>(Arbiter::None)
            })();
            if let Some(l) = &locks {
                for x in &targets {
                    let mut owner = self.xact.owner();
                    l.unlock(&mut owner, *x, LockMode::Exclusive);
                }
            }
            match found? {
                Arbiter::None => return Ok(None),
                Arbiter::Wait(x) => self.wait_for_xid(x)?,
                Arbiter::Live(tid, tuple) => {
                    let types_ = rel.physical_types();
                    let values = rel.from_physical(self.deform_detoast(t, &tuple, &types_)?);
                    let ours = self.xact.current_xids().contains(&heaptuple::xmin(&tuple));
                    let same_command = ours && heaptuple::cid(&tuple) == self.xact.command_id();
                    return Ok(Some((
                        with_system_columns(values, tid, &tuple, t.oid),
                        same_command,
                    )));
                }
            }
        }
    }

    /// The lock that makes a pre-check and an insertion of `key` into
    /// unique index `index` one step for upserts (object lock on
    /// pg_index's class, the index, a bucket of the key's hash; foreign
    /// keys use pg_class's class, so the two never meet).
    fn speculative_target(
        &self,
        index: u32,
        key: &[Value],
    ) -> Result<tusk_storage::lmgr::LockTarget, PgError> {
        use std::hash::{Hash, Hasher};
        let (store, _) = self.table_parts()?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for v in key {
            // The text form: values the B-tree calls equal print alike
            // once coerced to the column's type.
            tusk_sql::value::encode_text(v).hash(&mut h);
        }
        Ok(tusk_storage::lmgr::LockTarget::Object {
            db: store.db,
            class: PG_INDEX_OID,
            obj: index,
            sub: (h.finish() % 65535) as u16 + 1,
        })
    }

    /// A live row whose key in `idx` equals `key`, judged as the unique
    /// check judges (a running inserter or deleter is to be waited for).
    fn arbiter_conflict(
        &self,
        rel: &Relation,
        t: TableRef,
        idx: &IndexInfo,
        key: &[Value],
    ) -> Result<Arbiter, PgError> {
        let (store, engine) = self.table_parts()?;
        let snap = Snapshot::default();
        let current = self.xact.current_xids();
        let wal = XlogHeapWal(&engine.xlog);
        let heap = HeapRel::new(locator(store.db, t), &store.bm, &wal, &store.ext);
        let vis = Vis::new(&engine, &store, &snap, &current);
        let types_ = rel.physical_types();
        let check = Checker {
            heap: &heap,
            vis: &vis,
            current: &current,
            types: &types_,
            rel,
            idx,
            key,
            inserting: ItemPointer::INVALID,
        };
        let entries = self.with_btree(rel, idx, |bt, owner| {
            let mut scan = bt.scan(
                owner,
                Some((key.to_vec(), true)),
                Some((key.to_vec(), true)),
            )?;
            let mut v = Vec::new();
            while let Some((tid, _)) = scan.next(owner)? {
                v.push(tid);
            }
            Ok(v)
        })?;
        for tid in entries {
            let mut owner = ResourceOwner::default();
            let r = heap.hot_search(&mut owner, tid, &mut |_, tup| {
                Ok(match check.check_one(tup)? {
                    HeapCheck::Dead => None,
                    HeapCheck::Live => Some(Arbiter::Live(ItemPointer::INVALID, tup.to_vec())),
                    HeapCheck::InProgress(x) => Some(Arbiter::Wait(x)),
                })
            });
            owner.release_all(Release::Abort);
            vis.check()?;
            match r? {
                None => {}
                Some((at, Arbiter::Live(_, tup))) => return Ok(Arbiter::Live(at, tup)),
                Some((_, other)) => return Ok(other),
            }
        }
        Ok(Arbiter::None)
    }
}
