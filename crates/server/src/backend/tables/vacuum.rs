//! VACUUM from SQL: lazy vacuum and VACUUM FULL of the session's tables over tusk_storage's vacuum.rs.
//!
//! Why here (a child of tables.rs): VACUUM needs the same pieces a table
//! statement does (the buffer manager, the visibility oracle over the
//! commit log and the proc array, the WAL handle, the lock manager) and,
//! for VACUUM FULL, the same relfilenode swap that TRUNCATE does (a new
//! file written now, pg_class pointing at it from commit, the old file
//! removed at commit; an abort removes the new one instead).
//!
//! - Lazy VACUUM takes ShareUpdateExclusiveLock (writers go on; a second
//!   VACUUM of the table waits), prunes and frees dead line pointers,
//!   records free space and cuts empty end pages if AccessExclusiveLock is
//!   free at that moment (vacuum.rs's module comment).
//! - VACUUM FULL takes AccessExclusiveLock and copies what is not dead
//!   into a new relfilenode; its pages are logged whole (XLOG_FPI), so no
//!   fsync of the new file is needed for crash safety.
//! - VACUUM runs only outside a transaction block (25001), as PostgreSQL's
//!   PreventInTransactionBlock: its work is not undone by a rollback.
//!   Unlike PostgreSQL it runs all its tables in the statement's one
//!   transaction (which takes no xid for a lazy vacuum).
//! - With no table named: every ordinary table of the database, the
//!   catalogs of this database included for a lazy vacuum (VACUUM FULL of
//!   a catalog is refused: a catalog's file is named by its OID here).
//!
//! Called only by the backend running the statement.

use super::*;
use tusk_sql::catalog::VacuumOptions;
use tusk_storage::nbtree::{BtreeRel, BtreeWal};
use tusk_storage::smgr::BlockNumber;
use tusk_storage::vacuum::{self, IndexCleanup, LmgrTruncateLock, TruncateLock};

/// VACUUM's index pass over the B-trees of one table: each drops the
/// entries naming the TIDs the heap is about to free. Key columns are not
/// needed to remove entries by heap TID.
struct TableIndexes<'a> {
    bm: &'a tusk_storage::bufmgr::BufMgr,
    wal: &'a dyn BtreeWal,
    ext: &'a dyn tusk_storage::heapam::ExtensionLock,
    db: u32,
    list: Vec<super::index::IndexInfo>,
}

impl IndexCleanup for TableIndexes<'_> {
    fn bulk_delete(
        &mut self,
        owner: &mut ResourceOwner,
        dead: &dyn Fn(ItemPointer) -> bool,
    ) -> Result<u64, PgError> {
        let mut removed = 0;
        for idx in &self.list {
            let bt = BtreeRel::new(
                super::index::index_locator(self.db, idx.relfilenode),
                idx.name.clone(),
                Vec::new(),
                idx.unique,
                self.bm,
                self.wal,
                self.ext,
            );
            removed += bt.bulk_delete(owner, dead)?;
        }
        Ok(removed)
    }
}

/// No lock table attached (or vacuum_truncate off): truncation is never
/// attempted.
struct NoTruncate;

impl TruncateLock for NoTruncate {
    fn try_lock(&self, _: &mut ResourceOwner, _: RelFileLocator) -> Result<bool, PgError> {
        Ok(false)
    }
    fn unlock(&self, _: &mut ResourceOwner, _: RelFileLocator) {}
}

impl Session {
    /// VACUUM [FULL] [VERBOSE] of `rel`, or of every table (None).
    pub(super) fn vacuum_command(
        &mut self,
        rel: Option<&Relation>,
        opts: VacuumOptions,
    ) -> Result<(), PgError> {
        self.xact.prevent_in_transaction_block("VACUUM")?;
        let targets = match rel {
            Some(r) => {
                let t = r.table()?;
                if opts.full && (t.oid < cat::FIRST_NORMAL_OBJECT_ID || t.shared) {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!(
                            "VACUUM FULL of system catalog \"{}\" is not supported",
                            r.name
                        ),
                    ));
                }
                vec![(r.schema.clone(), r.name.clone(), t)]
            }
            None => {
                let mut all = self.vacuum_targets(opts.full)?;
                if let Some(db) = self.store.as_ref().map(|s| s.db) {
                    let t = crate::autovacuum::thresholds(self.settings.settings());
                    // Each table's own autovacuum_* storage parameters
                    // (a worker only: a manual VACUUM keeps every table).
                    let mut per = std::collections::HashMap::new();
                    if super::stats::AUTOVACUUM_WORKER.load(std::sync::atomic::Ordering::Relaxed) {
                        for (_, _, tr) in &all {
                            per.insert(tr.oid, self.av_thresholds_of(tr.oid, &t)?);
                        }
                    }
                    super::stats::keep_autovacuum_targets(&self.shared, db, &t, &per, &mut all);
                }
                all
            }
        };
        for (schema, name, t) in targets {
            tusk_sql::Host::check_interrupts(self)?;
            // The toast table is resolved first: VACUUM FULL changes the
            // main table's file, not the toast table's link.
            let toast_rel = self.toast_of(t)?;
            if opts.full {
                self.vacuum_full(&schema, &name, t, opts.verbose)?;
            } else {
                self.vacuum_lazy(&schema, &name, t, opts.verbose)?;
            }
            // Its toast table with it, as PostgreSQL's vacuum_rel does.
            if let Some(tr) = toast_rel {
                let tname = format!("pg_toast_{}", t.oid);
                if opts.full {
                    self.vacuum_full("pg_toast", &tname, tr, opts.verbose)?;
                } else {
                    self.vacuum_lazy("pg_toast", &tname, tr, opts.verbose)?;
                }
            }
        }
        Ok(())
    }

    /// Every ordinary table of this database: (schema, name, table).
    fn vacuum_targets(&self, full: bool) -> Result<Vec<(String, String, TableRef)>, PgError> {
        let c = cat::catalog(PG_CLASS_OID);
        let n = cat::catalog(PG_NAMESPACE_OID);
        let spaces: HashMap<u32, String> = self
            .catalog_rows(PG_NAMESPACE_OID)?
            .into_iter()
            .map(|(_, r)| {
                (
                    oid_of(&r[n.col("oid")]),
                    name_of(&r[n.col("nspname")]).to_string(),
                )
            })
            .collect();
        let mut out = Vec::new();
        for (_, r) in self.catalog_rows(PG_CLASS_OID)? {
            if r[c.col("relkind")] != Value::Char(b'r')
                || r[c.col("relisshared")] == Value::Bool(true)
            {
                continue;
            }
            let oid = oid_of(&r[c.col("oid")]);
            if full && oid < cat::FIRST_NORMAL_OBJECT_ID {
                continue;
            }
            let nsp = oid_of(&r[c.col("relnamespace")]);
            out.push((
                spaces.get(&nsp).cloned().unwrap_or_default(),
                name_of(&r[c.col("relname")]).to_string(),
                TableRef {
                    oid,
                    relfilenode: oid_of(&r[c.col("relfilenode")]),
                    shared: false,
                    namespace: nsp,
                },
            ));
        }
        Ok(out)
    }

    fn info(&mut self, msg: String) {
        tusk_sql::Host::notice(
            self,
            PgError::new(Severity::Info, sqlstate::SUCCESSFUL_COMPLETION, msg),
        );
    }

    /// Lazy VACUUM of one table.
    fn vacuum_lazy(
        &mut self,
        schema: &str,
        name: &str,
        t: TableRef,
        verbose: bool,
    ) -> Result<(), PgError> {
        self.lock_relation(t, LockMode::ShareUpdateExclusive)?;
        let (store, engine) = self.table_parts()?;
        let qualified = format!("{}.{}.{}", self.id.database, schema, name);
        if verbose {
            self.info(format!("vacuuming \"{qualified}\""));
        }
        let loc = locator(store.db, t);
        if !store.bm.smgr().exists(loc, Fork::Main)? {
            // Never written (created or truncated and left empty).
            return Ok(());
        }
        let started = std::time::Instant::now();
        let snap = Snapshot::default();
        let current = self.current_xids();
        let wal = XlogHeapWal(&engine.xlog);
        let heap = HeapRel::new(loc, &store.bm, &wal, &store.ext);
        let vis = Vis::new(&engine, &store, &snap, &current);
        let list = self.indexes_of(t)?;
        let mut indexes = TableIndexes {
            bm: &store.bm,
            wal: &wal,
            ext: &store.ext,
            db: store.db,
            list,
        };
        let ix: Option<&mut dyn IndexCleanup> = if indexes.list.is_empty() {
            None
        } else {
            Some(&mut indexes)
        };
        let mut owner = ResourceOwner::default();
        // vacuum_truncate=false (a storage parameter): the empty pages at
        // the end stay, as without a lock table.
        let truncate = self
            .relation_bool_option(t.oid, "vacuum_truncate")?
            .unwrap_or(true);
        let r = match self.locks.as_ref().filter(|_| truncate) {
            Some(locks) => {
                let lock = LmgrTruncateLock {
                    locks,
                    db: store.db,
                    rel_oid: t.oid,
                };
                vacuum::vacuum_heap_with_indexes(&mut owner, &heap, &vis, &wal, &lock, ix)
            }
            None => {
                vacuum::vacuum_heap_with_indexes(&mut owner, &heap, &vis, &wal, &NoTruncate, ix)
            }
        };
        owner.release_all(Release::Abort);
        vis.check()?;
        let st = r?;
        super::stats::vacuumed(
            &self.shared,
            store.db,
            t.oid,
            st.tuples_remaining - st.tuples_recently_dead,
            st.tuples_recently_dead,
        );
        let log_min = self.settings.settings().int("log_autovacuum_min_duration");
        if super::stats::AUTOVACUUM_WORKER.load(std::sync::atomic::Ordering::Relaxed)
            && log_min >= 0
            && started.elapsed().as_millis() as i64 >= log_min
        {
            let mut m = format!(
                "automatic vacuum of table \"{qualified}\": index scans: {}",
                st.index_scans
            );
            for l in st.verbose_lines() {
                m.push('\n');
                m.push_str(&l);
            }
            tusk_common::elog::log(m);
        }
        if verbose {
            if let Some(m) = st.truncate_message(name) {
                self.info(m);
            }
            let mut m = format!(
                "finished vacuuming \"{qualified}\": index scans: {}",
                st.index_scans
            );
            for l in st.verbose_lines() {
                m.push('\n');
                m.push_str(&l);
            }
            self.info(m);
        }
        Ok(())
    }

    /// VACUUM FULL of one table: rewritten into a new relfilenode that
    /// pg_class names from commit (the TRUNCATE mechanism).
    fn vacuum_full(
        &mut self,
        schema: &str,
        name: &str,
        t: TableRef,
        verbose: bool,
    ) -> Result<(), PgError> {
        self.lock_relation(t, LockMode::AccessExclusive)?;
        let qualified = format!("{schema}.{name}");
        if verbose {
            self.info(format!("vacuuming \"{qualified}\""));
        }
        let stats = self.rewrite_table(schema, name, t, None)?;
        if verbose {
            let (m, d) = stats.verbose_message(&qualified);
            tusk_sql::Host::notice(
                self,
                PgError::new(Severity::Info, sqlstate::SUCCESSFUL_COMPLETION, m).with_detail(d),
            );
        }
        Ok(())
    }

    /// The heap of `t` copied into a new relfilenode that pg_class names
    /// from commit (the TRUNCATE mechanism), in heap order or in the
    /// order `rank` gives each old TID (CLUSTER), and every index built
    /// again over it; the caller holds AccessExclusiveLock.
    pub(super) fn rewrite_table(
        &mut self,
        schema: &str,
        name: &str,
        t: TableRef,
        rank: Option<&HashMap<(u32, u16), u64>>,
    ) -> Result<vacuum::RewriteStats, PgError> {
        let fi = cat::catalog(PG_CLASS_OID).col("relfilenode");
        let (tid, class) = self.class_row(t, || {
            PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{name}\" does not exist"),
            )
        })?;
        // The catalog's current file (a TRUNCATE or VACUUM FULL earlier in
        // this transaction may have replaced the one the caller resolved).
        let t = TableRef {
            relfilenode: oid_of(&class[fi]),
            ..t
        };
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        let new_file = self.new_relation_oid()?;
        let (store, engine) = self.table_parts()?;
        let old_loc = locator(store.db, t);
        let new_loc = RelFileLocator {
            spc: DEFAULTTABLESPACE_OID,
            db: store.db,
            rel: new_file,
        };
        self.pending_deletes.push((new_loc, false));
        let stats = {
            let snap = Snapshot::default();
            let current = self.current_xids();
            let wal = XlogHeapWal(&engine.xlog);
            let src = HeapRel::new(old_loc, &store.bm, &wal, &store.ext);
            let dst = HeapRel::new(new_loc, &store.bm, &wal, &store.ext);
            let vis = Vis::new(&engine, &store, &snap, &current);
            let mut owner = ResourceOwner::default();
            let exists = store.bm.smgr().exists(old_loc, Fork::Main)?;
            let order = |tid: ItemPointer| -> u64 {
                rank.and_then(|m| m.get(&(tid.block, tid.offset)).copied())
                    .unwrap_or(u64::MAX)
            };
            let r = if exists {
                vacuum::rewrite_heap_ordered(
                    &mut owner,
                    &src,
                    &dst,
                    &vis,
                    &wal,
                    rank.map(|_| &order as &dyn Fn(ItemPointer) -> u64),
                )
            } else {
                Ok(vacuum::RewriteStats::default())
            };
            owner.release_all(Release::Abort);
            vis.check()?;
            r?
        };
        self.set_relfilenode(tid, class, new_file, xid, cid)?;
        self.pending_deletes.push((old_loc, true));
        // A toast table's new file: the cached link names the old one.
        self.forget_toast();
        // The rows moved: every index is built again over the new file.
        if let Some(rel) = self.lookup_table_impl(Some(schema), name)? {
            let moved = TableRef {
                relfilenode: new_file,
                ..t
            };
            self.rebuild_table_indexes(&rel, moved)?;
        }
        let _: BlockNumber = stats.pages_written;
        Ok(stats)
    }
}
