//! SQL cursors: DECLARE ... CURSOR, FETCH, MOVE, CLOSE, and the session's
//! store of open cursors ([`Cursors`]).
//!
//! Why it is built this way: a cursor is a started [`Execution`] that the
//! client names, kept by the session across statements (the host hands
//! out its [`Cursors`] through [`Host::cursors`]) so that PL/pgSQL code and
//! plain SQL reach the same cursors, as PostgreSQL's portals are shared by
//! both. tusk's executor only runs forward, so a cursor keeps the rows it
//! has produced and moves backward over those (PostgreSQL runs the plan
//! backward or materialises; the visible behaviour is the same). A
//! NO SCROLL cursor keeps nothing behind its position. Motion follows
//! PostgreSQL's PortalRunFetch step for step (ABSOLUTE and RELATIVE are a
//! skip then a one-row fetch), so positions and counts after running off
//! either end are PostgreSQL's. WITH HOLD cursors are read to the end
//! before their transaction commits ([`Cursors::before_commit`]) and then
//! live on their rows alone; other cursors end with their transaction.
//!
//! Everything here runs in the backend that owns the session.

use std::collections::HashMap;

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Location, Token, Tokenizer};
use tusk_common::{sqlstate, PgError};

use crate::exec::{Execution, Relations, Row};
use crate::host::Host;
use crate::{Column, Prepared, Value};

/// How far a FETCH or MOVE goes (PostgreSQL's FetchDirection and count;
/// `i64::MAX` is ALL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward(i64),
    Backward(i64),
    Absolute(i64),
    Relative(i64),
}

const ALL: i64 = i64::MAX;

/// DECLARE's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CursorOptions {
    /// `SCROLL` (Some(true)), `NO SCROLL` (Some(false)), neither (None:
    /// scrollable, as PostgreSQL's plans that can run backward are).
    pub scroll: Option<bool>,
    pub hold: bool,
    pub binary: bool,
}

/// A bound cursor statement.
#[derive(Debug, Clone)]
pub(crate) enum CursorStmt {
    Declare {
        name: String,
        opts: CursorOptions,
        query: Box<Prepared>,
        sql: String,
        /// Hidden trailing columns (ctid, tableoid) for WHERE CURRENT OF.
        hidden: usize,
    },
    Fetch {
        name: String,
        dir: Direction,
        is_move: bool,
    },
    Close(Option<String>),
}

impl CursorStmt {
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            CursorStmt::Declare { .. } => "DECLARE CURSOR",
            CursorStmt::Fetch { is_move: false, .. } => "FETCH",
            CursorStmt::Fetch { is_move: true, .. } => "MOVE",
            CursorStmt::Close(None) => "CLOSE CURSOR ALL",
            CursorStmt::Close(Some(_)) => "CLOSE CURSOR",
        }
    }
}

/// One open cursor.
pub struct Cursor {
    name: String,
    /// The DECLARE statement's text (pg_cursors.statement).
    statement: String,
    creation_time: i64,
    opts: CursorOptions,
    columns: Vec<Column>,
    /// Columns the query has after the visible ones: 2 when DECLARE added
    /// the scanned table's ctid and tableoid for WHERE CURRENT OF.
    hidden: usize,
    /// The running query; None once it has produced its last row.
    exec: Option<Execution>,
    /// Rows produced and still reachable: row number `base + i + 1` is
    /// `rows[i]`.
    rows: Vec<Row>,
    base: usize,
    /// The number of rows, once the query has ended.
    total: Option<usize>,
    /// 0: before the first row; k: on row k; total + 1: after the last.
    pos: usize,
    /// Declared in the running transaction (an abort closes it even when
    /// it is WITH HOLD).
    new: bool,
    /// The subtransaction nesting level it was declared at (a ROLLBACK TO
    /// that undoes that level closes it).
    level: usize,
}

impl Cursor {
    /// A cursor over a started execution (PL/pgSQL's OPEN and DECLARE
    /// both come here).
    pub fn new(
        name: &str,
        statement: &str,
        creation_time: i64,
        opts: CursorOptions,
        columns: Vec<Column>,
        exec: Execution,
    ) -> Cursor {
        Cursor {
            name: name.to_string(),
            statement: statement.to_string(),
            creation_time,
            opts,
            columns,
            hidden: 0,
            exec: Some(exec),
            rows: Vec::new(),
            base: 0,
            total: None,
            pos: 0,
            new: true,
            level: 0,
        }
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    fn no_scroll(&self) -> bool {
        self.opts.scroll == Some(false)
    }

    /// Row `k` (1-based), reading the query as far as needed.
    fn load(&mut self, k: usize, host: &mut dyn Host) -> Result<Option<Row>, PgError> {
        while self.base + self.rows.len() < k && self.total.is_none() {
            let next = match &mut self.exec {
                Some(ex) => ex.next(host)?,
                None => None,
            };
            match next {
                Some(r) => self.rows.push(r),
                None => {
                    self.total = Some(self.base + self.rows.len());
                    self.exec = None;
                }
            }
        }
        if k > self.base && k <= self.base + self.rows.len() {
            Ok(Some(self.rows[k - self.base - 1].clone()))
        } else {
            Ok(None)
        }
    }

    /// PostgreSQL's PortalRunSelect: up to `count` rows one way, each
    /// given to `out` when there is one; returns how many were passed.
    fn step(
        &mut self,
        forward: bool,
        count: i64,
        out: &mut Option<&mut Vec<Row>>,
        host: &mut dyn Host,
    ) -> Result<u64, PgError> {
        if !forward && self.no_scroll() {
            return Err(scan_forward_only());
        }
        let mut n = 0u64;
        while (n as i64) < count {
            if forward {
                let target = self.pos + 1;
                match self.load(target, host)? {
                    Some(mut r) => {
                        self.pos = target;
                        if let Some(o) = out.as_deref_mut() {
                            r.truncate(r.len() - self.hidden);
                            o.push(r);
                        }
                        n += 1;
                    }
                    None => {
                        self.pos = self.total.unwrap_or(self.pos) + 1;
                        break;
                    }
                }
            } else {
                if self.pos <= 1 {
                    self.pos = 0;
                    break;
                }
                let target = self.pos - 1;
                let r = self.load(target, host)?;
                self.pos = target;
                if let (Some(o), Some(mut r)) = (out.as_deref_mut(), r) {
                    r.truncate(r.len() - self.hidden);
                    o.push(r);
                }
                n += 1;
            }
            host.check_interrupts()?;
        }
        if self.no_scroll() && self.pos > self.base + 1 {
            // Nothing behind the position can be asked for again (the
            // current row can: WHERE CURRENT OF).
            let drop = (self.pos - 1 - self.base).min(self.rows.len());
            self.rows.drain(..drop);
            self.base += drop;
        }
        Ok(n)
    }

    fn on_row(&self) -> bool {
        self.pos >= 1 && self.total.is_none_or(|t| self.pos <= t)
    }

    /// Back to before the first row (PostgreSQL's DoPortalRewind).
    fn rewind(&mut self) -> Result<(), PgError> {
        if self.pos > 0 && self.no_scroll() {
            return Err(scan_forward_only());
        }
        self.pos = 0;
        Ok(())
    }

    /// FETCH (`out` Some) or MOVE (None) in `dir`: the count its tag shows.
    pub fn fetch(
        &mut self,
        dir: Direction,
        mut out: Option<&mut Vec<Row>>,
        host: &mut dyn Host,
    ) -> Result<u64, PgError> {
        let (forward, count) = match dir {
            Direction::Absolute(c) if c > 0 => {
                let k = (c - 1) as usize;
                if k < self.pos {
                    self.rewind()?;
                }
                if k > self.pos {
                    self.step(true, (k - self.pos) as i64, &mut None, host)?;
                }
                return self.step(true, 1, &mut out, host);
            }
            Direction::Absolute(c) if c < 0 => {
                self.step(true, ALL, &mut None, host)?;
                if c < -1 {
                    self.step(false, -(c + 1), &mut None, host)?;
                }
                return self.step(false, 1, &mut out, host);
            }
            Direction::Absolute(_) => {
                self.rewind()?;
                return Ok(0);
            }
            Direction::Relative(c) if c > 0 => {
                if c > 1 {
                    self.step(true, c - 1, &mut None, host)?;
                }
                return self.step(true, 1, &mut out, host);
            }
            Direction::Relative(c) if c < 0 => {
                if c < -1 {
                    self.step(false, -(c + 1), &mut None, host)?;
                }
                return self.step(false, 1, &mut out, host);
            }
            Direction::Relative(_) => (true, 0),
            Direction::Forward(c) if c < 0 => (false, c.checked_neg().unwrap_or(ALL)),
            Direction::Forward(c) => (true, c),
            Direction::Backward(c) if c < 0 => (true, c.checked_neg().unwrap_or(ALL)),
            Direction::Backward(c) => (false, c),
        };
        if count == 0 {
            // Zero means the current row again, if there is one.
            let on = self.on_row();
            if out.is_none() {
                return Ok(on as u64);
            }
            if !on {
                return Ok(0);
            }
            self.step(false, 1, &mut None, host)?;
            return self.step(true, 1, &mut out, host);
        }
        self.step(forward, count, &mut out, host)
    }

    /// Reads the rest of the query so the cursor outlives its snapshot
    /// and transaction (WITH HOLD at commit).
    fn materialize(&mut self, host: &mut dyn Host) -> Result<(), PgError> {
        while self.total.is_none() {
            let k = self.base + self.rows.len() + 1;
            self.load(k, host)?;
        }
        Ok(())
    }
}

/// The session's open cursors, by name.
#[derive(Default)]
pub struct Cursors {
    map: HashMap<String, Cursor>,
    /// The running subtransaction nesting (0: top level).
    depth: usize,
}

impl Cursors {
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub fn get(&self, name: &str) -> Option<&Cursor> {
        self.map.get(name)
    }

    /// Adds a cursor; 42P03 when the name is taken.
    pub fn insert(&mut self, mut c: Cursor) -> Result<(), PgError> {
        c.level = self.depth;
        if self.map.contains_key(&c.name) {
            return Err(PgError::error(
                sqlstate::DUPLICATE_CURSOR,
                format!("cursor \"{}\" already exists", c.name),
            ));
        }
        self.map.insert(c.name.clone(), c);
        Ok(())
    }

    /// Takes a cursor out to run it (its execution needs the host, which
    /// owns this store); [`Self::put_back`] returns it.
    pub fn take(&mut self, name: &str) -> Result<Cursor, PgError> {
        self.map.remove(name).ok_or_else(|| missing(name))
    }

    pub fn put_back(&mut self, c: Cursor) {
        self.map.insert(c.name.clone(), c);
    }

    /// CLOSE name (34000 when there is none) or CLOSE ALL.
    pub fn close(&mut self, name: Option<&str>) -> Result<(), PgError> {
        match name {
            Some(n) => self.map.remove(n).map(|_| ()).ok_or_else(|| missing(n)),
            None => {
                self.map.clear();
                Ok(())
            }
        }
    }

    /// Names of WITH HOLD cursors that still run their query: the session
    /// materialises each ([`Self::materialize`]) before it commits.
    pub fn unmaterialized_holds(&self) -> Vec<String> {
        self.map
            .values()
            .filter(|c| c.opts.hold && c.exec.is_some())
            .map(|c| c.name.clone())
            .collect()
    }

    /// The end of the session's transaction: cursors without HOLD close;
    /// held ones survive a commit (already materialised) and those
    /// declared in an aborted transaction close.
    pub fn transaction_ended(&mut self, committed: bool) {
        self.map
            .retain(|_, c| c.opts.hold && c.exec.is_none() && (committed || !c.new));
        for c in self.map.values_mut() {
            c.new = false;
            c.level = 0;
        }
        self.depth = 0;
    }

    /// A savepoint (or an internal subtransaction) started.
    pub fn subtransaction_started(&mut self) {
        self.depth += 1;
    }

    /// The innermost subtransaction ended: on commit its cursors join the
    /// parent; on rollback those declared in it close, as PostgreSQL's
    /// AtSubAbort_Portals drops them.
    pub fn subtransaction_ended(&mut self, committed: bool) {
        let d = self.depth;
        if committed {
            for c in self.map.values_mut() {
                if c.level >= d {
                    c.level = d.saturating_sub(1);
                }
            }
        } else {
            self.map.retain(|_, c| c.level < d);
        }
        self.depth = d.saturating_sub(1);
    }

    /// pg_cursors' rows: name, statement, is_holdable, is_binary,
    /// is_scrollable, creation_time.
    pub fn rows(&self) -> Vec<Row> {
        let mut v: Vec<&Cursor> = self.map.values().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v.into_iter()
            .map(|c| {
                vec![
                    Value::Text(c.name.clone()),
                    Value::Text(c.statement.clone()),
                    Value::Bool(c.opts.hold),
                    Value::Bool(c.opts.binary),
                    Value::Bool(c.opts.scroll != Some(false)),
                    Value::TimestampTz(c.creation_time),
                ]
            })
            .collect()
    }
}

/// Reads a held cursor to its end (see [`Cursors::unmaterialized_holds`]).
pub fn materialize(c: &mut Cursor, host: &mut dyn Host) -> Result<(), PgError> {
    c.materialize(host)
}

fn missing(name: &str) -> PgError {
    PgError::error(
        sqlstate::INVALID_CURSOR_NAME,
        format!("cursor \"{name}\" does not exist"),
    )
}

fn scan_forward_only() -> PgError {
    PgError::error(
        sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
        "cursor can only scan forward",
    )
    .with_hint("Declare it with SCROLL option to enable backward scan.")
}

fn no_cursors() -> PgError {
    PgError::error(
        sqlstate::FEATURE_NOT_SUPPORTED,
        "cursors are not supported by this host",
    )
}

/// The statement's words and numbers without whitespace, each with the
/// byte offset where it starts.
pub(crate) fn tokens(sql: &str) -> Result<Vec<(Token, usize)>, PgError> {
    let dialect = PostgreSqlDialect {};
    let toks = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| PgError::error(sqlstate::SYNTAX_ERROR, e.message))?;
    let starts = line_starts(sql);
    Ok(toks
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .map(|t| {
            let off = byte_offset(sql, &starts, t.span.start);
            (t.token, off)
        })
        .collect())
}

fn line_starts(sql: &str) -> Vec<usize> {
    let mut v = vec![0];
    for (i, b) in sql.bytes().enumerate() {
        if b == b'\n' {
            v.push(i + 1);
        }
    }
    v
}

/// sqlparser's 1-based line and character column as a byte offset.
fn byte_offset(sql: &str, starts: &[usize], loc: Location) -> usize {
    let line = (loc.line.max(1) - 1) as usize;
    let Some(&ls) = starts.get(line) else {
        return sql.len();
    };
    let col = (loc.column.max(1) - 1) as usize;
    sql[ls..]
        .char_indices()
        .nth(col)
        .map(|(i, _)| ls + i)
        .unwrap_or(sql.len())
}

/// An unquoted word upper-cased, a quoted one as written (for keyword
/// tests); names go through [`name_of`].
fn word(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

pub(crate) fn name_of(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_lowercase()),
        Token::Word(w) if w.quote_style == Some('"') => Some(w.value.clone()),
        _ => None,
    }
}

pub(crate) fn syntax_at(sql: &str, toks: &[(Token, usize)], i: usize) -> PgError {
    match toks.get(i) {
        Some((t, o)) => PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("syntax error at or near \"{t}\""),
        )
        .with_position(Some(sql[..*o].chars().count() as u32 + 1)),
        None => PgError::error(sqlstate::SYNTAX_ERROR, "syntax error at end of input")
            .with_position(Some(sql.chars().count() as u32 + 1)),
    }
}

/// A signed integer at `i` (`5`, `-5`, `+5`): its value and the index
/// after it.
fn signed_int(toks: &[(Token, usize)], i: usize) -> Option<(i64, usize)> {
    let (neg, j) = match toks.get(i).map(|t| &t.0) {
        Some(Token::Minus) => (true, i + 1),
        Some(Token::Plus) => (false, i + 1),
        _ => (false, i),
    };
    match toks.get(j).map(|t| &t.0) {
        Some(Token::Number(s, _)) => {
            let v: i64 = s.parse().ok()?;
            Some((if neg { -v } else { v }, j + 1))
        }
        _ => None,
    }
}

/// Binds DECLARE, FETCH, MOVE or CLOSE from the statement's text.
pub(crate) fn bind(
    sql: &str,
    declared: &[crate::Oid],
    host: &dyn Host,
) -> Result<(CursorStmt, Vec<Column>, Vec<crate::Oid>), PgError> {
    let toks = tokens(sql)?;
    let first = toks.first().and_then(|t| word(&t.0)).unwrap_or_default();
    match first.as_str() {
        "DECLARE" => bind_declare(sql, &toks, declared, host),
        "FETCH" | "MOVE" => {
            let is_move = first == "MOVE";
            let (dir, name) = parse_fetch(sql, &toks)?;
            let columns = if is_move {
                Vec::new()
            } else {
                // A missing cursor is reported when the FETCH runs (after
                // the aborted-transaction check, as in PostgreSQL).
                host.cursor_store()
                    .and_then(|c| c.get(&name))
                    .map(|c| c.columns.clone())
                    .unwrap_or_default()
            };
            Ok((
                CursorStmt::Fetch { name, dir, is_move },
                columns,
                Vec::new(),
            ))
        }
        "CLOSE" => {
            let name = match toks.get(1) {
                Some((t, _)) if word(t).as_deref() == Some("ALL") => None,
                Some((t, _)) => Some(name_of(t).ok_or_else(|| syntax_at(sql, &toks, 1))?),
                None => return Err(syntax_at(sql, &toks, 1)),
            };
            if toks.len() > 2 {
                return Err(syntax_at(sql, &toks, 2));
            }
            Ok((CursorStmt::Close(name), Vec::new(), Vec::new()))
        }
        _ => Err(syntax_at(sql, &toks, 0)),
    }
}

fn bind_declare(
    sql: &str,
    toks: &[(Token, usize)],
    declared: &[crate::Oid],
    host: &dyn Host,
) -> Result<(CursorStmt, Vec<Column>, Vec<crate::Oid>), PgError> {
    let name = toks
        .get(1)
        .and_then(|t| name_of(&t.0))
        .ok_or_else(|| syntax_at(sql, toks, 1))?;
    let mut opts = CursorOptions::default();
    let mut i = 2;
    loop {
        match toks.get(i).and_then(|t| word(&t.0)).as_deref() {
            Some("BINARY") => opts.binary = true,
            Some("INSENSITIVE" | "ASENSITIVE") => {}
            Some("SCROLL") => opts.scroll = Some(true),
            Some("NO") if toks.get(i + 1).and_then(|t| word(&t.0)).as_deref() == Some("SCROLL") => {
                opts.scroll = Some(false);
                i += 1;
            }
            Some("CURSOR") => {
                i += 1;
                break;
            }
            _ => return Err(syntax_at(sql, toks, i)),
        }
        i += 1;
    }
    match toks.get(i).and_then(|t| word(&t.0)).as_deref() {
        Some(w @ ("WITH" | "WITHOUT"))
            if toks.get(i + 1).and_then(|t| word(&t.0)).as_deref() == Some("HOLD") =>
        {
            opts.hold = w == "WITH";
            i += 2;
        }
        _ => {}
    }
    if toks.get(i).and_then(|t| word(&t.0)).as_deref() != Some("FOR") {
        return Err(syntax_at(sql, toks, i));
    }
    let Some(&(_, start)) = toks.get(i + 1) else {
        return Err(syntax_at(sql, toks, i + 1));
    };
    if opts.scroll == Some(true) && opts.hold {
        // Accepted as PostgreSQL does; nothing to refuse.
    }
    let inner_sql = &sql[start..];
    let stmts = crate::parse(inner_sql)?;
    let [inner] = stmts.as_slice() else {
        return Err(syntax_at(sql, toks, i + 1));
    };
    let (query, hidden) = match with_row_identity(inner) {
        Some(st) => match crate::prepare(&st, declared, host) {
            Ok(q) => (q, 2),
            Err(_) => (crate::prepare(inner, declared, host)?, 0),
        },
        None => (crate::prepare(inner, declared, host)?, 0),
    };
    if query.command != crate::Command::Select || !matches!(query.plan, crate::Plan::Select(_)) {
        return Err(syntax_at(sql, toks, i + 1));
    }
    let params = query.param_types.clone();
    Ok((
        CursorStmt::Declare {
            name,
            opts,
            query: Box::new(query),
            sql: sql.to_string(),
            hidden,
        },
        Vec::new(),
        params,
    ))
}

/// FETCH/MOVE's direction and cursor name.
fn parse_fetch(sql: &str, toks: &[(Token, usize)]) -> Result<(Direction, String), PgError> {
    let mut i = 1;
    let w = toks.get(i).and_then(|t| word(&t.0));
    let dir = match w.as_deref() {
        Some("NEXT") => {
            i += 1;
            Direction::Forward(1)
        }
        Some("PRIOR") => {
            i += 1;
            Direction::Backward(1)
        }
        Some("FIRST") => {
            i += 1;
            Direction::Absolute(1)
        }
        Some("LAST") => {
            i += 1;
            Direction::Absolute(-1)
        }
        Some("ALL") => {
            i += 1;
            Direction::Forward(ALL)
        }
        Some(k @ ("ABSOLUTE" | "RELATIVE")) => {
            let (n, j) = signed_int(toks, i + 1).ok_or_else(|| syntax_at(sql, toks, i + 1))?;
            i = j;
            if k == "ABSOLUTE" {
                Direction::Absolute(n)
            } else {
                Direction::Relative(n)
            }
        }
        Some(k @ ("FORWARD" | "BACKWARD")) => {
            i += 1;
            let n = if toks.get(i).and_then(|t| word(&t.0)).as_deref() == Some("ALL") {
                i += 1;
                ALL
            } else if let Some((n, j)) = signed_int(toks, i) {
                i = j;
                n
            } else {
                1
            };
            if k == "FORWARD" {
                Direction::Forward(n)
            } else {
                Direction::Backward(n)
            }
        }
        _ => match signed_int(toks, i) {
            Some((n, j)) => {
                i = j;
                Direction::Forward(n)
            }
            None => Direction::Forward(1),
        },
    };
    if matches!(
        toks.get(i).and_then(|t| word(&t.0)).as_deref(),
        Some("FROM" | "IN")
    ) {
        i += 1;
    }
    let name = toks
        .get(i)
        .and_then(|t| name_of(&t.0))
        .ok_or_else(|| syntax_at(sql, toks, i))?;
    if toks.len() > i + 1 {
        return Err(syntax_at(sql, toks, i + 1));
    }
    Ok((dir, name))
}

/// Runs a bound cursor statement.
pub(crate) fn execute(
    s: &CursorStmt,
    params: Vec<Value>,
    host: &mut dyn Host,
    relations: &dyn Relations,
) -> Result<Execution, PgError> {
    match s {
        CursorStmt::Declare {
            name,
            opts,
            query,
            sql,
            hidden,
        } => {
            if !opts.hold && !host.in_transaction_block() {
                return Err(PgError::error(
                    sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                    "DECLARE CURSOR can only be used in transaction blocks",
                ));
            }
            if host.cursors().ok_or_else(no_cursors)?.contains(name) {
                return Err(PgError::error(
                    sqlstate::DUPLICATE_CURSOR,
                    format!("cursor \"{name}\" already exists"),
                ));
            }
            let ex = crate::start(query, params, host, relations)?;
            let now = host.statement_timestamp();
            let text = host.query_text().unwrap_or_else(|| sql.clone());
            let visible = query.columns.len() - hidden;
            let mut c = Cursor::new(
                name,
                &text,
                now,
                *opts,
                query.columns[..visible].to_vec(),
                ex,
            );
            c.hidden = *hidden;
            host.cursors().ok_or_else(no_cursors)?.insert(c)?;
            Ok(Execution::done(Vec::new(), "DECLARE CURSOR".into()))
        }
        CursorStmt::Fetch { name, dir, is_move } => {
            let mut c = host.cursors().ok_or_else(no_cursors)?.take(name)?;
            let mut rows = Vec::new();
            let r = c.fetch(*dir, (!is_move).then_some(&mut rows), host);
            if let Some(store) = host.cursors() {
                store.put_back(c);
            }
            let n = r?;
            let tag = if *is_move {
                format!("MOVE {n}")
            } else {
                format!("FETCH {n}")
            };
            Ok(Execution::done(rows, tag))
        }
        CursorStmt::Close(name) => {
            host.cursors()
                .ok_or_else(no_cursors)?
                .close(name.as_deref())?;
            Ok(Execution::done(Vec::new(), s.tag().into()))
        }
    }
}

/// For a cursor over one table (a plain SELECT of a single table, no
/// DISTINCT, grouping or set operation): the same query with the table's
/// ctid and tableoid appended, which WHERE CURRENT OF reads from the
/// cursor's current row. None when the query is not of that shape.
fn with_row_identity(inner: &crate::Statement) -> Option<crate::Statement> {
    use sqlparser::ast;
    let crate::parse::Parsed::Ast(s) = &inner.parsed else {
        return None;
    };
    let ast::Statement::Query(q) = s.as_ref() else {
        return None;
    };
    let mut q = q.clone();
    let ast::SetExpr::Select(sel) = q.body.as_mut() else {
        return None;
    };
    let simple = sel.from.len() == 1
        && sel.from[0].joins.is_empty()
        && matches!(sel.from[0].relation, ast::TableFactor::Table { .. })
        && sel.distinct.is_none()
        && sel.having.is_none()
        && matches!(&sel.group_by, ast::GroupByExpr::Expressions(v, _) if v.is_empty());
    if !simple || q.with.is_some() {
        return None;
    }
    for col in ["ctid", "tableoid"] {
        sel.projection
            .push(ast::SelectItem::UnnamedExpr(ast::Expr::Identifier(
                ast::Ident::new(col),
            )));
    }
    Some(crate::Statement {
        parsed: crate::parse::Parsed::Ast(Box::new(ast::Statement::Query(q))),
        sql: inner.sql.clone(),
        // The rewritten query has no text of its own to point into.
        src: None,
        start: 0,
        masked: None,
    })
}

/// WHERE CURRENT OF `name` on a row of table `tableoid` (named `table`):
/// the ctid of the cursor's current row when it is a row of that table.
/// 34000 no such cursor, 24000 not on a row, 55000 not a scan of the
/// table, as PostgreSQL's execCurrentOf.
pub(crate) fn current_ctid(
    host: &mut dyn Host,
    name: &Value,
    tableoid: &Value,
    table: &Value,
) -> Result<Value, PgError> {
    let name = crate::value::to_text(name).unwrap_or_default();
    let table = crate::value::to_text(table).unwrap_or_default();
    let store = host.cursor_store().ok_or_else(no_cursors)?;
    let c = store.get(&name).ok_or_else(|| missing(&name))?;
    let not_scan = || {
        PgError::error(
            sqlstate::INVALID_CURSOR_STATE,
            format!("cursor \"{name}\" is not a simply updatable scan of table \"{table}\""),
        )
    };
    if c.opts.hold && !c.new {
        return Err(PgError::error(
            sqlstate::INVALID_CURSOR_STATE,
            format!("cursor \"{name}\" is held from a previous transaction"),
        ));
    }
    // Which table it scans is known from any row it has read.
    let scans_other = c.rows.first().is_some_and(|r| &r[r.len() - 1] != tableoid);
    if c.hidden == 0 || scans_other {
        return Err(not_scan());
    }
    if !c.on_row() || c.pos <= c.base || c.pos > c.base + c.rows.len() {
        return Err(PgError::error(
            sqlstate::INVALID_CURSOR_STATE,
            format!("cursor \"{name}\" is not positioned on a row"),
        ));
    }
    let row = &c.rows[c.pos - c.base - 1];
    let n = row.len();
    if &row[n - 1] != tableoid {
        return Err(not_scan());
    }
    Ok(row[n - 2].clone())
}

/// UPDATE/DELETE ... WHERE CURRENT OF c, which sqlparser cannot read:
/// the three words become `ctid = tusk_cursor_ctid('c', tableoid,
/// 'table')`, a test of each row against the cursor's current row
/// evaluated when the statement runs (so a statement prepared once
/// follows the cursor), with PostgreSQL's errors from [`current_ctid`].
pub(crate) fn rewrite_current_of(
    toks: Vec<sqlparser::tokenizer::TokenWithSpan>,
) -> Vec<sqlparser::tokenizer::TokenWithSpan> {
    let idx: Vec<usize> = (0..toks.len())
        .filter(|&i| !matches!(toks[i].token, Token::Whitespace(_)))
        .collect();
    let w = |k: usize| idx.get(k).and_then(|&i| word(&toks[i].token));
    let table_at = match w(0).as_deref() {
        Some("UPDATE") => 1,
        Some("DELETE") if w(1).as_deref() == Some("FROM") => 2,
        _ => return toks,
    };
    let Some(k) = (0..idx.len()).find(|&k| {
        w(k).as_deref() == Some("WHERE")
            && w(k + 1).as_deref() == Some("CURRENT")
            && w(k + 2).as_deref() == Some("OF")
    }) else {
        return toks;
    };
    let Some(cursor) = idx.get(k + 3).and_then(|&i| name_of(&toks[i].token)) else {
        return toks;
    };
    let mut t = table_at;
    if w(t).as_deref() == Some("ONLY") {
        t += 1;
    }
    if matches!(idx.get(t + 1).map(|&i| &toks[i].token), Some(Token::Period)) {
        t += 2;
    }
    let table = idx
        .get(t)
        .and_then(|&i| name_of(&toks[i].token))
        .unwrap_or_default();
    let quote = |s: &str| s.replace('\'', "''");
    let text = format!(
        "ctid = tusk_cursor_ctid('{}', tableoid, '{}')",
        quote(&cursor),
        quote(&table)
    );
    let span = toks[idx[k + 1]].span;
    let Ok(new) = Tokenizer::new(&PostgreSqlDialect {}, &text).tokenize() else {
        return toks;
    };
    let (from, to) = (idx[k + 1], idx[k + 3]);
    let mut out = Vec::with_capacity(toks.len() + new.len());
    out.extend_from_slice(&toks[..from]);
    out.extend(
        new.into_iter()
            .map(|token| sqlparser::tokenizer::TokenWithSpan { token, span }),
    );
    out.extend_from_slice(&toks[to + 1..]);
    out
}
