//! Aggregates, GROUP BY expressions and set-returning functions in the
//! select list as clients see them: one script run by psql 15 against
//! PostgreSQL 15 and against tusk prints the same rows and errors
//! (string_agg/array_agg/json_agg with ORDER BY, DISTINCT and FILTER,
//! array_agg of arrays, bool/bit aggregates, the statistics digit for
//! digit, GROUP BY an alias, a position and an expression with HAVING,
//! generate_series/unnest in lockstep in the select list and feeding an
//! INSERT, ROLLUP and CUBE with GROUPING() and HAVING, random() after
//! setseed(), PostgreSQL's errors); the postgres
//! crate reads the aggregates' result types in binary.
//!
//! The expected output is PostgreSQL 15's for aggregates.sql (captured
//! with `psql -X -A -t -f`; the script path in stderr replaced by SCRIPT).
//! Of stderr, the `psql:`, DETAIL, HINT and CONTEXT lines are compared:
//! tusk does not yet point at error positions (PostgreSQL's `LINE 1:`).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("aggregates.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 5
1|b,a|{2,1}|2|2
2|d,c|{5,4,3}|2|12
{{1,2},{3,4},{5,6},{7,8},{9,10}}|{1,2}|["b", "a", null, "d", "c"]|t|t|f|0|7|1
2.5000000000000000|1.5811388300841897|12.0125000000000000|3.4659053651246740|9.32515625|3.0537118806462407|6.993867187499999|2.644592064477998
0.5187500000000003|0.691666666666667|0.12405932531119077|4|10|27.975468749999997|2.075000000000001|3|2.74375|0.015390716196667856|0.2075000000000001|2.12125
0|2|ad
1|3|bc
11|1.1
12|12.2
|1
1|4
1|1|1
1|2|
2|3|1
2|4|2
3|5|
3|6|
1|x
2|x
3|x
INSERT 0 3
1|2|1+2
2|3|3+4+5
3|3|10+11+12
1|0|2|0|0
1|1|1|0|0
1||3|0|1
2|0|4|0|0
2|1|8|0|0
2||12|0|1
3|0|22|0|0
3|1|11|0|0
3||33|0|1
||48|1|3
1|f|2
1||2
2|f|2
2||3
3|t|3
3||3
|f|4
|t|4
||8

0.9851677175347999|0.825301858027981
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:18: ERROR:  column "m.id" must appear in the GROUP BY clause or be used in an aggregate function
psql:SCRIPT:19: ERROR:  function string_agg(integer, unknown) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:20: ERROR:  argument of FILTER must be type boolean, not type integer
psql:SCRIPT:21: ERROR:  in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list
psql:SCRIPT:22: ERROR:  cannot accumulate arrays of different dimensionality
psql:SCRIPT:23: ERROR:  set-returning functions are not allowed in WHERE
psql:SCRIPT:24: ERROR:  aggregate function calls cannot contain set-returning function calls
HINT:  You might be able to move the set-returning function into a LATERAL FROM item.
psql:SCRIPT:25: ERROR:  setseed parameter 2 is out of allowed range [-1,1]
psql:SCRIPT:28: ERROR:  aggregate function calls cannot be nested
"#;

#[test]
fn aggregates_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "aggregates.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors: String = errs
        .lines()
        .filter(|l| {
            l.starts_with("psql:")
                || l.starts_with("DETAIL:")
                || l.starts_with("HINT:")
                || l.starts_with("CONTEXT:")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// The result types PostgreSQL gives (sum(int4) bigint, avg(int4) and
/// stddev(int4) numeric, stddev(float8) float8, bit_and(int2) smallint,
/// string_agg text, array_agg int4[]) reach a binary-reading driver.
#[test]
fn aggregate_result_types_reach_the_driver() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let row = c
        .query_one(
            "SELECT sum(a), avg(a)::text, stddev(a)::text, stddev(a::float8), \
             bit_and(a::int2), string_agg(a::text, '-' ORDER BY a DESC), \
             array_agg(a ORDER BY a), count(*) FILTER (WHERE a > 1) \
             FROM (VALUES (1), (2), (4)) v(a)",
            &[],
        )
        .expect("aggregate query");
    let types: Vec<String> = row
        .columns()
        .iter()
        .map(|c| c.type_().name().to_string())
        .collect();
    assert_eq!(
        types,
        ["int8", "text", "text", "float8", "int2", "text", "_int4", "int8"]
    );
    assert_eq!(row.get::<_, i64>(0), 7);
    assert_eq!(row.get::<_, String>(1), "2.3333333333333333");
    assert_eq!(row.get::<_, String>(2), "1.5275252316519467");
    assert_eq!(row.get::<_, f64>(3), 1.5275252316519468);
    assert_eq!(row.get::<_, i16>(4), 0);
    assert_eq!(row.get::<_, String>(5), "4-2-1");
    assert_eq!(row.get::<_, Vec<i32>>(6), vec![1, 2, 4]);
    assert_eq!(row.get::<_, i64>(7), 2);
}
