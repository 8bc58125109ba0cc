//! The rule system against the real binary: CREATE/DROP/ALTER RULE and
//! the rewriting of INSERT/UPDATE/DELETE by rules, run by psql 15 against
//! PostgreSQL 15 and against tusk, print the same rows, tags and errors.
//!
//! Why end to end: a rule turns one statement into several (ALSO before or
//! after the original, INSTEAD in its place, a conditional INSTEAD keeping
//! the original for the other rows), and what a client sees is the sum:
//! which rows land where, the command tag, the RETURNING rows, and
//! PostgreSQL's errors for what rules cannot do (recursion, RETURNING
//! without a rule's, data-modifying WITH, ON CONFLICT).
//! The expected output is PostgreSQL 15's for rules.sql (`psql -X -A -t
//! -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("rules.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE TABLE
CREATE RULE
INSERT 0 1
INSERT 0 2
INSERT 0 1
ins|1|one
ins|2|n2
ins|3|n3
ins|4|
CREATE RULE
UPDATE 3
upd|2|n2!
upd|3|n3!
upd|4|
CREATE RULE
DELETE 1
1
3
4
CREATE RULE
INSERT 0 0
INSERT 0 1
50|small
big|200|big
ins|50|small
ins|200|big
CREATE RULE
DELETE 1
del|3|n3!
del2|3|
CREATE VIEW
CREATE RULE
CREATE RULE
UPDATE 0
CREATE RULE
CREATE RULE
DROP RULE
CREATE RULE
INSERT 0 1
ins2|6|six
ALTER RULE
ALTER TABLE
INSERT 0 1
0
ALTER TABLE
rt|rt_big
rt|rt_del
rt|rt_ins2
rt|rt_multi
rt|rt_upd
rv|rv_del
rv|rv_ins
rv|rv_upd
rt_big|3|t|O
rt_del|4|t|O
rt_ins2|3|f|O
rt_multi|4|f|O
rt_upd|2|f|O
DROP RULE
DROP RULE
DROP VIEW
DROP TABLE
DROP TABLE
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:24: ERROR:  cannot perform INSERT RETURNING on relation "rt"
HINT:  You need an unconditional ON INSERT DO INSTEAD rule with a RETURNING clause.
psql:SCRIPT:25: ERROR:  cannot perform INSERT RETURNING on relation "rt"
HINT:  You need an unconditional ON INSERT DO INSTEAD rule with a RETURNING clause.
psql:SCRIPT:30: ERROR:  cannot delete from view "rv"
DETAIL:  Views with conditional DO INSTEAD rules are not automatically updatable.
HINT:  To enable deleting from the view, provide an INSTEAD OF DELETE trigger or an unconditional ON DELETE DO INSTEAD rule.
psql:SCRIPT:31: ERROR:  cannot perform UPDATE RETURNING on relation "rv"
HINT:  You need an unconditional ON UPDATE DO INSTEAD rule with a RETURNING clause.
psql:SCRIPT:33: ERROR:  infinite recursion detected in rules for relation "rt"
psql:SCRIPT:35: ERROR:  ON INSERT rule cannot use OLD
psql:SCRIPT:36: ERROR:  ON DELETE rule cannot use NEW
psql:SCRIPT:37: ERROR:  RETURNING lists are not supported in non-INSTEAD rules
psql:SCRIPT:38: ERROR:  rule "rt_ins" for relation "rt" already exists
psql:SCRIPT:43: ERROR:  rule "rt_ins" for relation "rt" does not exist
psql:SCRIPT:50: ERROR:  cannot perform DELETE RETURNING on relation "rt"
HINT:  You need an unconditional ON DELETE DO INSTEAD rule with a RETURNING clause.
psql:SCRIPT:51: ERROR:  cannot perform INSERT RETURNING on relation "rt"
HINT:  You need an unconditional ON INSERT DO INSTEAD rule with a RETURNING clause.
psql:SCRIPT:52: ERROR:  INSERT with ON CONFLICT clause cannot be used with table that has INSERT or UPDATE rules
psql:SCRIPT:53: ERROR:  rule "nosuch" for relation "rt" does not exist
psql:SCRIPT:54: NOTICE:  rule "nosuch" for relation "rt" does not exist, skipping
psql:SCRIPT:56: ERROR:  "rv" is already a view
psql:SCRIPT:57: ERROR:  cannot drop rule _RETURN on view rv because view rv requires it
HINT:  You can drop view rv instead.
"#;

#[test]
fn rules_rewrite_statements_as_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "rules.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// A session caches each table's rules under the catalog generation: a
/// rule another session creates or drops applies to this session's very
/// next statement.
#[test]
fn a_rule_made_or_dropped_elsewhere_applies_at_once() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut b = srv.connect();
    a.batch_execute("CREATE TABLE t (x int); CREATE TABLE log (x int); INSERT INTO t VALUES (1)")
        .expect("setup");
    b.batch_execute("CREATE RULE r AS ON INSERT TO t DO ALSO INSERT INTO log VALUES (new.x)")
        .expect("create rule");
    a.batch_execute("INSERT INTO t VALUES (2)").expect("insert");
    b.batch_execute("DROP RULE r ON t").expect("drop rule");
    a.batch_execute("INSERT INTO t VALUES (3)").expect("insert");
    let logged: Vec<i32> = a
        .query("SELECT x FROM log ORDER BY x", &[])
        .expect("log")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(logged, [2]);
}
