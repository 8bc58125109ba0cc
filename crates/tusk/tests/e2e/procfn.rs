//! Routine definitions against the real binary: ALTER FUNCTION /
//! PROCEDURE / ROUTINE, pg_get_functiondef, SQL-standard bodies (`RETURN`,
//! `BEGIN ATOMIC`), OUT/INOUT parameters and CALL print what PostgreSQL
//! 15 prints for the same script.
//!
//! Why end to end: what these statements change is visible only through
//! the catalog (pg_proc columns, `\df`, pg_get_functiondef's text) and
//! through CALL's result row, which psql shows; errors carry PostgreSQL's
//! positions and hints. The expected output is PostgreSQL 15's for
//! procfn.sql (`psql -X -A -t -f`, script path in stderr replaced by
//! SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("procfn.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE FUNCTION
v|f|f|f|100
ALTER FUNCTION
i|t|t|t|5
CREATE OR REPLACE FUNCTION public.pf_f(integer)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE STRICT SECURITY DEFINER LEAKPROOF COST 5
AS $function$SELECT $1 > 0$function$

ALTER FUNCTION
CREATE OR REPLACE FUNCTION public.pf_f(integer)
 RETURNS boolean
 LANGUAGE sql
 SET work_mem TO '2MB'
AS $function$SELECT $1 > 0$function$

ALTER FUNCTION

ALTER FUNCTION
t
ALTER ROUTINE
CREATE SCHEMA
ALTER FUNCTION
t
ALTER FUNCTION
CREATE ROLE
ALTER FUNCTION
pf_user
CREATE ROLE
SET
ALTER FUNCTION
RESET
DROP ROLE
CREATE PROCEDURE
ALTER PROCEDURE
public|pf_p||IN x text|proc
CREATE OR REPLACE PROCEDURE public.pf_p(IN x text)
 LANGUAGE sql
 SECURITY DEFINER
AS $procedure$ INSERT INTO pf_t VALUES (1, x) $procedure$

CALL
DROP ROUTINE
CREATE FUNCTION
5
CREATE FUNCTION
f
CREATE OR REPLACE FUNCTION public.pf_ba()
 RETURNS boolean
 LANGUAGE sql
BEGIN ATOMIC
 SELECT 1;
 SELECT false;
END

t|t
CREATE PROCEDURE
CALL
1|a
2|q
3|qq
CREATE PROCEDURE
CALL
CREATE OR REPLACE PROCEDURE public.pf_empty()
 LANGUAGE sql
BEGIN ATOMIC
END

CREATE PROCEDURE
11|x10
7|x5
public|pf_o||INOUT a integer, OUT b text, IN c integer|proc
INOUT a integer, OUT b text, IN c integer
CREATE PROCEDURE
DROP PROCEDURE
CREATE FUNCTION
8|z4
record|x integer, OUT y integer, OUT z text
CREATE FUNCTION
DROP FUNCTION
DROP FUNCTION
DROP FUNCTION
DROP FUNCTION
DROP PROCEDURE
DROP PROCEDURE
DROP SCHEMA
DROP ROLE
DROP TABLE
CREATE SCHEMA
CREATE TABLE
INSERT 0 1
CREATE FUNCTION
7MB s1, public 42
4MB
"$user", public
CREATE FUNCTION
11MB|11MB
BEGIN
SET
11MB
11MB
COMMIT
11MB
11MB
ALTER FUNCTION
11MB
11MB
CREATE ROLE
CREATE TABLE
INSERT 0 1
CREATE FUNCTION
CREATE FUNCTION
CREATE FUNCTION
SET
7
postgres postgres|sd_alice
RESET
ALTER FUNCTION
SET
RESET
DROP FUNCTION
DROP TABLE
DROP ROLE
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:25: ERROR:  must be member of role "pf_other"
psql:SCRIPT:26: ERROR:  only superuser can define a leakproof function
psql:SCRIPT:30: ERROR:  function pf_missing(integer) does not exist
psql:SCRIPT:31: ERROR:  ROWS is not applicable when function does not return a set
psql:SCRIPT:32: ERROR:  COST must be positive
psql:SCRIPT:36: ERROR:  invalid attribute in procedure definition
psql:SCRIPT:37: ERROR:  pf_p(text) is not a function
psql:SCRIPT:38: ERROR:  pf_f(integer) is not a procedure
psql:SCRIPT:40: ERROR:  invalid attribute in procedure definition
psql:SCRIPT:44: ERROR:  procedure pf_nothere() does not exist
HINT:  No procedure matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:45: ERROR:  random() is not a procedure
HINT:  To call a function, use SELECT.
psql:SCRIPT:46: ERROR:  pf_f(integer) is not a procedure
HINT:  To call a function, use SELECT.
psql:SCRIPT:47: ERROR:  pf_p(text) is not a function
psql:SCRIPT:71: ERROR:  CREATE TABLE is not yet supported in unquoted SQL function body
psql:SCRIPT:72: ERROR:  duplicate function body specified
psql:SCRIPT:77: ERROR:  procedure pf_o(integer, integer, integer) does not exist
HINT:  No procedure matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:78: ERROR:  procedure pf_o(integer, numeric, integer) does not exist
HINT:  No procedure matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:84: ERROR:  procedure pf_o(integer, integer, integer) does not exist
psql:SCRIPT:85: ERROR:  procedure OUT parameters cannot appear after one with a default value
psql:SCRIPT:89: ERROR:  function result type must be record because of OUT parameters
psql:SCRIPT:90: ERROR:  calling procedures with output arguments is not supported in SQL functions
psql:SCRIPT:93: ERROR:  only one AS item needed for language "sql"
psql:SCRIPT:94: ERROR:  there is no parameter $2
psql:SCRIPT:142: ERROR:  permission denied for table sd_secret
psql:SCRIPT:144: ERROR:  permission denied for table sd_secret
psql:SCRIPT:148: ERROR:  permission denied for table sd_secret
"#;

#[test]
fn routines_match_postgres() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "procfn.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
