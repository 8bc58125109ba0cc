//! SQL/MED catalog DDL against the real binary: the same script run by psql 15 against
//! PostgreSQL 15 and against tusk prints the same rows, NOTICEs, WARNINGs and errors.
//!
//! Why end to end: foreign-data wrappers, servers and user mappings are
//! catalog rows that psql's own queries read (\dew+, \des+, \deu+
//! use pg_options_to_table, array_to_string over aclitem[], regproc and
//! pg_description), so the test is psql's output itself: option
//! ADD/SET/DROP and postgresql_fdw_validator's errors, superuser and
//! USAGE checks, GRANT USAGE, the pg_user_mappings view hiding options
//! from a role without rights, foreign tables (CREATE with column and
//! table OPTIONS, \det+, \d+, ALTER ... OPTIONS, the error reading one,
//! constraints refused), DROP ... CASCADE's NOTICE lists and a
//! rolled-back DROP. The expected output is PostgreSQL 15's for
//! foreign_data.sql (`psql -X -A -t -f`, script path in stderr replaced
//! by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("foreign_data.sql");

const PG_STDOUT: &str = r#"CREATE ROLE
CREATE ROLE
SET
CREATE FOREIGN DATA WRAPPER
COMMENT
CREATE FOREIGN DATA WRAPPER
CREATE FOREIGN DATA WRAPPER
dummy|-|-|
foo|-|-|{testing=1,another=2}
postgresql|-|postgresql_fdw_validator|
ALTER FOREIGN DATA WRAPPER
dummy|fdw_owner|-|-|||useless
foo|fdw_owner|-|-||(another '3', c '4')|
postgresql|fdw_owner|-|postgresql_fdw_validator|||
SET
RESET
CREATE SERVER
CREATE SERVER
CREATE SERVER
ALTER SERVER
GRANT
GRANT
s1|fdw_owner|foo|fdw_owner=U/fdw_owner
fdw_user=U/fdw_owner||1.0|(servername 's1')|
s2|fdw_owner|postgresql||oracle|1.1|(host 'a', dbname 'b')|
CREATE USER MAPPING
CREATE USER MAPPING
CREATE USER MAPPING
s1|fdw_owner|("user" 'x')
s2|public|("user" 'p', password 'secret')
CREATE FOREIGN TABLE
COMMENT
public|ft1|s1|(delimiter ',', quote '"')|ft1
ALTER FOREIGN TABLE
ALTER FOREIGN TABLE
ALTER FOREIGN TABLE
c1|integer||not null||("param 1" 'val1')|plain||
c2|text||||(param2 'V2', p3 'x')|extended||
c3|date|||||plain||
c4|integer||||(p1 'v1')|plain||
DROP FOREIGN TABLE
SET
s1|fdw_owner|
s2|public|
RESET
DROP FOREIGN DATA WRAPPER
DROP USER MAPPING
DROP USER MAPPING
DROP SERVER
BEGIN
DROP FOREIGN DATA WRAPPER
ROLLBACK
s2
dummy|fdw_owner|-|-
postgresql|fdw_owner|-|postgresql_fdw_validator
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:7: ERROR:  function bar(text[], oid) does not exist
psql:SCRIPT:8: ERROR:  option "testing" provided more than once
psql:SCRIPT:10: ERROR:  foreign-data wrapper "foo" already exists
psql:SCRIPT:12: ERROR:  option "c" not found
psql:SCRIPT:14: ERROR:  invalid option "nonexistent"
HINT:  There are no valid options in this context.
psql:SCRIPT:17: ERROR:  permission denied to create foreign-data wrapper "bar"
HINT:  Must be superuser to create a foreign-data wrapper.
psql:SCRIPT:18: ERROR:  permission denied to alter foreign-data wrapper "foo"
HINT:  Must be superuser to alter a foreign-data wrapper.
psql:SCRIPT:19: ERROR:  permission denied for foreign-data wrapper foo
psql:SCRIPT:22: ERROR:  server "s1" already exists
psql:SCRIPT:23: NOTICE:  server "s1" already exists, skipping
psql:SCRIPT:25: ERROR:  invalid option "foo"
HINT:  Valid options in this context are: authtype, service, connect_timeout, dbname, host, hostaddr, port, tty, options, requiressl, sslmode, gsslib
psql:SCRIPT:31: ERROR:  user mapping for "fdw_owner" already exists for server "s1"
psql:SCRIPT:32: NOTICE:  user mapping for "fdw_owner" already exists for server "s1", skipping
psql:SCRIPT:34: ERROR:  invalid option "username"
HINT:  Valid options in this context are: user, password
psql:SCRIPT:35: ERROR:  user mapping for "public" does not exist for server "s1"
psql:SCRIPT:38: ERROR:  primary key constraints are not supported on foreign tables
LINE 1: CREATE FOREIGN TABLE ft2 (a int PRIMARY KEY) SERVER s1;
                                        ^
psql:SCRIPT:39: ERROR:  server "nope" does not exist
psql:SCRIPT:42: ERROR:  foreign-data wrapper "foo" has no handler
psql:SCRIPT:43: ERROR:  cannot create index on relation "ft1"
DETAIL:  This operation is not supported for foreign tables.
psql:SCRIPT:46: ERROR:  option "nope" not found
psql:SCRIPT:47: NOTICE:  relation "nope" does not exist, skipping
psql:SCRIPT:49: ERROR:  foreign table "nope" does not exist
psql:SCRIPT:50: NOTICE:  foreign table "nope" does not exist, skipping
psql:SCRIPT:54: ERROR:  cannot drop server s2 because other objects depend on it
DETAIL:  user mapping for public on server s2 depends on server s2
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:55: ERROR:  cannot drop foreign-data wrapper foo because other objects depend on it
DETAIL:  server s1 depends on foreign-data wrapper foo
user mapping for fdw_owner on server s1 depends on server s1
foreign table ft1 depends on server s1
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:56: NOTICE:  drop cascades to 3 other objects
DETAIL:  drop cascades to server s1
drop cascades to user mapping for fdw_owner on server s1
drop cascades to foreign table ft1
psql:SCRIPT:57: ERROR:  server "s7" does not exist
psql:SCRIPT:58: NOTICE:  server "s7" does not exist, skipping
psql:SCRIPT:60: NOTICE:  server "nonexistent" does not exist, skipping
psql:SCRIPT:62: NOTICE:  drop cascades to server s2
"#;

#[test]
fn foreign_data_wrappers_servers_and_user_mappings_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "foreign_data.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    assert_eq!(errs, PG_STDERR, "stderr: {}", r.describe());
}
