//! `proc_exit`: the one way a tusk server process (backend or auxiliary
//! process) ends, with PostgreSQL's two exit-callback lists.
//!
//! Why: once a process holds buffer pins, LWLocks and heavyweight locks,
//! every way out of it must give them back, or the next process that
//! needs them waits for ever. Cleanup written by hand at each exit site
//! (as `Session::exit` once was) misses the sites added later. So, as in
//! PostgreSQL's `storage/ipc/ipc.c`, whoever acquires something that must
//! outlive an error but not the process registers a callback, and
//! [`proc_exit`] runs them all:
//!
//! - [`before_shmem_exit`] callbacks run first, while everything in shared
//!   memory is still usable: abort the open transaction (which releases its
//!   resource owner), end an online backup.
//! - [`on_shmem_exit`] callbacks run next: give back what this process
//!   holds in shared memory itself (its proc slot).
//!
//! Each list runs newest first (LIFO), so what was set up last is torn
//! down first. A callback is taken off its list before it runs: if it
//! fails and the failure ends the process again (a FATAL inside a
//! callback calls `proc_exit` too), the second call carries on with the
//! callbacks not yet run instead of running one twice.
//!
//! `std::process::exit` is banned in the workspace by clippy's
//! `disallowed_methods` (`clippy.toml`); this file holds the only allowed
//! call. The SIGQUIT handler is the one deliberate exception: it ends the
//! process with `_exit(2)` and runs nothing, because shared memory may be
//! corrupt and the postmaster reinitialises it (PostgreSQL's `quickdie`).
//!
//! The lists are per process and per thread (`thread_local!`): a server
//! process has one thread, and unit tests, which run in threads, each get
//! their own lists.

use std::cell::{Cell, RefCell};

type Callback = Box<dyn FnOnce(i32)>;

struct Entry {
    id: u64,
    what: &'static str,
    f: Callback,
}

thread_local! {
    static BEFORE_SHMEM: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    static ON_SHMEM: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
    static EXITING: Cell<bool> = const { Cell::new(false) };
}

/// A registered callback, to take it back with
/// [`cancel_before_shmem_exit`] when what it cleans up ended normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "keep the registration to cancel the callback when its work ends normally"]
pub struct Registration(u64);

fn push(
    list: &'static std::thread::LocalKey<RefCell<Vec<Entry>>>,
    what: &'static str,
    f: Callback,
) -> Registration {
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    list.with(|l| l.borrow_mut().push(Entry { id, what, f }));
    Registration(id)
}

/// Registers `f(code)` to run at [`proc_exit`] while shared memory is
/// still fully usable. `what` names it for the debug log.
/// Any server process may call it, for itself only.
pub fn before_shmem_exit(what: &'static str, f: impl FnOnce(i32) + 'static) -> Registration {
    push(&BEFORE_SHMEM, what, Box::new(f))
}

/// Registers `f(code)` to run at [`proc_exit`] after every
/// [`before_shmem_exit`] callback: the release of this process's own
/// shared-memory state (its proc slot). Any server process, for itself.
pub fn on_shmem_exit(what: &'static str, f: impl FnOnce(i32) + 'static) -> Registration {
    push(&ON_SHMEM, what, Box::new(f))
}

/// Takes back a [`before_shmem_exit`] or [`on_shmem_exit`] callback that
/// has not run (pg_backup_stop cancels the backup's abort callback).
/// Returns false when it already ran or was cancelled.
pub fn cancel_before_shmem_exit(r: Registration) -> bool {
    [&BEFORE_SHMEM, &ON_SHMEM].into_iter().any(|list| {
        list.with(|l| {
            let mut l = l.borrow_mut();
            match l.iter().position(|e| e.id == r.0) {
                Some(i) => {
                    l.remove(i);
                    true
                }
                None => false,
            }
        })
    })
}

/// Forgets every callback: a child right after fork must not run what its
/// parent registered (PostgreSQL's `on_exit_reset`).
pub fn on_exit_reset() {
    BEFORE_SHMEM.with(|l| l.borrow_mut().clear());
    ON_SHMEM.with(|l| l.borrow_mut().clear());
    EXITING.with(|e| e.set(false));
}

/// How many callbacks are registered (before, on), for tests and the
/// debug log.
pub fn registered() -> (usize, usize) {
    (
        BEFORE_SHMEM.with(|l| l.borrow().len()),
        ON_SHMEM.with(|l| l.borrow().len()),
    )
}

/// Whether [`proc_exit`] has started in this process: code that runs in a
/// callback can tell that it must not wait for anything.
pub fn exiting() -> bool {
    EXITING.with(|e| e.get())
}

fn run_list(list: &'static std::thread::LocalKey<RefCell<Vec<Entry>>>, code: i32) {
    // Pop one at a time, with the list unborrowed while the callback runs:
    // it may register or cancel callbacks, or end the process again.
    while let Some(e) = list.with(|l| l.borrow_mut().pop()) {
        tusk_common::elog::debug(format!("proc_exit({code}): {}", e.what));
        (e.f)(code);
    }
}

/// Runs every registered callback, newest first: the before-shmem list,
/// then the on-shmem list. [`proc_exit`] calls it; tests call it to check
/// what a process would release without ending the test process.
pub fn shmem_exit(code: i32) {
    EXITING.with(|e| e.set(true));
    run_list(&BEFORE_SHMEM, code);
    run_list(&ON_SHMEM, code);
}

/// Ends this process with exit status `code` after running the exit
/// callbacks. Every exit of a backend or an auxiliary process goes
/// through here. Code 0 and 1 are normal ends for the postmaster; any
/// other code from a backend means a crash (see docs/architecture.md).
pub fn proc_exit(code: i32) -> ! {
    shmem_exit(code);
    #[allow(
        clippy::disallowed_methods,
        reason = "proc_exit is the one place a server process may end, after its callbacks ran"
    )]
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn callbacks_run_newest_first_before_list_then_on_list() {
        on_exit_reset();
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        let _ = on_shmem_exit("slot", move |c| l.borrow_mut().push(format!("slot {c}")));
        let l = log.clone();
        let _ = before_shmem_exit("xact", move |c| l.borrow_mut().push(format!("xact {c}")));
        let l = log.clone();
        let _ = on_shmem_exit("sem", move |c| l.borrow_mut().push(format!("sem {c}")));
        let l = log.clone();
        let _ = before_shmem_exit("backup", move |c| {
            l.borrow_mut().push(format!("backup {c}"))
        });
        assert_eq!(registered(), (2, 2));
        shmem_exit(7);
        assert_eq!(
            *log.borrow(),
            ["backup 7", "xact 7", "sem 7", "slot 7"].map(String::from)
        );
        assert_eq!(registered(), (0, 0));
        assert!(exiting());
        on_exit_reset();
    }

    #[test]
    fn a_cancelled_callback_does_not_run_and_a_callback_can_register_more() {
        on_exit_reset();
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        let r = before_shmem_exit("backup", move |_| l.borrow_mut().push("backup"));
        let l = log.clone();
        let _ = before_shmem_exit("outer", move |_| {
            let l2 = l.clone();
            l.borrow_mut().push("outer");
            // Registered while exiting: still runs, in the same pass.
            let _ = on_shmem_exit("late", move |_| l2.borrow_mut().push("late"));
        });
        assert!(cancel_before_shmem_exit(r));
        assert!(!cancel_before_shmem_exit(r));
        shmem_exit(1);
        assert_eq!(*log.borrow(), ["outer", "late"]);
        on_exit_reset();
    }

    /// The real thing in a forked child: the callbacks run, in order,
    /// and the exit status is the code given.
    #[test]
    fn proc_exit_runs_callbacks_and_exits_with_the_code() {
        let mut fds = [0; 2];
        // SAFETY: fds is a valid array of two ints for pipe(2) to fill.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the child only registers callbacks, writes to a pipe and
        // exits; it never returns into the test harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            on_exit_reset();
            let w = fds[1];
            let say = move |b: u8| {
                // SAFETY: w is the pipe's write end, open in this child.
                unsafe { libc::write(w, [b].as_ptr() as *const libc::c_void, 1) };
            };
            let _ = on_shmem_exit("second", move |_| say(b'2'));
            let _ = before_shmem_exit("first", move |_| say(b'1'));
            proc_exit(3);
        }
        // SAFETY: closing our copy of the write end, which we own.
        unsafe { libc::close(fds[1]) };
        let mut status = 0;
        // SAFETY: pid is our child; status is a valid out-parameter.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        let mut buf = [0u8; 8];
        // SAFETY: reading into a local buffer from our read end.
        let n = unsafe { libc::read(fds[0], buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        // SAFETY: closing the read end, which we own.
        unsafe { libc::close(fds[0]) };
        assert!(libc::WIFEXITED(status), "status {status:#x}");
        assert_eq!(libc::WEXITSTATUS(status), 3);
        assert_eq!(&buf[..n.max(0) as usize], b"12");
    }
}
