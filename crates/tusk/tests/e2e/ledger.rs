//! The crash ledger (issue 9, "Done when"): several clients insert and
//! update rows and log every commit the server acknowledged, while the
//! postmaster, a backend, the checkpointer or the walwriter is killed
//! with SIGKILL at a random moment, 50 cycles, some with
//! synchronous_commit=off. After each restart every acknowledged commit
//! is there (off: every commit an earlier check saw), no transaction is
//! half there, and at the end no process or IPC object is left.
//!
//! Why one ledger per client with pairs of rows: each transaction writes
//! two rows of one table and updates two rows of another to the same
//! value n, and each client runs its transactions one after the other,
//! so the committed state of a client is one number V: both account rows
//! say V and exactly transactions 1..=V have both their rows. The kill
//! moment and target order are random (the seed is printed;
//! `CRASH_SEED=n` replays a run's choices); every wait is on a condition
//! with a deadline.

use crate::crash::{exec, value};
use crate::util::{
    backend_pid, describe_error, signal, simple_rows, simple_value, wait_for, wait_until, Opts,
    Proc, TestServer,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A small xorshift generator: no dependency, and a printed seed
/// replays a failing run's kill choices.
struct Rng(u64);

impl Rng {
    fn from_env() -> Rng {
        let seed = std::env::var("CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("crash test seed: CRASH_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// The running child of the postmaster whose process title names `what`
/// ("checkpointer", "walwriter").
fn aux_pid(srv: &TestServer, what: &str) -> Option<i32> {
    srv.children().into_iter().map(|p| p.pid).find(|&pid| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(what))
    })
}

/// What one writer of the ledger knows about its own transactions.
#[derive(Debug, Clone, Copy, Default)]
struct Ledger {
    /// The value the last check found committed (every n ≤ it is there).
    verified: u64,
    /// The highest n the server acknowledged.
    acked: u64,
    /// The highest n sent (its COMMIT may or may not have happened).
    attempted: u64,
}

const WRITERS: u64 = 4;
const CYCLES: u64 = 50;
/// The postmaster's log line when it starts over after a child's crash.
const REINIT: &str = "all server processes terminated; reinitializing";

/// One writer's cycle: transactions n = verified+1, +2, ... each
/// inserting two rows (tags a and b) and updating the writer's two
/// account rows to n, until the connection fails after the kill or
/// `stop` is set (a backend orphaned by the postmaster's death may keep
/// serving its client).
fn write_cycle(
    srv_cfg: postgres::Config,
    w: u64,
    ledger: Arc<Mutex<Ledger>>,
    sync_off: bool,
    killed: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    pids: Arc<Mutex<Vec<i32>>>,
) -> Result<(), String> {
    let mut c = wait_for(Duration::from_secs(20), || {
        srv_cfg.connect(postgres::NoTls).ok()
    })
    .ok_or_else(|| format!("writer {w}: no connection"))?;
    pids.lock().unwrap().push(backend_pid(&mut c));
    if sync_off {
        c.batch_execute("SET synchronous_commit = off")
            .map_err(|e| describe_error(&e))?;
    }
    let mut n = ledger.lock().unwrap().verified;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        ledger.lock().unwrap().attempted = n;
        let sql = format!(
            "BEGIN; INSERT INTO ins VALUES ({w}, {n}, 'a'); \
             UPDATE acct SET v = {n} WHERE id = {a}; \
             INSERT INTO ins VALUES ({w}, {n}, 'b'); \
             UPDATE acct SET v = {n} WHERE id = {b}; COMMIT",
            a = 2 * w,
            b = 2 * w + 1
        );
        match c.batch_execute(&sql) {
            Ok(()) => ledger.lock().unwrap().acked = n,
            // The crash (the flag is set before the kill is sent).
            Err(_) if killed.load(Ordering::SeqCst) => return Ok(()),
            Err(e) => {
                return Err(format!(
                    "writer {w}, transaction {n}: {}",
                    describe_error(&e)
                ))
            }
        }
    }
    Ok(())
}

/// Checks the ledger after a restart: for each writer the two account
/// rows agree on a value V, transactions 1..=V have both their rows and
/// no other transaction has any; V covers every acknowledged commit
/// (synchronous_commit=on) or at least what the previous check found
/// (off: acknowledged but unflushed commits may be lost, never half).
fn check_ledger(
    c: &mut postgres::Client,
    ledgers: &[Arc<Mutex<Ledger>>],
    sync_off: bool,
    cycle: u64,
) {
    let acct: BTreeMap<u64, u64> = simple_rows(c, "SELECT id, v FROM acct")
        .into_iter()
        .map(|r| {
            (
                r[0].as_ref().unwrap().parse().unwrap(),
                r[1].as_ref().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        acct.len() as u64,
        2 * WRITERS,
        "cycle {cycle}: account rows {acct:?}"
    );
    let mut ins: BTreeMap<u64, BTreeMap<u64, String>> = BTreeMap::new();
    for r in simple_rows(c, "SELECT w, n, tag FROM ins") {
        let w: u64 = r[0].as_ref().unwrap().parse().unwrap();
        let n: u64 = r[1].as_ref().unwrap().parse().unwrap();
        ins.entry(w)
            .or_default()
            .entry(n)
            .or_default()
            .push_str(r[2].as_ref().unwrap());
    }
    for w in 0..WRITERS {
        let mut l = ledgers[w as usize].lock().unwrap();
        let (va, vb) = (acct[&(2 * w)], acct[&(2 * w + 1)]);
        assert_eq!(
            va, vb,
            "cycle {cycle}: writer {w}'s transaction is half there ({l:?})"
        );
        let v = va;
        let mut got: Vec<(u64, String)> = ins
            .get(&w)
            .map(|m| m.iter().map(|(n, t)| (*n, t.clone())).collect())
            .unwrap_or_default();
        for (_, tags) in &mut got {
            let mut t: Vec<char> = tags.chars().collect();
            t.sort();
            *tags = t.into_iter().collect();
        }
        let want: Vec<(u64, String)> = (1..=v).map(|n| (n, "ab".to_string())).collect();
        if got != want {
            let mut bad: Vec<String> = got
                .iter()
                .filter(|(n, t)| *n > v || t != "ab")
                .map(|(n, t)| format!("{n}: {t}"))
                .collect();
            let have: std::collections::BTreeSet<u64> = got.iter().map(|g| g.0).collect();
            bad.extend(
                (1..=v)
                    .filter(|n| !have.contains(n))
                    .map(|n| format!("{n}: missing")),
            );
            // What diagnosing it takes: the account versions, the rows of
            // the wrong transactions, and every xid the commit log does not
            // call committed (a lost status shows up there).
            let acct_rows = simple_rows(c, "SELECT id, v, xmin, xmax, ctid FROM acct");
            let bad_n: Vec<&str> = bad.iter().map(|b| b.split(':').next().unwrap()).collect();
            let bad_rows = simple_rows(
                c,
                &format!(
                    "SELECT w, n, tag, xmin, xmax, ctid FROM ins WHERE w = {w} AND n IN ({})",
                    bad_n.join(",")
                ),
            );
            let top: u64 = value(c, "SELECT txid_current()").parse().unwrap();
            let not_committed: Vec<(u64, Option<String>)> = (3..top)
                .map(|x| {
                    (
                        x,
                        simple_value(c, &format!("SELECT pg_xact_status('{x}'::xid8)")),
                    )
                })
                .filter(|(_, st)| st.as_deref() != Some("committed"))
                .collect();
            panic!(
                "cycle {cycle}: writer {w} has V = {v} ({l:?}) but its inserted rows are not both rows of 1..=V: {bad:?}\naccounts: {acct_rows:?}\nthose rows: {bad_rows:?}\nxids not committed: {not_committed:?}"
            );
        }
        assert!(
            v <= l.attempted.max(l.verified),
            "cycle {cycle}: writer {w}: V = {v} was never sent ({l:?})"
        );
        if sync_off {
            assert!(
                v >= l.verified,
                "cycle {cycle}: writer {w} lost a commit an earlier check saw ({v} < {l:?})"
            );
        } else {
            assert!(
                v >= l.acked,
                "cycle {cycle}: writer {w} lost an acknowledged commit: V = {v} ({l:?})"
            );
        }
        l.verified = v;
        l.acked = v;
        l.attempted = v;
    }
}

#[test]
fn crash_ledger_every_acknowledged_commit_survives_sigkill() {
    let started = Instant::now();
    let mut rng = Rng::from_env();
    let mut srv = TestServer::start(
        Opts::new()
            .set("shared_buffers", "1MB")
            .set("checkpoint_timeout", "30s")
            .set("max_connections", "12"),
    );
    {
        let mut c = srv.connect();
        exec(
            &mut c,
            "CREATE TABLE acct (id int, v int); CREATE TABLE ins (w int, n int, tag text)",
        );
        exec(
            &mut c,
            &format!(
                "INSERT INTO acct SELECT g, 0 FROM generate_series(0, {}) g",
                2 * WRITERS - 1
            ),
        );
    }
    let ledgers: Vec<Arc<Mutex<Ledger>>> = (0..WRITERS).map(|_| Arc::default()).collect();
    let mut seen: Vec<Proc> = Vec::new();
    let mut kills: BTreeMap<&str, u32> = BTreeMap::new();
    let mut checkpoints = 0;
    for cycle in 0..CYCLES {
        let target = ["postmaster", "backend", "checkpointer", "walwriter"][(cycle % 4) as usize];
        let sync_off = cycle % 5 == 4;
        let killed = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let pids = Arc::new(Mutex::new(Vec::new()));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (cfg, l, k, s, p) = (
                    srv.config(crate::util::Via::Tcp),
                    ledgers[w as usize].clone(),
                    killed.clone(),
                    stop.clone(),
                    pids.clone(),
                );
                std::thread::spawn(move || write_cycle(cfg, w, l, sync_off, k, s, p))
            })
            .collect();
        // A CHECKPOINT at a random moment in half the cycles, so that the
        // kill also lands during and after checkpoints (the timed ones
        // rarely fire: every crash restarts the checkpointer's clock).
        let ckpt = rng.next().is_multiple_of(2).then(|| {
            let (cfg, s) = (srv.config(crate::util::Via::Tcp), stop.clone());
            let delay = Duration::from_millis(rng.range(0, 600));
            std::thread::spawn(move || {
                let Some(mut c) = wait_for(Duration::from_secs(20), || {
                    cfg.connect(postgres::NoTls).ok()
                }) else {
                    return false;
                };
                std::thread::sleep(delay);
                !s.load(Ordering::SeqCst) && c.batch_execute("CHECKPOINT").is_ok()
            })
        });
        // Let the writers get going, then kill at a random moment.
        assert!(
            wait_until(Duration::from_secs(20), || pids.lock().unwrap().len()
                as u64
                == WRITERS),
            "cycle {cycle}: the writers did not connect"
        );
        std::thread::sleep(Duration::from_millis(rng.range(50, 700)));
        let victim = match target {
            "postmaster" => srv.pm_pid(),
            "backend" => {
                let p = pids.lock().unwrap();
                p[(rng.next() % p.len() as u64) as usize]
            }
            aux => wait_for(Duration::from_secs(10), || aux_pid(&srv, aux))
                .unwrap_or_else(|| panic!("cycle {cycle}: no {aux} process")),
        };
        *kills.entry(target).or_default() += 1;
        let kids = srv.children();
        seen.extend(kids.iter().copied());
        let reinits = srv.log().matches(REINIT).count();
        killed.store(true, Ordering::SeqCst);
        if target == "postmaster" {
            srv.kill9_postmaster();
        } else {
            assert!(signal(victim, libc::SIGKILL), "kill -9 {victim}");
        }
        stop.store(true, Ordering::SeqCst);
        for (w, h) in writers.into_iter().enumerate() {
            if let Err(e) = h.join().expect("writer thread") {
                panic!("cycle {cycle} ({target}): writer {w} failed before the crash: {e}");
            }
        }
        if target == "postmaster" {
            // A new postmaster may start once every process of the old
            // one is gone (they notice its death, or their client left).
            assert!(
                wait_until(Duration::from_secs(20), || kids
                    .iter()
                    .all(|p| !p.is_running())),
                "cycle {cycle}: children of the killed postmaster still run: {:?}",
                kids.iter().filter(|p| p.is_running()).collect::<Vec<_>>()
            );
        }
        if let Some(h) = ckpt {
            checkpoints += h.join().expect("checkpoint thread") as u32;
        }
        if target == "postmaster" {
            srv.start_postmaster();
        } else {
            // After a child's death the postmaster reinitialises on its
            // own; a connection made before it noticed would be ended.
            assert!(
                wait_until(Duration::from_secs(30), || srv
                    .log()
                    .matches(REINIT)
                    .count()
                    > reinits),
                "cycle {cycle} ({target}): the postmaster did not reinitialise"
            );
        }
        let mut c = wait_for(Duration::from_secs(30), || srv.try_connect().ok())
            .unwrap_or_else(|| panic!("cycle {cycle} ({target}): no connection after the crash"));
        check_ledger(&mut c, &ledgers, sync_off, cycle);
    }
    let total: u64 = ledgers.iter().map(|l| l.lock().unwrap().verified).sum();
    eprintln!(
        "crash ledger: {CYCLES} cycles ({kills:?}), {checkpoints} CHECKPOINTs completed, {total} transactions committed, {:?}",
        started.elapsed()
    );
    assert!(
        total >= CYCLES,
        "too little work to mean anything: {total} commits"
    );
    // A clean stop at the end: nothing of any server generation remains.
    seen.extend(srv.children());
    let st = srv.stop_with(libc::SIGINT);
    assert_eq!(st.code(), Some(0), "fast stop after the crash cycles");
    assert!(
        wait_until(Duration::from_secs(10), || seen
            .iter()
            .all(|p| !p.is_running())),
        "server processes left: {:?}",
        seen.iter().filter(|p| p.is_running()).collect::<Vec<_>>()
    );
    srv.assert_no_ipc_left();
}
