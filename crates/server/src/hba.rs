//! `pg_hba.conf`: which client may connect to which database as which
//! user, and how it proves it.
//!
//! PostgreSQL's format, first matching line wins:
//! `local DATABASE USER METHOD` and `host|hostnossl DATABASE USER ADDRESS
//! METHOD` (ADDRESS as CIDR, as `address mask`, or `all`); `hostssl`
//! lines match TLS connections only, `hostnossl` plain ones. Methods:
//! `trust`, `reject` and `cert` (hostssl only); any other method is
//! refused with a message saying tusk does not support it yet, rather
//! than silently trusting. The option `clientcert=verify-ca|verify-full`
//! (hostssl only) asks for a client certificate the CA signed (and whose
//! CN is the user).

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
    pub clientcert: ClientCert,
    /// The line as written (without comment), for log DETAILs.
    text: String,
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
        Hba::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, name: &str) -> Result<Hba, String> {
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let l = raw.split('#').next().unwrap_or("").trim();
            if l.is_empty() {
                continue;
            }
            let f: Vec<&str> = l.split_whitespace().collect();
            let err = |m: String| format!("{name}:{line_no}: {m}");
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
            let list = |s: &str| {
                s.split(',')
                    .map(|x| x.trim_matches('"').to_string())
                    .collect::<Vec<_>>()
            };
            let (addr, method_at) = if conn == ConnType::Local {
                (None, 3)
            } else if f[3] == "all" || f[3] == "samehost" || f[3] == "samenet" {
                (Some(AddrMatch::All), 4)
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
                databases: list(f[1]),
                users: list(f[2]),
                addr,
                method,
                clientcert,
                text: l.to_string(),
            });
        }
        Ok(Hba { lines })
    }

    /// The first line matching a plain (not TLS) connection, or None.
    pub fn find(&self, client: Option<IpAddr>, database: &str, user: &str) -> Option<&HbaLine> {
        self.find_tls(client, false, database, user)
    }

    /// The first line matching the connection, TLS (`ssl`) or not.
    pub fn find_tls(
        &self,
        client: Option<IpAddr>,
        ssl: bool,
        database: &str,
        user: &str,
    ) -> Option<&HbaLine> {
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
                _ => false,
            };
            let db_ok = l
                .databases
                .iter()
                .any(|d| d == "all" || d == database || (d == "sameuser" && database == user));
            let user_ok = l.users.iter().any(|u| u == "all" || u == user);
            conn_ok && addr_ok && db_ok && user_ok
        })
    }
}

impl HbaLine {
    pub fn line_no(&self) -> usize {
        self.line_no
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// The pg_hba.conf `tusk init` writes.
pub const DEFAULT_HBA: &str = "\
# tusk client authentication configuration file (PostgreSQL's pg_hba.conf format)
#
# TYPE  DATABASE        USER            ADDRESS                 METHOD
#
# tusk supports the methods \"trust\" and \"reject\" for now. Trust lets
# anyone who can reach the socket connect as any role: keep
# listen_addresses on localhost until password methods exist.

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
