//! Object privileges against the real binary: GRANT/REVOKE ON tables and sequences, the
//! 42501 checks and ownership, as PostgreSQL 15 answers them.
//!
//! Why end to end: a privilege is only real when a session of another role
//! is refused, so the script switches roles (SET ROLE, SET SESSION
//! AUTHORIZATION) and its output must be PostgreSQL 15's (`psql -X -A -t
//! -f privileges.sql` in a fresh database; the script path in stderr
//! replaced by SCRIPT); then non-superuser roles log in for real through
//! the postgres crate, and a restart must keep the ACLs (they live in
//! pg_class.relacl as PostgreSQL's aclitem[]).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("privileges.sql");

const PG_STDOUT: &str = r#"CREATE ROLE
CREATE ROLE
CREATE ROLE
GRANT ROLE
CREATE TABLE
INSERT 0 1
CREATE VIEW
CREATE SEQUENCE
GRANT
GRANT
{postgres=arwdDxt/postgres,regress_alice=r/postgres,regress_staff=aw/postgres}

SET
1|one
t|f
BEGIN
LOCK TABLE
ROLLBACK
BEGIN
ROLLBACK
GRANT
RESET
SET
INSERT 0 1
UPDATE 2
RESET
GRANT
SET
1
3
RESET
GRANT
SET
GRANT
GRANT
GRANT
RESET
t
REVOKE
f|t|f
GRANT
t|t
f
GRANT
t
REVOKE
PREPARE
SET
RESET
GRANT
SET
2
2
RESET
DEALLOCATE
SET
RESET
SET
1
1
RESET
CREATE TABLE
GRANT
ALTER TABLE
SET
INSERT 0 1
GRANT
ALTER TABLE
RESET
{regress_alice=arwdDxt/regress_alice,regress_bob=r/regress_alice,regress_staff=r/regress_alice}
SET
1|
RESET
t|t|t
DROP TABLE
CREATE TABLE
GRANT
SET
INSERT 0 1
RESET
1|x
DROP TABLE
DROP VIEW
DROP TABLE
DROP SEQUENCE
DROP ROLE
DROP ROLE
DROP ROLE
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:14: ERROR:  permission denied for table t
psql:SCRIPT:15: ERROR:  permission denied for view v
psql:SCRIPT:16: ERROR:  permission denied for table t
psql:SCRIPT:17: ERROR:  permission denied for table t
psql:SCRIPT:18: ERROR:  must be owner of table t
psql:SCRIPT:19: ERROR:  must be owner of table t
psql:SCRIPT:23: ERROR:  permission denied for table t
psql:SCRIPT:26: ERROR:  permission denied for table t
psql:SCRIPT:28: ERROR:  permission denied for table t
psql:SCRIPT:29: ERROR:  permission denied for table t
psql:SCRIPT:30: WARNING:  no privileges were granted for "t"
psql:SCRIPT:35: ERROR:  permission denied for table t
psql:SCRIPT:36: ERROR:  permission denied for table t
psql:SCRIPT:37: ERROR:  permission denied for table t
psql:SCRIPT:42: ERROR:  permission denied for table t
psql:SCRIPT:47: WARNING:  no privileges were granted for "t"
psql:SCRIPT:48: WARNING:  not all privileges were granted for "t"
psql:SCRIPT:51: ERROR:  dependent privileges exist
HINT:  Use CASCADE to revoke them too.
psql:SCRIPT:59: ERROR:  "t" is not a sequence
psql:SCRIPT:60: ERROR:  role "nosuch" does not exist
psql:SCRIPT:61: ERROR:  relation "nosuch" does not exist
psql:SCRIPT:62: ERROR:  grant options can only be granted to roles
psql:SCRIPT:66: ERROR:  permission denied for table t
psql:SCRIPT:67: ERROR:  permission denied for table t
psql:SCRIPT:76: ERROR:  permission denied for sequence s
psql:SCRIPT:77: ERROR:  permission denied for sequence s
psql:SCRIPT:78: ERROR:  permission denied for sequence s
psql:SCRIPT:79: ERROR:  permission denied for sequence s
psql:SCRIPT:84: ERROR:  permission denied for sequence s
psql:SCRIPT:93: ERROR:  must be member of role "regress_bob"
psql:SCRIPT:98: ERROR:  permission denied for table o
psql:SCRIPT:99: ERROR:  must be owner of table o
"#;

#[test]
fn grant_revoke_and_checks_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "privileges.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

fn code(r: Result<u64, postgres::Error>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => match e.as_db_error() {
            Some(d) => format!("{}: {}", d.code().code(), d.message()),
            None => format!("{e}"),
        },
    }
}

#[test]
fn logins_of_other_roles_are_checked_and_acls_survive_a_restart() {
    let mut srv = TestServer::start(Opts::new());
    let mut su = srv.connect();
    // Role statements run alone (not in a multi-statement batch).
    su.batch_execute("CREATE ROLE reader LOGIN").unwrap();
    su.batch_execute("CREATE ROLE writer LOGIN").unwrap();
    su.batch_execute(
        "CREATE TABLE pt (a int); INSERT INTO pt VALUES (1); CREATE SEQUENCE ps; \
         GRANT SELECT ON pt TO reader; GRANT SELECT, INSERT ON pt TO writer; \
         GRANT USAGE ON SEQUENCE ps TO writer",
    )
    .unwrap();
    let check = |srv: &TestServer| {
        let mut r = srv.try_connect_as("reader").expect("reader logs in");
        assert_eq!(code(r.execute("SELECT * FROM pt", &[])), "ok");
        assert_eq!(
            code(r.execute("INSERT INTO pt VALUES (2)", &[])),
            "42501: permission denied for table pt"
        );
        assert_eq!(
            code(r.execute("SELECT nextval('ps')", &[])),
            "42501: permission denied for sequence ps"
        );
        let mut w = srv.try_connect_as("writer").expect("writer logs in");
        assert_eq!(code(w.execute("INSERT INTO pt VALUES (2)", &[])), "ok");
        assert_eq!(code(w.execute("SELECT nextval('ps')", &[])), "ok");
        assert_eq!(
            code(w.execute("DELETE FROM pt", &[])),
            "42501: permission denied for table pt"
        );
        assert_eq!(
            code(w.execute("DROP TABLE pt", &[])),
            "42501: must be owner of table pt"
        );
        // The extended protocol checks the same way.
        let row = w
            .query_one(
                "SELECT has_table_privilege($1, 'pt', 'insert'), has_table_privilege('reader', 'pt', 'insert')",
                &[&"writer"],
            )
            .unwrap();
        assert_eq!(
            (row.get::<_, bool>(0), row.get::<_, bool>(1)),
            (true, false)
        );
    };
    check(&srv);
    drop(su);
    srv.stop_with(libc::SIGTERM);
    srv.start_postmaster();
    check(&srv);
    let mut su = srv.connect();
    su.batch_execute("REVOKE ALL ON pt FROM reader").unwrap();
    let mut r = srv.try_connect_as("reader").expect("reader logs in");
    assert_eq!(
        code(r.execute("SELECT * FROM pt", &[])),
        "42501: permission denied for table pt"
    );
}
