//! The kernel's IPC tables: both readers (/proc/sysvipc and the
//! SHM_STAT/SEM_STAT iteration) find the objects a test creates, with the
//! same facts.

mod common;

use common::*;
use tusk_ipc::shm::Segment;
use tusk_ipc::sysv_list::{list_segments_syscall, list_sem_sets_syscall};
use tusk_ipc::{list_segments, list_sem_sets, read_usage, SemSet};

#[test]
fn both_readers_find_our_segment() {
    let keys = Keys::new();
    let seg = Segment::create(keys.key(0), 12345).unwrap();
    keys.track_shm(seg.id());
    let from_proc = list_segments().unwrap();
    let from_calls = list_segments_syscall().unwrap();
    for (source, list) in [("/proc", &from_proc), ("SHM_STAT", &from_calls)] {
        let s = list
            .iter()
            .find(|s| s.id == seg.id())
            .unwrap_or_else(|| panic!("{source} lists the segment"));
        assert_eq!(
            (s.key, s.size, s.nattch, s.cpid),
            (keys.key(0), 12345, 1, my_pid()),
            "{source}"
        );
        assert_eq!(s.permissions(), 0o600, "{source}");
        assert!(s.ctime > 0, "{source}");
    }
    let a = from_proc.iter().find(|s| s.id == seg.id()).unwrap();
    assert!(a.rss.is_some(), "/proc reports rss");
}

#[test]
fn both_readers_find_our_semaphore_set() {
    let keys = Keys::new();
    let set = SemSet::create(keys.key(0), 3).unwrap();
    keys.track_sem(set.id());
    let from_proc = list_sem_sets().unwrap();
    let from_calls = list_sem_sets_syscall().unwrap();
    for (source, list) in [("/proc", &from_proc), ("SEM_STAT", &from_calls)] {
        let s = list
            .iter()
            .find(|s| s.id == set.id())
            .unwrap_or_else(|| panic!("{source} lists the set"));
        assert_eq!(
            (s.key, s.nsems, s.permissions()),
            (keys.key(0), 4, 0o600),
            "{source}"
        );
        assert!(s.otime > 0, "{source}: the marker's semop set otime");
    }
}

#[test]
fn usage_counts_our_objects() {
    let keys = Keys::new();
    let seg = Segment::create(keys.key(0), 3 * 4096 + 1).unwrap();
    keys.track_shm(seg.id());
    let set = SemSet::create(keys.key(1), 16).unwrap();
    keys.track_sem(set.id());
    // Other programs hold objects too, so only lower bounds hold.
    let u = read_usage().unwrap();
    assert!(u.segments >= 1 && u.shm_bytes > 3 * 4096 && u.shm_pages >= 4);
    assert!(u.sem_sets >= 1 && u.semaphores >= 17);
}
