//! WITH [RECURSIVE], DISTINCT ON, window functions and a query without
//! columns over real tables, as clients see them: the same script run by
//! psql 15 against PostgreSQL 15 and against tusk must print the same
//! rows and errors; a query without columns is described (RowDescription
//! with no fields) on both protocols.
//!
//! The expected output is PostgreSQL 15's for queries.sql (captured with
//! `psql -X -A -t -f`; stderr's script path replaced by SCRIPT). Only the
//! `psql:` lines of stderr are compared: tusk does not yet point at the
//! position of these errors (PostgreSQL's `LINE 1:`).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("queries.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 6
1|ann|0
2|bob|1
3|cy|1
4|dee|2
5|eve|2
6|fay|2
ann|700
cy|350
eve|150
4|300
10|ann|300
20|cy|250
30|eve|150
ann|10|300|1|700|
bob|10|200|2|700|ann
cy|20|250|1|350|bob
dee|20|100|2|350|cy
eve|30|150|1|150|dee
fay|10|200|2|700|eve
10|700|1
20|350|2
30|150|3
ann|250.0000000000000000
bob|250.0000000000000000
cy|183.3333333333333333
dee|166.6666666666666667
eve|150.0000000000000000
fay|175.0000000000000000
1|3
2|3
3|3
a|1
b|2
c|3
b|2
c|3
5|1|1
6|2|2
7|3|3
a|1|1
b|2|2
|0
CREATE TABLE
INSERT 0 3
ann|a|1
ann|n|2
ann|n|3
ann|1
ann|2
cy|7
ann|1|1
ann|2|2
cy|7|1
ann|1
bob|1
bob|2
cy|1
cy|2
cy|3
ann|1
ann|2
bob|
cy|7
ann|1
ann|2
cy|7
1|ann|{1,2}|k|1
2|bob|{}|k|2
3|cy|{7}|k|3
CREATE FUNCTION
1-2-3|1-2-5|7-2-3|1-2-9|0-0-3
CREATE FUNCTION
XY|onlydy
3-2-4
CREATE FUNCTION
1
3
5
1
4
7
1
2
SELECT 1000
CREATE INDEX
CREATE INDEX
143
1503
993
995
1|3
2|3
3|3
7|3
4
998|4
999|5
1000|6
5
6
0|7
0|28
0|21
0|14
0
0
6|20
6|6
6|27
6|13
6|6
5|5
4|4
11|4
3|3
10|3
2|2
9|2
1|1
8|1
7|0
5,4,3,2,1
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:12: ERROR:  WITH query name "t" specified more than once
psql:SCRIPT:13: ERROR:  window functions are not allowed in WHERE
psql:SCRIPT:14: ERROR:  SELECT DISTINCT ON expressions must match initial ORDER BY expressions
psql:SCRIPT:19: ERROR:  table "u" has 2 columns available but 3 columns specified
psql:SCRIPT:31: ERROR:  missing FROM-clause entry for table "nope"
psql:SCRIPT:32: ERROR:  column e.nope does not exist
psql:SCRIPT:33: ERROR:  could not implement recursive UNION
psql:SCRIPT:34: ERROR:  FOR UPDATE/SHARE in a recursive query is not implemented
psql:SCRIPT:35: ERROR:  OFFSET in a recursive query is not implemented
psql:SCRIPT:36: ERROR:  ORDER BY in a recursive query is not implemented
psql:SCRIPT:42: ERROR:  function nf(integer, a => integer) does not exist
psql:SCRIPT:43: ERROR:  function nf(c => integer) does not exist
psql:SCRIPT:44: ERROR:  argument name "a" used more than once
psql:SCRIPT:45: ERROR:  function nf(d => integer) does not exist
psql:SCRIPT:46: ERROR:  positional argument cannot follow named argument
psql:SCRIPT:57: ERROR:  operator class "text_ops" does not accept data type integer
psql:SCRIPT:58: ERROR:  operator class "nosuch_ops" does not exist for access method "btree"
psql:SCRIPT:75: ERROR:  WITH TIES cannot be specified without ORDER BY clause
psql:SCRIPT:76: ERROR:  row count cannot be null in FETCH FIRST ... WITH TIES clause
psql:SCRIPT:80: ERROR:  operator = is not a valid ordering operator
"#;

#[test]
fn query_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "queries.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors: String = errs
        .lines()
        .filter(|l| l.starts_with("psql:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// A query with no columns returns its rows (each with no values) on the
/// extended protocol too: Describe answers RowDescription, not NoData.
#[test]
fn query_without_columns_is_described() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let st = c
        .prepare("SELECT FROM generate_series(1, 3)")
        .expect("prepare");
    assert!(st.columns().is_empty());
    let rows = c.query(&st, &[]).expect("query");
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.is_empty()));
    let n = c
        .simple_query("SELECT FROM generate_series(1, 2)")
        .expect("simple query")
        .into_iter()
        .filter(|m| matches!(m, postgres::SimpleQueryMessage::Row(_)))
        .count();
    assert_eq!(n, 2);
}
