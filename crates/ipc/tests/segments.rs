//! Shared memory segments against the real kernel: create, attach, stat,
//! remove, the header, and the create loop's collision rules.

#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use common::*;
use std::path::Path;
use tusk_ipc::header::{AreaEntry, ShmemHeader, MODE_MMAP, PG_HEADER_SIZE, PG_SHMEM_MAGIC};
use tusk_ipc::keys::datadir_identity;
use tusk_ipc::shm::{self, Segment};
use tusk_ipc::{create_main_segment, judge_segment, SegmentState, ShmCreateError, ShmemError};

const SIZE: usize = 64 * 1024;

#[test]
fn create_attach_stat_remove() {
    let keys = Keys::new();
    let key = keys.key(0);
    let seg = Segment::create(key, SIZE).expect("create");
    keys.track_shm(seg.id());
    assert_eq!((seg.key(), seg.size()), (key, SIZE));

    let info = shm::stat(seg.id()).unwrap();
    assert_eq!(
        (info.key, info.id, info.size, info.nattch),
        (key, seg.id(), SIZE as u64, 1)
    );
    assert_eq!(info.permissions(), 0o600);
    assert_eq!(info.cpid, my_pid());
    assert!(!info.marked_for_removal());
    assert_eq!(shm::id_for_key(key).unwrap(), Some(seg.id()));

    // A second attachment sees the same memory and counts in nattch.
    let other = Segment::attach(seg.id()).expect("attach");
    assert_eq!((other.key(), other.size()), (key, SIZE));
    assert_ne!(other.base(), seg.base());
    // SAFETY: offset 100 lies inside the SIZE-byte segment, attached
    // read-write by this test only.
    unsafe { *seg.base().add(100) = 0xAB };
    // SAFETY: the same byte through the second attachment.
    let seen = unsafe { *other.base().add(100) };
    assert_eq!(seen, 0xAB);
    assert_eq!(shm::stat(seg.id()).unwrap().nattch, 2);
    drop(other);
    assert_eq!(shm::stat(seg.id()).unwrap().nattch, 1);

    // The key is taken now.
    match Segment::create(key, SIZE) {
        Err(ShmCreateError::Collision { key: k, errno }) => {
            assert_eq!((k, errno), (key, libc::EEXIST));
        }
        other => panic!("expected a collision, got {other:?}"),
    }

    // Removal marks it; it stays usable until the last detach.
    seg.remove().unwrap();
    let info = shm::stat(seg.id()).unwrap();
    assert!(info.marked_for_removal());
    assert_eq!(
        info.key, 0,
        "Linux reports key 0 (IPC_PRIVATE) once removed"
    );
    // SAFETY: still attached (removal only marks it), first byte of the
    // segment.
    unsafe { *seg.base() = 1 };
    let id = seg.id();
    seg.detach().unwrap();
    let err = shm::stat(id).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    assert_eq!(shm::id_for_key(key).unwrap(), None);
}

#[test]
fn kernel_refusal_is_reported_with_the_call() {
    let keys = Keys::new();
    let key = keys.key(0);
    // Size 0 is below SHMMIN: EINVAL, and not a collision.
    let err = Segment::create(key, 0).unwrap_err();
    assert_eq!(
        err,
        ShmCreateError::Kernel {
            errno: libc::EINVAL,
            key,
            size: 0
        }
    );
    let text = err.to_string();
    assert!(
        text.starts_with("could not create shared memory segment: Invalid argument"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Failed system call was shmget(key={key}, size=0, 03600)."
        )),
        "{text}"
    );
    assert!(text.contains("SHMMAX"), "{text}");
    assert_eq!(
        shm::id_for_key(key).unwrap(),
        None,
        "nothing is left behind"
    );
}

#[test]
fn header_through_a_segment() {
    let keys = Keys::new();
    let seg = Segment::create(keys.key(0), SIZE).unwrap();
    keys.track_shm(seg.id());
    assert!(seg.read_header().is_none(), "a fresh segment is all zeroes");

    let mut h = ShmemHeader::new(11, 22, SIZE as u64, Path::new("/srv/data"));
    h.port = 5499;
    h.add_area(AreaEntry::new(3, 4096, 8192)).unwrap();
    seg.write_header(&h).unwrap();

    let ro = Segment::attach_read_only(seg.id()).unwrap();
    assert!(ro.is_read_only());
    assert!(ro.read_header() == Some(h));
    let refused = ro.write_header(&h).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied);
    assert!(ro.read_pg_header().is_none());
}

fn datadir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary data directory")
}

#[test]
fn create_loop_writes_the_header() {
    let keys = Keys::new();
    let dir = datadir();
    let key = keys.key(0);
    let seg = create_main_segment(key, SIZE, dir.path(), |h| {
        h.port = 5432;
        h.mode = MODE_MMAP;
        h.total_size = 1 << 30;
        h.add_area(AreaEntry::new(1, 2048, 100)).unwrap();
    })
    .expect("create_main_segment");
    keys.track_shm(seg.id());
    assert_eq!(seg.key(), key);
    let h = seg.read_header().expect("header written");
    let (dev, ino) = datadir_identity(dir.path()).unwrap();
    assert_eq!((h.datadir_dev, h.datadir_ino), (dev, ino));
    assert_eq!(h.creator_pid, my_pid());
    assert_eq!((h.port, h.mode, h.total_size), (5432, MODE_MMAP, 1 << 30));
    assert_eq!(h.areas(), &[AreaEntry::new(1, 2048, 100)]);
    assert_eq!(h.datadir_lossy(), dir.path().to_string_lossy());
    assert!(h.is_current_layout());
}

#[test]
fn foreign_segment_at_first_key_moves_to_next_key() {
    let keys = Keys::new();
    let dir = datadir();
    let key = keys.key(0);
    // Another program's segment: no header.
    let foreign = Segment::create(key, 4096).unwrap();
    keys.track_shm(foreign.id());
    drop(foreign); // unattached: must still not be touched

    let seg = create_main_segment(key, SIZE, dir.path(), |_| {}).unwrap();
    keys.track_shm(seg.id());
    assert_eq!(seg.key(), key + 1);
    assert!(
        shm::id_for_key(key).unwrap().is_some(),
        "the foreign segment was left alone"
    );
}

#[test]
fn other_data_directory_and_postgresql_segments_are_foreign() {
    let keys = Keys::new();
    let (ours, theirs) = (datadir(), datadir());
    let key = keys.key(0);

    // tusk segment of another data directory, unattached.
    let other = create_main_segment(key, SIZE, theirs.path(), |_| {}).unwrap();
    keys.track_shm(other.id());
    let other_id = other.id();
    drop(other);

    // A PostgreSQL segment of OUR data directory, unattached: still not ours
    // to remove.
    let (dev, ino) = datadir_identity(ours.path()).unwrap();
    let pg = Segment::create(key + 1, 4096).unwrap();
    keys.track_shm(pg.id());
    write_pg_header(&pg, 777, dev, ino);
    let pg_id = pg.id();
    drop(pg);
    assert!(
        matches!(judge_segment(pg_id, Some((dev, ino))), SegmentState::PgUnattached(h) if h.creator_pid == 777)
    );

    let seg = create_main_segment(key, SIZE, ours.path(), |_| {}).unwrap();
    keys.track_shm(seg.id());
    assert_eq!(seg.key(), key + 2);
    assert!(shm::stat(other_id).is_ok());
    assert!(shm::stat(pg_id).is_ok());
}

fn write_pg_header(seg: &Segment, pid: i32, dev: u64, ino: u64) {
    let mut raw = [0u8; PG_HEADER_SIZE];
    raw[0..4].copy_from_slice(&PG_SHMEM_MAGIC.to_ne_bytes());
    raw[4..8].copy_from_slice(&pid.to_ne_bytes());
    raw[8..16].copy_from_slice(&(seg.size() as u64).to_ne_bytes());
    raw[40..48].copy_from_slice(&dev.to_ne_bytes());
    raw[48..56].copy_from_slice(&ino.to_ne_bytes());
    // SAFETY: the test segments are larger than PG_HEADER_SIZE and attached
    // read-write; `raw` is a distinct local array.
    unsafe { std::ptr::copy_nonoverlapping(raw.as_ptr(), seg.base(), PG_HEADER_SIZE) };
}

#[test]
fn own_unattached_leftover_is_reclaimed_on_the_same_key() {
    let keys = Keys::new();
    let dir = datadir();
    let key = keys.key(0);
    let old = create_main_segment(key, SIZE, dir.path(), |_| {}).unwrap();
    keys.track_shm(old.id());
    let old_id = old.id();
    drop(old); // a crashed server: the segment stays, nobody attached
    assert_eq!(shm::stat(old_id).unwrap().nattch, 0);

    let seg = create_main_segment(key, SIZE, dir.path(), |_| {}).unwrap();
    keys.track_shm(seg.id());
    assert_eq!(seg.key(), key, "same key reused");
    assert_ne!(seg.id(), old_id);
    assert!(shm::stat(old_id).is_err(), "the leftover was removed");
}

#[test]
fn own_attached_segment_refuses_the_start_naming_the_pids() {
    let keys = Keys::new();
    let dir = datadir();
    let key = keys.key(0);
    let running = create_main_segment(key, SIZE, dir.path(), |_| {}).unwrap();
    keys.track_shm(running.id());

    // An orphaned backend: a child that inherited the attachment.
    let (ready_r, ready_w) = pipe();
    let (hold_r, hold_w) = pipe();
    let child = Child::spawn(|| {
        write_byte(ready_w, 1);
        // Until the parent says so. (Not end-of-file: children forked by
        // other tests at the same time inherit copies of hold_w.)
        read_byte(hold_r);
        0
    });
    close(ready_w);
    close(hold_r);
    assert_eq!(read_byte(ready_r), Some(1));

    let err = create_main_segment(key, SIZE, dir.path(), |_| {}).unwrap_err();
    match &err {
        ShmemError::InUse {
            key: k,
            id,
            nattch,
            creator_pid,
            pids,
            datadir,
        } => {
            assert_eq!((*k, *id), (key, running.id()));
            assert_eq!(*nattch, 2);
            assert_eq!(*creator_pid, my_pid());
            assert_eq!(pids, &{
                let mut v = vec![my_pid(), child.pid];
                v.sort();
                v
            });
            assert_eq!(datadir, dir.path());
        }
        other => panic!("expected InUse, got {other:?}"),
    }
    let pg = err.to_pg_error();
    assert_eq!(pg.code, "F0001");
    assert_eq!(
        pg.message,
        format!(
            "pre-existing shared memory block (key {key}, ID {}) is still in use",
            running.id()
        )
    );
    let hint = pg.hint.unwrap();
    assert!(
        hint.contains(&format!("data directory \"{}\"", dir.path().display())),
        "{hint}"
    );
    assert!(
        hint.contains(&child.pid.to_string()) && hint.contains(&my_pid().to_string()),
        "{hint}"
    );
    assert!(
        shm::stat(running.id()).is_ok(),
        "a segment in use is never removed"
    );

    write_byte(hold_w, 1);
    close(hold_w);
    assert_eq!(child.wait(), 0);
}

#[test]
fn judge_names_every_state() {
    let keys = Keys::new();
    let dir = datadir();
    let ident = datadir_identity(dir.path()).unwrap();
    let seg = create_main_segment(keys.key(0), SIZE, dir.path(), |h| h.port = 1234).unwrap();
    keys.track_shm(seg.id());
    match judge_segment(seg.id(), Some(ident)) {
        SegmentState::TuskAttached(h, 1) => assert_eq!(h.port, 1234),
        other => panic!("expected TuskAttached(.., 1), got {other:?}"),
    }
    // Without a data directory any tusk segment is named; with another one
    // it is foreign.
    assert!(matches!(
        judge_segment(seg.id(), None),
        SegmentState::TuskAttached(_, 1)
    ));
    assert_eq!(
        judge_segment(seg.id(), Some((ident.0, ident.1 + 1))),
        SegmentState::Foreign
    );

    let id = seg.id();
    drop(seg);
    assert!(matches!(
        judge_segment(id, Some(ident)),
        SegmentState::TuskUnattached(_)
    ));

    let plain = Segment::create(keys.key(1), 4096).unwrap();
    keys.track_shm(plain.id());
    assert_eq!(judge_segment(plain.id(), None), SegmentState::Foreign);

    shm::remove_id(id).unwrap();
    assert_eq!(judge_segment(id, None), SegmentState::Gone);
}

#[test]
fn too_small_and_missing_data_directory_are_reported() {
    let keys = Keys::new();
    let dir = datadir();
    let err = create_main_segment(keys.key(0), 100, dir.path(), |_| {}).unwrap_err();
    assert!(matches!(err, ShmemError::TooSmall { size: 100, .. }));

    let missing = dir.path().join("nope");
    let err = create_main_segment(keys.key(0), SIZE, &missing, |_| {}).unwrap_err();
    assert_eq!(
        err,
        ShmemError::DataDir {
            path: missing.clone(),
            errno: libc::ENOENT
        }
    );
    let pg = err.to_pg_error();
    assert_eq!(pg.code, "58P01");
    assert_eq!(
        pg.message,
        format!(
            "could not stat data directory \"{}\": No such file or directory",
            missing.display()
        )
    );
    assert_eq!(shm::id_for_key(keys.key(0)).unwrap(), None);
}

#[test]
fn attached_pids_sees_a_forked_child() {
    let keys = Keys::new();
    let seg = Segment::create(keys.key(0), 4096).unwrap();
    keys.track_shm(seg.id());
    let (hold_r, hold_w) = pipe();
    let (ready_r, ready_w) = pipe();
    let child = Child::spawn(|| {
        write_byte(ready_w, 1);
        read_byte(hold_r); // until the parent writes
        0
    });
    close(hold_r);
    close(ready_w);
    assert_eq!(read_byte(ready_r), Some(1));
    let pids = shm::attached_pids(seg.key(), seg.id());
    assert!(
        pids.contains(&my_pid()) && pids.contains(&child.pid),
        "{pids:?}"
    );

    // After IPC_RMID the key reads as 0; the id still finds the processes.
    seg.remove().unwrap();
    let pids = shm::attached_pids(0, seg.id());
    assert!(
        pids.contains(&my_pid()) && pids.contains(&child.pid),
        "{pids:?}"
    );
    write_byte(hold_w, 1);
    close(hold_w);
    assert_eq!(child.wait(), 0);
    // An exiting process drops its mappings before its parent can reap it.
    assert_eq!(shm::stat(seg.id()).unwrap().nattch, 1);
    assert_eq!(shm::attached_pids(0, seg.id()), vec![my_pid()]);
}
