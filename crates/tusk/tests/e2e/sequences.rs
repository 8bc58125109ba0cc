//! Sequences, serial columns and the sequence functions against the real binary: PostgreSQL 15's answers for options and errors, nextval's nontransactional behaviour, distinct values across sessions, serial inserts with RETURNING through the postgres crate, and no value given twice after kill -9 of the postmaster.
//!
//! Why end to end: what a client must see is PostgreSQL's text and
//! SQLSTATE for each error, and values that never repeat whatever
//! happened to the server; the texts here were taken from PostgreSQL 15.

use crate::util::exec;
use crate::util::{expect_sqlstate, simple_rows, simple_value, wait_until, Opts, TestServer};
use std::time::Duration;

fn value(c: &mut postgres::Client, sql: &str) -> String {
    simple_value(c, sql).unwrap_or_else(|| panic!("{sql}: NULL"))
}

fn int(c: &mut postgres::Client, sql: &str) -> i64 {
    value(c, sql)
        .parse()
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[track_caller]
fn error(c: &mut postgres::Client, sql: &str, code: &str, message: &str) {
    let e = expect_sqlstate(c.batch_execute(sql), &[code]);
    assert_eq!(e.message(), message, "{sql}");
}

#[test]
fn options_functions_and_errors_as_postgresql() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(&mut c, "CREATE SEQUENCE s MAXVALUE 3");
    error(
        &mut c,
        "SELECT currval('s')",
        "55000",
        "currval of sequence \"s\" is not yet defined in this session",
    );
    error(
        &mut c,
        "SELECT lastval()",
        "55000",
        "lastval is not yet defined in this session",
    );
    assert_eq!(int(&mut c, "SELECT nextval('s')"), 1);
    assert_eq!(int(&mut c, "SELECT nextval('s'::regclass)"), 2);
    assert_eq!(int(&mut c, "SELECT currval('s')"), 2);
    assert_eq!(int(&mut c, "SELECT lastval()"), 2);
    assert_eq!(int(&mut c, "SELECT nextval('public.s')"), 3);
    error(
        &mut c,
        "SELECT nextval('s')",
        "2200H",
        "nextval: reached maximum value of sequence \"s\" (3)",
    );
    assert_eq!(
        simple_rows(&mut c, "SELECT last_value, is_called FROM s"),
        vec![vec![Some("3".into()), Some("t".into())]]
    );
    // setval with and without is_called.
    assert_eq!(int(&mut c, "SELECT setval('s', 1)"), 1);
    assert_eq!(int(&mut c, "SELECT nextval('s')"), 2);
    assert_eq!(int(&mut c, "SELECT setval('s', 1, false)"), 1);
    assert_eq!(int(&mut c, "SELECT nextval('s')"), 1);
    error(
        &mut c,
        "SELECT setval('s', 10)",
        "22003",
        "setval: value 10 is out of bounds for sequence \"s\" (1..3)",
    );
    // CYCLE wraps; ALTER ... RESTART starts again.
    exec(&mut c, "ALTER SEQUENCE s CYCLE");
    assert_eq!(int(&mut c, "SELECT setval('s', 3)"), 3);
    assert_eq!(int(&mut c, "SELECT nextval('s')"), 1);
    exec(
        &mut c,
        "ALTER SEQUENCE s NO CYCLE MAXVALUE 100 RESTART WITH 50",
    );
    assert_eq!(int(&mut c, "SELECT nextval('s')"), 50);
    // The catalog row, as pg_dump reads it.
    assert_eq!(
        simple_rows(
            &mut c,
            "SELECT seqtypid, seqstart, seqincrement, seqmax, seqmin, seqcache, seqcycle \
             FROM pg_sequence JOIN pg_class ON seqrelid = pg_class.oid WHERE relname = 's'"
        ),
        vec![["20", "1", "1", "100", "1", "1", "f"]
            .iter()
            .map(|v| Some(v.to_string()))
            .collect::<Vec<_>>()]
    );
    assert_eq!(
        value(&mut c, "SELECT relkind FROM pg_class WHERE relname = 's'"),
        "S"
    );
    // Descending, AS type, and option errors with PostgreSQL's texts.
    exec(&mut c, "CREATE SEQUENCE d INCREMENT BY -2 AS smallint");
    assert_eq!(int(&mut c, "SELECT nextval('d')"), -1);
    assert_eq!(int(&mut c, "SELECT nextval('d')"), -3);
    assert_eq!(
        value(&mut c, "SELECT seqmin FROM pg_sequence JOIN pg_class ON seqrelid = pg_class.oid WHERE relname = 'd'"),
        "-32768"
    );
    error(
        &mut c,
        "CREATE SEQUENCE s",
        "42P07",
        "relation \"s\" already exists",
    );
    exec(&mut c, "CREATE SEQUENCE IF NOT EXISTS s");
    error(
        &mut c,
        "CREATE SEQUENCE e INCREMENT 0",
        "22023",
        "INCREMENT must not be zero",
    );
    error(
        &mut c,
        "CREATE SEQUENCE e MINVALUE 10 MAXVALUE 5",
        "22023",
        "MINVALUE (10) must be less than MAXVALUE (5)",
    );
    error(
        &mut c,
        "CREATE SEQUENCE e START 0",
        "22023",
        "START value (0) cannot be less than MINVALUE (1)",
    );
    error(
        &mut c,
        "CREATE SEQUENCE e AS smallint MAXVALUE 100000",
        "22023",
        "MAXVALUE (100000) is out of range for sequence data type smallint",
    );
    error(
        &mut c,
        "CREATE SEQUENCE e AS text",
        "22023",
        "sequence type must be smallint, integer, or bigint",
    );
    error(
        &mut c,
        "SELECT nextval('nosuch')",
        "42P01",
        "relation \"nosuch\" does not exist",
    );
    exec(&mut c, "CREATE TABLE notseq (a int)");
    error(
        &mut c,
        "SELECT nextval('notseq')",
        "42809",
        "\"notseq\" is not a sequence",
    );
    error(
        &mut c,
        "DROP SEQUENCE nosuch",
        "42P01",
        "sequence \"nosuch\" does not exist",
    );
    exec(&mut c, "DROP SEQUENCE IF EXISTS nosuch");
    // The one row belongs to nextval.
    error(
        &mut c,
        "UPDATE d SET log_cnt = 1",
        "42809",
        "cannot change sequence \"d\"",
    );
    error(
        &mut c,
        "DELETE FROM d",
        "42809",
        "cannot change sequence \"d\"",
    );
    error(&mut c, "TRUNCATE d", "42809", "\"d\" is not a table");
    error(&mut c, "DROP TABLE d", "42809", "\"d\" is not a table");
    exec(&mut c, "ALTER SEQUENCE d RENAME TO d2");
    assert_eq!(int(&mut c, "SELECT nextval('d2')"), -5);
    exec(&mut c, "DROP SEQUENCE s, d2");
    error(
        &mut c,
        "SELECT nextval('s')",
        "42P01",
        "relation \"s\" does not exist",
    );
    error(
        &mut c,
        "SELECT lastval()",
        "55000",
        "lastval is not yet defined in this session",
    );
}

/// nextval is not undone by ROLLBACK, and a sequence created in a
/// rolled-back transaction is gone.
#[test]
fn nextval_is_nontransactional() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(&mut c, "CREATE SEQUENCE s");
    exec(&mut c, "BEGIN");
    assert_eq!(int(&mut c, "SELECT nextval('s')"), 1);
    assert_eq!(int(&mut c, "SELECT nextval('s')"), 2);
    exec(&mut c, "ROLLBACK");
    assert_eq!(int(&mut c, "SELECT nextval('s')"), 3);
    assert_eq!(int(&mut c, "SELECT currval('s')"), 3);
    exec(
        &mut c,
        "BEGIN; CREATE SEQUENCE gone; SELECT nextval('gone'); ROLLBACK",
    );
    let e = expect_sqlstate(c.batch_execute("SELECT nextval('gone')"), &["42P01"]);
    assert_eq!(e.message(), "relation \"gone\" does not exist");
}

/// Sessions share the page: interleaved and concurrent nextval calls
/// never hand out one value twice.
#[test]
fn sessions_get_distinct_values() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut b = srv.connect();
    exec(&mut a, "CREATE SEQUENCE s; CREATE SEQUENCE cached CACHE 10");
    assert_eq!(int(&mut a, "SELECT nextval('s')"), 1);
    assert_eq!(int(&mut b, "SELECT nextval('s')"), 2);
    assert_eq!(int(&mut a, "SELECT nextval('s')"), 3);
    assert_eq!(int(&mut b, "SELECT currval('s')"), 2);
    // CACHE 10: each session takes ten values at once, as PostgreSQL.
    assert_eq!(int(&mut a, "SELECT nextval('cached')"), 1);
    assert_eq!(int(&mut b, "SELECT nextval('cached')"), 11);
    assert_eq!(int(&mut a, "SELECT nextval('cached')"), 2);
    let mut all: Vec<i64> = Vec::new();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let mut c = srv.connect();
            std::thread::spawn(move || {
                let st = c.prepare("SELECT nextval('s')").unwrap();
                (0..100)
                    .map(|_| c.query_one(&st, &[]).unwrap().get::<_, i64>(0))
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    for h in handles {
        all.extend(h.join().expect("a client thread"));
    }
    all.sort_unstable();
    let n = all.len();
    all.dedup();
    assert_eq!(all.len(), n, "a value was handed out twice");
    assert_eq!(all.len(), 400);
    assert!(all.iter().all(|&v| v > 3));
}

/// serial and bigserial columns: the sequence, its DEFAULT and ownership
/// as PostgreSQL makes them; inserts with RETURNING; DROP TABLE takes the
/// sequence along; TRUNCATE ... RESTART IDENTITY.
#[test]
fn serial_columns() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE t (id serial PRIMARY KEY, big bigserial, v text)",
    );
    let ins = c
        .prepare("INSERT INTO t (v) VALUES ($1) RETURNING id, big")
        .unwrap();
    for (i, v) in ["a", "b", "c"].iter().enumerate() {
        let r = c.query_one(&ins, &[v]).unwrap();
        assert_eq!(r.get::<_, i32>(0), i as i32 + 1);
        assert_eq!(r.get::<_, i64>(1), i as i64 + 1);
    }
    assert_eq!(
        value(&mut c, "SELECT pg_get_serial_sequence('t', 'id')"),
        "public.t_id_seq"
    );
    assert_eq!(
        value(
            &mut c,
            "SELECT adbin FROM pg_attrdef WHERE adnum = 1 \
             AND adrelid = (SELECT oid FROM pg_class WHERE relname = 't')"
        ),
        "nextval('t_id_seq'::regclass)"
    );
    assert_eq!(
        value(
            &mut c,
            "SELECT seqtypid FROM pg_sequence JOIN pg_class ON seqrelid = pg_class.oid \
             WHERE relname = 't_id_seq'"
        ),
        "23"
    );
    assert_eq!(
        value(
            &mut c,
            "SELECT attnotnull FROM pg_attribute WHERE attname = 'big'"
        ),
        "t"
    );
    assert_eq!(int(&mut c, "SELECT currval('t_id_seq')"), 3);
    let e = expect_sqlstate(
        c.batch_execute("INSERT INTO t (id, v) VALUES (NULL, 'x')"),
        &["23502"],
    );
    assert_eq!(
        e.message(),
        "null value in column \"id\" of relation \"t\" violates not-null constraint"
    );
    exec(&mut c, "TRUNCATE t RESTART IDENTITY");
    assert_eq!(
        int(&mut c, "INSERT INTO t (v) VALUES ('d') RETURNING id"),
        1
    );
    exec(&mut c, "DROP TABLE t");
    assert_eq!(
        value(
            &mut c,
            "SELECT count(*) FROM pg_class WHERE relname LIKE 't_%_seq'"
        ),
        "0"
    );
    assert_eq!(value(&mut c, "SELECT count(*) FROM pg_sequence"), "0");
    // A serial's sequence cannot go alone (PostgreSQL's dependency).
    exec(&mut c, "CREATE TABLE u (id serial, v text)");
    let e = expect_sqlstate(c.batch_execute("DROP SEQUENCE u_id_seq"), &["2BP01"]);
    assert_eq!(
        e.message(),
        "cannot drop sequence u_id_seq because other objects depend on it"
    );
    assert_eq!(
        e.detail(),
        Some("default value for column id of table u depends on sequence u_id_seq")
    );
    exec(&mut c, "DROP SEQUENCE u_id_seq CASCADE");
    exec(&mut c, "INSERT INTO u (id, v) VALUES (7, 'x')");
    let e = expect_sqlstate(
        c.batch_execute("INSERT INTO u (v) VALUES ('y')"),
        &["23502"],
    );
    assert_eq!(
        e.message(),
        "null value in column \"id\" of relation \"u\" violates not-null constraint"
    );
}

/// GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY: attidentity, the owned
/// sequence with its options, 428C9 for a value given to an ALWAYS
/// column.
#[test]
fn identity_columns() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE i (a int GENERATED ALWAYS AS IDENTITY, \
         b bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 10 INCREMENT BY 5), v text)",
    );
    let ins = c
        .prepare("INSERT INTO i (v) VALUES ($1) RETURNING a, b")
        .unwrap();
    let r = c.query_one(&ins, &[&"x"]).unwrap();
    assert_eq!((r.get::<_, i32>(0), r.get::<_, i64>(1)), (1, 10));
    let r = c.query_one(&ins, &[&"y"]).unwrap();
    assert_eq!((r.get::<_, i32>(0), r.get::<_, i64>(1)), (2, 15));
    exec(&mut c, "INSERT INTO i (b, v) VALUES (100, 'z')");
    exec(&mut c, "INSERT INTO i (a, v) VALUES (DEFAULT, 'w')");
    let e = expect_sqlstate(
        c.batch_execute("INSERT INTO i (a, v) VALUES (5, 'q')"),
        &["428C9"],
    );
    assert_eq!(
        e.message(),
        "cannot insert a non-DEFAULT value into column \"a\""
    );
    assert_eq!(
        e.detail(),
        Some("Column \"a\" is an identity column defined as GENERATED ALWAYS.")
    );
    assert_eq!(e.hint(), Some("Use OVERRIDING SYSTEM VALUE to override."));
    exec(
        &mut c,
        "INSERT INTO i (a, v) OVERRIDING SYSTEM VALUE VALUES (50, 'sys')",
    );
    exec(
        &mut c,
        "INSERT INTO i (b, v) OVERRIDING USER VALUE VALUES (999, 'usr')",
    );
    assert_eq!(
        simple_rows(
            &mut c,
            "SELECT a, b FROM i WHERE v IN ('sys', 'usr') ORDER BY v"
        ),
        vec![
            vec![Some("50".into()), Some("25".into())],
            vec![Some("5".into()), Some("30".into())],
        ]
    );
    exec(&mut c, "DELETE FROM i WHERE v IN ('sys', 'usr')");
    // A sequence change is a write: refused in a read-only transaction.
    exec(&mut c, "BEGIN READ ONLY");
    let e = expect_sqlstate(c.batch_execute("SELECT nextval('i_a_seq')"), &["25006"]);
    assert_eq!(
        e.message(),
        "cannot execute nextval() in a read-only transaction"
    );
    exec(&mut c, "ROLLBACK");
    assert_eq!(
        simple_rows(
            &mut c,
            "SELECT attname, attidentity, attnotnull FROM pg_attribute \
             WHERE attrelid = (SELECT oid FROM pg_class WHERE relname = 'i') AND attnum > 0 \
             ORDER BY attnum"
        ),
        vec![
            vec![Some("a".into()), Some("a".into()), Some("t".into())],
            vec![Some("b".into()), Some("d".into()), Some("t".into())],
            vec![Some("v".into()), Some("".into()), Some("f".into())],
        ]
    );
    assert_eq!(
        value(&mut c, "SELECT pg_get_serial_sequence('i', 'b')"),
        "public.i_b_seq"
    );
    assert_eq!(
        simple_rows(&mut c, "SELECT a, b, v FROM i ORDER BY a"),
        vec![
            vec![Some("1".into()), Some("10".into()), Some("x".into())],
            vec![Some("2".into()), Some("15".into()), Some("y".into())],
            vec![Some("3".into()), Some("100".into()), Some("z".into())],
            vec![Some("4".into()), Some("20".into()), Some("w".into())],
        ]
    );
    exec(&mut c, "DROP TABLE i");
    assert_eq!(value(&mut c, "SELECT count(*) FROM pg_sequence"), "0");
    // ALTER TABLE ... ADD GENERATED, with PostgreSQL's refusals.
    exec(
        &mut c,
        "CREATE TABLE ai (a int, b int NOT NULL DEFAULT 1, c int NOT NULL, d text NOT NULL)",
    );
    error(
        &mut c,
        "ALTER TABLE ai ALTER COLUMN a ADD GENERATED ALWAYS AS IDENTITY",
        "55000",
        "column \"a\" of relation \"ai\" must be declared NOT NULL before identity can be added",
    );
    error(
        &mut c,
        "ALTER TABLE ai ALTER COLUMN b ADD GENERATED ALWAYS AS IDENTITY",
        "55000",
        "column \"b\" of relation \"ai\" already has a default value",
    );
    error(
        &mut c,
        "ALTER TABLE ai ALTER COLUMN d ADD GENERATED ALWAYS AS IDENTITY",
        "22023",
        "identity column type must be smallint, integer, or bigint",
    );
    exec(
        &mut c,
        "ALTER TABLE ai ALTER COLUMN c ADD GENERATED BY DEFAULT AS IDENTITY (START WITH 7)",
    );
    error(
        &mut c,
        "ALTER TABLE ai ALTER COLUMN c ADD GENERATED ALWAYS AS IDENTITY",
        "55000",
        "column \"c\" of relation \"ai\" is already an identity column",
    );
    assert_eq!(
        int(&mut c, "INSERT INTO ai (b, d) VALUES (1, 'x') RETURNING c"),
        7
    );
    assert_eq!(
        value(&mut c, "SELECT pg_get_serial_sequence('ai', 'c')"),
        "public.ai_c_seq"
    );
}

/// kill -9 of the postmaster after nextval calls: after recovery the next
/// value is past every value handed out before (values are logged 32
/// ahead and flushed before they are returned).
#[test]
fn no_value_twice_after_kill9() {
    let mut srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE SEQUENCE s; CREATE SEQUENCE big INCREMENT 1000 CACHE 5",
    );
    let mut max = 0;
    for i in 0..70 {
        max = int(&mut c, "SELECT nextval('s')");
        if i == 40 {
            exec(&mut c, "CHECKPOINT");
        }
    }
    assert_eq!(max, 70);
    let mut max_big = 0;
    for _ in 0..12 {
        max_big = int(&mut c, "SELECT nextval('big')");
    }
    // A rolled-back nextval is not given again either.
    exec(&mut c, "BEGIN");
    let rolled = int(&mut c, "SELECT nextval('s')");
    exec(&mut c, "ROLLBACK");
    drop(c);
    let kids = srv.children();
    srv.kill9_postmaster();
    assert!(wait_until(Duration::from_secs(20), || kids
        .iter()
        .all(|p| !p.is_running())));
    srv.start_postmaster();
    let mut c = srv.connect();
    let next = int(&mut c, "SELECT nextval('s')");
    assert!(next > rolled && next > max, "{next} after {rolled}");
    let next_big = int(&mut c, "SELECT nextval('big')");
    assert!(next_big > max_big, "{next_big} after {max_big}");
    // And again, without a new checkpoint in between.
    drop(c);
    let kids = srv.children();
    srv.kill9_postmaster();
    assert!(wait_until(Duration::from_secs(20), || kids
        .iter()
        .all(|p| !p.is_running())));
    srv.start_postmaster();
    let mut c = srv.connect();
    let again = int(&mut c, "SELECT nextval('s')");
    assert!(again > next, "{again} after {next}");
}
