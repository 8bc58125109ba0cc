//! Triggers: CREATE/DROP TRIGGER, ALTER TABLE ENABLE/DISABLE TRIGGER, and
//! firing a table's triggers around the rows an INSERT, UPDATE, DELETE or
//! COPY FROM changes.
//!
//! Why it is built this way: a trigger is one pg_trigger row in
//! PostgreSQL 15's layout (tgtype bits, tgenabled, tgattr, tgargs), stored
//! by the host through [`Triggers`] and read back per statement through
//! `Host::lookup_triggers` (cached by the host under the catalog
//! generation), so a statement on a table without triggers pays one cache
//! lookup. The statements are read here from their tokens (sqlparser has
//! no CREATE TRIGGER grammar for PostgreSQL). A statement that changes
//! rows holds a [`Fire`] for its table: BEFORE ROW triggers run as each row
//! is about to be stored and may replace it or skip it; AFTER ROW events
//! are queued with their rows and run when the statement's rows are all
//! changed, followed by the AFTER STATEMENT triggers (PostgreSQL's
//! after-trigger queue, for one statement). The WHEN condition is kept as
//! SQL text over `new.col`/`old.col` (tusk keeps SQL text where
//! PostgreSQL keeps a node tree) and is run as `SELECT cond` with those
//! columns as parameters. Trigger functions are PL/pgSQL only (a SQL
//! function cannot return trigger, as in PostgreSQL); each call goes
//! through the routine call depth count, so a trigger that changes its
//! own table ends in 54001, never in a crashed backend.
//!
//! Transition tables (REFERENCING OLD/NEW TABLE) are the rows the
//! statement changed, kept by its [`Fire`] and visible by name to the
//! trigger function's queries while it runs (see [`transition_columns`]).
//! A view has INSTEAD OF row triggers and statement triggers; INSERT
//! into it hands each row to the INSTEAD OF trigger ([`Fire::instead_row`]).
//! UPDATE and DELETE of such a view read its rows ([`view_rows`]) and hand
//! each to its INSTEAD OF trigger. Not yet: deferred constraint triggers,
//! UPDATE ... FROM / DELETE ... USING of a view. TG_ARGV[i] is read
//! through a private function (no arrays yet), not as an array value.

use std::rc::Rc;

use sqlparser::tokenizer::Token;
use tusk_common::sqlstate::{self, SqlState};
use tusk_common::{PgError, Severity};

use crate::catalog::{FuncDef, Relation};
use crate::host::Host;
use crate::routine::Cur;
use crate::types::{self, Oid, Ty};
use crate::value::Value;

/// The `trigger` pseudo-type (PostgreSQL's TRIGGEROID).
pub const TRIGGER: Oid = 2279;

/// tgtype bits (PostgreSQL's TRIGGER_TYPE_*).
pub const TYPE_ROW: i16 = 1;
pub const TYPE_BEFORE: i16 = 2;
pub const TYPE_INSERT: i16 = 4;
pub const TYPE_DELETE: i16 = 8;
pub const TYPE_UPDATE: i16 = 16;
pub const TYPE_TRUNCATE: i16 = 32;
pub const TYPE_INSTEAD: i16 = 64;

const INVALID_OBJECT_DEFINITION: SqlState = SqlState::new("42P17");
const UNDEFINED_OBJECT: SqlState = SqlState::new("42704");
const WRONG_OBJECT_TYPE: SqlState = SqlState::new("42809");
const DATATYPE_MISMATCH: SqlState = SqlState::new("42804");

/// One pg_trigger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerDef {
    pub oid: u32,
    pub relid: u32,
    pub name: String,
    /// pg_proc oid of the trigger function.
    pub func: u32,
    pub tgtype: i16,
    /// 'O' fires, 'D' is disabled ('A' always, 'R' replica).
    pub enabled: u8,
    /// Arguments given to the function, as text.
    pub args: Vec<String>,
    /// UPDATE OF: the columns' attnums (physical, from 1).
    pub attrs: Vec<i16>,
    /// WHEN condition: SQL text over `new.col` / `old.col`.
    pub when: Option<String>,
    pub constraint: bool,
    pub deferrable: bool,
    pub initdeferred: bool,
    /// REFERENCING OLD TABLE AS name (tgoldtable).
    pub old_table: Option<String>,
    /// REFERENCING NEW TABLE AS name (tgnewtable).
    pub new_table: Option<String>,
}

/// Which triggers ALTER TABLE ENABLE/DISABLE TRIGGER names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerSel {
    Name(String),
    /// ALL: user and internal triggers.
    All,
    /// USER: all but internal ones.
    User,
}

/// Where the trigger statements keep their rows (the server's pg_trigger).
/// Called by the backend running the statement.
pub trait Triggers {
    /// Stores `def` (oid and relid filled in by the host); with
    /// `replace`, an existing trigger of that name is replaced, else it
    /// is 42710.
    fn create_trigger(
        &mut self,
        rel: &Relation,
        def: &TriggerDef,
        replace: bool,
    ) -> Result<(), PgError>;
    /// Drops the table's trigger `name`; false when there is none.
    fn drop_trigger(&mut self, rel: &Relation, name: &str) -> Result<bool, PgError>;
    /// Sets tgenabled of the selected triggers; false when a named one
    /// does not exist.
    fn set_trigger_enabled(
        &mut self,
        rel: &Relation,
        which: &TriggerSel,
        enabled: u8,
    ) -> Result<bool, PgError>;
    /// ALTER TRIGGER old ON table RENAME TO new: false when the table has
    /// no trigger `old`; 42710 when `new` is taken.
    fn rename_trigger(&mut self, rel: &Relation, old: &str, new: &str) -> Result<bool, PgError>;
}

/// A parsed trigger statement.
#[derive(Debug, Clone)]
pub(crate) enum TriggerStmt {
    Create {
        replace: bool,
        table: (Option<String>, String),
        func: (Option<String>, String),
        def: Box<TriggerDef>,
        /// UPDATE OF column names (resolved to attnums at execution).
        cols: Vec<String>,
        /// REFERENCING's items in order: (NEW?, TABLE?, name).
        transition: Vec<(bool, bool, String)>,
    },
    Drop {
        if_exists: bool,
        name: String,
        table: (Option<String>, String),
    },
    Enable {
        table: (Option<String>, String),
        which: TriggerSel,
        enabled: u8,
    },
    Rename {
        name: String,
        table: (Option<String>, String),
        to: String,
    },
}

impl TriggerStmt {
    pub fn tag(&self) -> &'static str {
        match self {
            TriggerStmt::Create { .. } => "CREATE TRIGGER",
            TriggerStmt::Drop { .. } => "DROP TRIGGER",
            TriggerStmt::Enable { .. } => "ALTER TABLE",
            TriggerStmt::Rename { .. } => "ALTER TRIGGER",
        }
    }
}

fn syntax(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

/// Tokens as SQL text, spaced as PostgreSQL's deparser spaces simple
/// expressions (`new.a > 0`, `f(x, y)`).
fn join_tokens(toks: &[Token]) -> String {
    let mut out = String::new();
    let mut prev: Option<&Token> = None;
    for (i, t) in toks.iter().enumerate() {
        let next_is_period = matches!(toks.get(i + 1), Some(Token::Period));
        let glue = matches!(
            t,
            Token::Period | Token::RParen | Token::Comma | Token::RBracket | Token::DoubleColon
        ) || matches!(t, Token::LParen | Token::LBracket)
            && matches!(prev, Some(Token::Word(_)))
            || matches!(
                prev,
                Some(Token::Period | Token::LParen | Token::LBracket | Token::DoubleColon)
            );
        if prev.is_some() && !glue {
            out.push(' ');
        }
        match t {
            // Qualified names (new.a) as the deparser prints them.
            Token::Word(w)
                if w.quote_style.is_none()
                    && (matches!(prev, Some(Token::Period)) || next_is_period) =>
            {
                out.push_str(&w.value.to_lowercase())
            }
            // Keywords of boolean tests as the deparser prints them.
            Token::Word(w)
                if w.quote_style.is_none()
                    && matches!(
                        w.value.to_ascii_uppercase().as_str(),
                        "IS" | "NOT" | "DISTINCT" | "FROM" | "AND" | "OR" | "NULL"
                    ) =>
            {
                out.push_str(&w.value.to_ascii_uppercase())
            }
            _ => out.push_str(&t.to_string()),
        }
        prev = Some(t);
    }
    out
}

/// True when `sql` is ALTER TABLE ... {ENABLE|DISABLE} [ALWAYS|REPLICA]
/// TRIGGER (routed here by the parser).
pub(crate) fn is_enable_disable(words: &[&str]) -> bool {
    matches!(words, ["ALTER", "TABLE", ..])
        && words.windows(2).any(|w| {
            matches!(w[0], "ENABLE" | "DISABLE" | "ALWAYS" | "REPLICA") && w[1] == "TRIGGER"
        })
}

/// Reads a trigger statement. Names are resolved when it runs.
pub(crate) fn bind(sql: &str) -> Result<TriggerStmt, PgError> {
    let mut c = Cur {
        t: crate::routine::tokens(sql)?,
        i: 0,
    };
    if c.eat("ALTER") {
        if c.eat("TRIGGER") {
            let name = c.ident()?;
            c.expect("ON")?;
            c.eat("ONLY");
            let table = c.qualified()?;
            c.expect("RENAME")?;
            c.expect("TO")?;
            let to = c.ident()?;
            c.eat_tok(&Token::SemiColon);
            if c.peek().is_some() {
                return Err(c.unexpected());
            }
            return Ok(TriggerStmt::Rename { name, table, to });
        }
        c.expect("TABLE")?;
        if c.eat("IF") {
            c.expect("EXISTS")?;
        }
        c.eat("ONLY");
        let table = c.qualified()?;
        let enabled = if c.eat("ENABLE") {
            if c.eat("ALWAYS") {
                b'A'
            } else if c.eat("REPLICA") {
                b'R'
            } else {
                b'O'
            }
        } else {
            c.expect("DISABLE")?;
            b'D'
        };
        c.expect("TRIGGER")?;
        let which = if c.eat("ALL") {
            TriggerSel::All
        } else if c.eat("USER") {
            TriggerSel::User
        } else {
            TriggerSel::Name(c.ident()?)
        };
        c.eat_tok(&Token::SemiColon);
        if c.peek().is_some() {
            return Err(c.unexpected());
        }
        return Ok(TriggerStmt::Enable {
            table,
            which,
            enabled,
        });
    }
    if c.eat("DROP") {
        c.expect("TRIGGER")?;
        let if_exists = if c.eat("IF") {
            c.expect("EXISTS")?;
            true
        } else {
            false
        };
        let name = c.ident()?;
        c.expect("ON")?;
        let table = c.qualified()?;
        if c.eat("CASCADE") {
            // Nothing depends on a trigger here.
        } else {
            c.eat("RESTRICT");
        }
        c.eat_tok(&Token::SemiColon);
        if c.peek().is_some() {
            return Err(c.unexpected());
        }
        return Ok(TriggerStmt::Drop {
            if_exists,
            name,
            table,
        });
    }
    c.expect("CREATE")?;
    let replace = if c.eat("OR") {
        c.expect("REPLACE")?;
        true
    } else {
        false
    };
    let constraint = c.eat("CONSTRAINT");
    c.expect("TRIGGER")?;
    let name = c.ident()?;
    let mut tgtype: i16 = 0;
    if c.eat("BEFORE") {
        tgtype |= TYPE_BEFORE;
    } else if c.eat("INSTEAD") {
        c.expect("OF")?;
        tgtype |= TYPE_INSTEAD;
    } else {
        c.expect("AFTER")?;
    }
    let mut cols = Vec::new();
    loop {
        let ev = c.word();
        match ev.as_deref() {
            Some("INSERT") => tgtype |= TYPE_INSERT,
            Some("DELETE") => tgtype |= TYPE_DELETE,
            Some("TRUNCATE") => tgtype |= TYPE_TRUNCATE,
            Some("UPDATE") => {
                c.i += 1;
                tgtype |= TYPE_UPDATE;
                if c.eat("OF") {
                    loop {
                        cols.push(c.ident()?);
                        if !c.eat_tok(&Token::Comma) {
                            break;
                        }
                    }
                }
                if c.eat("OR") {
                    continue;
                }
                break;
            }
            _ => return Err(c.unexpected()),
        }
        c.i += 1;
        if !c.eat("OR") {
            break;
        }
    }
    c.expect("ON")?;
    let table = c.qualified()?;
    let (mut deferrable, mut initdeferred) = (false, false);
    let mut transition = Vec::new();
    let mut row = false;
    let mut when = None;
    loop {
        if c.eat("FROM") {
            c.qualified()?;
        } else if c.eat("NOT") {
            c.expect("DEFERRABLE")?;
            deferrable = false;
        } else if c.eat("DEFERRABLE") {
            deferrable = true;
        } else if c.eat("INITIALLY") {
            if c.eat("DEFERRED") {
                initdeferred = true;
            } else {
                c.expect("IMMEDIATE")?;
            }
        } else if c.eat("REFERENCING") {
            if !matches!(c.word().as_deref(), Some("OLD" | "NEW")) {
                return Err(c.unexpected());
            }
            while let Some(w @ ("OLD" | "NEW")) = c.word().as_deref() {
                let is_new = w == "NEW";
                c.i += 1;
                let is_table = c.eat("TABLE");
                if !is_table {
                    c.expect("ROW")?;
                }
                c.eat("AS");
                transition.push((is_new, is_table, c.ident()?));
            }
        } else if c.eat("FOR") {
            c.eat("EACH");
            if c.eat("ROW") {
                row = true;
            } else {
                c.expect("STATEMENT")?;
            }
        } else if c.eat("WHEN") {
            if c.peek() != Some(&Token::LParen) {
                return Err(c.unexpected());
            }
            c.i += 1;
            let start = c.i;
            let mut depth = 0usize;
            loop {
                match c.peek() {
                    None => return Err(syntax("syntax error at end of input")),
                    Some(Token::LParen) => depth += 1,
                    Some(Token::RParen) if depth == 0 => break,
                    Some(Token::RParen) => depth -= 1,
                    _ => {}
                }
                c.i += 1;
            }
            when = Some(join_tokens(&c.t[start..c.i]));
            c.i += 1;
        } else {
            break;
        }
    }
    if !c.eat("EXECUTE") {
        return Err(c.unexpected());
    }
    if !c.eat("FUNCTION") {
        c.expect("PROCEDURE")?;
    }
    let func = c.qualified()?;
    if c.peek() != Some(&Token::LParen) {
        return Err(c.unexpected());
    }
    c.i += 1;
    let mut args = Vec::new();
    while c.peek() != Some(&Token::RParen) {
        let a = match c.next() {
            Some(Token::SingleQuotedString(s))
            | Some(Token::EscapedStringLiteral(s))
            | Some(Token::NationalStringLiteral(s)) => s,
            Some(Token::Number(n, _)) => n,
            Some(Token::Minus) => match c.next() {
                Some(Token::Number(n, _)) => format!("-{n}"),
                _ => return Err(c.unexpected()),
            },
            Some(Token::Word(w)) => {
                if w.quote_style.is_some() {
                    w.value
                } else {
                    w.value.to_lowercase()
                }
            }
            Some(t) => return Err(syntax(format!("syntax error at or near \"{t}\""))),
            None => return Err(syntax("syntax error at end of input")),
        };
        args.push(a);
        if !c.eat_tok(&Token::Comma) && c.peek() != Some(&Token::RParen) {
            return Err(c.unexpected());
        }
    }
    c.i += 1;
    c.eat_tok(&Token::SemiColon);
    if c.peek().is_some() {
        return Err(c.unexpected());
    }
    if row {
        tgtype |= TYPE_ROW;
    }
    Ok(TriggerStmt::Create {
        replace,
        table,
        func,
        cols,
        transition,
        def: Box::new(TriggerDef {
            oid: 0,
            relid: 0,
            name,
            func: 0,
            tgtype,
            enabled: b'O',
            args,
            attrs: Vec::new(),
            when,
            constraint,
            deferrable,
            initdeferred,
            old_table: None,
            new_table: None,
        }),
    })
}

fn table_of(
    host: &dyn Host,
    table: &(Option<String>, String),
) -> Result<Option<Relation>, PgError> {
    host.lookup_table(table.0.as_deref(), &table.1)
}

fn no_relation(table: &(Option<String>, String)) -> String {
    match &table.0 {
        Some(s) => format!("relation \"{s}.{}\" does not exist", table.1),
        None => format!("relation \"{}\" does not exist", table.1),
    }
}

/// The physical attnum (from 1) of live column `idx`.
fn attnum_of(rel: &Relation, idx: usize) -> i16 {
    let mut live = 0usize;
    let n = rel.columns.len() + rel.dropped.len();
    for pos in 0..n {
        if rel.dropped.iter().any(|d| d.0 == pos) {
            continue;
        }
        if live == idx {
            return (pos + 1) as i16;
        }
        live += 1;
    }
    (idx + 1) as i16
}

/// The live column index of physical attnum `att`.
fn column_of(rel: &Relation, att: i16) -> Option<usize> {
    (0..rel.columns.len()).find(|&i| attnum_of(rel, i) == att)
}

/// Runs a trigger statement. Called by the backend running it.
pub(crate) fn execute(stmt: &TriggerStmt, host: &mut dyn Host) -> Result<crate::Outcome, PgError> {
    let tag = stmt.tag().to_string();
    match stmt {
        TriggerStmt::Create {
            replace,
            table,
            func,
            def,
            cols,
            transition,
        } => {
            let Some(rel) = table_of(&*host, table)? else {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_TABLE,
                    no_relation(table),
                ));
            };
            let mut def = (**def).clone();
            // has_superclass(): only asked when REFERENCING needs it.
            let has_parent = !transition.is_empty()
                && def.tgtype & TYPE_ROW != 0
                && !crate::sysinfo::query(
                    host,
                    "SELECT 1 FROM pg_catalog.pg_inherits WHERE inhrelid = $1",
                    &[types::OID],
                    vec![Value::Oid(trigger_rel(&rel)?.oid)],
                )?
                .is_empty();
            check_create(&*host, &rel, &mut def, cols, transition, has_parent)?;
            let cands = host.lookup_routines(func.0.as_deref(), &func.1)?;
            let Some(f) = cands.iter().find(|f| f.arg_types.is_empty()) else {
                let shown = match &func.0 {
                    Some(s) => format!("{s}.{}", func.1),
                    None => func.1.clone(),
                };
                return Err(PgError::error(
                    sqlstate::UNDEFINED_FUNCTION,
                    format!("function {shown}() does not exist"),
                ));
            };
            if f.ret != TRIGGER {
                return Err(PgError::error(
                    INVALID_OBJECT_DEFINITION,
                    format!("function {} must return type trigger", f.name),
                ));
            }
            def.func = f.oid;
            host.triggers()?.create_trigger(&rel, &def, *replace)?;
        }
        TriggerStmt::Drop {
            if_exists,
            name,
            table,
        } => {
            let Some(rel) = table_of(&*host, table)? else {
                if *if_exists {
                    host.notice(PgError::new(
                        Severity::Notice,
                        sqlstate::SUCCESSFUL_COMPLETION,
                        format!("{}, skipping", no_relation(table)),
                    ));
                    return Ok(crate::Outcome {
                        rows: Vec::new(),
                        tag,
                    });
                }
                return Err(PgError::error(
                    sqlstate::UNDEFINED_TABLE,
                    no_relation(table),
                ));
            };
            if !host.triggers()?.drop_trigger(&rel, name)? {
                if *if_exists {
                    host.notice(PgError::new(
                        Severity::Notice,
                        sqlstate::SUCCESSFUL_COMPLETION,
                        format!(
                            "trigger \"{name}\" for relation \"{}\" does not exist, skipping",
                            rel.name
                        ),
                    ));
                } else {
                    return Err(PgError::error(
                        UNDEFINED_OBJECT,
                        format!(
                            "trigger \"{name}\" for table \"{}\" does not exist",
                            rel.name
                        ),
                    ));
                }
            }
        }
        TriggerStmt::Rename { name, table, to } => {
            let Some(rel) = table_of(&*host, table)? else {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_TABLE,
                    no_relation(table),
                ));
            };
            if !host.triggers()?.rename_trigger(&rel, name, to)? {
                return Err(PgError::error(
                    UNDEFINED_OBJECT,
                    format!(
                        "trigger \"{name}\" for table \"{}\" does not exist",
                        rel.name
                    ),
                ));
            }
        }
        TriggerStmt::Enable {
            table,
            which,
            enabled,
        } => {
            let Some(rel) = table_of(&*host, table)? else {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_TABLE,
                    no_relation(table),
                ));
            };
            if !host
                .triggers()?
                .set_trigger_enabled(&rel, which, *enabled)?
            {
                let TriggerSel::Name(n) = which else {
                    unreachable!("ALL and USER always match")
                };
                return Err(PgError::error(
                    UNDEFINED_OBJECT,
                    format!("trigger \"{n}\" for table \"{}\" does not exist", rel.name),
                ));
            }
        }
    }
    Ok(crate::Outcome {
        rows: Vec::new(),
        tag,
    })
}

/// CreateTrigger's checks of the definition against its table.
fn check_create(
    host: &dyn Host,
    rel: &Relation,
    def: &mut TriggerDef,
    cols: &[String],
    transition: &[(bool, bool, String)],
    has_parent: bool,
) -> Result<(), PgError> {
    let row = def.tgtype & TYPE_ROW != 0;
    let instead = def.tgtype & TYPE_INSTEAD != 0;
    if matches!(rel.source, crate::catalog::RelationSource::View(_)) {
        // INSTEAD OF row triggers, or BEFORE/AFTER statement triggers.
        if !instead && row {
            return Err(
                PgError::error(WRONG_OBJECT_TYPE, format!("\"{}\" is a view", rel.name))
                    .with_detail("Views cannot have row-level BEFORE or AFTER triggers."),
            );
        }
        if def.tgtype & TYPE_TRUNCATE != 0 {
            return Err(
                PgError::error(WRONG_OBJECT_TYPE, format!("\"{}\" is a view", rel.name))
                    .with_detail("Views cannot have TRUNCATE triggers."),
            );
        }
    } else {
        rel.table()?;
        if instead {
            return Err(
                PgError::error(WRONG_OBJECT_TYPE, format!("\"{}\" is a table", rel.name))
                    .with_detail("Tables cannot have INSTEAD OF triggers."),
            );
        }
    }
    if instead {
        let refused = if !row {
            Some("INSTEAD OF triggers must be FOR EACH ROW")
        } else if def.when.is_some() {
            Some("INSTEAD OF triggers cannot have WHEN conditions")
        } else if !cols.is_empty() {
            Some("INSTEAD OF triggers cannot have column lists")
        } else {
            None
        };
        if let Some(m) = refused {
            return Err(PgError::error(sqlstate::FEATURE_NOT_SUPPORTED, m));
        }
    }
    if def.tgtype & TYPE_TRUNCATE != 0 && row {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "TRUNCATE FOR EACH ROW triggers are not supported",
        ));
    }
    if def.constraint {
        if def.tgtype & TYPE_BEFORE != 0 || !row {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                if row {
                    "constraint triggers must be AFTER ROW triggers"
                } else {
                    "constraint triggers must be FOR EACH ROW"
                },
            ));
        }
        if def.initdeferred {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "INITIALLY DEFERRED constraint triggers are not supported yet",
            ));
        }
    }
    if !transition.is_empty() {
        check_transition(rel, def, cols, transition, has_parent)?;
    }
    for name in cols {
        let Some(i) = rel.columns.iter().position(|c| &c.name == name) else {
            return Err(PgError::error(
                sqlstate::UNDEFINED_COLUMN,
                format!(
                    "column \"{name}\" of relation \"{}\" does not exist",
                    rel.name
                ),
            ));
        };
        let a = attnum_of(rel, i);
        if def.attrs.contains(&a) {
            return Err(PgError::error(
                SqlState::new("42701"),
                format!("column \"{name}\" specified more than once"),
            ));
        }
        def.attrs.push(a);
    }
    if let Some(w) = &def.when {
        let names: Vec<String> = rel.columns.iter().map(|c| c.name.clone()).collect();
        let (text, refs) = when_params(w, &names);
        let uses = |which: &str| refs.iter().any(|(o, _)| o == which);
        if !row && (uses("new") || uses("old")) {
            return Err(PgError::error(
                INVALID_OBJECT_DEFINITION,
                "statement trigger's WHEN condition cannot reference column values",
            ));
        }
        if def.tgtype & TYPE_INSERT != 0 && uses("old") {
            return Err(PgError::error(
                INVALID_OBJECT_DEFINITION,
                "INSERT trigger's WHEN condition cannot reference OLD values",
            ));
        }
        if def.tgtype & TYPE_DELETE != 0 && uses("new") {
            return Err(PgError::error(
                INVALID_OBJECT_DEFINITION,
                "DELETE trigger's WHEN condition cannot reference NEW values",
            ));
        }
        // A BEFORE trigger runs before generated columns are computed.
        if def.tgtype & TYPE_BEFORE != 0 {
            if let Some((_, col)) = refs.iter().find(|(o, col)| {
                o == "new"
                    && rel
                        .columns
                        .iter()
                        .any(|c| &c.name == col && c.generated.is_some())
            }) {
                return Err(PgError::error(
                    INVALID_OBJECT_DEFINITION,
                    "BEFORE trigger's WHEN condition cannot reference NEW generated columns",
                )
                .with_detail(format!("Column \"{col}\" is a generated column.")));
            }
        }
        // Bind it now: unknown columns are CREATE TRIGGER's error.
        let mut tys = Vec::new();
        for (_, col) in &refs {
            let Some(c) = rel.columns.iter().find(|c| &c.name == col) else {
                return Err(PgError::error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{col}\" does not exist"),
                ));
            };
            tys.push(c.ty.oid);
        }
        let stmts = crate::parse(&text)?;
        let Some(s) = stmts.first() else {
            return Err(syntax("syntax error at end of input"));
        };
        let p = crate::prepare(s, &tys, host)?;
        if p.columns().first().map(|c| c.type_oid) != Some(types::BOOL) {
            return Err(PgError::error(
                DATATYPE_MISMATCH,
                format!(
                    "argument of WHEN must be type boolean, not type {}",
                    types::sql_name(p.columns().first().map_or(types::UNKNOWN, |c| c.type_oid))
                ),
            ));
        }
    }
    Ok(())
}

/// The table or view a trigger is on (views have INSTEAD OF and
/// statement triggers).
pub fn trigger_rel(rel: &Relation) -> Result<crate::catalog::TableRef, PgError> {
    match rel.source {
        crate::catalog::RelationSource::View(t) => Ok(t),
        _ => rel.table(),
    }
}

/// Whether view `view` has an enabled INSTEAD OF ROW trigger for `event`.
pub(crate) fn has_instead_trigger(host: &dyn Host, view: u32, event: i16) -> Result<bool, PgError> {
    Ok(host.lookup_triggers(view)?.iter().any(|d| {
        d.tgtype & TYPE_INSTEAD != 0 && d.tgtype & event != 0 && matches!(d.enabled, b'O' | b'A')
    }))
}

/// The rows of view `rel` as an UPDATE or DELETE through its INSTEAD OF
/// triggers considers them: its query's rows, each followed by the
/// system columns a table scan gives (NULL but tableoid, the view's oid),
/// so WHERE, SET and RETURNING bound over the view's columns read them.
pub(crate) fn view_rows(
    host: &mut dyn Host,
    rel: &Relation,
) -> Result<Box<dyn crate::RowSource>, PgError> {
    let oid = trigger_rel(rel)?.oid;
    let sql = format!(
        "SELECT * FROM {}.{}",
        crate::routine::quote_ident(&rel.schema),
        crate::routine::quote_ident(&rel.name)
    );
    let mut rows = crate::sysinfo::query(host, &sql, &[], Vec::new())?;
    for r in rows.iter_mut() {
        r.truncate(rel.columns.len());
        r.extend([Value::Null, Value::Null, Value::Null, Value::Oid(oid)]);
    }
    Ok(Box::new(crate::catalog::RowsScan::new(rows)))
}

/// ALTER TABLE DROP COLUMN: the table's triggers that depend on the
/// column (UPDATE OF it, or its `new.col`/`old.col` in WHEN; a whole-row
/// `new.*` depends on the table, not the column) refuse the drop (2BP01,
/// each listed in creation order), or with CASCADE are dropped first.
pub(crate) fn before_drop_column(
    host: &mut dyn Host,
    rel: &Relation,
    col: usize,
    cascade: bool,
) -> Result<(), PgError> {
    let Ok(t) = rel.table() else {
        return Ok(());
    };
    let name = rel.columns[col].name.clone();
    let att = attnum_of(rel, col);
    let mut deps: Vec<TriggerDef> = host
        .lookup_triggers(t.oid)?
        .iter()
        .filter(|d| {
            d.attrs.contains(&att)
                || d.when
                    .as_deref()
                    .is_some_and(|w| when_params(w, &[]).1.iter().any(|(_, c)| *c == name))
        })
        .cloned()
        .collect();
    if deps.is_empty() {
        return Ok(());
    }
    deps.sort_by_key(|d| d.oid);
    if !cascade {
        let lines: Vec<String> = deps
            .iter()
            .map(|d| {
                format!(
                    "trigger {} on table {} depends on column {name} of table {}",
                    d.name, rel.name, rel.name
                )
            })
            .collect();
        return Err(PgError::error(
            SqlState::new("2BP01"),
            format!(
                "cannot drop column {name} of table {} because other objects depend on it",
                rel.name
            ),
        )
        .with_detail(lines.join("\n"))
        .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
    }
    let lines: Vec<String> = deps
        .iter()
        .map(|d| format!("drop cascades to trigger {} on table {}", d.name, rel.name))
        .collect();
    host.notice(crate::dropschema::cascade_notice(&lines));
    for d in deps {
        host.triggers()?.drop_trigger(rel, &d.name)?;
    }
    Ok(())
}

/// CreateTrigger's checks of a REFERENCING clause (PostgreSQL's order),
/// and the transition table names stored in `def`.
fn check_transition(
    rel: &Relation,
    def: &mut TriggerDef,
    cols: &[String],
    transition: &[(bool, bool, String)],
    has_parent: bool,
) -> Result<(), PgError> {
    let t = def.tgtype;
    let row = t & TYPE_ROW != 0;
    if row && rel.relkind == b'p' {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!("\"{}\" is a partitioned table", rel.name),
        )
        .with_detail(
            "ROW triggers with transition tables are not supported on partitioned tables.",
        ));
    }
    for (is_new, is_table, name) in transition {
        if !is_table {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "ROW variable naming in the REFERENCING clause is not supported",
            )
            .with_hint("Use OLD TABLE or NEW TABLE for naming transition tables."));
        }
        if rel.relkind == b'f' {
            return Err(PgError::error(
                WRONG_OBJECT_TYPE,
                format!("\"{}\" is a foreign table", rel.name),
            )
            .with_detail("Triggers on foreign tables cannot have transition tables."));
        }
        if rel.relkind == b'v' {
            return Err(
                PgError::error(WRONG_OBJECT_TYPE, format!("\"{}\" is a view", rel.name))
                    .with_detail("Triggers on views cannot have transition tables."),
            );
        }
        if row && has_parent {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                if rel.partbound.is_some() {
                    "ROW triggers with transition tables are not supported on partitions"
                } else {
                    "ROW triggers with transition tables are not supported on inheritance children"
                },
            ));
        }
        if t & (TYPE_BEFORE | TYPE_INSTEAD) != 0 {
            return Err(PgError::error(
                INVALID_OBJECT_DEFINITION,
                "transition table name can only be specified for an AFTER trigger",
            ));
        }
        if t & TYPE_TRUNCATE != 0 {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "TRUNCATE triggers with transition tables are not supported",
            ));
        }
        let events = [TYPE_INSERT, TYPE_UPDATE, TYPE_DELETE]
            .iter()
            .filter(|&&b| t & b != 0)
            .count();
        if events != 1 {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "transition tables cannot be specified for triggers with more than one event",
            ));
        }
        if !cols.is_empty() {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "transition tables cannot be specified for triggers with column lists",
            ));
        }
        let (slot, ok, what) = if *is_new {
            (
                &mut def.new_table,
                t & (TYPE_INSERT | TYPE_UPDATE) != 0,
                "NEW TABLE can only be specified for an INSERT or UPDATE trigger",
            )
        } else {
            (
                &mut def.old_table,
                t & (TYPE_DELETE | TYPE_UPDATE) != 0,
                "OLD TABLE can only be specified for a DELETE or UPDATE trigger",
            )
        };
        if !ok {
            return Err(PgError::error(INVALID_OBJECT_DEFINITION, what));
        }
        if slot.is_some() {
            return Err(PgError::error(
                INVALID_OBJECT_DEFINITION,
                format!(
                    "{} TABLE cannot be specified multiple times",
                    if *is_new { "NEW" } else { "OLD" }
                ),
            ));
        }
        *slot = Some(name.clone());
    }
    if def.new_table.is_some() && def.new_table == def.old_table {
        return Err(PgError::error(
            INVALID_OBJECT_DEFINITION,
            "OLD TABLE name and NEW TABLE name cannot be the same",
        ));
    }
    Ok(())
}

/// `SELECT (cond)` with each `new.col` / `old.col` replaced by `$n`
/// (`new.*` by `ROW($i, ...)` over the table's columns `cols`), and the
/// (new|old, column) of each `$n`.
fn when_params(cond: &str, cols: &[String]) -> (String, Vec<(String, String)>) {
    let toks = crate::routine::tokens(cond).unwrap_or_default();
    let mut out: Vec<Token> = Vec::new();
    let mut refs: Vec<(String, String)> = Vec::new();
    let param = |refs: &mut Vec<(String, String)>, key: (String, String)| {
        let n = match refs.iter().position(|r| *r == key) {
            Some(p) => p + 1,
            None => {
                refs.push(key);
                refs.len()
            }
        };
        Token::Placeholder(format!("${n}"))
    };
    let mut i = 0;
    while i < toks.len() {
        if let (Token::Word(w), Some(Token::Period), Some(next)) =
            (&toks[i], toks.get(i + 1), toks.get(i + 2))
        {
            let q = w.value.to_lowercase();
            if w.quote_style.is_none() && (q == "new" || q == "old") {
                match next {
                    Token::Word(col) => {
                        let col = if col.quote_style.is_some() {
                            col.value.clone()
                        } else {
                            col.value.to_lowercase()
                        };
                        out.push(param(&mut refs, (q, col)));
                        i += 3;
                        continue;
                    }
                    Token::Mul => {
                        out.push(Token::make_keyword("ROW"));
                        out.push(Token::LParen);
                        for (k, c) in cols.iter().enumerate() {
                            if k > 0 {
                                out.push(Token::Comma);
                            }
                            out.push(param(&mut refs, (q.clone(), c.clone())));
                        }
                        out.push(Token::RParen);
                        i += 3;
                        continue;
                    }
                    _ => {}
                }
            }
        }
        out.push(toks[i].clone());
        i += 1;
    }
    let body: Vec<String> = out.iter().map(|t| t.to_string()).collect();
    (format!("SELECT ({})", body.join(" ")), refs)
}

/// pg_get_triggerdef: the CREATE TRIGGER statement of a trigger
/// (`pretty` as psql's `\d` asks for it: the table unqualified and the
/// WHEN condition without the deparser's extra parentheses).
pub fn triggerdef(
    def: &TriggerDef,
    rel: &Relation,
    func: Option<&FuncDef>,
    pretty: bool,
) -> String {
    let mut s = String::from("CREATE ");
    if def.constraint {
        s.push_str("CONSTRAINT ");
    }
    s.push_str("TRIGGER ");
    s.push_str(&crate::routine::quote_ident(&def.name));
    s.push(' ');
    s.push_str(if def.tgtype & TYPE_BEFORE != 0 {
        "BEFORE"
    } else if def.tgtype & TYPE_INSTEAD != 0 {
        "INSTEAD OF"
    } else {
        "AFTER"
    });
    let mut events = Vec::new();
    if def.tgtype & TYPE_INSERT != 0 {
        events.push("INSERT".to_string());
    }
    if def.tgtype & TYPE_DELETE != 0 {
        events.push("DELETE".to_string());
    }
    if def.tgtype & TYPE_UPDATE != 0 {
        let mut u = "UPDATE".to_string();
        if !def.attrs.is_empty() {
            let names: Vec<String> = def
                .attrs
                .iter()
                .filter_map(|&a| column_of(rel, a))
                .map(|i| crate::routine::quote_ident(&rel.columns[i].name))
                .collect();
            u.push_str(" OF ");
            u.push_str(&names.join(", "));
        }
        events.push(u);
    }
    if def.tgtype & TYPE_TRUNCATE != 0 {
        events.push("TRUNCATE".to_string());
    }
    s.push(' ');
    s.push_str(&events.join(" OR "));
    s.push_str(" ON ");
    if !pretty {
        s.push_str(&crate::routine::quote_ident(&rel.schema));
        s.push('.');
    }
    s.push_str(&crate::routine::quote_ident(&rel.name));
    if def.constraint {
        s.push_str(if def.deferrable {
            " DEFERRABLE"
        } else {
            " NOT DEFERRABLE"
        });
        s.push_str(if def.initdeferred {
            " INITIALLY DEFERRED"
        } else {
            " INITIALLY IMMEDIATE"
        });
    }
    if def.old_table.is_some() || def.new_table.is_some() {
        s.push_str(" REFERENCING");
        if let Some(o) = &def.old_table {
            s.push_str(&format!(" OLD TABLE AS {}", crate::routine::quote_ident(o)));
        }
        if let Some(n) = &def.new_table {
            s.push_str(&format!(" NEW TABLE AS {}", crate::routine::quote_ident(n)));
        }
    }
    s.push_str(if def.tgtype & TYPE_ROW != 0 {
        " FOR EACH ROW"
    } else {
        " FOR EACH STATEMENT"
    });
    if let Some(w) = &def.when {
        if pretty {
            s.push_str(&format!(" WHEN ({w})"));
        } else {
            s.push_str(&format!(" WHEN (({w}))"));
        }
    }
    let name = match func {
        Some(f) => crate::routine::quote_ident(&f.name),
        None => format!("\"{}\"", def.func),
    };
    let args: Vec<String> = def
        .args
        .iter()
        .map(|a| crate::routine::quote_literal(a))
        .collect();
    s.push_str(&format!(" EXECUTE FUNCTION {name}({})", args.join(", ")));
    s
}

// ---- firing ----

thread_local! {
    /// The arguments of the trigger calls running in this backend,
    /// innermost last (TG_ARGV of the innermost).
    static ARGV: std::cell::RefCell<Vec<Vec<String>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A transition table visible to a running trigger function: its name,
/// the table's columns and the rows.
type TransitionTable = (String, Vec<(String, Ty)>, Rc<Vec<crate::exec::Row>>);

thread_local! {
    /// The transition tables of the trigger calls running in this
    /// backend, innermost last: a name in FROM resolves to the innermost
    /// one of that name (PostgreSQL's ephemeral named relations, which
    /// SPI registers for the trigger function's queries).
    static TRANSITION: std::cell::RefCell<Vec<TransitionTable>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The columns of the running trigger's transition table `name`, if it
/// has one of that name (the binder's look-up before the catalog's).
pub(crate) fn transition_columns(name: &str) -> Option<Vec<(String, Ty)>> {
    TRANSITION.with(|t| {
        t.borrow()
            .iter()
            .rev()
            .find(|(n, ..)| n == name)
            .map(|(_, c, _)| c.clone())
    })
}

/// The rows of transition table `name` when a plan that reads it starts
/// (a plan kept by PL/pgSQL reads the rows of the call running it).
pub(crate) fn transition_rows(name: &str) -> Result<Rc<Vec<crate::exec::Row>>, PgError> {
    TRANSITION
        .with(|t| {
            t.borrow()
                .iter()
                .rev()
                .find(|(n, ..)| n == name)
                .map(|(.., r)| r.clone())
        })
        .ok_or_else(|| {
            PgError::error(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{name}\" does not exist"),
            )
        })
}

/// pg_trigger_depth(): how many trigger calls are running in this
/// backend (0 outside any).
pub(crate) fn depth() -> i32 {
    ARGV.with(|a| a.borrow().len() as i32)
}

/// `TG_ARGV[i]` of the running trigger (0-based; NULL out of range, as
/// PostgreSQL). Called by expression evaluation in the backend.
pub(crate) fn tg_argv(i: i64) -> Value {
    ARGV.with(|a| {
        a.borrow()
            .last()
            .and_then(|args| usize::try_from(i).ok().and_then(|i| args.get(i)))
            .map_or(Value::Null, |s| Value::Text(s.clone()))
    })
}

/// A trigger function's SQL text with each `TG_ARGV[expr]` read through
/// [`tg_argv`] (tusk has no arrays yet, so TG_ARGV is not a variable).
pub(crate) fn rewrite_tg_argv(text: &str) -> String {
    let Ok(toks) = crate::routine::tokens_with_spans(text) else {
        return text.to_string();
    };
    let toks: Vec<Token> = toks.into_iter().map(|t| t.token).collect();
    if !toks.iter().any(|t| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("tg_argv"))) {
        return text.to_string();
    }
    let mut out = String::new();
    let mut i = 0;
    while i < toks.len() {
        if let Token::Word(w) = &toks[i] {
            if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("tg_argv") {
                let mut j = i + 1;
                while matches!(toks.get(j), Some(Token::Whitespace(_))) {
                    j += 1;
                }
                if let Some(Token::LBracket) = toks.get(j) {
                    out.push_str("tusk_tg_argv((");
                    let mut depth = 0usize;
                    j += 1;
                    while let Some(t) = toks.get(j) {
                        match t {
                            Token::LBracket => depth += 1,
                            Token::RBracket if depth == 0 => break,
                            Token::RBracket => depth -= 1,
                            _ => {}
                        }
                        out.push_str(&t.to_string());
                        j += 1;
                    }
                    out.push_str("))");
                    i = j + 1;
                    continue;
                }
            }
        }
        out.push_str(&toks[i].to_string());
        i += 1;
    }
    out
}

/// What a trigger function sees of its event (NEW, OLD and TG_*).
pub(crate) struct TrigCall<'a> {
    pub name: &'a str,
    pub when: &'static str,
    pub level: &'static str,
    pub op: &'static str,
    pub relid: u32,
    pub table: &'a str,
    pub schema: &'a str,
    pub args: &'a [String],
    pub new: Option<&'a [Value]>,
    pub old: Option<&'a [Value]>,
    /// The table's columns (name, type): the fields of NEW and OLD.
    /// Borrowed from the statement's [`Fire`], so that a call copies
    /// only what the function's variables must own.
    pub columns: &'a [(std::rc::Rc<str>, Oid)],
}

/// The event a statement fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Insert,
    Update,
    Delete,
    Truncate,
}

impl Event {
    fn bit(self) -> i16 {
        match self {
            Event::Insert => TYPE_INSERT,
            Event::Update => TYPE_UPDATE,
            Event::Delete => TYPE_DELETE,
            Event::Truncate => TYPE_TRUNCATE,
        }
    }
    fn op(self) -> &'static str {
        match self {
            Event::Insert => "INSERT",
            Event::Update => "UPDATE",
            Event::Delete => "DELETE",
            Event::Truncate => "TRUNCATE",
        }
    }
}

struct Armed {
    def: TriggerDef,
    func: Rc<FuncDef>,
    /// The WHEN condition bound: plan and (new?, column) of each `$n`.
    when: Option<(crate::Prepared, Vec<(bool, usize)>)>,
}

/// Rows kept for a transition table.
type Rows = Rc<Vec<Vec<Value>>>;

/// A queued AFTER ROW event: (trigger, old row, new row).
type AfterEvent = (usize, Option<Vec<Value>>, Option<Vec<Value>>);

/// A statement's triggers on one table, and its queue of AFTER ROW
/// events. Used only by the backend running the statement.
pub(crate) struct Fire {
    rel: Relation,
    /// The table's columns as NEW's and OLD's fields (name, type), made
    /// once per statement.
    columns: Vec<(std::rc::Rc<str>, Oid)>,
    event: Event,
    trigs: Vec<Armed>,
    /// AFTER ROW events, in the order the rows changed.
    queue: Vec<AfterEvent>,
    /// The statement's old and new rows, kept when a trigger names an
    /// OLD TABLE / NEW TABLE (shared by all its calls once firing).
    old_rows: Option<Vec<Vec<Value>>>,
    new_rows: Option<Vec<Vec<Value>>>,
    /// The kept rows, frozen when the AFTER triggers start.
    frozen: Option<(Rows, Rows)>,
}

impl Fire {
    /// The enabled triggers of `rel` for `event`, in name order; `None`
    /// when there are none (the statement then does no trigger work).
    /// `updated`: for UPDATE, the columns its SET list assigns (UPDATE OF,
    /// row or statement level, fires when one of them is assigned).
    pub fn load(
        host: &dyn Host,
        rel: &Relation,
        event: Event,
        updated: &[usize],
    ) -> Result<Option<Fire>, PgError> {
        let Ok(t) = trigger_rel(rel) else {
            return Ok(None);
        };
        let all = host.lookup_triggers(t.oid)?;
        if all.is_empty() {
            return Ok(None);
        }
        // session_replication_role: 'O' triggers fire in origin and
        // local mode, 'R' ones in replica mode, 'A' always.
        let replica = host
            .show("session_replication_role")
            .is_ok_and(|r| r == "replica");
        let fires = |e: u8| match e {
            b'A' => true,
            b'O' => !replica,
            b'R' => replica,
            _ => false,
        };
        let mut defs: Vec<&TriggerDef> = all
            .iter()
            .filter(|d| d.tgtype & event.bit() != 0 && fires(d.enabled))
            .filter(|d| {
                // UPDATE OF, row or statement level: fires when the SET
                // list names one of its columns (PostgreSQL's
                // TriggerEnabled / statement-level modifiedCols test).
                event != Event::Update
                    || d.attrs.is_empty()
                    || d.attrs
                        .iter()
                        .any(|&a| column_of(rel, a).is_some_and(|c| updated.contains(&c)))
            })
            .collect();
        if defs.is_empty() {
            return Ok(None);
        }
        defs.sort_by(|a, b| a.name.cmp(&b.name));
        let mut trigs = Vec::with_capacity(defs.len());
        for d in defs {
            let Some(func) = host.routine_by_oid(d.func)? else {
                return Err(PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    format!("cache lookup failed for function {}", d.func),
                ));
            };
            let when = match &d.when {
                Some(w) => {
                    let names: Vec<String> = rel.columns.iter().map(|c| c.name.clone()).collect();
                    let (text, refs) = when_params(w, &names);
                    let mut tys = Vec::new();
                    let mut cols = Vec::new();
                    for (which, col) in &refs {
                        let i =
                            rel.columns
                                .iter()
                                .position(|c| &c.name == col)
                                .ok_or_else(|| {
                                    PgError::error(
                                        sqlstate::UNDEFINED_COLUMN,
                                        format!("column \"{col}\" does not exist"),
                                    )
                                })?;
                        tys.push(rel.columns[i].ty.oid);
                        cols.push((which == "new", i));
                    }
                    let stmts = crate::parse(&text)?;
                    let Some(s) = stmts.first() else {
                        return Err(syntax("syntax error at end of input"));
                    };
                    Some((crate::prepare(s, &tys, host)?, cols))
                }
                None => None,
            };
            trigs.push(Armed {
                def: d.clone(),
                func,
                when,
            });
        }
        let old_rows = trigs
            .iter()
            .any(|a| a.def.old_table.is_some())
            .then(Vec::new);
        let new_rows = trigs
            .iter()
            .any(|a| a.def.new_table.is_some())
            .then(Vec::new);
        Ok(Some(Fire {
            rel: rel.clone(),
            columns: rel
                .columns
                .iter()
                .map(|c| (std::rc::Rc::from(c.name.as_str()), c.ty.oid))
                .collect(),
            event,
            trigs,
            queue: Vec::new(),
            old_rows,
            new_rows,
            frozen: None,
        }))
    }

    fn when_passes(
        &self,
        host: &mut dyn Host,
        k: usize,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<bool, PgError> {
        let Some((plan, cols)) = &self.trigs[k].when else {
            return Ok(true);
        };
        let params: Vec<Value> = cols
            .iter()
            .map(|&(is_new, i)| {
                let r = if is_new { new } else { old };
                r.and_then(|r| r.get(i).cloned()).unwrap_or(Value::Null)
            })
            .collect();
        let rels = host.nested_relations();
        let mut ex = crate::start(plan, params, host, &*rels)?;
        let v = ex.next(host)?;
        Ok(matches!(
            v.as_ref().and_then(|r| r.first()),
            Some(Value::Bool(true))
        ))
    }

    fn call(
        &mut self,
        host: &mut dyn Host,
        k: usize,
        when: &'static str,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<Value, PgError> {
        let tables = self.transition_tables(k);
        let a = &self.trigs[k];
        let row = a.def.tgtype & TYPE_ROW != 0;
        let data = TrigCall {
            name: &a.def.name,
            when,
            level: if row { "ROW" } else { "STATEMENT" },
            op: self.event.op(),
            relid: a.def.relid,
            table: &self.rel.name,
            schema: &self.rel.schema,
            args: &a.def.args,
            new,
            old,
            columns: &self.columns,
        };
        let n = tables.len();
        TRANSITION.with(|t| t.borrow_mut().extend(tables));
        ARGV.with(|v| v.borrow_mut().push(a.def.args.clone()));
        let r = crate::routine::call_trigger(host, &a.func, &data);
        ARGV.with(|v| v.borrow_mut().pop());
        TRANSITION.with(|t| {
            let mut t = t.borrow_mut();
            let keep = t.len() - n;
            t.truncate(keep);
        });
        host.command_counter_increment();
        r
    }

    /// The transition tables trigger `k` names, over the rows the
    /// statement changed (empty before it changed any: BEFORE triggers
    /// cannot have them).
    fn transition_tables(&mut self, k: usize) -> Vec<TransitionTable> {
        let d = &self.trigs[k].def;
        if d.old_table.is_none() && d.new_table.is_none() {
            return Vec::new();
        }
        let (old, new) = self
            .frozen
            .get_or_insert_with(|| {
                (
                    Rc::new(self.old_rows.take().unwrap_or_default()),
                    Rc::new(self.new_rows.take().unwrap_or_default()),
                )
            })
            .clone();
        let cols: Vec<(String, Ty)> = self
            .rel
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.ty))
            .collect();
        let mut out = Vec::new();
        if let Some(n) = &d.old_table {
            out.push((n.clone(), cols.clone(), old));
        }
        if let Some(n) = &d.new_table {
            out.push((n.clone(), cols, new));
        }
        out
    }

    /// Keeps a changed row for the transition tables (rows of a child
    /// are given in this table's layout).
    pub fn capture(&mut self, old: Option<&[Value]>, new: Option<&[Value]>) {
        if let (Some(rows), Some(r)) = (self.old_rows.as_mut(), old) {
            rows.push(r.to_vec());
        }
        if let (Some(rows), Some(r)) = (self.new_rows.as_mut(), new) {
            rows.push(r.to_vec());
        }
    }

    /// A trigger's returned value as a row of the table (cast by
    /// position), or None for NULL.
    fn returned_row(&self, v: Value) -> Result<Option<Vec<Value>>, PgError> {
        match v {
            Value::Record(fields) => {
                if fields.len() != self.rel.columns.len() {
                    return Err(PgError::error(
                        DATATYPE_MISMATCH,
                        "returned row structure does not match the structure of the triggering table",
                    )
                    .with_detail("Number of returned columns does not match expected column count."));
                }
                let mut out = Vec::with_capacity(fields.len());
                for ((t, v), c) in fields.into_iter().zip(&self.rel.columns) {
                    out.push(if v.is_null() || t == c.ty.oid {
                        v
                    } else {
                        crate::cast::cast(v, t, Ty::new(c.ty.oid), 0)?
                    });
                }
                Ok(Some(out))
            }
            _ => Ok(None),
        }
    }

    fn statement(&mut self, host: &mut dyn Host, before: bool) -> Result<(), PgError> {
        for k in 0..self.trigs.len() {
            let t = self.trigs[k].def.tgtype;
            if t & TYPE_ROW != 0 || (t & TYPE_BEFORE != 0) != before {
                continue;
            }
            if !self.when_passes(host, k, None, None)? {
                continue;
            }
            self.call(host, k, if before { "BEFORE" } else { "AFTER" }, None, None)?;
        }
        Ok(())
    }

    /// BEFORE STATEMENT triggers; call once before the first row.
    pub fn before_statement(&mut self, host: &mut dyn Host) -> Result<(), PgError> {
        self.statement(host, true)
    }

    /// BEFORE ROW triggers on a row about to be stored (`new`, for INSERT
    /// and UPDATE) or deleted (`old` alone): the row to store, or None
    /// when a trigger returned NULL (the row is skipped). For DELETE the
    /// returned row only says whether to go on.
    pub fn before_row(
        &mut self,
        host: &mut dyn Host,
        old: Option<&[Value]>,
        new: Option<Vec<Value>>,
    ) -> Result<Option<Vec<Value>>, PgError> {
        self.row_chain(host, TYPE_BEFORE, "BEFORE", old, new)
    }

    /// INSTEAD OF ROW triggers of a view, in name order, for a row to
    /// insert (`new`), update (`old`, `new`) or delete (`old`): the row
    /// the last one returned, or None when one returned NULL (the row
    /// counts as not processed).
    pub fn instead_row(
        &mut self,
        host: &mut dyn Host,
        old: Option<&[Value]>,
        new: Option<Vec<Value>>,
    ) -> Result<Option<Vec<Value>>, PgError> {
        self.row_chain(host, TYPE_INSTEAD, "INSTEAD OF", old, new)
    }

    /// The row triggers of timing `timing` (TYPE_BEFORE or TYPE_INSTEAD)
    /// in name order, each given the row the previous one returned (WHEN
    /// checked; INSTEAD OF triggers have none): the last row returned,
    /// None when one returned NULL; for DELETE only whether to go on.
    fn row_chain(
        &mut self,
        host: &mut dyn Host,
        timing: i16,
        label: &'static str,
        old: Option<&[Value]>,
        new: Option<Vec<Value>>,
    ) -> Result<Option<Vec<Value>>, PgError> {
        let mut cur = new;
        for k in 0..self.trigs.len() {
            let t = self.trigs[k].def.tgtype;
            if t & TYPE_ROW == 0 || t & timing == 0 {
                continue;
            }
            if !self.when_passes(host, k, old, cur.as_deref())? {
                continue;
            }
            let v = self.call(host, k, label, old, cur.as_deref())?;
            match self.returned_row(v)? {
                None => return Ok(None),
                Some(r) => {
                    if self.event != Event::Delete {
                        cur = Some(r);
                    }
                }
            }
        }
        Ok(match self.event {
            Event::Delete => Some(old.map(<[Value]>::to_vec).unwrap_or_default()),
            _ => cur,
        })
    }

    /// Queues the AFTER ROW events of a changed row (WHEN is evaluated
    /// now, on the row as stored, as PostgreSQL does).
    pub fn after_row(
        &mut self,
        host: &mut dyn Host,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<(), PgError> {
        self.capture(old, new);
        for k in 0..self.trigs.len() {
            let t = self.trigs[k].def.tgtype;
            if t & TYPE_ROW == 0 || t & TYPE_BEFORE != 0 {
                continue;
            }
            if !self.when_passes(host, k, old, new)? {
                continue;
            }
            self.queue
                .push((k, old.map(<[Value]>::to_vec), new.map(<[Value]>::to_vec)));
        }
        Ok(())
    }

    /// At the statement's end: the queued AFTER ROW events in order, then
    /// the AFTER STATEMENT triggers.
    pub fn after_statement(&mut self, host: &mut dyn Host) -> Result<(), PgError> {
        self.after_rows(host)?;
        self.statement(host, false)
    }

    /// How many AFTER ROW events are queued.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Fires the first `n` queued AFTER ROW events (MERGE interleaves the
    /// queues of its INSERT, UPDATE and DELETE triggers in the order the
    /// rows changed, as PostgreSQL's one after-trigger queue does).
    pub fn after_rows_first(&mut self, host: &mut dyn Host, n: usize) -> Result<(), PgError> {
        let n = n.min(self.queue.len());
        let first: Vec<AfterEvent> = self.queue.drain(..n).collect();
        for (k, old, new) in first {
            host.check_interrupts()?;
            self.call(host, k, "AFTER", old.as_deref(), new.as_deref())?;
        }
        Ok(())
    }

    /// Fires the queued AFTER ROW events now (INSERT ... ON CONFLICT DO
    /// UPDATE: the inserted rows' events come before the UPDATE's
    /// statement-level AFTER triggers, as in PostgreSQL's one queue).
    pub fn after_rows(&mut self, host: &mut dyn Host) -> Result<(), PgError> {
        let queue = std::mem::take(&mut self.queue);
        for (k, old, new) in queue {
            host.check_interrupts()?;
            self.call(host, k, "AFTER", old.as_deref(), new.as_deref())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_trigger_reads_events_level_when_and_arguments() {
        let s = bind(
            "CREATE TRIGGER tr1 BEFORE INSERT OR UPDATE OF b ON t FOR EACH ROW WHEN (NEW.a > 0) EXECUTE FUNCTION f('x', 'y')",
        )
        .unwrap();
        let TriggerStmt::Create {
            def,
            cols,
            table,
            func,
            ..
        } = s
        else {
            panic!("not a create")
        };
        assert_eq!(def.tgtype, 23);
        assert_eq!(cols, vec!["b".to_string()]);
        assert_eq!(table, (None, "t".to_string()));
        assert_eq!(func, (None, "f".to_string()));
        assert_eq!(def.args, vec!["x".to_string(), "y".to_string()]);
        assert_eq!(def.when.as_deref(), Some("new.a > 0"));
    }

    #[test]
    fn when_condition_columns_become_parameters() {
        let (text, refs) = when_params("new.a > old.a AND new.a <> 3", &[]);
        assert_eq!(text, "SELECT ($1 > $2 AND $1 <> 3)");
        assert_eq!(
            refs,
            vec![
                ("new".to_string(), "a".to_string()),
                ("old".to_string(), "a".to_string())
            ]
        );
    }

    #[test]
    fn tg_argv_subscripts_become_calls() {
        assert_eq!(
            rewrite_tg_argv("substr(new.a, 1, 2) != tg_argv[0]"),
            "substr(new.a, 1, 2) <> tusk_tg_argv((0))"
        );
        assert_eq!(rewrite_tg_argv("TG_ARGV[i + 1]"), "tusk_tg_argv((i + 1))");
        assert_eq!(rewrite_tg_argv("x + 1"), "x + 1");
    }

    #[test]
    fn enable_disable_is_recognised_among_alter_table() {
        assert!(is_enable_disable(&[
            "ALTER", "TABLE", "t", "DISABLE", "TRIGGER"
        ]));
        assert!(!is_enable_disable(&[
            "ALTER", "TABLE", "t", "ADD", "COLUMN"
        ]));
    }
}
