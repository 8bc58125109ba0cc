//! Aggregates (crates/sql/src/agg.rs, bind/agg.rs) against the fake host:
//! every expected text below is what PostgreSQL 15 printed for the same
//! query, statistics included digit for digit.

use super::*;

/// The single row of `sql`, NULLs as "NULL".
fn row(sql: &str) -> Vec<String> {
    let mut h = FakeHost::new();
    let (_, rows, _) = run(&mut h, sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    assert_eq!(rows.len(), 1, "{sql}");
    rows[0]
        .iter()
        .map(|v| v.clone().unwrap_or_else(|| "NULL".into()))
        .collect()
}

fn rows(sql: &str) -> Vec<Vec<String>> {
    let mut h = FakeHost::new();
    let (_, rows, _) = run(&mut h, sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    rows.into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| v.unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .collect()
}

#[test]
fn string_and_array_aggregates_with_order_by_and_distinct() {
    assert_eq!(
        row("select string_agg(s, ',' order by s desc), string_agg(distinct s, '-'), \
             array_agg(a order by a desc nulls last), array_agg(distinct g) \
             from (values (1,'x',1),(2,'y',1),(3,null,2),(4,'z',2),(null,'w',2),(2,'y',1)) v(a,s,g)"),
        ["z,y,y,x,w", "w-x-y-z", "{4,3,2,2,1,NULL}", "{1,2}"]
    );
    assert_eq!(
        row("select array_agg(x) from (values (array[1,2]), (array[3,4])) v(x)"),
        ["{{1,2},{3,4}}"]
    );
    assert_eq!(
        row("select string_agg(x, ', ') from (values ('\\x01'::bytea), ('\\x0203'::bytea)) v(x)"),
        ["\\x012c200203"]
    );
    // No rows: NULL, not an empty string or array.
    assert_eq!(
        row("select string_agg(s, ','), array_agg(s) from (values ('a')) v(s) where false"),
        ["NULL", "NULL"]
    );
}

#[test]
fn filter_distinct_bool_and_bit_aggregates() {
    assert_eq!(
        row("select count(distinct g), sum(a) filter (where a > 1), count(*) filter (where a is null), \
             bool_and(a > 0), bool_or(a > 3), every(a > 1), bit_and(a), bit_or(a), bit_xor(a) \
             from (values (1,1),(2,1),(3,2),(4,2),(null,2)) v(a,g)"),
        ["2", "9", "1", "t", "t", "f", "0", "7", "4"]
    );
}

#[test]
fn statistics_print_as_postgresql() {
    let data = "from (values (1, 1.5::float8),(2, 2.25),(4, 7.125),(null, 0.1)) v(a, b)";
    assert_eq!(
        row(&format!(
            "select variance(a), stddev(a), var_pop(a), stddev_pop(a), \
             variance(b), stddev(b), var_pop(b), stddev_pop(b) {data}"
        )),
        [
            "2.3333333333333333",
            "1.5275252316519467",
            "1.5555555555555556",
            "1.2472191289246471",
            "9.32515625",
            "3.0537118806462407",
            "6.993867187499999",
            "2.644592064477998"
        ]
    );
    assert_eq!(
        row(&format!(
            "select covar_pop(b, a), covar_samp(b, a), corr(b, a), regr_count(b, a), \
             regr_sxx(b,a), regr_syy(b,a), regr_sxy(b,a), regr_avgx(b,a), regr_avgy(b,a), \
             regr_r2(b,a), regr_slope(b,a), regr_intercept(b,a) {data}"
        )),
        [
            "3.0416666666666665",
            "4.5625",
            "0.9779514754314942",
            "3",
            "4.666666666666666",
            "18.65625",
            "9.125",
            "2.3333333333333335",
            "3.625",
            "0.9563890882986362",
            "1.955357142857143",
            "-0.9375000000000006"
        ]
    );
    assert_eq!(
        row("select stddev(x), variance(x) from (values (1.5::numeric), (2.75), (3.125)) v(x)"),
        ["0.85085741069425571133", "0.72395833333333333333"]
    );
    // One input: the sample statistics are NULL, the population ones 0.
    assert_eq!(
        row("select variance(3), var_pop(3), stddev_samp(3.0::float8), stddev_pop(3.0::float8)"),
        ["NULL", "0", "NULL", "0"]
    );
}

#[test]
fn group_by_expressions_aliases_and_positions() {
    assert_eq!(
        rows("select a % 2 as m, count(*), sum(a) from (values (1),(2),(3),(4),(5)) v(a) group by m order by m"),
        [["0", "2", "6"], ["1", "3", "9"]]
    );
    assert_eq!(
        rows(
            "select (a % 2) + 1, count(*) from (values (1),(2),(3)) v(a) group by a % 2 order by 1"
        ),
        [["1", "1"], ["2", "2"]]
    );
    assert_eq!(
        rows("select length(s), string_agg(s, '' order by s) from (values ('ab'),('c'),('de'),('f')) v(s) group by 1 order by 1"),
        [["1", "cf"], ["2", "abde"]]
    );
}

#[test]
fn aggregate_errors_are_postgresqls() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "select a % 3, a from (values (1)) v(a) group by a % 3",
            "42803",
            "column \"v.a\" must appear in the GROUP BY clause or be used in an aggregate function",
        ),
        (
            "select string_agg(a, ',') from (values (1)) v(a)",
            "42883",
            "function string_agg(integer, unknown) does not exist",
        ),
        (
            "select sum(a) filter (where 1) from (values (1)) v(a)",
            "42804",
            "argument of FILTER must be type boolean, not type integer",
        ),
        (
            "select string_agg(distinct s, ',' order by a) from (values (1, 'a')) v(a, s)",
            "42P10",
            "in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list",
        ),
        (
            "select array_agg(x) from (values (array[1,2]), (array[3])) v(x)",
            "2202E",
            "cannot accumulate arrays of different dimensionality",
        ),
        (
            "select array_agg(x) from (values (array[1,2]), (null)) v(x)",
            "22004",
            "cannot accumulate null arrays",
        ),
        (
            "select sum(count(*)) from (values (1)) v(a)",
            "42803",
            "aggregate function calls cannot be nested",
        ),
        (
            "select 1 from (values (1)) v(a) where bool_and(a > 0)",
            "42803",
            "aggregate functions are not allowed in WHERE",
        ),
    ];
    for (sql, code, msg) in cases {
        let e = err(sql);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (*code, *msg),
            "{sql}"
        );
    }
}

#[test]
fn grouping_sets_rollup_cube_and_grouping() {
    let rollup = "select a, b, sum(v), grouping(a), grouping(a,b) \
                  from (values (1,1,10),(1,2,20),(2,1,30),(2,2,40),(2,2,5)) gs(a,b,v) \
                  group by rollup (a, b) order by a nulls last, b nulls last";
    assert_eq!(
        rows(rollup),
        [
            ["1", "1", "10", "0", "0"],
            ["1", "2", "20", "0", "0"],
            ["1", "NULL", "30", "0", "1"],
            ["2", "1", "30", "0", "0"],
            ["2", "2", "45", "0", "0"],
            ["2", "NULL", "75", "0", "1"],
            ["NULL", "NULL", "105", "1", "3"],
        ]
    );
    let cube = "select a, b, count(*), grouping(b, a) from (values (1,1),(1,2),(2,2)) gs(a,b) \
                group by cube (a, b) having count(*) > 1 order by 1 nulls last, 2 nulls last";
    assert_eq!(
        rows(cube),
        [
            ["1", "NULL", "2", "2"],
            ["NULL", "2", "2", "1"],
            ["NULL", "NULL", "3", "3"],
        ]
    );
    // The empty set gives its row over no input; (a) gives none.
    assert_eq!(
        rows("select count(*) from (values (1)) v(a) where false group by grouping sets ((), (a))"),
        [["0"]]
    );
    let e = err("select grouping(a) from (values (1)) v(a)");
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        (
            "42803",
            "arguments to GROUPING must be grouping expressions of the associated query level"
        )
    );
}

#[test]
fn set_returning_functions_in_the_select_list_run_in_lockstep() {
    assert_eq!(
        rows("select generate_series(1, 3), unnest(array['a', 'b'])"),
        [["1", "a"], ["2", "b"], ["3", "NULL"]]
    );
    assert_eq!(
        rows("select a, generate_series(1, a) from (values (1), (0), (2)) v(a)"),
        [["1", "1"], ["2", "1"], ["2", "2"]]
    );
}
