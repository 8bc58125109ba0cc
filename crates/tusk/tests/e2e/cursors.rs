//! SQL prepared statements and cursors as clients see them: PREPARE,
//! EXECUTE, DEALLOCATE, pg_prepared_statements; DECLARE (SCROLL, NO
//! SCROLL, WITH HOLD), FETCH and MOVE in every direction, CLOSE [ALL],
//! pg_cursors; cursors closed at commit, rollback and ROLLBACK TO; with
//! PostgreSQL 15's rows, tags, messages and SQLSTATEs.
//!
//! The psql script (cursors.sql) is compared with PostgreSQL 15's output
//! for it (cursors.pg15.out and .err, captured with psql 15 against
//! PostgreSQL 15 with `-X -f`; stderr's script path replaced by SCRIPT).
//! The postgres-crate tests cover what only the extended protocol shows:
//! a statement prepared by Parse is in the same store as PREPARE's (so
//! SQL EXECUTEs it by its name) and a DECLARE with a bound parameter.

use crate::util::{expect_sqlstate, simple_rows, Opts, TestServer, Via};

const PG_STDOUT: &str = include_str!("cursors.pg15.out");
const PG_STDERR: &str = include_str!("cursors.pg15.err");

#[test]
fn psql_script_gives_postgres_output() {
    let srv = TestServer::start(Opts::new());
    let path = srv.tmp_dir().join("cursors.sql");
    std::fs::write(&path, include_str!("cursors.sql")).expect("write the script");
    let path = path.display().to_string();
    let r = srv.psql(Via::Unix, &["-X", "-f", &path]);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    // creation_time and prepare_time differ run to run; the script shows
    // only whether they are set.
    let got_err = r.stderr.replace(&format!("psql:{path}:"), "psql:SCRIPT:");
    for (i, (g, w)) in r.stdout.lines().zip(PG_STDOUT.lines()).enumerate() {
        assert_eq!(g, w, "stdout line {}:\n{}", i + 1, r.stdout);
    }
    assert_eq!(r.stdout, PG_STDOUT);
    assert_eq!(got_err, PG_STDERR);
}

#[test]
fn protocol_statements_share_the_store_with_prepare() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let st = c.prepare("SELECT $1::int + 1 AS n").expect("prepare");
    let rows = c
        .query(
            "SELECT name, parameter_types::text, from_sql FROM pg_prepared_statements \
             WHERE statement = 'SELECT $1::int + 1 AS n'",
            &[],
        )
        .expect("pg_prepared_statements");
    assert_eq!(rows.len(), 1, "the protocol's statement is listed");
    let name: String = rows[0].get(0);
    let types: String = rows[0].get(1);
    let from_sql: bool = rows[0].get(2);
    assert_eq!((types.as_str(), from_sql), ("{integer}", false));
    // EXECUTE by SQL reaches it under the name the driver gave it.
    let got = simple_rows(&mut c, &format!("EXECUTE {name}(41)"));
    assert_eq!(got, vec![vec![Some("42".to_string())]]);
    // The driver's handle still works, and PREPARE cannot take the name.
    let r = c.query_one(&st, &[&1i32]).expect("run the statement");
    assert_eq!(r.get::<_, i32>(0), 2);
    let e = expect_sqlstate(
        c.batch_execute(&format!("PREPARE {name} AS SELECT 1")),
        &["42P05"],
    );
    assert_eq!(
        e.message(),
        format!("prepared statement \"{name}\" already exists")
    );
    // DEALLOCATE by SQL removes the protocol's statement too.
    c.batch_execute(&format!("DEALLOCATE {name}"))
        .expect("deallocate");
    let e = expect_sqlstate(c.query_one(&st, &[&1i32]), &["26000"]);
    assert!(e.message().contains("does not exist"), "{}", e.message());
}

#[test]
fn declare_with_a_parameter_and_fetch_over_the_extended_protocol() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let mut tx = c.transaction().expect("begin");
    tx.execute(
        "DECLARE p SCROLL CURSOR FOR SELECT a FROM generate_series(1, $1) a",
        &[&5i32],
    )
    .expect("declare");
    let rows = tx.query("FETCH 2 FROM p", &[]).expect("fetch");
    let got: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(got, vec![1, 2]);
    assert_eq!(tx.execute("MOVE ALL IN p", &[]).expect("move"), 3);
    let rows = tx
        .query("FETCH BACKWARD 2 FROM p", &[])
        .expect("fetch back");
    let got: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(got, vec![5, 4]);
    let n: i64 = tx
        .query_one("SELECT count(*) FROM pg_cursors WHERE name = 'p'", &[])
        .expect("pg_cursors")
        .get(0);
    assert_eq!(n, 1);
    tx.commit().expect("commit");
    // Without HOLD the cursor ended with its transaction.
    expect_sqlstate(c.batch_execute("FETCH p"), &["34000"]);
    // Outside a block DECLARE needs HOLD.
    let e = expect_sqlstate(c.batch_execute("DECLARE q CURSOR FOR SELECT 1"), &["25P01"]);
    assert_eq!(
        e.message(),
        "DECLARE CURSOR can only be used in transaction blocks"
    );
}
