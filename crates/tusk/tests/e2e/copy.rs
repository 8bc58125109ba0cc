//! COPY FROM STDIN and TO STDOUT through real clients: the postgres
//! crate's copy_in/copy_out (extended protocol), psql's \copy (simple
//! protocol), and PostgreSQL 15's errors for bad data and CopyFail; COPY
//! to and from server files and programs with their privilege checks.

use std::io::{Read, Write};

use crate::util::exec;
use crate::util::{db_error, expect_sqlstate, simple_rows, simple_value, Opts, TestServer, Via};

fn copy_out(c: &mut postgres::Client, sql: &str) -> String {
    let mut r = c.copy_out(sql).expect("copy_out");
    let mut s = String::new();
    r.read_to_string(&mut s).expect("read COPY data");
    s
}

/// Text format both ways with escapes and NULLs, defaults and typmods on
/// the way in, a column list, CSV with HEADER/QUOTE/NULL options, and a
/// query as the source of COPY TO; the command tags count the rows.
#[test]
fn copy_in_and_out_text_and_csv() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE ct (a int NOT NULL, b text, c numeric DEFAULT 7, d varchar(3))",
    );
    let mut w = c.copy_in("COPY ct FROM STDIN").expect("copy_in");
    // Lines split across CopyData messages at awkward places.
    w.write_all(b"1\thello\\tworld\t3.5\tab\n2\t\\N\t\\N\t\\N\n3\toct\\101\\x42")
        .unwrap();
    w.write_all(b"\t1\t\n4\tback\\\\slash\t2\tz\n").unwrap();
    assert_eq!(w.finish().expect("finish"), 4);
    assert_eq!(
        copy_out(&mut c, "COPY ct TO STDOUT"),
        "1\thello\\tworld\t3.5\tab\n2\t\\N\t\\N\t\\N\n3\toctAB\t1\t\n4\tback\\\\slash\t2\tz\n"
    );
    // A column list: the others take their DEFAULT.
    let mut w = c
        .copy_in("COPY ct (d, a) FROM STDIN (FORMAT csv, HEADER true)")
        .unwrap();
    w.write_all(b"d,a\n\"x,y\",5\n,6\n\"\",7\n").unwrap();
    assert_eq!(w.finish().unwrap(), 3);
    assert_eq!(
        simple_rows(&mut c, "SELECT a, c, d FROM ct WHERE a >= 5 ORDER BY a"),
        vec![
            vec![Some("5".into()), Some("7".into()), Some("x,y".into())],
            vec![Some("6".into()), Some("7".into()), None],
            vec![Some("7".into()), Some("7".into()), Some("".into())],
        ]
    );
    assert_eq!(
        copy_out(
            &mut c,
            "COPY (SELECT a, d FROM ct WHERE a >= 5 ORDER BY a) TO STDOUT WITH CSV HEADER"
        ),
        "a,d\n5,\"x,y\"\n6,\n7,\"\"\n"
    );
    assert_eq!(
        copy_out(
            &mut c,
            "COPY (SELECT a, b FROM ct WHERE a = 1) TO STDOUT (FORMAT csv, DELIMITER '|', NULL 'NULL', FORCE_QUOTE *)"
        ),
        "\"1\"|\"hello\tworld\"\n"
    );
}

/// The COPY sub-protocol byte by byte: CopyInResponse's column count,
/// CopyFail as 57014 "COPY from stdin failed: ...", COPY data after the
/// error ignored, and a simple-protocol COPY TO's messages and tag.
#[test]
fn copy_protocol_raw() {
    use crate::util::{message, query_message, summaries};
    let srv = TestServer::start(Opts::new());
    let (mut c, _) = srv.raw_session();
    c.send(&query_message("CREATE TABLE cr (a int, b text)"))
        .unwrap();
    c.read_until_ready();
    c.send(&query_message("COPY cr (b) FROM STDIN")).unwrap();
    let g = c.read_msg().unwrap().expect("CopyInResponse");
    assert_eq!(g.tag, b'G');
    // Text format, one column, its format 0.
    assert_eq!(g.body, vec![0, 0, 1, 0, 0]);
    c.send(&message(b'd', b"x\n")).unwrap();
    c.send(&message(b'f', b"boom\0")).unwrap();
    let msgs = c.read_until_ready();
    assert_eq!(
        summaries(&msgs)[0],
        "E ERROR 57014 COPY from stdin failed: boom"
    );
    // Stray COPY messages after the failure are ignored.
    c.send(&message(b'd', b"y\n")).unwrap();
    c.send(&message(b'c', b"")).unwrap();
    c.send(&query_message("INSERT INTO cr VALUES (1, 'a'), (2, NULL)"))
        .unwrap();
    c.read_until_ready();
    c.send(&query_message("COPY cr TO STDOUT")).unwrap();
    let msgs = c.read_until_ready();
    let tags: Vec<u8> = msgs.iter().map(|m| m.tag).collect();
    assert_eq!(tags, b"HddcCZ".to_vec(), "{:?}", summaries(&msgs));
    assert_eq!(msgs[0].body, vec![0, 0, 2, 0, 0, 0, 0]);
    assert_eq!(msgs[1].body, b"1\ta\n".to_vec());
    assert_eq!(msgs[2].body, b"2\t\\N\n".to_vec());
    assert_eq!(msgs[4].command_tag().as_deref(), Some("COPY 2"));
}

/// psql's \copy (COPY FROM STDIN over the simple protocol, from a client
/// file) loads a file and \copy ... to writes one.
#[test]
fn psql_backslash_copy_round_trip() {
    let srv = TestServer::start(Opts::new());
    let data = srv.tmp_dir().join("in.csv");
    let out = srv.tmp_dir().join("out.txt");
    std::fs::write(&data, "id,name\n1,one\n2,\"two, too\"\n3,\n").unwrap();
    let stdout = srv.psql_c(
        Via::Tcp,
        &[
            "CREATE TABLE pc (id int, name text)",
            &format!(
                "\\copy pc from '{}' with (format csv, header)",
                data.display()
            ),
            "SELECT count(*), count(name) FROM pc",
            &format!("\\copy pc to '{}'", out.display()),
        ],
    );
    assert_eq!(stdout, "3|2\n");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "1\tone\n2\ttwo, too\n3\t\\N\n"
    );
}

/// Bad data fails the whole COPY with PostgreSQL's SQLSTATE, message and
/// CONTEXT line; CopyFail is 57014; nothing of a failed COPY is stored and
/// the session goes on.
#[test]
fn copy_errors_are_postgresql_s() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(&mut c, "CREATE TABLE ce (a int NOT NULL, b text)");
    let cases: &[(&[u8], &str, &str, &str)] = &[
        (
            b"1\tx\n2\n",
            "22P04",
            "missing data for column \"b\"",
            "COPY ce, line 2: \"2\"",
        ),
        (
            b"1\tx\n2\ty\n3\tz\textra\n",
            "22P04",
            "extra data after last expected column",
            "COPY ce, line 3: \"3\tz\textra\"",
        ),
        (
            b"x\ty\n",
            "22P02",
            "invalid input syntax for type integer: \"x\"",
            "COPY ce, line 1, column a: \"x\"",
        ),
        (
            b"\\N\ty\n",
            "23502",
            "null value in column \"a\" of relation \"ce\" violates not-null constraint",
            "COPY ce, line 1: \"\\N\ty\"",
        ),
    ];
    for (data, code, msg, context) in cases {
        let mut w = c.copy_in("COPY ce FROM STDIN").unwrap();
        // The server may fail before all data is sent.
        let _ = w.write_all(data);
        let e = expect_sqlstate(w.finish(), &[code]);
        assert_eq!(e.message(), *msg);
        assert_eq!(e.where_(), Some(*context), "{msg}");
    }
    let mut w = c.copy_in("COPY ce FROM STDIN").unwrap();
    w.write_all(b"1\tx\n").unwrap();
    // Dropping the writer unfinished sends CopyFail.
    drop(w);
    assert_eq!(
        simple_value(&mut c, "SELECT count(*) FROM ce").as_deref(),
        Some("0")
    );
    let r = srv.psql(Via::Tcp, &["-X", "-c", "COPY ce (a, nosuch) FROM STDIN"]);
    assert!(
        r.stderr
            .contains("column \"nosuch\" of relation \"ce\" does not exist"),
        "{}",
        r.describe()
    );
    // A COPY inside a transaction block is undone with it.
    exec(&mut c, "BEGIN");
    let mut w = c.copy_in("COPY ce FROM STDIN").unwrap();
    w.write_all(b"1\ta\n2\tb\n").unwrap();
    assert_eq!(w.finish().unwrap(), 2);
    exec(&mut c, "ROLLBACK");
    assert_eq!(
        simple_value(&mut c, "SELECT count(*) FROM ce").as_deref(),
        Some("0")
    );
}

/// COPY FROM/TO a server file and FROM/TO PROGRAM move the same lines as
/// the protocol does; the errors (messages, SQLSTATEs, hints, details) are
/// PostgreSQL 15's, captured from it for the same statements.
#[test]
fn copy_server_files_and_programs() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let dir = srv.tmp_dir().to_path_buf();
    let input = dir.join("in.data");
    std::fs::write(&input, "1\ta\n2\t\\N\n").unwrap();
    exec(&mut c, "CREATE TABLE cf (a int, b text)");
    let n = c
        .execute(&format!("COPY cf FROM '{}'", input.display()), &[])
        .expect("COPY FROM file");
    assert_eq!(n, 2);
    let n = c
        .execute("COPY cf FROM PROGRAM 'printf \"3\\tc\\n\"'", &[])
        .expect("COPY FROM PROGRAM");
    assert_eq!(n, 1);
    let out = dir.join("out.data");
    let n = c
        .execute(
            &format!(
                "COPY (SELECT * FROM cf ORDER BY a) TO '{}' (FORMAT csv, HEADER)",
                out.display()
            ),
            &[],
        )
        .expect("COPY TO file");
    assert_eq!(n, 3);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "a,b\n1,a\n2,\n3,c\n"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let piped = dir.join("piped.data");
    let n = c
        .execute(
            &format!("COPY cf TO PROGRAM 'sort > {}'", piped.display()),
            &[],
        )
        .expect("COPY TO PROGRAM");
    assert_eq!(n, 3);
    assert_eq!(
        std::fs::read_to_string(&piped).unwrap(),
        "1\ta\n2\t\\N\n3\tc\n"
    );
    // STDIN and STDOUT are one word to the grammar, either way round.
    assert_eq!(copy_out(&mut c, "COPY (SELECT 1) TO STDIN"), "1\n");

    let e = db_error(c.execute("COPY cf FROM '/nonexistent/x'", &[]));
    assert_eq!(
        (e.code().code(), e.message()),
        (
            "58P01",
            "could not open file \"/nonexistent/x\" for reading: No such file or directory"
        )
    );
    assert_eq!(e.hint(), Some("COPY FROM instructs the PostgreSQL server process to read a file. You may want a client-side facility such as psql's \\copy."));
    let e = db_error(c.execute(&format!("COPY cf FROM '{}'", dir.display()), &[]));
    assert_eq!(
        (e.code().code(), e.message()),
        (
            "42809",
            format!("\"{}\" is a directory", dir.display()).as_str()
        )
    );
    let e = db_error(c.execute("COPY cf TO 'rel'", &[]));
    assert_eq!(
        (e.code().code(), e.message()),
        ("42602", "relative path not allowed for COPY to file")
    );
    let e = db_error(c.execute("COPY cf TO '/nonexistent/x'", &[]));
    assert_eq!(
        (e.code().code(), e.message()),
        (
            "58P01",
            "could not open file \"/nonexistent/x\" for writing: No such file or directory"
        )
    );
    assert_eq!(e.hint(), Some("COPY TO instructs the PostgreSQL server process to write a file. You may want a client-side facility such as psql's \\copy."));
    for sql in [
        "COPY cf FROM PROGRAM 'exit 3'",
        "COPY cf TO PROGRAM 'exit 3'",
    ] {
        let e = db_error(c.execute(sql, &[]));
        assert_eq!(
            (e.code().code(), e.message()),
            ("38000", "program \"exit 3\" failed"),
            "{sql}"
        );
        assert_eq!(
            e.detail(),
            Some("child process exited with exit code 3"),
            "{sql}"
        );
    }
    // Bad data from a program is the same error as from the client.
    let e = db_error(c.execute("COPY cf FROM PROGRAM 'echo x'", &[]));
    assert_eq!(
        (e.code().code(), e.message()),
        ("22P02", "invalid input syntax for type integer: \"x\"")
    );
    assert_eq!(
        simple_value(&mut c, "SELECT count(*) FROM cf").as_deref(),
        Some("3")
    );

    for sql in [
        "CREATE ROLE nobody",
        "GRANT ALL ON cf TO nobody",
        "SET ROLE nobody",
    ] {
        exec(&mut c, sql);
    }
    let hint =
        "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone.";
    for (sql, msg) in [
        ("COPY cf FROM '/tmp/x'", "must be superuser or have privileges of the pg_read_server_files role to COPY from a file"),
        ("COPY cf TO '/tmp/x'", "must be superuser or have privileges of the pg_write_server_files role to COPY to a file"),
        ("COPY cf TO PROGRAM 'x'", "must be superuser or have privileges of the pg_execute_server_program role to COPY to or from an external program"),
    ] {
        let e = db_error(c.execute(sql, &[]));
        assert_eq!((e.code().code(), e.message()), ("42501", msg), "{sql}");
        assert_eq!(e.hint(), Some(hint), "{sql}");
    }
}
