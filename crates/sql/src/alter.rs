//! ALTER TABLE: its subcommands bound from sqlparser's AST, checked and run one after another over the host's [`Tables`](crate::Tables), and CHECK constraints of CREATE TABLE.
//!
//! Why this shape:
//! - **Resolved when run, not when prepared.** A prepared ALTER TABLE
//!   keeps names; each execution looks the table up, takes its
//!   AccessExclusiveLock ([`AlterOp::Lock`]) and re-reads the relation
//!   after every subcommand, so each one sees what the previous did (as
//!   PostgreSQL's CommandCounterIncrement between subcommands).
//! - **The rows, when needed, are read once.** Subcommands that must see
//!   the existing rows (ADD COLUMN with a DEFAULT or NOT NULL, SET NOT
//!   NULL, ALTER COLUMN TYPE, ADD CHECK, VALIDATE CONSTRAINT) make the
//!   statement read every row first; each subcommand then transforms or
//!   checks those rows in memory alongside its catalog change, and if any
//!   subcommand changed the stored values (a new column with a non-NULL
//!   default, a new type) the table is rewritten once at the end
//!   (PostgreSQL's phase 3). The rows are held in memory: fine for the
//!   tables DDL is run on today, a spill to disk is left for later.
//! - **PostgreSQL's words** for every refusal (texts and SQLSTATEs
//!   checked against PostgreSQL 15); PRIMARY KEY and UNIQUE mixed with
//!   other subcommands are refused with 0A000 (alone they are index.rs's
//!   builds); FOREIGN KEY is fkey.rs's.
//! - **Constraint names** as PostgreSQL chooses them: `<table>_<first
//!   column the expression names>_check` (`<table>_check` with none), a
//!   number appended while the name is taken.
//!
//! Called only by the backend running the statement.

use sqlparser::ast;
use tusk_common::{sqlstate, PgError, Severity};

use crate::bind::rowexpr;
use crate::bind::{data_type_to_ty, ident_name, not_supported, Bound};
use crate::catalog::{codes, CheckDef, ColumnDef, Relation};
use crate::exec::Relations;
use crate::expr::{Ctx, Expr};
use crate::host::Host;
use crate::types::{self, Ty};
use crate::value::Value;

/// One catalog change the host makes for ALTER TABLE (see
/// [`Tables::alter_table`](crate::Tables::alter_table)).
#[derive(Debug, Clone, PartialEq)]
pub enum AlterOp {
    /// Take the table's AccessExclusiveLock (first, before any reading).
    Lock,
    AddColumn(ColumnDef),
    /// Mark the column dropped (it keeps its place in stored tuples).
    DropColumn(String),
    RenameColumn {
        old: String,
        new: String,
    },
    RenameTable(String),
    /// Set (Some: the expression's SQL text) or drop the column's DEFAULT.
    SetDefault {
        column: String,
        default: Option<String>,
    },
    SetNotNull {
        column: String,
        not_null: bool,
    },
    /// The column's new type; the host does not convert rows (the SQL
    /// layer rewrites them).
    SetType {
        column: String,
        ty: Ty,
    },
    AddCheck(CheckDef),
    /// Drop the constraint of this name.
    DropConstraint(String),
    /// Mark a NOT VALID constraint validated.
    ValidateConstraint(String),
    /// OWNER TO: the new pg_class.relowner and relacl (the ACL with the
    /// old owner's entries moved to the new one; None stays NULL).
    OwnerTo {
        owner: u32,
        acl: Option<String>,
    },
    /// ALTER COLUMN ... DROP EXPRESSION: a stored generated column
    /// becomes a plain one (its values stay).
    DropExpression {
        column: String,
    },
}

/// One subcommand as written.
#[derive(Debug, Clone)]
enum Cmd {
    AddColumn {
        def: ColumnDef,
        checks: Vec<ast::Expr>,
        if_not_exists: bool,
    },
    DropColumn {
        name: String,
        if_exists: bool,
        /// CASCADE: FOREIGN KEYs referencing the column go too.
        cascade: bool,
    },
    RenameColumn {
        old: String,
        new: String,
    },
    RenameTable(String),
    SetDefault {
        column: String,
        default: Option<ast::Expr>,
    },
    /// ALTER COLUMN ... ADD GENERATED ... AS IDENTITY (sequence.rs).
    AddIdentity {
        column: String,
        kind: u8,
        opts: Vec<crate::sequence::SeqOpt>,
    },
    SetNotNull(String),
    DropNotNull(String),
    SetType {
        column: String,
        ty: Ty,
        using: Option<ast::Expr>,
    },
    AddCheck {
        name: Option<String>,
        expr: ast::Expr,
        not_valid: bool,
    },
    DropConstraint {
        name: String,
        if_exists: bool,
    },
    Validate(String),
    /// OWNER TO role (None: CURRENT_USER / CURRENT_ROLE; Some("") never).
    OwnerTo(Option<String>),
    AddForeignKey {
        spec: crate::fkey::FkSpec,
        not_valid: bool,
    },
}

/// A bound ALTER TABLE.
#[derive(Debug, Clone)]
pub(crate) struct AlterPlan {
    schema: Option<String>,
    name: String,
    if_exists: bool,
    cmds: Vec<Cmd>,
    /// ALTER TABLE ONLY: the descendants are left alone.
    only: bool,
}

fn table_name(n: &ast::ObjectName) -> Result<(Option<String>, String), PgError> {
    let parts: Vec<String> =
        n.0.iter()
            .filter_map(|p| match p {
                ast::ObjectNamePart::Identifier(i) => Some(ident_name(i)),
                ast::ObjectNamePart::Function(_) => None,
            })
            .collect();
    match parts.as_slice() {
        [t] => Ok((None, t.clone())),
        [s, t] => Ok((Some(s.clone()), t.clone())),
        _ => Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("improper relation name (too many dotted names): {n}"),
        )),
    }
}

/// The refusal of constraints that need indexes (kept from before ALTER
/// TABLE existed: pgbench's 'p' and 'f' init steps meet it).
fn mixed(what: &str) -> PgError {
    not_supported(format!("{what} together with other subcommands"))
        .with_hint("Run it as an ALTER TABLE statement of its own.")
}

/// `[NOT] ENFORCED` after a CHECK is PostgreSQL 18's; PostgreSQL 15
/// rejects it as a syntax error, and so does tusk rather than ignore it.
pub(crate) fn refuse_enforced(c: &ast::CheckConstraint) -> Result<(), PgError> {
    match c.enforced {
        Some(_) => Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            "syntax error at or near \"ENFORCED\"",
        )),
        None => Ok(()),
    }
}

/// A column definition of ADD COLUMN or CREATE TABLE: type, NULL / NOT
/// NULL, DEFAULT and CHECK (returned apart).
pub(crate) fn column_def(c: &ast::ColumnDef) -> Result<(ColumnDef, Vec<ast::Expr>), PgError> {
    let (def, checks, indexes) = column_def_with_indexes(c)?;
    let checks = checks.into_iter().map(|(_, e)| e).collect();
    if !indexes.is_empty() {
        return Err(not_supported(
            "ADD COLUMN with PRIMARY KEY or UNIQUE (add the column, then the constraint)",
        ));
    }
    Ok((def, checks))
}

/// A CHECK constraint with its name when one was given.
pub(crate) type NamedCheck = (Option<String>, ast::Expr);

/// [`column_def`] for CREATE TABLE: PRIMARY KEY (which implies NOT NULL)
/// and UNIQUE become index specifications, created after the table.
pub(crate) fn column_def_with_indexes(
    c: &ast::ColumnDef,
) -> Result<(ColumnDef, Vec<NamedCheck>, Vec<crate::index::IndexSpec>), PgError> {
    let ty = data_type_to_ty(&c.data_type)?;
    let cname = ident_name(&c.name);
    let mut def = ColumnDef::new(&cname, ty);
    def.domain = crate::domain::coercion_target(&c.data_type);
    let mut checks = Vec::new();
    let mut indexes = Vec::new();
    for o in &c.options {
        match &o.option {
            ast::ColumnOption::NotNull => def.not_null = true,
            ast::ColumnOption::Null => def.not_null = false,
            ast::ColumnOption::Default(e) => def.default = Some(e.to_string()),
            ast::ColumnOption::Check(ck) => {
                refuse_enforced(ck)?;
                // `CONSTRAINT name CHECK (...)` on the column names it.
                let name = o.name.as_ref().or(ck.name.as_ref()).map(ident_name);
                checks.push((name, (*ck.expr).clone()))
            }
            ast::ColumnOption::PrimaryKey(_) => {
                def.not_null = true;
                indexes.push(crate::index::column_constraint(&cname, &o.name, true));
            }
            ast::ColumnOption::Unique(_) => {
                indexes.push(crate::index::column_constraint(&cname, &o.name, false));
            }
            ast::ColumnOption::Generated {
                generated_as: ast::GeneratedAs::ExpStored,
                generation_expr: Some(e),
                ..
            } => {
                // Conflicting clauses were refused with the table's name
                // (generated::clauses).
                // Kept without the parentheses written around it (psql's
                // \d adds its own).
                let mut e = e;
                while let ast::Expr::Nested(inner) = e {
                    e = inner;
                }
                def.generated = Some(e.to_string());
            }
            other => return Err(not_supported(format!("column option {other}"))),
        }
    }
    Ok((def, checks, indexes))
}

/// Binds ALTER TABLE's subcommands (names are resolved when it runs).
pub(crate) fn bind(at: &ast::AlterTable) -> Result<AlterPlan, PgError> {
    use ast::AlterTableOperation as Op;
    let (schema, name) = table_name(&at.name)?;
    let mut cmds = Vec::new();
    for op in &at.operations {
        cmds.push(match op {
            Op::AddColumn {
                if_not_exists,
                column_def: c,
                column_position: None,
                ..
            } => {
                crate::generated::clauses(c, &name)?;
                let (def, checks) = column_def(c)?;
                Cmd::AddColumn {
                    def,
                    checks,
                    if_not_exists: *if_not_exists,
                }
            }
            Op::DropColumn {
                column_names,
                if_exists,
                drop_behavior,
                ..
            } => match column_names.as_slice() {
                [c] => Cmd::DropColumn {
                    name: ident_name(c),
                    if_exists: *if_exists,
                    cascade: matches!(drop_behavior, Some(ast::DropBehavior::Cascade)),
                },
                _ => return Err(not_supported("DROP COLUMN of several columns")),
            },
            Op::RenameColumn {
                old_column_name,
                new_column_name,
            } => Cmd::RenameColumn {
                old: ident_name(old_column_name),
                new: ident_name(new_column_name),
            },
            Op::RenameTable { table_name: t } => {
                let n = match t {
                    ast::RenameTableNameKind::As(n) | ast::RenameTableNameKind::To(n) => n,
                };
                Cmd::RenameTable(table_name(n)?.1)
            }
            Op::AlterColumn { column_name, op } => {
                let column = ident_name(column_name);
                match op {
                    ast::AlterColumnOperation::SetNotNull => Cmd::SetNotNull(column),
                    ast::AlterColumnOperation::DropNotNull => Cmd::DropNotNull(column),
                    ast::AlterColumnOperation::SetDefault { value } => Cmd::SetDefault {
                        column,
                        default: Some(value.clone()),
                    },
                    ast::AlterColumnOperation::DropDefault => Cmd::SetDefault {
                        column,
                        default: None,
                    },
                    ast::AlterColumnOperation::AddGenerated {
                        generated_as,
                        sequence_options,
                    } => {
                        let (kind, opts) =
                            crate::sequence::identity_spec(generated_as, sequence_options)?;
                        Cmd::AddIdentity { column, kind, opts }
                    }
                    ast::AlterColumnOperation::SetDataType {
                        data_type, using, ..
                    } => Cmd::SetType {
                        column,
                        ty: data_type_to_ty(data_type)?,
                        using: using.clone(),
                    },
                }
            }
            Op::AddConstraint {
                constraint,
                not_valid,
            } => match constraint {
                ast::TableConstraint::Check(c) => {
                    refuse_enforced(c)?;
                    Cmd::AddCheck {
                        name: c.name.as_ref().map(ident_name),
                        expr: (*c.expr).clone(),
                        not_valid: *not_valid,
                    }
                }
                // Alone (every subcommand of the statement), these are
                // index builds (utility.rs, index.rs); mixed with others
                // not yet.
                ast::TableConstraint::PrimaryKey(_) => {
                    return Err(mixed("ALTER TABLE ... ADD PRIMARY KEY"))
                }
                ast::TableConstraint::Unique(_) => return Err(mixed("ALTER TABLE ... ADD UNIQUE")),
                ast::TableConstraint::ForeignKey(f) => Cmd::AddForeignKey {
                    spec: crate::fkey::spec(f, None, None)?,
                    not_valid: *not_valid,
                },
                other => return Err(not_supported(format!("ALTER TABLE ... ADD {other}"))),
            },
            Op::DropConstraint {
                if_exists, name, ..
            } => Cmd::DropConstraint {
                name: ident_name(name),
                if_exists: *if_exists,
            },
            Op::ValidateConstraint { name } => Cmd::Validate(ident_name(name)),
            Op::OwnerTo { new_owner } => Cmd::OwnerTo(match new_owner {
                ast::Owner::Ident(i) => Some(ident_name(i)),
                ast::Owner::SessionUser => Some(String::new()),
                _ => None,
            }),
            other => return Err(not_supported(format!("ALTER TABLE ... {other}"))),
        });
    }
    Ok(AlterPlan {
        schema,
        name,
        if_exists: at.if_exists,
        cmds,
        only: at.only,
    })
}

fn notice(host: &mut dyn Host, msg: String) {
    host.notice(PgError::new(
        Severity::Notice,
        sqlstate::SUCCESSFUL_COMPLETION,
        msg,
    ));
}

/// The identifiers an expression's text names, case-folded, in order.
fn words(text: &str) -> Vec<String> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    sqlparser::tokenizer::Tokenizer::new(&dialect, text)
        .tokenize()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| match t {
            sqlparser::tokenizer::Token::Word(w) => Some(if w.quote_style.is_some() {
                w.value
            } else {
                w.value.to_lowercase()
            }),
            _ => None,
        })
        .collect()
}

/// The words of `text` that can name a column: [`words`] less the
/// unquoted keywords PostgreSQL reserves for other uses (reserved and
/// type/function-name keywords: `a LIKE 'x'` names one column even when
/// the table has a column "like").
fn column_words(text: &str) -> Vec<String> {
    use crate::parse::KeywordCategory;
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    sqlparser::tokenizer::Tokenizer::new(&dialect, text)
        .tokenize()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| match t {
            sqlparser::tokenizer::Token::Word(w) if w.quote_style.is_some() => Some(w.value),
            sqlparser::tokenizer::Token::Word(w) => {
                let v = w.value.to_lowercase();
                (!matches!(
                    crate::parse::keyword_category(&v),
                    Some(KeywordCategory::Reserved | KeywordCategory::TypeFuncName)
                ))
                .then_some(v)
            }
            _ => None,
        })
        .collect()
}

/// `text` with every identifier `old` renamed `new` (RENAME COLUMN of a
/// column a CHECK names).
fn rename_word(text: &str, old: &str, new: &str) -> String {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, text).tokenize() else {
        return text.to_string();
    };
    tokens
        .into_iter()
        .map(|t| match t {
            Token::Word(w) => {
                let folded = if w.quote_style.is_some() {
                    w.value.clone()
                } else {
                    w.value.to_lowercase()
                };
                if folded == old {
                    quote_ident(new)
                } else {
                    Token::Word(w).to_string()
                }
            }
            t => t.to_string(),
        })
        .collect()
}

fn quote_ident(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// PostgreSQL's name for an unnamed CHECK of `rel` (ChooseConstraintName
/// over makeObjectName: the parts shortened to fit 63 bytes).
fn choose_check_name(rel: &Relation, expr: &str, taken: &[String]) -> String {
    // The column goes into the name only when the expression names
    // exactly one (AddRelationNewConstraints).
    let mut named: Vec<String> = column_words(expr)
        .into_iter()
        .filter(|w| rel.columns.iter().any(|c| &c.name == w))
        .collect();
    named.dedup();
    named.sort();
    named.dedup();
    let col = if named.len() == 1 {
        named.first()
    } else {
        None
    };
    let base = |suffix: &str| -> String {
        let label = format!("check{suffix}");
        let mut a = rel.name.clone();
        let mut b = col.cloned().unwrap_or_default();
        let sep = usize::from(!b.is_empty());
        // Shorten the longer part first, as makeObjectName does.
        while a.len() + b.len() + sep + label.len() + 1 > 63 {
            if a.len() >= b.len() {
                a.pop();
            } else {
                b.pop();
            }
        }
        if b.is_empty() {
            format!("{a}_{label}")
        } else {
            format!("{a}_{b}_{label}")
        }
    };
    let mut name = base("");
    let mut n = 0;
    while taken.contains(&name) {
        n += 1;
        name = base(&n.to_string());
    }
    name
}

/// What a CHECK must be: no aggregates, subqueries or parameters; its
/// text as stored.
fn check_text(e: &ast::Expr) -> String {
    e.to_string()
}

/// Evaluates `e` on every row: the first value that is false (not NULL)
/// is a violation.
fn violated(
    host: &mut dyn Host,
    e: &Expr,
    rows: &[Vec<Value>],
    tableoid: u32,
) -> Result<bool, PgError> {
    let mut cx = Ctx { host, params: &[] };
    for r in rows {
        if e.eval(&rowexpr::pad_row(r, tableoid), &mut cx)? == Value::Bool(false) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// ALTER TABLE ... OWNER TO: the new owner must exist and, unless a
/// superuser runs it, the current user must be a member of it (PostgreSQL
/// 15's check); the ACL's entries of the old owner move to the new one
/// (aclnewowner).
fn owner_to(host: &dyn Host, rel: &Relation, name: Option<&str>) -> Result<AlterOp, PgError> {
    let roles = host.acl_roles()?;
    let who = match name {
        None => host.identity().user.clone(),
        Some("") => host.identity().session_user.clone(),
        Some(n) => n.to_string(),
    };
    let Some(new) = roles.by_name(&who).map(|r| r.oid) else {
        return Err(PgError::error(
            sqlstate::UNDEFINED_OBJECT,
            format!("role \"{who}\" does not exist"),
        ));
    };
    if new == rel.owner {
        return Ok(AlterOp::OwnerTo {
            owner: new,
            acl: rel.acl.clone(),
        });
    }
    if !host.identity().is_superuser {
        let me = crate::acl::current_user_oid(host)?;
        if !roles.is_member_of(me, new) {
            return Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("must be member of role \"{who}\""),
            ));
        }
    }
    let acl = rel
        .acl
        .as_deref()
        .and_then(crate::acl::parse_stored)
        .map(|a| crate::acl::to_stored(&crate::acl::new_owner(&a, rel.owner, new)));
    Ok(AlterOp::OwnerTo { owner: new, acl })
}

fn refetch(host: &dyn Host, rel: &Relation) -> Result<Relation, PgError> {
    let schema = Some(rel.schema.as_str());
    host.lookup_table(schema, &rel.name)?.ok_or_else(|| {
        PgError::error(
            sqlstate::UNDEFINED_TABLE,
            format!("relation \"{}\" does not exist", rel.name),
        )
    })
}

fn undefined_column(col: &str, rel: &Relation) -> PgError {
    PgError::error(
        sqlstate::UNDEFINED_COLUMN,
        format!(
            "column \"{col}\" of relation \"{}\" does not exist",
            rel.name
        ),
    )
}

fn column_index(rel: &Relation, col: &str) -> Result<usize, PgError> {
    rel.columns
        .iter()
        .position(|c| c.name == col)
        .ok_or_else(|| undefined_column(col, rel))
}

/// Adds a CHECK to `rel`: named as given or as PostgreSQL names it,
/// validated against `rows` unless NOT VALID (or when there are no rows
/// to see: a new table).
fn add_check(
    host: &mut dyn Host,
    rel: &Relation,
    name: Option<String>,
    expr: &ast::Expr,
    not_valid: bool,
    rows: Option<&[Vec<Value>]>,
) -> Result<(), PgError> {
    let t = rel.table()?;
    rowexpr::refuse_in_ddl(expr, "check constraint")?;
    let bound = rowexpr::bind_check(&*host, rel, expr)
        .map_err(|e| rowexpr::ddl_agg_error(e, "check constraint"))?;
    let text = check_text(expr);
    let taken: Vec<String> = rel.checks.iter().map(|c| c.name.clone()).collect();
    let name = match name {
        Some(n) => {
            if taken.contains(&n) {
                return Err(PgError::error(
                    codes::DUPLICATE_OBJECT,
                    format!(
                        "constraint \"{n}\" for relation \"{}\" already exists",
                        rel.name
                    ),
                ));
            }
            n
        }
        None => choose_check_name(rel, &text, &taken),
    };
    if !not_valid {
        if let Some(rows) = rows {
            if violated(host, &bound, rows, t.oid)? {
                return Err(PgError::error(
                    codes::CHECK_VIOLATION,
                    format!(
                        "check constraint \"{name}\" of relation \"{}\" is violated by some row",
                        rel.name
                    ),
                ));
            }
        }
    }
    host.tables()?.alter_table(
        rel,
        &AlterOp::AddCheck(CheckDef {
            name,
            expr: text,
            validated: !not_valid,
        }),
    )
}

/// CREATE TABLE's CHECK constraints (column and table ones, in order),
/// added to the table just created.
pub(crate) fn create_checks(
    host: &mut dyn Host,
    schema: Option<&str>,
    name: &str,
    checks: &[(Option<String>, ast::Expr)],
) -> Result<(), PgError> {
    for (cname, e) in checks {
        let rel = host.lookup_table(schema, name)?.ok_or_else(|| {
            PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{name}\" does not exist"),
            )
        })?;
        add_check(host, &rel, cname.clone(), e, false, None)?;
    }
    Ok(())
}

/// A column's DEFAULT bound, refused as PostgreSQL refuses it at
/// definition (subqueries, parameters, aggregates).
pub(crate) fn bind_default_checked(
    host: &dyn Host,
    def: &ColumnDef,
) -> Result<Option<Expr>, PgError> {
    if let Some(text) = &def.default {
        let e = rowexpr::parse_stored(text, "default")?;
        rowexpr::refuse_in_ddl(&e, "DEFAULT expression")?;
    }
    rowexpr::bind_column_default(host, def)
        .map_err(|e| rowexpr::ddl_agg_error(e, "DEFAULT expression"))
}

fn needs_rows(c: &Cmd) -> bool {
    match c {
        Cmd::AddColumn { def, checks, .. } => {
            def.default.is_some()
                || def.not_null
                || !checks.is_empty()
                || def.domain.is_some()
                || def.generated.is_some()
        }
        Cmd::SetNotNull(_) | Cmd::SetType { .. } | Cmd::Validate(_) => true,
        Cmd::AddCheck { not_valid, .. } => !not_valid,
        _ => false,
    }
}

fn contains_nulls(col: &str, rel: &Relation) -> PgError {
    PgError::error(
        codes::NOT_NULL_VIOLATION,
        format!(
            "column \"{col}\" of relation \"{}\" contains null values",
            rel.name
        ),
    )
}

/// Runs ALTER TABLE (see the file comment).
pub(crate) fn execute(
    p: &AlterPlan,
    host: &mut dyn Host,
    relations: &dyn Relations,
) -> Result<(), PgError> {
    let Some(mut rel) = host.lookup_table(p.schema.as_deref(), &p.name)? else {
        let shown = match &p.schema {
            Some(s) => format!("{s}.{}", p.name),
            None => p.name.clone(),
        };
        if p.if_exists {
            notice(
                host,
                format!("relation \"{shown}\" does not exist, skipping"),
            );
            return Ok(());
        }
        return Err(PgError::error(
            sqlstate::UNDEFINED_TABLE,
            format!("relation \"{shown}\" does not exist"),
        ));
    };
    let t = rel.table()?;
    crate::acl::check_owner(&*host, &rel)?;
    host.tables()?.alter_table(&rel, &AlterOp::Lock)?;
    // The lock may have waited for another DDL: read the table anew.
    rel = refetch(&*host, &rel)?;
    let mut rows: Option<Vec<Vec<Value>>> = None;
    if p.cmds.iter().any(needs_rows) {
        let n = rel.columns.len();
        let mut scan = relations.open_scan(&rel)?;
        let mut all = Vec::new();
        let r = (|| {
            while let Some(mut r) = scan.next_row()? {
                host.check_interrupts()?;
                r.truncate(n);
                all.push(r);
            }
            Ok::<(), PgError>(())
        })();
        scan.close();
        r?;
        rows = Some(all);
    }
    let mut rewrite = false;
    for cmd in &p.cmds {
        match cmd {
            Cmd::OwnerTo(name) => {
                let op = owner_to(&*host, &rel, name.as_deref())?;
                host.tables()?.alter_table(&rel, &op)?;
                rel = refetch(&*host, &rel)?;
            }
            Cmd::AddColumn {
                def,
                checks,
                if_not_exists,
            } => {
                if p.only && !rel.children.is_empty() {
                    return Err(PgError::error(
                        sqlstate::SqlState::new("42P16"),
                        "column must be added to child tables too",
                    ));
                }
                if rel.columns.iter().any(|c| c.name == def.name) {
                    let msg = format!(
                        "column \"{}\" of relation \"{}\" already exists",
                        def.name, rel.name
                    );
                    if *if_not_exists {
                        notice(host, format!("{msg}, skipping"));
                        continue;
                    }
                    return Err(PgError::error(codes::DUPLICATE_COLUMN, msg));
                }
                if def.generated.is_some() {
                    let mut cols = rel.columns.clone();
                    cols.push(def.clone());
                    crate::generated::check_definitions(
                        &*host,
                        &rel.schema,
                        &rel.name,
                        &cols,
                        Some(cols.len() - 1),
                    )?;
                    // Its values are computed when the rows are
                    // rewritten below.
                    rewrite = true;
                }
                // Existing rows of a domain column get the domain's
                // default when the column has none, and must pass the
                // domain's constraints (PostgreSQL rewrites the table).
                let mut probe = def.clone();
                if probe.default.is_none() {
                    probe.default = def.domain.and_then(crate::domain::default_of);
                }
                let bound = bind_default_checked(&*host, &probe)?;
                let coercion = match def.domain {
                    Some(d) if rows.is_some() => Some(crate::domain::bind_coercion(&*host, d)?),
                    _ => None,
                };
                if let Some(rows) = rows.as_mut() {
                    let mut cx = Ctx { host, params: &[] };
                    for r in rows.iter_mut() {
                        let v = match &bound {
                            Some(e) => crate::modify::assign_typmod(e.eval(&[], &mut cx)?, def.ty)?,
                            None => Value::Null,
                        };
                        if let Some(c) = &coercion {
                            c.apply(&v, &mut cx)?;
                        }
                        if !v.is_null() {
                            rewrite = true;
                        }
                        if def.not_null && v.is_null() && def.generated.is_none() {
                            return Err(contains_nulls(&def.name, &rel));
                        }
                        r.push(v);
                    }
                }
                host.tables()?
                    .alter_table(&rel, &AlterOp::AddColumn(def.clone()))?;
                rel = refetch(&*host, &rel)?;
                for e in checks {
                    add_check(host, &rel, None, e, false, rows.as_deref())?;
                    rel = refetch(&*host, &rel)?;
                }
            }
            Cmd::DropColumn {
                name,
                if_exists,
                cascade,
            } => {
                if !rel.columns.iter().any(|c| &c.name == name) {
                    if *if_exists {
                        notice(
                            host,
                            format!(
                                "column \"{name}\" of relation \"{}\" does not exist, skipping",
                                rel.name
                            ),
                        );
                        continue;
                    }
                    return Err(undefined_column(name, &rel));
                }
                // Generated columns computed from it: refused, or dropped
                // first with CASCADE (PostgreSQL's normal dependency).
                let dependents: Vec<String> = rel
                    .columns
                    .iter()
                    .filter(|c| {
                        c.name != *name
                            && c.generated
                                .as_deref()
                                .is_some_and(|g| words(g).iter().any(|w| w == name))
                    })
                    .map(|c| c.name.clone())
                    .collect();
                if let Some(first) = dependents.first() {
                    if !*cascade {
                        return Err(PgError::error(
                            sqlstate::SqlState::new("2BP01"),
                            format!(
                                "cannot drop column {name} of table {} because other objects depend on it",
                                rel.name
                            ),
                        )
                        .with_detail(format!(
                            "column {first} of table {} depends on column {name} of table {}",
                            rel.name, rel.name
                        ))
                        .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
                    }
                    for d in &dependents {
                        notice(
                            host,
                            format!("drop cascades to column {d} of table {}", rel.name),
                        );
                        let k = column_index(&rel, d)?;
                        host.tables()?
                            .alter_table(&rel, &AlterOp::DropColumn(d.clone()))?;
                        if let Some(rows) = rows.as_mut() {
                            for r in rows.iter_mut() {
                                r.remove(k);
                            }
                        }
                        rel = refetch(&*host, &rel)?;
                    }
                }
                let Some(i) = rel.columns.iter().position(|c| &c.name == name) else {
                    return Err(undefined_column(name, &rel));
                };
                // FOREIGN KEYs of the column go with it; those referencing
                // it only with CASCADE (fkey.rs).
                crate::fkey::before_drop_column(host, &rel, i, *cascade)?;
                // Triggers on the column (UPDATE OF, WHEN): refused, or
                // dropped with CASCADE (trigger.rs).
                crate::trigger::before_drop_column(host, &rel, i, *cascade)?;
                // CHECK constraints on the column go with it (PostgreSQL's
                // automatic dependency), whether CASCADE was said or not.
                for c in rel.checks.clone() {
                    if words(&c.expr).iter().any(|w| w == name) {
                        host.tables()?
                            .alter_table(&rel, &AlterOp::DropConstraint(c.name))?;
                    }
                }
                host.tables()?
                    .alter_table(&rel, &AlterOp::DropColumn(name.clone()))?;
                if let Some(rows) = rows.as_mut() {
                    for r in rows.iter_mut() {
                        r.remove(i);
                    }
                }
                rel = refetch(&*host, &rel)?;
            }
            Cmd::RenameColumn { old, new } => {
                if !rel.columns.iter().any(|c| &c.name == old) {
                    return Err(PgError::error(
                        sqlstate::UNDEFINED_COLUMN,
                        format!("column \"{old}\" does not exist"),
                    ));
                }
                if rel.columns.iter().any(|c| &c.name == new) {
                    return Err(PgError::error(
                        codes::DUPLICATE_COLUMN,
                        format!(
                            "column \"{new}\" of relation \"{}\" already exists",
                            rel.name
                        ),
                    ));
                }
                host.tables()?.alter_table(
                    &rel,
                    &AlterOp::RenameColumn {
                        old: old.clone(),
                        new: new.clone(),
                    },
                )?;
                // Generation expressions too (their pg_attrdef text is
                // replaced; the column stays generated).
                for c in &rel.columns {
                    if let Some(g) = c
                        .generated
                        .as_deref()
                        .filter(|g| words(g).iter().any(|w| w == old))
                    {
                        host.tables()?.alter_table(
                            &rel,
                            &AlterOp::SetDefault {
                                column: c.name.clone(),
                                default: Some(rename_word(g, old, new)),
                            },
                        )?;
                    }
                }
                // CHECK texts name columns: they follow the rename.
                for c in rel.checks.clone() {
                    if words(&c.expr).iter().any(|w| w == old) {
                        let renamed = CheckDef {
                            expr: rename_word(&c.expr, old, new),
                            ..c.clone()
                        };
                        host.tables()?
                            .alter_table(&rel, &AlterOp::DropConstraint(c.name))?;
                        host.tables()?
                            .alter_table(&rel, &AlterOp::AddCheck(renamed))?;
                    }
                }
                rel = refetch(&*host, &rel)?;
            }
            Cmd::RenameTable(new) => {
                host.tables()?
                    .alter_table(&rel, &AlterOp::RenameTable(new.clone()))?;
                rel.name = new.clone();
                rel = refetch(&*host, &rel)?;
            }
            Cmd::SetDefault { column, default } => {
                let i = column_index(&rel, column)?;
                if rel.columns[i].generated.is_some() {
                    let e = PgError::error(
                        sqlstate::SYNTAX_ERROR,
                        format!(
                            "column \"{column}\" of relation \"{}\" is a generated column",
                            rel.name
                        ),
                    );
                    return Err(if default.is_none() {
                        e.with_hint("Use ALTER TABLE ... ALTER COLUMN ... DROP EXPRESSION instead.")
                    } else {
                        e
                    });
                }
                let text = default.as_ref().map(|e| e.to_string());
                if let Some(text) = &text {
                    // Bound now, so that a bad default fails the ALTER
                    // rather than every later INSERT.
                    let mut probe = rel.columns[i].clone();
                    probe.default = Some(text.clone());
                    bind_default_checked(&*host, &probe)?;
                }
                host.tables()?.alter_table(
                    &rel,
                    &AlterOp::SetDefault {
                        column: column.clone(),
                        default: text,
                    },
                )?;
                rel = refetch(&*host, &rel)?;
            }
            Cmd::AddIdentity { column, kind, opts } => {
                let i = column_index(&rel, column)?;
                crate::sequence::add_identity(host, &rel, i, *kind, opts)?;
                rel = refetch(&*host, &rel)?;
            }
            Cmd::SetNotNull(column) | Cmd::DropNotNull(column) => {
                let i = column_index(&rel, column)?;
                let not_null = matches!(cmd, Cmd::SetNotNull(_));
                if not_null {
                    if let Some(rows) = &rows {
                        if rows.iter().any(|r| r[i].is_null()) {
                            return Err(contains_nulls(column, &rel));
                        }
                    }
                }
                host.tables()?.alter_table(
                    &rel,
                    &AlterOp::SetNotNull {
                        column: column.clone(),
                        not_null,
                    },
                )?;
                rel = refetch(&*host, &rel)?;
            }
            Cmd::SetType { column, ty, using } => {
                let i = column_index(&rel, column)?;
                // PostgreSQL 15 (0A000): a generated column's type changes
                // (its values recomputed), a column it reads does not.
                if rel.columns[i].generated.is_some() && using.is_some() {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "cannot specify USING when altering type of generated column",
                    )
                    .with_detail(format!("Column \"{column}\" is a generated column.")));
                }
                if let Some(g) = rel.columns.iter().find(|c| {
                    c.generated
                        .as_deref()
                        .is_some_and(|g| words(g).iter().any(|w| w == column))
                }) {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "cannot alter type of a column used by a generated column",
                    )
                    .with_detail(format!(
                        "Column \"{column}\" is used by generated column \"{}\".",
                        g.name
                    )));
                }
                let expr = match using {
                    Some(u) => {
                        let b = rowexpr::bind_over_row(&*host, &rel, u)?;
                        rowexpr::coerce_to(&*host, b, *ty)?.ok_or_else(|| {
                            PgError::error(
                                sqlstate::DATATYPE_MISMATCH,
                                format!(
                                    "result of USING clause for column \"{column}\" cannot be cast automatically to type {}",
                                    types::sql_name(ty.oid)
                                ),
                            )
                            .with_hint("You might need to add an explicit cast.")
                        })?
                    }
                    None => {
                        let b = Bound::new(Expr::Column(i), rel.columns[i].ty);
                        rowexpr::coerce_to(&*host, b, *ty)?.ok_or_else(|| {
                            let tn = types::sql_name(ty.oid);
                            PgError::error(
                                sqlstate::DATATYPE_MISMATCH,
                                format!(
                                    "column \"{column}\" cannot be cast automatically to type {tn}"
                                ),
                            )
                            .with_hint(format!(
                                "You might need to specify \"USING {column}::{tn}\"."
                            ))
                        })?
                    }
                };
                if let Some(rows) = rows.as_mut() {
                    let mut cx = Ctx { host, params: &[] };
                    for r in rows.iter_mut() {
                        let v = expr.eval(&rowexpr::pad_row(r, t.oid), &mut cx)?;
                        r[i] = crate::modify::assign_typmod(v, *ty)?;
                    }
                }
                rewrite = true;
                host.tables()?.alter_table(
                    &rel,
                    &AlterOp::SetType {
                        column: column.clone(),
                        ty: *ty,
                    },
                )?;
                rel = refetch(&*host, &rel)?;
                // The CHECKs are bound anew over the new type (an
                // operator may no longer exist: PostgreSQL's error).
                rowexpr::bind_checks(&*host, &rel)?;
            }
            Cmd::AddCheck {
                name,
                expr,
                not_valid,
            } => {
                add_check(host, &rel, name.clone(), expr, *not_valid, rows.as_deref())?;
                rel = refetch(&*host, &rel)?;
            }
            Cmd::AddForeignKey { spec, not_valid } => {
                crate::fkey::add(host, &rel, spec, *not_valid, true)?;
                rel = refetch(&*host, &rel)?;
            }
            Cmd::DropConstraint { name, if_exists } => {
                crate::bind::fdep::check_drop_key(host, &rel, name)?;
                if !rel.checks.iter().any(|c| &c.name == name)
                    && !rel.foreign_keys.iter().any(|c| &c.name == name)
                {
                    let msg = format!(
                        "constraint \"{name}\" of relation \"{}\" does not exist",
                        rel.name
                    );
                    if *if_exists {
                        notice(host, format!("{msg}, skipping"));
                        continue;
                    }
                    return Err(PgError::error(codes::UNDEFINED_OBJECT, msg));
                }
                host.tables()?
                    .alter_table(&rel, &AlterOp::DropConstraint(name.clone()))?;
                rel = refetch(&*host, &rel)?;
            }
            Cmd::Validate(name) => {
                if let Some(fk) = rel.foreign_keys.iter().find(|f| &f.name == name).cloned() {
                    if !fk.validated {
                        crate::fkey::validate(host, &fk)?;
                        host.tables()?
                            .alter_table(&rel, &AlterOp::ValidateConstraint(name.clone()))?;
                        rel = refetch(&*host, &rel)?;
                    }
                    continue;
                }
                let Some(c) = rel.checks.iter().find(|c| &c.name == name).cloned() else {
                    return Err(PgError::error(
                        codes::UNDEFINED_OBJECT,
                        format!(
                            "constraint \"{name}\" of relation \"{}\" does not exist",
                            rel.name
                        ),
                    ));
                };
                if !c.validated {
                    let e = rowexpr::parse_stored(&c.expr, "check constraint")?;
                    let bound = rowexpr::bind_check(&*host, &rel, &e)?;
                    if let Some(rows) = &rows {
                        if violated(host, &bound, rows, t.oid)? {
                            return Err(PgError::error(
                                codes::CHECK_VIOLATION,
                                format!(
                                    "check constraint \"{name}\" of relation \"{}\" is violated by some row",
                                    rel.name
                                ),
                            ));
                        }
                    }
                    host.tables()?
                        .alter_table(&rel, &AlterOp::ValidateConstraint(name.clone()))?;
                    rel = refetch(&*host, &rel)?;
                }
            }
        }
    }
    if rewrite {
        if let Some(rows) = rows.as_mut() {
            // Generated columns are computed anew (one just added, or one
            // whose type changed).
            let generated = crate::generated::bind_all(&*host, &rel)?;
            if !generated.is_empty() {
                let checks = crate::generated::RowChecks {
                    checks: Vec::new(),
                    generated,
                };
                for r in rows.iter_mut() {
                    let row = std::mem::take(r);
                    *r = crate::modify::check_row(&rel, checks.compute(&rel, row, host)?)?;
                }
            }
        }
        if let Some(rows) = &rows {
            // The rewritten rows meet every validated CHECK (values
            // changed under them).
            let t = rel.table()?;
            for (c, (name, e)) in rel.checks.iter().zip(rowexpr::bind_checks(&*host, &rel)?) {
                if c.validated && violated(host, &e, rows, t.oid)? {
                    return Err(PgError::error(
                        codes::CHECK_VIOLATION,
                        format!(
                            "check constraint \"{name}\" of relation \"{}\" is violated by some row",
                            rel.name
                        ),
                    ));
                }
            }
            host.tables()?.rewrite_table(&rel, rows)?;
        }
    }
    if !p.only {
        recurse_to_children(p, host, relations, &rel)?;
    }
    Ok(())
}

/// ADD, DROP and RENAME COLUMN reach the tables inheriting from `rel`
/// (inherit.rs), as in PostgreSQL: each child takes the same change,
/// and a child that already has an added column keeps it (NOTICE).
fn recurse_to_children(
    p: &AlterPlan,
    host: &mut dyn Host,
    relations: &dyn Relations,
    rel: &Relation,
) -> Result<(), PgError> {
    let kids: Vec<(String, String)> = rel
        .children
        .iter()
        .filter(|c| c.parent == rel.name)
        .map(|c| (c.rel.schema.clone(), c.rel.name.clone()))
        .collect();
    for (schema, name) in kids {
        let Some(child) = host.lookup_table(Some(&schema), &name)? else {
            continue;
        };
        let has = |n: &str| child.columns.iter().any(|c| c.name == n);
        let mut cmds = Vec::new();
        for cmd in &p.cmds {
            match cmd {
                Cmd::AddColumn { def, .. } if has(&def.name) => notice(
                    host,
                    format!(
                        "merging definition of column \"{}\" for child \"{}\"",
                        def.name, child.name
                    ),
                ),
                Cmd::AddColumn { .. } => cmds.push(cmd.clone()),
                Cmd::DropColumn { name, .. } | Cmd::RenameColumn { old: name, .. } if has(name) => {
                    cmds.push(cmd.clone())
                }
                _ => {}
            }
        }
        if !cmds.is_empty() {
            let plan = AlterPlan {
                schema: Some(schema),
                name,
                if_exists: false,
                cmds,
                only: false,
            };
            execute(&plan, host, relations)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(name: &str, cols: &[&str]) -> Relation {
        Relation::new(
            "public",
            name,
            cols.iter()
                .map(|c| ColumnDef::new(c, Ty::new(types::INT4)))
                .collect(),
            crate::catalog::RelationSource::Table(crate::catalog::TableRef {
                oid: 16384,
                relfilenode: 16384,
                shared: false,
                namespace: 2200,
            }),
        )
    }

    #[test]
    fn check_names_follow_postgresql() {
        let r = rel("t", &["a", "b"]);
        assert_eq!(choose_check_name(&r, "b > 0", &[]), "t_b_check");
        assert_eq!(choose_check_name(&r, "b > a", &[]), "t_check");
        assert_eq!(choose_check_name(&r, "a > 0 AND a < 9", &[]), "t_a_check");
        assert_eq!(choose_check_name(&r, "1 > 0", &[]), "t_check");
        assert_eq!(
            choose_check_name(&r, "a > 0", &["t_a_check".into()]),
            "t_a_check1"
        );
        let long = rel(&"x".repeat(63), &["a"]);
        let n = choose_check_name(&long, "a > 0", &[]);
        assert_eq!(n.len(), 63);
        assert!(n.ends_with("_a_check"));
    }

    #[test]
    fn rename_follows_identifiers_only() {
        assert_eq!(
            rename_word("a > 0 AND ab < a", "a", "z"),
            "z > 0 AND ab < z"
        );
        assert_eq!(rename_word("'a' = a", "a", "New"), "'a' = \"New\"");
    }
}
