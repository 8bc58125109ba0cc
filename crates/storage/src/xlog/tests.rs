//! WAL insertion, flush and recovery against real files: records across
//! page and segment boundaries with few buffers and small segments,
//! concurrent inserters and group flush in forked processes, and the
//! checkpoint / crash / redo cycle.
//!
//! Forked children here allocate (records are encoded into vectors);
//! glibc's malloc takes its arena locks around fork, so a child never
//! inherits a held allocator lock.

use super::*;
use crate::control::{PgControlShared, PgControlView, PgControlWriter, UncontendedProcs};
use crate::lwlock::LwWaiter;
use crate::testutil::{fork_child, wait_until, Children, PrivateSems, SharedMem};
use crate::wal::RM_HEAP_ID;
use std::time::Duration;
use tusk_ipc::sem::SemSet;

const SYSID: u64 = 0x1234_5678_9abc_def0;
const MAX_PROCS: usize = 8;

/// Processes of a test: LWLock waiters in a shared mapping, one private
/// semaphore each (as the lwlock tests do).
#[derive(Clone, Copy)]
struct TestProcs<'a> {
    mem: &'a SharedMem,
    sems: SemSet,
}

impl LwProcs for TestProcs<'_> {
    fn waiter(&self, procno: u32) -> &LwWaiter {
        self.mem
            .at(procno as usize * std::mem::size_of::<LwWaiter>())
    }
    fn sleep(&self, procno: u32) {
        if self.sems.sleep(procno as usize).is_err() {
            // SAFETY: ends this forked child (the test gave up).
            unsafe { libc::_exit(70) };
        }
    }
    fn wake(&self, procno: u32) {
        if self.sems.unlock(procno as usize).is_err() {
            // SAFETY: as above.
            unsafe { libc::_exit(71) };
        }
    }
}

/// A WAL area of `nbuf` buffers in a shared mapping (after the waiters),
/// and a data directory with pg_wal/.
struct Env {
    mem: SharedMem,
    sems: PrivateSems,
    area_off: usize,
    nbuf: usize,
    dir: tempfile::TempDir,
}

fn area_size(nbuf: usize) -> usize {
    crate::walbuffers::xlblocks_offset(nbuf) + 8 * nbuf
}

impl Env {
    fn new(nbuf: usize) -> Env {
        let area_off = 4096;
        let mem = SharedMem::new(area_off + area_size(nbuf));
        let z = crate::layout::Sizing {
            max_connections: 1,
            max_prepared_transactions: 0,
            max_locks_per_transaction: 10,
            shared_buffers: 16,
            wal_buffers: nbuf,
        };
        // SAFETY: our fresh mapping, 4096-aligned at area_off.
        unsafe {
            crate::walbuffers::init(
                mem.at::<u8>(area_off) as *const u8 as *mut u8,
                area_size(nbuf),
                &z,
            )
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pg_wal")).unwrap();
        std::fs::create_dir(dir.path().join("global")).unwrap();
        Env {
            mem,
            sems: PrivateSems::new(MAX_PROCS),
            area_off,
            nbuf,
            dir,
        }
    }

    fn procs(&self) -> TestProcs<'_> {
        TestProcs {
            mem: &self.mem,
            sems: self.sems.0,
        }
    }

    fn xlog(&self, me: u32) -> Xlog<TestProcs<'_>> {
        // SAFETY: the area lives in self.mem, initialised in new().
        unsafe {
            Xlog::attach(
                self.mem.at::<u8>(self.area_off) as *const u8 as *mut u8,
                self.nbuf,
                self.procs(),
                me,
                self.dir.path(),
                XlogConfig {
                    fsync: true,
                    sync_method: SyncMethod::Fdatasync,
                    full_page_writes: true,
                    startup_progress_interval_ms: 0,
                },
            )
        }
    }

    fn wal_dir(&self) -> PathBuf {
        self.dir.path().join("pg_wal")
    }
}

fn record(rmid: u8, payload: Vec<u8>) -> Record {
    Record {
        rmid,
        info: 0,
        xid: 7,
        blocks: vec![],
        main_data: payload,
    }
}

fn noop(payload: Vec<u8>) -> Record {
    Record {
        info: XLOG_NOOP,
        ..record(RM_XLOG_ID, payload)
    }
}

/// Reads back every record from `first` on.
fn read_back(env: &Env, seg: u64, first: u64) -> Vec<DecodedRecord> {
    let (buf, start) = read_segments(&env.wal_dir(), 1, first, seg).unwrap();
    WalReader::new(&buf, start, first, None, 1, SYSID, seg).collect()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn insertion_across_pages_and_segments_matches_the_format_and_reads_back() {
    // 4-page segments and 3 buffers: every few records a buffer is reused
    // (its page written first) and a segment file is created.
    let seg = 4 * PAGE;
    let env = Env::new(3);
    let x = env.xlog(0);
    x.begin(SYSID, 1, seg, seg, 0, &[]);
    let mut reference = WalWriter::new(seg, 0, 1, SYSID, seg);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut want = Vec::new();
    for i in 0..300u64 {
        let len = match i % 10 {
            0 => 3 * XLOG_BLCKSZ + rng.below(5000) as usize, // crosses pages
            1 => 5 * XLOG_BLCKSZ,                            // longer than a segment
            _ => rng.below(600) as usize,
        };
        let payload: Vec<u8> = (0..len).map(|k| (k as u64 * 31 + i) as u8).collect();
        let rec = record(RM_HEAP_ID, payload);
        let (lsn, end) = x.insert_record(&rec).unwrap();
        let (rl, re) = reference.insert(&rec).unwrap();
        assert_eq!(lsn, rl, "record {i}");
        assert_eq!(end, maxalign(re), "record {i}");
        want.push((lsn, rec));
        if i % 37 == 0 {
            x.flush(end).unwrap();
            assert!(x.flush_lsn() >= end);
        }
    }
    let end = x.insert_lsn();
    x.flush(end).unwrap();
    assert_eq!(x.flush_lsn(), end);
    assert_eq!(x.write_lsn(), end);
    // The files hold exactly what the format's reference writer lays out.
    let (buf, start) = read_segments(&env.wal_dir(), 1, seg, seg).unwrap();
    assert_eq!(start, seg);
    let n = reference.bytes().len();
    assert_eq!(&buf[..n], reference.bytes());
    assert!(buf[n..].iter().all(|&b| b == 0), "zeroes after the end");
    // Segment files are full-size.
    for ent in std::fs::read_dir(env.wal_dir()).unwrap() {
        let ent = ent.unwrap();
        assert_eq!(ent.metadata().unwrap().len(), seg, "{:?}", ent.file_name());
    }
    let got = read_back(&env, seg, seg + SIZE_OF_LONG_PAGE_HEADER as u64);
    assert_eq!(got.len(), want.len());
    for (g, (lsn, rec)) in got.iter().zip(&want) {
        assert_eq!(g.lsn, *lsn);
        assert_eq!(&g.record, rec);
    }
    // Flushing what is flushed is free; beyond the insert position is an
    // error, never a hang.
    let syncs = x.ctl().syncs.load(Ordering::Relaxed);
    x.flush(end).unwrap();
    assert_eq!(x.ctl().syncs.load(Ordering::Relaxed), syncs);
    let e = x.flush(end + 8).unwrap_err();
    assert!(e.message.starts_with("xlog flush request"), "{e}");
}

#[test]
fn concurrent_inserters_in_forked_processes() {
    let seg = 8 * PAGE;
    let env = Env::new(4);
    env.xlog(0).begin(SYSID, 1, seg, seg, 0, &[]);
    const KIDS: u32 = 4;
    const EACH: u32 = 150;
    let mut kids = Children(vec![]);
    for k in 1..=KIDS {
        let env = &env;
        kids.0.push(fork_child(move || {
            let x = env.xlog(k);
            let mut last = 0;
            for s in 0..EACH {
                let mut p = Vec::new();
                p.extend_from_slice(&k.to_le_bytes());
                p.extend_from_slice(&s.to_le_bytes());
                // Sizes from tiny to several pages.
                p.resize(
                    8 + ((s as usize * 977 + k as usize * 131) % (2 * XLOG_BLCKSZ)),
                    k as u8,
                );
                let Ok((lsn, end)) = x.insert_record(&record(RM_HEAP_ID, p)) else {
                    return 2;
                };
                if lsn <= last {
                    return 3;
                }
                last = lsn;
                if s % 10 == 0 && (x.flush(end).is_err() || x.flush_lsn() < end) {
                    return 4;
                }
            }
            0
        }));
    }
    let codes = kids
        .wait_all(Duration::from_secs(60))
        .expect("children finish");
    assert!(codes.iter().all(|&c| c == 0), "child exit codes {codes:?}");
    let x = env.xlog(0);
    x.flush(x.insert_lsn()).unwrap();
    let got = read_back(&env, seg, seg + SIZE_OF_LONG_PAGE_HEADER as u64);
    assert_eq!(got.len(), (KIDS * EACH) as usize);
    let mut next = vec![0u32; KIDS as usize + 1];
    let mut prev_lsn = 0;
    for g in &got {
        assert!(g.lsn > prev_lsn, "LSNs strictly increase");
        prev_lsn = g.lsn;
        let d = &g.record.main_data;
        let k = u32::from_le_bytes(d[0..4].try_into().unwrap());
        let s = u32::from_le_bytes(d[4..8].try_into().unwrap());
        // Each child's records exactly once, in its order.
        assert_eq!(s, next[k as usize], "child {k}");
        next[k as usize] += 1;
        assert!(d[8..].iter().all(|&b| b == k as u8));
    }
    assert!(next[1..].iter().all(|&n| n == EACH));
}

#[test]
fn queued_flushers_share_one_sync() {
    let seg = 64 * PAGE;
    let env = Env::new(8);
    let x = env.xlog(0);
    x.begin(SYSID, 1, seg, seg, 0, &[]);
    // Hold the write lock so every committer queues behind it.
    let procs = env.procs();
    x.ctl().write_lock.acquire(&procs, 0, LwMode::Exclusive);
    const KIDS: u32 = 5;
    let mut kids = Children(vec![]);
    for k in 1..=KIDS {
        let env = &env;
        kids.0.push(fork_child(move || {
            let x = env.xlog(k);
            let Ok((_, end)) = x.insert_record(&record(RM_HEAP_ID, vec![k as u8; 100])) else {
                return 2;
            };
            if x.flush(end).is_err() {
                return 3;
            }
            if x.flush_lsn() < end {
                return 4;
            }
            0
        }));
    }
    // All five inserted and sleep on the lock.
    let queued = wait_until(Duration::from_secs(20), || {
        (1..=KIDS).all(|k| procs.waiter(k).is_waiting())
    });
    let inserted = x.insert_lsn();
    let syncs0 = x.ctl().syncs.load(Ordering::Relaxed);
    x.ctl().write_lock.release(&procs);
    assert!(queued, "the committers queue on the write lock");
    let codes = kids
        .wait_all(Duration::from_secs(20))
        .expect("children finish");
    assert!(codes.iter().all(|&c| c == 0), "child exit codes {codes:?}");
    // The first to get the lock flushed all five records with one sync.
    assert_eq!(x.ctl().syncs.load(Ordering::Relaxed) - syncs0, 1);
    assert_eq!(x.flush_lsn(), inserted);
    assert_eq!(
        read_back(&env, seg, seg + SIZE_OF_LONG_PAGE_HEADER as u64).len(),
        5
    );
}

/// pg_control in a test mapping with a writer, as the checkpointer has.
struct Control {
    mem: SharedMem,
    dir: PathBuf,
}

impl Control {
    fn new(dir: &Path, c: &mut ControlFileData) -> Control {
        c.write(dir, true).unwrap();
        let mem = SharedMem::new(std::mem::size_of::<PgControlShared>().next_multiple_of(4096));
        // SAFETY: fresh mapping.
        unsafe { PgControlShared::init(mem.at::<PgControlShared>(0) as *const _ as *mut _) };
        Control {
            mem,
            dir: dir.to_path_buf(),
        }
    }
    fn writer(&self) -> PgControlWriter<UncontendedProcs> {
        // SAFETY: initialised in new(); self outlives the writer's uses.
        let view = unsafe { PgControlView::from_raw(self.mem.at::<PgControlShared>(0)) };
        PgControlWriter::new(view, self.dir.clone(), UncontendedProcs::default(), 0)
    }
}

#[test]
fn checkpoint_crash_and_redo_cycle() {
    let env = Env::new(4);
    let mut c = ControlFileData::new_cluster();
    c.system_identifier = SYSID;
    // The smallest segment pg_control accepts.
    let seg = 1 << 20;
    c.xlog_seg_size = seg as u32;
    bootstrap_wal(env.dir.path(), &mut c).unwrap();
    assert_eq!(c.checkpoint, seg + SIZE_OF_LONG_PAGE_HEADER as u64);
    assert_eq!(c.checkpoint_copy.redo, c.checkpoint);
    let ctl = Control::new(env.dir.path(), &mut c);
    let w = ctl.writer();

    // Clean start: nothing replayed, insertion continues after the record.
    let x = env.xlog(0);
    let r = startup(&x, &w.load().unwrap(), false).unwrap();
    assert_eq!(r.replayed, 0);
    assert!(r.end > c.checkpoint);
    for i in 0..20u8 {
        x.xlog_insert(RM_XLOG_ID, XLOG_NOOP, 0, &vec![i; 700], vec![])
            .unwrap();
    }
    // An online checkpoint: redo pointer before the record, pg_control
    // updated, the record flushed.
    // The buffer manager's part runs between the redo pointer and the
    // record; when it fails, nothing of the checkpoint is written.
    let before = w.load().unwrap();
    let insert_before = x.insert_lsn();
    let e = create_checkpoint(&x, &w, CheckpointKind::Online, &mut || {
        Err(XlogError {
            message: "could not write block 0: injected".into(),
            corrupt: false,
        })
    })
    .unwrap_err();
    assert!(e.message.contains("injected"));
    assert_eq!(w.load().unwrap().checkpoint, before.checkpoint);
    assert_eq!(x.insert_lsn(), insert_before, "no record inserted");
    let mut at_buffers = None;
    let ck = create_checkpoint(&x, &w, CheckpointKind::Online, &mut || {
        at_buffers = Some(x.insert_lsn());
        Ok(())
    })
    .unwrap();
    let after = w.load().unwrap();
    assert_eq!(
        at_buffers,
        Some(insert_before),
        "buffers are written before the checkpoint inserts any record"
    );
    assert_eq!(after.checkpoint, ck);
    assert!(after.checkpoint_copy.redo < ck);
    assert!(x.flush_lsn() > ck);
    assert_eq!(
        ControlFileData::read(env.dir.path()).unwrap().checkpoint,
        ck,
        "the file too"
    );
    // More WAL, flushed; and a tail never flushed (lost in the crash).
    for i in 0..30u8 {
        x.xlog_insert(RM_XLOG_ID, XLOG_NOOP, 0, &vec![i; 300], vec![])
            .unwrap();
    }
    let flushed = x.insert_lsn();
    x.flush(flushed).unwrap();
    x.xlog_insert(RM_XLOG_ID, XLOG_NOOP, 0, &[1; 50], vec![])
        .unwrap();
    drop(x);

    // Crash: shared memory is re-created.
    let env2 = Env {
        dir: env.dir,
        ..Env::new(4)
    };
    let x = env2.xlog(0);
    let r = startup(&x, &w.load().unwrap(), true).unwrap();
    // Redo starts at the redo pointer: the running-xacts record, the
    // checkpoint record, then the 30 records.
    assert_eq!(r.redo_start, Some(after.checkpoint_copy.redo));
    assert_eq!(r.replayed, 2 + 30);
    assert_eq!(r.end, flushed);
    assert_eq!(x.insert_lsn(), flushed);
    // The end-of-recovery checkpoint and new WAL after the end.
    let eor = create_checkpoint(&x, &w, CheckpointKind::EndOfRecovery, &mut || Ok(())).unwrap();
    assert_eq!(eor, flushed);
    x.xlog_insert(RM_XLOG_ID, XLOG_NOOP, 0, b"new", vec![])
        .unwrap();
    x.flush(x.insert_lsn()).unwrap();
    // Recovering again replays from the new checkpoint: its record is the
    // redo pointer, so only what follows it.
    let env3 = Env {
        dir: env2.dir,
        ..Env::new(4)
    };
    let x = env3.xlog(0);
    let r = startup(&x, &w.load().unwrap(), true).unwrap();
    assert_eq!(r.replayed, 1);
    assert_eq!(r.redo_start.map(|l| l > eor), Some(true));
}

#[test]
fn recovery_stops_at_a_damaged_record_and_never_replays_what_follows() {
    let env = Env::new(4);
    let mut c = ControlFileData::new_cluster();
    c.system_identifier = SYSID;
    let seg = 1 << 20;
    c.xlog_seg_size = seg as u32;
    bootstrap_wal(env.dir.path(), &mut c).unwrap();
    let ctl = Control::new(env.dir.path(), &mut c);
    let w = ctl.writer();
    let x = env.xlog(0);
    startup(&x, &w.load().unwrap(), false).unwrap();
    let mut lsns = Vec::new();
    for i in 0..40u8 {
        lsns.push(
            x.insert_record(&noop(vec![i; 400]))
                .map(|(l, _)| l)
                .unwrap(),
        );
    }
    x.flush(x.insert_lsn()).unwrap();
    // Flip a byte inside record 25 on disk (its segment and offset).
    let at = lsns[25] + 40;
    let path = env.wal_dir().join(wal_file_name(1, at / seg, seg));
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, at % seg).unwrap();
    f.write_all_at(&[b[0] ^ 0x20], at % seg).unwrap();
    drop(x);

    let env2 = Env {
        dir: env.dir,
        ..Env::new(4)
    };
    let x = env2.xlog(0);
    // pg_control still says the bootstrap checkpoint: redo from there.
    let r = startup(&x, &w.load().unwrap(), true).unwrap();
    assert_eq!(r.replayed, 25);
    assert_eq!(r.end, lsns[25]);
    // Everything from the damaged record on is zero now.
    let (buf, start) = read_segments(&env2.wal_dir(), 1, lsns[25], seg).unwrap();
    assert!(buf[(lsns[25] - start) as usize..].iter().all(|&b| b == 0));
    // New records take the place of the dead tail.
    let (l, _) = x.insert_record(&noop(b"again".to_vec())).unwrap();
    assert_eq!(l, lsns[25]);
    x.flush(x.insert_lsn()).unwrap();
    let got = read_back(&env2, seg, lsns[0]);
    assert_eq!(got.len(), 26);
    assert_eq!(got[25].record.main_data, b"again");
}

/// Recovery reads the WAL through a window, not all at once: more WAL
/// than the window, across segments, with records larger than the window,
/// replays completely and exactly.
#[test]
fn recovery_streams_more_wal_than_its_window() {
    let env = Env::new(16);
    let mut c = ControlFileData::new_cluster();
    c.system_identifier = SYSID;
    c.xlog_seg_size = 1 << 20;
    bootstrap_wal(env.dir.path(), &mut c).unwrap();
    let ctl = Control::new(env.dir.path(), &mut c);
    let w = ctl.writer();
    let x = env.xlog(0);
    startup(&x, &w.load().unwrap(), false).unwrap();
    let mut n = 0u64;
    let mut big = 0;
    while x.insert_lsn() < (1 << 20) + 3 * SCAN_CHUNK * 4 {
        let len = if n % 97 == 5 {
            big += 1;
            SCAN_CHUNK as usize + 1000
        } else {
            (n as usize * 37) % 3000
        };
        x.insert_record(&noop(vec![n as u8; len])).unwrap();
        n += 1;
    }
    assert!(big >= 2, "records larger than the window");
    let flushed = x.insert_lsn();
    x.flush(flushed).unwrap();
    assert!(flushed > 2 << 20, "more than one segment");
    drop(x);
    let env2 = Env {
        dir: env.dir,
        ..Env::new(16)
    };
    let x = env2.xlog(0);
    let r = startup(&x, &w.load().unwrap(), true).unwrap();
    assert_eq!(r.replayed, n);
    assert_eq!(r.end, flushed);
    // The insert position and back-pointer carry on from there.
    x.insert_record(&noop(b"next".to_vec())).unwrap();
    x.flush(x.insert_lsn()).unwrap();
    let got = read_back(&env2, 1 << 20, r.redo_start.unwrap());
    assert_eq!(got.len() as u64, n + 1);
}

/// A power cut: WAL written but not yet synced may reach the disk whole,
/// not at all, or torn in the middle of a page, page by page
/// independently. Recovery must give back every record that a flush
/// covered, then exactly a prefix of the rest (never a record after a
/// hole), and the next recovery must agree.
#[test]
fn power_cut_keeps_every_flushed_record_and_replays_only_a_prefix() {
    let seg: u64 = 1 << 20;
    // Seeds where unsynced records were lost, and where some survived.
    let (mut lost, mut survived) = (0, 0);
    for seed in 1..=12u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        // Two buffers: most pages are written (unsynced) by inserters
        // reusing a buffer, long before any flush covers them.
        let env = Env::new(2);
        let mut c = ControlFileData::new_cluster();
        c.system_identifier = SYSID;
        c.xlog_seg_size = seg as u32;
        bootstrap_wal(env.dir.path(), &mut c).unwrap();
        let ctl = Control::new(env.dir.path(), &mut c);
        let w = ctl.writer();
        let x = env.xlog(0);
        startup(&x, &w.load().unwrap(), false).unwrap();
        let mut recs = Vec::new();
        for i in 0..200u64 {
            let len = if rng.below(10) == 0 {
                (XLOG_BLCKSZ as u64 + rng.below(3 * XLOG_BLCKSZ as u64)) as usize
            } else {
                rng.below(700) as usize
            };
            let rec = noop(vec![(i * 7 + seed) as u8; len]);
            let (lsn, end) = x.insert_record(&rec).unwrap();
            recs.push((lsn, end, rec));
            if rng.below(25) == 0 {
                x.flush(end).unwrap();
            }
        }
        // A tail that is written (buffers reused) but never synced.
        for i in 0..3u8 {
            let rec = noop(vec![i; 2 * XLOG_BLCKSZ]);
            let (lsn, end) = x.insert_record(&rec).unwrap();
            recs.push((lsn, end, rec));
        }
        let (flushed, written) = (x.flush_lsn(), x.write_lsn());
        assert!(
            written > flushed,
            "seed {seed}: some WAL written, not synced"
        );
        drop(x);
        // The cut: every page holding unsynced bytes survives, vanishes
        // (zeroes: the segment was zero-filled) or is torn after 4 kB.
        let first_page = flushed - flushed % PAGE;
        let mut p = first_page;
        while p < written.div_ceil(PAGE) * PAGE {
            let path = env.wal_dir().join(wal_file_name(1, p / seg, seg));
            let f = OpenOptions::new().write(true).open(&path).unwrap();
            let off = p % seg;
            // Bytes before the flush point are on disk for sure.
            let keep_to = if p == first_page { flushed % PAGE } else { 0 };
            match rng.below(3) {
                0 => {}
                1 => {
                    let from = keep_to;
                    f.write_all_at(&vec![0u8; (PAGE - from) as usize], off + from)
                        .unwrap();
                }
                _ => {
                    let from = keep_to.max(PAGE / 2);
                    f.write_all_at(&vec![0u8; (PAGE - from) as usize], off + from)
                        .unwrap();
                }
            }
            p += PAGE;
        }
        let env2 = Env {
            dir: env.dir,
            ..Env::new(2)
        };
        let x = env2.xlog(0);
        let r = startup(&x, &w.load().unwrap(), true).unwrap();
        let durable = recs.iter().filter(|(_, end, _)| *end <= flushed).count();
        assert!(
            r.replayed as usize >= durable,
            "seed {seed}: {} replayed, {durable} flushed",
            r.replayed
        );
        lost += usize::from((r.replayed as usize) < recs.len());
        survived += usize::from(r.replayed as usize > durable);
        let got = read_back(&env2, seg, recs[0].0);
        assert_eq!(got.len() as u64, r.replayed, "seed {seed}");
        for (g, (lsn, _, rec)) in got.iter().zip(&recs) {
            assert_eq!((g.lsn, &g.record), (*lsn, rec), "seed {seed}");
        }
        // A second recovery (say the first crashed right after) agrees.
        drop(x);
        let env3 = Env {
            dir: env2.dir,
            ..Env::new(2)
        };
        let again = startup(&env3.xlog(0), &w.load().unwrap(), true).unwrap();
        assert_eq!(
            (again.replayed, again.end),
            (r.replayed, r.end),
            "seed {seed}"
        );
    }
    assert!(lost > 0 && survived > 0, "lost {lost}, survived {survived}");
}

/// The xact rmgr through real WAL: a synchronous commit is on disk when
/// `log_commit` returns and is replayed into the redo sink after a crash;
/// an asynchronous commit (`synchronous_commit = off`) is not waited for
/// and, never flushed, is lost in the crash (the documented risk); an
/// abort record is not waited for either.
#[test]
fn commit_records_are_flushed_unless_asynchronous_and_replayed_after_a_crash() {
    use crate::clog::XidStatus;
    use crate::transam::CommitWal;
    use crate::xactwal::{XactRedo, XlogCommit};
    use std::cell::RefCell;
    let env = Env::new(4);
    let mut c = ControlFileData::new_cluster();
    c.system_identifier = SYSID;
    c.xlog_seg_size = 1 << 20;
    bootstrap_wal(env.dir.path(), &mut c).unwrap();
    let ctl = Control::new(env.dir.path(), &mut c);
    let w = ctl.writer();
    let x = env.xlog(0);
    startup(&x, &w.load().unwrap(), false).unwrap();
    let sync = XlogCommit {
        xlog: &x,
        synchronous: true,
        now: 1,
    };
    sync.log_commit(700, &[701, 702]).unwrap();
    assert_eq!(x.flush_lsn(), x.insert_lsn(), "flushed before return");
    sync.log_abort(703, &[]).unwrap();
    assert!(x.flush_lsn() < x.insert_lsn(), "an abort is not waited for");
    sync.log_commit(704, &[]).unwrap();
    let durable = x.flush_lsn();
    let lazy = XlogCommit {
        xlog: &x,
        synchronous: false,
        now: 2,
    };
    lazy.log_commit(705, &[]).unwrap();
    assert_eq!(x.flush_lsn(), durable, "asynchronous commit does not flush");
    drop(x);

    struct Sink(RefCell<Vec<(u64, Vec<u64>, XidStatus)>>);
    impl XactRedo for Sink {
        fn replay(&self, xid: u64, subxids: &[u64], status: XidStatus) -> Result<(), PgError> {
            self.0.borrow_mut().push((xid, subxids.to_vec(), status));
            Ok(())
        }
    }
    let env2 = Env {
        dir: env.dir,
        ..Env::new(4)
    };
    let x = env2.xlog(0);
    let sink = Sink(RefCell::new(vec![]));
    let r = startup_with(&x, &w.load().unwrap(), true, Some(&sink)).unwrap();
    assert_eq!(
        *sink.0.borrow(),
        vec![
            (700, vec![701, 702], XidStatus::Committed),
            (703, vec![], XidStatus::Aborted),
            (704, vec![], XidStatus::Committed),
        ]
    );
    assert_eq!(r.end, durable);
    assert_eq!(r.next_xid, 705, "past every replayed xid, subxids too");
}

/// Subtransactions through real WAL and a crash: the sequence a backend
/// runs (crates/server's `Engine`) — a top-level xid and three subxids,
/// one rolled back (ROLLBACK TO: its own abort record, aborted in the
/// commit log, out of the subxid cache), the others released and
/// committed with the top level — then the shared memory is lost (no
/// checkpoint wrote pg_xact) and redo rebuilds a fresh commit log from
/// the records: the committed subxids are committed, the rolled-back one
/// aborted, and a transaction running at the crash is in no state but
/// "never committed".
#[test]
fn committed_subtransactions_are_committed_after_crash_and_redo() {
    use crate::clog::XidStatus;
    use crate::clogbuffers::ClogFor;
    use crate::testutil::TestRegion;
    use crate::transam::{ClogStatus, CommitWal};
    use crate::xactwal::{XactRedo, XlogCommit};
    let env = Env::new(4);
    let mut c = ControlFileData::new_cluster();
    c.system_identifier = SYSID;
    c.xlog_seg_size = 1 << 20;
    bootstrap_wal(env.dir.path(), &mut c).unwrap();
    let ctl = Control::new(env.dir.path(), &mut c);
    let w = ctl.writer();
    let x = env.xlog(0);
    startup(&x, &w.load().unwrap(), false).unwrap();
    let wal = XlogCommit {
        xlog: &x,
        synchronous: true,
        now: 1,
    };

    // Before the crash: the commit log in a region of its own.
    let before = tempfile::tempdir().unwrap();
    let r = TestRegion::new(3);
    let (t, lw) = (r.transam(), r.lw());
    let clog = r.clog(before.path());
    t.startup(1000);
    clog.startup(1000);
    let me = 0;
    let cf = ClogFor {
        clog: &clog,
        lw: &lw,
        me,
    };
    let top = t.assign_xid(&lw, me, false, &cf).unwrap();
    let subs: Vec<u64> = (0..3)
        .map(|_| t.assign_xid(&lw, me, true, &cf).unwrap())
        .collect();
    assert_eq!((top, subs.as_slice()), (1000, &[1001, 1002, 1003][..]));
    // ROLLBACK TO the savepoint of 1002.
    wal.log_abort(1002, &[]).unwrap();
    cf.set_tree_status(1002, &[], XidStatus::Aborted, 0)
        .unwrap();
    t.remove_subxids(&lw, me, &[1002]);
    // A second backend is in the middle of a transaction with a subxid.
    let other = 1;
    let cf1 = ClogFor {
        clog: &clog,
        lw: &lw,
        me: other,
    };
    let running = t.assign_xid(&lw, other, false, &cf1).unwrap();
    let running_sub = t.assign_xid(&lw, other, true, &cf1).unwrap();
    // COMMIT with the released subxids.
    t.commit(&lw, me, &[1001, 1003], &wal, &cf).unwrap();
    assert_eq!(cf.get_status(1003).unwrap(), XidStatus::Committed);
    let durable = x.flush_lsn();
    drop(x);
    drop(clog);
    drop(r);

    // After the crash: a fresh region and an empty pg_xact, rebuilt by
    // redo as the startup process does (the server's RedoXacts).
    struct Redo<'a> {
        clog: ClogFor<'a, crate::testutil::RegionProcs>,
        t: crate::transam::Transam,
    }
    impl XactRedo for Redo<'_> {
        fn replay(&self, xid: u64, subxids: &[u64], status: XidStatus) -> Result<(), PgError> {
            self.clog.set_tree_status(xid, subxids, status, 0)?;
            self.t
                .advance_next_xid_past(subxids.iter().copied().fold(xid, u64::max));
            Ok(())
        }
    }
    let after = tempfile::tempdir().unwrap();
    let r2 = TestRegion::new(3);
    let (t2, lw2) = (r2.transam(), r2.lw());
    let clog2 = r2.clog(after.path());
    t2.startup(1000);
    clog2.startup(1000);
    let cf2 = ClogFor {
        clog: &clog2,
        lw: &lw2,
        me: 0,
    };
    let env2 = Env {
        dir: env.dir,
        ..Env::new(4)
    };
    let x = env2.xlog(0);
    let redo = Redo { clog: cf2, t: t2 };
    let rr = startup_with(&x, &w.load().unwrap(), true, Some(&redo)).unwrap();
    assert_eq!(rr.end, durable);
    let status = |xid| redo.clog.get_status(xid).unwrap();
    assert_eq!(status(top), XidStatus::Committed);
    assert_eq!(status(1001), XidStatus::Committed);
    assert_eq!(status(1003), XidStatus::Committed);
    assert_eq!(status(1002), XidStatus::Aborted);
    // Never decided: no record, so not committed (and nothing runs after
    // a crash, so it is aborted).
    assert_eq!(status(running), XidStatus::InProgress);
    assert_eq!(status(running_sub), XidStatus::InProgress);
    assert!(!crate::transam::did_commit(&redo.clog, running_sub).unwrap());
    assert_eq!(t2.next_xid(), 1004, "past every replayed xid");
}

#[test]
fn recovery_after_recycling_never_reads_a_recycled_segments_old_records() {
    use crate::walrecycle::{remove_old_segments, RecycleStats};
    let env = Env::new(4);
    let mut c = ControlFileData::new_cluster();
    c.system_identifier = SYSID;
    let seg: u64 = 1 << 20;
    c.xlog_seg_size = seg as u32;
    bootstrap_wal(env.dir.path(), &mut c).unwrap();
    let ctl = Control::new(env.dir.path(), &mut c);
    let w = ctl.writer();
    let x = env.xlog(0);
    startup(&x, &w.load().unwrap(), false).unwrap();
    // Segments 1..=4 full of records, then a checkpoint in segment 4.
    while x.insert_lsn() < 4 * seg + seg / 2 {
        x.xlog_insert(RM_XLOG_ID, XLOG_NOOP, 0, &[0xAB; 2000], vec![])
            .unwrap();
    }
    let ck = create_checkpoint(&x, &w, CheckpointKind::Online, &mut || Ok(())).unwrap();
    let redo = w.load().unwrap().checkpoint_copy.redo;
    assert_eq!(redo / seg, 4);
    // Segments 1..=3 are before the redo pointer: recycled as 5, 6 and 7.
    let cfg = XlogConfig {
        fsync: true,
        sync_method: SyncMethod::Fdatasync,
        full_page_writes: true,
        startup_progress_interval_ms: 0,
    };
    let st =
        remove_old_segments(&env.wal_dir(), 1, seg, redo / seg, x.insert_lsn(), 7, &cfg).unwrap();
    assert_eq!(
        st,
        RecycleStats {
            removed: 0,
            recycled: 3
        }
    );
    for s in 5..=7 {
        assert!(env.wal_dir().join(wal_file_name(1, s, seg)).exists());
    }
    assert!(!env.wal_dir().join(wal_file_name(1, 1, seg)).exists());
    // Fill segment 4 and part of the recycled 5 (old pages follow), flush,
    // and crash.
    let mut after = 0u64;
    while x.insert_lsn() < 5 * seg + seg / 3 {
        x.xlog_insert(RM_XLOG_ID, XLOG_NOOP, 0, &[0xCD; 1500], vec![])
            .unwrap();
        after += 1;
    }
    // End the WAL exactly at a page boundary, so that the page recovery
    // reads next is an old page of the recycled file: only its wrong
    // page address stops the reader there (no zeroes in between).
    loop {
        let rem = PAGE - x.insert_lsn() % PAGE;
        // The record's size with n < 256 bytes of main data.
        let hdr = crate::wal::encode_record(&noop(vec![]), 0).unwrap().len() as u64 + 2;
        let n = if (hdr..hdr + 255).contains(&rem) {
            rem - hdr
        } else {
            100
        };
        let end = x
            .xlog_insert(RM_XLOG_ID, XLOG_NOOP, 0, &vec![0xCD; n as usize], vec![])
            .unwrap();
        after += 1;
        if n + hdr == rem {
            assert_eq!(end % PAGE, 0);
            break;
        }
    }
    let flushed = x.insert_lsn();
    x.flush(flushed).unwrap();
    drop(x);
    // The old pages of segment 5 (segment 1's) are still in the file
    // past what was written.
    let five = std::fs::read(env.wal_dir().join(wal_file_name(1, 5, seg))).unwrap();
    let tail_page = (flushed % seg) as usize;
    let old_addr = u64::from_le_bytes(five[tail_page + 8..tail_page + 16].try_into().unwrap());
    assert_eq!(old_addr, seg + flushed % seg, "segment 1's page header");
    assert!(five[tail_page..].contains(&0xAB));
    let env2 = Env {
        dir: env.dir,
        ..Env::new(4)
    };
    let x = env2.xlog(0);
    let r = startup(&x, &w.load().unwrap(), true).unwrap();
    // Exactly the running-xacts record, the checkpoint, and what followed.
    assert_eq!(r.replayed, 2 + after);
    assert_eq!(r.end, flushed);
    assert!(ck < flushed);
}
