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
use crate::types::{self, Oid, Ty};
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
    pub const CHECK_VIOLATION: SqlState = SqlState::new("23514");
    pub const DUPLICATE_OBJECT: SqlState = SqlState::new("42710");
    pub const UNDEFINED_OBJECT: SqlState = SqlState::new("42704");
    pub const FOREIGN_KEY_VIOLATION: SqlState = SqlState::new("23503");
    pub const INVALID_FOREIGN_KEY: SqlState = SqlState::new("42830");
    pub const DATATYPE_MISMATCH: SqlState = SqlState::new("42804");
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
    /// pg_attribute.attidentity: `b'a'` GENERATED ALWAYS, `b'd'` BY
    /// DEFAULT AS IDENTITY (sequence.rs); None for other columns.
    pub identity: Option<u8>,
    /// The domain the column was declared as (pg_attribute.atttypid),
    /// `ty` then being its base type (crates/sql/src/domain.rs).
    pub domain: Option<Oid>,
    /// A stored generated column's expression (SQL text, kept in
    /// pg_attrdef like a default, with pg_attribute.attgenerated 's';
    /// crates/sql/src/generated.rs). Apart from `default` so that code
    /// filling defaults never mistakes it for one.
    pub generated: Option<String>,
}

impl ColumnDef {
    pub fn new(name: &str, ty: Ty) -> ColumnDef {
        ColumnDef {
            name: name.to_string(),
            ty,
            not_null: false,
            default: None,
            identity: None,
            domain: None,
            generated: None,
        }
    }
}

/// Built-in views whose rows the host computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemView {
    StatActivity,
    StatBgWriter,
    Locks,
    /// pg_authid, pg_roles, pg_user, pg_auth_members, pg_hba_file_rules:
    /// rows from the server's role store and pg_hba.conf.
    Role(RoleView),
    /// pg_stat_ssl: one row per client backend (the server's tls.rs).
    StatSsl,
    /// pg_stat_user_tables: the shared per-table counters joined with
    /// pg_class (tusk_storage::pgstat).
    StatUserTables,
    /// pg_settings: the session's settings (tusk_config).
    Settings,
    /// pg_prepared_statements, pg_cursors: the session's stores
    /// (prepare.rs, cursor.rs).
    PreparedStatements,
    Cursors,
}

/// The views over the role store (see [`role_view_columns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleView {
    Authid,
    Roles,
    User,
    AuthMembers,
    HbaFileRules,
}

/// The role views' columns in PostgreSQL 15's order and types (array
/// columns are text until tusk has arrays: rolconfig, useconfig and
/// pg_hba_file_rules' lists show as PostgreSQL's array text).
pub fn role_view_columns(v: RoleView) -> Vec<ColumnDef> {
    use types::{BOOL, INT4, NAME, OID, TEXT, TIMESTAMPTZ};
    let c = |list: &[(&str, types::Oid)]| list.iter().map(|(n, t)| col(n, *t)).collect();
    match v {
        RoleView::Authid => c(&[
            ("oid", OID),
            ("rolname", NAME),
            ("rolsuper", BOOL),
            ("rolinherit", BOOL),
            ("rolcreaterole", BOOL),
            ("rolcreatedb", BOOL),
            ("rolcanlogin", BOOL),
            ("rolreplication", BOOL),
            ("rolbypassrls", BOOL),
            ("rolconnlimit", INT4),
            ("rolpassword", TEXT),
            ("rolvaliduntil", TIMESTAMPTZ),
        ]),
        RoleView::Roles => c(&[
            ("rolname", NAME),
            ("rolsuper", BOOL),
            ("rolinherit", BOOL),
            ("rolcreaterole", BOOL),
            ("rolcreatedb", BOOL),
            ("rolcanlogin", BOOL),
            ("rolreplication", BOOL),
            ("rolconnlimit", INT4),
            ("rolpassword", TEXT),
            ("rolvaliduntil", TIMESTAMPTZ),
            ("rolbypassrls", BOOL),
            ("rolconfig", TEXT),
            ("oid", OID),
        ]),
        RoleView::User => c(&[
            ("usename", NAME),
            ("usesysid", OID),
            ("usecreatedb", BOOL),
            ("usesuper", BOOL),
            ("userepl", BOOL),
            ("usebypassrls", BOOL),
            ("passwd", TEXT),
            ("valuntil", TIMESTAMPTZ),
            ("useconfig", TEXT),
        ]),
        RoleView::AuthMembers => c(&[
            ("roleid", OID),
            ("member", OID),
            ("grantor", OID),
            ("admin_option", BOOL),
        ]),
        RoleView::HbaFileRules => c(&[
            ("line_number", INT4),
            ("type", TEXT),
            ("database", TEXT),
            ("user_name", TEXT),
            ("address", TEXT),
            ("netmask", TEXT),
            ("auth_method", TEXT),
            ("options", TEXT),
            ("error", TEXT),
        ]),
    }
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
    /// A view (relkind 'v'): no rows of its own; the binder expands its
    /// stored query ([`Relation::view_query`], crates/sql/src/view.rs).
    View(TableRef),
}

/// A CHECK constraint of a table (pg_constraint, contype 'c').
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckDef {
    pub name: String,
    /// The expression's SQL text over the table's column names, as
    /// stored in conbin (tusk keeps SQL text, not a node tree).
    pub expr: String,
    /// false for NOT VALID: new rows are checked, existing ones were not.
    pub validated: bool,
}

/// One side of a FOREIGN KEY: a table by OID and name, and its key
/// columns as live positions and names (crates/sql/src/fkey.rs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FkSide {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// Positions among the table's live columns, in the key's order.
    pub cols: Vec<usize>,
    pub col_names: Vec<String>,
}

/// A FOREIGN KEY constraint (pg_constraint, contype 'f'): `table`'s
/// `cols` reference `ref_table`'s unique `ref_cols`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// pg_constraint.oid (0 until stored).
    pub oid: u32,
    pub name: String,
    /// The referencing side (conrelid, conkey).
    pub table: FkSide,
    /// The referenced side (confrelid, confkey).
    pub ref_table: FkSide,
    /// confupdtype / confdeltype: b'a' NO ACTION, b'r' RESTRICT, b'c'
    /// CASCADE, b'n' SET NULL, b'd' SET DEFAULT.
    pub on_update: u8,
    pub on_delete: u8,
    /// confmatchtype: b's' SIMPLE, b'f' FULL.
    pub match_type: u8,
    pub deferrable: bool,
    pub deferred: bool,
    /// false for NOT VALID until VALIDATE CONSTRAINT.
    pub validated: bool,
    /// conindid: the referenced table's unique index.
    pub index: u32,
}

/// A resolved relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub schema: String,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    pub source: RelationSource,
    /// Dropped columns that still occupy a place in the stored tuples
    /// (pg_attribute.attisdropped): (position among all stored columns,
    /// from 0; the type the column had), ascending. Stored rows carry a
    /// NULL there; see [`Relation::physical_types`].
    pub dropped: Vec<(usize, types::Oid)>,
    /// CHECK constraints, checked on every stored row.
    pub checks: Vec<CheckDef>,
    /// FOREIGN KEYs of this table (it is the referencing side).
    pub foreign_keys: Vec<ForeignKey>,
    /// FOREIGN KEYs of any table that reference this one.
    pub referenced_by: Vec<ForeignKey>,
    /// The FROM item's alias as written (`FROM t t1`), which EXPLAIN
    /// shows; None without one.
    pub alias: Option<String>,
    /// A view's or materialized view's query text (pg_rewrite.ev_action).
    pub view_query: Option<String>,
    /// pg_class.relowner.
    pub owner: u32,
    /// pg_class.relacl in its stored text form (crates/sql/src/acl.rs);
    /// None: the owner's defaults.
    pub acl: Option<String>,
    /// pg_attribute.attacl of the columns that have one: (attnum, stored
    /// ACL). A column's NULL ACL grants nothing beyond the table's.
    pub col_acls: Vec<(i16, String)>,
    /// pg_class.relkind (b'r' table, b'v' view, b'S' sequence, ...).
    pub relkind: u8,
    /// The tables inheriting from this one, all levels, breadth first
    /// (crates/sql/src/inherit.rs): a scan of this relation reads them
    /// too unless the query said ONLY. Empty for a table without any.
    pub children: Vec<InheritChild>,
    /// A partitioned table's key (pg_partitioned_table; partition.rs).
    pub partkey: Option<Box<PartKey>>,
    /// A partition's bound as pg_get_expr prints it (relpartbound).
    pub partbound: Option<Box<str>>,
    /// Row-level security (crates/sql/src/policy.rs): Some when
    /// pg_class.relrowsecurity is set, with FORCE and the table's
    /// pg_policy rows; None when the table's rows are not filtered.
    pub rls: Option<Box<crate::policy::Rls>>,
}

/// The partition key of a partitioned table: the strategy (b'r' range,
/// b'l' list, b'h' hash) and its items.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartKey {
    pub strategy: u8,
    pub keys: Vec<PartKeyCol>,
}

/// A partition key item: a live column's position, or an expression's
/// SQL text over the table's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartKeyCol {
    Column(usize),
    Expr(String),
}

/// The [`InheritChild::map`] entry of a column the descendant lacks.
pub const INHERIT_ABSENT: usize = usize::MAX;

/// A descendant of a scanned table (INHERITS): its relation (without
/// children of its own: the list is flat) and, for each column of the
/// ancestor, the position of the column of that name in the descendant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InheritChild {
    pub rel: Relation,
    pub map: Vec<usize>,
    /// The name of the parent it was found through (DROP's DETAIL).
    pub parent: String,
}

impl Relation {
    /// A relation with no dropped columns and no constraints.
    pub fn new(schema: &str, name: &str, columns: Vec<ColumnDef>, source: RelationSource) -> Self {
        Relation {
            schema: schema.to_string(),
            name: name.to_string(),
            columns,
            source,
            dropped: Vec::new(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            referenced_by: Vec::new(),
            alias: None,
            view_query: None,
            owner: crate::acl::BOOTSTRAP_SUPERUSER,
            acl: None,
            col_acls: Vec::new(),
            relkind: b'r',
            children: Vec::new(),
            partkey: None,
            partbound: None,
            rls: None,
        }
    }

    /// pg_attribute.attnum of live column `live` (dropped columns keep
    /// their numbers).
    pub fn attnum(&self, live: usize) -> i16 {
        let mut phys = live;
        for &(pos, _) in &self.dropped {
            if pos <= phys {
                phys += 1;
            }
        }
        (phys + 1) as i16
    }

    /// The types of the stored tuple's attributes: the live columns with
    /// the dropped ones in their old places.
    pub fn physical_types(&self) -> Vec<types::Oid> {
        let mut out: Vec<types::Oid> = self.columns.iter().map(|c| c.ty.oid).collect();
        for &(pos, ty) in &self.dropped {
            out.insert(pos.min(out.len()), ty);
        }
        out
    }

    /// A row of live columns as it is stored: NULL in each dropped place.
    pub fn to_physical<'r>(&self, row: &'r [Value]) -> std::borrow::Cow<'r, [Value]> {
        if self.dropped.is_empty() {
            return std::borrow::Cow::Borrowed(row);
        }
        let mut out = row.to_vec();
        for &(pos, _) in &self.dropped {
            out.insert(pos.min(out.len()), Value::Null);
        }
        std::borrow::Cow::Owned(out)
    }

    /// A stored row without its dropped columns.
    pub fn from_physical(&self, mut row: Vec<Value>) -> Vec<Value> {
        for &(pos, _) in self.dropped.iter().rev() {
            if pos < row.len() {
                row.remove(pos);
            }
        }
        row
    }

    /// The stored table, or PostgreSQL's error for writing to anything
    /// else (42809 "cannot change relation ...").
    pub fn table(&self) -> Result<TableRef, PgError> {
        match self.source {
            RelationSource::Table(t) => Ok(t),
            RelationSource::SystemView(_) => Err(PgError::error(
                codes::WRONG_OBJECT_TYPE,
                format!("cannot change view \"{}\"", self.name),
            )),
            RelationSource::View(_) => Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("cannot change view \"{}\"", self.name),
            )
            .with_detail("Views that are not updatable are not supported yet.")),
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

/// pg_stat_ssl's columns, in PostgreSQL 15's order and types.
pub fn stat_ssl() -> Vec<ColumnDef> {
    vec![
        col("pid", types::INT4),
        col("ssl", types::BOOL),
        col("version", types::TEXT),
        col("cipher", types::TEXT),
        col("bits", types::INT4),
        col("client_dn", types::TEXT),
        col("client_serial", types::NUMERIC),
        col("issuer_dn", types::TEXT),
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

/// pg_locks' columns, in PostgreSQL 15's order and types.
fn locks() -> Vec<ColumnDef> {
    vec![
        col("locktype", types::TEXT),
        col("database", types::OID),
        col("relation", types::OID),
        col("page", types::INT4),
        col("tuple", types::INT2),
        col("virtualxid", types::TEXT),
        col("transactionid", types::XID),
        col("classid", types::OID),
        col("objid", types::OID),
        col("objsubid", types::INT2),
        col("virtualtransaction", types::TEXT),
        col("pid", types::INT4),
        col("mode", types::TEXT),
        col("granted", types::BOOL),
        col("fastpath", types::BOOL),
        col("waitstart", types::TIMESTAMPTZ),
    ]
}

/// One pg_locks row as the host reads it from the lock table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRow {
    pub locktype: &'static str,
    pub database: Option<u32>,
    pub relation: Option<u32>,
    /// The low 32 bits of a transaction id lock's xid (the `xid` type).
    pub transactionid: Option<u32>,
    /// Object and advisory locks' keys (an advisory bigint key as its
    /// high and low halves with objsubid 1, two int4 keys with 2).
    pub classid: Option<u32>,
    pub objid: Option<u32>,
    pub objsubid: Option<i16>,
    pub pid: i32,
    pub mode: &'static str,
    pub granted: bool,
}

/// A pg_locks row, in the view's column order.
pub fn lock_row(r: LockRow) -> Row {
    let oid = |v: Option<u32>| v.map(Value::Oid).unwrap_or(Value::Null);
    vec![
        Value::Text(r.locktype.into()),
        oid(r.database),
        oid(r.relation),
        Value::Null,
        Value::Null,
        Value::Null,
        oid(r.transactionid),
        oid(r.classid),
        oid(r.objid),
        r.objsubid.map(Value::Int2).unwrap_or(Value::Null),
        Value::Null,
        Value::Int4(r.pid),
        Value::Text(r.mode.into()),
        Value::Bool(r.granted),
        Value::Bool(false),
        Value::Null,
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

/// pg_settings' columns, in PostgreSQL 15's order and types.
pub fn settings_columns() -> Vec<ColumnDef> {
    let mut v: Vec<ColumnDef> = [
        "name",
        "setting",
        "unit",
        "category",
        "short_desc",
        "extra_desc",
        "context",
        "vartype",
        "source",
        "min_val",
        "max_val",
    ]
    .iter()
    .map(|n| col(n, types::TEXT))
    .collect();
    v.push(col("enumvals", 1009));
    for n in ["boot_val", "reset_val", "sourcefile"] {
        v.push(col(n, types::TEXT));
    }
    v.push(col("sourceline", types::INT4));
    v.push(col("pending_restart", types::BOOL));
    v
}

/// The view the server computes under pg_catalog's `name`, if any.
pub fn system_view(name: &str) -> Option<SystemView> {
    Some(match name {
        "pg_stat_activity" => SystemView::StatActivity,
        "pg_stat_bgwriter" => SystemView::StatBgWriter,
        "pg_locks" => SystemView::Locks,
        "pg_authid" => SystemView::Role(RoleView::Authid),
        "pg_roles" => SystemView::Role(RoleView::Roles),
        "pg_user" => SystemView::Role(RoleView::User),
        "pg_auth_members" => SystemView::Role(RoleView::AuthMembers),
        "pg_hba_file_rules" => SystemView::Role(RoleView::HbaFileRules),
        "pg_stat_ssl" => SystemView::StatSsl,
        "pg_stat_user_tables" => SystemView::StatUserTables,
        "pg_settings" => SystemView::Settings,
        "pg_prepared_statements" => SystemView::PreparedStatements,
        "pg_cursors" => SystemView::Cursors,
        _ => return None,
    })
}

impl SystemView {
    /// The view's columns in PostgreSQL 15's order and types.
    pub fn columns(self) -> Vec<ColumnDef> {
        match self {
            SystemView::StatActivity => stat_activity(),
            SystemView::StatBgWriter => stat_bgwriter(),
            SystemView::Locks => locks(),
            SystemView::Role(v) => role_view_columns(v),
            SystemView::StatSsl => stat_ssl(),
            SystemView::StatUserTables => stat_user_tables(),
            SystemView::Settings => settings_columns(),
            SystemView::PreparedStatements => vec![
                col("name", types::TEXT),
                col("statement", types::TEXT),
                col("prepare_time", types::TIMESTAMPTZ),
                col("parameter_types", 1009),
                col("from_sql", types::BOOL),
                col("generic_plans", types::INT8),
                col("custom_plans", types::INT8),
            ],
            SystemView::Cursors => vec![
                col("name", types::TEXT),
                col("statement", types::TEXT),
                col("is_holdable", types::BOOL),
                col("is_binary", types::BOOL),
                col("is_scrollable", types::BOOL),
                col("creation_time", types::TIMESTAMPTZ),
            ],
        }
    }
}

/// Find a relation by (optional schema and) name, both already
/// case-normalized: the views the server computes first, then the
/// host's catalog (stored tables, searched along search_path).
pub fn lookup(host: &dyn Host, schema: Option<&str>, name: &str) -> Result<Relation, PgError> {
    let in_catalog = matches!(schema, None | Some("pg_catalog"));
    if in_catalog {
        if let Some(view) = system_view(name) {
            return Ok(Relation::new(
                "pg_catalog",
                name,
                view.columns(),
                RelationSource::SystemView(view),
            ));
        }
    }
    if in_catalog || schema == Some("information_schema") {
        if let Some(r) = crate::sysviews::lookup(schema, name) {
            return Ok(r);
        }
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
    /// This session's temporary schema (pg_temp_N) once it has one.
    fn my_temp_namespace(&self) -> Option<u32> {
        None
    }
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
    /// Records that table `child` inherits from `parents` (in order):
    /// pg_inherits rows and the parents' relhassubclass (inherit.rs).
    fn set_inheritance(&mut self, child: u32, parents: &[u32]) -> Result<(), PgError> {
        let _ = (child, parents);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "table inheritance is not supported",
        ))
    }
    /// Removes the pg_inherits row of `child` under `parent` (DETACH
    /// PARTITION, NO INHERIT).
    fn remove_inheritance(&mut self, child: u32, parent: u32) -> Result<(), PgError> {
        let _ = (child, parent);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "table inheritance is not supported",
        ))
    }
    /// Makes table `rel` partitioned by `key` (relkind 'p', its
    /// pg_partitioned_table row; partition.rs).
    fn set_partitioned(&mut self, rel: u32, key: &PartKey) -> Result<(), PgError> {
        let _ = (rel, key);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "partitioned tables are not supported",
        ))
    }
    /// Marks table `rel` a partition with bound text `bound`
    /// (relispartition, relpartbound), or no longer one (None: DETACH).
    fn set_partition_bound(&mut self, rel: u32, bound: Option<&str>) -> Result<(), PgError> {
        let _ = (rel, bound);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "partitioned tables are not supported",
        ))
    }
    /// Stores `acl` (acl.rs's stored text form) as `rel`'s pg_class.relacl.
    fn set_relacl(&mut self, rel: &Relation, acl: &str) -> Result<(), PgError> {
        let _ = (rel, acl);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "GRANT is not supported by this host",
        ))
    }
    /// Stores `acl` (acl.rs's stored text form) in the ACL column of the
    /// row `oid` of catalog `catalog` (pg_namespace.nspacl, pg_proc.proacl,
    /// pg_type.typacl, pg_database.datacl).
    fn set_object_acl(&mut self, catalog: u32, oid: u32, acl: &str) -> Result<(), PgError> {
        let _ = (catalog, oid, acl);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "GRANT is not supported by this host",
        ))
    }
    /// Writes ALTER DEFAULT PRIVILEGES' list for (role, schema or 0,
    /// object type) into pg_default_acl; None removes the row.
    fn set_default_acl(
        &mut self,
        role: u32,
        nsp: u32,
        objtype: u8,
        acl: Option<&str>,
    ) -> Result<(), PgError> {
        let _ = (role, nsp, objtype, acl);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "ALTER DEFAULT PRIVILEGES is not supported by this host",
        ))
    }
    /// Stores `items` as pg_class.reloptions of relation `oid` (empty:
    /// NULL); reloptions.rs has checked them.
    fn set_reloptions(&mut self, oid: u32, items: &[String]) -> Result<(), PgError> {
        let _ = (oid, items);
        Err(crate::bind::not_supported("storage parameters"))
    }
    /// Sets pg_attribute.attstattarget (Some) and/or attoptions (Some;
    /// empty: NULL) of column `attnum` of relation `rel`.
    fn set_column_options(
        &mut self,
        rel: u32,
        attnum: i16,
        stattarget: Option<i32>,
        options: Option<&[String]>,
    ) -> Result<(), PgError> {
        let _ = (rel, attnum, stattarget, options);
        Err(crate::bind::not_supported("column options"))
    }
    /// Sets pg_attribute.attstorage of column `attnum` of relation `rel`.
    fn set_column_storage(&mut self, rel: u32, attnum: i16, storage: u8) -> Result<(), PgError> {
        let _ = (rel, attnum, storage);
        Err(crate::bind::not_supported("SET STORAGE"))
    }
    /// Stores `acl` as pg_attribute.attacl of column `attnum` of `rel`.
    fn set_column_acl(&mut self, rel: &Relation, attnum: i16, acl: &str) -> Result<(), PgError> {
        let _ = (rel, attnum, acl);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "GRANT is not supported by this host",
        ))
    }
    /// CREATE [OR REPLACE] VIEW, CREATE MATERIALIZED VIEW (view.rs):
    /// pg_class, pg_attribute, pg_rewrite and pg_depend rows (a
    /// materialized view also a heap file). A view is dropped by
    /// `drop_table`.
    fn create_view(&mut self, def: &crate::view::ViewDef) -> Result<(), PgError> {
        let _ = def;
        Err(crate::bind::not_supported("views"))
    }
    /// (schema, name) of the views and materialized views whose query
    /// names relation `oid` (pg_depend rows of their rules).
    fn dependent_views(&mut self, oid: u32) -> Result<Vec<(String, String)>, PgError> {
        let _ = oid;
        Ok(Vec::new())
    }
    /// A new OID for a catalog row the SQL layer inserts itself (fdw.rs:
    /// wrappers, servers, user mappings), from the cluster's counter.
    fn new_catalog_oid(&mut self) -> Result<u32, PgError> {
        Err(PgError::error(
            tusk_common::sqlstate::FEATURE_NOT_SUPPORTED,
            "no catalog OIDs in this host",
        ))
    }
    /// CREATE SCHEMA.
    fn create_schema(&mut self, name: &str, if_not_exists: bool) -> Result<(), PgError>;
    /// TRUNCATE: the table gets a new, empty file (a new relfilenode);
    /// the old one goes at commit.
    fn truncate(&mut self, rel: &Relation) -> Result<(), PgError>;
    /// LOCK TABLE: resolves the table taking lock mode `mode` (1 =
    /// ACCESS SHARE ... 8 = ACCESS EXCLUSIVE) and no other, held until the
    /// transaction ends; `nowait`: 55P03 at once instead of waiting.
    /// Returns the relation locked.
    fn lock_table(
        &mut self,
        schema: Option<&str>,
        name: &str,
        mode: u8,
        nowait: bool,
    ) -> Result<Relation, PgError> {
        let _ = (schema, name, mode, nowait);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "LOCK TABLE is not supported by this host",
        ))
    }
    /// 25P01 "<what> can only be used in transaction blocks" outside a
    /// transaction block (PostgreSQL's RequireTransactionBlock).
    fn require_transaction_block(&self, what: &str) -> Result<(), PgError> {
        let _ = what;
        Ok(())
    }
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
    /// Store many new rows (each already coerced and checked), as `insert`
    /// of each in turn would: a host may fill whole pages at a time (COPY
    /// and INSERT ... SELECT, through crate::bulk). On failure, the index
    /// of the row that failed, with its error.
    fn insert_many(&mut self, rel: &Relation, rows: &[Row]) -> Result<(), (usize, PgError)> {
        for (i, r) in rows.iter().enumerate() {
            self.insert(rel, r).map_err(|e| (i, e))?;
        }
        Ok(())
    }
    /// INSERT ... ON CONFLICT: stores `row` (coerced and checked) unless
    /// a live row has an equal key in one of the unique indexes
    /// `arbiters` (all of the table's unique indexes when empty); a
    /// running transaction that inserted or deleted such a key is waited
    /// for first. `Ok(None)`: stored, with its index entries. `Ok(Some((
    /// row, same_command)))`: the conflicting row (columns then system
    /// columns) and whether this very command inserted it.
    fn insert_unless_conflict(
        &mut self,
        rel: &Relation,
        row: &[Value],
        arbiters: &[u32],
    ) -> Result<Option<(Row, bool)>, PgError> {
        let _ = (rel, row, arbiters);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "INSERT ... ON CONFLICT is not supported by this host",
        ))
    }
    /// The index behind `rel`'s PRIMARY KEY or UNIQUE constraint `name`
    /// (ON CONFLICT ON CONSTRAINT); None when no such constraint exists.
    fn constraint_index(&mut self, rel: &Relation, name: &str) -> Result<Option<u32>, PgError> {
        let _ = (rel, name);
        Ok(None)
    }
    /// The unique indexes of `rel` for ON CONFLICT's inference: (index
    /// OID, index name = constraint name, key columns as live positions).
    fn unique_indexes(
        &mut self,
        rel: &Relation,
    ) -> Result<Vec<(u32, String, Vec<usize>)>, PgError> {
        let _ = rel;
        Ok(Vec::new())
    }
    /// The partial and expression unique indexes of `rel`, for ON
    /// CONFLICT's inference: (index OID, key columns as live positions
    /// with crate::index::NO_COLUMN for an expression, the expressions
    /// and the predicate as stored in pg_index).
    #[allow(clippy::type_complexity)]
    fn computed_unique_indexes(
        &mut self,
        rel: &Relation,
    ) -> Result<Vec<(u32, Vec<usize>, Vec<String>, Option<String>)>, PgError> {
        let _ = rel;
        Ok(Vec::new())
    }
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
    /// Locks the row version at `ctid` of `rel` in `strength` for the
    /// running transaction (SELECT FOR UPDATE/SHARE, and what foreign-key
    /// checks call with FOR KEY SHARE), waiting for a conflicting holder
    /// unless `wait` says to skip or fail (55P03). See
    /// [`crate::rowlock::RowLockOutcome`] for what comes back.
    fn lock_row(
        &mut self,
        rel: &Relation,
        ctid: &str,
        strength: crate::rowlock::RowLockStrength,
        wait: crate::rowlock::RowLockWait,
    ) -> Result<crate::rowlock::RowLockOutcome, PgError> {
        let _ = (rel, ctid, strength, wait);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "row locks are not supported by this host",
        ))
    }
    /// The RowShareLock a locking SELECT takes on each table it locks
    /// rows of, held until the transaction ends.
    fn row_share_lock(&mut self, rel: &Relation) -> Result<(), PgError> {
        let _ = rel;
        Ok(())
    }
    /// CREATE INDEX, a PRIMARY KEY or a UNIQUE constraint on `rel`: the
    /// catalog rows and a sorted build over the table's rows. `Ok(false)`:
    /// it exists and `spec.if_not_exists` (the host sent the NOTICE).
    fn create_index(
        &mut self,
        rel: &Relation,
        spec: &crate::index::IndexSpec,
    ) -> Result<bool, PgError> {
        let _ = (rel, spec);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "indexes are not supported by this host",
        ))
    }
    /// DROP INDEX (an index that backs a constraint is refused, 2BP01).
    fn drop_index(
        &mut self,
        schema: Option<&str>,
        name: &str,
        if_exists: bool,
    ) -> Result<(), PgError> {
        let _ = (schema, name, if_exists);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "indexes are not supported by this host",
        ))
    }
    /// REINDEX in all its forms: each index rebuilt into a new file.
    fn reindex(&mut self, target: &crate::maint::ReindexTarget) -> Result<(), PgError> {
        let _ = target;
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "indexes are not supported by this host",
        ))
    }
    /// CLUSTER: the table rewritten in the order of an index.
    fn cluster(&mut self, c: &crate::maint::Cluster) -> Result<(), PgError> {
        let _ = c;
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "CLUSTER is not supported by this host",
        ))
    }
    /// ALTER TABLE ... CLUSTER ON / SET WITHOUT CLUSTER
    /// (pg_index.indisclustered).
    fn cluster_on(&mut self, c: &crate::maint::ClusterOn) -> Result<(), PgError> {
        let _ = c;
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "CLUSTER is not supported by this host",
        ))
    }
    /// One ALTER TABLE subcommand's catalog change on `rel` (as resolved
    /// after the previous subcommand), under an AccessExclusiveLock the
    /// host takes; the rows are the SQL layer's (`alter.rs`).
    fn alter_table(&mut self, rel: &Relation, op: &crate::alter::AlterOp) -> Result<(), PgError> {
        let _ = (rel, op);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "ALTER TABLE is not supported by this host",
        ))
    }
    /// Replace every row of `rel` with `rows` (live columns of `rel`'s
    /// current layout) in a new file, as TRUNCATE swaps files: the old
    /// file goes at commit, the new one at abort.
    fn rewrite_table(&mut self, rel: &Relation, rows: &[Row]) -> Result<(), PgError> {
        let _ = (rel, rows);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "table rewrites are not supported by this host",
        ))
    }
    /// CREATE/ALTER/DROP SEQUENCE (sequence.rs): the catalog rows and the
    /// sequence's page.
    fn sequence_command(&mut self, stmt: &crate::sequence::SeqStmt) -> Result<(), PgError> {
        let _ = stmt;
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "sequences are not supported by this host",
        ))
    }
    /// CREATE TYPE ... AS ENUM, ALTER TYPE, DROP TYPE (usertype.rs): the
    /// pg_type and pg_enum rows.
    fn type_command(&mut self, cmd: &crate::usertype::TypeCmd) -> Result<(), PgError> {
        Err(crate::bind::not_supported(cmd.tag()))
    }
    /// The unique indexes of `rel` usable as a FOREIGN KEY's target:
    /// (index OID, is the primary key, key columns as live positions).
    fn unique_keys(&mut self, rel: &Relation) -> Result<Vec<(u32, bool, Vec<usize>)>, PgError> {
        let _ = rel;
        Ok(Vec::new())
    }
    /// Stores FOREIGN KEY `fk` of `rel` (its pg_constraint row; both
    /// tables marked relhastriggers so that their lookups read it).
    fn add_foreign_key(&mut self, rel: &Relation, fk: &ForeignKey) -> Result<(), PgError> {
        let _ = (rel, fk);
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "foreign keys are not supported by this host",
        ))
    }
    /// The heavyweight lock that stands in for PostgreSQL's FOR KEY SHARE
    /// row lock (see crates/sql/src/fkey.rs `lock_referenced_row`):
    /// `exclusive` false for a referencing insert/update, true for a
    /// delete or key update of the referenced row; held to the end of
    /// the transaction.
    fn lock_referenced_key(
        &mut self,
        ref_table: u32,
        key_hash: u64,
        exclusive: bool,
    ) -> Result<(), PgError> {
        let _ = (ref_table, key_hash, exclusive);
        Ok(())
    }
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

/// A user-defined function or procedure, as its pg_proc row describes it
/// (routine.rs creates and calls it; the host stores and finds it).
#[derive(Debug, Clone, PartialEq)]
pub struct FuncDef {
    /// pg_proc.oid (0 until stored).
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// pg_proc.prokind: `b'f'` function, `b'p'` procedure.
    pub kind: u8,
    /// The input arguments' types (proargtypes).
    pub arg_types: Vec<types::Oid>,
    /// The input arguments' names, `""` for an unnamed one.
    pub arg_names: Vec<String>,
    /// SQL text of the defaults of the last `defaults.len()` inputs.
    pub defaults: Vec<String>,
    /// prorettype: `void` for a procedure, `record` for RETURNS TABLE
    /// of several columns.
    pub ret: types::Oid,
    /// proretset: SETOF / RETURNS TABLE.
    pub retset: bool,
    /// RETURNS TABLE's columns (name, type): proargmodes 't'; or the
    /// columns of a table named as the result type (mode 'r', tusk's own:
    /// it has no composite types in pg_type yet).
    pub out_cols: Vec<(String, types::Oid)>,
    /// Whether `out_cols` are also PL/pgSQL variables (RETURNS TABLE).
    pub out_vars: bool,
    /// `sql` or `plpgsql`.
    pub language: String,
    /// prosrc: the body as written.
    pub src: String,
    pub strict: bool,
    /// provolatile: `b'i'`, `b's'` or `b'v'`.
    pub volatility: u8,
    /// proowner (0 until stored: the creating role).
    pub owner: u32,
    /// proacl in acl.rs's stored text form; None is the default (the
    /// owner and PUBLIC may execute).
    pub acl: Option<String>,
    /// What CREATE/ALTER FUNCTION set beyond what a call reads.
    pub attrs: ProcAttrs,
    /// provariadic: the element type of a last VARIADIC parameter (whose
    /// declared type is its array), 0 when there is none.
    pub variadic: types::Oid,
}

/// The pg_proc attributes that CREATE and ALTER FUNCTION set and the
/// catalog shows (pg_get_functiondef, \df+), kept apart from the fields
/// a call needs so that routines built in code can take the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcAttrs {
    /// prosecdef (SECURITY DEFINER).
    pub secdef: bool,
    pub leakproof: bool,
    /// procost.
    pub cost: f32,
    /// prorows (0 unless the routine returns a set).
    pub rows: f32,
    /// proparallel: `b's'`, `b'r'` or `b'u'`.
    pub parallel: u8,
    /// proconfig: `name=value` settings applied during a call.
    pub config: Vec<String>,
    /// Whether `src` is a SQL-standard body (`RETURN expr` / `BEGIN
    /// ATOMIC ... END`): kept in prosqlbody, prosrc left empty.
    pub sqlbody: bool,
    /// Every parameter in declaration order as (proargmodes mode, name,
    /// type) when any is OUT, INOUT or VARIADIC (empty otherwise; RETURNS
    /// TABLE's columns are `out_cols`).
    pub params: Vec<(u8, String, types::Oid)>,
}

impl Default for ProcAttrs {
    fn default() -> Self {
        ProcAttrs {
            secdef: false,
            leakproof: false,
            cost: 100.0,
            rows: 0.0,
            parallel: b'u',
            config: Vec::new(),
            sqlbody: false,
            params: Vec::new(),
        }
    }
}

impl FuncDef {
    /// `name(integer, text)` as PostgreSQL's format_procedure shows it
    /// in messages and CONTEXT lines.
    pub fn signature(&self) -> String {
        let args: Vec<String> = self.arg_types.iter().map(|&t| types::sql_name(t)).collect();
        format!("{}({})", self.name, args.join(", "))
    }

    /// `name(integer,text)`: the form of PL/pgSQL's CONTEXT lines
    /// (format_procedure without spaces, as PostgreSQL prints it there).
    pub fn context_signature(&self) -> String {
        let args: Vec<String> = self.arg_types.iter().map(|&t| types::sql_name(t)).collect();
        format!("{}({})", self.name, args.join(","))
    }
}

/// What the SQL layer asks of the host's catalog for routines: store,
/// replace and drop pg_proc rows in the running transaction. Called by
/// the backend running CREATE/DROP FUNCTION.
pub trait Routines {
    /// CREATE [OR REPLACE] FUNCTION/PROCEDURE; `schema` None: the
    /// creation schema of search_path.
    fn create_routine(
        &mut self,
        schema: Option<&str>,
        def: &FuncDef,
        replace: bool,
    ) -> Result<(), PgError>;
    /// DROP FUNCTION/PROCEDURE of one stored routine (by its oid).
    fn drop_routine(&mut self, def: &FuncDef) -> Result<(), PgError>;
    /// ALTER FUNCTION: store `new` in place of `old` (same oid);
    /// `schema` moves it to that schema (SET SCHEMA). Refuses a name and
    /// signature already taken in the target schema.
    fn alter_routine(
        &mut self,
        old: &FuncDef,
        new: &FuncDef,
        schema: Option<&str>,
    ) -> Result<(), PgError>;
}
