//! The built-in catalog views tools introspect with (pg_tables, pg_indexes, pg_views,
//! pg_matviews, pg_sequences, information_schema's tables, columns and constraint views) and
//! the has_*_privilege functions, against the real binary.
//!
//! Why end to end: ORMs, migration tools and drivers read these views
//! through psql-like clients; the same script run by psql 15 against
//! PostgreSQL 15 and against tusk must print the same rows and errors.
//! The expected output is PostgreSQL 15's for sysviews.sql (captured with
//! `psql -X -A -t -f`; the script path in stderr replaced by SCRIPT).
//! Left out of the script, because tusk differs on purpose: a view's
//! is_updatable / is_insertable_into (tusk cannot write through views
//! yet, so it says NO) and check_clause's text (tusk prints the CHECK
//! expression as written, PostgreSQL its deparsed form).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("sysviews.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE INDEX
CREATE VIEW
SELECT 0
CREATE SEQUENCE
7
public|authors|t||t|f|t|f
public|books|t||t|f|t|f
public|pairs|t||t|f|t|f
public|refs|t||f|f|t|f
authors|authors_pkey|CREATE UNIQUE INDEX authors_pkey ON public.authors USING btree (id)
books|books_isbn_key|CREATE UNIQUE INDEX books_isbn_key ON public.books USING btree (isbn)
books|books_title|CREATE INDEX books_title ON public.books USING btree (title)
pairs|pairs_pkey|CREATE UNIQUE INDEX pairs_pkey ON public.pairs USING btree (a, b)
cheap
counts|f|t
books_id_seq|integer|5|1|2147483647|1|f|1|
tickets|bigint|7|1|9223372036854775807|3|f|1|7
authors|BASE TABLE|YES
books|BASE TABLE|YES
pairs|BASE TABLE|YES
refs|BASE TABLE|YES
authors|id|1||NO|integer|||32|2|0||int4|NO||||NEVER|YES
authors|name|2|'anon'::character varying|NO|character varying|40|160|||||varchar|NO||||NEVER|YES
authors|born|3||YES|date||||||0|date|NO||||NEVER|YES
books|id|1||NO|integer|||32|2|0||int4|YES|ALWAYS|5|1|NEVER|YES
books|author|2||YES|integer|||32|2|0||int4|NO||||NEVER|YES
books|title|3||NO|text||1073741824|||||text|NO||||NEVER|YES
books|price|4||YES|numeric|||8|10|2||numeric|NO||||NEVER|YES
books|tags|5||YES|ARRAY|||||||_text|NO||||NEVER|YES
books|isbn|6||YES|character|13|52|||||bpchar|NO||||NEVER|YES
books|added|7||YES|timestamp without time zone||||||3|timestamp|NO||||NEVER|YES
pairs|a|1||NO|integer|||32|2|0||int4|NO||||NEVER|YES
pairs|b|2||NO|integer|||32|2|0||int4|NO||||NEVER|YES
pairs|c|3||YES|text||1073741824|||||text|NO||||NEVER|YES
refs|x|1||YES|integer|||32|2|0||int4|NO||||NEVER|YES
refs|y|2||YES|integer|||32|2|0||int4|NO||||NEVER|YES
authors_pkey|authors|PRIMARY KEY|NO|NO|
books_author_fkey|books|FOREIGN KEY|NO|NO|
books_isbn_key|books|UNIQUE|NO|NO|YES
pairs_pkey|pairs|PRIMARY KEY|NO|NO|
refs_y_x_fkey|refs|FOREIGN KEY|NO|NO|
7
authors_pkey|authors|id|1|
books_author_fkey|books|author|1|1
books_isbn_key|books|isbn|1|
pairs_pkey|pairs|a|1|
pairs_pkey|pairs|b|2|
refs_y_x_fkey|refs|y|1|2
refs_y_x_fkey|refs|x|2|1
books_author_fkey|authors_pkey|NONE|NO ACTION|CASCADE
refs_y_x_fkey|pairs_pkey|NONE|SET NULL|NO ACTION
t
authors|id|authors_pkey
authors|id|books_author_fkey
books|isbn|books_isbn_key
pairs|a|pairs_pkey
pairs|b|pairs_pkey
pairs|a|refs_y_x_fkey
pairs|b|refs_y_x_fkey
tickets|bigint|64|7|1|9223372036854775807|3|NO
public
t|t|t|t|t|t
f|t
CREATE TABLE
t|f
LOCAL TEMPORARY|
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:26: ERROR:  unrecognized privilege type: "sel"
psql:SCRIPT:27: ERROR:  role "nobody_here" does not exist
psql:SCRIPT:28: ERROR:  relation "no_such_table" does not exist
psql:SCRIPT:29: ERROR:  "books" is not a sequence
"#;

#[test]
fn catalog_views_and_privilege_functions_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "sysviews.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// information_schema says which views can be written through (a simple
/// view can, a DISTINCT one cannot, as PostgreSQL 15), and another
/// session's temporary tables are not listed.
#[test]
fn views_report_updatability_and_other_sessions_temp_tables_are_hidden() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut b = srv.connect();
    crate::util::exec(
        &mut a,
        "CREATE TABLE t (x int); CREATE VIEW v AS SELECT x FROM t; \
         CREATE VIEW w AS SELECT DISTINCT x FROM t",
    );
    crate::util::exec(&mut b, "CREATE TEMP TABLE mine (y int)");
    let rows = crate::util::simple_rows(
        &mut a,
        "SELECT table_name, is_insertable_into FROM information_schema.tables \
         WHERE table_name IN ('v', 'w', 'mine') ORDER BY 1",
    );
    assert_eq!(
        rows,
        vec![
            vec![Some("v".to_string()), Some("YES".to_string())],
            vec![Some("w".to_string()), Some("NO".to_string())]
        ]
    );
    let rows = crate::util::simple_rows(
        &mut b,
        "SELECT table_type FROM information_schema.tables WHERE table_name = 'mine'",
    );
    assert_eq!(rows, vec![vec![Some("LOCAL TEMPORARY".to_string())]]);
    let rows = crate::util::simple_rows(
        &mut a,
        "SELECT table_name, is_updatable FROM information_schema.columns \
         WHERE table_name IN ('v', 'w') ORDER BY 1",
    );
    assert_eq!(
        rows,
        vec![
            vec![Some("v".to_string()), Some("YES".to_string())],
            vec![Some("w".to_string()), Some("NO".to_string())]
        ]
    );
}

/// pg_relation_size and friends read the relation's files: whole pages,
/// growing with the rows, the total the sum of table and indexes, NULL
/// for an OID that is no relation and PostgreSQL's error for a bad fork.
/// (Exact byte counts differ from PostgreSQL's where the page layouts of
/// an empty B-tree or the free-space map do, so the checks are relations
/// between the numbers.)
#[test]
fn relation_size_functions_read_the_files() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    c.batch_execute("CREATE TABLE sz(a int PRIMARY KEY, b text)")
        .unwrap();
    let sizes = |c: &mut postgres::Client| -> (i64, i64, i64, i64) {
        let r = c
            .query_one(
                "SELECT pg_relation_size('sz'), pg_table_size('sz'), \
                 pg_indexes_size('sz'), pg_total_relation_size('sz')",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2), r.get(3))
    };
    let (rel0, _, _, _) = sizes(&mut c);
    c.batch_execute("INSERT INTO sz SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g")
        .unwrap();
    let (rel, table, idx, total) = sizes(&mut c);
    assert!(rel > rel0, "{rel} after 2000 rows, {rel0} before");
    assert_eq!(rel % 8192, 0, "whole pages: {rel}");
    assert!(rel >= 2000 * 100, "{rel} bytes hold 200 kB of rows");
    assert!(table >= rel && idx >= 8192, "{table} {idx}");
    assert_eq!(total, table + idx);
    let main: i64 = c
        .query_one("SELECT pg_relation_size('sz', 'main')", &[])
        .unwrap()
        .get(0);
    assert_eq!(main, rel);
    let none: Option<i64> = c
        .query_one("SELECT pg_relation_size(12345678::regclass)", &[])
        .unwrap()
        .get(0);
    assert_eq!(none, None);
    let e = crate::util::expect_sqlstate(
        c.query("SELECT pg_relation_size('sz', 'nope')", &[]),
        &["22023"],
    );
    assert_eq!(e.message(), "invalid fork name");
}
