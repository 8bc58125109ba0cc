//! The session's side of SQL prepared statements and cursors: the rows of
//! pg_prepared_statements, and reading WITH HOLD cursors to their end
//! before their transaction commits.
//!
//! Why here: the statement store and the cursor store are the session's
//! (backend.rs keeps them; tusk_sql::prepare and tusk_sql::cursor bind and
//! run the statements through the Host trait), so what needs both the
//! session and those stores lives next to it rather than in the SQL crate.
//! Called only by the backend that owns the session.

use tusk_common::{elog, sqlstate, PgError, Severity};
use tusk_sql::{array::Array, types, Oid, Row, Value};

use super::Session;

/// pg_prepared_statements' rows (PostgreSQL 15's columns: name,
/// statement, prepare_time, parameter_types, from_sql, generic_plans,
/// custom_plans). parameter_types is text[] of the types' SQL names (tusk
/// has no regtype arrays); tusk plans every execution afresh, which
/// PostgreSQL counts as custom plans.
pub(super) fn prepared_statement_rows<'a>(
    entries: impl Iterator<Item = (&'a str, &'a str, i64, &'a [Oid], bool)>,
) -> Vec<Row> {
    let mut rows: Vec<Row> = entries
        .map(|(name, sql, at, params, from_sql)| {
            let names = params
                .iter()
                .map(|&o| Value::Text(types::sql_name(o)))
                .collect();
            vec![
                Value::Text(name.to_string()),
                Value::Text(sql.to_string()),
                Value::TimestampTz(at),
                Value::Array(Box::new(Array::from_items(types::TEXT, names))),
                Value::Bool(from_sql),
                Value::Int8(0),
                Value::Int8(0),
            ]
        })
        .collect();
    rows.sort_by(|a, b| match (&a[0], &b[0]) {
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    });
    rows
}

impl Session {
    /// Before a commit: WITH HOLD cursors still running their query read
    /// it to the end, under the transaction's snapshot, so they outlive
    /// it. Only when this step ends the transaction with a commit.
    pub(super) fn hold_cursors_before_commit(&mut self) {
        use tusk_storage::xact::BlockState as B;
        if self.cursors.is_empty()
            || !matches!(self.xact.block_state(), B::Started | B::End | B::SubCommit)
        {
            return;
        }
        for name in self.cursors.unmaterialized_holds() {
            let Ok(mut c) = self.cursors.take(&name) else {
                continue;
            };
            match tusk_sql::cursor::materialize(&mut c, self) {
                Ok(()) => self.cursors.put_back(c),
                Err(e) => {
                    // The commit goes on (its statement has completed);
                    // the cursor cannot survive it without its rows.
                    let w = PgError::new(
                        Severity::Warning,
                        sqlstate::WARNING,
                        format!("cursor \"{name}\" closed at commit: {}", e.message),
                    );
                    elog::report(&w);
                    self.conn.notice(&w);
                }
            }
        }
    }
}
