//! psql, PostgreSQL 15's own client, over TCP and over the Unix socket:
//! the statements an operator types first, with their output as text.

use crate::util::{TestServer, Via};

/// Every check of one transport; `via` chooses TCP or the Unix socket.
fn psql_session_checks(via: Via) {
    let srv = TestServer::start(crate::util::Opts::new().set("max_connections", "12"));
    let q = |sql: &str| srv.psql_c(via, &[sql]);

    assert_eq!(q("SELECT 1"), "1\n");
    // Arithmetic with PostgreSQL's integer division and modulo, comparisons.
    assert_eq!(
        q("SELECT 2 + 3 * 4, 7 / 2, 7 % 3, 2 > 1, 'a' < 'b', 1 = 2"),
        "14|3|1|t|t|f\n"
    );
    // Concatenation, casts (numeric to int rounds half away from zero).
    assert_eq!(
        q("SELECT 'foo' || 'bar', '42'::int4 + 1, 3.5::int4, 12::text || 'x'"),
        "foobar|43|4|12x\n"
    );
    // NULL: prints as an empty field, propagates through operators.
    assert_eq!(
        q("SELECT NULL IS NULL, (1 + NULL) IS NULL, NULL::int4"),
        "t|t|\n"
    );

    let version = q("select version()");
    assert!(
        version.starts_with("PostgreSQL 15"),
        "version() = {version:?}"
    );

    assert_eq!(q("show max_connections"), "12\n");

    // SET then SHOW in the same session (two -c in one psql run).
    assert_eq!(
        srv.psql_c(
            via,
            &["SET application_name = 'x'", "SHOW application_name"]
        ),
        "x\n"
    );

    assert_eq!(
        q("select current_setting('port')"),
        format!("{}\n", srv.port())
    );
    assert_eq!(q("select set_config('application_name','y',false)"), "y\n");

    let pid: i32 = q("select pg_backend_pid()")
        .trim()
        .parse()
        .expect("pg_backend_pid() is an integer");
    assert!(
        pid > 0 && pid != srv.pm_pid(),
        "pg_backend_pid() = {pid}, postmaster {}",
        srv.pm_pid()
    );

    // A transaction block in one simple Query message.
    assert_eq!(q("BEGIN; SELECT 1; COMMIT"), "1\n");

    // SHOW ALL: name|setting|description per setting.
    let all = q("SHOW ALL");
    let lines: Vec<&str> = all.lines().collect();
    assert!(
        lines.len() > 20,
        "SHOW ALL returned {} rows:\n{all}",
        lines.len()
    );
    assert!(
        lines.iter().all(|l| l.split('|').count() >= 3),
        "SHOW ALL rows must have name|setting|description:\n{all}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("max_connections|12|")),
        "SHOW ALL lacks max_connections|12:\n{all}"
    );
}

#[test]
fn psql_over_tcp() {
    psql_session_checks(Via::Tcp);
}

#[test]
fn psql_over_unix_socket() {
    psql_session_checks(Via::Unix);
}

/// A failing `-c` command makes psql exit 1, and the error reaches
/// psql's stderr with PostgreSQL's wording.
#[test]
fn psql_reports_errors() {
    let srv = TestServer::start(crate::util::Opts::new());
    let out = srv.psql(
        Via::Tcp,
        &[
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "SELECT 1/0",
        ],
    );
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("ERROR:  division by zero"),
        "{}",
        out.describe()
    );
    // The server is still fine.
    assert_eq!(srv.psql_c(Via::Unix, &["SELECT 1"]), "1\n");
}

/// A syntax error carries its position (ErrorResponse `P`), so psql
/// prints the offending line and a caret under the character, exactly as
/// it does against PostgreSQL 15 (the expected texts are PostgreSQL 15's
/// output for the same commands, including a multi-line query and a
/// position counted in characters after a two-byte one). The extended
/// protocol's Parse reports the same position.
#[test]
fn psql_shows_syntax_error_position() {
    let srv = TestServer::start(crate::util::Opts::new());
    let cases = [
        (
            "SELEC 1",
            "ERROR:  syntax error at or near \"SELEC\"\nLINE 1: SELEC 1\n        ^\n",
        ),
        (
            "SELECT 1,\n  2 +",
            "ERROR:  syntax error at end of input\nLINE 2:   2 +\n             ^\n",
        ),
        (
            "SELECT 'é', x frm t",
            "ERROR:  syntax error at or near \"t\"\nLINE 1: SELECT 'é', x frm t\n                          ^\n",
        ),
    ];
    for (sql, want) in cases {
        let out = srv.psql(Via::Unix, &["-X", "-A", "-t", "-c", sql]);
        assert_eq!(out.code(), Some(1), "{}", out.describe());
        assert_eq!(out.stderr, want, "{sql:?}: {}", out.describe());
    }
    let mut c = srv.connect();
    let e = c.prepare("SELECT 1 +").expect_err("a syntax error");
    let db = e.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "42601");
    assert_eq!(
        db.position(),
        Some(&postgres::error::ErrorPosition::Original(11))
    );
}

/// pg_settings as PostgreSQL 15 shows it (rows taken from a PostgreSQL 15
/// with default settings; work_mem changed by SET shows the session's
/// value with source "session" and the old reset value).
#[test]
fn pg_settings_rows_are_postgresql_15s() {
    let srv = TestServer::start(crate::util::Opts::new());
    let out = srv.psql_c(
        Via::Unix,
        &[
            "SET work_mem = '8MB'",
            "SELECT name, setting, unit, category, short_desc, context, vartype, source, min_val, \
             max_val, enumvals, boot_val, reset_val, pending_restart FROM pg_settings \
             WHERE name IN ('enable_seqscan', 'min_parallel_table_scan_size', 'jit_above_cost', \
             'constraint_exclusion', 'vacuum_cost_delay', 'work_mem') ORDER BY 1",
        ],
    );
    assert_eq!(
        out,
        "constraint_exclusion|partition||Query Tuning / Other Planner Options|Enables the planner to use constraints to optimize queries.|user|enum|default|||{partition,on,off}|partition|partition|f
enable_seqscan|on||Query Tuning / Planner Method Configuration|Enables the planner's use of sequential-scan plans.|user|bool|default||||on|on|f
jit_above_cost|100000||Query Tuning / Planner Cost Constants|Perform JIT compilation if query is more expensive.|user|real|default|-1|1.79769e+308||100000|100000|f
min_parallel_table_scan_size|1024|8kB|Query Tuning / Planner Cost Constants|Sets the minimum amount of table data for a parallel scan.|user|integer|default|0|715827882||1024|1024|f
vacuum_cost_delay|0|ms|Resource Usage / Cost-Based Vacuum Delay|Vacuum cost delay in milliseconds.|user|real|default|0|100||0|0|f
work_mem|8192|kB|Resource Usage / Memory|Sets the maximum memory to be used for query workspaces.|user|integer|session|64|2147483647||4096|4096|f
"
    );
}
