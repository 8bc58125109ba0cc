//! Semi and anti joins against the real binary: WHERE-level EXISTS, NOT
//! EXISTS and `IN (SELECT ...)` planned as joins (crates/sql/src/semijoin.rs)
//! return PostgreSQL 15's rows, NULLs included, and EXPLAIN names them as
//! PostgreSQL does; a hash join hashes its smaller input (hashside.rs).
//!
//! Why end to end: the rewrite happens in the planner, so only a query's
//! rows and printed plan show whether it kept EXISTS's and IN's meaning
//! (a NULL key matches nothing, NOT IN is not an anti join, a sublink
//! under OR stays a filter). The expected output is PostgreSQL 15's for
//! semijoin.sql (`psql -X -A -t -f`).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("semijoin.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE TABLE
INSERT 0 5
INSERT 0 5
1|10|a
2|20|b
5|10|e
3||c
4|40|
1|10|a
3||c
4|40|
5|10|e
2|20|b
3||c
4|40|
5|10|e
5|10|e
1|10|a
2|20|b
5|10|e
1|10|a
5|10|e
2|20|b
5|10|e
4|40|
1|10|a
2|20|b
5|10|e
1|10|a
2|20|b
5|10|e
1|10|a
2|20|b
5|10|e
1|10|a
2|20|b
5|10|e
1|10|a
2|20|b
3||c
5|10|e
0
1|1
1|5
2|2
4|4
5|1
5|5
1|2
2|1
3|0
4|0
5|2
Hash Anti Join
  Hash Cond: (sa.x = sb.k)
  ->  Seq Scan on sa
  ->  Hash
        ->  Seq Scan on sb
              Filter: (u = 'a'::text)
Nested Loop Semi Join
  Join Filter: (sb.k < sa.x)
  ->  Seq Scan on sa
  ->  Materialize
        ->  Seq Scan on sb
Seq Scan on sa
  Filter: (NOT (hashed SubPlan 1))
  SubPlan 1
    ->  Seq Scan on sb
CREATE TABLE
INSERT 0 2000
CREATE TABLE
INSERT 0 300
INSERT 0 1
ANALYZE
ANALYZE
Hash Join
  Hash Cond: (b.a = s.a)
  ->  Seq Scan on hbig b
  ->  Hash
        ->  Seq Scan on hsmall s
Hash Join
  Hash Cond: (b.a = s.a)
  ->  Seq Scan on hbig b
  ->  Hash
        ->  Seq Scan on hsmall s
Hash Left Join
  Hash Cond: (b.a = s.a)
  ->  Seq Scan on hbig b
  ->  Hash
        ->  Seq Scan on hsmall s
Hash Right Join
  Hash Cond: (b.a = s.a)
  ->  Seq Scan on hbig b
  ->  Hash
        ->  Seq Scan on hsmall s
Hash Left Join
  Hash Cond: (b.a = s.a)
  ->  Seq Scan on hbig b
  ->  Hash
        ->  Seq Scan on hsmall s
301|300|300
2000|300|2000
2000|300|2000
291|291|291
1|x1
2|x2
3|x3
DROP TABLE
"#;

const PG_STDERR: &str = r#""#;

#[test]
fn semi_and_anti_joins_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "semijoin.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
