//! Cursor positions of the errors the binder finds (bind/errpos.rs): for
//! each kind, the 1-based character position PostgreSQL 15 reports for
//! the same statement (taken from psql's caret against a real server).

use super::*;

/// Message and position of the error of the last statement of `sql`,
/// parsed as a client's query string.
fn pos_err(sql: &str) -> (String, Option<u32>) {
    let mut h = FakeHost::new();
    let stmts = parse_with_position(sql).unwrap_or_else(|(e, _)| panic!("{sql}: {e}"));
    let rels = FakeRelations(h.activity.clone());
    for st in &stmts {
        let r = prepare(st, &[], &h).and_then(|p| execute(&p, &[], &mut h, &rels));
        if let Err(e) = r {
            return (e.message, e.position);
        }
    }
    panic!("{sql}: expected an error");
}

fn at(sql: &str, message: &str, position: u32) {
    assert_eq!(pos_err(sql), (message.to_string(), Some(position)), "{sql}");
}

#[test]
fn names_point_at_their_start() {
    at(
        "select * from nosuch",
        "relation \"nosuch\" does not exist",
        15,
    );
    at(
        "select nosuch from (values (1)) v(a)",
        "column \"nosuch\" does not exist",
        8,
    );
    at(
        "select v.nosuch from (values (1)) v(a)",
        "column v.nosuch does not exist",
        8,
    );
    at(
        "select x.a from (values (1)) v(a)",
        "missing FROM-clause entry for table \"x\"",
        8,
    );
    at(
        "select a from (values (1)) t1(a), (values (2)) t2(a)",
        "column reference \"a\" is ambiguous",
        8,
    );
    at(
        "select length(nosuch) from (values (1)) v(a)",
        "column \"nosuch\" does not exist",
        15,
    );
    at(
        "select a from (values (1)) v(a) order by nosuch",
        "column \"nosuch\" does not exist",
        42,
    );
    at(
        "select a, b from (values (1, 2)) v(a, b) group by a",
        "column \"v.b\" must appear in the GROUP BY clause or be used in an aggregate function",
        11,
    );
    at(
        "select nofunc(1, 'a')",
        "function nofunc(integer, unknown) does not exist",
        8,
    );
    at(
        "select * from nofunc('x')",
        "function nofunc(unknown) does not exist",
        15,
    );
    at(
        "select 1::nosuchtype",
        "type \"nosuchtype\" does not exist",
        11,
    );
    at(
        "select 1::int4::nosuchtype",
        "type \"nosuchtype\" does not exist",
        17,
    );
    at(
        "select * from (select 1)",
        "subquery in FROM must have an alias",
        15,
    );
    at(
        "select * from ((select 1 as x))",
        "subquery in FROM must have an alias",
        15,
    );
}

#[test]
fn operators_and_casts_point_at_their_symbol() {
    at(
        "select 1 + '1' || 2 + 3",
        "operator does not exist: integer || integer",
        16,
    );
    at(
        "select 'a'::text || 1::int4 + 'q'::text",
        "operator does not exist: integer + text",
        29,
    );
    at(
        "select (1) + 'x'::text",
        "operator does not exist: integer + text",
        12,
    );
    at(
        "select ''::bytea::int2",
        "cannot cast type bytea to smallint",
        17,
    );
    at(
        "select cast(''::bytea as int4)",
        "cannot cast type bytea to integer",
        8,
    );
    at(
        "select CAST(interval '02:03' AS time with time zone)",
        "cannot cast type interval to time with time zone",
        8,
    );
}

#[test]
fn literals_point_at_the_string() {
    at(
        "select 'abc'::int",
        "invalid input syntax for type integer: \"abc\"",
        8,
    );
    at(
        "select 1 + 'x'::int",
        "invalid input syntax for type integer: \"x\"",
        12,
    );
    at(
        "select -'a'::int",
        "invalid input syntax for type integer: \"a\"",
        9,
    );
    at(
        "select cast('x' as int)",
        "invalid input syntax for type integer: \"x\"",
        13,
    );
    at(
        "select int '42x'",
        "invalid input syntax for type integer: \"42x\"",
        12,
    );
    at(
        "select interval '1 day x'",
        "invalid input syntax for type interval: \"1 day x\"",
        17,
    );
    at(
        "select '3000000000'::int",
        "value \"3000000000\" is out of range for type integer",
        8,
    );
    at(
        "select * from (values (1)) v(a) where a = 'zz'",
        "invalid input syntax for type integer: \"zz\"",
        43,
    );
    at(
        "select '{1,2'::int[]",
        "malformed array literal: \"{1,2\"",
        8,
    );
    at(
        "select '{\"a\":'::json",
        "invalid input syntax for type json",
        8,
    );
    // A typed value converted at bind time is no literal: no position,
    // as in PostgreSQL (`integer out of range`).
    assert_eq!(
        pos_err("select 3000000000::int"),
        ("integer out of range".to_string(), None)
    );
}

#[test]
fn positions_count_characters_of_the_whole_query_string() {
    // The second statement of a multi-statement string.
    at(
        "select 1; select nosuch from (values (1)) v(a)",
        "column \"nosuch\" does not exist",
        18,
    );
    // Several lines: psql derives LINE 3 and the caret from this.
    at(
        "select 1,\n  (select\n     nosuch2)",
        "column \"nosuch2\" does not exist",
        26,
    );
    // EXPLAIN's statement, parsed again after the options.
    at(
        "select 1; explain (costs off) select nosuch from (values (1)) v(a)",
        "column \"nosuch\" does not exist",
        38,
    );
    // CREATE VIEW / CREATE TABLE AS: view.rs parses the statement again.
    at(
        "select 1;\ncreate view w as select nosuch from (values (1)) v(a)",
        "column \"nosuch\" does not exist",
        35,
    );
    at(
        "create table w as select a, nosuch from (values (1)) v(a)",
        "column \"nosuch\" does not exist",
        29,
    );
    at(
        "select nosuch into w from (values (1)) v(a)",
        "column \"nosuch\" does not exist",
        8,
    );
    // Characters, not bytes: é is two bytes in UTF-8.
    at(
        "select 'é' || nosuch from (values (1)) v(a)",
        "column \"nosuch\" does not exist",
        15,
    );
}

#[test]
fn text_the_client_did_not_send_has_no_position() {
    // `parse` is for the server's own text (function bodies, views): a
    // position would point into a string the client never saw.
    let h = FakeHost::new();
    let stmts = parse("select nosuch from (values (1)) v(a)").unwrap();
    let e = prepare(&stmts[0], &[], &h).expect_err("an error");
    assert_eq!(e.message, "column \"nosuch\" does not exist");
    assert_eq!(e.position, None);
    // Errors PostgreSQL reports without a position stay without one.
    assert_eq!(
        pos_err("select 1/0"),
        ("division by zero".to_string(), None)
    );
}
