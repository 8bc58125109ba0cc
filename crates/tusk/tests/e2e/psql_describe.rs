//! psql's backslash commands (`\d`, `\dt`, `\di`, `\ds`, `\dT`, `\df`,
//! `\du`, `\dx`, `\d index`, `\d sequence`, ...) and the reg* types, against a PostgreSQL 15 started
//! by the test on the same schema: psql's output must be byte-equal.
//!
//! Why a real PostgreSQL here: psql builds its catalog queries itself and
//! formats the answer, so the only honest oracle for "psql works
//! unmodified" is the same psql against PostgreSQL 15. The oracle runs as
//! the `postgres` OS user (PostgreSQL refuses root) in a temporary
//! directory, and is stopped (pg_ctl on its own data directory) and
//! removed when the test ends, even on failure.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::util::{
    clean_pg_env, describe_error, require_os_user, require_pg_program, require_root, run_bounded,
    sqlstate, Finished, Opts, TestServer, Via, DATABASE, SUPERUSER,
};

/// A PostgreSQL 15 cluster of this test: initdb'd and started on a free
/// port with its socket in its own directory.
struct Pg15 {
    dir: tempfile::TempDir,
    port: u16,
}

impl Pg15 {
    fn start() -> Pg15 {
        require_root("PostgreSQL 15 is started as the postgres OS user with runuser(1)");
        require_os_user("postgres");
        let dir = tempfile::Builder::new()
            .prefix("tusk-psqld-pg15-")
            .tempdir()
            .expect("temporary directory");
        let chown = Command::new("chown")
            .arg("postgres:")
            .arg(dir.path())
            .status()
            .expect("chown");
        assert!(chown.success(), "chown postgres: {}", dir.path().display());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let pg = Pg15 { dir, port };
        let initdb = require_pg_program("initdb");
        let out = run_bounded(
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(initdb)
                .args(["-A", "trust", "-U", SUPERUSER, "--no-sync", "-D"])
                .arg(pg.data()),
            Duration::from_secs(180),
        );
        assert_eq!(out.code(), Some(0), "initdb: {}", out.describe());
        let opts = format!(
            "-p {} -k {} -c listen_addresses='' -c fsync=off",
            pg.port,
            pg.dir.path().display()
        );
        let out = run_bounded(
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(require_pg_program("pg_ctl"))
                .args(["-w", "-t", "120", "-o", &opts, "-l"])
                .arg(pg.dir.path().join("log"))
                .arg("-D")
                .arg(pg.data())
                .arg("start"),
            Duration::from_secs(180),
        );
        assert_eq!(out.code(), Some(0), "pg_ctl start: {}", out.describe());
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn psql(&self, args: &[&str]) -> Finished {
        let mut cmd = Command::new(require_pg_program("psql"));
        clean_pg_env(&mut cmd);
        cmd.env("PGCONNECT_TIMEOUT", "10")
            .arg("-h")
            .arg(self.dir.path())
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                SUPERUSER,
                "-d",
                DATABASE,
            ])
            .args(args);
        run_bounded(&mut cmd, Duration::from_secs(60))
    }
}

impl Drop for Pg15 {
    fn drop(&mut self) {
        // Only this cluster: pg_ctl finds the postmaster by its data dir.
        let _ = run_bounded(
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(require_pg_program("pg_ctl"))
                .args(["-m", "immediate", "-w", "-D"])
                .arg(self.data())
                .arg("stop"),
            Duration::from_secs(60),
        );
    }
}

/// psql's whole answer (stdout, then stderr) to one command.
fn answer(f: Finished) -> String {
    format!("{}{}", f.stdout, f.stderr)
}

const SCHEMA: &str = "
create table items(id serial primary key, name varchar(40) not null, price numeric(10,2),
                   qty int2 default 1, created timestamp(3), note text);
create sequence counter start 5;
create index items_name on items(name);
create schema hidden;
create table hidden.secret(x int);
create table \"Mixed Case\"(a bigint);
create unique index mixed_a on \"Mixed Case\"(a);
create function add1(i int) returns int language sql as 'select i + 1';
create table orders(id int primary key, item int references items on delete cascade);
create function touch() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger orders_touch before insert or update on orders
    for each row execute function touch();
";

/// Runs `sql` on both servers and asserts psql printed the same.
fn same(tusk: &TestServer, pg: &Pg15, args: &[&str]) {
    let mine = answer(tusk.psql(Via::Unix, args));
    let theirs = answer(pg.psql(args));
    assert_eq!(
        mine, theirs,
        "psql {args:?}: tusk (left) and PostgreSQL 15 (right) differ"
    );
}

#[test]
fn describe_commands_print_what_postgresql_prints() {
    let pg = Pg15::start();
    let tusk = TestServer::start(Opts::new());
    for (who, out) in [
        (
            "tusk",
            tusk.psql(
                Via::Unix,
                &["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", SCHEMA],
            ),
        ),
        (
            "PostgreSQL",
            pg.psql(&["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", SCHEMA]),
        ),
    ] {
        assert_eq!(out.code(), Some(0), "schema on {who}: {}", out.describe());
    }
    for cmd in [
        "\\d",
        "\\dt",
        "\\di",
        "\\ds",
        "\\dT",
        "\\df",
        "\\du",
        "\\dx",
        "\\dv",
        "\\dm",
        "\\dt hidden.*",
        "\\dt *.secret",
        "\\di mixed*",
        // An index and a sequence described.
        "\\d items_pkey",
        "\\d mixed_a",
        "\\d items_name",
        "\\d counter",
        "\\d items_id_seq",
        "\\d+ counter",
        // Tables with a trigger and with foreign keys both ways: psql asks
        // for partition ancestors (WITH ORDINALITY, in the select list).
        "\\d items",
        "\\d orders",
    ] {
        same(&tusk, &pg, &["-X", "-c", cmd]);
    }
    // After a search_path change the hidden schema's table is listed and
    // the visibility of each name follows the path.
    same(
        &tusk,
        &pg,
        &["-X", "-c", "SET search_path = hidden, public", "-c", "\\d"],
    );
}

#[test]
fn reg_types_read_and_print_names() {
    let pg = Pg15::start();
    let tusk = TestServer::start(Opts::new());
    let setup = "create table t(a int); create schema other; create table other.o(x int); \
                 create function f(a int, b text) returns int language sql as 'select a'";
    for out in [
        tusk.psql(
            Via::Unix,
            &["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", setup],
        ),
        pg.psql(&["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", setup]),
    ] {
        assert_eq!(out.code(), Some(0), "setup: {}", out.describe());
    }
    for q in [
        "select 0::regclass, 99999::regclass, 'pg_class'::regclass, 'public.t'::regclass, \
         ' T '::regclass, 'postgres.public.t'::regclass, '-'::regclass",
        "select 't'::regclass::oid > 16384, 1259::regclass::text, 1259::regclass::int8, \
         'pg_catalog.pg_class'::regclass = 1259, pg_typeof('t'::regclass)",
        "select 'int4'::regtype, 'integer[]'::regtype, 'character varying(10)'::regtype, \
         '1042'::regtype, 23::regtype::text, 'pg_catalog'::regnamespace, 11::regnamespace::name, \
         'postgres'::regrole",
        "select 'f'::regproc, 'f'::regproc::regprocedure, 'f(integer, text)'::regprocedure::oid \
         = 'f'::regproc::oid",
        "select c.oid::regclass, c.relname from pg_class c where relnamespace = 2200 order by 1",
        "select 'other.o'::regclass, pg_table_is_visible('other.o'::regclass)",
        "set search_path = other, public; select 'o'::regclass, 'other.o'::regclass, \
         't'::regclass, pg_table_is_visible('o'::regclass)",
        "select format_type(1043, 14), format_type(1042, null), format_type(1042, -1), \
         format_type(1700, 655366), format_type(1114, 3), format_type(1007, null), \
         format_type(99999, null), format_type(null, 1)",
        "select pg_size_pretty(10239::int8), pg_size_pretty(10240::int8), \
         pg_size_pretty(123456789::int8), pg_size_pretty(-987654321987::int8), \
         pg_size_pretty(1000000000000000000::int8)",
        "select pg_get_userbyid(10), pg_get_userbyid(1), pg_encoding_to_char(6), \
         pg_table_is_visible(1259), pg_table_is_visible(999999), pg_type_is_visible(23)",
        "select c.relname, pg_get_indexdef(i.indexrelid), pg_get_indexdef(i.indexrelid, 1, true) \
         from pg_index i join pg_class c on c.oid = i.indexrelid where c.oid >= 16384 order by 1",
        "create table d(a int default 1, b text default 'x', c varchar(5) default 'y'); \
         select a.attname, pg_get_expr(d.adbin, d.adrelid, true) from pg_attrdef d \
         join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum \
         where d.adrelid = 'd'::regclass order by 1",
    ] {
        same(&tusk, &pg, &["-X", "-c", q]);
    }
    // Errors: SQLSTATE and message as PostgreSQL 15 reports them (tusk
    // gives no cursor position for them yet, so psql's LINE lines differ).
    let mut c = tusk.connect();
    for (q, code, msg) in [
        (
            "select 'nosuch'::regclass",
            "42P01",
            "relation \"nosuch\" does not exist",
        ),
        (
            "select 'nosch.t'::regclass",
            "3F000",
            "schema \"nosch\" does not exist",
        ),
        (
            "select 'public.nosuch'::regclass",
            "42P01",
            "relation \"public.nosuch\" does not exist",
        ),
        (
            "select '\"T\"'::regclass",
            "42P01",
            "relation \"T\" does not exist",
        ),
        (
            "select 'a.b.c.d'::regclass",
            "42601",
            "improper relation name (too many dotted names): a.b.c.d",
        ),
        (
            "select 'x.public.t'::regclass",
            "0A000",
            "cross-database references are not implemented: \"x.public.t\"",
        ),
        (
            "select 'nosuch'::regtype",
            "42704",
            "type \"nosuch\" does not exist",
        ),
        (
            "select 'nosuch'::regnamespace",
            "3F000",
            "schema \"nosuch\" does not exist",
        ),
        (
            "select 'nosuch'::regrole",
            "42704",
            "role \"nosuch\" does not exist",
        ),
        (
            "select 'nosuch'::regproc",
            "42883",
            "function \"nosuch\" does not exist",
        ),
        (
            "select 'nosuch()'::regprocedure",
            "42883",
            "function \"nosuch()\" does not exist",
        ),
        ("select 'a b'::regclass", "42602", "invalid name syntax"),
    ] {
        let e = c.simple_query(q).expect_err(q);
        assert_eq!(
            sqlstate(&e).as_deref(),
            Some(code),
            "{q}: {}",
            describe_error(&e)
        );
        let db = e.as_db_error().expect("a server error");
        assert_eq!(db.message(), msg, "{q}");
    }
    // nextval through a regclass literal still finds the sequence.
    c.batch_execute("create sequence s").unwrap();
    let r = c.query_one("select nextval('s'::regclass)", &[]).unwrap();
    assert_eq!(r.get::<_, i64>(0), 1);
}
