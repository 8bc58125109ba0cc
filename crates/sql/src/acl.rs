//! Object privileges: PostgreSQL's aclitem lists (their stored and display forms), GRANT/REVOKE ... ON, and the permission checks that read them.
//!
//! Why it is built this way: PostgreSQL keeps an object's privileges in
//! the object's own catalog row (pg_class.relacl, ...) as an `aclitem[]`,
//! NULL meaning "the owner's defaults", and every check is a mask over
//! that list: the privileges granted to the role itself, to PUBLIC and to
//! the roles whose privileges it inherits. tusk stores the same array
//! byte for byte (storage's datum.rs turns the stored text form
//! `{10=arwdDxt/10,=r/10}`, grantee and grantor as OIDs, into the on-disk
//! array), so one list is the truth for GRANT, REVOKE, the checks and
//! has_*_privilege, and a restart keeps it. Role names appear only in the
//! display form, resolved through the host's role store ([`RoleSet`]).
//!
//! Checks run when a statement is bound (a FROM item, a DML target,
//! TRUNCATE, owner-only DDL). A view's query is checked with the view
//! owner's rights, as PostgreSQL's checkAsUser does ([`as_owner`]).
//! Superusers bypass every check without reading the role store.
//!
//! Pure logic apart from [`check_relation`] and [`run`], which a backend
//! calls through its [`Host`].

use std::cell::Cell;

use tusk_common::{sqlstate, PgError};

use crate::catalog::{Relation, RelationSource};
use crate::host::Host;
use crate::Value;

pub const INSERT: u32 = 1 << 0;
pub const SELECT: u32 = 1 << 1;
pub const UPDATE: u32 = 1 << 2;
pub const DELETE: u32 = 1 << 3;
pub const TRUNCATE: u32 = 1 << 4;
pub const REFERENCES: u32 = 1 << 5;
pub const TRIGGER: u32 = 1 << 6;
pub const EXECUTE: u32 = 1 << 7;
pub const USAGE: u32 = 1 << 8;
pub const CREATE: u32 = 1 << 9;
pub const TEMP: u32 = 1 << 10;
pub const CONNECT: u32 = 1 << 11;

/// PostgreSQL's privilege letters, bit by bit (ACL_ALL_RIGHTS_STR).
const LETTERS: &[u8; 14] = b"arwdDxtXUCTcsA";

/// The OID of the bootstrap superuser, owner of objects made before
/// ownership was recorded.
pub const BOOTSTRAP_SUPERUSER: u32 = 10;

/// The kinds of objects that carry an ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjType {
    Table,
    Sequence,
    Schema,
    Function,
    Database,
    Type,
    Language,
    /// Foreign-data wrappers and foreign servers (fdw.rs): USAGE only.
    ForeignDataWrapper,
    ForeignServer,
}

impl ObjType {
    /// Every privilege this kind of object has (ACL_ALL_RIGHTS_*).
    pub fn all_rights(self) -> u32 {
        match self {
            ObjType::Table => INSERT | SELECT | UPDATE | DELETE | TRUNCATE | REFERENCES | TRIGGER,
            ObjType::Sequence => USAGE | SELECT | UPDATE,
            ObjType::Schema => USAGE | CREATE,
            ObjType::Function => EXECUTE,
            ObjType::Database => CREATE | TEMP | CONNECT,
            ObjType::Type | ObjType::Language => USAGE,
            ObjType::ForeignDataWrapper | ObjType::ForeignServer => USAGE,
        }
    }
}

/// One aclitem: `grantee` (0 = PUBLIC) holds `privs` (low 16 bits) and
/// grant options for them (high 16 bits), granted by `grantor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AclItem {
    pub grantee: u32,
    pub grantor: u32,
    pub privs: u32,
}

impl AclItem {
    fn rights(&self) -> u32 {
        self.privs & 0xFFFF
    }
    fn options(&self) -> u32 {
        self.privs >> 16
    }
}

/// The ACL an object has while its column is NULL (acldefault): the owner
/// holds everything; PUBLIC may execute functions and connect to (and make
/// temporary tables in) databases.
pub fn default_acl(kind: ObjType, owner: u32) -> Vec<AclItem> {
    // The owner's grant options are implicit (see [`mask`]), not stored.
    let mut acl = vec![AclItem {
        grantee: owner,
        grantor: owner,
        privs: kind.all_rights(),
    }];
    let public = match kind {
        ObjType::Function => EXECUTE,
        ObjType::Database => TEMP | CONNECT,
        ObjType::Type | ObjType::Language => USAGE,
        _ => 0,
    };
    // PUBLIC's item comes first, as acldefault builds the list.
    if public != 0 {
        acl.insert(
            0,
            AclItem {
                grantee: 0,
                grantor: owner,
                privs: public,
            },
        );
    }
    acl
}

/// An object's ACL from its catalog column (the stored text form; NULL
/// is the default).
pub fn acl_of(stored: Option<&str>, kind: ObjType, owner: u32) -> Vec<AclItem> {
    match stored.and_then(parse_stored) {
        Some(a) => a,
        None => default_acl(kind, owner),
    }
}

/// Parses the stored text form `{10=arwdDxt/10,=r*/10}`.
pub fn parse_stored(s: &str) -> Option<Vec<AclItem>> {
    let inner = s.strip_prefix('{')?.strip_suffix('}')?;
    let mut out = Vec::new();
    for it in inner.split(',').filter(|x| !x.is_empty()) {
        let (g, rest) = it.split_once('=')?;
        let (letters, r) = rest.split_once('/')?;
        let grantee = if g.is_empty() { 0 } else { g.parse().ok()? };
        let mut privs = 0u32;
        let mut last = None;
        for ch in letters.bytes() {
            if ch == b'*' {
                privs |= 1u32 << (last? + 16);
                continue;
            }
            let bit = LETTERS.iter().position(|&l| l == ch)?;
            privs |= 1u32 << bit;
            last = Some(bit);
        }
        out.push(AclItem {
            grantee,
            grantor: r.parse().ok()?,
            privs,
        });
    }
    Some(out)
}

fn letters(privs: u32) -> String {
    let mut s = String::new();
    for (bit, &l) in LETTERS.iter().enumerate() {
        if privs & (1 << bit) != 0 {
            s.push(l as char);
            if privs & (1 << (bit + 16)) != 0 {
                s.push('*');
            }
        }
    }
    s
}

/// The stored text form of `acl` (see [`parse_stored`]).
pub fn to_stored(acl: &[AclItem]) -> String {
    let items: Vec<String> = acl
        .iter()
        .map(|i| {
            let g = if i.grantee == 0 {
                String::new()
            } else {
                i.grantee.to_string()
            };
            format!("{g}={}/{}", letters(i.privs), i.grantor)
        })
        .collect();
    format!("{{{}}}", items.join(","))
}

/// A role name as aclitem's output writes it (putid): double-quoted
/// unless it is only letters, digits and underscores.
fn putid(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// One aclitem as PostgreSQL prints it: `alice=arwdDxt/postgres`.
pub fn item_display(i: &AclItem, roles: &RoleSet) -> String {
    let g = if i.grantee == 0 {
        String::new()
    } else {
        putid(&roles.name_of(i.grantee))
    };
    format!(
        "{g}={}/{}",
        letters(i.privs),
        putid(&roles.name_of(i.grantor))
    )
}

/// The stored text form turned into PostgreSQL's `aclitem[]` output
/// (`{alice=arwdDxt/postgres,=r/postgres}`); array quoting of items
/// that need it, as array_out does.
pub fn display(stored: &str, roles: &RoleSet) -> String {
    let Some(acl) = parse_stored(stored) else {
        return stored.to_string();
    };
    let items: Vec<String> = acl
        .iter()
        .map(|i| {
            let s = item_display(i, roles);
            if s.contains(['"', ',', '{', '}', ' ', '\\']) {
                format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
            } else {
                s
            }
        })
        .collect();
    format!("{{{}}}", items.join(","))
}

/// One role as the privilege system needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleInfo {
    pub oid: u32,
    pub name: String,
    pub superuser: bool,
    pub inherit: bool,
    /// rolbypassrls: row-level security does not apply (policy.rs).
    pub bypassrls: bool,
}

/// The roles and memberships (role, member), read from the host's role
/// store when a check or a GRANT needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleSet {
    pub roles: Vec<RoleInfo>,
    pub members: Vec<(u32, u32)>,
}

impl RoleSet {
    pub fn by_name(&self, name: &str) -> Option<&RoleInfo> {
        self.roles.iter().find(|r| r.name == name)
    }
    pub fn by_oid(&self, oid: u32) -> Option<&RoleInfo> {
        self.roles.iter().find(|r| r.oid == oid)
    }
    /// A role's name; a role that no longer exists prints as its OID, as
    /// PostgreSQL's aclitemout does.
    pub fn name_of(&self, oid: u32) -> String {
        self.by_oid(oid)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| oid.to_string())
    }
    /// has_privs_of_role: `member` is `role`, or a member of it through
    /// a chain of roles that each inherit.
    pub fn has_privs_of(&self, member: u32, role: u32) -> bool {
        self.reaches(member, role, true)
    }
    /// is_member_of_role: `member` is `role` or a member of it through any
    /// chain (INHERIT does not matter), superusers of everything.
    pub fn is_member_of(&self, member: u32, role: u32) -> bool {
        self.reaches(member, role, false)
    }

    /// Whether the membership graph leads from `member` to `role`
    /// (superusers reach every role); with `inheriting`, only through
    /// roles that have INHERIT.
    fn reaches(&self, member: u32, role: u32, inheriting: bool) -> bool {
        if member == role || self.by_oid(member).is_some_and(|r| r.superuser) {
            return true;
        }
        let mut seen = vec![member];
        let mut i = 0;
        while i < seen.len() {
            let cur = seen[i];
            i += 1;
            if inheriting && !self.by_oid(cur).is_none_or(|r| r.inherit) {
                continue;
            }
            for &(r, m) in &self.members {
                if m == cur && !seen.contains(&r) {
                    if r == role {
                        return true;
                    }
                    seen.push(r);
                }
            }
        }
        false
    }

    /// The roles whose privileges `member` has (itself first).
    fn privs_roles(&self, member: u32) -> Vec<u32> {
        let mut v: Vec<u32> = vec![member];
        for r in &self.roles {
            if r.oid != member && self.has_privs_of(member, r.oid) {
                v.push(r.oid);
            }
        }
        v
    }
}

/// aclnewowner: every entry of `old` (as grantee or grantor) becomes
/// `new`'s, entries that then coincide merged.
pub fn new_owner(acl: &[AclItem], old: u32, new: u32) -> Vec<AclItem> {
    let mut out: Vec<AclItem> = Vec::new();
    for i in acl {
        let mut i = *i;
        if i.grantee == old {
            i.grantee = new;
        }
        if i.grantor == old {
            i.grantor = new;
        }
        match out
            .iter_mut()
            .find(|o| o.grantee == i.grantee && o.grantor == i.grantor)
        {
            Some(o) => o.privs |= i.privs,
            None => out.push(i),
        }
    }
    out
}

/// aclmask: the privileges (and, in the high bits, grant options) that
/// `role` holds in `acl` of an object owned by `owner`. A superuser holds
/// everything; an owner holds every grant option, and its rights are
/// those the list gives it (an owner may revoke its own).
pub fn mask(acl: &[AclItem], kind: ObjType, role: u32, owner: u32, roles: &RoleSet) -> u32 {
    let all = kind.all_rights();
    if roles.by_oid(role).is_some_and(|r| r.superuser) {
        return all | (all << 16);
    }
    let mut m = 0;
    if roles.has_privs_of(role, owner) {
        m |= all << 16;
    }
    for i in acl {
        if i.grantee == 0 || i.grantee == role || roles.has_privs_of(role, i.grantee) {
            m |= i.privs;
        }
    }
    m
}

thread_local! {
    /// The role whose rights a view's query is checked with while the
    /// binder expands it (PostgreSQL's checkAsUser); 0 outside views.
    static CHECK_AS: Cell<u32> = const { Cell::new(0) };
}

thread_local! {
    /// Set while binding a query that is stored, not run ([`unchecked`]).
    static UNCHECKED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (binding CREATE VIEW's query) without privilege checks: a
/// stored query is checked when it is used.
pub fn unchecked<R>(f: impl FnOnce() -> R) -> R {
    let prev = UNCHECKED.replace(true);
    let r = f();
    UNCHECKED.set(prev);
    r
}

/// Whether checks are off for a stored query being bound ([`unchecked`]).
pub(crate) fn is_unchecked() -> bool {
    UNCHECKED.get()
}

/// The view owner checks are made as now (0: the current user).
pub(crate) fn check_as() -> u32 {
    CHECK_AS.get()
}

/// Runs `f` (binding a view's query) with checks made as `owner`.
pub fn as_owner<R>(owner: u32, f: impl FnOnce() -> R) -> R {
    let prev = CHECK_AS.replace(owner);
    let r = f();
    CHECK_AS.set(prev);
    r
}

/// The role that checks are made for now: the view owner inside a view,
/// else the current user. None: a superuser, who passes every check.
fn checking_role(host: &dyn Host, roles: Option<&RoleSet>) -> Result<Option<u32>, PgError> {
    let as_owner = CHECK_AS.get();
    if as_owner == 0 && host.identity().is_superuser {
        return Ok(None);
    }
    let Some(roles) = roles else {
        return Ok(Some(as_owner));
    };
    let oid = if as_owner != 0 {
        as_owner
    } else {
        match roles.by_name(&host.identity().user) {
            Some(r) => r.oid,
            None => return Ok(None),
        }
    };
    if roles.by_oid(oid).is_some_and(|r| r.superuser) {
        return Ok(None);
    }
    Ok(Some(oid))
}

/// has_privs_of_role for the current role and the role called `name`
/// (a predefined role such as pg_read_server_files): superusers have
/// them all; a role that does not exist is held by nobody else.
pub fn has_privs_of_named_role(host: &dyn Host, name: &str) -> Result<bool, PgError> {
    if checking_role(host, None)?.is_none() {
        return Ok(true);
    }
    let roles = host.acl_roles()?;
    let Some(me) = checking_role(host, Some(&roles))? else {
        return Ok(true);
    };
    Ok(roles
        .by_name(name)
        .is_some_and(|r| roles.has_privs_of(me, r.oid)))
}

/// The kind of relation for error messages ("table", "view", ...).
pub fn relkind_word(rel: &Relation) -> &'static str {
    match (rel.source, rel.relkind) {
        (RelationSource::View(_), _) => "view",
        (_, b'S') => "sequence",
        (_, b'm') => "materialized view",
        _ => "table",
    }
}

/// Checks that the checking role (the current user, or a view's owner
/// while its query is bound) holds every privilege in `needed` on
/// `rel`; 42501 "permission denied for table t" otherwise. System views
/// carry no ACL (their rows are filtered by the host where PostgreSQL
/// restricts them).
pub fn check_relation(host: &dyn Host, rel: &Relation, needed: u32) -> Result<(), PgError> {
    check_relation_as(host, rel, needed, true)
}

/// [`check_relation`] passing when any one privilege of `any_of` is held
/// (nextval: USAGE or UPDATE; currval: SELECT or USAGE).
pub fn check_relation_any(host: &dyn Host, rel: &Relation, any_of: u32) -> Result<(), PgError> {
    check_relation_as(host, rel, any_of, false)
}

fn check_relation_as(
    host: &dyn Host,
    rel: &Relation,
    needed: u32,
    all: bool,
) -> Result<(), PgError> {
    if matches!(rel.source, RelationSource::SystemView(_)) || needed == 0 || UNCHECKED.get() {
        return Ok(());
    }
    let c = Check {
        schema: rel.schema.clone(),
        name: rel.name.clone(),
        word: relkind_word(rel),
        sequence: rel.relkind == b'S',
        owner: rel.owner,
        acl: rel.acl.clone(),
        needed,
        all,
        as_owner: CHECK_AS.get(),
    };
    let r = verify(host, &c);
    RECORD.with(|rec| {
        if let Some(v) = rec.borrow_mut().as_mut() {
            v.push(c);
        }
    });
    r
}

/// EXECUTE on a user-defined routine for the checking role, as a call
/// of it is bound; 42501 "permission denied for function f". A NULL
/// proacl is the default, where PUBLIC may execute.
pub fn check_routine(host: &dyn Host, f: &crate::catalog::FuncDef) -> Result<(), PgError> {
    if f.acl.is_none() || UNCHECKED.get() || checking_role(host, None)?.is_none() {
        return Ok(());
    }
    let roles = host.acl_roles()?;
    let Some(role) = checking_role(host, Some(&roles))? else {
        return Ok(());
    };
    let acl = acl_of(f.acl.as_deref(), ObjType::Function, f.owner);
    if mask(&acl, ObjType::Function, role, f.owner, &roles) & EXECUTE != 0 {
        return Ok(());
    }
    Err(PgError::error(
        sqlstate::INSUFFICIENT_PRIVILEGE,
        format!(
            "permission denied for {} {}",
            if f.kind == b'p' {
                "procedure"
            } else {
                "function"
            },
            f.name
        ),
    ))
}

/// DROP (and the other owner-only commands) of a routine: 42501 "must
/// be owner of function f" unless the current user has the owner's
/// privileges.
pub fn check_routine_owner(host: &dyn Host, f: &crate::catalog::FuncDef) -> Result<(), PgError> {
    if host.identity().is_superuser {
        return Ok(());
    }
    let roles = host.acl_roles()?;
    let Some(me) = roles.by_name(&host.identity().user).map(|r| r.oid) else {
        return Ok(());
    };
    if f.owner == 0 || roles.has_privs_of(me, f.owner) {
        return Ok(());
    }
    Err(PgError::error(
        sqlstate::INSUFFICIENT_PRIVILEGE,
        format!(
            "must be owner of {} {}",
            if f.kind == b'p' {
                "procedure"
            } else {
                "function"
            },
            f.name
        ),
    ))
}

/// 42501 "permission denied for table t".
pub fn denied_table(name: &str) -> PgError {
    PgError::error(
        sqlstate::INSUFFICIENT_PRIVILEGE,
        format!("permission denied for table {name}"),
    )
}

/// [`check_relation`] for a FROM item, column privileges allowed: None
/// when the role holds `needed` on the table; else, when it holds it on
/// some columns, which of the table's columns it lacks it on (a
/// reference to one of them is then refused, see bind.rs); else 42501.
pub fn check_relation_columns(
    host: &dyn Host,
    rel: &Relation,
    needed: u32,
) -> Result<Option<Vec<bool>>, PgError> {
    let e = match check_relation(host, rel, needed) {
        Ok(()) => return Ok(None),
        Err(e) => e,
    };
    if rel.col_acls.is_empty() {
        return Err(e);
    }
    let roles = host.acl_roles()?;
    let Some(role) = checking_role(host, Some(&roles))? else {
        return Ok(None);
    };
    let denied: Vec<bool> = (0..rel.columns.len())
        .map(|i| {
            let num = rel.attnum(i);
            let acl = rel
                .col_acls
                .iter()
                .find(|(n, _)| *n == num)
                .and_then(|(_, a)| parse_stored(a))
                .unwrap_or_default();
            mask(&acl, ObjType::Table, role, 0, &roles) & needed != needed
        })
        .collect();
    if denied.iter().all(|d| *d) {
        return Err(e);
    }
    // The failed table-level check stays out of the statement's rechecks.
    RECORD.with(|rec| {
        if let Some(v) = rec.borrow_mut().as_mut() {
            v.pop();
        }
    });
    Ok(Some(denied))
}

/// The privilege check of an INSERT, UPDATE or DELETE target: `needed`
/// on the table, or INSERT/UPDATE on each of `targets` (the columns
/// written) through column privileges; SELECT on the table, else the
/// columns it may be read through. Returns which columns a reference
/// must not read (None: all may be), as [`check_relation_columns`].
pub fn check_dml(
    host: &dyn Host,
    rel: &Relation,
    needed: u32,
    targets: &[usize],
) -> Result<Option<Vec<bool>>, PgError> {
    if matches!(rel.source, RelationSource::SystemView(_)) || UNCHECKED.get() {
        return Ok(None);
    }
    if checking_role(host, None)?.is_none() {
        return Ok(None);
    }
    let roles = host.acl_roles()?;
    let Some(role) = checking_role(host, Some(&roles))? else {
        return Ok(None);
    };
    let kind = if rel.relkind == b'S' {
        ObjType::Sequence
    } else {
        ObjType::Table
    };
    let table = mask(
        &acl_of(rel.acl.as_deref(), kind, rel.owner),
        kind,
        role,
        rel.owner,
        &roles,
    );
    let col_mask = |i: usize| -> u32 {
        let num = rel.attnum(i);
        let acl = rel
            .col_acls
            .iter()
            .find(|(n, _)| *n == num)
            .and_then(|(_, a)| parse_stored(a))
            .unwrap_or_default();
        table | mask(&acl, ObjType::Table, role, 0, &roles)
    };
    let denied_err = || {
        PgError::error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("permission denied for {} {}", relkind_word(rel), rel.name),
        )
    };
    for bit in [INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER] {
        if needed & bit == 0 || table & bit != 0 {
            continue;
        }
        let by_columns = bit & (INSERT | UPDATE) != 0
            && !rel.col_acls.is_empty()
            && !targets.is_empty()
            && targets.iter().all(|&i| col_mask(i) & bit != 0);
        if !by_columns {
            return Err(denied_err());
        }
    }
    // The table-level part is kept for the statement's rechecks.
    check_relation(host, rel, needed & table)?;
    if table & SELECT != 0 {
        return Ok(None);
    }
    let denied: Vec<bool> = (0..rel.columns.len())
        .map(|i| col_mask(i) & SELECT == 0)
        .collect();
    if needed & SELECT != 0 && denied.iter().all(|d| *d) {
        return Err(denied_err());
    }
    Ok(Some(denied))
}

/// One privilege check made while a statement was bound, kept with the
/// statement so that it can be made again for another role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    schema: String,
    name: String,
    word: &'static str,
    sequence: bool,
    owner: u32,
    acl: Option<String>,
    needed: u32,
    all: bool,
    as_owner: u32,
}

fn verify(host: &dyn Host, c: &Check) -> Result<(), PgError> {
    let prev = CHECK_AS.replace(c.as_owner);
    let r = (|| {
        if checking_role(host, None)?.is_none() {
            return Ok(());
        }
        let roles = host.acl_roles()?;
        let Some(role) = checking_role(host, Some(&roles))? else {
            return Ok(());
        };
        let kind = if c.sequence {
            ObjType::Sequence
        } else {
            ObjType::Table
        };
        let acl = acl_of(c.acl.as_deref(), kind, c.owner);
        let held = mask(&acl, kind, role, c.owner, &roles) & c.needed;
        if (c.all && held == c.needed) || (!c.all && held != 0) {
            Ok(())
        } else {
            Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied for {} {}", c.word, c.name),
            ))
        }
    })();
    CHECK_AS.set(prev);
    r
}

thread_local! {
    /// The checks of the statement being bound ([`recording`]).
    static RECORD: std::cell::RefCell<Option<Vec<Check>>> = const { std::cell::RefCell::new(None) };
}

/// The checks a bound statement made, and for whom: a prepared
/// statement or cached plan run later by another role (SET ROLE, SET
/// SESSION AUTHORIZATION), or after the catalog changed, makes them again
/// ([`recheck`]), as PostgreSQL checks at executor start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rechecks {
    user: String,
    /// The plan generation at binding ([`Host::plan_generation`]): a GRANT
    /// or REVOKE since then changed it.
    generation: Option<u64>,
    checks: Vec<Check>,
    /// The role and row_security the plan's policies were chosen for
    /// (policy.rs); None when it reads no table with row-level security.
    rls: Option<(String, String)>,
}

/// Runs `f` (binding one statement) and returns the checks it made; a
/// statement bound inside it (a catalog query) keeps its own.
pub fn recording<R>(host: &dyn Host, f: impl FnOnce() -> R) -> (R, Rechecks) {
    let prev = RECORD.with(|r| r.replace(Some(Vec::new())));
    let outer_seen = crate::policy::take_seen();
    let out = f();
    let seen = crate::policy::take_seen();
    if outer_seen || seen {
        crate::policy::mark_seen();
    }
    let checks = RECORD.with(|r| r.replace(prev)).unwrap_or_default();
    (
        out,
        Rechecks {
            user: host.identity().user.clone(),
            generation: host.plan_generation(),
            checks,
            rls: seen.then(|| crate::policy::env(host)),
        },
    )
}

/// Makes a statement's checks again, against the relations' ACLs as they
/// are now, when the role running it is not the one that bound it or
/// the catalog changed since (a GRANT, REVOKE or OWNER TO).
pub fn recheck(host: &dyn Host, r: &Rechecks) -> Result<(), PgError> {
    if let Some(planned) = &r.rls {
        crate::policy::check_env(host, planned)?;
    }
    if r.checks.is_empty() {
        return Ok(());
    }
    let generation = host.plan_generation();
    if host.identity().user == r.user && generation.is_some() && generation == r.generation {
        return Ok(());
    }
    for c in &r.checks {
        let mut c = c.clone();
        if let Some(rel) = host.lookup_table(Some(&c.schema), &c.name)? {
            c.owner = rel.owner;
            c.acl = rel.acl;
        }
        verify(host, &c)?;
    }
    Ok(())
}

/// Owner-only DDL (ALTER, DROP, ...): the current user must have the
/// privileges of `rel`'s owner; 42501 "must be owner of table t".
pub fn check_owner(host: &dyn Host, rel: &Relation) -> Result<(), PgError> {
    if matches!(rel.source, RelationSource::SystemView(_)) || host.identity().is_superuser {
        return Ok(());
    }
    let roles = host.acl_roles()?;
    let Some(me) = roles.by_name(&host.identity().user).map(|r| r.oid) else {
        return Ok(());
    };
    if roles.has_privs_of(me, rel.owner) {
        return Ok(());
    }
    Err(PgError::error(
        sqlstate::INSUFFICIENT_PRIVILEGE,
        format!("must be owner of {} {}", relkind_word(rel), rel.name),
    ))
}

/// The current user's OID, the owner of what it creates.
pub fn current_user_oid(host: &dyn Host) -> Result<u32, PgError> {
    let roles = host.acl_roles()?;
    Ok(roles
        .by_name(&host.identity().user)
        .map(|r| r.oid)
        .unwrap_or(BOOTSTRAP_SUPERUSER))
}

// ---- GRANT / REVOKE ... ON ----

/// Who receives (or loses) privileges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    Public,
    Role(String),
    CurrentUser,
    SessionUser,
}

impl Grantee {
    /// The role OID a grantee names (0 for PUBLIC); `me` is the current
    /// user. 42704 for a role that does not exist.
    pub(crate) fn oid(&self, me: u32, roles: &RoleSet, host: &dyn Host) -> Result<u32, PgError> {
        Ok(match self {
            Grantee::Public => 0,
            Grantee::CurrentUser => me,
            Grantee::SessionUser => roles
                .by_name(&host.identity().session_user)
                .map(|r| r.oid)
                .unwrap_or(me),
            Grantee::Role(n) => roles.by_name(n).map(|r| r.oid).ok_or_else(|| {
                PgError::error(
                    sqlstate::UNDEFINED_OBJECT,
                    format!("role \"{n}\" does not exist"),
                )
            })?,
        })
    }
}

/// What a GRANT or REVOKE names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// TABLE (or no keyword) / SEQUENCE: relation names as (schema, name).
    Relations(ObjType, Vec<(Option<String>, String)>),
    /// ALL TABLES / ALL SEQUENCES IN SCHEMA s, ...
    AllInSchemas(ObjType, Vec<String>),
    /// SCHEMA s, ...
    Schemas(Vec<String>),
    /// LANGUAGE l, ...
    Languages(Vec<String>),
    /// DATABASE d, ...
    Databases(Vec<String>),
    /// FUNCTION / PROCEDURE / ROUTINE (the keyword, lower case) and the
    /// list of signatures as text (resolved by routine.rs when run).
    Routines(&'static str, String),
    /// ALL FUNCTIONS / PROCEDURES / ROUTINES IN SCHEMA s, ...: the
    /// prokind wanted (0 for both).
    AllRoutinesInSchemas(u8, Vec<String>),
    /// TYPE / DOMAIN (true for DOMAIN) names as (schema, name).
    Types(bool, Vec<(Option<String>, String)>),
    /// ALTER DEFAULT PRIVILEGES ... ON TABLES / SEQUENCES / FUNCTIONS /
    /// ROUTINES / TYPES / SCHEMAS: pg_default_acl's object type letter.
    Defaults(u8),
    /// LANGUAGE, LARGE OBJECT, ...: not built yet (the keyword).
    Other(String),
}

/// A parsed GRANT/REVOKE ... ON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantStmt {
    pub grant: bool,
    /// The privilege bits; ALL sets every right the object type has.
    pub privs: u32,
    pub all: bool,
    /// Column lists given with privileges (`SELECT (a, b)`).
    pub columns: bool,
    /// The privileges given with column lists and their columns (ALL's
    /// bit is 0: every column privilege).
    pub col_privs: Vec<(u32, Vec<String>)>,
    pub target: Target,
    pub grantees: Vec<Grantee>,
    /// GRANT ... WITH GRANT OPTION, or REVOKE GRANT OPTION FOR.
    pub grant_option: bool,
    pub cascade: bool,
    /// ALTER DEFAULT PRIVILEGES [FOR ROLE roles] [IN SCHEMA schemas]:
    /// (roles, schemas), the target then being [`Target::Defaults`].
    pub defaults: Option<(Vec<String>, Vec<String>)>,
}

impl GrantStmt {
    /// The command tag.
    pub fn tag(&self) -> &'static str {
        match (&self.defaults, self.grant) {
            (Some(_), _) => "ALTER DEFAULT PRIVILEGES",
            (None, true) => "GRANT",
            (None, false) => "REVOKE",
        }
    }
}

fn privilege_bit(word: &str) -> Option<u32> {
    Some(match word {
        "SELECT" => SELECT,
        "INSERT" => INSERT,
        "UPDATE" => UPDATE,
        "DELETE" => DELETE,
        "TRUNCATE" => TRUNCATE,
        "REFERENCES" => REFERENCES,
        "TRIGGER" => TRIGGER,
        "EXECUTE" => EXECUTE,
        "USAGE" => USAGE,
        "CREATE" => CREATE,
        "TEMP" | "TEMPORARY" => TEMP,
        "CONNECT" => CONNECT,
        _ => return None,
    })
}

/// 42601 at the `i`-th token of `sql` (as role.rs's tokens count them):
/// the word as written and its position, as PostgreSQL's parser reports
/// it.
fn syntax_error_at(sql: &str, i: usize, t: &[crate::role::T]) -> PgError {
    use sqlparser::tokenizer::Token;
    let base = crate::role::syntax_at(t.get(i));
    let Ok(toks) = crate::routine::tokens_with_spans(sql) else {
        return base;
    };
    let Some(tok) = toks
        .iter()
        .filter(|x| !matches!(x.token, Token::Whitespace(_) | Token::SemiColon))
        .nth(i)
    else {
        return base;
    };
    let (line, col) = (tok.span.start.line as usize, tok.span.start.column as usize);
    let before: usize = sql
        .split('\n')
        .take(line.saturating_sub(1))
        .map(|l| l.chars().count() + 1)
        .sum();
    let base = match &tok.token {
        Token::Word(w) if w.quote_style.is_none() => PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("syntax error at or near \"{}\"", w.value),
        ),
        _ => base,
    };
    base.with_position(Some((before + col) as u32))
}

/// Parses GRANT privileges ON objects TO grantees [WITH GRANT OPTION]
/// [GRANTED BY r] and REVOKE [GRANT OPTION FOR] privileges ON objects
/// FROM grantees [GRANTED BY r] [CASCADE | RESTRICT].
pub fn parse(sql: &str) -> Result<GrantStmt, PgError> {
    use crate::role::{tokens, T};
    let t = tokens(sql)?;
    let mut i = 0;
    let kw = |i: &mut usize, k: &str| -> bool {
        if matches!(t.get(*i), Some(T::Word(w, _)) if w == k) {
            *i += 1;
            true
        } else {
            false
        }
    };
    let err = |i: usize| syntax_error_at(sql, i, &t);
    let mut defaults = None;
    if kw(&mut i, "ALTER") {
        if !kw(&mut i, "DEFAULT") || !kw(&mut i, "PRIVILEGES") {
            return Err(err(i));
        }
        let (mut roles, mut schemas) = (Vec::new(), Vec::new());
        loop {
            let list = if kw(&mut i, "FOR") {
                if !kw(&mut i, "ROLE") && !kw(&mut i, "USER") {
                    return Err(err(i));
                }
                &mut roles
            } else if kw(&mut i, "IN") {
                if !kw(&mut i, "SCHEMA") {
                    return Err(err(i));
                }
                &mut schemas
            } else {
                break;
            };
            loop {
                match t.get(i) {
                    Some(T::Word(_, w)) | Some(T::Ident(w)) => list.push(w.clone()),
                    _ => return Err(err(i)),
                }
                i += 1;
                if t.get(i) != Some(&T::Comma) {
                    break;
                }
                i += 1;
            }
        }
        defaults = Some((roles, schemas));
    }
    let grant = if kw(&mut i, "GRANT") {
        true
    } else if kw(&mut i, "REVOKE") {
        false
    } else {
        return Err(err(i));
    };
    let mut grant_option = false;
    if !grant && matches!(t.get(i), Some(T::Word(w, _)) if w == "GRANT") {
        i += 1;
        if !kw(&mut i, "OPTION") || !kw(&mut i, "FOR") {
            return Err(err(i));
        }
        grant_option = true;
    }
    let mut privs = 0;
    let mut all = false;
    let mut columns = false;
    let mut col_privs: Vec<(u32, Vec<String>)> = Vec::new();
    // `(a, b)` after a privilege: its columns.
    let column_list = |i: &mut usize| -> Result<Option<Vec<String>>, PgError> {
        if !matches!(t.get(*i), Some(T::Other(o)) if o == "(") {
            return Ok(None);
        }
        *i += 1;
        let mut cols = Vec::new();
        loop {
            match t.get(*i) {
                Some(T::Word(_, w)) | Some(T::Ident(w)) => cols.push(w.clone()),
                _ => return Err(err(*i)),
            }
            *i += 1;
            match t.get(*i) {
                Some(T::Comma) => *i += 1,
                Some(T::Other(o)) if o == ")" => {
                    *i += 1;
                    return Ok(Some(cols));
                }
                _ => return Err(err(*i)),
            }
        }
    };
    if kw(&mut i, "ALL") {
        all = true;
        kw(&mut i, "PRIVILEGES");
        if let Some(cols) = column_list(&mut i)? {
            columns = true;
            col_privs.push((0, cols));
        }
    } else {
        loop {
            let bit = match t.get(i) {
                Some(T::Word(w, _)) => privilege_bit(w).ok_or_else(|| err(i))?,
                _ => return Err(err(i)),
            };
            i += 1;
            if let Some(cols) = column_list(&mut i)? {
                columns = true;
                col_privs.push((bit, cols));
            } else {
                privs |= bit;
            }
            if t.get(i) == Some(&T::Comma) {
                i += 1;
                continue;
            }
            break;
        }
    }
    if !kw(&mut i, "ON") {
        return Err(err(i));
    }
    let name_at = |i: &mut usize| -> Result<String, PgError> {
        let n = match t.get(*i) {
            Some(T::Word(_, w)) => w.clone(),
            Some(T::Ident(w)) => w.clone(),
            _ => return Err(err(*i)),
        };
        *i += 1;
        Ok(n)
    };
    let qualified = |i: &mut usize| -> Result<(Option<String>, String), PgError> {
        let first = name_at(i)?;
        if matches!(t.get(*i), Some(T::Other(o)) if o == ".") {
            *i += 1;
            let second = name_at(i)?;
            return Ok((Some(first), second));
        }
        Ok((None, first))
    };
    let target = 'tgt: {
        if defaults.is_some() {
            let objtype = match t.get(i) {
                Some(T::Word(w, _)) => match w.as_str() {
                    "TABLES" => b'r',
                    "SEQUENCES" => b'S',
                    "FUNCTIONS" | "ROUTINES" => b'f',
                    "TYPES" => b'T',
                    "SCHEMAS" => b'n',
                    _ => return Err(err(i)),
                },
                _ => return Err(err(i)),
            };
            i += 1;
            break 'tgt Target::Defaults(objtype);
        }
        if kw(&mut i, "ALL") {
            let kind = if kw(&mut i, "TABLES") {
                ObjType::Table
            } else if kw(&mut i, "SEQUENCES") {
                ObjType::Sequence
            } else if let Some(k) = ["FUNCTIONS", "PROCEDURES", "ROUTINES"]
                .iter()
                .position(|w| matches!(t.get(i), Some(T::Word(x, _)) if x == w))
            {
                i += 1;
                if !kw(&mut i, "IN") || !kw(&mut i, "SCHEMA") {
                    return Err(err(i));
                }
                let mut schemas = vec![name_at(&mut i)?];
                while t.get(i) == Some(&T::Comma) {
                    i += 1;
                    schemas.push(name_at(&mut i)?);
                }
                let prokind = [b'f', b'p', 0][k];
                break 'tgt Target::AllRoutinesInSchemas(prokind, schemas);
            } else {
                let w = match t.get(i) {
                    Some(T::Word(w, _)) => w.clone(),
                    _ => return Err(err(i)),
                };
                return Ok(GrantStmt {
                    grant,
                    privs,
                    all,
                    columns,
                    col_privs,
                    target: Target::Other(format!("ALL {w} IN SCHEMA")),
                    grantees: Vec::new(),
                    grant_option,
                    cascade: false,
                    defaults: None,
                });
            };
            if !kw(&mut i, "IN") || !kw(&mut i, "SCHEMA") {
                return Err(err(i));
            }
            let mut schemas = vec![name_at(&mut i)?];
            while t.get(i) == Some(&T::Comma) {
                i += 1;
                schemas.push(name_at(&mut i)?);
            }
            Target::AllInSchemas(kind, schemas)
        } else {
            let kind = if kw(&mut i, "SEQUENCE") {
                Some(ObjType::Sequence)
            } else if kw(&mut i, "TABLE") {
                Some(ObjType::Table)
            } else {
                None
            };
            if kind.is_none() {
                let word = match t.get(i) {
                    Some(T::Word(w, _)) => w.clone(),
                    _ => String::new(),
                };
                match word.as_str() {
                    "SCHEMA" | "DATABASE" | "LANGUAGE" => {
                        i += 1;
                        let mut names = vec![name_at(&mut i)?];
                        while t.get(i) == Some(&T::Comma) {
                            i += 1;
                            names.push(name_at(&mut i)?);
                        }
                        let target = match word.as_str() {
                            "SCHEMA" => Target::Schemas(names),
                            "LANGUAGE" => Target::Languages(names),
                            _ => Target::Databases(names),
                        };
                        break 'tgt target;
                    }
                    "TYPE" | "DOMAIN" => {
                        i += 1;
                        let mut names = vec![qualified(&mut i)?];
                        while t.get(i) == Some(&T::Comma) {
                            i += 1;
                            names.push(qualified(&mut i)?);
                        }
                        break 'tgt Target::Types(word == "DOMAIN", names);
                    }
                    "FUNCTION" | "PROCEDURE" | "ROUTINE" => {
                        i += 1;
                        // The signatures' text up to TO/FROM outside parentheses.
                        let mut depth = 0;
                        let mut text = String::new();
                        while let Some(tok) = t.get(i) {
                            match tok {
                                T::Word(w, _) if depth == 0 && (w == "TO" || w == "FROM") => break,
                                T::Other(o) if o == "(" => depth += 1,
                                T::Other(o) if o == ")" => depth -= 1,
                                _ => {}
                            }
                            text.push_str(&match tok {
                                T::Word(_, w) => w.clone(),
                                T::Ident(w) => format!("\"{}\"", w.replace('"', "\"\"")),
                                T::Str(v) => format!("'{}'", v.replace('\'', "''")),
                                T::Num(n) | T::Other(n) => n.clone(),
                                T::Comma => ",".into(),
                            });
                            text.push(' ');
                            i += 1;
                        }
                        let w = match word.as_str() {
                            "FUNCTION" => "function",
                            "PROCEDURE" => "procedure",
                            _ => "routine",
                        };
                        break 'tgt Target::Routines(w, text);
                    }
                    "TABLESPACE" | "FOREIGN" | "LARGE" | "PARAMETER" => {
                        return Ok(GrantStmt {
                            grant,
                            privs,
                            all,
                            columns,
                            col_privs,
                            target: Target::Other(word),
                            grantees: Vec::new(),
                            grant_option,
                            cascade: false,
                            defaults: None,
                        });
                    }
                    _ => {}
                }
            }
            let mut names = vec![qualified(&mut i)?];
            while t.get(i) == Some(&T::Comma) {
                i += 1;
                names.push(qualified(&mut i)?);
            }
            Target::Relations(kind.unwrap_or(ObjType::Table), names)
        }
    };
    if !kw(&mut i, if grant { "TO" } else { "FROM" }) {
        return Err(err(i));
    }
    let mut grantees = Vec::new();
    loop {
        kw(&mut i, "GROUP");
        let g = match t.get(i) {
            Some(T::Word(w, _)) if w == "PUBLIC" => Grantee::Public,
            Some(T::Word(w, _)) if w == "CURRENT_USER" || w == "CURRENT_ROLE" => {
                Grantee::CurrentUser
            }
            Some(T::Word(w, _)) if w == "SESSION_USER" => Grantee::SessionUser,
            Some(T::Word(_, n)) | Some(T::Ident(n)) => Grantee::Role(n.clone()),
            _ => return Err(err(i)),
        };
        i += 1;
        grantees.push(g);
        if t.get(i) == Some(&T::Comma) {
            i += 1;
            continue;
        }
        break;
    }
    if grant && kw(&mut i, "WITH") {
        if !kw(&mut i, "GRANT") || !kw(&mut i, "OPTION") {
            return Err(err(i));
        }
        grant_option = true;
    }
    if kw(&mut i, "GRANTED") {
        if !kw(&mut i, "BY") {
            return Err(err(i));
        }
        name_at(&mut i)?;
    }
    let mut cascade = false;
    if !grant {
        if kw(&mut i, "CASCADE") {
            cascade = true;
        } else {
            kw(&mut i, "RESTRICT");
        }
    }
    if i < t.len() {
        return Err(err(i));
    }
    Ok(GrantStmt {
        grant,
        privs,
        all,
        columns,
        col_privs,
        target,
        grantees,
        grant_option,
        cascade,
        defaults,
    })
}

/// Adds `privs` (with grant options when `with_option`) for `grantee`
/// from `grantor` to `acl` (aclupdate's ACL_MODECHG_ADD).
pub fn add(acl: &mut Vec<AclItem>, grantee: u32, grantor: u32, privs: u32, with_option: bool) {
    let bits = privs | if with_option { privs << 16 } else { 0 };
    if let Some(i) = acl
        .iter_mut()
        .find(|i| i.grantee == grantee && i.grantor == grantor)
    {
        i.privs |= bits;
    } else {
        acl.push(AclItem {
            grantee,
            grantor,
            privs: bits,
        });
    }
}

/// Removes `privs` (only their grant options when `option_only`) of
/// `grantee` granted by `grantor`, then what the grantee granted onward
/// and can no longer grant: with `cascade` those grants go too, without
/// it 2BP01 "dependent privileges exist" (PostgreSQL's recursive_revoke).
pub fn remove(
    acl: &mut Vec<AclItem>,
    grantee: u32,
    grantor: u32,
    privs: u32,
    option_only: bool,
    cascade: bool,
    owner: u32,
) -> Result<(), PgError> {
    let bits = if option_only {
        privs << 16
    } else {
        privs | (privs << 16)
    };
    let mut lost_options = 0;
    for i in acl.iter_mut() {
        if i.grantee == grantee && i.grantor == grantor {
            lost_options |= i.options() & (bits >> 16);
            i.privs &= !bits;
        }
    }
    acl.retain(|i| i.privs != 0);
    if lost_options != 0 && grantee != owner {
        // The grantee may still hold the options through another grant.
        let still: u32 = acl
            .iter()
            .filter(|i| i.grantee == grantee)
            .fold(0, |m, i| m | i.options());
        let gone = lost_options & !still;
        let dependents: Vec<u32> = acl
            .iter()
            .filter(|i| i.grantor == grantee && i.rights() & gone != 0)
            .map(|i| i.grantee)
            .collect();
        if !dependents.is_empty() {
            if !cascade {
                return Err(PgError::error(
                    sqlstate::SqlState::new("2BP01"),
                    "dependent privileges exist",
                )
                .with_hint("Use CASCADE to revoke them too."));
            }
            for d in dependents {
                remove(acl, d, grantee, gone, false, true, owner)?;
            }
        }
    }
    Ok(())
}

/// The grantor a GRANT/REVOKE by `me` is recorded with, and the
/// privileges (of `wanted`) it may grant (select_best_grantor): the
/// owner when `me` has the owner's privileges, else `me` or a role it
/// inherits from, whichever holds the most grant options.
pub fn best_grantor(
    acl: &[AclItem],
    kind: ObjType,
    me: u32,
    owner: u32,
    wanted: u32,
    roles: &RoleSet,
) -> (u32, u32) {
    if roles.has_privs_of(me, owner) {
        return (owner, wanted);
    }
    let mut best = (me, 0u32);
    for r in roles.privs_roles(me) {
        let opts = (mask(acl, kind, r, owner, roles) >> 16) & wanted;
        if opts == wanted {
            return (r, opts);
        }
        if opts.count_ones() > best.1.count_ones() {
            best = (r, opts);
        }
    }
    best
}

pub(crate) fn kind_word(kind: ObjType) -> &'static str {
    match kind {
        ObjType::Table => "table",
        ObjType::Sequence => "sequence",
        ObjType::Schema => "schema",
        ObjType::Function => "function",
        ObjType::Database => "database",
        ObjType::Type => "type",
        ObjType::Language => "language",
        ObjType::ForeignDataWrapper => "foreign-data wrapper",
        ObjType::ForeignServer => "foreign server",
    }
}

/// The type OID of `aclitem[]` (the ACL columns' type).
pub const ACLITEM_ARRAY: u32 = 1034;

/// The catalogs whose rows carry the ACLs of non-relations.
pub const CATALOG_TYPE: u32 = 1247;
pub const CATALOG_PROC: u32 = 1255;
pub const CATALOG_DATABASE: u32 = 1262;
pub const CATALOG_NAMESPACE: u32 = 2615;
pub const CATALOG_LANGUAGE: u32 = 2612;

/// Where a GRANT/REVOKE writes an object's new ACL.
enum Store {
    Relation(Box<Relation>),
    /// The row `oid` of catalog `catalog` (pg_namespace, pg_proc, ...).
    Catalog(u32, u32),
}

/// One object a GRANT/REVOKE changes: its ACL as stored, its owner and
/// the words its messages use.
struct Obj {
    kind: ObjType,
    /// "table", "schema", "function", "procedure", ... for 42501.
    word: &'static str,
    name: String,
    owner: u32,
    acl: Option<String>,
    store: Store,
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Text(t) | Value::Name(t) => Some(t.clone()),
        _ => None,
    }
}

fn oid_of(v: &Value) -> u32 {
    match v {
        Value::Oid(o) => *o,
        Value::Int4(i) => *i as u32,
        Value::Int8(i) => *i as u32,
        _ => 0,
    }
}

/// The public schema: its ACL while nspacl is NULL lets every role
/// create in it (PostgreSQL 14's default; 15 grants PUBLIC only USAGE
/// there, and tusk has no pg_database_owner role yet).
pub const PUBLIC_NAMESPACE: u32 = 2200;

/// A schema's ACL, NULL made explicit where the default is not
/// acldefault's: the system schemas (pg_catalog, information_schema)
/// are usable by PUBLIC, as initdb grants in PostgreSQL.
pub fn schema_default(oid: u32, owner: u32, acl: Option<String>) -> Option<String> {
    if acl.is_some() {
        return acl;
    }
    if oid == PUBLIC_NAMESPACE {
        Some(format!("{{{owner}=UC/{owner},=UC/{owner}}}"))
    } else if oid < 16384 {
        Some(format!("{{{owner}=UC/{owner},=U/{owner}}}"))
    } else {
        None
    }
}

/// Schema `name` as a GRANT target or the object of a check: (oid,
/// owner, ACL); 3F000 when it does not exist.
pub fn schema_acl(host: &mut dyn Host, name: &str) -> Result<(u32, u32, Option<String>), PgError> {
    let rows = crate::sysinfo::query(
        host,
        "SELECT oid, nspowner, nspacl FROM pg_catalog.pg_namespace WHERE nspname = $1",
        &[crate::types::NAME],
        vec![Value::Name(name.to_string())],
    )?;
    let Some(r) = rows.first() else {
        return Err(PgError::error(
            sqlstate::SqlState::new("3F000"),
            format!("schema \"{name}\" does not exist"),
        ));
    };
    let (oid, owner) = (oid_of(&r[0]), oid_of(&r[1]));
    Ok((oid, owner, schema_default(oid, owner, text_of(&r[2]))))
}

/// The objects a GRANT/REVOKE names, with their ACLs.
fn objects(host: &mut dyn Host, target: &Target) -> Result<Vec<Obj>, PgError> {
    let rel_obj = |rel: Relation| Obj {
        kind: if rel.relkind == b'S' {
            ObjType::Sequence
        } else {
            ObjType::Table
        },
        word: relkind_word(&rel),
        name: rel.name.clone(),
        owner: rel.owner,
        acl: rel.acl.clone(),
        store: Store::Relation(Box::new(rel)),
    };
    let routine_obj = |f: &crate::catalog::FuncDef| Obj {
        kind: ObjType::Function,
        word: if f.kind == b'p' {
            "procedure"
        } else {
            "function"
        },
        name: f.name.clone(),
        owner: f.owner,
        acl: f.acl.clone(),
        store: Store::Catalog(CATALOG_PROC, f.oid),
    };
    let mut out = Vec::new();
    match target {
        Target::Other(w) => {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("privileges on {} are not supported yet", w.to_lowercase()),
            ))
        }
        Target::Defaults(_) => {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                "ON TABLES/SEQUENCES/... needs ALTER DEFAULT PRIVILEGES",
            ))
        }
        Target::Relations(_, names) => {
            for (s, n) in names {
                out.push(rel_obj(crate::catalog::lookup(&*host, s.as_deref(), n)?));
            }
        }
        Target::AllInSchemas(kind, schemas) => {
            for s in schemas {
                schema_acl(host, s)?;
                let rows = crate::sysinfo::query(
                    host,
                    "SELECT c.relname::text, c.relkind FROM pg_catalog.pg_class c \
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = $1 ORDER BY c.oid",
                    &[crate::types::NAME],
                    vec![Value::Name(s.clone())],
                )?;
                for r in rows {
                    let Some(name) = text_of(&r[0]) else {
                        continue;
                    };
                    let k = match &r[1] {
                        Value::Char(c) => *c,
                        _ => 0,
                    };
                    let wanted = match kind {
                        ObjType::Sequence => k == b'S',
                        _ => matches!(k, b'r' | b'v' | b'm' | b'f' | b'p'),
                    };
                    if wanted {
                        out.push(rel_obj(crate::catalog::lookup(&*host, Some(s), &name)?));
                    }
                }
            }
        }
        Target::Schemas(names) => {
            for n in names {
                let (oid, owner, acl) = schema_acl(host, n)?;
                out.push(Obj {
                    kind: ObjType::Schema,
                    word: "schema",
                    name: n.clone(),
                    owner,
                    acl,
                    store: Store::Catalog(CATALOG_NAMESPACE, oid),
                });
            }
        }
        Target::Languages(names) => {
            for n in names {
                let rows = crate::sysinfo::query(
                    host,
                    "SELECT oid, lanowner, lanacl, lanpltrusted FROM pg_catalog.pg_language WHERE lanname = $1",
                    &[crate::types::NAME],
                    vec![Value::Name(n.clone())],
                )?;
                let Some(r) = rows.first() else {
                    return Err(PgError::error(
                        sqlstate::UNDEFINED_OBJECT,
                        format!("language \"{n}\" does not exist"),
                    ));
                };
                if r[3] != Value::Bool(true) {
                    return Err(PgError::error(
                        crate::catalog::codes::WRONG_OBJECT_TYPE,
                        format!("language \"{n}\" is not trusted"),
                    )
                    .with_detail(
                        "GRANT and REVOKE are not allowed on untrusted languages, because only superusers can use untrusted languages.",
                    ));
                }
                out.push(Obj {
                    kind: ObjType::Language,
                    word: "language",
                    name: n.clone(),
                    owner: oid_of(&r[1]),
                    acl: text_of(&r[2]),
                    store: Store::Catalog(CATALOG_LANGUAGE, oid_of(&r[0])),
                });
            }
        }
        Target::Databases(names) => {
            for n in names {
                let rows = crate::sysinfo::query(
                    host,
                    "SELECT oid, datdba, datacl FROM pg_catalog.pg_database WHERE datname = $1",
                    &[crate::types::NAME],
                    vec![Value::Name(n.clone())],
                )?;
                let Some(r) = rows.first() else {
                    return Err(PgError::error(
                        sqlstate::SqlState::new("3D000"),
                        format!("database \"{n}\" does not exist"),
                    ));
                };
                out.push(Obj {
                    kind: ObjType::Database,
                    word: "database",
                    name: n.clone(),
                    owner: oid_of(&r[1]),
                    acl: text_of(&r[2]),
                    store: Store::Catalog(CATALOG_DATABASE, oid_of(&r[0])),
                });
            }
        }
        Target::Types(domain, names) => {
            for (s, n) in names {
                let shown = match s {
                    Some(s) => format!("{s}.{n}"),
                    None => n.clone(),
                };
                let oid = crate::reg::input(host, crate::types::REGTYPE, &shown)?;
                let rows = crate::sysinfo::query(
                    host,
                    "SELECT typname, typowner, typacl, typtype, typelem, typlen FROM pg_catalog.pg_type WHERE oid = $1",
                    &[crate::types::OID],
                    vec![Value::Oid(oid)],
                )?;
                let Some(r) = rows.first() else {
                    return Err(PgError::error(
                        sqlstate::UNDEFINED_OBJECT,
                        format!("type \"{shown}\" does not exist"),
                    ));
                };
                let typtype = match &r[3] {
                    Value::Char(c) => *c,
                    _ => 0,
                };
                let name = text_of(&r[0]).unwrap_or_default();
                if oid_of(&r[4]) != 0 && matches!(&r[5], Value::Int2(-1)) {
                    return Err(PgError::error(
                        sqlstate::SqlState::new("0LP01"),
                        "cannot set privileges of array types",
                    )
                    .with_hint("Set the privileges of the element type instead."));
                }
                if *domain && typtype != b'd' {
                    return Err(PgError::error(
                        crate::catalog::codes::WRONG_OBJECT_TYPE,
                        format!("\"{name}\" is not a domain"),
                    ));
                }
                out.push(Obj {
                    kind: ObjType::Type,
                    word: "type",
                    name,
                    owner: match oid_of(&r[1]) {
                        0 => BOOTSTRAP_SUPERUSER,
                        o => o,
                    },
                    acl: text_of(&r[2]),
                    store: Store::Catalog(CATALOG_TYPE, oid),
                });
            }
        }
        Target::Routines(word, text) => {
            for (schema, name, args) in crate::routine::signature_list(&*host, text)? {
                let cands = host.lookup_routines(schema.as_deref(), &name)?;
                let shown_name = match &schema {
                    Some(s) => format!("{s}.{name}"),
                    None => name.clone(),
                };
                let what = if *word == "procedure" {
                    "procedure"
                } else {
                    "function"
                };
                let found: Vec<_> = match &args {
                    Some(a) => cands.into_iter().filter(|f| &f.arg_types == a).collect(),
                    None => cands,
                };
                let f = match found.len() {
                    0 => {
                        let msg = match &args {
                            Some(a) => {
                                let shown: Vec<String> =
                                    a.iter().map(|&t| crate::types::sql_name(t)).collect();
                                format!("{what} {shown_name}({}) does not exist", shown.join(", "))
                            }
                            None => format!("could not find a {what} named \"{shown_name}\""),
                        };
                        return Err(PgError::error(sqlstate::UNDEFINED_FUNCTION, msg));
                    }
                    1 => found[0].clone(),
                    _ => {
                        return Err(PgError::error(
                            sqlstate::SqlState::new("42725"),
                            format!("{what} name \"{shown_name}\" is not unique"),
                        )
                        .with_hint(format!(
                            "Specify the argument list to select the {what} unambiguously."
                        )))
                    }
                };
                if *word == "function" && f.kind == b'p' {
                    return Err(PgError::error(
                        crate::catalog::codes::WRONG_OBJECT_TYPE,
                        format!("{} is not a function", f.signature()),
                    ));
                }
                if *word == "procedure" && f.kind != b'p' {
                    return Err(PgError::error(
                        crate::catalog::codes::WRONG_OBJECT_TYPE,
                        format!("{} is not a procedure", f.signature()),
                    ));
                }
                out.push(routine_obj(&f));
            }
        }
        Target::AllRoutinesInSchemas(prokind, schemas) => {
            for s in schemas {
                schema_acl(host, s)?;
                let rows = crate::sysinfo::query(
                    host,
                    "SELECT p.proname::text FROM pg_catalog.pg_proc p \
                     JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
                     WHERE n.nspname = $1 ORDER BY p.oid",
                    &[crate::types::NAME],
                    vec![Value::Name(s.clone())],
                )?;
                let mut seen = std::collections::HashSet::new();
                for r in rows {
                    let Some(name) = text_of(&r[0]) else {
                        continue;
                    };
                    if !seen.insert(name.clone()) {
                        continue;
                    }
                    for f in host.lookup_routines(Some(s), &name)? {
                        if *prokind == 0 || f.kind == *prokind {
                            out.push(routine_obj(&f));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Carries out a GRANT/REVOKE ... ON for the session (any backend).
pub fn run(host: &mut dyn Host, stmt: &GrantStmt) -> Result<(), PgError> {
    if let (Target::Defaults(objtype), Some((roles, schemas))) = (&stmt.target, &stmt.defaults) {
        return run_defaults(host, stmt, *objtype, roles, schemas);
    }
    let objs = objects(host, &stmt.target)?;
    let roles = host.acl_roles()?;
    let me = roles
        .by_name(&host.identity().user)
        .map(|r| r.oid)
        .unwrap_or(BOOTSTRAP_SUPERUSER);
    let mut grantees = Vec::new();
    for g in &stmt.grantees {
        grantees.push(g.oid(me, &roles, &*host)?);
    }
    if stmt.grant && stmt.grant_option && grantees.contains(&0) {
        return Err(PgError::error(
            sqlstate::SqlState::new("0LP01"),
            "grant options can only be granted to roles",
        ));
    }
    // Privileges the statement's object type lacks (PostgreSQL checks
    // them against the type named, before looking at each object).
    let stmt_word = match &stmt.target {
        Target::Schemas(_) => Some(("schema", ObjType::Schema)),
        Target::Languages(_) => Some(("language", ObjType::Language)),
        Target::Databases(_) => Some(("database", ObjType::Database)),
        Target::Types(false, _) => Some(("type", ObjType::Type)),
        Target::Types(true, _) => Some(("domain", ObjType::Type)),
        Target::Routines(w, _) => Some((*w, ObjType::Function)),
        Target::AllRoutinesInSchemas(..) => Some(("function", ObjType::Function)),
        _ => None,
    };
    if let Some((w, kind)) = stmt_word {
        let extra = stmt.privs & !kind.all_rights();
        if !stmt.all && extra != 0 {
            return Err(PgError::error(
                sqlstate::SqlState::new("0LP01"),
                format!("invalid privilege type {} for {w}", priv_name(extra)),
            ));
        }
    }
    for obj in objs {
        let kind = obj.kind;
        if let (Target::Relations(ObjType::Sequence, _), Store::Relation(rel)) =
            (&stmt.target, &obj.store)
        {
            if kind != ObjType::Sequence {
                return Err(PgError::error(
                    crate::catalog::codes::WRONG_OBJECT_TYPE,
                    format!("\"{}\" is not a sequence", rel.name),
                ));
            }
        }
        let table_part = stmt.privs != 0 || (stmt.all && stmt.col_privs.is_empty());
        if table_part {
            let all = kind.all_rights();
            let mut privs = if stmt.all { all } else { stmt.privs };
            if privs & !all != 0 {
                if kind == ObjType::Sequence {
                    // PostgreSQL warns and keeps the privileges a sequence has.
                    host.notice(PgError::new(
                        tusk_common::Severity::Warning,
                        sqlstate::SqlState::new("01007"),
                        format!(
                            "sequence \"{}\" only supports USAGE, SELECT, and UPDATE privileges",
                            obj.name
                        ),
                    ));
                    privs &= all;
                } else {
                    return Err(PgError::error(
                        sqlstate::SqlState::new("0LP01"),
                        format!(
                            "invalid privilege type {} for {}",
                            priv_name(privs & !all),
                            kind_word(kind)
                        ),
                    ));
                }
            }
            let mut acl = acl_of(obj.acl.as_deref(), kind, obj.owner);
            let (grantor, can) = best_grantor(&acl, kind, me, obj.owner, privs, &roles);
            if can == 0 {
                // No grant option at all: an error when the role holds no
                // privilege on the object either, else a warning.
                if mask(&acl, kind, me, obj.owner, &roles) & all == 0 {
                    return Err(PgError::error(
                        sqlstate::INSUFFICIENT_PRIVILEGE,
                        format!("permission denied for {} {}", obj.word, obj.name),
                    ));
                }
            }
            if can != privs {
                let msg = match (stmt.grant, can == 0) {
                    (true, true) => format!("no privileges were granted for \"{}\"", obj.name),
                    (true, false) => {
                        format!("not all privileges were granted for \"{}\"", obj.name)
                    }
                    (false, true) => format!("no privileges could be revoked for \"{}\"", obj.name),
                    (false, false) => {
                        format!("not all privileges could be revoked for \"{}\"", obj.name)
                    }
                };
                let code = if stmt.grant { "01007" } else { "01006" };
                host.notice(PgError::new(
                    tusk_common::Severity::Warning,
                    sqlstate::SqlState::new(code),
                    msg,
                ));
            }
            for &g in &grantees {
                if stmt.grant {
                    add(&mut acl, g, grantor, can, stmt.grant_option);
                } else {
                    remove(
                        &mut acl,
                        g,
                        grantor,
                        can,
                        stmt.grant_option,
                        stmt.cascade,
                        obj.owner,
                    )?;
                }
            }
            let stored = to_stored(&acl);
            match &obj.store {
                Store::Relation(rel) => host.tables()?.set_relacl(rel, &stored)?,
                Store::Catalog(catalog, oid) => {
                    host.tables()?.set_object_acl(*catalog, *oid, &stored)?
                }
            }
        }
        if !stmt.col_privs.is_empty() {
            let Store::Relation(rel) = &obj.store else {
                return Err(PgError::error(
                    sqlstate::SqlState::new("0LP01"),
                    "column privileges are only valid for relations",
                ));
            };
            grant_columns(host, stmt, rel, &grantees, me, &roles)?;
        }
    }
    Ok(())
}

/// The kind of object a pg_default_acl letter stands for.
pub fn defaults_kind(objtype: u8) -> ObjType {
    match objtype {
        b'S' => ObjType::Sequence,
        b'f' => ObjType::Function,
        b'T' => ObjType::Type,
        b'n' => ObjType::Schema,
        _ => ObjType::Table,
    }
}

/// Whether two lists hold the same items in any order.
fn same_items(a: &[AclItem], b: &[AclItem]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// Adds `from`'s items to `acl` (aclmerge).
fn merge(acl: &mut Vec<AclItem>, from: &[AclItem]) {
    for it in from {
        match acl
            .iter_mut()
            .find(|x| x.grantee == it.grantee && x.grantor == it.grantor)
        {
            Some(x) => x.privs |= it.privs,
            None => acl.push(*it),
        }
    }
}

/// The stored ACL a new object starts with from pg_default_acl's `rows`
/// of its owner and type ((schema or 0, stored list)): the global list
/// (else acldefault) merged with its schema's; None when that is
/// acldefault itself (the column stays NULL).
pub fn initial_acl(objtype: u8, owner: u32, nsp: u32, rows: &[(u32, String)]) -> Option<String> {
    let kind = defaults_kind(objtype);
    let def = default_acl(kind, owner);
    let mut acl = rows
        .iter()
        .find(|(n, _)| *n == 0)
        .and_then(|(_, a)| parse_stored(a))
        .unwrap_or_else(|| def.clone());
    if nsp != 0 {
        if let Some(extra) = rows
            .iter()
            .find(|(n, _)| *n == nsp)
            .and_then(|(_, a)| parse_stored(a))
        {
            merge(&mut acl, &extra);
        }
    }
    (!same_items(&acl, &def)).then(|| to_stored(&acl))
}

/// ALTER DEFAULT PRIVILEGES: changes the pg_default_acl lists of each
/// role (the current user when none is named) for each schema named
/// (or the global list), as GRANT/REVOKE change an object's list with
/// the role as grantor; a global list equal to acldefault, or an empty
/// per-schema one, is removed (PostgreSQL's SetDefaultACL).
fn run_defaults(
    host: &mut dyn Host,
    stmt: &GrantStmt,
    objtype: u8,
    role_names: &[String],
    schemas: &[String],
) -> Result<(), PgError> {
    if objtype == b'n' && !schemas.is_empty() {
        return Err(PgError::error(
            sqlstate::SqlState::new("0LP01"),
            "cannot use IN SCHEMA clause when using GRANT/REVOKE ON SCHEMAS",
        ));
    }
    let roles = host.acl_roles()?;
    let me = roles
        .by_name(&host.identity().user)
        .map(|r| r.oid)
        .unwrap_or(BOOTSTRAP_SUPERUSER);
    let mut targets = Vec::new();
    for n in role_names {
        let Some(r) = roles.by_name(n) else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_OBJECT,
                format!("role \"{n}\" does not exist"),
            ));
        };
        if !host.identity().is_superuser && !roles.has_privs_of(me, r.oid) {
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("must be member of role \"{n}\""),
            ));
        }
        targets.push(r.oid);
    }
    if targets.is_empty() {
        targets.push(me);
    }
    let mut nsps = Vec::new();
    for s in schemas {
        let oid = schema_acl(host, s)?.0;
        if !nsps.contains(&oid) {
            nsps.push(oid);
        }
    }
    if nsps.is_empty() {
        nsps.push(0);
    }
    let mut grantees = Vec::new();
    for g in &stmt.grantees {
        let oid = g.oid(me, &roles, &*host)?;
        if !grantees.contains(&oid) {
            grantees.push(oid);
        }
    }
    if stmt.grant && stmt.grant_option && grantees.contains(&0) {
        return Err(PgError::error(
            sqlstate::SqlState::new("0LP01"),
            "grant options can only be granted to roles",
        ));
    }
    let kind = defaults_kind(objtype);
    let all = kind.all_rights();
    let privs = if stmt.all { all } else { stmt.privs };
    if privs & !all != 0 {
        return Err(PgError::error(
            sqlstate::SqlState::new("0LP01"),
            format!(
                "invalid privilege type {} for {}",
                priv_name(privs & !all),
                kind_word(kind)
            ),
        ));
    }
    let rows = crate::sysinfo::query(
        host,
        "SELECT defaclrole, defaclnamespace, defaclobjtype, defaclacl FROM pg_catalog.pg_default_acl",
        &[],
        Vec::new(),
    )?;
    for &role in &targets {
        for &nsp in &nsps {
            let def = if nsp == 0 {
                default_acl(kind, role)
            } else {
                Vec::new()
            };
            let mut acl = rows
                .iter()
                .find(|r| {
                    oid_of(&r[0]) == role
                        && oid_of(&r[1]) == nsp
                        && matches!(&r[2], Value::Char(c) if *c == objtype)
                })
                .and_then(|r| text_of(&r[3]))
                .and_then(|a| parse_stored(&a))
                .unwrap_or_else(|| def.clone());
            for &g in &grantees {
                if stmt.grant {
                    add(&mut acl, g, role, privs, stmt.grant_option);
                } else {
                    remove(
                        &mut acl,
                        g,
                        role,
                        privs,
                        stmt.grant_option,
                        stmt.cascade,
                        role,
                    )?;
                }
            }
            let stored = (!same_items(&acl, &def)).then(|| to_stored(&acl));
            host.tables()?
                .set_default_acl(role, nsp, objtype, stored.as_deref())?;
        }
    }
    Ok(())
}

/// Every privilege a column can carry (ACL_ALL_RIGHTS_COLUMN).
pub const COLUMN_RIGHTS: u32 = SELECT | INSERT | UPDATE | REFERENCES;

/// The column-list part of a GRANT/REVOKE on `rel`: each column's attacl
/// changes as a table's ACL does, the grantor chosen from the table's and
/// the column's lists together (as PostgreSQL's ExecGrant_Attribute).
fn grant_columns(
    host: &mut dyn Host,
    stmt: &GrantStmt,
    rel: &Relation,
    grantees: &[u32],
    me: u32,
    roles: &RoleSet,
) -> Result<(), PgError> {
    let mut per_col: Vec<(i16, u32)> = Vec::new();
    for (bit, cols) in &stmt.col_privs {
        let bits = if *bit == 0 { COLUMN_RIGHTS } else { *bit };
        if bits & !COLUMN_RIGHTS != 0 {
            return Err(PgError::error(
                sqlstate::SqlState::new("0LP01"),
                format!("invalid privilege type {} for column", priv_name(bits)),
            ));
        }
        for c in cols {
            let Some(live) = rel.columns.iter().position(|d| &d.name == c) else {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{c}\" of relation \"{}\" does not exist", rel.name),
                ));
            };
            let num = rel.attnum(live);
            match per_col.iter_mut().find(|(n, _)| *n == num) {
                Some((_, b)) => *b |= bits,
                None => per_col.push((num, bits)),
            }
        }
    }
    let table_acl = acl_of(rel.acl.as_deref(), ObjType::Table, rel.owner);
    for (num, privs) in per_col {
        let mut acl = rel
            .col_acls
            .iter()
            .find(|(n, _)| *n == num)
            .and_then(|(_, a)| parse_stored(a))
            .unwrap_or_default();
        let mut merged = table_acl.clone();
        merged.extend(acl.iter().copied());
        let (grantor, can) = best_grantor(&merged, ObjType::Table, me, rel.owner, privs, roles);
        if can == 0 && mask(&merged, ObjType::Table, me, rel.owner, roles) & COLUMN_RIGHTS == 0 {
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("permission denied for {} {}", relkind_word(rel), rel.name),
            ));
        }
        for &g in grantees {
            if stmt.grant {
                add(&mut acl, g, grantor, can, stmt.grant_option);
            } else {
                remove(
                    &mut acl,
                    g,
                    grantor,
                    can,
                    stmt.grant_option,
                    stmt.cascade,
                    rel.owner,
                )?;
            }
        }
        host.tables()?.set_column_acl(rel, num, &to_stored(&acl))?;
    }
    Ok(())
}

pub(crate) fn priv_name(bits: u32) -> &'static str {
    let names = [
        (INSERT, "INSERT"),
        (SELECT, "SELECT"),
        (UPDATE, "UPDATE"),
        (DELETE, "DELETE"),
        (TRUNCATE, "TRUNCATE"),
        (REFERENCES, "REFERENCES"),
        (TRIGGER, "TRIGGER"),
        (EXECUTE, "EXECUTE"),
        (USAGE, "USAGE"),
        (CREATE, "CREATE"),
        (TEMP, "TEMP"),
        (CONNECT, "CONNECT"),
    ];
    names
        .iter()
        .find(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .unwrap_or("UNKNOWN")
}

/// has_*_privilege's question: does `role` hold every privilege of the
/// comma list `list` (any one of them, as PostgreSQL's "any of" for
/// lists) on an object of `kind` with `stored` ACL and `owner`?
pub fn has_privilege(
    stored: Option<&str>,
    kind: ObjType,
    owner: u32,
    role: u32,
    list: &str,
    roles: &RoleSet,
) -> bool {
    let acl = acl_of(stored, kind, owner);
    let m = mask(&acl, kind, role, owner, roles);
    list.split(',').any(|item| {
        let words: Vec<String> = item
            .split_whitespace()
            .map(|w| w.to_ascii_uppercase())
            .collect();
        let (p, option) = match words.as_slice() {
            [p] => (p.as_str(), false),
            [p, ..] => (p.as_str(), true),
            _ => return false,
        };
        let Some(bit) = privilege_bit(p) else {
            return false;
        };
        let bit = if option { bit << 16 } else { bit };
        m & bit == bit
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles() -> RoleSet {
        let r = |oid, name: &str, su| RoleInfo {
            oid,
            name: name.into(),
            superuser: su,
            inherit: true,
            bypassrls: false,
        };
        RoleSet {
            roles: vec![
                r(10, "postgres", true),
                r(100, "alice", false),
                r(101, "bob", false),
                r(102, "staff", false),
                r(103, "Odd Name", false),
            ],
            // bob is a member of staff.
            members: vec![(102, 101)],
        }
    }

    #[test]
    fn stored_form_round_trips_and_displays_like_postgresql() {
        let s = "{10=arwdDxt/10,100=r*w/10,=d/10,103=a/10}";
        let acl = parse_stored(s).unwrap();
        assert_eq!(to_stored(&acl), s);
        assert_eq!(
            display(s, &roles()),
            "{postgres=arwdDxt/postgres,alice=r*w/postgres,=d/postgres,\"\\\"Odd Name\\\"=a/postgres\"}"
        );
        assert_eq!(
            to_stored(&default_acl(ObjType::Table, 10)),
            "{10=arwdDxt/10}"
        );
    }

    #[test]
    fn masks_follow_grants_public_and_inheritance() {
        let rs = roles();
        let mut acl = default_acl(ObjType::Table, 100);
        add(&mut acl, 102, 100, SELECT, false);
        add(&mut acl, 0, 100, INSERT, false);
        assert_eq!(
            mask(&acl, ObjType::Table, 101, 100, &rs) & 0xFFFF,
            SELECT | INSERT
        );
        // A superuser holds everything; the owner every grant option.
        assert_eq!(mask(&acl, ObjType::Table, 10, 100, &rs) & 0x7F, 0x7F);
        assert_eq!(mask(&acl, ObjType::Table, 100, 100, &rs) >> 16, 0x7F);
        assert!(has_privilege(
            Some(&to_stored(&acl)),
            ObjType::Table,
            100,
            101,
            "select",
            &rs
        ));
        assert!(!has_privilege(
            Some(&to_stored(&acl)),
            ObjType::Table,
            100,
            101,
            "delete",
            &rs
        ));
    }

    #[test]
    fn revoke_of_a_grant_option_cascades_or_refuses() {
        let rs = roles();
        let mut acl = default_acl(ObjType::Table, 10);
        add(&mut acl, 100, 10, SELECT, true);
        add(&mut acl, 101, 100, SELECT, false);
        let mut refused = acl.clone();
        let e = remove(&mut refused, 100, 10, SELECT, true, false, 10).unwrap_err();
        assert_eq!(e.message, "dependent privileges exist");
        remove(&mut acl, 100, 10, SELECT, true, true, 10).unwrap();
        assert_eq!(to_stored(&acl), "{10=arwdDxt/10,100=r/10}");
        // best grantor: bob holds no option, alice (after regrant) does.
        add(&mut acl, 100, 10, SELECT, true);
        assert_eq!(
            best_grantor(&acl, ObjType::Table, 100, 10, SELECT, &rs),
            (100, SELECT)
        );
        assert_eq!(
            best_grantor(&acl, ObjType::Table, 101, 10, SELECT, &rs).1,
            0
        );
    }

    #[test]
    fn grant_statements_parse() {
        let g = parse("GRANT SELECT, insert ON TABLE s.t, u TO alice, PUBLIC WITH GRANT OPTION")
            .unwrap();
        assert_eq!(g.privs, SELECT | INSERT);
        assert_eq!(
            g.target,
            Target::Relations(
                ObjType::Table,
                vec![(Some("s".into()), "t".into()), (None, "u".into())]
            )
        );
        assert_eq!(
            g.grantees,
            vec![Grantee::Role("alice".into()), Grantee::Public]
        );
        assert!(g.grant_option);
        let r = parse("REVOKE GRANT OPTION FOR ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM bob CASCADE").unwrap();
        assert!(!r.grant && r.all && r.grant_option && r.cascade);
        assert_eq!(
            r.target,
            Target::AllInSchemas(ObjType::Table, vec!["public".into()])
        );
        assert!(parse("GRANT SELECT ON t").is_err());
        assert!(parse("GRANT FLY ON t TO alice").is_err());
    }

    #[test]
    fn schema_routine_and_column_targets_parse() {
        let g = parse("GRANT USAGE, CREATE ON SCHEMA s1, \"S 2\" TO alice").unwrap();
        assert_eq!(g.target, Target::Schemas(vec!["s1".into(), "S 2".into()]));
        assert_eq!(g.privs, USAGE | CREATE);
        let f = parse("REVOKE ALL ON FUNCTION f(int), s.g(text, double precision) FROM PUBLIC")
            .unwrap();
        let Target::Routines(w, text) = &f.target else {
            panic!("{:?}", f.target);
        };
        assert_eq!(*w, "function");
        assert!(text.contains("double precision"), "{text}");
        let a = parse("GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA s TO bob").unwrap();
        assert_eq!(
            a.target,
            Target::AllRoutinesInSchemas(b'p', vec!["s".into()])
        );
        let c = parse("GRANT SELECT (one, two), UPDATE ON t TO bob").unwrap();
        assert_eq!(c.privs, UPDATE);
        assert_eq!(
            c.col_privs,
            vec![(SELECT, vec!["one".to_string(), "two".to_string()])]
        );
        let r = parse("REVOKE ALL (one) ON t FROM bob").unwrap();
        assert!(r.all && r.columns);
        assert_eq!(r.col_privs, vec![(0, vec!["one".to_string()])]);
        assert!(parse("GRANT SELECT (a ON t TO bob").is_err());
    }

    #[test]
    fn default_lists_put_public_first() {
        assert_eq!(
            to_stored(&default_acl(ObjType::Function, 10)),
            "{=X/10,10=X/10}"
        );
        assert_eq!(
            schema_default(2200, 10, None).as_deref(),
            Some("{10=UC/10,=UC/10}")
        );
        assert_eq!(schema_default(16400, 10, None), None);
    }
}
