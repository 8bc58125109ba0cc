//! Privileges beyond tables against the real binary: GRANT/REVOKE ON SCHEMA, FUNCTION,
//! PROCEDURE, ALL PROCEDURES IN SCHEMA, their checks, ACL columns and psql's \dp and \dn+.
//!
//! Why end to end: a privilege is only real when a session of another role
//! is refused, so the script switches roles and its output must be
//! PostgreSQL 15's (`psql -X -A -t -f privileges_more.sql` in a fresh
//! database; the script path in stderr replaced by SCRIPT, LINE/caret
//! lines left out by `error_lines`). It also covers client_min_messages
//! (a NOTICE below the level is not sent); privileges_columns.sql covers
//! column privileges (attacl, \dp's Column privileges, the checks of
//! SELECT/INSERT/UPDATE/DELETE/RETURNING, has_column_privilege);
//! privileges_defaults.sql covers ALTER DEFAULT PRIVILEGES (\ddp, the
//! lists new objects start with), GRANT ON LANGUAGE and DOMAIN,
//! has_type_privilege and \df+.

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("privileges_more.sql");

const PG_STDOUT: &str = r#"SET
DROP TABLE
RESET
CREATE ROLE
CREATE ROLE
CREATE SCHEMA
CREATE TABLE

SET
f|f
RESET
GRANT
GRANT
{postgres=UC/postgres,regress_pm_alice=U/postgres}
SET
t|f
GRANT
RESET
GRANT
SET
CREATE TABLE
GRANT
RESET
{postgres=UC/postgres,regress_pm_alice=UC*/postgres,regress_pm_bob=C/regress_pm_alice}
REVOKE
{postgres=UC/postgres,regress_pm_alice=UC/postgres}
CREATE FUNCTION
CREATE PROCEDURE

REVOKE
{postgres=X/postgres}
REVOKE
GRANT
SET
f
RESET
SET
10
t
RESET
GRANT
SET
CALL
RESET
pm_f|{postgres=X/postgres,regress_pm_bob=X/postgres}
pm_p|{postgres=X/postgres,regress_pm_alice=X/postgres}
pm_s|t|table|postgres=arwdDxt/postgres
regress_pm_alice=r/postgres||
pm_s|postgres|postgres=UC/postgres
regress_pm_alice=UC/postgres|
DROP FUNCTION
DROP PROCEDURE
DROP TABLE
DROP TABLE
REVOKE
DROP SCHEMA
DROP ROLE
DROP ROLE
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:10: ERROR:  permission denied for schema pm_s
psql:SCRIPT:11: ERROR:  permission denied for schema pm_s
psql:SCRIPT:19: ERROR:  permission denied for schema pm_s
psql:SCRIPT:21: WARNING:  no privileges were granted for "pm_s"
psql:SCRIPT:29: ERROR:  dependent privileges exist
HINT:  Use CASCADE to revoke them too.
psql:SCRIPT:32: ERROR:  invalid privilege type SELECT for schema
psql:SCRIPT:33: ERROR:  schema "nosuch" does not exist
psql:SCRIPT:39: ERROR:  pm_p(integer) is not a function
psql:SCRIPT:41: ERROR:  invalid privilege type USAGE for function
psql:SCRIPT:42: ERROR:  function pm_nosuch(integer) does not exist
psql:SCRIPT:45: ERROR:  permission denied for function pm_f
psql:SCRIPT:46: ERROR:  permission denied for procedure pm_p
psql:SCRIPT:48: ERROR:  must be owner of function pm_f
"#;

#[test]
fn schema_and_routine_privileges_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "privileges_more.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

const COLUMNS_SCRIPT: &str = include_str!("privileges_columns.sql");

const COLUMNS_PG_STDOUT: &str = r#"CREATE ROLE
CREATE TABLE
INSERT 0 1
GRANT
one|{regress_pc_user=r/postgres}
two|{regress_pc_user=a/postgres}
three|{regress_pc_user=w/postgres}
public|pc_t|table||one:
  regress_pc_user=r/postgres
two:
  regress_pc_user=a/postgres
three:
  regress_pc_user=w/postgres|
SET
1
1
1
1
INSERT 0 1

INSERT 0 1
UPDATE 3
UPDATE 1
t|f|t

RESET
REVOKE
GRANT
one|{regress_pc_user=r/postgres}
two|{regress_pc_user=ar/postgres}
SET
1|2
|20
|21
RESET
1|2|34|4
|20|33|
|21|33|
DROP TABLE
DROP ROLE
"#;

const COLUMNS_PG_STDERR: &str = r#"psql:SCRIPT:5: ERROR:  invalid privilege type DELETE for column
psql:SCRIPT:6: ERROR:  column "nosuch" of relation "pc_t" does not exist
psql:SCRIPT:10: ERROR:  permission denied for table pc_t
psql:SCRIPT:12: ERROR:  permission denied for table pc_t
psql:SCRIPT:16: ERROR:  permission denied for table pc_t
psql:SCRIPT:18: ERROR:  permission denied for table pc_t
psql:SCRIPT:20: ERROR:  permission denied for table pc_t
psql:SCRIPT:23: ERROR:  permission denied for table pc_t
psql:SCRIPT:24: ERROR:  permission denied for table pc_t
psql:SCRIPT:25: ERROR:  permission denied for table pc_t
psql:SCRIPT:27: ERROR:  column "nosuch" of relation "pc_t" does not exist
psql:SCRIPT:35: ERROR:  permission denied for table pc_t
"#;

#[test]
fn column_privileges_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "privileges_columns.sql", COLUMNS_SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, COLUMNS_PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, COLUMNS_PG_STDERR, "stderr: {}", r.describe());
}

const DEFAULTS_SCRIPT: &str = include_str!("privileges_defaults.sql");

const DEFAULTS_PG_STDOUT: &str = r#"CREATE ROLE
CREATE ROLE
CREATE SCHEMA
GRANT
ALTER DEFAULT PRIVILEGES
ALTER DEFAULT PRIVILEGES
regress_pd_owner|pd_s|table|regress_pd_reader=r/regress_pd_owner
regress_pd_owner||function|regress_pd_owner=X/regress_pd_owner
SET
CREATE TABLE
CREATE FUNCTION
RESET
{regress_pd_owner=arwdDxt/regress_pd_owner,regress_pd_reader=r/regress_pd_owner}
{regress_pd_owner=X/regress_pd_owner}
t|f
ALTER DEFAULT PRIVILEGES
ALTER DEFAULT PRIVILEGES
0
CREATE DOMAIN
REVOKE
f|t
REVOKE
sql|{postgres=U/postgres}
SET
RESET
GRANT
pd_s|f|integer||func|volatile|unsafe|regress_pd_owner|invoker|regress_pd_owner=X/regress_pd_owner|sql|SELECT 1|
DROP DOMAIN
DROP FUNCTION
DROP TABLE
DROP SCHEMA
DROP ROLE
DROP ROLE
"#;

const DEFAULTS_PG_STDERR: &str = r#"psql:SCRIPT:7: ERROR:  cannot use IN SCHEMA clause when using GRANT/REVOKE ON SCHEMAS
psql:SCRIPT:8: ERROR:  syntax error at or near "LARGE"
psql:SCRIPT:24: ERROR:  language "c" is not trusted
DETAIL:  GRANT and REVOKE are not allowed on untrusted languages, because only superusers can use untrusted languages.
psql:SCRIPT:27: ERROR:  permission denied for language sql
"#;

#[test]
fn default_privileges_and_languages_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "privileges_defaults.sql", DEFAULTS_SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, DEFAULTS_PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, DEFAULTS_PG_STDERR, "stderr: {}", r.describe());
}
