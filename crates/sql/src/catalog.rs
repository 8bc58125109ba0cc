//! The catalog seam: resolving a relation name to its columns and to the
//! source its rows come from.
//!
//! Today the only relations are system views whose rows the server
//! computes (`pg_stat_activity`, opened through
//! [`Relations`](crate::Relations) as an [`ActivityScan`]). Stored tables
//! will be a second [`RelationSource`] variant, found here by name
//! (through the catalog) and scanned by a heap [`RowSource`]; everything
//! above the scan (the executor nodes in `exec.rs`) already works on any
//! source.

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::exec::{Row, RowSource};
use crate::host::ActivityRow;
use crate::types::{self, Ty};
use crate::value::Value;

/// A column of a relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: &'static str,
    pub ty: Ty,
}

/// Built-in views whose rows the host computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemView {
    StatActivity,
    StatBgWriter,
}

/// Where a relation's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationSource {
    SystemView(SystemView),
}

/// A resolved relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub schema: &'static str,
    pub name: &'static str,
    pub columns: &'static [ColumnDef],
    pub source: RelationSource,
}

const fn col(name: &'static str, oid: types::Oid) -> ColumnDef {
    ColumnDef {
        name,
        ty: Ty::new(oid),
    }
}

/// pg_stat_activity's columns, in PostgreSQL 15's order and types.
static STAT_ACTIVITY: &[ColumnDef] = &[
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
];

/// pg_stat_bgwriter's columns, in PostgreSQL 15's order and types.
static STAT_BGWRITER: &[ColumnDef] = &[
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
];

/// Find a relation by (optional schema and) name, both already
/// case-normalized. Unqualified names search pg_catalog then public, as
/// PostgreSQL's default search_path does.
pub fn lookup(schema: Option<&str>, name: &str) -> Result<Relation, PgError> {
    let in_catalog = matches!(schema, None | Some("pg_catalog"));
    if in_catalog && name == "pg_stat_activity" {
        return Ok(Relation {
            schema: "pg_catalog",
            name: "pg_stat_activity",
            columns: STAT_ACTIVITY,
            source: RelationSource::SystemView(SystemView::StatActivity),
        });
    }
    if in_catalog && name == "pg_stat_bgwriter" {
        return Ok(Relation {
            schema: "pg_catalog",
            name: "pg_stat_bgwriter",
            columns: STAT_BGWRITER,
            source: RelationSource::SystemView(SystemView::StatBgWriter),
        });
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
