//! Joins, subqueries, set operations, DISTINCT and VALUES over real
//! tables, as clients see them: the
//! same script run by psql 15 against PostgreSQL 15 and against tusk
//! must print the same rows, and the same errors; prepared statements
//! with subqueries see the data of each execution.
//!
//! The expected output is PostgreSQL 15's for joins.sql (captured with
//! `psql -X -A -t -f`; stderr's script path replaced by SCRIPT). Only
//! the `psql:` lines of stderr are compared: tusk does not yet point at
//! the position of a name-resolution error (PostgreSQL's `LINE 1:`).

use crate::util::{simple_rows, Opts, TestServer};

const SCRIPT: &str = include_str!("joins.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE TABLE
INSERT 0 5
INSERT 0 4
ann|eng
bob|eng
cy|ops
ann|eng
bob|eng
ann|eng
bob|eng
cy|ops
dee|
eve|
ann|eng
bob|eng
|law
|none
cy|ops
ann|eng
bob|eng
cy|ops
dee|
eve|
|law
|none
3|cy|20|1|20|ops
ann|
bob|ann
cy|ann
dee|bob
eve|bob
ann|2
bob|2
cy|0
dee|0
eve|0
10|1|ann||eng
10|2|bob|1|eng
20|3|cy|1|ops
10|ann|eng
10|bob|eng
20|cy|ops
30|eve|
40||law
|dee|
||none
10|eng|ann
20|ops|ann
40|law|ann
|none|ann
1|ann|10|
2|bob|10|1
cy
eve
ann
bob
ann|eng
bob|eng
cy|ops
dee|
eve|
eve
eng|2
law|0
none|0
ops|1
10
20
30
40

10
10
10
20
20
30
40


10
20

30
10
20
30

1|10
1|20
2|30
2|
|10
ann|ten
bob|ten
eve|thirty
eng
law
ops
cy|1
UPDATE 1
law
none
DELETE 2
eng
ops
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:25: ERROR:  more than one row returned by a subquery used as an expression
psql:SCRIPT:37: ERROR:  column reference "id" is ambiguous
psql:SCRIPT:38: ERROR:  table name "e" specified more than once
psql:SCRIPT:39: ERROR:  missing FROM-clause entry for table "nope"
"#;

#[test]
fn join_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "joins.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors: String = errs
        .lines()
        .filter(|l| l.starts_with("psql:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// A prepared statement's subqueries and joins read the rows of each
/// execution: an uncorrelated subquery's result is not kept from one
/// execution to the next, and parameters reach inside subqueries.
#[test]
fn prepared_joins_and_subqueries_see_fresh_rows() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    c.batch_execute(
        "CREATE TABLE a (k int, v text); CREATE TABLE b (k int, w int);
         INSERT INTO a VALUES (1, 'one'), (2, 'two'), (3, 'three');
         INSERT INTO b VALUES (1, 10), (1, 11), (3, 30);",
    )
    .expect("setup");
    let join = c
        .prepare("SELECT a.v, b.w FROM a JOIN b USING (k) WHERE b.w > $1 ORDER BY b.w")
        .expect("prepare join");
    let sub = c
        .prepare(
            "SELECT v, (SELECT max(w) FROM b WHERE b.k = a.k) FROM a \
             WHERE k IN (SELECT k FROM b WHERE w >= $1) ORDER BY k",
        )
        .expect("prepare subquery");
    let pairs = |rows: Vec<postgres::Row>| -> Vec<(String, Option<i32>)> {
        rows.iter().map(|r| (r.get(0), r.get(1))).collect()
    };
    assert_eq!(
        pairs(c.query(&join, &[&10i32]).expect("join")),
        vec![
            ("one".to_string(), Some(11)),
            ("three".to_string(), Some(30))
        ]
    );
    assert_eq!(
        pairs(c.query(&sub, &[&11i32]).expect("subquery")),
        vec![
            ("one".to_string(), Some(11)),
            ("three".to_string(), Some(30))
        ]
    );
    c.batch_execute("INSERT INTO b VALUES (2, 20); DELETE FROM b WHERE k = 3")
        .expect("change b");
    assert_eq!(
        pairs(c.query(&join, &[&10i32]).expect("join again")),
        vec![("one".to_string(), Some(11)), ("two".to_string(), Some(20))]
    );
    assert_eq!(
        pairs(c.query(&sub, &[&11i32]).expect("subquery again")),
        vec![("one".to_string(), Some(11)), ("two".to_string(), Some(20))]
    );
    // A join larger than one page on each side, by hash on the key.
    c.batch_execute("CREATE TABLE big (k int)")
        .expect("create big");
    let mut values = Vec::new();
    for i in 0..3000 {
        values.push(format!("({})", i % 1000));
    }
    c.batch_execute(&format!("INSERT INTO big VALUES {}", values.join(",")))
        .expect("fill big");
    assert_eq!(
        simple_rows(&mut c, "SELECT count(*) FROM big x JOIN big y ON x.k = y.k"),
        vec![vec![Some("9000".to_string())]]
    );
}

/// A WHERE over comma-joined tables goes down the join tree when the
/// executor is built (exec::build_pushed): the rows must be exactly those
/// of the same query with explicit JOIN ... ON and of the cross product
/// filtered at the top — one-side conditions, equalities across sides,
/// OR across sides, NULLs in keys, a LEFT JOIN whose nullable side the
/// WHERE tests (that condition must stay above the outer join), and a
/// correlated subquery in the WHERE.
#[test]
fn where_over_comma_joins_gives_the_rows_of_explicit_joins() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    c.batch_execute(
        "CREATE TABLE a (id int, x int);
         CREATE TABLE b (id int, y text);
         CREATE TABLE c (k int PRIMARY KEY, z int);
         INSERT INTO a SELECT g, g % 5 FROM generate_series(1, 40) g;
         INSERT INTO a VALUES (41, NULL), (42, NULL);
         INSERT INTO b SELECT g, 'b' || g FROM generate_series(0, 6) g;
         INSERT INTO b VALUES (NULL, 'bnull');
         INSERT INTO c SELECT g, g * 10 FROM generate_series(1, 40) g;",
    )
    .unwrap();
    let rows =
        |c: &mut postgres::Client, q: &str| -> Vec<Vec<Option<String>>> { simple_rows(c, q) };
    for (comma, explicit) in [
        (
            "SELECT a.id, b.y, c.z FROM a, b, c WHERE a.x = b.id AND c.k = a.id AND a.id < 20 ORDER BY 1",
            "SELECT a.id, b.y, c.z FROM a JOIN b ON a.x = b.id JOIN c ON c.k = a.id WHERE a.id < 20 ORDER BY 1",
        ),
        (
            "SELECT a.id, b.y FROM a, b WHERE (a.x = b.id OR b.id IS NULL) AND a.id > 38 ORDER BY 1, 2",
            "SELECT a.id, b.y FROM a JOIN b ON a.x = b.id OR b.id IS NULL WHERE a.id > 38 ORDER BY 1, 2",
        ),
        (
            "SELECT a.id, b.y, c.z FROM a LEFT JOIN b ON a.x = b.id AND b.id > 2, c WHERE b.y IS NULL AND c.k = a.id ORDER BY 1",
            "SELECT a.id, b.y, c.z FROM (a LEFT JOIN b ON a.x = b.id AND b.id > 2) JOIN c ON c.k = a.id WHERE b.y IS NULL ORDER BY 1",
        ),
        (
            "SELECT a.id FROM a, c WHERE c.k = a.id AND EXISTS (SELECT 1 FROM b WHERE b.id = a.x AND b.y = 'b3') ORDER BY 1",
            "SELECT a.id FROM a JOIN c ON c.k = a.id WHERE a.x = 3 ORDER BY 1",
        ),
    ] {
        let got = rows(&mut c, comma);
        assert_eq!(got, rows(&mut c, explicit), "{comma}");
        assert!(!got.is_empty(), "{comma}: the case selects rows");
    }
    // The third case's rows, by hand: x in {0,1,2} or NULL find no b with
    // id > 2, so those a rows (ids 1..40 with x < 3 and 41, 42) have b.y NULL.
    let third = rows(
        &mut c,
        "SELECT count(*) FROM a LEFT JOIN b ON a.x = b.id AND b.id > 2, c WHERE b.y IS NULL AND c.k = a.id",
    );
    assert_eq!(third, vec![vec![Some("24".to_string())]]);
}
