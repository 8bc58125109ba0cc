//! The role store: pg_authid's attributes and pg_auth_members'
//! memberships, as the connection check and the role commands see them.
//!
//! Why files: a connecting backend must judge the role (does it exist,
//! may it log in, what is its password) before it has a database or a
//! catalog snapshot, and `tusk init` already keeps the roles the
//! connection check reads in `global/pg_authid` (storage's bootstrap.rs;
//! one line per role: `oid name superuser`). This module extends each line
//! with `key=value` fields that the older reader ignores:
//!
//! ```text
//! 10 alice t login=t inherit=t createrole=t createdb=t connlimit=-1 validuntil=- password=SCRAM-SHA-256$4096:...
//! ```
//!
//! and keeps memberships in `global/pg_auth_members` (`roleid member
//! admin_option grantor`). Both are rewritten whole (new file, fsync,
//! rename, fsync the directory) under an exclusive flock of
//! `global/pg_authid.lock`, so two role commands never lose each other's
//! change and a reader always sees a complete file. The files are mode
//! 0600: they hold password verifiers (never passwords). Role commands
//! take effect when they run and are refused inside a transaction block
//! (see docs/architecture.md section 13) until roles move into the heap
//! catalog. Any process may read; only a backend running a role command
//! (or `tusk init`) writes.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// One role (a pg_authid row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRow {
    pub oid: u32,
    pub name: String,
    pub superuser: bool,
    pub inherit: bool,
    pub createrole: bool,
    pub createdb: bool,
    pub login: bool,
    /// BYPASSRLS: row-level security policies do not apply to the role.
    pub bypassrls: bool,
    pub connlimit: i32,
    /// Microseconds since 2000-01-01 UTC (PostgreSQL's timestamptz);
    /// None: forever.
    pub valid_until: Option<i64>,
    /// A verifier (`SCRAM-SHA-256$...` or `md5...`), never a password.
    pub password: Option<String>,
}

impl RoleRow {
    /// A new role with CREATE ROLE's defaults (no LOGIN, INHERIT).
    pub fn new(oid: u32, name: &str) -> RoleRow {
        RoleRow {
            oid,
            name: name.to_string(),
            superuser: false,
            inherit: true,
            createrole: false,
            createdb: false,
            login: false,
            bypassrls: false,
            connlimit: -1,
            valid_until: None,
            password: None,
        }
    }
}

/// One membership (a pg_auth_members row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub role: u32,
    pub member: u32,
    pub admin: bool,
    pub grantor: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    pub roles: Vec<RoleRow>,
    pub members: Vec<Membership>,
}

fn tf(b: bool) -> &'static str {
    if b {
        "t"
    } else {
        "f"
    }
}

fn parse_role(fields: &[&str]) -> Option<RoleRow> {
    let oid = fields.first()?.parse().ok()?;
    let name = fields.get(1)?.to_string();
    let superuser = fields.get(2).is_some_and(|s| *s == "t");
    // A bootstrap line (`oid name t`) is the init superuser: it logs in.
    let mut r = RoleRow {
        superuser,
        createrole: superuser,
        createdb: superuser,
        login: true,
        ..RoleRow::new(oid, &name)
    };
    for f in fields.iter().skip(3) {
        let Some((k, v)) = f.split_once('=') else {
            continue;
        };
        match k {
            "login" => r.login = v == "t",
            "inherit" => r.inherit = v == "t",
            "createrole" => r.createrole = v == "t",
            "createdb" => r.createdb = v == "t",
            "bypassrls" => r.bypassrls = v == "t",
            "connlimit" => r.connlimit = v.parse().unwrap_or(-1),
            "validuntil" => r.valid_until = v.parse().ok(),
            "password" => r.password = Some(v.to_string()).filter(|p| !p.is_empty()),
            _ => {}
        }
    }
    Some(r)
}

fn data_lines(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect())
}

impl Roles {
    /// Reads both files (a missing members file is no memberships).
    pub fn load(data_dir: &Path) -> std::io::Result<Roles> {
        let g = data_dir.join("global");
        let text = std::fs::read_to_string(g.join("pg_authid"))?;
        let roles = data_lines(&text).filter_map(|f| parse_role(&f)).collect();
        let members = match std::fs::read_to_string(g.join("pg_auth_members")) {
            Ok(t) => data_lines(&t)
                .filter_map(|f| {
                    Some(Membership {
                        role: f.first()?.parse().ok()?,
                        member: f.get(1)?.parse().ok()?,
                        admin: f.get(2).is_some_and(|s| *s == "t"),
                        grantor: f.get(3).and_then(|s| s.parse().ok()).unwrap_or(10),
                    })
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(Roles { roles, members })
    }

    pub fn by_name(&self, name: &str) -> Option<&RoleRow> {
        self.roles.iter().find(|r| r.name == name)
    }

    pub fn by_oid(&self, oid: u32) -> Option<&RoleRow> {
        self.roles.iter().find(|r| r.oid == oid)
    }

    /// Whether `member` is `role` or a member of it, directly or
    /// through other roles (PostgreSQL's is_member_of_role: INHERIT does
    /// not matter for membership tests such as pg_hba's +group).
    pub fn is_member_of(&self, member: u32, role: u32) -> bool {
        let mut seen = vec![member];
        let mut i = 0;
        while i < seen.len() {
            if seen[i] == role {
                return true;
            }
            let cur = seen[i];
            for m in &self.members {
                if m.member == cur && !seen.contains(&m.role) {
                    seen.push(m.role);
                }
            }
            i += 1;
        }
        false
    }

    fn roles_text(&self) -> String {
        let mut s = String::from(
            "# oid name superuser [attribute=value ...]; written by tusk, do not edit\n",
        );
        for r in &self.roles {
            s.push_str(&format!(
                "{} {} {} login={} inherit={} createrole={} createdb={} connlimit={} validuntil={} bypassrls={} password={}\n",
                r.oid,
                r.name,
                tf(r.superuser),
                tf(r.login),
                tf(r.inherit),
                tf(r.createrole),
                tf(r.createdb),
                r.connlimit,
                r.valid_until.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                tf(r.bypassrls),
                r.password.as_deref().unwrap_or("")
            ));
        }
        s
    }

    fn members_text(&self) -> String {
        let mut s = String::from("# roleid member admin_option grantor\n");
        for m in &self.members {
            s.push_str(&format!(
                "{} {} {} {}\n",
                m.role,
                m.member,
                tf(m.admin),
                m.grantor
            ));
        }
        s
    }

    /// Writes both files (each atomically). Caller holds [`lock`].
    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        let g = data_dir.join("global");
        write_atomic(&g, "pg_authid", &self.roles_text())?;
        write_atomic(&g, "pg_auth_members", &self.members_text())
    }

    /// The next free role OID: above every role's and at least 16384.
    pub fn next_oid(&self) -> u32 {
        self.roles
            .iter()
            .map(|r| r.oid.saturating_add(1))
            .max()
            .unwrap_or(16384)
            .max(16384)
    }
}

fn write_atomic(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()
}

/// An exclusive lock on the role files, released when dropped.
pub struct RoleLock(std::fs::File);

/// Takes the role files' lock (flock(LOCK_EX) of global/pg_authid.lock),
/// waiting for another role command to finish.
pub fn lock(data_dir: &Path) -> std::io::Result<RoleLock> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(data_dir.join("global").join("pg_authid.lock"))?;
    loop {
        // SAFETY: flock on a descriptor this function owns.
        let r = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&f), libc::LOCK_EX) };
        if r == 0 {
            return Ok(RoleLock(f));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

impl Drop for RoleLock {
    fn drop(&mut self) {
        // SAFETY: unlock of the descriptor this guard owns (closing it
        // would release the lock too; this makes the order explicit).
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&self.0), libc::LOCK_UN) };
    }
}

/// `tusk init --pwfile/-W`: gives the bootstrap superuser a password,
/// hashed per `encryption` ("scram-sha-256" or "md5").
pub fn set_bootstrap_password(
    data_dir: &Path,
    password: &str,
    encryption: &str,
) -> Result<(), String> {
    let _l =
        lock(data_dir).map_err(|e| format!("could not lock \"global/pg_authid.lock\": {e}"))?;
    let mut roles =
        Roles::load(data_dir).map_err(|e| format!("could not read \"global/pg_authid\": {e}"))?;
    let Some(r) = roles.roles.iter_mut().find(|r| r.oid == 10) else {
        return Err("the bootstrap superuser is missing from \"global/pg_authid\"".into());
    };
    let name = r.name.clone();
    r.password = Some(crate::scram::encrypt_password(password, &name, encryption)?);
    roles
        .save(data_dir)
        .map_err(|e| format!("could not write \"global/pg_authid\": {e}"))
}

/// `tusk init`'s authentication options, as initdb's -A/--auth,
/// --auth-local, --auth-host, --pwfile and -W.
pub struct InitAuth {
    local: String,
    host: String,
    password: Option<String>,
    /// Whether pg_hba.conf differs from the default (all trust).
    explicit: bool,
}

const LOCAL_METHODS: &[&str] = &[
    "trust",
    "reject",
    "md5",
    "password",
    "scram-sha-256",
    "peer",
];
const HOST_METHODS: &[&str] = &["trust", "reject", "md5", "password", "scram-sha-256"];

impl InitAuth {
    pub fn from_args(
        auth: Option<&str>,
        local: Option<&str>,
        host: Option<&str>,
        pwfile: Option<&Path>,
        prompt: bool,
    ) -> Result<InitAuth, String> {
        let local = local.or(auth).unwrap_or("trust").to_string();
        let host = host.or(auth).unwrap_or("trust").to_string();
        if !LOCAL_METHODS.contains(&local.as_str()) {
            return Err(format!(
                "invalid authentication method \"{local}\" for \"local\" connections"
            ));
        }
        if !HOST_METHODS.contains(&host.as_str()) {
            return Err(format!(
                "invalid authentication method \"{host}\" for \"host\" connections"
            ));
        }
        if pwfile.is_some() && prompt {
            return Err("password prompt and password file cannot be specified together".into());
        }
        let password = if let Some(f) = pwfile {
            let t = std::fs::read_to_string(f)
                .map_err(|e| format!("could not open file \"{}\" for reading: {e}", f.display()))?;
            let first = t.lines().next().unwrap_or("").to_string();
            if first.is_empty() {
                return Err(format!("password file \"{}\" is empty", f.display()));
            }
            Some(first)
        } else if prompt {
            let ask = |what: &str| -> Result<String, String> {
                eprint!("{what}");
                let mut s = String::new();
                std::io::stdin()
                    .read_line(&mut s)
                    .map_err(|e| format!("could not read password: {e}"))?;
                Ok(s.trim_end_matches(['\n', '\r']).to_string())
            };
            let a = ask("Enter new superuser password: ")?;
            let b = ask("Enter it again: ")?;
            if a != b {
                return Err("Passwords didn't match.".into());
            }
            Some(a)
        } else {
            None
        };
        let needs_pw = |m: &str| matches!(m, "md5" | "password" | "scram-sha-256");
        if (needs_pw(&local) || needs_pw(&host)) && password.is_none() {
            return Err(format!(
                "must specify a password for the superuser to enable {} authentication",
                if needs_pw(&local) { &local } else { &host }
            ));
        }
        let explicit = auth.is_some() || local != "trust" || host != "trust";
        Ok(InitAuth {
            local,
            host,
            password,
            explicit,
        })
    }

    /// Writes pg_hba.conf's methods and the superuser's password (as
    /// SCRAM-SHA-256, the default password_encryption) into the new
    /// data directory.
    pub fn apply(&self, data_dir: &Path) -> Result<(), String> {
        if self.explicit {
            let text = crate::hba::initial_hba(&self.local, &self.host);
            std::fs::write(data_dir.join("pg_hba.conf"), text)
                .map_err(|e| format!("could not write file \"pg_hba.conf\": {e}"))?;
        }
        if let Some(p) = &self.password {
            set_bootstrap_password(data_dir, p, "scram-sha-256")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_line_reads_and_roles_round_trip() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("global")).unwrap();
        tusk_storage::bootstrap::write_initial(d.path(), "alice").unwrap();
        let mut r = Roles::load(d.path()).unwrap();
        let a = r.by_name("alice").unwrap();
        assert!(a.superuser && a.login && a.password.is_none());
        let mut bob = RoleRow::new(r.next_oid(), "bob");
        bob.login = true;
        bob.connlimit = 2;
        bob.valid_until = Some(123);
        bob.password = Some("md5abc".into());
        r.roles.push(bob.clone());
        r.roles.push(RoleRow::new(r.next_oid(), "staff"));
        r.members.push(Membership {
            role: 16385,
            member: 16384,
            admin: false,
            grantor: 10,
        });
        {
            let _l = lock(d.path()).unwrap();
            r.save(d.path()).unwrap();
        }
        let back = Roles::load(d.path()).unwrap();
        assert_eq!(back, r);
        assert!(back.is_member_of(16384, 16385));
        assert!(!back.is_member_of(16385, 16384));
        // The older reader still sees oid, name and superuser.
        let old = tusk_storage::bootstrap::roles(d.path()).unwrap();
        assert_eq!(old.len(), 3);
        assert_eq!(old[1].name, "bob");
        set_bootstrap_password(d.path(), "pw", "scram-sha-256").unwrap();
        let p = Roles::load(d.path()).unwrap().roles[0]
            .password
            .clone()
            .unwrap();
        assert!(crate::scram::verify_plain(&p, "alice", "pw"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path().join("global/pg_authid"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
