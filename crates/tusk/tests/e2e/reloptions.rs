//! Storage parameters against the real binary: the same scripts run by
//! psql 15 against PostgreSQL 15 and against tusk print the same rows and
//! errors.
//!
//! Why end to end: pg_class.reloptions and pg_attribute.attoptions are
//! read by psql's \d+ and pg_dump, their errors are PostgreSQL's
//! (reloptions.c's messages and DETAILs), and fillfactor and
//! vacuum_truncate change what the heap does, seen in pg_relation_size:
//! a table at fillfactor 50 takes about twice the pages, its rows'
//! updates find room on their own page, and VACUUM leaves the emptied
//! pages of a vacuum_truncate=false table.
//! The expected output is PostgreSQL 15's for reloptions.sql (`psql -X
//! -A -t -f`, script path in stderr replaced by SCRIPT) and for
//! reloptions_describe.sql (`psql -X -f`: \d+'s footer with Options,
//! its Storage and Stats target columns).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("reloptions.sql");
const DESCRIBE: &str = include_str!("reloptions_describe.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
{fillfactor=30,autovacuum_enabled=false}
{autovacuum_vacuum_cost_delay=23}
CREATE TABLE
{user_catalog_table=on,log_autovacuum_min_duration=-1}
ALTER TABLE
{autovacuum_enabled=false,fillfactor=31,autovacuum_analyze_scale_factor=0.3}
ALTER TABLE
{fillfactor=31,autovacuum_analyze_scale_factor=0.3,autovacuum_enabled=true}
{autovacuum_vacuum_cost_delay=24}
ALTER TABLE
{autovacuum_analyze_scale_factor=0.3,autovacuum_enabled=true}

ALTER TABLE
ALTER TABLE
i|integer||not null||plain|||
t|text||||extended|||
CREATE INDEX
{fillfactor=70,deduplicate_items=off}
ALTER INDEX
ALTER INDEX
{fillfactor=80}
ALTER TABLE
ALTER TABLE
i|10000|
t|-1|{n_distinct=-0.5,n_distinct_inherited=10}
ALTER TABLE
i|10000|
t|-1|{n_distinct_inherited=10}
CREATE INDEX
ALTER INDEX
1|100
2|-1
SELECT 1
ALTER MATERIALIZED VIEW
{fillfactor=40,autovacuum_enabled=false}
SELECT 1
{fillfactor=60}
CREATE TABLE
CREATE SEQUENCE
CREATE TABLE
CREATE TABLE
INSERT 0 2000
INSERT 0 2000
t|t
UPDATE 2000
UPDATE 2000
t|t
CREATE TABLE
INSERT 0 1000
DELETE 1000
VACUUM
t
ALTER TABLE
VACUUM
t
DROP TABLE
DROP MATERIALIZED VIEW
DROP SEQUENCE
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:5: ERROR:  value 2 out of bounds for option "fillfactor"
DETAIL:  Valid values are between "10" and "100".
psql:SCRIPT:6: ERROR:  value -30.1 out of bounds for option "fillfactor"
DETAIL:  Valid values are between "10" and "100".
psql:SCRIPT:7: ERROR:  value 110.0 out of bounds for option "autovacuum_analyze_scale_factor"
DETAIL:  Valid values are between "0.000000" and "100.000000".
psql:SCRIPT:8: ERROR:  unrecognized parameter "nope"
psql:SCRIPT:9: ERROR:  unrecognized parameter namespace "nope"
psql:SCRIPT:10: ERROR:  invalid value for integer option "fillfactor": true
psql:SCRIPT:11: ERROR:  invalid value for boolean option "autovacuum_enabled": maybe
psql:SCRIPT:12: ERROR:  invalid value for enum option "vacuum_index_cleanup": sometimes
DETAIL:  Valid values are "on", "off", and "auto".
psql:SCRIPT:13: ERROR:  value 2000 out of bounds for option "parallel_workers"
DETAIL:  Valid values are between "0" and "1024".
psql:SCRIPT:14: ERROR:  parameter "fillfactor" specified more than once
psql:SCRIPT:15: ERROR:  unrecognized parameter "fillfactor"
psql:SCRIPT:16: ERROR:  tables declared WITH OIDS are not supported
psql:SCRIPT:24: ERROR:  RESET must not include values for parameters
psql:SCRIPT:28: ERROR:  unrecognized parameter "fillfactor"
psql:SCRIPT:29: NOTICE:  relation "ro_missing" does not exist, skipping
psql:SCRIPT:35: ERROR:  value 5 out of bounds for option "fillfactor"
DETAIL:  Valid values are between "10" and "100".
psql:SCRIPT:36: ERROR:  unrecognized parameter "autovacuum_enabled"
psql:SCRIPT:42: WARNING:  lowering statistics target to 10000
psql:SCRIPT:43: ERROR:  statistics target -5 is too low
psql:SCRIPT:44: ERROR:  value -2 out of bounds for option "n_distinct"
DETAIL:  Valid values are between "-1.000000" and "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.000000".
psql:SCRIPT:45: ERROR:  unrecognized parameter "fillfactor"
psql:SCRIPT:46: ERROR:  column "zz" of relation "ro" does not exist
psql:SCRIPT:52: ERROR:  cannot alter statistics on non-expression column "i" of index "ro_e"
HINT:  Alter statistics on table column instead.
psql:SCRIPT:53: ERROR:  column number 3 of relation "ro_e" does not exist
psql:SCRIPT:54: ERROR:  cannot refer to non-index column by number
psql:SCRIPT:63: ERROR:  unrecognized parameter "fillfactor"
psql:SCRIPT:65: ERROR:  ALTER action SET cannot be performed on relation "ro_s"
DETAIL:  This operation is not supported for sequences.
"#;

const PG_DESCRIBE: &str = r#"CREATE TABLE
ALTER TABLE
ALTER TABLE
                                                   Table "public.rd"
 Column |         Type          | Collation | Nullable | Default | Storage  | Compression | Stats target | Description 
--------+-----------------------+-----------+----------+---------+----------+-------------+--------------+-------------
 i      | integer               |           |          |         | plain    |             | 500          | 
 t      | text                  |           |          |         | external |             |              | 
 v      | character varying(10) |           |          |         | main     |             |              | 
Access method: heap
Options: fillfactor=70, autovacuum_enabled=off, toast.vacuum_truncate=false

DROP TABLE
"#;

const PG_DESCRIBE_ERR: &str = r#"psql:SCRIPT:4: ERROR:  column data type integer can only have storage PLAIN
psql:SCRIPT:5: ERROR:  invalid storage type "bogus"
"#;

#[test]
fn storage_parameters_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "reloptions.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

#[test]
fn describe_shows_options_as_postgresql() {
    let srv = TestServer::start(Opts::new());
    let path = srv.tmp_dir().join("reloptions_describe.sql");
    std::fs::write(&path, DESCRIBE).expect("write the script");
    let r = srv.psql(
        crate::util::Via::Unix,
        &["-X", "-f", &path.display().to_string()],
    );
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_DESCRIBE, "stdout: {}", r.describe());
    let errs = r
        .stderr
        .replace(&format!("psql:{}:", path.display()), "psql:SCRIPT:");
    assert_eq!(
        crate::util::error_lines(&errs),
        PG_DESCRIBE_ERR,
        "stderr: {}",
        r.describe()
    );
}
