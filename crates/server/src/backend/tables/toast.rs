//! TOAST tables in a backend: the pg_toast_<oid> table created with a table that can hold wide rows, its chunks written, found, read back and deleted.
//!
//! Why this shape:
//! - **Toast rows are heap rows.** Chunks (chunk_id oid, chunk_seq int4,
//!   chunk_data bytea) are inserted and deleted through heapam with the
//!   main row's xid and command id, so they are WAL-logged, recovered,
//!   pruned and vacuumed like any row, and a chunk's fate follows its
//!   transaction: an aborted insert's chunks are dead, a DELETE gives the
//!   chunks the same xmax as the row.
//! - **Chunk lookup behind one function** ([`fetch_value`]) until the
//!   B-tree is reachable from SQL (PostgreSQL looks chunks up through the
//!   toast table's index on (chunk_id, chunk_seq)). Here each backend keeps
//!   a map chunk_id -> (chunk_seq -> TID) per toast relation file, built by
//!   one sequential scan and extended by scanning only the blocks added
//!   since; every chunk read checks that the tuple at the TID still is
//!   that chunk (VACUUM may have freed and reused the slot), and a miss or
//!   a mismatch rebuilds the map once before "missing chunk number"
//!   (XX001). A SELECT of N toasted rows then costs one scan of the toast
//!   table, not N.
//! - **Chunks are judged like PostgreSQL's SnapshotToast**: a chunk is
//!   usable unless the vacuum rules call it dead (inserted by an aborted
//!   transaction, or deleted before every running snapshot). The main row
//!   was already judged by the reader's snapshot; a pointer it holds names
//!   chunks that snapshot may read.
//! - **Value ids** come from the cluster's OID counter and are checked
//!   absent from the map after bringing it up to date (PostgreSQL's
//!   GetNewOidWithIndex checks the toast index): the counter keeps two
//!   transactions in flight apart, the map check covers a wrapped counter.
//!
//! Everything here runs in the backend that owns the session.

use std::collections::{BTreeMap, HashMap};

use tusk_common::{sqlstate, PgError};
use tusk_sql::catalog::{codes, ColumnDef, Relation, TableRef};
use tusk_sql::types::{self as sqltypes, Oid};
use tusk_sql::Value;
use tusk_storage::catalog::{self as cat, PG_ATTRIBUTE_OID, PG_CLASS_OID, PG_TOAST_NAMESPACE};
use tusk_storage::datum;
use tusk_storage::heapam::{self, HeapRel, HtsvResult, TmResult};
use tusk_storage::heaptuple::{self, Datum, ItemPointer};
use tusk_storage::heapwal::XlogHeapWal;
use tusk_storage::lwlock::LwMode;
use tusk_storage::page::{self, LP_NORMAL};
use tusk_storage::smgr::{Fork, RelFileLocator, DEFAULTTABLESPACE_OID};
use tusk_storage::snapshot::Snapshot;
use tusk_storage::toast::{self, ExternalPointer};
use tusk_storage::xact::{Release, ResourceOwner};

use super::{locator, oid_of, Engine, Session, Store, Vis};

/// A toast table's columns: chunk_id, chunk_seq, chunk_data.
const TOAST_TYPES: [Oid; 3] = [sqltypes::OID, sqltypes::INT4, sqltypes::BYTEA];

/// One backend's chunk map of one toast relation file (file comment).
#[derive(Default)]
pub(crate) struct ChunkMap {
    /// Blocks scanned so far (the last one is scanned again next time:
    /// it may have gained rows).
    scanned: u32,
    values: HashMap<u32, BTreeMap<i32, ItemPointer>>,
}

/// Chunks are usable unless dead by the vacuum rules (file comment).
struct ToastVis<'a, 'b>(&'a Vis<'b>);

impl heapam::Visibility for ToastVis<'_, '_> {
    fn visible(&self, t: &[u8]) -> bool {
        self.0.satisfies_vacuum(t) != HtsvResult::Dead
    }
    fn satisfies_update(&self, t: &[u8], cid: u32) -> TmResult {
        self.0.satisfies_update(t, cid)
    }
    fn satisfies_vacuum(&self, t: &[u8]) -> HtsvResult {
        self.0.satisfies_vacuum(t)
    }
    fn may_prune(&self, prune_xid: u64) -> bool {
        self.0.may_prune(prune_xid)
    }
}

/// chunk_id, chunk_seq and chunk_data of a chunk row.
fn chunk_parts(t: &[u8]) -> Result<(u32, i32, &[u8]), PgError> {
    let attrs = datum::attrs_for(&TOAST_TYPES)?;
    let d = heaptuple::deform_tuple(t, &attrs)?;
    match (d.first(), d.get(1), d.get(2)) {
        (
            Some(Some(Datum::ByVal(id))),
            Some(Some(Datum::ByVal(seq))),
            Some(Some(Datum::Ref(b))),
        ) => Ok((*id as u32, *seq as u32 as i32, b)),
        _ => Err(PgError::error(
            sqlstate::DATA_CORRUPTED,
            "invalid chunk row in toast table",
        )),
    }
}

/// Adds the chunks in blocks `from..` of `loc` to `map`: each block
/// pinned and share-locked once, only the keys read.
fn scan_chunks(
    store: &Store,
    vis: &Vis<'_>,
    loc: RelFileLocator,
    map: &mut ChunkMap,
    from: u32,
) -> Result<(), PgError> {
    let mut smgr = store.bm.smgr();
    if !smgr.exists(loc, Fork::Main)? {
        return Ok(());
    }
    let n = smgr.nblocks(loc, Fork::Main)?;
    drop(smgr);
    let tv = ToastVis(vis);
    for block in from..n {
        let mut owner = ResourceOwner::default();
        let pin = store.bm.read_buffer(&mut owner, loc, Fork::Main, block)?;
        let r = (|| {
            let l = store.bm.lock(&pin, LwMode::Shared);
            let p = l.page();
            if page::is_new(p) {
                return Ok(());
            }
            page::check_line_pointers(p).map_err(|e| e.to_pg_error())?;
            for offset in 1..=page::max_offset(p) {
                match page::item_id(p, offset) {
                    Some(id) if id.flags == LP_NORMAL => {}
                    _ => continue,
                }
                let Some(t) = page::get_item(p, offset) else {
                    continue;
                };
                heaptuple::check_header(t)?;
                if heapam::Visibility::visible(&tv, t) {
                    let (id, seq, _) = chunk_parts(t)?;
                    map.values
                        .entry(id)
                        .or_default()
                        .insert(seq, ItemPointer { block, offset });
                }
            }
            Ok::<(), PgError>(())
        })();
        store.bm.release(&mut owner, pin);
        owner.release_all(Release::Abort);
        r?;
    }
    vis.check()?;
    map.scanned = n.saturating_sub(1);
    Ok(())
}

/// The file of toast table `toast_oid` as `snap` sees pg_class (a scan
/// meeting a pointer resolves its toast table so).
pub(crate) fn toast_locator(
    store: &Store,
    engine: &Engine,
    snap: &Snapshot,
    current: &[u64],
    toast_oid: u32,
) -> Result<RelFileLocator, PgError> {
    let c = cat::catalog(PG_CLASS_OID);
    let loc = c.locator(store.db);
    let types_ = c.types();
    let vis = Vis::new(engine, store, snap, current);
    for b in 0..super::nblocks(store, loc)? {
        for (_, t) in super::read_page(store, &vis, loc, b)? {
            let r = datum::deform_row(&t, &types_)?;
            if oid_of(&r[c.col("oid")]) == toast_oid {
                return Ok(RelFileLocator {
                    spc: DEFAULTTABLESPACE_OID,
                    db: store.db,
                    rel: oid_of(&r[c.col("relfilenode")]),
                });
            }
        }
    }
    Err(PgError::error(
        sqlstate::DATA_CORRUPTED,
        format!("could not open toast relation with OID {toast_oid}"),
    ))
}

/// The stored bytes (`extsize` of them) of the out-of-line value `p`,
/// whose chunks are in the toast relation file `loc` (PostgreSQL's
/// toast_fetch_datum). The one chunk-lookup function (file comment).
pub(crate) fn fetch_value(
    store: &Store,
    engine: &Engine,
    current: &[u64],
    loc: RelFileLocator,
    p: &ExternalPointer,
) -> Result<Vec<u8>, PgError> {
    let snap = Snapshot::default();
    let vis = Vis::new(engine, store, &snap, current);
    let tv = ToastVis(&vis);
    let wal = XlogHeapWal(&engine.xlog);
    let heap = HeapRel::new(loc, &store.bm, &wal, &store.ext);
    let relname = format!("pg_toast_{}", p.toastrelid);
    let nchunks = p.nchunks();
    let mut maps = store.toast_maps.borrow_mut();
    let map = maps.entry(loc).or_default();
    let mut missing = 0usize;
    for attempt in 0..3 {
        match attempt {
            0 => {}
            1 => {
                let from = map.scanned;
                scan_chunks(store, &vis, loc, map, from)?;
            }
            _ => {
                *map = ChunkMap::default();
                scan_chunks(store, &vis, loc, map, 0)?;
            }
        }
        let Some(entry) = map.values.get(&p.valueid).cloned() else {
            continue;
        };
        let mut out = Vec::with_capacity(p.extsize());
        let mut ok = true;
        for seq in 0..nchunks {
            let Some(&tid) = entry.get(&(seq as i32)) else {
                missing = seq;
                ok = false;
                break;
            };
            let mut owner = ResourceOwner::default();
            let got = heap.fetch(&mut owner, &tv, tid);
            owner.release_all(Release::Abort);
            let Some(t) = got? else {
                missing = seq;
                ok = false;
                break;
            };
            let (id, s, data) = chunk_parts(&t)?;
            if id != p.valueid || s != seq as i32 {
                missing = seq;
                ok = false;
                break;
            }
            let expected = if seq + 1 < nchunks {
                toast::TOAST_MAX_CHUNK_SIZE
            } else {
                p.extsize() - (nchunks - 1) * toast::TOAST_MAX_CHUNK_SIZE
            };
            if data.len() != expected {
                return Err(PgError::error(
                    sqlstate::DATA_CORRUPTED,
                    format!(
                        "unexpected chunk size {} (expected {expected}) in chunk {seq} of {nchunks} for toast value {} in {relname}",
                        data.len(),
                        p.valueid
                    ),
                ));
            }
            out.extend_from_slice(data);
        }
        vis.check()?;
        if ok {
            return Ok(out);
        }
    }
    vis.check()?;
    Err(PgError::error(
        sqlstate::DATA_CORRUPTED,
        format!(
            "missing chunk number {missing} for toast value {} in {relname}",
            p.valueid
        ),
    ))
}

/// INSERT, UPDATE and DELETE of a toast table itself are refused, as
/// PostgreSQL's CheckValidResultRel does: its rows belong to the toaster.
pub(crate) fn refuse_change(rel: &Relation, t: TableRef) -> Result<(), PgError> {
    if t.namespace == PG_TOAST_NAMESPACE {
        return Err(PgError::error(
            codes::WRONG_OBJECT_TYPE,
            format!("cannot change TOAST relation \"{}\"", rel.name),
        ));
    }
    Ok(())
}

/// The largest size a column of this type can take, or None when it is
/// unbounded (PostgreSQL's type_maximum_size, UTF-8: 4 bytes a character).
fn max_size(c: &ColumnDef) -> Option<usize> {
    let t = c.ty.oid;
    if let Some(a) = datum::attr_for(t) {
        if a.len > 0 {
            return Some(a.len as usize);
        }
    }
    let m = c.ty.typmod;
    match t {
        sqltypes::VARCHAR | sqltypes::BPCHAR if m >= 4 => Some((m as usize - 4) * 4 + 4),
        sqltypes::NUMERIC if m >= 4 => {
            let precision = ((m - 4) >> 16) as usize & 0xFFFF;
            Some(8 + (precision.div_ceil(4) + 1) * 2)
        }
        _ => None,
    }
}

/// Does a table of these columns need a toast table (PostgreSQL's
/// needs_toast_table): a toastable column of unbounded size, or a row
/// that can exceed TOAST_TUPLE_THRESHOLD.
pub(crate) fn needs_toast_table(columns: &[ColumnDef]) -> bool {
    let mut total = page_header_estimate(columns.len());
    let mut toastable = false;
    for c in columns {
        let storage = cat::typstorage(c.ty.oid);
        match max_size(c) {
            None => {
                if storage != toast::STORAGE_PLAIN {
                    return true;
                }
            }
            Some(n) => total += n,
        }
        toastable |= storage != toast::STORAGE_PLAIN;
    }
    toastable && total > toast::TOAST_TUPLE_THRESHOLD
}

fn page_header_estimate(natts: usize) -> usize {
    tusk_storage::page::maxalign(heaptuple::SIZEOF_HEAP_TUPLE_HEADER + natts.div_ceil(8))
}

impl Session {
    /// The toast table of `t` (its pg_class reltoastrelid, and that
    /// table's current file), cached with the relation cache: across
    /// statements while this transaction has not changed the catalog,
    /// else for the current command only (a command id is never reused,
    /// not even after ROLLBACK TO SAVEPOINT). TRUNCATE, DROP and VACUUM
    /// FULL drop the cache ([`Session::forget_toast`]).
    pub(crate) fn toast_of(&self, t: TableRef) -> Result<Option<TableRef>, PgError> {
        let generation = self.catalog_generation();
        let cid = self.xact.command_id();
        {
            let mut cache = self.relcache.borrow_mut();
            if cache.generation != generation {
                cache.entries.clear();
                cache.toast.clear();
                cache.generation = generation;
            } else if let Some(&(r, valid)) = cache.toast.get(&t.oid) {
                if valid.is_none_or(|c| c == cid) {
                    return Ok(r);
                }
            }
        }
        let c = cat::catalog(PG_CLASS_OID);
        let mut toast_oid = 0;
        let mut rows = HashMap::new();
        for (_, r) in self.catalog_rows(PG_CLASS_OID)? {
            let oid = oid_of(&r[c.col("oid")]);
            if oid == t.oid {
                toast_oid = oid_of(&r[c.col("reltoastrelid")]);
            }
            rows.insert(oid, oid_of(&r[c.col("relfilenode")]));
        }
        let found = match rows.get(&toast_oid) {
            Some(&file) if toast_oid != 0 => Some(TableRef {
                oid: toast_oid,
                relfilenode: file,
                shared: false,
                namespace: PG_TOAST_NAMESPACE,
            }),
            _ => None,
        };
        let valid = self.catalog_changed.then_some(cid);
        self.relcache
            .borrow_mut()
            .toast
            .insert(t.oid, (found, valid));
        Ok(found)
    }

    /// Drops the cached toast links after this transaction changed one.
    pub(crate) fn forget_toast(&self) {
        self.relcache.borrow_mut().toast.clear();
    }

    /// Creates `pg_toast.pg_toast_<rel_oid>` with OID and file `toast_oid`
    /// (already claimed by `new_relation_oid`): its pg_class row (relkind
    /// 't') and three pg_attribute rows, all PLAIN so that a chunk is never
    /// itself toasted (PostgreSQL's create_toast_table).
    pub(crate) fn create_toast_table(
        &mut self,
        rel_oid: u32,
        toast_oid: u32,
    ) -> Result<(), PgError> {
        let c = cat::catalog(PG_CLASS_OID);
        let mut class = cat::class_row(
            toast_oid,
            &format!("pg_toast_{rel_oid}"),
            PG_TOAST_NAMESPACE,
            0,
            toast_oid,
            false,
            3,
            b'n',
        );
        class[c.col("relkind")] = Value::Char(b't');
        self.insert_catalog(PG_CLASS_OID, &class)?;
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        for (i, (name, ty)) in [
            ("chunk_id", TOAST_TYPES[0]),
            ("chunk_seq", TOAST_TYPES[1]),
            ("chunk_data", TOAST_TYPES[2]),
        ]
        .into_iter()
        .enumerate()
        {
            let mut row = cat::attribute_row(toast_oid, i as i16 + 1, name, ty, -1, true, false);
            row[a.col("attstorage")] = Value::Char(toast::STORAGE_PLAIN);
            self.insert_catalog(PG_ATTRIBUTE_OID, &row)?;
        }
        Ok(())
    }

    /// Writes one value's chunks into `toast` (PostgreSQL's
    /// toast_save_datum) as this transaction's rows; returns its pointer.
    fn save_value(
        &mut self,
        toast: TableRef,
        data: &[u8],
        rawsize: i32,
        extinfo: u32,
    ) -> Result<ExternalPointer, PgError> {
        let (store, engine) = self.table_parts()?;
        let loc = locator(store.db, toast);
        let current = self.current_xids();
        // A value id no chunk uses, by the map brought up to date.
        let valueid = {
            let snap = Snapshot::default();
            let vis = Vis::new(&engine, &store, &snap, &current);
            let mut maps = store.toast_maps.borrow_mut();
            let map = maps.entry(loc).or_default();
            let from = map.scanned;
            scan_chunks(&store, &vis, loc, map, from)?;
            vis.check()?;
            // From the shared OID counter (PostgreSQL's GetNewOidWithIndex
            // over the toast index): unique among values in flight too.
            loop {
                let id = self.new_oid()?;
                if !map.values.contains_key(&id) {
                    break id;
                }
            }
        };
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        let tids = self.with_heap(toast, |h, vis, owner| {
            let mut tids = Vec::new();
            for (seq, chunk) in data.chunks(toast::TOAST_MAX_CHUNK_SIZE).enumerate() {
                let tuple = datum::form_row(
                    &TOAST_TYPES,
                    &[
                        Value::Oid(valueid),
                        Value::Int4(seq as i32),
                        Value::Bytea(chunk.to_vec()),
                    ],
                )?;
                tids.push(h.insert(owner, vis, tuple, xid, cid)?);
            }
            Ok(tids)
        })?;
        let mut maps = store.toast_maps.borrow_mut();
        let entry = maps
            .entry(loc)
            .or_default()
            .values
            .entry(valueid)
            .or_default();
        for (seq, tid) in tids.into_iter().enumerate() {
            entry.insert(seq as i32, tid);
        }
        Ok(ExternalPointer {
            rawsize,
            extinfo,
            valueid,
            toastrelid: toast.oid,
        })
    }

    /// Deletes the chunks of `values` from `toast` with this transaction's
    /// xid (PostgreSQL's toast_delete_datum): they die with the row that
    /// named them. A chunk this transaction already deleted is skipped.
    pub(crate) fn delete_values(
        &mut self,
        toast: TableRef,
        values: &[ExternalPointer],
    ) -> Result<(), PgError> {
        if values.is_empty() {
            return Ok(());
        }
        let (store, engine) = self.table_parts()?;
        let loc = locator(store.db, toast);
        let current = self.current_xids();
        let mut tids = Vec::new();
        for p in values {
            // Bring the map up to date for this value (and check it).
            fetch_value(&store, &engine, &current, loc, p)?;
            let maps = store.toast_maps.borrow();
            if let Some(e) = maps.get(&loc).and_then(|m| m.values.get(&p.valueid)) {
                tids.extend(e.values().copied());
            }
        }
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        self.with_heap(toast, |h, vis, owner| {
            for &tid in &tids {
                match h.delete(owner, vis, tid, xid, cid)? {
                    Ok(()) => {}
                    Err(f) if f.result == TmResult::SelfModified => {}
                    Err(_) => {
                        return Err(PgError::error(
                            sqlstate::INTERNAL_ERROR,
                            "tuple concurrently updated",
                        ))
                    }
                }
            }
            Ok(())
        })
    }

    /// `row` as a tuple of `t`, through the toaster when it is wider than
    /// TOAST_TUPLE_THRESHOLD: compressed, and moved out of line into `t`'s
    /// toast table if it has one. `keep` holds out-of-line pointers an
    /// UPDATE re-uses. Returns the tuple and the values it saved (for the
    /// caller to delete again should the row not be stored).
    pub(crate) fn form_toasted(
        &mut self,
        t: TableRef,
        types_: &[Oid],
        row: &[Value],
        keep: &[Option<ExternalPointer>],
    ) -> Result<(Vec<u8>, Vec<ExternalPointer>), PgError> {
        if keep.iter().all(Option::is_none) {
            let tuple = datum::form_row(types_, row)?;
            if tuple.len() <= toast::TOAST_TUPLE_THRESHOLD {
                return Ok((tuple, Vec::new()));
            }
        }
        let storage: Vec<u8> = types_.iter().map(|&t| cat::typstorage(t)).collect();
        let toast_rel = self.toast_of(t)?;
        // An error leaves saved chunks behind only in a transaction that
        // is then aborted (their xmin dies with it).
        let mut saved = Vec::new();
        let tuple = match toast_rel {
            Some(tr) => {
                let mut save = |data: &[u8], raw: i32, ext: u32| {
                    let p = self.save_value(tr, data, raw, ext)?;
                    saved.push(p);
                    Ok(p)
                };
                datum::form_row_toasted(types_, row, &storage, keep, Some(&mut save))?
            }
            None => datum::form_row_toasted(types_, row, &storage, keep, None)?,
        };
        Ok((tuple, saved))
    }

    /// For an UPDATE of the row at `tid` to `row`: which of the old
    /// version's out-of-line values the new one keeps (its value is
    /// byte-equal: PostgreSQL's toast_tuple_init re-uses the pointer) and
    /// which it replaces (their chunks are deleted once the update is
    /// done).
    pub(crate) fn toast_keep(
        &self,
        t: TableRef,
        tid: ItemPointer,
        types_: &[Oid],
        row: &[Value],
    ) -> Result<(Vec<Option<ExternalPointer>>, Vec<ExternalPointer>), PgError> {
        // Without a toast table no row holds a pointer: no fetch needed.
        let Some(tr) = self.toast_of(t)? else {
            return Ok((Vec::new(), Vec::new()));
        };
        let Some(old) = self.stored_tuple(t, tid)? else {
            return Ok((Vec::new(), Vec::new()));
        };
        let ptrs = datum::external_pointers(&old, types_)?;
        if ptrs.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let (store, engine) = self.table_parts()?;
        let current = self.current_xids();
        let loc = locator(store.db, tr);
        let mut keep = vec![None; types_.len()];
        let mut replaced = Vec::new();
        for (i, p) in ptrs {
            let same = match row.get(i).map(|v| datum::to_datum(v, types_[i])) {
                Some(Ok(Some(datum::Owned::Ref(new)))) if new.len() + 4 == p.rawsize as usize => {
                    let old = toast::detoast(&p.encode(), &mut |q| {
                        fetch_value(&store, &engine, &current, loc, q)
                    })?;
                    old == new
                }
                _ => false,
            };
            if same {
                keep[i] = Some(p);
            } else {
                replaced.push(p);
            }
        }
        Ok((keep, replaced))
    }

    /// The row of `t` at `tid` as stored (any version), for its
    /// out-of-line pointers.
    pub(crate) fn stored_tuple(
        &self,
        t: TableRef,
        tid: ItemPointer,
    ) -> Result<Option<Vec<u8>>, PgError> {
        self.with_heap(t, |h, _, owner| h.fetch(owner, &super::SeeAll, tid))
    }

    /// A stored tuple's values with out-of-line ones fetched from `t`'s
    /// toast table.
    pub(crate) fn deform_detoast(
        &self,
        t: TableRef,
        tuple: &[u8],
        types_: &[Oid],
    ) -> Result<Vec<Value>, PgError> {
        if heaptuple::infomask(tuple) & heaptuple::HEAP_HASEXTERNAL == 0 {
            return datum::deform_row(tuple, types_);
        }
        let (store, engine) = self.table_parts()?;
        let current = self.current_xids();
        let toast_rel = self.toast_of(t)?;
        datum::deform_row_detoast(tuple, types_, &mut |p| match toast_rel {
            Some(tr) => fetch_value(&store, &engine, &current, locator(store.db, tr), p),
            None => Err(PgError::error(
                sqlstate::DATA_CORRUPTED,
                format!("toast value {} of a table without a toast table", p.valueid),
            )),
        })
    }
}
