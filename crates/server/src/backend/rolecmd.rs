//! Role statements in a session (CREATE/ALTER/DROP ROLE, GRANT/REVOKE
//! membership, SET ROLE, SET SESSION AUTHORIZATION) and the rows of the
//! role views (pg_authid, pg_roles, pg_user, pg_auth_members,
//! pg_hba_file_rules).
//!
//! Why this way: the role store is two small files under global/
//! (roles.rs), read by every connection attempt before a catalog exists;
//! a role statement takes the store's lock, re-reads it, checks
//! PostgreSQL's privilege rules against the current role, and rewrites
//! it. The change is durable when the statement completes and cannot be
//! rolled back, so role statements refuse to run inside a transaction
//! block (where PostgreSQL would make them transactional); see
//! docs/architecture.md section 13. SET ROLE changes only this session's
//! identity. Only the backend running the statement calls these.

use super::{now_pg, Session};
use crate::roles::{self, Membership, RoleRow, Roles};
use std::sync::OnceLock;

/// The (inode, mtime) stamps of global/pg_authid and global/pg_auth_members.
type RoleStamp = (Option<(u64, i64, i64)>, Option<(u64, i64, i64)>);

thread_local! {
    /// This backend's last read of the role store, by the files' stamps.
    static ROLE_SET: std::cell::RefCell<Option<(RoleStamp, tusk_sql::acl::RoleSet)>> =
        const { std::cell::RefCell::new(None) };
}
use tusk_common::{sqlstate, PgError, Severity};
use tusk_sql::role::{RoleCommand, RoleOption};
use tusk_sql::Value;

/// The role that authenticated, and whether it is a superuser (what SET
/// SESSION AUTHORIZATION checks, as PostgreSQL's AuthenticatedUserIsSuperuser).
static AUTHENTICATED: OnceLock<(String, bool)> = OnceLock::new();

/// Recorded once by the backend after authentication.
pub(super) fn set_authenticated(user: &str, superuser: bool) {
    let _ = AUTHENTICATED.set((user.to_string(), superuser));
}

fn denied(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::INSUFFICIENT_PRIVILEGE, msg)
}

fn undefined(name: &str) -> PgError {
    PgError::error(
        sqlstate::SqlState::new("42704"),
        format!("role \"{name}\" does not exist"),
    )
}

fn io_err(what: &str, e: std::io::Error) -> PgError {
    PgError::error(sqlstate::IO_ERROR, format!("could not {what}: {e}"))
        .with_hint("Check free disk space and the permissions of the data directory's global/.")
}

fn check_name(name: &str) -> Result<(), PgError> {
    if name.starts_with("pg_") {
        return Err(PgError::error(
            sqlstate::SqlState::new("42939"),
            format!("role name \"{name}\" is reserved"),
        )
        .with_detail("Role names starting with \"pg_\" are reserved."));
    }
    if matches!(name, "public" | "none") {
        return Err(PgError::error(
            sqlstate::SqlState::new("42939"),
            format!("role name \"{name}\" is reserved"),
        ));
    }
    if name.is_empty() || name.len() > 63 || name.chars().any(char::is_whitespace) {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("invalid role name \"{name}\""),
        )
        .with_hint("tusk's role store needs names of 1 to 63 bytes without white space."));
    }
    Ok(())
}

/// IN ROLE, ROLE and ADMIN names of a CREATE ROLE.
type Memberships = (Vec<String>, Vec<String>, Vec<String>);

impl Session {
    /// The current role's row (None if it was dropped meanwhile).
    fn current_role<'a>(&self, r: &'a Roles) -> Option<&'a RoleRow> {
        r.by_name(&self.id.user)
    }

    fn apply_options(
        &mut self,
        role: &mut RoleRow,
        opts: &[RoleOption],
        roles_now: &Roles,
    ) -> Result<Memberships, PgError> {
        let (mut in_role, mut members, mut admins) = (Vec::new(), Vec::new(), Vec::new());
        for o in opts {
            match o {
                RoleOption::Superuser(b) => role.superuser = *b,
                RoleOption::CreateDb(b) => role.createdb = *b,
                RoleOption::CreateRole(b) => role.createrole = *b,
                RoleOption::Inherit(b) => role.inherit = *b,
                RoleOption::Login(b) => role.login = *b,
                RoleOption::BypassRls(b) => role.bypassrls = *b,
                RoleOption::Replication(b) => {
                    if *b {
                        return Err(PgError::error(
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            "REPLICATION roles are not supported by tusk yet",
                        ));
                    }
                }
                RoleOption::ConnectionLimit(n) => role.connlimit = *n,
                RoleOption::Password(None) => role.password = None,
                RoleOption::Password(Some(p)) if p.is_empty() => {
                    self.notice_msg("empty string is not a valid password, clearing password");
                    role.password = None;
                }
                RoleOption::Password(Some(p)) => {
                    let enc = self
                        .settings
                        .settings()
                        .str("password_encryption")
                        .to_string();
                    role.password = Some(
                        crate::scram::encrypt_password(p, &role.name, &enc)
                            .map_err(|e| PgError::error(sqlstate::INTERNAL_ERROR, e))?,
                    );
                }
                RoleOption::ValidUntil(t) => {
                    role.valid_until = Some(
                        tusk_sql::datetime::parse_timestamptz(t, now_pg()).map_err(|_| {
                            PgError::error(
                                sqlstate::SqlState::new("22007"),
                                format!(
                                "invalid input syntax for type timestamp with time zone: \"{t}\""
                            ),
                            )
                        })?,
                    )
                }
                RoleOption::InRole(v) => in_role.extend(v.iter().cloned()),
                RoleOption::Role(v) => members.extend(v.iter().cloned()),
                RoleOption::Admin(v) => admins.extend(v.iter().cloned()),
            }
        }
        for n in in_role.iter().chain(&members).chain(&admins) {
            if roles_now.by_name(n).is_none() {
                return Err(undefined(n));
            }
        }
        Ok((in_role, members, admins))
    }

    fn notice_msg(&mut self, m: &str) {
        self.send_notice(&PgError::new(
            Severity::Notice,
            sqlstate::SUCCESSFUL_COMPLETION,
            m,
        ));
    }

    fn warning_msg(&mut self, m: &str) {
        self.send_notice(&PgError::new(
            Severity::Warning,
            sqlstate::SqlState::new("01000"),
            m,
        ));
    }

    /// Runs one role statement (see the module comment).
    pub(super) fn run_role_command(&mut self, cmd: &RoleCommand) -> Result<(), PgError> {
        match cmd {
            RoleCommand::Reset(inner) => return self.run_role_command(inner),
            RoleCommand::Local(inner) => return self.set_role_locally(inner),
            RoleCommand::SetRole(r) => {
                self.role_set_for_session();
                return self.set_role(r.as_deref());
            }
            RoleCommand::SetSessionAuthorization(r) => {
                self.role_set_for_session();
                return self.set_session_authorization(r.as_deref());
            }
            _ => {}
        }
        let what = match cmd {
            RoleCommand::Create { .. } => "CREATE ROLE",
            RoleCommand::Alter { .. } | RoleCommand::Rename { .. } => "ALTER ROLE",
            RoleCommand::Drop { .. } => "DROP ROLE",
            RoleCommand::Grant { .. } => "GRANT",
            _ => "REVOKE",
        };
        self.xact.prevent_in_transaction_block(what).map_err(|e| {
            e.with_hint("tusk's role statements take effect at once and cannot be rolled back; run them outside BEGIN ... COMMIT.")
        })?;
        let dir = self.data_dir.clone();
        let _lock = roles::lock(&dir).map_err(|e| io_err("lock \"global/pg_authid.lock\"", e))?;
        let mut r = Roles::load(&dir).map_err(|e| io_err("read \"global/pg_authid\"", e))?;
        let me = self
            .current_role(&r)
            .cloned()
            .ok_or_else(|| undefined(&self.id.user))?;
        let may_createrole = me.superuser || me.createrole;
        match cmd {
            RoleCommand::Create {
                name,
                user,
                options,
            } => {
                check_name(name)?;
                if !may_createrole {
                    return Err(denied("permission denied to create role"));
                }
                if r.by_name(name).is_some() {
                    return Err(PgError::error(
                        sqlstate::SqlState::new("42710"),
                        format!("role \"{name}\" already exists"),
                    ));
                }
                let mut role = RoleRow::new(r.next_oid(), name);
                role.login = *user;
                let (in_role, members, admins) = self.apply_options(&mut role, options, &r)?;
                if role.superuser && !me.superuser {
                    return Err(denied("must be superuser to create superusers"));
                }
                if role.bypassrls && !me.superuser {
                    return Err(denied("must be superuser to create bypassrls users"));
                }
                let oid = role.oid;
                r.roles.push(role);
                for g in in_role {
                    let g = r.by_name(&g).map(|x| x.oid).unwrap_or(0);
                    r.members.push(Membership {
                        role: g,
                        member: oid,
                        admin: false,
                        grantor: me.oid,
                    });
                }
                for (list, admin) in [(members, false), (admins, true)] {
                    for m in list {
                        let m = r.by_name(&m).map(|x| x.oid).unwrap_or(0);
                        r.members.push(Membership {
                            role: oid,
                            member: m,
                            admin,
                            grantor: me.oid,
                        });
                    }
                }
            }
            RoleCommand::Alter { name, options } => {
                let name = match name.as_str() {
                    "current_user" => self.id.user.clone(),
                    "session_user" => self.id.session_user.clone(),
                    n => n.to_string(),
                };
                let Some(idx) = r.roles.iter().position(|x| x.name == name) else {
                    return Err(undefined(&name));
                };
                let mut role = r.roles[idx].clone();
                let only_password = options.iter().all(|o| matches!(o, RoleOption::Password(_)));
                let touches_super = options
                    .iter()
                    .any(|o| matches!(o, RoleOption::Superuser(_)));
                if (role.superuser || touches_super) && !me.superuser {
                    return Err(denied(
                        "must be superuser to alter superuser roles or change superuser attribute",
                    ));
                }
                if options
                    .iter()
                    .any(|o| matches!(o, RoleOption::BypassRls(_)))
                    && !me.superuser
                {
                    return Err(denied("must be superuser to change bypassrls attribute"));
                }
                if !(may_createrole || (role.oid == me.oid && only_password)) {
                    return Err(denied("permission denied"));
                }
                if role.oid == tusk_storage::bootstrap::BOOTSTRAP_SUPERUSER_OID
                    && options
                        .iter()
                        .any(|o| matches!(o, RoleOption::Superuser(false)))
                {
                    return Err(denied(
                        "permission denied: bootstrap user must be superuser",
                    ));
                }
                let (a, b, c) = self.apply_options(&mut role, options, &r)?;
                if !(a.is_empty() && b.is_empty() && c.is_empty()) {
                    return Err(tusk_common::PgError::error(
                        sqlstate::SYNTAX_ERROR,
                        "syntax error at or near \"ROLE\"",
                    ));
                }
                r.roles[idx] = role;
            }
            RoleCommand::Rename { name, new_name } => {
                check_name(new_name)?;
                let Some(idx) = r.roles.iter().position(|x| &x.name == name) else {
                    return Err(undefined(name));
                };
                if r.by_name(new_name).is_some() {
                    return Err(PgError::error(
                        sqlstate::SqlState::new("42710"),
                        format!("role \"{new_name}\" already exists"),
                    ));
                }
                if *name == self.id.session_user {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "session user cannot be renamed",
                    ));
                }
                if *name == self.id.user {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "current user cannot be renamed",
                    ));
                }
                if r.roles[idx].superuser && !me.superuser {
                    return Err(denied("must be superuser to rename superusers"));
                }
                if !may_createrole {
                    return Err(denied("permission denied to rename role"));
                }
                let role = &mut r.roles[idx];
                role.name = new_name.clone();
                // md5 salts the hash with the name: it no longer matches.
                if role
                    .password
                    .as_deref()
                    .is_some_and(crate::scram::is_md5_verifier)
                {
                    role.password = None;
                    self.notice_msg("MD5 password cleared because of role rename");
                }
            }
            RoleCommand::Drop { names, if_exists } => {
                if !may_createrole {
                    return Err(denied("permission denied to drop role"));
                }
                for name in names {
                    let Some(role) = r.by_name(name).cloned() else {
                        if *if_exists {
                            self.notice_msg(&format!("role \"{name}\" does not exist, skipping"));
                            continue;
                        }
                        return Err(undefined(name));
                    };
                    if role.name == self.id.user {
                        return Err(PgError::error(
                            sqlstate::SqlState::new("55006"),
                            "current user cannot be dropped",
                        ));
                    }
                    if role.name == self.id.session_user {
                        return Err(PgError::error(
                            sqlstate::SqlState::new("55006"),
                            "session user cannot be dropped",
                        ));
                    }
                    if role.oid == tusk_storage::bootstrap::BOOTSTRAP_SUPERUSER_OID {
                        return Err(PgError::error(
                            sqlstate::SqlState::new("2BP01"),
                            format!("cannot drop role {name} because it is required by the database system"),
                        ));
                    }
                    if role.superuser && !me.superuser {
                        return Err(denied("must be superuser to drop superusers"));
                    }
                    r.roles.retain(|x| x.oid != role.oid);
                    r.members
                        .retain(|m| m.role != role.oid && m.member != role.oid);
                }
            }
            RoleCommand::Grant {
                roles: granted,
                members,
                admin,
            } => {
                for g in granted {
                    let g = r.by_name(g).cloned().ok_or_else(|| undefined(g))?;
                    let has_admin = r
                        .members
                        .iter()
                        .any(|m| m.role == g.oid && m.member == me.oid && m.admin);
                    if g.superuser && !me.superuser {
                        return Err(denied("must be superuser to alter superusers"));
                    }
                    if !(may_createrole || has_admin) {
                        return Err(denied(format!(
                            "must have admin option on role \"{}\"",
                            g.name
                        )));
                    }
                    for m in members {
                        let m = r.by_name(m).cloned().ok_or_else(|| undefined(m))?;
                        if r.is_member_of(g.oid, m.oid) {
                            return Err(PgError::error(
                                sqlstate::SqlState::new("0LP01"),
                                format!("role \"{}\" is a member of role \"{}\"", g.name, m.name),
                            ));
                        }
                        match r
                            .members
                            .iter_mut()
                            .find(|x| x.role == g.oid && x.member == m.oid)
                        {
                            Some(x) if x.admin || !admin => {
                                self.notice_msg(&format!(
                                    "role \"{}\" is already a member of role \"{}\"",
                                    m.name, g.name
                                ));
                            }
                            Some(x) => x.admin = true,
                            None => r.members.push(Membership {
                                role: g.oid,
                                member: m.oid,
                                admin: *admin,
                                grantor: me.oid,
                            }),
                        }
                    }
                }
            }
            RoleCommand::Revoke {
                roles: revoked,
                members,
                admin_only,
            } => {
                for g in revoked {
                    let g = r.by_name(g).cloned().ok_or_else(|| undefined(g))?;
                    let has_admin = r
                        .members
                        .iter()
                        .any(|m| m.role == g.oid && m.member == me.oid && m.admin);
                    if g.superuser && !me.superuser {
                        return Err(denied("must be superuser to alter superusers"));
                    }
                    if !(may_createrole || has_admin) {
                        return Err(denied(format!(
                            "must have admin option on role \"{}\"",
                            g.name
                        )));
                    }
                    for m in members {
                        let m = r.by_name(m).cloned().ok_or_else(|| undefined(m))?;
                        let Some(i) = r
                            .members
                            .iter()
                            .position(|x| x.role == g.oid && x.member == m.oid)
                        else {
                            self.warning_msg(&format!(
                                "role \"{}\" is not a member of role \"{}\"",
                                m.name, g.name
                            ));
                            continue;
                        };
                        if *admin_only {
                            r.members[i].admin = false;
                        } else {
                            r.members.remove(i);
                        }
                    }
                }
            }
            RoleCommand::SetRole(_)
            | RoleCommand::SetSessionAuthorization(_)
            | RoleCommand::Local(_)
            | RoleCommand::Reset(_) => unreachable!(),
        }
        r.save(&dir)
            .map_err(|e| io_err("write \"global/pg_authid\"", e))
    }

    /// The role store as the privilege checks see it (crates/sql/src/acl.rs),
    /// current so that a GRANT of a role by another session counts at once:
    /// the files are read again only when either changed (every change
    /// renames a new file in, so its inode or mtime moves), which keeps a
    /// non-superuser's checks to two stat calls.
    pub(super) fn role_set(&self) -> Result<tusk_sql::acl::RoleSet, PgError> {
        use std::os::unix::fs::MetadataExt;
        let g = self.data_dir.join("global");
        let stamp = |name: &str| {
            std::fs::metadata(g.join(name))
                .map(|m| (m.ino(), m.mtime(), m.mtime_nsec()))
                .ok()
        };
        let key = (stamp("pg_authid"), stamp("pg_auth_members"));
        if key.0.is_some() {
            if let Some(hit) = ROLE_SET.with(|c| {
                c.borrow()
                    .as_ref()
                    .filter(|(k, _)| *k == key)
                    .map(|(_, r)| r.clone())
            }) {
                return Ok(hit);
            }
        }
        let r = Roles::load(&self.data_dir).map_err(|e| io_err("read \"global/pg_authid\"", e))?;
        let set = tusk_sql::acl::RoleSet {
            roles: r
                .roles
                .iter()
                .map(|x| tusk_sql::acl::RoleInfo {
                    oid: x.oid,
                    name: x.name.clone(),
                    superuser: x.superuser,
                    inherit: x.inherit,
                    bypassrls: x.bypassrls
                        || x.oid == tusk_storage::bootstrap::BOOTSTRAP_SUPERUSER_OID,
                })
                .collect(),
            members: r.members.iter().map(|m| (m.role, m.member)).collect(),
        };
        ROLE_SET.with(|c| *c.borrow_mut() = Some((key, set.clone())));
        Ok(set)
    }

    /// The current user's OID: the owner of what this session creates.
    pub(super) fn current_role_oid(&self) -> Result<u32, PgError> {
        Ok(self
            .role_set()?
            .by_name(&self.id.user)
            .map(|r| r.oid)
            .unwrap_or(tusk_sql::acl::BOOTSTRAP_SUPERUSER))
    }

    pub(super) fn set_role(&mut self, role: Option<&str>) -> Result<(), PgError> {
        let r = Roles::load(&self.data_dir).map_err(|e| io_err("read \"global/pg_authid\"", e))?;
        let session = r
            .by_name(&self.id.session_user)
            .cloned()
            .ok_or_else(|| undefined(&self.id.session_user))?;
        let target = match role {
            None => session.clone(),
            Some(name) => {
                let t = r.by_name(name).cloned().ok_or_else(|| undefined(name))?;
                if !session.superuser && !r.is_member_of(session.oid, t.oid) {
                    return Err(denied(format!("permission denied to set role \"{name}\"")));
                }
                t
            }
        };
        self.id.user = target.name.clone();
        self.id.is_superuser = target.superuser;
        // is_superuser follows the current role and is reported.
        let session_user = self.id.session_user.clone();
        self.settings
            .set_session_user(&session_user, target.superuser);
        self.send_changed(vec!["is_superuser"]);
        Ok(())
    }

    pub(super) fn set_session_authorization(&mut self, role: Option<&str>) -> Result<(), PgError> {
        let (auth_user, auth_super) = AUTHENTICATED
            .get()
            .cloned()
            .unwrap_or_else(|| (self.id.session_user.clone(), self.id.is_superuser));
        let name = role.unwrap_or(&auth_user).to_string();
        let r = Roles::load(&self.data_dir).map_err(|e| io_err("read \"global/pg_authid\"", e))?;
        let t = r.by_name(&name).cloned().ok_or_else(|| undefined(&name))?;
        if name != auth_user && !auth_super {
            return Err(denied("permission denied to set session authorization"));
        }
        self.id.session_user = t.name.clone();
        self.id.user = t.name.clone();
        self.id.is_superuser = t.superuser;
        self.settings.set_session_user(&t.name, t.superuser);
        self.send_changed(vec!["session_authorization", "is_superuser"]);
        Ok(())
    }
}

fn b(v: bool) -> Value {
    Value::Bool(v)
}

fn ts(v: Option<i64>) -> Value {
    v.map(Value::TimestampTz).unwrap_or(Value::Null)
}

/// The rows of one role view, read now from the role store (and
/// pg_hba.conf). pg_authid, which shows password verifiers, is for
/// superusers only, as in PostgreSQL.
pub(super) fn view_rows(
    data_dir: &std::path::Path,
    superuser: bool,
    v: tusk_sql::catalog::RoleView,
) -> Result<Vec<Vec<Value>>, PgError> {
    use tusk_sql::catalog::RoleView;
    if matches!(v, RoleView::Authid | RoleView::HbaFileRules) && !superuser {
        let t = if v == RoleView::Authid {
            "table pg_authid"
        } else {
            "view pg_hba_file_rules"
        };
        return Err(denied(format!("permission denied for {t}")));
    }
    if v == RoleView::HbaFileRules {
        return Ok(crate::hba::file_rules(&data_dir.join("pg_hba.conf")));
    }
    let r = Roles::load(data_dir).map_err(|e| io_err("read \"global/pg_authid\"", e))?;
    // PostgreSQL's views show a constant here, password or not.
    let masked = |_: &Option<String>| Value::Text("********".into());
    Ok(match v {
        RoleView::Authid => r
            .roles
            .iter()
            .map(|x| {
                vec![
                    Value::Oid(x.oid),
                    Value::Name(x.name.clone()),
                    b(x.superuser),
                    b(x.inherit),
                    b(x.createrole),
                    b(x.createdb),
                    b(x.login),
                    b(x.oid == tusk_storage::bootstrap::BOOTSTRAP_SUPERUSER_OID),
                    b(x.bypassrls || x.oid == tusk_storage::bootstrap::BOOTSTRAP_SUPERUSER_OID),
                    Value::Int4(x.connlimit),
                    x.password.clone().map(Value::Text).unwrap_or(Value::Null),
                    ts(x.valid_until),
                ]
            })
            .collect(),
        RoleView::Roles => r
            .roles
            .iter()
            .map(|x| {
                vec![
                    Value::Name(x.name.clone()),
                    b(x.superuser),
                    b(x.inherit),
                    b(x.createrole),
                    b(x.createdb),
                    b(x.login),
                    b(x.oid == tusk_storage::bootstrap::BOOTSTRAP_SUPERUSER_OID),
                    Value::Int4(x.connlimit),
                    masked(&x.password),
                    ts(x.valid_until),
                    b(x.bypassrls || x.oid == tusk_storage::bootstrap::BOOTSTRAP_SUPERUSER_OID),
                    Value::Null,
                    Value::Oid(x.oid),
                ]
            })
            .collect(),
        RoleView::User => r
            .roles
            .iter()
            .filter(|x| x.login)
            .map(|x| {
                vec![
                    Value::Name(x.name.clone()),
                    Value::Oid(x.oid),
                    b(x.createdb),
                    b(x.superuser),
                    b(x.oid == tusk_storage::bootstrap::BOOTSTRAP_SUPERUSER_OID),
                    b(x.bypassrls || x.oid == tusk_storage::bootstrap::BOOTSTRAP_SUPERUSER_OID),
                    masked(&x.password),
                    ts(x.valid_until),
                    Value::Null,
                ]
            })
            .collect(),
        RoleView::AuthMembers => r
            .members
            .iter()
            .map(|m| {
                vec![
                    Value::Oid(m.role),
                    Value::Oid(m.member),
                    Value::Oid(m.grantor),
                    b(m.admin),
                ]
            })
            .collect(),
        RoleView::HbaFileRules => unreachable!(),
    })
}
