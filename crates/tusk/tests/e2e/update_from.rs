//! UPDATE ... FROM and DELETE ... USING against the real binary: the same script run by
//! psql 15 against PostgreSQL 15 and against tusk prints the same rows, tags and errors.
//!
//! Why end to end: the target joined with other tables is how
//! applications apply a batch of changes (and how ORMs write a join
//! update); a target row joining several rows is changed once, RETURNING
//! sees the joined columns, and a concurrent change of a target row is
//! re-checked against the join's WHERE. The expected output is PostgreSQL
//! 15's for update_from.sql (`psql -X -A -t -f`, script path in stderr
//! replaced by SCRIPT).

use crate::util::{exec, simple_rows, Opts, TestServer};

const SCRIPT: &str = include_str!("update_from.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE TABLE
CREATE TABLE
INSERT 0 4
INSERT 0 4
INSERT 0 1
1|110|a
2|45|b
UPDATE 2
1|ann|110
2|bob|45
3|cy|0
4|dee|10
UPDATE 2
1|ANN|110
2|BOB|45
3|cy|0
4|dee|10
UPDATE 2
1|ANN|110
2|BOB|45
3|cy|33
4|dee|44
3|cy|33|cy
DELETE 1
DELETE 1
1|ANN|110
4|dee|44
UPDATE 0
DELETE 0
UPDATE 1
1|ANN|10
4|dee|44
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:11: ERROR:  table name "acc" specified more than once
psql:SCRIPT:12: ERROR:  relation "nosuch" does not exist
"#;

#[test]
fn update_from_and_delete_using_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "update_from.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// A target row changed by a concurrent transaction after the UPDATE ...
/// FROM took its snapshot: in READ COMMITTED the UPDATE waits, then
/// applies its SET to the newest version (the join's WHERE still holds).
#[test]
fn update_from_waits_for_a_concurrent_change_and_applies_to_the_new_version() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut b = srv.connect();
    exec(
        &mut a,
        "CREATE TABLE t (id int PRIMARY KEY, n int); CREATE TABLE d (id int, add int);
         INSERT INTO t VALUES (1, 10), (2, 20); INSERT INTO d VALUES (1, 5), (2, 5)",
    );
    exec(&mut a, "BEGIN; UPDATE t SET n = n + 100 WHERE id = 1");
    let pid_b: i32 = b.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let waiter = std::thread::spawn(move || {
        b.execute("UPDATE t SET n = t.n + d.add FROM d WHERE d.id = t.id", &[])
            .expect("UPDATE ... FROM")
    });
    let q = format!("SELECT count(*) FROM pg_locks WHERE pid = {pid_b} AND NOT granted");
    let waited = crate::util::wait_until(std::time::Duration::from_secs(30), || {
        simple_rows(&mut a, &q) == vec![vec![Some("1".to_string())]]
    });
    assert!(
        waited,
        "the UPDATE ... FROM of {pid_b} never waited for the row lock (finished: {}; locks {:?})",
        waiter.is_finished(),
        simple_rows(&mut a, "SELECT pid, locktype, mode, granted FROM pg_locks")
    );
    exec(&mut a, "COMMIT");
    assert_eq!(waiter.join().unwrap(), 2);
    let rows = simple_rows(&mut a, "SELECT id, n FROM t ORDER BY id");
    let want = |i: &str, n: &str| vec![Some(i.to_string()), Some(n.to_string())];
    assert_eq!(rows, vec![want("1", "115"), want("2", "25")]);
}
