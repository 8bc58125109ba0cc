//! The index DDL DBAs use, against the real binary: REINDEX in every form, CLUSTER and ALTER TABLE ... CLUSTER ON, covering indexes (INCLUDE), and REINDEX CONCURRENTLY while writers keep inserting.
//!
//! Why end to end: these statements are judged by what a DBA sees —
//! PostgreSQL's notices and errors (with their positions), the rows of
//! pg_index and pg_constraint, pg_get_indexdef, the heap order a
//! CLUSTER leaves behind — and by the index agreeing with its table
//! afterwards, which only a running server with concurrent sessions can
//! show. The expected output is PostgreSQL 15's for index_ddl.sql
//! (`psql -X -A -t -f`, script path in stderr replaced by SCRIPT).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::util::{wait_until, Opts, TestServer};

const SCRIPT: &str = include_str!("index_ddl.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE INDEX
INSERT 0 200
CREATE TABLE
CREATE TABLE
REINDEX
REINDEX
REINDEX
REINDEX
REINDEX
REINDEX
REINDEX
REINDEX
REINDEX
REINDEX
REINDEX
REINDEX
REINDEX
REINDEX
BEGIN
ROLLBACK
BEGIN
ROLLBACK
BEGIN
REINDEX
REINDEX
COMMIT
12
10
11
12
13
CREATE TABLE
CREATE INDEX
CREATE INDEX
CREATE INDEX
INSERT 0 100
UPDATE 10
DELETE 14
CLUSTER
1
2
3
4
5
6
8
9
ct_pkey|t
ct_b|f
ct_c_part|f
ct_neg|f
CLUSTER
25|x0
88|x0
17|x1
55|x1
93|x1
CLUSTER
x0
x0
x1
CLUSTER
100
99
97
96
95
1
9
BEGIN
CLUSTER
ROLLBACK
100
99
97
ALTER TABLE
ct_pkey
CLUSTER
1
2
3
ALTER TABLE
0
CREATE VIEW
BEGIN
ROLLBACK
CREATE TABLE
INSERT 0 10
CREATE INDEX
CREATE INDEX
CREATE INDEX
CREATE INDEX inc_c1_c2_c11_c3_idx ON public.inc USING btree (c1, c2) INCLUDE (c1, c3)
CREATE INDEX inc_idx ON public.inc USING btree (c1, c2) INCLUDE (c3, c4)
CREATE UNIQUE INDEX inc_u ON public.inc USING btree (c1 DESC) INCLUDE (c2)
inc_c1_c2_c11_c3_idx|4|2|1 2 1 3|0 0
inc_idx|4|2|1 2 3 4|0 0
inc_u|2|1|1 2|3
c1|1
c2|2
c11|3
c3|4
c3
CREATE TABLE
PRIMARY KEY (c1, c2) INCLUDE (c3, c4)|covering|{1,2}
INSERT 0 3
ALTER TABLE
PRIMARY KEY (c1, c2) INCLUDE (c3, c4)
UNIQUE (c3) INCLUDE (c1)
ALTER TABLE
incpk_c3_c1_key
REINDEX
3
CREATE ROLE
CREATE SCHEMA
CREATE TABLE
CREATE INDEX
GRANT
SET
RESET
DROP SCHEMA
DROP ROLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
INSERT 0 100
CREATE INDEX
CLUSTER
cpt11|0
cpt11|1
cpt11|2
cpt11|3
cpt11|4
50
51
52
53
54
REINDEX
BEGIN
ROLLBACK
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:7: NOTICE:  table "rnoidx" has no indexes to reindex
psql:SCRIPT:8: NOTICE:  table "rnoidx" has no indexes that can be reindexed concurrently
psql:SCRIPT:14: ERROR:  unrecognized REINDEX option "foo"
psql:SCRIPT:17: ERROR:  "rt" is not an index
psql:SCRIPT:18: ERROR:  "rt_b" is not a table or materialized view
psql:SCRIPT:19: ERROR:  relation "nosuch" does not exist
psql:SCRIPT:20: ERROR:  relation "nosuch" does not exist
psql:SCRIPT:21: ERROR:  schema "nosuch" does not exist
psql:SCRIPT:24: WARNING:  cannot reindex system catalogs concurrently, skipping all
psql:SCRIPT:25: ERROR:  can only reindex the currently open database
psql:SCRIPT:26: ERROR:  can only reindex the currently open database
psql:SCRIPT:27: ERROR:  cannot reindex system catalogs concurrently
psql:SCRIPT:28: ERROR:  cannot reindex system catalogs concurrently
psql:SCRIPT:29: ERROR:  cannot reindex system catalogs concurrently
psql:SCRIPT:31: ERROR:  tablespace "nosuch" does not exist
psql:SCRIPT:32: ERROR:  only shared relations can be placed in pg_global tablespace
psql:SCRIPT:34: ERROR:  syntax error at or near ";"
psql:SCRIPT:35: ERROR:  syntax error at or near "VERBOSE"
psql:SCRIPT:37: ERROR:  REINDEX CONCURRENTLY cannot run inside a transaction block
psql:SCRIPT:40: ERROR:  REINDEX SCHEMA cannot run inside a transaction block
psql:SCRIPT:46: ERROR:  duplicate key value violates unique constraint "rt_pkey"
DETAIL:  Key (a)=(5) already exists.
psql:SCRIPT:57: ERROR:  there is no previously clustered index for table "ct"
psql:SCRIPT:58: ERROR:  index "nosuch" for table "ct" does not exist
psql:SCRIPT:59: ERROR:  cannot cluster on partial index "ct_c_part"
psql:SCRIPT:75: ERROR:  index "nosuch" for table "ct" does not exist
psql:SCRIPT:76: ERROR:  cannot cluster on partial index "ct_c_part"
psql:SCRIPT:83: ERROR:  there is no previously clustered index for table "ct"
psql:SCRIPT:84: ERROR:  unrecognized CLUSTER option "foo"
psql:SCRIPT:85: ERROR:  relation "nosuch" does not exist
psql:SCRIPT:87: ERROR:  "cv" is not a table or materialized view
psql:SCRIPT:89: ERROR:  CLUSTER cannot run inside a transaction block
psql:SCRIPT:103: ERROR:  duplicate key value violates unique constraint "inc_u"
DETAIL:  Key (c1)=(1) already exists.
psql:SCRIPT:106: ERROR:  duplicate key value violates unique constraint "covering"
DETAIL:  Key (c1, c2)=(1, 2) already exists.
psql:SCRIPT:108: ERROR:  null value in column "c2" of relation "incpk" violates not-null constraint
DETAIL:  Failing row contains (1, null, 3, null).
psql:SCRIPT:113: ERROR:  access method "hash" does not support included columns
psql:SCRIPT:114: ERROR:  column "nosuch" does not exist
psql:SCRIPT:124: ERROR:  must be owner of table mt
psql:SCRIPT:125: ERROR:  must be owner of table mt
psql:SCRIPT:126: ERROR:  must be owner of index mt_a
psql:SCRIPT:127: ERROR:  must be owner of schema rsch
psql:SCRIPT:128: ERROR:  must be owner of table mt
psql:SCRIPT:130: NOTICE:  drop cascades to table rsch.mt
psql:SCRIPT:143: ERROR:  there is no previously clustered index for table "cpt"
psql:SCRIPT:144: ERROR:  cannot mark index clustered in partitioned table
psql:SCRIPT:145: ERROR:  cannot mark index clustered in partitioned table
psql:SCRIPT:148: ERROR:  REINDEX TABLE cannot run inside a transaction block
"#;

#[test]
fn reindex_cluster_and_include_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "index_ddl.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

fn count(c: &mut postgres::Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).expect(sql).get(0)
}

/// Writers insert rows one transaction at a time while REINDEX
/// CONCURRENTLY (table and index forms) runs again and again; afterwards
/// every row the writers committed is found through each rebuilt index,
/// the unique index still refuses a duplicate, and the writers went on
/// after the reindexes (none was left waiting or failed).
#[test]
fn reindex_concurrently_keeps_the_index_in_step_with_writers() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    c.batch_execute(
        "CREATE TABLE w (id int PRIMARY KEY, k int, pad text);
         CREATE INDEX w_k ON w (k);
         INSERT INTO w SELECT i, i % 97, 'seed' FROM generate_series(1, 2000) i;",
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicI64::new(100_000));
    let committed = Arc::new(AtomicI64::new(0));
    let mut writers = Vec::new();
    for _ in 0..2 {
        let mut wc = srv.connect();
        let (stop, next, committed) = (stop.clone(), next.clone(), committed.clone());
        writers.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let id = next.fetch_add(1, Ordering::Relaxed) as i32;
                wc.execute(
                    "INSERT INTO w VALUES ($1, $1 % 97, repeat('x', 20))",
                    &[&id],
                )
                .expect("a writer's insert failed");
                committed.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    assert!(
        wait_until(Duration::from_secs(30), || committed
            .load(Ordering::Relaxed)
            >= 50),
        "the writers never got going"
    );
    for i in 0..4 {
        let sql = if i % 2 == 0 {
            "REINDEX TABLE CONCURRENTLY w"
        } else {
            "REINDEX INDEX CONCURRENTLY w_k"
        };
        c.batch_execute(sql).expect(sql);
    }
    let after = committed.load(Ordering::Relaxed);
    assert!(
        wait_until(Duration::from_secs(30), || committed
            .load(Ordering::Relaxed)
            >= after + 50),
        "the writers did not go on after REINDEX CONCURRENTLY"
    );
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer thread");
    }
    let total = count(&mut c, "SELECT count(*) FROM w");
    assert_eq!(total, 2000 + committed.load(Ordering::Relaxed));
    // Every row through the primary key (a range qual uses the index)
    // and through w_k (one equality probe per key value).
    assert_eq!(count(&mut c, "SELECT count(*) FROM w WHERE id >= 0"), total);
    let mut via_k = 0;
    for k in 0..97 {
        via_k += count(&mut c, &format!("SELECT count(*) FROM w WHERE k = {k}"));
    }
    assert_eq!(via_k, total);
    let e = c
        .batch_execute("INSERT INTO w VALUES (100000, 0, 'dup')")
        .unwrap_err();
    assert_eq!(
        e.as_db_error().map(|d| d.message()),
        Some("duplicate key value violates unique constraint \"w_pkey\"")
    );
}
