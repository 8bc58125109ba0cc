//! Savepoints as clients see them: SAVEPOINT, RELEASE and ROLLBACK TO
//! with PostgreSQL 15's errors, SQLSTATEs and tags, nested and repeated
//! names, SET values undone by ROLLBACK TO, and the pattern every ORM
//! relies on — an error inside a savepoint, ROLLBACK TO it, go on and
//! commit — over the simple and the extended protocol and through the
//! postgres crate's and asyncpg's nested transactions.
//!
//! Row visibility of rolled-back savepoints is tested at the storage
//! level (crates/storage/src/subxact_tests.rs): the SQL layer has no
//! tables yet.
//!
//! The expected psql output below is PostgreSQL 15's for the same script
//! (savepoint.sql, captured with psql 15 against PostgreSQL 15 with
//! `-X -A -t -f`; stderr's script path replaced by SCRIPT).

use crate::util::{
    expect_sqlstate, message, query_message, run_bounded, simple_value, Msg, Opts, RawConn,
    TestServer, Via, DATABASE, SUPERUSER,
};
use std::process::Command;
use std::time::Duration;

const SCRIPT: &str = include_str!("savepoint.sql");

const PG_STDOUT: &str = r#"25P01
25P01
25P01
BEGIN
3B001
3B001
25P02
25P02
25P02
ROLLBACK
BEGIN
SET
SAVEPOINT
SET
22012
25P02
25P02
25P02
ROLLBACK
00000
5MB
SAVEPOINT
SET
SAVEPOINT
SET
ROLLBACK
7MB
RELEASE
7MB
ROLLBACK
5MB
RELEASE
RELEASE
5MB
COMMIT
5MB
BEGIN
SAVEPOINT
ROLLBACK
00000
BEGIN
SAVEPOINT
SAVEPOINT
RELEASE
RELEASE
3B001
ROLLBACK
BEGIN
SAVEPOINT
t
ROLLBACK
t
RELEASE
COMMIT
BEGIN
SAVEPOINT
BEGIN
ROLLBACK
1
25P01
BEGIN
SAVEPOINT
ROLLBACK
3
COMMIT
00000
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:2: ERROR:  SAVEPOINT can only be used in transaction blocks
psql:SCRIPT:4: ERROR:  RELEASE SAVEPOINT can only be used in transaction blocks
psql:SCRIPT:6: ERROR:  ROLLBACK TO SAVEPOINT can only be used in transaction blocks
psql:SCRIPT:9: ERROR:  savepoint "nope" does not exist
psql:SCRIPT:11: ERROR:  savepoint "nope" does not exist
psql:SCRIPT:13: ERROR:  current transaction is aborted, commands ignored until end of transaction block
psql:SCRIPT:15: ERROR:  current transaction is aborted, commands ignored until end of transaction block
psql:SCRIPT:17: ERROR:  current transaction is aborted, commands ignored until end of transaction block
psql:SCRIPT:24: ERROR:  division by zero
psql:SCRIPT:26: ERROR:  current transaction is aborted, commands ignored until end of transaction block
psql:SCRIPT:28: ERROR:  current transaction is aborted, commands ignored until end of transaction block
psql:SCRIPT:30: ERROR:  current transaction is aborted, commands ignored until end of transaction block
psql:SCRIPT:39: ERROR:  division by zero
psql:SCRIPT:53: ERROR:  division by zero
psql:SCRIPT:61: ERROR:  savepoint "a" does not exist
psql:SCRIPT:73: WARNING:  there is already a transaction in progress
psql:SCRIPT:75: ERROR:  SAVEPOINT can only be used in transaction blocks
psql:SCRIPT:77: ERROR:  division by zero
"#;

#[test]
fn savepoint_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "savepoint.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    assert_eq!(errs.clone(), PG_STDERR, "stderr: {}", r.describe());
}

/// What one exchange (up to ReadyForQuery) brought back: the
/// CommandComplete tags, the SQLSTATEs of errors, ReadyForQuery's status.
#[derive(Debug, PartialEq)]
struct Answer {
    tags: Vec<String>,
    errors: Vec<String>,
    status: char,
}

fn answer(msgs: &[Msg]) -> Answer {
    let mut a = Answer {
        tags: Vec::new(),
        errors: Vec::new(),
        status: '?',
    };
    for m in msgs {
        match m.tag {
            b'C' => {
                let end = m.body.iter().position(|&b| b == 0).unwrap_or(m.body.len());
                a.tags
                    .push(String::from_utf8_lossy(&m.body[..end]).into_owned());
            }
            b'E' => a.errors.push(m.field(b'C').unwrap_or_default()),
            b'Z' => a.status = m.body.first().copied().unwrap_or(b'?') as char,
            _ => {}
        }
    }
    a
}

fn simple(c: &mut RawConn, sql: &str) -> Answer {
    c.send(&query_message(sql)).expect("send Query");
    answer(&c.read_until_ready())
}

/// Parse, Bind, Execute of the unnamed statement, then Sync.
fn extended(c: &mut RawConn, sql: &str) -> Answer {
    let mut parse = b"\0".to_vec();
    parse.extend_from_slice(sql.as_bytes());
    parse.extend_from_slice(&[0, 0, 0]);
    let mut bytes = message(b'P', &parse);
    bytes.extend(message(b'B', &[0, 0, 0, 0, 0, 0, 0, 0]));
    bytes.extend(message(b'E', &[0, 0, 0, 0, 0]));
    bytes.extend(message(b'S', &[]));
    c.send(&bytes).expect("send Parse/Bind/Execute/Sync");
    answer(&c.read_until_ready())
}

fn ok(tag: &str, status: char) -> Answer {
    Answer {
        tags: vec![tag.to_string()],
        errors: Vec::new(),
        status,
    }
}

fn failed(code: &str) -> Answer {
    Answer {
        tags: Vec::new(),
        errors: vec![code.to_string()],
        status: 'E',
    }
}

/// The ORM pattern byte by byte: tags and ReadyForQuery's status (T in a
/// block, E once failed, T again after ROLLBACK TO), through both
/// protocols.
#[test]
fn rollback_to_recovers_a_failed_block_over_both_protocols() {
    let srv = TestServer::start(Opts::new());
    for run in [simple as fn(&mut RawConn, &str) -> Answer, extended] {
        let (mut c, _) = srv.raw_session();
        assert_eq!(run(&mut c, "BEGIN"), ok("BEGIN", 'T'));
        assert_eq!(run(&mut c, "SAVEPOINT a"), ok("SAVEPOINT", 'T'));
        assert_eq!(run(&mut c, "SAVEPOINT a"), ok("SAVEPOINT", 'T'));
        assert_eq!(run(&mut c, "SELECT 1/0"), failed("22012"));
        assert_eq!(run(&mut c, "SELECT 1"), failed("25P02"));
        assert_eq!(run(&mut c, "SAVEPOINT b"), failed("25P02"));
        assert_eq!(run(&mut c, "RELEASE a"), failed("25P02"));
        assert_eq!(run(&mut c, "ROLLBACK TO b"), failed("3B001"));
        // The inner a: the outer one stays.
        assert_eq!(run(&mut c, "ROLLBACK TO SAVEPOINT a"), ok("ROLLBACK", 'T'));
        assert_eq!(run(&mut c, "RELEASE SAVEPOINT a"), ok("RELEASE", 'T'));
        assert_eq!(run(&mut c, "RELEASE a"), ok("RELEASE", 'T'));
        assert_eq!(run(&mut c, "RELEASE a"), failed("3B001"));
        assert_eq!(run(&mut c, "ROLLBACK"), ok("ROLLBACK", 'I'));
        // Outside a block.
        assert_eq!(run(&mut c, "SAVEPOINT a"), failed("25P01").with_status('I'));
        assert_eq!(
            run(&mut c, "ROLLBACK TO a"),
            failed("25P01").with_status('I')
        );
        assert_eq!(run(&mut c, "SELECT 1"), ok("SELECT 1", 'I'));
    }
}

impl Answer {
    fn with_status(mut self, status: char) -> Answer {
        self.status = status;
        self
    }
}

/// A simple Query holding several statements: SAVEPOINT takes effect at
/// once inside an explicit block, and is refused in an implicit one.
#[test]
fn savepoints_inside_one_query_string() {
    let srv = TestServer::start(Opts::new());
    let (mut c, _) = srv.raw_session();
    assert_eq!(
        simple(&mut c, "BEGIN; SAVEPOINT a; SELECT 1/0"),
        Answer {
            tags: vec!["BEGIN".into(), "SAVEPOINT".into()],
            errors: vec!["22012".into()],
            status: 'E'
        }
    );
    assert_eq!(
        simple(&mut c, "ROLLBACK TO a; RELEASE a; COMMIT"),
        Answer {
            tags: vec!["ROLLBACK".into(), "RELEASE".into(), "COMMIT".into()],
            errors: vec![],
            status: 'I'
        }
    );
    assert_eq!(
        simple(&mut c, "SELECT 1; SAVEPOINT a"),
        Answer {
            tags: vec!["SELECT 1".into()],
            errors: vec!["25P01".into()],
            status: 'I'
        }
    );
}

/// The postgres crate's nested transactions are SAVEPOINT, ROLLBACK TO
/// (on drop) and RELEASE (on commit): what ORMs do around each risky
/// statement. SET values follow the savepoints.
#[test]
fn nested_transactions_of_the_postgres_crate() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let mut t = c.transaction().expect("BEGIN");
    t.batch_execute("SET work_mem = '5MB'").unwrap();
    {
        let mut sp = t.savepoint("sp").expect("SAVEPOINT");
        sp.batch_execute("SET work_mem = '6MB'").unwrap();
        expect_sqlstate(sp.query("SELECT 1/0", &[]), &["22012"]);
        // Dropped: ROLLBACK TO sp.
    }
    let rows = t.query("SELECT 2", &[]).expect("the block recovered");
    assert_eq!(rows[0].get::<_, i32>(0), 2);
    assert_eq!(simple_value_tx(&mut t, "SHOW work_mem"), "5MB");
    {
        let mut sp = t.savepoint("sp").expect("SAVEPOINT");
        sp.batch_execute("SET work_mem = '7MB'").unwrap();
        {
            let inner = sp.savepoint("inner").expect("nested SAVEPOINT");
            inner.commit().expect("RELEASE inner");
        }
        sp.commit().expect("RELEASE sp");
    }
    assert_eq!(simple_value_tx(&mut t, "SHOW work_mem"), "7MB");
    t.commit().expect("COMMIT");
    assert_eq!(
        simple_value(&mut c, "SHOW work_mem").as_deref(),
        Some("7MB")
    );
}

fn simple_value_tx(t: &mut postgres::Transaction<'_>, sql: &str) -> String {
    let msgs = t.simple_query(sql).expect(sql);
    msgs.into_iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .expect("one row")
}

/// asyncpg's nested `transaction()` blocks (SAVEPOINT, ROLLBACK TO on an
/// exception, RELEASE on exit): the same output as against PostgreSQL 15
/// (the script was run against both). SET LOCAL is undone by ROLLBACK TO,
/// kept by RELEASE, and ends with the transaction.
#[test]
fn asyncpg_nested_transactions() {
    let srv = TestServer::start(Opts::new());
    let script = r#"import asyncio, sys
try:
    import asyncpg
except ImportError:
    sys.exit("asyncpg is not installed: pip install asyncpg (scripts/test.sh does)")

async def main(host, port, user, database):
    c = await asyncio.wait_for(
        asyncpg.connect(host=host, port=port, user=user,
                        database=database, ssl=False), 10)
    async with c.transaction():
        await c.execute("SET LOCAL work_mem = '5MB'")
        try:
            async with c.transaction():
                await c.execute("SET LOCAL work_mem = '6MB'")
                await c.fetchval("SELECT 1/0")
        except asyncpg.exceptions.DivisionByZeroError as e:
            print("error", e.sqlstate)
        print("after rollback to", await c.fetchval("SHOW work_mem"))
        async with c.transaction():
            async with c.transaction():
                await c.execute("SET LOCAL work_mem = '7MB'")
        print("after release", await c.fetchval("SHOW work_mem"))
        print("in transaction", c.is_in_transaction())
    print("after commit", await c.fetchval("SHOW work_mem"), c.is_in_transaction())
    await c.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
"#;
    let run = run_bounded(
        Command::new("python3").args([
            "-c",
            script,
            "127.0.0.1",
            &srv.port().to_string(),
            SUPERUSER,
            DATABASE,
        ]),
        Duration::from_secs(60),
    );
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    assert_eq!(
        run.stdout,
        "error 22012\nafter rollback to 5MB\nafter release 7MB\nin transaction True\nafter commit 4MB False\n",
        "{}",
        run.describe()
    );
}

/// psql's ON_ERROR_ROLLBACK wraps each statement of a block in its own
/// savepoint (SAVEPOINT / RELEASE, ROLLBACK TO after an error), so an
/// error does not fail the block. Expected: PostgreSQL 15's output.
#[test]
fn psql_on_error_rollback() {
    let srv = TestServer::start(Opts::new());
    let path = srv.tmp_dir().join("onerr.sql");
    std::fs::write(
        &path,
        "BEGIN;\nSET work_mem='5MB';\nSELECT 1/0;\nSHOW work_mem;\nSAVEPOINT a;\n\
         SET work_mem='6MB';\nSELECT 1/0;\nSHOW work_mem;\nROLLBACK TO a;\nSHOW work_mem;\n\
         COMMIT;\nSHOW work_mem;\n",
    )
    .expect("write the script");
    let path = path.display().to_string();
    let r = srv.psql(
        Via::Unix,
        &["-X", "-A", "-t", "-v", "ON_ERROR_ROLLBACK=on", "-f", &path],
    );
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(
        r.stdout,
        "BEGIN\nSET\n5MB\nSAVEPOINT\nSET\n6MB\nROLLBACK\n5MB\nCOMMIT\n5MB\n",
        "{}",
        r.describe()
    );
    assert_eq!(
        r.stderr.replace(&format!("psql:{path}:"), "psql:SCRIPT:"),
        "psql:SCRIPT:3: ERROR:  division by zero\npsql:SCRIPT:7: ERROR:  division by zero\n",
        "{}",
        r.describe()
    );
}

/// A reported setting SET inside a savepoint goes back with ROLLBACK TO,
/// and the client is told (ParameterStatus), as PostgreSQL reports every
/// changed GUC_REPORT value before ReadyForQuery.
#[test]
fn rollback_to_reports_the_restored_setting() {
    let srv = TestServer::start(Opts::new());
    let (mut c, _) = srv.raw_session();
    let params = |msgs: &[Msg]| -> Vec<(String, String)> {
        msgs.iter().filter_map(|m| m.parameter()).collect()
    };
    assert_eq!(simple(&mut c, "BEGIN; SAVEPOINT a"), {
        let mut a = ok("BEGIN", 'T');
        a.tags.push("SAVEPOINT".into());
        a
    });
    c.send(&query_message("SET application_name = 'inner'"))
        .expect("send");
    let msgs = c.read_until_ready();
    assert_eq!(
        params(&msgs),
        [("application_name".to_string(), "inner".to_string())]
    );
    c.send(&query_message("ROLLBACK TO a")).expect("send");
    let msgs = c.read_until_ready();
    assert_eq!(answer(&msgs), ok("ROLLBACK", 'T'));
    assert_eq!(
        params(&msgs),
        [("application_name".to_string(), String::new())]
    );
    // RELEASE keeps a value; the block's COMMIT makes it the session's.
    c.send(&query_message(
        "SAVEPOINT b; SET application_name = 'kept'; RELEASE b; COMMIT",
    ))
    .expect("send");
    let msgs = c.read_until_ready();
    assert_eq!(
        params(&msgs),
        [("application_name".to_string(), "kept".to_string())]
    );
    c.send(&query_message("SHOW application_name"))
        .expect("send");
    let msgs = c.read_until_ready();
    let row = msgs.iter().find(|m| m.tag == b'D').expect("a DataRow");
    // One column: count 1, length 4, "kept".
    assert_eq!(row.body, b"\x00\x01\x00\x00\x00\x04kept");
    assert_eq!(answer(&msgs).status, 'I');
}

/// Rows the transaction wrote before a savepoint stay its own inside it:
/// visible, updatable and deletable there (not taken for another
/// transaction's rows still running, which hid them and made an UPDATE
/// wait on its own transaction for ever), and after ROLLBACK TO.
#[test]
fn rows_written_before_a_savepoint_are_the_transactions_own_inside_it() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    c.batch_execute(
        "CREATE TABLE acct(id int PRIMARY KEY, balance numeric);
         INSERT INTO acct VALUES (1, 0);
         SET statement_timeout = '20s'",
    )
    .unwrap();
    let sum = |t: &mut postgres::Transaction<'_>| -> String {
        simple_value_tx(
            t,
            "SELECT string_agg(id || ':' || balance, ',' ORDER BY id) FROM acct",
        )
    };
    let mut t = c.transaction().expect("BEGIN");
    t.query("SELECT * FROM acct WHERE id = 1 FOR UPDATE", &[])
        .unwrap();
    t.execute("UPDATE acct SET balance = balance + 400 WHERE id = 1", &[])
        .unwrap();
    t.execute("INSERT INTO acct VALUES (2, 2)", &[]).unwrap();
    {
        let mut sp = t.savepoint("sp").expect("SAVEPOINT");
        assert_eq!(sum(&mut sp), "1:400,2:2");
        let n = sp
            .execute("UPDATE acct SET balance = balance - 100 WHERE id = 1", &[])
            .expect("UPDATE of the parent's new row version");
        assert_eq!(n, 1);
        assert_eq!(sp.execute("DELETE FROM acct WHERE id = 2", &[]).unwrap(), 1);
        assert_eq!(sum(&mut sp), "1:300");
        // Dropped: ROLLBACK TO sp.
    }
    assert_eq!(sum(&mut t), "1:400,2:2");
    let rows = t
        .query(
            "SELECT balance::text FROM acct WHERE id = 1 FOR UPDATE",
            &[],
        )
        .expect("FOR UPDATE after ROLLBACK TO");
    assert_eq!(rows[0].get::<_, String>(0), "400");
    t.commit().expect("COMMIT");
    assert_eq!(
        simple_value(&mut c, "SELECT count(*) FROM acct").as_deref(),
        Some("2")
    );
}
