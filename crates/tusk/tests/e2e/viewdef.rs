//! View definitions as PostgreSQL prints them: pg_get_viewdef, pretty and
//! plain, over the forms ruleutils deparses (qualified columns, AS, typed
//! constants, operator parentheses, JOIN ... USING and NATURAL, nested and
//! aliased joins, subqueries, set operations, WITH, CASE, windows, VALUES).
//!
//! Why end to end: psql's `\d+` and pg_dump read a view back through
//! pg_get_viewdef, so its text is what clients see and what a dump
//! restores. The expected output is PostgreSQL 15's for viewdef.sql
//! (`psql -X -A -t -f`).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("viewdef.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE VIEW
 SELECT 42 AS i,
    42.5 AS num,
    'foo'::text AS u,
    'foo'::text AS u2,
    NULL::text AS n,
    '-1'::integer AS neg,
    '3000000000'::bigint AS big,
    true AS t;
CREATE VIEW
 SELECT vd1.a,
    vd1.b
   FROM vd1
  WHERE vd1.c::text = 'x'::text AND vd1.d > 1::numeric OR vd1.b ~~ 'z%'::text;
 SELECT vd1.a,
    vd1.b
   FROM vd1
  WHERE ((((vd1.c)::text = 'x'::text) AND (vd1.d > (1)::numeric)) OR (vd1.b ~~ 'z%'::text));
CREATE VIEW
 SELECT vd1.a,
    vd1.b,
    vd1.c,
    vd1.d,
    vd2.e
   FROM vd1
     JOIN vd2 USING (a);
 SELECT vd1.a,
    vd1.b,
    vd1.c,
    vd1.d,
    vd2.e
   FROM (vd1
     JOIN vd2 USING (a));
CREATE VIEW
 SELECT a,
    vd1.b,
    vd1.c,
    vd1.d,
    vd3.f,
    vd2.e
   FROM vd1
     JOIN vd3 USING (a, b)
     FULL JOIN vd2 USING (a);
CREATE VIEW
 SELECT x.a,
    y.e
   FROM vd1 x
     LEFT JOIN vd2 y ON x.a = y.a
  WHERE (x.a = ANY (ARRAY[1, 2])) AND NOT x.b IS NULL;
 SELECT x.a,
    y.e
   FROM (vd1 x
     LEFT JOIN vd2 y ON ((x.a = y.a)))
  WHERE ((x.a = ANY (ARRAY[1, 2])) AND (NOT (x.b IS NULL)));
CREATE VIEW
 SELECT j.a,
    j.b,
    j.c,
    j.d,
    j.e
   FROM (vd1
     JOIN vd2 USING (a)) j;
CREATE VIEW
 SELECT vd1.b,
    count(*) AS count,
    sum(vd1.a) AS sum
   FROM vd1
  GROUP BY vd1.b
 HAVING count(*) > 1
  ORDER BY (count(*)) DESC;
CREATE VIEW
 SELECT
        CASE
            WHEN vd1.a > 1 THEN 'x'::text
            ELSE 'y'::text
        END AS k,
    vd1.a + 1 AS p,
    (vd1.a * 2 + 1) * 3 AS m,
    vd1.a - (1 - vd1.a) AS mm,
    COALESCE(vd1.b, 'q'::text) AS "coalesce"
   FROM vd1;
CREATE VIEW
 SELECT vd2.a AS e,
    vd2.e AS a
   FROM vd2
  ORDER BY vd2.e;
ALTER VIEW
 SELECT vd2.a AS e0,
    vd2.e AS a
   FROM vd2
  ORDER BY vd2.e;
CREATE VIEW
 SELECT s.a,
    s.b
   FROM ( SELECT vd1.a,
            vd1.b
           FROM vd1) s
  WHERE (EXISTS ( SELECT 1
           FROM vd2
          WHERE vd2.a = s.a));
CREATE VIEW
 SELECT vd2.a,
    vd2.e
   FROM vd2
  WHERE (EXISTS ( SELECT 1
           FROM vd2 x
          WHERE x.e = vd2.a)) AND (vd2.a IN ( SELECT vd1.a
           FROM vd1));
CREATE VIEW
(
         SELECT vd1.a
           FROM vd1
        UNION
         SELECT vd2.e AS a
           FROM vd2
) UNION ALL
 SELECT 3 AS a
  ORDER BY 1;
CREATE VIEW
 WITH q AS (
         SELECT vd1.a
           FROM vd1
        )
 SELECT q.a
   FROM q
  WHERE q.a >= 1 AND q.a <= 5;
CREATE VIEW
 SELECT vd1.a,
    row_number() OVER (PARTITION BY vd1.b ORDER BY vd1.a DESC) AS rn
   FROM vd1;
CREATE VIEW
 SELECT vv.a,
    vv.b,
    vv.c
   FROM ( VALUES ('abc'::character varying(3),'0123456789'::character varying,42), ('0123456789'::character varying,'abc'::character varying(3),42.12)) vv(a, b, c);
CREATE VIEW
 SELECT vd1.a AS x,
    vd1.b AS y
   FROM vd1;
 SELECT vd1.a AS x,
    vd1.b AS y
   FROM vd1;
"#;

const PG_STDERR: &str = r#""#;

#[test]
fn view_definitions_print_as_postgresql_deparses_them() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "viewdef.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
