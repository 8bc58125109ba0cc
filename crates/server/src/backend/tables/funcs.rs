//! pg_proc: storing, finding and dropping user-defined functions and
//! procedures (CREATE/DROP FUNCTION, and every call's name resolution).
//!
//! Why it is built this way: a routine is one pg_proc row in PostgreSQL
//! 15's layout, written with the transaction's xid like any catalog row,
//! so it is transactional, survives restart and reaches other sessions
//! when the transaction commits (the catalog generation counter then
//! moves). Lookups are cached per backend under that same generation
//! (the reset-all invalidation of section 12), and bypass the cache while
//! this transaction has changed the catalog itself. The array columns
//! (proargtypes, proallargtypes, proargmodes, proargnames) are written in
//! PostgreSQL's ArrayType layout here, the tuple codec passing their bytes
//! through; argument defaults are kept as SQL text (one per line) in
//! proargdefaults, which PostgreSQL would hold as a node tree.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use tusk_common::{sqlstate, PgError};
use tusk_sql::catalog::FuncDef;
use tusk_sql::types::{self, Oid};
use tusk_sql::Value;
use tusk_storage::catalog::{self as cat, PG_NAMESPACE_OID, PG_PROC_OID};

use super::{name_of, oid_of, Session, TableCtx};

/// pg_language OIDs: `sql` is PostgreSQL's 14; plpgsql, an extension in
/// PostgreSQL with an OID of its installation, gets a fixed one here.
const SQL_LANG: Oid = 14;
const PLPGSQL_LANG: Oid = 13_999;
/// `internal`: built-in functions named by prosrc (operator.rs's table).
const INTERNAL_LANG: Oid = 12;

fn language_oid(name: &str) -> Oid {
    match name {
        "sql" => SQL_LANG,
        "internal" => INTERNAL_LANG,
        _ => PLPGSQL_LANG,
    }
}

/// Routines by (schema, name, search_path).
type RoutineMap = HashMap<(Option<String>, String, String), Vec<Rc<FuncDef>>>;

thread_local! {
    /// (catalog generation, routines found).
    static CACHE: RefCell<(u64, RoutineMap)> =
        RefCell::new((u64::MAX, HashMap::new()));
}

/// ArrayType bytes (after the varlena header) of a one-dimensional array
/// without NULLs; `elem` gives each element's bytes, `align` their
/// alignment.
fn array_bytes(elem_type: Oid, lbound: i32, elems: &[Vec<u8>], align: usize) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&1i32.to_le_bytes());
    b.extend_from_slice(&0i32.to_le_bytes());
    b.extend_from_slice(&elem_type.to_le_bytes());
    b.extend_from_slice(&(elems.len() as i32).to_le_bytes());
    b.extend_from_slice(&lbound.to_le_bytes());
    for e in elems {
        // Offsets count from the varlena header (4 bytes before `b`).
        while (b.len() + 4) % align != 0 {
            b.push(0);
        }
        b.extend_from_slice(e);
    }
    b
}

fn oid_array(v: &[Oid], lbound: i32) -> Vec<u8> {
    let elems: Vec<Vec<u8>> = v.iter().map(|o| o.to_le_bytes().to_vec()).collect();
    array_bytes(types::OID, lbound, &elems, 4)
}

fn text_array(v: &[String]) -> Vec<u8> {
    let elems: Vec<Vec<u8>> = v
        .iter()
        .map(|s| {
            let mut e = (((s.len() + 4) as u32) << 2).to_le_bytes().to_vec();
            e.extend_from_slice(s.as_bytes());
            e
        })
        .collect();
    array_bytes(types::TEXT, 1, &elems, 4)
}

/// The elements of an ArrayType written by [`array_bytes`] (or by
/// PostgreSQL): each element's bytes; varlena elements without header.
fn array_elems(b: &[u8], elem_len: Option<usize>) -> Vec<Vec<u8>> {
    let rd =
        |o: usize| -> Option<u32> { Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?)) };
    let Some(ndim) = rd(0) else {
        return Vec::new();
    };
    if ndim == 0 {
        return Vec::new();
    }
    let n = rd(12).unwrap_or(0) as usize;
    let mut off = 20;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        match elem_len {
            Some(l) => {
                if let Some(e) = b.get(off..off + l) {
                    out.push(e.to_vec());
                }
                off += l;
            }
            None => {
                if b.get(off).is_some_and(|x| x & 1 == 0) {
                    while (off + 4) % 4 != 0 {
                        off += 1;
                    }
                }
                let Some(&h) = b.get(off) else { break };
                if h & 1 == 1 {
                    let len = (h >> 1) as usize;
                    out.push(b.get(off + 1..off + len).unwrap_or(&[]).to_vec());
                    off += len.max(1);
                } else {
                    let len = (rd(off).unwrap_or(4) >> 2) as usize;
                    out.push(b.get(off + 4..off + len).unwrap_or(&[]).to_vec());
                    off += len.max(4);
                }
            }
        }
    }
    out
}

/// The ArrayType bytes of a pg_proc array column as read back: oidvector
/// reads as its text form, the other arrays as array values.
fn bytes_of(v: &Value) -> Vec<u8> {
    match v {
        Value::Bytea(b) => b.clone(),
        Value::Array(a) => tusk_storage::datum::array_to_disk(a).unwrap_or_default(),
        Value::Text(_) => match tusk_storage::datum::to_datum(v, tusk_storage::datum::OIDVECTOR) {
            Ok(Some(tusk_storage::datum::Owned::Ref(b))) => b,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

impl Session {
    /// Table scans for a statement inside a function: the snapshot of
    /// now at the current command id. Called by the backend.
    pub(in crate::backend) fn nested_table_ctx(&self) -> Option<Result<TableCtx, PgError>> {
        Some((|| {
            let (store, engine) = self.table_parts()?;
            let snap = self.statement_snapshot()?;
            Ok(TableCtx {
                store,
                engine,
                snap,
                current: self.current_xids(),
            })
        })())
    }

    /// The plan generation for routine caches: the shared catalog
    /// generation, or none while this transaction changed the catalog.
    pub(in crate::backend) fn routine_plan_generation(&self) -> Option<u64> {
        if self.catalog_changed {
            None
        } else {
            Some(self.catalog_generation())
        }
    }

    fn proc_def(&self, r: &[Value], schemas: &HashMap<u32, String>) -> FuncDef {
        fn ch_kind(r: &[Value], c: &cat::Catalog) -> u8 {
            match &r[c.col("prokind")] {
                Value::Char(k) => *k,
                _ => b'f',
            }
        }
        let c = cat::catalog(PG_PROC_OID);
        let g = |n: &str| &r[c.col(n)];
        let arg_types: Vec<Oid> = array_elems(&bytes_of(g("proargtypes")), Some(4))
            .iter()
            .map(|e| u32::from_le_bytes(e[..4].try_into().unwrap_or([0; 4])))
            .collect();
        let all_names: Vec<String> = array_elems(&bytes_of(g("proargnames")), None)
            .into_iter()
            .map(|e| String::from_utf8_lossy(&e).into_owned())
            .collect();
        let modes: Vec<u8> = array_elems(&bytes_of(g("proargmodes")), Some(1))
            .into_iter()
            .map(|e| e[0])
            .collect();
        let all_types: Vec<Oid> = array_elems(&bytes_of(g("proallargtypes")), Some(4))
            .iter()
            .map(|e| u32::from_le_bytes(e[..4].try_into().unwrap_or([0; 4])))
            .collect();
        let mut arg_names = Vec::new();
        let mut out_cols = Vec::new();
        if modes.is_empty() {
            for i in 0..arg_types.len() {
                arg_names.push(all_names.get(i).cloned().unwrap_or_default());
            }
        } else {
            for (i, m) in modes.iter().enumerate() {
                let n = all_names.get(i).cloned().unwrap_or_default();
                match m {
                    b't' | b'o' | b'r' => {
                        out_cols.push((n, all_types.get(i).copied().unwrap_or(0)))
                    }
                    b'b' => {
                        arg_names.push(n.clone());
                        out_cols.push((n, all_types.get(i).copied().unwrap_or(0)));
                    }
                    _ => arg_names.push(n),
                }
            }
        }
        // A single OUT/INOUT parameter is the result itself, not a row.
        // (A procedure's are always a row.)
        if ch_kind(r, c) != b'p'
            && !modes.contains(&b't')
            && !modes.contains(&b'r')
            && out_cols.len() == 1
        {
            out_cols.clear();
        }
        let defaults = match g("proargdefaults") {
            Value::Text(s) if !s.is_empty() => s.lines().map(str::to_string).collect(),
            _ => Vec::new(),
        };
        let ch = |n: &str| match g(n) {
            Value::Char(c) => *c,
            _ => 0,
        };
        let ns = oid_of(g("pronamespace"));
        FuncDef {
            oid: oid_of(g("oid")),
            schema: schemas.get(&ns).cloned().unwrap_or_default(),
            name: name_of(g("proname")).to_string(),
            kind: ch("prokind"),
            arg_types,
            arg_names,
            defaults,
            ret: oid_of(g("prorettype")),
            retset: *g("proretset") == Value::Bool(true),
            out_vars: modes.contains(&b't'),
            out_cols,
            language: match oid_of(g("prolang")) {
                SQL_LANG => "sql".into(),
                INTERNAL_LANG => "internal".into(),
                _ => "plpgsql".into(),
            },
            src: match (g("prosqlbody"), g("prosrc")) {
                (Value::Text(s), _) | (_, Value::Text(s)) => s.clone(),
                _ => String::new(),
            },
            strict: *g("proisstrict") == Value::Bool(true),
            volatility: ch("provolatile"),
            owner: oid_of(g("proowner")),
            acl: match g("proacl") {
                Value::Text(s) => Some(s.clone()),
                _ => None,
            },
            attrs: tusk_sql::ProcAttrs {
                secdef: *g("prosecdef") == Value::Bool(true),
                leakproof: *g("proleakproof") == Value::Bool(true),
                cost: match g("procost") {
                    Value::Float4(f) => *f,
                    _ => 100.0,
                },
                rows: match g("prorows") {
                    Value::Float4(f) => *f,
                    _ => 0.0,
                },
                parallel: match ch("proparallel") {
                    0 => b'u',
                    c => c,
                },
                config: array_elems(&bytes_of(g("proconfig")), None)
                    .into_iter()
                    .map(|e| String::from_utf8_lossy(&e).into_owned())
                    .collect(),
                sqlbody: matches!(g("prosqlbody"), Value::Text(_)),
                params: if modes.iter().any(|m| matches!(m, b'o' | b'b' | b'v')) {
                    modes
                        .iter()
                        .enumerate()
                        .map(|(i, &m)| {
                            (
                                m,
                                all_names.get(i).cloned().unwrap_or_default(),
                                all_types.get(i).copied().unwrap_or(0),
                            )
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            },
            variadic: oid_of(g("provariadic")),
        }
    }

    pub(in crate::backend) fn schema_names(&self) -> Result<HashMap<u32, String>, PgError> {
        let n = cat::catalog(PG_NAMESPACE_OID);
        Ok(self
            .catalog_rows(PG_NAMESPACE_OID)?
            .into_iter()
            .map(|(_, r)| {
                (
                    oid_of(&r[n.col("oid")]),
                    name_of(&r[n.col("nspname")]).to_string(),
                )
            })
            .collect())
    }

    /// Every routine named `name` in `schema` (or along search_path, the
    /// first schema holding any), cached under the catalog generation.
    /// Called by the backend binding a call.
    pub(in crate::backend) fn lookup_routines_impl(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Vec<Rc<FuncDef>>, PgError> {
        if self.table_parts().is_err() {
            return Ok(Vec::new());
        }
        let generation = self.catalog_generation();
        let key = (
            schema.map(str::to_string),
            name.to_string(),
            tusk_sql::Host::show(self, "search_path")?,
        );
        if !self.catalog_changed {
            let hit = CACHE.with(|c| {
                let mut c = c.borrow_mut();
                if c.0 != generation {
                    c.1.clear();
                    c.0 = generation;
                }
                c.1.get(&key).cloned()
            });
            if let Some(h) = hit {
                return Ok(h);
            }
        }
        let nss = match schema {
            Some(s) => match self.namespace_oid(s)? {
                Some(o) => vec![o],
                None => {
                    return Err(PgError::error(
                        codes_invalid_schema(),
                        format!("schema \"{s}\" does not exist"),
                    ))
                }
            },
            None => self.search_path()?,
        };
        let c = cat::catalog(PG_PROC_OID);
        let (ni, si) = (c.col("proname"), c.col("pronamespace"));
        let rows = self.catalog_rows(PG_PROC_OID)?;
        let schemas = self.schema_names()?;
        let mut found = Vec::new();
        for ns in nss {
            for (_, r) in rows
                .iter()
                .filter(|(_, r)| oid_of(&r[si]) == ns && name_of(&r[ni]) == name)
            {
                found.push(Rc::new(self.proc_def(r, &schemas)));
            }
            if !found.is_empty() {
                break;
            }
        }
        if !self.catalog_changed {
            CACHE.with(|c| c.borrow_mut().1.insert(key, found.clone()));
        }
        Ok(found)
    }

    /// The routine with pg_proc oid `oid` (psql's `\df`). Called by the
    /// backend running the statement.
    pub(in crate::backend) fn routine_by_oid_impl(
        &self,
        oid: u32,
    ) -> Result<Option<Rc<FuncDef>>, PgError> {
        if self.table_parts().is_err() {
            return Ok(None);
        }
        let i = cat::catalog(PG_PROC_OID).col("oid");
        let schemas = self.schema_names()?;
        Ok(self
            .catalog_rows(PG_PROC_OID)?
            .into_iter()
            .find(|(_, r)| oid_of(&r[i]) == oid)
            .map(|(_, r)| Rc::new(self.proc_def(&r, &schemas))))
    }

    fn proc_row(&self, def: &FuncDef, oid: u32, ns: u32) -> Vec<Value> {
        let c = cat::catalog(PG_PROC_OID);
        let mut r = vec![Value::Null; c.cols.len()];
        let mut set = |n: &str, v: Value| r[c.col(n)] = v;
        set("oid", Value::Oid(oid));
        set("proname", Value::Name(def.name.clone()));
        set("pronamespace", Value::Oid(ns));
        set(
            "proowner",
            Value::Oid(if def.owner != 0 {
                def.owner
            } else {
                self.current_role_oid().unwrap_or(10)
            }),
        );
        if let Some(a) = &def.acl {
            set("proacl", Value::Text(a.clone()));
        }
        set("prolang", Value::Oid(language_oid(&def.language)));
        set("procost", Value::Float4(def.attrs.cost));
        set(
            "prorows",
            Value::Float4(if def.retset && def.attrs.rows == 0.0 {
                1000.0
            } else if def.retset {
                def.attrs.rows
            } else {
                0.0
            }),
        );
        set("provariadic", Value::Oid(def.variadic));
        set("prosupport", Value::Oid(0));
        set("prokind", Value::Char(def.kind));
        set("prosecdef", Value::Bool(def.attrs.secdef));
        set("proleakproof", Value::Bool(def.attrs.leakproof));
        set("proisstrict", Value::Bool(def.strict));
        set("proretset", Value::Bool(def.retset));
        set("provolatile", Value::Char(def.volatility));
        set("proparallel", Value::Char(def.attrs.parallel));
        set("pronargs", Value::Int2(def.arg_types.len() as i16));
        set("pronargdefaults", Value::Int2(def.defaults.len() as i16));
        set("prorettype", Value::Oid(def.ret));
        set("proargtypes", Value::Bytea(oid_array(&def.arg_types, 0)));
        let mut names = def.arg_names.clone();
        if !def.attrs.params.is_empty() {
            // OUT/INOUT/VARIADIC parameters: every parameter in order.
            let all: Vec<Oid> = def.attrs.params.iter().map(|p| p.2).collect();
            let modes: Vec<Vec<u8>> = def.attrs.params.iter().map(|p| vec![p.0]).collect();
            names = def.attrs.params.iter().map(|p| p.1.clone()).collect();
            set("proallargtypes", Value::Bytea(oid_array(&all, 1)));
            set(
                "proargmodes",
                Value::Bytea(array_bytes(types::CHAR, 1, &modes, 1)),
            );
        } else if !def.out_cols.is_empty() {
            let mut all = def.arg_types.clone();
            let mut modes: Vec<Vec<u8>> = vec![vec![b'i']; def.arg_types.len()];
            for (n, t) in &def.out_cols {
                all.push(*t);
                modes.push(vec![if def.out_vars { b't' } else { b'r' }]);
                names.push(n.clone());
            }
            set("proallargtypes", Value::Bytea(oid_array(&all, 1)));
            set(
                "proargmodes",
                Value::Bytea(array_bytes(types::CHAR, 1, &modes, 1)),
            );
        }
        if names.iter().any(|n| !n.is_empty()) {
            set("proargnames", Value::Bytea(text_array(&names)));
        }
        if !def.defaults.is_empty() {
            let d: Vec<String> = def.defaults.iter().map(|d| d.replace('\n', " ")).collect();
            set("proargdefaults", Value::Text(d.join("\n")));
        }
        if def.attrs.sqlbody {
            // A SQL-standard body: prosrc is empty, as PostgreSQL's.
            set("prosrc", Value::Text(String::new()));
            set("prosqlbody", Value::Text(def.src.clone()));
        } else {
            set("prosrc", Value::Text(def.src.clone()));
        }
        if !def.attrs.config.is_empty() {
            set("proconfig", Value::Bytea(text_array(&def.attrs.config)));
        }
        r
    }

    /// A new pg_proc OID from the shared counter, unused in pg_proc.
    fn new_proc_oid(&self) -> Result<u32, PgError> {
        self.new_unused_oid(&[(PG_PROC_OID, "oid")])
    }
}

fn codes_invalid_schema() -> tusk_common::sqlstate::SqlState {
    tusk_sql::catalog::codes::INVALID_SCHEMA_NAME
}

/// CREATE/DROP FUNCTION in the running transaction; called by the
/// backend running the statement.
impl Session {
    /// USAGE on the language a routine is created in (42501 "permission
    /// denied for language sql"); superusers pass.
    fn check_language_usage(&self, lang: Oid) -> Result<(), PgError> {
        if self.id.is_superuser {
            return Ok(());
        }
        let l = cat::catalog(cat::PG_LANGUAGE_OID);
        let Some((_, r)) = self
            .catalog_rows_by(cat::PG_LANGUAGE_OID, "oid", Value::Oid(lang))?
            .into_iter()
            .next()
        else {
            return Ok(());
        };
        let owner = oid_of(&r[l.col("lanowner")]);
        let stored = match &r[l.col("lanacl")] {
            Value::Text(t) => Some(t.as_str()),
            _ => None,
        };
        let kind = tusk_sql::acl::ObjType::Language;
        let acl = tusk_sql::acl::acl_of(stored, kind, owner);
        let roles = self.role_set()?;
        let me = self.current_role_oid()?;
        if tusk_sql::acl::mask(&acl, kind, me, owner, &roles) & tusk_sql::acl::USAGE != 0 {
            return Ok(());
        }
        Err(PgError::error(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!(
                "permission denied for language {}",
                name_of(&r[l.col("lanname")])
            ),
        ))
    }
}

impl tusk_sql::Routines for Session {
    fn create_routine(
        &mut self,
        schema: Option<&str>,
        def: &FuncDef,
        replace: bool,
    ) -> Result<(), PgError> {
        let ns = self.creation_namespace(schema)?;
        self.check_language_usage(language_oid(&def.language))?;
        let c = cat::catalog(PG_PROC_OID);
        let (ni, si) = (c.col("proname"), c.col("pronamespace"));
        let schemas = self.schema_names()?;
        let existing = self
            .catalog_rows(PG_PROC_OID)?
            .into_iter()
            .filter(|(_, r)| oid_of(&r[si]) == ns && name_of(&r[ni]) == def.name)
            .map(|(tid, r)| (tid, self.proc_def(&r, &schemas)))
            .find(|(_, d)| d.arg_types == def.arg_types);
        let mut kept = None;
        let oid = match existing {
            Some((tid, old)) => {
                if !replace {
                    return Err(PgError::error(
                        tusk_common::sqlstate::SqlState::new("42723"),
                        format!(
                            "{} \"{}\" already exists with same argument types",
                            if old.kind == b'p' {
                                "procedure"
                            } else {
                                "function"
                            },
                            old.name
                        ),
                    ));
                }
                if old.kind != def.kind {
                    return Err(PgError::error(
                        tusk_common::sqlstate::SqlState::new("42809"),
                        "cannot change routine kind".to_string(),
                    )
                    .with_detail(format!(
                        "\"{}\" is a {}.",
                        old.name,
                        if old.kind == b'p' {
                            "procedure"
                        } else {
                            "function"
                        }
                    )));
                }
                if old.ret != def.ret || old.retset != def.retset {
                    return Err(PgError::error(
                        tusk_common::sqlstate::SqlState::new("42P13"),
                        "cannot change return type of existing function",
                    )
                    .with_hint(format!("Use DROP FUNCTION {} first.", old.signature())));
                }
                self.delete_catalog(PG_PROC_OID, tid)?;
                // OR REPLACE keeps the owner and the privileges.
                kept = Some((old.owner, old.acl.clone()));
                old.oid
            }
            None => self.new_proc_oid()?,
        };
        let row = match kept {
            Some((owner, acl)) => {
                let mut d = def.clone();
                d.owner = owner;
                d.acl = acl;
                self.proc_row(&d, oid, ns)
            }
            None => {
                let mut d = def.clone();
                d.owner = self.current_role_oid()?;
                d.acl = self.initial_acl(b'f', d.owner, ns)?;
                self.proc_row(&d, oid, ns)
            }
        };
        self.insert_catalog(PG_PROC_OID, &row)
    }

    fn drop_routine(&mut self, def: &FuncDef) -> Result<(), PgError> {
        let i = cat::catalog(PG_PROC_OID).col("oid");
        let Some((tid, _)) = self
            .catalog_rows(PG_PROC_OID)?
            .into_iter()
            .find(|(_, r)| oid_of(&r[i]) == def.oid)
        else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_FUNCTION,
                format!("function {} does not exist", def.signature()),
            ));
        };
        self.delete_catalog(PG_PROC_OID, tid)
    }

    fn alter_routine(
        &mut self,
        old: &FuncDef,
        new: &FuncDef,
        schema: Option<&str>,
    ) -> Result<(), PgError> {
        let c = cat::catalog(PG_PROC_OID);
        let (oi, ni, si) = (c.col("oid"), c.col("proname"), c.col("pronamespace"));
        let rows = self.catalog_rows(PG_PROC_OID)?;
        let Some((tid, row)) = rows.iter().find(|(_, r)| oid_of(&r[oi]) == old.oid) else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_FUNCTION,
                format!("function {} does not exist", old.signature()),
            ));
        };
        let ns = match schema {
            Some(s) => match self.namespace_oid(s)? {
                Some(o) => o,
                None => {
                    return Err(PgError::error(
                        codes_invalid_schema(),
                        format!("schema \"{s}\" does not exist"),
                    ))
                }
            },
            None => oid_of(&row[si]),
        };
        let schemas = self.schema_names()?;
        let taken = rows.iter().any(|(_, r)| {
            oid_of(&r[oi]) != old.oid
                && oid_of(&r[si]) == ns
                && name_of(&r[ni]) == new.name
                && self.proc_def(r, &schemas).arg_types == new.arg_types
        });
        if taken {
            return Err(PgError::error(
                tusk_common::sqlstate::SqlState::new("42723"),
                format!(
                    "{} {} already exists in schema \"{}\"",
                    if new.kind == b'p' {
                        "procedure"
                    } else {
                        "function"
                    },
                    new.signature(),
                    schemas.get(&ns).cloned().unwrap_or_default()
                ),
            ));
        }
        let tid = *tid;
        let row = self.proc_row(new, old.oid, ns);
        self.delete_catalog(PG_PROC_OID, tid)?;
        self.insert_catalog(PG_PROC_OID, &row)
    }
}
