//! Roles and client authentication end to end: pg_hba.conf methods
//! (trust, reject, password, md5, scram-sha-256, peer) accepted and
//! refused with PostgreSQL 15's SQLSTATE and message, through the
//! postgres crate, psql and raw bytes; role statements and views; a
//! malformed SASL exchange ending only its own session; `tusk init
//! --auth/--pwfile`; pg_hba.conf reload keeping the old rules on a bad
//! file; authentication_timeout.
//!
//! Why these expectations: each (user, password, database) answer below
//! was recorded from a real PostgreSQL 15 given the same pg_hba.conf lines
//! and the same roles (docs/operations.md, "Roles and pg_hba.conf").

use crate::util::*;
use std::time::Duration;

const HBA: &str = "\
local all all trust
host all +staff 127.0.0.1/32 password
host all md5user,md5scram 127.0.0.1/32 md5
host nodb all 127.0.0.1/32 reject
host all alice,nologin,limited,expired,nopw,ghost 127.0.0.1/32 scram-sha-256
host all postgres 127.0.0.1/32 trust
";

const SETUP: &[&str] = &[
    "CREATE ROLE alice LOGIN PASSWORD 'apw'",
    "CREATE ROLE nologin PASSWORD 'npw'",
    "CREATE ROLE limited LOGIN PASSWORD 'lpw' CONNECTION LIMIT 0",
    "CREATE ROLE expired LOGIN PASSWORD 'epw' VALID UNTIL '2001-01-01'",
    "CREATE ROLE staff",
    "CREATE ROLE carol LOGIN PASSWORD 'cpw' IN ROLE staff",
    "SET password_encryption = 'md5'",
    "CREATE ROLE md5user LOGIN PASSWORD 'mpw'",
    "RESET password_encryption",
    "CREATE ROLE md5scram LOGIN PASSWORD 'spw'",
    "CREATE ROLE nopw LOGIN",
];

/// (user, password, database) -> PostgreSQL 15's answer: "OK" or
/// "SQLSTATE message".
const CASES: &[(&str, &str, &str, &str)] = &[
    ("alice", "apw", "postgres", "OK"),
    ("alice", "wrong", "postgres", "28P01 password authentication failed for user \"alice\""),
    ("ghost", "x", "postgres", "28P01 password authentication failed for user \"ghost\""),
    ("nologin", "npw", "postgres", "28000 role \"nologin\" is not permitted to log in"),
    ("limited", "lpw", "postgres", "53300 too many connections for role \"limited\""),
    ("expired", "epw", "postgres", "28P01 password authentication failed for user \"expired\""),
    ("nopw", "x", "postgres", "28P01 password authentication failed for user \"nopw\""),
    ("carol", "cpw", "postgres", "OK"),
    ("carol", "bad", "postgres", "28P01 password authentication failed for user \"carol\""),
    ("md5user", "mpw", "postgres", "OK"),
    ("md5user", "bad", "postgres", "28P01 password authentication failed for user \"md5user\""),
    ("md5scram", "spw", "postgres", "OK"),
    ("md5scram", "bad", "postgres", "28P01 password authentication failed for user \"md5scram\""),
    ("alice", "apw", "nodb", "28000 pg_hba.conf rejects connection for host \"127.0.0.1\", user \"alice\", database \"nodb\", no encryption"),
    ("zed", "x", "postgres", "28000 no pg_hba.conf entry for host \"127.0.0.1\", user \"zed\", database \"postgres\", no encryption"),
];

fn server_with_roles() -> TestServer {
    let s = TestServer::init(Opts::new());
    std::fs::write(s.data_dir().join("pg_hba.conf"), HBA).expect("write pg_hba.conf");
    let mut s = s;
    s.start_postmaster();
    s.psql_c(Via::Unix, SETUP);
    s
}

fn answer(s: &TestServer, user: &str, pw: &str, db: &str) -> String {
    match s
        .config(Via::Tcp)
        .user(user)
        .password(pw)
        .dbname(db)
        .connect(postgres::NoTls)
    {
        Ok(mut c) => {
            let me = simple_value(&mut c, "SELECT current_user").unwrap_or_default();
            assert_eq!(me, user);
            "OK".into()
        }
        Err(e) => match e.as_db_error() {
            Some(d) => format!("{} {}", d.code().code(), d.message()),
            None => format!("client error: {e}"),
        },
    }
}

#[test]
fn each_method_accepts_and_refuses_as_postgresql() {
    let s = server_with_roles();
    for (u, p, d, want) in CASES {
        assert_eq!(
            &answer(&s, u, p, d),
            want,
            "user {u} password {p} database {d}"
        );
    }
    // psql with PGPASSWORD: the same answers.
    let run = |user: &str, pw: &str| {
        let mut cmd = std::process::Command::new(require_pg_program("psql"));
        clean_pg_env(&mut cmd);
        cmd.env("PGPASSWORD", pw)
            .env("PGCONNECT_TIMEOUT", "10")
            .args([
                "-X",
                "-A",
                "-t",
                "-h",
                "127.0.0.1",
                "-p",
                &s.port().to_string(),
                "-U",
                user,
                "-d",
                "postgres",
                "-c",
                "SELECT session_user",
            ]);
        run_bounded(&mut cmd, Duration::from_secs(30))
    };
    let ok = run("alice", "apw");
    assert_eq!(ok.code(), Some(0), "{}", ok.describe());
    assert_eq!(ok.stdout.trim(), "alice");
    let md5 = run("md5user", "mpw");
    assert_eq!(md5.code(), Some(0), "{}", md5.describe());
    let bad = run("alice", "nope");
    assert_eq!(bad.code(), Some(2), "{}", bad.describe());
    assert!(
        bad.stderr
            .contains("FATAL:  password authentication failed for user \"alice\""),
        "{}",
        bad.stderr
    );
    // asyncpg (its own SCRAM, md5 and cleartext code): the same answers.
    let script = r#"
import asyncio, sys
try:
    import asyncpg
except ImportError:
    sys.exit("asyncpg is not installed: pip install asyncpg (scripts/test.sh does)")
async def one(port, u, p, d):
    try:
        c = await asyncio.wait_for(asyncpg.connect(host="127.0.0.1", port=port, user=u,
            password=p, database=d, ssl=False), 20)
        await c.close()
        return "OK"
    except asyncpg.PostgresError as e:
        return "%s %s" % (e.sqlstate, e)
async def main(port, cases):
    for c in cases:
        u, p, d = c.split(":")
        print(await one(port, u, p, d))
asyncio.run(main(int(sys.argv[1]), sys.argv[2:]))
"#;
    let mut args = vec!["-c".to_string(), script.to_string(), s.port().to_string()];
    args.extend(CASES.iter().map(|(u, p, d, _)| format!("{u}:{p}:{d}")));
    let run = run_bounded(
        std::process::Command::new("python3").args(&args),
        Duration::from_secs(120),
    );
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    let got: Vec<&str> = run.stdout.lines().collect();
    let want: Vec<&str> = CASES.iter().map(|c| c.3).collect();
    assert_eq!(got, want, "asyncpg");
    // The log has PostgreSQL's DETAIL (never sent to the client), and
    // never a password or verifier.
    let log = s.log();
    assert!(
        log.contains("DETAIL:  Role \"ghost\" does not exist."),
        "{log}"
    );
    assert!(
        log.contains("User \"expired\" has an expired password."),
        "{log}"
    );
    assert!(
        log.contains("User \"nopw\" has no password assigned."),
        "{log}"
    );
    assert!(
        log.contains("Password does not match for user \"carol\"."),
        "{log}"
    );
    assert!(log.contains(
        "Connection matched pg_hba.conf line 5: \"host all alice,nologin,limited,expired,nopw,ghost 127.0.0.1/32 scram-sha-256\""
    ), "{log}");
    for secret in ["apw", "wrong", "SCRAM-SHA-256$", "nope"] {
        assert!(!log.contains(secret), "the log shows {secret:?}: {log}");
    }
}

#[test]
fn role_statements_views_and_set_role() {
    let s = server_with_roles();
    let mut su = s.connect_unix();
    // Stored verifiers: SCRAM by default, md5 when asked; pg_roles masks them.
    let rows = simple_rows(
        &mut su,
        "SELECT rolname, rolcanlogin, rolconnlimit, rolpassword FROM pg_roles WHERE rolname IN ('alice','limited','staff') ORDER BY rolname",
    );
    let want = |a: &str, b: &str, c: &str| {
        vec![
            Some(a.into()),
            Some(b.into()),
            Some(c.into()),
            Some("********".into()),
        ]
    };
    assert_eq!(
        rows,
        vec![
            want("alice", "t", "-1"),
            want("limited", "t", "0"),
            want("staff", "f", "-1")
        ]
    );
    let p = simple_value(
        &mut su,
        "SELECT rolpassword FROM pg_authid WHERE rolname = 'alice'",
    )
    .unwrap();
    assert!(p.starts_with("SCRAM-SHA-256$4096:"), "{p}");
    let p = simple_value(
        &mut su,
        "SELECT rolpassword FROM pg_authid WHERE rolname = 'md5user'",
    )
    .unwrap();
    assert!(p.starts_with("md5") && p.len() == 35, "{p}");
    // PostgreSQL's errors.
    let e = expect_sqlstate(su.simple_query("CREATE ROLE alice"), &["42710"]);
    assert_eq!(e.message(), "role \"alice\" already exists");
    let e = expect_sqlstate(su.simple_query("DROP ROLE nobody"), &["42704"]);
    assert_eq!(e.message(), "role \"nobody\" does not exist");
    let e = expect_sqlstate(su.simple_query("CREATE ROLE pg_x"), &["42939"]);
    assert_eq!(e.message(), "role name \"pg_x\" is reserved");
    let e = expect_sqlstate(su.simple_query("DROP ROLE postgres"), &["55006"]);
    assert_eq!(e.message(), "current user cannot be dropped");
    expect_sqlstate(su.simple_query("BEGIN; CREATE ROLE inblock"), &["25001"]);
    su.simple_query("ROLLBACK").unwrap();
    // Membership, SET ROLE, current_user vs session_user.
    su.simple_query("GRANT staff TO alice").unwrap();
    assert_eq!(
        simple_rows(
            &mut su,
            "SELECT roleid, member, admin_option FROM pg_auth_members ORDER BY member"
        )
        .len(),
        2
    );
    let mut a = s
        .config(Via::Tcp)
        .user("alice")
        .password("apw")
        .connect(postgres::NoTls)
        .unwrap();
    a.simple_query("SET ROLE staff").unwrap();
    assert_eq!(
        simple_rows(&mut a, "SELECT current_user, session_user"),
        vec![vec![Some("staff".into()), Some("alice".into())]]
    );
    let e = expect_sqlstate(a.simple_query("SET ROLE carol"), &["42501"]);
    assert_eq!(e.message(), "permission denied to set role \"carol\"");
    let e = expect_sqlstate(
        a.simple_query("SET SESSION AUTHORIZATION carol"),
        &["42501"],
    );
    assert_eq!(
        e.message(),
        "permission denied to set session authorization"
    );
    a.simple_query("RESET ROLE").unwrap();
    let e = expect_sqlstate(a.simple_query("CREATE ROLE x"), &["42501"]);
    assert_eq!(e.message(), "permission denied to create role");
    let e = expect_sqlstate(a.simple_query("SELECT * FROM pg_authid"), &["42501"]);
    assert_eq!(e.message(), "permission denied for table pg_authid");
    // A role may change its own password; the new one works at once.
    a.simple_query("ALTER ROLE alice PASSWORD 'apw2'").unwrap();
    assert_eq!(answer(&s, "alice", "apw2", "postgres"), "OK");
    assert!(answer(&s, "alice", "apw", "postgres").starts_with("28P01"));
    // LOGIN, CONNECTION LIMIT and DROP take effect for the next connection.
    su.simple_query("ALTER ROLE nologin LOGIN").unwrap();
    assert_eq!(answer(&s, "nologin", "npw", "postgres"), "OK");
    su.simple_query("ALTER ROLE limited CONNECTION LIMIT 1")
        .unwrap();
    let _held = s
        .config(Via::Tcp)
        .user("limited")
        .password("lpw")
        .connect(postgres::NoTls)
        .unwrap();
    assert_eq!(
        answer(&s, "limited", "lpw", "postgres"),
        "53300 too many connections for role \"limited\""
    );
    su.simple_query("DROP ROLE nopw").unwrap();
    assert!(answer(&s, "nopw", "x", "postgres").starts_with("28P01"));
    // SET SESSION AUTHORIZATION by a superuser.
    su.simple_query("SET SESSION AUTHORIZATION alice").unwrap();
    assert_eq!(
        simple_rows(&mut su, "SELECT current_user, session_user"),
        vec![vec![Some("alice".into()), Some("alice".into())]]
    );
    su.simple_query("RESET SESSION AUTHORIZATION").unwrap();
    assert_eq!(
        simple_value(&mut su, "SELECT current_user").as_deref(),
        Some("postgres")
    );
}

/// Reads one backend message or panics.
fn msg(c: &mut RawConn) -> Msg {
    c.read_msg().expect("read").expect("message, not EOF")
}

fn sasl_initial(mech: &str, data: &[u8]) -> Vec<u8> {
    let mut body = mech.as_bytes().to_vec();
    body.push(0);
    body.extend_from_slice(&(data.len() as i32).to_be_bytes());
    body.extend_from_slice(data);
    message(b'p', &body)
}

#[test]
fn malformed_sasl_ends_only_that_session() {
    let s = server_with_roles();
    let mut other = s.connect_unix();
    for (mech, data, code, text) in [
        (
            "SCRAM-SHA-256",
            &b"x,,n=,r=abc"[..],
            "08P01",
            "malformed SCRAM message",
        ),
        (
            "SCRAM-SHA-256",
            b"n,,r=abc",
            "08P01",
            "malformed SCRAM message",
        ),
        (
            "SCRAM-SHA-256",
            b"\xff\xfe",
            "08P01",
            "malformed SCRAM message",
        ),
        (
            "SCRAM-SHA-256-PLUS",
            b"p=tls-server-end-point,,n=,r=a",
            "08P01",
            "client selected an invalid SASL authentication mechanism",
        ),
        (
            "MD5",
            b"whatever",
            "08P01",
            "client selected an invalid SASL authentication mechanism",
        ),
    ] {
        let mut c = s.raw();
        c.send(&startup_packet(
            PROTOCOL_3_0,
            &[("user", "alice"), ("database", "postgres")],
        ))
        .unwrap();
        let r = msg(&mut c);
        assert_eq!(r.tag, b'R');
        assert_eq!(&r.body[..4], &10i32.to_be_bytes(), "AuthenticationSASL");
        assert!(r.body.windows(13).any(|w| w == b"SCRAM-SHA-256"));
        c.send(&sasl_initial(mech, data)).unwrap();
        let msgs = c.read_to_eof().expect("the server closes the connection");
        let e = msgs
            .iter()
            .find(|m| m.tag == b'E')
            .expect("an ErrorResponse");
        assert_eq!(e.field(b'V').as_deref(), Some("FATAL"));
        assert_eq!(e.field(b'C').as_deref(), Some(code), "{mech} {data:?}");
        assert_eq!(e.field(b'M').as_deref(), Some(text), "{mech} {data:?}");
    }
    // A wrong message type, a truncated body, then a valid first message
    // with a bad final one.
    let mut c = s.raw();
    c.send(&startup_packet(
        PROTOCOL_3_0,
        &[("user", "alice"), ("database", "postgres")],
    ))
    .unwrap();
    msg(&mut c);
    c.send(&query_message("SELECT 1")).unwrap();
    let msgs = c.read_to_eof().expect("closed");
    assert_eq!(
        msgs.last().and_then(|m| m.field(b'C')).as_deref(),
        Some("08P01")
    );
    let mut c = s.raw();
    c.send(&startup_packet(
        PROTOCOL_3_0,
        &[("user", "alice"), ("database", "postgres")],
    ))
    .unwrap();
    msg(&mut c);
    c.send(&sasl_initial("SCRAM-SHA-256", b"n,,n=,r=abcdef"))
        .unwrap();
    let cont = msg(&mut c);
    assert_eq!(
        &cont.body[..4],
        &11i32.to_be_bytes(),
        "AuthenticationSASLContinue"
    );
    c.send(&message(b'p', b"c=biws,r=notmine,p=AAAA")).unwrap();
    let msgs = c.read_to_eof().expect("closed");
    assert_eq!(
        msgs.last().and_then(|m| m.field(b'M')).as_deref(),
        Some("malformed SCRAM message")
    );
    // A client that hangs up at the password request logs nothing.
    let mut c = s.raw();
    c.send(&startup_packet(
        PROTOCOL_3_0,
        &[("user", "alice"), ("database", "postgres")],
    ))
    .unwrap();
    msg(&mut c);
    drop(c);
    // Everything else is untouched.
    assert_eq!(simple_value(&mut other, "SELECT 1").as_deref(), Some("1"));
    assert_eq!(answer(&s, "alice", "apw", "postgres"), "OK");
    let mut s = s;
    assert!(s.is_running());
}

#[test]
fn init_auth_pwfile_and_peer() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "s3cret\n").unwrap();
    let os_user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .expect("the OS user's name");
    let mut s = TestServer::init_with(
        Opts::new(),
        &[
            "--auth-local",
            "peer",
            "--auth-host",
            "scram-sha-256",
            "--pwfile",
            pw.to_str().unwrap(),
        ],
    );
    let hba = std::fs::read_to_string(s.data_dir().join("pg_hba.conf")).unwrap();
    assert!(
        hba.contains("local   all             all                                     peer"),
        "{hba}"
    );
    // The harness's readiness check connects without a password: wait
    // for the lock file's "ready" instead.
    s.spawn_postmaster();
    assert!(wait_until(Duration::from_secs(60), || s
        .lock_line(8)
        .is_some_and(|l| l.trim_end() == "ready")));
    // Over TCP the superuser needs the pwfile's password.
    assert!(answer(&s, SUPERUSER, "wrong", "postgres").starts_with("28P01"));
    assert_eq!(answer(&s, SUPERUSER, "s3cret", "postgres"), "OK");
    // Over the socket, peer: the OS user must be the role.
    let e = s
        .config(Via::Unix)
        .connect(postgres::NoTls)
        .err()
        .expect("peer refuses");
    if os_user != SUPERUSER {
        assert_eq!(sqlstate(&e).as_deref(), Some("28000"));
        assert_eq!(
            e.as_db_error().unwrap().message(),
            format!("Peer authentication failed for user \"{SUPERUSER}\"")
        );
        let mut c = s
            .config(Via::Tcp)
            .password("s3cret")
            .connect(postgres::NoTls)
            .unwrap();
        c.simple_query(&format!("CREATE ROLE \"{os_user}\" LOGIN"))
            .unwrap();
        let mut me = s
            .config(Via::Unix)
            .user(&os_user)
            .connect(postgres::NoTls)
            .unwrap();
        assert_eq!(
            simple_value(&mut me, "SELECT current_user").as_deref(),
            Some(os_user.as_str())
        );
    }
    // initdb's refusals.
    let out = s.run_tusk(
        &[
            "init".into(),
            "-D".into(),
            dir.path().join("d2").display().to_string(),
            "--auth".into(),
            "md5".into(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.code(), Some(1));
    assert!(
        out.stderr
            .contains("must specify a password for the superuser to enable md5 authentication"),
        "{}",
        out.stderr
    );
    let out = s.run_tusk(
        &[
            "init".into(),
            "-D".into(),
            dir.path().join("d3").display().to_string(),
            "--auth-host".into(),
            "peer".into(),
        ],
        Duration::from_secs(30),
    );
    assert!(
        out.stderr
            .contains("invalid authentication method \"peer\" for \"host\" connections"),
        "{}",
        out.stderr
    );
}

#[test]
fn hba_reload_keeps_old_rules_on_a_bad_file_and_auth_times_out() {
    let mut s = TestServer::init(Opts::new());
    std::fs::write(s.data_dir().join("pg_hba.conf"), HBA).unwrap();
    s.start_postmaster();
    s.psql_c(Via::Unix, SETUP);
    // A bad file: the old rules stay, the log says why.
    std::fs::write(
        s.data_dir().join("pg_hba.conf"),
        "host all all 127.0.0.1/32 trusty\n",
    )
    .unwrap();
    s.signal_postmaster(libc::SIGHUP);
    assert!(
        wait_until(Duration::from_secs(20), || s
            .log()
            .contains("pg_hba.conf was not reloaded")),
        "{}",
        s.log()
    );
    assert!(
        s.log().contains("invalid authentication method \"trusty\""),
        "{}",
        s.log()
    );
    assert!(answer(&s, "alice", "wrong", "postgres").starts_with("28P01"));
    // A good file takes over.
    std::fs::write(
        s.data_dir().join("pg_hba.conf"),
        "local all all trust\nhost all alice 127.0.0.1/32 reject\nhost all all 127.0.0.1/32 password\n",
    )
    .unwrap();
    s.signal_postmaster(libc::SIGHUP);
    assert!(wait_until(Duration::from_secs(20), || answer(
        &s, "alice", "apw", "postgres"
    )
    .contains("rejects")));
    assert_eq!(answer(&s, "carol", "cpw", "postgres"), "OK");
    // pg_hba_file_rules shows the file.
    let mut su = s.connect_unix();
    assert_eq!(
        simple_rows(&mut su, "SELECT line_number, type, database, user_name, address, auth_method FROM pg_hba_file_rules WHERE line_number = 2"),
        vec![vec![
            Some("2".into()), Some("host".into()), Some("{all}".into()), Some("{alice}".into()),
            Some("127.0.0.1".into()), Some("reject".into())
        ]]
    );
    // authentication_timeout (reloaded now, so that the connections above
    // were not cut short on a loaded machine): a client that never
    // answers the password request is disconnected. The deadline runs from the backend's fork,
    // so on a loaded machine it may pass before the request is even sent;
    // either way the server closes the connection, well inside the raw
    // client's 10 s read timeout, and sends nothing else.
    let mut conf = std::fs::read_to_string(s.data_dir().join("postgresql.conf")).unwrap();
    conf.push_str("\nauthentication_timeout = 2s\n");
    std::fs::write(s.data_dir().join("postgresql.conf"), conf).unwrap();
    s.signal_postmaster(libc::SIGHUP);
    assert!(wait_until(Duration::from_secs(20), || {
        let mut c = s.connect_unix();
        simple_value(&mut c, "SHOW authentication_timeout").as_deref() == Some("2s")
    }));
    let mut c = s.raw();
    c.send(&startup_packet(
        PROTOCOL_3_0,
        &[("user", "carol"), ("database", "postgres")],
    ))
    .unwrap();
    let msgs = c
        .read_to_eof()
        .unwrap_or_else(|(e, m)| panic!("not closed by the server: {e}; got {:?}", summaries(&m)));
    for m in &msgs {
        assert_eq!(m.tag, b'R', "{:?}", summaries(&msgs));
        assert_eq!(
            &m.body[..4],
            &3i32.to_be_bytes(),
            "AuthenticationCleartextPassword"
        );
    }
}
