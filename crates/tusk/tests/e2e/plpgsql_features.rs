//! PL/pgSQL cursors and trigger transition tables against the real
//! binary: the same script run by psql 15 against PostgreSQL 15 and
//! against tusk prints the same rows, notices and errors.
//!
//! Why end to end: a portal opened in a function is fetched by plain SQL
//! after the function returned, and a transition table is named by the
//! queries of a trigger function that runs after the statement changed its
//! rows; both cross the SQL/PL/pgSQL boundary, which only a whole server
//! shows. The expected output is PostgreSQL 15's for plpgsql_features.sql
//! (`psql -X -A -t -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("plpgsql_features.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE FUNCTION
CREATE FUNCTION
CREATE FUNCTION
CREATE TRIGGER
CREATE TRIGGER
CREATE TRIGGER
INSERT 0 2
UPDATE 2
UPDATE 0
DELETE 1
tt_d|oldt|
tt_i||newt
tt_u|oldt|newt
CREATE TRIGGER tt_d AFTER DELETE ON public.tt REFERENCING OLD TABLE AS oldt FOR EACH STATEMENT EXECUTE FUNCTION tt_del()
CREATE TRIGGER tt_i AFTER INSERT ON public.tt REFERENCING NEW TABLE AS newt FOR EACH ROW EXECUTE FUNCTION tt_row()
CREATE TRIGGER tt_u AFTER UPDATE ON public.tt REFERENCING OLD TABLE AS oldt NEW TABLE AS newt FOR EACH STATEMENT EXECUTE FUNCTION tt_stmt()
CREATE TABLE
CREATE TABLE
INSERT 0 3
CREATE FUNCTION
CREATE FUNCTION
5
CREATE FUNCTION
BEGIN
cur1
5|10
50|100
500|1000
COMMIT
CREATE FUNCTION
f|t
CREATE FUNCTION
CREATE FUNCTION
500
50
5
50
500
DO
DO
CREATE TABLE
INSERT 0 2
CREATE FUNCTION
CREATE TRIGGER
CREATE TRIGGER
CREATE TRIGGER
UPDATE 2
UPDATE 1
UPDATE 2
CREATE TRIGGER modified_any BEFORE UPDATE OF a ON mt FOR EACH ROW WHEN (old.* IS DISTINCT FROM new.*) EXECUTE FUNCTION tf()
ALTER TRIGGER
ALTER TABLE
modified_modified
CREATE TABLE
CREATE VIEW
CREATE FUNCTION
CREATE TRIGGER
CREATE TRIGGER
CREATE TRIGGER
INSERT 0 1
3|40
5|60
INSERT 0 2
7|
INSERT 0 1
1|20
3|40
5|60
7|
CREATE FUNCTION
CREATE TRIGGER
INSERT 0 0
DROP TRIGGER
CREATE FUNCTION
CREATE TRIGGER
CREATE TRIGGER
CREATE TRIGGER
UPDATE 4
1|0
UPDATE 1
UPDATE 0
3|41
DELETE 1
1|0
5|61
7|
9|91
CREATE TABLE
INSERT 0 1
CREATE TRIGGER
CREATE TRIGGER
UPDATE 1
UPDATE 1
ALTER TABLE
INSERT 0 1
SET
INSERT 0 1
UPDATE 3
ALTER TABLE
UPDATE 3
RESET
CREATE FUNCTION

"#;

const PG_STDERR: &str = r#"psql:SCRIPT:28: NOTICE:  row 1 sees 1x,2y
psql:SCRIPT:28: NOTICE:  row 2 sees 1x,2y
psql:SCRIPT:29: NOTICE:  UPDATE new: (11,x)
psql:SCRIPT:29: NOTICE:  UPDATE new: (12,y)
psql:SCRIPT:29: NOTICE:  UPDATE old rows: 2
psql:SCRIPT:30: NOTICE:  UPDATE old rows: 0
psql:SCRIPT:31: NOTICE:  deleted: 12
psql:SCRIPT:36: ERROR:  transition tables cannot be specified for triggers with more than one event
psql:SCRIPT:38: ERROR:  transition table name can only be specified for an AFTER trigger
psql:SCRIPT:40: ERROR:  NEW TABLE can only be specified for an INSERT or UPDATE trigger
psql:SCRIPT:42: ERROR:  OLD TABLE can only be specified for a DELETE or UPDATE trigger
psql:SCRIPT:44: ERROR:  OLD TABLE name and NEW TABLE name cannot be the same
psql:SCRIPT:46: ERROR:  transition tables cannot be specified for triggers with column lists
psql:SCRIPT:48: ERROR:  TRUNCATE triggers with transition tables are not supported
psql:SCRIPT:50: ERROR:  ROW variable naming in the REFERENCING clause is not supported
HINT:  Use OLD TABLE or NEW TABLE for naming transition tables.
psql:SCRIPT:53: ERROR:  "ttp" is a partitioned table
DETAIL:  ROW triggers with transition tables are not supported on partitioned tables.
psql:SCRIPT:97: ERROR:  division by zero
CONTEXT:  SQL expression "1 / 0"
PL/pgSQL function bad_arg() line 4 at OPEN
psql:SCRIPT:125: ERROR:  cursor can only scan forward
HINT:  Declare it with SCROLL option to enable backward scan.
CONTEXT:  PL/pgSQL function scrolling(boolean) line 23 at FETCH
psql:SCRIPT:138: NOTICE:  loop (5,10)
psql:SCRIPT:138: NOTICE:  loop (50,100)
psql:SCRIPT:138: NOTICE:  loop (500,1000)
psql:SCRIPT:138: ERROR:  cursor "c" already in use
CONTEXT:  PL/pgSQL function inline_code_block line 10 at FOR over cursor
psql:SCRIPT:153: NOTICE:  dynamic 100
psql:SCRIPT:153: ERROR:  cursor "<unnamed portal 5>" does not exist
CONTEXT:  PL/pgSQL function inline_code_block line 8 at CLOSE
psql:SCRIPT:155: NOTICE:  dollar "1"
psql:SCRIPT:156: ERROR:  RAISE option already specified: MESSAGE
CONTEXT:  PL/pgSQL function inline_code_block line 1 at RAISE
psql:SCRIPT:157: ERROR:  RAISE option already specified: ERRCODE
CONTEXT:  PL/pgSQL function inline_code_block line 1 at RAISE
psql:SCRIPT:170: NOTICE:  when_b AFTER UPDATE on mt
psql:SCRIPT:171: NOTICE:  modified_any BEFORE UPDATE on mt
psql:SCRIPT:172: NOTICE:  on_b AFTER UPDATE on mt
psql:SCRIPT:172: NOTICE:  when_b AFTER UPDATE on mt
psql:SCRIPT:172: NOTICE:  on_b AFTER UPDATE on mt
psql:SCRIPT:175: ERROR:  trigger "modified_any" for table "mt" does not exist
psql:SCRIPT:176: ERROR:  trigger "modified_modified" for relation "mt" already exists
psql:SCRIPT:177: ERROR:  cannot drop column b of table mt because other objects depend on it
DETAIL:  trigger on_b on table mt depends on column b of table mt
trigger when_b on table mt depends on column b of table mt
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:178: ERROR:  cannot drop column a of table mt because other objects depend on it
DETAIL:  trigger modified_modified on table mt depends on column a of table mt
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:179: NOTICE:  drop cascades to 2 other objects
DETAIL:  drop cascades to trigger on_b on table mt
drop cascades to trigger when_b on table mt
psql:SCRIPT:198: ERROR:  "v" is a view
DETAIL:  Views cannot have row-level BEFORE or AFTER triggers.
psql:SCRIPT:199: ERROR:  "v" is a view
DETAIL:  Views cannot have TRUNCATE triggers.
psql:SCRIPT:200: ERROR:  INSTEAD OF triggers must be FOR EACH ROW
psql:SCRIPT:201: ERROR:  INSTEAD OF triggers cannot have WHEN conditions
psql:SCRIPT:202: ERROR:  INSTEAD OF triggers cannot have column lists
psql:SCRIPT:203: ERROR:  "base" is a table
DETAIL:  Tables cannot have INSTEAD OF triggers.
psql:SCRIPT:204: ERROR:  "v" is a view
DETAIL:  Triggers on views cannot have transition tables.
psql:SCRIPT:205: NOTICE:  v_bs BEFORE STATEMENT INSERT
psql:SCRIPT:205: NOTICE:  v_ins INSTEAD OF ROW INSERT
psql:SCRIPT:205: NOTICE:  v_as AFTER STATEMENT INSERT
psql:SCRIPT:206: NOTICE:  v_bs BEFORE STATEMENT INSERT
psql:SCRIPT:206: NOTICE:  v_ins INSTEAD OF ROW INSERT
psql:SCRIPT:206: NOTICE:  v_ins INSTEAD OF ROW INSERT
psql:SCRIPT:206: NOTICE:  v_as AFTER STATEMENT INSERT
psql:SCRIPT:207: NOTICE:  v_bs BEFORE STATEMENT INSERT
psql:SCRIPT:207: NOTICE:  v_ins INSTEAD OF ROW INSERT
psql:SCRIPT:207: NOTICE:  v_as AFTER STATEMENT INSERT
psql:SCRIPT:211: NOTICE:  v_bs BEFORE STATEMENT INSERT
psql:SCRIPT:211: NOTICE:  v_ins INSTEAD OF ROW INSERT
psql:SCRIPT:211: NOTICE:  v_as AFTER STATEMENT INSERT
psql:SCRIPT:230: NOTICE:  v_upd INSTEAD OF ROW UPDATE old=(3,40) new=(3,41)
psql:SCRIPT:230: NOTICE:  v_upd INSTEAD OF ROW UPDATE old=(5,60) new=(5,61)
psql:SCRIPT:230: NOTICE:  v_upd INSTEAD OF ROW UPDATE old=(7,) new=(7,)
psql:SCRIPT:230: NOTICE:  v_upd INSTEAD OF ROW UPDATE old=(9,90) new=(9,91)
psql:SCRIPT:230: NOTICE:  v_us AFTER STATEMENT UPDATE old=<NULL> new=<NULL>
psql:SCRIPT:231: NOTICE:  v_upd INSTEAD OF ROW UPDATE old=(1,20) new=(1,0)
psql:SCRIPT:231: NOTICE:  v_us AFTER STATEMENT UPDATE old=<NULL> new=<NULL>
psql:SCRIPT:232: NOTICE:  v_us AFTER STATEMENT UPDATE old=<NULL> new=<NULL>
psql:SCRIPT:233: NOTICE:  v_del INSTEAD OF ROW DELETE old=(3,41) new=<NULL>
psql:SCRIPT:242: NOTICE:  so_a AFTER UPDATE on so
psql:SCRIPT:246: NOTICE:  so_r AFTER INSERT on so
psql:SCRIPT:249: NOTICE:  so_a AFTER UPDATE on so
psql:SCRIPT:270: NOTICE:  param1 = 2
psql:SCRIPT:270: NOTICE:  qual_names.param1 = 42
psql:SCRIPT:270: NOTICE:  outerblock.param1 = 1
psql:SCRIPT:270: NOTICE:  innerblock.param1 = 2
psql:SCRIPT:270: NOTICE:  outerblock.r.f = 10
psql:SCRIPT:272: ERROR:  query returned more than one row
CONTEXT:  PL/pgSQL function inline_code_block line 1 at EXECUTE
psql:SCRIPT:273: ERROR:  query returned more than one row
HINT:  Make sure the query returns a single row, or use LIMIT 1.
CONTEXT:  PL/pgSQL function inline_code_block line 1 at SQL statement
"#;

#[test]
fn plpgsql_cursors_and_transition_tables_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "plpgsql_features.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    assert_eq!(errs, PG_STDERR, "stderr: {}", r.describe());
}
