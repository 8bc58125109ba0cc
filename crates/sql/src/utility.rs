//! Utility statements: SET, SHOW, RESET, transaction control, DISCARD,
//! DEALLOCATE, and the clean refusals for everything tusk lacks.
//!
//! These bind to a [`Utility`] that does nothing itself but call the
//! [`Host`]: settings and transaction state belong to the session. SET's
//! value is turned back into text exactly as PostgreSQL's
//! flatten_set_variable_args does (identifiers folded, list items joined
//! with ", ", list settings like search_path quoting what needs it), so
//! the host's setting parser sees what PostgreSQL's would.

use sqlparser::ast;

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::bind::{ident_name, not_supported};
use crate::catalog;
use crate::host::Host;
use crate::types;
use crate::value::Value;
use crate::{Column, Command, Outcome};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Utility {
    Show(String),
    ShowAll,
    Set {
        name: String,
        value: Option<String>,
        local: bool,
    },
    Reset(Option<String>),
    Begin {
        tag: &'static str,
        modes: Vec<(&'static str, &'static str)>,
    },
    Commit,
    Rollback,
    /// COMMIT AND CHAIN (`commit`) / ROLLBACK AND CHAIN.
    Chain {
        commit: bool,
    },
    /// SET TRANSACTION modes (`session`: SET SESSION CHARACTERISTICS AS
    /// TRANSACTION, which sets the default_* settings).
    SetTransaction {
        modes: Vec<(&'static str, &'static str)>,
        session: bool,
    },
    SetTransactionSnapshot(String),
    Savepoint(String),
    Release(String),
    RollbackTo(String),
    Discard(&'static str),
    /// LISTEN channel.
    Listen(String),
    /// UNLISTEN channel; None: UNLISTEN *.
    Unlisten(Option<String>),
    /// NOTIFY channel [, payload].
    Notify(String, String),
    Deallocate(Option<String>),
    Checkpoint,
    /// SET CONSTRAINTS { ALL | name, ... } { DEFERRED | IMMEDIATE }
    /// (`names` None: ALL).
    SetConstraints {
        names: Option<Vec<String>>,
        deferred: bool,
    },
    CreateTable {
        schema: Option<String>,
        name: String,
        columns: Vec<catalog::ColumnDef>,
        if_not_exists: bool,
        /// PRIMARY KEY / UNIQUE constraints, created after the table.
        indexes: Vec<crate::index::IndexSpec>,
        /// CHECK constraints (name if given, expression), added after
        /// the table is created (`alter.rs`).
        checks: Vec<(Option<String>, ast::Expr)>,
        /// serial columns: (column, sequence name, integer type); each
        /// sequence is created before the table and owned by its column
        /// after (sequence.rs).
        serials: Vec<crate::sequence::SerialSpec>,
        /// FOREIGN KEYs (column REFERENCES, then table constraints),
        /// added last (`fkey.rs`).
        foreign_keys: Vec<crate::fkey::FkSpec>,
        /// INHERITS (parent, ...) (inherit.rs).
        inherits: Vec<(Option<String>, String)>,
        /// PARTITION BY / PARTITION OF (partition.rs).
        partition: Option<Box<crate::partition::CreateSpec>>,
        /// LIKE items: where each stood among `columns` (like.rs).
        likes: Vec<(usize, crate::like::LikeSpec)>,
        /// WITH (...): the table's and its toast table's reloptions.
        options: (Vec<String>, Vec<String>),
    },
    /// CREATE INDEX, or ALTER TABLE t ADD PRIMARY KEY / UNIQUE.
    CreateIndex {
        schema: Option<String>,
        table: String,
        specs: Vec<crate::index::IndexSpec>,
        alter: bool,
    },
    DropIndex {
        names: Vec<(Option<String>, String)>,
        if_exists: bool,
    },
    Reindex(crate::maint::ReindexTarget),
    Cluster(crate::maint::Cluster),
    ClusterOn(crate::maint::ClusterOn),
    /// DROP TABLE: each name, resolved when it runs.
    DropTable {
        names: Vec<(Option<String>, String)>,
        if_exists: bool,
        /// CASCADE: FOREIGN KEYs of other tables that reference a dropped
        /// one are dropped (RESTRICT refuses, 2BP01).
        cascade: bool,
    },
    CreateSchema {
        name: String,
        if_not_exists: bool,
    },
    DropSchema {
        names: Vec<String>,
        if_exists: bool,
        /// CASCADE: the schema's objects are dropped first (dropschema.rs).
        cascade: bool,
    },
    /// TRUNCATE: each name, resolved when it runs.
    /// TRUNCATE of the names; true for CASCADE (tables referencing them
    /// through FOREIGN KEYs are truncated too).
    Truncate(Vec<(Option<String>, String)>, bool),
    CreateDatabase(String),
    DropDatabase {
        name: String,
        if_exists: bool,
    },
    /// VACUUM, or ANALYZE alone (`analyze_only`: accepted, no statistics
    /// are kept yet); no tables: every table of the database.
    Vacuum {
        opts: catalog::VacuumOptions,
        analyze_only: bool,
        tables: Vec<(Option<String>, String)>,
    },
    /// LOCK TABLE: `mode` numbered as the lock manager's (1..=8).
    Lock {
        tables: Vec<(Option<String>, String)>,
        mode: u8,
        nowait: bool,
    },
    /// ALTER TABLE ... ATTACH/DETACH PARTITION, [NO] INHERIT
    /// (partition.rs).
    AlterLink(crate::partition::AlterLink),
    /// A role statement (role.rs), carried out by the host.
    Role(crate::role::RoleCommand),
    /// GRANT/REVOKE ... ON objects (crates/sql/src/acl.rs).
    Grant(crate::acl::GrantStmt),
    /// CREATE/ALTER/DROP SEQUENCE (sequence.rs), carried out by the host.
    Sequence(crate::sequence::SeqStmt),
    /// COMMENT ON (comment.rs).
    Comment(crate::comment::Comment),
    /// SQL/MED catalog DDL (fdw.rs).
    Fdw(crate::fdw::FdwStmt),
    /// User-defined operators and casts (operator.rs).
    Operator(crate::operator::OpStmt),
    /// CREATE/DROP FOREIGN TABLE (foreigntable.rs).
    ForeignTable(crate::foreigntable::ForeignTableStmt),
    /// CREATE/ALTER/DROP TEXT SEARCH ... (tsddl.rs).
    TextSearch(crate::tsddl::TsStmt),
    /// CREATE/ALTER/DROP PUBLICATION (publication.rs).
    Publication(crate::publication::PubStmt),
    /// CREATE/ALTER/DROP SUBSCRIPTION (subscription.rs).
    Subscription(crate::subscription::SubStmt),
    /// CREATE/ALTER/DROP POLICY, ALTER TABLE ... ROW LEVEL SECURITY
    /// (policy.rs).
    Policy(crate::policy::PolicyStmt),
    /// CREATE TYPE ... AS ENUM, ALTER TYPE, DROP TYPE (usertype.rs).
    Type(crate::usertype::TypeCmd),
    /// TRUNCATE ... RESTART IDENTITY: the TRUNCATE, then the sequences
    /// its tables' columns own restarted (sequence.rs).
    RestartIdentity(Box<Utility>),
    /// ALTER TABLE/INDEX/MATERIALIZED VIEW ... SET/RESET (...), column
    /// SET STATISTICS and SET/RESET (...) (reloptions.rs).
    AlterOptions(crate::reloptions::AlterOptions),
}

fn syntax(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

/// Settings whose list items PostgreSQL quotes as identifiers (GUC_LIST_QUOTE).
fn is_list_quote(name: &str) -> bool {
    matches!(
        name,
        "search_path"
            | "temp_tablespaces"
            | "session_preload_libraries"
            | "shared_preload_libraries"
            | "local_preload_libraries"
    )
}

pub(crate) fn quote_identifier(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

fn value_text(e: &ast::Expr, list_quote: bool) -> Result<String, PgError> {
    let quote = |s: String| if list_quote { quote_identifier(&s) } else { s };
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => Ok(n.clone()),
            ast::Value::SingleQuotedString(s)
            | ast::Value::EscapedStringLiteral(s)
            | ast::Value::UnicodeStringLiteral(s) => Ok(quote(s.clone())),
            ast::Value::DollarQuotedString(d) => Ok(quote(d.value.clone())),
            ast::Value::Boolean(b) => Ok(if *b { "true" } else { "false" }.into()),
            other => Err(syntax(format!("syntax error at or near \"{other}\""))),
        },
        ast::Expr::Identifier(i) => Ok(quote(ident_name(i))),
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
                Ok(format!("-{}", value_text(expr, false)?))
            }
            _ => Err(syntax(format!("syntax error at or near \"{e}\""))),
        },
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Plus,
            expr,
        } => value_text(expr, false),
        other => Err(syntax(format!("syntax error at or near \"{other}\""))),
    }
}

/// SET TIME ZONE INTERVAL '-08:00' HOUR TO MINUTE: the offset as the
/// hours east that TimeZone takes ("-8"), refused if it has months or
/// days, as PostgreSQL's check_timezone refuses them.
fn interval_zone(iv: &ast::Interval) -> Result<String, PgError> {
    let text = match iv.value.as_ref() {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => s.clone(),
            other => return Err(syntax(format!("syntax error at or near \"{other}\""))),
        },
        other => return Err(syntax(format!("syntax error at or near \"{other}\""))),
    };
    let v = tusk_types::interval::parse(&text).map_err(|_| {
        PgError::error(
            sqlstate::INVALID_DATETIME_FORMAT,
            format!("invalid input syntax for type interval: \"{text}\""),
        )
    })?;
    let bad = |what: &str| {
        PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("invalid interval value for time zone: {what} not allowed"),
        )
    };
    if v.months != 0 {
        return Err(bad("month"));
    }
    if v.days != 0 {
        return Err(bad("day"));
    }
    Ok(format!("{}", v.micros as f64 / 3_600_000_000.0))
}

/// SET's value list as text; `None` for DEFAULT.
fn set_value(name: &str, values: &[ast::Expr]) -> Result<Option<String>, PgError> {
    if let [ast::Expr::Identifier(i)] = values {
        if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default") {
            return Ok(None);
        }
    }
    if values.is_empty() {
        return Err(syntax("syntax error at end of input"));
    }
    let lq = is_list_quote(name);
    let parts: Result<Vec<String>, PgError> = values.iter().map(|v| value_text(v, lq)).collect();
    Ok(Some(parts?.join(", ")))
}

fn object_name(n: &ast::ObjectName) -> String {
    n.0.iter()
        .map(|p| match p {
            ast::ObjectNamePart::Identifier(i) => ident_name(i),
            ast::ObjectNamePart::Function(f) => f.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The setting a multi-word SHOW/RESET name stands for.
fn setting_name(words: &[String]) -> String {
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let u: Vec<&str> = upper.iter().map(String::as_str).collect();
    match u.as_slice() {
        ["TIME", "ZONE"] => "timezone".into(),
        ["TRANSACTION", "ISOLATION", "LEVEL"] => "transaction_isolation".into(),
        ["SESSION", "AUTHORIZATION"] => "session_authorization".into(),
        _ => words.join("."),
    }
}

/// The first keywords of a statement, for "X is not supported yet".
fn command_words(sql: &str) -> String {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(3)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let n = match words.first().map(String::as_str) {
        Some("CREATE" | "DROP" | "ALTER") => {
            if matches!(
                words.get(1).map(String::as_str),
                Some("UNIQUE" | "TEMP" | "TEMPORARY" | "OR" | "UNLOGGED")
            ) {
                3
            } else {
                2
            }
        }
        _ => 1,
    };
    words
        .into_iter()
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(['(', ';'])
        .to_string()
}

fn check_table(host: &dyn Host, name: &ast::ObjectName, what: &str) -> Result<Utility, PgError> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ast::ObjectNamePart::Identifier(i) => ident_name(i),
            ast::ObjectNamePart::Function(f) => f.to_string(),
        })
        .collect();
    match parts.as_slice() {
        [t] => catalog::lookup(host, None, t)?,
        [s, t] => catalog::lookup(host, Some(s), t)?,
        _ => catalog::lookup(host, None, &parts.join("."))?,
    };
    Err(not_supported(what))
}

pub(crate) fn bind(s: &ast::Statement, sql: &str, host: &dyn Host) -> Result<Utility, PgError> {
    use ast::Statement as S;
    if let Some(t) = crate::usertype::parse(s) {
        return Ok(Utility::Type(t?));
    }
    match s {
        S::Set(set) => match set {
            ast::Set::SingleAssignment {
                scope,
                hivevar,
                variable,
                values,
            } => {
                if *hivevar {
                    return Err(syntax("syntax error at or near \"HIVEVAR\""));
                }
                let local = match scope {
                    None | Some(ast::ContextModifier::Session) => false,
                    Some(ast::ContextModifier::Local) => true,
                    Some(_) => return Err(syntax("syntax error at or near \"GLOBAL\"")),
                };
                let name = object_name(variable);
                let value = set_value(&name, values)?;
                Ok(Utility::Set { name, value, local })
            }
            ast::Set::SetTimeZone { local, value } => {
                let v = match value {
                    ast::Expr::Identifier(i)
                        if i.quote_style.is_none()
                            && matches!(
                                i.value.to_ascii_uppercase().as_str(),
                                "LOCAL" | "DEFAULT"
                            ) =>
                    {
                        None
                    }
                    ast::Expr::Interval(iv) => Some(interval_zone(iv)?),
                    other => Some(value_text(other, false)?),
                };
                Ok(Utility::Set {
                    name: "timezone".into(),
                    value: v,
                    local: *local,
                })
            }
            ast::Set::SetNames {
                charset_name,
                collation_name,
            } => {
                if collation_name.is_some() {
                    return Err(syntax("syntax error at or near \"COLLATE\""));
                }
                Ok(Utility::Set {
                    name: "client_encoding".into(),
                    value: Some(ident_name(charset_name)),
                    local: false,
                })
            }
            _ => Err(not_supported(command_words(sql))),
        },
        S::Reset(r) => Ok(Utility::Reset(match &r.reset {
            ast::Reset::ALL => None,
            ast::Reset::SessionAuthorization => Some("session_authorization".into()),
            ast::Reset::ConfigurationParameter(n) => Some(object_name(n)),
        })),
        S::ShowVariable { variable } => {
            let words: Vec<String> = variable.iter().map(ident_name).collect();
            if let [w] = variable.as_slice() {
                if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("all") {
                    return Ok(Utility::ShowAll);
                }
            }
            Ok(Utility::Show(setting_name(&words)))
        }
        S::StartTransaction {
            modes,
            begin,
            transaction: _,
            modifier,
            statements,
            exception,
            has_end_keyword,
        } => {
            if modifier.is_some()
                || !statements.is_empty()
                || exception.is_some()
                || *has_end_keyword
            {
                return Err(syntax(format!(
                    "syntax error at or near \"{}\"",
                    command_words(sql)
                )));
            }
            let mut m = Vec::new();
            for mode in modes {
                m.push(match mode {
                    ast::TransactionMode::IsolationLevel(l) => (
                        "transaction_isolation",
                        match l {
                            ast::TransactionIsolationLevel::ReadUncommitted => "read uncommitted",
                            ast::TransactionIsolationLevel::ReadCommitted => "read committed",
                            ast::TransactionIsolationLevel::RepeatableRead => "repeatable read",
                            ast::TransactionIsolationLevel::Serializable => "serializable",
                            _ => return Err(syntax("syntax error at or near \"SNAPSHOT\"")),
                        },
                    ),
                    ast::TransactionMode::AccessMode(a) => (
                        "transaction_read_only",
                        match a {
                            ast::TransactionAccessMode::ReadOnly => "on",
                            ast::TransactionAccessMode::ReadWrite => "off",
                        },
                    ),
                });
            }
            Ok(Utility::Begin {
                tag: if *begin { "BEGIN" } else { "START TRANSACTION" },
                modes: m,
            })
        }
        S::Commit {
            chain,
            end: _,
            modifier,
        } => {
            if modifier.is_some() {
                return Err(syntax(format!(
                    "syntax error at or near \"{}\"",
                    command_words(sql)
                )));
            }
            if *chain {
                return Ok(Utility::Chain { commit: true });
            }
            Ok(Utility::Commit)
        }
        S::Rollback { chain, savepoint } => {
            if *chain {
                if savepoint.is_some() {
                    return Err(syntax("syntax error at or near \"TO\""));
                }
                return Ok(Utility::Chain { commit: false });
            }
            match savepoint {
                Some(name) => Ok(Utility::RollbackTo(ident_name(name))),
                None => Ok(Utility::Rollback),
            }
        }
        S::Savepoint { name } => Ok(Utility::Savepoint(ident_name(name))),
        S::ReleaseSavepoint { name } => Ok(Utility::Release(ident_name(name))),
        S::Discard { object_type } => Ok(Utility::Discard(match object_type {
            ast::DiscardObject::ALL => "ALL",
            ast::DiscardObject::PLANS => "PLANS",
            ast::DiscardObject::SEQUENCES => "SEQUENCES",
            ast::DiscardObject::TEMP => "TEMP",
        })),
        S::LISTEN { channel } => Ok(Utility::Listen(crate::notify::channel_name(channel))),
        S::UNLISTEN { channel } => Ok(Utility::Unlisten(
            if channel.quote_style.is_none() && channel.value == "*" {
                None
            } else {
                Some(crate::notify::channel_name(channel))
            },
        )),
        S::NOTIFY { channel, payload } => Ok(Utility::Notify(
            crate::notify::channel_name(channel),
            payload.clone().unwrap_or_default(),
        )),
        S::Deallocate { name, prepare: _ } => {
            if name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all") {
                Ok(Utility::Deallocate(None))
            } else {
                Ok(Utility::Deallocate(Some(ident_name(name))))
            }
        }
        S::CreateTable(ct) => create_table(ct).and_then(|u| {
            // Generation expressions over the columns written (all of
            // them) are checked now, where their errors get a position.
            if let Utility::CreateTable {
                schema,
                name,
                columns,
                inherits,
                partition,
                likes,
                ..
            } = &u
            {
                if inherits.is_empty()
                    && likes.is_empty()
                    && partition.as_ref().is_none_or(|p| p.of.is_none())
                {
                    crate::generated::check_definitions(
                        host,
                        schema.as_deref().unwrap_or(""),
                        name,
                        columns,
                        None,
                    )?;
                    if let Some((strategy, items)) = partition.as_ref().and_then(|p| p.by.as_ref())
                    {
                        let key = crate::partition::key_of(*strategy, items, columns)?;
                        crate::generated::check_partition_key(name, &key, columns)?;
                    }
                }
            }
            Ok(u)
        }),
        S::CreateIndex(ci) => {
            let (table, schema, spec) = crate::index::create_index(ci)?;
            let (tschema, table) = qualified_name(&table)?;
            if schema.is_some() && schema != tschema {
                return Err(syntax(
                    "index and table must be in the same schema (qualify the table)",
                ));
            }
            Ok(Utility::CreateIndex {
                schema: tschema,
                table,
                specs: vec![spec],
                alter: false,
            })
        }
        S::Drop {
            object_type: ast::ObjectType::Index,
            if_exists,
            names,
            cascade,
            ..
        } => {
            if *cascade {
                return Err(not_supported("DROP INDEX ... CASCADE"));
            }
            Ok(Utility::DropIndex {
                names: names
                    .iter()
                    .map(qualified_name)
                    .collect::<Result<Vec<_>, _>>()?,
                if_exists: *if_exists,
            })
        }
        S::Drop {
            object_type: ast::ObjectType::Table,
            if_exists,
            names,
            cascade,
            ..
        } => Ok(Utility::DropTable {
            names: names
                .iter()
                .map(qualified_name)
                .collect::<Result<Vec<_>, _>>()?,
            if_exists: *if_exists,
            cascade: *cascade,
        }),
        S::CreateDatabase {
            db_name,
            if_not_exists: false,
            location: None,
            managed_location: None,
            or_replace: false,
            ..
        } => match qualified_name(db_name)? {
            (None, name) => Ok(Utility::CreateDatabase(name)),
            _ => Err(syntax(format!("syntax error at or near \"{db_name}\""))),
        },
        S::Drop {
            object_type: ast::ObjectType::Database,
            if_exists,
            names,
            ..
        } => match names.as_slice() {
            [n] => match qualified_name(n)? {
                (None, name) => Ok(Utility::DropDatabase {
                    name,
                    if_exists: *if_exists,
                }),
                _ => Err(syntax(format!("syntax error at or near \"{n}\""))),
            },
            _ => Err(syntax("syntax error at or near \",\"")),
        },
        S::CreatePolicy(c) => Ok(Utility::Policy(crate::policy::PolicyStmt::Create(
            Box::new(c.clone()),
        ))),
        S::AlterPolicy(a) => Ok(Utility::Policy(crate::policy::PolicyStmt::Alter(Box::new(
            a.clone(),
        )))),
        S::DropPolicy(d) => Ok(Utility::Policy(crate::policy::PolicyStmt::Drop(Box::new(
            d.clone(),
        )))),
        S::Truncate(t) => {
            if t.partitions.is_some() {
                return Err(not_supported("TRUNCATE ... PARTITION"));
            }
            let names = t
                .table_names
                .iter()
                .map(|n| qualified_name(&n.name))
                .collect::<Result<Vec<_>, _>>()?;
            let cascade = matches!(t.cascade, Some(ast::CascadeOption::Cascade));
            if matches!(t.identity, Some(ast::TruncateIdentityOption::Restart)) {
                return Ok(Utility::RestartIdentity(Box::new(Utility::Truncate(
                    names, cascade,
                ))));
            }
            Ok(Utility::Truncate(names, cascade))
        }
        S::CreateSchema {
            schema_name: ast::SchemaName::Simple(n),
            if_not_exists,
            ..
        } => match qualified_name(n)? {
            (None, name) => Ok(Utility::CreateSchema {
                name,
                if_not_exists: *if_not_exists,
            }),
            _ => Err(syntax(format!("syntax error at or near \"{n}\""))),
        },
        S::Drop {
            object_type: ast::ObjectType::Schema,
            if_exists,
            names,
            cascade,
            ..
        } => {
            let names = names
                .iter()
                .map(|n| match qualified_name(n)? {
                    (None, name) => Ok(name),
                    _ => Err(syntax(format!("syntax error at or near \"{n}\""))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Utility::DropSchema {
                names,
                if_exists: *if_exists,
                cascade: *cascade,
            })
        }
        S::Copy {
            source: ast::CopySource::Table { table_name, .. },
            ..
        } => check_table(host, table_name, "COPY"),
        // pgbench's 'p' and 'f' init steps: named precisely, since they
        // need B-tree indexes (and foreign keys), which tusk lacks yet.
        S::AlterTable(at) => {
            // ALTER TABLE t ADD [CONSTRAINT n] PRIMARY KEY / UNIQUE (...),
            // every action of that kind (index.rs).
            let mut specs = Vec::new();
            for op in &at.operations {
                if let ast::AlterTableOperation::AddConstraint { constraint, .. } = op {
                    if let Some(spec) = crate::index::table_constraint(constraint)? {
                        specs.push(spec);
                        continue;
                    }
                }
                specs.clear();
                break;
            }
            if !specs.is_empty() {
                let (schema, table) = qualified_name(&at.name)?;
                return Ok(Utility::CreateIndex {
                    schema,
                    table,
                    specs,
                    alter: true,
                });
            }
            for op in &at.operations {
                if let ast::AlterTableOperation::AddConstraint { constraint, .. } = op {
                    let what = match constraint {
                        ast::TableConstraint::PrimaryKey(_) => "ALTER TABLE ... ADD PRIMARY KEY",
                        ast::TableConstraint::Unique(_) => "ALTER TABLE ... ADD UNIQUE",
                        ast::TableConstraint::ForeignKey(_) => "ALTER TABLE ... ADD FOREIGN KEY",
                        _ => continue,
                    };
                    return Err(not_supported(what).with_hint(
                        "tusk has no indexes yet; use pgbench -I dtgv to skip the primary keys.",
                    ));
                }
            }
            Err(not_supported(command_words(sql)))
        }
        _ => Err(not_supported(command_words(sql))),
    }
}

fn text_col(name: &str) -> Column {
    Column {
        name: name.to_string(),
        type_oid: types::TEXT,
        type_len: -1,
        type_mod: -1,
    }
}

/// `[schema.]name` of a relation or schema, case-folded.
pub(crate) fn qualified_name(n: &ast::ObjectName) -> Result<(Option<String>, String), PgError> {
    let parts: Vec<String> =
        n.0.iter()
            .map(|p| match p {
                ast::ObjectNamePart::Identifier(i) => Ok(ident_name(i)),
                ast::ObjectNamePart::Function(_) => {
                    Err(syntax(format!("syntax error at or near \"{n}\"")))
                }
            })
            .collect::<Result<_, _>>()?;
    match parts.as_slice() {
        [t] => Ok((None, t.clone())),
        [s, t] => Ok((Some(s.clone()), t.clone())),
        _ => Err(syntax(format!(
            "improper relation name (too many dotted names): {n}"
        ))),
    }
}

/// CREATE TABLE with columns, types, NOT NULL/NULL and DEFAULT; PRIMARY
/// KEY / UNIQUE (index.rs), CHECK (alter.rs) and FOREIGN KEY (fkey.rs)
/// constraints are added after the table.
fn create_table(ct: &ast::CreateTable) -> Result<Utility, PgError> {
    if ct.query.is_some() {
        return Err(not_supported("CREATE TABLE ... AS"));
    }
    // `(c int, LIKE t)`: sqlparser reads the LIKE item as a column
    // named "like" of type t, which now exists as t's row type.
    let like_item = ct
        .columns
        .iter()
        .any(|c| c.name.quote_style.is_none() && c.name.value.eq_ignore_ascii_case("like"));
    if ct.like.is_some() || ct.clone.is_some() || like_item {
        return Err(not_supported("CREATE TABLE ... LIKE"));
    }
    match ct.on_commit {
        None => {}
        Some(_) if !ct.temporary => {
            return Err(PgError::error(
                sqlstate::SqlState::new("42P16"),
                "ON COMMIT can only be used on temporary tables",
            ))
        }
        Some(ast::OnCommit::PreserveRows) => {}
        Some(ast::OnCommit::DeleteRows) => return Err(not_supported("ON COMMIT DELETE ROWS")),
        Some(ast::OnCommit::Drop) => return Err(not_supported("ON COMMIT DROP")),
    }
    let partition = crate::partition::create_spec(ct)?.map(Box::new);
    let mut indexes = Vec::new();
    let mut table_indexes = Vec::new();
    let mut checks: Vec<(Option<String>, ast::Expr)> = Vec::new();
    let mut table_checks = Vec::new();
    let mut foreign_keys = Vec::new();
    let mut table_fks = Vec::new();
    for c in &ct.constraints {
        if let ast::TableConstraint::ForeignKey(f) = c {
            table_fks.push(crate::fkey::spec(f, None, None)?);
            continue;
        }
        if let ast::TableConstraint::Check(c) = c {
            crate::alter::refuse_enforced(c)?;
            table_checks.push((c.name.as_ref().map(ident_name), (*c.expr).clone()));
            continue;
        }
        match crate::index::table_constraint(c)? {
            Some(spec) => table_indexes.push(spec),
            None => return Err(not_supported("table constraints (FOREIGN KEY)")),
        }
    }
    let options = table_reloptions(
        &ct.table_options,
        partition.as_ref().is_some_and(|p| p.by.is_some()),
    )?;
    let (schema, name) = qualified_name(&ct.name)?;
    let schema = crate::view::temp_schema(schema, ct.temporary)?;
    let mut columns: Vec<catalog::ColumnDef> = Vec::new();
    let mut serials = Vec::new();
    let mut likes = Vec::new();
    for c in &ct.columns {
        if let Some(spec) = crate::like::decode(&c.name.value) {
            likes.push((columns.len(), spec));
            continue;
        }
        let cname = ident_name(&c.name);
        if columns.iter().any(|d| d.name == cname) {
            return Err(PgError::error(
                catalog::codes::DUPLICATE_COLUMN,
                format!("column \"{cname}\" specified more than once"),
            ));
        }
        // REFERENCES is a FOREIGN KEY of the table, added after it.
        let mut c = c.clone();
        let mut kept = Vec::new();
        for o in c.options {
            match &o.option {
                ast::ColumnOption::ForeignKey(f) => {
                    foreign_keys.push(crate::fkey::spec(f, Some(&cname), o.name.as_ref())?)
                }
                _ => kept.push(o),
            }
        }
        c.options = kept;
        crate::generated::clauses(&c, &name)?;
        let serial = crate::sequence::serial_column(&c);
        let identity = crate::sequence::identity_column(&c)?;
        let (mut def, col_checks, col_indexes) = match (&serial, &identity) {
            (Some((plain, _)), _) => crate::alter::column_def_with_indexes(plain)?,
            (None, Some((plain, _, _))) => crate::alter::column_def_with_indexes(plain)?,
            (None, None) => crate::alter::column_def_with_indexes(&c)?,
        };
        let generated = match (serial, identity) {
            (Some((_, ty)), None) => Some((ty, None, Vec::new())),
            (_, Some((_, kind, opts))) => {
                if !matches!(def.ty.oid, types::INT2 | types::INT4 | types::INT8) {
                    return Err(PgError::error(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        "identity column type must be smallint, integer, or bigint",
                    ));
                }
                Some((def.ty.oid, Some(kind), opts))
            }
            (None, None) => None,
        };
        if let Some((ty, identity, opts)) = generated {
            let seq = crate::sequence::serial_sequence_name(&name, &cname);
            def.not_null = true;
            def.default = Some(crate::sequence::serial_default(schema.as_deref(), &seq));
            def.identity = identity;
            serials.push(crate::sequence::SerialSpec {
                column: cname.clone(),
                seq,
                ty,
                identity,
                opts,
            });
        }
        checks.extend(col_checks);
        indexes.extend(col_indexes);
        columns.push(def);
    }
    // Column constraints first, then table constraints (PostgreSQL's order).
    indexes.extend(table_indexes);
    for spec in indexes.iter().filter(|s| s.primary) {
        for k in &spec.keys {
            if let Some(c) = columns.iter_mut().find(|c| c.name == k.column) {
                c.not_null = true;
            }
        }
    }
    if columns.len() > 1600 {
        return Err(PgError::error(
            sqlstate::TOO_MANY_COLUMNS,
            "tables can have at most 1600 columns",
        ));
    }
    // PostgreSQL adds column constraints before table constraints.
    checks.extend(table_checks);
    foreign_keys.extend(table_fks);
    let inherits = ct
        .inherits
        .iter()
        .flatten()
        .map(qualified_name)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Utility::CreateTable {
        schema,
        name,
        columns,
        if_not_exists: ct.if_not_exists,
        indexes,
        checks,
        serials,
        foreign_keys,
        inherits,
        partition,
        likes,
        options,
    })
}

/// CREATE TABLE's `WITH (storage_parameter = value)`: the table's and
/// its toast table's pg_class.reloptions, checked as PostgreSQL 15's
/// DefineRelation does (reloptions.rs; the list reaches here as the
/// placeholder its token rewrite made).
fn table_reloptions(
    opts: &ast::CreateTableOptions,
    partitioned: bool,
) -> Result<(Vec<String>, Vec<String>), PgError> {
    let ast::CreateTableOptions::With(list) = opts else {
        return Ok(Default::default());
    };
    match crate::reloptions::from_sql_options(list) {
        Some(defs) => crate::reloptions::for_new_table(&defs, partitioned),
        None => Err(syntax(format!(
            "syntax error at or near \"{}\"",
            list.first().map(|o| o.to_string()).unwrap_or_default()
        ))),
    }
}

impl Utility {
    pub fn command(&self) -> Command {
        match self {
            Utility::Show(_) | Utility::ShowAll => Command::Show,
            Utility::Set { .. } => Command::Set,
            Utility::Reset(_) => Command::Reset,
            Utility::Begin { .. } => Command::Begin,
            Utility::Commit | Utility::Chain { commit: true } => Command::Commit,
            Utility::Rollback | Utility::Chain { commit: false } => Command::Rollback,
            Utility::SetTransaction { .. } | Utility::SetTransactionSnapshot(_) => Command::Set,
            Utility::Savepoint(_) => Command::Savepoint,
            Utility::Release(_) => Command::Release,
            Utility::RollbackTo(_) => Command::RollbackTo,
            Utility::Discard(w) => Command::Other(match *w {
                "ALL" => "DISCARD ALL",
                "PLANS" => "DISCARD PLANS",
                "SEQUENCES" => "DISCARD SEQUENCES",
                _ => "DISCARD TEMP",
            }),
            Utility::Listen(_) => Command::Other("LISTEN"),
            Utility::Unlisten(_) => Command::Other("UNLISTEN"),
            Utility::Notify(..) => Command::Other("NOTIFY"),
            Utility::Deallocate(None) => Command::Other("DEALLOCATE ALL"),
            Utility::Deallocate(Some(_)) => Command::Other("DEALLOCATE"),
            Utility::Checkpoint => Command::Other("CHECKPOINT"),
            Utility::SetConstraints { .. } => Command::Other("SET CONSTRAINTS"),
            Utility::CreateTable { .. } => Command::Other("CREATE TABLE"),
            Utility::DropTable { .. } => Command::Other("DROP TABLE"),
            Utility::CreateIndex { alter: false, .. } => Command::Other("CREATE INDEX"),
            Utility::CreateIndex { alter: true, .. } => Command::Other("ALTER TABLE"),
            Utility::DropIndex { .. } => Command::Other("DROP INDEX"),
            Utility::Reindex(_) => Command::Other("REINDEX"),
            Utility::Cluster(_) => Command::Other("CLUSTER"),
            Utility::ClusterOn(_) => Command::Other("ALTER TABLE"),
            Utility::CreateSchema { .. } => Command::Other("CREATE SCHEMA"),
            Utility::DropSchema { .. } => Command::Other("DROP SCHEMA"),
            Utility::Truncate(..) => Command::Other("TRUNCATE TABLE"),
            Utility::CreateDatabase(_) => Command::Other("CREATE DATABASE"),
            Utility::DropDatabase { .. } => Command::Other("DROP DATABASE"),
            Utility::Vacuum {
                analyze_only: true, ..
            } => Command::Other("ANALYZE"),
            Utility::Vacuum { .. } => Command::Other("VACUUM"),
            Utility::Lock { .. } => Command::Other("LOCK TABLE"),
            Utility::AlterLink(a) => Command::Other(a.tag()),
            Utility::AlterOptions(a) => Command::Other(match a.what {
                "INDEX" => "ALTER INDEX",
                "MATERIALIZED VIEW" => "ALTER MATERIALIZED VIEW",
                _ => "ALTER TABLE",
            }),
            Utility::Role(r) => Command::Other(r.tag()),
            Utility::Grant(g) => Command::Other(g.tag()),
            Utility::Sequence(s) => Command::Other(s.tag()),
            Utility::Comment(_) => Command::Other("COMMENT"),
            Utility::Fdw(f) => Command::Other(f.tag()),
            Utility::Operator(o) => Command::Other(o.tag()),
            Utility::ForeignTable(f) => Command::Other(f.tag()),
            Utility::TextSearch(t) => Command::Other(t.tag()),
            Utility::Publication(p) => Command::Other(p.tag()),
            Utility::Subscription(p) => Command::Other(p.tag()),
            Utility::Policy(p) => Command::Other(p.tag()),
            Utility::Type(t) => Command::Other(t.tag()),
            Utility::RestartIdentity(u) => u.command(),
        }
    }

    pub fn columns(&self, host: &dyn Host) -> Vec<Column> {
        match self {
            Utility::Show(name) => vec![text_col(
                &host
                    .setting_name(name)
                    .unwrap_or_else(|| name.to_lowercase()),
            )],
            Utility::ShowAll => vec![
                text_col("name"),
                text_col("setting"),
                text_col("description"),
            ],
            _ => Vec::new(),
        }
    }

    pub fn execute(&self, host: &mut dyn Host) -> Result<Outcome, PgError> {
        let done = |tag: &str| {
            Ok(Outcome {
                rows: Vec::new(),
                tag: tag.to_string(),
            })
        };
        match self {
            Utility::Show(name) => {
                let v = host.show(name)?;
                Ok(Outcome {
                    rows: vec![vec![Value::Text(v)]],
                    tag: "SHOW".into(),
                })
            }
            Utility::ShowAll => {
                let rows = host
                    .show_all()
                    .into_iter()
                    .map(|(n, s, d)| vec![Value::Text(n), Value::Text(s), Value::Text(d)])
                    .collect();
                Ok(Outcome {
                    rows,
                    tag: "SHOW".into(),
                })
            }
            Utility::Set { name, value, local } => {
                host.set(name, value.as_deref(), *local)?;
                done("SET")
            }
            Utility::Reset(name) => {
                host.reset(name.as_deref())?;
                done("RESET")
            }
            Utility::Begin { tag, modes } => {
                if let Some(w) = host.transactions().begin()? {
                    host.notice(w);
                }
                for (name, value) in modes {
                    if let Err(e) = host.set_transaction_mode(name, value) {
                        // A host without these settings still runs the block.
                        if e.code != sqlstate::UNDEFINED_OBJECT {
                            return Err(e);
                        }
                    }
                }
                done(tag)
            }
            Utility::SetTransaction { modes, session } => {
                if *session {
                    for (name, value) in modes {
                        host.set(&format!("default_{name}"), Some(value), false)?;
                    }
                } else {
                    if !host.in_transaction_block() {
                        host.notice(PgError::new(
                            tusk_common::Severity::Warning,
                            sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                            "SET TRANSACTION can only be used in transaction blocks",
                        ));
                    }
                    for (name, value) in modes {
                        host.set_transaction_mode(name, value)?;
                    }
                }
                done("SET")
            }
            Utility::SetTransactionSnapshot(id) => {
                let iso = host.show("transaction_isolation")?;
                crate::xactstmt::import_snapshot(id, host.in_transaction_block(), &iso)?;
                done("SET")
            }
            Utility::Chain { commit } => {
                let what = if *commit { "COMMIT" } else { "ROLLBACK" };
                if !host.in_transaction_block() || host.in_implicit_block() {
                    return Err(PgError::error(
                        sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                        format!("{what} AND CHAIN can only be used in transaction blocks"),
                    ));
                }
                let committed = if *commit {
                    if let Err(e) = crate::fkey::at_commit(host) {
                        crate::fkey::at_rollback();
                        host.transactions().rollback()?;
                        return Err(e);
                    }
                    let (committed, warning) = host.transactions().commit()?;
                    if let Some(w) = warning {
                        host.notice(w);
                    }
                    committed
                } else {
                    crate::fkey::at_rollback();
                    if let Some(w) = host.transactions().rollback()? {
                        host.notice(w);
                    }
                    false
                };
                host.chain_transaction()?;
                done(if committed { "COMMIT" } else { "ROLLBACK" })
            }
            Utility::Commit => {
                // Deferred FOREIGN KEY checks fail the COMMIT, which then
                // rolls back, as PostgreSQL's.
                if let Err(e) = crate::fkey::at_commit(host) {
                    crate::fkey::at_rollback();
                    host.transactions().rollback()?;
                    return Err(e);
                }
                let (committed, warning) = host.transactions().commit()?;
                if let Some(w) = warning {
                    host.notice(w);
                }
                done(if committed { "COMMIT" } else { "ROLLBACK" })
            }
            Utility::Rollback => {
                crate::fkey::at_rollback();
                if let Some(w) = host.transactions().rollback()? {
                    host.notice(w);
                }
                done("ROLLBACK")
            }
            Utility::Savepoint(name) => {
                host.transactions().savepoint(name)?;
                done("SAVEPOINT")
            }
            Utility::Release(name) => {
                host.transactions().release(name)?;
                done("RELEASE")
            }
            Utility::RollbackTo(name) => {
                host.transactions().rollback_to(name)?;
                done("ROLLBACK")
            }
            Utility::Listen(channel) => {
                host.listen(Some(channel), true)?;
                done("LISTEN")
            }
            Utility::Unlisten(channel) => {
                host.listen(channel.as_deref(), false)?;
                done("UNLISTEN")
            }
            Utility::Notify(channel, payload) => {
                crate::notify::check(channel, payload)?;
                host.notify(channel, payload)?;
                done("NOTIFY")
            }
            Utility::Discard(what) => {
                host.discard(what)?;
                done(&format!("DISCARD {what}"))
            }
            Utility::Role(r) => {
                if let crate::role::RoleCommand::Drop { names, .. } = r {
                    crate::fdw::check_role_drop(host, names)?;
                }
                host.role_command(r)?;
                done(r.tag())
            }
            Utility::Comment(c) => {
                crate::comment::run(c, host)?;
                done("COMMENT")
            }
            Utility::Fdw(f) => {
                crate::fdw::run(f, host)?;
                done(f.tag())
            }
            Utility::Operator(o) => {
                crate::operator::run(o, host)?;
                done(o.tag())
            }
            Utility::ForeignTable(f) => {
                crate::foreigntable::run(f, host)?;
                done(f.tag())
            }
            Utility::TextSearch(t) => {
                crate::tsddl::run(t, host)?;
                done(t.tag())
            }
            Utility::Publication(p) => {
                crate::publication::run(p, host)?;
                done(p.tag())
            }
            Utility::Subscription(p) => {
                crate::subscription::run(p, host)?;
                done(p.tag())
            }
            Utility::Policy(p) => {
                crate::policy::run(p, host)?;
                done(p.tag())
            }
            Utility::Grant(g) => {
                crate::acl::run(host, g)?;
                done(g.tag())
            }
            Utility::Sequence(s) => {
                host.tables()?.sequence_command(s)?;
                done(s.tag())
            }
            Utility::Type(t) => {
                crate::domain::before_command(host, t)?;
                host.tables()?.type_command(t)?;
                done(t.tag())
            }
            Utility::RestartIdentity(u) => {
                let out = u.execute(host)?;
                if let Utility::Truncate(names, _) = u.as_ref() {
                    crate::sequence::restart_owned(host, names)?;
                }
                Ok(out)
            }
            Utility::SetConstraints { names, deferred } => {
                crate::fkey::set_constraints(host, names.as_deref(), *deferred)?;
                done("SET CONSTRAINTS")
            }
            Utility::Checkpoint => {
                match host.maintenance() {
                    Some(m) => m.checkpoint()?,
                    None => {
                        return Err(crate::host::no_maintenance(
                            "CHECKPOINT is not supported by this host",
                        ))
                    }
                }
                done("CHECKPOINT")
            }
            Utility::Deallocate(name) => {
                host.deallocate(name.as_deref())?;
                done(if name.is_some() {
                    "DEALLOCATE"
                } else {
                    "DEALLOCATE ALL"
                })
            }
            Utility::CreateTable {
                schema,
                name,
                columns,
                if_not_exists,
                indexes,
                checks,
                serials,
                foreign_keys,
                inherits,
                partition,
                likes,
                options,
            } => {
                let mut columns = columns.clone();
                let mut checks = checks.clone();
                let mut indexes = indexes.clone();
                let mut serials = serials.clone();
                if !likes.is_empty() {
                    let x =
                        crate::like::expand(host, schema.as_deref(), name, likes, &mut columns)?;
                    for (n, e) in x.checks {
                        let e = crate::bind::rowexpr::parse_stored(&e, "check constraint")?;
                        checks.push((Some(n), e));
                    }
                    // The copied indexes come before those written (as
                    // PostgreSQL's transformIndexConstraints sees them).
                    indexes.splice(0..0, x.indexes);
                    serials.extend(x.serials);
                }
                let (indexes, serials) = (&indexes, &serials);
                for c in &columns {
                    crate::alter::bind_default_checked(&*host, c)?;
                }
                if !inherits.is_empty() && partition.as_ref().is_some_and(|p| p.by.is_some()) {
                    return Err(PgError::error(
                        catalog::codes::WRONG_OBJECT_TYPE,
                        "cannot create partitioned table as inheritance child",
                    ));
                }
                let part_of = partition.as_ref().and_then(|p| p.of.as_ref());
                let mut bound = None;
                let (columns, parents) = if let Some(((ps, pn), fv)) = part_of {
                    let parent = catalog::lookup(&*host, ps.as_deref(), pn)?;
                    bound = Some(crate::partition::check_new_partition(
                        host, &parent, name, fv,
                    )?);
                    let mut cols = parent.columns.clone();
                    for c in &mut cols {
                        c.identity = None;
                    }
                    for ch in parent.checks.iter().rev() {
                        let e = crate::bind::rowexpr::parse_stored(&ch.expr, "check constraint")?;
                        checks.insert(0, (Some(ch.name.clone()), e));
                    }
                    (cols, vec![parent])
                } else if inherits.is_empty() {
                    (columns, Vec::new())
                } else {
                    let (cols, parents, inherited) =
                        crate::inherit::merge_columns(host, inherits, &columns)?;
                    for ch in inherited.iter().rev() {
                        if checks.iter().any(|(n, _)| n.as_deref() == Some(&ch.name)) {
                            continue;
                        }
                        let e = crate::bind::rowexpr::parse_stored(&ch.expr, "check constraint")?;
                        checks.insert(0, (Some(ch.name.clone()), e));
                    }
                    (cols, parents)
                };
                let (columns, checks) = (&columns, &checks);
                crate::generated::check_definitions(
                    &*host,
                    schema.as_deref().unwrap_or(""),
                    name,
                    columns,
                    None,
                )?;
                if let Some((strategy, items)) = partition.as_ref().and_then(|p| p.by.as_ref()) {
                    let key = crate::partition::key_of(*strategy, items, columns)?;
                    crate::generated::check_partition_key(name, &key, columns)?;
                    crate::partition::check_key(&*host, &key, columns)?;
                }
                // serial: the sequences first (PostgreSQL's order), unless
                // IF NOT EXISTS finds the table (then nothing is created).
                let skip = *if_not_exists && host.lookup_table(schema.as_deref(), name)?.is_some();
                if !skip {
                    crate::sequence::create_serial_sequences(host, schema.as_deref(), serials)?;
                }
                let created = host.tables()?.create_table(
                    schema.as_deref(),
                    name,
                    columns,
                    *if_not_exists,
                )?;
                if created && !parents.is_empty() {
                    let me = catalog::lookup(&*host, schema.as_deref(), name)?
                        .table()?
                        .oid;
                    let oids = parents
                        .iter()
                        .map(|p| p.table().map(|t| t.oid))
                        .collect::<Result<Vec<_>, _>>()?;
                    host.tables()?.set_inheritance(me, &oids)?;
                    if let Some(b) = &bound {
                        host.tables()?.set_partition_bound(me, Some(b))?;
                    }
                }
                if let (true, Some((strategy, items))) =
                    (created, partition.as_ref().and_then(|p| p.by.as_ref()))
                {
                    let key = crate::partition::key_of(*strategy, items, columns)?;
                    let me = catalog::lookup(&*host, schema.as_deref(), name)?
                        .table()?
                        .oid;
                    host.tables()?.set_partitioned(me, &key)?;
                }
                if created && (!options.0.is_empty() || !options.1.is_empty()) {
                    let me = catalog::lookup(&*host, schema.as_deref(), name)?
                        .table()?
                        .oid;
                    crate::reloptions::store_new(host, me, &options.0, &options.1)?;
                }
                if created {
                    crate::sequence::own_serial_sequences(host, schema.as_deref(), name, serials)?;
                    crate::alter::create_checks(host, schema.as_deref(), name, checks)?;
                }
                if created && !indexes.is_empty() {
                    let rel = catalog::lookup(&*host, schema.as_deref(), name)?;
                    for spec in indexes {
                        let spec = crate::index::resolve(&*host, &rel, spec)?;
                        host.tables()?.create_index(&rel, &spec)?;
                    }
                }
                if created {
                    for f in foreign_keys {
                        let rel = catalog::lookup(&*host, schema.as_deref(), name)?;
                        crate::fkey::add(host, &rel, f, false, false)?;
                    }
                }
                done("CREATE TABLE")
            }
            Utility::CreateIndex {
                schema,
                table,
                specs,
                alter,
            } => {
                let rel = catalog::lookup(&*host, schema.as_deref(), table)?;
                rel.table()?;
                if rel.relkind == b'f' {
                    let e = if specs.iter().any(|s| s.primary) {
                        PgError::error(
                            catalog::codes::WRONG_OBJECT_TYPE,
                            "primary key constraints are not supported on foreign tables",
                        )
                    } else if specs.iter().any(|s| s.unique && s.constraint) {
                        PgError::error(
                            catalog::codes::WRONG_OBJECT_TYPE,
                            "unique constraints are not supported on foreign tables",
                        )
                    } else {
                        PgError::error(
                            catalog::codes::WRONG_OBJECT_TYPE,
                            format!("cannot create index on relation \"{}\"", rel.name),
                        )
                        .with_detail("This operation is not supported for foreign tables.")
                    };
                    return Err(e);
                }
                for spec in specs {
                    let spec = crate::index::resolve(&*host, &rel, spec)?;
                    host.tables()?.create_index(&rel, &spec)?;
                }
                done(if *alter {
                    "ALTER TABLE"
                } else {
                    "CREATE INDEX"
                })
            }
            Utility::DropIndex { names, if_exists } => {
                for (schema, name) in names {
                    host.tables()?
                        .drop_index(schema.as_deref(), name, *if_exists)?;
                }
                done("DROP INDEX")
            }
            Utility::Reindex(t) => {
                host.tables()?.reindex(t)?;
                done("REINDEX")
            }
            Utility::Cluster(c) => {
                host.tables()?.cluster(c)?;
                done("CLUSTER")
            }
            Utility::ClusterOn(c) => {
                host.tables()?.cluster_on(c)?;
                done("ALTER TABLE")
            }
            Utility::DropTable {
                names,
                if_exists,
                cascade,
            } => {
                // All names are resolved before any is dropped, as
                // PostgreSQL's RemoveRelations: a missing one fails the
                // statement without dropping the others.
                let mut found = Vec::new();
                for (schema, name) in names {
                    let shown = match schema {
                        Some(s) => format!("{s}.{name}"),
                        None => name.clone(),
                    };
                    match host.lookup_table(schema.as_deref(), name)? {
                        Some(rel)
                            if matches!(rel.source, catalog::RelationSource::View(_))
                                || rel.view_query.is_some() =>
                        {
                            return Err(PgError::error(
                                catalog::codes::WRONG_OBJECT_TYPE,
                                format!("\"{name}\" is not a table"),
                            )
                            .with_hint(crate::view::wrong_drop_hint(&rel)))
                        }
                        Some(rel) => found.push(rel),
                        None if *if_exists => host.notice(PgError::new(
                            tusk_common::Severity::Notice,
                            sqlstate::SUCCESSFUL_COMPLETION,
                            format!("table \"{shown}\" does not exist, skipping"),
                        )),
                        None => {
                            return Err(PgError::error(
                                sqlstate::UNDEFINED_TABLE,
                                format!("table \"{shown}\" does not exist"),
                            ))
                        }
                    }
                }
                crate::inherit::before_drop(host, &mut found, *cascade)?;
                crate::fkey::before_drop(host, &found, *cascade)?;
                // Views over the tables: 2BP01, or dropped first with
                // CASCADE; then each table, re-read (a cascade may have
                // dropped its FOREIGN KEYs).
                crate::view::drop_relations(host, &found, *cascade)?;
                done("DROP TABLE")
            }
            Utility::CreateDatabase(name) => {
                host.tables()?.create_database(name)?;
                done("CREATE DATABASE")
            }
            Utility::DropDatabase { name, if_exists } => {
                host.tables()?.drop_database(name, *if_exists)?;
                done("DROP DATABASE")
            }
            Utility::Truncate(names, cascade) => {
                let mut found = Vec::new();
                for (schema, name) in names {
                    let r = catalog::lookup(&*host, schema.as_deref(), name)?;
                    r.table()?;
                    crate::acl::check_relation(&*host, &r, crate::acl::TRUNCATE)?;
                    found.push(r);
                }
                crate::fkey::before_truncate(host, &mut found, *cascade)?;
                // TRUNCATE triggers (statement level only): every
                // table's BEFORE ones, the truncation, then the AFTER ones.
                let mut fires = Vec::new();
                for rel in &found {
                    let f = crate::trigger::Fire::load(
                        &*host,
                        rel,
                        crate::trigger::Event::Truncate,
                        &[],
                    )?;
                    if let Some(mut f) = f {
                        f.before_statement(host)?;
                        fires.push(f);
                    }
                }
                for rel in &found {
                    host.tables()?.truncate(rel)?;
                }
                for f in &mut fires {
                    f.after_statement(host)?;
                }
                done("TRUNCATE TABLE")
            }
            Utility::Vacuum {
                opts,
                analyze_only,
                tables,
            } => {
                let mut found = Vec::new();
                for (schema, name) in tables {
                    let r = catalog::lookup(&*host, schema.as_deref(), name)?;
                    found.push(r);
                }
                if *analyze_only {
                    return done("ANALYZE");
                }
                if found.is_empty() {
                    host.tables()?.vacuum(None, *opts)?;
                }
                for rel in &found {
                    if rel.table().is_err() {
                        host.notice(PgError::new(
                            tusk_common::Severity::Warning,
                            sqlstate::WARNING,
                            format!(
                                "skipping \"{}\" --- cannot vacuum non-tables or special system tables",
                                rel.name
                            ),
                        ));
                        continue;
                    }
                    host.tables()?.vacuum(Some(rel), *opts)?;
                }
                done("VACUUM")
            }
            Utility::AlterLink(a) => {
                crate::partition::execute(host, a)?;
                done("ALTER TABLE")
            }
            Utility::AlterOptions(a) => {
                crate::reloptions::execute(host, a)?;
                done(match a.what {
                    "INDEX" => "ALTER INDEX",
                    "MATERIALIZED VIEW" => "ALTER MATERIALIZED VIEW",
                    _ => "ALTER TABLE",
                })
            }
            Utility::Lock {
                tables,
                mode,
                nowait,
            } => {
                // PostgreSQL's RequireTransactionBlock comes first, then
                // each name is resolved and locked in order.
                host.tables()?.require_transaction_block("LOCK TABLE")?;
                for (schema, name) in tables {
                    if matches!(schema.as_deref(), None | Some("pg_catalog"))
                        && catalog::system_view(name).is_some()
                    {
                        return Err(PgError::error(
                            crate::catalog::codes::WRONG_OBJECT_TYPE,
                            format!("cannot lock relation \"{name}\""),
                        )
                        .with_detail("This operation is not supported for views."));
                    }
                    let rel = host
                        .tables()?
                        .lock_table(schema.as_deref(), name, *mode, *nowait)?;
                    // PostgreSQL 15's LockTableAclCheck: any one of these.
                    // Checked on the relation the lock resolved (a lookup
                    // of its own would take an AccessShareLock more); a
                    // refusal aborts the transaction, releasing the lock.
                    use crate::acl::{DELETE, INSERT, SELECT, TRUNCATE, UPDATE};
                    let any_of = match *mode {
                        1 => SELECT,
                        3 => INSERT | UPDATE | DELETE | TRUNCATE,
                        _ => UPDATE | DELETE | TRUNCATE,
                    };
                    crate::acl::check_relation_any(&*host, &rel, any_of)?;
                }
                done("LOCK TABLE")
            }
            Utility::CreateSchema {
                name,
                if_not_exists,
            } => {
                host.tables()?.create_schema(name, *if_not_exists)?;
                done("CREATE SCHEMA")
            }
            Utility::DropSchema {
                names,
                if_exists,
                cascade,
            } => {
                for n in names {
                    crate::dropschema::drop_contents(host, n, *cascade)?;
                    // The schema's own check must see those drops.
                    host.command_counter_increment();
                    host.tables()?.drop_schema(n, *if_exists)?;
                }
                done("DROP SCHEMA")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_quoting() {
        assert_eq!(quote_identifier("public"), "public");
        assert_eq!(quote_identifier("My Schema"), "\"My Schema\"");
        assert_eq!(quote_identifier("$user"), "\"$user\"");
        assert_eq!(command_words("create table t (a int)"), "CREATE TABLE");
        assert_eq!(command_words("listen foo"), "LISTEN");
    }
}
