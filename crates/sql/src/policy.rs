//! Row-level security: CREATE/ALTER/DROP POLICY and ALTER TABLE ... ROW LEVEL SECURITY kept in pg_policy and pg_class as PostgreSQL 15 keeps them, and the policies' quals added to scans and changes of a table.
//!
//! Why this shape:
//! - **One mechanism for every statement kind.** The binder asks
//!   [`scan_qual`] for the USING quals of a table wherever it plans a scan
//!   of it: a FROM item becomes a filtered subquery over the table (so the
//!   query's own quals, pushed down into it, come after the policy's, as
//!   PostgreSQL's security-barrier quals), and an UPDATE or DELETE target
//!   gets the quals in front of its WHERE ([`secure_dml`]). New rows are
//!   checked by the [`DmlRls`] the modify plan carries (PostgreSQL's
//!   WithCheckOptions), with PostgreSQL's error messages.
//! - **A policy qual is `(qual) IS TRUE` ahead of the user's quals**: AND
//!   stops at the first false, and IS TRUE makes a NULL policy result
//!   false, so a leaky function in the user's WHERE never sees a row the
//!   policies hide (PostgreSQL's ordering of security quals before others).
//! - **Expressions are kept as SQL text** in polqual/polwithcheck, shaped
//!   as PostgreSQL's deparser prints them (operator expressions in
//!   parentheses), which pg_get_expr and so pg_policies and psql's \d show.
//! - **Who is subject** follows check_enable_rls: not superusers or
//!   BYPASSRLS roles, not the owner unless FORCE; the role is the view
//!   owner inside a view (acl's check-as role). With row_security off a
//!   query that policies would filter is 42501 instead.
//!
//! Called by the backend running the statement.

use std::cell::RefCell;

use sqlparser::ast;
use tusk_common::{sqlstate, PgError};

use crate::acl;
use crate::catalog::codes::{DUPLICATE_OBJECT, UNDEFINED_OBJECT, WRONG_OBJECT_TYPE};
use crate::catalog::{self, Relation, RelationSource};
use crate::expr::{Ctx, Expr};
use crate::fdw::q;
use crate::host::Host;
use crate::types;
use crate::value::Value;

/// pg_node_tree: polqual and polwithcheck hold SQL text.
const PG_NODE_TREE: u32 = 194;
/// oid[] (polroles).
const OID_ARRAY: u32 = 1028;

/// One pg_policy row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub oid: u32,
    pub name: String,
    /// polcmd: b'*' ALL, b'r' SELECT, b'a' INSERT, b'w' UPDATE, b'd' DELETE.
    pub cmd: u8,
    pub permissive: bool,
    /// polroles; 0 is PUBLIC.
    pub roles: Vec<u32>,
    /// USING, as SQL text.
    pub qual: Option<String>,
    /// WITH CHECK, as SQL text.
    pub with_check: Option<String>,
}

/// A table's row-level security: FORCE, and its policies by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rls {
    pub force: bool,
    pub policies: Vec<Policy>,
}

/// The statement kinds policies are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    Select,
    Insert,
    Update,
    Delete,
}

impl Cmd {
    fn polcmd(self) -> u8 {
        match self {
            Cmd::Select => b'r',
            Cmd::Insert => b'a',
            Cmd::Update => b'w',
            Cmd::Delete => b'd',
        }
    }
}

thread_local! {
    /// Tables whose policies are being bound: a policy that reaches its
    /// own table again is PostgreSQL's "infinite recursion" error.
    static EXPANDING: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    /// Set when a statement being bound read a table with row-level
    /// security ([`take_seen`]): its plan holds one role's policies.
    static SEEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Set while binding a referential-integrity query ([`bypassing`]).
    static BYPASS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a table with row-level security was bound since the last
/// call (the flag is cleared).
pub(crate) fn take_seen() -> bool {
    SEEN.replace(false)
}

/// Marks the statement being bound as holding policies (restores an
/// enclosing statement's flag after a nested one was bound).
pub(crate) fn mark_seen() {
    SEEN.set(true);
}

/// What a plan's policies were chosen for: the role and row_security.
pub(crate) fn env(host: &dyn Host) -> (String, String) {
    (
        host.identity().user.clone(),
        host.show("row_security").unwrap_or_default(),
    )
}

/// A plan holding the policies chosen for another role or row_security
/// setting is refused rather than run: PostgreSQL plans it again, tusk
/// cannot yet, and running it would show another role's rows.
pub(crate) fn check_env(host: &dyn Host, planned: &(String, String)) -> Result<(), PgError> {
    if *planned == env(host) {
        return Ok(());
    }
    Err(PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!(
            "statement prepared as role \"{}\" reads tables with row-level security and cannot run as role \"{}\" or with another row_security setting",
            planned.0,
            host.identity().user
        ),
    )
    .with_hint("Prepare the statement again."))
}

/// Runs `f` (binding a foreign key's check or action) with no policy
/// applied: referential integrity must see every row.
pub(crate) fn bypassing<R>(f: impl FnOnce() -> R) -> R {
    let prev = BYPASS.replace(true);
    let r = f();
    BYPASS.set(prev);
    r
}

fn rel_oid(rel: &Relation) -> u32 {
    match &rel.source {
        RelationSource::Table(t) | RelationSource::View(t) => t.oid,
        RelationSource::SystemView(_) => 0,
    }
}

/// check_enable_rls: the role the policies apply to (and the role set
/// to test memberships with), or None when they do not apply.
fn subject(host: &dyn Host, rel: &Relation) -> Result<Option<(u32, acl::RoleSet)>, PgError> {
    let Some(rls) = &rel.rls else {
        return Ok(None);
    };
    if acl::is_unchecked() || BYPASS.get() {
        return Ok(None);
    }
    SEEN.set(true);
    let as_owner = acl::check_as();
    if as_owner == 0 && host.identity().is_superuser {
        return Ok(None);
    }
    let roles = host.acl_roles()?;
    let user = if as_owner != 0 {
        as_owner
    } else {
        match roles.by_name(&host.identity().user) {
            Some(r) => r.oid,
            None => return Ok(None),
        }
    };
    if roles
        .by_oid(user)
        .is_some_and(|r| r.superuser || r.bypassrls)
    {
        return Ok(None);
    }
    let owner = roles.has_privs_of(user, rel.owner);
    if owner && !rls.force {
        return Ok(None);
    }
    if host.show("row_security").is_ok_and(|v| v == "off") {
        let e = PgError::error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!(
                "query would be affected by row-level security policy for table \"{}\"",
                rel.name
            ),
        );
        return Err(if owner {
            e.with_hint(
                "To disable the policy for the table's owner, use ALTER TABLE NO FORCE ROW LEVEL SECURITY.",
            )
        } else {
            e
        });
    }
    Ok(Some((user, roles)))
}

/// The policies for `cmd` that apply to `user`: (permissive, restrictive).
fn applicable<'a>(
    rls: &'a Rls,
    cmd: Cmd,
    user: u32,
    roles: &acl::RoleSet,
) -> (Vec<&'a Policy>, Vec<&'a Policy>) {
    let mut out = (Vec::new(), Vec::new());
    for p in &rls.policies {
        if p.cmd != b'*' && p.cmd != cmd.polcmd() {
            continue;
        }
        if !p
            .roles
            .iter()
            .any(|&r| r == 0 || roles.has_privs_of(user, r))
        {
            continue;
        }
        if p.permissive {
            out.0.push(p);
        } else {
            out.1.push(p);
        }
    }
    out
}

/// A stored policy expression bound over `rel`'s row.
fn bind_text(host: &dyn Host, rel: &Relation, text: &str) -> Result<Expr, PgError> {
    let e = crate::bind::rowexpr::parse_stored(text, "policy expression")?;
    crate::bind::rowexpr::bind_policy_qual(host, rel, &e)
}

/// Runs `f` with `rel` marked as being expanded (42P17 when it already is).
fn expanding<R>(rel: &Relation, f: impl FnOnce() -> Result<R, PgError>) -> Result<R, PgError> {
    let oid = rel_oid(rel);
    if EXPANDING.with(|e| e.borrow().contains(&oid)) {
        return Err(PgError::error(
            sqlstate::INVALID_OBJECT_DEFINITION,
            format!(
                "infinite recursion detected in policy for relation \"{}\"",
                rel.name
            ),
        ));
    }
    EXPANDING.with(|e| e.borrow_mut().push(oid));
    let r = f();
    EXPANDING.with(|e| {
        e.borrow_mut().pop();
    });
    r
}

fn or_all(mut v: Vec<Expr>) -> Expr {
    if v.len() == 1 {
        v.pop().unwrap_or(Expr::Const(Value::Bool(false)))
    } else {
        Expr::Or(v)
    }
}

fn is_true(e: Expr) -> Expr {
    Expr::IsBool {
        arg: Box::new(e),
        value: Some(true),
        negated: false,
    }
}

/// add_security_quals for one command: the restrictive USING quals, then
/// the permissive ones OR'ed; false when no permissive policy has one.
fn using_quals(
    host: &dyn Host,
    rel: &Relation,
    rls: &Rls,
    cmd: Cmd,
    user: u32,
    roles: &acl::RoleSet,
    out: &mut Vec<Expr>,
) -> Result<(), PgError> {
    let (perm, restr) = applicable(rls, cmd, user, roles);
    let mut permissive = Vec::new();
    for p in &perm {
        if let Some(t) = &p.qual {
            permissive.push(bind_text(host, rel, t)?);
        }
    }
    if permissive.is_empty() {
        out.push(Expr::Const(Value::Bool(false)));
        return Ok(());
    }
    for p in &restr {
        if let Some(t) = &p.qual {
            out.push(is_true(bind_text(host, rel, t)?));
        }
    }
    out.push(is_true(or_all(permissive)));
    Ok(())
}

/// The security quals a scan of `rel` gets for `cmds` (a SELECT's
/// [Select]; an UPDATE's [Update] and Select when it reads rows), each
/// never NULL; None when no policy applies to the current role.
pub(crate) fn scan_qual(
    host: &dyn Host,
    rel: &Relation,
    cmds: &[Cmd],
) -> Result<Option<Expr>, PgError> {
    let Some((user, roles)) = subject(host, rel)? else {
        return Ok(None);
    };
    let Some(rls) = rel.rls.as_deref() else {
        return Ok(None);
    };
    expanding(rel, || {
        let mut quals = Vec::new();
        for &c in cmds {
            using_quals(host, rel, rls, c, user, &roles, &mut quals)?;
        }
        Ok(Some(if quals.len() == 1 {
            quals.remove(0)
        } else {
            Expr::And(quals)
        }))
    })
}

/// A FROM item over `rel` given its [`scan_qual`]: the relation itself,
/// or a subquery filtering it by the quals (same columns, system columns
/// included, so the item's scope is unchanged).
pub(crate) fn secure_source(rel: Relation, qual: Option<Expr>) -> crate::plan::Source {
    use crate::plan::Source;
    let Some(qual) = qual else {
        return Source::Relation(rel);
    };
    let mut width = rel.columns.len();
    if let RelationSource::Table(_) = rel.source {
        width += catalog::SYSTEM_COLUMNS.len();
    }
    let name = rel.alias.clone().unwrap_or_else(|| rel.name.clone());
    let mut plan = crate::cte::plain_plan(Source::Relation(rel), width);
    plan.filter = Some(qual);
    plan.alias = Some(Box::new(crate::subplan::Alias {
        name,
        cols: Vec::new(),
        barrier: true,
    }));
    Source::Subquery(Box::new(plan))
}

/// COPY FROM into a table whose policies apply to the role: refused, as
/// PostgreSQL does (it would have to check every row as INSERT does).
pub(crate) fn refuse_copy_from(host: &dyn Host, rel: &Relation) -> Result<(), PgError> {
    if subject(host, rel)?.is_some() {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "COPY FROM not supported with row-level security",
        )
        .with_hint("Use INSERT statements instead."));
    }
    Ok(())
}

/// Which check a new row failed (PostgreSQL's WCOKind for RLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WcoKind {
    Insert,
    Update,
    /// ON CONFLICT DO UPDATE's existing row against UPDATE's USING.
    Conflict,
}

/// One WithCheckOption: the row must make `qual` true.
#[derive(Debug, Clone)]
pub(crate) struct Wco {
    pub kind: WcoKind,
    /// A restrictive policy's own check names it.
    pub polname: Option<String>,
    pub qual: Expr,
}

/// The row checks of a change of an RLS table.
#[derive(Debug, Clone, Default)]
pub(crate) struct DmlRls {
    pub table: String,
    pub checks: Vec<Wco>,
}

impl DmlRls {
    /// Checks `row` (the table's columns then its system columns) against
    /// the checks of `kind`, in order; 42501 at the first that fails.
    pub(crate) fn check(
        &self,
        kind: WcoKind,
        row: &[Value],
        cx: &mut Ctx<'_>,
    ) -> Result<(), PgError> {
        for w in self.checks.iter().filter(|w| w.kind == kind) {
            if w.qual.eval(row, cx)? == Value::Bool(true) {
                continue;
            }
            let using = if kind == WcoKind::Conflict {
                " (USING expression)"
            } else {
                ""
            };
            let msg = match &w.polname {
                Some(p) => format!(
                    "new row violates row-level security policy \"{p}\"{using} for table \"{}\"",
                    self.table
                ),
                None => format!(
                    "new row violates row-level security policy{using} for table \"{}\"",
                    self.table
                ),
            };
            return Err(PgError::error(sqlstate::INSUFFICIENT_PRIVILEGE, msg));
        }
        Ok(())
    }

    /// The expressions, for preparing their subqueries.
    pub(crate) fn exprs_mut(&mut self) -> impl Iterator<Item = &mut Expr> {
        self.checks.iter_mut().map(|w| &mut w.qual)
    }
}

/// add_with_check_options: one check of the permissive policies' quals
/// OR'ed (false when none has one), then one per restrictive policy.
#[allow(clippy::too_many_arguments)]
fn add_checks(
    host: &dyn Host,
    rel: &Relation,
    rls: &Rls,
    cmd: Cmd,
    kind: WcoKind,
    force_using: bool,
    (user, roles): (u32, &acl::RoleSet),
    out: &mut Vec<Wco>,
) -> Result<(), PgError> {
    let (perm, restr) = applicable(rls, cmd, user, roles);
    let text = |p: &Policy| -> Option<String> {
        if !force_using && p.with_check.is_some() {
            p.with_check.clone()
        } else {
            p.qual.clone()
        }
    };
    let mut permissive = Vec::new();
    for p in &perm {
        if let Some(t) = text(p) {
            permissive.push(bind_text(host, rel, &t)?);
        }
    }
    if permissive.is_empty() {
        out.push(Wco {
            kind,
            polname: None,
            qual: Expr::Const(Value::Bool(false)),
        });
        return Ok(());
    }
    out.push(Wco {
        kind,
        polname: None,
        qual: or_all(permissive),
    });
    for p in &restr {
        if let Some(t) = text(p) {
            out.push(Wco {
                kind,
                polname: Some(p.name.clone()),
                qual: bind_text(host, rel, &t)?,
            });
        }
    }
    Ok(())
}

/// Adds the policies of the target of `plan` (INSERT, UPDATE, DELETE):
/// USING quals ahead of UPDATE's and DELETE's WHERE, and the checks of
/// new rows (INSERT/UPDATE WITH CHECK, SELECT's USING when the statement
/// reads rows, ON CONFLICT DO UPDATE's). `reads`: the statement needs
/// SELECT on the table (WHERE, RETURNING, or SET reading columns).
pub(crate) fn secure_dml(
    host: &dyn Host,
    plan: &mut crate::modify::ModifyPlan,
    reads: bool,
) -> Result<(), PgError> {
    use crate::modify::ModifyKind;
    if plan.rel.rls.is_none() {
        return Ok(());
    }
    let Some((user, roles)) = subject(host, &plan.rel)? else {
        return Ok(());
    };
    let rel = plan.rel.clone();
    let Some(rls) = rel.rls.as_deref() else {
        return Ok(());
    };
    let ctx = (user, &roles);
    let update = matches!(plan.kind, ModifyKind::Update { .. });
    let mut checks = Vec::new();
    expanding(&rel, || {
        match &mut plan.kind {
            ModifyKind::Insert { on_conflict, .. } => {
                let c = &mut checks;
                add_checks(host, &rel, rls, Cmd::Insert, WcoKind::Insert, false, ctx, c)?;
                if reads {
                    add_checks(host, &rel, rls, Cmd::Select, WcoKind::Insert, true, ctx, c)?;
                }
                let upsert = matches!(
                    on_conflict,
                    Some(crate::bind::upsert::OnConflict {
                        action: crate::bind::upsert::ConflictAction::Update { .. },
                        ..
                    })
                );
                if upsert {
                    add_checks(
                        host,
                        &rel,
                        rls,
                        Cmd::Update,
                        WcoKind::Conflict,
                        true,
                        ctx,
                        c,
                    )?;
                    add_checks(
                        host,
                        &rel,
                        rls,
                        Cmd::Select,
                        WcoKind::Conflict,
                        true,
                        ctx,
                        c,
                    )?;
                    add_checks(host, &rel, rls, Cmd::Update, WcoKind::Update, false, ctx, c)?;
                    add_checks(host, &rel, rls, Cmd::Select, WcoKind::Update, true, ctx, c)?;
                }
            }
            ModifyKind::Update { filter, .. } | ModifyKind::Delete { filter, .. } => {
                let cmd = if update { Cmd::Update } else { Cmd::Delete };
                let mut quals = Vec::new();
                if reads {
                    using_quals(host, &rel, rls, Cmd::Select, user, &roles, &mut quals)?;
                }
                using_quals(host, &rel, rls, cmd, user, &roles, &mut quals)?;
                quals.extend(filter.take());
                *filter = Some(Expr::And(quals));
                if update {
                    let c = &mut checks;
                    add_checks(host, &rel, rls, Cmd::Update, WcoKind::Update, false, ctx, c)?;
                    if reads {
                        add_checks(host, &rel, rls, Cmd::Select, WcoKind::Update, true, ctx, c)?;
                    }
                }
            }
            ModifyKind::Merge(_) => {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "MERGE on a table with row-level security is not supported by tusk yet",
                ))
            }
        }
        Ok(())
    })?;
    plan.rls = Some(Box::new(DmlRls {
        table: rel.name.clone(),
        checks,
    }));
    Ok(())
}

// ---------------------------------------------------------------------
// DDL

/// A policy statement, or ALTER TABLE's row-security subcommands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PolicyStmt {
    Create(Box<ast::CreatePolicy>),
    Alter(Box<ast::AlterPolicy>),
    Drop(Box<ast::DropPolicy>),
    /// ALTER TABLE ... ENABLE/DISABLE/FORCE/NO FORCE ROW LEVEL SECURITY:
    /// (pg_class column, value) pairs in order.
    RowSecurity {
        table: ast::ObjectName,
        if_exists: bool,
        sets: Vec<(&'static str, bool)>,
    },
}

impl PolicyStmt {
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            PolicyStmt::Create(_) => "CREATE POLICY",
            PolicyStmt::Alter(_) => "ALTER POLICY",
            PolicyStmt::Drop(_) => "DROP POLICY",
            PolicyStmt::RowSecurity { .. } => "ALTER TABLE",
        }
    }
}

/// ALTER TABLE whose every subcommand is a row-security one.
pub(crate) fn alter_table(at: &ast::AlterTable) -> Option<PolicyStmt> {
    use ast::AlterTableOperation as Op;
    let mut sets = Vec::new();
    for op in &at.operations {
        sets.push(match op {
            Op::EnableRowLevelSecurity => ("relrowsecurity", true),
            Op::DisableRowLevelSecurity => ("relrowsecurity", false),
            Op::ForceRowLevelSecurity => ("relforcerowsecurity", true),
            Op::NoForceRowLevelSecurity => ("relforcerowsecurity", false),
            _ => return None,
        });
    }
    Some(PolicyStmt::RowSecurity {
        table: at.name.clone(),
        if_exists: at.if_exists,
        sets,
    })
}

fn err(code: tusk_common::SqlState, msg: String) -> PgError {
    PgError::error(code, msg)
}

/// The table a policy statement names (RangeVarCallbackForPolicy): a
/// table or partitioned table the current role owns.
fn policy_table(host: &mut dyn Host, name: &ast::ObjectName) -> Result<Relation, PgError> {
    let parts = crate::bind::object_name_parts(name)?;
    let rel = match parts.as_slice() {
        [t] => catalog::lookup(&*host, None, t)?,
        [s, t] => catalog::lookup(&*host, Some(s), t)?,
        _ => {
            return Err(err(
                sqlstate::SYNTAX_ERROR,
                format!("improper relation name (too many dotted names): {name}"),
            ))
        }
    };
    if !matches!(rel.source, RelationSource::Table(_)) || !matches!(rel.relkind, b'r' | b'p') {
        return Err(err(
            WRONG_OBJECT_TYPE,
            format!("\"{}\" is not a table", rel.name),
        ));
    }
    if rel.schema == "pg_catalog" {
        return Err(err(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("permission denied: \"{}\" is a system catalog", rel.name),
        ));
    }
    acl::check_owner(&*host, &rel)?;
    Ok(rel)
}

/// policy_role_list_to_array: role OIDs (0 for PUBLIC, alone).
fn role_oids(host: &mut dyn Host, to: &Option<Vec<ast::Owner>>) -> Result<Vec<u32>, PgError> {
    let Some(list) = to else {
        return Ok(vec![0]);
    };
    let roles = host.acl_roles()?;
    let mut out = Vec::new();
    let mut public = false;
    for o in list {
        let name = match o {
            ast::Owner::Ident(i) => crate::bind::ident_name(i),
            ast::Owner::CurrentUser | ast::Owner::CurrentRole => host.identity().user.clone(),
            ast::Owner::SessionUser => host.identity().session_user.clone(),
        };
        if matches!(o, ast::Owner::Ident(i) if i.quote_style.is_none()) && name == "public" {
            public = true;
            continue;
        }
        match roles.by_name(&name) {
            Some(r) => {
                if !out.contains(&r.oid) {
                    out.push(r.oid)
                }
            }
            None => {
                return Err(err(
                    UNDEFINED_OBJECT,
                    format!("role \"{name}\" does not exist"),
                ))
            }
        }
    }
    if public {
        if !out.is_empty() {
            host.notice(
                crate::fdw::warning("ignoring specified roles other than PUBLIC")
                    .with_hint("All roles are members of the PUBLIC role."),
            );
        }
        return Ok(vec![0]);
    }
    Ok(out)
}

/// `e` checked over `rel`'s row (a boolean, the columns exist) and
/// turned into the text PostgreSQL's deparser would store.
fn policy_expr(host: &dyn Host, rel: &Relation, e: &ast::Expr) -> Result<String, PgError> {
    // Privileges on what the expression reads are checked when it is
    // used, not when it is defined (as a view's query).
    acl::unchecked(|| crate::bind::rowexpr::bind_policy_qual(host, rel, e))?;
    Ok(deparse_over(Some(rel), e))
}

/// [`deparse_over`] without a relation.
#[cfg(test)]
fn deparse(e: &ast::Expr) -> String {
    deparse_over(None, e)
}

/// An expression as PostgreSQL's ruleutils prints it back, in the
/// respects that show in pg_policies: operator expressions and boolean
/// combinations in parentheses, redundant parentheses dropped, and, with
/// `rel`'s columns known, a string literal compared with a column shown
/// with the column's type, as PostgreSQL shows the constant it coerced
/// (`(b <> 'x'::text)`).
fn deparse_over(rel: Option<&Relation>, e: &ast::Expr) -> String {
    use ast::Expr as E;
    let deparse = |e: &ast::Expr| deparse_over(rel, e);
    let column_type = |e: &ast::Expr| -> Option<String> {
        let E::Identifier(i) = e else { return None };
        let name = crate::bind::ident_name(i);
        let c = rel?.columns.iter().find(|c| c.name == name)?;
        Some(types::sql_name(c.ty.oid))
    };
    let literal = |e: &ast::Expr| -> Option<String> {
        match e {
            E::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(_) => Some(e.to_string()),
                _ => None,
            },
            _ => None,
        }
    };
    match e {
        E::Nested(inner) => deparse(inner),
        E::BinaryOp { left, op, right } => {
            let side =
                |this: &ast::Expr, other: &ast::Expr| match (literal(this), column_type(other)) {
                    (Some(l), Some(t)) => format!("{l}::{t}"),
                    _ => deparse(this),
                };
            format!("({} {} {})", side(left, right), op, side(right, left))
        }
        E::UnaryOp {
            op: ast::UnaryOperator::Not,
            expr,
        } => format!("(NOT {})", deparse(expr)),
        E::IsNull(x) => format!("({} IS NULL)", deparse(x)),
        E::IsNotNull(x) => format!("({} IS NOT NULL)", deparse(x)),
        E::IsTrue(x) => format!("({} IS TRUE)", deparse(x)),
        E::IsFalse(x) => format!("({} IS FALSE)", deparse(x)),
        E::Subquery(q) => format!("( {q})"),
        E::Identifier(i) => crate::bind::ident_name(i),
        // SQLValueFunctions print in capitals.
        E::Function(f)
            if matches!(f.args, ast::FunctionArguments::None)
                && matches!(
                    f.name.to_string().to_ascii_lowercase().as_str(),
                    "current_user"
                        | "session_user"
                        | "current_role"
                        | "user"
                        | "current_catalog"
                        | "current_schema"
                        | "current_date"
                        | "current_time"
                        | "current_timestamp"
                        | "localtime"
                        | "localtimestamp"
                ) =>
        {
            f.name.to_string().to_ascii_uppercase()
        }
        E::Value(v) => match &v.value {
            ast::Value::Boolean(b) => b.to_string(),
            _ => e.to_string(),
        },
        _ => e.to_string(),
    }
}

fn find_policy(host: &mut dyn Host, relid: u32, name: &str) -> Result<Option<Vec<Value>>, PgError> {
    let rows = q(
        host,
        "SELECT oid, polcmd, polqual, polwithcheck FROM pg_catalog.pg_policy \
         WHERE polrelid = $1 AND polname = $2",
        &[types::OID, types::TEXT],
        vec![Value::Oid(relid), Value::Text(name.to_string())],
    )?;
    Ok(rows.into_iter().next())
}

fn polcmd_of(c: &Option<ast::CreatePolicyCommand>) -> u8 {
    use ast::CreatePolicyCommand as C;
    match c {
        None | Some(C::All) => b'*',
        Some(C::Select) => b'r',
        Some(C::Insert) => b'a',
        Some(C::Update) => b'w',
        Some(C::Delete) => b'd',
    }
}

fn roles_value(oids: &[u32]) -> Value {
    Value::Array(Box::new(tusk_types::array::Array::from_items(
        types::OID,
        oids.iter().map(|&o| Value::Oid(o)).collect(),
    )))
}

pub(crate) fn run(stmt: &PolicyStmt, host: &mut dyn Host) -> Result<(), PgError> {
    match stmt {
        PolicyStmt::Create(c) => create(c, host),
        PolicyStmt::Alter(a) => alter(a, host),
        PolicyStmt::Drop(d) => drop_policy(d, host),
        PolicyStmt::RowSecurity {
            table,
            if_exists,
            sets,
        } => {
            let rel = match policy_table(host, table) {
                Err(e) if *if_exists && e.code == sqlstate::UNDEFINED_TABLE => {
                    let name = crate::bind::object_name_parts(table)?
                        .pop()
                        .unwrap_or_default();
                    host.notice(crate::fdw::notice(format!(
                        "relation \"{name}\" does not exist, skipping"
                    )));
                    return Ok(());
                }
                Err(e) if e.code == WRONG_OBJECT_TYPE => {
                    let parts = crate::bind::object_name_parts(table)?;
                    let name = parts.last().cloned().unwrap_or_default();
                    return Err(err(
                        WRONG_OBJECT_TYPE,
                        format!(
                            "ALTER action ROW SECURITY cannot be performed on relation \"{name}\""
                        ),
                    )
                    .with_detail("This operation is not supported for views."));
                }
                r => r?,
            };
            for (col, v) in sets {
                q(
                    host,
                    &format!("UPDATE pg_catalog.pg_class SET {col} = $2 WHERE oid = $1"),
                    &[types::OID, types::BOOL],
                    vec![Value::Oid(rel_oid(&rel)), Value::Bool(*v)],
                )?;
            }
            Ok(())
        }
    }
}

fn create(c: &ast::CreatePolicy, host: &mut dyn Host) -> Result<(), PgError> {
    let cmd = polcmd_of(&c.command);
    if matches!(cmd, b'r' | b'd') && c.with_check.is_some() {
        return Err(err(
            sqlstate::SYNTAX_ERROR,
            "WITH CHECK cannot be applied to SELECT or DELETE".into(),
        ));
    }
    if cmd == b'a' && c.using.is_some() {
        return Err(err(
            sqlstate::SYNTAX_ERROR,
            "only WITH CHECK expression allowed for INSERT".into(),
        ));
    }
    let roles = role_oids(host, &c.to)?;
    let rel = policy_table(host, &c.table_name)?;
    let qual = c
        .using
        .as_ref()
        .map(|e| policy_expr(&*host, &rel, e))
        .transpose()?;
    let check = c
        .with_check
        .as_ref()
        .map(|e| policy_expr(&*host, &rel, e))
        .transpose()?;
    let name = crate::bind::ident_name(&c.name);
    let relid = rel_oid(&rel);
    if find_policy(host, relid, &name)?.is_some() {
        return Err(err(
            DUPLICATE_OBJECT,
            format!(
                "policy \"{name}\" for table \"{}\" already exists",
                rel.name
            ),
        ));
    }
    let oid = host.tables()?.new_catalog_oid()?;
    let permissive = !matches!(c.policy_type, Some(ast::CreatePolicyType::Restrictive));
    q(
        host,
        "INSERT INTO pg_catalog.pg_policy VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            types::OID,
            types::NAME,
            types::OID,
            types::CHAR,
            types::BOOL,
            OID_ARRAY,
            PG_NODE_TREE,
            PG_NODE_TREE,
        ],
        vec![
            Value::Oid(oid),
            Value::Name(name),
            Value::Oid(relid),
            Value::Char(cmd),
            Value::Bool(permissive),
            roles_value(&roles),
            qual.map(Value::Text).unwrap_or(Value::Null),
            check.map(Value::Text).unwrap_or(Value::Null),
        ],
    )?;
    Ok(())
}

fn alter(a: &ast::AlterPolicy, host: &mut dyn Host) -> Result<(), PgError> {
    let (roles, using, with_check) = match &a.operation {
        ast::AlterPolicyOperation::Apply {
            to,
            using,
            with_check,
        } => (
            match to {
                Some(_) => Some(role_oids(host, to)?),
                None => None,
            },
            using.as_ref(),
            with_check.as_ref(),
        ),
        ast::AlterPolicyOperation::Rename { .. } => (None, None, None),
    };
    let rel = policy_table(host, &a.table_name)?;
    let relid = rel_oid(&rel);
    let name = crate::bind::ident_name(&a.name);
    let Some(row) = find_policy(host, relid, &name)? else {
        return Err(err(
            UNDEFINED_OBJECT,
            format!(
                "policy \"{name}\" for table \"{}\" does not exist",
                rel.name
            ),
        ));
    };
    let oid = match row[0] {
        Value::Oid(o) => o,
        _ => 0,
    };
    if let ast::AlterPolicyOperation::Rename { new_name } = &a.operation {
        let new = crate::bind::ident_name(new_name);
        if find_policy(host, relid, &new)?.is_some() {
            return Err(err(
                DUPLICATE_OBJECT,
                format!("policy \"{new}\" for table \"{}\" already exists", rel.name),
            ));
        }
        q(
            host,
            "UPDATE pg_catalog.pg_policy SET polname = $2 WHERE oid = $1",
            &[types::OID, types::NAME],
            vec![Value::Oid(oid), Value::Name(new)],
        )?;
        return Ok(());
    }
    let cmd = match row[1] {
        Value::Char(c) => c,
        _ => b'*',
    };
    if matches!(cmd, b'r' | b'd') && with_check.is_some() {
        return Err(err(
            sqlstate::SYNTAX_ERROR,
            "only USING expression allowed for SELECT, DELETE".into(),
        ));
    }
    if cmd == b'a' && using.is_some() {
        return Err(err(
            sqlstate::SYNTAX_ERROR,
            "only WITH CHECK expression allowed for INSERT".into(),
        ));
    }
    if let Some(r) = roles {
        q(
            host,
            "UPDATE pg_catalog.pg_policy SET polroles = $2 WHERE oid = $1",
            &[types::OID, OID_ARRAY],
            vec![Value::Oid(oid), roles_value(&r)],
        )?;
    }
    if let Some(e) = using {
        let t = policy_expr(&*host, &rel, e)?;
        q(
            host,
            "UPDATE pg_catalog.pg_policy SET polqual = $2 WHERE oid = $1",
            &[types::OID, PG_NODE_TREE],
            vec![Value::Oid(oid), Value::Text(t)],
        )?;
    }
    if let Some(e) = with_check {
        let t = policy_expr(&*host, &rel, e)?;
        q(
            host,
            "UPDATE pg_catalog.pg_policy SET polwithcheck = $2 WHERE oid = $1",
            &[types::OID, PG_NODE_TREE],
            vec![Value::Oid(oid), Value::Text(t)],
        )?;
    }
    Ok(())
}

fn drop_policy(d: &ast::DropPolicy, host: &mut dyn Host) -> Result<(), PgError> {
    // DROP checks ownership as of any object: "must be owner of relation".
    let owner_word = |e: PgError| {
        if e.code == sqlstate::INSUFFICIENT_PRIVILEGE
            && e.message.starts_with("must be owner of table ")
        {
            PgError {
                message: e.message.replacen("of table ", "of relation ", 1),
                ..e
            }
        } else {
            e
        }
    };
    let rel = match policy_table(host, &d.table_name).map_err(owner_word) {
        Err(e) if d.if_exists && e.code == sqlstate::UNDEFINED_TABLE => {
            let name = crate::bind::object_name_parts(&d.table_name)?
                .pop()
                .unwrap_or_default();
            host.notice(crate::fdw::notice(format!(
                "relation \"{name}\" does not exist, skipping"
            )));
            return Ok(());
        }
        r => r?,
    };
    let relid = rel_oid(&rel);
    let name = crate::bind::ident_name(&d.name);
    let Some(row) = find_policy(host, relid, &name)? else {
        if d.if_exists {
            host.notice(crate::fdw::notice(format!(
                "policy \"{name}\" for relation \"{}\" does not exist, skipping",
                rel.name
            )));
            return Ok(());
        }
        return Err(err(
            UNDEFINED_OBJECT,
            format!(
                "policy \"{name}\" for table \"{}\" does not exist",
                rel.name
            ),
        ));
    };
    q(
        host,
        "DELETE FROM pg_catalog.pg_policy WHERE oid = $1",
        &[types::OID],
        vec![row[0].clone()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(s: &str) -> ast::Expr {
        sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
            .try_with_sql(s)
            .and_then(|mut p| p.parse_expr())
            .unwrap()
    }

    #[test]
    fn deparses_as_postgres_prints() {
        assert_eq!(deparse(&expr("a > 0")), "(a > 0)");
        assert_eq!(deparse(&expr("(a % 2 = 0) AND b")), "(((a % 2) = 0) AND b)");
        assert_eq!(deparse(&expr("true")), "true");
        assert_eq!(deparse(&expr("NOT x")), "(NOT x)");
        assert_eq!(
            deparse(&expr("owner = current_user")),
            "(owner = CURRENT_USER)"
        );
    }

    #[test]
    fn restrictive_and_permissive_split_by_role() {
        let p = |name: &str, cmd: u8, permissive: bool, roles: Vec<u32>| Policy {
            oid: 1,
            name: name.into(),
            cmd,
            permissive,
            roles,
            qual: Some("true".into()),
            with_check: None,
        };
        let rls = Rls {
            force: false,
            policies: vec![
                p("a", b'*', true, vec![0]),
                p("b", b'r', false, vec![100]),
                p("c", b'w', true, vec![0]),
                p("d", b'r', true, vec![101]),
            ],
        };
        let roles = acl::RoleSet {
            roles: vec![
                acl::RoleInfo {
                    oid: 100,
                    name: "alice".into(),
                    superuser: false,
                    inherit: true,
                    bypassrls: false,
                },
                acl::RoleInfo {
                    oid: 101,
                    name: "bob".into(),
                    superuser: false,
                    inherit: true,
                    bypassrls: false,
                },
            ],
            members: Vec::new(),
        };
        let (perm, restr) = applicable(&rls, Cmd::Select, 100, &roles);
        assert_eq!(
            perm.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        assert_eq!(
            restr.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
        let (perm, _) = applicable(&rls, Cmd::Update, 101, &roles);
        assert_eq!(
            perm.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["a", "c"]
        );
    }
}
