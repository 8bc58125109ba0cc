//! The simple protocol's plan cache (crates/sql/src/plancache.rs) against the real binary:
//! statements sent again with other literal values, across DDL, a rolled-back ALTER, a
//! search_path change, number literals crossing the int4 and int8 ranges, strings that do
//! or do not convert to the column's type and 'tomorrow' as a date, print what
//! PostgreSQL 15 prints for the same script.
//!
//! Why end to end: psql sends each statement as its own Query message, the path the plan
//! cache serves; a plan kept across something that should have invalidated it shows up
//! here as a wrong row or a missing error. The expected output is PostgreSQL 15's for
//! plancache.sql (`psql -X -A -t -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("plancache.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 1
INSERT 0 1
INSERT 0 1
1|x|aa|1.5
2|y|bb|2.5
1|x
2|y
3|z
3|z
2|y
1|x
1
1
2
1
2
1|2.5
UPDATE 1
2|1.5
UPDATE 1
3|-5.5
UPDATE 1
DELETE 0
DELETE 0
ALTER TABLE
INSERT 0 1
4|w|dd|4.5|5
3|z|cc|-5.5|5
CREATE SCHEMA
CREATE TABLE
INSERT 0 1
SET
in s2
RESET
1|x|aa|2.5|5
2147483647
2147483648
9223372036854775807
9223372036854775808
abcdef
xyzuvw
3
1
2
BEGIN
ALTER TABLE
1|x|aa|2.5
2|y|bb|1.5
ROLLBACK
1|x|aa|2.5|5
2|y|bb|1.5|5
CREATE TABLE
INSERT 0 1
INSERT 0 1
1
2
2
2
DROP TABLE
DROP TABLE
DROP SCHEMA
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:30: ERROR:  column "a" does not exist
psql:SCRIPT:35: ERROR:  integer out of range
psql:SCRIPT:40: ERROR:  invalid input syntax for type integer: "x"
psql:SCRIPT:42: ERROR:  invalid input syntax for type integer: "y"
psql:SCRIPT:61: NOTICE:  drop cascades to table s2.pc
"#;

#[test]
fn repeated_statements_with_other_literals_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "plancache.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
