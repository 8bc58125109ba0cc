//! Ordered-set aggregates (percentile_cont, percentile_disc, mode and the
//! hypothetical-set rank family, `f(...) WITHIN GROUP (ORDER BY ...)`)
//! against the real binary: the same script run by psql 15 against
//! PostgreSQL 15 and against tusk prints the same rows and errors (and
//! that min/max take no bytea or row, as there).
//!
//! Why end to end: the answers depend on the WITHIN GROUP sort (direction,
//! NULLS placement), FILTER, grouping and the binder's typing of direct
//! arguments together, which is what a client sees.
//! The expected output is PostgreSQL 15's for ordered_set.sql (`psql -X -A
//! -t -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("ordered_set.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 30
INSERT 0 2
0|24.75|22.5|c|5
1|21.75|19.5|a|6
2|23.25|21|b|5
0|{41.85,16.650000000000002}
1|{38.85,13.65}
2|{40.35,15.15}
0|1
0.1|1.4
0.25|2
0.4|2.6
0.5|3
0.6|3.4
0.75|4
0.9|4.6
1|5
2.5|10
5
0.875
0.5
3
{0,99,249,499,749,899,999}
{1,6,2.25,4.75,3.5,6,2.5,2.6,2.75,2.9,3}
{{NULL,999,499},{749,249,NULL}}
0|3
1|1
2|0
{fred,jill,jim}
1
3
0
6.5
03:15:00
5.5|8
2

DROP TABLE
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:10: ERROR:  cannot use multiple ORDER BY clauses with WITHIN GROUP
psql:SCRIPT:11: ERROR:  WITHIN GROUP is required for ordered-set aggregate percentile_cont
psql:SCRIPT:23: ERROR:  aggregate function calls cannot be nested
psql:SCRIPT:24: ERROR:  WITHIN GROUP types text and integer cannot be matched
psql:SCRIPT:25: ERROR:  function rank(integer, integer, integer) does not exist
HINT:  To use the hypothetical-set aggregate rank, the number of hypothetical direct arguments (here 1) must match the number of ordering columns (here 2).
psql:SCRIPT:26: ERROR:  invalid input syntax for type integer: "fred"
psql:SCRIPT:31: ERROR:  percentile value 1.5 is not between 0 and 1
psql:SCRIPT:34: ERROR:  OVER is not supported for ordered-set aggregate mode
psql:SCRIPT:35: ERROR:  function percentile_cont(numeric, text) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:38: ERROR:  function max(record) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:39: ERROR:  function min(bytea) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
"#;

#[test]
fn ordered_set_aggregates_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "ordered_set.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
