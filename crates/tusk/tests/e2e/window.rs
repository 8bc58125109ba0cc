//! Window functions against the real binary: the same script run by psql
//! 15 against PostgreSQL 15 and against tusk prints the same rows and
//! errors.
//!
//! Why end to end: which row a window sees in its frame, and the order
//! rows with equal sort keys come out in, are what reports built on
//! window functions show; both follow PostgreSQL's sort and frame rules
//! (ROWS, RANGE with offsets of every in_range type, GROUPS, EXCLUDE).
//! The expected output is PostgreSQL 15's for window.sql (`psql -X -A -t
//! -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("window.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 10
develop|11|25100
develop|7|25100
develop|9|25100
develop|8|25100
develop|10|25100
personnel|5|7400
personnel|2|7400
sales|3|14600
sales|1|14600
sales|4|14600
develop|11
develop|7
develop|9
develop|8
develop|10
personnel|5
personnel|2
sales|3
sales|1
sales|4
11|10
7|10
9|10
8|10
10|10
5|2
2|2
3|4
1|4
4|4
25100|1|47100
7400|2|22000
14600|3|14600
5|3500|3900
2|3900|7700
7|4200|8400
9|4500|9000
3|4800|9800
4|4800|9300
1|5000|10000
10|5200|11200
11|5200|10200
8|6000|5200
5|3500|3500
2|3900|7400
7|4200|8100
9|4500|8700
3|4800|9300
4|4800|9300
1|5000|14600
10|5200|10200
11|5200|10200
8|6000|16400
5|3500|0
2|3900|1
7|4200|2
9|4500|3
3|4800|2
4|4800|2
1|5000|4
10|5200|1
11|5200|1
8|6000|0
8|6000|8
10|5200|10
11|5200|10
1|5000|10
3|4800|10
4|4800|10
9|4500|1
7|4200|9
2|3900|7
5|3500|2
1|2006-10-01|7
8|2006-10-01|7
2|2006-12-23|8
3|2007-08-01|10
10|2007-08-01|10
4|2007-08-08|10
11|2007-08-15|10
5|2007-12-10|8
7|2008-01-01|7
9|2008-01-01|7
-5|-5
1|-2
2|-2
Infinity|Infinity
NaN|NaN
|2
|2
1|2
2|2
4|1
0.5|1
1|2
2|3
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:27: ERROR:  RANGE with offset PRECEDING/FOLLOWING is not supported for column type text
psql:SCRIPT:28: ERROR:  RANGE with offset PRECEDING/FOLLOWING is not supported for column type date and offset type integer
HINT:  Cast the offset value to an appropriate type.
psql:SCRIPT:29: ERROR:  RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column
psql:SCRIPT:30: ERROR:  GROUPS mode requires an ORDER BY clause
psql:SCRIPT:31: ERROR:  frame starting offset must not be negative
psql:SCRIPT:32: ERROR:  invalid preceding or following size in window function
psql:SCRIPT:33: ERROR:  argument of ROWS must not contain variables
"#;

#[test]
fn window_frames_and_tie_order_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "window.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
