//! B-tree indexes from SQL: PRIMARY KEY / UNIQUE / CREATE INDEX, the
//! unique violation's text and DETAIL as PostgreSQL 15 sends them, a
//! second inserter of a key waiting for the first, index scans answering
//! exactly what a sequential scan answers on a table larger than the
//! buffer pool, DROP INDEX, REINDEX, TRUNCATE, and an index after kill -9.

use std::sync::mpsc;
use std::time::Duration;

use crate::util::{backend_pid, simple_value, wait_until, Opts, TestServer};
use crate::util::{db_error, exec, rows};

/// The rows of a query as text, in order.

#[test]
fn unique_violations_read_as_postgresql() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE acc (aid int PRIMARY KEY, code text UNIQUE, n int)",
    );
    exec(
        &mut c,
        "INSERT INTO acc VALUES (1, 'a', 0), (2, NULL, 0), (3, NULL, 0)",
    );
    let e = db_error(c.execute("INSERT INTO acc VALUES (1, 'b', 0)", &[]));
    assert_eq!(e.code().code(), "23505");
    assert_eq!(
        e.message(),
        "duplicate key value violates unique constraint \"acc_pkey\""
    );
    assert_eq!(e.detail(), Some("Key (aid)=(1) already exists."));
    let e = db_error(c.execute("INSERT INTO acc VALUES (9, 'a', 0)", &[]));
    assert_eq!(
        e.message(),
        "duplicate key value violates unique constraint \"acc_code_key\""
    );
    assert_eq!(e.detail(), Some("Key (code)=(a) already exists."));
    // An UPDATE onto an existing key, and one keeping its own key.
    let e = db_error(c.execute("UPDATE acc SET aid = 2 WHERE aid = 3", &[]));
    assert_eq!(e.detail(), Some("Key (aid)=(2) already exists."));
    exec(&mut c, "UPDATE acc SET n = n + 1 WHERE aid = 1");
    exec(&mut c, "UPDATE acc SET aid = 4 WHERE aid = 3");
    // A key a released savepoint inserted is this transaction's own: a
    // violation at once, not a wait (statement_timeout bounds a hang).
    exec(
        &mut c,
        "SET statement_timeout = '10s'; BEGIN; SAVEPOINT s; INSERT INTO acc VALUES (7, 's', 0); RELEASE s",
    );
    let e = db_error(c.execute("INSERT INTO acc VALUES (7, 't', 0)", &[]));
    assert_eq!(e.detail(), Some("Key (aid)=(7) already exists."));
    exec(&mut c, "ROLLBACK; RESET statement_timeout");
    // A deleted key may come back; a PRIMARY KEY column is NOT NULL.
    exec(
        &mut c,
        "DELETE FROM acc WHERE aid = 2; INSERT INTO acc VALUES (2, 'x', 0)",
    );
    let e = db_error(c.execute("INSERT INTO acc VALUES (NULL, 'y', 0)", &[]));
    assert_eq!(e.code().code(), "23502");
    assert_eq!(
        rows(&mut c, "SELECT aid, code, n FROM acc ORDER BY aid"),
        ["1|a|1", "2|x|0", "4|NULL|0"]
    );
    // The catalog as PostgreSQL has it (the table's indexes; the system
    // catalogs' own indexes are in pg_index too, as in PostgreSQL).
    assert_eq!(
        rows(
            &mut c,
            "SELECT c.relname, c.relkind, c.relam, i.indisunique, i.indisprimary, i.indkey \
             FROM pg_index i, pg_class c WHERE c.oid = i.indexrelid \
             AND c.relnamespace = 2200 ORDER BY c.relname"
        ),
        ["acc_code_key|i|403|t|f|2", "acc_pkey|i|403|t|t|1"]
    );
    assert_eq!(
        rows(
            &mut c,
            "SELECT conname, contype, conkey FROM pg_constraint ORDER BY conname"
        ),
        ["acc_code_key|u|{2}", "acc_pkey|p|{1}"]
    );
    // A unique index over duplicates fails; a second primary key too.
    exec(&mut c, "CREATE TABLE d (a int, b int)");
    exec(&mut c, "INSERT INTO d VALUES (1, 1), (1, 2)");
    let e = db_error(c.execute("CREATE UNIQUE INDEX ON d (a)", &[]));
    assert_eq!(e.code().code(), "23505");
    assert_eq!(e.message(), "could not create unique index \"d_a_idx\"");
    assert_eq!(e.detail(), Some("Key (a)=(1) is duplicated."));
    exec(&mut c, "ALTER TABLE d ADD PRIMARY KEY (a, b)");
    let e = db_error(c.execute("ALTER TABLE d ADD PRIMARY KEY (b)", &[]));
    assert_eq!(e.code().code(), "42P16");
    let e = db_error(c.execute("INSERT INTO d VALUES (1, 2)", &[]));
    assert_eq!(e.detail(), Some("Key (a, b)=(1, 2) already exists."));
    // Default names as PostgreSQL chooses them.
    exec(&mut c, "CREATE INDEX ON d (b); CREATE INDEX ON d (b)");
    assert_eq!(
        rows(
            &mut c,
            "SELECT relname FROM pg_class WHERE relkind = 'i' AND relname LIKE 'd\\_%' ORDER BY 1"
        ),
        ["d_b_idx", "d_b_idx1", "d_pkey"]
    );
}

/// Runs `sql` on `c` in a thread; the result comes back on the channel.
fn in_thread(
    mut c: postgres::Client,
    sql: &'static str,
) -> (
    mpsc::Receiver<Result<u64, postgres::Error>>,
    std::thread::JoinHandle<postgres::Client>,
) {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        let r = c.execute(sql, &[]);
        let _ = tx.send(r);
        c
    });
    (rx, h)
}

/// Waits until session `pid` runs its statement (lock waits do not show
/// in pg_stat_activity's wait_event yet).
#[track_caller]
fn wait_active(obs: &mut postgres::Client, pid: i32) {
    let q = format!("SELECT state FROM pg_stat_activity WHERE pid = {pid}");
    assert!(
        wait_until(Duration::from_secs(10), || rows(obs, &q) == ["active"]),
        "session {pid} never became active"
    );
}

#[test]
fn a_second_inserter_of_a_key_waits_for_the_first() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut obs = srv.connect();
    exec(&mut a, "CREATE TABLE k (id int PRIMARY KEY, v text)");
    let mut b = srv.connect();
    let b_pid = backend_pid(&mut b);

    // The first commits: the second fails with 23505.
    exec(&mut a, "BEGIN; INSERT INTO k VALUES (1, 'first')");
    let (rx, h) = in_thread(b, "INSERT INTO k VALUES (1, 'second')");
    wait_active(&mut obs, b_pid);
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "the second inserter did not wait"
    );
    exec(&mut a, "COMMIT");
    let r = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the waiter ends");
    let e = db_error(r);
    assert_eq!(e.code().code(), "23505");
    assert_eq!(e.detail(), Some("Key (id)=(1) already exists."));
    let b = h.join().unwrap();

    // The first rolls back: the second goes in.
    exec(&mut a, "BEGIN; INSERT INTO k VALUES (2, 'first')");
    let (rx, h) = in_thread(b, "INSERT INTO k VALUES (2, 'second')");
    wait_active(&mut obs, b_pid);
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "the second inserter did not wait"
    );
    exec(&mut a, "ROLLBACK");
    let r = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the waiter ends");
    assert_eq!(r.expect("the insert after the rollback"), 1);
    drop(h.join().unwrap());
    assert_eq!(
        rows(&mut a, "SELECT id, v FROM k ORDER BY id"),
        ["1|first", "2|second"]
    );
}

/// Index scans (equality, ranges, BETWEEN, parameters, two columns) give
/// the rows a sequential scan gives (`a + 0` is not indexable), on a table
/// several times the buffer pool, after updates and deletes, and again
/// after VACUUM, VACUUM FULL, REINDEX and DROP INDEX.
#[test]
fn index_scans_answer_what_sequential_scans_answer() {
    let srv = TestServer::start(Opts::new().set("shared_buffers", "128kB"));
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE big (a int, b text, c int);
         INSERT INTO big SELECT g, 'v' || (g % 97), g % 7 FROM generate_series(1, 6000) g;
         CREATE INDEX big_a ON big (a);
         CREATE INDEX big_cb ON big (c, b);
         UPDATE big SET a = a + 10000 WHERE a % 10 = 0;
         DELETE FROM big WHERE a % 13 = 0;
         INSERT INTO big SELECT g, 'n', 1 FROM generate_series(1, 300) g;",
    );
    let check = |c: &mut postgres::Client, when: &str| {
        for (idx, seq) in [
            (
                "SELECT a, b FROM big WHERE a = 77 ORDER BY a, b",
                "SELECT a, b FROM big WHERE a + 0 = 77 ORDER BY a, b",
            ),
            (
                "SELECT a, b FROM big WHERE a = 70",
                "SELECT a, b FROM big WHERE a + 0 = 70",
            ),
            (
                "SELECT count(*), sum(a) FROM big WHERE a > 5900",
                "SELECT count(*), sum(a) FROM big WHERE a + 0 > 5900",
            ),
            (
                "SELECT count(*), sum(a) FROM big WHERE a BETWEEN 100 AND 2500 AND b <> 'v3'",
                "SELECT count(*), sum(a) FROM big WHERE a + 0 BETWEEN 100 AND 2500 AND b <> 'v3'",
            ),
            (
                "SELECT count(*), sum(a) FROM big WHERE a <= 150",
                "SELECT count(*), sum(a) FROM big WHERE a + 0 <= 150",
            ),
            (
                "SELECT count(*), sum(a) FROM big WHERE 10010 < a AND a < 10500",
                "SELECT count(*), sum(a) FROM big WHERE 10010 < a + 0 AND a + 0 < 10500",
            ),
            (
                "SELECT count(*), sum(a) FROM big WHERE c = 3 AND b = 'v5'",
                "SELECT count(*), sum(a) FROM big WHERE c + 0 = 3 AND b = 'v5'",
            ),
            (
                "SELECT count(*), sum(a) FROM big WHERE c = 1",
                "SELECT count(*), sum(a) FROM big WHERE c + 0 = 1",
            ),
        ] {
            let got = rows(c, idx);
            assert!(!got.is_empty());
            assert_eq!(got, rows(c, seq), "{when}: {idx}");
        }
        // Extended protocol with a parameter.
        for k in [1, 70, 10070, 6001] {
            let n: i64 = c
                .query_one("SELECT count(*) FROM big WHERE a = $1", &[&k])
                .unwrap()
                .get(0);
            let m: i64 = c
                .query_one("SELECT count(*) FROM big WHERE a + 0 = $1", &[&k])
                .unwrap()
                .get(0);
            assert_eq!(n, m, "{when}: a = {k}");
        }
    };
    check(&mut c, "after the changes");
    // ORDER BY an indexed column (with LIMIT, ranges, DESC, across batches
    // of entries and duplicate keys) in the order a sort gives. (Only the
    // keys: rows with equal keys come in heap order from the index and in
    // quicksort order from a sort, as in PostgreSQL.)
    for (idx, seq) in [
        (
            "SELECT a FROM big ORDER BY a LIMIT 20",
            "SELECT a FROM big ORDER BY a + 0 LIMIT 20",
        ),
        (
            "SELECT a FROM big WHERE a > 9000 ORDER BY a DESC LIMIT 700",
            "SELECT a FROM big WHERE a + 0 > 9000 ORDER BY a + 0 DESC LIMIT 700",
        ),
        (
            "SELECT count(*) FROM (SELECT c FROM big ORDER BY c) s",
            "SELECT count(*) FROM big",
        ),
        (
            "SELECT a FROM big WHERE a BETWEEN 10 AND 3000 ORDER BY a",
            "SELECT a FROM big WHERE a + 0 BETWEEN 10 AND 3000 ORDER BY a + 0",
        ),
    ] {
        assert_eq!(rows(&mut c, idx), rows(&mut c, seq), "{idx}");
    }
    let cs = rows(&mut c, "SELECT c FROM big ORDER BY c DESC");
    let mut sorted = cs.clone();
    sorted.sort_by(|x, y| y.cmp(x));
    assert_eq!(cs, sorted);
    // Updates and deletes through the index.
    exec(&mut c, "UPDATE big SET b = 'u' WHERE a = 5");
    exec(&mut c, "DELETE FROM big WHERE a BETWEEN 20 AND 30");
    assert_eq!(
        rows(
            &mut c,
            "SELECT a, b FROM big WHERE a <= 35 AND a >= 1 AND c <> 1 ORDER BY a"
        ),
        rows(
            &mut c,
            "SELECT a, b FROM big WHERE a + 0 <= 35 AND a + 0 >= 1 AND c <> 1 ORDER BY a"
        )
    );
    exec(&mut c, "VACUUM big");
    exec(
        &mut c,
        "INSERT INTO big SELECT g, 'w', 2 FROM generate_series(1, 500) g",
    );
    check(&mut c, "after VACUUM and new rows in freed space");
    exec(&mut c, "VACUUM FULL big");
    check(&mut c, "after VACUUM FULL");
    exec(&mut c, "REINDEX TABLE big; REINDEX INDEX big_a");
    check(&mut c, "after REINDEX");
    // DROP INDEX: the queries go on as sequential scans.
    exec(&mut c, "DROP INDEX big_a");
    exec(&mut c, "DROP INDEX IF EXISTS big_a");
    let e = db_error(c.execute("DROP INDEX big_a", &[]));
    assert_eq!(e.code().code(), "42704");
    assert_eq!(e.message(), "index \"big_a\" does not exist");
    check(&mut c, "after DROP INDEX");
    // TRUNCATE empties the indexes with the table.
    exec(
        &mut c,
        "CREATE INDEX ON big (a); TRUNCATE big; INSERT INTO big VALUES (77, 'z', 1)",
    );
    assert_eq!(rows(&mut c, "SELECT b FROM big WHERE a = 77"), ["z"]);
    // An index backing a constraint cannot be dropped alone.
    exec(&mut c, "CREATE TABLE pk (id int PRIMARY KEY)");
    let e = db_error(c.execute("DROP INDEX pk_pkey", &[]));
    assert_eq!(e.code().code(), "2BP01");
    assert_eq!(
        e.message(),
        "cannot drop index pk_pkey because constraint pk_pkey on table pk requires it"
    );
    exec(&mut c, "DROP TABLE pk");
    assert_eq!(
        rows(
            &mut c,
            "SELECT count(*) FROM pg_class WHERE relname = 'pk_pkey'"
        ),
        ["0"]
    );
}

/// Index entries are WAL-logged: after kill -9 (no checkpoint since the
/// inserts) an index scan finds every committed row and only those.
#[test]
fn an_index_survives_kill9() {
    let mut srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE r (id int PRIMARY KEY, v text); CHECKPOINT",
    );
    exec(
        &mut c,
        "INSERT INTO r SELECT g, 'x' || g FROM generate_series(1, 3000) g",
    );
    exec(&mut c, "UPDATE r SET v = 'u' WHERE id % 100 = 0");
    exec(&mut c, "BEGIN; INSERT INTO r VALUES (5000, 'lost')");
    let kids = srv.children();
    srv.kill9_postmaster();
    assert!(wait_until(Duration::from_secs(20), || kids
        .iter()
        .all(|p| !p.is_running())));
    drop(c);
    srv.start_postmaster();
    let mut c = srv.connect();
    for id in [1, 100, 1234, 3000] {
        let want = if id % 100 == 0 {
            "u".to_string()
        } else {
            format!("x{id}")
        };
        assert_eq!(
            rows(&mut c, &format!("SELECT v FROM r WHERE id = {id}")),
            [want]
        );
    }
    assert_eq!(
        rows(&mut c, "SELECT count(*), sum(id) FROM r WHERE id >= 1"),
        ["3000|4501500"]
    );
    assert!(rows(&mut c, "SELECT v FROM r WHERE id = 5000").is_empty());
    // The tree still takes inserts and checks keys.
    exec(&mut c, "INSERT INTO r VALUES (5000, 'new')");
    let e = db_error(c.execute("INSERT INTO r VALUES (3000, 'dup')", &[]));
    assert_eq!(e.code().code(), "23505");
    assert_eq!(
        simple_value(&mut c, "SELECT v FROM r WHERE id = 5000").as_deref(),
        Some("new")
    );
}

/// A key on columns after dropped ones (PostgreSQL's foreign_key script
/// does this): index keys are physical attnums, rows reach the index code
/// with live columns only. This crashed the backend (an index past the
/// row) before keys were mapped.
#[test]
fn keys_after_dropped_columns_stay_right() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE dk (fdrop1 int, a int, fdrop2 int, b int, PRIMARY KEY (a, b));
         ALTER TABLE dk DROP COLUMN fdrop1, DROP COLUMN fdrop2;
         INSERT INTO dk VALUES (500, 501), (1500, 1501), (2500, 2502);
         CREATE UNIQUE INDEX dk_b ON dk (b)",
    );
    assert_eq!(
        rows(&mut c, "SELECT a, b FROM dk WHERE a = 1500"),
        vec!["1500|1501"]
    );
    assert_eq!(
        rows(&mut c, "SELECT a FROM dk WHERE b = 2502"),
        vec!["2500"]
    );
    let e = db_error(c.simple_query("INSERT INTO dk VALUES (500, 501)"));
    assert_eq!(e.code().code(), "23505");
    assert_eq!(e.detail(), Some("Key (a, b)=(500, 501) already exists."));
    let e = db_error(c.simple_query("INSERT INTO dk VALUES (1, 2502)"));
    assert_eq!(e.detail(), Some("Key (b)=(2502) already exists."));
    exec(&mut c, "UPDATE dk SET b = 9 WHERE a = 500");
    assert_eq!(rows(&mut c, "SELECT a FROM dk WHERE b = 9"), vec!["500"]);
    // The indexed columns are NOT NULL (the primary key), not the dropped ones.
    assert_eq!(
        rows(
            &mut c,
            "SELECT attname FROM pg_attribute WHERE attrelid = (SELECT oid FROM pg_class WHERE relname = 'dk') AND attnotnull ORDER BY attnum"
        ),
        vec!["a", "b"]
    );
}

/// CREATE INDEX over a table whose rows have HOT chains indexes each live
/// version under its chain's root: after more HOT updates and a VACUUM
/// that prunes the chain, the index still leads to the row (an entry
/// naming the heap-only version itself pointed at a freed line pointer).
#[test]
fn an_index_built_over_hot_chains_keeps_finding_the_rows() {
    let srv = TestServer::start(Opts::new().set("autovacuum", "off"));
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE h (id int, v int, pad text);
         INSERT INTO h SELECT g, 0, 'x' FROM generate_series(1, 3) g;",
    );
    for _ in 0..5 {
        exec(&mut c, "UPDATE h SET v = v + 1");
    }
    exec(&mut c, "CREATE UNIQUE INDEX h_id ON h (id)");
    for _ in 0..3 {
        exec(&mut c, "UPDATE h SET v = v + 1 WHERE id = 2");
    }
    exec(&mut c, "VACUUM h");
    for id in 1..=3 {
        let want = if id == 2 { "8" } else { "5" };
        assert_eq!(
            rows(&mut c, &format!("SELECT v FROM h WHERE id = {id}")),
            vec![want.to_string()],
            "row {id} through the index"
        );
    }
    exec(&mut c, "UPDATE h SET v = v + 1 WHERE id = 2");
    assert_eq!(rows(&mut c, "SELECT v FROM h WHERE id = 2"), vec!["9"]);
}

/// Concurrent UPDATEs of one row through its primary key while pruning
/// keeps cutting the row's HOT chain (wide rows fill the page every few
/// versions): every increment lands. An index user that walked the chain
/// without holding the page could be cut short by a prune and skip the
/// row silently (found by scripts/torture.sh as a TPC-B branch balance
/// missing one transaction's delta).
#[test]
fn concurrent_updates_through_a_key_never_skip_the_row() {
    let srv = TestServer::start(Opts::new().set("autovacuum", "off"));
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE ctr (id int PRIMARY KEY, n int, pad text);
         INSERT INTO ctr VALUES (1, 0, repeat('p', 600)), (2, 0, repeat('q', 600));",
    );
    const THREADS: usize = 4;
    const EACH: usize = 150;
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            let srv = &srv;
            s.spawn(move || {
                let mut c = srv.connect();
                for i in 0..EACH {
                    let r = c
                        .execute(
                            "UPDATE ctr SET n = n + 1 WHERE id = $1",
                            &[&(1 + (i % 2) as i32)],
                        )
                        .unwrap_or_else(|e| panic!("{}", crate::util::describe_error(&e)));
                    assert_eq!(r, 1, "update {i} found its row");
                }
            });
        }
    });
    assert_eq!(
        rows(&mut c, "SELECT sum(n) FROM ctr"),
        vec![(THREADS * EACH).to_string()]
    );
}

/// VACUUM removes the index entries of the line pointers it frees
/// (two-pass VACUUM): an index under a steady update-and-vacuum load
/// stops growing, the freed TIDs' reuse never confuses a scan, and the
/// VACUUM records replay after kill -9.
#[test]
fn vacuum_removes_dead_index_entries_and_they_replay() {
    let mut srv = TestServer::start(Opts::new().set("autovacuum", "off"));
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE q (k int PRIMARY KEY, v int);
         INSERT INTO q SELECT g, 0 FROM generate_series(1, 1000) g;",
    );
    let index_file = {
        let node = rows(
            &mut c,
            "SELECT relfilenode FROM pg_class WHERE relname = 'q_pkey'",
        );
        srv.data_dir().join("base").join("5").join(&node[0])
    };
    let size = || std::fs::metadata(&index_file).map(|m| m.len()).unwrap_or(0);
    // Each round moves every key (a non-HOT update: new entries for all
    // rows) and back, then vacuums.
    let mut sizes = Vec::new();
    for round in 0..6 {
        exec(&mut c, "UPDATE q SET k = k + 100000, v = v + 1");
        exec(&mut c, "UPDATE q SET k = k - 100000");
        let verbose = c
            .simple_query("VACUUM (VERBOSE) q")
            .map(|_| ())
            .map_err(|e| crate::util::describe_error(&e));
        assert!(verbose.is_ok(), "round {round}: {verbose:?}");
        exec(&mut c, "CHECKPOINT");
        sizes.push(size());
    }
    assert!(
        sizes[5] <= sizes[2] + 8192,
        "the index keeps growing under update + VACUUM: {sizes:?}"
    );
    assert_eq!(
        rows(&mut c, "SELECT count(*), sum(v) FROM q WHERE k >= 1"),
        ["1000|6000"]
    );
    // More churn without a checkpoint, VACUUM, then a crash: redo replays
    // the entry removals and the heap's freeing in order.
    exec(&mut c, "UPDATE q SET k = k + 100000, v = v + 1");
    exec(&mut c, "UPDATE q SET k = k - 100000");
    exec(&mut c, "VACUUM q");
    let kids = srv.children();
    srv.kill9_postmaster();
    assert!(wait_until(Duration::from_secs(20), || kids
        .iter()
        .all(|p| !p.is_running())));
    drop(c);
    srv.start_postmaster();
    let mut c = srv.connect();
    for k in [1, 777, 1000] {
        assert_eq!(
            rows(&mut c, &format!("SELECT v FROM q WHERE k = {k}")),
            ["7"],
            "key {k}"
        );
    }
    assert!(rows(&mut c, "SELECT v FROM q WHERE k = 100001").is_empty());
    assert_eq!(
        rows(&mut c, "SELECT count(*), sum(v) FROM q WHERE k >= 1"),
        ["1000|7000"]
    );
    exec(&mut c, "INSERT INTO q VALUES (1001, 0)");
    let e = db_error(c.execute("INSERT INTO q VALUES (1000, 0)", &[]));
    assert_eq!(e.code().code(), "23505");
}
