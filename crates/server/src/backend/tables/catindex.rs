//! Indexes on the system catalogs in a backend: their maintenance on every catalog row this backend writes, and catalog lookups through them.
//!
//! Why this shape (PostgreSQL's CatalogTupleInsert / systable_beginscan,
//! simplified):
//! - **One maintenance point.** Every catalog row a backend writes goes
//!   through `insert_catalog`, `update_catalog_as` or `set_relfilenode`
//!   (tables.rs, tables/index.rs), and each calls
//!   [`Session::catalog_index_insert`] with the new tuple's TID: an entry
//!   in every index of that catalog, through nbtree with its WAL records,
//!   so crash recovery rebuilds the entries with the rows. Deletes add
//!   nothing (the entry stays, pointing at a dead tuple). Catalog updates
//!   are never HOT (`with_heap` turns it off), so every version has its
//!   own entries and is fetched by its own TID.
//! - **Lookups re-check.** An index entry may name a dead tuple, a tuple
//!   the catalog snapshot does not see, or — after VACUUM freed its line
//!   pointer — another row's tuple. So a lookup fetches each TID with the
//!   catalog snapshot, deforms the row and keeps it only if the row's key
//!   equals the searched one; a TID met twice (a stale entry and a new
//!   one for a reused line pointer with the same key) is returned once.
//!   Entries are never missing: that is what makes a lookup through the
//!   index equal to a scan.
//! - **Not unique-checked.** PostgreSQL's catalog indexes are unique and
//!   catch two concurrent CREATE TABLEs of one name; tusk's DDL checks
//!   names and OIDs with these lookups before inserting (the race between
//!   two transactions remains, as before).
//!
//! Everything here runs in the backend that owns the session.

use std::collections::HashSet;

use tusk_common::PgError;
use tusk_sql::Value;
use tusk_storage::catalog::{self as cat, CatIndex};
use tusk_storage::datum;
use tusk_storage::heapam::HeapRel;
use tusk_storage::heaptuple::ItemPointer;
use tusk_storage::heapwal::XlogHeapWal;
use tusk_storage::nbtree::BtreeRel;
use tusk_storage::xact::{Release, ResourceOwner};

use super::{Session, Vis};

impl Session {
    /// Entries for the catalog row `row` of catalog `catoid`, just stored
    /// at `tid`, in every index of the catalog. Called by the catalog
    /// write functions after the heap insert or update.
    pub(super) fn catalog_index_insert(
        &self,
        catoid: u32,
        row: &[Value],
        tid: ItemPointer,
    ) -> Result<(), PgError> {
        let mut indexes = cat::indexes_of_catalog(catoid).peekable();
        if indexes.peek().is_none() {
            return Ok(());
        }
        let (store, engine) = self.table_parts()?;
        let wal = XlogHeapWal(&engine.xlog);
        for idx in indexes {
            let bt = BtreeRel::new(
                idx.locator(store.db),
                idx.name,
                idx.key_columns(),
                false,
                &store.bm,
                &wal,
                &store.ext,
            );
            let mut owner = ResourceOwner::default();
            let r = bt.insert(&mut owner, &idx.key_of(row), tid, None);
            owner.release_all(Release::Abort);
            r?;
        }
        Ok(())
    }

    /// The rows of the indexed catalog whose key starts with `prefix`
    /// (catalog values: `name` as `Value::Name`), as the catalog snapshot
    /// sees them, in index order, each with its TID: an index scan with
    /// the re-check of the file comment.
    pub(super) fn catalog_lookup(
        &self,
        index: u32,
        prefix: &[Value],
    ) -> Result<Vec<(ItemPointer, Vec<Value>)>, PgError> {
        let idx: &CatIndex = cat::catalog_index(index);
        let (store, engine) = self.table_parts()?;
        let snap = self.catalog_snapshot()?;
        let current = self.current_xids();
        let wal = XlogHeapWal(&engine.xlog);
        let c = cat::catalog(idx.heap);
        let types_ = c.types();
        let key: Vec<Value> = prefix.iter().map(cat::key_value).collect();
        let bt = BtreeRel::new(
            idx.locator(store.db),
            idx.name,
            idx.key_columns(),
            false,
            &store.bm,
            &wal,
            &store.ext,
        );
        let mut owner = ResourceOwner::default();
        let tids = (|| {
            let mut scan = bt.scan(
                &mut owner,
                Some((key.clone(), true)),
                Some((key.clone(), true)),
            )?;
            let mut tids = Vec::new();
            while let Some((tid, _)) = scan.next(&mut owner)? {
                tids.push(tid);
            }
            Ok::<_, PgError>(tids)
        })();
        owner.release_all(Release::Abort);
        let tids = tids?;
        let heap = HeapRel::new(c.locator(store.db), &store.bm, &wal, &store.ext);
        let vis = Vis::new(&engine, &store, &snap, &current);
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut owner = ResourceOwner::default();
        let r = (|| {
            for tid in tids {
                if !seen.insert((tid.block, tid.offset)) {
                    continue;
                }
                let Some(t) = heap.fetch(&mut owner, &vis, tid)? else {
                    continue;
                };
                let row = datum::deform_row(&t, &types_)?;
                if idx.key_of(&row)[..key.len()] == key[..] {
                    out.push((tid, row));
                }
            }
            Ok::<_, PgError>(())
        })();
        owner.release_all(Release::Abort);
        vis.check()?;
        r?;
        Ok(out)
    }

    /// The one row of an index on `oid` alone (pg_class, pg_type,
    /// pg_namespace... by OID), or None.
    pub(super) fn catalog_by_oid(
        &self,
        index: u32,
        oid: u32,
    ) -> Result<Option<(ItemPointer, Vec<Value>)>, PgError> {
        Ok(self
            .catalog_lookup(index, &[Value::Oid(oid)])?
            .into_iter()
            .next())
    }

    /// The rows of catalog `catoid` whose column `col` equals `v`: an
    /// index scan when an index of the catalog leads with `col`, else a
    /// scan (in heap order then; index order otherwise).
    pub(super) fn catalog_rows_by(
        &self,
        catoid: u32,
        col: &str,
        v: Value,
    ) -> Result<Vec<(ItemPointer, Vec<Value>)>, PgError> {
        if let Some(idx) = cat::indexes_of_catalog(catoid).find(|i| i.cols[0] == col) {
            return self.catalog_lookup(idx.oid, &[v]);
        }
        let i = cat::catalog(catoid).col(col);
        let v = cat::key_value(&v);
        Ok(self
            .catalog_rows(catoid)?
            .into_iter()
            .filter(|(_, r)| cat::key_value(&r[i]) == v)
            .collect())
    }
}
