//! Views, materialized views, CREATE TABLE AS / SELECT INTO and temporary tables against the real binary: PostgreSQL 15's tags, column types and error texts, temp tables isolated per session and dropped at disconnect, termination and after a kill -9, and everything surviving a restart.
//!
//! Why end to end: temporary tables live and die with backend processes
//! (disconnect, pg_terminate_backend, a crash), and views must answer
//! through the real catalog after a restart; the texts compared here were
//! taken from PostgreSQL 15 running the same statements.

use crate::util::exec;
use crate::util::{expect_sqlstate, simple_rows, simple_value, wait_until, Opts, TestServer};
use std::time::Duration;

fn rows(c: &mut postgres::Client, sql: &str) -> Vec<Vec<String>> {
    simple_rows(c, sql)
        .into_iter()
        .map(|r| r.into_iter().map(|v| v.unwrap_or_default()).collect())
        .collect()
}

fn value(c: &mut postgres::Client, sql: &str) -> String {
    simple_value(c, sql).unwrap_or_else(|| panic!("{sql}: NULL"))
}

/// The row count of a statement's CommandComplete.
fn count(c: &mut postgres::Client, sql: &str) -> u64 {
    c.simple_query(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::CommandComplete(n) => Some(n),
            _ => None,
        })
        .expect("CommandComplete")
}

#[track_caller]
fn error(
    c: &mut postgres::Client,
    sql: &str,
    code: &str,
    message: &str,
) -> postgres::error::DbError {
    let e = expect_sqlstate(c.batch_execute(sql), &[code]);
    assert_eq!(e.message(), message, "{sql}");
    e
}

#[test]
fn create_table_as_and_select_into_as_postgresql() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE t (a int, b varchar(5), n numeric(6,2))",
    );
    exec(
        &mut c,
        "INSERT INTO t VALUES (1,'x',1.5),(2,'y',2),(3,'z',NULL)",
    );
    assert_eq!(
        count(
            &mut c,
            "CREATE TABLE c AS SELECT a, b, n, 'lit' AS l, a * 2 FROM t"
        ),
        3
    );
    // Types from the query, typmods kept, an unknown literal as text,
    // PostgreSQL's ?column? name.
    assert_eq!(
        rows(
            &mut c,
            "SELECT attname, atttypid, atttypmod FROM pg_attribute \
             WHERE attrelid = (SELECT oid FROM pg_class WHERE relname = 'c') AND attnum > 0 \
             ORDER BY attnum"
        ),
        vec![
            vec!["a".to_string(), "23".into(), "-1".into()],
            vec!["b".into(), "1043".into(), "9".into()],
            vec!["n".into(), "1700".into(), "393222".into()],
            vec!["l".into(), "25".into(), "-1".into()],
            vec!["?column?".into(), "23".into(), "-1".into()],
        ]
    );
    assert_eq!(value(&mut c, "SELECT sum(a) FROM c"), "6");
    // SELECT INTO [TEMP], column names, WITH NO DATA, IF NOT EXISTS.
    assert_eq!(count(&mut c, "SELECT a, b INTO c2 FROM t WHERE a > 1"), 2);
    assert_eq!(
        rows(&mut c, "SELECT b FROM c2 ORDER BY a"),
        vec![vec!["y".to_string()], vec!["z".to_string()]]
    );
    exec(
        &mut c,
        "CREATE TABLE c3 (x, y) AS SELECT a, b FROM t WITH NO DATA",
    );
    assert_eq!(value(&mut c, "SELECT count(*) FROM c3"), "0");
    assert_eq!(
        rows(&mut c, "SELECT x, y FROM c3"),
        Vec::<Vec<String>>::new()
    );
    exec(&mut c, "CREATE TABLE IF NOT EXISTS c3 AS SELECT 1");
    error(
        &mut c,
        "CREATE TABLE c3 AS SELECT 1",
        "42P07",
        "relation \"c3\" already exists",
    );
    error(
        &mut c,
        "CREATE TABLE c4 (x, y, z) AS SELECT 1, 2",
        "42601",
        "too many column names were specified",
    );
    error(
        &mut c,
        "CREATE TABLE c4 AS SELECT 1 AS a, 2 AS a",
        "42701",
        "column \"a\" specified more than once",
    );
    // Tags as psql prints them.
    let out = srv.psql(
        crate::util::Via::Tcp,
        &[
            "-X",
            "-c",
            "CREATE TABLE p1 AS SELECT * FROM t",
            "-c",
            "CREATE TABLE p2 AS SELECT * FROM t WITH NO DATA",
            "-c",
            "SELECT * INTO p3 FROM t",
        ],
    );
    assert_eq!(
        out.stdout,
        "SELECT 3\nCREATE TABLE AS\nSELECT 3\n",
        "{}",
        out.describe()
    );
}

#[test]
fn temp_tables_are_private_and_dropped_at_disconnect_and_termination() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut b = srv.connect();
    exec(&mut a, "CREATE TEMP TABLE tt (q int PRIMARY KEY)");
    exec(&mut a, "INSERT INTO tt VALUES (1), (2)");
    exec(
        &mut a,
        "CREATE TEMPORARY TABLE tc AS SELECT q * 10 AS r FROM tt",
    );
    assert_eq!(value(&mut a, "SELECT sum(r) FROM pg_temp.tc"), "30");
    // A temporary sequence (not owned by a table) goes with the session
    // too: a DROP TABLE of it failed the clean-up, left it behind, and the
    // next session of the slot could create no temporary relation.
    exec(&mut a, "CREATE TEMP SEQUENCE ts");
    assert_eq!(value(&mut a, "SELECT nextval('ts')"), "1");
    assert_eq!(value(&mut a, "SELECT q FROM tt WHERE q = 2"), "2");
    let a_ns = value(
        &mut a,
        "SELECT nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid \
         WHERE c.relname = 'tt'",
    );
    assert!(a_ns.starts_with("pg_temp_"), "{a_ns}");
    assert_eq!(
        value(
            &mut a,
            "SELECT relpersistence FROM pg_class WHERE relname = 'tt'"
        ),
        "t"
    );
    // Another session does not see it, and has its own.
    error(
        &mut b,
        "SELECT * FROM tt",
        "42P01",
        "relation \"tt\" does not exist",
    );
    // A temporary view as a session's first temporary relation makes its
    // temporary schema as a table does.
    exec(&mut b, "CREATE TEMP VIEW bv AS SELECT 1 AS one");
    assert_eq!(value(&mut b, "SELECT one FROM pg_temp.bv"), "1");
    exec(&mut b, "CREATE TEMP TABLE tt (other text)");
    exec(&mut b, "INSERT INTO tt VALUES ('b')");
    assert_eq!(value(&mut b, "SELECT other FROM tt"), "b");
    assert_eq!(value(&mut a, "SELECT count(*) FROM tt"), "2");
    // A temp table hides a permanent one of its name.
    exec(&mut b, "CREATE TABLE perm (x int)");
    exec(&mut b, "CREATE TEMP TABLE perm (y int)");
    assert_eq!(value(&mut b, "SELECT attname FROM pg_attribute WHERE attrelid = (SELECT oid FROM pg_class WHERE relname = 'perm' AND relpersistence = 't') AND attnum = 1"), "y");
    exec(&mut b, "INSERT INTO perm VALUES (7)");
    assert_eq!(value(&mut b, "SELECT y FROM perm"), "7");
    assert_eq!(value(&mut b, "SELECT count(*) FROM public.perm"), "0");
    error(
        &mut b,
        "CREATE TEMP TABLE public.bad (a int)",
        "42P16",
        "cannot create temporary relation in non-temporary schema",
    );
    // Disconnecting drops a's relations (the index, the CTAS table and the
    // sequence too).
    let in_ns = format!(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON c.relnamespace = n.oid \
         WHERE n.nspname = '{a_ns}'"
    );
    assert_eq!(value(&mut b, &in_ns), "4");
    drop(a);
    assert!(
        wait_until(Duration::from_secs(20), || value(&mut b, &in_ns) == "0"),
        "temp relations of a closed session are still there"
    );
    // Terminated by pg_terminate_backend: dropped too.
    let mut d = srv.connect();
    exec(&mut d, "CREATE TEMP TABLE gone (a int)");
    let d_ns = value(
        &mut d,
        "SELECT nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid \
         WHERE c.relname = 'gone'",
    );
    let pid = value(&mut d, "SELECT pg_backend_pid()");
    assert_eq!(
        value(&mut b, &format!("SELECT pg_terminate_backend({pid})")),
        "t"
    );
    let q = format!(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON c.relnamespace = n.oid \
         WHERE n.nspname = '{d_ns}'"
    );
    assert!(
        wait_until(Duration::from_secs(20), || value(&mut b, &q) == "0"),
        "temp relations of a terminated session are still there"
    );
}

#[test]
fn temp_files_of_a_killed_session_are_removed() {
    let mut srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    exec(&mut a, "CREATE TEMP TABLE k (a int)");
    exec(&mut a, "INSERT INTO k VALUES (1)");
    exec(&mut a, "CHECKPOINT");
    let node = value(
        &mut a,
        "SELECT relfilenode FROM pg_class WHERE relname = 'k'",
    );
    let a_ns = value(
        &mut a,
        "SELECT nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid \
         WHERE c.relname = 'k'",
    );
    let db = value(
        &mut a,
        "SELECT oid FROM pg_database WHERE datname = current_database()",
    );
    let file = srv.data_dir().join("base").join(&db).join(&node);
    assert!(file.exists(), "{}", file.display());
    // Killed with the session open: nothing ran at its end.
    srv.kill9_postmaster();
    drop(a);
    srv.start_postmaster();
    {
        let mut c = srv.connect();
        assert_eq!(
            value(&mut c, "SELECT count(*) FROM pg_class WHERE relname = 'k'"),
            "1"
        );
    }
    // The first session of the same backend slot empties the namespace
    // left behind when it first uses it (PostgreSQL's
    // InitTempTableNamespace): rows and file go. Slots are handed out
    // lowest first, so a new session gets a's slot once the others ended.
    let mut n = 0;
    let mut used = String::new();
    let got = wait_until(Duration::from_secs(20), || {
        n += 1;
        let mut s = srv.connect();
        exec(&mut s, &format!("CREATE TEMP TABLE k2_{n} (a int)"));
        used = value(
            &mut s,
            &format!(
                "SELECT nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid \
                 WHERE c.relname = 'k2_{n}'"
            ),
        );
        if used != a_ns {
            return false;
        }
        assert_eq!(
            value(&mut s, "SELECT count(*) FROM pg_class WHERE relname = 'k'"),
            "0"
        );
        true
    });
    assert!(got, "no session got the slot of {a_ns} (last: {used})");
    assert!(!file.exists(), "{} still there", file.display());
}

#[test]
fn views_join_replace_depend_and_survive_restart() {
    let mut srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(&mut c, "CREATE TABLE t (a int, b text)");
    exec(&mut c, "INSERT INTO t VALUES (1,'x'),(2,'y'),(3,'z')");
    exec(&mut c, "CREATE VIEW v AS SELECT a, b FROM t WHERE a >= 2");
    assert_eq!(
        rows(&mut c, "SELECT * FROM v ORDER BY a"),
        vec![
            vec!["2".to_string(), "y".into()],
            vec!["3".into(), "z".into()]
        ]
    );
    // In joins, with an alias, with the view's own column names.
    exec(
        &mut c,
        "CREATE VIEW w (k, label) AS SELECT a, upper(b) FROM t",
    );
    assert_eq!(
        rows(
            &mut c,
            "SELECT v.a, x.label FROM v JOIN w x ON x.k = v.a ORDER BY 1"
        ),
        vec![
            vec!["2".to_string(), "Y".into()],
            vec!["3".into(), "Z".into()]
        ]
    );
    assert_eq!(
        value(&mut c, "SELECT relkind FROM pg_class WHERE relname = 'v'"),
        "v"
    );
    assert_eq!(
        value(
            &mut c,
            "SELECT ev_action FROM pg_rewrite WHERE ev_class = (SELECT oid FROM pg_class WHERE relname = 'v')"
        ),
        "SELECT a, b FROM t WHERE a >= 2"
    );
    // pg_get_viewdef: deparsed as PostgreSQL prints it (viewdef.rs).
    assert_eq!(
        value(&mut c, "SELECT pg_get_viewdef('v')"),
        " SELECT t.a,\n    t.b\n   FROM t\n  WHERE (t.a >= 2);"
    );
    assert_eq!(
        value(
            &mut c,
            "SELECT pg_get_viewdef(oid, true) FROM pg_class WHERE relname = 'w'"
        ),
        " SELECT t.a AS k,\n    upper(t.b) AS label\n   FROM t;"
    );
    // OR REPLACE: columns may be added at the end only.
    exec(
        &mut c,
        "CREATE OR REPLACE VIEW v AS SELECT a, b, a + 1 AS c FROM t WHERE a >= 2",
    );
    assert_eq!(value(&mut c, "SELECT sum(c) FROM v"), "7");
    error(
        &mut c,
        "CREATE OR REPLACE VIEW v AS SELECT a FROM t",
        "42P16",
        "cannot drop columns from view",
    );
    error(
        &mut c,
        "CREATE OR REPLACE VIEW v AS SELECT b, a, a + 1 AS c FROM t",
        "42P16",
        "cannot change name of view column \"a\" to \"b\"",
    );
    error(
        &mut c,
        "CREATE VIEW v AS SELECT 1",
        "42P07",
        "relation \"v\" already exists",
    );
    // Dependencies: PostgreSQL's 2BP01 with DETAIL and HINT.
    exec(&mut c, "CREATE VIEW vv AS SELECT * FROM v WHERE a = 3");
    let e = error(
        &mut c,
        "DROP TABLE t",
        "2BP01",
        "cannot drop table t because other objects depend on it",
    );
    assert_eq!(
        e.detail(),
        Some("view v depends on table t\nview vv depends on view v\nview w depends on table t")
    );
    assert_eq!(
        e.hint(),
        Some("Use DROP ... CASCADE to drop the dependent objects too.")
    );
    error(&mut c, "DROP VIEW t", "42809", "\"t\" is not a view");
    error(&mut c, "DROP TABLE v", "42809", "\"v\" is not a table");
    error(
        &mut c,
        "DROP VIEW nope",
        "42P01",
        "view \"nope\" does not exist",
    );
    exec(&mut c, "DROP VIEW IF EXISTS nope");
    // Everything survives a restart.
    drop(c);
    srv.stop_with(libc::SIGINT);
    srv.start_postmaster();
    let mut c = srv.connect();
    assert_eq!(value(&mut c, "SELECT b FROM vv"), "z");
    exec(&mut c, "DROP VIEW v CASCADE");
    assert_eq!(
        value(
            &mut c,
            "SELECT count(*) FROM pg_class WHERE relname IN ('v', 'vv')"
        ),
        "0"
    );
    assert_eq!(
        value(
            &mut c,
            "SELECT count(*) FROM pg_depend WHERE classid = 2618"
        ),
        "1"
    );
    exec(&mut c, "DROP TABLE t CASCADE");
    assert_eq!(value(&mut c, "SELECT count(*) FROM pg_rewrite"), "0");
}

#[test]
fn materialized_views_refresh() {
    let mut srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(&mut c, "CREATE TABLE t (a int)");
    exec(&mut c, "INSERT INTO t VALUES (1), (2)");
    assert_eq!(
        count(
            &mut c,
            "CREATE MATERIALIZED VIEW m AS SELECT a * 10 AS x FROM t"
        ),
        2
    );
    exec(&mut c, "INSERT INTO t VALUES (3)");
    assert_eq!(value(&mut c, "SELECT sum(x) FROM m"), "30");
    exec(&mut c, "REFRESH MATERIALIZED VIEW m");
    assert_eq!(value(&mut c, "SELECT sum(x) FROM m"), "60");
    assert_eq!(
        value(&mut c, "SELECT relkind FROM pg_class WHERE relname = 'm'"),
        "m"
    );
    // A refresh rolled back leaves the old rows.
    exec(
        &mut c,
        "BEGIN; INSERT INTO t VALUES (4); REFRESH MATERIALIZED VIEW m; ROLLBACK",
    );
    assert_eq!(value(&mut c, "SELECT sum(x) FROM m"), "60");
    let e = error(&mut c, "DROP TABLE m", "42809", "\"m\" is not a table");
    assert_eq!(
        e.hint(),
        Some("Use DROP MATERIALIZED VIEW to remove a materialized view.")
    );
    drop(c);
    srv.stop_with(libc::SIGINT);
    srv.start_postmaster();
    let mut c = srv.connect();
    assert_eq!(value(&mut c, "SELECT sum(x) FROM m"), "60");
    exec(&mut c, "INSERT INTO t VALUES (5)");
    exec(&mut c, "REFRESH MATERIALIZED VIEW m");
    assert_eq!(value(&mut c, "SELECT sum(x) FROM m"), "110");
    exec(&mut c, "DROP MATERIALIZED VIEW m");
    assert_eq!(value(&mut c, "SELECT count(*) FROM pg_rewrite"), "0");
}
