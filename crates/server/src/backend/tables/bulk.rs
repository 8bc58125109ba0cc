//! Bulk row storage in a backend: `Tables::insert_many`, which stores a batch of rows with the heap's multi-insert (whole pages under one lock and one WAL record each) and then their index entries.
//!
//! Why this shape (PostgreSQL's CopyMultiInsertBuffer flush:
//! heap_multi_insert, then ExecInsertIndexTuples per row): the per-row
//! costs of `insert` (relation lock request, heap handle, page search,
//! exclusive lock, WAL record) are paid once per batch or per page; the
//! index entries still go in row by row, after the heap, so a unique
//! violation is reported for the first row of the batch that has one.
//! Catalogs and single rows take the ordinary path: catalog rows need
//! their catalog index entries and cache invalidation, and one row gains
//! nothing.
//!
//! Runs in the backend that owns the session.

use super::*;

impl Session {
    pub(super) fn insert_many_impl(
        &mut self,
        rel: &Relation,
        rows: &[Row],
    ) -> Result<(), (usize, PgError)> {
        let t = rel.table().map_err(|e| (0, e))?;
        if rows.len() < 2 || t.oid < cat::FIRST_NORMAL_OBJECT_ID {
            for (i, r) in rows.iter().enumerate() {
                tusk_sql::Tables::insert(self, rel, r).map_err(|e| (i, e))?;
            }
            return Ok(());
        }
        toast::refuse_change(rel, t).map_err(|e| (0, e))?;
        sequence::refuse_change(rel, t, "change").map_err(|e| (0, e))?;
        self.lock_relation(t, LockMode::RowExclusive)
            .map_err(|e| (0, e))?;
        let types_ = rel.physical_types();
        // Tuples are formed (and toasted) first; a row that cannot be is
        // reported after the rows before it are stored, as one at a time.
        let mut tuples = Vec::with_capacity(rows.len());
        let mut failed = None;
        for (i, row) in rows.iter().enumerate() {
            let prow = rel.to_physical(row);
            match self.form_toasted(t, &types_, &prow, &[]) {
                Ok((tuple, _)) => tuples.push(tuple),
                Err(e) => {
                    failed = Some((i, e));
                    break;
                }
            }
        }
        let stored = tuples.len();
        if stored > 0 {
            let xid = self.write_xid().map_err(|e| (0, e))?;
            let cid = self.xact.command_id();
            let tids = self
                .with_heap(t, |h, vis, owner| {
                    h.multi_insert(owner, vis, &mut tuples, xid, cid)
                })
                .map_err(|e| (0, e))?;
            for (i, (row, tid)) in rows.iter().zip(tids).enumerate() {
                self.index_insert(rel, t, row, tid).map_err(|e| (i, e))?;
                stats::count(t.oid, stats::Change::Insert);
            }
        }
        match failed {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }
}
