//! EXPLAIN of aggregation against the real binary: min/max over an index
//! (PostgreSQL's InitPlan + Limit + Index Only Scan plan) and GROUP BY
//! with an aggregate that sorts its input (GroupAggregate over a Sort),
//! run by psql 15 against PostgreSQL 15 and against tusk.
//!
//! Why end to end: the plan printed depends on the indexes the host has,
//! the WHERE conjuncts and the aggregates together, as a client sees it.
//! The expected output is PostgreSQL 15's for aggplan.sql (`psql -X -A
//! -t -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("aggplan.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE INDEX
INSERT 0 1000
Result
  InitPlan 1 (returns $0)
    ->  Limit
          ->  Index Only Scan using ap_t_pkey on ap_t
                Index Cond: (a IS NOT NULL)
Result
  InitPlan 1 (returns $0)
    ->  Limit
          ->  Index Only Scan Backward using ap_t_pkey on ap_t
                Index Cond: (a IS NOT NULL)
Result
  InitPlan 1 (returns $0)
    ->  Limit
          ->  Index Only Scan Backward using ap_t_pkey on ap_t
                Index Cond: ((a IS NOT NULL) AND (a < 42))
Result
  InitPlan 1 (returns $0)
    ->  Limit
          ->  Index Only Scan using ap_t_pkey on ap_t
                Index Cond: (a IS NOT NULL)
  InitPlan 2 (returns $1)
    ->  Limit
          ->  Index Only Scan Backward using ap_t_pkey on ap_t ap_t_1
                Index Cond: (a IS NOT NULL)
Result
  InitPlan 1 (returns $0)
    ->  Limit
          ->  Index Scan Backward using ap_t_pkey on ap_t
                Index Cond: (a IS NOT NULL)
                Filter: (c = 'x5'::text)
1|1000
x993
GroupAggregate
  Group Key: d
  ->  Sort
        Sort Key: d
        ->  Seq Scan on ap_t
GroupAggregate
  Group Key: d
  ->  Sort
        Sort Key: d
        ->  Seq Scan on ap_t
0|142|x7,x21,x14
1|143|x8,x22,x15,x1
2|143|x9,x23,x2,x16
3|143|x3,x24,x17,x10
4|143|x4,x18,x11
5|143|x5,x19,x12
6|143|x6,x20,x13
1000|100
DROP TABLE
"#;

const PG_STDERR: &str = r#""#;

#[test]
fn aggregate_plans_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "aggplan.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
