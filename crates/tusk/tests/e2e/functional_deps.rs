//! Functional dependency in GROUP BY against the real binary: a column of
//! a table whose primary key is grouped may be used ungrouped, as in
//! PostgreSQL 15 (check_functional_grouping).
//!
//! Why end to end: which references PostgreSQL accepts (the whole key,
//! in every grouping set, of a base table at this query level) and the
//! error of those it refuses are what a user of the rule sees; the rows
//! show that the dependent values come from their own group; a view that
//! relies on a primary key keeps it from being dropped.
//! The expected output is PostgreSQL 15's for functional_deps.sql (`psql
//! -X -A -t -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("functional_deps.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE TABLE
INSERT 0 3
INSERT 0 4
1|k1|t1|b1|2020-01-01
2|k2|t2|b2|
3|k3|t3||2021-05-06
3|k3|t3||2021-05-06
2|k2|t2|b2|
1|k1|t1|b1|2020-01-01
1|k1|2
2|k2|1
|1
|1
2020-01-01|1
2020-02-02|1
2020-01-01|1
2021-05-06|3
|2
1|t1
1|t1
2|t2
2|t2
3|t3
3|t3
CREATE VIEW
DROP VIEW
CREATE VIEW
DROP VIEW
CREATE VIEW
DROP VIEW
CREATE VIEW
0
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:14: ERROR:  column "articles.id" must appear in the GROUP BY clause or be used in an aggregate function
psql:SCRIPT:15: ERROR:  column "aic.changed" must appear in the GROUP BY clause or be used in an aggregate function
psql:SCRIPT:16: ERROR:  column "articles.title" must appear in the GROUP BY clause or be used in an aggregate function
psql:SCRIPT:17: ERROR:  column "a.keywords" must appear in the GROUP BY clause or be used in an aggregate function
psql:SCRIPT:18: ERROR:  column "x.title" must appear in the GROUP BY clause or be used in an aggregate function
psql:SCRIPT:20: ERROR:  cannot drop constraint articles_pkey on table articles because other objects depend on it
DETAIL:  view fdv1 depends on constraint articles_pkey on table articles
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:27: ERROR:  cannot drop constraint articles_pkey on table articles because other objects depend on it
DETAIL:  view fdv2 depends on constraint articles_pkey on table articles
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:28: ERROR:  cannot drop constraint articles_in_category_pkey on table articles_in_category because other objects depend on it
DETAIL:  view fdv2 depends on constraint articles_in_category_pkey on table articles_in_category
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:31: ERROR:  cannot drop constraint articles_pkey on table articles because other objects depend on it
DETAIL:  view fdv4 depends on constraint articles_pkey on table articles
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
"#;

#[test]
fn ungrouped_columns_of_a_grouped_primary_key_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "functional_deps.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
