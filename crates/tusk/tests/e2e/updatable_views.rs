//! Auto-updatable views against the real binary: INSERT, UPDATE and DELETE through simple views print what PostgreSQL 15 prints.
//!
//! Why end to end: what a write through a view does is spread over the
//! binder (the view's columns and errors), the rewrite onto the base
//! table (bind/view_dml.rs), the executor (WITH CHECK OPTION on each new
//! row) and the catalog (view options in pg_class.reloptions, view
//! column defaults, information_schema updatability); one psql script
//! covers them together, with PostgreSQL 15's output as the expected one
//! (`psql -X -A -t -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("updatable_views.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 5
CREATE VIEW
CREATE VIEW
CREATE VIEW
CREATE VIEW
CREATE VIEW
CREATE VIEW
CREATE VIEW
CREATE VIEW
CREATE VIEW
CREATE VIEW
CREATE VIEW
CREATE VIEW
ro_view1|NO|NO|NONE
ro_view10|NO|NO|NONE
ro_view11|NO|NO|NONE
ro_view17|NO|NO|NONE
ro_view2|NO|NO|NONE
ro_view4|NO|NO|NONE
ro_view5|NO|NO|NONE
ro_view6|NO|NO|NONE
ro_view9|NO|NO|NONE
rw_view14|YES|YES|NONE
rw_view15|YES|YES|NONE
rw_view16|YES|YES|NONE
rw_view15|a|YES
rw_view15|upper|NO
rw_view16|a|YES
rw_view16|b|YES
rw_view16|aa|YES
0|28|f
INSERT 0 1
3|ROW 3
UPDATE 1
DELETE 1
3|UNSPECIFIED
INSERT 0 1
INSERT 0 0
UNSPECIFIED
INSERT 0 1
4|UNSPECIFIED
UPDATE 1
ALTER VIEW
ALTER VIEW
DELETE 0
5|Row 5|5|6
INSERT 0 1
-5|Row 5|-5
UPDATE 1
ALTER VIEW
8|View default|8
INSERT 0 1
-5|Row 5
-2|Row -2
-1|Row -1
0|Row 0
1|Row 1
2|Row 2
4|Unspecified
8|View default
CREATE VIEW
CREATE VIEW
CREATE VIEW
CREATE VIEW
rw_view1|
rw_view2|{check_option=local}
rw_view3|{check_option=cascaded}
rw_view4|{security_barrier=true}
rw_view1|NONE
rw_view2|LOCAL
rw_view3|CASCADED
rw_view4|NONE
INSERT 0 1
Row 6|6
INSERT 0 1
INSERT 0 1
ROW 9|9
UPDATE 1
ALTER VIEW
ALTER VIEW
INSERT 0 1
INSERT 0 1
1|Row 1
2|Row 2
4|Unspecified
6|Row 6
8|View default
9|ROW 9
11|Row 11
50|x
View default
Row 6
ROW 9
DELETE 3
-20|Row -20
-5|Row 5
-2|Row -2
-1|Row -1
0|Row 0
1|Row 1
2|Row 2
4|Unspecified
11|Row 11
50|x
DROP VIEW
DROP TABLE
CREATE TABLE
CREATE VIEW
CREATE VIEW
1.5|t
INSERT 0 1
CREATE VIEW
INSERT 0 1
3.5|Const
INSERT 0 1
1.5
2.5
3.5
DROP TABLE
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:23: ERROR:  cannot delete from view "ro_view1"
DETAIL:  Views containing DISTINCT are not automatically updatable.
HINT:  To enable deleting from the view, provide an INSTEAD OF DELETE trigger or an unconditional ON DELETE DO INSTEAD rule.
psql:SCRIPT:24: ERROR:  cannot update view "ro_view2"
DETAIL:  Views containing GROUP BY are not automatically updatable.
HINT:  To enable updating the view, provide an INSTEAD OF UPDATE trigger or an unconditional ON UPDATE DO INSTEAD rule.
psql:SCRIPT:25: ERROR:  cannot insert into view "ro_view4"
DETAIL:  Views that return aggregate functions are not automatically updatable.
HINT:  To enable inserting into the view, provide an INSTEAD OF INSERT trigger or an unconditional ON INSERT DO INSTEAD rule.
psql:SCRIPT:26: ERROR:  cannot delete from view "ro_view5"
DETAIL:  Views that return window functions are not automatically updatable.
HINT:  To enable deleting from the view, provide an INSTEAD OF DELETE trigger or an unconditional ON DELETE DO INSTEAD rule.
psql:SCRIPT:27: ERROR:  cannot delete from view "ro_view6"
DETAIL:  Views containing UNION, INTERSECT, or EXCEPT are not automatically updatable.
HINT:  To enable deleting from the view, provide an INSTEAD OF DELETE trigger or an unconditional ON DELETE DO INSTEAD rule.
psql:SCRIPT:28: ERROR:  cannot update view "ro_view9"
DETAIL:  Views containing LIMIT or OFFSET are not automatically updatable.
HINT:  To enable updating the view, provide an INSTEAD OF UPDATE trigger or an unconditional ON UPDATE DO INSTEAD rule.
psql:SCRIPT:29: ERROR:  cannot delete from view "ro_view10"
DETAIL:  Views that do not select from a single table or view are not automatically updatable.
HINT:  To enable deleting from the view, provide an INSTEAD OF DELETE trigger or an unconditional ON DELETE DO INSTEAD rule.
psql:SCRIPT:30: ERROR:  cannot delete from view "ro_view11"
DETAIL:  Views that do not select from a single table or view are not automatically updatable.
HINT:  To enable deleting from the view, provide an INSTEAD OF DELETE trigger or an unconditional ON DELETE DO INSTEAD rule.
psql:SCRIPT:31: ERROR:  cannot insert into view "ro_view1"
DETAIL:  Views containing DISTINCT are not automatically updatable.
HINT:  To enable inserting into the view, provide an INSTEAD OF INSERT trigger or an unconditional ON INSERT DO INSTEAD rule.
psql:SCRIPT:33: ERROR:  cannot insert into column "ctid" of view "rw_view14"
DETAIL:  View columns that refer to system columns are not updatable.
psql:SCRIPT:35: ERROR:  cannot update column "ctid" of view "rw_view14"
DETAIL:  View columns that refer to system columns are not updatable.
psql:SCRIPT:38: ERROR:  cannot insert into column "upper" of view "rw_view15"
DETAIL:  View columns that are not columns of their base relation are not updatable.
psql:SCRIPT:42: ERROR:  cannot insert into column "upper" of view "rw_view15"
DETAIL:  View columns that are not columns of their base relation are not updatable.
psql:SCRIPT:44: ERROR:  cannot update column "upper" of view "rw_view15"
DETAIL:  View columns that are not columns of their base relation are not updatable.
psql:SCRIPT:46: ERROR:  cannot insert into column "upper" of view "rw_view15"
DETAIL:  View columns that are not columns of their base relation are not updatable.
psql:SCRIPT:49: ERROR:  multiple assignments to same column "a"
psql:SCRIPT:59: ERROR:  invalid value for enum option "check_option": here
DETAIL:  Valid values are "local" and "cascaded".
psql:SCRIPT:61: ERROR:  WITH CHECK OPTION is supported only on automatically updatable views
HINT:  Views containing DISTINCT are not automatically updatable.
psql:SCRIPT:64: ERROR:  new row violates check option for view "rw_view2"
DETAIL:  Failing row contains (20, Row 20).
psql:SCRIPT:67: ERROR:  new row violates check option for view "rw_view2"
DETAIL:  Failing row contains (12, Row 6).
psql:SCRIPT:68: ERROR:  new row violates check option for view "rw_view1"
DETAIL:  Failing row contains (-30, Row -30).
psql:SCRIPT:69: ERROR:  new row violates check option for view "rw_view3"
DETAIL:  Failing row contains (7, Row 7).
psql:SCRIPT:74: ERROR:  invalid value for enum option "check_option": bad
DETAIL:  Valid values are "local" and "cascaded".
psql:SCRIPT:81: NOTICE:  drop cascades to 10 other objects
DETAIL:  drop cascades to view ro_view1
psql:SCRIPT:86: ERROR:  cannot insert into column "ctid" of view "fv1"
DETAIL:  View columns that refer to system columns are not updatable.
psql:SCRIPT:87: ERROR:  cannot insert into column "t" of view "fv2"
DETAIL:  View columns that are not columns of their base relation are not updatable.
psql:SCRIPT:88: ERROR:  cannot insert into column "s" of view "fv1"
DETAIL:  View columns that are not columns of their base relation are not updatable.
psql:SCRIPT:94: NOTICE:  drop cascades to 3 other objects
DETAIL:  drop cascades to view fv1
"#;

#[test]
fn writes_through_views_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "updatable_views.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
