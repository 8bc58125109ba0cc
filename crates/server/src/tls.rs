//! TLS for client connections: the server's certificate and key (loaded
//! by the postmaster), the handshake and the encrypted stream (run by the
//! backend after fork), and what the session may ask about its TLS state.
//!
//! Why rustls with the `ring` provider: no OpenSSL to link, a library
//! written for blocking and non-blocking use alike, and TLS 1.2/1.3 only
//! (PostgreSQL 15's default `ssl_min_protocol_version` is TLSv1.2 anyway).
//! Why the postmaster loads the files and the backend shakes hands: a bad
//! certificate must be found at start (FATAL) or on SIGHUP (kept old
//! config, LOG), as PostgreSQL does; and the postmaster must never block
//! on a client, so the handshake, which waits for the client, runs in the
//! forked child, which inherits the loaded `ServerConfig` with its memory.
//!
//! Why our own read/write loop instead of `rustls::StreamOwned`: the
//! backend's socket returns `Interrupted` when a terminate request, a
//! reload or the postmaster's death is pending, and expects that error to
//! reach it. rustls' `complete_io` retries `Interrupted` reads itself,
//! which would spin while the flag stays set; [`TlsStream`] calls
//! `read_tls`/`write_tls` directly and passes every error up.
//!
//! Session resumption is off (no session cache, no tickets), as in
//! PostgreSQL: each connection is a fresh process, so a cache filled in
//! one backend would never be seen by the next.

use ring::digest;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::{NoServerSessionStorage, ServerConnection, WebPkiClientVerifier};
use rustls::{CipherSuite, ProtocolVersion, RootCertStore, ServerConfig};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use tusk_common::{sqlstate, PgError};
use tusk_config::{keys, Settings};

/// The server side of TLS as loaded from the `ssl_*` settings.
pub struct TlsConfig {
    server: Arc<ServerConfig>,
    /// tls-server-end-point channel binding data (RFC 5929): the hash of
    /// the server certificate, for SCRAM-SHA-256-PLUS.
    end_point: Vec<u8>,
    /// `ssl_ca_file` was loaded: client certificates are asked for and
    /// checked against it.
    ca_loaded: bool,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("ca_loaded", &self.ca_loaded)
            .finish_non_exhaustive()
    }
}

/// An I/O error's text without Rust's " (os error N)" suffix, as `%m`
/// prints it.
fn os_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn config_error(m: impl Into<String>) -> PgError {
    PgError::fatal(sqlstate::CONFIG_FILE_ERROR, m)
}

fn pem_text(e: &rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => os_text(io),
        rustls::pki_types::pem::Error::NoItemsFound => "no PEM data found in the file".into(),
        other => format!("{other:?}"),
    }
}

/// PostgreSQL's check of the private key file before it is read: a
/// regular file owned by us (mode 0600 or less) or by root (0640 or less).
fn check_key_permissions(path: &Path, shown: &str) -> Result<(), PgError> {
    let md = std::fs::metadata(path).map_err(|e| {
        PgError::fatal(
            if e.kind() == io::ErrorKind::NotFound {
                sqlstate::UNDEFINED_FILE
            } else {
                sqlstate::SYSTEM_ERROR
            },
            format!(
                "could not access private key file \"{shown}\": {}",
                os_text(&e)
            ),
        )
    })?;
    if !md.is_file() {
        return Err(config_error(format!(
            "private key file \"{shown}\" is not a regular file"
        )));
    }
    // SAFETY: geteuid has no memory effects and cannot fail.
    let me = unsafe { libc::geteuid() };
    if md.uid() != me && md.uid() != 0 {
        return Err(config_error(format!(
            "private key file \"{shown}\" must be owned by the database user or root"
        )));
    }
    let mode = md.mode();
    if (md.uid() == me && mode & 0o077 != 0) || (md.uid() == 0 && mode & 0o037 != 0) {
        return Err(config_error(format!("private key file \"{shown}\" has group or world access"))
            .with_detail("File must have permissions u=rw (0600) or less if owned by the database user, or permissions u=rw,g=r (0640) or less if owned by root."));
    }
    Ok(())
}

fn version_rank(v: &str) -> u8 {
    match v {
        "TLSv1" => 10,
        "TLSv1.1" => 11,
        "TLSv1.2" => 12,
        "TLSv1.3" => 13,
        _ => 99, // "" (no maximum)
    }
}

/// Loads certificate, key, CA and CRL as the settings say. Relative paths
/// are relative to the data directory. Called by the postmaster at start
/// (an error is FATAL) and on SIGHUP (an error keeps the old config); and
/// by tests.
pub fn load(settings: &Settings, data_dir: &Path) -> Result<TlsConfig, PgError> {
    let cert_name = settings.get(keys::SSL_CERT_FILE);
    let key_name = settings.get(keys::SSL_KEY_FILE);
    let ca_name = settings.get(keys::SSL_CA_FILE);
    let crl_name = settings.get(keys::SSL_CRL_FILE);
    let min = settings.get(keys::SSL_MIN_PROTOCOL_VERSION);
    let max = settings.get(keys::SSL_MAX_PROTOCOL_VERSION);

    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(data_dir.join(cert_name))
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                config_error(format!(
                    "could not load server certificate file \"{cert_name}\": {}",
                    pem_text(&e)
                ))
            })?;
    if certs.is_empty() {
        return Err(config_error(format!(
            "could not load server certificate file \"{cert_name}\": no certificate found in the file"
        )));
    }
    let key_path = data_dir.join(key_name);
    check_key_permissions(&key_path, key_name)?;
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| {
        config_error(format!(
            "could not load private key file \"{key_name}\": {}",
            pem_text(&e)
        ))
    })?;

    if version_rank(max) < version_rank(min) {
        return Err(
            config_error("could not set SSL protocol version range").with_detail(
                "\"ssl_min_protocol_version\" cannot be higher than \"ssl_max_protocol_version\"",
            ),
        );
    }
    // rustls speaks TLS 1.2 and 1.3 only: a minimum below 1.2 means 1.2.
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    if version_rank(min) <= 12 && version_rank(max) >= 12 {
        versions.push(&rustls::version::TLS12);
    }
    if version_rank(max) >= 13 {
        versions.push(&rustls::version::TLS13);
    }
    if versions.is_empty() {
        return Err(config_error(format!(
            "could not set maximum SSL protocol version: \"{max}\" is older than TLSv1.2, the oldest version tusk supports"
        )));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| config_error(format!("could not set SSL protocol versions: {e}")))?;

    let ca_loaded = !ca_name.is_empty();
    let builder = if ca_loaded {
        let mut roots = RootCertStore::empty();
        let cas = CertificateDer::pem_file_iter(data_dir.join(ca_name))
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                config_error(format!(
                    "could not load root certificate file \"{ca_name}\": {}",
                    pem_text(&e)
                ))
            })?;
        for c in cas {
            roots.add(c).map_err(|e| {
                config_error(format!(
                    "could not load root certificate file \"{ca_name}\": {e}"
                ))
            })?;
        }
        if roots.is_empty() {
            return Err(config_error(format!(
                "could not load root certificate file \"{ca_name}\": no certificate found in the file"
            )));
        }
        let mut vb = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            // As PostgreSQL: a client certificate is asked for, not
            // required; pg_hba.conf decides (clientcert, cert).
            .allow_unauthenticated();
        if !crl_name.is_empty() {
            let crls = CertificateRevocationListDer::pem_file_iter(data_dir.join(crl_name))
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    config_error(format!(
                        "could not load SSL certificate revocation list file \"{crl_name}\": {}",
                        pem_text(&e)
                    ))
                })?;
            vb = vb.with_crls(crls).allow_unknown_revocation_status();
        }
        let verifier = vb.build().map_err(|e| {
            config_error(format!(
                "could not load root certificate file \"{ca_name}\": {e}"
            ))
        })?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let end_point = end_point_hash(&certs[0]);
    let mut server = builder
        .with_single_cert(certs, key)
        .map_err(|e| config_error(format!("check of private key failed: {e}")))?;
    server.session_storage = Arc::new(NoServerSessionStorage {});
    server.send_tls13_tickets = 0;
    Ok(TlsConfig {
        server: Arc::new(server),
        end_point,
        ca_loaded,
    })
}

impl TlsConfig {
    /// Channel binding data of type tls-server-end-point (RFC 5929).
    pub fn server_end_point(&self) -> &[u8] {
        &self.end_point
    }

    pub fn ca_loaded(&self) -> bool {
        self.ca_loaded
    }
}

/// RFC 5929 section 4.1: the certificate hashed with its signature's hash
/// function, SHA-256 when that is MD5 or SHA-1 (or unknown to us).
fn end_point_hash(cert: &CertificateDer<'_>) -> Vec<u8> {
    const SHA384: [&[u8]; 2] = [
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0C],
        &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03],
    ];
    const SHA512: [&[u8]; 2] = [
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0D],
        &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04],
    ];
    let alg = x509::parse(cert.as_ref())
        .map(|c| c.sig_alg)
        .unwrap_or_default();
    let algo = if SHA384.contains(&alg.as_slice()) {
        &digest::SHA384
    } else if SHA512.contains(&alg.as_slice()) {
        &digest::SHA512
    } else {
        &digest::SHA256
    };
    digest::digest(algo, cert.as_ref()).as_ref().to_vec()
}

/// What a session knows about its TLS connection (pg_stat_ssl's columns).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslInfo {
    /// "TLSv1.2" or "TLSv1.3".
    pub version: String,
    /// OpenSSL's name for the suite, as PostgreSQL shows it.
    pub cipher: String,
    pub bits: i32,
    /// The client certificate's subject CN, DN ("/CN=.../O=..."), serial
    /// (decimal) and issuer DN; None without a client certificate.
    pub client_cn: Option<String>,
    pub client_dn: Option<String>,
    pub client_serial: Option<String>,
    pub issuer_dn: Option<String>,
}

impl SslInfo {
    /// What pg_stat_ssl publishes of it (the proc array's form).
    pub fn status(&self) -> tusk_storage::procarray::SslStatus {
        tusk_storage::procarray::SslStatus {
            version: self.version.clone(),
            cipher: self.cipher.clone(),
            bits: self.bits,
            client_dn: self.client_dn.clone(),
            client_serial: self.client_serial.clone(),
            issuer_dn: self.issuer_dn.clone(),
        }
    }
}

/// pg_stat_ssl's rows from a snapshot of the proc array: every client
/// backend, TLS or not (PostgreSQL's view lists every process with a
/// client port). Called by the backend running the query.
pub fn stat_ssl_rows(procs: &[tusk_storage::procarray::ProcInfo]) -> Vec<Vec<tusk_sql::Value>> {
    use tusk_sql::Value;
    let text = |s: &Option<String>| s.clone().map(Value::Text).unwrap_or(Value::Null);
    procs
        .iter()
        .filter(|p| p.kind == tusk_storage::procarray::ProcKind::ClientBackend)
        .map(|p| match &p.ssl {
            None => vec![
                Value::Int4(p.pid),
                Value::Bool(false),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ],
            Some(s) => vec![
                Value::Int4(p.pid),
                Value::Bool(true),
                Value::Text(s.version.clone()),
                Value::Text(s.cipher.clone()),
                Value::Int4(s.bits),
                text(&s.client_dn),
                s.client_serial
                    .as_deref()
                    .and_then(|d| tusk_sql::Numeric::parse(d).ok())
                    .map(Value::Numeric)
                    .unwrap_or(Value::Null),
                text(&s.issuer_dn),
            ],
        })
        .collect()
}

/// OpenSSL's names for rustls' suites, and their key sizes.
fn suite_name(s: CipherSuite) -> (&'static str, i32) {
    match s {
        CipherSuite::TLS13_AES_256_GCM_SHA384 => ("TLS_AES_256_GCM_SHA384", 256),
        CipherSuite::TLS13_AES_128_GCM_SHA256 => ("TLS_AES_128_GCM_SHA256", 128),
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => ("TLS_CHACHA20_POLY1305_SHA256", 256),
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => {
            ("ECDHE-ECDSA-AES256-GCM-SHA384", 256)
        }
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => {
            ("ECDHE-ECDSA-AES128-GCM-SHA256", 128)
        }
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => {
            ("ECDHE-ECDSA-CHACHA20-POLY1305", 256)
        }
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => ("ECDHE-RSA-AES256-GCM-SHA384", 256),
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => ("ECDHE-RSA-AES128-GCM-SHA256", 128),
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => {
            ("ECDHE-RSA-CHACHA20-POLY1305", 256)
        }
        _ => ("unknown", 0),
    }
}

/// The client-certificate rules of the matched pg_hba.conf line that come
/// before its method, as PostgreSQL's ClientAuthentication has them: a
/// `clientcert` line needs the CA loaded and a verified certificate
/// (rustls has already refused one the CA did not sign). Backend only.
pub fn check_client_cert(
    line: &crate::hba::HbaLine,
    tls: Option<&TlsConfig>,
    info: Option<&SslInfo>,
) -> Result<(), PgError> {
    if line.clientcert == crate::hba::ClientCert::Off {
        return Ok(());
    }
    if !tls.is_some_and(|t| t.ca_loaded) {
        return Err(config_error(
            "client certificates can only be checked if a root certificate store is available",
        ));
    }
    if info.and_then(|i| i.client_dn.as_ref()).is_none() {
        return Err(PgError::fatal(
            sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
            "connection requires a valid client certificate",
        ));
    }
    Ok(())
}

/// The user check of the `cert` method, and of `clientcert=verify-full`
/// after the line's method succeeded: the certificate's CN must be the
/// user name (no pg_ident.conf maps yet). The reason goes to the log, the
/// client gets PostgreSQL's "authentication failed" FATAL. Backend only.
pub fn check_cert_user(
    line: &crate::hba::HbaLine,
    user: &str,
    info: Option<&SslInfo>,
) -> Result<(), PgError> {
    if line.clientcert != crate::hba::ClientCert::VerifyFull {
        return Ok(());
    }
    let cert_method = line.method == "cert";
    let failed = || {
        let m = if cert_method {
            format!("certificate authentication failed for user \"{user}\"")
        } else {
            format!(
                "\"{}\" authentication failed for user \"{user}\"",
                line.method
            )
        };
        // PostgreSQL puts the line in a log-only DETAIL; the client does
        // not learn which line matched.
        tusk_common::elog::log(format!(
            "{m} (connection matched pg_hba.conf line {}: \"{}\")",
            line.line_no(),
            line.text()
        ));
        PgError::fatal(sqlstate::INVALID_AUTHORIZATION_SPECIFICATION, m)
    };
    let cn = info.and_then(|i| i.client_cn.as_deref()).unwrap_or("");
    if cn.is_empty() {
        tusk_common::elog::log(format!(
            "certificate authentication failed for user \"{user}\": client certificate contains no user name"
        ));
        return Err(failed());
    }
    if cn != user {
        tusk_common::elog::log(format!(
            "provided user name ({user}) and authenticated user name ({cn}) do not match"
        ));
        if !cert_method {
            tusk_common::elog::log(format!(
                "certificate validation (clientcert=verify-full) failed for user \"{user}\": CN mismatch"
            ));
        }
        return Err(failed());
    }
    Ok(())
}

/// A TLS session over the backend's socket `S`.
pub struct TlsStream<S> {
    conn: ServerConnection,
    sock: S,
    end_point: Vec<u8>,
}

impl<S: Read + Write> TlsStream<S> {
    /// Sends whatever TLS records are queued.
    fn send_queued(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut self.sock)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "could not send data to client",
                ));
            }
        }
        Ok(())
    }

    /// Reads one batch of records from the socket and decrypts it. Ok(false)
    /// at end of file.
    fn receive(&mut self) -> io::Result<bool> {
        if self.conn.read_tls(&mut self.sock)? == 0 {
            return Ok(false);
        }
        if let Err(e) = self.conn.process_new_packets() {
            // The alert describing the error, if the client still listens.
            let _ = self.send_queued();
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        Ok(true)
    }

    /// Runs the handshake to its end. `Interrupted` from the socket is
    /// returned as is (the caller decides whether to go on); any other
    /// error ends the connection.
    pub fn handshake(&mut self) -> io::Result<()> {
        while self.conn.is_handshaking() {
            self.send_queued()?;
            if !self.conn.is_handshaking() {
                break;
            }
            if !self.receive()? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed the connection during the TLS handshake",
                ));
            }
        }
        self.send_queued()
    }

    pub fn info(&self) -> SslInfo {
        let version = match self.conn.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "unknown",
        };
        let (cipher, bits) = self
            .conn
            .negotiated_cipher_suite()
            .map(|s| suite_name(s.suite()))
            .unwrap_or(("unknown", 0));
        let peer = self
            .conn
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(|c| x509::parse(c.as_ref()));
        SslInfo {
            version: version.into(),
            cipher: cipher.into(),
            bits,
            client_cn: peer.as_ref().and_then(|p| p.subject_cn()),
            client_dn: peer.as_ref().map(|p| x509::dn_string(&p.subject)),
            client_serial: peer.as_ref().map(|p| x509::decimal(&p.serial)),
            issuer_dn: peer.as_ref().map(|p| x509::dn_string(&p.issuer)),
        }
    }
}

impl<S: Read + Write> Read for TlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n), // 0: the client's close_notify
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // Records the last read produced (alerts, key updates) go out
            // before we wait for more.
            self.send_queued()?;
            if !self.receive()? {
                return Ok(0);
            }
        }
    }
}

impl<S: Read + Write> Write for TlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Encrypt at most what rustls buffers, and send it at once: the
        // plaintext buffer never grows past rustls' limit.
        self.send_queued()?;
        let n = self.conn.writer().write(buf)?;
        self.send_queued()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.conn.writer().flush()?;
        self.send_queued()?;
        self.sock.flush()
    }
}

/// The backend's client stream: plain until an SSLRequest is accepted.
pub enum Stream<S> {
    Plain(S),
    Tls(Box<TlsStream<S>>),
    /// Only while [`Stream::start_tls`] moves the socket; never seen
    /// outside it.
    Switching,
}

fn switching() -> io::Error {
    io::Error::other("client stream is being switched to TLS")
}

impl<S: Read + Write> Stream<S> {
    pub fn socket(&self) -> &S {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &t.sock,
            Stream::Switching => unreachable!("stream used while switching to TLS"),
        }
    }

    pub fn socket_mut(&mut self) -> &mut S {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &mut t.sock,
            Stream::Switching => unreachable!("stream used while switching to TLS"),
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// Wraps the socket in a TLS session; the handshake is then run with
    /// [`Stream::tls_mut`]`().handshake()`. Backend only, after fork.
    pub fn start_tls(&mut self, cfg: &TlsConfig) -> Result<(), rustls::Error> {
        let conn = ServerConnection::new(cfg.server.clone())?;
        match std::mem::replace(self, Stream::Switching) {
            Stream::Plain(sock) => {
                *self = Stream::Tls(Box::new(TlsStream {
                    conn,
                    sock,
                    end_point: cfg.end_point.clone(),
                }));
                Ok(())
            }
            other => {
                *self = other;
                Err(rustls::Error::General("TLS already started".into()))
            }
        }
    }

    pub fn tls_mut(&mut self) -> Option<&mut TlsStream<S>> {
        match self {
            Stream::Tls(t) => Some(t),
            _ => None,
        }
    }

    /// pg_stat_ssl's data; None on a plain connection.
    pub fn ssl_info(&self) -> Option<SslInfo> {
        match self {
            Stream::Tls(t) => Some(t.info()),
            _ => None,
        }
    }

    /// The tls-server-end-point channel binding data (RFC 5929) for
    /// SCRAM-SHA-256-PLUS; None on a plain connection.
    pub fn tls_server_end_point(&self) -> Option<&[u8]> {
        match self {
            Stream::Tls(t) => Some(&t.end_point),
            _ => None,
        }
    }
}

impl<S: Read + Write> Read for Stream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
            Stream::Switching => Err(switching()),
        }
    }
}

impl<S: Read + Write> Write for Stream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(t) => t.write(buf),
            Stream::Switching => Err(switching()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(t) => t.flush(),
            Stream::Switching => Err(switching()),
        }
    }
}

/// Just enough DER to read a certificate's serial, issuer, subject and
/// signature algorithm (webpki checks the certificate; this only reads
/// names out of one that has been verified, or our own).
pub mod x509 {
    /// One attribute of a distinguished name: its OID (DER body) and value.
    pub type Rdn = Vec<(Vec<u8>, String)>;

    pub struct Cert {
        pub serial: Vec<u8>,
        pub issuer: Rdn,
        pub subject: Rdn,
        pub sig_alg: Vec<u8>,
    }

    /// One TLV: (tag, content, rest).
    fn next(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, b) = b.split_first()?;
        let (&l0, mut b) = b.split_first()?;
        let len = if l0 < 0x80 {
            l0 as usize
        } else {
            let n = (l0 & 0x7f) as usize;
            if n == 0 || n > 4 || b.len() < n {
                return None;
            }
            let mut l = 0usize;
            for &x in &b[..n] {
                l = (l << 8) | x as usize;
            }
            b = &b[n..];
            l
        };
        if b.len() < len {
            return None;
        }
        Some((tag, &b[..len], &b[len..]))
    }

    fn value_text(tag: u8, v: &[u8]) -> String {
        match tag {
            // BMPString: UTF-16BE.
            0x1E => {
                let units: Vec<u16> = v
                    .chunks(2)
                    .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                    .collect();
                String::from_utf16_lossy(&units)
            }
            // TeletexString: taken as Latin-1.
            0x14 => v.iter().map(|&b| b as char).collect(),
            _ => String::from_utf8_lossy(v).into_owned(),
        }
    }

    fn name(mut b: &[u8]) -> Option<Rdn> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let (tag, set, rest) = next(b)?;
            if tag != 0x31 {
                return None;
            }
            let mut s = set;
            while !s.is_empty() {
                let (_, atv, r) = next(s)?;
                let (otag, oid, v) = next(atv)?;
                if otag != 0x06 {
                    return None;
                }
                let (vtag, val, _) = next(v)?;
                out.push((oid.to_vec(), value_text(vtag, val)));
                s = r;
            }
            b = rest;
        }
        Some(out)
    }

    pub fn parse(der: &[u8]) -> Option<Cert> {
        let (_, cert, _) = next(der)?;
        let (_, tbs, rest) = next(cert)?;
        let (_, sig_alg, _) = next(rest)?;
        let (_, sig_oid, _) = next(sig_alg)?;
        let (mut tag, mut field, mut t) = next(tbs)?;
        if tag == 0xA0 {
            (tag, field, t) = next(t)?;
        }
        if tag != 0x02 {
            return None;
        }
        let serial = field.to_vec();
        let (_, _, t) = next(t)?; // signature algorithm
        let (_, issuer, t) = next(t)?;
        let (_, _, t) = next(t)?; // validity
        let (_, subject, _) = next(t)?;
        Some(Cert {
            serial,
            issuer: name(issuer)?,
            subject: name(subject)?,
            sig_alg: sig_oid.to_vec(),
        })
    }

    const CN: &[u8] = &[0x55, 0x04, 0x03];

    impl Cert {
        pub fn subject_cn(&self) -> Option<String> {
            self.subject
                .iter()
                .rev()
                .find(|(o, _)| o == CN)
                .map(|(_, v)| v.clone())
        }
    }

    fn short_name(oid: &[u8]) -> String {
        let known = match oid {
            [0x55, 0x04, n] => match n {
                3 => "CN",
                4 => "SN",
                5 => "serialNumber",
                6 => "C",
                7 => "L",
                8 => "ST",
                9 => "street",
                10 => "O",
                11 => "OU",
                12 => "title",
                42 => "GN",
                _ => "",
            },
            [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x01] => "emailAddress",
            [0x09, 0x92, 0x26, 0x89, 0x93, 0xF2, 0x2C, 0x64, 0x01, 0x19] => "DC",
            [0x09, 0x92, 0x26, 0x89, 0x93, 0xF2, 0x2C, 0x64, 0x01, 0x01] => "UID",
            _ => "",
        };
        if !known.is_empty() {
            return known.to_string();
        }
        // An attribute OpenSSL has no short name for: the dotted OID.
        let mut parts = Vec::new();
        if let Some((&first, rest)) = oid.split_first() {
            parts.push((first / 40) as u64);
            parts.push((first % 40) as u64);
            let mut v = 0u64;
            for &b in rest {
                v = (v << 7) | (b & 0x7f) as u64;
                if b & 0x80 == 0 {
                    parts.push(v);
                    v = 0;
                }
            }
        }
        parts
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(".")
    }

    /// PostgreSQL's rendering of a name: "/C=US/O=Org/CN=alice", values
    /// escaped as RFC 2253 asks (`,+"\<>;` and leading `#`/space and
    /// trailing space get a backslash).
    pub fn dn_string(n: &Rdn) -> String {
        let mut s = String::new();
        for (oid, v) in n {
            s.push('/');
            s.push_str(&short_name(oid));
            s.push('=');
            let last = v.chars().count().saturating_sub(1);
            for (i, c) in v.chars().enumerate() {
                let esc = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
                    || (i == 0 && (c == '#' || c == ' '))
                    || (i == last && c == ' ');
                if esc {
                    s.push('\\');
                }
                s.push(c);
            }
        }
        s
    }

    /// A big-endian unsigned integer as decimal text.
    pub fn decimal(be: &[u8]) -> String {
        let mut n: Vec<u8> = be.iter().copied().skip_while(|&b| b == 0).collect();
        if n.is_empty() {
            return "0".into();
        }
        let mut digits = Vec::new();
        while !n.is_empty() {
            let mut rem = 0u32;
            for b in n.iter_mut() {
                let cur = (rem << 8) | *b as u32;
                *b = (cur / 10) as u8;
                rem = cur % 10;
            }
            digits.push(b'0' + rem as u8);
            while n.first() == Some(&0) {
                n.remove(0);
            }
        }
        digits.reverse();
        String::from_utf8(digits).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::x509;

    #[test]
    fn decimal_serials() {
        assert_eq!(x509::decimal(&[]), "0");
        assert_eq!(x509::decimal(&[0x00, 0xff]), "255");
        assert_eq!(x509::decimal(&[0x01, 0x00, 0x00]), "65536");
        assert_eq!(
            x509::decimal(&[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11]),
            "335812727670730321937"
        );
    }

    #[test]
    fn names_render_as_postgres_shows_them() {
        let n = vec![
            (vec![0x55, 0x04, 0x06], "US".to_string()),
            (vec![0x55, 0x04, 0x0A], "A, B".to_string()),
            (vec![0x55, 0x04, 0x03], "alice".to_string()),
        ];
        assert_eq!(x509::dn_string(&n), "/C=US/O=A\\, B/CN=alice");
        assert_eq!(
            x509::dn_string(&vec![(
                vec![0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37],
                "x".into()
            )]),
            "/1.3.6.1.4.1.311=x"
        );
    }
}
