//! FROM subqueries and views in the planner against the real binary: the same script run by psql 15 against PostgreSQL 15 and against tusk prints the same plans and rows.
//!
//! Why end to end: merging a view or subquery into the query using it
//! (crates/sql/src/subplan.rs) changes which plan runs — a view's table
//! scanned through its index, a subquery's WHERE moved into a join's
//! condition under an outer join, a query's WHERE moved into an
//! aggregating subquery's HAVING — and must never change a row. The
//! script prints EXPLAIN (COSTS OFF) where tusk's plan is PostgreSQL's,
//! and the rows of queries over every shape the planner merges or leaves
//! whole (outer joins, non-strict outputs, correlated subqueries in and
//! out of merged ones, LIMIT, DISTINCT, windows, UNION, volatile outputs).
//! The expected output is PostgreSQL 15's for subquery_plan.sql (`psql
//! -X -A -t -f`).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("subquery_plan.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 200
CREATE TABLE
INSERT 0 40
CREATE VIEW
CREATE VIEW
CREATE VIEW
CREATE VIEW
Index Scan using t_pkey on t
  Index Cond: (id = 42)
42|2|x42
Index Scan using t_pkey on t
  Index Cond: (id = 5)
  Filter: (a > 2)
5|6
3|4
Index Scan using t_pkey on t
  Index Cond: (id = 17)
  Filter: ((a > 2) AND ((a + 1) < 8))
80|440
Index Scan using t_pkey on t
  Index Cond: (id = 11)
  Filter: (a = 1)
11|x11
Sort
  Sort Key: t.a
  ->  Seq Scan on t
9|9
19|9
29|9
8|8
18|8
28|8
7|7
17|7
27|7
Result
1|y
Subquery Scan on ss
  Filter: (ss.a = 3)
  ->  Limit
        ->  Seq Scan on t
3|3
HashAggregate
  Group Key: t.a
  Filter: (count(*) = 3)
  ->  Seq Scan on t
3|20
0|20|200
1|20|191
2|20|192
0|20|200
6|20|196
7|20|197
8|20|198
9|20|199
8
9
0|2
1|2
2|2
200
2
2
3
0
1
2
3
4
1|3|4
2|6|7
3|9|10
5|15|6
6|18|9
1|3|x3
11|33|x33
21|63|x63
31|93|x93
40|16|16
1||
2|6|6
3|9|9
4||
5||
6|18|8
7||
8||
9|27|7
3||
4||
5||
6||
7|21|1
8||
9||
10|30|0
11||
12||
9|3
19|
29|
39|13
|1
|2
|4
|5
|6
|7
|8
|9
|10
|11
|12
|14
|15
|16
|17
|18
|19
|20
|21
|22
|24
|25
|26
|27
|28
|29
|30
|31
|32
|34
|35
|36
|37
|38
|39
|40
1|1|3
2|1|6
1||
2||
3||
4||
5||
2|2
4|4
1|3|n1|1|20|191
2|6|n2|2|20|192
3|9|n3|3|20|193
4|
8|
12|
16|
20|
24|
28|
32|
36|
40|
1|
2|3
3|5
1|1
2|1
3|1
30
60
90
120
6|2
0|2
1|2
2|2
3|2
4|2
5|2
6|2
7|2
8|2
9|2
4|4
4|18
4|42
1|1
2|1
2|2
Aggregate
  ->  HashAggregate
        Group Key: t.a
        ->  Seq Scan on t
Subquery Scan on ss
  ->  HashAggregate
        Group Key: t.a
        ->  Seq Scan on t
Subquery Scan on ss
  ->  Limit
        ->  Seq Scan on t
Limit
  ->  Seq Scan on t
Aggregate
  ->  Seq Scan on t
        Filter: (a > 1)
Append
  ->  Index Scan using t_pkey on t
        Index Cond: (id = 5)
  ->  Index Scan using u_pkey on u
        Index Cond: (id = 5)
5|5
5|15
5|5
5|15
1
2
4
5
7
8
5|5
5|7
2|1
2|2
3|1
3|2
DROP VIEW
DROP TABLE
"#;

const PG_STDERR: &str = r#""#;

#[test]
fn views_and_from_subqueries_plan_and_answer_as_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "subquery_plan.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
