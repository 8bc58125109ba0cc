//! The postmaster's listen sockets: TCP on `listen_addresses`, and a Unix
//! socket `.s.PGSQL.<port>` in each `unix_socket_directories` entry.
//!
//! The sockets are non-blocking (the postmaster polls them and must never
//! block in accept) and close-on-exec. Children inherit them across fork
//! and close them first thing. The backlog is twice max_connections (at
//! least 128), so a burst of connections waits in the kernel's queue
//! instead of being refused.

use socket2::{Domain, Socket, Type};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use tusk_common::{elog, sqlstate, PgError};

pub struct Listener {
    pub socket: Socket,
    pub kind: ListenKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenKind {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl Listener {
    pub fn fd(&self) -> i32 {
        self.socket.as_raw_fd()
    }
}

/// What was opened, for postmaster.pid and the start-up log line.
pub struct Opened {
    pub listeners: Vec<Listener>,
    /// First listen_addresses entry bound, as configured ("*", "localhost").
    pub first_listen_addr: String,
    /// First socket directory in which a socket was made.
    pub first_socket_dir: String,
    /// Socket lock files and socket files to remove at exit.
    pub socket_files: Vec<PathBuf>,
}

fn resolve(entry: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    match entry {
        "*" => Ok(vec![
            SocketAddr::new(IpAddr::from([0u8; 4]), port),
            SocketAddr::new(IpAddr::from([0u16; 8]), port),
        ]),
        "0.0.0.0" | "::" => Ok(vec![SocketAddr::new(
            entry.parse::<IpAddr>().map_err(|e| e.to_string())?,
            port,
        )]),
        _ => {
            if let Ok(ip) = entry.parse::<IpAddr>() {
                return Ok(vec![SocketAddr::new(ip, port)]);
            }
            let mut v: Vec<SocketAddr> = (entry, port)
                .to_socket_addrs()
                .map_err(|e| e.to_string())?
                .collect();
            v.dedup();
            Ok(v)
        }
    }
}

fn tcp_listener(addr: SocketAddr, backlog: i32) -> std::io::Result<Socket> {
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::STREAM.cloexec(), None)?;
    s.set_reuse_address(true)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.bind(&addr.into())?;
    s.listen(backlog)?;
    s.set_nonblocking(true)?;
    Ok(s)
}

fn unix_listener(path: &Path, backlog: i32, mode: u32) -> std::io::Result<Socket> {
    let s = Socket::new(Domain::UNIX, Type::STREAM.cloexec(), None)?;
    s.bind(&socket2::SockAddr::unix(path)?)?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode))?;
    s.listen(backlog)?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Opens every configured socket. Fails only if none could be opened, or
/// a Unix socket's lock file belongs to a live postmaster; a single
/// address that cannot be bound is a WARNING, as in PostgreSQL.
pub fn open_all(
    listen_addresses: &str,
    socket_dirs: &str,
    port: u16,
    backlog: i32,
    socket_mode: u32,
    data_dir: &Path,
    start_time: i64,
) -> Result<Opened, PgError> {
    let mut opened = Opened {
        listeners: Vec::new(),
        first_listen_addr: String::new(),
        first_socket_dir: String::new(),
        socket_files: Vec::new(),
    };
    let mut tcp_wanted = false;
    for entry in listen_addresses
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        tcp_wanted = true;
        let addrs = match resolve(entry, port) {
            Ok(a) => a,
            Err(e) => {
                elog::warning(format!(
                    "could not translate host name \"{entry}\", service \"{port}\" to address: {e}"
                ));
                continue;
            }
        };
        for addr in addrs {
            match tcp_listener(addr, backlog) {
                Ok(s) => {
                    if opened.first_listen_addr.is_empty() {
                        opened.first_listen_addr = entry.to_string();
                    }
                    elog::log(format!(
                        "listening on {} address \"{}\", port {port}",
                        if addr.is_ipv4() { "IPv4" } else { "IPv6" },
                        addr.ip()
                    ));
                    opened.listeners.push(Listener {
                        socket: s,
                        kind: ListenKind::Tcp(addr),
                    });
                }
                Err(e) => {
                    let mut w = PgError::new(
                        tusk_common::Severity::Warning,
                        sqlstate::WARNING,
                        format!(
                            "could not bind {} address \"{}\": {e}",
                            if addr.is_ipv4() { "IPv4" } else { "IPv6" },
                            addr.ip()
                        ),
                    );
                    if e.kind() == std::io::ErrorKind::AddrInUse {
                        w = w.with_hint(format!("Is another postmaster already running on port {port}? If not, wait a few seconds and retry."));
                    }
                    elog::report(&w);
                }
            }
        }
    }
    if tcp_wanted && opened.listeners.is_empty() {
        return Err(PgError::fatal(
            sqlstate::CONNECTION_FAILURE,
            "could not create any TCP/IP sockets",
        )
        .with_hint(format!(
            "Check listen_addresses (\"{listen_addresses}\") and that port {port} is free."
        )));
    }
    for dir in socket_dirs
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let dir_path = Path::new(dir);
        let lock = match crate::lockfile::create_socket_lock(dir_path, port, data_dir, start_time) {
            Ok(l) => l,
            Err(e) => {
                // Leave nothing of the sockets already made.
                for f in opened.socket_files.iter().rev() {
                    let _ = std::fs::remove_file(f);
                }
                return Err(e);
            }
        };
        let sock_path = dir_path.join(format!(".s.PGSQL.{port}"));
        // The lock is ours, so any socket file there is a leftover.
        let _ = std::fs::remove_file(&sock_path);
        match unix_listener(&sock_path, backlog, socket_mode) {
            Ok(s) => {
                elog::log(format!(
                    "listening on Unix socket \"{}\"",
                    sock_path.display()
                ));
                if opened.first_socket_dir.is_empty() {
                    opened.first_socket_dir = dir.to_string();
                }
                opened.listeners.push(Listener {
                    socket: s,
                    kind: ListenKind::Unix(sock_path.clone()),
                });
                opened.socket_files.push(sock_path);
                opened.socket_files.push(lock);
            }
            Err(e) => {
                let _ = std::fs::remove_file(&lock);
                elog::warning(format!(
                    "could not create Unix-domain socket in directory \"{dir}\": {e}"
                ));
            }
        }
    }
    if opened.listeners.is_empty() {
        return Err(PgError::fatal(
            sqlstate::CONNECTION_FAILURE,
            "no socket created for listening",
        )
        .with_hint(
            "Set listen_addresses or unix_socket_directories to something this server can open.",
        ));
    }
    Ok(opened)
}

/// Accepts one pending connection, if any (the socket is non-blocking).
/// The accepted socket is blocking and close-on-exec.
/// `Ok(None)`: nothing pending. An error other than "would block" (out of
/// descriptors, out of memory) is returned so the caller can back off.
pub fn accept(l: &Listener) -> std::io::Result<Option<(OwnedFd, Option<SocketAddr>)>> {
    match l.socket.accept() {
        Ok((s, addr)) => {
            let _ = s.set_nonblocking(false);
            if matches!(l.kind, ListenKind::Tcp(_)) {
                let _ = s.set_tcp_nodelay(true);
                let _ = s.set_keepalive(true);
            }
            let peer = addr.as_socket();
            let fd = s.as_raw_fd();
            std::mem::forget(s);
            // SAFETY: we own fd (forgot the Socket that held it).
            Ok(Some((unsafe { OwnedFd::from_raw_fd(fd) }, peer)))
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
            ) =>
        {
            Ok(None)
        }
        // The client gave up before we took it: nothing to do.
        Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => Ok(None),
        Err(e) => Err(e),
    }
}
