//! Table inheritance in the catalog: pg_inherits rows and relhassubclass,
//! and a table's descendants resolved for the sql crate's scans.
//!
//! Why this shape: PostgreSQL keeps one pg_inherits row per (child,
//! parent) with the parent's position in INHERITS (inhseqno), and marks
//! a parent relhassubclass so that a lookup of a table without children
//! reads nothing more. A lookup of a marked table here follows
//! pg_inherits breadth first (children in OID order at each level, as
//! find_all_inheritors), each descendant once, and maps the ancestor's
//! columns to the descendant's by name (inherited columns keep their
//! names; a descendant's positions differ when it has columns of its
//! own or several parents). pg_inherits has no index yet: it is read by
//! a scan, which only tables marked relhassubclass pay for.
//!
//! Called only by the backend that owns the session.

use tusk_common::PgError;
use tusk_sql::catalog::{InheritChild, Relation, RelationSource};
use tusk_sql::Value;
use tusk_storage::catalog::{self as cat, PG_CLASS_OID, PG_NAMESPACE_OID};

use super::{name_of, oid_of, Session};

impl Session {
    /// The rows of pg_inherits naming `oid` in `col` (inhrelid or
    /// inhparent).
    fn inherits_rows(
        &self,
        col: &str,
        oid: u32,
    ) -> Result<Vec<(tusk_storage::heaptuple::ItemPointer, Vec<Value>)>, PgError> {
        self.catalog_rows_by(cat::PG_INHERITS_OID, col, Value::Oid(oid))
    }

    /// The relation with OID `oid`, resolved as a lookup by name would.
    fn relation_by_oid(&self, oid: u32) -> Result<Option<Relation>, PgError> {
        let Some((_, class)) = self.catalog_by_oid(cat::PG_CLASS_OID_INDEX, oid)? else {
            return Ok(None);
        };
        let c = cat::catalog(PG_CLASS_OID);
        let nsp = oid_of(&class[c.col("relnamespace")]);
        let n = cat::catalog(PG_NAMESPACE_OID);
        let Some((_, ns)) = self.catalog_by_oid(cat::PG_NAMESPACE_OID_INDEX, nsp)? else {
            return Ok(None);
        };
        self.lookup_table_uncached(
            Some(name_of(&ns[n.col("nspname")])),
            name_of(&class[c.col("relname")]),
        )
    }

    /// Every descendant of `rel` (pg_class.relhassubclass), breadth
    /// first, with `rel`'s columns mapped into each.
    pub(super) fn inherit_descendants(&self, rel: &Relation) -> Result<Vec<InheritChild>, PgError> {
        let RelationSource::Table(top) = rel.source else {
            return Ok(Vec::new());
        };
        let i = cat::catalog(cat::PG_INHERITS_OID);
        let mut out: Vec<InheritChild> = Vec::new();
        let mut seen = vec![top.oid];
        let mut level = vec![(top.oid, rel.name.clone())];
        while !level.is_empty() {
            let mut next = Vec::new();
            for (parent, pname) in &level {
                let mut kids: Vec<u32> = self
                    .inherits_rows("inhparent", *parent)?
                    .iter()
                    .map(|(_, r)| oid_of(&r[i.col("inhrelid")]))
                    .collect();
                kids.sort_unstable();
                for k in kids {
                    if seen.contains(&k) {
                        continue;
                    }
                    seen.push(k);
                    let Some(mut child) = self.relation_by_oid(k)? else {
                        continue;
                    };
                    child.children.clear();
                    // A column missing in the child is one ALTER TABLE
                    // is adding down the hierarchy right now.
                    let map = rel
                        .columns
                        .iter()
                        .map(|pc| {
                            child
                                .columns
                                .iter()
                                .position(|cc| cc.name == pc.name)
                                .unwrap_or(tusk_sql::catalog::INHERIT_ABSENT)
                        })
                        .collect::<Vec<_>>();
                    next.push((k, child.name.clone()));
                    out.push(InheritChild {
                        rel: child,
                        map,
                        parent: pname.clone(),
                    });
                }
            }
            level = next;
        }
        Ok(out)
    }

    /// pg_inherits rows for `child` under each of `parents`, and the
    /// parents marked relhassubclass.
    pub(super) fn set_inheritance_impl(
        &mut self,
        child: u32,
        parents: &[u32],
    ) -> Result<(), PgError> {
        let i = cat::catalog(cat::PG_INHERITS_OID);
        let c = cat::catalog(PG_CLASS_OID);
        let before = self.inherits_rows("inhrelid", child)?.len();
        for (seq, &p) in parents.iter().enumerate() {
            let seq = seq + before;
            let row = cat::row(
                i,
                &[
                    ("inhrelid", Value::Oid(child)),
                    ("inhparent", Value::Oid(p)),
                    ("inhseqno", Value::Int4(seq as i32 + 1)),
                    ("inhdetachpending", Value::Bool(false)),
                ],
            );
            self.insert_catalog(cat::PG_INHERITS_OID, &row)?;
            if let Some((tid, mut class)) = self.catalog_by_oid(cat::PG_CLASS_OID_INDEX, p)? {
                if class[c.col("relhassubclass")] != Value::Bool(true) {
                    class[c.col("relhassubclass")] = Value::Bool(true);
                    let xid = self.write_xid()?;
                    let cid = self.xact.command_id();
                    self.update_catalog_as(PG_CLASS_OID, tid, &class, xid, cid)?;
                }
            }
        }
        self.xact.command_counter_increment();
        Ok(())
    }

    /// The pg_inherits row of `child` under `parent` removed.
    pub(super) fn remove_inheritance_impl(
        &mut self,
        child: u32,
        parent: u32,
    ) -> Result<(), PgError> {
        let i = cat::catalog(cat::PG_INHERITS_OID);
        for (tid, r) in self.inherits_rows("inhrelid", child)? {
            if oid_of(&r[i.col("inhparent")]) == parent {
                self.delete_catalog(cat::PG_INHERITS_OID, tid)?;
            }
        }
        self.xact.command_counter_increment();
        Ok(())
    }

    /// DROP TABLE: the pg_inherits rows naming the table either way.
    pub(super) fn drop_inheritance(&mut self, oid: u32) -> Result<(), PgError> {
        let mut rows = self.inherits_rows("inhrelid", oid)?;
        rows.extend(self.inherits_rows("inhparent", oid)?);
        for (tid, _) in
            self.catalog_rows_by(cat::PG_PARTITIONED_TABLE_OID, "partrelid", Value::Oid(oid))?
        {
            self.delete_catalog(cat::PG_PARTITIONED_TABLE_OID, tid)?;
        }
        let any = !rows.is_empty();
        for (tid, _) in rows {
            self.delete_catalog(cat::PG_INHERITS_OID, tid)?;
        }
        // The next table of the same DROP must not meet these rows again.
        if any {
            self.xact.command_counter_increment();
        }
        Ok(())
    }
}

impl Session {
    /// CREATE TABLE ... PARTITION BY: relkind 'p' and the key's
    /// pg_partitioned_table row (attnums, 0 for an expression item whose
    /// SQL text goes to partexprs, one per line).
    pub(super) fn set_partitioned_impl(
        &mut self,
        rel: u32,
        key: &tusk_sql::catalog::PartKey,
    ) -> Result<(), PgError> {
        use tusk_sql::catalog::PartKeyCol;
        let c = cat::catalog(PG_CLASS_OID);
        let Some((tid, mut class)) = self.catalog_by_oid(cat::PG_CLASS_OID_INDEX, rel)? else {
            return Ok(());
        };
        class[c.col("relkind")] = Value::Char(b'p');
        // No rows of its own: no access method, as in PostgreSQL.
        class[c.col("relam")] = Value::Oid(0);
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        self.update_catalog_as(PG_CLASS_OID, tid, &class, xid, cid)?;
        let attrs: Vec<String> = key
            .keys
            .iter()
            .map(|k| match k {
                PartKeyCol::Column(i) => (i + 1).to_string(),
                PartKeyCol::Expr(_) => "0".into(),
            })
            .collect();
        let exprs: Vec<&str> = key
            .keys
            .iter()
            .filter_map(|k| match k {
                PartKeyCol::Expr(e) => Some(e.as_str()),
                PartKeyCol::Column(_) => None,
            })
            .collect();
        let zeros = vec!["0"; key.keys.len()].join(" ");
        let row = cat::row(
            cat::catalog(cat::PG_PARTITIONED_TABLE_OID),
            &[
                ("partrelid", Value::Oid(rel)),
                ("partstrat", Value::Char(key.strategy)),
                ("partnatts", Value::Int2(key.keys.len() as i16)),
                ("partdefid", Value::Oid(0)),
                ("partattrs", Value::Text(attrs.join(" "))),
                ("partclass", Value::Text(zeros.clone())),
                ("partcollation", Value::Text(zeros)),
                (
                    "partexprs",
                    if exprs.is_empty() {
                        Value::Null
                    } else {
                        Value::Text(exprs.join("\n"))
                    },
                ),
            ],
        );
        self.insert_catalog(cat::PG_PARTITIONED_TABLE_OID, &row)?;
        self.xact.command_counter_increment();
        Ok(())
    }

    /// relispartition and relpartbound of `rel`.
    pub(super) fn set_partition_bound_impl(
        &mut self,
        rel: u32,
        bound: Option<&str>,
    ) -> Result<(), PgError> {
        let c = cat::catalog(PG_CLASS_OID);
        let Some((tid, mut class)) = self.catalog_by_oid(cat::PG_CLASS_OID_INDEX, rel)? else {
            return Ok(());
        };
        class[c.col("relispartition")] = Value::Bool(bound.is_some());
        class[c.col("relpartbound")] = match bound {
            Some(b) => Value::Text(b.to_string()),
            None => Value::Null,
        };
        let xid = self.write_xid()?;
        let cid = self.xact.command_id();
        self.update_catalog_as(PG_CLASS_OID, tid, &class, xid, cid)?;
        self.xact.command_counter_increment();
        Ok(())
    }

    /// The partition key of partitioned table `rel` (live column
    /// positions), from its pg_partitioned_table row.
    pub(super) fn partition_key(
        &self,
        rel: &Relation,
        oid: u32,
    ) -> Result<Option<tusk_sql::catalog::PartKey>, PgError> {
        use tusk_sql::catalog::PartKeyCol;
        let p = cat::catalog(cat::PG_PARTITIONED_TABLE_OID);
        let rows =
            self.catalog_rows_by(cat::PG_PARTITIONED_TABLE_OID, "partrelid", Value::Oid(oid))?;
        let Some((_, r)) = rows.into_iter().next() else {
            return Ok(None);
        };
        let Value::Char(strategy) = r[p.col("partstrat")] else {
            return Ok(None);
        };
        let attrs = match &r[p.col("partattrs")] {
            Value::Text(t) => t.clone(),
            _ => String::new(),
        };
        let exprs: Vec<String> = match &r[p.col("partexprs")] {
            Value::Text(t) => t.lines().map(str::to_string).collect(),
            _ => Vec::new(),
        };
        let mut exprs = exprs.into_iter();
        let mut keys = Vec::new();
        for a in attrs.split_whitespace() {
            let n: usize = a.parse().unwrap_or(0);
            if n == 0 {
                keys.push(PartKeyCol::Expr(exprs.next().unwrap_or_default()));
            } else {
                let phys = n - 1;
                let before = rel.dropped.iter().filter(|d| d.0 < phys).count();
                keys.push(PartKeyCol::Column(phys - before));
            }
        }
        Ok(Some(tusk_sql::catalog::PartKey { strategy, keys }))
    }
}
