//! Arrays and regular expressions as clients see them: one script run by
//! psql 15 against PostgreSQL 15 and against tusk prints the same rows,
//! errors, DETAILs and HINTs (array columns stored and read back, text
//! I/O with quoting, multi-dimensional arrays and lower bounds,
//! subscripts and slices, ANY/ALL, the array operators and functions,
//! the `~` family, SIMILAR TO, regexp_*, unnest and the other set-returning
//! functions in FROM); the postgres crate's typed
//! arrays round-trip in text and binary; array columns survive a
//! restart.
//!
//! The expected output is PostgreSQL 15's for arrays.sql (captured with
//! `psql -X -A -t -f`; the script path in stderr replaced by SCRIPT). Of
//! stderr, the `psql:`, DETAIL and HINT lines are compared: tusk does not
//! yet point at error positions (PostgreSQL's `LINE 1:`).

use crate::util::{Opts, TestServer, Via};

const SCRIPT: &str = include_str!("arrays.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 3
1|{1,2,3}|{"a b","c\"d",NULL}|{1.5,NULL}|{10,20}
2|{4,5}|{x}|{}|{{1,2},{3,4}}
3||{}||[0:1]={7,8}
1|1|{2,3}|{1,2}|a b||
2|4|{5}|{4,5}|x|2|
3||||||7
1
2
1|f|t|t|f
2|f|f|f|t
3||||
3|1|2|2|1|[1:2]
2|1|2|4|2|[1:2][1:2]
|0|1|2|1|[0:1]
{1,2,3,9}|{0,1,2,3}|{1,2,3,7,8}|{1,2,3,1}|{1,1,2,3}|{1,2,3,1,2,3}
2|{2,4}|{2,3}|{9,2,9}
1,3|1,*,3|{a,b,"",c}|{a,b,NULL}|{a,b,c}
{{1,2},{3,4}}|{{1.5,2}}|{3,2,1}|{{1},{2}}|[2:3]={a,b}|t|t
{1,2}|{2,2}|{}|text[]|bigint[]
t|t|f|f|t|f
{bar,beque}|ThM|fooXarYXazY|{hello,world}|mas|t|3
3
1
2
a

2
3
4
0
1
2
a
b
c
{1,NULL}
{2,2}
t|f
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:13: ERROR:  malformed array literal: "{1,2"
DETAIL:  Unexpected end of input.
psql:SCRIPT:14: ERROR:  malformed array literal: "{{1},{2,3}}"
DETAIL:  Multidimensional arrays must have sub-arrays with matching dimensions.
psql:SCRIPT:15: ERROR:  invalid input syntax for type integer: "a"
psql:SCRIPT:16: ERROR:  cannot determine type of empty array
HINT:  Explicitly cast to the desired type, for example ARRAY[]::integer[].
psql:SCRIPT:17: ERROR:  multidimensional arrays must have array expressions with matching dimensions
psql:SCRIPT:20: ERROR:  invalid regular expression: parentheses () not balanced
psql:SCRIPT:21: ERROR:  regexp_match() does not support the "global" option
HINT:  Use the regexp_matches function instead.
"#;

#[test]
fn array_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "arrays.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// The postgres crate sends and reads arrays in binary (array_send /
/// array_recv with the element type's OID) and, through simple queries,
/// in text; NULL elements and quoting survive both.
#[test]
fn typed_arrays_round_trip_through_the_driver() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    c.batch_execute("CREATE TABLE t (id int, a int[], s text[])")
        .expect("create");
    let ints: Vec<i32> = vec![1, -2, 300_000];
    let texts: Vec<Option<String>> = vec![Some("a b".into()), None, Some("c\"d".into())];
    c.execute("INSERT INTO t VALUES (1, $1, $2)", &[&ints, &texts])
        .expect("insert with binary array parameters");
    let row = c
        .query_one("SELECT a, s, a[2], s[3] FROM t", &[])
        .expect("select");
    assert_eq!(row.get::<_, Vec<i32>>(0), ints);
    assert_eq!(row.get::<_, Vec<Option<String>>>(1), texts);
    assert_eq!(row.get::<_, i32>(2), -2);
    assert_eq!(row.get::<_, String>(3), "c\"d");
    // The element type is checked on receipt, as array_recv does.
    let row = c
        .query_one("SELECT $1::int8[] AS b", &[&vec![5i64, 6]])
        .expect("int8[] parameter");
    assert_eq!(row.get::<_, Vec<i64>>(0), vec![5, 6]);
    let text = c
        .simple_query("SELECT a, s FROM t")
        .expect("simple query")
        .into_iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => {
                Some((r.get(0).map(str::to_string), r.get(1).map(str::to_string)))
            }
            _ => None,
        })
        .expect("a row");
    assert_eq!(
        text,
        (
            Some("{1,-2,300000}".to_string()),
            Some(r#"{"a b",NULL,"c\"d"}"#.to_string())
        )
    );
    // An empty array in binary: zero dimensions.
    let row = c.query_one("SELECT '{}'::int[]", &[]).expect("empty array");
    assert!(row.get::<_, Vec<i32>>(0).is_empty());
}

/// Array columns are stored in PostgreSQL's ArrayType layout and read
/// back after a restart, NULL bitmap, bounds and all.
#[test]
fn array_columns_survive_restart() {
    let mut srv = TestServer::start(Opts::new());
    {
        let mut c = srv.connect();
        c.batch_execute(
            "CREATE TABLE keep (id int, a int[], t text[], n numeric[], f float8[]);
             INSERT INTO keep VALUES
               (1, '{1,NULL,3}', '{x,\"y z\"}', '{1.25,-3}', '{0.5}'),
               (2, '[0:1][1:2]={{1,2},{3,4}}', '{}', NULL, '{NaN,-0}');",
        )
        .expect("create and fill");
    }
    srv.stop_with(libc::SIGTERM);
    srv.start_postmaster();
    let out = srv.psql_c(
        Via::Unix,
        &["SELECT id, a, t, n, f, array_dims(a) FROM keep ORDER BY id"],
    );
    assert_eq!(
        out,
        "1|{1,NULL,3}|{x,\"y z\"}|{1.25,-3}|{0.5}|[1:3]\n\
         2|[0:1][1:2]={{1,2},{3,4}}|{}||{NaN,-0}|[0:1][1:2]\n"
    );
}
