//! MERGE against the real binary: the same script run by psql 15 against PostgreSQL 15
//! and against tusk prints the same rows, tags, trigger order and errors; and two
//! sessions changing a matched row at once behave as PostgreSQL's.
//!
//! Why end to end: MERGE is how applications and ETL jobs apply a batch
//! ("upsert or delete by a source"), and its behaviour is spread over the
//! parser (PostgreSQL 15's grammar), the binder (which names each clause
//! may see), the executor (clause order, one change per target row,
//! triggers of three events in one queue) and storage (a matched row a
//! concurrent transaction changed). The expected output is PostgreSQL
//! 15's for merge.sql (`psql -X -A -t -f`, script path in stderr replaced
//! by SCRIPT; the harness compares the error, DETAIL and HINT lines).

use crate::util::{exec, simple_rows, Opts, TestServer};

const SCRIPT: &str = include_str!("merge.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE TABLE
INSERT 0 3
INSERT 0 4
MERGE 3
1|10|new
2|25|new
4|40|new
MERGE 1
MERGE 2
MERGE 1
MERGE 0
1|0|one
2|25|new
4|40|new
7|70|new
9|0|nine
100|0|new
INSERT 0 1
MERGE 2
CREATE VIEW
CREATE TABLE
CREATE FUNCTION
CREATE TRIGGER
CREATE TRIGGER
CREATE TRIGGER
CREATE TRIGGER
DELETE 5
INSERT 0 3
MERGE 3
BEFORE STATEMENT INSERT
BEFORE STATEMENT UPDATE
BEFORE STATEMENT DELETE
BEFORE ROW UPDATE
BEFORE ROW DELETE
BEFORE ROW INSERT
AFTER ROW UPDATE
AFTER ROW DELETE
AFTER ROW INSERT
AFTER STATEMENT DELETE
AFTER STATEMENT UPDATE
AFTER STATEMENT INSERT
1|1|one
3|0|new
4|40|new
5|0|new
7|70|new
8|8|new
9|0|nine
100|0|new
CREATE TABLE
PREPARE
MERGE 1
MERGE 1
MERGE 1
2|6
MERGE 1
2|6
100|7
Merge on target t
  ->  Hash Join
        Hash Cond: (s.sid = t.tid)
        ->  Seq Scan on source s
        ->  Hash
              ->  Seq Scan on target t
CREATE TABLE
CREATE TABLE
INSERT 0 3
INSERT 0 3
MERGE 2
1|1|a
3|0|new
4|40|new
5|0|new
7|70|new
8|8|new
9|0|nine
50|0|c
100|0|new
SELECT 1
CREATE FUNCTION


200|y
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:22: ERROR:  MERGE command cannot affect row a second time
HINT:  Ensure that not more than one source row matches any one target row.
psql:SCRIPT:23: ERROR:  invalid reference to FROM-clause entry for table "t"
HINT:  There is an entry for table "t", but it cannot be referenced from this part of the query.
psql:SCRIPT:24: ERROR:  column "nosuch" of relation "target" does not exist
psql:SCRIPT:25: ERROR:  syntax error at or near "RETURNING"
psql:SCRIPT:26: ERROR:  unreachable WHEN clause specified after unconditional WHEN clause
psql:SCRIPT:27: ERROR:  new row for relation "target" violates check constraint "target_balance_check"
DETAIL:  Failing row contains (3, -1, new).
psql:SCRIPT:29: ERROR:  name "t" specified more than once
DETAIL:  The name is used both as MERGE target table and data source.
psql:SCRIPT:31: ERROR:  cannot execute MERGE on relation "tv"
DETAIL:  This operation is not supported for views.
psql:SCRIPT:61: ERROR:  cannot insert a non-DEFAULT value into column "id"
DETAIL:  Column "id" is an identity column defined as GENERATED ALWAYS.
HINT:  Use OVERRIDING SYSTEM VALUE to override.
psql:SCRIPT:75: ERROR:  invalid reference to FROM-clause entry for table "t"
HINT:  There is an entry for table "t", but it cannot be referenced from this part of the query.
psql:SCRIPT:76: ERROR:  cannot use system column "xmin" in MERGE WHEN condition
psql:SCRIPT:77: ERROR:  syntax error at or near ","
psql:SCRIPT:78: ERROR:  syntax error at or near "BY"
psql:SCRIPT:79: ERROR:  MERGE not supported in WITH query
psql:SCRIPT:80: ERROR:  MERGE not supported in COPY
psql:SCRIPT:82: ERROR:  cannot execute MERGE on relation "mv"
DETAIL:  This operation is not supported for materialized views.
psql:SCRIPT:83: ERROR:  argument of WHEN must be type boolean, not type integer
psql:SCRIPT:84: ERROR:  multiple assignments to same column "note"
psql:SCRIPT:85: ERROR:  syntax error at or near ";"
"#;

#[test]
fn merge_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "merge.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// Waits (with a deadline) until session `pid` waits for a lock.
fn wait_for_lock_wait(a: &mut postgres::Client, pid: i32, finished: impl Fn() -> bool) {
    let q = format!("SELECT count(*) FROM pg_locks WHERE pid = {pid} AND NOT granted");
    let waited = crate::util::wait_until(std::time::Duration::from_secs(30), || {
        simple_rows(a, &q) == vec![vec![Some("1".to_string())]]
    });
    assert!(
        waited,
        "the MERGE of {pid} never waited for the row lock (finished: {}; locks {:?})",
        finished(),
        simple_rows(a, "SELECT pid, locktype, mode, granted FROM pg_locks")
    );
}

/// READ COMMITTED: a matched row updated concurrently is re-checked on
/// its newest version (EvalPlanQual): still joining, the UPDATE clause
/// applies to it; no longer joining (its key changed), the source row
/// goes to the NOT MATCHED clause. The outcome is PostgreSQL 15's for the
/// same two sessions.
#[test]
fn merge_rechecks_rows_changed_concurrently() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut b = srv.connect();
    exec(
        &mut a,
        "CREATE TABLE ct (tid int PRIMARY KEY, n int); INSERT INTO ct VALUES (1, 10), (2, 20)",
    );
    exec(
        &mut a,
        "BEGIN; UPDATE ct SET tid = 11 WHERE tid = 1; UPDATE ct SET n = n + 100 WHERE tid = 2",
    );
    let pid_b: i32 = b.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let waiter = std::thread::spawn(move || {
        b.execute(
            "MERGE INTO ct t USING (VALUES (1, 5), (2, 5)) s(k, d) ON t.tid = s.k \
             WHEN MATCHED THEN UPDATE SET n = t.n + s.d \
             WHEN NOT MATCHED THEN INSERT VALUES (s.k, -s.d)",
            &[],
        )
        .expect("MERGE")
    });
    wait_for_lock_wait(&mut a, pid_b, || waiter.is_finished());
    exec(&mut a, "COMMIT");
    assert_eq!(waiter.join().unwrap(), 2);
    let rows = simple_rows(&mut a, "SELECT tid, n FROM ct ORDER BY tid");
    let want = |i: &str, n: &str| vec![Some(i.to_string()), Some(n.to_string())];
    assert_eq!(
        rows,
        vec![want("1", "-5"), want("2", "125"), want("11", "10")]
    );
}

/// REPEATABLE READ: a matched row changed by a transaction that
/// committed after the snapshot fails with 40001, as in PostgreSQL 15.
#[test]
fn merge_in_repeatable_read_fails_on_a_concurrent_update() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut b = srv.connect();
    exec(
        &mut a,
        "CREATE TABLE ct (tid int PRIMARY KEY, n int); INSERT INTO ct VALUES (1, 10)",
    );
    exec(&mut a, "BEGIN; UPDATE ct SET n = 0");
    exec(&mut b, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1");
    let pid_b: i32 = b.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let waiter = std::thread::spawn(move || {
        let r = b.execute(
            "MERGE INTO ct t USING (VALUES (1)) s(k) ON t.tid = s.k WHEN MATCHED THEN DELETE",
            &[],
        );
        let e = r.expect_err("MERGE must fail");
        let db = e.as_db_error().expect("a server error").clone();
        (db.code().code().to_string(), db.message().to_string())
    });
    wait_for_lock_wait(&mut a, pid_b, || waiter.is_finished());
    exec(&mut a, "COMMIT");
    let (code, message) = waiter.join().unwrap();
    assert_eq!(code, "40001");
    assert_eq!(
        message,
        "could not serialize access due to concurrent update"
    );
    let rows = simple_rows(&mut a, "SELECT tid, n FROM ct");
    assert_eq!(
        rows,
        vec![vec![Some("1".to_string()), Some("0".to_string())]]
    );
}

/// Parameters through the extended protocol: their types are learnt from
/// the column each is assigned to or compared with, as PostgreSQL infers
/// them ({integer,text,bigint} in PostgreSQL 15's pg_prepared_statements
/// for this statement), and one prepared MERGE runs with several values.
#[test]
fn merge_takes_parameters_through_the_extended_protocol() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    exec(
        &mut a,
        "CREATE TABLE kv (k int PRIMARY KEY, v text, n bigint)",
    );
    let st = a
        .prepare(
            "MERGE INTO kv USING (SELECT 1) s ON kv.k = $1 \
             WHEN MATCHED AND $2 = 'drop' THEN DELETE \
             WHEN MATCHED THEN UPDATE SET v = $2, n = kv.n + $3 \
             WHEN NOT MATCHED THEN INSERT VALUES ($1, $2, $3)",
        )
        .unwrap();
    let types: Vec<String> = st.params().iter().map(|t| t.name().to_string()).collect();
    assert_eq!(types, ["int4", "text", "int8"]);
    for (k, v, n) in [(1, "a", 10i64), (2, "b", 20), (1, "c", 5), (2, "drop", 0)] {
        assert_eq!(a.execute(&st, &[&k, &v, &n]).unwrap(), 1);
    }
    let rows = simple_rows(&mut a, "SELECT k, v, n FROM kv ORDER BY k");
    let s = |x: &str| Some(x.to_string());
    assert_eq!(rows, vec![vec![s("1"), s("c"), s("15")]]);
}
