//! INSERT ... ON CONFLICT end to end: DO NOTHING and DO UPDATE with
//! `excluded`, WHERE, RETURNING, table aliases, arbiters inferred from
//! columns in any order or named by constraint, NULL keys, triggers of
//! both events, and PostgreSQL 15's errors — a psql script whose output
//! is compared with PostgreSQL 15's — then concurrent upserts of the same
//! keys from several sessions: no 23505, no lost increment.
//!
//! The expected output below is PostgreSQL 15's for upsert.sql, captured
//! with psql 15 `-X -A -t -f` (stderr's script path replaced by SCRIPT).

use crate::util::{rows, without_positions, Opts, TestServer};

const SCRIPT: &str = include_str!("upsert.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 1
INSERT 0 0
1|b|1
2|c|0
INSERT 0 2
INSERT 0 0
2|cz|0
INSERT 0 1
INSERT 0 1
4|q|0
INSERT 0 1
4|y|0
INSERT 0 1
5|q|0
INSERT 0 1
5|qw
INSERT 0 1
INSERT 0 4
1|b|1
2|cz|0
3|q|0
4|y|100
5|qw|100
6|s6|0
7|s7|0
CREATE TABLE
1|2|3
INSERT 0 1
1|2|13
INSERT 0 1
INSERT 0 1
INSERT 0 1
1|2|13
|2|3
|2|3
CREATE TABLE
INSERT 0 2
INSERT 0 0
INSERT 0 1
1|one
2|deux
CREATE TABLE
CREATE FUNCTION
CREATE TRIGGER
CREATE TRIGGER
CREATE FUNCTION
CREATE TRIGGER
CREATE TRIGGER
INSERT 0 1
INSERT 0 1
INSERT 0 0
BEFORE INSERT statement
BEFORE UPDATE statement
BEFORE INSERT uno
BEFORE UPDATE uno!
AFTER UPDATE uno!
AFTER UPDATE statement
AFTER INSERT statement
BEFORE INSERT statement
BEFORE UPDATE statement
BEFORE INSERT nine
AFTER INSERT nine
AFTER UPDATE statement
AFTER INSERT statement
BEFORE INSERT statement
BEFORE INSERT nueve
AFTER INSERT statement
1|uno!
2|deux
9|nine
BEGIN
INSERT 0 1
20|xy
INSERT 0 1
ROLLBACK
0
CREATE TABLE
CREATE INDEX
CREATE INDEX
CREATE INDEX
Insert on ict
  Conflict Resolution: NOTHING
  ->  Result
Insert on ict
  Conflict Resolution: NOTHING
  Conflict Arbiter Indexes: a_key, c_key
  ->  Result
Insert on ict
  Conflict Resolution: UPDATE
  Conflict Arbiter Indexes: b_key
  ->  Result
Insert on t
  Conflict Resolution: NOTHING
  Conflict Arbiter Indexes: t_pkey
  ->  Result
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:7: ERROR:  ON CONFLICT DO UPDATE command cannot affect row a second time
HINT:  Ensure that no rows proposed for insertion within the same command have duplicate constrained values.
psql:SCRIPT:9: ERROR:  there is no unique or exclusion constraint matching the ON CONFLICT specification
psql:SCRIPT:12: ERROR:  constraint "nope" for table "t" does not exist
psql:SCRIPT:22: ERROR:  there is no unique or exclusion constraint matching the ON CONFLICT specification
psql:SCRIPT:27: ERROR:  duplicate key value violates unique constraint "w_s_key"
DETAIL:  Key (s)=(one) already exists.
psql:SCRIPT:29: ERROR:  duplicate key value violates unique constraint "w_s_key"
DETAIL:  Key (s)=(one) already exists.
psql:SCRIPT:63: ERROR:  constraint "c_key" for table "ict" does not exist
"#;

#[test]
fn upsert_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "upsert.sql", SCRIPT);
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    assert_eq!(
        without_positions(&errs),
        PG_STDERR,
        "stderr: {}",
        r.describe()
    );
}

/// Sessions upserting the same few keys at once, PostgreSQL's promise:
/// each statement either inserts or updates, never fails with 23505, and
/// no increment is lost (the counters sum to the number of statements).
#[test]
fn concurrent_upserts_of_one_key_never_fail_or_lose_an_update() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    c.batch_execute(
        "CREATE TABLE hits (k int PRIMARY KEY, n int NOT NULL);
         CREATE TABLE seen (k int PRIMARY KEY, who int);",
    )
    .unwrap();
    const THREADS: usize = 4;
    const EACH: usize = 200;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let srv = &srv;
            s.spawn(move || {
                let mut c = srv.connect();
                for i in 0..EACH {
                    // All sessions walk the same fresh keys in step: each
                    // key's first insert is raced by the others.
                    let k = i as i32;
                    c.execute(
                        "INSERT INTO hits VALUES ($1, 1) ON CONFLICT (k) DO UPDATE SET n = hits.n + 1",
                        &[&k],
                    )
                    .unwrap_or_else(|e| panic!("upsert {i}: {}", crate::util::describe_error(&e)));
                    // Every session claims the same keys; the first wins.
                    let got = c
                        .execute(
                            "INSERT INTO seen VALUES ($1, $2) ON CONFLICT DO NOTHING",
                            &[&(i as i32), &(t as i32)],
                        )
                        .unwrap_or_else(|e| panic!("claim {i}: {}", crate::util::describe_error(&e)));
                    assert!(got <= 1);
                }
            });
        }
    });
    assert_eq!(
        rows(&mut c, "SELECT sum(n) FROM hits"),
        vec![(THREADS * EACH).to_string()]
    );
    assert_eq!(
        rows(&mut c, "SELECT count(*), min(n), max(n) FROM hits"),
        vec![format!("{EACH}|{THREADS}|{THREADS}")]
    );
    assert_eq!(
        rows(&mut c, "SELECT count(*), min(k), max(k) FROM seen"),
        vec![format!("{EACH}|0|{}", EACH - 1)]
    );
}
