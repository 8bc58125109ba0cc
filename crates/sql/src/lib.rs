//! tusk-sql: PostgreSQL's SQL, from query text to result rows, with no I/O.
//!
//! A statement goes through three steps, which map onto the extended query
//! protocol (Parse, then Bind/Describe, then Execute) and run back to back
//! for a simple Query:
//!
//! 1. [`parse`] splits the text at top-level semicolons and parses each
//!    piece with sqlparser (PostgreSQL dialect) into a [`Statement`] that
//!    keeps its own source text. Syntax errors come back in PostgreSQL's
//!    words (42601 `syntax error at or near "x"`), with the character
//!    position from [`parse_with_position`].
//! 2. [`prepare`] binds a statement: names are resolved against the
//!    catalog (`catalog.rs`), literals, operators and functions get
//!    PostgreSQL's types, untyped `$n` parameters get inferred types, and
//!    a SELECT becomes a [`plan`](crate::plan) of scan -> filter ->
//!    aggregate -> project -> sort -> limit. The result, [`Prepared`],
//!    answers Describe ([`Prepared::param_types`], [`Prepared::columns`])
//!    and tells the session what kind of command it is
//!    ([`Prepared::command`]) for its transaction logic.
//! 3. [`start`] begins executing a prepared statement with parameter
//!    [`Value`]s (decoded by [`decode_param`]): a SELECT's plan becomes a
//!    tree of pull executor nodes (`exec.rs`) and the result, an
//!    [`Execution`], hands out one row per [`Execution::next`] and the
//!    exact CommandComplete tag at the end. A portal keeps the execution
//!    between Execute messages. [`execute`] runs to the end and collects
//!    the rows ([`Outcome`]). Values are sent with [`encode_text`] /
//!    [`encode_binary`].
//!
//! The interfaces to the rest of the server, each as narrow as its use
//! (`host.rs`, `exec.rs`):
//!
//! - [`Host`]: the session: settings, who the session is, timestamps,
//!   interrupts, notices, sleeping, signalling other backends, the
//!   session's statement cache.
//! - [`TransactionControl`]: BEGIN/COMMIT/ROLLBACK, implemented by
//!   tusk_storage's `xact::Xact`, which the session hands out.
//! - [`Maintenance`]: server-wide operations the server offers its
//!   sessions (CHECKPOINT, the online-backup functions).
//! - [`Relations`]: opens the views whose rows the server computes
//!   (pg_stat_activity) as [`RowSource`]s.
//! - [`RowSource`]: rows pulled one at a time by a scan node, released by
//!   `close`; a heap scan holding a buffer pin and a snapshot will be one.
//!
//! Tables: a stored table is a `catalog::RelationSource::Table`, found by
//! the host's catalog ([`Host::lookup_table`]) and read by the host's heap
//! [`RowSource`]; the binder resolves its columns (and its system columns
//! ctid, xmin, xmax, tableoid) and the executor filters, aggregates,
//! sorts and limits it like any source. CREATE/DROP TABLE and SCHEMA are
//! utility statements calling the host's [`Tables`]; INSERT, UPDATE and
//! DELETE (`modify.rs`) run to completion when started, through the same
//! [`Tables`], and keep their RETURNING rows for the portal.
//!
//! Main types: [`Statement`], [`Prepared`], [`Value`], [`Column`],
//! [`Command`], [`Outcome`], [`Execution`], [`RowSource`], [`Host`],
//! [`ActivityRow`], and the type OIDs in
//! [`types`].

pub mod acl;
mod agg;
pub mod alter;
mod alterfn;
mod are;
mod arrays;
mod arrayset;
mod assign;
mod bind;
mod bulk;
mod callproc;
pub mod catalog;
mod comment;
mod copy;
mod cte;
pub mod cursor;
mod distinct;
pub mod domain;
mod dropschema;
mod dtops;
mod exec;
mod explain;
mod expr;
mod fdw;
mod fkey;
mod fndef;
mod foreigntable;
mod formatting;
mod func;
mod generated;
mod geometry;
mod hashside;
mod host;
pub mod index;
mod inherit;
mod json;
mod jsonpath;
mod jsonpath_dt;
mod jsonrec;
mod lateral;
mod like;
mod lock;
pub mod maint;
mod mathfuncs;
mod merge;
mod modify;
pub mod notify;
pub mod operator;
mod ordset;
mod parse;
mod parsecache;
mod parthash;
mod partition;
mod pattern;
mod pgsort;
mod plan;
mod plancache;
mod plfast;
mod plpgsql;
pub mod policy;
mod polymorphic;
mod prepare;
mod publication;
mod random;
mod ranges;
mod recursion;
mod reg;
pub mod reloptions;
pub mod role;
mod routine;
pub mod rowlock;
pub mod rules;
mod scalars;
mod semijoin;
pub mod sequence;
mod srf;
mod strfuncs;
mod subplan;
mod subscription;
mod sysinfo;
mod sysviews;
pub mod trigger;
mod tsddl;
mod tsdict;
mod tsearch;
mod tsispell;
mod tsthesaurus;
mod useragg;
pub mod usertype;
mod utility;
mod vacuum;
pub mod view;
mod viewdef;
mod window;
mod xactstmt;

#[cfg(test)]
mod tests;

pub use tusk_types::array;
pub use tusk_types::{cast, datetime, geo, interval, numeric, range, types, tz, value};

use tusk_common::sqlstate;
use tusk_common::PgError;

pub use are::set_interrupt_hook as set_regex_interrupt_hook;
pub use catalog::{FuncDef, ProcAttrs, Routines, Tables};
pub use copy::{CopyDirection, CopyEndpoint, CopyIn};
pub use exec::{Execution, GenerateSeries, Relations, Row, RowSource};
pub use host::{
    ActivityRow, AdvisoryFn, AdvisoryKey, AdvisoryOp, Host, Maintenance, SessionIdentity,
    TransactionControl, WalPositions,
};
pub use numeric::Numeric;
pub use types::Oid;
pub use value::{decode_bind_param, decode_param, encode_binary, encode_text, Value};

use bind::Binder;
use parse::{Parsed, PreParsed};
use plan::SelectPlan;
use types::Ty;
use utility::Utility;

/// One parsed statement and its source text.
#[derive(Debug, Clone)]
pub struct Statement {
    parsed: Parsed,
    sql: String,
    /// The client's query string, for error positions (parse.rs's
    /// `SourceMap`); None for text parsed on the server's own behalf.
    src: Option<std::sync::Arc<parse::SourceMap>>,
    /// 0-based character index of `sql` in the query string.
    start: usize,
    /// The client's query string with its literals masked, when it is this one statement
    /// and the parse cache could read it (plancache.rs keys on it).
    masked: Option<std::rc::Rc<parsecache::Masked>>,
}

/// A token-read statement's "syntax error at end of input" where the
/// client's text goes on with the statement's `;`: PostgreSQL's grammar
/// sees that semicolon, so the error is at or near it, with its position.
fn at_semicolon(stmt: &Statement, e: PgError) -> PgError {
    if e.message != "syntax error at end of input" || e.position.is_some() {
        return e;
    }
    let Some(src) = &stmt.src else {
        return e;
    };
    let end = stmt.start + stmt.sql.chars().count();
    match src.next_non_space(end) {
        Some(p) if src.char_at(p) == Some(';') => PgError {
            message: "syntax error at or near \";\"".into(),
            position: Some(p),
            ..e
        },
        _ => e,
    }
}

/// An error of maint.rs's statements: its position (in the statement's
/// text) shifted into the client's string, or at the semicolon.
fn maint_error(stmt: &Statement, e: PgError) -> PgError {
    let pos = match (&stmt.src, e.position) {
        (Some(_), Some(p)) => Some(p + stmt.start as u32),
        _ => None,
    };
    at_semicolon(stmt, PgError { position: pos, ..e })
}

impl Statement {
    /// The statement's own text, without the surrounding statements of a
    /// multi-statement query or its terminating semicolon.
    pub fn sql(&self) -> &str {
        &self.sql
    }
}

/// A result column, as RowDescription describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub type_oid: Oid,
    pub type_len: i16,
    pub type_mod: i32,
}

/// What kind of statement this is, for the session's transaction logic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Select,
    /// BEGIN, START TRANSACTION.
    Begin,
    /// COMMIT, END.
    Commit,
    /// ROLLBACK, ABORT.
    Rollback,
    /// SAVEPOINT.
    Savepoint,
    /// RELEASE [SAVEPOINT].
    Release,
    /// ROLLBACK TO [SAVEPOINT]: allowed in a failed transaction, as
    /// ROLLBACK is (PostgreSQL's IsTransactionExitStmt).
    RollbackTo,
    Set,
    Reset,
    Show,
    /// Anything else, by its command tag ("DISCARD ALL", "DEALLOCATE").
    Other(&'static str),
}

impl Command {
    /// The command's tag without a row count ("SELECT", "BEGIN"), as
    /// PostgreSQL's CreateCommandTag gives it before the statement runs
    /// (what the process title shows).
    pub fn tag(self) -> &'static str {
        match self {
            Command::Select => "SELECT",
            Command::Begin => "BEGIN",
            Command::Commit => "COMMIT",
            Command::Rollback | Command::RollbackTo => "ROLLBACK",
            Command::Savepoint => "SAVEPOINT",
            Command::Release => "RELEASE",
            Command::Set => "SET",
            Command::Reset => "RESET",
            Command::Show => "SHOW",
            Command::Other(t) => t,
        }
    }
}

/// The rows and CommandComplete tag of an executed statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub rows: Vec<Vec<Value>>,
    pub tag: String,
}

#[derive(Debug, Clone)]
enum Plan {
    Select(Box<SelectPlan>),
    Modify(Box<modify::ModifyPlan>),
    Utility(Utility),
    Copy(copy::CopyPlan),
    Routine(routine::RoutineStmt),
    Trigger(trigger::TriggerStmt),
    Alter(alter::AlterPlan),
    Explain(explain::ExplainPlan),
    View(view::ViewPlan),
    Cursor(cursor::CursorStmt),
    Prepare(prepare::PrepareStmt),
    /// A rule statement, or a statement rewritten by rules (rules.rs).
    Rule(Box<rules::RulePlan>),
}

/// A bound statement, ready to execute any number of times.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The privilege checks binding made, made again when another role
    /// runs the statement (crates/sql/src/acl.rs).
    rechecks: acl::Rechecks,
    plan: Plan,
    param_types: Vec<Oid>,
    columns: Vec<Column>,
    command: Command,
    /// The statement's data-modifying WITH queries (cte.rs), run to
    /// completion when it starts, whether read or not.
    dml_ctes: Vec<std::rc::Rc<cte::ModifyCte>>,
}

impl Prepared {
    /// Types of `$1..$n`: declared ones as declared, the others inferred
    /// (text when nothing decided). ParameterDescription sends these.
    pub fn param_types(&self) -> &[Oid] {
        &self.param_types
    }

    /// Result columns; empty for statements that return no rows.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn command(&self) -> Command {
        self.command
    }

    /// For a COPY: which way its data goes over the protocol.
    pub fn copy_direction(&self) -> Option<CopyDirection> {
        match &self.plan {
            Plan::Copy(c) => Some(c.direction()),
            _ => None,
        }
    }

    /// For a COPY: the client (STDIN/STDOUT), a server file or a program.
    pub fn copy_endpoint(&self) -> Option<&CopyEndpoint> {
        match &self.plan {
            Plan::Copy(c) => Some(c.endpoint()),
            _ => None,
        }
    }

    /// For a COPY FROM: the state that takes its data.
    pub fn copy_in(&self) -> Option<CopyIn<'_>> {
        match &self.plan {
            Plan::Copy(copy::CopyPlan::From(f)) => Some(CopyIn::new(f)),
            _ => None,
        }
    }

    /// For a COPY TO STDOUT with HEADER: the header line.
    pub fn copy_out_header(&self) -> Option<Vec<u8>> {
        match &self.plan {
            Plan::Copy(copy::CopyPlan::To(t)) => t.header(),
            _ => None,
        }
    }

    /// For a COPY TO STDOUT: one row of its query as a line of data.
    pub fn copy_out_row(&self, row: &[Value]) -> Vec<u8> {
        match &self.plan {
            Plan::Copy(copy::CopyPlan::To(t)) => t.format_row(row),
            _ => Vec::new(),
        }
    }
}

/// Parse a query string into its statements. `""`, `";"` and comments
/// alone give an empty vector (the caller sends EmptyQueryResponse).
///
/// For text the server runs on its own behalf (function bodies, view
/// definitions): errors found when binding it carry no cursor position,
/// which would point into a string the client never sent.
pub fn parse(sql: &str) -> Result<Vec<Statement>, PgError> {
    Ok(parse::parse_with_position(sql)
        .map_err(|(e, _)| e)?
        .into_iter()
        .map(|(parsed, sql, start)| Statement {
            parsed,
            sql,
            src: None,
            start,
            masked: None,
        })
        .collect())
}

/// Parse the query string a client sent: a syntax error comes with its
/// 1-based character position (ErrorResponse's `P` field) when it is
/// known, and the statements keep the string so that [`prepare`]'s
/// errors about names and literals carry their position in it too.
pub fn parse_with_position(sql: &str) -> Result<Vec<Statement>, (PgError, Option<u32>)> {
    parse_masked(sql, parsecache::Masked::of(sql))
}

/// What [`parse_simple`] made of a simple Query message.
pub enum Simple {
    /// A statement sent before with other literal values (plancache.rs): its plan, with
    /// this text's literals as the parameters' values.
    Cached {
        prepared: std::rc::Rc<Prepared>,
        params: Vec<Value>,
    },
    /// The statements, to bind one by one ([`prepare`], then [`remember_plan`]).
    Parsed(Vec<Statement>),
}

/// [`parse_with_position`] for a simple Query message, which may be a statement the
/// session's plan cache holds (plancache.rs). `settings` is the session's settings
/// generation, which binding depends on.
pub fn parse_simple(
    sql: &str,
    host: &dyn Host,
    settings: u64,
) -> Result<Simple, (PgError, Option<u32>)> {
    let masked = parsecache::Masked::of(sql);
    if let Some((prepared, params)) = masked
        .as_ref()
        .and_then(|m| plancache::lookup(m, host, settings))
    {
        return Ok(Simple::Cached { prepared, params });
    }
    parse_masked(sql, masked).map(Simple::Parsed)
}

/// After a simple Query's statement `stmt` was bound to `p` without error: lets the
/// plan cache learn its shape (plancache.rs), so that the next text that differs only
/// in literal values is not parsed and bound again.
pub fn remember_plan(stmt: &Statement, p: &Prepared, host: &dyn Host, settings: u64) {
    plancache::remember(stmt, p, host, settings);
}

fn parse_masked(
    sql: &str,
    masked: Option<parsecache::Masked>,
) -> Result<Vec<Statement>, (PgError, Option<u32>)> {
    let src = std::sync::Arc::new(parse::SourceMap::new(sql));
    if let Some((parsed, text, start)) = masked.as_ref().and_then(|m| parsecache::lookup(sql, m)) {
        return Ok(vec![Statement {
            parsed,
            sql: text,
            src: Some(src),
            start,
            masked: masked.map(std::rc::Rc::new),
        }]);
    }
    let parsed = parse::parse_with_position(sql)?;
    let masked = match (masked, parsed.as_slice()) {
        (Some(m), [(p, text, start)]) => {
            parsecache::remember(&m, p, text, *start);
            Some(std::rc::Rc::new(m))
        }
        _ => None,
    };
    Ok(parsed
        .into_iter()
        .map(|(parsed, sql, start)| Statement {
            parsed,
            sql,
            src: Some(src.clone()),
            start,
            masked: masked.clone(),
        })
        .collect())
}

/// `e` with its position (from a map of a statement's own text) moved by
/// `by` characters, to count in the client's whole query string.
pub(crate) fn shift_position(mut e: PgError, by: usize) -> PgError {
    if let Some(p) = e.position {
        e.position = Some(p + by as u32);
    }
    e
}

/// Bind a statement. `declared_param_types` are Parse's types (0 =
/// infer); more parameters than declared may appear in the statement.
pub fn prepare(
    stmt: &Statement,
    declared_param_types: &[Oid],
    host: &dyn Host,
) -> Result<Prepared, PgError> {
    let (p, rechecks) =
        acl::recording(host, || prepare_unchecked(stmt, declared_param_types, host));
    let mut p = p?;
    p.rechecks = rechecks;
    Ok(p)
}

fn prepare_unchecked(
    stmt: &Statement,
    declared_param_types: &[Oid],
    host: &dyn Host,
) -> Result<Prepared, PgError> {
    let declared: Vec<Option<Ty>> = declared_param_types
        .iter()
        .map(|&o| {
            if o == 0 || o == types::UNKNOWN {
                None
            } else {
                Some(Ty::new(o))
            }
        })
        .collect();
    if let Parsed::Pre(PreParsed::Copy) = &stmt.parsed {
        let plan = copy::bind(&stmt.sql, host)?;
        return Ok(Prepared {
            rechecks: Default::default(),
            dml_ctes: Vec::new(),
            plan: Plan::Copy(plan),
            param_types: declared_param_types.to_vec(),
            columns: Vec::new(),
            command: Command::Other("COPY"),
        });
    }
    if let Parsed::Pre(PreParsed::Trigger) = &stmt.parsed {
        let t = trigger::bind(&stmt.sql)?;
        return Ok(Prepared {
            rechecks: Default::default(),
            dml_ctes: Vec::new(),
            command: Command::Other(t.tag()),
            plan: Plan::Trigger(t),
            param_types: declared_param_types.to_vec(),
            columns: Vec::new(),
        });
    }
    if let Parsed::Pre(PreParsed::Rule) = &stmt.parsed {
        let r = rules::parse(&stmt.sql)?;
        return Ok(Prepared {
            rechecks: Default::default(),
            dml_ctes: Vec::new(),
            command: Command::Other(r.tag()),
            plan: Plan::Rule(Box::new(rules::RulePlan::Ddl(r))),
            param_types: declared_param_types.to_vec(),
            columns: Vec::new(),
        });
    }
    if let Parsed::Pre(PreParsed::Routine) = &stmt.parsed {
        let r = routine::bind(&stmt.sql, declared_param_types, host)?;
        return Ok(Prepared {
            rechecks: Default::default(),
            dml_ctes: Vec::new(),
            command: Command::Other(r.tag()),
            columns: r.columns(),
            plan: Plan::Routine(r),
            param_types: declared_param_types.to_vec(),
        });
    }
    if let Parsed::Pre(PreParsed::View) = &stmt.parsed {
        // view.rs parses the statement's own text again: its spans are
        // in that text, which starts at `stmt.start` in the client's.
        let src = stmt.src.as_ref().map(|_| {
            (
                std::sync::Arc::new(parse::SourceMap::new(&stmt.sql)),
                stmt.start,
            )
        });
        let v = view::bind(view::parse(&stmt.sql)?, host, src)?;
        return Ok(Prepared {
            rechecks: Default::default(),
            dml_ctes: Vec::new(),
            command: Command::Other(v.tag()),
            plan: Plan::View(v),
            param_types: declared_param_types.to_vec(),
            columns: Vec::new(),
        });
    }
    if let Parsed::Ast(s) = &stmt.parsed {
        if let sqlparser::ast::Statement::Query(q) = s.as_ref() {
            if let Some(v) = view::select_into(q)? {
                let v = view::bind(v, host, stmt.src.clone().map(|m| (m, 0)))?;
                return Ok(Prepared {
                    rechecks: Default::default(),
                    dml_ctes: Vec::new(),
                    command: Command::Other("SELECT"),
                    plan: Plan::View(v),
                    param_types: declared_param_types.to_vec(),
                    columns: Vec::new(),
                });
            }
        }
    }
    if let Parsed::Pre(PreParsed::Cursor) = &stmt.parsed {
        let (c, columns, param_types) = cursor::bind(&stmt.sql, declared_param_types, host)?;
        return Ok(Prepared {
            rechecks: Default::default(),
            dml_ctes: Vec::new(),
            command: Command::Other(c.tag()),
            plan: Plan::Cursor(c),
            param_types,
            columns,
        });
    }
    if let Parsed::Pre(PreParsed::Prepare) = &stmt.parsed {
        let upper = stmt.sql.trim_start().to_ascii_uppercase();
        if upper.starts_with("PREPARE") {
            let (p, _) = prepare::bind_prepare(&stmt.sql, host)?;
            return Ok(Prepared {
                rechecks: Default::default(),
                dml_ctes: Vec::new(),
                command: Command::Other("PREPARE"),
                plan: Plan::Prepare(p),
                param_types: declared_param_types.to_vec(),
                columns: Vec::new(),
            });
        }
        let (p, columns, command) = prepare::bind_execute(&stmt.sql, host)?;
        return Ok(Prepared {
            rechecks: Default::default(),
            dml_ctes: Vec::new(),
            command,
            plan: Plan::Prepare(p),
            param_types: Vec::new(),
            columns,
        });
    }
    if let Parsed::Pre(PreParsed::Explain) = &stmt.parsed {
        // The explained statement is parsed again from the text after the
        // options; its errors' positions are shifted to the client's string.
        let base = stmt.src.as_ref().map(|_| stmt.start);
        let e = explain::bind(&stmt.sql, declared_param_types, host, base)?;
        return Ok(Prepared {
            rechecks: Default::default(),
            dml_ctes: Vec::new(),
            // EXPLAIN EXECUTE's arguments are the inner statement's values.
            param_types: match e.execute_args {
                Some(_) => Vec::new(),
                None => e.inner.param_types.clone(),
            },
            plan: Plan::Explain(e),
            columns: explain::columns(),
            command: Command::Other("EXPLAIN"),
        });
    }
    if let Parsed::Ast(s) = &stmt.parsed {
        use sqlparser::ast::Statement as S;
        if matches!(s.as_ref(), S::Insert(_) | S::Update(_) | S::Delete(_)) {
            return prepare_modify(
                stmt,
                s,
                None,
                &declared,
                host,
                sequence::overriding(&stmt.sql),
            );
        }
        // `WITH ... INSERT/UPDATE/DELETE`: the WITH list, then the statement.
        if let S::Query(q) = s.as_ref() {
            use sqlparser::ast::SetExpr as E;
            if let (Some(w), E::Insert(inner) | E::Update(inner) | E::Delete(inner)) =
                (&q.with, q.body.as_ref())
            {
                return prepare_modify(
                    stmt,
                    inner,
                    Some(w),
                    &declared,
                    host,
                    sequence::overriding(&stmt.sql),
                );
            }
        }
        if merge::of(s).is_some() {
            return prepare_modify(stmt, s, None, &declared, host, None);
        }
        // ALTER TABLE whose every subcommand adds a PRIMARY KEY or UNIQUE
        // constraint is an index build (utility.rs); the rest is alter.rs's.
        let only_indexes = |at: &sqlparser::ast::AlterTable| {
            at.operations.iter().all(|op| {
                matches!(op, sqlparser::ast::AlterTableOperation::AddConstraint { constraint, .. }
                    if matches!(constraint, sqlparser::ast::TableConstraint::PrimaryKey(_)
                        | sqlparser::ast::TableConstraint::Unique(_)))
            })
        };
        if let Some(p) = match s.as_ref() {
            S::AlterTable(at) => policy::alter_table(at),
            _ => None,
        } {
            let u = utility::Utility::Policy(p);
            return Ok(Prepared {
                rechecks: Default::default(),
                dml_ctes: Vec::new(),
                command: u.command(),
                columns: Vec::new(),
                plan: Plan::Utility(u),
                param_types: declared_param_types.to_vec(),
            });
        }
        if let S::AlterTable(at) = s.as_ref() {
            if !only_indexes(at) {
                return Ok(Prepared {
                    rechecks: Default::default(),
                    dml_ctes: Vec::new(),
                    plan: Plan::Alter(alter::bind(at)?),
                    param_types: declared_param_types.to_vec(),
                    columns: Vec::new(),
                    command: Command::Other("ALTER TABLE"),
                });
            }
        }
    }
    let query = match &stmt.parsed {
        Parsed::Ast(s) => match s.as_ref() {
            sqlparser::ast::Statement::Query(q) => Some(q),
            _ => None,
        },
        Parsed::Pre(_) => None,
    };
    let Some(q) = query else {
        let u = match &stmt.parsed {
            Parsed::Ast(s) => utility::bind(s, &stmt.sql, host)
                .map_err(|e| generated::locate(e, s, stmt.src.as_deref()))?,
            Parsed::Pre(PreParsed::Reset(name)) => Utility::Reset(Some(name.clone())),
            Parsed::Pre(PreParsed::Unsupported(what)) => return Err(bind::not_supported(*what)),
            Parsed::Pre(PreParsed::Checkpoint) => Utility::Checkpoint,
            Parsed::Pre(
                PreParsed::Copy
                | PreParsed::Routine
                | PreParsed::Trigger
                | PreParsed::Explain
                | PreParsed::View
                | PreParsed::Cursor
                | PreParsed::Prepare
                | PreParsed::Rule,
            ) => {
                unreachable!("bound above")
            }
            Parsed::Pre(PreParsed::Vacuum) => vacuum::bind(&stmt.sql)?,
            Parsed::Pre(PreParsed::Lock) => lock::bind(&stmt.sql)?,
            Parsed::Pre(PreParsed::AlterLink) => {
                Utility::AlterLink(partition::parse_alter_link(&stmt.sql)?)
            }
            Parsed::Pre(PreParsed::RelOptions) => match reloptions::parse_alter(&stmt.sql) {
                Some(a) => Utility::AlterOptions(a),
                None => return Err(bind::not_supported("ALTER ... SET (...)")),
            },
            Parsed::Pre(PreParsed::SetConstraints) => fkey::bind_set_constraints(&stmt.sql)?,
            Parsed::Pre(PreParsed::Transaction) => xactstmt::parse(&stmt.sql)?,
            Parsed::Pre(PreParsed::Reindex) => {
                Utility::Reindex(maint::parse_reindex(&stmt.sql).map_err(|e| maint_error(stmt, e))?)
            }
            Parsed::Pre(PreParsed::Cluster) => {
                Utility::Cluster(maint::parse_cluster(&stmt.sql).map_err(|e| maint_error(stmt, e))?)
            }
            Parsed::Pre(PreParsed::ClusterOn) => Utility::ClusterOn(
                maint::parse_cluster_on(&stmt.sql).map_err(|e| maint_error(stmt, e))?,
            ),
            Parsed::Pre(PreParsed::Role) => Utility::Role(role::parse(&stmt.sql)?),
            Parsed::Pre(PreParsed::Comment) => Utility::Comment(comment::parse(&stmt.sql)?),
            Parsed::Pre(PreParsed::Fdw) => {
                Utility::Fdw(fdw::parse(&stmt.sql).map_err(|e| at_semicolon(stmt, e))?)
            }
            Parsed::Pre(PreParsed::Operator) => {
                Utility::Operator(operator::parse(&stmt.sql).map_err(|e| {
                    let pos = match (&stmt.src, e.position) {
                        (Some(_), Some(p)) => Some(p + stmt.start as u32),
                        _ => None,
                    };
                    at_semicolon(stmt, PgError { position: pos, ..e })
                })?)
            }
            Parsed::Pre(PreParsed::ForeignTable) => {
                Utility::ForeignTable(foreigntable::parse(&stmt.sql).map_err(|e| {
                    // Positions are in the statement's text: shifted into
                    // the client's string, dropped for server-made text.
                    let pos = match (&stmt.src, e.position) {
                        (Some(_), Some(p)) => Some(p + stmt.start as u32),
                        _ => None,
                    };
                    at_semicolon(stmt, PgError { position: pos, ..e })
                })?)
            }
            Parsed::Pre(PreParsed::TextSearch) => {
                Utility::TextSearch(tsddl::parse(&stmt.sql).map_err(|e| at_semicolon(stmt, e))?)
            }
            Parsed::Pre(PreParsed::Publication) => Utility::Publication(
                publication::parse(&stmt.sql).map_err(|e| at_semicolon(stmt, e))?,
            ),
            Parsed::Pre(PreParsed::Subscription) => Utility::Subscription(
                subscription::parse(&stmt.sql).map_err(|e| at_semicolon(stmt, e))?,
            ),
            Parsed::Pre(PreParsed::Grant) => Utility::Grant(acl::parse(&stmt.sql)?),
            Parsed::Pre(PreParsed::Sequence) => Utility::Sequence(sequence::parse(&stmt.sql)?),
            Parsed::Pre(PreParsed::Domain) => {
                Utility::Type(domain::parse(&stmt.sql).map_err(|e| {
                    // Positions are in the statement's text: shifted into
                    // the client's string, dropped for server-made text.
                    let pos = match (&stmt.src, e.position) {
                        (Some(_), Some(p)) => Some(p + stmt.start as u32),
                        _ => None,
                    };
                    e.with_position(pos)
                })?)
            }
        };
        let mut param_types: Vec<Oid> = declared_param_types.to_vec();
        for p in param_types.iter_mut() {
            if *p == 0 {
                *p = types::TEXT;
            }
        }
        return Ok(Prepared {
            rechecks: Default::default(),
            dml_ctes: Vec::new(),
            command: u.command(),
            columns: u.columns(host),
            plan: Plan::Utility(u),
            param_types,
        });
    };
    let ((plan, columns), mut binder) = bind_passes(host, &declared, |b| {
        b.src = stmt.src.clone();
        b.bind_query(q)
    })?;
    Ok(Prepared {
        rechecks: Default::default(),
        dml_ctes: std::mem::take(&mut binder.dml_ctes),
        plan: Plan::Select(Box::new(plan)),
        param_types: binder.param_oids(),
        columns,
        command: Command::Select,
    })
}

/// Binds with `bind`: a first pass learns every parameter's type from its
/// contexts; a second pass, with all types known so that every occurrence
/// agrees, runs only when the first did not have them all from the start
/// (it would bind with the same types: never for a simple Query). The
/// result and the binder that made it.
fn bind_passes<'h, T>(
    host: &'h dyn Host,
    declared: &[Option<Ty>],
    mut bind: impl FnMut(&mut Binder<'h>) -> Result<T, PgError>,
) -> Result<(T, Binder<'h>), PgError> {
    let mut first = Binder::new(host, declared.to_vec());
    let bound = bind(&mut first)?;
    if first.params.len() == declared.len() && declared.iter().all(Option::is_some) {
        return Ok((bound, first));
    }
    let mut inferred = std::mem::take(&mut first.params);
    for (i, d) in declared.iter().enumerate() {
        if let Some(d) = d {
            inferred[i] = Some(*d);
        }
    }
    let complete: Vec<Option<Ty>> = inferred
        .iter()
        .map(|t| Some(t.unwrap_or(Ty::new(types::TEXT))))
        .collect();
    let mut second = Binder::new(host, complete);
    let bound = bind(&mut second)?;
    Ok((bound, second))
}

/// Binds INSERT/UPDATE/DELETE, twice as a SELECT is (parameter types
/// learnt from every context first).
fn prepare_modify(
    stmt: &Statement,
    s: &sqlparser::ast::Statement,
    with: Option<&sqlparser::ast::With>,
    declared: &[Option<Ty>],
    host: &dyn Host,
    overriding: Option<u8>,
) -> Result<Prepared, PgError> {
    if let Some(p) = rules::rewrite(s, with, declared, host)? {
        return Ok(p);
    }
    let merge_overriding = match merge::of(s) {
        Some(_) => merge::overridings(&stmt.sql),
        None => Vec::new(),
    };
    let bind_once = |b: &mut Binder| {
        b.overriding = overriding;
        b.src = stmt.src.clone();
        let Some(w) = with else {
            return bind_modify(b, s, &merge_overriding);
        };
        let mark = b.ctes.len();
        let r = b
            .bind_with(w)
            .and_then(|_| bind_modify(b, s, &merge_overriding));
        b.ctes.truncate(mark);
        r
    };
    fn bind_modify(
        b: &mut Binder,
        s: &sqlparser::ast::Statement,
        merge_overriding: &[Option<u8>],
    ) -> Result<(modify::ModifyPlan, Vec<Column>), PgError> {
        use sqlparser::ast::Statement as S;
        if let Some((with, m)) = merge::of(s) {
            return b.bind_merge(with, m, merge_overriding);
        }
        match s {
            S::Insert(i) => b.bind_insert(i),
            S::Update(u) => b.bind_update(u),
            S::Delete(d) => b.bind_delete(d),
            _ => unreachable!("checked by the caller"),
        }
    }
    let ((plan, columns), mut binder) = bind_passes(host, declared, bind_once)?;
    Ok(Prepared {
        rechecks: Default::default(),
        dml_ctes: std::mem::take(&mut binder.dml_ctes),
        command: Command::Other(plan.tag_word()),
        plan: Plan::Modify(Box::new(plan)),
        param_types: binder.param_oids(),
        columns,
    })
}

/// Start executing a prepared statement: what a portal holds. `params`
/// must match [`Prepared::param_types`] in number. A SELECT evaluates its
/// LIMIT/OFFSET and opens its source (through `relations` for the
/// server's views) and then produces rows only as
/// [`Execution::next`] asks for them; a utility statement runs now and
/// keeps its few rows (SHOW) for `next`.
pub fn start(
    p: &Prepared,
    params: Vec<Value>,
    host: &mut dyn Host,
    relations: &dyn Relations,
) -> Result<Execution, PgError> {
    acl::recheck(&*host, &p.rechecks)?;
    // A Bind checks its count itself; this is a simple Query using `$n`,
    // which PostgreSQL answers with "there is no parameter $n".
    if params.len() < p.param_types.len() {
        return Err(PgError::error(
            sqlstate::UNDEFINED_PARAMETER,
            format!("there is no parameter ${}", params.len() + 1),
        ));
    }
    for d in &p.dml_ctes {
        d.run(&params, host, relations)?;
    }
    match &p.plan {
        Plan::Select(plan) => {
            let mut cx = expr::Ctx {
                host,
                params: &params,
            };
            let root = exec::build(plan, &mut cx, relations)?;
            let mut ex = Execution::tree(root, plan.visible, params);
            // reg* columns are shown by name (reg.rs).
            if p.columns.iter().any(|c| types::is_reg(c.type_oid)) {
                ex.name_reg_columns(p.columns.iter().map(|c| c.type_oid).collect());
            }
            Ok(ex)
        }
        Plan::Modify(m) => {
            let (rows, tag) = modify::execute(m, &params, host, relations)?;
            Ok(Execution::done(rows, tag))
        }
        Plan::Utility(u) => {
            let out = u.execute(host)?;
            Ok(Execution::done(out.rows, out.tag))
        }
        Plan::Routine(r) => {
            let out = routine::execute(r, &params, host)?;
            Ok(Execution::done(out.rows, out.tag))
        }
        Plan::Trigger(t) => {
            let out = trigger::execute(t, host)?;
            Ok(Execution::done(out.rows, out.tag))
        }
        Plan::Explain(e) => {
            let rows = explain::execute(e, &params, host, relations)?;
            Ok(Execution::done(rows, "EXPLAIN".into()))
        }
        Plan::View(v) => {
            let out = view::execute(v, host, relations)?;
            Ok(Execution::done(out.rows, out.tag))
        }
        Plan::Cursor(c) => cursor::execute(c, params, host, relations),
        Plan::Prepare(s) => prepare::execute(s, host, relations),
        Plan::Rule(r) => {
            let (rows, tag) = rules::execute(r, &params, host, relations)?;
            Ok(Execution::done(rows, tag))
        }
        Plan::Alter(a) => {
            alter::execute(a, host, relations)?;
            Ok(Execution::done(Vec::new(), "ALTER TABLE".into()))
        }
        // COPY TO runs its query here; the backend formats the rows.
        // COPY FROM's rows come through `Prepared::copy_in` instead.
        Plan::Copy(copy::CopyPlan::To(t)) => {
            let mut cx = expr::Ctx {
                host,
                params: &params,
            };
            let root = exec::build(&t.plan, &mut cx, relations)?;
            Ok(Execution::tree(root, t.plan.visible, params))
        }
        Plan::Copy(copy::CopyPlan::From(_)) => Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "COPY FROM STDIN needs the COPY protocol",
        )),
    }
}

/// Run a prepared statement to completion and collect its rows: [`start`]
/// then [`Execution::next`] until the end. For callers that want every
/// row at once (tests, tools); the backend streams instead.
pub fn execute(
    p: &Prepared,
    params: &[Value],
    host: &mut dyn Host,
    relations: &dyn Relations,
) -> Result<Outcome, PgError> {
    let mut ex = start(p, params.to_vec(), host, relations)?;
    let mut rows = Vec::new();
    while let Some(r) = ex.next(host)? {
        rows.push(r);
    }
    Ok(Outcome {
        rows,
        tag: ex.tag(),
    })
}
