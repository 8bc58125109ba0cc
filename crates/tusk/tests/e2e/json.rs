//! json and jsonb as clients see them: one script run by psql 15 against
//! PostgreSQL 15 and against tusk prints the same rows, errors, DETAILs,
//! HINTs and CONTEXTs (json and jsonb columns stored and read back, json
//! kept verbatim and jsonb normalised, every operator, the json
//! functions and set-returning functions, jsonb's order in GROUP BY,
//! DISTINCT and ORDER BY, PostgreSQL's input errors); the postgres crate
//! reads and sends both in binary (jsonb's version byte); columns survive
//! a restart.
//!
//! The expected output is PostgreSQL 15's for json.sql (captured with
//! `psql -X -A -t -f`; the script path in stderr replaced by SCRIPT). Of
//! stderr, the `psql:`, DETAIL, HINT and CONTEXT lines are compared: tusk
//! does not yet point at error positions (PostgreSQL's `LINE 1:`).

use crate::util::{Opts, TestServer, Via};

const SCRIPT: &str = include_str!("json.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
INSERT 0 4
1|{"b": [1,  2], "a": "x", "a": 3}|{"a": 3, "b": [1, 2]}
2|[1, "two", null, {"k": true}]|[1, "two", null, {"k": true}]
3|"str"|42.50
4||
1|3|3|3|3|||
2|||||"two"|two|{"k": true}
3|||||||42.50
4|||||||
1|2||1||{"a": 3, "b": [1, 2]}
2||true||true|[1, "two", null, {"k": true}]
3|||||42.50
4|||||
1|t|t|t|f|t
2|f|f|f|t|f
3|f|f|f|f|f
4|||||
{"a": 1, "b": 2}|[1, 2, 3]|[1, 2]|{"b": 2}|[1, 3]|{"b": 2}|{"a": {"b": [2]}}
[]|1
null|1
"s"|1
2|1
true|1
[1]|1
{}|1
{"x": 1}|2
{"a": 1}
[1, 2]
t|t|t|t
"a\"b"|1.5|[1,2]|["x", null]|true|{"z": 1}|[[1,2],[3,4]]
{"a" : 1, "b" : "two", "c" : null}|{"a": [1, 2], "b": 1}|[1, "x", null, true]|[1, "x", null]
{"a" : "1", "b" : "2"}|{"a": "1", "b": null}|{"a" : "1", "b" : "2"}
object|array|number|string|null|boolean|3|0
{"a": 1, "b": ["x", 2]}|{"a": 1, "c": 3}|{"a": 1}|[1, 2, 9]|[1, "n", 2]|[1, 2, "n"]|{"a": 1, "b": 2}
{"b": [null, {}]}|{"b":1}
{
    "a": [
        1,
        {
            "b": 2
        }
    ],
    "c": {
    }
}
[1,2]|x|2|
a|1
b|[2, 3]
a|"x"
a|x
b|
c|[1]
k|{"n": 1}
1
"a"
{"b" : 2}
1
a

[2]
a
c
bb
x
y
[1, null, 3]|[1, null, 3]|{ "a" : 1, "b" : null, "a" : 3 }|{"a": 3, "b": null}
a|[1, 3]|[{"p": 1}, null]
b|[2]|[[]]
t
t|t|{"a": {"c": 2}}|[
]
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:26: ERROR:  invalid input syntax for type json
DETAIL:  The input string ended unexpectedly.
CONTEXT:  JSON data, line 1: {"a":1
psql:SCRIPT:27: ERROR:  invalid input syntax for type json
DETAIL:  Expected JSON value, but found "]".
CONTEXT:  JSON data, line 1: [1,]
psql:SCRIPT:28: ERROR:  invalid input syntax for type json
DETAIL:  Token "nope" is invalid.
CONTEXT:  JSON data, line 1: nope
psql:SCRIPT:29: ERROR:  invalid input syntax for type json
DETAIL:  Expected ":", but found "1".
CONTEXT:  JSON data, line 1: {"a" 1...
psql:SCRIPT:30: ERROR:  unsupported Unicode escape sequence
DETAIL:  \u0000 cannot be converted to text.
CONTEXT:  JSON data, line 1: "\u0000...
psql:SCRIPT:31: ERROR:  cannot delete from object using integer index
psql:SCRIPT:32: ERROR:  cannot get array length of a non-array
psql:SCRIPT:33: ERROR:  cannot get array length of a scalar
psql:SCRIPT:34: ERROR:  cannot extract elements from an object
psql:SCRIPT:35: ERROR:  cannot call jsonb_each on a non-object
psql:SCRIPT:36: ERROR:  argument list must have even number of elements
HINT:  The arguments of json_build_object() must consist of alternating keys and values.
psql:SCRIPT:37: ERROR:  cannot cast jsonb string to type numeric
psql:SCRIPT:38: ERROR:  operator does not exist: json ? unknown
HINT:  No operator matches the given name and argument types. You might need to add explicit type casts.
psql:SCRIPT:42: ERROR:  argument 1: key must not be null
psql:SCRIPT:43: ERROR:  argument 1 cannot be null
HINT:  Object keys should be text.
psql:SCRIPT:44: ERROR:  key value must be scalar, not array, composite, or json
psql:SCRIPT:45: ERROR:  wrong number of array subscripts
"#;

#[test]
fn json_script_matches_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "json.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors: String = errs
        .lines()
        .filter(|l| {
            l.starts_with("psql:")
                || l.starts_with("DETAIL:")
                || l.starts_with("HINT:")
                || l.starts_with("CONTEXT:")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}

/// The postgres crate reads json and jsonb in binary (json: the text;
/// jsonb: version byte 1 and the text) and sends them so as parameters;
/// a bad version is refused.
#[test]
fn json_binary_round_trip_through_the_driver() {
    use postgres::types::{FromSql, IsNull, ToSql, Type};

    /// A json(b) value carried as its text, encoded as PostgreSQL's
    /// jsonb_send / json_send do.
    #[derive(Debug, PartialEq)]
    struct J(String);
    impl<'a> FromSql<'a> for J {
        fn from_sql(
            ty: &Type,
            raw: &'a [u8],
        ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
            let raw = if *ty == Type::JSONB {
                assert_eq!(raw[0], 1, "jsonb version byte");
                &raw[1..]
            } else {
                raw
            };
            Ok(J(String::from_utf8(raw.to_vec())?))
        }
        fn accepts(ty: &Type) -> bool {
            *ty == Type::JSON || *ty == Type::JSONB
        }
    }
    impl ToSql for J {
        fn to_sql(
            &self,
            ty: &Type,
            out: &mut postgres::types::private::BytesMut,
        ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
            if *ty == Type::JSONB {
                out.extend_from_slice(&[1]);
            }
            out.extend_from_slice(self.0.as_bytes());
            Ok(IsNull::No)
        }
        fn accepts(ty: &Type) -> bool {
            *ty == Type::JSON || *ty == Type::JSONB
        }
        postgres::types::to_sql_checked!();
    }

    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    c.batch_execute("CREATE TABLE t (j json, b jsonb)")
        .expect("create");
    c.execute(
        "INSERT INTO t VALUES ($1, $2)",
        &[
            &J("{\"b\":1,  \"a\":[true]}".into()),
            &J("{\"b\":1, \"a\":[true]}".into()),
        ],
    )
    .expect("insert with binary json parameters");
    let row = c
        .query_one("SELECT j, b, b -> 'a', j ->> 'b' FROM t", &[])
        .expect("select");
    assert_eq!(row.get::<_, J>(0), J("{\"b\":1,  \"a\":[true]}".into()));
    assert_eq!(row.get::<_, J>(1), J("{\"a\": [true], \"b\": 1}".into()));
    assert_eq!(row.get::<_, J>(2), J("[true]".into()));
    assert_eq!(row.get::<_, String>(3), "1");
    assert_eq!(row.columns()[0].type_(), &Type::JSON);
    assert_eq!(row.columns()[1].type_(), &Type::JSONB);
    let e = c
        .query_one("SELECT $1::jsonb", &[&J("{".into())])
        .expect_err("bad json parameter");
    let db = e.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "22P02");
    assert_eq!(db.message(), "invalid input syntax for type json");
}

/// json and jsonb columns (and arrays of them) are stored and read back
/// after a restart.
#[test]
fn json_columns_survive_restart() {
    let mut srv = TestServer::start(Opts::new());
    {
        let mut c = srv.connect();
        c.batch_execute(
            "CREATE TABLE keep (id int, j json, b jsonb, bs jsonb[]);
             INSERT INTO keep VALUES
               (1, '{\"z\": 1,   \"z\": 2}', '{\"z\": 1, \"z\": 2, \"aa\": [1.50, null]}', ARRAY['1'::jsonb, '{\"x\":\"y\"}']),
               (2, '[\"\\u00e9\"]', '\"\\u00e9\\n\"', NULL);",
        )
        .expect("create and fill");
    }
    srv.stop_with(libc::SIGTERM);
    srv.start_postmaster();
    let out = srv.psql_c(
        Via::Unix,
        &["SELECT id, j, b, bs, b -> 'aa' ->> 0 FROM keep ORDER BY id"],
    );
    assert_eq!(
        out,
        "1|{\"z\": 1,   \"z\": 2}|{\"z\": 2, \"aa\": [1.50, null]}|{1,\"{\\\"x\\\": \\\"y\\\"}\"}|1.50\n\
         2|[\"\\u00e9\"]|\"é\\n\"||\n"
    );
}
