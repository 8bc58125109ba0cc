//! Client authentication in the backend: runs the method of the
//! pg_hba.conf line that matched (trust, reject, password, md5,
//! scram-sha-256, peer) and ends the process on failure with
//! PostgreSQL's message.
//!
//! Why here and like this: PostgreSQL authenticates in the forked
//! backend, never in the postmaster, so a slow or hostile client (a
//! 4096-iteration SCRAM proof, a client that never answers) costs only its
//! own process; the startup deadline (authentication_timeout) already
//! bounds every read on the socket. The failure report follows
//! PostgreSQL's auth_failed: the client gets only "password
//! authentication failed for user ..." (28P01) while the server log also
//! gets the reason and the pg_hba.conf line (errdetail_log), so a client
//! cannot probe which roles exist. A client that hangs up when asked for a
//! password (psql does, to prompt) is not an error and logs nothing.
//! Only the backend process, before its session exists, calls this.

use super::{interrupt_pending, now_pg, ClientSocket, RELOAD_AFTER_STARTUP};
use crate::hba::HbaLine;
use crate::roles::Roles;
use crate::scram::{self, PasswordType, ScramError, ScramExchange};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use tusk_common::{elog, sqlstate, PgError, Severity};
use tusk_storage::exit::proc_exit;
use tusk_wire::{Conn, FrontendMessage, WireError};

/// What the connection presents.
pub(super) struct Client<'a> {
    pub user: &'a str,
    pub database: &'a str,
    pub peer: Option<SocketAddr>,
    /// "SSL encryption" or "no encryption", as PostgreSQL's messages end.
    pub encryption: &'a str,
    /// `tls-server-end-point` channel-binding data (the hash of the
    /// server certificate) when the connection is over TLS; the TLS
    /// code passes it in and SCRAM-SHA-256-PLUS is offered only then.
    pub channel_binding: Option<Vec<u8>>,
}

fn host_text(peer: Option<SocketAddr>) -> String {
    match peer {
        Some(a) => a.ip().to_string(),
        None => "[local]".into(),
    }
}

/// Ends the process with PostgreSQL's auth_failed report: `e` to the
/// client, `e` plus `log_detail` and the matching line to the log.
fn fail(
    conn: &mut Conn<crate::tls::Stream<ClientSocket>>,
    e: PgError,
    log_detail: Option<String>,
    line: &HbaLine,
) -> ! {
    let e = e.with_severity(Severity::Fatal);
    let matched = format!(
        "Connection matched pg_hba.conf line {}: \"{}\"",
        line.line_no(),
        line.raw()
    );
    let detail = match log_detail {
        Some(d) => format!("{d}\n{matched}"),
        None => matched,
    };
    elog::report(&e.clone().with_detail(detail));
    conn.error(&e);
    let _ = conn.flush();
    proc_exit(1);
}

/// A protocol error during authentication: FATAL to both, as PostgreSQL.
fn protocol_fail(conn: &mut Conn<crate::tls::Stream<ClientSocket>>, e: PgError) -> ! {
    let e = e.with_severity(Severity::Fatal);
    elog::report(&e);
    conn.error(&e);
    let _ = conn.flush();
    proc_exit(1);
}

/// Flushes what was queued and reads the client's 'p' message body.
/// Hang-up or timeout end the process quietly, as in PostgreSQL.
fn read_password_message(conn: &mut Conn<crate::tls::Stream<ClientSocket>>) -> Vec<u8> {
    if conn.flush().is_err() {
        proc_exit(0);
    }
    loop {
        match conn.read_message() {
            Ok(FrontendMessage::Password(body)) => return body,
            Ok(other) => protocol_fail(
                conn,
                PgError::fatal(
                    sqlstate::PROTOCOL_VIOLATION,
                    format!(
                        "expected password response, got message type {}",
                        other.type_byte()
                    ),
                ),
            ),
            Err(WireError::Io(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
                if tusk_server_signals_take_hup() {
                    RELOAD_AFTER_STARTUP.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                if interrupt_pending() {
                    proc_exit(1);
                }
            }
            // EOF (the client hung up to ask its user for a password),
            // authentication_timeout, a lost connection: nothing to say.
            Err(WireError::Eof) | Err(WireError::Io(_)) | Err(WireError::Lost(_)) => proc_exit(0),
            Err(e) => {
                let pe = e
                    .to_pg_error()
                    .unwrap_or_else(|| PgError::fatal(sqlstate::PROTOCOL_VIOLATION, e.to_string()));
                protocol_fail(conn, pe)
            }
        }
    }
}

fn tusk_server_signals_take_hup() -> bool {
    crate::signals::take(libc::SIGHUP)
}

/// The stored password PostgreSQL's get_role_password would return, or
/// the log detail saying why there is none.
fn role_password(roles: &Roles, user: &str) -> Result<String, String> {
    let Some(r) = roles.by_name(user) else {
        return Err(format!("Role \"{user}\" does not exist."));
    };
    let Some(p) = r.password.clone() else {
        return Err(format!("User \"{user}\" has no password assigned."));
    };
    if r.valid_until.is_some_and(|v| v < now_pg()) {
        return Err(format!("User \"{user}\" has an expired password."));
    }
    Ok(p)
}

fn password_failed(user: &str) -> PgError {
    PgError::fatal(
        sqlstate::SqlState::new("28P01"),
        format!("password authentication failed for user \"{user}\""),
    )
}

/// Runs `line`'s method for `client`. Returns when the client is
/// authenticated (the caller then sends AuthenticationOk); ends the
/// process otherwise.
pub(super) fn authenticate(
    conn: &mut Conn<crate::tls::Stream<ClientSocket>>,
    line: &HbaLine,
    client: &Client,
    roles: &Roles,
    password_encryption: &str,
) {
    let user = client.user;
    match line.method.as_str() {
        "trust" => {}
        "reject" => protocol_fail(
            conn,
            PgError::fatal(
                sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                format!(
                    "pg_hba.conf rejects connection for host \"{}\", user \"{user}\", database \"{}\", {}",
                    host_text(client.peer),
                    client.database,
                    client.encryption
                ),
            ),
        ),
        "password" => {
            conn.auth_cleartext_password();
            let body = read_password_message(conn);
            let pw = match tusk_wire::parse_password(&body) {
                Ok(p) => p,
                Err(e) => protocol_fail(
                    conn,
                    PgError::fatal(sqlstate::PROTOCOL_VIOLATION, e.to_string()),
                ),
            };
            if pw.is_empty() {
                elog::log("empty password returned by client");
                fail(conn, password_failed(user), None, line);
            }
            let stored = match role_password(roles, user) {
                Ok(s) => s,
                Err(d) => fail(conn, password_failed(user), Some(d), line),
            };
            let pw = String::from_utf8_lossy(pw);
            if !scram::verify_plain(&stored, user, &pw) {
                fail(
                    conn,
                    password_failed(user),
                    Some(format!("Password does not match for user \"{user}\".")),
                    line,
                );
            }
        }
        "md5" | "scram-sha-256" => {
            let stored = role_password(roles, user);
            // PostgreSQL's CheckPWChallengeAuth: md5 only when the line
            // says md5 and the stored secret is md5 (a missing one
            // counts as password_encryption's kind); SCRAM otherwise.
            let kind = match &stored {
                Ok(s) => scram::password_type(s),
                Err(_) if password_encryption == "md5" => PasswordType::Md5,
                Err(_) => PasswordType::Scram,
            };
            if line.method == "md5" && kind == PasswordType::Md5 {
                md5_exchange(conn, line, user, stored)
            } else {
                scram_exchange(conn, line, client, stored)
            }
        }
        "peer" => peer(conn, line, client),
        m => protocol_fail(
            conn,
            PgError::fatal(
                sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                format!(
                    "authentication method \"{m}\" of pg_hba.conf line {} is not supported by tusk yet",
                    line.line_no()
                ),
            )
            .with_hint("Use trust, reject, password, md5, scram-sha-256 or peer."),
        ),
    }
}

fn md5_exchange(
    conn: &mut Conn<crate::tls::Stream<ClientSocket>>,
    line: &HbaLine,
    user: &str,
    stored: Result<String, String>,
) {
    let salt: [u8; 4] = match scram::random_bytes(4) {
        Ok(b) => [b[0], b[1], b[2], b[3]],
        Err(e) => protocol_fail(
            conn,
            PgError::fatal(
                sqlstate::INTERNAL_ERROR,
                "could not generate random MD5 salt",
            )
            .with_detail(e),
        ),
    };
    conn.auth_md5_password(salt);
    let body = read_password_message(conn);
    let got = match tusk_wire::parse_password(&body) {
        Ok(p) => p.to_vec(),
        Err(e) => protocol_fail(
            conn,
            PgError::fatal(sqlstate::PROTOCOL_VIOLATION, e.to_string()),
        ),
    };
    let stored = match stored {
        Ok(s) => s,
        Err(d) => fail(conn, password_failed(user), Some(d), line),
    };
    let want = scram::md5_expected_response(&stored, salt);
    if !scram::ct_eq(want.as_bytes(), &got) {
        fail(
            conn,
            password_failed(user),
            Some(format!("Password does not match for user \"{user}\".")),
            line,
        );
    }
}

fn scram_exchange(
    conn: &mut Conn<crate::tls::Stream<ClientSocket>>,
    line: &HbaLine,
    client: &Client,
    stored: Result<String, String>,
) {
    let user = client.user;
    let secret = stored.as_ref().ok().map(String::as_str);
    let mut x = ScramExchange::new(secret, user, client.channel_binding.clone());
    let mechanisms = x.mechanisms();
    conn.auth_sasl(&mechanisms);
    let body = read_password_message(conn);
    let first = match tusk_wire::parse_sasl_initial_response(&body) {
        Ok(f) => f,
        Err(e) => protocol_fail(
            conn,
            PgError::fatal(sqlstate::PROTOCOL_VIOLATION, e.to_string()),
        ),
    };
    let mech = String::from_utf8_lossy(first.mechanism).to_string();
    if !mechanisms.contains(&mech.as_str()) {
        protocol_fail(
            conn,
            PgError::fatal(
                sqlstate::PROTOCOL_VIOLATION,
                "client selected an invalid SASL authentication mechanism",
            ),
        );
    }
    let report = |conn: &mut Conn<crate::tls::Stream<ClientSocket>>,
                  e: ScramError,
                  stored: &Result<String, String>|
     -> ! {
        match e {
            ScramError::Malformed(d) => protocol_fail(
                conn,
                PgError::fatal(sqlstate::PROTOCOL_VIOLATION, "malformed SCRAM message")
                    .with_detail(d),
            ),
            ScramError::ChannelBinding {
                code,
                message,
                detail,
            } => {
                let mut e = PgError::fatal(sqlstate::SqlState::new(code), message);
                if let Some(d) = detail {
                    e = e.with_detail(d);
                }
                protocol_fail(conn, e)
            }
            ScramError::Failed => {
                let detail = match stored {
                    Err(d) => Some(d.clone()),
                    Ok(s) if scram::password_type(s) != PasswordType::Scram => Some(format!(
                        "User \"{user}\" does not have a valid SCRAM secret."
                    )),
                    Ok(_) => None,
                };
                fail(conn, password_failed(user), detail, line)
            }
        }
    };
    let Some(data) = first.data else {
        report(
            conn,
            ScramError::Malformed("The message is empty.".into()),
            &stored,
        );
    };
    let server_first = match x.client_first(&mech, data) {
        Ok(s) => s,
        Err(e) => report(conn, e, &stored),
    };
    conn.auth_sasl_continue(server_first.as_bytes());
    let body = read_password_message(conn);
    match x.client_final(&body) {
        Ok(server_final) => conn.auth_sasl_final(server_final.as_bytes()),
        Err(e) => report(conn, e, &stored),
    }
}

/// The operating-system user at the other end of a Unix socket
/// (getsockopt(SO_PEERCRED), then getpwuid_r).
fn peer_user(conn: &Conn<crate::tls::Stream<ClientSocket>>) -> Result<String, String> {
    let fd = conn.get_ref().socket().fd.as_raw_fd();
    // SAFETY: ucred is plain integers; all-zero is a valid value.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len are live locals of the sizes passed.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(format!(
            "could not get peer credentials: getsockopt({fd}, SOL_SOCKET, SO_PEERCRED) failed: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: passwd is integers and pointers; all-zero (null) is valid
    // and getpwuid_r fills it before it is read.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0u8; 16384];
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: pw, buf and out are live locals; buf's length is passed.
    let r = unsafe {
        libc::getpwuid_r(
            cred.uid,
            &mut pw,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut out,
        )
    };
    if r != 0 || out.is_null() {
        return Err(format!(
            "could not look up local user ID {}: {}",
            cred.uid,
            if r != 0 {
                std::io::Error::from_raw_os_error(r).to_string()
            } else {
                "user does not exist".into()
            }
        ));
    }
    // SAFETY: getpwuid_r succeeded, so pw_name points into buf.
    let name = unsafe { std::ffi::CStr::from_ptr(pw.pw_name) };
    Ok(name.to_string_lossy().into_owned())
}

fn peer(conn: &mut Conn<crate::tls::Stream<ClientSocket>>, line: &HbaLine, client: &Client) {
    let user = client.user;
    let failed = PgError::fatal(
        sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
        format!("Peer authentication failed for user \"{user}\""),
    );
    match peer_user(conn) {
        Ok(os_user) if os_user == user => {}
        Ok(os_user) => {
            elog::log(format!(
                "provided user name ({user}) and authenticated user name ({os_user}) do not match"
            ));
            fail(conn, failed, None, line)
        }
        Err(e) => {
            elog::log(e);
            fail(conn, failed, None, line)
        }
    }
}
