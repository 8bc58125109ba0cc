//! The geometric types point, lseg, line, box, path, polygon and circle
//! against the real binary: the same script run by psql 15 against
//! PostgreSQL 15 and against tusk prints the same rows and errors; their
//! binary forms through the postgres crate; stored columns across a
//! restart.
//!
//! Why end to end: the values travel through every layer (input function,
//! heap tuples, operators bound by the binder, output per
//! extra_float_digits, wire formats). The expected output is PostgreSQL
//! 15's for geometry.sql (`psql -X -A -t -f`, script path in stderr
//! replaced by SCRIPT).

use crate::util::{Opts, TestServer, Via};

const SCRIPT: &str = include_str!("geometry.sql");

const PG_STDOUT: &str = r#"(1,2)|(3,4)|[(1,2),(3,4)]|[(10,-10),(-3,-4)]
(2,2),(0,0)|(2,2),(0,0)|(2,3),(0,1)
[(1,2),(3,4)]|((1,2),(3,4))|((1,2),(3,4))|((10,20))
((3,1),(3,3),(1,0))|((0,0),(1,1))
<(5,1),3>|<(1,2),100>|<(1,2),100>
{0,-1,5}|{1,-1,0}|{0,-1,3}|{-1,0,3}
(NaN,Infinity)|(1e-300,-1e+300)
1.4142135623730951|(0.3333333333333333,0.6666666666666666)
SET
1.4142135623731|(0.333333333333333,0.666666666666667)|(0.707106781186547,0.707106781186547),(-0.707106781186547,-0.707106781186547)
SET
(0.3333333333,0.6666666667)|0.3333333333
RESET
(4,6)|(-2,-2)|(-5,10)|(0.44,0.08)
t|f|t|f
t|f|t
t|t|0.5
3|4
t|f|t
t|t
f|t
3|2.121320343559643|2.121320343559643
8|4.242640687119286|5.8309518948453
(2,2)|(1.5,1.5)|(1.5,1.5)
(1,1)|t|
t|t|t|t
(1,2)|5|5|t
7|(3,1)
(1,1)|f|t|t
3.5355339059327373|t|t
t|t|t|t
t|t|t|t
t|t|t
t|t|(2,2),(1,1)|
(3,3),(1,1)|(1,1),(-1,-1)|(4,4),(2,2)|(1,1),(0.5,0.5)
6|3|2|(1,1.5)|(1,1.5)|[(2,3),(0,0)]
5|(4,4),(0,0)|(1,3),(0,1)|(1,1),(1,1)
t|f|((0,0),(1,1))|[(0,0),(1,1)]
3|3|9|12
4||[(0,0),(1,1),(2,2),(3,3)]
[(1,0),(2,1)]|[(0,0),(-1,1)]|t
2|t
t|f
t|t
3|3|(2,2)|2
t|t|t|t
t|t|5
3.141592653589793|4|2|(1,2)|(1,2)
<(2,2),2>|<(-2,2),4>|<(1,1),3>|<(1,1),1.4142135623730951>
((0,0),(0,1),(1,1),(1,0))|(2,2),(0,0)|((0,0),(2,0),(2,2))|((0,0),(2,0),(2,2))
(1,2),(1,2)|(1,1)|<(1,1),1.4142135623730951>|[(2,2),(0,0)]|(1,1)
(1,2)|(1,2)
CREATE TABLE
INSERT 0 2
1|(1,2)|(2,2),(0,0)|<(1,1),1>|[(0,0),(1,1)]|((0,0),(1,1),(1,0))|{1,-1,0}|[(0,0),(1,1)]
2|(5,5)|(6,6),(4,4)|<(5,5),2>|((0,0),(5,5),(5,0))|((3,3),(4,4),(4,3))|{0,-1,5}|[(1,0),(2,3)]
1
2|7.0710678118654755
1|2.23606797749979
UPDATE 1
1|(2,3)|f
2|(5,5)|t
t|t
CREATE TABLE
p|point|||
b|box|||
{"(1,2)"}
0
PREPARE
5
(1,2)
double precision
CREATE TABLE
INSERT 0 1
INSERT 0 1
INSERT 0 1
|((0,0),(0,1),(1,1),(1,0))|
||((0,0),(1,1),(2,0))
|((0,0),(1,1),(2,0))|
600|point|16|f|b|G|701|1017|d|p|,|point
601|lseg|32|f|b|G|600|1018|d|p|,|lseg
602|path|-1|f|b|G|0|1019|d|x|,|path
603|box|32|f|b|G|600|1020|d|p|;|box
604|polygon|-1|f|b|G|0|1027|d|x|,|polygon
628|line|24|f|b|G|701|629|d|p|,|line
629|_line|-1|f|b|A|628|0|d|x|,|line[]
718|circle|24|f|b|G|0|719|d|p|,|circle
719|_circle|-1|f|b|A|718|0|d|x|,|circle[]
1017|_point|-1|f|b|A|600|0|d|x|,|point[]
1018|_lseg|-1|f|b|A|601|0|d|x|,|lseg[]
1019|_path|-1|f|b|A|602|0|d|x|,|path[]
1020|_box|-1|f|b|A|603|0|d|x|;|box[]
1027|_polygon|-1|f|b|A|604|0|d|x|,|polygon[]
{(1,1),(0,0);(3,3),(2,2)}|{(1,1),(0,0);(3,3),(2,2)}|{(1,1),(0,0);(3,3),(2,2)}
{{1,2},{3,4}}|{"a,b",c}|{"(1,2)"}
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:10: ERROR:  invalid input syntax for type point: "(10.0 10.0)"
psql:SCRIPT:11: ERROR:  invalid input syntax for type point: "(10.0, 10.0) x"
psql:SCRIPT:12: ERROR:  "1e+500" is out of range for type double precision
psql:SCRIPT:13: ERROR:  invalid input syntax for type path: "[]"
psql:SCRIPT:14: ERROR:  invalid input syntax for type path: "(1,2),(3,4)]"
psql:SCRIPT:15: ERROR:  invalid line specification: A and B cannot both be zero
psql:SCRIPT:16: ERROR:  invalid line specification: must be two distinct points
psql:SCRIPT:17: ERROR:  invalid input syntax for type circle: "<(-100,0),-100>"
psql:SCRIPT:18: ERROR:  invalid input syntax for type box: "[1,2,3,4]"
psql:SCRIPT:19: ERROR:  invalid input syntax for type polygon: "(1,2,3)"
psql:SCRIPT:33: ERROR:  division by zero
psql:SCRIPT:34: ERROR:  value out of range: overflow
psql:SCRIPT:71: ERROR:  must request at least 2 points
psql:SCRIPT:72: ERROR:  cannot convert circle with radius zero to polygon
psql:SCRIPT:76: ERROR:  open path cannot be converted to polygon
psql:SCRIPT:79: ERROR:  operator does not exist: point = point
HINT:  No operator matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:80: ERROR:  operator does not exist: point <-> integer
HINT:  No operator matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:87: ERROR:  could not identify an ordering operator for type point
HINT:  Use an explicit ordering operator or modify the query.
psql:SCRIPT:88: ERROR:  could not identify an ordering operator for type box
HINT:  Use an explicit ordering operator or modify the query.
psql:SCRIPT:91: ERROR:  could not identify an equality operator for type point
psql:SCRIPT:92: ERROR:  could not identify an equality operator for type point
psql:SCRIPT:93: ERROR:  operator does not exist: point = point
HINT:  No operator matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:94: ERROR:  operator does not exist: point = point
HINT:  No operator matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:97: ERROR:  data type point has no default operator class for access method "btree"
HINT:  You must specify an operator class for the index or define a default operator class for the data type.
psql:SCRIPT:98: ERROR:  data type box has no default operator class for access method "btree"
HINT:  You must specify an operator class for the index or define a default operator class for the data type.
psql:SCRIPT:99: ERROR:  data type box has no default operator class for access method "btree"
HINT:  You must specify an operator class for the index or define a default operator class for the data type.
psql:SCRIPT:101: ERROR:  function min(point) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:102: ERROR:  could not identify an equality operator for type point
psql:SCRIPT:109: ERROR:  column "p" is of type point but expression is of type box
HINT:  You will need to rewrite or cast the expression.
psql:SCRIPT:113: ERROR:  column "po" is of type polygon but expression is of type circle
HINT:  You will need to rewrite or cast the expression.
psql:SCRIPT:115: ERROR:  function area(polygon) does not exist
HINT:  No function matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:120: ERROR:  invalid input syntax for type box: "(1,1),(0,0),(3,3),(2,2)"
"#;

#[test]
fn geometry_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "geometry.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// Binary send/recv through the postgres crate (extended protocol, binary
/// parameters and results): PostgreSQL's layouts, float8s big-endian.
#[test]
fn geometry_binary_round_trip_through_the_driver() {
    use postgres::types::{FromSql, IsNull, ToSql, Type};

    #[derive(Debug, PartialEq)]
    struct Raw(Vec<u8>);
    fn ours(t: &Type) -> bool {
        ["point", "lseg", "box", "path", "polygon", "line", "circle"].contains(&t.name())
    }
    impl<'a> FromSql<'a> for Raw {
        fn from_sql(
            _: &Type,
            raw: &'a [u8],
        ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
            Ok(Raw(raw.to_vec()))
        }
        fn accepts(t: &Type) -> bool {
            ours(t)
        }
    }
    impl ToSql for Raw {
        fn to_sql(
            &self,
            _: &Type,
            out: &mut postgres::types::private::BytesMut,
        ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
            out.extend_from_slice(&self.0);
            Ok(IsNull::No)
        }
        fn accepts(t: &Type) -> bool {
            ours(t)
        }
        postgres::types::to_sql_checked!();
    }
    fn floats(v: &[f64]) -> Vec<u8> {
        v.iter().flat_map(|f| f.to_be_bytes()).collect()
    }

    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let point = floats(&[1.5, -2.0]);
    // box_recv puts the corners in order: (0,0),(2,3) reads as (2,3),(0,0).
    let boxed = floats(&[0.0, 0.0, 2.0, 3.0]);
    let mut path = vec![0u8, 0, 0, 0, 2];
    path.extend(floats(&[0.0, 0.0, 1.0, 1.0]));
    let mut poly = vec![0u8, 0, 0, 3];
    poly.extend(floats(&[0.0, 0.0, 1.0, 1.0, 1.0, 0.0]));
    let circle = floats(&[1.0, 2.0, 3.0]);
    let line = floats(&[1.0, -1.0, 0.0]);
    let lseg = floats(&[0.0, 0.0, 3.0, 4.0]);
    let row = c
        .query_one(
            "SELECT $1::point::text, $2::box::text, $3::path::text, $4::polygon::text, \
                    $5::circle::text, $6::line::text, $7::lseg::text, \
                    $1::point, $2::box, $3::path, $4::polygon, $5::circle, $6::line, $7::lseg",
            &[
                &Raw(point.clone()),
                &Raw(boxed),
                &Raw(path.clone()),
                &Raw(poly.clone()),
                &Raw(circle.clone()),
                &Raw(line.clone()),
                &Raw(lseg.clone()),
            ],
        )
        .expect("binary parameters");
    assert_eq!(row.get::<_, String>(0), "(1.5,-2)");
    assert_eq!(row.get::<_, String>(1), "(2,3),(0,0)");
    assert_eq!(row.get::<_, String>(2), "[(0,0),(1,1)]");
    assert_eq!(row.get::<_, String>(3), "((0,0),(1,1),(1,0))");
    assert_eq!(row.get::<_, String>(4), "<(1,2),3>");
    assert_eq!(row.get::<_, String>(5), "{1,-1,0}");
    assert_eq!(row.get::<_, String>(6), "[(0,0),(3,4)]");
    assert_eq!(row.get::<_, Raw>(7), Raw(point));
    assert_eq!(row.get::<_, Raw>(8), Raw(floats(&[2.0, 3.0, 0.0, 0.0])));
    assert_eq!(row.get::<_, Raw>(9), Raw(path));
    assert_eq!(row.get::<_, Raw>(10), Raw(poly));
    assert_eq!(row.get::<_, Raw>(11), Raw(circle));
    assert_eq!(row.get::<_, Raw>(12), Raw(line));
    assert_eq!(row.get::<_, Raw>(13), Raw(lseg));
    // circle_recv refuses a negative radius (22P03).
    let err = c
        .query_one("SELECT $1::circle", &[&Raw(floats(&[0.0, 0.0, -1.0]))])
        .expect_err("negative radius");
    assert_eq!(
        err.as_db_error().map(|e| e.code().code()),
        Some("22P03"),
        "{err}"
    );
}

/// Geometric columns are stored and read back after a restart.
#[test]
fn geometry_columns_survive_restart() {
    let mut srv = TestServer::start(Opts::new());
    {
        let mut c = srv.connect();
        c.batch_execute(
            "CREATE TABLE shapes (id int, p point, b box, pa path, po polygon, c circle, l line, s lseg);
             INSERT INTO shapes VALUES
               (1, '(1,2)', '(0,0,2,2)', '[(0,0),(1,1),(2,0)]', '(0,0),(1,1),(1,0)', '<(1,1),2>', '{1,-1,0}', '[(0,0),(1,1)]'),
               (2, NULL, '(5,5,6,6)', '((0,0),(5,5))', '(3,3),(4,4),(4,3)', '<(5,5),0.5>', '{0,-1,5}', '[(1,0),(2,3)]');",
        )
        .expect("create and fill");
    }
    srv.stop_with(libc::SIGTERM);
    srv.start_postmaster();
    let out = srv.psql_c(
        Via::Unix,
        &["SELECT id, p, b, pa, po, c, l, s, npoints(pa) FROM shapes WHERE b && box '(0,0,10,10)' ORDER BY id"],
    );
    assert_eq!(
        out,
        "1|(1,2)|(2,2),(0,0)|[(0,0),(1,1),(2,0)]|((0,0),(1,1),(1,0))|<(1,1),2>|{1,-1,0}|[(0,0),(1,1)]|3\n\
         2||(6,6),(5,5)|((0,0),(5,5))|((3,3),(4,4),(4,3))|<(5,5),0.5>|{0,-1,5}|[(1,0),(2,3)]|2\n"
    );
}
