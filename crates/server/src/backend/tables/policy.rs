//! A table's row-level security policies read from pg_policy for the SQL layer's `Relation::rls` (crates/sql/src/policy.rs enforces them).
//!
//! Why read with the relation: the binder adds the policies' quals to
//! every scan and every change of the table, so they travel with the
//! cached relation and are invalidated with it (a CREATE POLICY is a
//! catalog change like any other). They are read only for a table whose
//! pg_class.relrowsecurity is set: the others never pay for the scan.
//! pg_policy has no index in tusk yet; the catalog is small.

use tusk_common::PgError;
use tusk_sql::policy::{Policy, Rls};
use tusk_sql::Value;
use tusk_storage::catalog::{self as cat, PG_POLICY_OID};

use super::{name_of, oid_of, Session};

impl Session {
    /// The pg_policy rows of table `rel`, by name (PostgreSQL sorts them
    /// so that restrictive policies are applied in a stable order).
    pub(super) fn row_security(&self, rel: u32, force: bool) -> Result<Rls, PgError> {
        let c = cat::catalog(PG_POLICY_OID);
        let text = |v: &Value| match v {
            Value::Null => None,
            v => Some(name_of(v).to_string()),
        };
        let mut policies: Vec<Policy> = self
            .catalog_rows_by(PG_POLICY_OID, "polrelid", Value::Oid(rel))?
            .into_iter()
            .filter(|(_, r)| oid_of(&r[c.col("polrelid")]) == rel)
            .map(|(_, r)| Policy {
                oid: oid_of(&r[c.col("oid")]),
                name: name_of(&r[c.col("polname")]).to_string(),
                cmd: match r[c.col("polcmd")] {
                    Value::Char(k) => k,
                    _ => b'*',
                },
                permissive: r[c.col("polpermissive")] == Value::Bool(true),
                roles: match &r[c.col("polroles")] {
                    Value::Array(a) => a.items.iter().map(oid_of).collect(),
                    _ => vec![0],
                },
                qual: text(&r[c.col("polqual")]),
                with_check: text(&r[c.col("polwithcheck")]),
            })
            .collect();
        policies.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Rls { force, policies })
    }
}
