//! `pg_hba.conf`: which client may connect to which database as which
//! user, and how it proves it.
//!
//! PostgreSQL's format, first matching line wins (no fall-through: a
//! failed password does not try the next line):
//! `local DATABASE USER METHOD [OPTIONS]` and `host|hostssl|hostnossl
//! DATABASE USER ADDRESS METHOD [OPTIONS]` (ADDRESS as CIDR, as `address
//! mask`, `all`, `samehost` or `samenet`). DATABASE and USER are comma
//! lists; `all`, `sameuser`, `samerole`/`samegroup`, `+group` (members of
//! a role) and `@file` (names read from a file next to pg_hba.conf) work
//! as in PostgreSQL; `include`, `include_if_exists` and `include_dir`
//! (PostgreSQL 16's directives) splice other files in. `hostssl` lines
//! match TLS connections only, `hostnossl` plain ones; the option
//! `clientcert=verify-ca|verify-full` (hostssl only) asks for a client
//! certificate the CA signed (and whose CN is the user), and `cert`
//! (hostssl only) authenticates by it.
//! Methods: trust, reject, password, md5, scram-sha-256 and peer (Unix
//! sockets only) are carried out by the backend (backend/auth.rs); the
//! other PostgreSQL methods load but refuse the connection with a message
//! saying tusk lacks them, rather than silently trusting. The file is
//! checked whole when loaded: a bad line keeps the previous rules (the
//! postmaster logs why), as PostgreSQL's reload does.

use std::net::IpAddr;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
enum ConnType {
    Local,
    Host,
    HostSsl,
    HostNoSsl,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AddrMatch {
    All,
    Net(IpAddr, u8),
    /// One of the server's own addresses.
    SameHost,
    /// Any subnet the server is directly on.
    SameNet,
}

/// A line's `clientcert` option (`cert` implies verify-full).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCert {
    Off,
    VerifyCa,
    VerifyFull,
}

#[derive(Debug, Clone)]
pub struct HbaLine {
    line_no: usize,
    conn: ConnType,
    databases: Vec<String>,
    users: Vec<String>,
    addr: Option<AddrMatch>,
    pub method: String,
    /// `clientcert=` (or `cert`'s implied verify-full).
    pub clientcert: ClientCert,
    /// The line as written (for "Connection matched pg_hba.conf line N").
    raw: String,
}

/// PostgreSQL's method names; the ones tusk carries out are [`SUPPORTED`].
const METHODS: &[&str] = &[
    "trust",
    "reject",
    "md5",
    "password",
    "scram-sha-256",
    "peer",
    "ident",
    "gss",
    "sspi",
    "pam",
    "bsd",
    "ldap",
    "radius",
    "cert",
];
pub const SUPPORTED: &[&str] = &[
    "trust",
    "reject",
    "cert",
    "md5",
    "password",
    "scram-sha-256",
    "peer",
];

/// The server's interface addresses with their netmask prefix
/// (getifaddrs(3)); empty when the call fails.
fn interfaces() -> Vec<(IpAddr, u8)> {
    fn ip_of(sa: *const libc::sockaddr) -> Option<IpAddr> {
        if sa.is_null() {
            return None;
        }
        // SAFETY: getifaddrs hands out sockaddrs of the family they name.
        unsafe {
            match (*sa).sa_family as i32 {
                libc::AF_INET => {
                    let s = &*(sa as *const libc::sockaddr_in);
                    Some(IpAddr::V4(std::net::Ipv4Addr::from(u32::from_be(
                        s.sin_addr.s_addr,
                    ))))
                }
                libc::AF_INET6 => {
                    let s = &*(sa as *const libc::sockaddr_in6);
                    Some(IpAddr::V6(std::net::Ipv6Addr::from(s.sin6_addr.s6_addr)))
                }
                _ => None,
            }
        }
    }
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: head is a live local the call fills; freed below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: cur walks the list getifaddrs returned.
        let ifa = unsafe { &*cur };
        if let (Some(ip), Some(m)) = (ip_of(ifa.ifa_addr), ip_of(ifa.ifa_netmask)) {
            if let Some(p) = prefix_from_mask(m) {
                out.push((ip, p));
            }
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: head came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}

#[derive(Debug, Clone, Default)]
pub struct Hba {
    lines: Vec<HbaLine>,
}

fn prefix_from_mask(mask: IpAddr) -> Option<u8> {
    let bits: u128 = match mask {
        IpAddr::V4(m) => (u32::from(m) as u128) << 96,
        IpAddr::V6(m) => u128::from(m),
    };
    let ones = bits.leading_ones();
    if bits.checked_shl(ones).unwrap_or(0) != 0 {
        return None; // not contiguous
    }
    Some(match mask {
        IpAddr::V4(_) => ones as u8,
        IpAddr::V6(_) => ones as u8,
    })
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix.min(32))
            };
            u32::from(a) & m == u32::from(n) & m
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix.min(128) as u32)
            };
            u128::from(a) & m == u128::from(n) & m
        }
        (IpAddr::V6(a), IpAddr::V4(_)) => a
            .to_ipv4_mapped()
            .is_some_and(|v4| in_net(IpAddr::V4(v4), net, prefix)),
        _ => false,
    }
}

impl Hba {
    /// Reads and checks the whole file; an error names file:line and what
    /// was wrong.
    pub fn load(path: &Path) -> Result<Hba, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("could not open file \"{}\": {e}", path.display()))?;
        Hba::parse_in(&text, &path.display().to_string(), path.parent())
    }

    pub fn parse(text: &str, name: &str) -> Result<Hba, String> {
        Hba::parse_in(text, name, None)
    }

    /// Parses `text`; `@file` names are read relative to `dir`.
    pub fn parse_in(text: &str, name: &str, dir: Option<&Path>) -> Result<Hba, String> {
        Hba::parse_depth(text, name, dir, 0)
    }

    /// `include FILE`, `include_if_exists FILE` and `include_dir DIR`
    /// (PostgreSQL 16's directives; a relative name is relative to the
    /// including file's directory) splice the named files' rules in
    /// place, at most 10 levels deep.
    fn parse_depth(
        text: &str,
        name: &str,
        dir: Option<&Path>,
        depth: usize,
    ) -> Result<Hba, String> {
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let l = raw.split('#').next().unwrap_or("").trim();
            if l.is_empty() {
                continue;
            }
            let f: Vec<&str> = l.split_whitespace().collect();
            let err = |m: String| format!("{name}:{line_no}: {m}");
            if matches!(f[0], "include" | "include_if_exists" | "include_dir") {
                if f.len() != 2 {
                    return Err(err(format!(
                        "invalid syntax: \"{}\" takes one file name",
                        f[0]
                    )));
                }
                if depth >= 10 {
                    return Err(err(format!(
                        "could not open file \"{}\": maximum nesting depth exceeded",
                        f[1]
                    )));
                }
                let target = f[1].trim_matches('"');
                let path = match dir {
                    Some(d) => d.join(target),
                    None => Path::new(target).to_path_buf(),
                };
                let files = if f[0] == "include_dir" {
                    let mut v: Vec<std::path::PathBuf> = std::fs::read_dir(&path)
                        .map_err(|e| {
                            err(format!(
                                "could not open directory \"{}\": {e}",
                                path.display()
                            ))
                        })?
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
                        .collect();
                    v.sort();
                    v
                } else {
                    vec![path]
                };
                for p in files {
                    let text = match std::fs::read_to_string(&p) {
                        Ok(t) => t,
                        Err(e)
                            if f[0] == "include_if_exists"
                                && e.kind() == std::io::ErrorKind::NotFound =>
                        {
                            continue
                        }
                        Err(e) => {
                            return Err(err(format!(
                                "could not open file \"{}\": {e}",
                                p.display()
                            )))
                        }
                    };
                    let sub =
                        Hba::parse_depth(&text, &p.display().to_string(), p.parent(), depth + 1)?;
                    lines.extend(sub.lines);
                }
                continue;
            }
            let conn = match f[0] {
                "local" => ConnType::Local,
                "host" => ConnType::Host,
                "hostssl" => ConnType::HostSsl,
                "hostnossl" => ConnType::HostNoSsl,
                other => {
                    return Err(err(format!(
                        "invalid connection type \"{other}\" (allowed: local, host, hostssl, hostnossl)"
                    )))
                }
            };
            let need = if conn == ConnType::Local { 4 } else { 5 };
            if f.len() < need {
                return Err(err(format!(
                    "end-of-line before authentication method (expected {need} fields, found {})",
                    f.len()
                )));
            }
            let list = |s: &str| -> Result<Vec<String>, String> {
                let mut out = Vec::new();
                for x in s.split(',') {
                    match x.strip_prefix('@') {
                        Some(file) => {
                            let p = match dir {
                                Some(d) => d.join(file),
                                None => Path::new(file).to_path_buf(),
                            };
                            let t = std::fs::read_to_string(&p).map_err(|e| {
                                err(format!(
                                    "could not open secondary authentication file \"@{file}\" as \"{}\": {e}",
                                    p.display()
                                ))
                            })?;
                            for l in t.lines() {
                                let l = l.split('#').next().unwrap_or("");
                                out.extend(
                                    l.split(|c: char| c == ',' || c.is_whitespace())
                                        .filter(|w| !w.is_empty())
                                        .map(str::to_string),
                                );
                            }
                        }
                        None => out.push(x.to_string()),
                    }
                }
                Ok(out)
            };
            let (addr, method_at) = if conn == ConnType::Local {
                (None, 3)
            } else if f[3] == "all" {
                (Some(AddrMatch::All), 4)
            } else if f[3] == "samehost" {
                (Some(AddrMatch::SameHost), 4)
            } else if f[3] == "samenet" {
                (Some(AddrMatch::SameNet), 4)
            } else if let Some((a, p)) = f[3].split_once('/') {
                let ip: IpAddr = a
                    .parse()
                    .map_err(|_| err(format!("invalid IP address \"{a}\"")))?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let p: u8 = p.parse().ok().filter(|&p| p <= max).ok_or_else(|| {
                    err(format!(
                        "invalid CIDR mask in address \"{}\" (allowed: 0 to {max})",
                        f[3]
                    ))
                })?;
                (Some(AddrMatch::Net(ip, p)), 4)
            } else if let Ok(ip) = f[3].parse::<IpAddr>() {
                let mask: IpAddr = f.get(4).and_then(|m| m.parse().ok()).ok_or_else(|| {
                    err(format!(
                        "IP address \"{}\" needs a CIDR mask or a separate netmask",
                        f[3]
                    ))
                })?;
                let p = prefix_from_mask(mask)
                    .ok_or_else(|| err(format!("invalid IP mask \"{mask}\"")))?;
                if f.len() < 6 {
                    return Err(err("end-of-line before authentication method".into()));
                }
                (Some(AddrMatch::Net(ip, p)), 5)
            } else {
                return Err(err(format!("host names in pg_hba.conf are not supported by tusk yet: \"{}\"; use an IP address with a mask", f[3])));
            };
            let method = f[method_at].to_string();
            if !METHODS.contains(&method.as_str()) {
                return Err(err(format!("invalid authentication method \"{method}\"")));
            }
            if method == "peer" && conn != ConnType::Local {
                return Err(err(
                    "peer authentication is only supported on local sockets".into(),
                ));
            }
            let mut clientcert = ClientCert::Off;
            if method == "cert" {
                if conn != ConnType::HostSsl {
                    return Err(err(
                        "cert authentication is only supported on hostssl connections".into(),
                    ));
                }
                clientcert = ClientCert::VerifyFull;
            }
            for opt in &f[method_at + 1..] {
                let Some(v) = opt.strip_prefix("clientcert=") else {
                    continue;
                };
                if conn != ConnType::HostSsl {
                    return Err(err(
                        "clientcert can only be configured for \"hostssl\" rows".into(),
                    ));
                }
                clientcert = match v {
                    "verify-full" => ClientCert::VerifyFull,
                    "verify-ca" if method == "cert" => {
                        return Err(err("clientcert only accepts \"verify-full\" when using \"cert\" authentication".into()))
                    }
                    "verify-ca" => ClientCert::VerifyCa,
                    _ => return Err(err(format!("invalid value for clientcert: \"{v}\""))),
                };
            }
            lines.push(HbaLine {
                line_no,
                conn,
                databases: list(f[1])?,
                users: list(f[2])?,
                addr,
                method,
                raw: raw.trim_end().to_string(),
                clientcert,
            });
        }
        Ok(Hba { lines })
    }

    /// The first plain (not TLS) line matching the connection, or None;
    /// memberships (`+group`, `samerole`) count as none.
    pub fn find(&self, client: Option<IpAddr>, database: &str, user: &str) -> Option<&HbaLine> {
        self.find_with(client, false, database, user, &|_, _| false)
    }

    /// The first line matching the connection, TLS (`ssl`) or not;
    /// memberships count as none.
    pub fn find_tls(
        &self,
        client: Option<IpAddr>,
        ssl: bool,
        database: &str,
        user: &str,
    ) -> Option<&HbaLine> {
        self.find_with(client, ssl, database, user, &|_, _| false)
    }

    /// The first line matching the connection, TLS (`ssl`) or not.
    /// `is_member(user, role)` answers `+role` and `samerole`.
    pub fn find_with(
        &self,
        client: Option<IpAddr>,
        ssl: bool,
        database: &str,
        user: &str,
        is_member: &dyn Fn(&str, &str) -> bool,
    ) -> Option<&HbaLine> {
        let ifaces = std::cell::OnceCell::new();
        self.lines.iter().find(|l| {
            let conn_ok = match (&l.conn, client) {
                (ConnType::Local, None) | (ConnType::Host, Some(_)) => true,
                (ConnType::HostSsl, Some(_)) => ssl,
                (ConnType::HostNoSsl, Some(_)) => !ssl,
                _ => false,
            };
            let addr_ok = match (&l.addr, client) {
                (None, None) | (Some(AddrMatch::All), Some(_)) => true,
                (Some(AddrMatch::Net(n, p)), Some(ip)) => in_net(ip, *n, *p),
                (Some(AddrMatch::SameHost), Some(ip)) => ifaces
                    .get_or_init(interfaces)
                    .iter()
                    .any(|(a, _)| in_net(ip, *a, if a.is_ipv4() { 32 } else { 128 })),
                (Some(AddrMatch::SameNet), Some(ip)) => ifaces
                    .get_or_init(interfaces)
                    .iter()
                    .any(|(a, p)| in_net(ip, *a, *p)),
                _ => false,
            };
            let db_ok = l.databases.iter().any(|d| {
                d == "all"
                    || d == database
                    || (d == "sameuser" && database == user)
                    || ((d == "samerole" || d == "samegroup") && is_member(user, database))
            });
            let user_ok = l.users.iter().any(|u| {
                u == "all"
                    || u.trim_matches('"') == user
                    || u.strip_prefix('+').is_some_and(|g| is_member(user, g))
            });
            conn_ok && addr_ok && db_ok && user_ok
        })
    }
}

impl HbaLine {
    pub fn line_no(&self) -> usize {
        self.line_no
    }

    /// The line's text as written in the file.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The line as written (the log DETAIL's text).
    pub fn text(&self) -> &str {
        &self.raw
    }
}

fn array_text(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| {
            if s.is_empty() || s.contains([',', '{', '}', '"', '\\', ' ']) {
                format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
            } else {
                s.clone()
            }
        })
        .collect();
    format!("{{{}}}", quoted.join(","))
}

fn mask_of(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::from(if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix as u32)
        })),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from(if prefix == 0 {
            0
        } else {
            u128::MAX << (128 - prefix as u32)
        })),
    }
}

/// pg_hba_file_rules: one row per rule line of the file as it is on disk
/// now (not necessarily the rules in force), with the error of a bad
/// line in the last column, as PostgreSQL's view.
pub fn file_rules(path: &Path) -> Vec<Vec<tusk_sql::Value>> {
    use tusk_sql::Value;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            let mut row = vec![Value::Null; 9];
            row[8] = Value::Text(format!("could not open file \"{}\": {e}", path.display()));
            return vec![row];
        }
    };
    let name = path.display().to_string();
    let mut rows = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.split('#').next().unwrap_or("").trim().is_empty() {
            continue;
        }
        let line_no = Value::Int4(i as i32 + 1);
        match Hba::parse_in(raw, &name, path.parent()) {
            Ok(h) => {
                let Some(l) = h.lines.first() else { continue };
                let t = |s: &str| Value::Text(s.to_string());
                let (addr, mask) = match &l.addr {
                    None => (Value::Null, Value::Null),
                    Some(AddrMatch::All) => (t("all"), Value::Null),
                    Some(AddrMatch::SameHost) => (t("samehost"), Value::Null),
                    Some(AddrMatch::SameNet) => (t("samenet"), Value::Null),
                    Some(AddrMatch::Net(ip, p)) => {
                        (t(&ip.to_string()), t(&mask_of(*ip, *p).to_string()))
                    }
                };
                rows.push(vec![
                    line_no,
                    t(match l.conn {
                        ConnType::Local => "local",
                        ConnType::Host => "host",
                        ConnType::HostSsl => "hostssl",
                        ConnType::HostNoSsl => "hostnossl",
                    }),
                    t(&array_text(&l.databases)),
                    t(&array_text(&l.users)),
                    addr,
                    mask,
                    t(&l.method),
                    Value::Null,
                    Value::Null,
                ]);
            }
            Err(e) => {
                let msg = e.split_once(": ").map(|(_, m)| m).unwrap_or(&e);
                let mut row = vec![Value::Null; 9];
                row[0] = line_no;
                row[8] = Value::Text(msg.to_string());
                rows.push(row);
            }
        }
    }
    rows
}

/// The pg_hba.conf `tusk init --auth-local L --auth-host H` writes.
pub fn initial_hba(local: &str, host: &str) -> String {
    format!(
        "\
# tusk client authentication configuration file (PostgreSQL's pg_hba.conf format)
#
# TYPE  DATABASE        USER            ADDRESS                 METHOD

# \"local\" is for Unix domain socket connections only
local   all             all                                     {local}
# IPv4 local connections:
host    all             all             127.0.0.1/32            {host}
# IPv6 local connections:
host    all             all             ::1/128                 {host}
"
    )
}

/// The pg_hba.conf `tusk init` writes.
pub const DEFAULT_HBA: &str = "\
# tusk client authentication configuration file (PostgreSQL's pg_hba.conf format)
#
# TYPE  DATABASE        USER            ADDRESS                 METHOD
#
# Trust lets anyone who can reach the socket connect as any role: use
# scram-sha-256 (tusk init --auth=scram-sha-256 --pwfile=FILE) before
# listening beyond localhost.

# \"local\" is for Unix domain socket connections only
local   all             all                                     trust
# IPv4 local connections:
host    all             all             127.0.0.1/32            trust
# IPv6 local connections:
host    all             all             ::1/128                 trust
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_trusts_local_only() {
        let h = Hba::parse(DEFAULT_HBA, "pg_hba.conf").unwrap();
        assert_eq!(h.find(None, "postgres", "u").unwrap().method, "trust");
        assert_eq!(
            h.find(Some("127.0.0.1".parse().unwrap()), "postgres", "u")
                .unwrap()
                .method,
            "trust"
        );
        assert!(h
            .find(Some("10.1.2.3".parse().unwrap()), "postgres", "u")
            .is_none());
        assert_eq!(
            h.find(Some("::1".parse().unwrap()), "db", "u")
                .unwrap()
                .line_no(),
            14
        );
    }

    #[test]
    fn includes_groups_and_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("admins"), "root, alice\n# comment\nbob\n").unwrap();
        std::fs::write(
            d.path().join("inc.conf"),
            "host all @admins 10.0.0.0/8 md5\n",
        )
        .unwrap();
        let text = "include inc.conf\ninclude_if_exists missing.conf\nhost samerole +staff all scram-sha-256\nlocal all all peer\n";
        std::fs::write(d.path().join("pg_hba.conf"), text).unwrap();
        let h = Hba::load(&d.path().join("pg_hba.conf")).unwrap();
        let ip = Some("10.1.1.1".parse().unwrap());
        let l = h.find(ip, "db", "bob").unwrap();
        assert_eq!((l.method.as_str(), l.line_no()), ("md5", 1));
        assert!(l.raw().starts_with("host all @admins"));
        // +staff and samerole need membership.
        assert!(h
            .find(Some("192.0.2.1".parse().unwrap()), "staff", "carol")
            .is_none());
        let member = |u: &str, g: &str| u == "carol" && g == "staff";
        let l = h
            .find_with(
                Some("192.0.2.1".parse().unwrap()),
                false,
                "staff",
                "carol",
                &member,
            )
            .unwrap();
        assert_eq!(l.method, "scram-sha-256");
        assert!(h
            .find_with(
                Some("192.0.2.1".parse().unwrap()),
                false,
                "other",
                "carol",
                &member
            )
            .is_none());
        assert_eq!(h.find(None, "x", "y").unwrap().method, "peer");
        // Bad files: a missing include, peer on a host line, an unknown method.
        for bad in [
            "include nosuch.conf",
            "host all all 1.2.3.4/32 peer",
            "host all all 1.2.3.4/32 trusty",
        ] {
            assert!(Hba::parse_in(bad, "f", Some(d.path())).is_err(), "{bad}");
        }
        // samehost matches the loopback address (an interface of any host).
        let h = Hba::parse("host all all samehost trust\n", "f").unwrap();
        assert!(h
            .find(Some("127.0.0.1".parse().unwrap()), "d", "u")
            .is_some());
        assert!(h
            .find(Some("192.0.2.77".parse().unwrap()), "d", "u")
            .is_none());
    }

    #[test]
    fn hostssl_hostnossl_and_clientcert() {
        let h = Hba::parse(
            "hostnossl all all 127.0.0.1/32 reject\nhostssl all all 127.0.0.1/32 trust clientcert=verify-ca\nhostssl all all 0.0.0.0/0 cert\n",
            "f",
        )
        .unwrap();
        let ip = Some("127.0.0.1".parse().unwrap());
        assert_eq!(h.find_tls(ip, false, "d", "u").unwrap().method, "reject");
        let l = h.find_tls(ip, true, "d", "u").unwrap();
        assert_eq!(
            (l.method.as_str(), l.clientcert),
            ("trust", ClientCert::VerifyCa)
        );
        let l = h
            .find_tls(Some("10.0.0.1".parse().unwrap()), true, "d", "u")
            .unwrap();
        assert_eq!(
            (l.method.as_str(), l.clientcert),
            ("cert", ClientCert::VerifyFull)
        );
        assert!(h
            .find_tls(Some("10.0.0.1".parse().unwrap()), false, "d", "u")
            .is_none());
        for (bad, why) in [
            (
                "host all all 0.0.0.0/0 cert",
                "cert authentication is only supported on hostssl connections",
            ),
            (
                "host all all 0.0.0.0/0 trust clientcert=verify-ca",
                "clientcert can only be configured for \"hostssl\" rows",
            ),
            (
                "hostssl all all 0.0.0.0/0 cert clientcert=verify-ca",
                "clientcert only accepts \"verify-full\" when using \"cert\" authentication",
            ),
            (
                "hostssl all all 0.0.0.0/0 trust clientcert=1",
                "invalid value for clientcert: \"1\"",
            ),
        ] {
            assert_eq!(Hba::parse(bad, "f").unwrap_err(), format!("f:1: {why}"));
        }
    }

    #[test]
    fn masks_lists_and_errors() {
        let h = Hba::parse(
            "host db1,db2 alice 192.168.0.0 255.255.0.0 reject\nhost all all 0.0.0.0/0 trust\n",
            "f",
        )
        .unwrap();
        assert_eq!(
            h.find(Some("192.168.9.9".parse().unwrap()), "db2", "alice")
                .unwrap()
                .method,
            "reject"
        );
        assert_eq!(
            h.find(Some("192.168.9.9".parse().unwrap()), "db3", "alice")
                .unwrap()
                .method,
            "trust"
        );
        for bad in [
            "foo all all trust",
            "host all all",
            "host all all 1.2.3.4/99 trust",
            "host all all example.com trust",
            "host all all 1.2.3.4 255.0.255.0 trust",
        ] {
            let e = Hba::parse(bad, "f").unwrap_err();
            assert!(e.starts_with("f:1: "), "{e}");
        }
    }
}
