//! TLS: SSLRequest answered 'S' and a rustls session, driven by psql
//! (libpq 15 with OpenSSL) against certificates made at test time by the
//! openssl CLI in the cluster's temp dir; hostssl/hostnossl and client
//! certificates in pg_hba.conf; the key file permission check; garbage
//! after 'S'; reload of a bad certificate.
//!
//! Why psql and not the postgres crate: its TLS needs postgres-openssl
//! (OpenSSL linked into the tests) or a rustls adapter not in the offline
//! registry; libpq is the client whose TLS behaviour PostgreSQL's users
//! meet, so it is the one to prove.
//!
//! The expected refusal texts were taken from PostgreSQL 15 on the same
//! pg_hba.conf lines (see docs/operations.md, "Certificates").

use crate::util::*;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn openssl(dir: &Path, args: &[&str]) {
    let out = run_bounded(
        Command::new("openssl").current_dir(dir).args(args),
        Duration::from_secs(60),
    );
    assert_eq!(out.code(), Some(0), "openssl {args:?}: {}", out.describe());
}

/// A CA, a server certificate for localhost/127.0.0.1 signed by it
/// (server.crt/server.key, root.crt in the data directory, where the
/// settings' defaults look), and client certificates signed by it for the
/// superuser ("client") and for "somebody" ("other"), kept in `dir`.
fn make_certs(data: &Path, dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=tusk test CA",
    ]);
    openssl(dir, &a);
    fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (name, cn, ext) in [
        ("server", "/CN=localhost", "server.ext"),
        ("client", "/O=tusk tests/CN=postgres", "client.ext"),
        ("other", "/CN=somebody", "client.ext"),
    ] {
        let (key, csr, crt) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
        );
        let mut a = vec!["req"];
        a.extend(ec);
        a.extend(["-keyout", &key, "-out", &csr, "-subj", cn]);
        openssl(dir, &a);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "4660",
                "-out",
                &crt,
                "-days",
                "2",
                "-extfile",
                ext,
            ],
        );
        fs::set_permissions(dir.join(&key), fs::Permissions::from_mode(0o600)).unwrap();
    }
    fs::copy(dir.join("server.crt"), data.join("server.crt")).unwrap();
    fs::copy(dir.join("server.key"), data.join("server.key")).unwrap();
    fs::set_permissions(data.join("server.key"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::copy(dir.join("ca.crt"), data.join("root.crt")).unwrap();
}

/// A cluster with ssl = on and certificates, not yet started; `hba` is
/// written as its pg_hba.conf.
fn tls_server(hba: &str) -> TestServer {
    let srv = TestServer::init(Opts::new().set("ssl", "on").set("ssl_ca_file", "root.crt"));
    let certs = srv.tmp_dir().join("certs");
    fs::create_dir(&certs).unwrap();
    make_certs(srv.data_dir(), &certs);
    fs::write(srv.data_dir().join("pg_hba.conf"), hba).unwrap();
    srv
}

/// psql with a libpq connection string of `extra` words (sslmode, ...)
/// over TCP to `host`, running `sql`.
fn psql_tls(srv: &TestServer, host: &str, extra: &str, sql: &str) -> Finished {
    let conninfo = format!(
        "host={host} hostaddr=127.0.0.1 port={} user={SUPERUSER} dbname={DATABASE} connect_timeout=10 {extra}",
        srv.port()
    );
    let mut cmd = Command::new(require_pg_program("psql"));
    clean_pg_env(&mut cmd);
    cmd.args([
        "-X",
        "-A",
        "-t",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        &conninfo,
        "-c",
        sql,
    ]);
    run_bounded(&mut cmd, Duration::from_secs(60))
}

fn certs(srv: &TestServer, f: &str) -> String {
    srv.tmp_dir().join("certs").join(f).display().to_string()
}

fn ssl_request() -> Vec<u8> {
    let mut req = 8u32.to_be_bytes().to_vec();
    req.extend(80877103u32.to_be_bytes());
    req
}

const TRUST_ALL: &str = "local all all trust\nhost all all 127.0.0.1/32 trust\n";

#[test]
fn sslmode_require_and_verify_full() {
    let mut srv = tls_server(TRUST_ALL);
    srv.start_postmaster();
    // require: encrypted, no certificate check.
    let out = psql_tls(&srv, "localhost", "sslmode=require", "SELECT 40 + 2");
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert_eq!(out.stdout.trim(), "42");
    // verify-full against the test CA, with the host name checked.
    let root = certs(&srv, "ca.crt");
    let out = psql_tls(
        &srv,
        "localhost",
        &format!("sslmode=verify-full sslrootcert={root}"),
        "SELECT 'over tls'",
    );
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert_eq!(out.stdout.trim(), "over tls");
    // A name the certificate does not carry fails on the client side.
    let out = psql_tls(
        &srv,
        "127.0.0.2",
        &format!("sslmode=verify-full sslrootcert={root}"),
        "SELECT 1",
    );
    assert_ne!(out.code(), Some(0), "{}", out.describe());
    assert!(
        out.stderr.contains("does not match host name"),
        "{}",
        out.describe()
    );
    // Plain connections still work; Unix sockets never offer TLS.
    let out = psql_tls(&srv, "localhost", "sslmode=disable", "SELECT 1");
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    // libpq never asks for TLS on a Unix socket; a raw client that does
    // is answered 'N', as PostgreSQL answers it.
    let mut u = std::os::unix::net::UnixStream::connect(
        srv.socket_dir().join(format!(".s.PGSQL.{}", srv.port())),
    )
    .unwrap();
    u.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    u.write_all(&ssl_request()).unwrap();
    let mut b = [0u8; 1];
    u.read_exact(&mut b).unwrap();
    assert_eq!(b[0], b'N');
    // Large results cross many TLS records intact.
    let out = psql_tls(
        &srv,
        "localhost",
        "sslmode=require",
        "SELECT sum(length(repeat('x', g))) FROM generate_series(1, 3000) g",
    );
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert_eq!(out.stdout.trim(), "4501500");
}

#[test]
fn key_file_readable_by_others_is_refused() {
    let srv = tls_server(TRUST_ALL);
    fs::set_permissions(
        srv.data_dir().join("server.key"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let mut args = srv.server_args(srv.port(), srv.socket_dir());
    args.push("--allow-root".into());
    let out = srv.run_tusk(&args, Duration::from_secs(20));
    assert!(
        out.status.is_some(),
        "the server started: {}",
        out.describe()
    );
    assert_ne!(out.code(), Some(0), "{}", out.describe());
    for f in [
        "FATAL:  private key file \"server.key\" has group or world access",
        "DETAIL:  File must have permissions u=rw (0600) or less if owned by the database user, or permissions u=rw,g=r (0640) or less if owned by root.",
    ] {
        assert!(out.stderr.contains(f), "stderr lacks {f:?}: {}", out.describe());
    }
    assert!(
        !srv.lock_file().exists(),
        "a refused start left postmaster.pid"
    );
}

#[test]
fn tls_garbage_ends_that_session_only() {
    let mut srv = tls_server(TRUST_ALL);
    srv.start_postmaster();
    let mut bystander = srv.connect();
    let mut c = srv.raw();
    c.send(&ssl_request()).unwrap();
    assert_eq!(c.read_byte().unwrap(), Some(b'S'));
    c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    // The server may send an alert; then it closes.
    let mut closed = false;
    for _ in 0..64 {
        match c.read_byte() {
            Ok(None) | Err(_) => {
                closed = true;
                break;
            }
            Ok(Some(_)) => {}
        }
    }
    assert!(closed, "the session did not end after TLS garbage");
    assert!(
        wait_until(Duration::from_secs(10), || srv
            .log()
            .contains("could not accept SSL connection")),
        "{}",
        srv.log()
    );
    // Everyone else is served: the old session and new TLS ones.
    let n: i32 = bystander.query_one("SELECT 7", &[]).unwrap().get(0);
    assert_eq!(n, 7);
    let out = psql_tls(&srv, "localhost", "sslmode=require", "SELECT 1");
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert!(!srv.log().contains("terminated by signal"), "{}", srv.log());
}

#[test]
fn bad_certificate_on_reload_keeps_the_old_one() {
    let mut srv = tls_server(TRUST_ALL);
    srv.start_postmaster();
    fs::write(srv.data_dir().join("server.crt"), "not a certificate\n").unwrap();
    srv.signal_postmaster(libc::SIGHUP);
    assert!(
        wait_until(Duration::from_secs(10), || srv
            .log()
            .contains("SSL configuration was not reloaded")),
        "{}",
        srv.log()
    );
    assert!(
        srv.log()
            .contains("could not load server certificate file \"server.crt\""),
        "{}",
        srv.log()
    );
    let root = certs(&srv, "ca.crt");
    let out = psql_tls(
        &srv,
        "localhost",
        &format!("sslmode=verify-full sslrootcert={root}"),
        "SELECT 1",
    );
    assert_eq!(out.code(), Some(0), "{}", out.describe());
}

/// psql's error line for a refused connection ("FATAL:  ...").
fn fatal_of(out: &Finished) -> String {
    out.stderr
        .lines()
        .find_map(|l| l.split_once("FATAL:  ").map(|(_, m)| m.to_string()))
        .unwrap_or_else(|| panic!("no FATAL in {}", out.describe()))
}

/// hostssl/hostnossl lines and the refusal texts, as PostgreSQL 15 gives
/// them for the same pg_hba.conf (each file loaded by a reload).
#[test]
fn hostssl_and_hostnossl_match_as_postgres() {
    let mut srv = tls_server(TRUST_ALL);
    srv.start_postmaster();
    let reload = |srv: &TestServer, hba: &str, n: usize| {
        fs::write(srv.data_dir().join("pg_hba.conf"), hba).unwrap();
        srv.signal_postmaster(libc::SIGHUP);
        assert!(
            wait_until(Duration::from_secs(10), || srv
                .log()
                .matches("received SIGHUP")
                .count()
                >= n),
            "{}",
            srv.log()
        );
    };
    let refused = |srv: &TestServer, mode: &str| {
        let out = psql_tls(srv, "localhost", &format!("sslmode={mode}"), "SELECT 1");
        assert_ne!(out.code(), Some(0), "{}", out.describe());
        fatal_of(&out)
    };
    let who = format!("host \"127.0.0.1\", user \"{SUPERUSER}\", database \"{DATABASE}\"");
    reload(
        &srv,
        "local all all trust\nhostnossl all all 127.0.0.1/32 reject\nhostssl all all 127.0.0.1/32 trust\n",
        1,
    );
    assert_eq!(
        refused(&srv, "disable"),
        format!("pg_hba.conf rejects connection for {who}, no encryption")
    );
    let out = psql_tls(&srv, "localhost", "sslmode=require", "SELECT 1");
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    reload(
        &srv,
        "local all all trust\nhostssl all all 127.0.0.1/32 reject\n",
        2,
    );
    assert_eq!(
        refused(&srv, "disable"),
        format!("no pg_hba.conf entry for {who}, no encryption")
    );
    assert_eq!(
        refused(&srv, "require"),
        format!("pg_hba.conf rejects connection for {who}, SSL encryption")
    );
}

/// The `cert` method and clientcert=verify-ca/verify-full with the test
/// CA: the answers PostgreSQL 15 gives on the same lines.
#[test]
fn client_certificates() {
    // The harness's readiness check connects without TLS: start trusting,
    // then switch the file by reloads.
    let mut srv = tls_server(TRUST_ALL);
    srv.start_postmaster();
    let reloads = std::cell::Cell::new(0);
    let reload = |hba: &str| {
        fs::write(srv.data_dir().join("pg_hba.conf"), hba).unwrap();
        srv.signal_postmaster(libc::SIGHUP);
        reloads.set(reloads.get() + 1);
        assert!(wait_until(Duration::from_secs(10), || srv
            .log()
            .matches("received SIGHUP")
            .count()
            >= reloads.get()));
    };
    reload("local all all trust\nhostssl all all 127.0.0.1/32 cert\n");
    let with = |name: &str| {
        format!(
            "sslmode=require sslcert={} sslkey={}",
            certs(&srv, &format!("{name}.crt")),
            certs(&srv, &format!("{name}.key"))
        )
    };
    let no_cert = "sslmode=require sslcert=/nonexistent sslkey=/nonexistent";
    let run = |extra: &str| psql_tls(&srv, "localhost", extra, "SELECT 'in'");
    let ok = |out: Finished| {
        assert_eq!(out.code(), Some(0), "{}", out.describe());
        assert_eq!(out.stdout.trim(), "in");
    };
    let user = SUPERUSER;
    // cert: the CN must be the user.
    ok(run(&with("client")));
    // pg_stat_ssl shows what PostgreSQL 15 showed for the same
    // certificate and libpq (a plain session alongside: ssl false).
    let mut plain = srv.connect_unix();
    let out = psql_tls(
        &srv,
        "localhost",
        &with("client"),
        "SELECT ssl, version, cipher, bits, client_dn, client_serial, issuer_dn \
         FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    );
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert_eq!(
        out.stdout.trim(),
        "t|TLSv1.3|TLS_AES_256_GCM_SHA384|256|/O=tusk tests/CN=postgres|4660|/CN=tusk test CA"
    );
    let row = plain
        .query_one(
            "SELECT ssl, version IS NULL FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .map(|r| (r.get::<_, bool>(0), r.get::<_, bool>(1)))
        .unwrap_or_else(|e| panic!("{}", describe_error(&e)));
    assert_eq!(row, (false, true));
    assert_eq!(
        fatal_of(&run(no_cert)),
        "connection requires a valid client certificate"
    );
    assert_eq!(
        fatal_of(&run(&with("other"))),
        format!("certificate authentication failed for user \"{user}\"")
    );
    assert!(
        srv.log().contains(&format!(
            "provided user name ({user}) and authenticated user name (somebody) do not match"
        )),
        "{}",
        srv.log()
    );
    // trust clientcert=verify-full: the same check, another message.
    reload("local all all trust\nhostssl all all 127.0.0.1/32 trust clientcert=verify-full\n");
    ok(run(&with("client")));
    assert_eq!(
        fatal_of(&run(no_cert)),
        "connection requires a valid client certificate"
    );
    assert_eq!(
        fatal_of(&run(&with("other"))),
        format!("\"trust\" authentication failed for user \"{user}\"")
    );
    // verify-ca: any certificate the CA signed.
    reload("local all all trust\nhostssl all all 127.0.0.1/32 trust clientcert=verify-ca\n");
    ok(run(&with("other")));
    assert_eq!(
        fatal_of(&run(no_cert)),
        "connection requires a valid client certificate"
    );
    // A certificate from another CA fails the handshake itself.
    let stranger = srv.tmp_dir().join("stranger");
    fs::create_dir(&stranger).unwrap();
    let data2 = stranger.join("data");
    fs::create_dir(&data2).unwrap();
    make_certs(&data2, &stranger);
    let out = run(&format!(
        "sslmode=require sslcert={0}/client.crt sslkey={0}/client.key",
        stranger.display()
    ));
    assert_ne!(out.code(), Some(0), "{}", out.describe());
    assert!(
        wait_until(Duration::from_secs(10), || srv
            .log()
            .contains("could not accept SSL connection")),
        "{}",
        srv.log()
    );
}

/// SCRAM-SHA-256-PLUS: over TLS the server offers channel binding
/// (tls-server-end-point, RFC 5929) and libpq uses it by default;
/// `channel_binding=require` succeeds only over TLS, and a wrong password
/// is still refused with PostgreSQL's 28P01 text.
#[test]
fn scram_with_channel_binding_over_tls() {
    let mut srv = tls_server(TRUST_ALL);
    srv.start_postmaster();
    let mut c = srv.connect();
    c.batch_execute("SET password_encryption = 'scram-sha-256'")
        .unwrap();
    c.batch_execute("CREATE ROLE bound LOGIN PASSWORD 'secret pw'")
        .unwrap();
    fs::write(
        srv.data_dir().join("pg_hba.conf"),
        "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
    )
    .unwrap();
    srv.signal_postmaster(libc::SIGHUP);
    assert!(
        wait_until(Duration::from_secs(10), || srv
            .log()
            .contains("received SIGHUP")),
        "{}",
        srv.log()
    );
    let psql_as = |extra: &str, pw: &str| {
        let conninfo = format!(
            "host=localhost hostaddr=127.0.0.1 port={} user=bound dbname={DATABASE} connect_timeout=10 {extra}",
            srv.port()
        );
        let mut cmd = Command::new(require_pg_program("psql"));
        clean_pg_env(&mut cmd);
        cmd.env("PGPASSWORD", pw).args([
            "-X",
            "-A",
            "-t",
            "-q",
            "-d",
            &conninfo,
            "-c",
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ]);
        run_bounded(&mut cmd, Duration::from_secs(60))
    };
    // Channel binding required and given: only possible if the server
    // offered SCRAM-SHA-256-PLUS and verified the certificate hash.
    let out = psql_as("sslmode=require channel_binding=require", "secret pw");
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert_eq!(out.stdout.trim(), "t");
    // Without TLS there is nothing to bind to: libpq refuses itself, and
    // plain SCRAM still works when binding is not required.
    let out = psql_as("sslmode=disable channel_binding=require", "secret pw");
    assert_ne!(out.code(), Some(0), "{}", out.describe());
    let out = psql_as("sslmode=disable channel_binding=prefer", "secret pw");
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert_eq!(out.stdout.trim(), "f");
    // A wrong password over the bound exchange: PostgreSQL's refusal.
    let out = psql_as("sslmode=require channel_binding=require", "wrong");
    assert_ne!(out.code(), Some(0), "{}", out.describe());
    assert_eq!(
        fatal_of(&out),
        "password authentication failed for user \"bound\""
    );
    assert!(!srv.log().contains("secret pw"), "{}", srv.log());
}
