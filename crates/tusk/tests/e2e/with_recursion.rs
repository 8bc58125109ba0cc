//! Where a WITH RECURSIVE query may refer to itself, against the real
//! binary: PostgreSQL's invalid_recursion errors (form, non-recursive
//! term, subquery, outer join, INTERSECT/EXCEPT, data-modifying
//! statements), with their positions, and the references it allows (inner
//! join, FROM subquery, a shadowing
//! inner WITH of the same name).
//!
//! Why end to end: the error and its LINE/caret are what a client sees.
//! The expected output is PostgreSQL 15's for with_recursion.sql
//! (`psql -X -A -t -f`).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("with_recursion.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 3
1
2
3
4
1
5
1
2
3
DROP TABLE
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:3: ERROR:  recursive query "x" does not have the form non-recursive-term UNION [ALL] recursive-term
LINE 1: WITH RECURSIVE x(n) AS (SELECT 1 INTERSECT SELECT n+1 FROM x...
                       ^
psql:SCRIPT:4: ERROR:  recursive query "x" does not have the form non-recursive-term UNION [ALL] recursive-term
LINE 1: WITH RECURSIVE x(n) AS (SELECT n FROM x) SELECT * FROM x;
                       ^
psql:SCRIPT:5: ERROR:  recursive reference to query "x" must not appear within its non-recursive term
LINE 1: WITH RECURSIVE x(n) AS (SELECT n FROM x UNION ALL SELECT 1) ...
                                              ^
psql:SCRIPT:6: ERROR:  recursive reference to query "x" must not appear within a subquery
LINE 1: WITH RECURSIVE x(n) AS (WITH x1 AS (SELECT 1 FROM x) SELECT ...
                                                          ^
psql:SCRIPT:7: ERROR:  recursive reference to query "x" must not appear within an outer join
LINE 1: ...RE a = 1 UNION ALL SELECT x.n+1 FROM wr LEFT JOIN x ON x.n =...
                                                             ^
psql:SCRIPT:8: ERROR:  recursive reference to query "x" must not appear within an outer join
LINE 1: ...a FROM wr WHERE a = 1 UNION ALL SELECT x.n+1 FROM x RIGHT JO...
                                                             ^
psql:SCRIPT:10: ERROR:  recursive reference to query "x" must not appear within a subquery
LINE 1: ... ALL SELECT n+1 FROM wr WHERE a IN (SELECT n FROM x)) SELECT...
                                                             ^
psql:SCRIPT:12: ERROR:  recursive reference to query "x" must not appear within INTERSECT
LINE 1: ...UNION ALL (SELECT 1 INTERSECT ALL SELECT n+1 FROM x)) SELECT...
                                                             ^
psql:SCRIPT:13: ERROR:  recursive reference to query "x" must not appear within EXCEPT
LINE 1: ...LECT 1 UNION ALL (SELECT 1 EXCEPT SELECT n+1 FROM x)) SELECT...
                                                             ^
psql:SCRIPT:14: ERROR:  ORDER BY in a recursive query is not implemented
LINE 1: ...AS (SELECT 1 UNION ALL SELECT n+1 FROM x ORDER BY 1) SELECT ...
                                                             ^
psql:SCRIPT:15: ERROR:  OFFSET in a recursive query is not implemented
LINE 1: ...ECT 1 UNION ALL SELECT n+1 FROM x LIMIT 10 OFFSET 1) SELECT ...
                                                             ^
psql:SCRIPT:16: ERROR:  recursive query "x" must not contain data-modifying statements
LINE 1: WITH RECURSIVE x(n) AS (WITH sub AS (SELECT * FROM x) DELETE...
                       ^
"#;

#[test]
fn recursive_reference_placement_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "with_recursion.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    assert_eq!(errs, PG_STDERR, "stderr: {}", r.describe());
}
