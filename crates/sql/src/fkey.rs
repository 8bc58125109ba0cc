//! FOREIGN KEY constraints: their definition (CREATE TABLE, ALTER TABLE ADD), the check of existing rows, and their enforcement on INSERT, UPDATE and DELETE.
//!
//! Why this shape:
//! - **Checks are SQL statements run through this crate**, as PostgreSQL's
//!   RI triggers run theirs through SPI: "is the key present in the
//!   referenced table" is `SELECT 1 FROM p WHERE id = $1`, CASCADE is
//!   `DELETE FROM c WHERE pid = $1`, SET NULL an UPDATE. The referenced
//!   side's unique index makes the lookup an index scan, and a cascaded
//!   change goes through the same modify path (its own constraints, its
//!   own cascades) as a statement the user wrote.
//! - **At the end of the statement**, as PostgreSQL's AFTER ROW triggers
//!   fire: [`modify::execute`](crate::modify) queues one [`Check`] per
//!   changed row and [`run_pending`] runs them after a command counter
//!   increment, with a fresh snapshot, so a statement that inserts the
//!   parent after the child (or deletes and re-inserts a key) is judged
//!   on its result. DEFERRABLE INITIALLY DEFERRED checks wait for COMMIT
//!   ([`at_commit`]); outside a transaction block the statement's end is
//!   its commit.
//! - **Concurrency through one lock function.** PostgreSQL locks the
//!   referenced row FOR KEY SHARE so that a concurrent delete of it waits.
//!   Until tuple locks exist, [`lock_referenced_row`] takes a heavyweight
//!   lock on (referenced table, hash of the key) through
//!   [`Tables::lock_referenced_key`](crate::Tables::lock_referenced_key):
//!   shared by a referencing insert/update, exclusive by a delete or key
//!   update of the referenced row, held to the transaction's end, taken
//!   before the check's snapshot. So the second of two such transactions
//!   waits for the first and then sees its committed result.
//!
//! Called only by the backend running the statement.

use std::cell::RefCell;

use sqlparser::ast;
use tusk_common::{sqlstate, PgError};

use crate::bind::{ident_name, not_supported};
use crate::catalog::{self, codes, FkSide, ForeignKey, Relation};
use crate::exec::Row;
use crate::host::Host;
use crate::types::{self, Oid};
use crate::value::{encode_text, Value};

/// A FOREIGN KEY as written, names unresolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FkSpec {
    pub name: Option<String>,
    pub cols: Vec<String>,
    pub ref_schema: Option<String>,
    pub ref_table: String,
    pub ref_cols: Vec<String>,
    pub on_update: u8,
    pub on_delete: u8,
    pub match_type: u8,
    pub deferrable: bool,
    pub deferred: bool,
}

fn action(a: &Option<ast::ReferentialAction>) -> u8 {
    match a {
        None | Some(ast::ReferentialAction::NoAction) => b'a',
        Some(ast::ReferentialAction::Restrict) => b'r',
        Some(ast::ReferentialAction::Cascade) => b'c',
        Some(ast::ReferentialAction::SetNull) => b'n',
        Some(ast::ReferentialAction::SetDefault) => b'd',
    }
}

/// A FOREIGN KEY table constraint, or a column's REFERENCES (`column`:
/// that column, the constraint's only one).
pub(crate) fn spec(
    c: &ast::ForeignKeyConstraint,
    column: Option<&str>,
    name: Option<&ast::Ident>,
) -> Result<FkSpec, PgError> {
    let parts: Vec<String> = c
        .foreign_table
        .0
        .iter()
        .map(|p| match p {
            ast::ObjectNamePart::Identifier(i) => Ok(ident_name(i)),
            ast::ObjectNamePart::Function(_) => Err(not_supported("REFERENCES of a function")),
        })
        .collect::<Result<_, _>>()?;
    let (ref_schema, ref_table) = match parts.as_slice() {
        [t] => (None, t.clone()),
        [s, t] => (Some(s.clone()), t.clone()),
        _ => {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                format!(
                    "improper relation name (too many dotted names): {}",
                    c.foreign_table
                ),
            ))
        }
    };
    let match_type = match c.match_kind {
        None | Some(ast::ConstraintReferenceMatchKind::Simple) => b's',
        Some(ast::ConstraintReferenceMatchKind::Full) => b'f',
        Some(ast::ConstraintReferenceMatchKind::Partial) => {
            return Err(not_supported("MATCH PARTIAL"))
        }
    };
    let (mut deferrable, mut deferred) = (false, false);
    if let Some(ch) = &c.characteristics {
        // PostgreSQL 15 has no [NOT] ENFORCED (18 has).
        if ch.enforced.is_some() {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                "syntax error at or near \"ENFORCED\"",
            ));
        }
        if let Some(d) = ch.deferrable {
            deferrable = d;
        }
        if let Some(i) = ch.initially {
            deferred = i == ast::DeferrableInitial::Deferred;
            if deferred && ch.deferrable == Some(false) {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    "constraint declared INITIALLY DEFERRED must be DEFERRABLE",
                ));
            }
            if deferred {
                deferrable = true;
            }
        }
    }
    Ok(FkSpec {
        name: c.name.as_ref().or(name).map(ident_name),
        cols: match column {
            Some(col) => vec![col.to_string()],
            None => c.columns.iter().map(ident_name).collect(),
        },
        ref_schema,
        ref_table,
        ref_cols: c.referred_columns.iter().map(ident_name).collect(),
        on_update: action(&c.on_update),
        on_delete: action(&c.on_delete),
        match_type,
        deferrable,
        deferred,
    })
}

/// `"name"` with embedded quotes doubled: generated statements quote
/// every identifier.
fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn qualified(side: &FkSide) -> String {
    format!("{}.{}", q(&side.schema), q(&side.name))
}

/// PostgreSQL's type categories for "an equality operator exists":
/// numbers compare with numbers, strings with strings, else equal types.
fn category(t: Oid) -> u32 {
    match t {
        types::INT2
        | types::INT4
        | types::INT8
        | types::NUMERIC
        | types::FLOAT4
        | types::FLOAT8
        | types::OID => 1,
        types::TEXT | types::VARCHAR | types::BPCHAR | types::NAME => 2,
        types::TIMESTAMP | types::TIMESTAMPTZ | types::DATE => 3,
        other => 1000 + other,
    }
}

/// "Key (a, b)=(1, 2)" of PostgreSQL's RI messages.
fn key_text(cols: &[String], key: &[Value]) -> String {
    let vals: Vec<String> = key
        .iter()
        .map(|v| match encode_text(v) {
            Some(b) => String::from_utf8_lossy(&b).into_owned(),
            None => "null".to_string(),
        })
        .collect();
    format!("Key ({})=({})", cols.join(", "), vals.join(", "))
}

/// PostgreSQL's ChooseConstraintName: `<table>_<cols>_fkey`, cut so that
/// it fits NAMEDATALEN, a number appended while taken.
fn choose_name(table: &str, cols: &[String], taken: &[String]) -> String {
    let label = "fkey";
    let cols = cols.join("_");
    for n in 0.. {
        let suffix = if n == 0 {
            label.to_string()
        } else {
            format!("{label}{n}")
        };
        let (mut t, mut c) = (table.to_string(), cols.clone());
        // Shorten the longer part first, as makeObjectName does.
        while t.len() + c.len() + suffix.len() + 2 > 63 {
            if t.len() > c.len() {
                t.pop();
            } else {
                c.pop();
            }
        }
        let name = if c.is_empty() {
            format!("{t}_{suffix}")
        } else {
            format!("{t}_{c}_{suffix}")
        };
        if !taken.contains(&name) {
            return name;
        }
    }
    unreachable!("an unused name exists")
}

fn column_positions(rel: &Relation, names: &[String]) -> Result<Vec<usize>, PgError> {
    names
        .iter()
        .map(|n| {
            rel.columns
                .iter()
                .position(|c| &c.name == n)
                .ok_or_else(|| {
                    PgError::error(
                        sqlstate::UNDEFINED_COLUMN,
                        format!(
                            "column \"{n}\" referenced in foreign key constraint does not exist"
                        ),
                    )
                })
        })
        .collect()
}

fn side(rel: &Relation, cols: Vec<usize>) -> Result<FkSide, PgError> {
    Ok(FkSide {
        oid: rel.table()?.oid,
        schema: rel.schema.clone(),
        name: rel.name.clone(),
        col_names: cols.iter().map(|&i| rel.columns[i].name.clone()).collect(),
        cols,
    })
}

/// Defines FOREIGN KEY `s` on `rel` (CREATE TABLE after the table and its
/// indexes exist, or ALTER TABLE ADD): resolves and checks it as
/// PostgreSQL's ATAddForeignKeyConstraint, checks the existing rows
/// when `check_rows` unless `not_valid`, and stores it.
pub(crate) fn add(
    host: &mut dyn Host,
    rel: &Relation,
    s: &FkSpec,
    not_valid: bool,
    check_rows: bool,
) -> Result<(), PgError> {
    let same = s.ref_table == rel.name && s.ref_schema.as_ref().is_none_or(|x| *x == rel.schema);
    let parent = if same {
        rel.clone()
    } else {
        catalog::lookup(&*host, s.ref_schema.as_deref(), &s.ref_table)?
    };
    if parent.table().is_err() {
        return Err(PgError::error(
            codes::WRONG_OBJECT_TYPE,
            format!("referenced relation \"{}\" is not a table", parent.name),
        ));
    }
    let cols = column_positions(rel, &s.cols)?;
    // A generated column cannot be set by the key's actions (PostgreSQL's
    // ATAddForeignKeyConstraint, per the SQL standard).
    if cols.iter().any(|&c| rel.columns[c].generated.is_some()) {
        let which = if matches!(s.on_update, b'c' | b'n' | b'd') {
            Some("ON UPDATE")
        } else if matches!(s.on_delete, b'n' | b'd') {
            Some("ON DELETE")
        } else {
            None
        };
        if let Some(which) = which {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                format!(
                    "invalid {which} action for foreign key constraint containing generated column"
                ),
            ));
        }
    }
    let keys = host.tables()?.unique_keys(&parent)?;
    let (index, ref_cols) = if s.ref_cols.is_empty() {
        match keys.iter().find(|k| k.1) {
            Some(k) => (k.0, k.2.clone()),
            None => {
                return Err(PgError::error(
                    codes::INVALID_FOREIGN_KEY,
                    format!(
                        "there is no primary key for referenced table \"{}\"",
                        parent.name
                    ),
                ))
            }
        }
    } else {
        let ref_cols = column_positions(&parent, &s.ref_cols)?;
        let mut want = ref_cols.clone();
        want.sort_unstable();
        let found = keys.iter().find(|k| {
            let mut have = k.2.clone();
            have.sort_unstable();
            have == want && have.len() == ref_cols.len()
        });
        let mut dedup = want.clone();
        dedup.dedup();
        match found {
            Some(k) if dedup.len() == want.len() => (k.0, ref_cols),
            _ => {
                return Err(PgError::error(
                    codes::INVALID_FOREIGN_KEY,
                    format!(
                    "there is no unique constraint matching given keys for referenced table \"{}\"",
                    parent.name
                ),
                ))
            }
        }
    };
    if cols.len() != ref_cols.len() {
        return Err(PgError::error(
            codes::INVALID_FOREIGN_KEY,
            "number of referencing and referenced columns for foreign key disagree",
        ));
    }
    let mut taken: Vec<String> = rel.checks.iter().map(|c| c.name.clone()).collect();
    taken.extend(rel.foreign_keys.iter().map(|f| f.name.clone()));
    let name = match &s.name {
        Some(n) => {
            if taken.contains(n) {
                return Err(PgError::error(
                    codes::DUPLICATE_OBJECT,
                    format!(
                        "constraint \"{n}\" for relation \"{}\" already exists",
                        rel.name
                    ),
                ));
            }
            n.clone()
        }
        None => choose_name(&rel.name, &s.cols, &taken),
    };
    for (&c, &r) in cols.iter().zip(&ref_cols) {
        let (ct, rt) = (rel.columns[c].ty.oid, parent.columns[r].ty.oid);
        if category(ct) != category(rt) {
            return Err(PgError::error(
                codes::DATATYPE_MISMATCH,
                format!("foreign key constraint \"{name}\" cannot be implemented"),
            )
            .with_detail(format!(
                "Key columns \"{}\" and \"{}\" are of incompatible types: {} and {}.",
                rel.columns[c].name,
                parent.columns[r].name,
                types::sql_name(ct),
                types::sql_name(rt)
            )));
        }
    }
    let fk = ForeignKey {
        oid: 0,
        name,
        table: side(rel, cols)?,
        ref_table: side(&parent, ref_cols)?,
        on_update: s.on_update,
        on_delete: s.on_delete,
        match_type: s.match_type,
        deferrable: s.deferrable,
        deferred: s.deferred,
        validated: !not_valid,
        index,
    };
    if !not_valid && check_rows {
        validate(host, &fk)?;
    }
    host.tables()?.add_foreign_key(rel, &fk)
}

/// The first row of the referencing table whose key the referenced
/// table lacks (PostgreSQL's RI_Initial_Check: one outer join), as
/// 23503.
pub(crate) fn validate(host: &mut dyn Host, fk: &ForeignKey) -> Result<(), PgError> {
    let t = &fk.table;
    let r = &fk.ref_table;
    let sel: Vec<String> = t.col_names.iter().map(|c| format!("fk.{}", q(c))).collect();
    let on: Vec<String> = t
        .col_names
        .iter()
        .zip(&r.col_names)
        .map(|(c, p)| format!("pk.{} = fk.{}", q(p), q(c)))
        .collect();
    let nulls: Vec<String> = t
        .col_names
        .iter()
        .map(|c| format!("fk.{} IS NOT NULL", q(c)))
        .collect();
    let keyed = if fk.match_type == b'f' {
        nulls.join(" OR ")
    } else {
        nulls.join(" AND ")
    };
    let sql = format!(
        "SELECT {} FROM {} fk LEFT JOIN {} pk ON {} WHERE pk.{} IS NULL AND ({}) LIMIT 1",
        sel.join(", "),
        qualified(t),
        qualified(r),
        on.join(" AND "),
        q(&r.col_names[0]),
        keyed
    );
    if let Some(row) = run(host, &sql, &[], Vec::new())? {
        return Err(insert_violation(fk, &row));
    }
    Ok(())
}

fn insert_violation(fk: &ForeignKey, key: &[Value]) -> PgError {
    let e = PgError::error(
        codes::FOREIGN_KEY_VIOLATION,
        format!(
            "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
            fk.table.name, fk.name
        ),
    );
    if fk.match_type == b'f' && key.iter().any(|v| v.is_null()) {
        return e.with_detail("MATCH FULL does not allow mixing of null and nonnull key values.");
    }
    e.with_detail(format!(
        "{} is not present in table \"{}\".",
        key_text(&fk.table.col_names, key),
        fk.ref_table.name
    ))
}

/// Runs one generated statement with a fresh snapshot and returns its
/// first row.
fn run(
    host: &mut dyn Host,
    sql: &str,
    param_types: &[Oid],
    params: Vec<Value>,
) -> Result<Option<Row>, PgError> {
    let stmts = crate::parse(sql)?;
    let Some(stmt) = stmts.first() else {
        return Ok(None);
    };
    // Referential checks and actions see every row, whatever the
    // tables' policies (PostgreSQL's InNoForceRLSOperation for RI).
    let p = crate::policy::bypassing(|| crate::prepare(stmt, param_types, &*host))?;
    let rels = host.nested_relations();
    let mut ex = crate::start(&p, params, host, &*rels)?;
    ex.next(host)
}

/// One check an INSERT, UPDATE or DELETE leaves for the end of its
/// statement.
#[derive(Debug, Clone)]
pub(crate) enum Check {
    /// A referencing row now has `key`: it must exist in the referenced
    /// table.
    Referencing { fk: ForeignKey, key: Vec<Value> },
    /// A referenced row with key `old` was deleted (`new` None) or its
    /// key changed to `new`.
    Referenced {
        fk: ForeignKey,
        old: Vec<Value>,
        new: Option<Vec<Value>>,
    },
}

/// The checks a statement has queued so far.
#[derive(Debug, Default)]
pub(crate) struct Pending(Vec<Check>);

fn key_of(row: &[Value], cols: &[usize]) -> Vec<Value> {
    cols.iter()
        .map(|&i| row.get(i).cloned().unwrap_or(Value::Null))
        .collect()
}

impl Pending {
    /// A row stored by INSERT (`old` None) or UPDATE into `rel`.
    pub fn row_stored(
        &mut self,
        rel: &Relation,
        old: Option<&[Value]>,
        new: &[Value],
    ) -> Result<(), PgError> {
        for fk in &rel.foreign_keys {
            let key = key_of(new, &fk.table.cols);
            if let Some(old) = old {
                if key_of(old, &fk.table.cols) == key {
                    continue;
                }
            }
            let nulls = key.iter().filter(|v| v.is_null()).count();
            if nulls == key.len() {
                continue;
            }
            if nulls > 0 {
                if fk.match_type == b'f' {
                    return Err(insert_violation(fk, &key));
                }
                continue;
            }
            self.0.push(Check::Referencing {
                fk: fk.clone(),
                key,
            });
        }
        if let Some(old) = old {
            self.referenced_row_changed(rel, old, Some(new));
        }
        Ok(())
    }

    /// A row of `rel` deleted (`new` None) or updated.
    pub fn referenced_row_changed(&mut self, rel: &Relation, old: &[Value], new: Option<&[Value]>) {
        for fk in &rel.referenced_by {
            let key = key_of(old, &fk.ref_table.cols);
            if key.iter().any(|v| v.is_null()) {
                continue;
            }
            let new = new.map(|n| key_of(n, &fk.ref_table.cols));
            if new.as_ref() == Some(&key) {
                continue;
            }
            self.0.push(Check::Referenced {
                fk: fk.clone(),
                old: key,
                new,
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

thread_local! {
    /// Checks of DEFERRABLE INITIALLY DEFERRED constraints, with the
    /// top-level xid of the transaction that queued them (a transaction
    /// that ended without COMMIT leaves stale ones, told apart by it).
    static DEFERRED: RefCell<Vec<(u64, Check)>> = const { RefCell::new(Vec::new()) };
}

thread_local! {
    /// SET CONSTRAINTS of the transaction with this top-level xid: the
    /// ALL setting, then per constraint OID (later statements override).
    static MODES: RefCell<(u64, Option<bool>, std::collections::HashMap<u32, bool>)> =
        RefCell::new((0, None, std::collections::HashMap::new()));
}

/// Whether check `c` waits for COMMIT in transaction `xid`.
fn deferred(c: &Check, xid: u64) -> bool {
    let fk = match c {
        Check::Referencing { fk, .. } => fk,
        Check::Referenced { fk, new, .. } => {
            // Only NO ACTION is deferrable; the other actions act at once.
            let act = if new.is_some() {
                fk.on_update
            } else {
                fk.on_delete
            };
            if act != b'a' {
                return false;
            }
            fk
        }
    };
    if !fk.deferrable {
        return false;
    }
    MODES.with(|m| {
        let m = m.borrow();
        if m.0 != xid || xid == 0 {
            return fk.deferred;
        }
        m.2.get(&fk.oid).copied().or(m.1).unwrap_or(fk.deferred)
    })
}

/// `SET CONSTRAINTS ...` as a utility statement (the grammar is a list of
/// names or ALL, then DEFERRED or IMMEDIATE).
pub(crate) fn bind_set_constraints(sql: &str) -> Result<crate::utility::Utility, PgError> {
    let body = sql.trim().trim_end_matches(';').trim();
    let words: Vec<&str> = body.split_whitespace().collect();
    let syntax = |w: &str| {
        PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("syntax error at or near \"{w}\""),
        )
    };
    let Some(last) = words.last().filter(|_| words.len() >= 4) else {
        return Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            "syntax error at end of input",
        ));
    };
    let deferred = match last.to_ascii_uppercase().as_str() {
        "DEFERRED" => true,
        "IMMEDIATE" => false,
        _ => return Err(syntax(last)),
    };
    let list = words[2..words.len() - 1].join(" ");
    if list.eq_ignore_ascii_case("ALL") {
        return Ok(crate::utility::Utility::SetConstraints {
            names: None,
            deferred,
        });
    }
    let names = list
        .split(',')
        .map(|n| {
            let n = n.trim();
            // The constraint's own name; a schema qualification is
            // accepted and not used.
            let n = n.rsplit('.').next().unwrap_or(n);
            if let Some(q) = n.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
                Ok(q.replace("\"\"", "\""))
            } else if n.is_empty() {
                Err(syntax(","))
            } else {
                Ok(n.to_lowercase())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(crate::utility::Utility::SetConstraints {
        names: Some(names),
        deferred,
    })
}

/// SET CONSTRAINTS: records the mode for the rest of the transaction;
/// IMMEDIATE runs the checks deferred so far at once (PostgreSQL's
/// AfterTriggerSetState). Outside a transaction block a WARNING.
pub(crate) fn set_constraints(
    host: &mut dyn Host,
    names: Option<&[String]>,
    deferred_mode: bool,
) -> Result<(), PgError> {
    if host
        .tables()?
        .require_transaction_block("SET CONSTRAINTS")
        .is_err()
    {
        host.notice(PgError::new(
            tusk_common::Severity::Warning,
            sqlstate::NO_ACTIVE_SQL_TRANSACTION,
            "SET CONSTRAINTS can only be used in transaction blocks",
        ));
        return Ok(());
    }
    let mut oids = Vec::new();
    if let Some(names) = names {
        for n in names {
            let sql = "SELECT oid, condeferrable FROM pg_catalog.pg_constraint WHERE conname = $1";
            let Some(row) = run(host, sql, &[types::TEXT], vec![Value::Text(n.clone())])? else {
                return Err(PgError::error(
                    codes::UNDEFINED_OBJECT,
                    format!("constraint \"{n}\" does not exist"),
                ));
            };
            if row.get(1) != Some(&Value::Bool(true)) {
                return Err(PgError::error(
                    sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                    format!("constraint \"{n}\" is not deferrable"),
                ));
            }
            if let Some(Value::Oid(o)) = row.first() {
                oids.push(*o);
            }
        }
    }
    let xid = host.current_xid(true)?.unwrap_or(0);
    MODES.with(|m| {
        let mut m = m.borrow_mut();
        if m.0 != xid {
            *m = (xid, None, std::collections::HashMap::new());
        }
        if names.is_none() {
            m.1 = Some(deferred_mode);
            m.2.clear();
        }
        for o in &oids {
            m.2.insert(*o, deferred_mode);
        }
    });
    if deferred_mode {
        return Ok(());
    }
    // The checks now immediate run now.
    let all = DEFERRED.with(|d| std::mem::take(&mut *d.borrow_mut()));
    let (later, now): (Vec<_>, Vec<_>) = all
        .into_iter()
        .filter(|(x, _)| *x == xid)
        .partition(|(_, c)| deferred(c, xid));
    DEFERRED.with(|d| d.borrow_mut().extend(later));
    host.command_counter_increment();
    for (_, c) in now {
        run_deferred_check(host, &c)?;
    }
    Ok(())
}

/// A deferred check when its time comes: a referencing key is checked
/// only while some row still has it (a row inserted and deleted again in
/// the transaction leaves nothing to check).
fn run_deferred_check(host: &mut dyn Host, c: &Check) -> Result<(), PgError> {
    if let Check::Referencing { fk, key } = c {
        let t = &fk.table;
        let sql = format!(
            "SELECT 1 FROM {} WHERE {} LIMIT 1",
            qualified(t),
            where_eq(&t.col_names, 1)
        );
        let types = col_types(&*host, t)?;
        if run(host, &sql, &types, key.clone())?.is_none() {
            return Ok(());
        }
    }
    run_check(host, c)
}

/// Runs the statement's queued checks (see the file comment); deferred
/// ones wait for COMMIT inside a transaction block.
pub(crate) fn run_pending(host: &mut dyn Host, pending: Pending) -> Result<(), PgError> {
    if pending.is_empty() {
        return Ok(());
    }
    host.command_counter_increment();
    let in_block = host
        .tables()?
        .require_transaction_block("foreign key")
        .is_ok();
    let xid = host.current_xid(false)?.unwrap_or(0);
    for c in pending.0 {
        if in_block && deferred(&c, xid) {
            DEFERRED.with(|d| d.borrow_mut().push((xid, c)));
            continue;
        }
        run_check(host, &c)?;
    }
    Ok(())
}

/// COMMIT: the deferred checks of this transaction, then none kept.
pub(crate) fn at_commit(host: &mut dyn Host) -> Result<(), PgError> {
    let all = DEFERRED.with(|d| std::mem::take(&mut *d.borrow_mut()));
    if all.is_empty() {
        return Ok(());
    }
    let xid = host.current_xid(false)?.unwrap_or(0);
    host.command_counter_increment();
    for (x, c) in all {
        if x == xid {
            run_deferred_check(host, &c)?;
        }
    }
    Ok(())
}

/// ROLLBACK: the deferred checks are forgotten.
pub(crate) fn at_rollback() {
    DEFERRED.with(|d| d.borrow_mut().clear());
}

/// Stands in for PostgreSQL's FOR KEY SHARE lock on the referenced row
/// (shared) and the FOR UPDATE a delete or key update of it takes
/// (exclusive): a heavyweight lock on (referenced table, hash of the
/// key), held to the end of the transaction. The one place to switch to
/// tuple locks when they exist.
pub(crate) fn lock_referenced_row(
    host: &mut dyn Host,
    fk: &ForeignKey,
    key: &[Value],
    exclusive: bool,
) -> Result<(), PgError> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for v in key {
        // The text form: int4 1 and int8 1 are one key.
        encode_text(v).hash(&mut h);
    }
    host.tables()?
        .lock_referenced_key(fk.ref_table.oid, h.finish(), exclusive)
}

fn where_eq(cols: &[String], first: usize) -> String {
    cols.iter()
        .enumerate()
        .map(|(i, c)| format!("{} = ${}", q(c), first + i))
        .collect::<Vec<_>>()
        .join(" AND ")
}

fn col_types(host: &dyn Host, side: &FkSide) -> Result<Vec<Oid>, PgError> {
    let rel = catalog::lookup(host, Some(&side.schema), &side.name)?;
    Ok(side.cols.iter().map(|&i| rel.columns[i].ty.oid).collect())
}

fn still_referenced(fk: &ForeignKey, old: &[Value]) -> PgError {
    let (r, t) = (&fk.ref_table, &fk.table);
    PgError::error(
        codes::FOREIGN_KEY_VIOLATION,
        format!(
            "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{}\"",
            r.name, fk.name, t.name
        ),
    )
    .with_detail(format!(
        "{} is still referenced from table \"{}\".",
        key_text(&r.col_names, old),
        t.name
    ))
}

fn run_check(host: &mut dyn Host, c: &Check) -> Result<(), PgError> {
    match c {
        Check::Referencing { fk, key } => {
            lock_referenced_row(host, fk, key, false)?;
            let r = &fk.ref_table;
            let sql = format!(
                "SELECT 1 FROM {} WHERE {}",
                qualified(r),
                where_eq(&r.col_names, 1)
            );
            let types = col_types(&*host, &fk.table)?;
            if run(host, &sql, &types, key.clone())?.is_none() {
                return Err(insert_violation(fk, key));
            }
            Ok(())
        }
        Check::Referenced { fk, old, new } => {
            lock_referenced_row(host, fk, old, true)?;
            let act = if new.is_some() {
                fk.on_update
            } else {
                fk.on_delete
            };
            let r = &fk.ref_table;
            let t = &fk.table;
            let ref_types = col_types(&*host, r)?;
            if act == b'a' {
                // NO ACTION: fine if the key exists again (another row
                // took it in this statement).
                let sql = format!(
                    "SELECT 1 FROM {} WHERE {}",
                    qualified(r),
                    where_eq(&r.col_names, 1)
                );
                if run(host, &sql, &ref_types, old.clone())?.is_some() {
                    return Ok(());
                }
            }
            let matching = where_eq(&t.col_names, 1);
            match act {
                b'c' => {
                    let sql = match new {
                        None => format!("DELETE FROM {} WHERE {matching}", qualified(t)),
                        Some(_) => {
                            let sets: Vec<String> = t
                                .col_names
                                .iter()
                                .enumerate()
                                .map(|(i, c)| format!("{} = ${}", q(c), old.len() + 1 + i))
                                .collect();
                            format!(
                                "UPDATE {} SET {} WHERE {matching}",
                                qualified(t),
                                sets.join(", ")
                            )
                        }
                    };
                    let mut params = old.clone();
                    let mut types = ref_types.clone();
                    if let Some(n) = new {
                        params.extend(n.iter().cloned());
                        types.extend(ref_types.iter().copied());
                    }
                    run(host, &sql, &types, params)?;
                }
                b'n' | b'd' => {
                    let to = if act == b'n' { "NULL" } else { "DEFAULT" };
                    let sets: Vec<String> = t
                        .col_names
                        .iter()
                        .map(|c| format!("{} = {to}", q(c)))
                        .collect();
                    let sql = format!(
                        "UPDATE {} SET {} WHERE {matching}",
                        qualified(t),
                        sets.join(", ")
                    );
                    run(host, &sql, &ref_types, old.clone())?;
                    // A row whose key was the default already kept it
                    // unchecked: still referenced is NO ACTION's error
                    // (PostgreSQL's ri_setdefault does the same).
                    if act == b'd' {
                        let sql =
                            format!("SELECT 1 FROM {} WHERE {matching} LIMIT 1", qualified(t));
                        if run(host, &sql, &ref_types, old.clone())?.is_some() {
                            return Err(still_referenced(fk, old));
                        }
                    }
                }
                _ => {
                    let sql = format!("SELECT 1 FROM {} WHERE {matching} LIMIT 1", qualified(t));
                    if run(host, &sql, &ref_types, old.clone())?.is_some() {
                        return Err(still_referenced(fk, old));
                    }
                }
            }
            Ok(())
        }
    }
}

/// DROP TABLE of `found`: FOREIGN KEYs of other tables that reference
/// them are refused (2BP01, PostgreSQL's texts) or, with CASCADE,
/// dropped first.
pub(crate) fn before_drop(
    host: &mut dyn Host,
    found: &[Relation],
    cascade: bool,
) -> Result<(), PgError> {
    let dropped: Vec<u32> = found
        .iter()
        .filter_map(|r| r.table().ok())
        .map(|t| t.oid)
        .collect();
    let mut deps: Vec<(&Relation, &ForeignKey)> = Vec::new();
    for rel in found {
        for fk in &rel.referenced_by {
            if !dropped.contains(&fk.table.oid) {
                deps.push((rel, fk));
            }
        }
    }
    if deps.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = deps
        .iter()
        .map(|(rel, fk)| {
            if cascade {
                format!(
                    "drop cascades to constraint {} on table {}",
                    fk.name, fk.table.name
                )
            } else {
                format!(
                    "constraint {} on table {} depends on table {}",
                    fk.name, fk.table.name, rel.name
                )
            }
        })
        .collect();
    if !cascade {
        return Err(PgError::error(
            codes::DEPENDENT_OBJECTS_STILL_EXIST,
            format!(
                "cannot drop table {} because other objects depend on it",
                deps[0].0.name
            ),
        )
        .with_detail(lines.join("\n"))
        .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
    }
    host.notice(crate::dropschema::cascade_notice(&lines));
    for (_, fk) in deps {
        let child = catalog::lookup(&*host, Some(&fk.table.schema), &fk.table.name)?;
        host.tables()?
            .alter_table(&child, &crate::alter::AlterOp::Lock)?;
        host.tables()?.alter_table(
            &child,
            &crate::alter::AlterOp::DropConstraint(fk.name.clone()),
        )?;
    }
    Ok(())
}

/// ALTER TABLE DROP COLUMN of `rel`'s column `col`: its own FOREIGN KEYs
/// on the column go silently (an automatic dependency); keys of other
/// tables referencing it are 2BP01 unless CASCADE, as PostgreSQL's.
pub(crate) fn before_drop_column(
    host: &mut dyn Host,
    rel: &Relation,
    col: usize,
    cascade: bool,
) -> Result<(), PgError> {
    let name = &rel.columns[col].name;
    let oid = rel.table()?.oid;
    let deps: Vec<&ForeignKey> = rel
        .referenced_by
        .iter()
        .filter(|f| {
            f.ref_table.cols.contains(&col) && !(f.table.oid == oid && f.table.cols.contains(&col))
        })
        .collect();
    if !deps.is_empty() {
        let lines: Vec<String> = deps
            .iter()
            .map(|f| {
                if cascade {
                    format!(
                        "drop cascades to constraint {} on table {}",
                        f.name, f.table.name
                    )
                } else {
                    format!(
                        "constraint {} on table {} depends on column {name} of table {}",
                        f.name, f.table.name, rel.name
                    )
                }
            })
            .collect();
        if !cascade {
            return Err(PgError::error(
                codes::DEPENDENT_OBJECTS_STILL_EXIST,
                format!(
                    "cannot drop column {name} of table {} because other objects depend on it",
                    rel.name
                ),
            )
            .with_detail(lines.join("\n"))
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        host.notice(crate::dropschema::cascade_notice(&lines));
        for f in deps {
            let child = catalog::lookup(&*host, Some(&f.table.schema), &f.table.name)?;
            host.tables()?
                .alter_table(&child, &crate::alter::AlterOp::Lock)?;
            host.tables()?.alter_table(
                &child,
                &crate::alter::AlterOp::DropConstraint(f.name.clone()),
            )?;
        }
    }
    for f in &rel.foreign_keys {
        if f.table.cols.contains(&col) {
            host.tables()?
                .alter_table(rel, &crate::alter::AlterOp::DropConstraint(f.name.clone()))?;
        }
    }
    Ok(())
}

/// TRUNCATE of `found`: a table referenced from a table not truncated
/// with it is refused (0A000, PostgreSQL's texts) or, with CASCADE, the
/// referencing table joins the list.
pub(crate) fn before_truncate(
    host: &mut dyn Host,
    found: &mut Vec<Relation>,
    cascade: bool,
) -> Result<(), PgError> {
    let mut i = 0;
    while i < found.len() {
        let refs = found[i].referenced_by.clone();
        for fk in refs {
            if found
                .iter()
                .any(|r| r.table().map(|t| t.oid).ok() == Some(fk.table.oid))
            {
                continue;
            }
            if !cascade {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "cannot truncate a table referenced in a foreign key constraint",
                )
                .with_detail(format!(
                    "Table \"{}\" references \"{}\".",
                    fk.table.name, found[i].name
                ))
                .with_hint(format!(
                    "Truncate table \"{}\" at the same time, or use TRUNCATE ... CASCADE.",
                    fk.table.name
                )));
            }
            host.notice(PgError::new(
                tusk_common::Severity::Notice,
                sqlstate::SUCCESSFUL_COMPLETION,
                format!("truncate cascades to table \"{}\"", fk.table.name),
            ));
            found.push(catalog::lookup(
                &*host,
                Some(&fk.table.schema),
                &fk.table.name,
            )?);
        }
        i += 1;
    }
    Ok(())
}

/// pg_get_constraintdef of constraint `oid` as PostgreSQL 15 prints it:
/// `FOREIGN KEY (a) REFERENCES p(id) MATCH FULL ON UPDATE CASCADE ON
/// DELETE SET NULL DEFERRABLE INITIALLY DEFERRED NOT VALID`, `PRIMARY
/// KEY (a, b)`, `UNIQUE (a)`, `CHECK (expr)` (the expression as stored);
/// NULL for an unknown OID.
/// `pretty` (psql's \d and \dD) drops the parentheses around a CHECK's
/// whole expression, as PostgreSQL's pretty printer does.
pub(crate) fn constraint_def(
    host: &mut dyn Host,
    oid: u32,
    pretty: bool,
) -> Result<Value, PgError> {
    let sql = "SELECT contype, conrelid, confrelid, conkey, confkey, confupdtype, confdeltype, \
               confmatchtype, condeferrable, condeferred, convalidated, conbin, conindid \
               FROM pg_catalog.pg_constraint WHERE oid = $1";
    let Some(r) = run(host, sql, &[types::OID], vec![Value::Oid(oid)])? else {
        return Ok(Value::Null);
    };
    let text = |v: &Value| {
        encode_text(v)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let attnums = |v: &Value| -> Vec<i16> {
        text(v)
            .trim_matches(|c| c == '{' || c == '}')
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect()
    };
    let cols = |host: &mut dyn Host, rel: &Value, nums: Vec<i16>| -> Result<String, PgError> {
        let mut out = Vec::new();
        for n in nums {
            let sql =
                "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attnum = $2";
            let name = run(
                host,
                sql,
                &[types::OID, types::INT2],
                vec![rel.clone(), Value::Int2(n)],
            )?
            .and_then(|r| r.into_iter().next())
            .map(|v| text(&v))
            .unwrap_or_default();
            out.push(crate::routine::quote_ident(&name));
        }
        Ok(out.join(", "))
    };
    let action = |v: &Value| match v {
        Value::Char(b'r') => "RESTRICT",
        Value::Char(b'c') => "CASCADE",
        Value::Char(b'n') => "SET NULL",
        Value::Char(b'd') => "SET DEFAULT",
        _ => "",
    };
    let out = match r[0] {
        Value::Char(b'f') => {
            let mine = cols(host, &r[1], attnums(&r[3]))?;
            let theirs = cols(host, &r[2], attnums(&r[4]))?;
            let table = run(
                host,
                "SELECT relname FROM pg_catalog.pg_class WHERE oid = $1",
                &[types::OID],
                vec![r[2].clone()],
            )?
            .and_then(|r| r.into_iter().next())
            .map(|v| text(&v))
            .unwrap_or_default();
            let mut s = format!(
                "FOREIGN KEY ({mine}) REFERENCES {}({theirs})",
                crate::routine::quote_ident(&table)
            );
            if r[7] == Value::Char(b'f') {
                s.push_str(" MATCH FULL");
            }
            for (word, v) in [("UPDATE", &r[5]), ("DELETE", &r[6])] {
                let a = action(v);
                if !a.is_empty() {
                    s.push_str(&format!(" ON {word} {a}"));
                }
            }
            if r[8] == Value::Bool(true) {
                s.push_str(" DEFERRABLE");
            }
            if r[9] == Value::Bool(true) {
                s.push_str(" INITIALLY DEFERRED");
            }
            if r[10] == Value::Bool(false) {
                s.push_str(" NOT VALID");
            }
            s
        }
        Value::Char(kind @ (b'p' | b'u')) => {
            let mut s = format!(
                "{} ({})",
                if kind == b'p' {
                    "PRIMARY KEY"
                } else {
                    "UNIQUE"
                },
                cols(host, &r[1], attnums(&r[3]))?
            );
            // The index's INCLUDE columns: indkey past indnkeyatts.
            let sql = "SELECT indkey::text, indnkeyatts::int4 FROM pg_catalog.pg_index \
                       WHERE indexrelid = $1";
            let included: Vec<i16> = match run(host, sql, &[types::OID], vec![r[12].clone()])? {
                Some(ix) => {
                    let nkey = match ix[1] {
                        Value::Int4(n) => n as usize,
                        _ => usize::MAX,
                    };
                    text(&ix[0])
                        .split_whitespace()
                        .filter_map(|x| x.parse().ok())
                        .skip(nkey)
                        .collect()
                }
                None => Vec::new(),
            };
            if !included.is_empty() {
                s.push_str(&format!(" INCLUDE ({})", cols(host, &r[1], included)?));
            }
            s
        }
        Value::Char(b'c') => {
            let body = text(&r[11]);
            let body = if pretty {
                outer_parens_stripped(&body)
            } else {
                &body
            };
            let mut s = format!("CHECK ({body})");
            if r[10] == Value::Bool(false) {
                s.push_str(" NOT VALID");
            }
            s
        }
        _ => return Ok(Value::Null),
    };
    Ok(Value::Text(out))
}

/// `(x)` as `x` when the first parenthesis closes at the end (not in
/// `(a) AND (b)`); quotes are skipped.
fn outer_parens_stripped(s: &str) -> &str {
    let t = s.trim();
    if crate::index::one_group(t) {
        &t[1..t.len() - 1]
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_check_text_loses_only_enclosing_parentheses() {
        assert_eq!(outer_parens_stripped("(VALUE > 0)"), "VALUE > 0");
        assert_eq!(outer_parens_stripped("(a) AND (b)"), "(a) AND (b)");
        assert_eq!(outer_parens_stripped("a > 0"), "a > 0");
        assert_eq!(outer_parens_stripped("(x = ')')"), "x = ')'");
    }

    #[test]
    fn names_follow_postgresql() {
        assert_eq!(choose_name("c", &["pid".into()], &[]), "c_pid_fkey");
        assert_eq!(
            choose_name("c", &["a".into(), "b".into()], &["c_a_b_fkey".into()]),
            "c_a_b_fkey1"
        );
        let n = choose_name(&"t".repeat(70), &["col".into()], &[]);
        assert_eq!(n.len(), 63);
        assert!(n.ends_with("_col_fkey"));
    }

    #[test]
    fn set_constraints_reads_names_and_modes() {
        use crate::utility::Utility;
        match bind_set_constraints("SET CONSTRAINTS ALL DEFERRED;").unwrap() {
            Utility::SetConstraints { names, deferred } => {
                assert_eq!(names, None);
                assert!(deferred);
            }
            _ => panic!("not SET CONSTRAINTS"),
        }
        match bind_set_constraints("set constraints A, s.\"B c\" immediate").unwrap() {
            Utility::SetConstraints { names, deferred } => {
                assert_eq!(names, Some(vec!["a".to_string(), "B c".to_string()]));
                assert!(!deferred);
            }
            _ => panic!("not SET CONSTRAINTS"),
        }
        let e = bind_set_constraints("SET CONSTRAINTS ALL LATER").unwrap_err();
        assert_eq!(e.message, "syntax error at or near \"LATER\"");
    }

    #[test]
    fn key_text_is_postgresqls() {
        assert_eq!(
            key_text(&["a".into(), "b".into()], &[Value::Int4(1), Value::Null]),
            "Key (a, b)=(1, null)"
        );
    }
}
