//! pg_trigger: storing, finding, enabling and dropping triggers (CREATE/DROP
//! TRIGGER, ALTER TABLE ENABLE/DISABLE TRIGGER, and every row-changing
//! statement's look-up of its table's triggers).
//!
//! Why it is built this way: a trigger is one pg_trigger row in
//! PostgreSQL 15's layout, written with the transaction's xid like any
//! catalog row, so it is transactional and reaches other sessions at
//! commit (the catalog generation then moves). Every INSERT, UPDATE and
//! DELETE asks for its table's triggers, so the answer is cached per
//! backend under the catalog generation (the reset-all invalidation of
//! section 12), and the cache is bypassed while this transaction has
//! changed the catalog itself. tgargs holds the arguments NUL-terminated
//! as PostgreSQL's bytea does; tgqual holds the WHEN condition's SQL text
//! where PostgreSQL keeps a node tree. CREATE TRIGGER sets the table's
//! pg_class.relhastriggers, which psql's `\d` reads before listing them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use tusk_common::PgError;
use tusk_sql::catalog::Relation;
use tusk_sql::trigger::{TriggerDef, TriggerSel};
use tusk_sql::Value;
use tusk_storage::catalog::{self as cat, PG_CLASS_OID, PG_NAMESPACE_OID, PG_TRIGGER_OID};
use tusk_storage::heaptuple::ItemPointer;
use tusk_storage::lmgr::LockMode;

use super::{name_of, oid_of, Session};

/// Triggers by table oid.
type TriggerMap = HashMap<u32, Rc<Vec<TriggerDef>>>;

thread_local! {
    /// (catalog generation, triggers by table oid).
    static CACHE: RefCell<(u64, TriggerMap)> = RefCell::new((u64::MAX, HashMap::new()));
}

fn trigger_def(r: &[Value]) -> TriggerDef {
    let c = cat::catalog(PG_TRIGGER_OID);
    let g = |n: &str| &r[c.col(n)];
    let int2 = |n: &str| match g(n) {
        Value::Int2(v) => *v,
        _ => 0,
    };
    let bool_ = |n: &str| *g(n) == Value::Bool(true);
    let args = match g("tgargs") {
        Value::Bytea(b) => b
            .split(|&x| x == 0)
            .take(int2("tgnargs").max(0) as usize)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
        _ => Vec::new(),
    };
    let attrs = match g("tgattr") {
        Value::Text(s) => s
            .split_whitespace()
            .filter_map(|a| a.parse().ok())
            .collect(),
        _ => Vec::new(),
    };
    TriggerDef {
        oid: oid_of(g("oid")),
        relid: oid_of(g("tgrelid")),
        name: name_of(g("tgname")).to_string(),
        func: oid_of(g("tgfoid")),
        tgtype: int2("tgtype"),
        enabled: match g("tgenabled") {
            Value::Char(c) => *c,
            _ => b'O',
        },
        args,
        attrs,
        when: match g("tgqual") {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        },
        constraint: oid_of(g("tgconstraint")) != 0 || bool_("tgdeferrable"),
        deferrable: bool_("tgdeferrable"),
        initdeferred: bool_("tginitdeferred"),
        old_table: match g("tgoldtable") {
            Value::Name(n) => Some(n.to_string()),
            _ => None,
        },
        new_table: match g("tgnewtable") {
            Value::Name(n) => Some(n.to_string()),
            _ => None,
        },
    }
}

impl Session {
    /// The triggers of table `relid`, in name order, cached under the
    /// catalog generation. Called by the backend running a statement.
    pub(in crate::backend) fn lookup_triggers_impl(
        &self,
        relid: u32,
    ) -> Result<Rc<Vec<TriggerDef>>, PgError> {
        if self.table_parts().is_err() {
            return Ok(Rc::new(Vec::new()));
        }
        let generation = self.catalog_generation();
        if !self.catalog_changed {
            let hit = CACHE.with(|c| {
                let mut c = c.borrow_mut();
                if c.0 != generation {
                    c.1.clear();
                    c.0 = generation;
                }
                c.1.get(&relid).cloned()
            });
            if let Some(h) = hit {
                return Ok(h);
            }
        }
        let ri = cat::catalog(PG_TRIGGER_OID).col("tgrelid");
        let mut found: Vec<TriggerDef> = self
            .catalog_rows_by(PG_TRIGGER_OID, "tgrelid", Value::Oid(relid))?
            .into_iter()
            .filter(|(_, r)| oid_of(&r[ri]) == relid)
            .map(|(_, r)| trigger_def(&r))
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        let found = Rc::new(found);
        if !self.catalog_changed {
            CACHE.with(|c| c.borrow_mut().1.insert(relid, found.clone()));
        }
        Ok(found)
    }

    /// The trigger with pg_trigger oid `oid` (pg_get_triggerdef). Called
    /// by the backend running the statement.
    fn trigger_by_oid_impl(&self, oid: u32) -> Result<Option<TriggerDef>, PgError> {
        if self.table_parts().is_err() {
            return Ok(None);
        }
        let oi = cat::catalog(PG_TRIGGER_OID).col("oid");
        Ok(self
            .catalog_rows_by(PG_TRIGGER_OID, "oid", Value::Oid(oid))?
            .into_iter()
            .find(|(_, r)| oid_of(&r[oi]) == oid)
            .map(|(_, r)| trigger_def(&r)))
    }

    /// The trigger with pg_trigger oid `oid` and its table
    /// (pg_get_triggerdef). Called by the backend running the statement.
    pub(in crate::backend) fn trigger_with_table_impl(
        &self,
        oid: u32,
    ) -> Result<Option<(TriggerDef, Relation)>, PgError> {
        let Some(d) = self.trigger_by_oid_impl(oid)? else {
            return Ok(None);
        };
        let c = cat::catalog(PG_CLASS_OID);
        let Some((_, class)) = self
            .catalog_rows_by(PG_CLASS_OID, "oid", Value::Oid(d.relid))?
            .into_iter()
            .find(|(_, r)| oid_of(&r[c.col("oid")]) == d.relid)
        else {
            return Ok(None);
        };
        let ns = oid_of(&class[c.col("relnamespace")]);
        let n = cat::catalog(PG_NAMESPACE_OID);
        let Some(schema) = self
            .catalog_rows_by(PG_NAMESPACE_OID, "oid", Value::Oid(ns))?
            .into_iter()
            .find(|(_, r)| oid_of(&r[n.col("oid")]) == ns)
            .map(|(_, r)| name_of(&r[n.col("nspname")]).to_string())
        else {
            return Ok(None);
        };
        let rel = self.resolve_table(Some(&schema), name_of(&class[c.col("relname")]))?;
        Ok(rel.map(|r| (d, r)))
    }

    /// The table's pg_trigger rows (TID, definition).
    fn trigger_rows(&self, relid: u32) -> Result<Vec<(ItemPointer, TriggerDef)>, PgError> {
        let ri = cat::catalog(PG_TRIGGER_OID).col("tgrelid");
        Ok(self
            .catalog_rows_by(PG_TRIGGER_OID, "tgrelid", Value::Oid(relid))?
            .into_iter()
            .filter(|(_, r)| oid_of(&r[ri]) == relid)
            .map(|(tid, r)| (tid, trigger_def(&r)))
            .collect())
    }

    fn trigger_row(&self, def: &TriggerDef) -> Vec<Value> {
        let c = cat::catalog(PG_TRIGGER_OID);
        let mut r = vec![Value::Null; c.cols.len()];
        let mut set = |n: &str, v: Value| r[c.col(n)] = v;
        set("oid", Value::Oid(def.oid));
        set("tgrelid", Value::Oid(def.relid));
        set("tgparentid", Value::Oid(0));
        set("tgname", Value::Name(def.name.clone()));
        set("tgfoid", Value::Oid(def.func));
        set("tgtype", Value::Int2(def.tgtype));
        set("tgenabled", Value::Char(def.enabled));
        set("tgisinternal", Value::Bool(false));
        set("tgconstrrelid", Value::Oid(0));
        set("tgconstrindid", Value::Oid(0));
        set("tgconstraint", Value::Oid(0));
        set("tgdeferrable", Value::Bool(def.deferrable));
        set("tginitdeferred", Value::Bool(def.initdeferred));
        set("tgnargs", Value::Int2(def.args.len() as i16));
        let attrs: Vec<String> = def.attrs.iter().map(|a| a.to_string()).collect();
        set("tgattr", Value::Text(attrs.join(" ")));
        let mut args = Vec::new();
        for a in &def.args {
            args.extend_from_slice(a.as_bytes());
            args.push(0);
        }
        set("tgargs", Value::Bytea(args));
        if let Some(w) = &def.when {
            set("tgqual", Value::Text(w.clone()));
        }
        if let Some(n) = &def.old_table {
            set("tgoldtable", Value::Name(n.clone()));
        }
        if let Some(n) = &def.new_table {
            set("tgnewtable", Value::Name(n.clone()));
        }
        r
    }
}

/// CREATE/DROP TRIGGER and ENABLE/DISABLE TRIGGER in the running
/// transaction; called by the backend running the statement.
impl tusk_sql::trigger::Triggers for Session {
    fn create_trigger(
        &mut self,
        rel: &Relation,
        def: &TriggerDef,
        replace: bool,
    ) -> Result<(), PgError> {
        let t = tusk_sql::trigger::trigger_rel(rel)?;
        // PostgreSQL's CreateTrigger takes ShareRowExclusiveLock: no
        // concurrent row changes while the table's triggers change.
        self.lock_relation(t, LockMode::ShareRowExclusive)?;
        let existing = self
            .trigger_rows(t.oid)?
            .into_iter()
            .find(|(_, d)| d.name == def.name);
        let oid = match existing {
            Some((tid, old)) => {
                if !replace {
                    return Err(PgError::error(
                        tusk_common::sqlstate::SqlState::new("42710"),
                        format!(
                            "trigger \"{}\" for relation \"{}\" already exists",
                            def.name, rel.name
                        ),
                    ));
                }
                self.delete_catalog(PG_TRIGGER_OID, tid)?;
                old.oid
            }
            None => self.new_unused_oid(&[(PG_TRIGGER_OID, "oid")])?,
        };
        let mut d = def.clone();
        d.oid = oid;
        d.relid = t.oid;
        let row = self.trigger_row(&d);
        self.insert_catalog(PG_TRIGGER_OID, &row)?;
        self.set_has_triggers(tusk_sql::trigger::trigger_rel(rel)?.oid)
    }

    fn drop_trigger(&mut self, rel: &Relation, name: &str) -> Result<bool, PgError> {
        let t = tusk_sql::trigger::trigger_rel(rel)?;
        self.lock_relation(t, LockMode::AccessExclusive)?;
        let Some((tid, _)) = self
            .trigger_rows(t.oid)?
            .into_iter()
            .find(|(_, d)| d.name == name)
        else {
            return Ok(false);
        };
        self.delete_catalog(PG_TRIGGER_OID, tid)?;
        Ok(true)
    }

    fn rename_trigger(&mut self, rel: &Relation, old: &str, new: &str) -> Result<bool, PgError> {
        let t = tusk_sql::trigger::trigger_rel(rel)?;
        // renametrig takes AccessExclusiveLock on the table.
        self.lock_relation(t, LockMode::AccessExclusive)?;
        let rows = self.trigger_rows(t.oid)?;
        if rows.iter().any(|(_, d)| d.name == new) {
            return Err(PgError::error(
                tusk_common::sqlstate::SqlState::new("42710"),
                format!(
                    "trigger \"{new}\" for relation \"{}\" already exists",
                    rel.name
                ),
            ));
        }
        let Some((tid, mut d)) = rows.into_iter().find(|(_, d)| d.name == old) else {
            return Ok(false);
        };
        d.name = new.to_string();
        let row = self.trigger_row(&d);
        let (xid, cid) = (self.write_xid()?, self.xact.command_id());
        self.update_catalog_as(PG_TRIGGER_OID, tid, &row, xid, cid)?;
        Ok(true)
    }

    fn set_trigger_enabled(
        &mut self,
        rel: &Relation,
        which: &TriggerSel,
        enabled: u8,
    ) -> Result<bool, PgError> {
        let t = tusk_sql::trigger::trigger_rel(rel)?;
        self.lock_relation(t, LockMode::ShareRowExclusive)?;
        let mut any = false;
        for (tid, mut d) in self.trigger_rows(t.oid)? {
            if let TriggerSel::Name(n) = which {
                if &d.name != n {
                    continue;
                }
            }
            any = true;
            if d.enabled == enabled {
                continue;
            }
            d.enabled = enabled;
            let row = self.trigger_row(&d);
            let (xid, cid) = (self.write_xid()?, self.xact.command_id());
            self.update_catalog_as(PG_TRIGGER_OID, tid, &row, xid, cid)?;
        }
        Ok(any || !matches!(which, TriggerSel::Name(_)))
    }
}
