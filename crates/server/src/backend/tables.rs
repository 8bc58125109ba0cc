//! Tables in a backend: the catalog read from its heap tables, heap scans as row sources, and the row changes and DDL of the SQL layer's `Tables`, over the shared buffer pool.
//!
//! Why this shape:
//! - **A catalog cache reset by a shared generation.** A relation is
//!   resolved through the indexes of pg_namespace, pg_class, pg_attribute
//!   (and pg_attrdef) in the shared buffer pool with a fresh catalog
//!   snapshot (tables/catindex.rs), and cached per backend. A transaction that changed the
//!   catalog bumps the shared catalog generation after it commits; a
//!   backend that sees the generation move drops its cache (the reset-all
//!   form of PostgreSQL's invalidation queue: one counter cannot overflow
//!   or lose a message, and DDL is rare).
//! - **Copied tuples, short pins.** A scan pins one page, copies the tuples
//!   its snapshot sees, unpins, and hands the rows out one at a time; it
//!   keeps its snapshot (a copy) and its position between calls, never a
//!   pin, so a portal suspended between Execute messages holds no buffer.
//! - **Visibility is storage's** ([`tusk_storage::visibility`]): MVCC for
//!   scans, the writer rules for update/delete, the vacuum rules for
//!   pruning, against this backend's proc array entry and the commit log.
//! - **Row locks by xid wait.** A writing transaction holds an exclusive
//!   lock on its xid in the lock manager; an update or delete that meets a
//!   row changed by a running transaction waits for a share lock on that
//!   xid (deadlock detection, lock_timeout), then (READ COMMITTED) moves to
//!   the newest version of the row and lets the SQL layer re-check it, or
//!   (REPEATABLE READ) fails with 40001.
//! - **Transactional files.** CREATE TABLE creates the file at once and
//!   schedules its removal if the transaction aborts; DROP TABLE schedules
//!   removal at commit (PostgreSQL's pending deletes). A crash between the
//!   two leaves a file no catalog row names: harmless garbage.
//! - **The extension lock is `flock`** on the relation's first segment:
//!   process-wide, released by closing, and cheap while the lock manager
//!   is not in the server.
//!
//! OIDs come from the cluster's shared counter (transam.rs, WAL-logged
//! ranges); a new relation's OID is also checked unused in pg_class and
//! claimed by creating its file, a database's by its directory.
//!
//! Not yet: unique names under concurrent CREATE TABLE of one name (the
//! catalog indexes are not unique-checked, tables/catindex.rs).
//!
//! Everything here runs in the backend that owns the session.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::rc::Rc;

use tusk_common::{sqlstate, PgError, Severity};
use tusk_sql::catalog::{codes, ColumnDef, Relation, RelationSource, TableRef};
use tusk_sql::types::{Oid, Ty};
use tusk_sql::{Row, RowSource, Value};
use tusk_storage::bufmgr::BufMgr;
use tusk_storage::catalog::{
    self as cat, PG_ATTRDEF_OID, PG_ATTRIBUTE_OID, PG_CATALOG_NAMESPACE, PG_CLASS_OID,
    PG_NAMESPACE_OID,
};
use tusk_storage::datum;
use tusk_storage::heapam::{self, ExtensionLock, HeapRel, HtsvResult, TmResult, UpdateOutcome};
use tusk_storage::heaptuple::{self, ItemPointer, SIZEOF_HEAP_TUPLE_HEADER};
use tusk_storage::heapwal::XlogHeapWal;
use tusk_storage::lmgr::{LockMode, LockTarget, WaitPolicy};
use tusk_storage::lwlock::LwMode;
use tusk_storage::page::{self, LP_NORMAL};
use tusk_storage::smgr::{relpath, Fork, RelFileLocator, DEFAULTTABLESPACE_OID};
use tusk_storage::snapshot::{self, Snapshot};
use tusk_storage::visibility::{self, ComboCids, ProcXactState, UpdateResult, VacuumResult};
use tusk_storage::xact::{Release, ResourceOwner};

use super::{Engine, Session};
use crate::shmem::ChildShared;

mod alter;
mod bulk;
mod catindex;
pub(crate) mod composite;
mod domain;
mod fkey;
mod funcs;
mod index;
mod inherit;
mod maint;
mod operators;
mod policy;
mod rangetype;
mod reloptions;
mod rowlock;
pub(super) mod sequence;
pub(crate) mod stats;
mod toast;
mod triggers;
mod usertype;
mod vacuum;
mod view;

pub(super) use index::{heap_blocks, index_choice, open_index_scan, open_ordered_scan};

/// The storage side of one session's tables: its buffer manager, its
/// database, and the extension lock.
pub(super) struct Store {
    pub bm: BufMgr,
    pub db: u32,
    ext: FlockExt,
    combos: ComboCids,
    /// Chunk maps of toast relation files (tables/toast.rs).
    toast_maps: RefCell<HashMap<RelFileLocator, toast::ChunkMap>>,
}

impl Store {
    pub fn new(bm: BufMgr, db: u32, data_dir: PathBuf) -> Store {
        Store {
            bm,
            db,
            ext: FlockExt {
                root: data_dir,
                held: RefCell::new(HashMap::new()),
            },
            combos: ComboCids::default(),
            toast_maps: RefCell::new(HashMap::new()),
        }
    }
}

/// The relation extension lock as an exclusive `flock` of the relation's
/// first segment file (see the file comment).
struct FlockExt {
    root: PathBuf,
    held: RefCell<HashMap<RelFileLocator, File>>,
}

impl ExtensionLock for FlockExt {
    fn lock(&self, rel: RelFileLocator) {
        // A missing file (never for a table CREATE TABLE made) leaves the
        // extension unlocked: heapam then creates the fork itself.
        if let Ok(f) = File::open(self.root.join(relpath(rel, Fork::Main))) {
            loop {
                // SAFETY: flock on a descriptor this function owns.
                let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
                if r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                    break;
                }
            }
            self.held.borrow_mut().insert(rel, f);
        }
    }
    fn unlock(&self, rel: RelFileLocator) {
        // Closing the descriptor releases the lock.
        self.held.borrow_mut().remove(&rel);
    }
}

/// The tuple header of `t`, copied so that visibility may set hint bits
/// on the copy (the page's own hint bits are left for later work).
fn header(t: &[u8]) -> [u8; 32] {
    let mut h = [0u8; 32];
    let n = t.len().min(SIZEOF_HEAP_TUPLE_HEADER);
    h[..n].copy_from_slice(&t[..n]);
    h
}

/// heapam's visibility oracle over storage's visibility rules for this
/// backend. An error from the commit log is kept and reported by the
/// caller after the heap call (the trait's methods cannot fail).
struct Vis<'a> {
    snap: &'a Snapshot,
    x: ProcXactState<'a, ChildShared>,
    horizon: std::cell::Cell<Option<u64>>,
    err: RefCell<Option<PgError>>,
}

impl<'a> Vis<'a> {
    fn new(
        engine: &'a Engine,
        store: &'a Store,
        snap: &'a Snapshot,
        current: &'a [u64],
    ) -> Vis<'a> {
        Vis {
            snap,
            x: ProcXactState {
                transam: &engine.transam,
                clog: engine.clog_for(),
                current,
                combos: &store.combos,
            },
            horizon: std::cell::Cell::new(None),
            err: RefCell::new(None),
        }
    }
    fn horizon(&self) -> u64 {
        if let Some(h) = self.horizon.get() {
            return h;
        }
        let h = snapshot::oldest_xmin(self.x.transam, self.x.clog.lw, self.x.clog.me);
        self.horizon.set(Some(h));
        h
    }
    fn keep(&self, e: PgError) {
        self.err.borrow_mut().get_or_insert(e);
    }
    fn check(&self) -> Result<(), PgError> {
        match self.err.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl heapam::Visibility for Vis<'_> {
    fn visible(&self, t: &[u8]) -> bool {
        let mut h = header(t);
        visibility::satisfies_mvcc(&mut h, self.snap, &self.x).unwrap_or_else(|e| {
            self.keep(e);
            false
        })
    }
    fn satisfies_update(&self, t: &[u8], cid: u32) -> TmResult {
        let mut h = header(t);
        match visibility::satisfies_update(&mut h, cid, ItemPointer::INVALID, &self.x) {
            Ok(UpdateResult::Ok) => TmResult::Ok,
            Ok(UpdateResult::Invisible) => TmResult::Invisible,
            Ok(UpdateResult::SelfModified) => TmResult::SelfModified,
            Ok(UpdateResult::BeingModified) => TmResult::BeingModified,
            Ok(UpdateResult::Updated) => TmResult::Updated,
            Ok(UpdateResult::Deleted) => TmResult::Deleted,
            Err(e) => {
                self.keep(e);
                TmResult::Invisible
            }
        }
    }
    fn satisfies_vacuum(&self, t: &[u8]) -> HtsvResult {
        let mut h = header(t);
        match visibility::satisfies_vacuum(&mut h, self.horizon(), &self.x) {
            Ok(VacuumResult::Dead) => HtsvResult::Dead,
            Ok(VacuumResult::Live) => HtsvResult::Live,
            Ok(VacuumResult::RecentlyDead) => HtsvResult::RecentlyDead,
            Ok(VacuumResult::InsertInProgress) => HtsvResult::InsertInProgress,
            Ok(VacuumResult::DeleteInProgress) => HtsvResult::DeleteInProgress,
            Err(e) => {
                self.keep(e);
                HtsvResult::Live
            }
        }
    }
    fn may_prune(&self, prune_xid: u64) -> bool {
        prune_xid < self.horizon()
    }
    fn is_current_xid(&self, xid: u64) -> bool {
        visibility::XactState::is_current(&self.x, xid)
    }
}

/// One catalog file's decoded rows by tuple position (block, offset),
/// each with the key of the bytes it was decoded from.
type DecodedRows = HashMap<(u32, u16), (Vec<u8>, Rc<Vec<Value>>)>;

thread_local! {
    /// [`Session::catalog_rows_shared`]'s decoded rows, per catalog file.
    static DECODED_ROWS: RefCell<HashMap<RelFileLocator, DecodedRows>> =
        RefCell::new(HashMap::new());
}

/// Writes into `k` what a decoded row depends on in heap tuple `t`: its xmin, its number
/// of attributes, the infomask bits that shape the layout (HASNULL,
/// HASVARWIDTH, HASEXTERNAL) and everything from t_hoff's byte on (null
/// bitmap and attributes). Hint bits, xmax and ctid are left out: they
/// change without changing the values. Equal keys decode to equal rows.
fn decoded_row_key(t: &[u8], k: &mut Vec<u8>) {
    k.clear();
    k.extend_from_slice(&t[heaptuple::T_OFF_XMIN..heaptuple::T_OFF_XMIN + 8]);
    let im2 = u16::from_le_bytes([
        t[heaptuple::T_OFF_INFOMASK2],
        t[heaptuple::T_OFF_INFOMASK2 + 1],
    ]);
    let im = u16::from_le_bytes([
        t[heaptuple::T_OFF_INFOMASK],
        t[heaptuple::T_OFF_INFOMASK + 1],
    ]);
    k.extend_from_slice(&(im2 & heaptuple::HEAP_NATTS_MASK).to_le_bytes());
    k.extend_from_slice(
        &(im & (heaptuple::HEAP_HASNULL
            | heaptuple::HEAP_HASVARWIDTH
            | heaptuple::HEAP_HASEXTERNAL))
            .to_le_bytes(),
    );
    k.extend_from_slice(&t[heaptuple::T_OFF_INFOMASK + 2..]);
}

/// The tuples of one page the snapshot sees, copied out (pin and share
/// lock held only inside).
fn read_page(
    store: &Store,
    vis: &Vis<'_>,
    loc: RelFileLocator,
    block: u32,
) -> Result<Vec<(ItemPointer, Vec<u8>)>, PgError> {
    let mut owner = ResourceOwner::default();
    let pin = store.bm.read_buffer(&mut owner, loc, Fork::Main, block)?;
    let r = (|| {
        let l = store.bm.lock(&pin, LwMode::Shared);
        let p = l.page();
        let mut out = Vec::new();
        if page::is_new(p) {
            return Ok(out);
        }
        page::check_line_pointers(p).map_err(|e| e.to_pg_error())?;
        for off in 1..=page::max_offset(p) {
            let Some(id) = page::item_id(p, off) else {
                continue;
            };
            if id.flags != LP_NORMAL {
                continue;
            }
            let Some(t) = page::get_item(p, off) else {
                continue;
            };
            heaptuple::check_header(t)?;
            if heapam::Visibility::visible(vis, t) {
                out.push((ItemPointer { block, offset: off }, t.to_vec()));
            }
        }
        Ok(out)
    })();
    store.bm.release(&mut owner, pin);
    owner.release_all(Release::Abort);
    vis.check()?;
    r
}

fn nblocks(store: &Store, loc: RelFileLocator) -> Result<u32, PgError> {
    let mut smgr = store.bm.smgr();
    if !smgr.exists(loc, Fork::Main)? {
        return Err(PgError::error(
            sqlstate::UNDEFINED_FILE,
            format!(
                "could not open file \"{}\": No such file or directory",
                relpath(loc, Fork::Main)
            ),
        ));
    }
    smgr.nblocks(loc, Fork::Main)
}

fn ctid_text(t: ItemPointer) -> String {
    format!("({},{})", t.block, t.offset)
}

fn parse_ctid(s: &str) -> Result<ItemPointer, PgError> {
    let bad = || PgError::error(sqlstate::INTERNAL_ERROR, format!("invalid ctid \"{s}\""));
    let inner = s
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(bad)?;
    let (b, o) = inner.split_once(',').ok_or_else(bad)?;
    Ok(ItemPointer {
        block: b.trim().parse().map_err(|_| bad())?,
        offset: o.trim().parse().map_err(|_| bad())?,
    })
}

/// A scan of a stored table: the rows its snapshot sees, each followed by
/// the system columns ctid, xmin, xmax, tableoid.
pub(super) struct TableScan {
    store: Rc<Store>,
    engine: Rc<Engine>,
    snap: Snapshot,
    current: Vec<u64>,
    loc: RelFileLocator,
    types: Vec<Oid>,
    /// Stored places of dropped columns, removed from each row.
    rel: Relation,
    tableoid: u32,
    nblocks: u32,
    next_block: u32,
    rows: VecDeque<(ItemPointer, Vec<u8>)>,
    /// The toast table file of the pointers met so far (by toast OID).
    toast: Option<(u32, RelFileLocator)>,
}

impl TableScan {
    pub fn open(
        store: Rc<Store>,
        engine: Rc<Engine>,
        snap: Snapshot,
        current: Vec<u64>,
        rel: &Relation,
        t: TableRef,
    ) -> Result<TableScan, PgError> {
        let loc = locator(store.db, t);
        // Another backend may have dropped and re-created this relfilenode
        // since this process last opened it.
        store.bm.smgr().close(loc);
        let n = nblocks(&store, loc)?;
        Ok(TableScan {
            store,
            engine,
            snap,
            current,
            loc,
            types: rel.physical_types(),
            rel: rel.clone(),
            tableoid: t.oid,
            nblocks: n,
            next_block: 0,
            rows: VecDeque::new(),
            toast: None,
        })
    }
}

fn with_system_columns(mut row: Row, tid: ItemPointer, t: &[u8], tableoid: u32) -> Row {
    row.push(Value::Text(ctid_text(tid)));
    // xid columns hold the low 32 bits, as 4-byte values (see datum.rs).
    row.push(Value::Oid(heaptuple::xmin(t) as u32));
    let xmax = if heaptuple::infomask(t) & heaptuple::HEAP_XMAX_INVALID != 0 {
        0
    } else {
        heaptuple::xmax(t)
    };
    row.push(Value::Oid(xmax as u32));
    row.push(Value::Oid(tableoid));
    row
}

impl TableScan {
    /// A row holding out-of-line values, fetched from the toast table
    /// its pointers name (resolved once per scan).
    fn deform_detoast(&mut self, t: &[u8]) -> Result<Row, PgError> {
        let (store, engine) = (self.store.clone(), self.engine.clone());
        let (snap, current) = (&self.snap, &self.current);
        let cached = &mut self.toast;
        datum::deform_row_detoast(t, &self.types, &mut |p| {
            let loc = match *cached {
                Some((oid, loc)) if oid == p.toastrelid => loc,
                _ => {
                    let loc = toast::toast_locator(&store, &engine, snap, current, p.toastrelid)?;
                    *cached = Some((p.toastrelid, loc));
                    loc
                }
            };
            toast::fetch_value(&store, &engine, current, loc, p)
        })
    }
}

impl RowSource for TableScan {
    fn next_row(&mut self) -> Result<Option<Row>, PgError> {
        loop {
            if let Some((tid, t)) = self.rows.pop_front() {
                let row = if heaptuple::infomask(&t) & heaptuple::HEAP_HASEXTERNAL != 0 {
                    self.deform_detoast(&t)?
                } else {
                    datum::deform_row(&t, &self.types)?
                };
                let row = self.rel.from_physical(row);
                return Ok(Some(with_system_columns(row, tid, &t, self.tableoid)));
            }
            if self.next_block >= self.nblocks {
                return Ok(None);
            }
            let block = self.next_block;
            self.next_block += 1;
            let vis = Vis::new(&self.engine, &self.store, &self.snap, &self.current);
            self.rows = read_page(&self.store, &vis, self.loc, block)?.into();
        }
    }
    fn close(&mut self) {
        self.rows.clear();
        self.next_block = self.nblocks;
    }
}

fn locator(db: u32, t: TableRef) -> RelFileLocator {
    if t.shared {
        RelFileLocator {
            spc: tusk_storage::smgr::GLOBALTABLESPACE_OID,
            db: 0,
            rel: t.relfilenode,
        }
    } else {
        RelFileLocator {
            spc: DEFAULTTABLESPACE_OID,
            db,
            rel: t.relfilenode,
        }
    }
}

fn catalog_ref(oid: u32) -> TableRef {
    let c = cat::catalog(oid);
    TableRef {
        oid,
        relfilenode: oid,
        shared: c.shared,
        namespace: PG_CATALOG_NAMESPACE,
    }
}

fn oid_of(v: &Value) -> u32 {
    match v {
        Value::Oid(o) => *o,
        _ => 0,
    }
}

fn name_of(v: &Value) -> &str {
    match v {
        Value::Name(s) | Value::Text(s) => s,
        _ => "",
    }
}

/// The per-backend catalog cache: resolved relations by (schema, name,
/// search_path), valid for one catalog generation.
#[derive(Default)]
pub(super) struct RelCache {
    generation: u64,
    entries: HashMap<(Option<String>, String, String), Relation>,
    /// Toast tables by main table OID (tables/toast.rs `toast_of`).
    /// (the toast table, None = valid across commands, or the command id
    /// it is valid for).
    toast: HashMap<u32, (Option<TableRef>, Option<u32>)>,
}

/// What a statement needs to read tables: the pieces a scan keeps.
pub(super) struct TableCtx {
    pub store: Rc<Store>,
    pub engine: Rc<Engine>,
    pub snap: Snapshot,
    pub current: Vec<u64>,
}

impl Session {
    fn table_parts(&self) -> Result<(Rc<Store>, Rc<Engine>), PgError> {
        match (&self.store, &self.engine) {
            (Some(s), Some(e)) => Ok((s.clone(), e.clone())),
            _ => Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "tables are not available in this session",
            )
            .with_hint(
                "The buffer pool or the commit log could not be attached; see the server log.",
            )),
        }
    }

    /// Every xid of this transaction a row written by it may carry: the
    /// top level's and its subtransactions' not rolled back
    /// (TransactionIdIsCurrentTransactionId). Only the innermost level's
    /// made the parent's own rows invisible inside a savepoint.
    fn current_xids(&self) -> Vec<u64> {
        self.xact.current_xids()
    }

    fn repeatable_read(&self) -> Result<bool, PgError> {
        let iso = tusk_sql::Host::show(self, "transaction_isolation")?;
        match iso.as_str() {
            "repeatable read" => Ok(true),
            "serializable" => Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "SERIALIZABLE isolation level is not supported",
            )
            .with_hint("Use REPEATABLE READ, which tusk runs as PostgreSQL does.")),
            _ => Ok(false),
        }
    }

    /// The snapshot of the running statement: a new one per statement in
    /// READ COMMITTED, the transaction's first in REPEATABLE READ; its
    /// command id is the current one.
    pub(super) fn statement_snapshot(&self) -> Result<Snapshot, PgError> {
        let (_, engine) = self.table_parts()?;
        let cid = self.xact.command_id();
        let rr = self.repeatable_read()?;
        self.xact_local.snapshot_taken.set(true);
        let mut kept = self.rr_snapshot.borrow_mut();
        if rr {
            if let Some(s) = kept.as_ref() {
                let mut s = s.clone();
                s.curcid = cid;
                return Ok(s);
            }
        }
        let mut s = Snapshot::with_capacity(self.procs.len());
        snapshot::get_snapshot_data(
            &engine.transam,
            &self.shared,
            self.slot as u32,
            &mut s,
            !rr || kept.is_none(),
        );
        s.curcid = cid;
        if rr {
            *kept = Some(s.clone());
        }
        Ok(s)
    }

    /// A snapshot for catalog reads: the latest committed state, and this
    /// transaction's own earlier commands.
    fn catalog_snapshot(&self) -> Result<Snapshot, PgError> {
        let (_, engine) = self.table_parts()?;
        let mut s = Snapshot::with_capacity(self.procs.len());
        snapshot::get_snapshot_data(
            &engine.transam,
            &self.shared,
            self.slot as u32,
            &mut s,
            false,
        );
        s.curcid = self.xact.command_id();
        Ok(s)
    }

    /// What the executor needs to scan tables, for a statement that may
    /// read them (SELECT, INSERT, UPDATE, DELETE): the statement's
    /// snapshot is taken now. `None` for other statements; an error (no
    /// storage, SERIALIZABLE) is kept for the first table scan to report.
    pub(super) fn table_ctx(&self, p: &tusk_sql::Prepared) -> Option<Result<TableCtx, PgError>> {
        use tusk_sql::Command;
        // Stored enum values are read through the type registry.
        if let Err(e) = self.refresh_user_types() {
            return Some(Err(e));
        }
        if !matches!(
            p.command(),
            Command::Select
                | Command::Other(
                    "INSERT"
                        | "UPDATE"
                        | "DELETE"
                        | "MERGE"
                        | "COPY"
                        | "ALTER TABLE"
                        | "EXPLAIN"
                        | "DECLARE CURSOR"
                        // view.rs: CREATE TABLE AS, SELECT INTO, materialized views
                        | "CREATE TABLE AS"
                        | "SELECT"
                        | "CREATE MATERIALIZED VIEW"
                        | "REFRESH MATERIALIZED VIEW"
                )
        ) {
            return None;
        }
        Some((|| {
            let (store, engine) = self.table_parts()?;
            let snap = self.statement_snapshot()?;
            Ok(TableCtx {
                store,
                engine,
                snap,
                current: self.current_xids(),
            })
        })())
    }

    /// Every row of a catalog the catalog snapshot sees, with its TID.
    /// `t`'s pg_class row (TID and columns), read now; `missing` is the
    /// error when it is gone (dropped by a transaction that committed
    /// since the name was resolved).
    pub(super) fn class_row(
        &self,
        t: TableRef,
        missing: impl FnOnce() -> PgError,
    ) -> Result<(ItemPointer, Vec<Value>), PgError> {
        self.catalog_by_oid(cat::PG_CLASS_OID_INDEX, t.oid)?
            .ok_or_else(missing)
    }

    /// Points a table's pg_class row (`tid`, `class`) at a new file
    /// (TRUNCATE, VACUUM FULL): an update of the catalog row by this
    /// transaction, so the swap commits or aborts with it.
    pub(super) fn set_relfilenode(
        &mut self,
        tid: ItemPointer,
        mut class: Vec<Value>,
        new_file: u32,
        xid: u64,
        cid: u32,
    ) -> Result<(), PgError> {
        let c = cat::catalog(PG_CLASS_OID);
        self.catalog_changed = true;
        // Index lists cached while this transaction changed nothing
        // are stale now (index::cached_indexes).
        index::forget_cache();
        class[c.col("relfilenode")] = Value::Oid(new_file);
        let tuple = datum::form_row(&c.types(), &class)?;
        match self.with_heap(catalog_ref(PG_CLASS_OID), |h, vis, owner| {
            h.update(owner, vis, tid, tuple, xid, cid)
        })? {
            UpdateOutcome::Updated { new, .. } => {
                self.catalog_index_insert(PG_CLASS_OID, &class, new)
            }
            UpdateOutcome::Failed(_) => Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "tuple concurrently updated",
            )),
        }
    }

    fn catalog_rows(&self, oid: u32) -> Result<Vec<(ItemPointer, Vec<Value>)>, PgError> {
        let (store, engine) = self.table_parts()?;
        let snap = self.catalog_snapshot()?;
        let current = self.current_xids();
        let c = cat::catalog(oid);
        let loc = c.locator(store.db);
        let types_ = c.types();
        let vis = Vis::new(&engine, &store, &snap, &current);
        let mut out = Vec::new();
        for b in 0..nblocks(&store, loc)? {
            for (tid, t) in read_page(&store, &vis, loc, b)? {
                out.push((tid, datum::deform_row(&t, &types_)?));
            }
        }
        Ok(out)
    }

    /// [`Self::catalog_rows`] for scans that run after every DDL (the type
    /// registry's reload): the visible rows of catalog `oid`, each decoded
    /// once per backend and shared. A row is decoded again only when its
    /// tuple's bytes differ from those it was decoded from (see
    /// [`decoded_row_key`]), so a reload after one CREATE TABLE decodes
    /// the two new pg_type rows, not the thousands already known —
    /// without the cache, DDL in a database of many tables is quadratic.
    pub(in crate::backend) fn catalog_rows_shared(
        &self,
        oid: u32,
    ) -> Result<Vec<Rc<Vec<Value>>>, PgError> {
        let (store, engine) = self.table_parts()?;
        let snap = self.catalog_snapshot()?;
        let current = self.current_xids();
        let c = cat::catalog(oid);
        let loc = c.locator(store.db);
        let types_ = c.types();
        let vis = Vis::new(&engine, &store, &snap, &current);
        let mut old = DECODED_ROWS.with(|d| d.borrow_mut().remove(&loc).unwrap_or_default());
        let mut kept = DecodedRows::new();
        let mut out = Vec::new();
        // One buffer for every row's key: a row seen before keeps the key
        // it was stored with, so only new or changed rows allocate.
        let mut key = Vec::new();
        for b in 0..nblocks(&store, loc)? {
            for (tid, t) in read_page(&store, &vis, loc, b)? {
                let at = (tid.block, tid.offset);
                decoded_row_key(&t, &mut key);
                let entry = match old.remove(&at) {
                    Some((k, row)) if k == key => (k, row),
                    _ => (key.clone(), Rc::new(datum::deform_row(&t, &types_)?)),
                };
                out.push(entry.1.clone());
                kept.insert(at, entry);
            }
        }
        DECODED_ROWS.with(|d| d.borrow_mut().insert(loc, kept));
        Ok(out)
    }

    fn namespace_oid(&self, name: &str) -> Result<Option<u32>, PgError> {
        if name == "pg_temp" {
            return Ok(view::my_temp_namespace());
        }
        let oi = cat::catalog(PG_NAMESPACE_OID).col("oid");
        Ok(self
            .catalog_lookup(cat::PG_NAMESPACE_NSPNAME_INDEX, &[Value::Name(name.into())])?
            .into_iter()
            .next()
            .map(|(_, r)| oid_of(&r[oi])))
    }

    /// search_path as namespace OIDs, pg_catalog first unless listed
    /// ("$user" is the session user's schema, if it exists).
    fn search_path(&self) -> Result<Vec<u32>, PgError> {
        let sp = tusk_sql::Host::show(self, "search_path")?;
        let mut out = Vec::new();
        for item in sp.split(',') {
            let item = item.trim();
            let name = if item == "\"$user\"" || item == "$user" {
                self.id.user.clone()
            } else if let Some(q) = item.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                q.replace("\"\"", "\"")
            } else {
                item.to_lowercase()
            };
            if let Some(o) = self.namespace_oid(&name)? {
                out.push(o);
            }
        }
        if !out.contains(&PG_CATALOG_NAMESPACE) {
            out.insert(0, PG_CATALOG_NAMESPACE);
        }
        // The session's temporary schema is searched first unless listed
        // (`pg_temp`), as PostgreSQL's.
        if let Some(t) = view::my_temp_namespace() {
            let listed = sp.split(',').position(|i| i.trim() == "pg_temp");
            if listed.is_none() {
                out.insert(0, t);
            } else {
                let mut with = Vec::new();
                for item in sp.split(',') {
                    let item = item.trim();
                    if item == "pg_temp" {
                        with.push(t);
                    } else if let Some(o) = self.namespace_oid(item.trim_matches('"'))? {
                        if out.contains(&o) && !with.contains(&o) {
                            with.push(o);
                        }
                    }
                }
                if !with.contains(&PG_CATALOG_NAMESPACE) {
                    with.insert(0, PG_CATALOG_NAMESPACE);
                }
                out = with;
            }
        }
        Ok(out)
    }

    /// The pg_class row (TID, values) of `name` in the first namespace of
    /// `nss` holding it.
    fn find_class(
        &self,
        nss: &[u32],
        name: &str,
    ) -> Result<Option<(ItemPointer, Vec<Value>)>, PgError> {
        for ns in nss {
            let key = [Value::Name(name.into()), Value::Oid(*ns)];
            if let Some(r) = self
                .catalog_lookup(cat::PG_CLASS_RELNAME_NSP_INDEX, &key)?
                .into_iter()
                .next()
            {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    fn schema_or_error(&self, schema: &str) -> Result<u32, PgError> {
        self.namespace_oid(schema)?.ok_or_else(|| {
            PgError::error(
                codes::INVALID_SCHEMA_NAME,
                format!("schema \"{schema}\" does not exist"),
            )
        })
    }

    /// A table by name, from the catalog cache or the catalog. The cache
    /// holds what the catalog said for (schema, name, search_path) and is
    /// dropped whole when the shared catalog generation moved (another
    /// session committed DDL) or this transaction does DDL itself. Only
    /// found tables are cached: a table created later is found by the
    /// next lookup.
    pub(super) fn lookup_table_impl(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<Relation>, PgError> {
        self.lookup_locked(schema, name, LockMode::AccessShare, false)
    }

    /// [`Self::lookup_table_impl`] taking `mode` (LOCK TABLE's) instead of
    /// AccessShare; `nowait` fails at once when the lock is taken.
    fn lookup_locked(
        &self,
        schema: Option<&str>,
        name: &str,
        mode: LockMode,
        nowait: bool,
    ) -> Result<Option<Relation>, PgError> {
        // Resolve, lock, and resolve again if a DDL committed meanwhile
        // (the lock may have waited for it: PostgreSQL's RangeVarGetRelid
        // retry after AcceptInvalidationMessages).
        if let (Some(s), false) = (schema, self.id.is_superuser) {
            if let Some(nsp) = self.namespace_oid(s)? {
                self.check_schema_privilege(nsp, tusk_sql::acl::USAGE)?;
            }
        }
        for _ in 0..10 {
            let before = self.catalog_generation();
            let Some(r) = self.resolve_table(schema, name)? else {
                return Ok(None);
            };
            if let RelationSource::Table(t) = r.source {
                self.lock_relation_with(t, mode, nowait)?;
                // Index scans find the table's indexes in the cache.
                self.warm_indexes(t)?;
            }
            if self.catalog_generation() == before {
                return Ok(Some(r));
            }
        }
        self.resolve_table(schema, name)
    }

    fn catalog_generation(&self) -> u64 {
        self.shared
            .control()
            .catalog_generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    fn resolve_table(&self, schema: Option<&str>, name: &str) -> Result<Option<Relation>, PgError> {
        if self.table_parts().is_err() {
            return Ok(None);
        }
        let generation = self
            .shared
            .control()
            .catalog_generation
            .load(std::sync::atomic::Ordering::Acquire);
        let key = (
            schema.map(str::to_string),
            name.to_string(),
            tusk_sql::Host::show(self, "search_path")?,
        );
        {
            let mut cache = self.relcache.borrow_mut();
            if cache.generation != generation || self.catalog_changed {
                cache.entries.clear();
                cache.toast.clear();
                cache.generation = generation;
            } else if let Some(r) = cache.entries.get(&key) {
                return Ok(Some(r.clone()));
            }
        }
        let found = self.lookup_table_uncached(schema, name)?;
        if let Some(r) = &found {
            if !self.catalog_changed {
                self.relcache.borrow_mut().entries.insert(key, r.clone());
            }
        }
        Ok(found)
    }

    fn lookup_table_uncached(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<Relation>, PgError> {
        // A schema that does not exist is "relation does not exist" for a
        // lookup (PostgreSQL's RangeVarGetRelid with missing_ok).
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
        let oid = oid_of(&class[c.col("oid")]);
        let nsp = oid_of(&class[c.col("relnamespace")]);
        let relkind = &class[c.col("relkind")];
        // Toast tables ('t') can be read like tables, as in PostgreSQL.
        // A sequence ('S') reads as its one row (last_value, log_cnt,
        // is_called), as in PostgreSQL. A foreign table ('f') resolves
        // like a table; reading it fails in the SQL layer (no wrapper
        // handler runs in tusk).
        if !matches!(
            relkind,
            Value::Char(b'r' | b't' | b'S' | b'v' | b'm' | b'p' | b'f')
        ) {
            return Ok(None);
        }
        if *relkind == Value::Char(b'S') {
            sequence::note_sequence(oid);
        }
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        let mut cols: Vec<(i16, ColumnDef, bool)> = Vec::new();
        let mut dropped: Vec<(usize, Oid)> = Vec::new();
        let mut col_acls = Vec::new();
        for (_, r) in
            self.catalog_lookup(cat::PG_ATTRIBUTE_RELID_ATTNUM_INDEX, &[Value::Oid(oid)])?
        {
            let Value::Int2(num) = r[a.col("attnum")] else {
                continue;
            };
            if let Value::Text(acl) = &r[a.col("attacl")] {
                col_acls.push((num, acl.clone()));
            }
            if num <= 0 {
                continue;
            }
            if r[a.col("attisdropped")] == Value::Bool(true) {
                dropped.push((num as usize - 1, oid_of(&r[a.col("atttypid")])));
                continue;
            }
            let Value::Int4(typmod) = r[a.col("atttypmod")] else {
                continue;
            };
            let typid = oid_of(&r[a.col("atttypid")]);
            // A domain column: its values are the base type's (the
            // registry is current before tables are read); an array of
            // a domain holds the base type's array.
            let domain = tusk_sql::usertype::reg::domain_type(typid);
            let ty = match &domain {
                Some(d) => {
                    let base = tusk_sql::domain::base_ty(d);
                    Ty::with_mod(base.oid, if typmod >= 0 { typmod } else { base.typmod })
                }
                None => match tusk_sql::domain::array_domain(typid) {
                    Some(e) => {
                        let base = tusk_sql::domain::base_ty(&e);
                        let arr = tusk_sql::types::array::array_type(base.oid).unwrap_or(typid);
                        Ty::with_mod(arr, base.typmod)
                    }
                    None => Ty::with_mod(typid, typmod),
                },
            };
            let mut d = ColumnDef::new(name_of(&r[a.col("attname")]), ty);
            if tusk_sql::domain::array_domain(typid).is_some() {
                d.domain = Some(typid);
            }
            if let Some(dom) = &domain {
                d.domain = Some(dom.oid);
                // A column without a default of its own takes its
                // domain's (the nearest one that has one).
                if d.default.is_none() {
                    d.default = tusk_sql::domain::default_of(dom.oid);
                }
            }
            d.not_null = r[a.col("attnotnull")] == Value::Bool(true);
            if let Value::Char(k @ (b'a' | b'd')) = r[a.col("attidentity")] {
                d.identity = Some(k);
            }
            // A stored generated column: its pg_attrdef row is the
            // generation expression, read below into `generated`.
            if r[a.col("attgenerated")] == Value::Char(b's') {
                d.generated = Some(String::new());
            }
            cols.push((num, d, r[a.col("atthasdef")] == Value::Bool(true)));
        }
        cols.sort_by_key(|c| c.0);
        if cols.iter().any(|c| c.2) {
            let d = cat::catalog(PG_ATTRDEF_OID);
            for (_, r) in
                self.catalog_lookup(cat::PG_ATTRDEF_ADRELID_ADNUM_INDEX, &[Value::Oid(oid)])?
            {
                let Value::Int2(num) = r[d.col("adnum")] else {
                    continue;
                };
                if let Some(c) = cols.iter_mut().find(|c| c.0 == num) {
                    let text = name_of(&r[d.col("adbin")]).to_string();
                    if c.1.generated.is_some() {
                        c.1.generated = Some(text);
                    } else {
                        c.1.default = Some(text);
                    }
                }
            }
        }
        let schema_name = if nsp == PG_CATALOG_NAMESPACE {
            "pg_catalog".to_string()
        } else {
            let n = cat::catalog(PG_NAMESPACE_OID);
            self.catalog_by_oid(cat::PG_NAMESPACE_OID_INDEX, nsp)?
                .map(|(_, r)| name_of(&r[n.col("nspname")]).to_string())
                .unwrap_or_default()
        };
        dropped.sort_unstable();
        let mut rel = Relation::new(
            &schema_name,
            name,
            cols.into_iter().map(|c| c.1).collect(),
            RelationSource::Table(TableRef {
                oid,
                relfilenode: oid_of(&class[c.col("relfilenode")]),
                shared: class[c.col("relisshared")] == Value::Bool(true),
                namespace: nsp,
            }),
        );
        rel.dropped = dropped;
        rel.col_acls = col_acls;
        rel.owner = oid_of(&class[c.col("relowner")]);
        if let Value::Array(a) = &class[c.col("reloptions")] {
            let items: Vec<String> = a
                .items
                .iter()
                .filter_map(tusk_sql::value::to_text)
                .collect();
            self.note_fillfactor(oid, &items);
        } else {
            self.note_fillfactor(oid, &[]);
        }
        if let Value::Text(acl) = &class[c.col("relacl")] {
            rel.acl = Some(acl.clone());
        }
        if let Value::Char(k) = relkind {
            rel.relkind = *k;
        }
        if matches!(relkind, Value::Char(b'v' | b'm')) {
            rel.view_query = self.view_query(oid)?;
            if *relkind == Value::Char(b'v') {
                if let RelationSource::Table(t) = rel.source {
                    rel.source = RelationSource::View(t);
                }
            }
        }
        if class[c.col("relchecks")] != Value::Int2(0) {
            rel.checks = self.check_constraints(oid)?;
        }
        if class[c.col("relhastriggers")] == Value::Bool(true) {
            (rel.foreign_keys, rel.referenced_by) = self.foreign_keys(oid)?;
        }
        if *relkind == Value::Char(b'p') {
            rel.partkey = self.partition_key(&rel, oid)?.map(Box::new);
        }
        if let Value::Text(b) = &class[c.col("relpartbound")] {
            rel.partbound = Some(b.as_str().into());
        }
        if class[c.col("relhassubclass")] == Value::Bool(true) {
            rel.children = self.inherit_descendants(&rel)?;
        }
        if class[c.col("relrowsecurity")] == Value::Bool(true) {
            let force = class[c.col("relforcerowsecurity")] == Value::Bool(true);
            rel.rls = Some(Box::new(self.row_security(oid, force)?));
        }
        Ok(Some(rel))
    }

    /// Runs `f` with a heap handle on `t` and a visibility oracle over the
    /// statement's snapshot.
    fn with_heap<R>(
        &self,
        t: TableRef,
        f: impl FnOnce(&HeapRel<'_>, &Vis<'_>, &mut ResourceOwner) -> Result<R, PgError>,
    ) -> Result<R, PgError> {
        let (store, engine) = self.table_parts()?;
        // Writes judge rows by the commit log and the proc array, not by
        // a snapshot (PostgreSQL's HeapTupleSatisfiesUpdate): none needed.
        let snap = Snapshot::default();
        let current = self.current_xids();
        let wal = XlogHeapWal(&engine.xlog);
        let loc = locator(store.db, t);
        let heap = HeapRel::new(loc, &store.bm, &wal, &store.ext);
        heap.set_target_block(self.heap_targets.borrow().get(&loc).copied());
        heap.set_fillfactor(self.fillfactor_of(t.oid));
        if cat::indexes_of_catalog(t.oid).next().is_some() {
            // A catalog with indexes: every version gets its own index
            // entries (tables/catindex.rs), so none may be heap-only.
            heap.set_hot_allowed(false);
        }
        let vis = Vis::new(&engine, &store, &snap, &current);
        let mut owner = ResourceOwner::default();
        let r = f(&heap, &vis, &mut owner);
        if let Some(b) = heap.target_block() {
            self.heap_targets.borrow_mut().insert(loc, b);
        }
        owner.release_all(Release::Abort);
        vis.check()?;
        r
    }

    fn insert_row(
        &mut self,
        t: TableRef,
        types_: &[Oid],
        row: &[Value],
    ) -> Result<ItemPointer, PgError> {
        let (tuple, _) = self.form_toasted(t, types_, row, &[])?;
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        self.with_heap(t, |h, vis, owner| h.insert(owner, vis, tuple, xid, cid))
    }

    fn insert_catalog(&mut self, oid: u32, row: &[Value]) -> Result<(), PgError> {
        self.catalog_changed = true;
        // Index lists cached while this transaction changed nothing
        // are stale now (index::cached_indexes).
        index::forget_cache();
        let types_ = cat::catalog(oid).types();
        let tid = self.insert_row(catalog_ref(oid), &types_, row)?;
        self.catalog_index_insert(oid, row, tid)
    }

    /// Deletes a catalog row found by a catalog scan (PostgreSQL's
    /// simple_heap_delete: a concurrent change is an error).
    fn delete_catalog(&mut self, oid: u32, tid: ItemPointer) -> Result<(), PgError> {
        self.catalog_changed = true;
        // Index lists cached while this transaction changed nothing
        // are stale now (index::cached_indexes).
        index::forget_cache();
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        match self.with_heap(catalog_ref(oid), |h, vis, owner| {
            h.delete(owner, vis, tid, xid, cid)
        })? {
            Ok(()) => Ok(()),
            Err(_) => Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "tuple concurrently updated",
            )),
        }
    }

    /// A new OID from the cluster's shared counter (PostgreSQL's
    /// GetNewObjectId; the NEXTOID record goes through this backend's
    /// WAL). Callers check it is unused where that matters
    /// ([`Self::new_unused_oid`]).
    pub(crate) fn new_oid(&self) -> Result<u32, PgError> {
        let (_, engine) = self.table_parts()?;
        let log = |next: u32| {
            engine
                .xlog
                .xlog_insert(
                    tusk_storage::wal::RM_XLOG_ID,
                    tusk_storage::xlog::XLOG_NEXTOID,
                    0,
                    &next.to_le_bytes(),
                    vec![],
                )
                .map(|_| ())
                .map_err(|e| e.to_pg_error(tusk_common::Severity::Error))
        };
        engine.transam.new_oid(&self.shared, self.slot as u32, &log)
    }

    /// A new OID that no row of the catalogs `cols` ((catalog OID, column)
    /// pairs) holds: PostgreSQL's GetNewOidWithIndex, by a scan until the
    /// catalogs have indexes. Collisions happen only after the 32-bit
    /// counter wrapped.
    pub(crate) fn new_unused_oid(&self, cols: &[(u32, &str)]) -> Result<u32, PgError> {
        // Columns with an index are probed per candidate (PostgreSQL's
        // GetNewOidWithIndex); any other is collected by one scan.
        let mut probes: Vec<(u32, &[Value])> = Vec::new();
        let mut used = std::collections::HashSet::new();
        for &(catoid, col) in cols {
            match (catoid, col) {
                (PG_CLASS_OID, "relfilenode") => {
                    probes.push((cat::PG_CLASS_TBLSPC_RELFILENODE_INDEX, &[Value::Oid(0)]));
                    probes.push((
                        cat::PG_CLASS_TBLSPC_RELFILENODE_INDEX,
                        &[Value::Oid(tusk_storage::smgr::GLOBALTABLESPACE_OID)],
                    ));
                }
                _ => match cat::oid_index_of(catoid).filter(|_| col == "oid") {
                    Some(idx) => probes.push((idx, &[])),
                    None => {
                        let i = cat::catalog(catoid).col(col);
                        for (_, r) in self.catalog_rows(catoid)? {
                            used.insert(oid_of(&r[i]));
                        }
                    }
                },
            }
        }
        'next: loop {
            let oid = self.new_oid()?;
            if used.contains(&oid) {
                continue;
            }
            for (idx, prefix) in &probes {
                let mut key = prefix.to_vec();
                key.push(Value::Oid(oid));
                if !self.catalog_lookup(*idx, &key)?.is_empty() {
                    continue 'next;
                }
            }
            return Ok(oid);
        }
    }

    /// A new OID for a relation: from the shared counter, unused in
    /// pg_class (as an OID or a file number), with no file of that number
    /// in this database (the file is created here, claiming the OID).
    fn new_relation_oid(&mut self) -> Result<u32, PgError> {
        let (store, _) = self.table_parts()?;
        loop {
            let next = self.new_unused_oid(&[
                (PG_CLASS_OID, "oid"),
                (PG_CLASS_OID, "relfilenode"),
                (PG_NAMESPACE_OID, "oid"),
                (PG_ATTRDEF_OID, "oid"),
            ])?;
            let loc = RelFileLocator {
                spc: DEFAULTTABLESPACE_OID,
                db: store.db,
                rel: next,
            };
            let r = store.bm.smgr().create(loc, Fork::Main, false);
            match r {
                Ok(()) => return Ok(next),
                Err(e) if e.code == sqlstate::DUPLICATE_FILE => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn notice(&mut self, msg: String) {
        tusk_sql::Host::notice(
            self,
            PgError::new(Severity::Notice, sqlstate::SUCCESSFUL_COMPLETION, msg),
        );
    }

    /// The namespace CREATE puts an unqualified name in: the first
    /// existing schema of search_path other than the implicit pg_catalog.
    fn creation_namespace(&mut self, schema: Option<&str>) -> Result<u32, PgError> {
        // `pg_temp`: the session's temporary schema, made on first use
        // (CREATE TEMP TABLE/VIEW/SEQUENCE, a temporary table's serial).
        if schema == Some("pg_temp") {
            return self.temp_namespace();
        }
        if let Some(s) = schema {
            let nsp = self.schema_or_error(s)?;
            self.check_schema_privilege(nsp, tusk_sql::acl::CREATE)?;
            return Ok(nsp);
        }
        let sp = tusk_sql::Host::show(self, "search_path")?;
        let explicit_catalog = sp.split(',').any(|i| i.trim() == "pg_catalog");
        // The temporary schema is a target only when named (`pg_temp`).
        let temp = view::my_temp_namespace();
        let nsp = self
            .search_path()?
            .into_iter()
            .find(|&o| (o != PG_CATALOG_NAMESPACE || explicit_catalog) && Some(o) != temp)
            .ok_or_else(|| {
                PgError::error(
                    codes::INVALID_SCHEMA_NAME,
                    "no schema has been selected to create in",
                )
            })?;
        self.check_schema_privilege(nsp, tusk_sql::acl::CREATE)?;
        Ok(nsp)
    }

    /// The ACL a new object of `objtype` (pg_default_acl's letters)
    /// owned by `owner` in schema `nsp` starts with: ALTER DEFAULT
    /// PRIVILEGES' global list for the owner (else acldefault) with the
    /// schema's list added; None when that is just acldefault
    /// (PostgreSQL's get_user_default_acl).
    pub(crate) fn initial_acl(
        &self,
        objtype: u8,
        owner: u32,
        nsp: u32,
    ) -> Result<Option<String>, PgError> {
        let d = cat::catalog(cat::PG_DEFAULT_ACL_OID);
        let rows: Vec<(u32, String)> = self
            .catalog_rows(cat::PG_DEFAULT_ACL_OID)?
            .into_iter()
            .filter(|(_, r)| {
                oid_of(&r[d.col("defaclrole")]) == owner
                    && r[d.col("defaclobjtype")] == Value::Char(objtype)
            })
            .filter_map(|(_, r)| match &r[d.col("defaclacl")] {
                Value::Text(a) => Some((oid_of(&r[d.col("defaclnamespace")]), a.clone())),
                _ => None,
            })
            .collect();
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(tusk_sql::acl::initial_acl(objtype, owner, nsp, &rows))
    }

    /// 42501 "permission denied for schema s" unless the current role
    /// holds `needed` on schema `nsp` (CREATE to make objects in it).
    /// Superusers and the session's temporary schema pass.
    pub(super) fn check_schema_privilege(&self, nsp: u32, needed: u32) -> Result<(), PgError> {
        if self.id.is_superuser
            || nsp == PG_CATALOG_NAMESPACE
            || Some(nsp) == view::my_temp_namespace()
        {
            return Ok(());
        }
        let n = cat::catalog(PG_NAMESPACE_OID);
        let Some((_, r)) = self
            .catalog_rows_by(PG_NAMESPACE_OID, "oid", Value::Oid(nsp))?
            .into_iter()
            .next()
        else {
            return Ok(());
        };
        let owner = oid_of(&r[n.col("nspowner")]);
        let stored = match &r[n.col("nspacl")] {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        };
        let stored = tusk_sql::acl::schema_default(nsp, owner, stored);
        let kind = tusk_sql::acl::ObjType::Schema;
        let acl = tusk_sql::acl::acl_of(stored.as_deref(), kind, owner);
        let roles = self.role_set()?;
        let me = self.current_role_oid()?;
        if tusk_sql::acl::mask(&acl, kind, me, owner, &roles) & needed == needed {
            return Ok(());
        }
        Err(PgError::error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!(
                "permission denied for schema {}",
                name_of(&r[n.col("nspname")])
            ),
        ))
    }

    /// Files to remove when the transaction ends: created ones at abort,
    /// dropped ones at commit. Called by `transaction_ended`.
    pub(super) fn run_pending_deletes(&mut self, committed: bool) {
        let pending = std::mem::take(&mut self.pending_deletes);
        let Some(store) = self.store.clone() else {
            return;
        };
        for (loc, at_commit) in pending {
            if at_commit != committed {
                continue;
            }
            // WAL first: without the record, redo after a crash would
            // recreate the files from the relation's earlier records
            // (orphans). After a committed DROP/TRUNCATE or an aborted
            // CREATE the relation is gone for good, so logging it in
            // either case is right; a failure leaves orphans at worst.
            if let Some(engine) = self.engine.clone() {
                if let Err(e) = XlogHeapWal(&engine.xlog).log_smgr_unlink(loc) {
                    tusk_common::elog::report(&e.with_severity(Severity::Warning));
                }
            }
            // Every fork: the free-space map's buffers and `_fsm` file go
            // too (a dirty map buffer left behind would later be written
            // back by a checkpoint to a file that no longer exists).
            for fork in Fork::ALL {
                store.bm.drop_relation_buffers(loc, fork, 0);
            }
            let mut smgr = store.bm.smgr();
            smgr.close(loc);
            for fork in Fork::ALL {
                if let Err(e) = smgr.unlink(loc, fork) {
                    tusk_common::elog::report(&e.with_severity(Severity::Warning));
                }
            }
        }
    }

    /// What the last transaction held for table access ends with it; a
    /// committed catalog change was announced to every backend by the
    /// commit itself (the engine's, after the commit status and before the
    /// locks go: a backend that sees the new generation also sees the
    /// change, and one that waited on a lock sees the generation), and
    /// this backend's cache is dropped either way.
    pub(super) fn tables_transaction_ended(&mut self, committed: bool) {
        // The xid lock went with the transaction's resource owner.
        self.xid_locked = 0;
        stats::transaction_ended(&self.shared, self.store.as_ref().map(|s| s.db), committed);
        if let Some(e) = &self.engine {
            // Still set only when the engine's commit did not run: an
            // abort, or a transaction without an xid, which wrote no
            // catalog row. Nothing to announce either way.
            e.announce_catalog.set(false);
        }
        if self.catalog_changed {
            self.relcache.borrow_mut().entries.clear();
            self.relcache.borrow_mut().toast.clear();
            index::forget_cache();
            self.catalog_changed = false;
        }
        self.run_pending_deletes(committed);
        view::temp_transaction_ended(committed);
        *self.rr_snapshot.borrow_mut() = None;
        if self.engine.is_some() {
            self.procs.proc(self.slot).set_xmin(0);
        }
    }

    /// The running transaction's xid, assigned now if needed, with this
    /// backend holding the exclusive lock on it that others wait on
    /// (PostgreSQL's XactLockTableInsert). Taken before the xid is
    /// written into any tuple, released with the transaction's other
    /// locks after its commit or abort.
    fn write_xid(&mut self) -> Result<u64, PgError> {
        let xid = self.xact.current_xid()?;
        if self.xid_locked != xid {
            if let Some(locks) = &self.locks {
                let mut owner = self.xact.owner();
                locks.lock(
                    &mut owner,
                    LockTarget::Transaction(xid),
                    LockMode::Exclusive,
                    &WaitPolicy::default(),
                    &|| false,
                )?;
            }
            self.xid_locked = xid;
        }
        Ok(xid)
    }

    /// How long a lock request may wait: lock_timeout, bounded by what is
    /// left of statement_timeout, and deadlock_timeout.
    pub(super) fn wait_policy(&self) -> WaitPolicy {
        let ms = |k| {
            let v = self.settings.settings().get(k);
            (v > 0).then(|| std::time::Duration::from_millis(v as u64))
        };
        let mut lock_timeout = ms(tusk_config::keys::LOCK_TIMEOUT);
        if let Some(d) = self.statement_deadline {
            let left = d.saturating_duration_since(std::time::Instant::now());
            lock_timeout = Some(lock_timeout.map_or(left, |l| l.min(left)));
        }
        WaitPolicy {
            dont_wait: false,
            lock_timeout,
            deadlock_timeout: ms(tusk_config::keys::DEADLOCK_TIMEOUT)
                .unwrap_or(std::time::Duration::from_secs(1)),
        }
    }

    /// Takes a relation lock for the rest of the transaction (PostgreSQL's
    /// LockRelationOid): AccessShare for any use, RowExclusive to change
    /// rows, AccessExclusive for DROP and TRUNCATE. Outside a transaction
    /// (a Parse message) nothing is taken: the lock would outlive it.
    fn lock_relation(&self, t: TableRef, mode: LockMode) -> Result<(), PgError> {
        self.lock_relation_with(t, mode, false)
    }

    /// [`Self::lock_relation`], failing at once when `nowait` and the
    /// lock is taken.
    fn lock_relation_with(&self, t: TableRef, mode: LockMode, nowait: bool) -> Result<(), PgError> {
        let (Some(locks), Some(store)) = (&self.locks, &self.store) else {
            return Ok(());
        };
        if !self.xact.in_transaction() {
            return Ok(());
        }
        let target = LockTarget::Relation {
            db: if t.shared { 0 } else { store.db },
            rel: t.oid,
        };
        let mut policy = self.wait_policy();
        policy.dont_wait = nowait;
        let interrupted = || {
            crate::signals::pending(libc::SIGINT)
                || crate::signals::pending(libc::SIGTERM)
                || super::PM_DEAD.load(std::sync::atomic::Ordering::SeqCst)
        };
        let mut owner = self.xact.owner();
        locks.lock(&mut owner, target, mode, &policy, &interrupted)
    }

    /// Waits until transaction `xid` is no longer running (PostgreSQL's
    /// XactLockTableWait): a share lock on its xid, granted when its
    /// holder ends, then given back. Deadlocks are found after
    /// deadlock_timeout (40P01); lock_timeout and statement_timeout end the
    /// wait, as do cancel and termination. Without a lock table, polls.
    fn wait_for_xid(&mut self, xid: u64) -> Result<(), PgError> {
        let (_, engine) = self.table_parts()?;
        let Some(locks) = self.locks.clone() else {
            while engine
                .transam
                .is_in_progress(&self.shared, self.slot as u32, xid)
            {
                tusk_sql::Host::check_interrupts(self)?;
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            return Ok(());
        };
        let policy = self.wait_policy();
        let interrupted = || {
            crate::signals::pending(libc::SIGINT)
                || crate::signals::pending(libc::SIGTERM)
                || super::PM_DEAD.load(std::sync::atomic::Ordering::SeqCst)
        };
        let target = LockTarget::Transaction(xid);
        let r = {
            let mut owner = self.xact.owner();
            locks.lock(&mut owner, target, LockMode::Share, &policy, &interrupted)
        };
        match r {
            Ok(()) => {
                locks.unlock(&mut self.xact.owner(), target, LockMode::Share);
                // The lock is on the top-level xid: a row written by a
                // subtransaction's xid (no lock of its own) may still be
                // running when the lock is granted at once; wait that out
                // by polling. A failed or ended transaction has left the
                // proc array before its locks are released.
                while engine
                    .transam
                    .is_in_progress(&self.shared, self.slot as u32, xid)
                {
                    tusk_sql::Host::check_interrupts(self)?;
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Ok(())
            }
            Err(e) => {
                // A cancel, a termination or statement_timeout is reported
                // as such, not as the lock failure it caused.
                tusk_sql::Host::check_interrupts(self)?;
                Err(e)
            }
        }
    }

    /// After a failed update/delete: wait, skip, fail or move to the
    /// newest version, as PostgreSQL's ExecUpdate/ExecDelete do.
    fn after_conflict(
        &mut self,
        rel: &Relation,
        t: TableRef,
        f: heapam::TmFailure,
        tid: ItemPointer,
    ) -> Result<Option<Option<Row>>, PgError> {
        let rr = self.repeatable_read()?;
        match f.result {
            TmResult::BeingModified => {
                self.wait_for_xid(f.xmax)?;
                Ok(None) // retry the same version
            }
            TmResult::SelfModified => Ok(Some(Some(Vec::new()))),
            TmResult::Deleted if rr => Err(PgError::error(
                codes::T_R_SERIALIZATION_FAILURE,
                "could not serialize access due to concurrent delete",
            )),
            TmResult::Deleted => Ok(Some(Some(Vec::new()))),
            TmResult::Updated if rr => Err(PgError::error(
                codes::T_R_SERIALIZATION_FAILURE,
                "could not serialize access due to concurrent update",
            )),
            TmResult::Updated => {
                // READ COMMITTED (EvalPlanQual, simplified): the newest
                // version of the row. Its inserter may still be running
                // (another waiter got there first): wait for it and look
                // again, never skip the row because of it.
                for _ in 0..10_000 {
                    match self.newest_version(t, tid)? {
                        Newest::Gone => return Ok(Some(Some(Vec::new()))),
                        Newest::Running(x) => self.wait_for_xid(x)?,
                        Newest::Found(v, tuple) => {
                            let types_ = rel.physical_types();
                            let row = rel.from_physical(self.deform_detoast(t, &tuple, &types_)?);
                            return Ok(Some(Some(with_system_columns(row, v, &tuple, t.oid))));
                        }
                    }
                }
                Err(PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    "could not find the newest version of an updated row",
                ))
            }
            // Handled by the callers (they take the tuple lock first).
            TmResult::ShareLocked => Ok(None),
            TmResult::Ok | TmResult::Invisible => Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "attempted to update invisible tuple",
            )),
        }
    }
}

/// What the update chain of a row ends in.
enum Newest {
    /// A version whose inserter committed (it may itself be deleted or
    /// updated since: the caller's next update attempt says so).
    Found(ItemPointer, Vec<u8>),
    /// A version inserted by this running transaction.
    Running(u64),
    /// Nothing left to change (this transaction already changed the row,
    /// or the chain is broken).
    Gone,
}

/// Sees every tuple: for following an update chain by its t_ctid links,
/// where what each version's inserter did is decided by the caller.
struct SeeAll;

impl heapam::Visibility for SeeAll {
    fn visible(&self, _: &[u8]) -> bool {
        true
    }
    fn satisfies_update(&self, _: &[u8], _: u32) -> TmResult {
        TmResult::Invisible
    }
    fn satisfies_vacuum(&self, _: &[u8]) -> HtsvResult {
        HtsvResult::Live
    }
    fn may_prune(&self, _: u64) -> bool {
        false
    }
}

impl Session {
    /// The newest version of the row at `tid` whose inserter did not
    /// abort, following t_ctid (PostgreSQL's EvalPlanQualFetch walk).
    fn newest_version(&mut self, t: TableRef, tid: ItemPointer) -> Result<Newest, PgError> {
        let (store, engine) = self.table_parts()?;
        let chain = self.with_heap(t, |h, _, owner| h.update_chain(owner, tid))?;
        let current = self.current_xids();
        let wal = XlogHeapWal(&engine.xlog);
        let heap = HeapRel::new(locator(store.db, t), &store.bm, &wal, &store.ext);
        for &v in chain.iter().rev() {
            let mut owner = ResourceOwner::default();
            let got = heap.fetch(&mut owner, &SeeAll, v);
            owner.release_all(Release::Abort);
            let Some(tuple) = got? else { continue };
            let xmin = heaptuple::xmin(&tuple);
            if current.contains(&xmin) {
                return Ok(Newest::Gone);
            }
            if engine
                .transam
                .is_in_progress(&self.shared, self.slot as u32, xmin)
            {
                return Ok(Newest::Running(xmin));
            }
            let committed = xmin < tusk_storage::clog::FIRST_NORMAL_TRANSACTION_ID
                || engine
                    .clog
                    .get_status(&self.shared, self.slot as u32, xmin)?
                    == tusk_storage::clog::XidStatus::Committed;
            if committed {
                return Ok(Newest::Found(v, tuple));
            }
            // Inserted by an aborted transaction: its predecessor is newer.
        }
        Ok(Newest::Gone)
    }
}

impl tusk_sql::Tables for Session {
    fn my_temp_namespace(&self) -> Option<u32> {
        view::my_temp_namespace()
    }
    fn vacuum(
        &mut self,
        rel: Option<&Relation>,
        opts: tusk_sql::catalog::VacuumOptions,
    ) -> Result<(), PgError> {
        self.vacuum_command(rel, opts)
    }

    fn alter_table(
        &mut self,
        rel: &Relation,
        op: &tusk_sql::alter::AlterOp,
    ) -> Result<(), PgError> {
        self.alter_table_impl(rel, op)
    }

    fn rewrite_table(&mut self, rel: &Relation, rows: &[Row]) -> Result<(), PgError> {
        self.rewrite_table_impl(rel, rows)
    }

    fn unique_keys(&mut self, rel: &Relation) -> Result<Vec<(u32, bool, Vec<usize>)>, PgError> {
        self.unique_keys_impl(rel)
    }

    fn add_foreign_key(
        &mut self,
        rel: &Relation,
        fk: &tusk_sql::catalog::ForeignKey,
    ) -> Result<(), PgError> {
        self.add_foreign_key_impl(rel, fk)
    }

    fn lock_referenced_key(
        &mut self,
        ref_table: u32,
        key_hash: u64,
        exclusive: bool,
    ) -> Result<(), PgError> {
        self.lock_referenced_key_impl(ref_table, key_hash, exclusive)
    }

    fn create_table(
        &mut self,
        schema: Option<&str>,
        name: &str,
        columns: &[ColumnDef],
        if_not_exists: bool,
    ) -> Result<bool, PgError> {
        let nsp = self.creation_namespace(schema)?;
        if self.find_class(&[nsp], name)?.is_some() {
            if if_not_exists {
                self.notice(format!("relation \"{name}\" already exists, skipping"));
                return Ok(false);
            }
            return Err(PgError::error(
                codes::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        if let Some(c) = columns.iter().find(|c| !datum::storable(c.ty.oid)) {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "columns of type {} are not supported yet",
                    tusk_sql::types::sql_name(c.ty.oid)
                ),
            ));
        }
        // The xid first: the file is claimed only by a transaction that
        // can write its catalog rows.
        self.write_xid()?;
        let oid = self.new_relation_oid()?;
        let store = self.store.clone().expect("checked by new_relation_oid");
        self.pending_deletes.push((
            RelFileLocator {
                spc: DEFAULTTABLESPACE_OID,
                db: store.db,
                rel: oid,
            },
            false,
        ));
        // The toast table's OID and file next (the file claims the OID
        // before any catalog row names it), when a row may be too wide.
        let toast_oid = if toast::needs_toast_table(columns) {
            let t = self.new_relation_oid()?;
            self.pending_deletes.push((
                RelFileLocator {
                    spc: DEFAULTTABLESPACE_OID,
                    db: store.db,
                    rel: t,
                },
                false,
            ));
            t
        } else {
            0
        };
        let rowtype = self.create_row_type(oid, name, nsp)?;
        let mut class = cat::class_row(
            oid,
            name,
            nsp,
            rowtype,
            oid,
            false,
            columns.len() as i16,
            b'd',
        );
        let owner = self.current_role_oid()?;
        class[cat::catalog(PG_CLASS_OID).col("relowner")] = Value::Oid(owner);
        if let Some(acl) = self.initial_acl(b'r', owner, nsp)? {
            class[cat::catalog(PG_CLASS_OID).col("relacl")] = Value::Text(acl);
        }
        class[cat::catalog(PG_CLASS_OID).col("reltoastrelid")] = Value::Oid(toast_oid);
        if Some(nsp) == view::my_temp_namespace() {
            class[cat::catalog(PG_CLASS_OID).col("relpersistence")] = Value::Char(b't');
        }
        self.insert_catalog(PG_CLASS_OID, &class)?;
        if toast_oid != 0 {
            self.create_toast_table(oid, toast_oid)?;
        }
        let mut def_oid = oid.max(toast_oid);
        for (i, c) in columns.iter().enumerate() {
            let num = i as i16 + 1;
            self.insert_catalog(
                PG_ATTRIBUTE_OID,
                &domain_column(
                    cat::attribute_row(
                        oid,
                        num,
                        &c.name,
                        c.ty.oid,
                        c.ty.typmod,
                        c.not_null,
                        c.default.is_some() || c.generated.is_some(),
                    ),
                    c,
                ),
            )?;
            if let Some(d) = c.default.as_ref().or(c.generated.as_ref()) {
                // pg_attrdef.adbin holds the expression's SQL text (not
                // PostgreSQL's node tree) until tusk has one.
                def_oid += 1;
                let r = cat::row(
                    cat::catalog(PG_ATTRDEF_OID),
                    &[
                        ("oid", Value::Oid(def_oid)),
                        ("adrelid", Value::Oid(oid)),
                        ("adnum", Value::Int2(num)),
                        ("adbin", Value::Text(d.clone())),
                    ],
                );
                self.insert_catalog(PG_ATTRDEF_OID, &r)?;
            }
        }
        // The rest of the statement (indexes, CHECK constraints) sees the
        // table.
        self.xact.command_counter_increment();
        Ok(true)
    }

    fn set_inheritance(&mut self, child: u32, parents: &[u32]) -> Result<(), PgError> {
        self.set_inheritance_impl(child, parents)
    }

    fn remove_inheritance(&mut self, child: u32, parent: u32) -> Result<(), PgError> {
        self.remove_inheritance_impl(child, parent)
    }

    fn set_partitioned(
        &mut self,
        rel: u32,
        key: &tusk_sql::catalog::PartKey,
    ) -> Result<(), PgError> {
        self.set_partitioned_impl(rel, key)
    }

    fn set_partition_bound(&mut self, rel: u32, bound: Option<&str>) -> Result<(), PgError> {
        self.set_partition_bound_impl(rel, bound)
    }

    fn set_relacl(&mut self, rel: &Relation, acl: &str) -> Result<(), PgError> {
        let t = match rel.source {
            RelationSource::Table(t) | RelationSource::View(t) => t,
            RelationSource::SystemView(_) => return Ok(()),
        };
        let (tid, mut class) = self.class_row(t, || {
            PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{}\" does not exist", rel.name),
            )
        })?;
        class[cat::catalog(PG_CLASS_OID).col("relacl")] = Value::Text(acl.to_string());
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        self.update_catalog_as(PG_CLASS_OID, tid, &class, xid, cid)
    }

    fn set_reloptions(&mut self, oid: u32, items: &[String]) -> Result<(), PgError> {
        self.set_reloptions_impl(oid, items)
    }

    fn set_column_options(
        &mut self,
        rel: u32,
        attnum: i16,
        stattarget: Option<i32>,
        options: Option<&[String]>,
    ) -> Result<(), PgError> {
        self.set_column_options_impl(rel, attnum, stattarget, options)
    }

    fn set_column_storage(&mut self, rel: u32, attnum: i16, storage: u8) -> Result<(), PgError> {
        self.set_column_storage_impl(rel, attnum, storage)
    }

    fn set_column_acl(&mut self, rel: &Relation, attnum: i16, acl: &str) -> Result<(), PgError> {
        // A view's columns take grants too (updatable views).
        let t = match rel.source {
            RelationSource::View(t) => t,
            _ => rel.table()?,
        };
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        let Some((tid, mut row)) = self
            .catalog_lookup(
                cat::PG_ATTRIBUTE_RELID_ATTNUM_INDEX,
                &[Value::Oid(t.oid), Value::Int2(attnum)],
            )?
            .into_iter()
            .next()
        else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_COLUMN,
                format!(
                    "attribute {attnum} of relation \"{}\" does not exist",
                    rel.name
                ),
            ));
        };
        row[a.col("attacl")] = if acl == "{}" {
            Value::Null
        } else {
            Value::Text(acl.to_string())
        };
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        self.update_catalog_as(PG_ATTRIBUTE_OID, tid, &row, xid, cid)
    }

    fn set_default_acl(
        &mut self,
        role: u32,
        nsp: u32,
        objtype: u8,
        acl: Option<&str>,
    ) -> Result<(), PgError> {
        let d = cat::catalog(cat::PG_DEFAULT_ACL_OID);
        let existing = self
            .catalog_rows(cat::PG_DEFAULT_ACL_OID)?
            .into_iter()
            .find(|(_, r)| {
                oid_of(&r[d.col("defaclrole")]) == role
                    && oid_of(&r[d.col("defaclnamespace")]) == nsp
                    && r[d.col("defaclobjtype")] == Value::Char(objtype)
            });
        match (existing, acl) {
            (None, None) => Ok(()),
            (Some((tid, _)), None) => self.delete_catalog(cat::PG_DEFAULT_ACL_OID, tid),
            (Some((tid, mut row)), Some(a)) => {
                row[d.col("defaclacl")] = Value::Text(a.to_string());
                let xid = self.write_xid()?;
                let cid = self.xact.command_id();
                self.update_catalog_as(cat::PG_DEFAULT_ACL_OID, tid, &row, xid, cid)
            }
            (None, Some(a)) => {
                let oid = self.new_unused_oid(&[(cat::PG_DEFAULT_ACL_OID, "oid")])?;
                let r = cat::row(
                    d,
                    &[
                        ("oid", Value::Oid(oid)),
                        ("defaclrole", Value::Oid(role)),
                        ("defaclnamespace", Value::Oid(nsp)),
                        ("defaclobjtype", Value::Char(objtype)),
                        ("defaclacl", Value::Text(a.to_string())),
                    ],
                );
                self.insert_catalog(cat::PG_DEFAULT_ACL_OID, &r)
            }
        }
    }

    fn set_object_acl(&mut self, catalog: u32, oid: u32, acl: &str) -> Result<(), PgError> {
        let col = match catalog {
            PG_NAMESPACE_OID => "nspacl",
            cat::PG_PROC_OID => "proacl",
            cat::PG_TYPE_OID => "typacl",
            cat::PG_DATABASE_OID => "datacl",
            cat::PG_LANGUAGE_OID => "lanacl",
            _ => {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("catalog {catalog} carries no ACL in tusk"),
                ))
            }
        };
        let Some((tid, mut row)) = self
            .catalog_rows_by(catalog, "oid", Value::Oid(oid))?
            .into_iter()
            .next()
        else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_OBJECT,
                format!("cache lookup failed for object {oid}"),
            ));
        };
        row[cat::catalog(catalog).col(col)] = Value::Text(acl.to_string());
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        self.update_catalog_as(catalog, tid, &row, xid, cid)
    }

    fn drop_table(&mut self, rel: &Relation) -> Result<(), PgError> {
        if let RelationSource::View(t) = rel.source {
            return self.drop_view(t, &rel.name);
        }
        let t = rel.table()?;
        sequence::refuse_change(rel, t, "drop")?;
        if t.namespace == PG_CATALOG_NAMESPACE
            || t.namespace == cat::PG_TOAST_NAMESPACE
            || t.oid < cat::FIRST_NORMAL_OBJECT_ID
        {
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{}\" is a system catalog", rel.name),
            ));
        }
        self.lock_relation(t, LockMode::AccessExclusive)?;
        let (tid, class) = self.class_row(t, || {
            PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("table \"{}\" does not exist", rel.name),
            )
        })?;
        let rowtype = oid_of(&class[cat::catalog(PG_CLASS_OID).col("reltype")]);
        let toast_rel = self.toast_of(t)?;
        self.delete_catalog(PG_CLASS_OID, tid)?;
        let mut gone = vec![t];
        if let Some(tr) = toast_rel {
            let (ttid, _) = self.class_row(tr, || {
                PgError::error(
                    sqlstate::UNDEFINED_TABLE,
                    format!("toast table of \"{}\" does not exist", rel.name),
                )
            })?;
            self.delete_catalog(PG_CLASS_OID, ttid)?;
            gone.push(tr);
        }
        self.drop_table_indexes(t)?;
        self.drop_inheritance(t.oid)?;
        self.drop_owned_sequences(t.oid)?;
        self.drop_rules(t.oid)?;
        self.drop_row_type(rowtype)?;
        composite::forget_fields(t.oid);
        for (catoid, col) in [
            (PG_ATTRIBUTE_OID, "attrelid"),
            (PG_ATTRDEF_OID, "adrelid"),
            (cat::PG_CONSTRAINT_OID, "conrelid"),
            (cat::PG_TRIGGER_OID, "tgrelid"),
            (cat::PG_POLICY_OID, "polrelid"),
        ] {
            let i = cat::catalog(catoid).col(col);
            let mut rows = Vec::new();
            for g in &gone {
                rows.extend(self.catalog_rows_by(catoid, col, Value::Oid(g.oid))?);
            }
            for (tid, r) in rows {
                // Constraints backed by an index (PRIMARY KEY, UNIQUE)
                // went with their index above; a FOREIGN KEY's conindid
                // is the referenced table's index.
                if catoid == cat::PG_CONSTRAINT_OID
                    && oid_of(&r[cat::catalog(catoid).col("conindid")]) != 0
                    && r[cat::catalog(catoid).col("contype")] != Value::Char(b'f')
                {
                    continue;
                }
                if gone.iter().any(|g| g.oid == oid_of(&r[i])) {
                    self.delete_catalog(catoid, tid)?;
                }
            }
        }
        let store = self.store.clone().expect("catalog rows were read");
        for g in gone {
            self.pending_deletes.push((locator(store.db, g), true));
        }
        self.forget_toast();
        Ok(())
    }

    fn new_catalog_oid(&mut self) -> Result<u32, PgError> {
        self.new_oid()
    }

    fn type_command(&mut self, cmd: &tusk_sql::usertype::TypeCmd) -> Result<(), PgError> {
        self.type_command_impl(cmd)
    }

    fn sequence_command(&mut self, stmt: &tusk_sql::sequence::SeqStmt) -> Result<(), PgError> {
        self.sequence_command_impl(stmt)
    }

    fn create_view(&mut self, def: &tusk_sql::view::ViewDef) -> Result<(), PgError> {
        self.create_view_impl(def)
    }

    fn dependent_views(&mut self, oid: u32) -> Result<Vec<(String, String)>, PgError> {
        self.dependent_views_impl(oid)
    }

    fn require_transaction_block(&self, what: &str) -> Result<(), PgError> {
        if self.xact.is_transaction_block() {
            return Ok(());
        }
        Err(PgError::error(
            sqlstate::NO_ACTIVE_SQL_TRANSACTION,
            format!("{what} can only be used in transaction blocks"),
        ))
    }

    /// LOCK TABLE: PostgreSQL's LockTableCommand (no inheritance or
    /// views here); NOWAIT fails with its "could not obtain lock on
    /// relation" text.
    fn lock_table(
        &mut self,
        schema: Option<&str>,
        name: &str,
        mode: u8,
        nowait: bool,
    ) -> Result<Relation, PgError> {
        let mode = LockMode::from_u32(mode as u32).ok_or_else(|| {
            PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!("unrecognized lock mode: {mode}"),
            )
        })?;
        let found = self
            .lookup_locked(schema, name, mode, nowait)
            .map_err(|e| {
                if nowait && e.code == tusk_storage::lmgr::LOCK_NOT_AVAILABLE {
                    PgError::error(
                        tusk_storage::lmgr::LOCK_NOT_AVAILABLE,
                        format!("could not obtain lock on relation \"{name}\""),
                    )
                } else {
                    e
                }
            })?;
        match found {
            Some(r) => Ok(r),
            None => Err(PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!(
                    "relation \"{}\" does not exist",
                    schema.map_or(name.to_string(), |s| format!("{s}.{name}"))
                ),
            )),
        }
    }

    fn truncate(&mut self, rel: &Relation) -> Result<(), PgError> {
        let t = rel.table()?;
        sequence::refuse_change(rel, t, "truncate")?;
        if t.namespace == PG_CATALOG_NAMESPACE
            || t.namespace == cat::PG_TOAST_NAMESPACE
            || t.oid < cat::FIRST_NORMAL_OBJECT_ID
        {
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{}\" is a system catalog", rel.name),
            ));
        }
        self.lock_relation(t, LockMode::AccessExclusive)?;
        let (tid, class) = self.class_row(t, || {
            PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{}\" does not exist", rel.name),
            )
        })?;
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        let new_file = self.new_relation_oid()?;
        let store = self.store.clone().expect("checked by new_relation_oid");
        let new_loc = RelFileLocator {
            spc: DEFAULTTABLESPACE_OID,
            db: store.db,
            rel: new_file,
        };
        self.pending_deletes.push((new_loc, false));
        let toast_rel = self.toast_of(t)?;
        self.set_relfilenode(tid, class, new_file, xid, cid)?;
        self.pending_deletes.push((locator(store.db, t), true));
        // The toast table is emptied the same way (PostgreSQL truncates
        // both in heap_truncate_one_rel).
        if let Some(tr) = toast_rel {
            let cid = self.xact.command_id();
            let (ttid, tclass) = self.class_row(tr, || {
                PgError::error(
                    sqlstate::UNDEFINED_TABLE,
                    format!("toast table of \"{}\" does not exist", rel.name),
                )
            })?;
            let new_toast = self.new_relation_oid()?;
            self.pending_deletes.push((
                RelFileLocator {
                    spc: DEFAULTTABLESPACE_OID,
                    db: store.db,
                    rel: new_toast,
                },
                false,
            ));
            self.set_relfilenode(ttid, tclass, new_toast, xid, cid)?;
            self.pending_deletes.push((locator(store.db, tr), true));
            self.forget_toast();
        }
        // Its indexes start empty in new files too.
        let emptied = TableRef {
            relfilenode: new_file,
            ..t
        };
        self.rebuild_table_indexes(rel, emptied)
    }

    /// CREATE DATABASE: template1's directory copied to base/<new oid>
    /// after a checkpoint has written template1's pages (PostgreSQL's
    /// FILE_COPY strategy), then the pg_database row and the connection
    /// list (global/pg_database). Not in a transaction block.
    fn create_database(&mut self, name: &str) -> Result<(), PgError> {
        self.xact.prevent_in_transaction_block("CREATE DATABASE")?;
        let d = cat::catalog(cat::PG_DATABASE_OID);
        let (ni, oi) = (d.col("datname"), d.col("oid"));
        let rows = self.catalog_rows(cat::PG_DATABASE_OID)?;
        if rows.iter().any(|(_, r)| name_of(&r[ni]) == name) {
            return Err(PgError::error(
                sqlstate::SqlState::new("42P04"),
                format!("database \"{name}\" already exists"),
            ));
        }
        let me = std::process::id() as i32;
        let others = self
            .procs
            .snapshot()
            .into_iter()
            .filter(|p| p.datname == "template1" && p.pid != me)
            .count();
        if others > 0 {
            return Err(PgError::error(
                sqlstate::SqlState::new("55006"),
                "source database \"template1\" is being accessed by other users",
            )
            .with_detail(format!(
                "There {} {others} other session{} using the database.",
                if others == 1 { "is" } else { "are" },
                if others == 1 { "" } else { "s" }
            )));
        }
        let base = self.data_dir.join("base");
        let used: std::collections::HashSet<u32> =
            rows.iter().map(|(_, r)| oid_of(&r[oi])).collect();
        let mut oid = self.new_oid()?;
        while used.contains(&oid) || base.join(oid.to_string()).exists() {
            oid = self.new_oid()?;
        }
        // template1's pages on disk first: a checkpoint writes every dirty
        // buffer (and fsyncs).
        tusk_sql::Maintenance::checkpoint(self)?;
        let io = |what: String, e: std::io::Error| {
            PgError::error(sqlstate::IO_ERROR, format!("{what}: {e}"))
                .with_hint("Check free disk space and the data directory's permissions.")
        };
        let src = base.join("1");
        let dst = base.join(oid.to_string());
        std::fs::create_dir(&dst)
            .map_err(|e| io(format!("could not create directory \"base/{oid}\""), e))?;
        let copied = (|| -> Result<(), PgError> {
            for entry in std::fs::read_dir(&src)
                .map_err(|e| io("could not read directory \"base/1\"".into(), e))?
            {
                let entry =
                    entry.map_err(|e| io("could not read directory \"base/1\"".into(), e))?;
                let to = dst.join(entry.file_name());
                std::fs::copy(entry.path(), &to).map_err(|e| {
                    io(
                        format!("could not copy file \"{}\"", entry.path().display()),
                        e,
                    )
                })?;
                std::fs::File::open(&to)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| io(format!("could not fsync file \"{}\"", to.display()), e))?;
            }
            for dir in [&dst, &base] {
                std::fs::File::open(dir)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| {
                        io(
                            format!("could not fsync directory \"{}\"", dir.display()),
                            e,
                        )
                    })?;
            }
            Ok(())
        })();
        if let Err(e) = copied {
            let _ = std::fs::remove_dir_all(&dst);
            return Err(e);
        }
        let r = cat::row(
            d,
            &[
                ("oid", Value::Oid(oid)),
                ("datname", Value::Name(name.into())),
                (
                    "datdba",
                    Value::Oid(tusk_storage::bootstrap::BOOTSTRAP_SUPERUSER_OID),
                ),
                ("encoding", Value::Int4(6)),
                ("datlocprovider", Value::Char(b'c')),
                ("datallowconn", Value::Bool(true)),
                ("datconnlimit", Value::Int4(-1)),
                (
                    "datfrozenxid",
                    Value::Xid8(tusk_storage::clog::FIRST_NORMAL_TRANSACTION_ID),
                ),
                ("datminmxid", Value::Xid8(1)),
                ("dattablespace", Value::Oid(DEFAULTTABLESPACE_OID)),
                ("datcollate", Value::Text("C".into())),
                ("datctype", Value::Text("C".into())),
            ],
        );
        if let Err(e) = self.insert_catalog(cat::PG_DATABASE_OID, &r) {
            let _ = std::fs::remove_dir_all(&dst);
            return Err(e);
        }
        // The connection list: a database is reachable once committed,
        // which CREATE DATABASE (never in a block) is right after this.
        let mut dbs = tusk_storage::bootstrap::databases(&self.data_dir).unwrap_or_default();
        dbs.push(tusk_storage::bootstrap::Database {
            oid,
            name: name.to_string(),
        });
        tusk_storage::bootstrap::write_databases(&self.data_dir, &dbs)
            .map_err(|e| io("could not write \"global/pg_database\"".into(), e))?;
        Ok(())
    }

    /// DROP DATABASE: not the current one, not a template, not while
    /// others are connected (PostgreSQL waits up to 5 s for them first;
    /// tusk refuses at once); its buffers dropped and its directory
    /// removed now, as PostgreSQL's dropdb.
    fn drop_database(&mut self, name: &str, if_exists: bool) -> Result<(), PgError> {
        self.xact.prevent_in_transaction_block("DROP DATABASE")?;
        let d = cat::catalog(cat::PG_DATABASE_OID);
        let (ni, oi, ti) = (d.col("datname"), d.col("oid"), d.col("datistemplate"));
        let Some((tid, r)) = self
            .catalog_rows(cat::PG_DATABASE_OID)?
            .into_iter()
            .find(|(_, r)| name_of(&r[ni]) == name)
        else {
            if if_exists {
                self.notice(format!("database \"{name}\" does not exist, skipping"));
                return Ok(());
            }
            return Err(PgError::error(
                sqlstate::INVALID_CATALOG_NAME,
                format!("database \"{name}\" does not exist"),
            ));
        };
        if name == self.id.database {
            return Err(PgError::error(
                sqlstate::SqlState::new("55006"),
                "cannot drop the currently open database",
            ));
        }
        if r[ti] == Value::Bool(true) {
            return Err(PgError::error(
                codes::WRONG_OBJECT_TYPE,
                "cannot drop a template database",
            ));
        }
        let oid = oid_of(&r[oi]);
        let others = self
            .procs
            .snapshot()
            .into_iter()
            .filter(|p| p.datname == name)
            .count();
        if others > 0 {
            return Err(PgError::error(
                sqlstate::SqlState::new("55006"),
                format!("database \"{name}\" is being accessed by other users"),
            )
            .with_detail(format!(
                "There {} {others} other session{} using the database.",
                if others == 1 { "is" } else { "are" },
                if others == 1 { "" } else { "s" }
            )));
        }
        self.delete_catalog(cat::PG_DATABASE_OID, tid)?;
        let dbs: Vec<_> = tusk_storage::bootstrap::databases(&self.data_dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d.name != name)
            .collect();
        tusk_storage::bootstrap::write_databases(&self.data_dir, &dbs).map_err(|e| {
            PgError::error(
                sqlstate::IO_ERROR,
                format!("could not write \"global/pg_database\": {e}"),
            )
        })?;
        let dir = self.data_dir.join("base").join(oid.to_string());
        if let Some(store) = self.store.clone() {
            if let Ok(rd) = std::fs::read_dir(&dir) {
                for e in rd.flatten() {
                    let f = e.file_name().to_string_lossy().into_owned();
                    let rel = f.split(['_', '.']).next().unwrap_or("");
                    if let Ok(rel) = rel.parse::<u32>() {
                        let loc = RelFileLocator {
                            spc: DEFAULTTABLESPACE_OID,
                            db: oid,
                            rel,
                        };
                        // Every fork, as for a dropped relation: a dirty
                        // free-space-map buffer left behind made every
                        // later checkpoint fail on its missing file.
                        for fork in Fork::ALL {
                            store.bm.drop_relation_buffers(loc, fork, 0);
                        }
                        store.bm.smgr().close(loc);
                    }
                }
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tusk_common::elog::report(&PgError::new(
                Severity::Warning,
                sqlstate::IO_ERROR,
                format!("could not remove directory \"{}\": {e}", dir.display()),
            ));
        }
        Ok(())
    }

    fn create_schema(&mut self, name: &str, if_not_exists: bool) -> Result<(), PgError> {
        if self.namespace_oid(name)?.is_some() {
            if if_not_exists {
                self.notice(format!("schema \"{name}\" already exists, skipping"));
                return Ok(());
            }
            return Err(PgError::error(
                codes::DUPLICATE_SCHEMA,
                format!("schema \"{name}\" already exists"),
            ));
        }
        if name.starts_with("pg_") {
            return Err(PgError::error(
                sqlstate::SqlState::new("42939"),
                format!("unacceptable schema name \"{name}\""),
            )
            .with_detail("The prefix \"pg_\" is reserved for system schemas."));
        }
        self.write_xid()?;
        // A schema has no file: its OID is claimed by a file that is
        // removed again at once (see new_relation_oid).
        let oid = self.new_relation_oid()?;
        let store = self.store.clone().expect("checked by new_relation_oid");
        let loc = RelFileLocator {
            spc: DEFAULTTABLESPACE_OID,
            db: store.db,
            rel: oid,
        };
        let _ = store.bm.smgr().unlink(loc, Fork::Main);
        let r = cat::row(
            cat::catalog(PG_NAMESPACE_OID),
            &[
                ("oid", Value::Oid(oid)),
                ("nspname", Value::Name(name.into())),
                ("nspowner", Value::Oid(self.current_role_oid()?)),
            ],
        );
        let mut r = r;
        if let Some(acl) = self.initial_acl(b'n', self.current_role_oid()?, 0)? {
            r[cat::catalog(PG_NAMESPACE_OID).col("nspacl")] = Value::Text(acl);
        }
        self.insert_catalog(PG_NAMESPACE_OID, &r)
    }

    fn drop_schema(&mut self, name: &str, if_exists: bool) -> Result<(), PgError> {
        let n = cat::catalog(PG_NAMESPACE_OID);
        let (ni, oi) = (n.col("nspname"), n.col("oid"));
        let Some((tid, r)) = self
            .catalog_rows(PG_NAMESPACE_OID)?
            .into_iter()
            .find(|(_, r)| name_of(&r[ni]) == name)
        else {
            if if_exists {
                self.notice(format!("schema \"{name}\" does not exist, skipping"));
                return Ok(());
            }
            return Err(PgError::error(
                codes::INVALID_SCHEMA_NAME,
                format!("schema \"{name}\" does not exist"),
            ));
        };
        let oid = oid_of(&r[oi]);
        if oid == PG_CATALOG_NAMESPACE {
            return Err(PgError::error(
                codes::DEPENDENT_OBJECTS_STILL_EXIST,
                format!("cannot drop schema {name} because it is required by the database system"),
            ));
        }
        let c = cat::catalog(PG_CLASS_OID);
        let (si, rn) = (c.col("relnamespace"), c.col("relname"));
        let deps: Vec<String> = self
            .catalog_rows(PG_CLASS_OID)?
            .into_iter()
            .filter(|(_, r)| oid_of(&r[si]) == oid)
            .map(|(_, r)| format!("table {name}.{} depends on schema {name}", name_of(&r[rn])))
            .collect();
        if !deps.is_empty() {
            return Err(PgError::error(
                codes::DEPENDENT_OBJECTS_STILL_EXIST,
                format!("cannot drop schema {name} because other objects depend on it"),
            )
            .with_detail(deps.join("\n"))
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        // The schema's default privileges go with it.
        let nsp = oid_of(&r[oi]);
        let d = cat::catalog(cat::PG_DEFAULT_ACL_OID);
        for (dtid, _) in self
            .catalog_rows(cat::PG_DEFAULT_ACL_OID)?
            .into_iter()
            .filter(|(_, row)| oid_of(&row[d.col("defaclnamespace")]) == nsp)
        {
            self.delete_catalog(cat::PG_DEFAULT_ACL_OID, dtid)?;
        }
        self.delete_catalog(PG_NAMESPACE_OID, tid)
    }

    fn insert(&mut self, rel: &Relation, row: &[Value]) -> Result<(), PgError> {
        let t = rel.table()?;
        toast::refuse_change(rel, t)?;
        sequence::refuse_change(rel, t, "change")?;
        // A catalog row written by SQL (policy.rs, fdw.rs, ...): cached
        // relations are stale, here and, after commit, in other backends.
        if t.oid < cat::FIRST_NORMAL_OBJECT_ID {
            self.catalog_changed = true;
            // Index lists cached while this transaction changed nothing
            // are stale now (index::cached_indexes).
            index::forget_cache();
        }
        self.lock_relation(t, LockMode::RowExclusive)?;
        let types_ = rel.physical_types();
        let prow = rel.to_physical(row);
        let tid = self.insert_row(t, &types_, &prow)?;
        self.index_insert(rel, t, row, tid)?;
        self.catalog_index_insert(t.oid, &prow, tid)?;
        stats::count(t.oid, stats::Change::Insert);
        Ok(())
    }

    fn insert_many(&mut self, rel: &Relation, rows: &[Row]) -> Result<(), (usize, PgError)> {
        self.insert_many_impl(rel, rows)
    }

    fn insert_unless_conflict(
        &mut self,
        rel: &Relation,
        row: &[Value],
        arbiters: &[u32],
    ) -> Result<Option<(Row, bool)>, PgError> {
        self.insert_unless_conflict_impl(rel, row, arbiters)
    }

    fn constraint_index(&mut self, rel: &Relation, name: &str) -> Result<Option<u32>, PgError> {
        let t = rel.table()?;
        let c = cat::catalog(cat::PG_CONSTRAINT_OID);
        Ok(self
            .catalog_rows_by(cat::PG_CONSTRAINT_OID, "conrelid", Value::Oid(t.oid))?
            .into_iter()
            .find(|(_, r)| {
                oid_of(&r[c.col("conrelid")]) == t.oid
                    && name_of(&r[c.col("conname")]) == name
                    && matches!(r[c.col("contype")], Value::Char(b'p' | b'u'))
            })
            .map(|(_, r)| oid_of(&r[c.col("conindid")])))
    }

    fn unique_indexes(
        &mut self,
        rel: &Relation,
    ) -> Result<Vec<(u32, String, Vec<usize>)>, PgError> {
        Ok(self
            .indexes_of(rel.table()?)?
            .into_iter()
            // Partial and expression indexes: computed_unique_indexes.
            .filter(|i| i.unique && i.exprs.is_empty() && i.pred.is_none())
            .map(|i| (i.oid, i.name, i.cols))
            .collect())
    }

    fn computed_unique_indexes(
        &mut self,
        rel: &Relation,
    ) -> Result<Vec<(u32, Vec<usize>, Vec<String>, Option<String>)>, PgError> {
        Ok(self
            .indexes_of(rel.table()?)?
            .into_iter()
            .filter(|i| i.unique && (!i.exprs.is_empty() || i.pred.is_some()))
            .map(|i| (i.oid, i.cols, i.exprs, i.pred))
            .collect())
    }

    fn create_index(
        &mut self,
        rel: &Relation,
        spec: &tusk_sql::index::IndexSpec,
    ) -> Result<bool, PgError> {
        self.create_index_impl(rel, spec)
    }

    fn drop_index(
        &mut self,
        schema: Option<&str>,
        name: &str,
        if_exists: bool,
    ) -> Result<(), PgError> {
        self.drop_index_impl(schema, name, if_exists)
    }

    fn reindex(&mut self, target: &tusk_sql::maint::ReindexTarget) -> Result<(), PgError> {
        self.reindex_impl(target)
    }

    fn cluster(&mut self, c: &tusk_sql::maint::Cluster) -> Result<(), PgError> {
        self.cluster_impl(c)
    }

    fn cluster_on(&mut self, c: &tusk_sql::maint::ClusterOn) -> Result<(), PgError> {
        self.cluster_on_impl(c)
    }

    fn update(
        &mut self,
        rel: &Relation,
        ctid: &str,
        row: &[Value],
    ) -> Result<Option<Row>, PgError> {
        let t = rel.table()?;
        toast::refuse_change(rel, t)?;
        sequence::refuse_change(rel, t, "change")?;
        self.lock_relation(t, LockMode::RowExclusive)?;
        let tid = parse_ctid(ctid)?;
        let types_ = rel.physical_types();
        let prow = rel.to_physical(row);
        // A catalog row written by SQL (policy.rs, fdw.rs, ...): cached
        // relations are stale, here and, after commit, in other backends.
        if t.oid < cat::FIRST_NORMAL_OBJECT_ID {
            self.catalog_changed = true;
            // Index lists cached while this transaction changed nothing
            // are stale now (index::cached_indexes).
            index::forget_cache();
        }
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        let indexes = self.indexes_of(t)?;
        // Holding the row's tuple lock (joiners, storage rowlock.rs).
        let mut probed: Option<tusk_storage::rowlock::RowLockMode> = None;
        loop {
            // Out-of-line values of the old version whose value is
            // unchanged are kept (no new chunks); the others die with it.
            let (keep, replaced) = self.toast_keep(t, tid, &types_, &prow)?;
            let (tuple, saved) = self.form_toasted(t, &types_, &prow, &keep)?;
            // HOT only when no indexed column changes (index.rs).
            let hot_ok = (indexes.is_empty() || !self.key_changed(rel, t, &indexes, tid, row)?)
                && cat::indexes_of_catalog(t.oid).next().is_none();
            // A key column (of a unique index) changed: a FOR UPDATE-strength
            // update, else FOR NO KEY UPDATE (rowlock.rs).
            // (With only unique indexes, as pgbench's tables, that is the
            // answer HOT already got: no second read of the old version.)
            let keys: Vec<_> = indexes.iter().filter(|i| i.unique).cloned().collect();
            let key_update = if keys.len() == indexes.len() {
                !hot_ok
            } else {
                !keys.is_empty() && self.key_changed(rel, t, &keys, tid, row)?
            };
            let out = self.with_heap(t, |h, vis, owner| {
                h.set_hot_allowed(hot_ok);
                h.set_key_update(key_update);
                h.set_probed(probed.is_some());
                h.update(owner, vis, tid, tuple, xid, cid)
            });
            if let Some(m) = probed.take() {
                self.tuple_unlock(t, tid, m);
            }
            let out = out?;
            match out {
                UpdateOutcome::Updated { new, hot } => {
                    if let Some(tr) = self.toast_of(t)? {
                        self.delete_values(tr, &replaced)?;
                    }
                    if !hot {
                        self.index_insert(rel, t, row, new)?;
                        // A catalog row changed by SQL (a superuser's
                        // UPDATE pg_class ...): its catalog indexes too.
                        self.catalog_index_insert(t.oid, &prow, new)?;
                    }
                    stats::count(t.oid, stats::Change::Update);
                    return Ok(None);
                }
                UpdateOutcome::Failed(f) => {
                    if let Some(tr) = self.toast_of(t)? {
                        self.delete_values(tr, &saved)?;
                    }
                    if f.result == TmResult::ShareLocked {
                        let m = if key_update {
                            tusk_storage::rowlock::RowLockMode::Update
                        } else {
                            tusk_storage::rowlock::RowLockMode::NoKeyUpdate
                        };
                        self.tuple_lock(
                            t,
                            tid,
                            m,
                            tusk_sql::rowlock::RowLockWait::Block,
                            &rel.name,
                        )?;
                        probed = Some(m);
                        continue;
                    }
                    if let Some(next) = self.after_conflict(rel, t, f, tid)? {
                        return Ok(next);
                    }
                }
            }
        }
    }

    fn lock_row(
        &mut self,
        rel: &Relation,
        ctid: &str,
        strength: tusk_sql::rowlock::RowLockStrength,
        wait: tusk_sql::rowlock::RowLockWait,
    ) -> Result<tusk_sql::rowlock::RowLockOutcome, PgError> {
        self.lock_row_impl(rel, ctid, strength, wait)
    }

    fn row_share_lock(&mut self, rel: &Relation) -> Result<(), PgError> {
        self.lock_relation(rel.table()?, LockMode::RowShare)
    }

    fn delete(&mut self, rel: &Relation, ctid: &str) -> Result<Option<Row>, PgError> {
        let t = rel.table()?;
        toast::refuse_change(rel, t)?;
        sequence::refuse_change(rel, t, "change")?;
        // A catalog row written by SQL (policy.rs, fdw.rs, ...): cached
        // relations are stale, here and, after commit, in other backends.
        if t.oid < cat::FIRST_NORMAL_OBJECT_ID {
            self.catalog_changed = true;
            // Index lists cached while this transaction changed nothing
            // are stale now (index::cached_indexes).
            index::forget_cache();
        }
        self.lock_relation(t, LockMode::RowExclusive)?;
        let tid = parse_ctid(ctid)?;
        let types_ = rel.physical_types();
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        let mut probed = false;
        loop {
            let out = self.with_heap(t, |h, vis, owner| {
                h.set_probed(probed);
                h.delete(owner, vis, tid, xid, cid)
            });
            let m = tusk_storage::rowlock::RowLockMode::Update;
            if std::mem::take(&mut probed) {
                self.tuple_unlock(t, tid, m);
            }
            let out = out?;
            match out {
                Ok(()) => {
                    // The row's out-of-line values die with it.
                    if let Some(tr) = self.toast_of(t)? {
                        if let Some(old) = self.stored_tuple(t, tid)? {
                            let ptrs = datum::external_pointers(&old, &types_)?;
                            let v: Vec<_> = ptrs.into_iter().map(|p| p.1).collect();
                            self.delete_values(tr, &v)?;
                        }
                    }
                    stats::count(t.oid, stats::Change::Delete);
                    return Ok(None);
                }
                Err(f) if f.result == TmResult::ShareLocked => {
                    self.tuple_lock(t, tid, m, tusk_sql::rowlock::RowLockWait::Block, &rel.name)?;
                    probed = true;
                }
                Err(f) => {
                    if let Some(next) = self.after_conflict(rel, t, f, tid)? {
                        return Ok(next);
                    }
                }
            }
        }
    }
}

/// A pg_attribute row (laid out for the column's base type) naming the
/// column's domain as its type, as PostgreSQL stores a domain column.
pub(super) fn domain_column(mut row: Vec<Value>, c: &ColumnDef) -> Vec<Value> {
    if c.generated.is_some() {
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        row[a.col("attgenerated")] = Value::Char(b's');
    }
    if let Some(d) = c.domain {
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        row[a.col("atttypid")] = Value::Oid(d);
        // The typmod is the domain's (typtypmod), not the column's.
        row[a.col("atttypmod")] = Value::Int4(-1);
    }
    row
}
