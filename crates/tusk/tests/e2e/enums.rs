//! Enum types (CREATE TYPE ... AS ENUM) as clients see them: one script
//! run by psql 15 against PostgreSQL 15 and against tusk prints the same
//! rows, errors, DETAILs and HINTs (columns of an enum type ordered by the
//! labels' sort order, comparisons with literals, casts to and from text,
//! enum_first/enum_last/enum_range, ALTER TYPE ... ADD VALUE [BEFORE|AFTER]
//! [IF NOT EXISTS], RENAME VALUE and RENAME TO, pg_type and pg_enum rows, arrays of
//! an enum, an index on an enum column, DROP TYPE refused while a column
//! uses the type; a rolled-back CREATE TYPE is forgotten); stored enum values survive a restart; a type and a
//! label another session created are seen by a running session.
//!
//! The expected output is PostgreSQL 15's for enums.sql (captured with
//! `psql -X -A -t -f`; the script path in stderr replaced by SCRIPT). Of
//! stderr, the `psql:`, DETAIL and HINT lines are compared.

use crate::util::{Opts, TestServer, Via};

const SCRIPT: &str = include_str!("enums.sql");

const PG_STDOUT: &str = r#"CREATE TYPE
CREATE TABLE
INSERT 0 4
larry|sad
curly|ok
moe|happy
shemp|
curly
moe
curly|t|t
larry|f|t
moe|f|f
shemp||
happy|sad
ok!|happy|mood
sad|happy|{sad,ok,happy}
{ok,happy}|{sad,ok}|{ok,happy}
ALTER TYPE
ALTER TYPE
ALTER TYPE
ALTER TYPE
{sad,meh,ok,fine,happy,ecstatic}
sad|1
meh|1.5
ok|2
fine|2.5
happy|3
ecstatic|4
ALTER TYPE
INSERT 0 2
ann|ecstatic
moe|happy
curly|ok
joe|blah
larry|sad
shemp|
_mood|b|A|-1|f|i|x|750|751|2400|2401
mood|e|E|4|t|i|p|3506|3507|3532|3533
_mood|mood
{sad,happy}|{ok,fine}
CREATE INDEX
curly
moe|happy
ann|ecstatic
DROP TYPE
CREATE TYPE
{}
DROP TYPE
DROP TABLE
DROP TYPE
0
0
CREATE TYPE
ALTER TYPE
good|_bogon
good|bogon
DROP TYPE
BEGIN
CREATE TYPE
{a,b}|t
ROLLBACK
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:2: ERROR:  type "mood" already exists
psql:SCRIPT:5: ERROR:  invalid input value for enum mood: "angry"
psql:SCRIPT:11: ERROR:  invalid input value for enum mood: "nope"
psql:SCRIPT:12: ERROR:  operator does not exist: mood = text
HINT:  No operator matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:13: ERROR:  cannot cast type mood to integer
psql:SCRIPT:19: ERROR:  enum label "ok" already exists
psql:SCRIPT:20: NOTICE:  enum label "ok" already exists, skipping
psql:SCRIPT:21: ERROR:  "zz" is not an existing enum label
psql:SCRIPT:25: ERROR:  "zz" is not an existing enum label
psql:SCRIPT:26: ERROR:  enum label "sad" already exists
psql:SCRIPT:35: ERROR:  invalid enum label "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
DETAIL:  Labels must be 63 bytes or less.
psql:SCRIPT:36: ERROR:  cannot drop type mood because other objects depend on it
DETAIL:  column current_mood of table person depends on type mood
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:37: ERROR:  type "nosuch" does not exist
psql:SCRIPT:38: NOTICE:  type "nosuch" does not exist, skipping
psql:SCRIPT:39: ERROR:  type "nosuch" does not exist
psql:SCRIPT:49: ERROR:  type "bogon" already exists
psql:SCRIPT:51: ERROR:  type "bogus" does not exist
psql:SCRIPT:57: ERROR:  type "tmp" does not exist
"#;

#[test]
fn enum_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "enums.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    assert_eq!(
        crate::util::error_lines(&errs),
        PG_STDERR,
        "stderr: {}",
        r.describe()
    );
}

/// Enum columns are stored as their labels' pg_enum OIDs and read back
/// (through a fresh backend's registry) after a restart.
#[test]
fn enum_columns_survive_restart() {
    let mut srv = TestServer::start(Opts::new());
    srv.psql_c(
        Via::Unix,
        &[
            "CREATE TYPE color AS ENUM ('red', 'green', 'blue')",
            "ALTER TYPE color ADD VALUE 'yellow' BEFORE 'green'",
            "CREATE TABLE paint (id int, c color, cs color[])",
            "INSERT INTO paint VALUES (1, 'blue', '{red,yellow}'), (2, 'yellow', NULL), (3, 'red', '{}')",
        ],
    );
    srv.stop_with(libc::SIGTERM);
    srv.start_postmaster();
    let out = srv.psql_c(Via::Unix, &["SELECT id, c, cs FROM paint ORDER BY c"]);
    assert_eq!(out, "3|red|{}\n2|yellow|\n1|blue|{red,yellow}\n");
}

/// A session that started before another one created a type, added a
/// label or renamed one sees the change at its next statement (the
/// registry follows the shared catalog generation).
#[test]
fn enum_changes_of_other_sessions_are_seen() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    a.batch_execute("SELECT 1").expect("first statement");
    srv.psql_c(
        Via::Unix,
        &[
            "CREATE TYPE lvl AS ENUM ('low', 'high')",
            "CREATE TABLE t (l lvl)",
            "INSERT INTO t VALUES ('high'), ('low')",
        ],
    );
    assert_eq!(labels(&mut a), ["low", "high"]);
    srv.psql_c(
        Via::Unix,
        &[
            "ALTER TYPE lvl ADD VALUE 'mid' AFTER 'low'",
            "ALTER TYPE lvl RENAME VALUE 'high' TO 'top'",
            "INSERT INTO t VALUES ('mid')",
        ],
    );
    assert_eq!(labels(&mut a), ["low", "mid", "top"]);
}

/// t's labels in enum order, as text, read by session `c`.
fn labels(c: &mut postgres::Client) -> Vec<String> {
    c.simple_query("SELECT l::text AS label FROM t ORDER BY t.l")
        .expect("select the labels")
        .iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect()
}
