//! Partial and expression indexes against the real binary: the same script run by psql 15 against PostgreSQL 15 and against tusk prints the same rows, definitions and errors; the planner's use of the indexes and their survival of a crash are checked apart.
//!
//! Why end to end: what such an index holds (only the predicate's rows,
//! keys computed by its expressions) is only visible through its effects
//! on uniqueness errors, query results and the catalogs psql reads
//! (pg_index.indexprs / indpred through pg_get_indexdef and `\d`). The
//! expected output is PostgreSQL 15's for partial_index.sql (`psql -X -A
//! -t -f`, script path in stderr replaced by SCRIPT). EXPLAIN is checked
//! by assertions rather than compared: PostgreSQL picks bitmap scans
//! where tusk has plain index scans.

use crate::util::{Opts, TestServer, Via};

const SCRIPT: &str = include_str!("partial_index.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 500
CREATE INDEX
CREATE INDEX
CREATE INDEX
CREATE INDEX
CREATE INDEX
CREATE INDEX
items_big|CREATE INDEX items_big ON public.items USING btree (id) WHERE (qty > 40)|CREATE INDEX items_big ON items USING btree (id) WHERE qty > 40|id
items_email_lower|CREATE UNIQUE INDEX items_email_lower ON public.items USING btree (lower(email))|CREATE UNIQUE INDEX items_email_lower ON items USING btree (lower(email))|lower(email)
items_expr_idx|CREATE INDEX items_expr_idx ON public.items USING btree ((((qty * 2) + 1)))|CREATE INDEX items_expr_idx ON items USING btree ((qty * 2 + 1))|(qty * 2 + 1)
items_live_qty|CREATE INDEX items_live_qty ON public.items USING btree (qty) WHERE (NOT deleted)|CREATE INDEX items_live_qty ON items USING btree (qty) WHERE NOT deleted|qty
items_owner_id_idx|CREATE INDEX items_owner_id_idx ON public.items USING btree (((owner)::character varying), id DESC) WHERE ((id > 400) OR (qty < 2))|CREATE INDEX items_owner_id_idx ON items USING btree ((owner::character varying), id DESC) WHERE id > 400 OR qty < 2|(owner::character varying)
items_owner_live|CREATE UNIQUE INDEX items_owner_live ON public.items USING btree (owner, qty) WHERE ((deleted IS NOT TRUE) AND (id > 490))|CREATE UNIQUE INDEX items_owner_live ON items USING btree (owner, qty) WHERE deleted IS NOT TRUE AND id > 490|owner
items_big|1|1|f|f|t
items_email_lower|1|0|t|t|f
items_expr_idx|1|0|f|t|f
items_live_qty|1|4|f|f|t
items_owner_id_idx|2|0 1|f|t|t
items_owner_live|2|2 4|t|f|t
items_big|1|id|integer
items_email_lower|1|lower|text
items_expr_idx|1|expr|integer
items_live_qty|1|qty|integer
items_owner_id_idx|1|owner|character varying
items_owner_id_idx|2|id|integer
items_owner_live|1|owner|text
items_owner_live|2|qty|integer
items_big|CREATE INDEX items_big ON public.items USING btree (id) WHERE (qty > 40)
items_email_lower|CREATE UNIQUE INDEX items_email_lower ON public.items USING btree (lower(email))
items_expr_idx|CREATE INDEX items_expr_idx ON public.items USING btree ((((qty * 2) + 1)))
items_live_qty|CREATE INDEX items_live_qty ON public.items USING btree (qty) WHERE (NOT deleted)
items_owner_id_idx|CREATE INDEX items_owner_id_idx ON public.items USING btree (((owner)::character varying), id DESC) WHERE ((id > 400) OR (qty < 2))
items_owner_live|CREATE UNIQUE INDEX items_owner_live ON public.items USING btree (owner, qty) WHERE ((deleted IS NOT TRUE) AND (id > 490))
7|7
57|7
107|7
157|7
207|7
257|7
307|7
357|7
407|7
457|7
42|User42@Example.com
49
99
149
199
249
299
349
399
449
499
491
492
493
494
495
496
497
498
499
496
497
498
499
user9|49|499
INSERT 0 1
INSERT 0 1
UPDATE 1
UPDATE 1
1003|user9|49|t
1004|user9|30|f
UPDATE 20
9
UPDATE 20
10
DELETE 0
CREATE TABLE
INSERT 0 3
CREATE INDEX
INSERT 0 1
BEGIN
ROLLBACK
CREATE INDEX
50
CREATE TABLE
CREATE INDEX
CREATE UNIQUE INDEX fruit_berry ON public.fruit USING btree (key) WHERE (name ~~ '%berry'::text)
INSERT 0 1
1|Blueberry
INSERT 0 1
INSERT 0 0
INSERT 0 1
CREATE INDEX
INSERT 0 1
1|Apple
1|Blueberry
2|Kiwi
CREATE TABLE
CREATE INDEX
CREATE INDEX
INSERT 0 1
6|PASSIONFRUIT
INSERT 0 1
6|passionfruit
INSERT 0 1
INSERT 0 1
6|passionfruit
7|x
CREATE TABLE
CREATE INDEX
INSERT 0 1
CREATE TABLE
INSERT 0 2
|5
INSERT 0 1
CREATE UNIQUE INDEX nn_a ON public.nn USING btree (a) NULLS NOT DISTINCT
CREATE INDEX
CREATE UNIQUE INDEX nn_b ON public.nn USING btree (b)
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:21: ERROR:  duplicate key value violates unique constraint "items_email_lower"
DETAIL:  Key (lower(email))=(user1@example.com) already exists.
psql:SCRIPT:22: ERROR:  duplicate key value violates unique constraint "items_owner_live"
DETAIL:  Key (owner, qty)=(user9, 49) already exists.
psql:SCRIPT:25: ERROR:  duplicate key value violates unique constraint "items_owner_live"
DETAIL:  Key (owner, qty)=(user9, 30) already exists.
psql:SCRIPT:26: ERROR:  duplicate key value violates unique constraint "items_owner_live"
DETAIL:  Key (owner, qty)=(user9, 49) already exists.
psql:SCRIPT:27: ERROR:  duplicate key value violates unique constraint "items_owner_live"
DETAIL:  Key (owner, qty)=(user9, 49) already exists.
psql:SCRIPT:37: ERROR:  duplicate key value violates unique constraint "items_owner_live"
DETAIL:  Key (owner, qty)=(user9, 49) already exists.
psql:SCRIPT:42: ERROR:  could not create unique index "dup_a_all"
DETAIL:  Key (a)=(1) is duplicated.
psql:SCRIPT:43: ERROR:  duplicate key value violates unique constraint "dup_a_keep"
DETAIL:  Key (a)=(2) already exists.
psql:SCRIPT:45: ERROR:  could not create unique index "dup_lower"
DETAIL:  Key (lower(b))=(gone) is duplicated.
psql:SCRIPT:47: ERROR:  functions in index expression must be marked IMMUTABLE
psql:SCRIPT:48: ERROR:  functions in index predicate must be marked IMMUTABLE
psql:SCRIPT:49: ERROR:  argument of WHERE must be type boolean, not type integer
psql:SCRIPT:50: ERROR:  aggregate functions are not allowed in index expressions
psql:SCRIPT:51: ERROR:  aggregate functions are not allowed in index predicates
psql:SCRIPT:52: ERROR:  cannot use subquery in index predicate
psql:SCRIPT:53: ERROR:  column "nosuch" does not exist
psql:SCRIPT:55: ERROR:  CREATE INDEX CONCURRENTLY cannot run inside a transaction block
psql:SCRIPT:67: ERROR:  there is no unique or exclusion constraint matching the ON CONFLICT specification
psql:SCRIPT:68: ERROR:  there is no unique or exclusion constraint matching the ON CONFLICT specification
psql:SCRIPT:79: ERROR:  there is no unique or exclusion constraint matching the ON CONFLICT specification
psql:SCRIPT:81: ERROR:  there is no unique or exclusion constraint matching the ON CONFLICT specification
psql:SCRIPT:87: ERROR:  duplicate key value violates unique constraint "nn_a"
DETAIL:  Key (a)=(null) already exists.
psql:SCRIPT:88: ERROR:  duplicate key value violates unique constraint "nn_a"
DETAIL:  Key (a)=(1) already exists.
psql:SCRIPT:90: ERROR:  duplicate key value violates unique constraint "nn2_a_b_key"
DETAIL:  Key (a, b)=(1, null) already exists.
"#;

#[test]
fn partial_and_expression_indexes_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "partial_index.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// The planner reads a partial index only when the query implies its
/// predicate, and an expression index when a qual is on its expression.
#[test]
fn planner_uses_partial_and_expression_indexes_when_implied() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    c.batch_execute(
        "CREATE TABLE p (id int, qty int, name text, gone bool);
         INSERT INTO p SELECT i, i % 100, 'N' || i, i % 3 = 0 FROM generate_series(1, 2000) i;
         CREATE INDEX p_live ON p (qty) WHERE NOT gone;
         CREATE INDEX p_big ON p (id) WHERE qty > 90;
         CREATE INDEX p_lower ON p (lower(name));",
    )
    .expect("setup");
    let plan = |c: &mut postgres::Client, q: &str| -> String {
        c.query(&format!("EXPLAIN (COSTS OFF) {q}"), &[])
            .expect("explain")
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let p = plan(&mut c, "SELECT * FROM p WHERE qty = 5 AND NOT gone");
    assert!(p.contains("Index Scan using p_live on p"), "{p}");
    // The predicate is implied, so its conjunct is not re-checked.
    assert!(!p.contains("Filter"), "{p}");
    let p = plan(&mut c, "SELECT * FROM p WHERE qty = 5");
    assert!(!p.contains("p_live"), "not implied: {p}");
    let p = plan(&mut c, "SELECT * FROM p WHERE id < 50 AND qty > 95");
    assert!(
        p.contains("Index Scan using p_big on p"),
        "qty > 95 implies qty > 90: {p}"
    );
    let p = plan(&mut c, "SELECT * FROM p WHERE id < 50 AND qty > 80");
    assert!(
        !p.contains("p_big"),
        "qty > 80 does not imply qty > 90: {p}"
    );
    let p = plan(&mut c, "SELECT * FROM p WHERE lower(name) = 'n7'");
    assert!(p.contains("Index Scan using p_lower on p"), "{p}");
    assert!(p.contains("Index Cond: (lower(name) = 'n7'::text)"), "{p}");
    // And the rows are right through the indexes.
    let n: i64 = c
        .query_one("SELECT count(*) FROM p WHERE qty = 5 AND NOT gone", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 13);
    let n: i64 = c
        .query_one("SELECT count(*) FROM p WHERE id < 500 AND qty > 95", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 20);
}

/// Entries of a partial and an expression index written before a crash
/// (SIGKILL of the postmaster, so recovery replays the WAL) are found
/// after it, and the unique rules still hold.
#[test]
fn partial_and_expression_index_entries_survive_a_crash() {
    let mut srv = TestServer::start(Opts::new());
    {
        let mut c = srv.connect();
        c.batch_execute(
            "CREATE TABLE k (id int, email text, live bool);
             CREATE UNIQUE INDEX k_email ON k (lower(email)) WHERE live;
             INSERT INTO k SELECT i, 'E' || i || '@x', i % 2 = 0 FROM generate_series(1, 3000) i;",
        )
        .expect("create and fill");
    }
    srv.kill9_postmaster();
    srv.start_postmaster();
    let out = srv.psql_c(
        Via::Unix,
        &[
            "SELECT id FROM k WHERE lower(email) = 'e2000@x' AND live",
            "SELECT count(*) FROM k WHERE live",
        ],
    );
    assert_eq!(out, "2000\n1500\n");
    let mut c = srv.connect();
    let e = c
        .batch_execute("INSERT INTO k VALUES (9000, 'e2000@X', true)")
        .expect_err("a live duplicate");
    let db = e.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "23505");
    assert_eq!(
        db.detail(),
        Some("Key (lower(email))=(e2000@x) already exists.")
    );
    c.batch_execute("INSERT INTO k VALUES (9001, 'e2001@X', true)")
        .expect("e2001 is not live: outside the predicate");
}
