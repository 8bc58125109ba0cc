//! Transactions as clients see them: a simple Query with several
//! statements runs as one implicit transaction (an error undoes the
//! statements before it and skips the rest; BEGIN inside it opens an
//! explicit block; COMMIT and ROLLBACK inside it end it there), and
//! `now()` is the transaction's start in implicit transactions too.
//!
//! The psql texts expected here are PostgreSQL 15's output for the same
//! commands (captured with psql 15 against PostgreSQL 15).

use crate::util::{expect_sqlstate, simple_rows, simple_value, Opts, TestServer, Via};

/// Each case: one `-c` with several statements, then `-c 'SHOW work_mem'`
/// in the same psql session; stdout, stderr and the exit code must be
/// PostgreSQL 15's. Where an error follows other results, libpq drops a
/// result still unread when the error arrives (PostgreSQL's output varies
/// from run to run there), so only the last line of stdout is compared.
#[test]
fn multi_statement_queries_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let no_xact = "WARNING:  there is no transaction in progress\n";
    let committed_then_failed = format!("{no_xact}ERROR:  division by zero\n");
    // (query, stdout or its last line, whole stdout?, stderr, exit code)
    let cases: [(&str, &str, bool, &str, i32); 7] = [
        // The SET is rolled back with the failing statement after it.
        (
            "SET work_mem='7MB'; SELECT 1/0",
            "4MB\n",
            false,
            "ERROR:  division by zero\n",
            0,
        ),
        // A COMMIT in the middle commits what came before and warns.
        (
            "SELECT 1; COMMIT; SELECT 2",
            "1\nCOMMIT\n2\n4MB\n",
            true,
            no_xact,
            0,
        ),
        // A ROLLBACK in the middle rolls back what came before.
        (
            "SET work_mem='7MB'; ROLLBACK; SHOW work_mem",
            "SET\nROLLBACK\n4MB\n4MB\n",
            true,
            no_xact,
            0,
        ),
        // COMMIT then an error: the committed SET stays.
        (
            "SET work_mem='7MB'; COMMIT; SELECT 1/0",
            "7MB\n",
            false,
            &committed_then_failed,
            0,
        ),
        // BEGIN turns the implicit block into an explicit one, which the
        // error leaves failed: the next Query is refused.
        (
            "SET work_mem='7MB'; BEGIN; SELECT 1/0",
            "",
            false,
            "ERROR:  division by zero\nERROR:  current transaction is aborted, commands ignored until end of transaction block\n",
            1,
        ),
        (
            "BEGIN; BEGIN; SELECT 1",
            "BEGIN\nBEGIN\n1\n4MB\n",
            true,
            "WARNING:  there is already a transaction in progress\n",
            0,
        ),
        // Statements that refuse a transaction block refuse implicit ones.
        (
            "SELECT 1; DISCARD ALL",
            "4MB\n",
            false,
            "ERROR:  DISCARD ALL cannot run inside a transaction block\n",
            0,
        ),
    ];
    // SET LOCAL warns outside a block, and an implicit block is one.
    let r = srv.psql(
        Via::Unix,
        &[
            "-X",
            "-A",
            "-t",
            "-c",
            "SET LOCAL work_mem='9MB'",
            "-c",
            "SET LOCAL work_mem='9MB'; SHOW work_mem",
            "-c",
            "SHOW work_mem",
        ],
    );
    assert_eq!(
        (r.stdout.as_str(), r.stderr.as_str(), r.code()),
        (
            "SET\nSET\n9MB\n4MB\n",
            "WARNING:  SET LOCAL can only be used in transaction blocks\n",
            Some(0)
        ),
        "{}",
        r.describe()
    );
    for (sql, out, whole, err, code) in &cases {
        let r = srv.psql(
            Via::Unix,
            &["-X", "-A", "-t", "-c", sql, "-c", "SHOW work_mem"],
        );
        let stdout_ok = if *whole {
            r.stdout == *out
        } else {
            r.stdout.ends_with(out)
        };
        assert!(stdout_ok, "{sql}: stdout, want {out:?}: {}", r.describe());
        // An empty expectation means the SHOW after the failed block was
        // refused: no value of work_mem printed (ends_with("") alone would
        // accept anything).
        if out.is_empty() {
            assert!(!r.stdout.contains("MB"), "{sql}: stdout: {}", r.describe());
        }
        assert_eq!(
            (r.stderr.as_str(), r.code()),
            (*err, Some(*code)),
            "{sql}: {}",
            r.describe()
        );
    }
}

/// The same through the postgres crate's simple_query, checking the
/// session state (work_mem, the failed block) between Queries.
#[test]
fn implicit_transaction_rolls_back_settings() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let work_mem = |c: &mut postgres::Client| simple_value(c, "SHOW work_mem");

    expect_sqlstate(c.simple_query("SET work_mem='7MB'; SELECT 1/0"), &["22012"]);
    assert_eq!(work_mem(&mut c).as_deref(), Some("4MB"));
    // The statements after the error did not run.
    expect_sqlstate(c.simple_query("SELECT 1/0; SET work_mem='5MB'"), &["22012"]);
    assert_eq!(work_mem(&mut c).as_deref(), Some("4MB"));
    // All statements succeed: the transaction commits.
    c.simple_query("SET work_mem='7MB'; SELECT 1")
        .expect("both succeed");
    assert_eq!(work_mem(&mut c).as_deref(), Some("7MB"));
    // BEGIN inside the string: the SET before it belongs to the block,
    // which stays failed until ROLLBACK, and ROLLBACK undoes it.
    expect_sqlstate(
        c.simple_query("SET work_mem='9MB'; BEGIN; SELECT 1/0"),
        &["22012"],
    );
    expect_sqlstate(c.simple_query("SHOW work_mem"), &["25P02"]);
    c.simple_query("ROLLBACK").expect("ROLLBACK");
    assert_eq!(work_mem(&mut c).as_deref(), Some("7MB"));
    // A block opened in the string stays open after it.
    c.simple_query("SELECT 1; BEGIN; SET work_mem='10MB'")
        .expect("open a block");
    c.simple_query("SELECT 1/0").expect_err("fails the block");
    c.simple_query("ROLLBACK").expect("ROLLBACK");
    assert_eq!(work_mem(&mut c).as_deref(), Some("7MB"));
    // The extended protocol: the transaction of Parse/Bind/Execute commits
    // at Sync, and an error there rolls it back.
    c.execute("SET work_mem = '8MB'", &[])
        .expect("extended SET");
    assert_eq!(work_mem(&mut c).as_deref(), Some("8MB"));
    expect_sqlstate(c.execute("SELECT 1/0", &[]), &["22012"]);
    assert_eq!(work_mem(&mut c).as_deref(), Some("8MB"));
    c.execute("BEGIN", &[]).expect("extended BEGIN");
    c.execute("SET work_mem = '9MB'", &[])
        .expect("SET in the block");
    c.execute("ROLLBACK", &[]).expect("extended ROLLBACK");
    assert_eq!(work_mem(&mut c).as_deref(), Some("8MB"));
}

/// now() is the transaction's start: the same in every statement of one
/// Query (even after a sleep), equal to statement_timestamp() there, and
/// different in the next Query.
#[test]
fn now_is_the_implicit_transactions_start() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let rows = simple_rows(
        &mut c,
        "SELECT now(); SELECT pg_sleep(0.05); \
         SELECT now(), now() = statement_timestamp(), now() < clock_timestamp()",
    );
    assert_eq!(rows.len(), 3, "{rows:?}");
    let first = rows[0][0].clone().expect("now()");
    assert_eq!(rows[2][0].as_deref(), Some(first.as_str()), "{rows:?}");
    assert_eq!(rows[2][1].as_deref(), Some("t"), "{rows:?}");
    assert_eq!(rows[2][2].as_deref(), Some("t"), "{rows:?}");
    let next = simple_value(&mut c, "SELECT now()").expect("now()");
    assert_ne!(next, first, "a new Query is a new transaction");
    // Inside an explicit block, now() stays the BEGIN's time across Queries.
    let begun = simple_rows(&mut c, "BEGIN; SELECT now()");
    let t = begun[0][0].clone().expect("now()");
    c.simple_query("SELECT pg_sleep(0.02)").expect("sleep");
    assert_eq!(simple_value(&mut c, "SELECT now()"), Some(t));
    c.simple_query("COMMIT").expect("COMMIT");
}
