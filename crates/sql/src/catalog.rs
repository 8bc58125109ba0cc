//! The catalog seam: resolving a relation name to its columns and to the
//! source its rows come from.
//!
//! Two kinds of relations: system views whose rows the server computes
//! (`pg_stat_activity`, opened through [`Relations`](crate::Relations) as
//! an [`ActivityScan`]) and stored tables ([`RelationSource::Table`]),
//! which the host finds in its catalog ([`Host::lookup_table`]) and scans
//! with a heap [`RowSource`]; everything above the scan (the executor
//! nodes in `exec.rs`) works on any source. Writing to tables goes through
//! [`Tables`], which the host implements over the storage engine.

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::exec::{Row, RowSource};
use crate::host::{ActivityRow, Host};
use crate::types::{self, Ty};
use crate::value::Value;

/// SQLSTATEs of the table commands (PostgreSQL's errcodes).
pub mod codes {
    use tusk_common::sqlstate::SqlState;
    pub const WRONG_OBJECT_TYPE: SqlState = SqlState::new("42809");
    pub const NOT_NULL_VIOLATION: SqlState = SqlState::new("23502");
    pub const DUPLICATE_TABLE: SqlState = SqlState::new("42P07");
    pub const DUPLICATE_SCHEMA: SqlState = SqlState::new("42P06");
    pub const INVALID_SCHEMA_NAME: SqlState = SqlState::new("3F000");
    pub const DEPENDENT_OBJECTS_STILL_EXIST: SqlState = SqlState::new("2BP01");
    pub const DUPLICATE_COLUMN: SqlState = SqlState::new("42701");
    pub const T_R_SERIALIZATION_FAILURE: SqlState = SqlState::new("40001");
    pub const UNDEFINED_TABLE: SqlState = tusk_common::sqlstate::UNDEFINED_TABLE;
}

/// A column of a relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    /// The declared type, with its typmod (`varchar(5)`).
    pub ty: Ty,
    pub not_null: bool,
    /// The DEFAULT expression's SQL text (pg_attrdef), evaluated at insert.
    pub default: Option<String>,
}

impl ColumnDef {
    pub fn new(name: &str, ty: Ty) -> ColumnDef {
        ColumnDef {
            name: name.to_string(),
            ty,
            not_null: false,
            default: None,
        }
    }
}

/// Built-in views whose rows the host computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemView {
    StatActivity,
    StatBgWriter,
    /// pg_stat_user_tables: the shared per-table counters joined with
    /// pg_class (tusk_storage::pgstat).
    StatUserTables,
}

/// A table stored in heap files, as the catalog describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableRef {
    /// pg_class.oid (`tableoid`).
    pub oid: u32,
    /// pg_class.relfilenode: the file under base/<db>/ (global/ if shared).
    pub relfilenode: u32,
    pub shared: bool,
    /// pg_class.relnamespace.
    pub namespace: u32,
}

/// Where a relation's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationSource {
    SystemView(SystemView),
    /// A heap table: a scan of it yields its columns followed by the
    /// system columns of [`SYSTEM_COLUMNS`], in that order.
    Table(TableRef),
}

/// A resolved relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub schema: String,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    pub source: RelationSource,
}

impl Relation {
    /// The stored table, or PostgreSQL's error for writing to anything
    /// else (42809 "cannot change relation ...").
    pub fn table(&self) -> Result<TableRef, PgError> {
        match self.source {
            RelationSource::Table(t) => Ok(t),
            RelationSource::SystemView(_) => Err(PgError::error(
                codes::WRONG_OBJECT_TYPE,
                format!("cannot change view \"{}\"", self.name),
            )),
        }
    }
}

/// The system columns a table scan appends to each row, after the
/// table's own columns (not expanded by `*`): `ctid` (as text "(b,o)"),
/// `xmin` and `xmax` (xid: the low 32 bits of the 64-bit ids) and
/// `tableoid`.
pub const SYSTEM_COLUMNS: [(&str, types::Oid); 4] = [
    ("ctid", TID),
    ("xmin", types::XID),
    ("xmax", types::XID),
    ("tableoid", types::OID),
];

/// PostgreSQL's `tid` type (a row's block and line pointer).
pub const TID: types::Oid = 27;

fn col(name: &str, oid: types::Oid) -> ColumnDef {
    ColumnDef::new(name, Ty::new(oid))
}

/// pg_stat_activity's columns, in PostgreSQL 15's order and types.
fn stat_activity() -> Vec<ColumnDef> {
    vec![
        col("datid", types::OID),
        col("datname", types::NAME),
        col("pid", types::INT4),
        col("leader_pid", types::INT4),
        col("usesysid", types::OID),
        col("usename", types::NAME),
        col("application_name", types::TEXT),
        col("client_addr", types::INET),
        col("client_hostname", types::TEXT),
        col("client_port", types::INT4),
        col("backend_start", types::TIMESTAMPTZ),
        col("xact_start", types::TIMESTAMPTZ),
        col("query_start", types::TIMESTAMPTZ),
        col("state_change", types::TIMESTAMPTZ),
        col("wait_event_type", types::TEXT),
        col("wait_event", types::TEXT),
        col("state", types::TEXT),
        // tusk assigns no transaction ids yet: the xid columns are always NULL,
        // typed xid as in PostgreSQL so clients decode them the same way.
        col("backend_xid", types::XID),
        col("backend_xmin", types::XID),
        col("query_id", types::INT8),
        col("query", types::TEXT),
        col("backend_type", types::TEXT),
    ]
}

/// pg_stat_bgwriter's columns, in PostgreSQL 15's order and types.
fn stat_bgwriter() -> Vec<ColumnDef> {
    vec![
        col("checkpoints_timed", types::INT8),
        col("checkpoints_req", types::INT8),
        col("checkpoint_write_time", types::FLOAT8),
        col("checkpoint_sync_time", types::FLOAT8),
        col("buffers_checkpoint", types::INT8),
        col("buffers_clean", types::INT8),
        col("maxwritten_clean", types::INT8),
        col("buffers_backend", types::INT8),
        col("buffers_backend_fsync", types::INT8),
        col("buffers_alloc", types::INT8),
        col("stats_reset", types::TIMESTAMPTZ),
    ]
}

/// pg_stat_user_tables' columns, in PostgreSQL 15's order and types.
pub fn stat_user_tables() -> Vec<ColumnDef> {
    let mut v = vec![
        col("relid", types::OID),
        col("schemaname", types::NAME),
        col("relname", types::NAME),
    ];
    for c in [
        "seq_scan",
        "seq_tup_read",
        "idx_scan",
        "idx_tup_fetch",
        "n_tup_ins",
        "n_tup_upd",
        "n_tup_del",
        "n_tup_hot_upd",
        "n_live_tup",
        "n_dead_tup",
        "n_mod_since_analyze",
        "n_ins_since_vacuum",
    ] {
        v.push(col(c, types::INT8));
    }
    for c in [
        "last_vacuum",
        "last_autovacuum",
        "last_analyze",
        "last_autoanalyze",
    ] {
        v.push(col(c, types::TIMESTAMPTZ));
    }
    for c in [
        "vacuum_count",
        "autovacuum_count",
        "analyze_count",
        "autoanalyze_count",
    ] {
        v.push(col(c, types::INT8));
    }
    v
}

/// Find a relation by (optional schema and) name, both already
/// case-normalized: the views the server computes first, then the
/// host's catalog (stored tables, searched along search_path).
pub fn lookup(host: &dyn Host, schema: Option<&str>, name: &str) -> Result<Relation, PgError> {
    let in_catalog = matches!(schema, None | Some("pg_catalog"));
    if in_catalog && name == "pg_stat_activity" {
        return Ok(Relation {
            schema: "pg_catalog".into(),
            name: "pg_stat_activity".into(),
            columns: stat_activity(),
            source: RelationSource::SystemView(SystemView::StatActivity),
        });
    }
    if in_catalog && name == "pg_stat_bgwriter" {
        return Ok(Relation {
            schema: "pg_catalog".into(),
            name: "pg_stat_bgwriter".into(),
            columns: stat_bgwriter(),
            source: RelationSource::SystemView(SystemView::StatBgWriter),
        });
    }
    if in_catalog && name == "pg_stat_user_tables" {
        return Ok(Relation {
            schema: "pg_catalog".into(),
            name: "pg_stat_user_tables".into(),
            columns: stat_user_tables(),
            source: RelationSource::SystemView(SystemView::StatUserTables),
        });
    }
    if let Some(r) = host.lookup_table(schema, name)? {
        return Ok(r);
    }
    let shown = match schema {
        Some(s) => format!("{s}.{name}"),
        None => name.to_string(),
    };
    Err(PgError::error(
        sqlstate::UNDEFINED_TABLE,
        format!("relation \"{shown}\" does not exist"),
    ))
}

fn opt_text(s: Option<String>) -> Value {
    s.map(Value::Text).unwrap_or(Value::Null)
}

fn opt_ts(t: Option<i64>) -> Value {
    t.map(Value::TimestampTz).unwrap_or(Value::Null)
}

/// A pg_stat_activity row, in the view's column order.
pub fn activity_row(r: ActivityRow) -> Row {
    vec![
        Value::Null,
        r.datname.map(Value::Name).unwrap_or(Value::Null),
        Value::Int4(r.pid),
        Value::Null,
        Value::Null,
        r.usename.map(Value::Name).unwrap_or(Value::Null),
        Value::Text(r.application_name),
        r.client_addr.map(Value::Inet).unwrap_or(Value::Null),
        Value::Null,
        r.client_port.map(Value::Int4).unwrap_or(Value::Null),
        opt_ts(r.backend_start),
        opt_ts(r.xact_start),
        opt_ts(r.query_start),
        // The proc array does not record when the state last
        // changed; NULL rather than a guess.
        Value::Null,
        opt_text(r.wait_event_type),
        opt_text(r.wait_event),
        opt_text(r.state),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Text(r.query),
        Value::Text(r.backend_type),
    ]
}

/// pg_stat_activity over a snapshot of the proc array the server took
/// when the scan was opened (PostgreSQL's view also reads one snapshot per
/// transaction); each row is converted only when it is fetched.
pub struct ActivityScan {
    rows: std::vec::IntoIter<ActivityRow>,
}

impl ActivityScan {
    pub fn new(rows: Vec<ActivityRow>) -> ActivityScan {
        ActivityScan {
            rows: rows.into_iter(),
        }
    }
}

impl RowSource for ActivityScan {
    fn next_row(&mut self) -> Result<Option<Row>, PgError> {
        Ok(self.rows.next().map(activity_row))
    }
    fn close(&mut self) {
        self.rows = Vec::new().into_iter();
    }
}

/// A view whose rows the host computed in full when the scan was opened
/// (pg_stat_bgwriter's one row of shared counters).
pub struct RowsScan {
    rows: std::vec::IntoIter<Row>,
}

impl RowsScan {
    pub fn new(rows: Vec<Row>) -> RowsScan {
        RowsScan {
            rows: rows.into_iter(),
        }
    }
}

impl RowSource for RowsScan {
    fn next_row(&mut self) -> Result<Option<Row>, PgError> {
        Ok(self.rows.next())
    }
    fn close(&mut self) {
        self.rows = Vec::new().into_iter();
    }
}

/// VACUUM's options (ANALYZE alone is not a vacuum).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VacuumOptions {
    pub full: bool,
    pub freeze: bool,
    pub verbose: bool,
    pub analyze: bool,
}

/// What the SQL layer asks of the host's storage: DDL and row changes of
/// stored tables, in the running transaction (the host assigns its xid
/// and command id). Called by the backend running the statement.
pub trait Tables {
    /// CREATE TABLE; `Ok(false)` when it exists and `if_not_exists` (the
    /// host has sent the NOTICE).
    fn create_table(
        &mut self,
        schema: Option<&str>,
        name: &str,
        columns: &[ColumnDef],
        if_not_exists: bool,
    ) -> Result<bool, PgError>;
    /// DROP TABLE of a resolved table.
    fn drop_table(&mut self, rel: &Relation) -> Result<(), PgError>;
    /// CREATE SCHEMA.
    fn create_schema(&mut self, name: &str, if_not_exists: bool) -> Result<(), PgError>;
    /// TRUNCATE: the table gets a new, empty file (a new relfilenode);
    /// the old one goes at commit.
    fn truncate(&mut self, rel: &Relation) -> Result<(), PgError>;
    /// CREATE DATABASE (a copy of template1).
    fn create_database(&mut self, name: &str) -> Result<(), PgError> {
        let _ = name;
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "CREATE DATABASE is not supported by this host",
        ))
    }
    /// DROP DATABASE.
    fn drop_database(&mut self, name: &str, if_exists: bool) -> Result<(), PgError> {
        let _ = (name, if_exists);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "DROP DATABASE is not supported by this host",
        ))
    }
    /// DROP SCHEMA (RESTRICT: a schema holding tables is refused).
    fn drop_schema(&mut self, name: &str, if_exists: bool) -> Result<(), PgError>;
    /// Store a new row (already coerced and checked).
    fn insert(&mut self, rel: &Relation, row: &[Value]) -> Result<(), PgError>;
    /// Replace the row version at `ctid` (as a table scan gave it) with
    /// `row`. `Ok(None)`: done. `Ok(Some(newer))`: a concurrent
    /// transaction updated the row and committed (READ COMMITTED): the
    /// newest version's columns, for the caller to re-check its WHERE
    /// clause and retry on (its ctid is among its system columns).
    /// A row deleted concurrently gives `Ok(Some(vec![]))`: skip it.
    fn update(&mut self, rel: &Relation, ctid: &str, row: &[Value])
        -> Result<Option<Row>, PgError>;
    /// Delete the row version at `ctid`; the same outcomes as `update`.
    fn delete(&mut self, rel: &Relation, ctid: &str) -> Result<Option<Row>, PgError>;
    /// VACUUM of one table, or of every table of the database (`None`);
    /// VERBOSE's INFO lines go out as notices. A host without storage
    /// maintenance refuses it.
    fn vacuum(&mut self, rel: Option<&Relation>, opts: VacuumOptions) -> Result<(), PgError> {
        let _ = (rel, opts);
        Err(PgError::error(
            tusk_common::sqlstate::FEATURE_NOT_SUPPORTED,
            "VACUUM is not supported by this host",
        ))
    }
}
