//! Publications and subscriptions against the real binary: the same script run by psql 15
//! against PostgreSQL 15 and against tusk prints the same rows, WARNINGs and errors.
//!
//! Why end to end: CREATE/ALTER/DROP PUBLICATION and SUBSCRIPTION are
//! catalog rows (pg_publication, pg_publication_rel,
//! pg_publication_namespace and the shared pg_subscription) that psql's
//! `\dRp+`, `\d+` and `\dRs+` read with their own queries, and a long list
//! of PostgreSQL's checks: option names and values, object lists,
//! relations that cannot be published, FOR ALL TABLES publications,
//! membership, ownership, connection-string syntax, mutually exclusive
//! subscription options, client_min_messages hiding the WARNINGs. The
//! expected output is PostgreSQL 15's for publication.sql (`psql -X -A -t
//! -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("publication.sql");

const PG_STDOUT: &str = r#"CREATE ROLE
CREATE ROLE
SET
SET
CREATE SCHEMA
CREATE TABLE
CREATE TABLE
CREATE VIEW
CREATE TABLE
CREATE PUBLICATION
COMMENT
test publication
CREATE PUBLICATION
CREATE PUBLICATION
CREATE PUBLICATION
ALTER PUBLICATION
ALTER PUBLICATION
ALTER PUBLICATION
pub_owner|t|t|t|f|f|f
pub_owner|f|t|t|t|f|f
pub_owner|f|t|f|f|f|f
pub_owner|f|t|t|t|t|t
id|integer||not null||plain|||
data|text||||extended|||
SET
RESET
ALTER PUBLICATION
ALTER PUBLICATION
DROP PUBLICATION
p_all|t|t|t|f|f|f
p_default|f|t|t|t|f|f
p_tab|f|t|t|t|t|t
RESET
CREATE SUBSCRIPTION
ALTER SUBSCRIPTION
ALTER SUBSCRIPTION
ALTER SUBSCRIPTION
s1|pub_owner|f|{p2,p3}|t|f|d|f|local|dbname=nope|0/12345
ALTER SUBSCRIPTION
DROP SUBSCRIPTION
DROP SUBSCRIPTION
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:14: ERROR:  unrecognized publication parameter: "foo"
psql:SCRIPT:15: ERROR:  unrecognized value for publication option "publish": "cluster"
psql:SCRIPT:16: ERROR:  cannot add relation "v" to publication
DETAIL:  This operation is not supported for views.
psql:SCRIPT:17: ERROR:  cannot add relation "tmp" to publication
DETAIL:  This operation is not supported for temporary tables.
psql:SCRIPT:19: ERROR:  publication "p_all" is defined as FOR ALL TABLES
DETAIL:  Tables cannot be added to or dropped from FOR ALL TABLES publications.
psql:SCRIPT:20: ERROR:  publication "p_all" is defined as FOR ALL TABLES
DETAIL:  Schemas cannot be added to or dropped from FOR ALL TABLES publications.
psql:SCRIPT:22: ERROR:  relation "t1" is already member of publication "p_tab"
psql:SCRIPT:23: ERROR:  relation "t2" is not part of the publication
psql:SCRIPT:25: ERROR:  tables from schema "ps" are not part of the publication
psql:SCRIPT:31: ERROR:  must be owner of publication p_tab
psql:SCRIPT:35: ERROR:  publication "p_nope" does not exist
psql:SCRIPT:38: ERROR:  invalid connection string syntax: missing "=" after "testconn" in connection info string

psql:SCRIPT:39: ERROR:  publication name "a" used more than once
psql:SCRIPT:40: ERROR:  connect = false and enabled = true are mutually exclusive options
psql:SCRIPT:41: ERROR:  subscription with slot_name = NONE must also set enabled = false
psql:SCRIPT:42: ERROR:  unrecognized subscription parameter: "origin"
psql:SCRIPT:44: WARNING:  tables were not subscribed, you will have to run ALTER SUBSCRIPTION ... REFRESH PUBLICATION to subscribe the tables
psql:SCRIPT:46: ERROR:  publication "p3" is already in subscription "s1"
psql:SCRIPT:47: ERROR:  publication "p9" is not in subscription "s1"
psql:SCRIPT:48: ERROR:  invalid value for parameter "synchronous_commit": "foobar"
HINT:  Available values: local, remote_write, remote_apply, on, off.
psql:SCRIPT:51: ERROR:  invalid connection string syntax: missing "=" after "foobar" in connection info string

psql:SCRIPT:52: ERROR:  ALTER SUBSCRIPTION ... REFRESH is not allowed for disabled subscriptions
psql:SCRIPT:53: ERROR:  permission denied to change owner of subscription "s1"
HINT:  The owner of a subscription must be a superuser.
psql:SCRIPT:57: NOTICE:  subscription "s1" does not exist, skipping
"#;

#[test]
fn publications_and_subscriptions_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "publication.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    assert_eq!(errs, PG_STDERR, "stderr: {}", r.describe());
}
