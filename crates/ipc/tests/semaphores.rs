//! Semaphore sets against the real kernel: the marker, P/V and timed P,
//! waking a sleeper in another process (also from a signal handler), and
//! the create loop's rules for leftovers of dead and live creators.

mod common;

use common::*;
use std::io::ErrorKind;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tusk_ipc::keys::{judge_sem_set, SemSetState};
use tusk_ipc::sem::{self, SemSet};
use tusk_ipc::{create_sem_sets, SemCreateError, PG_SEMA_MAGIC, SEMAS_PER_SET, TUSK_SEMA_MAGIC};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn marker_values_and_basic_operations() {
    let keys = Keys::new();
    let key = keys.key(0);
    let set = SemSet::create(key, 4).expect("create");
    keys.track_sem(set.id());
    assert_eq!((set.key(), set.nsems()), (key, 4));
    assert_eq!(set.marker_value().unwrap(), TUSK_SEMA_MAGIC);
    assert_eq!(set.creator_pid().unwrap(), my_pid());
    let info = set.stat().unwrap();
    assert_eq!((info.key, info.nsems, info.permissions()), (key, 5, 0o600));
    for n in 0..4 {
        assert_eq!(set.value(n).unwrap(), 0);
    }
    assert_eq!(
        judge_sem_set(set.id()),
        SemSetState::Tusk {
            creator_pid: my_pid(),
            alive: true
        }
    );

    assert!(!set.try_lock(2).unwrap());
    set.unlock(2).unwrap();
    set.unlock(2).unwrap();
    assert_eq!(set.value(2).unwrap(), 2);
    assert!(set.try_lock(2).unwrap());
    set.sleep(2).unwrap(); // does not block: the value is 1
    assert_eq!(set.value(2).unwrap(), 0);
    set.unlock(1).unwrap();
    set.reset(1).unwrap();
    assert_eq!(set.value(1).unwrap(), 0);

    // The marker and anything beyond are not usable semaphores.
    assert_eq!(set.sleep(4).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(set.unlock(99).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(
        set.marker_value().unwrap(),
        TUSK_SEMA_MAGIC,
        "untouched by the refused calls"
    );

    let again = SemSet::open(set.id()).unwrap();
    assert_eq!(again, set);
    assert_eq!(sem::id_for_key(key).unwrap(), Some(set.id()));

    match SemSet::create(key, 4) {
        Err(SemCreateError::Collision { key: k, errno }) => {
            assert_eq!((k, errno), (key, libc::EEXIST))
        }
        other => panic!("expected a collision, got {other:?}"),
    }

    set.remove().unwrap();
    assert_eq!(
        sem::stat(set.id()).unwrap_err().raw_os_error(),
        Some(libc::EINVAL)
    );
    assert_eq!(judge_sem_set(set.id()), SemSetState::Gone);
    assert_eq!(sem::id_for_key(key).unwrap(), None);
}

#[test]
fn kernel_refusal_is_reported_with_the_call() {
    let keys = Keys::new();
    let key = keys.key(0);
    // More semaphores per set than any Linux SEMMSL allows (at most 32000).
    let err = SemSet::create(key, 40_000).unwrap_err();
    assert_eq!(
        err,
        SemCreateError::Semget {
            key,
            nsems: 40_001,
            errno: libc::EINVAL
        }
    );
    let text = err.to_string();
    assert!(
        text.starts_with("could not create semaphores: Invalid argument"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Failed system call was semget({key}, 40001, 03600)."
        )),
        "{text}"
    );
    assert_eq!(sem::id_for_key(key).unwrap(), None);
}

#[test]
fn lock_timeout_times_out_and_succeeds() {
    let keys = Keys::new();
    let set = SemSet::create(keys.key(0), 1).unwrap();
    keys.track_sem(set.id());
    let start = Instant::now();
    assert!(!set.lock_timeout(0, Duration::from_millis(50)).unwrap());
    assert!(start.elapsed() >= Duration::from_millis(50));
    set.unlock(0).unwrap();
    assert!(set.lock_timeout(0, Duration::from_secs(5)).unwrap());
    assert_eq!(set.value(0).unwrap(), 0);
}

#[test]
fn unlock_wakes_a_sleeper_in_another_process() {
    let keys = Keys::new();
    let set = SemSet::create(keys.key(0), 2).unwrap();
    keys.track_sem(set.id());
    let child = Child::spawn(|| match set.lock_timeout(1, LIMIT) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(_) => 2,
    });
    // Wake it only once it is asleep, so that the wakeup is what is tested.
    wait_until(LIMIT, "the child to sleep on the semaphore", || {
        set.waiters(1).unwrap() == 1
    });
    set.unlock(1).unwrap();
    assert_eq!(child.wait(), 0, "woken, not timed out");
    assert_eq!(set.value(1).unwrap(), 0);
}

static SIGNAL_SET: OnceLock<SemSet> = OnceLock::new();

/// The child's SIGUSR1 handler: records that it ran by V'ing semaphore 1
/// (the test's own marker, not the one the child sleeps on).
extern "C" fn note_signal(_: libc::c_int) {
    if let Some(set) = SIGNAL_SET.get() {
        let _ = set.unlock(1);
    }
}

#[test]
fn a_signal_does_not_end_a_sleep_only_a_v_does() {
    let keys = Keys::new();
    let set = SemSet::create(keys.key(0), 2).unwrap();
    keys.track_sem(set.id());
    let child = Child::spawn(|| {
        let _ = SIGNAL_SET.set(set);
        // SAFETY: installing a handler in the single-threaded child.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = note_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = 0; // semop returns EINTR; sleep must retry it
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut());
        }
        match set.sleep(0) {
            Ok(()) => 0,
            Err(_) => 2,
        }
    });
    wait_until(LIMIT, "the child to sleep on the semaphore", || {
        set.waiters(0).unwrap() == 1
    });
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.pid, libc::SIGUSR1) };
    wait_until(LIMIT, "the child's handler to run", || {
        set.value(1).unwrap() == 1
    });
    // Interrupted, the child went back to sleep instead of returning.
    wait_until(LIMIT, "the child to sleep again", || {
        set.waiters(0).unwrap() == 1
    });
    // SAFETY: asking about our own child without reaping it.
    let exited = unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            libc::P_PID,
            child.pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        info.si_pid() != 0
    };
    assert!(!exited, "sleep returned for a signal");
    set.unlock(0).unwrap();
    assert_eq!(child.wait(), 0, "woken by the V");
    assert_eq!(set.value(0).unwrap(), 0);
}

#[test]
fn leftover_of_a_dead_creator_is_reclaimed() {
    let keys = Keys::new();
    let key = keys.key(0);
    let child = Child::spawn(|| match SemSet::create(key, SEMAS_PER_SET) {
        Ok(_) => 0,
        Err(_) => 1,
    });
    assert_eq!(child.wait(), 0);
    let old = sem::id_for_key(key).unwrap().expect("the child's set");
    keys.track_sem(old);
    assert_eq!(
        judge_sem_set(old),
        SemSetState::Tusk {
            creator_pid: child.pid,
            alive: false
        }
    );

    let sets = create_sem_sets(key, 2).expect("create_sem_sets");
    for s in &sets {
        keys.track_sem(s.id());
    }
    assert_eq!(
        sets.iter().map(|s| s.key()).collect::<Vec<_>>(),
        vec![key, key + 1]
    );
    assert_ne!(sets[0].id(), old);
    assert!(sem::stat(old).is_err(), "the leftover was removed");
    for s in &sets {
        assert_eq!(s.nsems(), SEMAS_PER_SET);
        assert_eq!(s.creator_pid().unwrap(), my_pid());
        assert_eq!(s.marker_value().unwrap(), TUSK_SEMA_MAGIC);
    }
}

#[test]
fn live_creators_and_foreign_sets_are_skipped() {
    let keys = Keys::new();
    let key = keys.key(0);
    // key: a tusk set whose creator is alive.
    let (ready_r, ready_w) = pipe();
    let (hold_r, hold_w) = pipe();
    let child = Child::spawn(|| {
        let ok = SemSet::create(key, SEMAS_PER_SET).is_ok();
        write_byte(ready_w, ok as u8);
        read_byte(hold_r); // until the parent writes
        0
    });
    close(ready_w);
    close(hold_r);
    assert_eq!(read_byte(ready_r), Some(1));
    let live = sem::id_for_key(key).unwrap().expect("the child's set");
    keys.track_sem(live);
    assert_eq!(
        judge_sem_set(live),
        SemSetState::Tusk {
            creator_pid: child.pid,
            alive: true
        }
    );

    // key + 1: a PostgreSQL set (marker 537) whose creator is long dead.
    let pg = SemSet::create(key + 1, SEMAS_PER_SET).unwrap();
    keys.track_sem(pg.id());
    // SAFETY: SETVAL on our own set; the union's int is passed by value.
    let rc = unsafe {
        libc::semctl(
            pg.id(),
            SEMAS_PER_SET as i32,
            libc::SETVAL,
            PG_SEMA_MAGIC as libc::c_ulong,
        )
    };
    assert_eq!(rc, 0);
    assert!(matches!(judge_sem_set(pg.id()), SemSetState::Pg { .. }));

    // key + 2: another program's set.
    // SAFETY: plain system call.
    let other = unsafe { libc::semget(key + 2, 3, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
    assert!(other >= 0);
    keys.track_sem(other);
    assert_eq!(judge_sem_set(other), SemSetState::Foreign);

    let sets = create_sem_sets(key, 1).unwrap();
    keys.track_sem(sets[0].id());
    assert_eq!(sets[0].key(), key + 3);
    assert!(sem::stat(live).is_ok() && sem::stat(pg.id()).is_ok() && sem::stat(other).is_ok());

    write_byte(hold_w, 1);
    close(hold_w);
    assert_eq!(child.wait(), 0);
}

#[test]
fn own_leftover_from_a_previous_life_is_reclaimed() {
    // A postmaster that crash-restarts without having removed its sets
    // meets them with its own PID as creator: PostgreSQL's rule reclaims
    // them.
    let keys = Keys::new();
    let key = keys.key(0);
    let old = SemSet::create(key, SEMAS_PER_SET).unwrap();
    keys.track_sem(old.id());
    let sets = create_sem_sets(key, 1).unwrap();
    keys.track_sem(sets[0].id());
    assert_eq!(sets[0].key(), key);
    assert!(sem::stat(old.id()).is_err());
}
