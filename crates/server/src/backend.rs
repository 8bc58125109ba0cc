//! A backend: the process that serves one client connection, from the
//! startup packet to Terminate.
//!
//! Why one process per connection with blocking I/O: it is PostgreSQL's
//! model, and it makes a crash local (the postmaster sees it and restarts
//! cleanly) and waits simple (a backend sleeps on the latch in its own
//! proc slot, which signals and other processes set).
//!
//! Interrupts: SIGTERM (terminate: `pg_terminate_backend`, fast
//! shutdown), SIGINT (cancel the running statement) and postmaster death
//! (SIGPWR, and EOF on the death pipe) only set flags. The backend looks at
//! them where it is safe to act: while waiting for the client (see
//! [`ClientSocket`], whose `read` returns `Interrupted` when a flag is set)
//! and in [`Session::check_interrupts`], which the SQL layer calls in
//! every loop and every latch wait (`pg_sleep`, `CHECKPOINT`) calls after
//! resetting its latch.

use crate::hba::Hba;
use crate::postmaster::{Child, ChildKind};
use crate::shmem::ChildShared;
use crate::signals::{self, SelfPipe};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tusk_common::{elog, sqlstate, PgError, Severity};
use tusk_config::session::SessionSettings;
use tusk_config::{keys, Settings};
use tusk_sql::{Command, Host, Oid, Value};
use tusk_storage::exit::{before_shmem_exit, cancel_before_shmem_exit, on_shmem_exit, proc_exit};
use tusk_storage::latch::{self, SocketInterest, WaitFor};
use tusk_storage::procarray::{BackendState, ProcArray, SlotError, WaitEvent};
use tusk_storage::xact::{Ended, Status, SubEvent, Xact};
use tusk_wire::{Conn, FieldDesc, FrontendMessage, StartupRequest, Target, TxStatus, WireError};

mod advisory;
mod auth;
mod copyfile;
mod notify;
mod portal;
mod rolecmd;
mod tables;
mod xactlocal;

/// The client connection: the socket, or a TLS session over it once an
/// SSLRequest was accepted (crate::tls).
type Client = crate::tls::Stream<ClientSocket>;

/// A startup packet: protocol major and minor version, and its parameters.
type Startup = (u16, u16, Vec<(String, String)>);

/// Can this connection be served? Decided by the postmaster before fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cac {
    Ok,
    Startup,
    Shutdown,
    Recovery,
    TooMany,
    /// Smart shutdown while an online backup runs: superusers only.
    SuperuserOnly,
}

pub struct BackendEnv {
    pub socket: Option<OwnedFd>,
    pub peer: Option<SocketAddr>,
    pub cac: Cac,
    pub cancel_key: i32,
    /// How long the client has to send its startup packet and
    /// authenticate (authentication_timeout, shorter for refusals during a
    /// shutdown).
    pub auth_timeout: Duration,
    pub settings: Settings,
    pub data_dir: PathBuf,
    pub shared: ChildShared,
    /// The postmaster's table of children when this one was forked; cancel
    /// requests are checked against it, never against shared memory.
    pub children: Vec<Child>,
    pub hba: Hba,
    /// The server's TLS configuration when ssl = on and it loaded.
    pub tls: Option<std::sync::Arc<crate::tls::TlsConfig>>,
    /// `-c` and short flags of the server command line: they win over
    /// postgresql.conf on reload too.
    pub overrides: Vec<(String, String)>,
    pub death_fd: i32,
    pub self_pipe: SelfPipe,
    pub superuser_reserved: usize,
}

/// The client socket, with reads that give way to interrupts: before
/// blocking, and whenever a signal or the postmaster's death wakes the
/// poll, it returns `Interrupted` if a terminate request, a postmaster
/// death or the deadline (authentication_timeout) is pending.
pub struct ClientSocket {
    fd: OwnedFd,
    deadline: Option<Instant>,
    pub idle_wait: Option<(ProcArray, usize)>,
}

/// A reload requested while the startup packet was being read, applied
/// once the session exists.
static RELOAD_AFTER_STARTUP: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);
static PM_DEAD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn interrupt_pending() -> bool {
    signals::pending(libc::SIGTERM)
        || signals::pending(libc::SIGPWR)
        || signals::pending(libc::SIGHUP)
        || PM_DEAD.load(std::sync::atomic::Ordering::SeqCst)
}

impl ClientSocket {
    /// Waits up to `timeout_ms` for the client socket to be ready, for
    /// this process's latch (set by every signal handler) or for the
    /// postmaster's death (recorded in PM_DEAD). True when the socket is
    /// ready; the caller resets the latch before it checks the interrupt
    /// flags, and checks them again after.
    fn wait_for(&self, interest: SocketInterest, timeout_ms: i32) -> bool {
        let woken = latch::wait(
            &WaitFor {
                latch: Some(latch::my_latch()),
                socket: Some((self.fd.as_raw_fd(), interest)),
                postmaster_death: true,
            },
            Some(Duration::from_millis(timeout_ms.max(0) as u64)),
        );
        if woken.postmaster_death {
            PM_DEAD.store(true, std::sync::atomic::Ordering::SeqCst);
            return false;
        }
        woken.socket
    }
}

impl Read for ClientSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            latch::my_latch().reset();
            if interrupt_pending() || notify::idle_delivery_wanted() {
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "interrupt pending",
                ));
            }
            // Data already there is read without a wait (PostgreSQL's
            // secure_read tries the socket first too): with clients that
            // send their next statement at once, the poll was a system call
            // per statement for nothing.
            // SAFETY: as below; MSG_DONTWAIT makes it return EAGAIN
            // instead of blocking when nothing is there.
            let r = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if r >= 0 {
                return Ok(r as usize);
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => {}
                _ => return Err(e),
            }
            let timeout = match self.deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "authentication timeout",
                        ));
                    }
                    left.as_millis().min(1000) as i32
                }
                None => 1000,
            };
            if let Some((p, i)) = self.idle_wait {
                p.status(i).set_wait_event(WaitEvent::ClientRead);
            }
            let ready = self.wait_for(SocketInterest::Readable, timeout);
            if let Some((p, i)) = self.idle_wait {
                p.status(i).set_wait_event(WaitEvent::None);
            }
            if ready {
                // SAFETY: `buf` is a live, exclusively borrowed slice and
                // recv writes at most `buf.len()` bytes into it; the fd is
                // owned by `self` and stays open for the call.
                let r = unsafe {
                    libc::recv(
                        self.fd.as_raw_fd(),
                        buf.as_mut_ptr() as *mut libc::c_void,
                        buf.len(),
                        0,
                    )
                };
                if r < 0 {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::Interrupted
                        || e.kind() == io::ErrorKind::WouldBlock
                    {
                        continue;
                    }
                    return Err(e);
                }
                return Ok(r as usize);
            }
        }
    }
}

/// Set once the backend gave up writing to a client that does not read
/// while a termination request was pending: every later write fails at
/// once, so the exit path cannot block on the client again.
static WRITES_ABANDONED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Write for ClientSocket {
    /// Sends without blocking; when the client's receive window is full,
    /// waits for room while watching for a terminate request and the
    /// postmaster's death, as PostgreSQL's ProcessClientWriteInterrupt
    /// does: a client that stops reading must not keep a fast shutdown or
    /// pg_terminate_backend waiting for ever.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            latch::my_latch().reset();
            if WRITES_ABANDONED.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "stopped writing to the client",
                ));
            }
            // SAFETY: send only reads `buf.len()` bytes of the borrowed
            // slice; the fd is owned by `self`. MSG_NOSIGNAL keeps a closed
            // peer from raising SIGPIPE.
            let r = unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    buf.as_ptr() as *const libc::c_void,
                    buf.len(),
                    libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                )
            };
            if r >= 0 {
                return Ok(r as usize);
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => {}
                _ => return Err(e),
            }
            self.wait_for(SocketInterest::Writable, 1000);
            if signals::pending(libc::SIGTERM)
                || signals::pending(libc::SIGPWR)
                || PM_DEAD.load(std::sync::atomic::Ordering::SeqCst)
            {
                WRITES_ABANDONED.store(true, std::sync::atomic::Ordering::SeqCst);
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "terminating while the client does not read",
                ));
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Encodes one report as the bytes of a NoticeResponse, for the SIGQUIT
/// handler, which may not allocate.
fn encode_notice(e: &PgError) -> Vec<u8> {
    let mut c = Conn::new(io::Cursor::new(Vec::new()));
    c.notice(e);
    let _ = c.flush();
    c.get_ref().get_ref().clone()
}

fn host_of(peer: Option<SocketAddr>) -> String {
    match peer {
        Some(a) => a.ip().to_string(),
        None => "[local]".to_string(),
    }
}

/// The client as the process title shows it: "127.0.0.1(5555)", "[local]".
fn client_title(peer: Option<SocketAddr>) -> String {
    match peer {
        Some(a) => format!("{}({})", a.ip(), a.port()),
        None => "[local]".to_string(),
    }
}

/// Entry point in the forked child. Never returns.
/// This process is an autovacuum worker (`autovacuum::worker_main`):
/// its process title says so and its plain VACUUM is autovacuum's. The
/// worker only, before [`run`].
pub fn mark_autovacuum_worker() {
    tables::stats::AUTOVACUUM_WORKER.store(true, std::sync::atomic::Ordering::Relaxed);
}

pub fn run(mut env: BackendEnv) -> ! {
    let shared = env.shared.clone();
    let (cluster, update) = (
        env.settings.get(keys::CLUSTER_NAME),
        env.settings.get(keys::UPDATE_PROCESS_TITLE),
    );
    if matches!(env.cac, Cac::Ok | Cac::SuperuserOnly) {
        crate::pstitle::set_fixed(cluster, update, &client_title(env.peer), "initializing");
    } else {
        let fixed = format!("dead-end {}", client_title(env.peer));
        crate::pstitle::set_fixed(cluster, update, &fixed, "");
    }
    let sock = ClientSocket {
        fd: env.socket.take().expect("the client socket"),
        deadline: Some(Instant::now() + env.auth_timeout),
        idle_wait: None,
    };
    let mut conn = Conn::new(crate::tls::Stream::Plain(sock));
    // TLS is offered on TCP only, as PostgreSQL does.
    let tls = env.tls.clone().filter(|_| env.peer.is_some());
    let startup = match negotiate(&mut conn, &env.children, tls.as_deref()) {
        Some(s) => s,
        None => proc_exit(0),
    };
    let (major, minor, params) = startup;
    if major != 3 {
        fatal_before_session(
            &mut conn,
            PgError::fatal(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.0"
                ),
            ),
        );
    }
    let refusal = match env.cac {
        Cac::Ok => None,
        Cac::Startup => Some("the database system is starting up"),
        Cac::Shutdown => Some("the database system is shutting down"),
        Cac::Recovery => Some("the database system is in recovery mode"),
        Cac::TooMany | Cac::SuperuserOnly => None,
    };
    if let Some(m) = refusal {
        fatal_before_session(&mut conn, PgError::fatal(sqlstate::CANNOT_CONNECT_NOW, m));
    }
    if env.cac == Cac::TooMany {
        fatal_before_session(
            &mut conn,
            PgError::fatal(
                sqlstate::TOO_MANY_CONNECTIONS,
                "sorry, too many clients already",
            ),
        );
    }
    let mut session = match Session::start(conn, env, minor, params) {
        Ok(s) => s,
        Err(failed) => {
            let (mut conn, e) = *failed;
            fatal_before_session(&mut conn, e)
        }
    };
    // Only now does the client expect protocol messages; before, a SIGQUIT
    // just ends the process (the client may be waiting for the one-byte
    // SSL answer).
    // Over TLS the handler cannot write plaintext into the stream: the
    // client just sees the connection close.
    let raw_fd = if session.conn.get_ref().is_tls() {
        -1
    } else {
        session.conn.get_ref().socket().fd.as_raw_fd()
    };
    signals::set_quit_messages(
        raw_fd,
        &shared.control().quit_reason,
        encode_notice(&PgError::new(Severity::Warning, sqlstate::ADMIN_SHUTDOWN, "terminating connection due to immediate shutdown command")),
        encode_notice(
            &PgError::new(Severity::Warning, sqlstate::CRASH_SHUTDOWN, "terminating connection because of crash of another server process")
                .with_detail("The postmaster has commanded this server process to roll back the current transaction and exit, because another server process exited abnormally and possibly corrupted shared memory.")
                .with_hint("In a moment you should be able to reconnect to the database and repeat your command."),
        ),
    );
    session.attach_notify();
    session.release_session_locks_at_exit();
    session.main_loop()
}

/// Reads the startup packet, answering an SSLRequest with 'S' and a TLS
/// handshake when `tls` is given (else 'N'), a GSSENCRequest with 'N', and
/// handling a cancel request. Each negotiation is allowed once, and none
/// after TLS started, as in PostgreSQL. Returns None when the connection
/// is done (cancel, a failed handshake, or a client that went away).
fn negotiate(
    conn: &mut Conn<Client>,
    children: &[Child],
    tls: Option<&crate::tls::TlsConfig>,
) -> Option<Startup> {
    let (mut ssl_done, mut gss_done) = (false, false);
    loop {
        match conn.read_startup() {
            Ok(req @ (StartupRequest::Ssl | StartupRequest::GssEnc))
                if !(if req == StartupRequest::Ssl {
                    ssl_done
                } else {
                    gss_done
                }) =>
            {
                let accept = tls.filter(|_| req == StartupRequest::Ssl);
                if req == StartupRequest::Ssl {
                    ssl_done = true;
                } else {
                    gss_done = true;
                }
                // The one-byte answer goes first, as in PostgreSQL: bytes
                // that came in with the request were sent before any
                // encryption could start, and the client is told so in
                // a FATAL after the answer it is waiting for.
                let sent = if accept.is_some() {
                    conn.send_ssl_accept()
                } else if req == StartupRequest::Ssl {
                    conn.send_ssl_refusal()
                } else {
                    conn.send_gssenc_refusal()
                };
                if sent.is_err() {
                    return None;
                }
                if conn.has_buffered_input() {
                    let what = if req == StartupRequest::Ssl {
                        "SSL"
                    } else {
                        "GSSAPI encryption"
                    };
                    fatal_before_session(conn, PgError::fatal(sqlstate::PROTOCOL_VIOLATION, format!("received unencrypted data after {what} request"))
                        .with_detail("This could be either a client-software bug or evidence of an attempted man-in-the-middle attack."));
                }
                if let Some(cfg) = accept {
                    if !start_tls(conn, cfg) {
                        // PostgreSQL's backend ends quietly (exit 0): the
                        // reason is in the log, the client cannot read it.
                        proc_exit(0);
                    }
                    gss_done = true;
                }
            }
            Ok(req @ (StartupRequest::Ssl | StartupRequest::GssEnc)) => {
                let code = if req == StartupRequest::Ssl {
                    5679
                } else {
                    5680
                };
                fatal_before_session(
                    conn,
                    PgError::fatal(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!(
                            "unsupported frontend protocol 1234.{code}: server supports 3.0 to 3.0"
                        ),
                    ),
                );
            }
            Ok(StartupRequest::Cancel { pid, key }) => {
                handle_cancel(children, pid, key);
                return None;
            }
            Ok(StartupRequest::Startup {
                major,
                minor,
                params,
            }) => return Some((major, minor, params)),
            Err(WireError::Eof) => return None,
            Err(WireError::Io(e)) => {
                if e.kind() == io::ErrorKind::TimedOut {
                    // authentication_timeout while reading the startup packet.
                    proc_exit(1);
                }
                if e.kind() == io::ErrorKind::Interrupted {
                    // A reload is applied once the session exists; a
                    // terminate request or the postmaster's death ends the
                    // connection attempt, as in PostgreSQL.
                    if signals::take(libc::SIGHUP) {
                        RELOAD_AFTER_STARTUP.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                    if interrupt_pending() {
                        proc_exit(1);
                    }
                    continue;
                }
                return None;
            }
            Err(WireError::Lost(m)) => {
                // A bad length or a packet cut short: PostgreSQL logs it
                // and closes without a word (the client could not parse
                // an answer anyway).
                elog::log(m);
                proc_exit(0);
            }
            Err(e) => {
                let pe = e.to_pg_error().unwrap_or_else(|| {
                    PgError::fatal(sqlstate::PROTOCOL_VIOLATION, "invalid startup packet")
                });
                fatal_before_session(conn, pe);
            }
        }
    }
}

/// Runs the TLS handshake after the 'S'. False when it failed (logged as
/// PostgreSQL logs it); the authentication_timeout and termination
/// requests apply as while the startup packet is read. Backend only.
fn start_tls(conn: &mut Conn<Client>, cfg: &crate::tls::TlsConfig) -> bool {
    if let Err(e) = conn.get_mut().start_tls(cfg) {
        elog::log(format!("could not initialize SSL connection: {e}"));
        return false;
    }
    let Some(t) = conn.get_mut().tls_mut() else {
        return false;
    };
    loop {
        match t.handshake() {
            Ok(()) => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                if signals::take(libc::SIGHUP) {
                    RELOAD_AFTER_STARTUP.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                if interrupt_pending() {
                    proc_exit(1);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => proc_exit(1),
            Err(e) => {
                let why = match e.kind() {
                    io::ErrorKind::UnexpectedEof => "EOF detected".to_string(),
                    _ => e.to_string(),
                };
                elog::log(format!("could not accept SSL connection: {why}"));
                return false;
            }
        }
    }
}

/// A cancel request: signal the backend only if both PID and key match a
/// backend the postmaster knew. Nothing is ever sent back.
fn handle_cancel(children: &[Child], pid: i32, key: i32) {
    match children
        .iter()
        .find(|c| c.pid == pid && c.kind == ChildKind::Backend)
    {
        Some(c) if c.cancel_key == key => {
            // SAFETY: kill has no memory effects. The PID is one the
            // postmaster forked and listed at our fork; if it has been
            // reaped and reused since, PostgreSQL has the same window.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
        Some(_) => elog::log(format!("wrong key in cancel request for process {pid}")),
        None => elog::log(format!(
            "PID {pid} in cancel request did not match any process"
        )),
    }
}

fn fatal_before_session(conn: &mut Conn<Client>, e: PgError) -> ! {
    let e = e.with_severity(Severity::Fatal);
    elog::report(&e);
    conn.error(&e);
    let _ = conn.flush();
    proc_exit(1);
}

/// A prepared statement of the session: the protocol's Parse and SQL's
/// PREPARE share this store, as in PostgreSQL.
struct StmtEntry {
    prepared: Option<Rc<tusk_sql::Prepared>>,
    param_types: Vec<Oid>,
    /// The query text (Parse's query, or the whole PREPARE statement),
    /// when it was prepared, and whether by PREPARE: pg_prepared_statements.
    sql: String,
    prepare_time: i64,
    from_sql: bool,
}

/// A portal's progress. A started portal holds the executor's state (not
/// its rows), so each Execute continues where the last one stopped; the
/// execution and what its scans hold are released when the portal is
/// dropped (Close, end of transaction, DISCARD ALL).
enum PortalState {
    NotRun,
    Running(tusk_sql::Execution),
    Done,
}

struct Portal {
    stmt: Rc<StmtEntry>,
    params: Vec<Value>,
    result_formats: Vec<i16>,
    state: PortalState,
}

pub struct Session {
    conn: Conn<Client>,
    settings: SessionSettings,
    procs: ProcArray,
    slot: usize,
    shared: ChildShared,
    /// Who and where this session is, fixed at connection start (what
    /// current_user, current_database() and pg_backend_pid() read).
    id: tusk_sql::SessionIdentity,
    /// The transaction-block state and the running transaction's
    /// resource owner (tusk_storage::xact).
    xact: Xact,
    /// The storage side of `xact` (None: the commit log could not be
    /// opened; then nothing can get an xid).
    engine: Option<Rc<Engine>>,
    /// When the current Query or extended-protocol message began
    /// (`statement_timestamp()`), microseconds since 2000-01-01.
    stmt_start: i64,
    statements: HashMap<String, Rc<StmtEntry>>,
    portals: HashMap<String, Portal>,
    /// SQL cursors (DECLARE, PL/pgSQL's OPEN): tusk_sql::cursor.
    cursors: tusk_sql::cursor::Cursors,
    /// The text of the query being run (Host::query_text).
    query_text: String,
    /// In the extended protocol, after an error: skip messages until Sync.
    skip_till_sync: bool,
    in_query: bool,
    data_dir: PathBuf,
    overrides: Vec<(String, String)>,
    /// This session's online backup (pg_backup_start), if one runs: its
    /// label, start time and the exit callback that aborts it.
    backup: Option<(String, i64, tusk_storage::exit::Registration)>,
    /// Counts ended transactions, so an Execute can tell that its own
    /// statement (COMMIT, ROLLBACK) ended the portal's transaction.
    txn_generation: u64,
    /// When the running statement exceeds statement_timeout.
    statement_deadline: Option<Instant>,
    /// Tables: the buffer manager and database (None: no buffer pool or
    /// commit log could be attached; table statements then fail).
    store: Option<Rc<tables::Store>>,
    /// REPEATABLE READ: the transaction's snapshot, once taken.
    rr_snapshot: std::cell::RefCell<Option<tusk_storage::snapshot::Snapshot>>,
    /// Relation files to remove when the transaction ends: (file, at
    /// commit) — created ones go at abort, dropped ones at commit.
    pending_deletes: Vec<(tusk_storage::smgr::RelFileLocator, bool)>,
    /// Resolved tables (see tables.rs: dropped when the shared catalog
    /// generation moves).
    relcache: std::cell::RefCell<tables::RelCache>,
    /// This transaction changed the catalog: bypass the cache, announce
    /// at commit.
    catalog_changed: bool,
    /// The block each relation's last insert went to (PostgreSQL's
    /// rd_targblock, kept across statements): a bulk insert goes straight
    /// to that page instead of asking the free-space map for every row.
    /// A hint only: a block past the relation's end is ignored.
    heap_targets:
        std::cell::RefCell<std::collections::HashMap<tusk_storage::smgr::RelFileLocator, u32>>,
    /// The heap fillfactor of each table resolved with one set (by OID;
    /// tables/reloptions.rs): inserts leave that share of a page free.
    fillfactors: std::cell::RefCell<std::collections::HashMap<u32, u8>>,
    /// This backend's heavyweight locks (None: no lock table attached;
    /// xid waits then poll).
    locks: Option<Rc<tusk_storage::lmgr::LocalLocks<ChildShared>>>,
    /// The xid this transaction holds its own exclusive lock on (0: none).
    xid_locked: u64,
    /// The session's database (advisory lock keys, notifications).
    db_oid: u32,
    /// LISTEN/NOTIFY: channels, and what the transaction asked for.
    notify: notify::NotifyState,
    /// Per-transaction state of SET LOCAL ROLE/SESSION AUTHORIZATION,
    /// transaction characteristics and AND CHAIN (backend/xactlocal.rs).
    xact_local: xactlocal::XactLocal,
}

fn parse_options(opts: &str) -> Result<Vec<(String, String)>, PgError> {
    // Command-line style switches, split on unescaped whitespace.
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut chars = opts.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n)
                }
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur))
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let mut out = Vec::new();
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        let kv = if w == "-c" {
            it.next()
        } else if let Some(rest) = w.strip_prefix("-c") {
            Some(rest.to_string())
        } else {
            w.strip_prefix("--").map(str::to_string)
        };
        let Some(kv) = kv else {
            return Err(PgError::fatal(
                sqlstate::SYNTAX_ERROR,
                format!("invalid command-line argument for server process: {w}"),
            )
            .with_hint(
                "Only -c name=value and --name=value are allowed in the options startup parameter.",
            ));
        };
        match kv.split_once('=') {
            Some((k, v)) => out.push((k.replace('-', "_"), v.to_string())),
            None => {
                return Err(PgError::fatal(
                    sqlstate::SYNTAX_ERROR,
                    format!("-c {kv} requires a value"),
                ));
            }
        }
    }
    Ok(out)
}

impl Session {
    fn start(
        mut conn: Conn<Client>,
        env: BackendEnv,
        minor: u16,
        params: Vec<(String, String)>,
    ) -> Result<Session, Box<(Conn<Client>, PgError)>> {
        macro_rules! bail {
            ($e:expr) => {
                return Err(Box::new((conn, $e)))
            };
        }
        let mut user = None;
        let mut database = None;
        let mut gucs = Vec::new();
        let mut unrecognized = Vec::new();
        for (k, v) in params {
            match k.as_str() {
                "user" => user = Some(v),
                "database" => database = Some(v),
                "options" => match parse_options(&v) {
                    Ok(o) => gucs.extend(o),
                    Err(e) => bail!(e),
                },
                // A boolean or the exact word "database", as PostgreSQL
                // accepts; anything else is refused before authentication
                // with PostgreSQL's message and hint.
                "replication" => match (v.as_str(), tusk_config::parse_bool(&v)) {
                    (_, Some(false)) => {}
                    ("database", _) | (_, Some(true)) => bail!(PgError::fatal(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "replication connections are not supported by tusk yet"
                    )),
                    (_, None) => bail!(PgError::fatal(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!("invalid value for parameter \"replication\": \"{v}\"")
                    )
                    .with_hint("Valid values are: \"false\", 0, \"true\", 1, \"database\".")),
                },
                k if k.starts_with("_pq_.") => unrecognized.push(k.to_string()),
                _ => gucs.push((k, v)),
            }
        }
        if minor > 0 || !unrecognized.is_empty() {
            conn.negotiate_protocol_version(tusk_wire::PROTOCOL_3_0, &unrecognized);
        }
        let Some(user) = user.filter(|u| !u.is_empty()) else {
            bail!(PgError::fatal(
                sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                "no PostgreSQL user name specified in startup packet"
            ));
        };
        let database = database
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| user.clone());
        let host = host_of(env.peer);
        if env.settings.bool("log_connections") {
            match env.peer {
                Some(a) => elog::log(format!(
                    "connection received: host={} port={}",
                    a.ip(),
                    a.port()
                )),
                None => elog::log("connection received: host=[local]"),
            }
        }
        // Authentication (pg_hba.conf, then the line's method: auth.rs).
        let ssl_info = conn.get_ref().ssl_info();
        let encryption = if ssl_info.is_some() {
            "SSL encryption"
        } else {
            "no encryption"
        };
        let roles = crate::roles::Roles::load(&env.data_dir).unwrap_or_default();
        let is_member = |u: &str, g: &str| match (roles.by_name(u), roles.by_name(g)) {
            (Some(u), Some(g)) => roles.is_member_of(u.oid, g.oid),
            _ => false,
        };
        let Some(line) = env.hba.find_with(
            env.peer.map(|a| a.ip()),
            ssl_info.is_some(),
            &database,
            &user,
            &is_member,
        ) else {
            bail!(PgError::fatal(
                sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                format!("no pg_hba.conf entry for host \"{host}\", user \"{user}\", database \"{database}\", {encryption}")
            ));
        };
        // A client certificate the line asks for (clientcert=, cert),
        // then the line's method.
        if let Err(e) = crate::tls::check_client_cert(line, env.tls.as_deref(), ssl_info.as_ref()) {
            bail!(e);
        }
        if let Err(e) = crate::tls::check_cert_user(line, &user, ssl_info.as_ref()) {
            bail!(e);
        }
        if line.method != "cert" {
            // Over TLS, SCRAM-SHA-256-PLUS is offered with the certificate's
            // tls-server-end-point hash as the channel-binding data (RFC 5929).
            let channel_binding = conn.get_ref().tls_server_end_point().map(<[u8]>::to_vec);
            auth::authenticate(
                &mut conn,
                line,
                &auth::Client {
                    user: &user,
                    database: &database,
                    peer: env.peer,
                    encryption,
                    channel_binding,
                },
                &roles,
                env.settings.str("password_encryption"),
            );
        }
        // Authenticated: PostgreSQL says so (AuthenticationOk) before it
        // looks up the role and the database, so their FATALs follow it,
        // and clients expect that order.
        conn.auth_ok();
        let Some(role) = roles.by_name(&user) else {
            bail!(PgError::fatal(
                sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                format!("role \"{user}\" does not exist")
            ));
        };
        if !role.login {
            bail!(PgError::fatal(
                sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                format!("role \"{user}\" is not permitted to log in")
            ));
        }
        let is_superuser = role.superuser;
        rolecmd::set_authenticated(&user, is_superuser);
        let role_connlimit = role.connlimit;
        if env.cac == Cac::SuperuserOnly && !is_superuser {
            bail!(PgError::fatal(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                "must be superuser to connect during database shutdown"
            )
            .with_detail("An online backup is in progress; the server shuts down once it ends."));
        }
        let dbs = tusk_storage::bootstrap::databases(&env.data_dir).unwrap_or_default();
        let db_oid = dbs.iter().find(|d| d.name == database).map(|d| d.oid);
        if db_oid.is_none() {
            bail!(PgError::fatal(
                sqlstate::INVALID_CATALOG_NAME,
                format!("database \"{database}\" does not exist")
            ));
        }
        if database == "template0" {
            bail!(PgError::fatal(
                sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                "database \"template0\" is not currently accepting connections"
            ));
        }
        crate::pstitle::set_fixed(
            env.settings.get(keys::CLUSTER_NAME),
            env.settings.get(keys::UPDATE_PROCESS_TITLE),
            &if tables::stats::AUTOVACUUM_WORKER.load(std::sync::atomic::Ordering::Relaxed) {
                format!("autovacuum worker {database}")
            } else {
                format!("{user} {database} {}", client_title(env.peer))
            },
            "startup",
        );
        // Session settings: file + command line, then the startup packet.
        let mut base = env.settings.clone();
        base.set_override("is_superuser", tusk_config::Value::Bool(is_superuser));
        base.set_override(
            "session_authorization",
            tusk_config::Value::Str(user.clone()),
        );
        let mut settings = SessionSettings::new(base);
        // As PostgreSQL's process_startup_options: the role is known by
        // now, so a superuser may set superuser-only settings here too.
        for (k, v) in &gucs {
            if let Err(e) = settings.apply_startup_as(k, v, is_superuser) {
                bail!(e.with_severity(Severity::Fatal));
            }
        }
        // A proc slot, or 53300.
        let pid = std::process::id() as i32;
        let procs = env.shared.procs;
        let slot = match procs.acquire_backend(pid, is_superuser, env.superuser_reserved) {
            Ok(s) => s,
            Err(SlotError::TooMany) => bail!(PgError::fatal(
                sqlstate::TOO_MANY_CONNECTIONS,
                "sorry, too many clients already"
            )),
            Err(SlotError::Reserved) => bail!(PgError::fatal(
                sqlstate::TOO_MANY_CONNECTIONS,
                "remaining connection slots are reserved for non-replication superuser connections"
            )),
        };
        // From here on every exit gives the slot back.
        let _ = on_shmem_exit("release the proc slot", move |_| procs.release(slot));
        // A hand-off V that the slot's previous owner left behind must not
        // end this process's first LWLock sleep.
        if let Some((sem, num)) = env.shared.semaphore(slot) {
            let _ = sem.reset(num);
        }
        procs.proc(slot).waits().latch.own();
        let app = settings.settings().str("application_name").to_string();
        let now = now_pg();
        let s = procs.status(slot);
        s.set_cancel_key(env.cancel_key);
        s.set_identity(&database, &user, &app, env.peer, is_superuser, now);
        // CONNECTION LIMIT, counted as PostgreSQL's CountUserBackends once
        // this backend is in the proc array (so "more than the limit").
        if role_connlimit >= 0 && !is_superuser {
            let n = procs
                .snapshot()
                .iter()
                .filter(|p| {
                    p.usename == user && p.kind == tusk_storage::procarray::ProcKind::ClientBackend
                })
                .count();
            if n > role_connlimit as usize {
                bail!(PgError::fatal(
                    sqlstate::TOO_MANY_CONNECTIONS,
                    format!("too many connections for role \"{user}\"")
                ));
            }
        }
        s.set_ssl(conn.get_ref().ssl_info().map(|i| i.status()).as_ref());
        elog::set_session(
            &user,
            &database,
            &host,
            &env.peer.map(|a| a.port().to_string()).unwrap_or_default(),
        );
        elog::set_application(&app);
        if env.settings.bool("log_connections") {
            elog::log(format!(
                "connection authorized: user={user} database={database} application_name={app}"
            ));
        }
        conn.get_mut().socket_mut().deadline = None;
        conn.get_mut().socket_mut().idle_wait = Some((procs, slot));
        for (name, value) in settings.reported() {
            // The output functions read these from the types crate.
            apply_datetime_setting(name, &value);
            conn.parameter_status(name, &value);
        }
        if let Ok(v) = settings.show("extra_float_digits") {
            tusk_sql::value::set_extra_float_digits(&v);
        }
        conn.backend_key_data(pid, env.cancel_key);
        let mut xact = Xact::new();
        // A before_shmem_exit callback: it runs before the proc slot's.
        let _ = xact.release_at_exit();
        let engine = Engine::new(&env.shared, &env.data_dir, &env.settings, slot).map(Rc::new);
        if let Some(e) = &engine {
            xact.set_engine(e.clone());
            // Ending inside a transaction that has an xid (client gone,
            // FATAL): it aborts and leaves the proc array before the slot
            // is released, or the xid would look running to everyone.
            let weak = Rc::downgrade(e);
            let _ = before_shmem_exit("abort the transaction's xid", move |_| {
                if let Some(e) = weak.upgrade() {
                    if e.transam.procs().proc(e.slot as usize).xid() != 0 {
                        // The running subxids too (released or not), so
                        // the abort record and pg_xact say so.
                        let mut subxids = Vec::new();
                        e.transam.running_subxids(e.slot as usize, &mut subxids);
                        let _ = tusk_storage::xact::XactEngine::abort(&*e, &subxids);
                    }
                }
            });
        }
        // Tables need the commit log (visibility) and the buffer pool.
        let store = match (&engine, db_oid) {
            (Some(_), Some(db)) => match env.shared.bufmgr(&env.data_dir, &env.settings, slot) {
                Ok(bm) => Some(Rc::new(tables::Store::new(bm, db, env.data_dir.clone()))),
                Err(e) => {
                    elog::report(&e.with_severity(Severity::Warning));
                    None
                }
            },
            _ => None,
        };
        Ok(Session {
            store,
            rr_snapshot: std::cell::RefCell::new(None),
            pending_deletes: Vec::new(),
            relcache: std::cell::RefCell::new(tables::RelCache::default()),
            catalog_changed: false,
            heap_targets: Default::default(),
            fillfactors: Default::default(),
            locks: env.shared.lockmgr().map(|m| {
                Rc::new(tusk_storage::lmgr::LocalLocks::new(
                    m,
                    env.shared.clone(),
                    slot as u32,
                    env.shared.procs.len(),
                ))
            }),
            xid_locked: 0,
            db_oid: db_oid.unwrap_or(0),
            notify: Default::default(),
            xact_local: Default::default(),
            conn,
            settings,
            procs,
            slot,
            shared: env.shared,
            id: tusk_sql::SessionIdentity {
                backend_pid: std::process::id() as i32,
                session_user: user.clone(),
                user,
                database,
                is_superuser,
            },
            xact,
            engine,
            stmt_start: 0,
            statements: HashMap::new(),
            portals: HashMap::new(),
            cursors: Default::default(),
            query_text: String::new(),
            skip_till_sync: false,
            in_query: false,
            data_dir: env.data_dir,
            overrides: env.overrides,
            backup: None,
            txn_generation: 0,
            statement_deadline: None,
        })
    }

    /// Ends the process: sends what is buffered for the client, then
    /// [`proc_exit`] runs the exit callbacks (backup abort, proc slot).
    fn exit(&mut self, code: i32) -> ! {
        let _ = self.conn.flush();
        // Temporary relations go with the session (not when the
        // postmaster is gone: nothing may be written then).
        if !PM_DEAD.load(std::sync::atomic::Ordering::SeqCst) {
            self.drop_temp_relations();
        }
        proc_exit(code);
    }

    fn fatal(&mut self, e: PgError) -> ! {
        let e = e.with_severity(Severity::Fatal);
        elog::report(&e);
        self.conn.error(&e);
        self.exit(1);
    }

    fn tx_status(&self) -> TxStatus {
        match self.xact.status() {
            Status::Idle => TxStatus::Idle,
            Status::InBlock => TxStatus::InBlock,
            Status::Failed => TxStatus::Failed,
        }
    }

    fn ready_for_query(&mut self) {
        self.statement_deadline = None;
        regex_interrupts::arm(None);
        let state = match self.xact.status() {
            Status::Idle => BackendState::Idle,
            Status::InBlock => BackendState::IdleInTransaction,
            Status::Failed => BackendState::IdleInTransactionAborted,
        };
        if !self.xact.in_transaction() {
            self.procs.status(self.slot).set_xact_start(0);
        }
        self.procs
            .status(self.slot)
            .set_state(state, None, now_pg());
        crate::pstitle::set_update(self.settings.settings().get(keys::UPDATE_PROCESS_TITLE));
        crate::pstitle::set_activity(state.as_str().unwrap_or("idle"));
        // PostgreSQL 15 sends what arrived before ReadyForQuery, outside
        // a transaction block.
        self.deliver_notifications();
        let st = self.tx_status();
        self.conn.ready_for_query(st);
    }

    /// Terminate requests and postmaster death end the session; a cancel
    /// request only while a statement runs.
    fn process_interrupts(&mut self, idle: bool) -> Result<(), PgError> {
        if signals::take(libc::SIGPWR) || PM_DEAD.load(std::sync::atomic::Ordering::SeqCst) {
            PM_DEAD.store(true, std::sync::atomic::Ordering::SeqCst);
            self.fatal(PgError::fatal(
                sqlstate::ADMIN_SHUTDOWN,
                "terminating connection due to unexpected postmaster exit",
            ));
        }
        if signals::take(libc::SIGTERM) {
            self.fatal(PgError::fatal(
                sqlstate::ADMIN_SHUTDOWN,
                "terminating connection due to administrator command",
            ));
        }
        if signals::take(libc::SIGHUP) {
            self.reload_config();
        }
        if signals::pending(libc::SIGINT) {
            signals::take(libc::SIGINT);
            if !idle {
                return Err(PgError::error(
                    sqlstate::QUERY_CANCELED,
                    "canceling statement due to user request",
                ));
            }
        }
        if !idle && self.statement_deadline.is_some_and(|d| Instant::now() >= d) {
            self.statement_deadline = None;
            return Err(PgError::error(
                sqlstate::QUERY_CANCELED,
                "canceling statement due to statement timeout",
            ));
        }
        Ok(())
    }

    /// Starts `statement_timeout`'s clock for the statement about to run
    /// (each statement of a multi-statement Query separately, as
    /// PostgreSQL 13 and later).
    fn arm_statement_timeout(&mut self) {
        let ms = self
            .settings
            .settings()
            .get(tusk_config::keys::STATEMENT_TIMEOUT);
        self.statement_deadline =
            (ms > 0).then(|| Instant::now() + Duration::from_millis(ms as u64));
        regex_interrupts::arm(self.statement_deadline);
        // client_min_messages, read here as each statement starts.
        let min = tusk_common::elog::parse_level(
            self.settings
                .settings()
                .get(tusk_config::keys::CLIENT_MIN_MESSAGES),
        )
        .unwrap_or(tusk_common::Severity::Notice);
        self.conn.set_min_notice(min);
    }

    /// SIGHUP: re-read postgresql.conf and apply the reloadable settings
    /// the session has not set itself. A broken file changes nothing (the
    /// postmaster logs why).
    fn reload_config(&mut self) {
        if let Ok(new) = tusk_config::load(&self.data_dir, &self.overrides) {
            let changed = self.settings.reload(&new);
            crate::configure_log(self.settings.settings());
            if let Some(e) = &mut self.engine {
                e.xlog
                    .set_config(tusk_storage::xlog::XlogConfig::from_settings(
                        self.settings.settings(),
                    ));
            }
            self.send_changed(changed);
            let _ = self.conn.flush();
        }
    }

    fn main_loop(&mut self) -> ! {
        if RELOAD_AFTER_STARTUP.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.reload_config();
        }
        self.ready_for_query();
        loop {
            if self.conn.flush().is_err() {
                self.exit(0);
            }
            // Notifications may interrupt the wait only outside a
            // transaction, as PostgreSQL's ProcessClientReadInterrupt.
            notify::set_idle_outside_block(!self.xact.in_transaction());
            let read = self.conn.read_message();
            notify::set_idle_outside_block(false);
            let msg = match read {
                Ok(m) => m,
                Err(WireError::Eof) => self.exit(0),
                Err(WireError::Io(e)) if e.kind() == io::ErrorKind::Interrupted => {
                    let _ = self.process_interrupts(true);
                    self.deliver_notifications();
                    continue;
                }
                Err(WireError::Io(_)) => self.exit(0),
                Err(WireError::Lost(m)) => {
                    // The message boundaries are gone: PostgreSQL logs it
                    // and closes without sending anything.
                    elog::log(m);
                    self.exit(0);
                }
                Err(e) => {
                    let pe = e.to_pg_error().unwrap_or_else(|| {
                        PgError::fatal(sqlstate::PROTOCOL_VIOLATION, "invalid frontend message")
                    });
                    if pe.severity == Severity::Fatal {
                        self.fatal(pe);
                    }
                    self.undecodable_message(pe);
                    continue;
                }
            };
            if self.skip_till_sync
                && !matches!(msg, FrontendMessage::Sync | FrontendMessage::Terminate)
            {
                continue;
            }
            match msg {
                FrontendMessage::Query(sql) => {
                    self.simple_query(&sql);
                    self.ready_for_query();
                }
                FrontendMessage::Parse {
                    name,
                    query,
                    param_types,
                } => self.guard(true, |s| s.parse(name, query, param_types)),
                FrontendMessage::Bind {
                    portal,
                    statement,
                    param_formats,
                    params,
                    result_formats,
                } => self.guard(true, |s| {
                    s.bind(portal, statement, param_formats, params, result_formats)
                }),
                FrontendMessage::Describe { kind, name } => {
                    self.guard(true, |s| s.describe(kind, name))
                }
                FrontendMessage::Execute { portal, max_rows } => {
                    self.guard(true, |s| s.execute(portal, max_rows))
                }
                FrontendMessage::Close { kind, name } => {
                    match kind {
                        Target::Statement => {
                            self.statements.remove(&name);
                        }
                        Target::Portal => {
                            self.portals.remove(&name);
                        }
                    }
                    self.conn.close_complete();
                }
                FrontendMessage::Sync => {
                    self.skip_till_sync = false;
                    // Sync ends the implicit transaction of the messages
                    // since the last one, as in PostgreSQL.
                    self.finish_xact_command();
                    if !self.xact.in_transaction() {
                        self.portals.clear();
                    }
                    self.ready_for_query();
                }
                FrontendMessage::Flush => {
                    if self.conn.flush().is_err() {
                        self.exit(0);
                    }
                }
                FrontendMessage::Terminate => {
                    if self.settings.settings().bool("log_disconnections") {
                        elog::log(format!(
                            "disconnection: user={} database={}",
                            self.id.user, self.id.database
                        ));
                    }
                    self.exit(0)
                }
                FrontendMessage::CopyData(_)
                | FrontendMessage::CopyDone
                | FrontendMessage::CopyFail(_) => {
                    // Outside COPY these are ignored, as in PostgreSQL.
                }
                FrontendMessage::FunctionCall(body) => {
                    // Not an extended-query message: PostgreSQL answers it
                    // on its own, ending with ReadyForQuery.
                    let e = self.function_call(&body);
                    self.report_error(e, false);
                    self.ready_for_query();
                }
                FrontendMessage::Password(_) => {
                    self.fatal(PgError::fatal(
                        sqlstate::PROTOCOL_VIOLATION,
                        "unexpected password message outside authentication",
                    ));
                }
                #[allow(unreachable_patterns)]
                _ => {
                    self.fatal(PgError::fatal(
                        sqlstate::PROTOCOL_VIOLATION,
                        "unexpected message type",
                    ));
                }
            }
        }
    }

    /// A message whose body could not be decoded (ERROR 08P01 or 22021),
    /// handled as PostgreSQL does: a message skipped while waiting for
    /// Sync is never decoded there, so it raises nothing; a Sync ends the
    /// skipping first; an extended-query message starts skipping; a simple
    /// Query or Sync (or anything else that is answered on its own) gets
    /// its ReadyForQuery. The session and its transaction (now failed, if
    /// one was open) go on.
    fn undecodable_message(&mut self, e: PgError) {
        let ty = self.conn.last_message_type();
        if ty == b'S' {
            self.skip_till_sync = false;
        }
        // Sent outside COPY, COPY messages are ignored unread.
        if self.skip_till_sync || matches!(ty, b'd' | b'c' | b'f') {
            return;
        }
        let extended = matches!(ty, b'P' | b'B' | b'D' | b'E' | b'C' | b'H');
        self.report_error(e, extended);
        if !extended {
            if ty == b'S' && self.xact.status() == Status::Idle {
                self.portals.clear();
            }
            self.ready_for_query();
        }
    }

    /// A fast-path FunctionCall. tusk has no function catalog with OIDs,
    /// so every call is answered as PostgreSQL answers one of an unknown
    /// OID, after the same checks in the same order: an aborted
    /// transaction first, then the OID itself.
    fn function_call(&mut self, body: &[u8]) -> PgError {
        if self.xact.status() == Status::Failed {
            return PgError::error(
                sqlstate::IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            );
        }
        match tusk_wire::function_call_oid(body) {
            Ok(oid) => PgError::error(
                sqlstate::UNDEFINED_FUNCTION,
                format!("function with OID {oid} does not exist"),
            ),
            Err(e) => e.to_pg_error().unwrap_or_else(|| {
                PgError::error(
                    sqlstate::PROTOCOL_VIOLATION,
                    "insufficient data left in message",
                )
            }),
        }
    }

    /// Runs one extended-protocol step; an error is reported and the rest
    /// up to Sync is skipped.
    fn guard(&mut self, extended: bool, f: impl FnOnce(&mut Session) -> Result<(), PgError>) {
        if let Err(e) = f(self) {
            self.report_error(e, extended);
        }
    }

    fn report_error(&mut self, e: PgError, extended: bool) {
        if e.severity.ends_session() {
            self.fatal(e);
        }
        elog::report(&e);
        self.conn.error(&e);
        // Sent at once, as PostgreSQL sends every error report: a client
        // that sent Parse + Describe + Flush (asyncpg) waits for the
        // answer and sends no Sync until it has one.
        if self.conn.flush().is_err() {
            self.exit(0);
        }
        self.abort_current_transaction();
        if extended {
            self.skip_till_sync = true;
        }
    }

    fn start_statement(&mut self, sql: &str) {
        self.query_text = sql.to_string();
        self.in_query = true;
        self.stmt_start = now_pg();
        self.start_xact_command();
        self.procs
            .status(self.slot)
            .set_state(BackendState::Active, Some(sql), self.stmt_start);
        // A cancel that arrived while idle must not hit the new statement.
        signals::take(libc::SIGINT);
    }

    fn simple_query(&mut self, sql: &str) {
        self.start_statement(sql);
        let stmts = match tusk_sql::parse_simple(sql, self, self.settings.generation()) {
            Ok(tusk_sql::Simple::Parsed(s)) => s,
            Ok(tusk_sql::Simple::Cached { prepared, params }) => {
                let r = self.run_simple(SimpleStmt::Cached(prepared, params), false, true);
                self.in_query = false;
                if let Err(e) = r {
                    self.report_error(e, false);
                }
                return;
            }
            Err((e, position)) => {
                self.in_query = false;
                return self.report_error(e.with_position(position), false);
            }
        };
        if stmts.is_empty() {
            self.conn.empty_query();
            self.finish_xact_command();
        }
        // Several statements in one Query share one implicit transaction:
        // an error rolls back those before it and skips the rest.
        let implicit = stmts.len() > 1;
        for (i, st) in stmts.iter().enumerate() {
            if let Err(e) = self.run_simple(SimpleStmt::Parsed(st), implicit, i + 1 == stmts.len())
            {
                self.in_query = false;
                return self.report_error(e, false);
            }
        }
        self.in_query = false;
    }

    /// Before a statement or extended-protocol step: opens a transaction
    /// when none is open, with its per-transaction settings state.
    fn start_xact_command(&mut self) {
        if let Some(e) = &self.engine {
            // Read at COMMIT: a SET earlier in the transaction counts.
            e.synchronous
                .set(self.settings.settings().get(keys::SYNCHRONOUS_COMMIT) != "off");
        }
        if self.xact.start_command(self.stmt_start) {
            self.settings.begin_transaction();
            self.procs
                .status(self.slot)
                .set_xact_start(self.xact.start_timestamp());
        }
    }

    /// After a unit of work: commits, or finishes a rollback, as the
    /// transaction block says (see tusk_storage::xact).
    fn finish_xact_command(&mut self) {
        if let Some(e) = &self.engine {
            e.announce_catalog.set(self.catalog_changed);
        }
        self.hold_cursors_before_commit();
        if self.commits_now() {
            // A full notification queue fails the commit (the transaction
            // rolls back), as PostgreSQL's PreCommit_Notify.
            if let Err(e) = self.notify_pre_commit() {
                return self.report_error(e, false);
            }
        }
        let (ended, leaks) = self.xact.commit_command();
        for w in leaks {
            elog::report(&w);
            self.conn.notice(&w);
        }
        self.subtransactions_ended();
        if let Some(how) = ended {
            self.transaction_ended(how);
            self.start_chained();
        }
    }

    /// Whether [`Self::finish_xact_command`] now commits the top-level
    /// transaction.
    fn commits_now(&self) -> bool {
        use tusk_storage::xact::BlockState as B;
        matches!(self.xact.block_state(), B::Started | B::End | B::SubCommit)
    }

    /// [`Self::finish_xact_command`] for a caller that reports errors
    /// itself: a commit that cannot queue its notifications rolls back and
    /// fails the statement (COMMIT then gets no CommandComplete).
    fn commit_xact_command(&mut self) -> Result<(), PgError> {
        if self.commits_now() {
            if let Err(e) = self.notify_pre_commit() {
                self.abort_current_transaction();
                return Err(e);
            }
        }
        self.finish_xact_command();
        Ok(())
    }

    /// A statement failed: the transaction rolls back now, or an explicit
    /// block becomes failed and waits for ROLLBACK.
    fn abort_current_transaction(&mut self) {
        // A COMMIT AND CHAIN that failed chains nothing.
        self.xact_local.chain = None;
        let ended = self.xact.abort_current();
        self.subtransactions_ended();
        if let Some(how) = ended {
            self.transaction_ended(how);
        }
    }

    /// SET's values nest with savepoints: a level's changes join its
    /// parent at RELEASE and are undone at ROLLBACK TO (before the
    /// transaction's own end, if that came in the same step).
    fn subtransactions_ended(&mut self) {
        let events = self.xact.take_sub_events();
        // The depth before the events, replayed to know each one's level
        // (signed: a transaction ended by a procedure's COMMIT leaves
        // depth 0 after events that began deeper).
        let mut depth = self.xact.subtransaction_depth() as isize;
        for ev in &events {
            match ev {
                SubEvent::Started => depth -= 1,
                SubEvent::Committed | SubEvent::Aborted => depth += 1,
            }
        }
        for ev in events {
            match ev {
                SubEvent::Started => depth += 1,
                SubEvent::Committed | SubEvent::Aborted => {
                    depth -= 1;
                    self.notify_subtransaction_ended(
                        depth.max(0) as usize,
                        ev == SubEvent::Aborted,
                    );
                }
            }
            match ev {
                SubEvent::Started => self.cursors.subtransaction_started(),
                SubEvent::Committed => self.cursors.subtransaction_ended(true),
                SubEvent::Aborted => self.cursors.subtransaction_ended(false),
            }
            let changed = match ev {
                SubEvent::Started => {
                    self.settings.begin_subtransaction();
                    Vec::new()
                }
                SubEvent::Committed => self.settings.commit_subtransaction(),
                SubEvent::Aborted => self.settings.abort_subtransaction(),
            };
            self.send_changed(changed);
        }
    }

    /// What the session keeps per transaction ends with it: SET's values
    /// are kept or undone, portals are dropped.
    fn transaction_ended(&mut self, how: Ended) {
        let changed = match how {
            Ended::Committed => self.settings.commit_transaction(),
            Ended::Aborted => self.settings.abort_transaction(),
        };
        self.tables_transaction_ended(how == Ended::Committed);
        self.notify_transaction_ended(how == Ended::Committed);
        self.xact_local_ended();
        self.txn_generation += 1;
        self.procs.status(self.slot).set_xact_start(0);
        // Portals do not outlive their transaction; held cursors do.
        self.portals.clear();
        self.cursors.transaction_ended(how == Ended::Committed);
        self.send_changed(changed);
    }

    fn check_failed_txn(&self, p: &tusk_sql::Prepared) -> Result<(), PgError> {
        if self.xact.is_aborted_block()
            && !matches!(
                p.command(),
                Command::Commit | Command::Rollback | Command::RollbackTo
            )
        {
            return Err(PgError::error(
                sqlstate::IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            ));
        }
        Ok(())
    }

    /// One statement of a Query string; `implicit` when the string holds
    /// several, `last` for its last one.
    fn run_simple(
        &mut self,
        st: SimpleStmt<'_>,
        implicit: bool,
        last: bool,
    ) -> Result<(), PgError> {
        self.start_xact_command();
        self.arm_statement_timeout();
        self.refresh_user_types_for_bind();
        let (p, params) = match st {
            SimpleStmt::Parsed(st) => {
                let p = tusk_sql::prepare(st, &[], self)?;
                tusk_sql::remember_plan(st, &p, self, self.settings.generation());
                (Rc::new(p), Vec::new())
            }
            SimpleStmt::Cached(p, params) => (p, params),
        };
        self.check_failed_txn(&p)?;
        if implicit {
            self.xact.begin_implicit_block();
        }
        // A SELECT's RowDescription goes out before it runs, as
        // PostgreSQL's executor start sends it: a client whose statement
        // is cancelled or whose session is ended mid-run has seen the
        // columns, and an error raised while running follows them.
        // (PostgreSQL folds constant expressions while planning, so its
        // errors there, `SELECT 1/0`, come without RowDescription; tusk
        // does not fold.) A utility statement (SHOW) describes its result
        // only once it has one, as PostgreSQL's do.
        let tag = if let Some(dir) = p.copy_direction() {
            self.run_copy(&p, dir, Vec::new())?
        } else {
            let early = p.command() == Command::Select;
            // A query with no columns (`SELECT FROM t`) still describes
            // its (empty) rows, as PostgreSQL does.
            if early {
                self.conn.row_description(&field_descs(p.columns(), &[]));
            }
            crate::pstitle::set_activity(p.command().tag());
            let rels = self.relations_for(&p);
            let mut ex = tusk_sql::start(&p, params, self, &rels)?;
            if !p.columns().is_empty() && !early {
                self.conn.row_description(&field_descs(p.columns(), &[]));
            }
            // Each row goes out as the executor produces it.
            let acl_cols = acl_columns(p.columns());
            while let Some(mut row) = ex.next(self)? {
                self.show_acls(&acl_cols, &mut row);
                send_row(&mut self.conn, &row, &[])?;
                self.process_interrupts(false)?;
            }
            ex.tag()
        };
        // As PostgreSQL's exec_simple_query: the last statement ends the
        // transaction (unless a block is open); BEGIN, COMMIT and ROLLBACK
        // take effect at once; other statements only advance the command
        // counter.
        if last {
            if implicit {
                self.xact.end_implicit_block();
            }
            self.commit_xact_command()?;
        } else if is_transaction_command(&p) {
            self.commit_xact_command()?;
        } else {
            self.xact.command_counter_increment();
        }
        self.conn.command_complete(&tag);
        Ok(())
    }

    fn parse(&mut self, name: String, query: String, param_types: Vec<u32>) -> Result<(), PgError> {
        self.start_statement(&query);
        self.in_query = false;
        let stmts = tusk_sql::parse_with_position(&query).map_err(|(e, p)| e.with_position(p))?;
        if stmts.len() > 1 {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement",
            ));
        }
        if !name.is_empty() && self.statements.contains_key(&name) {
            return Err(PgError::error(
                sqlstate::DUPLICATE_PREPARED_STATEMENT,
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        let entry = match stmts.first() {
            Some(st) => {
                self.refresh_user_types_for_bind();
                let p = tusk_sql::prepare(st, &param_types, self)?;
                self.check_failed_txn(&p)?;
                StmtEntry {
                    param_types: p.param_types().to_vec(),
                    prepared: Some(Rc::new(p)),
                    sql: query.clone(),
                    prepare_time: self.stmt_start,
                    from_sql: false,
                }
            }
            None => StmtEntry {
                prepared: None,
                param_types: param_types.clone(),
                sql: query.clone(),
                prepare_time: self.stmt_start,
                from_sql: false,
            },
        };
        self.statements.insert(name, Rc::new(entry));
        self.conn.parse_complete();
        Ok(())
    }

    fn bind(
        &mut self,
        portal: String,
        statement: String,
        param_formats: Vec<i16>,
        params: Vec<Option<Vec<u8>>>,
        result_formats: Vec<i16>,
    ) -> Result<(), PgError> {
        self.stmt_start = now_pg();
        self.start_xact_command();
        let Some(stmt) = self.statements.get(&statement).cloned() else {
            let m = if statement.is_empty() {
                "unnamed prepared statement does not exist".to_string()
            } else {
                format!("prepared statement \"{statement}\" does not exist")
            };
            return Err(PgError::error(sqlstate::INVALID_SQL_STATEMENT_NAME, m));
        };
        if params.len() != stmt.param_types.len() {
            return Err(PgError::error(
                sqlstate::PROTOCOL_VIOLATION,
                format!("bind message supplies {} parameters, but prepared statement \"{statement}\" requires {}", params.len(), stmt.param_types.len()),
            ));
        }
        if !(param_formats.len() <= 1 || param_formats.len() == params.len()) {
            return Err(PgError::error(
                sqlstate::PROTOCOL_VIOLATION,
                format!(
                    "bind message has {} parameter formats but {} parameters",
                    param_formats.len(),
                    params.len()
                ),
            ));
        }
        if let Some(p) = &stmt.prepared {
            self.check_failed_txn(p)?;
            let ncols = p.columns().len();
            if !(result_formats.len() <= 1 || result_formats.len() == ncols) {
                return Err(PgError::error(
                    sqlstate::PROTOCOL_VIOLATION,
                    format!(
                        "bind message has {} result formats but query has {ncols} columns",
                        result_formats.len()
                    ),
                ));
            }
        }
        let mut values = Vec::with_capacity(params.len());
        for (i, raw) in params.iter().enumerate() {
            let fmt = match param_formats.len() {
                0 => 0,
                1 => param_formats[0],
                _ => param_formats[i],
            };
            if fmt != 0 && fmt != 1 {
                return Err(PgError::error(
                    sqlstate::PROTOCOL_VIOLATION,
                    format!("unsupported format code: {fmt}"),
                ));
            }
            values.push(match raw {
                None => Value::Null,
                Some(b) => tusk_sql::decode_bind_param(i + 1, stmt.param_types[i], fmt, b)
                    .map_err(|e| {
                        let mut e = e;
                        // PostgreSQL's own protocol and binary-format
                        // messages name the parameter already, or are
                        // about the message rather than the value.
                        let plain = matches!(
                            e.code,
                            sqlstate::PROTOCOL_VIOLATION | sqlstate::INVALID_BINARY_REPRESENTATION
                        );
                        if e.detail.is_none() && !plain {
                            e.detail = Some(format!("while binding parameter ${}", i + 1));
                        }
                        e
                    })?,
            });
        }
        if !portal.is_empty() && self.portals.contains_key(&portal) {
            return Err(PgError::error(
                sqlstate::DUPLICATE_CURSOR,
                format!("cursor \"{portal}\" already exists"),
            ));
        }
        self.portals.insert(
            portal,
            Portal {
                stmt,
                params: values,
                result_formats,
                state: PortalState::NotRun,
            },
        );
        self.conn.bind_complete();
        Ok(())
    }

    fn describe(&mut self, kind: Target, name: String) -> Result<(), PgError> {
        match kind {
            Target::Statement => {
                let Some(stmt) = self.statements.get(&name).cloned() else {
                    let m = if name.is_empty() {
                        "unnamed prepared statement does not exist".to_string()
                    } else {
                        format!("prepared statement \"{name}\" does not exist")
                    };
                    return Err(PgError::error(sqlstate::INVALID_SQL_STATEMENT_NAME, m));
                };
                self.conn.parameter_description(&stmt.param_types);
                match &stmt.prepared {
                    Some(p) if !p.columns().is_empty() || p.command() == Command::Select => {
                        let f = field_descs(p.columns(), &[]);
                        self.conn.row_description(&f);
                    }
                    _ => self.conn.no_data(),
                }
            }
            Target::Portal => {
                let Some(portal) = self.portals.get(&name) else {
                    return Err(PgError::error(
                        sqlstate::INVALID_CURSOR_NAME,
                        format!("portal \"{name}\" does not exist"),
                    ));
                };
                match &portal.stmt.prepared {
                    Some(p) if !p.columns().is_empty() || p.command() == Command::Select => {
                        let f = field_descs(p.columns(), &portal.result_formats);
                        self.conn.row_description(&f);
                    }
                    _ => self.conn.no_data(),
                }
            }
        }
        Ok(())
    }

    fn execute(&mut self, name: String, max_rows: i32) -> Result<(), PgError> {
        let Some(mut portal) = self.portals.remove(&name) else {
            return Err(PgError::error(
                sqlstate::INVALID_CURSOR_NAME,
                format!("portal \"{name}\" does not exist"),
            ));
        };
        let generation = self.txn_generation;
        let res = self.execute_portal(&mut portal, max_rows);
        // A portal lives until Close or the end of its transaction; if this
        // very Execute ended the transaction (COMMIT, ROLLBACK), it is gone.
        if self.txn_generation == generation {
            self.portals.insert(name, portal);
        }
        res
    }

    fn execute_portal(&mut self, portal: &mut Portal, max_rows: i32) -> Result<(), PgError> {
        let Some(p) = portal.stmt.prepared.as_ref() else {
            self.conn.empty_query();
            return Ok(());
        };
        self.query_text.clone_from(&portal.stmt.sql);
        self.stmt_start = now_pg();
        self.start_xact_command();
        // Also a suspended portal: nothing runs in a failed transaction.
        self.check_failed_txn(p)?;
        if let (PortalState::NotRun, Some(dir)) = (&portal.state, p.copy_direction()) {
            // COPY runs whole in one Execute (its data is the COPY
            // sub-protocol's, not rows a max_rows could cut).
            self.arm_statement_timeout();
            signals::take(libc::SIGINT);
            self.procs
                .status(self.slot)
                .set_state(BackendState::Active, None, now_pg());
            self.in_query = true;
            let r = self.run_copy(p, dir, portal.params.clone());
            self.in_query = false;
            let tag = r?;
            portal.state = PortalState::Done;
            self.xact.command_counter_increment();
            self.conn.command_complete(&tag);
            return Ok(());
        }
        if let PortalState::NotRun = portal.state {
            self.arm_statement_timeout();
            signals::take(libc::SIGINT);
            self.procs
                .status(self.slot)
                .set_state(BackendState::Active, None, now_pg());
            crate::pstitle::set_activity(p.command().tag());
            let rels = self.relations_for(p);
            self.in_query = true;
            let ex = tusk_sql::start(p, portal.params.clone(), self, &rels);
            self.in_query = false;
            portal.state = PortalState::Running(ex?);
        } else if self.statement_deadline.is_none() {
            // A suspended portal resumed after Sync runs again: its fetch
            // is under statement_timeout, as PostgreSQL's
            // start_xact_command arms it when it is not already running.
            self.arm_statement_timeout();
        }
        let formats = portal.result_formats.clone();
        let acl_cols = acl_columns(p.columns());
        match &mut portal.state {
            PortalState::Running(ex) => {
                // max_rows 0 means all; otherwise stop after that many and
                // suspend without looking further, as PostgreSQL does: a
                // portal whose rows end exactly at the limit is suspended,
                // and the next Execute completes with "SELECT 0".
                let limit = if max_rows > 0 {
                    max_rows as u64
                } else {
                    u64::MAX
                };
                let mut sent = 0u64;
                self.in_query = true;
                let res = (|| {
                    while sent < limit {
                        let Some(mut row) = ex.next(self)? else { break };
                        self.show_acls(&acl_cols, &mut row);
                        send_row(&mut self.conn, &row, &formats)?;
                        sent += 1;
                        // Between rows, as PostgreSQL's executor checks before
                        // fetching the next one: a cancel or terminate request
                        // raised by the statement itself (pg_cancel_backend of
                        // its own backend) lands after the row it produced.
                        self.process_interrupts(false)?;
                    }
                    Ok::<(), PgError>(())
                })();
                self.in_query = false;
                res?;
                if !ex.is_finished() {
                    self.conn.portal_suspended();
                } else {
                    let t = if ex.counts_rows() {
                        format!("SELECT {sent}")
                    } else {
                        ex.tag()
                    };
                    portal.state = PortalState::Done;
                    // A completed BEGIN/COMMIT/ROLLBACK takes effect now;
                    // anything else stays in the transaction until Sync.
                    if is_transaction_command(p) {
                        self.commit_xact_command()?;
                    } else {
                        self.xact.command_counter_increment();
                    }
                    self.conn.command_complete(&t);
                }
            }
            PortalState::Done => {
                // PostgreSQL answers a finished portal with an empty completion.
                self.conn.command_complete("SELECT 0");
            }
            PortalState::NotRun => {}
        }
        Ok(())
    }

    /// A COPY's data over the COPY sub-protocol; returns its tag "COPY n".
    ///
    /// FROM STDIN: CopyInResponse, then CopyData messages until CopyDone
    /// (CopyFail is the client's abort: 57014). Flush and Sync are ignored
    /// meanwhile, as PostgreSQL does for clients (libpq, rust-postgres)
    /// that send them right after the COPY statement. After an error the
    /// main loop ignores the rest of the client's COPY messages.
    /// TO STDOUT: CopyOutResponse, one CopyData per row, CopyDone.
    fn run_copy(
        &mut self,
        p: &tusk_sql::Prepared,
        dir: tusk_sql::CopyDirection,
        params: Vec<Value>,
    ) -> Result<String, PgError> {
        crate::pstitle::set_activity("COPY");
        if let Some(ep) = p.copy_endpoint() {
            if *ep != tusk_sql::CopyEndpoint::Client {
                return self.run_copy_server(p, dir, ep.clone(), params);
            }
        }
        let send_failed = |e: io::Error| {
            PgError::fatal(
                sqlstate::CONNECTION_FAILURE,
                format!("could not send data to client: {e}"),
            )
        };
        match dir {
            tusk_sql::CopyDirection::In { columns } => {
                let Some(mut cin) = p.copy_in() else {
                    return Err(PgError::error(
                        sqlstate::INTERNAL_ERROR,
                        "COPY FROM without its plan",
                    ));
                };
                self.conn.copy_in_response(0, &vec![0; columns]);
                self.conn.flush().map_err(send_failed)?;
                loop {
                    let msg = match self.conn.read_message() {
                        Ok(m) => m,
                        Err(WireError::Io(e)) if e.kind() == io::ErrorKind::Interrupted => {
                            self.process_interrupts(false)?;
                            continue;
                        }
                        Err(WireError::Eof) | Err(WireError::Io(_)) => {
                            self.fatal(PgError::fatal(
                                sqlstate::PROTOCOL_VIOLATION,
                                "unexpected EOF on client connection with an open transaction",
                            ));
                        }
                        Err(WireError::Lost(m)) => {
                            elog::log(m);
                            self.exit(0);
                        }
                        Err(e) => {
                            return Err(e.to_pg_error().unwrap_or_else(|| {
                                PgError::fatal(
                                    sqlstate::PROTOCOL_VIOLATION,
                                    "invalid frontend message",
                                )
                            }))
                        }
                    };
                    match msg {
                        FrontendMessage::CopyData(d) => {
                            cin.feed(&d, self)?;
                            self.process_interrupts(false)?;
                        }
                        FrontendMessage::CopyDone => return cin.finish(self),
                        FrontendMessage::CopyFail(m) => {
                            return Err(PgError::error(
                                sqlstate::QUERY_CANCELED,
                                format!("COPY from stdin failed: {m}"),
                            ))
                        }
                        FrontendMessage::Flush | FrontendMessage::Sync => {}
                        other => {
                            return Err(PgError::error(
                                sqlstate::PROTOCOL_VIOLATION,
                                format!(
                                    "unexpected message type 0x{:02X} during COPY from stdin",
                                    other.type_byte()
                                ),
                            ))
                        }
                    }
                }
            }
            tusk_sql::CopyDirection::Out { columns } => {
                let rels = self.relations_for(p);
                let mut ex = tusk_sql::start(p, params, self, &rels)?;
                self.conn.copy_out_response(0, &vec![0; columns]);
                if let Some(h) = p.copy_out_header() {
                    self.conn.copy_data(&h);
                }
                let mut n: u64 = 0;
                while let Some(row) = ex.next(self)? {
                    self.conn.copy_data(&p.copy_out_row(&row));
                    n += 1;
                    if self.conn.should_flush() {
                        self.conn.flush().map_err(send_failed)?;
                    }
                    self.process_interrupts(false)?;
                }
                self.conn.copy_done();
                Ok(format!("COPY {n}"))
            }
        }
    }

    /// Sends ParameterStatus for changed reported settings, and hands the
    /// date/time ones to the types crate's session state first.
    /// extra_float_digits lives in the types crate, where the float and
    /// geometric output functions read it (it is not a reported setting,
    /// so every change path calls this).
    fn apply_float_digits(&self) {
        if let Ok(v) = self.settings.show("extra_float_digits") {
            tusk_sql::value::set_extra_float_digits(&v);
        }
    }

    fn send_changed(&mut self, names: Vec<&'static str>) {
        self.apply_float_digits();
        for n in names {
            if let Ok(v) = self.settings.show(n) {
                if n.eq_ignore_ascii_case("application_name") {
                    self.procs.status(self.slot).set_application_name(&v);
                    elog::set_application(&v);
                }
                apply_datetime_setting(n, &v);
                self.conn.parameter_status(n, &v);
            }
        }
    }

    /// Sleeps until `deadline`, servicing interrupts: a signal sets the
    /// latch, which ends the wait, and the loop looks at the flags.
    fn sleep_until(&mut self, deadline: Instant) -> Result<(), PgError> {
        let procs = self.procs;
        let latch = &procs.proc(self.slot).waits().latch;
        loop {
            latch.reset();
            self.check_interrupts()?;
            if Instant::now() >= deadline {
                return Ok(());
            }
            self.wait_latch(Some(deadline), WaitEvent::PgSleep);
        }
    }

    /// One latch wait, until the latch is set, `until` passes, the
    /// statement_timeout deadline passes or the postmaster dies (recorded
    /// in PM_DEAD for `process_interrupts`). Shows `event` in
    /// pg_stat_activity meanwhile. The caller resets the latch and checks
    /// its condition before calling, and again after.
    fn wait_latch(&mut self, until: Option<Instant>, event: WaitEvent) {
        let until = match (until, self.statement_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let timeout = until.map(|d| d.saturating_duration_since(Instant::now()));
        let latch = &self.procs.proc(self.slot).waits().latch;
        let slot = self.procs.status(self.slot);
        slot.set_wait_event(event);
        let woken = tusk_storage::latch::wait(
            &tusk_storage::latch::WaitFor {
                latch: Some(latch),
                socket: None,
                postmaster_death: true,
            },
            timeout,
        );
        slot.set_wait_event(WaitEvent::None);
        if woken.postmaster_death {
            PM_DEAD.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn signal_backend(&mut self, pid: i32, sig: i32, what: &str) -> Result<bool, PgError> {
        let target =
            self.procs.snapshot().into_iter().find(|p| {
                p.pid == pid && p.kind == tusk_storage::procarray::ProcKind::ClientBackend
            });
        let Some(t) = target else {
            self.notice(PgError::new(
                Severity::Warning,
                sqlstate::WARNING,
                format!("PID {pid} is not a PostgreSQL backend process"),
            ));
            return Ok(false);
        };
        if t.is_superuser && !self.id.is_superuser {
            return Err(PgError::error(sqlstate::INSUFFICIENT_PRIVILEGE, format!("permission denied to {what}"))
                .with_detail(format!("Only roles with the SUPERUSER attribute may {what} of roles with the SUPERUSER attribute.")));
        }
        if !self.id.is_superuser && t.usename != self.id.user {
            return Err(PgError::error(sqlstate::INSUFFICIENT_PRIVILEGE, format!("permission denied to {what}"))
                .with_detail("Only roles with privileges of the role whose process is being signaled or with privileges of the \"pg_signal_backend\" role may do that."));
        }
        // SAFETY: kill has no memory effects; the target was just checked
        // to be a backend in the proc array.
        if unsafe { libc::kill(pid, sig) } != 0 {
            let e = io::Error::last_os_error();
            self.notice(PgError::new(
                Severity::Warning,
                sqlstate::WARNING,
                format!("could not send signal to process {pid}: {e}"),
            ));
            return Ok(false);
        }
        Ok(true)
    }
}

/// BEGIN, COMMIT, ROLLBACK and the savepoint statements take effect when
/// their statement completes, not at the end of the Query or at Sync (as
/// PostgreSQL runs CommitTransactionCommand after every TransactionStmt).
fn is_transaction_command(p: &tusk_sql::Prepared) -> bool {
    matches!(
        p.command(),
        Command::Begin
            | Command::Commit
            | Command::Rollback
            | Command::Savepoint
            | Command::Release
            | Command::RollbackTo
    )
}

fn now_pg() -> i64 {
    tusk_common::time::now_micros() - tusk_common::time::PG_EPOCH_OFFSET_MICROS
}

fn field_descs(cols: &[tusk_sql::Column], formats: &[i16]) -> Vec<FieldDesc> {
    cols.iter()
        .enumerate()
        .map(|(i, c)| FieldDesc {
            name: c.name.clone(),
            table_oid: 0,
            column: 0,
            type_oid: c.type_oid,
            type_len: c.type_len,
            type_mod: c.type_mod,
            format: match formats.len() {
                0 => 0,
                1 => formats[0],
                _ => formats[i],
            },
        })
        .collect()
}

/// The result columns of type aclitem[] (pg_class.relacl ...).
fn acl_columns(cols: &[tusk_sql::Column]) -> Vec<usize> {
    cols.iter()
        .enumerate()
        .filter(|(_, c)| c.type_oid == tusk_storage::datum::ACLITEM_ARRAY)
        .map(|(i, _)| i)
        .collect()
}

impl Session {
    /// aclitem[] values leave in PostgreSQL's output form, role names for
    /// the OIDs of the stored form (crates/sql/src/acl.rs), as aclitemout
    /// prints them.
    fn show_acls(&self, cols: &[usize], row: &mut [Value]) {
        if cols.is_empty() {
            return;
        }
        let Ok(roles) = self.role_set() else {
            return;
        };
        for &i in cols {
            if let Some(Value::Text(t)) = row.get_mut(i) {
                *t = tusk_sql::acl::display(t, &roles);
            }
        }
    }
}

fn send_row(conn: &mut Conn<Client>, row: &[Value], formats: &[i16]) -> Result<(), PgError> {
    let mut cells: Vec<Option<Vec<u8>>> = Vec::with_capacity(row.len());
    for (i, v) in row.iter().enumerate() {
        let f = match formats.len() {
            0 => 0,
            1 => formats[0],
            _ => formats.get(i).copied().unwrap_or(0),
        };
        cells.push(if f == 1 {
            tusk_sql::encode_binary(v)
        } else {
            tusk_sql::encode_text(v)
        });
    }
    let refs: Vec<Option<&[u8]>> = cells.iter().map(|c| c.as_deref()).collect();
    conn.data_row(&refs);
    if conn.should_flush() {
        conn.flush().map_err(|e| {
            PgError::fatal(
                sqlstate::CONNECTION_FAILURE,
                format!("could not send data to client: {e}"),
            )
        })?;
    }
    Ok(())
}

/// The views the server computes, opened for the sql executor: today
/// pg_stat_activity over one snapshot of the proc array. Used only by the
/// backend running the statement; it holds a copy of the array's view, not
/// the session, so an execution can be started while the session is
/// borrowed as the Host.
/// A statement of a simple Query message: parsed, to bind, or found in the session's
/// plan cache with its parameter values (tusk_sql::parse_simple).
enum SimpleStmt<'a> {
    Parsed(&'a tusk_sql::Statement),
    Cached(Rc<tusk_sql::Prepared>, Vec<Value>),
}

struct ServerRelations {
    /// For the role views (rolecmd.rs): where the role store is, and
    /// whether the current role may see pg_authid.
    data_dir: PathBuf,
    superuser: bool,
    procs: ProcArray,
    shared: ChildShared,
    /// This backend's proc number (pg_locks takes the lock table's
    /// partition locks).
    slot: u32,
    /// The statement's snapshot and storage, for table scans (None: the
    /// statement reads no tables; an error: reported by the first scan).
    tables: Option<Result<tables::TableCtx, PgError>>,
}

impl Session {
    /// The relations a statement `p` of this session reads and writes
    /// (backend only; built per statement, see [`ServerRelations`]).
    fn relations_for(&self, p: &tusk_sql::Prepared) -> ServerRelations {
        self.relations_with(self.table_ctx(p))
    }

    fn relations_with(&self, tables: Option<Result<tables::TableCtx, PgError>>) -> ServerRelations {
        ServerRelations {
            data_dir: self.data_dir.clone(),
            superuser: self.id.is_superuser,
            procs: self.procs,
            shared: self.shared.clone(),
            slot: self.slot as u32,
            tables,
        }
    }
}

impl ServerRelations {
    fn activity(&self) -> Vec<tusk_sql::ActivityRow> {
        self.procs
            .snapshot()
            .into_iter()
            .map(|p| {
                let wait = p.wait_event.names();
                let backend = p.kind == tusk_storage::procarray::ProcKind::ClientBackend;
                tusk_sql::ActivityRow {
                    pid: p.pid,
                    datname: if backend {
                        Some(p.datname.clone())
                    } else {
                        None
                    },
                    usename: if backend {
                        Some(p.usename.clone())
                    } else {
                        None
                    },
                    application_name: p.application_name.clone(),
                    client_addr: p.client_addr,
                    client_port: if backend {
                        Some(p.client_port.unwrap_or(-1))
                    } else {
                        None
                    },
                    backend_start: p.backend_start,
                    xact_start: p.xact_start,
                    query_start: p.query_start,
                    state: if backend {
                        p.state.as_str().map(str::to_string)
                    } else {
                        None
                    },
                    query: p.query.clone(),
                    wait_event_type: wait.map(|w| w.0.to_string()),
                    wait_event: wait.map(|w| w.1.to_string()),
                    backend_type: p.kind.backend_type().to_string(),
                }
            })
            .collect()
    }
}

impl ServerRelations {
    /// pg_stat_bgwriter's row from the shared counters (checkpointer,
    /// background writer) and the pool's allocation counters. Times in
    /// milliseconds, as PostgreSQL's. Counters since the server started;
    /// stats_reset is NULL (never reset).
    fn bgwriter_row(&self) -> Vec<tusk_sql::Value> {
        use std::sync::atomic::Ordering::Relaxed;
        use tusk_sql::Value;
        let b = &self.shared.control().bgwriter;
        let n = |a: &std::sync::atomic::AtomicU64| Value::Int8(a.load(Relaxed) as i64);
        let ms = |a: &std::sync::atomic::AtomicU64| Value::Float8(a.load(Relaxed) as f64 / 1000.0);
        let (allocs, backend) = self.shared.buffer_counters();
        vec![
            n(&b.checkpoints_timed),
            n(&b.checkpoints_req),
            ms(&b.checkpoint_write_time_us),
            ms(&b.checkpoint_sync_time_us),
            n(&b.buffers_checkpoint),
            n(&b.buffers_clean),
            n(&b.maxwritten_clean),
            Value::Int8(backend as i64),
            // Backends never fsync themselves: the queue is as large as
            // the pool, so a request is never refused.
            Value::Int8(0),
            Value::Int8(allocs as i64),
            Value::Null,
        ]
    }
}

impl tusk_sql::Relations for ServerRelations {
    fn index_choice(
        &self,
        rel: &tusk_sql::catalog::Relation,
        quals: &[tusk_sql::index::ScanQual],
        order: Option<(usize, bool)>,
    ) -> Option<tusk_sql::index::IndexChoice> {
        let tusk_sql::catalog::RelationSource::Table(t) = rel.source else {
            return None;
        };
        tables::index_choice(rel, t, quals, order)
    }
    fn buffer_usage(&self) -> Option<fn() -> (u64, u64)> {
        Some(tusk_storage::bufmgr::backend_usage)
    }
    fn heap_blocks(&self, rel: &tusk_sql::catalog::Relation) -> Option<u32> {
        let (tusk_sql::catalog::RelationSource::Table(t), Some(Ok(c))) = (rel.source, &self.tables)
        else {
            return None;
        };
        tables::heap_blocks(c, t)
    }
    fn open_index_scan(
        &self,
        rel: &tusk_sql::catalog::Relation,
        quals: &[tusk_sql::index::ScanQual],
    ) -> Result<Option<Box<dyn tusk_sql::RowSource>>, PgError> {
        let (tusk_sql::catalog::RelationSource::Table(t), Some(Ok(c))) = (rel.source, &self.tables)
        else {
            return Ok(None);
        };
        Ok(tables::open_index_scan(c, rel, t, quals)?
            .map(|s| Box::new(s) as Box<dyn tusk_sql::RowSource>))
    }
    fn open_ordered_scan(
        &self,
        rel: &tusk_sql::catalog::Relation,
        quals: &[tusk_sql::index::ScanQual],
        col: usize,
        desc: bool,
    ) -> Result<Option<Box<dyn tusk_sql::RowSource>>, PgError> {
        let (tusk_sql::catalog::RelationSource::Table(t), Some(Ok(c))) = (rel.source, &self.tables)
        else {
            return Ok(None);
        };
        Ok(tables::open_ordered_scan(c, rel, t, quals, col, desc)?
            .map(|s| Box::new(s) as Box<dyn tusk_sql::RowSource>))
    }

    fn open_scan(
        &self,
        rel: &tusk_sql::catalog::Relation,
    ) -> Result<Box<dyn tusk_sql::RowSource>, PgError> {
        use tusk_sql::catalog::{ActivityScan, RelationSource, SystemView};
        match rel.source {
            RelationSource::View(_) => Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!("view \"{}\" was not expanded", rel.name),
            )),
            RelationSource::SystemView(SystemView::StatActivity) => {
                Ok(Box::new(ActivityScan::new(self.activity())))
            }
            RelationSource::SystemView(SystemView::Locks) => {
                let rows = self
                    .shared
                    .lockmgr()
                    .map(|m| m.lock_status(&self.shared, self.slot))
                    .unwrap_or_default();
                Ok(Box::new(tusk_sql::catalog::RowsScan::new(
                    rows.into_iter()
                        .map(|r| {
                            use tusk_storage::lmgr::LockTarget as T;
                            let (classid, objid, objsubid) = match r.target {
                                Some(T::Object {
                                    class, obj, sub, ..
                                }) => (Some(class), Some(obj), Some(sub as i16)),
                                Some(T::Advisory {
                                    key1, key2, kind, ..
                                }) => (Some(key1), Some(key2), Some(kind as i16)),
                                _ => (None, None, None),
                            };
                            tusk_sql::catalog::lock_row(tusk_sql::catalog::LockRow {
                                classid,
                                objid,
                                objsubid,
                                locktype: r.locktype,
                                database: r.database,
                                relation: r.relation,
                                transactionid: r.transactionid.map(|x| x as u32),
                                pid: r.pid,
                                mode: r.mode,
                                granted: r.granted,
                            })
                        })
                        .collect(),
                )))
            }
            RelationSource::SystemView(SystemView::Role(v)) => {
                Ok(Box::new(tusk_sql::catalog::RowsScan::new(
                    rolecmd::view_rows(&self.data_dir, self.superuser, v)?,
                )))
            }
            RelationSource::SystemView(SystemView::StatBgWriter) => {
                Ok(Box::new(tusk_sql::catalog::RowsScan::new(vec![
                    self.bgwriter_row()
                ])))
            }
            RelationSource::SystemView(SystemView::StatSsl) => Ok(Box::new(
                tusk_sql::catalog::RowsScan::new(crate::tls::stat_ssl_rows(&self.procs.snapshot())),
            )),
            // Read through the host (Host::pg_settings) by the executor.
            RelationSource::SystemView(
                SystemView::Settings | SystemView::PreparedStatements | SystemView::Cursors,
            ) => Ok(Box::new(tusk_sql::catalog::RowsScan::new(Vec::new()))),
            RelationSource::SystemView(SystemView::StatUserTables) => {
                Ok(Box::new(tusk_sql::catalog::RowsScan::new(
                    tables::stats::user_tables_rows(self.tables.as_ref(), &self.shared)?,
                )))
            }
            RelationSource::Table(t) => {
                let c = match &self.tables {
                    Some(Ok(c)) => c,
                    Some(Err(e)) => return Err(e.clone()),
                    None => {
                        return Err(PgError::error(
                            sqlstate::INTERNAL_ERROR,
                            "a table scan in a statement that reads no tables",
                        ))
                    }
                };
                Ok(Box::new(tables::TableScan::open(
                    c.store.clone(),
                    c.engine.clone(),
                    c.snap.clone(),
                    c.current.clone(),
                    rel,
                    t,
                )?))
            }
        }
    }
}

impl Host for Session {
    fn show(&self, name: &str) -> Result<String, PgError> {
        self.settings.show(name)
    }
    fn pg_settings(&self) -> Vec<tusk_sql::Row> {
        self.settings
            .pg_settings_rows(self.id.is_superuser)
            .into_iter()
            .map(settings_row)
            .collect()
    }
    fn lookup_table(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<tusk_sql::catalog::Relation>, PgError> {
        self.lookup_table_impl(schema, name)
    }
    fn tables(&mut self) -> Result<&mut dyn tusk_sql::Tables, PgError> {
        Ok(self)
    }
    fn lookup_routines(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Vec<std::rc::Rc<tusk_sql::FuncDef>>, PgError> {
        self.lookup_routines_impl(schema, name)
    }
    fn user_operators(&self) -> Result<std::rc::Rc<tusk_sql::operator::OperCatalog>, PgError> {
        self.user_operators_impl()
    }
    fn routine_by_oid(&self, oid: u32) -> Result<Option<std::rc::Rc<tusk_sql::FuncDef>>, PgError> {
        self.routine_by_oid_impl(oid)
    }
    fn routines(&mut self) -> Result<&mut dyn tusk_sql::Routines, PgError> {
        Ok(self)
    }
    fn triggers(&mut self) -> Result<&mut dyn tusk_sql::trigger::Triggers, PgError> {
        Ok(self)
    }
    fn lookup_triggers(
        &self,
        relid: u32,
    ) -> Result<std::rc::Rc<Vec<tusk_sql::trigger::TriggerDef>>, PgError> {
        self.lookup_triggers_impl(relid)
    }
    fn relation_options(&self, oid: u32) -> Result<Vec<String>, PgError> {
        self.relation_options_impl(oid)
    }
    fn lookup_rules(&self, relid: u32) -> Result<Vec<Vec<Value>>, PgError> {
        self.lookup_rules_impl(relid)
    }
    fn trigger_by_oid(
        &self,
        oid: u32,
    ) -> Result<Option<(tusk_sql::trigger::TriggerDef, tusk_sql::catalog::Relation)>, PgError> {
        self.trigger_with_table_impl(oid)
    }
    fn nested_relations(&self) -> Box<dyn tusk_sql::Relations> {
        Box::new(self.relations_with(self.nested_table_ctx()))
    }
    fn command_counter_increment(&mut self) {
        self.xact.command_counter_increment();
    }
    fn plan_generation(&self) -> Option<u64> {
        self.routine_plan_generation()
    }
    fn end_transaction_in_procedure(&mut self, commit: bool) -> Result<(), PgError> {
        // Inside BEGIN ... COMMIT (or a multi-statement Query) the block
        // owns the transaction: PostgreSQL refuses, so does tusk.
        if self.xact.is_transaction_block() {
            return Err(PgError::error(
                tusk_common::sqlstate::SqlState::new("2D000"),
                "invalid transaction termination",
            ));
        }
        let ended = if commit {
            self.commit_xact_command()
        } else {
            self.abort_current_transaction();
            Ok(())
        };
        // The next transaction starts now (PostgreSQL's xact start inside
        // a procedure is the clock, not the CALL's statement start), also
        // after a commit that failed and rolled back.
        self.stmt_start = now_pg();
        self.start_xact_command();
        ended
    }

    fn show_all(&self) -> Vec<(String, String, String)> {
        self.settings.show_all()
    }

    fn set(&mut self, name: &str, value: Option<&str>, local: bool) -> Result<(), PgError> {
        if local && !self.xact.is_transaction_block() {
            // Its effect ends with its own statement (PostgreSQL's
            // WarnNoTransactionBlock); an implicit block counts as a block.
            self.notice(PgError::new(
                Severity::Warning,
                sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                "SET LOCAL can only be used in transaction blocks",
            ));
        }
        self.check_xact_characteristic(name, value)?;
        let su = self.id.is_superuser;
        let reported = self.settings.set(name, value, local, su)?;
        self.apply_float_digits();
        if reported {
            let def = tusk_config::find(name).map(|d| d.name).unwrap_or("");
            self.send_changed(vec![def]);
        }
        Ok(())
    }

    fn reset(&mut self, name: Option<&str>) -> Result<(), PgError> {
        let su = self.id.is_superuser;
        let changed = self.settings.reset(name, su)?;
        self.send_changed(changed);
        Ok(())
    }

    fn current_setting(&self, name: &str, missing_ok: bool) -> Result<Option<String>, PgError> {
        self.settings.current_setting(name, missing_ok)
    }

    fn set_config(&mut self, name: &str, value: &str, is_local: bool) -> Result<String, PgError> {
        let su = self.id.is_superuser;
        let v = self.settings.set_config(name, value, is_local, su)?;
        self.apply_float_digits();
        if let Some(def) = tusk_config::find(name) {
            if def.report {
                self.send_changed(vec![def.name]);
            }
        }
        Ok(v)
    }

    fn transactions(&mut self) -> &mut dyn tusk_sql::TransactionControl {
        &mut self.xact
    }

    fn maintenance(&mut self) -> Option<&mut dyn tusk_sql::Maintenance> {
        Some(self)
    }

    fn identity(&self) -> &tusk_sql::SessionIdentity {
        &self.id
    }

    fn become_user(&mut self, role: u32) -> Result<(String, bool), PgError> {
        let prev = (self.id.user.clone(), self.id.is_superuser);
        let set = self.role_set()?;
        let r = set.by_oid(role).ok_or_else(|| {
            PgError::error(
                tusk_common::sqlstate::SqlState::new("42704"),
                format!("role with OID {role} does not exist"),
            )
        })?;
        self.id.user = r.name.clone();
        self.id.is_superuser = r.superuser;
        Ok(prev)
    }

    fn restore_user(&mut self, prev: (String, bool)) {
        self.id.user = prev.0;
        self.id.is_superuser = prev.1;
    }

    fn acl_roles(&self) -> Result<tusk_sql::acl::RoleSet, PgError> {
        self.role_set()
    }

    fn role_command(&mut self, cmd: &tusk_sql::role::RoleCommand) -> Result<(), PgError> {
        self.run_role_command(cmd)
    }

    fn sequence_call(&mut self, call: tusk_sql::sequence::SeqCall) -> Result<Value, PgError> {
        self.sequence_call_impl(call)
    }

    /// As PostgreSQL's pg_sleep: NaN, zero and negative durations return
    /// at once, +infinity sleeps until the statement is cancelled or the
    /// session ended.
    fn sleep(&mut self, seconds: f64) -> Result<(), PgError> {
        if seconds.is_nan() || seconds <= 0.0 {
            return self.check_interrupts();
        }
        if seconds == f64::INFINITY {
            loop {
                self.sleep_until(Instant::now() + Duration::from_secs(3600))?;
            }
        }
        let secs = seconds.min(1e9);
        self.sleep_until(Instant::now() + Duration::from_secs_f64(secs))
    }

    fn terminate_backend(&mut self, pid: i32, timeout_ms: i64) -> Result<bool, PgError> {
        if timeout_ms < 0 {
            return Err(PgError::error(
                sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                "\"timeout\" must not be negative",
            ));
        }
        if !self.signal_backend(pid, libc::SIGTERM, "terminate process")? {
            return Ok(false);
        }
        if timeout_ms == 0 {
            return Ok(true);
        }
        let deadline = Instant::now() + Duration::from_millis(timeout_ms as u64);
        while Instant::now() < deadline {
            // SAFETY: signal 0 only checks that the PID exists; no memory
            // effects.
            if unsafe { libc::kill(pid, 0) } != 0 {
                return Ok(true);
            }
            self.sleep_until((Instant::now() + Duration::from_millis(100)).min(deadline))?;
        }
        self.notice(PgError::new(
            Severity::Warning,
            sqlstate::WARNING,
            format!("backend with PID {pid} did not terminate within {timeout_ms} milliseconds"),
        ));
        Ok(false)
    }

    fn cancel_backend(&mut self, pid: i32) -> Result<bool, PgError> {
        self.signal_backend(pid, libc::SIGINT, "cancel query")
    }

    fn check_interrupts(&mut self) -> Result<(), PgError> {
        let idle = !self.in_query;
        self.process_interrupts(idle)
    }

    fn notice(&mut self, n: PgError) {
        self.send_notice(&n);
    }

    fn advisory(
        &mut self,
        f: tusk_sql::AdvisoryFn,
        key: tusk_sql::AdvisoryKey,
    ) -> Result<bool, PgError> {
        self.advisory_call(f, key)
    }

    fn advisory_unlock_all(&mut self) {
        Session::advisory_unlock_all(self)
    }

    fn notify(&mut self, channel: &str, payload: &str) -> Result<(), PgError> {
        self.notify_send(channel, payload)
    }

    fn listen(&mut self, channel: Option<&str>, listen: bool) -> Result<(), PgError> {
        self.notify_listen(channel, listen)
    }

    fn listening_channels(&self) -> Vec<String> {
        Session::listening_channels(self)
    }

    fn notification_queue_usage(&self) -> f64 {
        self.queue_usage()
    }

    fn prepared_statement(&self, name: &str) -> Option<Rc<tusk_sql::Prepared>> {
        if name.is_empty() {
            return None;
        }
        self.statements.get(name).and_then(|e| e.prepared.clone())
    }
    fn add_prepared_statement(
        &mut self,
        name: &str,
        p: Rc<tusk_sql::Prepared>,
        sql: &str,
    ) -> Result<(), PgError> {
        if self.statements.contains_key(name) {
            return Err(PgError::error(
                sqlstate::DUPLICATE_PREPARED_STATEMENT,
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        let entry = StmtEntry {
            param_types: p.param_types().to_vec(),
            prepared: Some(p),
            sql: sql.to_string(),
            prepare_time: self.stmt_start,
            from_sql: true,
        };
        self.statements.insert(name.to_string(), Rc::new(entry));
        Ok(())
    }
    fn prepared_statement_rows(&self) -> Vec<tusk_sql::Row> {
        portal::prepared_statement_rows(self.statements.iter().filter(|(k, _)| !k.is_empty()).map(
            |(k, e)| {
                (
                    k.as_str(),
                    e.sql.as_str(),
                    e.prepare_time,
                    &e.param_types[..],
                    e.from_sql,
                )
            },
        ))
    }
    fn query_text(&self) -> Option<String> {
        Some(self.query_text.clone())
    }
    fn cursors(&mut self) -> Option<&mut tusk_sql::cursor::Cursors> {
        Some(&mut self.cursors)
    }
    fn cursor_store(&self) -> Option<&tusk_sql::cursor::Cursors> {
        Some(&self.cursors)
    }
    fn in_transaction_block(&self) -> bool {
        self.xact.is_transaction_block()
    }
    fn in_implicit_block(&self) -> bool {
        self.xact.block_state() == tusk_storage::xact::BlockState::ImplicitInProgress
    }
    fn set_transaction_mode(&mut self, name: &str, value: &str) -> Result<(), PgError> {
        self.set_transaction_mode_impl(name, value)
    }
    fn chain_transaction(&mut self) -> Result<(), PgError> {
        self.chain_transaction_impl()
    }
    fn deallocate(&mut self, name: Option<&str>) -> Result<(), PgError> {
        match name {
            None => self.statements.retain(|k, _| k.is_empty()),
            Some(n) => {
                if self.statements.remove(n).is_none() {
                    return Err(PgError::error(
                        sqlstate::INVALID_SQL_STATEMENT_NAME,
                        format!("prepared statement \"{n}\" does not exist"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn discard(&mut self, what: &str) -> Result<(), PgError> {
        if what == "SEQUENCES" {
            tables::sequence::discard_sequences();
        }
        if what == "ALL" {
            self.xact.prevent_in_transaction_block("DISCARD ALL")?;
            tables::sequence::discard_sequences();
            self.statements.retain(|k, _| k.is_empty());
            self.portals.clear();
            self.cursors = Default::default();
            self.unlisten_all_now();
            self.advisory_unlock_all();
            return self.reset(None);
        }
        Ok(())
    }

    fn setting_name(&self, name: &str) -> Option<String> {
        tusk_config::find(name).map(|d| d.name.to_string())
    }

    /// The transaction's start, for implicit transactions too: the same
    /// value for every statement of a multi-statement Query.
    fn now(&self) -> i64 {
        match self.xact.start_timestamp() {
            0 => now_pg(),
            t => t,
        }
    }

    fn statement_timestamp(&self) -> i64 {
        match self.stmt_start {
            0 => now_pg(),
            t => t,
        }
    }

    /// `txid_current()` is the top-level transaction's id, inside a
    /// savepoint too (PostgreSQL's GetTopTransactionId).
    fn current_xid(&mut self, assign: bool) -> Result<Option<u64>, PgError> {
        if assign {
            return self.xact.top_xid().map(Some);
        }
        Ok(Some(self.xact.top_xid_if_any()).filter(|&x| x != 0))
    }

    fn xid_status(&mut self, xid: u64) -> Result<Option<&'static str>, PgError> {
        match &self.engine {
            Some(e) => e.xid_status(xid),
            None => Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "transaction ids are not available: the commit log could not be opened",
            )),
        }
    }

    fn emit_wal_message(
        &mut self,
        transactional: bool,
        prefix: &str,
        content: &[u8],
    ) -> Result<u64, PgError> {
        let xid = if transactional {
            self.xact.current_xid()?
        } else {
            0
        };
        let Some(e) = &self.engine else {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "WAL cannot be written: the commit log could not be opened",
            ));
        };
        let data = tusk_storage::xlog::logical_message_bytes(0, transactional, prefix, content);
        e.xlog
            .xlog_insert(
                tusk_storage::xlog::RM_LOGICALMSG_ID,
                tusk_storage::xlog::XLOG_LOGICAL_MESSAGE,
                xid,
                &data,
                vec![],
            )
            .map_err(|e| e.to_pg_error(Severity::Error))
    }

    fn wal_positions(&mut self) -> Result<tusk_sql::WalPositions, PgError> {
        use std::sync::atomic::Ordering::Acquire;
        let c = self.shared.wal_ctl();
        Ok(tusk_sql::WalPositions {
            insert: c.copied_lsn.load(Acquire),
            write: c.write_lsn.load(Acquire),
            flush: c.flush_lsn.load(Acquire),
            timeline: c.tli.load(Acquire),
            segment_size: c.seg_size.load(Acquire).max(1),
        })
    }
}

/// CHECKPOINT and the online-backup functions, which the server offers
/// its sessions: they touch the checkpointer, pg_control and the backup
/// counter in shared memory. Called by this backend only.
impl tusk_sql::Maintenance for Session {
    fn checkpoint(&mut self) -> Result<(), PgError> {
        if !self.id.is_superuser {
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                "must be superuser to do CHECKPOINT",
            ));
        }
        use std::sync::atomic::Ordering;
        use tusk_storage::procarray::ProcKind;
        let control = self.shared.control();
        let ckpt_slot = self.procs.max_connections()
            + ProcKind::Checkpointer
                .aux_index()
                .expect("the checkpointer is an auxiliary process");
        let ckpt = self.procs.proc(ckpt_slot);
        if ckpt.pid() == 0 || ckpt.kind() != ProcKind::Checkpointer {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "could not request checkpoint because checkpointer not running",
            ));
        }
        // Say we wait before requesting: the checkpointer sets the latch of
        // every waiting slot when a checkpoint starts and when it ends.
        let procs = self.procs;
        let waits = procs.proc(self.slot).waits();
        waits.checkpoint_wait.store(1, Ordering::SeqCst);
        let ticket = control.request_checkpoint();
        ckpt.waits().latch.set();
        let ok = loop {
            waits.latch.reset();
            if let Some(ok) = control.checkpoint_outcome(&ticket) {
                break ok;
            }
            // A cancel ends the wait; the checkpoint still happens.
            if let Err(e) = self.check_interrupts() {
                waits.checkpoint_wait.store(0, Ordering::SeqCst);
                return Err(e);
            }
            self.wait_latch(None, WaitEvent::CheckpointDone);
        };
        waits.checkpoint_wait.store(0, Ordering::SeqCst);
        if !ok {
            return Err(
                PgError::error(sqlstate::INTERNAL_ERROR, "checkpoint request failed")
                    .with_hint("Consult recent messages in the server log for details."),
            );
        }
        Ok(())
    }

    fn backup_start(&mut self, label: &str, _fast: bool) -> Result<u64, PgError> {
        if !self.id.is_superuser {
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                "permission denied for function pg_backup_start",
            ));
        }
        if self.backup.is_some() {
            return Err(PgError::error(
                sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                "a backup is already in progress in this session",
            ));
        }
        if label.len() > 1024 {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                "backup label too long (max 1024 bytes)",
            ));
        }
        // The shared copy: backends never read or write the file.
        let control = loaded_pg_control(&self.shared, self.slot)?;
        self.shared
            .control()
            .backup_in_progress
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // A session that ends without pg_backup_stop ends its backup, as
        // PostgreSQL's do_pg_abort_backup.
        let shared = self.shared.clone();
        let abort = before_shmem_exit("abort the online backup", move |_| {
            elog::warning(
                "aborting backup due to backend exiting before pg_backup_stop was called",
            );
            shared
                .control()
                .backup_in_progress
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
        self.backup = Some((label.to_string(), tusk_common::time::now_micros(), abort));
        Ok(control.redo_lsn())
    }

    fn backup_stop(&mut self, _wait_for_archive: bool) -> Result<(u64, String), PgError> {
        let Some((label, started, abort)) = self.backup.take() else {
            return Err(PgError::error(
                sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                "backup is not in progress",
            )
            .with_hint("Did you call pg_backup_start()?"));
        };
        cancel_before_shmem_exit(abort);
        self.shared
            .control()
            .backup_in_progress
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        let control = loaded_pg_control(&self.shared, self.slot)?;
        let lsn = |l: u64| format!("{:X}/{:X}", l >> 32, l & 0xFFFF_FFFF);
        // backup_label as PostgreSQL writes it. tusk has no WAL yet, so the
        // positions are those of the last checkpoint recorded in pg_control.
        let label_file = format!(
            "START WAL LOCATION: {} (file {:08X}{:08X}{:08X})\nCHECKPOINT LOCATION: {}\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: {}\nLABEL: {label}\nSTART TIMELINE: 1\n",
            lsn(control.redo_lsn()),
            control.checkpoint_copy.this_timeline,
            control.redo_lsn() >> 32,
            (control.redo_lsn() & 0xFFFF_FFFF) / control.xlog_seg_size.max(1) as u64,
            lsn(control.checkpoint),
            tusk_common::time::format_log_time(started, false),
        );
        Ok((control.checkpoint, label_file))
    }
}

/// pg_control as the startup process loaded it (it always has by the time
/// backends run; the error covers a broken invariant, not a race).
fn loaded_pg_control(
    shared: &ChildShared,
    my_slot: usize,
) -> Result<tusk_storage::control::ControlFileData, PgError> {
    shared
        .pg_control()
        .snapshot(shared, my_slot as u32)
        .ok_or_else(|| {
            PgError::error(
                sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                "pg_control is not loaded into shared memory",
            )
        })
}

/// The storage engine's side of this backend's transactions
/// (tusk_storage::xact::XactEngine): xids from the shared counter, the
/// commit record through this process's WAL handle, statuses in the
/// commit-status cache, and leaving the proc array. Used only by this
/// backend's `Xact` (and its exit callback), in this process.
struct Engine {
    shared: ChildShared,
    slot: u32,
    transam: tusk_storage::transam::Transam,
    clog: tusk_storage::clogbuffers::Clog,
    /// Shared with `clog`, which flushes WAL through it before writing a
    /// page that holds asynchronous commits.
    xlog: std::rc::Rc<tusk_storage::xlog::Xlog<ChildShared>>,
    /// The session's `synchronous_commit` != off, as of the last
    /// statement start (the session updates it; COMMIT reads it).
    synchronous: std::cell::Cell<bool>,
    /// This transaction changed the catalog: the commit announces it
    /// (bumps the shared catalog generation) once its status is set and
    /// before its locks go, so that a session that waited on one of those
    /// locks sees the new generation and reads the catalog again
    /// (PostgreSQL sends its invalidations at the same point). Announcing
    /// after the locks went let a waiter use its stale cache.
    announce_catalog: std::cell::Cell<bool>,
}

impl Engine {
    /// `None` (writes then fail with an error) when the commit log cannot
    /// be opened; the reason is logged once.
    fn new(
        shared: &ChildShared,
        data_dir: &std::path::Path,
        settings: &Settings,
        slot: usize,
    ) -> Option<Engine> {
        let transam = shared.transam()?;
        let mut clog = match shared.clog(data_dir) {
            Ok(c) => c,
            Err(e) => {
                elog::report(&e.with_severity(Severity::Warning));
                return None;
            }
        };
        let xlog = std::rc::Rc::new(shared.xlog(data_dir, settings, slot));
        clog.set_wal(xlog.clone());
        Some(Engine {
            shared: shared.clone(),
            slot: slot as u32,
            transam,
            clog,
            xlog,
            synchronous: std::cell::Cell::new(true),
            announce_catalog: std::cell::Cell::new(false),
        })
    }

    fn clog_for(&self) -> tusk_storage::clogbuffers::ClogFor<'_, ChildShared> {
        tusk_storage::clogbuffers::ClogFor {
            clog: &self.clog,
            lw: &self.shared,
            me: self.slot,
        }
    }

    fn wal(&self) -> tusk_storage::xactwal::XlogCommit<'_, ChildShared> {
        tusk_storage::xactwal::XlogCommit {
            xlog: &self.xlog,
            synchronous: self.synchronous.get(),
            now: now_pg(),
        }
    }

    /// `pg_xact_status`: 'committed', 'aborted' or 'in progress' for an
    /// xid this cluster handed out; an error for one in the future.
    fn xid_status(&self, xid: u64) -> Result<Option<&'static str>, PgError> {
        use tusk_storage::clog::{XidStatus, FIRST_NORMAL_TRANSACTION_ID};
        let next = self.transam.next_xid();
        if xid >= next {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("transaction ID {xid} is in the future"),
            ));
        }
        if xid < FIRST_NORMAL_TRANSACTION_ID {
            // PostgreSQL: the bootstrap and frozen ids are committed, the
            // invalid one has no status.
            return Ok((xid != 0).then_some("committed"));
        }
        if self.transam.is_in_progress(&self.shared, self.slot, xid) {
            return Ok(Some("in progress"));
        }
        Ok(Some(
            match self.clog.get_status(&self.shared, self.slot, xid)? {
                XidStatus::Committed => "committed",
                // Neither running nor committed: aborted, or in progress at a
                // crash (the same thing; PostgreSQL says 'aborted' too).
                _ => "aborted",
            },
        ))
    }
}

impl tusk_storage::xact::XactEngine for Engine {
    fn assign_xid(&self) -> Result<u64, PgError> {
        self.transam
            .assign_xid(&self.shared, self.slot, false, &self.clog_for())
    }

    fn commit(&self, subxids: &[u64]) -> Result<(), PgError> {
        self.transam.commit(
            &self.shared,
            self.slot,
            subxids,
            &self.wal(),
            &self.clog_for(),
        )?;
        if self.announce_catalog.replace(false) {
            let prev = self
                .shared
                .control()
                .catalog_generation
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            tables::composite::note_own_bump(prev + 1);
        }
        Ok(())
    }

    fn abort(&self, subxids: &[u64]) -> Result<(), PgError> {
        let r = self.transam.abort(
            &self.shared,
            self.slot,
            subxids,
            &self.wal(),
            &self.clog_for(),
        );
        if let Err(e) = &r {
            elog::report(&e.clone().with_severity(Severity::Warning));
        }
        r
    }

    fn assign_subxid(&self) -> Result<u64, PgError> {
        self.transam
            .assign_xid(&self.shared, self.slot, true, &self.clog_for())
    }

    /// ROLLBACK TO (or an error inside a savepoint): PostgreSQL's
    /// RecordTransactionAbort for a subtransaction, then
    /// XidCacheRemoveRunningXids. The abort record carries the
    /// subtransaction's xid as its own, so redo marks exactly that subtree.
    fn abort_subxact(&self, xid: u64, children: &[u64]) -> Result<(), PgError> {
        use tusk_storage::transam::{ClogStatus, CommitWal};
        let r = self.wal().log_abort(xid, children).and_then(|_| {
            self.clog_for().set_tree_status(
                xid,
                children,
                tusk_storage::clog::XidStatus::Aborted,
                0,
            )
        });
        let mut gone = Vec::with_capacity(children.len() + 1);
        gone.push(xid);
        gone.extend_from_slice(children);
        // Out of the cache even when the record or status failed: an xid
        // that is neither running nor committed is aborted.
        self.transam.remove_subxids(&self.shared, self.slot, &gone);
        if let Err(e) = &r {
            elog::report(&e.clone().with_severity(Severity::Warning));
        }
        r
    }
}

/// One pg_settings row as values (tusk_sql::catalog::settings_columns).
fn settings_row(r: tusk_config::session::PgSettingsRow) -> tusk_sql::Row {
    let text = |t: Option<String>| t.map(Value::Text).unwrap_or(Value::Null);
    let mut v: Vec<Value> = r.text.into_iter().map(text).collect();
    v.push(match r.enumvals {
        Some(items) => Value::Array(Box::new(tusk_sql::array::Array::from_items(
            tusk_sql::types::TEXT,
            items.into_iter().map(Value::Text).collect(),
        ))),
        None => Value::Null,
    });
    v.extend(r.tail.into_iter().map(text));
    v.push(r.sourceline.map(Value::Int4).unwrap_or(Value::Null));
    v.push(Value::Bool(r.pending_restart));
    v
}

/// IntervalStyle, TimeZone and DateStyle live in the types crate's
/// session state, where the output and input functions read them (as
/// PostgreSQL's read its globals). Called by the backend process that
/// owns the session, at start and on every change (SET, RESET, rollback).
fn apply_datetime_setting(name: &str, value: &str) {
    match name {
        "IntervalStyle" => tusk_sql::interval::set_style(value),
        "TimeZone" => tusk_sql::tz::set_session_zone(value),
        "DateStyle" => tusk_sql::tz::set_datestyle(value),
        _ => {}
    }
}

impl Session {
    /// Sends a NOTICE or WARNING unless client_min_messages says the
    /// client does not want it (PostgreSQL's ordering: DEBUG < LOG <
    /// NOTICE < WARNING < ERROR; INFO always goes). Called by the backend.
    pub(crate) fn send_notice(&mut self, n: &PgError) {
        let min = tusk_sql::Host::show(self, "client_min_messages").unwrap_or_default();
        let rank = |s: &str| match s {
            "debug5" | "debug4" | "debug3" | "debug2" | "debug1" | "debug" => 0,
            "log" => 1,
            "notice" => 2,
            "warning" => 3,
            "error" => 4,
            _ => 2,
        };
        let level = match n.severity {
            Severity::Info => 5,
            Severity::Debug => 0,
            Severity::Log => 1,
            Severity::Notice => 2,
            Severity::Warning => 3,
            _ => 4,
        };
        if level >= rank(&min.to_ascii_lowercase()) {
            self.conn.notice(n);
        }
    }
}

/// Cancel and statement_timeout for long regular-expression matches,
/// which run inside pure expression code with no Host to ask: the
/// matcher polls this hook (tusk_sql::set_regex_interrupt_hook).
mod regex_interrupts {
    use std::sync::Mutex;
    use std::time::Instant;

    use tusk_common::{sqlstate, PgError};

    use crate::signals;

    static DEADLINE: Mutex<Option<Instant>> = Mutex::new(None);

    /// Installs the hook and sets (or clears) the running statement's
    /// deadline.
    pub(super) fn arm(deadline: Option<Instant>) {
        tusk_sql::set_regex_interrupt_hook(check);
        if let Ok(mut d) = DEADLINE.lock() {
            *d = deadline;
        }
    }

    fn check() -> Result<(), PgError> {
        if signals::pending(libc::SIGINT) {
            signals::take(libc::SIGINT);
            return Err(PgError::error(
                sqlstate::QUERY_CANCELED,
                "canceling statement due to user request",
            ));
        }
        let late = DEADLINE
            .lock()
            .map(|d| d.is_some_and(|d| Instant::now() >= d))
            .unwrap_or(false);
        if late {
            return Err(PgError::error(
                sqlstate::QUERY_CANCELED,
                "canceling statement due to statement timeout",
            ));
        }
        Ok(())
    }
}
