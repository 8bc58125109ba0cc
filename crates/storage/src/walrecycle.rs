//! How much WAL a cluster keeps: when WAL volume asks for a checkpoint
//! (`max_wal_size`), which segment files a finished checkpoint removes or
//! recycles (`min_wal_size`, `max_wal_size`, `wal_keep_size`), how a
//! spread checkpoint paces itself (`checkpoint_completion_target`), and
//! the next segment created ahead of need.
//!
//! Why PostgreSQL 15's arithmetic, unchanged (xlog.c's
//! CalculateCheckpointSegments, XLogCheckpointNeeded, KeepLogSeg,
//! XLOGfileslop, RemoveOldXlogFiles, checkpointer.c's
//! IsCheckpointOnSchedule): operators size `pg_wal` with these settings
//! and expect the same disk use and the same checkpoint frequency as on
//! PostgreSQL. The pure functions are separate from the file work so that
//! unit tests pin the figures.
//!
//! Why recycling is crash-safe: a recycled file keeps its old pages, whose
//! headers carry the page address they were written for
//! (`xlp_pageaddr`); the reader ([`crate::wal::WalReader`]) rejects a page
//! whose address is not its position, so recovery stops at the end of
//! what was written into the file under its new name and never reads old
//! records as new ones. A file is recycled with `link(old, new)` then
//! `unlink(old)`, never `rename`: link fails if a writer has meanwhile
//! created the new name, so a segment holding fresh WAL is never
//! replaced (PostgreSQL holds ControlFileLock for this; a failing link is
//! the same guard without a lock).
//!
//! Who calls what: [`remove_old_segments`] and [`preallocate`] run in the
//! checkpointer (or the startup process at the end of recovery) after
//! pg_control points at the new checkpoint; the pure functions anywhere.

use crate::wal::{parse_wal_file_name, wal_file_name};
use crate::xlog::{XlogConfig, XlogError};
use std::fs::File;
use std::path::Path;

const MB: u64 = 1024 * 1024;

/// The settings that size `pg_wal`, in PostgreSQL's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WalSizing {
    pub seg_size: u64,
    pub min_wal_size_mb: u64,
    pub max_wal_size_mb: u64,
    pub wal_keep_size_mb: u64,
    pub completion_target: f64,
}

impl WalSizing {
    /// From the settings (`min_wal_size`, `max_wal_size`, `wal_keep_size`
    /// in MB; `checkpoint_completion_target`) and the cluster's segment
    /// size.
    pub fn from_settings(s: &tusk_config::Settings, seg_size: u64) -> WalSizing {
        WalSizing {
            seg_size: seg_size.max(1),
            min_wal_size_mb: s.int("min_wal_size").max(0) as u64,
            max_wal_size_mb: s.int("max_wal_size").max(0) as u64,
            wal_keep_size_mb: s.int("wal_keep_size").max(0) as u64,
            completion_target: s.real("checkpoint_completion_target"),
        }
    }

    /// PostgreSQL's ConvertToXSegs: MB to whole segments (rounded down).
    /// Segments smaller than 1 MB (tests) count as one MB each.
    pub fn to_segs(&self, mb: u64) -> u64 {
        mb / (self.seg_size / MB).max(1)
    }

    /// PostgreSQL's CheckPointSegments: a checkpoint must start every so
    /// many segments so that, finishing at `checkpoint_completion_target`
    /// of the interval, WAL stays within `max_wal_size`. At least 1.
    pub fn checkpoint_segments(&self) -> u64 {
        let target = self.to_segs(self.max_wal_size_mb) as f64 / (1.0 + self.completion_target);
        (target as u64).max(1)
    }

    /// PostgreSQL's XLogCheckpointNeeded: true once the segment just
    /// finished (`new_segno`) is `checkpoint_segments() - 1` segments past
    /// the one holding the last checkpoint's redo pointer.
    pub fn checkpoint_needed(&self, redo: u64, new_segno: u64) -> bool {
        let old = redo / self.seg_size;
        new_segno + 1 >= old + self.checkpoint_segments()
    }

    /// PostgreSQL's KeepLogSeg (without replication slots): the oldest
    /// segment a checkpoint whose redo pointer is `redo` and whose record
    /// is at `ck_lsn` keeps; every segment before it may go.
    /// `wal_keep_size` keeps that much WAL behind the checkpoint record.
    pub fn keep_from(&self, redo: u64, ck_lsn: u64) -> u64 {
        let mut segno = redo / self.seg_size;
        let curr = ck_lsn / self.seg_size;
        let keep = self.to_segs(self.wal_keep_size_mb);
        if keep > 0 && curr - segno.min(curr) < keep {
            let s = if curr <= keep { 1 } else { curr - keep };
            segno = segno.min(s);
        }
        segno
    }

    /// PostgreSQL's XLOGfileslop: the last segment number an old file may
    /// be recycled to. Enough for the WAL the next checkpoint cycle is
    /// expected to write (`estimate`, bytes between redo pointers, times
    /// 1 + completion target, plus 10 %), bounded by `min_wal_size` below
    /// and `max_wal_size` above, counted from the redo pointer.
    pub fn recycle_limit(&self, redo: u64, estimate: f64) -> u64 {
        let base = redo / self.seg_size;
        let min = (base + self.to_segs(self.min_wal_size_mb)).saturating_sub(1);
        let max = (base + self.to_segs(self.max_wal_size_mb)).saturating_sub(1);
        let distance = (1.0 + self.completion_target) * estimate * 1.10;
        let want = ((redo as f64 + distance) / self.seg_size as f64).ceil() as u64;
        want.clamp(min, max.max(min))
    }
}

/// PostgreSQL's CheckPointDistanceEstimate: a moving estimate of the WAL
/// written between two checkpoints' redo pointers, that rises at once and
/// decays slowly. Kept by the checkpointer in its own memory, as there.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DistanceEstimate {
    /// Bytes between the last two redo pointers.
    pub prev: u64,
    pub estimate: f64,
}

impl DistanceEstimate {
    /// PostgreSQL's UpdateCheckPointDistanceEstimate.
    pub fn update(&mut self, nbytes: u64) {
        self.prev = nbytes;
        let n = nbytes as f64;
        self.estimate = if self.estimate < n {
            n
        } else {
            0.90 * self.estimate + 0.10 * n
        };
    }
}

/// What [`remove_old_segments`] did (the log_checkpoints counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecycleStats {
    pub removed: u64,
    pub recycled: u64,
}

/// PostgreSQL's RemoveOldXlogFiles: every segment file before `keep_from`
/// (of any timeline) is recycled, renamed to the first free segment
/// number from the one holding `ck_end` (the checkpoint record's end) up
/// to `recycle_limit`, or removed once no free number is left. Segment
/// files in order, oldest first, so the newest old files are the ones
/// removed. Checkpointer (or the startup process), after pg_control
/// points at the checkpoint; another process may be creating segments
/// meanwhile (see the file comment for why that is safe).
pub fn remove_old_segments(
    wal_dir: &Path,
    tli: u32,
    seg_size: u64,
    keep_from: u64,
    ck_end: u64,
    recycle_limit: u64,
    cfg: &XlogConfig,
) -> Result<RecycleStats, XlogError> {
    let io = |what: String, e: std::io::Error| XlogError {
        message: format!("{what}: {e}"),
        corrupt: false,
    };
    let dir = std::fs::read_dir(wal_dir).map_err(|e| {
        io(
            format!("could not open directory \"{}\"", wal_dir.display()),
            e,
        )
    })?;
    let mut old: Vec<(u64, String)> = dir
        .flatten()
        .filter_map(|ent| {
            let name = ent.file_name().into_string().ok()?;
            let (_, segno) = parse_wal_file_name(&name, seg_size)?;
            (segno < keep_from && ent.file_type().ok()?.is_file()).then_some((segno, name))
        })
        .collect();
    old.sort();
    let mut stats = RecycleStats::default();
    let mut next_free = ck_end / seg_size;
    for (_, name) in old {
        let path = wal_dir.join(&name);
        let mut recycled = false;
        while next_free <= recycle_limit {
            let target = wal_dir.join(wal_file_name(tli, next_free, seg_size));
            match std::fs::hard_link(&path, &target) {
                Ok(()) => {
                    recycled = true;
                    next_free += 1;
                    break;
                }
                // Taken (written, or recycled before): try the next.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => next_free += 1,
                Err(e) => {
                    return Err(io(
                        format!(
                            "could not link file \"{}\" to \"{}\"",
                            path.display(),
                            target.display()
                        ),
                        e,
                    ))
                }
            }
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(io(
                    format!("could not remove file \"{}\"", path.display()),
                    e,
                ))
            }
        }
        if recycled {
            stats.recycled += 1;
        } else {
            stats.removed += 1;
        }
    }
    // The new names and the removals must survive a crash together with
    // the checkpoint that allowed them.
    if cfg.fsync && stats != RecycleStats::default() {
        File::open(wal_dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| {
                io(
                    format!("could not fsync directory \"{}\"", wal_dir.display()),
                    e,
                )
            })?;
    }
    Ok(stats)
}

/// PostgreSQL's PreallocXlogFiles: once insertion is three quarters into
/// its segment, creates the next one (zero-filled) so that a committer
/// does not pay for it. Returns the number of files added (0 or 1).
/// Checkpointer.
pub fn preallocate(
    wal_dir: &Path,
    tli: u32,
    seg_size: u64,
    insert: u64,
    cfg: &XlogConfig,
) -> Result<u64, XlogError> {
    if insert % seg_size < seg_size / 4 * 3 {
        return Ok(0);
    }
    let next = insert / seg_size + 1;
    if wal_dir.join(wal_file_name(tli, next, seg_size)).exists() {
        return Ok(0);
    }
    crate::xlog::open_segment(wal_dir, tli, next, seg_size, cfg)?;
    Ok(1)
}

/// PostgreSQL's IsCheckpointOnSchedule: is a spread checkpoint that has
/// written `progress` (0..1) of its buffers ahead of both clocks, the
/// time since it started against `checkpoint_timeout` and the WAL written
/// since it started against CheckPointSegments? Both scaled by
/// `checkpoint_completion_target`. The checkpointer sleeps while true.
pub fn on_schedule(
    progress: f64,
    completion_target: f64,
    elapsed_secs: f64,
    timeout_secs: f64,
    wal_since_start: u64,
    sizing: &WalSizing,
) -> bool {
    let progress = progress * completion_target;
    let wal = wal_since_start as f64 / sizing.seg_size as f64 / sizing.checkpoint_segments() as f64;
    if progress < wal {
        return false;
    }
    progress >= elapsed_secs / timeout_secs.max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg_defaults() -> WalSizing {
        WalSizing {
            seg_size: 16 * MB,
            min_wal_size_mb: 80,
            max_wal_size_mb: 1024,
            wal_keep_size_mb: 0,
            completion_target: 0.9,
        }
    }

    #[test]
    fn checkpoint_segments_as_postgresql_computes_them() {
        // 1 GB / 16 MB = 64 segments, / 1.9 = 33.68 -> 33.
        assert_eq!(pg_defaults().checkpoint_segments(), 33);
        let small = WalSizing {
            max_wal_size_mb: 32,
            ..pg_defaults()
        };
        // 2 segments / 1.9 = 1.05 -> 1.
        assert_eq!(small.checkpoint_segments(), 1);
        let tiny = WalSizing {
            max_wal_size_mb: 2,
            ..pg_defaults()
        };
        // 0 segments: still at least one.
        assert_eq!(tiny.checkpoint_segments(), 1);
        // 1 MB segments: max_wal_size in MB is the count.
        let mb = WalSizing {
            seg_size: MB,
            max_wal_size_mb: 16,
            completion_target: 0.5,
            ..pg_defaults()
        };
        assert_eq!(mb.checkpoint_segments(), 10);
    }

    #[test]
    fn a_checkpoint_is_needed_after_checkpoint_segments_minus_one() {
        let s = pg_defaults(); // 33
        let redo = 5 * s.seg_size + 100;
        assert!(!s.checkpoint_needed(redo, 5));
        assert!(!s.checkpoint_needed(redo, 5 + 31));
        assert!(s.checkpoint_needed(redo, 5 + 32));
        assert!(s.checkpoint_needed(redo, 5 + 40));
        let one = WalSizing {
            max_wal_size_mb: 32,
            ..pg_defaults()
        };
        // With one segment per checkpoint, finishing the redo segment
        // asks for the next.
        assert!(one.checkpoint_needed(redo, 5));
        assert!(!one.checkpoint_needed(redo, 4));
    }

    #[test]
    fn keep_from_is_the_redo_segment_unless_wal_keep_size_keeps_more() {
        let s = pg_defaults();
        let seg = s.seg_size;
        assert_eq!(s.keep_from(10 * seg + 5, 12 * seg), 10);
        let keep = WalSizing {
            wal_keep_size_mb: 64, // 4 segments
            ..pg_defaults()
        };
        // Checkpoint record in segment 12: keep 8.. (12 - 4).
        assert_eq!(keep.keep_from(10 * seg + 5, 12 * seg), 8);
        // Already more than 4 behind: the redo segment.
        assert_eq!(keep.keep_from(3 * seg, 12 * seg), 3);
        // Never below segment 1.
        assert_eq!(keep.keep_from(3 * seg, 3 * seg), 1);
    }

    #[test]
    fn recycle_limit_between_min_and_max_wal_size() {
        let s = pg_defaults();
        let seg = s.seg_size;
        let redo = 100 * seg;
        // No estimate yet: min_wal_size's 5 segments from the redo one.
        assert_eq!(s.recycle_limit(redo, 0.0), 104);
        // 10 segments per cycle: 10 * 1.9 * 1.1 = 20.9 -> 121.
        assert_eq!(s.recycle_limit(redo, 10.0 * seg as f64), 121);
        // Huge estimate: max_wal_size's 64.
        assert_eq!(s.recycle_limit(redo, 1000.0 * seg as f64), 163);
    }

    #[test]
    fn the_distance_estimate_rises_at_once_and_decays_slowly() {
        let mut d = DistanceEstimate::default();
        d.update(1000);
        assert_eq!((d.prev, d.estimate), (1000, 1000.0));
        d.update(0);
        assert_eq!(d.prev, 0);
        assert!((d.estimate - 900.0).abs() < 1e-9);
        d.update(5000);
        assert_eq!(d.estimate, 5000.0);
    }

    #[test]
    fn on_schedule_follows_both_clocks() {
        let s = pg_defaults();
        // Half written at target 0.9 (0.45) after 10% of the time: ahead.
        assert!(on_schedule(0.5, 0.9, 30.0, 300.0, 0, &s));
        // After 60% of the time: behind.
        assert!(!on_schedule(0.5, 0.9, 180.0, 300.0, 0, &s));
        // WAL: 20 of 33 segments written since the start: behind.
        assert!(!on_schedule(0.5, 0.9, 0.0, 300.0, 20 * s.seg_size, &s));
        assert!(on_schedule(0.5, 0.9, 0.0, 300.0, 10 * s.seg_size, &s));
    }

    fn touch(dir: &Path, segno: u64, seg: u64, fill: u8) {
        std::fs::write(
            dir.join(wal_file_name(1, segno, seg)),
            vec![fill; seg as usize],
        )
        .unwrap();
    }

    fn segs(dir: &Path, seg: u64) -> Vec<u64> {
        let mut v: Vec<u64> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter_map(|e| parse_wal_file_name(e.file_name().to_str()?, seg).map(|(_, s)| s))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn old_segments_are_recycled_up_to_the_limit_and_the_rest_removed() {
        let d = tempfile::tempdir().unwrap();
        let seg = 8192 * 4;
        for s in 1..=8 {
            touch(d.path(), s, seg, s as u8);
        }
        let cfg = XlogConfig {
            fsync: false,
            sync_method: crate::xlog::SyncMethod::Fdatasync,
            full_page_writes: true,
            startup_progress_interval_ms: 0,
        };
        // Keep 6.. ; the checkpoint ends in 7 (8 exists too); recycle up
        // to 10: 1 -> 9, 2 -> 10, 3..5 removed.
        let st = remove_old_segments(d.path(), 1, seg, 6, 7 * seg + 100, 10, &cfg).unwrap();
        assert_eq!(
            st,
            RecycleStats {
                removed: 3,
                recycled: 2
            }
        );
        assert_eq!(segs(d.path(), seg), vec![6, 7, 8, 9, 10]);
        // A recycled file keeps its old bytes (its pages' addresses are
        // wrong for its new name, which is what the reader checks).
        let nine = std::fs::read(d.path().join(wal_file_name(1, 9, seg))).unwrap();
        assert_eq!(nine[0], 1);
        // Nothing before keep_from: nothing to do; other files untouched.
        std::fs::write(d.path().join("000000010000000000000003.partial"), b"x").unwrap();
        let st = remove_old_segments(d.path(), 1, seg, 6, 7 * seg, 12, &cfg).unwrap();
        assert_eq!(st, RecycleStats::default());
        assert!(d.path().join("000000010000000000000003.partial").exists());
    }

    #[test]
    fn preallocation_adds_the_next_segment_past_three_quarters() {
        let d = tempfile::tempdir().unwrap();
        let seg = 8192 * 4;
        let cfg = XlogConfig {
            fsync: false,
            sync_method: crate::xlog::SyncMethod::Fdatasync,
            full_page_writes: true,
            startup_progress_interval_ms: 0,
        };
        assert_eq!(
            preallocate(d.path(), 1, seg, 2 * seg + 100, &cfg).unwrap(),
            0
        );
        assert_eq!(
            preallocate(d.path(), 1, seg, 2 * seg + seg * 3 / 4, &cfg).unwrap(),
            1
        );
        assert_eq!(segs(d.path(), seg), vec![3]);
        assert_eq!(
            std::fs::metadata(d.path().join(wal_file_name(1, 3, seg)))
                .unwrap()
                .len(),
            seg
        );
        assert_eq!(
            preallocate(d.path(), 1, seg, 2 * seg + seg * 3 / 4, &cfg).unwrap(),
            0,
            "already there"
        );
    }
}
