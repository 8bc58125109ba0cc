//! Sequences in a backend: CREATE/ALTER/DROP SEQUENCE as catalog rows (pg_class relkind 'S', pg_attribute, pg_sequence, pg_depend for OWNED BY) plus the one-tuple page, and nextval/currval/lastval/setval over that page with this session's cache.
//!
//! Why this shape (PostgreSQL's sequence.c):
//! - The catalog rows are transactional like a table's; the page is not:
//!   nextval and setval change it in place under the buffer's exclusive
//!   content lock (storage's sequence.rs, which also WAL-logs 32 values
//!   ahead and flushes before a value is returned). A rolled-back nextval
//!   is therefore never handed out again, as in PostgreSQL.
//! - Each session keeps, per sequence, the last value it got and the end
//!   of the values it fetched ahead with CACHE > 1 (PostgreSQL's SeqTable):
//!   currval and lastval read only that, never the page. It lives in a
//!   thread-local of the backend (one session per process).
//! - Parameters come from pg_sequence, cached per backend under the shared
//!   catalog generation like tables (bypassed while this transaction
//!   changes the catalog).
//! - OWNED BY is a pg_depend row (deptype 'a') from the sequence's
//!   pg_class entry to the table column; DROP TABLE drops the sequences
//!   its columns own; pg_get_serial_sequence follows it back.
//!
//! Not yet: ALTER SEQUENCE ... OWNER TO / SET SCHEMA, temporary and
//! unlogged sequences (UNLOGGED is accepted as logged), a dependency of a
//! column DEFAULT on its sequence (DROP SEQUENCE of a serial's sequence
//! is not refused), privileges, RESTART made transactional (it changes
//! the page at once).
//!
//! Everything here runs in the backend that owns the session.

use std::cell::RefCell;
use std::collections::HashMap;
use tusk_sql::acl;

use tusk_common::{sqlstate, PgError};
use tusk_sql::catalog::{codes, TableRef};
use tusk_sql::sequence::{self as sq, QualName, SeqCall, SeqStmt};
use tusk_sql::Value;
use tusk_storage::catalog::{
    self as cat, PG_ATTRIBUTE_OID, PG_CLASS_OID, PG_DEPEND_OID, PG_NAMESPACE_OID, PG_SEQUENCE_OID,
};
use tusk_storage::heaptuple::ItemPointer;
use tusk_storage::heapwal::XlogHeapWal;
use tusk_storage::lmgr::LockMode;
use tusk_storage::sequence::{self as seqdisk, SeqParams, SeqTuple};
use tusk_storage::smgr::{RelFileLocator, DEFAULTTABLESPACE_OID};

use super::{locator, name_of, oid_of, Session};

/// A sequence as the catalog describes it.
#[derive(Debug, Clone)]
struct SeqInfo {
    oid: u32,
    relfilenode: u32,
    namespace: u32,
    name: String,
    typid: u32,
    params: SeqParams,
    /// pg_sequence row's TID, for ALTER.
    tid: ItemPointer,
}

/// This session's view of one sequence (PostgreSQL's SeqTableData).
#[derive(Debug, Clone, Copy)]
struct Elem {
    /// The value last returned (valid once `valid`).
    last: i64,
    /// The last value fetched ahead; `last == cached`: none left.
    cached: i64,
    valid: bool,
    increment: i64,
}

#[derive(Default)]
struct SessionSeqs {
    elems: HashMap<u32, Elem>,
    last_used: Option<u32>,
    generation: u64,
    infos: HashMap<(Option<String>, String, String), SeqInfo>,
}

thread_local! {
    static SEQS: RefCell<SessionSeqs> = RefCell::new(SessionSeqs::default());
}

thread_local! {
    /// OIDs of relations this backend resolved as sequences (relkind 'S'),
    /// so that table writes refuse them without a catalog read.
    static KNOWN: RefCell<std::collections::HashSet<u32>> = RefCell::new(Default::default());
}

/// Remembers that relation `oid` is a sequence (the relation lookup calls
/// it). The session's backend.
pub(crate) fn note_sequence(oid: u32) {
    KNOWN.with(|k| k.borrow_mut().insert(oid));
}

/// A sequence's one row belongs to nextval: INSERT/UPDATE/DELETE are
/// 42809 "cannot change sequence", TRUNCATE and DROP TABLE 42809 "is not
/// a table", as PostgreSQL's CheckValidResultRel and RemoveRelations.
pub(crate) fn refuse_change(
    rel: &tusk_sql::catalog::Relation,
    t: TableRef,
    what: &str,
) -> Result<(), PgError> {
    if !KNOWN.with(|k| k.borrow().contains(&t.oid)) {
        return Ok(());
    }
    Err(match what {
        "change" => PgError::error(
            codes::WRONG_OBJECT_TYPE,
            format!("cannot change sequence \"{}\"", rel.name),
        ),
        "drop" => PgError::error(
            codes::WRONG_OBJECT_TYPE,
            format!("\"{}\" is not a table", rel.name),
        )
        .with_hint("Use DROP SEQUENCE to remove a sequence."),
        _ => PgError::error(
            codes::WRONG_OBJECT_TYPE,
            format!("\"{}\" is not a table", rel.name),
        ),
    })
}

/// DISCARD SEQUENCES / DISCARD ALL: forget currval/lastval and the values
/// fetched ahead. The session's backend.
pub(crate) fn discard_sequences() {
    SEQS.with(|s| {
        let mut s = s.borrow_mut();
        s.elems.clear();
        s.last_used = None;
    });
}

fn undefined_relation(name: &str) -> PgError {
    PgError::error(
        sqlstate::UNDEFINED_TABLE,
        format!("relation \"{name}\" does not exist"),
    )
}

fn seq_row(oid: u32, typid: u32, p: &SeqParams) -> Vec<Value> {
    cat::row(
        cat::catalog(PG_SEQUENCE_OID),
        &[
            ("seqrelid", Value::Oid(oid)),
            ("seqtypid", Value::Oid(typid)),
            ("seqstart", Value::Int8(p.start)),
            ("seqincrement", Value::Int8(p.increment)),
            ("seqmax", Value::Int8(p.max)),
            ("seqmin", Value::Int8(p.min)),
            ("seqcache", Value::Int8(p.cache)),
            ("seqcycle", Value::Bool(p.cycle)),
        ],
    )
}

fn int8(v: &Value) -> i64 {
    match v {
        Value::Int8(i) => *i,
        _ => 0,
    }
}

impl Session {
    fn seq_wal_parts(
        &self,
    ) -> Result<(std::rc::Rc<super::Store>, std::rc::Rc<super::Engine>), PgError> {
        self.table_parts()
    }

    fn seq_locator(&self, relfilenode: u32) -> Result<RelFileLocator, PgError> {
        let (store, _) = self.table_parts()?;
        Ok(locator(
            store.db,
            TableRef {
                oid: relfilenode,
                relfilenode,
                shared: false,
                namespace: 0,
            },
        ))
    }

    /// The namespaces a name is looked up in.
    fn seq_namespaces(&self, schema: Option<&str>) -> Result<Option<Vec<u32>>, PgError> {
        Ok(match schema {
            Some(s) => self.namespace_oid(s)?.map(|o| vec![o]),
            None => Some(self.search_path()?),
        })
    }

    /// The pg_class row of a relation of any kind, by name.
    fn seq_class(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<(ItemPointer, Vec<Value>)>, PgError> {
        match self.seq_namespaces(schema)? {
            Some(nss) => self.find_class(&nss, name),
            None => Ok(None),
        }
    }

    /// The sequence `name`, uncached; `Ok(None)` when no relation has the
    /// name; 42809 when the relation is not a sequence.
    fn seq_lookup_uncached(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<SeqInfo>, PgError> {
        let Some((_, class)) = self.seq_class(schema, name)? else {
            return Ok(None);
        };
        let c = cat::catalog(PG_CLASS_OID);
        if class[c.col("relkind")] != Value::Char(b'S') {
            return Err(PgError::error(
                codes::WRONG_OBJECT_TYPE,
                format!("\"{name}\" is not a sequence"),
            ));
        }
        let oid = oid_of(&class[c.col("oid")]);
        let s = cat::catalog(PG_SEQUENCE_OID);
        let Some((tid, r)) = self
            .catalog_rows_by(PG_SEQUENCE_OID, "seqrelid", Value::Oid(oid))?
            .into_iter()
            .find(|(_, r)| oid_of(&r[s.col("seqrelid")]) == oid)
        else {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!("cache lookup failed for sequence {oid}"),
            ));
        };
        Ok(Some(SeqInfo {
            oid,
            relfilenode: oid_of(&class[c.col("relfilenode")]),
            namespace: oid_of(&class[c.col("relnamespace")]),
            name: name.to_string(),
            typid: oid_of(&r[s.col("seqtypid")]),
            params: SeqParams {
                start: int8(&r[s.col("seqstart")]),
                increment: int8(&r[s.col("seqincrement")]),
                max: int8(&r[s.col("seqmax")]),
                min: int8(&r[s.col("seqmin")]),
                cache: int8(&r[s.col("seqcache")]),
                cycle: r[s.col("seqcycle")] == Value::Bool(true),
            },
            tid,
        }))
    }

    /// The sequence `name` through the per-backend cache (the shared
    /// catalog generation invalidates it, as the relation cache).
    fn seq_lookup(&self, schema: Option<&str>, name: &str) -> Result<Option<SeqInfo>, PgError> {
        let generation = self
            .shared
            .control()
            .catalog_generation
            .load(std::sync::atomic::Ordering::Acquire);
        let key = (
            schema.map(str::to_string),
            name.to_string(),
            tusk_sql::Host::show(self, "search_path")?,
        );
        let hit = SEQS.with(|s| {
            let mut s = s.borrow_mut();
            if s.generation != generation || self.catalog_changed {
                s.infos.clear();
                s.generation = generation;
                None
            } else {
                s.infos.get(&key).cloned()
            }
        });
        if hit.is_some() {
            return Ok(hit);
        }
        let found = self.seq_lookup_uncached(schema, name)?;
        if let Some(i) = &found {
            if !self.catalog_changed {
                SEQS.with(|s| s.borrow_mut().infos.insert(key, i.clone()));
            }
        }
        Ok(found)
    }

    fn seq_by_text(&self, text: &str, lock: LockMode) -> Result<SeqInfo, PgError> {
        let (schema, name) = sq::text_to_qualified_name(text)?;
        let info = self
            .seq_lookup(schema.as_deref(), &name)?
            .ok_or_else(|| undefined_relation(&name))?;
        self.lock_relation(self.seq_ref(&info), lock)?;
        Ok(info)
    }

    /// nextval/currval/setval's privilege check: the role must hold one of
    /// `any_of` on the sequence (42501 "permission denied for sequence s").
    /// A name that resolves to nothing is left to the call's own error.
    fn seq_acl_check(&self, text: &str, any_of: u32) -> Result<(), PgError> {
        if self.id.is_superuser {
            return Ok(());
        }
        let (schema, name) = sq::text_to_qualified_name(text)?;
        match tusk_sql::Host::lookup_table(self, schema.as_deref(), &name)? {
            Some(rel) => acl::check_relation_any(self, &rel, any_of),
            None => Ok(()),
        }
    }

    /// PostgreSQL's PreventCommandIfReadOnly for nextval and setval: a
    /// sequence change writes even though it is not transactional; a
    /// temporary sequence of this session is exempt, as there.
    fn seq_prevent_if_read_only(&self, info: &SeqInfo, what: &str) -> Result<(), PgError> {
        if Some(info.namespace) == super::view::my_temp_namespace() {
            return Ok(());
        }
        if tusk_sql::Host::current_setting(self, "transaction_read_only", true)?.as_deref()
            == Some("on")
        {
            return Err(PgError::error(
                sqlstate::SqlState::new("25006"),
                format!("cannot execute {what} in a read-only transaction"),
            ));
        }
        Ok(())
    }

    fn seq_ref(&self, i: &SeqInfo) -> TableRef {
        TableRef {
            oid: i.oid,
            relfilenode: i.relfilenode,
            shared: false,
            namespace: i.namespace,
        }
    }

    /// nextval, currval, lastval, setval, pg_get_serial_sequence.
    pub(in crate::backend) fn sequence_call_impl(
        &mut self,
        call: SeqCall,
    ) -> Result<Value, PgError> {
        match &call {
            SeqCall::Nextval(t) => self.seq_acl_check(t, acl::USAGE | acl::UPDATE)?,
            SeqCall::Currval(t) => self.seq_acl_check(t, acl::SELECT | acl::USAGE)?,
            SeqCall::Setval { seq, .. } => self.seq_acl_check(seq, acl::UPDATE)?,
            _ => {}
        }
        match call {
            SeqCall::Nextval(text) | SeqCall::IdentityNextval(text) => {
                let info = self.seq_by_text(&text, LockMode::RowExclusive)?;
                self.seq_prevent_if_read_only(&info, "nextval()")?;
                self.nextval(&info).map(Value::Int8)
            }
            SeqCall::Currval(text) => {
                let info = self.seq_by_text(&text, LockMode::AccessShare)?;
                SEQS.with(|s| match s.borrow().elems.get(&info.oid) {
                    Some(e) if e.valid => Ok(Value::Int8(e.last)),
                    _ => Err(PgError::error(
                        sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                        format!(
                            "currval of sequence \"{}\" is not yet defined in this session",
                            info.name
                        ),
                    )),
                })
            }
            SeqCall::Lastval => {
                let not_yet = || {
                    PgError::error(
                        sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                        "lastval is not yet defined in this session",
                    )
                };
                let (oid, last) = SEQS
                    .with(|s| {
                        let s = s.borrow();
                        let oid = s.last_used?;
                        s.elems.get(&oid).filter(|e| e.valid).map(|e| (oid, e.last))
                    })
                    .ok_or_else(not_yet)?;
                // The sequence may have been dropped since.
                let c = cat::catalog(PG_CLASS_OID);
                if !self
                    .catalog_rows_by(PG_CLASS_OID, "oid", Value::Oid(oid))?
                    .iter()
                    .any(|(_, r)| oid_of(&r[c.col("oid")]) == oid)
                {
                    return Err(not_yet());
                }
                Ok(Value::Int8(last))
            }
            SeqCall::Setval {
                seq,
                value,
                is_called,
            } => {
                let info = self.seq_by_text(&seq, LockMode::RowExclusive)?;
                self.seq_prevent_if_read_only(&info, "setval()")?;
                sq::check_setval(&info.name, &info.params, value)?;
                let t = SeqTuple {
                    last_value: value,
                    log_cnt: 0,
                    is_called,
                };
                self.seq_store(&info, t)?;
                SEQS.with(|s| {
                    let mut s = s.borrow_mut();
                    let e = s.elems.entry(info.oid).or_insert(Elem {
                        last: 0,
                        cached: 0,
                        valid: false,
                        increment: info.params.increment,
                    });
                    if is_called {
                        e.last = value;
                        e.valid = true;
                    }
                    e.cached = e.last;
                });
                Ok(Value::Int8(value))
            }
            SeqCall::SerialSequence { table, column } => self.serial_sequence(&table, &column),
        }
    }

    fn nextval(&mut self, info: &SeqInfo) -> Result<i64, PgError> {
        // Values fetched ahead by an earlier call (CACHE > 1).
        let cached = SEQS.with(|s| {
            let mut s = s.borrow_mut();
            let e = s.elems.get_mut(&info.oid)?;
            if e.valid && e.last != e.cached && e.increment == info.params.increment {
                e.last += e.increment;
                let v = e.last;
                s.last_used = Some(info.oid);
                Some(v)
            } else {
                None
            }
        });
        if let Some(v) = cached {
            return Ok(v);
        }
        let (store, engine) = self.seq_wal_parts()?;
        let wal = XlogHeapWal(&engine.xlog);
        let loc = self.seq_locator(info.relfilenode)?;
        let out = seqdisk::update(&store.bm, &wal, loc, |cur, checkpoint_passed| {
            let o = seqdisk::next_values(&info.params, cur, &info.name, checkpoint_passed)?;
            Ok((o, o.store, o.log))
        })?;
        SEQS.with(|s| {
            let mut s = s.borrow_mut();
            s.elems.insert(
                info.oid,
                Elem {
                    last: out.result,
                    cached: out.cached,
                    valid: true,
                    increment: info.params.increment,
                },
            );
            s.last_used = Some(info.oid);
        });
        Ok(out.result)
    }

    /// Writes `t` to the sequence's page and logs it (setval, ALTER
    /// SEQUENCE ... RESTART).
    fn seq_store(&self, info: &SeqInfo, t: SeqTuple) -> Result<(), PgError> {
        let (store, engine) = self.seq_wal_parts()?;
        let wal = XlogHeapWal(&engine.xlog);
        let loc = self.seq_locator(info.relfilenode)?;
        seqdisk::update(&store.bm, &wal, loc, |_, _| Ok(((), t, Some(t))))
    }

    fn seq_read(&self, info: &SeqInfo) -> Result<SeqTuple, PgError> {
        let (store, _) = self.table_parts()?;
        seqdisk::read(&store.bm, self.seq_locator(info.relfilenode)?)
    }

    /// CREATE/ALTER/DROP SEQUENCE.
    pub(super) fn sequence_command_impl(&mut self, stmt: &SeqStmt) -> Result<(), PgError> {
        match stmt {
            SeqStmt::Create {
                name,
                if_not_exists,
                opts,
            } => self.create_sequence(name, *if_not_exists, opts),
            SeqStmt::Alter {
                name,
                if_exists,
                opts,
            } => {
                let Some(info) = self.seq_lookup_uncached(name.0.as_deref(), &name.1)? else {
                    if *if_exists {
                        self.notice(format!("relation \"{}\" does not exist, skipping", name.1));
                        return Ok(());
                    }
                    return Err(undefined_relation(&name.1));
                };
                self.lock_relation(self.seq_ref(&info), LockMode::ShareRowExclusive)?;
                let cur = self.seq_read(&info)?;
                let a = sq::init_params(Some((info.typid, info.params, cur)), opts)?;
                let xid = self.write_xid()?;
                let cid = self.xact.command_id();
                self.update_catalog_as(
                    PG_SEQUENCE_OID,
                    info.tid,
                    &seq_row(info.oid, a.typid, &a.params),
                    xid,
                    cid,
                )?;
                if let Some(t) = a.tuple {
                    self.seq_store(&info, t)?;
                }
                // Values this session fetched ahead follow the old
                // parameters: forget them.
                SEQS.with(|s| {
                    if let Some(e) = s.borrow_mut().elems.get_mut(&info.oid) {
                        e.cached = e.last;
                    }
                });
                let identity = opts.iter().find_map(|o| match o {
                    sq::SeqOpt::Identity(k) => Some(*k),
                    _ => None,
                });
                if let Some(owner) = &a.owned_by {
                    self.set_owned_by(&info, owner.as_ref(), identity)?;
                }
                self.xact.command_counter_increment();
                Ok(())
            }
            SeqStmt::Rename {
                name,
                if_exists,
                to,
            } => {
                let Some(info) = self.seq_lookup_uncached(name.0.as_deref(), &name.1)? else {
                    if *if_exists {
                        self.notice(format!("relation \"{}\" does not exist, skipping", name.1));
                        return Ok(());
                    }
                    return Err(undefined_relation(&name.1));
                };
                if self.find_class(&[info.namespace], to)?.is_some() {
                    return Err(PgError::error(
                        codes::DUPLICATE_TABLE,
                        format!("relation \"{to}\" already exists"),
                    ));
                }
                self.lock_relation(self.seq_ref(&info), LockMode::AccessExclusive)?;
                let (tid, mut class) = self
                    .find_class(&[info.namespace], &info.name)?
                    .ok_or_else(|| undefined_relation(&info.name))?;
                class[cat::catalog(PG_CLASS_OID).col("relname")] = Value::Name(to.clone());
                let xid = self.write_xid()?;
                let cid = self.xact.command_id();
                self.update_catalog_as(PG_CLASS_OID, tid, &class, xid, cid)?;
                self.xact.command_counter_increment();
                Ok(())
            }
            SeqStmt::Drop {
                names,
                if_exists,
                cascade,
            } => {
                let mut found = Vec::new();
                for (schema, name) in names {
                    match self.seq_lookup_uncached(schema.as_deref(), name) {
                        Ok(Some(i)) => found.push(i),
                        Ok(None) if *if_exists => {
                            self.notice(format!("sequence \"{name}\" does not exist, skipping"))
                        }
                        Ok(None) => {
                            return Err(PgError::error(
                                sqlstate::UNDEFINED_TABLE,
                                format!("sequence \"{name}\" does not exist"),
                            ))
                        }
                        Err(e) if e.code == codes::WRONG_OBJECT_TYPE => {
                            return Err(e.with_hint("Use DROP TABLE to remove a table."))
                        }
                        Err(e) => return Err(e),
                    }
                }
                for i in found {
                    self.drop_dependent_defaults(&i, *cascade)?;
                    self.drop_sequence(&i)?;
                }
                Ok(())
            }
        }
    }

    fn create_sequence(
        &mut self,
        name: &QualName,
        if_not_exists: bool,
        opts: &[sq::SeqOpt],
    ) -> Result<(), PgError> {
        let nsp = self.creation_namespace(name.0.as_deref())?;
        if self.find_class(&[nsp], &name.1)?.is_some() {
            if if_not_exists {
                self.notice(format!("relation \"{}\" already exists, skipping", name.1));
                return Ok(());
            }
            return Err(PgError::error(
                codes::DUPLICATE_TABLE,
                format!("relation \"{}\" already exists", name.1),
            ));
        }
        let a = sq::init_params(None, opts)?;
        self.write_xid()?;
        let oid = self.new_relation_oid()?;
        let (store, engine) = self.table_parts()?;
        let loc = RelFileLocator {
            spc: DEFAULTTABLESPACE_OID,
            db: store.db,
            rel: oid,
        };
        self.pending_deletes.push((loc, false));
        let mut class = cat::class_row(oid, &name.1, nsp, 0, oid, false, 3, b'n');
        class[cat::catalog(PG_CLASS_OID).col("relkind")] = Value::Char(b'S');
        let owner = self.current_role_oid()?;
        class[cat::catalog(PG_CLASS_OID).col("relowner")] = Value::Oid(owner);
        if let Some(acl) = self.initial_acl(b'S', owner, nsp)? {
            class[cat::catalog(PG_CLASS_OID).col("relacl")] = Value::Text(acl);
        }
        self.insert_catalog(PG_CLASS_OID, &class)?;
        for (i, (col, ty)) in seqdisk::SEQ_COLUMN_NAMES
            .iter()
            .zip(seqdisk::SEQ_COLUMN_TYPES)
            .enumerate()
        {
            self.insert_catalog(
                PG_ATTRIBUTE_OID,
                &cat::attribute_row(oid, i as i16 + 1, col, ty, -1, true, false),
            )?;
        }
        self.insert_catalog(PG_SEQUENCE_OID, &seq_row(oid, a.typid, &a.params))?;
        let wal = XlogHeapWal(&engine.xlog);
        seqdisk::init_page(
            &store.bm,
            &wal,
            loc,
            a.tuple.expect("creation sets the tuple"),
        )?;
        self.xact.command_counter_increment();
        if let Some(Some(owner)) = &a.owned_by {
            let info = self
                .seq_lookup_uncached(name.0.as_deref(), &name.1)?
                .ok_or_else(|| undefined_relation(&name.1))?;
            self.set_owned_by(&info, Some(owner), None)?;
            self.xact.command_counter_increment();
        }
        Ok(())
    }

    /// Replaces the sequence's OWNED BY dependency (deptype 'a'; 'i' and
    /// the column's attidentity for an identity column).
    fn set_owned_by(
        &mut self,
        info: &SeqInfo,
        owner: Option<&(Option<String>, String, String)>,
        identity: Option<u8>,
    ) -> Result<(), PgError> {
        let target = match owner {
            None => None,
            Some((schema, table, column)) => {
                let rel = self
                    .lookup_table_impl(schema.as_deref(), table)?
                    .ok_or_else(|| undefined_relation(table))?;
                let t = rel.table()?;
                if t.namespace != info.namespace {
                    return Err(PgError::error(
                        sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
                        "sequence must be in same schema as table it is linked to",
                    ));
                }
                let attnum = self.seq_attnum(t.oid, column)?.ok_or_else(|| {
                    PgError::error(
                        sqlstate::UNDEFINED_COLUMN,
                        format!("column \"{column}\" of relation \"{table}\" does not exist"),
                    )
                })?;
                Some((t.oid, attnum))
            }
        };
        let d = cat::catalog(PG_DEPEND_OID);
        for (tid, r) in self.catalog_lookup(
            cat::PG_DEPEND_DEPENDER_INDEX,
            &[Value::Oid(PG_CLASS_OID), Value::Oid(info.oid)],
        )? {
            if oid_of(&r[d.col("classid")]) == PG_CLASS_OID
                && oid_of(&r[d.col("objid")]) == info.oid
                && matches!(r[d.col("deptype")], Value::Char(b'a' | b'i'))
            {
                self.delete_catalog(PG_DEPEND_OID, tid)?;
            }
        }
        if let Some((table, attnum)) = target {
            let row = cat::row(
                d,
                &[
                    ("classid", Value::Oid(PG_CLASS_OID)),
                    ("objid", Value::Oid(info.oid)),
                    ("objsubid", Value::Int4(0)),
                    ("refclassid", Value::Oid(PG_CLASS_OID)),
                    ("refobjid", Value::Oid(table)),
                    ("refobjsubid", Value::Int4(attnum as i32)),
                    (
                        "deptype",
                        Value::Char(if identity.is_some() { b'i' } else { b'a' }),
                    ),
                ],
            );
            self.insert_catalog(PG_DEPEND_OID, &row)?;
            if let Some(kind) = identity {
                let a = cat::catalog(PG_ATTRIBUTE_OID);
                if let Some((atid, mut row)) = self
                    .catalog_rows_by(PG_ATTRIBUTE_OID, "attrelid", Value::Oid(table))?
                    .into_iter()
                    .find(|(_, r)| {
                        oid_of(&r[a.col("attrelid")]) == table
                            && r[a.col("attnum")] == Value::Int2(attnum)
                    })
                {
                    row[a.col("attidentity")] = Value::Char(kind);
                    let xid = self.write_xid()?;
                    let cid = self.xact.command_id();
                    self.update_catalog_as(PG_ATTRIBUTE_OID, atid, &row, xid, cid)?;
                }
            }
        }
        Ok(())
    }

    /// The attnum of a live column.
    fn seq_attnum(&self, rel: u32, column: &str) -> Result<Option<i16>, PgError> {
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        Ok(self
            .catalog_rows_by(PG_ATTRIBUTE_OID, "attrelid", Value::Oid(rel))?
            .into_iter()
            .find(|(_, r)| {
                oid_of(&r[a.col("attrelid")]) == rel
                    && name_of(&r[a.col("attname")]) == column
                    && r[a.col("attisdropped")] != Value::Bool(true)
            })
            .and_then(|(_, r)| match r[a.col("attnum")] {
                Value::Int2(n) if n > 0 => Some(n),
                _ => None,
            }))
    }

    /// Column DEFAULTs that call nextval of this sequence (a serial's):
    /// 2BP01 as PostgreSQL's dependency check, or with CASCADE each
    /// default dropped with PostgreSQL's NOTICE. tusk keeps no pg_depend
    /// row for a default, so the defaults' texts are searched for the
    /// name as serial_default writes it.
    fn drop_dependent_defaults(&mut self, info: &SeqInfo, cascade: bool) -> Result<(), PgError> {
        let nsname = self.seq_namespace_name(info.namespace)?;
        let needles = [
            sq::serial_default(None, &info.name),
            sq::serial_default(Some(&nsname), &info.name),
        ];
        let d = cat::catalog(cat::PG_ATTRDEF_OID);
        let mut hits = Vec::new();
        for (tid, r) in self.catalog_rows(cat::PG_ATTRDEF_OID)? {
            let text = name_of(&r[d.col("adbin")]);
            if needles.iter().any(|n| text.contains(n.as_str())) {
                let Value::Int2(num) = r[d.col("adnum")] else {
                    continue;
                };
                hits.push((tid, oid_of(&r[d.col("adrelid")]), num));
            }
        }
        if hits.is_empty() {
            return Ok(());
        }
        let c = cat::catalog(PG_CLASS_OID);
        let a = cat::catalog(PG_ATTRIBUTE_OID);
        let classes = self.catalog_rows(PG_CLASS_OID)?;
        let attrs = self.catalog_rows(PG_ATTRIBUTE_OID)?;
        let mut what = Vec::new();
        for &(_, rel, num) in &hits {
            let table = classes
                .iter()
                .find(|(_, r)| oid_of(&r[c.col("oid")]) == rel)
                .map(|(_, r)| name_of(&r[c.col("relname")]).to_string())
                .unwrap_or_default();
            let attr = attrs.iter().find(|(_, r)| {
                oid_of(&r[a.col("attrelid")]) == rel && r[a.col("attnum")] == Value::Int2(num)
            });
            let col = attr
                .map(|(_, r)| name_of(&r[a.col("attname")]).to_string())
                .unwrap_or_default();
            what.push((
                format!("default value for column {col} of table {table}"),
                attr.cloned(),
            ));
        }
        if !cascade {
            let detail = what
                .iter()
                .map(|(w, _)| format!("{w} depends on sequence {}", info.name))
                .collect::<Vec<_>>()
                .join("\n");
            return Err(PgError::error(
                codes::DEPENDENT_OBJECTS_STILL_EXIST,
                format!(
                    "cannot drop sequence {} because other objects depend on it",
                    info.name
                ),
            )
            .with_detail(detail)
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        if what.len() == 1 {
            self.notice(format!("drop cascades to {}", what[0].0));
        } else {
            let list = what
                .iter()
                .map(|(w, _)| format!("drop cascades to {w}"))
                .collect::<Vec<_>>()
                .join("\n");
            tusk_sql::Host::notice(
                self,
                PgError::new(
                    tusk_common::Severity::Notice,
                    sqlstate::SUCCESSFUL_COMPLETION,
                    format!("drop cascades to {} other objects", what.len()),
                )
                .with_detail(list),
            );
        }
        for ((tid, _, _), (_, attr)) in hits.into_iter().zip(what) {
            self.delete_catalog(cat::PG_ATTRDEF_OID, tid)?;
            if let Some((atid, mut row)) = attr {
                row[a.col("atthasdef")] = Value::Bool(false);
                let xid = self.write_xid()?;
                let cid = self.xact.command_id();
                self.update_catalog_as(PG_ATTRIBUTE_OID, atid, &row, xid, cid)?;
            }
        }
        Ok(())
    }

    /// DROP SEQUENCE schema.name CASCADE for the temporary-namespace
    /// clean-up (view.rs): false when there is no such sequence.
    pub(super) fn drop_sequence_cascade(
        &mut self,
        schema: &str,
        name: &str,
    ) -> Result<bool, PgError> {
        let Some(info) = self.seq_lookup_uncached(Some(schema), name)? else {
            return Ok(false);
        };
        self.drop_dependent_defaults(&info, true)?;
        self.drop_sequence(&info)?;
        Ok(true)
    }

    /// Removes a sequence's catalog rows; its file goes at commit.
    fn drop_sequence(&mut self, info: &SeqInfo) -> Result<(), PgError> {
        self.lock_relation(self.seq_ref(info), LockMode::AccessExclusive)?;
        let c = cat::catalog(PG_CLASS_OID);
        for (tid, r) in self.catalog_rows(PG_CLASS_OID)? {
            if oid_of(&r[c.col("oid")]) == info.oid {
                self.delete_catalog(PG_CLASS_OID, tid)?;
            }
        }
        for (catoid, col) in [
            (PG_ATTRIBUTE_OID, "attrelid"),
            (PG_SEQUENCE_OID, "seqrelid"),
            (PG_DEPEND_OID, "objid"),
        ] {
            let i = cat::catalog(catoid).col(col);
            for (tid, r) in self.catalog_rows(catoid)? {
                if oid_of(&r[i]) == info.oid {
                    self.delete_catalog(catoid, tid)?;
                }
            }
        }
        let loc = self.seq_locator(info.relfilenode)?;
        self.pending_deletes.push((loc, true));
        Ok(())
    }

    /// DROP TABLE: the sequences its columns own (serial, OWNED BY) go
    /// with it, as PostgreSQL's auto dependencies. Called by drop_table
    /// before the table's rows are deleted.
    pub(super) fn drop_owned_sequences(&mut self, table: u32) -> Result<(), PgError> {
        let d = cat::catalog(PG_DEPEND_OID);
        let owned: Vec<u32> = self
            .catalog_rows(PG_DEPEND_OID)?
            .into_iter()
            .filter(|(_, r)| {
                oid_of(&r[d.col("classid")]) == PG_CLASS_OID
                    && oid_of(&r[d.col("refobjid")]) == table
                    && matches!(r[d.col("deptype")], Value::Char(b'a' | b'i'))
            })
            .map(|(_, r)| oid_of(&r[d.col("objid")]))
            .collect();
        if owned.is_empty() {
            return Ok(());
        }
        let c = cat::catalog(PG_CLASS_OID);
        for (_, r) in self.catalog_rows(PG_CLASS_OID)? {
            let oid = oid_of(&r[c.col("oid")]);
            if owned.contains(&oid) && r[c.col("relkind")] == Value::Char(b'S') {
                let nsp = oid_of(&r[c.col("relnamespace")]);
                let name = name_of(&r[c.col("relname")]).to_string();
                let nsname = self.seq_namespace_name(nsp)?;
                if let Some(info) = self.seq_lookup_uncached(Some(&nsname), &name)? {
                    self.drop_sequence(&info)?;
                }
            }
        }
        Ok(())
    }

    fn seq_namespace_name(&self, nsp: u32) -> Result<String, PgError> {
        let n = cat::catalog(PG_NAMESPACE_OID);
        Ok(self
            .catalog_rows(PG_NAMESPACE_OID)?
            .into_iter()
            .find(|(_, r)| oid_of(&r[n.col("oid")]) == nsp)
            .map(|(_, r)| name_of(&r[n.col("nspname")]).to_string())
            .unwrap_or_default())
    }

    /// pg_get_serial_sequence(table, column): `schema.seq` of the sequence
    /// the column owns, NULL when none.
    fn serial_sequence(&mut self, table: &str, column: &str) -> Result<Value, PgError> {
        let (schema, tname) = sq::text_to_qualified_name(table)?;
        let rel = self
            .lookup_table_impl(schema.as_deref(), &tname)?
            .ok_or_else(|| undefined_relation(&tname))?;
        let t = rel.table()?;
        let column = column.to_string();
        let attnum = self.seq_attnum(t.oid, &column)?.ok_or_else(|| {
            PgError::error(
                sqlstate::UNDEFINED_COLUMN,
                format!("column \"{column}\" of relation \"{tname}\" does not exist"),
            )
        })?;
        let d = cat::catalog(PG_DEPEND_OID);
        let seq = self
            .catalog_rows(PG_DEPEND_OID)?
            .into_iter()
            .find_map(|(_, r)| {
                (oid_of(&r[d.col("classid")]) == PG_CLASS_OID
                    && oid_of(&r[d.col("refobjid")]) == t.oid
                    && r[d.col("refobjsubid")] == Value::Int4(attnum as i32)
                    && matches!(r[d.col("deptype")], Value::Char(b'a' | b'i')))
                .then(|| oid_of(&r[d.col("objid")]))
            });
        let Some(seq) = seq else {
            return Ok(Value::Null);
        };
        let c = cat::catalog(PG_CLASS_OID);
        let Some((_, r)) = self
            .catalog_rows(PG_CLASS_OID)?
            .into_iter()
            .find(|(_, r)| oid_of(&r[c.col("oid")]) == seq)
        else {
            return Ok(Value::Null);
        };
        let nsname = self.seq_namespace_name(oid_of(&r[c.col("relnamespace")]))?;
        let q = |s: &str| {
            if s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !s.starts_with(|c: char| c.is_ascii_digit())
            {
                s.to_string()
            } else {
                format!("\"{}\"", s.replace('"', "\"\""))
            }
        };
        Ok(Value::Text(format!(
            "{}.{}",
            q(&nsname),
            q(name_of(&r[c.col("relname")]))
        )))
    }
}
