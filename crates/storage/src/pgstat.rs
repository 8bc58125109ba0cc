//! Per-table activity counters in shared memory: what pg_stat_user_tables
//! shows and what the autovacuum launcher decides from.
//!
//! Why a fixed open-addressing table of atomics: PostgreSQL keeps these in
//! pgstat's shared hash (dshash); here the counters are few and every
//! update is an add, so one slot per (database, table) with `AtomicI64`
//! fields needs no lock at all. A slot is claimed by a compare-and-swap of
//! its key from 0, and never freed: a dropped table's slot stays (the view
//! joins pg_class, so it is not shown) until the next restart, when shared
//! memory is new. All-zero is the initial state (layout.rs's rule): key 0
//! means "free", every counter starts at 0 and a timestamp of 0 means
//! "never". When every slot is taken a new table is simply not counted
//! (and never autovacuumed): a fixed size is what the registry allows
//! without a setting.
//!
//! The header also carries the database the launcher wants a worker for
//! (`av_target_db`): the launcher writes it before asking the postmaster
//! for a worker, and the worker takes it once started.

use crate::layout::{AreaId, AreaSpec, Layout};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

/// Slots in the table (a power of two).
pub const TABLE_SLOTS: usize = 4096;

/// The area's header.
#[repr(C, align(64))]
pub struct StatsHeader {
    /// Database OID the launcher asked a worker for; 0 none.
    pub av_target_db: AtomicU32,
    /// Slots claimed (for reports; never decreases).
    pub used: AtomicU32,
    /// The database each running worker vacuums (0: free entry), so that
    /// the launcher does not send a second worker to the same database.
    /// A worker takes an entry at start and clears it on exit.
    pub worker_db: [AtomicU32; MAX_TRACKED_WORKERS],
}

/// Workers whose database the header records; more may run (up to
/// autovacuum_max_workers), unrecorded.
pub const MAX_TRACKED_WORKERS: usize = 62;

impl StatsHeader {
    /// Records that this worker vacuums `db`; the entry index to free,
    /// or None when all are taken. A worker only.
    pub fn register_worker(&self, db: u32) -> Option<usize> {
        (0..MAX_TRACKED_WORKERS).find(|&i| {
            self.worker_db[i]
                .compare_exchange(0, db, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        })
    }

    /// Whether some worker is vacuuming `db`. Any process.
    pub fn worker_on(&self, db: u32) -> bool {
        self.worker_db
            .iter()
            .any(|w| w.load(Ordering::Acquire) == db)
    }
}

/// One table's counters. Changed by backends at commit or abort of the
/// transaction that made the changes, and by VACUUM.
#[repr(C, align(64))]
#[derive(Default)]
pub struct TableStat {
    /// `db << 32 | relid`; 0: free.
    key: AtomicU64,
    pub n_tup_ins: AtomicI64,
    pub n_tup_upd: AtomicI64,
    pub n_tup_del: AtomicI64,
    pub n_live_tup: AtomicI64,
    pub n_dead_tup: AtomicI64,
    /// Inserts since the last vacuum (autovacuum_vacuum_insert_threshold).
    pub n_ins_since_vacuum: AtomicI64,
    /// PostgreSQL timestamps (µs since 2000-01-01); 0: never.
    pub last_vacuum: AtomicI64,
    pub last_autovacuum: AtomicI64,
    pub vacuum_count: AtomicI64,
    pub autovacuum_count: AtomicI64,
    pub seq_scan: AtomicI64,
}

const HEADER: usize = std::mem::size_of::<StatsHeader>();

/// The area: header, then [`TABLE_SLOTS`] slots.
pub const AREA: AreaSpec = AreaSpec {
    id: AreaId::TableStats,
    name: "table statistics",
    align: 64,
    size: |c| {
        let slots = c.mul(TABLE_SLOTS, std::mem::size_of::<TableStat>())?;
        c.add(HEADER, slots)
    },
    init: crate::layout::init_zeroed,
};

/// What a transaction changed in one table, counted by its backend and
/// added at its end.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub inserted: i64,
    pub updated: i64,
    pub deleted: i64,
}

/// A view of the area. Any process attached to the region.
#[derive(Clone, Copy)]
pub struct TableStats {
    base: *const u8,
}

/// One slot's values, read (not atomically as a whole) for a report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StatRow {
    pub db: u32,
    pub rel: u32,
    pub n_tup_ins: i64,
    pub n_tup_upd: i64,
    pub n_tup_del: i64,
    pub n_live_tup: i64,
    pub n_dead_tup: i64,
    pub n_ins_since_vacuum: i64,
    pub last_vacuum: i64,
    pub last_autovacuum: i64,
    pub vacuum_count: i64,
    pub autovacuum_count: i64,
    pub seq_scan: i64,
}

fn key_of(db: u32, rel: u32) -> u64 {
    ((db as u64) << 32) | rel as u64
}

impl TableStats {
    /// # Safety
    /// `at` is the start of an area of [`AREA`]'s size, zero-filled when
    /// created and mapped for as long as the view is used.
    pub unsafe fn from_raw(at: *const u8) -> TableStats {
        TableStats { base: at }
    }

    /// # Safety
    /// `base` is the region `layout` was computed for, mapped for good.
    pub unsafe fn attach(base: *const u8, layout: &Layout) -> TableStats {
        // SAFETY: the area lies inside the region.
        unsafe { TableStats::from_raw(base.add(layout.area(AreaId::TableStats).offset)) }
    }

    pub fn header(&self) -> &StatsHeader {
        // SAFETY: from_raw's promise; all-zero is a valid header.
        unsafe { &*(self.base as *const StatsHeader) }
    }

    fn slot(&self, i: usize) -> &TableStat {
        // SAFETY: i < TABLE_SLOTS, inside the area; all-zero is valid.
        unsafe { &*(self.base.add(HEADER) as *const TableStat).add(i) }
    }

    fn start(db: u32, rel: u32) -> usize {
        // Fibonacci hashing of the key: OIDs come in runs.
        (key_of(db, rel).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52) as usize % TABLE_SLOTS
    }

    /// The table's slot, if it has one.
    pub fn find(&self, db: u32, rel: u32) -> Option<&TableStat> {
        let k = key_of(db, rel);
        let s = Self::start(db, rel);
        for n in 0..TABLE_SLOTS {
            let e = self.slot((s + n) % TABLE_SLOTS);
            match e.key.load(Ordering::Acquire) {
                0 => return None,
                x if x == k => return Some(e),
                _ => {}
            }
        }
        None
    }

    /// The table's slot, claimed now if needed; None when all are taken.
    pub fn get(&self, db: u32, rel: u32) -> Option<&TableStat> {
        let k = key_of(db, rel);
        let s = Self::start(db, rel);
        for n in 0..TABLE_SLOTS {
            let e = self.slot((s + n) % TABLE_SLOTS);
            match e
                .key
                .compare_exchange(0, k, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    self.header().used.fetch_add(1, Ordering::Relaxed);
                    return Some(e);
                }
                Err(x) if x == k => return Some(e),
                Err(_) => {}
            }
        }
        None
    }

    /// A transaction's changes at its end. Committed: inserts are live,
    /// deletes and the old versions of updates dead. Aborted: only the
    /// tuples it wrote are counted, all of them dead (its inserts and the
    /// new versions of its updates). Any process, for its own transaction.
    pub fn report_xact_end(&self, db: u32, rel: u32, p: Pending, committed: bool) {
        let Some(e) = self.get(db, rel) else { return };
        if committed {
            e.n_tup_ins.fetch_add(p.inserted, Ordering::Relaxed);
            e.n_tup_upd.fetch_add(p.updated, Ordering::Relaxed);
            e.n_tup_del.fetch_add(p.deleted, Ordering::Relaxed);
            e.n_live_tup
                .fetch_add(p.inserted - p.deleted, Ordering::Relaxed);
            e.n_dead_tup
                .fetch_add(p.updated + p.deleted, Ordering::Relaxed);
            e.n_ins_since_vacuum
                .fetch_add(p.inserted, Ordering::Relaxed);
        } else {
            e.n_dead_tup
                .fetch_add(p.inserted + p.updated, Ordering::Relaxed);
        }
    }

    /// A finished vacuum: the live and dead tuples it left, when, and by
    /// whom. The vacuuming process only.
    pub fn report_vacuum(&self, db: u32, rel: u32, live: i64, dead: i64, now: i64, auto: bool) {
        let Some(e) = self.get(db, rel) else { return };
        e.n_live_tup.store(live, Ordering::Relaxed);
        e.n_dead_tup.store(dead, Ordering::Relaxed);
        e.n_ins_since_vacuum.store(0, Ordering::Relaxed);
        if auto {
            e.last_autovacuum.store(now, Ordering::Relaxed);
            e.autovacuum_count.fetch_add(1, Ordering::Relaxed);
        } else {
            e.last_vacuum.store(now, Ordering::Relaxed);
            e.vacuum_count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A TRUNCATE committed: nothing is left, live or dead.
    pub fn report_truncate(&self, db: u32, rel: u32) {
        if let Some(e) = self.find(db, rel) {
            e.n_live_tup.store(0, Ordering::Relaxed);
            e.n_dead_tup.store(0, Ordering::Relaxed);
        }
    }

    /// Every used slot (of every database). Any process.
    pub fn rows(&self) -> Vec<StatRow> {
        let mut out = Vec::new();
        for i in 0..TABLE_SLOTS {
            let e = self.slot(i);
            let k = e.key.load(Ordering::Acquire);
            if k == 0 {
                continue;
            }
            let l = |a: &AtomicI64| a.load(Ordering::Relaxed);
            out.push(StatRow {
                db: (k >> 32) as u32,
                rel: k as u32,
                n_tup_ins: l(&e.n_tup_ins),
                n_tup_upd: l(&e.n_tup_upd),
                n_tup_del: l(&e.n_tup_del),
                n_live_tup: l(&e.n_live_tup),
                n_dead_tup: l(&e.n_dead_tup),
                n_ins_since_vacuum: l(&e.n_ins_since_vacuum),
                last_vacuum: l(&e.last_vacuum),
                last_autovacuum: l(&e.last_autovacuum),
                vacuum_count: l(&e.vacuum_count),
                autovacuum_count: l(&e.autovacuum_count),
                seq_scan: l(&e.seq_scan),
            });
        }
        out
    }
}

// SAFETY: the view points into shared memory whose every field is atomic;
// it is as shareable as the region itself.
unsafe impl Send for TableStats {}
// SAFETY: as above.
unsafe impl Sync for TableStats {}

/// PostgreSQL's autovacuum thresholds (autovacuum.c's
/// relation_needs_vacanalyze): dead tuples over `threshold + scale ×
/// reltuples`, or, when the insert threshold is not -1, inserts since the
/// last vacuum over `ins_threshold + ins_scale × reltuples`.
#[derive(Debug, Clone, Copy)]
pub struct AvThresholds {
    pub vac_threshold: i64,
    pub vac_scale: f64,
    pub ins_threshold: i64,
    pub ins_scale: f64,
}

impl AvThresholds {
    /// Whether `r` needs a vacuum; `reltuples` is the table's estimated
    /// row count (here the live-tuple counter).
    pub fn needs_vacuum(&self, r: &StatRow) -> bool {
        let reltuples = r.n_live_tup.max(0) as f64;
        let vac = self.vac_threshold as f64 + self.vac_scale * reltuples;
        if r.n_dead_tup as f64 > vac {
            return true;
        }
        if self.ins_threshold >= 0 {
            let ins = self.ins_threshold as f64 + self.ins_scale * reltuples;
            if r.n_ins_since_vacuum as f64 > ins {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area() -> (Vec<u64>, TableStats) {
        let size = HEADER + TABLE_SLOTS * std::mem::size_of::<TableStat>();
        let mem = vec![0u64; size / 8 + 8];
        let at = (mem.as_ptr() as usize + 63) & !63;
        // SAFETY: `mem` outlives the view in each test and is zeroed.
        (mem, unsafe { TableStats::from_raw(at as *const u8) })
    }

    #[test]
    fn commit_and_abort_count_as_postgresql() {
        let (_m, s) = area();
        let p = Pending {
            inserted: 10,
            updated: 3,
            deleted: 2,
        };
        s.report_xact_end(5, 16384, p, true);
        s.report_xact_end(5, 16384, p, false);
        let r = s.rows();
        assert_eq!(r.len(), 1);
        let r = r[0];
        assert_eq!((r.db, r.rel), (5, 16384));
        assert_eq!((r.n_tup_ins, r.n_tup_upd, r.n_tup_del), (10, 3, 2));
        assert_eq!(r.n_live_tup, 8);
        // 3 + 2 dead by the commit, 10 + 3 written by the abort.
        assert_eq!(r.n_dead_tup, 18);
        s.report_vacuum(5, 16384, 8, 0, 123, true);
        let r = s.rows()[0];
        assert_eq!(
            (r.n_dead_tup, r.autovacuum_count, r.last_autovacuum),
            (0, 1, 123)
        );
        assert_eq!((r.vacuum_count, r.last_vacuum), (0, 0));
    }

    #[test]
    fn colliding_keys_get_their_own_slots_and_a_full_table_drops_counts() {
        let (_m, s) = area();
        for rel in 0..TABLE_SLOTS as u32 {
            assert!(s.get(1, 20000 + rel).is_some());
        }
        assert!(s.get(2, 1).is_none(), "full");
        assert!(s.find(1, 20000).is_some());
        assert!(s.find(2, 1).is_none());
        assert_eq!(s.header().used.load(Ordering::Relaxed), TABLE_SLOTS as u32);
    }

    #[test]
    fn thresholds_follow_postgresql() {
        let t = AvThresholds {
            vac_threshold: 50,
            vac_scale: 0.2,
            ins_threshold: 1000,
            ins_scale: 0.2,
        };
        let mut r = StatRow {
            n_live_tup: 1000,
            n_dead_tup: 250,
            ..Default::default()
        };
        assert!(!t.needs_vacuum(&r), "250 = 50 + 0.2 × 1000 is not over");
        r.n_dead_tup = 251;
        assert!(t.needs_vacuum(&r));
        r.n_dead_tup = 0;
        r.n_ins_since_vacuum = 1201;
        assert!(t.needs_vacuum(&r));
    }
}
