//! FOREIGN KEY constraints in the catalog (pg_constraint rows of contype 'f') and the heavyweight lock that stands in for the referenced row's FOR KEY SHARE lock, for tusk_sql's fkey.rs.
//!
//! Why this shape:
//! - **PostgreSQL's rows**: conrelid/conkey the referencing table and
//!   columns, confrelid/confkey the referenced ones (physical attnums,
//!   int2[] in their text form as conkey of other constraints),
//!   conindid the referenced unique index, confupdtype/confdeltype,
//!   confmatchtype, condeferrable/condeferred, convalidated. PostgreSQL
//!   marks both tables relhastriggers (its RI triggers); tusk does the
//!   same and a lookup reads pg_constraint's FOREIGN KEYs only for tables
//!   so marked, as it reads CHECKs only when relchecks > 0. The flag is
//!   not cleared when the last key goes (PostgreSQL clears it lazily too):
//!   a needless read, never a missed key.
//! - **The lock** ([`Session::lock_referenced_key_impl`]): until tuple
//!   locks exist, a referencing insert and a delete of the referenced key
//!   meet on an object lock (pg_class, referenced table, key bucket):
//!   Share by the referencing side, Exclusive by the deleting side, so
//!   either waits for the other's transaction to end and then checks with
//!   a fresh snapshot. Each side also takes a mode on bucket 0 (RowShare /
//!   RowExclusive) so that a transaction touching many keys of one table
//!   can take one table-wide lock instead of one per key (Share /
//!   Exclusive on bucket 0, past [`KEYS_PER_TABLE`] keys): the lock table
//!   is bounded whatever the statement's size. Unrelated keys in one
//!   bucket wait needlessly; 65535 buckets make that rare.
//!
//! Everything here runs in the backend that owns the session, inside the
//! statement's transaction.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use tusk_common::PgError;
use tusk_sql::catalog::{FkSide, ForeignKey, Relation};
use tusk_sql::Value;
use tusk_storage::catalog::{
    self as cat, PG_ATTRIBUTE_OID, PG_CATALOG_NAMESPACE, PG_CLASS_OID, PG_CONSTRAINT_OID,
    PG_NAMESPACE_OID,
};
use tusk_storage::lmgr::{LockMode, LockTarget};

use super::{name_of, oid_of, Session};

/// Key locks one transaction takes per referenced table before it locks
/// the whole table's keys at once.
const KEYS_PER_TABLE: usize = 64;

/// Per (referenced table, exclusive?): the key buckets locked, or None
/// once the table-wide lock is held.
type HeldKeys = HashMap<(u32, bool), Option<HashSet<u16>>>;

thread_local! {
    /// Per (top-level xid, referenced table): the buckets locked, or None
    /// once the table-wide lock is held; per mode (false shared, true
    /// exclusive).
    static HELD: RefCell<(u64, HeldKeys)> =
        RefCell::new((0, HashMap::new()));
}

/// "{1,2}" → [1, 2].
fn int2_list(v: &Value) -> Vec<i16> {
    match v {
        // int2[] as the catalog reads it back since arrays exist.
        Value::Array(a) => a
            .items
            .iter()
            .filter_map(|x| match x {
                Value::Int2(n) => Some(*n),
                Value::Int4(n) => i16::try_from(*n).ok(),
                _ => None,
            })
            .collect(),
        Value::Text(s) => s
            .trim_matches(|c| c == '{' || c == '}')
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect(),
        _ => Vec::new(),
    }
}

fn int2_text(v: &[i16]) -> Value {
    Value::Text(format!(
        "{{{}}}",
        v.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")
    ))
}

impl Session {
    /// One side of a key: table `oid`'s names and the live positions of
    /// `attnums`.
    fn fk_side(&self, oid: u32, attnums: &[i16]) -> Result<FkSide, PgError> {
        let c = cat::catalog(PG_CLASS_OID);
        let (name, nsp) = self
            .catalog_rows_by(PG_CLASS_OID, "oid", Value::Oid(oid))?
            .into_iter()
            .find(|(_, r)| oid_of(&r[c.col("oid")]) == oid)
            .map(|(_, r)| {
                (
                    name_of(&r[c.col("relname")]).to_string(),
                    oid_of(&r[c.col("relnamespace")]),
                )
            })
            .unwrap_or_default();
        let schema = if nsp == PG_CATALOG_NAMESPACE {
            "pg_catalog".to_string()
        } else {
            let n = cat::catalog(PG_NAMESPACE_OID);
            self.catalog_rows_by(PG_NAMESPACE_OID, "oid", Value::Oid(nsp))?
                .into_iter()
                .find(|(_, r)| oid_of(&r[n.col("oid")]) == nsp)
                .map(|(_, r)| name_of(&r[n.col("nspname")]).to_string())
                .unwrap_or_default()
        };
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        let mut live: Vec<(i16, String)> = self
            .catalog_rows_by(PG_ATTRIBUTE_OID, "attrelid", Value::Oid(oid))?
            .into_iter()
            .filter(|(_, r)| {
                oid_of(&r[a.col("attrelid")]) == oid
                    && matches!(r[a.col("attnum")], Value::Int2(n) if n > 0)
                    && r[a.col("attisdropped")] != Value::Bool(true)
            })
            .map(|(_, r)| {
                let n = match r[a.col("attnum")] {
                    Value::Int2(n) => n,
                    _ => 0,
                };
                (n, name_of(&r[a.col("attname")]).to_string())
            })
            .collect();
        live.sort();
        let mut cols = Vec::new();
        let mut col_names = Vec::new();
        for n in attnums {
            if let Some(i) = live.iter().position(|l| l.0 == *n) {
                cols.push(i);
                col_names.push(live[i].1.clone());
            }
        }
        Ok(FkSide {
            oid,
            schema,
            name,
            cols,
            col_names,
        })
    }

    /// The FOREIGN KEYs of table `oid` (outgoing) and those referencing
    /// it (incoming), in creation (OID) order.
    pub(super) fn foreign_keys(
        &self,
        oid: u32,
    ) -> Result<(Vec<ForeignKey>, Vec<ForeignKey>), PgError> {
        let k = cat::catalog(PG_CONSTRAINT_OID);
        let (mut out, mut inc) = (Vec::new(), Vec::new());
        for (_, r) in self.catalog_rows(PG_CONSTRAINT_OID)? {
            if r[k.col("contype")] != Value::Char(b'f') {
                continue;
            }
            let (from, to) = (
                oid_of(&r[k.col("conrelid")]),
                oid_of(&r[k.col("confrelid")]),
            );
            if from != oid && to != oid {
                continue;
            }
            let ch = |n: &str| match r[k.col(n)] {
                Value::Char(c) => c,
                _ => b' ',
            };
            let fk = ForeignKey {
                oid: oid_of(&r[k.col("oid")]),
                name: name_of(&r[k.col("conname")]).to_string(),
                table: self.fk_side(from, &int2_list(&r[k.col("conkey")]))?,
                ref_table: self.fk_side(to, &int2_list(&r[k.col("confkey")]))?,
                on_update: ch("confupdtype"),
                on_delete: ch("confdeltype"),
                match_type: ch("confmatchtype"),
                deferrable: r[k.col("condeferrable")] == Value::Bool(true),
                deferred: r[k.col("condeferred")] == Value::Bool(true),
                validated: r[k.col("convalidated")] == Value::Bool(true),
                index: oid_of(&r[k.col("conindid")]),
            };
            if from == oid {
                out.push(fk.clone());
            }
            if to == oid {
                inc.push(fk);
            }
        }
        // PostgreSQL fires RI triggers in creation order: the first key
        // made is the first checked (and reported).
        out.sort_by_key(|f| f.oid);
        inc.sort_by_key(|f| f.oid);
        Ok((out, inc))
    }

    /// See `Tables::unique_keys`.
    pub(super) fn unique_keys_impl(
        &mut self,
        rel: &Relation,
    ) -> Result<Vec<(u32, bool, Vec<usize>)>, PgError> {
        let t = rel.table()?;
        Ok(self
            .indexes_of(t)?
            .into_iter()
            .filter(|i| i.unique)
            .map(|i| (i.oid, i.primary, i.cols))
            .collect())
    }

    /// Sets pg_class.relhastriggers of table `oid` (foreign keys and
    /// CREATE TRIGGER: its lookups then read pg_constraint/pg_trigger).
    pub(super) fn set_has_triggers(&mut self, oid: u32) -> Result<(), PgError> {
        let c = cat::catalog(PG_CLASS_OID);
        let Some((tid, mut class)) = self
            .catalog_rows_by(PG_CLASS_OID, "oid", Value::Oid(oid))?
            .into_iter()
            .find(|(_, r)| oid_of(&r[c.col("oid")]) == oid)
        else {
            return Ok(());
        };
        if class[c.col("relhastriggers")] == Value::Bool(true) {
            return Ok(());
        }
        class[c.col("relhastriggers")] = Value::Bool(true);
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        self.update_catalog_as(PG_CLASS_OID, tid, &class, xid, cid)
    }

    /// See `Tables::add_foreign_key`.
    pub(super) fn add_foreign_key_impl(
        &mut self,
        rel: &Relation,
        fk: &ForeignKey,
    ) -> Result<(), PgError> {
        let t = rel.table()?;
        // The referenced table's attnums: its relation as stored now.
        let parent = if fk.ref_table.oid == t.oid {
            rel.clone()
        } else {
            match tusk_sql::Host::lookup_table(
                self,
                Some(&fk.ref_table.schema),
                &fk.ref_table.name,
            )? {
                Some(r) => r,
                None => rel.clone(),
            }
        };
        let conkey: Vec<i16> = fk.table.cols.iter().map(|&i| rel.attnum(i)).collect();
        let confkey: Vec<i16> = fk
            .ref_table
            .cols
            .iter()
            .map(|&i| parent.attnum(i))
            .collect();
        let oid = self.new_unused_oid(&[(PG_CONSTRAINT_OID, "oid")])?;
        let row = cat::row(
            cat::catalog(PG_CONSTRAINT_OID),
            &[
                ("oid", Value::Oid(oid)),
                ("conname", Value::Name(fk.name.clone())),
                ("connamespace", Value::Oid(t.namespace)),
                ("contype", Value::Char(b'f')),
                ("condeferrable", Value::Bool(fk.deferrable)),
                ("condeferred", Value::Bool(fk.deferred)),
                ("convalidated", Value::Bool(fk.validated)),
                ("conrelid", Value::Oid(t.oid)),
                ("conindid", Value::Oid(fk.index)),
                ("confrelid", Value::Oid(fk.ref_table.oid)),
                ("confupdtype", Value::Char(fk.on_update)),
                ("confdeltype", Value::Char(fk.on_delete)),
                ("confmatchtype", Value::Char(fk.match_type)),
                ("conislocal", Value::Bool(true)),
                ("connoinherit", Value::Bool(true)),
                ("conkey", int2_text(&conkey)),
                ("confkey", int2_text(&confkey)),
            ],
        );
        self.insert_catalog(PG_CONSTRAINT_OID, &row)?;
        self.set_has_triggers(t.oid)?;
        self.set_has_triggers(fk.ref_table.oid)?;
        self.xact.command_counter_increment();
        Ok(())
    }

    /// See `Tables::lock_referenced_key` and the file comment.
    pub(super) fn lock_referenced_key_impl(
        &mut self,
        table: u32,
        key_hash: u64,
        exclusive: bool,
    ) -> Result<(), PgError> {
        let (Some(locks), Some(store)) = (self.locks.clone(), &self.store) else {
            return Ok(());
        };
        let db = store.db;
        let xid = tusk_sql::Host::current_xid(self, true)?.unwrap_or(0);
        let bucket = (key_hash % 65535) as u16 + 1;
        // What to take: (bucket, mode) pairs not held yet.
        let wanted: Vec<(u16, LockMode)> = HELD.with(|h| {
            let mut h = h.borrow_mut();
            if h.0 != xid {
                *h = (xid, HashMap::new());
            }
            let entry =
                h.1.entry((table, exclusive))
                    .or_insert_with(|| Some(HashSet::new()));
            let (table_mode, all_mode, key_mode) = if exclusive {
                (
                    LockMode::RowExclusive,
                    LockMode::Exclusive,
                    LockMode::Exclusive,
                )
            } else {
                (LockMode::RowShare, LockMode::Share, LockMode::Share)
            };
            match entry {
                None => Vec::new(),
                Some(set) if set.contains(&bucket) => Vec::new(),
                Some(set) if set.len() >= KEYS_PER_TABLE => {
                    *entry = None;
                    vec![(0, all_mode)]
                }
                Some(set) => {
                    let first = set.is_empty();
                    set.insert(bucket);
                    let mut v = Vec::new();
                    if first {
                        v.push((0, table_mode));
                    }
                    v.push((bucket, key_mode));
                    v
                }
            }
        });
        let policy = self.wait_policy();
        let interrupted = || {
            crate::signals::pending(libc::SIGINT)
                || crate::signals::pending(libc::SIGTERM)
                || super::super::PM_DEAD.load(std::sync::atomic::Ordering::SeqCst)
        };
        for (sub, mode) in wanted {
            let target = LockTarget::Object {
                db,
                class: PG_CLASS_OID,
                obj: table,
                sub,
            };
            let mut owner = self.xact.owner();
            locks.lock(&mut owner, target, mode, &policy, &interrupted)?;
        }
        Ok(())
    }
}
