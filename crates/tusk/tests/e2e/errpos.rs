//! Error cursor positions for errors found after parsing, as psql shows
//! them (`LINE n:` and a caret) and drivers read them (ErrorResponse's
//! `P`): unknown relations and columns, grouped-query errors, literals
//! whose input fails (in INSERT, in a cast, in `interval '...'`),
//! operators; a statement over several lines, a two-byte character
//! before the error, the second statement of a multi-statement Query.
//! The expected stderr is PostgreSQL 15's for the same psql command line
//! (captured with `psql -X -q -c ... -c ...`). The extended protocol's
//! Parse reports the position too.

use crate::util::{Opts, TestServer, Via};

/// The statements, each one `-c` of one psql run.
const STATEMENTS: &[&str] = &[
    r#"SELECT * FROM nosuch"#,
    r#"INSERT INTO t VALUES ('q')"#,
    r#"SELECT a, b FROM t GROUP BY a"#,
    r#"SELECT 1,
  (SELECT
     nosuch2) FROM t"#,
    r#"SELECT 'é' || nosuch FROM t"#,
    r#"UPDATE t SET b = 'x' WHERE nosuch4 = 1"#,
    r#"SELECT interval '1 day x'"#,
    r#"SELECT 1 + '1' || 2 + 3"#,
    r#"SELECT 1; SELECT nosuch3 FROM t"#,
    r#"SELECT '3000000000'::int"#,
];

/// PostgreSQL 15's stderr for them.
const PG_STDERR: &str = r#"ERROR:  relation "nosuch" does not exist
LINE 1: SELECT * FROM nosuch
                      ^
ERROR:  invalid input syntax for type integer: "q"
LINE 1: INSERT INTO t VALUES ('q')
                              ^
ERROR:  column "t.b" must appear in the GROUP BY clause or be used in an aggregate function
LINE 1: SELECT a, b FROM t GROUP BY a
                  ^
ERROR:  column "nosuch2" does not exist
LINE 3:      nosuch2) FROM t
             ^
ERROR:  column "nosuch" does not exist
LINE 1: SELECT 'é' || nosuch FROM t
                      ^
ERROR:  column "nosuch4" does not exist
LINE 1: UPDATE t SET b = 'x' WHERE nosuch4 = 1
                                   ^
ERROR:  invalid input syntax for type interval: "1 day x"
LINE 1: SELECT interval '1 day x'
                        ^
ERROR:  operator does not exist: integer || integer
LINE 1: SELECT 1 + '1' || 2 + 3
                       ^
HINT:  No operator matches the given name and argument types. You might need to add explicit type casts.
ERROR:  column "nosuch3" does not exist
LINE 1: SELECT 1; SELECT nosuch3 FROM t
                         ^
ERROR:  value "3000000000" is out of range for type integer
LINE 1: SELECT '3000000000'::int
               ^
"#;

/// PostgreSQL 15's stdout: the row of `SELECT 1` before the failing
/// second statement of the same Query.
const PG_STDOUT: &str = " ?column? \n----------\n        1\n(1 row)\n\n";

#[test]
fn psql_shows_positions_of_errors_found_after_parsing() {
    let srv = TestServer::start(Opts::new());
    srv.psql_c(Via::Unix, &["CREATE TABLE t (a int, b text)"]);
    let mut args = vec!["-X", "-q"];
    for s in STATEMENTS {
        args.push("-c");
        args.push(s);
    }
    let out = srv.psql(Via::Unix, &args);
    assert_eq!(out.stderr, PG_STDERR, "{}", out.describe());
    assert_eq!(out.stdout, PG_STDOUT, "{}", out.describe());

    // Parse (extended protocol) of a statement naming an unknown column:
    // the same position, as drivers expose it.
    let mut c = srv.connect();
    let e = c
        .prepare("SELECT a, nosuch FROM t")
        .expect_err("an unknown column");
    let db = e.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "42703");
    assert_eq!(
        db.position(),
        Some(&postgres::error::ErrorPosition::Original(11))
    );
    // A literal's input error at Parse, in a comparison.
    let e = c
        .prepare("SELECT * FROM t WHERE a = 'zz'")
        .expect_err("bad integer input");
    let db = e.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "22P02");
    assert_eq!(
        db.position(),
        Some(&postgres::error::ErrorPosition::Original(27))
    );
}
