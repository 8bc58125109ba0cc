//! ROW(...) constructors as clients see them: record output with
//! PostgreSQL's quoting (empty strings and fields with spaces or quotes
//! double-quoted, NULL fields empty), pg_typeof record, records sorted
//! field by field with NULL fields last (record_cmp), and comparisons of
//! row values answered pairwise (a NULL field makes `=` unknown).
//! Expected outputs are PostgreSQL 15's (psql -X -A -t).

use crate::util::{Opts, TestServer, Via};

#[test]
fn row_constructors_print_and_sort_as_postgresql() {
    let srv = TestServer::start(Opts::new());
    let out = srv.psql_c(
        Via::Unix,
        &[
            "SELECT ROW(1, 'a b', NULL, '', 2.50, 'x\"y'), row(true), pg_typeof(ROW(1))",
            "SELECT r FROM (VALUES (ROW(2, 'b'::text)), (ROW(1, 'z'::text)), (ROW(1, NULL::text))) v(r) ORDER BY r",
        ],
    );
    assert_eq!(
        out,
        "(1,\"a b\",,\"\",2.50,\"x\"\"y\")|(t)|record\n(1,z)\n(1,)\n(2,b)\n"
    );
    let out = srv.psql_c(
        Via::Unix,
        &["SELECT ROW(1, 2) = ROW(1, 2), ROW(1, NULL) = ROW(1, 2), ROW(1, 2) < ROW(1, 3)"],
    );
    assert_eq!(out, "t||t\n");
}
