//! REINDEX in all its forms, CLUSTER and ALTER TABLE ... CLUSTER ON / SET WITHOUT CLUSTER for a backend: which indexes and tables a statement names, PostgreSQL's checks and messages, and the work through the index rebuild (tables/index.rs) and the heap rewrite of VACUUM FULL (tables/vacuum.rs).
//!
//! Why this shape:
//! - **One rebuild.** Every REINDEX form ends in `rebuild_index`: a new
//!   relfilenode built from the heap, named by pg_class from commit, the
//!   old file removed at commit (the new one on abort), so a crash or a
//!   rollback leaves the old index intact.
//! - **CONCURRENTLY is CREATE INDEX CONCURRENTLY's build.** tusk's CIC is
//!   a plain build under ShareLock (writers wait for the build, then go
//!   on); REINDEX CONCURRENTLY uses the same lock and the same build, and
//!   keeps PostgreSQL's rules around it: refused in a transaction block,
//!   refused for catalogs, done as a plain REINDEX for temporary tables,
//!   with PostgreSQL's CONCURRENTLY wording of notices and VERBOSE lines.
//! - **Catalog indexes are not rebuilt.** Their entries are added with
//!   every catalog row (tables/catindex.rs) and never missing, and their
//!   files are named by the catalog's fixed layout, not pg_class; REINDEX
//!   of a catalog checks what PostgreSQL checks and leaves them be.
//! - **CLUSTER is VACUUM FULL with an order**: each surviving tuple's rank
//!   in the index's key order, computed here from the heap under
//!   AccessExclusiveLock, is handed to the storage rewrite
//!   (`vacuum::rewrite_heap_ordered`), which places the tuples in rank
//!   order into the new relfilenode with full-page WAL; then every index
//!   is rebuilt over it. pg_index.indisclustered records the index for a
//!   later bare CLUSTER, as PostgreSQL's mark_index_clustered.
//!
//! Everything here runs in the backend that runs the statement.

use super::*;
use tusk_sql::maint::{Cluster, ClusterOn, ReindexKind, ReindexTarget};

use super::index::IndexInfo;
use tusk_storage::catalog::PG_INDEX_OID;

/// PostgreSQL's pg_rusage_show, as far as tusk measures it: the elapsed
/// time (tusk does not read the process's CPU times).
fn rusage(started: std::time::Instant) -> String {
    format!(
        "CPU: user: 0.00 s, system: 0.00 s, elapsed: {:.2} s",
        started.elapsed().as_secs_f64()
    )
}

fn wrong_object(msg: String) -> PgError {
    PgError::error(sqlstate::WRONG_OBJECT_TYPE, msg)
}

fn catalogs_concurrently() -> PgError {
    PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        "cannot reindex system catalogs concurrently",
    )
}

fn is_catalog(t: TableRef) -> bool {
    t.oid < cat::FIRST_NORMAL_OBJECT_ID
}

impl Session {
    fn info_detail(&mut self, msg: String, detail: Option<String>) {
        let mut e = PgError::new(Severity::Info, sqlstate::SUCCESSFUL_COMPLETION, msg);
        if let Some(d) = detail {
            e = e.with_detail(d);
        }
        tusk_sql::Host::notice(self, e);
    }

    /// REINDEX (see `Tables::reindex`).
    pub(super) fn reindex_impl(&mut self, r: &ReindexTarget) -> Result<(), PgError> {
        if r.concurrently {
            self.xact
                .prevent_in_transaction_block("REINDEX CONCURRENTLY")?;
        }
        let global = match r.tablespace.as_deref() {
            None | Some("pg_default") => false,
            Some("pg_global") => true,
            Some(other) => {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_OBJECT,
                    format!("tablespace \"{other}\" does not exist"),
                ))
            }
        };
        let started = std::time::Instant::now();
        match r.kind {
            ReindexKind::Index => {
                let Some((rel, idx)) = self.find_index(r.schema.as_deref(), &r.name)? else {
                    return Err(match self.class_exists(r.schema.as_deref(), &r.name)? {
                        true => wrong_object(format!("\"{}\" is not an index", r.name)),
                        false => PgError::error(
                            sqlstate::UNDEFINED_TABLE,
                            format!("relation \"{}\" does not exist", r.name),
                        ),
                    });
                };
                tusk_sql::acl::check_owner(self, &rel).map_err(|e| PgError {
                    message: format!("must be owner of index {}", r.name),
                    ..e
                })?;
                let t = rel.table()?;
                let concurrently = r.concurrently && !self.is_temp(t);
                if concurrently && is_catalog(t) {
                    return Err(catalogs_concurrently());
                }
                if global && !t.shared {
                    return Err(only_shared());
                }
                self.lock_relation(t, LockMode::Share)?;
                self.reindex_one(&rel, t, &idx)?;
                if r.verbose && !is_catalog(t) {
                    self.report_index(&rel, &idx, concurrently, started, true);
                }
                Ok(())
            }
            ReindexKind::Table => {
                let Some(rel) = self.lookup_table_impl(r.schema.as_deref(), &r.name)? else {
                    return Err(match self.class_exists(r.schema.as_deref(), &r.name)? {
                        true => wrong_object(format!(
                            "\"{}\" is not a table or materialized view",
                            r.name
                        )),
                        false => PgError::error(
                            sqlstate::UNDEFINED_TABLE,
                            format!("relation \"{}\" does not exist", r.name),
                        ),
                    });
                };
                if !matches!(rel.relkind, b'r' | b'm' | b'p' | b't') {
                    return Err(wrong_object(format!(
                        "\"{}\" is not a table or materialized view",
                        r.name
                    )));
                }
                tusk_sql::acl::check_owner(self, &rel)?;
                // A partitioned table's partitions are reindexed each as
                // its own work, outside a transaction block (PostgreSQL's
                // ReindexPartitions), with no notice for missing indexes.
                if rel.relkind == b'p' && !r.concurrently {
                    self.xact
                        .prevent_in_transaction_block("REINDEX TABLE")
                        .map_err(|e| {
                            e.with_context(format!(
                                "while reindexing partitioned table \"{}.{}\"",
                                rel.schema, rel.name
                            ))
                        })?;
                }
                let tables: Vec<Relation> = if rel.relkind == b'p' {
                    rel.children
                        .iter()
                        .filter(|c| c.rel.relkind != b'p')
                        .map(|c| c.rel.clone())
                        .collect()
                } else {
                    vec![rel.clone()]
                };
                let mut concurrently = r.concurrently;
                for tr in &tables {
                    let t = tr.table()?;
                    if self.is_temp(t) {
                        concurrently = false;
                    }
                    if r.concurrently && is_catalog(t) {
                        return Err(catalogs_concurrently());
                    }
                    if global && !t.shared {
                        return Err(only_shared());
                    }
                }
                let mut any = false;
                for tr in &tables {
                    let t = tr.table()?;
                    any |= self.reindex_table(tr, t, r.verbose && !concurrently, concurrently)?;
                }
                if !any && rel.relkind != b'p' {
                    self.notice(if concurrently {
                        format!(
                            "table \"{}\" has no indexes that can be reindexed concurrently",
                            r.name
                        )
                    } else {
                        format!("table \"{}\" has no indexes to reindex", r.name)
                    });
                } else if r.verbose && concurrently {
                    self.report_concurrent(&tables, started, Some(&rel))?;
                }
                Ok(())
            }
            ReindexKind::Schema | ReindexKind::Database | ReindexKind::System => {
                self.reindex_multiple(r, global, started)
            }
        }
    }

    /// Is there a relation of any kind by this name (for the "is not a
    /// table" / "is not an index" errors)?
    fn class_exists(&self, schema: Option<&str>, name: &str) -> Result<bool, PgError> {
        let nss = match schema {
            Some(s) => match self.namespace_oid(s)? {
                Some(o) => vec![o],
                None => return Ok(false),
            },
            None => self.search_path()?,
        };
        Ok(self.find_class(&nss, name)?.is_some())
    }

    /// Is `t` in this session's temporary schema?
    fn is_temp(&self, t: TableRef) -> bool {
        super::view::my_temp_namespace() == Some(t.namespace)
    }

    /// One index rebuilt (a catalog's is left as it is: see the module
    /// comment).
    fn reindex_one(&mut self, rel: &Relation, t: TableRef, idx: &IndexInfo) -> Result<(), PgError> {
        if is_catalog(t) {
            return Ok(());
        }
        self.write_xid()?;
        self.rebuild_index(rel, t, idx)
    }

    /// Every index of one table; whether it had any. `verbose`: the
    /// per-index INFO of a plain REINDEX.
    fn reindex_table(
        &mut self,
        rel: &Relation,
        t: TableRef,
        verbose: bool,
        concurrently: bool,
    ) -> Result<bool, PgError> {
        self.lock_relation(t, LockMode::Share)?;
        let list = self.read_indexes(t.oid)?;
        if concurrently && is_catalog(t) {
            return Ok(false);
        }
        for idx in &list {
            let started = std::time::Instant::now();
            self.reindex_one(rel, t, idx)?;
            if verbose && !is_catalog(t) {
                self.report_index(rel, idx, false, started, true);
            }
        }
        Ok(!list.is_empty())
    }

    /// VERBOSE's line for one index: `index "i" was reindexed` with the
    /// resource usage, or (CONCURRENTLY) the qualified name and the usage
    /// only when it is the statement's last line.
    fn report_index(
        &mut self,
        rel: &Relation,
        idx: &IndexInfo,
        concurrently: bool,
        started: std::time::Instant,
        last: bool,
    ) {
        if concurrently {
            let detail = last.then(|| format!("{}.", rusage(started)));
            self.info_detail(
                format!("index \"{}.{}\" was reindexed", rel.schema, idx.name),
                detail,
            );
        } else {
            self.info_detail(
                format!("index \"{}\" was reindexed", idx.name),
                Some(rusage(started)),
            );
        }
    }

    /// REINDEX CONCURRENTLY's VERBOSE lines: every index of `tables`, then
    /// the table (when one was named) with the usage.
    fn report_concurrent(
        &mut self,
        tables: &[Relation],
        started: std::time::Instant,
        named: Option<&Relation>,
    ) -> Result<(), PgError> {
        for tr in tables {
            let t = tr.table()?;
            for idx in self.read_indexes(t.oid)? {
                self.report_index(tr, &idx, true, started, false);
            }
        }
        if let Some(rel) = named {
            self.info_detail(
                format!("table \"{}.{}\" was reindexed", rel.schema, rel.name),
                Some(format!("{}.", rusage(started))),
            );
        }
        Ok(())
    }

    /// REINDEX SCHEMA / DATABASE / SYSTEM: every table of the schema, the
    /// database, or its catalogs (PostgreSQL's ReindexMultipleTables, in
    /// the statement's one transaction).
    fn reindex_multiple(
        &mut self,
        r: &ReindexTarget,
        global: bool,
        started: std::time::Instant,
    ) -> Result<(), PgError> {
        self.xact
            .prevent_in_transaction_block(&format!("REINDEX {}", r.kind.keyword()))?;
        if r.kind == ReindexKind::System && r.concurrently {
            return Err(catalogs_concurrently());
        }
        let schema = match r.kind {
            ReindexKind::Schema => Some(self.namespace_oid(&r.name)?.ok_or_else(|| {
                PgError::error(
                    codes::INVALID_SCHEMA_NAME,
                    format!("schema \"{}\" does not exist", r.name),
                )
            })?),
            _ => {
                if r.name != self.id.database {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "can only reindex the currently open database",
                    ));
                }
                None
            }
        };
        if let Some(nsp) = schema {
            self.check_schema_owner(nsp, &r.name)?;
        }
        if global {
            return Err(only_shared());
        }
        let c = cat::catalog(PG_CLASS_OID);
        let mut targets = Vec::new();
        let mut warned = false;
        for (_, row) in self.catalog_rows(PG_CLASS_OID)? {
            if !matches!(row[c.col("relkind")], Value::Char(b'r' | b'm')) {
                continue;
            }
            let nsp = oid_of(&row[c.col("relnamespace")]);
            if schema.is_some_and(|s| s != nsp) {
                continue;
            }
            let oid = oid_of(&row[c.col("oid")]);
            let catalog = oid < cat::FIRST_NORMAL_OBJECT_ID;
            if r.kind == ReindexKind::System && !catalog {
                continue;
            }
            // Another session's temporary tables cannot be reindexed.
            let nspname = self.namespace_name(nsp)?;
            if nspname.starts_with("pg_temp_") && super::view::my_temp_namespace() != Some(nsp) {
                continue;
            }
            if r.concurrently && catalog {
                if !warned {
                    tusk_sql::Host::notice(
                        self,
                        PgError::new(
                            Severity::Warning,
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            "cannot reindex system catalogs concurrently, skipping all",
                        ),
                    );
                    warned = true;
                }
                continue;
            }
            let name = name_of(&row[c.col("relname")]).to_string();
            // pg_class first, as PostgreSQL orders it.
            if oid == PG_CLASS_OID {
                targets.insert(0, (nspname, name));
            } else {
                targets.push((nspname, name));
            }
        }
        for (nspname, name) in targets {
            tusk_sql::Host::check_interrupts(self)?;
            let Some(rel) = self.lookup_table_impl(Some(&nspname), &name)? else {
                continue;
            };
            let t = rel.table()?;
            let concurrently = r.concurrently && !self.is_temp(t);
            let any = self.reindex_table(&rel, t, r.verbose && !concurrently, concurrently)?;
            if any && r.verbose && !is_catalog(t) {
                if concurrently {
                    self.report_concurrent(std::slice::from_ref(&rel), started, Some(&rel))?;
                } else {
                    self.info_detail(
                        format!("table \"{}.{}\" was reindexed", rel.schema, rel.name),
                        None,
                    );
                }
            }
        }
        Ok(())
    }

    /// REINDEX SCHEMA is the schema owner's (or a superuser's): 42501
    /// "must be owner of schema s" otherwise.
    fn check_schema_owner(&self, nsp: u32, name: &str) -> Result<(), PgError> {
        if self.id.is_superuser {
            return Ok(());
        }
        let n = cat::catalog(cat::PG_NAMESPACE_OID);
        let owner = self
            .catalog_rows_by(cat::PG_NAMESPACE_OID, "oid", Value::Oid(nsp))?
            .into_iter()
            .find(|(_, r)| oid_of(&r[n.col("oid")]) == nsp)
            .map(|(_, r)| oid_of(&r[n.col("nspowner")]));
        let roles = tusk_sql::Host::acl_roles(self)?;
        let me = roles.by_name(&self.id.user).map(|r| r.oid);
        match (me, owner) {
            (Some(me), Some(owner)) if !roles.has_privs_of(me, owner) => Err(PgError::error(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("must be owner of schema {name}"),
            )),
            _ => Ok(()),
        }
    }

    /// A table's index named `index`, or PostgreSQL's 42704.
    fn index_of_table(
        &self,
        rel: &Relation,
        t: TableRef,
        index: &str,
    ) -> Result<IndexInfo, PgError> {
        self.read_indexes(t.oid)?
            .into_iter()
            .find(|i| i.name == index)
            .ok_or_else(|| {
                PgError::error(
                    sqlstate::UNDEFINED_OBJECT,
                    format!(
                        "index \"{index}\" for table \"{}\" does not exist",
                        rel.name
                    ),
                )
            })
    }

    /// pg_index.indisclustered set on `index` only (None: on none) of
    /// table `t`, as PostgreSQL's mark_index_clustered.
    fn mark_clustered(&mut self, t: TableRef, index: Option<u32>) -> Result<(), PgError> {
        let x = cat::catalog(PG_INDEX_OID);
        let rows = self.catalog_rows_by(PG_INDEX_OID, "indrelid", Value::Oid(t.oid))?;
        for (tid, mut row) in rows {
            if oid_of(&row[x.col("indrelid")]) != t.oid {
                continue;
            }
            let want = Some(oid_of(&row[x.col("indexrelid")])) == index;
            if row[x.col("indisclustered")] != Value::Bool(want) {
                row[x.col("indisclustered")] = Value::Bool(want);
                self.update_catalog(PG_INDEX_OID, tid, &row)?;
            }
        }
        Ok(())
    }

    /// The index of `t` marked clustered, if any.
    fn clustered_index(&self, t: TableRef) -> Result<Option<u32>, PgError> {
        let x = cat::catalog(PG_INDEX_OID);
        Ok(self
            .catalog_rows_by(PG_INDEX_OID, "indrelid", Value::Oid(t.oid))?
            .into_iter()
            .find(|(_, r)| {
                oid_of(&r[x.col("indrelid")]) == t.oid
                    && r[x.col("indisclustered")] == Value::Bool(true)
            })
            .map(|(_, r)| oid_of(&r[x.col("indexrelid")])))
    }

    /// ALTER TABLE ... CLUSTER ON / SET WITHOUT CLUSTER.
    pub(super) fn cluster_on_impl(&mut self, c: &ClusterOn) -> Result<(), PgError> {
        let (schema, name) = &c.table;
        let Some(rel) = self.lookup_table_impl(schema.as_deref(), name)? else {
            if c.if_exists {
                self.notice(format!("relation \"{name}\" does not exist, skipping"));
                return Ok(());
            }
            return Err(PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{name}\" does not exist"),
            ));
        };
        if !matches!(rel.relkind, b'r' | b'm' | b'p') {
            return Err(wrong_object(format!(
                "ALTER action {} cannot be performed on relation \"{}\"",
                if c.index.is_some() {
                    "CLUSTER ON"
                } else {
                    "SET WITHOUT CLUSTER"
                },
                rel.name
            )));
        }
        tusk_sql::acl::check_owner(self, &rel)?;
        let t = rel.table()?;
        self.lock_relation(t, LockMode::ShareUpdateExclusive)?;
        if rel.relkind == b'p' {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "cannot mark index clustered in partitioned table",
            ));
        }
        match &c.index {
            Some(index) => {
                let idx = self.index_of_table(&rel, t, index)?;
                check_clusterable(&idx)?;
                self.mark_clustered(t, Some(idx.oid))
            }
            None => self.mark_clustered(t, None),
        }
    }

    /// CLUSTER (see `Tables::cluster`).
    pub(super) fn cluster_impl(&mut self, c: &Cluster) -> Result<(), PgError> {
        let Some((schema, name)) = &c.table else {
            // Every table with a clustered index, each as CLUSTER t.
            self.xact.prevent_in_transaction_block("CLUSTER")?;
            let x = cat::catalog(PG_INDEX_OID);
            let mut tables = Vec::new();
            for (_, r) in self.catalog_rows(PG_INDEX_OID)? {
                if r[x.col("indisclustered")] == Value::Bool(true) {
                    tables.push(oid_of(&r[x.col("indrelid")]));
                }
            }
            let cl = cat::catalog(PG_CLASS_OID);
            for oid in tables {
                if oid < cat::FIRST_NORMAL_OBJECT_ID {
                    continue;
                }
                let Some((_, class)) = self.catalog_by_oid(cat::PG_CLASS_OID_INDEX, oid)? else {
                    continue;
                };
                let nsp = oid_of(&class[cl.col("relnamespace")]);
                let nspname = self.namespace_name(nsp)?;
                if nspname.starts_with("pg_temp_") && super::view::my_temp_namespace() != Some(nsp)
                {
                    continue;
                }
                let relname = name_of(&class[cl.col("relname")]).to_string();
                let Some(rel) = self.lookup_table_impl(Some(&nspname), &relname)? else {
                    continue;
                };
                // Only the owner's (or a superuser's) tables, silently.
                if tusk_sql::acl::check_owner(self, &rel).is_err() {
                    continue;
                }
                let t = rel.table()?;
                let Some(ioid) = self.clustered_index(t)? else {
                    continue;
                };
                let Some(idx) = self
                    .read_indexes(t.oid)?
                    .into_iter()
                    .find(|i| i.oid == ioid)
                else {
                    continue;
                };
                self.cluster_table(&rel, t, &idx, c.verbose)?;
            }
            return Ok(());
        };
        let Some(rel) = self.lookup_table_impl(schema.as_deref(), name)? else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{name}\" does not exist"),
            ));
        };
        if !matches!(rel.relkind, b'r' | b'm' | b'p') {
            return Err(wrong_object(format!(
                "\"{}\" is not a table or materialized view",
                rel.name
            )));
        }
        tusk_sql::acl::check_owner(self, &rel)?;
        let t = rel.table()?;
        let idx = match &c.index {
            Some(index) => self.index_of_table(&rel, t, index)?,
            None => {
                let found = match self.clustered_index(t)? {
                    Some(oid) => self.read_indexes(t.oid)?.into_iter().find(|i| i.oid == oid),
                    None => None,
                };
                found.ok_or_else(|| {
                    PgError::error(
                        sqlstate::UNDEFINED_OBJECT,
                        format!(
                            "there is no previously clustered index for table \"{}\"",
                            rel.name
                        ),
                    )
                })?
            }
        };
        if is_catalog(t) {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "CLUSTER of system catalog \"{}\" is not supported",
                    rel.name
                ),
            ));
        }
        self.cluster_table(&rel, t, &idx, c.verbose)
    }

    /// One table rewritten in `idx`'s order, `idx` marked clustered.
    fn cluster_table(
        &mut self,
        rel: &Relation,
        t: TableRef,
        idx: &IndexInfo,
        verbose: bool,
    ) -> Result<(), PgError> {
        check_clusterable(idx)?;
        self.lock_relation(t, LockMode::AccessExclusive)?;
        if rel.relkind == b'p' {
            return self.cluster_partitions(rel, idx, verbose);
        }
        self.mark_clustered(t, Some(idx.oid))?;
        self.rewrite_in_order(rel, t, idx, verbose)
    }

    /// Rewrites table `rel` (locked by the caller) with its rows in the
    /// order of `idx`'s columns; VERBOSE says so before and after.
    fn rewrite_in_order(
        &mut self,
        rel: &Relation,
        t: TableRef,
        idx: &IndexInfo,
        verbose: bool,
    ) -> Result<(), PgError> {
        let qualified = format!("{}.{}", rel.schema, rel.name);
        if verbose {
            self.info_detail(
                format!("clustering \"{qualified}\" using sequential scan and sort"),
                None,
            );
        }
        // The file the catalog names now (an earlier rewrite in this
        // transaction may have replaced the one resolved).
        let fi = cat::catalog(PG_CLASS_OID).col("relfilenode");
        let (_, class) = self.class_row(t, || {
            PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{}\" does not exist", rel.name),
            )
        })?;
        let current = TableRef {
            relfilenode: oid_of(&class[fi]),
            ..t
        };
        let rank = self.cluster_ranks(rel, current, idx)?;
        let stats = self.rewrite_table(&rel.schema, &rel.name, t, Some(&rank))?;
        if verbose {
            let (m, d) = stats.verbose_message(&qualified);
            self.info_detail(m, Some(d));
        }
        Ok(())
    }

    /// CLUSTER of a partitioned table: it holds no rows and is never
    /// marked (as PostgreSQL); each leaf partition the user owns is
    /// rewritten in the order of the parent index's key columns, found in
    /// the partition by name (tusk's index on a partitioned table is not
    /// inherited, so the parent's key stands for the partition's). An
    /// index on expressions gives no order for the partitions.
    fn cluster_partitions(
        &mut self,
        rel: &Relation,
        idx: &IndexInfo,
        verbose: bool,
    ) -> Result<(), PgError> {
        if idx.cols.contains(&tusk_sql::index::NO_COLUMN) {
            return Ok(());
        }
        let names: Vec<String> = idx
            .cols
            .iter()
            .map(|&c| rel.columns[c].name.clone())
            .collect();
        for child in &rel.children {
            let leaf = &child.rel;
            if leaf.relkind == b'p' || tusk_sql::acl::check_owner(self, leaf).is_err() {
                continue;
            }
            let t = leaf.table()?;
            let Some(cols) = names
                .iter()
                .map(|n| leaf.columns.iter().position(|c| &c.name == n))
                .collect::<Option<Vec<usize>>>()
            else {
                continue;
            };
            let mut by_name = idx.clone();
            by_name.cols = cols;
            self.lock_relation(t, LockMode::AccessExclusive)?;
            self.rewrite_in_order(leaf, t, &by_name, verbose)?;
        }
        Ok(())
    }

    /// Each non-dead tuple's rank in `idx`'s key order (ties in heap
    /// order), by old TID.
    fn cluster_ranks(
        &mut self,
        rel: &Relation,
        t: TableRef,
        idx: &IndexInfo,
    ) -> Result<HashMap<(u32, u16), u64>, PgError> {
        let (store, engine) = self.table_parts()?;
        let snap = Snapshot::default();
        let current = self.current_xids();
        let types_ = rel.physical_types();
        let loc = locator(store.db, t);
        store.bm.smgr().close(loc);
        let n = nblocks(&store, loc)?;
        let vis = Vis::new(&engine, &store, &snap, &current);
        let mut tuples = Vec::new();
        for block in 0..n {
            let mut owner = ResourceOwner::default();
            let pin = store.bm.read_buffer(&mut owner, loc, Fork::Main, block)?;
            let r = (|| -> Result<(), PgError> {
                let l = store.bm.lock(&pin, LwMode::Shared);
                let p = l.page();
                if page::is_new(p) {
                    return Ok(());
                }
                for off in 1..=page::max_offset(p) {
                    let Some(id) = page::item_id(p, off) else {
                        continue;
                    };
                    if id.flags != LP_NORMAL {
                        continue;
                    }
                    let Some(tup) = page::get_item(p, off) else {
                        continue;
                    };
                    if heapam::Visibility::satisfies_vacuum(&vis, tup) == HtsvResult::Dead {
                        continue;
                    }
                    tuples.push((ItemPointer { block, offset: off }, tup.to_vec()));
                }
                Ok(())
            })();
            store.bm.release(&mut owner, pin);
            owner.release_all(Release::Abort);
            r?;
        }
        vis.check()?;
        // Keys are computed with the page locks let go (an expression may
        // read anything, a value may live in the toast table).
        let mut entries = Vec::with_capacity(tuples.len());
        for (at, tup) in tuples {
            let row = rel.from_physical(self.deform_detoast(t, &tup, &types_)?);
            let key = self.index_key(rel, t, idx, &row)?.unwrap_or_default();
            entries.push((key, at));
        }
        tusk_storage::nbtree::sort_entries(&mut entries);
        Ok(entries
            .into_iter()
            .enumerate()
            .map(|(i, (_, at))| ((at.block, at.offset), i as u64))
            .collect())
    }
}

/// A partial index cannot order every row (PostgreSQL's
/// check_index_is_clusterable).
fn check_clusterable(idx: &IndexInfo) -> Result<(), PgError> {
    if idx.pred.is_some() {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!("cannot cluster on partial index \"{}\"", idx.name),
        ));
    }
    Ok(())
}

fn only_shared() -> PgError {
    PgError::error(
        sqlstate::INVALID_PARAMETER_VALUE,
        "only shared relations can be placed in pg_global tablespace",
    )
}
