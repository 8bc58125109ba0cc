//! Table activity counting in a backend: the transaction's pending counts,
//! added to the shared counters (tusk_storage::pgstat) when it ends, and
//! the rows of pg_stat_user_tables.
//!
//! Why pending counts until the end: only committed changes count as
//! inserted, updated or deleted, and an aborted transaction's tuples are
//! dead (PostgreSQL's pgstat_relation counts the same way, per
//! transaction). A backend is single-threaded and has one transaction at a
//! time, so the pending map is this process's own (a thread-local), which
//! keeps the hooks in tables.rs to one call each. Subtransactions are not
//! tracked apart: changes of a rolled-back savepoint count as committed
//! when the top transaction commits (PostgreSQL moves them to dead).
//!
//! Whether this process is an autovacuum worker decides which of
//! last_vacuum/last_autovacuum a VACUUM sets.
//!
//! Called only by the backend (or autovacuum worker) itself.

use super::*;
use std::sync::atomic::{AtomicBool, Ordering};
use tusk_storage::pgstat::Pending;

thread_local! {
    static PENDING: RefCell<tusk_common::fasthash::FastMap<u32, Pending>> = RefCell::new(Default::default());
}

/// Set once by an autovacuum worker: its VACUUMs are autovacuums.
pub(crate) static AUTOVACUUM_WORKER: AtomicBool = AtomicBool::new(false);

#[derive(Clone, Copy)]
pub(crate) enum Change {
    Insert,
    Update,
    Delete,
}

/// One row changed in table `rel` by the running transaction.
pub(crate) fn count(rel: u32, what: Change) {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        let e = p.entry(rel).or_default();
        match what {
            Change::Insert => e.inserted += 1,
            Change::Update => e.updated += 1,
            Change::Delete => e.deleted += 1,
        }
    });
}

/// The transaction ended: its counts go to shared memory.
pub(crate) fn transaction_ended(shared: &ChildShared, db: Option<u32>, committed: bool) {
    let pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    let (Some(stats), Some(db)) = (shared.table_stats(), db) else {
        return;
    };
    for (rel, p) in pending {
        stats.report_xact_end(db, rel, p, committed);
    }
}

/// A lazy VACUUM of `rel` finished: what it left.
pub(crate) fn vacuumed(shared: &ChildShared, db: u32, rel: u32, live: u64, dead: u64) {
    if let Some(stats) = shared.table_stats() {
        stats.report_vacuum(
            db,
            rel,
            live as i64,
            dead as i64,
            super::super::now_pg(),
            AUTOVACUUM_WORKER.load(Ordering::Relaxed),
        );
    }
}

/// pg_stat_user_tables: every ordinary user table of this database that
/// the statement's snapshot sees in pg_class, with its counters (zero
/// when it has none yet), in the view's column order. Counters tusk does
/// not keep (scans, HOT updates, ANALYZE) are NULL rather than a made-up 0.
pub(crate) fn user_tables_rows(
    ctx: Option<&Result<TableCtx, PgError>>,
    shared: &ChildShared,
) -> Result<Vec<Row>, PgError> {
    let ctx = match ctx {
        Some(Ok(c)) => c,
        Some(Err(e)) => return Err(e.clone()),
        None => {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "a table scan in a statement that reads no tables",
            ))
        }
    };
    let (store, engine) = (&*ctx.store, &*ctx.engine);
    let vis = Vis::new(engine, store, &ctx.snap, &ctx.current);
    let read = |oid: u32| -> Result<Vec<Vec<Value>>, PgError> {
        let c = cat::catalog(oid);
        let loc = c.locator(store.db);
        let types_ = c.types();
        let mut out = Vec::new();
        for b in 0..nblocks(store, loc)? {
            for (_, t) in read_page(store, &vis, loc, b)? {
                out.push(datum::deform_row(&t, &types_)?);
            }
        }
        Ok(out)
    };
    let n = cat::catalog(PG_NAMESPACE_OID);
    let spaces: HashMap<u32, String> = read(PG_NAMESPACE_OID)?
        .into_iter()
        .map(|r| {
            (
                oid_of(&r[n.col("oid")]),
                name_of(&r[n.col("nspname")]).to_string(),
            )
        })
        .collect();
    let c = cat::catalog(PG_CLASS_OID);
    let classes = read(PG_CLASS_OID)?;
    vis.check()?;
    let counters: HashMap<u32, tusk_storage::pgstat::StatRow> = shared
        .table_stats()
        .map(|s| s.rows())
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.db == store.db)
        .map(|r| (r.rel, r))
        .collect();
    let mut rows = Vec::new();
    for r in classes {
        if r[c.col("relkind")] != Value::Char(b'r') {
            continue;
        }
        let oid = oid_of(&r[c.col("oid")]);
        let schema = spaces
            .get(&oid_of(&r[c.col("relnamespace")]))
            .cloned()
            .unwrap_or_default();
        // PostgreSQL's pg_stat_user_tables: not pg_catalog,
        // information_schema or a pg_toast schema.
        if oid < cat::FIRST_NORMAL_OBJECT_ID
            || schema == "pg_catalog"
            || schema == "information_schema"
            || schema.starts_with("pg_toast")
        {
            continue;
        }
        let s = counters.get(&oid).copied().unwrap_or_default();
        let ts = |t: i64| {
            if t == 0 {
                Value::Null
            } else {
                Value::TimestampTz(t)
            }
        };
        rows.push(vec![
            Value::Oid(oid),
            Value::Name(schema),
            Value::Name(name_of(&r[c.col("relname")]).to_string()),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Int8(s.n_tup_ins),
            Value::Int8(s.n_tup_upd),
            Value::Int8(s.n_tup_del),
            Value::Null,
            Value::Int8(s.n_live_tup.max(0)),
            Value::Int8(s.n_dead_tup.max(0)),
            Value::Null,
            Value::Int8(s.n_ins_since_vacuum),
            ts(s.last_vacuum),
            ts(s.last_autovacuum),
            Value::Null,
            Value::Null,
            Value::Int8(s.vacuum_count),
            Value::Int8(s.autovacuum_count),
            Value::Null,
            Value::Null,
        ]);
    }
    Ok(rows)
}

/// In an autovacuum worker, a plain VACUUM keeps only the tables whose
/// counters pass the thresholds (autovacuum.c's table_recheck_autovac):
/// a table's own in `per` (None: autovacuum_enabled=false), else `t`;
/// elsewhere it keeps every table.
pub(crate) fn keep_autovacuum_targets(
    shared: &ChildShared,
    db: u32,
    t: &tusk_storage::pgstat::AvThresholds,
    per: &std::collections::HashMap<u32, Option<tusk_storage::pgstat::AvThresholds>>,
    targets: &mut Vec<(String, String, TableRef)>,
) {
    if !AUTOVACUUM_WORKER.load(Ordering::Relaxed) {
        return;
    }
    let Some(stats) = shared.table_stats() else {
        targets.clear();
        return;
    };
    let due: std::collections::HashSet<u32> = stats
        .rows()
        .into_iter()
        .filter(|r| {
            r.db == db
                && match per.get(&r.rel) {
                    Some(Some(own)) => own.needs_vacuum(r),
                    Some(None) => false,
                    None => t.needs_vacuum(r),
                }
        })
        .map(|r| r.rel)
        .collect();
    targets.retain(|(_, _, tr)| due.contains(&tr.oid));
}
